//! The PyForward API, done right: `enable`, `disable`, `disable_all`, `refresh`,
//! `get_mapping`, `get_all_mappings`, `local_ip`, `external_ip`, `open_local_port`,
//! `open_external_port`, `random_port`, on top of one [`Gateway`].

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::sync::{Mutex, OnceLock};

use serde::Serialize;

use super::{BulkReport, ForwardError};
use crate::error::Error;
use crate::host::{self, LocalAddress};
use crate::model::{Description, Lease, Mapping, MappingFilter, MappingKey, NewMapping, Port, Protocol};
use crate::upnp::parallel;
use crate::upnp::{ConnectionStatus, DiscoveryOptions, Gateway, GatewayOptions, MappingTable, UpnpCode, UpnpError};

/// The description `enable` gives when none is given.
pub const DEFAULT_DESCRIPTION: &str = "PortForward";
/// How many free-looking external ports `enable` tries on an IGD:1 router before giving up.
const EXTERNAL_PORT_TRIES: usize = 8;

/// What to enable. Every field is optional. Left out: this computer's LAN address, TCP,
/// "PortForward", a finite lease ([`Lease::DEFAULT`]); for the ports, an external port alone
/// is forwarded to the same internal port, and with neither one free port is used for both
/// where the router allows it ([`EnableRequest::explain`] says what was chosen).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnableRequest {
    /// The port on the router; a free one when `None`.
    pub external_port: Option<Port>,
    /// The port on the LAN host; when `None`: the external port if one is given, else a port
    /// free on this computer (a random one for another host), asked of the router as the
    /// external port too.
    pub internal_port: Option<Port>,
    /// The LAN host; this computer when `None`.
    pub internal_ip: Option<Ipv4Addr>,
    /// TCP (default) or UDP.
    pub protocol: Protocol,
    /// "PortForward" when `None`.
    pub description: Option<Description>,
    /// [`Lease::DEFAULT`] when `None`.
    pub lease: Option<Lease>,
}

impl EnableRequest {
    /// The ports `enable` chose for what this request left out, in words for a user
    /// ("internal port 25565: the same as the external port"); `None` when both were given.
    pub fn explain(&self, enabled: &Enabled) -> Option<String> {
        let external = enabled.request.external_port;
        let internal = enabled.request.internal_port;
        match (self.external_port, self.internal_port) {
            (Some(_), Some(_)) => None,
            (Some(_), None) => Some(format!("internal port {internal}: the same as the external port")),
            (None, Some(_)) if external == internal => {
                Some(format!("external port {external}: the same as the internal port"))
            }
            (None, Some(_)) => Some(format!(
                "external port {external}: chosen by the router (the internal port {internal} was taken there)"
            )),
            (None, None) if external == internal => Some(format!(
                "port {external} for both sides: free on the router and behind it"
            )),
            (None, None) => Some(format!(
                "internal port {internal} (free behind the router); external port {external}: chosen by the router, {internal} was taken there"
            )),
        }
    }
}

/// A mapping that was created or renewed, as the router now lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enabled {
    /// The router's external address, when it has one.
    pub external_ip: Option<Ipv4Addr>,
    /// What was asked of the router (with the lease it finally accepted).
    pub request: NewMapping,
    /// The entry as the router lists it afterwards (its lease may be clamped).
    pub mapping: Mapping,
}

impl Enabled {
    /// PyForward's tuple: external IP, external port, internal IP, internal port.
    pub fn as_tuple(&self) -> (Option<Ipv4Addr>, Port, Ipv4Addr, Port) {
        (
            self.external_ip,
            self.request.external_port,
            self.request.internal_ip,
            self.request.internal_port,
        )
    }
}

/// The port-forwarding API over one gateway. Share it between threads with `Arc`.
///
/// ```no_run
/// use portforward::{EnableRequest, PortForwarder};
/// let forwarder = PortForwarder::discover(&Default::default())?;
/// let enabled = forwarder.enable(&EnableRequest::default())?;
/// println!("{:?}", enabled.as_tuple());
/// forwarder.disable(None, None)?; // the last enable
/// # Ok::<(), portforward::Error>(())
/// ```
#[derive(Debug)]
pub struct PortForwarder {
    gateway: Gateway,
    local_ip: Ipv4Addr,
    /// The interface name, looked up when first shown (it costs a netlink dump).
    local_address: OnceLock<LocalAddress>,
    last_enable: Mutex<Option<NewMapping>>,
}

/// The gateway it works with, for what takes "a gateway or what holds one".
impl AsRef<Gateway> for PortForwarder {
    fn as_ref(&self) -> &Gateway {
        &self.gateway
    }
}

impl PortForwarder {
    /// Discovers the first gateway on the network (returns as soon as it answers).
    pub fn discover(options: &DiscoveryOptions) -> Result<PortForwarder, Error> {
        PortForwarder::new(crate::upnp::discover(options)?)
    }

    /// Connects to the gateway described at `description_url`, skipping discovery.
    pub fn connect(description_url: &str, options: &GatewayOptions) -> Result<PortForwarder, Error> {
        PortForwarder::new(Gateway::connect(description_url, options)?)
    }

    /// Wraps a gateway found otherwise.
    pub fn new(gateway: Gateway) -> Result<PortForwarder, Error> {
        let local_ip = host::local_ip_towards(gateway.addr())?;
        Ok(PortForwarder {
            gateway,
            local_ip,
            local_address: OnceLock::new(),
            last_enable: Mutex::new(None),
        })
    }

    /// The gateway, for the actions this API does not wrap.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// This computer's address towards the gateway, with its interface. The first call looks
    /// the interface up (a netlink dump on Linux): call it off a UI thread.
    pub fn local_address(&self) -> &LocalAddress {
        self.local_address.get_or_init(|| LocalAddress {
            ip: self.local_ip,
            interface: host::interface_of(self.local_ip),
        })
    }

    /// This computer's address on the network that reaches the gateway.
    pub fn local_ip(&self) -> Ipv4Addr {
        self.local_ip
    }

    /// The last mapping `enable` made in this session (what `disable` and `refresh` default
    /// to), unless it was disabled since.
    pub fn last_enable(&self) -> Option<NewMapping> {
        self.last_enable.lock().expect("not poisoned").clone()
    }

    /// The router's external address (`None` when it has none).
    pub fn external_ip(&self) -> Result<Option<Ipv4Addr>, Error> {
        Ok(self.gateway.external_ip()?)
    }

    /// The WAN connection's status.
    pub fn status(&self) -> Result<ConnectionStatus, Error> {
        Ok(self.gateway.status()?)
    }

    /// A free local port (see [`host::open_local_port`]).
    pub fn open_local_port(&self, protocol: Protocol) -> Result<Port, Error> {
        host::open_local_port(protocol).map_err(|e| host::HostError::NoLocalAddress { reason: e.to_string() }.into())
    }

    /// A random port in the dynamic range.
    pub fn random_port(&self) -> Port {
        host::random_port()
    }

    /// An external port free on the router right now for `protocol`, read from its table.
    /// Nothing is reserved (no add-then-delete race); `enable` without an external port
    /// lets an IGD:2 router pick atomically instead.
    pub fn open_external_port(&self, protocol: Protocol) -> Result<Port, Error> {
        let taken = self.taken_ports(protocol)?;
        Ok(free_port_avoiding(&taken, None))
    }

    /// The entry at `index` of the router's table.
    pub fn get_mapping(&self, index: u32) -> Result<Mapping, Error> {
        Ok(self.gateway.generic_entry(index)?)
    }

    /// The router's whole table, with anything odd noticed while reading it.
    pub fn get_all_mappings(&self) -> Result<MappingTable, Error> {
        Ok(self.gateway.list_all()?)
    }

    /// Creates a mapping. See [`EnableRequest`] for the defaults.
    pub fn enable(&self, request: &EnableRequest) -> Result<Enabled, Error> {
        let internal_ip = request.internal_ip.unwrap_or(self.local_ip);
        let internal_port = match (request.internal_port, request.external_port) {
            (Some(port), _) => port,
            // A known external port (a game server's) goes to the same port behind it.
            (None, Some(external)) => external,
            // Neither: one port for both, free here (asked first, as it is tried on the
            // router as the external port too).
            (None, None) if internal_ip == self.local_ip => self.open_local_port(request.protocol)?,
            (None, None) => host::random_port(),
        };
        let mut mapping = NewMapping {
            protocol: request.protocol,
            external_port: request.external_port.unwrap_or(internal_port),
            internal_ip,
            internal_port,
            description: request
                .description
                .clone()
                .unwrap_or_else(|| Description::from_router(DEFAULT_DESCRIPTION.to_owned())),
            lease: request.lease.unwrap_or(Lease::DEFAULT),
        };
        if request.external_port.is_some() || self.same_port_is_free(&mapping)? {
            // Asked for, or no external port given and the internal one free on the router:
            // one port for both sides.
            mapping.lease = self.add_with_lease_fallback(&mapping, |m| self.gateway.add_port_mapping(m))?;
        } else if self.gateway.supports("AddAnyPortMapping") {
            let mut chosen = mapping.external_port;
            mapping.lease = self.add_with_lease_fallback(&mapping, |m| {
                chosen = self.gateway.add_any_port_mapping(m)?;
                Ok(())
            })?;
            mapping.external_port = chosen;
        } else {
            self.add_on_a_free_port(&mut mapping)?;
        }
        let listed = self.verify(&mapping)?;
        *self.last_enable.lock().expect("not poisoned") = Some(mapping.clone());
        Ok(Enabled {
            external_ip: self.gateway.external_ip().ok().flatten(),
            request: mapping,
            mapping: listed,
        })
    }

    /// Renews a mapping in place (re-adding it with the same fields); fields left out come
    /// from the last `enable`. Only if the router refuses a renewal does it delete and add.
    pub fn refresh(&self, request: Option<&EnableRequest>) -> Result<Enabled, Error> {
        let last = self.last_enable.lock().expect("not poisoned").clone();
        let mapping = match (request, last) {
            (None, Some(last)) => last,
            (None, None) => return Err(ForwardError::NoPreviousEnable.into()),
            (Some(req), last) => {
                let external_port = req
                    .external_port
                    .or(last.as_ref().map(|l| l.external_port))
                    .ok_or(ForwardError::NoPreviousEnable)?;
                let same = last.as_ref().filter(|l| l.external_port == external_port);
                NewMapping {
                    protocol: req.protocol,
                    external_port,
                    internal_ip: req.internal_ip.or(same.map(|l| l.internal_ip)).unwrap_or(self.local_ip),
                    internal_port: req
                        .internal_port
                        .or(same.map(|l| l.internal_port))
                        .unwrap_or(external_port),
                    description: req
                        .description
                        .clone()
                        .or(same.map(|l| l.description.clone()))
                        .unwrap_or_else(|| Description::from_router(DEFAULT_DESCRIPTION.to_owned())),
                    lease: req.lease.or(same.map(|l| l.lease)).unwrap_or(Lease::DEFAULT),
                }
            }
        };
        self.renew(mapping)
    }

    /// Renews exactly this mapping (used by `refresh` and by keep-alive).
    pub fn renew(&self, mut mapping: NewMapping) -> Result<Enabled, Error> {
        match self.add_with_lease_fallback(&mapping, |m| self.gateway.add_port_mapping(m)) {
            Ok(lease) => mapping.lease = lease,
            // Some stacks refuse to re-add an identical mapping: then delete and add it,
            // but only if it is really ours to replace.
            Err(err) if err.upnp_code() == Some(UpnpCode::Conflict) => {
                let existing = self.gateway.specific_entry(&mapping.key())?;
                if existing.internal_client != mapping.internal_ip.to_string() {
                    // Already explained: the holder is named.
                    return Err(err);
                }
                self.gateway.delete_port_mapping(&mapping.key())?;
                mapping.lease = self.add_with_lease_fallback(&mapping, |m| self.gateway.add_port_mapping(m))?;
            }
            Err(err) => return Err(err),
        }
        let listed = self.verify(&mapping)?;
        Ok(Enabled {
            external_ip: self.gateway.external_ip().ok().flatten(),
            request: mapping,
            mapping: listed,
        })
    }

    /// Removes one mapping and returns it as it was (for undo). Defaults: the last `enable`'s
    /// port; the protocol of the last `enable` on that port, else TCP. A mapping that does not
    /// exist is an error (many routers silently "delete" it).
    pub fn disable(&self, external_port: Option<Port>, protocol: Option<Protocol>) -> Result<Mapping, Error> {
        let mut last = self.last_enable.lock().expect("not poisoned");
        let key = match (external_port, last.as_ref()) {
            (None, None) => return Err(ForwardError::NoPreviousEnable.into()),
            (None, Some(l)) => MappingKey {
                protocol: protocol.unwrap_or(l.protocol),
                ..l.key()
            },
            (Some(port), l) => MappingKey {
                external_port: port,
                protocol: protocol
                    .or(l.filter(|l| l.external_port == port).map(|l| l.protocol))
                    .unwrap_or(Protocol::Tcp),
                remote_host: String::new(),
            },
        };
        let existing = self.gateway.specific_entry(&key)?;
        self.gateway.delete_port_mapping(&key)?;
        if last.as_ref().is_some_and(|l| l.key() == key) {
            *last = None;
        }
        Ok(existing)
    }

    /// The mappings `disable_all` would remove with this filter, without removing anything.
    pub fn preview_disable_all(&self, filter: &MappingFilter) -> Result<Vec<Mapping>, Error> {
        if filter.is_empty() && !filter.everything {
            return Err(ForwardError::UnfilteredDisableAll.into());
        }
        let table = self.get_all_mappings()?;
        Ok(table.mappings.into_iter().filter(|m| filter.matches(m)).collect())
    }

    /// Removes every mapping that matches ALL the filter's fields, reporting row by row.
    /// Without any field it refuses, unless `filter.everything` says all is meant.
    pub fn disable_all(&self, filter: &MappingFilter) -> Result<BulkReport, Error> {
        let chosen = self.preview_disable_all(filter)?;
        Ok(self.remove_mappings(&chosen))
    }

    /// Removes exactly these mappings (a confirmed preview), row by row: one refusal does not
    /// stop the others; a gateway that stops answering does.
    pub fn remove_mappings(&self, mappings: &[Mapping]) -> BulkReport {
        let report = self.bulk(mappings, |m| Ok(self.gateway.delete_port_mapping(&m.key())?));
        let mut last = self.last_enable.lock().expect("not poisoned");
        if last
            .as_ref()
            .is_some_and(|l| report.done.iter().any(|m| m.key() == l.key()))
        {
            *last = None;
        }
        report
    }

    /// Creates exactly these mappings, row by row (a preset, a confirmed import): one refusal
    /// does not stop the others. Same as [`PortForwarder::restore_mappings`], named for its use.
    pub fn add_mappings(&self, mappings: &[Mapping]) -> BulkReport {
        self.restore_mappings(mappings)
    }

    /// Re-creates removed mappings with the same fields and their remaining lease (undo).
    pub fn restore_mappings(&self, mappings: &[Mapping]) -> BulkReport {
        self.bulk(mappings, |m| {
            let internal_ip = m.internal_ip().ok_or_else(|| UpnpError::Malformed {
                action: "restore".to_owned(),
                reason: format!("{} is not an IPv4 address", m.internal_client),
            })?;
            let new = NewMapping {
                protocol: m.protocol,
                external_port: m.external_port,
                internal_ip,
                internal_port: m.internal_port,
                description: m.description.clone(),
                lease: m.lease,
            };
            self.add_with_lease_fallback(&new, |n| self.gateway.add_port_mapping(n))
                .map(drop)
        })
    }

    /// Acts on each row, a few requests in flight; stops starting new ones once the gateway
    /// stops answering, and reports every row as done, failed or not attempted.
    fn bulk(&self, mappings: &[Mapping], act: impl Fn(&Mapping) -> Result<(), Error> + Sync) -> BulkReport {
        let outcomes = parallel::map_until(
            mappings,
            parallel::IN_FLIGHT,
            |r: &Result<(), Error>| r.as_ref().is_err_and(Error::is_unreachable),
            |m| act(m),
        );
        let mut report = BulkReport::default();
        for (mapping, outcome) in mappings.iter().zip(outcomes) {
            match outcome {
                Some(Ok(())) => report.done.push(mapping.clone()),
                Some(Err(err)) => report.failed.push((mapping.clone(), err.to_string())),
                None => report.not_attempted.push(mapping.clone()),
            }
        }
        report
    }

    /// Adds, falling back on the lease when the router refuses it: a finite lease refused
    /// with 725 becomes permanent; a permanent one refused with 402 becomes 7 days.
    /// Returns the lease that was accepted.
    fn add_with_lease_fallback(
        &self,
        mapping: &NewMapping,
        mut add: impl FnMut(&NewMapping) -> Result<(), UpnpError>,
    ) -> Result<Lease, Error> {
        let retry_lease = match add(mapping) {
            Ok(()) => return Ok(mapping.lease),
            Err(e) if e.upnp_code() == Some(UpnpCode::OnlyPermanentLeases) && mapping.lease.is_finite() => {
                Lease::PERMANENT
            }
            Err(e) if e.upnp_code() == Some(UpnpCode::InvalidArgs) && mapping.lease.is_permanent() => Lease::MAX,
            Err(e) if e.upnp_code() == Some(UpnpCode::Conflict) => return Err(self.explain_conflict(e, mapping)),
            Err(e) if e.upnp_code() == Some(UpnpCode::NotAuthorized) && mapping.internal_ip != self.local_ip => {
                return Err(self.explain_conflict(e, mapping));
            }
            Err(e) => return Err(self.explain_refusal(e)),
        };
        tracing::info!(lease = %retry_lease, "the router refused the lease; retrying");
        let retry = NewMapping {
            lease: retry_lease,
            ..mapping.clone()
        };
        add(&retry).map_err(|e| match e.upnp_code() {
            Some(UpnpCode::Conflict) => self.explain_conflict(e, mapping),
            _ => self.explain_refusal(e),
        })?;
        Ok(retry_lease)
    }

    /// Names the router setting behind a refusal, where the router is one we recognise.
    fn explain_refusal(&self, err: UpnpError) -> Error {
        match err
            .upnp_code()
            .and_then(|code| super::refusal_setting_for(self.gateway.description(), code))
        {
            Some(setting) => ForwardError::RefusedBySetting { refusal: err, setting }.into(),
            None => err.into(),
        }
    }

    /// Explains a refusal: a 718 conflict gets its holder ("192.168.1.20:8080"); a 718 or 606
    /// for another host with nothing in the way is a secure-mode router's "only for yourself".
    fn explain_conflict(&self, err: UpnpError, mapping: &NewMapping) -> Error {
        let key = &mapping.key();
        let existing = self.gateway.specific_entry(key);
        if let (Err(e), Some(number)) = (&existing, err.upnp_number())
            && e.upnp_code() == Some(UpnpCode::NoSuchEntry)
            && mapping.internal_ip != self.local_ip
        {
            return ForwardError::OnlyForItself {
                key: key.clone(),
                internal_ip: mapping.internal_ip,
                number,
            }
            .into();
        }
        let holder = existing
            .ok()
            .map(|m| format!("{}:{} (\"{}\")", m.internal_client, m.internal_port, m.description));
        match err.for_key(key) {
            UpnpError::Refused {
                action,
                code,
                number,
                key,
                holder: None,
            } => UpnpError::Refused {
                action,
                code,
                number,
                key,
                holder,
            }
            .into(),
            other => other.into(),
        }
    }

    /// IGD:1 has no AddAnyPortMapping: try ports that the table shows free, moving on when
    /// another client takes one first.
    fn add_on_a_free_port(&self, mapping: &mut NewMapping) -> Result<(), Error> {
        let mut taken = self.taken_ports(mapping.protocol)?;
        let mut last_err = None;
        for attempt in 0..EXTERNAL_PORT_TRIES {
            let preferred = (attempt == 0).then_some(mapping.internal_port);
            mapping.external_port = free_port_avoiding(&taken, preferred);
            match self.add_with_lease_fallback(mapping, |m| self.gateway.add_port_mapping(m)) {
                Ok(lease) => {
                    mapping.lease = lease;
                    return Ok(());
                }
                Err(e) if e.upnp_code() == Some(UpnpCode::Conflict) => {
                    taken.insert(mapping.external_port);
                    last_err = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_err.expect("at least one attempt"))
    }

    /// Whether the router has no mapping on `mapping`'s external port (so that adding there
    /// replaces nothing, not even another program's mapping to this computer).
    fn same_port_is_free(&self, mapping: &NewMapping) -> Result<bool, Error> {
        match self.gateway.specific_entry(&mapping.key()) {
            Ok(_) => Ok(false),
            Err(e) if e.upnp_code() == Some(UpnpCode::NoSuchEntry) => Ok(true),
            Err(e) => Err(e.into()),
        }
    }

    /// Some routers acknowledge a mapping and never apply it: read it back.
    fn verify(&self, mapping: &NewMapping) -> Result<Mapping, Error> {
        match self.gateway.specific_entry(&mapping.key()) {
            Ok(listed) => Ok(listed),
            Err(e) if e.upnp_code() == Some(UpnpCode::NoSuchEntry) => {
                Err(ForwardError::NotApplied { key: mapping.key() }.into())
            }
            Err(e) => Err(e.into()),
        }
    }

    fn taken_ports(&self, protocol: Protocol) -> Result<HashSet<Port>, Error> {
        Ok(self
            .get_all_mappings()?
            .mappings
            .iter()
            .filter(|m| m.protocol == protocol)
            .map(|m| m.external_port)
            .collect())
    }
}

/// `preferred` if it is free, else a random dynamic port not in `taken`.
fn free_port_avoiding(taken: &HashSet<Port>, preferred: Option<Port>) -> Port {
    if let Some(port) = preferred.filter(|p| !taken.contains(p)) {
        return port;
    }
    // The dynamic range has 16384 ports and a home router holds far fewer mappings, so a
    // few random draws nearly always succeed; the scan below makes it certain.
    (0..64)
        .map(|_| host::random_port())
        .chain(host::DYNAMIC_PORTS.filter_map(Port::new))
        .find(|p| !taken.contains(p))
        .unwrap_or_else(host::random_port)
}
