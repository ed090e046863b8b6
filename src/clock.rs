//! The server's one clock: milliseconds since the Unix epoch.
//!
//! Every arrival time, window bucket, cue time and stored `at` comes from here, so the live
//! picture and the store read the same time. Pure code (rules, windows) never calls it: it
//! takes `now` as an argument, which is what makes it testable.

/// Milliseconds since the epoch, by the server's clock (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
