//! Keeping a preset forwarded with no window: what `portforward keep --preset NAME` (and the
//! login-time job that [`super::autostart`] registers) does.
//!
//! [`PresetKeeper::run`] connects to the router (the URL given, else discovery), creates or
//! renews every mapping of the preset, and leaves them to a [`KeepAliveService`]: renewed at
//! half their lease, re-created when the router lost them. When the router stops answering
//! (network change, sleep, the router rebooting on a new address) it finds the router again,
//! with "this computer" resolved to this computer's address on the new network. It stops
//! when its [`StopHandle`] says so, leaving the mappings on the router (the caller may remove
//! them: [`KeptAtExit`]).
//!
//! While it runs, a small state file ([`KeepJobState`], in the data directory's `keep/`)
//! lists the mappings it keeps, so that the window can mark them and leave them alone.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::services::PortForwarder;
use crate::services::autostart::file_stem;
use crate::services::keepalive::{KeepAliveEvent, KeepAliveService, KeepAliveTimings};
use crate::services::presets::Preset;
use crate::upnp::{DiscoveryOptions, GatewayOptions};
use crate::{Error, FileError, MappingKey, NewMapping, Port, Protocol};

/// How a kept mapping stands, as the state file tells the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeptStatus {
    /// Asked for; the router has not confirmed it yet.
    Pending,
    /// On the router and kept.
    Kept,
    /// The last attempt failed (see `error`); it is tried again.
    Failing,
}

/// One mapping in a [`KeepJobState`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptEntry {
    /// TCP or UDP.
    pub protocol: Protocol,
    /// The port on the router.
    pub external_port: Port,
    /// The LAN host.
    pub internal_ip: Ipv4Addr,
    /// The port on the LAN host.
    pub internal_port: Port,
    /// How it stands.
    pub status: KeptStatus,
    /// The lease the router lists, in seconds (0 = permanent), once known.
    pub lease: Option<u32>,
    /// Why the last attempt failed.
    pub error: Option<String>,
}

impl KeptEntry {
    /// The key the router knows the mapping by.
    pub fn key(&self) -> MappingKey {
        MappingKey {
            external_port: self.external_port,
            protocol: self.protocol,
            remote_host: String::new(),
        }
    }
}

/// The state file of a running keep job: `DATA_DIR/keep/portforward-keep-….json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeepJobState {
    /// The preset kept.
    pub preset: String,
    /// The job's process id (a file whose process is gone is stale).
    pub pid: u32,
    /// The router's description URL, once connected.
    pub gateway: Option<String>,
    /// This computer's address towards it.
    pub local_ip: Option<Ipv4Addr>,
    /// When the file was last written (seconds since 1970).
    pub updated: u64,
    /// The mappings kept.
    pub mappings: Vec<KeptEntry>,
}

impl KeepJobState {
    /// The state file of `preset`'s job under `data_dir`.
    pub fn path(data_dir: &Path, preset: &str) -> PathBuf {
        data_dir.join("keep").join(format!("{}.json", file_stem(preset)))
    }

    /// The state of the job keeping `preset`, if one is running (a file left by a job that
    /// died is ignored).
    pub fn read(data_dir: &Path, preset: &str) -> Option<KeepJobState> {
        read_state(&KeepJobState::path(data_dir, preset)).filter(|s| s.preset == preset && process_is_running(s.pid))
    }

    /// The states of every running job under `data_dir`, by preset name. Stale files (their
    /// process is gone) are left out.
    pub fn read_all(data_dir: &Path) -> Vec<KeepJobState> {
        let Ok(entries) = std::fs::read_dir(data_dir.join("keep")) else {
            return Vec::new();
        };
        let mut states: Vec<KeepJobState> = entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| read_state(&e.path()))
            .filter(|s| process_is_running(s.pid))
            .collect();
        states.sort_by(|a, b| a.preset.cmp(&b.preset));
        states
    }

    /// Which running job keeps each mapping: the window's marks.
    pub fn kept_keys(data_dir: &Path) -> BTreeMap<MappingKey, String> {
        KeepJobState::read_all(data_dir)
            .into_iter()
            .flat_map(|s| {
                let preset = s.preset.clone();
                s.mappings.into_iter().map(move |m| (m.key(), preset.clone()))
            })
            .collect()
    }

    fn write(&self, data_dir: &Path) -> Result<(), FileError> {
        let path = KeepJobState::path(data_dir, &self.preset);
        let dir = path.parent().expect("a state file has a directory");
        std::fs::create_dir_all(dir).map_err(|e| FileError::new("create", dir, e))?;
        let temporary = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).expect("a state serializes") + "\n";
        std::fs::write(&temporary, text).map_err(|e| FileError::new("write", &temporary, e))?;
        std::fs::rename(&temporary, &path).map_err(|e| FileError::new("write", &path, e))
    }
}

fn read_state(path: &Path) -> Option<KeepJobState> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// Whether a process with this id runs.
fn process_is_running(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    #[cfg(target_os = "linux")]
    {
        Path::new("/proc").join(pid.to_string()).exists()
    }
    #[cfg(not(target_os = "linux"))]
    {
        use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};
        // sysinfo 0.40: `System::new` fails where processes cannot be read; then say "not running".
        let Ok(mut system) = System::new() else {
            return false;
        };
        let pid = Pid::from_u32(pid);
        system.refresh_processes_specifics(ProcessesToUpdate::Some(&[pid]), true, ProcessRefreshKind::nothing());
        system.process(pid).is_some()
    }
}

fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// What the keeper did, for a log or the command line.
#[derive(Debug)]
pub enum KeeperEvent {
    /// Connected to a router; the preset's mappings are being created or renewed.
    Connected {
        /// The router's description URL.
        url: String,
        /// This computer's address towards it.
        local_ip: Ipv4Addr,
        /// The mappings kept there.
        mappings: Vec<NewMapping>,
    },
    /// No router answered (or the one given did not); tried again in `retry_in`.
    NoRouter {
        /// Why.
        error: Error,
        /// When it is tried again.
        retry_in: Duration,
    },
    /// The router stopped answering: looking for it again.
    RouterLost,
    /// What keep-alive did for one mapping.
    KeepAlive(KeepAliveEvent),
    /// The state file could not be written (the window will not mark the mappings).
    StateNotWritten(FileError),
}

impl std::fmt::Display for KeeperEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeeperEvent::Connected {
                url,
                local_ip,
                mappings,
            } => {
                write!(
                    f,
                    "connected to {url} (this computer: {local_ip}); keeping {}",
                    mappings.len()
                )?;
                f.write_str(if mappings.len() == 1 { " mapping" } else { " mappings" })
            }
            KeeperEvent::NoRouter { error, retry_in } => {
                write!(f, "no router: {error}; trying again in {} s", retry_in.as_secs())
            }
            KeeperEvent::RouterLost => f.write_str("the router stopped answering; looking for it again"),
            KeeperEvent::KeepAlive(event) => event.fmt(f),
            KeeperEvent::StateNotWritten(error) => write!(f, "warning: {error}"),
        }
    }
}

/// How to keep a preset.
#[derive(Debug, Clone, Default)]
pub struct KeepPresetOptions {
    /// The router's description URL; discovery when `None`.
    pub gateway_url: Option<String>,
    /// How to discover it.
    pub discovery: DiscoveryOptions,
    /// How often to check the mappings and retry failures.
    pub timings: KeepAliveTimings,
    /// Where the state file goes (the data directory); none when `None`.
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug)]
enum Signal {
    Stop,
    Woken,
}

/// Stops a running [`PresetKeeper`] (from a signal handler, another thread, a test).
#[derive(Debug, Clone)]
pub struct StopHandle(Sender<Signal>);

impl StopHandle {
    /// Asks the keeper to stop; it returns from [`PresetKeeper::run`] soon after.
    pub fn stop(&self) {
        let _ = self.0.send(Signal::Stop);
    }
}

/// What was kept when the keeper stopped: for "remove them on exit".
#[derive(Debug)]
pub struct KeptAtExit {
    /// The router last connected to.
    pub forwarder: Option<Arc<PortForwarder>>,
    /// The mappings kept there.
    pub mappings: Vec<NewMapping>,
}

/// Keeps one preset's mappings forwarded until stopped.
#[derive(Debug)]
pub struct PresetKeeper {
    preset: Preset,
    options: KeepPresetOptions,
    signals: Receiver<Signal>,
    sender: Sender<Signal>,
}

/// A job is already keeping this preset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the preset \"{preset}\" is already kept by process {pid}; stop it first")]
pub struct AlreadyKept {
    /// The preset.
    pub preset: String,
    /// The process keeping it.
    pub pid: u32,
}

impl PresetKeeper {
    /// A keeper for `preset`, and the handle that stops it. Refused when another running
    /// job already keeps the same preset (its state file says so).
    pub fn new(preset: Preset, options: KeepPresetOptions) -> Result<(PresetKeeper, StopHandle), AlreadyKept> {
        if let Some(dir) = &options.data_dir
            && let Some(running) = KeepJobState::read(dir, &preset.name)
            && running.pid != std::process::id()
        {
            return Err(AlreadyKept {
                preset: preset.name,
                pid: running.pid,
            });
        }
        let (sender, signals) = mpsc::channel();
        let stop = StopHandle(sender.clone());
        Ok((
            PresetKeeper {
                preset,
                options,
                signals,
                sender,
            },
            stop,
        ))
    }

    /// Runs until stopped, reporting each step to `on_event`. The mappings stay on the router.
    pub fn run(self, mut on_event: impl FnMut(&KeeperEvent)) -> KeptAtExit {
        let mut state = KeepJobState {
            preset: self.preset.name.clone(),
            pid: std::process::id(),
            gateway: None,
            local_ip: None,
            updated: now_unix(),
            mappings: Vec::new(),
        };
        let mut exit = KeptAtExit {
            forwarder: None,
            mappings: Vec::new(),
        };
        let retry_limit = self.options.timings.check_every.max(Duration::from_secs(1));
        let mut retry_in = self.options.timings.retry_after.min(retry_limit);
        'connect: loop {
            let forwarder = match self.connect() {
                Ok(forwarder) => Arc::new(forwarder),
                Err(error) => {
                    on_event(&KeeperEvent::NoRouter { error, retry_in });
                    if self.wait_for_stop(retry_in) {
                        break 'connect;
                    }
                    retry_in = (retry_in * 2).min(retry_limit);
                    continue;
                }
            };
            retry_in = self.options.timings.retry_after.min(retry_limit);
            let local_ip = forwarder.local_ip();
            let mappings: Vec<NewMapping> = self.preset.resolve(local_ip).iter().filter_map(new_mapping).collect();
            on_event(&KeeperEvent::Connected {
                url: forwarder.gateway().description_url().to_owned(),
                local_ip,
                mappings: mappings.clone(),
            });
            state.gateway = Some(forwarder.gateway().description_url().to_owned());
            state.local_ip = Some(local_ip);
            state.mappings = mappings.iter().map(|m| entry(m, KeptStatus::Pending)).collect();
            self.save(&mut state, &mut on_event);
            exit = KeptAtExit {
                forwarder: Some(forwarder.clone()),
                mappings: mappings.clone(),
            };
            let wake = self.sender.clone();
            let service = match KeepAliveService::start(forwarder, self.options.timings, move || {
                let _ = wake.send(Signal::Woken);
            }) {
                Ok(service) => service,
                Err(e) => {
                    on_event(&KeeperEvent::NoRouter {
                        error: Error::from(FileError::new("start a thread for", "keep-alive", e)),
                        retry_in,
                    });
                    if self.wait_for_stop(retry_in) {
                        break 'connect;
                    }
                    continue;
                }
            };
            for mapping in &mappings {
                // Renewed at once: created where the router does not have it.
                service.keep(mapping.clone());
            }
            // The router is taken as lost once every kept mapping failed to reach it twice
            // in a row (and at once if nothing is kept there is nothing to notice).
            let lost_after = 2 * mappings.len().max(1);
            let mut unreachable_in_a_row = 0;
            loop {
                match self.signals.recv() {
                    Ok(Signal::Woken) => {}
                    Ok(Signal::Stop) | Err(_) => break 'connect,
                }
                // The state file is written before the events are told, so that whoever sees
                // an event finds the file up to date.
                let events = service.try_events();
                for event in &events {
                    let key = event.mapping().key();
                    let slot = state.mappings.iter_mut().find(|m| m.key() == key);
                    match event {
                        KeepAliveEvent::Renewed { lease, .. } | KeepAliveEvent::Recreated { lease, .. } => {
                            unreachable_in_a_row = 0;
                            if let Some(slot) = slot {
                                slot.status = KeptStatus::Kept;
                                slot.lease = Some(lease.as_secs());
                                slot.error = None;
                            }
                        }
                        KeepAliveEvent::Failed { error, .. } => {
                            if error.is_unreachable() {
                                unreachable_in_a_row += 1;
                            } else {
                                unreachable_in_a_row = 0;
                            }
                            if let Some(slot) = slot {
                                slot.status = KeptStatus::Failing;
                                slot.error = Some(error.to_string());
                            }
                        }
                    }
                }
                self.save(&mut state, &mut on_event);
                for event in events {
                    on_event(&KeeperEvent::KeepAlive(event));
                }
                if unreachable_in_a_row >= lost_after {
                    on_event(&KeeperEvent::RouterLost);
                    continue 'connect;
                }
            }
        }
        if let Some(dir) = &self.options.data_dir {
            let _ = std::fs::remove_file(KeepJobState::path(dir, &self.preset.name));
        }
        exit
    }

    fn connect(&self) -> Result<PortForwarder, Error> {
        match &self.options.gateway_url {
            Some(url) => PortForwarder::connect(url, &GatewayOptions::default()),
            None => PortForwarder::discover(&self.options.discovery),
        }
    }

    /// Waits `wait`, or less if stopped; returns whether it was stopped.
    fn wait_for_stop(&self, wait: Duration) -> bool {
        let until = std::time::Instant::now() + wait;
        loop {
            match self
                .signals
                .recv_timeout(until.saturating_duration_since(std::time::Instant::now()))
            {
                Ok(Signal::Stop) | Err(RecvTimeoutError::Disconnected) => return true,
                // A late wake-up from a service that has gone.
                Ok(Signal::Woken) => {}
                Err(RecvTimeoutError::Timeout) => return false,
            }
        }
    }

    fn save(&self, state: &mut KeepJobState, on_event: &mut impl FnMut(&KeeperEvent)) {
        let Some(dir) = &self.options.data_dir else {
            return;
        };
        state.updated = now_unix();
        if let Err(error) = state.write(dir) {
            on_event(&KeeperEvent::StateNotWritten(error));
        }
    }
}

/// A preset row as a mapping to create; `None` where its internal address is not IPv4.
fn new_mapping(mapping: &crate::Mapping) -> Option<NewMapping> {
    Some(NewMapping {
        protocol: mapping.protocol,
        external_port: mapping.external_port,
        internal_ip: mapping.internal_ip()?,
        internal_port: mapping.internal_port,
        description: mapping.description.clone(),
        lease: mapping.lease,
    })
}

fn entry(mapping: &NewMapping, status: KeptStatus) -> KeptEntry {
    KeptEntry {
        protocol: mapping.protocol,
        external_port: mapping.external_port,
        internal_ip: mapping.internal_ip,
        internal_port: mapping.internal_port,
        status,
        lease: None,
        error: None,
    }
}

#[cfg(test)]
mod tests;
