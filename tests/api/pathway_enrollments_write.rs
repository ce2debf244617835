//! Writing pathway enrolments (DOMAIN.md area B): creation (`new → applied`), updates, tombstone
//! deletes, every transition of the lifecycle table with its roles and guards, `advanceStage`,
//! optimistic concurrency and `upsertPathwayEnrollments`.

use chrono::{Duration, NaiveDate};
use entity::{
    STATUS_ACTIVE, change_event, cohort, course_enrollment, course_offering, pathway,
    pathway_enrollment, pathway_stage, status_history,
};
use integration_tests::fixtures::{
    NewStudent, OFFICE, Ref, SCHOOL_A, SCHOOL_B, World, add_student, seed_world,
};
use integration_tests::{GqlResponse, TestApp, global_id, spawn_app};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::{Value, json};

use crate::consents::{
    client_token, coordinator_token, events, mentor_token, partner_token, person_token, staff_token,
};

const FIELDS: &str = "sourcedId version state status beginDate endDate exitReason metadata
  currentStage { code } entryStage { code } cohort { sourcedId } entrySchool { sourcedId }
  student { sourcedId }
  statusHistory { fromState toState fromStage toStage reason actor clientId }";

/// A mutation `name` taking `input`, returning the enrolment and the user errors.
fn mutation(name: &str) -> String {
    let input = format!("{}{}Input", name[..1].to_uppercase(), &name[1..]);
    format!(
        "mutation($input: {input}!) {{
  {name}(input: $input) {{ pathwayEnrollment {{ {FIELDS} }} userErrors {{ field code message }} }}
}}"
    )
}

async fn call(app: &TestApp, token: &str, name: &str, input: Value) -> GqlResponse {
    app.gql(&mutation(name), json!({ "input": input }), Some(token))
        .await
}

/// "OK", the top-level error code, or the first user error code.
fn outcome(response: &GqlResponse, name: &str) -> String {
    if let Some(code) = response.error_code() {
        return code.to_owned();
    }
    let payload = &response.body["data"][name];
    match payload["userErrors"][0]["code"].as_str() {
        Some(code) => code.to_owned(),
        None => {
            assert!(
                payload["pathwayEnrollment"].is_object(),
                "no enrolment and no error: {}",
                response.body
            );
            "OK".to_owned()
        }
    }
}

fn payload<'a>(response: &'a GqlResponse, name: &str) -> &'a Value {
    &response.data()[name]
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

fn hk_today() -> NaiveDate {
    (chrono::Utc::now().naive_utc() + Duration::hours(8)).date()
}

fn stage(w: &World, code: &str) -> i64 {
    let at = w
        .stage_codes
        .iter()
        .position(|c| *c == code)
        .expect("stage code");
    w.stages[at].id
}

/// Puts an enrolment straight into `state` at `stage` (entry stage `entry`), version 1, live.
async fn set_state(
    app: &TestApp,
    w: &World,
    id: i64,
    state: &str,
    stage_code: Option<&str>,
    entry: &str,
) {
    pathway_enrollment::ActiveModel {
        id: Set(id),
        state: Set(state.to_owned()),
        status: Set(STATUS_ACTIVE.to_owned()),
        current_stage_id: Set(stage_code.map(|c| stage(w, c))),
        entry_stage_id: Set(stage(w, entry)),
        end_date: Set(None),
        exit_reason: Set(None),
        version: Set(1),
        ..Default::default()
    }
    .update(&app.db)
    .await
    .expect("set state");
}

async fn row(app: &TestApp, id: i64) -> pathway_enrollment::Model {
    pathway_enrollment::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .expect("read")
        .expect("row")
}

/// (enrolments, history rows, change events): nothing-written checks.
async fn counts(app: &TestApp) -> (u64, u64, u64) {
    (
        pathway_enrollment::Entity::find()
            .count(&app.db)
            .await
            .expect("count"),
        status_history::Entity::find()
            .count(&app.db)
            .await
            .expect("count"),
        change_event::Entity::find()
            .count(&app.db)
            .await
            .expect("count"),
    )
}

/// A completed student enrolment of `student` in a Higher Diploma offering of the pathway.
async fn complete_hd(app: &TestApp, w: &World, student: &Ref) {
    let at = api::changes::now();
    let offering = course_offering::ActiveModel {
        sourced_id: Set(format!("off-hd-{}", student.sourced_id)),
        status: Set(STATUS_ACTIVE.to_owned()),
        date_created: Set(at),
        date_last_modified: Set(at),
        version: Set(1),
        course_id: Set(w.course_hd.id),
        class_code: Set(format!("HD-{}", student.sourced_id)),
        delivery_mode: Set("mode1AtProvider".to_owned()),
        start_date: Set(date(2025, 9, 1)),
        end_date: Set(date(2027, 9, 1)),
        state: Set("completed".to_owned()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("hd offering");
    course_enrollment::ActiveModel {
        sourced_id: Set(format!("ce-hd-{}", student.sourced_id)),
        status: Set(STATUS_ACTIVE.to_owned()),
        date_created: Set(at),
        date_last_modified: Set(at),
        version: Set(1),
        person_id: Set(student.id),
        offering_id: Set(offering.id),
        school_org_id: Set(w.unit.id),
        role: Set("student".to_owned()),
        begin_date: Set(date(2025, 9, 1)),
        state: Set("completed".to_owned()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("hd enrolment");
}

/// A second pathway with one entry stage and one cohort: `(pathway, stage, cohort)` sourcedIds.
async fn other_pathway(app: &TestApp, w: &World) -> (String, String, String) {
    let at = api::changes::now();
    let p = pathway::ActiveModel {
        sourced_id: Set("pw-cm".to_owned()),
        status: Set(STATUS_ACTIVE.to_owned()),
        date_created: Set(at),
        date_last_modified: Set(at),
        version: Set(1),
        code: Set("CLAPTECH-CM".to_owned()),
        title: Set("Creative Media".to_owned()),
        track: Set("creativeMedia".to_owned()),
        owning_org_id: Set(w.unit.id),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("pathway");
    pathway_stage::ActiveModel {
        sourced_id: Set("stage-cm-s4".to_owned()),
        status: Set(STATUS_ACTIVE.to_owned()),
        date_created: Set(at),
        date_last_modified: Set(at),
        version: Set(1),
        pathway_id: Set(p.id),
        seq: Set(1),
        code: Set("S4".to_owned()),
        class_level: Set("S4".to_owned()),
        level: Set("seniorSecondary".to_owned()),
        is_entry_point: Set(true),
        is_exit_point: Set(false),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("stage");
    cohort::ActiveModel {
        sourced_id: Set("cohort-cm".to_owned()),
        status: Set(STATUS_ACTIVE.to_owned()),
        date_created: Set(at),
        date_last_modified: Set(at),
        version: Set(1),
        pathway_id: Set(p.id),
        code: Set("CM-2024".to_owned()),
        intake_session_id: Set(w.year_2024.id),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("cohort");
    ("pw-cm".into(), "stage-cm-s4".into(), "cohort-cm".into())
}

/// Tokens of every role that may never write pathway enrolments.
fn outsiders(app: &TestApp, w: &World) -> Vec<(&'static str, String)> {
    vec![
        (
            "teacher",
            person_token(
                app,
                &w.school_people[0].teacher.sourced_id,
                &["teacher"],
                SCHOOL_A,
            ),
        ),
        ("partnerCoordinator", partner_token(app, w)),
        ("mentor", mentor_token(app, w)),
        (
            "student",
            person_token(app, "stu-a-01", &["student"], SCHOOL_A),
        ),
        (
            "guardian",
            person_token(
                app,
                &w.school_people[0].guardian.sourced_id,
                &["guardian"],
                SCHOOL_A,
            ),
        ),
        (
            "evaluator",
            person_token(app, "eval-1", &["evaluator"], OFFICE),
        ),
        (
            "academicLead",
            person_token(app, "lead-1", &["academicLead"], "org-unit"),
        ),
    ]
}

async fn new_student(app: &TestApp, w: &World, sid: &str, school: usize) -> Ref {
    add_student(
        &app.db,
        &NewStudent::new(sid, "Nova", "Leung", &w.schools[school]),
    )
    .await
}

fn application(w: &World, student: &str) -> Value {
    json!({
        "student": global_id("Person", student),
        "pathway": w.pathway.gid(),
        "cohort": w.cohort.gid(),
        "entrySchool": w.schools[0].gid(),
        "entryStage": "stage-s4",
        "beginDate": "2025-09-01",
    })
}

#[tokio::test]
async fn staff_coordinators_and_school_clients_apply_with_history_and_a_create_event() {
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    for sid in ["new-1", "new-2", "new-3", "new-4"] {
        new_student(&app, &w, sid, 0).await;
    }
    let (client, client_id) = client_token(&app, SCHOOL_A, "enrollment.write").await;
    let callers = [
        (
            "new-1",
            staff_token(&app, &w),
            w.staff.sourced_id.clone(),
            None,
        ),
        (
            "new-2",
            coordinator_token(&app, &w, 0),
            w.school_people[0].coordinator.sourced_id.clone(),
            None,
        ),
        ("new-3", client, client_id.clone(), Some(client_id.clone())),
        ("new-4", app.admin_token(), "test-user".to_owned(), None),
    ];
    for (student, token, actor, client) in callers {
        let mut input = application(&w, student);
        input["sourcedId"] = json!(format!("pe-{student}"));
        input["metadata"] = json!({ "sis": "row-7" });
        if student == "new-2" || student == "new-3" {
            // A school writer may omit its own school.
            input.as_object_mut().expect("object").remove("entrySchool");
        }
        let before = events(&app).await.len();
        let response = call(&app, &token, "createPathwayEnrollment", input).await;
        let p = payload(&response, "createPathwayEnrollment");
        assert_eq!(p["userErrors"], json!([]), "{student}");
        let e = &p["pathwayEnrollment"];
        assert_eq!(e["state"], "APPLIED");
        assert_eq!(e["version"], 1);
        assert_eq!(e["status"], "ACTIVE");
        assert_eq!(e["currentStage"], Value::Null);
        assert_eq!(e["entryStage"]["code"], "S4");
        assert_eq!(e["entrySchool"]["sourcedId"], SCHOOL_A);
        assert_eq!(e["metadata"], json!({ "sis": "row-7" }));
        assert_eq!(
            e["statusHistory"],
            json!([{ "fromState": null, "toState": "applied", "fromStage": null,
                     "toStage": null, "reason": null, "actor": actor, "clientId": client }])
        );
        let after = events(&app).await;
        assert_eq!(after.len(), before + 1);
        let last = after.last().expect("event");
        assert_eq!(
            (
                last.entity_type.as_str(),
                last.sourced_id.as_str(),
                last.operation.as_str()
            ),
            (
                "PathwayEnrollment",
                format!("pe-{student}").as_str(),
                "create"
            )
        );
    }
}

#[tokio::test]
async fn roles_without_the_write_are_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    new_student(&app, &w, "new-1", 0).await;
    let before = counts(&app).await;
    let (reader, _) = client_token(&app, SCHOOL_A, "roster.read roster.write").await;
    let (partner_client, _) = client_token(&app, "org-partner-x", "enrollment.write").await;
    let mut refused = outsiders(&app, &w);
    refused.push(("school client without enrollment.write", reader));
    refused.push(("partner client", partner_client));
    refused.push((
        "coordinator of another school naming school A",
        coordinator_token(&app, &w, 1),
    ));
    for (who, token) in refused {
        let response = call(
            &app,
            &token,
            "createPathwayEnrollment",
            application(&w, "new-1"),
        )
        .await;
        assert_eq!(
            response.error_code(),
            Some("FORBIDDEN"),
            "{who}: {}",
            response.body
        );
    }
    let anonymous = app
        .gql(
            &mutation("createPathwayEnrollment"),
            json!({ "input": application(&w, "new-1") }),
            None,
        )
        .await;
    assert_eq!(anonymous.error_code(), Some("UNAUTHENTICATED"));
    // School B's coordinator naming its own school cannot see school A's student.
    let mut input = application(&w, "new-1");
    input["entrySchool"] = json!(w.schools[1].gid());
    let response = call(
        &app,
        &coordinator_token(&app, &w, 1),
        "createPathwayEnrollment",
        input,
    )
    .await;
    let errors = &payload(&response, "createPathwayEnrollment")["userErrors"];
    assert_eq!(errors[0]["code"], "BAD_USER_INPUT");
    assert_eq!(errors[0]["field"], json!(["input", "student"]));
    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn creation_guards_and_validation_are_user_errors_that_write_nothing() {
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    new_student(&app, &w, "new-1", 0).await;
    new_student(&app, &w, "new-b", 1).await;
    let (other_pathway_sid, other_stage, other_cohort) = other_pathway(&app, &w).await;
    let staff = staff_token(&app, &w);
    let before = counts(&app).await;
    let cases: Vec<(&str, Value, &str, Option<Value>)> = vec![
        (
            "student of another school",
            application(&w, "new-b"),
            "INVALID_TRANSITION",
            None,
        ),
        (
            "entry stage not an entry point",
            json!({ "entryStage": "stage-s5" }),
            "INVALID_TRANSITION",
            None,
        ),
        (
            "cohort of another pathway",
            json!({ "cohort": other_cohort }),
            "BAD_USER_INPUT",
            Some(json!(["input", "cohort"])),
        ),
        (
            "stage of another pathway",
            json!({ "entryStage": other_stage }),
            "BAD_USER_INPUT",
            Some(json!(["input", "entryStage"])),
        ),
        (
            "unknown pathway",
            json!({ "pathway": "pw-none" }),
            "BAD_USER_INPUT",
            Some(json!(["input", "pathway"])),
        ),
        (
            "unknown student",
            json!({ "student": "nobody" }),
            "BAD_USER_INPUT",
            Some(json!(["input", "student"])),
        ),
        (
            "a school that is not a secondary school",
            json!({ "entrySchool": "org-partner-x" }),
            "BAD_USER_INPUT",
            Some(json!(["input", "entrySchool"])),
        ),
        (
            "no entry school from the programme office",
            json!({ "entrySchool": null }),
            "BAD_USER_INPUT",
            Some(json!(["input", "entrySchool"])),
        ),
        (
            "metadata over 16 KB",
            json!({ "metadata": { "x": "y".repeat(17 * 1024) } }),
            "BAD_USER_INPUT",
            Some(json!(["input", "metadata"])),
        ),
        (
            "metadata not an object",
            json!({ "metadata": [1, 2] }),
            "BAD_USER_INPUT",
            Some(json!(["input", "metadata"])),
        ),
        (
            "malformed sourcedId",
            json!({ "sourcedId": "has space" }),
            "BAD_USER_INPUT",
            Some(json!(["input", "sourcedId"])),
        ),
        (
            "taken sourcedId",
            json!({ "sourcedId": "pe-stu-a-01" }),
            "DUPLICATE",
            None,
        ),
        (
            "a live enrolment in the pathway",
            application(&w, "stu-a-01"),
            "DUPLICATE",
            None,
        ),
        (
            "a cohort id of the wrong type",
            json!({ "cohort": w.pathway.gid() }),
            "BAD_USER_INPUT",
            Some(json!(["input", "cohort"])),
        ),
    ];
    let _ = other_pathway_sid;
    for (what, patch, code, field) in cases {
        let mut input = application(&w, "new-1");
        if patch.get("student").is_some() && patch.get("pathway").is_some() {
            input = patch.clone();
        } else {
            for (k, v) in patch.as_object().expect("object") {
                input[k] = v.clone();
            }
        }
        let response = call(&app, &staff, "createPathwayEnrollment", input).await;
        let p = payload(&response, "createPathwayEnrollment");
        assert_eq!(p["pathwayEnrollment"], Value::Null, "{what}");
        assert_eq!(
            p["userErrors"][0]["code"], code,
            "{what}: {}",
            response.body
        );
        if let Some(field) = field {
            assert_eq!(p["userErrors"][0]["field"], field, "{what}");
        }
    }
    assert_eq!(counts(&app).await, before);
    // A withdrawn student re-enters with a new row.
    let response = call(
        &app,
        &staff,
        "createPathwayEnrollment",
        application(&w, "stu-a-05"),
    )
    .await;
    assert_eq!(outcome(&response, "createPathwayEnrollment"), "OK");
}

/// The input of transition `name` on enrolment `sid` at `version`.
fn transition_input(name: &str, sid: &str, version: i32) -> Value {
    let mut input = json!({
        "pathwayEnrollment": global_id("PathwayEnrollment", sid),
        "expectedVersion": version,
    });
    match name {
        "holdPathwayEnrollment" | "resumePathwayEnrollment" => input["reason"] = json!("family"),
        "exitPathwayEnrollment" => input["exitReason"] = json!("TO_OTHER_STUDY"),
        "withdrawPathwayEnrollment" => input["exitReason"] = json!("WITHDREW_BY_CHOICE"),
        _ => {}
    }
    input
}

/// Every transition mutation with the state, stage and entry stage it succeeds from (or, for
/// the two issue-6 guards, is refused by the guard), and whether a school may make it there.
const READY: [(&str, &str, Option<&str>, &str, bool); 11] = [
    ("offerPathwayEnrollment", "applied", None, "S4", false),
    ("rejectPathwayEnrollment", "applied", None, "S4", false),
    ("declinePathwayEnrollment", "offered", None, "S4", true),
    ("enrolPathwayEnrollment", "offered", None, "S4", true),
    ("holdPathwayEnrollment", "enrolled", Some("S4"), "S4", true),
    ("resumePathwayEnrollment", "on_hold", Some("S4"), "S4", true),
    (
        "completeSecondaryPathwayEnrollment",
        "enrolled",
        Some("S6"),
        "S4",
        false,
    ),
    (
        "articulatePathwayEnrollment",
        "secondary_completed",
        Some("S6"),
        "S4",
        false,
    ),
    (
        "completePathwayEnrollment",
        "articulated",
        Some("HD2"),
        "S4",
        false,
    ),
    ("exitPathwayEnrollment", "enrolled", Some("S6"), "S4", true),
    (
        "withdrawPathwayEnrollment",
        "enrolled",
        Some("S5"),
        "S4",
        true,
    ),
];

/// What the programme office gets from the ready state.
fn staff_outcome(name: &str) -> &'static str {
    match name {
        "completeSecondaryPathwayEnrollment" | "articulatePathwayEnrollment" => {
            "INVALID_TRANSITION"
        }
        _ => "OK",
    }
}

#[tokio::test]
async fn every_transition_has_its_roles() {
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = &w.students_of(0)[0];
    let pe = &student.pathway_enrollment;
    complete_hd(&app, &w, &student.person).await;
    let (client, _) = client_token(&app, SCHOOL_A, "enrollment.write").await;
    let (reader, _) = client_token(&app, SCHOOL_A, "roster.read").await;
    let (office_client, _) = client_token(&app, OFFICE, "enrollment.write").await;
    for (name, state, stage_code, entry, school_may) in READY {
        let mut callers: Vec<(&str, String, String)> = vec![
            (
                "programmeAdmin",
                app.admin_token(),
                staff_outcome(name).into(),
            ),
            (
                "programmeStaff",
                staff_token(&app, &w),
                staff_outcome(name).into(),
            ),
            (
                "programme office client",
                office_client.clone(),
                staff_outcome(name).into(),
            ),
            (
                "schoolCoordinator",
                coordinator_token(&app, &w, 0),
                if school_may { "OK" } else { "FORBIDDEN" }.into(),
            ),
            (
                "school client",
                client.clone(),
                if school_may { "OK" } else { "FORBIDDEN" }.into(),
            ),
            (
                "coordinator of another school",
                coordinator_token(&app, &w, 1),
                if school_may { "NOT_FOUND" } else { "FORBIDDEN" }.into(),
            ),
            (
                "school client without scope",
                reader.clone(),
                "FORBIDDEN".into(),
            ),
        ];
        for (who, token) in outsiders(&app, &w) {
            callers.push((who, token, "FORBIDDEN".into()));
        }
        for (who, token, expected) in callers {
            set_state(&app, &w, pe.id, state, stage_code, entry).await;
            let response = call(
                &app,
                &token,
                name,
                transition_input(name, &pe.sourced_id, 1),
            )
            .await;
            assert_eq!(
                outcome(&response, name),
                expected,
                "{name} by {who}: {}",
                response.body
            );
            if expected != "OK" {
                assert_eq!(row(&app, pe.id).await.version, 1, "{name} by {who} wrote");
            }
        }
    }
    // A school exits or withdraws only in S4–S6.
    let coordinator = coordinator_token(&app, &w, 0);
    for (name, state, stage_code) in [
        ("exitPathwayEnrollment", "articulated", "HD2"),
        ("withdrawPathwayEnrollment", "articulated", "HD1"),
    ] {
        for token in [&coordinator, &client] {
            set_state(&app, &w, pe.id, state, Some(stage_code), "S4").await;
            let response = call(&app, token, name, transition_input(name, &pe.sourced_id, 1)).await;
            assert_eq!(
                response.error_code(),
                Some("FORBIDDEN"),
                "{name} at {stage_code}"
            );
        }
        let response = call(
            &app,
            &staff_token(&app, &w),
            name,
            transition_input(name, &pe.sourced_id, 1),
        )
        .await;
        assert_eq!(
            outcome(&response, name),
            "OK",
            "{name} by staff at {stage_code}"
        );
    }
    // Before the stages a school may withdraw.
    for state in ["applied", "offered"] {
        set_state(&app, &w, pe.id, state, None, "S4").await;
        let name = "withdrawPathwayEnrollment";
        let response = call(
            &app,
            &coordinator,
            name,
            transition_input(name, &pe.sourced_id, 1),
        )
        .await;
        assert_eq!(outcome(&response, name), "OK", "withdraw from {state}");
    }
}

const ALL_STATES: [&str; 11] = [
    "applied",
    "offered",
    "not_admitted",
    "declined",
    "enrolled",
    "on_hold",
    "secondary_completed",
    "articulated",
    "completed",
    "exited",
    "withdrawn",
];

/// The table: the states each mutation starts from.
fn from_states(name: &str) -> &'static [&'static str] {
    match name {
        "offerPathwayEnrollment" | "rejectPathwayEnrollment" => &["applied"],
        "declinePathwayEnrollment" | "enrolPathwayEnrollment" => &["offered"],
        "holdPathwayEnrollment" | "completeSecondaryPathwayEnrollment" => &["enrolled"],
        "resumePathwayEnrollment" => &["on_hold"],
        "articulatePathwayEnrollment" => &["offered", "secondary_completed"],
        "completePathwayEnrollment" => &["articulated"],
        "exitPathwayEnrollment" => &["enrolled", "on_hold", "secondary_completed", "articulated"],
        "withdrawPathwayEnrollment" => {
            &["applied", "offered", "enrolled", "on_hold", "articulated"]
        }
        other => panic!("unknown mutation {other}"),
    }
}

#[tokio::test]
async fn every_illegal_from_state_is_an_invalid_transition_that_writes_nothing() {
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let pe = &w.students_of(0)[0].pathway_enrollment;
    let admin = app.admin_token();
    for (name, ..) in READY {
        for state in ALL_STATES {
            if from_states(name).contains(&state) {
                continue;
            }
            // Exit points and last stages, so only the state is wrong.
            let stage_code = match state {
                "applied" | "offered" | "not_admitted" | "declined" => None,
                "articulated" | "completed" => Some("HD2"),
                _ => Some("S6"),
            };
            set_state(&app, &w, pe.id, state, stage_code, "S4").await;
            let before = counts(&app).await;
            let response = call(
                &app,
                &admin,
                name,
                transition_input(name, &pe.sourced_id, 1),
            )
            .await;
            let p = payload(&response, name);
            assert_eq!(
                p["userErrors"][0]["code"], "INVALID_TRANSITION",
                "{name} from {state}"
            );
            let message = p["userErrors"][0]["message"].as_str().expect("message");
            assert!(message.contains(state), "{name} from {state}: {message}");
            assert_eq!(counts(&app).await, before, "{name} from {state} wrote");
            let after = row(&app, pe.id).await;
            assert_eq!((after.state.as_str(), after.version), (state, 1));
        }
    }
    // A deleted enrolment takes no transition.
    set_state(&app, &w, pe.id, "applied", None, "S4").await;
    integration_tests::fixtures::tombstone(&app.db, "pathway_enrollment", pe.id).await;
    let name = "offerPathwayEnrollment";
    let response = call(
        &app,
        &admin,
        name,
        transition_input(name, &pe.sourced_id, 2),
    )
    .await;
    assert_eq!(outcome(&response, name), "INVALID_TRANSITION");
}

/// (mutation, from, stage, to, currentStage after, endDate set, exitReason).
type AcceptedCase = (
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    Option<&'static str>,
    bool,
    Option<&'static str>,
);

#[tokio::test]
async fn accepted_transitions_write_state_dates_reasons_history_and_an_update_event() {
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = &w.students_of(0)[0];
    let pe = &student.pathway_enrollment;
    complete_hd(&app, &w, &student.person).await;
    let staff = staff_token(&app, &w);
    let today = hk_today().format("%Y-%m-%d").to_string();
    // (mutation, from, stage, to, currentStage after, endDate set, exitReason)
    let cases: [AcceptedCase; 16] = [
        (
            "offerPathwayEnrollment",
            "applied",
            None,
            "OFFERED",
            None,
            false,
            None,
        ),
        (
            "rejectPathwayEnrollment",
            "applied",
            None,
            "NOT_ADMITTED",
            None,
            true,
            None,
        ),
        (
            "declinePathwayEnrollment",
            "offered",
            None,
            "DECLINED",
            None,
            true,
            None,
        ),
        (
            "enrolPathwayEnrollment",
            "offered",
            None,
            "ENROLLED",
            Some("S4"),
            false,
            None,
        ),
        (
            "holdPathwayEnrollment",
            "enrolled",
            Some("S5"),
            "ON_HOLD",
            Some("S5"),
            false,
            None,
        ),
        (
            "resumePathwayEnrollment",
            "on_hold",
            Some("S5"),
            "ENROLLED",
            Some("S5"),
            false,
            None,
        ),
        (
            "completePathwayEnrollment",
            "articulated",
            Some("HD2"),
            "COMPLETED",
            Some("HD2"),
            true,
            None,
        ),
        (
            "exitPathwayEnrollment",
            "enrolled",
            Some("S6"),
            "EXITED",
            Some("S6"),
            true,
            Some("TO_OTHER_STUDY"),
        ),
        (
            "exitPathwayEnrollment",
            "on_hold",
            Some("S6"),
            "EXITED",
            Some("S6"),
            true,
            Some("TO_OTHER_STUDY"),
        ),
        (
            "exitPathwayEnrollment",
            "secondary_completed",
            Some("S6"),
            "EXITED",
            Some("S6"),
            true,
            Some("TO_OTHER_STUDY"),
        ),
        (
            "exitPathwayEnrollment",
            "articulated",
            Some("HD2"),
            "EXITED",
            Some("HD2"),
            true,
            Some("TO_OTHER_STUDY"),
        ),
        (
            "withdrawPathwayEnrollment",
            "applied",
            None,
            "WITHDRAWN",
            None,
            true,
            Some("WITHDREW_BY_CHOICE"),
        ),
        (
            "withdrawPathwayEnrollment",
            "offered",
            None,
            "WITHDRAWN",
            None,
            true,
            Some("WITHDREW_BY_CHOICE"),
        ),
        (
            "withdrawPathwayEnrollment",
            "enrolled",
            Some("S4"),
            "WITHDRAWN",
            Some("S4"),
            true,
            Some("WITHDREW_BY_CHOICE"),
        ),
        (
            "withdrawPathwayEnrollment",
            "on_hold",
            Some("S5"),
            "WITHDRAWN",
            Some("S5"),
            true,
            Some("WITHDREW_BY_CHOICE"),
        ),
        (
            "withdrawPathwayEnrollment",
            "articulated",
            Some("HD1"),
            "WITHDRAWN",
            Some("HD1"),
            true,
            Some("WITHDREW_BY_CHOICE"),
        ),
    ];
    for (name, from, stage_code, to, stage_after, ends, exit) in cases {
        set_state(&app, &w, pe.id, from, stage_code, "S4").await;
        let history_before = crate::consents::history(&app, "PathwayEnrollment", pe.id)
            .await
            .len();
        let events_before = events(&app).await.len();
        let mut input = transition_input(name, &pe.sourced_id, 1);
        input["reason"] = json!(format!("because {name}"));
        let response = call(&app, &staff, name, input).await;
        let p = payload(&response, name);
        assert_eq!(p["userErrors"], json!([]), "{name} from {from}");
        let e = &p["pathwayEnrollment"];
        assert_eq!(e["state"], to, "{name} from {from}");
        assert_eq!(e["version"], 2);
        assert_eq!(e["currentStage"]["code"].as_str(), stage_after, "{name}");
        assert_eq!(
            e["endDate"].as_str(),
            ends.then_some(today.as_str()),
            "{name} endDate"
        );
        let exit = exit
            .map(|x| Value::String(x.to_owned()))
            .unwrap_or(Value::Null);
        assert_eq!(e["exitReason"], exit, "{name}");
        let history = e["statusHistory"].as_array().expect("history");
        assert_eq!(history.len(), history_before + 1);
        let last = history.last().expect("row");
        assert_eq!(last["fromState"], from);
        assert_eq!(last["toState"], to.to_lowercase());
        assert_eq!(last["reason"], format!("because {name}"));
        assert_eq!(last["actor"], w.staff.sourced_id.as_str());
        assert_eq!(last["clientId"], Value::Null);
        if name == "enrolPathwayEnrollment" {
            assert_eq!(
                (last["fromStage"].clone(), last["toStage"].clone()),
                (Value::Null, json!("S4"))
            );
        }
        let stored = row(&app, pe.id).await;
        assert_eq!(
            (stored.version, stored.state.as_str()),
            (2, to.to_lowercase().as_str())
        );
        let all = events(&app).await;
        assert_eq!(all.len(), events_before + 1);
        let event = all.last().expect("event");
        assert_eq!(
            (
                event.operation.as_str(),
                event.sourced_id.as_str(),
                event.version
            ),
            ("update", pe.sourced_id.as_str(), 2)
        );
    }
}

#[tokio::test]
async fn each_guard_refuses_with_invalid_transition_and_names_what_is_missing() {
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let pe = &w.students_of(0)[0].pathway_enrollment;
    let staff = staff_token(&app, &w);
    // (mutation, state, stage, entry stage, what the message names)
    let cases = [
        (
            "enrolPathwayEnrollment",
            "offered",
            None,
            "HD1",
            "not senior-secondary",
        ),
        (
            "articulatePathwayEnrollment",
            "offered",
            None,
            "S4",
            "sub-degree entry stage",
        ),
        (
            "articulatePathwayEnrollment",
            "offered",
            None,
            "HD1",
            "ArticulationApplication",
        ),
        (
            "articulatePathwayEnrollment",
            "secondary_completed",
            Some("S6"),
            "S4",
            "ArticulationApplication",
        ),
        (
            "completeSecondaryPathwayEnrollment",
            "enrolled",
            Some("S5"),
            "S4",
            "last senior-secondary stage",
        ),
        (
            "completeSecondaryPathwayEnrollment",
            "enrolled",
            Some("S6"),
            "S4",
            "AplOutcome",
        ),
        (
            "completePathwayEnrollment",
            "articulated",
            Some("HD1"),
            "S4",
            "last stage",
        ),
        (
            "completePathwayEnrollment",
            "articulated",
            Some("HD2"),
            "S4",
            "Higher Diploma",
        ),
        (
            "exitPathwayEnrollment",
            "enrolled",
            Some("S5"),
            "S4",
            "not an exit point",
        ),
        (
            "exitPathwayEnrollment",
            "articulated",
            Some("HD1"),
            "S4",
            "not an exit point",
        ),
    ];
    for (name, state, stage_code, entry, names) in cases {
        set_state(&app, &w, pe.id, state, stage_code, entry).await;
        let before = counts(&app).await;
        let response = call(
            &app,
            &staff,
            name,
            transition_input(name, &pe.sourced_id, 1),
        )
        .await;
        let p = payload(&response, name);
        assert_eq!(
            p["userErrors"][0]["code"], "INVALID_TRANSITION",
            "{name} {state}"
        );
        let message = p["userErrors"][0]["message"].as_str().expect("message");
        assert!(message.contains(names), "{name} from {state}: {message}");
        assert_eq!(counts(&app).await, before);
        assert_eq!(row(&app, pe.id).await.version, 1);
    }
    // A reason is required to hold and resume; a blank one is no reason.
    for (name, state) in [
        ("holdPathwayEnrollment", "enrolled"),
        ("resumePathwayEnrollment", "on_hold"),
    ] {
        set_state(&app, &w, pe.id, state, Some("S4"), "S4").await;
        let mut input = transition_input(name, &pe.sourced_id, 1);
        input["reason"] = json!("   ");
        let response = call(&app, &staff, name, input).await;
        let p = payload(&response, name);
        assert_eq!(p["userErrors"][0]["code"], "BAD_USER_INPUT");
        assert_eq!(p["userErrors"][0]["field"], json!(["input", "reason"]));
        assert_eq!(row(&app, pe.id).await.version, 1);
        let mut input = transition_input(name, &pe.sourced_id, 1);
        input.as_object_mut().expect("object").remove("reason");
        let response = call(&app, &staff, name, input).await;
        assert_eq!(
            response.error_code(),
            Some("BAD_USER_INPUT"),
            "{name} without reason"
        );
    }
    // exitReason is required and closed.
    set_state(&app, &w, pe.id, "enrolled", Some("S6"), "S4").await;
    let mut input = transition_input("exitPathwayEnrollment", &pe.sourced_id, 1);
    input["exitReason"] = json!("BORED");
    let response = call(&app, &staff, "exitPathwayEnrollment", input).await;
    assert_eq!(response.error_code(), Some("BAD_USER_INPUT"));
    // A stale version is a conflict naming the current version.
    let response = call(
        &app,
        &staff,
        "holdPathwayEnrollment",
        transition_input("holdPathwayEnrollment", &pe.sourced_id, 7),
    )
    .await;
    let p = payload(&response, "holdPathwayEnrollment");
    assert_eq!(p["userErrors"][0]["code"], "VERSION_CONFLICT");
    assert!(
        p["userErrors"][0]["message"]
            .as_str()
            .expect("message")
            .contains("version 1")
    );
}

#[tokio::test]
async fn two_transitions_with_the_same_expected_version_one_wins_one_conflicts() {
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let pe = &w.students_of(0)[0].pathway_enrollment;
    set_state(&app, &w, pe.id, "enrolled", Some("S6"), "S4").await;
    let staff = staff_token(&app, &w);
    let coordinator = coordinator_token(&app, &w, 0);
    let before = counts(&app).await;
    let hold = call(
        &app,
        &staff,
        "holdPathwayEnrollment",
        transition_input("holdPathwayEnrollment", &pe.sourced_id, 1),
    );
    let exit = call(
        &app,
        &coordinator,
        "exitPathwayEnrollment",
        transition_input("exitPathwayEnrollment", &pe.sourced_id, 1),
    );
    let (hold, exit) = tokio::join!(hold, exit);
    let results = [
        (
            outcome(&hold, "holdPathwayEnrollment"),
            &hold,
            "holdPathwayEnrollment",
        ),
        (
            outcome(&exit, "exitPathwayEnrollment"),
            &exit,
            "exitPathwayEnrollment",
        ),
    ];
    let winners: Vec<_> = results.iter().filter(|(o, ..)| o == "OK").collect();
    let losers: Vec<_> = results.iter().filter(|(o, ..)| o != "OK").collect();
    assert_eq!(winners.len(), 1, "{} / {}", hold.body, exit.body);
    let (code, response, name) = losers[0];
    assert_eq!(code, "VERSION_CONFLICT");
    let message = payload(response, name)["userErrors"][0]["message"]
        .as_str()
        .expect("message");
    assert!(message.contains("at version 2"), "{message}");
    let stored = row(&app, pe.id).await;
    assert_eq!(stored.version, 2);
    // One history row and one event: the loser wrote nothing.
    assert_eq!(counts(&app).await, (before.0, before.1 + 1, before.2 + 1));
}

fn advance(sid: &str, version: i32) -> Value {
    json!({ "pathwayEnrollment": global_id("PathwayEnrollment", sid), "expectedVersion": version })
}

#[tokio::test]
async fn stages_advance_one_level_at_a_time_and_only_programme_admin_jumps() {
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let pe = &w.students_of(0)[0].pathway_enrollment;
    let name = "advancePathwayEnrollmentStage";
    let staff = staff_token(&app, &w);
    let coordinator = coordinator_token(&app, &w, 0);
    let admin = app.admin_token();
    set_state(&app, &w, pe.id, "enrolled", Some("S4"), "S4").await;
    // S4 → S5 by the school, S5 → S6 by staff (naming the next stage).
    let response = call(&app, &coordinator, name, advance(&pe.sourced_id, 1)).await;
    let e = &payload(&response, name)["pathwayEnrollment"];
    assert_eq!(
        (
            e["state"].clone(),
            e["currentStage"]["code"].clone(),
            e["version"].clone()
        ),
        (json!("ENROLLED"), json!("S5"), json!(2))
    );
    let last = e["statusHistory"]
        .as_array()
        .expect("history")
        .last()
        .expect("row")
        .clone();
    assert_eq!(
        (
            last["fromState"].clone(),
            last["toState"].clone(),
            last["fromStage"].clone(),
            last["toStage"].clone()
        ),
        (
            json!("enrolled"),
            json!("enrolled"),
            json!("S4"),
            json!("S5")
        )
    );
    assert_eq!(
        last["actor"],
        w.school_people[0].coordinator.sourced_id.as_str()
    );
    let event = events(&app).await.pop().expect("event");
    assert_eq!((event.operation.as_str(), event.version), ("update", 2));
    let mut input = advance(&pe.sourced_id, 2);
    input["toStage"] = json!("stage-s6");
    let response = call(&app, &staff, name, input).await;
    assert_eq!(
        payload(&response, name)["pathwayEnrollment"]["currentStage"]["code"],
        "S6"
    );
    // S6 → HD1 only by articulation.
    let before = counts(&app).await;
    let response = call(&app, &staff, name, advance(&pe.sourced_id, 3)).await;
    let p = payload(&response, name);
    assert_eq!(p["userErrors"][0]["code"], "INVALID_TRANSITION");
    assert!(
        p["userErrors"][0]["message"]
            .as_str()
            .expect("m")
            .contains("articulation")
    );
    assert_eq!(counts(&app).await, before);
    // Staff may not jump; the admin jumps to an entry point at the same level with a reason.
    let mut jump = advance(&pe.sourced_id, 3);
    jump["toStage"] = json!("stage-s4");
    let response = call(&app, &staff, name, jump.clone()).await;
    assert_eq!(response.error_code(), Some("FORBIDDEN"));
    let response = call(&app, &admin, name, jump.clone()).await;
    let p = payload(&response, name);
    assert_eq!(
        (
            p["userErrors"][0]["code"].clone(),
            p["userErrors"][0]["field"].clone()
        ),
        (json!("BAD_USER_INPUT"), json!(["input", "reason"]))
    );
    for (target, code) in [
        ("stage-s5", "INVALID_TRANSITION"),
        ("stage-hd1", "INVALID_TRANSITION"),
        ("stage-cm-none", "BAD_USER_INPUT"),
    ] {
        let mut bad = jump.clone();
        bad["toStage"] = json!(target);
        bad["reason"] = json!("repeat");
        let response = call(&app, &admin, name, bad).await;
        assert_eq!(
            payload(&response, name)["userErrors"][0]["code"],
            code,
            "jump to {target}"
        );
    }
    assert_eq!(counts(&app).await, before);
    jump["reason"] = json!("repeating S4");
    let response = call(&app, &admin, name, jump).await;
    let e = &payload(&response, name)["pathwayEnrollment"];
    assert_eq!(e["currentStage"]["code"], "S4");
    let last = e["statusHistory"]
        .as_array()
        .expect("h")
        .last()
        .expect("row")
        .clone();
    assert_eq!(
        (
            last["fromStage"].clone(),
            last["toStage"].clone(),
            last["reason"].clone()
        ),
        (json!("S6"), json!("S4"), json!("repeating S4"))
    );
    // HD1 → HD2 while articulated (staff; a school may not), then no further.
    set_state(&app, &w, pe.id, "articulated", Some("HD1"), "S4").await;
    let response = call(&app, &coordinator, name, advance(&pe.sourced_id, 1)).await;
    assert_eq!(response.error_code(), Some("FORBIDDEN"));
    let response = call(&app, &staff, name, advance(&pe.sourced_id, 1)).await;
    assert_eq!(
        payload(&response, name)["pathwayEnrollment"]["currentStage"]["code"],
        "HD2"
    );
    let response = call(&app, &staff, name, advance(&pe.sourced_id, 2)).await;
    assert_eq!(
        payload(&response, name)["userErrors"][0]["code"],
        "INVALID_TRANSITION"
    );
    // No stage changes on hold or before enrolment; outsiders are refused.
    for state in [
        "on_hold",
        "applied",
        "offered",
        "secondary_completed",
        "withdrawn",
    ] {
        set_state(&app, &w, pe.id, state, Some("S4"), "S4").await;
        let response = call(&app, &staff, name, advance(&pe.sourced_id, 1)).await;
        assert_eq!(
            payload(&response, name)["userErrors"][0]["code"],
            "INVALID_TRANSITION",
            "{state}"
        );
    }
    set_state(&app, &w, pe.id, "enrolled", Some("S4"), "S4").await;
    for (who, token) in outsiders(&app, &w) {
        let response = call(&app, &token, name, advance(&pe.sourced_id, 1)).await;
        assert_eq!(response.error_code(), Some("FORBIDDEN"), "{who}");
    }
    let response = call(
        &app,
        &coordinator_token(&app, &w, 1),
        name,
        advance(&pe.sourced_id, 1),
    )
    .await;
    assert_eq!(response.error_code(), Some("NOT_FOUND"));
    assert_eq!(row(&app, pe.id).await.version, 1);
}

#[tokio::test]
async fn updates_change_only_non_state_fields_while_the_state_allows() {
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let pe = &w.students_of(0)[0].pathway_enrollment;
    let name = "updatePathwayEnrollment";
    let coordinator = coordinator_token(&app, &w, 0);
    set_state(&app, &w, pe.id, "applied", None, "S4").await;
    let input = |version: i32, extra: Value| {
        let mut input = json!({ "pathwayEnrollment": pe.sourced_id, "expectedVersion": version });
        for (k, v) in extra.as_object().expect("object") {
            input[k] = v.clone();
        }
        input
    };
    let response = call(
        &app,
        &coordinator,
        name,
        input(
            1,
            json!({ "beginDate": "2025-10-01", "metadata": { "a": 1 } }),
        ),
    )
    .await;
    let e = &payload(&response, name)["pathwayEnrollment"];
    assert_eq!(
        (
            e["beginDate"].clone(),
            e["metadata"].clone(),
            e["version"].clone(),
            e["state"].clone()
        ),
        (
            json!("2025-10-01"),
            json!({ "a": 1 }),
            json!(2),
            json!("APPLIED")
        )
    );
    // The same values again write nothing.
    let before = counts(&app).await;
    let response = call(
        &app,
        &coordinator,
        name,
        input(
            2,
            json!({ "beginDate": "2025-10-01", "metadata": { "a": 1 } }),
        ),
    )
    .await;
    assert_eq!(payload(&response, name)["pathwayEnrollment"]["version"], 2);
    assert_eq!(counts(&app).await, before);
    // Null clears metadata; omitted keeps.
    let response = call(
        &app,
        &coordinator,
        name,
        input(2, json!({ "metadata": null })),
    )
    .await;
    let e = &payload(&response, name)["pathwayEnrollment"];
    assert_eq!(
        (
            e["metadata"].clone(),
            e["beginDate"].clone(),
            e["version"].clone()
        ),
        (Value::Null, json!("2025-10-01"), json!(3))
    );
    // Expected failures.
    let (_, _, other_cohort) = other_pathway(&app, &w).await;
    set_state(&app, &w, pe.id, "enrolled", Some("S4"), "S4").await;
    let before = counts(&app).await;
    for (extra, code, field) in [
        (
            json!({ "beginDate": "2025-11-01" }),
            "INVALID_TRANSITION",
            Value::Null,
        ),
        (
            json!({ "cohort": other_cohort }),
            "BAD_USER_INPUT",
            json!(["input", "cohort"]),
        ),
        (
            json!({ "metadata": { "x": "y".repeat(17 * 1024) } }),
            "BAD_USER_INPUT",
            json!(["input", "metadata"]),
        ),
        (
            json!({ "cohort": "cohort-2024", "metadata": { "b": 2 }, "expectedVersion": 9 }),
            "VERSION_CONFLICT",
            Value::Null,
        ),
    ] {
        let response = call(&app, &coordinator, name, input(1, extra.clone())).await;
        let p = payload(&response, name);
        assert_eq!(p["userErrors"][0]["code"], code, "{extra}");
        assert_eq!(p["userErrors"][0]["field"], field, "{extra}");
    }
    assert_eq!(counts(&app).await, before);
    assert_eq!(row(&app, pe.id).await.version, 1);
    for (who, token) in outsiders(&app, &w) {
        let response = call(&app, &token, name, input(1, json!({ "metadata": {} }))).await;
        assert_eq!(response.error_code(), Some("FORBIDDEN"), "{who}");
    }
    let response = call(
        &app,
        &coordinator_token(&app, &w, 1),
        name,
        input(1, json!({ "metadata": {} })),
    )
    .await;
    assert_eq!(response.error_code(), Some("NOT_FOUND"));
}

const LIST: &str = "query($deleted: Boolean!) {
  pathwayEnrollments(first: 100, includeDeleted: $deleted, filter: { sourcedId: { eq: \"pe-stu-a-02\" } }) {
    edges { node { sourcedId status version } } } }";

#[tokio::test]
async fn deletes_are_tombstones_seen_only_with_include_deleted() {
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let applied = &w.students_of(0)[1].pathway_enrollment; // applied
    let enrolled = &w.students_of(0)[0].pathway_enrollment;
    let name = "deletePathwayEnrollment";
    let staff = staff_token(&app, &w);
    let input = |sid: &str, version: i32| json!({ "pathwayEnrollment": global_id("PathwayEnrollment", sid), "expectedVersion": version });
    let mut refused = outsiders(&app, &w);
    refused.push(("schoolCoordinator", coordinator_token(&app, &w, 0)));
    refused.push((
        "school client",
        client_token(&app, SCHOOL_A, "enrollment.write").await.0,
    ));
    for (who, token) in refused {
        let response = call(&app, &token, name, input(&applied.sourced_id, 1)).await;
        assert_eq!(response.error_code(), Some("FORBIDDEN"), "{who}");
    }
    // Staff may not delete an enrolment that began; stale versions conflict.
    let before = counts(&app).await;
    let response = call(&app, &staff, name, input(&enrolled.sourced_id, 1)).await;
    assert_eq!(
        payload(&response, name)["userErrors"][0]["code"],
        "INVALID_TRANSITION"
    );
    let response = call(&app, &staff, name, input(&applied.sourced_id, 5)).await;
    assert_eq!(
        payload(&response, name)["userErrors"][0]["code"],
        "VERSION_CONFLICT"
    );
    assert_eq!(counts(&app).await, before);

    let response = call(&app, &staff, name, input(&applied.sourced_id, 1)).await;
    let e = &payload(&response, name)["pathwayEnrollment"];
    assert_eq!(
        (e["status"].clone(), e["version"].clone()),
        (json!("TOBEDELETED"), json!(2))
    );
    let event = events(&app).await.pop().expect("event");
    assert_eq!(
        (event.operation.as_str(), event.sourced_id.as_str()),
        ("delete", applied.sourced_id.as_str())
    );
    let hidden = app
        .gql(LIST, json!({ "deleted": false }), Some(&staff))
        .await;
    assert_eq!(hidden.data()["pathwayEnrollments"]["edges"], json!([]));
    let shown = app
        .gql(LIST, json!({ "deleted": true }), Some(&staff))
        .await;
    assert_eq!(
        shown.data()["pathwayEnrollments"]["edges"][0]["node"],
        json!({ "sourcedId": applied.sourced_id, "status": "TOBEDELETED", "version": 2 })
    );
    let response = call(&app, &staff, name, input(&applied.sourced_id, 2)).await;
    assert_eq!(
        payload(&response, name)["userErrors"][0]["code"],
        "INVALID_TRANSITION"
    );
    // The slot is free again: the student re-applies.
    let response = call(
        &app,
        &staff,
        "createPathwayEnrollment",
        application(&w, "stu-a-02"),
    )
    .await;
    assert_eq!(outcome(&response, "createPathwayEnrollment"), "OK");
    // programmeAdmin deletes in any state.
    let response = call(
        &app,
        &app.admin_token(),
        name,
        input(&enrolled.sourced_id, 1),
    )
    .await;
    assert_eq!(outcome(&response, name), "OK");
}

const UPSERT: &str = "mutation($input: UpsertPathwayEnrollmentsInput!) {
  upsertPathwayEnrollments(input: $input) {
    results { index outcome pathwayEnrollment { sourcedId version state beginDate metadata
      cohort { sourcedId } student { sourcedId } statusHistory { toState actor clientId } }
      userErrors { field code message } }
    createdCount updatedCount unchangedCount failedCount
    userErrors { field code message }
  }
}";

async fn upsert(app: &TestApp, token: &str, input: Value) -> Value {
    let response = app
        .gql(UPSERT, json!({ "input": input }), Some(token))
        .await;
    response.data()["upsertPathwayEnrollments"].clone()
}

fn outcomes(payload: &Value) -> Vec<String> {
    payload["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["outcome"].as_str().expect("outcome").to_owned())
        .collect()
}

fn item(student: &str, sid: &str) -> Value {
    json!({ "sourcedId": sid, "student": student, "pathway": "pw-ict", "cohort": "cohort-2024",
            "entryStage": "stage-s4", "beginDate": "2025-09-01" })
}

#[tokio::test]
async fn upserting_by_sourced_id_creates_updates_keeps_and_fails_item_by_item() {
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    for n in 1..=3 {
        new_student(&app, &w, &format!("up-{n}"), 0).await;
    }
    new_student(&app, &w, "up-b", 1).await;
    let staff = staff_token(&app, &w);
    let mut changed = item("stu-a-02", "pe-stu-a-02");
    changed["metadata"] = json!({ "sis": 1 });
    let items = json!([
        item("up-1", "pe-up-1"),
        item("up-2", "pe-up-2"),
        changed,
        { "sourcedId": "pe-stu-a-03" },
        item("up-b", "pe-up-b"),
        item("up-3", "pe-up-1"),
        { "sourcedId": "pe-stu-a-01", "beginDate": "2030-01-01" },
        item("up-3", "pe-up-3x"),
        { "student": "up-3" },
    ]);
    let before = counts(&app).await;
    let p = upsert(
        &app,
        &staff,
        json!({ "key": "SOURCED_ID", "school": SCHOOL_A, "items": items }),
    )
    .await;
    assert_eq!(p["userErrors"], json!([]));
    assert_eq!(
        outcomes(&p),
        [
            "CREATED",
            "CREATED",
            "UPDATED",
            "UNCHANGED",
            "FAILED",
            "FAILED",
            "FAILED",
            "CREATED",
            "FAILED"
        ]
    );
    assert_eq!(
        (
            p["createdCount"].clone(),
            p["updatedCount"].clone(),
            p["unchangedCount"].clone(),
            p["failedCount"].clone()
        ),
        (json!(3), json!(1), json!(1), json!(4))
    );
    let r = &p["results"];
    assert_eq!(r[4]["userErrors"][0]["code"], "INVALID_TRANSITION"); // not at the school
    assert_eq!(r[5]["userErrors"][0]["code"], "DUPLICATE"); // key repeated
    assert_eq!(r[6]["userErrors"][0]["code"], "INVALID_TRANSITION"); // beginDate while enrolled
    assert_eq!(
        r[8]["userErrors"][0],
        json!({ "field": ["input", "items", "8", "sourcedId"], "code": "BAD_USER_INPUT", "message": "`sourcedId` is required when upserting by SOURCED_ID" })
    );
    assert_eq!(r[0]["pathwayEnrollment"]["state"], "APPLIED");
    assert_eq!(
        r[0]["pathwayEnrollment"]["statusHistory"],
        json!([{ "toState": "applied", "actor": w.staff.sourced_id, "clientId": null }])
    );
    assert_eq!(r[2]["pathwayEnrollment"]["metadata"], json!({ "sis": 1 }));
    assert_eq!(r[2]["pathwayEnrollment"]["version"], 2);
    // 3 creates + 3 history rows; 3 create events + 1 update event.
    let after = counts(&app).await;
    assert_eq!(after, (before.0 + 3, before.1 + 3, before.2 + 4));
    assert_eq!(
        row(&app, w.students_of(0)[0].pathway_enrollment.id)
            .await
            .begin_date,
        w.students_of(0)[0].pathway_begin
    );
    assert_eq!(
        pathway_enrollment::Entity::find()
            .filter(pathway_enrollment::Column::SourcedId.eq("pe-up-b"))
            .count(&app.db)
            .await
            .expect("count"),
        0
    );

    // Re-sending the applied items changes nothing.
    let resend = json!([item("up-1", "pe-up-1"), item("up-2", "pe-up-2"), { "sourcedId": "pe-stu-a-02", "metadata": { "sis": 1 } }, item("up-3", "pe-up-3x")]);
    let before = counts(&app).await;
    let p = upsert(
        &app,
        &staff,
        json!({ "key": "SOURCED_ID", "school": SCHOOL_A, "items": resend }),
    )
    .await;
    assert_eq!(outcomes(&p), ["UNCHANGED"; 4]);
    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn a_school_client_upserts_by_its_own_external_keys() {
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    new_student(&app, &w, "up-1", 0).await;
    let (client, client_id) = client_token(&app, SCHOOL_A, "enrollment.write").await;
    let key = |id: &str| json!({ "system": "a-sis", "idType": "PE", "identifier": id });
    // stu-a-05 is withdrawn (re-entry); school A keys its students a-sis/STRN/A1234005.
    let strn = json!({ "system": "a-sis", "idType": "STRN", "identifier": "A1234005" });
    let items = json!([
        { "externalId": key("PE-1"), "studentExternalId": strn, "pathway": "pw-ict", "cohort": "cohort-2024", "entryStage": "stage-s4", "beginDate": "2025-09-01", "sourcedId": "pe-ext-1" },
        { "externalId": key("PE-2"), "student": "up-1", "pathway": "pw-ict", "cohort": "cohort-2024", "entryStage": "stage-s4", "beginDate": "2025-09-01" },
        { "externalId": key("PE-3"), "studentExternalId": { "system": "b-sis", "idType": "STRN", "identifier": "B1234001" }, "pathway": "pw-ict", "cohort": "cohort-2024", "entryStage": "stage-s4", "beginDate": "2025-09-01" },
        { "externalId": key("PE-1"), "student": "up-1" },
        { "externalId": key("PE-4"), "student": "stu-b-01", "pathway": "pw-ict", "cohort": "cohort-2024", "entryStage": "stage-s4", "beginDate": "2025-09-01" },
    ]);
    let p = upsert(
        &app,
        &client,
        json!({ "key": "EXTERNAL_ID", "items": items.clone() }),
    )
    .await;
    assert_eq!(
        outcomes(&p),
        ["CREATED", "CREATED", "FAILED", "FAILED", "FAILED"]
    );
    let r = &p["results"];
    assert_eq!(r[0]["pathwayEnrollment"]["sourcedId"], "pe-ext-1");
    assert_eq!(
        r[0]["pathwayEnrollment"]["student"]["sourcedId"],
        "stu-a-05"
    );
    assert_eq!(
        r[0]["pathwayEnrollment"]["statusHistory"][0]["clientId"],
        client_id.as_str()
    );
    assert_eq!(
        r[2]["userErrors"][0]["field"],
        json!(["input", "items", "2", "studentExternalId"])
    );
    assert_eq!(r[3]["userErrors"][0]["code"], "DUPLICATE");
    assert_eq!(
        r[4]["userErrors"][0]["field"],
        json!(["input", "items", "4", "student"])
    );
    // The keys were recorded for the client's school; re-sending the applied items is UNCHANGED.
    let resend = json!([items[0].clone(), items[1].clone()]);
    let before = counts(&app).await;
    let p = upsert(
        &app,
        &client,
        json!({ "key": "EXTERNAL_ID", "items": resend }),
    )
    .await;
    assert_eq!(outcomes(&p), ["UNCHANGED", "UNCHANGED"]);
    assert_eq!(counts(&app).await, before);
    // A changed cohort-free field updates through the key; another school is refused.
    let p = upsert(&app, &client, json!({ "key": "EXTERNAL_ID", "items": [{ "externalId": key("PE-2"), "beginDate": "2025-09-02" }] })).await;
    assert_eq!(outcomes(&p), ["UPDATED"]);
    assert_eq!(
        p["results"][0]["pathwayEnrollment"]["beginDate"],
        "2025-09-02"
    );
    let response = app.gql(UPSERT, json!({ "input": { "key": "EXTERNAL_ID", "school": SCHOOL_B, "items": [{ "externalId": key("PE-9") }] } }), Some(&client)).await;
    assert_eq!(response.error_code(), Some("FORBIDDEN"));
    let (reader, _) = client_token(&app, SCHOOL_A, "roster.write").await;
    let response = app
        .gql(
            UPSERT,
            json!({ "input": { "key": "EXTERNAL_ID", "items": [{ "externalId": key("PE-9") }] } }),
            Some(&reader),
        )
        .await;
    assert_eq!(response.error_code(), Some("FORBIDDEN"));
}

#[tokio::test]
async fn an_upsert_over_a_thousand_items_or_without_a_school_is_refused_whole() {
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let staff = staff_token(&app, &w);
    let before = counts(&app).await;
    let items: Vec<Value> = (0..1001)
        .map(|n| item("stu-a-05", &format!("pe-many-{n}")))
        .collect();
    let p = upsert(
        &app,
        &staff,
        json!({ "key": "SOURCED_ID", "school": SCHOOL_A, "items": items }),
    )
    .await;
    assert_eq!(p["results"], json!([]));
    assert_eq!(p["userErrors"][0]["code"], "BAD_USER_INPUT");
    assert_eq!(p["userErrors"][0]["field"], json!(["input", "items"]));
    let p = upsert(
        &app,
        &staff,
        json!({ "key": "SOURCED_ID", "items": [item("stu-a-05", "pe-x")] }),
    )
    .await;
    assert_eq!(p["userErrors"][0]["field"], json!(["input", "school"]));
    assert_eq!(counts(&app).await, before);
    for (who, token) in outsiders(&app, &w) {
        let response = app.gql(UPSERT, json!({ "input": { "key": "SOURCED_ID", "school": SCHOOL_A, "items": [item("stu-a-05", "pe-x")] } }), Some(&token)).await;
        assert_eq!(response.error_code(), Some("FORBIDDEN"), "{who}");
    }
}

#[tokio::test]
async fn a_thousand_items_upsert_in_one_call_and_resend_unchanged() {
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let ids =
        integration_tests::fixtures::add_students(&app.db, "bulk", "Bulk", &w.schools[0], 1000)
            .await;
    let staff = staff_token(&app, &w);
    let items: Vec<Value> = ids
        .iter()
        .map(|sid| item(sid, &format!("pe-{sid}")))
        .collect();
    let p = upsert(
        &app,
        &staff,
        json!({ "key": "SOURCED_ID", "school": SCHOOL_A, "items": items.clone() }),
    )
    .await;
    assert_eq!(p["createdCount"], 1000, "{}", p["results"][0]);
    let history = status_history::Entity::find()
        .filter(status_history::Column::EntityType.eq("PathwayEnrollment"))
        .order_by_desc(status_history::Column::Id)
        .count(&app.db)
        .await
        .expect("count");
    assert!(history >= 1000);
    let p = upsert(
        &app,
        &staff,
        json!({ "key": "SOURCED_ID", "school": SCHOOL_A, "items": items }),
    )
    .await;
    assert_eq!(p["unchangedCount"], 1000);
}

#[tokio::test]
async fn upsert_items_that_clash_in_the_call_or_change_fixed_fields_fail_alone() {
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    new_student(&app, &w, "up-1", 0).await;
    let (other_pathway_sid, _, _) = other_pathway(&app, &w).await;
    let staff = staff_token(&app, &w);
    integration_tests::fixtures::tombstone(
        &app.db,
        "pathway_enrollment",
        w.students_of(0)[2].pathway_enrollment.id,
    )
    .await;
    let items = json!([
        item("up-1", "pe-a"),
        item("up-1", "pe-b"),
        { "sourcedId": "pe-stu-a-02", "pathway": other_pathway_sid },
        { "sourcedId": "pe-stu-a-05", "entryStage": "stage-hd1" },
        { "sourcedId": "pe-stu-a-03", "metadata": { "late": true } },
        { "sourcedId": "pe-stu-a-04", "cohort": "cohort-2024", "student": "stu-a-04" },
    ]);
    let before = counts(&app).await;
    let p = upsert(
        &app,
        &staff,
        json!({ "key": "SOURCED_ID", "school": SCHOOL_A, "items": items }),
    )
    .await;
    assert_eq!(
        outcomes(&p),
        [
            "CREATED",
            "FAILED",
            "FAILED",
            "FAILED",
            "FAILED",
            "UNCHANGED"
        ]
    );
    let r = &p["results"];
    assert_eq!(r[1]["userErrors"][0]["code"], "DUPLICATE");
    assert_eq!(
        r[2]["userErrors"][0]["field"],
        json!(["input", "items", "2", "pathway"])
    );
    assert_eq!(
        r[3]["userErrors"][0]["field"],
        json!(["input", "items", "3", "entryStage"])
    );
    assert_eq!(r[4]["userErrors"][0]["code"], "INVALID_TRANSITION");
    assert_eq!(r[5]["pathwayEnrollment"]["version"], 1);
    assert_eq!(
        counts(&app).await,
        (before.0 + 1, before.1 + 1, before.2 + 1)
    );
}

#[tokio::test]
async fn a_school_clients_transitions_are_recorded_with_the_client() {
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let pe = &w.students_of(0)[0].pathway_enrollment;
    set_state(&app, &w, pe.id, "enrolled", Some("S4"), "S4").await;
    let (client, client_id) = client_token(&app, SCHOOL_A, "enrollment.write").await;
    let name = "holdPathwayEnrollment";
    let response = call(
        &app,
        &client,
        name,
        transition_input(name, &pe.sourced_id, 1),
    )
    .await;
    let history = payload(&response, name)["pathwayEnrollment"]["statusHistory"]
        .as_array()
        .expect("history")
        .last()
        .expect("row")
        .clone();
    assert_eq!(
        history,
        json!({ "fromState": "enrolled", "toState": "on_hold", "fromStage": null,
                "toStage": null, "reason": "family", "actor": client_id, "clientId": client_id })
    );
}

#[tokio::test]
async fn an_upsert_item_with_expected_version_applies_only_at_that_version_and_never_creates() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    new_student(&app, &w, "up-1", 0).await;
    let staff = staff_token(&app, &w);
    let students = w.students_of(0);
    let (matching, stale, unversioned) = (
        &students[1].pathway_enrollment,
        &students[2].pathway_enrollment,
        &students[3].pathway_enrollment,
    );
    let matching_before = row(&app, matching.id).await;
    let stale_before = row(&app, stale.id).await;
    let unversioned_before = row(&app, unversioned.id).await;
    let mut new_item = item("up-1", "pe-v-new");
    new_item["expectedVersion"] = json!(1);
    let items = json!([
        // 0: the version read: applied.
        { "sourcedId": matching.sourced_id, "metadata": { "sis": 1 },
          "expectedVersion": matching_before.version },
        // 1: a stale version: not applied.
        { "sourcedId": stale.sourced_id, "metadata": { "sis": 2 },
          "expectedVersion": stale_before.version + 3 },
        // 2: a version for a key that matches nothing: not created.
        new_item,
        // 3: no version: values compared, applied.
        { "sourcedId": unversioned.sourced_id, "metadata": { "sis": 3 } },
    ]);
    let before = counts(&app).await;

    // Act
    let p = upsert(
        &app,
        &staff,
        json!({ "key": "SOURCED_ID", "school": SCHOOL_A, "items": items }),
    )
    .await;

    // Assert
    assert_eq!(p["userErrors"], json!([]));
    assert_eq!(outcomes(&p), ["UPDATED", "FAILED", "FAILED", "UPDATED"]);
    assert_eq!(
        (
            p["createdCount"].clone(),
            p["updatedCount"].clone(),
            p["unchangedCount"].clone(),
            p["failedCount"].clone()
        ),
        (json!(0), json!(2), json!(0), json!(2))
    );
    let r = &p["results"];
    assert_eq!(
        r[0]["pathwayEnrollment"]["version"],
        matching_before.version + 1
    );
    assert_eq!(
        r[1]["userErrors"],
        json!([{ "field": ["input", "items", "1"], "code": "VERSION_CONFLICT",
                 "message": format!(
                     "PathwayEnrollment {} is at version {}, not {}; read it again and retry",
                     stale.sourced_id, stale_before.version, stale_before.version + 3) }])
    );
    assert_eq!(r[1]["pathwayEnrollment"], Value::Null);
    assert_eq!(
        r[2]["userErrors"],
        json!([{ "field": ["input", "items", "2", "expectedVersion"], "code": "BAD_USER_INPUT",
                 "message": "no record matches the key; omit expectedVersion to create" }])
    );
    let applied = row(&app, matching.id).await;
    assert_eq!(
        (applied.version, applied.metadata),
        (matching_before.version + 1, Some(json!({ "sis": 1 })))
    );
    let kept = row(&app, stale.id).await;
    assert_eq!(
        (kept.version, kept.metadata),
        (stale_before.version, stale_before.metadata)
    );
    let changed = row(&app, unversioned.id).await;
    assert_eq!(
        (changed.version, changed.metadata),
        (unversioned_before.version + 1, Some(json!({ "sis": 3 })))
    );
    // No enrolment or history row created; two update events.
    assert_eq!(counts(&app).await, (before.0, before.1, before.2 + 2));
}
