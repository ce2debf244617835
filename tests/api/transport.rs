//! HTTP transport (API.md section 1): request ids, GET and POST, content negotiation, GraphiQL,
//! health, readiness, metrics and cost reporting.

use integration_tests::fixtures::seed_world;
use integration_tests::{into_response, spawn_app};
use reqwest::StatusCode;
use serde_json::json;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

#[tokio::test]
async fn a_request_id_is_generated_when_the_client_sends_none() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app
        .gql("{ viewer { authenticated } }", json!({}), None)
        .await;

    // Assert
    let id = response
        .header("x-request-id")
        .expect("X-Request-Id header");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "not a UUID: {id}");
    assert_eq!(response.data()["viewer"]["authenticated"], json!(false));
}

#[tokio::test]
async fn two_requests_without_an_id_get_different_request_ids() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let first = app
        .gql("{ viewer { authenticated } }", json!({}), None)
        .await;
    let second = app
        .gql("{ viewer { authenticated } }", json!({}), None)
        .await;

    // Assert
    assert_ne!(first.header("x-request-id"), second.header("x-request-id"));
}

#[tokio::test]
async fn a_client_request_id_is_echoed_in_the_header_and_in_every_error() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = into_response(
        app.client
            .post(format!("{}/graphql", app.address))
            .header("X-Request-Id", "client-req-42")
            .json(&json!({ "query": "{ students { totalCount } }" }))
            .send()
            .await
            .expect("request"),
    )
    .await;

    // Assert
    assert_eq!(response.header("x-request-id"), Some("client-req-42"));
    assert_eq!(response.error_code(), Some("UNAUTHENTICATED"));
    let errors = response.errors();
    assert!(!errors.is_empty());
    for error in errors {
        assert_eq!(error["extensions"]["requestId"], json!("client-req-42"));
    }
}

#[tokio::test]
async fn an_unsafe_or_overlong_client_request_id_is_replaced() {
    // Arrange
    let app = spawn_app().await;

    for sent in [
        "two words",
        "line\tbreak",
        "x".repeat(129).as_str(),
        "<script>",
    ] {
        // Act
        let response = app
            .client
            .get(format!("{}/healthz", app.address))
            .header("X-Request-Id", sent)
            .send()
            .await
            .expect("GET /healthz");

        // Assert
        let id = response.headers()["x-request-id"]
            .to_str()
            .expect("text")
            .to_owned();
        assert_ne!(id, sent);
        assert!(
            uuid::Uuid::parse_str(&id).is_ok(),
            "not a generated id: {id}"
        );
    }
}

#[tokio::test]
async fn a_request_id_carries_into_errors_when_the_server_generates_it() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app
        .gql("{ pathways(first: 101) { totalCount } }", json!({}), None)
        .await;

    // Assert
    let id = response
        .header("x-request-id")
        .expect("X-Request-Id header")
        .to_owned();
    assert_eq!(response.error_code(), Some("BAD_USER_INPUT"));
    assert_eq!(
        response.body["errors"][0]["extensions"]["requestId"],
        json!(id)
    );
}

#[tokio::test]
async fn get_with_a_query_string_runs_the_query() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;

    // Act
    let response = into_response(
        app.client
            .get(format!("{}/graphql", app.address))
            .query(&[
                (
                    "query",
                    "query Q($code: String!) { pathway(code: $code) { sourcedId title } }",
                ),
                ("variables", r#"{"code":"CLAPTECH-ICT"}"#),
                ("operationName", "Q"),
            ])
            .send()
            .await
            .expect("GET /graphql"),
    )
    .await;

    // Assert
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        response.data()["pathway"],
        json!({ "sourcedId": "pw-ict", "title": "ICT Pathway" })
    );
}

#[tokio::test]
async fn get_with_a_mutation_document_is_method_not_allowed() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", "mutation { doSomething }")])
        .send()
        .await
        .expect("GET /graphql");

    // Assert
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let response = into_response(response).await;
    assert_eq!(response.error_code(), Some("BAD_USER_INPUT"));
}

#[tokio::test]
async fn get_without_a_query_is_a_bad_request() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = into_response(
        app.client
            .get(format!("{}/graphql", app.address))
            .send()
            .await
            .expect("GET /graphql"),
    )
    .await;

    // Assert
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.error_code(), Some("BAD_USER_INPUT"));
}

#[tokio::test]

async fn get_without_a_query_names_the_missing_field() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = into_response(
        app.client
            .get(format!("{}/graphql", app.address))
            .send()
            .await
            .expect("GET /graphql"),
    )
    .await;

    // Assert
    assert_eq!(response.error_code(), Some("BAD_USER_INPUT"));
    assert_eq!(response.error_field(), Some("query"), "{}", response.body);
}

#[tokio::test]
async fn a_browser_gets_the_graphiql_page() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app
        .client
        .get(format!("{}/graphql", app.address))
        .header("Accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .expect("GET /graphql");

    // Assert
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("text")
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let page = response.text().await.expect("body");
    assert!(page.contains("graphiql"), "not the GraphiQL page: {page}");
    assert!(page.contains("Pathway Partner API"));
}

#[tokio::test]
async fn accepting_graphql_response_json_gets_that_content_type() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = into_response(
        app.client
            .post(format!("{}/graphql", app.address))
            .header("Accept", GRAPHQL_RESPONSE_JSON)
            .json(&json!({ "query": "{ viewer { authenticated } }" }))
            .send()
            .await
            .expect("POST /graphql"),
    )
    .await;

    // Assert
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("content-type"), Some(GRAPHQL_RESPONSE_JSON));
    assert_eq!(response.data()["viewer"]["authenticated"], json!(false));
}

#[tokio::test]
async fn a_validation_error_with_graphql_response_json_is_http_400_without_data() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = into_response(
        app.client
            .post(format!("{}/graphql", app.address))
            .header("Accept", GRAPHQL_RESPONSE_JSON)
            .json(&json!({ "query": "{ noSuchField }" }))
            .send()
            .await
            .expect("POST /graphql"),
    )
    .await;

    // Assert
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.header("content-type"), Some(GRAPHQL_RESPONSE_JSON));
    assert!(response.body.get("data").is_none(), "{}", response.body);
    assert_eq!(response.error_code(), Some("BAD_USER_INPUT"));
}

#[tokio::test]
async fn a_validation_error_with_plain_json_is_http_200_without_data() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app.gql("{ noSuchField }", json!({}), None).await;

    // Assert
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert!(response.body.get("data").is_none(), "{}", response.body);
    assert_eq!(response.error_code(), Some("BAD_USER_INPUT"));
}

#[tokio::test]

async fn an_execution_error_keeps_the_data_entry_and_a_2xx_status() {
    // Arrange: `students` is non-null, so its error nulls `data`, but the request was executed.
    let app = spawn_app().await;

    // Act
    let response = into_response(
        app.client
            .post(format!("{}/graphql", app.address))
            .header("Accept", GRAPHQL_RESPONSE_JSON)
            .json(&json!({ "query": "{ students { totalCount } }" }))
            .send()
            .await
            .expect("POST /graphql"),
    )
    .await;

    // Assert
    assert_eq!(response.error_code(), Some("UNAUTHENTICATED"));
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(
        response.body.get("data"),
        Some(&serde_json::Value::Null),
        "{}",
        response.body
    );
}

#[tokio::test]

async fn a_nullable_field_that_errors_is_null_in_data() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let person = integration_tests::global_id("Person", "stu-a-01");

    // Act
    let response = app
        .gql(
            "query($id: ID!) { pathways { totalCount } node(id: $id) { id } }",
            json!({ "id": person }),
            None,
        )
        .await;

    // Assert
    assert_eq!(response.error_code(), Some("UNAUTHENTICATED"));
    assert_eq!(
        response.body["data"],
        json!({ "pathways": { "totalCount": 1 }, "node": null }),
        "{}",
        response.body
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_is_unsupported_media_type() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = into_response(
        app.client
            .post(format!("{}/graphql", app.address))
            .header("Accept", GRAPHQL_RESPONSE_JSON)
            .header("Content-Type", "text/plain")
            .body("{ viewer { authenticated } }")
            .send()
            .await
            .expect("POST /graphql"),
    )
    .await;

    // Assert
    assert_eq!(response.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(response.header("content-type"), Some(GRAPHQL_RESPONSE_JSON));
    assert_eq!(response.error_code(), Some("BAD_USER_INPUT"));
    assert!(response.body.get("data").is_none());
}

#[tokio::test]
async fn a_json_body_without_a_query_is_a_bad_request() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = into_response(
        app.client
            .post(format!("{}/graphql", app.address))
            .header("Content-Type", "application/json")
            .body("[1, 2, 3]")
            .send()
            .await
            .expect("POST /graphql"),
    )
    .await;

    // Assert
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.error_code(), Some("BAD_USER_INPUT"));
    assert!(response.body.get("data").is_none());
}

#[tokio::test]
async fn healthz_answers_ok() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .expect("GET /healthz");

    // Assert
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn readyz_answers_ready_when_migrations_are_current() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .expect("GET /readyz");

    // Assert
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.expect("body"), "ready");
}

#[tokio::test]
async fn metrics_count_requests_errors_and_statements() {
    // Arrange
    let app = spawn_app().await;
    app.client
        .post(format!("{}/graphql", app.address))
        .json(&json!({
            "query": "query Catalogue { pathways { totalCount } }",
            "operationName": "Catalogue",
        }))
        .send()
        .await
        .expect("POST /graphql");
    app.gql("{ students { totalCount } }", json!({}), None)
        .await;

    // Act
    let response = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .expect("GET /metrics");

    // Assert
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("body");
    assert!(
        text.contains("graphql_requests_total{operation=\"Catalogue\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("graphql_errors_total{code=\"UNAUTHENTICATED\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE db_statements_total counter"),
        "{text}"
    );
    let statements: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("db_statements_total "))
        .expect("db_statements_total")
        .parse()
        .expect("number");
    assert!(
        statements > 0,
        "migrations and the catalogue query ran statements"
    );
}

#[tokio::test]

async fn metrics_label_requests_with_the_operation_name_of_the_document() {
    // Arrange
    let app = spawn_app().await;
    app.gql(
        "query Catalogue { pathways { totalCount } }",
        json!({}),
        None,
    )
    .await;

    // Act
    let text = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("body");

    // Assert
    assert!(
        text.contains("graphql_requests_total{operation=\"Catalogue\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn every_response_reports_the_requested_and_actual_cost() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;

    // Act
    let response = app
        .gql(
            "{ pathways(first: 10) { edges { node { code } } } }",
            json!({}),
            None,
        )
        .await;

    // Assert
    response.data();
    let cost = &response.body["extensions"]["cost"];
    // 10 × (edges + node + code) + the connection itself.
    assert_eq!(cost["requested"], json!(31), "{cost}");
    // One pathway returned + the connection.
    assert_eq!(cost["actual"], json!(2), "{cost}");
}
