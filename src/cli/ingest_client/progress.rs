//! The once-a-second progress line on stderr.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::Counters;

/// The once-a-second progress line on stderr: overwritten in place on a terminal, one line per
/// second otherwise (logs, CI).
pub(in crate::cli) struct Progress {
    /// Sent by [`Progress::stop`]; dropping it stops the task too.
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Progress {
    /// Starts printing `counters` once a second.
    pub fn spawn(counters: Arc<Counters>) -> Progress {
        let (stop, mut stop_rx) = oneshot::channel();
        let task = tokio::spawn(async move {
            let tty = std::io::stderr().is_terminal();
            let start = Instant::now();
            let mut interval = tokio::time::interval(Duration::from_secs(1));
            interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
            interval.tick().await;
            let mut last_sent = 0;
            let mut printed = false;
            loop {
                tokio::select! {
                    _ = interval.tick() => {}
                    _ = &mut stop_rx => break,
                }
                let sent = counters.sent.load(Ordering::Relaxed);
                let line =
                    progress_line(&counters, start.elapsed(), sent.saturating_sub(last_sent));
                last_sent = sent;
                let mut err = std::io::stderr().lock();
                let _ = if tty {
                    write!(err, "\r{line}\x1b[K")
                } else {
                    writeln!(err, "{line}")
                };
                printed = true;
            }
            if tty && printed {
                let _ = writeln!(std::io::stderr());
            }
        });
        Progress { stop, task }
    }

    /// Stops printing (ending an overwritten line with a newline).
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

fn progress_line(c: &Counters, elapsed: Duration, rate: u64) -> String {
    let quantile = |q| {
        c.latency.quantile_us(q).map_or_else(
            || "-".to_string(),
            |us| format!("{:.1}ms", us as f64 / 1000.0),
        )
    };
    let mut line = format!(
        "{:>6.1}s  sent {}  acked {}  rejected {}  rate {rate}/s  p50 {}  p99 {}",
        elapsed.as_secs_f64(),
        c.sent.load(Ordering::Relaxed),
        c.accepted.load(Ordering::Relaxed) + c.duplicates.load(Ordering::Relaxed),
        c.rejected.load(Ordering::Relaxed),
        quantile(0.5),
        quantile(0.99),
    );
    let bad = c.bad_lines.load(Ordering::Relaxed);
    if bad > 0 {
        let _ = write!(line, "  bad lines {bad}");
    }
    line
}
