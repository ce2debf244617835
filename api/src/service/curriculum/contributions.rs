//! `curriculumContributions(organization:, session:)`: what an organisation contributed to the
//! curriculum, the figure agreement commitments of type `curriculumCoDevelopment` count.
//!
//! **What counts.** Active UnitContributor rows of the organisation on active versions that
//! were not withdrawn. With a session, the rows recorded (created) within it. `versionsApproved`
//! counts the versions with a contributor of the organisation (at any time) that reached
//! `approved` within the session (a StatusHistory row `to_state = approved`, `at` in
//! [session start, session end), Hong Kong days); without a session, at any time.
//!
//! **Who.** programmeAdmin, programmeStaff and academic leads for any organisation; a
//! partnerCoordinator, schoolCoordinator or integration client (with `curriculum.read`)
//! acting for the organisation, for its own. Anyone else is `FORBIDDEN`.
//!
//! Four statements at most: the organisation, the session, the contributor rows, the
//! approvals.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    STATUS_ACTIVE, academic_session, curriculum_unit_version, org, status_history, unit_contributor,
};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::{APPROVED, CONTRIBUTION_ROLES, VERSION, WITHDRAWN};
use crate::access::{self, Reach, Scoped};
use crate::auth::{Role, Viewer};
use crate::error::{AppError, AppResult};
use crate::graphql::common::sourced_id_of;

/// The figures of one contribution role.
#[derive(Clone, Debug, PartialEq)]
pub struct RoleFigures {
    pub role: &'static str,
    pub contributors: i32,
    pub versions: i32,
    pub hours: f64,
}

/// An organisation's curriculum contributions.
#[derive(Clone, Debug)]
pub struct Summary {
    pub organization: org::Model,
    pub session: Option<academic_session::Model>,
    pub contributors: i32,
    pub versions: i32,
    pub versions_approved: i32,
    pub hours: f64,
    pub by_role: Vec<RoleFigures>,
}

/// The start of a Hong Kong day, in UTC.
fn hk_midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() - chrono::Duration::hours(8)
}

/// `FORBIDDEN` unless the caller may read the contributions of the organisation `org_sid`.
fn authorize(viewer: &Viewer, org_sid: &str) -> AppResult<()> {
    let principal = access::principal(viewer)?;
    if matches!(Reach::of(viewer), Reach::Programme)
        || (!principal.is_client() && principal.roles.contains(&Role::AcademicLead))
    {
        return Ok(());
    }
    let represents = if principal.is_client() {
        principal.has_scope("curriculum.read")
    } else {
        principal.roles.contains(&Role::PartnerCoordinator)
            || principal.roles.contains(&Role::SchoolCoordinator)
    };
    if represents && principal.org.is_some() && principal.org_sourced_id == org_sid {
        return Ok(());
    }
    Err(AppError::Forbidden)
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The contributions of `organization` (global id or sourcedId), within `session` when given.
pub async fn summary(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    organization: &str,
    session: Option<&str>,
) -> AppResult<Summary> {
    let org_sid = sourced_id_of("Organization", "organization", organization)?;
    authorize(viewer, &org_sid)?;
    let session_sid = session
        .map(|s| sourced_id_of("AcademicSession", "session", s))
        .transpose()?;
    let organization = org::Entity::find()
        .filter(org::Column::SourcedId.eq(org_sid.as_str()))
        .filter(org::Column::Status.eq(STATUS_ACTIVE))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("Organization".to_owned()))?;
    let session = match session_sid {
        None => None,
        Some(sid) => Some(
            academic_session::Entity::find()
                .filter(academic_session::Entity::scope(viewer)?)
                .filter(academic_session::Column::SourcedId.eq(sid.as_str()))
                .filter(academic_session::Column::Status.eq(STATUS_ACTIVE))
                .one(db)
                .await?
                .ok_or_else(|| AppError::NotFound("AcademicSession".to_owned()))?,
        ),
    };
    let window = session
        .as_ref()
        .map(|s| (hk_midnight(s.start_date), hk_midnight(s.end_date)));

    let counted_versions = Query::select()
        .column(curriculum_unit_version::Column::Id)
        .from(curriculum_unit_version::Entity)
        .and_where(curriculum_unit_version::Column::Status.eq(STATUS_ACTIVE))
        .and_where(curriculum_unit_version::Column::State.ne(WITHDRAWN))
        .to_owned();
    let mut rows = unit_contributor::Entity::find()
        .filter(unit_contributor::Column::OrgId.eq(organization.id))
        .filter(unit_contributor::Column::Status.eq(STATUS_ACTIVE))
        .filter(unit_contributor::Column::UnitVersionId.in_subquery(counted_versions.clone()));
    if let Some((start, end)) = window {
        rows = rows
            .filter(unit_contributor::Column::DateCreated.gte(start))
            .filter(unit_contributor::Column::DateCreated.lt(end));
    }
    let rows = rows.all(db).await?;

    let org_versions = Query::select()
        .column(unit_contributor::Column::UnitVersionId)
        .from(unit_contributor::Entity)
        .and_where(unit_contributor::Column::OrgId.eq(organization.id))
        .and_where(unit_contributor::Column::Status.eq(STATUS_ACTIVE))
        .and_where(unit_contributor::Column::UnitVersionId.in_subquery(counted_versions))
        .to_owned();
    let mut approvals = status_history::Entity::find()
        .select_only()
        .column(status_history::Column::EntityId)
        .distinct()
        .filter(status_history::Column::EntityType.eq(VERSION))
        .filter(status_history::Column::ToState.eq(APPROVED))
        .filter(status_history::Column::EntityId.in_subquery(org_versions));
    if let Some((start, end)) = window {
        approvals = approvals
            .filter(status_history::Column::At.gte(start))
            .filter(status_history::Column::At.lt(end));
    }
    let approved: Vec<i64> = approvals.into_tuple().all(db).await?;

    let persons: HashSet<i64> = rows.iter().map(|r| r.person_id).collect();
    let versions: HashSet<i64> = rows.iter().map(|r| r.unit_version_id).collect();
    let hours: f64 = rows.iter().filter_map(|r| r.hours_contributed).sum();
    let mut by_role: BTreeMap<usize, (HashSet<i64>, HashSet<i64>, f64)> = BTreeMap::new();
    for row in &rows {
        let Some(index) = CONTRIBUTION_ROLES
            .iter()
            .position(|r| *r == row.contribution_role)
        else {
            continue;
        };
        let entry = by_role.entry(index).or_default();
        entry.0.insert(row.person_id);
        entry.1.insert(row.unit_version_id);
        entry.2 += row.hours_contributed.unwrap_or(0.0);
    }
    Ok(Summary {
        organization,
        session,
        contributors: count(persons.len()),
        versions: count(versions.len()),
        versions_approved: count(approved.iter().collect::<HashSet<_>>().len()),
        hours,
        by_role: by_role
            .into_iter()
            .map(|(index, (people, versions, hours))| RoleFigures {
                role: CONTRIBUTION_ROLES[index],
                contributors: count(people.len()),
                versions: count(versions.len()),
                hours,
            })
            .collect(),
    })
}
