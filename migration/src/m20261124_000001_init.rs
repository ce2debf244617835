//! The first schema: DOMAIN.md areas A and B, status history and the change feed (area I).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

use crate::m20261124_000001_tables::TABLES;
use crate::{ColType, TableSpec};

#[derive(DeriveMigrationName)]
pub struct Migration;

pub(crate) fn id_column() -> ColumnDef {
    ColumnDef::new(Alias::new("id"))
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

pub(crate) fn column(name: &str, ty: ColType, nullable: bool) -> ColumnDef {
    let mut def = ColumnDef::new(Alias::new(name));
    match ty {
        ColType::Str => def.string_len(255),
        ColType::Text => def.text(),
        ColType::Int => def.integer(),
        ColType::Big => def.big_integer(),
        ColType::Bool => def.boolean(),
        ColType::Date => def.date(),
        ColType::Ts => def.timestamp_with_time_zone(),
        ColType::Float => def.double(),
        ColType::Json => def.json(),
    };
    if nullable {
        def.null();
    } else {
        def.not_null();
    }
    def
}

pub(crate) fn record_table(spec: &TableSpec) -> TableCreateStatement {
    let mut table = Table::create();
    table
        .table(Alias::new(spec.name))
        .col(id_column())
        .col(column("sourced_id", ColType::Str, false).unique_key())
        .col(
            column("status", ColType::Str, false)
                .default("active")
                .to_owned(),
        )
        .col(column("date_created", ColType::Ts, false))
        .col(column("date_last_modified", ColType::Ts, false))
        .col(column("version", ColType::Int, false).default(1).to_owned())
        .col(column("metadata", ColType::Json, true))
        .col(column("created_by", ColType::Str, true))
        .col(column("modified_by", ColType::Str, true));
    for col in spec.columns {
        table.col(column(col.name, col.ty, col.nullable));
        if let Some(target) = col.references {
            table.foreign_key(
                ForeignKey::create()
                    .name(format!("fk_{}_{}", spec.name, col.name))
                    .from(Alias::new(spec.name), Alias::new(col.name))
                    .to(Alias::new(target), Alias::new("id")),
            );
        }
    }
    table.to_owned()
}

/// Index statements of a record table: every foreign key, `date_last_modified`, and the business
/// keys (unique among active rows through a partial index, valid on SQLite and PostgreSQL alike).
pub(crate) fn record_indexes(spec: &TableSpec) -> Vec<String> {
    let t = spec.name;
    let mut sql = vec![format!(
        "CREATE INDEX ix_{t}_modified ON {t} (date_last_modified, id)"
    )];
    for col in spec.columns.iter().filter(|c| c.references.is_some()) {
        sql.push(format!(
            "CREATE INDEX ix_{t}_{c} ON {t} ({c})",
            c = col.name
        ));
    }
    for index in spec.indexes {
        let (kind, filter) = if index.unique {
            ("UNIQUE INDEX uq", " WHERE status = 'active'")
        } else {
            ("INDEX ix", "")
        };
        sql.push(format!(
            "CREATE {kind}_{name} ON {t} ({cols}){filter}",
            name = index.name,
            cols = index.columns
        ));
    }
    sql
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for spec in TABLES {
            manager.create_table(record_table(spec)).await?;
            for statement in record_indexes(spec) {
                db.execute_unprepared(&statement).await?;
            }
        }

        manager
            .create_table(
                Table::create()
                    .table(Alias::new("offering_term"))
                    .col(column("offering_id", ColType::Big, false))
                    .col(column("session_id", ColType::Big, false))
                    .primary_key(
                        sea_query::Index::create()
                            .col(Alias::new("offering_id"))
                            .col(Alias::new("session_id")),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_offering_term_offering")
                            .from(Alias::new("offering_term"), Alias::new("offering_id"))
                            .to(Alias::new("course_offering"), Alias::new("id")),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_offering_term_session")
                            .from(Alias::new("offering_term"), Alias::new("session_id"))
                            .to(Alias::new("academic_session"), Alias::new("id")),
                    )
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared(
            "CREATE INDEX ix_offering_term_session ON offering_term (session_id)",
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Alias::new("status_history"))
                    .col(id_column())
                    .col(column("entity_type", ColType::Str, false))
                    .col(column("entity_id", ColType::Big, false))
                    .col(column("from_state", ColType::Str, true))
                    .col(column("to_state", ColType::Str, false))
                    .col(column("from_stage", ColType::Str, true))
                    .col(column("to_stage", ColType::Str, true))
                    .col(column("reason", ColType::Text, true))
                    .col(column("at", ColType::Ts, false))
                    .col(column("actor", ColType::Str, true))
                    .col(column("client_id", ColType::Str, true))
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared(
            "CREATE INDEX ix_status_history_entity ON status_history (entity_type, entity_id, id)",
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Alias::new("change_event"))
                    .col(
                        ColumnDef::new(Alias::new("seq"))
                            .big_integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(column("entity_type", ColType::Str, false))
                    .col(column("entity_id", ColType::Big, false))
                    .col(column("sourced_id", ColType::Str, false))
                    .col(column("operation", ColType::Str, false))
                    .col(column("version", ColType::Int, false))
                    .col(column("at", ColType::Ts, false))
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared(
            "CREATE INDEX ix_change_event_entity ON change_event (entity_type, entity_id)",
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Alias::new("change_seq"))
                    .col(
                        ColumnDef::new(Alias::new("id"))
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(column("last_seq", ColType::Big, false))
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared("INSERT INTO change_seq (id, last_seq) VALUES (1, 0)")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "change_seq",
            "change_event",
            "status_history",
            "offering_term",
        ] {
            manager
                .drop_table(Table::drop().table(Alias::new(name)).to_owned())
                .await?;
        }
        for spec in TABLES.iter().rev() {
            manager
                .drop_table(Table::drop().table(Alias::new(spec.name)).to_owned())
                .await?;
        }
        Ok(())
    }
}
