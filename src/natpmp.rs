//! NAT-PMP (RFC 6886) and PCP (RFC 6887): this computer's own mappings on routers without
//! UPnP, over UDP to port 5351 of the gateway.
//!
//! Built on `crab_nat`, which speaks both protocols (PCP first, NAT-PMP when the router answers
//! that it only knows version 0) and checks every reply field; the `natpmp` crate speaks only
//! NAT-PMP. crab_nat is async (tokio): each call here runs on a small single-threaded runtime
//! of its own, so the caller blocks like any other gateway call and the window runs it on a
//! worker thread, as it does UPnP requests.
//!
//! Neither protocol can list the router's table, and a PCP mapping can only be renewed or
//! removed with the nonce that made it, so the mappings made here are kept in a
//! [`PortControlStore`] (a small JSON file beside the presets).
//!
//! ```no_run
//! use portforward::natpmp::{PortControlClient, PortControlMode};
//! use portforward::{Lease, Port, Protocol};
//!
//! let client = PortControlClient::towards_default_gateway()?.with_mode(PortControlMode::Auto);
//! let mapping = client.map(Protocol::Tcp, Port::new(25565).unwrap(), None, Lease::seconds(7200)?)?;
//! println!("reachable at {:?}:{} via {}", mapping.external_ip, mapping.external_port, mapping.via);
//! client.unmap(&mapping)?;
//! # Ok::<(), portforward::GatewayError>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU16;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crab_nat::{InternetProtocol, PortMapping, PortMappingOptions, PortMappingType, TimeoutConfig, VersionCode};
use serde::{Deserialize, Serialize};

use crate::error::{FileError, GatewayError, InputError};
use crate::local;
use crate::mapping::{Description, Lease, Mapping, MappingKey, Port, Protocol};

/// The UDP port NAT-PMP and PCP servers listen on.
pub const PORT_CONTROL_PORT: u16 = crab_nat::GATEWAY_PORT;
/// The lifetime asked for when none is given: RFC 6886's recommendation, 2 hours.
pub const DEFAULT_LIFETIME: Lease = Lease::from_router(crab_nat::RECOMMENDED_MAPPING_LIFETIME_SECONDS);

/// The first wait for an answer; doubled on each of [`RETRIES`] retries (0.25 + 0.5 + 1 s).
const FIRST_WAIT: Duration = Duration::from_millis(250);
/// Retries after the first request.
const RETRIES: usize = 2;

/// Which protocol made a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PortControlProtocol {
    /// Port Control Protocol (RFC 6887), NAT-PMP's successor.
    #[serde(rename = "PCP")]
    Pcp,
    /// NAT Port Mapping Protocol (RFC 6886).
    #[serde(rename = "NAT-PMP")]
    NatPmp,
}

impl PortControlProtocol {
    /// "PCP" or "NAT-PMP".
    pub const fn as_str(self) -> &'static str {
        match self {
            PortControlProtocol::Pcp => "PCP",
            PortControlProtocol::NatPmp => "NAT-PMP",
        }
    }

    /// The protocol a router's description names: miniupnpd lists NAT-PMP mappings in its UPnP
    /// table as "NAT-PMP 6000 tcp" and PCP ones as "PCP MAP <nonce>".
    pub fn from_description(description: &str) -> Option<PortControlProtocol> {
        if description.starts_with("NAT-PMP ") {
            Some(PortControlProtocol::NatPmp)
        } else if description.starts_with("PCP ") {
            Some(PortControlProtocol::Pcp)
        } else {
            None
        }
    }
}

impl fmt::Display for PortControlProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which protocol to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum PortControlMode {
    /// PCP, falling back to NAT-PMP when the router does not answer PCP or says it only knows NAT-PMP.
    #[default]
    Auto,
    /// PCP only.
    Pcp,
    /// NAT-PMP only.
    NatPmp,
}

impl PortControlMode {
    /// Every mode, in menu order.
    pub const ALL: [PortControlMode; 3] = [PortControlMode::Auto, PortControlMode::Pcp, PortControlMode::NatPmp];

    /// Parses user input: `auto`, `pcp` or `nat-pmp` (`natpmp`).
    pub fn parse_field(field: &'static str, text: &str) -> Result<PortControlMode, InputError> {
        match text.trim().to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "auto" | "" => Ok(PortControlMode::Auto),
            "pcp" => Ok(PortControlMode::Pcp),
            "natpmp" => Ok(PortControlMode::NatPmp),
            _ => Err(InputError::new(field, text, "choose auto, pcp or nat-pmp")),
        }
    }
}

impl fmt::Display for PortControlMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PortControlMode::Auto => "PCP, else NAT-PMP",
            PortControlMode::Pcp => "PCP",
            PortControlMode::NatPmp => "NAT-PMP",
        })
    }
}

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
        gateway: Ipv4Addr,
        /// How long we waited in all.
        waited: Duration,
    },
    /// The router answered with an error result code.
    #[error("the router at {gateway} refused the {via} request (result {code}, {}): {}", result_name(*via, *code), result_advice(*via, *code))]
    Refused {
        /// The protocol of the answer.
        via: PortControlProtocol,
        /// The gateway.
        gateway: Ipv4Addr,
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
        gateway: Ipv4Addr,
        /// What was wrong.
        reason: String,
    },
    /// The router said nothing listens on port 5351.
    #[error(
        "{gateway} has nothing listening on port 5351: the router does not support NAT-PMP/PCP or has them turned off; use UPnP, or turn NAT-PMP/PCP on in the router"
    )]
    NotListening {
        /// The gateway asked.
        gateway: Ipv4Addr,
    },
    /// A socket could not be opened or used.
    #[error("cannot talk to {gateway}:5351 ({reason}): check the network connection")]
    Socket {
        /// The gateway.
        gateway: Ipv4Addr,
        /// What the system said.
        reason: String,
    },
    /// The default gateway could not be found.
    #[error("cannot find the default gateway ({reason}): give the router's address (--gateway-ip)")]
    NoDefaultGateway {
        /// Why.
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
        gateway: Ipv4Addr,
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

fn result_advice(via: PortControlProtocol, code: u16) -> &'static str {
    match (via, code) {
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

/// A mapping made through NAT-PMP or PCP: enough to renew and remove it later, even from
/// another run of the program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortControlMapping {
    /// The protocol that made it.
    pub via: PortControlProtocol,
    /// The router it is on.
    pub gateway: Ipv4Addr,
    /// This computer's address as sent to the router.
    pub internal_ip: Ipv4Addr,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// The port on this computer.
    pub internal_port: Port,
    /// The port the router opened (it may differ from the one asked for).
    pub external_port: Port,
    /// The router's external address, when it said.
    pub external_ip: Option<Ipv4Addr>,
    /// The lifetime the router granted, in seconds.
    pub lifetime_secs: u32,
    /// When it expires, in seconds since the Unix epoch (this computer's clock).
    pub expires_at: u64,
    /// PCP's mapping nonce: only a request with the same nonce may renew or remove it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<[u32; 3]>,
}

impl PortControlMapping {
    /// The key the router's UPnP table would know it by.
    pub fn key(&self) -> MappingKey {
        MappingKey {
            external_port: self.external_port,
            protocol: self.protocol,
            remote_host: String::new(),
        }
    }

    /// Seconds left now (0 once expired).
    pub fn seconds_left(&self) -> u32 {
        let left = self.expires_at.saturating_sub(unix_now());
        u32::try_from(left).unwrap_or(u32::MAX)
    }

    /// As a table row, for routers whose UPnP table does not list it.
    pub fn as_mapping(&self) -> Mapping {
        Mapping {
            protocol: self.protocol,
            external_port: self.external_port,
            internal_client: self.internal_ip.to_string(),
            internal_port: self.internal_port,
            description: Description::from_router(format!("made via {}", self.via)),
            enabled: true,
            remote_host: String::new(),
            lease: Lease::from_router(self.seconds_left().max(1)),
        }
    }
}

impl fmt::Display for PortControlMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}/{} -> {}:{} via {} (lifetime {})",
            self.external_ip.map_or("(router)".to_owned(), |ip| ip.to_string()),
            self.external_port,
            self.protocol,
            self.internal_ip,
            self.internal_port,
            self.via,
            Lease::from_router(self.seconds_left())
        )
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Talks NAT-PMP / PCP to one gateway.
#[derive(Debug, Clone)]
pub struct PortControlClient {
    gateway: Ipv4Addr,
    local_ip: Ipv4Addr,
    mode: PortControlMode,
}

impl PortControlClient {
    /// A client for the router at `gateway`; this computer's address is the one that reaches it.
    pub fn new(gateway: Ipv4Addr) -> Result<PortControlClient, GatewayError> {
        let local_ip = local::local_ip_towards(SocketAddr::from((gateway, PORT_CONTROL_PORT)))?;
        Ok(PortControlClient {
            gateway,
            local_ip,
            mode: PortControlMode::Auto,
        })
    }

    /// A client for the system's default gateway.
    pub fn towards_default_gateway() -> Result<PortControlClient, GatewayError> {
        PortControlClient::new(default_gateway()?)
    }

    /// The same client, speaking `mode`.
    pub fn with_mode(mut self, mode: PortControlMode) -> PortControlClient {
        self.mode = mode;
        self
    }

    /// The router asked.
    pub fn gateway(&self) -> Ipv4Addr {
        self.gateway
    }

    /// This computer's address towards it.
    pub fn local_ip(&self) -> Ipv4Addr {
        self.local_ip
    }

    /// Forwards `external_port` (or one the router picks) to `internal_port` on this computer.
    /// NAT-PMP and PCP have no permanent mappings: the lifetime must be 1 s or more, and the
    /// mapping renewed before it ends.
    pub fn map(
        &self,
        protocol: Protocol,
        internal_port: Port,
        external_port: Option<Port>,
        lifetime: Lease,
    ) -> Result<PortControlMapping, GatewayError> {
        if lifetime.is_permanent() {
            return Err(InputError::new(
                "lifetime",
                "0",
                "NAT-PMP and PCP have no permanent mappings: give a lifetime in seconds and renew it",
            )
            .into());
        }
        let options = options(external_port, lifetime.as_secs());
        let pcp = || {
            self.pcp_map(protocol, internal_port, None, None, options)
                .map_err(|e| self.diagnose_pcp_refusal(e))
        };
        let natpmp = || self.natpmp_map(protocol, internal_port, options);
        match self.mode {
            PortControlMode::Pcp => pcp(),
            PortControlMode::NatPmp => natpmp(),
            PortControlMode::Auto => match pcp() {
                // The router speaks only NAT-PMP, or does not answer PCP at all.
                Err(GatewayError::PortControl(
                    PortControlError::Refused {
                        via: PortControlProtocol::NatPmp,
                        code: 1,
                        ..
                    }
                    | PortControlError::NoAnswer { .. },
                )) => {
                    tracing::info!(gateway = %self.gateway, "no PCP; trying NAT-PMP");
                    natpmp()
                }
                other => other,
            },
        }
    }

    /// Renews `mapping` for `lifetime` (its last lifetime when `None`), with the protocol and
    /// (for PCP) the nonce that made it.
    pub fn renew(
        &self,
        mapping: &PortControlMapping,
        lifetime: Option<Lease>,
    ) -> Result<PortControlMapping, GatewayError> {
        let secs = lifetime.map_or(mapping.lifetime_secs, Lease::as_secs).max(1);
        let options = options(Some(mapping.external_port), secs);
        match (mapping.via, mapping.nonce) {
            (PortControlProtocol::Pcp, Some(nonce)) => self.pcp_map(
                mapping.protocol,
                mapping.internal_port,
                Some(nonce),
                mapping.external_ip.map(IpAddr::V4),
                options,
            ),
            _ => self.natpmp_map(mapping.protocol, mapping.internal_port, options),
        }
    }

    /// Removes `mapping` from the router.
    pub fn unmap(&self, mapping: &PortControlMapping) -> Result<(), GatewayError> {
        let timeout = Some(timeout_config());
        match (mapping.via, mapping.nonce) {
            (PortControlProtocol::Pcp, Some(nonce)) => block_on(crab_nat::pcp::try_drop_mapping(
                self.gateway.into(),
                self.local_ip.into(),
                nonce,
                crab_nat::pcp::DropMappingRange::Single {
                    protocol: internet_protocol(mapping.protocol),
                    internal_port: non_zero(mapping.internal_port),
                },
                timeout,
            ))
            .map_err(|e| self.pcp_error(e)),
            _ => self.natpmp_unmap(mapping.protocol, mapping.internal_port),
        }
    }

    /// Removes this computer's NAT-PMP mapping from `internal_port` (NAT-PMP needs no nonce, so
    /// this works for mappings made by another program or run).
    pub fn natpmp_unmap(&self, protocol: Protocol, internal_port: Port) -> Result<(), GatewayError> {
        block_on(crab_nat::natpmp::try_drop_mapping(
            self.gateway.into(),
            internet_protocol(protocol),
            Some(non_zero(internal_port)),
            Some(timeout_config()),
        ))
        .map_err(|e| self.natpmp_error(e))
    }

    /// The router's external address (NAT-PMP's address request; PCP has none of its own).
    pub fn external_ip(&self) -> Result<Ipv4Addr, GatewayError> {
        block_on(crab_nat::natpmp::external_address(
            self.gateway.into(),
            Some(timeout_config()),
        ))
        .map_err(|e| self.natpmp_error(e))
    }

    /// miniupnpd answers PCP with "out of resources" (8) when it has no external address,
    /// which would send the user hunting for unused mappings: NAT-PMP's address request tells
    /// the real cause (result 3, "network failure"), and then that is the error.
    fn diagnose_pcp_refusal(&self, err: GatewayError) -> GatewayError {
        let out_of_resources = matches!(
            &err,
            GatewayError::PortControl(PortControlError::Refused {
                via: PortControlProtocol::Pcp,
                code: 8,
                ..
            })
        );
        match self.external_ip() {
            Err(cause @ GatewayError::PortControl(PortControlError::Refused { code: 3, .. })) if out_of_resources => {
                cause
            }
            _ => err,
        }
    }

    fn pcp_map(
        &self,
        protocol: Protocol,
        internal_port: Port,
        nonce: Option<[u32; 3]>,
        external_ip: Option<IpAddr>,
        options: PortMappingOptions,
    ) -> Result<PortControlMapping, GatewayError> {
        let request = crab_nat::pcp::BaseMapRequest::new(
            self.gateway.into(),
            self.local_ip.into(),
            internet_protocol(protocol),
            non_zero(internal_port),
        );
        // Our own nonce, so that it is known even if the answer is lost.
        let nonce = nonce.unwrap_or_else(|| [fastrand::u32(..), fastrand::u32(..), fastrand::u32(..)]);
        block_on(crab_nat::pcp::port_mapping(request, Some(nonce), external_ip, options))
            .map(|m| self.mapping_of(&m, protocol))
            .map_err(|e| self.pcp_error(e))
    }

    fn natpmp_map(
        &self,
        protocol: Protocol,
        internal_port: Port,
        options: PortMappingOptions,
    ) -> Result<PortControlMapping, GatewayError> {
        let mapped = block_on(crab_nat::natpmp::port_mapping(
            self.gateway.into(),
            internet_protocol(protocol),
            non_zero(internal_port),
            options,
        ))
        .map_err(|e| self.natpmp_error(e))?;
        let mut mapping = self.mapping_of(&mapped, protocol);
        // NAT-PMP's map answer has no address; ask for it, but a mapping made is a mapping made.
        mapping.external_ip = self.external_ip().ok();
        Ok(mapping)
    }

    fn mapping_of(&self, m: &PortMapping, protocol: Protocol) -> PortControlMapping {
        let (via, nonce, external_ip) = match m.mapping_type() {
            PortMappingType::NatPmp => (PortControlProtocol::NatPmp, None, None),
            PortMappingType::Pcp { nonce, external_ip, .. } => (
                PortControlProtocol::Pcp,
                Some(nonce),
                match external_ip {
                    IpAddr::V4(ip) if !ip.is_unspecified() => Some(ip),
                    _ => None,
                },
            ),
        };
        PortControlMapping {
            via,
            gateway: self.gateway,
            internal_ip: self.local_ip,
            protocol,
            internal_port: Port::new(m.internal_port().get()).expect("non-zero"),
            external_port: Port::new(m.external_port().get()).expect("non-zero"),
            external_ip,
            lifetime_secs: m.lifetime(),
            expires_at: unix_now() + u64::from(m.lifetime()),
            nonce,
        }
    }

    fn waited(&self) -> Duration {
        (0..=RETRIES).map(|i| FIRST_WAIT * 2u32.pow(i as u32)).sum()
    }

    /// A failure of the UDP exchange itself (a socket error, or no answer at all), the same
    /// for NAT-PMP and PCP.
    fn exchange_error(&self, socket: Option<std::io::Error>) -> PortControlError {
        match socket {
            Some(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                PortControlError::NotListening { gateway: self.gateway }
            }
            Some(e) => PortControlError::Socket {
                gateway: self.gateway,
                reason: e.to_string(),
            },
            None => PortControlError::NoAnswer {
                gateway: self.gateway,
                waited: self.waited(),
            },
        }
    }

    fn natpmp_error(&self, failure: crab_nat::natpmp::Failure) -> GatewayError {
        use crab_nat::natpmp::Failure as F;
        let refused = |code| PortControlError::Refused {
            via: PortControlProtocol::NatPmp,
            gateway: self.gateway,
            code,
        };
        GatewayError::PortControl(match failure {
            F::Socket(e) => self.exchange_error(Some(e)),
            F::Timeout => self.exchange_error(None),
            F::InvalidResponse(kind) => PortControlError::Malformed {
                via: PortControlProtocol::NatPmp,
                gateway: self.gateway,
                reason: kind.to_string(),
            },
            F::UnsupportedVersion(_) => refused(1),
            F::NotAuthorized => refused(2),
            F::NetworkFailure => refused(3),
            F::OutOfResources => refused(4),
            F::UnsupportedOpcode => refused(5),
        })
    }

    fn pcp_error(&self, failure: crab_nat::pcp::Failure) -> GatewayError {
        use crab_nat::pcp::Failure as F;
        let refused = |code| PortControlError::Refused {
            via: PortControlProtocol::Pcp,
            gateway: self.gateway,
            code,
        };
        GatewayError::PortControl(match failure {
            F::Socket(e) => self.exchange_error(Some(e)),
            F::Timeout => self.exchange_error(None),
            // A NAT-PMP-only router answers a PCP request in NAT-PMP: "version 0 only".
            F::UnsupportedVersion(VersionCode::NatPmp) => PortControlError::Refused {
                via: PortControlProtocol::NatPmp,
                gateway: self.gateway,
                code: 1,
            },
            F::UnsupportedVersion(VersionCode::Pcp) => refused(1),
            F::Nonce => PortControlError::Malformed {
                via: PortControlProtocol::Pcp,
                gateway: self.gateway,
                reason: "an answer to another request (wrong nonce)".to_owned(),
            },
            F::InvalidResponse(kind) => PortControlError::Malformed {
                via: PortControlProtocol::Pcp,
                gateway: self.gateway,
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
        })
    }
}

fn timeout_config() -> TimeoutConfig {
    TimeoutConfig {
        initial_timeout: FIRST_WAIT,
        max_retries: RETRIES,
        max_retry_timeout: None,
    }
}

fn options(external_port: Option<Port>, lifetime_secs: u32) -> PortMappingOptions {
    PortMappingOptions {
        external_port: external_port.map(non_zero),
        lifetime_seconds: Some(lifetime_secs),
        timeout_config: Some(timeout_config()),
    }
}

fn non_zero(port: Port) -> NonZeroU16 {
    NonZeroU16::new(port.get()).expect("a Port is never 0")
}

fn internet_protocol(protocol: Protocol) -> InternetProtocol {
    match protocol {
        Protocol::Tcp => InternetProtocol::Tcp,
        Protocol::Udp => InternetProtocol::Udp,
    }
}

/// Runs one request to completion on a runtime of its own. Never call from inside a tokio
/// runtime (nothing in this crate runs one).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .expect("a single-threaded runtime always builds")
        .block_on(future)
}

/// The system's default IPv4 gateway (Linux: read from `/proc/net/route`).
pub fn default_gateway() -> Result<Ipv4Addr, GatewayError> {
    let no_gateway = |reason: String| GatewayError::PortControl(PortControlError::NoDefaultGateway { reason });
    #[cfg(target_os = "linux")]
    {
        let routes = std::fs::read_to_string("/proc/net/route").map_err(|e| no_gateway(e.to_string()))?;
        default_gateway_in(&routes).ok_or_else(|| no_gateway("the routing table has no default route".to_owned()))
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(no_gateway("not known on this system".to_owned()))
    }
}

/// The gateway of the default route in the text of `/proc/net/route` (hexadecimal, in the
/// machine's byte order: little-endian on every platform Linux runs this on).
fn default_gateway_in(routes: &str) -> Option<Ipv4Addr> {
    routes.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (destination, gateway, flags) = (fields.get(1)?, fields.get(2)?, fields.get(3)?);
        let up_and_gateway = u16::from_str_radix(flags, 16).ok()? & 0x3 == 0x3;
        if *destination != "00000000" || !up_and_gateway {
            return None;
        }
        let raw = u32::from_str_radix(gateway, 16).ok()?;
        Some(Ipv4Addr::from(raw.to_le_bytes()))
    })
}

/// The NAT-PMP / PCP mappings made by this program, kept in a JSON file so a later run can
/// renew and remove them (a PCP mapping needs the nonce that made it).
#[derive(Debug, Default)]
pub struct PortControlStore {
    /// `None`: kept in memory only.
    path: Option<PathBuf>,
    mappings: Vec<PortControlMapping>,
}

impl PortControlStore {
    /// `port-control.json` in the platform's config directory.
    pub fn default_path() -> Option<PathBuf> {
        directories::ProjectDirs::from("", "", "portforward").map(|d| d.config_dir().join("port-control.json"))
    }

    /// A store that is never written to disk.
    pub fn in_memory() -> PortControlStore {
        PortControlStore::default()
    }

    /// Reads the mappings in `path` (none if it does not exist), dropping those long expired.
    pub fn open(path: impl Into<PathBuf>) -> Result<PortControlStore, FileError> {
        let path = path.into();
        let mut mappings: Vec<PortControlMapping> = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| FileError::new("read", &path, format!("{e}; delete the file to start afresh")))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(FileError::new("read", &path, e)),
        };
        mappings.retain(|m| m.seconds_left() > 0);
        Ok(PortControlStore {
            path: Some(path),
            mappings,
        })
    }

    /// The file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The mappings kept, oldest first (some may have expired since).
    pub fn mappings(&self) -> &[PortControlMapping] {
        &self.mappings
    }

    /// The mapping on `gateway` with this external port and protocol.
    pub fn find(&self, gateway: Ipv4Addr, external_port: Port, protocol: Protocol) -> Option<&PortControlMapping> {
        self.mappings
            .iter()
            .find(|m| m.gateway == gateway && m.external_port == external_port && m.protocol == protocol)
    }

    /// Records a mapping made or renewed (replacing the one on the same gateway and key).
    pub fn record(&mut self, mapping: PortControlMapping) -> Result<(), FileError> {
        self.mappings.retain(|m| {
            !(m.gateway == mapping.gateway
                && m.external_port == mapping.external_port
                && m.protocol == mapping.protocol)
        });
        self.mappings.push(mapping);
        self.write()
    }

    /// Forgets a mapping removed.
    pub fn forget(&mut self, mapping: &PortControlMapping) -> Result<(), FileError> {
        self.mappings.retain(|m| {
            !(m.gateway == mapping.gateway
                && m.external_port == mapping.external_port
                && m.protocol == mapping.protocol)
        });
        self.write()
    }

    fn write(&self) -> Result<(), FileError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| FileError::new("create the folder for", path, e))?;
        }
        let text = serde_json::to_string_pretty(&self.mappings).expect("mappings always serialize") + "\n";
        let temporary = path.with_extension("json.tmp");
        std::fs::write(&temporary, text).map_err(|e| FileError::new("write", &temporary, e))?;
        std::fs::rename(&temporary, path).map_err(|e| FileError::new("write", path, e))
    }
}

/// The router's UPnP table with the NAT-PMP / PCP mappings marked, each shown once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarkedTable {
    /// The rows: the UPnP table, then those of `ours` it does not list.
    pub mappings: Vec<Mapping>,
    /// The rows made through NAT-PMP or PCP, by key.
    pub via: HashMap<MappingKey, PortControlProtocol>,
}

/// Marks the rows of a UPnP table that NAT-PMP or PCP made: ours (`ours` on this gateway) and
/// those the router's description names (miniupnpd lists them as "NAT-PMP …" / "PCP …").
/// Our mappings the table does not list (a router without UPnP, or one that keeps them apart)
/// are added as rows of their own.
pub fn mark_port_control(upnp: Vec<Mapping>, ours: &[PortControlMapping]) -> MarkedTable {
    let mut via: HashMap<MappingKey, PortControlProtocol> = upnp
        .iter()
        .filter_map(|m| Some((m.key(), PortControlProtocol::from_description(m.description.as_str())?)))
        .collect();
    let mut mappings = upnp;
    let listed: HashMap<MappingKey, usize> = mappings.iter().enumerate().map(|(i, m)| (m.key(), i)).collect();
    for mine in ours.iter().filter(|m| m.seconds_left() > 0) {
        match listed.get(&mine.key()) {
            Some(&i) if mappings[i].internal_client == mine.internal_ip.to_string() => {
                via.insert(mine.key(), mine.via);
            }
            // The port is someone else's now: ours has gone (the router rebooted?).
            Some(_) => {}
            None => {
                via.insert(mine.key(), mine.via);
                mappings.push(mine.as_mapping());
            }
        }
    }
    MarkedTable { mappings, via }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::{PortControlSimConfig, SimulatedPortControl};

    fn port(p: u16) -> Port {
        Port::new(p).unwrap()
    }

    /// A simulated NAT-PMP/PCP server on its own loopback address (port 5351 is fixed by the
    /// protocols, so parallel tests differ by address).
    fn server(last_octet: u8, config: PortControlSimConfig) -> (SimulatedPortControl, PortControlClient) {
        let ip = Ipv4Addr::new(127, 0, 53, last_octet);
        let server = SimulatedPortControl::start(ip, config).expect("the simulated NAT-PMP server starts");
        (server, PortControlClient::new(ip).unwrap())
    }

    #[test]
    fn auto_uses_pcp_when_the_router_speaks_it_and_unmaps_with_its_nonce() {
        let (server, client) = server(1, PortControlSimConfig::default());
        let mapping = client
            .map(
                Protocol::Tcp,
                port(6000),
                Some(port(6001)),
                Lease::seconds(600).unwrap(),
            )
            .unwrap();
        assert_eq!(mapping.via, PortControlProtocol::Pcp);
        assert_eq!(mapping.external_port.get(), 6001);
        assert_eq!(mapping.external_ip, Some(Ipv4Addr::new(203, 0, 113, 7)));
        assert_eq!(mapping.lifetime_secs, 600);
        assert!(mapping.nonce.is_some());
        assert_eq!(server.mappings().len(), 1);

        let renewed = client.renew(&mapping, Some(Lease::seconds(1200).unwrap())).unwrap();
        assert_eq!(renewed.nonce, mapping.nonce);
        assert_eq!(renewed.lifetime_secs, 1200);
        assert_eq!(server.mappings().len(), 1, "renewed in place");

        // Another nonce may not remove it.
        let stranger = PortControlMapping {
            nonce: Some([1, 2, 3]),
            ..mapping.clone()
        };
        let err = client.unmap(&stranger).unwrap_err();
        assert!(
            matches!(
                err,
                GatewayError::PortControl(PortControlError::Refused { code: 2, .. })
            ),
            "{err}"
        );
        client.unmap(&mapping).unwrap();
        assert!(server.mappings().is_empty());
    }

    #[test]
    fn auto_falls_back_to_natpmp_on_a_router_without_pcp() {
        let (server, client) = server(
            2,
            PortControlSimConfig {
                pcp: false,
                ..PortControlSimConfig::default()
            },
        );
        let mapping = client
            .map(Protocol::Udp, port(7000), None, Lease::seconds(300).unwrap())
            .unwrap();
        assert_eq!(mapping.via, PortControlProtocol::NatPmp);
        assert_eq!(mapping.external_port.get(), 7000, "the router kept the port");
        assert_eq!(mapping.external_ip, Some(Ipv4Addr::new(203, 0, 113, 7)));
        assert_eq!(client.external_ip().unwrap(), Ipv4Addr::new(203, 0, 113, 7));
        client.unmap(&mapping).unwrap();
        assert!(server.mappings().is_empty());

        let pcp_only = client.clone().with_mode(PortControlMode::Pcp);
        let err = pcp_only
            .map(Protocol::Udp, port(7000), None, Lease::seconds(300).unwrap())
            .unwrap_err();
        assert!(err.to_string().contains("choose the other protocol"), "{err}");
    }

    #[test]
    fn a_router_without_an_external_address_is_a_clear_error() {
        let (_server, client) = server(
            3,
            PortControlSimConfig {
                external_ip: None,
                ..PortControlSimConfig::default()
            },
        );
        let natpmp = client.clone().with_mode(PortControlMode::NatPmp);
        let err = natpmp
            .map(Protocol::Tcp, port(6000), None, Lease::seconds(60).unwrap())
            .unwrap_err();
        let GatewayError::PortControl(inner) = &err else {
            panic!("{err}")
        };
        assert_eq!(inner.result_code(), Some(3));
        assert!(err.to_string().contains("carrier-grade NAT"), "{err}");
        let err = client
            .map(Protocol::Tcp, port(6000), None, Lease::seconds(60).unwrap())
            .unwrap_err();
        assert!(err.to_string().contains("carrier-grade NAT"), "PCP too: {err}");
    }

    #[test]
    fn silence_is_reported_with_what_to_do() {
        // Nothing listens on this address's port 5351.
        let client = PortControlClient::new(Ipv4Addr::new(127, 0, 53, 250)).unwrap();
        let started = std::time::Instant::now();
        let err = client.external_ip().unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        // Loopback answers a closed port with ICMP "port unreachable".
        assert!(err.to_string().contains("nothing listening on port 5351"), "{err}");
        assert!(client.map(Protocol::Tcp, port(1), None, Lease::PERMANENT).is_err());
    }

    #[test]
    fn the_default_route_is_read_from_the_routing_table() {
        let routes = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                      eth0\t004DA8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
                      eth0\t00000000\t014DA8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n";
        assert_eq!(default_gateway_in(routes), Some(Ipv4Addr::new(192, 168, 77, 1)));
        assert_eq!(default_gateway_in("Iface\tDestination\n"), None);
    }

    fn ours(external: u16, via: PortControlProtocol) -> PortControlMapping {
        PortControlMapping {
            via,
            gateway: Ipv4Addr::new(192, 168, 77, 1),
            internal_ip: Ipv4Addr::new(192, 168, 77, 10),
            protocol: Protocol::Tcp,
            internal_port: port(external),
            external_port: port(external),
            external_ip: None,
            lifetime_secs: 600,
            expires_at: unix_now() + 600,
            nonce: None,
        }
    }

    #[test]
    fn port_control_rows_are_shown_once_and_marked() {
        let listed = |port: u16, client: &str, description: &str| Mapping {
            protocol: Protocol::Tcp,
            external_port: Port::new(port).unwrap(),
            internal_client: client.to_owned(),
            internal_port: Port::new(port).unwrap(),
            description: Description::from_router(description.to_owned()),
            enabled: true,
            remote_host: String::new(),
            lease: Lease::from_router(500),
        };
        let upnp = vec![
            listed(6000, "192.168.77.10", "NAT-PMP 6000 tcp"),
            listed(6001, "192.168.77.11", "PCP MAP 0a0b0c"),
            listed(8080, "192.168.77.10", "web"),
            listed(9000, "192.168.77.11", "someone else's now"),
        ];
        let table = mark_port_control(
            upnp,
            &[
                ours(6000, PortControlProtocol::NatPmp),
                ours(7000, PortControlProtocol::Pcp),
                ours(9000, PortControlProtocol::Pcp),
            ],
        );
        let ports: Vec<u16> = table.mappings.iter().map(|m| m.external_port.get()).collect();
        assert_eq!(ports, [6000, 6001, 8080, 9000, 7000], "each once; ours unlisted added");
        let key = |p: u16| {
            table
                .mappings
                .iter()
                .find(|m| m.external_port.get() == p)
                .unwrap()
                .key()
        };
        assert_eq!(table.via.get(&key(6000)), Some(&PortControlProtocol::NatPmp));
        assert_eq!(
            table.via.get(&key(6001)),
            Some(&PortControlProtocol::Pcp),
            "by description"
        );
        assert_eq!(table.via.get(&key(7000)), Some(&PortControlProtocol::Pcp));
        assert_eq!(table.via.get(&key(8080)), None);
        assert_eq!(table.via.get(&key(9000)), None, "the port is another host's now");
        assert_eq!(table.mappings[4].description.as_str(), "made via PCP");
    }

    #[test]
    fn the_store_keeps_what_a_later_run_needs() {
        let dir = std::env::temp_dir().join(format!("pfw-port-control-{}-{}", std::process::id(), fastrand::u32(..)));
        let path = dir.join("port-control.json");
        let mut store = PortControlStore::open(&path).unwrap();
        let mut pcp = ours(6000, PortControlProtocol::Pcp);
        pcp.nonce = Some([7, 8, 9]);
        store.record(pcp.clone()).unwrap();
        store.record(ours(6001, PortControlProtocol::NatPmp)).unwrap();
        let expired = PortControlMapping {
            expires_at: unix_now() - 1,
            ..ours(6002, PortControlProtocol::NatPmp)
        };
        store.record(expired).unwrap();
        let again = PortControlStore::open(&path).unwrap();
        assert_eq!(again.mappings().len(), 2, "the expired one is dropped");
        assert_eq!(again.find(pcp.gateway, port(6000), Protocol::Tcp), Some(&pcp));
        let mut again = again;
        again.forget(&pcp).unwrap();
        assert_eq!(PortControlStore::open(&path).unwrap().mappings().len(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
