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
    // Wine reports PID 0 for every socket's owner: the listeners are found (not stale) but
    // their process cannot be named, which is "unknown" (Windows itself names them).
    let wine = portforward::simulator::running_under_wine();
    for port in [20001, 20002] {
        let o = owner(port);
        if wine {
            assert_eq!(o, serde_json::json!({ "kind": "unknown" }), "under Wine");
            continue;
        }
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
    if !wine {
        assert!(text.contains(&format!("(pid {me})")), "{text}");
    }
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

/// Sends the child what Ctrl-C in its terminal would: SIGINT on Unix; on Windows Ctrl-Break to
/// its process group (the child is started in a group of its own, see `own_process_group`).
/// Fails on Windows when there is no console to carry it (Wine run without a terminal).
fn interrupt(child: &std::process::Child) -> Result<(), String> {
    #[cfg(unix)]
    {
        unsafe extern "C" {
            fn kill(pid: i32, signal: i32) -> i32;
        }
        const SIGINT: i32 = 2;
        let pid = i32::try_from(child.id()).map_err(|e| e.to_string())?;
        // SAFETY: plain system call on our own child's PID.
        if unsafe { kill(pid, SIGINT) } != 0 {
            return Err(std::io::Error::last_os_error().to_string());
        }
        Ok(())
    }
    #[cfg(windows)]
    {
        #[link(name = "kernel32")]
        unsafe extern "system" {
            fn GenerateConsoleCtrlEvent(event: u32, process_group: u32) -> i32;
        }
        const CTRL_BREAK_EVENT: u32 = 1;
        // SAFETY: plain call; the group ID is the child's PID (CREATE_NEW_PROCESS_GROUP).
        if unsafe { GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, child.id()) } == 0 {
            return Err(format!(
                "no console to send Ctrl-Break through: {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(())
    }
}

/// Windows: the child gets a process group of its own, so Ctrl-Break reaches it and not us.
fn own_process_group(command: &mut Command) -> &mut Command {
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
        command.creation_flags(CREATE_NEW_PROCESS_GROUP)
    }
    #[cfg(not(windows))]
    {
        command
    }
}

#[test]
fn keep_renews_recreates_after_a_reboot_and_removes_on_ctrl_c() {
    let sim = SimulatedGateway::start(SimConfig::default()).unwrap();
    let mut child = own_process_group(&mut Command::new(env!("CARGO_BIN_EXE_portforward")))
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
    if let Err(why) = interrupt(&child) {
        // Only where no console can carry the event (Wine without a terminal, see `interrupt`).
        eprintln!("skipped the Ctrl-C half: {why}");
        child.kill().unwrap();
        child.wait().unwrap();
        return;
    }
    let stopped: serde_json::Value = serde_json::from_str(&wait_for(&lines, "stopped")).unwrap();
    assert_eq!(stopped["removed"][0]["external_port"], 22001);
    assert!(child.wait().unwrap().success());
    assert!(sim.mappings().is_empty(), "{:?}", sim.mappings());
}
