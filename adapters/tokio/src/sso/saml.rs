//! SAML 2.0 Web Browser SSO as a service provider: the AuthnRequest (HTTP-Redirect binding)
//! and the checks of the Response the identity provider posts back. Signature wrapping is
//! ruled out by construction: the document must hold exactly one assertion, as a child of
//! the Response, every `ID` must be unique, and the claims are read from the element whose
//! signature was verified (the assertion, or the Response that contains it).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use click_core::ports::{IdpError, SamlAssertion, SamlExpect, SamlRequest, SsoIdentity};
use roxmltree::{Document, Node, ParsingOptions};
use rsa::pkcs8::DecodePublicKey;
use x509_cert::der::Encode;

use super::xmldsig::{self, children, only};

const PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
/// Clock differences tolerated between the provider and this machine.
const SKEW_SECS: u64 = 120;
/// The largest response accepted (base64 text).
const MAX_RESPONSE: usize = 1024 * 1024;

/// The identity provider's URL that starts `request`: its SSO service with a DEFLATEd,
/// base64 AuthnRequest and the RelayState.
pub fn request_url(request: &SamlRequest<'_>) -> Result<String, IdpError> {
    let xml = format!(
        concat!(
            r#"<samlp:AuthnRequest xmlns:samlp="{protocol}" xmlns:saml="{assertion}" "#,
            r#"ID="{id}" Version="2.0" IssueInstant="{instant}" Destination="{dest}" "#,
            r#"AssertionConsumerServiceURL="{acs}" "#,
            r#"ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">"#,
            r#"<saml:Issuer>{issuer}</saml:Issuer>"#,
            r#"<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" AllowCreate="true"/>"#,
            r#"</samlp:AuthnRequest>"#
        ),
        protocol = PROTOCOL,
        assertion = ASSERTION,
        id = escape(request.request_id),
        instant = instant(request.now_secs),
        dest = escape(request.idp_sso_url),
        acs = escape(request.acs_url),
        issuer = escape(request.sp_entity_id),
    );
    let deflated = miniz_oxide::deflate::compress_to_vec(xml.as_bytes(), 6);
    let encoded = STANDARD.encode(deflated);
    let sep = if request.idp_sso_url.contains('?') {
        '&'
    } else {
        '?'
    };
    Ok(format!(
        "{}{sep}SAMLRequest={}&RelayState={}",
        request.idp_sso_url,
        percent(&encoded),
        percent(request.relay_state)
    ))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn percent(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// `xs:dateTime` in UTC of Unix seconds.
fn instant(secs: u64) -> String {
    click_core::time::iso8601(secs * 1000)
}

/// Unix seconds of an `xs:dateTime` (`2026-12-04T20:00:00Z`, fractions and offsets allowed).
fn parse_instant(text: &str) -> Option<u64> {
    click_core::time::parse_iso8601(text).map(|ms| ms / 1000)
}

fn refused(why: impl Into<String>) -> IdpError {
    IdpError::Refused(why.into())
}

/// The public key of the configured certificate (RSA only).
fn key_of(certificate: &str) -> Result<rsa::PublicKey, IdpError> {
    let cert = super::certificate::parse(certificate)?;
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| IdpError::Invalid(e.to_string()))?;
    rsa::PublicKey::from_public_key_der(&spki)
        .map_err(|_| IdpError::Invalid("the certificate's key is not an RSA key".into()))
}

/// Checks a posted `SAMLResponse` against what the sign-in expects; the identity it asserts.
pub fn verify(
    certificate: &str,
    response_b64: &str,
    expect: &SamlExpect<'_>,
) -> Result<SamlAssertion, IdpError> {
    if response_b64.len() > MAX_RESPONSE {
        return Err(refused("the SAML response is too large"));
    }
    let compact: String = response_b64
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let bytes = STANDARD
        .decode(compact)
        .map_err(|_| refused("the SAML response is not base64"))?;
    let src = String::from_utf8(bytes).map_err(|_| refused("the SAML response is not UTF-8"))?;
    // No DTD at all (no entities, no XXE), and a bounded tree.
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: 100_000,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(&src, options)
        .map_err(|e| refused(format!("the SAML response is not well-formed XML: {e}")))?;
    let key = key_of(certificate)?;
    check(&src, &doc, &key, expect)
}

fn check(
    src: &str,
    doc: &Document,
    key: &rsa::PublicKey,
    expect: &SamlExpect<'_>,
) -> Result<SamlAssertion, IdpError> {
    let response = doc.root_element();
    if response.tag_name().namespace() != Some(PROTOCOL) || response.tag_name().name() != "Response"
    {
        return Err(refused("the document is not a SAML Response"));
    }
    if let Some(destination) = response.attribute("Destination")
        && destination != expect.acs_url
    {
        return Err(refused(format!(
            "the response is for {destination}, not this agent"
        )));
    }
    if response.attribute("InResponseTo") != Some(expect.request_id) {
        return Err(refused(
            "the response answers another request (InResponseTo)",
        ));
    }
    let status = only(
        only(response, PROTOCOL, "Status").map_err(refused)?,
        PROTOCOL,
        "StatusCode",
    )
    .map_err(refused)?;
    if status.attribute("Value") != Some(SUCCESS) {
        return Err(refused(format!(
            "the identity provider did not sign the user in ({})",
            status.attribute("Value").unwrap_or("no status")
        )));
    }
    let assertion = the_assertion(doc, response)?;
    verify_signatures(src, doc, response, assertion, key)?;
    read_assertion(assertion, expect)
}

/// The one assertion of the document, a child of the Response; anything else (two assertions,
/// one nested elsewhere, an encrypted one) is refused.
fn the_assertion<'a, 'i>(
    doc: &'a Document<'i>,
    response: Node<'a, 'i>,
) -> Result<Node<'a, 'i>, IdpError> {
    let named = |n: &Node, name: &str| n.is_element() && n.tag_name().name() == name;
    if doc.descendants().any(|n| named(&n, "EncryptedAssertion")) {
        return Err(IdpError::Invalid(
            "encrypted assertions are not supported: turn assertion encryption off at the \
             identity provider"
                .into(),
        ));
    }
    let all: Vec<Node> = doc
        .descendants()
        .filter(|n| named(n, "Assertion") && n.tag_name().namespace() == Some(ASSERTION))
        .collect();
    match all.as_slice() {
        [one] if one.parent() == Some(response) => Ok(*one),
        [] => Err(refused("the response has no assertion")),
        _ => Err(refused(
            "the response holds more than one assertion, or one out of place (signature wrapping?)",
        )),
    }
}

/// The assertion's own signature, or the Response's, must verify; every `ID` is unique.
fn verify_signatures(
    src: &str,
    doc: &Document,
    response: Node,
    assertion: Node,
    key: &rsa::PublicKey,
) -> Result<(), IdpError> {
    let mut ids: Vec<&str> = doc
        .descendants()
        .filter_map(|n| n.attribute("ID"))
        .collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() != count {
        return Err(refused("two elements share an ID (signature wrapping?)"));
    }
    let signed_assertion = !children(assertion, xmldsig::DSIG, "Signature").is_empty();
    let signed_response = !children(response, xmldsig::DSIG, "Signature").is_empty();
    if !signed_assertion && !signed_response {
        return Err(refused("the assertion is not signed"));
    }
    let fail = |what: &str, e: String| refused(format!("the {what}'s signature is refused: {e}"));
    if signed_assertion {
        xmldsig::verify_enveloped(src, assertion, key).map_err(|e| fail("assertion", e))?;
    }
    if signed_response {
        xmldsig::verify_enveloped(src, response, key).map_err(|e| fail("response", e))?;
    }
    Ok(())
}

fn text_of(node: Node) -> String {
    node.text().unwrap_or("").trim().to_string()
}

fn time_attr(node: Node, name: &str) -> Result<Option<u64>, IdpError> {
    match node.attribute(name) {
        None => Ok(None),
        Some(t) => parse_instant(t)
            .map(Some)
            .ok_or_else(|| refused(format!("{name} is not a time: {t}"))),
    }
}

fn read_assertion(assertion: Node, expect: &SamlExpect<'_>) -> Result<SamlAssertion, IdpError> {
    let now = expect.now_secs;
    let conditions = only(assertion, ASSERTION, "Conditions").map_err(refused)?;
    if time_attr(conditions, "NotBefore")?.is_some_and(|t| t > now + SKEW_SECS) {
        return Err(refused("the assertion is not valid yet (NotBefore)"));
    }
    let until = time_attr(conditions, "NotOnOrAfter")?
        .ok_or_else(|| refused("the assertion has no NotOnOrAfter"))?;
    if until + SKEW_SECS <= now {
        return Err(refused("the assertion has expired (NotOnOrAfter)"));
    }
    let audiences: Vec<String> = children(conditions, ASSERTION, "AudienceRestriction")
        .into_iter()
        .flat_map(|r| children(r, ASSERTION, "Audience"))
        .map(text_of)
        .collect();
    if !audiences.iter().any(|a| a == expect.sp_entity_id) {
        return Err(refused(format!(
            "the assertion is for another audience ({audiences:?}), not {}",
            expect.sp_entity_id
        )));
    }
    let subject = only(assertion, ASSERTION, "Subject").map_err(refused)?;
    let name_id = text_of(only(subject, ASSERTION, "NameID").map_err(refused)?);
    let bearer = children(subject, ASSERTION, "SubjectConfirmation")
        .into_iter()
        .find(|c| c.attribute("Method") == Some(BEARER))
        .ok_or_else(|| refused("the assertion has no bearer confirmation"))?;
    let data = only(bearer, ASSERTION, "SubjectConfirmationData").map_err(refused)?;
    if data.attribute("Recipient") != Some(expect.acs_url) {
        return Err(refused(
            "the assertion is for another recipient (Recipient)",
        ));
    }
    if data.attribute("InResponseTo") != Some(expect.request_id) {
        return Err(refused(
            "the assertion answers another request (InResponseTo)",
        ));
    }
    let confirm_until = time_attr(data, "NotOnOrAfter")?
        .ok_or_else(|| refused("the confirmation has no NotOnOrAfter"))?;
    if confirm_until + SKEW_SECS <= now {
        return Err(refused(
            "the assertion has expired (SubjectConfirmationData NotOnOrAfter)",
        ));
    }
    let id = assertion.attribute("ID").unwrap_or("").to_string();
    Ok(SamlAssertion {
        id,
        expires_secs: until.max(confirm_until) + SKEW_SECS,
        identity: identity(assertion, name_id),
    })
}

/// Who the attributes name: the common names of email, first and last name and groups
/// (Okta's, Entra ID's and ADFS's claim URIs among them).
fn identity(assertion: Node, name_id: String) -> SsoIdentity {
    let mut values: Vec<(String, String)> = Vec::new();
    for statement in children(assertion, ASSERTION, "AttributeStatement") {
        for attribute in children(statement, ASSERTION, "Attribute") {
            let name = attribute.attribute("Name").unwrap_or("").to_string();
            let short = name
                .rsplit(['/', ':'])
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            for value in children(attribute, ASSERTION, "AttributeValue") {
                values.push((short.clone(), text_of(value)));
            }
        }
    }
    let first = |names: &[&str]| {
        values
            .iter()
            .find(|(n, v)| names.contains(&n.as_str()) && !v.is_empty())
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let email = first(&["email", "mail", "emailaddress"]);
    let groups = values
        .iter()
        .filter(|(n, v)| {
            ["groups", "group", "memberof", "role"].contains(&n.as_str()) && !v.is_empty()
        })
        .map(|(_, v)| v.clone())
        .collect();
    SsoIdentity {
        username: if name_id.contains('@') || email.is_empty() {
            name_id.clone()
        } else {
            email.clone()
        },
        subject: name_id,
        email,
        given_name: first(&["firstname", "givenname", "first_name"]),
        family_name: first(&["lastname", "surname", "sn", "last_name"]),
        groups,
        access_token: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_both_ways() {
        assert_eq!(instant(0), "1970-01-01T00:00:00Z");
        assert_eq!(instant(1_796_414_400), "2026-12-04T20:00:00Z");
        assert_eq!(parse_instant("2026-12-04T20:00:00Z"), Some(1_796_414_400));
        assert_eq!(
            parse_instant("2026-12-04T20:00:00.123Z"),
            Some(1_796_414_400)
        );
        assert_eq!(
            parse_instant("2026-12-04T21:00:00+01:00"),
            Some(1_796_414_400)
        );
        assert_eq!(parse_instant("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        assert_eq!(parse_instant("yesterday"), None);
    }

    #[test]
    fn the_request_url_carries_a_deflated_request_and_the_relay_state() {
        let url = request_url(&SamlRequest {
            idp_sso_url: "https://idp.example.com/sso?tenant=1",
            sp_entity_id: "urn:click:test",
            acs_url: "http://127.0.0.1:29123/sso/saml_acs",
            request_id: "_abc",
            relay_state: "state+1",
            now_secs: 0,
        })
        .unwrap();
        assert!(
            url.starts_with("https://idp.example.com/sso?tenant=1&SAMLRequest="),
            "{url}"
        );
        assert!(url.ends_with("&RelayState=state%2B1"), "{url}");
        let encoded = url
            .split("SAMLRequest=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        let b64 = percent_encoding::percent_decode_str(encoded)
            .decode_utf8()
            .unwrap();
        let deflated = STANDARD.decode(b64.as_bytes()).unwrap();
        let xml = miniz_oxide::inflate::decompress_to_vec(&deflated).unwrap();
        let xml = String::from_utf8(xml).unwrap();
        assert!(
            xml.contains(r#"ID="_abc""#) && xml.contains("urn:click:test"),
            "{xml}"
        );
    }
}
