//! One gateway: its description and the typed actions it offers.
//!
//! igd-next performs the write actions it implements (AddPortMapping, AddAnyPortMapping);
//! our SOAP layer performs what igd-next lacks or reads lossily (the list, specific and
//! generic entries with remote host and enabled flag, range delete, status, the external
//! address of a CGNAT router, which it reports as empty) and the deletes, which go over our
//! kept-alive connection because disable-all sends hundreds of them.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;
use url::Url;

use super::description::{self, ActionList, DescriptionError, DeviceDescription, IgdVersion};
use super::entry::{mapping_from, parse_port_listing};
use super::error::{HttpFailure, UpnpCode, UpnpError};
use super::http::Http;
use super::soap::{Outputs, SoapService};
use crate::model::{Mapping, MappingKey, Port, Protocol};

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
    pub(super) description_url: String,
    pub(super) description: DeviceDescription,
    pub(super) addr: SocketAddr,
    soap: SoapService,
    /// The service's actions, read from its SCPD when first needed (listing does not need
    /// them, so `portforward list` saves that round trip).
    actions: OnceLock<ActionList>,
    pub(super) igd: OnceLock<igd_next::Gateway>,
    list_call_broken: AtomicBool,
    /// The `Server` header sent with the description (`… MiniUPnPd/2.3.1`), if any.
    server: Option<String>,
    /// Why this WAN connection service was used, when the device offers several.
    choice: Option<String>,
}

/// A gateway is its own holder, for what takes "a gateway or what holds one".
impl AsRef<Gateway> for Gateway {
    fn as_ref(&self) -> &Gateway {
        self
    }
}

impl Gateway {
    /// Reads the gateway's description at `description_url` (no multicast) and gets ready to
    /// send it requests.
    ///
    /// ```no_run
    /// use portforward::upnp::{Gateway, GatewayOptions};
    /// let gateway = Gateway::connect("http://192.168.1.1:5000/rootDesc.xml", &GatewayOptions::default())?;
    /// println!("{} ({})", gateway.description().friendly_name, gateway.description().igd_version);
    /// # Ok::<(), portforward::UpnpError>(())
    /// ```
    pub fn connect(description_url: &str, options: &GatewayOptions) -> Result<Gateway, UpnpError> {
        Gateway::connect_using(description_url, options, None)
    }

    /// [`Gateway::connect`], using the WAN connection service with this control URL (one of
    /// [`DeviceDescription::services`]) instead of the one chosen by itself.
    pub fn connect_with_service(
        description_url: &str,
        options: &GatewayOptions,
        control_url: &str,
    ) -> Result<Gateway, UpnpError> {
        Gateway::connect_using(description_url, options, Some(control_url))
    }

    fn connect_using(
        description_url: &str,
        options: &GatewayOptions,
        wanted: Option<&str>,
    ) -> Result<Gateway, UpnpError> {
        let bad_url = |reason: String| UpnpError::Unreachable {
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
            return Err(UpnpError::Unreachable {
                url: description_url.to_owned(),
                failure: HttpFailure::Status(reply.status),
            });
        }
        let description = description::parse_device_description(&reply.body, &location).map_err(|e| match e {
            DescriptionError::NotAGateway(what) => UpnpError::NotAGateway {
                url: description_url.to_owned(),
                what,
            },
            DescriptionError::Invalid(reason) => UpnpError::Malformed {
                action: "the device description".to_owned(),
                reason,
            },
        })?;
        let (description, choice) = choose_service(&http, description, wanted);
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
            choice,
        })
    }

    /// The service's actions and their inputs; a router whose SCPD is missing or broken still
    /// has the standard ones.
    pub(super) fn actions(&self) -> &ActionList {
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

    /// Why its WAN connection service was chosen, when the device offers several (e.g. a
    /// FRITZ!Box's WANIPConnection and WANPPPConnection): "WANPPPConnection:1 at …: connected,
    /// external address 1.2.3.4; also offered: WANIPConnection:1 (disconnected)".
    pub fn choice(&self) -> Option<&str> {
        self.choice.as_deref()
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
    pub fn external_ip(&self) -> Result<Option<Ipv4Addr>, UpnpError> {
        let out = self.call("GetExternalIPAddress", &[])?;
        let text = out.get("NewExternalIPAddress");
        if text.is_empty() || text == "0.0.0.0" {
            return Ok(None);
        }
        text.parse().map(Some).map_err(|_| UpnpError::Malformed {
            action: "GetExternalIPAddress".to_owned(),
            reason: format!("{text:?} is not an IPv4 address"),
        })
    }

    /// DeletePortMapping. Note that many routers answer success for a mapping that does not
    /// exist: [`crate::PortForwarder::disable`] checks first.
    pub fn delete_port_mapping(&self, key: &MappingKey) -> Result<(), UpnpError> {
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
    ) -> Result<(), UpnpError> {
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
    pub fn generic_entry(&self, index: u32) -> Result<Mapping, UpnpError> {
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
    pub fn specific_entry(&self, key: &MappingKey) -> Result<Mapping, UpnpError> {
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
    pub fn list_page(&self, protocol: Protocol, start: Port, end: Port, max: u16) -> Result<Vec<Mapping>, UpnpError> {
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
    pub fn status(&self) -> Result<ConnectionStatus, UpnpError> {
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

    /// The HTTP client of this gateway (status and eventing requests share its pool).
    pub(super) fn http(&self) -> &Http {
        &self.soap.http
    }

    pub(super) fn call(&self, action: &'static str, args: &[(&str, String)]) -> Result<Outputs, UpnpError> {
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

fn socket_addr(url: &Url) -> Option<SocketAddr> {
    let ip: IpAddr = match url.host()? {
        url::Host::Ipv4(ip) => ip.into(),
        url::Host::Ipv6(ip) => ip.into(),
        url::Host::Domain("localhost") => Ipv4Addr::LOCALHOST.into(),
        url::Host::Domain(_) => return None,
    };
    Some(SocketAddr::new(ip, url.port_or_known_default()?))
}

/// What one WAN connection service says about its link.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Probe {
    connected: bool,
    external_ip: Option<Ipv4Addr>,
}

impl Probe {
    fn describe(&self) -> String {
        match (self.connected, self.external_ip) {
            (true, Some(ip)) => format!("connected, external address {ip}"),
            (true, None) => "connected, no external address".to_owned(),
            (false, _) => "not connected".to_owned(),
        }
    }
}

/// The service to use: the one asked for, else (when there are several) the first that is
/// connected and has an external address, else the most capable. Asks each candidate its
/// status and external address; one that does not answer counts as not connected.
fn choose_service(
    http: &Http,
    description: DeviceDescription,
    wanted: Option<&str>,
) -> (DeviceDescription, Option<String>) {
    if let Some(wanted) = wanted {
        let found = description.services.iter().find(|s| s.control_url == wanted).cloned();
        return match found {
            Some(service) => {
                let why = format!("{} at {} (chosen by hand)", service.short_name(), service.control_url);
                (description.using(&service), Some(why))
            }
            None => (description, None),
        };
    }
    if description.services.len() < 2 {
        return (description, None);
    }
    let probes: Vec<Probe> = description
        .services
        .iter()
        .map(|service| {
            let soap = SoapService {
                http: http.clone(),
                control_url: service.control_url.clone(),
                service_type: service.service_type.clone(),
            };
            let connected = soap
                .call("GetStatusInfo", &[])
                .is_ok_and(|out| out.get("NewConnectionStatus").eq_ignore_ascii_case("connected"));
            let external_ip = soap
                .call("GetExternalIPAddress", &[])
                .ok()
                .and_then(|out| out.get("NewExternalIPAddress").parse().ok())
                .filter(|ip: &Ipv4Addr| !ip.is_unspecified());
            Probe { connected, external_ip }
        })
        .collect();
    let chosen = pick(&probes);
    let service = description.services[chosen].clone();
    let others: Vec<String> = description
        .services
        .iter()
        .zip(&probes)
        .enumerate()
        .filter(|(i, _)| *i != chosen)
        .map(|(_, (s, p))| format!("{} ({})", s.short_name(), p.describe()))
        .collect();
    let why = format!(
        "{} at {}: {}; also offered: {}",
        service.short_name(),
        service.control_url,
        probes[chosen].describe(),
        others.join(", ")
    );
    tracing::info!(choice = %why, "the device offers several WAN connection services");
    (description.using(&service), Some(why))
}

/// The first connected service with an external address, else the first connected one, else
/// the first (the most capable).
fn pick(probes: &[Probe]) -> usize {
    probes
        .iter()
        .position(|p| p.connected && p.external_ip.is_some())
        .or_else(|| probes.iter().position(|p| p.connected))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connected_service_with_an_address_is_picked() {
        let probe = |connected, ip: Option<[u8; 4]>| Probe {
            connected,
            external_ip: ip.map(Ipv4Addr::from),
        };
        assert_eq!(pick(&[probe(false, None), probe(true, Some([1, 2, 3, 4]))]), 1);
        assert_eq!(pick(&[probe(true, None), probe(true, Some([1, 2, 3, 4]))]), 1);
        assert_eq!(pick(&[probe(false, None), probe(true, None)]), 1);
        assert_eq!(pick(&[probe(false, None), probe(false, None)]), 0, "the most capable");
    }
}
