//! What can go wrong finding this computer's side of the network.

/// This computer's address or route could not be found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// No usable local address towards the gateway.
    #[error("cannot find this computer's address towards the gateway ({reason}): check the network connection")]
    NoLocalAddress {
        /// Why.
        reason: String,
    },
    /// The system's default gateway could not be found.
    #[error("cannot find the default gateway ({reason})")]
    NoDefaultGateway {
        /// Why.
        reason: String,
    },
}
