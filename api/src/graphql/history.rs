//! Status history (DOMAIN.md section 2 "Lifecycles"): the `statusHistory` field of every type
//! with a lifecycle, loaded per entity type in one statement per batch.

use std::collections::HashMap;
use std::marker::PhantomData;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::status_history;
use sea_orm::DatabaseConnection;

use super::connection::request;
use crate::error::{AppError, ResultExt};

/// One accepted lifecycle transition or stage change.
#[derive(SimpleObject, Clone, Debug)]
pub struct StatusChange {
    /// State before (null for the first).
    pub from_state: Option<String>,
    /// State after.
    pub to_state: String,
    /// Stage before, for a stage change.
    pub from_stage: Option<String>,
    /// Stage after, for a stage change.
    pub to_stage: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// Who: a person's sourcedId or a client id.
    pub actor: Option<String>,
    /// The integration client, when one made the change.
    pub client_id: Option<String>,
}

impl From<status_history::Model> for StatusChange {
    fn from(m: status_history::Model) -> Self {
        StatusChange {
            from_state: m.from_state,
            to_state: m.to_state,
            from_stage: m.from_stage,
            to_stage: m.to_stage,
            reason: m.reason,
            at: m.at,
            actor: m.actor,
            client_id: m.client_id,
        }
    }
}

/// A table whose rows have a status history, under the GraphQL type name it is recorded with.
pub trait HistoryOf: Send + Sync + 'static {
    const TYPE_NAME: &'static str;
}

impl HistoryOf for entity::pathway_enrollment::Entity {
    const TYPE_NAME: &'static str = "PathwayEnrollment";
}
impl HistoryOf for entity::course_enrollment::Entity {
    const TYPE_NAME: &'static str = "CourseEnrollment";
}
impl HistoryOf for entity::course_offering::Entity {
    const TYPE_NAME: &'static str = "CourseOffering";
}
impl HistoryOf for entity::mentorship::Entity {
    const TYPE_NAME: &'static str = "Mentorship";
}
impl HistoryOf for entity::consent_record::Entity {
    const TYPE_NAME: &'static str = "ConsentRecord";
}
impl HistoryOf for entity::curriculum_unit_version::Entity {
    const TYPE_NAME: &'static str = "CurriculumUnitVersion";
}
impl HistoryOf for entity::skill_map::Entity {
    const TYPE_NAME: &'static str = "SkillMap";
}

/// Loads the status history of `E`'s rows, oldest first.
pub struct HistoryLoader<E: HistoryOf> {
    db: DatabaseConnection,
    _entity: PhantomData<E>,
}

impl<E: HistoryOf> Loader<i64> for HistoryLoader<E> {
    type Value = Vec<status_history::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, AppError> {
        crate::service::history::of(&self.db, E::TYPE_NAME, keys).await
    }
}

/// The status history of row `id` of `E`, oldest first (the caller has already seen the row).
pub async fn of<E: HistoryOf>(ctx: &Context<'_>, id: i64) -> Result<Vec<StatusChange>> {
    let loader = request(ctx)
        .extend()?
        .loaders
        .get(|db, _| HistoryLoader::<E> {
            db,
            _entity: PhantomData,
        });
    let rows = loader.load_one(id).await.extend()?.unwrap_or_default();
    Ok(rows.into_iter().map(StatusChange::from).collect())
}
