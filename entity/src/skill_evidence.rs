//! `skill_evidence` table: SkillEvidence: a student's assessed level in a skill (DOMAIN.md area D).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "skill_evidence")]
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
    pub skill_id: i64,
    /// 1–4.
    pub level: i32,
    /// `result`, `activity`, `portfolio` or `mentorFeedback`.
    pub evidence_kind: String,
    pub assessed_at: DateTimeUtc,
    /// The student's choice; false by default.
    pub shared_with_partners: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::impl_record!(Model);
