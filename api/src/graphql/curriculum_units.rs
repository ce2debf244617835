//! Curriculum unit helpers of the read side: a unit's published and working versions.

use async_graphql::{Context, Result};
use entity::curriculum_unit_version;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::connection::{db, viewer};
use super::curriculum::CurriculumUnitVersion;
use crate::access::Scoped;
use crate::error::ResultExt;

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
}

/// The unit's version in `slot`, when there is one the caller may read.
pub async fn version_in_state(
    ctx: &Context<'_>,
    unit_id: i64,
    slot: VersionSlot,
) -> Result<Option<CurriculumUnitVersion>> {
    let viewer = viewer(ctx).extend()?;
    let scope = curriculum_unit_version::Entity::scope(viewer).extend()?;
    let row = curriculum_unit_version::Entity::find()
        .filter(scope)
        .filter(curriculum_unit_version::Column::UnitId.eq(unit_id))
        .filter(curriculum_unit_version::Column::Status.eq(entity::STATUS_ACTIVE))
        .filter(curriculum_unit_version::Column::State.is_in(slot.states().iter().copied()))
        .one(db(ctx).extend()?)
        .await
        .map_err(crate::error::AppError::from)
        .extend()?;
    Ok(row.map(CurriculumUnitVersion::from))
}
