//! Writing curriculum units and running the unit version workflow (DOMAIN.md area C): create,
//! update and delete units; start a version (a draft copy of the latest), edit it, and move it
//! through `submit`, `requestChanges`, `approve`, `publish`, `retire` and `withdraw`. Rules and
//! roles are in [`crate::service::curriculum::units`] and
//! [`crate::service::curriculum::versions`]; `docs/curriculum.md` sums them up.
//!
//! Every update, delete and transition names the version it read (`expectedVersion`); a stale
//! one is the user error `VERSION_CONFLICT` and nothing changes. A version the caller may not
//! read is `NOT_FOUND`; a caller who may not act is `FORBIDDEN` (top-level errors).

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object, Result};

use super::common::{DbEnum, sourced_id_of};
use super::connection::{db, viewer};
use super::curriculum::{CurriculumUnit, CurriculumUnitVersion, UnitKind};
use super::payload::{UserError, finish, record_payload as payload, transition_input};
use crate::error::ResultExt;
use crate::service::catalogue;
use crate::service::curriculum::units::{self, UnitFields};
use crate::service::curriculum::versions::{
    self, Action, NewVersion, Resource, TransitionExtras, VersionFields,
};

/// A create-input field: given or omitted.
fn given<T>(value: Option<T>) -> MaybeUndefined<T> {
    value.map_or(MaybeUndefined::Undefined, MaybeUndefined::Value)
}

// ---------------------------------------------------------------- units

/// A new curriculum unit.
#[derive(InputObject)]
pub struct CreateCurriculumUnitInput {
    /// The sourcedId to give it (`[A-Za-z0-9._:-]{1,255}`); a UUID is minted when omitted.
    pub sourced_id: Option<String>,
    /// The course (global id or sourcedId), active.
    pub course: ID,
    /// Unit code, unique per course among active units (at most 64 characters).
    pub code: String,
    /// Title (required, at most 255 characters).
    pub title: String,
    /// Kind of unit.
    pub unit_kind: UnitKind,
    /// The owning organisation (an active academic unit or university); an academicLead may
    /// name only its own academic unit.
    pub owning_org: ID,
    /// Whether publishing a version needs an `externalApprovalRef`.
    #[graphql(default)]
    pub requires_external_approval: bool,
    /// Client extensions: a JSON object of at most 16 KB.
    pub metadata: Option<Json<serde_json::Value>>,
}

/// Changes to a curriculum unit: omitted fields keep their value, null clears.
#[derive(InputObject)]
pub struct UpdateCurriculumUnitInput {
    /// The unit (global id or sourcedId).
    pub id: ID,
    /// The version last read; another current version is `VERSION_CONFLICT` and nothing
    /// changes. Without it the write applies to the current version (last writer wins).
    pub expected_version: Option<i32>,
    /// Unit code (may not be null).
    pub code: MaybeUndefined<String>,
    /// Title (may not be null).
    pub title: MaybeUndefined<String>,
    /// Kind of unit (may not be null).
    pub unit_kind: MaybeUndefined<UnitKind>,
    /// Whether publishing needs an external approval reference (may not be null).
    pub requires_external_approval: MaybeUndefined<bool>,
    /// The owning organisation (may not be null); an academicLead must lead it before and
    /// after.
    pub owning_org: MaybeUndefined<ID>,
    /// Client extensions (replaces the object).
    pub metadata: MaybeUndefined<Json<serde_json::Value>>,
}

/// The curriculum unit to delete.
#[derive(InputObject)]
pub struct DeleteCurriculumUnitInput {
    /// The unit (global id or sourcedId).
    pub id: ID,
    /// The version last read; another current version is `VERSION_CONFLICT`.
    pub expected_version: Option<i32>,
}

payload!(
    /// The result of `createCurriculumUnit`.
    CreateCurriculumUnitPayload { curriculum_unit: CurriculumUnit }
);
payload!(
    /// The result of `updateCurriculumUnit`.
    UpdateCurriculumUnitPayload { curriculum_unit: CurriculumUnit }
);
payload!(
    /// The result of `deleteCurriculumUnit`.
    DeleteCurriculumUnitPayload { curriculum_unit: CurriculumUnit }
);

// ---------------------------------------------------------------- versions

/// A learning resource.
#[derive(InputObject, Clone)]
pub struct UnitResourceInput {
    /// Title (required, at most 255 characters).
    pub title: String,
    /// Address: an `http://` or `https://` URL of at most 2,000 characters.
    pub url: Option<String>,
}

fn resource_list(items: Vec<UnitResourceInput>) -> Vec<Resource> {
    items
        .into_iter()
        .map(|r| Resource {
            title: r.title,
            url: r.url,
        })
        .collect()
}

/// A new version of a curriculum unit: a draft copy of the unit's latest version (content,
/// contributors, unit skills); the fields given here override the copy.
#[derive(InputObject)]
pub struct CreateCurriculumUnitVersionInput {
    /// The unit (global id or sourcedId).
    pub unit: ID,
    /// The sourcedId to give the version; a UUID is minted when omitted.
    pub sourced_id: Option<String>,
    /// Title (at most 255 characters); copied from the latest version, or the unit's title for
    /// a first version.
    pub title: Option<String>,
    /// Summary (at most 4,000 characters).
    pub summary: Option<String>,
    /// Nominal hours, 0 to 1,000.
    pub hours: Option<f64>,
    /// Learning outcomes: at most 50, each 1 to 1,000 characters.
    pub learning_outcomes: Option<Vec<String>>,
    /// Learning resources: at most 50.
    pub resources: Option<Vec<UnitResourceInput>>,
    /// Client extensions: a JSON object of at most 16 KB.
    pub metadata: Option<Json<serde_json::Value>>,
}

/// Changes to a unit version's content (draft or changes requested; of a published version
/// only `metadata`): omitted fields keep their value, null clears.
#[derive(InputObject)]
pub struct UpdateCurriculumUnitVersionInput {
    /// The version (global id or sourcedId).
    pub id: ID,
    /// The version last read; another current version is `VERSION_CONFLICT`.
    pub expected_version: Option<i32>,
    /// Title (may not be null; at most 255 characters).
    pub title: MaybeUndefined<String>,
    /// Summary (at most 4,000 characters).
    pub summary: MaybeUndefined<String>,
    /// Nominal hours, 0 to 1,000.
    pub hours: MaybeUndefined<f64>,
    /// Learning outcomes (replaces the list): at most 50, each 1 to 1,000 characters.
    pub learning_outcomes: MaybeUndefined<Vec<String>>,
    /// Learning resources (replaces the list): at most 50.
    pub resources: MaybeUndefined<Vec<UnitResourceInput>>,
    /// External (e.g. EDB) approval reference, at most 255 characters.
    pub external_approval_ref: MaybeUndefined<String>,
    /// Client extensions (replaces the object).
    pub metadata: MaybeUndefined<Json<serde_json::Value>>,
}

payload!(
    /// The result of `createCurriculumUnitVersion`.
    CreateCurriculumUnitVersionPayload { curriculum_unit_version: CurriculumUnitVersion }
);
payload!(
    /// The result of `updateCurriculumUnitVersion`.
    UpdateCurriculumUnitVersionPayload { curriculum_unit_version: CurriculumUnitVersion }
);
transition_input!(
    /// Submitting a version for review.
    SubmitCurriculumUnitVersionInput,
    "version"
);
transition_input!(
    /// Retiring a published version.
    RetireCurriculumUnitVersionInput,
    "version"
);
transition_input!(
    /// Withdrawing a draft or changes-requested version.
    WithdrawCurriculumUnitVersionInput,
    "version"
);
payload!(
    /// The result of `submitCurriculumUnitVersion`.
    SubmitCurriculumUnitVersionPayload { curriculum_unit_version: CurriculumUnitVersion }
);
payload!(
    /// The result of `requestCurriculumUnitVersionChanges`.
    RequestCurriculumUnitVersionChangesPayload { curriculum_unit_version: CurriculumUnitVersion }
);
payload!(
    /// The result of `approveCurriculumUnitVersion`.
    ApproveCurriculumUnitVersionPayload { curriculum_unit_version: CurriculumUnitVersion }
);
payload!(
    /// The result of `publishCurriculumUnitVersion`.
    PublishCurriculumUnitVersionPayload { curriculum_unit_version: CurriculumUnitVersion }
);
payload!(
    /// The result of `retireCurriculumUnitVersion`.
    RetireCurriculumUnitVersionPayload { curriculum_unit_version: CurriculumUnitVersion }
);
payload!(
    /// The result of `withdrawCurriculumUnitVersion`.
    WithdrawCurriculumUnitVersionPayload { curriculum_unit_version: CurriculumUnitVersion }
);

/// Asking for changes to a version in review.
#[derive(InputObject)]
pub struct RequestCurriculumUnitVersionChangesInput {
    /// The version (global id or sourcedId).
    pub id: ID,
    /// The version last read; another current version is `VERSION_CONFLICT`.
    pub expected_version: Option<i32>,
    /// Why (at most 1,000 characters), kept in the status history.
    pub reason: Option<String>,
    /// What should change (required, at most 4,000 characters): the requestChanges review.
    pub comments: String,
}

/// Approving a version in review.
#[derive(InputObject)]
pub struct ApproveCurriculumUnitVersionInput {
    /// The version (global id or sourcedId).
    pub id: ID,
    /// The version last read; another current version is `VERSION_CONFLICT`.
    pub expected_version: Option<i32>,
    /// Why (at most 1,000 characters), kept in the status history.
    pub reason: Option<String>,
    /// Comments of the approve review (at most 4,000 characters).
    pub comments: Option<String>,
}

/// Publishing an approved version.
#[derive(InputObject)]
pub struct PublishCurriculumUnitVersionInput {
    /// The version (global id or sourcedId).
    pub id: ID,
    /// The version last read; another current version is `VERSION_CONFLICT`.
    pub expected_version: Option<i32>,
    /// Why (at most 1,000 characters), kept in the status history.
    pub reason: Option<String>,
    /// The external (e.g. EDB) approval reference; required (now or already set) when the
    /// unit requires external approval.
    pub external_approval_ref: Option<String>,
}

/// The version after a transition and the user errors.
type Outcome = (Option<CurriculumUnitVersion>, Vec<UserError>);

async fn run(
    ctx: &Context<'_>,
    action: Action,
    id: &ID,
    expected_version: Option<i32>,
    reason: Option<&str>,
    extras: TransitionExtras,
) -> Result<Outcome> {
    let result = versions::transition(
        db(ctx).extend()?,
        viewer(ctx).extend()?,
        action,
        id.as_str(),
        expected_version,
        reason,
        extras,
    )
    .await;
    finish(result, |version, user_errors| (version, user_errors))
}

#[derive(Default)]
pub struct CurriculumMutation;

#[Object]
impl CurriculumMutation {
    /// Creates a curriculum unit. Who: programmeStaff or programmeAdmin; an academicLead for
    /// its own academic unit as `owningOrg` (another owner is `FORBIDDEN`); clients need
    /// `curriculum.write`. User errors: `BAD_USER_INPUT` (the field at fault), `DUPLICATE`
    /// (code in use in the course).
    async fn create_curriculum_unit(
        &self,
        ctx: &Context<'_>,
        input: CreateCurriculumUnitInput,
    ) -> Result<CreateCurriculumUnitPayload> {
        let viewer = viewer(ctx).extend()?;
        units::authorize(viewer).extend()?;
        let fields = UnitFields {
            course: MaybeUndefined::Value(input.course.0),
            code: MaybeUndefined::Value(input.code),
            title: MaybeUndefined::Value(input.title),
            unit_kind: MaybeUndefined::Value(input.unit_kind.db()),
            owning_org: MaybeUndefined::Value(input.owning_org.0),
            requires_external_approval: MaybeUndefined::Value(input.requires_external_approval),
            metadata: given(input.metadata.map(|j| j.0)),
        };
        let result = catalogue::create::<entity::curriculum_unit::Model>(
            db(ctx).extend()?,
            viewer,
            input.sourced_id.as_deref(),
            fields,
        )
        .await;
        finish(result, |curriculum_unit, user_errors| {
            CreateCurriculumUnitPayload {
                curriculum_unit,
                user_errors,
            }
        })
    }

    /// Updates a curriculum unit. Who: as `createCurriculumUnit` (an academicLead must lead the
    /// owning org before and after). User errors as there, plus `VERSION_CONFLICT` and
    /// `INVALID_TRANSITION` (deleted). Unknown: `NOT_FOUND`.
    async fn update_curriculum_unit(
        &self,
        ctx: &Context<'_>,
        input: UpdateCurriculumUnitInput,
    ) -> Result<UpdateCurriculumUnitPayload> {
        let viewer = viewer(ctx).extend()?;
        units::authorize(viewer).extend()?;
        let db = db(ctx).extend()?;
        let result = async {
            let sid = sourced_id_of("CurriculumUnit", "id", input.id.as_str())?;
            let fields = UnitFields {
                course: MaybeUndefined::Undefined,
                code: input.code,
                title: input.title,
                unit_kind: input.unit_kind.map_value(DbEnum::db),
                owning_org: input.owning_org.map_value(|id| id.0),
                requires_external_approval: input.requires_external_approval,
                metadata: input.metadata.map_value(|j| j.0),
            };
            catalogue::update::<entity::curriculum_unit::Model>(
                db,
                viewer,
                &sid,
                input.expected_version,
                fields,
            )
            .await
        }
        .await;
        finish(result, |curriculum_unit, user_errors| {
            UpdateCurriculumUnitPayload {
                curriculum_unit,
                user_errors,
            }
        })
    }

    /// Deletes a curriculum unit (a tombstone). Who: as `updateCurriculumUnit`. User errors:
    /// `VERSION_CONFLICT`; `INVALID_TRANSITION` when already deleted or while the unit has a
    /// working or published version.
    async fn delete_curriculum_unit(
        &self,
        ctx: &Context<'_>,
        input: DeleteCurriculumUnitInput,
    ) -> Result<DeleteCurriculumUnitPayload> {
        let viewer = viewer(ctx).extend()?;
        units::authorize(viewer).extend()?;
        let db = db(ctx).extend()?;
        let result = async {
            let sid = sourced_id_of("CurriculumUnit", "id", input.id.as_str())?;
            catalogue::delete::<entity::curriculum_unit::Model>(
                db,
                viewer,
                &sid,
                input.expected_version,
            )
            .await
        }
        .await;
        finish(result, |curriculum_unit, user_errors| {
            DeleteCurriculumUnitPayload {
                curriculum_unit,
                user_errors,
            }
        })
    }

    /// Starts a new version of a unit (`new → DRAFT`): a copy of the latest version (content,
    /// active contributors with their hours reset, active unit skills; not the approval
    /// reference, hash or publication time), and the creator becomes an author. Who:
    /// programmeStaff, an academicLead, or an invited partnerCoordinator or teacher (their
    /// Person, or the coordinator's or client's organisation, contributes to the latest
    /// version). User errors: `INVALID_TRANSITION` while the unit has a working version or is
    /// deleted; `BAD_USER_INPUT`. A unit the caller may not read: `NOT_FOUND`.
    async fn create_curriculum_unit_version(
        &self,
        ctx: &Context<'_>,
        input: CreateCurriculumUnitVersionInput,
    ) -> Result<CreateCurriculumUnitVersionPayload> {
        let new = NewVersion {
            unit: input.unit.0,
            sourced_id: input.sourced_id,
            fields: VersionFields {
                title: given(input.title),
                summary: given(input.summary),
                hours: given(input.hours),
                learning_outcomes: given(input.learning_outcomes),
                resources: given(input.resources.map(resource_list)),
                external_approval_ref: MaybeUndefined::Undefined,
                metadata: given(input.metadata.map(|j| j.0)),
            },
        };
        let result = versions::create(db(ctx).extend()?, viewer(ctx).extend()?, new).await;
        finish(result, |curriculum_unit_version, user_errors| {
            CreateCurriculumUnitVersionPayload {
                curriculum_unit_version,
                user_errors,
            }
        })
    }

    /// Edits a unit version's content. Who: the curriculum staff, or a contributor in an
    /// editing role (author, coDeveloper, subjectExpert). Only a DRAFT or CHANGES_REQUESTED
    /// version is edited (`INVALID_TRANSITION` otherwise); a PUBLISHED version is immutable
    /// except its `metadata` (programme staff or the owning unit's academic lead).
    async fn update_curriculum_unit_version(
        &self,
        ctx: &Context<'_>,
        input: UpdateCurriculumUnitVersionInput,
    ) -> Result<UpdateCurriculumUnitVersionPayload> {
        let fields = VersionFields {
            title: input.title,
            summary: input.summary,
            hours: input.hours,
            learning_outcomes: input.learning_outcomes,
            resources: input.resources.map_value(resource_list),
            external_approval_ref: input.external_approval_ref,
            metadata: input.metadata.map_value(|j| j.0),
        };
        let result = versions::update(
            db(ctx).extend()?,
            viewer(ctx).extend()?,
            input.id.as_str(),
            input.expected_version,
            fields,
        )
        .await;
        finish(result, |curriculum_unit_version, user_errors| {
            UpdateCurriculumUnitVersionPayload {
                curriculum_unit_version,
                user_errors,
            }
        })
    }

    /// `DRAFT | CHANGES_REQUESTED → IN_REVIEW`: by an author or coDeveloper, or (from DRAFT)
    /// programmeStaff. Needs a title and at least one learning outcome.
    async fn submit_curriculum_unit_version(
        &self,
        ctx: &Context<'_>,
        input: SubmitCurriculumUnitVersionInput,
    ) -> Result<SubmitCurriculumUnitVersionPayload> {
        run(
            ctx,
            Action::Submit,
            &input.id,
            input.expected_version,
            input.reason.as_deref(),
            TransitionExtras::default(),
        )
        .await
        .map(
            |(curriculum_unit_version, user_errors)| SubmitCurriculumUnitVersionPayload {
                curriculum_unit_version,
                user_errors,
            },
        )
    }

    /// `IN_REVIEW → CHANGES_REQUESTED`, writing the caller's requestChanges review: by the
    /// owning unit's academicLead, programmeStaff or a reviewer (a person).
    async fn request_curriculum_unit_version_changes(
        &self,
        ctx: &Context<'_>,
        input: RequestCurriculumUnitVersionChangesInput,
    ) -> Result<RequestCurriculumUnitVersionChangesPayload> {
        run(
            ctx,
            Action::RequestChanges,
            &input.id,
            input.expected_version,
            input.reason.as_deref(),
            TransitionExtras {
                comments: Some(input.comments),
                external_approval_ref: None,
            },
        )
        .await
        .map(|(curriculum_unit_version, user_errors)| {
            RequestCurriculumUnitVersionChangesPayload {
                curriculum_unit_version,
                user_errors,
            }
        })
    }

    /// `IN_REVIEW → APPROVED`, writing the approver's approve review (and its approver
    /// contribution): by the owning unit's academicLead.
    async fn approve_curriculum_unit_version(
        &self,
        ctx: &Context<'_>,
        input: ApproveCurriculumUnitVersionInput,
    ) -> Result<ApproveCurriculumUnitVersionPayload> {
        run(
            ctx,
            Action::Approve,
            &input.id,
            input.expected_version,
            input.reason.as_deref(),
            TransitionExtras {
                comments: input.comments,
                external_approval_ref: None,
            },
        )
        .await
        .map(|(curriculum_unit_version, user_errors)| {
            ApproveCurriculumUnitVersionPayload {
                curriculum_unit_version,
                user_errors,
            }
        })
    }

    /// `APPROVED → PUBLISHED`: by the owning unit's academicLead. Retires the unit's
    /// previously published version, sets `publishedAt` and `contentHash`. A unit that
    /// requires external approval needs an `externalApprovalRef` (`INVALID_TRANSITION`).
    async fn publish_curriculum_unit_version(
        &self,
        ctx: &Context<'_>,
        input: PublishCurriculumUnitVersionInput,
    ) -> Result<PublishCurriculumUnitVersionPayload> {
        run(
            ctx,
            Action::Publish,
            &input.id,
            input.expected_version,
            input.reason.as_deref(),
            TransitionExtras {
                comments: None,
                external_approval_ref: input.external_approval_ref,
            },
        )
        .await
        .map(|(curriculum_unit_version, user_errors)| {
            PublishCurriculumUnitVersionPayload {
                curriculum_unit_version,
                user_errors,
            }
        })
    }

    /// `PUBLISHED → RETIRED`: by the owning unit's academicLead.
    async fn retire_curriculum_unit_version(
        &self,
        ctx: &Context<'_>,
        input: RetireCurriculumUnitVersionInput,
    ) -> Result<RetireCurriculumUnitVersionPayload> {
        run(
            ctx,
            Action::Retire,
            &input.id,
            input.expected_version,
            input.reason.as_deref(),
            TransitionExtras::default(),
        )
        .await
        .map(
            |(curriculum_unit_version, user_errors)| RetireCurriculumUnitVersionPayload {
                curriculum_unit_version,
                user_errors,
            },
        )
    }

    /// `DRAFT | CHANGES_REQUESTED → WITHDRAWN`: by an author or programmeStaff.
    async fn withdraw_curriculum_unit_version(
        &self,
        ctx: &Context<'_>,
        input: WithdrawCurriculumUnitVersionInput,
    ) -> Result<WithdrawCurriculumUnitVersionPayload> {
        run(
            ctx,
            Action::Withdraw,
            &input.id,
            input.expected_version,
            input.reason.as_deref(),
            TransitionExtras::default(),
        )
        .await
        .map(|(curriculum_unit_version, user_errors)| {
            WithdrawCurriculumUnitVersionPayload {
                curriculum_unit_version,
                user_errors,
            }
        })
    }
}
