//! Students' skill evidence (DOMAIN.md area D): personal data.
//!
//! **Who writes.** programmeStaff and programmeAdmin for any student; a schoolCoordinator or
//! teacher for a student in their school scope (a teacher: their own students); a school's
//! client needs `results.write`. The student must be visible to the writer (`NOT_FOUND`
//! otherwise) and hold a student role (`BAD_USER_INPUT`).
//!
//! **Sharing.** `sharedWithPartners` is the student's choice: new evidence is never shared;
//! only the student, a guardian with parental responsibility for them, or programmeAdmin may
//! change it ([`set_sharing`]). A school cannot share on the student's behalf.

use chrono::{DateTime, Utc};
use entity::{STATUS_ACTIVE, person, skill, skill_evidence};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};

use super::EVIDENCE;
use crate::access::{self, Reach, Scoped};
use crate::auth::{Principal, Role, Viewer};
use crate::changes;
use crate::error::{AppError, AppResult};
use crate::graphql::common::sourced_id_of;
use crate::service::catalogue::in_range;
use crate::service::write::{self, Actor, Patch, VersionedUpdate};

/// The write scope of a school's client.
pub const WRITE_SCOPE: &str = "results.write";

/// Who records evidence: the programme office or a school's coordinator, teacher or client.
fn writer(viewer: &Viewer) -> AppResult<&Principal> {
    let principal = access::principal(viewer)?;
    match Reach::of(viewer) {
        Reach::Programme | Reach::Schools { .. } => {}
        _ => return Err(AppError::Forbidden),
    }
    write::require_write_scope(principal, WRITE_SCOPE)?;
    Ok(principal)
}

/// The guard of an evidence write, before any input is read.
pub fn authorize(viewer: &Viewer) -> AppResult<()> {
    writer(viewer).map(|_| ())
}

/// New skill evidence.
#[derive(Clone, Debug)]
pub struct NewEvidence<'a> {
    pub sourced_id: Option<&'a str>,
    pub student: &'a str,
    pub skill: &'a str,
    pub level: i32,
    /// Database text.
    pub evidence_kind: &'static str,
    pub assessed_at: DateTime<Utc>,
    pub metadata: Option<serde_json::Value>,
}

/// Changes to skill evidence (`None` keeps a field).
#[derive(Clone, Debug, Default)]
pub struct EvidenceChanges {
    pub level: Option<i32>,
    /// Database text.
    pub evidence_kind: Option<&'static str>,
    pub assessed_at: Option<DateTime<Utc>>,
    pub metadata: Patch<serde_json::Value>,
}

fn check_level(level: Option<i32>) -> AppResult<()> {
    in_range(level, "level", 1..=4)
}

/// The student named by `id`: `NOT_FOUND` unless the writer may see them, `BAD_USER_INPUT`
/// unless they hold a student role.
async fn student_named(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: &str,
) -> AppResult<person::Model> {
    let sid = sourced_id_of("Person", "student", id)?;
    let person = person::Entity::find()
        .filter(person::Entity::scope(viewer)?)
        .filter(person::Column::SourcedId.eq(sid.as_str()))
        .filter(person::Column::Status.eq(STATUS_ACTIVE))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("Person".to_owned()))?;
    let student = person::Entity::find()
        .filter(access::students_condition(viewer)?)
        .filter(person::Column::Id.eq(person.id))
        .one(db)
        .await?;
    student.ok_or_else(|| {
        AppError::bad_input(
            "student",
            format!("person {sid} does not hold a student role you may record evidence for"),
        )
    })
}

/// Records skill evidence for a student (never shared to begin with).
pub async fn create(
    db: &DatabaseConnection,
    viewer: &Viewer,
    new: NewEvidence<'_>,
) -> AppResult<skill_evidence::Model> {
    let actor = Actor::of(writer(viewer)?);
    let sourced_id = write::new_sourced_id(new.sourced_id, "sourcedId")?;
    let metadata = write::metadata(new.metadata, "metadata")?;
    let txn = write::begin(db).await?;
    let student = student_named(&txn, viewer, new.student).await?;
    let skill = write::reference::<skill::Entity>(&txn, super::SKILL, "skill", new.skill).await?;
    check_level(Some(new.level))?;
    if skill_evidence::Entity::find()
        .filter(skill_evidence::Column::SourcedId.eq(sourced_id.as_str()))
        .one(&txn)
        .await?
        .is_some()
    {
        return Err(write::duplicate(format!(
            "a SkillEvidence with sourcedId {sourced_id} already exists"
        )));
    }
    let now = changes::now();
    let row = skill_evidence::ActiveModel {
        sourced_id: Set(sourced_id),
        status: Set(STATUS_ACTIVE.to_owned()),
        date_created: Set(now),
        date_last_modified: Set(now),
        version: Set(1),
        metadata: Set(metadata),
        created_by: Set(Some(actor.subject.clone())),
        modified_by: Set(Some(actor.subject.clone())),
        student_id: Set(student.id),
        skill_id: Set(skill.id),
        level: Set(new.level),
        evidence_kind: Set(new.evidence_kind.to_owned()),
        assessed_at: Set(new.assessed_at),
        shared_with_partners: Set(false),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    write::emit(
        &txn,
        &[write::change(
            EVIDENCE,
            row.id,
            &row.sourced_id,
            changes::CREATE,
            row.version,
        )],
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// The evidence named by `id` within the caller's read scope (tombstones too), else
/// `NOT_FOUND`.
async fn evidence_named(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: &str,
) -> AppResult<skill_evidence::Model> {
    let sid = sourced_id_of(EVIDENCE, "id", id)?;
    skill_evidence::Entity::find()
        .filter(skill_evidence::Entity::scope(viewer)?)
        .filter(skill_evidence::Column::SourcedId.eq(sid.as_str()))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(EVIDENCE.to_owned()))
}

fn require_active(row: &skill_evidence::Model) -> AppResult<()> {
    if row.status != STATUS_ACTIVE {
        return Err(write::invalid_transition(format!(
            "SkillEvidence {} is deleted; deleted records are not updated",
            row.sourced_id
        )));
    }
    Ok(())
}

/// Writes `set` on the evidence at `expected_version` and its `update` event.
async fn write_columns(
    db: &DatabaseConnection,
    viewer: &Viewer,
    actor: &Actor,
    id: &str,
    expected_version: Option<i32>,
    before: impl FnOnce(&skill_evidence::Model) -> AppResult<()>,
    set: Vec<(skill_evidence::Column, SimpleExpr)>,
) -> AppResult<skill_evidence::Model> {
    let txn = write::begin(db).await?;
    let row = evidence_named(&txn, viewer, id).await?;
    before(&row)?;
    require_active(&row)?;
    write::check_expected_version(EVIDENCE, &row.sourced_id, row.version, expected_version)?;
    let now = changes::now();
    let version = write::update_versioned::<skill_evidence::Entity>(
        &txn,
        VersionedUpdate {
            type_name: EVIDENCE,
            sourced_id: row.sourced_id.clone(),
            id: row.id,
            version: row.version,
            guard: Some(Expr::col(skill_evidence::Column::Status).eq(STATUS_ACTIVE)),
            set,
        },
        actor,
        now,
    )
    .await?;
    write::emit(
        &txn,
        &[write::change(
            EVIDENCE,
            row.id,
            &row.sourced_id,
            changes::UPDATE,
            version,
        )],
        now,
    )
    .await?;
    let was_shared = row.shared_with_partners;
    let row = skill_evidence::Entity::find_by_id(row.id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::NotFound(EVIDENCE.to_owned()))?;
    if was_shared && !row.shared_with_partners {
        revoke_from_partners(&txn, &row, now).await?;
    }
    txn.commit().await?;
    Ok(row)
}

/// Evidence no longer shared leaves the view of every partner that could name the student (a
/// live mentorship and effective consent): each gets `accessRevoked` for it, so a partner mirror purges its copy.
async fn revoke_from_partners(
    db: &impl ConnectionTrait,
    row: &skill_evidence::Model,
    at: DateTime<Utc>,
) -> AppResult<()> {
    use entity::mentorship;
    let mut partners: Vec<i64> = mentorship::Entity::find()
        .filter(mentorship::Column::StudentId.eq(row.student_id))
        .filter(mentorship::Column::Status.eq(STATUS_ACTIVE))
        .filter(mentorship::Column::State.is_in(access::LIVE_MENTORSHIP))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.partner_org_id)
        .collect();
    partners.sort_unstable();
    partners.dedup();
    // Only the partners that could see it: those that may name the student (consent included).
    let mut named = Vec::new();
    for org in partners {
        if person::Entity::find()
            .filter(person::Column::Id.eq(row.student_id))
            .filter(access::partner_named_students(org))
            .one(db)
            .await?
            .is_some()
        {
            named.push(org);
        }
    }
    let events: Vec<changes::Change> = named
        .into_iter()
        .map(|org| changes::Change {
            entity_type: EVIDENCE,
            entity_id: row.id,
            sourced_id: row.sourced_id.clone(),
            operation: changes::ACCESS_REVOKED,
            version: row.version,
            audience_org_id: Some(org),
        })
        .collect();
    write::emit(db, &events, at).await
}

/// Changes the level, kind, assessment time or metadata of evidence.
pub async fn update(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: &str,
    expected_version: Option<i32>,
    changes: EvidenceChanges,
) -> AppResult<skill_evidence::Model> {
    use skill_evidence::Column as C;
    let actor = Actor::of(writer(viewer)?);
    check_level(changes.level)?;
    let mut set: Vec<(C, SimpleExpr)> = Vec::new();
    if let Some(level) = changes.level {
        set.push((C::Level, Expr::value(level)));
    }
    if let Some(kind) = changes.evidence_kind {
        set.push((C::EvidenceKind, Expr::value(kind)));
    }
    if let Some(at) = changes.assessed_at {
        set.push((C::AssessedAt, Expr::value(at)));
    }
    match changes.metadata {
        Patch::Unchanged => {}
        Patch::Clear => set.push((C::Metadata, Expr::value(Option::<serde_json::Value>::None))),
        Patch::Set(value) => {
            write::check_metadata(&value, "metadata")?;
            set.push((C::Metadata, Expr::value(value)));
        }
    }
    write_columns(db, viewer, &actor, id, expected_version, |_| Ok(()), set).await
}

/// Deletes evidence (a tombstone).
pub async fn delete(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: &str,
    expected_version: Option<i32>,
) -> AppResult<skill_evidence::Model> {
    let actor = Actor::of(writer(viewer)?);
    let txn = write::begin(db).await?;
    let row = evidence_named(&txn, viewer, id).await?;
    write::check_expected_version(EVIDENCE, &row.sourced_id, row.version, expected_version)?;
    let now = changes::now();
    write::tombstone::<skill_evidence::Entity>(
        &txn,
        EVIDENCE,
        row.id,
        &row.sourced_id,
        row.version,
        &actor,
        now,
    )
    .await?;
    let row = skill_evidence::Entity::find_by_id(row.id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::NotFound(EVIDENCE.to_owned()))?;
    txn.commit().await?;
    Ok(row)
}

/// Shares evidence with partners or stops sharing it: the student, a guardian with parental
/// responsibility for them, or programmeAdmin; everyone else `FORBIDDEN` (after `NOT_FOUND`
/// for evidence the caller may not read).
pub async fn set_sharing(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: &str,
    expected_version: Option<i32>,
    shared: bool,
) -> AppResult<skill_evidence::Model> {
    let principal = access::principal(viewer)?;
    let actor = Actor::of(principal);
    let admin = principal.roles.contains(&Role::ProgrammeAdmin);
    // selfScope already limits what the caller can name to themselves and their wards under
    // parental responsibility.
    let own = !principal.is_client() && matches!(Reach::of(viewer), Reach::SelfService { .. });
    write_columns(
        db,
        viewer,
        &actor,
        id,
        expected_version,
        |_| {
            if admin || own {
                Ok(())
            } else {
                Err(AppError::ForbiddenWith(
                    "only the student, a guardian with parental responsibility or programmeAdmin \
                     decides what is shared with partners"
                        .into(),
                ))
            }
        },
        vec![(
            skill_evidence::Column::SharedWithPartners,
            Expr::value(shared),
        )],
    )
    .await
}
