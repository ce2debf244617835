//! Contributors, reviews and unit skills of a curriculum unit version (DOMAIN.md area C):
//! `addUnitContributor`, `updateUnitContributor`, `removeUnitContributor`,
//! `reviewCurriculumUnitVersion`, `setCurriculumUnitVersionSkills`, and the
//! `curriculumContributions` figures. Rules and roles are in the services under
//! [`crate::service::curriculum`].

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object, Result, SimpleObject};

use super::calendar::AcademicSession;
use super::common::DbEnum;
use super::connection::{db, viewer};
use super::curriculum::{
    ContributionRole, CurriculumUnitVersion, ReviewDecision, SkillCoverage, UnitContributor,
    UnitReview,
};
use super::orgs::Organization;
use super::payload::{UserError, failed};
use crate::error::ResultExt;
use crate::service::curriculum::contributors::{ContributorPatch, NewContributor};
use crate::service::curriculum::unit_skills::SkillItem;
use crate::service::curriculum::{contributions, contributors, curator, reviews, unit_skills};
use crate::service::write::Patch;

/// A contributor to add to a unit version.
#[derive(InputObject)]
pub struct AddUnitContributorInput {
    /// The unit version (global id or sourcedId); it must be draft, in review or changes
    /// requested.
    pub unit_version: ID,
    /// The contributor (global id or sourcedId): an active person holding an active role other
    /// than student or guardian at `org`.
    pub person: ID,
    /// The organisation the person contributes for (global id or sourcedId).
    pub org: ID,
    /// What they do for the version.
    pub contribution_role: ContributionRole,
    /// Hours contributed so far (0 to 2,000).
    pub hours_contributed: Option<f64>,
    /// The sourcedId to give the contributor; a UUID is minted when omitted.
    pub sourced_id: Option<String>,
    /// Extension data: a JSON object of at most 16 KB.
    pub metadata: Option<Json<serde_json::Value>>,
}

/// The result of `addUnitContributor`.
#[derive(SimpleObject, Default)]
pub struct AddUnitContributorPayload {
    /// The new contributor; null when nothing was written.
    pub unit_contributor: Option<UnitContributor>,
    /// Expected failures; nothing was written when there are any.
    pub user_errors: Vec<UserError>,
}

/// Changes to a contributor: their hours and metadata.
#[derive(InputObject)]
pub struct UpdateUnitContributorInput {
    /// The contributor (global id or sourcedId).
    pub id: ID,
    /// The version last read; a different current version is `VERSION_CONFLICT`.
    pub expected_version: Option<i32>,
    /// Hours contributed (0 to 2,000); null clears, omitted leaves unchanged.
    pub hours_contributed: MaybeUndefined<f64>,
    /// Extension data (a JSON object of at most 16 KB); null clears, omitted leaves unchanged.
    pub metadata: MaybeUndefined<Json<serde_json::Value>>,
}

/// The result of `updateUnitContributor`.
#[derive(SimpleObject, Default)]
pub struct UpdateUnitContributorPayload {
    /// The contributor after the change; null when nothing was written.
    pub unit_contributor: Option<UnitContributor>,
    /// Expected failures; nothing was written when there are any.
    pub user_errors: Vec<UserError>,
}

/// The contributor to remove.
#[derive(InputObject)]
pub struct RemoveUnitContributorInput {
    /// The contributor (global id or sourcedId).
    pub id: ID,
    /// The version last read; a different current version is `VERSION_CONFLICT`.
    pub expected_version: Option<i32>,
}

/// The result of `removeUnitContributor`.
#[derive(SimpleObject, Default)]
pub struct RemoveUnitContributorPayload {
    /// The contributor's tombstone; null when nothing was written.
    pub unit_contributor: Option<UnitContributor>,
    /// Expected failures; nothing was written when there are any.
    pub user_errors: Vec<UserError>,
}

/// A review to record.
#[derive(InputObject)]
pub struct ReviewCurriculumUnitVersionInput {
    /// The unit version (global id or sourcedId).
    pub unit_version: ID,
    /// `COMMENT` or `APPROVE`. Ask for changes with `requestCurriculumUnitVersionChanges`.
    pub decision: ReviewDecision,
    /// The review's text (at most 4,000 characters); required for a comment.
    pub comments: Option<String>,
}

/// The result of `reviewCurriculumUnitVersion`.
#[derive(SimpleObject, Default)]
pub struct ReviewCurriculumUnitVersionPayload {
    /// The review recorded; null when nothing was written.
    pub unit_review: Option<UnitReview>,
    /// Expected failures; nothing was written when there are any.
    pub user_errors: Vec<UserError>,
}

/// A skill a unit version covers.
#[derive(InputObject)]
pub struct UnitSkillInput {
    /// The skill (global id or sourcedId); it must be active.
    pub skill: ID,
    /// How far the version takes it.
    pub coverage: SkillCoverage,
}

/// The full set of skills of a unit version.
#[derive(InputObject)]
pub struct SetCurriculumUnitVersionSkillsInput {
    /// The unit version (global id or sourcedId); it must be draft or changes requested.
    pub id: ID,
    /// The version's `version` last read; a different current version is `VERSION_CONFLICT`.
    pub expected_version: Option<i32>,
    /// Every skill the version covers (at most 100, each once); skills not listed are removed.
    pub skills: Vec<UnitSkillInput>,
}

/// The result of `setCurriculumUnitVersionSkills`.
#[derive(SimpleObject, Default)]
pub struct SetCurriculumUnitVersionSkillsPayload {
    /// The unit version after the change (its `version` is one higher when the set changed).
    pub curriculum_unit_version: Option<CurriculumUnitVersion>,
    /// Expected failures; nothing was written when there are any.
    pub user_errors: Vec<UserError>,
}

fn patch<T>(value: MaybeUndefined<T>) -> Patch<T> {
    match value {
        MaybeUndefined::Undefined => Patch::Unchanged,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(v) => Patch::Set(v),
    }
}

#[derive(Default)]
pub struct CurriculumContributionsMutation;

#[Object]
impl CurriculumContributionsMutation {
    /// Adds a contributor to a unit version in draft, in review or changes requested. By
    /// programmeAdmin/programmeStaff, the academic lead of the owning org, or an author of the
    /// version. The contributor (and, for a coordinator, their organisation) then reads the
    /// version. The same person twice in the same role is `DUPLICATE`.
    async fn add_unit_contributor(
        &self,
        ctx: &Context<'_>,
        input: AddUnitContributorInput,
    ) -> Result<AddUnitContributorPayload> {
        let viewer = viewer(ctx).extend()?;
        curator(viewer).extend()?;
        let new = NewContributor {
            unit_version: input.unit_version.as_str(),
            person: input.person.as_str(),
            org: input.org.as_str(),
            role: input.contribution_role.db(),
            hours: input.hours_contributed,
            sourced_id: input.sourced_id.as_deref(),
            metadata: input.metadata.map(|j| j.0),
        };
        match contributors::add(db(ctx).extend()?, viewer, new).await {
            Ok(row) => Ok(AddUnitContributorPayload {
                unit_contributor: Some(row.into()),
                user_errors: Vec::new(),
            }),
            Err(error) => failed(error, |p: &mut AddUnitContributorPayload, e| {
                p.user_errors.push(e)
            }),
        }
    }

    /// Updates a contributor's hours and metadata, also after approval or publication (hours are
    /// often recorded after the fact; not once the version is withdrawn or retired). By the
    /// staff, the owning academic lead, an author of the version, the contributor, or a
    /// coordinator (or client) of the contributor's organisation.
    async fn update_unit_contributor(
        &self,
        ctx: &Context<'_>,
        input: UpdateUnitContributorInput,
    ) -> Result<UpdateUnitContributorPayload> {
        let viewer = viewer(ctx).extend()?;
        curator(viewer).extend()?;
        let changes = ContributorPatch {
            hours: patch(input.hours_contributed),
            metadata: patch(input.metadata).map_json(),
        };
        match contributors::update(
            db(ctx).extend()?,
            viewer,
            input.id.as_str(),
            input.expected_version,
            changes,
        )
        .await
        {
            Ok(row) => Ok(UpdateUnitContributorPayload {
                unit_contributor: Some(row.into()),
                user_errors: Vec::new(),
            }),
            Err(error) => failed(error, |p: &mut UpdateUnitContributorPayload, e| {
                p.user_errors.push(e)
            }),
        }
    }

    /// Removes a contributor (a tombstone) while the version is draft, in review or changes
    /// requested. By the staff, the owning academic lead or an author. The last author of a
    /// version cannot be removed (`INVALID_TRANSITION`).
    async fn remove_unit_contributor(
        &self,
        ctx: &Context<'_>,
        input: RemoveUnitContributorInput,
    ) -> Result<RemoveUnitContributorPayload> {
        let viewer = viewer(ctx).extend()?;
        curator(viewer).extend()?;
        match contributors::remove(
            db(ctx).extend()?,
            viewer,
            input.id.as_str(),
            input.expected_version,
        )
        .await
        {
            Ok(row) => Ok(RemoveUnitContributorPayload {
                unit_contributor: Some(row.into()),
                user_errors: Vec::new(),
            }),
            Err(error) => failed(error, |p: &mut RemoveUnitContributorPayload, e| {
                p.user_errors.push(e)
            }),
        }
    }

    /// Records a review of a unit version: a `COMMENT` (in draft, in review or changes
    /// requested) or an `APPROVE` opinion (in review). Reviews are append-only and never change
    /// the version's state (`approveCurriculumUnitVersion` and
    /// `requestCurriculumUnitVersionChanges` do). By the curriculum staff or a contributor of
    /// the version; the reviewer is the caller's Person (a client without one is `FORBIDDEN`).
    async fn review_curriculum_unit_version(
        &self,
        ctx: &Context<'_>,
        input: ReviewCurriculumUnitVersionInput,
    ) -> Result<ReviewCurriculumUnitVersionPayload> {
        let viewer = viewer(ctx).extend()?;
        curator(viewer).extend()?;
        match reviews::review(
            db(ctx).extend()?,
            viewer,
            input.unit_version.as_str(),
            input.decision.db(),
            input.comments.as_deref(),
        )
        .await
        {
            Ok(row) => Ok(ReviewCurriculumUnitVersionPayload {
                unit_review: Some(row.into()),
                user_errors: Vec::new(),
            }),
            Err(error) => failed(error, |p: &mut ReviewCurriculumUnitVersionPayload, e| {
                p.user_errors.push(e)
            }),
        }
    }

    /// Replaces the skills a unit version covers (draft or changes requested; by its editors).
    /// Removed skills are deleted, changed coverages updated, new skills added; the version's
    /// `version` goes up by one when anything changed, and the same set again writes nothing.
    async fn set_curriculum_unit_version_skills(
        &self,
        ctx: &Context<'_>,
        input: SetCurriculumUnitVersionSkillsInput,
    ) -> Result<SetCurriculumUnitVersionSkillsPayload> {
        let viewer = viewer(ctx).extend()?;
        curator(viewer).extend()?;
        let items: Vec<SkillItem<'_>> = input
            .skills
            .iter()
            .map(|s| SkillItem {
                skill: s.skill.as_str(),
                coverage: s.coverage.db(),
            })
            .collect();
        match unit_skills::set(
            db(ctx).extend()?,
            viewer,
            input.id.as_str(),
            input.expected_version,
            &items,
        )
        .await
        {
            Ok(row) => Ok(SetCurriculumUnitVersionSkillsPayload {
                curriculum_unit_version: Some(row.into()),
                user_errors: Vec::new(),
            }),
            Err(error) => failed(error, |p: &mut SetCurriculumUnitVersionSkillsPayload, e| {
                p.user_errors.push(e)
            }),
        }
    }
}

trait JsonPatch {
    fn map_json(self) -> Patch<serde_json::Value>;
}

impl JsonPatch for Patch<Json<serde_json::Value>> {
    fn map_json(self) -> Patch<serde_json::Value> {
        match self {
            Patch::Unchanged => Patch::Unchanged,
            Patch::Clear => Patch::Clear,
            Patch::Set(j) => Patch::Set(j.0),
        }
    }
}

/// The figures of one contribution role.
#[derive(SimpleObject, Clone, Debug)]
pub struct RoleContribution {
    /// The role.
    pub role: ContributionRole,
    /// Distinct persons in this role.
    pub contributors: i32,
    /// Distinct versions they contributed to in this role.
    pub versions: i32,
    /// Hours recorded in this role.
    pub hours: f64,
}

/// What an organisation contributed to the curriculum: active contributors on versions that
/// were not withdrawn, within a session or all time.
#[derive(SimpleObject)]
pub struct CurriculumContributionSummary {
    /// The organisation.
    pub organization: Organization,
    /// The session the figures cover; null for all time.
    pub session: Option<AcademicSession>,
    /// Distinct persons who contributed for the organisation.
    pub contributors: i32,
    /// Distinct unit versions they contributed to.
    pub versions: i32,
    /// Versions with a contributor of the organisation that reached approved within the
    /// session (all time without one): what `curriculumCoDevelopment` commitments count.
    pub versions_approved: i32,
    /// Hours recorded.
    pub hours: f64,
    /// The same figures by contribution role (roles without contributions left out).
    pub by_role: Vec<RoleContribution>,
}

#[derive(Default)]
pub struct CurriculumContributionsQuery;

#[Object]
impl CurriculumContributionsQuery {
    /// An organisation's curriculum contributions, within `session` (contributors recorded
    /// and approvals reached in it) or all time. The curriculum staff read any organisation's;
    /// a partner or school coordinator (or a client with `curriculum.read`) its own; anyone else
    /// is `FORBIDDEN`.
    async fn curriculum_contributions(
        &self,
        ctx: &Context<'_>,
        organization: ID,
        session: Option<ID>,
    ) -> Result<CurriculumContributionSummary> {
        let summary = contributions::summary(
            db(ctx).extend()?,
            viewer(ctx).extend()?,
            organization.as_str(),
            session.as_ref().map(|s| s.as_str()),
        )
        .await
        .extend()?;
        let mut by_role = Vec::with_capacity(summary.by_role.len());
        for figures in summary.by_role {
            by_role.push(RoleContribution {
                role: super::record::required_enum(figures.role)?,
                contributors: figures.contributors,
                versions: figures.versions,
                hours: figures.hours,
            });
        }
        Ok(CurriculumContributionSummary {
            organization: summary.organization.into(),
            session: summary.session.map(Into::into),
            contributors: summary.contributors,
            versions: summary.versions,
            versions_approved: summary.versions_approved,
            hours: summary.hours,
            by_role,
        })
    }
}
