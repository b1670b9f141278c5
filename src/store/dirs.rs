//! Where this program's files live: the platform's config and data directories.

use std::path::PathBuf;

fn project() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "portforward")
}

/// The platform's config directory for this program (`~/.config/portforward` on Linux);
/// `None` when the system has no home directory.
pub fn config_dir() -> Option<PathBuf> {
    project().map(|d| d.config_dir().to_path_buf())
}

/// The platform's data directory for this program (`~/.local/share/portforward` on Linux),
/// where logs go; `None` when the system has no home directory.
pub fn data_dir() -> Option<PathBuf> {
    project().map(|d| d.data_dir().to_path_buf())
}
