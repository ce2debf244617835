//! Creating, updating and deleting curriculum units (DOMAIN.md area C) through the catalogue's
//! generic [`Writable`] steps.
//!
//! **Who:** programmeAdmin and programmeStaff for any unit; an academicLead for the units its
//! own academic unit owns (the acting organisation is the `owningOrg`, before and after the
//! write). Clients need `curriculum.write`. Everyone else: `FORBIDDEN`.
//! **Rules:** `course` is an active course; `owningOrg` an active organisation of type
//! `academicUnit` or `university`; `code` (at most 64 characters) is unique per course among
//! active units (`DUPLICATE`); `title` is required (at most 255 characters); `unitKind` is
//! closed. **Delete** (a tombstone) is refused (`INVALID_TRANSITION`) while the unit has a
//! working or published version.

use async_graphql::MaybeUndefined;
use chrono::{DateTime, Utc};
use entity::{STATUS_ACTIVE, course, curriculum_unit, curriculum_unit_version, org};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::{CuratorKind, PUBLISHED, UNIT, WORKING_STATES, curator};
use crate::auth::{Principal, Viewer};
use crate::error::{AppError, AppResult};
use crate::service::catalogue::{
    MAX_CODE_CHARS, Writable, patch_metadata, patch_required, required, text,
};
use crate::service::write::{self, Actor};

/// The organisation types that may own a unit.
pub const OWNING_ORG_TYPES: [&str; 2] = ["academicUnit", "university"];

/// Who writes units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitWriter {
    /// programmeAdmin or programmeStaff.
    Programme,
    /// An academicLead acting for this academic unit.
    Lead(i64),
}

fn unit_writer(viewer: &Viewer) -> AppResult<(&Principal, UnitWriter)> {
    let curator = curator(viewer)?;
    let writer = match curator.kind {
        CuratorKind::Admin | CuratorKind::Staff => UnitWriter::Programme,
        CuratorKind::AcademicLead(org) => UnitWriter::Lead(org),
        CuratorKind::Other => return Err(AppError::Forbidden),
    };
    Ok((curator.principal, writer))
}

/// The guard of a unit write, before any input is read.
pub fn authorize(viewer: &Viewer) -> AppResult<()> {
    unit_writer(viewer).map(|_| ())
}

/// The fields of a unit write (omitted keeps, null clears).
#[derive(Clone, Debug, Default)]
pub struct UnitFields {
    pub course: MaybeUndefined<String>,
    pub code: MaybeUndefined<String>,
    pub title: MaybeUndefined<String>,
    /// Database text.
    pub unit_kind: MaybeUndefined<&'static str>,
    pub owning_org: MaybeUndefined<String>,
    pub requires_external_approval: MaybeUndefined<bool>,
    pub metadata: MaybeUndefined<serde_json::Value>,
}

async fn apply_unit(
    db: &impl ConnectionTrait,
    row: &mut curriculum_unit::Model,
    fields: UnitFields,
) -> AppResult<()> {
    if let Some(id) = required(fields.course, "course")? {
        row.course_id = write::reference::<course::Entity>(db, "Course", "course", &id)
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
    if let Some(kind) = required(fields.unit_kind, "unitKind")? {
        kind.clone_into(&mut row.unit_kind);
    }
    if let Some(id) = required(fields.owning_org, "owningOrg")? {
        let found = write::reference::<org::Entity>(db, "Organization", "owningOrg", &id).await?;
        if !OWNING_ORG_TYPES.contains(&found.org_type.as_str()) {
            return Err(AppError::bad_input(
                "owningOrg",
                "`owningOrg` must be an academic unit or a university",
            ));
        }
        row.owning_org_id = found.id;
    }
    if let Some(flag) = required(
        fields.requires_external_approval,
        "requiresExternalApproval",
    )? {
        row.requires_external_approval = flag;
    }
    patch_metadata(&mut row.metadata, fields.metadata)?;
    if row.course_id == 0 {
        return Err(AppError::bad_input("course", "`course` is required"));
    }
    if row.code.is_empty() {
        return Err(AppError::bad_input("code", "`code` is required"));
    }
    if row.title.is_empty() {
        return Err(AppError::bad_input("title", "`title` is required"));
    }
    if row.unit_kind.is_empty() {
        return Err(AppError::bad_input("unitKind", "`unitKind` is required"));
    }
    if row.owning_org_id == 0 {
        return Err(AppError::bad_input("owningOrg", "`owningOrg` is required"));
    }
    Ok(())
}

impl Writable for curriculum_unit::Model {
    type Entity = curriculum_unit::Entity;
    type Fields = UnitFields;
    type Writer = UnitWriter;
    const TYPE_NAME: &'static str = UNIT;

    fn writer(viewer: &Viewer) -> AppResult<(&Principal, UnitWriter)> {
        unit_writer(viewer)
    }

    fn may_write(writer: UnitWriter, row: &Self) -> AppResult<()> {
        match writer {
            UnitWriter::Lead(own) if own != row.owning_org_id => Err(AppError::ForbiddenWith(
                "an academic lead writes only the units its own academic unit owns".into(),
            )),
            _ => Ok(()),
        }
    }

    fn blank(sourced_id: String, actor: &Actor, now: DateTime<Utc>, _writer: UnitWriter) -> Self {
        curriculum_unit::Model {
            id: 0,
            sourced_id,
            status: STATUS_ACTIVE.to_owned(),
            date_created: now,
            date_last_modified: now,
            version: 1,
            metadata: None,
            created_by: Some(actor.subject.clone()),
            modified_by: Some(actor.subject.clone()),
            course_id: 0,
            code: String::new(),
            title: String::new(),
            unit_kind: String::new(),
            owning_org_id: 0,
            requires_external_approval: false,
        }
    }

    async fn apply(db: &impl ConnectionTrait, row: &mut Self, fields: UnitFields) -> AppResult<()> {
        apply_unit(db, row, fields).await
    }

    async fn check(db: &impl ConnectionTrait, row: &Self) -> AppResult<()> {
        let taken = curriculum_unit::Entity::find()
            .filter(curriculum_unit::Column::CourseId.eq(row.course_id))
            .filter(curriculum_unit::Column::Code.eq(row.code.as_str()))
            .filter(curriculum_unit::Column::Status.eq(STATUS_ACTIVE))
            .filter(curriculum_unit::Column::Id.ne(row.id))
            .one(db)
            .await?;
        if let Some(other) = taken {
            return Err(write::duplicate(format!(
                "curriculum unit {} of this course already has code {}",
                other.sourced_id, row.code
            )));
        }
        Ok(())
    }

    fn columns(&self) -> Vec<(curriculum_unit::Column, SimpleExpr)> {
        use curriculum_unit::Column as C;
        vec![
            (C::CourseId, Expr::value(self.course_id)),
            (C::Code, Expr::value(self.code.clone())),
            (C::Title, Expr::value(self.title.clone())),
            (C::UnitKind, Expr::value(self.unit_kind.clone())),
            (C::OwningOrgId, Expr::value(self.owning_org_id)),
            (
                C::RequiresExternalApproval,
                Expr::value(self.requires_external_approval),
            ),
            (C::Metadata, Expr::value(self.metadata.clone())),
        ]
    }

    async fn in_use(db: &impl ConnectionTrait, row: &Self) -> AppResult<()> {
        let live = curriculum_unit_version::Entity::find()
            .filter(curriculum_unit_version::Column::UnitId.eq(row.id))
            .filter(curriculum_unit_version::Column::Status.eq(STATUS_ACTIVE))
            .filter(
                curriculum_unit_version::Column::State
                    .is_in(WORKING_STATES.iter().copied().chain([PUBLISHED])),
            )
            .one(db)
            .await?;
        if let Some(version) = live {
            return Err(write::invalid_transition(format!(
                "curriculum unit {} still has a {} version ({}); withdraw or retire it first",
                row.sourced_id, version.state, version.sourced_id
            )));
        }
        Ok(())
    }
}
