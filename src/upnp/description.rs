//! Device and service descriptions: which WAN connection service a gateway offers, where
//! to send requests, and which actions it supports.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use url::Url;

use super::xml;

/// The IGD device version a gateway describes itself as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum IgdVersion {
    /// InternetGatewayDevice:1.
    #[serde(rename = "IGD:1")]
    V1,
    /// InternetGatewayDevice:2.
    #[serde(rename = "IGD:2")]
    V2,
}

impl fmt::Display for IgdVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IgdVersion::V1 => "IGD:1",
            IgdVersion::V2 => "IGD:2",
        })
    }
}

/// One WAN connection service a device offers (a router may have several: one per WAN
/// connection device, WANIPConnection and WANPPPConnection side by side).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WanService {
    /// The service type as the device names it, e.g. `urn:schemas-upnp-org:service:WANIPConnection:2`
    /// (some firmware uses its vendor's namespace instead of `urn:schemas-upnp-org`).
    pub service_type: String,
    /// Absolute URL for SOAP requests.
    pub control_url: String,
    /// Absolute URL of the service description (SCPD).
    pub scpd_url: String,
}

impl WanService {
    /// `WANIPConnection:2`, `WANPPPConnection:1`, …: the service type without its namespace.
    pub fn short_name(&self) -> &str {
        short_type(&self.service_type)
    }
}

/// The last two segments of a UPnP type URN (`urn:…:service:WANIPConnection:2` → `WANIPConnection:2`).
fn short_type(urn: &str) -> &str {
    let mut colons = urn.rmatch_indices(':').map(|(i, _)| i);
    match (colons.next(), colons.next()) {
        (Some(_), Some(second)) => &urn[second + 1..],
        _ => urn,
    }
}

/// How well we can drive a service type, best first; `None` for other services. The name is
/// matched whatever the namespace (vendors put the standard services under their own), and an
/// unknown version of a known service is used by its actions, after the versions we know.
fn service_rank(service_type: &str) -> Option<u8> {
    let mut parts = service_type.rsplit(':');
    let version = parts.next()?.trim();
    let name = parts.next()?.trim();
    if parts.next()?.trim() != "service" {
        return None;
    }
    let standard = service_type.starts_with("urn:schemas-upnp-org:");
    let rank = match (name, version) {
        ("WANIPConnection", "2") => 0,
        ("WANIPConnection", "1") => 1,
        ("WANPPPConnection", "1") => 2,
        ("WANIPConnection", _) => 3,
        ("WANPPPConnection", _) => 4,
        _ => return None,
    };
    Some(rank * 2 + u8::from(!standard))
}

/// What a device description says about a gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceDescription {
    /// The name the router gives itself.
    pub friendly_name: String,
    /// The maker.
    pub manufacturer: String,
    /// The model.
    pub model_name: String,
    /// IGD:1 or IGD:2, from the device type (or the service version when the two disagree).
    pub igd_version: IgdVersion,
    /// The WAN connection service used, e.g. `urn:schemas-upnp-org:service:WANIPConnection:2`.
    pub service_type: String,
    /// Absolute URL for SOAP requests.
    pub control_url: String,
    /// Absolute URL of the service description (SCPD).
    pub scpd_url: String,
    /// Every WAN connection service the device offers, the most capable first; the one in use
    /// is the first unless [`crate::upnp::Gateway`] chose another (see its `choice`).
    pub services: Vec<WanService>,
    /// Whether the description was not well-formed XML and was read by the tolerant scanner.
    pub repaired: bool,
}

impl DeviceDescription {
    /// The same description, using `service` (one of [`DeviceDescription::services`]).
    pub fn using(mut self, service: &WanService) -> DeviceDescription {
        self.service_type = service.service_type.clone();
        self.control_url = service.control_url.clone();
        self.scpd_url = service.scpd_url.clone();
        if self.service_type.ends_with("WANIPConnection:2") {
            self.igd_version = IgdVersion::V2;
        }
        self
    }
}

/// Parses a device description fetched from `location`. A document that is not well-formed is
/// read again through [`xml::repair`] (a bounded scan for the elements we need, as tolerant
/// clients do), rather than refusing the router; a DTD is still refused.
pub(crate) fn parse_device_description(text: &str, location: &Url) -> Result<DeviceDescription, DescriptionError> {
    match xml::parse(text) {
        Ok(doc) => read_description(&doc, location, false),
        Err(strict) => {
            let fixed = xml::repair(text).ok_or_else(|| DescriptionError::Invalid(strict.clone()))?;
            let doc = xml::parse(&fixed).map_err(|_| DescriptionError::Invalid(strict))?;
            read_description(&doc, location, true)
        }
    }
}

/// Why a device description cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DescriptionError {
    /// It describes a device that is not an Internet gateway: what it is, in words.
    NotAGateway(String),
    /// It cannot be read, or names unusable URLs.
    Invalid(String),
}

impl std::fmt::Display for DescriptionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DescriptionError::NotAGateway(what) => write!(f, "not an Internet gateway: it is {what}"),
            DescriptionError::Invalid(reason) => f.write_str(reason),
        }
    }
}

fn read_description(
    doc: &roxmltree::Document<'_>,
    location: &Url,
    repaired: bool,
) -> Result<DeviceDescription, DescriptionError> {
    let invalid = DescriptionError::Invalid;
    let root = doc.root_element();
    let base = match xml::descendant(root, "URLBase")
        .map(|n| n.text().unwrap_or("").trim().to_owned())
        .filter(|b| !b.is_empty())
    {
        Some(base) => Url::parse(&base).map_err(|e| invalid(format!("invalid URLBase {base:?}: {e}")))?,
        None => location.clone(),
    };
    let devices: Vec<_> = root
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "device")
        .collect();
    let igd = devices
        .iter()
        .find(|d| xml::child_text(**d, "deviceType").is_some_and(|t| t.contains(":device:InternetGatewayDevice:")))
        .copied();
    let first_device = devices.first().copied();
    let named = |field: &str| {
        igd.or(first_device)
            .and_then(|d| xml::child_text(d, field))
            .unwrap_or_default()
    };
    let join = |service: roxmltree::Node<'_, '_>, field: &str| -> Result<String, String> {
        let reference = xml::child_text(service, field)
            .filter(|r| !r.is_empty())
            .ok_or(format!("the service has no {field}"))?;
        let url = base
            .join(&reference)
            .map_err(|e| format!("invalid {field} {reference:?}: {e}"))?;
        if url.scheme() != "http" {
            return Err(format!("{field} {url} is not plain HTTP"));
        }
        Ok(url.to_string())
    };
    let mut ranked: Vec<(u8, WanService)> = Vec::new();
    let mut unusable = None;
    for service in root
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "service")
    {
        let Some(service_type) = xml::child_text(service, "serviceType") else {
            continue;
        };
        let Some(rank) = service_rank(&service_type) else {
            continue;
        };
        match (join(service, "controlURL"), join(service, "SCPDURL")) {
            (Ok(control_url), scpd_url) => {
                // A missing SCPD costs only the action list: the standard one stands in.
                let scpd_url = scpd_url.unwrap_or_else(|_| control_url.clone());
                if !ranked.iter().any(|(_, s)| s.control_url == control_url) {
                    ranked.push((
                        rank,
                        WanService {
                            service_type,
                            control_url,
                            scpd_url,
                        },
                    ));
                }
            }
            (Err(reason), _) => unusable = Some(reason),
        }
    }
    ranked.sort_by_key(|(rank, _)| *rank);
    let services: Vec<WanService> = ranked.into_iter().map(|(_, s)| s).collect();
    let Some(chosen) = services.first().cloned() else {
        if let Some(reason) = unusable {
            return Err(invalid(reason));
        }
        let device_type = igd
            .or(first_device)
            .and_then(|d| xml::child_text(d, "deviceType"))
            .unwrap_or_default();
        let name = named("friendlyName");
        let what = if device_type.is_empty() {
            "a device without a WANIPConnection or WANPPPConnection service".to_owned()
        } else {
            format!("a {}", short_type(&device_type))
        };
        return Err(DescriptionError::NotAGateway(if name.is_empty() {
            what
        } else {
            format!("{what} (\"{name}\")")
        }));
    };
    let describing = igd.unwrap_or(root);
    let device_version =
        xml::child_text(describing, "deviceType").and_then(|t| t.rsplit(':').next().map(str::to_owned));
    let igd_version = if device_version.as_deref().map(str::trim) == Some("2") {
        IgdVersion::V2
    } else {
        IgdVersion::V1
    };
    let description = DeviceDescription {
        friendly_name: named("friendlyName"),
        manufacturer: named("manufacturer"),
        model_name: named("modelName"),
        igd_version,
        service_type: String::new(),
        control_url: String::new(),
        scpd_url: String::new(),
        services,
        repaired,
    };
    // A device that calls itself IGD:1 but offers WANIPConnection:2 behaves as IGD:2.
    Ok(description.using(&chosen))
}

/// The actions of a service and their input arguments, in order (igd-next builds its
/// requests from these).
pub(crate) type ActionList = BTreeMap<String, Vec<String>>;

/// Parses a service description (SCPD).
pub(crate) fn parse_scpd(text: &str) -> Result<ActionList, String> {
    match xml::parse(text) {
        Ok(doc) => read_scpd(&doc),
        Err(strict) => {
            let fixed = xml::repair(text).ok_or(strict.clone())?;
            let doc = xml::parse(&fixed).map_err(|_| strict)?;
            read_scpd(&doc)
        }
    }
}

fn read_scpd(doc: &roxmltree::Document<'_>) -> Result<ActionList, String> {
    let list = xml::descendant(doc.root_element(), "actionList").ok_or("no actionList")?;
    let mut actions = ActionList::new();
    for action in list
        .children()
        .filter(|n| n.is_element() && n.tag_name().name() == "action")
    {
        let Some(name) = xml::child_text(action, "name") else {
            continue;
        };
        let inputs = xml::child(action, "argumentList")
            .map(|args| {
                args.children()
                    .filter(|a| a.is_element() && xml::child_text(*a, "direction").as_deref() == Some("in"))
                    .filter_map(|a| xml::child_text(a, "name"))
                    .collect()
            })
            .unwrap_or_default();
        actions.insert(name, inputs);
    }
    Ok(actions)
}

/// The actions every WAN connection service has, with their standard inputs: used when a
/// router's SCPD cannot be read.
pub(crate) fn standard_actions(version: IgdVersion) -> ActionList {
    let mut actions = ActionList::new();
    let mut add = |name: &str, args: &[&str]| {
        actions.insert(name.to_owned(), args.iter().map(|a| (*a).to_owned()).collect());
    };
    let mapping_args = [
        "NewRemoteHost",
        "NewExternalPort",
        "NewProtocol",
        "NewInternalPort",
        "NewInternalClient",
        "NewEnabled",
        "NewPortMappingDescription",
        "NewLeaseDuration",
    ];
    add("GetStatusInfo", &[]);
    add("GetExternalIPAddress", &[]);
    add("AddPortMapping", &mapping_args);
    add(
        "DeletePortMapping",
        &["NewRemoteHost", "NewExternalPort", "NewProtocol"],
    );
    add("GetGenericPortMappingEntry", &["NewPortMappingIndex"]);
    add(
        "GetSpecificPortMappingEntry",
        &["NewRemoteHost", "NewExternalPort", "NewProtocol"],
    );
    if version == IgdVersion::V2 {
        add("AddAnyPortMapping", &mapping_args);
        add(
            "DeletePortMappingRange",
            &["NewStartPort", "NewEndPort", "NewProtocol", "NewManage"],
        );
        add(
            "GetListOfPortMappings",
            &[
                "NewStartPort",
                "NewEndPort",
                "NewProtocol",
                "NewManage",
                "NewNumberOfPorts",
            ],
        );
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESC: &str = r#"<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major><minor>1</minor></specVersion>
<device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
<friendlyName>Box &amp; Co</friendlyName><manufacturer>ACME</manufacturer><modelName>R1</modelName>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:WANPPPConnection:1</serviceType>
<controlURL>/ctl/PPP</controlURL><SCPDURL>/ppp.xml</SCPDURL></service></serviceList>
</device></deviceList></device></deviceList></device></root>"#;

    #[test]
    fn a_ppp_only_device_is_found() {
        let loc = Url::parse("http://192.168.1.1:5000/rootDesc.xml").unwrap();
        let d = parse_device_description(DESC, &loc).unwrap();
        assert_eq!(d.service_type, "urn:schemas-upnp-org:service:WANPPPConnection:1");
        assert_eq!(d.control_url, "http://192.168.1.1:5000/ctl/PPP");
        assert_eq!(d.igd_version, IgdVersion::V1);
        assert_eq!(d.friendly_name, "Box & Co");
        assert_eq!(d.model_name, "R1");
    }

    #[test]
    fn ip_connection_2_is_preferred_and_means_igd2() {
        let desc = DESC.replace(
            "</serviceList>",
            "<service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:2</serviceType>\
             <controlURL>http://192.168.1.1:5000/ctl/IP</controlURL><SCPDURL>ip.xml</SCPDURL></service></serviceList>",
        );
        let loc = Url::parse("http://192.168.1.1:5000/desc/root.xml").unwrap();
        let d = parse_device_description(&desc, &loc).unwrap();
        assert_eq!(d.service_type, "urn:schemas-upnp-org:service:WANIPConnection:2");
        assert_eq!(d.igd_version, IgdVersion::V2);
        assert_eq!(d.scpd_url, "http://192.168.1.1:5000/desc/ip.xml");
    }

    #[test]
    fn a_device_without_wan_service_is_refused() {
        let desc = DESC.replace("WANPPPConnection", "Layer3Forwarding");
        let loc = Url::parse("http://192.168.1.1/").unwrap();
        assert!(
            parse_device_description(&desc, &loc)
                .unwrap_err()
                .to_string()
                .contains("not an Internet gateway")
        );
    }

    fn parse(text: &str) -> Result<DeviceDescription, DescriptionError> {
        parse_device_description(text, &Url::parse("http://192.168.1.1:5000/rootDesc.xml").unwrap())
    }

    #[test]
    fn a_vendor_namespace_and_an_unknown_version_are_still_a_wan_service() {
        let vendor = DESC.replace(
            "urn:schemas-upnp-org:service:WANPPPConnection:1",
            "urn:dslforum-org:service:WANPPPConnection:1",
        );
        assert_eq!(
            parse(&vendor).unwrap().service_type,
            "urn:dslforum-org:service:WANPPPConnection:1"
        );
        let unknown = DESC.replace("WANPPPConnection:1", "WANIPConnection:3");
        let d = parse(&unknown).unwrap();
        assert_eq!(d.services[0].short_name(), "WANIPConnection:3");
        // Spaces around the version, as some firmware sends.
        let spaced = DESC.replace("WANPPPConnection:1</serviceType>", "WANPPPConnection:1 </serviceType>");
        assert!(parse(&spaced).is_ok());
    }

    #[test]
    fn junk_a_bom_and_a_broken_document_are_read_and_marked_repaired() {
        let d = parse(&format!("{}\r\n{DESC}", '\u{feff}')).unwrap();
        assert!(!d.repaired);
        // An undeclared prefix and a closing tag that does not match: roxmltree refuses both.
        let broken = DESC.replace(
            "<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>",
            "<deviceList><dev:device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</devicetype>",
        );
        assert!(xml::parse(&broken).is_err());
        let d = parse(&broken).unwrap();
        assert!(d.repaired);
        assert_eq!(d.friendly_name, "Box & Co");
        assert_eq!(d.control_url, "http://192.168.1.1:5000/ctl/PPP");
    }

    #[test]
    fn every_wan_service_is_listed_most_capable_first() {
        let both = DESC.replace(
            "</serviceList>",
            "<service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>\
             <controlURL>/ctl/IP</controlURL><SCPDURL>/ip.xml</SCPDURL></service></serviceList>",
        );
        let d = parse(&both).unwrap();
        let names: Vec<&str> = d.services.iter().map(WanService::short_name).collect();
        assert_eq!(names, ["WANIPConnection:1", "WANPPPConnection:1"]);
        assert_eq!(d.control_url, "http://192.168.1.1:5000/ctl/IP");
        let ppp = d.clone().using(&d.services[1]);
        assert_eq!(ppp.control_url, "http://192.168.1.1:5000/ctl/PPP");
    }

    #[test]
    fn url_base_on_another_port_and_absolute_control_urls_are_followed() {
        let based = DESC.replace(
            "<specVersion>",
            "<URLBase>http://192.168.1.1:49000/</URLBase><specVersion>",
        );
        assert_eq!(parse(&based).unwrap().control_url, "http://192.168.1.1:49000/ctl/PPP");
        let absolute = DESC.replace("<controlURL>/ctl/PPP", "<controlURL>http://192.168.1.1:8000/ctl/PPP");
        assert_eq!(parse(&absolute).unwrap().control_url, "http://192.168.1.1:8000/ctl/PPP");
    }

    #[test]
    fn a_media_server_is_named_for_what_it_is() {
        let media = r#"<root><device><deviceType>urn:schemas-upnp-org:device:MediaServer:1</deviceType>
            <friendlyName>NAS</friendlyName><serviceList><service>
            <serviceType>urn:schemas-upnp-org:service:ContentDirectory:1</serviceType>
            <controlURL>/cd</controlURL><SCPDURL>/cd.xml</SCPDURL></service></serviceList></device></root>"#;
        assert_eq!(
            parse(media).unwrap_err().to_string(),
            "not an Internet gateway: it is a MediaServer:1 (\"NAS\")"
        );
    }

    #[test]
    fn scpd_lists_inputs_in_order() {
        let scpd = r#"<scpd><actionList><action><name>DeletePortMapping</name><argumentList>
            <argument><name>NewRemoteHost</name><direction>in</direction></argument>
            <argument><name>NewExternalPort</name><direction>in</direction></argument>
            <argument><name>Out</name><direction>out</direction></argument>
            </argumentList></action><action><name>GetStatusInfo</name></action></actionList></scpd>"#;
        let actions = parse_scpd(scpd).unwrap();
        assert_eq!(actions["DeletePortMapping"], vec!["NewRemoteHost", "NewExternalPort"]);
        assert!(actions["GetStatusInfo"].is_empty());
    }

    /// Fuzzing regression: 8,000 namespace declarations on the root took roxmltree seconds
    /// (quadratic duplicate checks); they are refused before parsing.
    #[test]
    fn fuzz_regression_thousands_of_namespaces_are_refused() {
        let text = include_str!("../../fuzz/regressions/device_description/many-namespaces.xml");
        let loc = Url::parse("http://192.168.1.1:5000/rootDesc.xml").unwrap();
        let reason = parse_device_description(text, &loc).unwrap_err().to_string();
        assert!(reason.contains("attributes"), "{reason}");
        assert!(parse_scpd(text).is_err());
    }
}
