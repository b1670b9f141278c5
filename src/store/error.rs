//! Files this program keeps: why one could not be read or written.

use std::fmt;
use std::path::PathBuf;

/// A file could not be read or written; the reason comes from the system.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} {}: {reason}", path.display())]
pub struct FileError {
    /// "read", "write", …
    pub action: &'static str,
    /// The file.
    pub path: PathBuf,
    /// What the system or the parser said, and what to do.
    pub reason: String,
}

impl FileError {
    /// An error for `action` on `path`.
    pub fn new(action: &'static str, path: impl Into<PathBuf>, reason: impl fmt::Display) -> FileError {
        FileError {
            action,
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}
