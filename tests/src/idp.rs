//! Identity providers run locally for the SSO tests: `tests/idp/oidc.mjs`, a real OpenID
//! Provider (`oidc-provider` from npm) standing in for Okta or Entra ID with their claims,
//! directory APIs (Okta's Users and Groups API, Microsoft Graph) and a switch that tampers
//! with the ID tokens it issues; and a browser-less user who signs in at it.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{Resp, Value, encode, free_port, json};

/// The client the tests register at the provider.
pub const CLIENT_ID: &str = "click-agent";
pub const CLIENT_SECRET: &str = "click-agent-secret-0123456789";
/// Where the provider sends the browser back; nothing listens there, the test reads the
/// redirect itself.
pub const CALLBACK: &str = "http://127.0.0.1:9/sso/callback";

/// Which real provider the stand-in plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Okta,
    Entra,
}

/// A running test identity provider, stopped when dropped.
pub struct Idp {
    child: Child,
    pub port: u16,
    pub issuer: String,
    pub flavor: Flavor,
}

impl Idp {
    /// A provider with `admin@example.com` and `users` users (`user<i>@example.com`, password
    /// `pass-<i>`) in `groups` groups (`group-<j>`).
    pub fn start(flavor: Flavor, users: usize, groups: usize) -> Idp {
        let modules = crate::tools::idp_modules();
        let script = format!("{}/idp/oidc.mjs", env!("CARGO_MANIFEST_DIR"));
        for _attempt in 0..5 {
            let port = free_port();
            let mut child = Command::new("node")
                .arg(&script)
                .args(["--port", &port.to_string()])
                .args([
                    "--flavor",
                    if flavor == Flavor::Okta {
                        "okta"
                    } else {
                        "entra"
                    },
                ])
                .args(["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET])
                .args([
                    "--users",
                    &users.to_string(),
                    "--groups",
                    &groups.to_string(),
                ])
                .env("IDP_MODULES", &modules)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("start node tests/idp/oidc.mjs");
            let mut line = String::new();
            let _ = BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
            if let Some(issuer) = line.trim().strip_prefix("READY ") {
                return Idp {
                    child,
                    port,
                    issuer: issuer.to_string(),
                    flavor,
                };
            }
            // Another process took the port between our check and the provider's listen.
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("the test identity provider did not start");
    }

    /// Its discovery document, as an administrator gives it (`OpenIdURL`).
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer)
    }

    /// The body of `setup_okta` / `setup_entraId`, in the docs' spelling.
    pub fn setup_body(&self) -> Value {
        json!({
            "ClientId": CLIENT_ID,
            "ClientSecret": CLIENT_SECRET,
            "OpenIdURL": self.discovery_url(),
            "Active": true,
        })
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Makes the provider rewrite the ID tokens it issues from now on (`normal`, `expired`,
    /// `wrong-aud`, `wrong-iss`, `wrong-nonce`, `other-key`, `alg-none`).
    pub fn tamper(&self, mode: &str) {
        let body = json!({ "mode": mode }).to_string();
        let request = format!(
            "POST /_test/id_token_mode HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: \
             application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        let resp = crate::raw_exchange(self.addr(), request.as_bytes());
        assert_eq!(resp.status, 200, "{}", resp.text());
    }

    /// Signs in at the provider as a person would in a browser, starting at the
    /// authorization URL the agent gave, and returns the callback's `code` and `state`.
    pub fn sign_in(&self, authorization_url: &str, login: &str, password: &str) -> Callback {
        let mut browser = Browser::new(self.addr());
        let to_login = browser.get(authorization_url).expect(303);
        let form_page = browser.get(location(&to_login)).expect(200);
        let action = form_action(&form_page.text());
        let fields = format!("login={}&password={}", encode(login), encode(password));
        let resumed = browser.post_form(&action, &fields);
        assert_eq!(resumed.status, 303, "login refused: {}", resumed.text());
        let back = browser.get(location(&resumed)).expect(303);
        Callback::parse(location(&back))
    }

    /// Posts a wrong password at the provider's login form: the provider refuses it.
    pub fn wrong_password_is_refused(&self, authorization_url: &str, login: &str) {
        let mut browser = Browser::new(self.addr());
        let to_login = browser.get(authorization_url).expect(303);
        let form_page = browser.get(location(&to_login)).expect(200);
        let action = form_action(&form_page.text());
        let fields = format!("login={}&password=wrong", encode(login));
        let again = browser.post_form(&action, &fields).expect(200);
        assert!(again.text().contains("Invalid login"), "{}", again.text());
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the provider put on the callback URL.
#[derive(Debug, Clone)]
pub struct Callback {
    pub url: String,
    pub code: String,
    pub state: String,
}

impl Callback {
    fn parse(url: &str) -> Callback {
        assert!(url.starts_with(CALLBACK), "redirected elsewhere: {url}");
        let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
        let param = |name: &str| {
            crate::query_param(query, name).unwrap_or_else(|| panic!("no {name} in {url}"))
        };
        Callback {
            url: url.to_string(),
            code: param("code"),
            state: param("state"),
        }
    }
}

fn location(resp: &Resp) -> &str {
    resp.header("location")
        .unwrap_or_else(|| panic!("no Location; status {}: {}", resp.status, resp.text()))
}

/// The `action` of the login page's form.
fn form_action(html: &str) -> String {
    let start = html.find("action=\"").expect("a form with an action") + 8;
    let end = start + html[start..].find('"').unwrap();
    html[start..end].replace("&amp;", "&")
}

/// A browser without JavaScript: one origin, its cookies (name=value), no redirects of its
/// own.
struct Browser {
    addr: SocketAddr,
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn new(addr: SocketAddr) -> Browser {
        Browser {
            addr,
            cookies: Vec::new(),
        }
    }

    /// The path and query of `url` (absolute on the provider's origin, or a path).
    fn target(&self, url: &str) -> String {
        match url.split_once("://") {
            Some((_, rest)) => {
                let path = rest.find('/').map_or("/", |i| &rest[i..]);
                let host = &rest[..rest.find('/').unwrap_or(rest.len())];
                assert_eq!(
                    host,
                    self.addr.to_string(),
                    "the browser stays on the provider"
                );
                path.to_string()
            }
            None => url.to_string(),
        }
    }

    fn get(&mut self, url: &str) -> Resp {
        self.send("GET", url, None)
    }

    fn post_form(&mut self, url: &str, body: &str) -> Resp {
        self.send("POST", url, Some(body))
    }

    fn send(&mut self, method: &str, url: &str, body: Option<&str>) -> Resp {
        let mut request = format!(
            "{method} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.target(url),
            self.addr
        );
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            request.push_str(&format!("Cookie: {}\r\n", jar.join("; ")));
        }
        if let Some(body) = body {
            request.push_str(&format!(
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        request.push_str("\r\n");
        request.push_str(body.unwrap_or(""));
        let resp = exchange(self.addr, request.as_bytes());
        for (name, value) in &resp.headers {
            if name != "set-cookie" {
                continue;
            }
            let pair = value.split(';').next().unwrap_or("");
            if let Some((n, v)) = pair.split_once('=') {
                self.cookies.retain(|(old, _)| old != n.trim());
                if !v.is_empty() {
                    self.cookies.push((n.trim().to_string(), v.to_string()));
                }
            }
        }
        resp
    }
}

/// One request on its own connection; a chunked body is joined.
fn exchange(addr: SocketAddr, request: &[u8]) -> Resp {
    let mut stream = TcpStream::connect(addr).expect("connect to the identity provider");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut buf = Vec::new();
    let _ = std::io::Read::read_to_end(&mut stream, &mut buf);
    let mut resp = Resp::parse(&buf).expect("an HTTP answer from the identity provider");
    if resp.header("transfer-encoding") == Some("chunked") {
        resp.body = dechunk(&resp.body);
    }
    resp
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = body.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&body[..eol]).unwrap_or("0");
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&body[start..start + size]);
        body = &body[start + size + 2..];
    }
    out
}

/// A running SAML 2.0 identity provider (`saml-idp` from npm, `tests/idp/saml/run.cjs`),
/// signing with `fixtures/saml-idp.key`; stopped when dropped.
pub struct SamlIdp {
    child: Child,
    pub port: u16,
}

/// What the provider's page makes the browser post to the agent.
#[derive(Debug, Clone)]
pub struct SamlPost {
    /// The form's action: the assertion consumer the request named.
    pub action: String,
    pub saml_response: String,
    pub relay_state: String,
}

impl SamlIdp {
    /// A provider whose answers are for the audience `audience`; only assertions are signed.
    pub fn start(audience: &str) -> SamlIdp {
        let modules = crate::tools::saml_idp_modules();
        let script = format!("{}/idp/saml/run.cjs", env!("CARGO_MANIFEST_DIR"));
        for _attempt in 0..5 {
            let port = free_port();
            let mut child = Command::new("node")
                .arg(&script)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--cert", &crate::identity::fixture("saml-idp.crt")])
                .args(["--key", &crate::identity::fixture("saml-idp.key")])
                .args(["--issuer", "urn:click:test-idp", "--audience", audience])
                // Overridden by each request's own AssertionConsumerServiceURL.
                .args([
                    "--acsUrl",
                    "http://127.0.0.1:9/sso/saml_acs",
                    "--no-signResponse",
                ])
                .env("IDP_MODULES", &modules)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("start node tests/idp/saml/run.cjs");
            let mut line = String::new();
            let _ = BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
            if line.starts_with("READY ") {
                return SamlIdp { child, port };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("the test SAML identity provider did not start");
    }

    /// Its single sign-on service (`IdPSSOURL`).
    pub fn sso_url(&self) -> String {
        format!("http://127.0.0.1:{}/saml/sso", self.port)
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Changes how it answers (`signatureAlgorithm=rsa-sha1&digestAlgorithm=sha1`,
    /// `signAssertion=false&signResponse=true`, ...), until changed again.
    pub fn settings(&self, form: &str) {
        let mut browser = Browser::new(self.addr());
        let resp = browser.post_form("/settings", form);
        assert!(
            resp.status < 400,
            "settings: {} {}",
            resp.status,
            resp.text()
        );
    }

    /// Signs `email` in as a person would at the provider's page, starting at the agent's
    /// sign-in URL: what the provider's page then posts to the agent.
    pub fn sign_in(&self, url: &str, email: &str, groups: &str) -> SamlPost {
        let mut browser = Browser::new(self.addr());
        let page = browser.get(url).expect(200).text();
        let request = between(&page, "name=\"_authnRequest\" type='hidden' value='", "'");
        let (first, last) = email.split_once('@').unwrap();
        let fields = format!(
            "_authnRequest={}&userName={}&email={}&firstName={}&lastName={}&groups={}",
            encode(&unescape(&request)),
            encode(email),
            encode(email),
            encode(first),
            encode(last),
            encode(groups)
        );
        let answer = browser.post_form("/signin", &fields).expect(200).text();
        SamlPost {
            action: unescape(&between(&answer, "name=\"hiddenform\" action=\"", "\"")),
            saml_response: unescape(&input_value(&answer, "SAMLResponse")),
            relay_state: unescape(&input_value(&answer, "RelayState")),
        }
    }
}

impl Drop for SamlIdp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text between `start` and the next `end` in `page`.
fn between(page: &str, start: &str, end: &str) -> String {
    let at = page
        .find(start)
        .unwrap_or_else(|| panic!("no {start:?} in the page: {page}"))
        + start.len();
    page[at..at + page[at..].find(end).unwrap()].to_string()
}

/// The value of the form input named `name` (whatever the whitespace between attributes).
fn input_value(page: &str, name: &str) -> String {
    let at = page
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no input {name} in the page: {page}"));
    between(&page[at..], "value=\"", "\"")
}

/// Undoes the page template's HTML escaping.
fn unescape(s: &str) -> String {
    s.replace("&#x3D;", "=")
        .replace("&#x27;", "'")
        .replace("&#x60;", "`")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
