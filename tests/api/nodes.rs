//! `node` and `nodes` (API.md section 2): every record type resolves by its global id; unknown
//! and malformed ids are null; `nodes` keeps the order given.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use integration_tests::fixtures::{Ref, World, seed_world};
use integration_tests::{global_id, spawn_app};
use serde_json::{Value, json};

const NODE: &str = "query($id: ID!) { node(id: $id) { __typename id ... on Record { sourcedId status version } } }";
const NODES: &str =
    "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on Record { sourcedId } } }";

/// One record of every node type.
fn one_of_each(w: &World) -> Vec<Ref> {
    let student = &w.students[0];
    let (link, _, _) = &w.guardian_links[0];
    vec![
        w.school_a().clone(),
        student.person.clone(),
        student.role_assignment.clone(),
        link.clone(),
        student.external_id.clone(),
        w.consents[0].clone(),
        w.term_2024_1.clone(),
        w.pathway.clone(),
        w.stages[3].clone(),
        w.stage_courses[0].clone(),
        w.cohort.clone(),
        w.course_hd.clone(),
        w.offerings[1].clone(),
        student.pathway_enrollment.clone(),
        student.course_enrollment.clone(),
    ]
}

#[tokio::test]
async fn node_resolves_a_record_of_every_type() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let records = one_of_each(&w);
    let types: std::collections::BTreeSet<&str> = records.iter().map(|r| r.type_name).collect();
    assert_eq!(types.len(), 15, "one record of each of the 15 node types");

    for record in records {
        // Act
        let response = app.gql_admin(NODE, json!({ "id": record.gid() })).await;

        // Assert
        assert_eq!(
            response.data()["node"],
            json!({ "__typename": record.type_name, "id": record.gid(), "sourcedId": record.sourced_id,
                    "status": "ACTIVE", "version": 1 }),
            "{record:?}"
        );
    }
}

#[tokio::test]
async fn ids_in_responses_are_the_documented_global_ids() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;

    // Act
    let response = app
        .gql(
            "{ pathways { edges { node { id sourcedId } } } }",
            json!({}),
            None,
        )
        .await;

    // Assert
    let node = &response.data()["pathways"]["edges"][0]["node"];
    assert_eq!(node["id"], json!(global_id("Pathway", "pw-ict")));
    assert_eq!(node["id"], json!(URL_SAFE_NO_PAD.encode("Pathway:pw-ict")));
}

#[tokio::test]
async fn nodes_resolves_every_type_in_one_request_in_order() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let records = one_of_each(&w);
    let ids: Vec<String> = records.iter().rev().map(Ref::gid).collect();

    // Act
    let response = app.gql_admin(NODES, json!({ "ids": ids })).await;

    // Assert
    let wanted: Vec<Value> = records
        .iter()
        .rev()
        .map(|r| json!({ "__typename": r.type_name, "id": r.gid(), "sourcedId": r.sourced_id }))
        .collect();
    assert_eq!(response.data()["nodes"], json!(wanted));
}

#[tokio::test]
async fn node_with_an_unknown_id_is_null() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;

    for id in [
        global_id("Person", "nobody"),
        global_id("Pathway", "pw-none"),
        global_id("Course", "course-APL"),
    ] {
        // Act
        let response = app.gql_admin(NODE, json!({ "id": id })).await;

        // Assert
        assert_eq!(response.data()["node"], Value::Null, "{id}");
    }
}

#[tokio::test]
async fn node_with_a_garbage_id_is_null() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;

    for id in [
        "!!!not base64!!!".to_owned(),
        String::new(),
        "stu-a-01".to_owned(),
        URL_SAFE_NO_PAD.encode("no colon here"),
        URL_SAFE_NO_PAD.encode("Spaceship:pw-ict"),
        URL_SAFE_NO_PAD.encode("Person:"),
        URL_SAFE_NO_PAD.encode(":stu-a-01"),
        URL_SAFE_NO_PAD.encode([0xff_u8, 0xfe, b':', b'x']),
    ] {
        // Act
        let response = app.gql_admin(NODE, json!({ "id": id })).await;

        // Assert
        assert_eq!(response.data()["node"], Value::Null, "{id:?}");
    }
}

#[tokio::test]
async fn a_global_id_of_the_wrong_type_does_not_find_the_record() {
    // Arrange: `pw-ict` exists as a Pathway, not as a Course.
    let app = spawn_app().await;
    seed_world(&app.db).await;

    // Act
    let response = app
        .gql_admin(NODE, json!({ "id": global_id("Course", "pw-ict") }))
        .await;

    // Assert
    assert_eq!(response.data()["node"], Value::Null);
}

#[tokio::test]
async fn nodes_keeps_the_order_given_with_nulls_for_missing_ids() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let ids = json!([
        w.student("stu-b-01").person.gid(),
        global_id("Person", "nobody"),
        w.pathway.gid(),
        "garbage",
        w.student("stu-a-01").person.gid(),
    ]);

    // Act
    let response = app.gql_admin(NODES, json!({ "ids": ids })).await;

    // Assert
    assert_eq!(
        response.data()["nodes"],
        json!([
            { "__typename": "Person", "id": global_id("Person", "stu-b-01"), "sourcedId": "stu-b-01" },
            null,
            { "__typename": "Pathway", "id": global_id("Pathway", "pw-ict"), "sourcedId": "pw-ict" },
            null,
            { "__typename": "Person", "id": global_id("Person", "stu-a-01"), "sourcedId": "stu-a-01" },
        ])
    );
}

#[tokio::test]
async fn nodes_with_an_empty_list_is_an_empty_list() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app.gql(NODES, json!({ "ids": [] }), None).await;

    // Assert
    assert_eq!(response.data()["nodes"], json!([]));
}

#[tokio::test]

async fn nodes_resolves_a_repeated_id_at_every_position() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let id = w.pathway.gid();

    // Act
    let response = app.gql(NODES, json!({ "ids": [id, id] }), None).await;

    // Assert
    let pathway = json!({ "__typename": "Pathway", "id": id, "sourcedId": "pw-ict" });
    assert_eq!(response.data()["nodes"], json!([pathway, pathway]));
}

#[tokio::test]
async fn public_nodes_resolve_without_a_token_and_personal_ones_need_one() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;

    // Act
    let pathway = app.gql(NODE, json!({ "id": w.pathway.gid() }), None).await;
    let person = app
        .gql(NODE, json!({ "id": w.students[0].person.gid() }), None)
        .await;

    // Assert
    assert_eq!(pathway.data()["node"]["sourcedId"], json!("pw-ict"));
    assert_eq!(person.error_code(), Some("UNAUTHENTICATED"));
    assert!(person.body["data"]["node"].is_null(), "{}", person.body);
    assert!(
        !person.body.to_string().contains("stu-a-01"),
        "{}",
        person.body
    );
}

#[tokio::test]
async fn node_reads_a_tombstone_like_any_other_record() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    integration_tests::fixtures::tombstone(&app.db, "cohort", w.cohort.id).await;

    // Act
    let response = app.gql_admin(NODE, json!({ "id": w.cohort.gid() })).await;

    // Assert
    assert_eq!(
        response.data()["node"],
        json!({ "__typename": "Cohort", "id": w.cohort.gid(), "sourcedId": "cohort-2024", "status": "TOBEDELETED", "version": 2 })
    );
}

#[tokio::test]

async fn node_with_an_id_containing_a_nul_character_is_null() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let id = URL_SAFE_NO_PAD.encode("Person:stu\u{0}a");

    // Act
    let single = app.gql_admin(NODE, json!({ "id": id })).await;
    let many = app.gql_admin(NODES, json!({ "ids": [id] })).await;

    // Assert
    assert_eq!(single.data()["node"], Value::Null);
    assert_eq!(many.data()["nodes"], json!([null]));
}
