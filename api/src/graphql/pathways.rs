//! Pathways, their stages and cohorts (DOMAIN.md area B).

use async_graphql::{ComplexObject, Context, Object, Result};
use chrono::{DateTime, Utc};
use entity::{
    academic_session, cohort, course, course_offering, org, pathway, pathway_enrollment,
    pathway_stage, stage_course,
};
use sea_orm::{ColumnTrait, Condition};

use super::calendar::AcademicSession;
use super::common::*;
use super::connection::{Conn, ListArgs, db, load_one, viewer};
use super::courses::{Course, CourseOffering, CourseOfferingFilter, CourseOfferingOrder};
use super::enrollments::{PathwayEnrollment, PathwayEnrollmentFilter, PathwayEnrollmentOrder};
use super::orgs::{Organization, json_strings};
use super::record::{list, list_inputs, page_cost, record_object, required_enum};
use crate::access::Scoped;
use crate::error::ResultExt;
use crate::service;

db_enum!(
    /// A pathway's track.
    Track, TrackFilter {
        /// Information and communication technology.
        Ict = "ict",
        /// Creative media.
        CreativeMedia = "creativeMedia",
        /// An `ext:` extension track; its text is in `trackExtension`.
        Extension = "ext:",
    }
);

db_enum!(
    /// Level of a pathway stage.
    StageLevel, StageLevelFilter {
        /// S4 to S6.
        SeniorSecondary = "seniorSecondary",
        /// The Higher Diploma years.
        SubDegree = "subDegree",
    }
);

db_enum!(
    /// How a course counts at a stage.
    CourseRequirement, CourseRequirementFilter {
        /// Required.
        Core = "core",
        /// Optional.
        Elective = "elective",
        /// Alongside the curriculum.
        CoCurricular = "coCurricular",
    }
);

filter_input!(
    /// Filter on pathways.
    PathwayFilter {
        /// Public id.
        sourced_id: StringFilter => column(pathway::Column::SourcedId),
        /// Code, e.g. `CLAPTECH-ICT`.
        code: StringFilter => column(pathway::Column::Code),
        /// Title.
        title: StringFilter => column(pathway::Column::Title),
        /// Track.
        track: TrackFilter => column(pathway::Column::Track),
        /// Owning academic unit.
        owning_org: IdFilter => reference(pathway::Column::OwningOrgId, "org", "Organization", "owningOrg"),
        /// Launch date.
        launched_on: DateFilter => column(pathway::Column::LaunchedOn),
        /// Last change.
        date_last_modified: DateTimeFilter => column(pathway::Column::DateLastModified),
    }
);

order_input!(
    /// Sort order for pathways.
    PathwayOrder, PathwayOrderField for pathway::Column {
        /// Code.
        Code => pathway::Column::Code,
        /// Title.
        Title => pathway::Column::Title,
        /// Last change.
        DateLastModified => pathway::Column::DateLastModified,
    }
);
list_inputs!(PathwayFilter, PathwayOrder, pathway::Column);

record_object!(
    /// A "3+2" learning pathway: S4–S6 with an Applied Learning course, then a Higher Diploma.
    Pathway(pathway::Model)
);

#[ComplexObject]
impl Pathway {
    /// Code, e.g. `CLAPTECH-ICT`.
    async fn code(&self) -> &str {
        &self.row.code
    }

    /// Title.
    async fn title(&self) -> &str {
        &self.row.title
    }

    /// Track.
    async fn track(&self) -> Result<Track> {
        required_enum(&self.row.track)
    }

    /// The `ext:` text when `track` is `EXTENSION`.
    async fn track_extension(&self) -> Option<&str> {
        self.row
            .track
            .starts_with("ext:")
            .then_some(self.row.track.as_str())
    }

    /// Owning academic unit.
    async fn owning_org(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        load_one::<org::Entity, Organization>(ctx, self.row.owning_org_id)
            .await
            .extend()
    }

    /// Launch date.
    async fn launched_on(&self) -> Option<Date> {
        self.row.launched_on.map(Date)
    }

    /// Certifications the full pathway earns.
    async fn certifications(&self) -> Vec<String> {
        json_strings(self.row.certifications.as_ref())
    }

    /// Stages (S4 … HD2); ordered by `seq` unless `orderBy` says otherwise.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn stages(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<PathwayStageFilter>,
        order_by: Option<Vec<PathwayStageOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<PathwayStage>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        let order_by = order_by.or_else(|| {
            Some(vec![PathwayStageOrder {
                field: PathwayStageOrderField::Seq,
                direction: OrderDirection::Asc,
            }])
        });
        list::<pathway_stage::Entity, _, _, _>(
            ctx,
            Some((pathway_stage::Column::PathwayId, self.row.id)),
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }

    /// Cohorts.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn cohorts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<CohortFilter>,
        order_by: Option<Vec<CohortOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<Cohort>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<cohort::Entity, _, _, _>(
            ctx,
            Some((cohort::Column::PathwayId, self.row.id)),
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }

    /// Enrolments in this pathway, within the caller's reach.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn enrollments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<PathwayEnrollmentFilter>,
        order_by: Option<Vec<PathwayEnrollmentOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<PathwayEnrollment>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<pathway_enrollment::Entity, _, _, _>(
            ctx,
            Some((pathway_enrollment::Column::PathwayId, self.row.id)),
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
    /// Filter on pathway stages.
    PathwayStageFilter {
        /// Code, e.g. `S4`.
        code: StringFilter => column(pathway_stage::Column::Code),
        /// Position in the pathway.
        seq: IntFilter => column(pathway_stage::Column::Seq),
        /// Level.
        level: StageLevelFilter => column(pathway_stage::Column::Level),
        /// Whether students may join here.
        is_entry_point: BooleanFilter => column(pathway_stage::Column::IsEntryPoint),
        /// Whether students may leave here as planned.
        is_exit_point: BooleanFilter => column(pathway_stage::Column::IsExitPoint),
    }
);

order_input!(
    /// Sort order for pathway stages.
    PathwayStageOrder, PathwayStageOrderField for pathway_stage::Column {
        /// Position in the pathway.
        Seq => pathway_stage::Column::Seq,
        /// Code.
        Code => pathway_stage::Column::Code,
    }
);
list_inputs!(PathwayStageFilter, PathwayStageOrder, pathway_stage::Column);

record_object!(
    /// A stage of a pathway: S4, S5, S6, HD1 or HD2.
    PathwayStage(pathway_stage::Model)
);

#[ComplexObject]
impl PathwayStage {
    /// The pathway.
    async fn pathway(&self, ctx: &Context<'_>) -> Result<Option<Pathway>> {
        load_one::<pathway::Entity, Pathway>(ctx, self.row.pathway_id)
            .await
            .extend()
    }

    /// Position in the pathway (1 = first).
    async fn seq(&self) -> i32 {
        self.row.seq
    }

    /// Code, e.g. `S4`.
    async fn code(&self) -> &str {
        &self.row.code
    }

    /// Class level.
    async fn class_level(&self) -> &str {
        &self.row.class_level
    }

    /// Senior secondary or sub-degree.
    async fn level(&self) -> Result<StageLevel> {
        required_enum(&self.row.level)
    }

    /// Whether students may join here.
    async fn is_entry_point(&self) -> bool {
        self.row.is_entry_point
    }

    /// Whether students may leave here as planned.
    async fn is_exit_point(&self) -> bool {
        self.row.is_exit_point
    }

    /// The courses of this stage.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn courses(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<StageCourseFilter>,
        order_by: Option<Vec<StageCourseOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<StageCourse>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<stage_course::Entity, _, _, _>(
            ctx,
            Some((stage_course::Column::StageId, self.row.id)),
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
    /// Filter on stage courses.
    StageCourseFilter {
        /// The stage.
        stage: IdFilter => reference(stage_course::Column::StageId, "pathway_stage", "PathwayStage", "stage"),
        /// The course.
        course: IdFilter => reference(stage_course::Column::CourseId, "course", "Course", "course"),
        /// How the course counts.
        requirement: CourseRequirementFilter => column(stage_course::Column::Requirement),
    }
);

order_input!(
    /// Sort order for stage courses.
    StageCourseOrder, StageCourseOrderField for stage_course::Column {
        /// How the course counts.
        Requirement => stage_course::Column::Requirement,
        /// Last change.
        DateLastModified => stage_course::Column::DateLastModified,
    }
);
list_inputs!(StageCourseFilter, StageCourseOrder, stage_course::Column);

record_object!(
    /// A course taught at a pathway stage.
    StageCourse(stage_course::Model)
);

#[ComplexObject]
impl StageCourse {
    /// The stage.
    async fn stage(&self, ctx: &Context<'_>) -> Result<Option<PathwayStage>> {
        load_one::<pathway_stage::Entity, PathwayStage>(ctx, self.row.stage_id)
            .await
            .extend()
    }

    /// The course.
    async fn course(&self, ctx: &Context<'_>) -> Result<Option<Course>> {
        load_one::<course::Entity, Course>(ctx, self.row.course_id)
            .await
            .extend()
    }

    /// How the course counts at the stage.
    async fn requirement(&self) -> Result<CourseRequirement> {
        required_enum(&self.row.requirement)
    }
}

filter_input!(
    /// Filter on cohorts.
    CohortFilter {
        /// Public id.
        sourced_id: StringFilter => column(cohort::Column::SourcedId),
        /// Code, e.g. `ICT-2020`.
        code: StringFilter => column(cohort::Column::Code),
        /// The pathway.
        pathway: IdFilter => reference(cohort::Column::PathwayId, "pathway", "Pathway", "pathway"),
        /// The intake school year.
        intake_session: IdFilter => reference(cohort::Column::IntakeSessionId, "academic_session", "AcademicSession", "intakeSession"),
        /// HKDSE year.
        expected_hkdse_year: IntFilter => column(cohort::Column::ExpectedHkdseYear),
        /// Last change.
        date_last_modified: DateTimeFilter => column(cohort::Column::DateLastModified),
    }
);

order_input!(
    /// Sort order for cohorts.
    CohortOrder, CohortOrderField for cohort::Column {
        /// Code.
        Code => cohort::Column::Code,
        /// Last change.
        DateLastModified => cohort::Column::DateLastModified,
    }
);
list_inputs!(CohortFilter, CohortOrder, cohort::Column);

record_object!(
    /// The students of a pathway who started in the same school year.
    Cohort(cohort::Model)
);

#[ComplexObject]
impl Cohort {
    /// The pathway.
    async fn pathway(&self, ctx: &Context<'_>) -> Result<Option<Pathway>> {
        load_one::<pathway::Entity, Pathway>(ctx, self.row.pathway_id)
            .await
            .extend()
    }

    /// Code, e.g. `ICT-2020`.
    async fn code(&self) -> &str {
        &self.row.code
    }

    /// The intake school year.
    async fn intake_session(&self, ctx: &Context<'_>) -> Result<Option<AcademicSession>> {
        load_one::<academic_session::Entity, AcademicSession>(ctx, self.row.intake_session_id)
            .await
            .extend()
    }

    /// Year the cohort sits the HKDSE.
    async fn expected_hkdse_year(&self) -> Option<i32> {
        self.row.expected_hkdse_year
    }

    /// Enrolments in this cohort, within the caller's reach.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn enrollments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<PathwayEnrollmentFilter>,
        order_by: Option<Vec<PathwayEnrollmentOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<PathwayEnrollment>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<pathway_enrollment::Entity, _, _, _>(
            ctx,
            Some((pathway_enrollment::Column::CohortId, self.row.id)),
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }

    /// Course offerings for this cohort.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn offerings(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<CourseOfferingFilter>,
        order_by: Option<Vec<CourseOfferingOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<CourseOffering>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<course_offering::Entity, _, _, _>(
            ctx,
            Some((course_offering::Column::CohortId, self.row.id)),
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }
}

#[derive(Default)]
pub struct PathwaysQuery;

#[Object]
impl PathwaysQuery {
    /// Pathways: public catalogue, readable without a token.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn pathways(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<PathwayFilter>,
        order_by: Option<Vec<PathwayOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<Pathway>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<pathway::Entity, _, _, _>(ctx, None, args, filter, order_by, Condition::all())
            .await
            .extend()
    }

    /// One active pathway by its code, e.g. `CLAPTECH-ICT`; null when there is none.
    async fn pathway(&self, ctx: &Context<'_>, code: String) -> Result<Option<Pathway>> {
        let scope = <pathway::Entity as Scoped>::scope(viewer(ctx).extend()?).extend()?;
        let condition = Condition::all()
            .add(scope)
            .add(pathway::Column::Code.eq(code))
            .add(pathway::Column::Status.eq(entity::STATUS_ACTIVE));
        let found = service::list::find_one::<pathway::Entity>(db(ctx).extend()?, condition)
            .await
            .extend()?;
        Ok(found.map(Pathway::from))
    }

    /// Cohorts (requires a token).
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn cohorts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<CohortFilter>,
        order_by: Option<Vec<CohortOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<Cohort>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<cohort::Entity, _, _, _>(ctx, None, args, filter, order_by, Condition::all())
            .await
            .extend()
    }
}
