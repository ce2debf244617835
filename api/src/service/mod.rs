//! Service functions: plain async functions over a `ConnectionTrait`, returning [`AppResult`].
//! Resolvers call these and never build SQL themselves.
//!
//! [`AppResult`]: crate::error::AppResult

pub mod catalogue;
pub mod clients;
pub mod consents;
pub mod cursor;
pub mod history;
pub mod list;
pub mod mentorships;
pub mod offerings;
pub mod rate_limit;
pub mod upsert;
pub mod write;
