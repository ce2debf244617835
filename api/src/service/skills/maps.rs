//! The versioned skill map lifecycle (DOMAIN.md area D): `null → DRAFT ⇄ IN_REVIEW → APPROVED
//! → SUPERSEDED`.
//!
//! A map code has versions 1, 2, …; at most one of them is working (draft or in review) and at
//! most one approved (partial unique indexes `ux_skill_map_working` and `ux_skill_map_approved`).
//! [`create_version`] makes the next version as a draft copy of the latest one, with copies of
//! its jobs, duties and requirements. Approving a version supersedes the previously approved
//! one and schedules the annual review a year on. Every transition writes StatusHistory and an
//! `update` change event in the same transaction.

use chrono::Months;
use entity::{STATUS_ACTIVE, future_job, job_duty, job_skill_requirement, skill_map};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, SqlErr,
};

use super::{
    APPROVED, DRAFT, FUTURE_JOB, IN_REVIEW, JOB_DUTY, REQUIREMENT, SKILL_MAP, SUPERSEDED, WORKING,
    staff,
};
use crate::access;
use crate::auth::{Role, Viewer};
use crate::changes::{self, Change};
use crate::error::{AppError, AppResult};
use crate::graphql::common::sourced_id_of;
use crate::service::catalogue::MAX_CODE_CHARS;
use crate::service::curriculum;
use crate::service::write::{self, Actor, Transition, VersionedUpdate};

/// A skill map transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// draft → in_review.
    Submit,
    /// in_review → draft.
    ReturnToDraft,
    /// in_review → approved (academicLead or programmeAdmin).
    Approve,
}

impl Action {
    pub fn from_state(self) -> &'static str {
        match self {
            Action::Submit => DRAFT,
            Action::ReturnToDraft | Action::Approve => IN_REVIEW,
        }
    }

    pub fn to_state(self) -> &'static str {
        match self {
            Action::Submit => IN_REVIEW,
            Action::ReturnToDraft => DRAFT,
            Action::Approve => APPROVED,
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            Action::Submit => "submit",
            Action::ReturnToDraft => "return to draft",
            Action::Approve => "approve",
        }
    }
}

/// A new skill map (version 1).
#[derive(Clone, Debug)]
pub struct NewSkillMap<'a> {
    pub sourced_id: Option<&'a str>,
    pub code: &'a str,
    /// Database text.
    pub sector: &'static str,
    pub metadata: Option<serde_json::Value>,
}

fn insert_error(err: DbErr, code: &str) -> AppError {
    if let Some(SqlErr::UniqueConstraintViolation(_)) = err.sql_err() {
        return write::invalid_transition(format!(
            "skill map {code} already has a working (draft or in review) version"
        ));
    }
    err.into()
}

async fn sourced_id_taken(db: &impl ConnectionTrait, sourced_id: &str) -> AppResult<()> {
    let found = skill_map::Entity::find()
        .filter(skill_map::Column::SourcedId.eq(sourced_id))
        .one(db)
        .await?;
    if found.is_some() {
        return Err(write::duplicate(format!(
            "a SkillMap with sourcedId {sourced_id} already exists"
        )));
    }
    Ok(())
}

/// The map named by `id` (global id or sourcedId), tombstones included; `NOT_FOUND` when it
/// does not exist or the caller may not read it.
async fn map_named(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: &str,
    field: &str,
) -> AppResult<skill_map::Model> {
    use crate::access::Scoped;
    let sid = sourced_id_of(SKILL_MAP, field, id)?;
    skill_map::Entity::find()
        .filter(skill_map::Entity::scope(viewer)?)
        .filter(skill_map::Column::SourcedId.eq(sid.as_str()))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(SKILL_MAP.to_owned()))
}

fn require_active(map: &skill_map::Model) -> AppResult<()> {
    if map.status != STATUS_ACTIVE {
        return Err(write::invalid_transition(format!(
            "skill map {} is deleted",
            map.sourced_id
        )));
    }
    Ok(())
}

async fn reload(db: &impl ConnectionTrait, id: i64) -> AppResult<skill_map::Model> {
    skill_map::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(SKILL_MAP.to_owned()))
}

/// Creates version 1 of a skill map, a draft. `DUPLICATE` when an active map already has the
/// code (make a new version instead) or the sourcedId is taken.
pub async fn create(
    db: &DatabaseConnection,
    viewer: &Viewer,
    new: NewSkillMap<'_>,
) -> AppResult<skill_map::Model> {
    let actor = Actor::of(staff(viewer)?);
    let sourced_id = write::new_sourced_id(new.sourced_id, "sourcedId")?;
    let code = write::required_text(new.code, "code", MAX_CODE_CHARS)?;
    let metadata = write::metadata(new.metadata, "metadata")?;
    let txn = write::begin(db).await?;
    let taken = skill_map::Entity::find()
        .filter(skill_map::Column::Code.eq(code.as_str()))
        .filter(skill_map::Column::Status.eq(STATUS_ACTIVE))
        .one(&txn)
        .await?;
    if let Some(other) = taken {
        return Err(write::duplicate(format!(
            "skill map {} already has code {code}; create a new version of it instead",
            other.sourced_id
        )));
    }
    sourced_id_taken(&txn, &sourced_id).await?;
    let now = changes::now();
    let row = skill_map::ActiveModel {
        sourced_id: Set(sourced_id),
        status: Set(STATUS_ACTIVE.to_owned()),
        date_created: Set(now),
        date_last_modified: Set(now),
        version: Set(1),
        metadata: Set(metadata),
        created_by: Set(Some(actor.subject.clone())),
        modified_by: Set(Some(actor.subject.clone())),
        code: Set(code),
        sector: Set(new.sector.to_owned()),
        version_number: Set(1),
        state: Set(DRAFT.to_owned()),
        approved_at: Set(None),
        next_review_due: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    created(&txn, &row, &actor, now, Vec::new()).await?;
    txn.commit().await?;
    Ok(row)
}

/// The StatusHistory row (`null → draft`) and the change events of a new map version.
async fn created(
    db: &impl ConnectionTrait,
    row: &skill_map::Model,
    actor: &Actor,
    now: chrono::DateTime<chrono::Utc>,
    mut more: Vec<Change>,
) -> AppResult<()> {
    write::record_transition(
        db,
        Transition {
            entity_type: SKILL_MAP,
            entity_id: row.id,
            from: None,
            to: DRAFT,
            reason: None,
        },
        actor,
        now,
    )
    .await?;
    let mut events = vec![write::change(
        SKILL_MAP,
        row.id,
        &row.sourced_id,
        changes::CREATE,
        row.version,
    )];
    events.append(&mut more);
    write::emit(db, &events, now).await
}

/// Creates the next version of the map `map` (any of its versions) as a draft copy of its
/// latest version (the highest version number), with copies of that version's jobs, duties
/// and requirements (new sourcedIds, a `create` event each). `INVALID_TRANSITION` while a
/// version of the code is a draft or in review.
pub async fn create_version(
    db: &DatabaseConnection,
    viewer: &Viewer,
    map: &str,
    sourced_id: Option<&str>,
) -> AppResult<skill_map::Model> {
    let actor = Actor::of(staff(viewer)?);
    let sourced_id = write::new_sourced_id(sourced_id, "sourcedId")?;
    let txn = write::begin(db).await?;
    let named = map_named(&txn, viewer, map, "skillMap").await?;
    let versions = skill_map::Entity::find()
        .filter(skill_map::Column::Code.eq(named.code.as_str()))
        .order_by_desc(skill_map::Column::VersionNumber)
        .all(&txn)
        .await?;
    let next_number = versions.first().map_or(1, |v| v.version_number + 1);
    let active: Vec<&skill_map::Model> = versions
        .iter()
        .filter(|v| v.status == STATUS_ACTIVE)
        .collect();
    if let Some(working) = active.iter().find(|v| WORKING.contains(&v.state.as_str())) {
        return Err(write::invalid_transition(format!(
            "skill map {} already has a working version {} ({}); finish or delete it first",
            named.code, working.version_number, working.state
        )));
    }
    let Some(latest) = active.first().copied() else {
        return Err(write::invalid_transition(format!(
            "skill map {} has no active version to copy",
            named.code
        )));
    };
    sourced_id_taken(&txn, &sourced_id).await?;
    let now = changes::now();
    let row = skill_map::ActiveModel {
        sourced_id: Set(sourced_id),
        status: Set(STATUS_ACTIVE.to_owned()),
        date_created: Set(now),
        date_last_modified: Set(now),
        version: Set(1),
        metadata: Set(latest.metadata.clone()),
        created_by: Set(Some(actor.subject.clone())),
        modified_by: Set(Some(actor.subject.clone())),
        code: Set(latest.code.clone()),
        sector: Set(latest.sector.clone()),
        version_number: Set(next_number),
        state: Set(DRAFT.to_owned()),
        approved_at: Set(None),
        next_review_due: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| insert_error(e, &latest.code))?;
    let events = copy_content(&txn, latest.id, row.id, &actor, now).await?;
    created(&txn, &row, &actor, now, events).await?;
    txn.commit().await?;
    Ok(row)
}

/// Copies the active jobs of map `from` with their active duties and requirements into map
/// `to`; returns their `create` events.
async fn copy_content(
    db: &impl ConnectionTrait,
    from: i64,
    to: i64,
    actor: &Actor,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<Vec<Change>> {
    let jobs = future_job::Entity::find()
        .filter(future_job::Column::SkillMapId.eq(from))
        .filter(future_job::Column::Status.eq(STATUS_ACTIVE))
        .order_by_asc(future_job::Column::Id)
        .all(db)
        .await?;
    let job_ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
    let duties = job_duty::Entity::find()
        .filter(job_duty::Column::FutureJobId.is_in(job_ids.clone()))
        .filter(job_duty::Column::Status.eq(STATUS_ACTIVE))
        .order_by_asc(job_duty::Column::Id)
        .all(db)
        .await?;
    let requirements = job_skill_requirement::Entity::find()
        .filter(job_skill_requirement::Column::FutureJobId.is_in(job_ids))
        .filter(job_skill_requirement::Column::Status.eq(STATUS_ACTIVE))
        .order_by_asc(job_skill_requirement::Column::Id)
        .all(db)
        .await?;
    let who = || Some(actor.subject.clone());
    let fresh = || uuid::Uuid::now_v7().to_string();
    let mut events = Vec::new();
    for job in jobs {
        let copy = future_job::ActiveModel {
            sourced_id: Set(fresh()),
            status: Set(STATUS_ACTIVE.to_owned()),
            date_created: Set(now),
            date_last_modified: Set(now),
            version: Set(1),
            metadata: Set(job.metadata.clone()),
            created_by: Set(who()),
            modified_by: Set(who()),
            skill_map_id: Set(to),
            code: Set(job.code.clone()),
            title: Set(job.title.clone()),
            summary: Set(job.summary.clone()),
            ..Default::default()
        }
        .insert(db)
        .await?;
        events.push(write::change(
            FUTURE_JOB,
            copy.id,
            &copy.sourced_id,
            changes::CREATE,
            1,
        ));
        for duty in duties.iter().filter(|d| d.future_job_id == job.id) {
            let new = job_duty::ActiveModel {
                sourced_id: Set(fresh()),
                status: Set(STATUS_ACTIVE.to_owned()),
                date_created: Set(now),
                date_last_modified: Set(now),
                version: Set(1),
                metadata: Set(duty.metadata.clone()),
                created_by: Set(who()),
                modified_by: Set(who()),
                future_job_id: Set(copy.id),
                seq: Set(duty.seq),
                function_area: Set(duty.function_area.clone()),
                duty_text: Set(duty.duty_text.clone()),
                is_placeholder: Set(duty.is_placeholder),
                ..Default::default()
            }
            .insert(db)
            .await?;
            events.push(write::change(
                JOB_DUTY,
                new.id,
                &new.sourced_id,
                changes::CREATE,
                1,
            ));
        }
        for requirement in requirements.iter().filter(|r| r.future_job_id == job.id) {
            let new = job_skill_requirement::ActiveModel {
                sourced_id: Set(fresh()),
                status: Set(STATUS_ACTIVE.to_owned()),
                date_created: Set(now),
                date_last_modified: Set(now),
                version: Set(1),
                metadata: Set(requirement.metadata.clone()),
                created_by: Set(who()),
                modified_by: Set(who()),
                future_job_id: Set(copy.id),
                skill_id: Set(requirement.skill_id),
                proficiency: Set(requirement.proficiency),
                importance: Set(requirement.importance.clone()),
                ..Default::default()
            }
            .insert(db)
            .await?;
            events.push(write::change(
                REQUIREMENT,
                new.id,
                &new.sourced_id,
                changes::CREATE,
                1,
            ));
        }
    }
    Ok(events)
}

/// Changes a map's sector (only while draft or in review: `INVALID_TRANSITION` otherwise) and
/// its metadata (in any state). `None`/`Unchanged` keeps a field.
pub async fn update(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: &str,
    expected_version: Option<i32>,
    sector: Option<&'static str>,
    metadata: write::Patch<serde_json::Value>,
) -> AppResult<skill_map::Model> {
    let actor = Actor::of(staff(viewer)?);
    if let write::Patch::Set(value) = &metadata {
        write::check_metadata(value, "metadata")?;
    }
    let txn = write::begin(db).await?;
    let map = map_named(&txn, viewer, id, "id").await?;
    require_active(&map)?;
    if sector.is_some() && !WORKING.contains(&map.state.as_str()) {
        return Err(write::invalid_transition(format!(
            "skill map {} is {}; approved skill maps are frozen (only their metadata changes)",
            map.sourced_id, map.state
        )));
    }
    write::check_expected_version(SKILL_MAP, &map.sourced_id, map.version, expected_version)?;
    let mut set: Vec<(skill_map::Column, SimpleExpr)> = Vec::new();
    if let Some(sector) = sector {
        set.push((skill_map::Column::Sector, Expr::value(sector)));
    }
    match metadata {
        write::Patch::Unchanged => {}
        write::Patch::Clear => set.push((
            skill_map::Column::Metadata,
            Expr::value(Option::<serde_json::Value>::None),
        )),
        write::Patch::Set(value) => set.push((skill_map::Column::Metadata, Expr::value(value))),
    }
    let mut guard = Expr::col(skill_map::Column::Status).eq(STATUS_ACTIVE);
    if sector.is_some() {
        guard = guard.and(Expr::col(skill_map::Column::State).is_in(WORKING));
    }
    let now = changes::now();
    let version = write::update_versioned::<skill_map::Entity>(
        &txn,
        VersionedUpdate {
            type_name: SKILL_MAP,
            sourced_id: map.sourced_id.clone(),
            id: map.id,
            version: map.version,
            guard: Some(guard),
            set,
        },
        &actor,
        now,
    )
    .await?;
    write::emit(
        &txn,
        &[write::change(
            SKILL_MAP,
            map.id,
            &map.sourced_id,
            changes::UPDATE,
            version,
        )],
        now,
    )
    .await?;
    let row = reload(&txn, map.id).await?;
    txn.commit().await?;
    Ok(row)
}

/// Deletes a draft map with its jobs, duties and requirements (tombstones, a `delete` event
/// each). `INVALID_TRANSITION` for a map that is not a draft or already deleted.
pub async fn delete(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: &str,
    expected_version: Option<i32>,
) -> AppResult<skill_map::Model> {
    let actor = Actor::of(staff(viewer)?);
    let txn = write::begin(db).await?;
    let map = map_named(&txn, viewer, id, "id").await?;
    require_active(&map)?;
    if map.state != DRAFT {
        return Err(write::invalid_transition(format!(
            "skill map {} is {}; only a draft can be deleted",
            map.sourced_id, map.state
        )));
    }
    write::check_expected_version(SKILL_MAP, &map.sourced_id, map.version, expected_version)?;
    let now = changes::now();
    write::tombstone::<skill_map::Entity>(
        &txn,
        SKILL_MAP,
        map.id,
        &map.sourced_id,
        map.version,
        &actor,
        now,
    )
    .await?;
    let jobs: Vec<(i64, String, i32)> = future_job::Entity::find()
        .select_only()
        .column(future_job::Column::Id)
        .column(future_job::Column::SourcedId)
        .column(future_job::Column::Version)
        .filter(future_job::Column::SkillMapId.eq(map.id))
        .filter(future_job::Column::Status.eq(STATUS_ACTIVE))
        .into_tuple()
        .all(&txn)
        .await?;
    let events = super::jobs::tombstone_jobs(&txn, &jobs, &actor, now).await?;
    write::emit(&txn, &events, now).await?;
    let row = reload(&txn, map.id).await?;
    txn.commit().await?;
    Ok(row)
}

/// Applies a lifecycle transition. `FORBIDDEN` for anyone but the curriculum staff, and for an
/// approval by anyone but an academicLead or programmeAdmin with a Person; `INVALID_TRANSITION`
/// from another state or for a deleted map; `VERSION_CONFLICT`; `BAD_USER_INPUT` on `reason`.
/// Approving first supersedes the approved version of the same code.
pub async fn transition(
    db: &DatabaseConnection,
    viewer: &Viewer,
    action: Action,
    id: &str,
    expected_version: Option<i32>,
    reason: Option<&str>,
) -> AppResult<skill_map::Model> {
    let curator = curriculum::curator(viewer)?;
    if !curator.is_curriculum_staff() {
        return Err(AppError::Forbidden);
    }
    let principal = curator.principal;
    if action == Action::Approve
        && (principal.is_client()
            || principal.person_id.is_none()
            || !(curator.is_admin() || principal.roles.contains(&Role::AcademicLead)))
    {
        return Err(AppError::ForbiddenWith(
            "only an academic lead (or programmeAdmin) approves skill maps".into(),
        ));
    }
    let actor = curator.actor.clone();
    let reason = write::reason(reason)?;
    let txn = write::begin(db).await?;
    let map = map_named(&txn, viewer, id, "id").await?;
    require_active(&map)?;
    let from = action.from_state();
    if map.state != from {
        return Err(write::invalid_transition(format!(
            "cannot {} skill map {}: it is {}, and only a {} map can",
            action.verb(),
            map.sourced_id,
            map.state,
            from
        )));
    }
    write::check_expected_version(SKILL_MAP, &map.sourced_id, map.version, expected_version)?;
    let now = changes::now();
    let to = action.to_state();
    let mut set = vec![(skill_map::Column::State, Expr::value(to))];
    if action == Action::Approve {
        supersede(&txn, &map, &actor, now).await?;
        let due = access::today()
            .checked_add_months(Months::new(12))
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("review date out of range")))?;
        set.push((skill_map::Column::ApprovedAt, Expr::value(now)));
        set.push((skill_map::Column::NextReviewDue, Expr::value(due)));
    }
    let version = write::update_versioned::<skill_map::Entity>(
        &txn,
        VersionedUpdate {
            type_name: SKILL_MAP,
            sourced_id: map.sourced_id.clone(),
            id: map.id,
            version: map.version,
            guard: Some(
                Expr::col(skill_map::Column::State)
                    .eq(from)
                    .and(Expr::col(skill_map::Column::Status).eq(STATUS_ACTIVE)),
            ),
            set,
        },
        &actor,
        now,
    )
    .await?;
    write::transitioned(
        &txn,
        Transition {
            entity_type: SKILL_MAP,
            entity_id: map.id,
            from: Some(from),
            to,
            reason: reason.as_deref(),
        },
        &map.sourced_id,
        version,
        &actor,
        now,
    )
    .await?;
    let row = reload(&txn, map.id).await?;
    txn.commit().await?;
    Ok(row)
}

/// Moves the approved version of `map`'s code (if any) to superseded: its own history row and
/// `update` event.
async fn supersede(
    db: &impl ConnectionTrait,
    map: &skill_map::Model,
    actor: &Actor,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    let previous = skill_map::Entity::find()
        .filter(skill_map::Column::Code.eq(map.code.as_str()))
        .filter(skill_map::Column::Status.eq(STATUS_ACTIVE))
        .filter(skill_map::Column::State.eq(APPROVED))
        .filter(skill_map::Column::Id.ne(map.id))
        .all(db)
        .await?;
    let reason = format!("superseded by version {}", map.version_number);
    for old in previous {
        let version = write::update_versioned::<skill_map::Entity>(
            db,
            VersionedUpdate {
                type_name: SKILL_MAP,
                sourced_id: old.sourced_id.clone(),
                id: old.id,
                version: old.version,
                guard: Some(Expr::col(skill_map::Column::State).eq(APPROVED)),
                set: vec![(skill_map::Column::State, Expr::value(SUPERSEDED))],
            },
            actor,
            now,
        )
        .await?;
        write::transitioned(
            db,
            Transition {
                entity_type: SKILL_MAP,
                entity_id: old.id,
                from: Some(APPROVED),
                to: SUPERSEDED,
                reason: Some(&reason),
            },
            &old.sourced_id,
            version,
            actor,
            now,
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifecycle_matches_the_domain() {
        assert_eq!(Action::Submit.from_state(), DRAFT);
        assert_eq!(Action::Submit.to_state(), IN_REVIEW);
        assert_eq!(Action::ReturnToDraft.to_state(), DRAFT);
        assert_eq!(Action::Approve.from_state(), IN_REVIEW);
        assert_eq!(Action::Approve.to_state(), APPROVED);
    }
}
