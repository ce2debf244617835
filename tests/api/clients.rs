//! Integration clients: OAuth 2 client credentials at POST /oauth/token.

use api::service::clients;
use integration_tests::fixtures::seed_world;
use integration_tests::{TestApp, spawn_app, spawn_app_with};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

async fn token_request(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/oauth/token", app.address))
        .form(form)
        .send()
        .await
        .expect("token request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Creates a client for `org` with `scopes` directly through the service.
async fn new_client(app: &TestApp, org: &str, scopes: &str) -> clients::IssuedClient {
    clients::create(&app.db, org, scopes, None, "test")
        .await
        .expect("create client")
}

/// A token request with the client's credentials in the form, plus `extra` fields.
async fn grant(
    app: &TestApp,
    client: &clients::IssuedClient,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = vec![
        ("client_id", client.client_id.as_str()),
        ("client_secret", client.client_secret.as_str()),
    ];
    form.extend_from_slice(extra);
    token_request(app, &form).await
}

const CLIENT_CREDENTIALS: (&str, &str) = ("grant_type", "client_credentials");

#[tokio::test]
async fn a_school_client_gets_a_token_that_reads_its_own_school_only() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let school = &w.schools[0].sourced_id;
    let issued = clients::create(&app.db, school, "roster.read", Some("SIS"), "test")
        .await
        .expect("create client");

    // Act
    let (status, body) = grant(&app, &issued, &[CLIENT_CREDENTIALS]).await;
    let token = body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();
    let response = app
        .gql(
            "{ viewer { clientId principal roles scopes org { sourcedId } } students { totalCount } }",
            json!({}),
            Some(&token),
        )
        .await;

    // Assert
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], "roster.read");
    assert_eq!(
        response.data()["viewer"],
        json!({ "clientId": issued.client_id, "principal": issued.client_id,
                "roles": ["schoolCoordinator"], "scopes": ["roster.read"], "org": { "sourcedId": school } })
    );
    assert_eq!(
        response.data()["students"]["totalCount"],
        json!(w.students_of(0).len())
    );
}

#[tokio::test]
async fn client_credentials_in_a_basic_header_are_accepted() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let issued = new_client(&app, &w.partners[0].sourced_id, "activities.read").await;

    // Act
    let response = app
        .client
        .post(format!("{}/oauth/token", app.address))
        .basic_auth(&issued.client_id, Some(&issued.client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["scope"], "activities.read");
}

#[tokio::test]
async fn a_wrong_or_unknown_secret_is_invalid_client_and_issues_nothing() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let issued = new_client(&app, &w.schools[0].sourced_id, "roster.read").await;

    // Act
    let wrong = token_request(
        &app,
        &[
            CLIENT_CREDENTIALS,
            ("client_id", &issued.client_id),
            ("client_secret", "nope"),
        ],
    )
    .await;
    let unknown = token_request(
        &app,
        &[
            CLIENT_CREDENTIALS,
            ("client_id", "cli_unknown"),
            ("client_secret", &issued.client_secret),
        ],
    )
    .await;

    // Assert
    for (status, body) in [wrong, unknown] {
        assert_eq!(status, 401);
        assert_eq!(body["error"], "invalid_client");
        assert!(body.get("access_token").is_none());
    }
}

#[tokio::test]
async fn bad_grant_types_and_scopes_are_refused_per_rfc_6749() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let issued = new_client(&app, &w.schools[0].sourced_id, "roster.read").await;

    // Act
    let password = grant(&app, &issued, &[("grant_type", "password")]).await;
    let missing = grant(&app, &issued, &[]).await;
    let scope = grant(
        &app,
        &issued,
        &[CLIENT_CREDENTIALS, ("scope", "roster.read roster.write")],
    )
    .await;

    // Assert
    assert_eq!(
        (password.0, password.1["error"].clone()),
        (400, json!("unsupported_grant_type"))
    );
    assert_eq!(
        (missing.0, missing.1["error"].clone()),
        (400, json!("invalid_request"))
    );
    assert_eq!(
        (scope.0, scope.1["error"].clone()),
        (400, json!("invalid_scope"))
    );
}

#[tokio::test]
async fn a_revoked_clients_token_stops_working_at_once() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let issued = new_client(&app, &w.schools[0].sourced_id, "roster.read").await;
    let (_, body) = grant(&app, &issued, &[CLIENT_CREDENTIALS]).await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    let before = app
        .gql("{ students { totalCount } }", json!({}), Some(&token))
        .await;

    // Act
    clients::revoke(&app.db, &issued.client_id, "test")
        .await
        .unwrap();
    let after = app
        .gql("{ students { totalCount } }", json!({}), Some(&token))
        .await;
    let (status, again) = grant(&app, &issued, &[CLIENT_CREDENTIALS]).await;

    // Assert
    assert!(before.errors().is_empty());
    assert_eq!(after.error_code(), Some("UNAUTHENTICATED"));
    assert_eq!(
        (status, again["error"].clone()),
        (401, json!("invalid_client"))
    );
}

#[tokio::test]
async fn partner_clients_never_get_pii_or_consent_scopes() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;

    // Act
    let pii = clients::create(
        &app.db,
        &w.partners[0].sourced_id,
        "activities.read pii.student.read",
        None,
        "test",
    )
    .await;
    let consent = clients::create(
        &app.db,
        &w.partners[0].sourced_id,
        "consent.write",
        None,
        "test",
    )
    .await;
    let unknown = clients::create(
        &app.db,
        &w.schools[0].sourced_id,
        "everything",
        None,
        "test",
    )
    .await;

    // Assert
    for result in [pii, consent, unknown] {
        assert_eq!(
            result.unwrap_err().code(),
            api::error::ErrorCode::BadUserInput
        );
    }
    assert!(clients::list(&app.db).await.unwrap().is_empty());
}

#[tokio::test]
async fn client_tokens_live_as_long_as_the_setting_says() {
    // Arrange
    let app = spawn_app_with(|settings| settings.auth.token_ttl_seconds = 300).await;
    let w = seed_world(&app.db).await;
    let issued = new_client(&app, &w.schools[0].sourced_id, "roster.read").await;

    // Act
    let (status, body) = grant(&app, &issued, &[CLIENT_CREDENTIALS]).await;

    // Assert
    assert_eq!(status, 200);
    assert_eq!(body["expires_in"], 300);
    let token = body["access_token"].as_str().expect("access_token");
    let payload = token.split('.').nth(1).expect("payload");
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .expect("base64"),
    )
    .expect("claims");
    assert_eq!(
        claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
        300
    );
}

/// The token budget is counted in fixed one-minute windows: start a burst early in a window so
/// that it cannot straddle two.
async fn at_the_start_of_a_window() {
    let second = chrono::Utc::now().timestamp().rem_euclid(60);
    if second > 45 {
        tokio::time::sleep(std::time::Duration::from_secs(
            u64::try_from(61 - second).unwrap_or(1),
        ))
        .await;
    }
}

#[tokio::test]
async fn token_requests_per_client_are_rate_limited() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let issued = new_client(&app, &w.schools[0].sourced_id, "roster.read").await;
    let form = [
        CLIENT_CREDENTIALS,
        ("client_id", issued.client_id.as_str()),
        ("client_secret", "wrong"),
    ];
    at_the_start_of_a_window().await;

    // Act
    let mut statuses = Vec::new();
    for _ in 0..(api::http::TOKEN_REQUESTS_PER_MINUTE + 1) {
        statuses.push(token_request(&app, &form).await.0);
    }

    // Assert
    let last = statuses.pop();
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(last, Some(429));
}

#[tokio::test]
async fn the_token_budget_is_shared_by_every_instance_on_one_database() {
    // Arrange: a second instance of the service on the same database.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let issued = new_client(&app, &w.schools[0].sourced_id, "roster.read").await;
    let sibling = api::startup::Application::build(app.settings.clone())
        .await
        .expect("second instance");
    let sibling_address = format!("http://127.0.0.1:{}", sibling.port());
    tokio::spawn(sibling.run_until_stopped());
    let form = [
        CLIENT_CREDENTIALS,
        ("client_id", issued.client_id.as_str()),
        ("client_secret", "wrong"),
    ];
    at_the_start_of_a_window().await;

    // Act: half the budget on each instance, then one more on the second.
    let half = api::http::TOKEN_REQUESTS_PER_MINUTE / 2;
    let mut statuses = Vec::new();
    for _ in 0..half {
        statuses.push(token_request(&app, &form).await.0);
    }
    let mut on_sibling = Vec::new();
    for _ in 0..=(api::http::TOKEN_REQUESTS_PER_MINUTE - half) {
        let response = app
            .client
            .post(format!("{sibling_address}/oauth/token"))
            .form(&form)
            .send()
            .await
            .expect("token request");
        on_sibling.push(response.status().as_u16());
    }

    // Assert
    let last = on_sibling.pop();
    assert!(
        statuses.iter().chain(&on_sibling).all(|s| *s == 401),
        "{statuses:?} {on_sibling:?}"
    );
    assert_eq!(last, Some(429));
}

// ---------------------------------------------------------------------------------------------
// Managing clients through GraphQL (programmeAdmin only).
// ---------------------------------------------------------------------------------------------

const CLIENT_FIELDS: &str = "id clientId sourcedId name scopes revoked revokedAt version \
                             dateCreated dateLastModified organization { sourcedId }";

fn create_mutation() -> String {
    format!(
        "mutation($input: CreateApiClientInput!) {{ createApiClient(input: $input) {{ \
         apiClient {{ {CLIENT_FIELDS} }} clientSecret userErrors {{ field code message }} }} }}"
    )
}

fn rotate_mutation() -> String {
    format!(
        "mutation($input: RotateApiClientSecretInput!) {{ rotateApiClientSecret(input: $input) {{ \
         apiClient {{ {CLIENT_FIELDS} }} clientSecret userErrors {{ field code message }} }} }}"
    )
}

fn revoke_mutation() -> String {
    format!(
        "mutation($input: RevokeApiClientInput!) {{ revokeApiClient(input: $input) {{ \
         apiClient {{ {CLIENT_FIELDS} }} userErrors {{ field code message }} }} }}"
    )
}

fn list_query() -> String {
    format!(
        "query($filter: ApiClientFilter, $orderBy: [ApiClientOrder!]) {{ \
         apiClients(filter: $filter, orderBy: $orderBy) {{ totalCount edges {{ node {{ {CLIENT_FIELDS} }} }} }} }}"
    )
}

/// Creates a client through `createApiClient` as a programmeAdmin; returns the payload.
async fn create_through_graphql(app: &TestApp, input: Value) -> Value {
    let response = app
        .gql_admin(&create_mutation(), json!({ "input": input }))
        .await;
    response.data()["createApiClient"].clone()
}

/// A client made through GraphQL: its payload's `apiClient` and its secret.
async fn created(app: &TestApp, org: &str, scopes: &[&str]) -> (Value, clients::IssuedClient) {
    let payload =
        create_through_graphql(app, json!({ "organization": org, "scopes": scopes })).await;
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
    let issued = clients::IssuedClient {
        client_id: payload["apiClient"]["clientId"]
            .as_str()
            .expect("clientId")
            .to_owned(),
        client_secret: payload["clientSecret"]
            .as_str()
            .expect("clientSecret")
            .to_owned(),
    };
    (payload["apiClient"].clone(), issued)
}

/// Every client as a programmeAdmin sees it.
async fn admin_list(app: &TestApp) -> Value {
    app.gql_admin(&list_query(), json!({})).await.data()["apiClients"].clone()
}

/// An access token for the client (asserting the grant succeeds).
async fn access_token(app: &TestApp, client: &clients::IssuedClient) -> String {
    let (status, body) = grant(app, client, &[CLIENT_CREDENTIALS]).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

fn user_errors(payload: &Value) -> Vec<(Value, String)> {
    payload["userErrors"]
        .as_array()
        .expect("userErrors")
        .iter()
        .map(|e| {
            (
                e["field"].clone(),
                e["code"].as_str().expect("code").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_client_created_through_graphql_gets_a_token_with_the_returned_secret() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;

    // Act
    let payload = create_through_graphql(
        &app,
        json!({ "organization": w.schools[0].gid(), "scopes": ["roster.read", "roster.write"],
                "name": "School SIS" }),
    )
    .await;
    let client = &payload["apiClient"];
    let issued = clients::IssuedClient {
        client_id: client["clientId"].as_str().unwrap().to_owned(),
        client_secret: payload["clientSecret"].as_str().unwrap().to_owned(),
    };
    let (status, body) = grant(&app, &issued, &[CLIENT_CREDENTIALS]).await;
    let token = body["access_token"].as_str().unwrap_or_default();
    let viewer = app
        .gql(
            "{ viewer { clientId roles org { sourcedId } } }",
            json!({}),
            Some(token),
        )
        .await;

    // Assert
    assert_eq!(payload["userErrors"], json!([]));
    assert!(issued.client_id.starts_with("cli_"));
    assert_eq!(client["sourcedId"], client["clientId"]);
    assert_eq!(
        client["id"],
        json!(integration_tests::global_id("ApiClient", &issued.client_id))
    );
    assert_eq!(client["name"], "School SIS");
    assert_eq!(client["scopes"], json!(["roster.read", "roster.write"]));
    assert_eq!(
        client["organization"]["sourcedId"],
        json!(w.schools[0].sourced_id)
    );
    assert_eq!(
        (
            client["revoked"].clone(),
            client["revokedAt"].clone(),
            client["version"].clone()
        ),
        (json!(false), Value::Null, json!(1))
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "roster.read roster.write");
    assert_eq!(
        viewer.data()["viewer"],
        json!({ "clientId": issued.client_id, "roles": ["schoolCoordinator"],
                "org": { "sourcedId": w.schools[0].sourced_id } })
    );
}

#[tokio::test]
async fn a_client_is_created_for_an_organization_given_by_sourced_id_and_named_after_its_id() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;

    // Act
    let (client, issued) = created(&app, &w.partners[0].sourced_id, &["activities.read"]).await;
    let listed = admin_list(&app).await;

    // Assert
    assert_eq!(client["name"], json!(issued.client_id));
    assert_eq!(
        client["organization"]["sourcedId"],
        json!(w.partners[0].sourced_id)
    );
    assert_eq!(listed["totalCount"], 1);
    assert_eq!(listed["edges"][0]["node"], client);
    let row = entity::api_client::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(row.secret_hash, issued.client_secret);
    assert!(row.secret_hash.starts_with("$argon2"));
}

#[tokio::test]
async fn rotating_a_secret_makes_the_old_one_invalid_and_the_new_one_work() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let (client, old) = created(&app, &w.schools[0].sourced_id, &["roster.read"]).await;
    let earlier_token = access_token(&app, &old).await;

    // Act
    let response = app
        .gql_admin(
            &rotate_mutation(),
            json!({ "input": { "apiClient": client["id"], "expectedVersion": 1 } }),
        )
        .await;
    let payload = &response.data()["rotateApiClientSecret"];
    let new = clients::IssuedClient {
        client_id: old.client_id.clone(),
        client_secret: payload["clientSecret"].as_str().unwrap().to_owned(),
    };
    let with_old = grant(&app, &old, &[CLIENT_CREDENTIALS]).await;
    let with_new = grant(&app, &new, &[CLIENT_CREDENTIALS]).await;
    let earlier = app
        .gql("{ viewer { clientId } }", json!({}), Some(&earlier_token))
        .await;

    // Assert
    assert_eq!(payload["userErrors"], json!([]));
    assert_ne!(new.client_secret, old.client_secret);
    assert_eq!(payload["apiClient"]["version"], 2);
    assert_eq!(payload["apiClient"]["revoked"], false);
    assert_eq!(
        (with_old.0, with_old.1["error"].clone()),
        (401, json!("invalid_client"))
    );
    assert_eq!(with_new.0, 200, "{}", with_new.1);
    // Documented: tokens issued before a rotation stay valid until they expire.
    assert_eq!(earlier.data()["viewer"]["clientId"], json!(old.client_id));
}

#[tokio::test]
async fn revoking_a_client_through_graphql_stops_a_token_obtained_before_at_once() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let (client, issued) = created(&app, &w.schools[0].sourced_id, &["roster.read"]).await;
    let token = access_token(&app, &issued).await;
    let before = app
        .gql("{ students { totalCount } }", json!({}), Some(&token))
        .await;

    // Act
    let response = app
        .gql_admin(
            &revoke_mutation(),
            json!({ "input": { "apiClient": issued.client_id, "expectedVersion": 1 } }),
        )
        .await;
    let payload = &response.data()["revokeApiClient"];
    let after = app
        .gql("{ students { totalCount } }", json!({}), Some(&token))
        .await;
    let (status, again) = grant(&app, &issued, &[CLIENT_CREDENTIALS]).await;

    // Assert
    assert!(before.errors().is_empty(), "{:?}", before.body);
    assert_eq!(payload["userErrors"], json!([]));
    assert_eq!(payload["apiClient"]["id"], client["id"]);
    assert_eq!(payload["apiClient"]["revoked"], true);
    assert!(payload["apiClient"]["revokedAt"].is_string());
    assert_eq!(payload["apiClient"]["version"], 2);
    assert_eq!(after.error_code(), Some("UNAUTHENTICATED"));
    assert_eq!(
        (status, again["error"].clone()),
        (401, json!("invalid_client"))
    );
}

#[tokio::test]
async fn each_write_bumps_the_version_and_records_who_made_it() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let ann = app.token_for(
        "admin-ann",
        &["programmeAdmin"],
        integration_tests::fixtures::OFFICE,
    );
    let bob = app.token_for(
        "admin-bob",
        &["programmeAdmin"],
        integration_tests::fixtures::OFFICE,
    );
    let created = app
        .gql(
            &create_mutation(),
            json!({ "input": { "organization": w.schools[0].sourced_id, "scopes": ["roster.read"] } }),
            Some(&ann),
        )
        .await;
    let client = created.data()["createApiClient"]["apiClient"].clone();
    let row = |app: &TestApp| {
        let db = app.db.clone();
        async move {
            entity::api_client::Entity::find()
                .one(&db)
                .await
                .unwrap()
                .unwrap()
        }
    };
    let first = row(&app).await;

    // Act
    let rotated = app
        .gql(
            &rotate_mutation(),
            json!({ "input": { "apiClient": client["id"] } }),
            Some(&bob),
        )
        .await;
    let second = row(&app).await;
    let revoked = app
        .gql(
            &revoke_mutation(),
            json!({ "input": { "apiClient": client["id"] } }),
            Some(&ann),
        )
        .await;
    let third = row(&app).await;

    // Assert
    assert_eq!(
        rotated.data()["rotateApiClientSecret"]["userErrors"],
        json!([])
    );
    assert_eq!(revoked.data()["revokeApiClient"]["userErrors"], json!([]));
    assert_eq!((first.version, second.version, third.version), (1, 2, 3));
    assert_eq!(first.created_by.as_deref(), Some("admin-ann"));
    assert_eq!(first.modified_by.as_deref(), Some("admin-ann"));
    assert_eq!(second.modified_by.as_deref(), Some("admin-bob"));
    assert_eq!(third.modified_by.as_deref(), Some("admin-ann"));
    assert_eq!(third.created_by.as_deref(), Some("admin-ann"));
    assert!(first.date_last_modified < second.date_last_modified);
    assert!(second.date_last_modified < third.date_last_modified);
    assert_ne!(first.secret_hash, second.secret_hash);
    assert_eq!(second.secret_hash, third.secret_hash);
    assert_eq!(third.revoked_at, Some(third.date_last_modified));
}

#[tokio::test]
async fn only_a_programme_admin_may_list_create_rotate_or_revoke_clients() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    use integration_tests::fixtures::{OFFICE, PARTNER_X, SCHOOL_A, UNIT};
    let (school_client, school_issued) = created(&app, SCHOOL_A, &["roster.read"]).await;
    let (_, office_issued) = created(&app, OFFICE, &["roster.read"]).await;
    let before = admin_list(&app).await;
    let office_client_token = access_token(&app, &office_issued).await;
    // A client's token that claims programmeAdmin: clients never manage clients.
    let mut admin_claims = integration_tests::claims(&["programmeAdmin"], OFFICE);
    admin_claims["sub"] = json!(office_issued.client_id);
    admin_claims["client_id"] = json!(office_issued.client_id);
    admin_claims["scope"] = json!("roster.read");
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(integration_tests::TEST_KID.into());
    let admin_claiming_client = jsonwebtoken::encode(
        &header,
        &admin_claims,
        &jsonwebtoken::EncodingKey::from_secret(integration_tests::TEST_SECRET.as_bytes()),
    )
    .unwrap();
    let mut callers: Vec<(String, String)> = [
        ("programmeStaff", OFFICE),
        ("evaluator", OFFICE),
        ("academicLead", UNIT),
        ("schoolCoordinator", SCHOOL_A),
        ("teacher", SCHOOL_A),
        ("student", SCHOOL_A),
        ("guardian", SCHOOL_A),
        ("partnerCoordinator", PARTNER_X),
        ("mentor", PARTNER_X),
    ]
    .into_iter()
    .map(|(role, org)| (role.to_owned(), app.token(&[role], org)))
    .collect();
    callers.push(("client token".into(), office_client_token));
    callers.push((
        "client token claiming programmeAdmin".into(),
        admin_claiming_client,
    ));
    let create =
        json!({ "input": { "organization": w.schools[1].sourced_id, "scopes": ["roster.read"] } });
    let target = json!({ "input": { "apiClient": school_client["id"] } });

    // Act
    let mut outcomes = Vec::new();
    for (who, token) in &callers {
        for (document, variables) in [
            (list_query(), json!({})),
            (create_mutation(), create.clone()),
            (rotate_mutation(), target.clone()),
            (revoke_mutation(), target.clone()),
        ] {
            let response = app.gql(&document, variables, Some(token)).await;
            outcomes.push((
                who.clone(),
                document.chars().take(40).collect::<String>(),
                response.error_code().map(str::to_owned),
                response.body["data"].clone(),
            ));
        }
    }
    let anonymous = app.gql(&list_query(), json!({}), None).await;
    let anonymous_create = app.gql(&create_mutation(), create.clone(), None).await;
    let after = admin_list(&app).await;

    // Assert
    for (who, document, code, data) in &outcomes {
        assert_eq!(
            code.as_deref(),
            Some("FORBIDDEN"),
            "{who} running {document}…"
        );
        assert_eq!(*data, Value::Null, "{who} running {document}…");
    }
    assert_eq!(anonymous.error_code(), Some("UNAUTHENTICATED"));
    assert_eq!(anonymous_create.error_code(), Some("UNAUTHENTICATED"));
    assert_eq!(after, before, "the database changed");
    assert_eq!(after["totalCount"], 2);
    assert_eq!(
        grant(&app, &school_issued, &[CLIENT_CREDENTIALS]).await.0,
        200
    );
}

#[tokio::test]
async fn clients_are_invisible_to_everyone_but_a_programme_admin_through_node() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let (client, _) = created(&app, &w.schools[0].sourced_id, &["roster.read"]).await;
    let query = "query($id: ID!) { node(id: $id) { __typename ... on ApiClient { clientId } } }";
    let variables = json!({ "id": client["id"] });

    // Act
    let admin = app.gql_admin(query, variables.clone()).await;
    let staff = app
        .gql(
            query,
            variables.clone(),
            Some(&app.token(&["programmeStaff"], integration_tests::fixtures::OFFICE)),
        )
        .await;
    let coordinator = app
        .gql(
            query,
            variables,
            Some(&app.token(&["schoolCoordinator"], &w.schools[0].sourced_id)),
        )
        .await;

    // Assert
    assert_eq!(
        admin.data()["node"],
        json!({ "__typename": "ApiClient", "clientId": client["clientId"] })
    );
    assert_eq!(staff.data()["node"], Value::Null);
    assert_eq!(coordinator.data()["node"], Value::Null);
}

#[tokio::test]
async fn bad_scopes_are_user_errors_on_input_scopes_and_create_nothing() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let school = &w.schools[0].sourced_id;
    let partner = &w.partners[0].sourced_id;
    let cases = [
        (school, json!(["roster.read", "everything"])),
        (school, json!(["roster.read roster.write"])),
        (school, json!([])),
        (partner, json!(["activities.read", "pii.student.read"])),
        (partner, json!(["consent.write"])),
    ];

    // Act
    let mut payloads = Vec::new();
    for (org, scopes) in &cases {
        payloads.push(
            create_through_graphql(&app, json!({ "organization": org, "scopes": scopes })).await,
        );
    }
    let listed = admin_list(&app).await;

    // Assert
    for ((_, scopes), payload) in cases.iter().zip(&payloads) {
        assert_eq!(
            user_errors(payload),
            vec![(json!(["input", "scopes"]), "BAD_USER_INPUT".to_owned())],
            "{scopes}"
        );
        assert_eq!(payload["apiClient"], Value::Null);
        assert_eq!(payload["clientSecret"], Value::Null);
    }
    assert_eq!(listed["totalCount"], 0);
}

#[tokio::test]
async fn an_unknown_or_unsuitable_organization_is_a_user_error_on_input_organization() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let person = w.students[0].person.gid();

    // Act
    let mut payloads = Vec::new();
    for org in [
        json!("org-nowhere"),
        json!(person),
        json!("not a sourced id!"),
    ] {
        payloads.push(
            create_through_graphql(
                &app,
                json!({ "organization": org, "scopes": ["roster.read"] }),
            )
            .await,
        );
    }
    let listed = admin_list(&app).await;

    // Assert
    for payload in &payloads {
        assert_eq!(
            user_errors(payload),
            vec![(
                json!(["input", "organization"]),
                "BAD_USER_INPUT".to_owned()
            )],
            "{payload}"
        );
        assert_eq!(payload["apiClient"], Value::Null);
    }
    assert_eq!(listed["totalCount"], 0);
}

#[tokio::test]
async fn a_stale_expected_version_is_a_version_conflict_and_changes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let (client, _) = created(&app, &w.schools[0].sourced_id, &["roster.read"]).await;
    let rotated = app
        .gql_admin(
            &rotate_mutation(),
            json!({ "input": { "apiClient": client["id"], "expectedVersion": 1 } }),
        )
        .await;
    let secret = rotated.data()["rotateApiClientSecret"]["clientSecret"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = admin_list(&app).await;

    // Act
    let stale_rotate = app
        .gql_admin(
            &rotate_mutation(),
            json!({ "input": { "apiClient": client["id"], "expectedVersion": 1 } }),
        )
        .await;
    let stale_revoke = app
        .gql_admin(
            &revoke_mutation(),
            json!({ "input": { "apiClient": client["id"], "expectedVersion": 1 } }),
        )
        .await;
    let after = admin_list(&app).await;
    let current = clients::IssuedClient {
        client_id: client["clientId"].as_str().unwrap().to_owned(),
        client_secret: secret,
    };

    // Assert
    for payload in [
        &stale_rotate.data()["rotateApiClientSecret"],
        &stale_revoke.data()["revokeApiClient"],
    ] {
        assert_eq!(
            user_errors(payload),
            vec![(Value::Null, "VERSION_CONFLICT".to_owned())]
        );
        assert!(
            payload["userErrors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("version 2"),
            "{payload}"
        );
        assert_eq!(payload["apiClient"], Value::Null);
    }
    assert_eq!(
        stale_rotate.data()["rotateApiClientSecret"]["clientSecret"],
        Value::Null
    );
    assert_eq!(after, before);
    assert_eq!(after["edges"][0]["node"]["version"], 2);
    assert_eq!(after["edges"][0]["node"]["revoked"], false);
    assert_eq!(grant(&app, &current, &[CLIENT_CREDENTIALS]).await.0, 200);
}

#[tokio::test]
async fn revoking_or_rotating_a_revoked_client_is_an_invalid_transition() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let (client, _) = created(&app, &w.schools[0].sourced_id, &["roster.read"]).await;
    let target = json!({ "input": { "apiClient": client["id"] } });
    let first = app.gql_admin(&revoke_mutation(), target.clone()).await;
    let before = admin_list(&app).await;

    // Act
    let again = app.gql_admin(&revoke_mutation(), target.clone()).await;
    let rotate = app.gql_admin(&rotate_mutation(), target).await;
    let after = admin_list(&app).await;

    // Assert
    assert_eq!(first.data()["revokeApiClient"]["userErrors"], json!([]));
    assert_eq!(
        user_errors(&again.data()["revokeApiClient"]),
        vec![(Value::Null, "INVALID_TRANSITION".to_owned())]
    );
    assert_eq!(
        user_errors(&rotate.data()["rotateApiClientSecret"]),
        vec![(Value::Null, "INVALID_TRANSITION".to_owned())]
    );
    assert_eq!(
        rotate.data()["rotateApiClientSecret"]["clientSecret"],
        Value::Null
    );
    assert_eq!(after, before);
    assert_eq!(after["edges"][0]["node"]["version"], 2);
}

#[tokio::test]
async fn an_unknown_client_is_a_not_found_user_error_on_input_api_client() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let unknown = json!({ "input": { "apiClient": "cli_unknown" } });
    let wrong_type = json!({ "input": { "apiClient": w.schools[0].gid() } });

    // Act
    let rotate = app.gql_admin(&rotate_mutation(), unknown.clone()).await;
    let revoke = app.gql_admin(&revoke_mutation(), unknown).await;
    let org_id = app.gql_admin(&revoke_mutation(), wrong_type).await;

    // Assert
    assert_eq!(
        user_errors(&rotate.data()["rotateApiClientSecret"]),
        vec![(json!(["input", "apiClient"]), "NOT_FOUND".to_owned())]
    );
    assert_eq!(
        user_errors(&revoke.data()["revokeApiClient"]),
        vec![(json!(["input", "apiClient"]), "NOT_FOUND".to_owned())]
    );
    assert_eq!(
        user_errors(&org_id.data()["revokeApiClient"]),
        vec![(json!(["input", "apiClient"]), "BAD_USER_INPUT".to_owned())]
    );
}

#[tokio::test]
async fn api_clients_filter_by_organization_and_revocation_and_sort() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let (a, _) = created(&app, &w.schools[0].sourced_id, &["roster.read"]).await;
    let (b, _) = created(&app, &w.schools[0].sourced_id, &["roster.write"]).await;
    let (c, _) = created(&app, &w.partners[0].sourced_id, &["activities.read"]).await;
    app.gql_admin(
        &revoke_mutation(),
        json!({ "input": { "apiClient": b["id"] } }),
    )
    .await
    .data();
    let ids = |listed: &Value| integration_tests::node_strings(listed, "clientId");

    // Act
    let school = app
        .gql_admin(
            &list_query(),
            json!({ "filter": { "organization": { "eq": w.schools[0].gid() } } }),
        )
        .await;
    let in_use = app
        .gql_admin(
            &list_query(),
            json!({ "filter": { "revokedAt": { "isNull": true } },
                    "orderBy": [{ "field": "DATE_CREATED", "direction": "DESC" }] }),
        )
        .await;

    // Assert
    let id = |v: &Value| v["clientId"].as_str().unwrap().to_owned();
    assert_eq!(ids(&school.data()["apiClients"]), vec![id(&a), id(&b)]);
    assert_eq!(ids(&in_use.data()["apiClients"]), vec![id(&c), id(&a)]);
}

#[tokio::test]
async fn the_cli_revoke_shares_the_service_and_accepts_a_revoked_client() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let issued = new_client(&app, &w.schools[0].sourced_id, "roster.read").await;

    // Act
    let first = clients::revoke(&app.db, &issued.client_id, "cli").await;
    let second = clients::revoke(&app.db, &issued.client_id, "cli").await;
    let unknown = clients::revoke(&app.db, "cli_unknown", "cli").await;
    let listed = admin_list(&app).await;

    // Assert
    assert!(first.is_ok() && second.is_ok());
    assert_eq!(unknown.unwrap_err().code(), api::error::ErrorCode::NotFound);
    assert_eq!(listed["edges"][0]["node"]["revoked"], true);
    assert_eq!(listed["edges"][0]["node"]["version"], 2);
}

#[tokio::test]
async fn concurrent_writes_with_the_same_expected_version_let_exactly_one_through() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let (client, _) = created(&app, &w.schools[0].sourced_id, &["roster.read"]).await;
    let variables = json!({ "input": { "apiClient": client["id"], "expectedVersion": 1 } });
    let rotate = rotate_mutation();

    // Act
    let (first, second) = tokio::join!(
        app.gql_admin(&rotate, variables.clone()),
        app.gql_admin(&rotate, variables.clone()),
    );
    let listed = admin_list(&app).await;

    // Assert
    let mut codes = vec![
        user_errors(&first.data()["rotateApiClientSecret"]),
        user_errors(&second.data()["rotateApiClientSecret"]),
    ];
    codes.sort_by_key(Vec::len);
    assert_eq!(
        codes,
        vec![vec![], vec![(Value::Null, "VERSION_CONFLICT".to_owned())]]
    );
    assert_eq!(listed["edges"][0]["node"]["version"], 2);
}
