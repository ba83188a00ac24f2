//! A fixed-window failure counter per key (account or client address), in memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimiter {
    max: u32,
    window: Duration,
    hits: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(max: u32, window: Duration) -> Self {
        RateLimiter {
            max,
            window,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// Err(seconds to wait) when `key` has used up its window.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        let hits = self.hits.lock().unwrap();
        match hits.get(key) {
            Some((start, n)) if *n >= self.max && start.elapsed() < self.window => {
                Err((self.window - start.elapsed()).as_secs() + 1)
            }
            _ => Ok(()),
        }
    }

    pub fn hit(&self, key: &str) {
        let mut hits = self.hits.lock().unwrap();
        if hits.len() > 100_000 {
            let window = self.window;
            hits.retain(|_, (start, _)| start.elapsed() < window);
        }
        let entry = hits.entry(key.to_string()).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= self.window {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }

    /// Counts a hit and says whether it was allowed.
    pub fn try_hit(&self, key: &str) -> Result<(), u64> {
        self.check(key)?;
        self.hit(key);
        Ok(())
    }

    pub fn clear(&self, key: &str) {
        self.hits.lock().unwrap().remove(key);
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
        assert!(l.try_hit("a").is_err());
        assert!(l.try_hit("b").is_ok());
        let l = RateLimiter::new(1, Duration::from_millis(1));
        l.hit("a");
        std::thread::sleep(Duration::from_millis(5));
        assert!(l.check("a").is_ok());
    }
}
