//! Graceful shutdown of `ontograph serve` on SIGTERM: readiness fails first while requests are
//! still served, a request in flight is answered, new connections are refused once the listener
//! closes, and the process exits cleanly within its grace period. (The ingest worker's SIGTERM
//! is tested in `ingest_faults.rs`.)

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use testkit::get;

#[test]
fn sigterm_drains_then_exits_within_the_grace_period() {
    let (mut child, port) = testkit::spawn_serve(
        env!("CARGO_BIN_EXE_ontograph"),
        &[
            ("ONTOGRAPH_SHUTDOWN_DELAY", "1500ms"),
            ("ONTOGRAPH_SHUTDOWN_TIMEOUT", "10s"),
        ],
    );

    // A request in flight: headers and half of the body sent, the rest after SIGTERM.
    let body = r#"{"query":"{ teams(limit: 1) { name } }"}"#;
    let (head, tail) = body.split_at(body.len() / 2);
    let mut inflight = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    inflight
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    write!(
        inflight,
        "POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
        body.len()
    )
    .expect("send head");
    inflight.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(200));

    let signalled = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(300));
    // Draining: still serving, but no longer ready.
    let ready = get(port, "/readyz").expect("still accepting during the delay");
    assert!(ready.starts_with("HTTP/1.1 503"), "{ready}");
    assert!(ready.contains("draining"), "{ready}");
    let live = get(port, "/livez").expect("live");
    assert!(live.starts_with("HTTP/1.1 200"), "{live}");

    // After the delay the listener closes; the request in flight still gets its answer.
    std::thread::sleep(Duration::from_millis(1600));
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "a new connection was accepted after the drain began"
    );
    inflight.write_all(tail.as_bytes()).expect("send tail");
    let mut answer = String::new();
    inflight.read_to_string(&mut answer).expect("answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"teams\""), "{answer}");

    // And the process exits by itself, cleanly, well within its grace period.
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status}");
    assert!(signalled.elapsed() < Duration::from_secs(5));
    let logs = testkit::stderr_of(&mut child);
    assert!(
        logs.contains("every request in flight was answered"),
        "{logs}"
    );
}
