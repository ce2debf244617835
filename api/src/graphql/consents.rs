//! Recording and withdrawing consent (DOMAIN.md area A): the `createConsentRecord` and
//! `withdrawConsentRecord` mutations. The `ConsentRecord` type and its lists are in
//! [`super::people`]; rules and roles in [`crate::service::consents`].

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::common::*;
use super::connection::{db, viewer};
use super::mentorships::Mentorship;
use super::payload::{UserError, failed};
use super::people::{ConsentRecord, GiverRelationship};
use crate::error::{AppResult, ResultExt};
use crate::service::consents::{self as service, NewConsent};

/// The consent to record.
#[derive(InputObject)]
pub struct CreateConsentRecordInput {
    /// The student the consent is about (global id or sourcedId).
    pub student: ID,
    /// Who gave it (global id or sourcedId): the student for `SELF`, otherwise a guardian
    /// linked to the student (with parental responsibility for `PARENTAL_RESPONSIBILITY`).
    /// A student or guardian recording their own consent names themselves.
    pub given_by: ID,
    /// The giver's relationship to the student.
    pub giver_relationship: GiverRelationship,
    /// What the consent allows: `shareWithPartnerMentor`, `internshipPlacement`,
    /// `shareResultsWithPartner`, `mediaPhotoVideo`, `researchEvaluation`, `alumniTracking`, or an
    /// extension `ext:[A-Za-z0-9._-]+`. The first three need `scopeOrg`.
    pub purpose: String,
    /// The organisation the consent is scoped to (global id or sourcedId): the industry partner
    /// for the three partner purposes.
    pub scope_org: Option<ID>,
    /// Version of the personal information collection statement shown to the giver.
    pub pics_version: String,
    /// When the consent was given (UTC); now when omitted. Not in the future.
    pub granted_at: Option<DateTime<Utc>>,
    /// Reference to the signed form or other evidence (at most 255 characters).
    pub evidence_ref: Option<String>,
    /// The sourcedId to give the record; a UUID is minted when omitted.
    pub sourced_id: Option<String>,
}

/// The result of `createConsentRecord`.
#[derive(SimpleObject, Default)]
pub struct CreateConsentRecordPayload {
    /// The new consent record; null when nothing was created.
    pub consent_record: Option<ConsentRecord>,
    /// Expected failures; nothing was written when there are any.
    pub user_errors: Vec<UserError>,
}

/// The consent to withdraw.
#[derive(InputObject)]
pub struct WithdrawConsentRecordInput {
    /// The consent record: its global id or sourcedId.
    pub consent_record: ID,
    /// The version last read; a different current version is `VERSION_CONFLICT` and nothing
    /// changes.
    pub expected_version: Option<i32>,
    /// Why; kept in the status history (at most 1,000 characters).
    pub reason: Option<String>,
}

/// The result of `withdrawConsentRecord`.
#[derive(SimpleObject, Default)]
pub struct WithdrawConsentRecordPayload {
    /// The consent record after the withdrawal; null when nothing changed.
    pub consent_record: Option<ConsentRecord>,
    /// The mentorships the withdrawal paused: the active mentorships of the student with the
    /// partner whose effective shareWithPartnerMentor consent it ended.
    pub paused_mentorships: Vec<Mentorship>,
    /// Whether the partner lost access to the student and was sent `accessRevoked`.
    pub access_revoked: bool,
    /// Expected failures; nothing was written when there are any.
    pub user_errors: Vec<UserError>,
}

/// Converts the references of a new consent into sourcedIds.
fn consent_ids(input: &CreateConsentRecordInput) -> AppResult<(String, String, Option<String>)> {
    Ok((
        sourced_id_of("Person", "student", input.student.as_str())?,
        sourced_id_of("Person", "givenBy", input.given_by.as_str())?,
        input
            .scope_org
            .as_ref()
            .map(|id| sourced_id_of("Organization", "scopeOrg", id.as_str()))
            .transpose()?,
    ))
}

#[derive(Default)]
pub struct ConsentsMutation;

#[Object]
impl ConsentsMutation {
    /// Records a consent. By programmeStaff, a schoolCoordinator of the student's school (or
    /// the school's client with `consent.write`), the student themselves (`SELF`), or a guardian
    /// with parental responsibility for the student (naming themselves as `givenBy`). Partners,
    /// mentors and other roles get `FORBIDDEN`; a student the caller may not write for is
    /// `NOT_FOUND`, like one that does not exist.
    async fn create_consent_record(
        &self,
        ctx: &Context<'_>,
        input: CreateConsentRecordInput,
    ) -> Result<CreateConsentRecordPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let set = |p: &mut CreateConsentRecordPayload, e| p.user_errors.push(e);
        let (student, given_by, scope_org) = match consent_ids(&input) {
            Ok(ids) => ids,
            Err(error) => return failed(error, set),
        };
        let new = NewConsent {
            student: &student,
            given_by: &given_by,
            giver_relationship: input.giver_relationship.db(),
            purpose: input.purpose.trim(),
            scope_org: scope_org.as_deref(),
            pics_version: &input.pics_version,
            granted_at: input.granted_at,
            evidence_ref: input.evidence_ref.as_deref(),
            sourced_id: input.sourced_id.as_deref(),
        };
        match service::create(db(ctx).extend()?, viewer, &new).await {
            Ok(row) => Ok(CreateConsentRecordPayload {
                consent_record: Some(row.into()),
                user_errors: Vec::new(),
            }),
            Err(error) => failed(error, set),
        }
    }

    /// Withdraws a consent, for good (withdrawing twice is `INVALID_TRANSITION`; renewed consent
    /// is a new record). Who: as for `createConsentRecord`; a student or guardian withdraws only
    /// consents they gave. When a shareWithPartnerMentor consent's withdrawal ends the
    /// student's effective consent for the partner, the same transaction pauses the student's
    /// active mentorships with that partner and sends the partner `accessRevoked` for the
    /// student; the partner and its mentors lose sight of the student from the next request.
    async fn withdraw_consent_record(
        &self,
        ctx: &Context<'_>,
        input: WithdrawConsentRecordInput,
    ) -> Result<WithdrawConsentRecordPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let set = |p: &mut WithdrawConsentRecordPayload, e| p.user_errors.push(e);
        let sourced_id = match sourced_id_of(
            "ConsentRecord",
            "consentRecord",
            input.consent_record.as_str(),
        ) {
            Ok(sid) => sid,
            Err(error) => return failed(error, set),
        };
        let result = service::withdraw(
            db(ctx).extend()?,
            viewer,
            &sourced_id,
            input.expected_version,
            input.reason.as_deref(),
        )
        .await;
        match result {
            Ok(withdrawal) => Ok(WithdrawConsentRecordPayload {
                consent_record: Some(withdrawal.consent.into()),
                paused_mentorships: withdrawal.paused.into_iter().map(Into::into).collect(),
                access_revoked: withdrawal.access_revoked,
                user_errors: Vec::new(),
            }),
            Err(error) => failed(error, set),
        }
    }
}
