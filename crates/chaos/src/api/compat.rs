//! Responses shaped the way Toxiproxy's Go server writes them, where a
//! client can see the difference: error bodies (`http.Error`: the JSON
//! object and a newline, as `text/plain` with `nosniff`), the mux's plain
//! 404, the `X-Toxiproxy-Request-Id` header, and the 503 of Go's
//! `http.TimeoutHandler`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The header Toxiproxy's API puts a fresh request id in (zerolog's
/// `hlog.RequestIDHandler`): on every response, errors included.
pub const REQUEST_ID_HEADER: &str = "x-toxiproxy-request-id";

const GO_TEXT: &str = "text/plain; charset=utf-8";

/// What Go's `http.TimeoutHandler` answers with an empty message.
pub(super) const TIMEOUT_BODY: &str =
    "<html><head><title>Timeout</title></head><body><h1>Timeout</h1></body></html>";

/// A Toxiproxy API error: `{"error": msg, "status": code}` and a newline,
/// written through Go's `http.Error`.
pub(super) fn api_error(status: StatusCode, msg: &str) -> Response {
    let body = json!({"error": msg, "status": status.as_u16()});
    go_text(status, format!("{body}\n"))
}

/// A body written through Go's `http.Error`: plain text, `nosniff`.
pub(super) fn go_text(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(GO_TEXT)),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}

/// gorilla/mux's answer to a path no route matches.
pub(super) fn page_not_found() -> Response {
    go_text(StatusCode::NOT_FOUND, "404 page not found\n".to_owned())
}

/// Gives every response a fresh request id and logs the request at debug,
/// as Toxiproxy's access log does.
pub(super) async fn request_id(req: Request, next: Next) -> Response {
    let id = xid();
    let (method, uri) = (req.method().clone(), req.uri().clone());
    let started = Instant::now();
    let mut resp = next.run(req).await;
    tracing::debug!(
        request_id = %id,
        method = %method,
        url = %uri,
        status = resp.status().as_u16(),
        duration_us = started.elapsed().as_micros() as u64,
        "api request"
    );
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), v);
    }
    resp
}

/// A globally unique id in the format of `rs/xid`, which Toxiproxy uses:
/// 12 bytes (seconds since the epoch, 3 bytes of machine id, the pid, a
/// 24-bit counter from a random start) written as 20 characters of
/// lower-case base32hex. Ids sort by creation second.
pub fn xid() -> String {
    static COUNTER: OnceLock<AtomicU32> = OnceLock::new();
    let counter = COUNTER.get_or_init(|| AtomicU32::new(random_u32()));
    let n = counter.fetch_add(1, Ordering::Relaxed) & 0x00FF_FFFF;
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32);
    let machine = machine_id();
    let pid = std::process::id() as u16;
    let mut raw = [0u8; 12];
    raw[..4].copy_from_slice(&secs.to_be_bytes());
    raw[4..7].copy_from_slice(&machine);
    raw[7..9].copy_from_slice(&pid.to_be_bytes());
    raw[9..].copy_from_slice(&n.to_be_bytes()[1..]);
    base32hex(&raw)
}

fn base32hex(raw: &[u8; 12]) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    let bits = u128::from_be_bytes({
        let mut b = [0u8; 16];
        b[..12].copy_from_slice(raw);
        b
    });
    // 96 bits as 20 five-bit digits, most significant first; the last digit
    // holds the final bit and four zero bits.
    (0..20)
        .map(|i| ALPHABET[((bits >> (123 - 5 * i)) & 0x1F) as usize] as char)
        .collect()
}

fn machine_id() -> [u8; 3] {
    static ID: OnceLock<[u8; 3]> = OnceLock::new();
    *ID.get_or_init(|| {
        let source = std::fs::read_to_string("/etc/machine-id")
            .or_else(|_| std::fs::read_to_string("/proc/sys/kernel/hostname"))
            .unwrap_or_default();
        let h = fnv1a(source.trim().as_bytes());
        [(h >> 16) as u8, (h >> 8) as u8, h as u8]
    })
}

fn random_u32() -> u32 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut seed = [0u8; 8];
    seed[..4].copy_from_slice(&nanos.to_le_bytes());
    seed[4..].copy_from_slice(&std::process::id().to_le_bytes());
    fnv1a(&seed)
}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// The answer to a request still running after the timeout: the 503 and
/// small HTML body of Go's `http.TimeoutHandler` with an empty message.
pub(super) fn timed_out() -> Response {
    let mut r = Response::new(Body::from(TIMEOUT_BODY));
    *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xids_are_twenty_base32hex_characters_unique_and_time_ordered() {
        let a = xid();
        let b = xid();
        assert_eq!(a.len(), 20, "{a}");
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'v').contains(&c))
        );
        assert_ne!(a, b);
        // The first 6 characters are the leading 30 bits of the timestamp.
        assert_eq!(a[..6], b[..6]);
    }

    #[test]
    fn base32hex_matches_the_rfc_4648_extended_hex_alphabet() {
        // 12 bytes of 0x00 then one bit set at the very end.
        let mut raw = [0u8; 12];
        assert_eq!(base32hex(&raw), "00000000000000000000");
        raw[11] = 1;
        assert_eq!(base32hex(&raw), "0000000000000000000g");
        raw = [0xFF; 12];
        assert_eq!(base32hex(&raw), "vvvvvvvvvvvvvvvvvvvg");
        // The example id of rs/xid's README decodes to these bytes.
        let raw = [
            0x4d, 0x88, 0xe1, 0x5b, 0x60, 0xf4, 0x86, 0xe4, 0x28, 0x41, 0x2d, 0xc9,
        ];
        assert_eq!(base32hex(&raw), "9m4e2mr0ui3e8a215n4g");
    }
}
