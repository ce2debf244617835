//! Skill coverage (issue 5 item 6): `curriculumCoverage` (which skills the future jobs require
//! are introduced, developed, applied and assessed by a course's, a pathway's or an offering's
//! unit versions, and the gaps) and `studentSkillProfile` (a student's evidence against a job's
//! requirements); and the loader of `CourseOffering.pinnedUnitVersions`. The figures come from
//! [`service::coverage`] in a fixed number of statements.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, ID, Object, Result};
use entity::curriculum_unit_version;

use super::connection::{db, request, viewer};
use super::curriculum::CurriculumUnitVersion;
use super::people::Person;
use super::record::required_enum;
use super::skills::{FutureJob, JobSkillRequirement, RequirementImportance, Skill, SkillEvidence};
use crate::access::Scoped;
use crate::auth::Viewer;
use crate::error::{AppError, ResultExt};
use crate::service;
use crate::service::coverage::{
    Coverage, CoverageArgs, JobCoverage as JobRow, Readiness,
    RequirementCoverage as RequirementRow, StudentRequirement as StudentRow,
};

fn versions(rows: &[curriculum_unit_version::Model]) -> Vec<CurriculumUnitVersion> {
    rows.iter()
        .cloned()
        .map(CurriculumUnitVersion::from)
        .collect()
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// How the unit versions of a course, a pathway or an offering cover the skills future jobs
/// require.
pub struct CurriculumCoverage(Coverage);

#[Object]
impl CurriculumCoverage {
    /// The unit versions considered: the current published version of each active unit of the
    /// course (of every course of the pathway's stages); for an offering with pins, its pinned
    /// versions.
    async fn unit_versions(&self) -> Vec<CurriculumUnitVersion> {
        versions(&self.0.unit_versions)
    }

    /// One entry per job asked about.
    async fn jobs(&self) -> Vec<JobCoverage> {
        self.0.jobs.iter().cloned().map(JobCoverage).collect()
    }
}

/// How the considered unit versions cover one future job's requirements.
pub struct JobCoverage(JobRow);

#[Object]
impl JobCoverage {
    /// The job.
    async fn job(&self) -> FutureJob {
        FutureJob::from(self.0.job.clone())
    }

    /// Its active requirements, core first, then by skill code.
    async fn requirements(&self) -> Vec<RequirementCoverage> {
        self.0
            .requirements
            .iter()
            .cloned()
            .map(RequirementCoverage)
            .collect()
    }

    /// Number of requirements.
    async fn required_count(&self) -> i32 {
        count(self.0.required_count())
    }

    /// Number of requirements some considered unit version covers (at any level).
    async fn covered_count(&self) -> i32 {
        count(self.0.covered_count())
    }

    /// coveredCount / requiredCount; null when the job requires nothing.
    async fn coverage_rate(&self) -> Option<f64> {
        self.0.coverage_rate()
    }

    /// Required skills no considered unit version covers, by skill code.
    async fn gaps(&self) -> Vec<Skill> {
        self.0
            .gaps()
            .into_iter()
            .cloned()
            .map(Skill::from)
            .collect()
    }

    /// The gaps among core requirements.
    async fn core_gaps(&self) -> Vec<Skill> {
        self.0
            .core_gaps()
            .into_iter()
            .cloned()
            .map(Skill::from)
            .collect()
    }
}

/// How the considered unit versions cover one requirement of a job.
pub struct RequirementCoverage(RequirementRow);

#[Object]
impl RequirementCoverage {
    /// The requirement.
    async fn requirement(&self) -> JobSkillRequirement {
        JobSkillRequirement::from(self.0.requirement.clone())
    }

    /// The required skill.
    async fn skill(&self) -> Skill {
        Skill::from(self.0.skill.clone())
    }

    /// Required proficiency (1–4).
    async fn proficiency(&self) -> i32 {
        self.0.requirement.proficiency
    }

    /// Core or supporting.
    async fn importance(&self) -> Result<RequirementImportance> {
        required_enum(&self.0.requirement.importance)
    }

    /// Some considered version introduces the skill.
    async fn introduced(&self) -> bool {
        self.0.introduced
    }

    /// Some considered version develops the skill.
    async fn developed(&self) -> bool {
        self.0.developed
    }

    /// Some considered version applies the skill.
    async fn applied(&self) -> bool {
        self.0.applied
    }

    /// Some considered version assesses the skill.
    async fn assessed(&self) -> bool {
        self.0.assessed
    }

    /// Some considered version covers the skill, at any level.
    async fn covered(&self) -> bool {
        self.0.covered()
    }

    /// The considered unit versions covering the skill.
    async fn units(&self) -> Vec<CurriculumUnitVersion> {
        versions(&self.0.units)
    }
}

/// A student's skill evidence, as the caller may see it, against a future job's requirements.
pub struct StudentJobReadiness(Readiness);

#[Object]
impl StudentJobReadiness {
    /// The student.
    async fn student(&self) -> Option<Person> {
        Some(Person::from(self.0.student.clone()))
    }

    /// The job.
    async fn job(&self) -> FutureJob {
        FutureJob::from(self.0.job.clone())
    }

    /// Each active requirement of the job, core first, then by skill code.
    async fn requirements(&self) -> Vec<StudentRequirement> {
        self.0
            .requirements
            .iter()
            .cloned()
            .map(StudentRequirement)
            .collect()
    }

    /// Requirements whose level reaches the required proficiency.
    async fn met_count(&self) -> i32 {
        count(self.0.met_count())
    }

    /// Number of requirements.
    async fn required_count(&self) -> i32 {
        count(self.0.requirements.len())
    }

    /// Required skills not met, by skill code.
    async fn gaps(&self) -> Vec<Skill> {
        self.0
            .gaps()
            .into_iter()
            .cloned()
            .map(Skill::from)
            .collect()
    }
}

/// One requirement of a job against the student's evidence the caller may see.
pub struct StudentRequirement(StudentRow);

#[Object]
impl StudentRequirement {
    /// The requirement.
    async fn requirement(&self) -> JobSkillRequirement {
        JobSkillRequirement::from(self.0.requirement.clone())
    }

    /// The required skill.
    async fn skill(&self) -> Skill {
        Skill::from(self.0.skill.clone())
    }

    /// Required proficiency (1–4).
    async fn proficiency(&self) -> i32 {
        self.0.requirement.proficiency
    }

    /// Core or supporting.
    async fn importance(&self) -> Result<RequirementImportance> {
        required_enum(&self.0.requirement.importance)
    }

    /// The highest level of the evidence the caller may see for the skill; null without any
    /// (partners and mentors see only evidence the student shared).
    async fn level(&self) -> Option<i32> {
        self.0.level()
    }

    /// The level reaches the required proficiency.
    async fn met(&self) -> bool {
        self.0.met()
    }

    /// The evidence the caller may see for the skill, newest first.
    async fn evidence(&self) -> Vec<SkillEvidence> {
        self.0
            .evidence
            .iter()
            .cloned()
            .map(SkillEvidence::from)
            .collect()
    }
}

/// Loads the pinned unit versions of offerings: one statement per batch.
pub struct PinnedVersionsByOffering {
    pub db: sea_orm::DatabaseConnection,
    pub viewer: std::sync::Arc<Viewer>,
}

impl Loader<i64> for PinnedVersionsByOffering {
    type Value = Vec<curriculum_unit_version::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, AppError> {
        let scope = curriculum_unit_version::Entity::scope(&self.viewer)?;
        service::coverage::pinned_of(&self.db, keys, scope).await
    }
}

/// The versions an offering pinned when it started running (empty before).
pub async fn pinned_unit_versions(
    ctx: &Context<'_>,
    offering: i64,
) -> Result<Vec<CurriculumUnitVersion>> {
    let loader = request(ctx)
        .extend()?
        .loaders
        .get(|db, viewer| PinnedVersionsByOffering { db, viewer });
    let rows = loader
        .load_one(offering)
        .await
        .extend()?
        .unwrap_or_default();
    Ok(rows.into_iter().map(CurriculumUnitVersion::from).collect())
}

#[derive(Default)]
pub struct CoverageQuery;

#[Object]
impl CoverageQuery {
    /// Which skills the future jobs require are introduced, developed, applied and assessed by
    /// the unit versions of exactly one of `course` (its units' current published versions),
    /// `pathway` (those of every course of its stages) or `offering` (its pinned versions once
    /// running, else its course's published versions), and the gaps. Jobs: `job`, the jobs of
    /// `skillMap`, or by default the jobs of every approved skill map. Only active rows count.
    async fn curriculum_coverage(
        &self,
        ctx: &Context<'_>,
        course: Option<ID>,
        pathway: Option<ID>,
        offering: Option<ID>,
        skill_map: Option<ID>,
        job: Option<ID>,
    ) -> Result<CurriculumCoverage> {
        let viewer = viewer(ctx).extend()?;
        let args = CoverageArgs {
            course: course.as_ref().map(|i| i.as_str()),
            pathway: pathway.as_ref().map(|i| i.as_str()),
            offering: offering.as_ref().map(|i| i.as_str()),
            skill_map: skill_map.as_ref().map(|i| i.as_str()),
            job: job.as_ref().map(|i| i.as_str()),
        };
        service::coverage::curriculum_coverage(db(ctx).extend()?, viewer, args)
            .await
            .map(CurriculumCoverage)
            .extend()
    }

    /// A student's skill evidence against a future job's requirements, computed only from the
    /// evidence the caller may read (partners and mentors: what the student shared). The
    /// student must be visible to the caller (`NOT_FOUND` otherwise).
    async fn student_skill_profile(
        &self,
        ctx: &Context<'_>,
        student: ID,
        job: ID,
    ) -> Result<StudentJobReadiness> {
        let viewer = viewer(ctx).extend()?;
        let readiness =
            service::coverage::student_readiness(db(ctx).extend()?, viewer, &student, &job)
                .await
                .extend()?;
        // `level`, `met` and the counts are computed from the evidence: a partner-side caller
        // reads each evidence level whatever it selects, so each is audited here.
        for requirement in &readiness.requirements {
            for row in &requirement.evidence {
                SkillEvidence::from(row.clone()).audited(ctx, "level")?;
            }
        }
        Ok(StudentJobReadiness(readiness))
    }
}
