//! A cache bounded by bytes that evicts the least recently used entry: the published figures
//! of each level and quarter, built items pages, charts and index layers of one dataset
//! version. Keys are made from validated, normalised
//! parameters by the callers, never from a raw query string or `Host` header; the bound
//! holds whatever the keys are.

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

/// The default bound: 256 MiB, or `WIJKRADAR_CACHE_MB`.
#[must_use]
pub fn default_capacity() -> usize {
    std::env::var("WIJKRADAR_CACHE_MB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(256)
        << 20
}

struct Entry {
    value: Arc<dyn Any + Send + Sync>,
    bytes: usize,
    used: u64,
}

/// Values by key, at most `capacity` bytes in all (an entry larger than that is not kept).
pub struct Lru {
    map: HashMap<String, Entry>,
    bytes: usize,
    capacity: usize,
    tick: u64,
}

impl Lru {
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            map: HashMap::new(),
            bytes: 0,
            capacity,
            tick: 0,
        }
    }

    /// The value under `key`, marked as used.
    pub fn get(&mut self, key: &str) -> Option<Arc<dyn Any + Send + Sync>> {
        self.tick += 1;
        let tick = self.tick;
        self.map.get_mut(key).map(|e| {
            e.used = tick;
            e.value.clone()
        })
    }

    /// Keeps `value` (of about `bytes` bytes) under `key`, evicting the least recently used
    /// entries until everything fits.
    pub fn insert(&mut self, key: String, value: Arc<dyn Any + Send + Sync>, bytes: usize) {
        if bytes > self.capacity {
            return;
        }
        if let Some(old) = self.map.remove(&key) {
            self.bytes -= old.bytes;
        }
        self.evict_to(self.capacity - bytes);
        self.tick += 1;
        self.bytes += bytes;
        self.map.insert(
            key,
            Entry {
                value,
                bytes,
                used: self.tick,
            },
        );
    }

    /// Changes the bound, evicting the least recently used entries that no longer fit.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
        self.evict_to(capacity);
    }

    /// Evicts the least recently used entries until at most `bytes` are held.
    fn evict_to(&mut self, bytes: usize) {
        while self.bytes > bytes {
            let Some(oldest) = self
                .map
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(e) = self.map.remove(&oldest) {
                self.bytes -= e.bytes;
            }
        }
    }

    /// Bytes held.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Bytes and entries held under keys that start with `prefix`.
    #[must_use]
    pub fn use_under(&self, prefix: &str) -> (usize, usize) {
        self.map
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .fold((0, 0), |(b, n), (_, e)| (b + e.bytes, n + 1))
    }

    /// Entries held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_least_recently_used_goes_first() {
        let mut c = Lru::new(100);
        c.insert("a".into(), Arc::new(1u8), 40);
        c.insert("b".into(), Arc::new(2u8), 40);
        assert!(c.get("a").is_some());
        c.insert("c".into(), Arc::new(3u8), 40);
        assert!(c.get("b").is_none(), "b was the least recently used");
        assert!(c.get("a").is_some() && c.get("c").is_some());
        assert_eq!(c.bytes(), 80);
        // Too large to keep at all.
        c.insert("huge".into(), Arc::new(4u8), 101);
        assert!(c.get("huge").is_none());
        // Replacing a key does not count it twice.
        c.insert("a".into(), Arc::new(5u8), 10);
        assert_eq!(c.bytes(), 50);
    }

    proptest! {
        #[test]
        fn never_more_than_the_capacity(ops in prop::collection::vec((0u16..500, 1usize..300), 1..400)) {
            let mut c = Lru::new(1000);
            for (k, b) in ops {
                c.insert(k.to_string(), Arc::new(k), b);
                prop_assert!(c.bytes() <= 1000);
                let sum: usize = c.map.values().map(|e| e.bytes).sum();
                prop_assert_eq!(sum, c.bytes());
            }
        }
    }
}
