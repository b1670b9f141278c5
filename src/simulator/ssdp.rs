//! The SSDP responder: answers unicast M-SEARCH on a UDP socket bound to 127.0.0.1 (never multicast).

use std::net::{SocketAddr, UdpSocket};

use super::faults::{ELSEWHERE_LOCATION, Fault};
use super::xml::{self, device_type, device_uuid};
use super::{Shared, SimService};

/// Answers M-SEARCH requests until the gateway is dropped; silent while it is killed.
pub(crate) fn serve(socket: UdpSocket, shared: &Shared) {
    let mut buf = [0u8; 2048];
    loop {
        let received = socket.recv_from(&mut buf);
        let faults = {
            let state = shared.lock();
            if state.dropped {
                return;
            }
            if !state.alive {
                continue;
            }
            state.faults.clone()
        };
        let Ok((length, sender)) = received else {
            continue;
        };
        // The socket is bound to loopback; check anyway: nothing ever goes to another address.
        if !sender.ip().is_loopback() {
            continue;
        }
        if let Some(answer) = answer(&buf[..length], shared, &faults) {
            let _ = socket.send_to(answer.as_bytes(), sender);
        }
    }
}

/// Unblocks the responder's `recv_from` so it notices the gateway was dropped.
pub(crate) fn wake(ssdp_addr: SocketAddr) {
    if let Ok(socket) = UdpSocket::bind("127.0.0.1:0") {
        let _ = socket.send_to(b"", ssdp_addr);
    }
}

/// The reply to one datagram, if it is an M-SEARCH for something this device has.
fn answer(datagram: &[u8], shared: &Shared, faults: &[Fault]) -> Option<String> {
    let text = std::str::from_utf8(datagram).ok()?;
    let mut lines = text.split('\n').map(|line| line.trim_end_matches('\r'));
    if !lines.next()?.trim().eq_ignore_ascii_case("M-SEARCH * HTTP/1.1") {
        return None;
    }
    let (mut man, mut st) = (None, None);
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "man" => man = Some(value.trim()),
                "st" => st = Some(value.trim()),
                _ => {}
            }
        }
    }
    if !man?.trim_matches('"').eq_ignore_ascii_case("ssdp:discover") {
        return None;
    }
    let (st, usn) = matching_target(st?, shared, faults)?;
    let location = if faults.contains(&Fault::SsdpLocationElsewhere) {
        ELSEWHERE_LOCATION.to_string()
    } else {
        format!("http://127.0.0.1:{}{}", shared.port, xml::DESCRIPTION_PATH)
    };
    let server = &shared.config.server;
    Some(format!(
        "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: {st}\r\nUSN: {usn}\r\nEXT:\r\nSERVER: {server}\r\n\
         LOCATION: {location}\r\nOPT: \"http://schemas.upnp.org/upnp/1/0/\"; ns=01\r\n01-NLS: 1\r\n\
         BOOTID.UPNP.ORG: 1\r\nCONFIGID.UPNP.ORG: 1337\r\n\r\n"
    ))
}

/// The ST and USN to answer with. Like miniupnpd (UDA 1.1), a search for an older version of a
/// type is answered too, echoing the version asked for.
fn matching_target(st: &str, shared: &Shared, faults: &[Fault]) -> Option<(String, String)> {
    let config = &shared.config;
    let version = if faults.contains(&Fault::WrongServiceInSsdp) {
        1
    } else {
        config.igd_version
    };
    let uuid = |index| device_uuid(&shared.uuid, index);
    match st {
        "ssdp:all" => {
            let root = device_type("InternetGatewayDevice", version);
            return Some((root.clone(), format!("uuid:{}::{root}", uuid(1))));
        }
        "upnp:rootdevice" => return Some((st.to_string(), format!("uuid:{}::upnp:rootdevice", uuid(1)))),
        _ => {}
    }
    for index in 1..=3 {
        if st == format!("uuid:{}", uuid(index)) {
            return Some((st.to_string(), st.to_string()));
        }
    }
    let service = match config.service {
        SimService::WanIpConnection => ("urn:schemas-upnp-org:service:WANIPConnection:", version, 3),
        SimService::WanPppConnection => ("urn:schemas-upnp-org:service:WANPPPConnection:", 1, 3),
    };
    let known = [
        ("urn:schemas-upnp-org:device:InternetGatewayDevice:", version, 1),
        ("urn:schemas-upnp-org:device:WANDevice:", version, 2),
        ("urn:schemas-upnp-org:device:WANConnectionDevice:", version, 3),
        service,
    ];
    known.iter().find_map(|&(prefix, supported, index)| {
        let asked: u8 = st.strip_prefix(prefix)?.parse().ok()?;
        (1..=supported)
            .contains(&asked)
            .then(|| (st.to_string(), format!("uuid:{}::{st}", uuid(index))))
    })
}
