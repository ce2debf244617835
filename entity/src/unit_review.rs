//! `unit_review` table: UnitReview of a unit version, append-only (DOMAIN.md area C).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "unit_review")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub sourced_id: String,
    pub status: String,
    pub date_created: DateTimeUtc,
    pub date_last_modified: DateTimeUtc,
    pub version: i32,
    pub metadata: Option<Json>,
    pub created_by: Option<String>,
    pub modified_by: Option<String>,
    pub unit_version_id: i64,
    pub reviewer_id: i64,
    /// `approve`, `requestChanges` or `comment`.
    pub decision: String,
    pub comments: Option<String>,
    pub decided_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::impl_record!(Model);
