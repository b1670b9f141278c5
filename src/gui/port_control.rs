//! The NAT-PMP/PCP tab: forward a port to this computer through NAT-PMP or PCP (routers
//! without UPnP), and renew or remove the mappings made so. Every request runs on a worker,
//! and so does the write of the mappings file that follows it.

use std::net::Ipv4Addr;

use portforward::port_control::{DEFAULT_LIFETIME, PortControlMapping, PortControlMode};
use portforward::services::{
    PortControlRequest, PortControlStore, map_port_control, renew_port_control, unmap_port_control,
};
use portforward::{Error, FileError, InputError, Lease, Port, Protocol};

use super::effects::{Effect, Effects};
use super::forms::{Feedback, blocked_reason, field, protocol_field, valid};
use super::log::Level;
use super::pending::{Pending, open_store, take};

/// What a request did.
enum Change {
    Mapped(PortControlMapping),
    Renewed(PortControlMapping),
    Removed(PortControlMapping),
}

/// A request's result: what changed, and the store with it recorded (and whether that was
/// written to disk).
struct Done {
    change: Change,
    store: PortControlStore,
    saved: Result<(), FileError>,
}

/// Runs `request` on a worker, then records what it did in a copy of `store` (written there).
fn run(
    ctx: &egui::Context,
    store: &PortControlStore,
    request: impl FnOnce() -> Result<Change, Error> + Send + 'static,
) -> Pending<Result<Done, Error>> {
    let mut store = store.clone();
    Pending::spawn(ctx, "port control", move || {
        let change = request()?;
        let saved = match &change {
            Change::Mapped(m) | Change::Renewed(m) => store.record(m.clone()),
            Change::Removed(m) => store.forget(m),
        };
        Ok(Done { change, store, saved })
    })
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
    /// Reading the mappings file.
    opening: Option<Pending<Result<PortControlStore, String>>>,
    job: Option<Pending<Result<Done, Error>>>,
    feedback: Option<Feedback>,
}

impl PortControlPanel {
    /// Reads the mappings kept in the platform's config directory in the background (in
    /// memory, with the reason shown, if they cannot be read).
    pub fn open_default(ctx: &egui::Context) -> PortControlPanel {
        PortControlPanel {
            opening: Some(open_store(
                ctx,
                "open port control",
                PortControlStore::default_path,
                PortControlStore::open,
            )),
            ..PortControlPanel::default()
        }
    }

    /// The mappings to mark in (or add to) the table.
    pub fn mappings(&self) -> &[PortControlMapping] {
        self.store.mappings()
    }

    /// Takes finished work: the file read, a request done (our mappings changed).
    pub fn poll(&mut self, fx: &mut Effects) {
        if let Some(opened) = take(&mut self.opening) {
            match opened.unwrap_or_else(|crash| Err(format!("internal error: {crash}"))) {
                Ok(store) => {
                    // Mappings from an earlier run: mark them in the table.
                    if !store.mappings().is_empty() {
                        fx.push(Effect::PortControlChanged);
                    }
                    self.store = store;
                }
                Err(reason) => {
                    self.load_error = Some(format!("cannot keep NAT-PMP/PCP mappings for later runs: {reason}"));
                }
            }
        }
        let Some(result) = take(&mut self.job) else {
            return;
        };
        let done = match result {
            Ok(Ok(done)) => done,
            Ok(Err(err)) => {
                self.feedback = Some(fx.failed(err.to_string()));
                return;
            }
            Err(crash) => {
                self.feedback = Some(Feedback::error(format!("internal error: {crash}")));
                return;
            }
        };
        let text = match &done.change {
            Change::Mapped(m) => format!("Forwarded {m}."),
            Change::Renewed(m) => format!("Renewed {m}."),
            Change::Removed(m) => format!("Removed {}/{} (via {}).", m.external_port, m.protocol, m.via),
        };
        self.store = done.store;
        fx.log(Level::Ok, text.clone());
        self.feedback = Some(match done.saved {
            Ok(()) => Feedback::ok(text),
            Err(err) => Feedback::error(format!("{text} But it could not be kept for later runs: {err}")),
        });
        fx.push(Effect::PortControlChanged);
    }

    /// Draws the tab. `upnp_gateway` is the UPnP gateway's address, when connected (the usual
    /// NAT-PMP server).
    pub fn ui(&mut self, ui: &mut egui::Ui, upnp_gateway: Option<Ipv4Addr>, fx: &mut Effects) {
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
            let request = PortControlRequest {
                gateway: gateway.or(upnp_gateway),
                mode: self.mode,
                protocol: self.protocol,
                internal_port: internal,
                external_port,
                lifetime: lifetime.unwrap_or(DEFAULT_LIFETIME),
            };
            fx.log(
                Level::Request,
                format!(
                    "{}: map {}/{} to this computer's port {internal}",
                    request.mode,
                    external_port.unwrap_or(internal),
                    request.protocol
                ),
            );
            self.feedback = None;
            self.job = Some(run(ui.ctx(), &self.store, move || {
                map_port_control(&request).map(Change::Mapped)
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
                        fx.log(
                            Level::Request,
                            format!("renew {}/{} via {}", m.external_port, m.protocol, m.via),
                        );
                        let mapping = m.clone();
                        self.job = Some(run(ui.ctx(), &self.store, move || {
                            renew_port_control(&mapping).map(Change::Renewed)
                        }));
                    }
                    let remove = egui::Button::new(format!("Remove {}/{}", m.external_port, m.protocol));
                    if ui.add_enabled(!busy, remove).clicked() {
                        fx.log(
                            Level::Request,
                            format!("remove {}/{} via {}", m.external_port, m.protocol, m.via),
                        );
                        let mapping = m.clone();
                        self.job = Some(run(ui.ctx(), &self.store, move || {
                            unmap_port_control(&mapping)?;
                            Ok(Change::Removed(mapping))
                        }));
                    }
                });
            });
        }
    }
}
