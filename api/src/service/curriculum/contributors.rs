//! UnitContributor writes (DOMAIN.md area C): `addUnitContributor`, `updateUnitContributor`,
//! `removeUnitContributor`.
//!
//! **Who.** Adding and removing: programmeAdmin/programmeStaff, the academicLead of the
//! owning org, or an author of the version. Updating (hours, metadata) also the contributor
//! themselves and whoever represents the contributor's organisation (its partnerCoordinator,
//! schoolCoordinator or integration client).
//!
//! **When.** Contributors are added and removed while the version is being written
//! (draft, in_review, changes_requested); hours are often recorded after the fact, so an
//! update is also allowed once the version is approved or published. The last active author of
//! a version cannot be removed.

use chrono::NaiveDate;
use entity::{STATUS_ACTIVE, org, person, role_assignment, unit_contributor};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, Set,
};

use super::{
    AUTHOR, CHANGES_REQUESTED, CONTRIBUTION_ROLES, CONTRIBUTOR, Curator, DRAFT, IN_REVIEW, curator,
    version_named,
};
use crate::access::{self, Scoped};
use crate::auth::{Role, Viewer};
use crate::changes;
use crate::error::{AppError, AppResult};
use crate::graphql::common::sourced_id_of;
use crate::service::write::{self, Patch, VersionedUpdate};

/// States in which contributors are added and removed.
pub const STAFFING_STATES: [&str; 3] = [DRAFT, IN_REVIEW, CHANGES_REQUESTED];
/// States in which a contributor's hours and metadata may be updated.
pub const RECORDING_STATES: [&str; 5] = [
    DRAFT,
    IN_REVIEW,
    CHANGES_REQUESTED,
    super::APPROVED,
    super::PUBLISHED,
];
/// Most hours one contributor may record on one version.
pub const MAX_HOURS: f64 = 2000.0;

/// A contributor to add. References are global ids or sourcedIds, as given.
#[derive(Clone, Debug)]
pub struct NewContributor<'a> {
    pub unit_version: &'a str,
    pub person: &'a str,
    pub org: &'a str,
    /// One of [`CONTRIBUTION_ROLES`].
    pub role: &'a str,
    pub hours: Option<f64>,
    pub sourced_id: Option<&'a str>,
    pub metadata: Option<serde_json::Value>,
}

/// The changes to a contributor.
#[derive(Clone, Debug, Default)]
pub struct ContributorPatch {
    pub hours: Patch<f64>,
    pub metadata: Patch<serde_json::Value>,
}

/// `BAD_USER_INPUT` on `hoursContributed` unless the hours are within 0 to [`MAX_HOURS`].
fn check_hours(hours: f64) -> AppResult<()> {
    if !hours.is_finite() || !(0.0..=MAX_HOURS).contains(&hours) {
        return Err(AppError::bad_input(
            "hoursContributed",
            format!("`hoursContributed` must be between 0 and {MAX_HOURS}"),
        ));
    }
    Ok(())
}

/// Role assignments in force on `day` of anyone but students and guardians.
fn working_role_on(day: NaiveDate) -> Condition {
    Condition::all()
        .add(role_assignment::Column::Status.eq(STATUS_ACTIVE))
        .add(
            role_assignment::Column::Role
                .is_not_in([Role::Student.as_str(), Role::Guardian.as_str()]),
        )
        .add(role_assignment::Column::BeginDate.lte(day))
        .add(
            Condition::any()
                .add(role_assignment::Column::EndDate.is_null())
                .add(role_assignment::Column::EndDate.gt(day)),
        )
}

/// Adds a contributor to a version being written. `NOT_FOUND` when the caller may not read the
/// version; `FORBIDDEN` unless staff, the owning lead or an author; `INVALID_TRANSITION` unless
/// the version is draft, in_review or changes_requested; `BAD_USER_INPUT` on `person` (not an
/// active person with an active non-student, non-guardian role at `org`), `org`,
/// `hoursContributed`, `metadata`, `sourcedId`; `DUPLICATE` for the same person in the same role
/// on the version, or a taken sourcedId.
#[tracing::instrument(skip_all, fields(unit_version = %new.unit_version))]
pub async fn add(
    db: &DatabaseConnection,
    viewer: &Viewer,
    new: NewContributor<'_>,
) -> AppResult<unit_contributor::Model> {
    let curator = curator(viewer)?;
    let txn = write::begin(db).await?;
    let (version, unit) = version_named(&txn, viewer, new.unit_version, "unitVersion").await?;
    if !(curator.is_programme()
        || curator.leads(unit.owning_org_id)
        || curator.contributes_as(&txn, version.id, &[AUTHOR]).await?)
    {
        return Err(AppError::Forbidden);
    }
    require_state(&version, &STAFFING_STATES, "add contributors to")?;

    if !CONTRIBUTION_ROLES.contains(&new.role) {
        return Err(AppError::bad_input(
            "contributionRole",
            format!("unknown contribution role {:?}", new.role),
        ));
    }
    if let Some(hours) = new.hours {
        check_hours(hours)?;
    }
    let metadata = write::metadata(new.metadata, "metadata")?;
    let sourced_id = write::new_sourced_id(new.sourced_id, "sourcedId")?;
    let organisation =
        write::reference::<org::Entity>(&txn, "Organization", "org", new.org).await?;
    let person_sid = sourced_id_of("Person", "person", new.person)?;
    let person = person::Entity::find()
        .filter(person::Column::SourcedId.eq(person_sid.as_str()))
        .filter(person::Column::Status.eq(STATUS_ACTIVE))
        .filter(
            person::Column::Id.in_subquery(
                Query::select()
                    .column(role_assignment::Column::PersonId)
                    .from(role_assignment::Entity)
                    .cond_where(working_role_on(access::today()))
                    .and_where(role_assignment::Column::OrgId.eq(organisation.id))
                    .to_owned(),
            ),
        )
        .one(&txn)
        .await?
        .ok_or_else(|| {
            AppError::bad_input(
                "person",
                format!(
                    "{person_sid:?} is not an active person holding an active role (other than \
                     student or guardian) at {}",
                    organisation.sourced_id
                ),
            )
        })?;
    if unit_contributor::Entity::find()
        .filter(unit_contributor::Column::UnitVersionId.eq(version.id))
        .filter(unit_contributor::Column::PersonId.eq(person.id))
        .filter(unit_contributor::Column::ContributionRole.eq(new.role))
        .filter(unit_contributor::Column::Status.eq(STATUS_ACTIVE))
        .count(&txn)
        .await?
        > 0
    {
        return Err(write::duplicate(format!(
            "{} is already a {} of curriculum unit version {}",
            person.sourced_id, new.role, version.sourced_id
        )));
    }
    if unit_contributor::Entity::find()
        .filter(unit_contributor::Column::SourcedId.eq(sourced_id.as_str()))
        .count(&txn)
        .await?
        > 0
    {
        return Err(write::duplicate(format!(
            "a UnitContributor with sourcedId {sourced_id} already exists"
        )));
    }

    let now = changes::now();
    let row = unit_contributor::ActiveModel {
        sourced_id: Set(sourced_id),
        status: Set(STATUS_ACTIVE.to_owned()),
        date_created: Set(now),
        date_last_modified: Set(now),
        version: Set(1),
        metadata: Set(metadata),
        created_by: Set(Some(curator.actor.subject.clone())),
        modified_by: Set(Some(curator.actor.subject.clone())),
        unit_version_id: Set(version.id),
        person_id: Set(person.id),
        org_id: Set(organisation.id),
        contribution_role: Set(new.role.to_owned()),
        hours_contributed: Set(new.hours),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    write::emit(
        &txn,
        &[write::change(
            CONTRIBUTOR,
            row.id,
            &row.sourced_id,
            changes::CREATE,
            row.version,
        )],
        now,
    )
    .await?;
    txn.commit().await?;
    tracing::info!(unit_contributor.sourced_id = %row.sourced_id, "unit contributor added");
    Ok(row)
}

/// `INVALID_TRANSITION` unless the version is active and in one of `states`.
fn require_state(
    version: &entity::curriculum_unit_version::Model,
    states: &[&str],
    what: &str,
) -> AppResult<()> {
    if version.status != STATUS_ACTIVE || !states.contains(&version.state.as_str()) {
        return Err(write::invalid_transition(format!(
            "cannot {what} curriculum unit version {}: it is {}; only a {} version allows it",
            version.sourced_id,
            if version.status == STATUS_ACTIVE {
                version.state.as_str()
            } else {
                "deleted"
            },
            states.join(", ")
        )));
    }
    Ok(())
}

/// The contributor row named by `id` within the caller's read scope (`NOT_FOUND` otherwise),
/// with its version and unit, read in the write transaction.
async fn contributor_named(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: &str,
) -> AppResult<(
    unit_contributor::Model,
    entity::curriculum_unit_version::Model,
    entity::curriculum_unit::Model,
)> {
    let sourced_id = sourced_id_of(CONTRIBUTOR, "id", id)?;
    let row = unit_contributor::Entity::find()
        .filter(unit_contributor::Entity::scope(viewer)?)
        .filter(unit_contributor::Column::SourcedId.eq(sourced_id.as_str()))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(CONTRIBUTOR.to_owned()))?;
    let version = entity::curriculum_unit_version::Entity::find_by_id(row.unit_version_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(super::VERSION.to_owned()))?;
    let unit = entity::curriculum_unit::Entity::find_by_id(version.unit_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(super::UNIT.to_owned()))?;
    Ok((row, version, unit))
}

/// Whether the caller is the contributor, or represents the contributor's organisation.
fn speaks_for(curator: &Curator<'_>, row: &unit_contributor::Model) -> bool {
    let principal = curator.principal;
    (!principal.is_client() && principal.person_id == Some(row.person_id))
        || (curator.represents_org() && principal.org.as_ref().map(|o| o.id) == Some(row.org_id))
}

/// Updates a contributor's hours and metadata. `NOT_FOUND` when the caller may not read it;
/// `FORBIDDEN` unless staff, the owning lead, an author of the version, the contributor or their
/// organisation's representative; `INVALID_TRANSITION` when the row is deleted or the version
/// withdrawn or retired; `VERSION_CONFLICT`; `BAD_USER_INPUT` on `hoursContributed`, `metadata`.
#[tracing::instrument(skip_all, fields(unit_contributor = %id))]
pub async fn update(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: &str,
    expected_version: Option<i32>,
    patch: ContributorPatch,
) -> AppResult<unit_contributor::Model> {
    let curator = curator(viewer)?;
    let txn = write::begin(db).await?;
    let (row, version, unit) = contributor_named(&txn, viewer, id).await?;
    if !(curator.is_programme()
        || curator.leads(unit.owning_org_id)
        || speaks_for(&curator, &row)
        || curator.contributes_as(&txn, version.id, &[AUTHOR]).await?)
    {
        return Err(AppError::Forbidden);
    }
    if row.status != STATUS_ACTIVE {
        return Err(write::invalid_transition(format!(
            "unit contributor {} is deleted",
            row.sourced_id
        )));
    }
    require_state(&version, &RECORDING_STATES, "update the contributors of")?;
    write::check_expected_version(CONTRIBUTOR, &row.sourced_id, row.version, expected_version)?;

    let mut set = Vec::new();
    match patch.hours {
        Patch::Unchanged => {}
        Patch::Clear => set.push((
            unit_contributor::Column::HoursContributed,
            Expr::value(Option::<f64>::None),
        )),
        Patch::Set(hours) => {
            check_hours(hours)?;
            set.push((
                unit_contributor::Column::HoursContributed,
                Expr::value(hours),
            ));
        }
    }
    match patch.metadata {
        Patch::Unchanged => {}
        Patch::Clear => set.push((
            unit_contributor::Column::Metadata,
            Expr::value(Option::<serde_json::Value>::None),
        )),
        Patch::Set(value) => {
            write::check_metadata(&value, "metadata")?;
            set.push((unit_contributor::Column::Metadata, Expr::value(value)));
        }
    }
    if set.is_empty() {
        txn.commit().await?;
        return Ok(row);
    }
    let now = changes::now();
    let new_version = write::update_versioned::<unit_contributor::Entity>(
        &txn,
        VersionedUpdate {
            type_name: CONTRIBUTOR,
            sourced_id: row.sourced_id.clone(),
            id: row.id,
            version: expected_version.unwrap_or(row.version),
            guard: Some(Expr::col(unit_contributor::Column::Status).eq(STATUS_ACTIVE)),
            set,
        },
        &curator.actor,
        now,
    )
    .await?;
    write::emit(
        &txn,
        &[write::change(
            CONTRIBUTOR,
            row.id,
            &row.sourced_id,
            changes::UPDATE,
            new_version,
        )],
        now,
    )
    .await?;
    let updated = unit_contributor::Entity::find_by_id(row.id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::NotFound(CONTRIBUTOR.to_owned()))?;
    txn.commit().await?;
    Ok(updated)
}

/// Removes a contributor (tombstone and `delete` event). `NOT_FOUND` when the caller may not
/// read it; `FORBIDDEN` unless staff, the owning lead or an author; `INVALID_TRANSITION` when
/// already deleted, when the version is not draft, in_review or changes_requested, or when it
/// is the version's last active author; `VERSION_CONFLICT`.
#[tracing::instrument(skip_all, fields(unit_contributor = %id))]
pub async fn remove(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: &str,
    expected_version: Option<i32>,
) -> AppResult<unit_contributor::Model> {
    let curator = curator(viewer)?;
    let txn = write::begin(db).await?;
    let (row, version, unit) = contributor_named(&txn, viewer, id).await?;
    if !(curator.is_programme()
        || curator.leads(unit.owning_org_id)
        || curator.contributes_as(&txn, version.id, &[AUTHOR]).await?)
    {
        return Err(AppError::Forbidden);
    }
    if row.status != STATUS_ACTIVE {
        return Err(write::invalid_transition(format!(
            "unit contributor {} is already deleted",
            row.sourced_id
        )));
    }
    require_state(&version, &STAFFING_STATES, "remove contributors from")?;
    write::check_expected_version(CONTRIBUTOR, &row.sourced_id, row.version, expected_version)?;
    if row.contribution_role == AUTHOR
        && unit_contributor::Entity::find()
            .filter(unit_contributor::Column::UnitVersionId.eq(version.id))
            .filter(unit_contributor::Column::ContributionRole.eq(AUTHOR))
            .filter(unit_contributor::Column::Status.eq(STATUS_ACTIVE))
            .filter(unit_contributor::Column::Id.ne(row.id))
            .count(&txn)
            .await?
            == 0
    {
        return Err(write::invalid_transition(format!(
            "unit contributor {} is the last author of curriculum unit version {}; add another \
             author first",
            row.sourced_id, version.sourced_id
        )));
    }
    let now = changes::now();
    write::tombstone::<unit_contributor::Entity>(
        &txn,
        CONTRIBUTOR,
        row.id,
        &row.sourced_id,
        expected_version.unwrap_or(row.version),
        &curator.actor,
        now,
    )
    .await?;
    revoke_lost_access(&txn, &row, &version, now).await?;
    let removed = unit_contributor::Entity::find_by_id(row.id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::NotFound(CONTRIBUTOR.to_owned()))?;
    txn.commit().await?;
    tracing::info!(unit_contributor.sourced_id = %removed.sourced_id, "unit contributor removed");
    Ok(removed)
}

/// After `removed` is tombstoned: when its organisation has no other active contributor row on
/// the version and the version is not public, that organisation has lost contributorScope on
/// it. Its principals get `accessRevoked` for the version and the records they read through it
/// (its contributors, unit skills and reviews, and the unit when nothing else of it stays
/// visible to them), so a partner system mirroring the feed purges its copy (API.md section 7).
async fn revoke_lost_access(
    db: &impl ConnectionTrait,
    removed: &unit_contributor::Model,
    version: &entity::curriculum_unit_version::Model,
    at: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    use entity::{curriculum_unit, curriculum_unit_version, unit_review, unit_skill};

    use crate::access::curriculum::PUBLIC_VERSION_STATES;

    let org = removed.org_id;
    if PUBLIC_VERSION_STATES.contains(&version.state.as_str())
        || unit_contributor::Entity::find()
            .filter(unit_contributor::Column::UnitVersionId.eq(version.id))
            .filter(unit_contributor::Column::OrgId.eq(org))
            .filter(unit_contributor::Column::Status.eq(STATUS_ACTIVE))
            .count(db)
            .await?
            > 0
    {
        return Ok(());
    }
    let revoked =
        |entity_type: &'static str, id: i64, sourced_id: &str, version: i32| changes::Change {
            entity_type,
            entity_id: id,
            sourced_id: sourced_id.to_owned(),
            operation: changes::ACCESS_REVOKED,
            version,
            audience_org_id: Some(org),
        };
    let mut events = vec![revoked(
        super::VERSION,
        version.id,
        &version.sourced_id,
        version.version,
    )];
    for row in unit_contributor::Entity::find()
        .filter(unit_contributor::Column::UnitVersionId.eq(version.id))
        .filter(unit_contributor::Column::Status.eq(STATUS_ACTIVE))
        .all(db)
        .await?
    {
        events.push(revoked(CONTRIBUTOR, row.id, &row.sourced_id, row.version));
    }
    for row in unit_skill::Entity::find()
        .filter(unit_skill::Column::UnitVersionId.eq(version.id))
        .filter(unit_skill::Column::Status.eq(STATUS_ACTIVE))
        .all(db)
        .await?
    {
        events.push(revoked(
            super::UNIT_SKILL,
            row.id,
            &row.sourced_id,
            row.version,
        ));
    }
    for row in unit_review::Entity::find()
        .filter(unit_review::Column::UnitVersionId.eq(version.id))
        .all(db)
        .await?
    {
        events.push(revoked(super::REVIEW, row.id, &row.sourced_id, row.version));
    }
    // The unit stays visible with a public version, or another version the org contributes to.
    let still_contributing = Query::select()
        .column(unit_contributor::Column::UnitVersionId)
        .from(unit_contributor::Entity)
        .and_where(unit_contributor::Column::OrgId.eq(org))
        .and_where(unit_contributor::Column::Status.eq(STATUS_ACTIVE))
        .to_owned();
    let unit_visible = curriculum_unit_version::Entity::find()
        .filter(curriculum_unit_version::Column::UnitId.eq(version.unit_id))
        .filter(curriculum_unit_version::Column::Status.eq(STATUS_ACTIVE))
        .filter(
            Condition::any()
                .add(
                    curriculum_unit_version::Column::State
                        .is_in(PUBLIC_VERSION_STATES.iter().copied()),
                )
                .add(curriculum_unit_version::Column::Id.in_subquery(still_contributing)),
        )
        .count(db)
        .await?
        > 0;
    if !unit_visible
        && let Some(unit) = curriculum_unit::Entity::find_by_id(version.unit_id)
            .one(db)
            .await?
    {
        events.push(revoked(
            super::UNIT,
            unit.id,
            &unit.sourced_id,
            unit.version,
        ));
    }
    write::emit(db, &events, at).await
}
