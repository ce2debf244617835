//! Integration clients: OAuth 2 client credentials at POST /oauth/token.

use api::service::clients;
use integration_tests::fixtures::seed_world;
use integration_tests::{TestApp, spawn_app};
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
