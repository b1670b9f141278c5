//! One JSON file holding one value, read whole and written whole: to a temporary file first,
//! then renamed over the old one, so a crash mid-write never leaves half a file. Presets and
//! the NAT-PMP/PCP mappings made here are kept this way.

use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::FileError;

/// A JSON file for values of type `T`, or nowhere (kept in memory only: tests, or no config
/// directory on this system).
#[derive(Debug, Clone)]
pub struct JsonFile<T> {
    path: Option<PathBuf>,
    /// What a broken file is called in an error ("the presets in").
    what: &'static str,
    /// What to do about a broken file ("fix the file by hand, or move it away").
    fix: &'static str,
    kind: PhantomData<fn() -> T>,
}

impl<T> Default for JsonFile<T> {
    fn default() -> JsonFile<T> {
        JsonFile {
            path: None,
            what: "",
            fix: "",
            kind: PhantomData,
        }
    }
}

impl<T: Serialize + DeserializeOwned> JsonFile<T> {
    /// The file at `path`. A broken file is reported as "cannot read `what` PATH: … ; `fix`".
    pub fn at(path: impl Into<PathBuf>, what: &'static str, fix: &'static str) -> JsonFile<T> {
        JsonFile {
            path: Some(path.into()),
            what,
            fix,
            kind: PhantomData,
        }
    }

    /// No file: reads find nothing, writes keep nothing.
    pub fn nowhere() -> JsonFile<T> {
        JsonFile::default()
    }

    /// The file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The value in the file; `None` when there is no file (yet).
    pub fn read(&self) -> Result<Option<T>, FileError> {
        let Some(path) = &self.path else {
            return Ok(None);
        };
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| FileError::new(self.what, path, format!("{e}; {}", self.fix))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(FileError::new("read", path, e)),
        }
    }

    /// Writes `value` as pretty JSON, atomically (temporary file, then rename).
    pub fn write(&self, value: &T) -> Result<(), FileError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| FileError::new("create the folder for", path, e))?;
        }
        let text = serde_json::to_string_pretty(value).map_err(|e| FileError::new("write", path, e))? + "\n";
        let temporary = path.with_extension("json.tmp");
        std::fs::write(&temporary, text).map_err(|e| FileError::new("write", &temporary, e))?;
        std::fs::rename(&temporary, path).map_err(|e| FileError::new("write", path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_survives_a_round_trip_and_a_broken_file_says_what_to_do() {
        let dir = std::env::temp_dir().join(format!("pfw-json-file-{}-{}", std::process::id(), fastrand::u32(..)));
        let file: JsonFile<Vec<u32>> = JsonFile::at(dir.join("x.json"), "read the numbers in", "move it away");
        assert_eq!(file.read().unwrap(), None, "no file yet");
        file.write(&vec![1, 2]).unwrap();
        assert_eq!(file.read().unwrap(), Some(vec![1, 2]));
        std::fs::write(dir.join("x.json"), "{").unwrap();
        let err = file.read().unwrap_err().to_string();
        assert!(err.starts_with("cannot read the numbers in "), "{err}");
        assert!(err.ends_with("move it away"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
        assert_eq!(JsonFile::<u8>::nowhere().read().unwrap(), None);
    }
}
