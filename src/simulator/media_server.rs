//! A simulated UPnP device that is not a gateway (a media server, as a NAS or a TV box is),
//! for tests of what discovery tells the user when only such devices answer. It answers unicast
//! M-SEARCH on 127.0.0.1 and serves its description over HTTP there; nothing else.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the threads look whether the device was dropped (no thread waits on a read that
/// only a platform-specific shutdown could wake).
const TICK: Duration = Duration::from_millis(50);

/// A media server on 127.0.0.1 that answers SSDP and serves its description.
pub struct SimulatedMediaServer {
    http: SocketAddr,
    ssdp: SocketAddr,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl SimulatedMediaServer {
    /// Starts it, with `friendly_name` in its description.
    pub fn start(friendly_name: &str) -> std::io::Result<SimulatedMediaServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let http = listener.local_addr()?;
        let udp = UdpSocket::bind("127.0.0.1:0")?;
        udp.set_read_timeout(Some(TICK))?;
        let ssdp = udp.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let description = format!(
            "<?xml version=\"1.0\"?><root xmlns=\"urn:schemas-upnp-org:device-1-0\"><specVersion><major>1</major>\
             <minor>0</minor></specVersion><device><deviceType>urn:schemas-upnp-org:device:MediaServer:1</deviceType>\
             <friendlyName>{}</friendlyName><manufacturer>Simulated</manufacturer><modelName>Media</modelName>\
             <UDN>uuid:5d1c0000-0000-0000-0000-00000000beef</UDN><serviceList><service>\
             <serviceType>urn:schemas-upnp-org:service:ContentDirectory:1</serviceType>\
             <serviceId>urn:upnp-org:serviceId:ContentDirectory</serviceId><controlURL>/ctl/cd</controlURL>\
             <eventSubURL>/evt/cd</eventSubURL><SCPDURL>/cd.xml</SCPDURL></service></serviceList></device></root>",
            super::xml::escape(friendly_name)
        );
        let http_thread = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("sim media http".to_owned())
                .spawn(move || serve_http(&listener, &description, &stop))?
        };
        let ssdp_thread = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("sim media ssdp".to_owned())
                .spawn(move || serve_ssdp(&udp, http, &stop))?
        };
        Ok(SimulatedMediaServer {
            http,
            ssdp,
            stop,
            threads: vec![http_thread, ssdp_thread],
        })
    }

    /// Where it answers M-SEARCH (unicast; use as a discovery search address).
    pub fn ssdp_addr(&self) -> SocketAddr {
        self.ssdp
    }

    /// Its description URL.
    pub fn description_url(&self) -> String {
        format!("http://{}/desc.xml", self.http)
    }
}

impl Drop for SimulatedMediaServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn serve_http(listener: &TcpListener, description: &str, stop: &AtomicBool) {
    while !stop.load(Ordering::Acquire) {
        match listener.accept() {
            Ok((stream, _)) => answer_http(stream, description),
            Err(_) => std::thread::sleep(TICK),
        }
    }
}

fn answer_http(mut stream: TcpStream, description: &str) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut head = [0u8; 2048];
    let _ = stream.read(&mut head);
    let reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{description}",
        description.len()
    );
    let _ = stream.write_all(reply.as_bytes());
}

fn serve_ssdp(socket: &UdpSocket, http: SocketAddr, stop: &AtomicBool) {
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Acquire) {
        let Ok((length, sender)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let text = String::from_utf8_lossy(&buf[..length]);
        // A media server answers the searches for everything, and for itself; never a gateway's.
        let st = text
            .lines()
            .find_map(|l| l.split_once(':').filter(|(n, _)| n.trim().eq_ignore_ascii_case("st")))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default();
        let answers = matches!(
            st.as_str(),
            "ssdp:all" | "upnp:rootdevice" | "urn:schemas-upnp-org:device:MediaServer:1"
        );
        if !sender.ip().is_loopback() || !text.starts_with("M-SEARCH") || !answers {
            continue;
        }
        let reply = format!(
            "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nST: urn:schemas-upnp-org:device:MediaServer:1\r\n\
             USN: uuid:5d1c0000-0000-0000-0000-00000000beef::urn:schemas-upnp-org:device:MediaServer:1\r\n\
             EXT:\r\nSERVER: Linux UPnP/1.0 SimMedia/1\r\nLOCATION: http://{http}/desc.xml\r\n\r\n"
        );
        let _ = socket.send_to(reply.as_bytes(), sender);
    }
}
