//! Writing pathways, pathway stages and stage courses (DOMAIN.md area B). Rules and roles are
//! in [`crate::service::catalogue::pathways`].

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object, Result};

use super::{db_text, finish, given, id_text, json};
use crate::error::ResultExt;
use crate::graphql::common::*;
use crate::graphql::connection::{db, viewer};
use crate::graphql::pathways::{CourseRequirement, Pathway, PathwayStage, StageCourse, StageLevel};
use crate::graphql::payload::record_payload as payload;
use crate::service::catalogue::pathways::{
    self as service, PathwayFields, StageCourseFields, StageFields,
};

// ---------------------------------------------------------------- pathways

/// A new pathway.
#[derive(InputObject)]
pub struct CreatePathwayInput {
    /// The sourcedId to give it; a UUID is minted when omitted.
    pub sourced_id: Option<String>,
    /// Code, unique (at most 64 characters).
    pub code: String,
    /// Title (required, at most 255 characters).
    pub title: String,
    /// Track: `ict`, `creativeMedia` or an extension `ext:[A-Za-z0-9._-]+`.
    pub track: String,
    /// The owning organisation (global id or sourcedId), active.
    pub owning_org: ID,
    /// Launch date.
    pub launched_on: Option<Date>,
    /// Certifications: at most 50 short strings.
    pub certifications: Option<Vec<String>>,
    /// Client extensions: a JSON object of at most 16 KB.
    pub metadata: Option<Json<serde_json::Value>>,
}

impl CreatePathwayInput {
    fn fields(self) -> PathwayFields {
        PathwayFields {
            code: MaybeUndefined::Value(self.code),
            title: MaybeUndefined::Value(self.title),
            track: MaybeUndefined::Value(self.track),
            owning_org: MaybeUndefined::Value(self.owning_org.0),
            launched_on: given(self.launched_on.map(|d| d.0)),
            certifications: given(self.certifications),
            metadata: given(self.metadata.map(|j| j.0)),
        }
    }
}

/// Changes to a pathway: omitted fields keep their value, null clears.
#[derive(InputObject)]
pub struct UpdatePathwayInput {
    /// The pathway (global id or sourcedId).
    pub pathway: ID,
    /// The version last read; another current version is `VERSION_CONFLICT` and nothing
    /// changes. Without it the write applies to the current version (last writer wins).
    pub expected_version: Option<i32>,
    /// Code (may not be null).
    pub code: MaybeUndefined<String>,
    /// Title (may not be null).
    pub title: MaybeUndefined<String>,
    /// Track (may not be null).
    pub track: MaybeUndefined<String>,
    /// The owning organisation (may not be null).
    pub owning_org: MaybeUndefined<ID>,
    /// Launch date.
    pub launched_on: MaybeUndefined<Date>,
    /// Certifications (replaces the list).
    pub certifications: MaybeUndefined<Vec<String>>,
    /// Client extensions (replaces the object).
    pub metadata: MaybeUndefined<Json<serde_json::Value>>,
}

impl UpdatePathwayInput {
    fn fields(self) -> PathwayFields {
        PathwayFields {
            code: self.code,
            title: self.title,
            track: self.track,
            owning_org: id_text(self.owning_org),
            launched_on: self.launched_on.map_value(|d| d.0),
            certifications: self.certifications,
            metadata: json(self.metadata),
        }
    }
}

/// The pathway to delete.
#[derive(InputObject)]
pub struct DeletePathwayInput {
    /// The pathway (global id or sourcedId).
    pub pathway: ID,
    /// The version last read; another current version is `VERSION_CONFLICT` and nothing
    /// changes. Without it the write applies to the current version (last writer wins).
    pub expected_version: Option<i32>,
}

payload!(
    /// The result of `createPathway`.
    CreatePathwayPayload { pathway: Pathway }
);
payload!(
    /// The result of `updatePathway`.
    UpdatePathwayPayload { pathway: Pathway }
);
payload!(
    /// The result of `deletePathway`.
    DeletePathwayPayload { pathway: Pathway }
);

// ---------------------------------------------------------------- stages

/// A new pathway stage.
#[derive(InputObject)]
pub struct CreatePathwayStageInput {
    /// The sourcedId to give it; a UUID is minted when omitted.
    pub sourced_id: Option<String>,
    /// The pathway (global id or sourcedId), active.
    pub pathway: ID,
    /// Position in the pathway, 1 to 99, unique in the pathway.
    pub seq: i32,
    /// Code, e.g. `S4`, unique in the pathway (at most 64 characters).
    pub code: String,
    /// Class level, e.g. `S4` or `HD1` (at most 64 characters).
    pub class_level: String,
    /// Level.
    pub level: StageLevel,
    /// Whether students may enter the pathway here.
    pub is_entry_point: bool,
    /// Whether students may leave the pathway here as a planned outcome.
    pub is_exit_point: bool,
    /// Client extensions: a JSON object of at most 16 KB.
    pub metadata: Option<Json<serde_json::Value>>,
}

impl CreatePathwayStageInput {
    fn fields(self) -> StageFields {
        StageFields {
            pathway: MaybeUndefined::Value(self.pathway.0),
            seq: MaybeUndefined::Value(self.seq),
            code: MaybeUndefined::Value(self.code),
            class_level: MaybeUndefined::Value(self.class_level),
            level: MaybeUndefined::Value(self.level.db()),
            is_entry_point: MaybeUndefined::Value(self.is_entry_point),
            is_exit_point: MaybeUndefined::Value(self.is_exit_point),
            metadata: given(self.metadata.map(|j| j.0)),
        }
    }
}

/// Changes to a pathway stage: omitted fields keep their value (none may be null but
/// `metadata`).
#[derive(InputObject)]
pub struct UpdatePathwayStageInput {
    /// The stage (global id or sourcedId).
    pub pathway_stage: ID,
    /// The version last read; another current version is `VERSION_CONFLICT` and nothing
    /// changes. Without it the write applies to the current version (last writer wins).
    pub expected_version: Option<i32>,
    /// The pathway.
    pub pathway: MaybeUndefined<ID>,
    /// Position, 1 to 99.
    pub seq: MaybeUndefined<i32>,
    /// Code.
    pub code: MaybeUndefined<String>,
    /// Class level.
    pub class_level: MaybeUndefined<String>,
    /// Level.
    pub level: MaybeUndefined<StageLevel>,
    /// Entry point.
    pub is_entry_point: MaybeUndefined<bool>,
    /// Exit point.
    pub is_exit_point: MaybeUndefined<bool>,
    /// Client extensions (replaces the object).
    pub metadata: MaybeUndefined<Json<serde_json::Value>>,
}

impl UpdatePathwayStageInput {
    fn fields(self) -> StageFields {
        StageFields {
            pathway: id_text(self.pathway),
            seq: self.seq,
            code: self.code,
            class_level: self.class_level,
            level: db_text(self.level),
            is_entry_point: self.is_entry_point,
            is_exit_point: self.is_exit_point,
            metadata: json(self.metadata),
        }
    }
}

/// The pathway stage to delete.
#[derive(InputObject)]
pub struct DeletePathwayStageInput {
    /// The stage (global id or sourcedId).
    pub pathway_stage: ID,
    /// The version last read; another current version is `VERSION_CONFLICT` and nothing
    /// changes. Without it the write applies to the current version (last writer wins).
    pub expected_version: Option<i32>,
}

payload!(
    /// The result of `createPathwayStage`.
    CreatePathwayStagePayload { pathway_stage: PathwayStage }
);
payload!(
    /// The result of `updatePathwayStage`.
    UpdatePathwayStagePayload { pathway_stage: PathwayStage }
);
payload!(
    /// The result of `deletePathwayStage`.
    DeletePathwayStagePayload { pathway_stage: PathwayStage }
);

// ---------------------------------------------------------------- stage courses

/// A new stage course: a course taught at a pathway stage.
#[derive(InputObject)]
pub struct CreateStageCourseInput {
    /// The sourcedId to give it; a UUID is minted when omitted.
    pub sourced_id: Option<String>,
    /// The stage (global id or sourcedId), active.
    pub stage: ID,
    /// The course (global id or sourcedId), active. (stage, course) is unique.
    pub course: ID,
    /// How the course counts at the stage.
    pub requirement: CourseRequirement,
    /// Client extensions: a JSON object of at most 16 KB.
    pub metadata: Option<Json<serde_json::Value>>,
}

impl CreateStageCourseInput {
    fn fields(self) -> StageCourseFields {
        StageCourseFields {
            stage: MaybeUndefined::Value(self.stage.0),
            course: MaybeUndefined::Value(self.course.0),
            requirement: MaybeUndefined::Value(self.requirement.db()),
            metadata: given(self.metadata.map(|j| j.0)),
        }
    }
}

/// Changes to a stage course: omitted fields keep their value.
#[derive(InputObject)]
pub struct UpdateStageCourseInput {
    /// The stage course (global id or sourcedId).
    pub stage_course: ID,
    /// The version last read; another current version is `VERSION_CONFLICT` and nothing
    /// changes. Without it the write applies to the current version (last writer wins).
    pub expected_version: Option<i32>,
    /// The stage.
    pub stage: MaybeUndefined<ID>,
    /// The course.
    pub course: MaybeUndefined<ID>,
    /// How the course counts at the stage.
    pub requirement: MaybeUndefined<CourseRequirement>,
    /// Client extensions (replaces the object).
    pub metadata: MaybeUndefined<Json<serde_json::Value>>,
}

impl UpdateStageCourseInput {
    fn fields(self) -> StageCourseFields {
        StageCourseFields {
            stage: id_text(self.stage),
            course: id_text(self.course),
            requirement: db_text(self.requirement),
            metadata: json(self.metadata),
        }
    }
}

/// The stage course to delete.
#[derive(InputObject)]
pub struct DeleteStageCourseInput {
    /// The stage course (global id or sourcedId).
    pub stage_course: ID,
    /// The version last read; another current version is `VERSION_CONFLICT` and nothing
    /// changes. Without it the write applies to the current version (last writer wins).
    pub expected_version: Option<i32>,
}

payload!(
    /// The result of `createStageCourse`.
    CreateStageCoursePayload { stage_course: StageCourse }
);
payload!(
    /// The result of `updateStageCourse`.
    UpdateStageCoursePayload { stage_course: StageCourse }
);
payload!(
    /// The result of `deleteStageCourse`.
    DeleteStageCoursePayload { stage_course: StageCourse }
);

#[derive(Default)]
pub struct PathwayWriteMutation;

#[Object]
impl PathwayWriteMutation {
    /// Creates a pathway. Who: programmeStaff or programmeAdmin (the programme office's client
    /// with `curriculum.write`); anyone else is `FORBIDDEN`. User errors: `BAD_USER_INPUT` (the
    /// field at fault), `DUPLICATE` (code in use).
    async fn create_pathway(
        &self,
        ctx: &Context<'_>,
        input: CreatePathwayInput,
    ) -> Result<CreatePathwayPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let sid = input.sourced_id.clone();
        let result = crate::service::catalogue::create::<entity::pathway::Model>(
            db(ctx).extend()?,
            viewer,
            sid.as_deref(),
            input.fields(),
        )
        .await;
        finish(result, |pathway, user_errors| CreatePathwayPayload {
            pathway,
            user_errors,
        })
    }

    /// Updates a pathway. Who: as `createPathway`. User errors as there, plus
    /// `VERSION_CONFLICT` and `INVALID_TRANSITION` (deleted). Unknown: `NOT_FOUND`.
    async fn update_pathway(
        &self,
        ctx: &Context<'_>,
        input: UpdatePathwayInput,
    ) -> Result<UpdatePathwayPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let db = db(ctx).extend()?;
        let result = async {
            let sid = sourced_id_of("Pathway", "pathway", input.pathway.as_str())?;
            crate::service::catalogue::update::<entity::pathway::Model>(
                db,
                viewer,
                &sid,
                input.expected_version,
                input.fields(),
            )
            .await
        }
        .await;
        finish(result, |pathway, user_errors| UpdatePathwayPayload {
            pathway,
            user_errors,
        })
    }

    /// Deletes a pathway (a tombstone). Who: as `createPathway`. User errors:
    /// `VERSION_CONFLICT`; `INVALID_TRANSITION` when already deleted or still used by active
    /// stages, cohorts or pathway enrolments.
    async fn delete_pathway(
        &self,
        ctx: &Context<'_>,
        input: DeletePathwayInput,
    ) -> Result<DeletePathwayPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let db = db(ctx).extend()?;
        let result = async {
            let sid = sourced_id_of("Pathway", "pathway", input.pathway.as_str())?;
            crate::service::catalogue::delete::<entity::pathway::Model>(
                db,
                viewer,
                &sid,
                input.expected_version,
            )
            .await
        }
        .await;
        finish(result, |pathway, user_errors| DeletePathwayPayload {
            pathway,
            user_errors,
        })
    }

    /// Creates a pathway stage. Who: as `createPathway`. User errors: `BAD_USER_INPUT` (the
    /// field at fault), `DUPLICATE` (seq or code in use in the pathway).
    async fn create_pathway_stage(
        &self,
        ctx: &Context<'_>,
        input: CreatePathwayStageInput,
    ) -> Result<CreatePathwayStagePayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let sid = input.sourced_id.clone();
        let result = crate::service::catalogue::create::<entity::pathway_stage::Model>(
            db(ctx).extend()?,
            viewer,
            sid.as_deref(),
            input.fields(),
        )
        .await;
        finish(result, |pathway_stage, user_errors| {
            CreatePathwayStagePayload {
                pathway_stage,
                user_errors,
            }
        })
    }

    /// Updates a pathway stage. Who: as `createPathway`. User errors as there, plus
    /// `VERSION_CONFLICT` and `INVALID_TRANSITION` (deleted). Unknown: `NOT_FOUND`.
    async fn update_pathway_stage(
        &self,
        ctx: &Context<'_>,
        input: UpdatePathwayStageInput,
    ) -> Result<UpdatePathwayStagePayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let db = db(ctx).extend()?;
        let result = async {
            let sid = sourced_id_of("PathwayStage", "pathwayStage", input.pathway_stage.as_str())?;
            crate::service::catalogue::update::<entity::pathway_stage::Model>(
                db,
                viewer,
                &sid,
                input.expected_version,
                input.fields(),
            )
            .await
        }
        .await;
        finish(result, |pathway_stage, user_errors| {
            UpdatePathwayStagePayload {
                pathway_stage,
                user_errors,
            }
        })
    }

    /// Deletes a pathway stage (a tombstone). Who: as `createPathway`. User errors:
    /// `VERSION_CONFLICT`; `INVALID_TRANSITION` when already deleted or still used by active
    /// stage courses or pathway enrolments.
    async fn delete_pathway_stage(
        &self,
        ctx: &Context<'_>,
        input: DeletePathwayStageInput,
    ) -> Result<DeletePathwayStagePayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let db = db(ctx).extend()?;
        let result = async {
            let sid = sourced_id_of("PathwayStage", "pathwayStage", input.pathway_stage.as_str())?;
            crate::service::catalogue::delete::<entity::pathway_stage::Model>(
                db,
                viewer,
                &sid,
                input.expected_version,
            )
            .await
        }
        .await;
        finish(result, |pathway_stage, user_errors| {
            DeletePathwayStagePayload {
                pathway_stage,
                user_errors,
            }
        })
    }

    /// Puts a course at a pathway stage. Who: as `createPathway`. User errors:
    /// `BAD_USER_INPUT` (the field at fault), `DUPLICATE` (the course is already at the stage).
    async fn create_stage_course(
        &self,
        ctx: &Context<'_>,
        input: CreateStageCourseInput,
    ) -> Result<CreateStageCoursePayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let sid = input.sourced_id.clone();
        let result = crate::service::catalogue::create::<entity::stage_course::Model>(
            db(ctx).extend()?,
            viewer,
            sid.as_deref(),
            input.fields(),
        )
        .await;
        finish(result, |stage_course, user_errors| {
            CreateStageCoursePayload {
                stage_course,
                user_errors,
            }
        })
    }

    /// Updates a stage course. Who: as `createPathway`. User errors as there, plus
    /// `VERSION_CONFLICT` and `INVALID_TRANSITION` (deleted). Unknown: `NOT_FOUND`.
    async fn update_stage_course(
        &self,
        ctx: &Context<'_>,
        input: UpdateStageCourseInput,
    ) -> Result<UpdateStageCoursePayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let db = db(ctx).extend()?;
        let result = async {
            let sid = sourced_id_of("StageCourse", "stageCourse", input.stage_course.as_str())?;
            crate::service::catalogue::update::<entity::stage_course::Model>(
                db,
                viewer,
                &sid,
                input.expected_version,
                input.fields(),
            )
            .await
        }
        .await;
        finish(result, |stage_course, user_errors| {
            UpdateStageCoursePayload {
                stage_course,
                user_errors,
            }
        })
    }

    /// Deletes a stage course (a tombstone). Who: as `createPathway`. User errors:
    /// `VERSION_CONFLICT`; `INVALID_TRANSITION` when already deleted.
    async fn delete_stage_course(
        &self,
        ctx: &Context<'_>,
        input: DeleteStageCourseInput,
    ) -> Result<DeleteStageCoursePayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let db = db(ctx).extend()?;
        let result = async {
            let sid = sourced_id_of("StageCourse", "stageCourse", input.stage_course.as_str())?;
            crate::service::catalogue::delete::<entity::stage_course::Model>(
                db,
                viewer,
                &sid,
                input.expected_version,
            )
            .await
        }
        .await;
        finish(result, |stage_course, user_errors| {
            DeleteStageCoursePayload {
                stage_course,
                user_errors,
            }
        })
    }
}
