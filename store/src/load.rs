//! Read-through: `get_or_load`, which finds a document by a unique key or,
//! on a miss, loads it from elsewhere and stores it.
//!
//! A miss runs the load once per key however many threads miss at once
//! (single flight, as moka's `get_with`): the first becomes the key's leader
//! and loads, outside every lock; the others wait on the leader's flight and
//! take what it loaded. A load that fails is the leader's error alone: nothing
//! is stored, the waiters wake and one of them loads in turn. A load that
//! panics wakes them the same way (its flight is cleared as the panic unwinds)
//! and leaves the store as it was.
//!
//! In a full store with the [`Recent`](crate::Policy::Recent) policy, what is
//! loaded is kept only if its key missed more often than the document it
//! would evict (the least recently used of a sample) was used: TinyLFU's
//! admission, with the misses counted in a [`Sketch`] and the uses in each
//! document's record, both ageing as they go. A one-off run of misses, such as
//! a scan through a key space, is served but does not evict what is used.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Condvar, Mutex};

use crate::capacity::{Policy, Room};
use crate::engine::{Engine, State};
use crate::eviction::pick;
use crate::key::{JsonKey, KeyBytes, KeyFor};
use crate::query::UniqueIndexRef;
use crate::snapshot::{Arity, encode};
use crate::{Collection, Document, Error, Id, Indexed, KeyOf, Keyed, Store, Versioned};

/// How often keys missed, approximately: TinyLFU's frequency sketch. A
/// key's first miss only sets its bits in the doorkeeper (a Bloom filter), so
/// that keys missed once, the most of them, leave the counters (four rows of
/// small counters, a count-min sketch) to the keys that come back. Both halve
/// (the doorkeeper clears) after ten times the capacity's misses, so that
/// old popularity fades.
pub(crate) struct Sketch {
    counters: Vec<u8>,
    doorkeeper: Vec<u64>,
    /// One row's width, a power of two.
    width: usize,
    /// The doorkeeper's bits, a power of two: eight per key of a period.
    bits: usize,
    /// Counts recorded between two halvings.
    period: usize,
    /// Counts recorded since the last halving.
    recorded: usize,
}

/// A counter's ceiling, as TinyLFU's 4-bit counters.
const CEILING: u8 = crate::usage::FREQUENCY_MAX;

impl Sketch {
    /// A sketch sized for a store holding about `limit` documents.
    pub(crate) fn new(limit: u64) -> Sketch {
        let limit = usize::try_from(limit.clamp(16, 1 << 16)).unwrap_or(1 << 16);
        let period = limit * 10;
        let width = period.next_power_of_two();
        let bits = (period * 8).next_power_of_two();
        Sketch {
            counters: vec![0; width * 4],
            doorkeeper: vec![0; bits / 64],
            width,
            bits,
            period,
            recorded: 0,
        }
    }

    /// Counts one miss of `key`; how often it missed, approximately (at
    /// least once, this one).
    pub(crate) fn record(&mut self, key: &[u8]) -> u8 {
        let mut hasher = KeyHasher::default();
        key.hash(&mut hasher);
        let hash = hasher.finish();
        let spread = |row: u32, mask: usize| {
            let spread = hash
                .rotate_left(16 * row)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15);
            usize::try_from(spread >> 32).unwrap_or(0) & mask
        };
        let (width, bits) = (self.width - 1, self.bits - 1);
        let column = |row: u32| spread(row, width);
        self.recorded += 1;
        if self.recorded >= self.period {
            self.age();
        }
        let bits = [spread(0, bits), spread(1, bits), spread(2, bits)];
        let seen = bits
            .iter()
            .all(|bit| self.doorkeeper[bit / 64] & (1 << (bit % 64)) != 0);
        if !seen {
            for bit in bits {
                self.doorkeeper[bit / 64] |= 1 << (bit % 64);
            }
            return 1;
        }
        let mut least = CEILING;
        for row in 0..4 {
            let at = row as usize * self.width + column(row);
            let counter = &mut self.counters[at];
            *counter = (*counter + 1).min(CEILING);
            least = least.min(*counter);
        }
        least.saturating_add(1).min(CEILING)
    }

    /// Halves every count and clears the doorkeeper.
    fn age(&mut self) {
        for counter in &mut self.counters {
            *counter /= 2;
        }
        self.doorkeeper.fill(0);
        self.recorded = 0;
    }
}

/// A multiply-and-rotate hash of bytes, several times cheaper than SipHash
/// on short keys. Keys here only spread the sketch's counters and file the
/// few loads in flight, where a collision costs a shared counter or a longer
/// probe, never a wrong answer.
#[derive(Default)]
struct KeyHasher(u64);

impl KeyHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(29) ^ word).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        // The multiply leaves the high bits best mixed; fold them down too.
        self.0 ^ (self.0 >> 32)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut le = [0; 8];
            le.copy_from_slice(word);
            self.mix(u64::from_le_bytes(le));
        }
        let rest = words.remainder();
        let mut last = [0; 8];
        if let Some(start) = last.get_mut(..rest.len()) {
            start.copy_from_slice(rest);
        }
        self.mix(u64::from_le_bytes(last) ^ ((rest.len() as u64) << 56));
    }
}

/// The loads in flight in one store, by index and key, and what read-through
/// did so far.
pub(crate) struct Flights<D> {
    flying: Mutex<HashMap<FlightKey, Arc<Flight<D>>, BuildHasherDefault<KeyHasher>>>,
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) loads: AtomicU64,
}

impl<D> Default for Flights<D> {
    fn default() -> Self {
        Flights {
            flying: Mutex::new(HashMap::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            loads: AtomicU64::new(0),
        }
    }
}

/// What a load is for: an index's name and a key's bytes.
type FlightKey = (String, Vec<u8>);

/// One key's load in flight.
struct Flight<D> {
    outcome: Mutex<Outcome<D>>,
    done: Condvar,
}

enum Outcome<D> {
    Loading,
    Loaded(Versioned<D>),
    /// The load failed or panicked: waiters try again.
    Failed,
}

/// A leader's hold on its key's flight: landing it, or (dropped unlanded, by
/// an error or a panic) failing it, wakes the waiters and clears the key.
struct Lead<'f, D> {
    flights: &'f Flights<D>,
    key: FlightKey,
    flight: Arc<Flight<D>>,
}

impl<D> Lead<'_, D> {
    fn land(self, loaded: &Versioned<D>) {
        *self.flight.outcome.lock() = Outcome::Loaded(loaded.clone());
    }
}

impl<D> Drop for Lead<'_, D> {
    fn drop(&mut self) {
        {
            let mut outcome = self.flight.outcome.lock();
            if matches!(*outcome, Outcome::Loading) {
                *outcome = Outcome::Failed;
            }
        }
        let mut flying = self.flights.flying.lock();
        if flying
            .get(&self.key)
            .is_some_and(|flight| Arc::ptr_eq(flight, &self.flight))
        {
            flying.remove(&self.key);
        }
        drop(flying);
        self.flight.done.notify_all();
    }
}

enum Joined<'f, D> {
    Lead(Lead<'f, D>),
    Wait(Arc<Flight<D>>),
}

impl<D> Flights<D> {
    fn join(&self, key: FlightKey) -> Joined<'_, D> {
        let mut flying = self.flying.lock();
        if let Some(flight) = flying.get(&key) {
            return Joined::Wait(Arc::clone(flight));
        }
        let flight = Arc::new(Flight {
            outcome: Mutex::new(Outcome::Loading),
            done: Condvar::new(),
        });
        flying.insert(key.clone(), Arc::clone(&flight));
        Joined::Lead(Lead {
            flights: self,
            key,
            flight,
        })
    }
}

impl<D> Flight<D> {
    /// What the leader loaded, once it is done; none if it failed.
    fn wait(&self) -> Option<Versioned<D>> {
        let mut outcome = self.outcome.lock();
        while matches!(*outcome, Outcome::Loading) {
            self.done.wait(&mut outcome);
        }
        match &*outcome {
            Outcome::Loaded(loaded) => Some(loaded.clone()),
            Outcome::Loading | Outcome::Failed => None,
        }
    }
}

/// Whether a load is stored, and what it evicts.
enum Admission<D> {
    Admit {
        /// How often its key missed.
        misses: u8,
        /// The document it was weighed against, to evict for it.
        victim: Option<Versioned<D>>,
    },
    Refuse,
}

/// The document holding `key` in the unique index `index` of `state`.
fn holder<D>(state: &State<D>, index: &str, key: &[u8]) -> crate::Result<Option<Versioned<D>>> {
    let index = state.index(index)?;
    if !index.def.info.unique {
        return Err(Error::NotUnique {
            index: index.name().to_owned(),
        });
    }
    let id = index.holder_other_than(&KeyBytes::new(key), Id::nil());
    Ok(id.and_then(|id| state.docs.get(&id).cloned()))
}

impl<D: Send + Sync + 'static> Engine<D> {
    /// The document holding `key` in the unique index `index`, loaded and
    /// stored on a miss (see the module docs).
    fn get_or_load<E: From<Error>>(
        &self,
        index: &str,
        write_key: impl FnOnce(&mut crate::KeyWriter),
        load: impl FnOnce() -> Result<D, E>,
    ) -> Result<Versioned<D>, E> {
        let key = encode(self.snapshot()?.index(index)?, Arity::Exact, write_key)?;
        let flights = self.flights();
        let mut load = Some(load);
        loop {
            if let Some(found) = self.read(|state| holder(state, index, &key))?? {
                self.note_use(&found);
                flights.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(found);
            }
            let lead = match flights.join((index.to_owned(), key.clone())) {
                Joined::Wait(flight) => match flight.wait() {
                    Some(loaded) => {
                        flights.hits.fetch_add(1, Ordering::Relaxed);
                        return Ok(loaded);
                    }
                    None => continue,
                },
                Joined::Lead(lead) => lead,
            };
            // A leader that landed just before this one joined.
            if let Some(found) = self.read(|state| holder(state, index, &key))?? {
                lead.land(&found);
                flights.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(found);
            }
            let Some(load) = load.take() else {
                // Unreachable: a leader returns; the check keeps this panic-free.
                return Err(Error::Closed.into());
            };
            flights.misses.fetch_add(1, Ordering::Relaxed);
            flights.loads.fetch_add(1, Ordering::Relaxed);
            let document = load()?;
            let Admission::Admit { misses, victim } = self.admits(&key, &document)? else {
                let served = Versioned::new(Id::nil(), 0, document);
                lead.land(&served);
                return Ok(served);
            };
            if let Some(victim) = victim {
                // The document it was weighed against makes its room.
                self.evict(victim)?;
            }
            return match self.insert(document) {
                Ok(stored) => {
                    if let Some(cache) = self.cache() {
                        cache
                            .usage
                            .set_frequency(stored.id(), misses, cache.now().1);
                    }
                    lead.land(&stored);
                    Ok(stored)
                }
                // Stored meanwhile by a write of its own: that one stands.
                Err((
                    Error::UniqueViolation {
                        index: taken,
                        existing,
                        ..
                    },
                    _,
                )) if taken == index => {
                    let stored = self.get(existing)?;
                    lead.land(&stored);
                    Ok(stored)
                }
                Err((error, _)) => Err(error.into()),
            };
        }
    }

    /// Whether a document loaded for `key` is stored, with how often the key
    /// missed: always, unless the store is full, its policy is
    /// [`Recent`](Policy::Recent), and the key missed no more often than the
    /// document it would evict was used (TinyLFU's admission).
    fn admits(&self, key: &[u8], document: &D) -> crate::Result<Admission<D>> {
        let Some(cache) = self.cache() else {
            return Ok(Admission::Admit {
                misses: 1,
                victim: None,
            });
        };
        let misses = {
            let mut sketch = cache.doorkeeper.lock();
            let sketch = sketch.get_or_insert_with(|| {
                // Sized for the documents it holds, when weighed.
                let documents = if cache.is_weighed() {
                    self.current()
                        .map_or(0, |state| state.docs.len() as u64 * 2)
                } else {
                    cache.limit()
                };
                Sketch::new(documents)
            });
            sketch.record(key)
        };
        let (_, age) = cache.tick();
        let admit = Admission::Admit {
            misses,
            victim: None,
        };
        if cache.policy() == Policy::Random {
            return Ok(admit);
        }
        let room = Room {
            replacing: None,
            weight: self.weigh(document),
        };
        let state = self.writer_state()?;
        if cache.fits(&state, room) {
            return Ok(admit);
        }
        match pick(cache, &state, None) {
            Some(victim) if cache.usage.frequency(victim.id(), age) >= misses => {
                cache.refused.fetch_add(1, Ordering::Relaxed);
                Ok(Admission::Refuse)
            }
            victim => Ok(Admission::Admit { misses, victim }),
        }
    }
}

impl<T: Indexed> Collection<T> {
    /// The document whose key in the unique index `index` is `key`, or, if
    /// none has it, the document `load` returns, stored.
    ///
    /// Read-through for a collection used as a cache: `load` runs outside
    /// every lock, once per key however many threads miss it at once (the
    /// others wait and share what it loaded). If it fails, its error is
    /// returned to the thread that ran it, nothing is stored, and a waiting
    /// thread loads in turn; if it panics, the same. `load` must return a
    /// document with that key.
    ///
    /// With a capacity and the [`Recent`](crate::Policy::Recent) policy, a
    /// load into a full collection is stored only if its key missed more often
    /// than the document it would evict was used (TinyLFU's admission); a load
    /// not stored is returned with the nil id and version 0.
    /// Fails with [`Error::NotUnique`] if the index is not unique.
    ///
    /// ```
    /// use docstore::{Collection, Error, Indexed};
    ///
    /// #[derive(Indexed, Clone, Debug)]
    /// struct User {
    ///     #[index(unique)]
    ///     email: String,
    ///     name: String,
    /// }
    ///
    /// let users = Collection::<User>::new();
    /// let load = || Ok::<_, Error>(User { email: "ada@example.com".into(), name: "Ada".into() });
    /// let ada = users.get_or_load_unique(User::email, "ada@example.com", load)?;
    /// assert_eq!(ada.name, "Ada");
    /// // Now stored: the second call does not load.
    /// let again = users.get_or_load_unique(User::email, "ada@example.com", || {
    ///     Err(Error::InvalidDocument { reason: "not called".into() })
    /// })?;
    /// assert_eq!(again.id(), ada.id());
    /// # Ok::<(), docstore::Error>(())
    /// ```
    pub fn get_or_load_unique<I: UniqueIndexRef<T>, E: From<Error>>(
        &self,
        index: I,
        key: impl KeyFor<I::Key>,
        load: impl FnOnce() -> Result<T, E>,
    ) -> Result<Versioned<T>, E> {
        self.engine.check_open()?;
        self.engine
            .get_or_load(index.index_name(), |out| key.write_key_for(out), load)
    }
}

impl<T: Keyed> Collection<T> {
    /// The document whose own key (`#[key]`) is `key`, or, if none has it, the
    /// document `load` returns, stored: read-through, as
    /// [`get_or_load_unique`](Self::get_or_load_unique) on the key's index.
    ///
    /// ```
    /// use docstore::{Capacity, Collection, Error, Indexed};
    ///
    /// #[derive(Indexed, Clone, Debug)]
    /// struct Product {
    ///     #[key]
    ///     sku: String,
    ///     price: u32,
    /// }
    ///
    /// let products = Collection::<Product>::new();
    /// products.set_capacity(Capacity::documents(1000))?;
    /// let price_of = |sku: &str| products.get_or_load(sku, || {
    ///     // A slow source: a database, a service.
    ///     Ok::<_, Error>(Product { sku: sku.to_owned(), price: 30 })
    /// });
    /// assert_eq!(price_of("A-1")?.price, 30);
    /// assert_eq!(products.len()?, 1);
    /// # Ok::<(), docstore::Error>(())
    /// ```
    pub fn get_or_load<E: From<Error>>(
        &self,
        key: impl KeyFor<KeyOf<T>>,
        load: impl FnOnce() -> Result<T, E>,
    ) -> Result<Versioned<T>, E> {
        self.get_or_load_unique(T::KEY, key, load)
    }
}

impl Store {
    /// The document whose key in the unique index `index` is `key`, or, if
    /// none has it, the document `load` returns, stored: read-through, as
    /// [`Collection::get_or_load_unique`] describes. Fails with
    /// [`Error::InvalidDocument`] if the loaded value is not an object.
    ///
    /// ```
    /// use docstore_core::{Error, IndexOptions, Store};
    /// use serde_json::json;
    ///
    /// let store = Store::new();
    /// store.create_index_with("by_email", ["email"], IndexOptions::new().unique())?;
    /// let ada = store.get_or_load("by_email", "ada@example.com", || {
    ///     Ok::<_, Error>(json!({"email": "ada@example.com", "name": "Ada"}))
    /// })?;
    /// assert_eq!(ada.get("name").and_then(|n| n.as_str()), Some("Ada"));
    /// assert_eq!(store.len()?, 1);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn get_or_load<E: From<Error>>(
        &self,
        index: &str,
        key: impl KeyFor<JsonKey>,
        load: impl FnOnce() -> Result<serde_json::Value, E>,
    ) -> Result<Document, E> {
        self.engine.check_open()?;
        self.engine.get_or_load(
            index,
            |out| key.write_key_for(out),
            || crate::store::to_object(load()?).map_err(E::from),
        )
    }
}
