//! `CurriculumUnit.compare(from:, to:)`: field-level differences between two versions.

use async_graphql::{Context, ID, Result, SimpleObject};
use entity::curriculum_unit;

use crate::error::{AppError, ResultExt};

/// The differences between two versions of a unit.
#[derive(SimpleObject, Clone, Debug, Default)]
pub struct VersionComparison {
    /// Whether anything differs.
    pub changed: bool,
}

/// Compares two versions of `unit`.
pub async fn compare(
    _ctx: &Context<'_>,
    _unit: &curriculum_unit::Model,
    _from: &ID,
    _to: &ID,
) -> Result<VersionComparison> {
    Err(AppError::NotFound("CurriculumUnitVersion".to_owned())).extend()
}
