//! `orderBy` (API.md section 3): one or more keys in either direction, ties broken by the primary
//! key, and paging consistent under any order.

use integration_tests::fixtures::{NewStudent, Student, World, add_student, seed_world};
use integration_tests::{TestApp, sourced_ids, spawn_app};
use serde_json::{Value, json};

async fn students_ordered(app: &TestApp, order: Value, extra: &str) -> Value {
    let query = format!(
        "query($o: [PersonOrder!]) {{ students(orderBy: $o, first: 100{extra}) {{ \
         edges {{ cursor node {{ sourcedId }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    );
    app.gql_admin(&query, json!({ "o": order })).await.data()["students"].clone()
}

/// Students sorted by `key`, ties by id (insertion order).
fn sorted_by<K: Ord>(world: &World, key: impl Fn(&Student) -> K) -> Vec<String> {
    let mut students: Vec<&Student> = world.students.iter().collect();
    students.sort_by(|a, b| key(a).cmp(&key(b)).then(a.person.id.cmp(&b.person.id)));
    students
        .iter()
        .map(|s| s.person.sourced_id.clone())
        .collect()
}

#[tokio::test]
async fn one_key_ascending_sorts_and_breaks_ties_by_creation_order() {
    // Arrange
    let app = spawn_app().await;
    let world = seed_world(&app.db).await;

    // Act
    let students = students_ordered(&app, json!([{ "field": "FAMILY_NAME" }]), "").await;

    // Assert
    let wanted = sorted_by(&world, |s| s.family_name.clone());
    assert_eq!(sourced_ids(&students), wanted);
    // The fixture has ties (two of each of Chan, Cheung, Ho, Lam, Wong).
    assert_eq!(&wanted[..2], ["stu-a-01", "stu-b-05"]);
}

#[tokio::test]
async fn one_key_descending_sorts_backwards_but_still_breaks_ties_by_creation_order() {
    // Arrange
    let app = spawn_app().await;
    let world = seed_world(&app.db).await;

    // Act
    let students = students_ordered(
        &app,
        json!([{ "field": "FAMILY_NAME", "direction": "DESC" }]),
        "",
    )
    .await;

    // Assert
    let wanted = sorted_by(&world, |s| std::cmp::Reverse(s.family_name.clone()));
    assert_eq!(sourced_ids(&students), wanted);
    assert_eq!(
        &wanted[..2],
        ["stu-a-02", "stu-b-06"],
        "Wong first, the older row first"
    );
}

#[tokio::test]
async fn two_keys_sort_by_the_first_then_the_second() {
    // Arrange
    let app = spawn_app().await;
    let world = seed_world(&app.db).await;

    // Act
    let students = students_ordered(
        &app,
        json!([{ "field": "FAMILY_NAME" }, { "field": "GIVEN_NAME", "direction": "DESC" }]),
        "",
    )
    .await;

    // Assert
    let wanted = sorted_by(&world, |s| {
        (
            s.family_name.clone(),
            std::cmp::Reverse(s.given_name.clone()),
        )
    });
    assert_eq!(sourced_ids(&students), wanted);
}

#[tokio::test]
async fn ordering_by_the_sourced_id_descending_reverses_the_id_order() {
    // Arrange
    let app = spawn_app().await;
    let world = seed_world(&app.db).await;

    // Act
    let students = students_ordered(
        &app,
        json!([{ "field": "SOURCED_ID", "direction": "DESC" }]),
        "",
    )
    .await;

    // Assert
    let mut wanted = world.student_ids();
    wanted.sort();
    wanted.reverse();
    assert_eq!(sourced_ids(&students), wanted);
}

#[tokio::test]
async fn ordering_by_a_timestamp_follows_time() {
    // Arrange
    let app = spawn_app().await;
    let world = seed_world(&app.db).await;

    // Act
    let students = students_ordered(
        &app,
        json!([{ "field": "DATE_LAST_MODIFIED", "direction": "DESC" }]),
        "",
    )
    .await;

    // Assert
    let wanted = sorted_by(&world, |s| std::cmp::Reverse(s.date_last_modified));
    assert_eq!(sourced_ids(&students), wanted);
    assert_eq!(wanted[0], "stu-b-06");
}

#[tokio::test]
async fn stages_come_in_seq_order_by_default_and_can_be_reordered() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;

    // Act
    let response = app
        .gql(
            "{ pathway(code: \"CLAPTECH-ICT\") { \
               bySeq: stages { edges { node { code } } } \
               byCode: stages(orderBy: [{ field: CODE, direction: DESC }]) { edges { node { code } } } } }",
            json!({}),
            None,
        )
        .await;

    // Assert
    let pathway = &response.data()["pathway"];
    let codes = |c: &Value| -> Vec<String> { integration_tests::node_strings(c, "code") };
    assert_eq!(codes(&pathway["bySeq"]), ["S4", "S5", "S6", "HD1", "HD2"]);
    assert_eq!(codes(&pathway["byCode"]), ["S6", "S5", "S4", "HD2", "HD1"]);
}

#[tokio::test]
async fn paging_under_a_non_default_order_is_consistent() {
    // Arrange
    let app = spawn_app().await;
    let world = seed_world(&app.db).await;
    let order = json!([{ "field": "FAMILY_NAME", "direction": "DESC" }, { "field": "GIVEN_NAME" }]);
    let wanted = sorted_by(&world, |s| {
        (
            std::cmp::Reverse(s.family_name.clone()),
            s.given_name.clone(),
        )
    });

    // Act: forward in pages of 5, then backward in pages of 5.
    let mut forward = Vec::new();
    let mut after = String::new();
    loop {
        let extra = if after.is_empty() {
            String::new()
        } else {
            format!(", after: \"{after}\"")
        };
        let query = format!(
            "query($o: [PersonOrder!]) {{ students(orderBy: $o, first: 5{extra}) {{ \
             edges {{ node {{ sourcedId }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
        );
        let page = app.gql_admin(&query, json!({ "o": order })).await.data()["students"].clone();
        forward.extend(sourced_ids(&page));
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = page["pageInfo"]["endCursor"]
            .as_str()
            .expect("cursor")
            .to_owned();
    }
    let mut backward: Vec<String> = Vec::new();
    let mut before = String::new();
    loop {
        let extra = if before.is_empty() {
            String::new()
        } else {
            format!(", before: \"{before}\"")
        };
        let query = format!(
            "query($o: [PersonOrder!]) {{ students(orderBy: $o, last: 5{extra}) {{ \
             edges {{ node {{ sourcedId }} }} pageInfo {{ hasPreviousPage startCursor }} }} }}"
        );
        let page = app.gql_admin(&query, json!({ "o": order })).await.data()["students"].clone();
        let mut ids = sourced_ids(&page);
        ids.extend(backward);
        backward = ids;
        if page["pageInfo"]["hasPreviousPage"] != json!(true) {
            break;
        }
        before = page["pageInfo"]["startCursor"]
            .as_str()
            .expect("cursor")
            .to_owned();
    }

    // Assert
    assert_eq!(forward, wanted);
    assert_eq!(backward, wanted);
}

#[tokio::test]
async fn nested_lists_honour_order_by_too() {
    // Arrange
    let app = spawn_app().await;
    let world = seed_world(&app.db).await;

    // Act
    let response = app
        .gql_admin(
            "query($id: ID!) { node(id: $id) { ... on Organization { \
               students(orderBy: [{ field: GIVEN_NAME, direction: DESC }]) { edges { node { sourcedId } } } } } }",
            json!({ "id": world.school_a().gid() }),
        )
        .await;

    // Assert
    let mut school_a: Vec<&Student> = world.students_of(0);
    school_a.sort_by(|a, b| {
        b.given_name
            .cmp(&a.given_name)
            .then(a.person.id.cmp(&b.person.id))
    });
    let wanted: Vec<String> = school_a
        .iter()
        .map(|s| s.person.sourced_id.clone())
        .collect();
    assert_eq!(sourced_ids(&response.data()["node"]["students"]), wanted);
}

#[tokio::test]
async fn paging_by_a_timestamp_with_ties_visits_every_row_once() {
    // Arrange: six students modified at the very same instant, between the seeded ones.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let instant = w.base_time + chrono::Duration::seconds(150);
    let mut tied = Vec::new();
    for n in 1..=6 {
        let sid = format!("stu-tie-{n}");
        let mut new = NewStudent::new(&sid, "Tie", "Tse", w.school_b());
        new.date_last_modified = instant;
        add_student(&app.db, &new).await;
        tied.push(sid);
    }
    let order = json!([{ "field": "DATE_LAST_MODIFIED" }]);

    // Act
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = app
            .gql_admin(
                "query($o: [PersonOrder!], $after: String) { students(orderBy: $o, first: 4, after: $after) { \
                 edges { node { sourcedId } } pageInfo { hasNextPage endCursor } } }",
                json!({ "o": order, "after": after }),
            )
            .await
            .data()["students"]
            .clone();
        seen.extend(sourced_ids(&page));
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }

    // Assert: seeded students 0–2 are older (minutes 0, 1, 2), the rest newer.
    let ids = w.student_ids();
    let mut wanted = ids[..3].to_vec();
    wanted.extend(tied);
    wanted.extend(ids[3..].iter().cloned());
    assert_eq!(seen, wanted);
}

#[tokio::test]
async fn paging_by_a_date_descending_with_ties_visits_every_row_once() {
    // Arrange: pathway enrolments of both schools share begin dates pairwise.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let order = json!([{ "field": "BEGIN_DATE", "direction": "DESC" }]);

    // Act
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = app
            .gql_admin(
                "query($o: [PathwayEnrollmentOrder!], $after: String) { pathwayEnrollments(orderBy: $o, first: 5, after: $after) { \
                 edges { node { sourcedId } } pageInfo { hasNextPage endCursor } } }",
                json!({ "o": order, "after": after }),
            )
            .await
            .data()["pathwayEnrollments"]
            .clone();
        seen.extend(sourced_ids(&page));
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }

    // Assert
    let mut students: Vec<&Student> = w.students.iter().collect();
    students.sort_by(|a, b| {
        b.pathway_begin
            .cmp(&a.pathway_begin)
            .then(a.person.id.cmp(&b.person.id))
    });
    let wanted: Vec<String> = students
        .iter()
        .map(|s| s.pathway_enrollment.sourced_id.clone())
        .collect();
    assert_eq!(seen, wanted);
    assert_eq!(&wanted[..2], ["pe-stu-a-06", "pe-stu-b-06"]);
}
