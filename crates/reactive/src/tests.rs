use super::*;

/// Counts runs of effects and memos.
fn counter() -> Rc<Cell<u32>> {
    Rc::new(Cell::new(0))
}

/// A scheduler that only records that a flush was asked for: the test flushes by hand.
fn manual_flushes() -> Rc<Cell<u32>> {
    let asked = counter();
    let a = asked.clone();
    set_scheduler(move || a.set(a.get() + 1));
    asked
}

#[test]
fn an_effect_runs_at_once_and_again_when_what_it_read_changes() {
    let owner = Owner::new();
    owner.with(|| {
        let count = RwSignal::new(1);
        let seen = Rc::new(RefCell::new(Vec::new()));
        let s = seen.clone();
        effect(move || s.borrow_mut().push(count.get()));
        assert_eq!(*seen.borrow(), [1]);
        count.set(2);
        count.update(|c| *c += 1);
        assert_eq!(*seen.borrow(), [1, 2, 3]);
    });
    owner.dispose();
}

#[test]
fn a_burst_of_changes_runs_an_effect_once_at_the_flush() {
    let asked = manual_flushes();
    let owner = Owner::new();
    owner.with(|| {
        let (a, b) = (RwSignal::new(0), RwSignal::new(0));
        let runs = counter();
        let r = runs.clone();
        effect(move || {
            a.get();
            b.get();
            r.set(r.get() + 1);
        });
        for i in 0..10 {
            a.set(i);
            b.set(i);
        }
        assert_eq!(
            (runs.get(), asked.get()),
            (1, 1),
            "one flush asked for, none run yet"
        );
        flush();
        assert_eq!(runs.get(), 2);
        flush();
        assert_eq!(runs.get(), 2, "nothing changed since");
    });
    owner.dispose();
}

#[test]
fn a_memo_that_computes_an_equal_value_stops_the_change() {
    let _ = manual_flushes();
    let owner = Owner::new();
    owner.with(|| {
        let n = RwSignal::new(2);
        let computed = counter();
        let c = computed.clone();
        let even = Memo::new(move |_| {
            c.set(c.get() + 1);
            n.get() % 2 == 0
        });
        let runs = counter();
        let r = runs.clone();
        effect(move || {
            even.get();
            r.set(r.get() + 1);
        });
        n.set(4);
        flush();
        assert_eq!(
            (computed.get(), runs.get()),
            (2, 1),
            "recomputed, equal: no run"
        );
        n.set(5);
        flush();
        assert_eq!((computed.get(), runs.get()), (3, 2));
        assert!(!even.get_untracked());
    });
    owner.dispose();
}

#[test]
fn a_diamond_runs_its_effect_once_with_consistent_values() {
    let _ = manual_flushes();
    let owner = Owner::new();
    owner.with(|| {
        let n = RwSignal::new(1);
        let double = Memo::new(move |_| n.get() * 2);
        let triple = Memo::new(move |_| n.get() * 3);
        let seen = Rc::new(RefCell::new(Vec::new()));
        let s = seen.clone();
        effect(move || s.borrow_mut().push((double.get(), triple.get())));
        n.set(2);
        flush();
        assert_eq!(*seen.borrow(), [(2, 3), (4, 6)]);
    });
    owner.dispose();
}

#[test]
fn a_memo_read_before_the_flush_is_already_up_to_date() {
    let _ = manual_flushes();
    let owner = Owner::new();
    owner.with(|| {
        let n = RwSignal::new(1);
        let double = Memo::new(move |_| n.get() * 2);
        n.set(5);
        assert_eq!(double.get_untracked(), 10);
    });
    owner.dispose();
}

#[test]
fn an_effect_run_again_disposes_what_its_last_run_made() {
    let _ = manual_flushes();
    let owner = Owner::new();
    let cleaned = counter();
    let inner_runs = counter();
    let rebuild = owner.with(|| {
        let rebuild = RwSignal::new(0);
        let tick = RwSignal::new(0);
        let (c, i) = (cleaned.clone(), inner_runs.clone());
        effect(move || {
            rebuild.get();
            let c = c.clone();
            on_cleanup(move || c.set(c.get() + 1));
            let i = i.clone();
            // An inner effect, as a rebuilt region's bindings are.
            effect(move || {
                tick.get();
                i.set(i.get() + 1);
            });
        });
        (rebuild, tick)
    });
    let (rebuild, tick) = rebuild;
    assert_eq!((cleaned.get(), inner_runs.get()), (0, 1));
    rebuild.set(1);
    flush();
    assert_eq!(
        (cleaned.get(), inner_runs.get()),
        (1, 2),
        "cleaned, inner made anew"
    );
    tick.set(1);
    flush();
    assert_eq!(inner_runs.get(), 3, "only the new inner effect runs, once");
    owner.dispose();
    assert_eq!(cleaned.get(), 2);
    tick.set(2);
    flush();
    assert_eq!(inner_runs.get(), 3, "disposed effects never run again");
}

#[test]
fn an_owner_runs_its_effect_before_the_ones_it_owns() {
    let _ = manual_flushes();
    let owner = Owner::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    let (outer, inner) = owner.with(|| {
        let (outer, inner) = (RwSignal::new(0), RwSignal::new(0));
        let l = log.clone();
        effect(move || {
            outer.get();
            l.borrow_mut().push("outer");
            let l = l.clone();
            effect(move || {
                inner.get();
                l.borrow_mut().push("inner");
            });
        });
        (outer, inner)
    });
    log.borrow_mut().clear();
    // The inner effect is queued first; the outer one's run disposes it and makes a new one.
    inner.set(1);
    outer.set(1);
    flush();
    assert_eq!(*log.borrow(), ["outer", "inner"]);
    owner.dispose();
}

#[test]
fn untracked_reads_do_not_subscribe() {
    let _ = manual_flushes();
    let owner = Owner::new();
    owner.with(|| {
        let (a, b) = (RwSignal::new(0), RwSignal::new(0));
        let runs = counter();
        let r = runs.clone();
        effect(move || {
            a.get();
            untrack(|| b.get());
            b.get_untracked();
            r.set(r.get() + 1);
        });
        b.set(1);
        flush();
        assert_eq!(runs.get(), 1);
        a.set(1);
        flush();
        assert_eq!(runs.get(), 2);
    });
    owner.dispose();
}

#[test]
fn disposed_handles_read_as_nothing_and_ignore_writes() {
    let owner = Owner::new();
    let (signal, stored, callback, calls) = owner.with(|| {
        let calls = counter();
        let c = calls.clone();
        (
            RwSignal::new(1),
            StoredValue::new(String::from("kept")),
            Callback::new(move |n: u32| c.set(c.get() + n)),
            calls,
        )
    });
    callback.run(2);
    assert_eq!(stored.try_set_value("changed".into()), None);
    assert_eq!(stored.get_value(), "changed");
    owner.dispose();
    assert_eq!(signal.try_with_untracked(|v| *v), None);
    assert_eq!(stored.try_get_value(), None);
    assert_eq!(stored.try_set_value("lost".into()).as_deref(), Some("lost"));
    signal.set(5);
    callback.run(3);
    assert_eq!(calls.get(), 2);
    // A new node in the freed slot is not reachable through the old handle.
    let other = Owner::new();
    let fresh = other.with(|| RwSignal::new(7));
    assert_eq!(signal.try_with_untracked(|v| *v), None);
    assert_eq!(fresh.get_untracked(), 7);
    other.dispose();
}

#[test]
#[should_panic(expected = "after its owner was disposed")]
fn reading_a_disposed_signal_panics() {
    let owner = Owner::new();
    let signal = owner.with(|| RwSignal::new(1));
    owner.dispose();
    signal.get();
}

#[test]
fn values_are_dropped_with_their_owner_and_cleanups_run_once() {
    struct Dropped(Rc<Cell<u32>>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    let drops = counter();
    let owner = Owner::new();
    owner.with(|| {
        StoredValue::new(Dropped(drops.clone()));
        let d = drops.clone();
        on_cleanup(move || d.set(d.get() + 10));
    });
    assert_eq!(drops.get(), 0);
    owner.dispose();
    assert_eq!(drops.get(), 11);
    owner.dispose();
    assert_eq!(drops.get(), 11);
}

#[test]
fn an_effect_that_sets_what_another_reads_settles_in_one_flush() {
    let _ = manual_flushes();
    let owner = Owner::new();
    owner.with(|| {
        let source = RwSignal::new(1);
        let derived = RwSignal::new(0);
        effect(move || derived.set(source.get() * 10));
        let seen = Rc::new(RefCell::new(Vec::new()));
        let s = seen.clone();
        effect(move || s.borrow_mut().push(derived.get()));
        source.set(2);
        flush();
        assert_eq!(seen.borrow().last(), Some(&20));
        assert_eq!(derived.get_untracked(), 20);
    });
    owner.dispose();
}

#[test]
fn update_untracked_then_notify_tells_once() {
    let _ = manual_flushes();
    let owner = Owner::new();
    owner.with(|| {
        let list = RwSignal::new(Vec::<u32>::new());
        let lens = Rc::new(RefCell::new(Vec::new()));
        let l = lens.clone();
        effect(move || l.borrow_mut().push(list.with(Vec::len)));
        for i in 0..5 {
            list.update_untracked(|v| v.push(i));
        }
        flush();
        assert_eq!(*lens.borrow(), [0]);
        list.notify();
        flush();
        assert_eq!(*lens.borrow(), [0, 5]);
    });
    owner.dispose();
}

#[test]
fn cleanups_run_after_the_owned_effects_go_and_before_the_values_do() {
    let owner = Owner::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    owner.with(|| {
        let kept = StoredValue::new("kept");
        let l = log.clone();
        effect(move || {
            let l = l.clone();
            on_cleanup(move || l.borrow_mut().push("effect's cleanup".to_owned()));
        });
        let l = log.clone();
        // A console's own cleanup reads what it stored (the device to detach).
        on_cleanup(move || l.borrow_mut().push(format!("{:?}", kept.try_get_value())));
    });
    owner.dispose();
    assert_eq!(*log.borrow(), ["effect's cleanup", "Some(\"kept\")"]);
}
