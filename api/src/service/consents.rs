//! Recording and withdrawing consent (DOMAIN.md area A, section 5 rules 3 and 4).
//!
//! **Who.** programmeStaff and programmeAdmin for any student; a schoolCoordinator (or a school's
//! client holding `consent.write`) for the students active at its school; a student for
//! themselves; a guardian for the students they have parental responsibility for. Students and
//! guardians record and withdraw only consents they give themselves. Partners, mentors,
//! teachers and everyone else: `FORBIDDEN`. A student the caller may not write for is
//! `NOT_FOUND`, exactly like one that does not exist.
//!
//! **Withdrawal** is final: it sets `withdrawnAt`, writes StatusHistory (`active → withdrawn`)
//! and a change event. When it is a shareWithPartnerMentor consent and the student's effective
//! consent for that partner is gone afterwards, the same transaction pauses every active
//! mentorship of the student with the partner and, when the partner had effective consent
//! before, emits `accessRevoked` for the student's Person to that partner. Access rules read
//! consent from the database on every request, so the next request already sees the change.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::{STATUS_ACTIVE, consent_record, guardian_link, mentorship, org, person};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QuerySelect, Set,
};

use super::mentorships;
use super::write::{self, Actor, Transition, VersionedUpdate};
use crate::access::{self, ConsentOrg, Reach, Scoped};
use crate::auth::{Principal, Viewer};
use crate::changes;
use crate::error::{AppError, AppResult};

/// GraphQL type name of consent records (history and change events).
pub const TYPE_NAME: &str = "ConsentRecord";

/// The purposes of DOMAIN.md area A.
pub const PURPOSES: [&str; 6] = [
    access::SHARE_WITH_PARTNER_MENTOR,
    access::INTERNSHIP_PLACEMENT,
    access::SHARE_RESULTS_WITH_PARTNER,
    "mediaPhotoVideo",
    "researchEvaluation",
    "alumniTracking",
];

/// Purposes that concern one industry partner and so need `scopeOrg`.
pub const PARTNER_PURPOSES: [&str; 3] = [
    access::SHARE_WITH_PARTNER_MENTOR,
    access::INTERNSHIP_PLACEMENT,
    access::SHARE_RESULTS_WITH_PARTNER,
];

/// The giver relationships, as stored.
pub const SELF: &str = "self";
pub const PARENTAL_RESPONSIBILITY: &str = "parentalResponsibility";
pub const GUARDIAN: &str = "guardian";

/// How far ahead of the server clock `grantedAt` may be (clock skew of the recording system).
const FUTURE_SKEW_MINUTES: i64 = 5;

/// Whether `purpose` is a DOMAIN.md purpose or an `ext:[A-Za-z0-9._-]+` extension.
pub fn is_purpose(purpose: &str) -> bool {
    if PURPOSES.contains(&purpose) {
        return true;
    }
    write::is_extension(purpose)
}

/// Who may write consents, and for whom.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Writer {
    /// programmeStaff or programmeAdmin: any student.
    Programme,
    /// A schoolCoordinator or a school's client: the students active at the school.
    School,
    /// A student or guardian (person id): only consents they give themselves.
    SelfService(i64),
}

/// The caller as a consent writer: `UNAUTHENTICATED` without a token, `FORBIDDEN` for partners,
/// mentors, teachers, other roles, and clients without `consent.write`.
fn writer(viewer: &Viewer) -> AppResult<(&Principal, Writer)> {
    let principal = access::principal(viewer)?;
    let writer = match Reach::of(viewer) {
        Reach::Programme => Writer::Programme,
        Reach::Schools { teacher: None, .. } => Writer::School,
        Reach::SelfService { person, .. } => Writer::SelfService(person),
        _ => return Err(AppError::Forbidden),
    };
    write::require_write_scope(principal, "consent.write")?;
    Ok((principal, writer))
}

/// The guard of a consent write, checked before any input is read: `UNAUTHENTICATED` or
/// `FORBIDDEN` for callers who may never write consents.
pub fn authorize(viewer: &Viewer) -> AppResult<()> {
    writer(viewer).map(|_| ())
}

/// A consent to record. References are sourcedIds.
#[derive(Clone, Debug)]
pub struct NewConsent<'a> {
    pub student: &'a str,
    pub given_by: &'a str,
    /// `self`, `parentalResponsibility` or `guardian`.
    pub giver_relationship: &'static str,
    pub purpose: &'a str,
    pub scope_org: Option<&'a str>,
    pub pics_version: &'a str,
    /// Defaults to now.
    pub granted_at: Option<DateTime<Utc>>,
    pub evidence_ref: Option<&'a str>,
    pub sourced_id: Option<&'a str>,
}

/// Truncates to microseconds, as PostgreSQL stores timestamps.
fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

/// An active person by sourcedId, whatever the caller's scope (for checks that reveal nothing
/// beyond what the caller already named).
async fn person_by_sourced_id(
    db: &impl ConnectionTrait,
    sourced_id: &str,
) -> AppResult<Option<person::Model>> {
    Ok(person::Entity::find()
        .filter(person::Column::SourcedId.eq(sourced_id))
        .filter(person::Column::Status.eq(STATUS_ACTIVE))
        .one(db)
        .await?)
}

/// Records a consent. Expected failures are `BAD_USER_INPUT` on `purpose`, `scopeOrg`,
/// `givenBy`, `picsVersion`, `grantedAt`, `evidenceRef` or `sourcedId`, and `DUPLICATE` for a
/// sourcedId in use; an unknown or invisible student is `NOT_FOUND`.
#[tracing::instrument(skip_all, fields(consent.purpose = %new.purpose))]
pub async fn create(
    db: &DatabaseConnection,
    viewer: &Viewer,
    new: &NewConsent<'_>,
) -> AppResult<consent_record::Model> {
    let (principal, writer) = writer(viewer)?;
    if let Writer::SelfService(_) = writer
        && new.given_by != principal.subject
    {
        // Students and guardians record only what they give themselves.
        return Err(AppError::Forbidden);
    }
    let actor = Actor::of(principal);
    let sourced_id = write::new_sourced_id(new.sourced_id, "sourcedId")?;
    if !is_purpose(new.purpose) {
        return Err(AppError::bad_input(
            "purpose",
            format!(
                "unknown purpose {:?}; use one of {} or an `ext:` extension",
                new.purpose,
                PURPOSES.join(", ")
            ),
        ));
    }
    let partner_purpose = PARTNER_PURPOSES.contains(&new.purpose);
    if partner_purpose && new.scope_org.is_none() {
        return Err(AppError::bad_input(
            "scopeOrg",
            format!(
                "purpose {} needs `scopeOrg`: the industry partner the consent is for",
                new.purpose
            ),
        ));
    }
    let pics_version =
        write::required_text(new.pics_version, "picsVersion", write::MAX_SHORT_TEXT)?;
    let evidence_ref =
        write::optional_text(new.evidence_ref, "evidenceRef", write::MAX_SHORT_TEXT)?;
    let now = changes::now();
    let granted_at = micros(new.granted_at.unwrap_or(now));
    if granted_at > now + Duration::minutes(FUTURE_SKEW_MINUTES) {
        return Err(AppError::bad_input(
            "grantedAt",
            "`grantedAt` may not be in the future",
        ));
    }

    let txn = write::begin(db).await?;
    let student = person::Entity::find()
        .filter(person::Column::SourcedId.eq(new.student))
        .filter(person::Column::Status.eq(STATUS_ACTIVE))
        .filter(access::students_condition(viewer)?)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::NotFound("student".into()))?;

    let scope_org = match new.scope_org {
        None => None,
        Some(sid) => {
            let found = org::Entity::find()
                .filter(org::Column::SourcedId.eq(sid))
                .filter(org::Column::Status.eq(STATUS_ACTIVE))
                .one(&txn)
                .await?
                .ok_or_else(|| {
                    AppError::bad_input("scopeOrg", format!("no active organisation {sid:?}"))
                })?;
            if partner_purpose && found.org_type != "industryPartner" {
                return Err(AppError::bad_input(
                    "scopeOrg",
                    format!(
                        "purpose {} is scoped to an industry partner; {sid} is a {}",
                        new.purpose, found.org_type
                    ),
                ));
            }
            Some(found.id)
        }
    };

    let given_by = check_giver(&txn, &student, new.given_by, new.giver_relationship).await?;

    if consent_record::Entity::find()
        .filter(consent_record::Column::SourcedId.eq(sourced_id.as_str()))
        .one(&txn)
        .await?
        .is_some()
    {
        return Err(write::duplicate(format!(
            "a ConsentRecord with sourcedId {sourced_id} already exists"
        )));
    }
    let row = consent_record::ActiveModel {
        sourced_id: Set(sourced_id),
        status: Set(STATUS_ACTIVE.to_owned()),
        date_created: Set(now),
        date_last_modified: Set(now),
        version: Set(1),
        metadata: Set(None),
        created_by: Set(Some(actor.subject.clone())),
        modified_by: Set(Some(actor.subject.clone())),
        student_id: Set(student.id),
        given_by_id: Set(given_by),
        giver_relationship: Set(new.giver_relationship.to_owned()),
        purpose: Set(new.purpose.to_owned()),
        scope_org_id: Set(scope_org),
        pics_version: Set(pics_version),
        granted_at: Set(granted_at),
        withdrawn_at: Set(None),
        evidence_ref: Set(evidence_ref),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    write::record_transition(
        &txn,
        Transition {
            entity_type: TYPE_NAME,
            entity_id: row.id,
            from: None,
            to: "active",
            reason: None,
        },
        &actor,
        now,
    )
    .await?;
    write::emit(
        &txn,
        &[write::change(
            TYPE_NAME,
            row.id,
            &row.sourced_id,
            changes::CREATE,
            row.version,
        )],
        now,
    )
    .await?;
    txn.commit().await?;
    tracing::info!(consent.sourced_id = %row.sourced_id, "consent recorded");
    Ok(row)
}

/// Checks who gave the consent: the student for `self`; otherwise a guardian linked to the
/// student, with parental responsibility for `parentalResponsibility`. Returns the giver's id.
/// An unknown giver gets the same answer as an unlinked one.
async fn check_giver(
    db: &impl ConnectionTrait,
    student: &person::Model,
    given_by: &str,
    relationship: &str,
) -> AppResult<i64> {
    if relationship == SELF {
        if given_by != student.sourced_id {
            return Err(AppError::bad_input(
                "givenBy",
                "with giverRelationship SELF, `givenBy` must be the student",
            ));
        }
        return Ok(student.id);
    }
    let needs_responsibility = relationship == PARENTAL_RESPONSIBILITY;
    let not_linked = || {
        AppError::bad_input(
            "givenBy",
            if needs_responsibility {
                "`givenBy` is not a guardian with parental responsibility for the student"
            } else {
                "`givenBy` is not a guardian of the student"
            },
        )
    };
    let giver = person_by_sourced_id(db, given_by)
        .await?
        .ok_or_else(not_linked)?;
    let mut link = guardian_link::Entity::find()
        .filter(guardian_link::Column::StudentId.eq(student.id))
        .filter(guardian_link::Column::GuardianId.eq(giver.id))
        .filter(guardian_link::Column::Status.eq(STATUS_ACTIVE));
    if needs_responsibility {
        link = link.filter(guardian_link::Column::HasParentalResponsibility.eq(true));
    }
    link.one(db).await?.ok_or_else(not_linked)?;
    Ok(giver.id)
}

/// Whether the student has effective consent (DOMAIN.md area A) for `purpose` and `org` on
/// `on`, read from the database through `db` (inside the writing transaction).
pub async fn is_effective(
    db: &impl ConnectionTrait,
    student: i64,
    purpose: &str,
    org: i64,
    on: NaiveDate,
) -> AppResult<bool> {
    let found: Option<i64> = person::Entity::find()
        .select_only()
        .column(person::Column::Id)
        .filter(person::Column::Id.eq(student))
        .filter(access::effective_consent(
            "person.id",
            purpose,
            ConsentOrg::Id(org),
            on,
        ))
        .into_tuple()
        .one(db)
        .await?;
    Ok(found.is_some())
}

/// What a withdrawal changed.
#[derive(Clone, Debug)]
pub struct Withdrawal {
    /// The consent record after the withdrawal.
    pub consent: consent_record::Model,
    /// Mentorships paused because effective consent for their partner is gone.
    pub paused: Vec<mentorship::Model>,
    /// Whether the partner was sent `accessRevoked` for the student.
    pub access_revoked: bool,
}

/// Withdraws a consent for good. Expected failures: `VERSION_CONFLICT` (stale
/// `expectedVersion`), `INVALID_TRANSITION` (already withdrawn, or deleted), `BAD_USER_INPUT` on
/// `reason`. An unknown or invisible record is `NOT_FOUND`; a student or guardian withdrawing a
/// consent someone else gave is `FORBIDDEN`.
#[tracing::instrument(skip_all, fields(consent.sourced_id = %sourced_id))]
pub async fn withdraw(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: &str,
    expected_version: Option<i32>,
    reason: Option<&str>,
) -> AppResult<Withdrawal> {
    let (principal, writer) = writer(viewer)?;
    let actor = Actor::of(principal);
    let reason = write::reason(reason)?;
    let scope = consent_record::Entity::scope(viewer)?;

    let txn = write::begin(db).await?;
    let consent = consent_record::Entity::find()
        .filter(consent_record::Column::SourcedId.eq(sourced_id))
        .filter(scope)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::NotFound("consent record".into()))?;
    if let Writer::SelfService(person) = writer
        && consent.given_by_id != person
    {
        return Err(AppError::Forbidden);
    }
    write::check_expected_version(TYPE_NAME, sourced_id, consent.version, expected_version)?;
    if consent.status != STATUS_ACTIVE {
        return Err(write::invalid_transition(format!(
            "consent record {sourced_id} is deleted"
        )));
    }
    if let Some(at) = consent.withdrawn_at {
        return Err(write::invalid_transition(format!(
            "consent record {sourced_id} was withdrawn at {}; withdrawal is final: record a new \
             consent instead",
            at.to_rfc3339()
        )));
    }

    // The partner whose access hangs on this consent (shareWithPartnerMentor only: the other
    // partner purposes gate data kinds that carry their own revocation).
    let partner = consent
        .scope_org_id
        .filter(|_| consent.purpose == access::SHARE_WITH_PARTNER_MENTOR);
    let today = access::today();
    let effective_before = match partner {
        Some(org) => is_effective(&txn, consent.student_id, &consent.purpose, org, today).await?,
        None => false,
    };

    let now = changes::now();
    let version = write::update_versioned::<consent_record::Entity>(
        &txn,
        VersionedUpdate {
            type_name: TYPE_NAME,
            sourced_id: consent.sourced_id.clone(),
            id: consent.id,
            version: consent.version,
            guard: Some(Expr::col(consent_record::Column::WithdrawnAt).is_null()),
            set: vec![(consent_record::Column::WithdrawnAt, Expr::value(now))],
        },
        &actor,
        now,
    )
    .await?;
    write::record_transition(
        &txn,
        Transition {
            entity_type: TYPE_NAME,
            entity_id: consent.id,
            from: Some("active"),
            to: "withdrawn",
            reason: reason.as_deref(),
        },
        &actor,
        now,
    )
    .await?;
    let mut events = vec![write::change(
        TYPE_NAME,
        consent.id,
        &consent.sourced_id,
        changes::UPDATE,
        version,
    )];

    let mut paused = Vec::new();
    let mut access_revoked = false;
    if let Some(org) = partner {
        let mut revocation = recheck_partner_access(
            &txn,
            consent.student_id,
            org,
            effective_before,
            mentorships::CONSENT_WITHDRAWN,
            &actor,
            now,
            today,
        )
        .await?;
        paused = revocation.paused;
        events.append(&mut revocation.events);
        access_revoked = revocation.access_revoked;
    }
    write::emit(&txn, &events, now).await?;
    txn.commit().await?;
    tracing::info!(
        consent.paused_mentorships = paused.len(),
        consent.access_revoked = access_revoked,
        "consent withdrawn"
    );
    Ok(Withdrawal {
        consent: consent_record::Model {
            withdrawn_at: Some(now),
            version,
            date_last_modified: now,
            modified_by: Some(actor.subject),
            ..consent
        },
        paused,
        access_revoked,
    })
}

/// What [`recheck_partner_access`] did for one partner.
#[derive(Clone, Debug, Default)]
pub struct Revocation {
    /// Mentorships paused because effective consent for the partner is gone.
    pub paused: Vec<mentorship::Model>,
    /// Change events to emit with the write (paused mentorships, `accessRevoked`).
    pub events: Vec<changes::Change>,
    /// Whether the partner was sent `accessRevoked` for the student.
    pub access_revoked: bool,
}

/// The shared "recheck and revoke" step of every write that can end a student's effective
/// shareWithPartnerMentor consent for `partner` (a consent withdrawal, a guardian link losing
/// parental responsibility or deleted, a changed date of birth), run in the writing transaction
/// after the change: when consent is no longer effective, every active mentorship of the student
/// with the partner is paused (StatusHistory each) and, when the partner had effective consent
/// before the write (`was_effective`), the partner gets `accessRevoked` for the student's Person.
/// Nothing happens while consent is still effective.
pub async fn recheck_partner_access(
    txn: &DatabaseTransaction,
    student: i64,
    partner: i64,
    was_effective: bool,
    reason: &'static str,
    actor: &Actor,
    at: DateTime<Utc>,
    today: NaiveDate,
) -> AppResult<Revocation> {
    if is_effective(
        txn,
        student,
        access::SHARE_WITH_PARTNER_MENTOR,
        partner,
        today,
    )
    .await?
    {
        return Ok(Revocation::default());
    }
    let (paused, mut events) =
        mentorships::pause_for_lost_consent(txn, student, partner, reason, actor, at).await?;
    let mut access_revoked = false;
    if was_effective {
        let row = person::Entity::find_by_id(student)
            .one(txn)
            .await?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("consent without student")))?;
        events.push(changes::Change {
            entity_type: person::Entity::TYPE_NAME,
            entity_id: row.id,
            sourced_id: row.sourced_id,
            operation: changes::ACCESS_REVOKED,
            version: row.version,
            audience_org_id: Some(partner),
        });
        access_revoked = true;
    }
    Ok(Revocation {
        paused,
        events,
        access_revoked,
    })
}

/// The partners for which the student has effective shareWithPartnerMentor consent on `on`:
/// taken before a write that may end it, to recheck each afterwards.
pub async fn effective_partners(
    db: &impl ConnectionTrait,
    student: i64,
    on: NaiveDate,
) -> AppResult<Vec<i64>> {
    let mut orgs: Vec<Option<i64>> = consent_record::Entity::find()
        .select_only()
        .column(consent_record::Column::ScopeOrgId)
        .filter(consent_record::Column::StudentId.eq(student))
        .filter(consent_record::Column::Purpose.eq(access::SHARE_WITH_PARTNER_MENTOR))
        .filter(consent_record::Column::Status.eq(STATUS_ACTIVE))
        .filter(consent_record::Column::WithdrawnAt.is_null())
        .filter(consent_record::Column::GiverRelationship.eq(SELF))
        .into_tuple()
        .all(db)
        .await?;
    orgs.sort_unstable();
    orgs.dedup();
    let mut effective = Vec::new();
    for org in orgs.into_iter().flatten() {
        if is_effective(db, student, access::SHARE_WITH_PARTNER_MENTOR, org, on).await? {
            effective.push(org);
        }
    }
    Ok(effective)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_are_the_domain_list_or_extensions() {
        assert!(is_purpose("shareWithPartnerMentor"));
        assert!(is_purpose("alumniTracking"));
        assert!(is_purpose("ext:careerFair.2026"));
        assert!(!is_purpose("ext:"));
        assert!(!is_purpose("ext:has space"));
        assert!(!is_purpose("marketing"));
        assert!(!is_purpose("ShareWithPartnerMentor"));
    }
}
