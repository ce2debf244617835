//! Writing the catalogue and calendar (DOMAIN.md areas A and B): organisations ([`orgs`]),
//! academic sessions ([`calendar`]), courses and cohorts ([`courses`]), pathways, stages and
//! stage courses ([`pathways`]). This module holds what they share. `docs/catalogue-writes.md`
//! sums up who may write what and the rules.
//!
//! Every write follows [`super::write`]: the transaction takes the change-feed lock first, an
//! update or delete names the version it read (`expectedVersion`) and the `UPDATE` checks it in
//! the statement itself, deletes are tombstones, and every write emits its change event in the
//! same transaction.
//!
//! Every type implements [`Writable`]; [`create`], [`update`] and [`delete`] run the steps.
//! Create and update share one path: the input is a patch ([`MaybeUndefined`] fields: omitted
//! keeps the value, an explicit null clears it) applied to the stored row (or to a blank row on
//! create); the patched row is validated as a whole and then written.
//!
//! Business keys stay unique across tombstones too: the database's unique indexes cover every
//! row, so a deleted record keeps its key (a new record needs another one).

pub mod calendar;
pub mod courses;
pub mod orgs;
pub mod pathways;

use async_graphql::MaybeUndefined;
use chrono::{DateTime, Utc};
use entity::RecordModel;
use sea_orm::sea_query::{Alias, Expr, SimpleExpr};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel, QueryFilter,
};

use super::write::{self, Actor, VersionedUpdate};
use crate::auth::{Principal, Viewer};
use crate::changes;
use crate::error::{AppError, AppResult};

/// Longest code (course, cohort): short, human-typed keys.
pub const MAX_CODE_CHARS: usize = 64;
/// Most items of a list of short strings (industry sectors, aliases).
pub const MAX_LIST_ITEMS: usize = 50;
/// Earliest and latest plausible school or HKDSE year.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

pub use super::write::is_extension;

/// A value of an *(ext)* vocabulary: one of `allowed` or an `ext:` extension.
pub fn extensible(text: &str, field: &str, allowed: &[&str]) -> AppResult<String> {
    let text = text.trim();
    if allowed.contains(&text) || is_extension(text) {
        return Ok(text.to_owned());
    }
    Err(AppError::bad_input(
        field,
        format!(
            "`{field}` must be one of {} or an extension `ext:[A-Za-z0-9._-]+`",
            allowed.join(", ")
        ),
    ))
}

/// Borrows a text patch.
pub fn text(value: &MaybeUndefined<String>) -> MaybeUndefined<&str> {
    match value {
        MaybeUndefined::Undefined => MaybeUndefined::Undefined,
        MaybeUndefined::Null => MaybeUndefined::Null,
        MaybeUndefined::Value(v) => MaybeUndefined::Value(v.as_str()),
    }
}

/// Applies a patch to a required text: omitted keeps it, null or blank is refused.
pub fn patch_required(
    target: &mut String,
    patch: MaybeUndefined<&str>,
    field: &str,
    max: usize,
) -> AppResult<()> {
    match patch {
        MaybeUndefined::Undefined => Ok(()),
        MaybeUndefined::Null => Err(AppError::bad_input(
            field,
            format!("`{field}` may not be null"),
        )),
        MaybeUndefined::Value(text) => {
            *target = write::required_text(text, field, max)?;
            Ok(())
        }
    }
}

/// Applies a patch to an optional text (trimmed; blank clears it like null).
pub fn patch_text(
    target: &mut Option<String>,
    patch: MaybeUndefined<&str>,
    field: &str,
    max: usize,
) -> AppResult<()> {
    match patch {
        MaybeUndefined::Undefined => Ok(()),
        MaybeUndefined::Null => {
            *target = None;
            Ok(())
        }
        MaybeUndefined::Value(text) => {
            *target = write::optional_text(Some(text), field, max)?;
            Ok(())
        }
    }
}

/// Applies a patch to an optional value.
pub fn patch<T>(target: &mut Option<T>, patch: MaybeUndefined<T>) {
    match patch {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => *target = None,
        MaybeUndefined::Value(value) => *target = Some(value),
    }
}

/// Applies a patch to `metadata` (a JSON object of at most 16 KB).
pub fn patch_metadata(
    target: &mut Option<serde_json::Value>,
    value: MaybeUndefined<serde_json::Value>,
) -> AppResult<()> {
    match value {
        MaybeUndefined::Undefined => Ok(()),
        MaybeUndefined::Null => {
            *target = None;
            Ok(())
        }
        MaybeUndefined::Value(value) => {
            *target = write::metadata(Some(value), "metadata")?;
            Ok(())
        }
    }
}

/// A list of short strings (trimmed, none blank, at most `max_chars` each, at most
/// [`MAX_LIST_ITEMS`], repeats dropped), stored as a JSON array; an empty list clears it.
pub fn string_list(
    items: &[String],
    field: &str,
    max_chars: usize,
) -> AppResult<Option<serde_json::Value>> {
    if items.len() > MAX_LIST_ITEMS {
        return Err(AppError::bad_input(
            field,
            format!("`{field}` takes at most {MAX_LIST_ITEMS} items"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("{field}.{i}");
        let item = write::required_text(item, &path, max_chars)?;
        if !out.contains(&item) {
            out.push(item);
        }
    }
    Ok((!out.is_empty()).then(|| serde_json::json!(out)))
}

/// An integer in `range`, or `BAD_USER_INPUT` on `field`.
pub fn in_range(
    value: Option<i32>,
    field: &str,
    range: std::ops::RangeInclusive<i32>,
) -> AppResult<()> {
    match value {
        Some(v) if !range.contains(&v) => Err(AppError::bad_input(
            field,
            format!(
                "`{field}` must be between {} and {}",
                range.start(),
                range.end()
            ),
        )),
        _ => Ok(()),
    }
}

/// Whether any active row of `E` has `column = id` (a record still in use).
pub async fn in_use<E: EntityTrait>(
    db: &impl ConnectionTrait,
    column: E::Column,
    id: i64,
) -> AppResult<bool> {
    let found = E::find()
        .filter(column.eq(id))
        .filter(Expr::col((E::default(), Alias::new("status"))).eq(entity::STATUS_ACTIVE))
        .one(db)
        .await?;
    Ok(found.is_some())
}

/// Refuses to delete a record still used by active records (`INVALID_TRANSITION`).
pub fn still_used(type_name: &str, sourced_id: &str, by: &str) -> AppError {
    write::invalid_transition(format!(
        "{type_name} {sourced_id} still has active {by}; delete or move them first"
    ))
}

/// `INVALID_TRANSITION` for an update of a tombstone.
pub fn deleted(type_name: &str, sourced_id: &str) -> AppError {
    write::invalid_transition(format!(
        "{type_name} {sourced_id} is deleted; deleted records are not updated"
    ))
}

/// A required field's patch: omitted keeps (`None`), null is refused.
pub fn required<T>(value: MaybeUndefined<T>, field: &str) -> AppResult<Option<T>> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Err(AppError::bad_input(
            field,
            format!("`{field}` may not be null"),
        )),
        MaybeUndefined::Value(v) => Ok(Some(v)),
    }
}

/// One record type of the catalogue: who writes it, how a row is made, patched, checked and
/// written, and what keeps it from being deleted. [`create`], [`update`] and [`delete`] run the
/// same steps for every type.
pub trait Writable:
    RecordModel + Clone + Send + Sync + IntoActiveModel<<Self::Entity as EntityTrait>::ActiveModel>
{
    type Entity: EntityTrait<Model = Self>;
    /// The input: a patch of the row's fields.
    type Fields: Send;
    /// What the caller may write (e.g. which school).
    type Writer: Copy + Send + Sync;
    /// GraphQL type name (messages, change events).
    const TYPE_NAME: &'static str;

    /// `UNAUTHENTICATED` or `FORBIDDEN` for callers who may never write this type.
    fn writer(viewer: &Viewer) -> AppResult<(&Principal, Self::Writer)>;
    /// `FORBIDDEN` when the writer may not write this row (checked before and after a patch).
    fn may_write(_writer: Self::Writer, _row: &Self) -> AppResult<()> {
        Ok(())
    }
    /// The row a create patches: empty required fields, the writer's defaults.
    fn blank(sourced_id: String, actor: &Actor, now: DateTime<Utc>, writer: Self::Writer) -> Self;
    /// Applies the patch and checks every rule of the row itself and its references.
    fn apply(
        db: &impl ConnectionTrait,
        row: &mut Self,
        fields: Self::Fields,
    ) -> impl Future<Output = AppResult<()>> + Send;
    /// The rules that read other rows: uniqueness (`DUPLICATE`), cycles, children.
    fn check(db: &impl ConnectionTrait, row: &Self) -> impl Future<Output = AppResult<()>> + Send;
    /// The business columns, for the versioned `UPDATE`.
    fn columns(&self) -> Vec<(<Self::Entity as EntityTrait>::Column, SimpleExpr)>;
    /// `INVALID_TRANSITION` while active records still use the row.
    fn in_use(db: &impl ConnectionTrait, row: &Self) -> impl Future<Output = AppResult<()>> + Send;
}

/// Active-model bounds every catalogue table meets.
pub trait Insertable: ActiveModelTrait + ActiveModelBehavior + Send {}
impl<A: ActiveModelTrait + ActiveModelBehavior + Send> Insertable for A {}

/// The stored row `id` of `E`, read in the writing transaction.
async fn reload<E: EntityTrait>(db: &impl ConnectionTrait, id: i64) -> AppResult<E::Model> {
    E::find()
        .filter(Expr::col((E::default(), Alias::new("id"))).eq(id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("a written row vanished")))
}

/// Creates a record: `BAD_USER_INPUT`, `DUPLICATE` (a business key or the sourcedId in use),
/// `FORBIDDEN` when the writer may not write the new row.
pub async fn create<W>(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: Option<&str>,
    fields: W::Fields,
) -> AppResult<W>
where
    W: Writable,
    <W::Entity as EntityTrait>::ActiveModel: Insertable<Entity = W::Entity>,
{
    let (principal, writer) = W::writer(viewer)?;
    let actor = Actor::of(principal);
    let sourced_id = write::new_sourced_id(sourced_id, "sourcedId")?;
    let now = changes::now();
    let txn = write::begin(db).await?;
    let mut row = W::blank(sourced_id, &actor, now, writer);
    W::apply(&txn, &mut row, fields).await?;
    W::may_write(writer, &row)?;
    W::check(&txn, &row).await?;
    match write::load_for_write::<W::Entity>(&txn, W::TYPE_NAME, row.sourced_id()).await {
        Err(AppError::NotFound(_)) => {}
        Err(other) => return Err(other),
        Ok(_) => {
            return Err(write::duplicate(format!(
                "a {} with sourcedId {} already exists",
                W::TYPE_NAME,
                row.sourced_id()
            )));
        }
    }
    let id = <<W::Entity as EntityTrait>::Column as std::str::FromStr>::from_str("id")
        .map_err(|_| AppError::internal(anyhow::anyhow!("{} has no id", W::TYPE_NAME)))?;
    let mut active = row.into_active_model();
    active.not_set(id);
    let row: W = active.insert(&txn).await?;
    write::emit(
        &txn,
        &[write::change(
            W::TYPE_NAME,
            row.pk(),
            row.sourced_id(),
            changes::CREATE,
            row.version(),
        )],
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// Updates a record at `expected_version`: as [`create`], plus `VERSION_CONFLICT`,
/// `INVALID_TRANSITION` (a tombstone), `NOT_FOUND` (unknown), `FORBIDDEN` when the writer may
/// not write the row as it is or as it would be.
pub async fn update<W: Writable>(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: &str,
    expected_version: Option<i32>,
    fields: W::Fields,
) -> AppResult<W> {
    let (principal, writer) = W::writer(viewer)?;
    let actor = Actor::of(principal);
    let now = changes::now();
    let txn = write::begin(db).await?;
    let old = write::load_for_write::<W::Entity>(&txn, W::TYPE_NAME, sourced_id).await?;
    W::may_write(writer, &old)?;
    write::check_expected_version(W::TYPE_NAME, sourced_id, old.version(), expected_version)?;
    if old.status() != entity::STATUS_ACTIVE {
        return Err(deleted(W::TYPE_NAME, sourced_id));
    }
    let mut row = old.clone();
    W::apply(&txn, &mut row, fields).await?;
    W::may_write(writer, &row)?;
    W::check(&txn, &row).await?;
    let version = write::update_versioned::<W::Entity>(
        &txn,
        VersionedUpdate {
            type_name: W::TYPE_NAME,
            sourced_id: sourced_id.to_owned(),
            id: old.pk(),
            version: expected_version.unwrap_or(old.version()),
            guard: Some(Expr::col(Alias::new("status")).eq(entity::STATUS_ACTIVE)),
            set: row.columns(),
        },
        &actor,
        now,
    )
    .await?;
    write::emit(
        &txn,
        &[write::change(
            W::TYPE_NAME,
            old.pk(),
            sourced_id,
            changes::UPDATE,
            version,
        )],
        now,
    )
    .await?;
    let row = reload::<W::Entity>(&txn, old.pk()).await?;
    txn.commit().await?;
    Ok(row)
}

/// Deletes a record (a tombstone) at `expected_version`: `VERSION_CONFLICT`,
/// `INVALID_TRANSITION` (already deleted, or still in use), `NOT_FOUND`, `FORBIDDEN`.
pub async fn delete<W: Writable>(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: &str,
    expected_version: Option<i32>,
) -> AppResult<W> {
    let (principal, writer) = W::writer(viewer)?;
    let actor = Actor::of(principal);
    let now = changes::now();
    let txn = write::begin(db).await?;
    let old = write::load_for_write::<W::Entity>(&txn, W::TYPE_NAME, sourced_id).await?;
    W::may_write(writer, &old)?;
    write::check_expected_version(W::TYPE_NAME, sourced_id, old.version(), expected_version)?;
    if old.status() == entity::STATUS_ACTIVE {
        W::in_use(&txn, &old).await?;
    }
    write::tombstone::<W::Entity>(
        &txn,
        W::TYPE_NAME,
        old.pk(),
        sourced_id,
        expected_version.unwrap_or(old.version()),
        &actor,
        now,
    )
    .await?;
    let row = reload::<W::Entity>(&txn, old.pk()).await?;
    txn.commit().await?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_have_the_ext_form() {
        assert!(is_extension("ext:charity.ngo"));
        assert!(!is_extension("ext:"));
        assert!(!is_extension("ext:a b"));
        assert!(extensible("university", "orgType", &["university"]).is_ok());
        assert!(extensible("college", "orgType", &["university"]).is_err());
    }

    #[test]
    fn string_lists_are_trimmed_bounded_and_deduplicated() {
        let list = string_list(&[" ict ".into(), "ict".into()], "sectors", 10).ok();
        assert_eq!(list, Some(Some(serde_json::json!(["ict"]))));
        assert_eq!(string_list(&[], "sectors", 10).ok(), Some(None));
        assert!(string_list(&[" ".into()], "sectors", 10).is_err());
        assert!(string_list(&["x".repeat(11)], "sectors", 10).is_err());
    }
}
