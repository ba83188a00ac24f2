//! A fixed-window attempt counter per key (account or client address), in memory.
//!
//! Checking and counting are one locked step ([`RateLimiter::acquire`]): an attempt takes its
//! place in the window before it is evaluated, so 50 attempts sent at once cannot all pass a
//! check made before any of them was counted. A login that then succeeds gives its place back
//! ([`RateLimiter::refund`]): what the window bounds is failures (and attempts still running).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimiter {
    max: u32,
    window: Duration,
    hits: Mutex<HashMap<String, (Instant, u32)>>,
}

/// One counted attempt: it stays counted unless handed to [`RateLimiter::refund`].
#[derive(Debug)]
pub struct Slot {
    key: String,
    window_start: Instant,
}

/// Above this many keys, windows that ended are dropped (so the map cannot grow forever).
const PRUNE_ABOVE: usize = 100_000;

impl RateLimiter {
    pub fn new(max: u32, window: Duration) -> Self {
        RateLimiter {
            max,
            window,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt for `key` if its window has room; Err(seconds to wait) otherwise, and
    /// then nothing is counted.
    pub fn acquire(&self, key: &str) -> Result<Slot, u64> {
        let mut hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        if hits.len() > PRUNE_ABOVE {
            let window = self.window;
            hits.retain(|_, (start, _)| start.elapsed() < window);
        }
        let entry = hits.entry(key.to_string()).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= self.window {
            *entry = (Instant::now(), 0);
        }
        if entry.1 >= self.max {
            let left = self.window.saturating_sub(entry.0.elapsed());
            return Err(left.as_secs() + 1);
        }
        entry.1 += 1;
        Ok(Slot {
            key: key.to_string(),
            window_start: entry.0,
        })
    }

    /// Gives a counted attempt back (a login that succeeded), unless its window has ended.
    pub fn refund(&self, slot: Slot) {
        let mut hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = hits.get_mut(&slot.key)
            && entry.0 == slot.window_start
        {
            entry.1 = entry.1.saturating_sub(1);
        }
    }

    /// Counts an attempt that is never given back (requests, not failures).
    pub fn try_hit(&self, key: &str) -> Result<(), u64> {
        self.acquire(key).map(drop)
    }

    pub fn clear(&self, key: &str) {
        self.hits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_max_within_window() {
        let l = RateLimiter::new(2, Duration::from_secs(60));
        assert!(l.try_hit("a").is_ok());
        assert!(l.try_hit("a").is_ok());
        let wait = l.try_hit("a").unwrap_err();
        assert!((59..=60).contains(&wait), "{wait}");
        assert!(l.try_hit("b").is_ok());
        let l = RateLimiter::new(1, Duration::from_millis(1));
        l.try_hit("a").unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert!(l.try_hit("a").is_ok(), "a new window");
    }

    #[test]
    fn a_refunded_attempt_frees_its_place() {
        let l = RateLimiter::new(2, Duration::from_secs(60));
        let first = l.acquire("a").unwrap();
        l.acquire("a").unwrap();
        assert!(l.acquire("a").is_err());
        l.refund(first);
        l.acquire("a").unwrap();
        assert!(l.acquire("a").is_err());
    }

    #[test]
    fn a_refund_from_an_ended_window_frees_nothing() {
        let l = RateLimiter::new(1, Duration::from_millis(20));
        let old = l.acquire("a").unwrap();
        std::thread::sleep(Duration::from_millis(30));
        l.acquire("a").unwrap();
        l.refund(old);
        assert!(l.acquire("a").is_err());
    }

    /// Many threads at once: exactly `max` get a place, never more.
    #[test]
    fn concurrent_attempts_never_exceed_max() {
        let l = std::sync::Arc::new(RateLimiter::new(7, Duration::from_secs(60)));
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(64));
        let handles: Vec<_> = (0..64)
            .map(|_| {
                let (l, b) = (l.clone(), barrier.clone());
                std::thread::spawn(move || {
                    b.wait();
                    l.acquire("k").is_ok()
                })
            })
            .collect();
        let allowed = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|ok| *ok)
            .count();
        assert_eq!(allowed, 7);
    }
}
