//! Writing people (DOMAIN.md area A): persons, role assignments, guardian links and external
//! ids. Who may (the authorization matrix of each mutation), field rules as user errors with
//! nothing written, optimistic concurrency, tombstones, and the consent rule: a guardian-link or
//! date-of-birth write that ends effective consent pauses mentorships and revokes the partner's
//! access in the same transaction.

use entity::{external_id, guardian_link, mentorship, person, role_assignment, status_history};
use integration_tests::fixtures::{
    OFFICE, PARTNER_X, Ref, SCHOOL_A, SCHOOL_B, World, add_mentorship, seed_world, tombstone,
};
use integration_tests::{GqlResponse, TestApp, global_id, spawn_app};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::consents::{
    client_token, coordinator_token, events, mentor_token, partner_token, person_token, set_age,
    staff_token,
};

const CREATE_PERSON: &str = "mutation($input: CreatePersonInput!) {
  createPerson(input: $input) {
    person { sourcedId version givenName familyName email phone classLevel expectedHkdseYear
      enabledUser dateOfBirth metadata primaryOrg { sourcedId } }
    roleAssignment { sourcedId role roleType beginDate org { sourcedId } }
    userErrors { field code message }
  }
}";

const UPDATE_PERSON: &str = "mutation($input: UpdatePersonInput!) {
  updatePerson(input: $input) {
    person { sourcedId version givenName preferredName classLevel email }
    pausedMentorships { sourcedId state }
    accessRevoked
    userErrors { field code message }
  }
}";

const DELETE_PERSON: &str = "mutation($input: DeletePersonInput!) {
  deletePerson(input: $input) {
    person { sourcedId status version }
    userErrors { field code message }
  }
}";

const CREATE_ROLE: &str = "mutation($input: CreateRoleAssignmentInput!) {
  createRoleAssignment(input: $input) {
    roleAssignment { sourcedId role roleExtension roleType beginDate endDate version }
    userErrors { field code message }
  }
}";

const UPDATE_ROLE: &str = "mutation($input: UpdateRoleAssignmentInput!) {
  updateRoleAssignment(input: $input) {
    roleAssignment { sourcedId roleType endDate version }
    userErrors { field code message }
  }
}";

const DELETE_ROLE: &str = "mutation($input: DeleteRoleAssignmentInput!) {
  deleteRoleAssignment(input: $input) {
    roleAssignment { sourcedId status version }
    userErrors { field code message }
  }
}";

const CREATE_LINK: &str = "mutation($input: CreateGuardianLinkInput!) {
  createGuardianLink(input: $input) {
    guardianLink { sourcedId relationship hasParentalResponsibility version }
    userErrors { field code message }
  }
}";

const UPDATE_LINK: &str = "mutation($input: UpdateGuardianLinkInput!) {
  updateGuardianLink(input: $input) {
    guardianLink { sourcedId hasParentalResponsibility version }
    pausedMentorships { sourcedId state version }
    accessRevoked
    userErrors { field code message }
  }
}";

const DELETE_LINK: &str = "mutation($input: DeleteGuardianLinkInput!) {
  deleteGuardianLink(input: $input) {
    guardianLink { sourcedId status version }
    pausedMentorships { sourcedId state version }
    accessRevoked
    userErrors { field code message }
  }
}";

const CREATE_XID: &str = "mutation($input: CreateExternalIdInput!) {
  createExternalId(input: $input) {
    externalId { sourcedId entityType system idType identifier scopeOrg { sourcedId } }
    userErrors { field code message }
  }
}";

const DELETE_XID: &str = "mutation($input: DeleteExternalIdInput!) {
  deleteExternalId(input: $input) {
    externalId { sourcedId status }
    userErrors { field code message }
  }
}";

async fn run(app: &TestApp, query: &str, token: &str, input: Value) -> GqlResponse {
    app.gql(query, json!({ "input": input }), Some(token)).await
}

fn user_errors(response: &GqlResponse, mutation: &str) -> Value {
    response.data()[mutation]["userErrors"].clone()
}

async fn person_count(app: &TestApp) -> u64 {
    person::Entity::find()
        .count(&app.db)
        .await
        .expect("test step")
}

async fn person_row(app: &TestApp, sourced_id: &str) -> person::Model {
    person::Entity::find()
        .filter(person::Column::SourcedId.eq(sourced_id))
        .one(&app.db)
        .await
        .expect("test step")
        .expect("the person row")
}

fn teacher_token(app: &TestApp, w: &World) -> String {
    person_token(
        app,
        &w.school_people[0].teacher.sourced_id,
        &["teacher"],
        SCHOOL_A,
    )
}

fn student_token(app: &TestApp, w: &World) -> String {
    person_token(
        app,
        &w.students[0].person.sourced_id,
        &["student"],
        SCHOOL_A,
    )
}

fn guardian_token(app: &TestApp, w: &World) -> String {
    person_token(
        app,
        &w.school_people[0].guardian.sourced_id,
        &["guardian"],
        SCHOOL_A,
    )
}

fn new_student(sourced_id: &str) -> Value {
    json!({
        "givenName": "Hoi Yan",
        "familyName": "Leung",
        "email": "hoiyan@a.example.hk",
        "classLevel": "S4",
        "expectedHkdseYear": 2029,
        "sourcedId": sourced_id,
    })
}

// ---------------------------------------------------------------------------------------------
// createPerson

#[tokio::test]
async fn a_school_coordinator_creates_a_student_of_their_school_with_the_student_role() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let mut input = new_student("stu-new-1");
    input["dateOfBirth"] = json!("2010-03-04");
    input["metadata"] = json!({ "house": "Red" });

    // Act
    let response = run(&app, CREATE_PERSON, &coordinator_token(&app, &w, 0), input).await;

    // Assert
    let payload = &response.data()["createPerson"];
    assert_eq!(payload["userErrors"], json!([]));
    let created = &payload["person"];
    assert_eq!(created["sourcedId"], "stu-new-1");
    assert_eq!(created["version"], 1);
    assert_eq!(created["primaryOrg"]["sourcedId"], SCHOOL_A);
    assert_eq!(created["dateOfBirth"], "2010-03-04");
    assert_eq!(created["enabledUser"], false);
    assert_eq!(created["metadata"], json!({ "house": "Red" }));
    let role = &payload["roleAssignment"];
    assert_eq!(role["role"], "STUDENT");
    assert_eq!(role["roleType"], "PRIMARY");
    assert_eq!(role["org"]["sourcedId"], SCHOOL_A);
    // The school sees its new student in its roster straight away.
    let roster = app
        .gql(
            "{ students(filter: { sourcedId: { eq: \"stu-new-1\" } }) { edges { node { sourcedId } } } }",
            json!({}),
            Some(&coordinator_token(&app, &w, 0)),
        )
        .await;
    assert_eq!(
        integration_tests::sourced_ids(&roster.data()["students"]),
        vec!["stu-new-1"]
    );
    let row = person_row(&app, "stu-new-1").await;
    let feed = events(&app).await;
    let last: Vec<(&str, &str, &str)> = feed
        .iter()
        .rev()
        .take(2)
        .map(|e| {
            (
                e.entity_type.as_str(),
                e.operation.as_str(),
                e.sourced_id.as_str(),
            )
        })
        .collect();
    assert!(last.contains(&("Person", "create", row.sourced_id.as_str())));
    assert!(
        last.iter()
            .any(|(t, op, _)| *t == "RoleAssignment" && *op == "create")
    );
}

#[tokio::test]
async fn who_may_create_a_person() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let (client_pii, _) = client_token(&app, SCHOOL_A, "roster.write pii.student.read").await;
    let (client_minimised, _) = client_token(&app, SCHOOL_A, "roster.write").await;
    let (client_read, _) = client_token(&app, SCHOOL_A, "roster.read").await;
    let (partner_client, _) = client_token(&app, PARTNER_X, "activities.write").await;
    let at_school_a = |sid: &str| {
        let mut input = new_student(sid);
        input["primaryOrg"] = json!(global_id("Organization", SCHOOL_A));
        input
    };
    let allowed: Vec<(&str, String, Value)> = vec![
        ("programmeAdmin", app.admin_token(), at_school_a("p-admin")),
        (
            "programmeStaff",
            staff_token(&app, &w),
            at_school_a("p-staff"),
        ),
        (
            "schoolCoordinator",
            coordinator_token(&app, &w, 0),
            new_student("p-crd"),
        ),
        (
            "school client with roster.write",
            client_pii,
            new_student("p-client"),
        ),
        (
            "partnerCoordinator (own mentor)",
            partner_token(&app, &w),
            json!({ "givenName": "Ming", "familyName": "Ho", "sourcedId": "p-mentor" }),
        ),
    ];
    let refused: Vec<(&str, String, Value)> = vec![
        (
            "schoolCoordinator of another school",
            coordinator_token(&app, &w, 1),
            at_school_a("r-1"),
        ),
        ("teacher", teacher_token(&app, &w), new_student("r-2")),
        (
            "school client without roster.write",
            client_read,
            new_student("r-3"),
        ),
        (
            "school client without pii.student.read",
            client_minimised,
            new_student("r-4"),
        ),
        (
            "partnerCoordinator at a school",
            partner_token(&app, &w),
            at_school_a("r-5"),
        ),
        ("partner client", partner_client, new_student("r-6")),
        ("mentor", mentor_token(&app, &w), new_student("r-7")),
        ("student", student_token(&app, &w), new_student("r-8")),
        ("guardian", guardian_token(&app, &w), new_student("r-9")),
        (
            "evaluator",
            app.token(&["evaluator"], OFFICE),
            at_school_a("r-10"),
        ),
    ];

    // Act + Assert
    for (who, token, input) in refused {
        let before = person_count(&app).await;
        let response = run(&app, CREATE_PERSON, &token, input).await;
        assert_eq!(
            response.error_code(),
            Some("FORBIDDEN"),
            "{who}: {}",
            response.body
        );
        assert_eq!(person_count(&app).await, before, "{who} wrote a person");
    }
    for (who, token, input) in allowed {
        let sid = input["sourcedId"].as_str().expect("test step").to_owned();
        let response = run(&app, CREATE_PERSON, &token, input).await;
        assert_eq!(user_errors(&response, "createPerson"), json!([]), "{who}");
        assert_eq!(
            response.data()["createPerson"]["person"]["sourcedId"],
            sid.as_str(),
            "{who}"
        );
    }
    let mentor = person_row(&app, "p-mentor").await;
    assert_eq!(mentor.primary_org_id, w.partners[0].id);
    let mentor_role = role_assignment::Entity::find()
        .filter(role_assignment::Column::PersonId.eq(mentor.id))
        .one(&app.db)
        .await
        .expect("test step")
        .expect("test step");
    assert_eq!(mentor_role.role, "mentor");
    // Programme staff made no role unless asked.
    let staff_made = person_row(&app, "p-staff").await;
    assert_eq!(
        role_assignment::Entity::find()
            .filter(role_assignment::Column::PersonId.eq(staff_made.id))
            .count(&app.db)
            .await
            .expect("test step"),
        0
    );
}

#[tokio::test]
async fn every_person_field_rule_is_a_user_error_on_its_field_and_writes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = coordinator_token(&app, &w, 0);
    let cases: Vec<(&str, Value, &str)> = vec![
        ("givenName", json!(""), "BAD_USER_INPUT"),
        ("familyName", json!("x".repeat(256)), "BAD_USER_INPUT"),
        ("email", json!("not-an-email"), "BAD_USER_INPUT"),
        ("phone", json!("call me"), "BAD_USER_INPUT"),
        ("dateOfBirth", json!("2999-01-01"), "BAD_USER_INPUT"),
        ("dateOfBirth", json!("1850-01-01"), "BAD_USER_INPUT"),
        ("classLevel", json!("P6"), "BAD_USER_INPUT"),
        ("classLevel", json!("ext:"), "BAD_USER_INPUT"),
        ("expectedHkdseYear", json!(1999), "BAD_USER_INPUT"),
        ("metadata", json!([1, 2]), "BAD_USER_INPUT"),
        (
            "metadata",
            json!({ "x": "y".repeat(17 * 1024) }),
            "BAD_USER_INPUT",
        ),
        ("primaryOrg", json!("org-nowhere"), "BAD_USER_INPUT"),
        ("sourcedId", json!("has space"), "BAD_USER_INPUT"),
    ];
    let before = person_count(&app).await;

    for (field, value, code) in cases {
        let mut input = new_student("stu-bad");
        input[field] = value;

        // Act
        let response = run(&app, CREATE_PERSON, &token, input).await;

        // Assert
        let errors = user_errors(&response, "createPerson");
        assert_eq!(errors[0]["code"], code, "{field}: {errors}");
        assert_eq!(
            errors[0]["field"],
            json!(["input", field]),
            "{field}: {errors}"
        );
        assert_eq!(response.data()["createPerson"]["person"], Value::Null);
    }
    // The initial role's period, and a sourcedId in use.
    let mut input = new_student("stu-bad");
    input["role"] = json!({ "beginDate": "2026-09-01", "endDate": "2026-09-01" });
    let response = run(&app, CREATE_PERSON, &token, input).await;
    assert_eq!(
        user_errors(&response, "createPerson")[0]["field"],
        json!(["input", "role", "endDate"])
    );
    let response = run(
        &app,
        CREATE_PERSON,
        &token,
        new_student(&w.students[0].person.sourced_id),
    )
    .await;
    assert_eq!(
        user_errors(&response, "createPerson")[0]["code"],
        "DUPLICATE"
    );
    assert_eq!(person_count(&app).await, before);
    let read = app
        .gql_admin(
            "{ people(filter: { sourcedId: { eq: \"stu-bad\" } }, includeDeleted: true) { edges { node { sourcedId } } } }",
            json!({}),
        )
        .await;
    assert_eq!(read.data()["people"]["edges"], json!([]));
}

#[tokio::test]
async fn programme_staff_may_not_write_birth_dates_they_cannot_read() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let mut input = new_student("stu-dob");
    input["primaryOrg"] = json!(SCHOOL_A);
    input["dateOfBirth"] = json!("2010-01-01");
    let before = person_count(&app).await;

    // Act
    let response = run(&app, CREATE_PERSON, &staff_token(&app, &w), input).await;

    // Assert
    assert_eq!(
        response.error_code(),
        Some("FORBIDDEN"),
        "{}",
        response.body
    );
    assert_eq!(person_count(&app).await, before);
}

// ---------------------------------------------------------------------------------------------
// updatePerson / deletePerson

#[tokio::test]
async fn who_may_update_a_student() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = &w.students[1].person;
    let (client_pii, _) = client_token(&app, SCHOOL_A, "roster.write pii.student.read").await;
    let (client_minimised, _) = client_token(&app, SCHOOL_A, "roster.write").await;
    let (client_read, _) = client_token(&app, SCHOOL_A, "roster.read").await;
    let (partner_client, _) = client_token(&app, PARTNER_X, "activities.write").await;
    let change = |name: &str| json!({ "person": student.gid(), "preferredName": name });
    let refused: Vec<(&str, String, &str)> = vec![
        (
            "schoolCoordinator of another school",
            coordinator_token(&app, &w, 1),
            "NOT_FOUND",
        ),
        ("teacher", teacher_token(&app, &w), "FORBIDDEN"),
        (
            "school client without roster.write",
            client_read,
            "FORBIDDEN",
        ),
        ("partnerCoordinator", partner_token(&app, &w), "NOT_FOUND"),
        ("partner client", partner_client, "FORBIDDEN"),
        ("mentor", mentor_token(&app, &w), "FORBIDDEN"),
        ("student", student_token(&app, &w), "FORBIDDEN"),
        ("guardian", guardian_token(&app, &w), "FORBIDDEN"),
        ("evaluator", app.token(&["evaluator"], OFFICE), "FORBIDDEN"),
    ];
    let allowed: Vec<(&str, String)> = vec![
        ("programmeAdmin", app.admin_token()),
        ("programmeStaff", staff_token(&app, &w)),
        ("schoolCoordinator", coordinator_token(&app, &w, 0)),
        ("school client with roster.write", client_pii),
        // A minimised field is writable without pii.student.read.
        (
            "school client without pii.student.read",
            client_minimised.clone(),
        ),
    ];

    // Act + Assert
    for (who, token, code) in refused {
        let response = run(&app, UPDATE_PERSON, &token, change(who)).await;
        assert_eq!(
            response.error_code(),
            Some(code),
            "{who}: {}",
            response.body
        );
        assert_eq!(
            person_row(&app, &student.sourced_id).await.version,
            1,
            "{who}"
        );
    }
    let mut version = 1;
    for (who, token) in allowed {
        let response = run(&app, UPDATE_PERSON, &token, change(who)).await;
        assert_eq!(user_errors(&response, "updatePerson"), json!([]), "{who}");
        version += 1;
        let row = person_row(&app, &student.sourced_id).await;
        assert_eq!(
            (row.preferred_name.as_deref(), row.version),
            (Some(who), version)
        );
    }
    // Without pii.student.read a school client may not write what it cannot read.
    let response = run(
        &app,
        UPDATE_PERSON,
        &client_minimised,
        json!({ "person": student.gid(), "givenName": "Changed" }),
    )
    .await;
    assert_eq!(response.error_code(), Some("FORBIDDEN"));
    assert_eq!(
        person_row(&app, &student.sourced_id).await.given_name,
        w.students[1].given_name
    );
}

#[tokio::test]
async fn an_update_changes_given_fields_clears_nulls_and_rejects_clearing_required_ones() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = &w.students[0];
    let token = coordinator_token(&app, &w, 0);

    // Act
    let response = run(
        &app,
        UPDATE_PERSON,
        &token,
        json!({ "person": student.person.gid(), "expectedVersion": 1, "preferredName": null,
                "classLevel": "S5" }),
    )
    .await;
    let cleared_name = run(
        &app,
        UPDATE_PERSON,
        &token,
        json!({ "person": student.person.gid(), "givenName": null }),
    )
    .await;
    let cleared_enabled = run(
        &app,
        UPDATE_PERSON,
        &token,
        json!({ "person": student.person.gid(), "enabledUser": null }),
    )
    .await;
    let bad_email = run(
        &app,
        UPDATE_PERSON,
        &token,
        json!({ "person": student.person.gid(), "email": "a@b" }),
    )
    .await;

    // Assert
    let updated = &response.data()["updatePerson"]["person"];
    assert_eq!(updated["preferredName"], Value::Null);
    assert_eq!(updated["classLevel"], "S5");
    assert_eq!(updated["givenName"], student.given_name.as_str());
    assert_eq!(updated["email"], json!(student.email));
    assert_eq!(updated["version"], 2);
    for (response, field) in [
        (cleared_name, "givenName"),
        (cleared_enabled, "enabledUser"),
        (bad_email, "email"),
    ] {
        let errors = user_errors(&response, "updatePerson");
        assert_eq!(errors[0]["code"], "BAD_USER_INPUT");
        assert_eq!(errors[0]["field"], json!(["input", field]));
    }
    let row = person_row(&app, &student.person.sourced_id).await;
    assert_eq!(row.version, 2);
    assert_eq!(row.given_name, student.given_name);
}

#[tokio::test]
async fn two_updates_with_the_same_expected_version_one_wins_and_one_conflicts() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = &w.students[2].person;
    let token = coordinator_token(&app, &w, 0);
    let input = |name: &str| json!({ "person": student.gid(), "expectedVersion": 1, "preferredName": name });

    // Act
    let (first, second) = tokio::join!(
        run(&app, UPDATE_PERSON, &token, input("First")),
        run(&app, UPDATE_PERSON, &token, input("Second")),
    );

    // Assert
    let outcomes: Vec<Value> = [&first, &second]
        .iter()
        .map(|r| user_errors(r, "updatePerson"))
        .collect();
    let won = outcomes.iter().filter(|e| **e == json!([])).count();
    assert_eq!(won, 1, "{outcomes:?}");
    let lost = outcomes
        .iter()
        .find(|e| **e != json!([]))
        .expect("test step");
    assert_eq!(lost[0]["code"], "VERSION_CONFLICT");
    assert!(
        lost[0]["message"]
            .as_str()
            .expect("test step")
            .contains("version 2")
    );
    let row = person_row(&app, &student.sourced_id).await;
    assert_eq!(row.version, 2);
}

#[tokio::test]
async fn a_deleted_person_is_a_tombstone_seen_only_with_include_deleted() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = &w.students[3].person;
    let token = coordinator_token(&app, &w, 0);
    let stale = run(
        &app,
        DELETE_PERSON,
        &token,
        json!({ "person": student.gid(), "expectedVersion": 7 }),
    )
    .await;
    assert_eq!(
        user_errors(&stale, "deletePerson")[0]["code"],
        "VERSION_CONFLICT"
    );

    // Act
    let response = run(
        &app,
        DELETE_PERSON,
        &token,
        json!({ "person": student.gid(), "expectedVersion": 1 }),
    )
    .await;
    let again = run(
        &app,
        DELETE_PERSON,
        &token,
        json!({ "person": student.gid() }),
    )
    .await;

    // Assert
    let deleted = &response.data()["deletePerson"]["person"];
    assert_eq!(deleted["status"], "TOBEDELETED");
    assert_eq!(deleted["version"], 2);
    assert_eq!(
        user_errors(&again, "deletePerson")[0]["code"],
        "INVALID_TRANSITION"
    );
    let query = "query($deleted: Boolean!) { people(filter: { sourcedId: { eq: \"stu-a-04\" } },
        includeDeleted: $deleted) { edges { node { sourcedId status } } } }";
    let hidden = app.gql_admin(query, json!({ "deleted": false })).await;
    assert_eq!(hidden.data()["people"]["edges"], json!([]));
    let shown = app.gql_admin(query, json!({ "deleted": true })).await;
    assert_eq!(
        shown.data()["people"]["edges"],
        json!([{ "node": { "sourcedId": "stu-a-04", "status": "TOBEDELETED" } }])
    );
    let last = events(&app).await.pop().expect("test step");
    assert_eq!(
        (
            last.entity_type.as_str(),
            last.operation.as_str(),
            last.version
        ),
        ("Person", "delete", 2)
    );
}

// ---------------------------------------------------------------------------------------------
// Role assignments

#[tokio::test]
async fn who_may_assign_which_role_where() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let teacher = &w.school_people[0].teacher;
    let (client_write, _) = client_token(&app, SCHOOL_A, "roster.write").await;
    let (client_read, _) = client_token(&app, SCHOOL_A, "roster.read").await;
    let role = |role: &str, org: &str, person: &Ref, sid: &str| {
        json!({ "person": person.gid(), "org": org, "role": role, "roleType": "SECONDARY",
                "beginDate": "2026-09-01", "sourcedId": sid })
    };
    let cases: Vec<(&str, String, Value, Option<&str>)> = vec![
        (
            "coordinator: guardian at own school",
            coordinator_token(&app, &w, 0),
            role("guardian", SCHOOL_A, teacher, "ra-1"),
            None,
        ),
        (
            "school client: teacher at own school",
            client_write,
            role("teacher", SCHOOL_A, teacher, "ra-2"),
            None,
        ),
        (
            "coordinator: coordinator role",
            coordinator_token(&app, &w, 0),
            role("schoolCoordinator", SCHOOL_A, teacher, "ra-3"),
            Some("FORBIDDEN"),
        ),
        (
            "coordinator: another school",
            coordinator_token(&app, &w, 0),
            role("teacher", SCHOOL_B, teacher, "ra-4"),
            Some("FORBIDDEN"),
        ),
        (
            "coordinator: a person it cannot see",
            coordinator_token(&app, &w, 0),
            role("teacher", SCHOOL_A, &w.school_people[1].teacher, "ra-5"),
            Some("NOT_FOUND"),
        ),
        (
            "school client without roster.write",
            client_read,
            role("teacher", SCHOOL_A, teacher, "ra-6"),
            Some("FORBIDDEN"),
        ),
        (
            "teacher",
            teacher_token(&app, &w),
            role("student", SCHOOL_A, teacher, "ra-7"),
            Some("FORBIDDEN"),
        ),
        (
            "partner: mentor at own org",
            partner_token(&app, &w),
            role("mentor", PARTNER_X, &w.mentor, "ra-8"),
            None,
        ),
        (
            "partner: student at a school",
            partner_token(&app, &w),
            role("student", SCHOOL_A, &w.mentor, "ra-9"),
            Some("FORBIDDEN"),
        ),
        (
            "mentor",
            mentor_token(&app, &w),
            role("mentor", PARTNER_X, &w.mentor, "ra-10"),
            Some("FORBIDDEN"),
        ),
        (
            "student",
            student_token(&app, &w),
            role("student", SCHOOL_A, teacher, "ra-11"),
            Some("FORBIDDEN"),
        ),
        (
            "guardian",
            guardian_token(&app, &w),
            role("student", SCHOOL_A, teacher, "ra-12"),
            Some("FORBIDDEN"),
        ),
        (
            "evaluator",
            app.token(&["evaluator"], OFFICE),
            role("student", SCHOOL_A, teacher, "ra-13"),
            Some("FORBIDDEN"),
        ),
        (
            "programme staff: anything",
            staff_token(&app, &w),
            role("ext:alumniAmbassador", SCHOOL_B, teacher, "ra-14"),
            None,
        ),
    ];

    for (who, token, input, refused) in cases {
        let sid = input["sourcedId"].as_str().expect("test step").to_owned();
        // Act
        let response = run(&app, CREATE_ROLE, &token, input).await;
        // Assert
        let stored = role_assignment::Entity::find()
            .filter(role_assignment::Column::SourcedId.eq(sid.as_str()))
            .count(&app.db)
            .await
            .expect("test step");
        match refused {
            Some(code) => {
                assert_eq!(
                    response.error_code(),
                    Some(code),
                    "{who}: {}",
                    response.body
                );
                assert_eq!(stored, 0, "{who}");
            }
            None => {
                assert_eq!(
                    user_errors(&response, "createRoleAssignment"),
                    json!([]),
                    "{who}"
                );
                assert_eq!(stored, 1, "{who}");
            }
        }
    }
    let ext = role_assignment::Entity::find()
        .filter(role_assignment::Column::SourcedId.eq("ra-14"))
        .one(&app.db)
        .await
        .expect("test step")
        .expect("test step");
    assert_eq!(ext.role, "ext:alumniAmbassador");
}

#[tokio::test]
async fn role_rules_one_primary_per_org_then_update_and_delete() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = coordinator_token(&app, &w, 0);
    let student = &w.students[1].person;
    let base = json!({ "person": student.gid(), "org": SCHOOL_A, "role": "guardian",
                       "beginDate": "2099-09-01" });
    let with = |field: &str, value: Value| {
        let mut input = base.clone();
        input[field] = value;
        input
    };

    // Act + Assert: the field rules.
    let bad_role = run(&app, CREATE_ROLE, &token, with("role", json!("janitor"))).await;
    assert_eq!(
        user_errors(&bad_role, "createRoleAssignment")[0]["field"],
        json!(["input", "role"])
    );
    let bad_end = run(
        &app,
        CREATE_ROLE,
        &token,
        with("endDate", json!("2099-08-31")),
    )
    .await;
    let errors = user_errors(&bad_end, "createRoleAssignment");
    assert_eq!(
        (errors[0]["code"].clone(), errors[0]["field"].clone()),
        (json!("BAD_USER_INPUT"), json!(["input", "endDate"]))
    );
    // The student already holds an open-ended primary role at school A.
    let second_primary = run(&app, CREATE_ROLE, &token, base.clone()).await;
    assert_eq!(
        user_errors(&second_primary, "createRoleAssignment")[0]["code"],
        "DUPLICATE"
    );
    let count = role_assignment::Entity::find()
        .filter(role_assignment::Column::PersonId.eq(student.id))
        .count(&app.db)
        .await
        .expect("test step");
    assert_eq!(count, 1);

    // End the student role, then the new primary role no longer overlaps.
    let seeded = &w.students[1].role_assignment;
    let ended = run(
        &app,
        UPDATE_ROLE,
        &token,
        json!({ "roleAssignment": seeded.gid(), "expectedVersion": 1, "endDate": "2099-09-01" }),
    )
    .await;
    assert_eq!(
        ended.data()["updateRoleAssignment"]["roleAssignment"],
        json!({ "sourcedId": seeded.sourced_id, "roleType": "PRIMARY", "endDate": "2099-09-01",
                "version": 2 })
    );
    let now_free = run(&app, CREATE_ROLE, &token, base.clone()).await;
    assert_eq!(user_errors(&now_free, "createRoleAssignment"), json!([]));
    let stale = run(
        &app,
        UPDATE_ROLE,
        &token,
        json!({ "roleAssignment": seeded.gid(), "expectedVersion": 1, "endDate": null }),
    )
    .await;
    assert_eq!(
        user_errors(&stale, "updateRoleAssignment")[0]["code"],
        "VERSION_CONFLICT"
    );
    let deleted = run(
        &app,
        DELETE_ROLE,
        &token,
        json!({ "roleAssignment": now_free.data()["createRoleAssignment"]["roleAssignment"]["sourcedId"] }),
    )
    .await;
    assert_eq!(
        deleted.data()["deleteRoleAssignment"]["roleAssignment"]["status"],
        "TOBEDELETED"
    );
}

// ---------------------------------------------------------------------------------------------
// Guardian links

#[tokio::test]
async fn who_may_link_a_guardian_and_the_link_rules() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = &w.students[2].person;
    let guardian = &w.school_people[0].guardian;
    let (client_write, _) = client_token(&app, SCHOOL_A, "roster.write").await;
    let (client_read, _) = client_token(&app, SCHOOL_A, "roster.read").await;
    let link = |student: &Ref, guardian: &Ref| {
        json!({ "student": student.gid(), "guardian": guardian.gid(), "relationship": "aunt",
                "hasParentalResponsibility": false })
    };
    let before = guardian_link::Entity::find()
        .count(&app.db)
        .await
        .expect("test step");
    let refused: Vec<(&str, String, &str)> = vec![
        (
            "coordinator of another school",
            coordinator_token(&app, &w, 1),
            "NOT_FOUND",
        ),
        ("teacher", teacher_token(&app, &w), "FORBIDDEN"),
        (
            "school client without roster.write",
            client_read,
            "FORBIDDEN",
        ),
        ("partnerCoordinator", partner_token(&app, &w), "FORBIDDEN"),
        ("mentor", mentor_token(&app, &w), "FORBIDDEN"),
        ("student", student_token(&app, &w), "FORBIDDEN"),
        ("guardian", guardian_token(&app, &w), "FORBIDDEN"),
        ("evaluator", app.token(&["evaluator"], OFFICE), "FORBIDDEN"),
    ];
    for (who, token, code) in refused {
        let response = run(&app, CREATE_LINK, &token, link(student, guardian)).await;
        assert_eq!(
            response.error_code(),
            Some(code),
            "{who}: {}",
            response.body
        );
    }
    assert_eq!(
        guardian_link::Entity::find()
            .count(&app.db)
            .await
            .expect("test step"),
        before
    );

    // Act
    let by_client = run(&app, CREATE_LINK, &client_write, link(student, guardian)).await;
    let duplicate = run(
        &app,
        CREATE_LINK,
        &coordinator_token(&app, &w, 0),
        link(student, guardian),
    )
    .await;
    let to_self = run(
        &app,
        CREATE_LINK,
        &staff_token(&app, &w),
        link(student, student),
    )
    .await;
    let blank = {
        let mut input = link(&w.students[3].person, guardian);
        input["relationship"] = json!(" ");
        run(&app, CREATE_LINK, &staff_token(&app, &w), input).await
    };

    // Assert
    assert_eq!(user_errors(&by_client, "createGuardianLink"), json!([]));
    assert_eq!(
        by_client.data()["createGuardianLink"]["guardianLink"]["relationship"],
        "aunt"
    );
    assert_eq!(
        user_errors(&duplicate, "createGuardianLink")[0]["code"],
        "DUPLICATE"
    );
    assert_eq!(
        user_errors(&to_self, "createGuardianLink")[0]["field"],
        json!(["input", "guardian"])
    );
    assert_eq!(
        user_errors(&blank, "createGuardianLink")[0]["field"],
        json!(["input", "relationship"])
    );
    assert_eq!(
        guardian_link::Entity::find()
            .count(&app.db)
            .await
            .expect("test step"),
        before + 1
    );
}

/// The first student of school A (a minor) has their own and their guardian's consent for
/// partner X, the guardian holds parental responsibility, and partner X mentors the student.
async fn mentored(app: &TestApp, w: &World) -> Ref {
    add_mentorship(
        &app.db,
        "mentorship-a-01",
        &w.mentor,
        &w.students[0].person,
        &w.partners[0],
        &w.pathway,
        "active",
    )
    .await
}

const PARTNER_READ: &str =
    "query($id: ID!) { node(id: $id) { ... on Person { sourcedId preferredName } } }";

/// Asserts the effect of a write that ended effective consent: paused mentorship, an
/// `accessRevoked` event for partner X in the change feed, and the partner's lost sight.
async fn assert_revoked(
    app: &TestApp,
    w: &World,
    mentorship_ref: &Ref,
    from_seq: i64,
    reason: &str,
) {
    let row = mentorship::Entity::find_by_id(mentorship_ref.id)
        .one(&app.db)
        .await
        .expect("test step")
        .expect("test step");
    assert_eq!((row.state.as_str(), row.version), ("paused", 2));
    let pause = status_history::Entity::find()
        .filter(status_history::Column::EntityType.eq("Mentorship"))
        .filter(status_history::Column::EntityId.eq(mentorship_ref.id))
        .filter(status_history::Column::ToState.eq("paused"))
        .one(&app.db)
        .await
        .expect("test step")
        .expect("a pause in the history");
    assert_eq!(pause.reason.as_deref(), Some(reason));
    let revoked: Vec<_> = events(app)
        .await
        .into_iter()
        .filter(|e| e.seq >= from_seq && e.operation == "accessRevoked")
        .collect();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].entity_type, "Person");
    assert_eq!(revoked[0].sourced_id, w.students[0].person.sourced_id);
    assert_eq!(revoked[0].audience_org_id, Some(w.partners[0].id));
    let seen = app
        .gql(
            PARTNER_READ,
            json!({ "id": w.students[0].person.gid() }),
            Some(&partner_token(app, w)),
        )
        .await;
    assert_eq!(seen.data()["node"], Value::Null);
}

async fn next_seq(app: &TestApp) -> i64 {
    events(app).await.last().map_or(1, |e| e.seq + 1)
}

#[tokio::test]
async fn deleting_the_guardian_link_of_a_minor_ends_consent_pauses_and_revokes() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let mentorship_ref = mentored(&app, &w).await;
    let seen = app
        .gql(
            PARTNER_READ,
            json!({ "id": w.students[0].person.gid() }),
            Some(&partner_token(&app, &w)),
        )
        .await;
    assert_eq!(
        seen.data()["node"]["sourcedId"],
        w.students[0].person.sourced_id.as_str()
    );
    let from = next_seq(&app).await;
    let (link, _, _) = &w.guardian_links[0];

    // Act
    let response = run(
        &app,
        DELETE_LINK,
        &coordinator_token(&app, &w, 0),
        json!({ "guardianLink": link.gid(), "expectedVersion": 1 }),
    )
    .await;

    // Assert
    let payload = &response.data()["deleteGuardianLink"];
    assert_eq!(payload["userErrors"], json!([]));
    assert_eq!(payload["guardianLink"]["status"], "TOBEDELETED");
    assert_eq!(payload["accessRevoked"], true);
    assert_eq!(
        payload["pausedMentorships"],
        json!([{ "sourcedId": "mentorship-a-01", "state": "PAUSED", "version": 2 }])
    );
    assert_revoked(
        &app,
        &w,
        &mentorship_ref,
        from,
        "effective consent ended: a guardian link with parental responsibility changed",
    )
    .await;
}

#[tokio::test]
async fn taking_parental_responsibility_away_ends_consent_pauses_and_revokes() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let mentorship_ref = mentored(&app, &w).await;
    let from = next_seq(&app).await;
    let (link, _, _) = &w.guardian_links[0];

    // Act
    let response = run(
        &app,
        UPDATE_LINK,
        &staff_token(&app, &w),
        json!({ "guardianLink": link.gid(), "expectedVersion": 1,
                "hasParentalResponsibility": false }),
    )
    .await;

    // Assert
    let payload = &response.data()["updateGuardianLink"];
    assert_eq!(payload["userErrors"], json!([]));
    assert_eq!(payload["guardianLink"]["hasParentalResponsibility"], false);
    assert_eq!(payload["accessRevoked"], true);
    assert_revoked(
        &app,
        &w,
        &mentorship_ref,
        from,
        "effective consent ended: a guardian link with parental responsibility changed",
    )
    .await;
}

#[tokio::test]
async fn a_birth_date_that_makes_the_student_a_minor_without_guardian_consent_revokes() {
    // Arrange: an adult student with only their own consent (the guardian link is gone).
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    set_age(&app, &w.students[0].person, 19).await;
    tombstone(&app.db, "guardian_link", w.guardian_links[0].0.id).await;
    let mentorship_ref = mentored(&app, &w).await;
    let from = next_seq(&app).await;

    // Act
    let response = run(
        &app,
        UPDATE_PERSON,
        &coordinator_token(&app, &w, 0),
        json!({ "person": w.students[0].person.gid(), "dateOfBirth": "2010-05-05" }),
    )
    .await;

    // Assert
    let payload = &response.data()["updatePerson"];
    assert_eq!(payload["userErrors"], json!([]));
    assert_eq!(payload["accessRevoked"], true);
    assert_revoked(
        &app,
        &w,
        &mentorship_ref,
        from,
        "effective consent ended: the date of birth changed",
    )
    .await;
}

#[tokio::test]
async fn a_link_write_that_leaves_consent_effective_revokes_nothing() {
    // Arrange: school B's link has no parental responsibility; the relationship of school A's
    // link changes but the responsibility stays.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let mentorship_ref = mentored(&app, &w).await;
    let from = next_seq(&app).await;
    let (link, _, _) = &w.guardian_links[0];

    // Act
    let response = run(
        &app,
        UPDATE_LINK,
        &coordinator_token(&app, &w, 0),
        json!({ "guardianLink": link.gid(), "relationship": "stepmother" }),
    )
    .await;

    // Assert
    let payload = &response.data()["updateGuardianLink"];
    assert_eq!(payload["accessRevoked"], false);
    assert_eq!(payload["pausedMentorships"], json!([]));
    let row = mentorship::Entity::find_by_id(mentorship_ref.id)
        .one(&app.db)
        .await
        .expect("test step")
        .expect("test step");
    assert_eq!(row.state, "active");
    assert!(
        events(&app)
            .await
            .iter()
            .all(|e| e.seq < from || e.operation != "accessRevoked")
    );
}

// ---------------------------------------------------------------------------------------------
// External ids

#[tokio::test]
async fn external_ids_belong_to_the_callers_organisation() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = &w.students[1].person;
    let token = coordinator_token(&app, &w, 0);
    let key = |identifier: &str| {
        json!({ "entity": student.gid(), "system": "a-sis", "idType": "libraryCard",
                "identifier": identifier })
    };
    let before = external_id::Entity::find()
        .count(&app.db)
        .await
        .expect("test step");

    // Act
    let created = run(&app, CREATE_XID, &token, key("L-1")).await;
    let duplicate = run(&app, CREATE_XID, &token, key("L-1")).await;
    let foreign_org = {
        let mut input = key("L-2");
        input["scopeOrg"] = json!(SCHOOL_B);
        run(&app, CREATE_XID, &token, input).await
    };
    let invisible = {
        let mut input = key("L-3");
        input["entity"] = json!(w.students_of(1)[0].person.gid());
        run(&app, CREATE_XID, &token, input).await
    };
    let bad_type = {
        let mut input = key("L-4");
        input["entity"] = json!(student.sourced_id);
        input["entityType"] = json!("Spaceship");
        run(&app, CREATE_XID, &token, input).await
    };
    let blank = run(&app, CREATE_XID, &token, key(" ")).await;
    let teacher = run(&app, CREATE_XID, &teacher_token(&app, &w), key("L-5")).await;
    let by_staff = {
        let mut input = key("L-6");
        input["scopeOrg"] = json!(SCHOOL_B);
        run(&app, CREATE_XID, &staff_token(&app, &w), input).await
    };

    // Assert
    let made = &created.data()["createExternalId"]["externalId"];
    assert_eq!(made["entityType"], "Person");
    assert_eq!(made["scopeOrg"]["sourcedId"], SCHOOL_A);
    assert_eq!(
        user_errors(&duplicate, "createExternalId")[0]["code"],
        "DUPLICATE"
    );
    for (response, field) in [
        (&foreign_org, json!(["input", "scopeOrg"])),
        (&invisible, json!(["input", "entity"])),
        (&bad_type, json!(["input", "entityType"])),
        (&blank, json!(["input", "identifier"])),
    ] {
        let errors = user_errors(response, "createExternalId");
        assert_eq!(errors[0]["code"], "BAD_USER_INPUT", "{errors}");
        assert_eq!(errors[0]["field"], field);
    }
    assert_eq!(teacher.error_code(), Some("FORBIDDEN"));
    assert_eq!(
        by_staff.data()["createExternalId"]["externalId"]["scopeOrg"]["sourcedId"],
        SCHOOL_B
    );
    assert_eq!(
        external_id::Entity::find()
            .count(&app.db)
            .await
            .expect("test step"),
        before + 2
    );

    // Another school may not delete the key; the owner may, once.
    let sid = made["sourcedId"].as_str().expect("test step");
    let other = run(
        &app,
        DELETE_XID,
        &coordinator_token(&app, &w, 1),
        json!({ "externalId": sid }),
    )
    .await;
    assert_eq!(other.error_code(), Some("NOT_FOUND"));
    let deleted = run(
        &app,
        DELETE_XID,
        &token,
        json!({ "externalId": sid, "expectedVersion": 1 }),
    )
    .await;
    assert_eq!(
        deleted.data()["deleteExternalId"]["externalId"]["status"],
        "TOBEDELETED"
    );
    // The key is free again.
    let recreated = run(&app, CREATE_XID, &token, key("L-1")).await;
    assert_eq!(user_errors(&recreated, "createExternalId"), json!([]));
}

#[tokio::test]
async fn an_account_holder_may_not_take_another_account_holders_email() {
    // Arrange: two people with accounts; the second uses the address in upper case.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let first = &w.students[0].person;
    let second = &w.students[1].person;
    for (n, person) in [first, second].into_iter().enumerate() {
        let at = api::changes::now();
        entity::account::Entity::insert(entity::account::ActiveModel {
            sourced_id: Set(format!("acct-{n}")),
            status: Set(entity::STATUS_ACTIVE.to_owned()),
            date_created: Set(at),
            date_last_modified: Set(at),
            version: Set(1),
            metadata: Set(None),
            created_by: Set(None),
            modified_by: Set(None),
            person_id: Set(person.id),
            oidc_issuer: Set("https://login.example.hk".to_owned()),
            oidc_subject: Set(format!("subject-{n}")),
            ..Default::default()
        })
        .exec(&app.db)
        .await
        .expect("insert account");
    }
    let taken = w.students[1]
        .email
        .clone()
        .expect("a seeded email")
        .to_uppercase();
    let token = coordinator_token(&app, &w, 0);

    // Act
    let clash = run(
        &app,
        UPDATE_PERSON,
        &token,
        json!({ "person": first.gid(), "email": taken }),
    )
    .await;
    let free = run(
        &app,
        UPDATE_PERSON,
        &token,
        json!({ "person": first.gid(), "email": "fresh@a.example.hk" }),
    )
    .await;

    // Assert
    assert_eq!(user_errors(&clash, "updatePerson")[0]["code"], "DUPLICATE");
    assert_eq!(user_errors(&free, "updatePerson"), json!([]));
    assert_eq!(person_row(&app, &first.sourced_id).await.version, 2);
}

#[tokio::test]
async fn a_partner_coordinator_updates_its_own_mentors_but_not_their_birth_dates() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = partner_token(&app, &w);

    // Act
    let renamed = run(
        &app,
        UPDATE_PERSON,
        &token,
        json!({ "person": w.mentor.gid(), "preferredName": "Mandy T.", "expectedVersion": 1 }),
    )
    .await;
    let birth_date = run(
        &app,
        UPDATE_PERSON,
        &token,
        json!({ "person": w.mentor.gid(), "dateOfBirth": "1990-01-01" }),
    )
    .await;
    let own_coordinator = run(
        &app,
        UPDATE_PERSON,
        &token,
        json!({ "person": w.partner_coordinator.gid(), "preferredName": "Boss" }),
    )
    .await;

    // Assert
    assert_eq!(
        renamed.data()["updatePerson"]["person"]["preferredName"],
        "Mandy T."
    );
    assert_eq!(birth_date.error_code(), Some("FORBIDDEN"));
    // A partner coordinator is not a mentor: seen, but not the partner's to write.
    assert_eq!(own_coordinator.error_code(), Some("FORBIDDEN"));
    let mentor = person_row(&app, &w.mentor.sourced_id).await;
    assert_eq!((mentor.version, mentor.date_of_birth), (2, None));
}

#[tokio::test]
async fn who_may_change_or_delete_links_roles_and_keys() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let (client_read, _) = client_token(&app, SCHOOL_A, "roster.read").await;
    let (client_write, _) = client_token(&app, SCHOOL_A, "roster.write").await;
    let (link, _, _) = &w.guardian_links[1];
    let student_role = &w.students[1].role_assignment;
    let coordinator_role = "ra-crd-a";
    let key = &w.students[1].external_id;
    let refused: Vec<(&str, String, &str)> = vec![
        (
            "coordinator of another school",
            coordinator_token(&app, &w, 1),
            "NOT_FOUND",
        ),
        ("teacher", teacher_token(&app, &w), "FORBIDDEN"),
        (
            "school client without roster.write",
            client_read,
            "FORBIDDEN",
        ),
        ("mentor", mentor_token(&app, &w), "FORBIDDEN"),
        ("student", student_token(&app, &w), "FORBIDDEN"),
        ("guardian", guardian_token(&app, &w), "FORBIDDEN"),
        ("evaluator", app.token(&["evaluator"], OFFICE), "FORBIDDEN"),
    ];
    let writes = |token: &str| {
        let token = token.to_owned();
        let app = &app;
        async move {
            vec![
                run(
                    app,
                    UPDATE_LINK,
                    &token,
                    json!({ "guardianLink": link.gid(), "relationship": "x" }),
                )
                .await,
                run(
                    app,
                    DELETE_LINK,
                    &token,
                    json!({ "guardianLink": link.gid() }),
                )
                .await,
                run(
                    app,
                    UPDATE_ROLE,
                    &token,
                    json!({ "roleAssignment": student_role.gid(), "endDate": "2099-01-01" }),
                )
                .await,
                run(
                    app,
                    DELETE_ROLE,
                    &token,
                    json!({ "roleAssignment": student_role.gid() }),
                )
                .await,
                run(app, DELETE_XID, &token, json!({ "externalId": key.gid() })).await,
            ]
        }
    };

    // Act + Assert
    for (who, token, code) in refused {
        for response in writes(&token).await {
            assert_eq!(
                response.error_code(),
                Some(code),
                "{who}: {}",
                response.body
            );
        }
    }
    // A partner never writes guardian links, and sees none of school A's roles or keys.
    let partner = writes(&partner_token(&app, &w)).await;
    let codes: Vec<Option<&str>> = partner.iter().map(GqlResponse::error_code).collect();
    assert_eq!(
        codes,
        vec![
            Some("FORBIDDEN"),
            Some("FORBIDDEN"),
            Some("NOT_FOUND"),
            Some("NOT_FOUND"),
            Some("NOT_FOUND")
        ]
    );
    // A school sees its coordinator's role but may not change it.
    let coordinator = run(
        &app,
        UPDATE_ROLE,
        &coordinator_token(&app, &w, 0),
        json!({ "roleAssignment": global_id("RoleAssignment", coordinator_role), "endDate": "2099-01-01" }),
    )
    .await;
    assert_eq!(coordinator.error_code(), Some("FORBIDDEN"));
    // Nothing above was written.
    for (table_count, expected) in [
        (
            guardian_link::Entity::find()
                .filter(guardian_link::Column::Version.gt(1))
                .count(&app.db)
                .await
                .expect("count links"),
            0,
        ),
        (
            role_assignment::Entity::find()
                .filter(role_assignment::Column::Version.gt(1))
                .count(&app.db)
                .await
                .expect("count roles"),
            0,
        ),
        (
            external_id::Entity::find()
                .filter(external_id::Column::Version.gt(1))
                .count(&app.db)
                .await
                .expect("count keys"),
            0,
        ),
    ] {
        assert_eq!(table_count, expected);
    }
    // The school's client with roster.write may do all five.
    let allowed = writes(&client_write).await;
    assert_eq!(
        allowed[0].data()["updateGuardianLink"]["userErrors"],
        json!([])
    );
    assert_eq!(
        allowed[1].data()["deleteGuardianLink"]["guardianLink"]["status"],
        "TOBEDELETED"
    );
    assert_eq!(
        allowed[2].data()["updateRoleAssignment"]["userErrors"],
        json!([])
    );
    assert_eq!(
        allowed[3].data()["deleteRoleAssignment"]["roleAssignment"]["status"],
        "TOBEDELETED"
    );
    assert_eq!(
        allowed[4].data()["deleteExternalId"]["externalId"]["status"],
        "TOBEDELETED"
    );
}
