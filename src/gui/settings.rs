//! What the window remembers between runs. Window size and column widths are kept by eframe
//! and egui themselves (window geometry and egui memory are persisted); the rest is here.

use serde::{Deserialize, Serialize};

/// The key under which the settings are stored.
const KEY: &str = "portforward-settings";

/// Table columns, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Column {
    /// TCP or UDP.
    Protocol,
    /// The router's port.
    ExternalPort,
    /// The LAN host.
    InternalClient,
    /// The LAN host's port.
    InternalPort,
    /// The process (or host) behind the mapping; "stale" when nothing listens.
    Owner,
    /// What the creating program called it.
    Description,
    /// Whether the router applies it.
    Enabled,
    /// The remote host it is limited to.
    RemoteHost,
    /// The time left.
    Lease,
}

impl Column {
    /// Every column, in display order.
    pub const ALL: [Column; 9] = [
        Column::Protocol,
        Column::ExternalPort,
        Column::InternalClient,
        Column::InternalPort,
        Column::Owner,
        Column::Description,
        Column::Enabled,
        Column::RemoteHost,
        Column::Lease,
    ];

    /// The header text.
    /// The table's header text: short, so every column fits beside the forms (the full title
    /// is its hover text).
    pub fn short_title(self) -> &'static str {
        match self {
            Column::Protocol => "Proto",
            Column::ExternalPort => "Ext. port",
            Column::InternalClient => "Client",
            Column::InternalPort => "Int. port",
            Column::Owner => "Owner",
            Column::Description => "Description",
            Column::Enabled => "On",
            Column::RemoteHost => "Remote",
            Column::Lease => "Lease left",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Column::Protocol => "Protocol",
            Column::ExternalPort => "External port",
            Column::InternalClient => "Internal client",
            Column::InternalPort => "Internal port",
            Column::Owner => "Owner",
            Column::Description => "Description",
            Column::Enabled => "Enabled",
            Column::RemoteHost => "Remote host",
            Column::Lease => "Lease left",
        }
    }
}

/// How the table is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sort {
    /// By which column.
    pub column: Column,
    /// Smallest first.
    pub ascending: bool,
}

impl Default for Sort {
    fn default() -> Sort {
        Sort {
            column: Column::ExternalPort,
            ascending: true,
        }
    }
}

/// The choices of the table's reload timer, in seconds (`None` = off).
pub const RELOAD_CHOICES: [Option<u32>; 6] = [None, Some(5), Some(10), Some(30), Some(60), Some(300)];

/// Persisted settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Table sort.
    pub sort: Sort,
    /// Table filter text.
    pub filter: String,
    /// Reload the table every this many seconds; `None` = only on demand and after changes.
    pub reload_secs: Option<u32>,
    /// The gateway last connected to, offered when discovery finds nothing.
    pub last_gateway_url: Option<String>,
    /// Remove the mappings this window created when it closes.
    pub remove_created_on_exit: bool,
    /// Name other LAN hosts by reverse DNS (sends DNS queries); otherwise the hosts file only.
    pub reverse_dns: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            sort: Sort::default(),
            filter: String::new(),
            reload_secs: Some(30),
            last_gateway_url: None,
            remove_created_on_exit: false,
            reverse_dns: false,
        }
    }
}

impl Settings {
    /// The stored settings, or the defaults (first run, or unreadable after an upgrade).
    pub fn load(storage: Option<&dyn eframe::Storage>) -> Settings {
        storage.and_then(|s| eframe::get_value(s, KEY)).unwrap_or_default()
    }

    /// Stores them.
    pub fn save(&self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, KEY, self);
    }
}

/// How a reload interval reads in the chooser.
pub fn reload_label(secs: Option<u32>) -> String {
    match secs {
        None => "off".to_owned(),
        Some(s) if s % 60 == 0 => format!("every {} min", s / 60),
        Some(s) => format!("every {s} s"),
    }
}
