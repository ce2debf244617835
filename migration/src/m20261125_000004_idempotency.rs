//! Idempotency keys (API.md section 4): the first response of a mutation request carrying an
//! `Idempotency-Key`, stored per principal and key so that every API instance sharing this
//! database replays it. Times are Unix milliseconds (compared as integers on every backend).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

use crate::ColType;
use crate::m20261124_000001_init::column;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("idempotency_key"))
                    // `p:<subject>@<org>` for a person, `c:<client id>@<org>` for a client.
                    .col(column("principal", ColType::Text, false))
                    .col(column("request_key", ColType::Str, false))
                    // SHA-256 (hex) of the canonical (query, operationName, variables).
                    .col(column("request_hash", ColType::Str, false))
                    // `running` while an attempt holds the key, `done` once its response is stored.
                    .col(column("state", ColType::Str, false))
                    // Random id of the attempt holding the key; every update compares it.
                    .col(column("claim", ColType::Str, false))
                    // X-Request-Id of the attempt whose response is stored.
                    .col(column("request_id", ColType::Str, true))
                    .col(column("response_status", ColType::Int, true))
                    .col(column("response_body", ColType::Text, true))
                    .col(column("created_at", ColType::Big, false))
                    .col(column("expires_at", ColType::Big, false))
                    // While `running`: past this instant the attempt is presumed dead.
                    .col(column("locked_until", ColType::Big, true))
                    .primary_key(
                        Index::create()
                            .col(Alias::new("principal"))
                            .col(Alias::new("request_key")),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_idempotency_key_expires ON idempotency_key (expires_at)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(Alias::new("idempotency_key"))
                    .to_owned(),
            )
            .await
    }
}
