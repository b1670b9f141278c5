//! `preset list|show|apply|import|export|delete`: the window's presets, for scripts.

use std::path::PathBuf;
use std::process::ExitCode;

use portforward::services::presets::{Preset, PresetStore};
use portforward::services::transfer::{self, Format};
use portforward::{Error, InputError, PortForwarder};
use serde_json::json;

use super::transfer::{format, output_format, write_output};
use super::{Args, mapping_json};

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
    let path = match &args.config_dir {
        Some(dir) => dir.join("presets.json"),
        None => PresetStore::default_path().ok_or_else(|| {
            InputError::new(
                "config dir",
                "",
                "this system has no config directory: give one with --config-dir",
            )
        })?,
    };
    Ok(PresetStore::open(path)?)
}

fn find<'s>(store: &'s PresetStore, name: &str) -> Result<&'s Preset, Error> {
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
pub fn run(args: &Args, command: &PresetCommand, forwarder: Option<&PortForwarder>) -> Result<ExitCode, Error> {
    let mut store = store(args)?;
    match command {
        PresetCommand::List => {
            if args.json {
                outln!("{}", serde_json::to_string(store.presets()).expect("presets serialize"));
            } else {
                for preset in store.presets() {
                    outln!("{} ({} mapping(s))", preset.name, preset.mappings.len());
                    for m in &preset.mappings {
                        outln!("    {m}");
                    }
                }
                if store.presets().is_empty() {
                    outln!(
                        "no presets yet (in {})",
                        store.path().map(|p| p.display().to_string()).unwrap_or_default()
                    );
                }
            }
        }
        PresetCommand::Apply { name } => {
            let forwarder = forwarder.expect("apply connects first");
            let preset = find(&store, name)?;
            let report = forwarder.apply_preset(preset);
            if args.json {
                outln!(
                    "{}",
                    json!({
                        "preset": preset.name,
                        "added": report.done.iter().map(mapping_json).collect::<Vec<_>>(),
                        "failed": report.failed.iter().map(|(m, why)| json!({ "mapping": mapping_json(m), "error": why })).collect::<Vec<_>>(),
                        "not_attempted": report.not_attempted.iter().map(mapping_json).collect::<Vec<_>>(),
                    })
                );
            } else {
                for m in &report.done {
                    outln!("added   {m}");
                }
                for (m, why) in &report.failed {
                    outln!("FAILED  {m}: {why}");
                }
                for m in &report.not_attempted {
                    outln!("skipped {m}: the gateway stopped answering");
                }
            }
            if !report.is_complete() {
                return Ok(ExitCode::FAILURE);
            }
        }
        PresetCommand::Import { file, name, replace } => {
            let imported = transfer::read_import(file)?;
            for row in &imported.invalid {
                eprintln!("portforward: skipped {row}");
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
            if args.json {
                outln!("{}", json!({ "preset": name, "mappings": count }));
            } else {
                outln!("saved preset \"{name}\" with {count} mapping(s)");
            }
            if invalid {
                return Ok(ExitCode::FAILURE);
            }
        }
        PresetCommand::Export { name, file, format } => {
            let preset = find(&store, name)?;
            let format = output_format(file, *format);
            write_output(file, &transfer::export_preset(preset, format))?;
            if file.as_os_str() != "-" && !args.json {
                outln!("wrote preset \"{}\" to {} ({format})", preset.name, file.display());
            }
        }
        PresetCommand::Delete { name } => {
            let removed = store.delete(name)?;
            if args.json {
                outln!("{}", json!({ "deleted": removed.name }));
            } else {
                outln!("deleted preset \"{}\"", removed.name);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
