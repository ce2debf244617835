//! One error vocabulary (API.md section 5). Services return [`AppResult`]; resolvers end with
//! `.extend()` so every GraphQL error carries a code from the closed set and never database text.

use std::sync::Arc;

use async_graphql::ErrorExtensions;
use sea_orm::{DbErr, RuntimeErr, SqlErr};

pub type AppResult<T> = Result<T, AppError>;

/// The closed set of error codes a client may see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::VersionConflict => "VERSION_CONFLICT",
            Self::InvalidTransition => "INVALID_TRANSITION",
            Self::Duplicate => "DUPLICATE",
            Self::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            Self::IdempotencyInProgress => "IDEMPOTENCY_IN_PROGRESS",
            Self::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Self::RateLimited => "RATE_LIMITED",
            Self::Timeout => "TIMEOUT",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Self::InternalServerError => "INTERNAL_SERVER_ERROR",
        }
    }
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum AppError {
    #[error("authentication required or token invalid")]
    Unauthenticated,
    #[error("not allowed")]
    Forbidden,
    /// `FORBIDDEN` with the reason (never data).
    #[error("not allowed: {0}")]
    ForbiddenWith(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{message}")]
    BadUserInput { field: String, message: String },
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
    #[error("query too complex: {what} {requested} exceeds the limit {limit}")]
    TooComplex {
        what: &'static str,
        requested: usize,
        limit: usize,
    },
    #[error("the statement or request deadline passed")]
    Timeout,
    #[error("the database is unavailable; retry later")]
    Unavailable,
    #[error("internal server error")]
    Internal(Arc<anyhow::Error>),
}

impl AppError {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadUserInput {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::Internal(Arc::new(error.into()))
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unauthenticated => ErrorCode::Unauthenticated,
            Self::Forbidden | Self::ForbiddenWith(_) => ErrorCode::Forbidden,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::BadUserInput { .. } => ErrorCode::BadUserInput,
            Self::Conflict { code, .. } => *code,
            Self::TooComplex { .. } => ErrorCode::QueryTooComplex,
            Self::Timeout => ErrorCode::Timeout,
            Self::Unavailable => ErrorCode::ServiceUnavailable,
            Self::Internal(_) => ErrorCode::InternalServerError,
        }
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        if let DbErr::RecordNotFound(_) = err {
            return Self::NotFound("record".into());
        }
        if let Some(SqlErr::UniqueConstraintViolation(_)) = err.sql_err() {
            return Self::Conflict {
                code: ErrorCode::Duplicate,
                message: "a record with the same key already exists".into(),
            };
        }
        match &err {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(RuntimeErr::SqlxError(_)) => {
                tracing::error!(error = ?err, "database unavailable");
                Self::Unavailable
            }
            _ => Self::internal(anyhow::Error::new(err)),
        }
    }
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        if let Self::Internal(cause) = self {
            tracing::error!(error = ?cause, "internal error");
        }
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| {
            ext.set("code", self.code().as_str());
            match self {
                Self::BadUserInput { field, .. } => ext.set("field", field.as_str()),
                Self::TooComplex {
                    requested, limit, ..
                } => {
                    ext.set("cost", *requested as u64);
                    ext.set("limit", *limit as u64);
                }
                _ => {}
            }
        })
    }
}

/// `.extend()` on a service result: the resolver-side conversion into a coded GraphQL error.
pub trait ResultExt<T> {
    fn extend(self) -> async_graphql::Result<T>;
}

impl<T> ResultExt<T> for AppResult<T> {
    fn extend(self) -> async_graphql::Result<T> {
        self.map_err(|e| e.extend())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_errors_never_reach_the_client_as_text() {
        let err: AppError = DbErr::Custom("SELECT secret FROM t".into()).into();
        let gql = err.extend();
        assert_eq!(gql.message, "internal server error");
    }

    #[test]
    fn missing_record_is_not_found() {
        let err: AppError = DbErr::RecordNotFound("x".into()).into();
        assert_eq!(err.code(), ErrorCode::NotFound);
    }
}
