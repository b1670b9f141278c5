//! The text a mapping carries in routers' tables.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::input::InputError;

/// A mapping description: at most 255 bytes, no control characters.
///
/// Characters special to XML (`<`, `&`, quotes) are allowed: they are escaped on the wire.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(try_from = "String", into = "String")]
pub struct Description(String);

impl Description {
    /// The longest description accepted, in bytes (some routers refuse more: error 605).
    pub const MAX_BYTES: usize = 255;

    /// Validates user input for the field named `field`.
    pub fn parse_field(field: &'static str, text: &str) -> Result<Description, InputError> {
        if text.len() > Description::MAX_BYTES {
            return Err(InputError::new(
                field,
                &format!("{}…", text.chars().take(20).collect::<String>()),
                &format!(
                    "a description may be at most {} bytes (this one has {})",
                    Description::MAX_BYTES,
                    text.len()
                ),
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(InputError::new(
                field,
                text,
                "a description may not contain control characters",
            ));
        }
        Ok(Description(text.to_owned()))
    }

    /// A description as the router reported it, kept as-is (it was not ours to validate).
    pub fn from_router(text: String) -> Description {
        Description(text)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Description {
    type Error = InputError;
    fn try_from(text: String) -> Result<Description, InputError> {
        Description::parse_field("description", &text)
    }
}

impl From<Description> for String {
    fn from(d: Description) -> String {
        d.0
    }
}

impl fmt::Display for Description {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_length_and_characters() {
        assert!(Description::parse_field("d", &"x".repeat(1024)).is_err());
        assert!(Description::parse_field("d", "a\nb").is_err());
        assert_eq!(
            Description::parse_field("d", "<Tom & \"Jerry\"> ü").unwrap().as_str(),
            "<Tom & \"Jerry\"> ü"
        );
        assert!(Description::parse_field("d", "").is_ok());
    }
}
