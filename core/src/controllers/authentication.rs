//! Authentication: sign-up, login, MFA, Google, profile, passwords (`authentication.md`).

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::String;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::agent::{Agent, Ctx};
use crate::auth::{request_token, throttle, totp};
use crate::directory::users;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::Response;
use crate::json::{max_len, required};
use crate::model::tables::{
    ACCOUNTS, CREDENTIALS, GOOGLE_IDS, MFA_CHALLENGES, RESET_TOKENS, SIGNUP_CODES, USERS,
};
use crate::model::{Account, Credentials, User, UserStatus, UserType, auth_provider, subscription};
use crate::ports::{Mail, MailPurpose, Mailer, PasswordHasher, Ports, RngExt, Store, hex};
use crate::store::Batch;
use crate::store::table::{CounterDeltas, commit, decode_row, save};

const BAD_CREDENTIALS: &str = "The username or password is incorrect.";
const NAME_MAX: usize = 50;

// ---------------------------------------------------------------- wire shapes

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginRequest {
    username: String,
    password: String,
    #[serde(default, rename = "type")]
    user_type: Option<u32>,
}

/// `challenge`: 0 None, 1 TOTP, 2 SMS.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LoginResponse {
    jwt_token: String,
    challenge: u8,
    session: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MfaRespondRequest {
    user_code: String,
    session: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogoutRequest {
    jwt_token: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsernameRequest {
    username: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignupRequest {
    name: String,
    email: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfirmSignupRequest {
    email: String,
    token: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EmailRequest {
    email: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GoogleRequest {
    id_token: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateUserRequest {
    account_name: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateSubscriptionRequest {
    subscription_type: u32,
}

/// Either the documented authenticated form, or the reset-token extension (DESIGN.md).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResetPasswordRequest {
    password: String,
    current_password: Option<String>,
    reset_token: Option<String>,
}

/// The profile of `GET /authentication/user`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Profile<'a> {
    account_name: &'a str,
    account_id: &'a str,
    user_id: &'a str,
    first_name: &'a str,
    last_name: &'a str,
    username: &'a str,
    user_type: u32,
    jwt_token: &'a str,
    owner: bool,
    migration: bool,
    subscription_type: u32,
    mfa: bool,
    auth_provider: u32,
}

// ---------------------------------------------------------------- stored rows

#[derive(Serialize, Deserialize)]
struct PendingSignup {
    user_id: String,
    code: String,
    expires_ms: u64,
    attempts: u32,
}

#[derive(Serialize, Deserialize)]
struct MfaChallenge {
    user_id: String,
    expires_ms: u64,
    attempts: u32,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct ResetToken {
    pub user_id: String,
    pub purpose: String,
    pub expires_ms: u64,
}

// ---------------------------------------------------------------- helpers

fn find_user<P: Ports>(agent: &Agent<P>, username: &str) -> ApiResult<Option<User>> {
    users::find_by_username(agent.ports.store(), username)
}

pub(crate) fn validate_email(email: &str) -> ApiResult<String> {
    let email = required("email", email)?;
    max_len("email", email, NAME_MAX)?;
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
            ErrorCode::InvalidEmail,
            "'email' is not a valid email address.",
        ));
    }
    Ok(String::from(email))
}

fn validate_password<P: Ports>(cx: &Ctx<'_, P>, password: &str) -> ApiResult<()> {
    let min = cx.config().min_password_len;
    if password.chars().count() < min {
        return Err(ApiError::invalid(format!(
            "'password' must be at least {min} characters long."
        )));
    }
    max_len("password", password, 256)
}

fn split_name(name: &str) -> (String, String) {
    match name.trim().split_once(' ') {
        Some((first, last)) => (String::from(first), String::from(last.trim())),
        None => (String::from(name.trim()), String::new()),
    }
}

fn sha256_hex(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

pub(crate) fn send_mail<P: Ports>(
    cx: &Ctx<'_, P>,
    to: &str,
    purpose: MailPurpose,
    subject: &str,
    body: String,
    token: &str,
) {
    // A mail failure must not undo the account change; the user can ask for the mail again.
    let _ = cx.ports().mailer().send(Mail {
        to: String::from(to),
        subject: String::from(subject),
        body,
        purpose,
        token: String::from(token),
    });
}

fn signup_mail<P: Ports>(cx: &Ctx<'_, P>, email: &str, code: &str) {
    let body = format!("Welcome to click.\r\n\r\nYour confirmation code is {code}.\r\n");
    send_mail(
        cx,
        email,
        MailPurpose::SignupConfirmation,
        "Confirm your click account",
        body,
        code,
    );
}

/// Creates an emailed single-use token (password reset or activation) in `batch`.
pub(crate) fn issue_reset_token<P: Ports>(
    cx: &Ctx<'_, P>,
    batch: &mut Batch,
    user: &User,
    purpose: MailPurpose,
) -> String {
    let token = cx.ports().rng().token(32);
    let ttl = match purpose {
        MailPurpose::UserActivation => cx.config().activation_token_ttl_secs,
        _ => cx.config().reset_token_ttl_secs,
    };
    let row = ResetToken {
        user_id: user.id.clone(),
        purpose: String::from(purpose.as_str()),
        expires_ms: cx.now_ms() + ttl * 1000,
    };
    RESET_TOKENS.put(batch, &sha256_hex(&token), &row);
    token
}

/// The caller's profile; `jwtToken` echoes the token the request carried.
fn profile_response<P: Ports>(cx: &Ctx<'_, P>, user_id: &str) -> ApiResult<Response> {
    // Every authenticated client polls this: read the rows in place instead of copying them.
    #[derive(Deserialize)]
    struct UserRow<'a> {
        #[serde(borrow)]
        account_id: Cow<'a, str>,
        #[serde(borrow)]
        firstname: Cow<'a, str>,
        #[serde(borrow)]
        lastname: Cow<'a, str>,
        #[serde(borrow)]
        username: Cow<'a, str>,
        user_type: u32,
        owner: bool,
        mfa: bool,
        auth_provider: u32,
    }
    #[derive(Deserialize)]
    struct AccountRow<'a> {
        #[serde(borrow)]
        name: Cow<'a, str>,
        subscription_type: u32,
    }
    let store = cx.store();
    let user_bytes = store
        .get(&USERS.key(user_id))?
        .ok_or(ApiError::Unauthorized(
            "The user of this token no longer exists.",
        ))?;
    let user: UserRow<'_> = decode_row(user_bytes.as_ref())?;
    let account_bytes = store
        .get(&ACCOUNTS.key(&user.account_id))?
        .ok_or(ApiError::Internal)?;
    let account: AccountRow<'_> = decode_row(account_bytes.as_ref())?;
    let token = request_token(cx.req).unwrap_or_default();
    Ok(Response::json(&Profile {
        account_name: &account.name,
        account_id: &user.account_id,
        user_id,
        first_name: &user.firstname,
        last_name: &user.lastname,
        username: &user.username,
        user_type: user.user_type,
        jwt_token: &token,
        owner: user.owner,
        migration: false,
        subscription_type: account.subscription_type,
        mfa: user.mfa,
        auth_provider: user.auth_provider,
    }))
}

/// Opens a session for a user who proved who they are, in one transaction with `batch`.
fn finish_login<P: Ports>(cx: &Ctx<'_, P>, mut batch: Batch, user: &User) -> ApiResult<String> {
    cx.agent.revoke_expired_sessions(&mut batch, &user.id)?;
    let token = cx.agent.open_session(&mut batch, user);
    commit(
        cx.store(),
        &batch,
        (ErrorCode::Session, "The login session is no longer valid."),
    )?;
    Ok(token)
}

fn ensure_active(user: &User) -> ApiResult<()> {
    match user.status {
        UserStatus::ACTIVE => Ok(()),
        UserStatus::PENDING => Err(ApiError::new(
            ErrorCode::InactiveUser,
            "This account is not confirmed yet: confirm it with the code sent by email.",
        )),
        _ => Err(ApiError::new(
            ErrorCode::InactiveUser,
            "This account is inactive.",
        )),
    }
}

/// A new account whose user is its owner and a `DesktopAdmin`.
fn new_owner<P: Ports>(
    cx: &Ctx<'_, P>,
    account_name: &str,
    email: &str,
    first: String,
    last: String,
) -> (Account, User) {
    let rng = cx.ports().rng();
    let now = cx.now_ms();
    let user_id = rng.uuid();
    let account = Account {
        id: rng.uuid(),
        name: String::from(account_name),
        owner_id: user_id.clone(),
        subscription_type: subscription::MONTHLY,
        create_date_ms: now,
    };
    let user = User {
        id: user_id,
        account_id: account.id.clone(),
        firstname: first,
        lastname: last,
        username: String::from(email),
        email: String::from(email),
        user_type: UserType::DESKTOP_ADMIN,
        status: UserStatus::PENDING,
        owner: true,
        auth_provider: auth_provider::AWS_COGNITO,
        create_date_ms: now,
        mfa: false,
    };
    (account, user)
}

fn insert_owner(batch: &mut Batch, account: &Account, user: &User) {
    ACCOUNTS.put(batch, &account.id, account);
    let mut deltas = CounterDeltas::default();
    users::insert(batch, &mut deltas, user);
    deltas.apply(batch);
}

const EMAIL_TAKEN: (ErrorCode, &str) = (
    ErrorCode::Duplicate,
    "An account with this email already exists.",
);

// ---------------------------------------------------------------- handlers

pub async fn login<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let body: LoginRequest = cx.body()?;
    if let Some(t) = body.user_type.filter(|&t| t != 0 && !UserType::is_valid(t)) {
        return Err(ApiError::invalid(format!("'type' {t} is not a UserType.")));
    }
    let user = find_user(cx.agent, &body.username)?;
    let hasher = cx.ports().hasher();
    let Some(user) = user else {
        // Same work as a real check, so timing does not tell which usernames exist.
        hasher.verify(&body.password, DUMMY_HASH);
        return Err(ApiError::Unauthorized(BAD_CREDENTIALS));
    };
    throttle::check(cx.store(), cx.config(), &user.id, cx.now_ms())?;
    let password_ok = match Credentials::load(cx.store(), &user.id)?.password_hash {
        Some(h) => hasher.verify(&body.password, &h),
        None => false,
    };
    if !password_ok {
        throttle::record_failure(cx.store(), &user.id, cx.now_ms())?;
        return Err(ApiError::Unauthorized(BAD_CREDENTIALS));
    }
    if body
        .user_type
        .is_some_and(|t| t != 0 && t != user.user_type)
    {
        return Err(ApiError::Unauthorized(
            "The user is not of the requested type.",
        ));
    }
    ensure_active(&user)?;
    let mut batch = Batch::new();
    throttle::clear(&mut batch, &user.id);
    if user.mfa {
        let session = cx.ports().rng().token(32);
        let challenge = MfaChallenge {
            user_id: user.id.clone(),
            expires_ms: cx.now_ms() + cx.config().mfa_session_ttl_secs * 1000,
            attempts: 0,
        };
        MFA_CHALLENGES.put(&mut batch, &session, &challenge);
        save(cx.store(), &batch)?;
        return Ok(Response::json(&LoginResponse {
            jwt_token: String::new(),
            challenge: 1,
            session,
        }));
    }
    let token = finish_login(cx, batch, &user)?;
    Ok(Response::json(&LoginResponse {
        jwt_token: token,
        challenge: 0,
        session: String::new(),
    }))
}

/// An argon2id hash of a random password, verified against when the username is unknown.
/// Hosts whose hasher is not argon2 simply fail to verify it, which is what is wanted.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$7kF6zHkzsKmyCQF9N8BFHsNJNQmX6V29d1rSU8uKlIo";

pub async fn mfa_respond<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let body: MfaRespondRequest = cx.body()?;
    const STALE: &str = "The MFA session is invalid or has expired; log in again.";
    let store = cx.store();
    let challenge: MfaChallenge = MFA_CHALLENGES
        .get(store, &body.session)?
        .filter(|c: &MfaChallenge| c.expires_ms > cx.now_ms())
        .ok_or(ApiError::new(ErrorCode::Session, STALE))?;
    let user: User = USERS
        .get(store, &challenge.user_id)?
        .ok_or(ApiError::new(ErrorCode::Session, STALE))?;
    let mut credentials = Credentials::load(store, &user.id)?;
    let secret = credentials
        .mfa_secret
        .as_deref()
        .and_then(totp::base32_decode)
        .unwrap_or_default();
    let step = totp::verify(
        &secret,
        &body.user_code,
        cx.now_ms() / 1000,
        credentials.mfa_last_step,
    );
    let mut batch = Batch::new();
    // Consuming the challenge in the same transaction makes it single-use under races.
    batch.require_present(MFA_CHALLENGES.key(&body.session));
    let Some(step) = step else {
        let attempts = challenge.attempts + 1;
        if attempts >= cx.config().mfa_max_attempts {
            MFA_CHALLENGES.delete(&mut batch, &body.session);
        } else {
            MFA_CHALLENGES.put(
                &mut batch,
                &body.session,
                &MfaChallenge {
                    attempts,
                    ..challenge
                },
            );
        }
        commit(store, &batch, (ErrorCode::Session, STALE))?;
        return Err(ApiError::new(
            ErrorCode::Totp,
            "The MFA code is wrong or has expired.",
        ));
    };
    MFA_CHALLENGES.delete(&mut batch, &body.session);
    credentials.mfa_last_step = step;
    CREDENTIALS.put(&mut batch, &user.id, &credentials);
    let token = finish_login(cx, batch, &user)?;
    Ok(Response::json(&LoginResponse {
        jwt_token: token,
        challenge: 0,
        session: String::new(),
    }))
}

pub async fn logout<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let body: LogoutRequest = cx.body()?;
    cx.agent.revoke_token(body.jwt_token.trim())?;
    Ok(Response::ok())
}

pub async fn forgot_password<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let body: UsernameRequest = cx.body()?;
    // The answer is the same whether or not the username matched (no account enumeration).
    if let Some(user) = find_user(cx.agent, &body.username)?
        && user.status == UserStatus::ACTIVE
        && Credentials::load(cx.store(), &user.id)?
            .password_hash
            .is_some()
    {
        let mut batch = Batch::new();
        let token = issue_reset_token(cx, &mut batch, &user, MailPurpose::PasswordReset);
        save(cx.store(), &batch)?;
        let body = format!(
            "A password reset was asked for your click account.\r\n\r\nReset token: {token}\r\n\r\nIt expires in {} minutes. If you did not ask for it, ignore this message.\r\n",
            cx.config().reset_token_ttl_secs / 60
        );
        send_mail(
            cx,
            &user.email,
            MailPurpose::PasswordReset,
            "Reset your click password",
            body,
            &token,
        );
    }
    Ok(Response::ok())
}

pub async fn signup<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let body: SignupRequest = cx.body()?;
    let name = required("name", &body.name)?;
    max_len("name", name, NAME_MAX)?;
    let email = validate_email(&body.email)?;
    validate_password(cx, &body.password)?;
    let (first, last) = split_name(name);
    let (account, user) = new_owner(cx, name, &email, first, last);
    let credentials = Credentials {
        password_hash: Some(cx.ports().hasher().hash(&body.password)),
        ..Credentials::default()
    };
    let code = cx.ports().rng().digits(4);
    let pending = PendingSignup {
        user_id: user.id.clone(),
        code: code.clone(),
        expires_ms: cx.now_ms() + cx.config().signup_code_ttl_secs * 1000,
        attempts: 0,
    };
    let mut batch = Batch::new();
    insert_owner(&mut batch, &account, &user);
    CREDENTIALS.put(&mut batch, &user.id, &credentials);
    SIGNUP_CODES.put(&mut batch, &users::username_key(&email), &pending);
    commit(cx.store(), &batch, EMAIL_TAKEN)?;
    signup_mail(cx, &email, &code);
    Ok(Response::ok())
}

pub async fn confirm_signup<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let body: ConfirmSignupRequest = cx.body()?;
    const WRONG: &str = "The confirmation code is wrong or has expired.";
    let key = users::username_key(&body.email);
    let store = cx.store();
    let pending: PendingSignup = SIGNUP_CODES
        .get(store, &key)?
        .filter(|p: &PendingSignup| p.expires_ms > cx.now_ms())
        .ok_or(ApiError::new(ErrorCode::Token, WRONG))?;
    let mut batch = Batch::new();
    batch.require_present(SIGNUP_CODES.key(&key));
    if body.token.trim() != pending.code {
        let attempts = pending.attempts + 1;
        if attempts >= cx.config().signup_code_max_attempts {
            // Four digits must not be guessable: too many misses void the code.
            SIGNUP_CODES.delete(&mut batch, &key);
        } else {
            SIGNUP_CODES.put(
                &mut batch,
                &key,
                &PendingSignup {
                    attempts,
                    ..pending
                },
            );
        }
        commit(store, &batch, (ErrorCode::Token, WRONG))?;
        return Err(ApiError::new(ErrorCode::Token, WRONG));
    }
    let mut user: User = USERS
        .get(store, &pending.user_id)?
        .ok_or(ApiError::new(ErrorCode::Token, WRONG))?;
    user.status = UserStatus::ACTIVE;
    SIGNUP_CODES.delete(&mut batch, &key);
    USERS.put(&mut batch, &user.id, &user);
    commit(store, &batch, (ErrorCode::Token, WRONG))?;
    Ok(Response::json(&true))
}

pub async fn resend_confirmation_email<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let body: EmailRequest = cx.body()?;
    let key = users::username_key(&body.email);
    if let Some(user) = find_user(cx.agent, &body.email)?
        && user.status == UserStatus::PENDING
        && user.owner
    {
        let code = cx.ports().rng().digits(4);
        let pending = PendingSignup {
            user_id: user.id.clone(),
            code: code.clone(),
            expires_ms: cx.now_ms() + cx.config().signup_code_ttl_secs * 1000,
            attempts: 0,
        };
        let mut batch = Batch::new();
        SIGNUP_CODES.put(&mut batch, &key, &pending);
        save(cx.store(), &batch)?;
        signup_mail(cx, &user.email, &code);
    }
    Ok(Response::ok())
}

fn verify_google<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<crate::ports::IdentityClaims> {
    use crate::ports::IdTokenVerifier;
    let body: GoogleRequest = cx.body()?;
    cx.ports()
        .id_tokens()
        .verify_google(body.id_token.trim())
        .map_err(ApiError::Unauthorized)
}

pub async fn google_signup<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let id = verify_google(cx)?;
    if !id.email_verified {
        return Err(ApiError::new(
            ErrorCode::InvalidEmail,
            "Google has not verified this email address.",
        ));
    }
    let email = validate_email(&id.email)?;
    let (account, mut user) = new_owner(
        cx,
        &email,
        &email,
        id.given_name.clone(),
        id.family_name.clone(),
    );
    user.status = UserStatus::ACTIVE;
    user.auth_provider = auth_provider::GOOGLE;
    let mut batch = Batch::new();
    insert_owner(&mut batch, &account, &user);
    batch.require_absent(GOOGLE_IDS.key(&id.subject));
    GOOGLE_IDS.put_str(&mut batch, &id.subject, &user.id);
    let token = finish_login(cx, batch, &user).map_err(|e| match e {
        ApiError::Validation {
            code: ErrorCode::Session,
            ..
        } => ApiError::new(EMAIL_TAKEN.0, EMAIL_TAKEN.1),
        other => other,
    })?;
    Ok(Response::json(&token))
}

pub async fn google_login<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let id = verify_google(cx)?;
    let store = cx.store();
    let user: Option<User> = match GOOGLE_IDS.get_str(store, &id.subject)? {
        Some(user_id) => USERS.get(store, &user_id)?,
        None => None,
    };
    let user = user.ok_or(ApiError::Unauthorized(
        "No account is linked to this Google identity; sign up first.",
    ))?;
    ensure_active(&user)?;
    let token = finish_login(cx, Batch::new(), &user)?;
    Ok(Response::json(&token))
}

pub async fn get_user<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    profile_response(cx, &cx.caller()?.user_id)
}

pub async fn update_user<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.caller()?;
    let body: UpdateUserRequest = cx.body()?;
    let mut user = cx.agent.caller_user(caller)?;
    let mut batch = Batch::new();
    if let Some(first) = &body.first_name {
        max_len("firstName", first, NAME_MAX)?;
        user.firstname = String::from(first.trim());
    }
    if let Some(last) = &body.last_name {
        max_len("lastName", last, NAME_MAX)?;
        user.lastname = String::from(last.trim());
    }
    if let Some(name) = &body.account_name {
        let name = required("accountName", name)?;
        max_len("accountName", name, NAME_MAX)?;
        let mut account: Account = ACCOUNTS
            .get(cx.store(), &user.account_id)?
            .ok_or(ApiError::Internal)?;
        if account.name != name {
            if !user.owner {
                return Err(ApiError::access(
                    "Only the account owner can rename the account.",
                ));
            }
            account.name = String::from(name);
            ACCOUNTS.put(&mut batch, &account.id, &account);
        }
    }
    USERS.put(&mut batch, &user.id, &user);
    save(cx.store(), &batch)?;
    profile_response(cx, &user.id)
}

pub async fn update_subscription<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let caller = cx.caller()?;
    let body: UpdateSubscriptionRequest = cx.body()?;
    if !matches!(
        body.subscription_type,
        subscription::MONTHLY | subscription::YEARLY
    ) {
        return Err(ApiError::invalid(
            "'subscriptionType' must be Monthly (1) or Yearly (2).",
        ));
    }
    let user = cx.agent.caller_user(caller)?;
    if !user.owner {
        return Err(ApiError::access(
            "Only the account owner can change the subscription.",
        ));
    }
    let mut account: Account = ACCOUNTS
        .get(cx.store(), &user.account_id)?
        .ok_or(ApiError::Internal)?;
    account.subscription_type = body.subscription_type;
    let mut batch = Batch::new();
    ACCOUNTS.put(&mut batch, &account.id, &account);
    save(cx.store(), &batch)?;
    Ok(Response::ok())
}

pub async fn reset_password<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    let body: ResetPasswordRequest = cx.body()?;
    validate_password(cx, &body.password)?;
    match (&cx.caller, &body.reset_token) {
        (Some(caller), _) => change_password(cx, caller, &body),
        (None, Some(token)) => redeem_reset_token(cx, token.trim(), &body.password),
        (None, None) => Err(ApiError::Unauthorized(
            "A token is required, or a 'resetToken' from a password-reset or activation email.",
        )),
    }
}

fn change_password<P: Ports>(
    cx: &Ctx<'_, P>,
    caller: &crate::auth::Caller,
    body: &ResetPasswordRequest,
) -> ApiResult<Response> {
    let user = cx.agent.caller_user(caller)?;
    let mut credentials = Credentials::load(cx.store(), &user.id)?;
    let hasher = cx.ports().hasher();
    let current_ok = match (&credentials.password_hash, &body.current_password) {
        (Some(hash), Some(current)) => hasher.verify(current, hash),
        // A Google-only user sets a first password without one.
        (None, _) => true,
        (Some(_), None) => false,
    };
    if !current_ok {
        return Err(ApiError::new(
            ErrorCode::Auth,
            "'currentPassword' is not the current password.",
        ));
    }
    credentials.password_hash = Some(hasher.hash(&body.password));
    let mut batch = Batch::new();
    CREDENTIALS.put(&mut batch, &user.id, &credentials);
    // Other sessions may belong to whoever knew the old password.
    cx.agent
        .revoke_sessions(&mut batch, &user.id, Some(&caller.session_id))?;
    save(cx.store(), &batch)?;
    Ok(Response::ok())
}

fn redeem_reset_token<P: Ports>(
    cx: &Ctx<'_, P>,
    token: &str,
    password: &str,
) -> ApiResult<Response> {
    const BAD: &str = "The reset token is invalid, used or expired.";
    let store = cx.store();
    let key = sha256_hex(token);
    let row: ResetToken = RESET_TOKENS
        .get(store, &key)?
        .filter(|r: &ResetToken| r.expires_ms > cx.now_ms())
        .ok_or(ApiError::new(ErrorCode::Token, BAD))?;
    let mut user: User = USERS
        .get(store, &row.user_id)?
        .ok_or(ApiError::new(ErrorCode::Token, BAD))?;
    let mut credentials = Credentials::load(store, &user.id)?;
    credentials.password_hash = Some(cx.ports().hasher().hash(password));
    if row.purpose == MailPurpose::UserActivation.as_str() && user.status == UserStatus::PENDING {
        user.status = UserStatus::ACTIVE;
    }
    let mut batch = Batch::new();
    batch.require_present(RESET_TOKENS.key(&key));
    RESET_TOKENS.delete(&mut batch, &key);
    USERS.put(&mut batch, &user.id, &user);
    CREDENTIALS.put(&mut batch, &user.id, &credentials);
    cx.agent.revoke_sessions(&mut batch, &user.id, None)?;
    commit(store, &batch, (ErrorCode::Token, BAD))?;
    Ok(Response::ok())
}

#[cfg(test)]
mod tests {
    use alloc::string::String;
    use serde_json::json;

    use crate::auth::totp;
    use crate::http::Method;
    use crate::testing::{TestAgent, json};

    fn code_at(secret: &str, unix_secs: u64) -> String {
        let key = totp::base32_decode(secret).unwrap();
        alloc::format!("{:06}", totp::hotp(&key, unix_secs / totp::STEP_SECS))
    }

    fn now_secs(t: &TestAgent) -> u64 {
        use crate::ports::Clock;
        t.agent.ports.clock.now_ms() / 1000
    }

    #[test]
    fn mfa_login_with_a_fake_clock() {
        let t = TestAgent::new();
        let token = t.signup_and_login("m@example.com");
        let q = alloc::format!("?token={token}");
        let secret = json(&t.post(&alloc::format!("/user/generate_mfa_token{q}"), json!({})));
        let secret = String::from(secret.as_str().unwrap());
        let r = t.post(
            &alloc::format!("/user/set_mfa{q}"),
            json!({"enabled": true, "userCode": code_at(&secret, now_secs(&t))}),
        );
        assert_eq!(r.status, 200);

        let login = |t: &TestAgent| {
            let r = t.post(
                "/authentication/login",
                json!({"username": "m@example.com", "password": crate::testing::PASSWORD}),
            );
            let body = json(&r);
            assert_eq!(body["challenge"], 1);
            String::from(body["session"].as_str().unwrap())
        };
        // The code just used to enable MFA cannot be replayed.
        let session = login(&t);
        let same = code_at(&secret, now_secs(&t));
        let r = t.post(
            "/authentication/mfa_respond",
            json!({"userCode": same, "session": session}),
        );
        assert_eq!(json(&r)["type"], "TOTP");
        // Next step's code works; two steps ahead is outside the window.
        t.agent.ports.clock.advance_secs(30);
        let too_far = code_at(&secret, now_secs(&t) + 60);
        let r = t.post(
            "/authentication/mfa_respond",
            json!({"userCode": too_far, "session": session}),
        );
        assert_eq!(json(&r)["type"], "TOTP");
        let good = code_at(&secret, now_secs(&t));
        let r = t.post(
            "/authentication/mfa_respond",
            json!({"userCode": good, "session": session}),
        );
        assert_eq!(r.status, 200);
        let mfa_token = String::from(json(&r)["jwtToken"].as_str().unwrap());
        let r = t.call(
            Method::Get,
            &alloc::format!("/authentication/user?token={mfa_token}"),
            "",
        );
        assert_eq!(json(&r)["mfa"], true);

        // A challenge expires with the clock.
        let session = login(&t);
        t.agent
            .ports
            .clock
            .advance_secs(t.agent.config.mfa_session_ttl_secs + 1);
        let r = t.post(
            "/authentication/mfa_respond",
            json!({"userCode": code_at(&secret, now_secs(&t)), "session": session}),
        );
        assert_eq!(json(&r)["type"], "SESSION");
    }

    #[test]
    fn failed_logins_make_the_next_attempt_wait() {
        let t = TestAgent::new();
        t.signup_and_login("guess@example.com");
        let attempt = |t: &TestAgent, password: &str| {
            let body = json!({"username": "guess@example.com", "password": password});
            t.post("/authentication/login", body)
        };
        for _ in 0..t.agent.config.login_free_attempts {
            assert_eq!(attempt(&t, "wrong guess").status, 401);
        }
        // Now even the right password must wait a second, then two, then four...
        let r = attempt(&t, crate::testing::PASSWORD);
        assert_eq!(json(&r)["type"], "SECURITY");
        t.agent.ports.clock.advance_secs(1);
        assert_eq!(attempt(&t, "wrong again").status, 401);
        t.agent.ports.clock.advance_secs(1);
        assert_eq!(
            json(&attempt(&t, crate::testing::PASSWORD))["type"],
            "SECURITY"
        );
        t.agent.ports.clock.advance_secs(1);
        assert_eq!(attempt(&t, crate::testing::PASSWORD).status, 200);
        // A success clears the count.
        assert_eq!(attempt(&t, "wrong").status, 401);
        assert_eq!(attempt(&t, crate::testing::PASSWORD).status, 200);
    }

    #[test]
    fn signup_codes_and_reset_tokens_expire() {
        let t = TestAgent::new();
        assert_eq!(t.signup("late@example.com").status, 200);
        let code = t.agent.ports.mail.all().last().unwrap().token.clone();
        t.agent
            .ports
            .clock
            .advance_secs(t.agent.config.signup_code_ttl_secs + 1);
        let r = t.post(
            "/authentication/confirm_signup",
            json!({"email": "late@example.com", "token": code}),
        );
        assert_eq!(json(&r)["type"], "TOKEN");

        t.signup_and_login("reset@example.com");
        let r = t.post(
            "/authentication/forgot_password",
            json!({"username": "reset@example.com"}),
        );
        assert_eq!(r.status, 200);
        let mail = t.agent.ports.mail.all().last().unwrap().clone();
        assert_eq!(mail.purpose, crate::ports::MailPurpose::PasswordReset);
        t.agent
            .ports
            .clock
            .advance_secs(t.agent.config.reset_token_ttl_secs + 1);
        let r = t.post(
            "/authentication/reset_password",
            json!({"resetToken": mail.token, "password": "another password"}),
        );
        assert_eq!(json(&r)["type"], "TOKEN");
    }
}
