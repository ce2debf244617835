//! Buffered multi-row inserts for the seeder: rows are collected per table and written
//! [`CHUNK`] at a time with `insert_many`, each chunk followed by its change events (DOMAIN.md
//! area I) in the same transaction.

use chrono::{DateTime, Utc};
use entity::RecordModel;
use sea_orm::{DatabaseTransaction, EntityTrait, IntoActiveModel};

use crate::changes::{self, Change};
use crate::error::AppResult;

/// Rows per `INSERT` statement. With at most 21 columns this stays far below SQLite's limit of
/// 32,766 bound parameters and PostgreSQL's 65,535.
pub const CHUNK: usize = 500;

/// The seeding transaction and what has been written so far.
pub struct Ctx<'a> {
    pub txn: &'a DatabaseTransaction,
    /// The single timestamp of this run: dateCreated, dateLastModified and the events' `at`.
    pub at: DateTime<Utc>,
    /// Rows inserted into the data tables.
    pub rows: usize,
    /// Change events recorded.
    pub events: usize,
}

impl<'a> Ctx<'a> {
    pub fn new(txn: &'a DatabaseTransaction, at: DateTime<Utc>) -> Self {
        Self {
            txn,
            at,
            rows: 0,
            events: 0,
        }
    }
}

/// The id and sourcedId a change event names.
type KeyFn<M> = fn(&M) -> (i64, String);

fn record_key<M: RecordModel>(model: &M) -> (i64, String) {
    (model.pk(), model.sourced_id().to_owned())
}

/// A buffer of rows of one table.
pub struct Sink<E: EntityTrait> {
    /// GraphQL type name and key function for the change events, if the table has them.
    events: Option<(&'static str, KeyFn<E::Model>)>,
    buf: Vec<E::Model>,
}

impl<E> Sink<E>
where
    E: EntityTrait,
    E::Model: IntoActiveModel<E::ActiveModel> + Send + Sync,
    E::ActiveModel: Send,
{
    /// A record table whose rows each get a `create` change event of GraphQL type `type_name`.
    pub fn records(type_name: &'static str) -> Self
    where
        E::Model: RecordModel,
    {
        Self {
            events: Some((type_name, record_key::<E::Model>)),
            buf: Vec::with_capacity(CHUNK),
        }
    }

    /// A table without change events (accounts, offering terms, status history).
    pub fn plain() -> Self {
        Self {
            events: None,
            buf: Vec::with_capacity(CHUNK),
        }
    }

    /// Adds a row, writing the buffer when it is full.
    pub async fn push(&mut self, ctx: &mut Ctx<'_>, model: E::Model) -> AppResult<()> {
        self.buf.push(model);
        if self.buf.len() >= CHUNK {
            self.flush(ctx).await?;
        }
        Ok(())
    }

    /// Writes the buffered rows and their change events.
    pub async fn flush(&mut self, ctx: &mut Ctx<'_>) -> AppResult<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let rows = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        let events: Vec<Change> = match self.events {
            Some((entity_type, key)) => rows
                .iter()
                .map(|row| {
                    let (entity_id, sourced_id) = key(row);
                    Change {
                        entity_type,
                        entity_id,
                        sourced_id,
                        operation: changes::CREATE,
                        version: 1,
                        audience_org_id: None,
                    }
                })
                .collect(),
            None => Vec::new(),
        };
        let count = rows.len();
        E::insert_many(rows.into_iter().map(IntoActiveModel::into_active_model))
            .exec_without_returning(ctx.txn)
            .await?;
        changes::record(ctx.txn, &events, ctx.at).await?;
        ctx.rows += count;
        ctx.events += events.len();
        Ok(())
    }
}
