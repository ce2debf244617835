//! Skills and future jobs (DOMAIN.md area D), read side: `Skill`, `SkillMap`, `FutureJob`,
//! `JobDuty`, `JobSkillRequirement` and `SkillEvidence`. Approved (and superseded) skill maps
//! with their jobs are public; draft and in-review maps are read by the curriculum staff.
//! Skill evidence is personal data ([`crate::access::curriculum`]).

use async_graphql::{ComplexObject, Context, Object, Result};
use chrono::{DateTime, Utc};
use entity::{
    future_job, job_duty, job_skill_requirement, person, skill, skill_evidence, skill_map,
};
use sea_orm::Condition;

use super::common::*;
use super::connection::{Conn, ListArgs, load_one};
use super::history::StatusChange;
use super::people::Person;
use super::record::{list, list_inputs, page_cost, record_object, required_enum};
use crate::error::ResultExt;

db_enum!(
    /// Category of a skill.
    SkillCategory, SkillCategoryFilter {
        /// Technical.
        Technical = "technical",
        /// Creative.
        Creative = "creative",
        /// Business.
        Business = "business",
        /// Professional.
        Professional = "professional",
        /// Digital.
        Digital = "digital",
    }
);

db_enum!(
    /// Sector of a skill map.
    SkillMapSector, SkillMapSectorFilter {
        /// Art-Tech (Creative Media track).
        ArtTech = "artTech",
        /// Information and communications technology.
        Ict = "ict",
    }
);

db_enum!(
    /// Lifecycle state of a skill map: `DRAFT ⇄ IN_REVIEW → APPROVED → SUPERSEDED`.
    SkillMapState, SkillMapStateFilter {
        /// Being written: jobs, duties and requirements are editable.
        Draft = "draft",
        /// Submitted for an academic lead's approval.
        InReview = "in_review",
        /// Approved: public, frozen, reviewed annually.
        Approved = "approved",
        /// Replaced by a later approved version.
        Superseded = "superseded",
    }
);

db_enum!(
    /// How much a skill matters to a job.
    RequirementImportance, RequirementImportanceFilter {
        /// Core.
        Core = "core",
        /// Supporting.
        Supporting = "supporting",
    }
);

db_enum!(
    /// Where a piece of skill evidence comes from.
    EvidenceKind, EvidenceKindFilter {
        /// An assessment result.
        Result = "result",
        /// An activity.
        Activity = "activity",
        /// A portfolio piece.
        Portfolio = "portfolio",
        /// A mentor's feedback.
        MentorFeedback = "mentorFeedback",
    }
);

filter_input!(
    /// Filter on skills.
    SkillFilter {
        /// Public id.
        sourced_id: StringFilter => column(skill::Column::SourcedId),
        /// Skill code.
        code: StringFilter => column(skill::Column::Code),
        /// English name.
        name_en: StringFilter => column(skill::Column::NameEn),
        /// Chinese name.
        name_zh: StringFilter => column(skill::Column::NameZh),
        /// Category.
        category: SkillCategoryFilter => column(skill::Column::Category),
        /// Last change.
        date_last_modified: DateTimeFilter => column(skill::Column::DateLastModified),
    }
);

order_input!(
    /// Sort order for skills.
    SkillOrder, SkillOrderField for skill::Column {
        /// Code.
        Code => skill::Column::Code,
        /// English name.
        NameEn => skill::Column::NameEn,
        /// Category.
        Category => skill::Column::Category,
        /// Last change.
        DateLastModified => skill::Column::DateLastModified,
    }
);
list_inputs!(SkillFilter, SkillOrder, skill::Column);

record_object!(
    /// A skill of the skill maps (public).
    Skill(skill::Model)
);

#[ComplexObject]
impl Skill {
    /// Skill code, unique.
    async fn code(&self) -> &str {
        &self.row.code
    }

    /// English name.
    async fn name_en(&self) -> &str {
        &self.row.name_en
    }

    /// Chinese name.
    async fn name_zh(&self) -> Option<&str> {
        self.row.name_zh.as_deref()
    }

    /// Category.
    async fn category(&self) -> Result<SkillCategory> {
        required_enum(&self.row.category)
    }
}

filter_input!(
    /// Filter on skill maps.
    SkillMapFilter {
        /// Public id.
        sourced_id: StringFilter => column(skill_map::Column::SourcedId),
        /// Map code (shared by its versions).
        code: StringFilter => column(skill_map::Column::Code),
        /// Sector.
        sector: SkillMapSectorFilter => column(skill_map::Column::Sector),
        /// Version number.
        version_number: IntFilter => column(skill_map::Column::VersionNumber),
        /// Lifecycle state.
        state: SkillMapStateFilter => column(skill_map::Column::State),
        /// Next annual review.
        next_review_due: DateFilter => column(skill_map::Column::NextReviewDue),
        /// Last change.
        date_last_modified: DateTimeFilter => column(skill_map::Column::DateLastModified),
    }
);

order_input!(
    /// Sort order for skill maps.
    SkillMapOrder, SkillMapOrderField for skill_map::Column {
        /// Code.
        Code => skill_map::Column::Code,
        /// Version number.
        VersionNumber => skill_map::Column::VersionNumber,
        /// Next annual review.
        NextReviewDue => skill_map::Column::NextReviewDue,
        /// Last change.
        DateLastModified => skill_map::Column::DateLastModified,
    }
);
list_inputs!(SkillMapFilter, SkillMapOrder, skill_map::Column);

record_object!(
    /// A versioned map of a sector's future jobs to the skills they need. Approved maps are
    /// public and frozen; academic leads approve them and review them every year.
    SkillMap(skill_map::Model)
);

#[ComplexObject]
impl SkillMap {
    /// Map code, shared by all versions of the map.
    async fn code(&self) -> &str {
        &self.row.code
    }

    /// Sector.
    async fn sector(&self) -> Result<SkillMapSector> {
        required_enum(&self.row.sector)
    }

    /// The map's version number (1, 2, …; DOMAIN.md `version`).
    async fn version_number(&self) -> i32 {
        self.row.version_number
    }

    /// Lifecycle state.
    async fn state(&self) -> Result<SkillMapState> {
        required_enum(&self.row.state)
    }

    /// When the version was approved.
    async fn approved_at(&self) -> Option<DateTime<Utc>> {
        self.row.approved_at
    }

    /// When the annual review is due (a year after approval).
    async fn next_review_due(&self) -> Option<Date> {
        self.row.next_review_due.map(Date)
    }

    /// The future jobs of the map.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn jobs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<FutureJobFilter>,
        order_by: Option<Vec<FutureJobOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<FutureJob>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<future_job::Entity, _, _, _>(
            ctx,
            Some((future_job::Column::SkillMapId, self.row.id)),
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }

    /// Every accepted transition, oldest first.
    async fn status_history(&self, ctx: &Context<'_>) -> Result<Vec<StatusChange>> {
        super::history::of::<skill_map::Entity>(ctx, self.row.id).await
    }
}

filter_input!(
    /// Filter on future jobs.
    FutureJobFilter {
        /// Public id.
        sourced_id: StringFilter => column(future_job::Column::SourcedId),
        /// The skill map.
        skill_map: IdFilter => reference(future_job::Column::SkillMapId, "skill_map", "SkillMap", "skillMap"),
        /// Job code.
        code: StringFilter => column(future_job::Column::Code),
        /// Title.
        title: StringFilter => column(future_job::Column::Title),
        /// Last change.
        date_last_modified: DateTimeFilter => column(future_job::Column::DateLastModified),
    }
);

order_input!(
    /// Sort order for future jobs.
    FutureJobOrder, FutureJobOrderField for future_job::Column {
        /// Code.
        Code => future_job::Column::Code,
        /// Title.
        Title => future_job::Column::Title,
        /// Last change.
        DateLastModified => future_job::Column::DateLastModified,
    }
);
list_inputs!(FutureJobFilter, FutureJobOrder, future_job::Column);

record_object!(
    /// A future job of a skill map, e.g. Content Curator or Data Scientist.
    FutureJob(future_job::Model)
);

#[ComplexObject]
impl FutureJob {
    /// The skill map.
    async fn skill_map(&self, ctx: &Context<'_>) -> Result<Option<SkillMap>> {
        load_one::<skill_map::Entity, SkillMap>(ctx, self.row.skill_map_id)
            .await
            .extend()
    }

    /// Job code, unique within the map.
    async fn code(&self) -> &str {
        &self.row.code
    }

    /// Title.
    async fn title(&self) -> &str {
        &self.row.title
    }

    /// Summary.
    async fn summary(&self) -> Option<&str> {
        self.row.summary.as_deref()
    }

    /// The job's duties, by `seq`.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn duties(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<JobDutyFilter>,
        order_by: Option<Vec<JobDutyOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<JobDuty>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<job_duty::Entity, _, _, _>(
            ctx,
            Some((job_duty::Column::FutureJobId, self.row.id)),
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }

    /// The skills the job requires.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn requirements(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<JobSkillRequirementFilter>,
        order_by: Option<Vec<JobSkillRequirementOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<JobSkillRequirement>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<job_skill_requirement::Entity, _, _, _>(
            ctx,
            Some((job_skill_requirement::Column::FutureJobId, self.row.id)),
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }
}

filter_input!(
    /// Filter on job duties.
    JobDutyFilter {
        /// Public id.
        sourced_id: StringFilter => column(job_duty::Column::SourcedId),
        /// The job.
        future_job: IdFilter => reference(job_duty::Column::FutureJobId, "future_job", "FutureJob", "futureJob"),
        /// Function area.
        function_area: StringFilter => column(job_duty::Column::FunctionArea),
        /// Whether the duty is a placeholder awaiting the real duties table.
        is_placeholder: BooleanFilter => column(job_duty::Column::IsPlaceholder),
    }
);

order_input!(
    /// Sort order for job duties.
    JobDutyOrder, JobDutyOrderField for job_duty::Column {
        /// Sequence.
        Seq => job_duty::Column::Seq,
        /// Function area.
        FunctionArea => job_duty::Column::FunctionArea,
    }
);
list_inputs!(JobDutyFilter, JobDutyOrder, job_duty::Column);

record_object!(
    /// A duty of a future job.
    JobDuty(job_duty::Model)
);

#[ComplexObject]
impl JobDuty {
    /// The job.
    async fn future_job(&self, ctx: &Context<'_>) -> Result<Option<FutureJob>> {
        load_one::<future_job::Entity, FutureJob>(ctx, self.row.future_job_id)
            .await
            .extend()
    }

    /// Position among the job's duties.
    async fn seq(&self) -> i32 {
        self.row.seq
    }

    /// Function area.
    async fn function_area(&self) -> &str {
        &self.row.function_area
    }

    /// The duty.
    async fn duty_text(&self) -> &str {
        &self.row.duty_text
    }

    /// True for a placeholder duty (the published duties table is not yet available).
    async fn is_placeholder(&self) -> bool {
        self.row.is_placeholder
    }
}

filter_input!(
    /// Filter on job skill requirements.
    JobSkillRequirementFilter {
        /// Public id.
        sourced_id: StringFilter => column(job_skill_requirement::Column::SourcedId),
        /// The job.
        future_job: IdFilter => reference(job_skill_requirement::Column::FutureJobId, "future_job", "FutureJob", "futureJob"),
        /// The skill.
        skill: IdFilter => reference(job_skill_requirement::Column::SkillId, "skill", "Skill", "skill"),
        /// Proficiency (1–4).
        proficiency: IntFilter => column(job_skill_requirement::Column::Proficiency),
        /// Importance.
        importance: RequirementImportanceFilter => column(job_skill_requirement::Column::Importance),
    }
);

order_input!(
    /// Sort order for job skill requirements.
    JobSkillRequirementOrder, JobSkillRequirementOrderField for job_skill_requirement::Column {
        /// Proficiency.
        Proficiency => job_skill_requirement::Column::Proficiency,
        /// Importance.
        Importance => job_skill_requirement::Column::Importance,
        /// Creation time.
        DateCreated => job_skill_requirement::Column::DateCreated,
    }
);
list_inputs!(
    JobSkillRequirementFilter,
    JobSkillRequirementOrder,
    job_skill_requirement::Column
);

record_object!(
    /// A skill a future job requires, at a proficiency (1–4), core or supporting.
    JobSkillRequirement(job_skill_requirement::Model)
);

#[ComplexObject]
impl JobSkillRequirement {
    /// The job.
    async fn future_job(&self, ctx: &Context<'_>) -> Result<Option<FutureJob>> {
        load_one::<future_job::Entity, FutureJob>(ctx, self.row.future_job_id)
            .await
            .extend()
    }

    /// The skill.
    async fn skill(&self, ctx: &Context<'_>) -> Result<Option<Skill>> {
        load_one::<skill::Entity, Skill>(ctx, self.row.skill_id)
            .await
            .extend()
    }

    /// Proficiency required (1–4).
    async fn proficiency(&self) -> i32 {
        self.row.proficiency
    }

    /// Core or supporting.
    async fn importance(&self) -> Result<RequirementImportance> {
        required_enum(&self.row.importance)
    }
}

filter_input!(
    /// Filter on skill evidence.
    SkillEvidenceFilter {
        /// Public id.
        sourced_id: StringFilter => column(skill_evidence::Column::SourcedId),
        /// The student.
        student: IdFilter => reference(skill_evidence::Column::StudentId, "person", "Person", "student"),
        /// The skill.
        skill: IdFilter => reference(skill_evidence::Column::SkillId, "skill", "Skill", "skill"),
        /// Level (1–4).
        level: IntFilter => column(skill_evidence::Column::Level),
        /// Kind of evidence.
        evidence_kind: EvidenceKindFilter => column(skill_evidence::Column::EvidenceKind),
        /// When it was assessed.
        assessed_at: DateTimeFilter => column(skill_evidence::Column::AssessedAt),
        /// Whether the student shares it with partners.
        shared_with_partners: BooleanFilter => column(skill_evidence::Column::SharedWithPartners),
        /// Last change.
        date_last_modified: DateTimeFilter => column(skill_evidence::Column::DateLastModified),
    }
);

order_input!(
    /// Sort order for skill evidence.
    SkillEvidenceOrder, SkillEvidenceOrderField for skill_evidence::Column {
        /// When it was assessed.
        AssessedAt => skill_evidence::Column::AssessedAt,
        /// Level.
        Level => skill_evidence::Column::Level,
        /// Last change.
        DateLastModified => skill_evidence::Column::DateLastModified,
    }
);
list_inputs!(
    SkillEvidenceFilter,
    SkillEvidenceOrder,
    skill_evidence::Column
);

record_object!(
    /// A student's assessed level in a skill. Personal data: the student's school, the student
    /// and their guardians, the programme office; partners and mentors only evidence the student
    /// chose to share, of a student they may name. A partner's or mentor's read of it is a
    /// read of named student data and is written to the access audit.
    SkillEvidence(skill_evidence::Model),
    guarded
);

impl SkillEvidence {
    /// Notes a partner-side read of `field` in the request's access audit (DOMAIN.md section 5
    /// rule 5); the basis is the mentorship that lets the caller name the student.
    pub(crate) fn audited(&self, ctx: &Context<'_>, field: &'static str) -> Result<()> {
        let request = super::connection::request(ctx).extend()?;
        if crate::access::Reach::of(&request.viewer).is_partner_side() {
            request.audit.read(
                "SkillEvidence",
                self.row.id,
                &self.row.sourced_id,
                self.row.student_id,
                field,
            );
        }
        Ok(())
    }
}

#[ComplexObject]
impl SkillEvidence {
    /// Opaque global id, accepted wherever an ID is taken.
    pub async fn id(&self, ctx: &Context<'_>) -> Result<&async_graphql::ID> {
        self.audited(ctx, "id")?;
        Ok(&self.id)
    }

    /// Stable public id (OneRoster sourcedId); never personal data.
    pub async fn sourced_id(&self, ctx: &Context<'_>) -> Result<&String> {
        self.audited(ctx, "sourcedId")?;
        Ok(&self.sourced_id)
    }

    /// Free extension object set by clients (at most 16 KB).
    pub async fn metadata(
        &self,
        ctx: &Context<'_>,
    ) -> Result<&Option<async_graphql::Json<serde_json::Value>>> {
        self.audited(ctx, "metadata")?;
        Ok(&self.metadata)
    }

    /// The student; null when the caller may not see them.
    async fn student(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        self.audited(ctx, "student")?;
        load_one::<person::Entity, Person>(ctx, self.row.student_id)
            .await
            .extend()
    }

    /// The skill.
    async fn skill(&self, ctx: &Context<'_>) -> Result<Option<Skill>> {
        self.audited(ctx, "skill")?;
        load_one::<skill::Entity, Skill>(ctx, self.row.skill_id)
            .await
            .extend()
    }

    /// Level reached (1–4).
    async fn level(&self, ctx: &Context<'_>) -> Result<i32> {
        self.audited(ctx, "level")?;
        Ok(self.row.level)
    }

    /// Kind of evidence.
    async fn evidence_kind(&self, ctx: &Context<'_>) -> Result<EvidenceKind> {
        self.audited(ctx, "evidenceKind")?;
        required_enum(&self.row.evidence_kind)
    }

    /// When it was assessed.
    async fn assessed_at(&self, ctx: &Context<'_>) -> Result<DateTime<Utc>> {
        self.audited(ctx, "assessedAt")?;
        Ok(self.row.assessed_at)
    }

    /// Whether the student shares it with partners (their choice; false by default).
    async fn shared_with_partners(&self, ctx: &Context<'_>) -> Result<bool> {
        self.audited(ctx, "sharedWithPartners")?;
        Ok(self.row.shared_with_partners)
    }
}

#[derive(Default)]
pub struct SkillsQuery;

#[Object]
impl SkillsQuery {
    /// Skills (public).
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn skills(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<SkillFilter>,
        order_by: Option<Vec<SkillOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<Skill>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<skill::Entity, _, _, _>(ctx, None, args, filter, order_by, Condition::all())
            .await
            .extend()
    }

    /// Skill maps: approved and superseded ones for everyone, drafts for the curriculum staff.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn skill_maps(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<SkillMapFilter>,
        order_by: Option<Vec<SkillMapOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<SkillMap>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<skill_map::Entity, _, _, _>(ctx, None, args, filter, order_by, Condition::all())
            .await
            .extend()
    }

    /// Future jobs of the skill maps the caller may read.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn future_jobs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<FutureJobFilter>,
        order_by: Option<Vec<FutureJobOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<FutureJob>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<future_job::Entity, _, _, _>(ctx, None, args, filter, order_by, Condition::all())
            .await
            .extend()
    }

    /// Skill evidence within the caller's reach (personal data).
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn skill_evidence(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<SkillEvidenceFilter>,
        order_by: Option<Vec<SkillEvidenceOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<SkillEvidence>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<skill_evidence::Entity, _, _, _>(ctx, None, args, filter, order_by, Condition::all())
            .await
            .extend()
    }
}
