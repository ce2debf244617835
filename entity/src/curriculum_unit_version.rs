//! `curriculum_unit_version` table: CurriculumUnitVersion (DOMAIN.md area C).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "curriculum_unit_version")]
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
    pub unit_id: i64,
    /// DOMAIN.md `version`: the unit's version number (1, 2, …).
    pub version_number: i32,
    /// `draft`, `in_review`, `changes_requested`, `approved`, `published`, `retired` or `withdrawn`.
    pub state: String,
    pub supersedes_id: Option<i64>,
    pub title: String,
    pub summary: Option<String>,
    pub hours: Option<f64>,
    /// JSON array of strings.
    pub learning_outcomes: Option<Json>,
    /// JSON array of `{title, url}` objects.
    pub resources: Option<Json>,
    pub external_approval_ref: Option<String>,
    pub content_hash: Option<String>,
    pub published_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::impl_record!(Model);
