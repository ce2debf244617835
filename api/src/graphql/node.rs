//! The `Node` and `Record` interfaces and the `node`/`nodes` lookups (API.md section 2). An id the
//! caller may not see resolves exactly like one that does not exist.

use std::collections::HashMap;

use async_graphql::{Context, ID, Interface, Object, Result};
use chrono::{DateTime, Utc};
use entity::*;

use super::audit::AccessAuditEvent;
use super::calendar::AcademicSession;
use super::clients::ApiClient;
use super::common::{RecordStatus, decode_global_id};
use super::connection::load_by_sourced_ids;
use super::courses::{Course, CourseOffering};
use super::curriculum::{
    CurriculumUnit, CurriculumUnitVersion, UnitContributor, UnitReview, UnitSkill,
};
use super::enrollments::{CourseEnrollment, PathwayEnrollment};
use super::mentorships::Mentorship;
use super::orgs::Organization;
use super::pathways::{Cohort, Pathway, PathwayStage, StageCourse};
use super::people::{ConsentRecord, ExternalId, GuardianLink, Person, RoleAssignment};
use super::skills::{FutureJob, JobDuty, JobSkillRequirement, Skill, SkillEvidence, SkillMap};
use crate::error::{AppError, AppResult, ResultExt};

type Metadata = Option<async_graphql::Json<serde_json::Value>>;

macro_rules! node_types {
    ($($variant:ident => $module:ident),* $(,)?) => {
        /// Any object with a global id.
        #[derive(Interface, Clone)]
        #[graphql(field(name = "id", ty = "&ID", desc = "Opaque global id."))]
        pub enum Node {
            $($variant($variant),)*
        }

        /// The common fields of every record (API.md section 2).
        #[derive(Interface)]
        #[graphql(
            field(name = "id", ty = "&ID", desc = "Opaque global id, accepted wherever an ID is taken."),
            field(name = "sourced_id", ty = "&String", desc = "Stable public id; never personal data."),
            field(name = "status", ty = "&RecordStatus", desc = "`ACTIVE`, or `TOBEDELETED` for a tombstone."),
            field(name = "date_created", ty = "&DateTime<Utc>", desc = "Creation time (UTC)."),
            field(name = "date_last_modified", ty = "&DateTime<Utc>", desc = "Time of the last write (UTC)."),
            field(name = "version", ty = "&i32", desc = "+1 on every write; used for optimistic concurrency."),
            field(name = "metadata", ty = "&Metadata", desc = "Free extension object.")
        )]
        pub enum Record {
            $($variant($variant),)*
        }

        /// Whether `name` is the name of a node type.
        pub fn is_type_name(name: &str) -> bool {
            matches!(name, $(stringify!($variant))|*)
        }

        /// The caller's row condition on the table of node type `type_name` (`None` for a
        /// name that is not a node type): `UNAUTHENTICATED` or `FORBIDDEN` when the caller may
        /// never read that type.
        pub(crate) fn scope_of_type(type_name: &str, viewer: &crate::auth::Viewer) -> Option<AppResult<sea_orm::Condition>> {
            match type_name {
                $(stringify!($variant) => Some(<$module::Entity as crate::access::Scoped>::scope(viewer)),)*
                _ => None,
            }
        }

        /// The table of node type `type_name` (each entity module is named after its table).
        pub(crate) fn table_of_type(type_name: &str) -> Option<&'static str> {
            match type_name {
                $(stringify!($variant) => Some(stringify!($module)),)*
                _ => None,
            }
        }

        /// Loads nodes of one type by sourcedId in the caller's scope (tombstones included),
        /// through the request's DataLoader: one statement per call.
        pub(crate) async fn load_nodes(ctx: &Context<'_>, type_name: &str, ids: Vec<String>) -> AppResult<HashMap<String, Node>> {
            match type_name {
                $(stringify!($variant) => Ok(load_by_sourced_ids::<$module::Entity>(ctx, ids)
                    .await?
                    .into_iter()
                    .map(|(k, v)| (k, Node::$variant($variant::from(v))))
                    .collect()),)*
                _ => Ok(HashMap::new()),
            }
        }
    };
}

node_types!(
    Organization => org,
    Person => person,
    RoleAssignment => role_assignment,
    GuardianLink => guardian_link,
    ExternalId => external_id,
    ConsentRecord => consent_record,
    AcademicSession => academic_session,
    Pathway => pathway,
    PathwayStage => pathway_stage,
    StageCourse => stage_course,
    Cohort => cohort,
    Course => course,
    CourseOffering => course_offering,
    PathwayEnrollment => pathway_enrollment,
    CourseEnrollment => course_enrollment,
    Mentorship => mentorship,
    ApiClient => api_client,
    AccessAuditEvent => access_audit_event,
    CurriculumUnit => curriculum_unit,
    CurriculumUnitVersion => curriculum_unit_version,
    UnitContributor => unit_contributor,
    UnitReview => unit_review,
    UnitSkill => unit_skill,
    Skill => skill,
    SkillMap => skill_map,
    FutureJob => future_job,
    JobDuty => job_duty,
    JobSkillRequirement => job_skill_requirement,
    SkillEvidence => skill_evidence,
);

/// Resolves global ids in one batch per type, keeping the order of `ids`.
async fn resolve(ctx: &Context<'_>, ids: &[ID]) -> AppResult<Vec<Option<Node>>> {
    let mut by_type: HashMap<String, Vec<String>> = HashMap::new();
    let decoded: Vec<Option<(String, String)>> =
        ids.iter().map(|id| decode_global_id(id.as_str())).collect();
    for (type_name, sourced_id) in decoded.iter().flatten() {
        by_type
            .entry(type_name.clone())
            .or_default()
            .push(sourced_id.clone());
    }
    let mut found: HashMap<(String, String), Node> = HashMap::new();
    for (type_name, sourced_ids) in by_type {
        for (sid, node) in load_nodes(ctx, &type_name, sourced_ids).await? {
            found.insert((type_name.clone(), sid), node);
        }
    }
    Ok(decoded
        .into_iter()
        .map(|key| key.and_then(|k| found.get(&k).cloned()))
        .collect())
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any record by its global id; null when it does not exist or the caller may not see it.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        let mut nodes = resolve(ctx, std::slice::from_ref(&id)).await.extend()?;
        Ok(nodes.pop().flatten())
    }

    /// Several records by global id (at most 100), in the order given; null for each id that
    /// does not exist or that the caller may not see.
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Vec<Option<Node>>> {
        if ids.len() > 100 {
            return Err(AppError::bad_input("ids", "`ids` takes at most 100 ids")).extend();
        }
        resolve(ctx, &ids).await.extend()
    }
}
