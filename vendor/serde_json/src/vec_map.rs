//! thingsim's change to serde_json: a map kept as one vector sorted by key, in place of
//! `BTreeMap`, with the part of `BTreeMap`'s API that `map.rs` uses. The same order (keys
//! sorted), so the same JSON out; the objects thingsim handles have tens of keys, where a
//! binary search in one vector is as fast as a tree, and a tree's code costs 3.8 KB of the
//! page's gzipped module (its insert, remove and rebalancing, once per map type).
//!
//! One `insert` moves the entries after its key: O(n). Whatever builds a map from many entries
//! at once (serde_json's readers here, `collect`, `extend`, `append`, thingsim's own reader)
//! sorts them once instead, O(n log n), so no input makes reading quadratic. Loops of single
//! inserts remain for maps built by code, and for shadow merges, which the cloud bounds at 8 KB.

use alloc::vec::{self, Vec};
use core::borrow::Borrow;
use core::fmt;
use core::iter::Map;
use core::ops::Index;
use core::slice;

/// A map sorted by key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VecMap<K, V> {
    entries: Vec<(K, V)>,
}

pub type Iter<'a, K, V> = Map<slice::Iter<'a, (K, V)>, fn(&(K, V)) -> (&K, &V)>;
pub type IterMut<'a, K, V> = Map<slice::IterMut<'a, (K, V)>, fn(&mut (K, V)) -> (&K, &mut V)>;
pub type IntoIter<K, V> = vec::IntoIter<(K, V)>;
pub type Keys<'a, K, V> = Map<slice::Iter<'a, (K, V)>, fn(&(K, V)) -> &K>;
pub type Values<'a, K, V> = Map<slice::Iter<'a, (K, V)>, fn(&(K, V)) -> &V>;
pub type ValuesMut<'a, K, V> = Map<slice::IterMut<'a, (K, V)>, fn(&mut (K, V)) -> &mut V>;
pub type IntoValues<K, V> = Map<vec::IntoIter<(K, V)>, fn((K, V)) -> V>;

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V> VecMap<K, V> {
    pub const fn new() -> Self {
        VecMap {
            entries: Vec::new(),
        }
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> Iter<'_, K, V> {
        let pair: fn(&(K, V)) -> (&K, &V) = |(k, v)| (k, v);
        self.entries.iter().map(pair)
    }

    pub fn iter_mut(&mut self) -> IterMut<'_, K, V> {
        let pair: fn(&mut (K, V)) -> (&K, &mut V) = |(k, v)| (&*k, v);
        self.entries.iter_mut().map(pair)
    }

    pub fn keys(&self) -> Keys<'_, K, V> {
        let key: fn(&(K, V)) -> &K = |(k, _)| k;
        self.entries.iter().map(key)
    }

    pub fn values(&self) -> Values<'_, K, V> {
        let value: fn(&(K, V)) -> &V = |(_, v)| v;
        self.entries.iter().map(value)
    }

    pub fn values_mut(&mut self) -> ValuesMut<'_, K, V> {
        let value: fn(&mut (K, V)) -> &mut V = |(_, v)| v;
        self.entries.iter_mut().map(value)
    }

    pub fn into_values(self) -> IntoValues<K, V> {
        let value: fn((K, V)) -> V = |(_, v)| v;
        self.entries.into_iter().map(value)
    }

    pub fn retain<F>(&mut self, mut f: F)
    where
        F: FnMut(&K, &mut V) -> bool,
    {
        self.entries.retain_mut(|(k, v)| f(k, v));
    }
}

impl<K: Ord, V> VecMap<K, V> {
    fn find<Q>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
        Q: ?Sized + Ord,
    {
        self.entries.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Ord,
    {
        self.find(key).ok().map(|at| &self.entries[at].1)
    }

    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Ord,
    {
        self.find(key).ok().map(|at| &mut self.entries[at].1)
    }

    pub fn get_key_value<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: ?Sized + Ord,
    {
        self.find(key).ok().map(|at| {
            let (k, v) = &self.entries[at];
            (k, v)
        })
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: ?Sized + Ord,
    {
        self.find(key).is_ok()
    }

    /// As `BTreeMap::insert`: an existing key keeps its first instance, and its old value
    /// is returned.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(at) => Some(core::mem::replace(&mut self.entries[at].1, value)),
            Err(at) => {
                self.entries.insert(at, (key, value));
                None
            }
        }
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Ord,
    {
        self.remove_entry(key).map(|(_, v)| v)
    }

    pub fn remove_entry<Q>(&mut self, key: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: ?Sized + Ord,
    {
        self.find(key).ok().map(|at| self.entries.remove(at))
    }

    pub fn append(&mut self, other: &mut Self) {
        self.extend(core::mem::take(&mut other.entries));
    }

    pub fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        match self.find(&key) {
            Ok(at) => Entry::Occupied(OccupiedEntry { map: self, at }),
            Err(at) => Entry::Vacant(VacantEntry {
                map: self,
                key,
                at,
            }),
        }
    }
}

// Many entries at once are sorted once, not inserted one by one: inserting keys that arrive in
// descending order would move the whole vector at each key (quadratic, a stall for one
// hostile object of tens of thousands of keys). The sort is stable, so of equal keys the last
// one's value wins, as with `BTreeMap`.
impl<K: Ord, V> Extend<(K, V)> for VecMap<K, V> {
    fn extend<T: IntoIterator<Item = (K, V)>>(&mut self, iter: T) {
        self.entries.extend(iter);
        self.sort_and_dedup();
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for VecMap<K, V> {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        // `collect` keeps a `Vec`'s own buffer (a reader's gathered entries are not copied).
        let mut map = VecMap {
            entries: iter.into_iter().collect(),
        };
        map.sort_and_dedup();
        map
    }
}

impl<K: Ord, V> VecMap<K, V> {
    fn sort_and_dedup(&mut self) {
        self.entries.sort_by(|a, b| a.0.cmp(&b.0));
        self.entries.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                core::mem::swap(&mut later.1, &mut kept.1);
            }
            same
        });
    }
}

impl<K, V> IntoIterator for VecMap<K, V> {
    type Item = (K, V);
    type IntoIter = IntoIter<K, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a, K, V> IntoIterator for &'a VecMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<K, Q, V> Index<&Q> for VecMap<K, V>
where
    K: Borrow<Q> + Ord,
    Q: ?Sized + Ord,
{
    type Output = V;
    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("no entry found for key")
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for VecMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

pub enum Entry<'a, K, V> {
    Vacant(VacantEntry<'a, K, V>),
    Occupied(OccupiedEntry<'a, K, V>),
}

pub struct VacantEntry<'a, K, V> {
    map: &'a mut VecMap<K, V>,
    key: K,
    at: usize,
}

impl<'a, K, V> VacantEntry<'a, K, V> {
    pub fn key(&self) -> &K {
        &self.key
    }

    pub fn insert(self, value: V) -> &'a mut V {
        self.map.entries.insert(self.at, (self.key, value));
        &mut self.map.entries[self.at].1
    }
}

pub struct OccupiedEntry<'a, K, V> {
    map: &'a mut VecMap<K, V>,
    at: usize,
}

impl<'a, K, V> OccupiedEntry<'a, K, V> {
    pub fn key(&self) -> &K {
        &self.map.entries[self.at].0
    }

    pub fn get(&self) -> &V {
        &self.map.entries[self.at].1
    }

    pub fn get_mut(&mut self) -> &mut V {
        &mut self.map.entries[self.at].1
    }

    pub fn into_mut(self) -> &'a mut V {
        &mut self.map.entries[self.at].1
    }

    pub fn insert(&mut self, value: V) -> V {
        core::mem::replace(self.get_mut(), value)
    }

    pub fn remove(self) -> V {
        self.remove_entry().1
    }

    pub fn remove_entry(self) -> (K, V) {
        self.map.entries.remove(self.at)
    }
}
