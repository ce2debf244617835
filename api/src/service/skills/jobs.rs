//! Future jobs, their duties and skill requirements (DOMAIN.md area D): plain records of a
//! skill map, written by the curriculum staff through the catalogue's [`Writable`] steps, and
//! frozen once their map is approved (`INVALID_TRANSITION`).
//!
//! **Rules.** A job's `code` (at most 64 characters) is unique within its map; a duty's `seq`
//! (1 or more) is unique within its job, `functionArea` at most 255 and `dutyText` at most 2,000
//! characters; a requirement names an active skill at most once per job, at a proficiency of
//! 1 to 4. Deleting a job deletes its duties and requirements too.

use async_graphql::MaybeUndefined;
use chrono::{DateTime, Utc};
use entity::{STATUS_ACTIVE, future_job, job_duty, job_skill_requirement, skill, skill_map};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
};

use super::{
    FUTURE_JOB, JOB_DUTY, MAX_LONG_TEXT, REQUIREMENT, SKILL_MAP, WORKING, staff, tombstone_all,
};
use crate::auth::{Principal, Viewer};
use crate::changes::{self, Change};
use crate::error::{AppError, AppResult};
use crate::service::catalogue::{
    MAX_CODE_CHARS, Writable, in_range, patch_metadata, patch_required, patch_text, required, text,
};
use crate::service::write::{self, Actor};

/// `INVALID_TRANSITION` unless the map's content may change: it is active and a draft or in
/// review.
pub async fn require_unfrozen(db: &impl ConnectionTrait, map_id: i64) -> AppResult<()> {
    let map = skill_map::Entity::find_by_id(map_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(SKILL_MAP.to_owned()))?;
    if map.status != STATUS_ACTIVE {
        return Err(write::invalid_transition(format!(
            "skill map {} is deleted",
            map.sourced_id
        )));
    }
    if !WORKING.contains(&map.state.as_str()) {
        return Err(write::invalid_transition(format!(
            "skill map {} is {}: approved skill maps are frozen; create a new version to change it",
            map.sourced_id, map.state
        )));
    }
    Ok(())
}

/// The map of a job, then [`require_unfrozen`].
async fn require_job_unfrozen(db: &impl ConnectionTrait, job_id: i64) -> AppResult<()> {
    let job = future_job::Entity::find_by_id(job_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(FUTURE_JOB.to_owned()))?;
    require_unfrozen(db, job.skill_map_id).await
}

fn blank_record(actor: &Actor) -> Option<String> {
    Some(actor.subject.clone())
}

// ---------------------------------------------------------------- future jobs

/// The fields of a future job write (omitted keeps, null clears).
#[derive(Clone, Debug, Default)]
pub struct JobFields {
    /// Only on create.
    pub skill_map: MaybeUndefined<String>,
    pub code: MaybeUndefined<String>,
    pub title: MaybeUndefined<String>,
    pub summary: MaybeUndefined<String>,
    pub metadata: MaybeUndefined<serde_json::Value>,
}

impl Writable for future_job::Model {
    type Entity = future_job::Entity;
    type Fields = JobFields;
    type Writer = ();
    const TYPE_NAME: &'static str = FUTURE_JOB;

    fn writer(viewer: &Viewer) -> AppResult<(&Principal, ())> {
        Ok((staff(viewer)?, ()))
    }

    fn blank(sourced_id: String, actor: &Actor, now: DateTime<Utc>, _writer: ()) -> Self {
        future_job::Model {
            id: 0,
            sourced_id,
            status: STATUS_ACTIVE.to_owned(),
            date_created: now,
            date_last_modified: now,
            version: 1,
            metadata: None,
            created_by: blank_record(actor),
            modified_by: blank_record(actor),
            skill_map_id: 0,
            code: String::new(),
            title: String::new(),
            summary: None,
        }
    }

    async fn apply(db: &impl ConnectionTrait, row: &mut Self, fields: JobFields) -> AppResult<()> {
        if let Some(id) = required(fields.skill_map, "skillMap")? {
            row.skill_map_id =
                write::reference::<skill_map::Entity>(db, SKILL_MAP, "skillMap", &id)
                    .await?
                    .id;
        }
        patch_required(&mut row.code, text(&fields.code), "code", MAX_CODE_CHARS)?;
        patch_required(
            &mut row.title,
            text(&fields.title),
            "title",
            write::MAX_SHORT_TEXT,
        )?;
        patch_text(
            &mut row.summary,
            text(&fields.summary),
            "summary",
            MAX_LONG_TEXT,
        )?;
        patch_metadata(&mut row.metadata, fields.metadata)?;
        if row.skill_map_id == 0 {
            return Err(AppError::bad_input("skillMap", "`skillMap` is required"));
        }
        if row.code.is_empty() {
            return Err(AppError::bad_input("code", "`code` is required"));
        }
        if row.title.is_empty() {
            return Err(AppError::bad_input("title", "`title` is required"));
        }
        Ok(())
    }

    async fn check(db: &impl ConnectionTrait, row: &Self) -> AppResult<()> {
        require_unfrozen(db, row.skill_map_id).await?;
        let taken = future_job::Entity::find()
            .filter(future_job::Column::SkillMapId.eq(row.skill_map_id))
            .filter(future_job::Column::Code.eq(row.code.as_str()))
            .filter(future_job::Column::Status.eq(STATUS_ACTIVE))
            .filter(future_job::Column::Id.ne(row.id))
            .one(db)
            .await?;
        if let Some(other) = taken {
            return Err(write::duplicate(format!(
                "future job {} of this skill map already has code {}",
                other.sourced_id, row.code
            )));
        }
        Ok(())
    }

    fn columns(&self) -> Vec<(future_job::Column, SimpleExpr)> {
        use future_job::Column as C;
        vec![
            (C::Code, Expr::value(self.code.clone())),
            (C::Title, Expr::value(self.title.clone())),
            (C::Summary, Expr::value(self.summary.clone())),
            (C::Metadata, Expr::value(self.metadata.clone())),
        ]
    }

    async fn in_use(db: &impl ConnectionTrait, row: &Self) -> AppResult<()> {
        require_unfrozen(db, row.skill_map_id).await
    }
}

/// Tombstones jobs already read (id, sourcedId, version) with their active duties and
/// requirements; returns the `delete` events to emit.
pub async fn tombstone_jobs(
    db: &impl ConnectionTrait,
    jobs: &[(i64, String, i32)],
    actor: &Actor,
    now: DateTime<Utc>,
) -> AppResult<Vec<Change>> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = jobs.iter().map(|(id, _, _)| *id).collect();
    let duties: Vec<(i64, String, i32)> = job_duty::Entity::find()
        .select_only()
        .column(job_duty::Column::Id)
        .column(job_duty::Column::SourcedId)
        .column(job_duty::Column::Version)
        .filter(job_duty::Column::FutureJobId.is_in(ids.clone()))
        .filter(job_duty::Column::Status.eq(STATUS_ACTIVE))
        .into_tuple()
        .all(db)
        .await?;
    let requirements: Vec<(i64, String, i32)> = job_skill_requirement::Entity::find()
        .select_only()
        .column(job_skill_requirement::Column::Id)
        .column(job_skill_requirement::Column::SourcedId)
        .column(job_skill_requirement::Column::Version)
        .filter(job_skill_requirement::Column::FutureJobId.is_in(ids))
        .filter(job_skill_requirement::Column::Status.eq(STATUS_ACTIVE))
        .into_tuple()
        .all(db)
        .await?;
    let mut events = tombstone_all::<future_job::Entity>(db, FUTURE_JOB, jobs, actor, now).await?;
    events.extend(tombstone_all::<job_duty::Entity>(db, JOB_DUTY, &duties, actor, now).await?);
    events.extend(
        tombstone_all::<job_skill_requirement::Entity>(db, REQUIREMENT, &requirements, actor, now)
            .await?,
    );
    Ok(events)
}

/// Deletes a future job with its duties and requirements (tombstones, a `delete` event each):
/// `NOT_FOUND`, `FORBIDDEN`, `INVALID_TRANSITION` (frozen map, already deleted),
/// `VERSION_CONFLICT`.
pub async fn delete_job(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: &str,
    expected_version: Option<i32>,
) -> AppResult<future_job::Model> {
    let actor = Actor::of(staff(viewer)?);
    let txn = write::begin(db).await?;
    let job = write::load_for_write::<future_job::Entity>(&txn, FUTURE_JOB, sourced_id).await?;
    if job.status != STATUS_ACTIVE {
        return Err(write::invalid_transition(format!(
            "FutureJob {sourced_id} is already deleted"
        )));
    }
    require_unfrozen(&txn, job.skill_map_id).await?;
    write::check_expected_version(FUTURE_JOB, sourced_id, job.version, expected_version)?;
    let now = changes::now();
    let events = tombstone_jobs(
        &txn,
        &[(job.id, job.sourced_id.clone(), job.version)],
        &actor,
        now,
    )
    .await?;
    write::emit(&txn, &events, now).await?;
    let row = future_job::Entity::find_by_id(job.id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::NotFound(FUTURE_JOB.to_owned()))?;
    txn.commit().await?;
    Ok(row)
}

// ---------------------------------------------------------------- duties

/// The fields of a job duty write (omitted keeps, null clears).
#[derive(Clone, Debug, Default)]
pub struct DutyFields {
    /// Only on create.
    pub future_job: MaybeUndefined<String>,
    pub seq: MaybeUndefined<i32>,
    pub function_area: MaybeUndefined<String>,
    pub duty_text: MaybeUndefined<String>,
    pub is_placeholder: MaybeUndefined<bool>,
    pub metadata: MaybeUndefined<serde_json::Value>,
}

impl Writable for job_duty::Model {
    type Entity = job_duty::Entity;
    type Fields = DutyFields;
    type Writer = ();
    const TYPE_NAME: &'static str = JOB_DUTY;

    fn writer(viewer: &Viewer) -> AppResult<(&Principal, ())> {
        Ok((staff(viewer)?, ()))
    }

    fn blank(sourced_id: String, actor: &Actor, now: DateTime<Utc>, _writer: ()) -> Self {
        job_duty::Model {
            id: 0,
            sourced_id,
            status: STATUS_ACTIVE.to_owned(),
            date_created: now,
            date_last_modified: now,
            version: 1,
            metadata: None,
            created_by: blank_record(actor),
            modified_by: blank_record(actor),
            future_job_id: 0,
            seq: 0,
            function_area: String::new(),
            duty_text: String::new(),
            is_placeholder: false,
        }
    }

    async fn apply(db: &impl ConnectionTrait, row: &mut Self, fields: DutyFields) -> AppResult<()> {
        if let Some(id) = required(fields.future_job, "futureJob")? {
            row.future_job_id =
                write::reference::<future_job::Entity>(db, FUTURE_JOB, "futureJob", &id)
                    .await?
                    .id;
        }
        if let Some(seq) = required(fields.seq, "seq")? {
            row.seq = seq;
        }
        patch_required(
            &mut row.function_area,
            text(&fields.function_area),
            "functionArea",
            write::MAX_SHORT_TEXT,
        )?;
        patch_required(
            &mut row.duty_text,
            text(&fields.duty_text),
            "dutyText",
            MAX_LONG_TEXT,
        )?;
        if let Some(placeholder) = required(fields.is_placeholder, "isPlaceholder")? {
            row.is_placeholder = placeholder;
        }
        patch_metadata(&mut row.metadata, fields.metadata)?;
        if row.future_job_id == 0 {
            return Err(AppError::bad_input("futureJob", "`futureJob` is required"));
        }
        in_range(Some(row.seq), "seq", 1..=10_000)?;
        if row.function_area.is_empty() {
            return Err(AppError::bad_input(
                "functionArea",
                "`functionArea` is required",
            ));
        }
        if row.duty_text.is_empty() {
            return Err(AppError::bad_input("dutyText", "`dutyText` is required"));
        }
        Ok(())
    }

    async fn check(db: &impl ConnectionTrait, row: &Self) -> AppResult<()> {
        require_job_unfrozen(db, row.future_job_id).await?;
        let taken = job_duty::Entity::find()
            .filter(job_duty::Column::FutureJobId.eq(row.future_job_id))
            .filter(job_duty::Column::Seq.eq(row.seq))
            .filter(job_duty::Column::Status.eq(STATUS_ACTIVE))
            .filter(job_duty::Column::Id.ne(row.id))
            .one(db)
            .await?;
        if let Some(other) = taken {
            return Err(write::duplicate(format!(
                "job duty {} of this job already has seq {}",
                other.sourced_id, row.seq
            )));
        }
        Ok(())
    }

    fn columns(&self) -> Vec<(job_duty::Column, SimpleExpr)> {
        use job_duty::Column as C;
        vec![
            (C::Seq, Expr::value(self.seq)),
            (C::FunctionArea, Expr::value(self.function_area.clone())),
            (C::DutyText, Expr::value(self.duty_text.clone())),
            (C::IsPlaceholder, Expr::value(self.is_placeholder)),
            (C::Metadata, Expr::value(self.metadata.clone())),
        ]
    }

    async fn in_use(db: &impl ConnectionTrait, row: &Self) -> AppResult<()> {
        require_job_unfrozen(db, row.future_job_id).await
    }
}

// ---------------------------------------------------------------- requirements

/// The fields of a job skill requirement write (omitted keeps, null clears).
#[derive(Clone, Debug, Default)]
pub struct RequirementFields {
    /// Only on create.
    pub future_job: MaybeUndefined<String>,
    pub skill: MaybeUndefined<String>,
    pub proficiency: MaybeUndefined<i32>,
    /// Database text.
    pub importance: MaybeUndefined<&'static str>,
    pub metadata: MaybeUndefined<serde_json::Value>,
}

impl Writable for job_skill_requirement::Model {
    type Entity = job_skill_requirement::Entity;
    type Fields = RequirementFields;
    type Writer = ();
    const TYPE_NAME: &'static str = REQUIREMENT;

    fn writer(viewer: &Viewer) -> AppResult<(&Principal, ())> {
        Ok((staff(viewer)?, ()))
    }

    fn blank(sourced_id: String, actor: &Actor, now: DateTime<Utc>, _writer: ()) -> Self {
        job_skill_requirement::Model {
            id: 0,
            sourced_id,
            status: STATUS_ACTIVE.to_owned(),
            date_created: now,
            date_last_modified: now,
            version: 1,
            metadata: None,
            created_by: blank_record(actor),
            modified_by: blank_record(actor),
            future_job_id: 0,
            skill_id: 0,
            proficiency: 0,
            importance: String::new(),
        }
    }

    async fn apply(
        db: &impl ConnectionTrait,
        row: &mut Self,
        fields: RequirementFields,
    ) -> AppResult<()> {
        if let Some(id) = required(fields.future_job, "futureJob")? {
            row.future_job_id =
                write::reference::<future_job::Entity>(db, FUTURE_JOB, "futureJob", &id)
                    .await?
                    .id;
        }
        if let Some(id) = required(fields.skill, "skill")? {
            row.skill_id = write::reference::<skill::Entity>(db, super::SKILL, "skill", &id)
                .await?
                .id;
        }
        if let Some(proficiency) = required(fields.proficiency, "proficiency")? {
            row.proficiency = proficiency;
        }
        if let Some(importance) = required(fields.importance, "importance")? {
            importance.clone_into(&mut row.importance);
        }
        patch_metadata(&mut row.metadata, fields.metadata)?;
        if row.future_job_id == 0 {
            return Err(AppError::bad_input("futureJob", "`futureJob` is required"));
        }
        if row.skill_id == 0 {
            return Err(AppError::bad_input("skill", "`skill` is required"));
        }
        in_range(Some(row.proficiency), "proficiency", 1..=4)?;
        if row.importance.is_empty() {
            return Err(AppError::bad_input(
                "importance",
                "`importance` is required",
            ));
        }
        Ok(())
    }

    async fn check(db: &impl ConnectionTrait, row: &Self) -> AppResult<()> {
        require_job_unfrozen(db, row.future_job_id).await?;
        let taken = job_skill_requirement::Entity::find()
            .filter(job_skill_requirement::Column::FutureJobId.eq(row.future_job_id))
            .filter(job_skill_requirement::Column::SkillId.eq(row.skill_id))
            .filter(job_skill_requirement::Column::Status.eq(STATUS_ACTIVE))
            .filter(job_skill_requirement::Column::Id.ne(row.id))
            .one(db)
            .await?;
        if let Some(other) = taken {
            return Err(write::duplicate(format!(
                "job skill requirement {} of this job already names this skill",
                other.sourced_id
            )));
        }
        Ok(())
    }

    fn columns(&self) -> Vec<(job_skill_requirement::Column, SimpleExpr)> {
        use job_skill_requirement::Column as C;
        vec![
            (C::SkillId, Expr::value(self.skill_id)),
            (C::Proficiency, Expr::value(self.proficiency)),
            (C::Importance, Expr::value(self.importance.clone())),
            (C::Metadata, Expr::value(self.metadata.clone())),
        ]
    }

    async fn in_use(db: &impl ConnectionTrait, row: &Self) -> AppResult<()> {
        require_job_unfrozen(db, row.future_job_id).await
    }
}
