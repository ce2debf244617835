//! `course_enrollment` table: the CourseEnrollment record (DOMAIN.md area A/B).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "course_enrollment")]
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
    pub person_id: i64,
    pub offering_id: i64,
    pub school_org_id: i64,
    pub role: String,
    pub begin_date: Date,
    pub end_date: Option<Date>,
    #[sea_orm(column_type = "Double")]
    pub contact_hours_attended: Option<f64>,
    pub state: String,
    pub transferred_to_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::impl_record!(Model);
