//! The change feed (API.md section 7, DOMAIN.md area I): `syncWindow` and `changes`.
//!
//! A page is assembled from the raw events of [`crate::service::feed`] in chunks: each chunk is
//! one range read of `change_event`, then one scoped load per entity type in it (the `node`
//! DataLoaders, so the scope, the field minimisation and the access audit of every other read
//! apply unchanged), until the page is full, the range is exhausted or the call's scan budget is
//! spent. Statements therefore grow with the number of types and chunks, never with the number
//! of events.
//!
//! Visibility, decided now (not when the change happened):
//! - an event with an audience (`accessRevoked`) reaches only principals acting for that
//!   organisation, as `AccessRevoked`, and never anyone else, nor ever as `Upserted`;
//! - any other event needs the record to be in the caller's scope now, tombstones included
//!   (`create`/`update` → `Upserted` with the node as it is now; `delete` → `Deleted`);
//! - invisible events are skipped silently; the page still advances past them.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;

use async_graphql::{Context, Enum, ID, Json, Object, Result, SimpleObject, Union};
use chrono::{DateTime, Utc};
use entity::change_event;
use futures::future::try_join_all;

use super::common::global_id;
use super::connection::{db, request, viewer};
use super::node::{Node, load_nodes, scope_of_type};
use crate::auth::Viewer;
use crate::changes;
use crate::error::{AppError, AppResult, ResultExt};
use crate::service::feed::{self as service, MAX_CHUNK, Plan};

/// The change tokens between which the feed can be paged. A change token is the decimal text
/// of a change sequence number (tokens are strings because GraphQL `Int` has 32 bits).
#[derive(SimpleObject, Clone, Debug)]
pub struct SyncWindow {
    /// The lowest change sequence number still stored, `"0"` when none is. A client can resume
    /// from any token at or after one less than this without missing a change.
    pub oldest: String,
    /// The committed high-water mark: every change up to and including it is committed and
    /// readable, and no change at or below it can appear later. Page `changes` up to here.
    pub newest: String,
}

/// What happened to an upserted record.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ChangeOperation {
    /// The record was created.
    Create,
    /// The record changed (a field, its state, or a lifecycle transition).
    Update,
}

/// A record the caller may see was created or changed. Events carry no field values: `node` is
/// the record as it is now (it may have changed again since, or be a tombstone), read through
/// the caller's scope and field rules.
#[derive(SimpleObject, Clone)]
pub struct Upserted {
    /// The change token of this event.
    pub change_seq: String,
    /// Whether the change created the record or updated it.
    pub operation: ChangeOperation,
    /// The GraphQL type name of the record, e.g. `Mentorship`.
    #[graphql(name = "type")]
    pub type_name: String,
    /// When the change was committed (UTC).
    pub at: DateTime<Utc>,
    /// The record as it is now, as the caller sees it.
    pub node: Box<Node>,
}

/// A record the caller may see was deleted (it is now a tombstone, `TOBEDELETED`). Remove it
/// from the copy.
#[derive(SimpleObject, Clone, Debug)]
pub struct Deleted {
    /// The change token of this event.
    pub change_seq: String,
    /// The record's global id.
    pub id: ID,
    /// The record's sourcedId.
    pub sourced_id: String,
    /// The GraphQL type name of the record.
    #[graphql(name = "type")]
    pub type_name: String,
    /// The record's business key (DOMAIN.md "Unique") as an object: references by sourcedId,
    /// values as stored (e.g. `{"student": "stu-1", "guardian": "grd-1"}` for a GuardianLink).
    /// Null for types without one (Person, RoleAssignment, ConsentRecord, PathwayEnrollment,
    /// Mentorship) and when every key field is null.
    pub natural_key: Option<Json<serde_json::Value>>,
    /// When the record was deleted (UTC).
    pub deleted_at: DateTime<Utc>,
    /// Row id, for the key lookup.
    #[graphql(skip)]
    pub entity_id: i64,
}

/// The caller's organisation may no longer see this record (e.g. a student withdrew the
/// consent a partner's access rested on): purge every copy of it and of the data read through
/// it. Sent only to principals acting for that organisation.
#[derive(SimpleObject, Clone, Debug)]
pub struct AccessRevoked {
    /// The change token of this event.
    pub change_seq: String,
    /// The record's global id.
    pub id: ID,
    /// The record's sourcedId.
    pub sourced_id: String,
    /// The GraphQL type name of the record, e.g. `Person`.
    #[graphql(name = "type")]
    pub type_name: String,
    /// When access ended (UTC).
    pub at: DateTime<Utc>,
}

/// One change the caller may see.
#[derive(Union, Clone)]
pub enum ChangeEvent {
    Upserted(Upserted),
    Deleted(Deleted),
    AccessRevoked(AccessRevoked),
}

/// One page of the change feed.
#[derive(SimpleObject)]
pub struct ChangePage {
    /// The changes the caller may see, in change order (increasing `changeSeq`).
    pub events: Vec<ChangeEvent>,
    /// The last change token examined (at or after the last event returned): pass it as
    /// `after` to continue. Every change up to it that the caller may see has been returned.
    pub end_token: String,
    /// Whether changes remain after `endToken` up to `until`. A page can be short, even
    /// empty, while this is true: a call examines at most ten times `first` changes.
    pub has_more: bool,
}

/// What the caller may receive, decided once per type per request.
struct Audience<'a> {
    viewer: &'a Viewer,
    /// The organisation the caller acts for (the audience of `AccessRevoked`).
    acting_org: Option<i64>,
    /// The `types` filter.
    wanted: Option<HashSet<String>>,
    readable: HashMap<String, bool>,
}

impl Audience<'_> {
    /// Whether events of `type_name` may reach the caller: asked for, a node type, and a type
    /// the caller may read at all.
    fn reads(&mut self, type_name: &str) -> bool {
        if let Some(wanted) = &self.wanted
            && !wanted.contains(type_name)
        {
            return false;
        }
        let viewer = self.viewer;
        *self
            .readable
            .entry(type_name.to_owned())
            .or_insert_with(|| matches!(scope_of_type(type_name, viewer), Some(Ok(_))))
    }
}

/// Validates the `types` filter: every name a node type (else `BAD_USER_INPUT`), every type one
/// the caller may read (else `FORBIDDEN`).
fn requested_types(
    viewer: &Viewer,
    types: Option<Vec<String>>,
) -> AppResult<Option<HashSet<String>>> {
    let Some(types) = types else {
        return Ok(None);
    };
    if types.is_empty() {
        return Err(AppError::bad_input(
            "types",
            "`types` names at least one type; omit it to receive every type",
        ));
    }
    let mut scopes = Vec::with_capacity(types.len());
    for name in &types {
        match scope_of_type(name, viewer) {
            Some(scope) => scopes.push(scope),
            None => {
                return Err(AppError::bad_input(
                    "types",
                    format!("`types`: `{name}` is not a type of the change feed"),
                ));
            }
        }
    }
    for scope in scopes {
        scope?;
    }
    Ok(Some(types.into_iter().collect()))
}

/// The visible events among `rows`, by sequence number.
async fn visible_events(
    ctx: &Context<'_>,
    audience: &mut Audience<'_>,
    rows: &[change_event::Model],
) -> AppResult<HashMap<i64, ChangeEvent>> {
    // One scoped load per type for the records of events without an audience.
    let mut by_type: HashMap<String, HashSet<String>> = HashMap::new();
    for row in rows {
        if row.audience_org_id.is_none()
            && row.operation != changes::ACCESS_REVOKED
            && audience.reads(&row.entity_type)
        {
            by_type
                .entry(row.entity_type.clone())
                .or_default()
                .insert(row.sourced_id.clone());
        }
    }
    let loaded = try_join_all(by_type.into_iter().map(|(type_name, ids)| async move {
        let nodes = load_nodes(ctx, &type_name, ids.into_iter().collect()).await?;
        Ok::<_, AppError>((type_name, nodes))
    }))
    .await?;
    let loaded: HashMap<String, HashMap<String, Node>> = loaded.into_iter().collect();

    let mut events = HashMap::new();
    for row in rows {
        let event = match row.audience_org_id {
            Some(org) => (audience.acting_org == Some(org) && audience.reads(&row.entity_type))
                .then(|| {
                    ChangeEvent::AccessRevoked(AccessRevoked {
                        change_seq: service::token(row.seq),
                        id: global_id(&row.entity_type, &row.sourced_id),
                        sourced_id: row.sourced_id.clone(),
                        type_name: row.entity_type.clone(),
                        at: row.at,
                    })
                }),
            None if row.operation == changes::ACCESS_REVOKED => None,
            None => loaded
                .get(&row.entity_type)
                .and_then(|nodes| nodes.get(&row.sourced_id))
                .map(|node| {
                    if row.operation == changes::DELETE {
                        ChangeEvent::Deleted(Deleted {
                            change_seq: service::token(row.seq),
                            id: global_id(&row.entity_type, &row.sourced_id),
                            sourced_id: row.sourced_id.clone(),
                            type_name: row.entity_type.clone(),
                            natural_key: None,
                            deleted_at: row.at,
                            entity_id: row.entity_id,
                        })
                    } else {
                        ChangeEvent::Upserted(Upserted {
                            change_seq: service::token(row.seq),
                            operation: if row.operation == changes::CREATE {
                                ChangeOperation::Create
                            } else {
                                ChangeOperation::Update
                            },
                            type_name: row.entity_type.clone(),
                            at: row.at,
                            node: Box::new(node.clone()),
                        })
                    }
                }),
        };
        if let Some(event) = event {
            events.insert(row.seq, event);
        }
    }
    Ok(events)
}

/// Fills in the business keys of the page's `Deleted` events: one lookup per type.
async fn add_natural_keys(ctx: &Context<'_>, events: &mut [ChangeEvent]) -> AppResult<()> {
    let mut by_type: HashMap<String, Vec<i64>> = HashMap::new();
    for event in events.iter() {
        if let ChangeEvent::Deleted(deleted) = event {
            by_type
                .entry(deleted.type_name.clone())
                .or_default()
                .push(deleted.entity_id);
        }
    }
    if by_type.is_empty() {
        return Ok(());
    }
    let db = db(ctx)?;
    let keys = try_join_all(by_type.into_iter().map(|(type_name, ids)| async move {
        let keys = service::natural_keys(db, &type_name, &ids).await?;
        Ok::<_, AppError>((type_name, keys))
    }))
    .await?;
    let keys: HashMap<String, HashMap<i64, serde_json::Value>> = keys.into_iter().collect();
    for event in events.iter_mut() {
        if let ChangeEvent::Deleted(deleted) = event {
            deleted.natural_key = keys
                .get(&deleted.type_name)
                .and_then(|k| k.get(&deleted.entity_id))
                .cloned()
                .map(Json);
        }
    }
    Ok(())
}

/// Reads one page: chunks of raw events (the first as large as the page, then doubling), each
/// filtered by visibility, until the page is full, `until` is reached or the budget is spent.
async fn read_page(
    ctx: &Context<'_>,
    audience: &mut Audience<'_>,
    plan: Plan,
) -> AppResult<ChangePage> {
    let db = db(ctx)?;
    let mut events: Vec<ChangeEvent> = Vec::new();
    let mut examined_to = plan.after;
    let mut scanned = 0_usize;
    let mut chunk = plan.first.min(MAX_CHUNK);
    'scan: while examined_to < plan.until && scanned < plan.budget {
        let limit = chunk.min(plan.budget - scanned).min(MAX_CHUNK);
        let rows = service::events(db, examined_to, plan.until, limit).await?;
        scanned += rows.len();
        let exhausted = rows.len() < limit;
        let mut visible = visible_events(ctx, audience, &rows).await?;
        for (i, row) in rows.iter().enumerate() {
            if let Some(event) = visible.remove(&row.seq) {
                events.push(event);
                if events.len() == plan.first {
                    let last_of_range = exhausted && i + 1 == rows.len();
                    examined_to = if last_of_range { plan.until } else { row.seq };
                    break 'scan;
                }
            }
        }
        examined_to = match rows.last() {
            Some(last) if !exhausted => last.seq,
            _ => plan.until,
        };
        chunk = chunk.saturating_mul(2);
    }
    add_natural_keys(ctx, &mut events).await?;
    request(ctx)?
        .actual_cost
        .fetch_add(events.len() as u64 + 1, Ordering::Relaxed);
    Ok(ChangePage {
        events,
        end_token: service::token(examined_to),
        has_more: examined_to < plan.until,
    })
}

/// Cost of a page: its selection times `first`. An out-of-range `first` is costed as one event
/// so that the resolver, not the cost limit, reports it (`BAD_USER_INPUT` on `first`).
fn feed_cost(first: Option<i32>, child: usize) -> usize {
    let size = match first {
        None => service::DEFAULT_FIRST,
        Some(n) if (1..=service::MAX_FIRST).contains(&n) => n,
        Some(_) => 1,
    };
    super::record::page_cost(Some(size), None, child)
}

#[derive(Default)]
pub struct FeedQuery;

#[Object]
impl FeedQuery {
    /// The change tokens the feed can be paged between: start a sync loop from `newest`
    /// after a full load. Needs a token (`UNAUTHENTICATED` otherwise).
    async fn sync_window(&self, ctx: &Context<'_>) -> Result<SyncWindow> {
        let viewer = viewer(ctx).extend()?;
        viewer
            .principal()
            .ok_or(AppError::Unauthenticated)
            .extend()?;
        let window = service::window(db(ctx).extend()?).await.extend()?;
        Ok(SyncWindow {
            oldest: service::token(window.oldest),
            newest: service::token(window.newest),
        })
    }

    /// The changes after `after` up to `until` that the caller may see now, in order: one
    /// event per change (`Upserted`, `Deleted` or, for the caller's organisation only,
    /// `AccessRevoked`). Loop `changes(after: endToken, until: U)` until `hasMore` is false to
    /// receive every such change up to `U` exactly once; the sequence is gap-free, so however
    /// many writers run no change is missed or reordered. Events of records the caller may not
    /// see now are skipped. Needs a token (`UNAUTHENTICATED` otherwise). Errors
    /// (`BAD_USER_INPUT` with the field): `first` outside 1 to 1,000; a malformed token;
    /// `until` ahead of `syncWindow.newest`; `after` past `until` or older than the window; an
    /// unknown name in `types`. A type in `types` the caller may never read (e.g. a client
    /// without its read scope) is `FORBIDDEN`.
    #[graphql(complexity = "feed_cost(first, child_complexity)")]
    async fn changes(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Exclusive start: a token from `syncWindow` or a previous `endToken`. \
                          Omitted: from the oldest stored change."
        )]
        after: Option<String>,
        #[graphql(
            desc = "Inclusive end, at most `syncWindow.newest`. Omitted: the newest token \
                          when the call starts. Fix it for a whole loop to page a stable range."
        )]
        until: Option<String>,
        #[graphql(
            desc = "Only changes of these GraphQL types, e.g. `[\"Person\", \"Mentorship\"]`. \
                          Omitted: every type the caller may read."
        )]
        types: Option<Vec<String>>,
        #[graphql(
            default = 100,
            desc = "Most events to return, 1 to 1,000 (default 100; null also means 100)."
        )]
        first: Option<i32>,
    ) -> Result<ChangePage> {
        let viewer = viewer(ctx).extend()?;
        let principal = viewer
            .principal()
            .ok_or(AppError::Unauthenticated)
            .extend()?;
        let wanted = requested_types(viewer, types).extend()?;
        let window = service::window(db(ctx).extend()?).await.extend()?;
        let first = first.unwrap_or(service::DEFAULT_FIRST);
        let plan = service::plan(window, after.as_deref(), until.as_deref(), first).extend()?;
        let mut audience = Audience {
            viewer,
            acting_org: principal.org.as_ref().map(|o| o.id),
            wanted,
            readable: HashMap::new(),
        };
        read_page(ctx, &mut audience, plan).await.extend()
    }
}
