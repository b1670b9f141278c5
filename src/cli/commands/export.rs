//! `export FILE`: the table as JSON or CSV, to a file or to stdout (`-`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use portforward::services::transfer::{self, Format};
use portforward::{Error, FileError, InputError, PortForwarder};

use crate::cli::flags::is_stdout;
use crate::cli::{Out, output};

/// `export`'s arguments.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Where to write; `-` for standard output.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// json or csv; by default from the file's extension, else json.
    #[arg(long, value_name = "json|csv", value_parser = format)]
    format: Option<Format>,
}

/// Runs `export`.
pub fn run(out: Out, forwarder: &PortForwarder, e: &ExportArgs) -> Result<ExitCode, Error> {
    let table = forwarder.get_all_mappings()?;
    let format = output_format(&e.file, e.format);
    write_output(&e.file, &transfer::export_table(&table.mappings, format))?;
    if !is_stdout(&e.file) {
        out.exported(&e.file, format, table.mappings.len());
    }
    for warning in &table.warnings {
        output::warning(warning);
    }
    Ok(ExitCode::SUCCESS)
}

/// Parses a `--format` value.
pub fn format(text: &str) -> Result<Format, InputError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "json" => Ok(Format::Json),
        "csv" => Ok(Format::Csv),
        _ => Err(InputError::new("format", text, "choose json or csv")),
    }
}

/// The format to write `file` in: the flag, else the extension, else JSON.
pub fn output_format(file: &Path, flag: Option<Format>) -> Format {
    flag.or_else(|| Format::from_path(file)).unwrap_or_default()
}

/// Writes `text` to `file`, or to standard output for `-`.
pub fn write_output(file: &Path, text: &str) -> Result<(), FileError> {
    if is_stdout(file) {
        output::emit_bytes(text.as_bytes());
        Ok(())
    } else {
        transfer::write_file(file, text)
    }
}
