//! Talking NAT-PMP / PCP to one gateway: map, renew, unmap, external address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crab_nat::{PortMapping, PortMappingOptions, PortMappingType};

use super::crab::{block_on, exchange_error, internet_protocol, non_zero, options, pcp_error, timeout_config};
use super::{PORT_CONTROL_PORT, PortControlError, PortControlMapping, PortControlMode, PortControlProtocol, unix_now};
use crate::error::Error;
use crate::host;
use crate::model::{InputError, Lease, Port, Protocol};

/// Talks NAT-PMP / PCP to one gateway.
#[derive(Debug, Clone)]
pub struct PortControlClient {
    gateway: Ipv4Addr,
    local_ip: Ipv4Addr,
    mode: PortControlMode,
}

impl PortControlClient {
    /// A client for the router at `gateway`; this computer's address is the one that reaches it.
    pub fn new(gateway: Ipv4Addr) -> Result<PortControlClient, Error> {
        let local_ip = host::local_ip_towards(SocketAddr::from((gateway, PORT_CONTROL_PORT)))?;
        Ok(PortControlClient {
            gateway,
            local_ip,
            mode: PortControlMode::Auto,
        })
    }

    /// A client for the system's default gateway.
    pub fn towards_default_gateway() -> Result<PortControlClient, Error> {
        PortControlClient::new(host::default_gateway()?)
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
    ) -> Result<PortControlMapping, Error> {
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
                Err(Error::PortControl(
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
    pub fn renew(&self, mapping: &PortControlMapping, lifetime: Option<Lease>) -> Result<PortControlMapping, Error> {
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
    pub fn unmap(&self, mapping: &PortControlMapping) -> Result<(), Error> {
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
    pub fn natpmp_unmap(&self, protocol: Protocol, internal_port: Port) -> Result<(), Error> {
        block_on(crab_nat::natpmp::try_drop_mapping(
            self.gateway.into(),
            internet_protocol(protocol),
            Some(non_zero(internal_port)),
            Some(timeout_config()),
        ))
        .map_err(|e| self.natpmp_error(e))
    }

    /// The router's external address (NAT-PMP's address request; PCP has none of its own).
    pub fn external_ip(&self) -> Result<Ipv4Addr, Error> {
        block_on(crab_nat::natpmp::external_address(
            self.gateway.into(),
            Some(timeout_config()),
        ))
        .map_err(|e| self.natpmp_error(e))
    }

    /// miniupnpd answers PCP with "out of resources" (8) when it has no external address,
    /// which would send the user hunting for unused mappings: NAT-PMP's address request tells
    /// the real cause (result 3, "network failure"), and then that is the error.
    fn diagnose_pcp_refusal(&self, err: Error) -> Error {
        let out_of_resources = matches!(
            &err,
            Error::PortControl(PortControlError::Refused {
                via: PortControlProtocol::Pcp,
                code: 8,
                ..
            })
        );
        match self.external_ip() {
            Err(cause @ Error::PortControl(PortControlError::Refused { code: 3, .. })) if out_of_resources => cause,
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
    ) -> Result<PortControlMapping, Error> {
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
    ) -> Result<PortControlMapping, Error> {
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

    fn exchange_error(&self, socket: Option<std::io::Error>) -> PortControlError {
        exchange_error(self.gateway.into(), socket)
    }

    fn natpmp_error(&self, failure: crab_nat::natpmp::Failure) -> Error {
        use crab_nat::natpmp::Failure as F;
        let refused = |code| PortControlError::Refused {
            via: PortControlProtocol::NatPmp,
            gateway: self.gateway.into(),
            code,
        };
        Error::PortControl(match failure {
            F::Socket(e) => self.exchange_error(Some(e)),
            F::Timeout => self.exchange_error(None),
            F::InvalidResponse(kind) => PortControlError::Malformed {
                via: PortControlProtocol::NatPmp,
                gateway: self.gateway.into(),
                reason: kind.to_string(),
            },
            F::UnsupportedVersion(_) => refused(1),
            F::NotAuthorized => refused(2),
            F::NetworkFailure => refused(3),
            F::OutOfResources => refused(4),
            F::UnsupportedOpcode => refused(5),
        })
    }

    fn pcp_error(&self, failure: crab_nat::pcp::Failure) -> Error {
        pcp_error(self.gateway.into(), failure).into()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::simulator::{
        PortControlSimConfig, SimulatedPortControl, loopback_address_missing, port_control_unavailable,
    };

    fn port(p: u16) -> Port {
        Port::new(p).unwrap()
    }

    /// A simulated NAT-PMP/PCP server on its own loopback address (port 5351 is fixed by the
    /// protocols, so parallel tests differ by address). `None`, said on stderr, where such a
    /// server cannot work (see `port_control_unavailable`): the test is skipped there.
    fn server(last_octet: u8, config: PortControlSimConfig) -> Option<(SimulatedPortControl, PortControlClient)> {
        let ip = Ipv4Addr::new(127, 0, 53, last_octet);
        if let Some(why) = port_control_unavailable(ip) {
            eprintln!("skipped: {why}");
            return None;
        }
        let server = SimulatedPortControl::start(ip, config).expect("the simulated NAT-PMP server starts");
        Some((server, PortControlClient::new(ip).unwrap()))
    }

    #[test]
    fn auto_uses_pcp_when_the_router_speaks_it_and_unmaps_with_its_nonce() {
        let Some((server, client)) = server(1, PortControlSimConfig::default()) else {
            return;
        };
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
            matches!(err, Error::PortControl(PortControlError::Refused { code: 2, .. })),
            "{err}"
        );
        client.unmap(&mapping).unwrap();
        assert!(server.mappings().is_empty());
    }

    #[test]
    fn auto_falls_back_to_natpmp_on_a_router_without_pcp() {
        let Some((server, client)) = server(
            2,
            PortControlSimConfig {
                pcp: false,
                ..PortControlSimConfig::default()
            },
        ) else {
            return;
        };
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
        let Some((_server, client)) = server(
            3,
            PortControlSimConfig {
                external_ip: None,
                ..PortControlSimConfig::default()
            },
        ) else {
            return;
        };
        let natpmp = client.clone().with_mode(PortControlMode::NatPmp);
        let err = natpmp
            .map(Protocol::Tcp, port(6000), None, Lease::seconds(60).unwrap())
            .unwrap_err();
        let Error::PortControl(inner) = &err else {
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
        let ip = Ipv4Addr::new(127, 0, 53, 250);
        if let Some(why) = loopback_address_missing(ip) {
            eprintln!("skipped: {why}");
            return;
        }
        let client = PortControlClient::new(ip).unwrap();
        let started = std::time::Instant::now();
        let err = client.external_ip().unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        // Loopback answers a closed port with ICMP "port unreachable".
        assert!(err.to_string().contains("nothing listening on port 5351"), "{err}");
        assert!(client.map(Protocol::Tcp, port(1), None, Lease::PERMANENT).is_err());
    }

    #[test]
    fn a_reset_on_the_next_receive_is_nothing_listening_as_windows_reports_it() {
        let client = PortControlClient::new(Ipv4Addr::LOCALHOST).unwrap();
        // What Windows' receive returns after ICMP "port unreachable": WSAECONNRESET.
        #[cfg(windows)]
        let reset = std::io::Error::from_raw_os_error(10054);
        #[cfg(not(windows))]
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let err = client.exchange_error(Some(reset));
        assert!(matches!(err, PortControlError::NotListening { .. }), "{err}");
        assert!(err.to_string().contains("nothing listening on port 5351"), "{err}");
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(matches!(
            client.exchange_error(Some(refused)),
            PortControlError::NotListening { .. }
        ));
    }
}
