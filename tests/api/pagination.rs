//! Keyset pagination (API.md section 3): forward and backward paging visit every row once, in
//! order; cursors stay valid while rows are inserted; page sizes default to 50.

use integration_tests::fixtures::{NewStudent, World, add_student, add_students, seed_world};
use integration_tests::{TestApp, cursors, sourced_ids, spawn_app};
use serde_json::{Value, json};

const PAGE: &str = "edges { cursor node { sourcedId familyName } } \
                    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount";

/// One page of a root list as programmeAdmin.
async fn page(app: &TestApp, list: &str, args: &str) -> Value {
    let args = if args.is_empty() {
        String::new()
    } else {
        format!("({args})")
    };
    let response = app
        .gql_admin(&format!("{{ {list}{args} {{ {PAGE} }} }}"), json!({}))
        .await;
    response.data()[list].clone()
}

/// Pages forward with `first: size` from the start; returns every page.
async fn pages_forward(app: &TestApp, list: &str, size: usize, extra: &str) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut args = format!("first: {size}{extra}");
        if let Some(cursor) = &after {
            args.push_str(&format!(", after: \"{cursor}\""));
        }
        let current = page(app, list, &args).await;
        let more = current["pageInfo"]["hasNextPage"] == json!(true);
        after = current["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        pages.push(current);
        if !more {
            return pages;
        }
        assert!(pages.len() < 100, "paging does not end");
    }
}

fn ids_of(pages: &[Value]) -> Vec<String> {
    pages.iter().flat_map(sourced_ids).collect()
}

fn by_family_name(world: &World) -> Vec<String> {
    let mut students: Vec<_> = world.students.iter().collect();
    students.sort_by(|a, b| {
        a.family_name
            .cmp(&b.family_name)
            .then(a.person.id.cmp(&b.person.id))
    });
    students
        .iter()
        .map(|s| s.person.sourced_id.clone())
        .collect()
}

#[tokio::test]
async fn paging_forward_by_three_visits_every_person_exactly_once_in_order() {
    // Arrange
    let app = spawn_app().await;
    let world = seed_world(&app.db).await;

    // Act
    let pages = pages_forward(&app, "people", 3, "").await;

    // Assert
    assert_eq!(ids_of(&pages), world.people);
    assert_eq!(pages.len(), 7, "21 people in pages of 3");
    for (n, page) in pages.iter().enumerate() {
        assert_eq!(page["edges"].as_array().map(Vec::len), Some(3));
        assert_eq!(page["totalCount"], json!(21));
        assert_eq!(
            page["pageInfo"]["hasPreviousPage"],
            json!(n > 0),
            "page {n}"
        );
        assert_eq!(page["pageInfo"]["hasNextPage"], json!(n < 6), "page {n}");
        let edge_cursors = cursors(page);
        assert_eq!(page["pageInfo"]["startCursor"], json!(edge_cursors[0]));
        assert_eq!(page["pageInfo"]["endCursor"], json!(edge_cursors[2]));
    }
}

#[tokio::test]
async fn paging_backward_with_last_and_before_yields_the_same_rows_in_the_same_order() {
    // Arrange
    let app = spawn_app().await;
    let world = seed_world(&app.db).await;

    // Act
    let mut pages = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let mut args = "last: 3".to_owned();
        if let Some(cursor) = &before {
            args.push_str(&format!(", before: \"{cursor}\""));
        }
        let current = page(&app, "people", &args).await;
        let more = current["pageInfo"]["hasPreviousPage"] == json!(true);
        before = current["pageInfo"]["startCursor"]
            .as_str()
            .map(str::to_owned);
        pages.insert(0, current);
        if !more {
            break;
        }
        assert!(pages.len() < 100, "paging does not end");
    }

    // Assert
    assert_eq!(ids_of(&pages), world.people);
    assert_eq!(pages.len(), 7);
    for (n, page) in pages.iter().enumerate() {
        assert_eq!(
            page["pageInfo"]["hasPreviousPage"],
            json!(n > 0),
            "page {n}"
        );
        assert_eq!(page["pageInfo"]["hasNextPage"], json!(n < 6), "page {n}");
    }
}

#[tokio::test]
async fn last_three_without_a_cursor_gives_the_final_three_in_order() {
    // Arrange
    let app = spawn_app().await;
    let world = seed_world(&app.db).await;

    // Act
    let last = page(&app, "students", "last: 3").await;

    // Assert
    let all = world.student_ids();
    assert_eq!(sourced_ids(&last), all[all.len() - 3..].to_vec());
    assert_eq!(last["pageInfo"]["hasPreviousPage"], json!(true));
    assert_eq!(last["pageInfo"]["hasNextPage"], json!(false));
}

#[tokio::test]
async fn after_and_before_together_give_the_rows_between_them() {
    // Arrange
    let app = spawn_app().await;
    let world = seed_world(&app.db).await;
    let all = page(&app, "students", "").await;
    let c = cursors(&all);

    // Act
    let between = page(
        &app,
        "students",
        &format!("first: 10, after: \"{}\", before: \"{}\"", c[2], c[7]),
    )
    .await;
    let between_backward = page(
        &app,
        "students",
        &format!("last: 2, after: \"{}\", before: \"{}\"", c[2], c[7]),
    )
    .await;
    let last_after = page(&app, "students", &format!("last: 2, after: \"{}\"", c[2])).await;

    // Assert
    let ids = world.student_ids();
    assert_eq!(sourced_ids(&between), ids[3..7].to_vec());
    assert_eq!(sourced_ids(&between_backward), ids[5..7].to_vec());
    assert_eq!(sourced_ids(&last_after), ids[10..].to_vec());
    assert_eq!(last_after["pageInfo"]["hasPreviousPage"], json!(true));
    assert_eq!(last_after["pageInfo"]["hasNextPage"], json!(false));
}

#[tokio::test]
async fn cursors_stay_stable_while_rows_are_inserted_before_and_after_them() {
    // Arrange
    let app = spawn_app().await;
    let world = seed_world(&app.db).await;
    let order = ", orderBy: [{ field: FAMILY_NAME }]";
    let expected = by_family_name(&world);
    let first = page(&app, "students", &format!("first: 4{order}")).await;
    assert_eq!(sourced_ids(&first), expected[..4].to_vec());
    let school = world.school_a();
    for (sid, family) in [
        ("stu-new-1", "Aaron"),
        ("stu-new-2", "Zung"),
        ("stu-new-3", "Au"),
        ("stu-new-4", "Zhu"),
    ] {
        add_student(&app.db, &NewStudent::new(sid, "New", family, school)).await;
    }
    let cursor = first["pageInfo"]["endCursor"]
        .as_str()
        .expect("end cursor")
        .to_owned();

    // Act
    let mut rest = Vec::new();
    let mut after = cursor;
    loop {
        let next = page(
            &app,
            "students",
            &format!("first: 4, after: \"{after}\"{order}"),
        )
        .await;
        rest.extend(sourced_ids(&next));
        if next["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = next["pageInfo"]["endCursor"]
            .as_str()
            .expect("end cursor")
            .to_owned();
    }

    // Assert: every original row after the cursor once, then the rows inserted after it.
    let mut wanted: Vec<String> = expected[4..].to_vec();
    wanted.extend(["stu-new-4".to_owned(), "stu-new-2".to_owned()]);
    assert_eq!(rest, wanted);
}

#[tokio::test]
async fn rows_inserted_while_paging_in_default_order_appear_once_at_the_end() {
    // Arrange
    let app = spawn_app().await;
    let world = seed_world(&app.db).await;
    let first = page(&app, "students", "first: 5").await;
    let added = add_students(&app.db, "stu-late", "Late", world.school_b(), 3).await;
    let cursor = first["pageInfo"]["endCursor"]
        .as_str()
        .expect("end cursor")
        .to_owned();

    // Act
    let rest = page(&app, "students", &format!("first: 50, after: \"{cursor}\"")).await;

    // Assert
    let mut wanted = world.student_ids()[5..].to_vec();
    wanted.extend(added);
    assert_eq!(sourced_ids(&rest), wanted);
    assert_eq!(rest["pageInfo"]["hasNextPage"], json!(false));
}

#[tokio::test]
async fn the_default_page_size_is_fifty() {
    // Arrange
    let app = spawn_app().await;
    let world = seed_world(&app.db).await;
    let added = add_students(&app.db, "stu-bulk", "Bulk", world.school_a(), 60).await;

    // Act
    let first = page(&app, "students", "").await;
    let cursor = first["pageInfo"]["endCursor"]
        .as_str()
        .expect("end cursor")
        .to_owned();
    let second = page(&app, "students", &format!("after: \"{cursor}\"")).await;

    // Assert
    let mut all = world.student_ids();
    all.extend(added);
    assert_eq!(first["edges"].as_array().map(Vec::len), Some(50));
    assert_eq!(first["pageInfo"]["hasNextPage"], json!(true));
    assert_eq!(first["totalCount"], json!(72));
    assert_eq!(sourced_ids(&second), all[50..].to_vec());
    assert_eq!(second["pageInfo"]["hasNextPage"], json!(false));
}

#[tokio::test]
async fn first_zero_returns_no_edges_but_counts_the_list() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;

    // Act
    let empty = page(&app, "students", "first: 0").await;

    // Assert
    assert_eq!(empty["edges"], json!([]));
    assert_eq!(empty["totalCount"], json!(12));
    assert_eq!(empty["pageInfo"]["hasNextPage"], json!(true));
    assert_eq!(empty["pageInfo"]["startCursor"], Value::Null);
    assert_eq!(empty["pageInfo"]["endCursor"], Value::Null);
}

#[tokio::test]
async fn a_nested_connection_pages_with_its_own_cursors() {
    // Arrange
    let app = spawn_app().await;
    let world = seed_world(&app.db).await;
    let query = "query($school: ID!, $after: String) { node(id: $school) { ... on Organization { \
                 students(first: 4, after: $after) { edges { node { sourcedId } } pageInfo { hasNextPage endCursor } } } } }";

    // Act
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let response = app
            .gql_admin(
                query,
                json!({ "school": world.school_b().gid(), "after": after }),
            )
            .await;
        let students = response.data()["node"]["students"].clone();
        seen.extend(sourced_ids(&students));
        if students["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = students["pageInfo"]["endCursor"].clone();
    }

    // Assert
    assert_eq!(seen, world.student_ids_of(1));
}
