//! The one error the library's use cases return: each layer's own error, wrapped. Every
//! message says what happened and what the user can do about it, in words that fit any front
//! end; the command line and the window add their own hints (a flag, a button).

use crate::host::HostError;
use crate::model::{InputError, MappingKey};
use crate::port_control::PortControlError;
use crate::services::ForwardError;
use crate::store::FileError;
use crate::upnp::{UpnpCode, UpnpError};

/// What went wrong, by layer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The UPnP gateway could not be found or reached, or it refused.
    #[error(transparent)]
    Upnp(#[from] UpnpError),
    /// A NAT-PMP or PCP request failed.
    #[error(transparent)]
    PortControl(#[from] PortControlError),
    /// This computer's address or default route is unknown.
    #[error(transparent)]
    Host(#[from] HostError),
    /// Input failed validation; nothing was sent.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A file (presets, an export, an import) could not be read or written.
    #[error(transparent)]
    File(#[from] FileError),
    /// A use case refused to go ahead, or found the router's answer wanting.
    #[error(transparent)]
    Forward(#[from] ForwardError),
}

impl Error {
    /// The UPnP error code, when the gateway sent one.
    pub fn upnp_code(&self) -> Option<UpnpCode> {
        match self {
            Error::Upnp(e) | Error::Forward(ForwardError::RefusedBySetting { refusal: e, .. }) => e.upnp_code(),
            _ => None,
        }
    }

    /// Whether the gateway could not be reached (as opposed to having refused).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Error::Upnp(e) if e.is_unreachable())
    }

    /// Adds the mapping concerned to a UPnP error, for a message that names the port.
    pub fn for_key(self, key: &MappingKey) -> Error {
        match self {
            Error::Upnp(e) => Error::Upnp(e.for_key(key)),
            other => other,
        }
    }
}
