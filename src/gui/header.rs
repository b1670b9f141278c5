//! The header: which gateway, its addresses and state, and what to do when there is none.
//! It owns the work that finds the gateway (discovery or a URL) and reads its facts
//! (external IP, connection status); this computer's interface is looked up there too, on
//! the worker, never while drawing.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};

use egui::RichText;
use portforward::upnp::{DiscoveryOptions, RouterStatus};
use portforward::{Error, ExternalReachability, LocalAddress, PortForwarder};

use super::effects::{Effect, Effects};
use super::log::Level;
use super::pending::{Pending, take};
use super::table::plural;
use portforward::upnp::Diagnosis;

/// A gateway the window can use, with this computer's address (and interface) towards it,
/// looked up on the worker that found it.
#[derive(Clone)]
pub struct Connection {
    /// The gateway.
    pub forwarder: Arc<PortForwarder>,
    /// This computer, as the gateway sees it.
    pub local: LocalAddress,
    /// This computer's stable global IPv6 address (the one a pinhole would open), preferring
    /// the interface that reaches the gateway; `None` without IPv6.
    pub local6: Option<std::net::Ipv6Addr>,
}

impl Connection {
    /// Looks the interface up (a netlink dump on Linux): call it on a worker.
    fn of(forwarder: PortForwarder) -> Connection {
        let local = forwarder.local_address().clone();
        let stable: Vec<_> = portforward::host::local_ipv6_addresses()
            .into_iter()
            .filter(|a| a.is_stable_global())
            .collect();
        let local6 = stable
            .iter()
            .find(|a| Some(&a.interface) == local.interface.as_ref())
            .or(stable.first())
            .map(|a| a.ip);
        Connection {
            forwarder: Arc::new(forwarder),
            local,
            local6,
        }
    }
}

/// The work that finds a gateway.
enum Search {
    /// Discovery: each usable gateway as it answers (the first is used at once, the others
    /// offered in the chooser), then how many there were or, when none, what was tried.
    Discover {
        answered: Receiver<Connection>,
        done: Pending<Result<usize, Box<Unfound>>>,
    },
    /// One gateway, by URL.
    Connect(Pending<Result<Connection, Error>>),
}

/// A search that found no usable gateway: why, and what was tried.
struct Unfound {
    error: Error,
    diagnosis: Option<Diagnosis>,
}

/// What a search came back with, in the end.
enum Found {
    Many(Result<usize, Box<Unfound>>),
    One(Result<Connection, Error>),
}

/// The router's facts, read together.
struct Info {
    external_ip: Result<Option<Ipv4Addr>, Error>,
    status: Result<RouterStatus, Error>,
}

/// Where the window stands with the gateway.
pub enum Link {
    /// Discovery is running.
    Searching,
    /// Connecting to a URL.
    Connecting(String),
    /// Nothing usable: the message says why and what to do; after a search, what was tried
    /// and what came back.
    NotFound(String, Option<Box<Diagnosis>>),
    /// Working with this gateway.
    Connected(Connection),
}

/// What the user asked of the header.
pub enum HeaderAction {
    /// Search again.
    Retry,
    /// Connect to this description URL.
    Connect(String),
    /// Use this one of the gateways found.
    Use(Connection),
}

/// The header's state.
pub struct Header {
    /// The gateway link.
    pub link: Link,
    /// Every gateway discovery found (for the chooser).
    pub found: Vec<Connection>,
    /// The router's external address, once read (an error message when reading failed).
    pub external_ip: Option<Result<Option<Ipv4Addr>, String>>,
    /// The router's status (its WAN connection, link, traffic, admin page), once read.
    pub status: Option<Result<RouterStatus, String>>,
    /// The "Gateway URL" field.
    pub url_text: String,
    /// The discovery bound, to tell the user how long the search can take.
    pub search_secs: f32,
    /// Running against the built-in simulated router.
    pub demo: bool,
    /// How to discover (and talk to) gateways.
    pub discovery: DiscoveryOptions,
    search: Option<Search>,
    info: Option<Pending<Info>>,
}

impl Header {
    /// A header that has not searched yet; `url_text` fills the "Gateway URL" field.
    pub fn new(discovery: DiscoveryOptions, url_text: String, demo: bool) -> Header {
        Header {
            link: Link::Searching,
            found: Vec::new(),
            external_ip: None,
            status: None,
            url_text,
            search_secs: discovery.timeout.as_secs_f32(),
            demo,
            discovery,
            search: None,
            info: None,
        }
    }

    /// The gateway in use, if any.
    pub fn forwarder(&self) -> Option<&Arc<PortForwarder>> {
        self.connection().map(|c| &c.forwarder)
    }

    /// The gateway in use with this computer's address towards it, if any.
    pub fn connection(&self) -> Option<&Connection> {
        match &self.link {
            Link::Connected(c) => Some(c),
            _ => None,
        }
    }

    /// Searches the network for gateways, in the background.
    pub fn discover(&mut self, ctx: &egui::Context, fx: &mut Effects) {
        if self.search.is_some() {
            return;
        }
        let options = self.discovery;
        fx.log(
            Level::Request,
            format!(
                "searching for gateways (via {}, at most {:.1} s)",
                options.search_addr,
                options.timeout.as_secs_f32()
            ),
        );
        self.link = Link::Searching;
        self.found.clear();
        let (send, answered) = channel();
        let wake = ctx.clone();
        let done = Pending::spawn(ctx, "discovery", move || {
            let mut unusable = None;
            let mut usable = 0;
            let searched =
                portforward::upnp::discover_streaming(&options, |gateway| match PortForwarder::new(gateway) {
                    Ok(forwarder) => {
                        usable += 1;
                        // Shown at once: the first answer is the table, the rest the chooser.
                        if send.send(Connection::of(forwarder)).is_ok() {
                            wake.request_repaint();
                        }
                    }
                    Err(err) => unusable = Some(err),
                });
            match (searched, unusable) {
                (Ok(_), _) if usable > 0 => Ok(usable),
                (Ok(_), Some(error)) => Err(Box::new(Unfound { error, diagnosis: None })),
                (Ok(_), None) => Ok(0),
                // Nothing usable answered: search once more, briefly, to say what did.
                (Err(err), _) => {
                    let brief = DiscoveryOptions {
                        timeout: options.timeout.min(DIAGNOSIS_TIME),
                        ..options
                    };
                    Err(Box::new(Unfound {
                        error: err.into(),
                        diagnosis: Some(portforward::upnp::diagnose(&brief)),
                    }))
                }
            }
        });
        self.search = Some(Search::Discover { answered, done });
    }

    /// Connects to the gateway described at `url`, in the background.
    pub fn connect(&mut self, ctx: &egui::Context, url: String, fx: &mut Effects) {
        if self.search.is_some() {
            return;
        }
        fx.log(Level::Request, format!("connecting to {url}"));
        self.link = Link::Connecting(url.clone());
        let options = self.discovery.gateway;
        self.search = Some(Search::Connect(Pending::spawn(ctx, "connect", move || {
            PortForwarder::connect(&url, &options).map(Connection::of)
        })));
    }

    /// A gateway is now in use: its facts are read afresh.
    pub fn use_gateway(&mut self, connection: Connection) {
        self.external_ip = None;
        self.status = None;
        self.info = None;
        self.link = Link::Connected(connection);
    }

    /// Reads the external IP and the connection status again, unless a reading is under way.
    pub fn read_info(&mut self, ctx: &egui::Context) {
        let Some(forwarder) = self.forwarder().cloned() else {
            return;
        };
        if self.info.is_none() {
            self.info = Some(Pending::spawn(ctx, "info", move || Info {
                external_ip: forwarder.external_ip(),
                status: forwarder.gateway().router_status().map_err(Error::from),
            }));
        }
    }

    /// Takes the finished work: a gateway to use goes out as an effect.
    pub fn poll(&mut self, fx: &mut Effects) {
        if let Some(Search::Discover { answered, .. }) = &self.search {
            for connection in answered.try_iter().collect::<Vec<_>>() {
                self.answered(connection, fx);
            }
        }
        let found = match &mut self.search {
            Some(Search::Discover { done, .. }) => done.poll().map(|r| r.map(Found::Many)),
            Some(Search::Connect(pending)) => pending.poll().map(|r| r.map(Found::One)),
            None => None,
        };
        if let Some(result) = found {
            self.search = None;
            match result {
                Ok(Found::Many(Ok(count))) => {
                    fx.log(Level::Ok, format!("discovery found {}", plural(count, "gateway")));
                }
                Ok(Found::One(Ok(connection))) => {
                    self.found.push(connection.clone());
                    fx.push(Effect::UseGateway(connection));
                }
                // A gateway is in use already: the error is another answer's.
                Ok(Found::Many(Err(unfound))) if !self.found.is_empty() => {
                    fx.log(Level::Warning, format!("discovery: {}", unfound.error));
                }
                Ok(Found::Many(Err(unfound))) => {
                    let Unfound { error: err, diagnosis } = *unfound;
                    fx.log(Level::Error, err.to_string());
                    if let Some(diagnosis) = &diagnosis {
                        for line in diagnosis.lines() {
                            fx.log(Level::Warning, format!("discovery: {line}"));
                        }
                    }
                    self.link = Link::NotFound(err.to_string(), diagnosis.map(Box::new));
                }
                Ok(Found::One(Err(err))) => {
                    fx.log(Level::Error, err.to_string());
                    self.link = Link::NotFound(err.to_string(), None);
                }
                Err(crash) => {
                    let text = fx.failed(format!("internal error: {crash}")).text;
                    self.link = Link::NotFound(text, None);
                }
            }
        }
        if let Some(result) = take(&mut self.info) {
            match result {
                Ok(info) => {
                    if let Err(err) = &info.external_ip {
                        fx.log(Level::Warning, format!("external IP: {err}"));
                    }
                    self.external_ip = Some(info.external_ip.map_err(|e| e.to_string()));
                    self.status = Some(info.status.map_err(|e| e.to_string()));
                }
                Err(crash) => {
                    let text = fx.failed(format!("internal error: {crash}")).text;
                    self.status = Some(Err(text));
                }
            }
        }
    }

    /// Draws the header; returns what the user asked for.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> Option<HeaderAction> {
        let mut action = None;
        ui.horizontal(|ui| {
            ui.heading("PortForward");
            if self.demo {
                ui.label(
                    RichText::new(" DEMO ")
                        .strong()
                        .color(egui::Color32::BLACK)
                        .background_color(egui::Color32::from_rgb(255, 200, 0)),
                )
                .on_hover_text("a simulated router on this computer: nothing here touches your network");
            }
            if self.found.len() > 1 {
                action = action.take().or(self.chooser(ui));
            }
            // Connected to the first answer while discovery still listens for others.
            if matches!(self.link, Link::Connected(_)) && matches!(self.search, Some(Search::Discover { .. })) {
                ui.spinner();
                ui.weak("listening for other routers…")
                    .on_hover_text("a router that answers later is offered here; the table in use stays");
            }
        });
        match &self.link {
            Link::Searching => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(format!(
                        "Searching for UPnP gateways… (at most {:.0} s)",
                        self.search_secs
                    ));
                });
            }
            Link::Connecting(url) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(format!("Connecting to {url}…"));
                });
            }
            Link::NotFound(reason, diagnosis) => {
                ui.colored_label(ui.visuals().error_fg_color, format!("No gateway: {reason}"));
                if let Some(diagnosis) = diagnosis {
                    diagnosis_ui(ui, diagnosis);
                }
                ui.horizontal(|ui| {
                    if ui.button("Retry").on_hover_text("search the network again").clicked() {
                        action = Some(HeaderAction::Retry);
                    }
                    let label = ui.label("Gateway URL");
                    let edit = ui.add(
                        egui::TextEdit::singleline(&mut self.url_text)
                            .hint_text("http://192.168.1.1:5000/rootDesc.xml")
                            .desired_width(320.0),
                    );
                    let edit = edit.labelled_by(label.id);
                    let url = self.url_text.trim().to_owned();
                    let entered = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                    if (ui.add_enabled(!url.is_empty(), egui::Button::new("Connect")).clicked() || entered)
                        && !url.is_empty()
                    {
                        action = Some(HeaderAction::Connect(url));
                    }
                });
            }
            Link::Connected(connection) => self.connected_ui(ui, &connection.clone()),
        }
        action
    }

    /// A gateway answered discovery: used at once when it is the first, offered beside the
    /// one in use otherwise (the user's work is not disturbed).
    fn answered(&mut self, connection: Connection, fx: &mut Effects) {
        let d = connection.forwarder.gateway().description();
        let url = connection.forwarder.gateway().description_url().to_owned();
        if self.found.is_empty() {
            fx.log(Level::Ok, format!("{} answered first, at {url}", d.friendly_name));
            fx.push(Effect::UseGateway(connection.clone()));
        } else {
            fx.log(
                Level::Ok,
                format!("{} also answered, at {url}: choose it under Router", d.friendly_name),
            );
        }
        self.found.push(connection);
    }

    fn chooser(&self, ui: &mut egui::Ui) -> Option<HeaderAction> {
        let current = self.forwarder().map(|f| f.gateway().description_url().to_owned());
        let mut chosen = None;
        let label = ui.label("Router:");
        egui::ComboBox::from_id_salt("gateway chooser")
            .selected_text(current.as_deref().unwrap_or("choose a gateway"))
            .width(360.0)
            .show_ui(ui, |ui| {
                for f in &self.found {
                    let d = f.forwarder.gateway().description();
                    let url = f.forwarder.gateway().description_url();
                    let text = format!("{} ({}, {}) — {url}", d.friendly_name, d.model_name, d.igd_version);
                    if ui.selectable_label(current.as_deref() == Some(url), text).clicked() {
                        chosen = Some(HeaderAction::Use(f.clone()));
                    }
                }
            })
            .response
            .labelled_by(label.id);
        chosen
    }

    fn connected_ui(&self, ui: &mut egui::Ui, connection: &Connection) {
        let gateway = connection.forwarder.gateway();
        let d = gateway.description();
        ui.horizontal_wrapped(|ui| {
            ui.label("Gateway:");
            ui.strong(&d.friendly_name);
            ui.label(format!("— {} {} · {}", d.manufacturer, d.model_name, d.igd_version));
            ui.weak(gateway.description_url());
            ui.separator();
            match &self.status {
                None => {
                    ui.spinner();
                }
                Some(Ok(router)) => {
                    let status = &router.connection;
                    ui.label(format!(
                        "Status: {}{}",
                        status.status,
                        if status.uptime_secs > 0 {
                            format!(
                                " (up {})",
                                portforward::Lease::from_router(status.uptime_secs.min(u32::MAX.into()) as u32)
                            )
                        } else {
                            String::new()
                        }
                    ));
                }
                Some(Err(err)) => {
                    ui.weak("Status: unknown").on_hover_text(err);
                }
            }
        });
        ui.horizontal_wrapped(|ui| {
            ui.label("External IP:");
            match &self.external_ip {
                None => {
                    ui.spinner();
                }
                Some(Ok(Some(ip))) => {
                    ui.monospace(ip.to_string());
                    if ui.small_button("Copy").on_hover_text("copy the external IP").clicked() {
                        ui.ctx().copy_text(ip.to_string());
                    }
                }
                Some(Ok(None)) => {
                    ui.weak("none");
                }
                Some(Err(err)) => {
                    ui.colored_label(ui.visuals().error_fg_color, "unreadable")
                        .on_hover_text(err);
                }
            }
            ui.separator();
            ui.label("Local IP:");
            let local = &connection.local;
            ui.monospace(local.ip.to_string());
            if let Some(interface) = &local.interface {
                ui.weak(format!("({interface})"));
            }
            if ui.small_button("Copy").on_hover_text("copy the local IP").clicked() {
                ui.ctx().copy_text(local.ip.to_string());
            }
            ui.separator();
            ui.label("IPv6:");
            match connection.local6 {
                Some(ip) => {
                    ui.monospace(ip.to_string());
                }
                None => {
                    ui.weak("none (no stable global IPv6 address)");
                }
            }
        });
        if let Some(Ok(router)) = &self.status {
            super::router_status::ui(ui, router);
        }
        if let Some(Ok(ip)) = &self.external_ip
            && let Some(warning) = ExternalReachability::of(*ip).warning()
        {
            egui::Frame::new()
                .fill(ui.visuals().warn_fg_color.gamma_multiply(0.15))
                .inner_margin(4.0)
                .corner_radius(4.0)
                .show(ui, |ui| {
                    ui.colored_label(
                        ui.visuals().warn_fg_color,
                        format!("⚠ Forwards will not work from outside: {warning}."),
                    );
                });
        }
    }
}

/// How long the second, explaining search listens after discovery found nothing.
const DIAGNOSIS_TIME: std::time::Duration = std::time::Duration::from_secs(1);

/// What discovery tried and what came back, and what to try next.
fn diagnosis_ui(ui: &mut egui::Ui, diagnosis: &Diagnosis) {
    egui::CollapsingHeader::new("What was tried")
        .default_open(true)
        .show(ui, |ui| {
            for line in diagnosis.lines() {
                ui.label(format!("• {line}"));
            }
            for advice in diagnosis.advice() {
                ui.weak(format!("→ {advice}"));
            }
        });
}
