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
use entity::{
    STATUS_ACTIVE, cohort, course, org, pathway, pathway_enrollment, pathway_stage, stage_course,
};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel, QueryFilter,
};

use super::{
    MAX_CODE_CHARS, extensible, in_range, in_use, patch, patch_metadata, patch_required,
    string_list, text,
};
use crate::access::{self, Reach};
use crate::auth::{Principal, Viewer};
use crate::changes;
use crate::error::{AppError, AppResult};
use crate::service::write::{self, Actor, VersionedUpdate};

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

fn required<T>(value: MaybeUndefined<T>, field: &str) -> AppResult<Option<T>> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Err(AppError::bad_input(
            field,
            format!("`{field}` may not be null"),
        )),
        MaybeUndefined::Value(v) => Ok(Some(v)),
    }
}

/// What differs between the three record types: how a row is made, patched, checked and
/// written, and what keeps it from being deleted.
trait Writable: Sized + Clone + Send + Sync {
    type Entity: EntityTrait<Model = Self>;
    type Fields: Send;
    const TYPE_NAME: &'static str;
    fn blank(sourced_id: String, actor: &Actor, now: chrono::DateTime<chrono::Utc>) -> Self;
    fn id(&self) -> i64;
    fn sourced_id(&self) -> &str;
    fn status(&self) -> &str;
    fn version(&self) -> i32;
    fn apply(
        db: &impl ConnectionTrait,
        row: &mut Self,
        fields: Self::Fields,
    ) -> impl Future<Output = AppResult<()>> + Send;
    fn check(db: &impl ConnectionTrait, row: &Self) -> impl Future<Output = AppResult<()>> + Send;
    fn columns(&self) -> Vec<(<Self::Entity as EntityTrait>::Column, SimpleExpr)>;
    fn in_use(db: &impl ConnectionTrait, row: &Self) -> impl Future<Output = AppResult<()>> + Send;
    fn written(self, version: i32, actor: &Actor, now: chrono::DateTime<chrono::Utc>) -> Self;
    fn deleted(self, version: i32, actor: &Actor, now: chrono::DateTime<chrono::Utc>) -> Self;
}

/// Creates a record of `W`.
async fn create<W>(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: Option<&str>,
    fields: W::Fields,
) -> AppResult<W>
where
    W: Writable + IntoActiveModel<<W::Entity as EntityTrait>::ActiveModel>,
    <W::Entity as EntityTrait>::ActiveModel:
        ActiveModelTrait<Entity = W::Entity> + ActiveModelBehavior + Send,
{
    let actor = Actor::of(authorize(viewer)?);
    let sourced_id = write::new_sourced_id(sourced_id, "sourcedId")?;
    let now = changes::now();
    let txn = write::begin(db).await?;
    let mut row = W::blank(sourced_id, &actor, now);
    W::apply(&txn, &mut row, fields).await?;
    W::check(&txn, &row).await?;
    let taken = write::load_for_write::<W::Entity>(&txn, W::TYPE_NAME, row.sourced_id()).await;
    if taken.is_ok() {
        return Err(write::duplicate(format!(
            "a {} with sourcedId {} already exists",
            W::TYPE_NAME,
            row.sourced_id()
        )));
    }
    let mut active = row.into_active_model();
    active.not_set(primary_key::<W::Entity>()?);
    let row: W = active.insert(&txn).await?;
    write::emit(
        &txn,
        &[write::change(
            W::TYPE_NAME,
            row.id(),
            row.sourced_id(),
            changes::CREATE,
            row.version(),
        )],
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// The `id` column of an entity.
fn primary_key<E: EntityTrait>() -> AppResult<E::Column> {
    <E::Column as std::str::FromStr>::from_str("id")
        .map_err(|_| AppError::internal(anyhow::anyhow!("table without an id column")))
}

/// Updates a record of `W` at `expected_version`.
async fn update<W: Writable>(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: &str,
    expected_version: i32,
    fields: W::Fields,
) -> AppResult<W> {
    let actor = Actor::of(authorize(viewer)?);
    let now = changes::now();
    let txn = write::begin(db).await?;
    let old = write::load_for_write::<W::Entity>(&txn, W::TYPE_NAME, sourced_id).await?;
    write::check_expected_version(
        W::TYPE_NAME,
        sourced_id,
        old.version(),
        Some(expected_version),
    )?;
    if old.status() != STATUS_ACTIVE {
        return Err(super::deleted(W::TYPE_NAME, sourced_id));
    }
    let mut row = old.clone();
    W::apply(&txn, &mut row, fields).await?;
    W::check(&txn, &row).await?;
    let version = write::update_versioned::<W::Entity>(
        &txn,
        VersionedUpdate {
            type_name: W::TYPE_NAME,
            sourced_id: sourced_id.to_owned(),
            id: old.id(),
            version: expected_version,
            guard: Some(Expr::col(sea_orm::sea_query::Alias::new("status")).eq(STATUS_ACTIVE)),
            set: row.columns(),
        },
        &actor,
        now,
    )
    .await?;
    write::emit(
        &txn,
        &[write::change(
            W::TYPE_NAME,
            row.id(),
            row.sourced_id(),
            changes::UPDATE,
            version,
        )],
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(row.written(version, &actor, now))
}

/// Deletes a record of `W` (a tombstone) at `expected_version`.
async fn delete<W: Writable>(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: &str,
    expected_version: i32,
) -> AppResult<W> {
    let actor = Actor::of(authorize(viewer)?);
    let now = changes::now();
    let txn = write::begin(db).await?;
    let old = write::load_for_write::<W::Entity>(&txn, W::TYPE_NAME, sourced_id).await?;
    write::check_expected_version(
        W::TYPE_NAME,
        sourced_id,
        old.version(),
        Some(expected_version),
    )?;
    if old.status() == STATUS_ACTIVE {
        W::in_use(&txn, &old).await?;
    }
    let version = write::tombstone::<W::Entity>(
        &txn,
        W::TYPE_NAME,
        old.id(),
        sourced_id,
        expected_version,
        &actor,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(old.deleted(version, &actor, now))
}

/// Implements the common accessors of [`Writable`] for a model.
macro_rules! common {
    () => {
        fn id(&self) -> i64 {
            self.id
        }
        fn sourced_id(&self) -> &str {
            &self.sourced_id
        }
        fn status(&self) -> &str {
            &self.status
        }
        fn version(&self) -> i32 {
            self.version
        }
        fn written(self, version: i32, actor: &Actor, now: chrono::DateTime<chrono::Utc>) -> Self {
            Self {
                version,
                date_last_modified: now,
                modified_by: Some(actor.subject.clone()),
                ..self
            }
        }
        fn deleted(self, version: i32, actor: &Actor, now: chrono::DateTime<chrono::Utc>) -> Self {
            Self {
                status: entity::STATUS_TOBEDELETED.to_owned(),
                ..self.written(version, actor, now)
            }
        }
    };
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
    common!();

    fn blank(sourced_id: String, actor: &Actor, now: chrono::DateTime<chrono::Utc>) -> Self {
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

/// Creates a pathway: `BAD_USER_INPUT` on the field at fault, `DUPLICATE`.
pub async fn create_pathway(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: Option<&str>,
    fields: PathwayFields,
) -> AppResult<pathway::Model> {
    create::<pathway::Model>(db, viewer, sourced_id, fields).await
}

/// Updates a pathway (plus `VERSION_CONFLICT`, `INVALID_TRANSITION` for a tombstone).
pub async fn update_pathway(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: &str,
    expected_version: i32,
    fields: PathwayFields,
) -> AppResult<pathway::Model> {
    update::<pathway::Model>(db, viewer, sourced_id, expected_version, fields).await
}

/// Deletes a pathway (a tombstone); refused while in use.
pub async fn delete_pathway(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: &str,
    expected_version: i32,
) -> AppResult<pathway::Model> {
    delete::<pathway::Model>(db, viewer, sourced_id, expected_version).await
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
    common!();

    fn blank(sourced_id: String, actor: &Actor, now: chrono::DateTime<chrono::Utc>) -> Self {
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

/// Creates a pathway stage: `BAD_USER_INPUT` on the field at fault, `DUPLICATE`.
pub async fn create_stage(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: Option<&str>,
    fields: StageFields,
) -> AppResult<pathway_stage::Model> {
    create::<pathway_stage::Model>(db, viewer, sourced_id, fields).await
}

/// Updates a pathway stage (plus `VERSION_CONFLICT`, `INVALID_TRANSITION` for a tombstone).
pub async fn update_stage(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: &str,
    expected_version: i32,
    fields: StageFields,
) -> AppResult<pathway_stage::Model> {
    update::<pathway_stage::Model>(db, viewer, sourced_id, expected_version, fields).await
}

/// Deletes a pathway stage (a tombstone); refused while in use.
pub async fn delete_stage(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: &str,
    expected_version: i32,
) -> AppResult<pathway_stage::Model> {
    delete::<pathway_stage::Model>(db, viewer, sourced_id, expected_version).await
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
    common!();

    fn blank(sourced_id: String, actor: &Actor, now: chrono::DateTime<chrono::Utc>) -> Self {
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

/// Creates a stage course: `BAD_USER_INPUT` on the field at fault, `DUPLICATE`.
pub async fn create_stage_course(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: Option<&str>,
    fields: StageCourseFields,
) -> AppResult<stage_course::Model> {
    create::<stage_course::Model>(db, viewer, sourced_id, fields).await
}

/// Updates a stage course (plus `VERSION_CONFLICT`, `INVALID_TRANSITION` for a tombstone).
pub async fn update_stage_course(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: &str,
    expected_version: i32,
    fields: StageCourseFields,
) -> AppResult<stage_course::Model> {
    update::<stage_course::Model>(db, viewer, sourced_id, expected_version, fields).await
}

/// Deletes a stage course (a tombstone).
pub async fn delete_stage_course(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: &str,
    expected_version: i32,
) -> AppResult<stage_course::Model> {
    delete::<stage_course::Model>(db, viewer, sourced_id, expected_version).await
}
