//! `upsertStudents`: a school pushes its roster by its own keys. Outcomes per item, both keys,
//! idempotent re-sends, duplicate keys, batch limits, per-item failures that leave exactly that
//! item unapplied, and the school boundary.

use entity::{change_event, external_id, person, role_assignment};
use integration_tests::fixtures::{OFFICE, PARTNER_X, SCHOOL_A, SCHOOL_B, seed_world};
use integration_tests::{GqlResponse, TestApp, spawn_app};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::consents::{client_token, coordinator_token, partner_token, person_token, staff_token};

const UPSERT: &str = "mutation($input: UpsertStudentsInput!) {
  upsertStudents(input: $input) {
    results { index outcome student { sourcedId version givenName classLevel }
      userErrors { field code message } }
    createdCount updatedCount unchangedCount failedCount
    userErrors { field code message }
  }
}";

async fn upsert(app: &TestApp, token: &str, input: Value) -> GqlResponse {
    app.gql(UPSERT, json!({ "input": input }), Some(token))
        .await
}

fn payload(response: &GqlResponse) -> &Value {
    &response.data()["upsertStudents"]
}

fn outcomes(response: &GqlResponse) -> Vec<String> {
    payload(response)["results"]
        .as_array()
        .expect("test step")
        .iter()
        .map(|r| r["outcome"].as_str().expect("test step").to_owned())
        .collect()
}

fn strn(identifier: &str) -> Value {
    json!({ "system": "a-sis", "idType": "STRN", "identifier": identifier })
}

async fn row(app: &TestApp, sourced_id: &str) -> Option<person::Model> {
    person::Entity::find()
        .filter(person::Column::SourcedId.eq(sourced_id))
        .one(&app.db)
        .await
        .expect("test step")
}

async fn event_count(app: &TestApp) -> u64 {
    change_event::Entity::find()
        .count(&app.db)
        .await
        .expect("test step")
}

async fn person_count(app: &TestApp) -> u64 {
    person::Entity::find()
        .count(&app.db)
        .await
        .expect("test step")
}

#[tokio::test]
async fn a_school_client_upserts_by_its_own_keys_with_every_outcome() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let (token, _) = client_token(&app, SCHOOL_A, "roster.write pii.student.read").await;
    let existing = &w.students[1];
    let same = &w.students[2];
    let items = json!([
        // 0: a new student, created with the key.
        { "externalId": strn("A7654321"), "sourcedId": "stu-sis-1", "givenName": "Tsz Ching",
          "familyName": "Yip", "classLevel": "S4", "dateOfBirth": "2010-02-03" },
        // 1: a known student whose class level changes.
        { "externalId": strn(&existing.external_identifier), "classLevel": "S6" },
        // 2: a known student sent as stored.
        { "externalId": strn(&same.external_identifier), "classLevel": same.class_level,
          "givenName": same.given_name },
        // 3: a new student without the required names.
        { "externalId": strn("A7654322"), "classLevel": "S4" },
        // 4: school A's key for a student of school B (who transferred): not A's student.
        { "externalId": json!({ "system": "a-sis", "idType": "STRN", "identifier": "A9990001" }),
          "classLevel": "S5" },
    ]);
    let before_events = event_count(&app).await;

    // Act
    let response = upsert(
        &app,
        &token,
        json!({ "key": "EXTERNAL_ID", "items": items }),
    )
    .await;

    // Assert
    let p = payload(&response);
    assert_eq!(p["userErrors"], json!([]));
    assert_eq!(
        outcomes(&response),
        vec!["CREATED", "UPDATED", "UNCHANGED", "FAILED", "FAILED"]
    );
    assert_eq!(
        (
            p["createdCount"].clone(),
            p["updatedCount"].clone(),
            p["unchangedCount"].clone(),
            p["failedCount"].clone()
        ),
        (json!(1), json!(1), json!(1), json!(2))
    );
    let results = p["results"].as_array().expect("test step");
    assert_eq!(results[0]["student"]["sourcedId"], "stu-sis-1");
    assert_eq!(results[1]["student"]["version"], 2);
    assert_eq!(results[1]["student"]["classLevel"], "S6");
    assert_eq!(results[2]["student"]["version"], 1);
    assert_eq!(
        results[3]["userErrors"],
        json!([{ "field": ["input", "items", "3", "givenName"], "code": "BAD_USER_INPUT",
                 "message": "`givenName` is required to create a person" }])
    );
    assert_eq!(results[3]["student"], Value::Null);
    assert_eq!(results[4]["userErrors"][0]["code"], "NOT_FOUND");
    assert_eq!(
        results[4]["userErrors"][0]["field"],
        json!(["input", "items", "4", "externalId"])
    );
    // The new student: person, primary student role at the school from today, the key.
    let created = row(&app, "stu-sis-1").await.expect("created");
    assert_eq!(created.primary_org_id, w.schools[0].id);
    let role = role_assignment::Entity::find()
        .filter(role_assignment::Column::PersonId.eq(created.id))
        .one(&app.db)
        .await
        .expect("test step")
        .expect("test step");
    assert_eq!(
        (role.role.as_str(), role.role_type.as_str(), role.org_id),
        ("student", "primary", w.schools[0].id)
    );
    assert_eq!(role.begin_date, api::access::today());
    let key = external_id::Entity::find()
        .filter(external_id::Column::EntityId.eq(created.id))
        .filter(external_id::Column::EntityType.eq("Person"))
        .one(&app.db)
        .await
        .expect("test step")
        .expect("test step");
    assert_eq!(
        (key.scope_org_id, key.identifier.as_str()),
        (w.schools[0].id, "A7654321")
    );
    assert!(row(&app, "A7654322").await.is_none());
    // School B's student is untouched.
    let transferred = row(&app, &w.students_of(1)[0].person.sourced_id)
        .await
        .expect("test step");
    assert_eq!(transferred.version, 1);
    // Person, role and key created; one person updated.
    assert_eq!(event_count(&app).await, before_events + 4);
}

#[tokio::test]
async fn re_sending_the_same_batch_changes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = coordinator_token(&app, &w, 0);
    let input = json!({ "key": "SOURCED_ID", "items": [
        { "sourcedId": "stu-r-1", "givenName": "Ka Ho", "familyName": "Chow", "classLevel": "S5",
          "email": "kaho@a.example.hk", "metadata": { "house": "Blue" } },
        { "sourcedId": "stu-r-2", "givenName": "Ka Yan", "familyName": "Chow",
          "externalId": strn("A5550001") },
        { "sourcedId": w.students[0].person.sourced_id, "classLevel": "HD1", "preferredName": null },
    ]});
    let first = upsert(&app, &token, input.clone()).await;
    assert_eq!(outcomes(&first), vec!["CREATED", "CREATED", "UPDATED"]);
    let events_after_first = event_count(&app).await;
    let people_after_first = person_count(&app).await;

    // Act
    let second = upsert(&app, &token, input).await;

    // Assert
    assert_eq!(outcomes(&second), vec!["UNCHANGED"; 3]);
    assert_eq!(payload(&second)["unchangedCount"], 3);
    assert_eq!(event_count(&app).await, events_after_first);
    assert_eq!(person_count(&app).await, people_after_first);
    assert_eq!(
        row(&app, &w.students[0].person.sourced_id)
            .await
            .expect("test step")
            .version,
        2
    );
    // A key given with SOURCED_ID is recorded for the new student.
    let key = external_id::Entity::find()
        .filter(external_id::Column::Identifier.eq("A5550001"))
        .one(&app.db)
        .await
        .expect("test step")
        .expect("test step");
    assert_eq!(
        key.entity_id,
        row(&app, "stu-r-2").await.expect("test step").id
    );
}

#[tokio::test]
async fn a_repeated_key_fails_the_later_item_and_another_schools_student_is_not_found() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let other = &w.students_of(1)[0].person;
    let items = json!([
        { "sourcedId": "stu-d-1", "givenName": "A", "familyName": "One" },
        { "sourcedId": "stu-d-1", "givenName": "B", "familyName": "Two" },
        { "sourcedId": other.sourced_id, "preferredName": "Taken over" },
    ]);

    // Act
    let response = upsert(
        &app,
        &coordinator_token(&app, &w, 0),
        json!({ "key": "SOURCED_ID", "items": items }),
    )
    .await;

    // Assert
    assert_eq!(outcomes(&response), vec!["CREATED", "FAILED", "FAILED"]);
    let results = payload(&response)["results"].as_array().expect("test step");
    assert_eq!(results[1]["userErrors"][0]["code"], "DUPLICATE");
    assert_eq!(results[2]["userErrors"][0]["code"], "NOT_FOUND");
    assert_eq!(
        results[2]["userErrors"][0]["field"],
        json!(["input", "items", "2", "sourcedId"])
    );
    assert_eq!(
        row(&app, "stu-d-1").await.expect("test step").given_name,
        "A"
    );
    let untouched = row(&app, &other.sourced_id).await.expect("test step");
    assert_eq!(untouched.version, 1);
    assert_ne!(untouched.preferred_name.as_deref(), Some("Taken over"));
}

#[tokio::test]
async fn a_failed_item_leaves_exactly_that_item_unapplied() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let items = json!([
        { "sourcedId": w.students[1].person.sourced_id, "classLevel": "S6" },
        { "sourcedId": w.students[2].person.sourced_id, "classLevel": "S6", "email": "broken" },
        { "sourcedId": "stu-f-1", "givenName": "New", "familyName": "Student" },
        { "sourcedId": w.students[3].person.sourced_id, "expectedHkdseYear": 1990 },
    ]);

    // Act
    let response = upsert(
        &app,
        &coordinator_token(&app, &w, 0),
        json!({ "key": "SOURCED_ID", "items": items }),
    )
    .await;

    // Assert
    assert_eq!(
        outcomes(&response),
        vec!["UPDATED", "FAILED", "CREATED", "FAILED"]
    );
    let results = payload(&response)["results"].as_array().expect("test step");
    assert_eq!(
        results[1]["userErrors"][0]["field"],
        json!(["input", "items", "1", "email"])
    );
    assert_eq!(
        results[3]["userErrors"][0]["field"],
        json!(["input", "items", "3", "expectedHkdseYear"])
    );
    assert_eq!(
        row(&app, &w.students[1].person.sourced_id)
            .await
            .expect("test step")
            .class_level
            .as_deref(),
        Some("S6")
    );
    let failed = row(&app, &w.students[2].person.sourced_id)
        .await
        .expect("test step");
    assert_eq!(
        (failed.version, failed.class_level.as_deref()),
        (1, Some(w.students[2].class_level.as_str()))
    );
    assert!(row(&app, "stu-f-1").await.is_some());
    assert_eq!(
        row(&app, &w.students[3].person.sourced_id)
            .await
            .expect("test step")
            .version,
        1
    );
}

#[tokio::test]
async fn a_batch_outside_one_to_a_thousand_items_is_refused_whole() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let items: Vec<Value> = (0..1001)
        .map(|n| json!({ "sourcedId": format!("stu-big-{n}"), "givenName": "Big", "familyName": "Batch" }))
        .collect();
    let before = person_count(&app).await;

    for items in [json!(items), json!([])] {
        // Act
        let response = upsert(
            &app,
            &coordinator_token(&app, &w, 0),
            json!({ "key": "SOURCED_ID", "items": items }),
        )
        .await;

        // Assert
        let p = payload(&response);
        assert_eq!(p["results"], json!([]));
        assert_eq!(p["userErrors"][0]["code"], "BAD_USER_INPUT");
        assert_eq!(p["userErrors"][0]["field"], json!(["input", "items"]));
    }
    assert_eq!(person_count(&app).await, before);
}

#[tokio::test]
async fn who_may_upsert_which_schools_students() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let (client_read, _) = client_token(&app, SCHOOL_A, "roster.read").await;
    let (client_minimised, _) = client_token(&app, SCHOOL_A, "roster.write").await;
    let (partner_client, _) = client_token(&app, PARTNER_X, "activities.write").await;
    let item = |sid: &str| json!([{ "sourcedId": sid, "givenName": "Who", "familyName": "May" }]);
    let refused: Vec<(&str, String, Value)> = vec![
        (
            "coordinator naming another school",
            coordinator_token(&app, &w, 0),
            json!({ "key": "SOURCED_ID", "school": SCHOOL_B, "items": item("u-1") }),
        ),
        (
            "teacher",
            person_token(
                &app,
                &w.school_people[0].teacher.sourced_id,
                &["teacher"],
                SCHOOL_A,
            ),
            json!({ "key": "SOURCED_ID", "items": item("u-2") }),
        ),
        (
            "school client without roster.write",
            client_read,
            json!({ "key": "SOURCED_ID", "items": item("u-3") }),
        ),
        (
            "school client writing names it may not read",
            client_minimised.clone(),
            json!({ "key": "SOURCED_ID", "items": item("u-4") }),
        ),
        (
            "partnerCoordinator",
            partner_token(&app, &w),
            json!({ "key": "SOURCED_ID", "school": SCHOOL_A, "items": item("u-5") }),
        ),
        (
            "partner client",
            partner_client,
            json!({ "key": "SOURCED_ID", "school": SCHOOL_A, "items": item("u-6") }),
        ),
        (
            "mentor",
            person_token(&app, &w.mentor.sourced_id, &["mentor"], PARTNER_X),
            json!({ "key": "SOURCED_ID", "school": SCHOOL_A, "items": item("u-7") }),
        ),
        (
            "student",
            person_token(
                &app,
                &w.students[0].person.sourced_id,
                &["student"],
                SCHOOL_A,
            ),
            json!({ "key": "SOURCED_ID", "items": item("u-8") }),
        ),
        (
            "guardian",
            person_token(
                &app,
                &w.school_people[0].guardian.sourced_id,
                &["guardian"],
                SCHOOL_A,
            ),
            json!({ "key": "SOURCED_ID", "items": item("u-9") }),
        ),
        (
            "evaluator",
            app.token(&["evaluator"], OFFICE),
            json!({ "key": "SOURCED_ID", "school": SCHOOL_A, "items": item("u-10") }),
        ),
    ];
    let before = person_count(&app).await;
    for (who, token, input) in refused {
        // Act
        let response = upsert(&app, &token, input).await;
        // Assert
        assert_eq!(
            response.error_code(),
            Some("FORBIDDEN"),
            "{who}: {}",
            response.body
        );
    }
    assert_eq!(person_count(&app).await, before);

    // Programme staff name the school; without one it is a user error.
    let staff = staff_token(&app, &w);
    let unnamed = upsert(
        &app,
        &staff,
        json!({ "key": "SOURCED_ID", "items": item("u-11") }),
    )
    .await;
    assert_eq!(
        payload(&unnamed)["userErrors"][0]["field"],
        json!(["input", "school"])
    );
    let named = upsert(
        &app,
        &staff,
        json!({ "key": "SOURCED_ID", "school": SCHOOL_B, "items": item("u-12") }),
    )
    .await;
    assert_eq!(outcomes(&named), vec!["CREATED"]);
    assert_eq!(
        row(&app, "u-12").await.expect("test step").primary_org_id,
        w.schools[1].id
    );
    // A school client without pii.student.read may still update minimised fields.
    let minimised = upsert(
        &app,
        &client_minimised,
        json!({ "key": "SOURCED_ID", "items": [
            { "sourcedId": w.students[0].person.sourced_id, "classLevel": "S6" }] }),
    )
    .await;
    assert_eq!(outcomes(&minimised), vec!["UPDATED"]);
    // programmeAdmin too.
    let admin = upsert(
        &app,
        &app.admin_token(),
        json!({ "key": "SOURCED_ID", "school": SCHOOL_A, "items": item("u-13") }),
    )
    .await;
    assert_eq!(outcomes(&admin), vec!["CREATED"]);
}

#[tokio::test]
async fn a_thousand_new_students_take_a_handful_of_statements() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = coordinator_token(&app, &w, 0);
    let items: Vec<Value> = (0..1000)
        .map(|n| {
            json!({ "externalId": strn(&format!("B{n:07}")), "givenName": "Bulk",
                    "familyName": format!("Student{n}"), "classLevel": "S4" })
        })
        .collect();
    let input = json!({ "key": "EXTERNAL_ID", "items": items });
    let query = "mutation($input: UpsertStudentsInput!) { upsertStudents(input: $input) {
        createdCount unchangedCount userErrors { code } } }";

    // Act
    let statements = app
        .statements_once(query, json!({ "input": input.clone() }), &token)
        .await;
    let again = app
        .statements_once(query, json!({ "input": input }), &token)
        .await;

    // Assert
    let created = external_id::Entity::find()
        .filter(external_id::Column::System.eq("a-sis"))
        .filter(external_id::Column::Identifier.starts_with("B"))
        .count(&app.db)
        .await
        .expect("test step");
    assert_eq!(created, 1000);
    assert!(
        statements <= 40,
        "{statements} statements to create 1,000 students"
    );
    assert!(
        again <= 20,
        "{again} statements to find 1,000 students unchanged"
    );
}

#[tokio::test]
async fn an_upserted_birth_date_that_ends_consent_pauses_and_revokes_like_an_update() {
    // Arrange: an adult student with only their own consent for partner X, mentored by it.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = &w.students[0].person;
    crate::consents::set_age(&app, student, 19).await;
    integration_tests::fixtures::tombstone(&app.db, "guardian_link", w.guardian_links[0].0.id)
        .await;
    let mentorship = integration_tests::fixtures::add_mentorship(
        &app.db,
        "mentorship-up-1",
        &w.mentor,
        student,
        &w.partners[0],
        &w.pathway,
        "active",
    )
    .await;

    // Act
    let response = upsert(
        &app,
        &coordinator_token(&app, &w, 0),
        json!({ "key": "SOURCED_ID", "items": [
            { "sourcedId": student.sourced_id, "dateOfBirth": "2011-01-01" }] }),
    )
    .await;

    // Assert
    assert_eq!(outcomes(&response), vec!["UPDATED"]);
    let paused = entity::mentorship::Entity::find_by_id(mentorship.id)
        .one(&app.db)
        .await
        .expect("read")
        .expect("mentorship");
    assert_eq!(paused.state, "paused");
    let revoked = change_event::Entity::find()
        .filter(change_event::Column::Operation.eq("accessRevoked"))
        .all(&app.db)
        .await
        .expect("events");
    assert_eq!(revoked.len(), 1);
    assert_eq!(
        (revoked[0].sourced_id.as_str(), revoked[0].audience_org_id),
        (student.sourced_id.as_str(), Some(w.partners[0].id))
    );
}

#[tokio::test]
async fn an_item_with_expected_version_applies_only_at_that_version_and_never_creates() {
    // Arrange: seeded students are at version 1.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let items = json!([
        // 0: the version read: applied.
        { "sourcedId": w.students[1].person.sourced_id, "preferredName": "Versioned",
          "expectedVersion": 1 },
        // 1: a stale version: not applied.
        { "sourcedId": w.students[2].person.sourced_id, "preferredName": "Stale",
          "expectedVersion": 7 },
        // 2: a version for a key that matches nobody: not created.
        { "sourcedId": "stu-v-new", "givenName": "New", "familyName": "Student",
          "expectedVersion": 1 },
        // 3: no version: values compared, applied.
        { "sourcedId": w.students[3].person.sourced_id, "preferredName": "Unversioned" },
    ]);

    // Act
    let response = upsert(
        &app,
        &coordinator_token(&app, &w, 0),
        json!({ "key": "SOURCED_ID", "items": items }),
    )
    .await;

    // Assert
    let p = payload(&response);
    assert_eq!(p["userErrors"], json!([]));
    assert_eq!(
        outcomes(&response),
        vec!["UPDATED", "FAILED", "FAILED", "UPDATED"]
    );
    assert_eq!(
        (
            p["createdCount"].clone(),
            p["updatedCount"].clone(),
            p["unchangedCount"].clone(),
            p["failedCount"].clone()
        ),
        (json!(0), json!(2), json!(0), json!(2))
    );
    let results = p["results"].as_array().expect("test step");
    assert_eq!(results[0]["student"]["version"], 2);
    assert_eq!(
        results[1]["userErrors"],
        json!([{ "field": ["input", "items", "1"], "code": "VERSION_CONFLICT",
                 "message": format!("Person {} is at version 1, not 7; read it again and retry",
                                    w.students[2].person.sourced_id) }])
    );
    assert_eq!(results[1]["student"], Value::Null);
    assert_eq!(
        results[2]["userErrors"],
        json!([{ "field": ["input", "items", "2", "expectedVersion"], "code": "BAD_USER_INPUT",
                 "message": "no record matches the key; omit expectedVersion to create" }])
    );
    let applied = row(&app, &w.students[1].person.sourced_id)
        .await
        .expect("test step");
    assert_eq!(
        (applied.version, applied.preferred_name.as_deref()),
        (2, Some("Versioned"))
    );
    let stale = row(&app, &w.students[2].person.sourced_id)
        .await
        .expect("test step");
    assert_eq!(
        (stale.version, stale.preferred_name),
        (1, w.students[2].preferred_name.clone())
    );
    assert!(row(&app, "stu-v-new").await.is_none());
    let unversioned = row(&app, &w.students[3].person.sourced_id)
        .await
        .expect("test step");
    assert_eq!(
        (unversioned.version, unversioned.preferred_name.as_deref()),
        (2, Some("Unversioned"))
    );
}
