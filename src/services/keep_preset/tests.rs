use std::net::Ipv4Addr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::*;
use crate::Lease;
use crate::services::presets::{PresetMapping, PresetTarget};
use crate::simulator::{SimConfig, SimulatedGateway};

/// A hang guard, not a wait: every step below waits for an event.
const BOUND: Duration = Duration::from_secs(30);

fn port(p: u16) -> Port {
    Port::new(p).unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pfw-keep-preset-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn preset() -> Preset {
    let mut preset = Preset::new("Game server").unwrap();
    preset.mappings.push(PresetMapping {
        duration: Lease::seconds(600).unwrap(),
        ..PresetMapping::same_port(port(41001), Protocol::Tcp, PresetTarget::ThisComputer)
    });
    preset.mappings.push(PresetMapping {
        internal_port: port(8080),
        ..PresetMapping::same_port(
            port(41002),
            Protocol::Udp,
            PresetTarget::Host(Ipv4Addr::new(192, 168, 1, 20)),
        )
    });
    preset
}

/// Events as text, from the keeper's thread.
struct Running {
    events: mpsc::Receiver<String>,
    stop: StopHandle,
    thread: std::thread::JoinHandle<KeptAtExit>,
}

impl Running {
    fn start(preset: Preset, options: KeepPresetOptions) -> Running {
        let (keeper, stop) = PresetKeeper::new(preset, options).unwrap();
        let (send, events) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            keeper.run(|event| {
                let _ = send.send(event.to_string());
            })
        });
        Running { events, stop, thread }
    }

    /// Waits for an event containing each of `what`, in any order; returns the events seen.
    fn wait_for(&self, what: &[&str]) -> Vec<String> {
        let deadline = Instant::now() + BOUND;
        let mut missing: Vec<&str> = what.to_vec();
        let mut seen = Vec::new();
        while !missing.is_empty() {
            let event = self
                .events
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("still waiting for {missing:?}; saw {seen:#?}"));
            missing.retain(|m| !event.contains(m));
            seen.push(event);
        }
        seen
    }
}

fn fast() -> KeepAliveTimings {
    KeepAliveTimings {
        check_every: Duration::from_millis(300),
        retry_after: Duration::from_millis(50),
    }
}

fn on_router(sim: &SimulatedGateway) -> Vec<(u16, String, String, u16)> {
    let mut rows: Vec<_> = sim
        .mappings()
        .into_iter()
        .map(|m| (m.external_port, m.protocol, m.internal_client, m.internal_port))
        .collect();
    rows.sort();
    rows
}

fn expected() -> Vec<(u16, String, String, u16)> {
    vec![
        (41001, "TCP".into(), "127.0.0.1".into(), 41001),
        (41002, "UDP".into(), "192.168.1.20".into(), 8080),
    ]
}

#[test]
fn a_preset_is_kept_through_reboots_and_a_dead_router_and_left_in_place_on_stop() {
    let sim = SimulatedGateway::start(SimConfig::default()).unwrap();
    let data = temp_dir("reboots");
    let running = Running::start(
        preset(),
        KeepPresetOptions {
            gateway_url: Some(sim.description_url()),
            timings: fast(),
            data_dir: Some(data.clone()),
            ..KeepPresetOptions::default()
        },
    );
    running.wait_for(&["connected to", "keeping 2 mappings", "41001/TCP", "41002/UDP"]);
    assert_eq!(on_router(&sim), expected());

    // The state file says what is kept, for the window.
    let state = KeepJobState::read(&data, "Game server").expect("a running job's state");
    assert_eq!(state.pid, std::process::id());
    assert_eq!(state.gateway.as_deref(), Some(sim.description_url().as_str()));
    let keys = KeepJobState::kept_keys(&data);
    assert_eq!(keys.len(), 2);
    assert!(keys.values().all(|p| p == "Game server"));
    assert!(
        state
            .mappings
            .iter()
            .all(|m| m.status == KeptStatus::Kept && m.lease.is_some()),
        "{state:?}"
    );

    // A reboot empties the table: both are created again.
    sim.restart(false);
    assert!(sim.mappings().is_empty());
    running.wait_for(&["41001/TCP", "41002/UDP"]);
    let deadline = Instant::now() + BOUND;
    while on_router(&sim) != expected() {
        assert!(Instant::now() < deadline, "{:?}", on_router(&sim));
        running.events.recv_timeout(BOUND).expect("an event per re-creation");
    }

    // The router dies: the keeper notices, looks for it until it is back, then re-creates.
    sim.kill();
    running.wait_for(&["stopped answering", "no router"]);
    sim.restart(false);
    running.wait_for(&["connected to"]);
    let deadline = Instant::now() + BOUND;
    while on_router(&sim) != expected() {
        assert!(Instant::now() < deadline, "{:?}", on_router(&sim));
        running.events.recv_timeout(BOUND).expect("an event per re-creation");
    }

    running.stop.stop();
    let exit = running.thread.join().unwrap();
    assert_eq!(exit.mappings.len(), 2);
    assert_eq!(on_router(&sim), expected(), "stopping leaves the mappings");
    assert!(
        KeepJobState::read_all(&data).is_empty(),
        "the state file went with the job"
    );
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn a_second_keeper_of_the_same_preset_is_refused_and_stale_state_files_are_ignored() {
    let data = temp_dir("twice");
    let path = KeepJobState::path(&data, "Game server");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut state = KeepJobState {
        preset: "Game server".into(),
        pid: u32::MAX - 1,
        gateway: None,
        local_ip: None,
        updated: 0,
        mappings: Vec::new(),
    };
    std::fs::write(&path, serde_json::to_string(&state).unwrap()).unwrap();
    assert!(KeepJobState::read_all(&data).is_empty(), "its process is gone");
    let options = KeepPresetOptions {
        data_dir: Some(data.clone()),
        ..KeepPresetOptions::default()
    };
    assert!(PresetKeeper::new(preset(), options.clone()).is_ok());

    // Wine's process table does not show this process to sysinfo, so "is it running" cannot be
    // answered there: the refusal is checked on the systems that can.
    if crate::simulator::running_under_wine() {
        eprintln!("skipped under Wine: its process table does not list this test process");
        return;
    }
    // A running process (this test's parent, which outlives it) holds it: refused.
    #[cfg(unix)]
    let parent = std::os::unix::process::parent_id();
    // Windows has no std call for the parent: this test process itself is as surely running.
    #[cfg(not(unix))]
    let parent = std::process::id();
    state.pid = parent;
    std::fs::write(&path, serde_json::to_string(&state).unwrap()).unwrap();
    let err = PresetKeeper::new(preset(), options).unwrap_err();
    assert_eq!(err.pid, parent);
    assert!(
        err.to_string()
            .contains(&format!("\"Game server\" is already kept by process {parent}")),
        "{err}"
    );
    std::fs::remove_dir_all(data).unwrap();
}
