//! `CurriculumUnit.compare(from:, to:)`: field-level differences between two versions. The
//! work is in [`crate::service::curriculum::compare`].

use async_graphql::{Context, Enum, ID, Json, Result, SimpleObject};
use entity::curriculum_unit;

use super::common::DbEnum;
use super::connection::{db, viewer};
use super::curriculum::{CurriculumUnitVersion, SkillCoverage, UnitResource, resources};
use super::skills::Skill;
use crate::error::ResultExt;
use crate::service::curriculum::compare::{self as service, SkillChangeKind};

/// One scalar field of the version that differs.
#[derive(SimpleObject, Clone, Debug)]
pub struct FieldChange {
    /// The field's GraphQL name: `title`, `summary`, `hours` or `externalApprovalRef`.
    pub field: String,
    /// The value in `from` (null when unset).
    pub before: Option<Json<serde_json::Value>>,
    /// The value in `to` (null when unset).
    pub after: Option<Json<serde_json::Value>>,
}

/// The learning outcomes only one of the versions has.
#[derive(SimpleObject, Clone, Debug, Default)]
pub struct OutcomeChanges {
    /// In `to`, not in `from` (in `to`'s order).
    pub added: Vec<String>,
    /// In `from`, not in `to` (in `from`'s order).
    pub removed: Vec<String>,
}

/// The resources only one of the versions has (same title and address count as the same).
#[derive(SimpleObject, Clone, Debug, Default)]
pub struct ResourceChanges {
    /// In `to`, not in `from`.
    pub added: Vec<UnitResource>,
    /// In `from`, not in `to`.
    pub removed: Vec<UnitResource>,
}

/// How a skill's coverage changed between the versions.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(name = "SkillChangeKind", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum SkillChangeKindValue {
    /// Only `to` covers the skill.
    Added,
    /// Only `from` covers the skill.
    Removed,
    /// Both cover it, to a different extent.
    Changed,
}

/// A skill whose coverage differs between the versions.
#[derive(SimpleObject, Clone, Debug)]
pub struct SkillChange {
    /// The skill.
    pub skill: Skill,
    /// Coverage in `from`; null when added.
    pub before: Option<SkillCoverage>,
    /// Coverage in `to`; null when removed.
    pub after: Option<SkillCoverage>,
    /// Added, removed or changed.
    pub change: SkillChangeKindValue,
}

/// The differences between two versions of a unit, from `from` to `to`.
#[derive(SimpleObject, Clone, Debug)]
pub struct VersionComparison {
    /// The earlier side of the comparison.
    pub from: CurriculumUnitVersion,
    /// The later side of the comparison.
    pub to: CurriculumUnitVersion,
    /// Whether anything below differs.
    pub changed: bool,
    /// The scalar fields that differ (`title`, `summary`, `hours`, `externalApprovalRef`).
    pub fields: Vec<FieldChange>,
    /// Learning outcomes added and removed.
    pub learning_outcomes: OutcomeChanges,
    /// Resources added and removed.
    pub resources: ResourceChanges,
    /// Skills whose coverage differs, by skill code.
    pub skills: Vec<SkillChange>,
}

fn coverage(value: Option<&str>) -> Option<SkillCoverage> {
    value.and_then(SkillCoverage::from_db)
}

fn json(value: serde_json::Value) -> Option<Json<serde_json::Value>> {
    (!value.is_null()).then_some(Json(value))
}

/// Compares two versions of `unit` (global ids or sourcedIds).
pub async fn compare(
    ctx: &Context<'_>,
    unit: &curriculum_unit::Model,
    from: &ID,
    to: &ID,
) -> Result<VersionComparison> {
    let result = service::compare(
        db(ctx).extend()?,
        viewer(ctx).extend()?,
        unit,
        from.as_str(),
        to.as_str(),
    )
    .await
    .extend()?;
    let changed = result.changed();
    Ok(VersionComparison {
        changed,
        fields: result
            .fields
            .into_iter()
            .map(|f| FieldChange {
                field: f.field.to_owned(),
                before: json(f.before),
                after: json(f.after),
            })
            .collect(),
        learning_outcomes: OutcomeChanges {
            added: result.outcomes_added,
            removed: result.outcomes_removed,
        },
        resources: ResourceChanges {
            added: resources(Some(&serde_json::Value::Array(result.resources_added))),
            removed: resources(Some(&serde_json::Value::Array(result.resources_removed))),
        },
        skills: result
            .skills
            .into_iter()
            .map(|s| SkillChange {
                before: coverage(s.before.as_deref()),
                after: coverage(s.after.as_deref()),
                change: match s.change {
                    SkillChangeKind::Added => SkillChangeKindValue::Added,
                    SkillChangeKind::Removed => SkillChangeKindValue::Removed,
                    SkillChangeKind::Changed => SkillChangeKindValue::Changed,
                },
                skill: Skill::from(s.skill),
            })
            .collect(),
        from: CurriculumUnitVersion::from(result.from),
        to: CurriculumUnitVersion::from(result.to),
    })
}
