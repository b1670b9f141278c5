//! The NAT-PMP/PCP tab: forward a port to this computer through NAT-PMP or PCP (routers
//! without UPnP), and renew or remove the mappings made so. Every request runs on a worker.

use std::net::Ipv4Addr;

use portforward::port_control::{DEFAULT_LIFETIME, PortControlClient, PortControlMapping, PortControlMode};
use portforward::services::PortControlStore;
use portforward::{Error, InputError, Lease, Port, Protocol};

use super::forms::{Feedback, blocked_reason, field, protocol_field, valid};
use super::jobs::{Job, take_done};
use super::log::{Level, Log};

/// What a request did.
enum Change {
    Mapped(PortControlMapping),
    Renewed(PortControlMapping),
    Removed(PortControlMapping),
}

/// The tab's state: the form as typed, the mappings made, the request in flight.
#[derive(Default)]
pub struct PortControlPanel {
    /// The mappings made through NAT-PMP / PCP (kept on disk for later runs).
    pub store: PortControlStore,
    /// Why the mappings file could not be read.
    pub load_error: Option<String>,
    gateway_ip: String,
    internal_port: String,
    external_port: String,
    protocol: Protocol,
    lifetime: String,
    mode: PortControlMode,
    job: Option<Job<Result<Change, Error>>>,
    feedback: Option<Feedback>,
}

impl PortControlPanel {
    /// A tab over `store`.
    pub fn new(store: PortControlStore) -> PortControlPanel {
        PortControlPanel {
            store,
            ..PortControlPanel::default()
        }
    }

    /// The mappings kept in the platform's config directory (in memory, with the reason
    /// shown, if they cannot be read).
    pub fn open_default() -> PortControlPanel {
        let opened = PortControlStore::default_path()
            .ok_or_else(|| "this system has no config directory".to_owned())
            .and_then(|path| PortControlStore::open(path).map_err(|e| e.to_string()));
        match opened {
            Ok(store) => PortControlPanel::new(store),
            Err(reason) => PortControlPanel {
                load_error: Some(format!("cannot keep NAT-PMP/PCP mappings for later runs: {reason}")),
                ..PortControlPanel::default()
            },
        }
    }

    /// Whether a request is in flight.
    pub fn busy(&self) -> bool {
        self.job.is_some()
    }

    /// The mappings to mark in (or add to) the table.
    pub fn mappings(&self) -> &[PortControlMapping] {
        self.store.mappings()
    }

    /// Takes a finished request; returns whether our mappings changed.
    fn poll(&mut self, log: &mut Log) -> bool {
        let Some(result) = take_done(&mut self.job) else {
            return false;
        };
        let (text, saved) = match result {
            Ok(Ok(Change::Mapped(m))) => (format!("Forwarded {m}."), self.store.record(m)),
            Ok(Ok(Change::Renewed(m))) => (format!("Renewed {m}."), self.store.record(m)),
            Ok(Ok(Change::Removed(m))) => (
                format!("Removed {}/{} (via {}).", m.external_port, m.protocol, m.via),
                self.store.forget(&m),
            ),
            Ok(Err(err)) => {
                log.push(Level::Error, err.to_string());
                self.feedback = Some(Feedback::error(err.to_string()));
                return false;
            }
            Err(crash) => {
                self.feedback = Some(Feedback::error(format!("internal error: {crash}")));
                return false;
            }
        };
        log.push(Level::Ok, text.clone());
        self.feedback = Some(match saved {
            Ok(()) => Feedback::ok(text),
            Err(err) => Feedback::error(format!("{text} But it could not be kept for later runs: {err}")),
        });
        true
    }

    /// Draws the tab. `upnp_gateway` is the UPnP gateway's address, when connected (the usual
    /// NAT-PMP server). Returns whether our mappings changed.
    pub fn ui(&mut self, ui: &mut egui::Ui, upnp_gateway: Option<Ipv4Addr>, log: &mut Log) -> bool {
        let changed = self.poll(log);
        ui.weak("For routers without UPnP: forward a port to this computer over PCP or NAT-PMP. Neither can list the router's table; mappings made here are marked \"via PCP\" / \"via NAT-PMP\" in it.");
        if let Some(error) = &self.load_error {
            Feedback::error(error.clone()).ui(ui);
        }
        let gateway_hint = match upnp_gateway {
            Some(ip) => format!("the UPnP gateway ({ip})"),
            None => "the default gateway".to_owned(),
        };
        let mut invalid = false;
        let mut gateway = None;
        let mut internal_port = None;
        let mut external_port = None;
        let mut lifetime = None;
        egui::Grid::new("port control form").num_columns(2).show(ui, |ui| {
            gateway = valid(
                &mut invalid,
                field(ui, "Router address", &mut self.gateway_ip, &gateway_hint, |t| {
                    t.trim()
                        .parse::<Ipv4Addr>()
                        .map_err(|_| InputError::new("router address", t, "enter an IPv4 address such as 192.168.1.1"))
                }),
            );
            internal_port = valid(
                &mut invalid,
                field(ui, "Port on this computer", &mut self.internal_port, "required", |t| {
                    Port::parse_field("internal port", t)
                }),
            );
            external_port = valid(
                &mut invalid,
                field(
                    ui,
                    "Port on the router",
                    &mut self.external_port,
                    "same as this computer's",
                    |t| Port::parse_field("external port", t),
                ),
            );
            protocol_field(ui, &mut self.protocol);
            lifetime = valid(
                &mut invalid,
                field(
                    ui,
                    "Lifetime (seconds)",
                    &mut self.lifetime,
                    &format!("{} (2 h)", DEFAULT_LIFETIME.as_secs()),
                    |t| {
                        let lease = Lease::parse_field("lifetime", t)?;
                        if lease.is_permanent() {
                            return Err(InputError::new(
                                "lifetime",
                                t,
                                "NAT-PMP and PCP have no permanent mappings",
                            ));
                        }
                        Ok(lease)
                    },
                ),
            );
            ui.label("Protocol to use");
            egui::ComboBox::from_id_salt("port control mode")
                .selected_text(self.mode.to_string())
                .show_ui(ui, |ui| {
                    for mode in PortControlMode::ALL {
                        ui.selectable_value(&mut self.mode, mode, mode.to_string());
                    }
                });
            ui.end_row();
        });
        if internal_port.is_none() && !invalid {
            invalid = true;
        }
        let busy = self.job.is_some();
        let mut map = false;
        ui.horizontal(|ui| {
            let blocked = if self.internal_port.trim().is_empty() {
                Some("enter the port on this computer")
            } else {
                blocked_reason(true, invalid)
            };
            map = ui
                .add_enabled(blocked.is_none() && !busy, egui::Button::new("Map port"))
                .clicked();
            if busy {
                ui.spinner();
                ui.weak("waiting for the router…");
            } else if let Some(reason) = blocked {
                ui.weak(reason);
            }
        });
        if let Some(feedback) = &self.feedback {
            feedback.ui(ui);
        }
        if map && let Some(internal) = internal_port {
            let (protocol, mode) = (self.protocol, self.mode);
            let lifetime = lifetime.unwrap_or(DEFAULT_LIFETIME);
            let target = gateway.or(upnp_gateway);
            log.push(
                Level::Request,
                format!(
                    "{mode}: map {}/{protocol} to this computer's port {internal}",
                    external_port.unwrap_or(internal)
                ),
            );
            self.feedback = None;
            self.job = Some(Job::spawn(ui.ctx(), "port control", move || {
                let gateway = match target {
                    Some(ip) => ip,
                    None => portforward::host::default_gateway()?,
                };
                let client = PortControlClient::new(gateway)?.with_mode(mode);
                client
                    .map(protocol, internal, Some(external_port.unwrap_or(internal)), lifetime)
                    .map(Change::Mapped)
            }));
        }
        ui.separator();
        ui.strong("Made here");
        let live: Vec<PortControlMapping> = self
            .store
            .mappings()
            .iter()
            .filter(|m| m.seconds_left() > 0)
            .cloned()
            .collect();
        if live.is_empty() {
            ui.weak("None.");
        }
        for m in live {
            ui.push_id((m.gateway, m.external_port, m.protocol), |ui| {
                ui.label(egui::RichText::new(m.to_string()).small());
                ui.horizontal(|ui| {
                    if ui.add_enabled(!busy, egui::Button::new("Renew")).clicked() {
                        log.push(
                            Level::Request,
                            format!("renew {}/{} via {}", m.external_port, m.protocol, m.via),
                        );
                        let mapping = m.clone();
                        self.job = Some(Job::spawn(ui.ctx(), "port control", move || {
                            PortControlClient::new(mapping.gateway)?
                                .renew(&mapping, None)
                                .map(Change::Renewed)
                        }));
                    }
                    let remove = egui::Button::new(format!("Remove {}/{}", m.external_port, m.protocol));
                    if ui.add_enabled(!busy, remove).clicked() {
                        log.push(
                            Level::Request,
                            format!("remove {}/{} via {}", m.external_port, m.protocol, m.via),
                        );
                        let mapping = m.clone();
                        self.job = Some(Job::spawn(ui.ctx(), "port control", move || {
                            PortControlClient::new(mapping.gateway)?.unmap(&mapping)?;
                            Ok(Change::Removed(mapping))
                        }));
                    }
                });
            });
        }
        changed
    }
}
