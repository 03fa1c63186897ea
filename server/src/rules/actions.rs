//! A rule's actions. They apply to the whole message.

use super::disclaimer::Disclaimer;
use crate::domain::FieldError;
use crate::domain::Rights;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Actions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prepend_subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apply_protection: Option<Rights>,
    /// The branding template of the protection (the default when none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disclaimer: Option<Disclaimer>,
    /// Not delivered: the sender gets a report with this text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject: Option<String>,
}

impl Actions {
    pub fn is_empty(&self) -> bool {
        self.prepend_subject.is_none()
            && self.apply_protection.is_none()
            && self.disclaimer.is_none()
            && self.reject.is_none()
    }

    /// One line per action, as `rule show` and the admin page say them.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(text) = &self.reject {
            lines.push(format!("reject the message: \"{text}\""));
        }
        if let Some(text) = &self.prepend_subject {
            lines.push(format!("prepend '{text}' to the subject"));
        }
        if let Some(d) = &self.disclaimer {
            lines.push(format!(
                "append the disclaimer \"{}\"{} (signed mail: {})",
                d.text.lines().next().unwrap_or_default(),
                if d.html.is_some() {
                    " with an HTML version"
                } else {
                    ""
                },
                d.signed.as_str()
            ));
        }
        if let Some(rights) = self.apply_protection {
            lines.push(match &self.template {
                Some(t) => format!("apply protection {} with template {t}", rights.as_str()),
                None => format!("apply protection {}", rights.as_str()),
            });
        }
        lines
    }
}

/// Text an administrator puts into a header or a report: one line,
/// printable, bounded; kept as given (a prefix's trailing space matters).
pub fn check_text(field: &'static str, text: &str, max: usize) -> Result<String, FieldError> {
    if text.trim().is_empty() {
        return Err(FieldError::new(field, "the text is empty"));
    }
    if text.chars().count() > max {
        return Err(FieldError::new(field, format!("at most {max} characters")));
    }
    if text.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "one line, without control characters",
        ));
    }
    Ok(text.to_string())
}
