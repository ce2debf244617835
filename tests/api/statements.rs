//! DataLoader batching (API.md section 3): the number of SQL statements a request runs grows with
//! its depth, never with the number of rows or the page sizes.

use integration_tests::fixtures::{WorldSpec, add_school, seed_world, seed_world_with};
use integration_tests::spawn_app;
use serde_json::json;

fn nested_enrollments(outer: usize, inner: usize) -> String {
    format!(
        "{{ courseEnrollments(first: {outer}) {{ edges {{ node {{ \
           person {{ primaryOrg {{ id }} pathwayEnrollments(first: {inner}) {{ totalCount edges {{ node {{ cohort {{ code }} }} }} }} }} \
           offering {{ course {{ title }} }} }} }} }} }}"
    )
}

#[tokio::test]
async fn a_nested_list_costs_the_same_statements_for_five_and_forty_rows() {
    // Arrange
    let app = spawn_app().await;
    seed_world_with(
        &app.db,
        WorldSpec {
            students_per_school: 20,
        },
    )
    .await;
    let token = app.admin_token();
    let forty = app
        .gql(&nested_enrollments(40, 5), json!({}), Some(&token))
        .await;
    let edges = forty.data()["courseEnrollments"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    assert_eq!(edges.len(), 40);
    assert!(
        edges
            .iter()
            .all(|e| e["node"]["offering"]["course"]["title"] == json!("Technology Basics"))
    );

    // Act
    let with_five = app
        .statements_for(&nested_enrollments(5, 5), json!({}), &token)
        .await;
    let with_forty = app
        .statements_for(&nested_enrollments(40, 5), json!({}), &token)
        .await;

    // Assert
    assert_eq!(
        with_five, with_forty,
        "statements grew with the page: {with_five} for 5 rows, {with_forty} for 40"
    );
    assert!(
        with_forty <= 12,
        "{with_forty} statements for a query nine relations deep"
    );
}

#[tokio::test]
async fn a_nested_list_costs_the_same_statements_whatever_the_nested_page_size() {
    // Arrange
    let app = spawn_app().await;
    seed_world_with(
        &app.db,
        WorldSpec {
            students_per_school: 20,
        },
    )
    .await;
    let token = app.admin_token();

    // Act
    let inner_one = app
        .statements_for(&nested_enrollments(40, 1), json!({}), &token)
        .await;
    let inner_five = app
        .statements_for(&nested_enrollments(40, 5), json!({}), &token)
        .await;
    let inner_fifty = app
        .statements_for(&nested_enrollments(40, 50), json!({}), &token)
        .await;

    // Assert
    assert_eq!(
        (inner_one, inner_five),
        (inner_five, inner_fifty),
        "statements for nested pages of 1, 5 and 50: {inner_one}, {inner_five}, {inner_fifty}"
    );
}

#[tokio::test]
async fn repeating_a_request_costs_the_same_statements() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let token = app.admin_token();
    let query = nested_enrollments(10, 5);

    // Act
    let first = app.statements_for(&query, json!({}), &token).await;
    let second = app.statements_for(&query, json!({}), &token).await;

    // Assert
    assert_eq!(first, second);
    assert!(first > 0);
}

#[tokio::test]
async fn school_students_cost_the_same_statements_for_two_and_ten_schools() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let token = app.admin_token();
    let query = "{ schools { edges { node { students(first: 2) { edges { node { id } } } } } } }";
    let two = app.statements_for(query, json!({}), &token).await;
    for n in 3..=10 {
        add_school(
            &app.db,
            &format!("org-school-{n:02}"),
            &format!("School {n}"),
            3,
        )
        .await;
    }

    // Act
    let ten = app.statements_for(query, json!({}), &token).await;
    let response = app.gql(query, json!({}), Some(&token)).await;

    // Assert
    let schools = response.data()["schools"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    assert_eq!(schools.len(), 10);
    assert!(
        schools
            .iter()
            .all(|s| s["node"]["students"]["edges"].as_array().map(Vec::len) == Some(2))
    );
    assert_eq!(
        two, ten,
        "statements grew with the schools: {two} for 2, {ten} for 10"
    );
}

#[tokio::test]
async fn a_school_coordinators_nested_list_is_batched_too() {
    // Arrange: scoped loaders add their conditions, not statements.
    let app = spawn_app().await;
    seed_world_with(
        &app.db,
        WorldSpec {
            students_per_school: 20,
        },
    )
    .await;
    let token = app.token_for(
        "crd-a",
        &["schoolCoordinator"],
        integration_tests::fixtures::SCHOOL_A,
    );

    // Act
    let with_five = app
        .statements_for(&nested_enrollments(5, 5), json!({}), &token)
        .await;
    let with_twenty = app
        .statements_for(&nested_enrollments(20, 5), json!({}), &token)
        .await;

    // Assert
    assert_eq!(with_five, with_twenty);
}

#[tokio::test]
async fn node_lookups_are_batched_per_type() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = app.admin_token();
    let query =
        "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Person { primaryOrg { id } } } }";
    let two: Vec<String> = w.students[..2].iter().map(|s| s.person.gid()).collect();
    let twelve: Vec<String> = w.students.iter().map(|s| s.person.gid()).collect();

    // Act
    let for_two = app
        .statements_for(query, json!({ "ids": two }), &token)
        .await;
    let for_twelve = app
        .statements_for(query, json!({ "ids": twelve }), &token)
        .await;

    // Assert
    assert_eq!(for_two, for_twelve);
}
