//! The operations that change what the organization has set up (users,
//! API tokens, templates, rules, protection settings, keys, revocations,
//! the queue, retention): one function each, called by the command line, the pages,
//! the JSON API and the first start alike, and by nothing else for these
//! changes. Each takes the [`Actor`] and writes its audit line in the same
//! transaction as the change, so a change that cannot be recorded is not
//! made. `trace` and `audit` only read: the message trace and the trail.

pub mod audit;
pub mod compose;
pub mod keys;
pub mod protection;
pub mod queue;
pub mod retention;
pub mod revocation;
pub mod rules;
pub mod templates;
pub mod tokens;
pub mod trace;
pub mod users;

pub use crate::domain::Actor;
