//! sealpost: the organization's encrypted-mail gateway and recipient portal.

pub mod agents;
pub mod auth;
pub mod cli;
pub mod client_addr;
pub mod config;
pub mod crypto;
pub mod domain;
#[cfg(test)]
mod fuzz;
pub mod http;
pub mod intake;
pub mod irm_config;
pub mod keys;
pub mod metrics;
pub mod mime;
pub mod ndr;
pub mod outbound;
pub mod pipeline;
pub mod portal;
pub mod protected;
pub mod queue;
pub mod rules;
pub mod services;
pub mod shutdown;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tls;
