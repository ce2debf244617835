//! Creating, updating and deleting courses and cohorts (DOMAIN.md area B).
//!
//! **Courses. Who:** programmeStaff and programmeAdmin for any course; an academicLead for the
//! courses its own unit provides (the acting organisation is the `providerOrg`, before and
//! after the write). Clients need `curriculum.write`. Everyone else: `FORBIDDEN`.
//! **Rules:** `courseCode` (at most 64 characters) is unique per `providerOrg` (`DUPLICATE`);
//! `title` is required; `courseKind` is closed; `providerOrg` is an active organisation;
//! `aliases` is a list of short strings; `nominalContactHours` 0–5,000, `spanYears` 1–6,
//! `qfLevel` 1–7, `qfCredits` 0–1,000. **Delete** is refused (`INVALID_TRANSITION`) while
//! active course offerings or stage courses use the course.
//!
//! **Cohorts. Who:** programmeStaff and programmeAdmin (clients: `roster.write`).
//! **Rules:** `pathway` and `intakeSession` are active records; `code` (at most 64 characters)
//! is unique per pathway (`DUPLICATE`); `expectedHkdseYear` lies between the intake session's
//! school year and six years after it. **Delete** is refused while active pathway enrolments or
//! course offerings use the cohort.

use async_graphql::MaybeUndefined;
use chrono::{DateTime, Utc};
use entity::{
    STATUS_ACTIVE, academic_session, cohort, course, course_offering, org, pathway,
    pathway_enrollment, stage_course,
};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::{
    MAX_CODE_CHARS, Writable, YEARS, in_range, in_use, patch, patch_metadata, patch_required,
    patch_text, required, string_list, text,
};
use crate::access::{self, Reach};
use crate::auth::{Principal, Role, Viewer};
use crate::error::{AppError, AppResult};
use crate::service::write::{self, Actor};

/// GraphQL type names.
pub const COURSE: &str = "Course";
pub const COHORT: &str = "Cohort";

/// Who writes courses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writer {
    Programme,
    /// An academicLead (or an academic unit's client) acting for this organisation.
    Provider(i64),
}

fn course_writer(viewer: &Viewer) -> AppResult<(&Principal, Writer)> {
    let principal = access::principal(viewer)?;
    let writer = match Reach::of(viewer) {
        Reach::Programme => Writer::Programme,
        _ => match &principal.org {
            Some(org) if principal.roles.contains(&Role::AcademicLead) => Writer::Provider(org.id),
            _ => return Err(AppError::Forbidden),
        },
    };
    write::require_write_scope(principal, "curriculum.write")?;
    Ok((principal, writer))
}

/// The guard of a course write, before any input is read.
pub fn authorize_course(viewer: &Viewer) -> AppResult<()> {
    course_writer(viewer).map(|_| ())
}

fn cohort_writer(viewer: &Viewer) -> AppResult<&Principal> {
    let principal = access::principal(viewer)?;
    if !matches!(Reach::of(viewer), Reach::Programme) {
        return Err(AppError::Forbidden);
    }
    write::require_write_scope(principal, "roster.write")?;
    Ok(principal)
}

/// The guard of a cohort write, before any input is read.
pub fn authorize_cohort(viewer: &Viewer) -> AppResult<()> {
    cohort_writer(viewer).map(|_| ())
}

/// The fields of a course write (omitted keeps, null clears).
#[derive(Clone, Debug, Default)]
pub struct CourseFields {
    pub course_code: MaybeUndefined<String>,
    pub title: MaybeUndefined<String>,
    pub aliases: MaybeUndefined<Vec<String>>,
    /// Database text.
    pub course_kind: MaybeUndefined<&'static str>,
    pub provider_org: MaybeUndefined<String>,
    pub apl_area_of_studies: MaybeUndefined<String>,
    pub nominal_contact_hours: MaybeUndefined<i32>,
    pub span_years: MaybeUndefined<i32>,
    pub qf_level: MaybeUndefined<i32>,
    pub qf_credits: MaybeUndefined<i32>,
    pub metadata: MaybeUndefined<serde_json::Value>,
}

async fn apply_course(
    db: &impl ConnectionTrait,
    row: &mut course::Model,
    fields: CourseFields,
) -> AppResult<()> {
    patch_required(
        &mut row.course_code,
        text(&fields.course_code),
        "courseCode",
        MAX_CODE_CHARS,
    )?;
    patch_required(
        &mut row.title,
        text(&fields.title),
        "title",
        write::MAX_SHORT_TEXT,
    )?;
    match &fields.aliases {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => row.aliases = None,
        MaybeUndefined::Value(list) => {
            row.aliases = string_list(list, "aliases", write::MAX_SHORT_TEXT)?;
        }
    }
    if let Some(kind) = required(fields.course_kind, "courseKind")? {
        kind.clone_into(&mut row.course_kind);
    }
    if let Some(id) = required(fields.provider_org, "providerOrg")? {
        row.provider_org_id =
            write::reference::<org::Entity>(db, "Organization", "providerOrg", &id)
                .await?
                .id;
    }
    patch_text(
        &mut row.apl_area_of_studies,
        text(&fields.apl_area_of_studies),
        "aplAreaOfStudies",
        write::MAX_SHORT_TEXT,
    )?;
    patch(&mut row.nominal_contact_hours, fields.nominal_contact_hours);
    patch(&mut row.span_years, fields.span_years);
    patch(&mut row.qf_level, fields.qf_level);
    patch(&mut row.qf_credits, fields.qf_credits);
    patch_metadata(&mut row.metadata, fields.metadata)?;
    in_range(row.nominal_contact_hours, "nominalContactHours", 0..=5000)?;
    in_range(row.span_years, "spanYears", 1..=6)?;
    in_range(row.qf_level, "qfLevel", 1..=7)?;
    in_range(row.qf_credits, "qfCredits", 0..=1000)?;
    if row.course_code.is_empty() {
        return Err(AppError::bad_input(
            "courseCode",
            "`courseCode` is required",
        ));
    }
    if row.title.is_empty() {
        return Err(AppError::bad_input("title", "`title` is required"));
    }
    if row.course_kind.is_empty() {
        return Err(AppError::bad_input(
            "courseKind",
            "`courseKind` is required",
        ));
    }
    if row.provider_org_id == 0 {
        return Err(AppError::bad_input(
            "providerOrg",
            "`providerOrg` is required",
        ));
    }
    Ok(())
}

async fn check_course(db: &impl ConnectionTrait, row: &course::Model) -> AppResult<()> {
    let taken = course::Entity::find()
        .filter(course::Column::ProviderOrgId.eq(row.provider_org_id))
        .filter(course::Column::CourseCode.eq(row.course_code.as_str()))
        .filter(course::Column::Id.ne(row.id))
        .one(db)
        .await?;
    if let Some(other) = taken {
        return Err(write::duplicate(format!(
            "course {} of this provider already has courseCode {}",
            other.sourced_id, row.course_code
        )));
    }
    Ok(())
}

fn check_provider(writer: Writer, provider: i64) -> AppResult<()> {
    match writer {
        Writer::Provider(own) if own != provider => Err(AppError::ForbiddenWith(
            "an academic lead writes only its own unit's courses".into(),
        )),
        _ => Ok(()),
    }
}

fn course_columns(row: &course::Model) -> Vec<(course::Column, SimpleExpr)> {
    use course::Column as C;
    vec![
        (C::CourseCode, Expr::value(row.course_code.clone())),
        (C::Title, Expr::value(row.title.clone())),
        (C::Aliases, Expr::value(row.aliases.clone())),
        (C::CourseKind, Expr::value(row.course_kind.clone())),
        (C::ProviderOrgId, Expr::value(row.provider_org_id)),
        (
            C::AplAreaOfStudies,
            Expr::value(row.apl_area_of_studies.clone()),
        ),
        (
            C::NominalContactHours,
            Expr::value(row.nominal_contact_hours),
        ),
        (C::SpanYears, Expr::value(row.span_years)),
        (C::QfLevel, Expr::value(row.qf_level)),
        (C::QfCredits, Expr::value(row.qf_credits)),
        (C::Metadata, Expr::value(row.metadata.clone())),
    ]
}

impl Writable for course::Model {
    type Entity = course::Entity;
    type Fields = CourseFields;
    type Writer = Writer;
    const TYPE_NAME: &'static str = COURSE;

    fn writer(viewer: &Viewer) -> AppResult<(&Principal, Writer)> {
        course_writer(viewer)
    }

    fn may_write(writer: Writer, row: &Self) -> AppResult<()> {
        check_provider(writer, row.provider_org_id)
    }

    fn blank(sourced_id: String, actor: &Actor, now: DateTime<Utc>, _writer: Writer) -> Self {
        course::Model {
            id: 0,
            sourced_id,
            status: STATUS_ACTIVE.to_owned(),
            date_created: now,
            date_last_modified: now,
            version: 1,
            metadata: None,
            created_by: Some(actor.subject.clone()),
            modified_by: Some(actor.subject.clone()),
            course_code: String::new(),
            title: String::new(),
            aliases: None,
            course_kind: String::new(),
            provider_org_id: 0,
            apl_area_of_studies: None,
            nominal_contact_hours: None,
            span_years: None,
            qf_level: None,
            qf_credits: None,
        }
    }

    async fn apply(
        db: &impl ConnectionTrait,
        row: &mut Self,
        fields: CourseFields,
    ) -> AppResult<()> {
        apply_course(db, row, fields).await
    }

    async fn check(db: &impl ConnectionTrait, row: &Self) -> AppResult<()> {
        check_course(db, row).await
    }

    fn columns(&self) -> Vec<(course::Column, SimpleExpr)> {
        course_columns(self)
    }

    async fn in_use(db: &impl ConnectionTrait, row: &Self) -> AppResult<()> {
        if in_use::<course_offering::Entity>(db, course_offering::Column::CourseId, row.id).await? {
            return Err(super::still_used(
                COURSE,
                &row.sourced_id,
                "course offerings",
            ));
        }
        if in_use::<stage_course::Entity>(db, stage_course::Column::CourseId, row.id).await? {
            return Err(super::still_used(COURSE, &row.sourced_id, "stage courses"));
        }
        Ok(())
    }
}

/// The fields of a cohort write (omitted keeps, null clears).
#[derive(Clone, Debug, Default)]
pub struct CohortFields {
    pub pathway: MaybeUndefined<String>,
    pub code: MaybeUndefined<String>,
    pub intake_session: MaybeUndefined<String>,
    pub expected_hkdse_year: MaybeUndefined<i32>,
    pub metadata: MaybeUndefined<serde_json::Value>,
}

async fn apply_cohort(
    db: &impl ConnectionTrait,
    row: &mut cohort::Model,
    fields: CohortFields,
) -> AppResult<()> {
    if let Some(id) = required(fields.pathway, "pathway")? {
        row.pathway_id = write::reference::<pathway::Entity>(db, "Pathway", "pathway", &id)
            .await?
            .id;
    }
    patch_required(&mut row.code, text(&fields.code), "code", MAX_CODE_CHARS)?;
    let mut intake = None;
    if let Some(id) = required(fields.intake_session, "intakeSession")? {
        let found = write::reference::<academic_session::Entity>(
            db,
            "AcademicSession",
            "intakeSession",
            &id,
        )
        .await?;
        row.intake_session_id = found.id;
        intake = Some(found);
    }
    patch(&mut row.expected_hkdse_year, fields.expected_hkdse_year);
    patch_metadata(&mut row.metadata, fields.metadata)?;
    if row.pathway_id == 0 {
        return Err(AppError::bad_input("pathway", "`pathway` is required"));
    }
    if row.code.is_empty() {
        return Err(AppError::bad_input("code", "`code` is required"));
    }
    if row.intake_session_id == 0 {
        return Err(AppError::bad_input(
            "intakeSession",
            "`intakeSession` is required",
        ));
    }
    in_range(row.expected_hkdse_year, "expectedHkdseYear", YEARS)?;
    if let Some(year) = row.expected_hkdse_year {
        let intake = match intake {
            Some(s) => Some(s),
            None => {
                academic_session::Entity::find_by_id(row.intake_session_id)
                    .one(db)
                    .await?
            }
        };
        if let Some(intake) = intake
            && !(intake.school_year..=intake.school_year + 6).contains(&year)
        {
            return Err(AppError::bad_input(
                "expectedHkdseYear",
                format!(
                    "`expectedHkdseYear` must lie between the intake school year {} and {}",
                    intake.school_year,
                    intake.school_year + 6
                ),
            ));
        }
    }
    Ok(())
}

async fn check_cohort(db: &impl ConnectionTrait, row: &cohort::Model) -> AppResult<()> {
    let taken = cohort::Entity::find()
        .filter(cohort::Column::PathwayId.eq(row.pathway_id))
        .filter(cohort::Column::Code.eq(row.code.as_str()))
        .filter(cohort::Column::Id.ne(row.id))
        .one(db)
        .await?;
    if let Some(other) = taken {
        return Err(write::duplicate(format!(
            "cohort {} of this pathway already has code {}",
            other.sourced_id, row.code
        )));
    }
    Ok(())
}

fn cohort_columns(row: &cohort::Model) -> Vec<(cohort::Column, SimpleExpr)> {
    use cohort::Column as C;
    vec![
        (C::PathwayId, Expr::value(row.pathway_id)),
        (C::Code, Expr::value(row.code.clone())),
        (C::IntakeSessionId, Expr::value(row.intake_session_id)),
        (C::ExpectedHkdseYear, Expr::value(row.expected_hkdse_year)),
        (C::Metadata, Expr::value(row.metadata.clone())),
    ]
}

impl Writable for cohort::Model {
    type Entity = cohort::Entity;
    type Fields = CohortFields;
    type Writer = ();
    const TYPE_NAME: &'static str = COHORT;

    fn writer(viewer: &Viewer) -> AppResult<(&Principal, ())> {
        Ok((cohort_writer(viewer)?, ()))
    }

    fn blank(sourced_id: String, actor: &Actor, now: DateTime<Utc>, _writer: ()) -> Self {
        cohort::Model {
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
            code: String::new(),
            intake_session_id: 0,
            expected_hkdse_year: None,
        }
    }

    async fn apply(
        db: &impl ConnectionTrait,
        row: &mut Self,
        fields: CohortFields,
    ) -> AppResult<()> {
        apply_cohort(db, row, fields).await
    }

    async fn check(db: &impl ConnectionTrait, row: &Self) -> AppResult<()> {
        check_cohort(db, row).await
    }

    fn columns(&self) -> Vec<(cohort::Column, SimpleExpr)> {
        cohort_columns(self)
    }

    async fn in_use(db: &impl ConnectionTrait, row: &Self) -> AppResult<()> {
        if in_use::<pathway_enrollment::Entity>(db, pathway_enrollment::Column::CohortId, row.id)
            .await?
        {
            return Err(super::still_used(
                COHORT,
                &row.sourced_id,
                "pathway enrolments",
            ));
        }
        if in_use::<course_offering::Entity>(db, course_offering::Column::CohortId, row.id).await? {
            return Err(super::still_used(
                COHORT,
                &row.sourced_id,
                "course offerings",
            ));
        }
        Ok(())
    }
}
