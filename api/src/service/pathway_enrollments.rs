//! Pathway enrolments (DOMAIN.md area B, \[CORE lifecycle\]): creation (`new → applied`),
//! updates of the non-state fields, tombstone deletes, one named transition per row of the
//! lifecycle table, `advanceStage`, and the bulk upsert of school systems.
//!
//! **Who** (programmeAdmin may do everything):
//! - create (`new → applied`): programmeStaff, a schoolCoordinator of the entry school, or the
//!   school's client holding `enrollment.write`;
//! - offer, reject (`applied → not_admitted`), completeSecondary, articulate, complete:
//!   programmeStaff;
//! - decline, enrol, hold, resume, withdraw from `applied | offered`: programmeStaff or a
//!   schoolCoordinator (school client);
//! - exit, and withdraw from `enrolled | on_hold | articulated`: programmeStaff, and a
//!   schoolCoordinator while the current stage is senior-secondary (S4–S6);
//! - advanceStage: programmeStaff, and a schoolCoordinator in S4–S6; a jump to another
//!   entry-point stage only programmeAdmin, with a reason;
//! - update: the same writers as create; delete: programmeStaff.
//!
//! A school writer acts on the enrolments of students active at its school (its read scope):
//! any other enrolment is `NOT_FOUND`. Integration clients need `enrollment.write`.
//!
//! Every accepted transition and stage change appends StatusHistory (who, client, when, why)
//! and a change event in the writing transaction; the `UPDATE` carries the state it starts from
//! (and the stage, for a stage change) in its `WHERE`, so a refused or raced transition writes
//! nothing. Guards that need records of issue 6 (AplOutcome, ArticulationApplication) refuse
//! with `INVALID_TRANSITION` naming the missing record kind.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    STATUS_ACTIVE, cohort, course, course_enrollment, course_offering, org, pathway,
    pathway_enrollment, pathway_stage, person, stage_course, status_history,
};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use super::upsert::{self, ExternalKey, Outcome};
use super::write::{self, Actor, VersionedUpdate};
use crate::access::{self, Reach, Scoped};
use crate::auth::{Principal, Role, Viewer};
use crate::changes::{self, Change};
use crate::error::{AppError, AppResult};

/// GraphQL type name of pathway enrolments (history, change events, external ids).
pub const TYPE_NAME: &str = "PathwayEnrollment";

/// The write scope an integration client needs.
pub const WRITE_SCOPE: &str = "enrollment.write";

/// Lifecycle states, as stored.
pub const APPLIED: &str = "applied";
pub const OFFERED: &str = "offered";
pub const NOT_ADMITTED: &str = "not_admitted";
pub const DECLINED: &str = "declined";
pub const ENROLLED: &str = "enrolled";
pub const ON_HOLD: &str = "on_hold";
pub const SECONDARY_COMPLETED: &str = "secondary_completed";
pub const ARTICULATED: &str = "articulated";
pub const COMPLETED: &str = "completed";
pub const EXITED: &str = "exited";
pub const WITHDRAWN: &str = "withdrawn";

/// States that end an enrolment (they set `endDate`).
pub const TERMINAL: [&str; 5] = [NOT_ADMITTED, DECLINED, COMPLETED, EXITED, WITHDRAWN];
/// States of a live enrolment: a student has at most one per pathway.
pub const NON_TERMINAL: [&str; 6] = [
    APPLIED,
    OFFERED,
    ENROLLED,
    ON_HOLD,
    SECONDARY_COMPLETED,
    ARTICULATED,
];
/// States programmeStaff may delete: the enrolment never began (programmeAdmin may delete any).
pub const DELETABLE: [&str; 4] = [APPLIED, OFFERED, NOT_ADMITTED, DECLINED];

/// The exitReason vocabulary (DOMAIN.md area B).
pub const EXIT_REASONS: [&str; 7] = [
    "toOtherStudy",
    "toEmployment",
    "transferredSchool",
    "withdrewByChoice",
    "notMeetingRequirements",
    "leftHongKong",
    "other",
];

/// Stage levels.
pub const SENIOR_SECONDARY: &str = "seniorSecondary";
pub const SUB_DEGREE: &str = "subDegree";

/// Largest metadata object, serialised (DOMAIN.md section 2).
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// A named transition of the lifecycle table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `applied → offered`.
    Offer,
    /// `applied → not_admitted`.
    Reject,
    /// `offered → declined`.
    Decline,
    /// `offered → enrolled`; senior-secondary entry stage; sets currentStage.
    Enrol,
    /// `enrolled → on_hold`, with a reason.
    Hold,
    /// `on_hold → enrolled`, with a reason.
    Resume,
    /// `enrolled → secondary_completed`, at the last senior-secondary stage.
    CompleteSecondary,
    /// `offered | secondary_completed → articulated`.
    Articulate,
    /// `articulated → completed`, at the last stage.
    Complete,
    /// `enrolled | on_hold | secondary_completed | articulated → exited`, at an exit point.
    Exit,
    /// `applied | offered | enrolled | on_hold | articulated → withdrawn`.
    Withdraw,
}

impl Action {
    pub const ALL: [Action; 11] = [
        Action::Offer,
        Action::Reject,
        Action::Decline,
        Action::Enrol,
        Action::Hold,
        Action::Resume,
        Action::CompleteSecondary,
        Action::Articulate,
        Action::Complete,
        Action::Exit,
        Action::Withdraw,
    ];

    /// The states the transition starts from.
    pub fn from_states(self) -> &'static [&'static str] {
        match self {
            Action::Offer | Action::Reject => &[APPLIED],
            Action::Decline | Action::Enrol => &[OFFERED],
            Action::Hold | Action::CompleteSecondary => &[ENROLLED],
            Action::Resume => &[ON_HOLD],
            Action::Articulate => &[OFFERED, SECONDARY_COMPLETED],
            Action::Complete => &[ARTICULATED],
            Action::Exit => &[ENROLLED, ON_HOLD, SECONDARY_COMPLETED, ARTICULATED],
            Action::Withdraw => &[APPLIED, OFFERED, ENROLLED, ON_HOLD, ARTICULATED],
        }
    }

    /// The state it leads to.
    pub fn to_state(self) -> &'static str {
        match self {
            Action::Offer => OFFERED,
            Action::Reject => NOT_ADMITTED,
            Action::Decline => DECLINED,
            Action::Enrol | Action::Resume => ENROLLED,
            Action::Hold => ON_HOLD,
            Action::CompleteSecondary => SECONDARY_COMPLETED,
            Action::Articulate => ARTICULATED,
            Action::Complete => COMPLETED,
            Action::Exit => EXITED,
            Action::Withdraw => WITHDRAWN,
        }
    }

    /// The verb, for messages.
    pub fn verb(self) -> &'static str {
        match self {
            Action::Offer => "offer a place on",
            Action::Reject => "reject",
            Action::Decline => "decline",
            Action::Enrol => "enrol",
            Action::Hold => "hold",
            Action::Resume => "resume",
            Action::CompleteSecondary => "complete the secondary stages of",
            Action::Articulate => "articulate",
            Action::Complete => "complete",
            Action::Exit => "exit",
            Action::Withdraw => "withdraw",
        }
    }

    /// Whether a schoolCoordinator (or school client) may make the transition at all.
    pub fn school_may(self) -> bool {
        matches!(
            self,
            Action::Decline
                | Action::Enrol
                | Action::Hold
                | Action::Resume
                | Action::Exit
                | Action::Withdraw
        )
    }

    /// Whether a school may make it from `from` only while the current stage is
    /// senior-secondary ("schoolCoordinator in S4–S6").
    fn school_needs_secondary_stage(self, from: &str) -> bool {
        match self {
            Action::Exit => true,
            Action::Withdraw => matches!(from, ENROLLED | ON_HOLD | ARTICULATED),
            _ => false,
        }
    }

    /// Whether the transition needs a reason.
    pub fn needs_reason(self) -> bool {
        matches!(self, Action::Hold | Action::Resume)
    }

    /// Whether the transition needs an exitReason.
    pub fn needs_exit_reason(self) -> bool {
        matches!(self, Action::Exit | Action::Withdraw)
    }

    /// Whether it ends the enrolment (sets `endDate`).
    pub fn is_terminal(self) -> bool {
        TERMINAL.contains(&self.to_state())
    }
}

/// Who writes pathway enrolments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writer {
    /// programmeAdmin: every transition, any deletion, stage jumps.
    Admin,
    /// programmeStaff (or the programme office's client).
    Staff,
    /// A schoolCoordinator or the school's client, for this school.
    School(i64),
}

impl Writer {
    fn is_programme(self) -> bool {
        matches!(self, Writer::Admin | Writer::Staff)
    }
}

/// The caller as a writer: `UNAUTHENTICATED` without a token; `FORBIDDEN` for teachers,
/// partners, mentors, students, guardians, evaluators and other roles, and for clients without
/// `enrollment.write`.
pub fn writer(viewer: &Viewer) -> AppResult<(&Principal, Writer)> {
    let principal = access::principal(viewer)?;
    let writer = match Reach::of(viewer) {
        Reach::Programme if principal.roles.contains(&Role::ProgrammeAdmin) => Writer::Admin,
        Reach::Programme => Writer::Staff,
        Reach::Schools {
            schools,
            teacher: None,
        } => match schools.first() {
            Some(school) => Writer::School(*school),
            None => return Err(AppError::Forbidden),
        },
        _ => return Err(AppError::Forbidden),
    };
    write::require_write_scope(principal, WRITE_SCOPE)?;
    Ok((principal, writer))
}

/// The guard of a transition, checked before any input is read.
pub fn authorize_transition(viewer: &Viewer, action: Action) -> AppResult<()> {
    match writer(viewer)? {
        (_, Writer::School(_)) if !action.school_may() => Err(AppError::Forbidden),
        _ => Ok(()),
    }
}

/// The guard of a deletion: programmeStaff and programmeAdmin.
pub fn authorize_delete(viewer: &Viewer) -> AppResult<()> {
    match writer(viewer)? {
        (_, w) if w.is_programme() => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

pub use super::write::Patch;

/// Checks a metadata value: a JSON object of at most 16 KB serialised.
pub fn check_metadata(value: &serde_json::Value, field: &str) -> AppResult<()> {
    write::check_metadata(value, field)
}

/// The end date a terminal transition sets: today (Hong Kong), or the begin date when the
/// enrolment had not begun yet (an empty span; `endDate` is exclusive).
fn end_date_for(begin: NaiveDate) -> NaiveDate {
    access::today().max(begin)
}

/// Appends one StatusHistory row (a transition, a stage change, or both).
async fn record_history(
    db: &impl ConnectionTrait,
    entity_id: i64,
    from: Option<&str>,
    to: &str,
    from_stage: Option<&str>,
    to_stage: Option<&str>,
    reason: Option<&str>,
    actor: &Actor,
    at: DateTime<Utc>,
) -> AppResult<()> {
    status_history::Entity::insert(history_row(
        entity_id, from, to, from_stage, to_stage, reason, actor, at,
    ))
    .exec_without_returning(db)
    .await?;
    Ok(())
}

fn history_row(
    entity_id: i64,
    from: Option<&str>,
    to: &str,
    from_stage: Option<&str>,
    to_stage: Option<&str>,
    reason: Option<&str>,
    actor: &Actor,
    at: DateTime<Utc>,
) -> status_history::ActiveModel {
    status_history::ActiveModel {
        entity_type: Set(TYPE_NAME.to_owned()),
        entity_id: Set(entity_id),
        from_state: Set(from.map(str::to_owned)),
        to_state: Set(to.to_owned()),
        from_stage: Set(from_stage.map(str::to_owned)),
        to_stage: Set(to_stage.map(str::to_owned)),
        reason: Set(reason.map(str::to_owned)),
        at: Set(at),
        actor: Set(Some(actor.subject.clone())),
        client_id: Set(actor.client_id.clone()),
        ..Default::default()
    }
}

/// The active stages of a pathway, by seq.
async fn stages_of(
    db: &impl ConnectionTrait,
    pathway: i64,
) -> AppResult<Vec<pathway_stage::Model>> {
    Ok(pathway_stage::Entity::find()
        .filter(pathway_stage::Column::PathwayId.eq(pathway))
        .filter(pathway_stage::Column::Status.eq(STATUS_ACTIVE))
        .order_by_asc(pathway_stage::Column::Seq)
        .all(db)
        .await?)
}

/// Whether `student` holds a student role at `school` in force today.
async fn active_student_at(
    db: &impl ConnectionTrait,
    student: i64,
    school: i64,
) -> AppResult<bool> {
    Ok(person::Entity::find()
        .filter(person::Column::Id.eq(student))
        .filter(person::Column::Id.in_subquery(access::students_at(&[school])))
        .count(db)
        .await?
        > 0)
}

/// The enrolment `sourced_id` within the caller's scope, or `NOT_FOUND`.
async fn find_in_scope(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    sourced_id: &str,
) -> AppResult<pathway_enrollment::Model> {
    pathway_enrollment::Entity::find()
        .filter(pathway_enrollment::Column::SourcedId.eq(sourced_id))
        .filter(pathway_enrollment::Entity::scope(viewer)?)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("pathway enrollment".into()))
}

/// The update event of a row.
fn update_event(row: &pathway_enrollment::Model, version: i32) -> Change {
    write::change(TYPE_NAME, row.id, &row.sourced_id, changes::UPDATE, version)
}

// ---------------------------------------------------------------------------------------------
// Create

/// A pathway enrolment to create (`new → applied`). References are sourcedIds.
#[derive(Clone, Debug)]
pub struct NewPathwayEnrollment<'a> {
    pub student: &'a str,
    pub pathway: &'a str,
    pub cohort: &'a str,
    /// The entry school; a school writer's own school when omitted (required for the programme
    /// office).
    pub entry_school: Option<&'a str>,
    pub entry_stage: &'a str,
    pub begin_date: NaiveDate,
    pub metadata: Option<serde_json::Value>,
    pub sourced_id: Option<&'a str>,
}

/// The references of a new enrolment, resolved and checked.
struct Resolved {
    student: i64,
    pathway: i64,
    cohort: i64,
    entry_school: i64,
    entry_stage: i64,
}

/// Resolves the entry school of a writer: a school writer's own school (naming another is
/// `FORBIDDEN`), or the named active secondary school for the programme office.
async fn entry_school(
    db: &impl ConnectionTrait,
    writer: Writer,
    given: Option<&str>,
    field: &str,
) -> AppResult<i64> {
    let found = match given {
        Some(sid) => org::Entity::find()
            .filter(org::Column::SourcedId.eq(sid))
            .filter(org::Column::Status.eq(STATUS_ACTIVE))
            .filter(org::Column::OrgType.eq("secondarySchool"))
            .one(db)
            .await?
            .map(|o| o.id)
            .ok_or_else(|| {
                AppError::bad_input(field, format!("no active secondary school {sid:?}"))
            })?,
        None => match writer {
            Writer::School(own) => own,
            _ => {
                return Err(AppError::bad_input(
                    field,
                    format!("`{field}` is required for the programme office"),
                ));
            }
        },
    };
    match writer {
        Writer::School(own) if own != found => Err(AppError::Forbidden),
        _ => Ok(found),
    }
}

/// Checks the references of a new enrolment in the writing transaction.
async fn resolve_new(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    writer: Writer,
    new: &NewPathwayEnrollment<'_>,
) -> AppResult<Resolved> {
    let school = entry_school(db, writer, new.entry_school, "entrySchool").await?;
    let student = person::Entity::find()
        .filter(person::Column::SourcedId.eq(new.student))
        .filter(person::Column::Status.eq(STATUS_ACTIVE))
        .filter(person::Entity::scope(viewer)?)
        .one(db)
        .await?
        .ok_or_else(|| AppError::bad_input("student", format!("no student {:?}", new.student)))?;
    let pathway = pathway::Entity::find()
        .filter(pathway::Column::SourcedId.eq(new.pathway))
        .filter(pathway::Column::Status.eq(STATUS_ACTIVE))
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::bad_input("pathway", format!("no active pathway {:?}", new.pathway))
        })?;
    let cohort = cohort::Entity::find()
        .filter(cohort::Column::SourcedId.eq(new.cohort))
        .filter(cohort::Column::Status.eq(STATUS_ACTIVE))
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::bad_input("cohort", format!("no active cohort {:?}", new.cohort))
        })?;
    if cohort.pathway_id != pathway.id {
        return Err(AppError::bad_input(
            "cohort",
            format!(
                "cohort {} belongs to another pathway than {}",
                cohort.sourced_id, pathway.sourced_id
            ),
        ));
    }
    let stage = pathway_stage::Entity::find()
        .filter(pathway_stage::Column::SourcedId.eq(new.entry_stage))
        .filter(pathway_stage::Column::Status.eq(STATUS_ACTIVE))
        .one(db)
        .await?
        .filter(|s| s.pathway_id == pathway.id)
        .ok_or_else(|| {
            AppError::bad_input(
                "entryStage",
                format!(
                    "no active stage {:?} of pathway {}",
                    new.entry_stage, pathway.sourced_id
                ),
            )
        })?;
    guard_new(
        db,
        student.id,
        &student.sourced_id,
        school,
        &stage,
        pathway.id,
    )
    .await?;
    Ok(Resolved {
        student: student.id,
        pathway: pathway.id,
        cohort: cohort.id,
        entry_school: school,
        entry_stage: stage.id,
    })
}

/// The guards of `new → applied`: the student is active at the entry school, the entry stage
/// is an entry point, and the student has no live enrolment in the pathway.
async fn guard_new(
    db: &impl ConnectionTrait,
    student: i64,
    student_sid: &str,
    school: i64,
    stage: &pathway_stage::Model,
    pathway: i64,
) -> AppResult<()> {
    if !active_student_at(db, student, school).await? {
        return Err(write::invalid_transition(format!(
            "cannot apply: {student_sid} is not an active student of the entry school"
        )));
    }
    if !stage.is_entry_point {
        return Err(write::invalid_transition(format!(
            "cannot apply: stage {} is not an entry point of the pathway",
            stage.code
        )));
    }
    let live = pathway_enrollment::Entity::find()
        .filter(pathway_enrollment::Column::StudentId.eq(student))
        .filter(pathway_enrollment::Column::PathwayId.eq(pathway))
        .filter(pathway_enrollment::Column::Status.eq(STATUS_ACTIVE))
        .filter(pathway_enrollment::Column::State.is_in(NON_TERMINAL))
        .one(db)
        .await?;
    if let Some(live) = live {
        return Err(write::duplicate(format!(
            "{student_sid} already has a live enrolment in this pathway ({}, {})",
            live.sourced_id, live.state
        )));
    }
    Ok(())
}

/// Creates an enrolment in state `applied` (`new → applied`), with its StatusHistory row and a
/// create event. Expected failures: `BAD_USER_INPUT` on `student`, `pathway`, `cohort`,
/// `entryStage`, `entrySchool`, `metadata`, `sourcedId`; `INVALID_TRANSITION` when the student
/// is not active at the entry school or the entry stage is not an entry point; `DUPLICATE` for
/// a live enrolment of the student in the pathway, or a taken sourcedId.
#[tracing::instrument(skip_all, fields(pathway_enrollment.pathway = %new.pathway))]
pub async fn create(
    db: &DatabaseConnection,
    viewer: &Viewer,
    new: &NewPathwayEnrollment<'_>,
) -> AppResult<pathway_enrollment::Model> {
    let (principal, writer) = writer(viewer)?;
    let actor = Actor::of(principal);
    let sourced_id = write::new_sourced_id(new.sourced_id, "sourcedId")?;
    if let Some(metadata) = &new.metadata {
        check_metadata(metadata, "metadata")?;
    }

    let txn = write::begin(db).await?;
    let refs = resolve_new(&txn, viewer, writer, new).await?;
    if pathway_enrollment::Entity::find()
        .filter(pathway_enrollment::Column::SourcedId.eq(sourced_id.as_str()))
        .count(&txn)
        .await?
        > 0
    {
        return Err(write::duplicate(format!(
            "a PathwayEnrollment with sourcedId {sourced_id} already exists"
        )));
    }
    let now = changes::now();
    let row = new_row(
        &sourced_id,
        &refs,
        new.begin_date,
        new.metadata.clone(),
        &actor,
        now,
    )
    .insert(&txn)
    .await?;
    record_history(&txn, row.id, None, APPLIED, None, None, None, &actor, now).await?;
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
    tracing::info!(pathway_enrollment.sourced_id = %row.sourced_id, "pathway enrolment applied");
    Ok(row)
}

fn new_row(
    sourced_id: &str,
    refs: &Resolved,
    begin_date: NaiveDate,
    metadata: Option<serde_json::Value>,
    actor: &Actor,
    at: DateTime<Utc>,
) -> pathway_enrollment::ActiveModel {
    pathway_enrollment::ActiveModel {
        sourced_id: Set(sourced_id.to_owned()),
        status: Set(STATUS_ACTIVE.to_owned()),
        date_created: Set(at),
        date_last_modified: Set(at),
        version: Set(1),
        metadata: Set(metadata),
        created_by: Set(Some(actor.subject.clone())),
        modified_by: Set(Some(actor.subject.clone())),
        student_id: Set(refs.student),
        pathway_id: Set(refs.pathway),
        cohort_id: Set(refs.cohort),
        entry_school_id: Set(refs.entry_school),
        entry_stage_id: Set(refs.entry_stage),
        current_stage_id: Set(None),
        begin_date: Set(begin_date),
        end_date: Set(None),
        state: Set(APPLIED.to_owned()),
        exit_reason: Set(None),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Update and delete

/// Changes to the non-state fields. `state`, stages, student, pathway and entry school never
/// change here.
#[derive(Clone, Debug, Default)]
pub struct EnrollmentChanges<'a> {
    /// Another cohort of the same pathway; only while `applied` or `offered`.
    pub cohort: Option<&'a str>,
    /// Another begin date; only while `applied`.
    pub begin_date: Option<NaiveDate>,
    pub metadata: Patch<serde_json::Value>,
}

/// The column changes `changes` makes to `row` (empty when it already holds those values).
/// `cohort` is the resolved cohort id.
fn diff(
    row: &pathway_enrollment::Model,
    cohort: Option<i64>,
    begin_date: Option<NaiveDate>,
    metadata: &Patch<serde_json::Value>,
    field_prefix: &str,
) -> AppResult<Vec<(pathway_enrollment::Column, sea_orm::sea_query::SimpleExpr)>> {
    let mut set = Vec::new();
    if let Some(cohort) = cohort
        && cohort != row.cohort_id
    {
        if !matches!(row.state.as_str(), APPLIED | OFFERED) {
            return Err(write::invalid_transition(format!(
                "the cohort of pathway enrolment {} can change only while it is applied or \
                 offered; it is {}",
                row.sourced_id, row.state
            )));
        }
        set.push((pathway_enrollment::Column::CohortId, Expr::value(cohort)));
    }
    if let Some(begin) = begin_date
        && begin != row.begin_date
    {
        if row.state != APPLIED {
            return Err(write::invalid_transition(format!(
                "the begin date of pathway enrolment {} can change only while it is applied; it \
                 is {}",
                row.sourced_id, row.state
            )));
        }
        set.push((pathway_enrollment::Column::BeginDate, Expr::value(begin)));
    }
    match metadata {
        Patch::Unchanged => {}
        Patch::Clear if row.metadata.is_none() => {}
        Patch::Clear => set.push((
            pathway_enrollment::Column::Metadata,
            Expr::value(Option::<serde_json::Value>::None),
        )),
        Patch::Set(value) => {
            check_metadata(value, &format!("{field_prefix}metadata"))?;
            if row.metadata.as_ref() != Some(value) {
                set.push((
                    pathway_enrollment::Column::Metadata,
                    Expr::value(value.clone()),
                ));
            }
        }
    }
    Ok(set)
}

/// Applies `changes` to a row read in this transaction and returns the new row.
fn applied(
    mut row: pathway_enrollment::Model,
    cohort: Option<i64>,
    begin_date: Option<NaiveDate>,
    metadata: &Patch<serde_json::Value>,
) -> pathway_enrollment::Model {
    if let Some(c) = cohort {
        row.cohort_id = c;
    }
    if let Some(b) = begin_date {
        row.begin_date = b;
    }
    match metadata {
        Patch::Unchanged => {}
        Patch::Clear => row.metadata = None,
        Patch::Set(v) => row.metadata = Some(v.clone()),
    }
    row
}

/// Updates the non-state fields. A change equal to the stored values writes nothing (no
/// version bump, no event). Expected failures: `VERSION_CONFLICT`, `BAD_USER_INPUT` on `cohort`
/// (unknown or of another pathway) and `metadata`, `INVALID_TRANSITION` for a deleted enrolment
/// or a field the state no longer allows to change.
#[tracing::instrument(skip_all, fields(pathway_enrollment.sourced_id = %sourced_id))]
pub async fn update(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: &str,
    expected_version: Option<i32>,
    changes: &EnrollmentChanges<'_>,
) -> AppResult<pathway_enrollment::Model> {
    let (principal, _) = writer(viewer)?;
    let actor = Actor::of(principal);
    if let Patch::Set(value) = &changes.metadata {
        check_metadata(value, "metadata")?;
    }
    let txn = write::begin(db).await?;
    let current = find_in_scope(&txn, viewer, sourced_id).await?;
    write::check_expected_version(TYPE_NAME, sourced_id, current.version, expected_version)?;
    if current.status != STATUS_ACTIVE {
        return Err(write::invalid_transition(format!(
            "pathway enrolment {sourced_id} is deleted"
        )));
    }
    let cohort = match changes.cohort {
        None => None,
        Some(sid) => Some(
            cohort::Entity::find()
                .filter(cohort::Column::SourcedId.eq(sid))
                .filter(cohort::Column::Status.eq(STATUS_ACTIVE))
                .one(&txn)
                .await?
                .filter(|c| c.pathway_id == current.pathway_id)
                .ok_or_else(|| {
                    AppError::bad_input(
                        "cohort",
                        format!("no active cohort {sid:?} of the enrolment's pathway"),
                    )
                })?
                .id,
        ),
    };
    let set = diff(&current, cohort, changes.begin_date, &changes.metadata, "")?;
    if set.is_empty() {
        return Ok(current);
    }
    let now = changes::now();
    let version = write::update_versioned::<pathway_enrollment::Entity>(
        &txn,
        VersionedUpdate {
            type_name: TYPE_NAME,
            sourced_id: current.sourced_id.clone(),
            id: current.id,
            version: current.version,
            guard: Some(Expr::col(pathway_enrollment::Column::State).eq(current.state.as_str())),
            set,
        },
        &actor,
        now,
    )
    .await?;
    write::emit(&txn, &[update_event(&current, version)], now).await?;
    txn.commit().await?;
    let row = applied(current, cohort, changes.begin_date, &changes.metadata);
    Ok(pathway_enrollment::Model {
        version,
        date_last_modified: now,
        modified_by: Some(actor.subject),
        ..row
    })
}

/// Deletes an enrolment as a tombstone (status `tobedeleted`, a delete event). programmeStaff
/// may delete an enrolment that never began (applied, offered, not_admitted, declined);
/// programmeAdmin any. Expected failures: `VERSION_CONFLICT`, `INVALID_TRANSITION` (already
/// deleted, or a state staff may not delete).
#[tracing::instrument(skip_all, fields(pathway_enrollment.sourced_id = %sourced_id))]
pub async fn delete(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: &str,
    expected_version: Option<i32>,
) -> AppResult<pathway_enrollment::Model> {
    authorize_delete(viewer)?;
    let (principal, writer) = writer(viewer)?;
    let actor = Actor::of(principal);
    let txn = write::begin(db).await?;
    let current = find_in_scope(&txn, viewer, sourced_id).await?;
    write::check_expected_version(TYPE_NAME, sourced_id, current.version, expected_version)?;
    if current.status != STATUS_ACTIVE {
        return Err(write::invalid_transition(format!(
            "PathwayEnrollment {sourced_id} is already deleted"
        )));
    }
    if writer == Writer::Staff && !DELETABLE.contains(&current.state.as_str()) {
        return Err(write::invalid_transition(format!(
            "pathway enrolment {sourced_id} is {}; programme staff may delete only an enrolment \
             that never began ({}); withdraw or exit it instead",
            current.state,
            DELETABLE.join(", ")
        )));
    }
    let now = changes::now();
    let version = write::tombstone::<pathway_enrollment::Entity>(
        &txn,
        TYPE_NAME,
        current.id,
        &current.sourced_id,
        current.version,
        &actor,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(pathway_enrollment::Model {
        status: entity::STATUS_TOBEDELETED.to_owned(),
        version,
        date_last_modified: now,
        modified_by: Some(actor.subject),
        ..current
    })
}

// ---------------------------------------------------------------------------------------------
// Transitions

/// One transition request.
#[derive(Clone, Debug)]
pub struct TransitionRequest<'a> {
    pub sourced_id: &'a str,
    pub expected_version: Option<i32>,
    pub reason: Option<&'a str>,
    /// exitReason (stored vocabulary) for exit and withdraw.
    pub exit_reason: Option<&'a str>,
}

/// The stage a stage-dependent check looks at.
fn stage_by_id(stages: &[pathway_stage::Model], id: Option<i64>) -> Option<&pathway_stage::Model> {
    id.and_then(|id| stages.iter().find(|s| s.id == id))
}

/// Whether the student has a completed Higher Diploma course enrolment: an active student
/// enrolment in state completed, in an offering of a `higherDiploma` course that is a stage
/// course of this pathway.
async fn has_completed_hd(
    db: &impl ConnectionTrait,
    student: i64,
    stages: &[pathway_stage::Model],
) -> AppResult<bool> {
    let stage_ids: Vec<i64> = stages.iter().map(|s| s.id).collect();
    let hd_courses = Query::select()
        .column(course::Column::Id)
        .from(course::Entity)
        .and_where(course::Column::CourseKind.eq("higherDiploma"))
        .and_where(course::Column::Status.eq(STATUS_ACTIVE))
        .and_where(
            course::Column::Id.in_subquery(
                Query::select()
                    .column(stage_course::Column::CourseId)
                    .from(stage_course::Entity)
                    .and_where(stage_course::Column::StageId.is_in(stage_ids))
                    .and_where(stage_course::Column::Status.eq(STATUS_ACTIVE))
                    .to_owned(),
            ),
        )
        .to_owned();
    let offerings = Query::select()
        .column(course_offering::Column::Id)
        .from(course_offering::Entity)
        .and_where(course_offering::Column::CourseId.in_subquery(hd_courses))
        .to_owned();
    Ok(course_enrollment::Entity::find()
        .filter(course_enrollment::Column::PersonId.eq(student))
        .filter(course_enrollment::Column::Role.eq("student"))
        .filter(course_enrollment::Column::State.eq("completed"))
        .filter(course_enrollment::Column::Status.eq(STATUS_ACTIVE))
        .filter(course_enrollment::Column::OfferingId.in_subquery(offerings))
        .count(db)
        .await?
        > 0)
}

/// Checks the guard of `action` from `current`; returns the stage the transition moves to,
/// when it sets one.
async fn guard(
    db: &impl ConnectionTrait,
    action: Action,
    current: &pathway_enrollment::Model,
    stages: &[pathway_stage::Model],
) -> AppResult<Option<i64>> {
    let sid = &current.sourced_id;
    let refuse = |why: String| -> AppResult<Option<i64>> {
        Err(write::invalid_transition(format!(
            "cannot {} pathway enrolment {sid}: {why}",
            action.verb()
        )))
    };
    let entry = stage_by_id(stages, Some(current.entry_stage_id));
    let here = stage_by_id(stages, current.current_stage_id);
    match action {
        Action::Enrol => match entry {
            Some(stage) if stage.level == SENIOR_SECONDARY => Ok(Some(stage.id)),
            Some(stage) => refuse(format!(
                "its entry stage {} is not senior-secondary (a sub-degree entry is articulated)",
                stage.code
            )),
            None => refuse("its entry stage no longer exists".into()),
        },
        Action::Articulate => {
            if current.state == OFFERED && entry.is_none_or(|s| s.level != SUB_DEGREE) {
                return refuse("direct Higher Diploma entry needs a sub-degree entry stage".into());
            }
            // Issue 6: both paths need an enrolled ArticulationApplication (for
            // secondary_completed, via an active route of this pathway); then currentStage :=
            // the entry sub-degree stage (HD1). Until those records exist, refuse.
            refuse(
                "articulation needs an enrolled ArticulationApplication; applications are \
                 recorded from issue 6"
                    .into(),
            )
        }
        Action::CompleteSecondary => {
            let last_secondary = stages.iter().rev().find(|s| s.level == SENIOR_SECONDARY);
            match (here, last_secondary) {
                (Some(h), Some(last)) if h.id == last.id => {}
                _ => {
                    return refuse(format!(
                        "it is not at the last senior-secondary stage ({})",
                        last_secondary.map_or("none", |s| s.code.as_str())
                    ));
                }
            }
            // Issue 6: needs an AplOutcome (moderated or later) for the core ApL course of the
            // senior-secondary stages. Until outcomes exist, refuse.
            refuse(
                "completing the secondary stages needs an AplOutcome (moderated or later) for the \
                 core ApL course; outcomes are recorded from issue 6"
                    .into(),
            )
        }
        Action::Complete => {
            let last = stages.last();
            match (here, last) {
                (Some(h), Some(l)) if h.id == l.id => {}
                _ => {
                    return refuse(format!(
                        "it is not at the last stage ({})",
                        last.map_or("none", |s| s.code.as_str())
                    ));
                }
            }
            if !has_completed_hd(db, current.student_id, stages).await? {
                return refuse(
                    "the student has no completed Higher Diploma course enrolment".into(),
                );
            }
            Ok(None)
        }
        Action::Exit => match here {
            Some(h) if h.is_exit_point => Ok(None),
            Some(h) => refuse(format!("its current stage {} is not an exit point", h.code)),
            None => refuse("it has no current stage".into()),
        },
        _ => Ok(None),
    }
}

/// Applies a lifecycle transition. Expected failures: `VERSION_CONFLICT` (stale
/// `expectedVersion`), `INVALID_TRANSITION` (not allowed from the current state, or a guard
/// fails), `BAD_USER_INPUT` on `reason` (missing where required, too long) or `exitReason`
/// (missing or not in the vocabulary). An enrolment the caller may not see is `NOT_FOUND`; a
/// role that may not make the transition is `FORBIDDEN`.
#[tracing::instrument(skip_all, fields(pathway_enrollment.sourced_id = %request.sourced_id, pathway_enrollment.action = action.verb()))]
pub async fn transition(
    db: &DatabaseConnection,
    viewer: &Viewer,
    action: Action,
    request: &TransitionRequest<'_>,
) -> AppResult<pathway_enrollment::Model> {
    authorize_transition(viewer, action)?;
    let (principal, writer) = writer(viewer)?;
    let actor = Actor::of(principal);
    let reason = write::reason(request.reason)?;
    if action.needs_reason() && reason.is_none() {
        return Err(AppError::bad_input(
            "reason",
            format!("a reason is required to {}", action.verb()),
        ));
    }
    let exit_reason = if action.needs_exit_reason() {
        match request.exit_reason {
            Some(r) if EXIT_REASONS.contains(&r) => Some(r),
            Some(r) => {
                return Err(AppError::bad_input(
                    "exitReason",
                    format!("unknown exitReason {r:?}"),
                ));
            }
            None => {
                return Err(AppError::bad_input(
                    "exitReason",
                    format!("an exitReason is required to {}", action.verb()),
                ));
            }
        }
    } else {
        None
    };
    let sourced_id = request.sourced_id;

    let txn = write::begin(db).await?;
    let current = find_in_scope(&txn, viewer, sourced_id).await?;
    write::check_expected_version(
        TYPE_NAME,
        sourced_id,
        current.version,
        request.expected_version,
    )?;
    if current.status != STATUS_ACTIVE {
        return Err(write::invalid_transition(format!(
            "pathway enrolment {sourced_id} is deleted"
        )));
    }
    if !action.from_states().contains(&current.state.as_str()) {
        return Err(write::invalid_transition(format!(
            "cannot {} pathway enrolment {sourced_id}: it is {}, and this transition starts only \
             from {}",
            action.verb(),
            current.state,
            action.from_states().join(" or "),
        )));
    }
    let stages = stages_of(&txn, current.pathway_id).await?;
    if let Writer::School(_) = writer
        && action.school_needs_secondary_stage(&current.state)
        && stage_by_id(&stages, current.current_stage_id)
            .is_none_or(|s| s.level != SENIOR_SECONDARY)
    {
        return Err(AppError::ForbiddenWith(
            "a school may exit or withdraw an enrolment only in the senior-secondary stages".into(),
        ));
    }
    let new_stage = guard(&txn, action, &current, &stages).await?;

    let now = changes::now();
    let to = action.to_state();
    let mut set = vec![(pathway_enrollment::Column::State, Expr::value(to))];
    let mut row = current.clone();
    row.state = to.to_owned();
    if action.is_terminal() {
        let end = end_date_for(current.begin_date);
        set.push((pathway_enrollment::Column::EndDate, Expr::value(end)));
        row.end_date = Some(end);
    }
    if let Some(exit) = exit_reason {
        set.push((pathway_enrollment::Column::ExitReason, Expr::value(exit)));
        row.exit_reason = Some(exit.to_owned());
    }
    if let Some(stage) = new_stage {
        set.push((
            pathway_enrollment::Column::CurrentStageId,
            Expr::value(stage),
        ));
        row.current_stage_id = Some(stage);
    }
    let version = write::update_versioned::<pathway_enrollment::Entity>(
        &txn,
        VersionedUpdate {
            type_name: TYPE_NAME,
            sourced_id: current.sourced_id.clone(),
            id: current.id,
            version: current.version,
            guard: Some(
                Expr::col(pathway_enrollment::Column::State)
                    .eq(current.state.as_str())
                    .and(Expr::col(pathway_enrollment::Column::Status).eq(STATUS_ACTIVE)),
            ),
            set,
        },
        &actor,
        now,
    )
    .await?;
    let code = |id: Option<i64>| stage_by_id(&stages, id).map(|s| s.code.as_str());
    let (from_stage, to_stage) = match new_stage {
        Some(stage) => (code(current.current_stage_id), code(Some(stage))),
        None => (None, None),
    };
    record_history(
        &txn,
        current.id,
        Some(&current.state),
        to,
        from_stage,
        to_stage,
        reason.as_deref(),
        &actor,
        now,
    )
    .await?;
    write::emit(&txn, &[update_event(&current, version)], now).await?;
    txn.commit().await?;
    tracing::info!(
        pathway_enrollment.state = to,
        "pathway enrolment transition"
    );
    Ok(pathway_enrollment::Model {
        version,
        date_last_modified: now,
        modified_by: Some(actor.subject),
        ..row
    })
}

/// One stage change request (`advanceStage`).
#[derive(Clone, Debug)]
pub struct AdvanceRequest<'a> {
    pub sourced_id: &'a str,
    pub expected_version: Option<i32>,
    /// The stage to move to (sourcedId); the next stage when omitted. Another stage than the
    /// next is a programmeAdmin jump to an entry-point stage, with a reason.
    pub to_stage: Option<&'a str>,
    pub reason: Option<&'a str>,
}

/// Moves an enrolment to its next stage (the next seq at the same level: S4→S5→S6 while
/// enrolled, HD1→HD2 while articulated; S6 to HD only by articulation), or — programmeAdmin
/// only, with a reason — to any entry-point stage of the pathway at the level of its state. No
/// state change: StatusHistory records `from_stage`/`to_stage` with the state unchanged; the
/// version goes up and an update event is emitted.
///
/// Who: programmeStaff; a schoolCoordinator (school client) in the senior-secondary stages.
/// Expected failures: `VERSION_CONFLICT`; `INVALID_TRANSITION` (not enrolled/articulated, no
/// next stage at the same level, a jump target that is not an entry point or at another level);
/// `BAD_USER_INPUT` on `toStage` (not a stage of the pathway) and `reason`.
#[tracing::instrument(skip_all, fields(pathway_enrollment.sourced_id = %request.sourced_id))]
pub async fn advance_stage(
    db: &DatabaseConnection,
    viewer: &Viewer,
    request: &AdvanceRequest<'_>,
) -> AppResult<pathway_enrollment::Model> {
    let (principal, writer) = writer(viewer)?;
    let actor = Actor::of(principal);
    let reason = write::reason(request.reason)?;
    let sourced_id = request.sourced_id;

    let txn = write::begin(db).await?;
    let current = find_in_scope(&txn, viewer, sourced_id).await?;
    write::check_expected_version(
        TYPE_NAME,
        sourced_id,
        current.version,
        request.expected_version,
    )?;
    if current.status != STATUS_ACTIVE {
        return Err(write::invalid_transition(format!(
            "pathway enrolment {sourced_id} is deleted"
        )));
    }
    let level = match current.state.as_str() {
        ENROLLED => SENIOR_SECONDARY,
        ARTICULATED => SUB_DEGREE,
        other => {
            return Err(write::invalid_transition(format!(
                "cannot change the stage of pathway enrolment {sourced_id}: it is {other}; stages \
                 advance only while enrolled (S4–S6) or articulated (HD)"
            )));
        }
    };
    let stages = stages_of(&txn, current.pathway_id).await?;
    let Some(here) = stage_by_id(&stages, current.current_stage_id) else {
        return Err(write::invalid_transition(format!(
            "cannot change the stage of pathway enrolment {sourced_id}: it has no current stage"
        )));
    };
    if let Writer::School(_) = writer
        && here.level != SENIOR_SECONDARY
    {
        return Err(AppError::ForbiddenWith(
            "a school may change stages only in the senior-secondary stages".into(),
        ));
    }
    let next = stages.iter().find(|s| s.seq > here.seq);
    let target = match request.to_stage {
        None => None,
        Some(sid) => Some(stages.iter().find(|s| s.sourced_id == sid).ok_or_else(|| {
            AppError::bad_input(
                "toStage",
                format!("no active stage {sid:?} of the enrolment's pathway"),
            )
        })?),
    };
    let to = match target {
        // A jump (programmeAdmin only).
        Some(t) if next.is_none_or(|n| n.id != t.id) => {
            if writer != Writer::Admin {
                return Err(AppError::ForbiddenWith(
                    "only programmeAdmin may move an enrolment to another stage than the next"
                        .into(),
                ));
            }
            if reason.is_none() {
                return Err(AppError::bad_input(
                    "reason",
                    "a reason is required to jump to another stage than the next",
                ));
            }
            if t.id == here.id {
                return Err(write::invalid_transition(format!(
                    "pathway enrolment {sourced_id} is already at stage {}",
                    t.code
                )));
            }
            if !t.is_entry_point {
                return Err(write::invalid_transition(format!(
                    "stage {} is not an entry point; a jump goes only to an entry-point stage",
                    t.code
                )));
            }
            if t.level != level {
                return Err(write::invalid_transition(format!(
                    "stage {} is not at the level of a {} enrolment; S6 to HD only by \
                     articulation",
                    t.code, current.state
                )));
            }
            t
        }
        _ => match next {
            Some(n) if n.level == level && here.level == level => n,
            Some(n) => {
                return Err(write::invalid_transition(format!(
                    "cannot advance pathway enrolment {sourced_id} from {} to {}: {} to {} only \
                     by articulation",
                    here.code, n.code, here.code, n.code
                )));
            }
            None => {
                return Err(write::invalid_transition(format!(
                    "pathway enrolment {sourced_id} is at the last stage {}",
                    here.code
                )));
            }
        },
    };

    let now = changes::now();
    let version = write::update_versioned::<pathway_enrollment::Entity>(
        &txn,
        VersionedUpdate {
            type_name: TYPE_NAME,
            sourced_id: current.sourced_id.clone(),
            id: current.id,
            version: current.version,
            guard: Some(
                Expr::col(pathway_enrollment::Column::State)
                    .eq(current.state.as_str())
                    .and(Expr::col(pathway_enrollment::Column::CurrentStageId).eq(here.id))
                    .and(Expr::col(pathway_enrollment::Column::Status).eq(STATUS_ACTIVE)),
            ),
            set: vec![(
                pathway_enrollment::Column::CurrentStageId,
                Expr::value(to.id),
            )],
        },
        &actor,
        now,
    )
    .await?;
    record_history(
        &txn,
        current.id,
        Some(&current.state),
        &current.state,
        Some(&here.code),
        Some(&to.code),
        reason.as_deref(),
        &actor,
        now,
    )
    .await?;
    write::emit(&txn, &[update_event(&current, version)], now).await?;
    txn.commit().await?;
    tracing::info!(pathway_enrollment.stage = %to.code, "pathway enrolment stage change");
    Ok(pathway_enrollment::Model {
        current_stage_id: Some(to.id),
        version,
        date_last_modified: now,
        modified_by: Some(actor.subject),
        ..current
    })
}

// ---------------------------------------------------------------------------------------------
// Bulk upsert

/// The key an upsert matches items on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpsertBy {
    SourcedId,
    ExternalId,
}

/// One upsert item, references already converted to sourcedIds.
#[derive(Clone, Debug, Default)]
pub struct UpsertItem {
    pub sourced_id: Option<String>,
    pub external_id: Option<ExternalKey>,
    pub student: Option<String>,
    pub student_external_id: Option<ExternalKey>,
    pub pathway: Option<String>,
    pub cohort: Option<String>,
    pub entry_stage: Option<String>,
    pub begin_date: Option<NaiveDate>,
    pub metadata: Patch<serde_json::Value>,
    /// The version the caller read. Given, the item applies only to an enrolment still at that
    /// version (else `VERSION_CONFLICT`) and may not create (`BAD_USER_INPUT`).
    pub expected_version: Option<i32>,
}

/// What happened to one item.
#[derive(Clone, Debug)]
pub struct ItemResult {
    pub outcome: Outcome,
    /// The record as stored after the call (none for a failed item that matched nothing).
    pub row: Option<pathway_enrollment::Model>,
    /// Why the item failed (field names relative to the item).
    pub error: Option<AppError>,
}

impl ItemResult {
    fn failed(error: AppError) -> Self {
        ItemResult {
            outcome: Outcome::Failed,
            row: None,
            error: Some(error),
        }
    }
}

/// The plan for one valid item.
enum Plan {
    Create {
        sourced_id: String,
        refs: Resolved,
        begin_date: NaiveDate,
        metadata: Option<serde_json::Value>,
        external: Option<ExternalKey>,
    },
    /// `row` holds the planned values at the version read.
    Update {
        row: pathway_enrollment::Model,
        set: Vec<(pathway_enrollment::Column, sea_orm::sea_query::SimpleExpr)>,
    },
    Unchanged(pathway_enrollment::Model),
}

/// Everything an upsert call reads, in a few batched statements.
#[derive(Default)]
struct Lookups {
    /// Existing enrolments by sourcedId (any status, any scope).
    by_sourced_id: HashMap<String, pathway_enrollment::Model>,
    /// Enrolment ids by the caller's external key.
    by_external: HashMap<ExternalKey, i64>,
    /// Existing enrolments by id (those the external keys name).
    by_id: HashMap<i64, pathway_enrollment::Model>,
    /// Enrolment ids within the caller's scope (among those read).
    in_scope: HashSet<i64>,
    /// Students by sourcedId and by the caller's external key, within the caller's scope.
    students: HashMap<String, i64>,
    student_keys: HashMap<ExternalKey, i64>,
    /// Person ids among them holding a student role at the school today.
    at_school: HashSet<i64>,
    pathways: HashMap<String, i64>,
    /// Cohorts: id and pathway id.
    cohorts: HashMap<String, (i64, i64)>,
    /// Stages by sourcedId.
    stages: HashMap<String, pathway_stage::Model>,
    /// Live enrolments by (student, pathway).
    live: HashMap<(i64, i64), String>,
}

const CHUNK: usize = 500;

/// Creates or updates pathway enrolments in bulk (SHARED_API.md): one transaction; every item
/// is checked before anything is written; failed items are left out and reported, the others
/// applied. Creation is `new → applied` with its guards and StatusHistory; updates change only
/// cohort (while applied or offered), beginDate (while applied) and metadata; an item equal to
/// the stored record is `UNCHANGED` (nothing written); an item's `expectedVersion`, when
/// given, must be the matched record's version and may not be given to create. `items` holds each item or the error its
/// conversion already found. Call-level failures (`Err`): `BAD_USER_INPUT` on `items` (count),
/// `school`, `key`; `FORBIDDEN` for other writers or another school.
pub async fn upsert(
    db: &DatabaseConnection,
    viewer: &Viewer,
    key: UpsertBy,
    school: Option<&str>,
    items: Vec<AppResult<UpsertItem>>,
) -> AppResult<Vec<ItemResult>> {
    let (principal, writer) = writer(viewer)?;
    let actor = Actor::of(principal);
    upsert::check_batch(items.len())?;
    let key_org = match key {
        UpsertBy::ExternalId => Some(upsert::key_org(principal)?),
        UpsertBy::SourcedId => None,
    };
    let needs_key_org = items
        .iter()
        .any(|i| matches!(i, Ok(item) if item.student_external_id.is_some()));
    let student_key_org = match (key_org, needs_key_org) {
        (Some(org), _) => Some(org),
        (None, true) => Some(upsert::key_org(principal)?),
        (None, false) => None,
    };

    let txn = write::begin(db).await?;
    let school = entry_school(&txn, writer, school, "school").await?;
    let mut results: Vec<Option<ItemResult>> = vec![None; items.len()];
    let mut valid: Vec<(usize, UpsertItem)> = Vec::with_capacity(items.len());
    let mut seen_keys: HashSet<String> = HashSet::new();
    for (index, item) in items.into_iter().enumerate() {
        let item = match item.and_then(|i| check_item_key(i, key)) {
            Ok(item) => item,
            Err(error) => {
                results[index] = Some(ItemResult::failed(error));
                continue;
            }
        };
        let key_text = match key {
            UpsertBy::SourcedId => format!("s:{}", item.sourced_id.as_deref().unwrap_or_default()),
            UpsertBy::ExternalId => format!("{:?}", item.external_id),
        };
        if !seen_keys.insert(key_text) {
            results[index] = Some(ItemResult::failed(write::duplicate(
                "the same key appears earlier in this call; the later item is not applied",
            )));
            continue;
        }
        valid.push((index, item));
    }

    let lookups = read_lookups(&txn, viewer, school, key_org, student_key_org, &valid).await?;
    let mut plans: Vec<(usize, Plan)> = Vec::with_capacity(valid.len());
    let mut claimed_pairs: HashSet<(i64, i64)> = HashSet::new();
    let mut claimed_sids: HashSet<String> = HashSet::new();
    for (index, item) in valid {
        match plan_item(
            &lookups,
            school,
            key,
            item,
            &mut claimed_pairs,
            &mut claimed_sids,
        ) {
            Ok(plan) => plans.push((index, plan)),
            Err(error) => results[index] = Some(ItemResult::failed(error)),
        }
    }

    let now = changes::now();
    let mut events: Vec<Change> = Vec::new();
    // Creates: multi-row inserts, then one read back per chunk.
    let creates: Vec<(usize, &Plan)> = plans
        .iter()
        .filter(|(_, p)| matches!(p, Plan::Create { .. }))
        .map(|(i, p)| (*i, p))
        .collect();
    let mut externals: Vec<(ExternalKey, i64)> = Vec::new();
    for chunk in creates.chunks(CHUNK) {
        let models = chunk.iter().filter_map(|(_, plan)| match plan {
            Plan::Create {
                sourced_id,
                refs,
                begin_date,
                metadata,
                ..
            } => Some(new_row(
                sourced_id,
                refs,
                *begin_date,
                metadata.clone(),
                &actor,
                now,
            )),
            _ => None,
        });
        pathway_enrollment::Entity::insert_many(models)
            .exec_without_returning(&txn)
            .await?;
        let sids: Vec<&str> = chunk
            .iter()
            .filter_map(|(_, plan)| match plan {
                Plan::Create { sourced_id, .. } => Some(sourced_id.as_str()),
                _ => None,
            })
            .collect();
        let rows: HashMap<String, pathway_enrollment::Model> = pathway_enrollment::Entity::find()
            .filter(pathway_enrollment::Column::SourcedId.is_in(sids))
            .all(&txn)
            .await?
            .into_iter()
            .map(|r| (r.sourced_id.clone(), r))
            .collect();
        let mut history = Vec::with_capacity(chunk.len());
        for (index, plan) in chunk {
            let Plan::Create {
                sourced_id,
                external,
                ..
            } = plan
            else {
                continue;
            };
            let row = rows.get(sourced_id).cloned().ok_or_else(|| {
                AppError::internal(anyhow::anyhow!("inserted enrolment {sourced_id} not found"))
            })?;
            history.push(history_row(
                row.id, None, APPLIED, None, None, None, &actor, now,
            ));
            events.push(write::change(
                TYPE_NAME,
                row.id,
                &row.sourced_id,
                changes::CREATE,
                row.version,
            ));
            if let Some(key) = external {
                externals.push((key.clone(), row.id));
            }
            results[*index] = Some(ItemResult {
                outcome: Outcome::Created,
                row: Some(row),
                error: None,
            });
        }
        status_history::Entity::insert_many(history)
            .exec_without_returning(&txn)
            .await?;
    }
    if let Some(org) = key_org
        && !externals.is_empty()
    {
        events
            .extend(upsert::insert_external(&txn, TYPE_NAME, org, &externals, &actor, now).await?);
    }
    // Updates: one versioned UPDATE per changed row.
    for (index, plan) in plans {
        match plan {
            Plan::Create { .. } => {}
            Plan::Unchanged(row) => {
                results[index] = Some(ItemResult {
                    outcome: Outcome::Unchanged,
                    row: Some(row),
                    error: None,
                });
            }
            Plan::Update { row, set } => {
                let version = write::update_versioned::<pathway_enrollment::Entity>(
                    &txn,
                    VersionedUpdate {
                        type_name: TYPE_NAME,
                        sourced_id: row.sourced_id.clone(),
                        id: row.id,
                        version: row.version,
                        // The state the field rules were checked against.
                        guard: Some(
                            Expr::col(pathway_enrollment::Column::State).eq(row.state.as_str()),
                        ),
                        set,
                    },
                    &actor,
                    now,
                )
                .await?;
                events.push(update_event(&row, version));
                results[index] = Some(ItemResult {
                    outcome: Outcome::Updated,
                    row: Some(pathway_enrollment::Model {
                        version,
                        date_last_modified: now,
                        modified_by: Some(actor.subject.clone()),
                        ..row
                    }),
                    error: None,
                });
            }
        }
    }
    write::emit(&txn, &events, now).await?;
    txn.commit().await?;
    results
        .into_iter()
        .map(|r| {
            r.ok_or_else(|| AppError::internal(anyhow::anyhow!("an upsert item has no result")))
        })
        .collect()
}

/// The item's key is present and well formed.
fn check_item_key(item: UpsertItem, key: UpsertBy) -> AppResult<UpsertItem> {
    if let Some(sid) = &item.sourced_id {
        write::new_sourced_id(Some(sid), "sourcedId")?;
    }
    match key {
        UpsertBy::SourcedId if item.sourced_id.is_none() => Err(AppError::bad_input(
            "sourcedId",
            "`sourcedId` is required when upserting by SOURCED_ID",
        )),
        UpsertBy::ExternalId if item.external_id.is_none() => Err(AppError::bad_input(
            "externalId",
            "`externalId` is required when upserting by EXTERNAL_ID",
        )),
        _ => {
            if item.student.is_some() && item.student_external_id.is_some() {
                return Err(AppError::bad_input(
                    "studentExternalId",
                    "give `student` or `studentExternalId`, not both",
                ));
            }
            Ok(item)
        }
    }
}

/// Reads everything the items refer to, in chunks.
async fn read_lookups(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    school: i64,
    key_org: Option<i64>,
    student_key_org: Option<i64>,
    items: &[(usize, UpsertItem)],
) -> AppResult<Lookups> {
    let mut l = Lookups::default();
    let scope = pathway_enrollment::Entity::scope(viewer)?;

    // Existing enrolments by sourcedId (keys, and sourcedIds asked for on create).
    let sids: Vec<&str> = items
        .iter()
        .filter_map(|(_, i)| i.sourced_id.as_deref())
        .collect();
    for chunk in sids.chunks(CHUNK) {
        for row in pathway_enrollment::Entity::find()
            .filter(pathway_enrollment::Column::SourcedId.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            l.by_sourced_id.insert(row.sourced_id.clone(), row);
        }
        for id in pathway_enrollment::Entity::find()
            .filter(pathway_enrollment::Column::SourcedId.is_in(chunk.iter().copied()))
            .filter(scope.clone())
            .all(db)
            .await?
            .into_iter()
            .map(|r| r.id)
        {
            l.in_scope.insert(id);
        }
    }
    // Existing enrolments by the caller's external key.
    if let Some(org) = key_org {
        let keys: Vec<&ExternalKey> = items
            .iter()
            .filter_map(|(_, i)| i.external_id.as_ref())
            .collect();
        l.by_external = upsert::find_external(db, TYPE_NAME, org, &keys).await?;
        let ids: Vec<i64> = l.by_external.values().copied().collect();
        for chunk in ids.chunks(CHUNK) {
            for row in pathway_enrollment::Entity::find()
                .filter(pathway_enrollment::Column::Id.is_in(chunk.iter().copied()))
                .all(db)
                .await?
            {
                l.by_id.insert(row.id, row);
            }
            for row in pathway_enrollment::Entity::find()
                .filter(pathway_enrollment::Column::Id.is_in(chunk.iter().copied()))
                .filter(scope.clone())
                .all(db)
                .await?
            {
                l.in_scope.insert(row.id);
            }
        }
    }
    // Students, within the caller's person scope.
    let person_scope = person::Entity::scope(viewer)?;
    let student_sids: Vec<&str> = items
        .iter()
        .filter_map(|(_, i)| i.student.as_deref())
        .collect();
    for chunk in student_sids.chunks(CHUNK) {
        for row in person::Entity::find()
            .filter(person::Column::SourcedId.is_in(chunk.iter().copied()))
            .filter(person::Column::Status.eq(STATUS_ACTIVE))
            .filter(person_scope.clone())
            .all(db)
            .await?
        {
            l.students.insert(row.sourced_id, row.id);
        }
    }
    if let Some(org) = student_key_org {
        let keys: Vec<&ExternalKey> = items
            .iter()
            .filter_map(|(_, i)| i.student_external_id.as_ref())
            .collect();
        let found = upsert::find_external(db, person::Entity::TYPE_NAME, org, &keys).await?;
        let ids: Vec<i64> = found.values().copied().collect();
        let mut visible = HashSet::new();
        for chunk in ids.chunks(CHUNK) {
            for row in person::Entity::find()
                .filter(person::Column::Id.is_in(chunk.iter().copied()))
                .filter(person::Column::Status.eq(STATUS_ACTIVE))
                .filter(person_scope.clone())
                .all(db)
                .await?
            {
                visible.insert(row.id);
            }
        }
        l.student_keys = found
            .into_iter()
            .filter(|(_, id)| visible.contains(id))
            .collect();
    }
    let person_ids: Vec<i64> = l
        .students
        .values()
        .chain(l.student_keys.values())
        .copied()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    for chunk in person_ids.chunks(CHUNK) {
        for row in person::Entity::find()
            .filter(person::Column::Id.is_in(chunk.iter().copied()))
            .filter(person::Column::Id.in_subquery(access::students_at(&[school])))
            .all(db)
            .await?
        {
            l.at_school.insert(row.id);
        }
        for row in pathway_enrollment::Entity::find()
            .filter(pathway_enrollment::Column::StudentId.is_in(chunk.iter().copied()))
            .filter(pathway_enrollment::Column::Status.eq(STATUS_ACTIVE))
            .filter(pathway_enrollment::Column::State.is_in(NON_TERMINAL))
            .all(db)
            .await?
        {
            l.live
                .insert((row.student_id, row.pathway_id), row.sourced_id);
        }
    }
    // Pathways, cohorts and stages (few distinct values).
    let distinct = |pick: fn(&UpsertItem) -> Option<&String>| -> Vec<String> {
        items
            .iter()
            .filter_map(|(_, i)| pick(i).cloned())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect()
    };
    for chunk in distinct(|i| i.pathway.as_ref()).chunks(CHUNK) {
        for row in pathway::Entity::find()
            .filter(pathway::Column::SourcedId.is_in(chunk.iter().cloned()))
            .filter(pathway::Column::Status.eq(STATUS_ACTIVE))
            .all(db)
            .await?
        {
            l.pathways.insert(row.sourced_id, row.id);
        }
    }
    for chunk in distinct(|i| i.cohort.as_ref()).chunks(CHUNK) {
        for row in cohort::Entity::find()
            .filter(cohort::Column::SourcedId.is_in(chunk.iter().cloned()))
            .filter(cohort::Column::Status.eq(STATUS_ACTIVE))
            .all(db)
            .await?
        {
            l.cohorts.insert(row.sourced_id, (row.id, row.pathway_id));
        }
    }
    for chunk in distinct(|i| i.entry_stage.as_ref()).chunks(CHUNK) {
        for row in pathway_stage::Entity::find()
            .filter(pathway_stage::Column::SourcedId.is_in(chunk.iter().cloned()))
            .filter(pathway_stage::Column::Status.eq(STATUS_ACTIVE))
            .all(db)
            .await?
        {
            l.stages.insert(row.sourced_id.clone(), row);
        }
    }
    Ok(l)
}

/// Validates one item against what was read and plans its write.
fn plan_item(
    l: &Lookups,
    school: i64,
    key: UpsertBy,
    item: UpsertItem,
    claimed_pairs: &mut HashSet<(i64, i64)>,
    claimed_sids: &mut HashSet<String>,
) -> AppResult<Plan> {
    let existing = match key {
        UpsertBy::SourcedId => item
            .sourced_id
            .as_ref()
            .and_then(|sid| l.by_sourced_id.get(sid)),
        UpsertBy::ExternalId => item
            .external_id
            .as_ref()
            .and_then(|k| l.by_external.get(k))
            .and_then(|id| l.by_id.get(id)),
    };
    // References named by the item.
    let student = match (&item.student, &item.student_external_id) {
        (Some(sid), _) => Some(
            *l.students
                .get(sid)
                .ok_or_else(|| AppError::bad_input("student", format!("no student {sid:?}")))?,
        ),
        (None, Some(k)) => Some(*l.student_keys.get(k).ok_or_else(|| {
            AppError::bad_input(
                "studentExternalId",
                "no student with this external id in your organisation",
            )
        })?),
        (None, None) => None,
    };
    let pathway =
        item.pathway
            .as_ref()
            .map(|sid| {
                l.pathways.get(sid).copied().ok_or_else(|| {
                    AppError::bad_input("pathway", format!("no active pathway {sid:?}"))
                })
            })
            .transpose()?;
    let cohort =
        item.cohort
            .as_ref()
            .map(|sid| {
                l.cohorts.get(sid).copied().ok_or_else(|| {
                    AppError::bad_input("cohort", format!("no active cohort {sid:?}"))
                })
            })
            .transpose()?;
    let stage = item
        .entry_stage
        .as_ref()
        .map(|sid| {
            l.stages.get(sid).ok_or_else(|| {
                AppError::bad_input("entryStage", format!("no active stage {sid:?}"))
            })
        })
        .transpose()?;

    if let Some(row) = existing {
        if !l.in_scope.contains(&row.id) {
            return Err(match key {
                UpsertBy::SourcedId => write::duplicate(format!(
                    "sourcedId {} is taken by a record you may not write",
                    row.sourced_id
                )),
                UpsertBy::ExternalId => AppError::bad_input(
                    "externalId",
                    "this key names an enrolment outside your scope",
                ),
            });
        }
        if row.status != STATUS_ACTIVE {
            return Err(write::invalid_transition(format!(
                "pathway enrolment {} is deleted",
                row.sourced_id
            )));
        }
        upsert::check_item_version(
            TYPE_NAME,
            Some((&row.sourced_id, row.version)),
            item.expected_version,
        )?;
        // Fields fixed at creation may be repeated, never changed.
        let fixed = [
            ("student", student.is_some_and(|s| s != row.student_id)),
            ("pathway", pathway.is_some_and(|p| p != row.pathway_id)),
            (
                "entryStage",
                stage.is_some_and(|s| s.id != row.entry_stage_id),
            ),
        ];
        if let Some((field, _)) = fixed.iter().find(|(_, changed)| *changed) {
            return Err(AppError::bad_input(
                *field,
                format!(
                    "`{field}` of an existing pathway enrolment cannot change; a new enrolment \
                     is a new record"
                ),
            ));
        }
        let cohort_id = match cohort {
            Some((id, p)) if p == row.pathway_id => Some(id),
            Some(_) => {
                return Err(AppError::bad_input(
                    "cohort",
                    "the cohort belongs to another pathway than the enrolment's",
                ));
            }
            None => None,
        };
        let set = diff(row, cohort_id, item.begin_date, &item.metadata, "")?;
        if set.is_empty() {
            return Ok(Plan::Unchanged(row.clone()));
        }
        return Ok(Plan::Update {
            row: applied(row.clone(), cohort_id, item.begin_date, &item.metadata),
            set,
        });
    }

    // Create: `new → applied` with its guards.
    upsert::check_item_version(TYPE_NAME, None, item.expected_version)?;
    let student = student.ok_or_else(|| {
        AppError::bad_input(
            "student",
            "`student` or `studentExternalId` is required to create",
        )
    })?;
    let pathway =
        pathway.ok_or_else(|| AppError::bad_input("pathway", "`pathway` is required to create"))?;
    let (cohort, cohort_pathway) =
        cohort.ok_or_else(|| AppError::bad_input("cohort", "`cohort` is required to create"))?;
    let stage = stage
        .ok_or_else(|| AppError::bad_input("entryStage", "`entryStage` is required to create"))?;
    let begin_date = item
        .begin_date
        .ok_or_else(|| AppError::bad_input("beginDate", "`beginDate` is required to create"))?;
    if cohort_pathway != pathway {
        return Err(AppError::bad_input(
            "cohort",
            "the cohort belongs to another pathway",
        ));
    }
    if stage.pathway_id != pathway {
        return Err(AppError::bad_input(
            "entryStage",
            "the stage belongs to another pathway",
        ));
    }
    let metadata = match item.metadata {
        Patch::Set(value) => {
            check_metadata(&value, "metadata")?;
            Some(value)
        }
        _ => None,
    };
    if !l.at_school.contains(&student) {
        return Err(write::invalid_transition(
            "cannot apply: the student is not an active student of the entry school",
        ));
    }
    if !stage.is_entry_point {
        return Err(write::invalid_transition(format!(
            "cannot apply: stage {} is not an entry point of the pathway",
            stage.code
        )));
    }
    if let Some(live) = l.live.get(&(student, pathway)) {
        return Err(write::duplicate(format!(
            "the student already has a live enrolment in this pathway ({live})"
        )));
    }
    if !claimed_pairs.insert((student, pathway)) {
        return Err(write::duplicate(
            "an earlier item of this call already enrols the student in this pathway",
        ));
    }
    let sourced_id = match &item.sourced_id {
        Some(sid) => {
            if l.by_sourced_id.contains_key(sid) {
                return Err(write::duplicate(format!(
                    "a PathwayEnrollment with sourcedId {sid} already exists"
                )));
            }
            sid.clone()
        }
        None => write::new_sourced_id(None, "sourcedId")?,
    };
    if !claimed_sids.insert(sourced_id.clone()) {
        return Err(write::duplicate(format!(
            "an earlier item of this call already uses sourcedId {sourced_id}"
        )));
    }
    Ok(Plan::Create {
        sourced_id,
        refs: Resolved {
            student,
            pathway,
            cohort,
            entry_school: school,
            entry_stage: stage.id,
        },
        begin_date,
        metadata,
        external: match key {
            UpsertBy::ExternalId => item.external_id,
            UpsertBy::SourcedId => None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifecycle_matches_the_domain_table() {
        assert_eq!(Action::Offer.from_states(), &[APPLIED]);
        assert_eq!(
            Action::Articulate.from_states(),
            &[OFFERED, SECONDARY_COMPLETED]
        );
        assert_eq!(
            Action::Withdraw.from_states(),
            &[APPLIED, OFFERED, ENROLLED, ON_HOLD, ARTICULATED]
        );
        for action in Action::ALL {
            for state in TERMINAL {
                assert!(
                    !action.from_states().contains(&state),
                    "{action:?} from {state}"
                );
            }
            assert_eq!(action.is_terminal(), TERMINAL.contains(&action.to_state()));
        }
        assert!(Action::Hold.needs_reason() && Action::Resume.needs_reason());
        assert!(Action::Exit.needs_exit_reason() && Action::Withdraw.needs_exit_reason());
        assert!(!Action::Offer.school_may() && Action::Decline.school_may());
        assert!(Action::Withdraw.school_needs_secondary_stage(ENROLLED));
        assert!(!Action::Withdraw.school_needs_secondary_stage(APPLIED));
    }

    #[test]
    fn metadata_is_an_object_of_at_most_16_kb() {
        assert!(check_metadata(&serde_json::json!({"a": 1}), "metadata").is_ok());
        assert!(check_metadata(&serde_json::json!([1]), "metadata").is_err());
        let big = "x".repeat(MAX_METADATA_BYTES);
        assert!(check_metadata(&serde_json::json!({ "a": big }), "metadata").is_err());
    }
}
