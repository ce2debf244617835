//! Service functions: plain async functions over a `ConnectionTrait`, returning [`AppResult`].
//! Resolvers call these and never build SQL themselves.
//!
//! [`AppResult`]: crate::error::AppResult

pub mod catalogue;
pub mod clients;
pub mod consents;
pub mod course_enrollments;
pub mod coverage;
pub mod curriculum;
pub mod cursor;
pub mod feed;
pub mod history;
pub mod list;
pub mod mentorships;
pub mod offering_writes;
pub mod offerings;
pub mod pathway_enrollments;
pub mod people;
pub mod rate_limit;
pub mod skills;
pub mod student_upserts;
pub mod upsert;
pub mod write;
