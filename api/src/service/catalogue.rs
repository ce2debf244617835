//! Writing the catalogue and calendar (DOMAIN.md areas A and B): organisations, academic
//! sessions, cohorts and courses. One module per area; this one holds what they share.
//!
//! Every write follows [`super::write`]: the transaction takes the change-feed lock first, an
//! update or delete names the version it read (`expectedVersion`) and the `UPDATE` checks it in
//! the statement itself, deletes are tombstones, and every write emits its change event in the
//! same transaction.
//!
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
use sea_orm::sea_query::{Alias, Expr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::write;
use crate::error::{AppError, AppResult};

/// Longest code (course, cohort): short, human-typed keys.
pub const MAX_CODE_CHARS: usize = 64;
/// Most items of a list of short strings (industry sectors, aliases).
pub const MAX_LIST_ITEMS: usize = 50;
/// Earliest and latest plausible school or HKDSE year.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// Whether `text` is `ext:` followed by 1 to 250 of `[A-Za-z0-9._-]` (an extension value).
pub fn is_extension(text: &str) -> bool {
    text.strip_prefix("ext:").is_some_and(|rest| {
        !rest.is_empty()
            && rest.len() <= 250
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    })
}

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
