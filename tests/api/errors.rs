//! Errors (API.md sections 3, 5 and 8): bad arguments are `BAD_USER_INPUT` naming the field,
//! limits are `QUERY_TOO_COMPLEX` with cost and limit, and no message carries database text.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use integration_tests::fixtures::seed_world;
use integration_tests::{GqlResponse, TestApp, cursors, global_id, spawn_app};
use serde_json::{Value, json};

fn assert_bad_input(response: &GqlResponse, field: &str) {
    assert_eq!(
        response.error_code(),
        Some("BAD_USER_INPUT"),
        "{}",
        response.body
    );
    assert_eq!(response.error_field(), Some(field), "{}", response.body);
}

fn assert_too_complex(response: &GqlResponse, limit: u64) {
    assert_eq!(
        response.error_code(),
        Some("QUERY_TOO_COMPLEX"),
        "{}",
        response.body
    );
    let extensions = &response.body["errors"][0]["extensions"];
    assert_eq!(extensions["limit"], json!(limit), "{}", response.body);
    let cost = extensions["cost"].as_u64().expect("extensions.cost");
    assert!(cost > limit, "cost {cost} should exceed the limit {limit}");
    assert!(
        response.body.get("data").is_none(),
        "executed anyway: {}",
        response.body
    );
}

async fn people(app: &TestApp, args: &str) -> GqlResponse {
    app.gql_admin(
        &format!("{{ people({args}) {{ edges {{ cursor node {{ sourcedId }} }} }} }}"),
        json!({}),
    )
    .await
}

#[tokio::test]
async fn first_above_one_hundred_is_bad_user_input() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;

    // Act
    let response = people(&app, "first: 101").await;

    // Assert
    assert_bad_input(&response, "first");
}

#[tokio::test]
async fn first_and_last_of_exactly_one_hundred_are_accepted() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;

    // Act
    let first = people(&app, "first: 100").await;
    let last = people(&app, "last: 100").await;

    // Assert
    assert_eq!(
        first.data()["people"]["edges"].as_array().map(Vec::len),
        Some(21)
    );
    assert_eq!(
        last.data()["people"]["edges"].as_array().map(Vec::len),
        Some(21)
    );
}

#[tokio::test]
async fn negative_first_or_last_is_bad_user_input() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;

    // Act
    let first = people(&app, "first: -1").await;
    let last = people(&app, "last: -5").await;

    // Assert
    assert_bad_input(&first, "first");
    assert_bad_input(&last, "last");
}

#[tokio::test]
async fn last_above_one_hundred_is_bad_user_input() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app
        .gql("{ pathways(last: 500) { totalCount } }", json!({}), None)
        .await;

    // Assert
    assert_bad_input(&response, "last");
}

#[tokio::test]
async fn first_and_last_together_are_bad_user_input() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;

    // Act
    let response = people(&app, "first: 2, last: 2").await;

    // Assert
    assert_bad_input(&response, "last");
}

#[tokio::test]
async fn a_nested_page_size_above_one_hundred_is_bad_user_input() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;

    // Act
    let response = app
        .gql_admin(
            "{ schools(first: 1) { edges { node { students(first: 101) { totalCount } } } } }",
            json!({}),
        )
        .await;

    // Assert
    assert_bad_input(&response, "first");
}

#[tokio::test]
async fn a_malformed_cursor_is_bad_user_input() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;

    for (argument, cursor) in [
        ("after", "not-a-cursor".to_owned()),
        ("after", "!!!".to_owned()),
        ("before", URL_SAFE_NO_PAD.encode("{\"o\":\"id:asc\"}")),
        ("after", URL_SAFE_NO_PAD.encode("[1,2,3]")),
        ("after", String::new()),
    ] {
        // Act
        let response = people(&app, &format!("first: 2, {argument}: \"{cursor}\"")).await;

        // Assert
        assert_bad_input(&response, argument);
    }
}

#[tokio::test]
async fn a_cursor_with_the_wrong_number_of_keys_is_bad_user_input() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let forged = URL_SAFE_NO_PAD.encode(r#"{"o":"id:asc","k":[{"I":1},{"I":2}]}"#);

    // Act
    let response = people(&app, &format!("first: 2, after: \"{forged}\"")).await;

    // Assert
    assert_bad_input(&response, "after");
}

#[tokio::test]

async fn a_cursor_whose_key_has_the_wrong_type_is_bad_user_input() {
    // Arrange: the right ordering signature but a text id.
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let forged = URL_SAFE_NO_PAD.encode(r#"{"o":"id:asc","k":[{"S":"abc"}]}"#);

    // Act
    let response = people(&app, &format!("first: 2, after: \"{forged}\"")).await;

    // Assert
    assert_bad_input(&response, "after");
}

#[tokio::test]
async fn a_cursor_from_another_order_is_bad_user_input() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let page = people(&app, "first: 2").await;
    let cursor = cursors(&page.data()["people"])[1].clone();

    // Act
    let reordered = people(
        &app,
        &format!("first: 2, after: \"{cursor}\", orderBy: [{{ field: FAMILY_NAME }}]"),
    )
    .await;
    let reversed = people(
        &app,
        &format!(
            "first: 2, after: \"{cursor}\", orderBy: [{{ field: SOURCED_ID, direction: DESC }}]"
        ),
    )
    .await;

    // Assert
    assert_bad_input(&reordered, "after");
    assert_bad_input(&reversed, "after");
}

#[tokio::test]
async fn more_than_three_order_keys_are_bad_user_input() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;

    // Act
    let response = people(
        &app,
        "orderBy: [{ field: FAMILY_NAME }, { field: GIVEN_NAME }, { field: SOURCED_ID }, { field: DATE_CREATED }]",
    )
    .await;

    // Assert
    assert_bad_input(&response, "orderBy");
}

#[tokio::test]
async fn nodes_with_more_than_one_hundred_ids_is_bad_user_input() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let ids: Vec<String> = (0..101)
        .map(|n| global_id("Person", &format!("p-{n}")))
        .collect();

    // Act
    let response = app
        .gql_admin(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": ids }),
        )
        .await;

    // Assert
    assert_bad_input(&response, "ids");
}

#[tokio::test]
async fn nodes_with_exactly_one_hundred_ids_is_accepted() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let ids: Vec<String> = (0..100)
        .map(|n| global_id("Person", &format!("p-{n}")))
        .collect();

    // Act
    let response = app
        .gql_admin(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": ids }),
        )
        .await;

    // Assert
    assert_eq!(response.data()["nodes"], json!(vec![Value::Null; 100]));
}

#[tokio::test]
async fn an_in_list_above_one_thousand_values_is_bad_user_input() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let names: Vec<String> = (0..1001).map(|n| format!("name-{n}")).collect();
    let years: Vec<i32> = (0..1001).collect();
    let orgs: Vec<String> = (0..1001).map(|n| format!("org-{n}")).collect();

    for (query, variables) in [
        (
            "query($v: [String!]) { people(filter: { familyName: { in: $v } }) { totalCount } }",
            json!({ "v": names }),
        ),
        (
            "query($v: [Int!]) { people(filter: { expectedHkdseYear: { in: $v } }) { totalCount } }",
            json!({ "v": years }),
        ),
        (
            "query($v: [ID!]) { people(filter: { primaryOrg: { in: $v } }) { totalCount } }",
            json!({ "v": orgs }),
        ),
    ] {
        // Act
        let response = app.gql_admin(query, variables).await;

        // Assert
        assert_bad_input(&response, "in");
    }
}

#[tokio::test]
async fn an_in_list_of_one_thousand_values_is_accepted() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let mut names: Vec<String> = (0..999).map(|n| format!("name-{n}")).collect();
    names.push("Chan".into());

    // Act
    let response = app
        .gql_admin(
            "query($v: [String!]) { students(filter: { familyName: { in: $v } }) { totalCount } }",
            json!({ "v": names }),
        )
        .await;

    // Assert: Chan is the family name of stu-a-01 and stu-b-05.
    assert_eq!(response.data()["students"]["totalCount"], json!(2));
}

#[tokio::test]
async fn a_query_thirteen_levels_deep_is_too_complex() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    // pathways > edges > node > stages > edges > node > pathway > stages > edges > node > pathway
    //   > stages > totalCount
    let query = "{ pathways(first: 1) { edges { node { stages(first: 1) { edges { node { pathway { \
                 stages(first: 1) { edges { node { pathway { stages(first: 1) { totalCount } } } } } } } } } } } } }";

    // Act
    let response = app.gql(query, json!({}), None).await;

    // Assert
    assert_too_complex(&response, 12);
    assert_eq!(response.body["errors"][0]["extensions"]["cost"], json!(13));
}

#[tokio::test]
async fn a_query_of_exactly_twelve_levels_runs() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    // pathways > edges > node > stages > edges > node > pathway > stages > edges > node > pathway > code
    let query = "{ pathways(first: 1) { edges { node { stages(first: 1) { edges { node { pathway { \
                 stages(first: 1) { edges { node { pathway { code } } } } } } } } } } } }";

    // Act
    let response = app.gql(query, json!({}), None).await;

    // Assert
    let stage = &response.data()["pathways"]["edges"][0]["node"]["stages"]["edges"][0]["node"];
    assert_eq!(
        stage["pathway"]["stages"]["edges"][0]["node"]["pathway"]["code"],
        json!("CLAPTECH-ICT")
    );
}

#[tokio::test]
async fn nested_connections_of_one_hundred_three_levels_deep_are_too_complex() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let query = "{ schools(first: 100) { edges { node { students(first: 100) { edges { node { \
                 courseEnrollments(first: 100) { edges { node { sourcedId } } } } } } } } } }";

    // Act
    let response = app.gql_admin(query, json!({})).await;

    // Assert
    assert_too_complex(&response, 20_000);
}

#[tokio::test]
async fn thirty_aliases_are_allowed_and_thirty_one_are_too_complex() {
    // Arrange
    let app = spawn_app().await;
    let aliased = |n: usize| {
        let fields: Vec<String> = (0..n)
            .map(|i| format!("a{i}: viewer {{ authenticated }}"))
            .collect();
        format!("{{ {} }}", fields.join(" "))
    };

    // Act
    let thirty = app.gql(&aliased(30), json!({}), None).await;
    let thirty_one = app.gql(&aliased(31), json!({}), None).await;

    // Assert
    assert_eq!(thirty.data()["a29"]["authenticated"], json!(false));
    assert_too_complex(&thirty_one, 30);
    assert_eq!(
        thirty_one.body["errors"][0]["extensions"]["cost"],
        json!(31)
    );
}

#[tokio::test]
async fn aliases_inside_fragments_count_towards_the_limit() {
    // Arrange
    let app = spawn_app().await;
    let fields: Vec<String> = (0..31).map(|i| format!("a{i}: authenticated")).collect();
    let query = format!(
        "{{ viewer {{ ...F }} }} fragment F on Viewer {{ {} }}",
        fields.join(" ")
    );

    // Act
    let response = app.gql(&query, json!({}), None).await;

    // Assert
    assert_too_complex(&response, 30);
}

#[tokio::test]
async fn a_syntax_error_is_bad_user_input() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app
        .gql("{ pathways { edges { node { code } }", json!({}), None)
        .await;

    // Assert
    assert_eq!(response.error_code(), Some("BAD_USER_INPUT"));
    assert!(response.body.get("data").is_none());
}

#[tokio::test]
async fn a_wrongly_typed_variable_is_bad_user_input() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app
        .gql(
            "query($n: Int) { pathways(first: $n) { totalCount } }",
            json!({ "n": "ten" }),
            None,
        )
        .await;

    // Assert
    assert_eq!(response.error_code(), Some("BAD_USER_INPUT"));
}

#[tokio::test]
async fn no_error_message_contains_database_text() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let forged_text_id = URL_SAFE_NO_PAD.encode(r#"{"o":"id:asc","k":[{"S":"abc' OR 1=1 --"}]}"#);
    let forged_date = URL_SAFE_NO_PAD
        .encode(r#"{"o":"family_name:asc,id:asc","k":[{"D":"2024-01-01"},{"B":true}]}"#);
    let requests = [
        ("{ people(filter: { familyName: { eq: \"\\u0000\" } }) { totalCount } }".to_owned(), json!({})),
        (format!("{{ people(first: 2, after: \"{forged_text_id}\") {{ totalCount edges {{ node {{ id }} }} }} }}"), json!({})),
        (
            format!("{{ people(first: 2, after: \"{forged_date}\", orderBy: [{{ field: FAMILY_NAME }}]) {{ edges {{ node {{ id }} }} }} }}"),
            json!({}),
        ),
        ("{ people(filter: { email: { contains: \"'; DROP TABLE person; --\" } }) { totalCount } }".to_owned(), json!({})),
        ("{ people(first: 1000) { totalCount } }".to_owned(), json!({})),
        ("{ nodes(ids: [\"\\u0000\", \"UGVyc29uOgA\"]) { id } }".to_owned(), json!({})),
    ];

    let mut messages = Vec::new();
    for (query, variables) in requests {
        // Act
        let response = app.gql_admin(&query, variables).await;
        for error in response.errors() {
            messages.push(error["message"].as_str().unwrap_or_default().to_owned());
        }
    }

    // Assert
    for message in &messages {
        let lower = message.to_lowercase();
        for needle in [
            "select ",
            " from ",
            "where ",
            "sqlx",
            "sqlite",
            "postgres",
            "syntax error at",
            "relation \"",
            "operator does not exist",
            "invalid byte sequence",
        ] {
            assert!(
                !lower.contains(needle),
                "database text in error message: {message}"
            );
        }
    }
    assert!(
        !messages.is_empty(),
        "the first-1000 request must have failed"
    );
}

#[tokio::test]

async fn a_text_filter_containing_a_nul_character_is_not_an_internal_error() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;

    for filter in [
        json!({ "familyName": { "eq": "Chan\u{0}" } }),
        json!({ "email": { "contains": "\u{0}" } }),
    ] {
        // Act
        let response = app
            .gql_admin(
                "query($f: PersonFilter) { people(filter: $f) { totalCount } }",
                json!({ "f": filter }),
            )
            .await;

        // Assert: either an input error or no match, never a server failure.
        match response.error_code() {
            Some(code) => assert_eq!(code, "BAD_USER_INPUT", "{filter}: {}", response.body),
            None => assert_eq!(response.data()["people"]["totalCount"], json!(0)),
        }
    }
}
