//! Writing pathway enrolments (DOMAIN.md area B): `createPathwayEnrollment` (`new → applied`),
//! `updatePathwayEnrollment`, `deletePathwayEnrollment`, one mutation per transition of the
//! lifecycle table, `advancePathwayEnrollmentStage` and `upsertPathwayEnrollments`. The
//! `PathwayEnrollment` type is in [`super::enrollments`]; rules and roles in
//! [`crate::service::pathway_enrollments`] and `docs/pathway-enrollments.md`.

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object, Result, SimpleObject};

use super::common::*;
use super::connection::{db, viewer};
use super::enrollments::{ExitReason, PathwayEnrollment};
use super::payload::{
    ExternalKeyInput, UpsertKey, UpsertOutcome, UserError, item_error, user_error,
};
use crate::error::{AppError, AppResult, ResultExt};
use crate::service::pathway_enrollments::{
    self as service, Action, AdvanceRequest, EnrollmentChanges, NewPathwayEnrollment, Patch,
    TransitionRequest, UpsertBy, UpsertItem,
};
use crate::service::upsert::Outcome;

/// An optional input value as a service patch: omitted keeps, null clears.
fn patch<T, U>(value: MaybeUndefined<T>, map: impl FnOnce(T) -> U) -> Patch<U> {
    match value {
        MaybeUndefined::Undefined => Patch::Unchanged,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(v) => Patch::Set(map(v)),
    }
}

/// The enrolment written, or the user errors of a refused write.
#[derive(Default)]
struct Outcome1(Option<PathwayEnrollment>, Vec<UserError>);

impl Outcome1 {
    /// A refused write: expected failures become user errors; access and unexpected failures
    /// stay top-level errors.
    fn failed(error: AppError) -> Result<Outcome1> {
        Ok(Outcome1(None, vec![user_error(error).extend()?]))
    }

    fn from_service(result: AppResult<entity::pathway_enrollment::Model>) -> Result<Outcome1> {
        match result {
            Ok(row) => Ok(Outcome1(Some(row.into()), Vec::new())),
            Err(error) => Outcome1::failed(error),
        }
    }
}

/// Declares a payload type holding the enrolment and the user errors.
macro_rules! payload {
    ($payload:ident, $what:literal) => {
        #[doc = concat!("The result of `", $what, "`.")]
        #[derive(SimpleObject, Default)]
        pub struct $payload {
            /// The pathway enrolment after the change; null when nothing was written.
            pub pathway_enrollment: Option<PathwayEnrollment>,
            /// Expected failures (bad value, illegal transition, failed guard, stale version,
            /// duplicate); nothing was written when there are any.
            pub user_errors: Vec<UserError>,
        }

        impl From<Outcome1> for $payload {
            fn from(outcome: Outcome1) -> Self {
                $payload {
                    pathway_enrollment: outcome.0,
                    user_errors: outcome.1,
                }
            }
        }
    };
}

/// The fields every transition input has.
trait TransitionInput {
    fn enrollment(&self) -> &ID;
    fn expected_version(&self) -> Option<i32>;
    fn reason(&self) -> Option<&str>;
    fn exit_reason(&self) -> Option<ExitReason> {
        None
    }
}

/// Declares the input and payload of one transition mutation. `optional` takes an optional
/// reason, `reasoned` a required one, `exiting` a required exitReason.
macro_rules! transition_types {
    (optional $input:ident, $payload:ident, $what:literal) => {
        #[doc = concat!("The pathway enrolment to ", $what, ".")]
        #[derive(InputObject)]
        pub struct $input {
            /// The pathway enrolment: its global id or sourcedId.
            pub pathway_enrollment: ID,
            /// The version last read; a different current version is `VERSION_CONFLICT` and
            /// nothing changes.
            pub expected_version: Option<i32>,
            /// Why; kept in the status history (at most 1,000 characters).
            pub reason: Option<String>,
        }

        impl TransitionInput for $input {
            fn enrollment(&self) -> &ID {
                &self.pathway_enrollment
            }
            fn expected_version(&self) -> Option<i32> {
                self.expected_version
            }
            fn reason(&self) -> Option<&str> {
                self.reason.as_deref()
            }
        }

        payload!($payload, $what);
    };
    (reasoned $input:ident, $payload:ident, $what:literal) => {
        #[doc = concat!("The pathway enrolment to ", $what, ".")]
        #[derive(InputObject)]
        pub struct $input {
            /// The pathway enrolment: its global id or sourcedId.
            pub pathway_enrollment: ID,
            /// The version last read; a different current version is `VERSION_CONFLICT` and
            /// nothing changes.
            pub expected_version: Option<i32>,
            /// Why (required, 1 to 1,000 characters); kept in the status history.
            pub reason: String,
        }

        impl TransitionInput for $input {
            fn enrollment(&self) -> &ID {
                &self.pathway_enrollment
            }
            fn expected_version(&self) -> Option<i32> {
                self.expected_version
            }
            fn reason(&self) -> Option<&str> {
                Some(&self.reason)
            }
        }

        payload!($payload, $what);
    };
    (exiting $input:ident, $payload:ident, $what:literal) => {
        #[doc = concat!("The pathway enrolment to ", $what, ".")]
        #[derive(InputObject)]
        pub struct $input {
            /// The pathway enrolment: its global id or sourcedId.
            pub pathway_enrollment: ID,
            /// The version last read; a different current version is `VERSION_CONFLICT` and
            /// nothing changes.
            pub expected_version: Option<i32>,
            /// Why the student leaves (stored on the enrolment).
            pub exit_reason: ExitReason,
            /// Free-text reason; kept in the status history (at most 1,000 characters).
            pub reason: Option<String>,
        }

        impl TransitionInput for $input {
            fn enrollment(&self) -> &ID {
                &self.pathway_enrollment
            }
            fn expected_version(&self) -> Option<i32> {
                self.expected_version
            }
            fn reason(&self) -> Option<&str> {
                self.reason.as_deref()
            }
            fn exit_reason(&self) -> Option<ExitReason> {
                Some(self.exit_reason)
            }
        }

        payload!($payload, $what);
    };
}

transition_types!(optional OfferPathwayEnrollmentInput, OfferPathwayEnrollmentPayload, "offerPathwayEnrollment");
transition_types!(optional RejectPathwayEnrollmentInput, RejectPathwayEnrollmentPayload, "rejectPathwayEnrollment");
transition_types!(optional DeclinePathwayEnrollmentInput, DeclinePathwayEnrollmentPayload, "declinePathwayEnrollment");
transition_types!(optional EnrolPathwayEnrollmentInput, EnrolPathwayEnrollmentPayload, "enrolPathwayEnrollment");
transition_types!(reasoned HoldPathwayEnrollmentInput, HoldPathwayEnrollmentPayload, "holdPathwayEnrollment");
transition_types!(reasoned ResumePathwayEnrollmentInput, ResumePathwayEnrollmentPayload, "resumePathwayEnrollment");
transition_types!(optional CompleteSecondaryPathwayEnrollmentInput, CompleteSecondaryPathwayEnrollmentPayload, "completeSecondaryPathwayEnrollment");
transition_types!(optional ArticulatePathwayEnrollmentInput, ArticulatePathwayEnrollmentPayload, "articulatePathwayEnrollment");
transition_types!(optional CompletePathwayEnrollmentInput, CompletePathwayEnrollmentPayload, "completePathwayEnrollment");
transition_types!(exiting ExitPathwayEnrollmentInput, ExitPathwayEnrollmentPayload, "exitPathwayEnrollment");
transition_types!(exiting WithdrawPathwayEnrollmentInput, WithdrawPathwayEnrollmentPayload, "withdrawPathwayEnrollment");

payload!(CreatePathwayEnrollmentPayload, "createPathwayEnrollment");
payload!(UpdatePathwayEnrollmentPayload, "updatePathwayEnrollment");
payload!(DeletePathwayEnrollmentPayload, "deletePathwayEnrollment");
payload!(
    AdvancePathwayEnrollmentStagePayload,
    "advancePathwayEnrollmentStage"
);

/// Guard, convert, call the service: one transition.
async fn run_transition(
    ctx: &Context<'_>,
    action: Action,
    input: &impl TransitionInput,
) -> Result<Outcome1> {
    let viewer = viewer(ctx).extend()?;
    service::authorize_transition(viewer, action).extend()?;
    let sourced_id = match sourced_id_of(
        "PathwayEnrollment",
        "pathwayEnrollment",
        input.enrollment().as_str(),
    ) {
        Ok(sid) => sid,
        Err(error) => return Outcome1::failed(error),
    };
    let request = TransitionRequest {
        sourced_id: &sourced_id,
        expected_version: input.expected_version(),
        reason: input.reason(),
        exit_reason: input.exit_reason().map(DbEnum::db),
    };
    let result = service::transition(db(ctx).extend()?, viewer, action, &request).await;
    Outcome1::from_service(result)
}

/// A new pathway enrolment (`new → applied`).
#[derive(InputObject)]
pub struct CreatePathwayEnrollmentInput {
    /// The student (global id or sourcedId): a person with a student role in force at
    /// `entrySchool` today.
    pub student: ID,
    /// The pathway (global id or sourcedId).
    pub pathway: ID,
    /// The cohort (global id or sourcedId); it must belong to `pathway`.
    pub cohort: ID,
    /// The secondary school the student enters from (global id or sourcedId). A
    /// schoolCoordinator or school client may omit it (its own school) and may name only its
    /// own school; the programme office must give it.
    pub entry_school: Option<ID>,
    /// The stage the student enters at (global id or sourcedId): an entry point of `pathway`.
    pub entry_stage: ID,
    /// First day.
    pub begin_date: Date,
    /// Client extension object (at most 16 KB).
    pub metadata: Option<Json<serde_json::Value>>,
    /// The sourcedId to give the enrolment; a UUID is minted when omitted.
    pub sourced_id: Option<String>,
}

/// Changes to a pathway enrolment's non-state fields. Omitted fields keep their value;
/// `state`, stages, student, pathway and entry school change only through transitions (or not
/// at all).
#[derive(InputObject)]
pub struct UpdatePathwayEnrollmentInput {
    /// The pathway enrolment: its global id or sourcedId.
    pub pathway_enrollment: ID,
    /// The version last read; a different current version is `VERSION_CONFLICT` and nothing
    /// changes.
    pub expected_version: Option<i32>,
    /// Another cohort of the same pathway (global id or sourcedId); only while `APPLIED` or
    /// `OFFERED`.
    pub cohort: Option<ID>,
    /// Another first day; only while `APPLIED`.
    pub begin_date: Option<Date>,
    /// Client extension object (at most 16 KB); null clears it.
    pub metadata: MaybeUndefined<Json<serde_json::Value>>,
}

/// The pathway enrolment to delete.
#[derive(InputObject)]
pub struct DeletePathwayEnrollmentInput {
    /// The pathway enrolment: its global id or sourcedId.
    pub pathway_enrollment: ID,
    /// The version last read; a different current version is `VERSION_CONFLICT` and nothing
    /// changes.
    pub expected_version: Option<i32>,
}

/// A stage change (`advanceStage`).
#[derive(InputObject)]
pub struct AdvancePathwayEnrollmentStageInput {
    /// The pathway enrolment: its global id or sourcedId.
    pub pathway_enrollment: ID,
    /// The version last read; a different current version is `VERSION_CONFLICT` and nothing
    /// changes.
    pub expected_version: Option<i32>,
    /// The stage to move to (global id or sourcedId). Omitted: the next stage at the same
    /// level. Another stage than the next is a jump: programmeAdmin only, to an entry-point
    /// stage at the level of the enrolment's state, with a reason.
    pub to_stage: Option<ID>,
    /// Why; required for a jump; kept in the status history (at most 1,000 characters).
    pub reason: Option<String>,
}

/// One pathway enrolment to create or update.
#[derive(InputObject)]
pub struct PathwayEnrollmentUpsertItem {
    /// The enrolment's sourcedId: the key with `SOURCED_ID` (required then); with
    /// `EXTERNAL_ID` used only when creating.
    pub sourced_id: Option<String>,
    /// The caller's own key: the key with `EXTERNAL_ID` (required then).
    pub external_id: Option<ExternalKeyInput>,
    /// The student (global id or sourcedId); or give `studentExternalId`.
    pub student: Option<ID>,
    /// The student by the caller's own external key of the Person (in the caller's
    /// organisation).
    pub student_external_id: Option<ExternalKeyInput>,
    /// The pathway (global id or sourcedId); required to create, fixed afterwards.
    pub pathway: Option<ID>,
    /// The cohort (global id or sourcedId) of the pathway; required to create; changes only
    /// while `APPLIED` or `OFFERED`.
    pub cohort: Option<ID>,
    /// The entry stage (global id or sourcedId), an entry point; required to create, fixed
    /// afterwards.
    pub entry_stage: Option<ID>,
    /// First day; required to create; changes only while `APPLIED`.
    pub begin_date: Option<Date>,
    /// Client extension object (at most 16 KB); null clears it.
    pub metadata: MaybeUndefined<Json<serde_json::Value>>,
    /// The enrolment's version as you read it; omit it to compare values only (a nightly
    /// re-send needs no versions). Given, the item applies only while the stored enrolment is
    /// at this version: otherwise it is `FAILED` with `VERSION_CONFLICT` (naming the current
    /// version) and not applied. Given for a key that matches no enrolment, the item is
    /// `FAILED` with `BAD_USER_INPUT` on `expectedVersion` (omit it to create).
    pub expected_version: Option<i32>,
}

/// A batch of pathway enrolments to create or update.
#[derive(InputObject)]
pub struct UpsertPathwayEnrollmentsInput {
    /// How items are matched to stored enrolments.
    pub key: UpsertKey,
    /// The entry school of created enrolments (global id or sourcedId). Programme staff name
    /// it; a schoolCoordinator or school client defaults to, and may only use, its own school.
    pub school: Option<ID>,
    /// 1 to 1,000 items.
    pub items: Vec<PathwayEnrollmentUpsertItem>,
}

/// What happened to one upsert item.
#[derive(SimpleObject)]
pub struct PathwayEnrollmentUpsertResult {
    /// The item's position in `items` (0-based).
    pub index: i32,
    /// Created, updated, unchanged or failed.
    pub outcome: UpsertOutcome,
    /// The enrolment as stored after the call; null for a failed item.
    pub pathway_enrollment: Option<PathwayEnrollment>,
    /// Why the item failed; field paths start `["input", "items", "<index>"]`.
    pub user_errors: Vec<UserError>,
}

/// The result of `upsertPathwayEnrollments`.
#[derive(SimpleObject, Default)]
pub struct UpsertPathwayEnrollmentsPayload {
    /// One result per item, in item order; empty when the call failed as a whole.
    pub results: Vec<PathwayEnrollmentUpsertResult>,
    /// Items that created an enrolment.
    pub created_count: i32,
    /// Items that changed an enrolment.
    pub updated_count: i32,
    /// Items equal to the stored enrolment (nothing written).
    pub unchanged_count: i32,
    /// Items not applied.
    pub failed_count: i32,
    /// Call-level errors (e.g. too many items); then `results` is empty and nothing was
    /// written.
    pub user_errors: Vec<UserError>,
}

/// A service external key from an input one (`field` is the item-relative path).
/// Converts one upsert item's references and keys; an error becomes the item's failure.
fn upsert_item(item: PathwayEnrollmentUpsertItem) -> AppResult<UpsertItem> {
    let id = |type_name: &str, field: &str, id: Option<ID>| {
        id.map(|id| sourced_id_of(type_name, field, id.as_str()))
            .transpose()
    };
    Ok(UpsertItem {
        sourced_id: item.sourced_id.map(|s| s.trim().to_owned()),
        external_id: item
            .external_id
            .as_ref()
            .map(|k| k.key("externalId"))
            .transpose()?,
        student: id("Person", "student", item.student)?,
        student_external_id: item
            .student_external_id
            .as_ref()
            .map(|k| k.key("studentExternalId"))
            .transpose()?,
        pathway: id("Pathway", "pathway", item.pathway)?,
        cohort: id("Cohort", "cohort", item.cohort)?,
        entry_stage: id("PathwayStage", "entryStage", item.entry_stage)?,
        begin_date: item.begin_date.map(|d| d.0),
        metadata: patch(item.metadata, |j| j.0),
        expected_version: item.expected_version,
    })
}

#[derive(Default)]
pub struct PathwayEnrollmentsMutation;

#[Object]
impl PathwayEnrollmentsMutation {
    /// Creates a pathway enrolment in state `APPLIED` (`new → applied`), with its status
    /// history row and a change event. Who: programmeStaff, a schoolCoordinator of the entry
    /// school, or the school's client with `enrollment.write`; others get `FORBIDDEN` (a school
    /// naming another school too). Guards (`INVALID_TRANSITION`): the student holds a student
    /// role at the entry school today; the entry stage is an entry point. `DUPLICATE`: the
    /// student already has a live (non-terminal) enrolment in the pathway, or the sourcedId is
    /// taken. References that do not exist, are out of the caller's scope or belong to another
    /// pathway are `BAD_USER_INPUT` on their field.
    async fn create_pathway_enrollment(
        &self,
        ctx: &Context<'_>,
        input: CreatePathwayEnrollmentInput,
    ) -> Result<CreatePathwayEnrollmentPayload> {
        let viewer = viewer(ctx).extend()?;
        service::writer(viewer).extend()?;
        let ids = (|| -> AppResult<_> {
            Ok((
                sourced_id_of("Person", "student", input.student.as_str())?,
                sourced_id_of("Pathway", "pathway", input.pathway.as_str())?,
                sourced_id_of("Cohort", "cohort", input.cohort.as_str())?,
                input
                    .entry_school
                    .as_ref()
                    .map(|id| sourced_id_of("Organization", "entrySchool", id.as_str()))
                    .transpose()?,
                sourced_id_of("PathwayStage", "entryStage", input.entry_stage.as_str())?,
            ))
        })();
        let (student, pathway, cohort, school, stage) = match ids {
            Ok(ids) => ids,
            Err(error) => return Outcome1::failed(error).map(Into::into),
        };
        let new = NewPathwayEnrollment {
            student: &student,
            pathway: &pathway,
            cohort: &cohort,
            entry_school: school.as_deref(),
            entry_stage: &stage,
            begin_date: input.begin_date.0,
            metadata: input.metadata.map(|j| j.0),
            sourced_id: input.sourced_id.as_deref(),
        };
        let result = service::create(db(ctx).extend()?, viewer, &new).await;
        Outcome1::from_service(result).map(Into::into)
    }

    /// Updates a pathway enrolment's non-state fields (cohort while applied or offered,
    /// beginDate while applied, metadata). Who: as `createPathwayEnrollment`, for enrolments
    /// of students active at the caller's school (others are `NOT_FOUND`). Values equal to the
    /// stored ones write nothing. `INVALID_TRANSITION` when the state no longer allows the
    /// change or the enrolment is deleted; `VERSION_CONFLICT` on a stale `expectedVersion`.
    async fn update_pathway_enrollment(
        &self,
        ctx: &Context<'_>,
        input: UpdatePathwayEnrollmentInput,
    ) -> Result<UpdatePathwayEnrollmentPayload> {
        let viewer = viewer(ctx).extend()?;
        service::writer(viewer).extend()?;
        let ids = (|| -> AppResult<_> {
            Ok((
                sourced_id_of(
                    "PathwayEnrollment",
                    "pathwayEnrollment",
                    input.pathway_enrollment.as_str(),
                )?,
                input
                    .cohort
                    .as_ref()
                    .map(|id| sourced_id_of("Cohort", "cohort", id.as_str()))
                    .transpose()?,
            ))
        })();
        let (sourced_id, cohort) = match ids {
            Ok(ids) => ids,
            Err(error) => return Outcome1::failed(error).map(Into::into),
        };
        let changes = EnrollmentChanges {
            cohort: cohort.as_deref(),
            begin_date: input.begin_date.map(|d| d.0),
            metadata: patch(input.metadata, |j| j.0),
        };
        let result = service::update(
            db(ctx).extend()?,
            viewer,
            &sourced_id,
            input.expected_version,
            &changes,
        )
        .await;
        Outcome1::from_service(result).map(Into::into)
    }

    /// Deletes a pathway enrolment as a tombstone (`status: TOBEDELETED`, readable with
    /// `includeDeleted: true`, a delete event in the change feed). Who: programmeStaff, for an
    /// enrolment that never began (`APPLIED`, `OFFERED`, `NOT_ADMITTED`, `DECLINED`); programmeAdmin
    /// in any state. Others get `FORBIDDEN`. `INVALID_TRANSITION` for another state or an
    /// enrolment already deleted; `VERSION_CONFLICT` on a stale `expectedVersion`.
    async fn delete_pathway_enrollment(
        &self,
        ctx: &Context<'_>,
        input: DeletePathwayEnrollmentInput,
    ) -> Result<DeletePathwayEnrollmentPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize_delete(viewer).extend()?;
        let sourced_id = match sourced_id_of(
            "PathwayEnrollment",
            "pathwayEnrollment",
            input.pathway_enrollment.as_str(),
        ) {
            Ok(sid) => sid,
            Err(error) => return Outcome1::failed(error).map(Into::into),
        };
        let result = service::delete(
            db(ctx).extend()?,
            viewer,
            &sourced_id,
            input.expected_version,
        )
        .await;
        Outcome1::from_service(result).map(Into::into)
    }

    /// `APPLIED → OFFERED`, by programmeStaff.
    async fn offer_pathway_enrollment(
        &self,
        ctx: &Context<'_>,
        input: OfferPathwayEnrollmentInput,
    ) -> Result<OfferPathwayEnrollmentPayload> {
        run_transition(ctx, Action::Offer, &input)
            .await
            .map(Into::into)
    }

    /// `APPLIED → NOT_ADMITTED` (terminal; sets `endDate`), by programmeStaff.
    async fn reject_pathway_enrollment(
        &self,
        ctx: &Context<'_>,
        input: RejectPathwayEnrollmentInput,
    ) -> Result<RejectPathwayEnrollmentPayload> {
        run_transition(ctx, Action::Reject, &input)
            .await
            .map(Into::into)
    }

    /// `OFFERED → DECLINED` (terminal; sets `endDate`), by programmeStaff or a
    /// schoolCoordinator (school client with `enrollment.write`).
    async fn decline_pathway_enrollment(
        &self,
        ctx: &Context<'_>,
        input: DeclinePathwayEnrollmentInput,
    ) -> Result<DeclinePathwayEnrollmentPayload> {
        run_transition(ctx, Action::Decline, &input)
            .await
            .map(Into::into)
    }

    /// `OFFERED → ENROLLED`, by programmeStaff or a schoolCoordinator (school client). Guard:
    /// the entry stage is senior-secondary (`INVALID_TRANSITION` otherwise: a sub-degree entry
    /// is articulated). Sets `currentStage` to the entry stage.
    async fn enrol_pathway_enrollment(
        &self,
        ctx: &Context<'_>,
        input: EnrolPathwayEnrollmentInput,
    ) -> Result<EnrolPathwayEnrollmentPayload> {
        run_transition(ctx, Action::Enrol, &input)
            .await
            .map(Into::into)
    }

    /// `ENROLLED → ON_HOLD`, with a reason, by programmeStaff or a schoolCoordinator (school
    /// client).
    async fn hold_pathway_enrollment(
        &self,
        ctx: &Context<'_>,
        input: HoldPathwayEnrollmentInput,
    ) -> Result<HoldPathwayEnrollmentPayload> {
        run_transition(ctx, Action::Hold, &input)
            .await
            .map(Into::into)
    }

    /// `ON_HOLD → ENROLLED`, with a reason, by programmeStaff or a schoolCoordinator (school
    /// client).
    async fn resume_pathway_enrollment(
        &self,
        ctx: &Context<'_>,
        input: ResumePathwayEnrollmentInput,
    ) -> Result<ResumePathwayEnrollmentPayload> {
        run_transition(ctx, Action::Resume, &input)
            .await
            .map(Into::into)
    }

    /// `ENROLLED → SECONDARY_COMPLETED`, by programmeStaff. Guards: the current stage is the
    /// last senior-secondary stage (S6), and an AplOutcome (moderated or later) for the core
    /// ApL course. AplOutcomes arrive with issue 6: until then this is always
    /// `INVALID_TRANSITION` saying so.
    async fn complete_secondary_pathway_enrollment(
        &self,
        ctx: &Context<'_>,
        input: CompleteSecondaryPathwayEnrollmentInput,
    ) -> Result<CompleteSecondaryPathwayEnrollmentPayload> {
        run_transition(ctx, Action::CompleteSecondary, &input)
            .await
            .map(Into::into)
    }

    /// `OFFERED → ARTICULATED` (direct HD entry: the entry stage is sub-degree) or
    /// `SECONDARY_COMPLETED → ARTICULATED`, by programmeStaff; sets `currentStage` to the entry
    /// sub-degree stage (HD1). Needs an enrolled ArticulationApplication, which arrives with
    /// issue 6: until then this is always `INVALID_TRANSITION` saying so.
    async fn articulate_pathway_enrollment(
        &self,
        ctx: &Context<'_>,
        input: ArticulatePathwayEnrollmentInput,
    ) -> Result<ArticulatePathwayEnrollmentPayload> {
        run_transition(ctx, Action::Articulate, &input)
            .await
            .map(Into::into)
    }

    /// `ARTICULATED → COMPLETED` (terminal; sets `endDate`), by programmeStaff. Guards: the
    /// current stage is the pathway's last stage, and the student has a completed student
    /// enrolment in an offering of a Higher Diploma course of the pathway.
    async fn complete_pathway_enrollment(
        &self,
        ctx: &Context<'_>,
        input: CompletePathwayEnrollmentInput,
    ) -> Result<CompletePathwayEnrollmentPayload> {
        run_transition(ctx, Action::Complete, &input)
            .await
            .map(Into::into)
    }

    /// `ENROLLED | ON_HOLD | SECONDARY_COMPLETED | ARTICULATED → EXITED` (terminal; sets
    /// `endDate` and `exitReason`): leaving at an exit point, as planned. Who: programmeStaff;
    /// a schoolCoordinator (school client) while the current stage is senior-secondary (else
    /// `FORBIDDEN`). Guard: the current stage is an exit point.
    async fn exit_pathway_enrollment(
        &self,
        ctx: &Context<'_>,
        input: ExitPathwayEnrollmentInput,
    ) -> Result<ExitPathwayEnrollmentPayload> {
        run_transition(ctx, Action::Exit, &input)
            .await
            .map(Into::into)
    }

    /// `APPLIED | OFFERED | ENROLLED | ON_HOLD | ARTICULATED → WITHDRAWN` (terminal; sets
    /// `endDate` and `exitReason`): leaving elsewhere than at an exit point. Who:
    /// programmeStaff; a schoolCoordinator (school client) from applied or offered, and from
    /// the other states while the current stage is senior-secondary (else `FORBIDDEN`).
    async fn withdraw_pathway_enrollment(
        &self,
        ctx: &Context<'_>,
        input: WithdrawPathwayEnrollmentInput,
    ) -> Result<WithdrawPathwayEnrollmentPayload> {
        run_transition(ctx, Action::Withdraw, &input)
            .await
            .map(Into::into)
    }

    /// `advanceStage`: moves the enrolment to the next stage at the same level (S4→S5→S6 while
    /// `ENROLLED`, HD1→HD2 while `ARTICULATED`; S6 to HD only by articulation). programmeAdmin
    /// may instead jump to any entry-point stage at the level of the enrolment's state, with a
    /// reason. Not a state change: the status history records `fromStage`/`toStage` with the
    /// state unchanged; the version goes up and an update event is emitted. Who:
    /// programmeStaff; a schoolCoordinator (school client) in the senior-secondary stages.
    async fn advance_pathway_enrollment_stage(
        &self,
        ctx: &Context<'_>,
        input: AdvancePathwayEnrollmentStageInput,
    ) -> Result<AdvancePathwayEnrollmentStagePayload> {
        let viewer = viewer(ctx).extend()?;
        service::writer(viewer).extend()?;
        let ids = (|| -> AppResult<_> {
            Ok((
                sourced_id_of(
                    "PathwayEnrollment",
                    "pathwayEnrollment",
                    input.pathway_enrollment.as_str(),
                )?,
                input
                    .to_stage
                    .as_ref()
                    .map(|id| sourced_id_of("PathwayStage", "toStage", id.as_str()))
                    .transpose()?,
            ))
        })();
        let (sourced_id, to_stage) = match ids {
            Ok(ids) => ids,
            Err(error) => return Outcome1::failed(error).map(Into::into),
        };
        let request = AdvanceRequest {
            sourced_id: &sourced_id,
            expected_version: input.expected_version,
            to_stage: to_stage.as_deref(),
            reason: input.reason.as_deref(),
        };
        let result = service::advance_stage(db(ctx).extend()?, viewer, &request).await;
        Outcome1::from_service(result).map(Into::into)
    }

    /// Creates or updates up to 1,000 pathway enrolments by the caller's key, in one
    /// transaction. Every item is checked (values, references, keys, guards) before anything is
    /// written; a failed item is `FAILED` with its user errors and not applied, the other items
    /// are applied. Creation is `new → applied` with the guards of `createPathwayEnrollment`
    /// and a status history row; an update changes only cohort (while applied or offered),
    /// beginDate (while applied) and metadata; pathway, student and entry stage may be
    /// repeated but never changed; `state` is never set here. An item equal to the stored
    /// enrolment is `UNCHANGED` (no write, no version bump, no event): re-sending a batch
    /// yields all `UNCHANGED`. A key repeated in one call fails the later item (`DUPLICATE`).
    /// An item's optional `expectedVersion` guards it: a stale one fails the item with
    /// `VERSION_CONFLICT`, one on a key that matches no enrolment fails it with
    /// `BAD_USER_INPUT`.
    /// Who: as `createPathwayEnrollment`.
    async fn upsert_pathway_enrollments(
        &self,
        ctx: &Context<'_>,
        input: UpsertPathwayEnrollmentsInput,
    ) -> Result<UpsertPathwayEnrollmentsPayload> {
        let viewer = viewer(ctx).extend()?;
        service::writer(viewer).extend()?;
        let school = match input
            .school
            .as_ref()
            .map(|id| sourced_id_of("Organization", "school", id.as_str()))
            .transpose()
        {
            Ok(school) => school,
            Err(error) => {
                return Ok(UpsertPathwayEnrollmentsPayload {
                    user_errors: vec![user_error(error).extend()?],
                    ..Default::default()
                });
            }
        };
        let key = match input.key {
            UpsertKey::SourcedId => UpsertBy::SourcedId,
            UpsertKey::ExternalId => UpsertBy::ExternalId,
        };
        let items = input.items.into_iter().map(upsert_item).collect();
        let results =
            match service::upsert(db(ctx).extend()?, viewer, key, school.as_deref(), items).await {
                Ok(results) => results,
                Err(error) => {
                    return Ok(UpsertPathwayEnrollmentsPayload {
                        user_errors: vec![user_error(error).extend()?],
                        ..Default::default()
                    });
                }
            };
        let mut payload = UpsertPathwayEnrollmentsPayload::default();
        for (index, result) in results.into_iter().enumerate() {
            match result.outcome {
                Outcome::Created => payload.created_count += 1,
                Outcome::Updated => payload.updated_count += 1,
                Outcome::Unchanged => payload.unchanged_count += 1,
                Outcome::Failed => payload.failed_count += 1,
            }
            let user_errors = match result.error {
                Some(error) => vec![item_error(index, error).extend()?],
                None => Vec::new(),
            };
            payload.results.push(PathwayEnrollmentUpsertResult {
                index: i32::try_from(index).unwrap_or(i32::MAX),
                outcome: result.outcome.into(),
                pathway_enrollment: result.row.map(Into::into),
                user_errors,
            });
        }
        Ok(payload)
    }
}
