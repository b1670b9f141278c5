//! The mapping table: sortable, filterable, multi-select, drawing only the visible rows.
//!
//! Sorting and filtering produce an index vector that is cached and recomputed only when the
//! data, the sort or the filter change, never per frame: a frame with 10,000 mappings costs
//! what one with 30 does.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use egui::{Key, Modifiers, Sense};
use egui_extras::{Column as TableColumn, TableBuilder};
use portforward::port_control::PortControlProtocol;
use portforward::{Lease, Mapping, MappingKey, Owner};

use super::settings::{Column, Sort};

/// What the user asked of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableAction {
    /// Remove the selected mappings (after confirmation).
    DisableSelected,
    /// Renew this mapping's lease.
    Refresh(Mapping),
    /// Start or stop keeping this mapping alive.
    ToggleKeep(Mapping),
}

/// One mapping, with what the table needs to filter it quickly.
struct Row {
    mapping: Mapping,
    /// Who is behind it; `None` until the lookup is done.
    owner: Option<Owner>,
    /// Every column's text, lower-cased, for the filter.
    haystack: String,
}

/// The table's state.
pub struct Table {
    rows: Vec<Row>,
    /// When the rows were read: leases count down from here.
    read_at: Instant,
    /// Row indices in display order (filtered and sorted), cached.
    order: Vec<usize>,
    /// The sort and filter `order` was computed for; `None` = recompute.
    order_for: Option<(Sort, String)>,
    /// The selected mappings, by key, so a reload keeps them.
    pub selected: HashSet<MappingKey>,
    /// Where a shift-click range starts.
    anchor: Option<MappingKey>,
    /// Whether the table has been read at least once.
    pub loaded: bool,
    /// This computer's address, to mark its mappings.
    pub local_ip: Option<Ipv4Addr>,
    /// Bumped whenever the selection changes, so forms can pre-fill once per change.
    pub selection_generation: u64,
    /// Focus the filter box on the next frame (Ctrl+F).
    pub focus_filter: bool,
    /// Rows made through NAT-PMP or PCP, marked "via …".
    pub via: HashMap<MappingKey, PortControlProtocol>,
}

impl Default for Table {
    fn default() -> Table {
        Table {
            rows: Vec::new(),
            read_at: Instant::now(),
            order: Vec::new(),
            order_for: None,
            selected: HashSet::new(),
            anchor: None,
            loaded: false,
            local_ip: None,
            selection_generation: 0,
            focus_filter: false,
            via: HashMap::new(),
        }
    }
}

impl Table {
    /// Takes a fresh reading of the router's table, keeping sort, filter, selection and
    /// scroll position.
    pub fn load(&mut self, mappings: Vec<Mapping>) {
        // Owners carry over until the new lookup answers, so the column does not flicker.
        let mut owners: HashMap<MappingKey, (Mapping, Option<Owner>)> = std::mem::take(&mut self.rows)
            .into_iter()
            .map(|row| (row.mapping.key(), (row.mapping, row.owner)))
            .collect();
        self.rows = mappings
            .into_iter()
            .map(|mapping| {
                let owner = owners
                    .remove(&mapping.key())
                    .filter(|(before, _)| {
                        before.internal_client == mapping.internal_client
                            && before.internal_port == mapping.internal_port
                    })
                    .and_then(|(_, owner)| owner);
                Row {
                    haystack: haystack(&mapping, owner.as_ref()),
                    mapping,
                    owner,
                }
            })
            .collect();
        self.read_at = Instant::now();
        self.order_for = None;
        self.loaded = true;
        let keys: HashSet<MappingKey> = self.rows.iter().map(|r| r.mapping.key()).collect();
        let before = self.selected.len();
        self.selected.retain(|k| keys.contains(k));
        if self.selected.len() != before {
            self.selection_generation += 1;
        }
    }

    /// Takes the owners looked up for the rows (by key).
    pub fn set_owners(&mut self, mut owners: HashMap<MappingKey, Owner>) {
        for row in &mut self.rows {
            row.owner = owners.remove(&row.mapping.key());
            row.haystack = haystack(&row.mapping, row.owner.as_ref());
        }
        self.order_for = None;
    }

    /// The stale mappings (to this computer, nothing listening), in the router's order.
    pub fn stale(&self) -> Vec<Mapping> {
        self.rows
            .iter()
            .filter(|row| row.owner.as_ref().is_some_and(Owner::is_stale))
            .map(|row| row.mapping.clone())
            .collect()
    }

    /// The selected mappings, in display order.
    pub fn selection(&self) -> Vec<Mapping> {
        self.order
            .iter()
            .map(|&i| &self.rows[i].mapping)
            .filter(|m| self.selected.contains(&m.key()))
            .cloned()
            .collect()
    }

    /// Re-sorts and re-filters, only when something they depend on changed.
    fn update_order(&mut self, sort: Sort, filter: &str) {
        let needle = filter.trim().to_lowercase();
        if self.order_for.as_ref().is_some_and(|(s, f)| *s == sort && *f == needle) {
            return;
        }
        let rows = &self.rows;
        self.order = (0..rows.len())
            .filter(|&i| needle.is_empty() || rows[i].haystack.contains(&needle))
            .collect();
        self.order.sort_by(|&a, &b| {
            let ordering = compare(&rows[a], &rows[b], sort.column);
            if sort.ascending { ordering } else { ordering.reverse() }
        });
        self.order_for = Some((sort, needle));
    }

    /// Draws the filter box and the table. `sort` and `filter` are the persisted settings;
    /// `kept` the mappings keep-alive renews, marked in the lease column; `job_kept` those a
    /// background `keep --preset` job keeps (by preset), marked there too.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        sort: &mut Sort,
        filter: &mut String,
        kept: &HashSet<MappingKey>,
        job_kept: &std::collections::BTreeMap<MappingKey, String>,
    ) -> Vec<TableAction> {
        let mut actions = Vec::new();
        ui.horizontal(|ui| {
            let label = ui.label("Filter");
            let edit = ui
                .add(
                    egui::TextEdit::singleline(filter)
                        .hint_text("any column (Ctrl+F)")
                        .desired_width(220.0),
                )
                .labelled_by(label.id);
            if std::mem::take(&mut self.focus_filter) {
                edit.request_focus();
            }
            if !filter.is_empty() && ui.small_button("Clear").clicked() {
                filter.clear();
            }
        });
        self.update_order(*sort, filter);
        ui.horizontal(|ui| {
            if filter.trim().is_empty() {
                ui.label(plural(self.rows.len(), "mapping"));
            } else {
                ui.label(format!("{} of {} mappings match", self.order.len(), self.rows.len()));
            }
            if !self.selected.is_empty() {
                ui.label(format!("· {} selected", self.selected.len()));
            }
        });

        let mut clicked: Option<(usize, Modifiers)> = None;
        let mut context_row: Option<usize> = None;
        // The shortest finite lease on screen decides how often the countdown must redraw.
        let mut shortest_visible_lease: Option<u32> = None;
        let text_height = egui::TextStyle::Body
            .resolve(ui.style())
            .size
            .max(ui.spacing().interact_size.y);
        // Clicks on cell text must reach the row, so labels do not take them.
        ui.style_mut().interaction.selectable_labels = false;
        // A narrow window scrolls sideways rather than hiding the last columns.
        egui::ScrollArea::horizontal().show(ui, |ui| {
            let mut table = TableBuilder::new(ui)
                .id_salt("mappings")
                .striped(true)
                .resizable(true)
                .sense(Sense::click())
                .auto_shrink([false, false])
                .cell_layout(egui::Layout::left_to_right(egui::Align::Center));
            for column in Column::ALL {
                table = table.column(column_layout(column));
            }
            let selected = &self.selected;
            let order = &self.order;
            let rows = &self.rows;
            let local_ip = self.local_ip.map(|ip| ip.to_string());
            let via = &self.via;
            table
                .header(text_height + 4.0, |mut header| {
                    for column in Column::ALL {
                        header.col(|ui| {
                            let response = ui
                                .add(egui::Button::new(egui::RichText::new(column.short_title()).strong()).frame(false))
                                .on_hover_text(column.title());
                            if sort.column == column {
                                ui.label(if sort.ascending { "⏶" } else { "⏷" });
                            }
                            if response.on_hover_text("sort; click again to reverse").clicked() {
                                if sort.column == column {
                                    sort.ascending = !sort.ascending;
                                } else {
                                    *sort = Sort {
                                        column,
                                        ascending: true,
                                    };
                                }
                            }
                        });
                    }
                })
                .body(|body| {
                    body.rows(text_height, order.len(), |mut row| {
                        let position = row.index();
                        let mapping = &rows[order[position]].mapping;
                        let owner = rows[order[position]].owner.as_ref();
                        let to_this_computer = local_ip.as_deref() == Some(mapping.internal_client.as_str());
                        row.set_selected(selected.contains(&mapping.key()));
                        row.col(|ui| {
                            ui.label(mapping.protocol.as_str());
                        });
                        row.col(|ui| {
                            ui.label(mapping.external_port.to_string());
                        });
                        row.col(|ui| {
                            ui.label(&mapping.internal_client);
                            if to_this_computer {
                                // Small: the column must leave Description room at 1024 px.
                                ui.label(egui::RichText::new("(this computer)").small().weak());
                            }
                        });
                        row.col(|ui| {
                            ui.label(mapping.internal_port.to_string());
                        });
                        row.col(|ui| owner_cell(ui, owner, to_this_computer, mapping));
                        row.col(|ui| {
                            if let Some(protocol) = via.get(&mapping.key()) {
                                ui.weak(format!("via {protocol}"));
                            }
                            ui.label(mapping.description.as_str())
                                .on_hover_text(mapping.description.as_str());
                        });
                        row.col(|ui| {
                            ui.label(if mapping.enabled { "yes" } else { "no" });
                        });
                        row.col(|ui| {
                            ui.label(if mapping.remote_host.is_empty() {
                                "any"
                            } else {
                                &mapping.remote_host
                            });
                        });
                        row.col(|ui| {
                            if mapping.lease.is_finite() {
                                let secs = mapping.lease.as_secs();
                                shortest_visible_lease = Some(shortest_visible_lease.map_or(secs, |s| s.min(secs)));
                            }
                            ui.label(lease_left(self.read_at, mapping.lease));
                            if let Some(preset) = job_kept.get(&mapping.key()) {
                                ui.weak(format!("(kept by login job \"{preset}\")")).on_hover_text(
                                    "renewed and re-created by the background `portforward keep --preset`; \
                                     the window leaves it to that job",
                                );
                            } else if kept.contains(&mapping.key()) {
                                ui.weak("(kept alive)")
                                    .on_hover_text("renewed at half its lease and re-created if the router loses it");
                            }
                        });
                        let response = row.response();
                        if response.clicked() {
                            clicked = Some((position, response.ctx.input(|i| i.modifiers)));
                        }
                        if response.secondary_clicked() {
                            context_row = Some(position);
                        }
                        response.context_menu(|ui| {
                            let count = selected.len().max(1);
                            if ui.button(format!("Disable {}", plural(count, "mapping"))).clicked() {
                                actions.push(TableAction::DisableSelected);
                                ui.close();
                            }
                            if ui.button("Refresh lease").clicked() {
                                actions.push(TableAction::Refresh(mapping.clone()));
                                ui.close();
                            }
                            let keep = if kept.contains(&mapping.key()) {
                                "Stop keeping alive"
                            } else {
                                "Keep alive"
                            };
                            if ui.button(keep).clicked() {
                                actions.push(TableAction::ToggleKeep(mapping.clone()));
                                ui.close();
                            }
                            if ui.button("Copy row").clicked() {
                                let text = if selected.contains(&mapping.key()) {
                                    order
                                        .iter()
                                        .map(|&i| &rows[i].mapping)
                                        .filter(|m| selected.contains(&m.key()))
                                        .map(row_text)
                                        .collect::<Vec<_>>()
                                        .join("\n")
                                } else {
                                    row_text(mapping)
                                };
                                ui.ctx().copy_text(text);
                                ui.close();
                            }
                        });
                    });
                });
        });

        if let Some((position, modifiers)) = clicked {
            self.click(position, modifiers);
        }
        if let Some(position) = context_row {
            // Right-clicking outside the selection acts on that row alone, as file managers do.
            let key = self.rows[self.order[position]].mapping.key();
            if !self.selected.contains(&key) {
                self.click(position, Modifiers::NONE);
            }
        }
        if let Some(lease) = shortest_visible_lease {
            // Wake exactly when a displayed value changes; nothing else needs a frame. Leases
            // of a day or more show minutes only, so they need a frame a minute.
            let elapsed = self.read_at.elapsed();
            let left = u64::from(lease).saturating_sub(elapsed.as_secs());
            let step: u64 = if left > 86_400 { 60 } else { 1 };
            if left > 0 {
                let into_step = elapsed.as_nanos() % (u128::from(step) * 1_000_000_000);
                let wait = u128::from(step) * 1_000_000_000 - into_step;
                ui.ctx().request_repaint_after(Duration::from_nanos(wait as u64));
            }
        }
        actions
    }

    /// Selects like a file manager: click = only this row, Ctrl = toggle, Shift = range.
    fn click(&mut self, position: usize, modifiers: Modifiers) {
        let key = self.rows[self.order[position]].mapping.key();
        let anchor_position = self
            .anchor
            .as_ref()
            .and_then(|a| self.order.iter().position(|&i| self.rows[i].mapping.key() == *a));
        if modifiers.shift
            && let Some(from) = anchor_position
        {
            let (lo, hi) = if from <= position {
                (from, position)
            } else {
                (position, from)
            };
            if !modifiers.command {
                self.selected.clear();
            }
            for &i in &self.order[lo..=hi] {
                self.selected.insert(self.rows[i].mapping.key());
            }
        } else if modifiers.command {
            if !self.selected.remove(&key) {
                self.selected.insert(key.clone());
            }
            self.anchor = Some(key);
        } else {
            self.selected.clear();
            self.selected.insert(key.clone());
            self.anchor = Some(key);
        }
        self.selection_generation += 1;
    }

    /// Ctrl+A: select every row shown.
    pub fn select_all_shown(&mut self, ui: &egui::Ui) {
        // In a text field, Ctrl+A selects its text instead.
        let typing = ui.memory(|m| m.focused().is_some());
        if !typing && ui.input_mut(|i| i.consume_key(Modifiers::COMMAND, Key::A)) {
            self.selected = self.order.iter().map(|&i| self.rows[i].mapping.key()).collect();
            self.selection_generation += 1;
        }
    }
}

/// How wide a column starts and may be. At the default window size every column fits beside
/// the forms; Description takes the spare width (a remainder that keeps no width of its own,
/// so it follows the window); the others can be dragged, and egui remembers their widths
/// between runs. Narrower than that (1024 px), the columns after Description scroll sideways,
/// while those that say which app holds a port stay in view.
fn column_layout(column: Column) -> TableColumn {
    match column {
        Column::Protocol => TableColumn::initial(44.0).at_least(40.0),
        Column::ExternalPort | Column::InternalPort => TableColumn::initial(58.0).at_least(44.0),
        Column::InternalClient => TableColumn::initial(160.0).at_least(90.0).clip(true),
        Column::Owner => TableColumn::initial(140.0).at_least(60.0).clip(true),
        Column::Description => TableColumn::remainder().at_least(190.0).clip(true).resizable(false),
        Column::Enabled => TableColumn::initial(30.0).at_least(26.0),
        Column::RemoteHost => TableColumn::initial(56.0).at_least(40.0).clip(true),
        Column::Lease => TableColumn::initial(100.0).at_least(60.0).clip(true),
    }
}

/// The lease left now, counted down from the reading.
fn lease_left(read_at: Instant, lease: Lease) -> String {
    if lease.is_permanent() {
        return "permanent".to_owned();
    }
    let elapsed = read_at.elapsed().as_secs();
    match u64::from(lease.as_secs()).checked_sub(elapsed) {
        Some(left) if left > 0 => Lease::from_router(left as u32).to_string(),
        _ => "expired".to_owned(),
    }
}

/// "1 mapping", "3 mappings".
pub fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// A row as tab-separated text, columns in display order (for the clipboard).
fn row_text(m: &Mapping) -> String {
    [
        m.protocol.to_string(),
        m.external_port.to_string(),
        m.internal_client.clone(),
        m.internal_port.to_string(),
        m.description.to_string(),
        if m.enabled { "yes" } else { "no" }.to_owned(),
        m.remote_host.clone(),
        m.lease.to_string(),
    ]
    .join("\t")
}

/// The owner column: who is behind the mapping; stale ones stand out.
fn owner_cell(ui: &mut egui::Ui, owner: Option<&Owner>, to_this_computer: bool, mapping: &Mapping) {
    match owner {
        None => {}
        Some(Owner::Nobody) => {
            ui.colored_label(ui.visuals().warn_fg_color, "⚠ stale")
                .on_hover_text(format!(
                    "nothing on this computer listens on {} port {}: the router forwards to nobody",
                    mapping.protocol, mapping.internal_port
                ));
        }
        Some(Owner::Unknown) if to_this_computer => {
            ui.weak("not visible").on_hover_text(
                "something listens, but its process belongs to another user: run as root (administrator) to see it",
            );
        }
        Some(Owner::Unknown) => {}
        Some(owner) => {
            ui.label(owner.to_string());
        }
    }
}

/// The owner as the filter and the sort see it.
fn owner_text(owner: Option<&Owner>) -> String {
    owner.map_or_else(String::new, ToString::to_string)
}

fn haystack(m: &Mapping, owner: Option<&Owner>) -> String {
    format!(
        "{} {} {} {} {} {} {} {}",
        m.protocol,
        m.external_port,
        m.internal_client,
        m.internal_port,
        m.description,
        if m.enabled { "enabled" } else { "disabled" },
        m.remote_host,
        owner_text(owner)
    )
    .to_lowercase()
}

/// Orders two mappings by a column; ties fall back to port and protocol, so the order is
/// stable from one reload to the next.
fn compare(row_a: &Row, row_b: &Row, column: Column) -> Ordering {
    let (a, b) = (&row_a.mapping, &row_b.mapping);
    let by_column = match column {
        Column::Protocol => a.protocol.cmp(&b.protocol),
        Column::ExternalPort => a.external_port.cmp(&b.external_port),
        Column::InternalClient => match (a.internal_ip(), b.internal_ip()) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => a.internal_client.cmp(&b.internal_client),
        },
        Column::InternalPort => a.internal_port.cmp(&b.internal_port),
        Column::Owner => owner_text(row_a.owner.as_ref()).cmp(&owner_text(row_b.owner.as_ref())),
        Column::Description => a
            .description
            .as_str()
            .to_lowercase()
            .cmp(&b.description.as_str().to_lowercase()),
        Column::Enabled => a.enabled.cmp(&b.enabled),
        Column::RemoteHost => a.remote_host.cmp(&b.remote_host),
        // Permanent sorts as the longest lease.
        Column::Lease => a
            .lease
            .duration()
            .map_or(u64::MAX, |d| d.as_secs())
            .cmp(&b.lease.duration().map_or(u64::MAX, |d| d.as_secs())),
    };
    by_column
        .then(a.external_port.cmp(&b.external_port))
        .then(a.protocol.cmp(&b.protocol))
}
