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

/// The WAN connection services we can drive, most capable first.
const SERVICE_PREFERENCE: [&str; 3] = [
    "urn:schemas-upnp-org:service:WANIPConnection:2",
    "urn:schemas-upnp-org:service:WANIPConnection:1",
    "urn:schemas-upnp-org:service:WANPPPConnection:1",
];

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
}

/// Parses a device description fetched from `location`.
pub(crate) fn parse_device_description(text: &str, location: &Url) -> Result<DeviceDescription, String> {
    let doc = xml::parse(text)?;
    let root = doc.root_element();
    let base = match xml::child_text(root, "URLBase").filter(|b| !b.is_empty()) {
        Some(base) => Url::parse(&base).map_err(|e| format!("invalid URLBase {base:?}: {e}"))?,
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
    let services: Vec<_> = root
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "service")
        .collect();
    let (service, service_type) = SERVICE_PREFERENCE
        .iter()
        .find_map(|wanted| {
            services.iter().find_map(|s| {
                let ty = xml::child_text(*s, "serviceType")?;
                (ty == *wanted).then_some((*s, ty))
            })
        })
        .ok_or("the device offers no WANIPConnection or WANPPPConnection service: it is not an Internet gateway")?;
    let join = |field: &str| -> Result<String, String> {
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
    let describing = igd.unwrap_or(root);
    let named = |field: &str| {
        igd.or_else(|| xml::child(root, "device"))
            .and_then(|d| xml::child_text(d, field))
            .unwrap_or_default()
    };
    let device_version =
        xml::child_text(describing, "deviceType").and_then(|t| t.rsplit(':').next().map(str::to_owned));
    // A device that calls itself IGD:1 but offers WANIPConnection:2 behaves as IGD:2.
    let igd_version = if device_version.as_deref() == Some("2") || service_type.ends_with("WANIPConnection:2") {
        IgdVersion::V2
    } else {
        IgdVersion::V1
    };
    Ok(DeviceDescription {
        friendly_name: named("friendlyName"),
        manufacturer: named("manufacturer"),
        model_name: named("modelName"),
        igd_version,
        control_url: join("controlURL")?,
        scpd_url: join("SCPDURL")?,
        service_type,
    })
}

/// The actions of a service and their input arguments, in order (igd-next builds its
/// requests from these).
pub(crate) type ActionList = BTreeMap<String, Vec<String>>;

/// Parses a service description (SCPD).
pub(crate) fn parse_scpd(text: &str) -> Result<ActionList, String> {
    let doc = xml::parse(text)?;
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
                .contains("not an Internet gateway")
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
        let reason = parse_device_description(text, &loc).unwrap_err();
        assert!(reason.contains("attributes"), "{reason}");
        assert!(parse_scpd(text).is_err());
    }
}
