//! What a bulk action (disable-all, undo, a preset, an import) did, row by row.

use serde::Serialize;

use crate::model::Mapping;

/// What a bulk removal (or restore) did, row by row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BulkReport {
    /// Rows done.
    pub done: Vec<Mapping>,
    /// Rows the router refused, with the reason.
    pub failed: Vec<(Mapping, String)>,
    /// Rows not attempted because the gateway stopped answering.
    pub not_attempted: Vec<Mapping>,
}

impl BulkReport {
    /// Whether every row was done.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty() && self.not_attempted.is_empty()
    }
}
