//! Writing course enrolments (DOMAIN.md area B): `createCourseEnrollment`,
//! `updateCourseEnrollment`, `deleteCourseEnrollment`, the lifecycle mutations
//! `completeCourseEnrollment`, `withdrawCourseEnrollment`, `transferCourseEnrollment`, and the
//! bulk `upsertCourseEnrollments`. Rules and roles are in
//! [`crate::service::course_enrollments`].

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object, Result, SimpleObject};
use serde_json::Value;

use super::common::*;
use super::connection::{db, viewer};
use super::enrollments::{CourseEnrollment, EnrollmentRole};
use super::offering_mutations::maybe;
use super::payload::{
    ExternalKeyInput, UpsertKey, UpsertOutcome, UserError, item_error, user_error,
};
use crate::error::{AppError, AppResult, ResultExt};
use crate::service::course_enrollments::{
    self as service, Action, EnrollmentChanges, EnrollmentFields, Key, PersonRef, UpsertItem,
};
use crate::service::upsert::Outcome as ItemOutcome;

/// The enrolment to create (state `ENROLLED`).
#[derive(InputObject)]
pub struct CreateCourseEnrollmentInput {
    /// The person (global id or sourcedId), within the caller's reach; a student must be in
    /// the caller's students and hold an active student role at the enrolment's school, a
    /// teacher an active teacher role there.
    pub person: ID,
    /// The course offering (global id or sourcedId): active, open for enrolment or running,
    /// hosted by the enrolment's school or by none.
    pub offering: ID,
    /// The person's role in the offering.
    pub role: EnrollmentRole,
    /// The school the enrolment belongs to (global id or sourcedId). A school caller's own
    /// school (the only one it may name); for programme staff, when omitted, the offering's
    /// school or else the one school where the person holds the role.
    pub school_org: Option<ID>,
    /// First day.
    pub begin_date: Date,
    /// Day after the last day (exclusive); after `beginDate`.
    pub end_date: Option<Date>,
    /// ApL contact hours attended so far (0 or more).
    pub contact_hours_attended: Option<f64>,
    /// Client extension object (at most 16 KB).
    pub metadata: Option<Json<Value>>,
    /// The sourcedId to give the enrolment; a UUID is minted when omitted.
    pub sourced_id: Option<String>,
}

/// Changes to an enrolment. Omitted fields are unchanged; an explicit null clears. The state
/// changes only through the lifecycle mutations; person, offering, role and beginDate never.
#[derive(InputObject)]
pub struct UpdateCourseEnrollmentInput {
    /// The enrolment: its global id or sourcedId.
    pub course_enrollment: ID,
    /// The version last read; a different current version is `VERSION_CONFLICT` and nothing
    /// changes.
    pub expected_version: Option<i32>,
    /// New day after the last day (exclusive); after `beginDate`.
    #[graphql(default)]
    pub end_date: MaybeUndefined<Date>,
    /// New ApL contact hours attended (0 or more).
    #[graphql(default)]
    pub contact_hours_attended: MaybeUndefined<f64>,
    /// New extension object (at most 16 KB).
    #[graphql(default)]
    pub metadata: MaybeUndefined<Json<Value>>,
}

/// The enrolment to delete.
#[derive(InputObject)]
pub struct DeleteCourseEnrollmentInput {
    /// The enrolment: its global id or sourcedId.
    pub course_enrollment: ID,
    /// The version last read; a different current version is `VERSION_CONFLICT` and nothing
    /// changes.
    pub expected_version: Option<i32>,
}

/// The enrolment to complete.
#[derive(InputObject)]
pub struct CompleteCourseEnrollmentInput {
    /// The enrolment: its global id or sourcedId.
    pub course_enrollment: ID,
    /// The version last read; a different current version is `VERSION_CONFLICT` and nothing
    /// changes.
    pub expected_version: Option<i32>,
    /// Why; kept in the status history (at most 1,000 characters).
    pub reason: Option<String>,
}

/// The enrolment to withdraw.
#[derive(InputObject)]
pub struct WithdrawCourseEnrollmentInput {
    /// The enrolment: its global id or sourcedId.
    pub course_enrollment: ID,
    /// The version last read; a different current version is `VERSION_CONFLICT` and nothing
    /// changes.
    pub expected_version: Option<i32>,
    /// Why; kept in the status history (at most 1,000 characters).
    pub reason: Option<String>,
}

/// The enrolment to transfer.
#[derive(InputObject)]
pub struct TransferCourseEnrollmentInput {
    /// The enrolment: its global id or sourcedId.
    pub course_enrollment: ID,
    /// The enrolment the person moves to (global id or sourcedId): another active, `ENROLLED`
    /// course enrolment of the same person, within the caller's reach.
    pub transferred_to: ID,
    /// The version last read; a different current version is `VERSION_CONFLICT` and nothing
    /// changes.
    pub expected_version: Option<i32>,
    /// Why; kept in the status history (at most 1,000 characters).
    pub reason: Option<String>,
}

/// Declares a payload holding one enrolment.
macro_rules! enrollment_payload {
    ($($payload:ident => $doc:literal),* $(,)?) => {$(
        #[doc = $doc]
        #[derive(SimpleObject, Default)]
        pub struct $payload {
            /// The enrolment after the change; null when nothing changed.
            pub course_enrollment: Option<CourseEnrollment>,
            /// Expected failures; nothing was written when there are any.
            pub user_errors: Vec<UserError>,
        }

        impl From<Outcome> for $payload {
            fn from(outcome: Outcome) -> Self {
                $payload {
                    course_enrollment: outcome.0,
                    user_errors: outcome.1,
                }
            }
        }
    )*};
}

/// The enrolment written, or the user errors of a refused write.
pub struct Outcome(Option<CourseEnrollment>, Vec<UserError>);

impl Outcome {
    fn failed(error: AppError) -> Result<Outcome> {
        Ok(Outcome(None, vec![user_error(error).extend()?]))
    }

    fn from_service(result: AppResult<entity::course_enrollment::Model>) -> Result<Outcome> {
        match result {
            Ok(row) => Ok(Outcome(Some(row.into()), Vec::new())),
            Err(error) => Outcome::failed(error),
        }
    }
}

enrollment_payload!(
    CreateCourseEnrollmentPayload => "The result of `createCourseEnrollment`.",
    UpdateCourseEnrollmentPayload => "The result of `updateCourseEnrollment`.",
    DeleteCourseEnrollmentPayload => "The result of `deleteCourseEnrollment` (the tombstone).",
    CompleteCourseEnrollmentPayload => "The result of `completeCourseEnrollment`.",
    WithdrawCourseEnrollmentPayload => "The result of `withdrawCourseEnrollment`.",
    TransferCourseEnrollmentPayload => "The result of `transferCourseEnrollment`.",
);

/// One enrolment of an upsert. On create, `person` or `personExternalId`, `offering`, `role`
/// and `beginDate` are required; on update they may be omitted and, when given, must match the
/// stored enrolment (they never change). Omitted fields keep their value; an explicit null
/// clears.
#[derive(InputObject)]
pub struct CourseEnrollmentUpsertItem {
    /// The key with `SOURCED_ID` (required then); with `EXTERNAL_ID`, used only when creating.
    pub sourced_id: Option<String>,
    /// The key with `EXTERNAL_ID` (required then): the caller's own key of the enrolment.
    pub external_id: Option<ExternalKeyInput>,
    /// The person (global id or sourcedId).
    pub person: Option<ID>,
    /// The person by the caller's own external key (an ExternalId of a Person in the caller's
    /// organisation), instead of `person`.
    pub person_external_id: Option<ExternalKeyInput>,
    /// The course offering (global id or sourcedId).
    pub offering: Option<ID>,
    /// The person's role in the offering.
    pub role: Option<EnrollmentRole>,
    /// First day.
    pub begin_date: Option<Date>,
    /// Day after the last day (exclusive).
    #[graphql(default)]
    pub end_date: MaybeUndefined<Date>,
    /// ApL contact hours attended (0 or more).
    #[graphql(default)]
    pub contact_hours_attended: MaybeUndefined<f64>,
    /// Client extension object (at most 16 KB).
    #[graphql(default)]
    pub metadata: MaybeUndefined<Json<Value>>,
    /// The enrolment's version as you read it; omit it to compare values only (a nightly
    /// re-send needs no versions). Given, the item applies only while the stored enrolment is
    /// at this version: otherwise it is `FAILED` with `VERSION_CONFLICT` (naming the current
    /// version) and not applied. Given for a key that matches no enrolment, the item is
    /// `FAILED` with `BAD_USER_INPUT` on `expectedVersion` (omit it to create).
    pub expected_version: Option<i32>,
}

/// A batch of enrolments to create or update.
#[derive(InputObject)]
pub struct UpsertCourseEnrollmentsInput {
    /// How items are matched to stored enrolments.
    pub key: UpsertKey,
    /// The school of new enrolments (global id or sourcedId). A school coordinator or client
    /// defaults to, and may only name, its own school; programme staff may name any (else each
    /// item's offering's school, or the person's one school).
    pub school: Option<ID>,
    /// 1 to 1,000 items.
    pub items: Vec<CourseEnrollmentUpsertItem>,
}

/// What the upsert did with one item.
#[derive(SimpleObject)]
pub struct CourseEnrollmentUpsertResult {
    /// Position of the item in `items` (0-based).
    pub index: i32,
    /// Created, updated, unchanged or failed.
    pub outcome: UpsertOutcome,
    /// The enrolment as stored after the call; null for a failed item.
    pub course_enrollment: Option<CourseEnrollment>,
    /// Why the item failed; field paths start `["input", "items", "<index>"]`.
    pub user_errors: Vec<UserError>,
}

/// The result of `upsertCourseEnrollments`.
#[derive(SimpleObject, Default)]
pub struct UpsertCourseEnrollmentsPayload {
    /// One result per item, in item order; empty when the call itself failed.
    pub results: Vec<CourseEnrollmentUpsertResult>,
    /// Items created.
    pub created_count: i32,
    /// Items updated.
    pub updated_count: i32,
    /// Items already equal to the stored enrolment.
    pub unchanged_count: i32,
    /// Items not applied.
    pub failed_count: i32,
    /// Call-level errors (e.g. too many items); then nothing was written.
    pub user_errors: Vec<UserError>,
}

fn enrollment_id(id: &ID) -> AppResult<String> {
    sourced_id_of("CourseEnrollment", "courseEnrollment", id.as_str())
}

/// Converts one upsert item into the service's terms (ids to sourcedIds, keys checked).
fn upsert_item(item: CourseEnrollmentUpsertItem) -> UpsertItem {
    let external = item
        .external_id
        .as_ref()
        .map(|k| k.key("externalId"))
        .transpose()?;
    let person = match (&item.person, &item.person_external_id) {
        (Some(_), Some(_)) => {
            return Err(AppError::bad_input(
                "personExternalId",
                "give `person` or `personExternalId`, not both",
            ));
        }
        (Some(id), None) => Some(PersonRef::SourcedId(sourced_id_of(
            "Person",
            "person",
            id.as_str(),
        )?)),
        (None, Some(k)) => Some(PersonRef::External(k.key("personExternalId")?)),
        (None, None) => None,
    };
    let offering = item
        .offering
        .as_ref()
        .map(|id| sourced_id_of("CourseOffering", "offering", id.as_str()))
        .transpose()?;
    Ok((
        external,
        EnrollmentFields {
            person,
            offering,
            role: item.role.map(|r| r.db().to_owned()),
            begin_date: item.begin_date.map(|d| d.0),
            end_date: maybe(item.end_date).map(|d| d.map(|d| d.0)),
            contact_hours_attended: maybe(item.contact_hours_attended),
            metadata: maybe(item.metadata).map(|m| m.map(|j| j.0)),
            sourced_id: item.sourced_id.map(|s| s.trim().to_owned()),
            expected_version: item.expected_version,
        },
    ))
}

async fn create(ctx: &Context<'_>, input: CreateCourseEnrollmentInput) -> Result<Outcome> {
    let viewer = viewer(ctx).extend()?;
    service::authorize(viewer).extend()?;
    let converted = (|| -> AppResult<_> {
        Ok((
            sourced_id_of("Person", "person", input.person.as_str())?,
            sourced_id_of("CourseOffering", "offering", input.offering.as_str())?,
            input
                .school_org
                .as_ref()
                .map(|id| sourced_id_of("Organization", "schoolOrg", id.as_str()))
                .transpose()?,
        ))
    })();
    let (person, offering, school) = match converted {
        Ok(c) => c,
        Err(error) => return Outcome::failed(error),
    };
    let fields = EnrollmentFields {
        person: Some(PersonRef::SourcedId(person)),
        offering: Some(offering),
        role: Some(input.role.db().to_owned()),
        begin_date: Some(input.begin_date.0),
        end_date: Some(input.end_date.map(|d| d.0)),
        contact_hours_attended: Some(input.contact_hours_attended),
        metadata: Some(input.metadata.map(|m| m.0)),
        sourced_id: input.sourced_id,
        expected_version: None,
    };
    let result = service::create(db(ctx).extend()?, viewer, &fields, school.as_deref()).await;
    Outcome::from_service(result)
}

async fn transition(
    ctx: &Context<'_>,
    action: Action,
    enrollment: &ID,
    expected_version: Option<i32>,
    reason: Option<&str>,
    transferred_to: Option<&ID>,
) -> Result<Outcome> {
    let viewer = viewer(ctx).extend()?;
    service::authorize(viewer).extend()?;
    let converted = (|| -> AppResult<_> {
        Ok((
            enrollment_id(enrollment)?,
            transferred_to
                .map(|id| sourced_id_of("CourseEnrollment", "transferredTo", id.as_str()))
                .transpose()?,
        ))
    })();
    let (sid, target) = match converted {
        Ok(c) => c,
        Err(error) => return Outcome::failed(error),
    };
    let result = service::transition(
        db(ctx).extend()?,
        viewer,
        action,
        &sid,
        expected_version,
        reason,
        target.as_deref(),
    )
    .await;
    Outcome::from_service(result)
}

#[derive(Default)]
pub struct CourseEnrollmentMutation;

/// Who may call these: programmeStaff and programmeAdmin; a schoolCoordinator (or the school's
/// client with `enrollment.write`) for its own school; a teacher for the offerings they teach.
/// Partners, mentors, students, guardians and other roles get `FORBIDDEN`; an enrolment outside
/// the caller's reach is `NOT_FOUND`.
#[Object]
impl CourseEnrollmentMutation {
    /// Enrols a person in a course offering (state `ENROLLED`, recorded in the status
    /// history). User errors: `BAD_USER_INPUT` on `person` (outside the caller's reach, not an
    /// active student or teacher at the school), `offering` (unknown, deleted, another school's,
    /// or not taught by the calling teacher), `schoolOrg`, `endDate`, `contactHoursAttended`,
    /// `metadata`, `sourcedId`; `INVALID_TRANSITION` when the offering is planned, cancelled or
    /// completed (only an offering open for enrolment or running takes enrolments); `DUPLICATE`
    /// for the same person, offering, role and beginDate, or a sourcedId in use.
    async fn create_course_enrollment(
        &self,
        ctx: &Context<'_>,
        input: CreateCourseEnrollmentInput,
    ) -> Result<CreateCourseEnrollmentPayload> {
        create(ctx, input).await.map(Into::into)
    }

    /// Updates `endDate`, `contactHoursAttended` and `metadata`. User errors:
    /// `BAD_USER_INPUT` on those fields, `VERSION_CONFLICT`, `INVALID_TRANSITION` for a deleted
    /// enrolment.
    async fn update_course_enrollment(
        &self,
        ctx: &Context<'_>,
        input: UpdateCourseEnrollmentInput,
    ) -> Result<UpdateCourseEnrollmentPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let sid = match enrollment_id(&input.course_enrollment) {
            Ok(sid) => sid,
            Err(error) => return Outcome::failed(error).map(Into::into),
        };
        let changes = EnrollmentChanges {
            end_date: maybe(input.end_date).map(|d| d.map(|d| d.0)),
            contact_hours_attended: maybe(input.contact_hours_attended),
            metadata: maybe(input.metadata).map(|m| m.map(|j| j.0)),
        };
        let result = service::update(
            db(ctx).extend()?,
            viewer,
            &sid,
            input.expected_version,
            &changes,
        )
        .await;
        Outcome::from_service(result).map(Into::into)
    }

    /// Deletes an enrolment as a tombstone (status `TOBEDELETED`, readable with
    /// `includeDeleted`, a `delete` change event). User errors: `VERSION_CONFLICT`,
    /// `INVALID_TRANSITION` when already deleted.
    async fn delete_course_enrollment(
        &self,
        ctx: &Context<'_>,
        input: DeleteCourseEnrollmentInput,
    ) -> Result<DeleteCourseEnrollmentPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let sid = match enrollment_id(&input.course_enrollment) {
            Ok(sid) => sid,
            Err(error) => return Outcome::failed(error).map(Into::into),
        };
        let result = service::delete(db(ctx).extend()?, viewer, &sid, input.expected_version).await;
        Outcome::from_service(result).map(Into::into)
    }

    /// `ENROLLED → COMPLETED`; the offering must be running or completed, else
    /// `INVALID_TRANSITION`.
    async fn complete_course_enrollment(
        &self,
        ctx: &Context<'_>,
        input: CompleteCourseEnrollmentInput,
    ) -> Result<CompleteCourseEnrollmentPayload> {
        transition(
            ctx,
            Action::Complete,
            &input.course_enrollment,
            input.expected_version,
            input.reason.as_deref(),
            None,
        )
        .await
        .map(Into::into)
    }

    /// `ENROLLED → WITHDRAWN`.
    async fn withdraw_course_enrollment(
        &self,
        ctx: &Context<'_>,
        input: WithdrawCourseEnrollmentInput,
    ) -> Result<WithdrawCourseEnrollmentPayload> {
        transition(
            ctx,
            Action::Withdraw,
            &input.course_enrollment,
            input.expected_version,
            input.reason.as_deref(),
            None,
        )
        .await
        .map(Into::into)
    }

    /// `ENROLLED → TRANSFERRED`, linking `transferredTo` (another active, enrolled enrolment of
    /// the same person within the caller's reach; else `BAD_USER_INPUT` on `transferredTo`).
    async fn transfer_course_enrollment(
        &self,
        ctx: &Context<'_>,
        input: TransferCourseEnrollmentInput,
    ) -> Result<TransferCourseEnrollmentPayload> {
        transition(
            ctx,
            Action::Transfer,
            &input.course_enrollment,
            input.expected_version,
            input.reason.as_deref(),
            Some(&input.transferred_to),
        )
        .await
        .map(Into::into)
    }

    /// Creates or updates up to 1,000 course enrolments by the caller's key. Who: as for
    /// `createCourseEnrollment`.
    ///
    /// Semantics: one transaction per call, holding the write lock from the start. Every item
    /// is checked (values, references, reach, uniqueness, the offering's state) before anything
    /// is written. A failed item is `FAILED` with its user errors (field paths
    /// `["input","items","<i>",…]`) and is not applied; the other items are applied (no
    /// savepoints are needed: nothing an item writes can fail for an expected reason once
    /// checked). A key repeated within the call fails the later item (`DUPLICATE`), as does a
    /// second item creating the same (person, offering, role, beginDate). An item equal to the
    /// stored enrolment is `UNCHANGED` (no write, no version bump, no event), so re-sending a
    /// batch reports every item `UNCHANGED`. An item's optional `expectedVersion` guards it: a
    /// stale one fails the item with `VERSION_CONFLICT`, one on a key that matches no enrolment
    /// fails it with `BAD_USER_INPUT`. On update only `endDate`, `contactHoursAttended`
    /// and `metadata` change; omitted fields keep their value and null clears. Creation starts
    /// the lifecycle (`ENROLLED`, with its status history); `state` is never set here. With
    /// `EXTERNAL_ID`, keys are the caller's organisation's and a new enrolment's key is
    /// recorded. Call-level errors (no items or more than 1,000, a school the caller may not
    /// use, `EXTERNAL_ID` without an organisation) are `userErrors` with empty `results`, and
    /// nothing is written. An unexpected failure rolls back the whole call.
    async fn upsert_course_enrollments(
        &self,
        ctx: &Context<'_>,
        input: UpsertCourseEnrollmentsInput,
    ) -> Result<UpsertCourseEnrollmentsPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let school = match input
            .school
            .as_ref()
            .map(|id| sourced_id_of("Organization", "school", id.as_str()))
            .transpose()
        {
            Ok(s) => s,
            Err(error) => {
                return Ok(UpsertCourseEnrollmentsPayload {
                    user_errors: vec![user_error(error).extend()?],
                    ..Default::default()
                });
            }
        };
        let key = match input.key {
            UpsertKey::SourcedId => Key::SourcedId,
            UpsertKey::ExternalId => Key::ExternalId,
        };
        let items: Vec<UpsertItem> = input.items.into_iter().map(upsert_item).collect();
        let results =
            match service::upsert(db(ctx).extend()?, viewer, key, school.as_deref(), items).await {
                Ok(results) => results,
                Err(error) => {
                    return Ok(UpsertCourseEnrollmentsPayload {
                        user_errors: vec![user_error(error).extend()?],
                        ..Default::default()
                    });
                }
            };
        let mut payload = UpsertCourseEnrollmentsPayload::default();
        for (index, result) in results.into_iter().enumerate() {
            match result.outcome {
                ItemOutcome::Created => payload.created_count += 1,
                ItemOutcome::Updated => payload.updated_count += 1,
                ItemOutcome::Unchanged => payload.unchanged_count += 1,
                ItemOutcome::Failed => payload.failed_count += 1,
            }
            let user_errors = match result.error {
                Some(error) => vec![item_error(index, error).extend()?],
                None => Vec::new(),
            };
            payload.results.push(CourseEnrollmentUpsertResult {
                index: i32::try_from(index).unwrap_or(i32::MAX),
                outcome: result.outcome.into(),
                course_enrollment: result.enrollment.map(Into::into),
                user_errors,
            });
        }
        Ok(payload)
    }
}
