//! Domain types that validate themselves on construction.

mod email;

pub use email::{EmailAddress, EmailError, is_domain as domain_is_valid};
