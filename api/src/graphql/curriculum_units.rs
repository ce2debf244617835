//! Curriculum unit helpers of the read side: a unit's published and working versions, through
//! one DataLoader ([`VersionsByUnit`]): one statement per batch of units, however many units a
//! page holds.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Result};
use entity::curriculum_unit_version;
use sea_orm::DatabaseConnection;

use super::connection::request;
use super::curriculum::CurriculumUnitVersion;
use crate::access::Scoped;
use crate::auth::Viewer;
use crate::error::{AppError, ResultExt};
use crate::service::curriculum::versions;

/// Which of a unit's versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VersionSlot {
    /// The published version.
    Published,
    /// The working version (draft to approved).
    Working,
}

impl VersionSlot {
    pub fn states(self) -> &'static [&'static str] {
        match self {
            VersionSlot::Published => &["published"],
            VersionSlot::Working => &["draft", "in_review", "changes_requested", "approved"],
        }
    }

    /// The slot a version in `state` fills, if any.
    fn of_state(state: &str) -> Option<VersionSlot> {
        [VersionSlot::Published, VersionSlot::Working]
            .into_iter()
            .find(|slot| slot.states().contains(&state))
    }
}

/// Loads units' published and working versions (within the caller's read scope), keyed by
/// (unit id, slot): one statement per batch.
pub struct VersionsByUnit {
    db: DatabaseConnection,
    viewer: Arc<Viewer>,
}

impl Loader<(i64, VersionSlot)> for VersionsByUnit {
    type Value = curriculum_unit_version::Model;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[(i64, VersionSlot)],
    ) -> Result<HashMap<(i64, VersionSlot), Self::Value>, AppError> {
        let scope = curriculum_unit_version::Entity::scope(&self.viewer)?;
        let mut units: Vec<i64> = keys.iter().map(|(unit, _)| *unit).collect();
        units.sort_unstable();
        units.dedup();
        let mut states: Vec<&str> = Vec::new();
        for (_, slot) in keys {
            for state in slot.states() {
                if !states.contains(state) {
                    states.push(state);
                }
            }
        }
        let rows = versions::of_units_in_states(&self.db, &units, &states, scope).await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let key = (row.unit_id, VersionSlot::of_state(&row.state)?);
                keys.contains(&key).then_some((key, row))
            })
            .collect())
    }
}

/// The unit's version in `slot`, when there is one the caller may read.
pub async fn version_in_state(
    ctx: &Context<'_>,
    unit_id: i64,
    slot: VersionSlot,
) -> Result<Option<CurriculumUnitVersion>> {
    let loader = request(ctx)
        .extend()?
        .loaders
        .get(|db, viewer| VersionsByUnit { db, viewer });
    let row = loader.load_one((unit_id, slot)).await.extend()?;
    Ok(row.map(CurriculumUnitVersion::from))
}
