//! Reading the change feed the way an integrator does (API.md section 7), and the gap-free proof
//! any write path can join: [`mirror_from_feed`] runs the given writers concurrently with a
//! reader that pages `changes`, keeps a mirror built only from the feed, and asserts at the end
//! that the mirror equals the database as the API lists it, that sequence numbers strictly
//! increase, and that every change number up to the high-water mark was delivered (or was an
//! `AccessRevoked` addressed to another organisation).
//!
//! To prove a new write path, add a writer (a future that makes its writes through the API, e.g.
//! `upsertStudents` calls) to the writers of `feed::many_concurrent_writers_and_a_paging_reader_
//! agree` and the GraphQL types it writes to `types` (each needs an entry in [`list_field`]).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use api::service::write;
use entity::change_event;
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};
use serde_json::{Value, json};

use crate::{GqlResponse, TestApp};

/// `changes` with every event field the tests look at.
pub const CHANGES: &str = "query($after: String, $until: String, $types: [String!], $first: Int) {
  changes(after: $after, until: $until, types: $types, first: $first) {
    endToken hasMore
    events {
      __typename
      ... on Upserted { changeSeq operation type at node { id ... on Record { sourcedId version status } } }
      ... on Deleted { changeSeq id sourcedId type naturalKey deletedAt }
      ... on AccessRevoked { changeSeq id sourcedId type at }
    }
  }
}";

/// `syncWindow`.
pub const SYNC_WINDOW: &str = "{ syncWindow { oldest newest } }";

/// One event of a page, flattened.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedEvent {
    /// `Upserted`, `Deleted` or `AccessRevoked`.
    pub kind: String,
    pub seq: i64,
    pub type_name: String,
    pub sourced_id: String,
    /// `CREATE`/`UPDATE` of an `Upserted`.
    pub operation: Option<String>,
    /// The node's version and status (`Upserted`).
    pub version: Option<i64>,
    pub status: Option<String>,
    /// `Deleted.naturalKey`.
    pub natural_key: Value,
}

impl FeedEvent {
    /// `Kind:Type:sourcedId`, for set comparisons.
    pub fn label(&self) -> String {
        format!("{}:{}:{}", self.kind, self.type_name, self.sourced_id)
    }

    fn from_json(event: &Value) -> FeedEvent {
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let kind = text(&event["__typename"]).expect("__typename");
        let seq: i64 = event["changeSeq"]
            .as_str()
            .expect("changeSeq")
            .parse()
            .expect("a numeric token");
        let (sourced_id, version, status) = if kind == "Upserted" {
            let node = &event["node"];
            (
                text(&node["sourcedId"]).expect("node.sourcedId"),
                node["version"].as_i64(),
                text(&node["status"]),
            )
        } else {
            (text(&event["sourcedId"]).expect("sourcedId"), None, None)
        };
        FeedEvent {
            kind,
            seq,
            type_name: text(&event["type"]).expect("type"),
            sourced_id,
            operation: text(&event["operation"]),
            version,
            status,
            natural_key: event["naturalKey"].clone(),
        }
    }
}

/// One page.
#[derive(Clone, Debug)]
pub struct FeedPage {
    pub events: Vec<FeedEvent>,
    pub end_token: String,
    pub has_more: bool,
}

/// `changes` with raw variables (for error cases).
pub async fn changes_raw(app: &TestApp, bearer: Option<&str>, variables: Value) -> GqlResponse {
    app.gql(CHANGES, variables, bearer).await
}

/// One page of `changes`, which must succeed.
pub async fn changes(
    app: &TestApp,
    bearer: &str,
    after: Option<&str>,
    until: Option<&str>,
    types: Option<&[&str]>,
    first: i64,
) -> FeedPage {
    let response = changes_raw(
        app,
        Some(bearer),
        json!({ "after": after, "until": until, "types": types, "first": first }),
    )
    .await;
    let page = &response.data()["changes"];
    FeedPage {
        events: page["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(FeedEvent::from_json)
            .collect(),
        end_token: page["endToken"].as_str().expect("endToken").to_owned(),
        has_more: page["hasMore"].as_bool().expect("hasMore"),
    }
}

/// `syncWindow` as numbers: `(oldest, newest)`.
pub async fn sync_window(app: &TestApp, bearer: &str) -> (i64, i64) {
    let response = app.gql(SYNC_WINDOW, json!({}), Some(bearer)).await;
    let window = &response.data()["syncWindow"];
    let number = |v: &Value| -> i64 { v.as_str().expect("a token").parse().expect("numeric") };
    (number(&window["oldest"]), number(&window["newest"]))
}

/// Every event after `after` up to the newest token at the start, paging `first` at a time
/// with a fixed `until`: the integrator's loop. Asserts the paging contract on the way (pages
/// in order, `endToken` moves forward, the last page ends at `until`).
pub async fn read_all(
    app: &TestApp,
    bearer: &str,
    after: Option<&str>,
    types: Option<&[&str]>,
    first: i64,
) -> Vec<FeedEvent> {
    let (_, newest) = sync_window(app, bearer).await;
    let until = newest.to_string();
    let mut after = after.map(str::to_owned);
    let mut events: Vec<FeedEvent> = Vec::new();
    loop {
        let page = changes(app, bearer, after.as_deref(), Some(&until), types, first).await;
        assert!(
            page.events.len() <= usize::try_from(first).expect("positive"),
            "a page larger than first"
        );
        let end: i64 = page.end_token.parse().expect("numeric endToken");
        if let Some(last) = page.events.last() {
            assert!(last.seq <= end, "an event after endToken {end}");
        }
        if let Some(previous) = &after {
            let previous: i64 = previous.parse().expect("numeric");
            assert!(end >= previous, "endToken moved back");
        }
        events.extend(page.events);
        after = Some(page.end_token.clone());
        if !page.has_more {
            assert_eq!(end, newest, "the last page ends at until");
            break;
        }
    }
    assert_increasing(&events);
    events
}

/// Sequence numbers strictly increase (so: in order and no duplicates).
pub fn assert_increasing(events: &[FeedEvent]) {
    for pair in events.windows(2) {
        assert!(
            pair[0].seq < pair[1].seq,
            "change {} came after {}",
            pair[1].seq,
            pair[0].seq
        );
    }
}

/// What a mirror keeps of a record: its version and status (a tombstone's version is not
/// compared: a `Deleted` event carries none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replica {
    pub version: Option<i64>,
    pub status: String,
}

impl Replica {
    pub fn new(version: Option<i64>, status: &str) -> Replica {
        Replica {
            version: (status != "TOBEDELETED").then_some(version).flatten(),
            status: status.to_owned(),
        }
    }
}

/// Records by `(type, sourcedId)`.
pub type Records = BTreeMap<(String, String), Replica>;

/// The root list of a GraphQL type (every one takes `includeDeleted`).
pub fn list_field(type_name: &str) -> &'static str {
    match type_name {
        "Organization" => "organizations",
        "Person" => "people",
        "RoleAssignment" => "roleAssignments",
        "GuardianLink" => "guardianLinks",
        "ExternalId" => "externalIds",
        "ConsentRecord" => "consentRecords",
        "AcademicSession" => "academicSessions",
        "Pathway" => "pathways",
        "Cohort" => "cohorts",
        "Course" => "courses",
        "CourseOffering" => "courseOfferings",
        "PathwayEnrollment" => "pathwayEnrollments",
        "CourseEnrollment" => "courseEnrollments",
        "Mentorship" => "mentorships",
        other => panic!("no root list for {other}: add it to list_field"),
    }
}

/// Every record of `types` as the API lists it to `bearer`, tombstones included.
pub async fn snapshot(app: &TestApp, bearer: &str, types: &[&str]) -> Records {
    let mut records = Records::new();
    for type_name in types {
        let field = list_field(type_name);
        let query = format!(
            "query($after: String) {{ {field}(first: 100, after: $after, includeDeleted: true) {{
               pageInfo {{ hasNextPage endCursor }}
               edges {{ node {{ sourcedId version status }} }} }} }}"
        );
        let mut after: Option<String> = None;
        loop {
            let response = app
                .gql(&query, json!({ "after": after }), Some(bearer))
                .await;
            let list = &response.data()[field];
            for edge in list["edges"].as_array().expect("edges") {
                let node = &edge["node"];
                records.insert(
                    (
                        (*type_name).to_owned(),
                        node["sourcedId"].as_str().expect("sourcedId").to_owned(),
                    ),
                    Replica::new(
                        node["version"].as_i64(),
                        node["status"].as_str().expect("status"),
                    ),
                );
            }
            if !list["pageInfo"]["hasNextPage"]
                .as_bool()
                .expect("hasNextPage")
            {
                break;
            }
            after = list["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        }
    }
    records
}

/// A copy of the data built from a snapshot and then only from the feed.
#[derive(Clone, Debug)]
pub struct Mirror {
    pub records: Records,
    /// The token to resume from.
    pub token: String,
    /// Every event applied, in order.
    pub events: Vec<FeedEvent>,
    /// Pages read.
    pub pages: usize,
}

impl Mirror {
    /// Bootstraps like an integrator: the token first, then the full load (a change made in
    /// between is applied again from the feed, which is harmless: events are idempotent).
    pub async fn bootstrap(app: &TestApp, bearer: &str, types: &[&str]) -> Mirror {
        let (_, newest) = sync_window(app, bearer).await;
        Mirror {
            records: snapshot(app, bearer, types).await,
            token: newest.to_string(),
            events: Vec::new(),
            pages: 0,
        }
    }

    /// Applies events: `Upserted` stores the node's version and status, `Deleted` marks a
    /// tombstone, `AccessRevoked` purges the record.
    pub fn apply(&mut self, events: &[FeedEvent]) {
        for event in events {
            if let Some(last) = self.events.last() {
                assert!(
                    event.seq > last.seq,
                    "change {} after {}: out of order or repeated",
                    event.seq,
                    last.seq
                );
            }
            let key = (event.type_name.clone(), event.sourced_id.clone());
            match event.kind.as_str() {
                "Upserted" => {
                    let replica =
                        Replica::new(event.version, event.status.as_deref().expect("status"));
                    if let (Some(old), Some(new)) = (
                        self.records.get(&key).and_then(|r| r.version),
                        replica.version,
                    ) {
                        assert!(new >= old, "{key:?} went back from version {old} to {new}");
                    }
                    self.records.insert(key, replica);
                }
                "Deleted" => {
                    self.records.insert(key, Replica::new(None, "TOBEDELETED"));
                }
                "AccessRevoked" => {
                    self.records.remove(&key);
                }
                other => panic!("unknown event kind {other}"),
            }
            self.events.push(event.clone());
        }
    }

    /// Reads and applies one page after the token (`until` omitted: the newest at the call);
    /// returns `hasMore`.
    pub async fn page(
        &mut self,
        app: &TestApp,
        bearer: &str,
        first: i64,
        until: Option<&str>,
    ) -> bool {
        let page = changes(app, bearer, Some(&self.token), until, None, first).await;
        self.apply(&page.events);
        self.token = page.end_token;
        self.pages += 1;
        page.has_more
    }

    /// Pages to the newest token at the call, with a fixed `until`.
    pub async fn catch_up(&mut self, app: &TestApp, bearer: &str, first: i64) {
        let (_, newest) = sync_window(app, bearer).await;
        let until = newest.to_string();
        while self.page(app, bearer, first, Some(&until)).await {}
        assert_eq!(self.token, until, "caught up to the newest token");
    }
}

/// A concurrent writer: a future that writes through the API.
pub type Writer = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// What [`mirror_from_feed`] proved.
#[derive(Clone, Debug)]
pub struct Proof {
    pub mirror: Mirror,
    /// The token before the writers started and the high-water mark after they finished.
    pub start: i64,
    pub newest: i64,
    /// Pages read while writers were still running.
    pub pages_while_writing: usize,
    /// Sequence numbers of events addressed to an organisation (`AccessRevoked`).
    pub addressed: Vec<i64>,
}

/// The gap-free proof (DOMAIN.md area I): bootstraps a mirror of `types` as `bearer` (a
/// programmeAdmin sees every record), runs `writers` concurrently while paging `changes`
/// `first` at a time, catches up once they are done, then asserts:
/// - the mirror, built only from the feed, equals the database as the API lists it;
/// - sequence numbers strictly increase (no reordering, no repeats);
/// - every change number after the start up to the high-water mark was delivered, except
///   exactly the events addressed to an organisation (`AccessRevoked`, never for others);
/// - the feed spoke of no type outside `types` (nothing escaped the comparison).
pub async fn mirror_from_feed(
    app: &TestApp,
    bearer: &str,
    types: &[&str],
    first: i64,
    writers: Vec<Writer>,
) -> Proof {
    let mut mirror = Mirror::bootstrap(app, bearer, types).await;
    let start: i64 = mirror.token.parse().expect("numeric token");
    let done = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = writers.into_iter().map(tokio::spawn).collect();
    let watcher = {
        let done = done.clone();
        tokio::spawn(async move {
            for handle in handles {
                handle.await.expect("a writer failed");
            }
            done.store(true, Ordering::SeqCst);
        })
    };
    let mut pages_while_writing = 0;
    while !done.load(Ordering::SeqCst) {
        let more = mirror.page(app, bearer, first, None).await;
        pages_while_writing += 1;
        if !more {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
    watcher.await.expect("writers joined");
    mirror.catch_up(app, bearer, first).await;
    let newest: i64 = mirror.token.parse().expect("numeric token");

    // The mirror equals the database.
    let truth = snapshot(app, bearer, types).await;
    let wanted: BTreeSet<&str> = types.iter().copied().collect();
    for event in &mirror.events {
        assert!(
            wanted.contains(event.type_name.as_str()),
            "the feed reported a {} change; add the type to the proof",
            event.type_name
        );
    }
    let differences: Vec<String> = truth
        .keys()
        .chain(mirror.records.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|key| truth.get(*key) != mirror.records.get(*key))
        .map(|key| {
            format!(
                "{key:?}: database {:?}, mirror {:?}",
                truth.get(key),
                mirror.records.get(key)
            )
        })
        .collect();
    assert!(
        differences.is_empty(),
        "the mirror differs from the database:\n{}",
        differences.join("\n")
    );

    // Every number delivered or addressed to an organisation; nothing else.
    let addressed: Vec<i64> = change_event::Entity::find()
        .filter(change_event::Column::Seq.gt(start))
        .filter(change_event::Column::Seq.lte(newest))
        .filter(change_event::Column::AudienceOrgId.is_not_null())
        .order_by_asc(change_event::Column::Seq)
        .all(&app.db)
        .await
        .expect("addressed events")
        .into_iter()
        .map(|e| e.seq)
        .collect();
    let delivered: BTreeSet<i64> = mirror.events.iter().map(|e| e.seq).collect();
    assert_eq!(
        delivered.len(),
        mirror.events.len(),
        "a change delivered twice"
    );
    let mut all: Vec<i64> = delivered.iter().copied().chain(addressed.clone()).collect();
    all.sort_unstable();
    let expected: Vec<i64> = (start + 1..=newest).collect();
    assert_eq!(
        all, expected,
        "changes {start}..={newest}: delivered plus addressed must be every number once"
    );
    Proof {
        mirror,
        start,
        newest,
        pages_while_writing,
        addressed,
    }
}

/// Emits change events for existing rows through the writers' own numbering (`write::begin`,
/// `write::emit`, commit), as a write touching them would, without changing the rows: arranges
/// feed tests over records no mutation writes yet. Each item is `(type, row id, sourcedId,
/// operation)`.
pub async fn emit_changes(
    db: &DatabaseConnection,
    changes: &[(&'static str, i64, &str, &'static str)],
) {
    let txn = write::begin(db).await.expect("begin a write");
    let events: Vec<_> = changes
        .iter()
        .map(|(type_name, id, sid, operation)| write::change(type_name, *id, sid, operation, 1))
        .collect();
    write::emit(&txn, &events, api::changes::now())
        .await
        .expect("emit change events");
    txn.commit().await.expect("commit the events");
}

/// Deletes a record through the write path's tombstone (`write::begin`, `write::tombstone`:
/// status `TOBEDELETED`, version + 1 and a `delete` event in one transaction), for types that
/// have no delete mutation yet. Returns the new version.
pub async fn delete_record<E: EntityTrait>(
    db: &DatabaseConnection,
    type_name: &'static str,
    sourced_id: &str,
) -> i32 {
    let txn = write::begin(db).await.expect("begin a write");
    let select = Query::select()
        .columns([Alias::new("id"), Alias::new("version")])
        .from(E::default())
        .and_where(Expr::col(Alias::new("sourced_id")).eq(sourced_id))
        .to_owned();
    let row = txn
        .query_one(txn.get_database_backend().build(&select))
        .await
        .expect("read the record")
        .unwrap_or_else(|| panic!("no {type_name} {sourced_id}"));
    let id: i64 = row.try_get_by_index(0).expect("id");
    let version: i32 = row.try_get_by_index(1).expect("version");
    let actor = write::Actor {
        subject: "feed-test".to_owned(),
        client_id: None,
    };
    let version = write::tombstone::<E>(
        &txn,
        type_name,
        id,
        sourced_id,
        version,
        &actor,
        api::changes::now(),
    )
    .await
    .expect("tombstone");
    txn.commit().await.expect("commit the delete");
    version
}
