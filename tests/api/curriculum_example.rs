//! The worked example of `docs/curriculum.md` ("a partner co-develops a unit"), step by step,
//! through HTTP on the demo data, with the page's documents and sourcedIds: if this test passes,
//! the page is true.

use integration_tests::{GqlResponse, TestApp, spawn_app};
use serde_json::{Value, json};

const LEAD: &str = "stf-hkbu-comm-lead-1";
const LEAD_ORG: &str = "org-hkbu-comm";
const IBM: &str = "stf-partner-ibm-coord-1";
const IBM_ORG: &str = "org-partner-ibm";

/// What came of a mutation: `OK`, its first user error code, or the top-level error code.
fn outcome(response: &GqlResponse, name: &str) -> String {
    if let Some(code) = response.error_code() {
        return code.to_owned();
    }
    response.data()[name]["userErrors"][0]["code"]
        .as_str()
        .unwrap_or("OK")
        .to_owned()
}

/// Runs a mutation of the page and checks it succeeded; returns its payload.
async fn ok(app: &TestApp, token: &str, name: &str, document: &str) -> Value {
    let response = app.gql(document, json!({}), Some(token)).await;
    assert_eq!(outcome(&response, name), "OK", "{name}: {}", response.body);
    response.data()[name].clone()
}

/// Step 6 of the page (all time; `session:` narrows it to a school year).
const CONTRIBUTIONS: &str = r#"{ curriculumContributions(organization: "org-partner-ibm") {
    contributors versions versionsApproved hours byRole { role contributors versions hours } } }"#;

/// `(versions, versionsApproved, hours, coDeveloper versions, author versions)` of IBM's
/// contributions.
async fn ibm_figures(app: &TestApp, token: &str) -> (i64, i64, f64, i64, i64) {
    let response = app.gql(CONTRIBUTIONS, json!({}), Some(token)).await;
    let c = &response.data()["curriculumContributions"];
    let role = |name: &str| {
        c["byRole"]
            .as_array()
            .expect("byRole")
            .iter()
            .find(|r| r["role"] == name)
            .and_then(|r| r["versions"].as_i64())
            .unwrap_or(0)
    };
    (
        c["versions"].as_i64().expect("versions"),
        c["versionsApproved"].as_i64().expect("versionsApproved"),
        c["hours"].as_f64().expect("hours"),
        role("CO_DEVELOPER"),
        role("AUTHOR"),
    )
}

async fn node_state(app: &TestApp, token: &str, id: &str) -> Value {
    let response = app
        .gql(
            "query($id: ID!) { node(id: $id) { ... on CurriculumUnitVersion { state } } }",
            json!({ "id": id }),
            Some(token),
        )
        .await;
    response.data()["node"].clone()
}

#[tokio::test]
async fn the_worked_example_in_docs_curriculum_md_runs_against_the_demo_data() {
    // Arrange: the demo data and the page's two tokens.
    let app = spawn_app().await;
    api::demo::seed(&app.db, 1).await.expect("seed the demo");
    let lead = app.token_for(LEAD, &["academicLead"], LEAD_ORG);
    let ibm = app.token_for(IBM, &["partnerCoordinator"], IBM_ORG);
    let before = ibm_figures(&app, &ibm).await;

    // Step 1: the lead creates the unit and its first draft, and invites the partner.
    let unit = ok(
        &app,
        &lead,
        "createCurriculumUnit",
        r#"mutation {
  createCurriculumUnit(input: {
    sourcedId: "unit-mmst-ssg-2", course: "course-apl-mmst", code: "SSG-2",
    title: "Storytelling for Social Good: community media", unitKind: PROJECT, owningOrg: "org-hkbu-comm"
  }) { curriculumUnit { id } userErrors { field code message } }
}"#,
    )
    .await;
    let unit_id = unit["curriculumUnit"]["id"]
        .as_str()
        .expect("unit id")
        .to_owned();
    let v1 = ok(
        &app,
        &lead,
        "createCurriculumUnitVersion",
        r#"mutation {
  createCurriculumUnitVersion(input: {
    unit: "unit-mmst-ssg-2", sourcedId: "unit-mmst-ssg-2-v1", title: "Community media project"
  }) {
    curriculumUnitVersion { id versionNumber state version } userErrors { code message }
  }
}"#,
    )
    .await;
    let v1 = &v1["curriculumUnitVersion"];
    assert_eq!(v1["versionNumber"], 1);
    assert_eq!(v1["state"], "DRAFT");
    assert_eq!(v1["version"], 1);
    let v1_id = v1["id"].as_str().expect("version id").to_owned();
    assert_eq!(node_state(&app, &ibm, &v1_id).await, Value::Null);
    ok(
        &app,
        &lead,
        "addUnitContributor",
        r#"mutation {
  addUnitContributor(input: {
    unitVersion: "unit-mmst-ssg-2-v1", person: "stf-partner-ibm-coord-1", org: "org-partner-ibm",
    contributionRole: CO_DEVELOPER, hoursContributed: 6
  }) { unitContributor { id } userErrors { code message } }
}"#,
    )
    .await;
    assert_eq!(
        node_state(&app, &ibm, &v1_id).await,
        json!({ "state": "DRAFT" })
    );

    // Step 2: the partner writes the content and maps the skills.
    let updated = ok(
        &app,
        &ibm,
        "updateCurriculumUnitVersion",
        r#"mutation {
  updateCurriculumUnitVersion(input: {
    id: "unit-mmst-ssg-2-v1", expectedVersion: 1,
    summary: "Students plan, shoot and publish a short documentary with a local NGO.",
    hours: 24,
    learningOutcomes: ["Plan a documentary for a client", "Edit for social platforms"],
    resources: [{ title: "NGO brief template", url: "https://example.org/brief" }]
  }) { curriculumUnitVersion { version } userErrors { field code message } }
}"#,
    )
    .await;
    assert_eq!(updated["curriculumUnitVersion"]["version"], 2);
    let skills = ok(
        &app,
        &ibm,
        "setCurriculumUnitVersionSkills",
        r#"mutation {
  setCurriculumUnitVersionSkills(input: {
    id: "unit-mmst-ssg-2-v1", expectedVersion: 2,
    skills: [{ skill: "skill-cre-story", coverage: APPLIED }, { skill: "skill-cre-video", coverage: DEVELOPED }]
  }) { curriculumUnitVersion { version skills { edges { node { skill { code } coverage } } } } userErrors { code message } }
}"#,
    )
    .await;
    let mut mapped: Vec<(String, String)> = skills["curriculumUnitVersion"]["skills"]["edges"]
        .as_array()
        .expect("skills")
        .iter()
        .map(|e| {
            (
                e["node"]["skill"]["code"]
                    .as_str()
                    .expect("code")
                    .to_owned(),
                e["node"]["coverage"].as_str().expect("coverage").to_owned(),
            )
        })
        .collect();
    mapped.sort();
    assert_eq!(
        mapped,
        [
            ("CRE-STORY".to_owned(), "APPLIED".to_owned()),
            ("CRE-VIDEO".to_owned(), "DEVELOPED".to_owned())
        ]
    );
    // A stale expectedVersion is VERSION_CONFLICT.
    let stale = app
        .gql(
            r#"mutation { updateCurriculumUnitVersion(input: { id: "unit-mmst-ssg-2-v1", expectedVersion: 1, hours: 30 }) {
                 curriculumUnitVersion { version } userErrors { field code message } } }"#,
            json!({}),
            Some(&ibm),
        )
        .await;
    assert_eq!(
        outcome(&stale, "updateCurriculumUnitVersion"),
        "VERSION_CONFLICT"
    );

    // Step 3: the lead (the author) submits; the lead asks for changes; the partner edits and
    // submits again.
    let submitted = ok(
        &app,
        &lead,
        "submitCurriculumUnitVersion",
        r#"mutation { submitCurriculumUnitVersion(input: { id: "unit-mmst-ssg-2-v1" }) { curriculumUnitVersion { state } userErrors { code message } } }"#,
    )
    .await;
    assert_eq!(submitted["curriculumUnitVersion"]["state"], "IN_REVIEW");
    let changes = ok(
        &app,
        &lead,
        "requestCurriculumUnitVersionChanges",
        r#"mutation {
  requestCurriculumUnitVersionChanges(input: { id: "unit-mmst-ssg-2-v1", comments: "Add an assessed outcome." }) {
    curriculumUnitVersion { state reviews { edges { node { decision comments reviewer { id } } } } }
    userErrors { code message }
  }
}"#,
    )
    .await;
    let version = &changes["curriculumUnitVersion"];
    assert_eq!(version["state"], "CHANGES_REQUESTED");
    let review = &version["reviews"]["edges"][0]["node"];
    assert_eq!(review["decision"], "REQUEST_CHANGES");
    assert_eq!(review["comments"], "Add an assessed outcome.");
    assert!(review["reviewer"]["id"].is_string());
    ok(
        &app,
        &ibm,
        "updateCurriculumUnitVersion",
        r#"mutation {
  updateCurriculumUnitVersion(input: {
    id: "unit-mmst-ssg-2-v1",
    learningOutcomes: ["Plan a documentary for a client", "Edit for social platforms", "Measure the film's reach with the NGO"]
  }) { curriculumUnitVersion { version } userErrors { field code message } }
}"#,
    )
    .await;
    let resubmitted = ok(
        &app,
        &ibm,
        "submitCurriculumUnitVersion",
        r#"mutation { submitCurriculumUnitVersion(input: { id: "unit-mmst-ssg-2-v1" }) { curriculumUnitVersion { state } userErrors { code message } } }"#,
    )
    .await;
    assert_eq!(resubmitted["curriculumUnitVersion"]["state"], "IN_REVIEW");

    // Step 4: IBM may not approve; the lead approves and publishes.
    const APPROVE_V1: &str = r#"mutation { approveCurriculumUnitVersion(input: { id: "unit-mmst-ssg-2-v1", comments: "Ready." }) { curriculumUnitVersion { state } userErrors { code message } } }"#;
    let refused = app.gql(APPROVE_V1, json!({}), Some(&ibm)).await;
    assert_eq!(
        outcome(&refused, "approveCurriculumUnitVersion"),
        "FORBIDDEN"
    );
    let approved = ok(&app, &lead, "approveCurriculumUnitVersion", APPROVE_V1).await;
    assert_eq!(approved["curriculumUnitVersion"]["state"], "APPROVED");
    let published = ok(
        &app,
        &lead,
        "publishCurriculumUnitVersion",
        r#"mutation { publishCurriculumUnitVersion(input: { id: "unit-mmst-ssg-2-v1" }) { curriculumUnitVersion { state publishedAt contentHash } userErrors { code message } } }"#,
    )
    .await;
    let version = &published["curriculumUnitVersion"];
    assert_eq!(version["state"], "PUBLISHED");
    assert!(version["publishedAt"].is_string());
    assert_eq!(version["contentHash"].as_str().map(str::len), Some(64));
    // Published is public: read without a token.
    let public = app
        .gql(
            "query($id: ID!) { node(id: $id) { ... on CurriculumUnitVersion { state } } }",
            json!({ "id": v1_id }),
            None,
        )
        .await;
    assert_eq!(public.data()["node"]["state"], "PUBLISHED");

    // Step 5: IBM, a contributor of the latest version, starts version 2: a draft copy.
    let v2 = ok(
        &app,
        &ibm,
        "createCurriculumUnitVersion",
        r#"mutation {
  createCurriculumUnitVersion(input: { unit: "unit-mmst-ssg-2", sourcedId: "unit-mmst-ssg-2-v2" }) {
    curriculumUnitVersion { id versionNumber state title skills { totalCount } contributors { totalCount } }
    userErrors { code message }
  }
}"#,
    )
    .await;
    let v2 = &v2["curriculumUnitVersion"];
    assert_eq!(v2["versionNumber"], 2);
    assert_eq!(v2["state"], "DRAFT");
    assert_eq!(v2["title"], "Community media project");
    assert_eq!(v2["skills"]["totalCount"], 2);
    ok(
        &app,
        &ibm,
        "updateCurriculumUnitVersion",
        r#"mutation {
  updateCurriculumUnitVersion(input: { id: "unit-mmst-ssg-2-v2", title: "Community media project (2026)", hours: 30 }) {
    curriculumUnitVersion { version } userErrors { field code message }
  }
}"#,
    )
    .await;
    ok(
        &app,
        &ibm,
        "setCurriculumUnitVersionSkills",
        r#"mutation {
  setCurriculumUnitVersionSkills(input: {
    id: "unit-mmst-ssg-2-v2",
    skills: [{ skill: "skill-cre-story", coverage: APPLIED }, { skill: "skill-cre-video", coverage: ASSESSED }]
  }) { curriculumUnitVersion { version } userErrors { code message } }
}"#,
    )
    .await;
    let compare = app
        .gql(
            r#"query($unit: ID!) {
  node(id: $unit) {
    ... on CurriculumUnit {
      compare(from: "unit-mmst-ssg-2-v1", to: "unit-mmst-ssg-2-v2") {
        changed
        fields { field before after }
        learningOutcomes { added removed }
        skills { skill { code } before after change }
      }
    }
  }
}"#,
            json!({ "unit": unit_id }),
            Some(&ibm),
        )
        .await;
    let diff = &compare.data()["node"]["compare"];
    assert_eq!(diff["changed"], true);
    let mut fields: Vec<Value> = diff["fields"].as_array().expect("fields").clone();
    fields.sort_by_key(|f| f["field"].as_str().unwrap_or_default().to_owned());
    assert_eq!(
        fields,
        [
            json!({ "field": "hours", "before": 24.0, "after": 30.0 }),
            json!({ "field": "title", "before": "Community media project",
                    "after": "Community media project (2026)" }),
        ]
    );
    assert_eq!(
        diff["learningOutcomes"],
        json!({ "added": [], "removed": [] })
    );
    assert_eq!(
        diff["skills"],
        json!([{ "skill": { "code": "CRE-VIDEO" }, "before": "DEVELOPED", "after": "ASSESSED",
                 "change": "CHANGED" }])
    );

    // Publishing version 2 retires version 1.
    ok(
        &app,
        &ibm,
        "submitCurriculumUnitVersion",
        r#"mutation { submitCurriculumUnitVersion(input: { id: "unit-mmst-ssg-2-v2" }) { curriculumUnitVersion { state } userErrors { code message } } }"#,
    )
    .await;
    ok(
        &app,
        &lead,
        "approveCurriculumUnitVersion",
        r#"mutation { approveCurriculumUnitVersion(input: { id: "unit-mmst-ssg-2-v2", comments: "Ready." }) { curriculumUnitVersion { state } userErrors { code message } } }"#,
    )
    .await;
    ok(
        &app,
        &lead,
        "publishCurriculumUnitVersion",
        r#"mutation { publishCurriculumUnitVersion(input: { id: "unit-mmst-ssg-2-v2" }) { curriculumUnitVersion { state publishedAt contentHash } userErrors { code message } } }"#,
    )
    .await;
    let retired = app
        .gql(
            "query($id: ID!) { node(id: $id) { ... on CurriculumUnitVersion { state statusHistory { toState reason } } } }",
            json!({ "id": v1_id }),
            None,
        )
        .await;
    let retired = &retired.data()["node"];
    assert_eq!(retired["state"], "RETIRED");
    let last = retired["statusHistory"]
        .as_array()
        .and_then(|h| h.last())
        .cloned()
        .expect("history");
    assert_eq!(last["toState"], "retired");
    assert_eq!(last["reason"], "superseded by version 2", "{last}");

    // Step 6: IBM's contributions count both versions, both approvals and the 6 hours.
    let after = ibm_figures(&app, &ibm).await;
    assert_eq!(after.0 - before.0, 2, "versions {before:?} → {after:?}");
    assert_eq!(after.1 - before.1, 2, "approved {before:?} → {after:?}");
    assert!(
        (after.2 - before.2 - 6.0).abs() < 1e-9,
        "hours {before:?} → {after:?}"
    );
    assert_eq!(after.3 - before.3, 2, "coDeveloper {before:?} → {after:?}");
    assert_eq!(after.4 - before.4, 1, "author {before:?} → {after:?}");
    let with_session = app
        .gql(
            r#"{ curriculumContributions(organization: "org-partner-ibm", session: "session-2025-26") {
    contributors versions versionsApproved hours byRole { role contributors versions hours } } }"#,
            json!({}),
            Some(&ibm),
        )
        .await;
    assert!(with_session.data()["curriculumContributions"]["versions"].is_i64());
}
