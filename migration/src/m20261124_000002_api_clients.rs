//! Integration clients (DOMAIN.md section 4): OAuth 2 client-credentials clients bound to one
//! organisation and a set of scopes. Secrets are stored only as argon2 hashes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

use crate::m20261124_000001_init::{record_indexes, record_table};
use crate::{Col, ColType, TableSpec};

const API_CLIENT: TableSpec = TableSpec {
    name: "api_client",
    columns: &[
        Col {
            name: "name",
            ty: ColType::Str,
            nullable: false,
            references: None,
        },
        Col {
            name: "org_id",
            ty: ColType::Big,
            nullable: false,
            references: Some("org"),
        },
        Col {
            name: "scopes",
            ty: ColType::Text,
            nullable: false,
            references: None,
        },
        Col {
            name: "secret_hash",
            ty: ColType::Text,
            nullable: false,
            references: None,
        },
        Col {
            name: "revoked_at",
            ty: ColType::Ts,
            nullable: true,
            references: None,
        },
    ],
    indexes: &[],
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(record_table(&API_CLIENT)).await?;
        for statement in record_indexes(&API_CLIENT) {
            manager
                .get_connection()
                .execute_unprepared(&statement)
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Alias::new("api_client")).to_owned())
            .await
    }
}
