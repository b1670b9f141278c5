//! The router's status, in a small panel under the header: connection type and state, uptime,
//! link, the WAN's traffic and bit rates, and its admin page, opened in the browser. Read with
//! the header's facts (on connecting, on reload, and when the router's events say the address
//! or status changed).

use portforward::Lease;
use portforward::upnp::RouterStatus;

/// Draws `status` (what the router answered; each part it does not offer says so).
pub fn ui(ui: &mut egui::Ui, status: &RouterStatus) {
    egui::CollapsingHeader::new("Router status")
        .id_salt("router status")
        .default_open(false)
        .show(ui, |ui| {
            egui::Grid::new("router status grid")
                .num_columns(2)
                .spacing([12.0, 2.0])
                .show(ui, |ui| rows(ui, status));
        });
}

fn rows(ui: &mut egui::Ui, status: &RouterStatus) {
    let not_offered = "not offered by this router";
    ui.label("Connection");
    let connection = &status.connection;
    let mut text = connection.status.clone();
    if let Some(kind) = &status.connection_type {
        text = format!("{text} ({kind})");
    }
    ui.label(text);
    ui.end_row();
    ui.label("Up for");
    if connection.uptime_secs > 0 {
        ui.label(Lease::from_router(connection.uptime_secs.min(u32::MAX.into()) as u32).to_string());
    } else {
        ui.weak("unknown");
    }
    ui.end_row();
    if !connection.last_error.is_empty() && connection.last_error != "ERROR_NONE" {
        ui.label("Last error");
        ui.label(&connection.last_error);
        ui.end_row();
    }
    ui.label("Link");
    match &status.link {
        Some(link) => {
            ui.label(format!("{} · {}", link.physical_link_status, link.access_type));
            ui.end_row();
            ui.label("Max rate");
            ui.label(format!(
                "↓ {} · ↑ {}",
                bit_rate(link.downstream_max_bit_rate),
                bit_rate(link.upstream_max_bit_rate)
            ));
        }
        None => {
            ui.weak(not_offered);
        }
    }
    ui.end_row();
    let traffic = &status.traffic;
    for (name, bytes, packets) in [
        ("Received", traffic.bytes_received, traffic.packets_received),
        ("Sent", traffic.bytes_sent, traffic.packets_sent),
    ] {
        ui.label(name);
        match (bytes, packets) {
            (None, None) => {
                ui.weak(not_offered);
            }
            _ => {
                let bytes = bytes.map_or_else(|| "? bytes".to_owned(), byte_count);
                let packets = packets.map_or_else(|| "? packets".to_owned(), |p| format!("{p} packets"));
                ui.label(format!("{bytes} · {packets}"));
            }
        }
        ui.end_row();
    }
    ui.label("Admin page");
    match status.presentation_url.as_deref().filter(|url| is_web_page(url)) {
        Some(url) => {
            ui.horizontal(|ui| {
                ui.monospace(url);
                if ui
                    .small_button("Open")
                    .on_hover_text("open the router's admin page in the browser")
                    .clicked()
                {
                    ui.ctx().open_url(egui::OpenUrl::new_tab(url));
                }
            });
        }
        None => {
            ui.weak(not_offered);
        }
    }
    ui.end_row();
}

/// Only http(s) pages are opened: the URL comes from the router, which may say anything.
fn is_web_page(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// "100 Mbit/s", "2.5 Gbit/s"; "unknown" for 0.
fn bit_rate(bits: u64) -> String {
    match bits {
        0 => "unknown".to_owned(),
        b if b >= 1_000_000_000 => format!("{} Gbit/s", trim(b as f64 / 1e9)),
        b if b >= 1_000_000 => format!("{} Mbit/s", trim(b as f64 / 1e6)),
        b if b >= 1_000 => format!("{} kbit/s", trim(b as f64 / 1e3)),
        b => format!("{b} bit/s"),
    }
}

/// "4.2 GB (4505792774 bytes)": the unit for reading, the exact count for checking.
fn byte_count(bytes: u64) -> String {
    let (value, unit) = match bytes {
        b if b >= 1_000_000_000_000 => (b as f64 / 1e12, "TB"),
        b if b >= 1_000_000_000 => (b as f64 / 1e9, "GB"),
        b if b >= 1_000_000 => (b as f64 / 1e6, "MB"),
        b if b >= 1_000 => (b as f64 / 1e3, "kB"),
        b => return format!("{b} bytes"),
    };
    format!("{} {unit} ({bytes} bytes)", trim(value))
}

/// One decimal, none when it is .0.
fn trim(value: f64) -> String {
    let text = format!("{value:.1}");
    text.strip_suffix(".0").map_or(text.clone(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_counts_read_well_and_stay_exact() {
        assert_eq!(bit_rate(0), "unknown");
        assert_eq!(bit_rate(100_000_000), "100 Mbit/s");
        assert_eq!(bit_rate(2_500_000_000), "2.5 Gbit/s");
        assert_eq!(byte_count(999), "999 bytes");
        assert_eq!(byte_count(4_505_792_774), "4.5 GB (4505792774 bytes)");
        assert!(is_web_page("http://192.168.1.1/"));
        assert!(!is_web_page("file:///etc/passwd"));
        assert!(!is_web_page("javascript:alert(1)"));
    }
}
