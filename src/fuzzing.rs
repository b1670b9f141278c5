//! Entry points for the `cargo fuzz` targets in `fuzz/`: each feeds untrusted bytes to one
//! parser of what a gateway sends, the way the client does. Hidden from the docs: not part
//! of the API, and free to change.
//!
//! Each returns whether the input was accepted; none may panic, hang or allocate without
//! bound whatever the input.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use url::Url;

use crate::upnp::{self as gateway, Reply, ssdp};

/// The sender of the fuzzed SSDP answers: a LOCATION must name it to be accepted.
pub const SSDP_SENDER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 1)), 1900);

/// Where the fuzzed device descriptions were fetched from (relative URLs resolve against it).
pub const DESCRIPTION_URL: &str = "http://192.168.1.1:5000/rootDesc.xml";

/// The actions whose replies `soap_reply` reads: the first whose `…Response` element the
/// body mentions, else the first.
const ACTIONS: [&str; 8] = [
    "GetStatusInfo",
    "GetExternalIPAddress",
    "GetListOfPortMappings",
    "GetGenericPortMappingEntry",
    "GetSpecificPortMappingEntry",
    "AddPortMapping",
    "DeletePortMapping",
    "DeletePortMappingRange",
];

/// Bodies are read as the HTTP layer reads them: lossily as UTF-8.
fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// An SSDP datagram from [`SSDP_SENDER`] ([`ssdp::parse_answer`]).
pub fn ssdp_answer(datagram: &[u8]) -> bool {
    ssdp::parse_answer(datagram, SSDP_SENDER).is_ok()
}

/// A device description fetched from [`DESCRIPTION_URL`].
pub fn device_description(body: &[u8]) -> bool {
    let location = Url::parse(DESCRIPTION_URL).expect("a valid constant URL");
    gateway::parse_device_description(&text(body), &location).is_ok()
}

/// A service description (SCPD).
pub fn scpd(body: &[u8]) -> bool {
    gateway::parse_scpd(&text(body)).is_ok()
}

/// A SOAP reply to a control request, read with HTTP status `status` (200 for outputs,
/// 500 for UPnP faults; others for error pages). A GetListOfPortMappings reply's listing is
/// then parsed as the client does.
pub fn soap_reply(status: u16, body: &[u8]) -> bool {
    let body = text(body).into_owned();
    let action = ACTIONS
        .into_iter()
        .find(|action| body.contains(&format!("{action}Response")))
        .unwrap_or(ACTIONS[0]);
    let reply = Reply {
        status,
        server: None,
        body,
    };
    match gateway::read_reply("http://192.168.1.1:5000/ctl/IPConn", action, &reply) {
        Ok(outputs) if action == "GetListOfPortMappings" => {
            gateway::parse_port_listing(outputs.get("NewPortListing")).is_ok()
        }
        Ok(_) => true,
        Err(_) => false,
    }
}

/// The PortMappingList document of a GetListOfPortMappings reply (already unescaped).
pub fn port_listing(listing: &[u8]) -> bool {
    gateway::parse_port_listing(&text(listing)).is_ok()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// The files of `fuzz/<kind>/<target>/`, by name.
    fn inputs(kind: &str, target: &str) -> Vec<(String, Vec<u8>)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz")
            .join(kind)
            .join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut files: Vec<_> = entries
            .map(|e| {
                let path = e.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&path).unwrap())
            })
            .collect();
        files.sort();
        files
    }

    #[test]
    fn the_realistic_seeds_are_accepted() {
        let seeds = inputs("seeds", "ssdp_answer");
        assert!(seeds.len() >= 4);
        for (name, data) in &seeds {
            assert_eq!(ssdp_answer(data), !name.contains("ipv6"), "{name}");
        }
        for (name, data) in &inputs("seeds", "device_description") {
            assert_eq!(device_description(data), name.starts_with("rootDesc"), "{name}");
            assert_eq!(scpd(data), name.starts_with("scpd"), "{name}");
        }
        for (name, data) in &inputs("seeds", "soap_reply") {
            let answer = !(name.starts_with("fault") || name.contains("malformed") || name.contains("laughs"));
            assert_eq!(soap_reply(200, data), answer && !name.ends_with(".html"), "{name}");
            assert_eq!(soap_reply(500, data), answer && !name.ends_with(".html"), "{name}");
        }
        for (name, data) in &inputs("seeds", "port_listing") {
            assert!(port_listing(data), "{name}");
        }
    }

    /// Every input a fuzzer once crashed on (fuzz/regressions/) runs cleanly now.
    #[test]
    fn the_fuzz_regressions_run_cleanly() {
        for (_, data) in inputs("regressions", "ssdp_answer") {
            ssdp_answer(&data);
        }
        for (_, data) in inputs("regressions", "device_description") {
            device_description(&data);
            scpd(&data);
        }
        for (_, data) in inputs("regressions", "soap_reply") {
            soap_reply(200, &data);
            soap_reply(500, &data);
        }
        for (_, data) in inputs("regressions", "port_listing") {
            port_listing(&data);
        }
    }
}
