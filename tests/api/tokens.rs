//! Tokens (issue 3 part 2, docs/tokens.md): HS256 for development, EdDSA and RS256 from PEM key
//! files, `kid`-pinned verification keys for rotation, the JWK Set, and a trusted external issuer
//! whose tokens map to an Account. Every rejection is `UNAUTHENTICATED` through the real API.
//! The key files under `tests/keys/` are test-only keys.

use std::path::PathBuf;

use api::auth::jwt::{TokenKeys, TokenRequest};
use api::config::{ExternalIssuerSettings, Settings, SigningAlgorithm, VerificationKeySettings};
use api::service::clients;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{Duration, Utc};
use integration_tests::fixtures::{OFFICE, SCHOOL_A, UNIT, UNIVERSITY, World, seed_world};
use integration_tests::{
    GqlResponse, TEST_ISSUER, TEST_KID, TEST_SECRET, TestApp, b64_json, claims, spawn_app,
    spawn_app_with,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};

const VIEWER: &str = "{ viewer { authenticated principal roles clientId org { sourcedId } } }";
const IDP_ISSUER: &str = "https://login.example.test/realms/staff";
const IDP_AUDIENCE: &str = "pathway-partner-staff";

/// A test-only key file under `tests/keys/`.
fn key(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("keys")
        .join(name)
}

fn key_bytes(name: &str) -> Vec<u8> {
    std::fs::read(key(name)).expect("read test key")
}

fn key_json(name: &str) -> Value {
    serde_json::from_slice(&key_bytes(name)).expect("JSON key file")
}

fn ed_key(name: &str) -> EncodingKey {
    EncodingKey::from_ed_pem(&key_bytes(name)).expect("Ed25519 PEM")
}

fn rsa_key(name: &str) -> EncodingKey {
    EncodingKey::from_rsa_pem(&key_bytes(name)).expect("RSA PEM")
}

fn header(alg: Algorithm, kid: Option<&str>) -> Header {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    header
}

fn sign(header: &Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(header, claims, key).expect("sign")
}

/// Signs with EdDSA key B: the signing key of [`eddsa_settings`].
fn ed_b(claims: &Value) -> String {
    sign(
        &header(Algorithm::EdDSA, Some("ed-b")),
        claims,
        &ed_key("ed25519-b.pem"),
    )
}

fn verification_key(kid: &str, algorithm: SigningAlgorithm, file: &str) -> VerificationKeySettings {
    VerificationKeySettings {
        kid: kid.into(),
        algorithm,
        file: key(file),
    }
}

/// EdDSA signing with key B (`ed-b`), after a rotation from key A (`ed-a`, still verified), plus
/// an RS256 verification key (`rs-a`).
fn eddsa_settings(settings: &mut Settings) {
    settings.auth.signing_algorithm = SigningAlgorithm::EdDSA;
    settings.auth.signing_key_file = Some(key("ed25519-b.pem"));
    settings.auth.key_id = "ed-b".into();
    settings.auth.verification_keys = vec![
        verification_key("ed-a", SigningAlgorithm::EdDSA, "ed25519-a.pub.pem"),
        verification_key("rs-a", SigningAlgorithm::RS256, "rsa-a.pub.pem"),
    ];
}

/// RS256 signing with the RSA key (`rs-a`).
fn rs256_settings(settings: &mut Settings) {
    settings.auth.signing_algorithm = SigningAlgorithm::RS256;
    settings.auth.signing_key_file = Some(key("rsa-a.pem"));
    settings.auth.key_id = "rs-a".into();
}

/// HS256 for the service's own tokens, and the test identity provider as external issuer.
fn external_settings(settings: &mut Settings) {
    settings.auth.external = Some(ExternalIssuerSettings {
        issuer: IDP_ISSUER.into(),
        audience: IDP_AUDIENCE.into(),
        jwks_file: key("idp-jwks.json"),
    });
}

/// A token minted by the service's own keys as configured for `app`.
fn minted(settings: &Settings, roles: &[&str], org: &str, ttl_seconds: i64) -> String {
    TokenKeys::load(&settings.auth)
        .expect("token keys")
        .sign(&TokenRequest {
            subject: "test-user".into(),
            org: org.into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            scope: String::new(),
            client_id: None,
            ttl_seconds,
        })
        .expect("sign")
}

/// Sends the `viewer` query with a raw `Authorization` header value.
async fn viewer_with(app: &TestApp, authorization: &str) -> GqlResponse {
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("Authorization", authorization)
        .json(&json!({ "query": VIEWER }))
        .send()
        .await
        .expect("POST /graphql");
    integration_tests::into_response(response).await
}

async fn viewer(app: &TestApp, token: &str) -> Value {
    viewer_with(app, &format!("Bearer {token}")).await.data()["viewer"].clone()
}

fn assert_unauthenticated(response: &GqlResponse, case: &str) {
    assert_eq!(
        response.error_code(),
        Some("UNAUTHENTICATED"),
        "{case}: {}",
        response.body
    );
    assert!(
        response.body.get("data").is_none(),
        "{case}: data leaked: {}",
        response.body
    );
    assert_eq!(response.status, StatusCode::OK, "{case}");
}

async fn assert_token_rejected(app: &TestApp, token: &str, case: &str) {
    assert_unauthenticated(&viewer_with(app, &format!("Bearer {token}")).await, case);
}

fn decoded_header(token: &str) -> Header {
    jsonwebtoken::decode_header(token).expect("token header")
}

fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("payload part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

/// `GET /.well-known/jwks.json`: status, headers and JSON body.
async fn jwks(app: &TestApp) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let response = app
        .client
        .get(format!("{}/.well-known/jwks.json", app.address))
        .send()
        .await
        .expect("GET /.well-known/jwks.json");
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response.json().await.expect("JSON body");
    (status, headers, body)
}

// Positive cases.

#[tokio::test]
async fn hs256_development_tokens_carry_a_kid_and_are_accepted() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let token = minted(&app.settings, &["programmeAdmin"], OFFICE, 900);

    // Act
    let viewer = viewer(&app, &token).await;

    // Assert
    let header = decoded_header(&token);
    assert_eq!(header.alg, Algorithm::HS256);
    assert_eq!(header.kid.as_deref(), Some(TEST_KID));
    assert_eq!(viewer["authenticated"], json!(true));
    assert_eq!(viewer["roles"], json!(["programmeAdmin"]));
    assert_eq!(viewer["org"]["sourcedId"], json!(OFFICE));
}

#[tokio::test]
async fn with_hs256_only_the_jwks_is_empty_and_never_shows_the_secret() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let (status, _, body) = jwks(&app).await;

    // Assert
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "keys": [] }));
    assert!(!body.to_string().contains(TEST_SECRET));
    assert!(
        !body
            .to_string()
            .contains(&URL_SAFE_NO_PAD.encode(TEST_SECRET))
    );
}

#[tokio::test]
async fn eddsa_tokens_signed_by_the_service_key_are_accepted() {
    // Arrange
    let app = spawn_app_with(eddsa_settings).await;
    seed_world(&app.db).await;
    let token = minted(&app.settings, &["schoolCoordinator"], SCHOOL_A, 900);

    // Act
    let viewer = viewer(&app, &token).await;

    // Assert
    let header = decoded_header(&token);
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.kid.as_deref(), Some("ed-b"));
    assert_eq!(viewer["principal"], json!("test-user"));
    assert_eq!(viewer["roles"], json!(["schoolCoordinator"]));
    assert_eq!(viewer["org"]["sourcedId"], json!(SCHOOL_A));
}

#[tokio::test]
async fn rs256_tokens_signed_by_the_service_key_are_accepted() {
    // Arrange
    let app = spawn_app_with(rs256_settings).await;
    seed_world(&app.db).await;
    let token = minted(&app.settings, &["programmeStaff"], OFFICE, 900);
    let hand_made = sign(
        &header(Algorithm::RS256, Some("rs-a")),
        &claims(&["teacher"], SCHOOL_A),
        &rsa_key("rsa-a.pkcs1.pem"),
    );

    // Act
    let minted_viewer = viewer(&app, &token).await;
    let hand_made_viewer = viewer(&app, &hand_made).await;

    // Assert
    let header = decoded_header(&token);
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), Some("rs-a"));
    assert_eq!(minted_viewer["roles"], json!(["programmeStaff"]));
    assert_eq!(hand_made_viewer["roles"], json!(["teacher"]));
}

#[tokio::test]
async fn client_credentials_tokens_are_signed_with_the_configured_key_for_15_minutes() {
    // Arrange
    let app = spawn_app_with(eddsa_settings).await;
    seed_world(&app.db).await;
    let client = clients::create(&app.db, SCHOOL_A, "roster.read", None, "test")
        .await
        .expect("create client");

    // Act
    let response: Value = app
        .client
        .post(format!("{}/oauth/token", app.address))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client.client_id.as_str()),
            ("client_secret", client.client_secret.as_str()),
        ])
        .send()
        .await
        .expect("POST /oauth/token")
        .json()
        .await
        .expect("token response");
    let token = response["access_token"].as_str().expect("access_token");
    let viewer = viewer(&app, token).await;

    // Assert
    assert_eq!(response["expires_in"], json!(900));
    let header = decoded_header(token);
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.kid.as_deref(), Some("ed-b"));
    let claims = payload(token);
    assert_eq!(
        claims["exp"]
            .as_i64()
            .zip(claims["iat"].as_i64())
            .map(|(e, i)| e - i),
        Some(900)
    );
    assert_eq!(viewer["clientId"], json!(client.client_id));
}

#[tokio::test]
async fn a_token_signed_with_the_previous_key_stays_valid_while_the_new_key_signs() {
    // Arrange: yesterday the service signed with key A; now key B signs and A only verifies.
    let app = spawn_app_with(eddsa_settings).await;
    seed_world(&app.db).await;
    let mut before = app.settings.clone();
    before.auth.signing_key_file = Some(key("ed25519-a.pem"));
    before.auth.key_id = "ed-a".into();
    before.auth.verification_keys = Vec::new();
    let old_token = minted(&before, &["teacher"], SCHOOL_A, 900);
    let new_token = minted(&app.settings, &["mentor"], SCHOOL_A, 900);
    // The last step of the rotation: key A is no longer listed.
    let after = spawn_app_with(|settings| {
        eddsa_settings(settings);
        settings.auth.verification_keys.clear();
    })
    .await;

    // Act
    let old_viewer = viewer(&app, &old_token).await;
    let new_viewer = viewer(&app, &new_token).await;

    // Assert
    assert_eq!(decoded_header(&old_token).kid.as_deref(), Some("ed-a"));
    assert_eq!(old_viewer["roles"], json!(["teacher"]));
    assert_eq!(new_viewer["roles"], json!(["mentor"]));
    assert_token_rejected(&after, &old_token, "retired key").await;
}

#[tokio::test]
async fn the_jwks_publishes_every_public_key_with_kid_alg_and_use() {
    // Arrange
    let app = spawn_app_with(eddsa_settings).await;
    let rs256 = spawn_app_with(rs256_settings).await;

    // Act
    let (status, headers, body) = jwks(&app).await;
    let (_, _, rs256_body) = jwks(&rs256).await;

    // Assert
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"))
    );
    assert!(
        headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("max-age"))
    );
    let mut keys = body["keys"].as_array().expect("keys").clone();
    keys.sort_by_key(|k| k["kid"].as_str().map(str::to_owned));
    let mut rsa = key_json("rsa-a.jwk.json");
    rsa["kid"] = json!("rs-a");
    assert_eq!(
        keys,
        vec![
            key_json("ed25519-a.jwk.json"),
            key_json("ed25519-b.jwk.json"),
            rsa.clone(),
        ]
    );
    assert_eq!(rs256_body, json!({ "keys": [rsa] }));
    for private_member in ["d", "p", "q", "dp", "dq", "qi", "k"] {
        assert!(
            keys.iter().all(|k| k.get(private_member).is_none()),
            "{private_member} published"
        );
    }
}

// Negative cases: the service's own keys.

#[tokio::test]
async fn an_unsigned_alg_none_token_is_unauthenticated() {
    // Arrange
    let app = spawn_app_with(eddsa_settings).await;
    seed_world(&app.db).await;
    let payload = b64_json(&claims(&["programmeAdmin"], OFFICE));

    // Act / Assert
    for alg in ["none", "None", "NONE"] {
        let header = b64_json(&json!({ "alg": alg, "typ": "JWT", "kid": "ed-b" }));
        assert_token_rejected(&app, &format!("{header}.{payload}."), alg).await;
        assert_token_rejected(&app, &format!("{header}.{payload}"), alg).await;
    }
}

#[tokio::test]
async fn an_hs256_token_signed_with_the_rsa_public_key_as_secret_is_unauthenticated() {
    // Arrange
    let app = spawn_app_with(rs256_settings).await;
    seed_world(&app.db).await;
    let pem = key_bytes("rsa-a.pub.pem");
    let der_base64: String = String::from_utf8(pem.clone())
        .expect("PEM text")
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = STANDARD.decode(der_base64).expect("DER");
    let n = URL_SAFE_NO_PAD
        .decode(key_json("rsa-a.jwk.json")["n"].as_str().expect("n"))
        .expect("n bytes");
    let claims = claims(&["programmeAdmin"], OFFICE);

    // Act / Assert
    for (what, secret) in [("PEM", pem), ("DER", der), ("modulus", n)] {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let token = sign(
                &header(alg, Some("rs-a")),
                &claims,
                &EncodingKey::from_secret(&secret),
            );
            assert_token_rejected(&app, &token, &format!("{alg:?} with the {what}")).await;
        }
    }
}

#[tokio::test]
async fn with_asymmetric_signing_the_development_secret_signs_nothing() {
    // Arrange
    let app = spawn_app_with(eddsa_settings).await;
    seed_world(&app.db).await;
    let claims = claims(&["programmeAdmin"], OFFICE);

    // Act / Assert
    for kid in [TEST_KID, "ed-b"] {
        let token = sign(
            &header(Algorithm::HS256, Some(kid)),
            &claims,
            &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
        );
        assert_token_rejected(&app, &token, kid).await;
    }
}

#[tokio::test]
async fn a_token_whose_alg_is_not_the_one_pinned_to_its_kid_is_unauthenticated() {
    // Arrange
    let app = spawn_app_with(eddsa_settings).await;
    seed_world(&app.db).await;
    let claims = claims(&["teacher"], SCHOOL_A);
    let cases = [
        // A valid RS256 signature, presented under an EdDSA key's kid.
        (
            "RS256 under ed-a",
            sign(
                &header(Algorithm::RS256, Some("ed-a")),
                &claims,
                &rsa_key("rsa-a.pem"),
            ),
        ),
        // The right RSA key, but PSS instead of the pinned PKCS#1 v1.5.
        (
            "PS256 under rs-a",
            sign(
                &header(Algorithm::PS256, Some("rs-a")),
                &claims,
                &rsa_key("rsa-a.pem"),
            ),
        ),
        // An EdDSA signature by key A, presented under key B's kid.
        (
            "key A under ed-b",
            sign(
                &header(Algorithm::EdDSA, Some("ed-b")),
                &claims,
                &ed_key("ed25519-a.pem"),
            ),
        ),
    ];

    // Act / Assert
    for (case, token) in cases {
        assert_token_rejected(&app, &token, case).await;
    }
}

#[tokio::test]
async fn an_expired_token_is_unauthenticated() {
    // Arrange
    let app = spawn_app_with(eddsa_settings).await;
    seed_world(&app.db).await;
    let now = Utc::now().timestamp();
    let mut expired = claims(&["teacher"], SCHOOL_A);
    expired["iat"] = json!(now - 1000);
    expired["nbf"] = json!(now - 1000);
    expired["exp"] = json!(now - 120);

    // Act / Assert
    assert_token_rejected(&app, &ed_b(&expired), "expired").await;
}

#[tokio::test]
async fn a_token_not_yet_valid_beyond_the_leeway_is_unauthenticated() {
    // Arrange
    let app = spawn_app_with(eddsa_settings).await;
    seed_world(&app.db).await;
    let now = Utc::now().timestamp();
    let mut early = claims(&["teacher"], SCHOOL_A);
    early["nbf"] = json!(now + 300);
    early["exp"] = json!(now + 900);
    let mut within_leeway = claims(&["teacher"], SCHOOL_A);
    within_leeway["nbf"] = json!(now + 5);

    // Act
    let accepted = viewer(&app, &ed_b(&within_leeway)).await;

    // Assert
    assert_eq!(accepted["authenticated"], json!(true));
    assert_token_rejected(&app, &ed_b(&early), "nbf in the future").await;
}

#[tokio::test]
async fn a_token_for_another_issuer_or_audience_is_unauthenticated() {
    // Arrange
    let app = spawn_app_with(eddsa_settings).await;
    seed_world(&app.db).await;
    let mut issuer = claims(&["teacher"], SCHOOL_A);
    issuer["iss"] = json!("someone-else");
    let mut audience = claims(&["teacher"], SCHOOL_A);
    audience["aud"] = json!("another-api");
    let mut audiences = claims(&["teacher"], SCHOOL_A);
    audiences["aud"] = json!(["another-api", "yet-another"]);

    // Act / Assert
    assert_token_rejected(&app, &ed_b(&issuer), "wrong issuer").await;
    assert_token_rejected(&app, &ed_b(&audience), "wrong audience").await;
    assert_token_rejected(&app, &ed_b(&audiences), "wrong audiences").await;
}

#[tokio::test]
async fn a_token_with_an_unknown_or_missing_kid_is_unauthenticated() {
    // Arrange
    let app = spawn_app_with(eddsa_settings).await;
    seed_world(&app.db).await;
    let claims = claims(&["teacher"], SCHOOL_A);
    let key = ed_key("ed25519-b.pem");

    // Act / Assert
    for kid in [Some("ed-c"), Some(""), Some("ED-B"), None] {
        let token = sign(&header(Algorithm::EdDSA, kid), &claims, &key);
        assert_token_rejected(&app, &token, &format!("kid {kid:?}")).await;
    }
}

#[tokio::test]
async fn a_token_whose_payload_was_changed_after_signing_is_unauthenticated() {
    // Arrange
    let app = spawn_app_with(eddsa_settings).await;
    seed_world(&app.db).await;
    let token = ed_b(&claims(&["teacher"], SCHOOL_A));
    let parts: Vec<&str> = token.split('.').collect();
    let forged = b64_json(&claims(&["programmeAdmin"], OFFICE));
    let tampered = format!("{}.{forged}.{}", parts[0], parts[2]);
    let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).expect("signature");
    signature[0] ^= 1;
    let flipped = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        URL_SAFE_NO_PAD.encode(signature)
    );

    // Act / Assert
    assert_eq!(viewer(&app, &token).await["authenticated"], json!(true));
    assert_token_rejected(&app, &tampered, "changed payload").await;
    assert_token_rejected(&app, &flipped, "changed signature").await;
}

#[tokio::test]
async fn a_token_missing_any_required_claim_is_unauthenticated() {
    // Arrange
    let app = spawn_app_with(eddsa_settings).await;
    seed_world(&app.db).await;

    // Act / Assert
    for claim in ["exp", "nbf", "iat", "iss", "aud", "sub", "org", "roles"] {
        let mut partial = claims(&["teacher"], SCHOOL_A);
        partial
            .as_object_mut()
            .expect("claims object")
            .remove(claim);
        assert_token_rejected(&app, &ed_b(&partial), &format!("without {claim}")).await;
    }
}

#[tokio::test]
async fn malformed_tokens_and_wrong_schemes_are_unauthenticated() {
    // Arrange
    let app = spawn_app_with(eddsa_settings).await;
    seed_world(&app.db).await;
    let valid = ed_b(&claims(&["teacher"], SCHOOL_A));
    let parts: Vec<&str> = valid.split('.').collect();
    let malformed = [
        "x".to_owned(),
        "a.b".to_owned(),
        "a.b.c".to_owned(),
        "..".to_owned(),
        format!("{valid}.extra"),
        format!("{}.{}", parts[0], parts[1]),
        format!("{}.!!!.{}", parts[0], parts[2]),
        format!(
            "{}.{}.{}",
            b64_json(&json!("not an object")),
            parts[1],
            parts[2]
        ),
        format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode("not json"),
            parts[2]
        ),
    ];
    let schemes = [
        format!("Basic {valid}"),
        format!("Token {valid}"),
        format!("Bearer{valid}"),
        valid.clone(),
        "Bearer".to_owned(),
        "Bearer    ".to_owned(),
    ];

    // Act / Assert
    for token in &malformed {
        assert_token_rejected(&app, token, &format!("malformed {token:?}")).await;
    }
    for authorization in &schemes {
        assert_unauthenticated(
            &viewer_with(&app, authorization).await,
            &format!("scheme {authorization:?}"),
        );
    }
}

// The external issuer.

/// Links `person` (a sourcedId) to the identity provider's `subject`.
async fn add_account(app: &TestApp, person: &str, subject: &str) {
    let person_id = entity::person::Entity::find()
        .filter(entity::person::Column::SourcedId.eq(person))
        .one(&app.db)
        .await
        .expect("find person")
        .expect("person exists")
        .id;
    let now = Utc::now();
    entity::account::ActiveModel {
        sourced_id: Set(format!("acct-{subject}")),
        status: Set(entity::STATUS_ACTIVE.to_owned()),
        date_created: Set(now),
        date_last_modified: Set(now),
        version: Set(1),
        metadata: Set(None),
        created_by: Set(Some("test".into())),
        modified_by: Set(Some("test".into())),
        person_id: Set(person_id),
        oidc_issuer: Set(IDP_ISSUER.into()),
        oidc_subject: Set(subject.into()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("insert account");
}

/// Gives `person` an extra role assignment.
async fn add_role(
    app: &TestApp,
    world: &World,
    person_id: i64,
    org_id: i64,
    role: &str,
    role_type: &str,
    end: Option<chrono::NaiveDate>,
) {
    let now = world.base_time;
    let today = Utc::now().date_naive();
    entity::role_assignment::ActiveModel {
        sourced_id: Set(format!("ra-test-{person_id}-{org_id}-{role}")),
        status: Set(entity::STATUS_ACTIVE.to_owned()),
        date_created: Set(now),
        date_last_modified: Set(now),
        version: Set(1),
        metadata: Set(None),
        created_by: Set(Some("test".into())),
        modified_by: Set(Some("test".into())),
        person_id: Set(person_id),
        org_id: Set(org_id),
        role: Set(role.into()),
        role_type: Set(role_type.into()),
        begin_date: Set(today - Duration::days(400)),
        end_date: Set(end),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("insert role assignment");
}

/// Claims of a token from the identity provider for `subject`.
fn idp_claims(subject: &str) -> Value {
    let now = Utc::now().timestamp();
    json!({
        "iss": IDP_ISSUER,
        "aud": IDP_AUDIENCE,
        "sub": subject,
        "exp": now + 300,
        "iat": now,
        "email": "olivia@example.test",
    })
}

fn idp_ed(claims: &Value) -> String {
    sign(
        &header(Algorithm::EdDSA, Some("idp-ed-1")),
        claims,
        &ed_key("idp-ed25519.pem"),
    )
}

#[tokio::test]
async fn an_external_token_maps_to_the_account_holder_and_their_primary_organisation() {
    // Arrange
    let app = spawn_app_with(external_settings).await;
    let world = seed_world(&app.db).await;
    add_account(&app, &world.staff.sourced_id, "idp-olivia").await;
    let ed = idp_ed(&idp_claims("idp-olivia"));
    let rs = sign(
        &header(Algorithm::RS256, Some("idp-rs-1")),
        &idp_claims("idp-olivia"),
        &rsa_key("idp-rsa.pem"),
    );

    // Act
    let by_ed = viewer(&app, &ed).await;
    let by_rs = viewer(&app, &rs).await;

    // Assert
    for viewer in [by_ed, by_rs] {
        assert_eq!(viewer["authenticated"], json!(true));
        assert_eq!(viewer["principal"], json!(world.staff.sourced_id));
        assert_eq!(viewer["roles"], json!(["programmeStaff"]));
        assert_eq!(viewer["org"]["sourcedId"], json!(OFFICE));
        assert_eq!(viewer["clientId"], Value::Null);
    }
}

#[tokio::test]
async fn the_services_own_tokens_still_work_next_to_an_external_issuer() {
    // Arrange
    let app = spawn_app_with(external_settings).await;
    seed_world(&app.db).await;

    // Act
    let viewer = viewer(&app, &app.admin_token()).await;

    // Assert
    assert_eq!(viewer["roles"], json!(["programmeAdmin"]));
}

#[tokio::test]
async fn an_external_token_with_an_org_claim_acts_where_the_person_holds_an_active_role() {
    // Arrange
    let app = spawn_app_with(external_settings).await;
    let world = seed_world(&app.db).await;
    add_account(&app, &world.staff.sourced_id, "idp-olivia").await;
    let yesterday = Utc::now().date_naive() - Duration::days(1);
    add_role(
        &app,
        &world,
        world.staff.id,
        world.unit.id,
        "academicLead",
        "secondary",
        None,
    )
    .await;
    add_role(
        &app,
        &world,
        world.staff.id,
        world.unit.id,
        "evaluator",
        "secondary",
        None,
    )
    .await;
    add_role(
        &app,
        &world,
        world.staff.id,
        world.university.id,
        "academicLead",
        "secondary",
        Some(yesterday),
    )
    .await;
    let at = |org: &str| {
        let mut claims = idp_claims("idp-olivia");
        claims["org"] = json!(org);
        idp_ed(&claims)
    };

    // Act
    let at_unit = viewer(&app, &at(UNIT)).await;

    // Assert
    assert_eq!(at_unit["principal"], json!(world.staff.sourced_id));
    assert_eq!(at_unit["roles"], json!(["academicLead", "evaluator"]));
    assert_eq!(at_unit["org"]["sourcedId"], json!(UNIT));
    assert_token_rejected(&app, &at(UNIVERSITY), "role ended yesterday").await;
    assert_token_rejected(&app, &at(SCHOOL_A), "no role there").await;
    assert_token_rejected(&app, &at("org-nowhere"), "unknown org").await;
}

#[tokio::test]
async fn with_several_primary_roles_the_lowest_org_id_is_the_acting_organisation() {
    // Arrange
    let app = spawn_app_with(external_settings).await;
    let world = seed_world(&app.db).await;
    add_account(&app, &world.staff.sourced_id, "idp-olivia").await;
    let school_b = world.school_b().clone();
    add_role(
        &app,
        &world,
        world.staff.id,
        school_b.id,
        "teacher",
        "primary",
        None,
    )
    .await;
    let (expected_org, expected_role) = if school_b.id < world.office.id {
        (school_b.sourced_id.clone(), "teacher")
    } else {
        (world.office.sourced_id.clone(), "programmeStaff")
    };

    // Act
    let viewer = viewer(&app, &idp_ed(&idp_claims("idp-olivia"))).await;

    // Assert
    assert_eq!(viewer["org"]["sourcedId"], json!(expected_org));
    assert_eq!(viewer["roles"], json!([expected_role]));
}

#[tokio::test]
async fn an_external_token_for_a_person_without_an_active_primary_role_is_unauthenticated() {
    // Arrange
    let app = spawn_app_with(external_settings).await;
    let world = seed_world(&app.db).await;
    add_account(&app, &world.staff.sourced_id, "idp-olivia").await;
    let yesterday = Utc::now().date_naive() - Duration::days(1);
    entity::role_assignment::Entity::update_many()
        .col_expr(
            entity::role_assignment::Column::EndDate,
            sea_orm::sea_query::Expr::value(yesterday),
        )
        .filter(entity::role_assignment::Column::PersonId.eq(world.staff.id))
        .exec(&app.db)
        .await
        .expect("end the roles");

    // Act / Assert
    assert_token_rejected(&app, &idp_ed(&idp_claims("idp-olivia")), "roles ended").await;
}

#[tokio::test]
async fn an_external_token_for_an_unknown_account_is_unauthenticated() {
    // Arrange
    let app = spawn_app_with(external_settings).await;
    let world = seed_world(&app.db).await;
    add_account(&app, &world.staff.sourced_id, "idp-olivia").await;

    // Act / Assert
    assert_token_rejected(&app, &idp_ed(&idp_claims("idp-nobody")), "unknown subject").await;
    // The subject of the service's own token is not an account of the external issuer either.
    assert_token_rejected(
        &app,
        &idp_ed(&idp_claims(&world.staff.sourced_id)),
        "sourcedId as sub",
    )
    .await;
}

#[tokio::test]
async fn an_external_token_signed_by_a_key_outside_its_jwks_is_unauthenticated() {
    // Arrange
    let app = spawn_app_with(external_settings).await;
    let world = seed_world(&app.db).await;
    add_account(&app, &world.staff.sourced_id, "idp-olivia").await;
    let claims = idp_claims("idp-olivia");
    let idp_rsa_n = URL_SAFE_NO_PAD
        .decode(
            key_json("idp-jwks.json")["keys"][1]["n"]
                .as_str()
                .expect("n"),
        )
        .expect("n bytes");
    let cases = [
        (
            "another Ed25519 key under the IdP kid",
            sign(
                &header(Algorithm::EdDSA, Some("idp-ed-1")),
                &claims,
                &ed_key("ed25519-b.pem"),
            ),
        ),
        (
            "unknown kid",
            sign(
                &header(Algorithm::EdDSA, Some("idp-ed-9")),
                &claims,
                &ed_key("idp-ed25519.pem"),
            ),
        ),
        (
            "no kid",
            sign(
                &header(Algorithm::EdDSA, None),
                &claims,
                &ed_key("idp-ed25519.pem"),
            ),
        ),
        (
            "the service's own HS256 secret",
            sign(
                &header(Algorithm::HS256, Some(TEST_KID)),
                &claims,
                &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
            ),
        ),
        (
            "RS256 under the EdDSA kid",
            sign(
                &header(Algorithm::RS256, Some("idp-ed-1")),
                &claims,
                &rsa_key("idp-rsa.pem"),
            ),
        ),
        (
            "HS256 with the IdP's RSA modulus as secret",
            sign(
                &header(Algorithm::HS256, Some("idp-rs-1")),
                &claims,
                &EncodingKey::from_secret(&idp_rsa_n),
            ),
        ),
    ];

    // Act / Assert
    for (case, token) in cases {
        assert_token_rejected(&app, &token, case).await;
    }
}

#[tokio::test]
async fn an_external_token_with_bad_claims_is_unauthenticated() {
    // Arrange
    let app = spawn_app_with(external_settings).await;
    let world = seed_world(&app.db).await;
    add_account(&app, &world.staff.sourced_id, "idp-olivia").await;
    let now = Utc::now().timestamp();
    let with = |name: &str, value: Value| {
        let mut claims = idp_claims("idp-olivia");
        claims[name] = value;
        idp_ed(&claims)
    };
    let without = |name: &str| {
        let mut claims = idp_claims("idp-olivia");
        claims.as_object_mut().expect("claims object").remove(name);
        idp_ed(&claims)
    };
    let cases = [
        ("expired", with("exp", json!(now - 120))),
        ("not yet valid", with("nbf", json!(now + 300))),
        (
            "audience of the service's own tokens",
            with("aud", json!(TEST_ISSUER)),
        ),
        ("another audience", with("aud", json!("another-app"))),
        ("without exp", without("exp")),
        ("without iss", without("iss")),
        ("without aud", without("aud")),
        ("without sub", without("sub")),
    ];

    // Act / Assert
    for (case, token) in cases {
        assert_token_rejected(&app, &token, case).await;
    }
}
