//! A TCP relay between a replica and its master (as `tests/redis_durability.rs` uses). While
//! stalled, the master's bytes are read and thrown away: the replica neither gets the writes
//! nor acknowledges them, as when a master dies before its last writes reach the replica.
//! The replica's own bytes (its acknowledgements of what it has) still go up.

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug)]
pub struct LinkProxy {
    pub port: u16,
    stalled: Arc<AtomicBool>,
}

impl LinkProxy {
    pub fn spawn(upstream: u16) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let stalled = Arc::new(AtomicBool::new(false));
        let flag = stalled.clone();
        std::thread::spawn(move || {
            for downstream in listener.incoming() {
                let Ok(downstream) = downstream else { continue };
                let Ok(up) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    let _ = downstream.shutdown(Shutdown::Both);
                    continue;
                };
                let (Ok(d2), Ok(u2)) = (downstream.try_clone(), up.try_clone()) else {
                    continue;
                };
                std::thread::spawn(move || pump(downstream, up, None));
                let flag = flag.clone();
                std::thread::spawn(move || pump(u2, d2, Some(flag)));
            }
        });
        Ok(Self { port, stalled })
    }

    /// From now on, drop what the master sends.
    pub fn stall(&self) {
        self.stalled.store(true, Ordering::SeqCst);
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, drop_while: Option<Arc<AtomicBool>>) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if drop_while
            .as_ref()
            .is_some_and(|f| f.load(Ordering::SeqCst))
        {
            continue;
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}
