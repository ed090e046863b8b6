//! The port's door: a cap on open connections and a deadline for the first request.
//!
//! [`GateListener`] wraps the `TcpListener` that axum serves from. Every accepted socket gets
//! a [`Ticket`] and is counted until it closes, WebSockets included (the count lives in the
//! socket wrapper, which an upgraded WebSocket keeps). A connection starts `Pending`: it must
//! send its first request within `handshake_timeout_s`, or its next read fails and hyper
//! drops it (slowloris). When `max_connections` are open, the oldest connection that is not
//! a WebSocket (pending, or idle HTTP keep-alive) is closed to make room, so a crowd of
//! half-open sockets never locks out a new overlay; only when every slot is a live WebSocket
//! is the newcomer closed. Nothing here parses HTTP: axum and hyper still do.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::metrics::Metrics;

const PENDING: u8 = 0;
const HTTP: u8 = 1;
const WEBSOCKET: u8 = 2;

/// One connection as the gate sees it.
#[derive(Debug)]
struct Slot {
    state: AtomicU8,
    evict: CancellationToken,
}

/// What a request knows of its connection (axum's `ConnectInfo`): lets handlers mark it as a
/// WebSocket once upgraded.
#[derive(Debug, Clone)]
pub struct Ticket {
    slot: Arc<Slot>,
    pub remote: SocketAddr,
}

impl Ticket {
    /// A request arrived: the handshake deadline no longer applies.
    pub fn request(&self) {
        let _ =
            self.slot
                .state
                .compare_exchange(PENDING, HTTP, Ordering::AcqRel, Ordering::Acquire);
    }

    /// The connection is a WebSocket now: never evicted for a newcomer (its own idle timeout
    /// and rate limits govern it).
    pub fn upgraded(&self) {
        self.slot.state.store(WEBSOCKET, Ordering::Release);
    }
}

/// The shared count of open connections.
#[derive(Debug)]
pub struct Gate {
    cap: usize,
    handshake: Duration,
    open: Mutex<Open>,
    metrics: Arc<Metrics>,
}

#[derive(Debug, Default)]
struct Open {
    next: u64,
    slots: BTreeMap<u64, Arc<Slot>>,
}

impl Gate {
    pub fn new(cap: usize, handshake: Duration, metrics: Arc<Metrics>) -> Arc<Gate> {
        Arc::new(Gate {
            cap: cap.max(1),
            handshake,
            open: Mutex::new(Open::default()),
            metrics,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.lock().slots.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits a connection, evicting the oldest non-WebSocket one when full; `None` when
    /// every slot is a WebSocket.
    fn admit(&self) -> Option<(u64, Arc<Slot>)> {
        let mut open = self.lock();
        if open.slots.len() >= self.cap {
            let victim = open
                .slots
                .iter()
                .find(|(_, s)| s.state.load(Ordering::Acquire) != WEBSOCKET)
                .map(|(id, _)| *id);
            match victim.and_then(|id| open.slots.remove(&id)) {
                Some(slot) => {
                    slot.evict.cancel();
                    self.metrics.dropped("evicted");
                }
                None => {
                    self.metrics.dropped("over_capacity");
                    return None;
                }
            }
        }
        let id = open.next;
        open.next += 1;
        let slot = Arc::new(Slot {
            state: AtomicU8::new(PENDING),
            evict: CancellationToken::new(),
        });
        open.slots.insert(id, slot.clone());
        self.metrics.connections.set(open.slots.len() as i64);
        Some((id, slot))
    }

    fn release(&self, id: u64) {
        let mut open = self.lock();
        open.slots.remove(&id);
        self.metrics.connections.set(open.slots.len() as i64);
    }
}

/// The listener axum serves from.
pub struct GateListener {
    listener: TcpListener,
    gate: Arc<Gate>,
}

impl GateListener {
    pub fn new(listener: TcpListener, gate: Arc<Gate>) -> GateListener {
        GateListener { listener, gate }
    }
}

impl Listener for GateListener {
    type Io = GatedStream;
    type Addr = Ticket;

    async fn accept(&mut self) -> (GatedStream, Ticket) {
        loop {
            let (tcp, remote) = match self.listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Some((id, slot)) = self.gate.admit() else {
                drop(tcp);
                continue;
            };
            // Acks and cues are small and latency-bound: never wait to coalesce them.
            let _ = tcp.set_nodelay(true);
            let ticket = Ticket {
                slot: slot.clone(),
                remote,
            };
            let stream = GatedStream {
                tcp,
                id,
                evicted: Box::pin(slot.evict.clone().cancelled_owned()),
                slot,
                deadline: Some(Box::pin(tokio::time::sleep(self.gate.handshake))),
                gate: self.gate.clone(),
            };
            return (stream, ticket);
        }
    }

    fn local_addr(&self) -> io::Result<Ticket> {
        Err(io::Error::other("a gate listener has no ticket of its own"))
    }
}

impl Connected<IncomingStream<'_, GateListener>> for Ticket {
    fn connect_info(stream: IncomingStream<'_, GateListener>) -> Ticket {
        stream.remote_addr().clone()
    }
}

/// An accepted socket that fails its reads once evicted or past its handshake deadline, and
/// gives its slot back when dropped.
pub struct GatedStream {
    tcp: TcpStream,
    id: u64,
    slot: Arc<Slot>,
    evicted: Pin<Box<WaitForCancellationFutureOwned>>,
    deadline: Option<Pin<Box<Sleep>>>,
    gate: Arc<Gate>,
}

impl GatedStream {
    /// An error when the connection must end: evicted, or no request before the deadline.
    fn check(&mut self, cx: &mut Context<'_>) -> Option<io::Error> {
        let state = self.slot.state.load(Ordering::Acquire);
        if state == WEBSOCKET {
            self.deadline = None;
            return None;
        }
        if self.evicted.as_mut().poll(cx).is_ready() {
            return Some(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "closed to make room for a new connection",
            ));
        }
        if state == PENDING {
            if let Some(deadline) = self.deadline.as_mut()
                && deadline.as_mut().poll(cx).is_ready()
            {
                self.deadline = None;
                self.gate.metrics.dropped("handshake_timeout");
                // Stays failed: a later read must not wait again.
                self.slot.evict.cancel();
                return Some(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no request within the handshake timeout",
                ));
            }
        } else {
            self.deadline = None;
        }
        None
    }
}

impl Drop for GatedStream {
    fn drop(&mut self) {
        self.gate.release(self.id);
    }
}

impl AsyncRead for GatedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(e) = self.check(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for GatedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }
}

/// The open-file limit of this process, when it can be read.
pub fn open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we pass and reads nothing else.
        let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
        // rlim_t is u64 on Linux, but not on every Unix.
        #[allow(clippy::unnecessary_cast)]
        let current = limit.rlim_cur as u64;
        ok.then_some(current)
    }
    #[cfg(not(unix))]
    None
}
