//! What this program keeps on disk: one generic JSON file store, and where its files live.

mod dirs;
mod error;
mod json_file;

pub use dirs::{config_dir, data_dir};
pub use error::FileError;
pub use json_file::JsonFile;
