//! The messages the agent sends: what each says, handed to the host's [`Mailer`]. A message
//! that cannot be queued never undoes the change that caused it; the user can ask again.

use alloc::format;
use alloc::string::String;

use crate::model::User;
use crate::ports::{Mail, MailError, MailPurpose, Mailer, hex};

/// The header of an outbox message that says why it was sent ([`MailPurpose::as_str`]).
pub const PURPOSE_HEADER: &str = "X-Click-Purpose";
/// The header of an outbox message that carries its code or token.
pub const TOKEN_HEADER: &str = "X-Click-Token";

/// The name of a message's file in an outbox directory, `<unix-ms>-<purpose>-<nonce>.eml`:
/// the time zero-padded so that names sort as the messages were sent, the nonce so that two
/// messages of one millisecond do not collide. Every host names its outbox files so, and the
/// black-box tests and scripts rely on it.
pub fn outbox_file_name(purpose: MailPurpose, unix_ms: u64, nonce: &[u8; 4]) -> String {
    format!("{unix_ms:013}-{}-{}.eml", purpose.as_str(), hex(nonce))
}

/// A message as the text of an outbox file, for a host without a mail library: the headers
/// scripts and tests read (`To`, `Subject`, [`PURPOSE_HEADER`], [`TOKEN_HEADER`]), then the
/// body. (The desktop writes the full MIME message it would have sent, with the same headers.)
pub fn outbox_text(mail: &Mail) -> String {
    format!(
        "To: {}\r\nSubject: {}\r\n{PURPOSE_HEADER}: {}\r\n{TOKEN_HEADER}: {}\r\n\r\n{}",
        mail.to,
        mail.subject,
        mail.purpose.as_str(),
        mail.token,
        mail.body
    )
}

/// Queues one message.
pub fn send(
    mailer: &impl Mailer,
    to: &str,
    purpose: MailPurpose,
    subject: &str,
    body: String,
    token: &str,
) -> Result<(), MailError> {
    mailer.send(Mail {
        to: String::from(to),
        subject: String::from(subject),
        body,
        purpose,
        token: String::from(token),
    })
}

/// The 4-digit code that confirms a sign-up.
pub fn signup_code(mailer: &impl Mailer, email: &str, code: &str) {
    let body = format!("Welcome to click.\r\n\r\nYour confirmation code is {code}.\r\n");
    let subject = "Confirm your click account";
    let _ = send(
        mailer,
        email,
        MailPurpose::SignupConfirmation,
        subject,
        body,
        code,
    );
}

/// A password-reset token, valid for `ttl_minutes`.
pub fn password_reset(mailer: &impl Mailer, user: &User, token: &str, ttl_minutes: u64) {
    let body = format!(
        "A password reset was asked for your click account.\r\n\r\nReset token: {token}\r\n\r\nIt expires in {ttl_minutes} minutes. If you did not ask for it, ignore this message.\r\n"
    );
    let subject = "Reset your click password";
    let _ = send(
        mailer,
        &user.email,
        MailPurpose::PasswordReset,
        subject,
        body,
        token,
    );
}

/// The invitation of a user an admin added: the token sets its first password.
pub fn activation(mailer: &impl Mailer, user: &User, token: &str) {
    let body = format!(
        "You were invited to a click account as {}.\r\n\r\nActivation token: {token}\r\n\r\nSet your password with POST /authentication/reset_password and the body {{\"resetToken\": \"<token>\", \"password\": \"<new password>\"}}.\r\n",
        user.username
    );
    let subject = "Activate your click account";
    let _ = send(
        mailer,
        &user.email,
        MailPurpose::UserActivation,
        subject,
        body,
        token,
    );
}

/// A shared file: its name, the sender's note, and a presigned URL valid for `hours`.
#[cfg_attr(not(feature = "cloud"), allow(dead_code))]
pub struct Link<'a> {
    pub file: &'a str,
    pub note: &'a str,
    pub hours: u64,
    pub url: &'a str,
}

/// A download link; the caller is told when it cannot be queued (nothing else was changed).
#[cfg_attr(not(feature = "cloud"), allow(dead_code))]
pub fn download_link(mailer: &impl Mailer, to: &str, link: &Link<'_>) -> Result<(), MailError> {
    let mut body = format!("A file was shared with you: {}\r\n\r\n", link.file);
    if !link.note.is_empty() {
        body.push_str(link.note);
        body.push_str("\r\n\r\n");
    }
    body.push_str(&format!(
        "Download it here (the link works for {} hours):\r\n{}\r\n",
        link.hours, link.url
    ));
    let subject = format!("Download link: {}", link.file);
    send(
        mailer,
        to,
        MailPurpose::DownloadLink,
        &subject,
        body,
        link.url,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbox_files_sort_by_time_and_carry_the_purpose_and_token() {
        let name = outbox_file_name(
            MailPurpose::PasswordReset,
            1_700_000_000_123,
            &[0, 1, 0xab, 0xff],
        );
        assert_eq!(name, "1700000000123-password-reset-0001abff.eml");
        assert!(outbox_file_name(MailPurpose::SignupConfirmation, 999, &[0; 4]) < name);
        let mail = Mail {
            to: String::from("ann@example.com"),
            subject: String::from("Confirm"),
            body: String::from("Code 1234.\r\n"),
            purpose: MailPurpose::SignupConfirmation,
            token: String::from("1234"),
        };
        assert_eq!(
            outbox_text(&mail),
            "To: ann@example.com\r\nSubject: Confirm\r\nX-Click-Purpose: signup-confirmation\r\nX-Click-Token: 1234\r\n\r\nCode 1234.\r\n"
        );
    }
}
