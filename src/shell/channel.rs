//! The run loops' inboxes: an unbounded channel for one page, where everything runs on one
//! thread. `futures`' channel is made for threads (an `Arc`, atomics, an atomic waker) and
//! cost the console's module 2 KB of gzip; this is a queue and a waker behind an `Rc`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};

struct Inner<T> {
    queue: VecDeque<T>,
    waker: Option<Waker>,
    senders: usize,
    receiving: bool,
}

/// The sending side; clones send into the same queue.
pub struct UnboundedSender<T>(Rc<RefCell<Inner<T>>>);

/// The receiving side: one run loop.
pub struct UnboundedReceiver<T>(Rc<RefCell<Inner<T>>>);

/// A channel whose queue has no bound: what the page sends its loop is what it asked for.
pub fn unbounded<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let inner = Rc::new(RefCell::new(Inner {
        queue: VecDeque::new(),
        waker: None,
        senders: 1,
        receiving: true,
    }));
    (UnboundedSender(inner.clone()), UnboundedReceiver(inner))
}

impl<T> UnboundedSender<T> {
    /// Queues `value` and wakes the receiver; gives it back if the receiver is gone.
    pub fn unbounded_send(&self, value: T) -> Result<(), T> {
        let waker = {
            let mut inner = self.0.borrow_mut();
            if !inner.receiving {
                return Err(value);
            }
            inner.queue.push_back(value);
            inner.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        self.0.borrow_mut().senders += 1;
        Self(self.0.clone())
    }
}

impl<T> Drop for UnboundedSender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut inner = self.0.borrow_mut();
            inner.senders -= 1;
            if inner.senders == 0 {
                inner.waker.take()
            } else {
                None
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> UnboundedReceiver<T> {
    /// The next value: waits for one; `None` once every sender is gone and the queue is empty.
    pub async fn next(&mut self) -> Option<T> {
        poll_fn(|cx| {
            let mut inner = self.0.borrow_mut();
            match inner.queue.pop_front() {
                Some(value) => Poll::Ready(Some(value)),
                None if inner.senders == 0 => Poll::Ready(None),
                None => {
                    inner.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
    }

    /// The next value if one is queued already.
    pub fn try_recv(&mut self) -> Option<T> {
        self.0.borrow_mut().queue.pop_front()
    }
}

impl<T> Drop for UnboundedReceiver<T> {
    fn drop(&mut self) {
        let mut inner = self.0.borrow_mut();
        inner.receiving = false;
        // What was queued goes now: a value may hold a sender, and so this queue.
        let queued = std::mem::take(&mut inner.queue);
        drop(inner);
        drop(queued);
    }
}
