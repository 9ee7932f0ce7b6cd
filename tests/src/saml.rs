//! SAML answers as an identity provider makes them, signed by Debian's `xmlsec1` (an
//! independent implementation of XML signatures) with the test provider's key
//! (`fixtures/saml-idp.key`), and the agent's AuthnRequests read back.

use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::identity::{fixture, now};

/// The `SPEntityId` the SAML tests configure.
pub const SP_ENTITY_ID: &str = "urn:click:test";

/// What the agent's AuthnRequest asked, read from its sign-in URL.
#[derive(Debug, Clone)]
pub struct Request {
    pub id: String,
    pub acs_url: String,
    pub relay_state: String,
}

fn query_param(url: &str, name: &str) -> String {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    let raw = query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no {name} in {url}"));
    let mut out = Vec::new();
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&raw[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn attribute(xml: &str, name: &str) -> String {
    let start = xml
        .find(&format!(" {name}=\""))
        .unwrap_or_else(|| panic!("{name} in {xml}"));
    let rest = &xml[start + name.len() + 3..];
    rest[..rest.find('"').unwrap()].to_string()
}

impl Request {
    /// The request in `url` (the HTTP-Redirect binding: DEFLATE, base64, then the URL).
    pub fn from_url(url: &str) -> Request {
        let deflated = STANDARD.decode(query_param(url, "SAMLRequest")).unwrap();
        let xml = miniz_oxide::inflate::decompress_to_vec(&deflated).expect("raw DEFLATE");
        let xml = String::from_utf8(xml).unwrap();
        assert!(
            xml.contains(&format!("<saml:Issuer>{SP_ENTITY_ID}</saml:Issuer>")),
            "{xml}"
        );
        Request {
            id: attribute(&xml, "ID"),
            acs_url: attribute(&xml, "AssertionConsumerServiceURL"),
            relay_state: query_param(url, "RelayState"),
        }
    }
}

/// An answer to a request, as a provider would make it (before signing).
#[derive(Debug, Clone)]
pub struct Answer {
    pub in_response_to: String,
    pub acs_url: String,
    pub audience: String,
    pub assertion_id: String,
    pub email: String,
    pub groups: Vec<String>,
    /// Seconds from now until it expires (negative: expired already).
    pub valid_for: i64,
    /// `rsa-sha256` or `rsa-sha1`; `None`: no signature at all.
    pub signature: Option<&'static str>,
}

impl Answer {
    /// A good answer to `request` for `email`.
    pub fn to(request: &Request, email: &str) -> Answer {
        Answer {
            in_response_to: request.id.clone(),
            acs_url: request.acs_url.clone(),
            audience: SP_ENTITY_ID.into(),
            assertion_id: format!("_a{:x}{:x}", now(), rand_id()),
            email: email.into(),
            groups: vec!["Designers".into(), "Editors".into()],
            valid_for: 300,
            signature: Some("rsa-sha256"),
        }
    }

    /// The Response XML with a signature template in the assertion (not signed yet).
    pub fn template(&self) -> String {
        let instant = |offset: i64| iso((now() as i64 + offset) as u64);
        let (hash, digest) = match self.signature {
            Some("rsa-sha1") => (
                "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
                "http://www.w3.org/2000/09/xmldsig#sha1",
            ),
            _ => (
                "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                "http://www.w3.org/2001/04/xmlenc#sha256",
            ),
        };
        let signature = match self.signature {
            None => String::new(),
            Some(_) => format!(
                r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="{hash}"/><ds:Reference URI="#{id}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="{digest}"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue></ds:Signature>"##,
                id = self.assertion_id
            ),
        };
        let groups: String = self
            .groups
            .iter()
            .map(|g| format!("<saml:AttributeValue>{g}</saml:AttributeValue>"))
            .collect();
        format!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r{id}" Version="2.0" IssueInstant="{now}" Destination="{acs}" InResponseTo="{req}">
  <saml:Issuer>urn:click:test-idp</saml:Issuer>
  <samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>
  <saml:Assertion ID="{id}" Version="2.0" IssueInstant="{now}">
    <saml:Issuer>urn:click:test-idp</saml:Issuer>{signature}
    <saml:Subject>
      <saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{email}</saml:NameID>
      <saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
        <saml:SubjectConfirmationData InResponseTo="{req}" NotOnOrAfter="{until}" Recipient="{acs}"/>
      </saml:SubjectConfirmation>
    </saml:Subject>
    <saml:Conditions NotBefore="{before}" NotOnOrAfter="{until}">
      <saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction>
    </saml:Conditions>
    <saml:AuthnStatement AuthnInstant="{now}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>
    <saml:AttributeStatement>
      <saml:Attribute Name="email"><saml:AttributeValue>{email}</saml:AttributeValue></saml:Attribute>
      <saml:Attribute Name="firstName"><saml:AttributeValue>Ada</saml:AttributeValue></saml:Attribute>
      <saml:Attribute Name="lastName"><saml:AttributeValue>Lovelace</saml:AttributeValue></saml:Attribute>
      <saml:Attribute Name="groups">{groups}</saml:Attribute>
    </saml:AttributeStatement>
  </saml:Assertion>
</samlp:Response>"#,
            id = self.assertion_id,
            now = instant(0),
            before = instant(-60),
            until = instant(self.valid_for),
            acs = self.acs_url,
            req = self.in_response_to,
            audience = self.audience,
            email = self.email,
        )
    }

    /// The Response XML, signed by `key` (a fixture) when it has a signature.
    pub fn signed_by(&self, key: &str) -> String {
        let template = self.template();
        match self.signature {
            None => template,
            Some(_) => sign(&template, key),
        }
    }

    /// The Response XML signed by the test identity provider's key.
    pub fn signed(&self) -> String {
        self.signed_by("saml-idp.key")
    }
}

fn rand_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed) ^ (std::process::id() as u64) << 20
}

/// `xs:dateTime` (UTC) of Unix seconds.
pub fn iso(secs: u64) -> String {
    let out = Command::new("date")
        .args(["-u", "-d", &format!("@{secs}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .expect("date");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Signs the assertion's signature template of `xml` with xmlsec1 and the key `key`.
pub fn sign(xml: &str, key: &str) -> String {
    let xmlsec1 = crate::tools::os_package("xmlsec1", &["xmlsec1"]);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("template.xml");
    std::fs::write(&input, xml).unwrap();
    let out = Command::new(xmlsec1)
        .args(["--sign", "--privkey-pem", &fixture(key)])
        .args([
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
        ])
        .arg("--output")
        .arg(dir.path().join("signed.xml"))
        .arg(&input)
        .output()
        .expect("run xmlsec1");
    assert!(
        out.status.success(),
        "xmlsec1: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(dir.path().join("signed.xml")).unwrap()
}

/// Base64 of a Response, as the form field `SAMLResponse` carries it.
pub fn encoded(xml: &str) -> String {
    STANDARD.encode(xml.as_bytes())
}
