//! Reading request bodies: either casing on input, and errors that name the field.

use alloc::format;
use alloc::string::String;
use serde::Deserialize as _;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Parses a JSON body into `T` (whose fields are camelCase). Keys written in PascalCase are
/// accepted too, as the .NET agent does. Malformed JSON, bad UTF-8 and wrong types give a 499
/// that names the field.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid("A JSON request body is required."));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("The request body is not valid JSON: {e}.")))?;
    from_value(camel_case_keys(value))
}

fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = format!("{}", e.path());
        let inner = e.into_inner();
        if path == "." {
            ApiError::invalid(format!("Invalid request body: {inner}."))
        } else {
            ApiError::invalid(format!("Invalid value for '{path}': {inner}."))
        }
    })
}

fn camel_case_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = lower_first(&k);
                // An exact camelCase key wins over its PascalCase twin.
                if k == key || !out.contains_key(&key) {
                    out.insert(key, camel_case_keys(v));
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(camel_case_keys).collect()),
        other => other,
    }
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_uppercase() => {
            let mut out = String::with_capacity(s.len());
            out.push(c.to_ascii_lowercase());
            out.push_str(chars.as_str());
            out
        }
        _ => String::from(s),
    }
}

/// An absolute http:// or https:// URL of at most 2048 characters, trimmed (a browser is sent
/// there, so nothing else is taken).
#[cfg(any(feature = "cloud", feature = "sso"))]
pub fn absolute_url<'a>(field: &str, value: &'a str) -> Result<&'a str, ApiError> {
    let url = required(field, value)?;
    max_len(field, url, 2048)?;
    let scheme_ok = ["http://", "https://"].iter().any(|s| {
        url.len() > s.len()
            && url
                .get(..s.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(s))
    });
    if !scheme_ok || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ApiError::invalid(format!(
            "'{field}' must be an absolute http:// or https:// URL."
        )));
    }
    Ok(url)
}

/// For `#[serde(default, deserialize_with = "null_as_default")]`: clients that serialize every
/// field send `null` for the ones they leave empty.
#[cfg_attr(not(feature = "cloud"), allow(dead_code))]
pub fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Checks a documented maximum length (counted in characters, as .NET counts them loosely).
pub fn max_len(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.chars().count() > max {
        return Err(ApiError::invalid(format!(
            "'{field}' must be at most {max} characters long."
        )));
    }
    Ok(())
}

pub fn required<'a>(field: &str, value: &'a str) -> Result<&'a str, ApiError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ApiError::invalid(format!("'{field}' is required.")));
    }
    Ok(v)
}

/// Checks an email address (at most 50 characters, as the docs' accounts allow): one `@`,
/// something before it, a dotted domain after it, no spaces. Answers 499 `INVALID_EMAIL`.
pub fn email(value: &str) -> Result<String, ApiError> {
    let email = required("email", value)?;
    max_len("email", email, 50)?;
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    };
    if !valid {
        return Err(ApiError::new(
            crate::error::ErrorCode::InvalidEmail,
            "'email' is not a valid email address.",
        ));
    }
    Ok(String::from(email))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[derive(serde::Deserialize, Debug, Default)]
    #[serde(rename_all = "camelCase")]
    struct Login {
        user_name: String,
        #[serde(default)]
        r#type: u32,
    }

    fn message(e: ApiError) -> String {
        match e {
            ApiError::Validation { code, message } => {
                assert_eq!(code, ErrorCode::Default);
                message.into_owned()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn accepts_pascal_case_keys() {
        let l: Login = parse(br#"{"UserName":"a","Type":16}"#).unwrap();
        assert_eq!((l.user_name.as_str(), l.r#type), ("a", 16));
    }

    #[test]
    fn errors_name_the_field() {
        let m = message(parse::<Login>(br#"{"userName":"a","type":"x"}"#).unwrap_err());
        assert!(m.contains("'type'"), "{m}");
        let m = message(parse::<Login>(br#"{"type":1}"#).unwrap_err());
        assert!(m.contains("userName"), "{m}");
        let m = message(parse::<Login>(b"{\"userName\":\"\xff\"}").unwrap_err());
        assert!(m.contains("not valid JSON"), "{m}");
        let m = message(parse::<Login>(br#"{"userName":"a","type":99999999999}"#).unwrap_err());
        assert!(m.contains("'type'"), "{m}");
    }
}
