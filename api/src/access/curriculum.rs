//! Who reads curriculum and skills (DOMAIN.md sections 3 C/D and 4).
//!
//! - **Published curriculum is public**: published (and retired, once published) unit versions,
//!   their units and unit skills, approved (and superseded) skill maps with their jobs, duties and
//!   requirements, and skills are readable by everyone, without a token too.
//! - **Curriculum in progress** (every other version state, draft skill maps): programmeStaff,
//!   programmeAdmin and academic leads read all of it.
//! - **contributorScope(p)**: anyone else reads, besides what is published, exactly the unit
//!   versions where p (their Person) or p's acting organisation is an active UnitContributor,
//!   with those versions' units, contributors, skills and reviews. An integration client needs
//!   `curriculum.read` for that (or `curriculum.write`, which implies it); without it, it reads
//!   what is published.
//! - Contributors of a version are listed to authenticated callers who may read the version;
//!   reviews only to the curriculum staff and the version's contributors.
//! - **SkillEvidence** is personal data: schoolScope, selfScope, and for partners and mentors only
//!   the evidence the student shared (`sharedWithPartners`) of a student they may name.

use entity::*;
use sea_orm::sea_query::{Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition};

use super::{
    Reach, ReadScope, Scoped, allow, deny, mentor_named_students, partner_named_students, personal,
    school_students, self_and_wards,
};
use crate::auth::{Role, Viewer};
use crate::error::{AppError, AppResult};

/// Unit version states everyone may read.
pub const PUBLIC_VERSION_STATES: [&str; 2] = ["published", "retired"];
/// Skill map states everyone may read.
pub const PUBLIC_SKILL_MAP_STATES: [&str; 2] = ["approved", "superseded"];

/// How far a caller reads curriculum in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CurriculumReach {
    /// Only published curriculum: no token, or a client without `curriculum.read` and no
    /// curriculum role.
    Published,
    /// programmeAdmin, programmeStaff or academicLead: everything.
    Everything,
    /// contributorScope: published curriculum plus the versions where `person` or `org`
    /// contributes.
    Contributor {
        person: Option<i64>,
        org: Option<i64>,
    },
}

impl CurriculumReach {
    pub fn of(viewer: &Viewer) -> CurriculumReach {
        let Some(p) = viewer.principal() else {
            return CurriculumReach::Published;
        };
        if !p.has_scope("curriculum.read") {
            return CurriculumReach::Published;
        }
        if matches!(Reach::of(viewer), Reach::Programme) || p.roles.contains(&Role::AcademicLead) {
            return CurriculumReach::Everything;
        }
        CurriculumReach::Contributor {
            person: p.person_id,
            org: p.org.as_ref().map(|o| o.id),
        }
    }
}

/// The unit versions where `person` or `org` is an active contributor.
pub fn contributed_version_ids(person: Option<i64>, org: Option<i64>) -> SelectStatement {
    let mut who = Condition::any();
    if let Some(person) = person {
        who = who.add(unit_contributor::Column::PersonId.eq(person));
    }
    if let Some(org) = org {
        who = who.add(unit_contributor::Column::OrgId.eq(org));
    }
    if person.is_none() && org.is_none() {
        who = deny();
    }
    Query::select()
        .column(unit_contributor::Column::UnitVersionId)
        .from(unit_contributor::Entity)
        .and_where(unit_contributor::Column::Status.eq(STATUS_ACTIVE))
        .cond_where(who)
        .to_owned()
}

/// The unit versions a reach may read; `None` for every version.
pub fn visible_version_ids(reach: CurriculumReach) -> Option<SelectStatement> {
    let condition = version_condition(reach)?;
    Some(
        Query::select()
            .column(curriculum_unit_version::Column::Id)
            .from(curriculum_unit_version::Entity)
            .cond_where(condition)
            .to_owned(),
    )
}

/// The condition on `curriculum_unit_version` rows; `None` for every row.
fn version_condition(reach: CurriculumReach) -> Option<Condition> {
    let published =
        curriculum_unit_version::Column::State.is_in(PUBLIC_VERSION_STATES.iter().copied());
    match reach {
        CurriculumReach::Everything => None,
        CurriculumReach::Published => Some(Condition::all().add(published)),
        CurriculumReach::Contributor { person, org } => Some(Condition::any().add(published).add(
            curriculum_unit_version::Column::Id.in_subquery(contributed_version_ids(person, org)),
        )),
    }
}

/// The skill maps a caller may read; `None` for every map.
fn visible_skill_map_ids(viewer: &Viewer) -> Option<SelectStatement> {
    match CurriculumReach::of(viewer) {
        CurriculumReach::Everything => None,
        _ => Some(
            Query::select()
                .column(skill_map::Column::Id)
                .from(skill_map::Entity)
                .and_where(skill_map::Column::State.is_in(PUBLIC_SKILL_MAP_STATES.iter().copied()))
                .to_owned(),
        ),
    }
}

/// The future jobs a caller may read (those of the skill maps it may read).
fn visible_job_ids(viewer: &Viewer) -> Option<SelectStatement> {
    visible_skill_map_ids(viewer).map(|maps| {
        Query::select()
            .column(future_job::Column::Id)
            .from(future_job::Entity)
            .and_where(future_job::Column::SkillMapId.in_subquery(maps))
            .to_owned()
    })
}

fn within(column: impl ColumnTrait, ids: Option<SelectStatement>) -> Condition {
    match ids {
        None => allow(),
        Some(ids) => Condition::all().add(column.in_subquery(ids)),
    }
}

impl Scoped for skill::Entity {
    const TYPE_NAME: &'static str = "Skill";
    fn scope(_viewer: &Viewer) -> AppResult<Condition> {
        Ok(allow())
    }
}

impl Scoped for skill_map::Entity {
    const TYPE_NAME: &'static str = "SkillMap";
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        Ok(within(skill_map::Column::Id, visible_skill_map_ids(viewer)))
    }
}

impl Scoped for future_job::Entity {
    const TYPE_NAME: &'static str = "FutureJob";
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        Ok(within(
            future_job::Column::SkillMapId,
            visible_skill_map_ids(viewer),
        ))
    }
}

impl Scoped for job_duty::Entity {
    const TYPE_NAME: &'static str = "JobDuty";
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        Ok(within(
            job_duty::Column::FutureJobId,
            visible_job_ids(viewer),
        ))
    }
}

impl Scoped for job_skill_requirement::Entity {
    const TYPE_NAME: &'static str = "JobSkillRequirement";
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        Ok(within(
            job_skill_requirement::Column::FutureJobId,
            visible_job_ids(viewer),
        ))
    }
}

impl Scoped for curriculum_unit::Entity {
    const TYPE_NAME: &'static str = "CurriculumUnit";
    /// A unit is visible with any version the caller may read.
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        let ids = version_condition(CurriculumReach::of(viewer)).map(|condition| {
            Query::select()
                .column(curriculum_unit_version::Column::UnitId)
                .from(curriculum_unit_version::Entity)
                .and_where(curriculum_unit_version::Column::Status.eq(STATUS_ACTIVE))
                .cond_where(condition)
                .to_owned()
        });
        Ok(within(curriculum_unit::Column::Id, ids))
    }
}

impl Scoped for curriculum_unit_version::Entity {
    const TYPE_NAME: &'static str = "CurriculumUnitVersion";
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        Ok(version_condition(CurriculumReach::of(viewer))
            .map(|c| Condition::all().add(c))
            .unwrap_or_else(allow))
    }
}

impl Scoped for unit_skill::Entity {
    const TYPE_NAME: &'static str = "UnitSkill";
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        Ok(within(
            unit_skill::Column::UnitVersionId,
            visible_version_ids(CurriculumReach::of(viewer)),
        ))
    }
}

impl Scoped for unit_contributor::Entity {
    const TYPE_NAME: &'static str = "UnitContributor";
    /// Authenticated callers, on the versions they may read (anonymous callers see none).
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        if viewer.principal().is_none() {
            return Ok(deny());
        }
        Ok(within(
            unit_contributor::Column::UnitVersionId,
            visible_version_ids(CurriculumReach::of(viewer)),
        ))
    }
}

impl Scoped for unit_review::Entity {
    const TYPE_NAME: &'static str = "UnitReview";
    /// The curriculum staff, and the contributors of the reviewed version.
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        Ok(match CurriculumReach::of(viewer) {
            CurriculumReach::Everything => allow(),
            CurriculumReach::Published => deny(),
            CurriculumReach::Contributor { person, org } => Condition::all().add(
                unit_review::Column::UnitVersionId
                    .in_subquery(contributed_version_ids(person, org)),
            ),
        })
    }
}

/// The persons meeting `condition` (a condition on `person` columns), as a subquery.
fn persons_where(condition: Condition) -> SelectStatement {
    Query::select()
        .column(person::Column::Id)
        .from(person::Entity)
        .cond_where(condition)
        .to_owned()
}

impl Scoped for skill_evidence::Entity {
    const TYPE_NAME: &'static str = "SkillEvidence";
    /// schoolScope and selfScope; partners and mentors only shared evidence of students they
    /// may name (DOMAIN.md section 5 rule 2: "skills the student has shared").
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        personal(viewer, ReadScope::Roster, |reach| match reach {
            Reach::Schools { schools, teacher } => Condition::all().add(
                skill_evidence::Column::StudentId.in_subquery(school_students(schools, *teacher)),
            ),
            Reach::Partner { org, .. } => Condition::all()
                .add(skill_evidence::Column::SharedWithPartners.eq(true))
                .add(
                    skill_evidence::Column::StudentId
                        .in_subquery(persons_where(partner_named_students(*org))),
                ),
            Reach::Mentor { person, .. } => Condition::all()
                .add(skill_evidence::Column::SharedWithPartners.eq(true))
                .add(
                    skill_evidence::Column::StudentId
                        .in_subquery(persons_where(mentor_named_students(*person))),
                ),
            Reach::SelfService { person, .. } => Condition::all()
                .add(skill_evidence::Column::StudentId.in_subquery(self_and_wards(*person))),
            _ => deny(),
        })
    }
}

/// `FORBIDDEN` unless the caller is curriculum staff (programme office or an academic lead).
pub fn require_curriculum_staff(viewer: &Viewer) -> AppResult<()> {
    match CurriculumReach::of(viewer) {
        CurriculumReach::Everything => Ok(()),
        _ if viewer.principal().is_none() => Err(AppError::Unauthenticated),
        _ => Err(AppError::Forbidden),
    }
}
