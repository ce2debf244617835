//! Mutation payload pieces shared by every area (API.md section 4): expected failures are
//! `UserError`s in the payload, and the database is left unchanged.

use async_graphql::{Enum, SimpleObject};

use crate::error::{AppError, ErrorCode as Code};

/// The closed set of error codes (API.md section 5), as user errors and `extensions.code` carry them.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(name = "ErrorCode", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    BadUserInput,
    VersionConflict,
    InvalidTransition,
    Duplicate,
    IdempotencyKeyReused,
    IdempotencyInProgress,
    QueryTooComplex,
    RateLimited,
    Timeout,
    ServiceUnavailable,
    InternalServerError,
}

impl From<Code> for ErrorCode {
    fn from(code: Code) -> Self {
        match code {
            Code::Unauthenticated => Self::Unauthenticated,
            Code::Forbidden => Self::Forbidden,
            Code::NotFound => Self::NotFound,
            Code::BadUserInput => Self::BadUserInput,
            Code::VersionConflict => Self::VersionConflict,
            Code::InvalidTransition => Self::InvalidTransition,
            Code::Duplicate => Self::Duplicate,
            Code::IdempotencyKeyReused => Self::IdempotencyKeyReused,
            Code::IdempotencyInProgress => Self::IdempotencyInProgress,
            Code::QueryTooComplex => Self::QueryTooComplex,
            Code::RateLimited => Self::RateLimited,
            Code::Timeout => Self::Timeout,
            Code::ServiceUnavailable => Self::ServiceUnavailable,
            Code::InternalServerError => Self::InternalServerError,
        }
    }
}

/// An expected failure of a mutation: a bad value, an illegal transition, a stale version, a
/// duplicate key. Nothing was written.
#[derive(SimpleObject, Clone, Debug)]
pub struct UserError {
    /// Path to the input field at fault, e.g. `["input", "scopes"]`; null when no one field is.
    pub field: Option<Vec<String>>,
    pub code: ErrorCode,
    pub message: String,
}

impl UserError {
    pub fn new(field: Option<&[&str]>, code: Code, message: impl Into<String>) -> Self {
        UserError {
            field: field.map(|f| f.iter().map(|s| (*s).to_owned()).collect()),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Splits a service failure into an expected one (a user error for the payload) or an
/// unexpected/access one (a top-level GraphQL error, returned as `Err`).
///
/// Expected: `BAD_USER_INPUT` (its field is placed under `input`), `VERSION_CONFLICT`,
/// `INVALID_TRANSITION`, `DUPLICATE`. Everything else stays a top-level error.
pub fn user_error(error: AppError) -> Result<UserError, AppError> {
    match error {
        AppError::BadUserInput { field, message } => {
            let mut path = vec!["input".to_owned()];
            path.extend(
                field
                    .split('.')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            );
            Ok(UserError {
                field: Some(path),
                code: ErrorCode::BadUserInput,
                message,
            })
        }
        AppError::Conflict { code, message }
            if matches!(
                code,
                Code::VersionConflict | Code::InvalidTransition | Code::Duplicate
            ) =>
        {
            Ok(UserError {
                field: None,
                code: code.into(),
                message,
            })
        }
        other => Err(other),
    }
}

/// How the items of an upsert are matched to existing records (API.md section 4).
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum UpsertKey {
    /// By each item's `sourcedId`; an unknown one creates the record with that sourcedId.
    SourcedId,
    /// By each item's `externalId` (system, idType, identifier) in the caller's own
    /// organisation; an unknown key creates the record and records the key.
    ExternalId,
}

/// What an upsert did with one item.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum UpsertOutcome {
    /// A new record was written.
    Created,
    /// An existing record was changed (its version went up by one).
    Updated,
    /// The record already held these values; nothing was written.
    Unchanged,
    /// The item was not applied; `userErrors` says why.
    Failed,
}

impl From<crate::service::upsert::Outcome> for UpsertOutcome {
    fn from(outcome: crate::service::upsert::Outcome) -> Self {
        use crate::service::upsert::Outcome;
        match outcome {
            Outcome::Created => Self::Created,
            Outcome::Updated => Self::Updated,
            Outcome::Unchanged => Self::Unchanged,
            Outcome::Failed => Self::Failed,
        }
    }
}

/// A caller's own key for a record: unique per (system, idType, identifier) within the
/// caller's organisation, and visible only to it and the programme office.
#[derive(async_graphql::InputObject, Clone, Debug)]
pub struct ExternalKeyInput {
    /// The system that issued the key, e.g. `sis`.
    pub system: String,
    /// The kind of key, e.g. `STRN`.
    pub id_type: String,
    /// The key itself.
    pub identifier: String,
}

impl ExternalKeyInput {
    /// The key, checked (1 to 255 characters per part); `field` is its input path.
    pub fn key(&self, field: &str) -> crate::error::AppResult<crate::service::upsert::ExternalKey> {
        crate::service::upsert::ExternalKey::new(
            &self.system,
            &self.id_type,
            &self.identifier,
            field,
        )
    }
}

/// The user error of one upsert item: the field path starts `["input", "items", "<index>"]`.
/// Errors that are not expected failures stay top-level errors (`Err`).
pub fn item_error(index: usize, error: AppError) -> Result<UserError, AppError> {
    let mut user = user_error(error)?;
    let mut path = vec!["input".to_owned(), "items".to_owned(), index.to_string()];
    if let Some(field) = user.field.take() {
        path.extend(field.into_iter().skip(1));
    }
    user.field = Some(path);
    Ok(user)
}

/// An expected failure as a one-error payload `P` (the error placed by `set`), or the top-level
/// error it must stay.
pub fn failed<P: Default>(
    error: AppError,
    set: impl FnOnce(&mut P, UserError),
) -> async_graphql::Result<P> {
    use crate::error::ResultExt;
    let mut payload = P::default();
    set(&mut payload, user_error(error).extend()?);
    Ok(payload)
}

/// The payload of a write: the record, or the user error of an expected failure. Access and
/// unexpected failures (and `NOT_FOUND`) stay top-level errors.
pub fn finish<M, T: From<M>, P>(
    result: crate::error::AppResult<M>,
    make: impl FnOnce(Option<T>, Vec<UserError>) -> P,
) -> async_graphql::Result<P> {
    use crate::error::ResultExt;
    match result {
        Ok(row) => Ok(make(Some(row.into()), Vec::new())),
        Err(error) => Ok(make(None, vec![user_error(error).extend()?])),
    }
}

/// Declares the payload of a record write: the record (null when nothing was written) and the
/// user errors.
macro_rules! record_payload {
    ($(#[$m:meta])* $name:ident { $field:ident: $ty:ty }) => {
        $(#[$m])*
        #[derive(async_graphql::SimpleObject, Default)]
        pub struct $name {
            /// The record after the write (a tombstone after a delete); null when nothing was
            /// written.
            pub $field: Option<$ty>,
            /// Expected failures (bad value, duplicate, stale version, illegal transition or
            /// state); nothing was written when there are any.
            pub user_errors: Vec<$crate::graphql::payload::UserError>,
        }
    };
}
pub(crate) use record_payload;

/// Declares the input of a plain lifecycle transition: the record (`id`), the version read and
/// the reason. `$what` names the record in the field's description.
macro_rules! transition_input {
    ($(#[$m:meta])* $name:ident, $what:literal) => {
        $(#[$m])*
        #[derive(async_graphql::InputObject)]
        pub struct $name {
            #[doc = concat!("The ", $what, " (global id or sourcedId).")]
            pub id: async_graphql::ID,
            /// The version last read; another current version is `VERSION_CONFLICT` and nothing
            /// changes. Without it the write applies to the current version.
            pub expected_version: Option<i32>,
            /// Why (at most 1,000 characters); kept in the status history.
            pub reason: Option<String>,
        }
    };
}
pub(crate) use transition_input;
