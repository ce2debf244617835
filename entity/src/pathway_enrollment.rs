//! `pathway_enrollment` table: the PathwayEnrollment record (DOMAIN.md area A/B).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "pathway_enrollment")]
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
    pub student_id: i64,
    pub pathway_id: i64,
    pub cohort_id: i64,
    pub entry_school_id: i64,
    pub entry_stage_id: i64,
    pub current_stage_id: Option<i64>,
    pub begin_date: Date,
    pub end_date: Option<Date>,
    pub state: String,
    pub exit_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::impl_record!(Model);
