//! A NAT-PMP or PCP request that failed, with what the user can do about it.

use std::net::IpAddr;
use std::time::Duration;

use super::PortControlProtocol;
use crate::model::MappingKey;

/// A NAT-PMP or PCP request that failed, with what the user can do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortControlError {
    /// Nothing answered on port 5351.
    #[error(
        "no NAT-PMP or PCP answer from {gateway}:5351 within {:.1} s: the router may not support them or has them turned off; use UPnP, or turn NAT-PMP/PCP on in the router",
        waited.as_secs_f64()
    )]
    NoAnswer {
        /// The gateway asked.
        gateway: IpAddr,
        /// How long we waited in all.
        waited: Duration,
    },
    /// The router answered with an error result code.
    #[error("the router at {gateway} refused the {via} request (result {code}, {}): {}", result_name(*via, *code), result_advice(*via, *code, gateway.is_ipv6()))]
    Refused {
        /// The protocol of the answer.
        via: PortControlProtocol,
        /// The gateway.
        gateway: IpAddr,
        /// The result code as sent (NAT-PMP and PCP number them differently).
        code: u16,
    },
    /// The router's answer broke the protocol.
    #[error(
        "the router at {gateway} sent an unreadable {via} answer ({reason}); it may not implement {via} correctly: try the other protocol"
    )]
    Malformed {
        /// The protocol spoken.
        via: PortControlProtocol,
        /// The gateway.
        gateway: IpAddr,
        /// What was wrong.
        reason: String,
    },
    /// The router said nothing listens on port 5351.
    #[error(
        "{gateway} has nothing listening on port 5351: the router does not support NAT-PMP/PCP or has them turned off; use UPnP, or turn NAT-PMP/PCP on in the router"
    )]
    NotListening {
        /// The gateway asked.
        gateway: IpAddr,
    },
    /// A socket could not be opened or used.
    #[error("cannot talk to {gateway}:5351 ({reason}): check the network connection")]
    Socket {
        /// The gateway.
        gateway: IpAddr,
        /// What the system said.
        reason: String,
    },
    /// The mapping was not made here, so its PCP nonce is unknown.
    #[error(
        "PortForward did not make {key} through NAT-PMP/PCP on {gateway} (it keeps those it made in its config directory); for a NAT-PMP mapping, give its internal port"
    )]
    NotOurs {
        /// The mapping asked for.
        key: MappingKey,
        /// The gateway.
        gateway: IpAddr,
    },
}

impl PortControlError {
    /// The result code, when the router refused.
    pub fn result_code(&self) -> Option<u16> {
        match self {
            PortControlError::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }
}

fn result_name(via: PortControlProtocol, code: u16) -> &'static str {
    match (via, code) {
        (_, 1) => "unsupported version",
        (_, 2) => "not authorized",
        (PortControlProtocol::NatPmp, 3) | (PortControlProtocol::Pcp, 7) => "network failure",
        (PortControlProtocol::NatPmp, 4) | (PortControlProtocol::Pcp, 8) => "out of resources",
        (PortControlProtocol::NatPmp, 5) | (PortControlProtocol::Pcp, 4) => "unsupported opcode",
        (PortControlProtocol::Pcp, 3) => "malformed request",
        (PortControlProtocol::Pcp, 5) => "unsupported option",
        (PortControlProtocol::Pcp, 6) => "malformed option",
        (PortControlProtocol::Pcp, 9) => "unsupported protocol",
        (PortControlProtocol::Pcp, 10) => "quota exceeded",
        (PortControlProtocol::Pcp, 11) => "cannot provide an external address",
        (PortControlProtocol::Pcp, 12) => "address mismatch",
        (PortControlProtocol::Pcp, 13) => "too many remote peers",
        _ => "unknown result",
    }
}

fn result_advice(via: PortControlProtocol, code: u16, ipv6: bool) -> &'static str {
    match (via, code) {
        // Over IPv6, PCP opens a pinhole in the router's firewall (no NAT, no external address).
        (PortControlProtocol::Pcp, 2) if ipv6 => {
            "the router does not allow this pinhole: its PCP permissions forbid the port, or the pinhole was made with another nonce (by another program or computer); try UPnP (--via upnp)"
        }
        (PortControlProtocol::Pcp, 8 | 10) if ipv6 => {
            "the router has no room for more pinholes, or the port is taken; close unused pinholes or choose another port"
        }
        (PortControlProtocol::Pcp, 12) if ipv6 => {
            "the request left from another address than the one to open (a temporary address?); open the address the route to the router uses, or use UPnP (--via upnp)"
        }
        (_, 1) => "the router does not speak this protocol version; choose the other protocol",
        (_, 2) => {
            "the router does not allow this: it may protect the port, or the mapping was made by another program or computer"
        }
        (PortControlProtocol::NatPmp, 3) | (PortControlProtocol::Pcp, 7 | 11) => {
            "the router has no usable external address: it is not connected, or sits behind carrier-grade NAT, where forwards cannot be reached from the Internet"
        }
        (PortControlProtocol::NatPmp, 4) | (PortControlProtocol::Pcp, 8 | 10) => {
            "the router has no room for more mappings, or the port is taken; remove unused mappings or choose another port"
        }
        (PortControlProtocol::Pcp, 12) => {
            "the router sees this computer at another address (another NAT in between?); use NAT-PMP or UPnP"
        }
        _ => "the router could not do it; try the other protocol, or UPnP",
    }
}
