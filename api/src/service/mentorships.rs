//! Mentorships (DOMAIN.md area E): proposals and the lifecycle
//! `proposed → active ⇄ paused → ended`, `active → ended`, `proposed → cancelled`.
//!
//! **Who.** A partnerCoordinator (or the partner's client holding `activities.write`) proposes
//! mentorships for its own organisation and may cancel its organisation's proposals;
//! programmeStaff and programmeAdmin may do everything: propose, activate, pause, resume, end
//! and cancel. Anyone else is `FORBIDDEN`; a mentorship the caller may not see is `NOT_FOUND`.
//!
//! **Consent gate.** Activation and resumption need effective shareWithPartnerMentor consent for
//! the mentorship's partner (checked in the writing transaction); a withdrawal that ends that
//! consent pauses the active mentorships ([`pause_for_lost_consent`]).
//!
//! Every accepted transition writes StatusHistory (who, client, when, why) and a change event;
//! an illegal one is `INVALID_TRANSITION` and writes nothing.

use chrono::{DateTime, NaiveDate, Utc};
use entity::{STATUS_ACTIVE, mentorship, org, pathway, person, role_assignment};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, QueryTrait, Set,
};

use super::consents;
use super::write::{self, Actor, Transition, VersionedUpdate};
use crate::access::{self, Reach, Scoped};
use crate::auth::{Principal, Role, Viewer};
use crate::changes::{self, Change};
use crate::error::{AppError, AppResult};

/// GraphQL type name of mentorships (history and change events).
pub const TYPE_NAME: &str = "Mentorship";

/// Lifecycle states, as stored.
pub const PROPOSED: &str = "proposed";
pub const ACTIVE: &str = "active";
pub const PAUSED: &str = "paused";
pub const ENDED: &str = "ended";
pub const CANCELLED: &str = "cancelled";

/// Reason recorded when a consent withdrawal pauses a mentorship.
pub const CONSENT_WITHDRAWN: &str = "consent withdrawn";
/// Pause reason when a guardian link change ends effective consent.
pub const GUARDIAN_LINK_CHANGED: &str =
    "effective consent ended: a guardian link with parental responsibility changed";
/// Pause reason when a changed date of birth ends effective consent.
pub const BIRTH_DATE_CHANGED: &str = "effective consent ended: the date of birth changed";

/// A named lifecycle transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `proposed → active`; needs effective consent.
    Activate,
    /// `active → paused`.
    Pause,
    /// `paused → active`; needs effective consent.
    Resume,
    /// `active | paused → ended`; sets `endDate` to today unless it is earlier.
    End,
    /// `proposed → cancelled`.
    Cancel,
}

impl Action {
    /// The states the transition starts from.
    pub fn from_states(self) -> &'static [&'static str] {
        match self {
            Action::Activate | Action::Cancel => &[PROPOSED],
            Action::Pause => &[ACTIVE],
            Action::Resume => &[PAUSED],
            Action::End => &[ACTIVE, PAUSED],
        }
    }

    /// The state it leads to.
    pub fn to_state(self) -> &'static str {
        match self {
            Action::Activate | Action::Resume => ACTIVE,
            Action::Pause => PAUSED,
            Action::End => ENDED,
            Action::Cancel => CANCELLED,
        }
    }

    /// The verb, for messages.
    pub fn verb(self) -> &'static str {
        match self {
            Action::Activate => "activate",
            Action::Pause => "pause",
            Action::Resume => "resume",
            Action::End => "end",
            Action::Cancel => "cancel",
        }
    }

    /// Whether the transition needs effective shareWithPartnerMentor consent.
    pub fn needs_consent(self) -> bool {
        matches!(self, Action::Activate | Action::Resume)
    }
}

/// Who writes mentorships.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Writer {
    /// programmeStaff or programmeAdmin.
    Programme,
    /// A partnerCoordinator or a partner's client, for this organisation.
    Partner(i64),
}

/// The caller as a mentorship writer: `UNAUTHENTICATED` without a token, `FORBIDDEN` for other
/// roles and for clients without `activities.write`.
fn writer(viewer: &Viewer) -> AppResult<(&Principal, Writer)> {
    let principal = access::principal(viewer)?;
    let writer = match Reach::of(viewer) {
        Reach::Programme => Writer::Programme,
        Reach::Partner { org, .. } => Writer::Partner(org),
        _ => return Err(AppError::Forbidden),
    };
    write::require_write_scope(principal, "activities.write")?;
    Ok((principal, writer))
}

/// The guard of a proposal, checked before any input is read: `UNAUTHENTICATED` or
/// `FORBIDDEN` for callers who may never propose.
pub fn authorize_proposal(viewer: &Viewer) -> AppResult<()> {
    writer(viewer).map(|_| ())
}

/// The guard of a transition, checked before any input is read: a partner proposes and may
/// cancel its proposals; the programme office runs the rest of the lifecycle.
pub fn authorize_transition(viewer: &Viewer, action: Action) -> AppResult<()> {
    match writer(viewer)? {
        (_, Writer::Partner(_)) if action != Action::Cancel => Err(AppError::Forbidden),
        _ => Ok(()),
    }
}

/// A mentorship to propose. References are sourcedIds.
#[derive(Clone, Debug)]
pub struct NewMentorship<'a> {
    pub mentor: &'a str,
    pub student: &'a str,
    pub partner_org: &'a str,
    pub pathway: &'a str,
    pub begin_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    /// `oneToOne` or `group`.
    pub format: &'static str,
    pub sourced_id: Option<&'a str>,
}

/// Role assignments of `role` in force today.
fn role_in_force(role: &str, today: NaiveDate) -> Condition {
    Condition::all()
        .add(role_assignment::Column::Role.eq(role))
        .add(role_assignment::Column::Status.eq(STATUS_ACTIVE))
        .add(role_assignment::Column::BeginDate.lte(today))
        .add(
            Condition::any()
                .add(role_assignment::Column::EndDate.is_null())
                .add(role_assignment::Column::EndDate.gt(today)),
        )
}

/// Proposes a mentorship (state `proposed`). A partner proposes only for its own organisation
/// (`FORBIDDEN` otherwise). Expected failures: `BAD_USER_INPUT` on `partnerOrganization`,
/// `pathway`, `mentor` (not an active mentor of the partner), `student` (no active student),
/// `endDate` or `sourcedId`; `DUPLICATE` when a live (proposed, active or paused) mentorship of
/// the same mentor, student and pathway exists, or the sourcedId is taken.
#[tracing::instrument(skip_all, fields(mentorship.partner = %new.partner_org))]
pub async fn propose(
    db: &DatabaseConnection,
    viewer: &Viewer,
    new: &NewMentorship<'_>,
) -> AppResult<mentorship::Model> {
    let (principal, writer) = writer(viewer)?;
    if let Writer::Partner(_) = writer
        && new.partner_org != principal.org_sourced_id
    {
        return Err(AppError::Forbidden);
    }
    let actor = Actor::of(principal);
    let sourced_id = write::new_sourced_id(new.sourced_id, "sourcedId")?;
    if let Some(end) = new.end_date
        && end <= new.begin_date
    {
        return Err(AppError::bad_input(
            "endDate",
            "`endDate` (exclusive) must be after `beginDate`",
        ));
    }
    let today = access::today();

    let txn = write::begin(db).await?;
    let partner = org::Entity::find()
        .filter(org::Column::SourcedId.eq(new.partner_org))
        .filter(org::Column::Status.eq(STATUS_ACTIVE))
        .filter(org::Column::OrgType.eq("industryPartner"))
        .one(&txn)
        .await?
        .ok_or_else(|| {
            AppError::bad_input(
                "partnerOrganization",
                format!("no active industry partner {:?}", new.partner_org),
            )
        })?;
    if let Writer::Partner(own) = writer
        && own != partner.id
    {
        return Err(AppError::Forbidden);
    }
    let pathway = pathway::Entity::find()
        .filter(pathway::Column::SourcedId.eq(new.pathway))
        .filter(pathway::Column::Status.eq(STATUS_ACTIVE))
        .one(&txn)
        .await?
        .ok_or_else(|| {
            AppError::bad_input("pathway", format!("no active pathway {:?}", new.pathway))
        })?;
    let mentor = person::Entity::find()
        .filter(person::Column::SourcedId.eq(new.mentor))
        .filter(person::Column::Status.eq(STATUS_ACTIVE))
        .one(&txn)
        .await?;
    let mentor = match mentor {
        Some(m)
            if role_assignment::Entity::find()
                .filter(role_in_force(Role::Mentor.as_str(), today))
                .filter(role_assignment::Column::PersonId.eq(m.id))
                .filter(role_assignment::Column::OrgId.eq(partner.id))
                .one(&txn)
                .await?
                .is_some() =>
        {
            m
        }
        _ => {
            return Err(AppError::bad_input(
                "mentor",
                format!(
                    "{:?} does not hold an active mentor role at {}",
                    new.mentor, partner.sourced_id
                ),
            ));
        }
    };
    let student = person::Entity::find()
        .filter(person::Column::SourcedId.eq(new.student))
        .filter(person::Column::Status.eq(STATUS_ACTIVE))
        .filter(
            person::Column::Id.in_subquery(
                Query::select()
                    .column(role_assignment::Column::PersonId)
                    .from(role_assignment::Entity)
                    .cond_where(role_in_force(Role::Student.as_str(), today))
                    .to_owned(),
            ),
        )
        .one(&txn)
        .await?
        .ok_or_else(|| {
            AppError::bad_input("student", format!("no active student {:?}", new.student))
        })?;
    if student.id == mentor.id {
        return Err(AppError::bad_input(
            "mentor",
            "a student cannot mentor themselves",
        ));
    }
    let live = mentorship::Entity::find()
        .filter(mentorship::Column::MentorId.eq(mentor.id))
        .filter(mentorship::Column::StudentId.eq(student.id))
        .filter(mentorship::Column::PathwayId.eq(pathway.id))
        .filter(mentorship::Column::Status.eq(STATUS_ACTIVE))
        .filter(mentorship::Column::State.is_in([PROPOSED, ACTIVE, PAUSED]))
        .one(&txn)
        .await?;
    if let Some(live) = live {
        return Err(write::duplicate(format!(
            "mentorship {} of this mentor, student and pathway is still {}",
            live.sourced_id, live.state
        )));
    }
    if mentorship::Entity::find()
        .filter(mentorship::Column::SourcedId.eq(sourced_id.as_str()))
        .one(&txn)
        .await?
        .is_some()
    {
        return Err(write::duplicate(format!(
            "a Mentorship with sourcedId {sourced_id} already exists"
        )));
    }

    let now = changes::now();
    let row = mentorship::ActiveModel {
        sourced_id: Set(sourced_id),
        status: Set(STATUS_ACTIVE.to_owned()),
        date_created: Set(now),
        date_last_modified: Set(now),
        version: Set(1),
        metadata: Set(None),
        created_by: Set(Some(actor.subject.clone())),
        modified_by: Set(Some(actor.subject.clone())),
        mentor_id: Set(mentor.id),
        student_id: Set(student.id),
        partner_org_id: Set(partner.id),
        pathway_id: Set(pathway.id),
        begin_date: Set(new.begin_date),
        end_date: Set(new.end_date),
        format: Set(new.format.to_owned()),
        state: Set(PROPOSED.to_owned()),
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
            to: PROPOSED,
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
    tracing::info!(mentorship.sourced_id = %row.sourced_id, "mentorship proposed");
    Ok(row)
}

/// Applies a lifecycle transition. Expected failures: `VERSION_CONFLICT` (stale
/// `expectedVersion`), `INVALID_TRANSITION` (not allowed from the current state, or consent
/// missing for activation and resumption), `BAD_USER_INPUT` on `reason`. A mentorship the caller
/// may not see is `NOT_FOUND`; a role that may not make the transition is `FORBIDDEN`.
#[tracing::instrument(skip_all, fields(mentorship.sourced_id = %sourced_id, mentorship.action = action.verb()))]
pub async fn transition(
    db: &DatabaseConnection,
    viewer: &Viewer,
    action: Action,
    sourced_id: &str,
    expected_version: Option<i32>,
    reason: Option<&str>,
) -> AppResult<mentorship::Model> {
    authorize_transition(viewer, action)?;
    let (principal, _) = writer(viewer)?;
    let actor = Actor::of(principal);
    let reason = write::reason(reason)?;
    let scope = mentorship::Entity::scope(viewer)?;

    let txn = write::begin(db).await?;
    let current = mentorship::Entity::find()
        .filter(mentorship::Column::SourcedId.eq(sourced_id))
        .filter(scope)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::NotFound("mentorship".into()))?;
    write::check_expected_version(TYPE_NAME, sourced_id, current.version, expected_version)?;
    if current.status != STATUS_ACTIVE {
        return Err(write::invalid_transition(format!(
            "mentorship {sourced_id} is deleted"
        )));
    }
    if !action.from_states().contains(&current.state.as_str()) {
        return Err(write::invalid_transition(format!(
            "cannot {} mentorship {sourced_id}: it is {}, and only a {} mentorship can be {}",
            action.verb(),
            current.state,
            action.from_states().join(" or "),
            past_tense(action),
        )));
    }
    let today = access::today();
    if action.needs_consent()
        && !consents::is_effective(
            &txn,
            current.student_id,
            access::SHARE_WITH_PARTNER_MENTOR,
            current.partner_org_id,
            today,
        )
        .await?
    {
        return Err(write::invalid_transition(format!(
            "cannot {} mentorship {sourced_id}: effective shareWithPartnerMentor consent for the \
             partner is missing (the student's own consent and, for a student under 18 or without \
             a known birth date, a consent from a guardian with parental responsibility)",
            action.verb()
        )));
    }

    let now = changes::now();
    let to = action.to_state();
    let mut set = vec![(mentorship::Column::State, Expr::value(to))];
    let mut end_date = current.end_date;
    if action == Action::End {
        let end = today.max(current.begin_date);
        if current.end_date.is_none_or(|e| e > end) {
            end_date = Some(end);
            set.push((mentorship::Column::EndDate, Expr::value(end)));
        }
    }
    let version = write::update_versioned::<mentorship::Entity>(
        &txn,
        VersionedUpdate {
            type_name: TYPE_NAME,
            sourced_id: current.sourced_id.clone(),
            id: current.id,
            version: current.version,
            guard: Some(Expr::col(mentorship::Column::State).eq(current.state.as_str())),
            set,
        },
        &actor,
        now,
    )
    .await?;
    write::transitioned(
        &txn,
        Transition {
            entity_type: TYPE_NAME,
            entity_id: current.id,
            from: Some(&current.state),
            to,
            reason: reason.as_deref(),
        },
        &current.sourced_id,
        version,
        &actor,
        now,
    )
    .await?;
    txn.commit().await?;
    tracing::info!(mentorship.state = to, "mentorship transition");
    Ok(mentorship::Model {
        state: to.to_owned(),
        end_date,
        version,
        date_last_modified: now,
        modified_by: Some(actor.subject),
        ..current
    })
}

fn past_tense(action: Action) -> &'static str {
    match action {
        Action::Activate => "activated",
        Action::Pause => "paused",
        Action::Resume => "resumed",
        Action::End => "ended",
        Action::Cancel => "cancelled",
    }
}

/// Pauses every active mentorship of `student` with `partner` once effective consent is gone, in
/// the transaction of the write that ended it: one `UPDATE … RETURNING`, a StatusHistory row each
/// with `reason` ([`CONSENT_WITHDRAWN`], [`GUARDIAN_LINK_CHANGED`], [`BIRTH_DATE_CHANGED`]).
/// Returns the paused rows and their change events, for the caller to emit with its own.
pub async fn pause_for_lost_consent(
    txn: &DatabaseTransaction,
    student: i64,
    partner: i64,
    reason: &'static str,
    actor: &Actor,
    at: DateTime<Utc>,
) -> AppResult<(Vec<mentorship::Model>, Vec<Change>)> {
    let mut statement = mentorship::Entity::update_many()
        .col_expr(mentorship::Column::State, Expr::value(PAUSED))
        .col_expr(
            mentorship::Column::Version,
            Expr::col(mentorship::Column::Version).add(1),
        )
        .col_expr(mentorship::Column::DateLastModified, Expr::value(at))
        .col_expr(
            mentorship::Column::ModifiedBy,
            Expr::value(actor.subject.clone()),
        )
        .filter(mentorship::Column::StudentId.eq(student))
        .filter(mentorship::Column::PartnerOrgId.eq(partner))
        .filter(mentorship::Column::State.eq(ACTIVE))
        .filter(mentorship::Column::Status.eq(STATUS_ACTIVE))
        .into_query();
    statement.returning_all();
    let statement = txn.get_database_backend().build(&statement);
    let mut paused = mentorship::Entity::find()
        .from_raw_sql(statement)
        .all(txn)
        .await?;
    paused.sort_by_key(|m| m.id);
    let mut events = Vec::with_capacity(paused.len());
    for row in &paused {
        write::record_transition(
            txn,
            Transition {
                entity_type: TYPE_NAME,
                entity_id: row.id,
                from: Some(ACTIVE),
                to: PAUSED,
                reason: Some(reason),
            },
            actor,
            at,
        )
        .await?;
        events.push(write::change(
            TYPE_NAME,
            row.id,
            &row.sourced_id,
            changes::UPDATE,
            row.version,
        ));
    }
    Ok((paused, events))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifecycle_matches_the_domain() {
        assert_eq!(Action::Activate.from_states(), &[PROPOSED]);
        assert_eq!(Action::End.from_states(), &[ACTIVE, PAUSED]);
        assert_eq!(Action::Resume.to_state(), ACTIVE);
        assert_eq!(Action::Cancel.to_state(), CANCELLED);
        assert!(Action::Activate.needs_consent() && Action::Resume.needs_consent());
        assert!(!Action::Pause.needs_consent() && !Action::End.needs_consent());
        // Terminal states lead nowhere.
        for action in [
            Action::Activate,
            Action::Pause,
            Action::Resume,
            Action::End,
            Action::Cancel,
        ] {
            assert!(!action.from_states().contains(&ENDED));
            assert!(!action.from_states().contains(&CANCELLED));
        }
    }
}
