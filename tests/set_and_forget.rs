//! Issue 15, "set and forget", against the simulated gateway on 127.0.0.1: the port defaults a
//! user expects (library and command line), the login-time registration written under a
//! temporary home, and `keep --preset` on its own.

use std::net::Ipv4Addr;

use portforward::simulator::{SimConfig, SimulatedGateway};
use portforward::upnp::GatewayOptions;
use portforward::{EnableRequest, Port, PortForwarder, Protocol};

fn port(p: u16) -> Port {
    Port::new(p).unwrap()
}

fn igd(version: u8) -> SimulatedGateway {
    SimulatedGateway::start(SimConfig {
        igd_version: version,
        ..SimConfig::default()
    })
    .expect("the simulator starts")
}

fn forwarder(sim: &SimulatedGateway) -> PortForwarder {
    PortForwarder::connect(&sim.description_url(), &GatewayOptions::default()).expect("connect")
}

#[test]
fn an_external_port_alone_is_forwarded_to_the_same_internal_port() {
    for version in [1, 2] {
        let sim = igd(version);
        let f = forwarder(&sim);
        for internal_ip in [None, Some(Ipv4Addr::new(192, 168, 1, 20))] {
            let request = EnableRequest {
                external_port: Some(port(25565)),
                internal_ip,
                protocol: Protocol::Udp,
                ..EnableRequest::default()
            };
            let enabled = f.enable(&request).unwrap();
            assert_eq!(
                enabled.request.internal_port,
                port(25565),
                "IGD:{version} {internal_ip:?}"
            );
            assert_eq!(enabled.mapping.internal_port, port(25565), "as the router lists it");
            assert_eq!(
                request.explain(&enabled).as_deref(),
                Some("internal port 25565: the same as the external port")
            );
            f.disable(None, None).unwrap();
        }
    }
}

#[test]
fn with_no_port_one_free_port_serves_both_sides() {
    for version in [1, 2] {
        let sim = igd(version);
        let f = forwarder(&sim);
        let request = EnableRequest::default();
        let enabled = f.enable(&request).unwrap();
        let chosen = enabled.request.external_port;
        assert_eq!(enabled.request.internal_port, chosen, "IGD:{version}");
        assert_eq!(sim.mappings()[0].internal_port, chosen.get());
        assert_eq!(
            request.explain(&enabled),
            Some(format!(
                "port {chosen} for both sides: free on the router and behind it"
            ))
        );
        // An internal port alone is used outside too, when the router has it free.
        let request = EnableRequest {
            internal_port: Some(port(40123)),
            ..EnableRequest::default()
        };
        let enabled = f.enable(&request).unwrap();
        assert_eq!(enabled.request.external_port, port(40123), "IGD:{version}");
        assert_eq!(
            request.explain(&enabled).as_deref(),
            Some("external port 40123: the same as the internal port")
        );
        let both = EnableRequest {
            external_port: Some(port(40200)),
            internal_port: Some(port(40201)),
            ..EnableRequest::default()
        };
        assert_eq!(both.explain(&f.enable(&both).unwrap()), None, "nothing was chosen");
    }
}

fn cli(sim: &SimulatedGateway, args: &[&str]) -> std::process::Output {
    let url = sim.description_url();
    let mut all = vec!["--gateway", url.as_str()];
    all.extend_from_slice(args);
    std::process::Command::new(env!("CARGO_BIN_EXE_portforward"))
        .args(&all)
        .output()
        .expect("run portforward")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pfw-forget-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_readme_minecraft_example_forwards_25565_to_25565_and_says_so() {
    let sim = igd(2);
    let args = [
        "enable",
        "--external-port",
        "25565",
        "--protocol",
        "udp",
        "--description",
        "Minecraft",
    ];
    let out = cli(&sim, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains(":25565 -> 127.0.0.1:25565 UDP \"Minecraft\""), "{said}");
    assert!(
        said.contains("internal port 25565: the same as the external port"),
        "{said}"
    );
    let row = &sim.mappings()[0];
    assert_eq!((row.external_port, row.internal_port), (25565, 25565));

    let mut json_args = args.to_vec();
    json_args.push("--json");
    let out = cli(&sim, &json_args);
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["internal_port"], 25565);
    assert_eq!(line["chosen"], "internal port 25565: the same as the external port");
}

#[test]
fn enable_names_the_process_already_listening_on_the_port_or_says_nothing_does() {
    let sim = igd(2);
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    let busy = socket.local_addr().unwrap().port().to_string();
    let out = cli(&sim, &["enable", "--external-port", &busy, "--protocol", "udp"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains(&format!("(pid {}) already listens on {busy}/UDP", std::process::id())),
        "{said}"
    );
    let out = cli(
        &sim,
        &["--json", "enable", "--external-port", &busy, "--protocol", "udp"],
    );
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["owner"]["kind"], "process", "{line}");
    assert_eq!(line["owner"]["pid"], std::process::id(), "{line}");
    drop(socket);

    // With no port at all: one free port for both sides, and nothing listens there yet.
    let out = cli(&sim, &["enable"]);
    let said = text(&out.stdout);
    assert!(
        said.contains("for both sides: free on the router and behind it"),
        "{said}"
    );
    assert!(said.contains("nothing on this computer listens on"), "{said}");
}

/// A preset "Minecraft server" (TCP and UDP 41565 to this computer) in a fresh config dir.
fn config_with_preset(name: &str) -> std::path::PathBuf {
    use portforward::services::presets::{Preset, PresetMapping, PresetStore, PresetTarget};
    let dir = temp_dir(name);
    let mut store = PresetStore::open(dir.join("config/presets.json")).unwrap();
    let mut preset = Preset::new("Minecraft server").unwrap();
    for protocol in Protocol::ALL {
        preset.mappings.push(PresetMapping::same_port(
            port(41565),
            protocol,
            PresetTarget::ThisComputer,
        ));
    }
    store.save(preset, None).unwrap();
    dir
}

fn autostart(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let config = dir.join("config");
    let data = dir.join("data");
    std::process::Command::new(env!("CARGO_BIN_EXE_portforward"))
        .env("PORTFORWARD_HOME", dir.join("home"))
        .args([
            "--config-dir",
            config.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ])
        .args(args)
        .output()
        .expect("run portforward")
}

#[test]
fn autostart_registers_reports_and_removes_the_job_under_a_temporary_home() {
    let dir = config_with_preset("autostart");
    let home = dir.join("home");
    let out = autostart(
        &dir,
        &[
            "autostart",
            "enable",
            "--preset",
            "Minecraft server",
            "--format",
            "systemd",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    let unit = home
        .join(".config/systemd/user")
        .join(portforward::services::autostart::unit_name("Minecraft server"));
    assert!(said.contains("kept forwarded from your next login on"), "{said}");
    assert!(said.contains(&unit.display().to_string()), "{said}");
    assert!(
        said.contains("systemctl --user start portforward-keep-minecraft-server-"),
        "{said}"
    );
    let contents = std::fs::read_to_string(&unit).unwrap();
    let exec = format!(
        "ExecStart=\"{}\" \"--config-dir\" \"{}\" \"--data-dir\" \"{}\" \"keep\" \"--preset\" \"Minecraft server\"\n",
        env!("CARGO_BIN_EXE_portforward"),
        dir.join("config").display(),
        dir.join("data").display()
    );
    assert!(contents.contains(&exec), "{contents}");
    if std::path::Path::new("/usr/bin/systemd-analyze").exists() {
        let verify = std::process::Command::new("systemd-analyze")
            .args(["verify"])
            .arg(&unit)
            .output()
            .unwrap();
        assert!(
            verify.status.success() && verify.stderr.is_empty(),
            "{}",
            text(&verify.stderr)
        );
    } else {
        eprintln!("SKIPPED systemd-analyze verify: not installed (Debian package systemd)");
    }
    assert!(
        home.join(".config/systemd/user/default.target.wants")
            .read_dir()
            .unwrap()
            .count()
            == 1
    );

    let out = autostart(&dir, &["autostart", "status"]);
    let said = text(&out.stdout);
    assert!(
        said.contains("Minecraft server: at login (systemd user unit: "),
        "{said}"
    );
    assert!(said.contains("not running now"), "{said}");

    // Registered again as an XDG entry, it replaces the unit.
    let out = autostart(
        &dir,
        &[
            "--json",
            "autostart",
            "enable",
            "--preset",
            "Minecraft server",
            "--format",
            "xdg",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["enabled"]["format"], "xdg-autostart");
    assert!(!unit.exists());
    let out = autostart(&dir, &["--json", "autostart", "status"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    assert!(home.join(".config/autostart").read_dir().unwrap().count() == 1);

    // An unknown preset is refused, naming the ones there are.
    let out = autostart(&dir, &["autostart", "enable", "--preset", "Nope"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("the presets are: Minecraft server"),
        "{}",
        text(&out.stderr)
    );

    let out = autostart(&dir, &["autostart", "disable", "--preset", "Minecraft server"]);
    assert!(
        text(&out.stdout).contains("is no longer kept at login"),
        "{}",
        text(&out.stdout)
    );
    let out = autostart(&dir, &["autostart", "status"]);
    assert!(
        text(&out.stdout).contains("no preset is kept at login"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(home.join(".config/autostart").read_dir().unwrap().count(), 0);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A running `portforward … keep --preset`, its JSON lines read on a thread.
struct KeepProcess {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl KeepProcess {
    fn start(sim: &SimulatedGateway, dir: &std::path::Path, extra: &[&str]) -> KeepProcess {
        use std::io::BufRead;
        let config = dir.join("config");
        let data = dir.join("data");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_portforward"))
            .args(["--gateway", &sim.description_url(), "--json"])
            .args([
                "--config-dir",
                config.to_str().unwrap(),
                "--data-dir",
                data.to_str().unwrap(),
            ])
            .args(["keep", "--preset", "Minecraft server", "--check-every", "0.3"])
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        KeepProcess { child, lines }
    }

    /// Waits for a line with each of `events` ("event" field), in order of arrival.
    fn wait_for(&self, events: &[&str]) -> Vec<serde_json::Value> {
        let mut missing = events.to_vec();
        let mut seen = Vec::new();
        while !missing.is_empty() {
            let line = self
                .lines
                .recv_timeout(std::time::Duration::from_secs(30))
                .unwrap_or_else(|e| panic!("still waiting for {missing:?} ({e}); saw {seen:#?}"));
            let value: serde_json::Value = serde_json::from_str(&line).unwrap();
            if let Some(i) = missing.iter().position(|m| value["event"] == *m) {
                missing.remove(i);
            }
            seen.push(value);
        }
        seen
    }

    fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args([name, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

fn rows(sim: &SimulatedGateway) -> Vec<(u16, String, u16)> {
    let mut rows: Vec<_> = sim
        .mappings()
        .into_iter()
        .map(|m| (m.external_port, m.protocol, m.internal_port))
        .collect();
    rows.sort();
    rows
}

#[test]
fn keep_preset_recreates_after_a_reboot_and_stops_on_sigterm_leaving_the_mappings() {
    let sim = igd(2);
    let dir = config_with_preset("keep");
    let both = vec![(41565, "TCP".to_owned(), 41565), (41565, "UDP".to_owned(), 41565)];
    let keep = KeepProcess::start(&sim, &dir, &[]);
    keep.wait_for(&["started", "connected", "recreated", "recreated"]);
    assert_eq!(rows(&sim), both);

    // The state file marks them for the window, and status sees the job.
    let states = portforward::services::keep_preset::KeepJobState::read_all(&dir.join("data"));
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].pid, keep.child.id());
    assert_eq!(states[0].mappings.len(), 2);
    let out = autostart(
        &dir,
        &["autostart", "enable", "--preset", "Minecraft server", "--format", "xdg"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = autostart(&dir, &["autostart", "status"]);
    let said = text(&out.stdout);
    assert!(
        said.contains(&format!("running now (pid {}), keeping 2 mappings", keep.child.id())),
        "{said}"
    );
    // A second job for the same preset is refused.
    let second = KeepProcess::start(&sim, &dir, &[]).child.wait_with_output().unwrap();
    assert!(!second.status.success());

    sim.restart(false);
    assert!(sim.mappings().is_empty());
    keep.wait_for(&["recreated", "recreated"]);
    assert_eq!(rows(&sim), both);

    keep.signal("-TERM");
    let stopped = keep.wait_for(&["stopped"]);
    assert_eq!(stopped.last().unwrap()["removed"], serde_json::json!([]));
    let KeepProcess { mut child, .. } = keep;
    assert!(child.wait().unwrap().success());
    assert_eq!(rows(&sim), both, "SIGTERM leaves the mappings");
    assert!(portforward::services::keep_preset::KeepJobState::read_all(&dir.join("data")).is_empty());
    let logs: Vec<_> = std::fs::read_dir(dir.join("data/keep")).unwrap().flatten().collect();
    assert_eq!(logs.len(), 1, "the log stays, the state file went: {logs:?}");
    let log = std::fs::read_to_string(logs[0].path()).unwrap();
    assert!(
        log.contains("was no longer on the router (rebooted?): created again"),
        "{log}"
    );

    // With --remove-on-exit, Ctrl-C removes them.
    let keep = KeepProcess::start(&sim, &dir, &["--remove-on-exit"]);
    keep.wait_for(&["connected", "renewed", "renewed"]);
    keep.signal("-INT");
    let stopped = keep.wait_for(&["stopped"]);
    assert_eq!(stopped.last().unwrap()["removed"].as_array().unwrap().len(), 2);
    let KeepProcess { mut child, .. } = keep;
    assert!(child.wait().unwrap().success());
    assert!(sim.mappings().is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}
