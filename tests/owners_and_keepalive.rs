//! The command line's owner column, `disable-all --stale` and `keep`, against the simulated
//! gateway on 127.0.0.1. The simulator sees this computer as 127.0.0.1, so mappings to it are
//! looked up among this machine's sockets; the listeners are opened by the test itself.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use portforward::simulator::{SimConfig, SimMapping, SimulatedGateway};

fn sim_mapping(port: u16, protocol: &str, client: &str, internal_port: u16) -> SimMapping {
    SimMapping {
        internal_port,
        description: format!("app {port}"),
        ..SimMapping::new(port, protocol, client)
    }
}

fn cli(sim: &SimulatedGateway, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portforward"))
        .arg("--gateway")
        .arg(sim.description_url())
        .args(args)
        .output()
        .expect("run portforward")
}

/// A port nothing on 127.0.0.1 listens on (bound, then let go).
fn unused_port() -> u16 {
    portforward::open_local_port(portforward::Protocol::Tcp)
        .expect("a free port")
        .get()
}

#[test]
fn list_names_the_process_behind_each_mapping_and_marks_stale_ones() {
    let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let sim = SimulatedGateway::start(SimConfig::default()).unwrap();
    sim.insert(sim_mapping(20001, "TCP", "127.0.0.1", tcp.local_addr().unwrap().port()));
    sim.insert(sim_mapping(20002, "UDP", "127.0.0.1", udp.local_addr().unwrap().port()));
    sim.insert(sim_mapping(20003, "TCP", "127.0.0.1", unused_port()));
    sim.insert(sim_mapping(20004, "TCP", "192.168.1.20", 80));

    let out = cli(&sim, &["list", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let owner = |port: u64| {
        rows.iter()
            .find(|r| r["external_port"] == port)
            .map(|r| r["owner"].clone())
            .unwrap()
    };
    let me = u64::from(std::process::id());
    for port in [20001, 20002] {
        let o = owner(port);
        assert_eq!(o["kind"], "process", "{o}");
        assert_eq!(o["pid"], me, "{o}");
        assert!(!o["name"].as_str().unwrap().is_empty());
    }
    assert_eq!(owner(20003), serde_json::json!({ "kind": "stale" }));
    assert_eq!(
        owner(20004)["kind"],
        "unknown",
        "no name from the hosts file; no DNS query without --reverse-dns"
    );

    let out = cli(&sim, &["list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().next().unwrap().contains("OWNER"), "{text}");
    assert!(text.contains(&format!("(pid {me})")), "{text}");
    let stale_line = text.lines().find(|l| l.contains("20003")).unwrap();
    assert!(stale_line.contains("STALE"), "{stale_line}");
}

#[test]
fn disable_all_stale_previews_then_removes_only_the_stale_ones() {
    let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let sim = SimulatedGateway::start(SimConfig::default()).unwrap();
    sim.insert(sim_mapping(21001, "TCP", "127.0.0.1", tcp.local_addr().unwrap().port()));
    sim.insert(sim_mapping(21002, "TCP", "127.0.0.1", unused_port()));
    sim.insert(sim_mapping(21003, "UDP", "127.0.0.1", unused_port()));
    sim.insert(sim_mapping(21004, "TCP", "192.168.1.20", 80));

    let out = cli(&sim, &["disable-all", "--stale", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let preview: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ports: Vec<u64> = preview["would_remove"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["external_port"].as_u64().unwrap())
        .collect();
    assert_eq!(ports, [21002, 21003]);
    assert_eq!(sim.mappings().len(), 4, "a preview changes nothing");

    // Filters narrow the stale set further.
    let out = cli(&sim, &["disable-all", "--stale", "--protocol", "UDP", "--yes"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let left: Vec<u16> = sim.mappings().iter().map(|m| m.external_port).collect();
    assert_eq!(left, [21001, 21002, 21004]);
}

/// Lines of a child's stdout, as they come.
fn lines_of(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().unwrap();
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}

/// Waits (bounded) for a line containing `text`.
fn wait_for(lines: &mpsc::Receiver<String>, text: &str) -> String {
    loop {
        match lines.recv_timeout(Duration::from_secs(20)) {
            Ok(line) if line.contains(text) => return line,
            Ok(_) => {}
            Err(e) => panic!("no line with {text:?}: {e}"),
        }
    }
}

#[test]
fn keep_renews_recreates_after_a_reboot_and_removes_on_ctrl_c() {
    let sim = SimulatedGateway::start(SimConfig::default()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_portforward"))
        .args(["--gateway", &sim.description_url(), "--json", "keep"])
        .args([
            "--external-port",
            "22001",
            "--internal-port",
            "22002",
            "--duration",
            "2",
        ])
        .arg("--remove-on-exit")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let lines = lines_of(&mut child);
    let first: serde_json::Value = serde_json::from_str(&wait_for(&lines, "external_ip")).unwrap();
    assert_eq!(first["external_port"], 22001);
    // A 2 s lease is renewed every second.
    let renewed: serde_json::Value = serde_json::from_str(&wait_for(&lines, "renewed")).unwrap();
    assert_eq!(renewed["internal_port"], 22002);

    // The router reboots with an empty table: the mapping comes back.
    sim.restart(false);
    let recreated: serde_json::Value = serde_json::from_str(&wait_for(&lines, "recreated")).unwrap();
    assert_eq!(recreated["external_port"], 22001);
    assert!(sim.mappings().iter().any(|m| m.external_port == 22001));

    // Ctrl-C: the mapping is removed and the command ends successfully.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let stopped: serde_json::Value = serde_json::from_str(&wait_for(&lines, "stopped")).unwrap();
    assert_eq!(stopped["removed"][0]["external_port"], 22001);
    assert!(child.wait().unwrap().success());
    assert!(sim.mappings().is_empty(), "{:?}", sim.mappings());
}
