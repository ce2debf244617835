//! `Idempotency-Key` on mutations (API.md section 4, docs/idempotency.md): one write however
//! many retries race, replays of the stored response, refusals, release of failed attempts,
//! expiry, abandoned attempts, and keys shared by instances on one database.

use std::time::Duration;

use integration_tests::fixtures::{OFFICE, PARTNER_X, World, seed_world};
use integration_tests::{
    GqlResponse, TestApp, global_id, into_response, spawn_app, spawn_app_with,
};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::consents::{coordinator_token, counts, partner_token, staff_token};

const CREATE: &str = "mutation($input: CreateConsentRecordInput!) {
  createConsentRecord(input: $input) {
    consentRecord { sourcedId version purpose isActive student { sourcedId } }
    userErrors { field code message }
  }
}";

const WITHDRAW: &str = "mutation($input: WithdrawConsentRecordInput!) {
  withdrawConsentRecord(input: $input) {
    consentRecord { sourcedId version isActive }
    userErrors { field code message }
  }
}";

const PROPOSE: &str = "mutation($input: ProposeMentorshipInput!) {
  proposeMentorship(input: $input) {
    mentorship { sourcedId state }
    userErrors { field code message }
  }
}";

/// A consent without a sourcedId: every execution creates a new record, so a second execution
/// would show as a second row (never as a `DUPLICATE`).
fn consent_input(w: &World, student: usize) -> Value {
    let student = w.students_of(0)[student].person.gid();
    json!({ "input": {
        "student": student,
        "givenBy": student,
        "giverRelationship": "SELF",
        "purpose": "mediaPhotoVideo",
        "picsVersion": "PICS-2026-1",
    } })
}

/// One POST /graphql with optional token, key, `X-Request-Id` and `Accept`.
struct Call<'a> {
    address: &'a str,
    query: &'a str,
    variables: Value,
    token: Option<&'a str>,
    key: Option<&'a [u8]>,
    request_id: Option<&'a str>,
    graphql_response: bool,
}

impl<'a> Call<'a> {
    fn new(app: &'a TestApp, query: &'a str, variables: Value, token: &'a str) -> Self {
        Call {
            address: &app.address,
            query,
            variables,
            token: Some(token),
            key: None,
            request_id: None,
            graphql_response: false,
        }
    }

    fn key(mut self, key: &'a str) -> Self {
        self.key = Some(key.as_bytes());
        self
    }

    async fn send(self, client: &reqwest::Client) -> GqlResponse {
        let mut request = client
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": self.query, "variables": self.variables }));
        if let Some(token) = self.token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = self.key {
            request = request.header(
                "Idempotency-Key",
                reqwest::header::HeaderValue::from_bytes(key).expect("a header value"),
            );
        }
        if let Some(id) = self.request_id {
            request = request.header("X-Request-Id", id);
        }
        if self.graphql_response {
            request = request.header("Accept", "application/graphql-response+json");
        }
        into_response(request.send().await.expect("POST /graphql")).await
    }
}

/// `extensions.idempotency.replayed`, if present.
fn replayed(response: &GqlResponse) -> Option<bool> {
    response.body["extensions"]["idempotency"]["replayed"].as_bool()
}

/// Rows of the idempotency table: `(state, request_hash)` by key.
async fn stored(app: &TestApp, key: &str) -> Vec<(String, String)> {
    let backend = app.db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => {
            "SELECT state, request_hash FROM idempotency_key WHERE request_key = $1"
        }
        _ => "SELECT state, request_hash FROM idempotency_key WHERE request_key = ?",
    };
    app.db
        .query_all(Statement::from_sql_and_values(backend, sql, [key.into()]))
        .await
        .expect("read idempotency keys")
        .iter()
        .map(|row| {
            (
                row.try_get_by_index(0).expect("state"),
                row.try_get_by_index(1).expect("hash"),
            )
        })
        .collect()
}

/// Inserts an unfinished attempt (`running`, or `written` once it committed a write) for
/// `principal` and `key` whose lease ends `lease_ms` from now.
async fn insert_attempt(
    app: &TestApp,
    (principal, key, hash): (&str, &str, &str),
    state: &str,
    lease_ms: i64,
) {
    let now = chrono::Utc::now().timestamp_millis();
    let backend = app.db.get_database_backend();
    let sql = "INSERT INTO idempotency_key (principal, request_key, request_hash, state, claim, \
               created_at, expires_at, locked_until) VALUES (?, ?, ?, ?, 'crashed', ?, ?, ?)";
    let sql = match backend {
        sea_orm::DbBackend::Postgres => {
            let mut n = 0;
            sql.chars()
                .map(|c| {
                    if c == '?' {
                        n += 1;
                        format!("${n}")
                    } else {
                        c.to_string()
                    }
                })
                .collect()
        }
        _ => sql.to_owned(),
    };
    app.db
        .execute(Statement::from_sql_and_values(
            backend,
            sql,
            [
                principal.into(),
                key.into(),
                hash.into(),
                state.into(),
                (now - 120_000).into(),
                (now + 86_400_000).into(),
                (now + lease_ms).into(),
            ],
        ))
        .await
        .expect("insert a running attempt");
}

#[tokio::test]
async fn twenty_concurrent_retries_with_one_key_write_exactly_once() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = staff_token(&app, &w);
    let before = counts(&app).await;

    // Act: twenty identical requests at once.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (client, address, token, variables) = (
            app.client.clone(),
            app.address.clone(),
            token.clone(),
            consent_input(&w, 0),
        );
        tasks.spawn(async move {
            let call = Call {
                address: &address,
                query: CREATE,
                variables,
                token: Some(&token),
                key: Some(b"concurrent-1"),
                request_id: None,
                graphql_response: false,
            };
            call.send(&client).await
        });
    }
    let responses = tasks.join_all().await;

    // Assert: one consent, one history row, one change event.
    let after = counts(&app).await;
    assert_eq!(
        (after.0 - before.0, after.1 - before.1, after.2 - before.2),
        (1, 1, 1)
    );
    let originals: Vec<_> = responses
        .iter()
        .filter(|r| r.error_code().is_none() && replayed(r) == Some(false))
        .collect();
    assert_eq!(originals.len(), 1, "{responses:#?}");
    let data = originals[0].data().clone();
    assert_eq!(
        data["createConsentRecord"]["userErrors"],
        json!([]),
        "{data}"
    );
    for response in &responses {
        match response.error_code() {
            Some(code) => assert_eq!(code, "IDEMPOTENCY_IN_PROGRESS", "{}", response.body),
            None => {
                assert_eq!(response.data(), &data);
                assert!(replayed(response).is_some(), "{}", response.body);
            }
        }
    }
    // A later retry replays the same data.
    let retry = Call::new(&app, CREATE, consent_input(&w, 0), &token)
        .key("concurrent-1")
        .send(&app.client)
        .await;
    assert_eq!((retry.data(), replayed(&retry)), (&data, Some(true)));
    assert_eq!(counts(&app).await, after);
}

#[tokio::test]
async fn a_sequential_retry_replays_the_identical_response_and_writes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = staff_token(&app, &w);
    let mut first = Call::new(&app, CREATE, consent_input(&w, 1), &token).key("retry-1");
    first.request_id = Some("first-attempt");
    let first = first.send(&app.client).await;
    let after_first = counts(&app).await;

    // Act
    let mut retry = Call::new(&app, CREATE, consent_input(&w, 1), &token).key("retry-1");
    retry.request_id = Some("second-attempt");
    let retry = retry.send(&app.client).await;

    // Assert
    assert_eq!(first.status, retry.status);
    assert_eq!(retry.data(), first.data());
    assert_eq!(
        first.body["extensions"]["idempotency"],
        json!({ "replayed": false, "key": "retry-1" })
    );
    assert_eq!(
        retry.body["extensions"]["idempotency"],
        json!({ "replayed": true, "key": "retry-1", "originalRequestId": "first-attempt" })
    );
    assert_eq!(retry.header("x-request-id"), Some("second-attempt"));
    assert_eq!(counts(&app).await, after_first);
    assert_eq!(stored(&app, "retry-1").await.len(), 1);
    assert_eq!(stored(&app, "retry-1").await[0].0, "done");
}

#[tokio::test]
async fn the_same_key_with_a_different_body_is_key_reused_and_writes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = staff_token(&app, &w);
    Call::new(&app, CREATE, consent_input(&w, 0), &token)
        .key("reused-1")
        .send(&app.client)
        .await
        .data();
    let before = counts(&app).await;

    // Act: another student under the same key, in both media types.
    let mut graphql_response =
        Call::new(&app, CREATE, consent_input(&w, 1), &token).key("reused-1");
    graphql_response.graphql_response = true;
    graphql_response.request_id = Some("reuse-attempt");
    let graphql_response = graphql_response.send(&app.client).await;
    let json_response = Call::new(&app, CREATE, consent_input(&w, 1), &token)
        .key("reused-1")
        .send(&app.client)
        .await;

    // Assert
    assert_eq!(graphql_response.status, reqwest::StatusCode::CONFLICT);
    assert_eq!(
        graphql_response.error_code(),
        Some("IDEMPOTENCY_KEY_REUSED")
    );
    assert_eq!(
        graphql_response.body["errors"][0]["extensions"]["requestId"],
        "reuse-attempt"
    );
    assert!(graphql_response.body.get("data").is_none());
    assert_eq!(json_response.status, reqwest::StatusCode::OK);
    assert_eq!(json_response.error_code(), Some("IDEMPOTENCY_KEY_REUSED"));
    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn keys_of_different_principals_are_independent() {
    // Arrange: programme staff and school A's coordinator may both record this consent.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let (staff, coordinator) = (staff_token(&app, &w), coordinator_token(&app, &w, 0));
    let before = counts(&app).await;

    // Act
    let by_staff = Call::new(&app, CREATE, consent_input(&w, 2), &staff)
        .key("shared-key")
        .send(&app.client)
        .await;
    let by_coordinator = Call::new(&app, CREATE, consent_input(&w, 2), &coordinator)
        .key("shared-key")
        .send(&app.client)
        .await;

    // Assert: two executions, two records.
    assert_eq!(replayed(&by_staff), Some(false));
    assert_eq!(replayed(&by_coordinator), Some(false));
    assert_ne!(
        by_staff.data()["createConsentRecord"]["consentRecord"]["sourcedId"],
        by_coordinator.data()["createConsentRecord"]["consentRecord"]["sourcedId"]
    );
    assert_eq!(counts(&app).await.0, before.0 + 2);
    assert_eq!(stored(&app, "shared-key").await.len(), 2);
}

#[tokio::test]
async fn a_user_error_payload_is_stored_and_replayed_even_when_a_rerun_would_differ() {
    // Arrange: a withdrawal expecting version 2 of a consent still at version 1.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = staff_token(&app, &w);
    let stale = json!({ "input": { "consentRecord": w.consents[2].gid(), "expectedVersion": 2 } });
    let first = Call::new(&app, WITHDRAW, stale.clone(), &token)
        .key("conflict-1")
        .send(&app.client)
        .await;
    assert_eq!(
        first.data()["withdrawConsentRecord"]["userErrors"][0]["code"],
        "VERSION_CONFLICT"
    );
    // Another write brings the consent to version 2: a rerun would now withdraw it.
    let bump = Call::new(
        &app,
        WITHDRAW,
        json!({ "input": { "consentRecord": w.consents[2].gid(), "expectedVersion": 1 } }),
        &token,
    )
    .send(&app.client)
    .await;
    assert_eq!(
        bump.data()["withdrawConsentRecord"]["consentRecord"]["version"],
        2
    );
    let before = counts(&app).await;

    // Act
    let retry = Call::new(&app, WITHDRAW, stale, &token)
        .key("conflict-1")
        .send(&app.client)
        .await;

    // Assert
    assert_eq!(replayed(&retry), Some(true));
    assert_eq!(retry.data(), first.data());
    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn a_forbidden_refusal_is_not_stored_and_leaves_the_key_free() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let partner = partner_token(&app, &w);
    let before = counts(&app).await;

    // Act: partners may not record consents; then the same key for a proposal they may make.
    let refused = Call::new(&app, CREATE, consent_input(&w, 0), &partner)
        .key("partner-1")
        .send(&app.client)
        .await;
    let rows_after_refusal = stored(&app, "partner-1").await;
    let refused_again = Call::new(&app, CREATE, consent_input(&w, 0), &partner)
        .key("partner-1")
        .send(&app.client)
        .await;
    let proposal = json!({ "input": {
        "mentor": w.mentor.gid(),
        "student": w.students_of(0)[1].person.gid(),
        "partnerOrganization": global_id("Organization", PARTNER_X),
        "pathway": w.pathway.gid(),
        "beginDate": "2026-09-01",
    } });
    let proposed = Call::new(&app, PROPOSE, proposal, &partner)
        .key("partner-1")
        .send(&app.client)
        .await;

    // Assert
    assert_eq!(refused.error_code(), Some("FORBIDDEN"));
    assert_eq!(replayed(&refused), Some(false));
    assert_eq!(rows_after_refusal, Vec::new());
    assert_eq!(refused_again.error_code(), Some("FORBIDDEN"));
    assert_eq!(replayed(&refused_again), Some(false));
    assert_eq!(counts(&app).await.0, before.0);
    assert_eq!(
        proposed.data()["proposeMentorship"]["mentorship"]["state"],
        "PROPOSED"
    );
    assert_eq!(replayed(&proposed), Some(false));
    assert_eq!(stored(&app, "partner-1").await.len(), 1);
}

#[tokio::test]
async fn a_request_refused_before_execution_releases_its_key() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = staff_token(&app, &w);

    // Act: an invalid document (unknown field), then a valid one with the same key.
    let invalid = Call::new(
        &app,
        "mutation($input: CreateConsentRecordInput!) { createConsentRecord(input: $input) { noSuchField } }",
        consent_input(&w, 0),
        &token,
    )
    .key("invalid-1")
    .send(&app.client)
    .await;
    let rows = stored(&app, "invalid-1").await;
    let valid = Call::new(&app, CREATE, consent_input(&w, 0), &token)
        .key("invalid-1")
        .send(&app.client)
        .await;

    // Assert
    assert_eq!(invalid.error_code(), Some("BAD_USER_INPUT"));
    assert_eq!(rows, Vec::new());
    assert_eq!(replayed(&valid), Some(false));
    assert_eq!(valid.data()["createConsentRecord"]["userErrors"], json!([]));
}

#[tokio::test]
async fn an_expired_key_runs_the_request_again() {
    // Arrange: keys live one second.
    let app = spawn_app_with(|settings| settings.idempotency.ttl_seconds = 1).await;
    let w = seed_world(&app.db).await;
    let token = staff_token(&app, &w);
    let first = Call::new(&app, CREATE, consent_input(&w, 0), &token)
        .key("short-lived")
        .send(&app.client)
        .await;
    let before = counts(&app).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // Act
    let again = Call::new(&app, CREATE, consent_input(&w, 0), &token)
        .key("short-lived")
        .send(&app.client)
        .await;

    // Assert
    assert_eq!(replayed(&again), Some(false));
    assert_ne!(again.data(), first.data());
    assert_eq!(counts(&app).await.0, before.0 + 1);
    assert_eq!(stored(&app, "short-lived").await.len(), 1);
}

#[tokio::test]
async fn a_running_attempt_refuses_retries_until_its_lease_passes_then_is_taken_over() {
    // Arrange: attempts that another instance started and still holds or abandoned.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = staff_token(&app, &w);
    let principal = format!("p:{}@{OFFICE}", w.staff.sourced_id);
    let hash = api::idempotency::hash_of(CREATE, None, consent_input(&w, 0));
    insert_attempt(&app, (&principal, "held", &hash), "running", 60_000).await;
    insert_attempt(&app, (&principal, "abandoned", &hash), "running", -1_000).await;
    let before = counts(&app).await;

    // Act
    let mut held = Call::new(&app, CREATE, consent_input(&w, 0), &token).key("held");
    held.graphql_response = true;
    let held = held.send(&app.client).await;
    let other_body = Call::new(&app, CREATE, consent_input(&w, 1), &token)
        .key("held")
        .send(&app.client)
        .await;
    let taken_over = Call::new(&app, CREATE, consent_input(&w, 0), &token)
        .key("abandoned")
        .send(&app.client)
        .await;

    // Assert
    assert_eq!(held.status, reqwest::StatusCode::CONFLICT);
    assert_eq!(held.error_code(), Some("IDEMPOTENCY_IN_PROGRESS"));
    assert_eq!(held.header("retry-after"), Some("1"));
    assert_eq!(other_body.error_code(), Some("IDEMPOTENCY_KEY_REUSED"));
    assert_eq!(replayed(&taken_over), Some(false));
    assert_eq!(
        taken_over.data()["createConsentRecord"]["userErrors"],
        json!([])
    );
    assert_eq!(counts(&app).await.0, before.0 + 1);
    assert_eq!(stored(&app, "abandoned").await[0].0, "done");
    assert_eq!(stored(&app, "held").await[0].0, "running");
}

#[tokio::test]
async fn malformed_keys_are_bad_user_input_and_write_nothing() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = staff_token(&app, &w);
    let before = counts(&app).await;
    let too_long = "k".repeat(256);
    let bad: [&[u8]; 4] = [b"", too_long.as_bytes(), b"tab\tinside", b"caf\xe9"];

    for key in bad {
        // Act
        let mut call = Call::new(&app, CREATE, consent_input(&w, 0), &token);
        call.key = Some(key);
        call.graphql_response = true;
        let response = call.send(&app.client).await;

        // Assert
        assert_eq!(response.status, reqwest::StatusCode::BAD_REQUEST);
        assert_eq!(response.error_code(), Some("BAD_USER_INPUT"), "{key:?}");
        assert_eq!(response.error_field(), Some("Idempotency-Key"));
    }
    let longest = "k".repeat(255);
    let fine = Call::new(&app, CREATE, consent_input(&w, 0), &token)
        .key(&longest)
        .send(&app.client)
        .await;
    assert_eq!(replayed(&fine), Some(false));
    assert_eq!(counts(&app).await.0, before.0 + 1);
}

#[tokio::test]
async fn a_key_without_a_token_is_unauthenticated() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;

    // Act
    let mut call = Call::new(&app, CREATE, consent_input(&w, 0), "");
    call.token = None;
    let response = call.key("anonymous").send(&app.client).await;

    // Assert
    assert_eq!(response.error_code(), Some("UNAUTHENTICATED"));
    assert_eq!(response.header("www-authenticate"), Some("Bearer"));
    assert_eq!(stored(&app, "anonymous").await, Vec::new());
}

#[tokio::test]
async fn a_query_with_a_key_simply_executes_and_stores_nothing() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = staff_token(&app, &w);

    // Act
    let response = Call::new(
        &app,
        "query($id: ID!) { node(id: $id) { id } }",
        json!({ "id": w.consents[0].gid() }),
        &token,
    )
    .key("query-key")
    .send(&app.client)
    .await;

    // Assert
    assert_eq!(response.data()["node"]["id"], w.consents[0].gid());
    assert_eq!(response.body["extensions"]["idempotency"], Value::Null);
    assert_eq!(stored(&app, "query-key").await, Vec::new());
}

#[tokio::test]
async fn two_instances_on_one_database_share_keys() {
    // Arrange: a second instance of the service on the same database.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = staff_token(&app, &w);
    let sibling = api::startup::Application::build(app.settings.clone())
        .await
        .expect("second instance");
    let sibling_address = format!("http://127.0.0.1:{}", sibling.port());
    tokio::spawn(sibling.run_until_stopped());
    let before = counts(&app).await;

    // Act: ten retries on each instance at once, then one more on each.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let address = if i % 2 == 0 {
            app.address.clone()
        } else {
            sibling_address.clone()
        };
        let (client, token, variables) = (app.client.clone(), token.clone(), consent_input(&w, 3));
        tasks.spawn(async move {
            Call {
                address: &address,
                query: CREATE,
                variables,
                token: Some(&token),
                key: Some(b"shared-by-instances"),
                request_id: None,
                graphql_response: false,
            }
            .send(&client)
            .await
        });
    }
    let responses = tasks.join_all().await;
    let mut on_sibling =
        Call::new(&app, CREATE, consent_input(&w, 3), &token).key("shared-by-instances");
    on_sibling.address = &sibling_address;
    let on_sibling = on_sibling.send(&app.client).await;
    let on_first = Call::new(&app, CREATE, consent_input(&w, 3), &token)
        .key("shared-by-instances")
        .send(&app.client)
        .await;

    // Assert
    let after = counts(&app).await;
    assert_eq!(
        (after.0 - before.0, after.1 - before.1, after.2 - before.2),
        (1, 1, 1)
    );
    let originals = responses
        .iter()
        .filter(|r| r.error_code().is_none() && replayed(r) == Some(false))
        .count();
    assert_eq!(originals, 1);
    assert!(
        responses
            .iter()
            .all(|r| r.error_code().is_none() || r.error_code() == Some("IDEMPOTENCY_IN_PROGRESS")),
        "{responses:#?}"
    );
    assert_eq!(replayed(&on_sibling), Some(true));
    assert_eq!(replayed(&on_first), Some(true));
    assert_eq!(on_sibling.data(), on_first.data());
}

#[tokio::test]
async fn the_periodic_purge_deletes_a_bounded_batch_of_expired_keys_only() {
    // Arrange: two expired attempts and one live.
    let app = spawn_app().await;
    let now = chrono::Utc::now().timestamp_millis();
    for (key, expires_at) in [
        ("old-1", now - 10),
        ("old-2", now - 5),
        ("live", now + 60_000),
    ] {
        let backend = app.db.get_database_backend();
        let sql = match backend {
            sea_orm::DbBackend::Postgres => {
                "INSERT INTO idempotency_key (principal, request_key, request_hash, state, claim, \
                 created_at, expires_at) VALUES ('p:x@y', $1, 'h', 'done', 'c', 0, $2)"
            }
            _ => {
                "INSERT INTO idempotency_key (principal, request_key, request_hash, state, claim, \
                 created_at, expires_at) VALUES ('p:x@y', ?, 'h', 'done', 'c', 0, ?)"
            }
        };
        app.db
            .execute(Statement::from_sql_and_values(
                backend,
                sql,
                [key.into(), expires_at.into()],
            ))
            .await
            .expect("insert a key");
    }

    // Act
    let first = api::idempotency::Idempotency::purge_expired(&app.db, now, 1)
        .await
        .expect("purge");
    let second = api::idempotency::Idempotency::purge_expired(&app.db, now, 1000)
        .await
        .expect("purge");

    // Assert
    assert_eq!((first, second), (1, 1));
    assert!(stored(&app, "old-1").await.is_empty());
    assert!(stored(&app, "old-2").await.is_empty());
    assert_eq!(stored(&app, "live").await.len(), 1);
}

#[tokio::test]
async fn an_attempt_that_wrote_and_died_is_never_run_again() {
    // Arrange: attempts whose writes committed; one still within its lease, one past it.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = staff_token(&app, &w);
    let principal = format!("p:{}@{OFFICE}", w.staff.sourced_id);
    let hash = api::idempotency::hash_of(CREATE, None, consent_input(&w, 0));
    insert_attempt(&app, (&principal, "finishing", &hash), "written", 60_000).await;
    insert_attempt(&app, (&principal, "lost", &hash), "written", -1_000).await;
    let before = counts(&app).await;

    // Act
    let finishing = Call::new(&app, CREATE, consent_input(&w, 0), &token)
        .key("finishing")
        .send(&app.client)
        .await;
    let lost = Call::new(&app, CREATE, consent_input(&w, 0), &token)
        .key("lost")
        .send(&app.client)
        .await;
    let lost_again = Call::new(&app, CREATE, consent_input(&w, 0), &token)
        .key("lost")
        .send(&app.client)
        .await;

    // Assert
    assert_eq!(finishing.error_code(), Some("IDEMPOTENCY_IN_PROGRESS"));
    assert_eq!(lost.error_code(), Some("INTERNAL_SERVER_ERROR"));
    assert!(
        lost.body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("response was lost")),
        "{}",
        lost.body
    );
    assert!(lost.body["errors"][0]["extensions"]["requestId"].is_string());
    assert_eq!(replayed(&lost), Some(true));
    assert_eq!(
        lost_again.body["errors"][0]["message"],
        lost.body["errors"][0]["message"]
    );
    assert_eq!(replayed(&lost_again), Some(true));
    assert_eq!(counts(&app).await, before);
    assert_eq!(stored(&app, "lost").await[0].0, "done");
}

#[tokio::test]
async fn a_write_by_an_attempt_that_lost_its_key_is_refused_and_rolled_back() {
    // Arrange: an attempt holds a key, then another takes it over behind its back.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let store = api::idempotency::Idempotency::new(&app.settings.idempotency);
    let key = api::idempotency::RequestedKey {
        principal: "p:someone@org".into(),
        key: "taken".into(),
    };
    let api::idempotency::Claim::Owned(ticket) =
        store.claim(&app.db, &key, "hash").await.expect("claim")
    else {
        panic!("a fresh key is owned");
    };
    let backend = app.db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => {
            "UPDATE idempotency_key SET claim = 'other' WHERE request_key = $1"
        }
        _ => "UPDATE idempotency_key SET claim = 'other' WHERE request_key = ?",
    };
    app.db
        .execute(Statement::from_sql_and_values(
            backend,
            sql,
            ["taken".into()],
        ))
        .await
        .expect("take the key over");
    let before = counts(&app).await;

    // Act
    let result = api::idempotency::holding(ticket, async {
        let txn = sea_orm::TransactionTrait::begin(&app.db)
            .await
            .expect("begin");
        let event =
            api::service::write::change("ConsentRecord", w.consents[0].id, "x", "update", 9);
        let recorded = api::changes::record(&txn, &[event], api::changes::now()).await;
        if recorded.is_ok() {
            txn.commit().await.expect("commit");
        }
        recorded
    })
    .await;

    // Assert
    assert_eq!(
        result.expect_err("refused").code(),
        api::error::ErrorCode::IdempotencyInProgress
    );
    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn a_request_that_wrote_before_failing_is_stored_and_never_written_twice() {
    // Arrange: the first mutation field writes, the second fails at the top level (NOT_FOUND).
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = staff_token(&app, &w);
    let query = "mutation($a: CreateConsentRecordInput!, $b: CreateConsentRecordInput!) {
      a: createConsentRecord(input: $a) { consentRecord { sourcedId } userErrors { code } }
      b: createConsentRecord(input: $b) { consentRecord { sourcedId } userErrors { code } }
    }";
    let mut missing = consent_input(&w, 0)["input"].clone();
    missing["student"] = json!(global_id("Person", "stu-nobody"));
    missing["givenBy"] = missing["student"].clone();
    let variables = json!({ "a": consent_input(&w, 0)["input"], "b": missing });
    let before = counts(&app).await;
    let first = Call::new(&app, query, variables.clone(), &token)
        .key("half-done")
        .send(&app.client)
        .await;
    let after_first = counts(&app).await;

    // Act
    let retry = Call::new(&app, query, variables, &token)
        .key("half-done")
        .send(&app.client)
        .await;

    // Assert
    assert_eq!(first.error_code(), Some("NOT_FOUND"), "{}", first.body);
    assert_eq!(first.body["data"]["b"], Value::Null);
    assert_eq!(after_first.0, before.0 + 1);
    assert_eq!(retry.body["data"], first.body["data"]);
    assert_eq!(replayed(&retry), Some(true));
    assert_eq!(retry.error_code(), Some("NOT_FOUND"));
    assert_eq!(counts(&app).await, after_first);
    assert_eq!(stored(&app, "half-done").await[0].0, "done");
}

#[tokio::test]
async fn an_attempt_without_data_is_released_unless_it_committed_a_write() {
    // Arrange: two attempts; one commits a write (as a mutation would), the other writes nothing.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let store = api::idempotency::Idempotency::new(&app.settings.idempotency);
    let claim = |key: &str| api::idempotency::RequestedKey {
        principal: "p:someone@org".into(),
        key: key.into(),
    };
    let owned = |claim: api::idempotency::Claim| match claim {
        api::idempotency::Claim::Owned(ticket) => ticket,
        other => panic!("a fresh key is owned, got {other:?}"),
    };
    let wrote = owned(
        store
            .claim(&app.db, &claim("wrote"), "h")
            .await
            .expect("claim"),
    );
    let idle = owned(
        store
            .claim(&app.db, &claim("idle"), "h")
            .await
            .expect("claim"),
    );
    api::idempotency::holding(wrote.clone(), async {
        let txn = sea_orm::TransactionTrait::begin(&app.db)
            .await
            .expect("begin");
        let event =
            api::service::write::change("ConsentRecord", w.consents[0].id, "x", "update", 9);
        api::changes::record(&txn, &[event], api::changes::now())
            .await
            .expect("record");
        txn.commit().await.expect("commit");
    })
    .await;
    let timeout =
        json!({ "errors": [{ "message": "deadline", "extensions": { "code": "TIMEOUT" } }] });

    // Act
    store.finish(&app.db, &wrote, 200, &timeout, "req-1").await;
    store.finish(&app.db, &idle, 200, &timeout, "req-2").await;

    // Assert
    assert_eq!(stored(&app, "wrote").await[0].0, "done");
    assert_eq!(stored(&app, "idle").await, Vec::new());
    let replay = store
        .claim(&app.db, &claim("wrote"), "h")
        .await
        .expect("claim");
    let api::idempotency::Claim::Replay(replay) = replay else {
        panic!("the stored TIMEOUT is replayed, got {replay:?}");
    };
    assert_eq!(replay.body, timeout);
}

#[tokio::test]
async fn a_document_whose_every_mutation_field_is_refused_releases_its_key() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let partner = partner_token(&app, &w);
    let query = "mutation($a: CreateConsentRecordInput!, $b: CreateConsentRecordInput!) {
      a: createConsentRecord(input: $a) { userErrors { code } }
      b: createConsentRecord(input: $b) { userErrors { code } }
    }";
    let variables =
        json!({ "a": consent_input(&w, 0)["input"], "b": consent_input(&w, 1)["input"] });

    // Act
    let refused = Call::new(&app, query, variables, &partner)
        .key("both-refused")
        .send(&app.client)
        .await;

    // Assert
    assert_eq!(refused.error_code(), Some("FORBIDDEN"), "{}", refused.body);
    assert_eq!(stored(&app, "both-refused").await, Vec::new());
}
