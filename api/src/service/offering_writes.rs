//! Writing course offerings (DOMAIN.md area B, OneRoster Class): create, update, delete
//! (tombstone) and the lifecycle `planned → open_for_enrolment → running → completed`,
//! `planned | open_for_enrolment → cancelled`.
//!
//! **Who** (DOMAIN.md section 4, "Offering: RW own"; area B "lifecycle, run by programmeStaff
//! or the provider's staff"):
//! - programmeStaff and programmeAdmin: everything.
//! - the provider's staff (a person holding an active role other than student or guardian at
//!   the course's `providerOrg`, whatever organisation they act for): create, update, delete
//!   and run the lifecycle of offerings of the provider's courses.
//! - a schoolCoordinator, or the school's integration client holding `roster.write`
//!   (OneRoster classes are roster data): create, update and delete offerings at its own
//!   school (the `schoolOrg` defaults to it); the lifecycle only when also the provider's staff.
//! - everyone else (teachers, partners, mentors, students, …): `FORBIDDEN`. Clients need
//!   `roster.write`.
//!
//! **Rules.** `classCode` is unique per course (tombstones keep their code: the database key
//! covers every row); `schoolOrg` must be an active secondary school and is required for
//! `mode2SchoolBased`; `startDate` is before `endDate` (exclusive); at least one term, each an
//! active AcademicSession of the programme calendar or of the offering's school; the offering
//! runs within its terms (`startDate` on or after the earliest term's start, `endDate` on or
//! before the latest term's end), checked whenever dates or terms are written.
//!
//! Every accepted write emits a change event in its transaction, every accepted transition
//! (and the creation, `null → planned`) writes StatusHistory; refused ones write nothing.
//!
//! **Pinning.** Reaching `running` pins the published version of each active curriculum unit
//! of the course (DOMAIN.md area B), in the transition's transaction
//! ([`super::coverage::pin_published_versions`]); the pins never change afterwards.

use std::collections::HashSet;

use chrono::NaiveDate;
use entity::{
    STATUS_ACTIVE, academic_session, cohort, course, course_enrollment, course_offering,
    offering_term, org, role_assignment,
};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, Set,
};

use super::write::{self, Actor, Transition, VersionedUpdate};
use crate::access::{self, Reach};
use crate::auth::{Principal, Role, Viewer};
use crate::changes;
use crate::error::{AppError, AppResult};

/// GraphQL type name of offerings (history and change events).
pub const TYPE_NAME: &str = "CourseOffering";

/// Lifecycle states, as stored.
pub const PLANNED: &str = "planned";
pub const OPEN_FOR_ENROLMENT: &str = "open_for_enrolment";
pub const RUNNING: &str = "running";
pub const COMPLETED: &str = "completed";
pub const CANCELLED: &str = "cancelled";

/// The write scope an integration client needs.
pub const WRITE_SCOPE: &str = "roster.write";

/// Largest `metadata` object, in bytes of its JSON text (DOMAIN.md section 2).
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// The delivery modes, as stored.
pub const DELIVERY_MODES: [&str; 4] = ["mode1AtProvider", "mode2SchoolBased", "online", "blended"];

/// A named lifecycle transition of an offering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `planned → open_for_enrolment`.
    Open,
    /// `open_for_enrolment → running`; pins each active unit's published version for good
    /// (DOMAIN.md area B).
    Start,
    /// `running → completed`.
    Complete,
    /// `planned | open_for_enrolment → cancelled`.
    Cancel,
}

impl Action {
    /// The states the transition starts from.
    pub fn from_states(self) -> &'static [&'static str] {
        match self {
            Action::Open => &[PLANNED],
            Action::Start => &[OPEN_FOR_ENROLMENT],
            Action::Complete => &[RUNNING],
            Action::Cancel => &[PLANNED, OPEN_FOR_ENROLMENT],
        }
    }

    /// The state it leads to.
    pub fn to_state(self) -> &'static str {
        match self {
            Action::Open => OPEN_FOR_ENROLMENT,
            Action::Start => RUNNING,
            Action::Complete => COMPLETED,
            Action::Cancel => CANCELLED,
        }
    }

    /// The verb, for messages.
    pub fn verb(self) -> &'static str {
        match self {
            Action::Open => "open for enrolment",
            Action::Start => "start",
            Action::Complete => "complete",
            Action::Cancel => "cancel",
        }
    }
}

/// The caller of an offering write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// programmeStaff or programmeAdmin.
    Programme,
    /// A schoolCoordinator or the school's client: its school.
    School(i64),
    /// Anyone else with a Person: allowed only as the provider's staff.
    Other,
}

struct Caller<'a> {
    principal: &'a Principal,
    kind: Kind,
}

/// The caller as an offering writer: `UNAUTHENTICATED` without a token; `FORBIDDEN` for a
/// client without `roster.write`, for a client that is not the programme office's or a
/// school's, and for a principal with no Person who is neither.
fn caller(viewer: &Viewer) -> AppResult<Caller<'_>> {
    let principal = access::principal(viewer)?;
    let kind = match Reach::of(viewer) {
        Reach::Programme => Kind::Programme,
        Reach::Schools {
            schools,
            teacher: None,
        } => schools
            .first()
            .copied()
            .map(Kind::School)
            .ok_or(AppError::Forbidden)?,
        _ if !principal.is_client() && principal.person_id.is_some() => Kind::Other,
        _ => return Err(AppError::Forbidden),
    };
    write::require_write_scope(principal, WRITE_SCOPE)?;
    Ok(Caller { principal, kind })
}

/// The guard of every offering mutation, checked before any input is read.
pub fn authorize(viewer: &Viewer) -> AppResult<()> {
    caller(viewer).map(|_| ())
}

/// Whether `person` holds an active role other than student or guardian at `org` today.
pub async fn is_staff_of(db: &impl ConnectionTrait, person: i64, org: i64) -> AppResult<bool> {
    let today = access::today();
    let found = role_assignment::Entity::find()
        .filter(role_assignment::Column::PersonId.eq(person))
        .filter(role_assignment::Column::OrgId.eq(org))
        .filter(role_assignment::Column::Status.eq(STATUS_ACTIVE))
        .filter(
            role_assignment::Column::Role
                .is_not_in([Role::Student.as_str(), Role::Guardian.as_str()]),
        )
        .filter(role_assignment::Column::BeginDate.lte(today))
        .filter(
            Condition::any()
                .add(role_assignment::Column::EndDate.is_null())
                .add(role_assignment::Column::EndDate.gt(today)),
        )
        .one(db)
        .await?;
    Ok(found.is_some())
}

impl Caller<'_> {
    async fn is_provider_staff(&self, db: &impl ConnectionTrait, provider: i64) -> AppResult<bool> {
        match self.principal.person_id {
            Some(person) if !self.principal.is_client() => is_staff_of(db, person, provider).await,
            _ => Ok(false),
        }
    }

    /// `FORBIDDEN` unless the caller may create, update or delete an offering of a course of
    /// `provider` at `school`.
    async fn may_edit(
        &self,
        db: &impl ConnectionTrait,
        provider: i64,
        school: Option<i64>,
    ) -> AppResult<()> {
        match self.kind {
            Kind::Programme => Ok(()),
            Kind::School(own) if school == Some(own) => Ok(()),
            _ if self.is_provider_staff(db, provider).await? => Ok(()),
            _ => Err(AppError::Forbidden),
        }
    }

    /// `FORBIDDEN` unless the caller may run the lifecycle of an offering of `provider`'s course.
    async fn may_run(&self, db: &impl ConnectionTrait, provider: i64) -> AppResult<()> {
        match self.kind {
            Kind::Programme => Ok(()),
            _ if self.is_provider_staff(db, provider).await? => Ok(()),
            _ => Err(AppError::Forbidden),
        }
    }
}

/// `BAD_USER_INPUT` on `field` unless `metadata` is a JSON object of at most 16 KB.
pub fn check_metadata(metadata: Option<&serde_json::Value>, field: &str) -> AppResult<()> {
    metadata.map_or(Ok(()), |value| write::check_metadata(value, field))
}

/// `BAD_USER_INPUT` on `endDate` unless `start < end` (end dates are exclusive).
fn check_order(start: NaiveDate, end: NaiveDate, start_name: &str) -> AppResult<()> {
    if end <= start {
        return Err(AppError::bad_input(
            "endDate",
            format!("`endDate` (exclusive) must be after `{start_name}`"),
        ));
    }
    Ok(())
}

/// An offering to create. References are sourcedIds.
#[derive(Clone, Debug)]
pub struct NewOffering<'a> {
    pub course: &'a str,
    pub class_code: &'a str,
    /// The hosting school; a school caller's own school when omitted.
    pub school_org: Option<&'a str>,
    pub cohort: Option<&'a str>,
    pub terms: &'a [String],
    /// One of [`DELIVERY_MODES`].
    pub delivery_mode: &'static str,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub metadata: Option<serde_json::Value>,
    pub sourced_id: Option<&'a str>,
}

/// Changes to an offering: `None` leaves a field unchanged; `Some(None)` clears a nullable one.
#[derive(Clone, Debug, Default)]
pub struct OfferingChanges {
    pub class_code: Option<String>,
    pub school_org: Option<Option<String>>,
    pub cohort: Option<Option<String>>,
    /// Replaces the terms when given.
    pub terms: Option<Vec<String>>,
    pub delivery_mode: Option<&'static str>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub metadata: Option<Option<serde_json::Value>>,
}

/// Checks the term list's shape: at least one, no repeats.
fn check_term_list(terms: &[String]) -> AppResult<()> {
    if terms.is_empty() {
        return Err(AppError::bad_input(
            "terms",
            "`terms` needs at least one academic session",
        ));
    }
    let mut seen = HashSet::new();
    for (i, t) in terms.iter().enumerate() {
        if !seen.insert(t.as_str()) {
            return Err(AppError::bad_input(
                format!("terms.{i}"),
                format!("term {t:?} is listed twice"),
            ));
        }
    }
    Ok(())
}

/// The active sessions the terms name, in list order; each must belong to the programme
/// calendar or to `school`.
async fn load_terms(
    db: &impl ConnectionTrait,
    terms: &[String],
    school: Option<i64>,
) -> AppResult<Vec<academic_session::Model>> {
    let rows = academic_session::Entity::find()
        .filter(academic_session::Column::SourcedId.is_in(terms.iter().map(String::as_str)))
        .filter(academic_session::Column::Status.eq(STATUS_ACTIVE))
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(terms.len());
    for (i, sid) in terms.iter().enumerate() {
        let field = format!("terms.{i}");
        let Some(row) = rows.iter().find(|r| &r.sourced_id == sid) else {
            return Err(AppError::bad_input(
                field,
                format!("no active academic session {sid:?}"),
            ));
        };
        if row.org_id.is_some() && row.org_id != school {
            return Err(AppError::bad_input(
                field,
                format!(
                    "academic session {sid:?} belongs to another organisation's calendar; use the \
                     programme calendar or the offering's school's"
                ),
            ));
        }
        out.push(row.clone());
    }
    Ok(out)
}

/// The offering runs within its terms.
fn check_within_terms(
    start: NaiveDate,
    end: NaiveDate,
    terms: &[academic_session::Model],
) -> AppResult<()> {
    let (Some(first), Some(last)) = (
        terms.iter().map(|t| t.start_date).min(),
        terms.iter().map(|t| t.end_date).max(),
    ) else {
        return Ok(());
    };
    if start < first {
        return Err(AppError::bad_input(
            "startDate",
            format!("`startDate` {start} is before the first term starts ({first})"),
        ));
    }
    if end > last {
        return Err(AppError::bad_input(
            "endDate",
            format!("`endDate` {end} is after the last term ends ({last}, exclusive)"),
        ));
    }
    Ok(())
}

/// An active course by sourcedId, else `BAD_USER_INPUT` on `course`.
async fn course_named(db: &impl ConnectionTrait, sid: &str) -> AppResult<course::Model> {
    course::Entity::find()
        .filter(course::Column::SourcedId.eq(sid))
        .filter(course::Column::Status.eq(STATUS_ACTIVE))
        .one(db)
        .await?
        .ok_or_else(|| AppError::bad_input("course", format!("no active course {sid:?}")))
}

/// An active secondary school by sourcedId, else `BAD_USER_INPUT` on `field`.
pub async fn school_named(
    db: &impl ConnectionTrait,
    sid: &str,
    field: &str,
) -> AppResult<org::Model> {
    org::Entity::find()
        .filter(org::Column::SourcedId.eq(sid))
        .filter(org::Column::Status.eq(STATUS_ACTIVE))
        .filter(org::Column::OrgType.eq("secondarySchool"))
        .one(db)
        .await?
        .ok_or_else(|| AppError::bad_input(field, format!("no active secondary school {sid:?}")))
}

async fn cohort_named(db: &impl ConnectionTrait, sid: &str) -> AppResult<cohort::Model> {
    cohort::Entity::find()
        .filter(cohort::Column::SourcedId.eq(sid))
        .filter(cohort::Column::Status.eq(STATUS_ACTIVE))
        .one(db)
        .await?
        .ok_or_else(|| AppError::bad_input("cohort", format!("no active cohort {sid:?}")))
}

fn check_mode(mode: &str, school: Option<i64>) -> AppResult<()> {
    if mode == "mode2SchoolBased" && school.is_none() {
        return Err(AppError::bad_input(
            "schoolOrg",
            "a school-based (mode 2) offering needs `schoolOrg`",
        ));
    }
    Ok(())
}

/// `DUPLICATE` when the course already has an offering (tombstones included) with the code.
async fn check_class_code(
    db: &impl ConnectionTrait,
    course: &course::Model,
    class_code: &str,
    except: Option<i64>,
) -> AppResult<()> {
    let mut query = course_offering::Entity::find()
        .filter(course_offering::Column::CourseId.eq(course.id))
        .filter(course_offering::Column::ClassCode.eq(class_code));
    if let Some(id) = except {
        query = query.filter(course_offering::Column::Id.ne(id));
    }
    if let Some(other) = query.one(db).await? {
        return Err(write::duplicate(format!(
            "course {} already has an offering with classCode {class_code:?} ({}{})",
            course.course_code,
            other.sourced_id,
            if other.status == STATUS_ACTIVE {
                ""
            } else {
                ", deleted"
            }
        )));
    }
    Ok(())
}

async fn replace_terms(
    db: &impl ConnectionTrait,
    offering: i64,
    terms: &[academic_session::Model],
) -> AppResult<()> {
    offering_term::Entity::delete_many()
        .filter(offering_term::Column::OfferingId.eq(offering))
        .exec(db)
        .await?;
    let links: Vec<offering_term::ActiveModel> = terms
        .iter()
        .map(|t| offering_term::ActiveModel {
            offering_id: Set(offering),
            session_id: Set(t.id),
        })
        .collect();
    if !links.is_empty() {
        offering_term::Entity::insert_many(links)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Creates an offering in state `planned`. Expected failures: `BAD_USER_INPUT` on `course`,
/// `classCode`, `schoolOrg`, `cohort`, `terms` (or `terms.<i>`), `startDate`, `endDate`,
/// `metadata` or `sourcedId`; `DUPLICATE` for a class code or sourcedId in use. `FORBIDDEN` when
/// the caller may not create offerings of this course at this school.
#[tracing::instrument(skip_all, fields(offering.course = %new.course))]
pub async fn create(
    db: &DatabaseConnection,
    viewer: &Viewer,
    new: &NewOffering<'_>,
) -> AppResult<course_offering::Model> {
    let caller = caller(viewer)?;
    let actor = Actor::of(caller.principal);
    let sourced_id = write::new_sourced_id(new.sourced_id, "sourcedId")?;
    let class_code = write::required_text(new.class_code, "classCode", write::MAX_SHORT_TEXT)?;
    check_order(new.start_date, new.end_date, "startDate")?;
    check_term_list(new.terms)?;
    check_metadata(new.metadata.as_ref(), "metadata")?;

    let txn = write::begin(db).await?;
    let course = course_named(&txn, new.course).await?;
    let school = match (new.school_org, caller.kind) {
        (Some(sid), _) => Some(school_named(&txn, sid, "schoolOrg").await?.id),
        (None, Kind::School(own)) => Some(own),
        (None, _) => None,
    };
    caller
        .may_edit(&txn, course.provider_org_id, school)
        .await?;
    check_mode(new.delivery_mode, school)?;
    let cohort = match new.cohort {
        Some(sid) => Some(cohort_named(&txn, sid).await?.id),
        None => None,
    };
    let terms = load_terms(&txn, new.terms, school).await?;
    check_within_terms(new.start_date, new.end_date, &terms)?;
    check_class_code(&txn, &course, &class_code, None).await?;
    if course_offering::Entity::find()
        .filter(course_offering::Column::SourcedId.eq(sourced_id.as_str()))
        .one(&txn)
        .await?
        .is_some()
    {
        return Err(write::duplicate(format!(
            "a CourseOffering with sourcedId {sourced_id} already exists"
        )));
    }

    let now = changes::now();
    let row = course_offering::ActiveModel {
        sourced_id: Set(sourced_id),
        status: Set(STATUS_ACTIVE.to_owned()),
        date_created: Set(now),
        date_last_modified: Set(now),
        version: Set(1),
        metadata: Set(new.metadata.clone()),
        created_by: Set(Some(actor.subject.clone())),
        modified_by: Set(Some(actor.subject.clone())),
        course_id: Set(course.id),
        class_code: Set(class_code),
        school_org_id: Set(school),
        cohort_id: Set(cohort),
        delivery_mode: Set(new.delivery_mode.to_owned()),
        start_date: Set(new.start_date),
        end_date: Set(new.end_date),
        state: Set(PLANNED.to_owned()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    replace_terms(&txn, row.id, &terms).await?;
    write::record_transition(
        &txn,
        Transition {
            entity_type: TYPE_NAME,
            entity_id: row.id,
            from: None,
            to: PLANNED,
            reason: None,
        },
        &actor,
        now,
    )
    .await?;
    write::emit(
        &txn,
        &[write::change(
            TYPE_NAME,
            row.id,
            &row.sourced_id,
            changes::CREATE,
            row.version,
        )],
        now,
    )
    .await?;
    txn.commit().await?;
    tracing::info!(offering.sourced_id = %row.sourced_id, "course offering created");
    Ok(row)
}

/// The offering by sourcedId (tombstones too), else `NOT_FOUND`.
async fn offering_named(
    db: &impl ConnectionTrait,
    sid: &str,
) -> AppResult<(course_offering::Model, course::Model)> {
    let offering = course_offering::Entity::find()
        .filter(course_offering::Column::SourcedId.eq(sid))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("course offering".into()))?;
    let course = course::Entity::find_by_id(offering.course_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("course".into()))?;
    Ok((offering, course))
}

/// Updates an offering's fields (not its course or state). Expected failures as for
/// [`create`], plus `VERSION_CONFLICT` and `INVALID_TRANSITION` (a deleted offering).
/// An unknown offering is `NOT_FOUND`; one the caller may not edit, or a move to a school the
/// caller may not use, `FORBIDDEN`.
#[tracing::instrument(skip_all, fields(offering.sourced_id = %sourced_id))]
pub async fn update(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: &str,
    expected_version: Option<i32>,
    changes_in: &OfferingChanges,
) -> AppResult<course_offering::Model> {
    let caller = caller(viewer)?;
    let actor = Actor::of(caller.principal);
    let class_code = changes_in
        .class_code
        .as_deref()
        .map(|c| write::required_text(c, "classCode", write::MAX_SHORT_TEXT))
        .transpose()?;
    if let Some(terms) = &changes_in.terms {
        check_term_list(terms)?;
    }
    if let Some(Some(metadata)) = &changes_in.metadata {
        check_metadata(Some(metadata), "metadata")?;
    }

    let txn = write::begin(db).await?;
    let (current, course) = offering_named(&txn, sourced_id).await?;
    caller
        .may_edit(&txn, course.provider_org_id, current.school_org_id)
        .await?;
    write::check_expected_version(TYPE_NAME, sourced_id, current.version, expected_version)?;
    if current.status != STATUS_ACTIVE {
        return Err(write::invalid_transition(format!(
            "course offering {sourced_id} is deleted"
        )));
    }
    let school = match &changes_in.school_org {
        None => current.school_org_id,
        Some(None) => None,
        Some(Some(sid)) => Some(school_named(&txn, sid, "schoolOrg").await?.id),
    };
    if school != current.school_org_id {
        caller
            .may_edit(&txn, course.provider_org_id, school)
            .await?;
    }
    let mode = changes_in
        .delivery_mode
        .unwrap_or(current.delivery_mode.as_str())
        .to_owned();
    check_mode(&mode, school)?;
    let cohort = match &changes_in.cohort {
        None => current.cohort_id,
        Some(None) => None,
        Some(Some(sid)) => Some(cohort_named(&txn, sid).await?.id),
    };
    let start = changes_in.start_date.unwrap_or(current.start_date);
    let end = changes_in.end_date.unwrap_or(current.end_date);
    check_order(start, end, "startDate")?;
    let new_terms = match &changes_in.terms {
        Some(terms) => Some(load_terms(&txn, terms, school).await?),
        None => None,
    };
    let dates_or_terms =
        changes_in.start_date.is_some() || changes_in.end_date.is_some() || new_terms.is_some();
    if dates_or_terms {
        let terms = match &new_terms {
            Some(t) => t.clone(),
            None => {
                let ids: Vec<i64> = offering_term::Entity::find()
                    .filter(offering_term::Column::OfferingId.eq(current.id))
                    .all(&txn)
                    .await?
                    .into_iter()
                    .map(|l| l.session_id)
                    .collect();
                academic_session::Entity::find()
                    .filter(academic_session::Column::Id.is_in(ids))
                    .all(&txn)
                    .await?
            }
        };
        check_within_terms(start, end, &terms)?;
    }
    if let Some(code) = &class_code
        && code != &current.class_code
    {
        check_class_code(&txn, &course, code, Some(current.id)).await?;
    }
    let metadata = match &changes_in.metadata {
        None => current.metadata.clone(),
        Some(m) => m.clone(),
    };

    let now = changes::now();
    let set: Vec<(course_offering::Column, SimpleExpr)> = vec![
        (
            course_offering::Column::ClassCode,
            Expr::value(class_code.clone().unwrap_or(current.class_code.clone())),
        ),
        (course_offering::Column::SchoolOrgId, Expr::value(school)),
        (course_offering::Column::CohortId, Expr::value(cohort)),
        (
            course_offering::Column::DeliveryMode,
            Expr::value(mode.clone()),
        ),
        (course_offering::Column::StartDate, Expr::value(start)),
        (course_offering::Column::EndDate, Expr::value(end)),
        (
            course_offering::Column::Metadata,
            Expr::value(metadata.clone()),
        ),
    ];
    let version = write::update_versioned::<course_offering::Entity>(
        &txn,
        VersionedUpdate {
            type_name: TYPE_NAME,
            sourced_id: current.sourced_id.clone(),
            id: current.id,
            version: current.version,
            guard: Some(Expr::col(course_offering::Column::Status).eq(STATUS_ACTIVE)),
            set,
        },
        &actor,
        now,
    )
    .await?;
    if let Some(terms) = &new_terms {
        replace_terms(&txn, current.id, terms).await?;
    }
    write::emit(
        &txn,
        &[write::change(
            TYPE_NAME,
            current.id,
            &current.sourced_id,
            changes::UPDATE,
            version,
        )],
        now,
    )
    .await?;
    txn.commit().await?;
    tracing::info!("course offering updated");
    Ok(course_offering::Model {
        class_code: class_code.unwrap_or(current.class_code.clone()),
        school_org_id: school,
        cohort_id: cohort,
        delivery_mode: mode,
        start_date: start,
        end_date: end,
        metadata,
        version,
        date_last_modified: now,
        modified_by: Some(actor.subject),
        ..current
    })
}

/// Deletes an offering as a tombstone. `INVALID_TRANSITION` when it is already deleted or still
/// has course enrolments that are not deleted (delete or move them first); `VERSION_CONFLICT`
/// for a stale version. Who: as for [`update`].
#[tracing::instrument(skip_all, fields(offering.sourced_id = %sourced_id))]
pub async fn delete(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: &str,
    expected_version: Option<i32>,
) -> AppResult<course_offering::Model> {
    let caller = caller(viewer)?;
    let actor = Actor::of(caller.principal);
    let txn = write::begin(db).await?;
    let (current, course) = offering_named(&txn, sourced_id).await?;
    caller
        .may_edit(&txn, course.provider_org_id, current.school_org_id)
        .await?;
    write::check_expected_version(TYPE_NAME, sourced_id, current.version, expected_version)?;
    if current.status == STATUS_ACTIVE
        && course_enrollment::Entity::find()
            .filter(course_enrollment::Column::OfferingId.eq(current.id))
            .filter(course_enrollment::Column::Status.eq(STATUS_ACTIVE))
            .one(&txn)
            .await?
            .is_some()
    {
        return Err(write::invalid_transition(format!(
            "course offering {sourced_id} still has course enrolments; delete them first"
        )));
    }
    let now = changes::now();
    let version = write::tombstone::<course_offering::Entity>(
        &txn,
        TYPE_NAME,
        current.id,
        &current.sourced_id,
        expected_version.unwrap_or(current.version),
        &actor,
        now,
    )
    .await?;
    txn.commit().await?;
    tracing::info!("course offering deleted");
    Ok(course_offering::Model {
        status: entity::STATUS_TOBEDELETED.to_owned(),
        version,
        date_last_modified: now,
        modified_by: Some(actor.subject),
        ..current
    })
}

/// Applies a lifecycle transition. Expected failures: `VERSION_CONFLICT`,
/// `INVALID_TRANSITION` (not allowed from the current state, or the offering is deleted),
/// `BAD_USER_INPUT` on `reason`. Unknown: `NOT_FOUND`; not programme staff nor the provider's
/// staff: `FORBIDDEN`.
#[tracing::instrument(skip_all, fields(offering.sourced_id = %sourced_id, offering.action = action.verb()))]
pub async fn transition(
    db: &DatabaseConnection,
    viewer: &Viewer,
    action: Action,
    sourced_id: &str,
    expected_version: Option<i32>,
    reason: Option<&str>,
) -> AppResult<course_offering::Model> {
    let caller = caller(viewer)?;
    let actor = Actor::of(caller.principal);
    let reason = write::reason(reason)?;
    let txn = write::begin(db).await?;
    let (current, course) = offering_named(&txn, sourced_id).await?;
    caller.may_run(&txn, course.provider_org_id).await?;
    write::check_expected_version(TYPE_NAME, sourced_id, current.version, expected_version)?;
    if current.status != STATUS_ACTIVE {
        return Err(write::invalid_transition(format!(
            "course offering {sourced_id} is deleted"
        )));
    }
    if !action.from_states().contains(&current.state.as_str()) {
        return Err(write::invalid_transition(format!(
            "cannot {} course offering {sourced_id}: it is {}, and only a {} offering can",
            action.verb(),
            current.state,
            action.from_states().join(" or "),
        )));
    }
    let now = changes::now();
    if action == Action::Start {
        // DOMAIN.md area B: reaching running pins each unit's published version for good.
        super::coverage::pin_published_versions(&txn, current.id, current.course_id, now).await?;
    }
    let to = action.to_state();
    let version = write::update_versioned::<course_offering::Entity>(
        &txn,
        VersionedUpdate {
            type_name: TYPE_NAME,
            sourced_id: current.sourced_id.clone(),
            id: current.id,
            version: current.version,
            guard: Some(Expr::col(course_offering::Column::State).eq(current.state.as_str())),
            set: vec![(course_offering::Column::State, Expr::value(to))],
        },
        &actor,
        now,
    )
    .await?;
    write::transitioned(
        &txn,
        Transition {
            entity_type: TYPE_NAME,
            entity_id: current.id,
            from: Some(&current.state),
            to,
            reason: reason.as_deref(),
        },
        &current.sourced_id,
        version,
        &actor,
        now,
    )
    .await?;
    txn.commit().await?;
    tracing::info!(offering.state = to, "course offering transition");
    Ok(course_offering::Model {
        state: to.to_owned(),
        version,
        date_last_modified: now,
        modified_by: Some(actor.subject),
        ..current
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifecycle_matches_the_domain() {
        assert_eq!(Action::Open.from_states(), &[PLANNED]);
        assert_eq!(Action::Start.from_states(), &[OPEN_FOR_ENROLMENT]);
        assert_eq!(Action::Complete.from_states(), &[RUNNING]);
        assert_eq!(Action::Cancel.from_states(), &[PLANNED, OPEN_FOR_ENROLMENT]);
        for action in [
            Action::Open,
            Action::Start,
            Action::Complete,
            Action::Cancel,
        ] {
            assert!(!action.from_states().contains(&COMPLETED));
            assert!(!action.from_states().contains(&CANCELLED));
        }
    }

    #[test]
    fn metadata_is_an_object_of_at_most_16_kb() {
        assert!(check_metadata(Some(&serde_json::json!({"a": 1})), "metadata").is_ok());
        assert!(check_metadata(Some(&serde_json::json!([1])), "metadata").is_err());
        let big = "x".repeat(MAX_METADATA_BYTES);
        assert!(check_metadata(Some(&serde_json::json!({ "a": big })), "metadata").is_err());
    }
}
