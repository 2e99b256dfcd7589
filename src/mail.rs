//! Outgoing email: SMTP through lettre when `SMTP_URL` is set, else the log.
//!
//! Without SMTP the embedded mode still works: the message, with its link, is written to the
//! log for the operator to pass on.

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Config;

/// One plain-text email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Where email goes.
#[derive(Clone)]
pub enum Mailer {
    Smtp {
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        from: Box<Mailbox>,
    },
    Log,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Smtp { .. } => "Mailer::Smtp",
            Self::Log => "Mailer::Log",
        })
    }
}

impl Mailer {
    /// The mailer the configuration asks for.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let Some(url) = &config.smtp_url else {
            return Ok(Self::Log);
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
            .map_err(|e| anyhow::anyhow!("SMTP_URL: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(10)))
            .build();
        let from = config
            .email_from
            .parse()
            .map_err(|e| anyhow::anyhow!("EMAIL_FROM: {e}"))?;
        Ok(Self::Smtp {
            transport: Box::new(transport),
            from: Box::new(from),
        })
    }

    /// Send now; errors are returned to the caller.
    pub async fn send(&self, email: &Email) -> anyhow::Result<()> {
        match self {
            Self::Log => {
                tracing::info!(
                    to = %email.to,
                    subject = %email.subject,
                    body = %email.body,
                    "email not sent (SMTP_URL is not set); its text follows"
                );
                Ok(())
            }
            Self::Smtp { transport, from } => {
                let message = Message::builder()
                    .from((**from).clone())
                    .to(email.to.parse()?)
                    .subject(&email.subject)
                    .body(email.body.clone())?;
                transport.send(message).await?;
                tracing::info!(to = %email.to, subject = %email.subject, "email sent");
                Ok(())
            }
        }
    }

    /// Send in the background, so a slow mail server never slows a page (and the response
    /// time does not reveal whether an address has an account). Failures are logged.
    pub fn send_later(&self, email: Email) {
        let mailer = self.clone();
        tokio::spawn(async move {
            if let Err(e) = mailer.send(&email).await {
                tracing::error!(to = %email.to, subject = %email.subject, error = %e, "email failed");
            }
        });
    }
}
