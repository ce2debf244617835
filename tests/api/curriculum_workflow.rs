//! Curriculum units and the unit version workflow (DOMAIN.md area C): unit CRUD, a new version
//! as a draft copy of the latest, content edits, and every transition for every role, with the
//! StatusHistory rows and change events of accepted writes and nothing written by refused ones.

use chrono::Utc;
use entity::{
    STATUS_ACTIVE, change_event, curriculum_unit, curriculum_unit_version, skill, status_history,
    unit_contributor, unit_review, unit_skill,
};
use integration_tests::curriculum::{
    CurriculumPeople, add_staff, seed_curriculum_people, token_of,
};
use integration_tests::fixtures::{
    OFFICE, PARTNER_X, PARTNER_Y, Ref, SCHOOL_A, UNIT, World, seed_world,
};
use integration_tests::{GqlResponse, TestApp, global_id, spawn_app};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::{Value, json};

use crate::consents::client_token;

// ---------------------------------------------------------------- helpers

const VERSION_FIELDS: &str = "curriculumUnitVersion { sourcedId version versionNumber state title
  summary hours learningOutcomes resources { title url } externalApprovalRef contentHash
  publishedAt metadata supersedes { sourcedId } }
  userErrors { field code message }";

const UNIT_FIELDS: &str = "curriculumUnit { sourcedId status version code title unitKind
  requiresExternalApproval metadata owningOrg { sourcedId } course { sourcedId } }
  userErrors { field code message }";

fn input_type(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) => format!("{}{}Input", c.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

/// Calls a mutation `name(input: $input)`, selecting the version or unit payload.
async fn call(app: &TestApp, token: Option<&str>, name: &str, input: Value) -> GqlResponse {
    let fields = if name.ends_with("CurriculumUnit") {
        UNIT_FIELDS
    } else {
        VERSION_FIELDS
    };
    let query = format!(
        "mutation($input: {}!) {{ {name}(input: $input) {{ {fields} }} }}",
        input_type(name)
    );
    app.gql(&query, json!({ "input": input }), token).await
}

/// The user error codes of a payload.
fn user_codes(response: &GqlResponse, name: &str) -> Vec<String> {
    response.data()[name]["userErrors"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e["code"].as_str().map(str::to_owned))
        .collect()
}

/// What came of a call: `OK`, a user error code, or a top-level error code.
fn outcome(response: &GqlResponse, name: &str) -> String {
    if let Some(code) = response.error_code() {
        return code.to_owned();
    }
    let codes = user_codes(response, name);
    match codes.first() {
        Some(code) => code.clone(),
        None => "OK".to_owned(),
    }
}

fn version_of<'a>(response: &'a GqlResponse, name: &str) -> &'a Value {
    &response.data()[name]["curriculumUnitVersion"]
}

/// Counts of every table a curriculum write touches:
/// `[units, versions, contributors, reviews, unit skills, status history, change events]`.
async fn counts(db: &DatabaseConnection) -> [u64; 7] {
    [
        curriculum_unit::Entity::find()
            .count(db)
            .await
            .expect("count"),
        curriculum_unit_version::Entity::find()
            .count(db)
            .await
            .expect("count"),
        unit_contributor::Entity::find()
            .count(db)
            .await
            .expect("count"),
        unit_review::Entity::find().count(db).await.expect("count"),
        unit_skill::Entity::find().count(db).await.expect("count"),
        status_history::Entity::find()
            .count(db)
            .await
            .expect("count"),
        change_event::Entity::find().count(db).await.expect("count"),
    ]
}

async fn version_row(db: &DatabaseConnection, sid: &str) -> curriculum_unit_version::Model {
    curriculum_unit_version::Entity::find()
        .filter(curriculum_unit_version::Column::SourcedId.eq(sid))
        .one(db)
        .await
        .expect("read version")
        .unwrap_or_else(|| panic!("no version {sid}"))
}

/// `(from, to, reason)` of a version's status history, oldest first.
async fn history(
    db: &DatabaseConnection,
    id: i64,
) -> Vec<(Option<String>, String, Option<String>)> {
    status_history::Entity::find()
        .filter(status_history::Column::EntityType.eq("CurriculumUnitVersion"))
        .filter(status_history::Column::EntityId.eq(id))
        .order_by_asc(status_history::Column::Id)
        .all(db)
        .await
        .expect("history")
        .into_iter()
        .map(|h| (h.from_state, h.to_state, h.reason))
        .collect()
}

/// `(type, sourcedId, operation)` of the change events after sequence position `from`.
async fn events_since(db: &DatabaseConnection, from: usize) -> Vec<(String, String, String)> {
    change_event::Entity::find()
        .order_by_asc(change_event::Column::Seq)
        .all(db)
        .await
        .expect("events")
        .into_iter()
        .skip(from)
        .map(|e| (e.entity_type, e.sourced_id, e.operation))
        .collect()
}

async fn event_count(db: &DatabaseConnection) -> usize {
    change_event::Entity::find().count(db).await.expect("count") as usize
}

/// Sets a version's state directly (arranging a test), keeping its record version.
async fn set_state(db: &DatabaseConnection, id: i64, state: &str) {
    curriculum_unit_version::ActiveModel {
        id: Set(id),
        state: Set(state.to_owned()),
        ..Default::default()
    }
    .update(db)
    .await
    .expect("set state");
}

/// Adds a contributor row directly (the contributor mutations are another helper's).
async fn add_contributor(
    db: &DatabaseConnection,
    version: i64,
    person: &Ref,
    org: i64,
    role: &str,
    hours: Option<f64>,
) {
    let now = Utc::now();
    unit_contributor::ActiveModel {
        sourced_id: Set(format!("uc-{version}-{}-{role}", person.sourced_id)),
        status: Set(STATUS_ACTIVE.to_owned()),
        date_created: Set(now),
        date_last_modified: Set(now),
        version: Set(1),
        metadata: Set(None),
        created_by: Set(Some("fixture".to_owned())),
        modified_by: Set(Some("fixture".to_owned())),
        unit_version_id: Set(version),
        person_id: Set(person.id),
        org_id: Set(org),
        contribution_role: Set(role.to_owned()),
        hours_contributed: Set(hours),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert contributor");
}

/// Adds a skill and a unit skill of a version directly.
async fn add_unit_skill(db: &DatabaseConnection, version: i64, code: &str, coverage: &str) {
    let now = Utc::now();
    let skill = skill::ActiveModel {
        sourced_id: Set(format!("skill-{code}")),
        status: Set(STATUS_ACTIVE.to_owned()),
        date_created: Set(now),
        date_last_modified: Set(now),
        version: Set(1),
        metadata: Set(None),
        created_by: Set(None),
        modified_by: Set(None),
        code: Set(code.to_owned()),
        name_en: Set(format!("Skill {code}")),
        name_zh: Set(None),
        category: Set("technical".to_owned()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert skill");
    unit_skill::ActiveModel {
        sourced_id: Set(format!("us-{version}-{code}")),
        status: Set(STATUS_ACTIVE.to_owned()),
        date_created: Set(now),
        date_last_modified: Set(now),
        version: Set(1),
        metadata: Set(None),
        created_by: Set(None),
        modified_by: Set(None),
        unit_version_id: Set(version),
        skill_id: Set(skill.id),
        coverage: Set(coverage.to_owned()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert unit skill");
}

/// Everyone who acts in these tests.
struct Cast {
    w: World,
    p: CurriculumPeople,
    /// A mentor at the university contributing as reviewer.
    reviewer: Ref,
    /// A student of school A.
    student: Ref,
}

/// The roles of the transition table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Admin,
    Staff,
    Lead,
    OtherLead,
    AuthorCoordinator,
    CoDeveloperMentor,
    Reviewer,
    CoordinatorY,
    Teacher,
    Student,
    Anonymous,
    ClientWrite,
    ClientRead,
}

const EVERYONE: [Who; 13] = [
    Who::Admin,
    Who::Staff,
    Who::Lead,
    Who::OtherLead,
    Who::AuthorCoordinator,
    Who::CoDeveloperMentor,
    Who::Reviewer,
    Who::CoordinatorY,
    Who::Teacher,
    Who::Student,
    Who::Anonymous,
    Who::ClientWrite,
    Who::ClientRead,
];

struct Tokens {
    admin: String,
    staff: String,
    lead: String,
    other_lead: String,
    coordinator_x: String,
    mentor_x: String,
    reviewer: String,
    coordinator_y: String,
    teacher: String,
    student: String,
    client_write: String,
    client_read: String,
}

impl Tokens {
    async fn new(app: &TestApp, c: &Cast) -> Tokens {
        let p = &c.p;
        Tokens {
            admin: token_of(app, &p.admin, &["programmeAdmin"], OFFICE),
            staff: token_of(app, &p.staff, &["programmeStaff"], OFFICE),
            lead: token_of(app, &p.lead, &["academicLead"], UNIT),
            other_lead: token_of(app, &p.other_lead, &["academicLead"], "org-unit-2"),
            coordinator_x: token_of(app, &p.coordinator_x, &["partnerCoordinator"], PARTNER_X),
            mentor_x: token_of(app, &p.mentor_x, &["mentor"], PARTNER_X),
            reviewer: token_of(app, &c.reviewer, &["mentor"], &c.w.university.sourced_id),
            coordinator_y: token_of(app, &p.coordinator_y, &["partnerCoordinator"], PARTNER_Y),
            teacher: token_of(app, &p.teacher_a, &["teacher"], SCHOOL_A),
            student: token_of(app, &c.student, &["student"], SCHOOL_A),
            client_write: client_token(app, PARTNER_X, "curriculum.write").await.0,
            client_read: client_token(app, PARTNER_X, "curriculum.read").await.0,
        }
    }

    fn of(&self, who: Who) -> Option<&str> {
        Some(match who {
            Who::Admin => &self.admin,
            Who::Staff => &self.staff,
            Who::Lead => &self.lead,
            Who::OtherLead => &self.other_lead,
            Who::AuthorCoordinator => &self.coordinator_x,
            Who::CoDeveloperMentor => &self.mentor_x,
            Who::Reviewer => &self.reviewer,
            Who::CoordinatorY => &self.coordinator_y,
            Who::Teacher => &self.teacher,
            Who::Student => &self.student,
            Who::Anonymous => return None,
            Who::ClientWrite => &self.client_write,
            Who::ClientRead => &self.client_read,
        })
    }
}

async fn cast(app: &TestApp) -> Cast {
    let w = seed_world(&app.db).await;
    let p = seed_curriculum_people(&app.db, &w).await;
    let reviewer = add_staff(&app.db, "rev-1", &w.university, "mentor").await;
    let student = w.students_of(0)[0].person.clone();
    Cast {
        w,
        p,
        reviewer,
        student,
    }
}

/// Creates a unit of course `course-apl` owned by `org-unit` as programme staff.
async fn create_unit(
    app: &TestApp,
    c: &Cast,
    t: &Tokens,
    sid: &str,
    code: &str,
    owner: &str,
    external: bool,
) {
    let response = call(
        app,
        Some(&t.staff),
        "createCurriculumUnit",
        json!({
            "sourcedId": sid,
            "course": c.w.course_apl.gid(),
            "code": code,
            "title": format!("Unit {code}"),
            "unitKind": "PROJECT",
            "owningOrg": owner,
            "requiresExternalApproval": external,
        }),
    )
    .await;
    assert_eq!(
        outcome(&response, "createCurriculumUnit"),
        "OK",
        "{:?}",
        response.data()
    );
}

/// Creates a version of `unit` as `token` with content; returns it.
async fn create_version(app: &TestApp, token: &str, unit: &str, sid: &str) -> GqlResponse {
    create_version_as(app, Some(token), unit, sid).await
}

/// As [`create_version`], with or without a token.
async fn create_version_as(
    app: &TestApp,
    token: Option<&str>,
    unit: &str,
    sid: &str,
) -> GqlResponse {
    call(
        app,
        token,
        "createCurriculumUnitVersion",
        json!({
            "unit": unit,
            "sourcedId": sid,
            "summary": "What the unit is about",
            "hours": 12.5,
            "learningOutcomes": ["Explain the brief", "Build a prototype"],
            "resources": [{ "title": "Guide", "url": "https://example.org/guide" }],
        }),
    )
    .await
}

/// The world of the workflow tests: unit `cu-x` (owned by `org-unit`) with version `cuv-x1`
/// created by the admin, contributors: partner X's coordinator (author), partner X's mentor
/// (coDeveloper), the university reviewer (reviewer). Unit `cu-y` (owned by `org-unit-2`) with
/// version `cuv-y1` whose author is partner Y's coordinator.
async fn arrange() -> (TestApp, Cast, Tokens, i64) {
    let app = spawn_app().await;
    let c = cast(&app).await;
    let t = Tokens::new(&app, &c).await;
    create_unit(&app, &c, &t, "cu-x", "UX", UNIT, false).await;
    create_unit(&app, &c, &t, "cu-y", "UY", "org-unit-2", false).await;
    let response = create_version(&app, &t.admin, "cu-x", "cuv-x1").await;
    assert_eq!(
        outcome(&response, "createCurriculumUnitVersion"),
        "OK",
        "{:?}",
        response.data()
    );
    let response = create_version(&app, &t.admin, "cu-y", "cuv-y1").await;
    assert_eq!(outcome(&response, "createCurriculumUnitVersion"), "OK");
    let x1 = version_row(&app.db, "cuv-x1").await.id;
    let y1 = version_row(&app.db, "cuv-y1").await.id;
    let partner_x = c.w.partners[0].id;
    let partner_y = c.w.partners[1].id;
    add_contributor(
        &app.db,
        x1,
        &c.p.coordinator_x,
        partner_x,
        "author",
        Some(10.0),
    )
    .await;
    add_contributor(
        &app.db,
        x1,
        &c.p.mentor_x,
        partner_x,
        "coDeveloper",
        Some(4.0),
    )
    .await;
    add_contributor(
        &app.db,
        x1,
        &c.reviewer,
        c.w.university.id,
        "reviewer",
        None,
    )
    .await;
    add_contributor(&app.db, y1, &c.p.coordinator_y, partner_y, "author", None).await;
    (app, c, t, x1)
}

// ---------------------------------------------------------------- units

#[tokio::test]
async fn units_are_written_by_programme_staff_and_the_owning_units_lead_only() {
    let app = spawn_app().await;
    let c = cast(&app).await;
    let t = Tokens::new(&app, &c).await;
    let new = |sid: &str, code: &str, owner: &str| {
        json!({
            "sourcedId": sid,
            "course": c.w.course_apl.gid(),
            "code": code,
            "title": "Creative coding",
            "unitKind": "WORKSHOP",
            "owningOrg": owner,
            "metadata": { "room": "B1" },
        })
    };
    let before = event_count(&app.db).await;
    let r = call(
        &app,
        Some(&t.lead),
        "createCurriculumUnit",
        new("cu-1", "CC1", UNIT),
    )
    .await;
    assert_eq!(outcome(&r, "createCurriculumUnit"), "OK");
    let unit = &r.data()["createCurriculumUnit"]["curriculumUnit"];
    assert_eq!(unit["unitKind"], "WORKSHOP");
    assert_eq!(unit["requiresExternalApproval"], false);
    assert_eq!(unit["owningOrg"]["sourcedId"], UNIT);
    assert_eq!(unit["metadata"]["room"], "B1");
    assert_eq!(
        events_since(&app.db, before).await,
        vec![("CurriculumUnit".into(), "cu-1".into(), "create".into())]
    );

    // Who may not.
    let before = counts(&app.db).await;
    for (token, code) in [
        (Some(t.other_lead.as_str()), "FORBIDDEN"),
        (Some(t.coordinator_x.as_str()), "FORBIDDEN"),
        (Some(t.teacher.as_str()), "FORBIDDEN"),
        (Some(t.client_read.as_str()), "FORBIDDEN"),
        (Some(t.client_write.as_str()), "FORBIDDEN"),
        (None, "UNAUTHENTICATED"),
    ] {
        let r = call(
            &app,
            token,
            "createCurriculumUnit",
            new("cu-2", "CC2", UNIT),
        )
        .await;
        assert_eq!(r.error_code(), Some(code));
    }
    assert_eq!(counts(&app.db).await, before);

    // Rules.
    for (input, code) in [
        (new("cu-2", "CC1", UNIT), "DUPLICATE"),
        (new("cu-2", &"x".repeat(65), UNIT), "BAD_USER_INPUT"),
        (new("cu-2", "CC2", PARTNER_X), "BAD_USER_INPUT"),
        (
            {
                let mut i = new("cu-2", "CC2", UNIT);
                i["course"] = json!("no-such-course");
                i
            },
            "BAD_USER_INPUT",
        ),
        (
            {
                let mut i = new("cu-2", "CC2", UNIT);
                i["title"] = json!(" ");
                i
            },
            "BAD_USER_INPUT",
        ),
    ] {
        let r = call(&app, Some(&t.staff), "createCurriculumUnit", input).await;
        assert_eq!(outcome(&r, "createCurriculumUnit"), code);
    }
    assert_eq!(counts(&app.db).await, before);

    // Update: the lead of the owning unit; not the other lead; not moving it away.
    let r = call(
        &app,
        Some(&t.lead),
        "updateCurriculumUnit",
        json!({ "id": "cu-1", "expectedVersion": 1, "title": "Creative coding II",
                "requiresExternalApproval": true, "metadata": null }),
    )
    .await;
    assert_eq!(outcome(&r, "updateCurriculumUnit"), "OK");
    let unit = &r.data()["updateCurriculumUnit"]["curriculumUnit"];
    assert_eq!(unit["title"], "Creative coding II");
    assert_eq!(unit["code"], "CC1");
    assert_eq!(unit["version"], 2);
    assert_eq!(unit["requiresExternalApproval"], true);
    assert_eq!(unit["metadata"], Value::Null);
    let before = counts(&app.db).await;
    let r = call(
        &app,
        Some(&t.other_lead),
        "updateCurriculumUnit",
        json!({ "id": "cu-1", "title": "Mine" }),
    )
    .await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"));
    let r = call(
        &app,
        Some(&t.lead),
        "updateCurriculumUnit",
        json!({ "id": "cu-1", "owningOrg": "org-unit-2" }),
    )
    .await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"));
    let r = call(
        &app,
        Some(&t.lead),
        "updateCurriculumUnit",
        json!({ "id": "cu-1", "expectedVersion": 1, "title": "Stale" }),
    )
    .await;
    assert_eq!(outcome(&r, "updateCurriculumUnit"), "VERSION_CONFLICT");
    assert_eq!(counts(&app.db).await, before);

    // Delete: refused while a working version exists, allowed once it is withdrawn.
    let r = create_version(&app, &t.lead, "cu-1", "cuv-1").await;
    assert_eq!(outcome(&r, "createCurriculumUnitVersion"), "OK");
    let before = counts(&app.db).await;
    let r = call(
        &app,
        Some(&t.lead),
        "deleteCurriculumUnit",
        json!({ "id": "cu-1", "expectedVersion": 2 }),
    )
    .await;
    assert_eq!(outcome(&r, "deleteCurriculumUnit"), "INVALID_TRANSITION");
    assert_eq!(counts(&app.db).await, before);
    let r = call(
        &app,
        Some(&t.lead),
        "withdrawCurriculumUnitVersion",
        json!({ "id": "cuv-1" }),
    )
    .await;
    assert_eq!(outcome(&r, "withdrawCurriculumUnitVersion"), "OK");
    let before = event_count(&app.db).await;
    let r = call(
        &app,
        Some(&t.lead),
        "deleteCurriculumUnit",
        json!({ "id": "cu-1", "expectedVersion": 2 }),
    )
    .await;
    assert_eq!(outcome(&r, "deleteCurriculumUnit"), "OK");
    assert_eq!(
        r.data()["deleteCurriculumUnit"]["curriculumUnit"]["status"],
        "TOBEDELETED"
    );
    assert_eq!(
        events_since(&app.db, before).await,
        vec![("CurriculumUnit".into(), "cu-1".into(), "delete".into())]
    );
    // The code is free again among active units.
    let r = call(
        &app,
        Some(&t.staff),
        "createCurriculumUnit",
        new("cu-3", "CC1", UNIT),
    )
    .await;
    assert_eq!(outcome(&r, "createCurriculumUnit"), "OK");
    // A deleted unit gets no new version.
    let r = create_version(&app, &t.staff, "cu-1", "cuv-2").await;
    assert_eq!(
        outcome(&r, "createCurriculumUnitVersion"),
        "INVALID_TRANSITION"
    );
}

// ---------------------------------------------------------------- new versions

#[tokio::test]
async fn a_first_version_starts_from_the_unit_title_as_a_draft_authored_by_its_creator() {
    let app = spawn_app().await;
    let c = cast(&app).await;
    let t = Tokens::new(&app, &c).await;
    create_unit(&app, &c, &t, "cu-x", "UX", UNIT, false).await;
    let before = event_count(&app.db).await;
    let r = call(
        &app,
        Some(&t.lead),
        "createCurriculumUnitVersion",
        json!({ "unit": "cu-x", "sourcedId": "cuv-1" }),
    )
    .await;
    assert_eq!(outcome(&r, "createCurriculumUnitVersion"), "OK");
    let v = version_of(&r, "createCurriculumUnitVersion");
    assert_eq!(v["title"], "Unit UX");
    assert_eq!(v["state"], "DRAFT");
    assert_eq!(v["versionNumber"], 1);
    assert_eq!(v["version"], 1);
    assert_eq!(v["supersedes"], Value::Null);
    let row = version_row(&app.db, "cuv-1").await;
    assert_eq!(
        history(&app.db, row.id).await,
        vec![(None, "draft".into(), None)]
    );
    let authors = unit_contributor::Entity::find()
        .filter(unit_contributor::Column::UnitVersionId.eq(row.id))
        .all(&app.db)
        .await
        .expect("contributors");
    assert_eq!(authors.len(), 1);
    assert_eq!(authors[0].person_id, c.p.lead.id);
    assert_eq!(authors[0].org_id, c.w.unit.id);
    assert_eq!(authors[0].contribution_role, "author");
    let events = events_since(&app.db, before).await;
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[0],
        (
            "CurriculumUnitVersion".into(),
            "cuv-1".into(),
            "create".into()
        )
    );
    assert_eq!(events[1].0, "UnitContributor");

    // A second working version is refused, and nothing is written.
    let before = counts(&app.db).await;
    let r = create_version(&app, &t.staff, "cu-x", "cuv-2").await;
    assert_eq!(
        outcome(&r, "createCurriculumUnitVersion"),
        "INVALID_TRANSITION"
    );
    let message = r.data()["createCurriculumUnitVersion"]["userErrors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("cuv-1"), "{message}");
    assert_eq!(counts(&app.db).await, before);
}

#[tokio::test]
async fn a_new_version_copies_content_contributors_and_skills_of_the_latest_but_not_its_publication()
 {
    let (app, c, t, x1) = arrange().await;
    add_unit_skill(&app.db, x1, "SK-B", "applied").await;
    add_unit_skill(&app.db, x1, "SK-A", "introduced").await;
    set_state(&app.db, x1, "approved").await;
    let r = call(
        &app,
        Some(&t.lead),
        "publishCurriculumUnitVersion",
        json!({ "id": "cuv-x1", "externalApprovalRef": "EDB-1" }),
    )
    .await;
    assert_eq!(outcome(&r, "publishCurriculumUnitVersion"), "OK");

    // An invited coordinator (author of the latest version) starts version 2.
    let before_events = event_count(&app.db).await;
    let r = call(
        &app,
        Some(&t.coordinator_x),
        "createCurriculumUnitVersion",
        json!({ "unit": "cu-x", "sourcedId": "cuv-x2", "title": "Second take" }),
    )
    .await;
    assert_eq!(
        outcome(&r, "createCurriculumUnitVersion"),
        "OK",
        "{:?}",
        r.data()
    );
    let v = version_of(&r, "createCurriculumUnitVersion");
    assert_eq!(v["title"], "Second take");
    assert_eq!(v["summary"], "What the unit is about");
    assert_eq!(v["hours"], 12.5);
    assert_eq!(
        v["learningOutcomes"],
        json!(["Explain the brief", "Build a prototype"])
    );
    assert_eq!(
        v["resources"],
        json!([{ "title": "Guide", "url": "https://example.org/guide" }])
    );
    assert_eq!(v["versionNumber"], 2);
    assert_eq!(v["state"], "DRAFT");
    assert_eq!(v["supersedes"]["sourcedId"], "cuv-x1");
    assert_eq!(v["externalApprovalRef"], Value::Null);
    assert_eq!(v["contentHash"], Value::Null);
    assert_eq!(v["publishedAt"], Value::Null);

    let x2 = version_row(&app.db, "cuv-x2").await.id;
    let mut copied: Vec<(i64, i64, String, Option<f64>)> = unit_contributor::Entity::find()
        .filter(unit_contributor::Column::UnitVersionId.eq(x2))
        .all(&app.db)
        .await
        .expect("contributors")
        .into_iter()
        .map(|u| {
            (
                u.person_id,
                u.org_id,
                u.contribution_role,
                u.hours_contributed,
            )
        })
        .collect();
    copied.sort_by(|a, b| (a.0, &a.2).cmp(&(b.0, &b.2)));
    let mut expected = vec![
        (c.p.admin.id, c.w.office.id, "author".to_owned(), None),
        (
            c.p.coordinator_x.id,
            c.w.partners[0].id,
            "author".to_owned(),
            None,
        ),
        (
            c.p.mentor_x.id,
            c.w.partners[0].id,
            "coDeveloper".to_owned(),
            None,
        ),
        (
            c.reviewer.id,
            c.w.university.id,
            "reviewer".to_owned(),
            None,
        ),
    ];
    expected.sort_by(|a, b| (a.0, &a.2).cmp(&(b.0, &b.2)));
    // The coordinator was already an author: no second author row for them.
    assert_eq!(copied, expected);
    let mut skills: Vec<(i64, String)> = unit_skill::Entity::find()
        .filter(unit_skill::Column::UnitVersionId.eq(x2))
        .all(&app.db)
        .await
        .expect("skills")
        .into_iter()
        .map(|s| (s.skill_id, s.coverage))
        .collect();
    skills.sort();
    let mut old: Vec<(i64, String)> = unit_skill::Entity::find()
        .filter(unit_skill::Column::UnitVersionId.eq(x1))
        .all(&app.db)
        .await
        .expect("skills")
        .into_iter()
        .map(|s| (s.skill_id, s.coverage))
        .collect();
    old.sort();
    assert_eq!(skills, old);
    let events = events_since(&app.db, before_events).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "CurriculumUnitVersion")
            .count(),
        1
    );
    assert_eq!(kinds.iter().filter(|k| **k == "UnitContributor").count(), 4);
    assert_eq!(kinds.iter().filter(|k| **k == "UnitSkill").count(), 2);
    assert!(events.iter().all(|e| e.2 == "create"));
    assert_eq!(
        history(&app.db, x2).await,
        vec![(None, "draft".into(), None)]
    );

    // The unit shows both slots through the loader.
    let read = app
        .gql(
            "{ curriculumUnits(filter: { code: { in: [\"UX\", \"UY\"] } }, orderBy: [{ field: CODE }]) {
                 edges { node { code publishedVersion { sourcedId } workingVersion { sourcedId } } } } }",
            json!({}),
            Some(&t.staff),
        )
        .await;
    let edges = &read.data()["curriculumUnits"]["edges"];
    assert_eq!(edges[0]["node"]["publishedVersion"]["sourcedId"], "cuv-x1");
    assert_eq!(edges[0]["node"]["workingVersion"]["sourcedId"], "cuv-x2");
    assert_eq!(edges[1]["node"]["publishedVersion"], Value::Null);
    assert_eq!(edges[1]["node"]["workingVersion"]["sourcedId"], "cuv-y1");
    // Anonymous readers see the published version only.
    let read = app
        .gql(
            "{ curriculumUnits { edges { node { code publishedVersion { sourcedId } workingVersion { sourcedId } } } } }",
            json!({}),
            None,
        )
        .await;
    let edges = &read.data()["curriculumUnits"]["edges"];
    assert_eq!(edges.as_array().map(Vec::len), Some(1));
    assert_eq!(edges[0]["node"]["publishedVersion"]["sourcedId"], "cuv-x1");
    assert_eq!(edges[0]["node"]["workingVersion"], Value::Null);
}

#[tokio::test]
async fn who_may_start_a_version_staff_leads_and_invited_coordinators_teachers_and_clients() {
    let (app, c, t, x1) = arrange().await;
    // The latest version cuv-x1 is published, so the unit is visible to everyone.
    set_state(&app.db, x1, "published").await;
    add_contributor(
        &app.db,
        x1,
        &c.p.teacher_a,
        c.w.schools[0].id,
        "subjectExpert",
        None,
    )
    .await;
    let expectations = [
        (Who::Student, "FORBIDDEN"),
        (Who::Anonymous, "UNAUTHENTICATED"),
        (Who::CoDeveloperMentor, "FORBIDDEN"),
        (Who::Reviewer, "FORBIDDEN"),
        (Who::CoordinatorY, "FORBIDDEN"),
        (Who::ClientRead, "FORBIDDEN"),
    ];
    assert!(EVERYONE.iter().all(|w| {
        expectations.iter().any(|e| e.0 == *w)
            || [
                Who::Admin,
                Who::Staff,
                Who::Lead,
                Who::OtherLead,
                Who::AuthorCoordinator,
                Who::Teacher,
                Who::ClientWrite,
            ]
            .contains(w)
    }));
    let before = counts(&app.db).await;
    for (who, code) in expectations {
        let r = create_version_as(&app, t.of(who), "cu-x", "cuv-new").await;
        assert_eq!(outcome(&r, "createCurriculumUnitVersion"), code, "{who:?}");
    }
    assert_eq!(counts(&app.db).await, before);
    // Each allowed caller starts one (withdrawn again by the admin so the next may start its
    // own); the invitation carries over, since every copy keeps the contributors.
    for (n, who) in [
        Who::Admin,
        Who::Staff,
        Who::Lead,
        Who::OtherLead,
        Who::AuthorCoordinator,
        Who::Teacher,
        Who::ClientWrite,
    ]
    .into_iter()
    .enumerate()
    {
        let sid = format!("cuv-new-{n}");
        let r = create_version_as(&app, t.of(who), "cu-x", &sid).await;
        assert_eq!(
            outcome(&r, "createCurriculumUnitVersion"),
            "OK",
            "{who:?}: {:?}",
            r.data()
        );
        let r = call(
            &app,
            Some(&t.admin),
            "withdrawCurriculumUnitVersion",
            json!({ "id": sid }),
        )
        .await;
        assert_eq!(outcome(&r, "withdrawCurriculumUnitVersion"), "OK");
    }
    // A client adds no author (it has no Person); its copy keeps the copied contributors.
    let client_copy = version_row(&app.db, "cuv-new-6").await;
    let authors = unit_contributor::Entity::find()
        .filter(unit_contributor::Column::UnitVersionId.eq(client_copy.id))
        .filter(unit_contributor::Column::ContributionRole.eq("author"))
        .count(&app.db)
        .await
        .expect("count");
    let previous = version_row(&app.db, "cuv-new-5").await;
    let previous_authors = unit_contributor::Entity::find()
        .filter(unit_contributor::Column::UnitVersionId.eq(previous.id))
        .filter(unit_contributor::Column::ContributionRole.eq("author"))
        .count(&app.db)
        .await
        .expect("count");
    assert_eq!(authors, previous_authors);
    // A partner that is not invited does not see a unit in progress at all.
    let r = create_version(&app, &t.coordinator_x, "cu-y", "cuv-z").await;
    assert_eq!(outcome(&r, "createCurriculumUnitVersion"), "NOT_FOUND");
}

#[tokio::test]
async fn two_simultaneous_new_versions_of_one_unit_leave_exactly_one() {
    let app = spawn_app().await;
    let c = cast(&app).await;
    let t = Tokens::new(&app, &c).await;
    create_unit(&app, &c, &t, "cu-x", "UX", UNIT, false).await;
    let (a, b) = tokio::join!(
        create_version(&app, &t.staff, "cu-x", "cuv-a"),
        create_version(&app, &t.lead, "cu-x", "cuv-b"),
    );
    let mut outcomes = vec![
        outcome(&a, "createCurriculumUnitVersion"),
        outcome(&b, "createCurriculumUnitVersion"),
    ];
    outcomes.sort();
    assert_eq!(
        outcomes,
        vec!["INVALID_TRANSITION".to_owned(), "OK".to_owned()]
    );
    let versions = curriculum_unit_version::Entity::find()
        .count(&app.db)
        .await
        .expect("count");
    assert_eq!(versions, 1);
    let row = curriculum_unit_version::Entity::find()
        .one(&app.db)
        .await
        .expect("read")
        .expect("one version");
    assert_eq!(history(&app.db, row.id).await.len(), 1);
}

// ---------------------------------------------------------------- edits

#[tokio::test]
async fn contributors_edit_a_draft_within_the_rules_and_stale_or_invalid_edits_write_nothing() {
    let (app, _c, t, x1) = arrange().await;
    let before = event_count(&app.db).await;
    let r = call(
        &app,
        Some(&t.mentor_x),
        "updateCurriculumUnitVersion",
        json!({ "id": "cuv-x1", "expectedVersion": 1, "summary": null, "hours": 20,
                "learningOutcomes": ["Pitch an idea"],
                "resources": [{ "title": "Slides" }], "metadata": { "tag": "v1" } }),
    )
    .await;
    assert_eq!(
        outcome(&r, "updateCurriculumUnitVersion"),
        "OK",
        "{:?}",
        r.data()
    );
    let v = version_of(&r, "updateCurriculumUnitVersion");
    assert_eq!(v["version"], 2);
    assert_eq!(v["summary"], Value::Null);
    assert_eq!(v["hours"], 20.0);
    assert_eq!(v["title"], "Unit UX");
    assert_eq!(v["learningOutcomes"], json!(["Pitch an idea"]));
    assert_eq!(v["resources"], json!([{ "title": "Slides", "url": null }]));
    assert_eq!(
        events_since(&app.db, before).await,
        vec![(
            "CurriculumUnitVersion".into(),
            "cuv-x1".into(),
            "update".into()
        )]
    );

    let snapshot = (counts(&app.db).await, version_row(&app.db, "cuv-x1").await);
    let long = "x".repeat(256);
    for (input, code, field) in [
        (
            json!({ "expectedVersion": 1, "title": "Stale" }),
            "VERSION_CONFLICT",
            None,
        ),
        (json!({ "title": " " }), "BAD_USER_INPUT", Some("title")),
        (json!({ "title": null }), "BAD_USER_INPUT", Some("title")),
        (json!({ "title": long }), "BAD_USER_INPUT", Some("title")),
        (
            json!({ "summary": "s".repeat(4001) }),
            "BAD_USER_INPUT",
            Some("summary"),
        ),
        (json!({ "hours": 1000.5 }), "BAD_USER_INPUT", Some("hours")),
        (json!({ "hours": -1 }), "BAD_USER_INPUT", Some("hours")),
        (
            json!({ "learningOutcomes": vec!["o"; 51] }),
            "BAD_USER_INPUT",
            Some("learningOutcomes"),
        ),
        (
            json!({ "learningOutcomes": ["ok", " "] }),
            "BAD_USER_INPUT",
            Some("learningOutcomes"),
        ),
        (
            json!({ "learningOutcomes": ["o".repeat(1001)] }),
            "BAD_USER_INPUT",
            Some("learningOutcomes"),
        ),
        (
            json!({ "resources": [{ "title": "x", "url": "ftp://example.org" }] }),
            "BAD_USER_INPUT",
            Some("resources"),
        ),
        (
            json!({ "resources": [{ "title": " ", "url": "https://example.org" }] }),
            "BAD_USER_INPUT",
            Some("resources"),
        ),
        (
            json!({ "resources": [{ "title": "x", "url": format!("https://e.org/{}", "a".repeat(2000)) }] }),
            "BAD_USER_INPUT",
            Some("resources"),
        ),
        (
            json!({ "externalApprovalRef": long }),
            "BAD_USER_INPUT",
            Some("externalApprovalRef"),
        ),
        (
            json!({ "metadata": [1] }),
            "BAD_USER_INPUT",
            Some("metadata"),
        ),
    ] {
        let mut input = input.clone();
        input["id"] = json!("cuv-x1");
        let r = call(
            &app,
            Some(&t.coordinator_x),
            "updateCurriculumUnitVersion",
            input.clone(),
        )
        .await;
        assert_eq!(outcome(&r, "updateCurriculumUnitVersion"), code, "{input}");
        if let Some(field) = field {
            assert_eq!(
                r.data()["updateCurriculumUnitVersion"]["userErrors"][0]["field"][1],
                field,
                "{input}"
            );
        }
    }
    // Who may not edit: the reviewer, the other unit's lead, non-contributors.
    for (who, code) in [
        (&t.reviewer, "FORBIDDEN"),
        (&t.other_lead, "FORBIDDEN"),
        (&t.coordinator_y, "NOT_FOUND"),
        (&t.student, "NOT_FOUND"),
        (&t.client_read, "FORBIDDEN"),
    ] {
        let r = call(
            &app,
            Some(who),
            "updateCurriculumUnitVersion",
            json!({ "id": "cuv-x1", "title": "No" }),
        )
        .await;
        assert_eq!(r.error_code(), Some(code));
    }
    // A contributor of unit X cannot read, edit or submit unit Y's working version.
    let r = app
        .gql(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": global_id("CurriculumUnitVersion", "cuv-y1") }),
            Some(&t.coordinator_x),
        )
        .await;
    assert_eq!(r.data()["node"], Value::Null);
    let r = app
        .gql(
            "{ curriculumUnitVersions(filter: { sourcedId: { eq: \"cuv-y1\" } }) { edges { node { sourcedId } } } }",
            json!({}),
            Some(&t.coordinator_x),
        )
        .await;
    assert_eq!(r.data()["curriculumUnitVersions"]["edges"], json!([]));
    let r = call(
        &app,
        Some(&t.coordinator_x),
        "updateCurriculumUnitVersion",
        json!({ "id": "cuv-y1", "title": "No" }),
    )
    .await;
    assert_eq!(r.error_code(), Some("NOT_FOUND"));
    let r = call(
        &app,
        Some(&t.coordinator_x),
        "submitCurriculumUnitVersion",
        json!({ "id": "cuv-y1" }),
    )
    .await;
    assert_eq!(r.error_code(), Some("NOT_FOUND"));
    assert_eq!(
        (counts(&app.db).await, version_row(&app.db, "cuv-x1").await),
        snapshot
    );

    // Only draft and changes_requested versions are edited.
    for state in ["in_review", "approved", "withdrawn", "retired"] {
        set_state(&app.db, x1, state).await;
        let r = call(
            &app,
            Some(&t.staff),
            "updateCurriculumUnitVersion",
            json!({ "id": "cuv-x1", "title": "No" }),
        )
        .await;
        assert_eq!(
            outcome(&r, "updateCurriculumUnitVersion"),
            "INVALID_TRANSITION",
            "{state}"
        );
    }
    set_state(&app.db, x1, "changes_requested").await;
    let r = call(
        &app,
        Some(&t.coordinator_x),
        "updateCurriculumUnitVersion",
        json!({ "id": "cuv-x1", "title": "Again" }),
    )
    .await;
    assert_eq!(outcome(&r, "updateCurriculumUnitVersion"), "OK");
}

#[tokio::test]
async fn a_published_version_is_immutable_apart_from_its_metadata() {
    let (app, _c, t, x1) = arrange().await;
    set_state(&app.db, x1, "published").await;
    let snapshot = (counts(&app.db).await, version_row(&app.db, "cuv-x1").await);
    for token in [&t.lead, &t.staff, &t.admin, &t.coordinator_x] {
        let r = call(
            &app,
            Some(token),
            "updateCurriculumUnitVersion",
            json!({ "id": "cuv-x1", "title": "Changed", "metadata": { "a": 1 } }),
        )
        .await;
        assert_eq!(
            outcome(&r, "updateCurriculumUnitVersion"),
            "INVALID_TRANSITION"
        );
        let message = r.data()["updateCurriculumUnitVersion"]["userErrors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(message.contains("published is immutable"), "{message}");
    }
    // An author may not change the metadata of a published version; the lead may.
    let r = call(
        &app,
        Some(&t.coordinator_x),
        "updateCurriculumUnitVersion",
        json!({ "id": "cuv-x1", "metadata": { "a": 1 } }),
    )
    .await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"));
    let r = call(
        &app,
        Some(&t.other_lead),
        "updateCurriculumUnitVersion",
        json!({ "id": "cuv-x1", "metadata": { "a": 1 } }),
    )
    .await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"));
    assert_eq!(
        (counts(&app.db).await, version_row(&app.db, "cuv-x1").await),
        snapshot
    );
    for token in [&t.lead, &t.staff] {
        let r = call(
            &app,
            Some(token),
            "updateCurriculumUnitVersion",
            json!({ "id": "cuv-x1", "metadata": { "edb": "ok" } }),
        )
        .await;
        assert_eq!(outcome(&r, "updateCurriculumUnitVersion"), "OK");
        let v = version_of(&r, "updateCurriculumUnitVersion");
        assert_eq!(v["metadata"]["edb"], "ok");
        assert_eq!(v["state"], "PUBLISHED");
        assert_eq!(v["title"], "Unit UX");
    }
}

// ---------------------------------------------------------------- transitions

/// One row of the transition table: the action, the state it is tried from, and the outcome
/// per caller (`OK` or an error code).
struct Case {
    action: &'static str,
    from: &'static str,
    to: &'static str,
    outcomes: &'static [(Who, &'static str)],
}

fn input_for(action: &str) -> Value {
    match action {
        "requestCurriculumUnitVersionChanges" => {
            json!({ "id": "cuv-x1", "comments": "More examples", "reason": "review" })
        }
        "approveCurriculumUnitVersion" => json!({ "id": "cuv-x1", "comments": "Good" }),
        _ => json!({ "id": "cuv-x1", "reason": "test" }),
    }
}

const CASES: &[Case] = &[
    Case {
        action: "submitCurriculumUnitVersion",
        from: "draft",
        to: "in_review",
        outcomes: &[
            (Who::Admin, "OK"),
            (Who::Staff, "OK"),
            (Who::Lead, "FORBIDDEN"),
            (Who::OtherLead, "FORBIDDEN"),
            (Who::AuthorCoordinator, "OK"),
            (Who::CoDeveloperMentor, "OK"),
            (Who::Reviewer, "FORBIDDEN"),
            (Who::CoordinatorY, "NOT_FOUND"),
            (Who::Teacher, "NOT_FOUND"),
            (Who::Student, "NOT_FOUND"),
            (Who::Anonymous, "UNAUTHENTICATED"),
            (Who::ClientWrite, "OK"),
            (Who::ClientRead, "FORBIDDEN"),
        ],
    },
    Case {
        action: "submitCurriculumUnitVersion",
        from: "changes_requested",
        to: "in_review",
        outcomes: &[
            (Who::Admin, "OK"),
            (Who::Staff, "FORBIDDEN"),
            (Who::Lead, "FORBIDDEN"),
            (Who::AuthorCoordinator, "OK"),
            (Who::CoDeveloperMentor, "OK"),
            (Who::Reviewer, "FORBIDDEN"),
            (Who::CoordinatorY, "NOT_FOUND"),
            (Who::ClientWrite, "OK"),
        ],
    },
    Case {
        action: "requestCurriculumUnitVersionChanges",
        from: "in_review",
        to: "changes_requested",
        outcomes: &[
            (Who::Admin, "OK"),
            (Who::Staff, "OK"),
            (Who::Lead, "OK"),
            (Who::OtherLead, "FORBIDDEN"),
            (Who::AuthorCoordinator, "FORBIDDEN"),
            (Who::CoDeveloperMentor, "FORBIDDEN"),
            (Who::Reviewer, "OK"),
            (Who::CoordinatorY, "NOT_FOUND"),
            (Who::Teacher, "NOT_FOUND"),
            (Who::Student, "NOT_FOUND"),
            (Who::Anonymous, "UNAUTHENTICATED"),
            (Who::ClientWrite, "FORBIDDEN"),
            (Who::ClientRead, "FORBIDDEN"),
        ],
    },
    Case {
        action: "approveCurriculumUnitVersion",
        from: "in_review",
        to: "approved",
        outcomes: &[
            (Who::Admin, "OK"),
            (Who::Staff, "FORBIDDEN"),
            (Who::Lead, "OK"),
            (Who::OtherLead, "FORBIDDEN"),
            (Who::AuthorCoordinator, "FORBIDDEN"),
            (Who::CoDeveloperMentor, "FORBIDDEN"),
            (Who::Reviewer, "FORBIDDEN"),
            (Who::CoordinatorY, "NOT_FOUND"),
            (Who::Teacher, "NOT_FOUND"),
            (Who::Student, "NOT_FOUND"),
            (Who::Anonymous, "UNAUTHENTICATED"),
            (Who::ClientWrite, "FORBIDDEN"),
            (Who::ClientRead, "FORBIDDEN"),
        ],
    },
    Case {
        action: "publishCurriculumUnitVersion",
        from: "approved",
        to: "published",
        outcomes: &[
            (Who::Admin, "OK"),
            (Who::Staff, "FORBIDDEN"),
            (Who::Lead, "OK"),
            (Who::OtherLead, "FORBIDDEN"),
            (Who::AuthorCoordinator, "FORBIDDEN"),
            (Who::CoDeveloperMentor, "FORBIDDEN"),
            (Who::Reviewer, "FORBIDDEN"),
            (Who::CoordinatorY, "NOT_FOUND"),
            (Who::Teacher, "NOT_FOUND"),
            (Who::Student, "NOT_FOUND"),
            (Who::Anonymous, "UNAUTHENTICATED"),
            (Who::ClientWrite, "FORBIDDEN"),
            (Who::ClientRead, "FORBIDDEN"),
        ],
    },
    Case {
        action: "retireCurriculumUnitVersion",
        from: "published",
        to: "retired",
        outcomes: &[
            (Who::Admin, "OK"),
            (Who::Staff, "FORBIDDEN"),
            (Who::Lead, "OK"),
            (Who::OtherLead, "FORBIDDEN"),
            (Who::AuthorCoordinator, "FORBIDDEN"),
            (Who::CoDeveloperMentor, "FORBIDDEN"),
            (Who::Reviewer, "FORBIDDEN"),
            // Published versions are public: refused for the role, not hidden.
            (Who::CoordinatorY, "FORBIDDEN"),
            (Who::Teacher, "FORBIDDEN"),
            (Who::Student, "FORBIDDEN"),
            (Who::Anonymous, "UNAUTHENTICATED"),
            (Who::ClientWrite, "FORBIDDEN"),
            (Who::ClientRead, "FORBIDDEN"),
        ],
    },
    Case {
        action: "withdrawCurriculumUnitVersion",
        from: "draft",
        to: "withdrawn",
        outcomes: &[
            (Who::Admin, "OK"),
            (Who::Staff, "OK"),
            (Who::Lead, "FORBIDDEN"),
            (Who::OtherLead, "FORBIDDEN"),
            (Who::AuthorCoordinator, "OK"),
            (Who::CoDeveloperMentor, "FORBIDDEN"),
            (Who::Reviewer, "FORBIDDEN"),
            (Who::CoordinatorY, "NOT_FOUND"),
            (Who::Teacher, "NOT_FOUND"),
            (Who::Student, "NOT_FOUND"),
            (Who::Anonymous, "UNAUTHENTICATED"),
            (Who::ClientWrite, "OK"),
            (Who::ClientRead, "FORBIDDEN"),
        ],
    },
    Case {
        action: "withdrawCurriculumUnitVersion",
        from: "changes_requested",
        to: "withdrawn",
        outcomes: &[
            (Who::Admin, "OK"),
            (Who::Staff, "OK"),
            (Who::AuthorCoordinator, "OK"),
            (Who::CoDeveloperMentor, "FORBIDDEN"),
        ],
    },
];

/// The states no transition of `action` starts from.
fn other_states(action: &str) -> Vec<&'static str> {
    let from: Vec<&str> = CASES
        .iter()
        .filter(|c| c.action == action)
        .map(|c| c.from)
        .collect();
    [
        "draft",
        "in_review",
        "changes_requested",
        "approved",
        "published",
        "retired",
        "withdrawn",
    ]
    .into_iter()
    .filter(|s| !from.contains(s))
    .collect()
}

#[tokio::test]
async fn the_transition_table_holds_for_every_role_with_history_and_events_only_for_accepted_ones()
{
    let (app, _c, t, x1) = arrange().await;
    // Every role appears in the draft rows of the table.
    for who in EVERYONE {
        assert!(CASES[0].outcomes.iter().any(|(w, _)| *w == who), "{who:?}");
    }
    for case in CASES {
        for (who, expected) in case.outcomes {
            set_state(&app.db, x1, case.from).await;
            let before = version_row(&app.db, "cuv-x1").await;
            let counts_before = counts(&app.db).await;
            let events_before = event_count(&app.db).await;
            let history_before = history(&app.db, x1).await.len();
            let mut input = input_for(case.action);
            input["expectedVersion"] = json!(before.version);
            let r = call(&app, t.of(*who), case.action, input).await;
            let got = outcome(&r, case.action);
            assert_eq!(
                got,
                *expected,
                "{} from {} by {who:?}: {:?}",
                case.action,
                case.from,
                r.data()
            );
            let after = version_row(&app.db, "cuv-x1").await;
            if got == "OK" {
                assert_eq!(after.state, case.to);
                assert_eq!(after.version, before.version + 1);
                assert_eq!(
                    version_of(&r, case.action)["version"],
                    json!(before.version + 1)
                );
                let rows = history(&app.db, x1).await;
                assert_eq!(rows.len(), history_before + 1);
                assert_eq!(
                    rows.last().map(|(f, to, _)| (f.clone(), to.clone())),
                    Some((Some(case.from.to_owned()), case.to.to_owned()))
                );
                let events = events_since(&app.db, events_before).await;
                assert!(events.contains(&(
                    "CurriculumUnitVersion".into(),
                    "cuv-x1".into(),
                    "update".into()
                )));
            } else {
                assert_eq!(after, before, "{} by {who:?} changed the row", case.action);
                assert_eq!(
                    counts(&app.db).await,
                    counts_before,
                    "{} by {who:?} wrote",
                    case.action
                );
            }
        }
        // From any other state: INVALID_TRANSITION for the admin, and nothing written.
        for state in other_states(case.action) {
            set_state(&app.db, x1, state).await;
            let counts_before = counts(&app.db).await;
            let r = call(&app, Some(&t.admin), case.action, input_for(case.action)).await;
            assert_eq!(
                outcome(&r, case.action),
                "INVALID_TRANSITION",
                "{} from {state}",
                case.action
            );
            assert_eq!(counts(&app.db).await, counts_before);
        }
    }
}

#[tokio::test]
async fn reviews_are_written_by_request_changes_and_approve_and_need_a_person() {
    let (app, c, t, x1) = arrange().await;
    set_state(&app.db, x1, "in_review").await;
    let before = event_count(&app.db).await;
    let r = call(
        &app,
        Some(&t.reviewer),
        "requestCurriculumUnitVersionChanges",
        json!({ "id": "cuv-x1", "comments": "Add an assessment rubric" }),
    )
    .await;
    assert_eq!(outcome(&r, "requestCurriculumUnitVersionChanges"), "OK");
    let reviews = unit_review::Entity::find()
        .filter(unit_review::Column::UnitVersionId.eq(x1))
        .all(&app.db)
        .await
        .expect("reviews");
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].reviewer_id, c.reviewer.id);
    assert_eq!(reviews[0].decision, "requestChanges");
    assert_eq!(
        reviews[0].comments.as_deref(),
        Some("Add an assessment rubric")
    );
    let mut kinds: Vec<String> = events_since(&app.db, before)
        .await
        .into_iter()
        .map(|e| e.0)
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec!["CurriculumUnitVersion".to_owned(), "UnitReview".to_owned()]
    );

    // Blank comments are refused.
    set_state(&app.db, x1, "in_review").await;
    let snapshot = counts(&app.db).await;
    let r = call(
        &app,
        Some(&t.lead),
        "requestCurriculumUnitVersionChanges",
        json!({ "id": "cuv-x1", "comments": " " }),
    )
    .await;
    assert_eq!(
        outcome(&r, "requestCurriculumUnitVersionChanges"),
        "BAD_USER_INPUT"
    );
    assert_eq!(counts(&app.db).await, snapshot);

    // Approval: the lead's approve review and an approver contribution, once.
    let r = call(
        &app,
        Some(&t.lead),
        "approveCurriculumUnitVersion",
        json!({ "id": "cuv-x1" }),
    )
    .await;
    assert_eq!(outcome(&r, "approveCurriculumUnitVersion"), "OK");
    set_state(&app.db, x1, "in_review").await;
    let r = call(
        &app,
        Some(&t.lead),
        "approveCurriculumUnitVersion",
        json!({ "id": "cuv-x1", "comments": "Again" }),
    )
    .await;
    assert_eq!(outcome(&r, "approveCurriculumUnitVersion"), "OK");
    let approvals = unit_review::Entity::find()
        .filter(unit_review::Column::UnitVersionId.eq(x1))
        .filter(unit_review::Column::Decision.eq("approve"))
        .all(&app.db)
        .await
        .expect("reviews");
    assert_eq!(approvals.len(), 2);
    assert!(approvals.iter().all(|a| a.reviewer_id == c.p.lead.id));
    let approvers = unit_contributor::Entity::find()
        .filter(unit_contributor::Column::UnitVersionId.eq(x1))
        .filter(unit_contributor::Column::ContributionRole.eq("approver"))
        .all(&app.db)
        .await
        .expect("contributors");
    assert_eq!(approvers.len(), 1);
    assert_eq!(
        (approvers[0].person_id, approvers[0].org_id),
        (c.p.lead.id, c.w.unit.id)
    );

    // A principal without a Person (a programme office client) reviews nothing.
    set_state(&app.db, x1, "in_review").await;
    let (office_client, _) = client_token(&app, OFFICE, "curriculum.write").await;
    let snapshot = counts(&app.db).await;
    let r = call(
        &app,
        Some(&office_client),
        "requestCurriculumUnitVersionChanges",
        json!({ "id": "cuv-x1", "comments": "x" }),
    )
    .await;
    assert_eq!(r.error_code(), Some("FORBIDDEN"));
    assert_eq!(counts(&app.db).await, snapshot);
}

#[tokio::test]
async fn submitting_needs_a_title_and_a_learning_outcome() {
    let (app, _c, t, x1) = arrange().await;
    let r = call(
        &app,
        Some(&t.coordinator_x),
        "updateCurriculumUnitVersion",
        json!({ "id": "cuv-x1", "learningOutcomes": [] }),
    )
    .await;
    assert_eq!(outcome(&r, "updateCurriculumUnitVersion"), "OK");
    let snapshot = (counts(&app.db).await, version_row(&app.db, "cuv-x1").await);
    let r = call(
        &app,
        Some(&t.coordinator_x),
        "submitCurriculumUnitVersion",
        json!({ "id": "cuv-x1" }),
    )
    .await;
    assert_eq!(
        outcome(&r, "submitCurriculumUnitVersion"),
        "INVALID_TRANSITION"
    );
    let message = r.data()["submitCurriculumUnitVersion"]["userErrors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("learning outcome"), "{message}");
    assert_eq!(
        (counts(&app.db).await, version_row(&app.db, "cuv-x1").await),
        snapshot
    );
    assert_eq!(history(&app.db, x1).await.len(), 1);
}

#[tokio::test]
async fn publishing_retires_the_previous_published_version_and_seals_the_content() {
    let (app, _c, t, x1) = arrange().await;
    add_unit_skill(&app.db, x1, "SK-A", "assessed").await;
    set_state(&app.db, x1, "approved").await;
    let r = call(
        &app,
        Some(&t.lead),
        "publishCurriculumUnitVersion",
        json!({ "id": "cuv-x1" }),
    )
    .await;
    assert_eq!(outcome(&r, "publishCurriculumUnitVersion"), "OK");
    let v1 = version_of(&r, "publishCurriculumUnitVersion");
    let hash1 = v1["contentHash"].as_str().unwrap_or_default().to_owned();
    assert_eq!(hash1.len(), 64);
    assert!(hash1.chars().all(|ch| ch.is_ascii_hexdigit()));
    assert!(v1["publishedAt"].is_string());
    let stored = version_row(&app.db, "cuv-x1").await;
    assert_eq!(stored.content_hash.as_deref(), Some(hash1.as_str()));
    assert!(stored.published_at.is_some());

    // Version 2: same content but another title → another hash; publishing retires v1.
    let r = call(
        &app,
        Some(&t.lead),
        "createCurriculumUnitVersion",
        json!({ "unit": "cu-x", "sourcedId": "cuv-x2", "title": "Second" }),
    )
    .await;
    assert_eq!(outcome(&r, "createCurriculumUnitVersion"), "OK");
    let x2 = version_row(&app.db, "cuv-x2").await.id;
    set_state(&app.db, x2, "approved").await;
    let before = event_count(&app.db).await;
    let r = call(
        &app,
        Some(&t.lead),
        "publishCurriculumUnitVersion",
        json!({ "id": "cuv-x2", "reason": "new term" }),
    )
    .await;
    assert_eq!(
        outcome(&r, "publishCurriculumUnitVersion"),
        "OK",
        "{:?}",
        r.data()
    );
    let v2 = version_of(&r, "publishCurriculumUnitVersion");
    assert_eq!(v2["state"], "PUBLISHED");
    assert_ne!(v2["contentHash"].as_str().unwrap_or_default(), hash1);
    assert_eq!(version_row(&app.db, "cuv-x1").await.state, "retired");
    let h1 = history(&app.db, x1).await;
    assert_eq!(
        h1.last().cloned(),
        Some((
            Some("published".into()),
            "retired".into(),
            Some("superseded by version 2".into())
        ))
    );
    assert_eq!(
        history(&app.db, x2).await.last().cloned(),
        Some((
            Some("approved".into()),
            "published".into(),
            Some("new term".into())
        ))
    );
    assert_eq!(
        events_since(&app.db, before).await,
        vec![
            (
                "CurriculumUnitVersion".into(),
                "cuv-x1".into(),
                "update".into()
            ),
            (
                "CurriculumUnitVersion".into(),
                "cuv-x2".into(),
                "update".into()
            ),
        ]
    );
}

#[tokio::test]
async fn a_unit_requiring_external_approval_publishes_only_with_a_reference() {
    let app = spawn_app().await;
    let c = cast(&app).await;
    let t = Tokens::new(&app, &c).await;
    create_unit(&app, &c, &t, "cu-e", "UE", UNIT, true).await;
    let r = create_version(&app, &t.lead, "cu-e", "cuv-e1").await;
    assert_eq!(outcome(&r, "createCurriculumUnitVersion"), "OK");
    let e1 = version_row(&app.db, "cuv-e1").await.id;
    set_state(&app.db, e1, "approved").await;
    let snapshot = (counts(&app.db).await, version_row(&app.db, "cuv-e1").await);
    for reference in [Value::Null, json!("  ")] {
        let r = call(
            &app,
            Some(&t.lead),
            "publishCurriculumUnitVersion",
            json!({ "id": "cuv-e1", "externalApprovalRef": reference }),
        )
        .await;
        assert_eq!(
            outcome(&r, "publishCurriculumUnitVersion"),
            "INVALID_TRANSITION"
        );
    }
    assert_eq!(
        (counts(&app.db).await, version_row(&app.db, "cuv-e1").await),
        snapshot
    );
    let r = call(
        &app,
        Some(&t.lead),
        "publishCurriculumUnitVersion",
        json!({ "id": "cuv-e1", "externalApprovalRef": "EDB/ApL/2026/7" }),
    )
    .await;
    assert_eq!(outcome(&r, "publishCurriculumUnitVersion"), "OK");
    assert_eq!(
        version_of(&r, "publishCurriculumUnitVersion")["externalApprovalRef"],
        "EDB/ApL/2026/7"
    );

    // A reference already set during editing suffices.
    let r = call(
        &app,
        Some(&t.lead),
        "createCurriculumUnitVersion",
        json!({ "unit": "cu-e", "sourcedId": "cuv-e2" }),
    )
    .await;
    assert_eq!(outcome(&r, "createCurriculumUnitVersion"), "OK");
    let r = call(
        &app,
        Some(&t.lead),
        "updateCurriculumUnitVersion",
        json!({ "id": "cuv-e2", "externalApprovalRef": "EDB-8" }),
    )
    .await;
    assert_eq!(outcome(&r, "updateCurriculumUnitVersion"), "OK");
    let e2 = version_row(&app.db, "cuv-e2").await.id;
    set_state(&app.db, e2, "approved").await;
    let r = call(
        &app,
        Some(&t.lead),
        "publishCurriculumUnitVersion",
        json!({ "id": "cuv-e2" }),
    )
    .await;
    assert_eq!(outcome(&r, "publishCurriculumUnitVersion"), "OK");
}

#[tokio::test]
async fn a_stale_expected_version_is_a_conflict_for_every_transition_and_writes_nothing() {
    let (app, _c, t, x1) = arrange().await;
    for case in CASES.iter().filter(|c| c.from != "changes_requested") {
        set_state(&app.db, x1, case.from).await;
        let snapshot = (counts(&app.db).await, version_row(&app.db, "cuv-x1").await);
        let mut input = input_for(case.action);
        input["expectedVersion"] = json!(snapshot.1.version + 5);
        let r = call(&app, Some(&t.admin), case.action, input).await;
        assert_eq!(
            outcome(&r, case.action),
            "VERSION_CONFLICT",
            "{}",
            case.action
        );
        assert_eq!(
            (counts(&app.db).await, version_row(&app.db, "cuv-x1").await),
            snapshot
        );
    }
}

// ---------------------------------------------------------------- reading the slots

fn units_query(first: usize, slots: bool) -> String {
    let fields = if slots {
        "publishedVersion { sourcedId } workingVersion { sourcedId }"
    } else {
        ""
    };
    format!(
        "{{ curriculumUnits(first: {first}, orderBy: [{{ field: CODE }}]) {{ edges {{ node {{ code {fields} }} }} }} }}"
    )
}

#[tokio::test]
async fn published_and_working_versions_of_a_page_of_units_cost_one_statement() {
    let app = spawn_app().await;
    let c = cast(&app).await;
    let t = Tokens::new(&app, &c).await;
    for n in 0..6 {
        let unit = format!("cu-{n}");
        create_unit(&app, &c, &t, &unit, &format!("U{n}"), UNIT, false).await;
        let v1 = format!("cuv-{n}-1");
        let r = create_version(&app, &t.staff, &unit, &v1).await;
        assert_eq!(outcome(&r, "createCurriculumUnitVersion"), "OK");
        let id = version_row(&app.db, &v1).await.id;
        set_state(&app.db, id, "published").await;
        if n % 2 == 0 {
            let r = create_version(&app, &t.staff, &unit, &format!("cuv-{n}-2")).await;
            assert_eq!(outcome(&r, "createCurriculumUnitVersion"), "OK");
        }
    }
    let read = app
        .gql(&units_query(6, true), json!({}), Some(&t.staff))
        .await;
    let edges = read.data()["curriculumUnits"]["edges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(edges.len(), 6);
    for (n, edge) in edges.iter().enumerate() {
        assert_eq!(
            edge["node"]["publishedVersion"]["sourcedId"],
            format!("cuv-{n}-1")
        );
        if n % 2 == 0 {
            assert_eq!(
                edge["node"]["workingVersion"]["sourcedId"],
                format!("cuv-{n}-2")
            );
        } else {
            assert_eq!(edge["node"]["workingVersion"], Value::Null);
        }
    }

    let one = app
        .statements_for(&units_query(1, true), json!({}), &t.staff)
        .await;
    let six = app
        .statements_for(&units_query(6, true), json!({}), &t.staff)
        .await;
    let bare = app
        .statements_for(&units_query(6, false), json!({}), &t.staff)
        .await;
    assert_eq!(
        one, six,
        "statements grew with the page: {one} for 1 unit, {six} for 6"
    );
    assert_eq!(
        six,
        bare + 1,
        "both slots of six units: {six} statements, {bare} without them"
    );
}
