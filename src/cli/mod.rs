//! The command line's subcommands beside `main.rs`: accounts and boundaries.

pub mod accounts;
pub mod boundaries;
