//! Who is calling (API.md section 6): no token reads the public catalogue only; every bad token
//! is `UNAUTHENTICATED` with no data, never silently anonymous.

use integration_tests::fixtures::{OFFICE, SCHOOL_A, seed_world};
use integration_tests::{GqlResponse, TEST_KID, TEST_SECRET, TestApp, b64_json, claims, spawn_app};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

const PERSONAL_QUERY: &str = "{ students { totalCount edges { node { sourcedId familyName } } } }";
const PUBLIC_QUERY: &str = "{ pathways { totalCount edges { node { code } } } }";

/// Signs `claims` with the given header and secret.
fn sign(header: &Header, claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(header, claims, &EncodingKey::from_secret(secret)).expect("sign")
}

fn hs256() -> Header {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(TEST_KID.into());
    header
}

/// Sends the personal and the public query with `authorization` and checks both are rejected.
async fn assert_rejected(app: &TestApp, authorization: &str) {
    for query in [PERSONAL_QUERY, PUBLIC_QUERY] {
        let response = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("Authorization", authorization)
            .json(&json!({ "query": query }))
            .send()
            .await
            .expect("POST /graphql");
        let response = integration_tests::into_response(response).await;
        assert_unauthenticated(&response);
    }
}

fn assert_unauthenticated(response: &GqlResponse) {
    assert_eq!(
        response.error_code(),
        Some("UNAUTHENTICATED"),
        "{}",
        response.body
    );
    assert!(
        response.body.get("data").is_none(),
        "data leaked: {}",
        response.body
    );
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("www-authenticate"), Some("Bearer"));
}

async fn assert_token_rejected(app: &TestApp, token: &str) {
    assert_rejected(app, &format!("Bearer {token}")).await;
}

#[tokio::test]
async fn the_public_catalogue_is_readable_without_a_token() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;

    // Act
    let response = app
        .gql(
            "{ pathways { edges { node { code } } } courses { totalCount } organizations { totalCount } \
               schools { totalCount } partners { totalCount } viewer { authenticated roles } }",
            json!({}),
            None,
        )
        .await;

    // Assert
    let data = response.data();
    assert_eq!(
        data["pathways"]["edges"][0]["node"]["code"],
        json!("CLAPTECH-ICT")
    );
    assert_eq!(data["courses"]["totalCount"], json!(2));
    assert_eq!(data["organizations"]["totalCount"], json!(7));
    assert_eq!(data["schools"]["totalCount"], json!(2));
    assert_eq!(data["partners"]["totalCount"], json!(2));
    assert_eq!(
        data["viewer"],
        json!({ "authenticated": false, "roles": [] })
    );
}

#[tokio::test]
async fn personal_and_programme_lists_need_a_token() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;

    for list in [
        "students",
        "people",
        "pathwayEnrollments",
        "courseEnrollments",
        "academicSessions",
        "cohorts",
        "courseOfferings",
    ] {
        // Act
        let response = app
            .gql(
                &format!("{{ {list} {{ totalCount edges {{ node {{ sourcedId }} }} }} }}"),
                json!({}),
                None,
            )
            .await;

        // Assert
        assert_eq!(
            response.error_code(),
            Some("UNAUTHENTICATED"),
            "{list}: {}",
            response.body
        );
        assert_eq!(
            response.body["data"],
            Value::Null,
            "{list} leaked data: {}",
            response.body
        );
    }
}

#[tokio::test]
async fn personal_data_behind_a_public_object_needs_a_token() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;

    // Act
    let response = app
        .gql(
            "{ schools { edges { node { sourcedId students { totalCount edges { node { familyName } } } } } } }",
            json!({}),
            None,
        )
        .await;

    // Assert
    assert_eq!(response.error_code(), Some("UNAUTHENTICATED"));
    assert!(
        !response.body.to_string().contains("familyName\":\""),
        "leaked: {}",
        response.body
    );
}

#[tokio::test]
async fn a_valid_token_is_accepted_and_described_by_viewer() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let token = app.token_for("crd-a", &["schoolCoordinator"], SCHOOL_A);

    // Act
    let response = app
        .gql(
            "{ viewer { authenticated principal roles org { sourcedId } } }",
            json!({}),
            Some(&token),
        )
        .await;

    // Assert
    assert_eq!(
        response.data()["viewer"],
        json!({
            "authenticated": true,
            "principal": "crd-a",
            "roles": ["schoolCoordinator"],
            "org": { "sourcedId": SCHOOL_A },
        })
    );
}

#[tokio::test]
async fn a_hand_made_token_with_the_right_key_is_accepted() {
    // Arrange: the crafting helpers below are only meaningful if a correct token passes.
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let token = sign(
        &hs256(),
        &claims(&["programmeAdmin"], OFFICE),
        TEST_SECRET.as_bytes(),
    );

    // Act
    let response = app.gql(PERSONAL_QUERY, json!({}), Some(&token)).await;

    // Assert
    assert_eq!(response.data()["students"]["totalCount"], json!(12));
}

#[tokio::test]
async fn an_expired_token_is_unauthenticated() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let mut c = claims(&["programmeAdmin"], OFFICE);
    let now = chrono::Utc::now().timestamp();
    c["iat"] = json!(now - 7200);
    c["nbf"] = json!(now - 7200);
    c["exp"] = json!(now - 120);

    // Act + Assert
    assert_token_rejected(&app, &sign(&hs256(), &c, TEST_SECRET.as_bytes())).await;
}

#[tokio::test]
async fn a_token_not_yet_valid_beyond_the_leeway_is_unauthenticated() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let mut c = claims(&["programmeAdmin"], OFFICE);
    let now = chrono::Utc::now().timestamp();
    c["nbf"] = json!(now + 120);
    c["exp"] = json!(now + 3600);

    // Act + Assert
    assert_token_rejected(&app, &sign(&hs256(), &c, TEST_SECRET.as_bytes())).await;
}

#[tokio::test]
async fn a_token_from_another_issuer_is_unauthenticated() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let mut c = claims(&["programmeAdmin"], OFFICE);
    c["iss"] = json!("someone-else");

    // Act + Assert
    assert_token_rejected(&app, &sign(&hs256(), &c, TEST_SECRET.as_bytes())).await;
}

#[tokio::test]
async fn a_token_for_another_audience_is_unauthenticated() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let mut c = claims(&["programmeAdmin"], OFFICE);
    c["aud"] = json!("another-api");

    // Act + Assert
    assert_token_rejected(&app, &sign(&hs256(), &c, TEST_SECRET.as_bytes())).await;
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_unauthenticated() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let c = claims(&["programmeAdmin"], OFFICE);

    // Act + Assert
    assert_token_rejected(
        &app,
        &sign(&hs256(), &c, b"another-secret-another-secret-0123456789"),
    )
    .await;
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_unauthenticated() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let header = b64_json(&json!({ "alg": "none", "typ": "JWT", "kid": TEST_KID }));
    let payload = b64_json(&claims(&["programmeAdmin"], OFFICE));

    // Act + Assert
    assert_token_rejected(&app, &format!("{header}.{payload}.")).await;
    let header_without_kid = b64_json(&json!({ "alg": "none", "typ": "JWT" }));
    assert_token_rejected(&app, &format!("{header_without_kid}.{payload}.")).await;
}

#[tokio::test]
async fn a_token_signed_with_hs512_and_the_right_secret_is_unauthenticated() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let mut header = Header::new(Algorithm::HS512);
    header.kid = Some(TEST_KID.into());

    // Act + Assert
    let token = sign(
        &header,
        &claims(&["programmeAdmin"], OFFICE),
        TEST_SECRET.as_bytes(),
    );
    assert_token_rejected(&app, &token).await;
}

#[tokio::test]
async fn a_token_with_an_unknown_key_id_is_unauthenticated() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("hs-2".into());

    // Act + Assert
    let token = sign(
        &header,
        &claims(&["programmeAdmin"], OFFICE),
        TEST_SECRET.as_bytes(),
    );
    assert_token_rejected(&app, &token).await;
}

#[tokio::test]
async fn a_token_whose_payload_was_changed_after_signing_is_unauthenticated() {
    // Arrange: a school coordinator's token re-labelled as the programme office's.
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let token = sign(
        &hs256(),
        &claims(&["schoolCoordinator"], SCHOOL_A),
        TEST_SECRET.as_bytes(),
    );
    let parts: Vec<&str> = token.split('.').collect();
    let mut tampered = claims(&["schoolCoordinator"], OFFICE);
    tampered["roles"] = json!(["programmeAdmin"]);
    let forged = format!("{}.{}.{}", parts[0], b64_json(&tampered), parts[2]);

    // Act + Assert
    assert_token_rejected(&app, &forged).await;
}

#[tokio::test]
async fn tokens_missing_a_required_claim_are_unauthenticated() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;

    for claim in ["exp", "sub", "iss", "aud", "nbf", "iat", "org", "roles"] {
        let mut c = claims(&["programmeAdmin"], OFFICE);
        c.as_object_mut().expect("object").remove(claim);

        // Act + Assert
        assert_token_rejected(&app, &sign(&hs256(), &c, TEST_SECRET.as_bytes())).await;
    }
}

#[tokio::test]
async fn a_token_with_an_unknown_role_is_unauthenticated() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let c = claims(&["programmeAdmin", "superUser"], OFFICE);

    // Act + Assert
    assert_token_rejected(&app, &sign(&hs256(), &c, TEST_SECRET.as_bytes())).await;
}

#[tokio::test]
async fn malformed_authorization_headers_are_unauthenticated() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let valid = app.admin_token();

    for header in [
        "Basic dXNlcjpwYXNzd29yZA==".to_owned(),
        "Bearer".to_owned(),
        "Bearer    ".to_owned(),
        "garbage".to_owned(),
        "Bearer not-a-jwt".to_owned(),
        "Bearer a.b.c".to_owned(),
        format!("Token {valid}"),
        format!("Bearer {valid}x"),
    ] {
        // Act + Assert
        assert_rejected(&app, &header).await;
    }
}

#[tokio::test]
async fn a_rejected_token_with_graphql_response_json_is_http_401() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = integration_tests::into_response(
        app.client
            .post(format!("{}/graphql", app.address))
            .header("Accept", "application/graphql-response+json")
            .header("Authorization", "Bearer not-a-jwt")
            .json(&json!({ "query": PUBLIC_QUERY }))
            .send()
            .await
            .expect("POST /graphql"),
    )
    .await;

    // Assert
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.error_code(), Some("UNAUTHENTICATED"));
    assert!(response.body.get("data").is_none());
}
