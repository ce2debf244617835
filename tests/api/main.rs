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
mod course_enrollments_write;
mod coverage;
mod curriculum_access;
mod curriculum_contributors;
mod curriculum_example;
mod curriculum_workflow;
mod errors;
mod example_client;
mod feed;
mod filters;
mod idempotency;
mod matrix;
mod mentorships;
mod nodes;
mod offerings_write;
mod ordering;
mod pagination;
mod pathway_enrollments_write;
mod people_write;
mod relations;
mod schema;
mod scoping;
mod skills;
mod startup;
mod statements;
mod statistics;
mod student_upserts;
mod tokens;
mod transport;
