//! Offerings pinning unit versions (DOMAIN.md area B) and skill coverage (issue 5 item 6).
//!
//! - **Pinning**: when an offering starts running, each active unit of its course that has a
//!   published version gets that version pinned (`offering_unit_version`), in the start's
//!   transaction, for good: a later publication or retirement never touches the pins.
//! - **Curriculum coverage**: for a course, a pathway or an offering, which skills the future
//!   jobs require are introduced, developed, applied and assessed by the unit versions it
//!   teaches, and the gaps.
//! - **Student readiness**: a student's skill evidence (within the caller's SkillEvidence
//!   scope, so partners count only shared evidence) against a job's requirements.
//!
//! Both queries run a fixed number of statements whatever the number of units, jobs,
//! requirements and evidence rows: each step is one set-wise query, assembled here.
//! Only active rows count everywhere.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use entity::{
    STATUS_ACTIVE, course, course_offering, curriculum_unit, curriculum_unit_version, future_job,
    job_skill_requirement, offering_unit_version, pathway, pathway_stage, person, skill,
    skill_evidence, skill_map, stage_course, unit_skill,
};
use sea_orm::sea_query::{Expr, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::access::Scoped;
use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::graphql::common::sourced_id_of;

/// The published state of a unit version.
const PUBLISHED: &str = "published";
/// The state of a current skill map.
const APPROVED: &str = "approved";
/// Coverage levels, as stored on `unit_skill.coverage`.
pub const INTRODUCED: &str = "introduced";
pub const DEVELOPED: &str = "developed";
pub const APPLIED: &str = "applied";
pub const ASSESSED: &str = "assessed";
/// Importance of a core requirement, as stored.
pub const CORE: &str = "core";

// ---------------------------------------------------------------------------------------------
// Pinning

/// Pins the published version of each active unit of `course` to `offering` (one statement).
/// Called by `startCourseOffering` in its transaction. Returns the number of pins.
pub async fn pin_published_versions(
    db: &impl ConnectionTrait,
    offering: i64,
    course: i64,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    let versions = Query::select()
        .expr(Expr::val(offering))
        .column(curriculum_unit_version::Column::Id)
        .expr(Expr::val(now))
        .from(curriculum_unit_version::Entity)
        .cond_where(published_of_courses(units_of_course(course)))
        .to_owned();
    let insert = Query::insert()
        .into_table(offering_unit_version::Entity)
        .columns([
            offering_unit_version::Column::OfferingId,
            offering_unit_version::Column::UnitVersionId,
            offering_unit_version::Column::PinnedAt,
        ])
        .select_from(versions)
        .map_err(|e| AppError::internal(anyhow::anyhow!("pin statement: {e}")))?
        .to_owned();
    let result = db.execute(db.get_database_backend().build(&insert)).await?;
    Ok(result.rows_affected())
}

/// The unit versions pinned by each of `offerings` within `scope` (a CurriculumUnitVersion
/// condition), by unit then version number: one statement.
pub async fn pinned_of(
    db: &impl ConnectionTrait,
    offerings: &[i64],
    scope: Condition,
) -> AppResult<HashMap<i64, Vec<curriculum_unit_version::Model>>> {
    let rows = offering_unit_version::Entity::find()
        .select_also(curriculum_unit_version::Entity)
        .join(JoinType::InnerJoin, pin_to_version())
        .filter(offering_unit_version::Column::OfferingId.is_in(offerings.iter().copied()))
        .filter(curriculum_unit_version::Column::Status.eq(STATUS_ACTIVE))
        .filter(scope)
        .order_by_asc(curriculum_unit_version::Column::UnitId)
        .order_by_asc(curriculum_unit_version::Column::VersionNumber)
        .all(db)
        .await?;
    let mut out: HashMap<i64, Vec<curriculum_unit_version::Model>> = HashMap::new();
    for (pin, version) in rows {
        if let Some(version) = version {
            out.entry(pin.offering_id).or_default().push(version);
        }
    }
    Ok(out)
}

fn pin_to_version() -> sea_orm::RelationDef {
    offering_unit_version::Entity::belongs_to(curriculum_unit_version::Entity)
        .from(offering_unit_version::Column::UnitVersionId)
        .to(curriculum_unit_version::Column::Id)
        .into()
}

/// The active units of one course.
fn units_of_course(course: i64) -> SelectStatement {
    Query::select()
        .column(curriculum_unit::Column::Id)
        .from(curriculum_unit::Entity)
        .and_where(curriculum_unit::Column::Status.eq(STATUS_ACTIVE))
        .and_where(curriculum_unit::Column::CourseId.eq(course))
        .to_owned()
}

/// The active units of the active courses in `courses` (a subquery of course ids).
fn units_of_courses(courses: SelectStatement) -> SelectStatement {
    let active_courses = Query::select()
        .column(course::Column::Id)
        .from(course::Entity)
        .and_where(course::Column::Status.eq(STATUS_ACTIVE))
        .and_where(course::Column::Id.in_subquery(courses))
        .to_owned();
    Query::select()
        .column(curriculum_unit::Column::Id)
        .from(curriculum_unit::Entity)
        .and_where(curriculum_unit::Column::Status.eq(STATUS_ACTIVE))
        .and_where(curriculum_unit::Column::CourseId.in_subquery(active_courses))
        .to_owned()
}

/// The active published versions of `units` (a subquery of unit ids).
fn published_of_courses(units: SelectStatement) -> Condition {
    Condition::all()
        .add(curriculum_unit_version::Column::Status.eq(STATUS_ACTIVE))
        .add(curriculum_unit_version::Column::State.eq(PUBLISHED))
        .add(curriculum_unit_version::Column::UnitId.in_subquery(units))
}

// ---------------------------------------------------------------------------------------------
// Curriculum coverage

/// What `curriculumCoverage` is asked about: exactly one of these ids (global or sourcedId).
#[derive(Clone, Debug, Default)]
pub struct CoverageArgs<'a> {
    pub course: Option<&'a str>,
    pub pathway: Option<&'a str>,
    pub offering: Option<&'a str>,
    pub skill_map: Option<&'a str>,
    pub job: Option<&'a str>,
}

/// The answer of `curriculumCoverage`.
#[derive(Clone, Debug)]
pub struct Coverage {
    /// The unit versions considered, by unit then version number.
    pub unit_versions: Vec<curriculum_unit_version::Model>,
    /// One entry per job, by skill map then job code.
    pub jobs: Vec<JobCoverage>,
}

/// How the considered unit versions cover one job's requirements.
#[derive(Clone, Debug)]
pub struct JobCoverage {
    pub job: future_job::Model,
    /// Core requirements first, then by skill code.
    pub requirements: Vec<RequirementCoverage>,
}

impl JobCoverage {
    pub fn required_count(&self) -> usize {
        self.requirements.len()
    }

    pub fn covered_count(&self) -> usize {
        self.requirements.iter().filter(|r| r.covered()).count()
    }

    /// covered / required; `None` when nothing is required.
    pub fn coverage_rate(&self) -> Option<f64> {
        let required = self.required_count();
        (required > 0).then(|| count_f64(self.covered_count()) / count_f64(required))
    }

    /// Required skills no considered unit covers, by skill code.
    pub fn gaps(&self) -> Vec<&skill::Model> {
        sorted_skills(
            self.requirements
                .iter()
                .filter(|r| !r.covered())
                .map(|r| &r.skill),
        )
    }

    /// The gaps among core requirements.
    pub fn core_gaps(&self) -> Vec<&skill::Model> {
        sorted_skills(
            self.requirements
                .iter()
                .filter(|r| !r.covered() && r.requirement.importance == CORE)
                .map(|r| &r.skill),
        )
    }
}

fn count_f64(n: usize) -> f64 {
    f64::from(u32::try_from(n).unwrap_or(u32::MAX))
}

fn sorted_skills<'a>(skills: impl Iterator<Item = &'a skill::Model>) -> Vec<&'a skill::Model> {
    let mut out: Vec<&skill::Model> = skills.collect();
    out.sort_by(|a, b| a.code.cmp(&b.code).then(a.id.cmp(&b.id)));
    out
}

/// How the considered unit versions cover one requirement.
#[derive(Clone, Debug)]
pub struct RequirementCoverage {
    pub requirement: job_skill_requirement::Model,
    pub skill: skill::Model,
    pub introduced: bool,
    pub developed: bool,
    pub applied: bool,
    pub assessed: bool,
    /// The considered versions covering the skill, by unit then version number.
    pub units: Vec<curriculum_unit_version::Model>,
}

impl RequirementCoverage {
    /// Some considered version covers the skill (at any level).
    pub fn covered(&self) -> bool {
        !self.units.is_empty()
    }
}

/// `curriculumCoverage`: at most 8 statements (target, skill map, jobs, up to two for the
/// versions, requirements, skills, unit skills). `BAD_USER_INPUT` unless exactly one of course,
/// pathway and offering is given (and at most one of skillMap and job); `NOT_FOUND` when a
/// named record is not visible to the caller.
#[tracing::instrument(skip_all)]
pub async fn curriculum_coverage(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    args: CoverageArgs<'_>,
) -> AppResult<Coverage> {
    let given = [args.course, args.pathway, args.offering]
        .iter()
        .filter(|a| a.is_some())
        .count();
    if given != 1 {
        return Err(AppError::bad_input(
            "course",
            "give exactly one of `course`, `pathway` or `offering`",
        ));
    }
    if args.skill_map.is_some() && args.job.is_some() {
        return Err(AppError::bad_input(
            "job",
            "give at most one of `skillMap` or `job`",
        ));
    }
    let version_scope = curriculum_unit_version::Entity::scope(viewer)?;
    let unit_versions = considered_versions(db, viewer, &args, version_scope).await?;
    let jobs = jobs_of(db, viewer, &args).await?;
    if jobs.is_empty() {
        return Ok(Coverage {
            unit_versions,
            jobs: Vec::new(),
        });
    }
    let (requirements, skills) = requirements_of(db, viewer, &jobs).await?;

    // The coverage levels of each skill over the considered versions: one statement.
    let mut levels: HashMap<i64, Vec<(i64, String)>> = HashMap::new();
    if !unit_versions.is_empty() && !skills.is_empty() {
        let rows = unit_skill::Entity::find()
            .filter(unit_skill::Column::Status.eq(STATUS_ACTIVE))
            .filter(unit_skill::Column::UnitVersionId.is_in(unit_versions.iter().map(|v| v.id)))
            .filter(unit_skill::Column::SkillId.is_in(skills.keys().copied()))
            .filter(unit_skill::Entity::scope(viewer)?)
            .all(db)
            .await?;
        for row in rows {
            levels
                .entry(row.skill_id)
                .or_default()
                .push((row.unit_version_id, row.coverage));
        }
    }

    let mut by_job: HashMap<i64, Vec<RequirementCoverage>> = HashMap::new();
    for requirement in requirements {
        let Some(skill) = skills.get(&requirement.skill_id) else {
            continue;
        };
        let found = levels
            .get(&requirement.skill_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let has = |level: &str| found.iter().any(|(_, c)| c == level);
        let covering: BTreeSet<i64> = found.iter().map(|(v, _)| *v).collect();
        let entry = RequirementCoverage {
            introduced: has(INTRODUCED),
            developed: has(DEVELOPED),
            applied: has(APPLIED),
            assessed: has(ASSESSED),
            units: unit_versions
                .iter()
                .filter(|v| covering.contains(&v.id))
                .cloned()
                .collect(),
            skill: skill.clone(),
            requirement,
        };
        by_job
            .entry(entry.requirement.future_job_id)
            .or_default()
            .push(entry);
    }
    let jobs = jobs
        .into_iter()
        .map(|job| {
            let mut requirements = by_job.remove(&job.id).unwrap_or_default();
            requirements.sort_by(|a, b| {
                (a.requirement.importance != CORE)
                    .cmp(&(b.requirement.importance != CORE))
                    .then(a.skill.code.cmp(&b.skill.code))
            });
            JobCoverage { job, requirements }
        })
        .collect();
    Ok(Coverage {
        unit_versions,
        jobs,
    })
}

/// The unit versions a course, pathway or offering teaches (target lookup + one or two
/// statements).
async fn considered_versions(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    args: &CoverageArgs<'_>,
    scope: Condition,
) -> AppResult<Vec<curriculum_unit_version::Model>> {
    let find = |condition: Condition| {
        curriculum_unit_version::Entity::find()
            .filter(condition)
            .filter(scope.clone())
            .order_by_asc(curriculum_unit_version::Column::UnitId)
            .order_by_asc(curriculum_unit_version::Column::VersionNumber)
            .order_by_asc(curriculum_unit_version::Column::Id)
    };
    if let Some(id) = args.course {
        let course =
            named::<course::Entity>(db, viewer, id, "course", course::Column::SourcedId).await?;
        return Ok(find(published_of_courses(units_of_course(course.id)))
            .all(db)
            .await?);
    }
    if let Some(id) = args.pathway {
        let pathway =
            named::<pathway::Entity>(db, viewer, id, "pathway", pathway::Column::SourcedId).await?;
        let stages = Query::select()
            .column(pathway_stage::Column::Id)
            .from(pathway_stage::Entity)
            .and_where(pathway_stage::Column::Status.eq(STATUS_ACTIVE))
            .and_where(pathway_stage::Column::PathwayId.eq(pathway.id))
            .to_owned();
        let courses = Query::select()
            .column(stage_course::Column::CourseId)
            .from(stage_course::Entity)
            .and_where(stage_course::Column::Status.eq(STATUS_ACTIVE))
            .and_where(stage_course::Column::StageId.in_subquery(stages))
            .to_owned();
        return Ok(find(published_of_courses(units_of_courses(courses)))
            .all(db)
            .await?);
    }
    let id = args.offering.unwrap_or_default();
    let offering = named::<course_offering::Entity>(
        db,
        viewer,
        id,
        "offering",
        course_offering::Column::SourcedId,
    )
    .await?;
    let pins = Query::select()
        .column(offering_unit_version::Column::UnitVersionId)
        .from(offering_unit_version::Entity)
        .and_where(offering_unit_version::Column::OfferingId.eq(offering.id))
        .to_owned();
    let pinned = find(
        Condition::all()
            .add(curriculum_unit_version::Column::Status.eq(STATUS_ACTIVE))
            .add(curriculum_unit_version::Column::Id.in_subquery(pins)),
    )
    .all(db)
    .await?;
    if !pinned.is_empty() {
        return Ok(pinned);
    }
    Ok(
        find(published_of_courses(units_of_course(offering.course_id)))
            .all(db)
            .await?,
    )
}

/// The active row of `E` named by `id` (global id or sourcedId) within the caller's scope;
/// `NOT_FOUND` otherwise.
async fn named<E>(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: &str,
    field: &str,
    sourced_id_column: E::Column,
) -> AppResult<E::Model>
where
    E: Scoped,
    E::Model: Sync,
{
    let sourced_id = sourced_id_of(E::TYPE_NAME, field, id)?;
    E::find()
        .filter(E::scope(viewer)?)
        .filter(sourced_id_column.eq(sourced_id.as_str()))
        .filter(
            Expr::col((E::default(), sea_orm::sea_query::Alias::new("status"))).eq(STATUS_ACTIVE),
        )
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(E::TYPE_NAME.to_owned()))
}

/// The jobs asked about: `job`, the jobs of `skillMap`, or those of every approved skill map.
async fn jobs_of(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    args: &CoverageArgs<'_>,
) -> AppResult<Vec<future_job::Model>> {
    if let Some(id) = args.job {
        let job = named::<future_job::Entity>(db, viewer, id, "job", future_job::Column::SourcedId)
            .await?;
        return Ok(vec![job]);
    }
    let maps = match args.skill_map {
        Some(id) => {
            let map = named::<skill_map::Entity>(
                db,
                viewer,
                id,
                "skillMap",
                skill_map::Column::SourcedId,
            )
            .await?;
            Condition::all().add(future_job::Column::SkillMapId.eq(map.id))
        }
        None => Condition::all().add(
            future_job::Column::SkillMapId.in_subquery(
                Query::select()
                    .column(skill_map::Column::Id)
                    .from(skill_map::Entity)
                    .and_where(skill_map::Column::Status.eq(STATUS_ACTIVE))
                    .and_where(skill_map::Column::State.eq(APPROVED))
                    .to_owned(),
            ),
        ),
    };
    Ok(future_job::Entity::find()
        .filter(maps)
        .filter(future_job::Column::Status.eq(STATUS_ACTIVE))
        .filter(future_job::Entity::scope(viewer)?)
        .order_by_asc(future_job::Column::SkillMapId)
        .order_by_asc(future_job::Column::Code)
        .all(db)
        .await?)
}

/// The active requirements of `jobs` and their active skills (two statements).
async fn requirements_of(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    jobs: &[future_job::Model],
) -> AppResult<(
    Vec<job_skill_requirement::Model>,
    HashMap<i64, skill::Model>,
)> {
    let requirements = job_skill_requirement::Entity::find()
        .filter(job_skill_requirement::Column::FutureJobId.is_in(jobs.iter().map(|j| j.id)))
        .filter(job_skill_requirement::Column::Status.eq(STATUS_ACTIVE))
        .filter(job_skill_requirement::Entity::scope(viewer)?)
        .order_by_asc(job_skill_requirement::Column::Id)
        .all(db)
        .await?;
    if requirements.is_empty() {
        return Ok((requirements, HashMap::new()));
    }
    let ids: BTreeSet<i64> = requirements.iter().map(|r| r.skill_id).collect();
    let skills = skill::Entity::find()
        .filter(skill::Column::Id.is_in(ids))
        .filter(skill::Column::Status.eq(STATUS_ACTIVE))
        .filter(skill::Entity::scope(viewer)?)
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    Ok((requirements, skills))
}

// ---------------------------------------------------------------------------------------------
// Student readiness

/// The answer of `studentSkillProfile`.
#[derive(Clone, Debug)]
pub struct Readiness {
    pub student: person::Model,
    pub job: future_job::Model,
    /// Core requirements first, then by skill code.
    pub requirements: Vec<StudentRequirement>,
}

impl Readiness {
    pub fn met_count(&self) -> usize {
        self.requirements.iter().filter(|r| r.met()).count()
    }

    /// Required skills the student does not meet, by skill code.
    pub fn gaps(&self) -> Vec<&skill::Model> {
        sorted_skills(
            self.requirements
                .iter()
                .filter(|r| !r.met())
                .map(|r| &r.skill),
        )
    }
}

/// One requirement against the student's evidence the caller may see.
#[derive(Clone, Debug)]
pub struct StudentRequirement {
    pub requirement: job_skill_requirement::Model,
    pub skill: skill::Model,
    /// The evidence for the skill, newest first.
    pub evidence: Vec<skill_evidence::Model>,
}

impl StudentRequirement {
    /// The highest level of the evidence; `None` without evidence.
    pub fn level(&self) -> Option<i32> {
        self.evidence.iter().map(|e| e.level).max()
    }

    /// The level reaches the required proficiency.
    pub fn met(&self) -> bool {
        self.level()
            .is_some_and(|level| level >= self.requirement.proficiency)
    }
}

/// `studentSkillProfile`: five statements (student, job, requirements, skills, evidence).
/// `NOT_FOUND` when the student (Person scope) or the job is not visible to the caller.
#[tracing::instrument(skip_all)]
pub async fn student_readiness(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    student: &str,
    job: &str,
) -> AppResult<Readiness> {
    let student =
        named::<person::Entity>(db, viewer, student, "student", person::Column::SourcedId).await?;
    let job =
        named::<future_job::Entity>(db, viewer, job, "job", future_job::Column::SourcedId).await?;
    let (requirements, skills) = requirements_of(db, viewer, std::slice::from_ref(&job)).await?;
    let mut evidence: HashMap<i64, Vec<skill_evidence::Model>> = HashMap::new();
    if !skills.is_empty() {
        let rows = skill_evidence::Entity::find()
            .filter(skill_evidence::Column::StudentId.eq(student.id))
            .filter(skill_evidence::Column::SkillId.is_in(skills.keys().copied()))
            .filter(skill_evidence::Column::Status.eq(STATUS_ACTIVE))
            .filter(skill_evidence::Entity::scope(viewer)?)
            .order_by_desc(skill_evidence::Column::AssessedAt)
            .order_by_desc(skill_evidence::Column::Id)
            .all(db)
            .await?;
        for row in rows {
            evidence.entry(row.skill_id).or_default().push(row);
        }
    }
    let mut out: Vec<StudentRequirement> = requirements
        .into_iter()
        .filter_map(|requirement| {
            let skill = skills.get(&requirement.skill_id)?.clone();
            Some(StudentRequirement {
                evidence: evidence.remove(&requirement.skill_id).unwrap_or_default(),
                skill,
                requirement,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (a.requirement.importance != CORE)
            .cmp(&(b.requirement.importance != CORE))
            .then(a.skill.code.cmp(&b.skill.code))
    });
    Ok(Readiness {
        student,
        job,
        requirements: out,
    })
}
