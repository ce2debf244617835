//! Writing course offerings (DOMAIN.md area B): who may create, update, delete and run the
//! lifecycle; every field rule as a user error that writes nothing; StatusHistory and change
//! events; tombstones; optimistic concurrency.

use integration_tests::fixtures::{PARTNER_X, SCHOOL_A, UNIT, World, seed_world};
use integration_tests::writes_offerings::{
    add_offering, add_provider_staff, change_events, history_of, offering_row, write_counts,
};
use integration_tests::{GqlResponse, TestApp, global_id, sourced_ids, spawn_app};
use serde_json::{Value, json};

use crate::consents::{
    client_token, coordinator_token, mentor_token, partner_token, person_token, staff_token,
};

const FIELDS: &str = "courseOffering { sourcedId status version classCode state deliveryMode
  startDate endDate metadata schoolOrg { sourcedId } cohort { sourcedId } terms { sourcedId } }
  userErrors { field code message }";

fn mutation(name: &str, input_type: &str) -> String {
    format!("mutation($input: {input_type}!) {{ {name}(input: $input) {{ {FIELDS} }} }}")
}

async fn call(app: &TestApp, token: &str, name: &str, input: Value) -> GqlResponse {
    let mut chars = name.chars();
    let input_type = match chars.next() {
        Some(c) => format!("{}{}Input", c.to_uppercase(), chars.as_str()),
        None => String::new(),
    };
    app.gql(
        &mutation(name, &input_type),
        json!({ "input": input }),
        Some(token),
    )
    .await
}

fn payload<'a>(response: &'a GqlResponse, name: &str) -> &'a Value {
    &response.data()[name]
}

fn errors(response: &GqlResponse, name: &str) -> Vec<Value> {
    response.data()[name]["userErrors"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// A valid offering of the ApL course in term 2025/26 Term 1.
fn new_offering(w: &World, class_code: &str) -> Value {
    json!({
        "course": w.course_apl.gid(),
        "classCode": class_code,
        "cohort": w.cohort.gid(),
        "terms": [w.term_2025_1.gid()],
        "deliveryMode": "MODE_1_AT_PROVIDER",
        "startDate": "2025-09-01",
        "endDate": "2026-01-01",
    })
}

fn provider_token(app: &TestApp) -> String {
    person_token(app, "prov-1", &["academicLead"], UNIT)
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
        &w.students_of(0)[0].person.sourced_id,
        &["student"],
        SCHOOL_A,
    )
}

/// A status history row as (from, to, reason, actor).
type Step<'a> = (Option<&'a str>, &'a str, Option<&'a str>, Option<&'a str>);

async fn arrange() -> (TestApp, World) {
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    add_provider_staff(&app.db, &w, "prov-1").await;
    (app, w)
}

#[tokio::test]
async fn programme_staff_create_a_planned_offering_with_its_history_and_a_create_event() {
    let (app, w) = arrange().await;
    let mut input = new_offering(&w, "TB-2025-X");
    input["sourcedId"] = json!("off-new");
    input["schoolOrg"] = json!(w.school_a().gid());
    input["metadata"] = json!({ "room": "B12" });
    let response = call(&app, &staff_token(&app, &w), "createCourseOffering", input).await;
    let created = &payload(&response, "createCourseOffering")["courseOffering"];
    assert_eq!(
        errors(&response, "createCourseOffering"),
        Vec::<Value>::new()
    );
    assert_eq!(created["sourcedId"], "off-new");
    assert_eq!(created["state"], "PLANNED");
    assert_eq!(created["version"], 1);
    assert_eq!(created["schoolOrg"]["sourcedId"], SCHOOL_A);
    assert_eq!(created["terms"][0]["sourcedId"], "term-2025-1");
    assert_eq!(created["metadata"]["room"], "B12");

    // Read back through the list.
    let read = app
        .gql(
            "{ courseOfferings(filter: { sourcedId: { eq: \"off-new\" } }) {
                 edges { node { sourcedId classCode state terms { sourcedId } } } } }",
            json!({}),
            Some(&staff_token(&app, &w)),
        )
        .await;
    assert_eq!(
        sourced_ids(&read.data()["courseOfferings"]),
        vec!["off-new"]
    );
    let row = offering_row(&app.db, "off-new").await;
    let history = history_of(&app.db, "CourseOffering", row.id).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].0, None);
    assert_eq!(history[0].1, "planned");
    assert_eq!(history[0].3.as_deref(), Some(w.staff.sourced_id.as_str()));
    assert_eq!(
        change_events(&app.db).await,
        vec![(
            "CourseOffering".to_owned(),
            "off-new".to_owned(),
            "create".to_owned(),
            1
        )]
    );
}

#[tokio::test]
async fn a_school_coordinator_writes_offerings_at_its_own_school_only() {
    let (app, w) = arrange().await;
    let coordinator = coordinator_token(&app, &w, 0);

    // Created at its own school without naming it.
    let mut input = new_offering(&w, "TB-A-1");
    input["sourcedId"] = json!("off-coord");
    let response = call(&app, &coordinator, "createCourseOffering", input).await;
    let created = &payload(&response, "createCourseOffering")["courseOffering"];
    assert_eq!(
        created["schoolOrg"]["sourcedId"], SCHOOL_A,
        "{:?}",
        response.body
    );

    // Not at another school.
    let before = write_counts(&app.db).await;
    let mut other = new_offering(&w, "TB-A-2");
    other["schoolOrg"] = json!(w.school_b().gid());
    let refused = call(&app, &coordinator, "createCourseOffering", other).await;
    assert_eq!(refused.error_code(), Some("FORBIDDEN"));
    assert_eq!(write_counts(&app.db).await, before);

    // Updates its own; not school B's, and may not move its own there.
    let update = call(
        &app,
        &coordinator,
        "updateCourseOffering",
        json!({ "courseOffering": "off-coord", "expectedVersion": 1, "classCode": "TB-A-1b" }),
    )
    .await;
    let updated = &payload(&update, "updateCourseOffering")["courseOffering"];
    assert_eq!(updated["classCode"], "TB-A-1b");
    assert_eq!(updated["version"], 2);
    let foreign = call(
        &app,
        &coordinator,
        "updateCourseOffering",
        json!({ "courseOffering": "off-b", "classCode": "hijack" }),
    )
    .await;
    assert_eq!(foreign.error_code(), Some("FORBIDDEN"));
    let moved = call(
        &app,
        &coordinator,
        "updateCourseOffering",
        json!({ "courseOffering": "off-coord", "schoolOrg": w.school_b().gid() }),
    )
    .await;
    assert_eq!(moved.error_code(), Some("FORBIDDEN"));
    assert_eq!(
        offering_row(&app.db, "off-coord").await.school_org_id,
        Some(w.school_a().id)
    );

    // Deletes its own, not school B's.
    let delete_foreign = call(
        &app,
        &coordinator,
        "deleteCourseOffering",
        json!({ "courseOffering": "off-b" }),
    )
    .await;
    assert_eq!(delete_foreign.error_code(), Some("FORBIDDEN"));
    let deleted = call(
        &app,
        &coordinator,
        "deleteCourseOffering",
        json!({ "courseOffering": "off-coord", "expectedVersion": 2 }),
    )
    .await;
    assert_eq!(
        payload(&deleted, "deleteCourseOffering")["courseOffering"]["status"],
        "TOBEDELETED"
    );

    // But never runs the lifecycle (not the provider's staff).
    let open = call(
        &app,
        &coordinator,
        "openCourseOfferingForEnrolment",
        json!({ "courseOffering": "off-a" }),
    )
    .await;
    assert_eq!(open.error_code(), Some("FORBIDDEN"));
}

#[tokio::test]
async fn the_lifecycle_runs_for_programme_and_provider_staff_with_history_and_events() {
    let (app, w) = arrange().await;
    let staff = staff_token(&app, &w);
    let provider = provider_token(&app);
    let offering = add_offering(&app.db, &w, "off-life", "planned", Some(w.school_a())).await;

    let steps = [
        (
            "openCourseOfferingForEnrolment",
            &provider,
            "OPEN_FOR_ENROLMENT",
        ),
        ("startCourseOffering", &staff, "RUNNING"),
        ("completeCourseOffering", &provider, "COMPLETED"),
    ];
    for (version, (name, token, state)) in (1..).zip(steps) {
        let response = call(
            &app,
            token,
            name,
            json!({ "courseOffering": offering.gid(), "expectedVersion": version,
                    "reason": format!("step {version}") }),
        )
        .await;
        let row = &payload(&response, name)["courseOffering"];
        assert_eq!(row["state"], state, "{name}: {:?}", response.body);
        assert_eq!(row["version"], version + 1);
    }
    let history = history_of(&app.db, "CourseOffering", offering.id).await;
    let chain: Vec<Step<'_>> = history
        .iter()
        .map(|h| (h.0.as_deref(), h.1.as_str(), h.2.as_deref(), h.3.as_deref()))
        .collect();
    assert_eq!(
        chain,
        vec![
            (
                Some("planned"),
                "open_for_enrolment",
                Some("step 1"),
                Some("prov-1")
            ),
            (
                Some("open_for_enrolment"),
                "running",
                Some("step 2"),
                Some(w.staff.sourced_id.as_str())
            ),
            (Some("running"), "completed", Some("step 3"), Some("prov-1")),
        ]
    );
    // The same history through the API's `statusHistory`.
    let read = app
        .gql(
            "query($id: ID!) { node(id: $id) { ... on CourseOffering {
               statusHistory { fromState toState reason actor } } } }",
            json!({ "id": offering.gid() }),
            Some(&staff),
        )
        .await;
    assert_eq!(
        read.data()["node"]["statusHistory"],
        json!([
            { "fromState": "planned", "toState": "open_for_enrolment", "reason": "step 1", "actor": "prov-1" },
            { "fromState": "open_for_enrolment", "toState": "running", "reason": "step 2",
              "actor": w.staff.sourced_id },
            { "fromState": "running", "toState": "completed", "reason": "step 3", "actor": "prov-1" },
        ]),
        "{:?}",
        read.body
    );
    let events: Vec<(String, i32)> = change_events(&app.db)
        .await
        .into_iter()
        .map(|e| (e.2, e.3))
        .collect();
    assert_eq!(
        events,
        vec![
            ("update".to_owned(), 2),
            ("update".to_owned(), 3),
            ("update".to_owned(), 4)
        ]
    );

    // Cancelling: from planned and from open for enrolment.
    for (sid, state) in [("off-c1", "planned"), ("off-c2", "open_for_enrolment")] {
        add_offering(&app.db, &w, sid, state, None).await;
        let response = call(
            &app,
            &staff,
            "cancelCourseOffering",
            json!({ "courseOffering": sid, "reason": "no demand" }),
        )
        .await;
        assert_eq!(
            payload(&response, "cancelCourseOffering")["courseOffering"]["state"],
            "CANCELLED"
        );
    }
}

#[tokio::test]
async fn illegal_transitions_are_invalid_transition_and_write_nothing() {
    let (app, w) = arrange().await;
    let staff = staff_token(&app, &w);
    add_offering(&app.db, &w, "off-planned", "planned", None).await;
    add_offering(&app.db, &w, "off-done", "completed", None).await;
    add_offering(&app.db, &w, "off-cancelled", "cancelled", None).await;
    let cases = [
        ("startCourseOffering", "off-planned"),
        ("completeCourseOffering", "off-planned"),
        ("openCourseOfferingForEnrolment", "off-b"),
        ("completeCourseOffering", "off-b"),
        ("openCourseOfferingForEnrolment", "off-a"),
        ("startCourseOffering", "off-a"),
        ("cancelCourseOffering", "off-a"),
        ("cancelCourseOffering", "off-done"),
        ("startCourseOffering", "off-done"),
        ("openCourseOfferingForEnrolment", "off-cancelled"),
        ("cancelCourseOffering", "off-cancelled"),
    ];
    let before = write_counts(&app.db).await;
    for (name, sid) in cases {
        let state_before = offering_row(&app.db, sid).await.state;
        let response = call(&app, &staff, name, json!({ "courseOffering": sid })).await;
        let errs = errors(&response, name);
        assert_eq!(errs.len(), 1, "{name} {sid}: {:?}", response.body);
        assert_eq!(errs[0]["code"], "INVALID_TRANSITION", "{name} {sid}");
        assert!(payload(&response, name)["courseOffering"].is_null());
        assert_eq!(offering_row(&app.db, sid).await.state, state_before);
    }
    assert_eq!(write_counts(&app.db).await, before);
}

#[tokio::test]
async fn roles_that_may_not_write_offerings_are_refused_and_nothing_is_written() {
    let (app, w) = arrange().await;
    let (partner_client, _) = client_token(&app, PARTNER_X, "activities.write").await;
    let (enrolment_client, _) = client_token(&app, SCHOOL_A, "enrollment.write").await;
    let (roster_client, _) = client_token(&app, SCHOOL_A, "roster.write").await;
    let before = write_counts(&app.db).await;
    let refused = [
        ("teacher", teacher_token(&app, &w)),
        ("partnerCoordinator", partner_token(&app, &w)),
        ("mentor", mentor_token(&app, &w)),
        ("student", student_token(&app, &w)),
        ("partner client", partner_client),
        ("school client without roster.write", enrolment_client),
        ("coordinator of school B", coordinator_token(&app, &w, 1)),
    ];
    for (who, token) in &refused {
        let mut input = new_offering(&w, "TB-REFUSED");
        input["schoolOrg"] = json!(w.school_a().gid());
        let create = call(&app, token, "createCourseOffering", input).await;
        assert_eq!(create.error_code(), Some("FORBIDDEN"), "{who} create");
        let update = call(
            &app,
            token,
            "updateCourseOffering",
            json!({ "courseOffering": "off-a", "classCode": "X" }),
        )
        .await;
        assert_eq!(update.error_code(), Some("FORBIDDEN"), "{who} update");
        for name in [
            "deleteCourseOffering",
            "cancelCourseOffering",
            "startCourseOffering",
        ] {
            let response = call(&app, token, name, json!({ "courseOffering": "off-a" })).await;
            assert_eq!(response.error_code(), Some("FORBIDDEN"), "{who} {name}");
        }
    }
    // The school client with roster.write may not run the lifecycle either.
    let open = call(
        &app,
        &roster_client,
        "startCourseOffering",
        json!({ "courseOffering": "off-b" }),
    )
    .await;
    assert_eq!(open.error_code(), Some("FORBIDDEN"));
    let anonymous = app
        .gql(
            &mutation("createCourseOffering", "CreateCourseOfferingInput"),
            json!({ "input": new_offering(&w, "TB-ANON") }),
            None,
        )
        .await;
    assert_eq!(anonymous.error_code(), Some("UNAUTHENTICATED"));
    assert_eq!(write_counts(&app.db).await, before);
}

#[tokio::test]
async fn a_school_client_with_roster_write_creates_at_its_school_recorded_as_the_client() {
    let (app, w) = arrange().await;
    let (token, client_id) = client_token(&app, SCHOOL_A, "roster.write").await;
    let mut input = new_offering(&w, "TB-CLIENT");
    input["sourcedId"] = json!("off-client");
    let response = call(&app, &token, "createCourseOffering", input).await;
    let created = &payload(&response, "createCourseOffering")["courseOffering"];
    assert_eq!(
        created["schoolOrg"]["sourcedId"], SCHOOL_A,
        "{:?}",
        response.body
    );
    let row = offering_row(&app.db, "off-client").await;
    let history = history_of(&app.db, "CourseOffering", row.id).await;
    assert_eq!(history[0].4.as_deref(), Some(client_id.as_str()));
    assert_eq!(row.created_by.as_deref(), Some(client_id.as_str()));
}

#[tokio::test]
async fn provider_staff_write_offerings_of_their_courses_at_any_school() {
    let (app, w) = arrange().await;
    let provider = provider_token(&app);
    let mut input = new_offering(&w, "TB-PROV");
    input["schoolOrg"] = json!(w.school_b().gid());
    input["deliveryMode"] = json!("MODE_2_SCHOOL_BASED");
    let response = call(&app, &provider, "createCourseOffering", input).await;
    assert_eq!(
        payload(&response, "createCourseOffering")["courseOffering"]["state"],
        "PLANNED",
        "{:?}",
        response.body
    );
    let update = call(
        &app,
        &provider,
        "updateCourseOffering",
        json!({ "courseOffering": "off-b", "deliveryMode": "BLENDED" }),
    )
    .await;
    assert_eq!(
        payload(&update, "updateCourseOffering")["courseOffering"]["deliveryMode"],
        "BLENDED"
    );
}

#[tokio::test]
async fn invalid_offerings_are_user_errors_with_field_paths_and_write_nothing() {
    let (app, w) = arrange().await;
    let staff = staff_token(&app, &w);
    let with = |changes: Value| {
        let mut input = new_offering(&w, "TB-BAD");
        for (k, v) in changes.as_object().expect("object") {
            input[k] = v.clone();
        }
        input
    };
    let big = "x".repeat(17 * 1024);
    let cases: Vec<(Value, Option<Vec<&str>>, &str)> = vec![
        (
            with(json!({ "course": "no-such-course" })),
            Some(vec!["input", "course"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "course": w.cohort.gid() })),
            Some(vec!["input", "course"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "classCode": "  " })),
            Some(vec!["input", "classCode"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "classCode": "x".repeat(256) })),
            Some(vec!["input", "classCode"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "schoolOrg": global_id("Organization", PARTNER_X) })),
            Some(vec!["input", "schoolOrg"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "deliveryMode": "MODE_2_SCHOOL_BASED" })),
            Some(vec!["input", "schoolOrg"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "cohort": "no-such-cohort" })),
            Some(vec!["input", "cohort"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "terms": [] })),
            Some(vec!["input", "terms"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "terms": ["no-such-term"] })),
            Some(vec!["input", "terms", "0"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "terms": [w.term_2025_1.gid(), w.term_2025_1.gid()] })),
            Some(vec!["input", "terms", "1"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "endDate": "2025-09-01" })),
            Some(vec!["input", "endDate"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "startDate": "2025-08-01" })),
            Some(vec!["input", "startDate"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "endDate": "2026-02-01" })),
            Some(vec!["input", "endDate"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "metadata": [1, 2] })),
            Some(vec!["input", "metadata"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "metadata": { "big": big } })),
            Some(vec!["input", "metadata"]),
            "BAD_USER_INPUT",
        ),
        (
            with(json!({ "sourcedId": "has space" })),
            Some(vec!["input", "sourcedId"]),
            "BAD_USER_INPUT",
        ),
        (with(json!({ "sourcedId": "off-a" })), None, "DUPLICATE"),
        (
            with(json!({ "classCode": "APL-A-2024" })),
            None,
            "DUPLICATE",
        ),
    ];
    let before = write_counts(&app.db).await;
    for (input, field, code) in cases {
        let response = call(&app, &staff, "createCourseOffering", input.clone()).await;
        let errs = errors(&response, "createCourseOffering");
        assert_eq!(errs.len(), 1, "{input}: {:?}", response.body);
        assert_eq!(errs[0]["code"], code, "{input}");
        assert_eq!(errs[0]["field"], json!(field), "{input}");
        assert!(payload(&response, "createCourseOffering")["courseOffering"].is_null());
    }
    assert_eq!(write_counts(&app.db).await, before);

    // Updates: the same rules, and nothing changes.
    let row_before = offering_row(&app.db, "off-b").await;
    let updates: Vec<(Value, Option<Vec<&str>>, &str)> = vec![
        (
            json!({ "classCode": "" }),
            Some(vec!["input", "classCode"]),
            "BAD_USER_INPUT",
        ),
        (json!({ "classCode": "APL-A-2024" }), None, "DUPLICATE"),
        (
            json!({ "endDate": "2025-08-01" }),
            Some(vec!["input", "endDate"]),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "endDate": "2027-01-01" }),
            Some(vec!["input", "endDate"]),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "terms": [w.term_2024_1.gid()] }),
            Some(vec!["input", "endDate"]),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "startDate": "2025-08-01" }),
            Some(vec!["input", "startDate"]),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "schoolOrg": null, "deliveryMode": "MODE_2_SCHOOL_BASED" }),
            Some(vec!["input", "schoolOrg"]),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "cohort": "nope" }),
            Some(vec!["input", "cohort"]),
            "BAD_USER_INPUT",
        ),
        (json!({ "expectedVersion": 7 }), None, "VERSION_CONFLICT"),
    ];
    for (changes, field, code) in updates {
        let mut input = changes.clone();
        input["courseOffering"] = json!("off-b");
        let response = call(&app, &staff, "updateCourseOffering", input).await;
        let errs = errors(&response, "updateCourseOffering");
        assert_eq!(errs.len(), 1, "{changes}: {:?}", response.body);
        assert_eq!(errs[0]["code"], code, "{changes}");
        assert_eq!(errs[0]["field"], json!(field), "{changes}");
    }
    assert_eq!(offering_row(&app.db, "off-b").await, row_before);
    assert_eq!(write_counts(&app.db).await, before);

    let missing = call(
        &app,
        &staff,
        "updateCourseOffering",
        json!({ "courseOffering": "no-such-offering", "classCode": "X" }),
    )
    .await;
    assert_eq!(missing.error_code(), Some("NOT_FOUND"));
}

#[tokio::test]
async fn omitted_fields_are_kept_null_clears_and_terms_are_replaced() {
    let (app, w) = arrange().await;
    let staff = staff_token(&app, &w);
    let response = call(
        &app,
        &staff,
        "updateCourseOffering",
        json!({ "courseOffering": "off-a", "expectedVersion": 1, "cohort": null,
                "terms": [w.year_2024.gid(), w.year_2025.gid()], "metadata": { "k": "v" } }),
    )
    .await;
    let row = &payload(&response, "updateCourseOffering")["courseOffering"];
    assert_eq!(row["cohort"], Value::Null, "{:?}", response.body);
    assert_eq!(row["classCode"], "APL-A-2024");
    assert_eq!(row["schoolOrg"]["sourcedId"], SCHOOL_A);
    assert_eq!(row["deliveryMode"], "MODE_2_SCHOOL_BASED");
    let terms: Vec<&str> = row["terms"]
        .as_array()
        .expect("terms")
        .iter()
        .filter_map(|t| t["sourcedId"].as_str())
        .collect();
    assert_eq!(terms, vec!["year-2024", "year-2025"]);
    let cleared = call(
        &app,
        &staff,
        "updateCourseOffering",
        json!({ "courseOffering": "off-a", "expectedVersion": 2, "metadata": null }),
    )
    .await;
    let row = &payload(&cleared, "updateCourseOffering")["courseOffering"];
    assert_eq!(row["metadata"], Value::Null);
    assert_eq!(row["version"], 3);
    assert_eq!(offering_row(&app.db, "off-a").await.metadata, None);
}

#[tokio::test]
async fn a_deleted_offering_is_a_tombstone_seen_only_with_include_deleted() {
    let (app, w) = arrange().await;
    let staff = staff_token(&app, &w);
    let offering = add_offering(&app.db, &w, "off-gone", "planned", None).await;

    // An offering with enrolments is not deleted.
    let busy = call(
        &app,
        &staff,
        "deleteCourseOffering",
        json!({ "courseOffering": "off-a" }),
    )
    .await;
    assert_eq!(
        errors(&busy, "deleteCourseOffering")[0]["code"],
        "INVALID_TRANSITION"
    );
    assert_eq!(offering_row(&app.db, "off-a").await.status, "active");

    let stale = call(
        &app,
        &staff,
        "deleteCourseOffering",
        json!({ "courseOffering": offering.gid(), "expectedVersion": 4 }),
    )
    .await;
    let errs = errors(&stale, "deleteCourseOffering");
    assert_eq!(errs[0]["code"], "VERSION_CONFLICT");
    assert!(
        errs[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("version 1")
    );

    let deleted = call(
        &app,
        &staff,
        "deleteCourseOffering",
        json!({ "courseOffering": offering.gid(), "expectedVersion": 1 }),
    )
    .await;
    let row = &payload(&deleted, "deleteCourseOffering")["courseOffering"];
    assert_eq!(row["status"], "TOBEDELETED");
    assert_eq!(row["version"], 2);
    let list = |include: bool| {
        format!(
            "{{ courseOfferings(includeDeleted: {include}, filter: {{ sourcedId: {{ eq: \"off-gone\" }} }}) {{ edges {{ node {{ sourcedId status }} }} }} }}"
        )
    };
    let hidden = app.gql(&list(false), json!({}), Some(&staff)).await;
    assert_eq!(
        sourced_ids(&hidden.data()["courseOfferings"]),
        Vec::<String>::new()
    );
    let shown = app.gql(&list(true), json!({}), Some(&staff)).await;
    assert_eq!(
        sourced_ids(&shown.data()["courseOfferings"]),
        vec!["off-gone"]
    );
    assert_eq!(
        change_events(&app.db).await,
        vec![(
            "CourseOffering".to_owned(),
            "off-gone".to_owned(),
            "delete".to_owned(),
            2
        )]
    );

    // Deleting or transitioning a tombstone changes nothing.
    let before = write_counts(&app.db).await;
    let again = call(
        &app,
        &staff,
        "deleteCourseOffering",
        json!({ "courseOffering": offering.gid() }),
    )
    .await;
    assert_eq!(
        errors(&again, "deleteCourseOffering")[0]["code"],
        "INVALID_TRANSITION"
    );
    let open = call(
        &app,
        &staff,
        "openCourseOfferingForEnrolment",
        json!({ "courseOffering": offering.gid() }),
    )
    .await;
    assert_eq!(
        errors(&open, "openCourseOfferingForEnrolment")[0]["code"],
        "INVALID_TRANSITION"
    );
    let update = call(
        &app,
        &staff,
        "updateCourseOffering",
        json!({ "courseOffering": offering.gid(), "classCode": "again" }),
    )
    .await;
    assert_eq!(
        errors(&update, "updateCourseOffering")[0]["code"],
        "INVALID_TRANSITION"
    );
    assert_eq!(write_counts(&app.db).await, before);

    // Its class code stays taken.
    let reuse = call(
        &app,
        &staff,
        "createCourseOffering",
        new_offering(&w, "CLS-off-gone"),
    )
    .await;
    assert_eq!(
        errors(&reuse, "createCourseOffering")[0]["code"],
        "DUPLICATE"
    );
}

#[tokio::test]
async fn two_concurrent_updates_with_the_same_expected_version_let_exactly_one_through() {
    let (app, w) = arrange().await;
    let staff = staff_token(&app, &w);
    let (first, second) = tokio::join!(
        call(
            &app,
            &staff,
            "updateCourseOffering",
            json!({ "courseOffering": "off-b", "expectedVersion": 1, "classCode": "FIRST" }),
        ),
        call(
            &app,
            &staff,
            "updateCourseOffering",
            json!({ "courseOffering": "off-b", "expectedVersion": 1, "classCode": "SECOND" }),
        ),
    );
    let outcomes = [&first, &second];
    let winners: Vec<&&GqlResponse> = outcomes
        .iter()
        .filter(|r| errors(r, "updateCourseOffering").is_empty())
        .collect();
    assert_eq!(winners.len(), 1, "{:?} {:?}", first.body, second.body);
    let loser = outcomes
        .iter()
        .find(|r| !errors(r, "updateCourseOffering").is_empty())
        .expect("a loser");
    let errs = errors(loser, "updateCourseOffering");
    assert_eq!(errs[0]["code"], "VERSION_CONFLICT");
    assert!(
        errs[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("version 2"),
        "{errs:?}"
    );
    let won = payload(winners[0], "updateCourseOffering")["courseOffering"]["classCode"].clone();
    let row = offering_row(&app.db, "off-b").await;
    assert_eq!(json!(row.class_code), won);
    assert_eq!(row.version, 2);
    assert_eq!(change_events(&app.db).await.len(), 1);

    // The same for two transitions.
    let (a, b) = tokio::join!(
        call(
            &app,
            &staff,
            "startCourseOffering",
            json!({ "courseOffering": "off-b", "expectedVersion": 2 }),
        ),
        call(
            &app,
            &staff,
            "cancelCourseOffering",
            json!({ "courseOffering": "off-b", "expectedVersion": 2 }),
        ),
    );
    let ok = [
        errors(&a, "startCourseOffering"),
        errors(&b, "cancelCourseOffering"),
    ]
    .iter()
    .filter(|e| e.is_empty())
    .count();
    assert_eq!(ok, 1);
    let history = history_of(&app.db, "CourseOffering", row.id).await;
    assert_eq!(history.len(), 1);
}
