//! When the window cannot open (no usable OpenGL, most often) or stops on an error: the message
//! goes to standard error and, on Windows when there is none (started from Explorer or the
//! Start menu, where nobody would see it), into a native message box too.

/// What went wrong, and when.
pub enum Failure {
    /// The window never opened: eframe could not create it or its OpenGL context.
    Open(String),
    /// The window was open and stopped on an error.
    Stopped(String),
}

impl Failure {
    /// The message for the user: what happened and what to do.
    pub fn message(&self) -> String {
        match self {
            Failure::Open(err) => format!(
                "cannot open the window: {err}\n\n\
                 The window draws with OpenGL 2.0 or later, which the graphics driver provides. \
                 Install or update the graphics driver (in a virtual machine, turn on 3D \
                 acceleration). The command line works without it: run `portforward --help` \
                 in a terminal."
            ),
            Failure::Stopped(err) => format!("the window stopped on an error: {err}"),
        }
    }

    /// Prints the message to standard error and, where nobody would see that, shows it in a
    /// message box (which blocks until the user closes it).
    pub fn report(&self) {
        let message = self.message();
        eprintln!("portforward: {message}");
        #[cfg(windows)]
        if !crate::console::has_stderr() {
            rfd::MessageDialog::new()
                .set_level(rfd::MessageLevel::Error)
                .set_title("PortForward")
                .set_description(format!("PortForward {}", box_text(&message)))
                .set_buttons(rfd::MessageButtons::Ok)
                .show();
        }
    }
}

/// The message as a message box shows it: an error's details can be a page long (glutin prints
/// the whole pixel-format template it looked for), so the first paragraph, the error, is cut
/// to a few lines; the advice after it is kept whole.
#[cfg_attr(not(windows), allow(dead_code, reason = "message boxes are shown on Windows only"))]
fn box_text(message: &str) -> String {
    const MAX: usize = 160;
    let (error, advice) = message.split_once("\n\n").unwrap_or((message, ""));
    let error = match error.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &error[..cut]),
        None => error.to_owned(),
    };
    if advice.is_empty() {
        error
    } else {
        format!("{error}\n\n{advice}")
    }
}

/// The text of a panic's payload (what `panic!` was given), for the message.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "an internal error".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_that_cannot_open_says_what_to_do() {
        let message = Failure::Open("Found no glutin configs matching the template".into()).message();
        assert!(message.starts_with("cannot open the window: Found no glutin configs"));
        assert!(message.contains("OpenGL 2.0"), "{message}");
        assert!(message.contains("graphics driver"), "{message}");
        assert!(message.contains("portforward --help"), "{message}");
        let message = Failure::Stopped("lost the context".into()).message();
        assert_eq!(message, "the window stopped on an error: lost the context");
    }

    #[test]
    fn a_message_box_cuts_a_page_long_error_but_keeps_the_advice() {
        let long = format!("Found no glutin configs matching the template: {}", "x".repeat(2000));
        let text = box_text(&Failure::Open(long).message());
        let (error, advice) = text.split_once("\n\n").unwrap();
        assert_eq!(error.chars().count(), 161, "{error}");
        assert!(error.ends_with('…'));
        assert!(
            advice.contains("graphics driver") && advice.contains("portforward --help"),
            "{advice}"
        );
        let short = Failure::Stopped("lost the context".into()).message();
        assert_eq!(box_text(&short), short);
    }

    #[test]
    fn a_panic_s_text_is_kept() {
        let payload = std::panic::catch_unwind(|| panic!("failed to find a matching configuration")).unwrap_err();
        assert_eq!(panic_text(payload.as_ref()), "failed to find a matching configuration");
        let formatted = std::panic::catch_unwind(|| panic!("{} configs", 0)).unwrap_err();
        assert_eq!(panic_text(formatted.as_ref()), "0 configs");
    }
}
