//! The shared steps of a write (API.md section 4, DOMAIN.md section 2), for every mutation:
//!
//! 1. [`begin`] opens the transaction and takes the change-feed lock first, so write
//!    transactions run one after another and every check a write makes reads the latest
//!    committed state (a guard checked here still holds when the transaction commits).
//! 2. [`Actor::of`] says who is writing (the principal's `subject`) and through which
//!    integration client; [`require_write_scope`] refuses a client without the write scope.
//! 3. [`update_versioned`] is the optimistic-concurrency `UPDATE … WHERE id = ? AND version = ?`
//!    (plus the caller's guard, e.g. the state a transition starts from). It never trusts an
//!    earlier read: when no row matches it reports `VERSION_CONFLICT` with the current version.
//! 4. [`record_transition`] appends the StatusHistory row (who, client, when, why) and
//!    [`emit`] the change events (DOMAIN.md area I), in the same transaction.

use chrono::{DateTime, Utc};
use entity::status_history;
use sea_orm::sea_query::{Alias, Expr, Query, SimpleExpr};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};

use crate::auth::Principal;
use crate::changes::{self, Change};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::graphql::common::{is_sourced_id, sourced_id_of};

/// One field of an update: omitted (unchanged), an explicit null (cleared), or a value.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Patch<T> {
    #[default]
    Unchanged,
    Clear,
    Set(T),
}

impl<T> Patch<T> {
    pub fn is_given(&self) -> bool {
        !matches!(self, Patch::Unchanged)
    }

    pub fn as_ref(&self) -> Patch<&T> {
        match self {
            Patch::Unchanged => Patch::Unchanged,
            Patch::Clear => Patch::Clear,
            Patch::Set(v) => Patch::Set(v),
        }
    }
}

/// Whether `text` is an `ext:[A-Za-z0-9._-]+` extension value.
pub fn is_extension(text: &str) -> bool {
    text.strip_prefix("ext:").is_some_and(|rest| {
        !rest.is_empty()
            && rest.len() <= 250
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    })
}

/// Longest `reason` of a transition.
pub const MAX_REASON_CHARS: usize = 1000;
/// Longest text of a 255-character column.
pub const MAX_SHORT_TEXT: usize = 255;

/// Who makes a write: `createdBy`/`modifiedBy` and the StatusHistory actor and client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// The principal's `subject`: a person's sourcedId or a client id.
    pub subject: String,
    /// The integration client, when a client writes.
    pub client_id: Option<String>,
}

impl Actor {
    pub fn of(principal: &Principal) -> Actor {
        Actor {
            subject: principal.subject.clone(),
            client_id: principal.client_id.clone(),
        }
    }
}

/// `FORBIDDEN` when an integration client lacks `scope` (people are governed by their roles).
pub fn require_write_scope(principal: &Principal, scope: &str) -> AppResult<()> {
    if principal.is_client() && !principal.scopes.iter().any(|s| s == scope) {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

/// Opens a write transaction and takes the change-feed lock before anything is read.
///
/// Every write ends by numbering its change events on the single `change_seq` row, which locks
/// that row until commit (see [`crate::changes`]). Taking the same lock first (reserving zero
/// numbers) makes concurrent writes queue at the start instead, so the reads and guards of a
/// write cannot be overtaken by another write before it commits: on PostgreSQL each statement
/// after the lock sees everything committed before it; on SQLite the statement takes the
/// database's write lock.
pub async fn begin(db: &DatabaseConnection) -> AppResult<DatabaseTransaction> {
    let txn = db.begin().await?;
    changes::reserve(&txn, 0).await?;
    Ok(txn)
}

/// The sourcedId of a new record: the client's (checked against `[A-Za-z0-9._:-]{1,255}`), or
/// a fresh UUID v7 (time-ordered, so new rows index well).
pub fn new_sourced_id(given: Option<&str>, field: &str) -> AppResult<String> {
    match given.map(str::trim) {
        None => Ok(uuid::Uuid::now_v7().to_string()),
        Some(sid) if is_sourced_id(sid) => Ok(sid.to_owned()),
        Some(_) => Err(AppError::bad_input(
            field,
            format!("`{field}` must be 1 to 255 characters of A-Z, a-z, 0-9, `.`, `_`, `:` or `-`"),
        )),
    }
}

/// A trimmed optional text of at most `max` characters; blank counts as absent.
pub fn optional_text(text: Option<&str>, field: &str, max: usize) -> AppResult<Option<String>> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.chars().count() > max => Err(AppError::bad_input(
            field,
            format!("`{field}` takes at most {max} characters"),
        )),
        Some(t) => Ok(Some(t.to_owned())),
    }
}

/// A trimmed required text of 1 to `max` characters.
pub fn required_text(text: &str, field: &str, max: usize) -> AppResult<String> {
    optional_text(Some(text), field, max)?
        .ok_or_else(|| AppError::bad_input(field, format!("`{field}` may not be blank")))
}

/// The reason of a transition (optional, at most [`MAX_REASON_CHARS`]).
pub fn reason(text: Option<&str>) -> AppResult<Option<String>> {
    optional_text(text, "reason", MAX_REASON_CHARS)
}

/// `VERSION_CONFLICT`: the client read version `expected`, the record is at `current`.
pub fn version_conflict(
    type_name: &str,
    sourced_id: &str,
    current: i32,
    expected: i32,
) -> AppError {
    AppError::Conflict {
        code: ErrorCode::VersionConflict,
        message: format!(
            "{type_name} {sourced_id} is at version {current}, not {expected}; read it again and retry"
        ),
    }
}

/// `INVALID_TRANSITION` with a message.
pub fn invalid_transition(message: impl Into<String>) -> AppError {
    AppError::Conflict {
        code: ErrorCode::InvalidTransition,
        message: message.into(),
    }
}

/// `DUPLICATE` with a message.
pub fn duplicate(message: impl Into<String>) -> AppError {
    AppError::Conflict {
        code: ErrorCode::Duplicate,
        message: message.into(),
    }
}

/// Fails early with `VERSION_CONFLICT` when the client sent a version and the row read has
/// another. (The `UPDATE` checks the version again: this only gives the better error first.)
pub fn check_expected_version(
    type_name: &str,
    sourced_id: &str,
    current: i32,
    expected: Option<i32>,
) -> AppResult<()> {
    match expected {
        Some(expected) if expected != current => {
            Err(version_conflict(type_name, sourced_id, current, expected))
        }
        _ => Ok(()),
    }
}

/// One optimistic-concurrency update of a record row.
pub struct VersionedUpdate<E: EntityTrait> {
    /// GraphQL type name and sourcedId, for messages.
    pub type_name: &'static str,
    pub sourced_id: String,
    /// Internal id of the row.
    pub id: i64,
    /// The version the write is based on (the client's `expectedVersion`, else the version
    /// just read).
    pub version: i32,
    /// Further conditions the row must still meet, e.g. the state a transition starts from.
    pub guard: Option<SimpleExpr>,
    /// The columns to set besides `version`, `date_last_modified` and `modified_by`.
    pub set: Vec<(E::Column, SimpleExpr)>,
}

/// `UPDATE … SET …, version = version + 1 WHERE id = ? AND version = ? [AND guard]`; returns the
/// new version. When no row matches, one read says why: `NOT_FOUND` (gone), `VERSION_CONFLICT`
/// with the current version (changed since), or `INVALID_TRANSITION` (same version, guard not
/// met).
pub async fn update_versioned<E: EntityTrait>(
    db: &impl ConnectionTrait,
    update: VersionedUpdate<E>,
    actor: &Actor,
    at: DateTime<Utc>,
) -> AppResult<i32> {
    let table = E::default();
    let mut statement = Query::update();
    statement.table(table);
    for (column, value) in update.set {
        statement.value(column, value);
    }
    statement
        .value(
            Alias::new("version"),
            Expr::col(Alias::new("version")).add(1),
        )
        .value(Alias::new("date_last_modified"), at)
        .value(Alias::new("modified_by"), actor.subject.clone())
        .and_where(Expr::col(Alias::new("id")).eq(update.id))
        .and_where(Expr::col(Alias::new("version")).eq(update.version));
    if let Some(guard) = update.guard {
        statement.and_where(guard);
    }
    let backend = db.get_database_backend();
    let result = db.execute(backend.build(&statement)).await?;
    if result.rows_affected() == 1 {
        return Ok(update.version + 1);
    }
    let current = Query::select()
        .column(Alias::new("version"))
        .from(table)
        .and_where(Expr::col(Alias::new("id")).eq(update.id))
        .to_owned();
    let row = db.query_one(backend.build(&current)).await?;
    let Some(row) = row else {
        return Err(AppError::NotFound(update.type_name.to_owned()));
    };
    let current: i32 = row.try_get_by_index(0)?;
    if current != update.version {
        return Err(version_conflict(
            update.type_name,
            &update.sourced_id,
            current,
            update.version,
        ));
    }
    Err(invalid_transition(format!(
        "{} {} no longer allows this change",
        update.type_name, update.sourced_id
    )))
}

/// One accepted lifecycle transition, for StatusHistory.
#[derive(Clone, Copy, Debug)]
pub struct Transition<'a> {
    /// GraphQL type name, e.g. `Mentorship`.
    pub entity_type: &'static str,
    pub entity_id: i64,
    /// `None` for the first row of a new record.
    pub from: Option<&'a str>,
    pub to: &'a str,
    pub reason: Option<&'a str>,
}

/// Appends the StatusHistory row of a transition: who, through which client, when and why.
pub async fn record_transition(
    db: &impl ConnectionTrait,
    transition: Transition<'_>,
    actor: &Actor,
    at: DateTime<Utc>,
) -> AppResult<()> {
    status_history::Entity::insert(status_history::ActiveModel {
        entity_type: Set(transition.entity_type.to_owned()),
        entity_id: Set(transition.entity_id),
        from_state: Set(transition.from.map(str::to_owned)),
        to_state: Set(transition.to.to_owned()),
        from_stage: Set(None),
        to_stage: Set(None),
        reason: Set(transition.reason.map(str::to_owned)),
        at: Set(at),
        actor: Set(Some(actor.subject.clone())),
        client_id: Set(actor.client_id.clone()),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// An accepted transition of a record now at `version`: its StatusHistory row and its
/// `update` change event, in the writing transaction.
pub async fn transitioned(
    db: &impl ConnectionTrait,
    transition: Transition<'_>,
    sourced_id: &str,
    version: i32,
    actor: &Actor,
    at: DateTime<Utc>,
) -> AppResult<()> {
    record_transition(db, transition, actor, at).await?;
    emit(
        db,
        &[change(
            transition.entity_type,
            transition.entity_id,
            sourced_id,
            changes::UPDATE,
            version,
        )],
        at,
    )
    .await
}

/// A change event of a record (no audience).
pub fn change(
    entity_type: &'static str,
    entity_id: i64,
    sourced_id: &str,
    operation: &'static str,
    version: i32,
) -> Change {
    Change {
        entity_type,
        entity_id,
        sourced_id: sourced_id.to_owned(),
        operation,
        version,
        audience_org_id: None,
    }
}

/// Appends change events in the writing transaction (gap-free numbering, DOMAIN.md area I).
pub async fn emit(
    db: &impl ConnectionTrait,
    events: &[Change],
    at: DateTime<Utc>,
) -> AppResult<()> {
    changes::record(db, events, at).await
}

/// Deletes a record as a tombstone (API.md section 4): `status := tobedeleted` in the
/// optimistic-concurrency `UPDATE` (the row must still be active and at `version`), and a
/// `delete` change event in the same transaction. Returns the new version. Deleting a tombstone
/// is `INVALID_TRANSITION`; a stale version is `VERSION_CONFLICT`.
pub async fn tombstone<E: EntityTrait>(
    db: &impl ConnectionTrait,
    type_name: &'static str,
    id: i64,
    sourced_id: &str,
    version: i32,
    actor: &Actor,
    at: DateTime<Utc>,
) -> AppResult<i32> {
    let status = <E::Column as std::str::FromStr>::from_str("status")
        .map_err(|_| AppError::internal(anyhow::anyhow!("{type_name} has no status column")))?;
    let version = update_versioned::<E>(
        db,
        VersionedUpdate {
            type_name,
            sourced_id: sourced_id.to_owned(),
            id,
            version,
            guard: Some(Expr::col(Alias::new("status")).eq(entity::STATUS_ACTIVE)),
            set: vec![(status, Expr::value(entity::STATUS_TOBEDELETED))],
        },
        actor,
        at,
    )
    .await;
    let version = match version {
        Err(AppError::Conflict {
            code: ErrorCode::InvalidTransition,
            ..
        }) => {
            return Err(invalid_transition(format!(
                "{type_name} {sourced_id} is already deleted"
            )));
        }
        other => other?,
    };
    emit(
        db,
        &[change(type_name, id, sourced_id, changes::DELETE, version)],
        at,
    )
    .await?;
    Ok(version)
}

/// Largest `metadata` object, serialised (DOMAIN.md section 2).
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// A record's `metadata`: a JSON object of at most [`MAX_METADATA_BYTES`] serialised bytes.
pub fn metadata(
    value: Option<serde_json::Value>,
    field: &str,
) -> AppResult<Option<serde_json::Value>> {
    if let Some(value) = &value {
        check_metadata(value, field)?;
    }
    Ok(value)
}

/// `BAD_USER_INPUT` on `field` unless `value` is a JSON object of at most
/// [`MAX_METADATA_BYTES`] serialised bytes.
pub fn check_metadata(value: &serde_json::Value, field: &str) -> AppResult<()> {
    if !value.is_object() {
        return Err(AppError::bad_input(
            field,
            format!("`{field}` must be a JSON object"),
        ));
    }
    let size = value.to_string().len();
    if size > MAX_METADATA_BYTES {
        return Err(AppError::bad_input(
            field,
            format!("`{field}` takes at most {MAX_METADATA_BYTES} bytes of JSON, got {size}"),
        ));
    }
    Ok(())
}

/// The row of `E` with this sourcedId, tombstones included (for an update or delete, which
/// decide what a tombstone means for them); `NOT_FOUND` (named `type_name`) when there is none.
pub async fn load_for_write<E: EntityTrait>(
    db: &impl ConnectionTrait,
    type_name: &str,
    sourced_id: &str,
) -> AppResult<E::Model> {
    E::find()
        .filter(Expr::col((E::default(), Alias::new("sourced_id"))).eq(sourced_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(type_name.to_owned()))
}

/// The active row of `E` an input field refers to, by global id or sourcedId: `BAD_USER_INPUT`
/// on `field` when the id is malformed, of another type, unknown or a tombstone.
pub async fn reference<E: EntityTrait>(
    db: &impl ConnectionTrait,
    type_name: &str,
    field: &str,
    id: &str,
) -> AppResult<E::Model> {
    let sourced_id = sourced_id_of(type_name, field, id)?;
    E::find()
        .filter(Expr::col((E::default(), Alias::new("sourced_id"))).eq(sourced_id.as_str()))
        .filter(Expr::col((E::default(), Alias::new("status"))).eq(entity::STATUS_ACTIVE))
        .one(db)
        .await?
        .ok_or_else(|| AppError::bad_input(field, format!("no active {type_name} {sourced_id:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_record_gets_a_time_ordered_sourced_id_unless_one_is_given() {
        let minted = new_sourced_id(None, "sourcedId").unwrap_or_default();
        let version = uuid::Uuid::parse_str(&minted)
            .ok()
            .map(|u| u.get_version_num());
        assert_eq!(version, Some(7));
        assert_eq!(
            new_sourced_id(Some("consent-1"), "sourcedId").ok(),
            Some("consent-1".to_owned())
        );
        assert!(new_sourced_id(Some("has space"), "sourcedId").is_err());
    }

    #[test]
    fn texts_are_trimmed_and_bounded() {
        assert_eq!(optional_text(Some("  "), "reason", 5).ok(), Some(None));
        assert_eq!(
            optional_text(Some(" ok "), "reason", 5).ok(),
            Some(Some("ok".to_owned()))
        );
        assert!(optional_text(Some("toolong"), "reason", 5).is_err());
        assert!(required_text(" ", "picsVersion", 5).is_err());
    }

    #[test]
    fn metadata_is_an_object_of_at_most_16_kb() {
        assert!(metadata(None, "metadata").is_ok());
        assert!(metadata(Some(serde_json::json!({"a": 1})), "metadata").is_ok());
        assert!(metadata(Some(serde_json::json!([1])), "metadata").is_err());
        let big = "x".repeat(MAX_METADATA_BYTES);
        assert!(metadata(Some(serde_json::json!({ "a": big })), "metadata").is_err());
    }

    #[test]
    fn a_stale_expected_version_is_a_version_conflict() {
        let err = check_expected_version("Mentorship", "m-1", 3, Some(2)).err();
        assert_eq!(err.map(|e| e.code()), Some(ErrorCode::VersionConflict));
        assert!(check_expected_version("Mentorship", "m-1", 3, None).is_ok());
        assert!(check_expected_version("Mentorship", "m-1", 3, Some(3)).is_ok());
    }
}
