//! A password typed into a non-display field is wiped from the screen
//! buffer before that memory goes back to the allocator. Its own test
//! binary: a global allocator looks into every block freed while the
//! client is dropped.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use ballast_session::host::{DemoApp, HostConfig, HostSimulator};
use ballast_session::{Client, Condition, Screen, SessionConfig};

/// Passes everything to `System`; while armed, counts freed blocks of the
/// screen buffer's size that still hold the password or the user id.
struct Inspecting;

static ARMED: AtomicBool = AtomicBool::new(false);
static BLOCK_LEN: AtomicUsize = AtomicUsize::new(0);
static PASSWORD: OnceLock<Vec<u8>> = OnceLock::new();
static USER: OnceLock<Vec<u8>> = OnceLock::new();
static PASSWORD_FREED: AtomicUsize = AtomicUsize::new(0);
static USER_FREED: AtomicUsize = AtomicUsize::new(0);

fn holds(block: &[u8], needle: Option<&Vec<u8>>) -> bool {
    needle.is_some_and(|n| !n.is_empty() && block.windows(n.len()).any(|w| w == n.as_slice()))
}

// SAFETY: every call goes to `System` with the caller's arguments; `dealloc`
// only reads the block it was given before freeing it.
unsafe impl GlobalAlloc for Inspecting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.load(Ordering::Acquire) && layout.size() == BLOCK_LEN.load(Ordering::Acquire) {
            // SAFETY: `ptr` is a live block of `layout.size()` bytes that
            // this allocator handed out and that is not yet freed; its
            // bytes were initialised (the screen buffers are zero-filled).
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            if holds(block, PASSWORD.get()) {
                PASSWORD_FREED.fetch_add(1, Ordering::Relaxed);
            }
            if holds(block, USER.get()) {
                USER_FREED.fetch_add(1, Ordering::Relaxed);
            }
        }
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Inspecting = Inspecting;

fn ebcdic(screen: &Screen, text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| screen.code_page().encode(c).expect("encodable"))
        .collect()
}

/// A client at the demo's logon screen with user id `OPS7` and password
/// `PW9XQZ` typed (the password into the non-display field), not sent.
fn typed_sign_on() -> (HostSimulator, Client) {
    let host = HostSimulator::start(HostConfig::default(), DemoApp::default()).expect("host");
    let t = Duration::from_secs(10);
    let mut c = Client::connect(host.local_addr(), SessionConfig::default(), t).expect("client");
    c.wait_for(Condition::Text("PLEASE SIGN ON".into()), t)
        .expect("logon screen");
    c.type_text("OPS7").expect("user id");
    c.tab();
    c.type_text("PW9XQZ")
        .expect("password into the non-display field");
    (host, c)
}

#[test]
fn a_typed_password_is_wiped_from_the_screen_buffer_when_the_client_drops() {
    let (_host, c) = typed_sign_on();
    assert!(
        c.screen().text_with_hidden().contains("PW9XQZ"),
        "the password is in the screen buffer"
    );
    assert!(!c.screen().text().contains("PW9XQZ"), "and shown as blanks");
    let _ = PASSWORD.set(ebcdic(c.screen(), "PW9XQZ"));
    let _ = USER.set(ebcdic(c.screen(), "OPS7"));
    BLOCK_LEN.store(c.screen().len(), Ordering::Release);

    ARMED.store(true, Ordering::Release);
    drop(c);
    ARMED.store(false, Ordering::Release);

    assert!(
        USER_FREED.load(Ordering::Relaxed) >= 1,
        "the inspection saw the screen buffer (the visible user id is in it)"
    );
    assert_eq!(
        PASSWORD_FREED.load(Ordering::Relaxed),
        0,
        "the password was wiped before the buffer was freed"
    );
}

#[test]
fn wipe_hidden_blanks_only_non_display_fields() {
    let (_host, c) = typed_sign_on();
    let mut screen = c.screen().clone();
    screen.wipe_hidden();
    let text = screen.text_with_hidden();
    assert!(!text.contains("PW9XQZ"), "{text}");
    assert!(text.contains("OPS7"), "visible fields stay: {text}");
    assert!(text.contains("PLEASE SIGN ON"), "{text}");
}
