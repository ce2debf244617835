//! `setCurriculumUnitVersionSkills` (DOMAIN.md area C): replaces the skills a version covers.
//!
//! Removed skills become tombstones (`delete` events), a changed coverage is an update of the
//! UnitSkill (`update` event), new skills are inserted (`create` events), and the version's
//! own `version` goes up by one (`update` event) when anything changed. The same set again
//! writes nothing.

use std::collections::{HashMap, HashSet};

use entity::{STATUS_ACTIVE, curriculum_unit_version, skill, unit_skill};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use super::{EDITABLE_STATES, UNIT_SKILL, VERSION, curator, require_editable, version_named};
use crate::auth::Viewer;
use crate::changes;
use crate::error::{AppError, AppResult};
use crate::graphql::common::sourced_id_of;
use crate::service::write::{self, VersionedUpdate};

/// Most skills one version may list.
pub const MAX_SKILLS: usize = 100;
/// Coverage values, as stored.
pub const COVERAGES: [&str; 4] = ["introduced", "developed", "applied", "assessed"];

/// One skill of the new set: its id as given, and the coverage.
#[derive(Clone, Debug)]
pub struct SkillItem<'a> {
    pub skill: &'a str,
    pub coverage: &'a str,
}

/// Replaces the version's skills. `NOT_FOUND` when the caller may not read the version;
/// `FORBIDDEN` unless an editor ([`super::Curator::require_editor`]); `INVALID_TRANSITION`
/// unless draft or changes_requested; `VERSION_CONFLICT`; `BAD_USER_INPUT` on `skills` (more
/// than 100) or `skills.<i>.skill` (malformed, unknown or deleted, or listed twice).
#[tracing::instrument(skip_all, fields(unit_version = %id, skills = items.len()))]
pub async fn set(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: &str,
    expected_version: Option<i32>,
    items: &[SkillItem<'_>],
) -> AppResult<curriculum_unit_version::Model> {
    let curator = curator(viewer)?;
    let txn = write::begin(db).await?;
    let (version, unit) = version_named(&txn, viewer, id, "id").await?;
    curator.require_editor(&txn, &version, &unit).await?;
    require_editable(&version)?;
    write::check_expected_version(
        VERSION,
        &version.sourced_id,
        version.version,
        expected_version,
    )?;

    if items.len() > MAX_SKILLS {
        return Err(AppError::bad_input(
            "skills",
            format!("a version lists at most {MAX_SKILLS} skills"),
        ));
    }
    let mut wanted: Vec<(String, &str)> = Vec::with_capacity(items.len());
    let mut seen = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("skills.{i}.skill");
        let sid = sourced_id_of("Skill", &field, item.skill)?;
        if !seen.insert(sid.clone()) {
            return Err(AppError::bad_input(
                field,
                format!("skill {sid:?} is listed twice"),
            ));
        }
        if !COVERAGES.contains(&item.coverage) {
            return Err(AppError::bad_input(
                format!("skills.{i}.coverage"),
                format!("unknown coverage {:?}", item.coverage),
            ));
        }
        wanted.push((sid, item.coverage));
    }
    let skills: HashMap<String, i64> = if wanted.is_empty() {
        HashMap::new()
    } else {
        skill::Entity::find()
            .filter(skill::Column::SourcedId.is_in(wanted.iter().map(|(sid, _)| sid.as_str())))
            .filter(skill::Column::Status.eq(STATUS_ACTIVE))
            .all(&txn)
            .await?
            .into_iter()
            .map(|s| (s.sourced_id, s.id))
            .collect()
    };
    let mut target: Vec<(i64, &str)> = Vec::with_capacity(wanted.len());
    for (i, (sid, coverage)) in wanted.iter().enumerate() {
        let skill_id = skills.get(sid).copied().ok_or_else(|| {
            AppError::bad_input(
                format!("skills.{i}.skill"),
                format!("no active Skill {sid:?}"),
            )
        })?;
        target.push((skill_id, coverage));
    }

    let current = unit_skill::Entity::find()
        .filter(unit_skill::Column::UnitVersionId.eq(version.id))
        .filter(unit_skill::Column::Status.eq(STATUS_ACTIVE))
        .all(&txn)
        .await?;
    let now = changes::now();
    let mut changed = false;
    let wanted_ids: HashSet<i64> = target.iter().map(|(id, _)| *id).collect();
    for row in current.iter().filter(|r| !wanted_ids.contains(&r.skill_id)) {
        // `tombstone` emits the delete event itself.
        write::tombstone::<unit_skill::Entity>(
            &txn,
            UNIT_SKILL,
            row.id,
            &row.sourced_id,
            row.version,
            &curator.actor,
            now,
        )
        .await?;
        changed = true;
    }
    let by_skill: HashMap<i64, &unit_skill::Model> =
        current.iter().map(|r| (r.skill_id, r)).collect();
    for (skill_id, coverage) in &target {
        match by_skill.get(skill_id) {
            Some(row) if row.coverage == *coverage => {}
            Some(row) => {
                let new_version = write::update_versioned::<unit_skill::Entity>(
                    &txn,
                    VersionedUpdate {
                        type_name: UNIT_SKILL,
                        sourced_id: row.sourced_id.clone(),
                        id: row.id,
                        version: row.version,
                        guard: None,
                        set: vec![(unit_skill::Column::Coverage, Expr::value(*coverage))],
                    },
                    &curator.actor,
                    now,
                )
                .await?;
                write::emit(
                    &txn,
                    &[write::change(
                        UNIT_SKILL,
                        row.id,
                        &row.sourced_id,
                        changes::UPDATE,
                        new_version,
                    )],
                    now,
                )
                .await?;
                changed = true;
            }
            None => {
                let row = unit_skill::ActiveModel {
                    sourced_id: Set(write::new_sourced_id(None, "sourcedId")?),
                    status: Set(STATUS_ACTIVE.to_owned()),
                    date_created: Set(now),
                    date_last_modified: Set(now),
                    version: Set(1),
                    metadata: Set(None),
                    created_by: Set(Some(curator.actor.subject.clone())),
                    modified_by: Set(Some(curator.actor.subject.clone())),
                    unit_version_id: Set(version.id),
                    skill_id: Set(*skill_id),
                    coverage: Set((*coverage).to_owned()),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
                write::emit(
                    &txn,
                    &[write::change(
                        UNIT_SKILL,
                        row.id,
                        &row.sourced_id,
                        changes::CREATE,
                        row.version,
                    )],
                    now,
                )
                .await?;
                changed = true;
            }
        }
    }
    if !changed {
        txn.commit().await?;
        return Ok(version);
    }
    let new_version = write::update_versioned::<curriculum_unit_version::Entity>(
        &txn,
        VersionedUpdate {
            type_name: VERSION,
            sourced_id: version.sourced_id.clone(),
            id: version.id,
            version: version.version,
            guard: Some(
                Expr::col(curriculum_unit_version::Column::State)
                    .is_in(EDITABLE_STATES.iter().copied())
                    .and(Expr::col(curriculum_unit_version::Column::Status).eq(STATUS_ACTIVE)),
            ),
            set: Vec::new(),
        },
        &curator.actor,
        now,
    )
    .await?;
    write::emit(
        &txn,
        &[write::change(
            VERSION,
            version.id,
            &version.sourced_id,
            changes::UPDATE,
            new_version,
        )],
        now,
    )
    .await?;
    let updated = curriculum_unit_version::Entity::find_by_id(version.id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::NotFound(VERSION.to_owned()))?;
    txn.commit().await?;
    Ok(updated)
}
