//! Ordered maps and sets kept as one sorted `Vec`: the same iteration order, `Debug` and serde
//! form as `BTreeMap`/`BTreeSet`, in a fraction of the code.
//!
//! Why not `BTreeMap`: every key and value type instantiates its own copy of the B-tree (search,
//! split, merge, drop, clone), about 3 KB of wasm each, and the app had some twenty-five of them:
//! a fifth of its size budget. A sorted `Vec` needs a binary search and a `memmove`. Inserting
//! in the middle costs O(n) moves, which is nothing at the sizes these maps hold (a device's
//! commands and metrics, one page's things: at most a few thousand, usually inserted in order).
//! The laws are checked against `BTreeMap` itself in the tests below.

use std::borrow::Borrow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An ordered map: a `Vec` of entries sorted by key, keys unique.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VecMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<K, V> VecMap<K, V> {
    /// An empty map.
    pub const fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries in key order.
    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter(self.entries.iter())
    }

    /// The entries in key order, values mutable.
    pub fn iter_mut(&mut self) -> IterMut<'_, K, V> {
        IterMut(self.entries.iter_mut())
    }

    /// The keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k)
    }

    /// The values in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator {
        self.entries.iter().map(|(_, v)| v)
    }

    /// The values in key order, mutable.
    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// Keeps the entries `keep` says yes to, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
        self.give_back();
    }

    /// A `Vec` keeps its capacity; a B-tree frees its nodes. When a map that held a thousand
    /// devices is down to a few, its memory goes back too (a quarter full → half).
    fn give_back(&mut self) {
        let (len, capacity) = (self.entries.len(), self.entries.capacity());
        if capacity > 16 && len < capacity / 4 {
            self.entries.shrink_to(len * 2);
        }
    }

    /// The entry with the smallest key.
    pub fn first_key_value(&self) -> Option<(&K, &V)> {
        self.entries.first().map(|(k, v)| (k, v))
    }

    /// Removes and returns the entry with the smallest key.
    pub fn pop_first(&mut self) -> Option<(K, V)> {
        let first = (!self.entries.is_empty()).then(|| self.entries.remove(0));
        self.give_back();
        first
    }
}

impl<K: Ord, V> VecMap<K, V> {
    fn find<Q: Ord + ?Sized>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.entries.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    /// The value at `key`.
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| &self.entries[i].1)
    }

    /// The value at `key`, mutable.
    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| &mut self.entries[i].1)
    }

    /// Whether `key` has a value.
    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value`; returns the value it replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    /// Removes `key`; returns its value.
    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let value = self.find(key).ok().map(|i| self.entries.remove(i).1);
        self.give_back();
        value
    }

    /// The place for `key`, to read or fill.
    pub fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        match self.find(&key) {
            Ok(index) => Entry::Occupied(OccupiedEntry { map: self, index }),
            Err(index) => Entry::Vacant(VacantEntry {
                map: self,
                index,
                key,
            }),
        }
    }
}

/// A place in a [`VecMap`], from [`VecMap::entry`].
pub enum Entry<'a, K, V> {
    /// The key has a value.
    Occupied(OccupiedEntry<'a, K, V>),
    /// The key has none.
    Vacant(VacantEntry<'a, K, V>),
}

/// A key with a value, from [`VecMap::entry`].
pub struct OccupiedEntry<'a, K, V> {
    map: &'a mut VecMap<K, V>,
    index: usize,
}

/// A key without a value, from [`VecMap::entry`].
pub struct VacantEntry<'a, K, V> {
    map: &'a mut VecMap<K, V>,
    index: usize,
    key: K,
}

impl<'a, K, V> OccupiedEntry<'a, K, V> {
    /// The value, mutable for as long as the map is borrowed.
    pub fn into_mut(self) -> &'a mut V {
        &mut self.map.entries[self.index].1
    }
}

impl<'a, K, V> VacantEntry<'a, K, V> {
    /// Fills the place with `value`.
    pub fn insert(self, value: V) -> &'a mut V {
        self.map.entries.insert(self.index, (self.key, value));
        &mut self.map.entries[self.index].1
    }
}

impl<'a, K, V> Entry<'a, K, V> {
    /// The value, `value` put in first if there was none.
    pub fn or_insert(self, value: V) -> &'a mut V {
        self.or_insert_with(|| value)
    }

    /// The value, `make()` put in first if there was none.
    pub fn or_insert_with(self, make: impl FnOnce() -> V) -> &'a mut V {
        match self {
            Self::Occupied(e) => e.into_mut(),
            Self::Vacant(e) => e.insert(make()),
        }
    }

    /// The value, a default put in first if there was none.
    pub fn or_default(self) -> &'a mut V
    where
        V: Default,
    {
        self.or_insert_with(V::default)
    }
}

/// The entries of a [`VecMap`] in key order.
#[derive(Clone)]
pub struct Iter<'a, K, V>(std::slice::Iter<'a, (K, V)>);

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k, v))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<K, V> DoubleEndedIterator for Iter<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, v)| (k, v))
    }
}

impl<K, V> ExactSizeIterator for Iter<'_, K, V> {}

/// The entries of a [`VecMap`] in key order, values mutable.
pub struct IterMut<'a, K, V>(std::slice::IterMut<'a, (K, V)>);

impl<'a, K, V> Iterator for IterMut<'a, K, V> {
    type Item = (&'a K, &'a mut V);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (&*k, v))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<K, V> DoubleEndedIterator for IterMut<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, v)| (&*k, v))
    }
}

impl<K, V> ExactSizeIterator for IterMut<'_, K, V> {}

impl<'a, K, V> IntoIterator for &'a VecMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, K, V> IntoIterator for &'a mut VecMap<K, V> {
    type Item = (&'a K, &'a mut V);
    type IntoIter = IterMut<'a, K, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}

impl<K, V> IntoIterator for VecMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for VecMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = Self::new();
        map.extend(iter);
        map
    }
}

impl<K: Ord, V, const N: usize> From<[(K, V); N]> for VecMap<K, V> {
    fn from(entries: [(K, V); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl<K: Ord, V> Extend<(K, V)> for VecMap<K, V> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<K: Ord + Borrow<Q>, Q: Ord + ?Sized, V> std::ops::Index<&Q> for VecMap<K, V> {
    type Output = V;
    fn index(&self, key: &Q) -> &V {
        match self.get(key) {
            Some(v) => v,
            None => panic!("no entry for this key"),
        }
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for VecMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Serialize, V: Serialize> Serialize for VecMap<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de, K: Deserialize<'de> + Ord, V: Deserialize<'de>> Deserialize<'de> for VecMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<K, V>(std::marker::PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de> + Ord, V: Deserialize<'de>> serde::de::Visitor<'de> for Visit<K, V> {
            type Value = VecMap<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut access: A,
            ) -> Result<VecMap<K, V>, A::Error> {
                let mut map = VecMap::new();
                while let Some((k, v)) = access.next_entry()? {
                    map.insert(k, v);
                }
                Ok(map)
            }
        }
        deserializer.deserialize_map(Visit(std::marker::PhantomData))
    }
}

/// An ordered set: a [`VecMap`] to `()`.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct VecSet<K>(VecMap<K, ()>);

impl<K> VecSet<K> {
    /// An empty set.
    pub const fn new() -> Self {
        Self(VecMap::new())
    }

    /// How many members.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The members in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator + Clone {
        self.0.entries.iter().map(|(k, ())| k)
    }

    /// Keeps the members `keep` says yes to.
    pub fn retain(&mut self, mut keep: impl FnMut(&K) -> bool) {
        self.0.retain(|k, ()| keep(k));
    }

    /// The smallest member.
    pub fn first(&self) -> Option<&K> {
        self.0.first_key_value().map(|(k, ())| k)
    }
}

impl<K: Ord> VecSet<K> {
    /// Adds `key`; whether it was new.
    pub fn insert(&mut self, key: K) -> bool {
        self.0.insert(key, ()).is_none()
    }

    /// Whether `key` is a member.
    pub fn contains<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.0.contains_key(key)
    }

    /// Removes `key`; whether it was a member.
    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.0.remove(key).is_some()
    }
}

impl<'a, K> IntoIterator for &'a VecSet<K> {
    type Item = &'a K;
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (K, ())>, fn(&'a (K, ())) -> &'a K>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.entries.iter().map(|(k, ())| k)
    }
}

impl<K> IntoIterator for VecSet<K> {
    type Item = K;
    type IntoIter = std::iter::Map<std::vec::IntoIter<(K, ())>, fn((K, ())) -> K>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.entries.into_iter().map(|(k, ())| k)
    }
}

impl<K: Ord> FromIterator<K> for VecSet<K> {
    fn from_iter<I: IntoIterator<Item = K>>(iter: I) -> Self {
        let mut set = Self::new();
        set.extend(iter);
        set
    }
}

impl<K: Ord, const N: usize> From<[K; N]> for VecSet<K> {
    fn from(keys: [K; N]) -> Self {
        keys.into_iter().collect()
    }
}

impl<K: Ord> Extend<K> for VecSet<K> {
    fn extend<I: IntoIterator<Item = K>>(&mut self, iter: I) {
        for k in iter {
            self.insert(k);
        }
    }
}

impl<K: fmt::Debug> fmt::Debug for VecSet<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl<K: Serialize> Serialize for VecSet<K> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de, K: Deserialize<'de> + Ord> Deserialize<'de> for VecSet<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<K>::deserialize(deserializer).map(|keys| keys.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    /// A small deterministic generator, so a failure replays.
    fn ops(seed: u64, n: usize) -> Vec<(u8, u16, u32)> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                ((x % 7) as u8, ((x >> 8) % 64) as u16, (x >> 32) as u32)
            })
            .collect()
    }

    #[test]
    fn map_behaves_as_btreemap_under_random_operations() {
        for seed in 1..40 {
            let mut model = BTreeMap::new();
            let mut map = VecMap::new();
            for (op, k, v) in ops(seed, 400) {
                match op {
                    0 | 1 => assert_eq!(map.insert(k, v), model.insert(k, v)),
                    2 => assert_eq!(map.remove(&k), model.remove(&k)),
                    3 => *map.entry(k).or_insert(0) += v % 5,
                    4 => map.retain(|key, _| key % 5 != (v % 5) as u16),
                    5 => assert_eq!(map.pop_first(), model.pop_first()),
                    _ => assert_eq!(map.get(&k), model.get(&k)),
                }
                match op {
                    3 => *model.entry(k).or_insert(0) += v % 5,
                    4 => model.retain(|key, _| key % 5 != (v % 5) as u16),
                    _ => {}
                }
                assert!(map.iter().eq(model.iter()), "seed {seed}");
                assert_eq!(map.len(), model.len());
            }
            assert_eq!(format!("{map:?}"), format!("{model:?}"));
        }
    }

    /// serde_json's `Map` is our fork's sorted vector (vendor/serde_json, `[patch]`): it must
    /// still behave as the B-tree it replaced, through serde_json's own API.
    #[test]
    fn serde_jsons_map_behaves_as_btreemap_under_random_operations() {
        use serde_json::{Map, Value};
        for seed in 1..40 {
            let mut model = BTreeMap::<String, Value>::new();
            let mut map = Map::new();
            for (op, k, v) in ops(seed, 300) {
                let k = format!("k{k}");
                match op {
                    0 | 1 => assert_eq!(map.insert(k.clone(), v.into()), model.insert(k, v.into())),
                    2 => assert_eq!(map.remove(&k), model.remove(&k)),
                    3 => {
                        map.entry(k.clone()).or_insert_with(|| Value::from(v));
                        model.entry(k).or_insert_with(|| Value::from(v));
                    }
                    4 => {
                        map.retain(|key, _| !key.ends_with(&(v % 5).to_string()));
                        model.retain(|key, _| !key.ends_with(&(v % 5).to_string()));
                    }
                    5 => {
                        let mut other: Map<String, Value> =
                            [(k.clone(), Value::from(v)), ("k1".into(), Value::Null)]
                                .into_iter()
                                .collect();
                        map.append(&mut other);
                        assert!(other.is_empty());
                        model.insert(k, v.into());
                        model.insert("k1".into(), Value::Null);
                    }
                    _ => assert_eq!(map.get(&k), model.get(&k)),
                }
                assert!(map.iter().eq(model.iter()), "seed {seed}");
                assert_eq!(map.len(), model.len());
            }
            // Many entries at once (collect, extend, serde_json's own reader) are sorted once;
            // of equal keys the last wins, as in the B-tree.
            let pairs: Vec<(String, Value)> = ops(seed + 100, 200)
                .into_iter()
                .map(|(_, k, v)| (format!("k{k}"), Value::from(v)))
                .collect();
            let collected: Map<String, Value> = pairs.iter().cloned().collect();
            let modelled: BTreeMap<String, Value> = pairs.iter().cloned().collect();
            assert!(collected.iter().eq(modelled.iter()), "seed {seed}");
            let mut extended = map.clone();
            extended.extend(pairs.iter().cloned());
            let mut model_extended = model.clone();
            model_extended.extend(pairs.iter().cloned());
            assert!(extended.iter().eq(model_extended.iter()), "seed {seed}");
            let object = pairs
                .iter()
                .map(|(k, v)| format!("{k:?}:{v}"))
                .collect::<Vec<_>>()
                .join(",");
            let read: Value = serde_json::from_str(&format!("{{{object}}}")).unwrap_or_default();
            assert_eq!(read, Value::Object(collected), "seed {seed}");
            let text = serde_json::to_string(&map).unwrap_or_default();
            assert_eq!(text, serde_json::to_string(&model).unwrap_or_default());
            assert_eq!(crate::json::value(text.as_bytes()), Ok(Value::Object(map)));
        }
    }

    #[test]
    fn set_behaves_as_btreeset() {
        let mut model = BTreeSet::new();
        let mut set = VecSet::new();
        for (op, k, _) in ops(7, 500) {
            match op % 3 {
                0 => assert_eq!(set.insert(k), model.insert(k)),
                1 => assert_eq!(set.remove(&k), model.remove(&k)),
                _ => assert_eq!(set.contains(&k), model.contains(&k)),
            }
            assert!(set.iter().eq(model.iter()));
        }
        assert_eq!(set.first(), model.first());
        assert_eq!(format!("{set:?}"), format!("{model:?}"));
    }

    #[test]
    fn emptied_maps_give_their_memory_back() {
        let mut map: VecMap<u32, [u8; 64]> = (0..1_000).map(|k| (k, [0; 64])).collect();
        for k in 0..990 {
            map.remove(&k);
        }
        assert!(map.entries.capacity() <= 40, "{}", map.entries.capacity());
        let mut map: VecMap<u32, ()> = (0..1_000).map(|k| (k, ())).collect();
        map.retain(|k, ()| *k < 3);
        assert!(map.entries.capacity() <= 16, "{}", map.entries.capacity());
    }

    #[test]
    fn serde_form_is_btreemaps() {
        let model: BTreeMap<String, u32> = [("b".into(), 2), ("a".into(), 1)].into();
        let map: VecMap<String, u32> = [("b".into(), 2), ("a".into(), 1)].into();
        let json = serde_json::to_string(&map).unwrap();
        assert_eq!(json, serde_json::to_string(&model).unwrap());
        let back: VecMap<String, u32> = serde_json::from_str(r#"{"z":1,"a":2,"z":3}"#).unwrap();
        assert_eq!(
            back.iter().collect::<Vec<_>>(),
            [(&"a".to_owned(), &2), (&"z".to_owned(), &3)]
        );
    }
}
