//! The Toxiproxy-compatible HTTP API over a [`ChaosProxy`].
//!
//! Same routes, status codes, JSON shapes and defaults as Toxiproxy 2.x:
//! `GET/POST /proxies`, `POST /populate`, `GET/POST/PATCH/DELETE
//! /proxies/{proxy}`, `GET/POST /proxies/{proxy}/toxics`,
//! `GET/POST/PATCH/DELETE /proxies/{proxy}/toxics/{toxic}`, `POST /reset`,
//! `GET /version`. Errors are `{"error": "...", "status": N}` written as Go's
//! `http.Error` writes them; every response carries a fresh
//! `X-Toxiproxy-Request-Id`. Requests from browsers (`User-Agent:
//! Mozilla/...`) get 403, as in Toxiproxy, so a web page cannot drive the
//! API. A request still running after [`ApiConfig::request_timeout`] gets
//! the 503 of Go's `http.TimeoutHandler`.
//!
//! Bounds: at most [`ApiConfig::max_connections`] connections, request
//! headers within [`ApiConfig::header_read_timeout`], whole requests within
//! [`ApiConfig::request_timeout`], bodies up to [`ApiConfig::max_body_bytes`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

mod compat;
#[cfg(target_os = "linux")]
mod runtime;

pub use compat::{REQUEST_ID_HEADER, xid};
use compat::{api_error, go_text, page_not_found};

use crate::error::Error;
use crate::proxy::{ChaosProxy, ConnectionInfo, ProxyConfig, ProxyUpdate};
use crate::toxic::Toxic;

/// Toxiproxy's default API port.
pub const DEFAULT_API_PORT: u16 = 8474;

/// Bounds of the API server.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Time a client has to send a request's headers (default 10 s).
    pub header_read_timeout: Duration,
    /// Time a whole request (headers, body, handling) may take (default
    /// 25 s, Toxiproxy's `http.TimeoutHandler`).
    pub request_timeout: Duration,
    /// Concurrent API connections; more are closed at accept (default 256).
    pub max_connections: usize,
    /// Largest request body (default 1 MiB).
    pub max_body_bytes: usize,
    /// Serve `/metrics` with Toxiproxy's proxy metrics (`-proxy-metrics`);
    /// off by default, as in Toxiproxy, where `/metrics` is then 404.
    pub proxy_metrics: bool,
    /// Serve `/metrics` with the process and runtime families
    /// (`-runtime-metrics`): Toxiproxy's `process_*` names, plus `tokio_*`
    /// in place of Go's `go_*`. Off by default.
    pub runtime_metrics: bool,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(25),
            max_connections: 256,
            max_body_bytes: 1 << 20,
            proxy_metrics: false,
            runtime_metrics: false,
        }
    }
}

/// The axum router of the API.
pub fn router(proxy: ChaosProxy, cfg: &ApiConfig) -> Router {
    let timeout = cfg.request_timeout;
    let (with_proxy, with_runtime) = (cfg.proxy_metrics, cfg.runtime_metrics);
    let metrics_route = if with_proxy || with_runtime {
        get(move |state| metrics(state, with_proxy, with_runtime))
    } else {
        get(|| async { page_not_found() })
    };
    Router::new()
        .route("/metrics", metrics_route)
        .route("/proxies", get(list_proxies).post(create_proxy))
        .route("/populate", post(populate))
        .route(
            "/proxies/{proxy}",
            get(show_proxy)
                .post(update_proxy)
                .patch(update_proxy)
                .delete(delete_proxy),
        )
        .route(
            "/proxies/{proxy}/toxics",
            get(list_toxics).post(create_toxic),
        )
        .route(
            "/proxies/{proxy}/toxics/{toxic}",
            get(show_toxic)
                .post(update_toxic)
                .patch(update_toxic)
                .delete(delete_toxic),
        )
        .route("/proxies/{proxy}/connections", get(list_connections))
        .route(
            "/proxies/{proxy}/connections/{id}",
            get(show_connection).delete(end_connection),
        )
        .route("/reset", post(reset))
        .route("/version", get(version))
        .fallback(|| async { page_not_found() })
        .layer(DefaultBodyLimit::max(cfg.max_body_bytes))
        .layer(middleware::from_fn(move |req, next| {
            bounded(timeout, req, next)
        }))
        .layer(middleware::from_fn(refuse_browsers))
        .layer(middleware::from_fn(compat::request_id))
        .with_state(proxy)
}

/// A running API server; dropping it stops accepting.
#[derive(Debug)]
pub struct ApiServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl ApiServer {
    /// Binds `addr` (port 0 picks one) and serves the API in a task.
    pub async fn bind(
        addr: SocketAddr,
        proxy: ChaosProxy,
        cfg: ApiConfig,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(serve(listener, proxy, cfg));
        Ok(Self { addr, task })
    }
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves the API on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, proxy: ChaosProxy, cfg: ApiConfig) {
    let app = router(proxy, &cfg);
    let slots = Arc::new(Semaphore::new(cfg.max_connections));
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::warn!(error = %e, "api accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::warn!("api connection limit reached; closing");
            continue;
        };
        let svc = TowerToHyperService::new(app.clone());
        let header_timeout = cfg.header_read_timeout;
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .max_buf_size(64 * 1024)
                .serve_connection(TokioIo::new(stream), svc);
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "api connection ended");
            }
            drop(permit);
        });
    }
}

async fn refuse_browsers(req: Request, next: Next) -> Response {
    let ua = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ua.starts_with("Mozilla/") {
        return go_text(StatusCode::FORBIDDEN, "User agent not allowed\n".to_owned());
    }
    next.run(req).await
}

async fn bounded(timeout: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => compat::timed_out(),
    }
}

fn json_body(v: &Value) -> ([(header::HeaderName, HeaderValue); 1], String) {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        v.to_string(),
    )
}

fn ok(status: StatusCode, v: &Value) -> Response {
    (status, json_body(v)).into_response()
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
        api_error(status, &self.toxiproxy_message())
    }
}

fn parse(body: &[u8]) -> Result<Value, Error> {
    serde_json::from_slice(body).map_err(|e| Error::BadRequestBody {
        reason: e.to_string(),
    })
}

type ApiResult = Result<Response, Error>;

async fn list_proxies(State(p): State<ChaosProxy>) -> ApiResult {
    let map: serde_json::Map<String, Value> = p
        .list()
        .await
        .into_iter()
        .map(|i| (i.name.clone(), i.to_json()))
        .collect();
    Ok(ok(StatusCode::OK, &Value::Object(map)))
}

async fn create_proxy(State(p): State<ChaosProxy>, body: Bytes) -> ApiResult {
    let cfg = ProxyConfig::from_json_value(&parse(&body)?)?;
    Ok(ok(StatusCode::CREATED, &p.create(cfg).await?.to_json()))
}

/// Toxiproxy's `/populate`: 201 and `{"proxies": [...]}`, or the error's
/// status with `{"error", "status", "proxies"}`, where `proxies` lists what
/// was applied before the failure (`null` when nothing was). Errors name the
/// proxy as Toxiproxy does: `missing required field: name at proxy 2`.
async fn populate(State(p): State<ChaosProxy>, body: Bytes) -> Response {
    let v = match parse(&body) {
        Ok(v) => v,
        Err(e) => return populate_error(&e, &e.toxiproxy_message(), &[]),
    };
    let Some(items) = v.as_array() else {
        let e = Error::BadRequestBody {
            reason: "expected a json array of proxies".into(),
        };
        return populate_error(&e, &e.toxiproxy_message(), &[]);
    };
    let mut cfgs = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match ProxyConfig::from_json_value(item) {
            Ok(c) => cfgs.push(c),
            Err(e) => {
                let msg = format!("{} at proxy {}", e.toxiproxy_message(), i + 1);
                return populate_error(&e, &msg, &[]);
            }
        }
    }
    let names: Vec<String> = cfgs.iter().map(|c| c.name.clone()).collect();
    let done = p.populate_each(cfgs).await;
    let proxies: Vec<Value> = done.proxies.iter().map(|i| i.to_json()).collect();
    match done.failed {
        None => ok(StatusCode::CREATED, &json!({ "proxies": proxies })),
        Some((i, e)) => {
            let msg = format!(
                "{} at proxy {} ({:?})",
                e.toxiproxy_message(),
                i + 1,
                names[i]
            );
            populate_error(&e, &msg, &proxies)
        }
    }
}

fn populate_error(e: &Error, msg: &str, applied: &[Value]) -> Response {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let proxies = if applied.is_empty() {
        Value::Null
    } else {
        Value::Array(applied.to_vec())
    };
    ok(
        status,
        &json!({"error": msg, "status": status.as_u16(), "proxies": proxies}),
    )
}

async fn show_proxy(State(p): State<ChaosProxy>, Path(name): Path<String>) -> ApiResult {
    Ok(ok(StatusCode::OK, &p.get(&name).await?.to_json()))
}

async fn update_proxy(
    State(p): State<ChaosProxy>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    let upd = ProxyUpdate::from_json_value(&parse(&body)?)?;
    Ok(ok(StatusCode::OK, &p.update(&name, upd).await?.to_json()))
}

async fn delete_proxy(State(p): State<ChaosProxy>, Path(name): Path<String>) -> ApiResult {
    p.delete(&name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_toxics(State(p): State<ChaosProxy>, Path(name): Path<String>) -> ApiResult {
    let toxics: Vec<Value> = p.toxics(&name).await?.iter().map(Toxic::to_json).collect();
    Ok(ok(StatusCode::OK, &Value::Array(toxics)))
}

async fn create_toxic(
    State(p): State<ChaosProxy>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    // Proxy first: an unknown proxy is 404 whatever the body says.
    p.get(&name).await?;
    let toxic = Toxic::from_json_value(&parse(&body)?)?;
    Ok(ok(
        StatusCode::OK,
        &p.add_toxic(&name, toxic).await?.to_json(),
    ))
}

async fn show_toxic(
    State(p): State<ChaosProxy>,
    Path((name, toxic)): Path<(String, String)>,
) -> ApiResult {
    Ok(ok(StatusCode::OK, &p.toxic(&name, &toxic).await?.to_json()))
}

async fn update_toxic(
    State(p): State<ChaosProxy>,
    Path((name, toxic)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let v = parse(&body)?;
    Ok(ok(
        StatusCode::OK,
        &p.update_toxic(&name, &toxic, &v).await?.to_json(),
    ))
}

async fn delete_toxic(
    State(p): State<ChaosProxy>,
    Path((name, toxic)): Path<(String, String)>,
) -> ApiResult {
    p.remove_toxic(&name, &toxic).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A ballast extension: the proxy's live connections, oldest first.
async fn list_connections(State(p): State<ChaosProxy>, Path(name): Path<String>) -> ApiResult {
    let conns: Vec<Value> = p
        .connections(&name)
        .await?
        .iter()
        .map(ConnectionInfo::to_json)
        .collect();
    Ok(ok(StatusCode::OK, &Value::Array(conns)))
}

fn connection_id(id: &str) -> Result<u64, Error> {
    id.parse().map_err(|_| Error::BadRequestBody {
        reason: format!("connection id must be a number, not {id:?}"),
    })
}

async fn show_connection(
    State(p): State<ChaosProxy>,
    Path((name, id)): Path<(String, String)>,
) -> ApiResult {
    let id = connection_id(&id)?;
    let conn = p
        .connections(&name)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or(Error::ConnectionNotFound)?;
    Ok(ok(StatusCode::OK, &conn.to_json()))
}

/// Ends one connection: FIN both ways, or RST with `?reset=true`.
async fn end_connection(
    State(p): State<ChaosProxy>,
    Path((name, id)): Path<(String, String)>,
    uri: axum::http::Uri,
) -> ApiResult {
    let id = connection_id(&id)?;
    let reset_param = uri.query().unwrap_or("").split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == "reset").then_some(v)
    });
    let reset = match reset_param {
        None | Some("false" | "0") => false,
        Some("true" | "1" | "") => true,
        Some(other) => {
            return Err(Error::BadRequestBody {
                reason: format!("reset must be true or false, not {other:?}"),
            });
        }
    };
    p.end_connection(&name, id, reset).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn reset(State(p): State<ChaosProxy>) -> ApiResult {
    p.reset().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn metrics(
    State(proxy): State<ChaosProxy>,
    with_proxy: bool,
    with_runtime: bool,
) -> Response {
    let mut page = String::new();
    if with_proxy {
        proxy.render_metrics(&mut page);
    }
    #[cfg(target_os = "linux")]
    if with_runtime {
        runtime::render(&mut page);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = with_runtime;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        page,
    )
        .into_response()
}

/// Toxiproxy writes its version by hand: `{"version": "X"}` and a newline.
async fn version() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json;charset=utf-8")],
        format!("{{\"version\": \"{}\"}}\n", env!("CARGO_PKG_VERSION")),
    )
        .into_response()
}
