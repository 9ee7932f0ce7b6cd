//! An administrator's import (`sso_url_import_user`, then `get_user_usergroups`): the
//! provider's users with their groups, as `UserUserGroupRelation` items that
//! `/usergroup/import_users` takes.

use alloc::string::String;
use alloc::vec::Vec;
use serde::Serialize;

use super::{
    UrlRequest, callback_url, config_of, ensure_plan, idp_error, redeem, start, trusted_callback,
};
use crate::agent::Ctx;
use crate::directory::entities::{self, USER_GROUPS};
use crate::directory::users;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::json::required;
use crate::ports::{DirectoryUser, IdTokenVerifier, Ports};
use crate::sso::config;
use crate::sso::login::{self, Purpose};

pub async fn sso_url_import_user<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    ensure_plan(cx)?;
    let caller = cx.user()?;
    let body: UrlRequest = cx.body()?;
    let callback = trusted_callback(cx, &body.callback_url)?;
    let config = config::active_of_account(cx.store(), &caller.account_id)?
        .ok_or_else(|| ApiError::not_found("An active SSO configuration of this account"))?;
    let purpose = Purpose::Import { user_id: caller.id };
    let answer = start(cx, &config, callback, purpose).await?;
    Ok(Response::json(&answer))
}

/// The `user` of a `UserUserGroupRelation`, in `import_users`' own spelling.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
struct ImportUser {
    /// The user's id here, empty when it is not here yet.
    id: String,
    username: String,
    email: String,
    first_name: String,
    last_name: String,
    /// Who vouches for it: `import_users` creates it as a user of this provider.
    auth_provider: u32,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "SsoGroupRef"))]
struct GroupRef {
    /// The group's id here, empty when no group of that name is here yet.
    id: String,
    name: String,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", schemars(rename = "SsoUserUserGroupRelation"))]
pub(crate) struct Relation {
    user: ImportUser,
    user_groups: Vec<GroupRef>,
}

pub async fn get_user_usergroups<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    ensure_plan(cx)?;
    let caller = cx.user()?;
    let code = cx.req.query_param("authorizationCode").unwrap_or_default();
    let callback = cx.req.query_param("callbackUrl").unwrap_or_default();
    required("authorizationCode", &code)?;
    let callback = callback_url(required("callbackUrl", &callback)?)?;
    let pending = login::take_import(cx.store(), &caller.id, callback, cx.now_ms())?;
    let config = config_of(cx, &pending)?;
    let identity = redeem(cx, &config, &pending, &code).await?;
    let mut directory = match config.kind.flavor() {
        Some(_) => {
            let client = config.oidc_client(cx.ports().secrets())?;
            let doing = alloc::format!("{}'s directory could not be read", config.kind.label());
            cx.ports()
                .id_tokens()
                .oidc_directory(&client, &identity.access_token)
                .await
                .map_err(|e| idp_error(&doing, e))?
        }
        // SAML has no directory: the answer names the one user who signed in, with the
        // groups its attributes name.
        None => alloc::vec![DirectoryUser {
            id: identity.subject,
            username: identity.username,
            email: identity.email,
            given_name: identity.given_name,
            family_name: identity.family_name,
            groups: identity.groups,
        }],
    };
    directory.sort_by(|a, b| a.username.cmp(&b.username));
    let provider = config.kind.auth_provider();
    let relations = directory
        .into_iter()
        .map(|u| relation(cx, &caller.account_id, provider, u))
        .collect::<ApiResult<Vec<Relation>>>()?;
    Ok(Response::json(&relations))
}

fn relation<P: Ports>(
    cx: &Ctx<'_, P>,
    account_id: &str,
    auth_provider: u32,
    u: DirectoryUser,
) -> ApiResult<Relation> {
    let store = cx.store();
    let id = users::find_by_username(store, &u.username)?
        .filter(|here| here.account_id == account_id)
        .map(|here| here.id)
        .unwrap_or_default();
    let user_groups = u
        .groups
        .into_iter()
        .map(|name| {
            let id = entities::find_by_name(store, &USER_GROUPS, account_id, &name)?
                .map(|g| g.id)
                .unwrap_or_default();
            Ok(GroupRef { id, name })
        })
        .collect::<ApiResult<Vec<GroupRef>>>()?;
    Ok(Relation {
        user: ImportUser {
            id,
            username: u.username,
            email: u.email,
            first_name: u.given_name,
            last_name: u.family_name,
            auth_provider,
        },
        user_groups,
    })
}
