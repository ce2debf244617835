//! The access audit (DOMAIN.md section 5 rule 5, area I): every read of named student data by a
//! partner, mentor or partner client writes an `AccessAuditEvent`.
//!
//! Resolvers note each read in the request's [`AuditLog`]; the transport writes the whole log in
//! one statement after execution and **before** the response leaves. If that write fails, the
//! response is replaced by an error: the read fails with its audit.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use entity::{STATUS_ACTIVE, access_audit_event, consent_record, mentorship};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::access::{self, Reach};
use crate::auth::Viewer;
use crate::error::{AppError, AppResult};

/// One audited object of one request.
#[derive(Clone, Debug)]
pub struct AuditEntry {
    pub entity_type: &'static str,
    pub entity_id: i64,
    pub entity_sourced_id: String,
    pub student_id: i64,
    /// The fields read, deduplicated.
    pub fields: BTreeSet<&'static str>,
}

/// The named reads of one request, collected while it executes.
#[derive(Debug, Default)]
pub struct AuditLog {
    entries: Mutex<BTreeMap<(&'static str, i64), AuditEntry>>,
}

impl AuditLog {
    /// Notes that `field` of a student's object was read.
    pub fn read(
        &self,
        entity_type: &'static str,
        entity_id: i64,
        entity_sourced_id: &str,
        student_id: i64,
        field: &'static str,
    ) {
        // A poisoned lock still holds valid entries: keep auditing rather than lose a read.
        let mut entries = match self.entries.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        entries
            .entry((entity_type, entity_id))
            .or_insert_with(|| AuditEntry {
                entity_type,
                entity_id,
                entity_sourced_id: entity_sourced_id.to_owned(),
                student_id,
                fields: BTreeSet::new(),
            })
            .fields
            .insert(field);
    }

    /// Takes every entry noted so far.
    pub fn take(&self) -> Vec<AuditEntry> {
        let mut entries = match self.entries.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        std::mem::take(&mut *entries).into_values().collect()
    }
}

/// What allowed a partner-side read of a student: the relationship and the consent.
#[derive(Clone, Debug)]
struct Basis {
    kind: &'static str,
    sourced_id: String,
    consent: Option<String>,
}

/// Finds the basis of each student's reads: the caller's live mentorship with the student (the
/// partner's, or the mentor's own) and the student's active self consent for that partner.
async fn bases(
    db: &impl ConnectionTrait,
    reach: &Reach,
    students: &[i64],
) -> AppResult<HashMap<i64, Basis>> {
    let mut query = mentorship::Entity::find()
        .select_only()
        .column(mentorship::Column::StudentId)
        .column(mentorship::Column::SourcedId)
        .column(mentorship::Column::PartnerOrgId)
        .filter(mentorship::Column::StudentId.is_in(students.iter().copied()))
        .filter(mentorship::Column::Status.eq(STATUS_ACTIVE))
        .filter(mentorship::Column::State.is_in(access::LIVE_MENTORSHIP))
        .order_by_asc(mentorship::Column::Id);
    query = match reach {
        Reach::Partner { org, .. } => query.filter(mentorship::Column::PartnerOrgId.eq(*org)),
        Reach::Mentor { person, .. } => query.filter(mentorship::Column::MentorId.eq(*person)),
        _ => return Ok(HashMap::new()),
    };
    let found: Vec<(i64, String, i64)> = query.into_tuple().all(db).await?;
    let mut pairs: HashMap<i64, (String, i64)> = HashMap::new();
    for (student, sourced_id, org) in found {
        pairs.entry(student).or_insert((sourced_id, org));
    }
    let orgs: BTreeSet<i64> = pairs.values().map(|(_, org)| *org).collect();
    let consents: Vec<(i64, Option<i64>, String)> = consent_record::Entity::find()
        .select_only()
        .column(consent_record::Column::StudentId)
        .column(consent_record::Column::ScopeOrgId)
        .column(consent_record::Column::SourcedId)
        .filter(consent_record::Column::StudentId.is_in(students.iter().copied()))
        .filter(consent_record::Column::ScopeOrgId.is_in(orgs))
        .filter(consent_record::Column::Purpose.eq(access::SHARE_WITH_PARTNER_MENTOR))
        .filter(consent_record::Column::GiverRelationship.eq("self"))
        .filter(consent_record::Column::Status.eq(STATUS_ACTIVE))
        .filter(consent_record::Column::WithdrawnAt.is_null())
        .order_by_asc(consent_record::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    Ok(pairs
        .into_iter()
        .map(|(student, (sourced_id, org))| {
            let consent = consents
                .iter()
                .find(|(s, o, _)| *s == student && *o == Some(org))
                .map(|(_, _, id)| id.clone());
            (
                student,
                Basis {
                    kind: "mentorship",
                    sourced_id,
                    consent,
                },
            )
        })
        .collect())
}

/// Writes the request's audit entries (one insert). Called by the transport before it responds.
pub async fn write(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    entries: Vec<AuditEntry>,
    request_id: &str,
) -> AppResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let principal = viewer
        .principal()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("audited read without a principal")))?;
    let reach = Reach::of(viewer);
    let students: Vec<i64> = entries
        .iter()
        .map(|e| e.student_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let bases = bases(db, &reach, &students).await?;
    let at = crate::changes::now();
    let rows = entries.into_iter().map(|entry| {
        let basis = bases.get(&entry.student_id).cloned().unwrap_or(Basis {
            // Nameable students always have a mentorship; this is never expected, and the
            // row still records the read.
            kind: "unknown",
            sourced_id: String::new(),
            consent: None,
        });
        access_audit_event::ActiveModel {
            sourced_id: Set(uuid::Uuid::now_v7().to_string()),
            status: Set(STATUS_ACTIVE.to_owned()),
            date_created: Set(at),
            date_last_modified: Set(at),
            version: Set(1),
            created_by: Set(Some(principal.subject.clone())),
            at: Set(at),
            principal: Set(principal.subject.clone()),
            client_id: Set(principal.client_id.clone()),
            acting_org_id: Set(principal.org.as_ref().map(|o| o.id)),
            entity_type: Set(entry.entity_type.to_owned()),
            entity_id: Set(entry.entity_id),
            entity_sourced_id: Set(entry.entity_sourced_id),
            student_id: Set(entry.student_id),
            fields: Set(entry.fields.into_iter().collect::<Vec<_>>().join(",")),
            basis_type: Set(basis.kind.to_owned()),
            basis_sourced_id: Set(basis.sourced_id),
            consent_sourced_id: Set(basis.consent),
            request_id: Set(Some(request_id.to_owned())),
            ..Default::default()
        }
    });
    access_audit_event::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    Ok(())
}
