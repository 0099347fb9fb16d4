//! `ballast-proxy -proxy-metrics`: Toxiproxy's byte counters at `/metrics`,
//! on the pass-through path and through a toxic; 404 without the flag, as
//! in Toxiproxy.
#![cfg(feature = "proxy")]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Echo, ProxyBin, agent, call};

fn metrics(proxy: &ProxyBin) -> (u16, String) {
    let mut resp = agent()
        .get(&proxy.url("/metrics"))
        .call()
        .expect("a response");
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap_or_default())
}

fn echo(conn: &mut TcpStream, msg: &[u8]) {
    conn.write_all(msg).unwrap();
    let mut back = vec![0u8; msg.len()];
    conn.read_exact(&mut back).unwrap();
    assert_eq!(back, msg);
}

/// The value of the sample that starts with `prefix`.
fn sample(page: &str, prefix: &str) -> Option<u64> {
    page.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn byte_counters_use_toxiproxy_names_and_labels() {
    let upstream = Echo::start();
    let proxy = ProxyBin::start(&["-proxy-metrics"]);
    let body = format!(
        r#"{{"name":"db","listen":"127.0.0.1:0","upstream":"{}"}}"#,
        upstream.addr
    );
    let (status, created) = call(&agent(), "POST", &proxy.url("/proxies"), Some(&body));
    assert_eq!(status, 201, "{created}");
    let listen = created["listen"].as_str().unwrap().to_string();
    let mut conn = TcpStream::connect(&listen).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    echo(&mut conn, b"hello");
    // Through a toxic: the engine's path counts too.
    let toxic =
        r#"{"name":"slow","type":"latency","stream":"downstream","attributes":{"latency":5}}"#;
    let (status, _) = call(
        &agent(),
        "POST",
        &proxy.url("/proxies/db/toxics"),
        Some(toxic),
    );
    assert_eq!(status, 200);
    echo(&mut conn, b"abc");
    let labels = |dir: &str| {
        format!(
            "{{direction=\"{dir}\",listener=\"{listen}\",proxy=\"db\",upstream=\"{}\"}}",
            upstream.addr
        )
    };
    // The sent counter of the last piece is added just after it is written.
    let deadline = Instant::now() + Duration::from_secs(5);
    let page = loop {
        let (status, page) = metrics(&proxy);
        assert_eq!(status, 200);
        let done = sample(
            &page,
            &format!("toxiproxy_proxy_sent_bytes_total{}", labels("downstream")),
        );
        if done == Some(8) || Instant::now() > deadline {
            break page;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(
        page.contains("# TYPE toxiproxy_proxy_received_bytes_total counter"),
        "{page}"
    );
    for family in ["received", "sent"] {
        for dir in ["upstream", "downstream"] {
            let name = format!("toxiproxy_proxy_{family}_bytes_total{}", labels(dir));
            assert_eq!(sample(&page, &name), Some(8), "{name}\n{page}");
        }
    }
}

#[test]
fn without_the_flag_metrics_is_not_found() {
    let proxy = ProxyBin::start(&[]);
    assert_eq!(metrics(&proxy).0, 404);
}

#[test]
fn runtime_metrics_give_the_process_families_without_the_proxy_ones() {
    let proxy = ProxyBin::start(&["-runtime-metrics"]);
    let (status, page) = metrics(&proxy);
    assert_eq!(status, 200, "{page}");
    for family in [
        "process_cpu_seconds_total",
        "process_open_fds",
        "process_max_fds",
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_start_time_seconds",
        "tokio_workers",
        "tokio_alive_tasks",
    ] {
        assert!(
            page.contains(&format!("# TYPE {family} ")),
            "{family} missing:\n{page}"
        );
    }
    assert!(sample(&page, "tokio_workers ").is_some_and(|n| n >= 1));
    assert!(!page.contains("toxiproxy_proxy_"), "{page}");

    let both = ProxyBin::start(&["-proxy-metrics", "-runtime-metrics"]);
    let echo_srv = Echo::start();
    let body = format!(r#"{{"name":"m","upstream":"{}"}}"#, echo_srv.addr);
    assert_eq!(
        call(&agent(), "POST", &both.url("/proxies"), Some(&body)).0,
        201
    );
    let (_, page) = metrics(&both);
    assert!(
        page.contains("toxiproxy_proxy_received_bytes_total"),
        "{page}"
    );
    assert!(page.contains("process_open_fds"), "{page}");
}
