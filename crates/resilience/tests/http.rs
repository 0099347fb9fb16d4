//! The health and metrics endpoint, queried by a real HTTP client over
//! loopback.
#![cfg(all(not(loom), feature = "http"))]

use std::sync::Arc;

use ballast_resilience::{
    BreakerConfig, CircuitBreaker, Health, HealthRegistry, MetricsRegistry, Probe, http,
};

struct Server {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().expect("server thread");
        }
    }
}

fn start(health: Arc<HealthRegistry>, metrics: Arc<MetricsRegistry>) -> Server {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind loopback");
            addr_tx
                .send(listener.local_addr().expect("addr"))
                .expect("send addr");
            http::serve(listener, health, metrics, async {
                let _ = stopped.await;
            })
            .await
            .expect("serve");
        });
    });
    let addr = addr_rx.recv().expect("server address");
    Server {
        base: format!("http://{addr}"),
        stop: Some(stop),
        thread: Some(thread),
    }
}

fn get(agent: &ureq::Agent, url: &str) -> (u16, String) {
    let mut resp = agent.get(url).call().expect("request");
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().expect("body"))
}

#[test]
fn endpoints_answer_health_readiness_and_metrics_over_loopback() {
    let health = Arc::new(HealthRegistry::new());
    let metrics = Arc::new(MetricsRegistry::new());
    let breaker = CircuitBreaker::new(BreakerConfig {
        name: "upstream".into(),
        ..Default::default()
    })
    .unwrap();
    let _ = breaker.call(|| Ok::<_, ()>(()));
    metrics.register_breaker(&breaker);
    health.register("db", Probe::Readiness, Health::healthy);
    let server = start(Arc::clone(&health), metrics);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();

    assert_eq!(get(&agent, &format!("{}/health/live", server.base)).0, 200);
    assert_eq!(get(&agent, &format!("{}/health/ready", server.base)).0, 200);
    let (code, body) = get(&agent, &format!("{}/metrics", server.base));
    assert_eq!(code, 200);
    assert!(
        body.contains("ballast_breaker_calls_total{name=\"upstream\",outcome=\"success\"} 1"),
        "{body}"
    );

    health.begin_shutdown();
    assert_eq!(get(&agent, &format!("{}/health/ready", server.base)).0, 503);
    assert_eq!(get(&agent, &format!("{}/health/live", server.base)).0, 200);
    let (code, json) = get(&agent, &format!("{}/health", server.base));
    assert_eq!(code, 503);
    let report: serde_json::Value = serde_json::from_str(&json).expect("json report");
    assert_eq!(report["shutting_down"], true);
    assert_eq!(report["components"][0]["name"], "db");
}

#[test]
fn process_metrics_json_snapshot_and_resource_readiness() {
    let health = Arc::new(HealthRegistry::new());
    let metrics = Arc::new(MetricsRegistry::new());
    metrics.register_process();
    // A budget of one byte: readiness degrades and says why.
    health.register_process(0.9, Some(1));
    let server = start(Arc::clone(&health), metrics);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let (code, page) = get(&agent, &format!("{}/metrics", server.base));
    assert_eq!(code, 200);
    for name in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_max_fds",
        "process_threads",
        "process_uptime_seconds",
    ] {
        assert!(page.contains(&format!("# TYPE {name} ")), "{name}: {page}");
    }
    let (code, json) = get(&agent, &format!("{}/metrics/json", server.base));
    assert_eq!(code, 200);
    let snapshot: serde_json::Value = serde_json::from_str(&json).expect("json snapshot");
    let samples = snapshot["samples"].as_array().expect("samples");
    let fds = samples
        .iter()
        .find(|s| s["name"] == "process_open_fds")
        .expect("open fds in the snapshot");
    if cfg!(target_os = "linux") {
        assert!(fds["value"].as_f64().is_some_and(|v| v >= 3.0), "{fds}");
    }
    assert!(snapshot["timestamp_ms"].as_u64().is_some());
    let (code, report) = get(&agent, &format!("{}/health", server.base));
    if cfg!(target_os = "linux") {
        assert_eq!(code, 200, "degraded is still ready: {report}");
        assert!(report.contains("over the budget"), "{report}");
    }
}
