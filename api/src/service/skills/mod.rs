//! Skills and future jobs (DOMAIN.md area D), write side: the skill catalogue (here), the
//! versioned skill map lifecycle ([`maps`]), future jobs, duties and requirements ([`jobs`]),
//! and students' skill evidence ([`evidence`]).
//!
//! **Who.** Skills, skill maps and their content are written by the curriculum staff
//! (programmeAdmin, programmeStaff, an academicLead of any unit; DOMAIN.md section 4:
//! "academicLead has RWA on curriculum, skill maps"); integration clients need
//! `curriculum.write`. An approval needs an academicLead or programmeAdmin with a Person.
//! Everyone else is `FORBIDDEN`.
//!
//! **Freeze.** The jobs, duties and requirements of an approved or superseded map cannot be
//! created, changed or deleted (`INVALID_TRANSITION`); a new version (a draft copy) is made
//! instead.

pub mod evidence;
pub mod jobs;
pub mod maps;

use async_graphql::MaybeUndefined;
use chrono::{DateTime, Utc};
use entity::{STATUS_ACTIVE, job_skill_requirement, skill, skill_evidence, unit_skill};
use sea_orm::sea_query::{Alias, Expr, Query, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::catalogue::{
    MAX_CODE_CHARS, Writable, in_use, patch_metadata, patch_required, patch_text, required, text,
};
use super::curriculum;
use super::write::{self, Actor};
use crate::auth::{Principal, Viewer};
use crate::changes::{self, Change};
use crate::error::{AppError, AppResult};

/// GraphQL type names (history, change events, messages).
pub const SKILL: &str = "Skill";
pub const SKILL_MAP: &str = "SkillMap";
pub const FUTURE_JOB: &str = "FutureJob";
pub const JOB_DUTY: &str = "JobDuty";
pub const REQUIREMENT: &str = "JobSkillRequirement";
pub const EVIDENCE: &str = "SkillEvidence";

/// Skill map states, as stored.
pub const DRAFT: &str = "draft";
pub const IN_REVIEW: &str = "in_review";
pub const APPROVED: &str = "approved";
pub const SUPERSEDED: &str = "superseded";
/// The working states: at most one version of a map code is in one of them, and only their
/// content may change.
pub const WORKING: [&str; 2] = [DRAFT, IN_REVIEW];

/// Longest text of a duty or a summary.
pub const MAX_LONG_TEXT: usize = 2000;

/// The curriculum staff writing skills and maps: `UNAUTHENTICATED` without a token,
/// `FORBIDDEN` for anyone else (and for a client without `curriculum.write`).
pub fn staff(viewer: &Viewer) -> AppResult<&Principal> {
    let curator = curriculum::curator(viewer)?;
    if !curator.is_curriculum_staff() {
        return Err(AppError::Forbidden);
    }
    Ok(curator.principal)
}

/// The guard of a skill or skill map write, before any input is read.
pub fn authorize(viewer: &Viewer) -> AppResult<()> {
    staff(viewer).map(|_| ())
}

/// Tombstones rows already read (active, at their `version`) in one `UPDATE`, returning their
/// `delete` change events: the children of a deleted map or job.
pub async fn tombstone_all<E: EntityTrait>(
    db: &impl ConnectionTrait,
    type_name: &'static str,
    rows: &[(i64, String, i32)],
    actor: &Actor,
    at: DateTime<Utc>,
) -> AppResult<Vec<Change>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let statement = Query::update()
        .table(E::default())
        .value(Alias::new("status"), entity::STATUS_TOBEDELETED)
        .value(
            Alias::new("version"),
            Expr::col(Alias::new("version")).add(1),
        )
        .value(Alias::new("date_last_modified"), at)
        .value(Alias::new("modified_by"), actor.subject.clone())
        .and_where(Expr::col(Alias::new("id")).is_in(rows.iter().map(|(id, _, _)| *id)))
        .and_where(Expr::col(Alias::new("status")).eq(STATUS_ACTIVE))
        .to_owned();
    let backend = db.get_database_backend();
    db.execute(backend.build(&statement)).await?;
    Ok(rows
        .iter()
        .map(|(id, sid, version)| write::change(type_name, *id, sid, changes::DELETE, version + 1))
        .collect())
}

/// The fields of a skill write (omitted keeps, null clears).
#[derive(Clone, Debug, Default)]
pub struct SkillFields {
    pub code: MaybeUndefined<String>,
    pub name_en: MaybeUndefined<String>,
    pub name_zh: MaybeUndefined<String>,
    /// Database text.
    pub category: MaybeUndefined<&'static str>,
    pub metadata: MaybeUndefined<serde_json::Value>,
}

impl Writable for skill::Model {
    type Entity = skill::Entity;
    type Fields = SkillFields;
    type Writer = ();
    const TYPE_NAME: &'static str = SKILL;

    fn writer(viewer: &Viewer) -> AppResult<(&Principal, ())> {
        Ok((staff(viewer)?, ()))
    }

    fn blank(sourced_id: String, actor: &Actor, now: DateTime<Utc>, _writer: ()) -> Self {
        skill::Model {
            id: 0,
            sourced_id,
            status: STATUS_ACTIVE.to_owned(),
            date_created: now,
            date_last_modified: now,
            version: 1,
            metadata: None,
            created_by: Some(actor.subject.clone()),
            modified_by: Some(actor.subject.clone()),
            code: String::new(),
            name_en: String::new(),
            name_zh: None,
            category: String::new(),
        }
    }

    async fn apply(
        _db: &impl ConnectionTrait,
        row: &mut Self,
        fields: SkillFields,
    ) -> AppResult<()> {
        patch_required(&mut row.code, text(&fields.code), "code", MAX_CODE_CHARS)?;
        patch_required(
            &mut row.name_en,
            text(&fields.name_en),
            "nameEn",
            write::MAX_SHORT_TEXT,
        )?;
        patch_text(
            &mut row.name_zh,
            text(&fields.name_zh),
            "nameZh",
            write::MAX_SHORT_TEXT,
        )?;
        if let Some(category) = required(fields.category, "category")? {
            category.clone_into(&mut row.category);
        }
        patch_metadata(&mut row.metadata, fields.metadata)?;
        if row.code.is_empty() {
            return Err(AppError::bad_input("code", "`code` is required"));
        }
        if row.name_en.is_empty() {
            return Err(AppError::bad_input("nameEn", "`nameEn` is required"));
        }
        if row.category.is_empty() {
            return Err(AppError::bad_input("category", "`category` is required"));
        }
        Ok(())
    }

    async fn check(db: &impl ConnectionTrait, row: &Self) -> AppResult<()> {
        let taken = skill::Entity::find()
            .filter(skill::Column::Code.eq(row.code.as_str()))
            .filter(skill::Column::Status.eq(STATUS_ACTIVE))
            .filter(skill::Column::Id.ne(row.id))
            .one(db)
            .await?;
        if let Some(other) = taken {
            return Err(write::duplicate(format!(
                "skill {} already has code {}",
                other.sourced_id, row.code
            )));
        }
        Ok(())
    }

    fn columns(&self) -> Vec<(skill::Column, SimpleExpr)> {
        use skill::Column as C;
        vec![
            (C::Code, Expr::value(self.code.clone())),
            (C::NameEn, Expr::value(self.name_en.clone())),
            (C::NameZh, Expr::value(self.name_zh.clone())),
            (C::Category, Expr::value(self.category.clone())),
            (C::Metadata, Expr::value(self.metadata.clone())),
        ]
    }

    async fn in_use(db: &impl ConnectionTrait, row: &Self) -> AppResult<()> {
        use super::catalogue::still_used;
        if in_use::<job_skill_requirement::Entity>(
            db,
            job_skill_requirement::Column::SkillId,
            row.id,
        )
        .await?
        {
            return Err(still_used(SKILL, &row.sourced_id, "job skill requirements"));
        }
        if in_use::<unit_skill::Entity>(db, unit_skill::Column::SkillId, row.id).await? {
            return Err(still_used(SKILL, &row.sourced_id, "unit skills"));
        }
        if in_use::<skill_evidence::Entity>(db, skill_evidence::Column::SkillId, row.id).await? {
            return Err(still_used(SKILL, &row.sourced_id, "skill evidence"));
        }
        Ok(())
    }
}
