//! `mentorship` table: a partner mentor paired with a student (DOMAIN.md area E).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mentorship")]
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
    pub mentor_id: i64,
    pub student_id: i64,
    pub partner_org_id: i64,
    pub pathway_id: i64,
    pub begin_date: Date,
    pub end_date: Option<Date>,
    /// `oneToOne` or `group`.
    pub format: String,
    /// `proposed`, `active`, `paused`, `ended` or `cancelled`.
    pub state: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::impl_record!(Model);
