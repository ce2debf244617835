//! `course` table: the Course record (DOMAIN.md area A/B).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "course")]
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
    pub course_code: String,
    pub title: String,
    pub aliases: Option<Json>,
    pub course_kind: String,
    pub provider_org_id: i64,
    pub apl_area_of_studies: Option<String>,
    pub nominal_contact_hours: Option<i32>,
    pub span_years: Option<i32>,
    pub qf_level: Option<i32>,
    pub qf_credits: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::impl_record!(Model);
