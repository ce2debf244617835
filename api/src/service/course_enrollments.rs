//! Writing course enrolments (DOMAIN.md area B, OneRoster Enrollment): create, update, delete
//! (tombstone), the lifecycle `enrolled → completed | withdrawn | transferred`, and the bulk
//! upsert `upsertCourseEnrollments`.
//!
//! **Who** (DOMAIN.md section 4, "CourseEnrollment: RW own"; area B "made by a
//! schoolCoordinator or teacher (own school), a school client, or programmeStaff"):
//! - programmeStaff and programmeAdmin: any enrolment.
//! - a schoolCoordinator, or the school's integration client holding `enrollment.write`: the
//!   enrolments of its own school (in offerings hosted there or hosted by no school).
//! - a teacher: the enrolments of the offerings they teach (an active teacher enrolment in the
//!   offering, as the read access of [`crate::access`] defines "taught"), at their school. The
//!   people they can enrol are those they can see: students of their offerings, staff.
//! - everyone else (partners, mentors, students, guardians, evaluators, provider staff):
//!   `FORBIDDEN`; an enrolment outside the caller's reach is `NOT_FOUND`.
//!
//! **Rules.** The person must be within the caller's reach (a student through the same
//! condition as the `students` list); role `student|teacher|aide|ext:mentor`; a student must
//! hold an active student role, and a teacher an active teacher role, at the enrolment's
//! school. The school (`schoolOrg`) is the caller's own school for school callers; programme
//! staff name it, or it is the offering's school, or the one school where the person holds the
//! role. The offering must be active and hosted by that school or by none. Unique among all rows
//! (tombstones included, as the database key): (person, offering, role, beginDate) →
//! `DUPLICATE`. `beginDate < endDate` (exclusive); `contactHoursAttended ≥ 0`; metadata an
//! object of at most 16 KB.
//!
//! **Lifecycle.** Creating an enrolment is the transition `new → enrolled`, so its guard, the
//! offering being `open_for_enrolment` or `running`, fails with `INVALID_TRANSITION` (a planned,
//! cancelled or completed offering takes no enrolments). `completeCourseEnrollment` needs a
//! running or completed offering; `transferCourseEnrollment` needs `transferredTo`: another
//! active, `enrolled` enrolment of the same person within the caller's reach. Every accepted
//! transition, creation included, writes StatusHistory and a change event.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use entity::{
    STATUS_ACTIVE, course_enrollment, course_offering, org, person, role_assignment, status_history,
};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
};

use super::offering_writes::{self, check_metadata};
use super::upsert::{self, ExternalKey, Outcome};
use super::write::{self, Actor, Transition, VersionedUpdate};
use crate::access::{self, Reach, Scoped};
use crate::auth::{Principal, Role, Viewer};
use crate::changes::{self, Change};
use crate::error::{AppError, AppResult};

/// GraphQL type name of course enrolments (history, change events and external ids).
pub const TYPE_NAME: &str = "CourseEnrollment";

/// Lifecycle states, as stored.
pub const ENROLLED: &str = "enrolled";
pub const COMPLETED: &str = "completed";
pub const WITHDRAWN: &str = "withdrawn";
pub const TRANSFERRED: &str = "transferred";

/// The roles of DOMAIN.md area B.
pub const ROLES: [&str; 4] = ["student", "teacher", "aide", "ext:mentor"];

/// The write scope an integration client needs.
pub const WRITE_SCOPE: &str = "enrollment.write";

/// Offering states that take new enrolments.
pub const ENROLLING_OFFERING: [&str; 2] = [
    offering_writes::OPEN_FOR_ENROLMENT,
    offering_writes::RUNNING,
];

/// Most rows per statement in the batched reads and inserts.
const CHUNK: usize = 500;

/// A named lifecycle transition of a course enrolment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `enrolled → completed`; the offering is running or completed.
    Complete,
    /// `enrolled → withdrawn`.
    Withdraw,
    /// `enrolled → transferred`; needs `transferredTo`.
    Transfer,
}

impl Action {
    pub fn to_state(self) -> &'static str {
        match self {
            Action::Complete => COMPLETED,
            Action::Withdraw => WITHDRAWN,
            Action::Transfer => TRANSFERRED,
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            Action::Complete => "complete",
            Action::Withdraw => "withdraw",
            Action::Transfer => "transfer",
        }
    }
}

/// The caller of an enrolment write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Programme,
    /// A schoolCoordinator or the school's client.
    School(i64),
    /// A teacher at the school: only the offerings they teach.
    Teacher {
        school: i64,
        person: i64,
    },
}

impl Kind {
    fn school(self) -> Option<i64> {
        match self {
            Kind::Programme => None,
            Kind::School(s) | Kind::Teacher { school: s, .. } => Some(s),
        }
    }
}

struct Caller<'a> {
    principal: &'a Principal,
    kind: Kind,
}

fn caller(viewer: &Viewer) -> AppResult<Caller<'_>> {
    let principal = access::principal(viewer)?;
    let kind = match Reach::of(viewer) {
        Reach::Programme => Kind::Programme,
        Reach::Schools { schools, teacher } => {
            let school = schools.first().copied().ok_or(AppError::Forbidden)?;
            match teacher {
                None => Kind::School(school),
                Some(person) => Kind::Teacher { school, person },
            }
        }
        _ => return Err(AppError::Forbidden),
    };
    write::require_write_scope(principal, WRITE_SCOPE)?;
    Ok(Caller { principal, kind })
}

/// The guard of every enrolment mutation, checked before any input is read: `UNAUTHENTICATED`
/// without a token, `FORBIDDEN` for roles that never write enrolments and for clients without
/// `enrollment.write`.
pub fn authorize(viewer: &Viewer) -> AppResult<()> {
    caller(viewer).map(|_| ())
}

/// Whether `role` is a course enrolment role.
pub fn is_role(role: &str) -> bool {
    ROLES.contains(&role)
}

/// How an item names the person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PersonRef {
    SourcedId(String),
    /// An ExternalId of a Person in the caller's organisation.
    External(ExternalKey),
}

/// The fields of an enrolment write (create, or one upsert item). `None` leaves a field
/// unchanged on update; `Some(None)` clears a nullable one. References are sourcedIds.
#[derive(Clone, Debug, Default)]
pub struct EnrollmentFields {
    pub person: Option<PersonRef>,
    pub offering: Option<String>,
    pub role: Option<String>,
    pub begin_date: Option<NaiveDate>,
    pub end_date: Option<Option<NaiveDate>>,
    pub contact_hours_attended: Option<Option<f64>>,
    pub metadata: Option<Option<serde_json::Value>>,
    /// The sourcedId to give a new enrolment.
    pub sourced_id: Option<String>,
    /// Upsert items only: the version the caller read. Given, the item applies only to an
    /// enrolment still at that version (else `VERSION_CONFLICT`) and may not create
    /// (`BAD_USER_INPUT`).
    pub expected_version: Option<i32>,
}

/// A checked new row.
#[derive(Clone, Debug)]
struct NewRow {
    sourced_id: String,
    person: i64,
    offering: i64,
    school: i64,
    role: String,
    begin: NaiveDate,
    end: Option<NaiveDate>,
    hours: Option<f64>,
    metadata: Option<serde_json::Value>,
}

impl NewRow {
    fn key(&self) -> (i64, i64, String, NaiveDate) {
        (self.person, self.offering, self.role.clone(), self.begin)
    }
}

fn check_hours(hours: Option<f64>) -> AppResult<()> {
    match hours {
        Some(h) if !h.is_finite() || h < 0.0 => Err(AppError::bad_input(
            "contactHoursAttended",
            "`contactHoursAttended` must be a number of hours, 0 or more",
        )),
        _ => Ok(()),
    }
}

fn check_dates(begin: NaiveDate, end: Option<NaiveDate>) -> AppResult<()> {
    match end {
        Some(end) if end <= begin => Err(AppError::bad_input(
            "endDate",
            "`endDate` (exclusive) must be after `beginDate`",
        )),
        _ => Ok(()),
    }
}

/// Everything the checks of a batch read, loaded with a few statements per batch.
#[derive(Default)]
struct Lookups {
    /// People within the caller's reach, by sourcedId and id.
    persons_by_sid: HashMap<String, i64>,
    persons: HashSet<i64>,
    /// Person ids of the caller's external keys.
    persons_by_key: HashMap<ExternalKey, i64>,
    /// Of those, the students within the caller's reach.
    students: HashSet<i64>,
    /// Active roles today: (person, org, role), at secondary schools.
    roles: HashSet<(i64, i64, String)>,
    offerings: HashMap<String, course_offering::Model>,
    /// Offerings the teacher caller teaches.
    taught: HashSet<i64>,
    /// Natural keys in use (every row).
    taken: HashSet<(i64, i64, String, NaiveDate)>,
    /// sourcedIds in use (every row).
    sids_taken: HashSet<String>,
}

impl Lookups {
    async fn load(
        db: &impl ConnectionTrait,
        viewer: &Viewer,
        caller: &Caller<'_>,
        items: &[&EnrollmentFields],
        key_org: Option<i64>,
    ) -> AppResult<Lookups> {
        let mut out = Lookups::default();
        let person_scope = person::Entity::scope(viewer)?;
        let mut sids: Vec<&str> = Vec::new();
        let mut keys: Vec<&ExternalKey> = Vec::new();
        for item in items {
            match &item.person {
                Some(PersonRef::SourcedId(s)) => sids.push(s),
                Some(PersonRef::External(k)) => keys.push(k),
                None => {}
            }
        }
        for chunk in sids.chunks(CHUNK) {
            let rows = person::Entity::find()
                .filter(person::Column::SourcedId.is_in(chunk.iter().copied()))
                .filter(person::Column::Status.eq(STATUS_ACTIVE))
                .filter(person_scope.clone())
                .all(db)
                .await?;
            for row in rows {
                out.persons.insert(row.id);
                out.persons_by_sid.insert(row.sourced_id, row.id);
            }
        }
        if let (false, Some(org)) = (keys.is_empty(), key_org) {
            let found = upsert::find_external(db, person::Entity::TYPE_NAME, org, &keys).await?;
            let ids: Vec<i64> = found.values().copied().collect();
            let mut visible = HashSet::new();
            for chunk in ids.chunks(CHUNK) {
                let rows = person::Entity::find()
                    .filter(person::Column::Id.is_in(chunk.iter().copied()))
                    .filter(person::Column::Status.eq(STATUS_ACTIVE))
                    .filter(person_scope.clone())
                    .all(db)
                    .await?;
                visible.extend(rows.into_iter().map(|r| r.id));
            }
            for (key, id) in found {
                if visible.contains(&id) {
                    out.persons.insert(id);
                    out.persons_by_key.insert(key, id);
                }
            }
        }
        let person_ids: Vec<i64> = out.persons.iter().copied().collect();
        let students_scope = access::students_condition(viewer)?;
        let today = access::today();
        for chunk in person_ids.chunks(CHUNK) {
            let rows = person::Entity::find()
                .filter(person::Column::Id.is_in(chunk.iter().copied()))
                .filter(students_scope.clone())
                .all(db)
                .await?;
            out.students.extend(rows.into_iter().map(|r| r.id));
            let roles = role_assignment::Entity::find()
                .filter(role_assignment::Column::PersonId.is_in(chunk.iter().copied()))
                .filter(role_assignment::Column::Status.eq(STATUS_ACTIVE))
                .filter(role_assignment::Column::BeginDate.lte(today))
                .filter(
                    Condition::any()
                        .add(role_assignment::Column::EndDate.is_null())
                        .add(role_assignment::Column::EndDate.gt(today)),
                )
                .filter(
                    role_assignment::Column::OrgId.in_subquery(
                        sea_orm::sea_query::Query::select()
                            .column(org::Column::Id)
                            .from(org::Entity)
                            .and_where(org::Column::OrgType.eq("secondarySchool"))
                            .and_where(org::Column::Status.eq(STATUS_ACTIVE))
                            .to_owned(),
                    ),
                )
                .all(db)
                .await?;
            out.roles
                .extend(roles.into_iter().map(|r| (r.person_id, r.org_id, r.role)));
        }
        let offering_sids: Vec<&str> = items
            .iter()
            .filter_map(|i| i.offering.as_deref())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        for chunk in offering_sids.chunks(CHUNK) {
            let rows = course_offering::Entity::find()
                .filter(course_offering::Column::SourcedId.is_in(chunk.iter().copied()))
                .all(db)
                .await?;
            out.offerings
                .extend(rows.into_iter().map(|r| (r.sourced_id.clone(), r)));
        }
        let offering_ids: Vec<i64> = out.offerings.values().map(|o| o.id).collect();
        if let Kind::Teacher { person, .. } = caller.kind
            && !offering_ids.is_empty()
        {
            let rows = course_enrollment::Entity::find()
                .filter(course_enrollment::Column::PersonId.eq(person))
                .filter(course_enrollment::Column::Role.eq(Role::Teacher.as_str()))
                .filter(course_enrollment::Column::Status.eq(STATUS_ACTIVE))
                .filter(course_enrollment::Column::OfferingId.is_in(offering_ids.iter().copied()))
                .all(db)
                .await?;
            out.taught.extend(rows.into_iter().map(|r| r.offering_id));
        }
        if !offering_ids.is_empty() {
            for chunk in person_ids.chunks(CHUNK) {
                let rows = course_enrollment::Entity::find()
                    .filter(course_enrollment::Column::PersonId.is_in(chunk.iter().copied()))
                    .filter(
                        course_enrollment::Column::OfferingId.is_in(offering_ids.iter().copied()),
                    )
                    .all(db)
                    .await?;
                out.taken.extend(
                    rows.into_iter()
                        .map(|r| (r.person_id, r.offering_id, r.role, r.begin_date)),
                );
            }
        }
        let new_sids: Vec<&str> = items
            .iter()
            .filter_map(|i| i.sourced_id.as_deref())
            .collect();
        for chunk in new_sids.chunks(CHUNK) {
            let rows = course_enrollment::Entity::find()
                .filter(course_enrollment::Column::SourcedId.is_in(chunk.iter().copied()))
                .all(db)
                .await?;
            out.sids_taken
                .extend(rows.into_iter().map(|r| r.sourced_id));
        }
        Ok(out)
    }

    /// The person an item names, within the caller's reach; `BAD_USER_INPUT` otherwise.
    fn person(&self, person: &PersonRef) -> AppResult<i64> {
        match person {
            PersonRef::SourcedId(sid) => self.persons_by_sid.get(sid).copied().ok_or_else(|| {
                AppError::bad_input("person", format!("no person {sid:?} within your reach"))
            }),
            PersonRef::External(key) => self.persons_by_key.get(key).copied().ok_or_else(|| {
                AppError::bad_input(
                    "personExternalId",
                    format!(
                        "no person with external id {}/{}/{} of your organisation within \
                             your reach",
                        key.system, key.id_type, key.identifier
                    ),
                )
            }),
        }
    }

    /// The single secondary school where `person` holds `role`, if there is exactly one.
    fn only_school(&self, person: i64, role: &str) -> Option<i64> {
        let schools: HashSet<i64> = self
            .roles
            .iter()
            .filter(|(p, _, r)| *p == person && r == role)
            .map(|(_, o, _)| *o)
            .collect();
        match schools.len() {
            1 => schools.into_iter().next(),
            _ => None,
        }
    }

    /// Checks a new enrolment. `school` is the school the call names (already checked).
    fn check_new(
        &self,
        kind: Kind,
        item: &EnrollmentFields,
        school: Option<i64>,
    ) -> AppResult<NewRow> {
        let sourced_id = write::new_sourced_id(item.sourced_id.as_deref(), "sourcedId")?;
        let role = item.role.as_deref().ok_or_else(|| {
            AppError::bad_input("role", "`role` is needed to create an enrolment")
        })?;
        if !is_role(role) {
            return Err(AppError::bad_input(
                "role",
                format!("unknown role {role:?}; use one of {}", ROLES.join(", ")),
            ));
        }
        let person = item.person.as_ref().ok_or_else(|| {
            AppError::bad_input(
                "person",
                "`person` or `personExternalId` is needed to create an enrolment",
            )
        })?;
        let person = self.person(person)?;
        let person_field = match item.person {
            Some(PersonRef::External(_)) => "personExternalId",
            _ => "person",
        };
        if role == Role::Student.as_str() && !self.students.contains(&person) {
            return Err(AppError::bad_input(
                person_field,
                "the person is not a student within your reach",
            ));
        }
        let offering_sid = item.offering.as_deref().ok_or_else(|| {
            AppError::bad_input("offering", "`offering` is needed to create an enrolment")
        })?;
        let offering = self
            .offerings
            .get(offering_sid)
            .filter(|o| o.status == STATUS_ACTIVE)
            .ok_or_else(|| {
                AppError::bad_input(
                    "offering",
                    format!("no active course offering {offering_sid:?}"),
                )
            })?;
        let begin = item.begin_date.ok_or_else(|| {
            AppError::bad_input("beginDate", "`beginDate` is needed to create an enrolment")
        })?;
        let school = match kind.school().or(school) {
            Some(s) => s,
            None => offering
                .school_org_id
                .or_else(|| self.only_school(person, role))
                .ok_or_else(|| {
                    AppError::bad_input(
                        "schoolOrg",
                        "name the school of the enrolment: neither the offering nor the \
                         person's roles determine it",
                    )
                })?,
        };
        for held in [Role::Student, Role::Teacher] {
            if role == held.as_str() && !self.roles.contains(&(person, school, role.to_owned())) {
                return Err(AppError::bad_input(
                    person_field,
                    format!(
                        "the person does not hold an active {role} role at the enrolment's school"
                    ),
                ));
            }
        }
        if offering.school_org_id.is_some_and(|s| s != school) {
            return Err(AppError::bad_input(
                "offering",
                format!(
                    "course offering {offering_sid} is hosted by another school than the \
                     enrolment's"
                ),
            ));
        }
        if matches!(kind, Kind::Teacher { .. }) && !self.taught.contains(&offering.id) {
            return Err(AppError::bad_input(
                "offering",
                format!("you do not teach course offering {offering_sid}"),
            ));
        }
        if !ENROLLING_OFFERING.contains(&offering.state.as_str()) {
            return Err(write::invalid_transition(format!(
                "course offering {offering_sid} is {}; only an offering open for enrolment or \
                 running takes enrolments",
                offering.state
            )));
        }
        let end = item.end_date.flatten();
        check_dates(begin, end)?;
        let hours = item.contact_hours_attended.flatten();
        check_hours(hours)?;
        let metadata = item.metadata.clone().flatten();
        check_metadata(metadata.as_ref(), "metadata")?;
        let row = NewRow {
            sourced_id,
            person,
            offering: offering.id,
            school,
            role: role.to_owned(),
            begin,
            end,
            hours,
            metadata,
        };
        if self.taken.contains(&row.key()) {
            return Err(write::duplicate(
                "this person already has an enrolment in this offering with this role and \
                 beginDate",
            ));
        }
        if self.sids_taken.contains(&row.sourced_id) {
            return Err(write::duplicate(format!(
                "a CourseEnrollment with sourcedId {} already exists",
                row.sourced_id
            )));
        }
        Ok(row)
    }
}

/// Inserts checked rows (multi-row INSERTs), their StatusHistory (`null → enrolled`) and
/// returns the rows with their change events.
async fn insert_rows(
    db: &impl ConnectionTrait,
    rows: &[NewRow],
    actor: &Actor,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<(HashMap<String, course_enrollment::Model>, Vec<Change>)> {
    let mut out = HashMap::with_capacity(rows.len());
    let mut events = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(CHUNK) {
        let models: Vec<course_enrollment::ActiveModel> = chunk
            .iter()
            .map(|r| course_enrollment::ActiveModel {
                sourced_id: Set(r.sourced_id.clone()),
                status: Set(STATUS_ACTIVE.to_owned()),
                date_created: Set(now),
                date_last_modified: Set(now),
                version: Set(1),
                metadata: Set(r.metadata.clone()),
                created_by: Set(Some(actor.subject.clone())),
                modified_by: Set(Some(actor.subject.clone())),
                person_id: Set(r.person),
                offering_id: Set(r.offering),
                school_org_id: Set(r.school),
                role: Set(r.role.clone()),
                begin_date: Set(r.begin),
                end_date: Set(r.end),
                contact_hours_attended: Set(r.hours),
                state: Set(ENROLLED.to_owned()),
                transferred_to_id: Set(None),
                ..Default::default()
            })
            .collect();
        course_enrollment::Entity::insert_many(models)
            .exec_without_returning(db)
            .await?;
        let inserted = course_enrollment::Entity::find()
            .filter(
                course_enrollment::Column::SourcedId
                    .is_in(chunk.iter().map(|r| r.sourced_id.clone())),
            )
            .all(db)
            .await?;
        let history: Vec<status_history::ActiveModel> = inserted
            .iter()
            .map(|row| status_history::ActiveModel {
                entity_type: Set(TYPE_NAME.to_owned()),
                entity_id: Set(row.id),
                from_state: Set(None),
                to_state: Set(ENROLLED.to_owned()),
                from_stage: Set(None),
                to_stage: Set(None),
                reason: Set(None),
                at: Set(now),
                actor: Set(Some(actor.subject.clone())),
                client_id: Set(actor.client_id.clone()),
                ..Default::default()
            })
            .collect();
        if !history.is_empty() {
            status_history::Entity::insert_many(history)
                .exec_without_returning(db)
                .await?;
        }
        for row in inserted {
            events.push(write::change(
                TYPE_NAME,
                row.id,
                &row.sourced_id,
                changes::CREATE,
                row.version,
            ));
            out.insert(row.sourced_id.clone(), row);
        }
    }
    Ok((out, events))
}

/// The school a call names: a school caller's own (naming another is `BAD_USER_INPUT` on
/// `field`), or for programme staff any active secondary school.
async fn call_school(
    db: &impl ConnectionTrait,
    kind: Kind,
    school: Option<&str>,
    field: &str,
) -> AppResult<Option<i64>> {
    let Some(sid) = school else {
        return Ok(kind.school());
    };
    let named = offering_writes::school_named(db, sid, field).await?;
    match kind.school() {
        Some(own) if own != named.id => Err(AppError::bad_input(
            field,
            "a school may only write the enrolments of its own school",
        )),
        _ => Ok(Some(named.id)),
    }
}

/// Creates an enrolment (state `enrolled`). `school_org` is optional (see the module
/// documentation). Expected failures: `BAD_USER_INPUT` on `person`, `offering`, `role`,
/// `schoolOrg`, `endDate`, `contactHoursAttended`, `metadata` or `sourcedId`;
/// `INVALID_TRANSITION` when the offering does not take enrolments; `DUPLICATE`.
#[tracing::instrument(skip_all)]
pub async fn create(
    db: &DatabaseConnection,
    viewer: &Viewer,
    fields: &EnrollmentFields,
    school_org: Option<&str>,
) -> AppResult<course_enrollment::Model> {
    let caller = caller(viewer)?;
    let actor = Actor::of(caller.principal);
    let txn = write::begin(db).await?;
    let school = call_school(&txn, caller.kind, school_org, "schoolOrg").await?;
    let key_org = caller.principal.org.as_ref().map(|o| o.id);
    let lookups = Lookups::load(&txn, viewer, &caller, &[fields], key_org).await?;
    let row = lookups.check_new(caller.kind, fields, school)?;
    let now = changes::now();
    let (mut rows, events) = insert_rows(&txn, std::slice::from_ref(&row), &actor, now).await?;
    write::emit(&txn, &events, now).await?;
    txn.commit().await?;
    let row = rows
        .remove(&row.sourced_id)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("inserted enrolment not found")))?;
    tracing::info!(enrollment.sourced_id = %row.sourced_id, "course enrolment created");
    Ok(row)
}

/// The enrolment by sourcedId within the caller's reach (tombstones too), else `NOT_FOUND`.
async fn enrollment_in_reach(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    sid: &str,
) -> AppResult<course_enrollment::Model> {
    course_enrollment::Entity::find()
        .filter(course_enrollment::Column::SourcedId.eq(sid))
        .filter(course_enrollment::Entity::scope(viewer)?)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("course enrollment".into()))
}

/// Changes to an enrolment's fields: `None` unchanged, `Some(None)` cleared.
#[derive(Clone, Debug, Default)]
pub struct EnrollmentChanges {
    pub end_date: Option<Option<NaiveDate>>,
    pub contact_hours_attended: Option<Option<f64>>,
    pub metadata: Option<Option<serde_json::Value>>,
}

impl EnrollmentChanges {
    /// The new values over `current`, checked; `None` when nothing differs.
    fn apply(
        &self,
        current: &course_enrollment::Model,
    ) -> AppResult<Option<Vec<(course_enrollment::Column, SimpleExpr)>>> {
        let end = self.end_date.unwrap_or(current.end_date);
        check_dates(current.begin_date, end)?;
        let hours = self
            .contact_hours_attended
            .unwrap_or(current.contact_hours_attended);
        check_hours(hours)?;
        let metadata = self.metadata.clone().unwrap_or(current.metadata.clone());
        check_metadata(metadata.as_ref(), "metadata")?;
        let mut set = Vec::new();
        if end != current.end_date {
            set.push((course_enrollment::Column::EndDate, Expr::value(end)));
        }
        if hours != current.contact_hours_attended {
            set.push((
                course_enrollment::Column::ContactHoursAttended,
                Expr::value(hours),
            ));
        }
        if metadata != current.metadata {
            set.push((course_enrollment::Column::Metadata, Expr::value(metadata)));
        }
        Ok((!set.is_empty()).then_some(set))
    }

    fn merged(&self, current: course_enrollment::Model) -> course_enrollment::Model {
        course_enrollment::Model {
            end_date: self.end_date.unwrap_or(current.end_date),
            contact_hours_attended: self
                .contact_hours_attended
                .unwrap_or(current.contact_hours_attended),
            metadata: self.metadata.clone().unwrap_or(current.metadata.clone()),
            ..current
        }
    }
}

/// Updates `endDate`, `contactHoursAttended` and `metadata` (never the state). Expected
/// failures: `BAD_USER_INPUT` on those fields, `VERSION_CONFLICT`, `INVALID_TRANSITION` for a
/// deleted enrolment. Outside the caller's reach: `NOT_FOUND`. A write that changes nothing
/// still counts as a write (version + 1, change event).
#[tracing::instrument(skip_all, fields(enrollment.sourced_id = %sourced_id))]
pub async fn update(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: &str,
    expected_version: Option<i32>,
    changes_in: &EnrollmentChanges,
) -> AppResult<course_enrollment::Model> {
    let caller = caller(viewer)?;
    let actor = Actor::of(caller.principal);
    let txn = write::begin(db).await?;
    let current = enrollment_in_reach(&txn, viewer, sourced_id).await?;
    write::check_expected_version(TYPE_NAME, sourced_id, current.version, expected_version)?;
    if current.status != STATUS_ACTIVE {
        return Err(write::invalid_transition(format!(
            "course enrollment {sourced_id} is deleted"
        )));
    }
    let set = changes_in.apply(&current)?.unwrap_or_default();
    let now = changes::now();
    let version = write::update_versioned::<course_enrollment::Entity>(
        &txn,
        VersionedUpdate {
            type_name: TYPE_NAME,
            sourced_id: current.sourced_id.clone(),
            id: current.id,
            version: current.version,
            guard: Some(Expr::col(course_enrollment::Column::Status).eq(STATUS_ACTIVE)),
            set,
        },
        &actor,
        now,
    )
    .await?;
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
    Ok(course_enrollment::Model {
        version,
        date_last_modified: now,
        modified_by: Some(actor.subject.clone()),
        ..changes_in.merged(current)
    })
}

/// Deletes an enrolment as a tombstone. `INVALID_TRANSITION` when already deleted;
/// `VERSION_CONFLICT` for a stale version; outside the caller's reach `NOT_FOUND`.
#[tracing::instrument(skip_all, fields(enrollment.sourced_id = %sourced_id))]
pub async fn delete(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: &str,
    expected_version: Option<i32>,
) -> AppResult<course_enrollment::Model> {
    let caller = caller(viewer)?;
    let actor = Actor::of(caller.principal);
    let txn = write::begin(db).await?;
    let current = enrollment_in_reach(&txn, viewer, sourced_id).await?;
    write::check_expected_version(TYPE_NAME, sourced_id, current.version, expected_version)?;
    let now = changes::now();
    let version = write::tombstone::<course_enrollment::Entity>(
        &txn,
        TYPE_NAME,
        current.id,
        &current.sourced_id,
        current.version,
        &actor,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(course_enrollment::Model {
        status: entity::STATUS_TOBEDELETED.to_owned(),
        version,
        date_last_modified: now,
        modified_by: Some(actor.subject),
        ..current
    })
}

/// Applies a lifecycle transition. `transferred_to` (a sourcedId) is needed for
/// [`Action::Transfer`]. Expected failures: `VERSION_CONFLICT`; `INVALID_TRANSITION` (not
/// `enrolled`, deleted, or completing while the offering is neither running nor completed);
/// `BAD_USER_INPUT` on `reason` or `transferredTo`. Outside the caller's reach: `NOT_FOUND`.
#[tracing::instrument(skip_all, fields(enrollment.sourced_id = %sourced_id, enrollment.action = action.verb()))]
pub async fn transition(
    db: &DatabaseConnection,
    viewer: &Viewer,
    action: Action,
    sourced_id: &str,
    expected_version: Option<i32>,
    reason: Option<&str>,
    transferred_to: Option<&str>,
) -> AppResult<course_enrollment::Model> {
    let caller = caller(viewer)?;
    let actor = Actor::of(caller.principal);
    let reason = write::reason(reason)?;
    let txn = write::begin(db).await?;
    let current = enrollment_in_reach(&txn, viewer, sourced_id).await?;
    write::check_expected_version(TYPE_NAME, sourced_id, current.version, expected_version)?;
    if current.status != STATUS_ACTIVE {
        return Err(write::invalid_transition(format!(
            "course enrollment {sourced_id} is deleted"
        )));
    }
    if current.state != ENROLLED {
        return Err(write::invalid_transition(format!(
            "cannot {} course enrollment {sourced_id}: it is {}, and only an enrolled one can",
            action.verb(),
            current.state
        )));
    }
    let to = action.to_state();
    let mut set = vec![(course_enrollment::Column::State, Expr::value(to))];
    let mut transferred_to_id = None;
    match action {
        Action::Complete => {
            let offering = course_offering::Entity::find_by_id(current.offering_id)
                .one(&txn)
                .await?
                .ok_or_else(|| AppError::NotFound("course offering".into()))?;
            if ![offering_writes::RUNNING, offering_writes::COMPLETED]
                .contains(&offering.state.as_str())
            {
                return Err(write::invalid_transition(format!(
                    "cannot complete course enrollment {sourced_id}: its offering is {}, not \
                     running or completed",
                    offering.state
                )));
            }
        }
        Action::Transfer => {
            let target_sid = transferred_to.ok_or_else(|| {
                AppError::bad_input("transferredTo", "`transferredTo` is needed to transfer")
            })?;
            let target = course_enrollment::Entity::find()
                .filter(course_enrollment::Column::SourcedId.eq(target_sid))
                .filter(course_enrollment::Column::Status.eq(STATUS_ACTIVE))
                .filter(course_enrollment::Column::State.eq(ENROLLED))
                .filter(course_enrollment::Column::PersonId.eq(current.person_id))
                .filter(course_enrollment::Column::Id.ne(current.id))
                .filter(course_enrollment::Entity::scope(viewer)?)
                .one(&txn)
                .await?
                .ok_or_else(|| {
                    AppError::bad_input(
                        "transferredTo",
                        format!(
                            "{target_sid:?} is not another active, enrolled course enrolment of \
                             the same person within your reach"
                        ),
                    )
                })?;
            transferred_to_id = Some(target.id);
            set.push((
                course_enrollment::Column::TransferredToId,
                Expr::value(target.id),
            ));
        }
        Action::Withdraw => {}
    }
    let now = changes::now();
    let version = write::update_versioned::<course_enrollment::Entity>(
        &txn,
        VersionedUpdate {
            type_name: TYPE_NAME,
            sourced_id: current.sourced_id.clone(),
            id: current.id,
            version: current.version,
            guard: Some(Expr::col(course_enrollment::Column::State).eq(ENROLLED)),
            set,
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
            from: Some(ENROLLED),
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
    tracing::info!(enrollment.state = to, "course enrolment transition");
    Ok(course_enrollment::Model {
        state: to.to_owned(),
        transferred_to_id: transferred_to_id.or(current.transferred_to_id),
        version,
        date_last_modified: now,
        modified_by: Some(actor.subject),
        ..current
    })
}

/// How the items of an upsert are keyed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    SourcedId,
    ExternalId,
}

/// One upsert item: its key and fields. An item whose input could not even be read (e.g. a
/// malformed id) arrives as `Err`.
pub type UpsertItem = AppResult<(Option<ExternalKey>, EnrollmentFields)>;

/// What the upsert did with one item.
#[derive(Debug)]
pub struct ItemResult {
    pub outcome: Outcome,
    pub enrollment: Option<course_enrollment::Model>,
    /// The expected failure of a `FAILED` item.
    pub error: Option<AppError>,
}

impl ItemResult {
    fn failed(error: AppError) -> Self {
        ItemResult {
            outcome: Outcome::Failed,
            enrollment: None,
            error: Some(error),
        }
    }
}

/// What a planned item will do.
enum Plan {
    Failed(AppError),
    Create(NewRow, Option<ExternalKey>),
    Update(course_enrollment::Model, EnrollmentChanges),
    Unchanged(course_enrollment::Model),
}

/// `BAD_USER_INPUT` when an update item gives an identifying field that differs from the
/// stored one (these never change: withdraw or transfer instead).
fn check_same(
    lookups: &Lookups,
    current: &course_enrollment::Model,
    item: &EnrollmentFields,
) -> AppResult<()> {
    if let Some(person) = &item.person {
        let id = lookups.person(person)?;
        if id != current.person_id {
            return Err(AppError::bad_input(
                match person {
                    PersonRef::External(_) => "personExternalId",
                    PersonRef::SourcedId(_) => "person",
                },
                "the person of an existing enrolment cannot change",
            ));
        }
    }
    if let Some(offering) = &item.offering
        && lookups.offerings.get(offering).map(|o| o.id) != Some(current.offering_id)
    {
        return Err(AppError::bad_input(
            "offering",
            "the offering of an existing enrolment cannot change; transfer instead",
        ));
    }
    if let Some(role) = &item.role
        && role != &current.role
    {
        return Err(AppError::bad_input(
            "role",
            "the role of an existing enrolment cannot change",
        ));
    }
    if let Some(begin) = item.begin_date
        && begin != current.begin_date
    {
        return Err(AppError::bad_input(
            "beginDate",
            "the beginDate of an existing enrolment cannot change",
        ));
    }
    Ok(())
}

/// `upsertCourseEnrollments`: creates or updates enrolments by the caller's key, in one
/// transaction (see the mutation's description for the semantics). Call-level failures
/// (`BAD_USER_INPUT` on `items`, `key` or `school`) are `Err`; item failures are `FAILED`
/// results.
#[tracing::instrument(skip_all, fields(upsert.items = items.len()))]
pub async fn upsert(
    db: &DatabaseConnection,
    viewer: &Viewer,
    key: Key,
    school: Option<&str>,
    items: Vec<UpsertItem>,
) -> AppResult<Vec<ItemResult>> {
    let caller = caller(viewer)?;
    upsert::check_batch(items.len())?;
    let actor = Actor::of(caller.principal);
    let key_org = match key {
        Key::ExternalId => Some(upsert::key_org(caller.principal)?),
        Key::SourcedId => caller.principal.org.as_ref().map(|o| o.id),
    };

    let txn = write::begin(db).await?;
    let school = call_school(&txn, caller.kind, school, "school").await?;

    // 1. Keys: present, and each once.
    let mut plans: Vec<Option<Plan>> = Vec::with_capacity(items.len());
    let mut fields: Vec<Option<(Option<ExternalKey>, EnrollmentFields)>> = Vec::new();
    let mut seen_sids = HashSet::new();
    let mut seen_keys = HashSet::new();
    for item in items {
        match item {
            Err(error) => {
                plans.push(Some(Plan::Failed(error)));
                fields.push(None);
            }
            Ok((external, item)) => {
                let check = match key {
                    Key::SourcedId => match item.sourced_id.as_deref() {
                        None => Err(AppError::bad_input(
                            "sourcedId",
                            "`sourcedId` is the key of this upsert",
                        )),
                        Some(sid) => {
                            write::new_sourced_id(Some(sid), "sourcedId").and_then(|sid| {
                                if seen_sids.insert(sid) {
                                    Ok(())
                                } else {
                                    Err(write::duplicate(
                                        "this sourcedId is already an earlier item's key",
                                    ))
                                }
                            })
                        }
                    },
                    Key::ExternalId => match &external {
                        None => Err(AppError::bad_input(
                            "externalId",
                            "`externalId` is the key of this upsert",
                        )),
                        Some(k) => {
                            if seen_keys.insert(k.clone()) {
                                Ok(())
                            } else {
                                Err(write::duplicate(
                                    "this externalId is already an earlier item's key",
                                ))
                            }
                        }
                    },
                };
                match check {
                    Err(error) => {
                        plans.push(Some(Plan::Failed(error)));
                        fields.push(None);
                    }
                    Ok(()) => {
                        plans.push(None);
                        fields.push(Some((external, item)));
                    }
                }
            }
        }
    }

    // 2. The stored records the keys name (one statement per chunk).
    let mut existing: HashMap<usize, course_enrollment::Model> = HashMap::new();
    match key {
        Key::SourcedId => {
            let sids: Vec<&str> = fields
                .iter()
                .flatten()
                .filter_map(|(_, f)| f.sourced_id.as_deref())
                .collect();
            let mut by_sid = HashMap::new();
            for chunk in sids.chunks(CHUNK) {
                let rows = course_enrollment::Entity::find()
                    .filter(course_enrollment::Column::SourcedId.is_in(chunk.iter().copied()))
                    .all(&txn)
                    .await?;
                by_sid.extend(rows.into_iter().map(|r| (r.sourced_id.clone(), r)));
            }
            for (i, f) in fields.iter().enumerate() {
                if let Some((_, f)) = f
                    && let Some(row) = f.sourced_id.as_deref().and_then(|s| by_sid.get(s))
                {
                    existing.insert(i, row.clone());
                }
            }
        }
        Key::ExternalId => {
            let org = key_org.ok_or_else(|| AppError::bad_input("key", "no organisation"))?;
            let keys: Vec<&ExternalKey> = fields
                .iter()
                .flatten()
                .filter_map(|(k, _)| k.as_ref())
                .collect();
            let found = upsert::find_external(&txn, TYPE_NAME, org, &keys).await?;
            let ids: Vec<i64> = found.values().copied().collect();
            let mut by_id = HashMap::new();
            for chunk in ids.chunks(CHUNK) {
                let rows = course_enrollment::Entity::find()
                    .filter(course_enrollment::Column::Id.is_in(chunk.iter().copied()))
                    .all(&txn)
                    .await?;
                by_id.extend(rows.into_iter().map(|r| (r.id, r)));
            }
            for (i, f) in fields.iter().enumerate() {
                if let Some((Some(k), _)) = f
                    && let Some(row) = found.get(k).and_then(|id| by_id.get(id))
                {
                    existing.insert(i, row.clone());
                }
            }
        }
    }
    let mut in_reach = HashSet::new();
    let existing_ids: Vec<i64> = existing.values().map(|r| r.id).collect();
    let scope = course_enrollment::Entity::scope(viewer)?;
    for chunk in existing_ids.chunks(CHUNK) {
        let rows = course_enrollment::Entity::find()
            .filter(course_enrollment::Column::Id.is_in(chunk.iter().copied()))
            .filter(scope.clone())
            .all(&txn)
            .await?;
        in_reach.extend(rows.into_iter().map(|r| r.id));
    }

    // 3. Everything the checks read, then each item's plan.
    let refs: Vec<&EnrollmentFields> = fields.iter().flatten().map(|(_, f)| f).collect();
    let lookups = Lookups::load(&txn, viewer, &caller, &refs, key_org).await?;
    let mut batch_keys = HashSet::new();
    let mut batch_sids = HashSet::new();
    for (i, slot) in fields.iter().enumerate() {
        let Some((external, item)) = slot else {
            continue;
        };
        let plan = match existing.get(&i) {
            Some(current) if !in_reach.contains(&current.id) => Plan::Failed(match key {
                Key::SourcedId => write::duplicate(format!(
                    "a CourseEnrollment with sourcedId {} already exists",
                    current.sourced_id
                )),
                Key::ExternalId => AppError::bad_input(
                    "externalId",
                    "this key names a course enrolment outside your reach",
                ),
            }),
            Some(current) if current.status != STATUS_ACTIVE => {
                Plan::Failed(write::invalid_transition(format!(
                    "course enrollment {} is deleted",
                    current.sourced_id
                )))
            }
            Some(current) => {
                let changes = EnrollmentChanges {
                    end_date: item.end_date,
                    contact_hours_attended: item.contact_hours_attended,
                    metadata: item.metadata.clone(),
                };
                let checked = upsert::check_item_version(
                    TYPE_NAME,
                    Some((&current.sourced_id, current.version)),
                    item.expected_version,
                )
                .and_then(|()| check_same(&lookups, current, item))
                .and_then(|()| changes.apply(current));
                match checked {
                    Err(error) => Plan::Failed(error),
                    Ok(None) => Plan::Unchanged(current.clone()),
                    Ok(Some(_)) => Plan::Update(current.clone(), changes),
                }
            }
            None => match upsert::check_item_version(TYPE_NAME, None, item.expected_version)
                .and_then(|()| lookups.check_new(caller.kind, item, school))
            {
                Err(error) => Plan::Failed(error),
                Ok(row) if !batch_keys.insert(row.key()) => Plan::Failed(write::duplicate(
                    "an earlier item creates an enrolment of this person in this offering with \
                     this role and beginDate",
                )),
                Ok(row) if !batch_sids.insert(row.sourced_id.clone()) => {
                    Plan::Failed(write::duplicate(format!(
                        "an earlier item creates a CourseEnrollment with sourcedId {}",
                        row.sourced_id
                    )))
                }
                Ok(row) => Plan::Create(row, external.clone()),
            },
        };
        plans[i] = Some(plan);
    }

    // 4. Writes: multi-row inserts, an UPDATE per changed row, one `emit`.
    let now = changes::now();
    let creates: Vec<NewRow> = plans
        .iter()
        .filter_map(|p| match p {
            Some(Plan::Create(row, _)) => Some(row.clone()),
            _ => None,
        })
        .collect();
    let (mut created, mut events) = insert_rows(&txn, &creates, &actor, now).await?;
    if let (Key::ExternalId, Some(org)) = (key, key_org) {
        let links: Vec<(ExternalKey, i64)> = plans
            .iter()
            .filter_map(|p| match p {
                Some(Plan::Create(row, Some(k))) => {
                    created.get(&row.sourced_id).map(|m| (k.clone(), m.id))
                }
                _ => None,
            })
            .collect();
        events.extend(upsert::insert_external(&txn, TYPE_NAME, org, &links, &actor, now).await?);
    }
    let mut results = Vec::with_capacity(plans.len());
    for plan in plans {
        let result = match plan {
            None => ItemResult::failed(AppError::internal(anyhow::anyhow!("item not planned"))),
            Some(Plan::Failed(error)) => ItemResult::failed(error),
            Some(Plan::Unchanged(row)) => ItemResult {
                outcome: Outcome::Unchanged,
                enrollment: Some(row),
                error: None,
            },
            Some(Plan::Create(row, _)) => ItemResult {
                outcome: Outcome::Created,
                enrollment: created.remove(&row.sourced_id),
                error: None,
            },
            Some(Plan::Update(current, changes)) => {
                let set = changes.apply(&current)?.unwrap_or_default();
                let version = write::update_versioned::<course_enrollment::Entity>(
                    &txn,
                    VersionedUpdate {
                        type_name: TYPE_NAME,
                        sourced_id: current.sourced_id.clone(),
                        id: current.id,
                        version: current.version,
                        guard: None,
                        set,
                    },
                    &actor,
                    now,
                )
                .await?;
                events.push(write::change(
                    TYPE_NAME,
                    current.id,
                    &current.sourced_id,
                    changes::UPDATE,
                    version,
                ));
                ItemResult {
                    outcome: Outcome::Updated,
                    enrollment: Some(course_enrollment::Model {
                        version,
                        date_last_modified: now,
                        modified_by: Some(actor.subject.clone()),
                        ..changes.merged(current)
                    }),
                    error: None,
                }
            }
        };
        results.push(result);
    }
    if !events.is_empty() {
        write::emit(&txn, &events, now).await?;
    }
    txn.commit().await?;
    tracing::info!(
        upsert.created = results
            .iter()
            .filter(|r| r.outcome == Outcome::Created)
            .count(),
        upsert.failed = results
            .iter()
            .filter(|r| r.outcome == Outcome::Failed)
            .count(),
        "course enrolments upserted"
    );
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_numbers_are_checked() {
        assert!(is_role("student") && is_role("ext:mentor"));
        assert!(!is_role("ext:other") && !is_role("guardian"));
        assert!(check_hours(Some(-0.5)).is_err());
        assert!(check_hours(Some(f64::NAN)).is_err());
        assert!(check_hours(Some(0.0)).is_ok());
        let d = |m| NaiveDate::from_ymd_opt(2025, m, 1).unwrap_or_default();
        assert!(check_dates(d(2), Some(d(1))).is_err());
        assert!(check_dates(d(2), Some(d(2))).is_err());
        assert!(check_dates(d(1), Some(d(2))).is_ok());
    }
}
