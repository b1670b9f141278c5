//! The application: plain state plus the requests in flight. Data flows one way: a user action
//! creates a [`Task`]; its [`Outcome`] is absorbed into the state; the next frame draws it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::{Key, Modifiers};
use portforward::NewMapping;
use portforward::upnp::DiscoveryOptions;
use portforward::{Mapping, PortForwarder};

use super::forms::disable::DisableForm;
use super::forms::disable_all::{DisableAllForm, report_feedback};
use super::forms::enable::EnableForm;
use super::forms::refresh::RefreshForm;
use super::forms::{Feedback, FormContext};
use super::header::{Header, HeaderAction, Link};
use super::log::{Level, Log};
use super::port_control::PortControlPanel;
use super::presets::{PresetsContext, PresetsPanel};
use super::settings::{RELOAD_CHOICES, Settings, reload_label};
use super::table::{Table, TableAction, plural};
use super::tasks::{Kind, Outcome, Request, Task};
use super::transfer::{TransferContext, TransferWindows};

mod keep_owner;

/// How the app starts.
pub struct Start {
    /// How to discover (and talk to) gateways.
    pub discovery: DiscoveryOptions,
    /// Connect to this description URL instead of discovering.
    pub gateway_url: Option<String>,
    /// Show the DEMO badge.
    pub demo: bool,
    /// Where the log file goes (`None`: memory only).
    pub log_path: Option<PathBuf>,
}

/// The form shown in the side panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FormTab {
    Enable,
    Disable,
    DisableAll,
    Refresh,
    Presets,
    PortControl,
}

/// Which mappings a confirmation is about, and where its result goes.
struct Confirm {
    mappings: Vec<Mapping>,
    /// From the disable-all form (else: the table's selection).
    from_form: bool,
}

/// A batch of removed mappings that Undo can re-create.
struct UndoBatch {
    mappings: Vec<Mapping>,
}

/// The window's state.
pub struct App {
    settings: Settings,
    discovery: DiscoveryOptions,
    header: Header,
    table: Table,
    tab: FormTab,
    enable: EnableForm,
    disable: DisableForm,
    disable_all: DisableAllForm,
    refresh: RefreshForm,
    presets: PresetsPanel,
    port_control: PortControlPanel,
    transfer: TransferWindows,
    log: Log,
    tasks: Vec<Task>,
    /// The last mapping enabled in this session (disable's and refresh's default).
    last_enable: Option<NewMapping>,
    /// A removal waiting for the user's yes.
    confirm: Option<Confirm>,
    /// Where the result of the removal in flight goes.
    removal_from_form: bool,
    /// Removed mappings, newest last, for Undo.
    undo: Vec<UndoBatch>,
    /// The batch being restored, put back if the restore fails entirely.
    restoring: Option<UndoBatch>,
    /// A message about the table (reloads, removals of the selection, undo).
    status: Option<Feedback>,
    /// The table's last read failure.
    table_error: Option<String>,
    /// What the last reading of the table noticed (a truncated walk, a fallback, …).
    table_warnings: Vec<String>,
    /// Whether the first frame was logged.
    first_frame_drawn: bool,
    /// When the table is next reloaded by the timer.
    next_reload: Option<Instant>,
    /// Which selection the forms were last pre-filled from.
    prefilled_generation: u64,
    /// The owner lookup of the last reading of the table, on a worker.
    owners: super::owners::OwnerLookup,
    /// Renews the kept mappings on its own thread; `None` until a gateway is connected.
    keep_alive: Option<super::keepalive::KeepAliveWorker>,
    /// The mappings this window created, for removing them when it closes.
    created: Vec<NewMapping>,
}

impl App {
    /// Builds the app and starts discovery (or connecting) at once, in the background.
    pub fn new(cc: &eframe::CreationContext<'_>, start: Start) -> App {
        // Descriptions come from the router and may hold any character: one no installed font
        // can draw is shown as a box, never a crash.
        cc.egui_ctx.set_missing_glyph_policy(egui::MissingGlyphPolicy::Tofu);
        let settings = Settings::load(cc.storage);
        let mut app = App {
            header: Header {
                link: Link::Searching,
                found: Vec::new(),
                external_ip: None,
                status: None,
                url_text: start
                    .gateway_url
                    .clone()
                    .or_else(|| settings.last_gateway_url.clone())
                    .unwrap_or_default(),
                search_secs: start.discovery.timeout.as_secs_f32(),
                demo: start.demo,
            },
            settings,
            discovery: start.discovery,
            table: Table::default(),
            tab: FormTab::Enable,
            enable: EnableForm::default(),
            disable: DisableForm::default(),
            disable_all: DisableAllForm::default(),
            refresh: RefreshForm::default(),
            presets: PresetsPanel::default(),
            port_control: PortControlPanel::default(),
            transfer: TransferWindows::default(),
            log: Log::new(start.log_path),
            tasks: Vec::new(),
            last_enable: None,
            confirm: None,
            removal_from_form: true,
            undo: Vec::new(),
            restoring: None,
            status: None,
            table_error: None,
            table_warnings: Vec::new(),
            first_frame_drawn: false,
            next_reload: None,
            prefilled_generation: 0,
            owners: Default::default(),
            keep_alive: None,
            created: Vec::new(),
        };
        match start.gateway_url {
            Some(url) => app.start_connect(&cc.egui_ctx, url),
            None => app.start_discovery(&cc.egui_ctx),
        }
        app
    }

    /// Keeps presets and NAT-PMP/PCP mappings in the platform's config directory; without
    /// this (as in tests) they live in memory only.
    pub fn with_saved_files(mut self) -> App {
        self.presets = PresetsPanel::open_default();
        self.port_control = PortControlPanel::open_default();
        self
    }

    /// Uses these presets (tests; the window uses [`App::with_saved_files`]).
    #[cfg(test)]
    pub fn with_presets(mut self, store: portforward::services::presets::PresetStore) -> App {
        self.presets = PresetsPanel::new(store);
        self
    }

    fn busy(&self, kind: Kind) -> bool {
        self.tasks.iter().any(|t| t.kind == kind)
    }

    /// Starts a request, unless one of its kind is already in flight (no double submits).
    fn spawn(&mut self, ctx: &egui::Context, request: Request) {
        let kind = request.kind();
        if self.busy(kind) {
            return;
        }
        let forwarder = self.header.forwarder().cloned();
        if request.needs_gateway() && forwarder.is_none() {
            return;
        }
        if let Some(text) = describe(&request) {
            self.log.push(Level::Request, text);
        }
        self.tasks.push(Task::spawn(request, forwarder, ctx));
    }

    fn start_discovery(&mut self, ctx: &egui::Context) {
        self.header.link = Link::Searching;
        self.spawn(ctx, Request::Discover(self.discovery));
    }

    fn start_connect(&mut self, ctx: &egui::Context, url: String) {
        self.header.link = Link::Connecting(url.clone());
        self.spawn(ctx, Request::Connect(url, self.discovery));
    }

    fn use_gateway(&mut self, ctx: &egui::Context, forwarder: Arc<PortForwarder>) {
        let url = forwarder.gateway().description_url().to_owned();
        self.log.push(
            Level::Ok,
            format!(
                "using {} at {url}; this computer is {}",
                forwarder.gateway().description().friendly_name,
                forwarder.local_ip()
            ),
        );
        self.settings.last_gateway_url = Some(url);
        self.table = Table::default();
        self.table.local_ip = Some(forwarder.local_ip());
        self.start_keep_alive(ctx, &forwarder);
        self.header.external_ip = None;
        self.header.status = None;
        self.last_enable = None;
        self.header.link = Link::Connected(forwarder);
        self.reload(ctx);
    }

    /// Reads the table and the header's facts again.
    fn reload(&mut self, ctx: &egui::Context) {
        self.spawn(ctx, Request::List);
        self.spawn(ctx, Request::Info);
    }

    /// Absorbs finished tasks into the state.
    fn poll_tasks(&mut self, ctx: &egui::Context) {
        let mut finished = Vec::new();
        self.tasks.retain_mut(|task| match task.poll() {
            Some(outcome) => {
                finished.push((task.kind, outcome));
                false
            }
            None => true,
        });
        for (kind, outcome) in finished {
            self.absorb(ctx, kind, outcome);
        }
    }

    fn absorb(&mut self, ctx: &egui::Context, kind: Kind, outcome: Outcome) {
        match outcome {
            Outcome::Found(Ok(mut found)) => {
                self.log
                    .push(Level::Ok, format!("discovery found {}", plural(found.len(), "gateway")));
                self.header.found = found.clone();
                if found.len() == 1 {
                    self.use_gateway(ctx, found.remove(0));
                } else {
                    self.header.link = Link::Choosing;
                }
            }
            Outcome::Found(Err(err)) | Outcome::Connected(Err(err)) => {
                self.log.push(Level::Error, err.to_string());
                self.header.link = Link::NotFound(err.to_string());
            }
            Outcome::Connected(Ok(forwarder)) => {
                if !self.header.found.iter().any(|f| Arc::ptr_eq(f, &forwarder)) {
                    self.header.found.push(forwarder.clone());
                }
                self.use_gateway(ctx, forwarder);
            }
            Outcome::Info { external_ip, status } => {
                if let Err(err) = &external_ip {
                    self.log.push(Level::Warning, format!("external IP: {err}"));
                }
                self.header.external_ip = Some(external_ip.map_err(|e| e.to_string()));
                self.header.status = Some(status.map_err(|e| e.to_string()));
            }
            Outcome::Table(Ok(table)) => {
                for warning in &table.warnings {
                    self.log.push(Level::Warning, warning.clone());
                }
                self.log
                    .push(Level::Ok, format!("read {}", plural(table.mappings.len(), "mapping")));
                let marked = portforward::services::mark_port_control(table.mappings, self.port_control.mappings());
                self.after_table_read(ctx, &marked.mappings);
                self.table.load(marked.mappings);
                self.table.via = marked.via;
                self.table_error = None;
                self.table_warnings = table.warnings;
            }
            Outcome::Table(Err(err)) => {
                self.log.push(Level::Error, format!("reading the table: {err}"));
                self.table_error = Some(err.to_string());
            }
            Outcome::Enabled(result) => {
                self.enable.feedback = Some(match result {
                    Ok(enabled) => {
                        let r = &enabled.request;
                        let outside = enabled.external_ip.map_or("the router".to_owned(), |ip| ip.to_string());
                        let text = format!(
                            "Forwarded {outside}:{}/{} to {}:{} ({}).",
                            r.external_port,
                            r.protocol,
                            r.internal_ip,
                            r.internal_port,
                            if enabled.mapping.lease.is_permanent() {
                                "permanent".to_owned()
                            } else {
                                format!("lease {}", enabled.mapping.lease)
                            }
                        );
                        self.log.push(Level::Ok, text.clone());
                        self.note_created(&enabled.request);
                        self.last_enable = Some(enabled.request);
                        Feedback::ok(text)
                    }
                    Err(err) => self.failed(err.to_string()),
                });
                self.after_change(ctx);
            }
            Outcome::Disabled(result) => {
                self.disable.feedback = Some(match result {
                    Ok(mapping) => {
                        let text = format!("Removed {mapping}. Undo puts it back.");
                        self.log.push(Level::Ok, format!("removed {mapping}"));
                        self.forget_last_enable_if(&mapping);
                        self.note_removed(&mapping);
                        self.undo.push(UndoBatch {
                            mappings: vec![mapping],
                        });
                        Feedback::ok(text)
                    }
                    Err(err) => self.failed(err.to_string()),
                });
                self.after_change(ctx);
            }
            Outcome::Preview(Ok(mappings)) => {
                self.log.push(
                    Level::Ok,
                    format!("{} match the filters", plural(mappings.len(), "mapping")),
                );
                if mappings.is_empty() {
                    self.disable_all.feedback =
                        Some(Feedback::ok("No mapping matches these filters: nothing to remove."));
                } else {
                    self.disable_all.feedback = None;
                    self.confirm = Some(Confirm {
                        mappings,
                        from_form: true,
                    });
                }
            }
            Outcome::Preview(Err(err)) => self.disable_all.feedback = Some(self.failed(err.to_string())),
            Outcome::Removed(report) => {
                for (mapping, reason) in &report.failed {
                    self.log
                        .push(Level::Error, format!("refused removing {mapping}: {reason}"));
                }
                self.log
                    .push(Level::Ok, format!("removed {}", plural(report.done.len(), "mapping")));
                for mapping in &report.done {
                    self.forget_last_enable_if(mapping);
                    self.note_removed(mapping);
                }
                let feedback = report_feedback(&report, "Removed");
                if !report.done.is_empty() {
                    self.undo.push(UndoBatch { mappings: report.done });
                }
                if self.removal_from_form {
                    self.disable_all.feedback = Some(feedback);
                } else {
                    self.status = Some(feedback);
                }
                self.after_change(ctx);
            }
            Outcome::Refreshed(result) => {
                let feedback = match result {
                    Ok(enabled) => {
                        let text = format!(
                            "Renewed {}/{}: {}.",
                            enabled.request.external_port,
                            enabled.request.protocol,
                            if enabled.mapping.lease.is_permanent() {
                                "permanent".to_owned()
                            } else {
                                format!("{} left", enabled.mapping.lease)
                            }
                        );
                        self.log.push(Level::Ok, text.clone());
                        Feedback::ok(text)
                    }
                    Err(err) => self.failed(err.to_string()),
                };
                self.refresh.feedback = Some(feedback.clone());
                if self.tab != FormTab::Refresh {
                    self.status = Some(feedback);
                }
                self.after_change(ctx);
            }
            Outcome::Restored(report) => {
                for (mapping, reason) in &report.failed {
                    self.log
                        .push(Level::Error, format!("could not restore {mapping}: {reason}"));
                }
                self.log
                    .push(Level::Ok, format!("restored {}", plural(report.done.len(), "mapping")));
                if report.done.is_empty()
                    && let Some(batch) = self.restoring.take()
                {
                    // Nothing came back: keep the batch so the user can try again.
                    self.undo.push(batch);
                }
                self.restoring = None;
                self.status = Some(report_feedback(&report, "Restored"));
                self.after_change(ctx);
            }
            Outcome::Crashed(text) => {
                let feedback = self.failed(format!("internal error: {text}"));
                match kind {
                    Kind::Enable => self.enable.feedback = Some(feedback),
                    Kind::Disable => self.disable.feedback = Some(feedback),
                    Kind::DisableAll => self.disable_all.feedback = Some(feedback),
                    Kind::Refresh => self.refresh.feedback = Some(feedback),
                    Kind::Connect => self.header.link = Link::NotFound(feedback.text),
                    Kind::Info | Kind::List | Kind::Restore => self.status = Some(feedback),
                }
            }
        }
    }

    /// Logs an error and turns it into a message.
    fn failed(&mut self, text: String) -> Feedback {
        self.log.push(Level::Error, text.clone());
        Feedback::error(text)
    }

    fn forget_last_enable_if(&mut self, mapping: &Mapping) {
        if self.last_enable.as_ref().is_some_and(|l| l.key() == mapping.key()) {
            self.last_enable = None;
        }
    }

    /// After every change the table is read again, so it shows what the router really did.
    fn after_change(&mut self, ctx: &egui::Context) {
        self.spawn(ctx, Request::List);
    }

    /// Keyboard shortcuts: F5 / Ctrl+R reload, Ctrl+F filter, Delete removes the selection.
    fn shortcuts(&mut self, ctx: &egui::Context) {
        let reload =
            ctx.input_mut(|i| i.consume_key(Modifiers::COMMAND, Key::R) || i.consume_key(Modifiers::NONE, Key::F5));
        if reload && self.header.forwarder().is_some() {
            self.reload(ctx);
        }
        if ctx.input_mut(|i| i.consume_key(Modifiers::COMMAND, Key::F)) {
            self.table.focus_filter = true;
        }
        // Delete in a text field edits the text; only elsewhere does it remove mappings.
        let typing = ctx.memory(|m| m.focused().is_some());
        if !typing && self.confirm.is_none() && ctx.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Delete)) {
            self.confirm_selection();
        }
    }

    fn confirm_selection(&mut self) {
        let mappings = self.table.selection();
        if !mappings.is_empty() {
            self.confirm = Some(Confirm {
                mappings,
                from_form: false,
            });
        }
    }

    /// The timer reload: due now, or a wake-up scheduled for when it is.
    fn reload_timer(&mut self, ctx: &egui::Context) {
        let Some(secs) = self.settings.reload_secs else {
            self.next_reload = None;
            return;
        };
        if self.header.forwarder().is_none() || self.busy(Kind::List) {
            return;
        }
        let interval = Duration::from_secs(secs.into());
        let now = Instant::now();
        let due = *self.next_reload.get_or_insert(now + interval);
        if now >= due {
            self.next_reload = Some(now + interval);
            self.reload(ctx);
        } else {
            ctx.request_repaint_after(due - now);
        }
    }

    fn toolbar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            let connected = self.header.forwarder().is_some();
            let loading = self.busy(Kind::List);
            if ui
                .add_enabled(connected && !loading, egui::Button::new("Reload"))
                .on_hover_text("read the router's table again (F5, Ctrl+R)")
                .clicked()
            {
                self.reload(ui.ctx());
            }
            if loading {
                ui.spinner();
            }
            self.transfer.buttons(ui);
            let label = ui.label("Auto-reload:");
            let before = self.settings.reload_secs;
            egui::ComboBox::from_id_salt("reload interval")
                .selected_text(reload_label(self.settings.reload_secs))
                .show_ui(ui, |ui| {
                    for choice in RELOAD_CHOICES {
                        ui.selectable_value(&mut self.settings.reload_secs, choice, reload_label(choice));
                    }
                })
                .response
                .labelled_by(label.id);
            if self.settings.reload_secs != before {
                self.next_reload = None;
            }
            if let Some(batch) = self.undo.last() {
                let busy = self.busy(Kind::Restore);
                let text = format!("Undo: restore {}", plural(batch.mappings.len(), "mapping"));
                let hover: Vec<String> = batch.mappings.iter().map(ToString::to_string).collect();
                if ui
                    .add_enabled(!busy && connected, egui::Button::new(text))
                    .on_hover_text(hover.join("\n"))
                    .clicked()
                    && let Some(batch) = self.undo.pop()
                {
                    let request = Request::Restore(batch.mappings.clone());
                    self.restoring = Some(batch);
                    self.spawn(ui.ctx(), request);
                }
                if busy {
                    ui.spinner();
                }
            }
            self.keep_owner_toolbar(ui);
        });
        if let Some(status) = &self.status {
            status.ui(ui);
        }
        if let Some(err) = &self.table_error {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("✖ Could not read the table: {err}"),
            );
        }
        for warning in &self.table_warnings {
            ui.colored_label(ui.visuals().warn_fg_color, format!("⚠ {warning}"));
        }
    }

    fn forms(&mut self, ui: &mut egui::Ui) -> Option<Request> {
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.tab, FormTab::Enable, "Enable");
            ui.selectable_value(&mut self.tab, FormTab::Disable, "Disable");
            ui.selectable_value(&mut self.tab, FormTab::DisableAll, "Disable all");
            ui.selectable_value(&mut self.tab, FormTab::Refresh, "Refresh");
            ui.selectable_value(&mut self.tab, FormTab::Presets, "Presets");
            ui.selectable_value(&mut self.tab, FormTab::PortControl, "NAT-PMP/PCP");
        });
        ui.separator();
        let local_ip = self.header.forwarder().map(|f| f.local_ip());
        let connected = local_ip.is_some();
        let busy = |kind| self.tasks.iter().any(|t| t.kind == kind);
        let cx = |kind| FormContext {
            connected,
            busy: busy(kind),
            local_ip,
            last_enable: self.last_enable.as_ref(),
        };
        let selection = match self.tab {
            FormTab::Presets => self.table.selection(),
            _ => Vec::new(),
        };
        let upnp_gateway = self.header.forwarder().and_then(|f| match f.gateway().addr().ip() {
            std::net::IpAddr::V4(ip) => Some(ip),
            std::net::IpAddr::V6(_) => None,
        });
        let mut presets_changed = false;
        let mut port_control_changed = false;
        let request = egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| match self.tab {
                FormTab::Enable => {
                    ui.weak("Forward a port to this computer or another LAN host. Leave a field empty for the automatic choice shown.");
                    self.enable.ui(ui, &cx(Kind::Enable))
                }
                FormTab::Disable => {
                    ui.weak("Remove one mapping. Select a row to fill this in.");
                    self.disable.ui(ui, &cx(Kind::Disable))
                }
                FormTab::DisableAll => {
                    ui.weak("Remove every mapping matching ALL the given fields. You see the list before anything is removed.");
                    self.disable_all.ui(ui, &cx(Kind::DisableAll))
                }
                FormTab::Refresh => {
                    ui.weak("Renew a mapping's lease in place. Select a row to fill this in.");
                    self.refresh.ui(ui, &cx(Kind::Refresh))
                }
                FormTab::Presets => {
                    let mut presets_cx = PresetsContext {
                        forwarder: self.header.forwarder(),
                        selection: &selection,
                        log: &mut self.log,
                    };
                    presets_changed = self.presets.ui(ui, &mut presets_cx);
                    None
                }
                FormTab::PortControl => {
                    port_control_changed = self.port_control.ui(ui, upnp_gateway, &mut self.log);
                    None
                }
            })
            .inner;
        if presets_changed {
            self.after_change(ui.ctx());
        }
        if port_control_changed {
            self.port_control_changed(ui.ctx());
        }
        request
    }

    /// NAT-PMP/PCP mappings changed: read the table again (the router may list them), or,
    /// without a UPnP gateway, show them alone.
    fn port_control_changed(&mut self, ctx: &egui::Context) {
        if self.header.forwarder().is_some() {
            self.after_change(ctx);
        } else {
            let marked = portforward::services::mark_port_control(Vec::new(), self.port_control.mappings());
            self.table.load(marked.mappings);
            self.table.via = marked.via;
        }
    }

    /// The confirmation of a removal: exactly which mappings will go.
    fn confirm_ui(&mut self, ctx: &egui::Context) -> Option<Request> {
        let confirm = self.confirm.as_ref()?;
        let mut decision = None;
        let modal = egui::Modal::new(egui::Id::unique("confirm removal")).show(ctx, |ui| {
            ui.set_max_width(620.0);
            ui.heading(format!("Remove {}?", plural(confirm.mappings.len(), "mapping")));
            ui.label("These mappings will be removed from the router:");
            let row_height = ui.text_style_height(&egui::TextStyle::Monospace);
            egui::ScrollArea::vertical().max_height(320.0).show_rows(
                ui,
                row_height,
                confirm.mappings.len(),
                |ui, range| {
                    for mapping in &confirm.mappings[range] {
                        ui.monospace(mapping.to_string());
                    }
                },
            );
            ui.weak("Other programs may rely on their mappings. Undo can re-create what is removed.");
            ui.horizontal(|ui| {
                let remove = egui::Button::new(
                    egui::RichText::new(format!("Remove {}", plural(confirm.mappings.len(), "mapping")))
                        .color(ui.visuals().error_fg_color),
                );
                if ui.add(remove).clicked() {
                    decision = Some(true);
                }
                if ui.button("Cancel").clicked() {
                    decision = Some(false);
                }
            });
        });
        if modal.should_close() && decision.is_none() {
            decision = Some(false);
        }
        let confirm = match decision {
            Some(_) => self.confirm.take()?,
            None => return None,
        };
        if decision == Some(true) {
            self.removal_from_form = confirm.from_form;
            Some(Request::Remove(confirm.mappings))
        } else {
            self.log.push(Level::Request, "removal cancelled");
            None
        }
    }

    /// When the selection changes, the disable and refresh forms take its first row.
    fn prefill_from_selection(&mut self) {
        if self.table.selection_generation == self.prefilled_generation {
            return;
        }
        self.prefilled_generation = self.table.selection_generation;
        if let Some(first) = self.table.selection().first() {
            self.disable.prefill(first);
            self.refresh.prefill(first);
        }
    }
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        if !self.first_frame_drawn {
            // For measuring cold start (tests/real-gateway/bench-window.sh reads it with -v).
            let unix_micros = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_micros());
            tracing::info!(unix_micros, "first frame");
            self.first_frame_drawn = true;
        }
        let ctx = ui.ctx().clone();
        self.poll_tasks(&ctx);
        self.poll_owners_and_keep_alive(&ctx);
        self.shortcuts(&ctx);
        self.reload_timer(&ctx);

        egui::Panel::top("header").show(ui, |ui| {
            ui.add_space(4.0);
            match self.header.ui(ui) {
                Some(HeaderAction::Retry) => self.start_discovery(&ctx),
                Some(HeaderAction::Connect(url)) => self.start_connect(&ctx, url),
                Some(HeaderAction::Use(forwarder)) => self.use_gateway(&ctx, forwarder),
                None => {}
            }
            ui.add_space(4.0);
        });
        egui::Panel::bottom("log")
            .resizable(true)
            .default_size(140.0)
            .show(ui, |ui| self.log.ui(ui));
        let submitted = egui::Panel::left("forms")
            .resizable(true)
            .default_size(340.0)
            .show(ui, |ui| self.forms(ui))
            .inner;
        let actions = egui::CentralPanel::default()
            .show(ui, |ui| {
                self.toolbar(ui);
                self.table.select_all_shown(ui);
                if self.table.loaded || self.header.forwarder().is_some() {
                    self.table.ui(ui, &mut self.settings.sort, &mut self.settings.filter)
                } else {
                    ui.weak("The table appears once a gateway is connected.");
                    Vec::new()
                }
            })
            .inner;
        if let Some(request) = submitted {
            if let Request::Remove(_) | Request::Preview(_) = &request {
                self.removal_from_form = true;
            }
            self.spawn(&ctx, request);
        }
        for action in actions {
            match action {
                TableAction::DisableSelected => self.confirm_selection(),
                TableAction::Refresh(mapping) => {
                    let request = self.refresh.request_for(&mapping);
                    self.spawn(&ctx, request);
                }
                TableAction::ToggleKeep(mapping) => self.toggle_keep(mapping),
            }
        }
        self.prefill_from_selection();
        if let Some(request) = self.confirm_ui(&ctx) {
            self.spawn(&ctx, request);
        }
        let selection = if self.transfer.is_open() {
            self.table.selection()
        } else {
            Vec::new()
        };
        let mut transfer_cx = TransferContext {
            forwarder: self.header.forwarder(),
            selection: &selection,
            presets: &mut self.presets.store,
            log: &mut self.log,
        };
        if self.transfer.ui(&ctx, &mut transfer_cx) {
            self.after_change(&ctx);
        }
        let panels_busy = self.presets.busy() || self.port_control.busy() || self.transfer.busy();
        if !self.tasks.is_empty() || panels_busy {
            // The worker wakes the window when done; this is the fallback while spinners turn.
            ctx.request_repaint_after(Duration::from_millis(100));
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.settings.save(storage);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.exit_cleanup();
    }
}

/// A request as the log shows it (`None` for the frequent background reads).
fn describe(request: &Request) -> Option<String> {
    Some(match request {
        Request::Discover(options) => format!(
            "searching for gateways (via {}, at most {:.1} s)",
            options.search_addr,
            options.timeout.as_secs_f32()
        ),
        Request::Connect(url, _) => format!("connecting to {url}"),
        Request::Info => return None,
        Request::List => "reading the table".to_owned(),
        Request::Enable(r) => format!(
            "enable external port {} → {}:{} {} \"{}\" lease {}",
            r.external_port.map_or("auto".to_owned(), |p| p.to_string()),
            r.internal_ip.map_or("this computer".to_owned(), |ip| ip.to_string()),
            r.internal_port.map_or("auto".to_owned(), |p| p.to_string()),
            r.protocol,
            r.description
                .as_ref()
                .map_or(portforward::DEFAULT_DESCRIPTION, |d| d.as_str()),
            r.lease.unwrap_or(portforward::Lease::DEFAULT)
        ),
        Request::Disable(Some(port), protocol) => format!("disable {port}/{protocol}"),
        Request::Disable(None, protocol) => format!("disable the last enabled mapping ({protocol})"),
        Request::Preview(filter) => format!("preview disable-all: {}", describe_filter(filter)),
        Request::Remove(mappings) => format!("remove {}", plural(mappings.len(), "mapping")),
        Request::Refresh(Some(r)) => format!(
            "refresh {}/{}",
            r.external_port.map_or("last".to_owned(), |p| p.to_string()),
            r.protocol
        ),
        Request::Refresh(None) => "refresh the last enabled mapping".to_owned(),
        Request::Restore(mappings) => format!("undo: restore {}", plural(mappings.len(), "mapping")),
    })
}

/// A disable-all filter in words, for the log.
fn describe_filter(filter: &portforward::MappingFilter) -> String {
    let mut parts = Vec::new();
    if let Some(p) = filter.external_port {
        parts.push(format!("external port {p}"));
    }
    if let Some(ip) = &filter.internal_ip {
        parts.push(format!("internal IP {ip}"));
    }
    if let Some(p) = filter.internal_port {
        parts.push(format!("internal port {p}"));
    }
    if let Some(p) = filter.protocol {
        parts.push(p.to_string());
    }
    if let Some(d) = &filter.description {
        parts.push(format!("description \"{d}\""));
    }
    if parts.is_empty() {
        "every mapping".to_owned()
    } else {
        parts.join(", ")
    }
}
