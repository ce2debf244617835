//! Writing course enrolments (DOMAIN.md area B): who may enrol whom, every field rule as a user
//! error that writes nothing, the lifecycle with StatusHistory and change events, tombstones,
//! optimistic concurrency, and `upsertCourseEnrollments` by both keys.

use integration_tests::fixtures::{PARTNER_X, SCHOOL_A, UNIT, World, seed_world};
use integration_tests::writes_offerings::{
    add_offering, add_provider_staff, change_events, enrollment_row, history_of, write_counts,
};
use integration_tests::{GqlResponse, TestApp, global_id, sourced_ids, spawn_app};
use serde_json::{Value, json};

use crate::consents::{
    client_token, coordinator_token, mentor_token, partner_token, person_token, staff_token,
};

const FIELDS: &str = "courseEnrollment { sourcedId status version state role beginDate endDate
  contactHoursAttended metadata offering { sourcedId } schoolOrg { sourcedId }
  transferredTo { sourcedId } statusHistory { fromState toState reason actor clientId } }
  userErrors { field code message }";

const UPSERT: &str = "mutation($input: UpsertCourseEnrollmentsInput!) {
  upsertCourseEnrollments(input: $input) {
    results { index outcome courseEnrollment { sourcedId version state contactHoursAttended endDate
      offering { sourcedId } } userErrors { field code message } }
    createdCount updatedCount unchangedCount failedCount
    userErrors { field code message }
  }
}";

async fn call(app: &TestApp, token: &str, name: &str, input: Value) -> GqlResponse {
    let mut chars = name.chars();
    let input_type = match chars.next() {
        Some(c) => format!("{}{}Input", c.to_uppercase(), chars.as_str()),
        None => String::new(),
    };
    app.gql(
        &format!("mutation($input: {input_type}!) {{ {name}(input: $input) {{ {FIELDS} }} }}"),
        json!({ "input": input }),
        Some(token),
    )
    .await
}

async fn upsert(app: &TestApp, token: &str, input: Value) -> GqlResponse {
    app.gql(UPSERT, json!({ "input": input }), Some(token))
        .await
}

fn row<'a>(response: &'a GqlResponse, name: &str) -> &'a Value {
    &response.data()[name]["courseEnrollment"]
}

fn errors(response: &GqlResponse, name: &str) -> Vec<Value> {
    response.data()[name]["userErrors"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn teacher_token(app: &TestApp, w: &World, school: usize) -> String {
    let org = if school == 0 {
        SCHOOL_A
    } else {
        integration_tests::fixtures::SCHOOL_B
    };
    person_token(
        app,
        &w.school_people[school].teacher.sourced_id,
        &["teacher"],
        org,
    )
}

fn student_token(app: &TestApp, w: &World) -> String {
    person_token(
        app,
        &w.students_of(0)[0].person.sourced_id,
        &["student"],
        SCHOOL_A,
    )
}

fn student(w: &World, i: usize) -> String {
    w.students_of(0)[i].person.gid()
}

/// An enrolment of school A's `i`-th student in `offering` from 2025-09-01.
fn enrolment(w: &World, i: usize, offering: &str) -> Value {
    json!({
        "person": student(w, i),
        "offering": global_id("CourseOffering", offering),
        "role": "STUDENT",
        "beginDate": "2025-09-01",
    })
}

/// The world plus offerings at school A in every state (`off-open-a` is open for enrolment,
/// not taught by school A's teacher) and the provider's staff.
async fn arrange() -> (TestApp, World) {
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    for (sid, state) in [
        ("off-open-a", "open_for_enrolment"),
        ("off-planned-a", "planned"),
        ("off-cancelled-a", "cancelled"),
        ("off-completed-a", "completed"),
    ] {
        add_offering(&app.db, &w, sid, state, Some(w.school_a())).await;
    }
    add_provider_staff(&app.db, &w, "prov-1").await;
    (app, w)
}

#[tokio::test]
async fn a_school_coordinator_enrols_a_student_with_history_and_a_create_event() {
    let (app, w) = arrange().await;
    let mut input = enrolment(&w, 0, "off-open-a");
    input["sourcedId"] = json!("ce-new");
    input["endDate"] = json!("2026-01-01");
    input["contactHoursAttended"] = json!(0);
    input["metadata"] = json!({ "group": "A1" });
    let response = call(
        &app,
        &coordinator_token(&app, &w, 0),
        "createCourseEnrollment",
        input,
    )
    .await;
    assert_eq!(
        errors(&response, "createCourseEnrollment"),
        Vec::<Value>::new()
    );
    let created = row(&response, "createCourseEnrollment");
    assert_eq!(created["sourcedId"], "ce-new");
    assert_eq!(created["state"], "ENROLLED");
    assert_eq!(created["role"], "STUDENT");
    assert_eq!(created["schoolOrg"]["sourcedId"], SCHOOL_A);
    assert_eq!(created["offering"]["sourcedId"], "off-open-a");
    assert_eq!(created["contactHoursAttended"], 0.0);
    assert_eq!(created["metadata"]["group"], "A1");
    assert_eq!(
        created["statusHistory"],
        json!([{ "fromState": null, "toState": "enrolled", "reason": null,
                 "actor": w.school_people[0].coordinator.sourced_id, "clientId": null }])
    );
    assert_eq!(
        change_events(&app.db).await,
        vec![(
            "CourseEnrollment".to_owned(),
            "ce-new".to_owned(),
            "create".to_owned(),
            1
        )]
    );
    // A teacher enrolment: the person holds a teacher role at the school.
    let teacher = json!({
        "person": w.school_people[0].teacher.gid(),
        "offering": global_id("CourseOffering", "off-open-a"),
        "role": "TEACHER",
        "beginDate": "2025-09-01",
    });
    let response = call(
        &app,
        &coordinator_token(&app, &w, 0),
        "createCourseEnrollment",
        teacher,
    )
    .await;
    assert_eq!(
        row(&response, "createCourseEnrollment")["role"],
        "TEACHER",
        "{:?}",
        response.body
    );
}

#[tokio::test]
async fn only_an_offering_open_for_enrolment_or_running_takes_enrolments() {
    let (app, w) = arrange().await;
    let staff = staff_token(&app, &w);
    let before = write_counts(&app.db).await;
    for offering in ["off-planned-a", "off-cancelled-a", "off-completed-a"] {
        let response = call(
            &app,
            &staff,
            "createCourseEnrollment",
            enrolment(&w, 0, offering),
        )
        .await;
        let errs = errors(&response, "createCourseEnrollment");
        assert_eq!(errs.len(), 1, "{offering}: {:?}", response.body);
        assert_eq!(errs[0]["code"], "INVALID_TRANSITION", "{offering}");
        assert!(row(&response, "createCourseEnrollment").is_null());
    }
    assert_eq!(write_counts(&app.db).await, before);
    for offering in ["off-open-a", "off-a"] {
        let response = call(
            &app,
            &staff,
            "createCourseEnrollment",
            enrolment(&w, 0, offering),
        )
        .await;
        assert_eq!(
            row(&response, "createCourseEnrollment")["state"],
            "ENROLLED",
            "{offering}"
        );
    }
}

#[tokio::test]
async fn who_may_enrol_whom() {
    let (app, w) = arrange().await;
    let (client, client_id) = client_token(&app, SCHOOL_A, "enrollment.write").await;
    let (roster_client, _) = client_token(&app, SCHOOL_A, "roster.write").await;

    // Allowed.
    let allowed = [
        (
            "programmeStaff",
            staff_token(&app, &w),
            enrolment(&w, 1, "off-open-a"),
        ),
        (
            "coordinator A",
            coordinator_token(&app, &w, 0),
            enrolment(&w, 2, "off-open-a"),
        ),
        (
            "teacher A in an offering they teach",
            teacher_token(&app, &w, 0),
            enrolment(&w, 3, "off-a"),
        ),
        (
            "school client with enrollment.write",
            client.clone(),
            enrolment(&w, 4, "off-open-a"),
        ),
    ];
    for (who, token, input) in &allowed {
        let response = call(&app, token, "createCourseEnrollment", input.clone()).await;
        assert_eq!(
            row(&response, "createCourseEnrollment")["state"],
            "ENROLLED",
            "{who}: {:?}",
            response.body
        );
    }
    // Programme staff enrol a partner's mentor (`ext:mentor`) in the school's offering.
    let mentor = call(
        &app,
        &staff_token(&app, &w),
        "createCourseEnrollment",
        json!({ "person": w.mentor.gid(), "offering": global_id("CourseOffering", "off-open-a"),
                "role": "MENTOR", "beginDate": "2025-09-01" }),
    )
    .await;
    let mentor = row(&mentor, "createCourseEnrollment");
    assert_eq!(mentor["role"], "MENTOR");
    assert_eq!(mentor["schoolOrg"]["sourcedId"], SCHOOL_A);
    // The school client runs the lifecycle too, recorded as the client.
    let withdrawn = call(
        &app,
        &client,
        "withdrawCourseEnrollment",
        json!({ "courseEnrollment": "ce-stu-a-04", "reason": "left" }),
    )
    .await;
    let withdrawn = row(&withdrawn, "withdrawCourseEnrollment");
    assert_eq!(withdrawn["state"], "WITHDRAWN");
    assert_eq!(withdrawn["statusHistory"][0]["clientId"], json!(client_id));
    let by_client = row(
        &call(
            &app,
            &client,
            "createCourseEnrollment",
            enrolment(&w, 5, "off-open-a"),
        )
        .await,
        "createCourseEnrollment",
    )["statusHistory"][0]["clientId"]
        .clone();
    assert_eq!(by_client, json!(client_id));

    // References outside the caller's reach: user errors, nothing written.
    let before = write_counts(&app.db).await;
    let out_of_reach = [
        (
            "teacher A, offering not taught",
            teacher_token(&app, &w, 0),
            enrolment(&w, 0, "off-open-a"),
            "offering",
        ),
        (
            "teacher B, a student of A",
            teacher_token(&app, &w, 1),
            enrolment(&w, 0, "off-a"),
            "person",
        ),
        (
            "coordinator B, a student of A",
            coordinator_token(&app, &w, 1),
            enrolment(&w, 0, "off-open-a"),
            "person",
        ),
    ];
    for (who, token, input, field) in &out_of_reach {
        let response = call(&app, token, "createCourseEnrollment", input.clone()).await;
        let errs = errors(&response, "createCourseEnrollment");
        assert_eq!(errs.len(), 1, "{who}: {:?}", response.body);
        assert_eq!(errs[0]["code"], "BAD_USER_INPUT", "{who}");
        assert_eq!(errs[0]["field"], json!(["input", field]), "{who}");
    }

    // Roles that never write enrolments.
    let refused = [
        ("partnerCoordinator", partner_token(&app, &w)),
        ("mentor", mentor_token(&app, &w)),
        ("student", student_token(&app, &w)),
        (
            "provider staff",
            person_token(&app, "prov-1", &["academicLead"], UNIT),
        ),
        ("school client without enrollment.write", roster_client),
        (
            "partner client",
            client_token(&app, PARTNER_X, "activities.write").await.0,
        ),
    ];
    for (who, token) in &refused {
        let response = call(
            &app,
            token,
            "createCourseEnrollment",
            enrolment(&w, 0, "off-open-a"),
        )
        .await;
        assert_eq!(
            response.error_code(),
            Some("FORBIDDEN"),
            "{who}: {:?}",
            response.body
        );
        for name in [
            "withdrawCourseEnrollment",
            "deleteCourseEnrollment",
            "updateCourseEnrollment",
        ] {
            let response = call(
                &app,
                token,
                name,
                json!({ "courseEnrollment": "ce-stu-a-01" }),
            )
            .await;
            assert_eq!(response.error_code(), Some("FORBIDDEN"), "{who} {name}");
        }
    }
    let anonymous = app
        .gql(
            &format!("mutation($input: CreateCourseEnrollmentInput!) {{ createCourseEnrollment(input: $input) {{ {FIELDS} }} }}"),
            json!({ "input": enrolment(&w, 0, "off-open-a") }),
            None,
        )
        .await;
    assert_eq!(anonymous.error_code(), Some("UNAUTHENTICATED"));
    assert_eq!(write_counts(&app.db).await, before);
}

#[tokio::test]
async fn invalid_enrolments_are_user_errors_with_field_paths_and_write_nothing() {
    let (app, w) = arrange().await;
    let coordinator = coordinator_token(&app, &w, 0);
    let with = |changes: Value| {
        let mut input = enrolment(&w, 0, "off-open-a");
        for (k, v) in changes.as_object().expect("object") {
            input[k] = v.clone();
        }
        input
    };
    let big = "x".repeat(17 * 1024);
    let cases: Vec<(Value, Option<Vec<&str>>, &str)> = vec![
        (
            with(json!({ "person": "nobody" })),
            Some(vec!["input", "person"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "person": w.offerings[0].gid() })),
            Some(vec!["input", "person"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "person": w.school_people[0].teacher.gid() })),
            Some(vec!["input", "person"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "role": "TEACHER" })),
            Some(vec!["input", "person"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "offering": "nope" })),
            Some(vec!["input", "offering"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "offering": global_id("CourseOffering", "off-b") })),
            Some(vec!["input", "offering"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "schoolOrg": w.school_b().gid() })),
            Some(vec!["input", "schoolOrg"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "schoolOrg": global_id("Organization", PARTNER_X) })),
            Some(vec!["input", "schoolOrg"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "endDate": "2025-09-01" })),
            Some(vec!["input", "endDate"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "endDate": "2025-08-01" })),
            Some(vec!["input", "endDate"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "contactHoursAttended": -1 })),
            Some(vec!["input", "contactHoursAttended"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "metadata": { "big": big } })),
            Some(vec!["input", "metadata"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "metadata": "text" })),
            Some(vec!["input", "metadata"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "sourcedId": "bad id" })),
            Some(vec!["input", "sourcedId"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "sourcedId": "ce-stu-a-02" })),
            None,
            "DUPLICATE",
        ),
        (
            with(
                json!({ "offering": global_id("CourseOffering", "off-a"), "beginDate": "2024-09-01" }),
            ),
            None,
            "DUPLICATE",
        ),
    ];
    let before = write_counts(&app.db).await;
    for (input, field, code) in cases {
        let response = call(&app, &coordinator, "createCourseEnrollment", input.clone()).await;
        let errs = errors(&response, "createCourseEnrollment");
        assert_eq!(errs.len(), 1, "{input}: {:?}", response.body);
        assert_eq!(errs[0]["code"], code, "{input}");
        assert_eq!(errs[0]["field"], json!(field), "{input}");
    }
    // An unknown role value is refused by the schema itself.
    let response = call(
        &app,
        &coordinator,
        "createCourseEnrollment",
        with(json!({ "role": "ext:other" })),
    )
    .await;
    assert!(!response.errors().is_empty());
    assert_eq!(write_counts(&app.db).await, before);
}

#[tokio::test]
async fn the_enrolment_lifecycle_records_history_and_refuses_illegal_transitions() {
    let (app, w) = arrange().await;
    let staff = staff_token(&app, &w);
    let teacher = teacher_token(&app, &w, 0);
    let coordinator = coordinator_token(&app, &w, 0);

    // Complete in a running offering, by the teacher who teaches it.
    let completed = call(
        &app,
        &teacher,
        "completeCourseEnrollment",
        json!({ "courseEnrollment": "ce-stu-a-01", "expectedVersion": 1, "reason": "passed" }),
    )
    .await;
    let done = row(&completed, "completeCourseEnrollment");
    assert_eq!(done["state"], "COMPLETED", "{:?}", completed.body);
    assert_eq!(done["version"], 2);
    assert_eq!(
        done["statusHistory"],
        json!([{ "fromState": "enrolled", "toState": "completed", "reason": "passed",
                 "actor": w.school_people[0].teacher.sourced_id, "clientId": null }])
    );

    // Withdraw, by the coordinator.
    let withdrawn = call(
        &app,
        &coordinator,
        "withdrawCourseEnrollment",
        json!({ "courseEnrollment": "ce-stu-a-02", "reason": "moved school" }),
    )
    .await;
    assert_eq!(
        row(&withdrawn, "withdrawCourseEnrollment")["state"],
        "WITHDRAWN"
    );

    // Transfer to another enrolment of the same person.
    let target = call(&app, &staff, "createCourseEnrollment", {
        let mut input = enrolment(&w, 2, "off-open-a");
        input["sourcedId"] = json!("ce-target");
        input
    })
    .await;
    assert_eq!(
        row(&target, "createCourseEnrollment")["sourcedId"],
        "ce-target"
    );
    let before = write_counts(&app.db).await;
    for (to, why) in [
        ("ce-stu-a-04", "another person's"),
        ("ce-stu-a-03", "itself"),
        ("nope", "unknown"),
    ] {
        let response = call(
            &app,
            &staff,
            "transferCourseEnrollment",
            json!({ "courseEnrollment": "ce-stu-a-03", "transferredTo": to }),
        )
        .await;
        let errs = errors(&response, "transferCourseEnrollment");
        assert_eq!(errs.len(), 1, "{why}");
        assert_eq!(errs[0]["field"], json!(["input", "transferredTo"]), "{why}");
    }
    assert_eq!(write_counts(&app.db).await, before);
    let transferred = call(
        &app,
        &staff,
        "transferCourseEnrollment",
        json!({ "courseEnrollment": "ce-stu-a-03", "transferredTo": "ce-target" }),
    )
    .await;
    let moved = row(&transferred, "transferCourseEnrollment");
    assert_eq!(moved["state"], "TRANSFERRED", "{:?}", transferred.body);
    assert_eq!(moved["transferredTo"]["sourcedId"], "ce-target");

    // Refused: completing where the offering is only open; anything from a terminal state.
    let before = write_counts(&app.db).await;
    let refused = [
        ("completeCourseEnrollment", "ce-target"),
        ("completeCourseEnrollment", "ce-stu-a-01"),
        ("withdrawCourseEnrollment", "ce-stu-a-01"),
        ("withdrawCourseEnrollment", "ce-stu-a-05"),
        ("completeCourseEnrollment", "ce-stu-a-02"),
    ];
    for (name, sid) in refused {
        let response = call(&app, &staff, name, json!({ "courseEnrollment": sid })).await;
        let errs = errors(&response, name);
        assert_eq!(errs.len(), 1, "{name} {sid}: {:?}", response.body);
        assert_eq!(errs[0]["code"], "INVALID_TRANSITION", "{name} {sid}");
    }
    let transfer_done = call(
        &app,
        &staff,
        "transferCourseEnrollment",
        json!({ "courseEnrollment": "ce-stu-a-01", "transferredTo": "ce-target" }),
    )
    .await;
    assert_eq!(
        errors(&transfer_done, "transferCourseEnrollment")[0]["code"],
        "INVALID_TRANSITION"
    );

    // Outside the caller's reach: not found.
    for token in [teacher_token(&app, &w, 1), coordinator_token(&app, &w, 1)] {
        let response = call(
            &app,
            &token,
            "withdrawCourseEnrollment",
            json!({ "courseEnrollment": "ce-stu-a-04" }),
        )
        .await;
        assert_eq!(response.error_code(), Some("NOT_FOUND"));
    }
    assert_eq!(write_counts(&app.db).await, before);

    let events: Vec<(String, String)> = change_events(&app.db)
        .await
        .into_iter()
        .map(|e| (e.1, e.2))
        .collect();
    assert_eq!(
        events,
        vec![
            ("ce-stu-a-01".to_owned(), "update".to_owned()),
            ("ce-stu-a-02".to_owned(), "update".to_owned()),
            ("ce-target".to_owned(), "create".to_owned()),
            ("ce-stu-a-03".to_owned(), "update".to_owned()),
        ]
    );
}

#[tokio::test]
async fn updates_change_only_their_fields_and_deletes_leave_tombstones() {
    let (app, w) = arrange().await;
    let coordinator = coordinator_token(&app, &w, 0);
    let updated = call(
        &app,
        &coordinator,
        "updateCourseEnrollment",
        json!({ "courseEnrollment": "ce-stu-a-01", "expectedVersion": 1,
                "contactHoursAttended": 42.5, "endDate": "2026-08-01" }),
    )
    .await;
    let changed = row(&updated, "updateCourseEnrollment");
    assert_eq!(changed["contactHoursAttended"], 42.5, "{:?}", updated.body);
    assert_eq!(changed["endDate"], "2026-08-01");
    assert_eq!(changed["state"], "ENROLLED");
    assert_eq!(changed["version"], 2);
    let cleared = call(
        &app,
        &coordinator,
        "updateCourseEnrollment",
        json!({ "courseEnrollment": "ce-stu-a-01", "expectedVersion": 2, "endDate": null }),
    )
    .await;
    let changed = row(&cleared, "updateCourseEnrollment");
    assert_eq!(changed["endDate"], Value::Null);
    assert_eq!(changed["contactHoursAttended"], 42.5);

    let stored = enrollment_row(&app.db, "ce-stu-a-01").await;
    let before = write_counts(&app.db).await;
    let bad = [
        (
            json!({ "contactHoursAttended": -0.5 }),
            Some(vec!["input", "contactHoursAttended"]),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "endDate": "2024-09-01" }),
            Some(vec!["input", "endDate"]),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "metadata": [1] }),
            Some(vec!["input", "metadata"]),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "expectedVersion": 1, "contactHoursAttended": 1 }),
            None,
            "VERSION_CONFLICT",
        ),
    ];
    for (changes, field, code) in bad {
        let mut input = changes.clone();
        input["courseEnrollment"] = json!("ce-stu-a-01");
        let response = call(&app, &coordinator, "updateCourseEnrollment", input).await;
        let errs = errors(&response, "updateCourseEnrollment");
        assert_eq!(errs.len(), 1, "{changes}");
        assert_eq!(errs[0]["code"], code, "{changes}");
        assert_eq!(errs[0]["field"], json!(field), "{changes}");
        if code == "VERSION_CONFLICT" {
            assert!(
                errs[0]["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("version 3")
            );
        }
    }
    assert_eq!(enrollment_row(&app.db, "ce-stu-a-01").await, stored);
    assert_eq!(write_counts(&app.db).await, before);

    // Delete: a tombstone, listed only with includeDeleted.
    let deleted = call(
        &app,
        &coordinator,
        "deleteCourseEnrollment",
        json!({ "courseEnrollment": "ce-stu-a-06", "expectedVersion": 1 }),
    )
    .await;
    assert_eq!(
        row(&deleted, "deleteCourseEnrollment")["status"],
        "TOBEDELETED"
    );
    let list = |include: bool| {
        format!(
            "{{ courseEnrollments(includeDeleted: {include}, filter: {{ sourcedId: {{ eq: \"ce-stu-a-06\" }} }}) {{ edges {{ node {{ sourcedId status }} }} }} }}"
        )
    };
    let hidden = app.gql(&list(false), json!({}), Some(&coordinator)).await;
    assert_eq!(
        sourced_ids(&hidden.data()["courseEnrollments"]),
        Vec::<String>::new()
    );
    let shown = app.gql(&list(true), json!({}), Some(&coordinator)).await;
    assert_eq!(
        sourced_ids(&shown.data()["courseEnrollments"]),
        vec!["ce-stu-a-06"]
    );
    let last = change_events(&app.db).await.pop().expect("an event");
    assert_eq!(
        (last.1.as_str(), last.2.as_str(), last.3),
        ("ce-stu-a-06", "delete", 2)
    );

    let before = write_counts(&app.db).await;
    for (name, input) in [
        (
            "deleteCourseEnrollment",
            json!({ "courseEnrollment": "ce-stu-a-06" }),
        ),
        (
            "updateCourseEnrollment",
            json!({ "courseEnrollment": "ce-stu-a-06", "contactHoursAttended": 1 }),
        ),
        (
            "withdrawCourseEnrollment",
            json!({ "courseEnrollment": "ce-stu-a-06" }),
        ),
    ] {
        let response = call(&app, &coordinator, name, input).await;
        assert_eq!(
            errors(&response, name)[0]["code"],
            "INVALID_TRANSITION",
            "{name}"
        );
    }
    assert_eq!(write_counts(&app.db).await, before);
}

#[tokio::test]
async fn two_concurrent_updates_with_the_same_expected_version_let_exactly_one_through() {
    let (app, w) = arrange().await;
    let staff = staff_token(&app, &w);
    let update = |hours: f64| {
        call(
            &app,
            &staff,
            "updateCourseEnrollment",
            json!({ "courseEnrollment": "ce-stu-a-01", "expectedVersion": 1,
                    "contactHoursAttended": hours }),
        )
    };
    let (first, second) = tokio::join!(update(1.0), update(2.0));
    let results = [&first, &second];
    let winners: Vec<_> = results
        .iter()
        .filter(|r| errors(r, "updateCourseEnrollment").is_empty())
        .collect();
    assert_eq!(winners.len(), 1, "{:?} {:?}", first.body, second.body);
    let loser = results
        .iter()
        .find(|r| !errors(r, "updateCourseEnrollment").is_empty())
        .expect("a loser");
    let errs = errors(loser, "updateCourseEnrollment");
    assert_eq!(errs[0]["code"], "VERSION_CONFLICT");
    assert!(
        errs[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("version 2")
    );
    let stored = enrollment_row(&app.db, "ce-stu-a-01").await.expect("row");
    assert_eq!(stored.version, 2);
    assert_eq!(
        json!(stored.contact_hours_attended),
        row(winners[0], "updateCourseEnrollment")["contactHoursAttended"]
    );
}

fn outcomes(response: &GqlResponse) -> Vec<String> {
    response.data()["upsertCourseEnrollments"]["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {:?}", response.body))
        .iter()
        .map(|r| r["outcome"].as_str().unwrap_or("?").to_owned())
        .collect()
}

fn item_errors(response: &GqlResponse, index: usize) -> Vec<Value> {
    response.data()["upsertCourseEnrollments"]["results"][index]["userErrors"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn upserting_by_sourced_id_creates_updates_keeps_and_fails_items_one_by_one() {
    let (app, w) = arrange().await;
    let coordinator = coordinator_token(&app, &w, 0);
    let valid = vec![
        json!({ "sourcedId": "ce-stu-a-01", "contactHoursAttended": 99 }),
        json!({ "sourcedId": "ce-stu-a-02", "contactHoursAttended": 20.5,
                "offering": global_id("CourseOffering", "off-a"), "role": "STUDENT" }),
        {
            let mut item = enrolment(&w, 2, "off-open-a");
            item["sourcedId"] = json!("ce-up-1");
            item
        },
    ];
    let mut items = valid.clone();
    items.extend([
        {
            let mut item = enrolment(&w, 3, "off-open-a");
            item["sourcedId"] = json!("ce-up-2");
            item["contactHoursAttended"] = json!(-5);
            item
        },
        {
            let mut item = enrolment(&w, 4, "off-open-a");
            item["sourcedId"] = json!("ce-up-1");
            item
        },
        json!({ "sourcedId": "ce-up-3", "person": student(&w, 4),
                "offering": global_id("CourseOffering", "off-open-a"), "beginDate": "2025-09-01" }),
        {
            let mut item = enrolment(&w, 4, "off-planned-a");
            item["sourcedId"] = json!("ce-up-4");
            item
        },
        enrolment(&w, 5, "off-open-a"),
        json!({ "sourcedId": "ce-stu-a-03", "role": "TEACHER" }),
        {
            let mut item = enrolment(&w, 2, "off-open-a");
            item["sourcedId"] = json!("ce-up-5");
            item
        },
    ]);
    let response = upsert(
        &app,
        &coordinator,
        json!({ "key": "SOURCED_ID", "items": items }),
    )
    .await;
    assert_eq!(
        outcomes(&response),
        vec![
            "UPDATED",
            "UNCHANGED",
            "CREATED",
            "FAILED",
            "FAILED",
            "FAILED",
            "FAILED",
            "FAILED",
            "FAILED",
            "FAILED"
        ],
        "{:?}",
        response.body
    );
    let payload = &response.data()["upsertCourseEnrollments"];
    assert_eq!(
        [
            &payload["createdCount"],
            &payload["updatedCount"],
            &payload["unchangedCount"],
            &payload["failedCount"]
        ],
        [&json!(1), &json!(1), &json!(1), &json!(7)]
    );
    let expect = [
        (
            3,
            json!(["input", "items", "3", "contactHoursAttended"]),
            "BAD_USER_INPUT",
        ),
        (4, json!(["input", "items", "4"]), "DUPLICATE"),
        (5, json!(["input", "items", "5", "role"]), "BAD_USER_INPUT"),
        (6, json!(["input", "items", "6"]), "INVALID_TRANSITION"),
        (
            7,
            json!(["input", "items", "7", "sourcedId"]),
            "BAD_USER_INPUT",
        ),
        (8, json!(["input", "items", "8", "role"]), "BAD_USER_INPUT"),
        (9, json!(["input", "items", "9"]), "DUPLICATE"),
    ];
    for (index, field, code) in expect {
        let errs = item_errors(&response, index);
        assert_eq!(errs.len(), 1, "item {index}");
        assert_eq!(errs[0]["code"], code, "item {index}");
        assert_eq!(errs[0]["field"], field, "item {index}");
    }
    let results = &payload["results"];
    assert_eq!(results[0]["courseEnrollment"]["contactHoursAttended"], 99.0);
    assert_eq!(results[0]["courseEnrollment"]["version"], 2);
    assert_eq!(results[1]["courseEnrollment"]["version"], 1);
    assert_eq!(results[2]["courseEnrollment"]["state"], "ENROLLED");
    assert!(results[3]["courseEnrollment"].is_null());

    // Exactly the failed items are missing; the others are stored, with their history.
    for sid in ["ce-up-2", "ce-up-3", "ce-up-4", "ce-up-5"] {
        assert!(enrollment_row(&app.db, sid).await.is_none(), "{sid}");
    }
    let created = enrollment_row(&app.db, "ce-up-1").await.expect("created");
    assert_eq!(created.person_id, w.students_of(0)[2].person.id);
    assert_eq!(created.school_org_id, w.school_a().id);
    let history = history_of(&app.db, "CourseEnrollment", created.id).await;
    assert_eq!(
        (history[0].0.clone(), history[0].1.as_str()),
        (None, "enrolled")
    );
    let unchanged = enrollment_row(&app.db, "ce-stu-a-02").await.expect("row");
    assert_eq!(unchanged.version, 1);
    let events: Vec<(String, String)> = change_events(&app.db)
        .await
        .into_iter()
        .map(|e| (e.1, e.2))
        .collect();
    assert_eq!(
        events,
        vec![
            ("ce-up-1".to_owned(), "create".to_owned()),
            ("ce-stu-a-01".to_owned(), "update".to_owned()),
        ]
    );

    // Re-sending the applied items changes nothing.
    let before = write_counts(&app.db).await;
    let again = upsert(
        &app,
        &coordinator,
        json!({ "key": "SOURCED_ID", "items": valid }),
    )
    .await;
    assert_eq!(outcomes(&again), vec!["UNCHANGED"; 3]);
    assert_eq!(write_counts(&app.db).await, before);
}

#[tokio::test]
async fn upserting_by_external_id_names_people_by_the_schools_own_keys() {
    let (app, w) = arrange().await;
    let (client, client_id) = client_token(&app, SCHOOL_A, "enrollment.write").await;
    let key = |id: &str| json!({ "system": "a-sis", "idType": "ENROL", "identifier": id });
    let strn = |n: u32| json!({ "system": "a-sis", "idType": "STRN", "identifier": format!("A{}", 1_234_000 + n) });
    let item = |id: &str, n: u32| {
        json!({ "externalId": key(id), "personExternalId": strn(n),
                "offering": global_id("CourseOffering", "off-open-a"), "role": "STUDENT",
                "beginDate": "2025-09-01" })
    };
    let valid = vec![item("E1", 1), {
        let mut second = item("E2", 2);
        second["sourcedId"] = json!("ce-ext-2");
        second
    }];
    let mut items = valid.clone();
    items.extend([
        item("E3", 99),
        item("E1", 3),
        json!({ "personExternalId": strn(4), "offering": "off-open-a", "role": "STUDENT",
                "beginDate": "2025-09-01" }),
        {
            let mut both = item("E4", 4);
            both["person"] = json!(student(&w, 3));
            both
        },
    ]);
    let response = upsert(
        &app,
        &client,
        json!({ "key": "EXTERNAL_ID", "items": items }),
    )
    .await;
    assert_eq!(
        outcomes(&response),
        vec!["CREATED", "CREATED", "FAILED", "FAILED", "FAILED", "FAILED"],
        "{:?}",
        response.body
    );
    assert_eq!(
        item_errors(&response, 2)[0]["field"],
        json!(["input", "items", "2", "personExternalId"])
    );
    assert_eq!(item_errors(&response, 3)[0]["code"], "DUPLICATE");
    assert_eq!(
        item_errors(&response, 4)[0]["field"],
        json!(["input", "items", "4", "externalId"])
    );
    assert_eq!(
        item_errors(&response, 5)[0]["field"],
        json!(["input", "items", "5", "personExternalId"])
    );
    let second = enrollment_row(&app.db, "ce-ext-2")
        .await
        .expect("created with its sourcedId");
    assert_eq!(second.person_id, w.students_of(0)[1].person.id);
    let history = history_of(&app.db, "CourseEnrollment", second.id).await;
    assert_eq!(history[0].4.as_deref(), Some(client_id.as_str()));
    let kinds: Vec<String> = change_events(&app.db)
        .await
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(kinds.iter().filter(|k| *k == "CourseEnrollment").count(), 2);
    assert_eq!(kinds.iter().filter(|k| *k == "ExternalId").count(), 2);

    // Re-sending: all unchanged; then an update by the same key.
    let before = write_counts(&app.db).await;
    let again = upsert(
        &app,
        &client,
        json!({ "key": "EXTERNAL_ID", "items": valid }),
    )
    .await;
    assert_eq!(outcomes(&again), vec!["UNCHANGED", "UNCHANGED"]);
    assert_eq!(write_counts(&app.db).await, before);
    let update = upsert(
        &app,
        &client,
        json!({ "key": "EXTERNAL_ID", "items": [{ "externalId": key("E2"), "endDate": "2026-01-01" }] }),
    )
    .await;
    assert_eq!(outcomes(&update), vec!["UPDATED"]);
    let stored = enrollment_row(&app.db, "ce-ext-2").await.expect("row");
    assert_eq!(
        stored.end_date.map(|d| d.to_string()).as_deref(),
        Some("2026-01-01")
    );
    assert_eq!(stored.version, 2);
}

#[tokio::test]
async fn an_upsert_call_out_of_bounds_or_by_the_wrong_caller_writes_nothing() {
    let (app, w) = arrange().await;
    let coordinator = coordinator_token(&app, &w, 0);
    let before = write_counts(&app.db).await;
    let many: Vec<Value> = (0..1001)
        .map(|i| {
            json!({ "sourcedId": format!("ce-many-{i}"), "person": student(&w, 0),
                          "offering": "off-open-a", "role": "STUDENT", "beginDate": "2025-09-01" })
        })
        .collect();
    for items in [many, Vec::new()] {
        let response = upsert(
            &app,
            &coordinator,
            json!({ "key": "SOURCED_ID", "items": items }),
        )
        .await;
        let payload = &response.data()["upsertCourseEnrollments"];
        assert_eq!(payload["results"], json!([]), "{:?}", response.body);
        assert_eq!(payload["userErrors"][0]["code"], "BAD_USER_INPUT");
        assert_eq!(payload["userErrors"][0]["field"], json!(["input", "items"]));
    }
    let other_school = upsert(
        &app,
        &coordinator,
        json!({ "key": "SOURCED_ID", "school": w.school_b().gid(),
                "items": [{ "sourcedId": "x", "person": student(&w, 0), "offering": "off-open-a",
                            "role": "STUDENT", "beginDate": "2025-09-01" }] }),
    )
    .await;
    assert_eq!(
        other_school.data()["upsertCourseEnrollments"]["userErrors"][0]["field"],
        json!(["input", "school"])
    );
    let item = json!([{ "sourcedId": "x", "contactHoursAttended": 1 }]);
    for token in [
        partner_token(&app, &w),
        mentor_token(&app, &w),
        student_token(&app, &w),
        client_token(&app, SCHOOL_A, "roster.write").await.0,
    ] {
        let response = upsert(&app, &token, json!({ "key": "SOURCED_ID", "items": item })).await;
        assert_eq!(response.error_code(), Some("FORBIDDEN"));
    }
    // Another school's enrolment by its sourcedId is not the caller's to update.
    let foreign = upsert(
        &app,
        &coordinator,
        json!({ "key": "SOURCED_ID", "items": [{ "sourcedId": "ce-stu-b-01", "contactHoursAttended": 1 }] }),
    )
    .await;
    assert_eq!(outcomes(&foreign), vec!["FAILED"]);
    assert_eq!(write_counts(&app.db).await, before);
}

#[tokio::test]
async fn an_upsert_item_with_expected_version_applies_only_at_that_version_and_never_creates() {
    // Arrange: seeded enrolments are at version 1.
    let (app, w) = arrange().await;
    let stale_before = enrollment_row(&app.db, "ce-stu-a-02").await.expect("row");
    let mut new_item = enrolment(&w, 2, "off-open-a");
    new_item["sourcedId"] = json!("ce-v-new");
    new_item["expectedVersion"] = json!(1);
    let items = json!([
        // 0: the version read: applied.
        { "sourcedId": "ce-stu-a-01", "contactHoursAttended": 99, "expectedVersion": 1 },
        // 1: a stale version: not applied.
        { "sourcedId": "ce-stu-a-02", "contactHoursAttended": 77, "expectedVersion": 3 },
        // 2: a version for a key that matches nothing: not created.
        new_item,
        // 3: no version: values compared, applied.
        { "sourcedId": "ce-stu-a-03", "contactHoursAttended": 42 },
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
        vec!["UPDATED", "FAILED", "FAILED", "UPDATED"],
        "{:?}",
        response.body
    );
    let payload = &response.data()["upsertCourseEnrollments"];
    assert_eq!(
        [
            &payload["createdCount"],
            &payload["updatedCount"],
            &payload["unchangedCount"],
            &payload["failedCount"]
        ],
        [&json!(0), &json!(2), &json!(0), &json!(2)]
    );
    assert_eq!(payload["results"][0]["courseEnrollment"]["version"], 2);
    assert_eq!(
        item_errors(&response, 1),
        vec![
            json!({ "field": ["input", "items", "1"], "code": "VERSION_CONFLICT",
            "message": "CourseEnrollment ce-stu-a-02 is at version 1, not 3; read it again and retry" })
        ]
    );
    assert!(payload["results"][1]["courseEnrollment"].is_null());
    assert_eq!(
        item_errors(&response, 2),
        vec![json!({ "field": ["input", "items", "2", "expectedVersion"],
            "code": "BAD_USER_INPUT",
            "message": "no record matches the key; omit expectedVersion to create" })]
    );
    let applied = enrollment_row(&app.db, "ce-stu-a-01").await.expect("row");
    assert_eq!(
        (applied.version, applied.contact_hours_attended),
        (2, Some(99.0))
    );
    let stale = enrollment_row(&app.db, "ce-stu-a-02").await.expect("row");
    assert_eq!(
        (stale.version, stale.contact_hours_attended),
        (1, stale_before.contact_hours_attended)
    );
    assert!(enrollment_row(&app.db, "ce-v-new").await.is_none());
    let unversioned = enrollment_row(&app.db, "ce-stu-a-03").await.expect("row");
    assert_eq!(
        (unversioned.version, unversioned.contact_hours_attended),
        (2, Some(42.0))
    );
    let events: Vec<(String, String)> = change_events(&app.db)
        .await
        .into_iter()
        .map(|e| (e.1, e.2))
        .collect();
    assert_eq!(
        events,
        vec![
            ("ce-stu-a-01".to_owned(), "update".to_owned()),
            ("ce-stu-a-03".to_owned(), "update".to_owned()),
        ]
    );
}
