//! Shared steps of the bulk upserts (API.md section 4, DOMAIN.md section 2 "Writes"): batch
//! size, per-item outcomes and the caller's own external keys.
//!
//! An upsert call is one transaction. Every item is checked (values, references, keys) before
//! anything is written, and a failed item is left out while the others are applied: the result
//! reports `FAILED` with the item's user errors for exactly the items that were not applied.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{STATUS_ACTIVE, external_id};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::write::{self, Actor};
use crate::changes::{self, Change};
use crate::error::{AppError, AppResult};

/// Most items in one upsert call.
pub const MAX_ITEMS: usize = 1000;

/// GraphQL type name of external ids (history and change events).
pub const EXTERNAL_ID_TYPE: &str = "ExternalId";

/// What an upsert did with one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    Failed,
}

/// `BAD_USER_INPUT` on `items` unless there are 1 to [`MAX_ITEMS`] items.
pub fn check_batch(len: usize) -> AppResult<()> {
    if len == 0 || len > MAX_ITEMS {
        return Err(AppError::bad_input(
            "items",
            format!("`items` takes 1 to {MAX_ITEMS} items, got {len}"),
        ));
    }
    Ok(())
}

/// The `expectedVersion` rule of one upsert item (API.md section 4), checked before its values:
/// given and the key matches a record at another version, `VERSION_CONFLICT` naming the current
/// version; given and the key matches nothing (the item would create), `BAD_USER_INPUT` on
/// `expectedVersion`; omitted, or equal to the current version, `Ok` (values are compared as
/// usual). `matched` is `(sourcedId, current version)` of the record the key matched, read
/// under the call's write lock, so the item's versioned UPDATE uses the version checked here.
pub fn check_item_version(
    type_name: &str,
    matched: Option<(&str, i32)>,
    expected: Option<i32>,
) -> AppResult<()> {
    match (matched, expected) {
        (_, None) => Ok(()),
        (Some((sourced_id, current)), expected) => {
            write::check_expected_version(type_name, sourced_id, current, expected)
        }
        (None, Some(_)) => Err(AppError::bad_input(
            "expectedVersion",
            "no record matches the key; omit expectedVersion to create",
        )),
    }
}

/// A caller's own key for a record: (system, idType, identifier) within the caller's org.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExternalKey {
    pub system: String,
    pub id_type: String,
    pub identifier: String,
}

impl ExternalKey {
    /// Trims and checks the three parts (1 to 255 characters each); `field` is the input path
    /// of the key, e.g. `items.3.externalId`.
    pub fn new(system: &str, id_type: &str, identifier: &str, field: &str) -> AppResult<Self> {
        let part = |value: &str, name: &str| {
            write::required_text(value, &format!("{field}.{name}"), write::MAX_SHORT_TEXT)
        };
        Ok(ExternalKey {
            system: part(system, "system")?,
            id_type: part(id_type, "idType")?,
            identifier: part(identifier, "identifier")?,
        })
    }
}

/// The org an upsert by external key is scoped to: the caller's bound organisation
/// (DOMAIN.md section 2: "scopeOrg is always the caller's bound org").
pub fn key_org(principal: &crate::auth::Principal) -> AppResult<i64> {
    principal.org.as_ref().map(|o| o.id).ok_or_else(|| {
        AppError::bad_input(
            "key",
            "upserting by EXTERNAL_ID needs a caller acting for an organisation",
        )
    })
}

/// The records of `entity_type` that `keys` name within `scope_org` (active ids only).
pub async fn find_external(
    db: &impl ConnectionTrait,
    entity_type: &str,
    scope_org: i64,
    keys: &[&ExternalKey],
) -> AppResult<HashMap<ExternalKey, i64>> {
    let mut found = HashMap::new();
    let identifiers: Vec<&str> = keys.iter().map(|k| k.identifier.as_str()).collect();
    for chunk in identifiers.chunks(500) {
        let rows = external_id::Entity::find()
            .filter(external_id::Column::EntityType.eq(entity_type))
            .filter(external_id::Column::ScopeOrgId.eq(scope_org))
            .filter(external_id::Column::Status.eq(STATUS_ACTIVE))
            .filter(external_id::Column::Identifier.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        for row in rows {
            found.insert(
                ExternalKey {
                    system: row.system,
                    id_type: row.id_type,
                    identifier: row.identifier,
                },
                row.entity_id,
            );
        }
    }
    found.retain(|key, _| keys.contains(&key));
    Ok(found)
}

/// Inserts the external ids of new records (`(key, entity id)` in `scope_org`) and returns their
/// change events, for the caller to emit with the rest of the call's events.
pub async fn insert_external(
    db: &impl ConnectionTrait,
    entity_type: &str,
    scope_org: i64,
    rows: &[(ExternalKey, i64)],
    actor: &Actor,
    at: DateTime<Utc>,
) -> AppResult<Vec<Change>> {
    let mut events = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(500) {
        let sourced_ids: Vec<String> = chunk
            .iter()
            .map(|_| uuid::Uuid::now_v7().to_string())
            .collect();
        let models: Vec<external_id::ActiveModel> = chunk
            .iter()
            .zip(&sourced_ids)
            .map(|((key, entity), sid)| external_id::ActiveModel {
                sourced_id: Set(sid.clone()),
                status: Set(STATUS_ACTIVE.to_owned()),
                date_created: Set(at),
                date_last_modified: Set(at),
                version: Set(1),
                metadata: Set(None),
                created_by: Set(Some(actor.subject.clone())),
                modified_by: Set(Some(actor.subject.clone())),
                entity_type: Set(entity_type.to_owned()),
                entity_id: Set(*entity),
                scope_org_id: Set(scope_org),
                system: Set(key.system.clone()),
                id_type: Set(key.id_type.clone()),
                identifier: Set(key.identifier.clone()),
                ..Default::default()
            })
            .collect();
        external_id::Entity::insert_many(models)
            .exec_without_returning(db)
            .await?;
        let inserted = external_id::Entity::find()
            .filter(external_id::Column::SourcedId.is_in(sourced_ids))
            .all(db)
            .await?;
        events.extend(inserted.iter().map(|row| {
            write::change(
                EXTERNAL_ID_TYPE,
                row.id,
                &row.sourced_id,
                changes::CREATE,
                row.version,
            )
        }));
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn an_item_version_guards_matches_and_forbids_creates() {
        assert!(check_item_version("Person", None, None).is_ok());
        assert!(check_item_version("Person", Some(("p-1", 3)), None).is_ok());
        assert!(check_item_version("Person", Some(("p-1", 3)), Some(3)).is_ok());
        assert!(matches!(
            check_item_version("Person", Some(("p-1", 3)), Some(2)),
            Err(AppError::Conflict { code: ErrorCode::VersionConflict, message })
                if message.contains("at version 3, not 2")
        ));
        assert!(matches!(
            check_item_version("Person", None, Some(1)),
            Err(AppError::BadUserInput { field, .. }) if field == "expectedVersion"
        ));
    }
}
