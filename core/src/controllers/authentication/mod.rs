//! Authentication (`authentication.md`): who may call, and the caller's own profile. One
//! file per concern: logging in (with MFA), signing up, passwords, Google, the profile.

pub(crate) mod google;
pub(crate) mod login;
pub(crate) mod password;
pub(crate) mod profile;
pub(crate) mod signup;

pub use google::{google_login, google_signup};
pub use login::{login, logout, mfa_respond};
pub use password::{forgot_password, reset_password};
pub use profile::{get_user, update_subscription, update_user};
pub use signup::{confirm_signup, resend_confirmation_email, signup};

use alloc::format;
use alloc::string::String;
use serde::Serialize;

use crate::agent::Ctx;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::json::max_len;
use crate::model::{User, UserStatus};
use crate::ports::Ports;
use crate::store::Batch;

/// Names (account, first, last) are at most this long.
const NAME_MAX: usize = 50;

const EMAIL_TAKEN: (ErrorCode, &str) = (
    ErrorCode::Duplicate,
    "An account with this email already exists.",
);

/// `challenge`: 0 None, 1 TOTP, 2 SMS.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub(crate) struct LoginResponse {
    jwt_token: String,
    challenge: u8,
    session: String,
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

/// Opens a session for a user who proved who they are, in one transaction with `batch`.
fn finish_login<P: Ports>(cx: &Ctx<'_, P>, batch: Batch, user: &User) -> ApiResult<String> {
    cx.agent.sessions().sign_in(batch, user)
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
