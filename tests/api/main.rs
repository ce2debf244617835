//! Integration tests: one binary (zero2prod). Each test starts its own application on its own
//! database and arranges its own world.
#![expect(
    clippy::expect_used,
    reason = "test helpers: a failed step should abort the test"
)]

mod audit;
mod auth;
mod catalogue_write;
mod clients;
mod consents;
mod errors;
mod filters;
mod matrix;
mod mentorships;
mod nodes;
mod ordering;
mod pagination;
mod relations;
mod schema;
mod scoping;
mod startup;
mod statements;
mod statistics;
mod tokens;
mod transport;
