//! The Toxiproxy-compatible API of the `ballast-proxy` binary: routes,
//! status codes, JSON shapes, defaults and bad input.
#![cfg(feature = "proxy")]

mod common;

use std::io::{Read, Write};

use common::{Echo, ProxyBin, agent, call, connect, create_proxy};
use serde_json::json;

#[test]
fn proxy_routes_follow_toxiproxy_codes_and_shapes() {
    let echo = Echo::start();
    let bin = ProxyBin::start(&["-seed", "7"]);
    assert_eq!(bin.seed, 7, "seed flag is honoured and printed");
    let a = agent();
    let listen = create_proxy(&a, &bin, "db", echo.addr);
    assert_ne!(listen.port(), 0, "listen is resolved in the response");

    let body = json!({"name": "db", "upstream": echo.addr.to_string()}).to_string();
    let (status, v) = call(&a, "POST", &bin.url("/proxies"), Some(&body));
    assert_eq!(
        (status, &v),
        (
            409,
            &json!({"error": "proxy already exists", "status": 409})
        )
    );

    let (status, v) = call(&a, "GET", &bin.url("/proxies"), None);
    assert_eq!(status, 200);
    assert_eq!(v["db"]["enabled"], json!(true));
    assert_eq!(v["db"]["toxics"], json!([]));

    let (status, v) = call(&a, "GET", &bin.url("/proxies/nope"), None);
    assert_eq!(
        (status, &v),
        (404, &json!({"error": "proxy not found", "status": 404}))
    );

    let (status, v) = call(&a, "POST", &bin.url("/proxies"), Some(r#"{"name":"x"}"#));
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("missing required field: upstream"))
    );

    let (status, v) = call(
        &a,
        "POST",
        &bin.url("/proxies/db"),
        Some(r#"{"enabled":false}"#),
    );
    assert_eq!((status, &v["enabled"]), (200, &json!(false)));
    let (status, v) = call(
        &a,
        "PATCH",
        &bin.url("/proxies/db"),
        Some(r#"{"enabled":true}"#),
    );
    assert_eq!(
        (status, v["listen"].as_str()),
        (200, Some(listen.to_string().as_str())),
        "same port"
    );

    let (status, v) = call(&a, "GET", &bin.url("/version"), None);
    assert_eq!(status, 200);
    assert!(v["version"].is_string());

    let (status, _) = call(&a, "DELETE", &bin.url("/proxies/db"), None);
    assert_eq!(status, 204);
    assert_eq!(call(&a, "DELETE", &bin.url("/proxies/db"), None).0, 404);
}

#[test]
fn toxic_routes_follow_toxiproxy_codes_shapes_and_defaults() {
    let echo = Echo::start();
    let bin = ProxyBin::start(&[]);
    let a = agent();
    create_proxy(&a, &bin, "db", echo.addr);
    let toxics = bin.url("/proxies/db/toxics");

    let (status, v) = call(
        &a,
        "POST",
        &toxics,
        Some(r#"{"type":"latency","attributes":{"latency":10}}"#),
    );
    assert_eq!(status, 200, "toxic create is 200 in toxiproxy");
    assert_eq!(
        v,
        json!({"name": "latency_downstream", "type": "latency", "stream": "downstream",
               "toxicity": 1.0, "attributes": {"latency": 10, "jitter": 0}})
    );
    let (status, _) = call(&a, "POST", &toxics, Some(r#"{"type":"latency"}"#));
    assert_eq!(status, 409, "duplicate default name");

    let one = bin.url("/proxies/db/toxics/latency_downstream");
    let (status, v) = call(&a, "POST", &one, Some(r#"{"attributes":{"jitter":3}}"#));
    assert_eq!(
        (status, &v["attributes"]),
        (200, &json!({"latency": 10, "jitter": 3}))
    );
    let (status, v) = call(&a, "PATCH", &one, Some(r#"{"toxicity":0.5}"#));
    assert_eq!((status, &v["toxicity"]), (200, &json!(0.5)));
    assert_eq!(
        call(&a, "GET", &one, None).1["attributes"]["jitter"],
        json!(3)
    );
    assert_eq!(
        call(&a, "GET", &toxics, None).1.as_array().map(Vec::len),
        Some(1)
    );

    for (body, want) in [
        (r#"{"type":"bogus"}"#, 400),
        (r#"{"type":"latency","stream":"sideways","name":"s"}"#, 400),
        (
            r#"{"type":"latency","name":"n","attributes":{"latency":-5}}"#,
            400,
        ),
        (
            r#"{"type":"bandwidth","name":"b","attributes":{"rate":1e30}}"#,
            400,
        ),
        (r#"{"type":"latency","name":"t","toxicity":7}"#, 400),
        (r#"{"type":"#, 400),
    ] {
        let (status, v) = call(&a, "POST", &toxics, Some(body));
        assert_eq!(status, want, "{body}: {v}");
        assert_eq!(v["status"], json!(want), "error body shape for {body}");
        assert!(v["error"].is_string());
    }
    assert_eq!(
        call(
            &a,
            "POST",
            &bin.url("/proxies/nope/toxics"),
            Some(r#"{"type":"latency"}"#)
        )
        .0,
        404
    );
    assert_eq!(
        call(&a, "GET", &bin.url("/proxies/db/toxics/nope"), None).0,
        404
    );
    assert_eq!(call(&a, "DELETE", &one, None).0, 204);
    assert_eq!(call(&a, "DELETE", &one, None).0, 404);
}

#[test]
fn populate_and_reset_follow_toxiproxy() {
    let echo = Echo::start();
    let bin = ProxyBin::start(&[]);
    let a = agent();
    let body = json!([
        {"name": "a", "upstream": echo.addr.to_string(), "listen": "127.0.0.1:0"},
        {"name": "b", "upstream": echo.addr.to_string(), "listen": "127.0.0.1:0",
         "toxics": [{"type": "limit_data", "attributes": {"bytes": 3}}]},
    ]);
    let (status, v) = call(&a, "POST", &bin.url("/populate"), Some(&body.to_string()));
    assert_eq!(status, 201);
    let proxies = v["proxies"].as_array().expect("proxies array");
    assert_eq!(proxies.len(), 2);
    assert_eq!(
        proxies[1]["toxics"][0]["name"],
        json!("limit_data_downstream")
    );

    let bad = json!([{"name": "c", "upstream": echo.addr.to_string()}, {"name": "d"}]);
    assert_eq!(
        call(&a, "POST", &bin.url("/populate"), Some(&bad.to_string())).0,
        400
    );
    assert_eq!(
        call(&a, "GET", &bin.url("/proxies/c"), None).0,
        404,
        "nothing created on bad input"
    );

    call(
        &a,
        "POST",
        &bin.url("/proxies/a"),
        Some(r#"{"enabled":false}"#),
    );
    assert_eq!(call(&a, "POST", &bin.url("/reset"), None).0, 204);
    let (_, v) = call(&a, "GET", &bin.url("/proxies"), None);
    assert_eq!(v["a"]["enabled"], json!(true), "reset re-enables");
    assert_eq!(v["b"]["toxics"], json!([]), "reset removes toxics");
}

#[test]
fn populating_an_identical_proxy_keeps_it_and_its_toxics_localhost_included() {
    let echo = Echo::start();
    let bin = ProxyBin::start(&[]);
    let a = agent();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let config = json!([{"name": "db", "listen": format!("localhost:{port}"), "upstream": echo.addr.to_string()}]);
    let (status, v) = call(&a, "POST", &bin.url("/populate"), Some(&config.to_string()));
    assert_eq!(status, 201, "{v}");
    assert_eq!(
        v["proxies"][0]["listen"],
        json!(format!("127.0.0.1:{port}")),
        "reported resolved"
    );
    let toxic = r#"{"name":"slow","type":"latency","attributes":{"latency":10}}"#;
    assert_eq!(
        call(&a, "POST", &bin.url("/proxies/db/toxics"), Some(toxic)).0,
        200
    );
    // The same proxy again: kept, toxic and all.
    let (status, v) = call(&a, "POST", &bin.url("/populate"), Some(&config.to_string()));
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["proxies"][0]["toxics"][0]["name"], json!("slow"), "{v}");
    // A changed one is replaced, toxics gone.
    let changed =
        json!([{"name": "db", "listen": format!("localhost:{port}"), "upstream": "127.0.0.1:9"}]);
    let (status, v) = call(
        &a,
        "POST",
        &bin.url("/populate"),
        Some(&changed.to_string()),
    );
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["proxies"][0]["toxics"], json!([]), "{v}");
    assert_eq!(v["proxies"][0]["upstream"], json!("127.0.0.1:9"));
}

#[test]
fn browsers_are_refused_with_403() {
    let bin = ProxyBin::start(&[]);
    let mut resp = agent()
        .get(&bin.url("/proxies"))
        .header("user-agent", "Mozilla/5.0 (X11; Linux x86_64)")
        .call()
        .expect("request");
    assert_eq!(resp.status().as_u16(), 403);
    // Toxiproxy's middleware answers with Go's http.Error, in plain text.
    let body = resp.body_mut().read_to_string().expect("body");
    assert_eq!(body, "User agent not allowed\n");
}

#[test]
fn listen_address_in_use_is_toxiproxys_500_and_changes_nothing() {
    let echo = Echo::start();
    let bin = ProxyBin::start(&[]);
    let a = agent();
    let taken = create_proxy(&a, &bin, "first", echo.addr);
    let body =
        json!({"name": "second", "upstream": echo.addr.to_string(), "listen": taken.to_string()});
    let (status, v) = call(&a, "POST", &bin.url("/proxies"), Some(&body.to_string()));
    // Toxiproxy passes net.Listen's error through as a 500.
    let want = format!("listen tcp {taken}: bind: address already in use");
    assert_eq!((status, &v), (500, &json!({"error": want, "status": 500})));
    assert_eq!(call(&a, "GET", &bin.url("/proxies/second"), None).0, 404);
    let other = create_proxy(&a, &bin, "other", echo.addr);
    let body = json!({"listen": other.to_string()}).to_string();
    let (status, v) = call(&a, "POST", &bin.url("/proxies/first"), Some(&body));
    assert_eq!(status, 500, "moving onto a used address: {v}");
    let (_, v) = call(&a, "GET", &bin.url("/proxies/first"), None);
    assert_eq!(
        (v["listen"].as_str(), &v["enabled"]),
        (Some(taken.to_string().as_str()), &json!(true))
    );
    let mut c = connect(taken);
    c.write_all(b"still works").expect("write");
    let mut got = [0u8; 11];
    c.read_exact(&mut got)
        .expect("echo through the first proxy");
    assert_eq!(&got, b"still works");
}

#[test]
fn bad_requests_leave_running_proxies_and_connections_alone() {
    let echo = Echo::start();
    let bin = ProxyBin::start(&[]);
    let a = agent();
    let listen = create_proxy(&a, &bin, "db", echo.addr);
    let mut c = connect(listen);
    for (m, path, body) in [
        ("POST", "/proxies", "{not json"),
        (
            "POST",
            "/proxies/db/toxics",
            r#"{"type":"timeout","attributes":{"timeout":"soon"}}"#,
        ),
        ("POST", "/proxies/db", r#"{"enabled":"nope"}"#),
        ("POST", "/populate", r#"{"not":"an array"}"#),
        (
            "POST",
            "/proxies/db/toxics",
            r#"{"type":"slicer","attributes":{"average_size":-1}}"#,
        ),
    ] {
        let (status, _) = call(&a, m, &bin.url(path), Some(body));
        assert_eq!(status, 400, "{m} {path} {body}");
    }
    let (_, v) = call(&a, "GET", &bin.url("/proxies/db"), None);
    assert_eq!((&v["enabled"], &v["toxics"]), (&json!(true), &json!([])));
    c.write_all(b"ping").expect("write");
    let mut got = [0u8; 4];
    c.read_exact(&mut got).expect("connection survived");
    assert_eq!(&got, b"ping");
}

#[test]
fn config_file_toxics_apply_before_the_first_connection() {
    let echo = Echo::start();
    let dir = std::env::temp_dir().join(format!("ballast-chaos-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let path = dir.join("proxies.json");
    let cfg = json!([{"name": "cfg", "upstream": echo.addr.to_string(), "listen": "127.0.0.1:0",
                      "toxics": [{"type": "limit_data", "attributes": {"bytes": 5}}]}]);
    std::fs::write(&path, cfg.to_string()).expect("write config");
    let bin = ProxyBin::start(&["-config", path.to_str().expect("utf-8 path")]);
    let (_, v) = call(&agent(), "GET", &bin.url("/proxies/cfg"), None);
    let listen = v["listen"].as_str().expect("listen").parse().expect("addr");
    let mut c = connect(listen);
    c.write_all(b"0123456789").expect("write");
    let mut got = Vec::new();
    c.read_to_end(&mut got).expect("clean close");
    assert_eq!(got, b"01234");
    let _ = std::fs::remove_dir_all(&dir);
}
