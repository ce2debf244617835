//! `skill_map` table: SkillMap: a versioned map of future jobs to skills (DOMAIN.md area D).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "skill_map")]
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
    pub code: String,
    /// `artTech` or `ict`.
    pub sector: String,
    /// DOMAIN.md `version`: the map's own version number (1, 2, …).
    pub version_number: i32,
    /// `draft`, `in_review`, `approved` or `superseded`.
    pub state: String,
    pub approved_at: Option<DateTimeUtc>,
    pub next_review_due: Option<Date>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::impl_record!(Model);
