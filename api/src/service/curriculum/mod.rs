//! Curriculum co-development (DOMAIN.md area C): what the unit, version, contributor, review and
//! unit-skill writes share. `docs/curriculum.md` sums up the workflow and who may do what.
//!
//! **Who is who.** A [`Curator`] is the caller of a curriculum write:
//! - programmeAdmin may do anything (DOMAIN.md: "programmeAdmin may make any transition");
//! - programmeStaff and an academicLead are the curriculum staff; an academicLead *of the owning
//!   org* (acting for the unit's `owningOrg`) approves and publishes;
//! - everyone else acts only as a contributor of a version ([`Curator::contribution`]):
//!   personally (a UnitContributor row names their Person), or on behalf of a contributing
//!   organisation when they represent it (a partnerCoordinator, a schoolCoordinator or an
//!   integration client acting for that org). A mentor or teacher acting for a contributing
//!   org without being a contributor themselves only reads (contributorScope).
//!
//! Integration clients need `curriculum.write` for every curriculum write.
//!
//! **Visibility first.** A write names its target by id; a target the caller may not read is
//! `NOT_FOUND` exactly like a missing one ([`version_named`]). Then the caller's right
//! (`FORBIDDEN`), then the state (`INVALID_TRANSITION`), then the version (`VERSION_CONFLICT`).

use entity::{STATUS_ACTIVE, curriculum_unit, curriculum_unit_version, unit_contributor};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::access::{self, Reach, Scoped};
use crate::auth::{Principal, Role, Viewer};
use crate::error::{AppError, AppResult};
use crate::graphql::common::sourced_id_of;
use crate::service::write::{self, Actor};

/// GraphQL type names (history, change events, messages).
pub const UNIT: &str = "CurriculumUnit";
pub const VERSION: &str = "CurriculumUnitVersion";
pub const CONTRIBUTOR: &str = "UnitContributor";
pub const REVIEW: &str = "UnitReview";
pub const UNIT_SKILL: &str = "UnitSkill";

/// The write scope of integration clients.
pub const WRITE_SCOPE: &str = "curriculum.write";

/// Version states, as stored.
pub const DRAFT: &str = "draft";
pub const IN_REVIEW: &str = "in_review";
pub const CHANGES_REQUESTED: &str = "changes_requested";
pub const APPROVED: &str = "approved";
pub const PUBLISHED: &str = "published";
pub const RETIRED: &str = "retired";
pub const WITHDRAWN: &str = "withdrawn";

/// The working states: at most one version of a unit is in one of them.
pub const WORKING_STATES: [&str; 4] = [DRAFT, IN_REVIEW, CHANGES_REQUESTED, APPROVED];
/// The states in which a version's content may be edited.
pub const EDITABLE_STATES: [&str; 2] = [DRAFT, CHANGES_REQUESTED];

/// Contribution roles, as stored.
pub const AUTHOR: &str = "author";
pub const CO_DEVELOPER: &str = "coDeveloper";
pub const SUBJECT_EXPERT: &str = "subjectExpert";
pub const REVIEWER: &str = "reviewer";
pub const APPROVER: &str = "approver";
pub const CONTRIBUTION_ROLES: [&str; 5] =
    [AUTHOR, CO_DEVELOPER, SUBJECT_EXPERT, REVIEWER, APPROVER];
/// Contributors in these roles edit a working version's content.
pub const EDITING_ROLES: [&str; 3] = [AUTHOR, CO_DEVELOPER, SUBJECT_EXPERT];

/// The kind of curriculum writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CuratorKind {
    /// programmeAdmin: any transition.
    Admin,
    /// programmeStaff.
    Staff,
    /// An academicLead acting for this academic unit.
    AcademicLead(i64),
    /// Anyone else: a contributor or nobody.
    Other,
}

/// The caller of a curriculum write.
#[derive(Clone, Debug)]
pub struct Curator<'a> {
    pub principal: &'a Principal,
    pub kind: CuratorKind,
    pub actor: Actor,
}

/// The curriculum writer: `UNAUTHENTICATED` without a token, `FORBIDDEN` for an integration
/// client without `curriculum.write`.
pub fn curator(viewer: &Viewer) -> AppResult<Curator<'_>> {
    let principal = access::principal(viewer)?;
    write::require_write_scope(principal, WRITE_SCOPE)?;
    let has = |role: Role| principal.roles.contains(&role);
    let kind = if has(Role::ProgrammeAdmin) {
        CuratorKind::Admin
    } else if matches!(Reach::of(viewer), Reach::Programme) {
        CuratorKind::Staff
    } else if has(Role::AcademicLead)
        && let Some(org) = &principal.org
    {
        CuratorKind::AcademicLead(org.id)
    } else {
        CuratorKind::Other
    };
    Ok(Curator {
        principal,
        kind,
        actor: Actor::of(principal),
    })
}

impl Curator<'_> {
    /// programmeAdmin.
    pub fn is_admin(&self) -> bool {
        self.kind == CuratorKind::Admin
    }

    /// programmeAdmin or programmeStaff.
    pub fn is_programme(&self) -> bool {
        matches!(self.kind, CuratorKind::Admin | CuratorKind::Staff)
    }

    /// An academicLead (of any academic unit).
    pub fn is_academic_lead(&self) -> bool {
        matches!(self.kind, CuratorKind::AcademicLead(_))
    }

    /// An academicLead acting for `owning_org` (the unit's owner), or programmeAdmin.
    pub fn leads(&self, owning_org: i64) -> bool {
        self.is_admin() || self.kind == CuratorKind::AcademicLead(owning_org)
    }

    /// programmeAdmin, programmeStaff or an academicLead.
    pub fn is_curriculum_staff(&self) -> bool {
        self.kind != CuratorKind::Other
    }

    /// Whether the caller represents its acting organisation in curriculum work: a
    /// partnerCoordinator, a schoolCoordinator or an integration client.
    pub fn represents_org(&self) -> bool {
        self.principal.is_client()
            || self.principal.roles.contains(&Role::PartnerCoordinator)
            || self.principal.roles.contains(&Role::SchoolCoordinator)
    }

    /// The contribution roles the caller holds on a version: those of UnitContributor rows
    /// naming their Person, and, when they represent their acting organisation, those of rows
    /// naming that organisation. Sorted, without repeats.
    pub async fn contribution(
        &self,
        db: &impl ConnectionTrait,
        version_id: i64,
    ) -> AppResult<Vec<String>> {
        let rows = unit_contributor::Entity::find()
            .filter(unit_contributor::Column::UnitVersionId.eq(version_id))
            .filter(unit_contributor::Column::Status.eq(STATUS_ACTIVE))
            .all(db)
            .await?;
        let org = self
            .principal
            .org
            .as_ref()
            .map(|o| o.id)
            .filter(|_| self.represents_org());
        let mut roles: Vec<String> = rows
            .into_iter()
            .filter(|row| {
                Some(row.person_id)
                    == self
                        .principal
                        .person_id
                        .filter(|_| !self.principal.is_client())
                    || Some(row.org_id) == org
            })
            .map(|row| row.contribution_role)
            .collect();
        roles.sort();
        roles.dedup();
        Ok(roles)
    }

    /// Whether the caller holds one of `wanted` on the version.
    pub async fn contributes_as(
        &self,
        db: &impl ConnectionTrait,
        version_id: i64,
        wanted: &[&str],
    ) -> AppResult<bool> {
        Ok(self
            .contribution(db, version_id)
            .await?
            .iter()
            .any(|role| wanted.contains(&role.as_str())))
    }

    /// `FORBIDDEN` unless the caller may edit the content of the version: the curriculum staff
    /// (academic leads of the owning org), or a contributor in an editing role.
    pub async fn require_editor(
        &self,
        db: &impl ConnectionTrait,
        version: &curriculum_unit_version::Model,
        unit: &curriculum_unit::Model,
    ) -> AppResult<()> {
        if self.is_programme()
            || self.leads(unit.owning_org_id)
            || self.contributes_as(db, version.id, &EDITING_ROLES).await?
        {
            return Ok(());
        }
        Err(AppError::Forbidden)
    }
}

/// `INVALID_TRANSITION` unless the version's content may be edited (draft or
/// changes_requested, and not deleted).
pub fn require_editable(version: &curriculum_unit_version::Model) -> AppResult<()> {
    if version.status != STATUS_ACTIVE {
        return Err(write::invalid_transition(format!(
            "curriculum unit version {} is deleted",
            version.sourced_id
        )));
    }
    if !EDITABLE_STATES.contains(&version.state.as_str()) {
        return Err(write::invalid_transition(format!(
            "curriculum unit version {} is {}; only a draft or changes_requested version can be edited{}",
            version.sourced_id,
            version.state,
            if version.state == PUBLISHED {
                " (a published version is immutable apart from its metadata)"
            } else {
                ""
            }
        )));
    }
    Ok(())
}

/// The version named by `id` (global id or sourcedId) and its unit, read in `db` (the write
/// transaction) within the caller's read scope: `NOT_FOUND` when it does not exist or the
/// caller may not read it (contributorScope), so a contributor of one unit cannot tell another
/// unit's work in progress exists. `field` names the input field for a malformed id.
pub async fn version_named(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: &str,
    field: &str,
) -> AppResult<(curriculum_unit_version::Model, curriculum_unit::Model)> {
    let sourced_id = sourced_id_of(VERSION, field, id)?;
    let version = curriculum_unit_version::Entity::find()
        .filter(curriculum_unit_version::Entity::scope(viewer)?)
        .filter(curriculum_unit_version::Column::SourcedId.eq(sourced_id.as_str()))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(VERSION.to_owned()))?;
    let unit = curriculum_unit::Entity::find_by_id(version.unit_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(UNIT.to_owned()))?;
    Ok((version, unit))
}

/// The unit named by `id` within the caller's read scope (`NOT_FOUND` otherwise).
pub async fn unit_named(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: &str,
    field: &str,
) -> AppResult<curriculum_unit::Model> {
    let sourced_id = sourced_id_of(UNIT, field, id)?;
    curriculum_unit::Entity::find()
        .filter(curriculum_unit::Entity::scope(viewer)?)
        .filter(curriculum_unit::Column::SourcedId.eq(sourced_id.as_str()))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(UNIT.to_owned()))
}

pub mod compare;
pub mod contributions;
pub mod contributors;
pub mod reviews;
pub mod unit_skills;
pub mod units;
pub mod versions;
