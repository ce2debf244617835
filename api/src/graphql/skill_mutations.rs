//! Writing skills and skill maps (DOMAIN.md area D): skills, the versioned skill map lifecycle
//! (`DRAFT ⇄ IN_REVIEW → APPROVED → SUPERSEDED`), future jobs, their duties and skill
//! requirements, and students' skill evidence; plus the annual review list
//! `skillMapsDueForReview`. Rules and roles are in [`crate::service::skills`].
//!
//! Every update, delete and transition names the version it read (`expectedVersion`); a stale
//! one is the user error `VERSION_CONFLICT` and nothing changes. Deletes leave tombstones.
//! Omitted update fields keep their value; an explicit null clears. References take a global
//! id or a sourcedId.

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, MergedObject, Object, Result};
use chrono::{DateTime, Utc};
use entity::{future_job, job_duty, job_skill_requirement, skill, skill_map};
use sea_orm::{ColumnTrait, Condition};

use super::common::*;
use super::connection::{Conn, ListArgs, db, viewer};
use super::payload::{finish, record_payload as payload, transition_input};
use super::record::{list, page_cost};
use super::skills::{
    EvidenceKind, FutureJob, JobDuty, JobSkillRequirement, RequirementImportance, Skill,
    SkillCategory, SkillEvidence, SkillMap, SkillMapFilter, SkillMapOrder, SkillMapSector,
};
use crate::access;
use crate::error::{AppResult, ResultExt};
use crate::service::catalogue;
use crate::service::skills::evidence::{self, EvidenceChanges, NewEvidence};
use crate::service::skills::jobs::{self, DutyFields, JobFields, RequirementFields};
use crate::service::skills::maps::{self, Action, NewSkillMap};
use crate::service::skills::{
    self as service, FUTURE_JOB, JOB_DUTY, REQUIREMENT, SKILL, SkillFields,
};
use crate::service::write::Patch;

/// A create-input field: given or omitted.
fn given<T>(value: Option<T>) -> MaybeUndefined<T> {
    value.map_or(MaybeUndefined::Undefined, MaybeUndefined::Value)
}

/// A JSON input as a plain value.
fn json(value: MaybeUndefined<Json<serde_json::Value>>) -> MaybeUndefined<serde_json::Value> {
    value.map_value(|j| j.0)
}

/// A JSON input as a patch.
fn json_patch(value: MaybeUndefined<Json<serde_json::Value>>) -> Patch<serde_json::Value> {
    match value {
        MaybeUndefined::Undefined => Patch::Unchanged,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(j) => Patch::Set(j.0),
    }
}

/// An ID input as its text.
fn id_text(value: MaybeUndefined<ID>) -> MaybeUndefined<String> {
    value.map_value(|id| id.0)
}

/// The sourcedId of the record an `id` input names.
fn sid(type_name: &str, id: &ID) -> AppResult<String> {
    sourced_id_of(type_name, "id", id.as_str())
}

macro_rules! delete_input {
    ($(#[$m:meta])* $name:ident, $what:literal) => {
        $(#[$m])*
        #[derive(InputObject)]
        pub struct $name {
            #[doc = concat!("The ", $what, " (global id or sourcedId).")]
            pub id: ID,
            /// The version last read; another current version is `VERSION_CONFLICT` and nothing
            /// changes. Without it the write applies to the current version.
            pub expected_version: Option<i32>,
        }
    };
}

// ---------------------------------------------------------------- skills

/// A new skill.
#[derive(InputObject)]
pub struct CreateSkillInput {
    /// The sourcedId to give it (`[A-Za-z0-9._:-]{1,255}`); a UUID is minted when omitted.
    pub sourced_id: Option<String>,
    /// Skill code (required, at most 64 characters), unique among active skills.
    pub code: String,
    /// English name (required, at most 255 characters).
    pub name_en: String,
    /// Chinese name (at most 255 characters).
    pub name_zh: Option<String>,
    /// Category.
    pub category: SkillCategory,
    /// Client extensions: a JSON object of at most 16 KB.
    pub metadata: Option<Json<serde_json::Value>>,
}

/// Changes to a skill: omitted fields keep their value, null clears.
#[derive(InputObject)]
pub struct UpdateSkillInput {
    /// The skill (global id or sourcedId).
    pub id: ID,
    /// The version last read; another current version is `VERSION_CONFLICT` and nothing
    /// changes. Without it the write applies to the current version.
    pub expected_version: Option<i32>,
    /// Skill code (may not be null).
    pub code: MaybeUndefined<String>,
    /// English name (may not be null).
    pub name_en: MaybeUndefined<String>,
    /// Chinese name.
    pub name_zh: MaybeUndefined<String>,
    /// Category (may not be null).
    pub category: MaybeUndefined<SkillCategory>,
    /// Client extensions (replaces the object).
    pub metadata: MaybeUndefined<Json<serde_json::Value>>,
}

delete_input!(
    /// The skill to delete.
    DeleteSkillInput, "skill"
);
payload!(
    /// The result of `createSkill`.
    CreateSkillPayload { skill: Skill }
);
payload!(
    /// The result of `updateSkill`.
    UpdateSkillPayload { skill: Skill }
);
payload!(
    /// The result of `deleteSkill`.
    DeleteSkillPayload { skill: Skill }
);

// ---------------------------------------------------------------- skill maps

/// A new skill map: version 1, a draft.
#[derive(InputObject)]
pub struct CreateSkillMapInput {
    /// The sourcedId to give it; a UUID is minted when omitted.
    pub sourced_id: Option<String>,
    /// Map code (required, at most 64 characters), shared by all versions; `DUPLICATE` when an
    /// active map already has it (use `createSkillMapVersion`).
    pub code: String,
    /// Sector.
    pub sector: SkillMapSector,
    /// Client extensions: a JSON object of at most 16 KB.
    pub metadata: Option<Json<serde_json::Value>>,
}

/// The next version of a skill map.
#[derive(InputObject)]
pub struct CreateSkillMapVersionInput {
    /// Any version of the map (global id or sourcedId); the new version copies the latest one.
    pub skill_map: ID,
    /// The sourcedId to give the new version; a UUID is minted when omitted.
    pub sourced_id: Option<String>,
}

/// Changes to a skill map.
#[derive(InputObject)]
pub struct UpdateSkillMapInput {
    /// The skill map version (global id or sourcedId).
    pub id: ID,
    /// The version last read; another current version is `VERSION_CONFLICT` and nothing
    /// changes. Without it the write applies to the current version.
    pub expected_version: Option<i32>,
    /// Sector; only while the map is a draft or in review.
    pub sector: Option<SkillMapSector>,
    /// Client extensions (replaces the object), in any state.
    pub metadata: MaybeUndefined<Json<serde_json::Value>>,
}

delete_input!(
    /// The draft skill map to delete.
    DeleteSkillMapInput, "skill map version"
);

transition_input!(
    /// Submits a draft skill map for approval.
    SubmitSkillMapInput,
    "skill map version"
);
transition_input!(
    /// Returns a skill map in review to draft.
    ReturnSkillMapToDraftInput,
    "skill map version"
);
transition_input!(
    /// Approves a skill map in review.
    ApproveSkillMapInput,
    "skill map version"
);

payload!(
    /// The result of `createSkillMap`.
    CreateSkillMapPayload { skill_map: SkillMap }
);
payload!(
    /// The result of `createSkillMapVersion`.
    CreateSkillMapVersionPayload { skill_map: SkillMap }
);
payload!(
    /// The result of `updateSkillMap`.
    UpdateSkillMapPayload { skill_map: SkillMap }
);
payload!(
    /// The result of `deleteSkillMap`.
    DeleteSkillMapPayload { skill_map: SkillMap }
);
payload!(
    /// The result of `submitSkillMap`.
    SubmitSkillMapPayload { skill_map: SkillMap }
);
payload!(
    /// The result of `returnSkillMapToDraft`.
    ReturnSkillMapToDraftPayload { skill_map: SkillMap }
);
payload!(
    /// The result of `approveSkillMap`.
    ApproveSkillMapPayload { skill_map: SkillMap }
);

// ---------------------------------------------------------------- future jobs

/// A new future job of a draft (or in-review) skill map.
#[derive(InputObject)]
pub struct CreateFutureJobInput {
    /// The skill map version (global id or sourcedId); not approved or superseded.
    pub skill_map: ID,
    /// Job code (required, at most 64 characters), unique within the map.
    pub code: String,
    /// Title (required, at most 255 characters).
    pub title: String,
    /// Summary (at most 2,000 characters).
    pub summary: Option<String>,
    /// The sourcedId to give it; a UUID is minted when omitted.
    pub sourced_id: Option<String>,
    /// Client extensions: a JSON object of at most 16 KB.
    pub metadata: Option<Json<serde_json::Value>>,
}

/// Changes to a future job: omitted fields keep their value, null clears.
#[derive(InputObject)]
pub struct UpdateFutureJobInput {
    /// The job (global id or sourcedId).
    pub id: ID,
    /// The version last read; another current version is `VERSION_CONFLICT` and nothing
    /// changes. Without it the write applies to the current version.
    pub expected_version: Option<i32>,
    /// Job code (may not be null).
    pub code: MaybeUndefined<String>,
    /// Title (may not be null).
    pub title: MaybeUndefined<String>,
    /// Summary.
    pub summary: MaybeUndefined<String>,
    /// Client extensions (replaces the object).
    pub metadata: MaybeUndefined<Json<serde_json::Value>>,
}

delete_input!(
    /// The future job to delete, with its duties and requirements.
    DeleteFutureJobInput, "future job"
);
payload!(
    /// The result of `createFutureJob`.
    CreateFutureJobPayload { future_job: FutureJob }
);
payload!(
    /// The result of `updateFutureJob`.
    UpdateFutureJobPayload { future_job: FutureJob }
);
payload!(
    /// The result of `deleteFutureJob`.
    DeleteFutureJobPayload { future_job: FutureJob }
);

/// A new duty of a future job.
#[derive(InputObject)]
pub struct CreateJobDutyInput {
    /// The job (global id or sourcedId).
    pub future_job: ID,
    /// Position (1 or more), unique within the job.
    pub seq: i32,
    /// Function area (required, at most 255 characters).
    pub function_area: String,
    /// The duty (required, at most 2,000 characters).
    pub duty_text: String,
    /// True for a placeholder awaiting the published duties table.
    #[graphql(default)]
    pub is_placeholder: bool,
    /// The sourcedId to give it; a UUID is minted when omitted.
    pub sourced_id: Option<String>,
    /// Client extensions: a JSON object of at most 16 KB.
    pub metadata: Option<Json<serde_json::Value>>,
}

/// Changes to a job duty: omitted fields keep their value, null clears.
#[derive(InputObject)]
pub struct UpdateJobDutyInput {
    /// The duty (global id or sourcedId).
    pub id: ID,
    /// The version last read; another current version is `VERSION_CONFLICT` and nothing
    /// changes. Without it the write applies to the current version.
    pub expected_version: Option<i32>,
    /// Position (may not be null).
    pub seq: MaybeUndefined<i32>,
    /// Function area (may not be null).
    pub function_area: MaybeUndefined<String>,
    /// The duty (may not be null).
    pub duty_text: MaybeUndefined<String>,
    /// Placeholder flag (may not be null).
    pub is_placeholder: MaybeUndefined<bool>,
    /// Client extensions (replaces the object).
    pub metadata: MaybeUndefined<Json<serde_json::Value>>,
}

delete_input!(
    /// The job duty to delete.
    DeleteJobDutyInput, "job duty"
);
payload!(
    /// The result of `createJobDuty`.
    CreateJobDutyPayload { job_duty: JobDuty }
);
payload!(
    /// The result of `updateJobDuty`.
    UpdateJobDutyPayload { job_duty: JobDuty }
);
payload!(
    /// The result of `deleteJobDuty`.
    DeleteJobDutyPayload { job_duty: JobDuty }
);

/// A new skill requirement of a future job.
#[derive(InputObject)]
pub struct CreateJobSkillRequirementInput {
    /// The job (global id or sourcedId).
    pub future_job: ID,
    /// The skill (global id or sourcedId), active; at most once per job.
    pub skill: ID,
    /// Proficiency required, 1 to 4.
    pub proficiency: i32,
    /// Core or supporting.
    pub importance: RequirementImportance,
    /// The sourcedId to give it; a UUID is minted when omitted.
    pub sourced_id: Option<String>,
    /// Client extensions: a JSON object of at most 16 KB.
    pub metadata: Option<Json<serde_json::Value>>,
}

/// Changes to a job skill requirement: omitted fields keep their value, null clears.
#[derive(InputObject)]
pub struct UpdateJobSkillRequirementInput {
    /// The requirement (global id or sourcedId).
    pub id: ID,
    /// The version last read; another current version is `VERSION_CONFLICT` and nothing
    /// changes. Without it the write applies to the current version.
    pub expected_version: Option<i32>,
    /// The skill (may not be null).
    pub skill: MaybeUndefined<ID>,
    /// Proficiency, 1 to 4 (may not be null).
    pub proficiency: MaybeUndefined<i32>,
    /// Importance (may not be null).
    pub importance: MaybeUndefined<RequirementImportance>,
    /// Client extensions (replaces the object).
    pub metadata: MaybeUndefined<Json<serde_json::Value>>,
}

delete_input!(
    /// The job skill requirement to delete.
    DeleteJobSkillRequirementInput, "requirement"
);
payload!(
    /// The result of `createJobSkillRequirement`.
    CreateJobSkillRequirementPayload { job_skill_requirement: JobSkillRequirement }
);
payload!(
    /// The result of `updateJobSkillRequirement`.
    UpdateJobSkillRequirementPayload { job_skill_requirement: JobSkillRequirement }
);
payload!(
    /// The result of `deleteJobSkillRequirement`.
    DeleteJobSkillRequirementPayload { job_skill_requirement: JobSkillRequirement }
);

// ---------------------------------------------------------------- evidence

/// New skill evidence of a student (never shared with partners to begin with).
#[derive(InputObject)]
pub struct CreateSkillEvidenceInput {
    /// The student (global id or sourcedId), within the writer's scope and holding a student
    /// role.
    pub student: ID,
    /// The skill (global id or sourcedId), active.
    pub skill: ID,
    /// Level reached, 1 to 4.
    pub level: i32,
    /// Kind of evidence.
    pub evidence_kind: EvidenceKind,
    /// When it was assessed.
    pub assessed_at: DateTime<Utc>,
    /// The sourcedId to give it; a UUID is minted when omitted.
    pub sourced_id: Option<String>,
    /// Client extensions: a JSON object of at most 16 KB.
    pub metadata: Option<Json<serde_json::Value>>,
}

/// Changes to skill evidence: omitted fields keep their value.
#[derive(InputObject)]
pub struct UpdateSkillEvidenceInput {
    /// The evidence (global id or sourcedId).
    pub id: ID,
    /// The version last read; another current version is `VERSION_CONFLICT` and nothing
    /// changes. Without it the write applies to the current version.
    pub expected_version: Option<i32>,
    /// Level, 1 to 4.
    pub level: Option<i32>,
    /// Kind of evidence.
    pub evidence_kind: Option<EvidenceKind>,
    /// When it was assessed.
    pub assessed_at: Option<DateTime<Utc>>,
    /// Client extensions (replaces the object; null clears).
    pub metadata: MaybeUndefined<Json<serde_json::Value>>,
}

delete_input!(
    /// The skill evidence to delete.
    DeleteSkillEvidenceInput, "evidence"
);

/// Shares evidence with partners, or stops sharing it.
#[derive(InputObject)]
pub struct SetSkillEvidenceSharingInput {
    /// The evidence (global id or sourcedId).
    pub id: ID,
    /// Whether partners and mentors who may name the student may read it.
    pub shared_with_partners: bool,
    /// The version last read; another current version is `VERSION_CONFLICT` and nothing
    /// changes. Without it the write applies to the current version.
    pub expected_version: Option<i32>,
}

payload!(
    /// The result of `createSkillEvidence`.
    CreateSkillEvidencePayload { skill_evidence: SkillEvidence }
);
payload!(
    /// The result of `updateSkillEvidence`.
    UpdateSkillEvidencePayload { skill_evidence: SkillEvidence }
);
payload!(
    /// The result of `deleteSkillEvidence`.
    DeleteSkillEvidencePayload { skill_evidence: SkillEvidence }
);
payload!(
    /// The result of `setSkillEvidenceSharing`.
    SetSkillEvidenceSharingPayload { skill_evidence: SkillEvidence }
);

// ---------------------------------------------------------------- resolvers

/// The mutations of DOMAIN.md area D.
#[derive(MergedObject, Default)]
pub struct SkillsMutation(
    SkillCatalogueMutation,
    SkillMapMutation,
    SkillEvidenceMutation,
);

#[derive(Default)]
pub struct SkillCatalogueMutation;

#[Object]
impl SkillCatalogueMutation {
    /// Creates a skill. Who: the curriculum staff (programmeAdmin, programmeStaff, an
    /// academicLead; clients with `curriculum.write`); anyone else is `FORBIDDEN`. User errors:
    /// `BAD_USER_INPUT`, `DUPLICATE` (code or sourcedId in use).
    async fn create_skill(
        &self,
        ctx: &Context<'_>,
        input: CreateSkillInput,
    ) -> Result<CreateSkillPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let fields = SkillFields {
            code: MaybeUndefined::Value(input.code),
            name_en: MaybeUndefined::Value(input.name_en),
            name_zh: given(input.name_zh),
            category: MaybeUndefined::Value(input.category.db()),
            metadata: given(input.metadata.map(|j| j.0)),
        };
        let result = catalogue::create::<skill::Model>(
            db(ctx).extend()?,
            viewer,
            input.sourced_id.as_deref(),
            fields,
        )
        .await;
        finish(result, |skill, user_errors| CreateSkillPayload {
            skill,
            user_errors,
        })
    }

    /// Updates a skill. Who: as `createSkill`. User errors as there, plus `VERSION_CONFLICT`
    /// and `INVALID_TRANSITION` (deleted). Unknown: `NOT_FOUND`.
    async fn update_skill(
        &self,
        ctx: &Context<'_>,
        input: UpdateSkillInput,
    ) -> Result<UpdateSkillPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let db = db(ctx).extend()?;
        let result = async {
            let sid = sid(SKILL, &input.id)?;
            let fields = SkillFields {
                code: input.code,
                name_en: input.name_en,
                name_zh: input.name_zh,
                category: input.category.map_value(DbEnum::db),
                metadata: json(input.metadata),
            };
            catalogue::update::<skill::Model>(db, viewer, &sid, input.expected_version, fields)
                .await
        }
        .await;
        finish(result, |skill, user_errors| UpdateSkillPayload {
            skill,
            user_errors,
        })
    }

    /// Deletes a skill (a tombstone). Refused (`INVALID_TRANSITION`) while active job skill
    /// requirements, unit skills or skill evidence use it. Who: as `createSkill`.
    async fn delete_skill(
        &self,
        ctx: &Context<'_>,
        input: DeleteSkillInput,
    ) -> Result<DeleteSkillPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let db = db(ctx).extend()?;
        let result = async {
            let sid = sid(SKILL, &input.id)?;
            catalogue::delete::<skill::Model>(db, viewer, &sid, input.expected_version).await
        }
        .await;
        finish(result, |skill, user_errors| DeleteSkillPayload {
            skill,
            user_errors,
        })
    }
}

#[derive(Default)]
pub struct SkillMapMutation;

async fn transition(
    ctx: &Context<'_>,
    action: Action,
    id: &ID,
    expected_version: Option<i32>,
    reason: Option<&str>,
) -> Result<AppResult<skill_map::Model>> {
    let viewer = viewer(ctx).extend()?;
    service::authorize(viewer).extend()?;
    let db = db(ctx).extend()?;
    Ok(maps::transition(db, viewer, action, id.as_str(), expected_version, reason).await)
}

#[Object]
impl SkillMapMutation {
    /// Creates version 1 of a skill map, a draft (StatusHistory `null → DRAFT`). Who: the
    /// curriculum staff. User errors: `BAD_USER_INPUT`, `DUPLICATE` (an active map has the
    /// code, or the sourcedId is in use).
    async fn create_skill_map(
        &self,
        ctx: &Context<'_>,
        input: CreateSkillMapInput,
    ) -> Result<CreateSkillMapPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let new = NewSkillMap {
            sourced_id: input.sourced_id.as_deref(),
            code: &input.code,
            sector: input.sector.db(),
            metadata: input.metadata.map(|j| j.0),
        };
        let result = maps::create(db(ctx).extend()?, viewer, new).await;
        finish(result, |skill_map, user_errors| CreateSkillMapPayload {
            skill_map,
            user_errors,
        })
    }

    /// Creates the next version of a skill map: a draft copy of its latest version, with
    /// copies of that version's future jobs, duties and requirements. `INVALID_TRANSITION`
    /// while a version of the map is a draft or in review. Who: the curriculum staff.
    async fn create_skill_map_version(
        &self,
        ctx: &Context<'_>,
        input: CreateSkillMapVersionInput,
    ) -> Result<CreateSkillMapVersionPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let result = maps::create_version(
            db(ctx).extend()?,
            viewer,
            input.skill_map.as_str(),
            input.sourced_id.as_deref(),
        )
        .await;
        finish(result, |skill_map, user_errors| {
            CreateSkillMapVersionPayload {
                skill_map,
                user_errors,
            }
        })
    }

    /// Updates a skill map: its sector while it is a draft or in review
    /// (`INVALID_TRANSITION` otherwise), its metadata in any state. Who: the curriculum staff.
    async fn update_skill_map(
        &self,
        ctx: &Context<'_>,
        input: UpdateSkillMapInput,
    ) -> Result<UpdateSkillMapPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let result = maps::update(
            db(ctx).extend()?,
            viewer,
            input.id.as_str(),
            input.expected_version,
            input.sector.map(DbEnum::db),
            json_patch(input.metadata),
        )
        .await;
        finish(result, |skill_map, user_errors| UpdateSkillMapPayload {
            skill_map,
            user_errors,
        })
    }

    /// Deletes a draft skill map with its jobs, duties and requirements (tombstones).
    /// `INVALID_TRANSITION` for a map that is not a draft. Who: the curriculum staff.
    async fn delete_skill_map(
        &self,
        ctx: &Context<'_>,
        input: DeleteSkillMapInput,
    ) -> Result<DeleteSkillMapPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let result = maps::delete(
            db(ctx).extend()?,
            viewer,
            input.id.as_str(),
            input.expected_version,
        )
        .await;
        finish(result, |skill_map, user_errors| DeleteSkillMapPayload {
            skill_map,
            user_errors,
        })
    }

    /// `DRAFT → IN_REVIEW`. Who: the curriculum staff. `INVALID_TRANSITION` from another state.
    async fn submit_skill_map(
        &self,
        ctx: &Context<'_>,
        input: SubmitSkillMapInput,
    ) -> Result<SubmitSkillMapPayload> {
        let result = transition(
            ctx,
            Action::Submit,
            &input.id,
            input.expected_version,
            input.reason.as_deref(),
        )
        .await?;
        finish(result, |skill_map, user_errors| SubmitSkillMapPayload {
            skill_map,
            user_errors,
        })
    }

    /// `IN_REVIEW → DRAFT`. Who: the curriculum staff.
    async fn return_skill_map_to_draft(
        &self,
        ctx: &Context<'_>,
        input: ReturnSkillMapToDraftInput,
    ) -> Result<ReturnSkillMapToDraftPayload> {
        let result = transition(
            ctx,
            Action::ReturnToDraft,
            &input.id,
            input.expected_version,
            input.reason.as_deref(),
        )
        .await?;
        finish(result, |skill_map, user_errors| {
            ReturnSkillMapToDraftPayload {
                skill_map,
                user_errors,
            }
        })
    }

    /// `IN_REVIEW → APPROVED`: sets `approvedAt` and `nextReviewDue` (a year on), and moves
    /// the previously approved version of the map to `SUPERSEDED`. Who: an academicLead or
    /// programmeAdmin (a person; programmeStaff and clients are `FORBIDDEN`).
    async fn approve_skill_map(
        &self,
        ctx: &Context<'_>,
        input: ApproveSkillMapInput,
    ) -> Result<ApproveSkillMapPayload> {
        let result = transition(
            ctx,
            Action::Approve,
            &input.id,
            input.expected_version,
            input.reason.as_deref(),
        )
        .await?;
        finish(result, |skill_map, user_errors| ApproveSkillMapPayload {
            skill_map,
            user_errors,
        })
    }

    /// Creates a future job of a draft or in-review map (`INVALID_TRANSITION` for an approved
    /// or superseded map: approved skill maps are frozen). User errors: `BAD_USER_INPUT`,
    /// `DUPLICATE` (code within the map). Who: the curriculum staff.
    async fn create_future_job(
        &self,
        ctx: &Context<'_>,
        input: CreateFutureJobInput,
    ) -> Result<CreateFutureJobPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let fields = JobFields {
            skill_map: MaybeUndefined::Value(input.skill_map.0),
            code: MaybeUndefined::Value(input.code),
            title: MaybeUndefined::Value(input.title),
            summary: given(input.summary),
            metadata: given(input.metadata.map(|j| j.0)),
        };
        let result = catalogue::create::<future_job::Model>(
            db(ctx).extend()?,
            viewer,
            input.sourced_id.as_deref(),
            fields,
        )
        .await;
        finish(result, |future_job, user_errors| CreateFutureJobPayload {
            future_job,
            user_errors,
        })
    }

    /// Updates a future job of a draft or in-review map. Who: the curriculum staff.
    async fn update_future_job(
        &self,
        ctx: &Context<'_>,
        input: UpdateFutureJobInput,
    ) -> Result<UpdateFutureJobPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let db = db(ctx).extend()?;
        let result = async {
            let sid = sid(FUTURE_JOB, &input.id)?;
            let fields = JobFields {
                skill_map: MaybeUndefined::Undefined,
                code: input.code,
                title: input.title,
                summary: input.summary,
                metadata: json(input.metadata),
            };
            catalogue::update::<future_job::Model>(db, viewer, &sid, input.expected_version, fields)
                .await
        }
        .await;
        finish(result, |future_job, user_errors| UpdateFutureJobPayload {
            future_job,
            user_errors,
        })
    }

    /// Deletes a future job of a draft or in-review map, with its duties and requirements
    /// (tombstones). Who: the curriculum staff.
    async fn delete_future_job(
        &self,
        ctx: &Context<'_>,
        input: DeleteFutureJobInput,
    ) -> Result<DeleteFutureJobPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let db = db(ctx).extend()?;
        let result = async {
            let sid = sid(FUTURE_JOB, &input.id)?;
            jobs::delete_job(db, viewer, &sid, input.expected_version).await
        }
        .await;
        finish(result, |future_job, user_errors| DeleteFutureJobPayload {
            future_job,
            user_errors,
        })
    }

    /// Creates a duty of a future job of a draft or in-review map. User errors:
    /// `BAD_USER_INPUT`, `DUPLICATE` (seq within the job), `INVALID_TRANSITION` (frozen map).
    async fn create_job_duty(
        &self,
        ctx: &Context<'_>,
        input: CreateJobDutyInput,
    ) -> Result<CreateJobDutyPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let fields = DutyFields {
            future_job: MaybeUndefined::Value(input.future_job.0),
            seq: MaybeUndefined::Value(input.seq),
            function_area: MaybeUndefined::Value(input.function_area),
            duty_text: MaybeUndefined::Value(input.duty_text),
            is_placeholder: MaybeUndefined::Value(input.is_placeholder),
            metadata: given(input.metadata.map(|j| j.0)),
        };
        let result = catalogue::create::<job_duty::Model>(
            db(ctx).extend()?,
            viewer,
            input.sourced_id.as_deref(),
            fields,
        )
        .await;
        finish(result, |job_duty, user_errors| CreateJobDutyPayload {
            job_duty,
            user_errors,
        })
    }

    /// Updates a job duty of a draft or in-review map.
    async fn update_job_duty(
        &self,
        ctx: &Context<'_>,
        input: UpdateJobDutyInput,
    ) -> Result<UpdateJobDutyPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let db = db(ctx).extend()?;
        let result = async {
            let sid = sid(JOB_DUTY, &input.id)?;
            let fields = DutyFields {
                future_job: MaybeUndefined::Undefined,
                seq: input.seq,
                function_area: input.function_area,
                duty_text: input.duty_text,
                is_placeholder: input.is_placeholder,
                metadata: json(input.metadata),
            };
            catalogue::update::<job_duty::Model>(db, viewer, &sid, input.expected_version, fields)
                .await
        }
        .await;
        finish(result, |job_duty, user_errors| UpdateJobDutyPayload {
            job_duty,
            user_errors,
        })
    }

    /// Deletes a job duty of a draft or in-review map (a tombstone).
    async fn delete_job_duty(
        &self,
        ctx: &Context<'_>,
        input: DeleteJobDutyInput,
    ) -> Result<DeleteJobDutyPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let db = db(ctx).extend()?;
        let result = async {
            let sid = sid(JOB_DUTY, &input.id)?;
            catalogue::delete::<job_duty::Model>(db, viewer, &sid, input.expected_version).await
        }
        .await;
        finish(result, |job_duty, user_errors| DeleteJobDutyPayload {
            job_duty,
            user_errors,
        })
    }

    /// Creates a skill requirement of a future job of a draft or in-review map. User errors:
    /// `BAD_USER_INPUT` (proficiency 1–4, an active skill), `DUPLICATE` (the skill already
    /// required by the job), `INVALID_TRANSITION` (frozen map).
    async fn create_job_skill_requirement(
        &self,
        ctx: &Context<'_>,
        input: CreateJobSkillRequirementInput,
    ) -> Result<CreateJobSkillRequirementPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let fields = RequirementFields {
            future_job: MaybeUndefined::Value(input.future_job.0),
            skill: MaybeUndefined::Value(input.skill.0),
            proficiency: MaybeUndefined::Value(input.proficiency),
            importance: MaybeUndefined::Value(input.importance.db()),
            metadata: given(input.metadata.map(|j| j.0)),
        };
        let result = catalogue::create::<job_skill_requirement::Model>(
            db(ctx).extend()?,
            viewer,
            input.sourced_id.as_deref(),
            fields,
        )
        .await;
        finish(result, |job_skill_requirement, user_errors| {
            CreateJobSkillRequirementPayload {
                job_skill_requirement,
                user_errors,
            }
        })
    }

    /// Updates a job skill requirement of a draft or in-review map.
    async fn update_job_skill_requirement(
        &self,
        ctx: &Context<'_>,
        input: UpdateJobSkillRequirementInput,
    ) -> Result<UpdateJobSkillRequirementPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let db = db(ctx).extend()?;
        let result = async {
            let sid = sid(REQUIREMENT, &input.id)?;
            let fields = RequirementFields {
                future_job: MaybeUndefined::Undefined,
                skill: id_text(input.skill),
                proficiency: input.proficiency,
                importance: input.importance.map_value(DbEnum::db),
                metadata: json(input.metadata),
            };
            catalogue::update::<job_skill_requirement::Model>(
                db,
                viewer,
                &sid,
                input.expected_version,
                fields,
            )
            .await
        }
        .await;
        finish(result, |job_skill_requirement, user_errors| {
            UpdateJobSkillRequirementPayload {
                job_skill_requirement,
                user_errors,
            }
        })
    }

    /// Deletes a job skill requirement of a draft or in-review map (a tombstone).
    async fn delete_job_skill_requirement(
        &self,
        ctx: &Context<'_>,
        input: DeleteJobSkillRequirementInput,
    ) -> Result<DeleteJobSkillRequirementPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let db = db(ctx).extend()?;
        let result = async {
            let sid = sid(REQUIREMENT, &input.id)?;
            catalogue::delete::<job_skill_requirement::Model>(
                db,
                viewer,
                &sid,
                input.expected_version,
            )
            .await
        }
        .await;
        finish(result, |job_skill_requirement, user_errors| {
            DeleteJobSkillRequirementPayload {
                job_skill_requirement,
                user_errors,
            }
        })
    }
}

#[derive(Default)]
pub struct SkillEvidenceMutation;

#[Object]
impl SkillEvidenceMutation {
    /// Records a student's skill evidence, not shared with partners. Who: programmeStaff,
    /// programmeAdmin, or a schoolCoordinator or teacher for a student in their school scope (a
    /// school's client needs `results.write`); anyone else is `FORBIDDEN`. A student the
    /// writer cannot see is `NOT_FOUND`. User errors: `BAD_USER_INPUT` (level 1–4, not a
    /// student, inactive skill), `DUPLICATE` (sourcedId).
    async fn create_skill_evidence(
        &self,
        ctx: &Context<'_>,
        input: CreateSkillEvidenceInput,
    ) -> Result<CreateSkillEvidencePayload> {
        let viewer = viewer(ctx).extend()?;
        evidence::authorize(viewer).extend()?;
        let new = NewEvidence {
            sourced_id: input.sourced_id.as_deref(),
            student: input.student.as_str(),
            skill: input.skill.as_str(),
            level: input.level,
            evidence_kind: input.evidence_kind.db(),
            assessed_at: input.assessed_at,
            metadata: input.metadata.map(|j| j.0),
        };
        let result = evidence::create(db(ctx).extend()?, viewer, new).await;
        finish(result, |skill_evidence, user_errors| {
            CreateSkillEvidencePayload {
                skill_evidence,
                user_errors,
            }
        })
    }

    /// Updates skill evidence (level, kind, assessment time, metadata). Who: as
    /// `createSkillEvidence`; evidence outside the caller's scope is `NOT_FOUND`.
    async fn update_skill_evidence(
        &self,
        ctx: &Context<'_>,
        input: UpdateSkillEvidenceInput,
    ) -> Result<UpdateSkillEvidencePayload> {
        let viewer = viewer(ctx).extend()?;
        evidence::authorize(viewer).extend()?;
        let changes = EvidenceChanges {
            level: input.level,
            evidence_kind: input.evidence_kind.map(DbEnum::db),
            assessed_at: input.assessed_at,
            metadata: json_patch(input.metadata),
        };
        let result = evidence::update(
            db(ctx).extend()?,
            viewer,
            input.id.as_str(),
            input.expected_version,
            changes,
        )
        .await;
        finish(result, |skill_evidence, user_errors| {
            UpdateSkillEvidencePayload {
                skill_evidence,
                user_errors,
            }
        })
    }

    /// Deletes skill evidence (a tombstone). Who: as `createSkillEvidence`.
    async fn delete_skill_evidence(
        &self,
        ctx: &Context<'_>,
        input: DeleteSkillEvidenceInput,
    ) -> Result<DeleteSkillEvidencePayload> {
        let viewer = viewer(ctx).extend()?;
        evidence::authorize(viewer).extend()?;
        let result = evidence::delete(
            db(ctx).extend()?,
            viewer,
            input.id.as_str(),
            input.expected_version,
        )
        .await;
        finish(result, |skill_evidence, user_errors| {
            DeleteSkillEvidencePayload {
                skill_evidence,
                user_errors,
            }
        })
    }

    /// Shares skill evidence with partners (or stops). Who: the student, a guardian with
    /// parental responsibility for them, or programmeAdmin; everyone else (a school too) is
    /// `FORBIDDEN`. Evidence the caller cannot read is `NOT_FOUND`.
    async fn set_skill_evidence_sharing(
        &self,
        ctx: &Context<'_>,
        input: SetSkillEvidenceSharingInput,
    ) -> Result<SetSkillEvidenceSharingPayload> {
        let viewer = viewer(ctx).extend()?;
        let result = evidence::set_sharing(
            db(ctx).extend()?,
            viewer,
            input.id.as_str(),
            input.expected_version,
            input.shared_with_partners,
        )
        .await;
        finish(result, |skill_evidence, user_errors| {
            SetSkillEvidenceSharingPayload {
                skill_evidence,
                user_errors,
            }
        })
    }
}

/// `skillMapsDueForReview`.
#[derive(Default)]
pub struct SkillMapReviewQuery;

#[Object]
impl SkillMapReviewQuery {
    /// Approved skill maps whose annual review is due on or before `on` (default: today in
    /// Hong Kong). Readable by anyone who may read approved maps.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn skill_maps_due_for_review(
        &self,
        ctx: &Context<'_>,
        on: Option<Date>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<SkillMapFilter>,
        order_by: Option<Vec<SkillMapOrder>>,
    ) -> Result<Conn<SkillMap>> {
        let on = on.map_or_else(access::today, |d| d.0);
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since: None,
            include_deleted: false,
        };
        let due = Condition::all()
            .add(skill_map::Column::State.eq(service::APPROVED))
            .add(skill_map::Column::NextReviewDue.lte(on));
        list::<skill_map::Entity, _, _, _>(ctx, None, args, filter, order_by, due)
            .await
            .extend()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_input_becomes_a_patch() {
        assert_eq!(json_patch(MaybeUndefined::Undefined), Patch::Unchanged);
        assert_eq!(json_patch(MaybeUndefined::Null), Patch::Clear);
    }
}
