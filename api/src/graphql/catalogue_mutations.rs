//! Writing the catalogue and calendar (DOMAIN.md areas A and B): create, update and delete
//! organisations, academic sessions, cohorts, courses, pathways, pathway stages and stage
//! courses. Rules and roles are in
//! [`crate::service::catalogue`]; `docs/catalogue-writes.md` sums them up.
//!
//! Every update and delete names the version it read (`expectedVersion`); a stale one is the
//! user error `VERSION_CONFLICT` and nothing changes. Deletes leave tombstones (readable with
//! `includeDeleted: true`). Omitted update fields keep their value; an explicit null clears.
//! References take a global id or a sourcedId.

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, MergedObject, Object, Result};

use super::calendar::{AcademicSession, SessionType};
use super::common::*;
use super::connection::{db, viewer};
use super::courses::{Course, CourseKind};
use super::orgs::{Organization, SchoolFinanceType};
use super::pathways::Cohort;
use super::payload::{finish, record_payload as payload};
use crate::error::ResultExt;
use crate::service::catalogue;
use crate::service::catalogue::calendar::{self, SessionFields};
use crate::service::catalogue::courses::{self, CohortFields, CourseFields};
use crate::service::catalogue::orgs::{self, OrgFields};

/// A create-input field: given or omitted.
fn given<T>(value: Option<T>) -> MaybeUndefined<T> {
    value.map_or(MaybeUndefined::Undefined, MaybeUndefined::Value)
}

/// A JSON input as a plain value.
fn json(value: MaybeUndefined<Json<serde_json::Value>>) -> MaybeUndefined<serde_json::Value> {
    value.map_value(|j| j.0)
}

/// An enum input as its database text.
fn db_text<E: DbEnum>(value: MaybeUndefined<E>) -> MaybeUndefined<&'static str> {
    value.map_value(DbEnum::db)
}

/// An ID input as its text.
fn id_text(value: MaybeUndefined<ID>) -> MaybeUndefined<String> {
    value.map_value(|id| id.0)
}

mod pathways;

// ---------------------------------------------------------------- organisations

/// A new organisation.
#[derive(InputObject)]
pub struct CreateOrganizationInput {
    /// The sourcedId to give it (`[A-Za-z0-9._:-]{1,255}`); a UUID is minted when omitted.
    pub sourced_id: Option<String>,
    /// English name (required, at most 255 characters).
    pub name_en: String,
    /// Chinese name.
    pub name_zh: Option<String>,
    /// Kind: `university`, `academicUnit`, `programmeOffice`, `secondarySchool`,
    /// `industryPartner`, `furtherStudyProvider`, `funder`, or an extension
    /// `ext:[A-Za-z0-9._-]+`.
    pub org_type: String,
    /// Parent organisation (global id or sourcedId), active.
    pub parent: Option<ID>,
    /// Official identifier, e.g. the EDB school number; needs `identifierScheme`. The pair is
    /// unique.
    pub identifier: Option<String>,
    /// Scheme of `identifier`, e.g. `hk-edb-school-no`; needs `identifier`.
    pub identifier_scheme: Option<String>,
    /// District.
    pub district: Option<String>,
    /// School finance type.
    pub school_finance_type: Option<SchoolFinanceType>,
    /// Industry sectors: at most 50 short strings (100 characters each).
    pub industry_sectors: Option<Vec<String>>,
    /// Website: an `http://` or `https://` URL.
    pub website: Option<String>,
    /// Date the partnership began; not in the future.
    pub partner_since: Option<Date>,
    /// Client extensions: a JSON object of at most 16 KB.
    pub metadata: Option<Json<serde_json::Value>>,
}

impl CreateOrganizationInput {
    fn fields(self) -> OrgFields {
        OrgFields {
            name_en: MaybeUndefined::Value(self.name_en),
            name_zh: given(self.name_zh),
            org_type: MaybeUndefined::Value(self.org_type),
            parent: given(self.parent.map(|id| id.0)),
            identifier: given(self.identifier),
            identifier_scheme: given(self.identifier_scheme),
            district: given(self.district),
            school_finance_type: given(self.school_finance_type.map(DbEnum::db)),
            industry_sectors: given(self.industry_sectors),
            website: given(self.website),
            partner_since: given(self.partner_since.map(|d| d.0)),
            metadata: given(self.metadata.map(|j| j.0)),
        }
    }
}

/// Changes to an organisation: omitted fields keep their value, null clears.
#[derive(InputObject)]
pub struct UpdateOrganizationInput {
    /// The organisation (global id or sourcedId).
    pub organization: ID,
    /// The version last read; another current version is `VERSION_CONFLICT` and nothing
    /// changes. Without it the write applies to the current version (last writer wins).
    pub expected_version: Option<i32>,
    /// English name (may not be null).
    pub name_en: MaybeUndefined<String>,
    /// Chinese name.
    pub name_zh: MaybeUndefined<String>,
    /// Kind (may not be null); as in `createOrganization`.
    pub org_type: MaybeUndefined<String>,
    /// Parent organisation; never the organisation itself or one of its descendants.
    pub parent: MaybeUndefined<ID>,
    /// Official identifier (with `identifierScheme`).
    pub identifier: MaybeUndefined<String>,
    /// Scheme of `identifier`.
    pub identifier_scheme: MaybeUndefined<String>,
    /// District.
    pub district: MaybeUndefined<String>,
    /// School finance type.
    pub school_finance_type: MaybeUndefined<SchoolFinanceType>,
    /// Industry sectors (replaces the list).
    pub industry_sectors: MaybeUndefined<Vec<String>>,
    /// Website.
    pub website: MaybeUndefined<String>,
    /// Date the partnership began.
    pub partner_since: MaybeUndefined<Date>,
    /// Client extensions (replaces the object).
    pub metadata: MaybeUndefined<Json<serde_json::Value>>,
}

impl UpdateOrganizationInput {
    fn fields(self) -> OrgFields {
        OrgFields {
            name_en: self.name_en,
            name_zh: self.name_zh,
            org_type: self.org_type,
            parent: id_text(self.parent),
            identifier: self.identifier,
            identifier_scheme: self.identifier_scheme,
            district: self.district,
            school_finance_type: db_text(self.school_finance_type),
            industry_sectors: self.industry_sectors,
            website: self.website,
            partner_since: self.partner_since.map_value(|d| d.0),
            metadata: json(self.metadata),
        }
    }
}

/// The organisation to delete.
#[derive(InputObject)]
pub struct DeleteOrganizationInput {
    /// The organisation (global id or sourcedId).
    pub organization: ID,
    /// The version last read; another current version is `VERSION_CONFLICT` and nothing
    /// changes. Without it the write applies to the current version (last writer wins).
    pub expected_version: Option<i32>,
}

payload!(
    /// The result of `createOrganization`.
    CreateOrganizationPayload { organization: Organization }
);
payload!(
    /// The result of `updateOrganization`.
    UpdateOrganizationPayload { organization: Organization }
);
payload!(
    /// The result of `deleteOrganization`.
    DeleteOrganizationPayload { organization: Organization }
);

// ---------------------------------------------------------------- academic sessions

/// A new academic session.
#[derive(InputObject)]
pub struct CreateAcademicSessionInput {
    /// The sourcedId to give it; a UUID is minted when omitted.
    pub sourced_id: Option<String>,
    /// Title, e.g. `2024/25` (required). Unique per (org, sessionType).
    pub title: String,
    /// Kind of session.
    pub session_type: SessionType,
    /// First day.
    pub start_date: Date,
    /// Day after the last day (exclusive); after `startDate`.
    pub end_date: Date,
    /// School year by its end year (2025 for 2024/25): for a `SCHOOL_YEAR` session the year of
    /// its last day; otherwise the year the session starts in or the next.
    pub school_year: i32,
    /// The session this one lies within (global id or sourcedId), of the same organisation or
    /// the programme calendar.
    pub parent: Option<ID>,
    /// Owning organisation (global id or sourcedId); omitted: the programme calendar, or the
    /// caller's school for a school coordinator or client.
    pub org: Option<ID>,
    /// Client extensions: a JSON object of at most 16 KB.
    pub metadata: Option<Json<serde_json::Value>>,
}

impl CreateAcademicSessionInput {
    fn fields(self) -> SessionFields {
        SessionFields {
            title: MaybeUndefined::Value(self.title),
            session_type: MaybeUndefined::Value(self.session_type.db()),
            start_date: MaybeUndefined::Value(self.start_date.0),
            end_date: MaybeUndefined::Value(self.end_date.0),
            school_year: MaybeUndefined::Value(self.school_year),
            parent: given(self.parent.map(|id| id.0)),
            org: given(self.org.map(|id| id.0)),
            metadata: given(self.metadata.map(|j| j.0)),
        }
    }
}

/// Changes to an academic session: omitted fields keep their value, null clears.
#[derive(InputObject)]
pub struct UpdateAcademicSessionInput {
    /// The session (global id or sourcedId).
    pub academic_session: ID,
    /// The version last read; another current version is `VERSION_CONFLICT` and nothing
    /// changes. Without it the write applies to the current version (last writer wins).
    pub expected_version: Option<i32>,
    /// Title (may not be null).
    pub title: MaybeUndefined<String>,
    /// Kind of session (may not be null).
    pub session_type: MaybeUndefined<SessionType>,
    /// First day (may not be null). Active child sessions must stay within.
    pub start_date: MaybeUndefined<Date>,
    /// Day after the last day (may not be null). Active child sessions must stay within.
    pub end_date: MaybeUndefined<Date>,
    /// School year by its end year (may not be null).
    pub school_year: MaybeUndefined<i32>,
    /// Parent session; never the session itself or one of its descendants.
    pub parent: MaybeUndefined<ID>,
    /// Owning organisation; null: the programme calendar (programme staff only).
    pub org: MaybeUndefined<ID>,
    /// Client extensions (replaces the object).
    pub metadata: MaybeUndefined<Json<serde_json::Value>>,
}

impl UpdateAcademicSessionInput {
    fn fields(self) -> SessionFields {
        SessionFields {
            title: self.title,
            session_type: db_text(self.session_type),
            start_date: self.start_date.map_value(|d| d.0),
            end_date: self.end_date.map_value(|d| d.0),
            school_year: self.school_year,
            parent: id_text(self.parent),
            org: id_text(self.org),
            metadata: json(self.metadata),
        }
    }
}

/// The academic session to delete.
#[derive(InputObject)]
pub struct DeleteAcademicSessionInput {
    /// The session (global id or sourcedId).
    pub academic_session: ID,
    /// The version last read; another current version is `VERSION_CONFLICT` and nothing
    /// changes. Without it the write applies to the current version (last writer wins).
    pub expected_version: Option<i32>,
}

payload!(
    /// The result of `createAcademicSession`.
    CreateAcademicSessionPayload { academic_session: AcademicSession }
);
payload!(
    /// The result of `updateAcademicSession`.
    UpdateAcademicSessionPayload { academic_session: AcademicSession }
);
payload!(
    /// The result of `deleteAcademicSession`.
    DeleteAcademicSessionPayload { academic_session: AcademicSession }
);

// ---------------------------------------------------------------- cohorts

/// A new cohort.
#[derive(InputObject)]
pub struct CreateCohortInput {
    /// The sourcedId to give it; a UUID is minted when omitted.
    pub sourced_id: Option<String>,
    /// The pathway (global id or sourcedId), active.
    pub pathway: ID,
    /// Code, unique within the pathway (at most 64 characters).
    pub code: String,
    /// The session the cohort starts in (global id or sourcedId), active.
    pub intake_session: ID,
    /// Expected HKDSE year: from the intake session's school year to six years after it.
    pub expected_hkdse_year: Option<i32>,
    /// Client extensions: a JSON object of at most 16 KB.
    pub metadata: Option<Json<serde_json::Value>>,
}

impl CreateCohortInput {
    fn fields(self) -> CohortFields {
        CohortFields {
            pathway: MaybeUndefined::Value(self.pathway.0),
            code: MaybeUndefined::Value(self.code),
            intake_session: MaybeUndefined::Value(self.intake_session.0),
            expected_hkdse_year: given(self.expected_hkdse_year),
            metadata: given(self.metadata.map(|j| j.0)),
        }
    }
}

/// Changes to a cohort: omitted fields keep their value, null clears.
#[derive(InputObject)]
pub struct UpdateCohortInput {
    /// The cohort (global id or sourcedId).
    pub cohort: ID,
    /// The version last read; another current version is `VERSION_CONFLICT` and nothing
    /// changes. Without it the write applies to the current version (last writer wins).
    pub expected_version: Option<i32>,
    /// The pathway (may not be null).
    pub pathway: MaybeUndefined<ID>,
    /// Code (may not be null).
    pub code: MaybeUndefined<String>,
    /// The intake session (may not be null).
    pub intake_session: MaybeUndefined<ID>,
    /// Expected HKDSE year.
    pub expected_hkdse_year: MaybeUndefined<i32>,
    /// Client extensions (replaces the object).
    pub metadata: MaybeUndefined<Json<serde_json::Value>>,
}

impl UpdateCohortInput {
    fn fields(self) -> CohortFields {
        CohortFields {
            pathway: id_text(self.pathway),
            code: self.code,
            intake_session: id_text(self.intake_session),
            expected_hkdse_year: self.expected_hkdse_year,
            metadata: json(self.metadata),
        }
    }
}

/// The cohort to delete.
#[derive(InputObject)]
pub struct DeleteCohortInput {
    /// The cohort (global id or sourcedId).
    pub cohort: ID,
    /// The version last read; another current version is `VERSION_CONFLICT` and nothing
    /// changes. Without it the write applies to the current version (last writer wins).
    pub expected_version: Option<i32>,
}

payload!(
    /// The result of `createCohort`.
    CreateCohortPayload { cohort: Cohort }
);
payload!(
    /// The result of `updateCohort`.
    UpdateCohortPayload { cohort: Cohort }
);
payload!(
    /// The result of `deleteCohort`.
    DeleteCohortPayload { cohort: Cohort }
);

// ---------------------------------------------------------------- courses

/// A new course.
#[derive(InputObject)]
pub struct CreateCourseInput {
    /// The sourcedId to give it; a UUID is minted when omitted.
    pub sourced_id: Option<String>,
    /// Course code, unique per provider (at most 64 characters).
    pub course_code: String,
    /// Title (required, at most 255 characters).
    pub title: String,
    /// Other names, searchable but not keys: at most 50, 255 characters each.
    pub aliases: Option<Vec<String>>,
    /// Kind of course.
    pub course_kind: CourseKind,
    /// The providing organisation (global id or sourcedId), active. An academic lead names
    /// its own unit.
    pub provider_org: ID,
    /// Applied Learning area of studies.
    pub apl_area_of_studies: Option<String>,
    /// Nominal contact hours, 0 to 5,000.
    pub nominal_contact_hours: Option<i32>,
    /// Years the course spans, 1 to 6.
    pub span_years: Option<i32>,
    /// Qualifications Framework level, 1 to 7.
    pub qf_level: Option<i32>,
    /// Qualifications Framework credits, 0 to 1,000.
    pub qf_credits: Option<i32>,
    /// Client extensions: a JSON object of at most 16 KB.
    pub metadata: Option<Json<serde_json::Value>>,
}

impl CreateCourseInput {
    fn fields(self) -> CourseFields {
        CourseFields {
            course_code: MaybeUndefined::Value(self.course_code),
            title: MaybeUndefined::Value(self.title),
            aliases: given(self.aliases),
            course_kind: MaybeUndefined::Value(self.course_kind.db()),
            provider_org: MaybeUndefined::Value(self.provider_org.0),
            apl_area_of_studies: given(self.apl_area_of_studies),
            nominal_contact_hours: given(self.nominal_contact_hours),
            span_years: given(self.span_years),
            qf_level: given(self.qf_level),
            qf_credits: given(self.qf_credits),
            metadata: given(self.metadata.map(|j| j.0)),
        }
    }
}

/// Changes to a course: omitted fields keep their value, null clears.
#[derive(InputObject)]
pub struct UpdateCourseInput {
    /// The course (global id or sourcedId).
    pub course: ID,
    /// The version last read; another current version is `VERSION_CONFLICT` and nothing
    /// changes. Without it the write applies to the current version (last writer wins).
    pub expected_version: Option<i32>,
    /// Course code (may not be null).
    pub course_code: MaybeUndefined<String>,
    /// Title (may not be null).
    pub title: MaybeUndefined<String>,
    /// Other names (replaces the list).
    pub aliases: MaybeUndefined<Vec<String>>,
    /// Kind of course (may not be null).
    pub course_kind: MaybeUndefined<CourseKind>,
    /// The providing organisation (may not be null).
    pub provider_org: MaybeUndefined<ID>,
    /// Applied Learning area of studies.
    pub apl_area_of_studies: MaybeUndefined<String>,
    /// Nominal contact hours, 0 to 5,000.
    pub nominal_contact_hours: MaybeUndefined<i32>,
    /// Years the course spans, 1 to 6.
    pub span_years: MaybeUndefined<i32>,
    /// Qualifications Framework level, 1 to 7.
    pub qf_level: MaybeUndefined<i32>,
    /// Qualifications Framework credits, 0 to 1,000.
    pub qf_credits: MaybeUndefined<i32>,
    /// Client extensions (replaces the object).
    pub metadata: MaybeUndefined<Json<serde_json::Value>>,
}

impl UpdateCourseInput {
    fn fields(self) -> CourseFields {
        CourseFields {
            course_code: self.course_code,
            title: self.title,
            aliases: self.aliases,
            course_kind: db_text(self.course_kind),
            provider_org: id_text(self.provider_org),
            apl_area_of_studies: self.apl_area_of_studies,
            nominal_contact_hours: self.nominal_contact_hours,
            span_years: self.span_years,
            qf_level: self.qf_level,
            qf_credits: self.qf_credits,
            metadata: json(self.metadata),
        }
    }
}

/// The course to delete.
#[derive(InputObject)]
pub struct DeleteCourseInput {
    /// The course (global id or sourcedId).
    pub course: ID,
    /// The version last read; another current version is `VERSION_CONFLICT` and nothing
    /// changes. Without it the write applies to the current version (last writer wins).
    pub expected_version: Option<i32>,
}

payload!(
    /// The result of `createCourse`.
    CreateCoursePayload { course: Course }
);
payload!(
    /// The result of `updateCourse`.
    UpdateCoursePayload { course: Course }
);
payload!(
    /// The result of `deleteCourse`.
    DeleteCoursePayload { course: Course }
);

// ---------------------------------------------------------------- mutations

/// Every catalogue and calendar write.
#[derive(MergedObject, Default)]
pub struct CatalogueMutation(CoreCatalogueMutation, pathways::PathwayWriteMutation);

#[derive(Default)]
pub struct CoreCatalogueMutation;

#[Object]
impl CoreCatalogueMutation {
    /// Creates an organisation. Who: programmeStaff or programmeAdmin (the programme office's
    /// client with `roster.write`); anyone else is `FORBIDDEN`. User errors: `BAD_USER_INPUT`
    /// (the field at fault), `DUPLICATE` (sourcedId, or identifierScheme + identifier, in use).
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        input: CreateOrganizationInput,
    ) -> Result<CreateOrganizationPayload> {
        let viewer = viewer(ctx).extend()?;
        orgs::authorize(viewer).extend()?;
        let sourced_id = input.sourced_id.clone();
        let result = catalogue::create::<entity::org::Model>(
            db(ctx).extend()?,
            viewer,
            sourced_id.as_deref(),
            input.fields(),
        )
        .await;
        finish(result, |organization, user_errors| {
            CreateOrganizationPayload {
                organization,
                user_errors,
            }
        })
    }

    /// Updates an organisation. Who: as `createOrganization`. User errors as there, plus
    /// `VERSION_CONFLICT` (stale `expectedVersion`), `BAD_USER_INPUT` on `parent` for a parent
    /// cycle, `INVALID_TRANSITION` for a deleted organisation. Unknown: `NOT_FOUND`.
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        input: UpdateOrganizationInput,
    ) -> Result<UpdateOrganizationPayload> {
        let viewer = viewer(ctx).extend()?;
        orgs::authorize(viewer).extend()?;
        let db = db(ctx).extend()?;
        let result = async {
            let sid = sourced_id_of("Organization", "organization", input.organization.as_str())?;
            catalogue::update::<entity::org::Model>(
                db,
                viewer,
                &sid,
                input.expected_version,
                input.fields(),
            )
            .await
        }
        .await;
        finish(result, |organization, user_errors| {
            UpdateOrganizationPayload {
                organization,
                user_errors,
            }
        })
    }

    /// Deletes an organisation (a tombstone, readable with `includeDeleted`). Who: as
    /// `createOrganization`. User errors: `VERSION_CONFLICT`; `INVALID_TRANSITION` when it is
    /// already deleted or active records still point at it (child organisations, people whose
    /// primary organisation it is, role assignments, courses, pathways, academic sessions,
    /// course offerings). Unknown: `NOT_FOUND`.
    async fn delete_organization(
        &self,
        ctx: &Context<'_>,
        input: DeleteOrganizationInput,
    ) -> Result<DeleteOrganizationPayload> {
        let viewer = viewer(ctx).extend()?;
        orgs::authorize(viewer).extend()?;
        let db = db(ctx).extend()?;
        let result = async {
            let sid = sourced_id_of("Organization", "organization", input.organization.as_str())?;
            catalogue::delete::<entity::org::Model>(db, viewer, &sid, input.expected_version).await
        }
        .await;
        finish(result, |organization, user_errors| {
            DeleteOrganizationPayload {
                organization,
                user_errors,
            }
        })
    }

    /// Creates an academic session. Who: programmeStaff or programmeAdmin for any calendar; a
    /// schoolCoordinator (or its school's client with `roster.write`) for its own school's
    /// calendar (`org` defaults to it; another organisation or the programme calendar is
    /// `FORBIDDEN`). User errors: `BAD_USER_INPUT` (the field at fault: date order,
    /// schoolYear, parent bounds), `DUPLICATE` (org, sessionType, title).
    async fn create_academic_session(
        &self,
        ctx: &Context<'_>,
        input: CreateAcademicSessionInput,
    ) -> Result<CreateAcademicSessionPayload> {
        let viewer = viewer(ctx).extend()?;
        calendar::authorize(viewer).extend()?;
        let sourced_id = input.sourced_id.clone();
        let result = catalogue::create::<entity::academic_session::Model>(
            db(ctx).extend()?,
            viewer,
            sourced_id.as_deref(),
            input.fields(),
        )
        .await;
        finish(result, |academic_session, user_errors| {
            CreateAcademicSessionPayload {
                academic_session,
                user_errors,
            }
        })
    }

    /// Updates an academic session. Who: as `createAcademicSession` (a school only for its own
    /// school's sessions, else `FORBIDDEN`). User errors as there, plus `VERSION_CONFLICT`,
    /// `BAD_USER_INPUT` when an active child would fall outside or for a parent cycle,
    /// `INVALID_TRANSITION` for a deleted session. Unknown: `NOT_FOUND`.
    async fn update_academic_session(
        &self,
        ctx: &Context<'_>,
        input: UpdateAcademicSessionInput,
    ) -> Result<UpdateAcademicSessionPayload> {
        let viewer = viewer(ctx).extend()?;
        calendar::authorize(viewer).extend()?;
        let db = db(ctx).extend()?;
        let result = async {
            let sid = sourced_id_of(
                "AcademicSession",
                "academicSession",
                input.academic_session.as_str(),
            )?;
            catalogue::update::<entity::academic_session::Model>(
                db,
                viewer,
                &sid,
                input.expected_version,
                input.fields(),
            )
            .await
        }
        .await;
        finish(result, |academic_session, user_errors| {
            UpdateAcademicSessionPayload {
                academic_session,
                user_errors,
            }
        })
    }

    /// Deletes an academic session (a tombstone). Who: as `updateAcademicSession`. User
    /// errors: `VERSION_CONFLICT`; `INVALID_TRANSITION` when already deleted or still the
    /// parent of active sessions or the intake session of active cohorts.
    async fn delete_academic_session(
        &self,
        ctx: &Context<'_>,
        input: DeleteAcademicSessionInput,
    ) -> Result<DeleteAcademicSessionPayload> {
        let viewer = viewer(ctx).extend()?;
        calendar::authorize(viewer).extend()?;
        let db = db(ctx).extend()?;
        let result = async {
            let sid = sourced_id_of(
                "AcademicSession",
                "academicSession",
                input.academic_session.as_str(),
            )?;
            catalogue::delete::<entity::academic_session::Model>(
                db,
                viewer,
                &sid,
                input.expected_version,
            )
            .await
        }
        .await;
        finish(result, |academic_session, user_errors| {
            DeleteAcademicSessionPayload {
                academic_session,
                user_errors,
            }
        })
    }

    /// Creates a cohort. Who: programmeStaff or programmeAdmin (a programme client with
    /// `roster.write`); anyone else is `FORBIDDEN`. User errors: `BAD_USER_INPUT` (the field at
    /// fault), `DUPLICATE` (code in use in the pathway).
    async fn create_cohort(
        &self,
        ctx: &Context<'_>,
        input: CreateCohortInput,
    ) -> Result<CreateCohortPayload> {
        let viewer = viewer(ctx).extend()?;
        courses::authorize_cohort(viewer).extend()?;
        let sourced_id = input.sourced_id.clone();
        let result = catalogue::create::<entity::cohort::Model>(
            db(ctx).extend()?,
            viewer,
            sourced_id.as_deref(),
            input.fields(),
        )
        .await;
        finish(result, |cohort, user_errors| CreateCohortPayload {
            cohort,
            user_errors,
        })
    }

    /// Updates a cohort. Who: as `createCohort`. User errors as there, plus
    /// `VERSION_CONFLICT` and `INVALID_TRANSITION` (deleted). Unknown: `NOT_FOUND`.
    async fn update_cohort(
        &self,
        ctx: &Context<'_>,
        input: UpdateCohortInput,
    ) -> Result<UpdateCohortPayload> {
        let viewer = viewer(ctx).extend()?;
        courses::authorize_cohort(viewer).extend()?;
        let db = db(ctx).extend()?;
        let result = async {
            let sid = sourced_id_of("Cohort", "cohort", input.cohort.as_str())?;
            catalogue::update::<entity::cohort::Model>(
                db,
                viewer,
                &sid,
                input.expected_version,
                input.fields(),
            )
            .await
        }
        .await;
        finish(result, |cohort, user_errors| UpdateCohortPayload {
            cohort,
            user_errors,
        })
    }

    /// Deletes a cohort (a tombstone). Who: as `createCohort`. User errors:
    /// `VERSION_CONFLICT`; `INVALID_TRANSITION` when already deleted or still used by active
    /// pathway enrolments or course offerings.
    async fn delete_cohort(
        &self,
        ctx: &Context<'_>,
        input: DeleteCohortInput,
    ) -> Result<DeleteCohortPayload> {
        let viewer = viewer(ctx).extend()?;
        courses::authorize_cohort(viewer).extend()?;
        let db = db(ctx).extend()?;
        let result = async {
            let sid = sourced_id_of("Cohort", "cohort", input.cohort.as_str())?;
            catalogue::delete::<entity::cohort::Model>(db, viewer, &sid, input.expected_version)
                .await
        }
        .await;
        finish(result, |cohort, user_errors| DeleteCohortPayload {
            cohort,
            user_errors,
        })
    }

    /// Creates a course. Who: programmeStaff or programmeAdmin; an academicLead for its own
    /// unit as `providerOrg` (another provider is `FORBIDDEN`); clients need
    /// `curriculum.write`. User errors: `BAD_USER_INPUT` (the field at fault), `DUPLICATE`
    /// (courseCode in use at the provider).
    async fn create_course(
        &self,
        ctx: &Context<'_>,
        input: CreateCourseInput,
    ) -> Result<CreateCoursePayload> {
        let viewer = viewer(ctx).extend()?;
        courses::authorize_course(viewer).extend()?;
        let sourced_id = input.sourced_id.clone();
        let result = catalogue::create::<entity::course::Model>(
            db(ctx).extend()?,
            viewer,
            sourced_id.as_deref(),
            input.fields(),
        )
        .await;
        finish(result, |course, user_errors| CreateCoursePayload {
            course,
            user_errors,
        })
    }

    /// Updates a course. Who: as `createCourse` (an academicLead only for its own unit's
    /// courses, before and after). User errors as there, plus `VERSION_CONFLICT` and
    /// `INVALID_TRANSITION` (deleted). Unknown: `NOT_FOUND`.
    async fn update_course(
        &self,
        ctx: &Context<'_>,
        input: UpdateCourseInput,
    ) -> Result<UpdateCoursePayload> {
        let viewer = viewer(ctx).extend()?;
        courses::authorize_course(viewer).extend()?;
        let db = db(ctx).extend()?;
        let result = async {
            let sid = sourced_id_of("Course", "course", input.course.as_str())?;
            catalogue::update::<entity::course::Model>(
                db,
                viewer,
                &sid,
                input.expected_version,
                input.fields(),
            )
            .await
        }
        .await;
        finish(result, |course, user_errors| UpdateCoursePayload {
            course,
            user_errors,
        })
    }

    /// Deletes a course (a tombstone). Who: as `updateCourse`. User errors:
    /// `VERSION_CONFLICT`; `INVALID_TRANSITION` when already deleted or still used by active
    /// course offerings or stage courses.
    async fn delete_course(
        &self,
        ctx: &Context<'_>,
        input: DeleteCourseInput,
    ) -> Result<DeleteCoursePayload> {
        let viewer = viewer(ctx).extend()?;
        courses::authorize_course(viewer).extend()?;
        let db = db(ctx).extend()?;
        let result = async {
            let sid = sourced_id_of("Course", "course", input.course.as_str())?;
            catalogue::delete::<entity::course::Model>(db, viewer, &sid, input.expected_version)
                .await
        }
        .await;
        finish(result, |course, user_errors| DeleteCoursePayload {
            course,
            user_errors,
        })
    }
}
