//! Row-level access (DOMAIN.md sections 4 and 5). Every read of a table goes through
//! [`Scoped::scope`], which returns the condition the caller's rows must meet; list queries, `node`
//! lookups, relation loaders and counts all AND it, as its own group, around whatever the client
//! asked for. Consent is part of these conditions, so it is checked by the database on every
//! request and never cached.
//!
//! The predicates of DOMAIN.md section 4:
//! - **schoolScope**: a schoolCoordinator (or a school's client) reads the students active at its
//!   school and their records; a teacher only the students of the offerings they teach.
//! - **partnerScope**: a partnerCoordinator (or a partner's client) reads its own organisation's
//!   people and records, and a *named student* only with an active or paused mentorship with the
//!   organisation **and** effective shareWithPartnerMentor consent scoped to it.
//! - **mentorScope**: a mentor reads the students of their active mentorships that have effective
//!   consent for the mentorship's partner.
//! - **selfScope**: a student reads themselves; a guardian themselves and the students they have
//!   parental responsibility for.
//! - **aggregateOnly**: evaluators, academic leads and everyone else see no named student data.
//! - **contributorScope** and the public reading of published curriculum are in [`curriculum`].
//!
//! Field-level minimisation (section 5) is in [`person_view`]; the audit of named reads in
//! [`crate::audit`].

pub mod curriculum;

use chrono::{Months, NaiveDate, Utc};
use entity::*;
use sea_orm::sea_query::{Expr, Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition, EntityTrait};

use crate::auth::{Principal, Role, Viewer};
use crate::error::{AppError, AppResult};

/// Consent purposes (DOMAIN.md area A).
pub const SHARE_WITH_PARTNER_MENTOR: &str = "shareWithPartnerMentor";
pub const INTERNSHIP_PLACEMENT: &str = "internshipPlacement";
pub const SHARE_RESULTS_WITH_PARTNER: &str = "shareResultsWithPartner";

/// Mentorship states in which the partner keeps its relationship with the student.
pub const LIVE_MENTORSHIP: [&str; 2] = ["active", "paused"];

/// How far a viewer reaches into personal data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    /// No token: public catalogue only.
    Public,
    /// programmeAdmin or programmeStaff: everything.
    Programme,
    /// schoolCoordinator, teacher or a school's client: schoolScope. `teacher` is the person id
    /// when the caller is only a teacher (then only the students of their offerings).
    Schools {
        schools: Vec<i64>,
        teacher: Option<i64>,
    },
    /// partnerCoordinator or a partner's client: partnerScope for `org`.
    Partner { org: i64, person: Option<i64> },
    /// mentor: mentorScope.
    Mentor { org: Option<i64>, person: i64 },
    /// student or guardian: selfScope.
    SelfService { person: i64, guardian: bool },
    /// Authenticated without named student data (evaluator, academicLead, …): themselves only.
    NoPersonalData { person: Option<i64> },
}

impl Reach {
    /// The widest reach among the caller's roles.
    pub fn of(viewer: &Viewer) -> Reach {
        let Some(p) = viewer.principal() else {
            return Reach::Public;
        };
        let has = |role: Role| p.roles.contains(&role);
        if has(Role::ProgrammeAdmin) || has(Role::ProgrammeStaff) {
            return Reach::Programme;
        }
        let org_of = |org_type: &str| {
            p.org
                .as_ref()
                .filter(|o| o.org_type == org_type)
                .map(|o| o.id)
        };
        if let Some(school) = org_of("secondarySchool") {
            if has(Role::SchoolCoordinator) {
                return Reach::Schools {
                    schools: vec![school],
                    teacher: None,
                };
            }
            if has(Role::Teacher)
                && let Some(person) = p.person_id
            {
                return Reach::Schools {
                    schools: vec![school],
                    teacher: Some(person),
                };
            }
        }
        if let Some(partner) = org_of("industryPartner")
            && has(Role::PartnerCoordinator)
        {
            return Reach::Partner {
                org: partner,
                person: p.person_id,
            };
        }
        if has(Role::Mentor)
            && let Some(person) = p.person_id
        {
            return Reach::Mentor {
                org: org_of("industryPartner"),
                person,
            };
        }
        if let Some(person) = p.person_id
            && (has(Role::Student) || has(Role::Guardian))
        {
            return Reach::SelfService {
                person,
                guardian: has(Role::Guardian),
            };
        }
        Reach::NoPersonalData {
            person: p.person_id,
        }
    }

    /// Partner-side reaches: their named reads are minimised and audited.
    pub fn is_partner_side(&self) -> bool {
        matches!(self, Reach::Partner { .. } | Reach::Mentor { .. })
    }

    /// The partner organisation of a partner-side reach.
    pub fn partner_org(&self) -> Option<i64> {
        match self {
            Reach::Partner { org, .. } => Some(*org),
            Reach::Mentor { org, .. } => *org,
            _ => None,
        }
    }
}

/// Scopes a write scope implies (DOMAIN.md section 4: "A write scope implies the matching read").
pub fn implied_reads(scope: &str) -> &'static [&'static str] {
    match scope {
        "roster.write" | "enrollment.write" | "consent.write" | "results.write"
        | "articulation.write" => &["roster.read"],
        "activities.write" | "attendance.write" => &["activities.read"],
        "curriculum.write" => &["curriculum.read"],
        _ => &[],
    }
}

/// What an integration client must hold to read a kind of data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadScope {
    /// People, their links, enrolments, consent: `roster.read`.
    Roster,
    /// Activities, participation and mentorships: `activities.read`.
    Activities,
}

impl ReadScope {
    fn as_str(self) -> &'static str {
        match self {
            ReadScope::Roster => "roster.read",
            ReadScope::Activities => "activities.read",
        }
    }
}

/// `FORBIDDEN` when an integration client lacks the read scope of the data.
pub fn require_scope(viewer: &Viewer, scope: ReadScope) -> AppResult<()> {
    match viewer.principal() {
        Some(p) if !p.has_scope(scope.as_str()) => Err(AppError::Forbidden),
        _ => Ok(()),
    }
}

/// Today's date in Hong Kong (UTC+8, no daylight saving), the calendar of every date column.
pub fn today() -> NaiveDate {
    (Utc::now().naive_utc() + chrono::Duration::hours(8)).date()
}

/// A condition no row meets.
pub fn deny() -> Condition {
    Condition::all().add(Expr::cust("1 = 0"))
}

/// A condition every row meets.
pub fn allow() -> Condition {
    Condition::all()
}

/// What a table's rows require of the caller.
pub trait Scoped: EntityTrait {
    /// The GraphQL type name, used in global ids and error messages.
    const TYPE_NAME: &'static str;

    /// The caller's row condition, or `UNAUTHENTICATED` when the table needs a token and
    /// `FORBIDDEN` when the caller's scopes do not cover it.
    fn scope(viewer: &Viewer) -> AppResult<Condition>;

    /// Columns (`snake_case`) the caller may not read on some rows, and so may not filter or
    /// sort on.
    fn hidden_fields(_viewer: &Viewer) -> &'static [&'static str] {
        &[]
    }
}

fn active_role_condition(today: NaiveDate) -> Condition {
    Condition::all()
        .add(role_assignment::Column::Status.eq(STATUS_ACTIVE))
        .add(role_assignment::Column::BeginDate.lte(today))
        .add(
            Condition::any()
                .add(role_assignment::Column::EndDate.is_null())
                .add(role_assignment::Column::EndDate.gt(today)),
        )
}

/// Persons who hold an active `student` role at one of these schools today.
pub fn students_at(schools: &[i64]) -> SelectStatement {
    Query::select()
        .column(role_assignment::Column::PersonId)
        .from(role_assignment::Entity)
        .cond_where(
            active_role_condition(today())
                .add(role_assignment::Column::OrgId.is_in(schools.iter().copied()))
                .add(role_assignment::Column::Role.eq(Role::Student.as_str())),
        )
        .to_owned()
}

/// Persons who ever held a `student` role (any school).
pub fn all_students() -> SelectStatement {
    Query::select()
        .column(role_assignment::Column::PersonId)
        .from(role_assignment::Entity)
        .and_where(role_assignment::Column::Role.eq(Role::Student.as_str()))
        .and_where(role_assignment::Column::Status.eq(STATUS_ACTIVE))
        .to_owned()
}

/// Persons who hold any active role (student, teacher, coordinator, …) at one of these orgs.
pub fn members_of(orgs: &[i64]) -> SelectStatement {
    Query::select()
        .column(role_assignment::Column::PersonId)
        .from(role_assignment::Entity)
        .cond_where(
            active_role_condition(today())
                .add(role_assignment::Column::OrgId.is_in(orgs.iter().copied())),
        )
        .to_owned()
}

/// Persons who hold an active role other than `student` at one of these orgs (staff).
fn staff_of(orgs: &[i64]) -> SelectStatement {
    Query::select()
        .column(role_assignment::Column::PersonId)
        .from(role_assignment::Entity)
        .cond_where(
            active_role_condition(today())
                .add(role_assignment::Column::OrgId.is_in(orgs.iter().copied()))
                .add(role_assignment::Column::Role.ne(Role::Student.as_str())),
        )
        .to_owned()
}

/// Offerings a teacher teaches (an active teacher enrolment).
fn offerings_taught_by(teacher: i64) -> SelectStatement {
    Query::select()
        .column(course_enrollment::Column::OfferingId)
        .from(course_enrollment::Entity)
        .and_where(course_enrollment::Column::PersonId.eq(teacher))
        .and_where(course_enrollment::Column::Role.eq(Role::Teacher.as_str()))
        .and_where(course_enrollment::Column::Status.eq(STATUS_ACTIVE))
        .to_owned()
}

/// The students of a teacher: active at the school and enrolled in an offering they teach.
fn students_taught(schools: &[i64], teacher: i64) -> SelectStatement {
    Query::select()
        .column(course_enrollment::Column::PersonId)
        .from(course_enrollment::Entity)
        .and_where(course_enrollment::Column::OfferingId.in_subquery(offerings_taught_by(teacher)))
        .and_where(course_enrollment::Column::Role.eq(Role::Student.as_str()))
        .and_where(course_enrollment::Column::Status.eq(STATUS_ACTIVE))
        .and_where(course_enrollment::Column::PersonId.in_subquery(students_at(schools)))
        .to_owned()
}

/// The students of a school reach: the whole school, or a teacher's students.
fn school_students(schools: &[i64], teacher: Option<i64>) -> SelectStatement {
    match teacher {
        None => students_at(schools),
        Some(t) => students_taught(schools, t),
    }
}

/// The cutoff birth date of adults: born on or before it, a person is 18 or over today.
pub fn adult_cutoff(on: NaiveDate) -> NaiveDate {
    on.checked_sub_months(Months::new(18 * 12)).unwrap_or(on)
}

/// Which organisation a consent check is for.
#[derive(Clone, Copy, Debug)]
pub enum ConsentOrg {
    /// A known organisation id.
    Id(i64),
    /// A column of the enclosing query, e.g. `m.partner_org_id`.
    Column(&'static str),
}

/// SQL condition: **effective consent** (DOMAIN.md area A) for the student in `student_sql` (a
/// column of the enclosing query), `purpose` and `org`, on `on`: an active record from the student
/// **and**, when the student is under 18 on that date or has no known birth date, an active record
/// from a guardian with parental responsibility. Active = status active and not withdrawn.
pub fn effective_consent(
    student_sql: &str,
    purpose: &str,
    org: ConsentOrg,
    on: NaiveDate,
) -> Condition {
    // Everything is inlined as a literal (custom SQL placeholders differ between backends): the
    // purpose is an identifier (checked: no quote can reach the SQL), the org an integer, the date
    // ISO text.
    if !purpose
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-' | '.'))
    {
        return deny();
    }
    let org_sql = match org {
        ConsentOrg::Id(id) => id.to_string(),
        ConsentOrg::Column(column) => column.to_owned(),
    };
    let cutoff = adult_cutoff(on).format("%Y-%m-%d");
    Condition::all().add(Expr::cust(format!(
        "EXISTS (SELECT 1 FROM consent_record cs \
         WHERE cs.student_id = {student_sql} AND cs.purpose = '{purpose}' \
         AND cs.scope_org_id = {org_sql} \
         AND cs.giver_relationship = 'self' AND cs.given_by_id = cs.student_id \
         AND cs.status = 'active' AND cs.withdrawn_at IS NULL \
         AND (EXISTS (SELECT 1 FROM person ca \
                      WHERE ca.id = cs.student_id AND ca.date_of_birth <= '{cutoff}') \
              OR EXISTS (SELECT 1 FROM consent_record cg \
                 JOIN guardian_link gl \
                   ON gl.student_id = cg.student_id AND gl.guardian_id = cg.given_by_id \
                 WHERE cg.student_id = cs.student_id AND cg.purpose = cs.purpose \
                 AND cg.scope_org_id = cs.scope_org_id \
                 AND cg.giver_relationship IN ('parentalResponsibility', 'guardian') \
                 AND cg.status = 'active' AND cg.withdrawn_at IS NULL \
                 AND gl.status = 'active' AND gl.has_parental_responsibility = TRUE)))"
    )))
}

/// The students a partner may name: an active or paused mentorship with the partner, and
/// effective shareWithPartnerMentor consent scoped to it. (Participation in an activity the
/// partner hosts joins this set with the engagement area.)
pub fn partner_named_students(org: i64) -> Condition {
    let live = Query::select()
        .column(mentorship::Column::StudentId)
        .from(mentorship::Entity)
        .and_where(mentorship::Column::PartnerOrgId.eq(org))
        .and_where(mentorship::Column::Status.eq(STATUS_ACTIVE))
        .and_where(mentorship::Column::State.is_in(LIVE_MENTORSHIP))
        .to_owned();
    Condition::all()
        .add(person::Column::Id.in_subquery(live))
        .add(effective_consent(
            "person.id",
            SHARE_WITH_PARTNER_MENTOR,
            ConsentOrg::Id(org),
            today(),
        ))
}

/// The students a mentor may name: an active mentorship with them as mentor, and effective
/// shareWithPartnerMentor consent for the mentorship's partner.
pub fn mentor_named_students(mentor: i64) -> Condition {
    let consent = effective_consent(
        "m.student_id",
        SHARE_WITH_PARTNER_MENTOR,
        ConsentOrg::Column("m.partner_org_id"),
        today(),
    );
    // Render the consent condition inside the subquery by building the whole statement.
    let inner = Query::select()
        .expr(Expr::cust("m.student_id"))
        .from_as(mentorship::Entity, sea_orm::sea_query::Alias::new("m"))
        .and_where(Expr::cust(format!("m.mentor_id = {mentor}")))
        .and_where(Expr::cust("m.status = 'active' AND m.state = 'active'"))
        .cond_where(consent)
        .to_owned();
    Condition::all().add(person::Column::Id.in_subquery(inner))
}

/// Students with any live relationship to the partner (mentorship proposed, active or paused):
/// whose consent records' existence the partner may see.
fn partner_related_students(org: i64) -> SelectStatement {
    Query::select()
        .column(mentorship::Column::StudentId)
        .from(mentorship::Entity)
        .and_where(mentorship::Column::PartnerOrgId.eq(org))
        .and_where(mentorship::Column::Status.eq(STATUS_ACTIVE))
        .and_where(mentorship::Column::State.is_in(["proposed", "active", "paused"]))
        .to_owned()
}

/// selfScope: the person, and for a guardian the students they have parental responsibility for.
pub fn self_and_wards(person: i64) -> SelectStatement {
    let wards = Query::select()
        .column(guardian_link::Column::StudentId)
        .from(guardian_link::Entity)
        .and_where(guardian_link::Column::GuardianId.eq(person))
        .and_where(guardian_link::Column::HasParentalResponsibility.eq(true))
        .and_where(guardian_link::Column::Status.eq(STATUS_ACTIVE))
        .to_owned();
    Query::select()
        .column(person::Column::Id)
        .from(person::Entity)
        .cond_where(
            Condition::any()
                .add(person::Column::Id.eq(person))
                .add(person::Column::Id.in_subquery(wards)),
        )
        .to_owned()
}

/// Public catalogue tables: readable without a token.
macro_rules! public_table {
    ($($module:ident => $name:literal),* $(,)?) => {$(
        impl Scoped for $module::Entity {
            const TYPE_NAME: &'static str = $name;
            fn scope(_viewer: &Viewer) -> AppResult<Condition> {
                Ok(allow())
            }
        }
    )*};
}

public_table!(
    org => "Organization",
    pathway => "Pathway",
    pathway_stage => "PathwayStage",
    stage_course => "StageCourse",
    course => "Course",
);

/// Programme structure without personal data: any authenticated caller.
macro_rules! structure_table {
    ($($module:ident => $name:literal),* $(,)?) => {$(
        impl Scoped for $module::Entity {
            const TYPE_NAME: &'static str = $name;
            fn scope(viewer: &Viewer) -> AppResult<Condition> {
                match Reach::of(viewer) {
                    Reach::Public => Err(AppError::Unauthenticated),
                    _ => Ok(allow()),
                }
            }
        }
    )*};
}

structure_table!(
    academic_session => "AcademicSession",
    cohort => "Cohort",
    course_offering => "CourseOffering",
);

/// Personal data: no token is `UNAUTHENTICATED`, a client without the read scope `FORBIDDEN`, the
/// programme office reads everything, and every other reach gets `rule`'s condition as one closed
/// group (so adding to the scope can never extend an OR inside it).
fn personal(
    viewer: &Viewer,
    scope: ReadScope,
    rule: impl FnOnce(&Reach) -> Condition,
) -> AppResult<Condition> {
    let reach = Reach::of(viewer);
    match reach {
        Reach::Public => Err(AppError::Unauthenticated),
        _ => {
            require_scope(viewer, scope)?;
            match reach {
                Reach::Programme => Ok(allow()),
                other => Ok(Condition::all().add(rule(&other))),
            }
        }
    }
}

/// The people a reach may see (any Person row, students or not).
fn visible_people(reach: &Reach) -> Condition {
    match reach {
        Reach::Public => deny(),
        Reach::Programme => allow(),
        Reach::Schools { schools, teacher } => {
            let students = school_students(schools, *teacher);
            let guardians = Query::select()
                .column(guardian_link::Column::GuardianId)
                .from(guardian_link::Entity)
                .and_where(guardian_link::Column::Status.eq(STATUS_ACTIVE))
                .and_where(guardian_link::Column::StudentId.in_subquery(students.clone()))
                .to_owned();
            let mut any = Condition::any()
                .add(person::Column::Id.in_subquery(staff_of(schools)))
                .add(person::Column::Id.in_subquery(students))
                .add(person::Column::Id.in_subquery(guardians));
            if let Some(t) = teacher {
                any = any.add(person::Column::Id.eq(*t));
            }
            any
        }
        Reach::Partner { org, person } => {
            let mut any = Condition::any()
                .add(person::Column::Id.in_subquery(members_of(&[*org])))
                .add(partner_named_students(*org));
            if let Some(p) = person {
                any = any.add(person::Column::Id.eq(*p));
            }
            any
        }
        Reach::Mentor { person, .. } => Condition::any()
            .add(person::Column::Id.eq(*person))
            .add(mentor_named_students(*person)),
        Reach::SelfService { person, .. } => {
            // A student also sees their guardians; a guardian their wards.
            let guardians = Query::select()
                .column(guardian_link::Column::GuardianId)
                .from(guardian_link::Entity)
                .and_where(guardian_link::Column::StudentId.eq(*person))
                .and_where(guardian_link::Column::Status.eq(STATUS_ACTIVE))
                .to_owned();
            Condition::any()
                .add(person::Column::Id.in_subquery(self_and_wards(*person)))
                .add(person::Column::Id.in_subquery(guardians))
        }
        Reach::NoPersonalData { person } => match person {
            Some(p) => Condition::all().add(person::Column::Id.eq(*p)),
            None => deny(),
        },
    }
}

/// The Person columns outside the minimised view (DOMAIN.md section 5 rule 2).
pub const PERSONAL_FIELDS: [&str; 9] = [
    "given_name",
    "family_name",
    "name_zh",
    "email",
    "phone",
    "date_of_birth",
    "enabled_user",
    "expected_hkdse_year",
    "metadata",
];

/// Whether some people reach the caller only minimised: partner-side callers, and school clients
/// without `pii.student.read`.
pub fn sees_minimised(viewer: &Viewer) -> bool {
    match Reach::of(viewer) {
        Reach::Partner { .. } | Reach::Mentor { .. } => true,
        Reach::Schools { .. } => viewer
            .principal()
            .is_some_and(|p| !p.has_scope("pii.student.read")),
        _ => false,
    }
}

impl Scoped for person::Entity {
    const TYPE_NAME: &'static str = "Person";
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        personal(viewer, ReadScope::Roster, visible_people)
    }

    fn hidden_fields(viewer: &Viewer) -> &'static [&'static str] {
        if sees_minimised(viewer) {
            &PERSONAL_FIELDS
        } else {
            &[]
        }
    }
}

impl Scoped for role_assignment::Entity {
    const TYPE_NAME: &'static str = "RoleAssignment";
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        personal(viewer, ReadScope::Roster, |reach| match reach {
            Reach::Schools { schools, teacher } => {
                let at_school = role_assignment::Column::OrgId.is_in(schools.iter().copied());
                match teacher {
                    None => Condition::all().add(at_school),
                    Some(t) => Condition::all().add(at_school).add(
                        Condition::any()
                            .add(role_assignment::Column::Role.ne(Role::Student.as_str()))
                            .add(
                                role_assignment::Column::PersonId
                                    .in_subquery(students_taught(schools, *t)),
                            ),
                    ),
                }
            }
            Reach::Partner { org, .. } => {
                Condition::all().add(role_assignment::Column::OrgId.eq(*org))
            }
            Reach::Mentor { person, .. }
            | Reach::NoPersonalData {
                person: Some(person),
            } => Condition::all().add(role_assignment::Column::PersonId.eq(*person)),
            Reach::SelfService { person, .. } => Condition::all()
                .add(role_assignment::Column::PersonId.in_subquery(self_and_wards(*person))),
            _ => deny(),
        })
    }
}

impl Scoped for guardian_link::Entity {
    const TYPE_NAME: &'static str = "GuardianLink";
    /// Guardian data never reaches a partner or mentor.
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        personal(viewer, ReadScope::Roster, |reach| match reach {
            Reach::Schools { schools, teacher } => Condition::all().add(
                guardian_link::Column::StudentId.in_subquery(school_students(schools, *teacher)),
            ),
            Reach::SelfService { person, .. } => Condition::any()
                .add(guardian_link::Column::StudentId.eq(*person))
                .add(guardian_link::Column::GuardianId.eq(*person)),
            _ => deny(),
        })
    }
}

impl Scoped for external_id::Entity {
    const TYPE_NAME: &'static str = "ExternalId";
    /// Only the owning organisation and the programme office see an external key; a partner sees
    /// its own keys of its own people and records, never a student's.
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        personal(viewer, ReadScope::Roster, |reach| {
            let not_a_person = external_id::Column::EntityType.ne(person::Entity::TYPE_NAME);
            match reach {
                Reach::Schools { schools, teacher } => {
                    let own = external_id::Column::ScopeOrgId.is_in(schools.iter().copied());
                    match teacher {
                        None => Condition::all().add(own),
                        Some(_) => Condition::all().add(own).add(
                            Condition::any().add(not_a_person).add(
                                external_id::Column::EntityId
                                    .in_subquery(visible_person_ids(reach)),
                            ),
                        ),
                    }
                }
                Reach::Partner { org, .. } => Condition::all()
                    .add(external_id::Column::ScopeOrgId.eq(*org))
                    .add(
                        Condition::any()
                            .add(not_a_person)
                            .add(external_id::Column::EntityId.in_subquery(members_of(&[*org]))),
                    ),
                _ => deny(),
            }
        })
    }
}

/// The ids of the people a reach may see, as a subquery.
fn visible_person_ids(reach: &Reach) -> SelectStatement {
    Query::select()
        .column(person::Column::Id)
        .from(person::Entity)
        .cond_where(visible_people(reach))
        .to_owned()
}

impl Scoped for consent_record::Entity {
    const TYPE_NAME: &'static str = "ConsentRecord";
    /// Schools their students' records; a partner the existence of records scoped to it for the
    /// students it has a live mentorship with; students and guardians their own.
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        personal(viewer, ReadScope::Roster, |reach| match reach {
            Reach::Schools { schools, teacher } => Condition::all().add(
                consent_record::Column::StudentId.in_subquery(school_students(schools, *teacher)),
            ),
            Reach::Partner { org, .. } => Condition::all()
                .add(consent_record::Column::ScopeOrgId.eq(*org))
                .add(consent_record::Column::StudentId.in_subquery(partner_related_students(*org))),
            Reach::SelfService { person, .. } => Condition::all()
                .add(consent_record::Column::StudentId.in_subquery(self_and_wards(*person))),
            _ => deny(),
        })
    }
}

impl Scoped for pathway_enrollment::Entity {
    const TYPE_NAME: &'static str = "PathwayEnrollment";
    /// Partners see aggregates only; mentors nothing.
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        personal(viewer, ReadScope::Roster, |reach| match reach {
            Reach::Schools { schools, teacher } => Condition::all().add(
                pathway_enrollment::Column::StudentId
                    .in_subquery(school_students(schools, *teacher)),
            ),
            Reach::SelfService { person, .. } => Condition::all()
                .add(pathway_enrollment::Column::StudentId.in_subquery(self_and_wards(*person))),
            _ => deny(),
        })
    }
}

impl Scoped for course_enrollment::Entity {
    const TYPE_NAME: &'static str = "CourseEnrollment";
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        personal(viewer, ReadScope::Roster, |reach| match reach {
            // The school's own enrolments of people still active there (a former student's
            // enrolments leave the school's scope with the student); a teacher those of the
            // offerings they teach.
            Reach::Schools { schools, teacher } => {
                let mut all = Condition::all()
                    .add(course_enrollment::Column::SchoolOrgId.is_in(schools.iter().copied()))
                    .add(course_enrollment::Column::PersonId.in_subquery(members_of(schools)));
                if let Some(t) = teacher {
                    all = all.add(
                        course_enrollment::Column::OfferingId.in_subquery(offerings_taught_by(*t)),
                    );
                }
                all
            }
            Reach::SelfService { person, .. } => Condition::all()
                .add(course_enrollment::Column::PersonId.in_subquery(self_and_wards(*person))),
            _ => deny(),
        })
    }
}

impl Scoped for mentorship::Entity {
    const TYPE_NAME: &'static str = "Mentorship";
    /// Partners their own organisation's mentorships, mentors their own, schools their
    /// students', students and guardians their own. The student inside is still read through the
    /// Person scope (consent).
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        personal(viewer, ReadScope::Activities, |reach| match reach {
            Reach::Schools { schools, teacher } => Condition::all()
                .add(mentorship::Column::StudentId.in_subquery(school_students(schools, *teacher))),
            Reach::Partner { org, .. } => {
                Condition::all().add(mentorship::Column::PartnerOrgId.eq(*org))
            }
            Reach::Mentor { person, .. } => {
                Condition::all().add(mentorship::Column::MentorId.eq(*person))
            }
            Reach::SelfService { person, .. } => Condition::all()
                .add(mentorship::Column::StudentId.in_subquery(self_and_wards(*person))),
            _ => deny(),
        })
    }
}

impl Scoped for access_audit_event::Entity {
    const TYPE_NAME: &'static str = "AccessAuditEvent";
    /// programmeAdmin all; a partnerCoordinator (or programmeStaff) the reads made for its own
    /// organisation; a schoolCoordinator the reads of its school's students. Nobody else.
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        let Some(p) = viewer.principal() else {
            return Err(AppError::Unauthenticated);
        };
        if p.roles.contains(&Role::ProgrammeAdmin) {
            return Ok(allow());
        }
        let own_org = p.org.as_ref().map(|o| o.id);
        let condition = match (Reach::of(viewer), own_org) {
            (Reach::Programme, Some(org)) | (Reach::Partner { org, .. }, _)
                if p.roles.contains(&Role::ProgrammeStaff)
                    || p.roles.contains(&Role::PartnerCoordinator) =>
            {
                Condition::all().add(access_audit_event::Column::ActingOrgId.eq(org))
            }
            (
                Reach::Schools {
                    schools,
                    teacher: None,
                },
                _,
            ) => Condition::all()
                .add(access_audit_event::Column::StudentId.in_subquery(students_at(&schools))),
            _ => return Err(AppError::Forbidden),
        };
        Ok(Condition::all().add(condition))
    }
}

/// The caller's scope on a table, by table name (reference filters look records up through it).
pub fn scope_of_table(table: &str, viewer: &Viewer) -> AppResult<Condition> {
    match table {
        "org" => org::Entity::scope(viewer),
        "person" => person::Entity::scope(viewer),
        "role_assignment" => role_assignment::Entity::scope(viewer),
        "guardian_link" => guardian_link::Entity::scope(viewer),
        "external_id" => external_id::Entity::scope(viewer),
        "consent_record" => consent_record::Entity::scope(viewer),
        "academic_session" => academic_session::Entity::scope(viewer),
        "pathway" => pathway::Entity::scope(viewer),
        "pathway_stage" => pathway_stage::Entity::scope(viewer),
        "stage_course" => stage_course::Entity::scope(viewer),
        "course" => course::Entity::scope(viewer),
        "cohort" => cohort::Entity::scope(viewer),
        "course_offering" => course_offering::Entity::scope(viewer),
        "pathway_enrollment" => pathway_enrollment::Entity::scope(viewer),
        "course_enrollment" => course_enrollment::Entity::scope(viewer),
        "mentorship" => mentorship::Entity::scope(viewer),
        "access_audit_event" => access_audit_event::Entity::scope(viewer),
        "api_client" => api_client::Entity::scope(viewer),
        "skill" => skill::Entity::scope(viewer),
        "skill_map" => skill_map::Entity::scope(viewer),
        "future_job" => future_job::Entity::scope(viewer),
        "job_duty" => job_duty::Entity::scope(viewer),
        "job_skill_requirement" => job_skill_requirement::Entity::scope(viewer),
        "skill_evidence" => skill_evidence::Entity::scope(viewer),
        "curriculum_unit" => curriculum_unit::Entity::scope(viewer),
        "curriculum_unit_version" => curriculum_unit_version::Entity::scope(viewer),
        "unit_contributor" => unit_contributor::Entity::scope(viewer),
        "unit_review" => unit_review::Entity::scope(viewer),
        "unit_skill" => unit_skill::Entity::scope(viewer),
        other => Err(AppError::internal(anyhow::anyhow!(
            "no scope for table {other}"
        ))),
    }
}

/// The `students` list: people with a student role, within the caller's reach.
pub fn students_condition(viewer: &Viewer) -> AppResult<Condition> {
    personal(viewer, ReadScope::Roster, |reach| match reach {
        Reach::Schools { schools, teacher } => {
            Condition::all().add(person::Column::Id.in_subquery(school_students(schools, *teacher)))
        }
        Reach::Partner { org, .. } => partner_named_students(*org),
        Reach::Mentor { person, .. } => mentor_named_students(*person),
        Reach::SelfService { person, .. } => {
            Condition::all().add(person::Column::Id.in_subquery(self_and_wards(*person)))
        }
        _ => deny(),
    })
    // Whatever the reach, only people with a student role.
    .map(|scope| {
        Condition::all()
            .add(scope)
            .add(person::Column::Id.in_subquery(all_students()))
    })
}

/// Which of a person's fields the caller sees (DOMAIN.md section 5 rule 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PersonView {
    /// Every field the caller's role allows.
    Full,
    /// Preferred name, school, class level and the record fields: a partner's or mentor's view
    /// of a student, and a school client's without `pii.student.read`.
    Minimised,
}

/// The view the caller has of a person row it may see.
pub fn person_view(viewer: &Viewer, row: &person::Model) -> PersonView {
    let reach = Reach::of(viewer);
    match &reach {
        Reach::Partner { .. } | Reach::Mentor { .. }
            if reach.partner_org() != Some(row.primary_org_id)
                && own_person(&reach) != Some(row.id) =>
        {
            PersonView::Minimised
        }
        Reach::Schools { .. }
            if viewer
                .principal()
                .is_some_and(|p| !p.has_scope("pii.student.read")) =>
        {
            PersonView::Minimised
        }
        _ => PersonView::Full,
    }
}

fn own_person(reach: &Reach) -> Option<i64> {
    match reach {
        Reach::Partner { person, .. } => *person,
        Reach::Mentor { person, .. } => Some(*person),
        Reach::SelfService { person, .. } => Some(*person),
        Reach::NoPersonalData { person } => *person,
        Reach::Schools { teacher, .. } => *teacher,
        _ => None,
    }
}

/// Whether a read of this person by the caller is a read of named student data by a partner,
/// mentor or partner client, which must be audited (DOMAIN.md section 5 rule 5).
pub fn audited_read(viewer: &Viewer, row: &person::Model) -> bool {
    Reach::of(viewer).is_partner_side() && person_view(viewer, row) == PersonView::Minimised
}

/// DOMAIN.md: "dateOfBirth is visible in school scope only"; programmeAdmin, who may do anything,
/// and the person themselves (or their guardian) also see it. programmeStaff do not: consent age
/// checks are computed by the service.
pub fn sees_birth_dates(viewer: &Viewer, row: &person::Model) -> bool {
    match Reach::of(viewer) {
        Reach::Schools { .. } => person_view(viewer, row) == PersonView::Full,
        Reach::SelfService { .. } => true,
        _ => viewer.has_role(Role::ProgrammeAdmin),
    }
}

/// The principal, for writes: who is acting.
pub fn principal(viewer: &Viewer) -> AppResult<&Principal> {
    viewer.principal().ok_or(AppError::Unauthenticated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{DbBackend, QueryFilter, QueryTrait};

    #[test]
    fn consent_conditions_render_on_both_backends() {
        for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
            let sql = person::Entity::find()
                .filter(mentor_named_students(7))
                .filter(partner_named_students(3))
                .build(backend)
                .to_string();
            assert!(!sql.contains('?'), "{sql}");
        }
    }
}
