//! A real `whatsdex serve` killed outright (SIGKILL) and started again on the same data: it
//! recognises its own bot leases and resumes at once, a message sent right after the restart
//! is taken (never a 5xx) and answered within 2 s, and the bot's status tells the truth.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::prelude::*;
use whatsdex::db::schema::{bots, outbox, sandbox_phones};

use crate::common::{TestDatabase, wait_until};
use crate::process::Server;

const PHONE_TOKEN: &str = "restart-test-phone-token";

/// One HTTP/1.1 request over a plain socket: status, raw headers, body.
fn request(port: u16, head: &str, body: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "{head}\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (headers, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = headers
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, headers.to_owned(), body.to_owned())
}

/// Open the phone page (for its CSRF cookie), then send `text` as the phone's form does.
fn send_from_phone(port: u16, text: &str) -> Vec<u16> {
    let path = format!("/sandbox/phone/{PHONE_TOKEN}");
    let (page, headers, _) = request(port, &format!("GET {path} HTTP/1.1"), "");
    let token = headers
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: wdx_csrf="))
        .and_then(|v| v.split(';').next())
        .expect("a CSRF cookie")
        .to_owned();
    let (sent, _, _) = request(
        port,
        &format!(
            "POST {path}/send HTTP/1.1\r\nCookie: wdx_csrf={token}\r\n\
             Content-Type: application/x-www-form-urlencoded"
        ),
        &format!("csrf_token={token}&text={text}"),
    );
    vec![page, sent]
}

fn replies_sent(db: &TestDatabase) -> i64 {
    db.query_across_tenants(|c| {
        outbox::table
            .filter(outbox::sent_at.is_not_null())
            .count()
            .get_result(c)
    })
}

#[test]
fn a_killed_instance_restarts_and_answers_within_two_seconds() {
    let db = TestDatabase::new();
    db.with_paired_bot();
    db.query_across_tenants(|conn| {
        diesel::insert_into(sandbox_phones::table)
            .values((
                sandbox_phones::id.eq(whatsdex::ids::token_hash(PHONE_TOKEN)),
                sandbox_phones::tenant_id.eq("t1"),
                sandbox_phones::bot_id.eq("b1"),
                sandbox_phones::number.eq("351912345678"),
                sandbox_phones::name.eq("Rui"),
                sandbox_phones::created_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)
    });

    let mut first = Server::start(&db);
    let answers = send_from_phone(first.port, "ping");
    assert_eq!(answers, vec![200, 200]);
    wait_until("the first reply", Duration::from_secs(10), || {
        replies_sent(&db) == 1
    });

    // No shutdown, no flush, no lease given back.
    first.kill();
    let second = Server::start(&db);
    let sent_at = Instant::now();
    let answers = send_from_phone(second.port, "ping");
    assert_eq!(answers, vec![200, 200], "taken at once after the restart");
    let took = wait_until(
        "the reply after the restart",
        Duration::from_secs(2),
        || replies_sent(&db) == 2,
    );
    eprintln!(
        "answered {took:?} after the restart ({:?} since the send)",
        sent_at.elapsed()
    );
    wait_until("the status says connected", Duration::from_secs(5), || {
        db.query_across_tenants(|c| bots::table.select(bots::status).first::<String>(c))
            == "connected"
    });
}
