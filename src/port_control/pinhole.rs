//! IPv6 pinholes over PCP (RFC 6887 MAP sent to the router's IPv6 address): the fallback for
//! routers whose UPnP has no WANIPv6FirewallControl. Behind IPv6 there is no NAT: a MAP opens
//! the router's firewall for the port of the address the request comes from.
//!
//! What miniupnpd does (measured, `/work/shared/reference/ipv6-pinholes.md`): the client
//! field must equal the source address (else result 12, ADDRESS_MISMATCH), the external port
//! is the internal one, lifetimes under 120 s are raised to 120, a refresh with the same nonce
//! renews, and only the nonce that made a pinhole may delete it (another gets result 2).
//! crab_nat cannot choose the source address, so the address opened is the one the route to
//! the router leaves from, and only when that is a stable one.

use std::net::{IpAddr, Ipv6Addr};

use crab_nat::GatewayAddress;

use super::crab::{block_on, internet_protocol, non_zero, options, pcp_error, timeout_config};
use super::{PORT_CONTROL_PORT, PortControlError, PortControlProtocol};
use crate::host::{self, HostError};
use crate::model::{InputError, NewPinhole, PCP_MIN_LIFETIME};

/// PCP towards one router's IPv6 address, opening this computer's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcpFirewall {
    router: Ipv6Addr,
    scope: u32,
    local: Ipv6Addr,
}

/// What a PCP MAP granted: the lifetime and the nonce to renew and close it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcpGrant {
    /// The lifetime granted, in seconds.
    pub lifetime_secs: u32,
    /// The mapping nonce.
    pub nonce: [u32; 3],
}

impl PcpFirewall {
    /// PCP towards `router` (on interface `scope` when it is link-local, else 0), opening the
    /// address the route to it leaves from. `local`, when given, must be that address.
    pub fn new(router: Ipv6Addr, scope: u32, local: Option<Ipv6Addr>) -> Result<PcpFirewall, crate::Error> {
        let source = host::ipv6_source_towards_scoped(router, scope)?;
        if let Some(local) = local
            && local != source
        {
            return Err(InputError::new(
                "internal ip",
                &local.to_string(),
                &format!(
                    "PCP opens only the address its request comes from, and requests to {router} leave from {source}: leave --internal-ip out, or use --via upnp"
                ),
            )
            .into());
        }
        if !host::is_openable_source(source, router) {
            return Err(HostError::NoLocalAddress {
                reason: format!(
                    "requests to {router} leave from {source}, a temporary, deprecated or link-local address, and PCP opens only the address its request comes from; use UPnP (--via upnp)"
                ),
            }
            .into());
        }
        Ok(PcpFirewall {
            router,
            scope,
            local: source,
        })
    }

    /// PCP towards the router of the IPv6 default route.
    pub fn towards_default_router(local: Option<Ipv6Addr>) -> Result<PcpFirewall, crate::Error> {
        let (router, scope) = host::default_ipv6_gateway()?;
        PcpFirewall::new(router, scope, local)
    }

    /// The router asked.
    pub fn router(&self) -> Ipv6Addr {
        self.router
    }

    /// The address opened (and requests' source).
    pub fn local_address(&self) -> Ipv6Addr {
        self.local
    }

    /// How pinholes made here are recorded as being on this router: `pcp://[router]:5351`.
    pub fn gateway_id(&self) -> String {
        format!("pcp://[{}]:{PORT_CONTROL_PORT}", self.router)
    }

    /// The router a [`PcpFirewall::gateway_id`] names.
    pub fn router_of(gateway_id: &str) -> Option<Ipv6Addr> {
        let host = gateway_id.strip_prefix("pcp://[")?.split(']').next()?;
        host.parse().ok()
    }

    /// Checks what PCP MAP can open before anything is sent: no remote host or port limit
    /// (MAP has none), a lifetime of at least 120 s, the address requests come from.
    pub fn check_opening(&self, opening: &NewPinhole) -> Result<(), InputError> {
        check_pcp_opening(opening)?;
        if opening.internal_ip != self.local {
            return Err(InputError::new(
                "internal ip",
                &opening.internal_ip.to_string(),
                &format!("PCP opens only the address its request comes from ({})", self.local),
            ));
        }
        Ok(())
    }

    /// Opens (or, with the `nonce` that made it, renews) `opening`'s port. The router must
    /// open that very port: IPv6 has no translation.
    pub fn open(&self, opening: &NewPinhole, nonce: Option<[u32; 3]>) -> Result<PcpGrant, crate::Error> {
        self.check_opening(opening)?;
        let request = crab_nat::pcp::BaseMapRequest::new(
            self.gateway(),
            self.local.into(),
            internet_protocol(opening.protocol),
            non_zero(opening.internal_port),
        );
        // Our own nonce, so that it is known even if the answer is lost.
        let nonce = nonce.unwrap_or_else(|| [fastrand::u32(..), fastrand::u32(..), fastrand::u32(..)]);
        let options = options(Some(opening.internal_port), opening.lease.as_secs());
        let mapped = block_on(crab_nat::pcp::port_mapping(request, Some(nonce), None, options))
            .map_err(|e| pcp_error(self.router.into(), e))?;
        if mapped.external_port().get() != opening.internal_port.get() {
            // Close what was opened on the wrong port, then say so.
            let _ = self.close(opening, nonce);
            return Err(PortControlError::Malformed {
                via: PortControlProtocol::Pcp,
                gateway: self.router.into(),
                reason: format!(
                    "it opened port {} instead of {} (an IPv6 pinhole has no translation)",
                    mapped.external_port(),
                    opening.internal_port
                ),
            }
            .into());
        }
        Ok(PcpGrant {
            lifetime_secs: mapped.lifetime(),
            nonce,
        })
    }

    /// Closes `opening`'s port with the `nonce` that opened it.
    pub fn close(&self, opening: &NewPinhole, nonce: [u32; 3]) -> Result<(), crate::Error> {
        block_on(crab_nat::pcp::try_drop_mapping(
            self.gateway(),
            self.local.into(),
            nonce,
            crab_nat::pcp::DropMappingRange::Single {
                protocol: internet_protocol(opening.protocol),
                internal_port: non_zero(opening.internal_port),
            },
            Some(timeout_config()),
        ))
        .map_err(|e| pcp_error(IpAddr::V6(self.router), e).into())
    }

    fn gateway(&self) -> GatewayAddress {
        GatewayAddress::IpV6(self.router, (self.scope != 0).then_some(self.scope))
    }
}

/// The checks of [`PcpFirewall::check_opening`] that need no router: PCP MAP cannot limit
/// the remote side, and grants no lifetime under 120 s.
pub fn check_pcp_opening(opening: &NewPinhole) -> Result<(), InputError> {
    if let Some(host) = opening.remote_host {
        return Err(InputError::new(
            "remote host",
            &host.to_string(),
            "a PCP pinhole cannot be limited to one remote host: leave --remote-host out, or use --via upnp",
        ));
    }
    if let Some(port) = opening.remote_port {
        return Err(InputError::new(
            "remote port",
            &port.to_string(),
            "a PCP pinhole cannot be limited to one remote port: leave --remote-port out, or use --via upnp",
        ));
    }
    if opening.lease.as_secs() < PCP_MIN_LIFETIME {
        return Err(InputError::new(
            "lease",
            &opening.lease.as_secs().to_string(),
            "a PCP pinhole lasts at least 120 seconds: give a lease from 120 to 86400",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PinholeLease, Port, Protocol};

    fn opening() -> NewPinhole {
        NewPinhole::new(Ipv6Addr::LOCALHOST, Port::new(18080).unwrap(), Protocol::Tcp)
    }

    #[test]
    fn the_recorded_gateway_names_the_router() {
        let pcp = PcpFirewall {
            router: "2001:db8:77::1".parse().unwrap(),
            scope: 0,
            local: "2001:db8:77::10".parse().unwrap(),
        };
        assert_eq!(pcp.gateway_id(), "pcp://[2001:db8:77::1]:5351");
        assert_eq!(PcpFirewall::router_of(&pcp.gateway_id()), Some(pcp.router()));
        assert_eq!(PcpFirewall::router_of("http://[2001:db8::1]:49000/ctl"), None);
    }

    #[test]
    fn what_pcp_cannot_open_is_refused_before_sending_naming_the_field() {
        assert!(check_pcp_opening(&opening()).is_ok());
        let limited = NewPinhole {
            remote_host: Some("2001:db8::99".parse().unwrap()),
            ..opening()
        };
        assert_eq!(check_pcp_opening(&limited).unwrap_err().field, "remote host");
        let from_port = NewPinhole {
            remote_port: Port::new(53),
            ..opening()
        };
        assert_eq!(check_pcp_opening(&from_port).unwrap_err().field, "remote port");
        let short = NewPinhole {
            lease: PinholeLease::seconds(119).unwrap(),
            ..opening()
        };
        let err = check_pcp_opening(&short).unwrap_err();
        assert_eq!(err.field, "lease");
        assert!(err.reason.contains("120"), "{err}");
    }
}
