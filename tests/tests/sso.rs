//! Single sign-on (`sso.md`) against a real OpenID Provider run locally (`oidc-provider` from
//! npm, started by the tests as `tests/idp/oidc.mjs`), standing in for Okta and for Entra ID
//! with their claims and directory APIs: the SaaS providers cannot be reached from here. The
//! test signs in as a person would, following the provider's redirects and posting its login
//! form, then makes the provider issue bad ID tokens and checks that each is refused.

use click_blackbox::idp::{CALLBACK, Callback, Flavor, Idp, SamlIdp, SamlPost};
use click_blackbox::saml;
use click_blackbox::*;

/// Why the SSO tests run against the desktop agent only.
const DESKTOP: &str = "single sign-on (identity providers are reached by the desktop agent)";

/// An agent whose plan includes SSO (`[sso]` keys added by `more`).
fn sso_agent(more: &str) -> Agent {
    Agent::start_with(Options {
        config: format!("[plan]\nsso = true\n{more}"),
        ..Options::default()
    })
}

/// `sso_url` for `username`: the identifier and the provider's authorization URL.
fn sso_url(agent: &Agent, username: &str) -> (String, String) {
    let body = agent
        .post(
            "/sso/sso_url",
            json!({"CallbackUrl": CALLBACK, "Username": username}),
        )
        .send()
        .expect(200)
        .json();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["Identifier", "Url"], "SSOUrlResponse: {body}");
    (
        body["Identifier"].as_str().unwrap().to_string(),
        body["Url"].as_str().unwrap().to_string(),
    )
}

fn authenticate(agent: &Agent, identifier: &str, code: &str) -> Resp {
    agent
        .post(
            "/sso/authenticate",
            json!({"Identifier": identifier, "AuthorizationCode": code, "CallbackUrl": CALLBACK}),
        )
        .send()
}

/// Signs `login` in through the agent from start to end; the agent's JWT.
fn sign_in(agent: &Agent, idp: &Idp, login: &str, password: &str) -> String {
    let (identifier, url) = sso_url(agent, login);
    let back: Callback = idp.sign_in(&url, login, password);
    assert_eq!(back.state, identifier, "the state is the identifier");
    let jwt = authenticate(agent, &identifier, &back.code)
        .expect(200)
        .json();
    jwt.as_str().expect("a JWT string").to_string()
}

/// An agent with SSO, its owner's token, and the Okta configuration the owner set up.
fn agent_with_okta(idp: &Idp) -> (Agent, String, Value) {
    let agent = sso_agent("");
    let owner = signup_and_login(&agent, "owner@example.com");
    let saved = agent
        .post("/sso/setup_okta", idp.setup_body())
        .token(&owner)
        .send()
        .expect(200)
        .json();
    (agent, owner, saved)
}

fn profile(agent: &Agent, token: &str) -> Value {
    agent
        .get("/authentication/user")
        .token(token)
        .send()
        .expect(200)
        .json()
}

#[test]
fn okta_sign_in_creates_the_user_and_every_forged_answer_is_refused() {
    if desktop_only(DESKTOP) {
        return;
    }
    let idp = Idp::start(Flavor::Okta, 3, 2);
    let (agent, owner, saved) = agent_with_okta(&idp);
    let account_id = profile(&agent, &owner)["accountId"].clone();
    assert_eq!(saved["ClientId"], idp::CLIENT_ID);
    assert_eq!(
        saved["ClientSecret"], "********",
        "the secret is never returned"
    );
    assert_eq!(saved["OpenIdURL"], idp.discovery_url());
    assert_eq!(saved["Active"], true);
    assert_eq!(saved["AccountId"], account_id);
    assert!(!saved["Id"].as_str().unwrap().is_empty());
    let database = click_blackbox::stored_state(&agent.data_dir).unwrap();
    let secret = idp::CLIENT_SECRET.as_bytes();
    assert!(
        !database.windows(secret.len()).any(|w| w == secret),
        "the client secret is sealed at rest"
    );

    // The authorization request: code flow, PKCE S256, state and nonce.
    let (identifier, url) = sso_url(&agent, "user1@example.com");
    assert!(
        url.starts_with(&format!("{}/v1/authorize?", idp.issuer)),
        "{url}"
    );
    for part in [
        "response_type=code",
        "code_challenge_method=S256",
        "code_challenge=",
        "nonce=",
    ] {
        assert!(url.contains(part), "{part} missing in {url}");
    }
    assert!(url.contains(&format!("state={identifier}")), "{url}");
    idp.wrong_password_is_refused(&url, "user1@example.com");

    let back = idp.sign_in(&url, "user1@example.com", "pass-1");
    let token = authenticate(&agent, &identifier, &back.code)
        .expect(200)
        .json();
    let token = token.as_str().unwrap();
    let me = profile(&agent, token);
    assert_eq!(me["username"], "user1@example.com");
    assert_eq!(me["authProvider"], 4, "Okta");
    assert_eq!(
        me["accountId"], account_id,
        "created in the configuration's account"
    );
    assert_eq!(me["firstName"], "User");

    // The same code and identifier a second time.
    let replay = authenticate(&agent, &identifier, &back.code).expect_error("AUTH");
    assert!(replay.contains("already used"), "{replay}");
    // A second sign-in finds the same user.
    let again = sign_in(&agent, &idp, "user1@example.com", "pass-1");
    assert_eq!(profile(&agent, &again)["userId"], me["userId"]);

    // A code with the state of another sign-in: PKCE binds a code to its own request.
    let (_, url) = sso_url(&agent, "user2@example.com");
    let (other_state, _) = sso_url(&agent, "user2@example.com");
    let back = idp.sign_in(&url, "user2@example.com", "pass-2");
    let wrong = authenticate(&agent, &other_state, &back.code).expect_error("AUTH");
    assert!(wrong.contains("code exchange failed"), "{wrong}");
    authenticate(&agent, "not-an-identifier", &back.code).expect_error("AUTH");

    // A callback URL other than the one the sign-in started with.
    let (identifier, url) = sso_url(&agent, "user2@example.com");
    let back = idp.sign_in(&url, "user2@example.com", "pass-2");
    let other = agent
        .post(
            "/sso/authenticate",
            json!({"Identifier": identifier, "AuthorizationCode": back.code,
                   "CallbackUrl": "http://127.0.0.1:9/elsewhere"}),
        )
        .send()
        .expect_error("AUTH");
    assert!(other.contains("CallbackUrl"), "{other}");

    // ID tokens the provider was made to forge: each is refused, with the reason.
    for (mode, reason) in [
        ("expired", "xpired"),
        ("wrong-aud", "udience"),
        ("wrong-iss", "ssuer"),
        ("wrong-nonce", "once"),
        ("other-key", "ignature"),
        ("alg-none", "ID token was refused"),
    ] {
        idp.tamper(mode);
        let (identifier, url) = sso_url(&agent, "user3@example.com");
        let back = idp.sign_in(&url, "user3@example.com", "pass-3");
        let refused = authenticate(&agent, &identifier, &back.code).expect_error("AUTH");
        assert!(refused.contains(reason), "{mode}: {refused}");
    }
    idp.tamper("normal");
    let users = agent
        .get("/user/get_all_users?page=1&pagesize=50")
        .token(&owner)
        .send()
        .expect(200)
        .json();
    let names: Vec<&str> = users["data"]
        .as_array()
        .map(|a| a.iter().map(|u| u["username"].as_str().unwrap()).collect())
        .unwrap_or_default();
    assert!(
        !names.contains(&"user3@example.com"),
        "no forged sign-in made a user: {names:?}"
    );
    sign_in(&agent, &idp, "user3@example.com", "pass-3");
}

#[test]
fn entra_import_of_500_users_in_20_groups_then_one_of_them_signs_in() {
    if desktop_only(DESKTOP) {
        return;
    }
    let idp = Idp::start(Flavor::Entra, 500, 20);
    let graph = format!("http://127.0.0.1:{}/graph", idp.port);
    let agent = sso_agent(&format!(
        "[sso]\ngraph_url = \"{graph}\"\ncreate_users = false\n"
    ));
    let owner = signup_and_login(&agent, "owner@example.com");
    let saved = agent
        .post("/sso/setup_entraId", idp.setup_body())
        .token(&owner)
        .send()
        .expect(200)
        .json();
    assert_eq!(saved["ClientSecret"], "********");
    let got = agent
        .get("/sso/get_entraId")
        .token(&owner)
        .send()
        .expect(200)
        .json();
    assert_eq!(got, saved);

    // With users created only by import, an unknown user is refused at sign-in.
    let (identifier, url) = sso_url(&agent, "user7@example.com");
    let back = idp.sign_in(&url, "user7@example.com", "pass-7");
    let refused = authenticate(&agent, &identifier, &back.code).expect_error("AUTH");
    assert!(refused.contains("import"), "{refused}");

    // The administrator's import: sign in at the provider, then read its directory.
    let started = agent
        .post(
            "/sso/sso_url_import_user",
            json!({"CallbackUrl": CALLBACK, "Username": "admin@example.com"}),
        )
        .token(&owner)
        .send()
        .expect(200)
        .json();
    let back = idp.sign_in(
        started["Url"].as_str().unwrap(),
        "admin@example.com",
        "admin-pass",
    );
    let path = format!(
        "/sso/get_user_usergroups?authorizationCode={}&callbackUrl={}",
        encode(&back.code),
        encode(CALLBACK)
    );
    let relations = agent.get(&path).token(&owner).send().expect(200).json();
    let relations = relations.as_array().unwrap();
    assert_eq!(relations.len(), 501, "500 users and the admin");
    let user123 = relations
        .iter()
        .find(|r| r["user"]["username"] == "user123@example.com")
        .expect("user123 listed");
    assert_eq!(user123["user"]["authProvider"], 2, "Entra ID");
    assert_eq!(user123["user"]["lastName"], "123");
    assert_eq!(
        user123["userGroups"],
        json!([{"id": "", "name": "group-3"}])
    );
    // The code was spent on this listing.
    agent.get(&path).token(&owner).send().expect_error("AUTH");

    agent
        .post("/usergroup/import_users", Value::Array(relations.clone()))
        .token(&owner)
        .send()
        .expect(200);
    let groups = agent
        .get("/usergroup/get_all?page=1&pagesize=100")
        .token(&owner)
        .send()
        .expect(200)
        .json();
    assert_eq!(groups["total"], 21, "20 groups and Admins: {groups}");
    let users = agent
        .get("/user/get_all_users?page=1&pagesize=10")
        .token(&owner)
        .send()
        .expect(200)
        .json();
    assert_eq!(users["total"], 502, "the owner and 501 imported");

    let token = sign_in(&agent, &idp, "user123@example.com", "pass-123");
    let me = profile(&agent, &token);
    assert_eq!(me["username"], "user123@example.com");
    assert_eq!(me["authProvider"], 2);
    let theirs = agent
        .get(&format!(
            "/usergroup/get_assigned_usergroups?userId={}",
            me["userId"].as_str().unwrap()
        ))
        .token(&owner)
        .send()
        .expect(200)
        .json();
    assert!(theirs.to_string().contains("group-3"), "{theirs}");
    // Importing the same list again changes nothing and fails nothing.
    agent
        .post("/usergroup/import_users", Value::Array(relations.clone()))
        .token(&owner)
        .send()
        .expect(200);
}

#[test]
fn configuration_routes_need_the_plan_an_admin_and_good_input_and_stay_in_their_account() {
    if desktop_only(DESKTOP) {
        return;
    }
    let idp = Idp::start(Flavor::Okta, 1, 1);
    // Without SSO in the plan.
    let plain = Agent::start();
    let owner = signup_and_login(&plain, "owner@example.com");
    plain
        .post("/sso/setup_okta", idp.setup_body())
        .token(&owner)
        .send()
        .expect_error("ACCESS");
    plain
        .post(
            "/sso/sso_url",
            json!({"CallbackUrl": CALLBACK, "Username": "a@example.com"}),
        )
        .send()
        .expect_error("ACCESS");

    let agent = sso_agent("");
    let a = signup_and_login(&agent, "a-owner@a.example");
    let b = signup_and_login(&agent, "b-owner@b.example");
    let (_, standard) = member(&agent, &a, "standard@a.example", 64);
    agent
        .post("/sso/setup_okta", idp.setup_body())
        .token(&standard)
        .send()
        .expect_error("ACCESS");
    agent.get("/sso/get_okta").send().expect(401);

    // Bad input, each with what to change.
    let bad = |body: Value, says: &str| {
        let message = agent
            .post("/sso/setup_okta", body)
            .token(&a)
            .send()
            .expect_error("DEFAULT");
        assert!(message.contains(says), "{says}: {message}");
    };
    let mut body = idp.setup_body();
    body["ClientId"] = json!("");
    bad(body, "ClientId");
    let mut body = idp.setup_body();
    body["OpenIdURL"] = json!("http://idp.example.com/.well-known/openid-configuration");
    bad(body, "https://");
    let mut body = idp.setup_body();
    body["OpenIdURL"] = json!(format!(
        "http://127.0.0.1:{}/.well-known/openid-configuration",
        free_port()
    ));
    bad(body, "OpenIdURL cannot be used");
    let mut body = idp.setup_body();
    body["ClientSecret"] = json!("");
    bad(body, "ClientSecret");
    agent
        .post("/sso/setup_okta", json!("not an object"))
        .token(&a)
        .send()
        .expect(499);

    // Account A's configuration, in the web API's camelCase too.
    let camel = json!({
        "clientId": idp::CLIENT_ID,
        "clientSecret": idp::CLIENT_SECRET,
        "openIdURL": idp.discovery_url(),
        "active": true,
    });
    let saved = agent
        .post("/sso/setup_okta", camel)
        .token(&a)
        .send()
        .expect(200)
        .json();
    agent
        .post("/sso/setup_okta", idp.setup_body())
        .token(&a)
        .send()
        .expect_error("DUPLICATE");
    assert_eq!(
        agent
            .get("/sso/get_okta")
            .token(&b)
            .send()
            .expect(200)
            .json(),
        Value::Null
    );
    assert_eq!(
        agent
            .get("/sso/get_entraId")
            .token(&a)
            .send()
            .expect(200)
            .json(),
        Value::Null
    );
    // B cannot touch A's configuration by its id.
    let mut foreign = saved.clone();
    foreign["ClientId"] = json!("taken-over");
    agent
        .put("/sso/update_okta", foreign.clone())
        .token(&b)
        .send()
        .expect_error("NOT_FOUND");
    agent
        .call("DELETE", "/sso/delete_okta")
        .token(&b)
        .send()
        .expect_error("NOT_FOUND");

    // An update with the hidden secret keeps the stored one (sign-in still works).
    let mut update = saved.clone();
    update["Active"] = json!(false);
    let updated = agent
        .put("/sso/update_okta", update)
        .token(&a)
        .send()
        .expect(200)
        .json();
    assert_eq!(updated["Active"], false);
    assert_eq!(updated["Id"], saved["Id"]);
    agent
        .post(
            "/sso/sso_url",
            json!({"CallbackUrl": CALLBACK, "Username": "user1@example.com"}),
        )
        .send()
        .expect_error("NOT_FOUND");
    let mut update = saved.clone();
    update["Active"] = json!(true);
    agent
        .put("/sso/update_okta", update)
        .token(&a)
        .send()
        .expect(200);
    // user1@example.com is no one's yet: the one account with SSO takes it.
    sign_in(&agent, &idp, "user1@example.com", "pass-1");
    // A user of an account without SSO is not sent to another account's provider.
    agent
        .post(
            "/sso/sso_url",
            json!({"CallbackUrl": CALLBACK, "Username": "b-owner@b.example"}),
        )
        .send()
        .expect_error("NOT_FOUND");

    // SAML: the certificate is parsed (PEM), garbage is refused.
    let certificate = std::fs::read_to_string(identity::fixture("saml-idp.crt")).unwrap();
    let saml = json!({
        "Certificate": certificate,
        "SPEntityId": "urn:click:test",
        "IdPSSOURL": "https://idp.example.com/sso",
        "Active": false,
    });
    let mut garbage = saml.clone();
    garbage["Certificate"] = json!("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----");
    let message = agent
        .post("/sso/setup_saml", garbage)
        .token(&a)
        .send()
        .expect_error("DEFAULT");
    assert!(message.contains("Certificate"), "{message}");
    let saved = agent
        .post("/sso/setup_saml", saml)
        .token(&a)
        .send()
        .expect(200)
        .json();
    assert_eq!(saved["SPEntityId"], "urn:click:test");
    assert_eq!(saved["IdPSSOURL"], "https://idp.example.com/sso");
    assert!(
        saved["Certificate"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    assert_eq!(
        agent
            .get("/sso/get_saml")
            .token(&a)
            .send()
            .expect(200)
            .json(),
        saved
    );

    // Deletes: 200, then gone, then NOT_FOUND.
    agent
        .call("DELETE", "/sso/delete_saml")
        .token(&a)
        .send()
        .expect(200);
    assert_eq!(
        agent
            .get("/sso/get_saml")
            .token(&a)
            .send()
            .expect(200)
            .json(),
        Value::Null
    );
    agent
        .call("DELETE", "/sso/delete_saml")
        .token(&a)
        .send()
        .expect_error("NOT_FOUND");
    agent
        .call("DELETE", "/sso/delete_okta")
        .token(&a)
        .send()
        .expect(200);
    agent
        .post(
            "/sso/sso_url",
            json!({"CallbackUrl": CALLBACK, "Username": "user1@example.com"}),
        )
        .send()
        .expect_error("NOT_FOUND");
    agent
        .post(
            "/sso/sso_url",
            json!({"CallbackUrl": "javascript:alert(1)", "Username": "x@y"}),
        )
        .send()
        .expect_error("DEFAULT");
}

/// An agent with a SAML configuration whose provider signs with `fixtures/saml-idp.key`; the
/// owner's token.
fn saml_agent(idp_sso_url: &str) -> (Agent, String) {
    let agent = sso_agent("");
    let owner = signup_and_login(&agent, "owner@example.com");
    let certificate = std::fs::read_to_string(identity::fixture("saml-idp.crt")).unwrap();
    agent
        .post(
            "/sso/setup_saml",
            json!({"Certificate": certificate, "SPEntityId": saml::SP_ENTITY_ID,
                   "IdPSSOURL": idp_sso_url, "Active": true}),
        )
        .token(&owner)
        .send()
        .expect(200);
    (agent, owner)
}

/// Posts an answer to the assertion consumer as the provider's page makes the browser do:
/// a form, from the provider's Origin.
fn post_answer(agent: &Agent, relay_state: &str, xml: &str) -> Resp {
    let body = format!(
        "SAMLResponse={}&RelayState={}",
        encode(&saml::encoded(xml)),
        encode(relay_state)
    );
    agent
        .call("POST", "/sso/saml_acs")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Origin", "https://idp.example.com")
        .raw(body.as_bytes())
        .send()
}

/// A new SAML sign-in of `username`: its identifier and request.
fn saml_start(agent: &Agent, username: &str) -> (String, saml::Request) {
    let (identifier, url) = sso_url(agent, username);
    let request = saml::Request::from_url(&url);
    assert_eq!(request.relay_state, identifier);
    (identifier, request)
}

/// The `code` the assertion consumer sent the browser back with.
fn code_of(redirect: &Resp, identifier: &str) -> String {
    let location = redirect.header("location").expect("a redirect");
    assert!(
        location.starts_with(&format!("{CALLBACK}?code=")),
        "{location}"
    );
    assert!(
        location.ends_with(&format!("&state={identifier}")),
        "{location}"
    );
    let after = &location[CALLBACK.len() + "?code=".len()..];
    after.split('&').next().unwrap().to_string()
}

#[test]
fn saml_sign_in_checks_every_answer_and_refuses_forged_wrapped_and_replayed_ones() {
    if desktop_only(DESKTOP) {
        return;
    }
    let (agent, owner) = saml_agent("https://idp.example.com/sso");
    let (identifier, request) = saml_start(&agent, "ada@example.com");
    assert_eq!(
        request.acs_url,
        format!("http://{}/sso/saml_acs", agent.host())
    );
    let answer = saml::Answer::to(&request, "ada@example.com");
    let signed = answer.signed();
    let back = post_answer(&agent, &request.relay_state, &signed).expect(303);
    let code = code_of(&back, &identifier);
    let token = authenticate(&agent, &identifier, &code).expect(200).json();
    let me = profile(&agent, token.as_str().unwrap());
    assert_eq!(me["username"], "ada@example.com");
    assert_eq!(me["authProvider"], 8, "SAML");
    assert_eq!(
        (me["firstName"].clone(), me["lastName"].clone()),
        (json!("Ada"), json!("Lovelace"))
    );
    // The same answer again, and the same code again.
    post_answer(&agent, &request.relay_state, &signed).expect_error("AUTH");
    authenticate(&agent, &identifier, &code).expect_error("AUTH");

    // Each forged answer, posted for a fresh sign-in: refused, with the reason.
    let refused = |why: &str, forge: &dyn Fn(&saml::Request) -> String| {
        let (_, request) = saml_start(&agent, "eve@example.com");
        let message =
            post_answer(&agent, &request.relay_state, &forge(&request)).expect_error("AUTH");
        assert!(message.contains(why), "{why}: {message}");
    };
    let good = |r: &saml::Request| saml::Answer::to(r, "eve@example.com");
    refused("not signed", &|r| {
        saml::Answer {
            signature: None,
            ..good(r)
        }
        .signed()
    });
    refused("altered", &|r| {
        good(r).signed().replacen(
            "<saml:NameID Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\">eve",
            "<saml:NameID Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\">admin",
            1,
        )
    });
    refused("does not verify", &|r| good(r).signed_by("other-key.pem"));
    refused("SHA-1", &|r| {
        saml::Answer {
            signature: Some("rsa-sha1"),
            ..good(r)
        }
        .signed()
    });
    refused("another audience", &|r| {
        saml::Answer {
            audience: "urn:someone-else".into(),
            ..good(r)
        }
        .signed()
    });
    refused("expired", &|r| {
        saml::Answer {
            valid_for: -600,
            ..good(r)
        }
        .signed()
    });
    refused("not this agent", &|r| {
        saml::Answer {
            acs_url: "https://evil.example.com/acs".into(),
            ..good(r)
        }
        .signed()
    });
    // An answer to another sign-in's request, posted with this one's RelayState.
    let (_, other) = saml_start(&agent, "eve@example.com");
    refused("another request", &|_| good(&other).signed());
    // Signature wrapping: the genuine signed assertion stays, an unsigned one is added
    // before it, or the signed one is moved where a careless verifier still finds it.
    let evil = |r: &saml::Request| {
        let unsigned = saml::Answer {
            signature: None,
            email: "admin@example.com".into(),
            ..good(r)
        };
        let xml = unsigned.template();
        let start = xml.find("<saml:Assertion").unwrap();
        let end = xml.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
        xml[start..end].to_string()
    };
    refused("more than one assertion", &|r| {
        let signed = good(r).signed();
        let at = signed.find("<saml:Assertion").unwrap();
        format!("{}{}{}", &signed[..at], evil(r), &signed[at..])
    });
    refused("more than one assertion", &|r| {
        let signed = good(r).signed();
        let (start, end) = (
            signed.find("<saml:Assertion").unwrap(),
            signed.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len(),
        );
        let wrapped = format!(
            "<samlp:Extensions>{}</samlp:Extensions>{}",
            &signed[start..end],
            evil(r)
        );
        format!("{}{}{}", &signed[..start], wrapped, &signed[end..])
    });
    refused("well-formed", &|r| {
        let signed = good(r).signed();
        format!("<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{signed}")
    });
    // The replay cache: a new answer reusing an assertion id seen before.
    refused("used already", &|r| {
        saml::Answer {
            assertion_id: answer.assertion_id.clone(),
            ..good(r)
        }
        .signed()
    });

    let users = agent
        .get("/user/get_all_users?page=1&pagesize=50")
        .token(&owner)
        .send()
        .expect(200)
        .json();
    let names = users["data"].to_string();
    assert!(
        !names.contains("eve@") && !names.contains("admin@"),
        "no forged user: {names}"
    );

    // The import through SAML lists the user who signed in, with the groups it names.
    let started = agent
        .post(
            "/sso/sso_url_import_user",
            json!({"CallbackUrl": CALLBACK, "Username": "owner@example.com"}),
        )
        .token(&owner)
        .send()
        .expect(200)
        .json();
    let request = saml::Request::from_url(started["Url"].as_str().unwrap());
    let answer = saml::Answer::to(&request, "grace@example.com").signed();
    let back = post_answer(&agent, &request.relay_state, &answer).expect(303);
    let code = code_of(&back, started["Identifier"].as_str().unwrap());
    let path = format!(
        "/sso/get_user_usergroups?authorizationCode={}&callbackUrl={}",
        encode(&code),
        encode(CALLBACK)
    );
    let listed = agent.get(&path).token(&owner).send().expect(200).json();
    assert_eq!(listed[0]["user"]["username"], "grace@example.com");
    assert_eq!(listed[0]["user"]["authProvider"], 8);
    let groups: Vec<&str> = (listed[0]["userGroups"].as_array().unwrap().iter())
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["Designers", "Editors"]);
}

#[test]
fn okta_import_follows_every_page_of_the_users_and_groups_api_and_is_for_admins_only() {
    if desktop_only(DESKTOP) {
        return;
    }
    let idp = Idp::start(Flavor::Okta, 120, 5);
    let (agent, owner, _) = agent_with_okta(&idp);
    let (_, member) = member(&agent, &owner, "member@example.com", 64);
    let body = json!({"CallbackUrl": CALLBACK, "Username": "admin@example.com"});
    agent
        .post("/sso/sso_url_import_user", body.clone())
        .token(&member)
        .send()
        .expect_error("ACCESS");
    let no_import = format!(
        "/sso/get_user_usergroups?authorizationCode=x&callbackUrl={}",
        encode(CALLBACK)
    );
    agent
        .get(&no_import)
        .token(&owner)
        .send()
        .expect_error("AUTH");
    agent
        .get("/sso/get_user_usergroups")
        .token(&owner)
        .send()
        .expect_error("DEFAULT");

    let started = agent
        .post("/sso/sso_url_import_user", body)
        .token(&owner)
        .send()
        .expect(200)
        .json();
    let url = started["Url"].as_str().unwrap();
    assert!(
        url.contains("okta.users.read"),
        "the directory scopes are asked for: {url}"
    );
    let back = idp.sign_in(url, "admin@example.com", "admin-pass");
    // Only the administrator who started the import can finish it.
    let path = format!(
        "/sso/get_user_usergroups?authorizationCode={}&callbackUrl={}",
        encode(&back.code),
        encode(CALLBACK)
    );
    let second_admin = signup_and_login(&agent, "other-owner@example.org");
    agent
        .get(&path)
        .token(&second_admin)
        .send()
        .expect_error("AUTH");
    let listed = agent.get(&path).token(&owner).send().expect(200).json();
    let listed = listed.as_array().unwrap();
    assert_eq!(
        listed.len(),
        121,
        "three pages of users (50 a page) and the admin"
    );
    let in_group = |name: &str| {
        listed
            .iter()
            .filter(|r| {
                r["userGroups"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|g| g["name"] == name)
            })
            .count()
    };
    assert_eq!(in_group("group-2"), 24);
    assert_eq!(in_group("group-1"), 25, "24 and the admin");
    assert_eq!(in_group("Admins"), 1);
    let admin = listed
        .iter()
        .find(|r| r["user"]["username"] == "admin@example.com")
        .unwrap();
    assert_eq!(admin["user"]["authProvider"], 4);
}

/// Posts what the provider's page posts, as the browser would (form, provider's Origin).
fn post_idp_form(agent: &Agent, post: &SamlPost) -> Resp {
    assert_eq!(post.action, format!("http://{}/sso/saml_acs", agent.host()));
    let body = format!(
        "SAMLResponse={}&RelayState={}",
        encode(&post.saml_response),
        encode(&post.relay_state)
    );
    agent
        .call("POST", "/sso/saml_acs")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Origin", "http://127.0.0.1:1")
        .raw(body.as_bytes())
        .send()
}

#[test]
fn saml_sign_in_against_a_real_identity_provider() {
    if desktop_only(DESKTOP) {
        return;
    }
    let idp = SamlIdp::start(saml::SP_ENTITY_ID);
    let (agent, owner) = saml_agent(&idp.sso_url());

    // Signed assertion (saml-idp's rsa-sha256, exclusive C14N, unprefixed ds namespace).
    let (identifier, url) = sso_url(&agent, "alice@example.com");
    let post = idp.sign_in(&url, "alice@example.com", "admins,devs");
    assert_eq!(post.relay_state, identifier);
    let back = post_idp_form(&agent, &post).expect(303);
    let token = authenticate(&agent, &identifier, &code_of(&back, &identifier))
        .expect(200)
        .json();
    let me = profile(&agent, token.as_str().unwrap());
    assert_eq!(me["username"], "alice@example.com");
    assert_eq!(me["authProvider"], 8);
    assert_eq!(me["firstName"], "alice");
    // The same post again: its sign-in is spent.
    post_idp_form(&agent, &post).expect_error("AUTH");

    // Only the Response signed, around the assertion.
    idp.settings("signAssertion=false&signResponse=true");
    let (identifier, url) = sso_url(&agent, "bob@example.com");
    let back = post_idp_form(&agent, &idp.sign_in(&url, "bob@example.com", "devs")).expect(303);
    authenticate(&agent, &identifier, &code_of(&back, &identifier)).expect(200);

    // What the provider can be made to send, refused.
    let refused = |settings: &str, why: &str| {
        idp.settings(settings);
        let (_, url) = sso_url(&agent, "mallory@example.com");
        let post = idp.sign_in(&url, "mallory@example.com", "devs");
        let message = post_idp_form(&agent, &post).expect_error("AUTH");
        assert!(message.contains(why), "{settings}: {message}");
    };
    refused("signAssertion=false&signResponse=false", "not signed");
    refused(
        "signAssertion=true&signResponse=false&signatureAlgorithm=rsa-sha1&digestAlgorithm=sha1",
        "SHA-1",
    );
    refused(
        "signatureAlgorithm=rsa-sha256&digestAlgorithm=sha256&audience=urn:someone-else",
        "another audience",
    );
    let users = agent
        .get("/user/get_all_users?page=1&pagesize=50")
        .token(&owner)
        .send()
        .expect(200)
        .json();
    assert!(!users["data"].to_string().contains("mallory@"), "{users}");
}
