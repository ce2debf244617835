//! `CurriculumUnit.compare(from:, to:)`: the field-level differences between two versions of a
//! unit, in three statements (both versions, their unit skills, those skills).

use std::collections::{BTreeMap, HashMap};

use entity::{STATUS_ACTIVE, curriculum_unit, curriculum_unit_version, skill, unit_skill};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::Value;

use super::VERSION;
use crate::access::Scoped;
use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::graphql::common::sourced_id_of;

/// One scalar field that differs.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDiff {
    /// camelCase field name.
    pub field: &'static str,
    pub before: Value,
    pub after: Value,
}

/// How a skill's coverage changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkillChangeKind {
    Added,
    Removed,
    Changed,
}

/// One skill whose coverage differs.
#[derive(Clone, Debug)]
pub struct SkillDiff {
    pub skill: skill::Model,
    pub before: Option<String>,
    pub after: Option<String>,
    pub change: SkillChangeKind,
}

/// The differences between `from` and `to`.
#[derive(Clone, Debug)]
pub struct Comparison {
    pub from: curriculum_unit_version::Model,
    pub to: curriculum_unit_version::Model,
    pub fields: Vec<FieldDiff>,
    pub outcomes_added: Vec<String>,
    pub outcomes_removed: Vec<String>,
    /// Resources as `{title, url}` JSON objects.
    pub resources_added: Vec<Value>,
    pub resources_removed: Vec<Value>,
    /// By skill code.
    pub skills: Vec<SkillDiff>,
}

impl Comparison {
    /// Whether anything differs.
    pub fn changed(&self) -> bool {
        !(self.fields.is_empty()
            && self.outcomes_added.is_empty()
            && self.outcomes_removed.is_empty()
            && self.resources_added.is_empty()
            && self.resources_removed.is_empty()
            && self.skills.is_empty())
    }
}

fn items(value: Option<&Value>) -> Vec<Value> {
    value.and_then(Value::as_array).cloned().unwrap_or_default()
}

/// The items of `b` not in `a`, in `b`'s order.
fn missing_from(a: &[Value], b: &[Value]) -> Vec<Value> {
    b.iter().filter(|item| !a.contains(item)).cloned().collect()
}

fn strings(values: Vec<Value>) -> Vec<String> {
    values
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// Compares two versions of `unit` the caller may read: `NOT_FOUND` when either is unknown or
/// invisible, `BAD_USER_INPUT` on `from`/`to` when it is a version of another unit.
pub async fn compare(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    unit: &curriculum_unit::Model,
    from: &str,
    to: &str,
) -> AppResult<Comparison> {
    let from_sid = sourced_id_of(VERSION, "from", from)?;
    let to_sid = sourced_id_of(VERSION, "to", to)?;
    let rows = curriculum_unit_version::Entity::find()
        .filter(curriculum_unit_version::Entity::scope(viewer)?)
        .filter(curriculum_unit_version::Column::Status.eq(STATUS_ACTIVE))
        .filter(
            curriculum_unit_version::Column::SourcedId.is_in([from_sid.as_str(), to_sid.as_str()]),
        )
        .all(db)
        .await?;
    let pick = |sid: &str, field: &str| -> AppResult<curriculum_unit_version::Model> {
        let row = rows
            .iter()
            .find(|r| r.sourced_id == sid)
            .cloned()
            .ok_or_else(|| AppError::NotFound(VERSION.to_owned()))?;
        if row.unit_id != unit.id {
            return Err(AppError::bad_input(
                field,
                format!(
                    "curriculum unit version {sid} is not a version of unit {}",
                    unit.sourced_id
                ),
            ));
        }
        Ok(row)
    };
    let from = pick(&from_sid, "from")?;
    let to = pick(&to_sid, "to")?;

    let unit_skills = unit_skill::Entity::find()
        .filter(unit_skill::Column::UnitVersionId.is_in([from.id, to.id]))
        .filter(unit_skill::Column::Status.eq(STATUS_ACTIVE))
        .all(db)
        .await?;
    let mut coverage: BTreeMap<i64, (Option<String>, Option<String>)> = BTreeMap::new();
    for row in unit_skills {
        let entry = coverage.entry(row.skill_id).or_default();
        if row.unit_version_id == from.id {
            entry.0 = Some(row.coverage.clone());
        }
        if row.unit_version_id == to.id {
            entry.1 = Some(row.coverage);
        }
    }
    coverage.retain(|_, (before, after)| before != after);
    let skills: HashMap<i64, skill::Model> = if coverage.is_empty() {
        HashMap::new()
    } else {
        skill::Entity::find()
            .filter(skill::Column::Id.is_in(coverage.keys().copied()))
            .all(db)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect()
    };
    let mut skill_diffs: Vec<SkillDiff> = coverage
        .into_iter()
        .filter_map(|(id, (before, after))| {
            let change = match (&before, &after) {
                (None, _) => SkillChangeKind::Added,
                (_, None) => SkillChangeKind::Removed,
                _ => SkillChangeKind::Changed,
            };
            Some(SkillDiff {
                skill: skills.get(&id)?.clone(),
                before,
                after,
                change,
            })
        })
        .collect();
    skill_diffs.sort_by(|a, b| a.skill.code.cmp(&b.skill.code));

    let text = |t: &Option<String>| t.as_ref().map_or(Value::Null, |t| Value::from(t.as_str()));
    let candidates = [
        (
            "title",
            Value::from(from.title.as_str()),
            Value::from(to.title.as_str()),
        ),
        ("summary", text(&from.summary), text(&to.summary)),
        (
            "hours",
            from.hours.map_or(Value::Null, Value::from),
            to.hours.map_or(Value::Null, Value::from),
        ),
        (
            "externalApprovalRef",
            text(&from.external_approval_ref),
            text(&to.external_approval_ref),
        ),
    ];
    let fields = candidates
        .into_iter()
        .filter(|(_, before, after)| before != after)
        .map(|(field, before, after)| FieldDiff {
            field,
            before,
            after,
        })
        .collect();
    let outcomes_from = items(from.learning_outcomes.as_ref());
    let outcomes_to = items(to.learning_outcomes.as_ref());
    let resources_from = items(from.resources.as_ref());
    let resources_to = items(to.resources.as_ref());
    Ok(Comparison {
        fields,
        outcomes_added: strings(missing_from(&outcomes_from, &outcomes_to)),
        outcomes_removed: strings(missing_from(&outcomes_to, &outcomes_from)),
        resources_added: missing_from(&resources_from, &resources_to),
        resources_removed: missing_from(&resources_to, &resources_from),
        skills: skill_diffs,
        from,
        to,
    })
}
