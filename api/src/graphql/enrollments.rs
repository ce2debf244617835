//! Pathway and course enrolments (DOMAIN.md area B) and their status history.

use async_graphql::{ComplexObject, Context, Object, Result};
use chrono::{DateTime, Utc};
use entity::{
    cohort, course_enrollment, course_offering, org, pathway, pathway_enrollment, pathway_stage,
    person,
};
use sea_orm::Condition;

use super::common::*;
use super::connection::{Conn, ListArgs, load_one, load_optional};
use super::courses::CourseOffering;
use super::history::StatusChange;
use super::orgs::Organization;
use super::pathways::{Cohort, Pathway, PathwayStage};
use super::people::Person;
use super::record::{enum_of, list, list_inputs, page_cost, record_object, required_enum};
use crate::error::ResultExt;

db_enum!(
    /// Lifecycle state of a pathway enrolment (DOMAIN.md area B).
    PathwayEnrollmentState, PathwayEnrollmentStateFilter {
        /// Applied to join.
        Applied = "applied",
        /// Offered a place.
        Offered = "offered",
        /// Not admitted (terminal).
        NotAdmitted = "not_admitted",
        /// Declined the offer (terminal).
        Declined = "declined",
        /// Enrolled in the senior-secondary stages.
        Enrolled = "enrolled",
        /// Paused.
        OnHold = "on_hold",
        /// Completed S6 with the core ApL outcome.
        SecondaryCompleted = "secondary_completed",
        /// Articulated to the Higher Diploma.
        Articulated = "articulated",
        /// Completed the whole pathway (terminal).
        Completed = "completed",
        /// Left at an exit point, as planned (terminal).
        Exited = "exited",
        /// Left elsewhere (terminal).
        Withdrawn = "withdrawn",
    }
);

db_enum!(
    /// Why a student left a pathway.
    ExitReason, ExitReasonFilter {
        /// To other study.
        ToOtherStudy = "toOtherStudy",
        /// To employment.
        ToEmployment = "toEmployment",
        /// Transferred school.
        TransferredSchool = "transferredSchool",
        /// Withdrew by choice.
        WithdrewByChoice = "withdrewByChoice",
        /// Did not meet the requirements.
        NotMeetingRequirements = "notMeetingRequirements",
        /// Left Hong Kong.
        LeftHongKong = "leftHongKong",
        /// Another reason.
        Other = "other",
    }
);

db_enum!(
    /// A person's role in a course offering.
    EnrollmentRole, EnrollmentRoleFilter {
        /// Student.
        Student = "student",
        /// Teacher.
        Teacher = "teacher",
        /// Teaching aide.
        Aide = "aide",
        /// Industry mentor (`ext:mentor`).
        Mentor = "ext:mentor",
    }
);

db_enum!(
    /// Lifecycle state of a course enrolment.
    CourseEnrollmentState, CourseEnrollmentStateFilter {
        /// Enrolled.
        Enrolled = "enrolled",
        /// Completed (the offering ran).
        Completed = "completed",
        /// Withdrawn.
        Withdrawn = "withdrawn",
        /// Transferred to another enrolment.
        Transferred = "transferred",
    }
);

filter_input!(
    /// Filter on pathway enrolments.
    PathwayEnrollmentFilter {
        /// Public id.
        sourced_id: StringFilter => column(pathway_enrollment::Column::SourcedId),
        /// The student.
        student: IdFilter => reference(pathway_enrollment::Column::StudentId, "person", "Person", "student"),
        /// The pathway.
        pathway: IdFilter => reference(pathway_enrollment::Column::PathwayId, "pathway", "Pathway", "pathway"),
        /// The cohort.
        cohort: IdFilter => reference(pathway_enrollment::Column::CohortId, "cohort", "Cohort", "cohort"),
        /// The entry school.
        entry_school: IdFilter => reference(pathway_enrollment::Column::EntrySchoolId, "org", "Organization", "entrySchool"),
        /// The current stage.
        current_stage: IdFilter => reference(pathway_enrollment::Column::CurrentStageId, "pathway_stage", "PathwayStage", "currentStage"),
        /// Lifecycle state.
        state: PathwayEnrollmentStateFilter => column(pathway_enrollment::Column::State),
        /// Why the student left.
        exit_reason: ExitReasonFilter => column(pathway_enrollment::Column::ExitReason),
        /// First day.
        begin_date: DateFilter => column(pathway_enrollment::Column::BeginDate),
        /// Day after the last day.
        end_date: DateFilter => column(pathway_enrollment::Column::EndDate),
        /// Last change.
        date_last_modified: DateTimeFilter => column(pathway_enrollment::Column::DateLastModified),
    }
);

order_input!(
    /// Sort order for pathway enrolments.
    PathwayEnrollmentOrder, PathwayEnrollmentOrderField for pathway_enrollment::Column {
        /// First day.
        BeginDate => pathway_enrollment::Column::BeginDate,
        /// Lifecycle state.
        State => pathway_enrollment::Column::State,
        /// Creation time.
        DateCreated => pathway_enrollment::Column::DateCreated,
        /// Last change.
        DateLastModified => pathway_enrollment::Column::DateLastModified,
    }
);
list_inputs!(
    PathwayEnrollmentFilter,
    PathwayEnrollmentOrder,
    pathway_enrollment::Column
);

record_object!(
    /// A student's enrolment in a pathway. Its `state` changes only through transitions, each
    /// recorded in `statusHistory`.
    PathwayEnrollment(pathway_enrollment::Model)
);

#[ComplexObject]
impl PathwayEnrollment {
    /// The student.
    async fn student(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        load_one::<person::Entity, Person>(ctx, self.row.student_id)
            .await
            .extend()
    }

    /// The pathway.
    async fn pathway(&self, ctx: &Context<'_>) -> Result<Option<Pathway>> {
        load_one::<pathway::Entity, Pathway>(ctx, self.row.pathway_id)
            .await
            .extend()
    }

    /// The cohort.
    async fn cohort(&self, ctx: &Context<'_>) -> Result<Option<Cohort>> {
        load_one::<cohort::Entity, Cohort>(ctx, self.row.cohort_id)
            .await
            .extend()
    }

    /// The school the student entered from.
    async fn entry_school(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        load_one::<org::Entity, Organization>(ctx, self.row.entry_school_id)
            .await
            .extend()
    }

    /// The stage the student entered at.
    async fn entry_stage(&self, ctx: &Context<'_>) -> Result<Option<PathwayStage>> {
        load_one::<pathway_stage::Entity, PathwayStage>(ctx, self.row.entry_stage_id)
            .await
            .extend()
    }

    /// The stage the student is at.
    async fn current_stage(&self, ctx: &Context<'_>) -> Result<Option<PathwayStage>> {
        load_optional::<pathway_stage::Entity, PathwayStage>(ctx, self.row.current_stage_id)
            .await
            .extend()
    }

    /// First day.
    async fn begin_date(&self) -> Date {
        Date(self.row.begin_date)
    }

    /// Day after the last day; set by terminal states.
    async fn end_date(&self) -> Option<Date> {
        self.row.end_date.map(Date)
    }

    /// Lifecycle state.
    async fn state(&self) -> Result<PathwayEnrollmentState> {
        required_enum(&self.row.state)
    }

    /// Why the student left (exited or withdrawn).
    async fn exit_reason(&self) -> Option<ExitReason> {
        self.row.exit_reason.as_deref().and_then(enum_of)
    }

    /// Every accepted transition and stage change, oldest first.
    async fn status_history(&self, ctx: &Context<'_>) -> Result<Vec<StatusChange>> {
        super::history::of::<pathway_enrollment::Entity>(ctx, self.row.id).await
    }
}

filter_input!(
    /// Filter on course enrolments.
    CourseEnrollmentFilter {
        /// Public id.
        sourced_id: StringFilter => column(course_enrollment::Column::SourcedId),
        /// The person.
        person: IdFilter => reference(course_enrollment::Column::PersonId, "person", "Person", "person"),
        /// The offering.
        offering: IdFilter => reference(course_enrollment::Column::OfferingId, "course_offering", "CourseOffering", "offering"),
        /// The school.
        school_org: IdFilter => reference(course_enrollment::Column::SchoolOrgId, "org", "Organization", "schoolOrg"),
        /// The role in the offering.
        role: EnrollmentRoleFilter => column(course_enrollment::Column::Role),
        /// Lifecycle state.
        state: CourseEnrollmentStateFilter => column(course_enrollment::Column::State),
        /// Contact hours attended.
        contact_hours_attended: FloatFilter => column(course_enrollment::Column::ContactHoursAttended),
        /// First day.
        begin_date: DateFilter => column(course_enrollment::Column::BeginDate),
        /// Last change.
        date_last_modified: DateTimeFilter => column(course_enrollment::Column::DateLastModified),
    }
);

order_input!(
    /// Sort order for course enrolments.
    CourseEnrollmentOrder, CourseEnrollmentOrderField for course_enrollment::Column {
        /// First day.
        BeginDate => course_enrollment::Column::BeginDate,
        /// Lifecycle state.
        State => course_enrollment::Column::State,
        /// Role.
        Role => course_enrollment::Column::Role,
        /// Creation time.
        DateCreated => course_enrollment::Column::DateCreated,
        /// Last change.
        DateLastModified => course_enrollment::Column::DateLastModified,
    }
);
list_inputs!(
    CourseEnrollmentFilter,
    CourseEnrollmentOrder,
    course_enrollment::Column
);

record_object!(
    /// A person's enrolment in a course offering (OneRoster Enrollment).
    CourseEnrollment(course_enrollment::Model)
);

#[ComplexObject]
impl CourseEnrollment {
    /// The person.
    async fn person(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        load_one::<person::Entity, Person>(ctx, self.row.person_id)
            .await
            .extend()
    }

    /// The offering.
    async fn offering(&self, ctx: &Context<'_>) -> Result<Option<CourseOffering>> {
        load_one::<course_offering::Entity, CourseOffering>(ctx, self.row.offering_id)
            .await
            .extend()
    }

    /// The school the person attends the offering for.
    async fn school_org(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        load_one::<org::Entity, Organization>(ctx, self.row.school_org_id)
            .await
            .extend()
    }

    /// Role in the offering.
    async fn role(&self) -> Result<EnrollmentRole> {
        required_enum(&self.row.role)
    }

    /// First day.
    async fn begin_date(&self) -> Date {
        Date(self.row.begin_date)
    }

    /// Day after the last day.
    async fn end_date(&self) -> Option<Date> {
        self.row.end_date.map(Date)
    }

    /// ApL contact hours attended (never workplace hours).
    async fn contact_hours_attended(&self) -> Option<f64> {
        self.row.contact_hours_attended
    }

    /// Lifecycle state.
    async fn state(&self) -> Result<CourseEnrollmentState> {
        required_enum(&self.row.state)
    }

    /// The enrolment this one was transferred to.
    async fn transferred_to(&self, ctx: &Context<'_>) -> Result<Option<CourseEnrollment>> {
        load_optional::<course_enrollment::Entity, CourseEnrollment>(
            ctx,
            self.row.transferred_to_id,
        )
        .await
        .extend()
    }

    /// Every accepted transition, oldest first.
    async fn status_history(&self, ctx: &Context<'_>) -> Result<Vec<StatusChange>> {
        super::history::of::<course_enrollment::Entity>(ctx, self.row.id).await
    }
}

#[derive(Default)]
pub struct EnrollmentsQuery;

#[Object]
impl EnrollmentsQuery {
    /// Pathway enrolments within the caller's reach.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn pathway_enrollments(
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
            None,
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }

    /// Course enrolments within the caller's reach.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn course_enrollments(
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
