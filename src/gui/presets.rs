//! The Presets tab: saved sets of mappings, applied in one click (with a spinner and a result
//! per row), made from the table's selection, edited in a window, deleted after a yes. The
//! presets file is read and written on a worker: the store changes when the write is done.

use std::sync::Arc;

use portforward::services::presets::{Preset, PresetMapping, PresetStore, PresetTarget};
use portforward::{BulkReport, Description, Error, InputError, Lease, Mapping, Port, PortForwarder, Protocol};

use super::effects::{Effect, Effects};
use super::forms::Feedback;
use super::log::Level;
use super::pending::{Pending, open_store, take};
use super::table::plural;

/// What the tab needs from the rest of the window.
pub struct PresetsContext<'a> {
    /// The connected gateway, if any.
    pub forwarder: Option<&'a Arc<PortForwarder>>,
    /// The table's selected rows (for "new from selection").
    pub selection: &'a [Mapping],
    /// Whether the presets file is being written elsewhere (a second writer waits).
    pub busy_elsewhere: bool,
}

/// A preset being applied.
struct Applying {
    name: String,
    pending: Pending<BulkReport>,
}

/// What a write of the presets file was for.
enum Write {
    /// The editor's save of this preset.
    Save(String),
    /// The deletion of this preset.
    Delete(String),
}

/// Saves `preset` (replacing the one called `replacing`) into a copy of `store` on a worker;
/// the copy, written, comes back to replace the store.
pub fn save_in_background(
    ctx: &egui::Context,
    store: &PresetStore,
    preset: Preset,
    replacing: Option<String>,
) -> Pending<Result<PresetStore, Error>> {
    let mut store = store.clone();
    Pending::spawn(ctx, "save preset", move || {
        store.save(preset, replacing.as_deref())?;
        Ok(store)
    })
}

/// The tab's state.
#[derive(Default)]
pub struct PresetsPanel {
    /// The saved presets.
    pub store: PresetStore,
    /// Why the presets file could not be read (the store is then in memory only).
    pub load_error: Option<String>,
    /// Reading the presets file.
    opening: Option<Pending<Result<PresetStore, String>>>,
    /// Writing it, and why.
    writing: Option<(Write, Pending<Result<PresetStore, Error>>)>,
    editor: Option<PresetEditor>,
    applying: Option<Applying>,
    /// The last apply: which preset, and what happened to each row.
    last_apply: Option<(String, BulkReport)>,
    /// The preset whose deletion waits for a yes.
    confirm_delete: Option<String>,
    feedback: Option<Feedback>,
    /// The login-time registrations, and what running background jobs keep.
    pub jobs: super::background_job::BackgroundJobs,
}

impl PresetsPanel {
    /// A tab over `store`.
    #[cfg(test)]
    pub fn new(store: PresetStore) -> PresetsPanel {
        PresetsPanel {
            store,
            ..PresetsPanel::default()
        }
    }

    /// Reads the presets in the platform's config directory in the background; if they cannot
    /// be read, the store stays empty in memory and the reason is shown in the tab (the file is
    /// never overwritten then).
    pub fn open_default(ctx: &egui::Context) -> PresetsPanel {
        PresetsPanel {
            opening: Some(open_store(
                ctx,
                "open presets",
                PresetStore::default_path,
                PresetStore::open,
            )),
            ..PresetsPanel::default()
        }
    }

    /// Whether the presets file is being written (another writer waits for it).
    pub fn writing(&self) -> bool {
        self.writing.is_some() || self.opening.is_some()
    }

    /// Takes finished work: the file read or written, an apply; the apply changes the table.
    pub fn poll(&mut self, fx: &mut Effects) {
        if let Some(opened) = take(&mut self.opening) {
            match opened.unwrap_or_else(|crash| Err(format!("internal error: {crash}"))) {
                Ok(store) => self.store = store,
                Err(reason) => self.load_error = Some(format!("cannot keep presets: {reason}")),
            }
        }
        self.poll_write(fx);
        let Some(applying) = &mut self.applying else {
            return;
        };
        let Some(result) = applying.pending.poll() else {
            return;
        };
        let name = std::mem::take(&mut applying.name);
        self.applying = None;
        match result {
            Ok(report) => {
                for (mapping, why) in &report.failed {
                    fx.log(Level::Error, format!("preset \"{name}\": {mapping}: {why}"));
                }
                fx.log(
                    Level::Ok,
                    format!("preset \"{name}\": added {}", plural(report.done.len(), "mapping")),
                );
                self.feedback = None;
                self.last_apply = Some((name, report));
            }
            Err(crash) => {
                self.feedback = Some(fx.failed(format!("internal error applying \"{name}\": {crash}")));
            }
        }
        fx.push(Effect::TableChanged);
    }

    fn poll_write(&mut self, fx: &mut Effects) {
        let Some((_, pending)) = &mut self.writing else {
            return;
        };
        let Some(result) = pending.poll() else {
            return;
        };
        let Some((write, _)) = self.writing.take() else {
            return;
        };
        let result = result
            .map_err(|crash| format!("internal error: {crash}"))
            .and_then(|written| written.map_err(|e| e.to_string()));
        match (write, result) {
            (Write::Save(name), Ok(store)) => {
                self.store = store;
                fx.log(Level::Ok, format!("saved preset \"{name}\""));
                self.feedback = Some(Feedback::ok(format!("Saved preset \"{name}\".")));
                self.editor = None;
            }
            (Write::Save(_), Err(err)) => match &mut self.editor {
                Some(editor) => editor.error = Some(err),
                None => self.feedback = Some(Feedback::error(err)),
            },
            (Write::Delete(name), Ok(store)) => {
                self.store = store;
                fx.log(Level::Ok, format!("deleted preset \"{name}\""));
                self.feedback = Some(Feedback::ok(format!("Deleted preset \"{name}\".")));
            }
            (Write::Delete(_), Err(err)) => self.feedback = Some(Feedback::error(err)),
        }
    }

    /// Draws the tab (and the editor window).
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &PresetsContext<'_>, fx: &mut Effects) {
        ui.weak(
            "Named sets of mappings, applied in one click. \"This computer\" is whichever computer applies the preset.",
        );
        if let Some(error) = &self.load_error {
            Feedback::error(format!("{error} (presets are kept in memory until this is fixed)")).ui(ui);
        }
        ui.horizontal(|ui| {
            if ui.button("New preset").clicked() {
                self.editor = Some(PresetEditor::new(None, "", Vec::new()));
            }
            let from_selection = ui
                .add_enabled(!cx.selection.is_empty(), egui::Button::new("New from selection"))
                .on_disabled_hover_text("select rows in the table first")
                .on_hover_text("a preset with the selected rows");
            if from_selection.clicked() {
                let local_ip = cx.forwarder.map(|f| f.local_ip());
                let rows: Vec<PresetMapping> = cx
                    .selection
                    .iter()
                    .filter_map(|m| PresetMapping::from_mapping(m, local_ip))
                    .collect();
                self.editor = Some(PresetEditor::new(None, "", rows));
            }
        });
        ui.separator();
        if self.store.presets().is_empty() {
            ui.weak("No presets yet.");
        }
        let mut apply = None;
        let mut edit = None;
        let mut delete = None;
        for preset in self.store.presets() {
            ui.push_id(&preset.name, |ui| {
                ui.horizontal(|ui| {
                    ui.strong(&preset.name);
                    ui.weak(plural(preset.mappings.len(), "mapping"));
                });
                for m in &preset.mappings {
                    ui.weak(m.to_string());
                }
                ui.horizontal(|ui| {
                    let applying_this = self.applying.as_ref().is_some_and(|a| a.name == preset.name);
                    let button = ui
                        .add_enabled(
                            cx.forwarder.is_some() && self.applying.is_none(),
                            egui::Button::new(format!("Apply \"{}\"", preset.name)),
                        )
                        .on_disabled_hover_text("connect to a gateway first (one apply at a time)");
                    if button.clicked() {
                        apply = Some(preset.clone());
                    }
                    if applying_this {
                        ui.spinner();
                        ui.weak("applying…");
                    }
                    if ui.button("Edit").clicked() {
                        edit = Some(preset.clone());
                    }
                    if ui.button("Delete").clicked() {
                        self.confirm_delete = Some(preset.name.clone());
                    }
                });
                let mut at_login = self.jobs.is_registered(&preset.name);
                if ui
                    .checkbox(&mut at_login, "Keep forwarded at login")
                    .on_hover_text(format!(
                        "runs `portforward keep --preset \"{}\"` at each login, with no window \
                         (same as `portforward autostart enable`)",
                        preset.name
                    ))
                    .changed()
                {
                    match self.jobs.set_registered(&preset.name, at_login) {
                        Ok(done) => fx.log(Level::Ok, done),
                        Err(why) => fx.log(Level::Error, format!("keep forwarded at login: {why}")),
                    }
                }
                if let Some((name, report)) = &self.last_apply
                    && *name == preset.name
                {
                    report_ui(ui, report);
                }
                if self.confirm_delete.as_deref() == Some(preset.name.as_str()) {
                    ui.horizontal(|ui| {
                        ui.label(format!("Delete \"{}\"? The router is not changed.", preset.name));
                    });
                    ui.horizontal(|ui| {
                        if ui
                            .button(egui::RichText::new("Delete preset").color(ui.visuals().error_fg_color))
                            .clicked()
                        {
                            delete = Some(preset.name.clone());
                        }
                        if ui.button("Cancel").clicked() {
                            self.confirm_delete = None;
                        }
                    });
                }
                ui.separator();
            });
        }
        if let Some(name) = delete
            && self.writing.is_none()
            && !cx.busy_elsewhere
        {
            self.confirm_delete = None;
            let mut store = self.store.clone();
            let deleting = name.clone();
            let pending = Pending::spawn(ui.ctx(), "delete preset", move || {
                store.delete(&deleting)?;
                Ok(store)
            });
            self.writing = Some((Write::Delete(name), pending));
        }
        if let Some(preset) = edit {
            self.editor = Some(PresetEditor::new(
                Some(preset.name.clone()),
                &preset.name,
                preset.mappings.clone(),
            ));
        }
        if let (Some(preset), Some(forwarder)) = (apply, cx.forwarder) {
            fx.log(
                Level::Request,
                format!(
                    "apply preset \"{}\" ({})",
                    preset.name,
                    plural(preset.mappings.len(), "mapping")
                ),
            );
            let forwarder = Arc::clone(forwarder);
            let name = preset.name.clone();
            self.last_apply = None;
            self.applying = Some(Applying {
                name,
                pending: Pending::spawn(ui.ctx(), "apply preset", move || forwarder.apply_preset(&preset)),
            });
        }
        if let Some(feedback) = &self.feedback {
            feedback.ui(ui);
        }
        self.editor_window(ui.ctx(), cx.busy_elsewhere);
    }

    fn editor_window(&mut self, ctx: &egui::Context, busy_elsewhere: bool) {
        let Some(editor) = &mut self.editor else {
            return;
        };
        let mut open = true;
        let mut outcome = None;
        let title = if editor.original.is_some() {
            "Edit preset"
        } else {
            "New preset"
        };
        egui::Window::new(title)
            .open(&mut open)
            .pivot(egui::Align2::CENTER_TOP)
            .default_pos(ctx.content_rect().center_top() + egui::vec2(0.0, 90.0))
            .resizable(true)
            .min_width(720.0)
            .show(ctx, |ui| outcome = editor.ui(ui));
        match outcome {
            Some(EditorOutcome::Save(preset)) if self.writing.is_none() && !busy_elsewhere => {
                let original = editor.original.clone();
                let name = preset.name.clone();
                let pending = save_in_background(ctx, &self.store, preset, original);
                self.writing = Some((Write::Save(name), pending));
            }
            Some(EditorOutcome::Save(_)) => {}
            Some(EditorOutcome::Cancel) => self.editor = None,
            None if !open => self.editor = None,
            None => {}
        }
    }
}

/// A bulk result (an apply, an import), row by row.
pub fn report_ui(ui: &mut egui::Ui, report: &BulkReport) {
    for m in &report.done {
        Feedback::ok(format!("added {m}")).ui(ui);
    }
    for (m, why) in &report.failed {
        Feedback::error(format!("{}/{}: {why}", m.external_port, m.protocol)).ui(ui);
    }
    for m in &report.not_attempted {
        Feedback::error(format!(
            "{}/{}: not attempted, the gateway stopped answering",
            m.external_port, m.protocol
        ))
        .ui(ui);
    }
}

/// What the editor asks for.
enum EditorOutcome {
    Save(Preset),
    Cancel,
}

/// One row as typed.
#[derive(Default, Clone)]
struct RowText {
    external_port: String,
    internal_port: String,
    internal_ip: String,
    protocol: Protocol,
    description: String,
    lease: String,
}

impl RowText {
    fn of(m: &PresetMapping) -> RowText {
        RowText {
            external_port: m.external_port.to_string(),
            internal_port: m.internal_port.to_string(),
            internal_ip: match m.internal_ip {
                PresetTarget::ThisComputer => String::new(),
                PresetTarget::Host(ip) => ip.to_string(),
            },
            protocol: m.protocol,
            description: m.description.to_string(),
            lease: m.duration.as_secs().to_string(),
        }
    }

    /// The row, or the first field that is wrong.
    fn parse(&self) -> Result<PresetMapping, InputError> {
        let external_port = Port::parse_field("external port", &self.external_port)?;
        let internal_port = if self.internal_port.trim().is_empty() {
            external_port
        } else {
            Port::parse_field("internal port", &self.internal_port)?
        };
        Ok(PresetMapping {
            external_port,
            internal_port,
            internal_ip: PresetTarget::parse_field("internal ip", &self.internal_ip)?,
            protocol: self.protocol,
            description: Description::parse_field("description", &self.description)?,
            duration: if self.lease.trim().is_empty() {
                Lease::DEFAULT
            } else {
                Lease::parse_field("lease", &self.lease)?
            },
        })
    }
}

/// The editor window's state.
struct PresetEditor {
    /// The name of the preset being edited (`None`: a new one).
    original: Option<String>,
    name: String,
    rows: Vec<RowText>,
    /// Why the last save failed.
    error: Option<String>,
}

impl PresetEditor {
    fn new(original: Option<String>, name: &str, rows: Vec<PresetMapping>) -> PresetEditor {
        let mut rows: Vec<RowText> = rows.iter().map(RowText::of).collect();
        if rows.is_empty() {
            rows.push(RowText::default());
        }
        PresetEditor {
            original,
            name: name.to_owned(),
            rows,
            error: None,
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui) -> Option<EditorOutcome> {
        let mut invalid = false;
        ui.horizontal(|ui| {
            let label = ui.label("Preset name");
            ui.add(egui::TextEdit::singleline(&mut self.name).hint_text("e.g. Minecraft server"))
                .labelled_by(label.id);
        });
        let name = Preset::parse_name(&self.name);
        if let Err(err) = &name {
            invalid = true;
            // An empty name is said by the disabled Save button; only a wrong one in red.
            if !self.name.trim().is_empty() {
                error_text(ui, &err.reason);
            }
        }
        ui.weak("Leave the internal IP empty for this computer, the internal port for the same as external, the description for the preset's name.");
        let mut remove = None;
        let mut parsed = Vec::new();
        egui::Grid::new("preset rows").striped(true).show(ui, |ui| {
            for title in [
                "External",
                "Internal",
                "Internal IP",
                "Protocol",
                "Description",
                "Lease (s)",
                "",
            ] {
                ui.strong(title);
            }
            ui.end_row();
            for (i, row) in self.rows.iter_mut().enumerate() {
                // Sized explicitly: a grid in a window sized to its content would never widen.
                let height = ui.spacing().interact_size.y;
                ui.add_sized([70.0, height], text_field(&mut row.external_port, "port"));
                ui.add_sized([70.0, height], text_field(&mut row.internal_port, "same"));
                ui.add_sized([130.0, height], text_field(&mut row.internal_ip, "this computer"));
                egui::ComboBox::from_id_salt(("protocol", i))
                    .selected_text(row.protocol.as_str())
                    .width(60.0)
                    .show_ui(ui, |ui| {
                        for p in Protocol::ALL {
                            ui.selectable_value(&mut row.protocol, p, p.as_str());
                        }
                    });
                ui.add_sized([160.0, height], text_field(&mut row.description, "preset name"));
                let lease_hint = Lease::DEFAULT.as_secs().to_string();
                ui.add_sized([70.0, height], text_field(&mut row.lease, &lease_hint));
                if ui.small_button("✖").on_hover_text("remove this row").clicked() {
                    remove = Some(i);
                }
                ui.end_row();
                match row.parse() {
                    Ok(m) => parsed.push(m),
                    Err(err) => {
                        invalid = true;
                        ui.label("");
                        error_text(ui, &format!("{}: {}", err.field, err.reason));
                        ui.end_row();
                    }
                }
            }
        });
        if let Some(i) = remove {
            self.rows.remove(i);
        }
        if ui.button("Add row").clicked() {
            self.rows.push(RowText::default());
        }
        let mut keys: Vec<(Port, Protocol)> = parsed.iter().map(|m| (m.external_port, m.protocol)).collect();
        keys.sort_unstable();
        if keys.windows(2).any(|w| w[0] == w[1]) {
            invalid = true;
            error_text(ui, "two rows have the same external port and protocol");
        }
        if let Some(error) = &self.error {
            error_text(ui, error);
        }
        let mut outcome = None;
        ui.horizontal(|ui| {
            let save = ui
                .add_enabled(!invalid && !parsed.is_empty(), egui::Button::new("Save preset"))
                .on_disabled_hover_text(
                    "give the preset a name, fix the fields marked in red; a preset needs one row at least",
                );
            if save.clicked()
                && let Ok(name) = name
            {
                outcome = Some(EditorOutcome::Save(Preset { name, mappings: parsed }));
            }
            if ui.button("Cancel").clicked() {
                outcome = Some(EditorOutcome::Cancel);
            }
        });
        outcome
    }
}

/// A one-line field with a hint.
fn text_field<'t>(text: &'t mut String, hint: &str) -> egui::TextEdit<'t> {
    egui::TextEdit::singleline(text).hint_text(hint)
}

fn error_text(ui: &mut egui::Ui, text: &str) {
    ui.add(egui::Label::new(egui::RichText::new(text).color(ui.visuals().error_fg_color).small()).wrap());
}
