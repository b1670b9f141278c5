//! Export and Import windows. Export writes the table, the selected rows or a preset as JSON
//! or CSV; Import reads a file, shows the plan (to add / conflicts / unchanged / invalid) and
//! sends nothing until the user confirms. Files are chosen with the native dialog or typed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use portforward::services::presets::PresetStore;
use portforward::services::transfer::{self, Format, ImportFile, ImportPlan};
use portforward::{BulkReport, Error, Mapping, PortForwarder};

use super::file_dialog::{self, Picked, Purpose};
use super::forms::Feedback;
use super::jobs::{Job, take_done};
use super::log::{Level, Log};
use super::presets::report_ui;
use super::table::plural;

/// What the windows need from the rest of the window.
pub struct TransferContext<'a> {
    /// The connected gateway, if any.
    pub forwarder: Option<&'a Arc<PortForwarder>>,
    /// The table's selected rows.
    pub selection: &'a [Mapping],
    /// The presets (export one; save an import as one).
    pub presets: &'a mut PresetStore,
    /// Where requests and results are logged.
    pub log: &'a mut Log,
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
    pick: Option<Job<Picked>>,
    writing: Option<Job<Result<usize, Error>>>,
    feedback: Option<Feedback>,
}

/// The Import window.
#[derive(Default)]
struct ImportWindow {
    path: String,
    pick: Option<Job<Picked>>,
    /// Reading the file and the router's table.
    reading: Option<Job<Result<(ImportFile, ImportPlan), Error>>>,
    plan: Option<(ImportFile, ImportPlan)>,
    applying: Option<Job<BulkReport>>,
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

    /// Whether work is in flight (the window keeps drawing its spinner).
    pub fn busy(&self) -> bool {
        self.export
            .as_ref()
            .is_some_and(|e| e.pick.is_some() || e.writing.is_some())
            || self
                .import
                .as_ref()
                .is_some_and(|i| i.pick.is_some() || i.reading.is_some() || i.applying.is_some())
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

    /// Draws the open windows; returns whether the router's table changed.
    pub fn ui(&mut self, ctx: &egui::Context, cx: &mut TransferContext<'_>) -> bool {
        if let Some(export) = &mut self.export {
            let mut open = true;
            egui::Window::new("Export")
                .open(&mut open)
                .pivot(egui::Align2::CENTER_TOP)
                .default_pos(ctx.content_rect().center_top() + egui::vec2(0.0, 90.0))
                .default_width(460.0)
                .show(ctx, |ui| export.ui(ui, cx));
            if !open {
                self.export = None;
            }
        }
        let mut changed = false;
        if let Some(import) = &mut self.import {
            let mut open = true;
            egui::Window::new("Import")
                .open(&mut open)
                .pivot(egui::Align2::CENTER_TOP)
                .default_pos(ctx.content_rect().center_top() + egui::vec2(0.0, 90.0))
                .default_width(620.0)
                .show(ctx, |ui| changed = import.ui(ui, cx));
            // A window closed mid-apply still reports: the job is polled until it ends.
            if !open && import.applying.is_none() {
                self.import = None;
            }
        }
        changed
    }
}

/// The path field with its Browse… button; returns the path when one is typed.
fn path_row(ui: &mut egui::Ui, path: &mut String, pick: &mut Option<Job<Picked>>, purpose: Purpose) -> Option<PathBuf> {
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
fn absorb_pick(pick: &mut Option<Job<Picked>>, path: &mut String) -> Option<Feedback> {
    match take_done(pick)? {
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
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut TransferContext<'_>) {
        if let Some(message) = absorb_pick(&mut self.pick, &mut self.path) {
            self.feedback = Some(message);
        }
        if let Some(result) = take_done(&mut self.writing) {
            self.feedback = Some(match result {
                Ok(Ok(rows)) => {
                    let text = format!("Wrote {} to {}.", plural(rows, "mapping"), self.path.trim());
                    cx.log.push(Level::Ok, text.clone());
                    Feedback::ok(text)
                }
                Ok(Err(err)) => {
                    cx.log.push(Level::Error, format!("export: {err}"));
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
                self.start(ui.ctx(), cx, with_extension(path, self.format));
            }
        });
        if let Some(feedback) = &self.feedback {
            feedback.ui(ui);
        }
    }

    fn start(&mut self, ctx: &egui::Context, cx: &mut TransferContext<'_>, path: PathBuf) {
        let format = self.format;
        self.path = path.display().to_string();
        self.feedback = None;
        cx.log
            .push(Level::Request, format!("export to {} ({format})", path.display()));
        let work: Box<dyn FnOnce() -> Result<usize, Error> + Send> = match &self.source {
            Source::Table => {
                let Some(forwarder) = cx.forwarder.cloned() else {
                    return;
                };
                Box::new(move || {
                    let table = forwarder.get_all_mappings()?;
                    transfer::write_file(&path, &transfer::export_table(&table.mappings, format))?;
                    Ok(table.mappings.len())
                })
            }
            Source::Selection => {
                let rows = cx.selection.to_vec();
                Box::new(move || {
                    transfer::write_file(&path, &transfer::export_table(&rows, format))?;
                    Ok(rows.len())
                })
            }
            Source::Preset(name) => {
                let Some(preset) = cx.presets.get(name).cloned() else {
                    self.feedback = Some(Feedback::error(format!("there is no preset \"{name}\" any more")));
                    return;
                };
                Box::new(move || {
                    transfer::write_file(&path, &transfer::export_preset(&preset, format))?;
                    Ok(preset.mappings.len())
                })
            }
        };
        self.writing = Some(Job::spawn(ctx, "export", work));
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
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut TransferContext<'_>) -> bool {
        let mut changed = false;
        if let Some(message) = absorb_pick(&mut self.pick, &mut self.path) {
            self.feedback = Some(message);
        }
        if let Some(result) = take_done(&mut self.reading) {
            match result {
                Ok(Ok((file, plan))) => {
                    cx.log.push(
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
                    cx.log.push(Level::Error, format!("import: {err}"));
                    self.feedback = Some(Feedback::error(err.to_string()));
                }
                Err(crash) => self.feedback = Some(Feedback::error(format!("internal error: {crash}"))),
            }
        }
        if let Some(result) = take_done(&mut self.applying) {
            changed = true;
            match result {
                Ok(report) => {
                    for (m, why) in &report.failed {
                        cx.log.push(Level::Error, format!("import: {m}: {why}"));
                    }
                    cx.log.push(
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
                self.start_reading(ui.ctx(), cx.log, path, Arc::clone(forwarder));
            }
        });
        if let Some(feedback) = &self.feedback {
            feedback.ui(ui);
        }
        if let Some(report) = &self.report {
            report_ui(ui, report);
        }
        let Some((file, plan)) = &self.plan else {
            return changed;
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
            save_preset = ui
                .add_enabled(!file.rows.is_empty(), egui::Button::new("Save as preset"))
                .on_hover_text("keep the file's valid rows as a preset instead of adding them now")
                .clicked();
        });
        if apply && let Some(forwarder) = cx.forwarder {
            let rows = plan.mappings_to_add();
            cx.log
                .push(Level::Request, format!("import: add {}", plural(rows.len(), "mapping")));
            let forwarder = Arc::clone(forwarder);
            self.report = None;
            self.applying = Some(Job::spawn(ui.ctx(), "import", move || forwarder.add_mappings(&rows)));
        }
        if save_preset {
            let result = file
                .clone()
                .into_preset(&self.preset_name)
                .map_err(Error::from)
                .and_then(|preset| cx.presets.save(preset, None));
            self.feedback = Some(match result {
                Ok(()) => {
                    let text = format!("Saved preset \"{}\".", self.preset_name.trim());
                    cx.log.push(Level::Ok, text.clone());
                    Feedback::ok(text)
                }
                Err(err) => Feedback::error(err.to_string()),
            });
        }
        changed
    }

    fn start_reading(&mut self, ctx: &egui::Context, log: &mut Log, path: PathBuf, forwarder: Arc<PortForwarder>) {
        log.push(Level::Request, format!("import: reading {}", path.display()));
        self.plan = None;
        self.report = None;
        self.feedback = None;
        self.reading = Some(Job::spawn(ctx, "import plan", move || {
            let file = transfer::read_import(&path)?;
            let table = forwarder.get_all_mappings()?;
            let plan = transfer::plan_import(&file, &table.mappings, forwarder.local_ip());
            Ok((file, plan))
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
    let section = |ui: &mut egui::Ui, title: String, lines: Vec<String>, color: Option<egui::Color32>| {
        ui.strong(title);
        if lines.is_empty() {
            return;
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
    };
    let error = ui.visuals().error_fg_color;
    section(
        ui,
        format!("To add: {}", plan.to_add.len()),
        plan.to_add
            .iter()
            .map(|r| format!("line {}: {}", r.line, r.mapping))
            .collect(),
        None,
    );
    section(
        ui,
        format!("Conflicts: {} (not sent)", plan.conflicts.len()),
        plan.conflicts.iter().map(ToString::to_string).collect(),
        Some(error),
    );
    section(
        ui,
        format!("Unchanged: {}", plan.unchanged.len()),
        plan.unchanged
            .iter()
            .map(|r| format!("line {}: {}", r.line, r.mapping))
            .collect(),
        None,
    );
    section(
        ui,
        format!("Invalid: {} (not sent)", plan.invalid.len()),
        plan.invalid.iter().map(ToString::to_string).collect(),
        Some(error),
    );
}
