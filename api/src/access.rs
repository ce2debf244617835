//! Row-level access (DOMAIN.md section 4). Every read of a table goes through [`Scoped::scope`],
//! which returns the condition the caller's rows must meet; list queries, `node` lookups, relation
//! loaders and counts all AND it, as its own group, around whatever the client asked for.
//!
//! Issue 2 implements: the public catalogue for everyone, programme-office roles reading
//! everything, and school roles (schoolCoordinator, teacher) reading their own school's people and
//! records (schoolScope). Other authenticated roles see no personal data yet.

use chrono::{NaiveDate, Utc};
use entity::*;
use sea_orm::sea_query::{Expr, Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition, EntityTrait};

use crate::auth::{Role, Viewer};
use crate::error::{AppError, AppResult};

/// How far a viewer reaches into personal data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    /// No token: public catalogue only.
    Public,
    /// programmeAdmin or programmeStaff: everything.
    Programme,
    /// schoolCoordinator or teacher: the people and records of these schools.
    Schools(Vec<i64>),
    /// Authenticated, but no personal data (partners, mentors, … until their predicates exist).
    NoPersonalData,
}

impl Reach {
    pub fn of(viewer: &Viewer) -> Reach {
        let Some(principal) = viewer.principal() else {
            return Reach::Public;
        };
        if principal
            .roles
            .iter()
            .any(|r| matches!(r, Role::ProgrammeAdmin | Role::ProgrammeStaff))
        {
            return Reach::Programme;
        }
        let school_role = principal
            .roles
            .iter()
            .any(|r| matches!(r, Role::SchoolCoordinator | Role::Teacher));
        match &principal.org {
            Some(org) if school_role && org.org_type == "secondarySchool" => {
                Reach::Schools(vec![org.id])
            }
            _ => Reach::NoPersonalData,
        }
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

    /// The caller's row condition, or `UNAUTHENTICATED` when the table needs a token.
    fn scope(viewer: &Viewer) -> AppResult<Condition>;
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

/// Persons who hold any active role (student, teacher, coordinator, …) at one of these schools.
pub fn members_of(schools: &[i64]) -> SelectStatement {
    Query::select()
        .column(role_assignment::Column::PersonId)
        .from(role_assignment::Entity)
        .cond_where(
            active_role_condition(today())
                .add(role_assignment::Column::OrgId.is_in(schools.iter().copied())),
        )
        .to_owned()
}

fn people_at(schools: &[i64]) -> Condition {
    let with_role = members_of(schools);
    let guardians = Query::select()
        .column(guardian_link::Column::GuardianId)
        .from(guardian_link::Entity)
        .and_where(guardian_link::Column::Status.eq(STATUS_ACTIVE))
        .and_where(guardian_link::Column::StudentId.in_subquery(students_at(schools)))
        .to_owned();
    Condition::any()
        .add(person::Column::Id.in_subquery(with_role))
        .add(person::Column::Id.in_subquery(guardians))
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

/// Personal data: the programme office sees all, schools their own (`school_condition`).
fn personal(
    viewer: &Viewer,
    school_condition: impl FnOnce(&[i64]) -> Condition,
) -> AppResult<Condition> {
    match Reach::of(viewer) {
        Reach::Public => Err(AppError::Unauthenticated),
        Reach::Programme => Ok(allow()),
        // Always one closed group, so that adding to the scope can never extend an OR inside it.
        Reach::Schools(schools) => Ok(Condition::all().add(school_condition(&schools))),
        Reach::NoPersonalData => Ok(deny()),
    }
}

impl Scoped for person::Entity {
    const TYPE_NAME: &'static str = "Person";
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        personal(viewer, people_at)
    }
}

impl Scoped for role_assignment::Entity {
    const TYPE_NAME: &'static str = "RoleAssignment";
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        personal(viewer, |s| {
            Condition::all().add(role_assignment::Column::OrgId.is_in(s.iter().copied()))
        })
    }
}

impl Scoped for guardian_link::Entity {
    const TYPE_NAME: &'static str = "GuardianLink";
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        personal(viewer, |s| {
            Condition::all().add(guardian_link::Column::StudentId.in_subquery(students_at(s)))
        })
    }
}

impl Scoped for external_id::Entity {
    const TYPE_NAME: &'static str = "ExternalId";
    /// Only the owning organisation and the programme office see an external key.
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        personal(viewer, |s| {
            Condition::all().add(external_id::Column::ScopeOrgId.is_in(s.iter().copied()))
        })
    }
}

impl Scoped for consent_record::Entity {
    const TYPE_NAME: &'static str = "ConsentRecord";
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        personal(viewer, |s| {
            Condition::all().add(consent_record::Column::StudentId.in_subquery(students_at(s)))
        })
    }
}

impl Scoped for pathway_enrollment::Entity {
    const TYPE_NAME: &'static str = "PathwayEnrollment";
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        personal(viewer, |s| {
            Condition::all().add(pathway_enrollment::Column::StudentId.in_subquery(students_at(s)))
        })
    }
}

impl Scoped for course_enrollment::Entity {
    const TYPE_NAME: &'static str = "CourseEnrollment";
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        // The school's own enrolments of people still active there (a former student's
        // enrolments leave the school's scope with the student).
        personal(viewer, |s| {
            Condition::all()
                .add(course_enrollment::Column::SchoolOrgId.is_in(s.iter().copied()))
                .add(course_enrollment::Column::PersonId.in_subquery(members_of(s)))
        })
    }
}

/// The `students` list: people with a student role, within the caller's reach.
pub fn students_condition(viewer: &Viewer) -> AppResult<Condition> {
    match Reach::of(viewer) {
        Reach::Public => Err(AppError::Unauthenticated),
        Reach::Programme => {
            Ok(Condition::all().add(person::Column::Id.in_subquery(all_students())))
        }
        Reach::Schools(s) => {
            Ok(Condition::all().add(person::Column::Id.in_subquery(students_at(&s))))
        }
        Reach::NoPersonalData => Ok(deny()),
    }
}

/// DOMAIN.md: "dateOfBirth is visible in school scope only"; programmeAdmin, who may do anything,
/// also sees it. programmeStaff do not: consent age checks are computed by the service.
pub fn sees_birth_dates(viewer: &Viewer) -> bool {
    matches!(Reach::of(viewer), Reach::Schools(_)) || viewer.has_role(Role::ProgrammeAdmin)
}
