//! Enveloped XML signatures as SAML identity providers make them, checked strictly: exclusive
//! canonicalization (without comments) only, RSA with SHA-256/384/512 only (SHA-1 and every
//! other algorithm refused), exactly one reference, to the signed element itself, whose
//! digest is recomputed here. The key is the configured certificate's, never one the
//! document carries.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use roxmltree::{Node, NodeId};
use rsa::PublicKey;
use rsa::signature::Verifier;
use sha2::{Digest, Sha256, Sha384, Sha512};

pub const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// The hashes the allowlist knows.
#[derive(Clone, Copy)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

fn signature_hash(algorithm: &str) -> Result<Hash, String> {
    match algorithm {
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => Ok(Hash::Sha256),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384" => Ok(Hash::Sha384),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => Ok(Hash::Sha512),
        a if a.ends_with("sha1") => Err(format!("SHA-1 signatures are refused ({a})")),
        a => Err(format!("the signature algorithm {a} is not allowed")),
    }
}

fn digest_hash(algorithm: &str) -> Result<Hash, String> {
    match algorithm {
        "http://www.w3.org/2001/04/xmlenc#sha256" => Ok(Hash::Sha256),
        "http://www.w3.org/2001/04/xmldsig-more#sha384" => Ok(Hash::Sha384),
        "http://www.w3.org/2001/04/xmlenc#sha512" => Ok(Hash::Sha512),
        a if a.ends_with("sha1") => Err(format!("SHA-1 digests are refused ({a})")),
        a => Err(format!("the digest algorithm {a} is not allowed")),
    }
}

fn digest(hash: Hash, bytes: &[u8]) -> Vec<u8> {
    match hash {
        Hash::Sha256 => Sha256::digest(bytes).to_vec(),
        Hash::Sha384 => Sha384::digest(bytes).to_vec(),
        Hash::Sha512 => Sha512::digest(bytes).to_vec(),
    }
}

fn rsa_verify(key: &PublicKey, hash: Hash, message: &[u8], sig: &[u8]) -> bool {
    let Ok(sig) = rsa::pkcs1v15::Signature::try_from(sig) else {
        return false;
    };
    match hash {
        Hash::Sha256 => {
            rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key.clone()).verify(message, &sig)
        }
        Hash::Sha384 => {
            rsa::pkcs1v15::VerifyingKey::<Sha384>::new(key.clone()).verify(message, &sig)
        }
        Hash::Sha512 => {
            rsa::pkcs1v15::VerifyingKey::<Sha512>::new(key.clone()).verify(message, &sig)
        }
    }
    .is_ok()
}

/// The element children of `node` named `name` in namespace `ns`.
pub fn children<'a, 'i>(node: Node<'a, 'i>, ns: &str, name: &str) -> Vec<Node<'a, 'i>> {
    node.children()
        .filter(|c| {
            c.is_element() && c.tag_name().name() == name && c.tag_name().namespace() == Some(ns)
        })
        .collect()
}

/// The one child `name` of `node`, or why not.
pub fn only<'a, 'i>(node: Node<'a, 'i>, ns: &str, name: &str) -> Result<Node<'a, 'i>, String> {
    match children(node, ns, name).as_slice() {
        [one] => Ok(*one),
        [] => Err(format!(
            "<{name}> is missing in <{}>",
            node.tag_name().name()
        )),
        _ => Err(format!(
            "<{name}> appears more than once in <{}>",
            node.tag_name().name()
        )),
    }
}

fn algorithm<'a>(node: Node<'a, '_>) -> &'a str {
    node.attribute("Algorithm").unwrap_or("")
}

/// Checks the signature that is a direct child of `signed` against `key`. `src` is the text
/// the document was parsed from (prefixes are read from it, as canonical form keeps them).
pub fn verify_enveloped(src: &str, signed: Node, key: &PublicKey) -> Result<(), String> {
    let signature = only(signed, DSIG, "Signature")?;
    let info = only(signature, DSIG, "SignedInfo")?;
    let c14n = only(info, DSIG, "CanonicalizationMethod")?;
    if algorithm(c14n) != EXC_C14N {
        return Err(format!(
            "the canonicalization {} is not allowed (only exclusive C14N)",
            algorithm(c14n)
        ));
    }
    let hash = signature_hash(algorithm(only(info, DSIG, "SignatureMethod")?))?;
    let reference = only(info, DSIG, "Reference")?;
    let id = signed.attribute("ID").unwrap_or("");
    if id.is_empty() || reference.attribute("URI") != Some(&format!("#{id}")) {
        return Err("the signature does not refer to the element that carries it".into());
    }
    let transforms = children(only(reference, DSIG, "Transforms")?, DSIG, "Transform");
    let names: Vec<&str> = transforms.iter().map(|t| algorithm(*t)).collect();
    if names != [ENVELOPED, EXC_C14N] {
        return Err(format!(
            "the transforms {names:?} are not allowed (only enveloped-signature, then exclusive C14N)"
        ));
    }
    let digest_alg = digest_hash(algorithm(only(reference, DSIG, "DigestMethod")?))?;
    let expected = decode(only(reference, DSIG, "DigestValue")?)?;
    let canonical = canonicalize(
        src,
        signed,
        Some(signature.id()),
        &prefix_list(transforms[1]),
    );
    if digest(digest_alg, canonical.as_bytes()) != expected {
        return Err("the digest of the signed element does not match: it was altered".into());
    }
    let value = decode(only(signature, DSIG, "SignatureValue")?)?;
    let signed_info = canonicalize(src, info, None, &prefix_list(c14n));
    if !rsa_verify(key, hash, signed_info.as_bytes(), &value) {
        return Err("the signature does not verify with the configured certificate".into());
    }
    Ok(())
}

fn decode(node: Node) -> Result<Vec<u8>, String> {
    let text: String = node
        .text()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD
        .decode(text)
        .map_err(|_| format!("<{}> is not base64", node.tag_name().name()))
}

/// The `PrefixList` of an `InclusiveNamespaces` under a canonicalization element.
fn prefix_list(c14n: Node) -> Vec<String> {
    c14n.children()
        .find(|c| c.is_element() && c.tag_name().name() == "InclusiveNamespaces")
        .and_then(|n| n.attribute("PrefixList"))
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

/// The prefix of a qualified name (`saml:Assertion` -> `saml`), empty without one.
fn prefix_of(qname: &str) -> String {
    qname
        .split_once(':')
        .map(|(p, _)| p.to_string())
        .unwrap_or_default()
}

/// An element's qualified name as written (canonical form keeps the document's prefixes).
fn element_qname<'s>(src: &'s str, node: Node) -> &'s str {
    let rest = &src[node.range().start + 1..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .unwrap_or(rest.len());
    &rest[..end]
}

/// Exclusive XML canonicalization (without comments) of the subtree at `apex`, leaving out
/// the subtree `skip` (the enveloped signature); `inclusive` prefixes are rendered as
/// inclusive canonicalization would.
pub fn canonicalize(src: &str, apex: Node, skip: Option<NodeId>, inclusive: &[String]) -> String {
    let mut out = String::new();
    write_node(src, apex, skip, inclusive, &BTreeMap::new(), &mut out);
    out
}

fn write_node(
    src: &str,
    node: Node,
    skip: Option<NodeId>,
    inclusive: &[String],
    rendered: &BTreeMap<String, String>,
    out: &mut String,
) {
    if Some(node.id()) == skip {
        return;
    }
    if node.is_text() {
        escape_text(node.text().unwrap_or(""), out);
        return;
    }
    if node.is_pi() {
        if let Some(pi) = node.pi() {
            out.push_str("<?");
            out.push_str(pi.target);
            if let Some(value) = pi.value {
                out.push(' ');
                out.push_str(value);
            }
            out.push_str("?>");
        }
        return;
    }
    if !node.is_element() {
        return;
    }
    let qname = element_qname(src, node);
    let mut used: Vec<String> = vec![prefix_of(qname)];
    let mut attrs: Vec<(String, String, String, String)> = Vec::new();
    for a in node.attributes() {
        let aq = &src[a.range_qname()];
        let prefix = prefix_of(aq);
        if !prefix.is_empty() && prefix != "xml" {
            used.push(prefix);
        }
        let ns = a.namespace().unwrap_or("").to_string();
        attrs.push((
            ns,
            a.name().to_string(),
            aq.to_string(),
            a.value().to_string(),
        ));
    }
    for p in inclusive {
        let p = if p == "#default" {
            String::new()
        } else {
            p.clone()
        };
        let bound = node.lookup_namespace_uri(if p.is_empty() { None } else { Some(&p) });
        if bound.is_some() {
            used.push(p);
        }
    }
    used.sort();
    used.dedup();
    let mut scope = rendered.clone();
    let mut decls: Vec<(String, String)> = Vec::new();
    for p in used {
        let uri = node
            .lookup_namespace_uri(if p.is_empty() { None } else { Some(&p) })
            .unwrap_or("");
        if uri == XML_NS {
            continue;
        }
        let before = scope.get(&p).map(String::as_str).unwrap_or("");
        // The default namespace is undeclared only where an output ancestor declared one.
        if before != uri {
            decls.push((p.clone(), uri.to_string()));
            scope.insert(p, uri.to_string());
        }
    }
    attrs.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    out.push('<');
    out.push_str(qname);
    for (p, uri) in decls {
        out.push_str(if p.is_empty() { " xmlns" } else { " xmlns:" });
        out.push_str(&p);
        out.push_str("=\"");
        escape_attr(&uri, out);
        out.push('"');
    }
    for (_, _, aq, value) in attrs {
        out.push(' ');
        out.push_str(&aq);
        out.push_str("=\"");
        escape_attr(&value, out);
        out.push('"');
    }
    out.push('>');
    for child in node.children() {
        write_node(src, child, skip, inclusive, &scope, out);
    }
    out.push_str("</");
    out.push_str(qname);
    out.push('>');
}

fn escape_text(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn escape_attr(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c14n(xml: &str, path: &[&str]) -> String {
        let doc = roxmltree::Document::parse(xml).unwrap();
        let mut node = doc.root_element();
        for name in path {
            node = node
                .children()
                .find(|c| c.tag_name().name() == *name)
                .unwrap();
        }
        canonicalize(xml, node, None, &[])
    }

    #[test]
    fn exclusive_canonical_form_keeps_prefixes_and_renders_only_used_namespaces() {
        let xml = r#"<a:Root xmlns:a="urn:a" xmlns:b="urn:b" xmlns="urn:d"><a:Child   z="1" b:y="2&amp;3" x='q"'>t &lt; &#xD;<b:E/></a:Child><Plain/></a:Root>"#;
        assert_eq!(
            c14n(xml, &["Child"]),
            r#"<a:Child xmlns:a="urn:a" xmlns:b="urn:b" x="q&quot;" z="1" b:y="2&amp;3">t &lt; &#xD;<b:E></b:E></a:Child>"#
        );
        assert_eq!(c14n(xml, &["Plain"]), r#"<Plain xmlns="urn:d"></Plain>"#);
        // Declared once by the apex, not again below it.
        assert_eq!(
            c14n(xml, &[]),
            r#"<a:Root xmlns:a="urn:a"><a:Child xmlns:b="urn:b" x="q&quot;" z="1" b:y="2&amp;3">t &lt; &#xD;<b:E></b:E></a:Child><Plain xmlns="urn:d"></Plain></a:Root>"#
        );
    }
}
