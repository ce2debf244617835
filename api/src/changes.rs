//! The change feed writer (DOMAIN.md area I). Every write appends its events in the writing
//! transaction. Sequence numbers come from the single `change_seq` row: the `UPDATE … RETURNING`
//! locks that row until the transaction ends, so concurrent writers take their numbers one after
//! another and a reader never sees a later number commit before an earlier one (gap-free).

use chrono::{DateTime, Utc};
use entity::change_event;
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, Set, Statement};

use crate::error::{AppError, AppResult};

/// The operations of a change event.
pub const CREATE: &str = "create";
pub const UPDATE: &str = "update";
pub const DELETE: &str = "delete";
pub const ACCESS_REVOKED: &str = "accessRevoked";

/// One change to record.
#[derive(Clone, Debug)]
pub struct Change {
    /// GraphQL type name, e.g. `Person`.
    pub entity_type: &'static str,
    pub entity_id: i64,
    pub sourced_id: String,
    pub operation: &'static str,
    pub version: i32,
    /// For `accessRevoked`: the organisation that lost access.
    pub audience_org_id: Option<i64>,
}

/// Reserves `count` sequence numbers; returns the first. Must run inside the writing transaction.
pub async fn reserve(db: &impl ConnectionTrait, count: i64) -> AppResult<i64> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "UPDATE change_seq SET last_seq = last_seq + $1 WHERE id = 1 RETURNING last_seq"
        }
        _ => "UPDATE change_seq SET last_seq = last_seq + ? WHERE id = 1 RETURNING last_seq",
    };
    let row = db
        .query_one(Statement::from_sql_and_values(backend, sql, [count.into()]))
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("change_seq row missing")))?;
    let last: i64 = row.try_get_by_index(0)?;
    Ok(last - count + 1)
}

/// Appends events for `changes`, in order, at time `at`.
pub async fn record(
    db: &impl ConnectionTrait,
    changes: &[Change],
    at: DateTime<Utc>,
) -> AppResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    // A request holding an idempotency key marks it `written` in this same transaction.
    crate::idempotency::note_write(db).await?;
    let count = i64::try_from(changes.len()).map_err(AppError::internal)?;
    let first = reserve(db, count).await?;
    for (chunk_index, chunk) in changes.chunks(500).enumerate() {
        let offset = i64::try_from(chunk_index * 500).map_err(AppError::internal)?;
        let models = chunk
            .iter()
            .zip(0_i64..)
            .map(|(c, i)| change_event::ActiveModel {
                seq: Set(first + offset + i),
                entity_type: Set(c.entity_type.to_owned()),
                entity_id: Set(c.entity_id),
                sourced_id: Set(c.sourced_id.clone()),
                operation: Set(c.operation.to_owned()),
                version: Set(c.version),
                at: Set(at),
                audience_org_id: Set(c.audience_org_id),
            });
        change_event::Entity::insert_many(models)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// The current time truncated to microseconds, as PostgreSQL stores it, so values read back
/// compare equal to values written.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}
