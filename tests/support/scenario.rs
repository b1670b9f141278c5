//! Hostile- and quirky-gateway scenarios as data: one TOML file per scenario under
//! `tests/scenarios/`, read here and run against the simulated gateway. Shared by the library
//! suite (`tests/scenarios.rs`) and the window's suite (`src/gui/tests.rs`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use portforward::simulator::{Fault, MINIUPNPD_SERVER, SimConfig, SimMapping, SimService, SimulatedGateway};
use serde::Deserialize;

/// One scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario is about, in a sentence.
    pub about: String,
    /// The gateway to build.
    pub gateway: GatewaySpec,
    /// What the client does.
    pub run: RunSpec,
    /// What must come of it.
    pub expect: Expect,
    /// The file name, filled in when loaded.
    #[serde(skip)]
    pub name: String,
}

/// The simulated gateway of a scenario.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct GatewaySpec {
    /// 1 or 2 (default 2).
    pub igd_version: Option<u8>,
    /// "ip" (default) or "ppp".
    pub service: Option<String>,
    /// Entries per GetListOfPortMappings reply.
    pub list_page_limit: Option<usize>,
    /// The HTTP `Server` header (default miniupnpd's, whose short pages are trusted as the last).
    pub server: Option<String>,
    /// Plain mappings to seed (ports 40000…).
    #[serde(default)]
    pub seed: u16,
    /// Specific mappings to seed.
    #[serde(default)]
    pub mappings: Vec<SeedMapping>,
    /// Misbehaviour, applied once the gateway is seeded.
    #[serde(default)]
    pub faults: Vec<Fault>,
}

/// A seeded mapping.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedMapping {
    /// External (and internal) port.
    pub port: u16,
    /// Its description.
    pub description: String,
}

/// What the client does.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// connect | list | external_ip | status | discover
    pub action: String,
    /// The per-request deadline (default 2000 ms).
    pub request_timeout_ms: Option<u64>,
    /// The discovery bound (default 1000 ms).
    pub discovery_timeout_ms: Option<u64>,
}

/// The outcome that must come.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// An error of this kind (Error variant name).
    pub error: Option<String>,
    /// Text the error message must contain.
    pub message: Option<String>,
    /// The number of mappings listed.
    pub mappings: Option<usize>,
    /// "ListCall" or "Walk".
    pub method: Option<String>,
    /// Text one warning must contain.
    pub warning: Option<String>,
    /// No warning at all.
    #[serde(default)]
    pub no_warnings: bool,
    /// The descriptions listed, in port order.
    pub descriptions: Option<Vec<String>>,
    /// The service type chosen.
    pub service: Option<String>,
    /// "IGD:1" or "IGD:2".
    pub igd_version: Option<String>,
}

impl Scenario {
    /// Every scenario under `tests/scenarios/`, by file name.
    pub fn all() -> Vec<Scenario> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("tests/scenarios")
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        paths
            .into_iter()
            .map(|path| {
                let text = std::fs::read_to_string(&path).unwrap();
                let mut scenario: Scenario =
                    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                scenario.name = path.file_stem().unwrap().to_string_lossy().into_owned();
                scenario
            })
            .collect()
    }

    /// Starts its gateway, seeded, faults on.
    pub fn start_gateway(&self) -> SimulatedGateway {
        let g = &self.gateway;
        let sim = SimulatedGateway::start(SimConfig {
            igd_version: g.igd_version.unwrap_or(2),
            service: match g.service.as_deref() {
                Some("ppp") => SimService::WanPppConnection,
                _ => SimService::WanIpConnection,
            },
            list_page_limit: g.list_page_limit.unwrap_or(1000),
            server: g.server.clone().unwrap_or_else(|| MINIUPNPD_SERVER.to_owned()),
            ..SimConfig::default()
        })
        .expect("simulator");
        for i in 0..g.seed {
            sim.insert(mapping(40000 + i, &format!("seed {i}")));
        }
        for m in &g.mappings {
            sim.insert(mapping(m.port, &m.description));
        }
        sim.set_faults(g.faults.clone());
        sim
    }

    /// The per-request deadline.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.run.request_timeout_ms.unwrap_or(2000))
    }

    /// The discovery bound.
    pub fn discovery_timeout(&self) -> Duration {
        Duration::from_millis(self.run.discovery_timeout_ms.unwrap_or(1000))
    }
}

fn mapping(port: u16, description: &str) -> SimMapping {
    SimMapping {
        description: description.into(),
        ..SimMapping::new(port, "TCP", "192.168.1.30")
    }
}
