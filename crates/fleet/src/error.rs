/// What can be wrong with a Fleets topic or document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A thing name that cannot be placed in a topic.
    #[error("invalid thing name {}: {reason}", thingsim_mqtt::quoted(.name))]
    InvalidThingName {
        /// The name as given.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A payload that is not the JSON document its topic expects.
    #[error("malformed {document}: {reason}")]
    Malformed {
        /// Which document was expected (e.g. "shadow delta").
        document: &'static str,
        /// What the parser said.
        reason: String,
    },
    /// An id the role does not know (an execution or job that was never sent or is forgotten).
    #[error("unknown {what} {}", thingsim_mqtt::quoted(.id))]
    Unknown {
        /// What kind of thing the id names.
        what: &'static str,
        /// The id.
        id: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
