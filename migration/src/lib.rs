//! Database migrations. Each migration is frozen history: it never depends on `entity` and is never
//! edited once released; a change to the schema is a new migration.

use sea_orm_migration::prelude::*;

pub use sea_orm_migration::MigratorTrait;

mod m20261124_000001_init;
mod m20261124_000001_tables;
mod m20261124_000002_api_clients;
mod m20261124_000003_access;
mod m20261125_000004_idempotency;
mod m20261125_000005_curriculum;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_init::Migration),
            Box::new(m20261124_000002_api_clients::Migration),
            Box::new(m20261124_000003_access::Migration),
            Box::new(m20261125_000004_idempotency::Migration),
            Box::new(m20261125_000005_curriculum::Migration),
        ]
    }
}

/// Column type in a [`TableSpec`], mapped per backend by sea-query.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ColType {
    Str,
    Text,
    Int,
    Big,
    Bool,
    Date,
    Ts,
    Float,
    Json,
}

/// A column of a record table besides the common ones.
#[derive(Debug)]
pub(crate) struct Col {
    pub name: &'static str,
    pub ty: ColType,
    pub nullable: bool,
    /// Table whose `id` this column references.
    pub references: Option<&'static str>,
}

/// An index; unique ones hold among active rows only (DOMAIN.md "Unique").
#[derive(Debug)]
pub(crate) struct Index {
    pub name: &'static str,
    pub columns: &'static str,
    pub unique: bool,
}

/// A record table: the common columns of DOMAIN.md section 2 plus its own.
#[derive(Debug)]
pub(crate) struct TableSpec {
    pub name: &'static str,
    pub columns: &'static [Col],
    pub indexes: &'static [Index],
}
