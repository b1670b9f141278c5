//! What the port-forwarding use cases refuse or find wrong, beyond what the router said.

use std::net::Ipv4Addr;

use crate::model::MappingKey;

/// A use case could not go ahead.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ForwardError {
    /// An action needs a previous `enable` and there was none.
    #[error("no mapping was enabled in this session: give the external port and protocol")]
    NoPreviousEnable,
    /// Disable-all was called without filters and without saying that everything is meant.
    #[error(
        "disable-all without any filter would remove every mapping on the router, other programs' too: give a filter, or say explicitly that everything is meant"
    )]
    UnfilteredDisableAll,
    /// A mapping was accepted but the router does not list it.
    #[error("the router accepted {key} but does not list it: it may ignore UPnP requests it acknowledges")]
    NotApplied {
        /// The mapping that was accepted.
        key: MappingKey,
    },
    /// A router we recognise refused, most likely because of a setting the user can change.
    #[error("{refusal}; {setting}")]
    RefusedBySetting {
        /// The router's refusal.
        refusal: crate::upnp::UpnpError,
        /// The setting, by name, and where it is.
        setting: &'static str,
    },
    /// A secure-mode router refused to forward to a host other than the one asking.
    #[error(
        "the router refused to forward {key} to {internal_ip} (error {number}): it lets a computer forward ports only to itself (secure mode); run PortForward on {internal_ip}, or turn secure mode off on the router"
    )]
    OnlyForItself {
        /// The mapping asked for.
        key: MappingKey,
        /// The other host.
        internal_ip: Ipv4Addr,
        /// The UPnP error number (718 or 606).
        number: u16,
    },
}
