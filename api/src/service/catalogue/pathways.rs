//! Creating, updating and deleting pathways, their stages and the courses of a stage
//! (DOMAIN.md area B).
//!
//! **Who.** programmeStaff and programmeAdmin (clients: the programme office's, with
//! `curriculum.write`). Everyone else: `FORBIDDEN`.
//!
//! **Pathway rules.** `code` (at most 64 characters) is unique (`DUPLICATE`); `title` is
//! required; `track` is `ict`, `creativeMedia` or an `ext:` extension; `owningOrg` is an active
//! organisation; `certifications` is a list of short strings. **Delete** is refused
//! (`INVALID_TRANSITION`) while active stages, cohorts or pathway enrolments use it.
//!
//! **Stage rules.** `pathway` is active; `seq` is 1–99 and unique in the pathway, `code` (at
//! most 64 characters) unique in the pathway (`DUPLICATE`); `classLevel` is required; `level`
//! is closed. **Delete** is refused while active stage courses or pathway enrolments (entry or
//! current stage) use it.
//!
//! **Stage course rules.** `stage` and `course` are active; the pair is unique (`DUPLICATE`);
//! `requirement` is closed. Deleting needs nothing else.

use async_graphql::MaybeUndefined;
use chrono::{DateTime, Utc};
use entity::{
    STATUS_ACTIVE, cohort, course, org, pathway, pathway_enrollment, pathway_stage, stage_course,
};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::{
    MAX_CODE_CHARS, Writable, extensible, in_range, in_use, patch, patch_metadata, patch_required,
    required, string_list, text,
};
use crate::access::{self, Reach};
use crate::auth::{Principal, Viewer};
use crate::error::{AppError, AppResult};
use crate::service::write::{self, Actor};

/// GraphQL type names.
pub const PATHWAY: &str = "Pathway";
pub const STAGE: &str = "PathwayStage";
pub const STAGE_COURSE: &str = "StageCourse";

/// The tracks of DOMAIN.md area B (besides `ext:` extensions).
pub const TRACKS: [&str; 2] = ["ict", "creativeMedia"];

/// The caller as a pathway writer: programme staff or admin (clients with `curriculum.write`).
pub fn authorize(viewer: &Viewer) -> AppResult<&Principal> {
    let principal = access::principal(viewer)?;
    if !matches!(Reach::of(viewer), Reach::Programme) {
        return Err(AppError::Forbidden);
    }
    write::require_write_scope(principal, "curriculum.write")?;
    Ok(principal)
}

// ---------------------------------------------------------------- pathways

/// The fields of a pathway write (omitted keeps, null clears).
#[derive(Clone, Debug, Default)]
pub struct PathwayFields {
    pub code: MaybeUndefined<String>,
    pub title: MaybeUndefined<String>,
    pub track: MaybeUndefined<String>,
    pub owning_org: MaybeUndefined<String>,
    pub launched_on: MaybeUndefined<chrono::NaiveDate>,
    pub certifications: MaybeUndefined<Vec<String>>,
    pub metadata: MaybeUndefined<serde_json::Value>,
}

impl Writable for pathway::Model {
    type Entity = pathway::Entity;
    type Fields = PathwayFields;
    const TYPE_NAME: &'static str = PATHWAY;
    type Writer = ();

    fn writer(viewer: &Viewer) -> AppResult<(&Principal, ())> {
        Ok((authorize(viewer)?, ()))
    }

    fn blank(sourced_id: String, actor: &Actor, now: DateTime<Utc>, _writer: ()) -> Self {
        pathway::Model {
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
            title: String::new(),
            track: String::new(),
            owning_org_id: 0,
            launched_on: None,
            certifications: None,
        }
    }

    async fn apply(
        db: &impl ConnectionTrait,
        row: &mut Self,
        fields: PathwayFields,
    ) -> AppResult<()> {
        patch_required(&mut row.code, text(&fields.code), "code", MAX_CODE_CHARS)?;
        patch_required(
            &mut row.title,
            text(&fields.title),
            "title",
            write::MAX_SHORT_TEXT,
        )?;
        if let Some(track) = required(fields.track, "track")? {
            row.track = extensible(&track, "track", &TRACKS)?;
        }
        if let Some(id) = required(fields.owning_org, "owningOrg")? {
            row.owning_org_id =
                write::reference::<org::Entity>(db, "Organization", "owningOrg", &id)
                    .await?
                    .id;
        }
        patch(&mut row.launched_on, fields.launched_on);
        match &fields.certifications {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => row.certifications = None,
            MaybeUndefined::Value(list) => {
                row.certifications = string_list(list, "certifications", write::MAX_SHORT_TEXT)?;
            }
        }
        patch_metadata(&mut row.metadata, fields.metadata)?;
        if row.code.is_empty() {
            return Err(AppError::bad_input("code", "`code` is required"));
        }
        if row.title.is_empty() {
            return Err(AppError::bad_input("title", "`title` is required"));
        }
        if row.track.is_empty() {
            return Err(AppError::bad_input("track", "`track` is required"));
        }
        if row.owning_org_id == 0 {
            return Err(AppError::bad_input("owningOrg", "`owningOrg` is required"));
        }
        Ok(())
    }

    async fn check(db: &impl ConnectionTrait, row: &Self) -> AppResult<()> {
        let taken = pathway::Entity::find()
            .filter(pathway::Column::Code.eq(row.code.as_str()))
            .filter(pathway::Column::Id.ne(row.id))
            .one(db)
            .await?;
        match taken {
            Some(other) => Err(write::duplicate(format!(
                "pathway {} already has code {}",
                other.sourced_id, row.code
            ))),
            None => Ok(()),
        }
    }

    fn columns(&self) -> Vec<(pathway::Column, SimpleExpr)> {
        use pathway::Column as C;
        vec![
            (C::Code, Expr::value(self.code.clone())),
            (C::Title, Expr::value(self.title.clone())),
            (C::Track, Expr::value(self.track.clone())),
            (C::OwningOrgId, Expr::value(self.owning_org_id)),
            (C::LaunchedOn, Expr::value(self.launched_on)),
            (C::Certifications, Expr::value(self.certifications.clone())),
            (C::Metadata, Expr::value(self.metadata.clone())),
        ]
    }

    async fn in_use(db: &impl ConnectionTrait, row: &Self) -> AppResult<()> {
        if in_use::<pathway_stage::Entity>(db, pathway_stage::Column::PathwayId, row.id).await? {
            return Err(super::still_used(PATHWAY, &row.sourced_id, "stages"));
        }
        if in_use::<cohort::Entity>(db, cohort::Column::PathwayId, row.id).await? {
            return Err(super::still_used(PATHWAY, &row.sourced_id, "cohorts"));
        }
        if in_use::<pathway_enrollment::Entity>(db, pathway_enrollment::Column::PathwayId, row.id)
            .await?
        {
            return Err(super::still_used(
                PATHWAY,
                &row.sourced_id,
                "pathway enrolments",
            ));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- stages

/// The fields of a stage write (omitted keeps, null clears).
#[derive(Clone, Debug, Default)]
pub struct StageFields {
    pub pathway: MaybeUndefined<String>,
    pub seq: MaybeUndefined<i32>,
    pub code: MaybeUndefined<String>,
    pub class_level: MaybeUndefined<String>,
    /// Database text.
    pub level: MaybeUndefined<&'static str>,
    pub is_entry_point: MaybeUndefined<bool>,
    pub is_exit_point: MaybeUndefined<bool>,
    pub metadata: MaybeUndefined<serde_json::Value>,
}

impl Writable for pathway_stage::Model {
    type Entity = pathway_stage::Entity;
    type Fields = StageFields;
    const TYPE_NAME: &'static str = STAGE;
    type Writer = ();

    fn writer(viewer: &Viewer) -> AppResult<(&Principal, ())> {
        Ok((authorize(viewer)?, ()))
    }

    fn blank(sourced_id: String, actor: &Actor, now: DateTime<Utc>, _writer: ()) -> Self {
        pathway_stage::Model {
            id: 0,
            sourced_id,
            status: STATUS_ACTIVE.to_owned(),
            date_created: now,
            date_last_modified: now,
            version: 1,
            metadata: None,
            created_by: Some(actor.subject.clone()),
            modified_by: Some(actor.subject.clone()),
            pathway_id: 0,
            seq: 0,
            code: String::new(),
            class_level: String::new(),
            level: String::new(),
            is_entry_point: false,
            is_exit_point: false,
        }
    }

    async fn apply(
        db: &impl ConnectionTrait,
        row: &mut Self,
        fields: StageFields,
    ) -> AppResult<()> {
        if let Some(id) = required(fields.pathway, "pathway")? {
            row.pathway_id = write::reference::<pathway::Entity>(db, PATHWAY, "pathway", &id)
                .await?
                .id;
        }
        if let Some(seq) = required(fields.seq, "seq")? {
            row.seq = seq;
        }
        patch_required(&mut row.code, text(&fields.code), "code", MAX_CODE_CHARS)?;
        patch_required(
            &mut row.class_level,
            text(&fields.class_level),
            "classLevel",
            MAX_CODE_CHARS,
        )?;
        if let Some(level) = required(fields.level, "level")? {
            level.clone_into(&mut row.level);
        }
        if let Some(entry) = required(fields.is_entry_point, "isEntryPoint")? {
            row.is_entry_point = entry;
        }
        if let Some(exit) = required(fields.is_exit_point, "isExitPoint")? {
            row.is_exit_point = exit;
        }
        patch_metadata(&mut row.metadata, fields.metadata)?;
        if row.pathway_id == 0 {
            return Err(AppError::bad_input("pathway", "`pathway` is required"));
        }
        in_range(Some(row.seq), "seq", 1..=99)?;
        if row.code.is_empty() {
            return Err(AppError::bad_input("code", "`code` is required"));
        }
        if row.class_level.is_empty() {
            return Err(AppError::bad_input(
                "classLevel",
                "`classLevel` is required",
            ));
        }
        if row.level.is_empty() {
            return Err(AppError::bad_input("level", "`level` is required"));
        }
        Ok(())
    }

    async fn check(db: &impl ConnectionTrait, row: &Self) -> AppResult<()> {
        let same = |column: pathway_stage::Column, value: sea_orm::Value| {
            pathway_stage::Entity::find()
                .filter(pathway_stage::Column::PathwayId.eq(row.pathway_id))
                .filter(column.eq(value))
                .filter(pathway_stage::Column::Id.ne(row.id))
        };
        if let Some(other) = same(pathway_stage::Column::Seq, row.seq.into())
            .one(db)
            .await?
        {
            return Err(write::duplicate(format!(
                "stage {} of this pathway already has seq {}",
                other.sourced_id, row.seq
            )));
        }
        if let Some(other) = same(pathway_stage::Column::Code, row.code.clone().into())
            .one(db)
            .await?
        {
            return Err(write::duplicate(format!(
                "stage {} of this pathway already has code {}",
                other.sourced_id, row.code
            )));
        }
        Ok(())
    }

    fn columns(&self) -> Vec<(pathway_stage::Column, SimpleExpr)> {
        use pathway_stage::Column as C;
        vec![
            (C::PathwayId, Expr::value(self.pathway_id)),
            (C::Seq, Expr::value(self.seq)),
            (C::Code, Expr::value(self.code.clone())),
            (C::ClassLevel, Expr::value(self.class_level.clone())),
            (C::Level, Expr::value(self.level.clone())),
            (C::IsEntryPoint, Expr::value(self.is_entry_point)),
            (C::IsExitPoint, Expr::value(self.is_exit_point)),
            (C::Metadata, Expr::value(self.metadata.clone())),
        ]
    }

    async fn in_use(db: &impl ConnectionTrait, row: &Self) -> AppResult<()> {
        if in_use::<stage_course::Entity>(db, stage_course::Column::StageId, row.id).await? {
            return Err(super::still_used(STAGE, &row.sourced_id, "stage courses"));
        }
        for column in [
            pathway_enrollment::Column::EntryStageId,
            pathway_enrollment::Column::CurrentStageId,
        ] {
            if in_use::<pathway_enrollment::Entity>(db, column, row.id).await? {
                return Err(super::still_used(
                    STAGE,
                    &row.sourced_id,
                    "pathway enrolments",
                ));
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- stage courses

/// The fields of a stage course write (omitted keeps).
#[derive(Clone, Debug, Default)]
pub struct StageCourseFields {
    pub stage: MaybeUndefined<String>,
    pub course: MaybeUndefined<String>,
    /// Database text.
    pub requirement: MaybeUndefined<&'static str>,
    pub metadata: MaybeUndefined<serde_json::Value>,
}

impl Writable for stage_course::Model {
    type Entity = stage_course::Entity;
    type Fields = StageCourseFields;
    const TYPE_NAME: &'static str = STAGE_COURSE;
    type Writer = ();

    fn writer(viewer: &Viewer) -> AppResult<(&Principal, ())> {
        Ok((authorize(viewer)?, ()))
    }

    fn blank(sourced_id: String, actor: &Actor, now: DateTime<Utc>, _writer: ()) -> Self {
        stage_course::Model {
            id: 0,
            sourced_id,
            status: STATUS_ACTIVE.to_owned(),
            date_created: now,
            date_last_modified: now,
            version: 1,
            metadata: None,
            created_by: Some(actor.subject.clone()),
            modified_by: Some(actor.subject.clone()),
            stage_id: 0,
            course_id: 0,
            requirement: String::new(),
        }
    }

    async fn apply(
        db: &impl ConnectionTrait,
        row: &mut Self,
        fields: StageCourseFields,
    ) -> AppResult<()> {
        if let Some(id) = required(fields.stage, "stage")? {
            row.stage_id = write::reference::<pathway_stage::Entity>(db, STAGE, "stage", &id)
                .await?
                .id;
        }
        if let Some(id) = required(fields.course, "course")? {
            row.course_id = write::reference::<course::Entity>(db, "Course", "course", &id)
                .await?
                .id;
        }
        if let Some(requirement) = required(fields.requirement, "requirement")? {
            requirement.clone_into(&mut row.requirement);
        }
        patch_metadata(&mut row.metadata, fields.metadata)?;
        if row.stage_id == 0 {
            return Err(AppError::bad_input("stage", "`stage` is required"));
        }
        if row.course_id == 0 {
            return Err(AppError::bad_input("course", "`course` is required"));
        }
        if row.requirement.is_empty() {
            return Err(AppError::bad_input(
                "requirement",
                "`requirement` is required",
            ));
        }
        Ok(())
    }

    async fn check(db: &impl ConnectionTrait, row: &Self) -> AppResult<()> {
        let taken = stage_course::Entity::find()
            .filter(stage_course::Column::StageId.eq(row.stage_id))
            .filter(stage_course::Column::CourseId.eq(row.course_id))
            .filter(stage_course::Column::Id.ne(row.id))
            .one(db)
            .await?;
        match taken {
            Some(other) => Err(write::duplicate(format!(
                "stage course {} already puts this course at this stage",
                other.sourced_id
            ))),
            None => Ok(()),
        }
    }

    fn columns(&self) -> Vec<(stage_course::Column, SimpleExpr)> {
        use stage_course::Column as C;
        vec![
            (C::StageId, Expr::value(self.stage_id)),
            (C::CourseId, Expr::value(self.course_id)),
            (C::Requirement, Expr::value(self.requirement.clone())),
            (C::Metadata, Expr::value(self.metadata.clone())),
        ]
    }

    async fn in_use(_db: &impl ConnectionTrait, _row: &Self) -> AppResult<()> {
        Ok(())
    }
}
