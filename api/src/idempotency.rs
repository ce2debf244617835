//! `Idempotency-Key` on mutation requests (API.md section 4; integrators' guide in
//! docs/idempotency.md).
//!
//! The database is the only source of truth, so every API instance sharing it agrees:
//!
//! 1. [`Idempotency::claim`] inserts a `running` row for (principal, key) with
//!    `INSERT … ON CONFLICT DO NOTHING`. Whoever inserts it owns the attempt. Anyone else reads
//!    the row: a different request hash is `IDEMPOTENCY_KEY_REUSED`, a stored response is
//!    replayed, a live attempt is `IDEMPOTENCY_IN_PROGRESS`. An expired row, or a running one
//!    whose lease has passed (its instance died), is taken over with an `UPDATE` conditional on
//!    the claim id that was read, so of several racing takers exactly one wins.
//! 2. The owner runs the request ([`holding`] its ticket: each writing transaction marks the key
//!    `written` before it commits, [`note_write`]) and [`Idempotency::finish`] either stores the
//!    response (`done`) or, when it has no data and nothing was written, deletes the claim so that
//!    a retry runs again ([`has_data`]). Both statements again compare the claim id.
//! 3. Expired rows are taken over when their key comes back, and every instance deletes a
//!    bounded batch of them at most once a minute ([`Idempotency::purge_expired`]).

use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};

use actix_web::http::header::HeaderMap;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value as DbValue};
use serde_json::Value;

use crate::auth::Viewer;
use crate::config::IdempotencySettings;
use crate::error::{AppError, AppResult, ErrorCode};

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// Longest accepted key.
pub const MAX_KEY_LEN: usize = 255;
/// Expired rows deleted by one periodic purge.
const PURGE_BATCH: i64 = 1000;
/// How often one instance purges, in milliseconds.
const PURGE_EVERY_MS: i64 = 60_000;
/// Claim attempts before a key whose row keeps changing under us is reported as in progress.
const CLAIM_ATTEMPTS: usize = 4;

/// An attempt holds the key and has not written (yet).
const RUNNING: &str = "running";
/// An attempt holds the key and has committed a write (set in the writing transaction).
const WRITTEN: &str = "written";
/// The response is stored.
const DONE: &str = "done";

/// The key a request asked for, with the principal it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestedKey {
    /// `p:<subject>@<org>` for a person, `c:<client id>@<org>` for an integration client.
    pub principal: String,
    pub key: String,
}

/// The key of a request, if it carries one that applies (API.md section 4).
///
/// Only mutations use keys: for a query the header is ignored. A malformed key (not 1–255
/// printable ASCII characters, or the header given twice) is `BAD_USER_INPUT` on the field
/// `Idempotency-Key`; a key without a bearer token is `UNAUTHENTICATED` (keys are stored per
/// principal, and every mutation needs one anyway).
pub fn requested_key(
    headers: &HeaderMap,
    viewer: &Viewer,
    is_mutation: bool,
) -> AppResult<Option<RequestedKey>> {
    if !is_mutation {
        return Ok(None);
    }
    let mut values = headers.get_all(HEADER);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AppError::bad_input(
            "Idempotency-Key",
            "send one Idempotency-Key header",
        ));
    }
    let key = value
        .to_str()
        .ok()
        .filter(|key| valid_key(key))
        .ok_or_else(|| {
            AppError::bad_input(
                "Idempotency-Key",
                "an Idempotency-Key is 1 to 255 printable ASCII characters",
            )
        })?;
    let Some(principal) = viewer.principal() else {
        return Err(AppError::Unauthenticated);
    };
    let principal = match &principal.client_id {
        Some(client) => format!("c:{client}@{}", principal.org_sourced_id),
        None => format!("p:{}@{}", principal.subject, principal.org_sourced_id),
    };
    Ok(Some(RequestedKey {
        principal,
        key: key.to_owned(),
    }))
}

fn valid_key(key: &str) -> bool {
    (1..=MAX_KEY_LEN).contains(&key.len()) && key.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// SHA-256 (hex) of the canonical JSON array `[query, operationName, variables]`, object keys
/// sorted at every level, so a retry matches whatever order its client serialised variables in.
pub fn request_hash(request: &async_graphql::Request) -> String {
    let variables = serde_json::to_value(&request.variables).unwrap_or(Value::Null);
    hash_of(&request.query, request.operation_name.as_deref(), variables)
}

/// [`request_hash`] of its parts (`variables` as JSON; no variables is `{}`).
pub fn hash_of(query: &str, operation_name: Option<&str>, variables: Value) -> String {
    let canonical = Value::Array(vec![
        Value::String(query.to_owned()),
        operation_name.map_or(Value::Null, |name| Value::String(name.to_owned())),
        variables,
    ]);
    let mut text = String::new();
    write_canonical(&canonical, &mut text);
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (name, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(name.clone()).to_string());
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// A response stored under a key.
#[derive(Clone, Debug)]
pub struct Stored {
    pub status: u16,
    pub body: Value,
    /// `X-Request-Id` of the attempt that produced it.
    pub request_id: Option<String>,
}

/// The attempt this request owns: finish it with [`Idempotency::finish`].
#[derive(Clone, Debug)]
pub struct Ticket {
    key: RequestedKey,
    claim: String,
}

/// What [`Idempotency::claim`] decided.
#[derive(Debug)]
pub enum Claim {
    /// Run the request, then [`Idempotency::finish`].
    Owned(Ticket),
    /// Return this stored response (with `replayed: true`); run nothing.
    Replay(Stored),
    /// `IDEMPOTENCY_KEY_REUSED` or `IDEMPOTENCY_IN_PROGRESS`; run nothing.
    Refused(AppError),
}

/// The idempotency store of one instance: settings and the purge throttle (never the source of
/// truth, which is the `idempotency_key` table).
#[derive(Debug)]
pub struct Idempotency {
    ttl_ms: i64,
    lease_ms: i64,
    last_purge_ms: AtomicI64,
}

/// `IDEMPOTENCY_KEY_REUSED`.
fn key_reused() -> AppError {
    AppError::Conflict {
        code: ErrorCode::IdempotencyKeyReused,
        message: "this Idempotency-Key was used with a different request; use a new key for a \
                  new request"
            .into(),
    }
}

/// `IDEMPOTENCY_IN_PROGRESS`.
fn in_progress() -> AppError {
    AppError::Conflict {
        code: ErrorCode::IdempotencyInProgress,
        message: "a request with this Idempotency-Key is still running; retry shortly".into(),
    }
}

/// Unix milliseconds.
fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `?` placeholders as the backend wants them (`$1`, `$2`, … on PostgreSQL).
fn statement(backend: DbBackend, sql: &str, values: Vec<DbValue>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => {
            let mut out = String::with_capacity(sql.len() + 8);
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    out.push('$');
                    out.push_str(&n.to_string());
                } else {
                    out.push(c);
                }
            }
            out
        }
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// The row of a key, as `claim` reads it.
struct Row {
    request_hash: String,
    state: String,
    claim: String,
    request_id: Option<String>,
    response_status: Option<i32>,
    response_body: Option<String>,
    expires_at: i64,
    locked_until: Option<i64>,
}

impl Idempotency {
    pub fn new(settings: &IdempotencySettings) -> Idempotency {
        let ms = |s: u64| i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX);
        Idempotency {
            ttl_ms: ms(settings.ttl_seconds).max(1),
            lease_ms: ms(settings.lease_seconds).max(1),
            last_purge_ms: AtomicI64::new(0),
        }
    }

    /// Claims `key` for a request whose hash is `hash` (see the module documentation).
    pub async fn claim(
        &self,
        db: &DatabaseConnection,
        key: &RequestedKey,
        hash: &str,
    ) -> AppResult<Claim> {
        self.maybe_purge(db);
        let backend = db.get_database_backend();
        for _ in 0..CLAIM_ATTEMPTS {
            let now = now_ms();
            let claim = uuid::Uuid::new_v4().simple().to_string();
            let inserted = db
                .execute(statement(
                    backend,
                    "INSERT INTO idempotency_key (principal, request_key, request_hash, state, \
                     claim, created_at, expires_at, locked_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
                     ON CONFLICT (principal, request_key) DO NOTHING",
                    vec![
                        key.principal.clone().into(),
                        key.key.clone().into(),
                        hash.into(),
                        RUNNING.into(),
                        claim.clone().into(),
                        now.into(),
                        (now + self.ttl_ms).into(),
                        (now + self.lease_ms).into(),
                    ],
                ))
                .await?
                .rows_affected();
            if inserted == 1 {
                return Ok(Claim::Owned(Ticket {
                    key: key.clone(),
                    claim,
                }));
            }
            let Some(row) = read(db, key).await? else {
                // Released or purged since the insert: claim again.
                continue;
            };
            // An unfinished attempt within its lease is never taken over, even past the TTL.
            let live = row.state != DONE && row.locked_until.is_some_and(|t| t > now);
            let expired = row.expires_at <= now && !live;
            if !expired && row.request_hash != hash {
                return Ok(Claim::Refused(key_reused()));
            }
            let abandoned = row.state == RUNNING && !live;
            if expired || abandoned {
                if self
                    .take_over(db, key, hash, (&row.claim, &row.state), &claim, now)
                    .await?
                {
                    if abandoned && !expired {
                        tracing::warn!(
                            idempotency.principal = %key.principal,
                            "took over an idempotency key whose attempt passed its lease"
                        );
                    }
                    return Ok(Claim::Owned(Ticket {
                        key: key.clone(),
                        claim,
                    }));
                }
                continue;
            }
            if row.state == WRITTEN && !live {
                // Its instance died after committing and before storing the response: the
                // outcome is settled as "wrote, response lost", never run a second time.
                let stored = lost_response();
                if settle_lost(db, key, &row.claim, &stored).await? {
                    tracing::warn!(
                        idempotency.principal = %key.principal,
                        "an idempotent attempt wrote but its response was lost"
                    );
                    return Ok(Claim::Replay(stored));
                }
                continue;
            }
            if row.state == DONE {
                let body = row
                    .response_body
                    .as_deref()
                    .and_then(|text| serde_json::from_str(text).ok())
                    .ok_or_else(|| {
                        AppError::internal(anyhow::anyhow!("stored idempotent response unreadable"))
                    })?;
                return Ok(Claim::Replay(Stored {
                    status: row
                        .response_status
                        .and_then(|s| u16::try_from(s).ok())
                        .unwrap_or(200),
                    body,
                    request_id: row.request_id,
                }));
            }
            return Ok(Claim::Refused(in_progress()));
        }
        Ok(Claim::Refused(in_progress()))
    }

    /// Replaces an expired or abandoned attempt by ours, if nobody else changed the row since it
    /// was read as `(claim, state)`.
    async fn take_over(
        &self,
        db: &DatabaseConnection,
        key: &RequestedKey,
        hash: &str,
        (seen_claim, seen_state): (&str, &str),
        claim: &str,
        now: i64,
    ) -> AppResult<bool> {
        let updated = db
            .execute(statement(
                db.get_database_backend(),
                "UPDATE idempotency_key SET request_hash = ?, state = ?, claim = ?, \
                 request_id = NULL, response_status = NULL, response_body = NULL, \
                 created_at = ?, expires_at = ?, locked_until = ? \
                 WHERE principal = ? AND request_key = ? AND claim = ? AND state = ?",
                vec![
                    hash.into(),
                    RUNNING.into(),
                    claim.into(),
                    now.into(),
                    (now + self.ttl_ms).into(),
                    (now + self.lease_ms).into(),
                    key.principal.clone().into(),
                    key.key.clone().into(),
                    seen_claim.into(),
                    seen_state.into(),
                ],
            ))
            .await?
            .rows_affected();
        Ok(updated == 1)
    }

    /// Ends an owned attempt: stores its response (`status`, `body`) when it carries mutation
    /// data or the attempt committed a write (the row is `written`), otherwise deletes the claim
    /// so that a retry with the same key runs again (see [`has_data`]). Failures are logged: the
    /// client still gets its response.
    pub async fn finish(
        &self,
        db: &DatabaseConnection,
        ticket: &Ticket,
        status: u16,
        body: &Value,
        request_id: &str,
    ) {
        let backend = db.get_database_backend();
        let key = &ticket.key;
        let (principal, request_key, claim) = (
            DbValue::from(key.principal.clone()),
            DbValue::from(key.key.clone()),
            DbValue::from(ticket.claim.clone()),
        );
        if !has_data(body) {
            // Released only if no write committed: a `written` row is kept (and stored below).
            let released = db
                .execute(statement(
                    backend,
                    "DELETE FROM idempotency_key \
                     WHERE principal = ? AND request_key = ? AND claim = ? AND state = ?",
                    vec![
                        principal.clone(),
                        request_key.clone(),
                        claim.clone(),
                        RUNNING.into(),
                    ],
                ))
                .await;
            match released {
                Ok(done) if done.rows_affected() == 1 => return,
                Ok(_) => {}
                Err(err) => {
                    tracing::error!(error = ?err, request_id = %request_id,
                        "could not release an idempotency key; it frees itself when its lease passes");
                    return;
                }
            }
        }
        let stored = db
            .execute(statement(
                backend,
                "UPDATE idempotency_key SET state = ?, response_status = ?, response_body = ?, \
                 request_id = ?, locked_until = NULL \
                 WHERE principal = ? AND request_key = ? AND claim = ?",
                vec![
                    DONE.into(),
                    i32::from(status).into(),
                    body.to_string().into(),
                    request_id.into(),
                    principal,
                    request_key,
                    claim,
                ],
            ))
            .await;
        match stored {
            Ok(done) if done.rows_affected() == 1 => {}
            Ok(_) => tracing::warn!(
                idempotency.principal = %key.principal,
                request_id = %request_id,
                "idempotency key lost to another attempt before this one finished"
            ),
            Err(err) => tracing::error!(
                error = ?err,
                request_id = %request_id,
                "could not store an idempotent response; a retry after the lease learns only \
                 that it wrote"
            ),
        }
    }

    /// Starts a purge of expired rows when this instance has not purged for a minute.
    fn maybe_purge(&self, db: &DatabaseConnection) {
        let now = now_ms();
        let last = self.last_purge_ms.load(Ordering::Relaxed);
        if now - last < PURGE_EVERY_MS
            || self
                .last_purge_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let db = db.clone();
        tokio::spawn(async move {
            if let Err(err) = Self::purge_expired(&db, now, PURGE_BATCH).await {
                tracing::warn!(error = ?err, "idempotency purge failed");
            }
        });
    }

    /// Deletes at most `limit` rows expired at `now` (Unix milliseconds); returns how many.
    pub async fn purge_expired(db: &impl ConnectionTrait, now: i64, limit: i64) -> AppResult<u64> {
        let done = db
            .execute(statement(
                db.get_database_backend(),
                "DELETE FROM idempotency_key WHERE (principal, request_key) IN \
                 (SELECT principal, request_key FROM idempotency_key WHERE expires_at <= ? \
                 LIMIT ?)",
                vec![now.into(), limit.into()],
            ))
            .await?;
        Ok(done.rows_affected())
    }
}

/// The response settled for an attempt that wrote and died before storing its response.
fn lost_response() -> Stored {
    Stored {
        status: 200,
        body: serde_json::json!({ "errors": [{
            "message": "the request with this Idempotency-Key wrote its changes, but its response \
                        was lost; read back what it changed",
            "extensions": { "code": ErrorCode::InternalServerError.as_str() },
        }] }),
        request_id: None,
    }
}

/// Stores `stored` for a `written` attempt read with `seen_claim`, if nothing changed since.
async fn settle_lost(
    db: &DatabaseConnection,
    key: &RequestedKey,
    seen_claim: &str,
    stored: &Stored,
) -> AppResult<bool> {
    let updated = db
        .execute(statement(
            db.get_database_backend(),
            "UPDATE idempotency_key SET state = ?, response_status = ?, response_body = ?, \
             locked_until = NULL WHERE principal = ? AND request_key = ? AND claim = ? AND state = ?",
            vec![
                DONE.into(),
                i32::from(stored.status).into(),
                stored.body.to_string().into(),
                key.principal.clone().into(),
                key.key.clone().into(),
                seen_claim.into(),
                WRITTEN.into(),
            ],
        ))
        .await?
        .rows_affected();
    Ok(updated == 1)
}

async fn read(db: &DatabaseConnection, key: &RequestedKey) -> AppResult<Option<Row>> {
    let row = db
        .query_one(statement(
            db.get_database_backend(),
            "SELECT request_hash, state, claim, request_id, response_status, response_body, \
             expires_at, locked_until FROM idempotency_key \
             WHERE principal = ? AND request_key = ?",
            vec![key.principal.clone().into(), key.key.clone().into()],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(Row {
        request_hash: row.try_get_by_index(0)?,
        state: row.try_get_by_index(1)?,
        claim: row.try_get_by_index(2)?,
        request_id: row.try_get_by_index(3)?,
        response_status: row.try_get_by_index(4)?,
        response_body: row.try_get_by_index(5)?,
        expires_at: row.try_get_by_index(6)?,
        locked_until: row.try_get_by_index(7)?,
    }))
}

/// Whether a response carries mutation data: some mutation field returned its payload
/// (including one with `userErrors` such as `VERSION_CONFLICT`). Then it is stored whatever else
/// happened. A response without `data`
/// (refused before execution, or top-level errors only: `UNAUTHENTICATED`, `FORBIDDEN`,
/// `NOT_FOUND`, `TIMEOUT`, `SERVICE_UNAVAILABLE`, `INTERNAL_SERVER_ERROR`, …) is stored only if
/// the attempt committed a write; otherwise its key is released and a retry runs again.
pub fn has_data(body: &Value) -> bool {
    match body.get("data") {
        Some(Value::Object(fields)) => fields.values().any(|field| !field.is_null()),
        Some(other) => !other.is_null(),
        None => false,
    }
}

/// Adds `extensions.idempotency { replayed, key }` (and, on a replay, `originalRequestId`) and
/// gives every error the current request's id.
pub fn annotate(
    body: &mut Value,
    key: &str,
    replayed: bool,
    request_id: &str,
    original_request_id: Option<&str>,
) {
    let Some(object) = body.as_object_mut() else {
        return;
    };
    if replayed && let Some(Value::Array(errors)) = object.get_mut("errors") {
        for error in errors {
            if let Some(extensions) = error.get_mut("extensions").and_then(Value::as_object_mut) {
                extensions.insert("requestId".into(), Value::from(request_id));
            }
        }
    }
    let mut idempotency = serde_json::json!({ "replayed": replayed, "key": key });
    if let (Some(original), Some(map)) = (original_request_id, idempotency.as_object_mut()) {
        map.insert("originalRequestId".into(), Value::from(original));
    }
    let extensions = object
        .entry("extensions")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if let Some(extensions) = extensions.as_object_mut() {
        extensions.insert("idempotency".into(), idempotency);
    }
}

tokio::task_local! {
    static HOLDING: Ticket;
}

/// Runs `work` as the attempt holding `ticket`: every writing transaction inside it marks the
/// key `written` before it commits ([`note_write`]).
pub async fn holding<F: Future>(ticket: Ticket, work: F) -> F::Output {
    HOLDING.scope(ticket, work).await
}

/// Called inside every writing transaction (where its change events are recorded: every write
/// of this service records them). For an attempt holding an idempotency key it marks the key
/// `written` in that transaction, so the mark commits exactly with the write: if the instance
/// dies after the commit, a retry learns that the attempt wrote and never runs it again. If the
/// attempt has lost its key (it outlived its lease and another took it over), the write is
/// refused with `IDEMPOTENCY_IN_PROGRESS` and its transaction rolls back.
pub async fn note_write(db: &impl ConnectionTrait) -> AppResult<()> {
    let Ok(ticket) = HOLDING.try_with(Ticket::clone) else {
        return Ok(());
    };
    let marked = db
        .execute(statement(
            db.get_database_backend(),
            "UPDATE idempotency_key SET state = ? \
             WHERE principal = ? AND request_key = ? AND claim = ?",
            vec![
                WRITTEN.into(),
                ticket.key.principal.into(),
                ticket.key.key.into(),
                ticket.claim.into(),
            ],
        ))
        .await?
        .rows_affected();
    if marked == 0 {
        tracing::warn!("an attempt lost its idempotency key before writing; write refused");
        return Err(in_progress());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn principal_viewer(client: Option<&str>) -> Viewer {
        Viewer::Principal(crate::auth::Principal {
            subject: client.unwrap_or("person-1").into(),
            org_sourced_id: "org-a".into(),
            org: None,
            roles: Vec::new(),
            scopes: Vec::new(),
            client_id: client.map(str::to_owned),
            person_id: None,
        })
    }

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(
                actix_web::http::header::HeaderName::from_static(HEADER),
                HeaderValue::from_bytes(value).expect("header value"),
            );
        }
        map
    }

    #[test]
    fn keys_are_one_to_255_printable_ascii_characters_on_mutations_only() {
        let viewer = principal_viewer(None);
        let ok = requested_key(&headers(&[b"order-42 retry"]), &viewer, true).expect("valid");
        assert_eq!(
            ok,
            Some(RequestedKey {
                principal: "p:person-1@org-a".into(),
                key: "order-42 retry".into()
            })
        );
        let long = "k".repeat(255);
        assert!(requested_key(&headers(&[long.as_bytes()]), &viewer, true).is_ok());
        for bad in [
            &b""[..],
            "k".repeat(256).as_bytes(),
            b"tab\there",
            "caf\u{e9}".as_bytes(),
        ] {
            let err = requested_key(&headers(&[bad]), &viewer, true).expect_err("invalid");
            assert_eq!(err.code(), ErrorCode::BadUserInput);
        }
        let twice = requested_key(&headers(&[b"a", b"b"]), &viewer, true);
        assert!(twice.is_err());
        assert_eq!(
            requested_key(&headers(&[b""]), &viewer, false).expect("ignored"),
            None
        );
        assert_eq!(
            requested_key(&headers(&[]), &viewer, true).expect("none"),
            None
        );
        let anonymous = requested_key(&headers(&[b"k"]), &Viewer::Anonymous, true);
        assert_eq!(
            anonymous.expect_err("needs a token").code(),
            ErrorCode::Unauthenticated
        );
    }

    #[test]
    fn a_person_and_a_client_never_share_a_principal() {
        let person = requested_key(&headers(&[b"k"]), &principal_viewer(None), true);
        let client = requested_key(&headers(&[b"k"]), &principal_viewer(Some("person-1")), true);
        assert_ne!(
            person.expect("person").expect("key").principal,
            client.expect("client").expect("key").principal
        );
    }

    #[test]
    fn the_hash_ignores_variable_order_but_not_values_query_or_operation() {
        let request = |vars: &str, op: Option<&str>, query: &str| {
            let mut r = async_graphql::Request::new(query).variables(
                async_graphql::Variables::from_json(serde_json::from_str(vars).expect("json")),
            );
            if let Some(op) = op {
                r = r.operation_name(op);
            }
            request_hash(&r)
        };
        let base = request(r#"{"a":1,"b":{"x":[1,2],"y":"z"}}"#, None, "mutation { m }");
        assert_eq!(
            base,
            request(r#"{"b":{"y":"z","x":[1,2]},"a":1}"#, None, "mutation { m }")
        );
        assert_eq!(base.len(), 64);
        assert_ne!(
            base,
            request(r#"{"a":2,"b":{"x":[1,2],"y":"z"}}"#, None, "mutation { m }")
        );
        assert_ne!(
            base,
            request(r#"{"a":1,"b":{"x":[2,1],"y":"z"}}"#, None, "mutation { m }")
        );
        assert_ne!(
            base,
            request(
                r#"{"a":1,"b":{"x":[1,2],"y":"z"}}"#,
                Some("M"),
                "mutation { m }"
            )
        );
        assert_ne!(
            base,
            request(r#"{"a":1,"b":{"x":[1,2],"y":"z"}}"#, None, "mutation { n }")
        );
    }

    #[test]
    fn only_a_response_with_data_counts_as_an_answer() {
        let payload = serde_json::json!({ "data": { "m": { "userErrors": [] } } });
        let failed = serde_json::json!({ "data": null, "errors": [{ "message": "x" }] });
        let not_run = serde_json::json!({ "errors": [{ "message": "x" }] });
        let all_failed = serde_json::json!({ "data": { "a": null, "b": null }, "errors": [] });
        let one_answered = serde_json::json!({ "data": { "a": { "x": 1 }, "b": null } });
        assert!(!has_data(&all_failed));
        assert!(has_data(&one_answered));
        assert!(has_data(&payload));
        assert!(!has_data(&failed));
        assert!(!has_data(&not_run));
    }

    #[test]
    fn a_replay_is_marked_and_its_errors_carry_the_current_request_id() {
        let mut body = serde_json::json!({
            "data": { "m": null },
            "errors": [{ "message": "x", "extensions": { "code": "NOT_FOUND", "requestId": "old" } }],
            "extensions": { "cost": { "requested": 1, "actual": 1 } }
        });
        annotate(&mut body, "k-1", true, "new", Some("old"));
        assert_eq!(body["errors"][0]["extensions"]["requestId"], "new");
        assert_eq!(
            body["extensions"]["idempotency"],
            serde_json::json!({ "replayed": true, "key": "k-1", "originalRequestId": "old" })
        );
        assert_eq!(body["extensions"]["cost"]["requested"], 1);
    }

    #[tokio::test]
    async fn a_write_outside_an_attempt_touches_no_key() {
        // Nothing is executed: an empty in-memory database will do.
        let db = sea_orm::Database::connect("sqlite::memory:")
            .await
            .expect("sqlite");
        assert!(note_write(&db).await.is_ok());
    }
}
