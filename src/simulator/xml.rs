//! The documents a client reads before acting: the device description and the service descriptions (SCPD).

use std::fmt::Write;

use super::{SimConfig, SimService};

pub(crate) const DESCRIPTION_PATH: &str = "/rootDesc.xml";
pub(crate) const COMMON_SCPD_PATH: &str = "/WANCfg.xml";
pub(crate) const COMMON_CONTROL_PATH: &str = "/ctl/CmnIfCfg";
pub(crate) const COMMON_SERVICE_TYPE: &str = "urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1";

/// Escapes text for XML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// The UUID of device `index` (1 root, 2 WANDevice, 3 WANConnectionDevice) from the gateway's base.
pub(crate) fn device_uuid(base: &str, index: u16) -> String {
    format!("{base}{index:04x}")
}

/// `urn:schemas-upnp-org:device:NAME:N`
pub(crate) fn device_type(name: &str, version: u8) -> String {
    format!("urn:schemas-upnp-org:device:{name}:{version}")
}

/// The WAN connection service type of a configuration.
pub(crate) fn service_type(config: &SimConfig) -> String {
    match config.service {
        SimService::WanIpConnection => {
            format!("urn:schemas-upnp-org:service:WANIPConnection:{}", config.igd_version)
        }
        SimService::WanPppConnection => "urn:schemas-upnp-org:service:WANPPPConnection:1".to_string(),
    }
}

/// Whether the service has the IGD:2 actions (AddAnyPortMapping, GetListOfPortMappings, DeletePortMappingRange).
pub(crate) fn has_v2_actions(config: &SimConfig) -> bool {
    config.igd_version >= 2 && config.service == SimService::WanIpConnection
}

pub(crate) fn control_path(config: &SimConfig) -> &'static str {
    match config.service {
        SimService::WanIpConnection => "/ctl/IPConn",
        SimService::WanPppConnection => "/ctl/PPPConn",
    }
}

pub(crate) fn scpd_path(config: &SimConfig) -> &'static str {
    match config.service {
        SimService::WanIpConnection => "/WANIPCn.xml",
        SimService::WanPppConnection => "/WANPPPCn.xml",
    }
}

pub(crate) fn event_path(config: &SimConfig) -> &'static str {
    match config.service {
        SimService::WanIpConnection => "/evt/IPConn",
        SimService::WanPppConnection => "/evt/PPPConn",
    }
}

fn service_id(config: &SimConfig) -> &'static str {
    match config.service {
        SimService::WanIpConnection => "urn:upnp-org:serviceId:WANIPConn1",
        SimService::WanPppConnection => "urn:upnp-org:serviceId:WANPPPConn1",
    }
}

/// The device description: InternetGatewayDevice:N > WANDevice:N > WANConnectionDevice:N.
/// `uuid` is the base of the device UUIDs ([`device_uuid`]).
pub(crate) fn description(config: &SimConfig, uuid: &str) -> String {
    let version = config.igd_version;
    let device = |out: &mut String, kind: &str, name: &str, index: u16| {
        let _ = write!(
            out,
            "<deviceType>{}</deviceType><friendlyName>{}</friendlyName><manufacturer>{}</manufacturer>\
             <manufacturerURL>http://miniupnp.free.fr/</manufacturerURL><modelDescription>{}</modelDescription>\
             <modelName>{}</modelName><modelNumber>2.3.1</modelNumber>\
             <modelURL>http://miniupnp.free.fr/</modelURL><serialNumber>00000000</serialNumber>\
             <UDN>uuid:{}</UDN>",
            device_type(kind, version),
            escape(name),
            escape(&config.manufacturer),
            escape(name),
            escape(&config.model_name),
            device_uuid(uuid, index),
        );
    };
    let mut out = String::with_capacity(4096);
    out.push_str(
        "<?xml version=\"1.0\"?>\r\n<root xmlns=\"urn:schemas-upnp-org:device-1-0\" configId=\"1337\">\
         <specVersion><major>1</major><minor>1</minor></specVersion><device>",
    );
    device(&mut out, "InternetGatewayDevice", &config.friendly_name, 1);
    out.push_str("<deviceList><device>");
    device(&mut out, "WANDevice", "WANDevice", 2);
    if config.common_interface {
        let _ = write!(
            out,
            "<serviceList><service><serviceType>{COMMON_SERVICE_TYPE}</serviceType>\
             <serviceId>urn:upnp-org:serviceId:WANCommonIFC1</serviceId>\
             <SCPDURL>{COMMON_SCPD_PATH}</SCPDURL><controlURL>{COMMON_CONTROL_PATH}</controlURL>\
             <eventSubURL>/evt/CmnIfCfg</eventSubURL></service></serviceList>"
        );
    }
    out.push_str("<deviceList><device>");
    device(&mut out, "WANConnectionDevice", "WANConnectionDevice", 3);
    let _ = write!(
        out,
        "<serviceList><service><serviceType>{}</serviceType><serviceId>{}</serviceId>\
         <SCPDURL>{}</SCPDURL><controlURL>{}</controlURL><eventSubURL>{}</eventSubURL>\
         </service>{}</serviceList>",
        service_type(config),
        service_id(config),
        scpd_path(config),
        control_path(config),
        event_path(config),
        // IGD:2 lists the IPv6 firewall; IGD:1 does not (miniupnpd answers its actions anyway).
        if version >= 2 {
            super::pinholes::service_element()
        } else {
            String::new()
        },
    );
    out.push_str("</device></deviceList></device></deviceList>");
    if config.common_interface {
        out.push_str("<presentationURL>/</presentationURL>");
    }
    out.push_str("</device></root>\r\n");
    out
}

/// An argument of an action: name, direction, related state variable.
type Arg = (&'static str, &'static str, &'static str);

const MAPPING_IN: [Arg; 8] = [
    ("NewRemoteHost", "in", "RemoteHost"),
    ("NewExternalPort", "in", "ExternalPort"),
    ("NewProtocol", "in", "PortMappingProtocol"),
    ("NewInternalPort", "in", "InternalPort"),
    ("NewInternalClient", "in", "InternalClient"),
    ("NewEnabled", "in", "PortMappingEnabled"),
    ("NewPortMappingDescription", "in", "PortMappingDescription"),
    ("NewLeaseDuration", "in", "PortMappingLeaseDuration"),
];

const MAPPING_OUT: [Arg; 8] = [
    ("NewRemoteHost", "out", "RemoteHost"),
    ("NewExternalPort", "out", "ExternalPort"),
    ("NewProtocol", "out", "PortMappingProtocol"),
    ("NewInternalPort", "out", "InternalPort"),
    ("NewInternalClient", "out", "InternalClient"),
    ("NewEnabled", "out", "PortMappingEnabled"),
    ("NewPortMappingDescription", "out", "PortMappingDescription"),
    ("NewLeaseDuration", "out", "PortMappingLeaseDuration"),
];

const KEY_IN: [Arg; 3] = [
    ("NewRemoteHost", "in", "RemoteHost"),
    ("NewExternalPort", "in", "ExternalPort"),
    ("NewProtocol", "in", "PortMappingProtocol"),
];

/// The actions of the WAN connection service, in the standard order with standard argument order.
fn wan_actions(v2: bool) -> Vec<(&'static str, Vec<Arg>)> {
    let mut actions = vec![
        (
            "GetStatusInfo",
            vec![
                ("NewConnectionStatus", "out", "ConnectionStatus"),
                ("NewLastConnectionError", "out", "LastConnectionError"),
                ("NewUptime", "out", "Uptime"),
            ],
        ),
        (
            "GetExternalIPAddress",
            vec![("NewExternalIPAddress", "out", "ExternalIPAddress")],
        ),
        (
            "GetGenericPortMappingEntry",
            std::iter::once(("NewPortMappingIndex", "in", "PortMappingNumberOfEntries"))
                .chain(MAPPING_OUT)
                .collect(),
        ),
        (
            "GetSpecificPortMappingEntry",
            KEY_IN.iter().copied().chain(MAPPING_OUT[3..].iter().copied()).collect(),
        ),
        ("AddPortMapping", MAPPING_IN.to_vec()),
        ("DeletePortMapping", KEY_IN.to_vec()),
    ];
    if v2 {
        actions.extend([
            (
                "AddAnyPortMapping",
                MAPPING_IN
                    .iter()
                    .copied()
                    .chain([("NewReservedPort", "out", "ExternalPort")])
                    .collect(),
            ),
            (
                "DeletePortMappingRange",
                vec![
                    ("NewStartPort", "in", "ExternalPort"),
                    ("NewEndPort", "in", "ExternalPort"),
                    ("NewProtocol", "in", "PortMappingProtocol"),
                    ("NewManage", "in", "A_ARG_TYPE_Manage"),
                ],
            ),
            (
                "GetListOfPortMappings",
                vec![
                    ("NewStartPort", "in", "ExternalPort"),
                    ("NewEndPort", "in", "ExternalPort"),
                    ("NewProtocol", "in", "PortMappingProtocol"),
                    ("NewManage", "in", "A_ARG_TYPE_Manage"),
                    ("NewNumberOfPorts", "in", "PortMappingNumberOfEntries"),
                    ("NewPortListing", "out", "A_ARG_TYPE_PortListing"),
                ],
            ),
        ]);
    }
    actions
}

/// A state variable: name, data type, sendEvents, allowed values.
type Variable = (&'static str, &'static str, bool, &'static [&'static str]);

fn wan_variables(v2: bool) -> Vec<Variable> {
    let mut variables: Vec<Variable> = vec![
        ("ConnectionStatus", "string", true, &[]),
        ("Uptime", "ui4", false, &[]),
        ("LastConnectionError", "string", false, &["ERROR_NONE"]),
        ("ExternalIPAddress", "string", true, &[]),
        ("PortMappingNumberOfEntries", "ui2", true, &[]),
        ("PortMappingEnabled", "boolean", false, &[]),
        ("PortMappingLeaseDuration", "ui4", false, &[]),
        ("RemoteHost", "string", false, &[]),
        ("ExternalPort", "ui2", false, &[]),
        ("InternalPort", "ui2", false, &[]),
        ("PortMappingProtocol", "string", false, &["TCP", "UDP"]),
        ("InternalClient", "string", false, &[]),
        ("PortMappingDescription", "string", false, &[]),
    ];
    if v2 {
        variables.push(("A_ARG_TYPE_Manage", "boolean", false, &[]));
        variables.push(("A_ARG_TYPE_PortListing", "string", false, &[]));
    }
    variables
}

fn scpd(actions: &[(&'static str, Vec<Arg>)], variables: &[Variable]) -> String {
    let mut out = String::with_capacity(8192);
    out.push_str(
        "<?xml version=\"1.0\"?>\r\n<scpd xmlns=\"urn:schemas-upnp-org:service-1-0\">\
         <specVersion><major>1</major><minor>0</minor></specVersion><actionList>",
    );
    for (name, args) in actions {
        let _ = write!(out, "<action><name>{name}</name><argumentList>");
        for (arg, direction, variable) in args {
            let _ = write!(
                out,
                "<argument><name>{arg}</name><direction>{direction}</direction>\
                 <relatedStateVariable>{variable}</relatedStateVariable></argument>"
            );
        }
        out.push_str("</argumentList></action>");
    }
    out.push_str("</actionList><serviceStateTable>");
    for (name, data_type, events, allowed) in variables {
        let events = if *events { "yes" } else { "no" };
        let _ = write!(
            out,
            "<stateVariable sendEvents=\"{events}\"><name>{name}</name><dataType>{data_type}</dataType>"
        );
        if !allowed.is_empty() {
            out.push_str("<allowedValueList>");
            for value in *allowed {
                let _ = write!(out, "<allowedValue>{value}</allowedValue>");
            }
            out.push_str("</allowedValueList>");
        }
        out.push_str("</stateVariable>");
    }
    out.push_str("</serviceStateTable></scpd>\r\n");
    out
}

/// The SCPD of the WAN connection service.
pub(crate) fn wan_scpd(config: &SimConfig) -> String {
    let v2 = has_v2_actions(config);
    scpd(&wan_actions(v2), &wan_variables(v2))
}

/// A minimal SCPD for WANCommonInterfaceConfig:1.
pub(crate) fn common_scpd() -> String {
    let actions = vec![(
        "GetCommonLinkProperties",
        vec![
            ("NewWANAccessType", "out", "WANAccessType"),
            ("NewLayer1UpstreamMaxBitRate", "out", "Layer1UpstreamMaxBitRate"),
            ("NewLayer1DownstreamMaxBitRate", "out", "Layer1DownstreamMaxBitRate"),
            ("NewPhysicalLinkStatus", "out", "PhysicalLinkStatus"),
        ],
    )];
    let variables: Vec<Variable> = vec![
        ("WANAccessType", "string", false, &["DSL", "POTS", "Cable", "Ethernet"]),
        ("Layer1UpstreamMaxBitRate", "ui4", false, &[]),
        ("Layer1DownstreamMaxBitRate", "ui4", false, &[]),
        ("PhysicalLinkStatus", "string", true, &["Up", "Down"]),
    ];
    scpd(&actions, &variables)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_the_five_entities() {
        assert_eq!(escape(r#"a&b<c>d"e'f"#), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
    }

    #[test]
    fn ppp_has_only_v1_actions_even_on_igd2() {
        let config = SimConfig {
            service: SimService::WanPppConnection,
            ..SimConfig::default()
        };
        let document = wan_scpd(&config);
        assert!(document.contains("<name>AddPortMapping</name>"));
        assert!(!document.contains("GetListOfPortMappings"));
        assert_eq!(service_type(&config), "urn:schemas-upnp-org:service:WANPPPConnection:1");
    }
}
