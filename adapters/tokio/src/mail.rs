//! The `Mailer`: SMTP when configured, otherwise one `.eml` file per message in the outbox.

use std::path::PathBuf;
use std::time::Duration;

use click_core::ports::{
    Clock, Mail, MailError, MailPurpose, Mailer, PURPOSE_HEADER, TOKEN_HEADER, outbox_file_name,
};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::sync::mpsc;

use crate::config::MailSettings;
use crate::data_dir::{create_private_dir, write_private_file};
use crate::ports::SystemClock;

const PURPOSE: HeaderName = HeaderName::new_from_ascii_str(PURPOSE_HEADER);
const TOKEN: HeaderName = HeaderName::new_from_ascii_str(TOKEN_HEADER);
const SMTP_QUEUE: usize = 1024;
const SMTP_ATTEMPTS: u32 = 4;

pub struct DesktopMailer {
    from: Mailbox,
    outbox: PathBuf,
    smtp: Option<mpsc::Sender<(Message, MailPurpose)>>,
}

impl DesktopMailer {
    /// With an SMTP host, starts the sending task (call inside the runtime).
    pub fn new(settings: &MailSettings, outbox: PathBuf) -> Result<DesktopMailer, String> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| format!("invalid mail.from {:?}: {e}", settings.from))?;
        let smtp = match &settings.smtp_host {
            Some(host) => {
                let mut builder =
                    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
                        .port(settings.smtp_port)
                        .timeout(Some(Duration::from_secs(30)));
                if let (Some(user), Some(pass)) = (&settings.smtp_username, &settings.smtp_password)
                {
                    builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
                }
                let (tx, rx) = mpsc::channel(SMTP_QUEUE);
                tokio::spawn(deliver(builder.build(), rx, outbox.clone()));
                Some(tx)
            }
            None => None,
        };
        Ok(DesktopMailer { from, outbox, smtp })
    }

    fn build(&self, mail: &Mail) -> Result<Message, MailError> {
        let to: Mailbox = mail.to.parse().map_err(|_| MailError)?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.as_str())
            .raw_header(HeaderValue::new(PURPOSE, mail.purpose.as_str().into()))
            .raw_header(HeaderValue::new(TOKEN, mail.token.clone()))
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|_| MailError)
    }
}

impl Mailer for DesktopMailer {
    fn send(&self, mail: Mail) -> Result<(), MailError> {
        let message = self.build(&mail)?;
        let purpose = mail.purpose;
        match &self.smtp {
            Some(tx) => tx.try_send((message, purpose)).map_err(|_| {
                tracing::error!("SMTP queue is full; message not sent");
                MailError
            }),
            None => write_outbox(&self.outbox, &message, purpose).map_err(|e| {
                tracing::error!("cannot write to the outbox: {e}");
                MailError
            }),
        }
    }
}

/// Writes one message into the outbox under the core's file name, readable by the owner only.
pub fn write_outbox(
    outbox: &std::path::Path,
    message: &Message,
    purpose: MailPurpose,
) -> std::io::Result<()> {
    create_private_dir(outbox)?;
    let mut nonce = [0u8; 4];
    getrandom::fill(&mut nonce).map_err(std::io::Error::other)?;
    let name = outbox_file_name(purpose, SystemClock.now_ms(), &nonce);
    write_private_file(&outbox.join(name), &message.formatted())
}

/// Sends queued messages with retries; a message that cannot be delivered lands in the outbox.
async fn deliver(
    transport: AsyncSmtpTransport<Tokio1Executor>,
    mut queue: mpsc::Receiver<(Message, MailPurpose)>,
    outbox: PathBuf,
) {
    while let Some((message, purpose)) = queue.recv().await {
        let mut delay = Duration::from_millis(500);
        for attempt in 1..=SMTP_ATTEMPTS {
            match transport.send(message.clone()).await {
                Ok(_) => break,
                Err(e) if attempt == SMTP_ATTEMPTS => {
                    tracing::error!(
                        "SMTP delivery failed after {attempt} attempts: {e}; kept in the outbox"
                    );
                    if let Err(e) = write_outbox(&outbox, &message, purpose) {
                        tracing::error!("cannot write to the outbox: {e}");
                    }
                }
                Err(e) => {
                    tracing::warn!("SMTP delivery attempt {attempt} failed: {e}");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
            }
        }
    }
}
