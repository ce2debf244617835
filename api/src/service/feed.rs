//! The change feed, read side (API.md section 7, DOMAIN.md area I): the sync window, the raw
//! events of a page, and the business keys of deleted records. Which events a caller sees, and
//! the node of each, is decided by [`crate::graphql::feed`] through the same scoped loaders as
//! every other read.
//!
//! **Tokens.** A change token is the decimal text of a `change_event.seq`. `changes(after: t)`
//! returns events with `seq > t`; `until: u` includes `seq = u`.
//!
//! **Why a page never misses a change.** Every write opens its transaction with
//! [`crate::service::write::begin`], whose first statement updates the single `change_seq` row;
//! that row stays locked until the transaction commits or rolls back, and the write's events are
//! numbered from the same row before it commits. So write transactions run strictly one after
//! another, each commits its events together with the new `last_seq`, and a rolled-back write
//! gives its numbers back. Hence when a reader sees `last_seq = n` committed, every event with
//! `seq <= n` is committed too, and no event with `seq <= n` can appear later. The feed therefore
//! never reads past the committed `last_seq` (the high-water mark, `syncWindow.newest`): the
//! default `until` is the mark read at the start of the call, a larger `until` is refused, and
//! each page ends at a token at or below it. A client that always resumes from the last
//! `endToken` sees every event it may see exactly once, in order. (A snapshot that contains the
//! commit of `last_seq = n` contains the commits of every earlier write: they committed before
//! that write could take the lock.)
//!
//! **Bounded work.** One call examines at most [`scan_budget`] raw events (ten times the page
//! size, at most 10,000), so a caller who sees few of them cannot make one call scan millions;
//! its page is then short, with `hasMore` true and an `endToken` past everything examined.

use std::collections::{BTreeMap, HashMap, HashSet};

use entity::*;
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
};
use serde_json::{Map, Value, json};

use crate::error::{AppError, AppResult};

/// Events per page when `first` is omitted.
pub const DEFAULT_FIRST: i32 = 100;
/// Largest `first`.
pub const MAX_FIRST: i32 = 1000;
/// A call examines at most this many raw events per event it may return.
pub const SCAN_FACTOR: usize = 10;
/// A call never examines more raw events than this.
pub const MAX_SCAN: usize = 10_000;
/// Raw events read (and checked for visibility) in one statement at most.
pub const MAX_CHUNK: usize = 1000;

/// The tokens a client may page between.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// The lowest sequence number still stored; 0 when none is.
    pub oldest: i64,
    /// The committed high-water mark (`change_seq.last_seq`).
    pub newest: i64,
}

/// Reads the window in one statement.
pub async fn window(db: &impl ConnectionTrait) -> AppResult<Window> {
    let backend = db.get_database_backend();
    let row = db
        .query_one(Statement::from_string(
            backend,
            "SELECT s.last_seq, (SELECT MIN(e.seq) FROM change_event e) \
             FROM change_seq s WHERE s.id = 1",
        ))
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("change_seq row missing")))?;
    let newest: i64 = row.try_get_by_index(0)?;
    let oldest: Option<i64> = row.try_get_by_index(1)?;
    Ok(Window {
        oldest: oldest.unwrap_or(0),
        newest,
    })
}

/// Renders a sequence number as a change token.
pub fn token(seq: i64) -> String {
    seq.to_string()
}

/// Parses a change token: the decimal digits of a sequence number, nothing else.
pub fn parse_token(field: &str, text: &str) -> AppResult<i64> {
    let valid = !text.is_empty() && text.len() <= 18 && text.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<i64>() {
        Ok(seq) if valid => Ok(seq),
        _ => Err(AppError::bad_input(
            field,
            format!(
                "`{field}` must be a change token: the decimal digits of a change sequence number \
                 (from `syncWindow` or `endToken`)"
            ),
        )),
    }
}

/// One call's range and size, validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Exclusive lower bound.
    pub after: i64,
    /// Inclusive upper bound; never above the committed high-water mark.
    pub until: i64,
    /// Events wanted.
    pub first: usize,
    /// Raw events the call may examine.
    pub budget: usize,
}

/// Raw events one call with page size `first` may examine.
pub fn scan_budget(first: usize) -> usize {
    first.saturating_mul(SCAN_FACTOR).min(MAX_SCAN)
}

/// Validates `after`, `until` and `first` against the window: `first` is 1 to 1,000; `until`
/// defaults to the newest token and may not exceed it; `after` defaults to the start, may not
/// exceed `until`, and may not be older than the window (events it would need are purged).
pub fn plan(
    window: Window,
    after: Option<&str>,
    until: Option<&str>,
    first: i32,
) -> AppResult<Plan> {
    if !(1..=MAX_FIRST).contains(&first) {
        return Err(AppError::bad_input(
            "first",
            format!("`first` must be between 1 and {MAX_FIRST}"),
        ));
    }
    let first = usize::try_from(first).map_err(AppError::internal)?;
    // The earliest token nothing is missing after: just before the oldest stored event, or the
    // newest token when none is stored (nothing to read, or everything purged).
    let start = if window.oldest > 0 {
        window.oldest - 1
    } else {
        window.newest
    };
    let after = match after {
        None => start,
        Some(text) => parse_token("after", text)?,
    };
    let until = match until {
        None => window.newest,
        Some(text) => parse_token("until", text)?,
    };
    if until > window.newest {
        return Err(AppError::bad_input(
            "until",
            format!(
                "`until` is ahead of the newest change token ({}): changes after it do not exist \
                 yet",
                window.newest
            ),
        ));
    }
    if after > until {
        return Err(AppError::bad_input(
            "after",
            format!("`after` ({after}) is past `until` ({until})"),
        ));
    }
    if after < start {
        return Err(AppError::bad_input(
            "after",
            format!(
                "`after` is older than the sync window (oldest change {}): the changes after it \
                 were purged; reload the data and resume from `syncWindow.newest`",
                window.oldest
            ),
        ));
    }
    Ok(Plan {
        after,
        until,
        first,
        budget: scan_budget(first),
    })
}

/// Raw events with `after < seq <= until`, in order, at most `limit` (a range scan of the
/// primary key).
pub async fn events(
    db: &impl ConnectionTrait,
    after: i64,
    until: i64,
    limit: usize,
) -> AppResult<Vec<change_event::Model>> {
    Ok(change_event::Entity::find()
        .filter(change_event::Column::Seq.gt(after))
        .filter(change_event::Column::Seq.lte(until))
        .order_by_asc(change_event::Column::Seq)
        .limit(u64::try_from(limit).map_err(AppError::internal)?)
        .all(db)
        .await?)
}

/// A part of a business key: a value, or a reference (table, row id) given as its sourcedId.
enum Part {
    Value(Value),
    Ref(Option<&'static str>, Option<i64>),
}

fn text(value: &Option<String>) -> Part {
    Part::Value(value.as_ref().map_or(Value::Null, |t| json!(t)))
}

fn value(value: impl Into<Value>) -> Part {
    Part::Value(value.into())
}

fn reference(table: &'static str, id: i64) -> Part {
    Part::Ref(Some(table), Some(id))
}

type Parts = Vec<(&'static str, Part)>;

/// Rows of `E` by id with the key parts `key` picks from each.
async fn keyed<E>(
    db: &impl ConnectionTrait,
    ids: &[i64],
    key: fn(&E::Model) -> Parts,
) -> AppResult<Vec<(i64, Parts)>>
where
    E: EntityTrait,
    E::Model: RecordModel + Sync,
{
    let rows = E::find()
        .filter(Expr::col((E::default(), Alias::new("id"))).is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.iter().map(|row| (row.pk(), key(row))).collect())
}

/// The business keys (DOMAIN.md "Unique") of records of node type `type_name`, by row id: a
/// JSON object of the key fields, references given by sourcedId and values as stored. A type
/// without a business key, or a row whose key fields are all null, gets no entry (a null key).
/// One statement for the rows, plus one per referenced table.
pub async fn natural_keys(
    db: &impl ConnectionTrait,
    type_name: &str,
    ids: &[i64],
) -> AppResult<HashMap<i64, Value>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = match type_name {
        "Organization" => {
            keyed::<org::Entity>(db, ids, |m| {
                vec![
                    ("identifierScheme", text(&m.identifier_scheme)),
                    ("identifier", text(&m.identifier)),
                ]
            })
            .await?
        }
        "GuardianLink" => {
            keyed::<guardian_link::Entity>(db, ids, |m| {
                vec![
                    ("student", reference("person", m.student_id)),
                    ("guardian", reference("person", m.guardian_id)),
                ]
            })
            .await?
        }
        "ExternalId" => {
            keyed::<external_id::Entity>(db, ids, |m| {
                vec![
                    ("entityType", value(m.entity_type.clone())),
                    (
                        "entity",
                        Part::Ref(
                            crate::graphql::node::table_of_type(&m.entity_type),
                            Some(m.entity_id),
                        ),
                    ),
                    ("scopeOrg", reference("org", m.scope_org_id)),
                    ("system", value(m.system.clone())),
                    ("idType", value(m.id_type.clone())),
                    ("identifier", value(m.identifier.clone())),
                ]
            })
            .await?
        }
        "AcademicSession" => {
            keyed::<academic_session::Entity>(db, ids, |m| {
                vec![
                    ("org", Part::Ref(Some("org"), m.org_id)),
                    ("sessionType", value(m.session_type.clone())),
                    ("title", value(m.title.clone())),
                ]
            })
            .await?
        }
        "Pathway" => {
            keyed::<pathway::Entity>(db, ids, |m| vec![("code", value(m.code.clone()))]).await?
        }
        "PathwayStage" => {
            keyed::<pathway_stage::Entity>(db, ids, |m| {
                vec![
                    ("pathway", reference("pathway", m.pathway_id)),
                    ("seq", value(m.seq)),
                    ("code", value(m.code.clone())),
                ]
            })
            .await?
        }
        "StageCourse" => {
            keyed::<stage_course::Entity>(db, ids, |m| {
                vec![
                    ("stage", reference("pathway_stage", m.stage_id)),
                    ("course", reference("course", m.course_id)),
                ]
            })
            .await?
        }
        "Cohort" => {
            keyed::<cohort::Entity>(db, ids, |m| {
                vec![
                    ("pathway", reference("pathway", m.pathway_id)),
                    ("code", value(m.code.clone())),
                ]
            })
            .await?
        }
        "Course" => {
            keyed::<course::Entity>(db, ids, |m| {
                vec![
                    ("providerOrg", reference("org", m.provider_org_id)),
                    ("courseCode", value(m.course_code.clone())),
                ]
            })
            .await?
        }
        "CourseOffering" => {
            keyed::<course_offering::Entity>(db, ids, |m| {
                vec![
                    ("course", reference("course", m.course_id)),
                    ("classCode", value(m.class_code.clone())),
                ]
            })
            .await?
        }
        "CourseEnrollment" => {
            keyed::<course_enrollment::Entity>(db, ids, |m| {
                vec![
                    ("person", reference("person", m.person_id)),
                    ("offering", reference("course_offering", m.offering_id)),
                    ("role", value(m.role.clone())),
                    (
                        "beginDate",
                        value(m.begin_date.format("%Y-%m-%d").to_string()),
                    ),
                ]
            })
            .await?
        }
        // Person (email is personal data and unique only among account holders),
        // RoleAssignment, ConsentRecord, PathwayEnrollment, Mentorship, ApiClient and
        // AccessAuditEvent have no business key.
        _ => return Ok(HashMap::new()),
    };

    let mut wanted: BTreeMap<&'static str, HashSet<i64>> = BTreeMap::new();
    for (_, parts) in &rows {
        for (_, part) in parts {
            if let Part::Ref(Some(table), Some(id)) = part {
                wanted.entry(table).or_default().insert(*id);
            }
        }
    }
    let mut sourced: HashMap<(&'static str, i64), String> = HashMap::new();
    for (table, ids) in wanted {
        for (id, sid) in sourced_ids(db, table, ids).await? {
            sourced.insert((table, id), sid);
        }
    }

    Ok(rows
        .into_iter()
        .filter_map(|(id, parts)| {
            let mut object = Map::new();
            for (name, part) in parts {
                let v = match part {
                    Part::Value(v) => v,
                    Part::Ref(Some(table), Some(rid)) => sourced
                        .get(&(table, rid))
                        .map_or(Value::Null, |sid| json!(sid)),
                    Part::Ref(..) => Value::Null,
                };
                object.insert(name.to_owned(), v);
            }
            object
                .values()
                .any(|v| !v.is_null())
                .then_some((id, Value::Object(object)))
        })
        .collect())
}

/// `(id, sourced_id)` of rows of `table`.
async fn sourced_ids(
    db: &impl ConnectionTrait,
    table: &'static str,
    ids: HashSet<i64>,
) -> AppResult<Vec<(i64, String)>> {
    let statement = Query::select()
        .columns([Alias::new("id"), Alias::new("sourced_id")])
        .from(Alias::new(table))
        .and_where(Expr::col(Alias::new("id")).is_in(ids))
        .to_owned();
    let backend = db.get_database_backend();
    let rows = db.query_all(backend.build(&statement)).await?;
    rows.iter()
        .map(|row| Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(oldest: i64, newest: i64) -> Window {
        Window { oldest, newest }
    }

    #[test]
    fn tokens_are_decimal_digits_only() {
        assert_eq!(parse_token("after", "0").ok(), Some(0));
        assert_eq!(parse_token("after", "12345").ok(), Some(12_345));
        for bad in [
            "",
            "-1",
            "+1",
            " 1",
            "1.0",
            "0x10",
            "abc",
            "1234567890123456789",
        ] {
            assert!(parse_token("after", bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_plan_defaults_to_the_whole_window() {
        let plan = super::plan(window(1, 40), None, None, DEFAULT_FIRST).ok();
        assert_eq!(
            plan,
            Some(Plan {
                after: 0,
                until: 40,
                first: 100,
                budget: 1000,
            })
        );
        let empty = super::plan(window(0, 0), None, None, 1).ok();
        assert_eq!(empty.map(|p| (p.after, p.until)), Some((0, 0)));
    }

    /// The field of a refused plan.
    fn refused(result: AppResult<Plan>) -> Option<String> {
        match result {
            Err(AppError::BadUserInput { field, .. }) => Some(field),
            _ => None,
        }
    }

    #[test]
    fn a_plan_refuses_what_it_cannot_answer() {
        let w = window(5, 40);
        assert_eq!(
            refused(super::plan(w, None, None, 0)).as_deref(),
            Some("first")
        );
        assert_eq!(
            refused(super::plan(w, None, None, 1001)).as_deref(),
            Some("first")
        );
        assert_eq!(
            refused(super::plan(w, None, Some("41"), 1)).as_deref(),
            Some("until")
        );
        assert_eq!(
            refused(super::plan(w, Some("x"), None, 1)).as_deref(),
            Some("after")
        );
        assert_eq!(
            refused(super::plan(w, Some("30"), Some("20"), 1)).as_deref(),
            Some("after")
        );
        // Events 1 to 4 are gone: resuming after 2 would miss 3 and 4.
        assert_eq!(
            refused(super::plan(w, Some("2"), None, 1)).as_deref(),
            Some("after")
        );
        assert!(super::plan(w, Some("4"), None, 1).is_ok());
        assert!(super::plan(w, Some("40"), None, 1).is_ok());
        // Everything purged: only the newest token resumes.
        assert_eq!(
            refused(super::plan(window(0, 9), Some("3"), None, 1)).as_deref(),
            Some("after")
        );
        assert!(super::plan(window(0, 9), Some("9"), None, 1).is_ok());
    }

    #[test]
    fn the_scan_budget_is_ten_pages_at_most_ten_thousand_events() {
        assert_eq!(scan_budget(1), 10);
        assert_eq!(scan_budget(100), 1000);
        assert_eq!(scan_budget(1000), MAX_SCAN);
    }
}
