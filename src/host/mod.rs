//! This computer: its address towards the gateway, its default route, its ports, and which of
//! its processes listen on a port (one interface, one file per operating system).

mod default_route;
mod error;
mod interfaces;
pub mod ipv6;
mod local_address;
pub mod owner;
mod ports;

pub use default_route::{default_gateway, default_ipv6_gateway};
pub use error::HostError;
pub use interfaces::{Interface, interfaces, virtual_kind};
pub use ipv6::{
    LocalIpv6, check_own_ipv6, default_ipv6_router, ipv6_source_towards_scoped, is_openable_source,
    local_ipv6_addresses, pinhole_address_towards,
};
pub use local_address::{LocalAddress, interface_of, local_address_towards, local_addresses, local_ip_towards};
pub use ports::{DYNAMIC_PORTS, open_local_port, random_port};
