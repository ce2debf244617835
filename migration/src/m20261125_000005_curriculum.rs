//! Curriculum co-development (DOMAIN.md area C) and skills and future jobs (area D), and the
//! pinning of published unit versions by running course offerings (area B).
//!
//! DOMAIN.md's `version:Int` of CurriculumUnitVersion and SkillMap is stored as
//! `version_number`: every record already has `version`, the optimistic-concurrency counter.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

use crate::m20261124_000001_init::{column, record_indexes, record_table};
use crate::{Col, ColType, Index as Key, TableSpec};

const fn col(name: &'static str, ty: ColType, nullable: bool) -> Col {
    Col {
        name,
        ty,
        nullable,
        references: None,
    }
}

const fn fk(name: &'static str, table: &'static str, nullable: bool) -> Col {
    Col {
        name,
        ty: ColType::Big,
        nullable,
        references: Some(table),
    }
}

const fn unique(name: &'static str, columns: &'static str) -> Key {
    Key {
        name,
        columns,
        unique: true,
    }
}

const SKILL: TableSpec = TableSpec {
    name: "skill",
    columns: &[
        col("code", ColType::Str, false),
        col("name_en", ColType::Str, false),
        col("name_zh", ColType::Str, true),
        col("category", ColType::Str, false),
    ],
    indexes: &[unique("skill_code", "code")],
};

const SKILL_MAP: TableSpec = TableSpec {
    name: "skill_map",
    columns: &[
        col("code", ColType::Str, false),
        col("sector", ColType::Str, false),
        col("version_number", ColType::Int, false),
        col("state", ColType::Str, false),
        col("approved_at", ColType::Ts, true),
        col("next_review_due", ColType::Date, true),
    ],
    indexes: &[unique("skill_map_code_version", "code, version_number")],
};

const FUTURE_JOB: TableSpec = TableSpec {
    name: "future_job",
    columns: &[
        fk("skill_map_id", "skill_map", false),
        col("code", ColType::Str, false),
        col("title", ColType::Str, false),
        col("summary", ColType::Text, true),
    ],
    indexes: &[unique("future_job_map_code", "skill_map_id, code")],
};

const JOB_DUTY: TableSpec = TableSpec {
    name: "job_duty",
    columns: &[
        fk("future_job_id", "future_job", false),
        col("seq", ColType::Int, false),
        col("function_area", ColType::Str, false),
        col("duty_text", ColType::Text, false),
        col("is_placeholder", ColType::Bool, false),
    ],
    indexes: &[unique("job_duty_job_seq", "future_job_id, seq")],
};

const JOB_SKILL_REQUIREMENT: TableSpec = TableSpec {
    name: "job_skill_requirement",
    columns: &[
        fk("future_job_id", "future_job", false),
        fk("skill_id", "skill", false),
        col("proficiency", ColType::Int, false),
        col("importance", ColType::Str, false),
    ],
    indexes: &[unique(
        "job_skill_requirement_job_skill",
        "future_job_id, skill_id",
    )],
};

const SKILL_EVIDENCE: TableSpec = TableSpec {
    name: "skill_evidence",
    columns: &[
        fk("student_id", "person", false),
        fk("skill_id", "skill", false),
        col("level", ColType::Int, false),
        col("evidence_kind", ColType::Str, false),
        col("assessed_at", ColType::Ts, false),
        col("shared_with_partners", ColType::Bool, false),
    ],
    indexes: &[],
};

const CURRICULUM_UNIT: TableSpec = TableSpec {
    name: "curriculum_unit",
    columns: &[
        fk("course_id", "course", false),
        col("code", ColType::Str, false),
        col("title", ColType::Str, false),
        col("unit_kind", ColType::Str, false),
        fk("owning_org_id", "org", false),
        col("requires_external_approval", ColType::Bool, false),
    ],
    indexes: &[unique("curriculum_unit_course_code", "course_id, code")],
};

const CURRICULUM_UNIT_VERSION: TableSpec = TableSpec {
    name: "curriculum_unit_version",
    columns: &[
        fk("unit_id", "curriculum_unit", false),
        col("version_number", ColType::Int, false),
        col("state", ColType::Str, false),
        fk("supersedes_id", "curriculum_unit_version", true),
        col("title", ColType::Str, false),
        col("summary", ColType::Text, true),
        col("hours", ColType::Float, true),
        col("learning_outcomes", ColType::Json, true),
        col("resources", ColType::Json, true),
        col("external_approval_ref", ColType::Str, true),
        col("content_hash", ColType::Str, true),
        col("published_at", ColType::Ts, true),
    ],
    indexes: &[unique(
        "curriculum_unit_version_number",
        "unit_id, version_number",
    )],
};

const UNIT_CONTRIBUTOR: TableSpec = TableSpec {
    name: "unit_contributor",
    columns: &[
        fk("unit_version_id", "curriculum_unit_version", false),
        fk("person_id", "person", false),
        fk("org_id", "org", false),
        col("contribution_role", ColType::Str, false),
        col("hours_contributed", ColType::Float, true),
    ],
    indexes: &[unique(
        "unit_contributor_version_person_role",
        "unit_version_id, person_id, contribution_role",
    )],
};

const UNIT_REVIEW: TableSpec = TableSpec {
    name: "unit_review",
    columns: &[
        fk("unit_version_id", "curriculum_unit_version", false),
        fk("reviewer_id", "person", false),
        col("decision", ColType::Str, false),
        col("comments", ColType::Text, true),
        col("decided_at", ColType::Ts, false),
    ],
    indexes: &[],
};

const UNIT_SKILL: TableSpec = TableSpec {
    name: "unit_skill",
    columns: &[
        fk("unit_version_id", "curriculum_unit_version", false),
        fk("skill_id", "skill", false),
        col("coverage", ColType::Str, false),
    ],
    indexes: &[unique(
        "unit_skill_version_skill",
        "unit_version_id, skill_id",
    )],
};

/// In creation order (a table follows the tables it references).
const TABLES: [&TableSpec; 11] = [
    &SKILL,
    &SKILL_MAP,
    &FUTURE_JOB,
    &JOB_DUTY,
    &JOB_SKILL_REQUIREMENT,
    &SKILL_EVIDENCE,
    &CURRICULUM_UNIT,
    &CURRICULUM_UNIT_VERSION,
    &UNIT_CONTRIBUTOR,
    &UNIT_REVIEW,
    &UNIT_SKILL,
];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for spec in TABLES {
            manager.create_table(record_table(spec)).await?;
            for statement in record_indexes(spec) {
                db.execute_unprepared(&statement).await?;
            }
        }
        // "A unit has at most one published version and at most one working version (draft to
        // approved)"; a skill map code at most one working (draft, in_review) and one approved.
        for statement in [
            "CREATE UNIQUE INDEX ux_curriculum_unit_version_working ON curriculum_unit_version (unit_id) \
             WHERE status = 'active' AND state IN ('draft', 'in_review', 'changes_requested', 'approved')",
            "CREATE UNIQUE INDEX ux_curriculum_unit_version_published ON curriculum_unit_version (unit_id) \
             WHERE status = 'active' AND state = 'published'",
            "CREATE UNIQUE INDEX ux_skill_map_working ON skill_map (code) \
             WHERE status = 'active' AND state IN ('draft', 'in_review')",
            "CREATE UNIQUE INDEX ux_skill_map_approved ON skill_map (code) \
             WHERE status = 'active' AND state = 'approved'",
            "CREATE INDEX ix_curriculum_unit_version_state ON curriculum_unit_version (state, unit_id)",
            "CREATE INDEX ix_unit_contributor_org ON unit_contributor (org_id, contribution_role)",
            "CREATE INDEX ix_skill_evidence_student_skill ON skill_evidence (student_id, skill_id)",
            "CREATE INDEX ix_skill_map_review ON skill_map (state, next_review_due)",
        ] {
            db.execute_unprepared(statement).await?;
        }

        // A running offering's unit versions, pinned for good when it starts (DOMAIN.md area B).
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("offering_unit_version"))
                    .col(column("offering_id", ColType::Big, false))
                    .col(column("unit_version_id", ColType::Big, false))
                    .col(column("pinned_at", ColType::Ts, false))
                    .primary_key(
                        Index::create()
                            .col(Alias::new("offering_id"))
                            .col(Alias::new("unit_version_id")),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_offering_unit_version_offering")
                            .from(
                                Alias::new("offering_unit_version"),
                                Alias::new("offering_id"),
                            )
                            .to(Alias::new("course_offering"), Alias::new("id")),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_offering_unit_version_version")
                            .from(
                                Alias::new("offering_unit_version"),
                                Alias::new("unit_version_id"),
                            )
                            .to(Alias::new("curriculum_unit_version"), Alias::new("id")),
                    )
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared(
            "CREATE INDEX ix_offering_unit_version_version ON offering_unit_version (unit_version_id)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(Alias::new("offering_unit_version"))
                    .to_owned(),
            )
            .await?;
        for spec in TABLES.iter().rev() {
            manager
                .drop_table(Table::drop().table(Alias::new(spec.name)).to_owned())
                .await?;
        }
        Ok(())
    }
}
