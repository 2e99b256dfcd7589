//! The binary as an operator runs it: exit codes, help, start-up and graceful shutdown.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::TestDatabase;

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_whatsdex"));
    command.env_clear();
    command
}

#[test]
fn a_bad_setting_stops_start_up_with_exit_code_2_and_one_line() {
    for (var, value) in [
        ("PORT", "99999"),
        ("DATABASE_URL", "mysql://db/x"),
        ("ENCRYPTION_KEY", "tooshort"),
        ("REDIS_URL", "nonsense"),
        ("WHATSAPP_WS_URL", "https://web.example.com/ws"),
        ("WHATSAPP_VERSION", "2.beta"),
    ] {
        let output = binary()
            .arg("serve")
            .env(var, value)
            .output()
            .expect("run whatsdex");
        assert_eq!(output.status.code(), Some(2), "{var}={value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(var), "{stderr}");
    }
}

#[test]
fn version_and_help_answer_without_configuration() {
    let output = binary().arg("--version").output().unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains(env!("CARGO_PKG_VERSION")));
    let output = binary().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for word in [
        "serve",
        "migrate",
        "DATABASE_URL",
        "MIGRATION_DATABASE_URL",
        "REDIS_URL",
    ] {
        assert!(help.contains(word), "--help lacks {word}");
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 GET over a plain socket: status code and body.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    Some((status, body))
}

/// A `whatsdex serve` child on a free port, killed when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Server {
    pub fn start(db: &TestDatabase) -> Self {
        Self::start_with(db, &[])
    }

    /// Start with `extra` variables on top of the database's environment.
    pub fn start_with(db: &TestDatabase, extra: &[(&str, &str)]) -> Self {
        let port = free_port();
        let child = binary()
            .arg("serve")
            .arg("--migrate")
            .envs(db.env())
            .envs(extra.iter().copied())
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start whatsdex serve");
        let server = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if matches!(server.get("/api/health"), Some((200, _))) {
                return server;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("whatsdex serve did not become ready within 30 s");
    }

    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        get(self.port, path)
    }
}

impl Server {
    /// Kill the process outright (SIGKILL): no shutdown, no flush.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_answers_then_stops_cleanly_on_sigterm() {
    let db = TestDatabase::new();
    let mut server = Server::start(&db);
    let (status, body) = server.get("/health").unwrap();
    assert_eq!(status, 200);
    assert!(body.contains(r#""status":"ok""#), "{body}");

    let terminated = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(terminated.success());
    let deadline = Instant::now() + Duration::from_secs(12);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "exit after SIGTERM: {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still running 12 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
