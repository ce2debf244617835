//! Skills and future jobs (DOMAIN.md area D), write side: skills, the versioned skill map
//! lifecycle (`DRAFT ⇄ IN_REVIEW → APPROVED → SUPERSEDED`), future jobs, duties and
//! requirements (frozen after approval), `skillMapsDueForReview`, and students' skill evidence
//! with the student's sharing choice and the partner-side access audit.

use chrono::{Duration, Months, Utc};
use entity::{
    access_audit_event, change_event, future_job, job_duty, job_skill_requirement, skill,
    skill_evidence, skill_map,
};
use integration_tests::curriculum::{CurriculumPeople, seed_curriculum_people, token_of};
use integration_tests::fixtures::{
    OFFICE, PARTNER_X, PARTNER_Y, SCHOOL_A, SCHOOL_B, UNIT, World, add_mentorship, seed_world,
};
use integration_tests::{GqlResponse, TestApp, global_id, sorted, sourced_ids, spawn_app};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::consents::{client_token, events, history};

struct Tokens {
    admin: String,
    staff: String,
    lead: String,
    partner: String,
    teacher: String,
    student: String,
}

async fn setup() -> (TestApp, World, CurriculumPeople, Tokens) {
    let app = spawn_app().await;
    let world = seed_world(&app.db).await;
    let people = seed_curriculum_people(&app.db, &world).await;
    let tokens = Tokens {
        admin: token_of(&app, &people.admin, &["programmeAdmin"], OFFICE),
        staff: token_of(&app, &people.staff, &["programmeStaff"], OFFICE),
        lead: token_of(&app, &people.lead, &["academicLead"], UNIT),
        partner: token_of(
            &app,
            &people.coordinator_x,
            &["partnerCoordinator"],
            PARTNER_X,
        ),
        teacher: token_of(&app, &people.teacher_a, &["teacher"], SCHOOL_A),
        student: token_of(
            &app,
            &world.students_of(0)[0].person,
            &["student"],
            SCHOOL_A,
        ),
    };
    (app, world, people, tokens)
}

/// Runs mutation `name` with `input`, selecting `selection` of its payload.
async fn mutate(
    app: &TestApp,
    token: Option<&str>,
    name: &str,
    input: Value,
    selection: &str,
) -> GqlResponse {
    let input_type = format!("{}{}Input", name[..1].to_uppercase(), &name[1..]);
    let query = format!(
        "mutation($input: {input_type}!) {{ {name}(input: $input) {{ {selection} userErrors {{ field code message }} }} }}"
    );
    app.gql(&query, json!({ "input": input }), token).await
}

/// The payload object `field` of a successful mutation (no user errors).
fn ok<'a>(response: &'a GqlResponse, name: &str, field: &str) -> &'a Value {
    let payload = &response.data()[name];
    assert_eq!(
        payload["userErrors"],
        json!([]),
        "unexpected user errors: {payload}"
    );
    &payload[field]
}

/// The code of the first user error of mutation `name`.
fn user_code(response: &GqlResponse, name: &str) -> String {
    response.data()[name]["userErrors"][0]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no user error: {}", response.body))
        .to_owned()
}

const MAP: &str = "skillMap { id sourcedId version code sector versionNumber state approvedAt nextReviewDue \
    statusHistory { fromState toState reason actor } \
    jobs(first: 5) { edges { node { sourcedId code title \
      duties(first: 5) { edges { node { sourcedId seq functionArea dutyText isPlaceholder } } } \
      requirements(first: 5) { edges { node { sourcedId proficiency importance skill { code } } } } } } } }";

async fn create_skill(app: &TestApp, token: &str, code: &str) -> Value {
    let response = mutate(
        app,
        Some(token),
        "createSkill",
        json!({ "code": code, "nameEn": format!("Skill {code}"), "category": "TECHNICAL" }),
        "skill { id sourcedId version code }",
    )
    .await;
    ok(&response, "createSkill", "skill").clone()
}

/// A draft map with one job, one duty and one requirement (of a new skill `PY`).
async fn draft_map(app: &TestApp, token: &str, code: &str) -> (Value, Value, Value, Value) {
    let skill = create_skill(app, token, &format!("{code}-PY")).await;
    let response = mutate(
        app,
        Some(token),
        "createSkillMap",
        json!({ "code": code, "sector": "ICT", "sourcedId": format!("{code}-v1") }),
        MAP,
    )
    .await;
    let map = ok(&response, "createSkillMap", "skillMap").clone();
    let response = mutate(
        app,
        Some(token),
        "createFutureJob",
        json!({ "skillMap": map["id"], "code": "DS", "title": "Data Scientist" }),
        "futureJob { id sourcedId version code }",
    )
    .await;
    let job = ok(&response, "createFutureJob", "futureJob").clone();
    let response = mutate(
        app,
        Some(token),
        "createJobDuty",
        json!({ "futureJob": job["id"], "seq": 1, "functionArea": "Analysis", "dutyText": "Builds models" }),
        "jobDuty { id sourcedId version seq isPlaceholder }",
    )
    .await;
    let duty = ok(&response, "createJobDuty", "jobDuty").clone();
    assert_eq!(duty["isPlaceholder"], false);
    let response = mutate(
        app,
        Some(token),
        "createJobSkillRequirement",
        json!({ "futureJob": job["id"], "skill": skill["id"], "proficiency": 3, "importance": "CORE" }),
        "jobSkillRequirement { id sourcedId version proficiency }",
    )
    .await;
    let requirement = ok(
        &response,
        "createJobSkillRequirement",
        "jobSkillRequirement",
    )
    .clone();
    (map, job, duty, requirement)
}

async fn transition(
    app: &TestApp,
    token: &str,
    name: &str,
    map: &Value,
    version: Option<i64>,
) -> GqlResponse {
    let mut input = json!({ "id": map["id"], "reason": format!("{name} test") });
    if let Some(v) = version {
        input["expectedVersion"] = json!(v);
    }
    mutate(app, Some(token), name, input, MAP).await
}

async fn map_node(app: &TestApp, token: Option<&str>, sourced_id: &str) -> Value {
    let query = format!(
        "query($id: ID!) {{ node(id: $id) {{ ... on SkillMap {{ {} }} }} }}",
        MAP.trim_start_matches("skillMap { ").trim_end_matches('}')
    );
    let response = app
        .gql(
            &query,
            json!({ "id": global_id("SkillMap", sourced_id) }),
            token,
        )
        .await;
    response.data()["node"].clone()
}

fn hk_today() -> chrono::NaiveDate {
    (Utc::now() + Duration::hours(8)).date_naive()
}

fn states(history: &Value) -> Vec<(Option<String>, String)> {
    history
        .as_array()
        .expect("status history")
        .iter()
        .map(|h| {
            (
                h["fromState"].as_str().map(str::to_owned),
                h["toState"].as_str().expect("toState").to_owned(),
            )
        })
        .collect()
}

fn pair(from: Option<&str>, to: &str) -> (Option<String>, String) {
    (from.map(str::to_owned), to.to_owned())
}

async fn event_count(app: &TestApp) -> u64 {
    change_event::Entity::find()
        .count(&app.db)
        .await
        .expect("count events")
}

#[tokio::test]
async fn skills_are_written_by_curriculum_staff_only_with_validation_duplicates_and_versions() {
    // Arrange
    let (app, _world, _people, t) = setup().await;
    let (with_scope, _) = client_token(&app, OFFICE, "curriculum.write").await;
    let (without_scope, _) = client_token(&app, OFFICE, "roster.write").await;
    let input = |code: &str| json!({ "code": code, "sourcedId": code, "nameEn": "Python", "category": "DIGITAL" });

    // Act + Assert: the who-matrix of createSkill.
    for (who, token, expected) in [
        ("staff", Some(t.staff.as_str()), None),
        ("admin", Some(t.admin.as_str()), None),
        ("academicLead", Some(t.lead.as_str()), None),
        ("client with scope", Some(with_scope.as_str()), None),
        (
            "partnerCoordinator",
            Some(t.partner.as_str()),
            Some("FORBIDDEN"),
        ),
        ("teacher", Some(t.teacher.as_str()), Some("FORBIDDEN")),
        ("student", Some(t.student.as_str()), Some("FORBIDDEN")),
        (
            "client without scope",
            Some(without_scope.as_str()),
            Some("FORBIDDEN"),
        ),
        ("anonymous", None, Some("UNAUTHENTICATED")),
    ] {
        let code = format!("S-{}", who.replace(' ', "-"));
        let response = mutate(&app, token, "createSkill", input(&code), "skill { code }").await;
        match expected {
            None => assert_eq!(ok(&response, "createSkill", "skill")["code"], code, "{who}"),
            Some(error) => assert_eq!(response.error_code(), Some(error), "{who}"),
        }
    }
    let written = skill::Entity::find().count(&app.db).await.expect("count");
    assert_eq!(written, 4);

    // Validation and duplicates: nothing written.
    let events_before = event_count(&app).await;
    let blank = mutate(
        &app,
        Some(&t.staff),
        "createSkill",
        json!({ "code": "X1", "nameEn": "  ", "category": "DIGITAL" }),
        "skill { code }",
    )
    .await;
    assert_eq!(
        blank.data()["createSkill"]["userErrors"][0]["field"],
        json!(["input", "nameEn"])
    );
    let long = mutate(
        &app,
        Some(&t.staff),
        "createSkill",
        input(&"C".repeat(65)),
        "skill { code }",
    )
    .await;
    assert_eq!(user_code(&long, "createSkill"), "BAD_USER_INPUT");
    let duplicate = mutate(
        &app,
        Some(&t.staff),
        "createSkill",
        input("S-staff"),
        "skill { code }",
    )
    .await;
    assert_eq!(user_code(&duplicate, "createSkill"), "DUPLICATE");
    assert_eq!(event_count(&app).await, events_before);
    assert_eq!(
        skill::Entity::find().count(&app.db).await.expect("count"),
        4
    );

    // Update: a stale version is VERSION_CONFLICT, a current one bumps the version and emits
    // an update event.
    let stale = mutate(
        &app,
        Some(&t.lead),
        "updateSkill",
        json!({ "id": "S-staff", "expectedVersion": 7, "nameZh": "編程" }),
        "skill { version nameZh }",
    )
    .await;
    assert_eq!(user_code(&stale, "updateSkill"), "VERSION_CONFLICT");
    assert_eq!(event_count(&app).await, events_before);
    let updated = mutate(
        &app,
        Some(&t.lead),
        "updateSkill",
        json!({ "id": global_id("Skill", "S-staff"), "expectedVersion": 1, "nameZh": "編程" }),
        "skill { version nameZh }",
    )
    .await;
    assert_eq!(
        ok(&updated, "updateSkill", "skill"),
        &json!({ "version": 2, "nameZh": "編程" })
    );
    let last = events(&app).await.pop().expect("an event");
    assert_eq!(
        (
            last.entity_type.as_str(),
            last.operation.as_str(),
            last.version
        ),
        ("Skill", "update", 2)
    );
    let forbidden = mutate(
        &app,
        Some(&t.partner),
        "updateSkill",
        json!({ "id": "S-staff", "nameEn": "Hacked" }),
        "skill { version }",
    )
    .await;
    assert_eq!(forbidden.error_code(), Some("FORBIDDEN"));

    // Delete: refused while a job requirement uses the skill, allowed otherwise.
    let (_map, _job, _duty, _requirement) = draft_map(&app, &t.staff, "SM-DEL").await;
    let used = mutate(
        &app,
        Some(&t.staff),
        "deleteSkill",
        json!({ "id": "SM-DEL-PY-sid" }),
        "skill { status }",
    )
    .await;
    assert_eq!(used.error_code(), Some("NOT_FOUND"));
    let used_skill = skill::Entity::find()
        .filter(skill::Column::Code.eq("SM-DEL-PY"))
        .one(&app.db)
        .await
        .expect("query")
        .expect("the skill");
    let used = mutate(
        &app,
        Some(&t.staff),
        "deleteSkill",
        json!({ "id": used_skill.sourced_id }),
        "skill { status }",
    )
    .await;
    assert_eq!(user_code(&used, "deleteSkill"), "INVALID_TRANSITION");
    let deleted = mutate(
        &app,
        Some(&t.admin),
        "deleteSkill",
        json!({ "id": "S-admin", "expectedVersion": 1 }),
        "skill { status version }",
    )
    .await;
    assert_eq!(
        ok(&deleted, "deleteSkill", "skill"),
        &json!({ "status": "TOBEDELETED", "version": 2 })
    );
}

#[tokio::test]
async fn a_skill_map_goes_through_its_lifecycle_and_a_new_version_supersedes_the_approved_one() {
    // Arrange
    let (app, _world, _people, t) = setup().await;
    let (map, job, duty, requirement) = draft_map(&app, &t.lead, "SM-ICT").await;
    assert_eq!(map["state"], "DRAFT");
    assert_eq!(map["versionNumber"], 1);
    assert_eq!(states(&map["statusHistory"]), vec![pair(None, "draft")]);

    // Drafts are invisible to partners and anonymous callers.
    assert_eq!(map_node(&app, None, "SM-ICT-v1").await, Value::Null);
    assert_eq!(
        map_node(&app, Some(&t.partner), "SM-ICT-v1").await,
        Value::Null
    );
    let listed = app
        .gql(
            "{ skillMaps { totalCount } futureJobs { totalCount } }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(
        listed.data(),
        &json!({ "skillMaps": { "totalCount": 0 }, "futureJobs": { "totalCount": 0 } })
    );

    // Act: submit (staff), return (staff), submit, a stale approve, approve (academicLead).
    let submitted = transition(&app, &t.staff, "submitSkillMap", &map, Some(1)).await;
    assert_eq!(
        ok(&submitted, "submitSkillMap", "skillMap")["state"],
        "IN_REVIEW"
    );
    let again = transition(&app, &t.staff, "submitSkillMap", &map, None).await;
    assert_eq!(user_code(&again, "submitSkillMap"), "INVALID_TRANSITION");
    let returned = transition(&app, &t.staff, "returnSkillMapToDraft", &map, Some(2)).await;
    assert_eq!(
        ok(&returned, "returnSkillMapToDraft", "skillMap")["state"],
        "DRAFT"
    );
    transition(&app, &t.admin, "submitSkillMap", &map, Some(3)).await;
    let (with_scope, _) = client_token(&app, OFFICE, "curriculum.write").await;
    for (who, token) in [
        ("programmeStaff", t.staff.as_str()),
        ("client", with_scope.as_str()),
        ("partner", t.partner.as_str()),
        ("teacher", t.teacher.as_str()),
    ] {
        let refused = transition(&app, token, "approveSkillMap", &map, None).await;
        assert_eq!(refused.error_code(), Some("FORBIDDEN"), "{who}");
    }
    let before = (
        event_count(&app).await,
        history(&app, "SkillMap", 1).await.len(),
    );
    let stale = transition(&app, &t.lead, "approveSkillMap", &map, Some(1)).await;
    assert_eq!(user_code(&stale, "approveSkillMap"), "VERSION_CONFLICT");
    assert_eq!(
        (
            event_count(&app).await,
            history(&app, "SkillMap", 1).await.len()
        ),
        before
    );
    let approved = transition(&app, &t.lead, "approveSkillMap", &map, Some(4)).await;

    // Assert: approved, reviewed a year on, public with its jobs.
    let approved = ok(&approved, "approveSkillMap", "skillMap").clone();
    let due = hk_today()
        .checked_add_months(Months::new(12))
        .expect("a date")
        .to_string();
    assert_eq!(approved["state"], "APPROVED");
    assert_eq!(approved["nextReviewDue"], due.as_str());
    assert!(approved["approvedAt"].is_string());
    let public = map_node(&app, None, "SM-ICT-v1").await;
    assert_eq!(public["state"], "APPROVED");
    assert_eq!(
        sourced_ids(&public["jobs"]),
        vec![job["sourcedId"].as_str().expect("sid").to_owned()]
    );
    let partner_view = map_node(&app, Some(&t.partner), "SM-ICT-v1").await;
    assert_eq!(partner_view["code"], "SM-ICT");

    // Frozen: no content changes, no sector change, metadata still changes.
    let events_before = event_count(&app).await;
    let frozen = [
        mutate(
            &app,
            Some(&t.lead),
            "createFutureJob",
            json!({ "skillMap": map["id"], "code": "X", "title": "X" }),
            "futureJob { id }",
        )
        .await,
        mutate(
            &app,
            Some(&t.lead),
            "updateJobDuty",
            json!({ "id": duty["id"], "dutyText": "Changed" }),
            "jobDuty { id }",
        )
        .await,
        mutate(
            &app,
            Some(&t.lead),
            "deleteJobSkillRequirement",
            json!({ "id": requirement["id"] }),
            "jobSkillRequirement { id }",
        )
        .await,
        mutate(
            &app,
            Some(&t.lead),
            "deleteFutureJob",
            json!({ "id": job["id"] }),
            "futureJob { id }",
        )
        .await,
        mutate(
            &app,
            Some(&t.lead),
            "updateSkillMap",
            json!({ "id": map["id"], "sector": "ART_TECH" }),
            "skillMap { id }",
        )
        .await,
        mutate(
            &app,
            Some(&t.lead),
            "deleteSkillMap",
            json!({ "id": map["id"] }),
            "skillMap { id }",
        )
        .await,
    ];
    for (i, response) in frozen.iter().enumerate() {
        let payload = response
            .data()
            .as_object()
            .expect("data")
            .values()
            .next()
            .cloned();
        let payload = payload.expect("payload");
        assert_eq!(
            payload["userErrors"][0]["code"], "INVALID_TRANSITION",
            "case {i}: {payload}"
        );
    }
    assert_eq!(event_count(&app).await, events_before);
    let meta = mutate(
        &app,
        Some(&t.lead),
        "updateSkillMap",
        json!({ "id": map["id"], "metadata": { "reviewNote": "ok" } }),
        "skillMap { version state }",
    )
    .await;
    assert_eq!(
        ok(&meta, "updateSkillMap", "skillMap"),
        &json!({ "version": 6, "state": "APPROVED" })
    );

    // A new version copies the jobs, duties and requirements with new sourcedIds.
    let duplicate = mutate(
        &app,
        Some(&t.lead),
        "createSkillMap",
        json!({ "code": "SM-ICT", "sector": "ICT" }),
        "skillMap { id }",
    )
    .await;
    assert_eq!(user_code(&duplicate, "createSkillMap"), "DUPLICATE");
    let v2 = mutate(
        &app,
        Some(&t.staff),
        "createSkillMapVersion",
        json!({ "skillMap": map["id"], "sourcedId": "SM-ICT-v2" }),
        MAP,
    )
    .await;
    let v2 = ok(&v2, "createSkillMapVersion", "skillMap").clone();
    assert_eq!(
        (&v2["versionNumber"], &v2["state"], &v2["code"]),
        (&json!(2), &json!("DRAFT"), &json!("SM-ICT"))
    );
    let copied = &v2["jobs"]["edges"][0]["node"];
    assert_eq!(copied["code"], "DS");
    assert_ne!(copied["sourcedId"], job["sourcedId"]);
    assert_eq!(
        copied["duties"]["edges"][0]["node"]["dutyText"],
        "Builds models"
    );
    assert_ne!(
        copied["duties"]["edges"][0]["node"]["sourcedId"],
        duty["sourcedId"]
    );
    assert_eq!(
        copied["requirements"]["edges"][0]["node"]["skill"]["code"],
        "SM-ICT-PY"
    );
    let creates: Vec<String> = events(&app)
        .await
        .iter()
        .rev()
        .take(4)
        .map(|e| format!("{} {}", e.entity_type, e.operation))
        .collect();
    assert_eq!(
        sorted(&creates),
        vec![
            "FutureJob create",
            "JobDuty create",
            "JobSkillRequirement create",
            "SkillMap create"
        ]
    );
    let second = mutate(
        &app,
        Some(&t.staff),
        "createSkillMapVersion",
        json!({ "skillMap": "SM-ICT-v2" }),
        "skillMap { id }",
    )
    .await;
    assert_eq!(
        user_code(&second, "createSkillMapVersion"),
        "INVALID_TRANSITION"
    );
    assert_eq!(
        skill_map::Entity::find()
            .count(&app.db)
            .await
            .expect("count"),
        2
    );
    // The copy is editable while the approved version stays frozen.
    let edit = mutate(
        &app,
        Some(&t.staff),
        "updateJobDuty",
        json!({ "id": copied["duties"]["edges"][0]["node"]["sourcedId"], "dutyText": "Builds better models" }),
        "jobDuty { dutyText version }",
    )
    .await;
    assert_eq!(
        ok(&edit, "updateJobDuty", "jobDuty"),
        &json!({ "dutyText": "Builds better models", "version": 2 })
    );

    // Approving v2 supersedes v1.
    transition(&app, &t.staff, "submitSkillMap", &v2, None).await;
    let approved2 = transition(&app, &t.admin, "approveSkillMap", &v2, None).await;
    assert_eq!(
        ok(&approved2, "approveSkillMap", "skillMap")["state"],
        "APPROVED"
    );
    let v1 = map_node(&app, None, "SM-ICT-v1").await;
    assert_eq!(v1["state"], "SUPERSEDED");
    let staff_v1 = map_node(&app, Some(&t.staff), "SM-ICT-v1").await;
    assert_eq!(
        states(&staff_v1["statusHistory"]),
        vec![
            pair(None, "draft"),
            pair(Some("draft"), "in_review"),
            pair(Some("in_review"), "draft"),
            pair(Some("draft"), "in_review"),
            pair(Some("in_review"), "approved"),
            pair(Some("approved"), "superseded"),
        ]
    );
    assert_eq!(
        staff_v1["statusHistory"][1]["reason"],
        "submitSkillMap test"
    );
    let v1_row = skill_map::Entity::find()
        .filter(skill_map::Column::SourcedId.eq("SM-ICT-v1"))
        .one(&app.db)
        .await
        .expect("query")
        .expect("v1");
    let v1_events: Vec<(String, i32)> = change_event::Entity::find()
        .filter(change_event::Column::EntityType.eq("SkillMap"))
        .filter(change_event::Column::EntityId.eq(v1_row.id))
        .order_by_asc(change_event::Column::Seq)
        .all(&app.db)
        .await
        .expect("events")
        .into_iter()
        .map(|e| (e.operation, e.version))
        .collect();
    assert_eq!(
        v1_events,
        (1..=7)
            .map(|v| (if v == 1 { "create" } else { "update" }.to_owned(), v))
            .collect::<Vec<_>>()
    );

    // skillMapsDueForReview with a chosen date.
    let due_query =
        "query($on: Date) { skillMapsDueForReview(on: $on) { edges { node { sourcedId } } } }";
    let today = app
        .gql(due_query, json!({ "on": hk_today().to_string() }), None)
        .await;
    assert_eq!(
        sourced_ids(&today.data()["skillMapsDueForReview"]),
        Vec::<String>::new()
    );
    let next_year = app
        .gql(due_query, json!({ "on": due }), Some(&t.partner))
        .await;
    assert_eq!(
        sourced_ids(&next_year.data()["skillMapsDueForReview"]),
        vec!["SM-ICT-v2".to_owned()]
    );
    let default_on = app.gql(due_query, json!({}), None).await;
    assert_eq!(
        sourced_ids(&default_on.data()["skillMapsDueForReview"]),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn deleting_a_draft_map_or_a_job_tombstones_its_content() {
    // Arrange
    let (app, _world, _people, t) = setup().await;
    let (map, job, _duty, _requirement) = draft_map(&app, &t.staff, "SM-ART").await;
    let response = mutate(
        &app,
        Some(&t.staff),
        "createFutureJob",
        json!({ "skillMap": map["id"], "code": "CC", "title": "Content Curator", "summary": "Curates" }),
        "futureJob { id sourcedId }",
    )
    .await;
    let other_job = ok(&response, "createFutureJob", "futureJob").clone();

    // Act: delete one job, then the map.
    let deleted = mutate(
        &app,
        Some(&t.staff),
        "deleteFutureJob",
        json!({ "id": job["id"], "expectedVersion": 1 }),
        "futureJob { status version }",
    )
    .await;
    assert_eq!(
        ok(&deleted, "deleteFutureJob", "futureJob"),
        &json!({ "status": "TOBEDELETED", "version": 2 })
    );
    let active_duties = job_duty::Entity::find()
        .filter(job_duty::Column::Status.eq("active"))
        .count(&app.db)
        .await
        .expect("count");
    let active_requirements = job_skill_requirement::Entity::find()
        .filter(job_skill_requirement::Column::Status.eq("active"))
        .count(&app.db)
        .await
        .expect("count");
    assert_eq!((active_duties, active_requirements), (0, 0));
    let stale = mutate(
        &app,
        Some(&t.staff),
        "deleteSkillMap",
        json!({ "id": map["id"], "expectedVersion": 9 }),
        "skillMap { status }",
    )
    .await;
    assert_eq!(user_code(&stale, "deleteSkillMap"), "VERSION_CONFLICT");
    let gone = mutate(
        &app,
        Some(&t.staff),
        "deleteSkillMap",
        json!({ "id": map["id"], "expectedVersion": 1 }),
        "skillMap { status }",
    )
    .await;

    // Assert
    assert_eq!(
        ok(&gone, "deleteSkillMap", "skillMap")["status"],
        "TOBEDELETED"
    );
    let jobs = future_job::Entity::find()
        .filter(future_job::Column::Status.eq("active"))
        .count(&app.db)
        .await
        .expect("count");
    assert_eq!(jobs, 0);
    let deletes: Vec<String> = events(&app)
        .await
        .iter()
        .filter(|e| e.operation == "delete")
        .map(|e| format!("{} {}", e.entity_type, e.sourced_id))
        .collect();
    assert_eq!(
        sorted(&deletes),
        sorted(&[
            format!("FutureJob {}", job["sourcedId"].as_str().expect("sid")),
            format!(
                "FutureJob {}",
                other_job["sourcedId"].as_str().expect("sid")
            ),
            format!("JobDuty {}", _duty["sourcedId"].as_str().expect("sid")),
            format!(
                "JobSkillRequirement {}",
                _requirement["sourcedId"].as_str().expect("sid")
            ),
            "SkillMap SM-ART-v1".to_owned(),
        ])
    );
    // A new code can start over; the deleted map's code is free again.
    let again = mutate(
        &app,
        Some(&t.staff),
        "createSkillMap",
        json!({ "code": "SM-ART", "sector": "ART_TECH" }),
        "skillMap { versionNumber state }",
    )
    .await;
    assert_eq!(
        ok(&again, "createSkillMap", "skillMap"),
        &json!({ "versionNumber": 1, "state": "DRAFT" })
    );
}

#[tokio::test]
async fn job_content_is_validated_and_unique_and_written_by_curriculum_staff_only() {
    // Arrange
    let (app, _world, _people, t) = setup().await;
    let (map, job, _duty, requirement) = draft_map(&app, &t.lead, "SM-V").await;
    let skill2 = create_skill(&app, &t.lead, "SQL").await;
    let events_before = event_count(&app).await;

    // Act + Assert: expected failures write nothing.
    let cases = [
        (
            "createFutureJob",
            json!({ "skillMap": map["id"], "code": "DS", "title": "Again" }),
            "futureJob { id }",
            "DUPLICATE",
        ),
        (
            "createFutureJob",
            json!({ "skillMap": map["id"], "code": "DX", "title": " " }),
            "futureJob { id }",
            "BAD_USER_INPUT",
        ),
        (
            "createJobDuty",
            json!({ "futureJob": job["id"], "seq": 0, "functionArea": "A", "dutyText": "B" }),
            "jobDuty { id }",
            "BAD_USER_INPUT",
        ),
        (
            "createJobDuty",
            json!({ "futureJob": job["id"], "seq": 1, "functionArea": "A", "dutyText": "B" }),
            "jobDuty { id }",
            "DUPLICATE",
        ),
        (
            "createJobDuty",
            json!({ "futureJob": job["id"], "seq": 2, "functionArea": "A", "dutyText": "x".repeat(2001) }),
            "jobDuty { id }",
            "BAD_USER_INPUT",
        ),
        (
            "createJobSkillRequirement",
            json!({ "futureJob": job["id"], "skill": skill2["id"], "proficiency": 5, "importance": "CORE" }),
            "jobSkillRequirement { id }",
            "BAD_USER_INPUT",
        ),
        (
            "createJobSkillRequirement",
            json!({ "futureJob": job["id"], "skill": "SM-V-PY-unknown", "proficiency": 2, "importance": "CORE" }),
            "jobSkillRequirement { id }",
            "BAD_USER_INPUT",
        ),
        (
            "updateJobSkillRequirement",
            json!({ "id": requirement["id"], "expectedVersion": 3, "proficiency": 2 }),
            "jobSkillRequirement { id }",
            "VERSION_CONFLICT",
        ),
    ];
    for (name, input, selection, code) in cases {
        let response = mutate(&app, Some(&t.lead), name, input.clone(), selection).await;
        assert_eq!(user_code(&response, name), code, "{name} {input}");
    }
    let existing = skill::Entity::find()
        .filter(skill::Column::Code.eq("SM-V-PY"))
        .one(&app.db)
        .await
        .expect("query")
        .expect("skill");
    let twice = mutate(
        &app,
        Some(&t.lead),
        "createJobSkillRequirement",
        json!({ "futureJob": job["id"], "skill": existing.sourced_id, "proficiency": 2, "importance": "SUPPORTING" }),
        "jobSkillRequirement { id }",
    )
    .await;
    assert_eq!(user_code(&twice, "createJobSkillRequirement"), "DUPLICATE");
    assert_eq!(event_count(&app).await, events_before);

    // Who: the curriculum staff only.
    for (who, token, expected) in [
        ("partner", Some(t.partner.as_str()), "FORBIDDEN"),
        ("teacher", Some(t.teacher.as_str()), "FORBIDDEN"),
        ("student", Some(t.student.as_str()), "FORBIDDEN"),
        ("anonymous", None, "UNAUTHENTICATED"),
    ] {
        let response = mutate(
            &app,
            token,
            "createJobDuty",
            json!({ "futureJob": job["id"], "seq": 5, "functionArea": "A", "dutyText": "B" }),
            "jobDuty { id }",
        )
        .await;
        assert_eq!(response.error_code(), Some(expected), "{who}");
        let response = mutate(
            &app,
            token,
            "submitSkillMap",
            json!({ "id": map["id"] }),
            "skillMap { id }",
        )
        .await;
        assert_eq!(response.error_code(), Some(expected), "{who}");
    }

    // Updates that succeed.
    let placeholder = mutate(
        &app,
        Some(&t.staff),
        "createJobDuty",
        json!({ "futureJob": job["sourcedId"], "seq": 2, "functionArea": "Ops", "dutyText": "TBC", "isPlaceholder": true }),
        "jobDuty { seq isPlaceholder }",
    )
    .await;
    assert_eq!(
        ok(&placeholder, "createJobDuty", "jobDuty"),
        &json!({ "seq": 2, "isPlaceholder": true })
    );
    let changed = mutate(
        &app,
        Some(&t.staff),
        "updateJobSkillRequirement",
        json!({ "id": requirement["id"], "expectedVersion": 1, "proficiency": 4, "importance": "SUPPORTING" }),
        "jobSkillRequirement { proficiency importance version }",
    )
    .await;
    assert_eq!(
        ok(&changed, "updateJobSkillRequirement", "jobSkillRequirement"),
        &json!({ "proficiency": 4, "importance": "SUPPORTING", "version": 2 })
    );
    let renamed = mutate(
        &app,
        Some(&t.staff),
        "updateFutureJob",
        json!({ "id": job["id"], "title": "Data Scientist II", "summary": null }),
        "futureJob { title summary version }",
    )
    .await;
    assert_eq!(
        ok(&renamed, "updateFutureJob", "futureJob"),
        &json!({ "title": "Data Scientist II", "summary": null, "version": 2 })
    );
}

const EVIDENCE: &str =
    "skillEvidence { id sourcedId version level evidenceKind sharedWithPartners status }";

async fn evidence_list(app: &TestApp, token: &str) -> Vec<String> {
    let response = app
        .gql(
            "{ skillEvidence { edges { node { sourcedId level skill { code } } } } }",
            json!({}),
            Some(token),
        )
        .await;
    sorted(&sourced_ids(&response.data()["skillEvidence"]))
}

#[tokio::test]
async fn skill_evidence_is_recorded_by_schools_and_shared_only_by_the_student() {
    // Arrange: partner X mentors a0 (with consent); partner Y mentors a0 without consent.
    let (app, world, people, t) = setup().await;
    let skill = create_skill(&app, &t.staff, "PY").await;
    let a0 = world.students_of(0)[0].person.clone();
    let a1 = world.students_of(0)[1].person.clone();
    let b0 = world.students_of(1)[0].person.clone();
    add_mentorship(
        &app.db,
        "ms-x",
        &world.mentor,
        &a0,
        &world.partners[0],
        &world.pathway,
        "active",
    )
    .await;
    add_mentorship(
        &app.db,
        "ms-y",
        &people.mentor_y,
        &a0,
        &world.partners[1],
        &world.pathway,
        "active",
    )
    .await;
    let coordinator = token_of(
        &app,
        &people.school_coordinator_a,
        &["schoolCoordinator"],
        SCHOOL_A,
    );
    let coordinator_b = token_of(
        &app,
        &world.school_people[1].coordinator,
        &["schoolCoordinator"],
        SCHOOL_B,
    );
    let partner_y_token = token_of(
        &app,
        &people.coordinator_y,
        &["partnerCoordinator"],
        PARTNER_Y,
    );
    let guardian = token_of(
        &app,
        &world.school_people[0].guardian,
        &["guardian"],
        SCHOOL_A,
    );
    let (school_client, _) = client_token(&app, SCHOOL_A, "results.write").await;
    let (school_reader, _) = client_token(&app, SCHOOL_A, "roster.read").await;
    let input = |student: &str, sid: &str| {
        json!({ "student": student, "skill": skill["id"], "level": 2, "evidenceKind": "RESULT",
                "assessedAt": "2026-06-01T08:00:00Z", "sourcedId": sid })
    };

    // Act + Assert: who may record evidence.
    let by_teacher = mutate(
        &app,
        Some(&t.teacher),
        "createSkillEvidence",
        input(&a0.gid(), "ev-a0"),
        EVIDENCE,
    )
    .await;
    let created = ok(&by_teacher, "createSkillEvidence", "skillEvidence").clone();
    assert_eq!(created["sharedWithPartners"], false);
    for (who, token, student, sid) in [
        ("coordinator", coordinator.as_str(), &a1, "ev-a1"),
        ("staff", t.staff.as_str(), &b0, "ev-b0"),
        ("school client", school_client.as_str(), &a1, "ev-a1-client"),
    ] {
        let response = mutate(
            &app,
            Some(token),
            "createSkillEvidence",
            input(&student.sourced_id, sid),
            EVIDENCE,
        )
        .await;
        assert_eq!(
            ok(&response, "createSkillEvidence", "skillEvidence")["sourcedId"],
            sid,
            "{who}"
        );
    }
    for (who, token, expected) in [
        ("partner", Some(t.partner.as_str()), "FORBIDDEN"),
        ("student", Some(t.student.as_str()), "FORBIDDEN"),
        ("academicLead", Some(t.lead.as_str()), "FORBIDDEN"),
        (
            "client without results.write",
            Some(school_reader.as_str()),
            "FORBIDDEN",
        ),
        ("anonymous", None, "UNAUTHENTICATED"),
        ("other school", Some(coordinator_b.as_str()), "NOT_FOUND"),
    ] {
        let response = mutate(
            &app,
            token,
            "createSkillEvidence",
            input(&a0.sourced_id, "ev-x"),
            EVIDENCE,
        )
        .await;
        assert_eq!(response.error_code(), Some(expected), "{who}");
    }
    let events_before = event_count(&app).await;
    let mut bad = input(&a0.sourced_id, "ev-bad");
    bad["level"] = json!(5);
    let bad = mutate(&app, Some(&t.teacher), "createSkillEvidence", bad, EVIDENCE).await;
    assert_eq!(user_code(&bad, "createSkillEvidence"), "BAD_USER_INPUT");
    let not_student = mutate(
        &app,
        Some(&t.staff),
        "createSkillEvidence",
        input(&people.teacher_a.sourced_id, "ev-teacher"),
        EVIDENCE,
    )
    .await;
    assert_eq!(
        user_code(&not_student, "createSkillEvidence"),
        "BAD_USER_INPUT"
    );
    assert_eq!(event_count(&app).await, events_before);
    assert_eq!(
        skill_evidence::Entity::find()
            .count(&app.db)
            .await
            .expect("count"),
        4
    );

    // The school sees its students' evidence; partners see nothing unshared.
    assert_eq!(
        evidence_list(&app, &coordinator).await,
        vec!["ev-a0", "ev-a1", "ev-a1-client"]
    );
    assert_eq!(
        evidence_list(&app, &t.teacher).await,
        vec!["ev-a0", "ev-a1", "ev-a1-client"]
    );
    assert_eq!(evidence_list(&app, &t.partner).await, Vec::<String>::new());

    // Only the student (or a guardian with parental responsibility, or programmeAdmin) shares.
    let share = |v: bool, version: Option<i64>| {
        let mut input = json!({ "id": created["id"], "sharedWithPartners": v });
        if let Some(version) = version {
            input["expectedVersion"] = json!(version);
        }
        input
    };
    for (who, token, expected) in [
        ("teacher", t.teacher.as_str(), "FORBIDDEN"),
        ("coordinator", coordinator.as_str(), "FORBIDDEN"),
        ("staff", t.staff.as_str(), "FORBIDDEN"),
        ("school client", school_client.as_str(), "FORBIDDEN"),
        ("partner", t.partner.as_str(), "NOT_FOUND"),
    ] {
        let response = mutate(
            &app,
            Some(token),
            "setSkillEvidenceSharing",
            share(true, None),
            EVIDENCE,
        )
        .await;
        assert_eq!(response.error_code(), Some(expected), "{who}");
    }
    let stale = mutate(
        &app,
        Some(&t.student),
        "setSkillEvidenceSharing",
        share(true, Some(9)),
        EVIDENCE,
    )
    .await;
    assert_eq!(
        user_code(&stale, "setSkillEvidenceSharing"),
        "VERSION_CONFLICT"
    );
    let shared = mutate(
        &app,
        Some(&t.student),
        "setSkillEvidenceSharing",
        share(true, Some(1)),
        EVIDENCE,
    )
    .await;
    assert_eq!(
        ok(&shared, "setSkillEvidenceSharing", "skillEvidence")["sharedWithPartners"],
        true
    );

    // Partner X (mentorship + consent) now sees it, and the read is audited; Y sees nothing.
    let audits_before = access_audit_event::Entity::find()
        .count(&app.db)
        .await
        .expect("count");
    assert_eq!(evidence_list(&app, &t.partner).await, vec!["ev-a0"]);
    let audits: Vec<access_audit_event::Model> = access_audit_event::Entity::find()
        .filter(access_audit_event::Column::EntityType.eq("SkillEvidence"))
        .all(&app.db)
        .await
        .expect("audit");
    assert_eq!(
        audits.len() as u64,
        1,
        "one audited evidence read (before: {audits_before})"
    );
    assert_eq!(
        (
            audits[0].entity_sourced_id.as_str(),
            audits[0].student_id,
            audits[0].basis_type.as_str(),
            audits[0].basis_sourced_id.as_str(),
            audits[0].fields.as_str(),
        ),
        (
            "ev-a0",
            a0.id,
            "mentorship",
            "ms-x",
            "level,skill,sourcedId"
        )
    );
    assert_eq!(
        evidence_list(&app, &partner_y_token).await,
        Vec::<String>::new()
    );

    // The guardian with parental responsibility stops sharing: the partner's view changes.
    let unshared = mutate(
        &app,
        Some(&guardian),
        "setSkillEvidenceSharing",
        share(false, None),
        EVIDENCE,
    )
    .await;
    assert_eq!(
        ok(&unshared, "setSkillEvidenceSharing", "skillEvidence")["version"],
        3
    );
    assert_eq!(evidence_list(&app, &t.partner).await, Vec::<String>::new());
    let revoked_to: Vec<Option<i64>> = events(&app)
        .await
        .iter()
        .filter(|e| e.operation == "accessRevoked" && e.sourced_id == "ev-a0")
        .map(|e| e.audience_org_id)
        .collect();
    assert_eq!(revoked_to, vec![Some(world.partners[0].id)]);
    let admin = mutate(
        &app,
        Some(&t.admin),
        "setSkillEvidenceSharing",
        share(true, Some(3)),
        EVIDENCE,
    )
    .await;
    assert_eq!(
        ok(&admin, "setSkillEvidenceSharing", "skillEvidence")["sharedWithPartners"],
        true
    );

    // Updates and deletes by the school, with the version check.
    let stale = mutate(
        &app,
        Some(&t.teacher),
        "updateSkillEvidence",
        json!({ "id": "ev-a0", "expectedVersion": 1, "level": 3 }),
        EVIDENCE,
    )
    .await;
    assert_eq!(user_code(&stale, "updateSkillEvidence"), "VERSION_CONFLICT");
    let updated = mutate(
        &app,
        Some(&t.teacher),
        "updateSkillEvidence",
        json!({ "id": "ev-a0", "expectedVersion": 4, "level": 3, "evidenceKind": "PORTFOLIO" }),
        EVIDENCE,
    )
    .await;
    let updated = ok(&updated, "updateSkillEvidence", "skillEvidence");
    assert_eq!(
        (&updated["level"], &updated["evidenceKind"]),
        (&json!(3), &json!("PORTFOLIO"))
    );
    let foreign = mutate(
        &app,
        Some(&coordinator_b),
        "deleteSkillEvidence",
        json!({ "id": "ev-a0" }),
        EVIDENCE,
    )
    .await;
    assert_eq!(foreign.error_code(), Some("NOT_FOUND"));
    let partner_delete = mutate(
        &app,
        Some(&t.partner),
        "deleteSkillEvidence",
        json!({ "id": "ev-a0" }),
        EVIDENCE,
    )
    .await;
    assert_eq!(partner_delete.error_code(), Some("FORBIDDEN"));
    let deleted = mutate(
        &app,
        Some(&coordinator),
        "deleteSkillEvidence",
        json!({ "id": "ev-a0", "expectedVersion": 5 }),
        EVIDENCE,
    )
    .await;
    assert_eq!(
        ok(&deleted, "deleteSkillEvidence", "skillEvidence")["status"],
        "TOBEDELETED"
    );
    let ops: Vec<String> = events(&app)
        .await
        .iter()
        .filter(|e| e.entity_type == "SkillEvidence" && e.sourced_id == "ev-a0")
        .map(|e| format!("{} {}", e.operation, e.version))
        .collect();
    assert_eq!(
        ops,
        vec![
            "create 1",
            "update 2",
            "update 3",
            // Unsharing revokes partner X's view (its mentorship names the student).
            "accessRevoked 3",
            "update 4",
            "update 5",
            "delete 6"
        ]
    );
}
