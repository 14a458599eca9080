//! `thingsim-reactive`: the console's signals, memos and effects.
//!
//! Fine-grained reactivity in the way Leptos's `reactive_graph` does it, cut to what the
//! console uses: values that notify ([`RwSignal`]), values derived from them and compared
//! before they notify ([`Memo`]), work that runs again when what it read changes
//! ([`effect`]), values that only live as long as their owner ([`StoredValue`],
//! [`Callback`]) and owners that take all of that away ([`Owner`], [`on_cleanup`]). Leptos's
//! own took about 18 KB of the console's gzipped module; this takes a few.
//!
//! Pure: no browser, no clock, no task queue. A change marks what depends on it and asks the
//! scheduler ([`set_scheduler`]; the page gives one that runs [`flush`] as a microtask, so a
//! burst of changes runs each effect once). Without a scheduler, a change flushes at once.
//!
//! How a change travels (the "colouring" of Reactively and of Leptos): the signal's
//! subscribers are marked dirty, and everything below a marked memo is marked "check". A flush
//! runs the queued effects in the order they were made (an owner before what it owns). An
//! effect marked "check" first brings its memos up to date, and runs only if one of them
//! changed: a memo that computes an equal value stops the change there.
//!
//! Every handle is a `Copy` index with a generation: a handle whose node was disposed reads as
//! nothing (`try_*` reads give `None`, `try_set*` give the value back; the others panic on
//! reads and ignore writes, as Leptos's do).

#![warn(missing_docs)]

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::mem::take;
use std::rc::Rc;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Id {
    index: u32,
    generation: u32,
}

/// What a node awaits: nothing, a look at its sources, or a run.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Default)]
enum Mark {
    #[default]
    Clean,
    Check,
    Dirty,
}

type Value = Rc<dyn Any>;
/// A memo's or an effect's work: `true` when a memo's value changed.
type Compute = Rc<dyn Fn() -> bool>;

#[derive(Default)]
struct Slot {
    generation: u32,
    live: bool,
    /// Creation order: a flush runs an owner's effect before those it owns.
    serial: u64,
    value: Option<Value>,
    compute: Option<Compute>,
    effect: bool,
    mark: Mark,
    queued: bool,
    sources: Vec<Id>,
    subscribers: Vec<Id>,
    owned: Vec<Id>,
    cleanups: Vec<Box<dyn FnOnce()>>,
}

struct Runtime {
    slots: Vec<Slot>,
    free: Vec<u32>,
    serial: u64,
    pending: Vec<Id>,
    scheduled: bool,
    flushing: bool,
    scheduler: Option<Rc<dyn Fn()>>,
}

thread_local! {
    // Made at compile time: no lazy set-up code in the module.
    static RUNTIME: RefCell<Runtime> = const {
        RefCell::new(Runtime {
            slots: Vec::new(),
            free: Vec::new(),
            serial: 0,
            pending: Vec::new(),
            scheduled: false,
            flushing: false,
            scheduler: None,
        })
    };
    static OBSERVER: Cell<Option<Id>> = const { Cell::new(None) };
    static OWNER: Cell<Option<Id>> = const { Cell::new(None) };
}

/// The runtime, borrowed for `f` only: never across user code.
fn rt<R>(f: impl FnOnce(&mut Runtime) -> R) -> R {
    RUNTIME.with(|rt| f(&mut rt.borrow_mut()))
}

impl Runtime {
    fn slot(&mut self, id: Id) -> Option<&mut Slot> {
        self.slots
            .get_mut(id.index as usize)
            .filter(|s| s.live && s.generation == id.generation)
    }

    fn create(&mut self, value: Option<Value>, owner: Option<Id>) -> Id {
        self.serial += 1;
        let index = self.free.pop().unwrap_or_else(|| {
            self.slots.push(Slot::default());
            (self.slots.len() - 1) as u32
        });
        let slot = &mut self.slots[index as usize];
        slot.generation = slot.generation.wrapping_add(1);
        slot.live = true;
        slot.serial = self.serial;
        slot.value = value;
        let id = Id {
            index,
            generation: slot.generation,
        };
        if let Some(owner) = owner.and_then(|o| self.slot(o)) {
            owner.owned.push(id);
        }
        id
    }

    /// Marks `id` (at least) `mark`: an effect is queued, a memo marks what reads it "check".
    fn mark(&mut self, id: Id, mark: Mark) {
        let Some(slot) = self.slot(id) else { return };
        if slot.mark >= mark {
            return;
        }
        let was_clean = slot.mark == Mark::Clean;
        slot.mark = mark;
        if slot.effect {
            if !slot.queued {
                slot.queued = true;
                self.pending.push(id);
            }
        } else if was_clean {
            self.mark_subscribers(id, Mark::Check);
        }
    }

    fn mark_subscribers(&mut self, id: Id, mark: Mark) {
        let mut i = 0;
        while let Some(sub) = self.slot(id).and_then(|s| s.subscribers.get(i).copied()) {
            self.mark(sub, mark);
            i += 1;
        }
    }

    /// After marks: whom to ask for a flush, if one is needed and not asked for yet.
    fn wake(&mut self) -> Option<Option<Rc<dyn Fn()>>> {
        if self.pending.is_empty() || self.scheduled || self.flushing {
            return None;
        }
        self.scheduled = true;
        Some(self.scheduler.clone())
    }
}

fn create(value: Option<Value>) -> Id {
    let owner = OWNER.get();
    rt(|rt| rt.create(value, owner))
}

/// The value of `id`; a read by an effect or memo (`track`) subscribes it, and a memo is
/// brought up to date first.
fn read(id: Id, track: bool) -> Option<Value> {
    update(id);
    let observer = OBSERVER.get().filter(|_| track);
    rt(|rt| {
        if let Some(observer) = observer {
            let new = rt.slot(observer).is_some_and(|o| {
                let new = !o.sources.contains(&id);
                if new {
                    o.sources.push(id);
                }
                new
            });
            if new && let Some(source) = rt.slot(id) {
                source.subscribers.push(observer);
            }
        }
        rt.slot(id).and_then(|s| s.value.clone())
    })
}

/// `id` changed: what depends on it runs at the next flush.
fn notify(id: Id) {
    let wake = rt(|rt| {
        rt.mark_subscribers(id, Mark::Dirty);
        rt.wake()
    });
    match wake {
        Some(Some(schedule)) => schedule(),
        Some(None) => flush(),
        None => {}
    }
}

/// Brings a memo or an effect up to date: runs it if a source changed.
fn update(id: Id) {
    let mark = rt(|rt| rt.slot(id).filter(|s| s.compute.is_some()).map(|s| s.mark));
    if mark == Some(Mark::Check) {
        let mut i = 0;
        loop {
            let source = rt(|rt| rt.slot(id).and_then(|s| s.sources.get(i).copied()));
            let Some(source) = source else { break };
            update(source);
            if rt(|rt| rt.slot(id).is_none_or(|s| s.mark == Mark::Dirty)) {
                break;
            }
            i += 1;
        }
    }
    let dirty = rt(|rt| {
        rt.slot(id).is_some_and(|s| {
            let dirty = s.mark == Mark::Dirty;
            s.mark = Mark::Clean;
            dirty
        })
    });
    if dirty {
        run(id);
    }
}

/// Runs a memo's or an effect's work anew: what it owned and what it read go first.
fn run(id: Id) {
    let Some((compute, effect)) = rt(|rt| {
        rt.slot(id)
            .and_then(|s| Some((s.compute.clone()?, s.effect)))
    }) else {
        return;
    };
    clean(id);
    let changed = as_observer(id, || compute());
    if changed && !effect {
        let wake = rt(|rt| {
            rt.mark_subscribers(id, Mark::Dirty);
            rt.wake()
        });
        match wake {
            Some(Some(schedule)) => schedule(),
            Some(None) => flush(),
            None => {}
        }
    }
}

/// Runs `f` as `id`: what it reads subscribes `id`, what it makes is owned by `id`.
fn as_observer<R>(id: Id, f: impl FnOnce() -> R) -> R {
    let (observer, owner) = (OBSERVER.replace(Some(id)), OWNER.replace(Some(id)));
    let result = f();
    OBSERVER.set(observer);
    OWNER.set(owner);
    result
}

/// Disposes what `id` owns and runs its cleanups, in Leptos's order: the effects, memos and
/// owners it made first, then its cleanups (which may still read its values), then its values.
/// It is unsubscribed from what it read.
fn clean(id: Id) {
    let Some((owned, cleanups, sources)) = rt(|rt| {
        let s = rt.slot(id)?;
        Some((
            take(&mut s.owned),
            take(&mut s.cleanups),
            take(&mut s.sources),
        ))
    }) else {
        return;
    };
    let (values, work): (Vec<Id>, Vec<Id>) = rt(|rt| {
        for source in sources {
            if let Some(s) = rt.slot(source) {
                s.subscribers.retain(|sub| *sub != id);
            }
        }
        owned.into_iter().partition(|node| {
            rt.slot(*node)
                .is_some_and(|s| s.value.is_some() && s.compute.is_none())
        })
    });
    for node in work.into_iter().rev() {
        dispose(node);
    }
    for cleanup in cleanups {
        cleanup();
    }
    for node in values.into_iter().rev() {
        dispose(node);
    }
}

fn dispose(id: Id) {
    clean(id);
    // Dropped outside the runtime's borrow: a value's `Drop` may use the runtime.
    let _garbage = rt(|rt| {
        let s = rt.slot(id)?;
        s.live = false;
        s.effect = false;
        s.queued = false;
        s.mark = Mark::Clean;
        s.subscribers.clear();
        let garbage = (s.value.take(), s.compute.take());
        rt.free.push(id.index);
        Some(garbage)
    });
}

#[cold]
#[track_caller]
fn disposed() -> ! {
    panic!("a reactive value was read after its owner was disposed")
}

fn cell<T: 'static>(value: Value) -> Option<Rc<RefCell<T>>> {
    value.downcast::<RefCell<T>>().ok()
}

fn try_with<T: 'static, U>(id: Id, track: bool, f: impl FnOnce(&T) -> U) -> Option<U> {
    let cell = cell::<T>(read(id, track)?)?;
    let value = cell.borrow();
    Some(f(&value))
}

/// Replaces the value of `id`; gives `value` back if it was disposed.
fn try_replace<T: 'static>(id: Id, notifies: bool, value: T) -> Option<T> {
    let Some(cell) = read(id, false).and_then(cell::<T>) else {
        return Some(value);
    };
    *cell.borrow_mut() = value;
    if notifies {
        notify(id);
    }
    None
}

fn try_update<T: 'static, U>(id: Id, notifies: bool, f: impl FnOnce(&mut T) -> U) -> Option<U> {
    let cell = cell::<T>(read(id, false)?)?;
    let result = f(&mut cell.borrow_mut());
    if notifies {
        notify(id);
    }
    Some(result)
}

/// Flushes: runs every queued effect whose sources changed, and what those runs queue.
pub fn flush() {
    if rt(|rt| std::mem::replace(&mut rt.flushing, true)) {
        return;
    }
    // The first made first, each time: an owner's run may dispose effects queued with it.
    while let Some(id) = rt(|rt| {
        rt.scheduled = false;
        let (at, _) = rt
            .pending
            .iter()
            .enumerate()
            .min_by_key(|(_, id)| rt.slots[id.index as usize].serial)?;
        let id = rt.pending.swap_remove(at);
        if let Some(s) = rt.slot(id) {
            s.queued = false;
        }
        Some(id)
    }) {
        update(id);
    }
    rt(|rt| rt.flushing = false);
}

/// Who runs [`flush`] after a change: the page queues it as a microtask. Until one is set,
/// a change flushes at once.
pub fn set_scheduler(schedule: impl Fn() + 'static) {
    rt(|rt| rt.scheduler = Some(Rc::new(schedule)));
}

/// Runs `f` without subscribing the current effect or memo to what it reads.
pub fn untrack<R>(f: impl FnOnce() -> R) -> R {
    let observer = OBSERVER.replace(None);
    let result = f();
    OBSERVER.set(observer);
    result
}

/// Runs `cleanup` when the current owner (an effect before its next run, or an [`Owner`]) is
/// disposed. Without an owner it never runs.
pub fn on_cleanup(cleanup: impl FnOnce() + 'static) {
    let owner = OWNER.get();
    let cleanup: Box<dyn FnOnce()> = Box::new(cleanup);
    let refused = rt(|rt| match owner.and_then(|o| rt.slot(o)) {
        Some(slot) => {
            slot.cleanups.push(cleanup);
            None
        }
        None => Some(cleanup),
    });
    drop(refused);
}

/// Runs `work` now, and again (at a flush) whenever a signal or memo it read changes. What it
/// makes belongs to its run: disposed before the next one, and with the current owner.
pub fn effect(work: impl Fn() + 'static) {
    new_effect(Rc::new(move || {
        work();
        true
    }));
}

fn new_effect(compute: Compute) {
    let id = create(None);
    rt(|rt| {
        if let Some(s) = rt.slot(id) {
            s.compute = Some(compute);
            s.effect = true;
            s.mark = Mark::Dirty;
        }
    });
    update(id);
}

/// An owner of its own (a mounted console): what is made inside [`Owner::with`] lives until
/// [`Owner::dispose`].
#[derive(Clone, Copy, Debug)]
pub struct Owner(Id);

impl Owner {
    /// A new owner, itself owned by the current one if there is one.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self(create(None))
    }

    /// Runs `f` with this owner current.
    pub fn with<R>(&self, f: impl FnOnce() -> R) -> R {
        let owner = OWNER.replace(Some(self.0));
        let result = f();
        OWNER.set(owner);
        result
    }

    /// Disposes everything it owns, running their cleanups.
    pub fn dispose(self) {
        dispose(self.0);
    }
}

macro_rules! handle {
    ($name:ident) => {
        impl<T> Clone for $name<T> {
            fn clone(&self) -> Self {
                *self
            }
        }
        impl<T> Copy for $name<T> {}
    };
}

macro_rules! readable {
    ($name:ident) => {
        impl<T: 'static> $name<T> {
            /// Reads the value, subscribing the current effect or memo; `None` once disposed.
            pub fn try_with<U>(&self, f: impl FnOnce(&T) -> U) -> Option<U> {
                try_with(self.id, true, f)
            }
            /// Reads the value, subscribing the current effect or memo.
            #[track_caller]
            pub fn with<U>(&self, f: impl FnOnce(&T) -> U) -> U {
                self.try_with(f).unwrap_or_else(|| disposed())
            }
            /// Reads the value without subscribing; `None` once disposed.
            pub fn try_with_untracked<U>(&self, f: impl FnOnce(&T) -> U) -> Option<U> {
                try_with(self.id, false, f)
            }
            /// Reads the value without subscribing.
            #[track_caller]
            pub fn with_untracked<U>(&self, f: impl FnOnce(&T) -> U) -> U {
                self.try_with_untracked(f).unwrap_or_else(|| disposed())
            }
            /// Subscribes the current effect or memo, reading nothing.
            pub fn track(&self) {
                read(self.id, true);
            }
            /// A copy of the value, subscribing the current effect or memo.
            #[track_caller]
            pub fn get(&self) -> T
            where
                T: Clone,
            {
                self.with(T::clone)
            }
            /// A copy of the value, without subscribing.
            #[track_caller]
            pub fn get_untracked(&self) -> T
            where
                T: Clone,
            {
                self.with_untracked(T::clone)
            }
        }
    };
}

/// A value that notifies its readers when it is set.
pub struct RwSignal<T> {
    id: Id,
    ty: PhantomData<fn() -> T>,
}
handle!(RwSignal);
readable!(RwSignal);

impl<T: 'static> RwSignal<T> {
    /// A signal owned by the current owner.
    pub fn new(value: T) -> Self {
        Self {
            id: create(Some(Rc::new(RefCell::new(value)))),
            ty: PhantomData,
        }
    }

    /// Changes the value in place and notifies; `None` (and nothing done) once disposed.
    pub fn try_update<U>(&self, f: impl FnOnce(&mut T) -> U) -> Option<U> {
        try_update(self.id, true, f)
    }

    /// Changes the value in place and notifies (nothing once disposed).
    pub fn update(&self, f: impl FnOnce(&mut T)) {
        self.try_update(f);
    }

    /// Changes the value in place without notifying: a later [`RwSignal::notify`] tells.
    pub fn update_untracked(&self, f: impl FnOnce(&mut T)) {
        try_update(self.id, false, f);
    }

    /// Tells the readers that the value changed.
    pub fn notify(&self) {
        notify(self.id);
    }

    /// Replaces the value and notifies (nothing once disposed).
    pub fn set(&self, value: T) {
        self.try_set(value);
    }

    /// Replaces the value and notifies; gives `value` back if it was disposed.
    pub fn try_set(&self, value: T) -> Option<T> {
        try_replace(self.id, true, value)
    }

    /// The same signal, for readers only.
    pub fn read_only(&self) -> ReadSignal<T> {
        ReadSignal {
            id: self.id,
            ty: PhantomData,
        }
    }
}

/// A signal that can only be read.
pub struct ReadSignal<T> {
    id: Id,
    ty: PhantomData<fn() -> T>,
}
handle!(ReadSignal);
readable!(ReadSignal);

/// A value computed from signals and memos, computed again when they change, and telling its
/// readers only when the new value differs.
pub struct Memo<T> {
    id: Id,
    ty: PhantomData<fn() -> T>,
}
handle!(Memo);
readable!(Memo);

impl<T: PartialEq + 'static> Memo<T> {
    /// A memo of `f` (given the previous value), computed now.
    pub fn new(f: impl Fn(Option<&T>) -> T + 'static) -> Self {
        let id = create(None);
        let first = as_observer(id, || f(None));
        let value = Rc::new(RefCell::new(first));
        let cell = value.clone();
        let compute: Compute = Rc::new(move || {
            let new = f(Some(&cell.borrow()));
            let changed = *cell.borrow() != new;
            if changed {
                *cell.borrow_mut() = new;
            }
            changed
        });
        rt(|rt| {
            if let Some(s) = rt.slot(id) {
                s.value = Some(value);
                s.compute = Some(compute);
            }
        });
        Self {
            id,
            ty: PhantomData,
        }
    }
}

/// A value that lives as long as its owner and notifies nobody: state an effect or a
/// listener keeps, a timer, a listener itself.
pub struct StoredValue<T> {
    id: Id,
    ty: PhantomData<fn() -> T>,
}
handle!(StoredValue);

impl<T: 'static> StoredValue<T> {
    /// A value owned by the current owner.
    pub fn new(value: T) -> Self {
        Self {
            id: create(Some(Rc::new(RefCell::new(value)))),
            ty: PhantomData,
        }
    }

    /// Reads it; `None` once disposed.
    pub fn try_with_value<U>(&self, f: impl FnOnce(&T) -> U) -> Option<U> {
        try_with(self.id, false, f)
    }

    /// Reads it.
    #[track_caller]
    pub fn with_value<U>(&self, f: impl FnOnce(&T) -> U) -> U {
        self.try_with_value(f).unwrap_or_else(|| disposed())
    }

    /// Changes it; `None` (and nothing done) once disposed.
    pub fn try_update_value<U>(&self, f: impl FnOnce(&mut T) -> U) -> Option<U> {
        try_update(self.id, false, f)
    }

    /// Changes it (nothing once disposed).
    pub fn update_value(&self, f: impl FnOnce(&mut T)) {
        self.try_update_value(f);
    }

    /// Replaces it; gives `value` back if it was disposed.
    pub fn try_set_value(&self, value: T) -> Option<T> {
        try_replace(self.id, false, value)
    }

    /// Replaces it (nothing once disposed).
    pub fn set_value(&self, value: T) {
        self.try_set_value(value);
    }

    /// A copy; `None` once disposed.
    pub fn try_get_value(&self) -> Option<T>
    where
        T: Clone,
    {
        self.try_with_value(T::clone)
    }

    /// A copy.
    #[track_caller]
    pub fn get_value(&self) -> T
    where
        T: Clone,
    {
        self.with_value(T::clone)
    }
}

/// A function that lives as long as its owner, as a `Copy` handle: a component's callback.
pub struct Callback<A>(StoredValue<Rc<dyn Fn(A)>>);

impl<A> Clone for Callback<A> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<A> Copy for Callback<A> {}

impl<A: 'static> Callback<A> {
    /// A callback owned by the current owner.
    pub fn new(f: impl Fn(A) + 'static) -> Self {
        Self(StoredValue::new(Rc::new(f)))
    }

    /// Calls it (nothing once disposed).
    pub fn run(&self, arg: A) {
        if let Some(f) = self.0.try_get_value() {
            f(arg);
        }
    }
}

#[cfg(test)]
mod tests;
