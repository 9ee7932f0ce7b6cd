//! A read cache private to each thread, so that hot reads (every request's session) never
//! contend on a lock or a shared cache line. One shared generation counter invalidates every
//! thread's copy at once.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

// A seeded fast hash: these maps sit on every request's path, and some keys (usernames) come
// from clients, so the hash must resist chosen collisions without SipHash's cost.
type Map<V> = HashMap<Box<[u8]>, V, foldhash::fast::RandomState>;

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// A process has a handful of caches: a list beats a map.
    static CACHES: RefCell<Vec<(u64, Box<dyn Any>)>> = const { RefCell::new(Vec::new()) };
}

struct Local<V> {
    generation: u64,
    map: Map<V>,
}

pub struct ThreadCache<V> {
    id: u64,
    generation: AtomicU64,
    /// Entries per thread; 0 turns the cache off.
    capacity: usize,
    _values: PhantomData<fn() -> V>,
}

impl<V: Clone + 'static> ThreadCache<V> {
    pub fn new(capacity: usize) -> ThreadCache<V> {
        ThreadCache {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            generation: AtomicU64::new(0),
            capacity,
            _values: PhantomData,
        }
    }

    /// Read before looking up the source, and passed back to [`ThreadCache::insert`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn with_local<R>(&self, generation: u64, f: impl FnOnce(&mut Local<V>) -> R) -> R {
        CACHES.with(|caches| {
            let mut caches = caches.borrow_mut();
            let index = match caches.iter().position(|(id, _)| *id == self.id) {
                Some(i) => i,
                None => {
                    let local = Local::<V> {
                        generation,
                        map: Map::default(),
                    };
                    caches.push((self.id, Box::new(local)));
                    caches.len() - 1
                }
            };
            let local = caches[index]
                .1
                .downcast_mut::<Local<V>>()
                .expect("one value type per cache id");
            if local.generation != generation {
                local.map.clear();
                local.generation = generation;
            }
            f(local)
        })
    }

    pub fn get(&self, key: &[u8]) -> Option<V> {
        if self.capacity == 0 {
            return None;
        }
        self.with_local(self.generation(), |local| local.map.get(key).cloned())
    }

    /// Caches `value`, read from the source after [`ThreadCache::generation`] returned
    /// `seen`, unless something was invalidated meanwhile.
    pub fn insert(&self, key: &[u8], value: V, seen: u64) {
        if self.capacity == 0 || self.generation() != seen {
            return;
        }
        self.with_local(seen, |local| {
            if local.map.len() >= self.capacity {
                local.map.clear();
            }
            local.map.insert(key.into(), value);
        });
    }

    /// Drops every thread's entries (lazily, at their next access).
    pub fn invalidate_all(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

impl<V> Drop for ThreadCache<V> {
    fn drop(&mut self) {
        // Other threads' copies are freed when those threads end; this thread's now.
        let _ = CACHES.try_with(|c| c.borrow_mut().retain(|(id, _)| *id != self.id));
    }
}
