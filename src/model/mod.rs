//! The vocabulary of port forwarding: ports, protocols, leases, descriptions, mappings and
//! the filters that choose them. No I/O here.
//!
//! Each type validates on construction, so a value that exists is a value the router may
//! see. Routers mangle bad input silently (miniupnpd turns port 70000 into 4464), so nothing
//! unchecked ever reaches one.

mod description;
mod filter;
mod input;
mod lease;
mod mapping;
mod new_mapping;
mod pinhole;
mod port;
mod protocol;

pub use description::Description;
pub use filter::MappingFilter;
pub use input::InputError;
pub use lease::Lease;
pub use mapping::{Mapping, MappingKey, parse_internal_ip};
pub use new_mapping::NewMapping;
pub use pinhole::{
    NewPinhole, PCP_MIN_LIFETIME, Pinhole, PinholeLease, PinholeVia, check_ipv6, parse_ipv6_field, protocol_number,
    unix_now,
};
pub use port::Port;
pub use protocol::Protocol;
