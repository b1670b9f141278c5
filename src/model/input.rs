//! Input that failed validation, with the field it was typed into.

/// Input that failed validation; nothing was sent to the router.
///
/// ```
/// use portforward::Port;
/// let err = Port::parse_field("external port", "70000").unwrap_err();
/// assert_eq!(err.field, "external port");
/// assert!(err.to_string().starts_with("external port: "));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason} (got \"{value}\")")]
pub struct InputError {
    /// The field that was wrong, as the user knows it ("external port").
    pub field: &'static str,
    /// What the user entered.
    pub value: String,
    /// Why it is wrong and what is accepted.
    pub reason: String,
}

impl InputError {
    /// An error for `field` holding `value`.
    pub fn new(field: &'static str, value: &str, reason: &str) -> InputError {
        InputError {
            field,
            value: value.to_owned(),
            reason: reason.to_owned(),
        }
    }
}
