//! What a Toxiproxy client sees on the wire, byte for byte where Toxiproxy
//! v2.12 fixes it: error bodies and their content type, the plain 404, the
//! request-id header, `/populate`'s error body naming the bad proxy, and
//! `/version`.

mod common;

use common::{Echo, ProxyBin, agent, call, create_proxy};
use serde_json::{Value, json};

/// Status, headers and raw body of one request.
fn raw(method: &str, url: &str, body: Option<&str>) -> (u16, Vec<(String, String)>, String) {
    let a = agent();
    let resp = match body {
        Some(b) => a
            .post(url)
            .header("content-type", "application/json")
            .send(b),
        None if method == "GET" => a.get(url).call(),
        None => a.delete(url).call(),
    };
    let mut resp = resp.expect("http request");
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (resp.status().as_u16(), headers, text)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[test]
fn errors_are_written_as_gos_http_error() {
    let bin = ProxyBin::start(&[]);
    let (status, headers, body) = raw("GET", &bin.url("/proxies/nope"), None);
    assert_eq!(status, 404);
    assert_eq!(body, "{\"error\":\"proxy not found\",\"status\":404}\n");
    assert_eq!(
        header(&headers, "content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(header(&headers, "x-content-type-options"), Some("nosniff"));

    let toxic = r#"{"type":"no_such_toxic"}"#;
    let echo = Echo::start();
    create_proxy(&agent(), &bin, "db", echo.addr);
    let (status, _, body) = raw("POST", &bin.url("/proxies/db/toxics"), Some(toxic));
    assert_eq!(
        (status, body.as_str()),
        (400, "{\"error\":\"invalid toxic type\",\"status\":400}\n")
    );
}

#[test]
fn unknown_paths_get_the_muxs_plain_404() {
    let bin = ProxyBin::start(&[]);
    for path in ["/nope", "/proxies/a/b/c/d", "/metrics"] {
        let (status, headers, body) = raw("GET", &bin.url(path), None);
        assert_eq!(
            (status, body.as_str()),
            (404, "404 page not found\n"),
            "{path}"
        );
        assert_eq!(
            header(&headers, "content-type"),
            Some("text/plain; charset=utf-8")
        );
    }
}

#[test]
fn every_response_carries_a_fresh_request_id() {
    let bin = ProxyBin::start(&[]);
    let mut seen = Vec::new();
    for path in ["/version", "/proxies", "/proxies/nope", "/nope"] {
        let (_, headers, _) = raw("GET", &bin.url(path), None);
        let id = header(&headers, "x-toxiproxy-request-id")
            .unwrap_or_else(|| panic!("no request id on {path}"))
            .to_owned();
        assert_eq!(id.len(), 20, "xid format: {id}");
        assert!(
            id.bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'v').contains(&c)),
            "{id}"
        );
        assert!(!seen.contains(&id), "ids repeat: {id}");
        seen.push(id);
    }
}

#[test]
fn version_is_written_as_toxiproxy_writes_it() {
    let bin = ProxyBin::start(&[]);
    let (status, headers, body) = raw("GET", &bin.url("/version"), None);
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-type"),
        Some("application/json;charset=utf-8")
    );
    let v: Value = serde_json::from_str(&body).expect("json");
    assert!(v["version"].is_string(), "{body}");
    assert!(body.starts_with("{\"version\": \"") && body.ends_with("\"}\n"));
}

#[test]
fn populate_names_the_proxy_that_is_missing_a_field_and_changes_nothing() {
    let bin = ProxyBin::start(&[]);
    let echo = Echo::start();
    let body = json!([
        {"name": "ok", "upstream": echo.addr.to_string()},
        {"name": "broken"},
    ]);
    let (status, v) = call(
        &agent(),
        "POST",
        &bin.url("/populate"),
        Some(&body.to_string()),
    );
    assert_eq!(
        (status, &v),
        (
            400,
            &json!({
                "error": "missing required field: upstream at proxy 2",
                "status": 400,
                "proxies": null,
            })
        )
    );
    let (_, list) = call(&agent(), "GET", &bin.url("/proxies"), None);
    assert_eq!(list, json!({}), "nothing applied");
}

#[test]
fn populate_stops_at_a_listen_conflict_and_reports_what_it_applied() {
    let bin = ProxyBin::start(&[]);
    let echo = Echo::start();
    let a = agent();
    let taken = create_proxy(&a, &bin, "holder", echo.addr);
    let up = echo.addr.to_string();
    let body = json!([
        {"name": "first", "upstream": up, "listen": "127.0.0.1:0"},
        {"name": "second", "upstream": up, "listen": taken.to_string()},
        {"name": "third", "upstream": up, "listen": "127.0.0.1:0"},
    ]);
    let (status, v) = call(&a, "POST", &bin.url("/populate"), Some(&body.to_string()));
    assert_eq!(status, 500, "{v}");
    assert_eq!(
        v["error"],
        json!(format!(
            "listen tcp {taken}: bind: address already in use at proxy 2 (\"second\")"
        ))
    );
    assert_eq!(v["status"], json!(500));
    let applied: Vec<&str> = v["proxies"]
        .as_array()
        .expect("applied proxies")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(applied, ["first"]);
    let (_, list) = call(&a, "GET", &bin.url("/proxies"), None);
    let mut names: Vec<&String> = list.as_object().expect("map").keys().collect();
    names.sort();
    assert_eq!(names, ["first", "holder"]);
}

#[test]
fn populate_refuses_a_name_given_twice_before_changing_anything() {
    let bin = ProxyBin::start(&[]);
    let echo = Echo::start();
    let up = echo.addr.to_string();
    let body = json!([
        {"name": "twin", "upstream": up},
        {"name": "twin", "upstream": up},
    ]);
    let (status, v) = call(
        &agent(),
        "POST",
        &bin.url("/populate"),
        Some(&body.to_string()),
    );
    assert_eq!(status, 400, "{v}");
    assert_eq!(
        v["error"],
        json!("bad request body: duplicate proxy name \"twin\" at proxy 2 (\"twin\")")
    );
    let (_, list) = call(&agent(), "GET", &bin.url("/proxies"), None);
    assert_eq!(list, json!({}));
}
