//! AWS Signature Version 4 for the S3 family: header-signed requests and presigned URLs.
//! Written here (not taken from `object_store`) because S3 keys may hold anything, folder
//! markers end with `/`, and bucket-level calls (ListBuckets, GetBucketLocation) have no
//! object path at all; `object_store`'s signer takes only its normalised object paths.

use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};

/// Everything but the unreserved characters of RFC 3986, as SigV4 requires.
pub const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// [`STRICT`], keeping `/` between the segments of a key.
pub const PATH: &AsciiSet = &STRICT.remove(b'/');

pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
pub const EMPTY_PAYLOAD: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

pub struct Credentials<'a> {
    pub access_key: &'a str,
    pub secret_key: &'a str,
    pub region: &'a str,
}

/// A request to sign: `path` is already percent-encoded with [`PATH`]; `query` holds decoded
/// pairs.
pub struct Request<'a> {
    pub method: &'a str,
    pub host: &'a str,
    pub path: &'a str,
    pub query: &'a [(&'a str, &'a str)],
    /// Extra headers to sign, lower-case names.
    pub headers: &'a [(&'a str, &'a str)],
}

pub fn encode(s: &str, set: &'static AsciiSet) -> String {
    utf8_percent_encode(s, set).to_string()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// `(20130524T000000Z, 20130524)` for a Unix time in seconds.
pub fn timestamps(unix_secs: u64) -> (String, String) {
    let iso = click_core::time::iso8601(unix_secs * 1000);
    let compact: String = iso.chars().filter(|c| *c != '-' && *c != ':').collect();
    let date = compact[..8].to_string();
    (compact, date)
}

fn canonical_query(pairs: &[(&str, &str)]) -> String {
    let mut encoded: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (encode(k, STRICT), encode(v, STRICT)))
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

struct Signed {
    signed_headers: String,
    signature: String,
}

fn sign(
    creds: &Credentials<'_>,
    req: &Request<'_>,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    payload: &str,
    amz_date: &str,
    date: &str,
) -> Signed {
    let mut hs: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    hs.sort();
    let canonical_headers: String = hs.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = hs
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_request = format!(
        "{}\n{}\n{}\n{canonical_headers}\n{signed_headers}\n{payload}",
        req.method,
        req.path,
        canonical_query(query),
    );
    let scope = format!("{date}/{}/s3/aws4_request", creds.region);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let mut key = hmac(format!("AWS4{}", creds.secret_key).as_bytes(), date);
    for part in [creds.region, "s3", "aws4_request"] {
        key = hmac(&key, part);
    }
    Signed {
        signed_headers,
        signature: hex(&hmac(&key, &to_sign)),
    }
}

/// The headers to send with `req` (host excluded: the HTTP client sets it): `x-amz-date`,
/// `x-amz-content-sha256` and `authorization`.
pub fn authorize(
    creds: &Credentials<'_>,
    req: &Request<'_>,
    payload_sha256: &str,
    unix_secs: u64,
) -> Vec<(&'static str, String)> {
    let (amz_date, date) = timestamps(unix_secs);
    let mut headers: Vec<(&str, &str)> = vec![
        ("host", req.host),
        ("x-amz-date", &amz_date),
        ("x-amz-content-sha256", payload_sha256),
    ];
    headers.extend_from_slice(req.headers);
    let s = sign(
        creds,
        req,
        req.query,
        &headers,
        payload_sha256,
        &amz_date,
        &date,
    );
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/{date}/{}/s3/aws4_request, SignedHeaders={}, Signature={}",
        creds.access_key, creds.region, s.signed_headers, s.signature
    );
    vec![
        ("x-amz-date", amz_date.clone()),
        ("x-amz-content-sha256", payload_sha256.to_string()),
        ("authorization", authorization),
    ]
}

/// The query string of a presigned URL for `req` (its own query included), valid for
/// `expires_secs` from `unix_secs`.
pub fn presign_query(
    creds: &Credentials<'_>,
    req: &Request<'_>,
    expires_secs: u64,
    unix_secs: u64,
) -> String {
    let (amz_date, date) = timestamps(unix_secs);
    let credential = format!(
        "{}/{date}/{}/s3/aws4_request",
        creds.access_key, creds.region
    );
    let mut headers: Vec<(&str, &str)> = vec![("host", req.host)];
    headers.extend_from_slice(req.headers);
    let mut names: Vec<String> = headers
        .iter()
        .map(|(k, _)| k.to_ascii_lowercase())
        .collect();
    names.sort();
    let signed_names = names.join(";");
    let expires = expires_secs.to_string();
    let mut query: Vec<(&str, &str)> = req.query.to_vec();
    query.extend_from_slice(&[
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
        ("X-Amz-Credential", &credential),
        ("X-Amz-Date", &amz_date),
        ("X-Amz-Expires", &expires),
        ("X-Amz-SignedHeaders", &signed_names),
    ]);
    let s = sign(
        creds,
        req,
        &query,
        &headers,
        UNSIGNED_PAYLOAD,
        &amz_date,
        &date,
    );
    format!(
        "{}&X-Amz-Signature={}",
        canonical_query(&query),
        s.signature
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // The examples of AWS's "Authenticating Requests: Using Query Parameters" and "Using the
    // Authorization Header" pages (bucket examplebucket, 2013-05-24).
    const CREDS: Credentials<'static> = Credentials {
        access_key: "AKIAIOSFODNN7EXAMPLE",
        secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        region: "us-east-1",
    };
    const MAY_24_2013: u64 = 1_369_353_600;

    #[test]
    fn presigned_url_matches_the_aws_example() {
        let req = Request {
            method: "GET",
            host: "examplebucket.s3.amazonaws.com",
            path: "/test.txt",
            query: &[],
            headers: &[],
        };
        let q = presign_query(&CREDS, &req, 86400, MAY_24_2013);
        assert!(
            q.contains(
                "X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            ),
            "{q}"
        );
        assert!(
            q.ends_with(
                "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
            ),
            "{q}"
        );
    }

    #[test]
    fn header_signature_matches_the_aws_example() {
        let req = Request {
            method: "GET",
            host: "examplebucket.s3.amazonaws.com",
            path: "/test.txt",
            query: &[],
            headers: &[("range", "bytes=0-9")],
        };
        let headers = authorize(&CREDS, &req, EMPTY_PAYLOAD, MAY_24_2013);
        let auth = &headers
            .iter()
            .find(|(k, _)| *k == "authorization")
            .unwrap()
            .1;
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn keys_are_encoded_strictly() {
        assert_eq!(encode("a b/c+d~e", PATH), "a%20b/c%2Bd~e");
        assert_eq!(encode("a/b", STRICT), "a%2Fb");
    }
}
