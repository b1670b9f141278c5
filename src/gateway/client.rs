//! One gateway: its description and the typed actions it offers.
//!
//! igd-next performs the write actions it implements (AddPortMapping, AddAnyPortMapping);
//! our SOAP layer performs what igd-next lacks or reads lossily (the list, specific and
//! generic entries with remote host and enabled flag, range delete, status, the external
//! address of a CGNAT router, which it reports as empty) and the deletes, which go over our
//! kept-alive connection because disable-all sends hundreds of them.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;
use url::Url;

use super::description::{self, ActionList, DeviceDescription, IgdVersion};
use super::http::{Http, io_failure};
use super::soap::{Outputs, SoapService};
use super::xml;
use crate::error::{GatewayError, HttpFailure, UpnpCode};
use crate::mapping::{Description, Lease, Mapping, MappingKey, Port, Protocol};

/// igd-next's fixed request deadline.
const IGD_NEXT_TIMEOUT: Duration = Duration::from_secs(10);

/// How we talk to a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewayOptions {
    /// The deadline of each request, body included.
    pub request_timeout: Duration,
}

impl Default for GatewayOptions {
    fn default() -> GatewayOptions {
        GatewayOptions {
            request_timeout: Duration::from_secs(5),
        }
    }
}

/// A mapping to create: every field already validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewMapping {
    /// TCP or UDP.
    pub protocol: Protocol,
    /// The port on the router's WAN side.
    pub external_port: Port,
    /// The LAN host to forward to.
    pub internal_ip: Ipv4Addr,
    /// The port on the LAN host.
    pub internal_port: Port,
    /// The description shown in routers' tables.
    pub description: Description,
    /// The lease (0 = permanent).
    pub lease: Lease,
}

impl NewMapping {
    /// The key the router will know it by.
    pub fn key(&self) -> MappingKey {
        MappingKey {
            external_port: self.external_port,
            protocol: self.protocol,
            remote_host: String::new(),
        }
    }
}

/// The WAN connection's state, from GetStatusInfo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionStatus {
    /// "Connected", "Disconnected", …
    pub status: String,
    /// The router's last connection error ("ERROR_NONE" when fine).
    pub last_error: String,
    /// Seconds the connection has been up.
    pub uptime_secs: u64,
}

/// A connected gateway. Cheap to share between threads (`Arc<Gateway>`).
#[derive(Debug)]
pub struct Gateway {
    description_url: String,
    description: DeviceDescription,
    addr: SocketAddr,
    soap: SoapService,
    /// The service's actions, read from its SCPD when first needed (listing does not need
    /// them, so `portforward list` saves that round trip).
    actions: OnceLock<ActionList>,
    igd: OnceLock<igd_next::Gateway>,
    list_call_broken: AtomicBool,
    /// The `Server` header sent with the description (`… MiniUPnPd/2.3.1`), if any.
    server: Option<String>,
}

impl Gateway {
    /// Reads the gateway's description at `description_url` (no multicast) and gets ready to
    /// send it requests.
    ///
    /// ```no_run
    /// use portforward::gateway::{Gateway, GatewayOptions};
    /// let gateway = Gateway::connect("http://192.168.1.1:5000/rootDesc.xml", &GatewayOptions::default())?;
    /// println!("{} ({})", gateway.description().friendly_name, gateway.description().igd_version);
    /// # Ok::<(), portforward::GatewayError>(())
    /// ```
    pub fn connect(description_url: &str, options: &GatewayOptions) -> Result<Gateway, GatewayError> {
        let bad_url = |reason: String| GatewayError::Unreachable {
            url: description_url.to_owned(),
            failure: HttpFailure::BadUrl(reason),
        };
        let location = Url::parse(description_url).map_err(|e| bad_url(e.to_string()))?;
        if location.scheme() != "http" {
            return Err(bad_url("only http:// description URLs are supported".to_owned()));
        }
        let http = Http::new(options.request_timeout);
        let reply = http.get(location.as_str())?;
        if reply.status != 200 {
            return Err(GatewayError::Unreachable {
                url: description_url.to_owned(),
                failure: HttpFailure::Status(reply.status),
            });
        }
        let description = description::parse_device_description(&reply.body, &location).map_err(|reason| {
            GatewayError::Malformed {
                action: "the device description".to_owned(),
                reason,
            }
        })?;
        let control = Url::parse(&description.control_url).map_err(|e| bad_url(e.to_string()))?;
        let addr = socket_addr(&control).ok_or_else(|| bad_url(format!("{control} does not name an IP address")))?;
        let soap = SoapService {
            http,
            control_url: description.control_url.clone(),
            service_type: description.service_type.clone(),
        };
        Ok(Gateway {
            description_url: description_url.to_owned(),
            description,
            addr,
            soap,
            actions: OnceLock::new(),
            igd: OnceLock::new(),
            list_call_broken: AtomicBool::new(false),
            server: reply.server,
        })
    }

    /// The service's actions and their inputs; a router whose SCPD is missing or broken still
    /// has the standard ones.
    fn actions(&self) -> &ActionList {
        self.actions.get_or_init(|| {
            self.soap
                .http
                .get(&self.description.scpd_url)
                .ok()
                .filter(|r| r.status == 200)
                .and_then(|r| description::parse_scpd(&r.body).ok())
                .filter(|a| a.contains_key("AddPortMapping"))
                .unwrap_or_else(|| description::standard_actions(self.description.igd_version))
        })
    }

    /// igd-next's view of this gateway, for the actions it performs.
    fn igd(&self) -> &igd_next::Gateway {
        self.igd.get_or_init(|| igd_next::Gateway {
            addr: self.addr,
            root_url: Url::parse(&self.description_url)
                .map(|u| u.path().to_owned())
                .unwrap_or_default(),
            control_url: self.description.control_url.clone(),
            control_schema_url: self.description.scpd_url.clone(),
            control_schema: self
                .actions()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<HashMap<_, _>>(),
            service_type: self.description.service_type.clone(),
        })
    }

    /// The same gateway with other request options (discovery reads descriptions with a
    /// shorter deadline than later requests get).
    pub(crate) fn with_options(mut self, options: &GatewayOptions) -> Gateway {
        self.soap.http = Http::new(options.request_timeout);
        self
    }

    /// What the gateway says about itself.
    pub fn description(&self) -> &DeviceDescription {
        &self.description
    }

    /// The URL of its device description.
    pub fn description_url(&self) -> &str {
        &self.description_url
    }

    /// The address its control URL points at.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The HTTP `Server` header it sent with its description, naming its UPnP software
    /// (`Debian/12 UPnP/1.1 MiniUPnPd/2.3.1`); `None` if it sent none.
    pub fn server(&self) -> Option<&str> {
        self.server.as_deref()
    }

    /// Whether a GetListOfPortMappings reply shorter than asked for is the end of the table.
    /// The spec lets a router return fewer entries than asked for, so in general only an
    /// empty page ends a listing; miniupnpd (OpenWrt, pfSense, most open firmware) returns
    /// every entry in range up to the number asked, so with it a short page is the last and
    /// the confirming call can be saved.
    pub(crate) fn short_page_is_last(&self) -> bool {
        self.server
            .as_deref()
            .is_some_and(|s| s.to_ascii_lowercase().contains("miniupnpd/"))
    }

    /// IGD:1 or IGD:2.
    pub fn igd_version(&self) -> IgdVersion {
        self.description.igd_version
    }

    /// Whether the service lists `action` in its description.
    pub fn supports(&self, action: &str) -> bool {
        self.actions().contains_key(action)
    }

    /// The deadline of each request.
    pub fn request_timeout(&self) -> Duration {
        self.soap.http.timeout()
    }

    /// GetExternalIPAddress; `None` when the router has no external address (it reports "").
    pub fn external_ip(&self) -> Result<Option<Ipv4Addr>, GatewayError> {
        let out = self.call("GetExternalIPAddress", &[])?;
        let text = out.get("NewExternalIPAddress");
        if text.is_empty() || text == "0.0.0.0" {
            return Ok(None);
        }
        text.parse().map(Some).map_err(|_| GatewayError::Malformed {
            action: "GetExternalIPAddress".to_owned(),
            reason: format!("{text:?} is not an IPv4 address"),
        })
    }

    /// AddPortMapping (through igd-next). Re-adding the same mapping renews it on most routers.
    pub fn add_port_mapping(&self, mapping: &NewMapping) -> Result<(), GatewayError> {
        use igd_next::AddPortError as E;
        let local = SocketAddr::V4(SocketAddrV4::new(mapping.internal_ip, mapping.internal_port.get()));
        let result = self.igd().add_port(
            igd_protocol(mapping.protocol),
            mapping.external_port.get(),
            local,
            mapping.lease.as_secs(),
            mapping.description.as_str(),
        );
        const ACTION: &str = "AddPortMapping";
        result.map_err(|err| {
            match err {
                E::ActionNotAuthorized => upnp(ACTION, 606),
                E::PortInUse => upnp(ACTION, 718),
                E::SamePortValuesRequired => upnp(ACTION, 724),
                E::OnlyPermanentLeasesSupported => upnp(ACTION, 725),
                E::DescriptionTooLong => upnp(ACTION, 605),
                E::InternalPortZeroInvalid | E::ExternalPortZeroInvalid => upnp(ACTION, 402),
                E::RequestError(e) => from_igd(ACTION, &self.description.control_url, e),
            }
            .for_key(&mapping.key())
        })
    }

    /// AddAnyPortMapping (IGD:2, through igd-next): the router picks a free external port
    /// (our `external_port` is a suggestion). Returns the port it picked.
    pub fn add_any_port_mapping(&self, mapping: &NewMapping) -> Result<Port, GatewayError> {
        use igd_next::AddAnyPortError as E;
        const ACTION: &str = "AddAnyPortMapping";
        if !self.supports(ACTION) {
            return Err(GatewayError::Unsupported { action: ACTION });
        }
        let local = SocketAddr::V4(SocketAddrV4::new(mapping.internal_ip, mapping.internal_port.get()));
        let port = self
            .igd()
            .add_any_port(
                igd_protocol(mapping.protocol),
                local,
                mapping.lease.as_secs(),
                mapping.description.as_str(),
            )
            .map_err(|err| match err {
                E::ActionNotAuthorized => upnp(ACTION, 606),
                E::NoPortsAvailable => upnp(ACTION, 728),
                E::ExternalPortInUse => upnp(ACTION, 718),
                E::OnlyPermanentLeasesSupported => upnp(ACTION, 725),
                E::DescriptionTooLong => upnp(ACTION, 605),
                E::InternalPortZeroInvalid => upnp(ACTION, 402),
                E::RequestError(e) => from_igd(ACTION, &self.description.control_url, e),
            })?;
        Port::new(port).ok_or_else(|| GatewayError::Malformed {
            action: ACTION.to_owned(),
            reason: "the router reserved port 0".to_owned(),
        })
    }

    /// DeletePortMapping. Note that many routers answer success for a mapping that does not
    /// exist: [`crate::PortForwarder::disable`] checks first.
    pub fn delete_port_mapping(&self, key: &MappingKey) -> Result<(), GatewayError> {
        self.call(
            "DeletePortMapping",
            &[
                ("NewRemoteHost", key.remote_host.clone()),
                ("NewExternalPort", key.external_port.to_string()),
                ("NewProtocol", key.protocol.to_string()),
            ],
        )
        .map(drop)
        .map_err(|e| e.for_key(key))
    }

    /// DeletePortMappingRange (IGD:2): every mapping of `protocol` from `start` to `end`;
    /// with `manage` false only this host's.
    pub fn delete_port_mapping_range(
        &self,
        protocol: Protocol,
        start: Port,
        end: Port,
        manage: bool,
    ) -> Result<(), GatewayError> {
        self.call(
            "DeletePortMappingRange",
            &[
                ("NewStartPort", start.to_string()),
                ("NewEndPort", end.to_string()),
                ("NewProtocol", protocol.to_string()),
                ("NewManage", u8::from(manage).to_string()),
            ],
        )
        .map(drop)
    }

    /// GetGenericPortMappingEntry: the entry at `index` of the router's table.
    pub fn generic_entry(&self, index: u32) -> Result<Mapping, GatewayError> {
        const ACTION: &str = "GetGenericPortMappingEntry";
        let out = self.call(ACTION, &[("NewPortMappingIndex", index.to_string())])?;
        mapping_from(
            ACTION,
            &|name| out_field(&out, name),
            "NewPortMappingDescription",
            "NewLeaseDuration",
        )
    }

    /// GetSpecificPortMappingEntry: the mapping with this key.
    pub fn specific_entry(&self, key: &MappingKey) -> Result<Mapping, GatewayError> {
        const ACTION: &str = "GetSpecificPortMappingEntry";
        let out = self
            .call(
                ACTION,
                &[
                    ("NewRemoteHost", key.remote_host.clone()),
                    ("NewExternalPort", key.external_port.to_string()),
                    ("NewProtocol", key.protocol.to_string()),
                ],
            )
            .map_err(|e| e.for_key(key))?;
        let field = |name: &str| match name {
            "NewRemoteHost" => Some(Cow::Borrowed(key.remote_host.as_str())),
            "NewExternalPort" => Some(Cow::Owned(key.external_port.to_string())),
            "NewProtocol" => Some(Cow::Borrowed(key.protocol.as_str())),
            other => out_field(&out, other),
        };
        mapping_from(ACTION, &field, "NewPortMappingDescription", "NewLeaseDuration")
    }

    /// GetListOfPortMappings (IGD:2): up to `max` mappings of `protocol` with external ports
    /// from `start` to `end`, in port order. An empty range is an empty list (not error 730).
    pub fn list_page(
        &self,
        protocol: Protocol,
        start: Port,
        end: Port,
        max: u16,
    ) -> Result<Vec<Mapping>, GatewayError> {
        const ACTION: &str = "GetListOfPortMappings";
        let result = self.call(
            ACTION,
            &[
                ("NewStartPort", start.to_string()),
                ("NewEndPort", end.to_string()),
                ("NewProtocol", protocol.to_string()),
                ("NewManage", "1".to_owned()),
                ("NewNumberOfPorts", max.to_string()),
            ],
        );
        let out = match result {
            Err(e) if matches!(e.upnp_code(), Some(UpnpCode::MappingNotFound | UpnpCode::NoSuchEntry)) => {
                return Ok(Vec::new());
            }
            other => other?,
        };
        parse_port_listing(out.get("NewPortListing"))
    }

    /// GetStatusInfo.
    pub fn status(&self) -> Result<ConnectionStatus, GatewayError> {
        let out = self.call("GetStatusInfo", &[])?;
        Ok(ConnectionStatus {
            status: out.get("NewConnectionStatus").to_owned(),
            last_error: out.get("NewLastConnectionError").to_owned(),
            uptime_secs: out.get("NewUptime").parse().unwrap_or(0),
        })
    }

    /// Whether GetListOfPortMappings is worth trying: an IGD:2 service (every one has it, and
    /// asking its SCPD would cost a round trip) whose list call has not failed before.
    pub(crate) fn list_call_usable(&self) -> bool {
        self.description.igd_version == IgdVersion::V2 && !self.list_call_broken.load(Ordering::Relaxed)
    }

    /// Remembers that GetListOfPortMappings failed, so later listings walk entry by entry.
    pub(crate) fn mark_list_call_broken(&self) {
        self.list_call_broken.store(true, Ordering::Relaxed);
    }

    fn call(&self, action: &'static str, args: &[(&str, String)]) -> Result<Outputs, GatewayError> {
        tracing::debug!(action, ?args, "SOAP request");
        let result = self.soap.call(action, args);
        if let Err(err) = &result {
            tracing::debug!(action, %err, "SOAP error");
        }
        result
    }
}

fn out_field<'a>(out: &'a Outputs, name: &str) -> Option<Cow<'a, str>> {
    out.has(name).then(|| Cow::Borrowed(out.get(name)))
}

/// Reads the PortMappingList document of a GetListOfPortMappings reply (its NewPortListing);
/// an empty listing is an empty list.
pub(crate) fn parse_port_listing(listing: &str) -> Result<Vec<Mapping>, GatewayError> {
    const ACTION: &str = "GetListOfPortMappings";
    if listing.is_empty() {
        return Ok(Vec::new());
    }
    let malformed = |reason: String| GatewayError::Malformed {
        action: ACTION.to_owned(),
        reason,
    };
    let doc = xml::parse(listing).map_err(malformed)?;
    let mappings: Vec<Mapping> = doc
        .root_element()
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "PortMappingEntry")
        .map(|entry| {
            // Eight fields: a short list searched in order beats a hash map.
            let fields: Vec<(&str, &str)> = entry
                .children()
                .filter(|c| c.is_element())
                .map(|c| (c.tag_name().name(), c.text().unwrap_or("").trim()))
                .collect();
            let field = |name: &str| {
                fields
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, value)| Cow::Borrowed(*value))
            };
            mapping_from(ACTION, &field, "NewDescription", "NewLeaseTime")
        })
        .collect::<Result<_, _>>()?;
    Ok(mappings)
}

/// Builds a mapping from a router's fields (names differ between the list and the entry calls).
fn mapping_from<'a>(
    action: &str,
    field: &dyn Fn(&str) -> Option<Cow<'a, str>>,
    description_field: &str,
    lease_field: &str,
) -> Result<Mapping, GatewayError> {
    let malformed = |reason: String| GatewayError::Malformed {
        action: action.to_owned(),
        reason,
    };
    let port = |name: &str| -> Result<Port, GatewayError> {
        let text = field(name).unwrap_or_default();
        text.parse::<u16>()
            .ok()
            .and_then(Port::new)
            .ok_or_else(|| malformed(format!("{name} {text:?} is not a port")))
    };
    let protocol_text = field("NewProtocol").unwrap_or_default();
    let protocol = Protocol::parse_field("protocol", &protocol_text)
        .map_err(|_| malformed(format!("protocol {protocol_text:?} is neither TCP nor UDP")))?;
    let internal_client = field("NewInternalClient").unwrap_or_default();
    if internal_client.is_empty() {
        return Err(malformed("the entry has no internal client".to_owned()));
    }
    Ok(Mapping {
        protocol,
        external_port: port("NewExternalPort")?,
        internal_client: internal_client.into_owned(),
        internal_port: port("NewInternalPort")?,
        description: Description::from_router(field(description_field).unwrap_or_default().into_owned()),
        enabled: !matches!(
            field("NewEnabled").as_deref().map(str::trim),
            Some("0" | "false" | "no")
        ),
        remote_host: field("NewRemoteHost").unwrap_or_default().into_owned(),
        lease: Lease::from_router(field(lease_field).and_then(|l| l.parse().ok()).unwrap_or(0)),
    })
}

fn socket_addr(url: &Url) -> Option<SocketAddr> {
    let ip: IpAddr = match url.host()? {
        url::Host::Ipv4(ip) => ip.into(),
        url::Host::Ipv6(ip) => ip.into(),
        url::Host::Domain("localhost") => Ipv4Addr::LOCALHOST.into(),
        url::Host::Domain(_) => return None,
    };
    Some(SocketAddr::new(ip, url.port_or_known_default()?))
}

fn igd_protocol(protocol: Protocol) -> igd_next::PortMappingProtocol {
    match protocol {
        Protocol::Tcp => igd_next::PortMappingProtocol::TCP,
        Protocol::Udp => igd_next::PortMappingProtocol::UDP,
    }
}

fn upnp(action: &'static str, number: u16) -> GatewayError {
    GatewayError::Upnp {
        action,
        code: UpnpCode::from_number(number),
        number,
        key: None,
        holder: None,
    }
}

/// Converts igd-next's request errors, keeping the UPnP number and the kind of failure.
fn from_igd(action: &'static str, url: &str, err: igd_next::RequestError) -> GatewayError {
    use igd_next::RequestError as R;
    let unreachable = |failure| GatewayError::Unreachable {
        url: url.to_owned(),
        failure,
    };
    match err {
        R::ErrorCode(number, _) => upnp(action, number),
        R::UnsupportedAction(_) => GatewayError::Unsupported { action },
        R::InvalidResponse(text) => GatewayError::Malformed {
            action: action.to_owned(),
            reason: format!("unexpected reply ({} bytes)", text.len()),
        },
        R::IoError(io) => unreachable(io_failure(&io, IGD_NEXT_TIMEOUT)),
        other => {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&other);
            while let Some(err) = source {
                if let Some(io) = err.downcast_ref::<std::io::Error>() {
                    return unreachable(io_failure(io, IGD_NEXT_TIMEOUT));
                }
                source = err.source();
            }
            unreachable(HttpFailure::Refused(other.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_is_read_and_an_empty_one_is_no_mappings() {
        let listing = include_str!("../../fuzz/seeds/port_listing/listing-tcp-page.xml");
        let mappings = parse_port_listing(listing).unwrap();
        assert_eq!(mappings.len(), 2);
        assert_eq!(mappings[0].remote_host, "198.51.100.23");
        assert!(!mappings[1].enabled);
        assert!(parse_port_listing("").unwrap().is_empty());
        assert!(matches!(parse_port_listing("<a>"), Err(GatewayError::Malformed { .. })));
    }

    /// Fuzzing regression: 3,000 namespaces in scope, copied (with a quadratic duplicate
    /// check) for each of 6,000 elements that declare one more, kept roxmltree busy for more
    /// than 5 minutes; the document is refused before parsing.
    #[test]
    fn fuzz_regression_namespaces_in_scope_are_refused() {
        let listing = include_str!("../../fuzz/regressions/port_listing/namespaces-in-scope.xml");
        match parse_port_listing(listing) {
            Err(GatewayError::Malformed { reason, .. }) => assert!(reason.contains("namespace"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
}
