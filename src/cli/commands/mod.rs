//! One file a command: each takes its flags, calls the library and hands the result to the
//! printer. Nothing here formats output; that is [`super::output`].

pub mod autostart;
pub mod disable;
pub mod disable_all;
pub mod enable;
pub mod export;
pub mod gateways;
pub mod import;
pub mod ip;
pub mod keep;
pub mod keep_preset;
pub mod list;
pub mod pinhole;
pub mod port_control;
pub mod preset;
pub mod refresh;
pub mod status;
pub mod watch;
