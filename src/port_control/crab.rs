//! The crab_nat adapter: its options, its types and a runtime of our own for its async calls.

use std::net::IpAddr;
use std::num::NonZeroU16;
use std::time::Duration;

use crab_nat::{InternetProtocol, PortMappingOptions, TimeoutConfig};

use super::{PortControlError, PortControlProtocol};
use crate::model::{Port, Protocol};
use crab_nat::VersionCode;

/// The first wait for an answer; doubled on each of [`RETRIES`] retries (0.25 + 0.5 + 1 s).
pub(super) const FIRST_WAIT: Duration = Duration::from_millis(250);
/// Retries after the first request.
pub(super) const RETRIES: usize = 2;

pub(super) fn timeout_config() -> TimeoutConfig {
    TimeoutConfig {
        initial_timeout: FIRST_WAIT,
        max_retries: RETRIES,
        max_retry_timeout: None,
    }
}

pub(super) fn options(external_port: Option<Port>, lifetime_secs: u32) -> PortMappingOptions {
    PortMappingOptions {
        external_port: external_port.map(non_zero),
        lifetime_seconds: Some(lifetime_secs),
        timeout_config: Some(timeout_config()),
    }
}

pub(super) fn non_zero(port: Port) -> NonZeroU16 {
    NonZeroU16::new(port.get()).expect("a Port is never 0")
}

pub(super) fn internet_protocol(protocol: Protocol) -> InternetProtocol {
    match protocol {
        Protocol::Tcp => InternetProtocol::Tcp,
        Protocol::Udp => InternetProtocol::Udp,
    }
}

/// Runs one request to completion on a runtime of its own. Never call from inside a tokio
/// runtime (nothing in this crate runs one).
pub(super) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .expect("a single-threaded runtime always builds")
        .block_on(future)
}

/// How long a request waits for an answer in all, over its retries.
pub(super) fn waited() -> Duration {
    (0..=RETRIES).map(|i| FIRST_WAIT * 2u32.pow(i as u32)).sum()
}

/// A failure of the UDP exchange itself (a socket error, or no answer at all), the same
/// for NAT-PMP and PCP.
pub(super) fn exchange_error(gateway: IpAddr, socket: Option<std::io::Error>) -> PortControlError {
    match socket {
        // ICMP "port unreachable" for the request: Unix reports it as ECONNREFUSED on the
        // next receive, Windows as WSAECONNRESET (10054).
        Some(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::ConnectionReset
            ) =>
        {
            PortControlError::NotListening { gateway }
        }
        Some(e) => PortControlError::Socket {
            gateway,
            reason: e.to_string(),
        },
        None => PortControlError::NoAnswer {
            gateway,
            waited: waited(),
        },
    }
}

/// A PCP failure as our error, for the router at `gateway`.
pub(super) fn pcp_error(gateway: IpAddr, failure: crab_nat::pcp::Failure) -> PortControlError {
    use crab_nat::pcp::Failure as F;
    let refused = |code| PortControlError::Refused {
        via: PortControlProtocol::Pcp,
        gateway,
        code,
    };
    match failure {
        F::Socket(e) => exchange_error(gateway, Some(e)),
        F::Timeout => exchange_error(gateway, None),
        // A NAT-PMP-only router answers a PCP request in NAT-PMP: "version 0 only".
        F::UnsupportedVersion(VersionCode::NatPmp) => PortControlError::Refused {
            via: PortControlProtocol::NatPmp,
            gateway,
            code: 1,
        },
        F::UnsupportedVersion(VersionCode::Pcp) => refused(1),
        F::Nonce => PortControlError::Malformed {
            via: PortControlProtocol::Pcp,
            gateway,
            reason: "an answer to another request (wrong nonce)".to_owned(),
        },
        F::InvalidResponse(kind) => PortControlError::Malformed {
            via: PortControlProtocol::Pcp,
            gateway,
            reason: kind.to_string(),
        },
        F::NotAuthorized(_) => refused(2),
        F::MalformedRequest => refused(3),
        F::UnsupportedOpcode => refused(4),
        F::UnsupportedOption => refused(5),
        F::MalformedOption => refused(6),
        F::NetworkFailure(_) => refused(7),
        F::NoResources(_) => refused(8),
        F::UnsupportedProtocol => refused(9),
        F::UserExceededQuota(_) => refused(10),
        F::CannotProvideExternal(_) => refused(11),
        F::AddressMismatch => refused(12),
        F::ExcessiveRemotePeers => refused(13),
    }
}
