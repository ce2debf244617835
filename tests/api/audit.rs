//! The access audit (DOMAIN.md section 5 rule 5): a partner's, mentor's or partner client's read
//! of a named student writes an AccessAuditEvent in the same request; if the audit cannot be
//! written, the read fails. `accessAuditEvents` is readable by programmeAdmin (all), a
//! partnerCoordinator (its organisation's reads) and a schoolCoordinator (its students).

use chrono::{NaiveDate, Utc};
use entity::mentorship;
use integration_tests::fixtures::{PARTNER_X, PARTNER_Y, SCHOOL_A, SCHOOL_B, World, seed_world};
use integration_tests::{TestApp, global_id, sourced_ids, spawn_app};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde_json::{Value, json};

/// An active mentorship of partner X's mentor with school A's first student, who has effective
/// consent for X (self and a guardian with parental responsibility, in `seed_world`).
async fn mentored_world(app: &TestApp) -> World {
    let world = seed_world(&app.db).await;
    let now = Utc::now();
    mentorship::ActiveModel {
        sourced_id: Set("ms-a0".to_owned()),
        status: Set("active".to_owned()),
        date_created: Set(now),
        date_last_modified: Set(now),
        version: Set(1),
        mentor_id: Set(world.mentor.id),
        student_id: Set(world.students_of(0)[0].person.id),
        partner_org_id: Set(world.partners[0].id),
        pathway_id: Set(world.pathway.id),
        begin_date: Set(NaiveDate::from_ymd_opt(2025, 9, 1).expect("date")),
        format: Set("oneToOne".to_owned()),
        state: Set("active".to_owned()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("insert mentorship");
    world
}

const AUDIT: &str = "{ accessAuditEvents(first: 50) { totalCount edges { node { \
    principal clientId actingOrg { sourcedId } entityType entityId fields basisType basisId consentId \
    requestId student { sourcedId } } } } }";

async fn audit_rows(app: &TestApp) -> Vec<Value> {
    let response = app.gql_admin(AUDIT, json!({})).await;
    response.data()["accessAuditEvents"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

#[tokio::test]
async fn a_partner_reading_a_named_student_writes_one_audit_event_with_fields_and_basis() {
    // Arrange
    let app = spawn_app().await;
    let world = mentored_world(&app).await;
    let a0 = &world.students_of(0)[0];
    let token = app.token_for("pc-x", &["partnerCoordinator"], PARTNER_X);

    // Act: the student twice in one request (list and node): one event, fields merged.
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&token)
        .header("x-request-id", "audit-test-1")
        .json(&json!({ "query": format!(
            "{{ students {{ edges {{ node {{ sourcedId preferredName givenName }} }} }} \
               node(id: \"{}\") {{ ... on Person {{ classLevel primaryOrg {{ sourcedId }} }} }} }}",
            a0.person.gid()) }))
        .send()
        .await
        .expect("request");
    let body: Value = response.json().await.expect("json");

    // Assert: the minimised view…
    assert_eq!(
        body["data"]["students"]["edges"],
        json!([{ "node": { "sourcedId": a0.person.sourced_id, "preferredName": a0.preferred_name, "givenName": null } }])
    );
    assert_eq!(body["data"]["node"]["primaryOrg"]["sourcedId"], SCHOOL_A);
    // …and its audit.
    let rows = audit_rows(&app).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row["principal"], "pc-x");
    assert_eq!(row["clientId"], Value::Null);
    assert_eq!(row["actingOrg"]["sourcedId"], PARTNER_X);
    assert_eq!(row["entityType"], "Person");
    assert_eq!(row["entityId"], a0.person.gid());
    assert_eq!(
        row["fields"],
        json!(["classLevel", "preferredName", "primaryOrg", "sourcedId"])
    );
    assert_eq!(row["basisType"], "mentorship");
    assert_eq!(row["basisId"], global_id("Mentorship", "ms-a0"));
    assert_eq!(
        row["consentId"],
        global_id(
            "ConsentRecord",
            &format!("consent-{}-self", a0.person.sourced_id)
        )
    );
    assert_eq!(row["requestId"], "audit-test-1");
    assert_eq!(row["student"]["sourcedId"], a0.person.sourced_id);
}

#[tokio::test]
async fn the_mentor_is_audited_and_programme_and_school_reads_are_not() {
    // Arrange
    let app = spawn_app().await;
    let world = mentored_world(&app).await;
    let a0 = world.students_of(0)[0].person.sourced_id.clone();
    let query = "{ students { edges { node { sourcedId preferredName } } } }";

    // Act
    for token in [
        app.admin_token(),
        app.token_for("staff", &["programmeStaff"], "org-office"),
        app.token_for("crd-a", &["schoolCoordinator"], SCHOOL_A),
    ] {
        let response = app.gql(query, json!({}), Some(&token)).await;
        assert!(sourced_ids(&response.data()["students"]).contains(&a0));
    }
    assert_eq!(audit_rows(&app).await, Vec::<Value>::new());
    let mentor = app.token_for("mentor-x", &["mentor"], PARTNER_X);
    let response = app.gql(query, json!({}), Some(&mentor)).await;

    // Assert
    assert_eq!(sourced_ids(&response.data()["students"]), vec![a0.clone()]);
    let rows = audit_rows(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["principal"], "mentor-x");
    assert_eq!(rows[0]["fields"], json!(["preferredName", "sourcedId"]));
}

#[tokio::test]
async fn a_read_whose_audit_cannot_be_written_fails_without_data() {
    // Arrange
    let app = spawn_app().await;
    mentored_world(&app).await;
    let token = app.token_for("pc-x", &["partnerCoordinator"], PARTNER_X);
    app.db
        .execute_unprepared("ALTER TABLE access_audit_event RENAME TO access_audit_event_gone")
        .await
        .expect("rename");

    // Act
    let named = app
        .gql(
            "{ students { edges { node { preferredName } } } }",
            json!({}),
            Some(&token),
        )
        .await;
    let anonymous_read = app
        .gql("{ organizations { totalCount } }", json!({}), Some(&token))
        .await;

    // Assert: the named read fails whole; a read of nothing named is unaffected.
    assert_eq!(named.error_code(), Some("INTERNAL_SERVER_ERROR"));
    assert_eq!(named.body.get("data"), None, "{:?}", named.body);
    assert!(!named.body.to_string().contains("access_audit_event"));
    assert_eq!(anonymous_read.error_code(), None);
}

#[tokio::test]
async fn audit_events_are_visible_to_admin_the_partner_and_the_students_school_only() {
    // Arrange
    let app = spawn_app().await;
    let world = mentored_world(&app).await;
    let x = app.token_for("pc-x", &["partnerCoordinator"], PARTNER_X);
    app.gql(
        "{ students { edges { node { preferredName } } } }",
        json!({}),
        Some(&x),
    )
    .await;
    let count = "{ accessAuditEvents { totalCount } }";

    // Act + Assert
    let expect = |n: u64| json!({ "accessAuditEvents": { "totalCount": n } });
    assert_eq!(app.gql_admin(count, json!({})).await.data(), &expect(1));
    assert_eq!(app.gql(count, json!({}), Some(&x)).await.data(), &expect(1));
    let y = app.token_for("pc-y", &["partnerCoordinator"], PARTNER_Y);
    assert_eq!(app.gql(count, json!({}), Some(&y)).await.data(), &expect(0));
    let school_a = app.token_for("crd-a", &["schoolCoordinator"], SCHOOL_A);
    assert_eq!(
        app.gql(count, json!({}), Some(&school_a)).await.data(),
        &expect(1)
    );
    let school_b = app.token_for("crd-b", &["schoolCoordinator"], SCHOOL_B);
    assert_eq!(
        app.gql(count, json!({}), Some(&school_b)).await.data(),
        &expect(0)
    );
    for (who, roles, org) in [
        ("mentor-x", "mentor", PARTNER_X),
        ("tch-a", "teacher", SCHOOL_A),
        ("eva", "evaluator", "org-office"),
        (
            world.students_of(0)[0].person.sourced_id.as_str(),
            "student",
            SCHOOL_A,
        ),
    ] {
        let token = app.token_for(who, &[roles], org);
        let response = app.gql(count, json!({}), Some(&token)).await;
        assert_eq!(response.error_code(), Some("FORBIDDEN"), "{roles}");
    }
    let response = app.gql(count, json!({}), None).await;
    assert_eq!(response.error_code(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn partners_cannot_filter_or_sort_people_on_fields_they_cannot_read() {
    // Arrange
    let app = spawn_app().await;
    let world = mentored_world(&app).await;
    let a0 = &world.students_of(0)[0];
    let token = app.token_for("pc-x", &["partnerCoordinator"], PARTNER_X);

    for query in [
        format!(
            "{{ students(filter: {{ givenName: {{ eq: \"{}\" }} }}) {{ totalCount }} }}",
            a0.given_name
        ),
        format!(
            "{{ people(filter: {{ or: [{{ classLevel: {{ eq: \"S9\" }} }}, {{ familyName: {{ eq: \"{}\" }} }}] }}) {{ totalCount }} }}",
            a0.family_name
        ),
        "{ students(orderBy: [{ field: FAMILY_NAME }]) { totalCount } }".to_owned(),
        format!(
            "{{ node(id: \"{}\") {{ ... on Organization {{ students(filter: {{ email: {{ isNull: false }} }}) {{ totalCount }} }} }} }}",
            global_id("Organization", SCHOOL_A)
        ),
    ] {
        // Act
        let response = app.gql(&query, json!({}), Some(&token)).await;

        // Assert
        assert_eq!(response.error_code(), Some("FORBIDDEN"), "{query}");
        let message = response.errors()[0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            ["givenName", "familyName", "email"]
                .iter()
                .any(|f| message.contains(f)),
            "{message}"
        );
    }
    // Allowed fields still filter.
    let response = app
        .gql(
            &format!(
                "{{ students(filter: {{ classLevel: {{ eq: \"{}\" }} }}) {{ totalCount }} }}",
                a0.class_level
            ),
            json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(response.data()["students"]["totalCount"], 1);
}
