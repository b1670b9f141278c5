//! The IPv6 pinholes tab: open a port of this computer in the router's IPv6 firewall
//! (WANIPv6FirewallControl, else PCP MAP to the router's IPv6 address), and renew, keep alive, check ("working?", packets) or close the
//! pinholes made here. The router has no list of pinholes: the ones shown are those this
//! computer made (kept on disk). Every request runs on a worker, with a copy of the record
//! that comes back with the result.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use portforward::PortForwarder;
use portforward::model::{NewPinhole, Pinhole, PinholeLease, PinholeVia, parse_ipv6_field, unix_now};
use portforward::port_control::{PcpFirewall, check_pcp_opening};
use portforward::services::{PinholeReachability, PinholeService, PinholeState, PinholeStore, Renewal};
use portforward::upnp::{FirewallControl, PinholeError};
use portforward::{Port, Protocol};

use super::effects::Effects;
use super::forms::{Feedback, field, protocol_field, valid};
use super::log::Level;
use super::pending::{Pending, open_store, take};

/// What a request did.
enum Change {
    Opened(Pinhole),
    Renewed(Renewal),
    /// Renewals made by keep-alive.
    Kept(Vec<(u16, Result<Renewal, String>)>),
    Checked(PinholeState),
    Closed(u16),
}

/// A request's result and the record as it is after it.
type Done = (Result<Change, String>, PinholeStore);

/// The ways to the router's IPv6 firewall: UPnP's firewall control, PCP, or both.
#[derive(Clone)]
struct Routes {
    upnp: Option<FirewallControl>,
    pcp: Option<PcpFirewall>,
}

impl Routes {
    /// UPnP's firewall control, and PCP beside it (towards the router's IPv6 address), for
    /// the router described at `url`; an error only when neither can be used.
    fn find(url: &str, router6: Option<Ipv6Addr>, timeout: Duration) -> Result<Routes, String> {
        let upnp = FirewallControl::connect(url, router6, None, timeout);
        let router = match router6 {
            Some(ip) => Ok((ip, 0)),
            None => portforward::host::default_ipv6_gateway().map_err(portforward::Error::from),
        };
        let pcp = router.and_then(|(ip, scope)| PcpFirewall::new(ip, scope, None));
        match (upnp, pcp) {
            (Err(upnp @ PinholeError::NoService { .. }), Err(pcp)) => {
                Err(format!("{upnp}; and PCP cannot be used: {pcp}"))
            }
            (Err(upnp @ PinholeError::NoService { .. }), Ok(pcp)) => {
                tracing::info!(%upnp, "pinholes over PCP");
                Ok(Routes {
                    upnp: None,
                    pcp: Some(pcp),
                })
            }
            (Err(upnp), _) => Err(upnp.to_string()),
            (Ok(upnp), pcp) => Ok(Routes {
                upnp: Some(upnp),
                pcp: pcp.ok(),
            }),
        }
    }
}

/// The tab's state.
#[derive(Default)]
pub struct PinholesPanel {
    store: PinholeStore,
    load_error: Option<String>,
    opening: Option<Pending<Result<PinholeStore, String>>>,
    /// The ways to the router's firewall, for the description URL they were found for.
    control: Option<(String, Routes)>,
    connecting: Option<(String, Pending<Result<Routes, String>>)>,
    /// How new pinholes are opened (when the router offers both ways).
    via: Option<PinholeVia>,
    connect_error: Option<(String, String)>,
    internal_port: String,
    protocol: Protocol,
    lease: String,
    remote_host: String,
    /// Pinholes kept alive (renewed at half their lease while the window is open).
    kept: BTreeSet<u16>,
    job: Option<Pending<Done>>,
    feedback: Option<Feedback>,
}

impl PinholesPanel {
    /// Reads the pinholes kept in the platform's config directory in the background.
    pub fn open_default(ctx: &egui::Context) -> PinholesPanel {
        PinholesPanel {
            opening: Some(open_store(
                ctx,
                "open pinholes",
                PinholeStore::default_path,
                PinholeStore::open,
            )),
            ..PinholesPanel::default()
        }
    }

    /// The address pinholes open, once the router's firewall service is reached.
    pub fn local_address(&self) -> Option<Ipv6Addr> {
        self.service()?.local_address(self.chosen_via()?)
    }

    fn service(&self) -> Option<PinholeService> {
        let (_, routes) = self.control.as_ref()?;
        let store = self.store.clone();
        match (&routes.upnp, &routes.pcp) {
            (Some(upnp), Some(pcp)) => Some(PinholeService::new(upnp.clone(), store).with_pcp(pcp.clone())),
            (Some(upnp), None) => Some(PinholeService::new(upnp.clone(), store)),
            (None, Some(pcp)) => Some(PinholeService::over_pcp(pcp.clone(), store)),
            (None, None) => None,
        }
    }

    /// How a new pinhole is opened: the user's choice, else UPnP when the router offers it.
    fn chosen_via(&self) -> Option<PinholeVia> {
        let service = self.service()?;
        let via = self.via.unwrap_or(service.default_via());
        service.local_address(via).map(|_| via)
    }

    fn start(
        &mut self,
        ctx: &egui::Context,
        work: impl FnOnce(&mut PinholeService) -> Result<Change, String> + Send + 'static,
    ) {
        let Some(mut service) = self.service() else {
            return;
        };
        self.feedback = None;
        self.job = Some(Pending::spawn(ctx, "pinhole", move || {
            let change = work(&mut service);
            (change, service.into_store())
        }));
    }

    /// Takes finished work: the file read, the firewall service found, a request done; and
    /// starts the keep-alive renewals that are due.
    pub fn poll(&mut self, ctx: &egui::Context, fx: &mut Effects) {
        if let Some(opened) = take(&mut self.opening) {
            match opened.unwrap_or_else(|crash| Err(format!("internal error: {crash}"))) {
                Ok(store) => self.store = store,
                Err(reason) => self.load_error = Some(format!("cannot keep pinholes for later runs: {reason}")),
            }
        }
        if let Some((url, pending)) = &mut self.connecting
            && let Some(result) = pending.poll()
        {
            let url = url.clone();
            self.connecting = None;
            match result.unwrap_or_else(|crash| Err(format!("internal error: {crash}"))) {
                Ok(routes) => {
                    match (&routes.upnp, &routes.pcp) {
                        (Some(upnp), _) => {
                            fx.log(Level::Ok, format!("IPv6 firewall control at {}", upnp.control_url()))
                        }
                        (None, Some(pcp)) => fx.log(
                            Level::Ok,
                            format!(
                                "the router's UPnP has no IPv6 firewall control; pinholes over PCP to {}",
                                pcp.router()
                            ),
                        ),
                        (None, None) => {}
                    }
                    self.control = Some((url, routes));
                }
                Err(reason) => self.connect_error = Some((url, reason)),
            }
        }
        if let Some(result) = take(&mut self.job) {
            self.finish(result, fx);
        }
        self.keep_alive(ctx);
    }

    fn finish(&mut self, result: Result<Done, String>, fx: &mut Effects) {
        let (change, store) = match result {
            Ok(done) => done,
            Err(crash) => {
                self.feedback = Some(fx.failed(format!("internal error: {crash}")));
                return;
            }
        };
        self.store = store;
        let text = match change {
            Err(err) => {
                self.feedback = Some(fx.failed(err));
                return;
            }
            Ok(Change::Opened(p)) => format!("Opened {p}. {}", PinholeReachability::of(&p).describe()),
            Ok(Change::Renewed(Renewal::Renewed(p))) => format!("Renewed {p}."),
            Ok(Change::Renewed(Renewal::Readded { old_id, pinhole })) => {
                self.rekeep(old_id, pinhole.id);
                format!("The router had lost pinhole {old_id}; opened it again: {pinhole}.")
            }
            Ok(Change::Kept(results)) => {
                let mut lines = Vec::new();
                for (id, result) in results {
                    match result {
                        Ok(renewal) => {
                            if let Renewal::Readded { old_id, pinhole } = &renewal {
                                self.rekeep(*old_id, pinhole.id);
                            }
                            lines.push(format!("kept alive: {}", renewal.pinhole()));
                        }
                        Err(err) => lines.push(format!("pinhole {id} not renewed: {err}")),
                    }
                }
                let text = lines.join("; ");
                fx.log(Level::Ok, text);
                return;
            }
            Ok(Change::Checked(PinholeState::Held(p))) => {
                let working = match p.working {
                    Some(true) => "an outside packet has reached it",
                    _ => "no outside packet has reached it yet (that proves nothing either way)",
                };
                let packets = p.packets.map(|n| format!(", {n} packets")).unwrap_or_default();
                format!("Pinhole {}: {working}{packets}.", p.id)
            }
            Ok(Change::Checked(PinholeState::Gone(p))) => {
                self.kept.remove(&p.id);
                format!(
                    "Pinhole {} is gone: the router no longer knows it (expired, or the router restarted).",
                    p.id
                )
            }
            Ok(Change::Closed(id)) => {
                self.kept.remove(&id);
                format!("Closed pinhole {id}.")
            }
        };
        fx.log(Level::Ok, text.clone());
        self.feedback = Some(Feedback::ok(text));
    }

    fn rekeep(&mut self, old_id: u16, new_id: u16) {
        if self.kept.remove(&old_id) {
            self.kept.insert(new_id);
        }
    }

    /// Renews the kept pinholes that are at half their lease, and wakes the window for the next.
    fn keep_alive(&mut self, ctx: &egui::Context) {
        if self.kept.is_empty() || self.control.is_none() {
            return;
        }
        let now = unix_now();
        let kept: Vec<&Pinhole> = self
            .pinholes()
            .into_iter()
            .filter(|p| self.kept.contains(&p.id))
            .collect();
        let due_at = |p: &Pinhole| p.expires_at.saturating_sub(u64::from(p.opening.lease.as_secs()) / 2);
        let Some(next) = kept.iter().map(|p| due_at(p)).min() else {
            return;
        };
        if next > now || self.job.is_some() {
            ctx.request_repaint_after(Duration::from_secs(next.saturating_sub(now).max(1)));
            return;
        }
        let due: Vec<u16> = kept.iter().filter(|p| due_at(p) <= now).map(|p| p.id).collect();
        self.start(ctx, move |service| {
            Ok(Change::Kept(
                due.into_iter()
                    .map(|id| (id, service.renew(id).map_err(|e| e.to_string())))
                    .collect(),
            ))
        });
    }

    fn pinholes(&self) -> Vec<&Pinhole> {
        let Some((_, routes)) = &self.control else {
            return Vec::new();
        };
        let upnp = routes.upnp.as_ref().map(|c| c.control_url().to_owned());
        let pcp = routes.pcp.as_ref().map(PcpFirewall::gateway_id);
        self.store
            .all()
            .iter()
            .filter(|p| Some(&p.gateway) == upnp.as_ref() || Some(&p.gateway) == pcp.as_ref())
            .collect()
    }

    /// Finds the router's firewall service for the connected gateway (once per gateway).
    fn connect(&mut self, ctx: &egui::Context, forwarder: &PortForwarder) {
        let url = forwarder.gateway().description_url().to_owned();
        let known = self
            .control
            .as_ref()
            .map(|(u, _)| u)
            .or(self.connecting.as_ref().map(|(u, _)| u))
            .or(self.connect_error.as_ref().map(|(u, _)| u));
        if known == Some(&url) {
            return;
        }
        self.control = None;
        self.connect_error = None;
        // A router on this computer's loopback (the simulator) is reached at [::1].
        let router6 = match forwarder.gateway().addr().ip() {
            IpAddr::V4(ip) if ip.is_loopback() => Some(Ipv6Addr::LOCALHOST),
            _ => None,
        };
        let timeout = forwarder.gateway().request_timeout();
        let target = url.clone();
        let pending = Pending::spawn(ctx, "pinhole service", move || Routes::find(&target, router6, timeout));
        self.connecting = Some((url, pending));
    }

    /// Draws the tab.
    pub fn ui(&mut self, ui: &mut egui::Ui, forwarder: Option<&PortForwarder>, fx: &mut Effects) {
        ui.weak("Behind IPv6 there is no NAT: a port of this computer is reachable from the internet only through a pinhole in the router's IPv6 firewall. The router has no list of pinholes: these are the ones made here.");
        if let Some(error) = &self.load_error {
            Feedback::error(error.clone()).ui(ui);
        }
        let Some(forwarder) = forwarder else {
            ui.weak("Connect to a gateway first.");
            return;
        };
        self.connect(ui.ctx(), forwarder);
        if self.connecting.is_some() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.weak("looking for the router's IPv6 firewall…");
            });
            return;
        }
        if let Some((_, reason)) = &self.connect_error {
            Feedback::error(reason.clone()).ui(ui);
            return;
        }
        let (Some(local), Some(via)) = (self.local_address(), self.chosen_via()) else {
            return;
        };
        ui.label(format!("This computer's IPv6 address: {local}"));
        let both = self
            .control
            .as_ref()
            .is_some_and(|(_, r)| r.upnp.is_some() && r.pcp.is_some());
        ui.horizontal(|ui| {
            ui.label("Open with");
            if both {
                let mut chosen = via;
                ui.radio_value(&mut chosen, PinholeVia::Upnp, "UPnP");
                ui.radio_value(&mut chosen, PinholeVia::Pcp, "PCP");
                if chosen != via {
                    self.via = Some(chosen);
                }
            } else {
                ui.label(via.as_str());
                if via == PinholeVia::Pcp {
                    ui.weak("(the router's UPnP has no IPv6 firewall control)");
                }
            }
        });
        let mut invalid = false;
        let mut port = None;
        let mut lease = None;
        let mut remote = None;
        egui::Grid::new("pinhole form").num_columns(2).show(ui, |ui| {
            port = valid(
                &mut invalid,
                field(ui, "Port to open", &mut self.internal_port, "required", |t| {
                    Port::parse_field("internal port", t)
                }),
            );
            protocol_field(ui, &mut self.protocol);
            lease = valid(
                &mut invalid,
                field(ui, "Lease (seconds)", &mut self.lease, "3600 (1 h)", |t| {
                    PinholeLease::parse_field("lease", t)
                }),
            );
            remote = valid(
                &mut invalid,
                field(ui, "Only from (IPv6)", &mut self.remote_host, "anyone", |t| {
                    parse_ipv6_field("remote host", t)
                }),
            );
        });
        let busy = self.job.is_some();
        let mut open = false;
        ui.horizontal(|ui| {
            let blocked = if self.internal_port.trim().is_empty() {
                Some("enter the port to open")
            } else if invalid {
                Some("correct the fields marked in red")
            } else {
                None
            };
            open = ui
                .add_enabled(blocked.is_none() && !busy, egui::Button::new("Open pinhole"))
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
        if open && let Some(port) = port {
            let opening = NewPinhole {
                remote_host: remote,
                lease: lease.unwrap_or(PinholeLease::DEFAULT),
                ..NewPinhole::new(local, port, self.protocol)
            };
            let checked = match via {
                PinholeVia::Pcp => check_pcp_opening(&opening).map_err(|e| e.to_string()),
                PinholeVia::Upnp => Ok(()),
            };
            match checked {
                Err(reason) => self.feedback = Some(fx.failed(reason)),
                Ok(()) => {
                    fx.log(
                        Level::Request,
                        format!("open pinhole [{local}]:{port}/{} via {via}", self.protocol),
                    );
                    self.start(ui.ctx(), move |service| {
                        service
                            .add_via(&opening, via)
                            .map(Change::Opened)
                            .map_err(|e| e.to_string())
                    });
                }
            }
        }
        ui.separator();
        ui.strong("Pinholes made here");
        let pinholes: Vec<Pinhole> = self.pinholes().into_iter().cloned().collect();
        if pinholes.is_empty() {
            ui.weak("None.");
        }
        for p in pinholes {
            let id = p.id;
            ui.push_id(("pinhole", id), |ui| {
                ui.label(egui::RichText::new(p.to_string()).small());
                ui.horizontal(|ui| {
                    if ui.add_enabled(!busy, egui::Button::new("Renew")).clicked() {
                        fx.log(Level::Request, format!("renew pinhole {id}"));
                        self.start(ui.ctx(), move |s| {
                            s.renew(id).map(Change::Renewed).map_err(|e| e.to_string())
                        });
                    }
                    let mut keep = self.kept.contains(&id);
                    if ui.checkbox(&mut keep, "Keep alive").changed() {
                        if keep {
                            self.kept.insert(id);
                        } else {
                            self.kept.remove(&id);
                        }
                    }
                    let pcp = p.via == PinholeVia::Pcp;
                    if ui
                        .add_enabled(!busy && !pcp, egui::Button::new("Working?"))
                        .on_disabled_hover_text("PCP cannot tell whether outside traffic reached a pinhole")
                        .clicked()
                    {
                        self.start(ui.ctx(), move |s| {
                            s.check(id).map(Change::Checked).map_err(|e| e.to_string())
                        });
                    }
                    if ui
                        .add_enabled(!busy, egui::Button::new(format!("Close pinhole {id}")))
                        .clicked()
                    {
                        fx.log(Level::Request, format!("close pinhole {id}"));
                        self.start(ui.ctx(), move |s| {
                            s.remove(id).map(|()| Change::Closed(id)).map_err(|e| e.to_string())
                        });
                    }
                });
            });
        }
    }
}
