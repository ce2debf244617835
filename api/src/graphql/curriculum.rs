//! Curriculum co-development (DOMAIN.md area C), read side: `CurriculumUnit`,
//! `CurriculumUnitVersion`, `UnitContributor`, `UnitReview` and `UnitSkill`, their lists and
//! relations. Who reads what is in [`crate::access::curriculum`]: published versions are public,
//! curriculum in progress is read by the curriculum staff and, under contributorScope, by the
//! version's contributors.

use async_graphql::{ComplexObject, Context, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{
    course, curriculum_unit, curriculum_unit_version, org, person, skill, unit_contributor,
    unit_review, unit_skill,
};
use sea_orm::Condition;

use super::common::*;
use super::connection::{Conn, ListArgs, load_one, load_optional};
use super::courses::Course;
use super::history::StatusChange;
use super::orgs::{Organization, json_strings};
use super::people::Person;
use super::record::{list, list_inputs, page_cost, record_object, required_enum};
use super::skills::Skill;
use crate::error::ResultExt;

db_enum!(
    /// Kind of curriculum unit.
    UnitKind, UnitKindFilter {
        /// A module.
        Module = "module",
        /// A project (partners mostly shape projects and workshops).
        Project = "project",
        /// A workshop.
        Workshop = "workshop",
        /// A boot camp.
        Bootcamp = "bootcamp",
        /// A case study.
        CaseStudy = "caseStudy",
    }
);

db_enum!(
    /// Workflow state of a unit version: `DRAFT → IN_REVIEW → APPROVED → PUBLISHED → RETIRED`,
    /// `IN_REVIEW ⇄ CHANGES_REQUESTED`, `DRAFT | CHANGES_REQUESTED → WITHDRAWN`.
    UnitVersionState, UnitVersionStateFilter {
        /// Being written; editable by its authors and co-developers.
        Draft = "draft",
        /// Submitted for review.
        InReview = "in_review",
        /// A reviewer asked for changes; editable again.
        ChangesRequested = "changes_requested",
        /// Approved by the owning unit's academic lead; not yet published.
        Approved = "approved",
        /// Published: taught by schools, readable by everyone, immutable.
        Published = "published",
        /// Replaced by a later published version, or retired by the academic lead.
        Retired = "retired",
        /// Abandoned before approval.
        Withdrawn = "withdrawn",
    }
);

db_enum!(
    /// What a contributor did for a unit version.
    ContributionRole, ContributionRoleFilter {
        /// Wrote the version (the creator of a version is its author).
        Author = "author",
        /// Co-developed it.
        CoDeveloper = "coDeveloper",
        /// Gave subject expertise.
        SubjectExpert = "subjectExpert",
        /// Reviewed it.
        Reviewer = "reviewer",
        /// Approved it.
        Approver = "approver",
    }
);

db_enum!(
    /// A reviewer's decision.
    ReviewDecision, ReviewDecisionFilter {
        /// Approve.
        Approve = "approve",
        /// Ask for changes.
        RequestChanges = "requestChanges",
        /// Comment only.
        Comment = "comment",
    }
);

db_enum!(
    /// How far a unit takes a skill.
    SkillCoverage, SkillCoverageFilter {
        /// Introduced.
        Introduced = "introduced",
        /// Developed.
        Developed = "developed",
        /// Applied.
        Applied = "applied",
        /// Assessed.
        Assessed = "assessed",
    }
);

/// A learning resource of a unit version.
#[derive(SimpleObject, Clone, Debug)]
pub struct UnitResource {
    /// Title.
    pub title: String,
    /// Address (http or https).
    pub url: Option<String>,
}

/// The resources stored as a JSON array of `{title, url}` objects.
pub fn resources(value: Option<&serde_json::Value>) -> Vec<UnitResource> {
    value
        .and_then(|v| v.as_array())
        .map(|items| {
            items
                .iter()
                .filter_map(|item| {
                    Some(UnitResource {
                        title: item.get("title")?.as_str()?.to_owned(),
                        url: item.get("url").and_then(|u| u.as_str()).map(str::to_owned),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

filter_input!(
    /// Filter on curriculum units.
    CurriculumUnitFilter {
        /// Public id.
        sourced_id: StringFilter => column(curriculum_unit::Column::SourcedId),
        /// Unit code (unique within its course).
        code: StringFilter => column(curriculum_unit::Column::Code),
        /// Title.
        title: StringFilter => column(curriculum_unit::Column::Title),
        /// Kind of unit.
        unit_kind: UnitKindFilter => column(curriculum_unit::Column::UnitKind),
        /// The course.
        course: IdFilter => reference(curriculum_unit::Column::CourseId, "course", "Course", "course"),
        /// The owning academic unit.
        owning_org: IdFilter => reference(curriculum_unit::Column::OwningOrgId, "org", "Organization", "owningOrg"),
        /// Whether publication needs an external (EDB) approval reference.
        requires_external_approval: BooleanFilter => column(curriculum_unit::Column::RequiresExternalApproval),
        /// Last change.
        date_last_modified: DateTimeFilter => column(curriculum_unit::Column::DateLastModified),
    }
);

order_input!(
    /// Sort order for curriculum units.
    CurriculumUnitOrder, CurriculumUnitOrderField for curriculum_unit::Column {
        /// Unit code.
        Code => curriculum_unit::Column::Code,
        /// Title.
        Title => curriculum_unit::Column::Title,
        /// Last change.
        DateLastModified => curriculum_unit::Column::DateLastModified,
    }
);
list_inputs!(
    CurriculumUnitFilter,
    CurriculumUnitOrder,
    curriculum_unit::Column
);

record_object!(
    /// A curriculum unit of a course (a module, project, workshop, boot camp or case study),
    /// co-developed by partners and the university in numbered versions. Everyone reads units
    /// with a published version; units still in progress only the curriculum staff and the
    /// contributors of one of their versions.
    CurriculumUnit(curriculum_unit::Model)
);

#[ComplexObject]
impl CurriculumUnit {
    /// The course the unit belongs to.
    async fn course(&self, ctx: &Context<'_>) -> Result<Option<Course>> {
        load_one::<course::Entity, Course>(ctx, self.row.course_id)
            .await
            .extend()
    }

    /// Unit code, unique within its course.
    async fn code(&self) -> &str {
        &self.row.code
    }

    /// Title of the unit (each version has its own title too).
    async fn title(&self) -> &str {
        &self.row.title
    }

    /// Kind of unit.
    async fn unit_kind(&self) -> Result<UnitKind> {
        required_enum(&self.row.unit_kind)
    }

    /// The academic unit that owns the unit; its academic lead approves and publishes versions.
    async fn owning_org(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        load_one::<org::Entity, Organization>(ctx, self.row.owning_org_id)
            .await
            .extend()
    }

    /// Whether publishing a version needs an `externalApprovalRef` (e.g. EDB approval of the core ApL syllabus).
    async fn requires_external_approval(&self) -> bool {
        self.row.requires_external_approval
    }

    /// The versions of the unit the caller may read.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn versions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<CurriculumUnitVersionFilter>,
        order_by: Option<Vec<CurriculumUnitVersionOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<CurriculumUnitVersion>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<curriculum_unit_version::Entity, _, _, _>(
            ctx,
            Some((curriculum_unit_version::Column::UnitId, self.row.id)),
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }

    /// The published version, when there is one (at most one per unit).
    async fn published_version(&self, ctx: &Context<'_>) -> Result<Option<CurriculumUnitVersion>> {
        super::curriculum_units::version_in_state(
            ctx,
            self.row.id,
            super::curriculum_units::VersionSlot::Published,
        )
        .await
    }

    /// The working version (draft, in review, changes requested or approved), when there is one
    /// and the caller may read it (at most one per unit).
    async fn working_version(&self, ctx: &Context<'_>) -> Result<Option<CurriculumUnitVersion>> {
        super::curriculum_units::version_in_state(
            ctx,
            self.row.id,
            super::curriculum_units::VersionSlot::Working,
        )
        .await
    }

    /// The field-level differences between two versions of this unit (title, summary, hours,
    /// learning outcomes, resources, skills, external approval reference), so a reviewer sees
    /// what changed. `from` and `to` are versions of this unit the caller may read (global id
    /// or sourcedId); `NOT_FOUND` otherwise.
    async fn compare(
        &self,
        ctx: &Context<'_>,
        from: async_graphql::ID,
        to: async_graphql::ID,
    ) -> Result<super::curriculum_compare::VersionComparison> {
        super::curriculum_compare::compare(ctx, &self.row, &from, &to).await
    }
}

filter_input!(
    /// Filter on curriculum unit versions.
    CurriculumUnitVersionFilter {
        /// Public id.
        sourced_id: StringFilter => column(curriculum_unit_version::Column::SourcedId),
        /// The unit.
        unit: IdFilter => reference(curriculum_unit_version::Column::UnitId, "curriculum_unit", "CurriculumUnit", "unit"),
        /// Version number.
        version_number: IntFilter => column(curriculum_unit_version::Column::VersionNumber),
        /// Workflow state.
        state: UnitVersionStateFilter => column(curriculum_unit_version::Column::State),
        /// Title.
        title: StringFilter => column(curriculum_unit_version::Column::Title),
        /// Publication time.
        published_at: DateTimeFilter => column(curriculum_unit_version::Column::PublishedAt),
        /// Last change.
        date_last_modified: DateTimeFilter => column(curriculum_unit_version::Column::DateLastModified),
    }
);

order_input!(
    /// Sort order for curriculum unit versions.
    CurriculumUnitVersionOrder, CurriculumUnitVersionOrderField for curriculum_unit_version::Column {
        /// Version number.
        VersionNumber => curriculum_unit_version::Column::VersionNumber,
        /// Workflow state.
        State => curriculum_unit_version::Column::State,
        /// Title.
        Title => curriculum_unit_version::Column::Title,
        /// Publication time.
        PublishedAt => curriculum_unit_version::Column::PublishedAt,
        /// Last change.
        DateLastModified => curriculum_unit_version::Column::DateLastModified,
    }
);
list_inputs!(
    CurriculumUnitVersionFilter,
    CurriculumUnitVersionOrder,
    curriculum_unit_version::Column
);

record_object!(
    /// A numbered version of a curriculum unit and its place in the workflow. Published
    /// versions are readable by everyone and immutable (apart from `metadata`); versions in
    /// progress by the curriculum staff and the version's contributors (contributorScope).
    CurriculumUnitVersion(curriculum_unit_version::Model)
);

#[ComplexObject]
impl CurriculumUnitVersion {
    /// The unit; null when the caller may not see it.
    async fn unit(&self, ctx: &Context<'_>) -> Result<Option<CurriculumUnit>> {
        load_one::<curriculum_unit::Entity, CurriculumUnit>(ctx, self.row.unit_id)
            .await
            .extend()
    }

    /// The unit's version number (1, 2, …; DOMAIN.md `version`). `version` is the record's concurrency counter.
    async fn version_number(&self) -> i32 {
        self.row.version_number
    }

    /// Workflow state.
    async fn state(&self) -> Result<UnitVersionState> {
        required_enum(&self.row.state)
    }

    /// The version this one was copied from, when the caller may see it.
    async fn supersedes(&self, ctx: &Context<'_>) -> Result<Option<CurriculumUnitVersion>> {
        load_optional::<curriculum_unit_version::Entity, CurriculumUnitVersion>(
            ctx,
            self.row.supersedes_id,
        )
        .await
        .extend()
    }

    /// Title.
    async fn title(&self) -> &str {
        &self.row.title
    }

    /// Summary.
    async fn summary(&self) -> Option<&str> {
        self.row.summary.as_deref()
    }

    /// Notional learning hours.
    async fn hours(&self) -> Option<f64> {
        self.row.hours
    }

    /// Learning outcomes, in order.
    async fn learning_outcomes(&self) -> Vec<String> {
        json_strings(self.row.learning_outcomes.as_ref())
    }

    /// Learning resources, in order.
    async fn resources(&self) -> Vec<UnitResource> {
        resources(self.row.resources.as_ref())
    }

    /// Reference of the external (EDB) approval, when the unit needs one.
    async fn external_approval_ref(&self) -> Option<&str> {
        self.row.external_approval_ref.as_deref()
    }

    /// SHA-256 (hex) of the published content (title, summary, hours, outcomes, resources, skills), set on publication.
    async fn content_hash(&self) -> Option<&str> {
        self.row.content_hash.as_deref()
    }

    /// When the version was published.
    async fn published_at(&self) -> Option<DateTime<Utc>> {
        self.row.published_at
    }

    /// The contributors of this version (authenticated callers).
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn contributors(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<UnitContributorFilter>,
        order_by: Option<Vec<UnitContributorOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<UnitContributor>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<unit_contributor::Entity, _, _, _>(
            ctx,
            Some((unit_contributor::Column::UnitVersionId, self.row.id)),
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }

    /// Reviews, append-only (the curriculum staff and the version's contributors).
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn reviews(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<UnitReviewFilter>,
        order_by: Option<Vec<UnitReviewOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<UnitReview>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<unit_review::Entity, _, _, _>(
            ctx,
            Some((unit_review::Column::UnitVersionId, self.row.id)),
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }

    /// The skills the version covers, with how far it takes each.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn skills(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<UnitSkillFilter>,
        order_by: Option<Vec<UnitSkillOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<UnitSkill>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<unit_skill::Entity, _, _, _>(
            ctx,
            Some((unit_skill::Column::UnitVersionId, self.row.id)),
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }

    /// Every accepted workflow transition, oldest first: who, through which client, when and
    /// why.
    async fn status_history(&self, ctx: &Context<'_>) -> Result<Vec<StatusChange>> {
        super::history::of::<curriculum_unit_version::Entity>(ctx, self.row.id).await
    }
}

filter_input!(
    /// Filter on unit contributors.
    UnitContributorFilter {
        /// Public id.
        sourced_id: StringFilter => column(unit_contributor::Column::SourcedId),
        /// The unit version.
        unit_version: IdFilter => reference(unit_contributor::Column::UnitVersionId, "curriculum_unit_version", "CurriculumUnitVersion", "unitVersion"),
        /// The person.
        person: IdFilter => reference(unit_contributor::Column::PersonId, "person", "Person", "person"),
        /// The organisation the person contributed for.
        org: IdFilter => reference(unit_contributor::Column::OrgId, "org", "Organization", "org"),
        /// Role.
        contribution_role: ContributionRoleFilter => column(unit_contributor::Column::ContributionRole),
        /// Hours contributed.
        hours_contributed: FloatFilter => column(unit_contributor::Column::HoursContributed),
        /// Last change.
        date_last_modified: DateTimeFilter => column(unit_contributor::Column::DateLastModified),
    }
);

order_input!(
    /// Sort order for unit contributors.
    UnitContributorOrder, UnitContributorOrderField for unit_contributor::Column {
        /// Role.
        ContributionRole => unit_contributor::Column::ContributionRole,
        /// Hours contributed.
        HoursContributed => unit_contributor::Column::HoursContributed,
        /// Creation time.
        DateCreated => unit_contributor::Column::DateCreated,
        /// Last change.
        DateLastModified => unit_contributor::Column::DateLastModified,
    }
);
list_inputs!(
    UnitContributorFilter,
    UnitContributorOrder,
    unit_contributor::Column
);

record_object!(
    /// A person who contributed to a unit version for an organisation, and in which role. A
    /// contributor reads (and, as author, co-developer or subject expert, edits) that working
    /// version; partner contributions count toward the partner's commitments.
    UnitContributor(unit_contributor::Model)
);

#[ComplexObject]
impl UnitContributor {
    /// The unit version.
    async fn unit_version(&self, ctx: &Context<'_>) -> Result<Option<CurriculumUnitVersion>> {
        load_one::<curriculum_unit_version::Entity, CurriculumUnitVersion>(
            ctx,
            self.row.unit_version_id,
        )
        .await
        .extend()
    }

    /// The contributor; null when the caller may not see them.
    async fn person(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        load_one::<person::Entity, Person>(ctx, self.row.person_id)
            .await
            .extend()
    }

    /// The organisation they contributed for.
    async fn org(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        load_one::<org::Entity, Organization>(ctx, self.row.org_id)
            .await
            .extend()
    }

    /// Role.
    async fn contribution_role(&self) -> Result<ContributionRole> {
        required_enum(&self.row.contribution_role)
    }

    /// Hours contributed.
    async fn hours_contributed(&self) -> Option<f64> {
        self.row.hours_contributed
    }
}

filter_input!(
    /// Filter on unit reviews.
    UnitReviewFilter {
        /// Public id.
        sourced_id: StringFilter => column(unit_review::Column::SourcedId),
        /// The unit version.
        unit_version: IdFilter => reference(unit_review::Column::UnitVersionId, "curriculum_unit_version", "CurriculumUnitVersion", "unitVersion"),
        /// The reviewer.
        reviewer: IdFilter => reference(unit_review::Column::ReviewerId, "person", "Person", "reviewer"),
        /// Decision.
        decision: ReviewDecisionFilter => column(unit_review::Column::Decision),
        /// Time of the decision.
        decided_at: DateTimeFilter => column(unit_review::Column::DecidedAt),
    }
);

order_input!(
    /// Sort order for unit reviews.
    UnitReviewOrder, UnitReviewOrderField for unit_review::Column {
        /// Time of the decision.
        DecidedAt => unit_review::Column::DecidedAt,
        /// Decision.
        Decision => unit_review::Column::Decision,
    }
);
list_inputs!(UnitReviewFilter, UnitReviewOrder, unit_review::Column);

record_object!(
    /// A review of a unit version: approve, request changes, or comment. Append-only.
    UnitReview(unit_review::Model)
);

#[ComplexObject]
impl UnitReview {
    /// The unit version.
    async fn unit_version(&self, ctx: &Context<'_>) -> Result<Option<CurriculumUnitVersion>> {
        load_one::<curriculum_unit_version::Entity, CurriculumUnitVersion>(
            ctx,
            self.row.unit_version_id,
        )
        .await
        .extend()
    }

    /// The reviewer; null when the caller may not see them.
    async fn reviewer(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        load_one::<person::Entity, Person>(ctx, self.row.reviewer_id)
            .await
            .extend()
    }

    /// Decision.
    async fn decision(&self) -> Result<ReviewDecision> {
        required_enum(&self.row.decision)
    }

    /// Comments.
    async fn comments(&self) -> Option<&str> {
        self.row.comments.as_deref()
    }

    /// When the decision was made.
    async fn decided_at(&self) -> DateTime<Utc> {
        self.row.decided_at
    }
}

filter_input!(
    /// Filter on unit skills.
    UnitSkillFilter {
        /// Public id.
        sourced_id: StringFilter => column(unit_skill::Column::SourcedId),
        /// The unit version.
        unit_version: IdFilter => reference(unit_skill::Column::UnitVersionId, "curriculum_unit_version", "CurriculumUnitVersion", "unitVersion"),
        /// The skill.
        skill: IdFilter => reference(unit_skill::Column::SkillId, "skill", "Skill", "skill"),
        /// Coverage.
        coverage: SkillCoverageFilter => column(unit_skill::Column::Coverage),
    }
);

order_input!(
    /// Sort order for unit skills.
    UnitSkillOrder, UnitSkillOrderField for unit_skill::Column {
        /// Coverage.
        Coverage => unit_skill::Column::Coverage,
        /// Creation time.
        DateCreated => unit_skill::Column::DateCreated,
    }
);
list_inputs!(UnitSkillFilter, UnitSkillOrder, unit_skill::Column);

record_object!(
    /// A skill a unit version covers, and how far: introduced, developed, applied or assessed.
    UnitSkill(unit_skill::Model)
);

#[ComplexObject]
impl UnitSkill {
    /// The unit version.
    async fn unit_version(&self, ctx: &Context<'_>) -> Result<Option<CurriculumUnitVersion>> {
        load_one::<curriculum_unit_version::Entity, CurriculumUnitVersion>(
            ctx,
            self.row.unit_version_id,
        )
        .await
        .extend()
    }

    /// The skill.
    async fn skill(&self, ctx: &Context<'_>) -> Result<Option<Skill>> {
        load_one::<skill::Entity, Skill>(ctx, self.row.skill_id)
            .await
            .extend()
    }

    /// How far the unit takes the skill.
    async fn coverage(&self) -> Result<SkillCoverage> {
        required_enum(&self.row.coverage)
    }
}

#[derive(Default)]
pub struct CurriculumQuery;

#[Object]
impl CurriculumQuery {
    /// Curriculum units: public with a published version; units in progress for the curriculum staff and their contributors.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn curriculum_units(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<CurriculumUnitFilter>,
        order_by: Option<Vec<CurriculumUnitOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<CurriculumUnit>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<curriculum_unit::Entity, _, _, _>(
            ctx,
            None,
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }

    /// Unit versions the caller may read: published ones for everyone, the rest for the curriculum staff and (contributorScope) the versions' contributors.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn curriculum_unit_versions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<CurriculumUnitVersionFilter>,
        order_by: Option<Vec<CurriculumUnitVersionOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<CurriculumUnitVersion>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<curriculum_unit_version::Entity, _, _, _>(
            ctx,
            None,
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }

    /// Unit contributors on the versions the caller may read (authenticated callers): e.g. filter by `org` for a partner's contributions.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn unit_contributors(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<UnitContributorFilter>,
        order_by: Option<Vec<UnitContributorOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<UnitContributor>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<unit_contributor::Entity, _, _, _>(
            ctx,
            None,
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }
}
