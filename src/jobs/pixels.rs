//! Pictures for the CLIP model handed from the media job to the CLIP job in memory, so an ingest
//! decodes each original once: the media job has the pixels at hand when it writes the
//! thumbnails; the CLIP job takes them and decodes the large thumbnail only when they are not
//! here (a restart, a model that arrived later, a bulk upload past the bound). Keyed by node and
//! body, so a replaced body never gets the old pixels. Bounded by bytes; the oldest go first.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use image::RgbImage;

type Key = (String, String);

pub struct ModelPixels {
    max_bytes: usize,
    inner: Mutex<Inner>,
    /// How many pictures the CLIP job took from here instead of decoding a thumbnail.
    taken: AtomicU64,
}

#[derive(Default)]
struct Inner {
    bytes: usize,
    order: VecDeque<Key>,
    map: HashMap<Key, RgbImage>,
}

impl ModelPixels {
    /// Holds at most `max_bytes` of pixels (64 MiB: ~330 pictures of 224 x 298).
    pub fn new(max_bytes: usize) -> Self {
        ModelPixels {
            max_bytes,
            inner: Mutex::default(),
            taken: AtomicU64::new(0),
        }
    }

    pub fn put(&self, node_id: &str, blob_id: &str, img: RgbImage) {
        let size = img.as_raw().len();
        if size > self.max_bytes {
            return;
        }
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let key = (node_id.to_string(), blob_id.to_string());
        if let Some(old) = g.map.insert(key.clone(), img) {
            g.bytes -= old.as_raw().len();
            g.order.retain(|k| *k != key);
        }
        g.bytes += size;
        g.order.push_back(key);
        while g.bytes > self.max_bytes {
            let Some(k) = g.order.pop_front() else { break };
            if let Some(old) = g.map.remove(&k) {
                g.bytes -= old.as_raw().len();
            }
        }
    }

    /// The pixels of this node's body, once.
    pub fn take(&self, node_id: &str, blob_id: &str) -> Option<RgbImage> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let key = (node_id.to_string(), blob_id.to_string());
        let img = g.map.remove(&key)?;
        g.bytes -= img.as_raw().len();
        g.order.retain(|k| *k != key);
        self.taken.fetch_add(1, Ordering::Relaxed);
        Some(img)
    }

    /// Pictures taken so far (each one a decode saved).
    pub fn taken(&self) -> u64 {
        self.taken.load(Ordering::Relaxed)
    }

    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(w: u32) -> RgbImage {
        RgbImage::new(w, 10)
    }

    #[test]
    fn taken_once_keyed_by_body_and_bounded_oldest_first() {
        let p = ModelPixels::new(3 * 300);
        p.put("n1", "b1", img(10));
        assert!(p.take("n1", "b2").is_none(), "another body");
        assert_eq!(p.take("n1", "b1").unwrap().width(), 10);
        assert!(p.take("n1", "b1").is_none(), "once");
        assert_eq!(p.taken(), 1);
        for i in 0..5 {
            p.put(&format!("n{i}"), "b", img(10));
        }
        assert_eq!(p.len(), 3);
        assert!(p.take("n0", "b").is_none() && p.take("n1", "b").is_none());
        assert!(p.take("n4", "b").is_some());
        p.put("n9", "b", img(1000));
        assert!(
            p.take("n9", "b").is_none(),
            "larger than the bound: not kept"
        );
        p.put("n2", "b", img(20));
        assert!(p.len() <= 2);
    }
}
