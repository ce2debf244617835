//! `unit_contributor` table: UnitContributor of a unit version (DOMAIN.md area C).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "unit_contributor")]
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
    pub person_id: i64,
    pub org_id: i64,
    /// `author`, `coDeveloper`, `subjectExpert`, `reviewer` or `approver`.
    pub contribution_role: String,
    pub hours_contributed: Option<f64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::impl_record!(Model);
