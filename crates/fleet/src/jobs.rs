//! Jobs (fleets-protocol.md, "Jobs"; AWS IoT Jobs conventions where Fleets is silent):
//! asynchronous operations queued per thing. The cloud notifies (`notify`, `notify-next`), the
//! device asks (`get`, `start-next`, `{jobId}/get`) and reports (`{jobId}/update`); every request
//! is answered on `/accepted` or `/rejected`, matched by `clientToken`.
//!
//! Legal execution transitions ([`JobStatus::can_become`]):
//! ```text
//!   QUEUED ──start-next / update──▶ IN_PROGRESS ──▶ SUCCEEDED | FAILED | REJECTED
//!     │                                 │ └── (progress: IN_PROGRESS again)
//!     └── device refuses ──▶ REJECTED   └── (cloud) ──▶ TIMED_OUT | CANCELED | REMOVED
//!   (the cloud may also CANCEL or REMOVE a QUEUED execution)
//! ```

pub mod agent;
pub mod cloud;
mod wire;

pub use wire::*;

/// Status of one thing's execution of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JobStatus {
    /// Waiting for the device.
    Queued,
    /// The device started it.
    InProgress,
    /// Done.
    Succeeded,
    /// The device could not do it.
    Failed,
    /// The device refused it.
    Rejected,
    /// A step timeout passed without an update.
    TimedOut,
    /// The job was cancelled.
    Canceled,
    /// The execution was removed.
    Removed,
}

crate::wire_names::wire_names!(JobStatus {
    Queued => "QUEUED",
    InProgress => "IN_PROGRESS",
    Succeeded => "SUCCEEDED",
    Failed => "FAILED",
    Rejected => "REJECTED",
    TimedOut => "TIMED_OUT",
    Canceled => "CANCELED",
    Removed => "REMOVED",
});

impl JobStatus {
    /// No change can follow.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Queued | Self::InProgress)
    }

    /// Whether a *device* update may move an execution from `self` to `to`.
    pub fn can_become(self, to: Self) -> bool {
        matches!(
            (self, to),
            (Self::Queued, Self::InProgress | Self::Rejected)
                | (
                    Self::InProgress,
                    Self::InProgress | Self::Succeeded | Self::Failed | Self::Rejected
                )
        )
    }
}

#[cfg(test)]
mod tests {
    use super::JobStatus as S;

    #[test]
    fn only_the_documented_device_transitions_are_legal() {
        let all = [
            S::Queued,
            S::InProgress,
            S::Succeeded,
            S::Failed,
            S::Rejected,
            S::TimedOut,
            S::Canceled,
            S::Removed,
        ];
        let legal: Vec<(S, S)> = all
            .iter()
            .flat_map(|&a| all.iter().map(move |&b| (a, b)))
            .filter(|&(a, b)| a.can_become(b))
            .collect();
        assert_eq!(
            legal,
            vec![
                (S::Queued, S::InProgress),
                (S::Queued, S::Rejected),
                (S::InProgress, S::InProgress),
                (S::InProgress, S::Succeeded),
                (S::InProgress, S::Failed),
                (S::InProgress, S::Rejected),
            ]
        );
        assert!(
            all.iter()
                .filter(|s| s.is_terminal())
                .all(|s| !all.iter().any(|&t| s.can_become(t)))
        );
    }
}
