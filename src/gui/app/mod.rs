//! The application: the views, each with its own state and work in flight, and the little
//! that concerns them all. Data flows one way: a user action starts work in the view that owns
//! it ([`Pending`](super::pending::Pending)); the view takes the result in its `poll`, keeps
//! what is its own and pushes the rest as [`Effect`]s; the app applies those once a frame
//! ([`effects`]); the next frame draws the new state.
//!
//! `impl App` is split by role: this file (state, start, the frame's layout), [`effects`]
//! (applying effects), [`panels`] (toolbar, forms, shortcuts, reload timer), [`keep`]
//! (keep-alive, owners' stale rows, the options, removal on exit).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use portforward::upnp::DiscoveryOptions;
use portforward::{KeepAliveService, NewMapping};

use super::effects::{Effect, Effects};
use super::forms::disable::DisableForm;
use super::forms::disable_all::DisableAllForm;
use super::forms::enable::EnableForm;
use super::forms::refresh::RefreshForm;
use super::forms::{Feedback, FormContext};
use super::header::{Header, HeaderAction};
use super::live::LiveView;
use super::log::Log;
use super::mappings::{Mappings, ReadContext};
use super::pending::Work;
use super::pinholes::PinholesPanel;
use super::port_control::PortControlPanel;
use super::presets::PresetsPanel;
use super::removal::Removal;
use super::settings::Settings;
use super::table::TableAction;
use super::transfer::{TransferContext, TransferWindows};
use super::undo::Undo;

mod effects;
mod keep;
mod panels;

/// How long closing the window may wait for the router to remove this window's mappings.
const EXIT_DEADLINE: Duration = Duration::from_secs(3);

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
    Pinholes,
}

/// The window's state.
pub struct App {
    ctx: egui::Context,
    /// The work in flight of every view (for [`App::is_idle`]).
    work: Work,
    settings: Settings,
    header: Header,
    mappings: Mappings,
    tab: FormTab,
    enable: EnableForm,
    disable: DisableForm,
    disable_all: DisableAllForm,
    refresh: RefreshForm,
    presets: PresetsPanel,
    port_control: PortControlPanel,
    pinholes: PinholesPanel,
    transfer: TransferWindows,
    removal: Removal,
    undo: Undo,
    log: Log,
    /// A message about the table (reloads, removals of the selection, undo).
    status: Option<Feedback>,
    /// Whether the first frame was logged.
    first_frame_drawn: bool,
    /// When the table is next reloaded by the timer.
    next_reload: Option<Instant>,
    /// Which selection the forms were last pre-filled from.
    prefilled_generation: u64,
    /// Renews the kept mappings on its own thread (the library's); `None` until a gateway is
    /// connected. The set of kept mappings is read from it.
    keep: Option<KeepAliveService>,
    /// The router's events for the gateway in use: what to read again, and the mode shown.
    live: LiveView,
    /// The mappings this window created, for removing them when it closes.
    created: Vec<NewMapping>,
    /// How long closing waits for the router.
    exit_deadline: Duration,
}

impl App {
    /// Builds the app and starts discovery (or connecting) at once, in the background.
    pub fn new(cc: &eframe::CreationContext<'_>, start: Start) -> App {
        // Descriptions come from the router and may hold any character: one no installed font
        // can draw is shown as a box, never a crash.
        cc.egui_ctx.set_missing_glyph_policy(egui::MissingGlyphPolicy::Tofu);
        let settings = Settings::load(cc.storage);
        let url_text = start
            .gateway_url
            .clone()
            .or_else(|| settings.last_gateway_url.clone())
            .unwrap_or_default();
        let mut app = App {
            ctx: cc.egui_ctx.clone(),
            work: Work::of(&cc.egui_ctx),
            header: Header::new(start.discovery, url_text, start.demo),
            settings,
            mappings: Mappings::default(),
            tab: FormTab::Enable,
            enable: EnableForm::default(),
            disable: DisableForm::default(),
            disable_all: DisableAllForm::default(),
            refresh: RefreshForm::default(),
            presets: PresetsPanel::default(),
            port_control: PortControlPanel::default(),
            pinholes: PinholesPanel::default(),
            transfer: TransferWindows::default(),
            removal: Removal::default(),
            undo: Undo::default(),
            log: Log::new(start.log_path),
            status: None,
            first_frame_drawn: false,
            next_reload: None,
            prefilled_generation: 0,
            keep: None,
            live: LiveView::default(),
            created: Vec::new(),
            exit_deadline: EXIT_DEADLINE,
        };
        let mut fx = Effects::default();
        match start.gateway_url {
            Some(url) => app.header.connect(&cc.egui_ctx, url, &mut fx),
            None => app.header.discover(&cc.egui_ctx, &mut fx),
        }
        app.apply(&cc.egui_ctx, fx);
        app
    }

    /// Keeps presets, NAT-PMP/PCP mappings and IPv6 pinholes in the platform's config directory (read in the
    /// background); without this (as in tests) they live in memory only.
    pub fn with_saved_files(mut self) -> App {
        self.presets = PresetsPanel::open_default(&self.ctx);
        self.port_control = PortControlPanel::open_default(&self.ctx);
        self.pinholes = PinholesPanel::open_default(&self.ctx);
        self
    }

    /// Uses these presets (tests; the window uses [`App::with_saved_files`]).
    #[cfg(test)]
    pub fn with_presets(mut self, store: portforward::services::presets::PresetStore) -> App {
        self.presets = PresetsPanel::new(store);
        self
    }

    /// Reads login-time registrations and background jobs' state files here (tests: never the
    /// real home or data directory).
    #[cfg(test)]
    pub fn with_background_jobs(mut self, jobs: crate::gui::background_job::BackgroundJobs) -> App {
        self.presets.jobs = jobs;
        self
    }

    /// Waits this long for the router when closing (tests: long enough for a loaded machine).
    #[cfg(test)]
    pub fn with_exit_deadline(mut self, deadline: Duration) -> App {
        self.exit_deadline = deadline;
        self
    }

    /// The log's lines so far (tests: what happened, beyond what the panel shows now).
    #[cfg(test)]
    pub fn log_lines(&self) -> Vec<String> {
        self.log.entries.iter().map(|e| e.text.clone()).collect()
    }

    /// Whether no work is in flight and every result has been taken: what the window shows
    /// now is what it will show until something else happens (a click, a timer, keep-alive).
    pub fn is_idle(&self) -> bool {
        self.work.is_idle()
    }

    /// Takes what every view's work finished, shown or not.
    fn poll(&mut self, ctx: &egui::Context, fx: &mut Effects) {
        self.header.poll(fx);
        let due = self.live.poll(fx);
        if due.table {
            self.mappings.read(ctx, self.header.forwarder(), fx);
        }
        if due.status {
            self.header.read_info(ctx);
        }
        let read = ReadContext {
            forwarder: self.header.forwarder(),
            port_control: self.port_control.mappings(),
            keep: self.keep.as_ref(),
            reverse_dns: self.settings.reverse_dns,
        };
        self.mappings.poll(ctx, &read, fx);
        self.enable.poll(fx);
        self.disable.poll(fx);
        self.disable_all.poll(fx);
        self.refresh.poll(self.tab == FormTab::Refresh, fx);
        self.presets.poll(fx);
        self.presets.jobs.poll(&self.ctx);
        self.port_control.poll(fx);
        self.pinholes.poll(ctx, fx);
        self.removal.poll(fx);
        self.undo.poll(fx);
        self.poll_keep_alive(fx);
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
        let mut fx = Effects::default();
        self.poll(&ctx, &mut fx);
        self.shortcuts(&ctx, &mut fx);
        self.reload_timer(&ctx, &mut fx);

        egui::Panel::top("header").show(ui, |ui| {
            ui.add_space(4.0);
            match self.header.ui(ui) {
                Some(HeaderAction::Retry) => self.header.discover(&ctx, &mut fx),
                Some(HeaderAction::Connect(url)) => self.header.connect(&ctx, url, &mut fx),
                Some(HeaderAction::Use(connection)) => fx.push(Effect::UseGateway(connection)),
                None => {}
            }
            ui.add_space(4.0);
        });
        egui::Panel::bottom("log")
            .resizable(true)
            .default_size(140.0)
            .show(ui, |ui| self.log.ui(ui));
        egui::Panel::left("forms")
            .resizable(true)
            .default_size(300.0)
            .show(ui, |ui| self.forms(ui, &mut fx));
        let actions = egui::CentralPanel::default()
            .show(ui, |ui| {
                self.toolbar(ui, &mut fx);
                self.mappings.table.select_all_shown(ui);
                if self.mappings.table.loaded || self.header.forwarder().is_some() {
                    let kept = self.kept_keys();
                    let settings = &mut self.settings;
                    self.mappings.table.ui(
                        ui,
                        &mut settings.sort,
                        &mut settings.filter,
                        &kept,
                        self.presets.jobs.kept(),
                    )
                } else {
                    ui.weak("The table appears once a gateway is connected.");
                    Vec::new()
                }
            })
            .inner;
        for action in actions {
            match action {
                TableAction::DisableSelected => self.confirm_selection(),
                TableAction::Refresh(mapping) => {
                    let forwarder = self.header.forwarder().cloned();
                    let cx = FormContext::of(forwarder.as_ref());
                    self.refresh.renew(&ctx, &mapping, &cx, &mut fx);
                }
                TableAction::ToggleKeep(mapping) => self.toggle_keep(mapping, &mut fx),
            }
        }
        self.prefill_from_selection();
        self.removal.ui(&ctx, self.header.forwarder(), &mut fx);
        let selection = if self.transfer.is_open() {
            self.mappings.table.selection()
        } else {
            Vec::new()
        };
        let transfer_cx = TransferContext {
            forwarder: self.header.forwarder(),
            selection: &selection,
            presets: &self.presets.store,
            presets_busy: self.presets.writing(),
        };
        self.transfer.ui(&ctx, &transfer_cx, &mut fx);
        self.apply(&ctx, fx);
        self.log.flush(&ctx);
        if !self.is_idle() {
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
