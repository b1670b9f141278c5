//! Export and import as whole use cases over files and the gateway, for the front ends: write
//! the router's table (or given rows, or a preset) to a file; read a file and plan its import
//! against the router's table. Each call reads or writes files and may wait on the router:
//! call it off a UI thread.

use std::path::Path;

use crate::error::Error;
use crate::model::Mapping;
use crate::services::PortForwarder;
use crate::services::presets::Preset;
use crate::services::transfer::{self, Format, ImportFile, ImportPlan};

/// Reads the router's table afresh and writes it to `path`; returns how many rows.
pub fn export_table_to(forwarder: &PortForwarder, path: &Path, format: Format) -> Result<usize, Error> {
    let table = forwarder.get_all_mappings()?;
    export_rows_to(&table.mappings, path, format)
}

/// Writes `rows` to `path`; returns how many.
pub fn export_rows_to(rows: &[Mapping], path: &Path, format: Format) -> Result<usize, Error> {
    transfer::write_file(path, &transfer::export_table(rows, format))?;
    Ok(rows.len())
}

/// Writes `preset` to `path`; returns how many rows it has.
pub fn export_preset_to(preset: &Preset, path: &Path, format: Format) -> Result<usize, Error> {
    transfer::write_file(path, &transfer::export_preset(preset, format))?;
    Ok(preset.mappings.len())
}

/// Reads the file at `path` and plans its import against the router's table as it is now
/// (what to add, what conflicts, what is there already, what is invalid). Sends nothing.
pub fn plan_import_from(forwarder: &PortForwarder, path: &Path) -> Result<(ImportFile, ImportPlan), Error> {
    let file = transfer::read_import(path)?;
    let table = forwarder.get_all_mappings()?;
    let plan = transfer::plan_import(&file, &table.mappings, forwarder.local_ip());
    Ok((file, plan))
}
