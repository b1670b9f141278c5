//! Export and Import windows. Export writes the table, the selected rows or a preset as JSON
//! or CSV; Import reads a file, shows the plan (to add / conflicts / unchanged / invalid) and
//! sends nothing until the user confirms. Files are chosen with the native dialog or typed;
//! files are read and written on workers, through the library's export and import services.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use portforward::services::presets::PresetStore;
use portforward::services::transfer::{Format, ImportFile, ImportPlan, PlannedRow};
use portforward::services::{export_preset_to, export_rows_to, export_table_to, plan_import_from};
use portforward::{BulkReport, Error, Mapping, PortForwarder};

use super::effects::{Effect, Effects};
use super::file_dialog::{self, Picked, Purpose};
use super::forms::Feedback;
use super::log::Level;
use super::pending::{Pending, take};
use super::presets::{report_ui, save_in_background};
use super::table::plural;

/// What the windows need from the rest of the window.
pub struct TransferContext<'a> {
    /// The connected gateway, if any.
    pub forwarder: Option<&'a Arc<PortForwarder>>,
    /// The table's selected rows.
    pub selection: &'a [Mapping],
    /// The presets (export one; save an import as one).
    pub presets: &'a PresetStore,
    /// Whether the presets file is being written elsewhere (a second writer waits).
    pub presets_busy: bool,
}

/// What to export.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// The router's whole table, read afresh.
    Table,
    /// The rows selected in the table.
    Selection,
    /// A saved preset, by name.
    Preset(String),
}

/// The Export window.
struct ExportWindow {
    source: Source,
    format: Format,
    path: String,
    pick: Option<Pending<Picked>>,
    writing: Option<Pending<Result<usize, Error>>>,
    feedback: Option<Feedback>,
}

/// The Import window.
#[derive(Default)]
struct ImportWindow {
    path: String,
    pick: Option<Pending<Picked>>,
    /// Reading the file and the router's table.
    reading: Option<Pending<Result<(ImportFile, ImportPlan), Error>>>,
    plan: Option<(ImportFile, ImportPlan)>,
    applying: Option<Pending<BulkReport>>,
    /// Saving the file's rows as a preset.
    saving: Option<Pending<Result<PresetStore, Error>>>,
    report: Option<BulkReport>,
    preset_name: String,
    feedback: Option<Feedback>,
}

/// The two windows, either or both open.
#[derive(Default)]
pub struct TransferWindows {
    export: Option<ExportWindow>,
    import: Option<ImportWindow>,
}

impl TransferWindows {
    /// Whether either window is open.
    pub fn is_open(&self) -> bool {
        self.export.is_some() || self.import.is_some()
    }

    /// Whether the presets file is being written from here.
    pub fn writing_presets(&self) -> bool {
        self.import.as_ref().is_some_and(|i| i.saving.is_some())
    }

    /// The toolbar's Export… and Import… buttons.
    pub fn buttons(&mut self, ui: &mut egui::Ui) {
        if ui
            .button("Export…")
            .on_hover_text("write the table, the selection or a preset as JSON or CSV")
            .clicked()
        {
            self.export.get_or_insert_with(|| ExportWindow {
                source: Source::Table,
                format: Format::Json,
                path: String::new(),
                pick: None,
                writing: None,
                feedback: None,
            });
        }
        if ui
            .button("Import…")
            .on_hover_text("add the mappings of a JSON or CSV file, after a preview")
            .clicked()
        {
            self.import.get_or_insert_with(ImportWindow::default);
        }
    }

    /// Draws the open windows.
    pub fn ui(&mut self, ctx: &egui::Context, cx: &TransferContext<'_>, fx: &mut Effects) {
        if let Some(export) = &mut self.export {
            let mut open = true;
            egui::Window::new("Export")
                .open(&mut open)
                .pivot(egui::Align2::CENTER_TOP)
                .default_pos(ctx.content_rect().center_top() + egui::vec2(0.0, 90.0))
                .default_width(460.0)
                .show(ctx, |ui| export.ui(ui, cx, fx));
            if !open {
                self.export = None;
            }
        }
        if let Some(import) = &mut self.import {
            let mut open = true;
            egui::Window::new("Import")
                .open(&mut open)
                .pivot(egui::Align2::CENTER_TOP)
                .default_pos(ctx.content_rect().center_top() + egui::vec2(0.0, 90.0))
                .default_width(620.0)
                .show(ctx, |ui| import.ui(ui, cx, fx));
            // A window closed mid-apply still reports: the work is polled until it ends.
            if !open && import.applying.is_none() && import.saving.is_none() {
                self.import = None;
            }
        }
    }
}

/// The path field with its Browse… button; returns the path when one is typed.
fn path_row(
    ui: &mut egui::Ui,
    path: &mut String,
    pick: &mut Option<Pending<Picked>>,
    purpose: Purpose,
) -> Option<PathBuf> {
    ui.horizontal(|ui| {
        let label = ui.label("File");
        ui.add(
            egui::TextEdit::singleline(path)
                .hint_text("a path, or Browse…")
                .desired_width(300.0),
        )
        .labelled_by(label.id);
        if ui.add_enabled(pick.is_none(), egui::Button::new("Browse…")).clicked() {
            *pick = Some(file_dialog::pick(ui.ctx(), purpose, "portforward".to_owned()));
        }
        if pick.is_some() {
            ui.spinner();
        }
    });
    let trimmed = path.trim();
    (!trimmed.is_empty()).then(|| PathBuf::from(trimmed))
}

/// Absorbs a finished dialog into the path field; returns a message worth showing.
fn absorb_pick(pick: &mut Option<Pending<Picked>>, path: &mut String) -> Option<Feedback> {
    match take(pick)? {
        Ok(Picked::Path(chosen)) => {
            *path = chosen.display().to_string();
            None
        }
        Ok(other) => other.message().map(Feedback::error),
        Err(crash) => Some(Feedback::error(format!(
            "the file dialog failed ({crash}): type the file's path instead"
        ))),
    }
}

impl ExportWindow {
    fn ui(&mut self, ui: &mut egui::Ui, cx: &TransferContext<'_>, fx: &mut Effects) {
        if let Some(message) = absorb_pick(&mut self.pick, &mut self.path) {
            self.feedback = Some(message);
        }
        if let Some(result) = take(&mut self.writing) {
            self.feedback = Some(match result {
                Ok(Ok(rows)) => {
                    let text = format!("Wrote {} to {}.", plural(rows, "mapping"), self.path.trim());
                    fx.log(Level::Ok, text.clone());
                    Feedback::ok(text)
                }
                Ok(Err(err)) => {
                    fx.log(Level::Error, format!("export: {err}"));
                    Feedback::error(err.to_string())
                }
                Err(crash) => Feedback::error(format!("internal error: {crash}")),
            });
        }
        egui::Grid::new("export").num_columns(2).show(ui, |ui| {
            ui.label("What");
            let label = match &self.source {
                Source::Table => "The router's table".to_owned(),
                Source::Selection => format!("The selected rows ({})", cx.selection.len()),
                Source::Preset(name) => format!("Preset \"{name}\""),
            };
            egui::ComboBox::from_id_salt("export what")
                .selected_text(label)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.source, Source::Table, "The router's table");
                    if !cx.selection.is_empty() {
                        ui.selectable_value(
                            &mut self.source,
                            Source::Selection,
                            format!("The selected rows ({})", cx.selection.len()),
                        );
                    }
                    for preset in cx.presets.presets() {
                        ui.selectable_value(
                            &mut self.source,
                            Source::Preset(preset.name.clone()),
                            format!("Preset \"{}\"", preset.name),
                        );
                    }
                });
            ui.end_row();
            ui.label("Format");
            ui.horizontal(|ui| {
                for format in Format::ALL {
                    ui.radio_value(&mut self.format, format, format.to_string());
                }
            });
            ui.end_row();
        });
        let path = path_row(ui, &mut self.path, &mut self.pick, Purpose::Save(self.format));
        // A typed name without an extension gets the format's; a typed extension picks the format.
        if let Some(format) = path.as_deref().and_then(Format::from_path) {
            self.format = format;
        }
        let blocked = match (&self.source, &path) {
            (_, None) => Some("choose or type a file"),
            (Source::Table, _) if cx.forwarder.is_none() => Some("connect to a gateway first"),
            _ => None,
        };
        ui.horizontal(|ui| {
            let busy = self.writing.is_some();
            let export = ui.add_enabled(blocked.is_none() && !busy, egui::Button::new("Export"));
            if busy {
                ui.spinner();
            } else if let Some(reason) = blocked {
                ui.weak(reason);
            }
            if export.clicked()
                && let Some(path) = path
            {
                self.start(ui.ctx(), cx, fx, with_extension(path, self.format));
            }
        });
        if let Some(feedback) = &self.feedback {
            feedback.ui(ui);
        }
    }

    fn start(&mut self, ctx: &egui::Context, cx: &TransferContext<'_>, fx: &mut Effects, path: PathBuf) {
        let format = self.format;
        self.path = path.display().to_string();
        self.feedback = None;
        let work: Box<dyn FnOnce() -> Result<usize, Error> + Send> = match &self.source {
            Source::Table => {
                let Some(forwarder) = cx.forwarder.cloned() else {
                    return;
                };
                Box::new(move || export_table_to(&forwarder, &path, format))
            }
            Source::Selection => {
                let rows = cx.selection.to_vec();
                Box::new(move || export_rows_to(&rows, &path, format))
            }
            Source::Preset(name) => {
                let Some(preset) = cx.presets.get(name).cloned() else {
                    self.feedback = Some(Feedback::error(format!("there is no preset \"{name}\" any more")));
                    return;
                };
                Box::new(move || export_preset_to(&preset, &path, format))
            }
        };
        fx.log(Level::Request, format!("export to {} ({format})", self.path));
        self.writing = Some(Pending::spawn(ctx, "export", work));
    }
}

/// `path`, with the format's extension if it has none.
fn with_extension(path: PathBuf, format: Format) -> PathBuf {
    if path.extension().is_some() {
        path
    } else {
        path.with_extension(format.extension())
    }
}

impl ImportWindow {
    fn ui(&mut self, ui: &mut egui::Ui, cx: &TransferContext<'_>, fx: &mut Effects) {
        if let Some(message) = absorb_pick(&mut self.pick, &mut self.path) {
            self.feedback = Some(message);
        }
        self.poll_saving(fx);
        if let Some(result) = take(&mut self.reading) {
            match result {
                Ok(Ok((file, plan))) => {
                    fx.log(
                        Level::Ok,
                        format!(
                            "import plan: {} to add, {} conflicting, {} unchanged, {} invalid",
                            plan.to_add.len(),
                            plan.conflicts.len(),
                            plan.unchanged.len(),
                            plan.invalid.len()
                        ),
                    );
                    if self.preset_name.is_empty() {
                        self.preset_name = file.name.clone().unwrap_or_else(|| file_stem(&self.path));
                    }
                    self.plan = Some((file, plan));
                }
                Ok(Err(err)) => {
                    fx.log(Level::Error, format!("import: {err}"));
                    self.feedback = Some(Feedback::error(err.to_string()));
                }
                Err(crash) => self.feedback = Some(Feedback::error(format!("internal error: {crash}"))),
            }
        }
        if let Some(result) = take(&mut self.applying) {
            fx.push(Effect::TableChanged);
            match result {
                Ok(report) => {
                    for (m, why) in &report.failed {
                        fx.log(Level::Error, format!("import: {m}: {why}"));
                    }
                    fx.log(
                        Level::Ok,
                        format!("import: added {}", plural(report.done.len(), "mapping")),
                    );
                    self.report = Some(report);
                    self.plan = None;
                }
                Err(crash) => self.feedback = Some(Feedback::error(format!("internal error: {crash}"))),
            }
        }
        let path = path_row(ui, &mut self.path, &mut self.pick, Purpose::Open);
        ui.horizontal(|ui| {
            let busy = self.reading.is_some();
            let blocked = if path.is_none() {
                Some("choose or type a file")
            } else if cx.forwarder.is_none() {
                Some("connect to a gateway first: the plan compares the file with its table")
            } else {
                None
            };
            let read = ui
                .add_enabled(blocked.is_none() && !busy, egui::Button::new("Show what would change"))
                .on_hover_text("reads the file and the router's table; sends nothing");
            if busy {
                ui.spinner();
            } else if let Some(reason) = blocked {
                ui.weak(reason);
            }
            if read.clicked()
                && let (Some(path), Some(forwarder)) = (path, cx.forwarder)
            {
                self.start_reading(ui.ctx(), fx, path, Arc::clone(forwarder));
            }
        });
        if let Some(feedback) = &self.feedback {
            feedback.ui(ui);
        }
        if let Some(report) = &self.report {
            report_ui(ui, report);
        }
        let Some((file, plan)) = &self.plan else {
            return;
        };
        ui.separator();
        plan_ui(ui, plan);
        ui.separator();
        let mut apply = false;
        ui.horizontal(|ui| {
            let n = plan.to_add.len();
            let add = ui
                .add_enabled(
                    n > 0 && self.applying.is_none() && cx.forwarder.is_some(),
                    egui::Button::new(format!("Add {}", plural(n, "mapping"))),
                )
                .on_hover_text("conflicting and invalid rows are never sent");
            apply = add.clicked();
            if self.applying.is_some() {
                ui.spinner();
                ui.weak("waiting for the router…");
            }
        });
        let mut save_preset = false;
        ui.horizontal(|ui| {
            let label = ui.label("Preset name");
            ui.add(egui::TextEdit::singleline(&mut self.preset_name).desired_width(180.0))
                .labelled_by(label.id);
            let free = !cx.presets_busy && self.saving.is_none();
            save_preset = ui
                .add_enabled(!file.rows.is_empty() && free, egui::Button::new("Save as preset"))
                .on_hover_text("keep the file's valid rows as a preset instead of adding them now")
                .clicked();
        });
        if apply && let Some(forwarder) = cx.forwarder {
            let rows = plan.mappings_to_add();
            fx.log(Level::Request, format!("import: add {}", plural(rows.len(), "mapping")));
            let forwarder = Arc::clone(forwarder);
            self.report = None;
            self.applying = Some(Pending::spawn(ui.ctx(), "import", move || {
                forwarder.add_mappings(&rows)
            }));
        }
        if save_preset {
            match file.clone().into_preset(&self.preset_name) {
                Ok(preset) => self.saving = Some(save_in_background(ui.ctx(), cx.presets, preset, None)),
                Err(err) => self.feedback = Some(Feedback::error(err.to_string())),
            }
        }
    }

    /// Takes a finished save of the file's rows as a preset: the presets tab gets the store.
    fn poll_saving(&mut self, fx: &mut Effects) {
        let Some(result) = take(&mut self.saving) else {
            return;
        };
        self.feedback = Some(match result {
            Ok(Ok(store)) => {
                fx.push(Effect::PresetsSaved(store));
                let text = format!("Saved preset \"{}\".", self.preset_name.trim());
                fx.log(Level::Ok, text.clone());
                Feedback::ok(text)
            }
            Ok(Err(err)) => Feedback::error(err.to_string()),
            Err(crash) => Feedback::error(format!("internal error: {crash}")),
        });
    }

    fn start_reading(&mut self, ctx: &egui::Context, fx: &mut Effects, path: PathBuf, forwarder: Arc<PortForwarder>) {
        fx.log(Level::Request, format!("import: reading {}", path.display()));
        self.plan = None;
        self.report = None;
        self.feedback = None;
        self.reading = Some(Pending::spawn(ctx, "import plan", move || {
            plan_import_from(&forwarder, &path)
        }));
    }
}

fn file_stem(path: &str) -> String {
    Path::new(path.trim())
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The plan, section by section; long sections scroll.
fn plan_ui(ui: &mut egui::Ui, plan: &ImportPlan) {
    let planned = |rows: &[PlannedRow]| -> Vec<String> {
        rows.iter().map(|r| format!("line {}: {}", r.line, r.mapping)).collect()
    };
    let error = Some(ui.visuals().error_fg_color);
    let sections = [
        (format!("To add: {}", plan.to_add.len()), planned(&plan.to_add), None),
        (
            format!("Conflicts: {} (not sent)", plan.conflicts.len()),
            plan.conflicts.iter().map(ToString::to_string).collect(),
            error,
        ),
        (
            format!("Unchanged: {}", plan.unchanged.len()),
            planned(&plan.unchanged),
            None,
        ),
        (
            format!("Invalid: {} (not sent)", plan.invalid.len()),
            plan.invalid.iter().map(ToString::to_string).collect(),
            error,
        ),
    ];
    for (title, lines, color) in sections {
        ui.strong(title);
        if lines.is_empty() {
            continue;
        }
        egui::ScrollArea::vertical()
            .id_salt(ui.next_auto_id())
            .max_height(120.0)
            .show(ui, |ui| {
                for line in lines {
                    let text = egui::RichText::new(line).monospace();
                    ui.label(match color {
                        Some(color) => text.color(color),
                        None => text,
                    });
                }
            });
    }
}
