//! A local SMTP server that speaks just enough of RFC 5321 for lettre to deliver to it, and
//! keeps what it receives. The production mailer is the code under test.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One delivered message: envelope recipient and the raw DATA.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub to: String,
    pub data: String,
}

impl Delivered {
    /// The message text with quoted-printable soft line breaks undone.
    pub fn text(&self) -> String {
        self.data.replace("=\r\n", "").replace("=3D", "=")
    }

    /// The first link in the message that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> Option<String> {
        let text = self.text();
        let start = text.find(prefix)?;
        Some(
            text[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "-_./:".contains(*c))
                .collect(),
        )
    }
}

/// A running fake SMTP server.
#[derive(Clone)]
pub struct FakeSmtp {
    pub port: u16,
    inbox: Arc<Mutex<Vec<Delivered>>>,
}

impl FakeSmtp {
    /// Listen on a free loopback port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake smtp");
        let port = listener.local_addr().unwrap().port();
        let inbox = Arc::new(Mutex::new(Vec::new()));
        let sink = inbox.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let sink = sink.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &sink);
                });
            }
        });
        Self { port, inbox }
    }

    /// The `SMTP_URL` for it.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Wait (up to 10 s) for a message to `to` whose text contains `needle`.
    pub async fn wait_for(&self, to: &str, needle: &str) -> Delivered {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(found) = self
                .inbox
                .lock()
                .unwrap()
                .iter()
                .rev()
                .find(|m| m.to == to && m.text().contains(needle))
            {
                return found.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no email to {to} containing {needle:?}"
            );
            // Yield, so the app's background send can run on this same runtime.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Wait (up to 10 s) until `count` messages have gone to `to`.
    pub async fn wait_for_count(&self, to: &str, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.count_to(to) < count {
            assert!(
                Instant::now() < deadline,
                "{count} emails to {to}: only {}",
                self.count_to(to)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// How many messages went to `to`.
    pub fn count_to(&self, to: &str) -> usize {
        self.inbox
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.to == to)
            .count()
    }
}

fn serve(stream: TcpStream, inbox: &Mutex<Vec<Delivered>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    writer.write_all(b"220 fake.smtp ESMTP ready\r\n")?;
    let mut recipients = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        if command.starts_with("EHLO") || command.starts_with("HELO") {
            writer.write_all(b"250-fake.smtp\r\n250 8BITMIME\r\n")?;
        } else if command.starts_with("MAIL FROM")
            || command.starts_with("RSET")
            || command.starts_with("NOOP")
        {
            writer.write_all(b"250 OK\r\n")?;
        } else if command.starts_with("RCPT TO") {
            let address = line.trim_end()[8..]
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned();
            recipients.push(address);
            writer.write_all(b"250 OK\r\n")?;
        } else if command == "DATA" {
            writer.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")?;
            let mut data = String::new();
            loop {
                line.clear();
                reader.read_line(&mut line)?;
                if line == ".\r\n" || line.is_empty() {
                    break;
                }
                data.push_str(&line);
            }
            let mut inbox = inbox.lock().unwrap();
            for to in recipients.drain(..) {
                inbox.push(Delivered {
                    to,
                    data: data.clone(),
                });
            }
            writer.write_all(b"250 OK: queued\r\n")?;
        } else if command == "QUIT" {
            writer.write_all(b"221 Bye\r\n")?;
            return Ok(());
        } else {
            writer.write_all(b"502 Command not implemented\r\n")?;
        }
    }
}
