//! A tiny HTTP endpoint (feature `http`, axum on tokio) serving
//! `/health/live`, `/health/ready`, `/health` (JSON report) and `/metrics`
//! (Prometheus text).

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::health::HealthRegistry;
use crate::metrics::MetricsRegistry;

#[derive(Clone)]
struct Endpoints {
    health: Arc<HealthRegistry>,
    metrics: Arc<MetricsRegistry>,
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
}

async fn live(State(e): State<Endpoints>) -> impl IntoResponse {
    let code = e.health.liveness_status();
    (
        status(code),
        if code == 200 { "live\n" } else { "not live\n" },
    )
}

async fn ready(State(e): State<Endpoints>) -> impl IntoResponse {
    let code = e.health.readiness_status();
    (
        status(code),
        if code == 200 {
            "ready\n"
        } else {
            "not ready\n"
        },
    )
}

async fn report(State(e): State<Endpoints>) -> impl IntoResponse {
    let report = e.health.report();
    let code = if report.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        report.to_json(),
    )
}

async fn metrics(State(e): State<Endpoints>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        e.metrics.render_prometheus(),
    )
}

async fn metrics_json(State(e): State<Endpoints>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        e.metrics.render_json(),
    )
}

/// The five routes (`/metrics/json` is the same page as a JSON snapshot),
/// for mounting into an existing axum application.
pub fn router(health: Arc<HealthRegistry>, metrics_registry: Arc<MetricsRegistry>) -> Router {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/health", get(report))
        .route("/metrics", get(metrics))
        .route("/metrics/json", get(metrics_json))
        .with_state(Endpoints {
            health,
            metrics: metrics_registry,
        })
}

/// Serves [`router`] on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    health: Arc<HealthRegistry>,
    metrics_registry: Arc<MetricsRegistry>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(health, metrics_registry))
        .with_graceful_shutdown(shutdown)
        .await
}
