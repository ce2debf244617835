//! Pathway Partner API: the library behind the `api` binary.

pub mod access;
pub mod audit;
pub mod auth;
pub mod changes;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod graphql;
pub mod http;
pub mod idempotency;
pub mod metrics;
pub mod service;
pub mod startup;
pub mod telemetry;
