//! Courses and course offerings (DOMAIN.md area B).

use std::collections::HashMap;
use std::marker::PhantomData;

use async_graphql::dataloader::Loader;
use async_graphql::{ComplexObject, Context, Object, Result};
use chrono::{DateTime, Utc};
use entity::{
    academic_session, cohort, course, course_enrollment, course_offering, org, stage_course,
};
use sea_orm::{Condition, DatabaseConnection};

use super::calendar::AcademicSession;
use super::common::*;
use super::connection::{Conn, ListArgs, load_one, load_optional, request};
use super::enrollments::{CourseEnrollment, CourseEnrollmentFilter, CourseEnrollmentOrder};
use super::orgs::{Organization, json_strings};
use super::pathways::{Cohort, StageCourse, StageCourseFilter, StageCourseOrder};
use super::record::{list, list_inputs, page_cost, record_object, required_enum};
use crate::access::Scoped;
use crate::auth::Viewer;
use crate::error::{AppError, ResultExt};
use crate::service;

db_enum!(
    /// Kind of course.
    CourseKind, CourseKindFilter {
        /// An Applied Learning course (S4–S6).
        AppliedLearning = "appliedLearning",
        /// A Higher Diploma programme course.
        HigherDiploma = "higherDiploma",
        /// Co-curricular.
        CoCurricular = "coCurricular",
        /// Bridging, e.g. a boot camp.
        Bridging = "bridging",
    }
);

db_enum!(
    /// How an offering is delivered.
    DeliveryMode, DeliveryModeFilter {
        /// Mode 1: at the provider.
        Mode1AtProvider = "mode1AtProvider",
        /// Mode 2: at the school (needs a school).
        Mode2SchoolBased = "mode2SchoolBased",
        /// Online.
        Online = "online",
        /// Blended.
        Blended = "blended",
    }
);

db_enum!(
    /// Lifecycle state of a course offering.
    OfferingState, OfferingStateFilter {
        /// Planned.
        Planned = "planned",
        /// Open for enrolment.
        OpenForEnrolment = "open_for_enrolment",
        /// Running (its curriculum unit versions are pinned).
        Running = "running",
        /// Completed.
        Completed = "completed",
        /// Cancelled.
        Cancelled = "cancelled",
    }
);

filter_input!(
    /// Filter on courses.
    CourseFilter {
        /// Public id.
        sourced_id: StringFilter => column(course::Column::SourcedId),
        /// Course code, e.g. `APL-TECHBASICS`.
        course_code: StringFilter => column(course::Column::CourseCode),
        /// Title.
        title: StringFilter => column(course::Column::Title),
        /// Kind of course.
        course_kind: CourseKindFilter => column(course::Column::CourseKind),
        /// Provider.
        provider_org: IdFilter => reference(course::Column::ProviderOrgId, "org", "Organization", "providerOrg"),
        /// QF level.
        qf_level: IntFilter => column(course::Column::QfLevel),
        /// Last change.
        date_last_modified: DateTimeFilter => column(course::Column::DateLastModified),
    }
);

order_input!(
    /// Sort order for courses.
    CourseOrder, CourseOrderField for course::Column {
        /// Course code.
        CourseCode => course::Column::CourseCode,
        /// Title.
        Title => course::Column::Title,
        /// Last change.
        DateLastModified => course::Column::DateLastModified,
    }
);
list_inputs!(CourseFilter, CourseOrder, course::Column);

record_object!(
    /// A course: an Applied Learning course, a Higher Diploma, a co-curricular or bridging course.
    Course(course::Model)
);

#[ComplexObject]
impl Course {
    /// Course code, e.g. `APL-TECHBASICS`.
    async fn course_code(&self) -> &str {
        &self.row.course_code
    }

    /// Title.
    async fn title(&self) -> &str {
        &self.row.title
    }

    /// Other names the course is known by (searchable, not keys).
    async fn aliases(&self) -> Vec<String> {
        json_strings(self.row.aliases.as_ref())
    }

    /// Kind of course.
    async fn course_kind(&self) -> Result<CourseKind> {
        required_enum(&self.row.course_kind)
    }

    /// Provider.
    async fn provider_org(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        load_one::<org::Entity, Organization>(ctx, self.row.provider_org_id)
            .await
            .extend()
    }

    /// ApL area of studies.
    async fn apl_area_of_studies(&self) -> Option<&str> {
        self.row.apl_area_of_studies.as_deref()
    }

    /// Nominal contact hours (ApL: 180).
    async fn nominal_contact_hours(&self) -> Option<i32> {
        self.row.nominal_contact_hours
    }

    /// School years the course spans.
    async fn span_years(&self) -> Option<i32> {
        self.row.span_years
    }

    /// Qualifications Framework level (1–7).
    async fn qf_level(&self) -> Option<i32> {
        self.row.qf_level
    }

    /// QF credits (1 credit = 10 notional hours).
    async fn qf_credits(&self) -> Option<i32> {
        self.row.qf_credits
    }

    /// The pathway stages this course belongs to.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn stages(
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
            Some((stage_course::Column::CourseId, self.row.id)),
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }

    /// Offerings (classes) of this course.
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
            Some((course_offering::Column::CourseId, self.row.id)),
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
    /// Filter on course offerings.
    CourseOfferingFilter {
        /// Public id.
        sourced_id: StringFilter => column(course_offering::Column::SourcedId),
        /// Class code.
        class_code: StringFilter => column(course_offering::Column::ClassCode),
        /// The course.
        course: IdFilter => reference(course_offering::Column::CourseId, "course", "Course", "course"),
        /// The hosting school.
        school_org: IdFilter => reference(course_offering::Column::SchoolOrgId, "org", "Organization", "schoolOrg"),
        /// The cohort.
        cohort: IdFilter => reference(course_offering::Column::CohortId, "cohort", "Cohort", "cohort"),
        /// Delivery mode.
        delivery_mode: DeliveryModeFilter => column(course_offering::Column::DeliveryMode),
        /// Lifecycle state.
        state: OfferingStateFilter => column(course_offering::Column::State),
        /// First day.
        start_date: DateFilter => column(course_offering::Column::StartDate),
        /// Day after the last day.
        end_date: DateFilter => column(course_offering::Column::EndDate),
        /// Last change.
        date_last_modified: DateTimeFilter => column(course_offering::Column::DateLastModified),
    }
);

order_input!(
    /// Sort order for course offerings.
    CourseOfferingOrder, CourseOfferingOrderField for course_offering::Column {
        /// Class code.
        ClassCode => course_offering::Column::ClassCode,
        /// First day.
        StartDate => course_offering::Column::StartDate,
        /// Lifecycle state.
        State => course_offering::Column::State,
        /// Last change.
        DateLastModified => course_offering::Column::DateLastModified,
    }
);
list_inputs!(
    CourseOfferingFilter,
    CourseOfferingOrder,
    course_offering::Column
);

record_object!(
    /// A class of a course: where, when, for which cohort (OneRoster Class).
    CourseOffering(course_offering::Model)
);

#[ComplexObject]
impl CourseOffering {
    /// The course.
    async fn course(&self, ctx: &Context<'_>) -> Result<Option<Course>> {
        load_one::<course::Entity, Course>(ctx, self.row.course_id)
            .await
            .extend()
    }

    /// Class code.
    async fn class_code(&self) -> &str {
        &self.row.class_code
    }

    /// The hosting school (mode 2).
    async fn school_org(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        load_optional::<org::Entity, Organization>(ctx, self.row.school_org_id)
            .await
            .extend()
    }

    /// The cohort.
    async fn cohort(&self, ctx: &Context<'_>) -> Result<Option<Cohort>> {
        load_optional::<cohort::Entity, Cohort>(ctx, self.row.cohort_id)
            .await
            .extend()
    }

    /// The terms the offering runs in, by start date.
    async fn terms(&self, ctx: &Context<'_>) -> Result<Vec<AcademicSession>> {
        let loader = request(ctx)
            .extend()?
            .loaders
            .get(|db, viewer| TermsByOffering {
                db,
                viewer,
                _p: PhantomData,
            });
        let terms = loader
            .load_one(self.row.id)
            .await
            .extend()?
            .unwrap_or_default();
        Ok(terms.into_iter().map(AcademicSession::from).collect())
    }

    /// Delivery mode.
    async fn delivery_mode(&self) -> Result<DeliveryMode> {
        required_enum(&self.row.delivery_mode)
    }

    /// First day.
    async fn start_date(&self) -> Date {
        Date(self.row.start_date)
    }

    /// Day after the last day.
    async fn end_date(&self) -> Date {
        Date(self.row.end_date)
    }

    /// Lifecycle state.
    async fn state(&self) -> Result<OfferingState> {
        required_enum(&self.row.state)
    }

    /// The curriculum unit versions pinned when the offering started running: the published
    /// version of each active unit of the course at that moment, for good (empty before).
    async fn pinned_unit_versions(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<super::curriculum::CurriculumUnitVersion>> {
        super::coverage::pinned_unit_versions(ctx, self.row.id).await
    }

    /// Every accepted lifecycle transition, oldest first: who, through which client, when and
    /// why.
    async fn status_history(&self, ctx: &Context<'_>) -> Result<Vec<super::history::StatusChange>> {
        super::history::of::<course_offering::Entity>(ctx, self.row.id).await
    }

    /// Enrolments in this offering, within the caller's reach.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn enrollments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<CourseEnrollmentFilter>,
        order_by: Option<Vec<CourseEnrollmentOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<CourseEnrollment>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<course_enrollment::Entity, _, _, _>(
            ctx,
            Some((course_enrollment::Column::OfferingId, self.row.id)),
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }
}

/// Loads the terms of offerings (through `offering_term`), two statements per batch.
pub struct TermsByOffering {
    db: DatabaseConnection,
    viewer: std::sync::Arc<Viewer>,
    _p: PhantomData<()>,
}

impl Loader<i64> for TermsByOffering {
    type Value = Vec<academic_session::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, AppError> {
        let scope = academic_session::Entity::scope(&self.viewer)?;
        service::offerings::terms_of(&self.db, keys, scope).await
    }
}

#[derive(Default)]
pub struct CoursesQuery;

#[Object]
impl CoursesQuery {
    /// Courses: public catalogue, readable without a token.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn courses(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<CourseFilter>,
        order_by: Option<Vec<CourseOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<Course>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<course::Entity, _, _, _>(ctx, None, args, filter, order_by, Condition::all())
            .await
            .extend()
    }

    /// Course offerings (requires a token).
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn course_offerings(
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
