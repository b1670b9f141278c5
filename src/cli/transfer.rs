//! `import FILE` and `export FILE`: the table as JSON or CSV, and a file's rows added after a
//! plan that shows what would be added, what conflicts and what is already there.

use std::path::PathBuf;
use std::process::ExitCode;

use portforward::services::transfer::{self, Format, ImportPlan};
use portforward::{BulkReport, Error, FileError, InputError, PortForwarder};
use serde_json::json;

use super::{Args, mapping_json};

/// `import`'s arguments.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// A JSON or CSV file, as `export` or `list --json` writes (format from the extension, else the content).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Really add the rows (without it, only shows the plan).
    #[arg(long)]
    yes: bool,
}

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

/// Parses a `--format` value.
pub fn format(text: &str) -> Result<Format, InputError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "json" => Ok(Format::Json),
        "csv" => Ok(Format::Csv),
        _ => Err(InputError::new("format", text, "choose json or csv")),
    }
}

/// The format to write `file` in: the flag, else the extension, else JSON.
pub fn output_format(file: &std::path::Path, flag: Option<Format>) -> Format {
    flag.or_else(|| Format::from_path(file)).unwrap_or_default()
}

/// Writes `text` to `file`, or to standard output for `-`.
pub fn write_output(file: &std::path::Path, text: &str) -> Result<(), FileError> {
    if file.as_os_str() == "-" {
        {
            use std::io::Write as _;
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
        }
        Ok(())
    } else {
        transfer::write_file(file, text)
    }
}

/// `export FILE`.
pub fn export(args: &Args, forwarder: &PortForwarder, e: &ExportArgs) -> Result<ExitCode, Error> {
    let table = forwarder.get_all_mappings()?;
    let format = output_format(&e.file, e.format);
    write_output(&e.file, &transfer::export_table(&table.mappings, format))?;
    if e.file.as_os_str() != "-" {
        if args.json {
            outln!(
                "{}",
                json!({ "file": e.file, "format": format, "mappings": table.mappings.len() })
            );
        } else {
            outln!(
                "wrote {} mapping(s) to {} ({format})",
                table.mappings.len(),
                e.file.display()
            );
        }
    }
    for warning in &table.warnings {
        eprintln!("portforward: warning: {warning}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `import FILE [--yes]`: the plan, then (with --yes) the rows to add, row by row. The exit
/// status is non-zero when any row is invalid, conflicts or fails.
pub fn import(args: &Args, forwarder: &PortForwarder, i: &ImportArgs) -> Result<ExitCode, Error> {
    let file = transfer::read_import(&i.file)?;
    let table = forwarder.get_all_mappings()?;
    let plan = transfer::plan_import(&file, &table.mappings, forwarder.local_ip());
    let report = if i.yes && !plan.to_add.is_empty() {
        Some(forwarder.add_mappings(&plan.mappings_to_add()))
    } else {
        None
    };
    if args.json {
        print_json(&plan, report.as_ref());
    } else {
        print_plan(&i.file, &plan, i.yes);
        if let Some(report) = &report {
            print_report(report);
        }
    }
    let failed = report.as_ref().is_some_and(|r| !r.is_complete());
    Ok(if plan.is_clean() && !failed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_json(plan: &ImportPlan, report: Option<&BulkReport>) {
    let rows = |m: &[portforward::Mapping]| m.iter().map(mapping_json).collect::<Vec<_>>();
    let planned = |rows: &[transfer::PlannedRow]| {
        rows.iter()
            .map(|r| json!({ "line": r.line, "mapping": mapping_json(&r.mapping) }))
            .collect::<Vec<_>>()
    };
    let conflicts: Vec<_> = plan
        .conflicts
        .iter()
        .map(|c| json!({ "line": c.line, "wanted": mapping_json(&c.wanted), "existing": mapping_json(&c.existing) }))
        .collect();
    let invalid: Vec<_> = plan
        .invalid
        .iter()
        .map(|r| json!({ "line": r.line, "field": r.error.field, "value": r.error.value, "error": r.to_string() }))
        .collect();
    let (added, failed, not_attempted) = match report {
        Some(r) => (
            rows(&r.done),
            r.failed
                .iter()
                .map(|(m, why)| json!({ "mapping": mapping_json(m), "error": why }))
                .collect(),
            rows(&r.not_attempted),
        ),
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    outln!(
        "{}",
        json!({
            "to_add": planned(&plan.to_add), "conflicts": conflicts,
            "unchanged": planned(&plan.unchanged), "invalid": invalid,
            "added": added, "failed": failed, "not_attempted": not_attempted,
        })
    );
}

fn print_plan(file: &std::path::Path, plan: &ImportPlan, applying: bool) {
    outln!(
        "{}: {} to add, {} conflicting, {} unchanged, {} invalid",
        file.display(),
        plan.to_add.len(),
        plan.conflicts.len(),
        plan.unchanged.len(),
        plan.invalid.len()
    );
    for row in &plan.to_add {
        outln!("  add        line {:>4}: {}", row.line, row.mapping);
    }
    for conflict in &plan.conflicts {
        outln!("  CONFLICT   {conflict}");
    }
    for row in &plan.unchanged {
        outln!("  unchanged  line {:>4}: {}", row.line, row.mapping);
    }
    for row in &plan.invalid {
        outln!("  INVALID    {row}");
    }
    if !plan.conflicts.is_empty() || !plan.invalid.is_empty() {
        outln!("conflicting and invalid rows are never sent: fix the file, or remove the other mapping first");
    }
    if !applying && !plan.to_add.is_empty() {
        outln!(
            "nothing was changed; run again with --yes to add {} mapping(s)",
            plan.to_add.len()
        );
    }
}

fn print_report(report: &BulkReport) {
    for m in &report.done {
        outln!("added   {m}");
    }
    for (m, why) in &report.failed {
        outln!("FAILED  {m}: {why}");
    }
    for m in &report.not_attempted {
        outln!("skipped {m}: the gateway stopped answering");
    }
    outln!(
        "{} added, {} failed, {} not attempted",
        report.done.len(),
        report.failed.len(),
        report.not_attempted.len()
    );
}
