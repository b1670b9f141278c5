//! `preset list|apply|import|export|delete`: the window's presets, for scripts.

use std::path::PathBuf;
use std::process::ExitCode;

use portforward::services::presets::{Preset, PresetStore};
use portforward::services::transfer::{self, Format};
use portforward::{Error, InputError, PortForwarder};

use super::export::{format, output_format, write_output};
use crate::cli::flags::{config_file, is_stdout};
use crate::cli::{Args, Out, output};

/// What to do with presets.
#[derive(Debug, clap::Subcommand)]
pub enum PresetCommand {
    /// Every saved preset, with its mappings.
    List,
    /// Create every mapping of a preset ("this computer" is this computer), reporting row by row.
    Apply {
        /// The preset's name.
        name: String,
    },
    /// Save a JSON or CSV file (as `preset export` or `export` writes) as a preset.
    Import {
        /// The file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The preset's name (default: the name in the file, else the file's name).
        #[arg(long)]
        name: Option<String>,
        /// Replace a preset of the same name.
        #[arg(long)]
        replace: bool,
    },
    /// Write a preset as JSON or CSV.
    Export {
        /// The preset's name.
        name: String,
        /// Where to write; `-` for standard output.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// json or csv; by default from the file's extension, else json.
        #[arg(long, value_name = "json|csv", value_parser = format)]
        format: Option<Format>,
    },
    /// Delete a preset.
    Delete {
        /// The preset's name.
        name: String,
    },
}

impl PresetCommand {
    /// Whether it talks to the router.
    pub fn needs_router(&self) -> bool {
        matches!(self, PresetCommand::Apply { .. })
    }
}

/// The presets file: in --config-dir, else in the platform's config directory.
pub fn store(args: &Args) -> Result<PresetStore, Error> {
    Ok(PresetStore::open(config_file(
        args,
        "presets.json",
        PresetStore::default_path(),
    )?)?)
}

pub fn find<'s>(store: &'s PresetStore, name: &str) -> Result<&'s Preset, Error> {
    store.get(name).ok_or_else(|| {
        let names: Vec<&str> = store.presets().iter().map(|p| p.name.as_str()).collect();
        InputError::new(
            "preset name",
            name,
            &format!("there is no such preset; the presets are: {}", names.join(", ")),
        )
        .into()
    })
}

/// Runs a preset command; `forwarder` is there for those that need the router.
pub fn run(
    args: &Args,
    out: Out,
    command: &PresetCommand,
    forwarder: Option<&PortForwarder>,
) -> Result<ExitCode, Error> {
    let mut store = store(args)?;
    match command {
        PresetCommand::List => out.presets(store.presets(), store.path()),
        PresetCommand::Apply { name } => {
            let forwarder = forwarder.expect("apply connects first");
            let preset = find(&store, name)?;
            let report = forwarder.apply_preset(preset);
            out.preset_applied(&preset.name, &report);
            if !report.is_complete() {
                return Ok(ExitCode::FAILURE);
            }
        }
        PresetCommand::Import { file, name, replace } => {
            let imported = transfer::read_import(file)?;
            for row in &imported.invalid {
                output::error(&format!("skipped {row}"));
            }
            let stem = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name = name.clone().or_else(|| imported.name.clone()).unwrap_or(stem);
            let invalid = !imported.invalid.is_empty();
            let preset = imported.into_preset(&name)?;
            let replacing = (*replace && store.get(&name).is_some()).then_some(name.as_str());
            let count = preset.mappings.len();
            store.save(preset, replacing)?;
            out.preset_saved(&name, count);
            if invalid {
                return Ok(ExitCode::FAILURE);
            }
        }
        PresetCommand::Export { name, file, format } => {
            let preset = find(&store, name)?;
            let format = output_format(file, *format);
            write_output(file, &transfer::export_preset(preset, format))?;
            if !is_stdout(file) {
                out.preset_exported(&preset.name, file, format);
            }
        }
        PresetCommand::Delete { name } => {
            let removed = store.delete(name)?;
            out.preset_deleted(&removed.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}
