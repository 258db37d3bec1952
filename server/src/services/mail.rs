//! Sending mail: verification codes and password-reset tokens.
//!
//! The services hand a [`Mail`] to a [`Mailer`] and do not know where it goes. There are two:
//!
//! - [`SmtpMailer`], when `smtp_url` (`--smtp-url`, `JECO_SMTP_URL`) is set: `lettre`'s tokio SMTP
//!   transport, TLS by rustls. The URL says how to connect — `smtps://user:pass@host:465` (TLS
//!   from the start), `smtp://user:pass@host:587?tls=required` (STARTTLS), `smtp://localhost:25`
//!   (plain, for a local relay) — and is a secret because it may hold a password.
//! - [`MailDir`] otherwise: every message is written as an `.eml` file into `<data-dir>/mail/`,
//!   so a self-hoster trying the server, and the tests, can read codes without a mail server. It
//!   is not a fake — the files are the exact RFC 5322 messages SMTP would carry — and the server
//!   says at start-up that it is in use, because mail then reaches nobody.
//!
//! Each file is written to a temporary name and renamed, so a reader never sees half a message.

use async_trait::async_trait;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;

/// One plain-text message to one address.
#[derive(Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    /// Plain text; it carries codes and tokens, so it is never logged.
    pub body: String,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("cannot build the message: {0}")]
    Build(String),
    #[error("cannot hand the message to the SMTP server: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("cannot write the message into {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where mail goes. See the module doc.
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, mail: Mail) -> Result<(), MailError>;
    /// For the start-up log: where mail goes, without secrets.
    fn describe(&self) -> String;
}

/// Builds the RFC 5322 message.
fn message(from: &Mailbox, mail: Mail) -> Result<Message, MailError> {
    let to: Mailbox = mail
        .to
        .parse()
        .map_err(|e: lettre::address::AddressError| MailError::Build(e.to_string()))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body)
        .map_err(|e| MailError::Build(e.to_string()))
}

/// Mail over SMTP.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// Host and port only, for the log.
    server: String,
}

impl SmtpMailer {
    /// From an `smtp://` or `smtps://` URL (see the module doc).
    pub fn new(url: &str, from: Mailbox) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            // lettre's message names the URL part that is wrong, never the password.
            .map_err(|e| format!("smtp_url is not usable: {e}"))?
            .build();
        let server = url
            .split_once("://")
            .map(|(_, rest)| rest.rsplit('@').next().unwrap_or(rest))
            .and_then(|rest| rest.split(['/', '?']).next())
            .unwrap_or("?")
            .to_owned();
        Ok(Self {
            transport,
            from,
            server,
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: Mail) -> Result<(), MailError> {
        self.transport.send(message(&self.from, mail)?).await?;
        Ok(())
    }

    fn describe(&self) -> String {
        format!("SMTP via {}", self.server)
    }
}

/// The dev mailer: each message as an `.eml` file in a directory.
pub struct MailDir {
    dir: PathBuf,
    from: Mailbox,
}

impl MailDir {
    pub fn new(dir: PathBuf, from: Mailbox) -> Self {
        Self { dir, from }
    }
}

#[async_trait]
impl Mailer for MailDir {
    async fn send(&self, mail: Mail) -> Result<(), MailError> {
        let bytes = message(&self.from, mail)?.formatted();
        let mut id = [0u8; 8];
        getrandom::fill(&mut id).map_err(|e| MailError::Write {
            path: self.dir.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        // Sortable by time, unique by the random part. The system's time, not the server's
        // clock: a file name, which a test moving the clock forward should not reorder.
        let written_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let name = format!(
            "{}-{}",
            written_ms,
            id.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let path = self.dir.join(format!("{name}.eml"));
        let dir = self.dir.clone();
        let write = move || -> std::io::Result<()> {
            std::fs::create_dir_all(&dir)?;
            std::fs::write(&tmp, &bytes)?;
            std::fs::rename(&tmp, &path)
        };
        tokio::task::spawn_blocking(write)
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))
            .and_then(|r| r)
            .map_err(|source| MailError::Write {
                path: self.dir.clone(),
                source,
            })
    }

    fn describe(&self) -> String {
        format!(
            "no SMTP server configured (smtp_url): mail is written as .eml files into {}",
            self.dir.display()
        )
    }
}

/// The mailer the configuration asks for.
pub fn from_config(config: &crate::Config) -> Result<std::sync::Arc<dyn Mailer>, String> {
    let from: Mailbox = config
        .mail_from
        .parse()
        .map_err(|e| format!("mail_from {:?} is not an address: {e}", config.mail_from))?;
    Ok(match &config.smtp_url {
        Some(url) => std::sync::Arc::new(SmtpMailer::new(url.expose(), from)?),
        None => std::sync::Arc::new(MailDir::new(config.mail_path(), from)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_mail_dir_holds_whole_messages_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = MailDir::new(
            tmp.path().join("mail"),
            "Jeco <jeco@example.org>".parse().unwrap(),
        );
        dir.send(Mail {
            to: "ada@example.org".into(),
            subject: "Your code".into(),
            body: "Your code is 123456.".into(),
        })
        .await
        .unwrap();
        let files: Vec<_> = std::fs::read_dir(tmp.path().join("mail"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(files[0].extension().unwrap(), "eml");
        let text = std::fs::read_to_string(&files[0]).unwrap();
        assert!(text.contains("To: ada@example.org"), "{text}");
        assert!(text.contains("Your code is 123456."), "{text}");
    }

    #[test]
    fn the_smtp_server_is_described_without_its_password() {
        let m = SmtpMailer::new(
            "smtps://user:hunter2@mail.example.org:465",
            "jeco@example.org".parse().unwrap(),
        )
        .unwrap();
        assert_eq!(m.describe(), "SMTP via mail.example.org:465");
        assert!(SmtpMailer::new("ftp://x", "jeco@example.org".parse().unwrap()).is_err());
    }
}
