//! PortForward: manage a router's port forwards over UPnP IGD.
pub mod error;
pub mod mapping;
pub mod simulator;

pub use error::{GatewayError, HttpFailure, InputError, UpnpCode};
pub use mapping::{Description, Lease, Mapping, MappingKey, Port, Protocol};
