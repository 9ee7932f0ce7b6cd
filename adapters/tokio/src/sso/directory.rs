//! Reading an identity provider's directory for an administrator's import, with the access
//! token of their sign-in: Okta's Users and Groups API (at the issuer's origin), or Microsoft
//! Graph for Entra ID. Every page is followed to its end, within bounds, and never to another
//! origin (the bearer token goes nowhere else).

use std::collections::HashMap;

use click_core::ports::{DirectoryUser, IdpError};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Pages read in one listing at most (100,000 users at Graph's 999 a page).
const MAX_PAGES: usize = 1000;

/// The scheme, host and port of a URL.
fn origin(url: &str) -> Option<&str> {
    let after_scheme = url.find("://")? + 3;
    let end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after_scheme + i);
    Some(&url[..end])
}

/// Reads every page of a listing, starting at `first`; `next` finds the next page's URL.
async fn pages<T: DeserializeOwned>(
    http: &reqwest::Client,
    token: &str,
    first: String,
    mut each: impl FnMut(T),
    next: impl Fn(&reqwest::header::HeaderMap, &T) -> Option<String>,
) -> Result<(), IdpError> {
    let home = origin(&first).map(str::to_string);
    let mut url = Some(first);
    for _ in 0..MAX_PAGES {
        let Some(current) = url.take() else {
            return Ok(());
        };
        if origin(&current).map(str::to_string) != home {
            return Err(IdpError::Unreachable(format!(
                "the directory sent the next page to another origin: {current}"
            )));
        }
        let response = http
            .get(&current)
            .bearer_auth(token)
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| IdpError::Unreachable(format!("{current}: {e}")))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| IdpError::Unreachable(format!("{current}: {e}")))?;
        if status == 401 || status == 403 {
            return Err(IdpError::Refused(format!(
                "the directory refused the administrator's token ({status}); the app needs \
                 permission to read users and groups"
            )));
        }
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body[..body.len().min(300)]).to_string();
            return Err(IdpError::Unreachable(format!(
                "{current} answered {status}: {text}"
            )));
        }
        let page: T = serde_json::from_slice(&body)
            .map_err(|e| IdpError::Unreachable(format!("{current}: unexpected answer: {e}")))?;
        url = next(&headers, &page);
        each(page);
    }
    Err(IdpError::Unreachable(format!(
        "the directory has more than {MAX_PAGES} pages"
    )))
}

// ------------------------------------------------------------------------------------ Okta

#[derive(Deserialize)]
struct OktaUser {
    id: String,
    #[serde(default)]
    profile: OktaProfile,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct OktaProfile {
    login: String,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    name: String,
}

#[derive(Deserialize)]
struct OktaGroup {
    id: String,
    #[serde(default)]
    profile: OktaProfile,
}

/// The `rel="next"` URL among Okta's `Link` headers.
fn okta_next<T>(headers: &reqwest::header::HeaderMap, _: &T) -> Option<String> {
    headers
        .get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find(|link| link.contains("rel=\"next\""))
        .and_then(|link| {
            let start = link.find('<')? + 1;
            let end = link.find('>')?;
            Some(link[start..end].to_string())
        })
}

/// Okta: users, groups, and each group's members.
pub async fn okta(
    http: &reqwest::Client,
    issuer: &str,
    token: &str,
) -> Result<Vec<DirectoryUser>, IdpError> {
    let base = origin(issuer)
        .ok_or_else(|| IdpError::Invalid(format!("'{issuer}' has no origin")))?
        .to_string();
    let mut users: Vec<DirectoryUser> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let first = format!("{base}/api/v1/users?limit=200");
    pages(
        http,
        token,
        first,
        |page: Vec<OktaUser>| {
            for u in page {
                index.insert(u.id.clone(), users.len());
                users.push(DirectoryUser {
                    id: u.id,
                    username: u.profile.login,
                    email: u.profile.email,
                    given_name: u.profile.first_name.unwrap_or_default(),
                    family_name: u.profile.last_name.unwrap_or_default(),
                    groups: Vec::new(),
                });
            }
        },
        okta_next,
    )
    .await?;
    let mut groups: Vec<OktaGroup> = Vec::new();
    let first = format!("{base}/api/v1/groups?limit=200");
    pages(
        http,
        token,
        first,
        |page: Vec<OktaGroup>| groups.extend(page),
        okta_next,
    )
    .await?;
    for group in groups {
        let first = format!("{base}/api/v1/groups/{}/users?limit=200", group.id);
        pages(
            http,
            token,
            first,
            |page: Vec<OktaUser>| {
                for member in page {
                    if let Some(&i) = index.get(&member.id) {
                        users[i].groups.push(group.profile.name.clone());
                    }
                }
            },
            okta_next,
        )
        .await?;
    }
    Ok(users)
}

// ------------------------------------------------------------------------ Microsoft Graph

#[derive(Deserialize)]
struct GraphPage<T> {
    value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphUser {
    id: String,
    #[serde(default)]
    user_principal_name: String,
    mail: Option<String>,
    given_name: Option<String>,
    surname: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphGroup {
    id: String,
    #[serde(default)]
    display_name: String,
}

#[derive(Deserialize)]
struct GraphMember {
    id: String,
    #[serde(rename = "@odata.type", default)]
    kind: String,
}

fn graph_next<T>(_: &reqwest::header::HeaderMap, page: &GraphPage<T>) -> Option<String> {
    page.next_link.clone()
}

/// Entra ID through Microsoft Graph: users, groups, and each group's members.
pub async fn graph(
    http: &reqwest::Client,
    graph_url: &str,
    token: &str,
) -> Result<Vec<DirectoryUser>, IdpError> {
    let base = graph_url.trim_end_matches('/');
    let mut users: Vec<DirectoryUser> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let first =
        format!("{base}/v1.0/users?$select=id,userPrincipalName,mail,givenName,surname&$top=999");
    pages(
        http,
        token,
        first,
        |page: GraphPage<GraphUser>| {
            for u in page.value {
                index.insert(u.id.clone(), users.len());
                users.push(DirectoryUser {
                    id: u.id,
                    username: u.user_principal_name,
                    email: u.mail.unwrap_or_default(),
                    given_name: u.given_name.unwrap_or_default(),
                    family_name: u.surname.unwrap_or_default(),
                    groups: Vec::new(),
                });
            }
        },
        graph_next,
    )
    .await?;
    let mut groups: Vec<GraphGroup> = Vec::new();
    let first = format!("{base}/v1.0/groups?$select=id,displayName&$top=999");
    pages(
        http,
        token,
        first,
        |page: GraphPage<GraphGroup>| groups.extend(page.value),
        graph_next,
    )
    .await?;
    for group in groups {
        let first = format!(
            "{base}/v1.0/groups/{}/members?$select=id&$top=999",
            group.id
        );
        pages(
            http,
            token,
            first,
            |page: GraphPage<GraphMember>| {
                // Members may be devices or nested groups; only users are imported.
                let people = page
                    .value
                    .into_iter()
                    .filter(|m| m.kind.is_empty() || m.kind == "#microsoft.graph.user");
                for member in people {
                    if let Some(&i) = index.get(&member.id) {
                        users[i].groups.push(group.display_name.clone());
                    }
                }
            },
            graph_next,
        )
        .await?;
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_okta_links() {
        assert_eq!(
            origin("https://a.okta.com/oauth2/default"),
            Some("https://a.okta.com")
        );
        assert_eq!(origin("http://127.0.0.1:9/x?y"), Some("http://127.0.0.1:9"));
        assert_eq!(origin("http://h"), Some("http://h"));
        let mut headers = reqwest::header::HeaderMap::new();
        headers.append(
            "link",
            "<https://a/api/v1/users?limit=2>; rel=\"self\""
                .parse()
                .unwrap(),
        );
        headers.append(
            "link",
            "<https://a/api/v1/users?after=00u2&limit=2>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            okta_next(&headers, &()).as_deref(),
            Some("https://a/api/v1/users?after=00u2&limit=2")
        );
    }
}
