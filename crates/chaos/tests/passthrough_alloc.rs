//! The proxy allocates nothing per chunk: with no active toxic it copies
//! (or splices) through a reused buffer, and with a toxic each chunk is cut
//! from a shared, reclaimed slab instead of being copied into an allocation
//! of its own. Counted with a global counting allocator over the whole
//! process.
#![cfg(feature = "proxy")]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use ballast_chaos::{ChaosProxy, ProxyConfig, Stream, Toxic, ToxicKind};

mod counting;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

fn echo_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        if let Ok((mut c, _)) = listener.accept() {
            let mut buf = [0u8; 8192];
            while let Ok(n) = c.read(&mut buf) {
                if n == 0 || c.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    });
    addr
}

fn exchange(c: &mut TcpStream, rounds: usize) {
    let mut msg = [42u8; 4096];
    for _ in 0..rounds {
        c.write_all(&msg).expect("write");
        c.read_exact(&mut msg).expect("read");
    }
}

#[test]
fn neither_passthrough_nor_a_noop_toxic_allocates_per_chunk() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("rt");
    let chaos = ChaosProxy::new(1);
    let upstream = echo_server();
    let info = rt
        .block_on(chaos.create(ProxyConfig::new("p", upstream.to_string())))
        .expect("proxy");
    let mut c = TcpStream::connect(info.listen_addr().expect("listen")).expect("connect");
    c.set_nodelay(true).expect("nodelay");
    exchange(&mut c, 200);

    let before = counting::allocations();
    exchange(&mut c, 2_000);
    let passthrough = counting::allocations() - before;

    // A noop toxic each way sends every chunk through the fault engine in
    // user space.
    for stream in [Stream::Upstream, Stream::Downstream] {
        let noop = Toxic::new(ToxicKind::Noop).stream(stream);
        rt.block_on(chaos.add_toxic("p", noop)).expect("toxic");
    }
    exchange(&mut c, 200);
    let before = counting::allocations();
    exchange(&mut c, 2_000);
    let scheduled = counting::allocations() - before;

    eprintln!(
        "allocations over 4 000 proxied chunks: passthrough {passthrough}, noop toxics {scheduled}"
    );
    assert!(
        passthrough < 400,
        "passthrough allocated {passthrough} times for 4 000 chunks"
    );
    // A copy per chunk would be at least 4 000 allocations.
    assert!(
        scheduled < 400,
        "the scheduled path allocated {scheduled} times for 4 000 chunks"
    );
}
