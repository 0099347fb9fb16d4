//! A loopback TCP relay whose connections can be silently black-holed:
//! bytes are read and dropped, nothing is closed, so the client sees a
//! half-open connection (as when a firewall forgets it or the host's
//! machine vanishes).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The relay; dropping it stops and joins its threads.
pub struct Relay {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    holes: Arc<Mutex<Vec<Arc<AtomicBool>>>>,
    threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
    acceptor: Option<JoinHandle<()>>,
}

impl Relay {
    /// Relays every connection to `upstream`.
    pub fn start(upstream: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local addr");
        let stop = Arc::new(AtomicBool::new(false));
        let holes: Arc<Mutex<Vec<Arc<AtomicBool>>>> = Arc::default();
        let threads: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (s, h, t) = (Arc::clone(&stop), Arc::clone(&holes), Arc::clone(&threads));
        let acceptor = std::thread::spawn(move || {
            while !s.load(Ordering::Acquire) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let hole = Arc::new(AtomicBool::new(false));
                        h.lock().expect("holes").push(Arc::clone(&hole));
                        let server = TcpStream::connect(upstream).expect("upstream");
                        let mut list = t.lock().expect("threads");
                        list.push(pipe(&client, &server, &s, &hole));
                        list.push(pipe(&server, &client, &s, &hole));
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => return,
                }
            }
        });
        Relay {
            addr,
            stop,
            holes,
            threads,
            acceptor: Some(acceptor),
        }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Black-holes every connection made so far (later ones still relay).
    pub fn black_hole_existing(&self) {
        for h in self.holes.lock().expect("holes").iter() {
            h.store(true, Ordering::Release);
        }
    }
}

/// Copies `from` → `to` until stop, EOF or error; drops the bytes while
/// `hole` is set.
fn pipe(
    from: &TcpStream,
    to: &TcpStream,
    stop: &Arc<AtomicBool>,
    hole: &Arc<AtomicBool>,
) -> JoinHandle<()> {
    let mut from = from.try_clone().expect("clone");
    let mut to = to.try_clone().expect("clone");
    let (stop, hole) = (Arc::clone(stop), Arc::clone(hole));
    from.set_read_timeout(Some(Duration::from_millis(20)))
        .expect("timeout");
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while !stop.load(Ordering::Acquire) {
            match from.read(&mut buf) {
                Ok(0) => return,
                Ok(n) if !hole.load(Ordering::Acquire) => {
                    if to.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => return,
            }
        }
    })
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
        for t in self.threads.lock().expect("threads").drain(..) {
            let _ = t.join();
        }
    }
}
