//! Headless UI tests.

#[test]
fn glyphs_probe() {
    for g in ["▲", "▼", "⏶", "⏷", "⬆", "⬇", "↑", "↓", "⚠", "✔", "✖", "→", "…", "—", "⇅"] {
        let ok = std::panic::catch_unwind(|| {
            let mut h = egui_kittest::Harness::new_ui(|ui| {
                ui.label(g);
            });
            h.run();
        })
        .is_ok();
        eprintln!("GLYPH {g} {ok}");
    }
}
