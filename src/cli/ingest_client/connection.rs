//! One ingest connection: frames queued as [`InFlight`] before they are sent, a reader task
//! that matches each answer to the oldest unanswered frame, and the close handshake.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{ACK_WAIT, CLOSE_WAIT, CONNECT_TIMEOUT, Counters, MAX_IN_FLIGHT, SAMPLES};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A frame sent and not yet answered, queued for the reader in send order (the server answers
/// frames in order).
pub(super) struct InFlight {
    pub(super) sent_at: Instant,
    /// Frame number on its connection, from 0.
    pub(super) frame: u64,
    /// Input line of each event (`replay`); empty for `simulate`.
    pub(super) lines: Vec<u64>,
}

/// How a connection ended.
#[derive(Debug, Default)]
pub(in crate::cli) struct ConnectionEnd {
    /// Frames sent.
    pub frames: u64,
    /// Frames answered (ack or error).
    pub answered: u64,
    /// The server's close frame, as `code reason`.
    pub closed_by_server: Option<String>,
    /// The connection broke.
    pub failure: Option<String>,
    pub rejected_samples: Vec<String>,
    pub error_samples: Vec<String>,
}

/// Why a frame was not sent.
#[derive(Debug, thiserror::Error)]
pub(in crate::cli) enum SendError {
    /// The reader has ended (the server closed or the connection broke); its end says why.
    #[error("the connection is closed")]
    Closed,
    /// [`MAX_IN_FLIGHT`] frames stayed unanswered until the deadline.
    #[error("the server answered nothing for too long")]
    Stalled,
    /// The socket refused the frame or did not take it before the deadline.
    #[error("sending: {0}")]
    Failed(String),
}

/// One open ingest connection: the sending half, the queue of unanswered frames, and the task
/// that reads the answers.
pub(in crate::cli) struct Connection {
    sink: SplitSink<Ws, Message>,
    /// Holds an [`InFlight`] per unanswered frame; capacity [`MAX_IN_FLIGHT`]. Dropped to tell
    /// the reader no more frames come.
    queue: mpsc::Sender<InFlight>,
    /// Sent (or dropped) when sending is over: the reader then waits at most [`ACK_WAIT`].
    done: oneshot::Sender<()>,
    /// Changes (to closed) when the reader has ended.
    reader_alive: watch::Receiver<()>,
    reader: JoinHandle<(ConnectionEnd, Option<SplitStream<Ws>>)>,
    counters: Arc<Counters>,
    /// Frames sent so far.
    frames: u64,
}

impl Connection {
    /// Connects (within [`CONNECT_TIMEOUT`]) and starts reading answers.
    pub async fn open(url: &str, counters: Arc<Counters>) -> anyhow::Result<Connection> {
        // Nagle's algorithm would hold small frames back while earlier ones await their TCP
        // ack, adding tens of milliseconds to the very latency we measure.
        let connect = tokio_tungstenite::connect_async_with_config(url, None, true);
        let (ws, _) = tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| anyhow::anyhow!("connecting: no answer within {CONNECT_TIMEOUT:?}"))?
            .map_err(|e| anyhow::anyhow!("connecting: {e}"))?;
        let (sink, stream) = ws.split();
        let (queue, rx) = mpsc::channel(MAX_IN_FLIGHT);
        let (done, done_rx) = oneshot::channel();
        let (alive_tx, reader_alive) = watch::channel(());
        let reader_counters = counters.clone();
        // Ends on its own: when the server closes, the connection breaks, or at most ACK_WAIT
        // after `done` is sent or dropped.
        let reader = tokio::spawn(async move {
            let result = read_answers(stream, rx, done_rx, reader_counters).await;
            drop(alive_tx);
            result
        });
        Ok(Connection {
            sink,
            queue,
            done,
            reader_alive,
            reader,
            counters,
            frames: 0,
        })
    }

    /// Frames sent on this connection so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// A frame can be sent without waiting: fewer than [`MAX_IN_FLIGHT`] are unanswered.
    pub fn has_room(&self) -> bool {
        self.queue.capacity() > 0
    }

    /// The reader has ended: the server closed the connection or it broke.
    pub fn reader_finished(&self) -> bool {
        self.reader.is_finished()
    }

    /// Sleeps until `at`; false when the reader ended first (no point sending more).
    pub async fn sleep_until(&mut self, at: Instant) -> bool {
        tokio::select! {
            _ = tokio::time::sleep_until(at) => !self.reader_finished(),
            _ = self.reader_alive.changed() => false,
        }
    }

    /// Queues `text`, a frame of `events` events (from input `lines`, or none), on the socket
    /// without flushing it; waits for room among the unanswered frames and for the socket at most
    /// until `deadline`. Counts the frame once the socket took it.
    pub async fn feed(
        &mut self,
        text: String,
        events: u64,
        lines: Vec<u64>,
        deadline: Instant,
    ) -> Result<(), SendError> {
        let permit = match tokio::time::timeout_at(deadline, self.queue.reserve()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(SendError::Closed),
            Err(_) => return Err(SendError::Stalled),
        };
        // Queued before the frame goes out, so its answer always finds it.
        permit.send(InFlight {
            sent_at: Instant::now(),
            frame: self.frames,
            lines,
        });
        match tokio::time::timeout_at(deadline, self.sink.feed(Message::text(text))).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(SendError::Failed(e.to_string())),
            Err(_) => return Err(SendError::Failed("timed out".into())),
        }
        self.frames += 1;
        self.counters.frames.fetch_add(1, Ordering::Relaxed);
        self.counters.sent.fetch_add(events, Ordering::Relaxed);
        Ok(())
    }

    /// Writes out the frames fed so far, by `deadline`.
    pub async fn flush(&mut self, deadline: Instant) -> Result<(), SendError> {
        match tokio::time::timeout_at(deadline, self.sink.flush()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(SendError::Failed(e.to_string())),
            Err(_) => Err(SendError::Failed("timed out".into())),
        }
    }

    /// Stops sending, waits up to [`ACK_WAIT`] for the outstanding answers, then closes with a
    /// normal close frame (unless the server already closed).
    pub async fn finish(self, reason: &str) -> ConnectionEnd {
        let Connection {
            mut sink,
            queue,
            done,
            reader,
            frames,
            ..
        } = self;
        // The queue is final before the reader hears we are done.
        drop(queue);
        let _ = done.send(());
        let (mut end, stream) = match reader.await {
            Ok(result) => result,
            Err(e) => (
                ConnectionEnd {
                    failure: Some(format!("reader task failed: {e}")),
                    ..ConnectionEnd::default()
                },
                None,
            ),
        };
        end.frames = frames;
        let Some(mut stream) = stream else {
            return end;
        };
        let close = Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: reason.into(),
        }));
        if let Ok(Ok(())) = tokio::time::timeout(CLOSE_WAIT, sink.send(close)).await {
            // The server's close reply ends the stream; don't wait for it long.
            let _ = tokio::time::timeout(CLOSE_WAIT, async {
                while let Some(Ok(msg)) = stream.next().await {
                    if msg.is_close() {
                        break;
                    }
                }
            })
            .await;
        }
        end
    }
}

/// A server message (PROTOCOL.md): the answer to one frame, in frame order.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Answer {
    Ack {
        #[serde(default)]
        accepted: u64,
        #[serde(default)]
        duplicates: u64,
        #[serde(default)]
        rejected: Vec<Rejection>,
    },
    Error {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    },
    /// Message types this client does not know are ignored, as the protocol asks.
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct Rejection {
    #[serde(default)]
    index: usize,
    #[serde(default)]
    error: String,
}

/// Reads answers and matches them to frames until the server closes, the connection breaks, or
/// the sender is done and every frame is answered (or [`ACK_WAIT`] has passed). Hands the stream
/// back when the connection is still open, for the close handshake.
async fn read_answers(
    mut stream: SplitStream<Ws>,
    mut queue: mpsc::Receiver<InFlight>,
    mut done: oneshot::Receiver<()>,
    counters: Arc<Counters>,
) -> (ConnectionEnd, Option<SplitStream<Ws>>) {
    let mut end = ConnectionEnd::default();
    let mut deadline: Option<Instant> = None;
    loop {
        if deadline.is_some() && queue.is_empty() {
            return (end, Some(stream));
        }
        tokio::select! {
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(text))) => answer(&text, &mut queue, &counters, &mut end),
                Some(Ok(Message::Close(frame))) => {
                    end.closed_by_server = Some(match frame {
                        Some(f) => format!("{} {}", u16::from(f.code), f.reason),
                        None => "closed without a reason".into(),
                    });
                    return (end, None);
                }
                // Pings are answered by tungstenite; binary frames are not ours.
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    end.failure = Some(format!("receiving: {e}"));
                    return (end, None);
                }
                None => {
                    end.failure = Some("the server dropped the connection".into());
                    return (end, None);
                }
            },
            // Sent or dropped: either way no more frames come. Polled once only.
            _ = &mut done, if deadline.is_none() => deadline = Some(Instant::now() + ACK_WAIT),
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                return (end, Some(stream));
            }
        }
    }
}

/// Books one server message against the oldest unanswered frame.
pub(super) fn answer(
    text: &str,
    queue: &mut mpsc::Receiver<InFlight>,
    counters: &Counters,
    end: &mut ConnectionEnd,
) {
    let Ok(answer) = serde_json::from_str::<Answer>(text) else {
        return;
    };
    if matches!(answer, Answer::Other) {
        return;
    }
    // Frames are queued before they are sent, so this fails only when the server answers a
    // frame twice or answers one we never sent; such an answer is not ours to count.
    let Ok(frame) = queue.try_recv() else {
        return;
    };
    end.answered += 1;
    counters.latency.record(frame.sent_at.elapsed());
    match answer {
        Answer::Ack {
            accepted,
            duplicates,
            rejected,
        } => {
            counters.accepted.fetch_add(accepted, Ordering::Relaxed);
            counters.duplicates.fetch_add(duplicates, Ordering::Relaxed);
            counters
                .rejected
                .fetch_add(rejected.len() as u64, Ordering::Relaxed);
            let room = SAMPLES.saturating_sub(end.rejected_samples.len());
            for r in rejected.into_iter().take(room) {
                let place = match frame.lines.get(r.index) {
                    Some(line) => format!("line {line}"),
                    None => format!("frame {} event {}", frame.frame, r.index),
                };
                end.rejected_samples.push(format!("{place}: {}", r.error));
            }
        }
        Answer::Error { code, message } => {
            counters.errors.fetch_add(1, Ordering::Relaxed);
            if end.error_samples.len() < SAMPLES {
                let place = match frame.lines.first() {
                    Some(line) => format!("frame from line {line}"),
                    None => format!("frame {}", frame.frame),
                };
                end.error_samples
                    .push(format!("{place}: {code}: {message}"));
            }
        }
        Answer::Other => {}
    }
}
