//! The integration tests: the real sealpost on a free port against a fresh
//! SQLite or PostgreSQL database, real SMTP on the wire, the built binary
//! for the command line. One test binary, linked once (transport
//! decryption's tests, which capture every log line of their process, have
//! their own).

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod abuse;
mod access;
mod accounts;
mod admin;
mod antivirus;
mod api;
mod audit;
mod cli;
mod compose;
mod custom_agents;
mod disclaimers;
mod faults;
mod forwarding;
mod fuzz;
mod health;
mod https;
mod inbox;
mod portal;
mod protect;
mod queue;
mod replies;
mod retention;
mod revocation;
mod rules;
mod sending;
mod sent;
mod smtp_auth;
mod social;
mod structure;
mod templates;
mod throttles;
mod unopened;
