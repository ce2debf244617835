//! Aggregates (DOMAIN.md section 4, aggregateOnly): grouped counts of pathway enrolments, exact for
//! the programme office and a school's own, suppressed below 5 for partners and evaluators.

use std::collections::BTreeMap;

use integration_tests::fixtures::{PARTNER_X, SCHOOL_A, SCHOOL_B, World, seed_world};
use integration_tests::{TestApp, spawn_app};
use serde_json::{Value, json};

const BY_SCHOOL_AND_STATE: &str = "{ pathwayEnrollmentStatistics(groupBy: [ENTRY_SCHOOL, STATE]) \
    { entrySchool { sourcedId } state count suppressed } }";

/// `(school, STATE)` → exact count, from the fixture.
fn exact(world: &World) -> BTreeMap<(String, String), i64> {
    let mut cells = BTreeMap::new();
    for student in &world.students {
        let school = world.schools[student.school].sourced_id.clone();
        *cells
            .entry((school, student.pathway_state.to_uppercase()))
            .or_insert(0) += 1;
    }
    cells
}

/// The same cells as a suppressed caller must see them: below 5 withheld, and a second cell of
/// the same school when only one was.
fn suppressed(world: &World) -> BTreeMap<(String, String), Option<i64>> {
    let mut cells: BTreeMap<(String, String), Option<i64>> = exact(world)
        .into_iter()
        .map(|(k, n)| (k, (n >= 5).then_some(n)))
        .collect();
    for school in [SCHOOL_A, SCHOOL_B] {
        let in_school: Vec<(String, String)> =
            cells.keys().filter(|(s, _)| s == school).cloned().collect();
        let withheld = in_school.iter().filter(|k| cells[*k].is_none()).count();
        if withheld == 1
            && let Some(smallest) = in_school
                .iter()
                .filter(|k| cells[*k].is_some())
                .min_by_key(|k| cells[*k])
                .cloned()
        {
            cells.insert(smallest, None);
        }
    }
    cells
}

async fn cells_as(app: &TestApp, token: &str) -> BTreeMap<(String, String), Option<i64>> {
    let response = app.gql(BY_SCHOOL_AND_STATE, json!({}), Some(token)).await;
    response.data()["pathwayEnrollmentStatistics"]
        .as_array()
        .expect("cells")
        .iter()
        .map(|c| {
            assert_eq!(c["suppressed"], Value::Bool(c["count"].is_null()));
            (
                (
                    c["entrySchool"]["sourcedId"]
                        .as_str()
                        .expect("school")
                        .to_owned(),
                    c["state"].as_str().expect("state").to_owned(),
                ),
                c["count"].as_i64(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_programme_office_counts_exactly_and_partners_see_small_cells_suppressed() {
    // Arrange
    let app = spawn_app().await;
    let world = seed_world(&app.db).await;
    let expected_exact: BTreeMap<_, _> = exact(&world)
        .into_iter()
        .map(|(k, n)| (k, Some(n)))
        .collect();

    // Act
    let admin = cells_as(&app, &app.admin_token()).await;
    let partner = cells_as(
        &app,
        &app.token_for("pc-x", &["partnerCoordinator"], PARTNER_X),
    )
    .await;
    let evaluator = cells_as(&app, &app.token_for("eva", &["evaluator"], "org-office")).await;

    // Assert
    assert_eq!(admin, expected_exact);
    assert_eq!(partner, suppressed(&world));
    assert_eq!(evaluator, suppressed(&world));
    assert!(
        partner.values().any(Option::is_none),
        "the fixture has small cells"
    );
}

#[tokio::test]
async fn a_school_counts_its_own_enrolments_exactly_and_nothing_else() {
    // Arrange
    let app = spawn_app().await;
    let world = seed_world(&app.db).await;
    let token = app.token_for("crd-a", &["schoolCoordinator"], SCHOOL_A);

    // Act
    let cells = cells_as(&app, &token).await;

    // Assert
    let expected: BTreeMap<_, _> = exact(&world)
        .into_iter()
        .filter(|((school, _), _)| school == SCHOOL_A)
        .map(|(k, n)| (k, Some(n)))
        .collect();
    assert_eq!(cells, expected);
}

#[tokio::test]
async fn large_enough_cells_are_shown_to_partners() {
    // Arrange
    let app = spawn_app().await;
    let world = seed_world(&app.db).await;
    let token = app.token_for("pc-x", &["partnerCoordinator"], PARTNER_X);

    // Act
    let response = app
        .gql(
            "{ pathwayEnrollmentStatistics(groupBy: [ENTRY_SCHOOL]) { entrySchool { sourcedId } count suppressed } }",
            json!({}),
            Some(&token),
        )
        .await;

    // Assert
    let per_school = world.students_of(0).len();
    assert!(per_school >= 5);
    assert_eq!(
        response.data()["pathwayEnrollmentStatistics"],
        json!([
            { "entrySchool": { "sourcedId": SCHOOL_A }, "count": per_school, "suppressed": false },
            { "entrySchool": { "sourcedId": SCHOOL_B }, "count": world.students_of(1).len(), "suppressed": false },
        ])
    );
}

#[tokio::test]
async fn aggregates_refuse_the_wrong_callers_and_fine_filters() {
    // Arrange
    let app = spawn_app().await;
    let world = seed_world(&app.db).await;
    let partner = app.token_for("pc-x", &["partnerCoordinator"], PARTNER_X);
    let query = "query($f: PathwayEnrollmentFilter, $g: [PathwayEnrollmentDimension!]!) { \
                 pathwayEnrollmentStatistics(groupBy: $g, filter: $f) { count } }";
    let a0 = world.students_of(0)[0].person.sourced_id.clone();

    // Act + Assert
    let cases = [
        (
            app.token_for("mentor-x", &["mentor"], PARTNER_X),
            json!({ "g": ["STATE"] }),
            "FORBIDDEN",
        ),
        (
            app.token_for(&a0, &["student"], SCHOOL_A),
            json!({ "g": ["STATE"] }),
            "FORBIDDEN",
        ),
        (
            partner.clone(),
            json!({ "g": ["STATE"], "f": { "student": { "eq": a0 } } }),
            "FORBIDDEN",
        ),
        (
            partner.clone(),
            json!({ "g": ["STATE"], "f": { "beginDate": { "gte": "2024-09-01" } } }),
            "FORBIDDEN",
        ),
        (partner.clone(), json!({ "g": [] }), "BAD_USER_INPUT"),
    ];
    for (token, variables, code) in cases {
        let response = app.gql(query, variables.clone(), Some(&token)).await;
        assert_eq!(response.error_code(), Some(code), "{variables}");
    }
    let anonymous = app.gql(query, json!({ "g": ["STATE"] }), None).await;
    assert_eq!(anonymous.error_code(), Some("UNAUTHENTICATED"));
    // Filtering on a dimension is allowed.
    let by_school = app
        .gql(
            query,
            json!({ "g": ["STATE"], "f": { "entrySchool": { "eq": SCHOOL_B } } }),
            Some(&partner),
        )
        .await;
    assert!(by_school.error_code().is_none());
}
