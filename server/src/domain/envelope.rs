//! The SMTP transaction a message arrived in, kept with it for the pipeline.

use super::Rights;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// Who sent the message to whom, as the SMTP client said.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Envelope {
    /// Empty for the null sender `<>`.
    pub from: String,
    pub to: Vec<String>,
    pub peer: SocketAddr,
    pub helo: String,
    /// Protection the sender asked for outside the message (the compose page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested: Option<Requested>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Requested {
    pub rights: Rights,
    /// A branding template by name; the default when absent.
    pub template: Option<String>,
    /// Days until link-based recipients can no longer open it, checked
    /// against the template when it was asked for; the template's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_days: Option<i64>,
}
