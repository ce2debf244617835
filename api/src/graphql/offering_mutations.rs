//! Writing course offerings (DOMAIN.md area B): `createCourseOffering`,
//! `updateCourseOffering`, `deleteCourseOffering` and the lifecycle mutations
//! `openCourseOfferingForEnrolment`, `startCourseOffering`, `completeCourseOffering` and
//! `cancelCourseOffering`. Rules and roles are in [`crate::service::offering_writes`].

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object, Result, SimpleObject};
use serde_json::Value;

use super::common::*;
use super::connection::{db, viewer};
use super::courses::{CourseOffering, DeliveryMode};
use super::payload::{UserError, user_error};
use crate::error::{AppError, AppResult, ResultExt};
use crate::service::offering_writes::{self as service, Action, NewOffering, OfferingChanges};

/// `MaybeUndefined` as "omitted / cleared / set".
pub fn maybe<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

/// The offering to create (state `PLANNED`).
#[derive(InputObject)]
pub struct CreateCourseOfferingInput {
    /// The course (global id or sourcedId).
    pub course: ID,
    /// Class code, unique within the course (deleted offerings keep theirs); 1 to 255
    /// characters.
    pub class_code: String,
    /// The hosting secondary school (global id or sourcedId); required for
    /// `MODE2_SCHOOL_BASED`. A school coordinator's or school client's own school when omitted,
    /// and the only school it may name.
    pub school_org: Option<ID>,
    /// The cohort the class is for (global id or sourcedId).
    pub cohort: Option<ID>,
    /// The terms (AcademicSessions, global ids or sourcedIds) the offering runs in: at least
    /// one, each of the programme calendar or of the offering's school. The offering must lie
    /// within them.
    pub terms: Vec<ID>,
    /// How the offering is delivered.
    pub delivery_mode: DeliveryMode,
    /// First day; on or after the first term's start.
    pub start_date: Date,
    /// Day after the last day (exclusive); after `startDate`, on or before the last term's end.
    pub end_date: Date,
    /// Client extension object (at most 16 KB).
    pub metadata: Option<Json<Value>>,
    /// The sourcedId to give the offering; a UUID is minted when omitted.
    pub sourced_id: Option<String>,
}

/// The result of `createCourseOffering`.
#[derive(SimpleObject, Default)]
pub struct CreateCourseOfferingPayload {
    /// The new offering; null when nothing was created.
    pub course_offering: Option<CourseOffering>,
    /// Expected failures; nothing was written when there are any.
    pub user_errors: Vec<UserError>,
}

/// Changes to an offering. Omitted fields are unchanged; an explicit null clears a nullable
/// one. The course and the state never change here (the state through the lifecycle
/// mutations).
#[derive(InputObject)]
pub struct UpdateCourseOfferingInput {
    /// The offering: its global id or sourcedId.
    pub course_offering: ID,
    /// The version last read; a different current version is `VERSION_CONFLICT` and nothing
    /// changes.
    pub expected_version: Option<i32>,
    /// New class code (unique within the course).
    pub class_code: Option<String>,
    /// New hosting school; null clears it (not for a school-based offering).
    #[graphql(default)]
    pub school_org: MaybeUndefined<ID>,
    /// New cohort; null clears it.
    #[graphql(default)]
    pub cohort: MaybeUndefined<ID>,
    /// Replaces the terms (at least one).
    pub terms: Option<Vec<ID>>,
    /// New delivery mode.
    pub delivery_mode: Option<DeliveryMode>,
    /// New first day.
    pub start_date: Option<Date>,
    /// New day after the last day (exclusive).
    pub end_date: Option<Date>,
    /// New extension object (at most 16 KB); null clears it.
    #[graphql(default)]
    pub metadata: MaybeUndefined<Json<Value>>,
}

/// The result of `updateCourseOffering`.
#[derive(SimpleObject, Default)]
pub struct UpdateCourseOfferingPayload {
    /// The offering after the change; null when nothing changed.
    pub course_offering: Option<CourseOffering>,
    /// Expected failures; nothing was written when there are any.
    pub user_errors: Vec<UserError>,
}

/// The offering to delete.
#[derive(InputObject)]
pub struct DeleteCourseOfferingInput {
    /// The offering: its global id or sourcedId.
    pub course_offering: ID,
    /// The version last read; a different current version is `VERSION_CONFLICT` and nothing
    /// changes.
    pub expected_version: Option<i32>,
}

/// The result of `deleteCourseOffering`.
#[derive(SimpleObject, Default)]
pub struct DeleteCourseOfferingPayload {
    /// The tombstone (status `TOBEDELETED`); null when nothing changed.
    pub course_offering: Option<CourseOffering>,
    /// Expected failures; nothing was written when there are any.
    pub user_errors: Vec<UserError>,
}

/// The fields every offering transition input has.
trait TransitionInput {
    fn course_offering(&self) -> &ID;
    fn expected_version(&self) -> Option<i32>;
    fn reason(&self) -> Option<&str>;
}

/// The offering written, or the user errors of a refused write.
struct Outcome(Option<CourseOffering>, Vec<UserError>);

impl Outcome {
    /// Expected failures become user errors; access and unexpected failures stay top-level.
    fn failed(error: AppError) -> Result<Outcome> {
        Ok(Outcome(None, vec![user_error(error).extend()?]))
    }

    fn from_service(result: AppResult<entity::course_offering::Model>) -> Result<Outcome> {
        match result {
            Ok(row) => Ok(Outcome(Some(row.into()), Vec::new())),
            Err(error) => Outcome::failed(error),
        }
    }
}

macro_rules! offering_payload {
    ($($payload:ident),*) => {$(
        impl From<Outcome> for $payload {
            fn from(outcome: Outcome) -> Self {
                $payload {
                    course_offering: outcome.0,
                    user_errors: outcome.1,
                }
            }
        }
    )*};
}

/// Declares the input and payload of one transition mutation.
macro_rules! transition_types {
    ($input:ident, $payload:ident, $what:literal) => {
        #[doc = concat!("The course offering to ", $what, ".")]
        #[derive(InputObject)]
        pub struct $input {
            /// The offering: its global id or sourcedId.
            pub course_offering: ID,
            /// The version last read; a different current version is `VERSION_CONFLICT` and
            /// nothing changes.
            pub expected_version: Option<i32>,
            /// Why; kept in the status history (at most 1,000 characters).
            pub reason: Option<String>,
        }

        impl TransitionInput for $input {
            fn course_offering(&self) -> &ID {
                &self.course_offering
            }
            fn expected_version(&self) -> Option<i32> {
                self.expected_version
            }
            fn reason(&self) -> Option<&str> {
                self.reason.as_deref()
            }
        }

        #[doc = concat!("The result of the mutation to ", $what, " a course offering.")]
        #[derive(SimpleObject, Default)]
        pub struct $payload {
            /// The offering after the change; null when nothing changed.
            pub course_offering: Option<CourseOffering>,
            /// Expected failures; nothing was written when there are any.
            pub user_errors: Vec<UserError>,
        }

        offering_payload!($payload);
    };
}

offering_payload!(
    CreateCourseOfferingPayload,
    UpdateCourseOfferingPayload,
    DeleteCourseOfferingPayload
);
transition_types!(
    OpenCourseOfferingForEnrolmentInput,
    OpenCourseOfferingForEnrolmentPayload,
    "open for enrolment"
);
transition_types!(
    StartCourseOfferingInput,
    StartCourseOfferingPayload,
    "start"
);
transition_types!(
    CompleteCourseOfferingInput,
    CompleteCourseOfferingPayload,
    "complete"
);
transition_types!(
    CancelCourseOfferingInput,
    CancelCourseOfferingPayload,
    "cancel"
);

fn offering_id(id: &ID) -> AppResult<String> {
    sourced_id_of("CourseOffering", "courseOffering", id.as_str())
}

fn term_ids(terms: &[ID]) -> AppResult<Vec<String>> {
    terms
        .iter()
        .enumerate()
        .map(|(i, t)| sourced_id_of("AcademicSession", &format!("terms.{i}"), t.as_str()))
        .collect()
}

fn optional_id(type_name: &str, field: &str, id: Option<&ID>) -> AppResult<Option<String>> {
    id.map(|id| sourced_id_of(type_name, field, id.as_str()))
        .transpose()
}

async fn run_transition(
    ctx: &Context<'_>,
    action: Action,
    input: &impl TransitionInput,
) -> Result<Outcome> {
    let viewer = viewer(ctx).extend()?;
    service::authorize(viewer).extend()?;
    let sourced_id = match offering_id(input.course_offering()) {
        Ok(sid) => sid,
        Err(error) => return Outcome::failed(error),
    };
    let result = service::transition(
        db(ctx).extend()?,
        viewer,
        action,
        &sourced_id,
        input.expected_version(),
        input.reason(),
    )
    .await;
    Outcome::from_service(result)
}

async fn create(ctx: &Context<'_>, input: CreateCourseOfferingInput) -> Result<Outcome> {
    let viewer = viewer(ctx).extend()?;
    service::authorize(viewer).extend()?;
    let ids = (|| -> AppResult<_> {
        Ok((
            sourced_id_of("Course", "course", input.course.as_str())?,
            optional_id("Organization", "schoolOrg", input.school_org.as_ref())?,
            optional_id("Cohort", "cohort", input.cohort.as_ref())?,
            term_ids(&input.terms)?,
        ))
    })();
    let (course, school_org, cohort, terms) = match ids {
        Ok(ids) => ids,
        Err(error) => return Outcome::failed(error),
    };
    let new = NewOffering {
        course: &course,
        class_code: &input.class_code,
        school_org: school_org.as_deref(),
        cohort: cohort.as_deref(),
        terms: &terms,
        delivery_mode: input.delivery_mode.db(),
        start_date: input.start_date.0,
        end_date: input.end_date.0,
        metadata: input.metadata.map(|m| m.0),
        sourced_id: input.sourced_id.as_deref(),
    };
    Outcome::from_service(service::create(db(ctx).extend()?, viewer, &new).await)
}

async fn update(ctx: &Context<'_>, input: UpdateCourseOfferingInput) -> Result<Outcome> {
    let viewer = viewer(ctx).extend()?;
    service::authorize(viewer).extend()?;
    let converted = (|| -> AppResult<_> {
        let sid = offering_id(&input.course_offering)?;
        let school_org = maybe(input.school_org)
            .map(|o| optional_id("Organization", "schoolOrg", o.as_ref()))
            .transpose()?;
        let cohort = maybe(input.cohort)
            .map(|o| optional_id("Cohort", "cohort", o.as_ref()))
            .transpose()?;
        let terms = input.terms.as_deref().map(term_ids).transpose()?;
        Ok((
            sid,
            OfferingChanges {
                class_code: input.class_code,
                school_org,
                cohort,
                terms,
                delivery_mode: input.delivery_mode.map(DbEnum::db),
                start_date: input.start_date.map(|d| d.0),
                end_date: input.end_date.map(|d| d.0),
                metadata: maybe(input.metadata).map(|m| m.map(|j| j.0)),
            },
        ))
    })();
    let (sid, changes) = match converted {
        Ok(c) => c,
        Err(error) => return Outcome::failed(error),
    };
    let result = service::update(
        db(ctx).extend()?,
        viewer,
        &sid,
        input.expected_version,
        &changes,
    )
    .await;
    Outcome::from_service(result)
}

async fn delete(ctx: &Context<'_>, input: DeleteCourseOfferingInput) -> Result<Outcome> {
    let viewer = viewer(ctx).extend()?;
    service::authorize(viewer).extend()?;
    let sid = match offering_id(&input.course_offering) {
        Ok(sid) => sid,
        Err(error) => return Outcome::failed(error),
    };
    let result = service::delete(db(ctx).extend()?, viewer, &sid, input.expected_version).await;
    Outcome::from_service(result)
}

#[derive(Default)]
pub struct OfferingMutation;

/// Who may call these: programmeStaff and programmeAdmin; the provider's staff (an active role
/// at the course's provider organisation) for offerings of the provider's courses; a
/// schoolCoordinator or the school's client with `roster.write` creates, updates and deletes
/// offerings at its own school, and runs the lifecycle only if also the provider's staff.
/// Anyone else gets `FORBIDDEN`; an unknown offering is `NOT_FOUND`.
#[Object]
impl OfferingMutation {
    /// Creates a course offering (state `PLANNED`, recorded in the status history). Who: see
    /// above; a school caller creates only at its own school (another school is `FORBIDDEN`).
    /// User errors: `BAD_USER_INPUT` on `course`, `classCode`, `schoolOrg` (unknown, not a
    /// secondary school, or missing for mode 2), `cohort`, `terms`/`terms.<i>`, `startDate`,
    /// `endDate` (order, or outside the terms), `metadata`, `sourcedId`; `DUPLICATE` for a class
    /// code of the course or a sourcedId already in use.
    async fn create_course_offering(
        &self,
        ctx: &Context<'_>,
        input: CreateCourseOfferingInput,
    ) -> Result<CreateCourseOfferingPayload> {
        create(ctx, input).await.map(Into::into)
    }

    /// Updates an offering's fields. Who: see above (a school caller only offerings at its own
    /// school, and it may not move them elsewhere). User errors as for `createCourseOffering`,
    /// plus `VERSION_CONFLICT` and `INVALID_TRANSITION` (the offering is deleted). Dates are
    /// checked against the terms whenever dates or terms change.
    async fn update_course_offering(
        &self,
        ctx: &Context<'_>,
        input: UpdateCourseOfferingInput,
    ) -> Result<UpdateCourseOfferingPayload> {
        update(ctx, input).await.map(Into::into)
    }

    /// Deletes an offering as a tombstone (status `TOBEDELETED`, readable with
    /// `includeDeleted`, a `delete` change event). Who: as for `updateCourseOffering`. User
    /// errors: `VERSION_CONFLICT`; `INVALID_TRANSITION` when already deleted or when it still
    /// has course enrolments that are not deleted.
    async fn delete_course_offering(
        &self,
        ctx: &Context<'_>,
        input: DeleteCourseOfferingInput,
    ) -> Result<DeleteCourseOfferingPayload> {
        delete(ctx, input).await.map(Into::into)
    }

    /// `PLANNED → OPEN_FOR_ENROLMENT`, by programmeStaff or the provider's staff.
    /// `INVALID_TRANSITION` from any other state.
    async fn open_course_offering_for_enrolment(
        &self,
        ctx: &Context<'_>,
        input: OpenCourseOfferingForEnrolmentInput,
    ) -> Result<OpenCourseOfferingForEnrolmentPayload> {
        run_transition(ctx, Action::Open, &input)
            .await
            .map(Into::into)
    }

    /// `OPEN_FOR_ENROLMENT → RUNNING`, by programmeStaff or the provider's staff.
    /// `INVALID_TRANSITION` from any other state. (Pinning the curriculum units' published
    /// versions arrives with the curriculum.)
    async fn start_course_offering(
        &self,
        ctx: &Context<'_>,
        input: StartCourseOfferingInput,
    ) -> Result<StartCourseOfferingPayload> {
        run_transition(ctx, Action::Start, &input)
            .await
            .map(Into::into)
    }

    /// `RUNNING → COMPLETED`, by programmeStaff or the provider's staff. `INVALID_TRANSITION`
    /// from any other state.
    async fn complete_course_offering(
        &self,
        ctx: &Context<'_>,
        input: CompleteCourseOfferingInput,
    ) -> Result<CompleteCourseOfferingPayload> {
        run_transition(ctx, Action::Complete, &input)
            .await
            .map(Into::into)
    }

    /// `PLANNED | OPEN_FOR_ENROLMENT → CANCELLED`, by programmeStaff or the provider's staff.
    /// `INVALID_TRANSITION` from any other state.
    async fn cancel_course_offering(
        &self,
        ctx: &Context<'_>,
        input: CancelCourseOfferingInput,
    ) -> Result<CancelCourseOfferingPayload> {
        run_transition(ctx, Action::Cancel, &input)
            .await
            .map(Into::into)
    }
}
