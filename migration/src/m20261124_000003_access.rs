//! Access (DOMAIN.md sections 4 and 5): mentorships (area E), the append-only access audit
//! (area I), and the audience of `accessRevoked` change events.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

use crate::m20261124_000001_init::{column, record_indexes, record_table};
use crate::{Col, ColType, TableSpec};

const fn col(name: &'static str, ty: ColType, nullable: bool) -> Col {
    Col {
        name,
        ty,
        nullable,
        references: None,
    }
}

const fn fk(name: &'static str, table: &'static str, nullable: bool) -> Col {
    Col {
        name,
        ty: ColType::Big,
        nullable,
        references: Some(table),
    }
}

const MENTORSHIP: TableSpec = TableSpec {
    name: "mentorship",
    columns: &[
        fk("mentor_id", "person", false),
        fk("student_id", "person", false),
        fk("partner_org_id", "org", false),
        fk("pathway_id", "pathway", false),
        col("begin_date", ColType::Date, false),
        col("end_date", ColType::Date, true),
        col("format", ColType::Str, false),
        col("state", ColType::Str, false),
    ],
    indexes: &[],
};

const ACCESS_AUDIT_EVENT: TableSpec = TableSpec {
    name: "access_audit_event",
    columns: &[
        col("at", ColType::Ts, false),
        col("principal", ColType::Str, false),
        col("client_id", ColType::Str, true),
        fk("acting_org_id", "org", true),
        col("entity_type", ColType::Str, false),
        col("entity_id", ColType::Big, false),
        col("entity_sourced_id", ColType::Str, false),
        fk("student_id", "person", false),
        col("fields", ColType::Text, false),
        col("basis_type", ColType::Str, false),
        col("basis_sourced_id", ColType::Str, false),
        col("consent_sourced_id", ColType::Str, true),
        col("request_id", ColType::Str, true),
    ],
    indexes: &[],
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        manager.create_table(record_table(&MENTORSHIP)).await?;
        for statement in record_indexes(&MENTORSHIP) {
            db.execute_unprepared(&statement).await?;
        }
        // "At most one live mentorship per (mentor, student, pathway)."
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_mentorship_live ON mentorship (mentor_id, student_id, pathway_id) \
             WHERE status = 'active' AND state IN ('proposed', 'active', 'paused')",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX ix_mentorship_scope ON mentorship (partner_org_id, state, student_id)",
        )
        .await?;

        // Append-only, but with the common record columns so that it reads like every other
        // connection (keyset pages, changedSince, Node ids).
        manager
            .create_table(record_table(&ACCESS_AUDIT_EVENT))
            .await?;
        for statement in record_indexes(&ACCESS_AUDIT_EVENT) {
            db.execute_unprepared(&statement).await?;
        }
        db.execute_unprepared(
            "CREATE INDEX ix_access_audit_event_at ON access_audit_event (at, id)",
        )
        .await?;

        // Rate limits shared by every instance: one row per (bucket, fixed window).
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("rate_limit_window"))
                    .col(column("bucket", ColType::Str, false))
                    .col(column("window_start", ColType::Big, false))
                    .col(column("hits", ColType::Int, false))
                    .primary_key(
                        Index::create()
                            .col(Alias::new("bucket"))
                            .col(Alias::new("window_start")),
                    )
                    .to_owned(),
            )
            .await?;

        // An accessRevoked event concerns one organisation: the one that lost access.
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("change_event"))
                    .add_column(column("audience_org_id", ColType::Big, true))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("change_event"))
                    .drop_column(Alias::new("audience_org_id"))
                    .to_owned(),
            )
            .await?;
        for table in ["rate_limit_window", "access_audit_event", "mentorship"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
