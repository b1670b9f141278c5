//! End-to-end tests of the simulated gateway over raw TCP and UDP on 127.0.0.1.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::*;

/// Generous bound so a broken server fails a test instead of hanging it; never used to wait for success.
const PATIENCE: Duration = Duration::from_secs(10);

const IP2: &str = "urn:schemas-upnp-org:service:WANIPConnection:2";

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The text of the first element with this local name.
    fn value(&self, name: &str) -> Option<String> {
        let document = roxmltree::Document::parse(&self.body).ok()?;
        let node = document.descendants().find(|node| node.has_tag_name(name))?;
        Some(node.text().unwrap_or("").to_string())
    }

    fn upnp_error(&self) -> Option<u16> {
        self.value("errorCode")?.parse().ok()
    }
}

/// A raw HTTP/1.1 client on one connection.
struct Client {
    stream: TcpStream,
}

impl Client {
    fn connect(gateway: &SimulatedGateway) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", gateway.shared.port)).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        Client { stream }
    }

    fn send(&mut self, raw: &[u8]) {
        self.stream.write_all(raw).unwrap();
    }

    fn read_head(&mut self) -> (u16, Vec<(String, String)>) {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(self.stream.read(&mut byte).unwrap(), 1, "connection closed in the head");
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).unwrap();
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.to_string(), value.trim().to_string()))
            .collect();
        (status, headers)
    }

    fn read_reply(&mut self) -> Reply {
        let (status, headers) = self.read_head();
        let length: usize = headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
            .map(|(_, value)| value.parse().unwrap())
            .unwrap();
        let mut body = vec![0u8; length];
        self.stream.read_exact(&mut body).unwrap();
        Reply {
            status,
            headers,
            body: String::from_utf8(body).unwrap(),
        }
    }

    fn get(&mut self, path: &str) -> Reply {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes());
        self.read_reply()
    }

    fn send_soap(&mut self, path: &str, service: &str, action: &str, args: &[(&str, &str)]) {
        let args: String = args
            .iter()
            .map(|(name, value)| format!("<{name}>{}</{name}>", xml::escape(value)))
            .collect();
        let body = format!(
            "<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" \
             s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>\
             <u:{action} xmlns:u=\"{service}\">{args}</u:{action}></s:Body></s:Envelope>\r\n"
        );
        self.send(
            format!(
                "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml; charset=\"utf-8\"\r\n\
                 SOAPAction: \"{service}#{action}\"\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
    }

    fn soap(&mut self, action: &str, args: &[(&str, &str)]) -> Reply {
        self.send_soap("/ctl/IPConn", IP2, action, args);
        self.read_reply()
    }
}

fn soap(gateway: &SimulatedGateway, action: &str, args: &[(&str, &str)]) -> Reply {
    Client::connect(gateway).soap(action, args)
}

fn add_args<'a>(port: &'a str, protocol: &'a str, client: &'a str, lease: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("NewRemoteHost", ""),
        ("NewExternalPort", port),
        ("NewProtocol", protocol),
        ("NewInternalPort", port),
        ("NewInternalClient", client),
        ("NewEnabled", "1"),
        ("NewPortMappingDescription", "test"),
        ("NewLeaseDuration", lease),
    ]
}

fn add(gateway: &SimulatedGateway, port: &str, protocol: &str, client: &str, lease: &str) -> Reply {
    soap(gateway, "AddPortMapping", &add_args(port, protocol, client, lease))
}

fn mapping(port: u16, protocol: &str, client: &str, description: &str) -> SimMapping {
    SimMapping {
        description: description.to_string(),
        lease_seconds: 3600,
        ..SimMapping::new(port, protocol, client)
    }
}

fn start(config: SimConfig) -> SimulatedGateway {
    SimulatedGateway::start(config).unwrap()
}

fn in_arguments(scpd: &str, action: &str) -> Vec<String> {
    let document = roxmltree::Document::parse(scpd).unwrap();
    let action = document
        .descendants()
        .filter(|node| node.has_tag_name("action"))
        .find(|node| {
            node.children()
                .any(|c| c.has_tag_name("name") && c.text() == Some(action))
        })
        .unwrap();
    action
        .descendants()
        .filter(|node| node.has_tag_name("argument"))
        .filter(|arg| {
            arg.children()
                .any(|c| c.has_tag_name("direction") && c.text() == Some("in"))
        })
        .map(|arg| {
            let name = arg.children().find(|c| c.has_tag_name("name")).unwrap();
            name.text().unwrap().to_string()
        })
        .collect()
}

/// Spins (yielding) until the gateway has received `count` actions: the request is known to be read.
fn wait_for_actions(gateway: &SimulatedGateway, count: usize) {
    let deadline = Instant::now() + PATIENCE;
    while gateway.actions().len() < count {
        assert!(Instant::now() < deadline, "the request never arrived");
        thread::yield_now();
    }
}

#[test]
fn description_and_scpd_are_served_and_parse() {
    let gateway = start(SimConfig::default());
    assert_eq!(
        gateway.description_url(),
        format!("http://127.0.0.1:{}/rootDesc.xml", gateway.shared.port)
    );
    let mut client = Client::connect(&gateway);
    let description = client.get("/rootDesc.xml");
    assert_eq!(description.status, 200);
    let document = roxmltree::Document::parse(&description.body).unwrap();
    assert_eq!(
        document.root_element().tag_name().namespace(),
        Some("urn:schemas-upnp-org:device-1-0")
    );
    let types: Vec<&str> = document
        .descendants()
        .filter(|node| node.has_tag_name("deviceType") || node.has_tag_name("serviceType"))
        .filter_map(|node| node.text())
        .collect();
    assert_eq!(
        types,
        [
            "urn:schemas-upnp-org:device:InternetGatewayDevice:2",
            "urn:schemas-upnp-org:device:WANDevice:2",
            "urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1",
            "urn:schemas-upnp-org:device:WANConnectionDevice:2",
            IP2,
        ]
    );
    assert_eq!(description.value("controlURL").as_deref(), Some("/ctl/CmnIfCfg"));
    assert!(description.body.contains("<controlURL>/ctl/IPConn</controlURL>"));
    assert!(description.body.contains("<SCPDURL>/WANIPCn.xml</SCPDURL>"));

    let scpd = client.get("/WANIPCn.xml");
    assert_eq!(scpd.status, 200);
    let in_args = in_arguments(&scpd.body, "AddPortMapping");
    assert_eq!(
        in_args,
        [
            "NewRemoteHost",
            "NewExternalPort",
            "NewProtocol",
            "NewInternalPort",
            "NewInternalClient",
            "NewEnabled",
            "NewPortMappingDescription",
            "NewLeaseDuration"
        ]
    );
    assert_eq!(in_arguments(&scpd.body, "AddAnyPortMapping"), in_args);
    assert_eq!(
        in_arguments(&scpd.body, "GetListOfPortMappings"),
        [
            "NewStartPort",
            "NewEndPort",
            "NewProtocol",
            "NewManage",
            "NewNumberOfPorts"
        ]
    );
    assert_eq!(
        in_arguments(&scpd.body, "DeletePortMapping"),
        ["NewRemoteHost", "NewExternalPort", "NewProtocol"]
    );
    let common = client.get("/WANCfg.xml");
    roxmltree::Document::parse(&common.body).unwrap();
    assert_eq!(client.get("/nothing.xml").status, 404);
}

#[test]
fn igd1_and_ppp_descriptions_offer_only_their_actions() {
    let gateway = start(SimConfig {
        igd_version: 1,
        ..SimConfig::default()
    });
    let mut client = Client::connect(&gateway);
    let description = client.get("/rootDesc.xml");
    assert!(description.body.contains("InternetGatewayDevice:1"));
    assert!(
        description
            .body
            .contains("urn:schemas-upnp-org:service:WANIPConnection:1")
    );
    let scpd = client.get("/WANIPCn.xml");
    assert!(scpd.body.contains("<name>GetGenericPortMappingEntry</name>"));
    assert!(!scpd.body.contains("AddAnyPortMapping"));
    let reply = client.soap("GetListOfPortMappings", &[]);
    assert_eq!((reply.status, reply.upnp_error()), (500, Some(401)));

    let ppp = start(SimConfig {
        service: SimService::WanPppConnection,
        ..SimConfig::default()
    });
    let mut client = Client::connect(&ppp);
    let description = client.get("/rootDesc.xml");
    assert!(
        description
            .body
            .contains("<serviceType>urn:schemas-upnp-org:service:WANPPPConnection:1</serviceType>")
    );
    assert!(description.body.contains("<controlURL>/ctl/PPPConn</controlURL>"));
    let ppp_type = "urn:schemas-upnp-org:service:WANPPPConnection:1";
    client.send_soap("/ctl/PPPConn", ppp_type, "GetExternalIPAddress", &[]);
    let reply = client.read_reply();
    assert_eq!(reply.value("NewExternalIPAddress").as_deref(), Some("203.0.113.7"));
    assert!(reply.body.contains(&format!("xmlns:u=\"{ppp_type}\"")));
}

#[test]
fn add_list_and_delete_round_trip() {
    let gateway = start(SimConfig::default());
    let reply = add(&gateway, "5000", "TCP", "192.168.77.10", "3600");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains("<u:AddPortMappingResponse"));

    let reply = soap(
        &gateway,
        "GetSpecificPortMappingEntry",
        &[
            ("NewRemoteHost", ""),
            ("NewExternalPort", "5000"),
            ("NewProtocol", "TCP"),
        ],
    );
    assert_eq!(reply.value("NewInternalClient").as_deref(), Some("192.168.77.10"));
    assert_eq!(reply.value("NewInternalPort").as_deref(), Some("5000"));
    assert_eq!(reply.value("NewEnabled").as_deref(), Some("1"));
    assert_eq!(reply.value("NewLeaseDuration").as_deref(), Some("3600"));

    let reply = soap(&gateway, "GetGenericPortMappingEntry", &[("NewPortMappingIndex", "0")]);
    assert_eq!(reply.value("NewExternalPort").as_deref(), Some("5000"));
    assert_eq!(reply.value("NewProtocol").as_deref(), Some("TCP"));
    assert_eq!(reply.value("NewPortMappingDescription").as_deref(), Some("test"));

    let key = [
        ("NewRemoteHost", ""),
        ("NewExternalPort", "5000"),
        ("NewProtocol", "TCP"),
    ];
    assert_eq!(soap(&gateway, "DeletePortMapping", &key).status, 200);
    assert!(gateway.mappings().is_empty());
    // Deleting what is not there answers 200, as miniupnpd does.
    assert_eq!(soap(&gateway, "DeletePortMapping", &key).status, 200);
    let reply = soap(&gateway, "GetSpecificPortMappingEntry", &key);
    assert_eq!((reply.status, reply.upnp_error()), (500, Some(714)));
    assert_eq!(
        gateway.actions(),
        [
            "AddPortMapping",
            "GetSpecificPortMappingEntry",
            "GetGenericPortMappingEntry",
            "DeletePortMapping",
            "DeletePortMapping",
            "GetSpecificPortMappingEntry"
        ]
    );
}

#[test]
fn bad_input_is_mangled_like_miniupnpd() {
    let gateway = start(SimConfig::default());
    assert_eq!(add(&gateway, "70000", "XYZ", "192.168.1.2", "60").status, 200);
    let table = gateway.mappings();
    assert_eq!(table.len(), 1);
    assert_eq!((table[0].external_port, table[0].internal_port), (4464, 4464));
    assert_eq!(table[0].protocol, "TCP");
    assert_eq!(add(&gateway, "5000", "udp", "192.168.1.2", "60").status, 200);
    assert_eq!(gateway.mappings()[1].protocol, "UDP");
    let reply = add(&gateway, "abc", "TCP", "192.168.1.2", "60");
    assert_eq!(reply.upnp_error(), Some(716));
    let reply = add(&gateway, "6000", "TCP", "", "60");
    assert_eq!(reply.upnp_error(), Some(402));
    let mut args = add_args("6000", "TCP", "192.168.1.2", "60");
    args[3].1 = "0";
    assert_eq!(soap(&gateway, "AddPortMapping", &args).upnp_error(), Some(402));
}

#[test]
fn another_clients_port_conflicts_and_the_same_client_refreshes() {
    let gateway = start(SimConfig::default());
    gateway.insert(mapping(5000, "TCP", "192.168.1.5", "first"));
    gateway.insert(mapping(5001, "TCP", "192.168.1.5", "second"));
    let reply = add(&gateway, "5000", "TCP", "192.168.1.6", "60");
    assert_eq!((reply.status, reply.upnp_error()), (500, Some(718)));
    assert_eq!(
        reply.value("errorDescription").as_deref(),
        Some("ConflictInMappingEntry")
    );
    assert_eq!(add(&gateway, "5000", "TCP", "192.168.1.5", "60").status, 200);
    let table = gateway.mappings();
    assert_eq!(table.len(), 2);
    assert_eq!((table[0].external_port, table[0].lease_seconds), (5000, 60));
    assert_eq!(table[0].description, "test");
}

#[test]
fn secure_mode_refuses_other_hosts() {
    let gateway = start(SimConfig {
        secure_mode: true,
        ..SimConfig::default()
    });
    gateway.insert(mapping(5000, "TCP", "192.168.1.5", "theirs"));
    assert_eq!(
        add(&gateway, "6000", "TCP", "192.168.1.9", "60").upnp_error(),
        Some(718)
    );
    let key = [
        ("NewRemoteHost", ""),
        ("NewExternalPort", "5000"),
        ("NewProtocol", "TCP"),
    ];
    assert_eq!(soap(&gateway, "DeletePortMapping", &key).upnp_error(), Some(606));
    assert_eq!(add(&gateway, "6000", "TCP", "127.0.0.1", "60").status, 200);
    assert_eq!(gateway.mappings().len(), 2);
}

#[test]
fn leases_are_clamped_on_igd2_and_permanent_on_igd1() {
    let gateway = start(SimConfig::default());
    add(&gateway, "5000", "TCP", "192.168.1.2", "0");
    add(&gateway, "5001", "TCP", "192.168.1.2", "10000000");
    add(&gateway, "5002", "TCP", "192.168.1.2", "-1");
    let leases: Vec<u32> = gateway.mappings().iter().map(|m| m.lease_seconds).collect();
    assert_eq!(leases, [604_800; 3]);

    let igd1 = start(SimConfig {
        igd_version: 1,
        ..SimConfig::default()
    });
    let mut client = Client::connect(&igd1);
    client.send_soap(
        "/ctl/IPConn",
        "urn:schemas-upnp-org:service:WANIPConnection:1",
        "AddPortMapping",
        &add_args("5000", "TCP", "192.168.1.2", "0"),
    );
    assert_eq!(client.read_reply().status, 200);
    assert_eq!(igd1.mappings()[0].lease_seconds, 0);
}

#[test]
fn quirks_refuse_leases_low_ports_and_cgnat() {
    let only_permanent = start(SimConfig {
        only_permanent_leases: true,
        igd_version: 1,
        ..SimConfig::default()
    });
    let mut client = Client::connect(&only_permanent);
    let v1 = "urn:schemas-upnp-org:service:WANIPConnection:1";
    client.send_soap(
        "/ctl/IPConn",
        v1,
        "AddPortMapping",
        &add_args("5000", "TCP", "10.0.0.2", "3600"),
    );
    assert_eq!(client.read_reply().upnp_error(), Some(725));
    client.send_soap(
        "/ctl/IPConn",
        v1,
        "AddPortMapping",
        &add_args("5000", "TCP", "10.0.0.2", "0"),
    );
    assert_eq!(client.read_reply().status, 200);

    let no_permanent = start(SimConfig {
        refuse_permanent_lease: true,
        ..SimConfig::default()
    });
    assert_eq!(
        add(&no_permanent, "5000", "TCP", "10.0.0.2", "0").upnp_error(),
        Some(402)
    );
    assert_eq!(add(&no_permanent, "5000", "TCP", "10.0.0.2", "60").status, 200);
    assert_eq!(
        add(&no_permanent, "80", "TCP", "10.0.0.2", "60").upnp_error(),
        Some(606)
    );

    let cgnat = start(SimConfig {
        external_ip: String::new(),
        ..SimConfig::default()
    });
    assert_eq!(add(&cgnat, "5000", "TCP", "10.0.0.2", "60").upnp_error(), Some(501));
    let reply = soap(&cgnat, "GetExternalIPAddress", &[]);
    assert_eq!(reply.value("NewExternalIPAddress").as_deref(), Some(""));
    let status = soap(&cgnat, "GetStatusInfo", &[]);
    assert_eq!(status.value("NewConnectionStatus").as_deref(), Some("Connected"));
    assert_eq!(status.value("NewLastConnectionError").as_deref(), Some("ERROR_NONE"));
}

#[test]
fn list_pages_and_escapes_twice() {
    let gateway = start(SimConfig {
        list_page_limit: 3,
        ..SimConfig::default()
    });
    for port in [5006, 5000, 5005, 5001, 5004, 5002, 5003] {
        gateway.insert(mapping(port, "TCP", "192.168.77.10", "Tom & Jerry <1>"));
    }
    gateway.insert(mapping(5000, "UDP", "192.168.77.10", "udp"));
    let list = |start: &str| {
        soap(
            &gateway,
            "GetListOfPortMappings",
            &[
                ("NewStartPort", start),
                ("NewEndPort", "65535"),
                ("NewProtocol", "TCP"),
                ("NewManage", "1"),
                ("NewNumberOfPorts", "0"),
            ],
        )
    };
    let reply = list("0");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains("Tom &amp;amp; Jerry &amp;lt;1&amp;gt;"));
    let listing = reply.value("NewPortListing").unwrap();
    assert!(listing.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><p:PortMappingList"));
    let document = roxmltree::Document::parse(&listing).unwrap();
    let ports: Vec<&str> = document
        .descendants()
        .filter(|node| node.has_tag_name("NewExternalPort"))
        .filter_map(|node| node.text())
        .collect();
    assert_eq!(ports, ["5000", "5001", "5002"]);
    let description = document
        .descendants()
        .find(|n| n.has_tag_name("NewDescription"))
        .unwrap();
    assert_eq!(description.text(), Some("Tom & Jerry <1>"));
    let lease = document.descendants().find(|n| n.has_tag_name("NewLeaseTime")).unwrap();
    assert_eq!(lease.text(), Some("3600"));

    let next = list("5003").value("NewPortListing").unwrap();
    assert_eq!(next.matches("<p:PortMappingEntry>").count(), 3);
    let last = list("5006").value("NewPortListing").unwrap();
    assert_eq!(last.matches("<p:PortMappingEntry>").count(), 1);
    assert_eq!(list("5007").upnp_error(), Some(730));
    let reply = soap(
        &gateway,
        "GetListOfPortMappings",
        &[
            ("NewStartPort", "6000"),
            ("NewEndPort", "5000"),
            ("NewProtocol", "TCP"),
            ("NewManage", "1"),
            ("NewNumberOfPorts", "0"),
        ],
    );
    assert_eq!(reply.upnp_error(), Some(733));
}

#[test]
fn the_walk_ends_with_713_or_the_faults_code() {
    let gateway = start(SimConfig::default());
    gateway.insert(mapping(5000, "TCP", "192.168.1.2", "a"));
    gateway.insert(mapping(5001, "UDP", "192.168.1.2", "b"));
    let entry = |index: &str| {
        soap(
            &gateway,
            "GetGenericPortMappingEntry",
            &[("NewPortMappingIndex", index)],
        )
    };
    assert_eq!(entry("1").value("NewExternalPort").as_deref(), Some("5001"));
    let end = entry("2");
    assert_eq!((end.status, end.upnp_error()), (500, Some(713)));
    assert_eq!(
        end.value("errorDescription").as_deref(),
        Some("SpecifiedArrayIndexInvalid")
    );
    assert_eq!(entry("-1").upnp_error(), Some(713));
    assert_eq!(entry("x").upnp_error(), Some(402));

    gateway.set_faults(vec![Fault::WalkEndsWith {
        code: 402,
        description: "Invalid Args".to_string(),
    }]);
    assert_eq!(entry("2").upnp_error(), Some(402));
    gateway.set_faults(vec![Fault::EndlessWalk]);
    assert_eq!(entry("500").value("NewExternalPort").as_deref(), Some("5000"));
    gateway.set_faults(vec![Fault::DuplicateEntries]);
    let ports: Vec<String> = (0..4)
        .map(|index| entry(&index.to_string()).value("NewExternalPort").unwrap())
        .collect();
    assert_eq!(ports, ["5000", "5000", "5001", "5001"]);
    assert_eq!(entry("4").upnp_error(), Some(713));
}

#[test]
fn add_any_and_range_delete() {
    let gateway = start(SimConfig::default());
    gateway.insert(mapping(5000, "TCP", "192.168.1.5", "theirs"));
    gateway.insert(mapping(65535, "TCP", "192.168.1.5", "theirs"));
    let reply = soap(
        &gateway,
        "AddAnyPortMapping",
        &add_args("5000", "TCP", "192.168.1.2", "60"),
    );
    assert_eq!(reply.value("NewReservedPort").as_deref(), Some("5001"));
    let reply = soap(
        &gateway,
        "AddAnyPortMapping",
        &add_args("65535", "TCP", "192.168.1.2", "60"),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.value("NewReservedPort").as_deref(), Some("1024"));
    let mut wildcard = add_args("*", "TCP", "192.168.1.2", "60");
    wildcard[3].1 = "6000";
    let reply = soap(&gateway, "AddAnyPortMapping", &wildcard);
    let port: u16 = reply.value("NewReservedPort").unwrap().parse().unwrap();
    assert!(port >= 1024);

    let range = |start: &str, end: &str| {
        soap(
            &gateway,
            "DeletePortMappingRange",
            &[
                ("NewStartPort", start),
                ("NewEndPort", end),
                ("NewProtocol", "TCP"),
                ("NewManage", "1"),
            ],
        )
    };
    assert_eq!(range("6000", "5000").upnp_error(), Some(733));
    assert_eq!(range("5000", "5001").status, 200);
    assert!(
        !gateway
            .mappings()
            .iter()
            .any(|m| m.external_port == 5000 || m.external_port == 5001)
    );
    assert_eq!(range("5000", "5001").upnp_error(), Some(730));
}

#[test]
fn unknown_actions_and_garbage_are_refused() {
    let gateway = start(SimConfig::default());
    let reply = soap(&gateway, "FlyToTheMoon", &[]);
    assert_eq!((reply.status, reply.upnp_error()), (500, Some(401)));
    assert_eq!(reply.value("faultstring").as_deref(), Some("UPnPError"));

    let mut client = Client::connect(&gateway);
    client.send(b"\x16\x03\x01 binary garbage\r\n\r\n");
    assert_eq!(client.read_reply().status, 400);

    let mut client = Client::connect(&gateway);
    client.send(b"POST /ctl/IPConn HTTP/1.1\r\nContent-Length: 9\r\n\r\nnot xml!!");
    assert_eq!(client.read_reply().status, 400);

    let mut client = Client::connect(&gateway);
    client.send(b"POST /ctl/IPConn HTTP/1.1\r\nContent-Length: 100000\r\n\r\n");
    assert_eq!(client.read_reply().status, 413);
    // The gateway is still fine.
    assert_eq!(soap(&gateway, "GetStatusInfo", &[]).status, 200);
}

#[test]
fn keep_alive_reuses_one_connection_and_close_is_honoured() {
    let gateway = start(SimConfig::default());
    let mut client = Client::connect(&gateway);
    let first = client.soap("GetExternalIPAddress", &[]);
    assert_eq!(first.header("Connection"), Some("keep-alive"));
    let second = client.soap("GetStatusInfo", &[]);
    assert_eq!(first.value("NewExternalIPAddress").as_deref(), Some("203.0.113.7"));
    assert_eq!(second.status, 200);
    assert_eq!(gateway.connections_accepted(), 1);

    client.send(b"GET /rootDesc.xml HTTP/1.1\r\nConnection: close\r\n\r\n");
    let reply = client.read_reply();
    assert_eq!(reply.header("Connection"), Some("close"));
    let mut rest = Vec::new();
    assert_eq!(client.stream.read_to_end(&mut rest).unwrap(), 0);
}

#[test]
fn kill_refuses_connections_and_restart_keeps_or_clears_the_table() {
    let gateway = start(SimConfig::default());
    gateway.insert(mapping(5000, "TCP", "192.168.1.2", "kept"));
    let mut open = Client::connect(&gateway);
    assert_eq!(open.soap("GetStatusInfo", &[]).status, 200);
    gateway.kill();
    let mut rest = Vec::new();
    assert!(open.stream.read_to_end(&mut rest).map_or(true, |read| read == 0));
    let refused = TcpStream::connect(("127.0.0.1", gateway.shared.port)).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);

    gateway.restart(true);
    assert_eq!(
        soap(&gateway, "GetGenericPortMappingEntry", &[("NewPortMappingIndex", "0")]).status,
        200
    );
    gateway.restart(false);
    assert!(gateway.mappings().is_empty());
    assert_eq!(add(&gateway, "5000", "TCP", "192.168.1.2", "60").status, 200);
}

#[test]
fn hold_blocks_replies_until_the_guard_drops() {
    let gateway = start(SimConfig::default());
    let guard = gateway.hold();
    let mut client = Client::connect(&gateway);
    let (sender, receiver) = mpsc::channel();
    let worker = thread::spawn(move || sender.send(client.soap("GetStatusInfo", &[]).status).unwrap());
    wait_for_actions(&gateway, 1);
    // The request has been read; with the hold on, no reply can come (a short bound only to give
    // a broken hold the chance to show itself).
    assert!(receiver.recv_timeout(Duration::from_millis(200)).is_err());
    // Descriptions are not held.
    assert_eq!(Client::connect(&gateway).get("/rootDesc.xml").status, 200);
    drop(guard);
    assert_eq!(receiver.recv_timeout(PATIENCE).unwrap(), 200);
    worker.join().unwrap();
}

#[test]
fn drop_is_prompt_with_unanswered_held_and_stalled_connections() {
    let gateway = start(SimConfig::default());
    // Writers blocked on clients that never read.
    gateway.set_faults(vec![Fault::HugeBody { bytes: 50_000_000 }, Fault::DescriptionTooLarge]);
    let mut stalled = Client::connect(&gateway);
    stalled.send_soap("/ctl/IPConn", IP2, "GetStatusInfo", &[]);
    wait_for_actions(&gateway, 1);
    let mut stalled_description = Client::connect(&gateway);
    stalled_description.send(b"GET /rootDesc.xml HTTP/1.1\r\n\r\n");
    // A request never answered.
    gateway.set_faults(vec![Fault::NeverAnswer]);
    let mut never = Client::connect(&gateway);
    never.send_soap("/ctl/IPConn", IP2, "GetStatusInfo", &[]);
    wait_for_actions(&gateway, 2);
    // A request held.
    gateway.set_faults(Vec::new());
    let _guard = gateway.hold();
    let mut held = Client::connect(&gateway);
    held.send_soap("/ctl/IPConn", IP2, "GetStatusInfo", &[]);
    wait_for_actions(&gateway, 3);
    let idle = Client::connect(&gateway);

    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        drop(gateway);
        sender.send(()).unwrap();
    });
    receiver.recv_timeout(PATIENCE).expect("drop hung");
    for mut client in [never, held, idle] {
        let mut rest = Vec::new();
        assert!(client.stream.read_to_end(&mut rest).map_or(true, |read| read == 0));
    }
}

#[test]
fn list_crash_kills_the_gateway_until_restart() {
    let gateway = start(SimConfig::default());
    gateway.insert(mapping(5000, "TCP", "192.168.1.2", "a"));
    gateway.set_faults(vec![Fault::ListCrashes]);
    let mut client = Client::connect(&gateway);
    client.send_soap(
        "/ctl/IPConn",
        IP2,
        "GetListOfPortMappings",
        &[
            ("NewStartPort", "0"),
            ("NewEndPort", "65535"),
            ("NewProtocol", "TCP"),
            ("NewManage", "1"),
            ("NewNumberOfPorts", "0"),
        ],
    );
    let mut rest = Vec::new();
    assert!(client.stream.read_to_end(&mut rest).map_or(true, |read| read == 0));
    assert!(TcpStream::connect(("127.0.0.1", gateway.shared.port)).is_err());
    gateway.restart(true);
    assert_eq!(
        soap(&gateway, "GetGenericPortMappingEntry", &[("NewPortMappingIndex", "0")]).status,
        200
    );
}

#[test]
fn list_fails_after_some_calls() {
    let gateway = start(SimConfig::default());
    gateway.insert(mapping(5000, "TCP", "192.168.1.2", "a"));
    gateway.set_faults(vec![Fault::ListFailsAfter { calls: 1 }, Fault::DuplicateEntries]);
    let args = [
        ("NewStartPort", "0"),
        ("NewEndPort", "65535"),
        ("NewProtocol", "TCP"),
        ("NewManage", "1"),
        ("NewNumberOfPorts", "0"),
    ];
    let first = soap(&gateway, "GetListOfPortMappings", &args);
    assert_eq!(
        first
            .value("NewPortListing")
            .unwrap()
            .matches("<p:PortMappingEntry>")
            .count(),
        2
    );
    assert_eq!(soap(&gateway, "GetListOfPortMappings", &args).upnp_error(), Some(501));
}

#[test]
fn reply_faults_break_the_xml_or_the_transfer() {
    let gateway = start(SimConfig::default());
    gateway.set_faults(vec![Fault::MalformedXml]);
    let reply = soap(&gateway, "GetExternalIPAddress", &[]);
    assert_eq!(reply.status, 200);
    assert!(roxmltree::Document::parse(&reply.body).is_err());

    gateway.set_faults(vec![Fault::BillionLaughs]);
    let reply = soap(&gateway, "GetExternalIPAddress", &[]);
    assert!(reply.body.contains("<!DOCTYPE lolz") && reply.body.contains("&lol9;"));
    assert!(roxmltree::Document::parse(&reply.body).is_err());
    let error = soap(&gateway, "GetGenericPortMappingEntry", &[("NewPortMappingIndex", "9")]);
    assert_eq!(error.status, 500);
    assert!(error.body.contains("<errorDescription>&lol9;</errorDescription>"));

    gateway.set_faults(vec![Fault::CloseMidResponse]);
    let mut client = Client::connect(&gateway);
    client.send_soap("/ctl/IPConn", IP2, "GetExternalIPAddress", &[]);
    let (status, headers) = client.read_head();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "Content-Length")
        .unwrap()
        .1
        .parse()
        .unwrap();
    let mut body = Vec::new();
    let _ = client.stream.read_to_end(&mut body);
    assert_eq!((status, body.len()), (200, length / 2));

    gateway.set_faults(vec![Fault::HugeBody { bytes: 50_000_000 }]);
    let mut client = Client::connect(&gateway);
    client.send_soap("/ctl/IPConn", IP2, "GetExternalIPAddress", &[]);
    let (_, headers) = client.read_head();
    let length: u64 = headers
        .iter()
        .find(|(n, _)| n == "Content-Length")
        .unwrap()
        .1
        .parse()
        .unwrap();
    assert!(length > 50_000_000);
    let mut start = [0u8; 4096];
    client.stream.read_exact(&mut start).unwrap();
    assert!(String::from_utf8_lossy(&start).contains("<u:GetExternalIPAddressResponse"));
    drop(client);

    gateway.set_faults(vec![Fault::SlowReplies { millis: 50 }]);
    let began = Instant::now();
    assert_eq!(soap(&gateway, "GetStatusInfo", &[]).status, 200);
    assert!(began.elapsed() >= Duration::from_millis(50));

    gateway.set_faults(vec![Fault::Drip]);
    let mut client = Client::connect(&gateway);
    client.send_soap("/ctl/IPConn", IP2, "GetStatusInfo", &[]);
    let (status, _) = client.read_head();
    let mut first = [0u8; 1];
    client.stream.read_exact(&mut first).unwrap();
    assert_eq!((status, first[0]), (200, b'<'));

    gateway.set_faults(vec![Fault::DescriptionTooLarge]);
    let mut client = Client::connect(&gateway);
    client.send(b"GET /rootDesc.xml HTTP/1.1\r\n\r\n");
    let (_, headers) = client.read_head();
    assert_eq!(
        headers.iter().find(|(n, _)| n == "Content-Length").unwrap().1,
        "100000000"
    );
    drop(client);
    // Drop must not wait for the dripping reply.
}

fn m_search(socket: &UdpSocket, gateway: &SimulatedGateway, st: &str) {
    let request = format!(
        "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: {st}\r\n\r\n"
    );
    socket.send_to(request.as_bytes(), gateway.ssdp_addr()).unwrap();
}

fn ssdp_reply(socket: &UdpSocket) -> String {
    let mut buf = [0u8; 2048];
    let (length, from) = socket.recv_from(&mut buf).unwrap();
    assert!(from.ip().is_loopback());
    String::from_utf8(buf[..length].to_vec()).unwrap()
}

fn ssdp_header<'a>(reply: &'a str, name: &str) -> Option<&'a str> {
    reply
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(header, _)| header.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.trim())
}

#[test]
fn ssdp_answers_unicast_m_search_with_the_description_url() {
    let gateway = start(SimConfig::default());
    assert!(gateway.ssdp_addr().ip().is_loopback());
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(PATIENCE)).unwrap();

    // Searches the device does not match get no answer: the next reply is for the later search.
    m_search(&socket, &gateway, "urn:schemas-upnp-org:service:WANPPPConnection:1");
    m_search(&socket, &gateway, "urn:schemas-upnp-org:device:InternetGatewayDevice:3");
    m_search(&socket, &gateway, "urn:schemas-upnp-org:device:InternetGatewayDevice:2");
    let reply = ssdp_reply(&socket);
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"));
    assert_eq!(
        ssdp_header(&reply, "ST"),
        Some("urn:schemas-upnp-org:device:InternetGatewayDevice:2")
    );
    assert_eq!(
        ssdp_header(&reply, "LOCATION"),
        Some(gateway.description_url().as_str())
    );
    assert!(ssdp_header(&reply, "USN").unwrap().starts_with("uuid:"));
    assert!(ssdp_header(&reply, "CACHE-CONTROL").is_some() && ssdp_header(&reply, "SERVER").is_some());

    // Older versions are answered too, echoing the version asked for (UDA 1.1, miniupnpd).
    m_search(&socket, &gateway, "urn:schemas-upnp-org:service:WANIPConnection:1");
    let reply = ssdp_reply(&socket);
    assert_eq!(
        ssdp_header(&reply, "ST"),
        Some("urn:schemas-upnp-org:service:WANIPConnection:1")
    );
    m_search(&socket, &gateway, "ssdp:all");
    let reply = ssdp_reply(&socket);
    assert_eq!(
        ssdp_header(&reply, "ST"),
        Some("urn:schemas-upnp-org:device:InternetGatewayDevice:2")
    );

    gateway.set_faults(vec![Fault::WrongServiceInSsdp, Fault::SsdpLocationElsewhere]);
    m_search(&socket, &gateway, "urn:schemas-upnp-org:device:InternetGatewayDevice:2");
    m_search(&socket, &gateway, "upnp:rootdevice");
    let reply = ssdp_reply(&socket);
    assert_eq!(ssdp_header(&reply, "ST"), Some("upnp:rootdevice"));
    assert_eq!(
        ssdp_header(&reply, "LOCATION"),
        Some("http://198.51.100.9:49000/rootDesc.xml")
    );
    m_search(&socket, &gateway, "ssdp:all");
    let reply = ssdp_reply(&socket);
    assert_eq!(
        ssdp_header(&reply, "ST"),
        Some("urn:schemas-upnp-org:device:InternetGatewayDevice:1")
    );
}

#[test]
fn demo_is_a_plausible_home_router() {
    let gateway = SimulatedGateway::demo().unwrap();
    let table = gateway.mappings();
    assert!((10..=15).contains(&table.len()));
    assert!(table.iter().any(|m| !m.enabled));
    assert!(table.iter().any(|m| !m.remote_host.is_empty()));
    assert!(table.iter().any(|m| m.lease_seconds == 0));
    assert!(table.iter().any(|m| m.lease_seconds == 120));
    assert!(table.iter().any(|m| m.internal_client.starts_with("192.168.1.")));
    let description = Client::connect(&gateway).get("/rootDesc.xml");
    assert_eq!(
        description.value("friendlyName").as_deref(),
        Some("PortForward demo router")
    );
    let reply = soap(&gateway, "GetExternalIPAddress", &[]);
    assert_eq!(reply.value("NewExternalIPAddress").as_deref(), Some("203.0.113.7"));
}

/// The client side uses igd-next for part of its work: it must accept the simulator as a real gateway.
#[test]
fn igd_next_drives_the_simulator() {
    use igd_next::PortMappingProtocol::{TCP, UDP};
    let gateway = start(SimConfig::default());
    let scpd = Client::connect(&gateway).get("/WANIPCn.xml").body;
    let document = roxmltree::Document::parse(&scpd).unwrap();
    let control_schema = document
        .descendants()
        .filter(|node| node.has_tag_name("action"))
        .filter_map(|action| action.children().find(|child| child.has_tag_name("name"))?.text())
        .map(|name| (name.to_string(), in_arguments(&scpd, name)))
        .collect();
    let igd = igd_next::Gateway {
        addr: ([127, 0, 0, 1], gateway.shared.port).into(),
        root_url: "/rootDesc.xml".to_string(),
        control_url: "/ctl/IPConn".to_string(),
        control_schema_url: "/WANIPCn.xml".to_string(),
        control_schema,
        service_type: IP2.to_string(),
    };
    let local = "127.0.0.1:5555".parse().unwrap();
    assert_eq!(igd.get_external_ip().unwrap().to_string(), "203.0.113.7");
    igd.add_port(TCP, 5555, local, 3600, "a <&> b").unwrap();
    let any = igd.add_any_port(UDP, local, 3600, "any").unwrap();
    let first = igd.get_generic_port_mapping_entry(0).unwrap();
    assert_eq!(
        (first.external_port, first.port_mapping_description.as_str()),
        (5555, "a <&> b")
    );
    assert_eq!(
        (first.lease_duration, first.internal_client.as_str()),
        (3600, "127.0.0.1")
    );
    assert_eq!(igd.get_generic_port_mapping_entry(1).unwrap().external_port, any);
    assert!(matches!(
        igd.get_generic_port_mapping_entry(2),
        Err(igd_next::GetGenericPortMappingEntryError::SpecifiedArrayIndexInvalid)
    ));
    igd.remove_port(TCP, 5555).unwrap();
    assert_eq!(gateway.mappings().len(), 1);
}
