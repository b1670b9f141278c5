//! macOS: this computer's receiving sockets and their processes, from `lsof`'s field output
//! (`-F`), which macOS ships at `/usr/sbin/lsof`. Crates that read the socket table natively
//! (netstat2, libproc) need Apple's SDK to build; lsof needs nothing, and its field output is
//! the same on every system, so the parser here is tested on Linux with real captures.
//!
//! lsof lists only the processes this user may look into (all of them as root): a socket of
//! another user's process is missing from its output, so mod.rs probes a mapped port that no
//! listed socket serves before calling it stale (`LISTS_EVERY_SOCKET`).
//!
//! `-n -P` keep lsof from looking up host and port names (no DNS query leaves the computer).

use std::collections::HashSet;
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::OpenSocket;
use crate::model::Protocol;

/// Where macOS keeps lsof (an absolute path: not whatever `lsof` comes first on PATH).
#[cfg(target_os = "macos")]
const LSOF: &str = "/usr/sbin/lsof";

/// How long lsof may take before we give up (owners are then unknown). It reads the process
/// table, which takes well under a second even on a busy computer.
const DEADLINE: Duration = Duration::from_secs(10);

/// The receiving sockets of these protocols with their processes, from lsof.
#[cfg(target_os = "macos")]
pub(super) fn receiving_sockets(protocols: &HashSet<Protocol>) -> io::Result<Vec<(OpenSocket, u32)>> {
    receiving_sockets_from(Path::new(LSOF), protocols)
}

/// lsof attached the processes already.
#[cfg(target_os = "macos")]
pub(super) fn attach_pids(_: &mut [(OpenSocket, u32)]) {}

/// [`receiving_sockets`] with the lsof at `program`: one run per protocol (lsof's state
/// filter, `-sTCP:LISTEN`, would drop UDP sockets from a combined run).
fn receiving_sockets_from(program: &Path, protocols: &HashSet<Protocol>) -> io::Result<Vec<(OpenSocket, u32)>> {
    let mut sockets = Vec::new();
    for protocol in [Protocol::Tcp, Protocol::Udp] {
        if !protocols.contains(&protocol) {
            continue;
        }
        let select: &[&str] = match protocol {
            Protocol::Tcp => &["-iTCP", "-sTCP:LISTEN"],
            Protocol::Udp => &["-iUDP"],
        };
        let output = run(program, select)?;
        sockets.extend(parse(&output).into_iter().map(|socket| (socket, 0)));
    }
    Ok(sockets)
}

/// Runs lsof with these selections and returns its field output. lsof exits 1 both when
/// nothing matched and on errors; only the first, with nothing on stderr (`-w` silences its
/// warnings), is an answer.
fn run(program: &Path, select: &[&str]) -> io::Result<String> {
    let mut child = Command::new(program)
        .args(["-nP", "-w", "-FpPtnT"])
        .args(select)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run {}: {e}", program.display())))?;
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                // Not UTF-8 (a strange file name) only loses that line's socket.
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes);
                text = String::from_utf8_lossy(&bytes).into_owned();
            }
            text
        })
    };
    let stdout = read(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = read(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{} did not answer within {} s", program.display(), DEADLINE.as_secs()),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    match status.code() {
        Some(0) => Ok(stdout),
        Some(1) if stderr.trim().is_empty() => Ok(stdout),
        _ => Err(io::Error::other(format!(
            "{} failed ({status}): {}",
            program.display(),
            stderr.lines().next().unwrap_or("no message")
        ))),
    }
}

/// The receiving sockets in lsof's field output (`-F` with at least `p`, `P`, `t`, `n`; `T`
/// for the TCP state). Each line is a field: its letter, then its value. `p` starts a process;
/// its files follow, each opened by `f` where lsof prints it (or else by a field the file
/// already has). What is not a TCP listener or a bound UDP socket with a port is left out.
fn parse(output: &str) -> Vec<OpenSocket> {
    let mut sockets = Vec::new();
    let mut pid: Option<u32> = None;
    let mut file = FileFields::default();
    for line in output.lines() {
        let mut chars = line.chars();
        let Some(field) = chars.next() else { continue };
        let value = chars.as_str();
        let repeated = match field {
            'P' => file.protocol.is_some(),
            't' => file.family.is_some(),
            'n' => file.name.is_some(),
            'T' => value.starts_with("ST=") && file.state.is_some(),
            _ => false,
        };
        if matches!(field, 'p' | 'f') || repeated {
            sockets.extend(std::mem::take(&mut file).socket(pid));
        }
        match field {
            'p' => pid = value.parse().ok(),
            'P' => file.protocol = Some(value.to_owned()),
            't' => file.family = Some(value.to_owned()),
            'n' => file.name = Some(value.to_owned()),
            'T' => {
                if let Some(state) = value.strip_prefix("ST=") {
                    file.state = Some(state.to_owned());
                }
            }
            _ => {}
        }
    }
    sockets.extend(file.socket(pid));
    sockets
}

/// The fields of one open file, as lsof printed them.
#[derive(Debug, Default)]
struct FileFields {
    protocol: Option<String>,
    family: Option<String>,
    name: Option<String>,
    state: Option<String>,
}

impl FileFields {
    /// The socket this file is, if it is a receiving TCP or UDP socket with an address and a
    /// port, held by `pid`.
    fn socket(self, pid: Option<u32>) -> Option<OpenSocket> {
        let protocol = match self.protocol.as_deref()? {
            "TCP" => Protocol::Tcp,
            "UDP" => Protocol::Udp,
            _ => return None,
        };
        let ipv6 = self.family.as_deref() == Some("IPv6");
        // "local->remote" for a connection: the local end is what a mapping reaches.
        let name = self.name?;
        let local = name.split("->").next()?;
        let (host, port) = local.rsplit_once(':')?;
        let port: u16 = port.parse().ok()?;
        let addr = match host {
            "*" if ipv6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            "*" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            _ => {
                let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
                // A scope ("%en0") is not part of the address.
                match host.split('%').next()?.parse().ok()? {
                    IpAddr::V6(v6) => IpAddr::V6(without_embedded_scope(v6)),
                    v4 => v4,
                }
            }
        };
        // The TCP selection asks for listeners only; a state, where printed, must agree.
        let receiving = match protocol {
            Protocol::Tcp => self.state.as_deref().is_none_or(|state| state == "LISTEN"),
            Protocol::Udp => true,
        };
        Some(OpenSocket {
            protocol,
            addr,
            port,
            receiving,
            pids: pid.into_iter().collect(),
        })
        .filter(|socket| socket.receiving)
    }
}

/// The BSD kernels keep a link-local address's scope (the interface index) in its second
/// 16-bit group, and macOS's lsof prints it so (`fe80:4::1` is `fe80::1` on interface 4).
fn without_embedded_scope(addr: Ipv6Addr) -> Ipv6Addr {
    let mut segments = addr.segments();
    if segments[0] & 0xffc0 == 0xfe80 {
        segments[1] = 0;
    }
    Ipv6Addr::from(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn socket(protocol: Protocol, addr: &str, port: u16, pid: u32) -> OpenSocket {
        OpenSocket {
            protocol,
            addr: addr.parse().unwrap(),
            port,
            receiving: true,
            pids: vec![pid],
        }
    }

    #[test]
    fn linux_lsof_output_gives_every_listener_and_bound_udp_socket() {
        let tcp = parse(include_str!("../../../tests/fixtures/lsof/linux-tcp.txt"));
        assert_eq!(
            tcp,
            [
                socket(Protocol::Tcp, "127.0.0.1", 47011, 28440),
                socket(Protocol::Tcp, "::1", 47012, 28440),
                socket(Protocol::Tcp, "0.0.0.0", 47016, 28440),
                socket(Protocol::Tcp, "::", 47017, 28440),
            ]
        );
        let udp = parse(include_str!("../../../tests/fixtures/lsof/linux-udp.txt"));
        assert_eq!(
            udp,
            [
                socket(Protocol::Udp, "127.0.0.1", 47013, 28440),
                socket(Protocol::Udp, "::", 47014, 28440),
                // Connected, its local end still holds the port (as sock_diag counts it).
                socket(Protocol::Udp, "127.0.0.1", 47015, 28440),
            ]
        );
    }

    #[test]
    fn macos_lsof_output_gives_each_process_its_sockets() {
        let tcp = parse(include_str!("../../../tests/fixtures/lsof/macos-tcp.txt"));
        assert_eq!(
            tcp,
            [
                socket(Protocol::Tcp, "0.0.0.0", 7000, 381),
                socket(Protocol::Tcp, "::", 7000, 381),
                socket(Protocol::Tcp, "127.0.0.1", 631, 612),
                socket(Protocol::Tcp, "192.168.1.23", 25565, 4410),
            ]
        );
        let udp = parse(include_str!("../../../tests/fixtures/lsof/macos-udp.txt"));
        assert_eq!(
            udp,
            [
                // "*:*", an unbound socket, has no port and is left out.
                socket(Protocol::Udp, "0.0.0.0", 5353, 381),
                socket(Protocol::Udp, "fe80::aede:48ff:fe00:1122", 5353, 1024),
                socket(Protocol::Udp, "192.168.1.23", 50001, 1024),
            ]
        );
    }

    #[test]
    fn connections_other_protocols_and_garbage_are_left_out() {
        let output = "p7\nf3\ntIPv4\nPTCP\nn10.0.0.2:5000->10.0.0.9:40000\nTST=ESTABLISHED\n\
                      f4\ntIPv4\nPSCTP\nn*:9\nf5\ntunix\nn/tmp/socket\nf6\ntIPv4\nPTCP\nnnot an address\n\
                      pnot-a-pid\nf7\ntIPv4\nPTCP\nn*:8080\nTST=LISTEN\n";
        let sockets = parse(output);
        // The last listener's process is unreadable: the socket is there, its owner unknown.
        assert_eq!(
            sockets,
            [OpenSocket {
                protocol: Protocol::Tcp,
                addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                port: 8080,
                receiving: true,
                pids: vec![],
            }]
        );
        assert_eq!(parse(""), []);
    }

    #[test]
    fn a_missing_lsof_is_an_error_not_an_empty_table() {
        let missing = Path::new("/nonexistent/lsof");
        let err = receiving_sockets_from(missing, &HashSet::from([Protocol::Tcp])).unwrap_err();
        assert!(err.to_string().contains("cannot run /nonexistent/lsof"), "{err}");
    }

    /// The real lsof on this system (CI installs it on Linux) finds this process's sockets.
    #[cfg(unix)]
    #[test]
    fn the_real_lsof_finds_this_process_s_sockets() {
        use std::net::{TcpListener, UdpSocket};
        let lsof = ["/usr/sbin/lsof", "/usr/bin/lsof"]
            .into_iter()
            .map(Path::new)
            .find(|path| path.exists())
            .expect("lsof is installed (Debian: apt-get install lsof)");
        let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let sockets = receiving_sockets_from(lsof, &HashSet::from([Protocol::Tcp, Protocol::Udp])).unwrap();
        let me = std::process::id();
        for (protocol, port) in [
            (Protocol::Tcp, tcp.local_addr().unwrap().port()),
            (Protocol::Udp, udp.local_addr().unwrap().port()),
        ] {
            assert!(
                sockets.iter().any(|(s, _)| s.protocol == protocol
                    && s.port == port
                    && s.addr == IpAddr::V4(Ipv4Addr::LOCALHOST)
                    && s.pids == [me]),
                "{protocol:?} {port} not in {sockets:?}"
            );
        }
    }
}
