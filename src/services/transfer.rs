//! Export and import: the table or a preset as JSON or CSV, and the plan of an import, so the
//! user sees what will be added and what conflicts before anything is sent.
//!
//! Both formats use the keys of `portforward list --json`: `external_port`, `internal_port`,
//! `internal_ip`, `protocol`, `description`, `duration`, `enabled`, `remote_host`. A preset
//! exports "this computer" as its `internal_ip` where it means the computer applying it; on
//! import, an empty `internal_ip` or a loopback address means this computer too.
//!
//! ```
//! use portforward::services::transfer::{self, Format};
//! let csv = "external_port,internal_port,internal_ip,protocol,description,duration\n\
//!            8080,80,192.168.1.20,TCP,web,0\n\
//!            70000,80,192.168.1.20,TCP,typo,0\n";
//! let file = transfer::parse_import(csv, Format::Csv)?;
//! assert_eq!(file.rows.len(), 1);
//! assert_eq!(file.invalid[0].to_string(), "line 3: external port: a port must be from 1 to 65535 (got \"70000\")");
//! # Ok::<(), portforward::InputError>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::path::Path;

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::model::{Description, InputError, Lease, Mapping, MappingKey, Port, Protocol};
use crate::services::presets::{Preset, PresetMapping, PresetTarget};
use crate::services::record::MappingRecord;
use crate::store::FileError;

/// The columns, in order: the keys of `portforward list --json`.
pub const COLUMNS: [&str; 8] = [
    "external_port",
    "internal_port",
    "internal_ip",
    "protocol",
    "description",
    "duration",
    "enabled",
    "remote_host",
];

/// A file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub enum Format {
    /// A JSON array of objects (or, for a preset, an object with `name` and `mappings`).
    #[default]
    Json,
    /// Comma-separated values with a header row.
    Csv,
}

impl Format {
    /// Both formats, in menu order.
    pub const ALL: [Format; 2] = [Format::Json, Format::Csv];

    /// The format a file name says (`.json`, `.csv`), if it says one.
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    /// The format of some text: JSON when it starts with `[` or `{`, else CSV.
    pub fn sniff(text: &str) -> Format {
        match text.trim_start_matches('\u{feff}').trim_start().chars().next() {
            Some('[' | '{') => Format::Json,
            _ => Format::Csv,
        }
    }

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Json => "JSON",
            Format::Csv => "CSV",
        })
    }
}

/// The preset layout of a JSON export.
#[derive(Serialize)]
struct PresetExport<'a> {
    name: &'a str,
    mappings: Vec<MappingRecord<'a>>,
}

fn to_csv(rows: &[MappingRecord<'_>]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(COLUMNS).expect("writing to memory");
    for row in rows {
        writer.write_record(row.csv_record()).expect("writing to memory");
    }
    String::from_utf8(writer.into_inner().expect("writing to memory")).expect("the fields are UTF-8")
}

/// The table (or some of its rows) as text in `format`, one [`MappingRecord`] a row (JSON keys
/// in alphabetical order, as `list --json` writes them). Lease columns hold the lease left.
pub fn export_table(mappings: &[Mapping], format: Format) -> String {
    let rows: Vec<MappingRecord<'_>> = mappings.iter().map(MappingRecord::of_mapping).collect();
    match format {
        Format::Json => serde_json::to_string_pretty(&rows).expect("rows always serialize") + "\n",
        Format::Csv => to_csv(&rows),
    }
}

/// A preset as text in `format`: JSON keeps its name (`{"name": …, "mappings": […]}`); CSV has
/// the rows only (the file name can carry the name).
pub fn export_preset(preset: &Preset, format: Format) -> String {
    let rows: Vec<MappingRecord<'_>> = preset.mappings.iter().map(MappingRecord::of_preset_mapping).collect();
    match format {
        Format::Json => {
            serde_json::to_string_pretty(&PresetExport {
                name: &preset.name,
                mappings: rows,
            })
            .expect("presets always serialize")
                + "\n"
        }
        Format::Csv => to_csv(&rows),
    }
}

/// Writes `text` to `path`.
pub fn write_file(path: &Path, text: &str) -> Result<(), FileError> {
    std::fs::write(path, text).map_err(|e| FileError::new("write", path, e))
}

/// A row that was read and is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedRow {
    /// The line of the file the row starts on (1 = the first line).
    pub line: usize,
    /// The mapping, "this computer" not yet resolved.
    pub mapping: PresetMapping,
}

/// A row that was not valid: never sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRow {
    /// The line of the file the row starts on.
    pub line: usize,
    /// Which field is wrong and why.
    pub error: InputError,
}

impl fmt::Display for InvalidRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.error)
    }
}

/// What a file held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportFile {
    /// The preset's name, when the file is a preset exported as JSON.
    pub name: Option<String>,
    /// The valid rows, in file order.
    pub rows: Vec<ImportedRow>,
    /// The invalid rows, in file order.
    pub invalid: Vec<InvalidRow>,
}

impl ImportFile {
    /// The valid rows as a preset called `name`.
    pub fn into_preset(self, name: &str) -> Result<Preset, InputError> {
        let mut preset = Preset::new(name)?;
        preset.mappings = self.rows.into_iter().map(|r| r.mapping).collect();
        Ok(preset)
    }
}

/// Reads a file to import; the format comes from its extension, else from its content.
pub fn read_import(path: &Path) -> Result<ImportFile, FileError> {
    let text = std::fs::read_to_string(path).map_err(|e| FileError::new("read", path, e))?;
    let format = Format::from_path(path).unwrap_or_else(|| Format::sniff(&text));
    parse_import(&text, format).map_err(|e| FileError::new("import", path, e))
}

/// Parses text to import. A file that cannot be read as `format` at all is an error; a bad
/// row is reported in [`ImportFile::invalid`] with its line and field, and the others kept.
pub fn parse_import(text: &str, format: Format) -> Result<ImportFile, InputError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut file = match format {
        Format::Json => parse_json(text)?,
        Format::Csv => parse_csv(text)?,
    };
    flag_repeats(&mut file);
    Ok(file)
}

/// Fields of one row, as text, keyed by lower-case column name.
type Fields = HashMap<String, String>;

fn parse_json(text: &str) -> Result<ImportFile, InputError> {
    #[derive(serde::Deserialize)]
    struct PresetLayout<'a> {
        name: Option<String>,
        #[serde(borrow)]
        mappings: Vec<&'a RawValue>,
    }
    let unreadable = |e: serde_json::Error| {
        InputError::new(
            "file",
            "",
            &format!(
                "not valid JSON at line {}: {e}; expected an array of mappings, as `portforward list --json` writes",
                e.line()
            ),
        )
    };
    let (name, items): (Option<String>, Vec<&RawValue>) = if text.trim_start().starts_with('{') {
        let layout: PresetLayout<'_> = serde_json::from_str(text).map_err(unreadable)?;
        (layout.name, layout.mappings)
    } else {
        (None, serde_json::from_str(text).map_err(unreadable)?)
    };
    let mut file = ImportFile {
        name,
        ..ImportFile::default()
    };
    for item in items {
        // The raw value is a slice of `text`: its offset gives the row's line.
        let offset = item.get().as_ptr() as usize - text.as_ptr() as usize;
        let line = text[..offset].matches('\n').count() + 1;
        let fields = match serde_json::from_str::<Map<String, Value>>(item.get()) {
            Ok(object) => object
                .into_iter()
                .filter_map(|(key, value)| {
                    let text = match value {
                        Value::Null => return None,
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    Some((key.trim().to_ascii_lowercase(), text))
                })
                .collect(),
            Err(_) => {
                file.invalid.push(InvalidRow {
                    line,
                    error: InputError::new("row", item.get(), "each mapping must be an object with named fields"),
                });
                continue;
            }
        };
        push_row(&mut file, line, &fields);
    }
    Ok(file)
}

fn parse_csv(text: &str) -> Result<ImportFile, InputError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| InputError::new("file", "", &format!("unreadable CSV header: {e}")))?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    for required in ["external_port", "protocol"] {
        if !header.iter().any(|h| h == required) {
            return Err(InputError::new(
                "file",
                &header.join(","),
                &format!(
                    "the first line must name the columns, at least external_port and protocol (the columns are: {})",
                    COLUMNS.join(",")
                ),
            ));
        }
    }
    let mut file = ImportFile::default();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| line_at(text, p.byte() as usize));
                file.invalid.push(InvalidRow {
                    line,
                    error: InputError::new("row", "", &format!("unreadable CSV: {e}")),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| line_at(text, p.byte() as usize));
        if record.iter().all(str::is_empty) {
            continue;
        }
        if record.len() > header.len() {
            file.invalid.push(InvalidRow {
                line,
                error: InputError::new(
                    "row",
                    &record.iter().collect::<Vec<_>>().join(","),
                    &format!(
                        "the row has {} fields but the header names {}; quote descriptions that contain commas",
                        record.len(),
                        header.len()
                    ),
                ),
            });
            continue;
        }
        let fields: Fields = header
            .iter()
            .zip(record.iter())
            .filter(|(_, value)| !value.is_empty())
            .map(|(key, value)| (key.clone(), value.to_owned()))
            .collect();
        push_row(&mut file, line, &fields);
    }
    Ok(file)
}

/// The line a record starting at `byte` is on; the reader reports a record after blank lines
/// as starting at the first of them, so those are skipped.
fn line_at(text: &str, byte: usize) -> usize {
    let start = byte.min(text.len());
    let blank = text[start..].len() - text[start..].trim_start_matches(['\r', '\n']).len();
    text[..start + blank].matches('\n').count() + 1
}

fn push_row(file: &mut ImportFile, line: usize, fields: &Fields) {
    match parse_row(fields) {
        Ok(mapping) => file.rows.push(ImportedRow { line, mapping }),
        Err(error) => file.invalid.push(InvalidRow { line, error }),
    }
}

/// One row, validated with the crate's parsers; the first bad field is the error.
fn parse_row(fields: &Fields) -> Result<PresetMapping, InputError> {
    let get = |key: &str| fields.get(key).map(String::as_str);
    let external_port = match get("external_port") {
        Some(text) => Port::parse_field("external port", text)?,
        None => return Err(InputError::new("external port", "", "every row needs an external_port")),
    };
    let internal_port = match get("internal_port") {
        Some(text) => Port::parse_field("internal port", text)?,
        None => external_port,
    };
    let internal_ip = match get("internal_ip") {
        // No router forwards to its own loopback: a loopback client is a router on this very
        // computer (the simulated one), which lists this computer so.
        Some(text) if text.trim().parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback()) => PresetTarget::ThisComputer,
        text => PresetTarget::parse_field("internal ip", text.unwrap_or(""))?,
    };
    let protocol = match get("protocol") {
        Some(text) => Protocol::parse_field("protocol", text)?,
        None => {
            return Err(InputError::new(
                "protocol",
                "",
                "every row needs a protocol, TCP or UDP",
            ));
        }
    };
    let description = Description::parse_field("description", get("description").unwrap_or(""))?;
    let duration = match get("duration") {
        Some(text) => Lease::parse_field("duration", text)?,
        None => Lease::DEFAULT,
    };
    if let Some(text) = get("enabled")
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "1" | "0"
        )
    {
        return Err(InputError::new("enabled", text, "enabled is true or false"));
    }
    if let Some(host) = get("remote_host").filter(|h| !h.trim().is_empty() && h.trim() != "*") {
        return Err(InputError::new(
            "remote host",
            host,
            "PortForward can only create mappings open to every remote host; empty remote_host to import the row so",
        ));
    }
    Ok(PresetMapping {
        external_port,
        internal_port,
        internal_ip,
        protocol,
        description,
        duration,
    })
}

/// A file naming the same external port and protocol twice would ask for two things at once:
/// the later rows are invalid.
fn flag_repeats(file: &mut ImportFile) {
    let mut first: HashMap<(Port, Protocol), usize> = HashMap::new();
    let mut kept = Vec::with_capacity(file.rows.len());
    for row in std::mem::take(&mut file.rows) {
        let key = (row.mapping.external_port, row.mapping.protocol);
        match first.get(&key) {
            Some(&line) => file.invalid.push(InvalidRow {
                line: row.line,
                error: InputError::new(
                    "external port",
                    &row.mapping.external_port.to_string(),
                    &format!(
                        "{}/{} is already in this file at line {line}; keep one of them",
                        key.0, key.1
                    ),
                ),
            }),
            None => {
                first.insert(key, row.line);
                kept.push(row);
            }
        }
    }
    file.rows = kept;
    file.invalid.sort_by_key(|r| r.line);
}

/// A row and the mapping it asks for on this computer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedRow {
    /// The row's line in the file.
    pub line: usize,
    /// The mapping to create ("this computer" resolved).
    pub mapping: Mapping,
}

/// A row whose external port and protocol are held by a different client or port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// The row's line in the file.
    pub line: usize,
    /// What the row asks for.
    pub wanted: Mapping,
    /// What the router has now.
    pub existing: Mapping,
}

impl fmt::Display for Conflict {
    /// `line 3: 27015/UDP wants 192.168.1.99:27015, but the router forwards it to
    /// 192.168.1.21:27015 ("game server")`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: {}/{} wants {}:{}, but the router forwards it to {}:{} (\"{}\")",
            self.line,
            self.wanted.external_port,
            self.wanted.protocol,
            self.wanted.internal_client,
            self.wanted.internal_port,
            self.existing.internal_client,
            self.existing.internal_port,
            self.existing.description
        )
    }
}

/// What an import would do, computed before anything is sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportPlan {
    /// Rows to create (new, or the same forward with another description or lease).
    pub to_add: Vec<PlannedRow>,
    /// Rows whose port is held by another forward: not sent.
    pub conflicts: Vec<Conflict>,
    /// Rows already on the router as they are: nothing to do.
    pub unchanged: Vec<PlannedRow>,
    /// Rows that are not valid: never sent.
    #[serde(serialize_with = "invalid_as_text")]
    pub invalid: Vec<InvalidRow>,
}

fn invalid_as_text<S: serde::Serializer>(rows: &[InvalidRow], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(rows.iter().map(|r| {
        serde_json::json!({ "line": r.line, "field": r.error.field, "value": r.error.value, "error": r.to_string() })
    }))
}

impl ImportPlan {
    /// The mappings to send when the user confirms.
    pub fn mappings_to_add(&self) -> Vec<Mapping> {
        self.to_add.iter().map(|r| r.mapping.clone()).collect()
    }

    /// Whether every row can be applied as asked (nothing conflicts, nothing is invalid).
    pub fn is_clean(&self) -> bool {
        self.conflicts.is_empty() && self.invalid.is_empty()
    }
}

/// Compares the file's rows with the router's table: what to add, what conflicts, what is
/// already there. "This computer" means `local_ip`. Sends nothing.
pub fn plan_import(file: &ImportFile, current: &[Mapping], local_ip: Ipv4Addr) -> ImportPlan {
    let by_key: HashMap<MappingKey, &Mapping> = current.iter().map(|m| (m.key(), m)).collect();
    let mut plan = ImportPlan {
        invalid: file.invalid.clone(),
        ..ImportPlan::default()
    };
    for row in &file.rows {
        let fallback = file.name.as_deref().unwrap_or(crate::DEFAULT_DESCRIPTION);
        let wanted = row.mapping.resolve(local_ip, fallback);
        let planned = PlannedRow {
            line: row.line,
            mapping: wanted.clone(),
        };
        match by_key.get(&wanted.key()) {
            None => plan.to_add.push(planned),
            Some(existing)
                if existing.internal_client != wanted.internal_client
                    || existing.internal_port != wanted.internal_port =>
            {
                plan.conflicts.push(Conflict {
                    line: row.line,
                    wanted,
                    existing: (*existing).clone(),
                })
            }
            Some(existing) if existing.description == wanted.description => plan.unchanged.push(planned),
            Some(_) => plan.to_add.push(planned),
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(port: u16, protocol: Protocol, client: &str, internal_port: u16, description: &str) -> Mapping {
        Mapping {
            protocol,
            external_port: Port::new(port).unwrap(),
            internal_client: client.to_owned(),
            internal_port: Port::new(internal_port).unwrap(),
            description: Description::parse_field("d", description).unwrap(),
            enabled: true,
            remote_host: String::new(),
            lease: Lease::PERMANENT,
        }
    }

    fn table() -> Vec<Mapping> {
        vec![
            mapping(8080, Protocol::Tcp, "192.168.1.20", 80, "web, \"main\""),
            mapping(27015, Protocol::Udp, "192.168.1.21", 27015, "game"),
            Mapping {
                lease: Lease::seconds(3600).unwrap(),
                ..mapping(5000, Protocol::Tcp, "192.168.1.10", 5001, "ü <tag> & co")
            },
        ]
    }

    const HERE: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 10);

    #[test]
    fn json_and_csv_round_trip_a_table() {
        for format in Format::ALL {
            let text = export_table(&table(), format);
            assert_eq!(Format::sniff(&text), format, "{text}");
            let file = parse_import(&text, format).unwrap();
            assert!(file.invalid.is_empty(), "{format}: {:?}", file.invalid);
            let plan = plan_import(&file, &[], Ipv4Addr::new(10, 0, 0, 1));
            let back = plan.mappings_to_add();
            assert_eq!(back, table(), "{format}:\n{text}");
            // Imported onto the same table, nothing changes.
            let plan = plan_import(&file, &table(), HERE);
            assert_eq!(plan.unchanged.len(), 3, "{format}");
            assert!(plan.to_add.is_empty() && plan.conflicts.is_empty());
        }
    }

    #[test]
    fn csv_has_a_header_and_quotes_what_needs_it() {
        let text = export_table(&table()[..1], Format::Csv);
        assert_eq!(
            text,
            "external_port,internal_port,internal_ip,protocol,description,duration,enabled,remote_host\n\
             8080,80,192.168.1.20,TCP,\"web, \"\"main\"\"\",0,true,\n"
        );
    }

    #[test]
    fn json_uses_the_keys_of_list_json() {
        let text = export_table(&table()[..1], Format::Json);
        let rows: Vec<Map<String, Value>> = serde_json::from_str(&text).unwrap();
        let keys: Vec<&str> = rows[0].keys().map(String::as_str).collect();
        let mut expected = COLUMNS.to_vec();
        expected.sort_unstable();
        let mut keys = keys.clone();
        keys.sort_unstable();
        assert_eq!(keys, expected);
        assert_eq!(rows[0]["external_port"], 8080);
        assert_eq!(rows[0]["duration"], 0);
    }

    #[test]
    fn exports_written_before_the_shared_record_still_import() {
        // Until the one MappingRecord, export wrote the keys in COLUMNS order; now they are in
        // alphabetical order, as `list --json` writes them. Both read the same.
        let old = r#"[
  {
    "external_port": 5000,
    "internal_port": 5001,
    "internal_ip": "192.168.1.10",
    "protocol": "TCP",
    "description": "ü <tag> & co",
    "duration": 3600,
    "enabled": true,
    "remote_host": ""
  }
]
"#;
        let new = export_table(&table()[2..], Format::Json);
        assert_ne!(old, new, "the key order changed");
        let plan = |text: &str| plan_import(&parse_import(text, Format::Json).unwrap(), &[], HERE).mappings_to_add();
        assert_eq!(plan(old), plan(&new));
        assert_eq!(plan(old), table()[2..].to_vec());
    }

    #[test]
    fn a_preset_round_trips_with_its_name_and_this_computer() {
        let mut preset = Preset::both_protocols(
            "Minecraft server",
            Port::new(25565).unwrap(),
            PresetTarget::ThisComputer,
        )
        .unwrap();
        preset.mappings.push(PresetMapping::same_port(
            Port::new(8123).unwrap(),
            Protocol::Tcp,
            PresetTarget::Host(Ipv4Addr::new(192, 168, 1, 50)),
        ));
        let json = export_preset(&preset, Format::Json);
        assert!(json.contains("\"name\": \"Minecraft server\""), "{json}");
        assert!(json.contains("\"internal_ip\": \"this computer\""), "{json}");
        let file = parse_import(&json, Format::Json).unwrap();
        assert_eq!(file.name.as_deref(), Some("Minecraft server"));
        assert_eq!(file.clone().into_preset("Minecraft server").unwrap(), preset);

        let csv = export_preset(&preset, Format::Csv);
        let file = parse_import(&csv, Format::Csv).unwrap();
        assert_eq!(file.into_preset("Minecraft server").unwrap(), preset);

        // Applied elsewhere, "this computer" is that computer; the name is the description.
        let plan = plan_import(&parse_import(&json, Format::Json).unwrap(), &[], HERE);
        assert_eq!(plan.to_add[0].mapping.internal_client, "192.168.1.10");
        assert_eq!(plan.to_add[0].mapping.description.as_str(), "Minecraft server");
        assert_eq!(plan.to_add[2].mapping.internal_client, "192.168.1.50");
    }

    #[test]
    fn bad_csv_rows_are_reported_with_their_line_and_field_and_the_rest_kept() {
        let text = "external_port,internal_port,internal_ip,protocol,description,duration\n\
                    8080,80,192.168.1.20,TCP,web,0\n\
                    \n\
                    70000,80,192.168.1.20,TCP,bad port,0\n\
                    8081,80,192.168.1.300,TCP,bad ip,0\n\
                    8082,80,192.168.1.20,XYZ,bad protocol,0\n\
                    8083,80,192.168.1.20,UDP,bad lease,604801\n\
                    8084,80,192.168.1.20,UDP,too,many,fields\n\
                    8080,81,192.168.1.20,TCP,again,0\n\
                    9000,,,udp,,\n";
        let file = parse_import(text, Format::Csv).unwrap();
        let lines: Vec<(usize, &str)> = file.invalid.iter().map(|r| (r.line, r.error.field)).collect();
        assert_eq!(
            lines,
            [
                (4, "external port"),
                (5, "internal ip"),
                (6, "protocol"),
                (7, "duration"),
                (8, "row"),
                (9, "external port")
            ]
        );
        assert!(
            file.invalid[5].to_string().contains("already in this file at line 2"),
            "{}",
            file.invalid[5]
        );
        assert_eq!(file.rows.len(), 2);
        // Empty fields take the defaults: same port, this computer, the default lease.
        let defaults = &file.rows[1];
        assert_eq!(defaults.line, 10);
        assert_eq!(defaults.mapping.internal_port.get(), 9000);
        assert_eq!(defaults.mapping.internal_ip, PresetTarget::ThisComputer);
        assert_eq!(defaults.mapping.protocol, Protocol::Udp);
        assert_eq!(defaults.mapping.duration, Lease::DEFAULT);
    }

    #[test]
    fn bad_json_rows_are_reported_with_their_line() {
        let text = r#"[
  {"external_port": 8080, "internal_port": 80, "internal_ip": "192.168.1.20", "protocol": "TCP"},
  {
    "external_port": "0",
    "protocol": "TCP"
  },
  42,
  {"external_port": 8081, "protocol": "TCP", "remote_host": "1.2.3.4"},
  {"external_port": 8082, "protocol": "UDP", "owner": "some future column", "enabled": false}
]"#;
        let file = parse_import(text, Format::Json).unwrap();
        let lines: Vec<(usize, &str)> = file.invalid.iter().map(|r| (r.line, r.error.field)).collect();
        assert_eq!(lines, [(3, "external port"), (7, "row"), (8, "remote host")]);
        assert_eq!(file.rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 9]);
    }

    #[test]
    fn unreadable_files_say_what_was_expected() {
        let err = parse_import("[{\"external_port\": 1,", Format::Json).unwrap_err();
        assert!(err.reason.contains("not valid JSON at line 1"), "{err}");
        let err = parse_import("port,proto\n1,TCP\n", Format::Csv).unwrap_err();
        assert!(err.reason.contains("at least external_port and protocol"), "{err}");
    }

    #[test]
    fn the_plan_separates_new_conflicting_unchanged_and_invalid_rows() {
        let text = "external_port,internal_port,internal_ip,protocol,description,duration\n\
                    8080,80,192.168.1.20,TCP,\"web, \"\"main\"\"\",0\n\
                    27015,27015,192.168.1.99,UDP,game,0\n\
                    5000,5001,this computer,TCP,renamed,0\n\
                    6000,6000,,TCP,new,0\n\
                    0,1,,TCP,bad,0\n";
        let file = parse_import(text, Format::Csv).unwrap();
        let plan = plan_import(&file, &table(), HERE);
        assert_eq!(plan.unchanged.iter().map(|r| r.line).collect::<Vec<_>>(), [2]);
        assert_eq!(plan.conflicts.len(), 1);
        assert_eq!(plan.conflicts[0].line, 3);
        assert_eq!(plan.conflicts[0].existing.internal_client, "192.168.1.21");
        // Same forward with another description: re-adding updates it.
        assert_eq!(plan.to_add.iter().map(|r| r.line).collect::<Vec<_>>(), [4, 5]);
        assert_eq!(plan.to_add[1].mapping.internal_client, "192.168.1.10");
        assert_eq!(plan.invalid.len(), 1);
        assert!(!plan.is_clean());
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["invalid"][0]["line"], 6);
        assert_eq!(json["invalid"][0]["field"], "external port");
    }

    #[test]
    fn formats_come_from_the_extension_or_the_content() {
        assert_eq!(Format::from_path(Path::new("a/b.CSV")), Some(Format::Csv));
        assert_eq!(Format::from_path(Path::new("b.json")), Some(Format::Json));
        assert_eq!(Format::from_path(Path::new("b.txt")), None);
        assert_eq!(Format::sniff("\u{feff}  [\n"), Format::Json);
        assert_eq!(Format::sniff("external_port,protocol\n"), Format::Csv);
    }
}
