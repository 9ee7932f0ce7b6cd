//! The X.509 certificate a SAML identity provider signs with: PEM, or the bare base64 DER
//! that SAML metadata carries.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use click_core::ports::{CertificateInfo, IdpError};
use x509_cert::Certificate;
use x509_cert::der::{Decode, DecodePem};

const RSA: &str = "1.2.840.113549.1.1.1";

/// The certificate in `text`, which must hold an RSA public key (the signatures checked are
/// RSA's).
pub fn parse(text: &str) -> Result<Certificate, IdpError> {
    let text = text.trim();
    let cert = if text.starts_with("-----BEGIN") {
        Certificate::from_pem(text.as_bytes())
            .map_err(|e| IdpError::Invalid(format!("not a PEM certificate: {e}")))?
    } else {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let der = STANDARD
            .decode(compact)
            .map_err(|_| IdpError::Invalid("neither PEM nor base64 DER".into()))?;
        Certificate::from_der(&der)
            .map_err(|e| IdpError::Invalid(format!("not an X.509 certificate: {e}")))?
    };
    let algorithm = cert
        .tbs_certificate
        .subject_public_key_info
        .algorithm
        .oid
        .to_string();
    if algorithm != RSA {
        return Err(IdpError::Invalid(format!(
            "its key ({algorithm}) is not an RSA key"
        )));
    }
    Ok(cert)
}

pub fn check(text: &str) -> Result<CertificateInfo, IdpError> {
    let cert = parse(text)?;
    let tbs = &cert.tbs_certificate;
    Ok(CertificateInfo {
        subject: tbs.subject.to_string(),
        not_after_secs: tbs.validity.not_after.to_unix_duration().as_secs(),
    })
}
