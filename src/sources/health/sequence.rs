//! Following a platform's message numbering to find skipped messages.
/// Tracks a platform's message numbering and reports skips.
///
/// Only platforms that number consecutively can reveal a skip, and not every platform does (or
/// always sends 0), so a skip counts only once the numbering has been seen going up by one at
/// least [`SequenceTracker::TRUST_AFTER`] times in a row on this connection. Zero is "not
/// numbered"; a number going down means the platform restarted its count.
#[derive(Debug, Default)]
pub(crate) struct SequenceTracker {
    last: Option<(u64, i64)>,
    consecutive: u32,
}

impl SequenceTracker {
    pub(crate) const TRUST_AFTER: u32 = 3;

    /// Observes a message's number at `now`; returns `(from, missing)` when messages were
    /// skipped.
    pub(crate) fn observe(&mut self, seq: u64, now: i64) -> Option<(i64, u64)> {
        if seq == 0 {
            return None;
        }
        let mut gap = None;
        if let Some((last, at)) = self.last {
            if seq == last.wrapping_add(1) {
                self.consecutive = self.consecutive.saturating_add(1);
            } else if seq > last {
                if self.consecutive >= Self::TRUST_AFTER {
                    gap = Some((at, seq - last - 1));
                }
                self.consecutive = 0;
            } else {
                self.consecutive = 0;
            }
        }
        self.last = Some((seq, now));
        gap
    }
}
