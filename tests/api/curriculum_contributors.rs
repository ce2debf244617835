//! Contributors, reviews, unit skills, version comparison and contribution figures of
//! curriculum unit versions (DOMAIN.md area C), on units and versions arranged in the database.

use chrono::{Duration, Utc};
use entity::{change_event, status_history, unit_contributor, unit_review, unit_skill};
use integration_tests::curriculum::{CurriculumPeople, seed_curriculum_people, token_of};
use integration_tests::curriculum_rows::*;
use integration_tests::fixtures::{
    OFFICE, PARTNER_X, PARTNER_Y, Ref, SCHOOL_A, UNIT, World, seed_world, tombstone,
};
use integration_tests::{GqlResponse, TestApp, spawn_app};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

const ADD: &str = "mutation($input: AddUnitContributorInput!) {
  addUnitContributor(input: $input) {
    unitContributor { sourcedId version contributionRole hoursContributed
      person { sourcedId } org { sourcedId } unitVersion { sourcedId } }
    userErrors { field code message }
  }
}";

const UPDATE: &str = "mutation($input: UpdateUnitContributorInput!) {
  updateUnitContributor(input: $input) {
    unitContributor { sourcedId version hoursContributed metadata }
    userErrors { field code message }
  }
}";

const REMOVE: &str = "mutation($input: RemoveUnitContributorInput!) {
  removeUnitContributor(input: $input) {
    unitContributor { sourcedId version status }
    userErrors { field code message }
  }
}";

const REVIEW: &str = "mutation($input: ReviewCurriculumUnitVersionInput!) {
  reviewCurriculumUnitVersion(input: $input) {
    unitReview { sourcedId decision comments reviewer { sourcedId }
      unitVersion { sourcedId state } }
    userErrors { field code message }
  }
}";

const SET_SKILLS: &str = "mutation($input: SetCurriculumUnitVersionSkillsInput!) {
  setCurriculumUnitVersionSkills(input: $input) {
    curriculumUnitVersion { sourcedId version
      skills { nodes { skill { sourcedId } coverage } } }
    userErrors { field code message }
  }
}";

const READ_VERSION: &str = "query($id: ID!) {
  node(id: $id) { ... on CurriculumUnitVersion { sourcedId state } }
}";

/// The arranged curriculum:
/// - unit `u` (owned by `org-unit`): `u-v1` published, `u-v2` draft with `teacher_a` (school A)
///   as author and `mentor_x` (partner X) as subject expert;
/// - unit `v`: `v-v1` draft with `coordinator_y` (partner Y) as author;
/// - unit `w`: `w-v1` in review with `teacher_a` as author;
/// - unit `z`: `z-v1` approved and `z-v0` withdrawn, `mentor_x` a co-developer of both.
struct Setup {
    app: TestApp,
    w: World,
    p: CurriculumPeople,
    partner_x: Ref,
    partner_y: Ref,
    school_a: Ref,
    u: Ref,
    u_v1: Ref,
    u_v2: Ref,
    v_v1: Ref,
    w_v1: Ref,
    z_v1: Ref,
    z_v0: Ref,
    author_row: Ref,
    expert_row: Ref,
    z_row: Ref,
    z0_row: Ref,
}

fn org_ref(r: &Ref) -> Ref {
    Ref {
        id: r.id,
        sourced_id: r.sourced_id.clone(),
        type_name: "Organization",
    }
}

async fn setup() -> Setup {
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let p = seed_curriculum_people(&app.db, &w).await;
    let db = &app.db;
    let partner_x = org_ref(&w.partners[0]);
    let partner_y = org_ref(&w.partners[1]);
    let school_a = org_ref(&w.schools[0]);
    let owner = org_ref(&w.unit);
    let u = add_unit(db, "u", &w.course_apl, &owner).await;
    let v = add_unit(db, "v", &w.course_apl, &owner).await;
    let wu = add_unit(db, "w", &w.course_apl, &owner).await;
    let z = add_unit(db, "z", &w.course_apl, &owner).await;
    let content = Content::default();
    let u_v1 = add_version(db, "u-v1", &u, 1, "published", &content).await;
    let u_v2 = add_version(db, "u-v2", &u, 2, "draft", &content).await;
    let v_v1 = add_version(db, "v-v1", &v, 1, "draft", &content).await;
    let w_v1 = add_version(db, "w-v1", &wu, 1, "in_review", &content).await;
    let z_v0 = add_version(db, "z-v0", &z, 1, "withdrawn", &content).await;
    let z_v1 = add_version(db, "z-v1", &z, 2, "approved", &content).await;
    let author_row = add_contributor(
        db,
        "uc-author",
        &u_v2,
        &p.teacher_a,
        &school_a,
        "author",
        None,
    )
    .await;
    let expert_row = add_contributor(
        db,
        "uc-expert",
        &u_v2,
        &p.mentor_x,
        &partner_x,
        "subjectExpert",
        Some(2.0),
    )
    .await;
    add_contributor(
        db,
        "uc-v-author",
        &v_v1,
        &p.coordinator_y,
        &partner_y,
        "author",
        None,
    )
    .await;
    add_contributor(
        db,
        "uc-w-author",
        &w_v1,
        &p.teacher_a,
        &school_a,
        "author",
        None,
    )
    .await;
    let z_row = add_contributor(
        db,
        "uc-z",
        &z_v1,
        &p.mentor_x,
        &partner_x,
        "coDeveloper",
        Some(1.0),
    )
    .await;
    let z0_row = add_contributor(
        db,
        "uc-z0",
        &z_v0,
        &p.mentor_x,
        &partner_x,
        "coDeveloper",
        Some(1.0),
    )
    .await;
    Setup {
        app,
        w,
        p,
        partner_x,
        partner_y,
        school_a,
        u,
        u_v1,
        u_v2,
        v_v1,
        w_v1,
        z_v1,
        z_v0,
        author_row,
        expert_row,
        z_row,
        z0_row,
    }
}

impl Setup {
    fn staff(&self) -> String {
        token_of(&self.app, &self.p.staff, &["programmeStaff"], OFFICE)
    }
    fn admin(&self) -> String {
        token_of(&self.app, &self.p.admin, &["programmeAdmin"], OFFICE)
    }
    fn lead(&self) -> String {
        token_of(&self.app, &self.p.lead, &["academicLead"], UNIT)
    }
    fn other_lead(&self) -> String {
        token_of(
            &self.app,
            &self.p.other_lead,
            &["academicLead"],
            "org-unit-2",
        )
    }
    fn teacher_a(&self) -> String {
        token_of(&self.app, &self.p.teacher_a, &["teacher"], SCHOOL_A)
    }
    fn school_coordinator_a(&self) -> String {
        token_of(
            &self.app,
            &self.p.school_coordinator_a,
            &["schoolCoordinator"],
            SCHOOL_A,
        )
    }
    fn mentor_x(&self) -> String {
        token_of(&self.app, &self.p.mentor_x, &["mentor"], PARTNER_X)
    }
    fn coordinator_x(&self) -> String {
        token_of(
            &self.app,
            &self.p.coordinator_x,
            &["partnerCoordinator"],
            PARTNER_X,
        )
    }
    fn coordinator_y(&self) -> String {
        token_of(
            &self.app,
            &self.p.coordinator_y,
            &["partnerCoordinator"],
            PARTNER_Y,
        )
    }
    fn mentor_y(&self) -> String {
        token_of(&self.app, &self.p.mentor_y, &["mentor"], PARTNER_Y)
    }

    async fn run(&self, query: &str, input: Value, token: &str) -> GqlResponse {
        self.app
            .gql(query, json!({ "input": input }), Some(token))
            .await
    }

    /// Can the caller read the version?
    async fn reads(&self, version: &Ref, token: &str) -> bool {
        let resp = self
            .app
            .gql(READ_VERSION, json!({ "id": version.gid() }), Some(token))
            .await;
        !resp.data()["node"].is_null()
    }

    /// A fingerprint of everything these mutations write.
    async fn written(&self) -> (u64, u64, u64, u64, Vec<(String, i32)>) {
        let db = &self.app.db;
        let versions = entity::curriculum_unit_version::Entity::find()
            .order_by_asc(entity::curriculum_unit_version::Column::Id)
            .all(db)
            .await
            .expect("versions")
            .into_iter()
            .map(|v| (v.state, v.version))
            .collect();
        (
            change_event::Entity::find()
                .count(db)
                .await
                .expect("events"),
            unit_contributor::Entity::find()
                .filter(unit_contributor::Column::Version.gt(1))
                .count(db)
                .await
                .expect("contributors")
                + 1000
                    * unit_contributor::Entity::find()
                        .count(db)
                        .await
                        .expect("count"),
            unit_review::Entity::find()
                .count(db)
                .await
                .expect("reviews")
                + 1000
                    * status_history::Entity::find()
                        .count(db)
                        .await
                        .expect("history"),
            unit_skill::Entity::find()
                .count(db)
                .await
                .expect("unit skills"),
            versions,
        )
    }

    /// Change events after `seq`, as `(type, sourcedId, operation, version)`.
    async fn events_since(&self, seq: i64) -> Vec<(String, String, String, i32)> {
        change_event::Entity::find()
            .filter(change_event::Column::Seq.gt(seq))
            .order_by_asc(change_event::Column::Seq)
            .all(&self.app.db)
            .await
            .expect("events")
            .into_iter()
            .map(|e| (e.entity_type, e.sourced_id, e.operation, e.version))
            .collect()
    }

    async fn last_seq(&self) -> i64 {
        change_event::Entity::find()
            .order_by_desc(change_event::Column::Seq)
            .one(&self.app.db)
            .await
            .expect("events")
            .map_or(0, |e| e.seq)
    }
}

/// `(code, field)` of the single user error of mutation `name`.
fn user_error(resp: &GqlResponse, name: &str) -> (String, Vec<String>) {
    let errors = resp.data()[name]["userErrors"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(errors.len(), 1, "one user error expected: {}", resp.body);
    let field = errors[0]["field"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    (
        errors[0]["code"].as_str().unwrap_or_default().to_owned(),
        field,
    )
}

fn ok<'a>(resp: &'a GqlResponse, name: &str) -> &'a Value {
    let data = &resp.data()[name];
    assert_eq!(data["userErrors"], json!([]), "{}", resp.body);
    data
}

fn path(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The GraphQL name of a stored camelCase enum value (`coDeveloper` → `CO_DEVELOPER`).
fn enum_name(stored: &str) -> String {
    let mut out = String::new();
    for c in stored.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn add_input(s: &Setup, version: &Ref, person: &Ref, org: &Ref, role: &str) -> Value {
    json!({
        "unitVersion": version.gid(),
        "person": person.gid(),
        "org": org.gid(),
        "contributionRole": enum_name(role),
        "hoursContributed": 3.5,
        "metadata": { "note": s.u.sourced_id },
    })
}

#[tokio::test]
async fn adding_a_contributor_follows_who_may_and_grants_contributor_scope() {
    let s = setup().await;
    let (py, coord_y) = (s.partner_y.clone(), s.p.coordinator_y.clone());
    assert!(!s.reads(&s.u_v2, &s.coordinator_y()).await);

    // A contributor of unit v only cannot tell unit u's draft exists; an outsider neither.
    let input = add_input(&s, &s.u_v2, &coord_y, &py, "coDeveloper");
    for token in [s.coordinator_y(), s.mentor_y()] {
        let resp = s.run(ADD, input.clone(), &token).await;
        assert_eq!(resp.error_code(), Some("NOT_FOUND"), "{}", resp.body);
    }
    // Readers who are neither staff, the owning lead nor an author.
    for token in [s.mentor_x(), s.other_lead(), s.coordinator_x()] {
        let resp = s.run(ADD, input.clone(), &token).await;
        assert_eq!(resp.error_code(), Some("FORBIDDEN"), "{}", resp.body);
    }

    // The author adds partner Y's coordinator: partner Y now reads the working version.
    let seq = s.last_seq().await;
    let resp = s.run(ADD, input.clone(), &s.teacher_a()).await;
    let added = &ok(&resp, "addUnitContributor")["unitContributor"];
    assert_eq!(added["contributionRole"], "CO_DEVELOPER");
    assert_eq!(added["hoursContributed"], 3.5);
    // (The teacher may not read partner Y's people: the row itself names pc-y.)
    assert!(added["person"].is_null());
    assert_eq!(added["org"]["sourcedId"], PARTNER_Y);
    assert_eq!(added["unitVersion"]["sourcedId"], "u-v2");
    let sid = added["sourcedId"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        s.events_since(seq).await,
        vec![(
            "UnitContributor".to_owned(),
            sid.clone(),
            "create".to_owned(),
            1
        )]
    );
    let row = unit_contributor::Entity::find()
        .filter(unit_contributor::Column::SourcedId.eq(sid.as_str()))
        .one(&s.app.db)
        .await
        .ok()
        .flatten()
        .map(|r| (r.person_id, r.org_id, r.version));
    assert_eq!(row, Some((coord_y.id, py.id, 1)));
    assert!(s.reads(&s.u_v2, &s.coordinator_y()).await);
    assert!(s.reads(&s.u_v2, &s.mentor_y()).await, "the org contributes");

    // Staff, admin and the owning lead may add too.
    let more = [
        (s.staff(), s.p.mentor_y.clone(), py.clone(), "reviewer"),
        (
            s.admin(),
            s.p.school_coordinator_a.clone(),
            s.school_a.clone(),
            "reviewer",
        ),
        (
            s.lead(),
            s.p.coordinator_x.clone(),
            s.partner_x.clone(),
            "author",
        ),
    ];
    for (token, person, org, role) in more {
        let resp = s
            .run(ADD, add_input(&s, &s.u_v2, &person, &org, role), &token)
            .await;
        ok(&resp, "addUnitContributor");
    }
    // No token; a client of the contributing partner without `curriculum.write`.
    let resp = s
        .app
        .gql(ADD, json!({ "input": input.clone() }), None)
        .await;
    assert_eq!(resp.error_code(), Some("UNAUTHENTICATED"), "{}", resp.body);
    let (reader, _) = crate::consents::client_token(&s.app, PARTNER_X, "curriculum.read").await;
    let resp = s.run(ADD, input.clone(), &reader).await;
    assert_eq!(resp.error_code(), Some("FORBIDDEN"), "{}", resp.body);
    // An author of unit v adds to v only.
    let resp = s
        .run(
            ADD,
            add_input(&s, &s.v_v1, &s.p.mentor_y, &py, "subjectExpert"),
            &s.coordinator_y(),
        )
        .await;
    ok(&resp, "addUnitContributor");
}

#[tokio::test]
async fn adding_a_contributor_refuses_bad_values_duplicates_and_closed_versions() {
    let s = setup().await;
    let before = s.written().await;
    let staff = s.staff();
    let student = s.w.students_of(0)[0].person.clone();
    let cases: Vec<(Value, &str, Vec<String>)> = vec![
        // A student is not a contributor.
        (
            add_input(&s, &s.u_v2, &student, &s.school_a, "author"),
            "BAD_USER_INPUT",
            path(&["input", "person"]),
        ),
        // The person holds no role at that org.
        (
            add_input(&s, &s.u_v2, &s.p.coordinator_y, &s.partner_x, "author"),
            "BAD_USER_INPUT",
            path(&["input", "person"]),
        ),
        (
            {
                let mut i = add_input(&s, &s.u_v2, &s.p.coordinator_y, &s.partner_y, "author");
                i["hoursContributed"] = json!(2000.5);
                i
            },
            "BAD_USER_INPUT",
            path(&["input", "hoursContributed"]),
        ),
        (
            {
                let mut i = add_input(&s, &s.u_v2, &s.p.coordinator_y, &s.partner_y, "author");
                i["org"] = json!("no-such-org");
                i
            },
            "BAD_USER_INPUT",
            path(&["input", "org"]),
        ),
        // Same person, same role, same version.
        (
            add_input(&s, &s.u_v2, &s.p.teacher_a, &s.school_a, "author"),
            "DUPLICATE",
            vec![],
        ),
        // Published, approved and withdrawn versions take no new contributors.
        (
            add_input(&s, &s.u_v1, &s.p.coordinator_y, &s.partner_y, "author"),
            "INVALID_TRANSITION",
            vec![],
        ),
        (
            add_input(&s, &s.z_v1, &s.p.coordinator_y, &s.partner_y, "author"),
            "INVALID_TRANSITION",
            vec![],
        ),
        (
            add_input(&s, &s.z_v0, &s.p.coordinator_y, &s.partner_y, "author"),
            "INVALID_TRANSITION",
            vec![],
        ),
    ];
    for (input, code, field) in cases {
        let resp = s.run(ADD, input, &staff).await;
        let (got, got_field) = user_error(&resp, "addUnitContributor");
        assert_eq!((got.as_str(), got_field), (code, field), "{}", resp.body);
    }
    // Another author of the same person in another role is fine (checked after the refusals).
    assert_eq!(s.written().await, before, "nothing written");
    let resp = s
        .run(
            ADD,
            add_input(&s, &s.u_v2, &s.p.teacher_a, &s.school_a, "reviewer"),
            &staff,
        )
        .await;
    ok(&resp, "addUnitContributor");
}

#[tokio::test]
async fn a_contributor_updates_own_hours_even_after_publication_but_not_once_withdrawn() {
    let s = setup().await;
    let input = |row: &Ref, hours: Value, expected: Option<i32>| json!({ "id": row.gid(), "hoursContributed": hours, "expectedVersion": expected });
    let before = s.written().await;
    // Invisible to partner Y.
    let resp = s
        .run(UPDATE, input(&s.expert_row, json!(4), None), &s.mentor_y())
        .await;
    assert_eq!(resp.error_code(), Some("NOT_FOUND"), "{}", resp.body);
    // A subject expert on the author's row; another lead. (School A's coordinator could: it
    // represents the author's organisation, so it counts as an author.)
    let resp = s
        .run(UPDATE, input(&s.author_row, json!(4), None), &s.mentor_x())
        .await;
    assert_eq!(resp.error_code(), Some("FORBIDDEN"), "{}", resp.body);
    let resp = s
        .run(
            UPDATE,
            input(&s.expert_row, json!(4), None),
            &s.other_lead(),
        )
        .await;
    assert_eq!(resp.error_code(), Some("FORBIDDEN"), "{}", resp.body);
    // Withdrawn version, stale version, bad hours.
    let resp = s
        .run(UPDATE, input(&s.z0_row, json!(4), None), &s.mentor_x())
        .await;
    assert_eq!(
        user_error(&resp, "updateUnitContributor").0,
        "INVALID_TRANSITION"
    );
    let resp = s
        .run(
            UPDATE,
            input(&s.expert_row, json!(4), Some(7)),
            &s.mentor_x(),
        )
        .await;
    assert_eq!(
        user_error(&resp, "updateUnitContributor").0,
        "VERSION_CONFLICT"
    );
    let resp = s
        .run(
            UPDATE,
            input(&s.expert_row, json!(-1), Some(1)),
            &s.mentor_x(),
        )
        .await;
    assert_eq!(
        user_error(&resp, "updateUnitContributor"),
        (
            "BAD_USER_INPUT".to_owned(),
            path(&["input", "hoursContributed"])
        )
    );
    assert_eq!(s.written().await, before, "nothing written");

    // The contributor themselves.
    let seq = s.last_seq().await;
    let resp = s
        .run(
            UPDATE,
            input(&s.expert_row, json!(6.5), Some(1)),
            &s.mentor_x(),
        )
        .await;
    let row = &ok(&resp, "updateUnitContributor")["unitContributor"];
    assert_eq!(
        (row["version"].clone(), row["hoursContributed"].clone()),
        (json!(2), json!(6.5))
    );
    assert_eq!(
        s.events_since(seq).await,
        vec![(
            "UnitContributor".to_owned(),
            "uc-expert".to_owned(),
            "update".to_owned(),
            2
        )]
    );
    // Their organisation's coordinator, on an approved version.
    let resp = s
        .run(
            UPDATE,
            json!({ "id": s.z_row.gid(), "hoursContributed": 9, "metadata": { "log": "late" } }),
            &s.coordinator_x(),
        )
        .await;
    let row = &ok(&resp, "updateUnitContributor")["unitContributor"];
    assert_eq!(row["metadata"], json!({ "log": "late" }));
    // An author, the owning lead and the staff update others' rows.
    for token in [s.teacher_a(), s.lead(), s.staff(), s.school_coordinator_a()] {
        let resp = s
            .run(UPDATE, input(&s.expert_row, json!(1), None), &token)
            .await;
        ok(&resp, "updateUnitContributor");
    }
    // A published version's contributor rows still take hours.
    let published = add_contributor(
        &s.app.db,
        "uc-pub",
        &s.u_v1,
        &s.p.mentor_x,
        &s.partner_x,
        "author",
        None,
    )
    .await;
    let resp = s
        .run(UPDATE, input(&published, json!(12), None), &s.mentor_x())
        .await;
    assert_eq!(
        ok(&resp, "updateUnitContributor")["unitContributor"]["hoursContributed"],
        12.0
    );
}

#[tokio::test]
async fn removing_a_contributor_keeps_the_last_author() {
    let s = setup().await;
    let input =
        |row: &Ref, expected: Option<i32>| json!({ "id": row.gid(), "expectedVersion": expected });
    let before = s.written().await;
    let resp = s
        .run(REMOVE, input(&s.expert_row, None), &s.mentor_y())
        .await;
    assert_eq!(resp.error_code(), Some("NOT_FOUND"), "{}", resp.body);
    // A subject expert, partner X's coordinator and another lead may not remove.
    for token in [s.mentor_x(), s.coordinator_x(), s.other_lead()] {
        let resp = s.run(REMOVE, input(&s.expert_row, None), &token).await;
        assert_eq!(resp.error_code(), Some("FORBIDDEN"), "{}", resp.body);
    }
    let resp = s.run(REMOVE, input(&s.author_row, None), &s.staff()).await;
    assert_eq!(
        user_error(&resp, "removeUnitContributor").0,
        "INVALID_TRANSITION"
    );
    let resp = s.run(REMOVE, input(&s.z_row, None), &s.staff()).await;
    assert_eq!(
        user_error(&resp, "removeUnitContributor").0,
        "INVALID_TRANSITION"
    );
    let resp = s
        .run(REMOVE, input(&s.expert_row, Some(3)), &s.teacher_a())
        .await;
    assert_eq!(
        user_error(&resp, "removeUnitContributor").0,
        "VERSION_CONFLICT"
    );
    assert_eq!(s.written().await, before, "nothing written");

    let seq = s.last_seq().await;
    let resp = s
        .run(REMOVE, input(&s.expert_row, Some(1)), &s.teacher_a())
        .await;
    let row = &ok(&resp, "removeUnitContributor")["unitContributor"];
    assert_eq!(
        (row["status"].clone(), row["version"].clone()),
        (json!("TOBEDELETED"), json!(2))
    );
    // Partner X had no other contributor row on the draft: it loses contributorScope, so its
    // principals get accessRevoked for the draft and what they read through it (the unit stays
    // visible through its published version).
    let event =
        |t: &str, sid: &str, op: &str, v: i32| (t.to_owned(), sid.to_owned(), op.to_owned(), v);
    assert_eq!(
        s.events_since(seq).await,
        vec![
            event("UnitContributor", "uc-expert", "delete", 2),
            event("CurriculumUnitVersion", "u-v2", "accessRevoked", 1),
            event("UnitContributor", "uc-author", "accessRevoked", 1),
        ]
    );
    let after = seq.to_string();
    let revoked = |page: &integration_tests::feed::FeedPage| -> Vec<String> {
        page.events
            .iter()
            .filter(|e| e.kind == "AccessRevoked")
            .map(|e| e.label())
            .collect()
    };
    let x_page =
        integration_tests::feed::changes(&s.app, &s.coordinator_x(), Some(&after), None, None, 100)
            .await;
    assert_eq!(
        revoked(&x_page),
        [
            "AccessRevoked:CurriculumUnitVersion:u-v2",
            "AccessRevoked:UnitContributor:uc-author"
        ]
    );
    let y_page =
        integration_tests::feed::changes(&s.app, &s.coordinator_y(), Some(&after), None, None, 100)
            .await;
    assert!(revoked(&y_page).is_empty(), "{y_page:?}");
    // The mentor no longer reads the draft; removing again is refused.
    assert!(!s.reads(&s.u_v2, &s.mentor_x()).await);
    let resp = s.run(REMOVE, input(&s.expert_row, None), &s.staff()).await;
    assert_eq!(
        user_error(&resp, "removeUnitContributor").0,
        "INVALID_TRANSITION"
    );
    // With a second author, the first can go (by the owning lead).
    let resp = s
        .run(
            ADD,
            add_input(&s, &s.u_v2, &s.p.coordinator_x, &s.partner_x, "author"),
            &s.lead(),
        )
        .await;
    ok(&resp, "addUnitContributor");
    let resp = s.run(REMOVE, input(&s.author_row, None), &s.lead()).await;
    ok(&resp, "removeUnitContributor");
}

#[tokio::test]
async fn reviews_are_appended_by_staff_and_contributors_and_never_move_the_state() {
    let s = setup().await;
    let comment = |v: &Ref, text: Option<&str>| json!({ "unitVersion": v.gid(), "decision": "COMMENT", "comments": text });
    let approve = |v: &Ref| json!({ "unitVersion": v.gid(), "decision": "APPROVE" });
    let before = s.written().await;
    // Not visible to a contributor of unit v only.
    let resp = s
        .run(REVIEW, comment(&s.u_v2, Some("hi")), &s.coordinator_y())
        .await;
    assert_eq!(resp.error_code(), Some("NOT_FOUND"), "{}", resp.body);
    // A client acting for a contributing org has no Person.
    let (client, _) = crate::consents::client_token(&s.app, PARTNER_X, "curriculum.write").await;
    let resp = s.run(REVIEW, comment(&s.u_v2, Some("hi")), &client).await;
    assert_eq!(resp.error_code(), Some("FORBIDDEN"), "{}", resp.body);
    // A teacher of school A reads u-v2 through its school's author row, but is no contributor.
    let teacher_b = s.w.school_people[1].teacher.clone();
    let resp = s
        .run(
            REVIEW,
            comment(&s.u_v2, Some("hi")),
            &token_of(&s.app, &teacher_b, &["teacher"], "org-school-b"),
        )
        .await;
    assert_eq!(resp.error_code(), Some("NOT_FOUND"), "{}", resp.body);
    let cases = [
        (approve(&s.u_v2), "INVALID_TRANSITION", vec![]),
        (comment(&s.z_v1, Some("late")), "INVALID_TRANSITION", vec![]),
        (
            json!({ "unitVersion": s.u_v2.gid(), "decision": "REQUEST_CHANGES", "comments": "fix" }),
            "BAD_USER_INPUT",
            path(&["input", "decision"]),
        ),
        (
            comment(&s.u_v2, Some("  ")),
            "BAD_USER_INPUT",
            path(&["input", "comments"]),
        ),
        (
            comment(&s.u_v2, Some(&"x".repeat(4001))),
            "BAD_USER_INPUT",
            path(&["input", "comments"]),
        ),
    ];
    for (input, code, field) in cases {
        let resp = s.run(REVIEW, input, &s.mentor_x()).await;
        let got = user_error(&resp, "reviewCurriculumUnitVersion");
        assert_eq!((got.0.as_str(), got.1), (code, field), "{}", resp.body);
    }
    assert_eq!(s.written().await, before, "nothing written");

    // A contributor comments on a draft; the reviewer is their Person.
    let seq = s.last_seq().await;
    let resp = s
        .run(REVIEW, comment(&s.u_v2, Some("Looks good")), &s.mentor_x())
        .await;
    let review = &ok(&resp, "reviewCurriculumUnitVersion")["unitReview"];
    assert_eq!(review["decision"], "COMMENT");
    assert_eq!(review["reviewer"]["sourcedId"], "mentor-x");
    assert_eq!(review["unitVersion"]["state"], "DRAFT");
    let events = s.events_since(seq).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].0.as_str(), events[0].2.as_str()),
        ("UnitReview", "create")
    );

    // Staff and any academic lead approve (an opinion) a version in review: its state stays.
    for token in [s.other_lead(), s.staff(), s.teacher_a()] {
        let resp = s.run(REVIEW, approve(&s.w_v1), &token).await;
        let review = &ok(&resp, "reviewCurriculumUnitVersion")["unitReview"];
        assert_eq!(review["decision"], "APPROVE");
        assert_eq!(review["unitVersion"]["state"], "IN_REVIEW");
    }
    // Not a contributor of w: partner X's mentor.
    let resp = s.run(REVIEW, approve(&s.w_v1), &s.mentor_x()).await;
    assert_eq!(resp.error_code(), Some("NOT_FOUND"), "{}", resp.body);

    // Append-only: the schema has no mutation that edits or deletes a review.
    let resp = s
        .app
        .gql(
            "{ __schema { mutationType { fields { name } } } }",
            json!({}),
            None,
        )
        .await;
    let names: Vec<String> = resp.data()["__schema"]["mutationType"]["fields"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|f| f["name"].as_str().map(str::to_owned))
        .collect();
    assert!(names.contains(&"reviewCurriculumUnitVersion".to_owned()));
    assert!(
        !names
            .iter()
            .any(|n| n.to_lowercase().contains("unitreview")),
        "{names:?}"
    );
}

#[tokio::test]
async fn setting_unit_skills_replaces_the_set_with_events_and_a_version_bump() {
    let s = setup().await;
    let db = &s.app.db;
    let s1 = add_skill(db, "sk-1", "S1").await;
    let s2 = add_skill(db, "sk-2", "S2").await;
    let s3 = add_skill(db, "sk-3", "S3").await;
    let gone = add_skill(db, "sk-gone", "SG").await;
    tombstone(db, "skill", gone.id).await;
    let set = |v: &Ref, skills: Value, expected: Option<i32>| json!({ "id": v.gid(), "skills": skills, "expectedVersion": expected });
    let first = json!([
        { "skill": s1.gid(), "coverage": "INTRODUCED" },
        { "skill": "sk-2", "coverage": "DEVELOPED" },
    ]);

    let resp = s
        .run(
            SET_SKILLS,
            set(&s.u_v2, first.clone(), None),
            &s.coordinator_y(),
        )
        .await;
    assert_eq!(resp.error_code(), Some("NOT_FOUND"), "{}", resp.body);
    // A reviewer of w and another lead read w-v1 but do not edit it.
    add_contributor(
        db,
        "uc-w-rev",
        &s.w_v1,
        &s.p.mentor_y,
        &s.partner_y,
        "reviewer",
        None,
    )
    .await;
    let before = s.written().await;
    for token in [s.other_lead(), s.mentor_y()] {
        let resp = s
            .run(SET_SKILLS, set(&s.w_v1, first.clone(), None), &token)
            .await;
        assert_eq!(resp.error_code(), Some("FORBIDDEN"), "{}", resp.body);
    }
    let resp = s
        .run(SET_SKILLS, set(&s.w_v1, first.clone(), None), &s.mentor_x())
        .await;
    assert_eq!(resp.error_code(), Some("NOT_FOUND"), "{}", resp.body);
    let twice = json!([
        { "skill": s1.gid(), "coverage": "INTRODUCED" },
        { "skill": "sk-1", "coverage": "APPLIED" },
    ]);
    let too_many: Vec<Value> = (0..101)
        .map(|i| json!({ "skill": format!("sk-{i}"), "coverage": "APPLIED" }))
        .collect();
    let cases = [
        (
            set(&s.u_v1, first.clone(), None),
            "INVALID_TRANSITION",
            vec![],
        ),
        (
            set(&s.w_v1, first.clone(), None),
            "INVALID_TRANSITION",
            vec![],
        ),
        (
            set(&s.u_v2, first.clone(), Some(5)),
            "VERSION_CONFLICT",
            vec![],
        ),
        (
            set(&s.u_v2, twice, None),
            "BAD_USER_INPUT",
            path(&["input", "skills", "1", "skill"]),
        ),
        (
            set(
                &s.u_v2,
                json!([{ "skill": "sk-3", "coverage": "APPLIED" }, { "skill": "sk-gone", "coverage": "APPLIED" }]),
                None,
            ),
            "BAD_USER_INPUT",
            path(&["input", "skills", "1", "skill"]),
        ),
        (
            set(&s.u_v2, json!(too_many), None),
            "BAD_USER_INPUT",
            path(&["input", "skills"]),
        ),
    ];
    for (input, code, field) in cases {
        let resp = s.run(SET_SKILLS, input, &s.staff()).await;
        let got = user_error(&resp, "setCurriculumUnitVersionSkills");
        assert_eq!((got.0.as_str(), got.1), (code, field), "{}", resp.body);
    }
    assert_eq!(s.written().await, before, "nothing written");

    // The author sets two skills: two creates and the version's update.
    let seq = s.last_seq().await;
    let resp = s
        .run(
            SET_SKILLS,
            set(&s.u_v2, first.clone(), Some(1)),
            &s.teacher_a(),
        )
        .await;
    let version = &ok(&resp, "setCurriculumUnitVersionSkills")["curriculumUnitVersion"];
    assert_eq!(version["version"], 2);
    let ops: Vec<(String, String, i32)> = s
        .events_since(seq)
        .await
        .into_iter()
        .map(|e| (e.0, e.2, e.3))
        .collect();
    let expected = |t: &str, o: &str, v: i32| (t.to_owned(), o.to_owned(), v);
    assert_eq!(
        ops,
        vec![
            expected("UnitSkill", "create", 1),
            expected("UnitSkill", "create", 1),
            expected("CurriculumUnitVersion", "update", 2),
        ]
    );
    // The same set again writes nothing.
    let after_first = s.written().await;
    let resp = s
        .run(SET_SKILLS, set(&s.u_v2, first, None), &s.mentor_x())
        .await;
    assert_eq!(
        ok(&resp, "setCurriculumUnitVersionSkills")["curriculumUnitVersion"]["version"],
        2
    );
    assert_eq!(s.written().await, after_first);

    // A subject expert replaces it: sk-1 removed, sk-2 changed, sk-3 added.
    let seq = s.last_seq().await;
    let second = json!([
        { "skill": "sk-2", "coverage": "APPLIED" },
        { "skill": s3.gid(), "coverage": "ASSESSED" },
    ]);
    let resp = s
        .run(SET_SKILLS, set(&s.u_v2, second, Some(2)), &s.mentor_x())
        .await;
    let version = &ok(&resp, "setCurriculumUnitVersionSkills")["curriculumUnitVersion"];
    assert_eq!(version["version"], 3);
    let mut skills: Vec<(String, String)> = version["skills"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|n| {
            (
                n["skill"]["sourcedId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                n["coverage"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    skills.sort();
    assert_eq!(
        skills,
        vec![
            ("sk-2".to_owned(), "APPLIED".to_owned()),
            ("sk-3".to_owned(), "ASSESSED".to_owned())
        ]
    );
    let ops: Vec<(String, String, i32)> = s
        .events_since(seq)
        .await
        .into_iter()
        .map(|e| (e.0, e.2, e.3))
        .collect();
    assert_eq!(
        ops,
        vec![
            expected("UnitSkill", "delete", 2),
            expected("UnitSkill", "update", 2),
            expected("UnitSkill", "create", 1),
            expected("CurriculumUnitVersion", "update", 3),
        ]
    );
    let _ = s2;
}

const COMPARE: &str = "query($unit: ID!, $from: ID!, $to: ID!) {
  node(id: $unit) { ... on CurriculumUnit {
    compare(from: $from, to: $to) {
      from { sourcedId } to { sourcedId } changed
      fields { field before after }
      learningOutcomes { added removed }
      resources { added { title url } removed { title url } }
      skills { skill { sourcedId } before after change }
    } } }
}";

const UNIT_ONLY: &str =
    "query($unit: ID!) { node(id: $unit) { ... on CurriculumUnit { sourcedId } } }";

#[tokio::test]
async fn compare_lists_the_exact_differences_between_two_versions() {
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let p = seed_curriculum_people(&app.db, &w).await;
    let db = &app.db;
    let owner = org_ref(&w.unit);
    let unit = add_unit(db, "cu", &w.course_apl, &owner).await;
    let other = add_unit(db, "cu-other", &w.course_apl, &owner).await;
    let old = Content {
        title: "Game design",
        summary: Some("Make a game"),
        hours: Some(20.0),
        learning_outcomes: vec!["Pitch an idea", "Build a prototype"],
        resources: vec![
            ("Engine docs", Some("https://example.org/engine")),
            ("Style guide", None),
        ],
        external_approval_ref: None,
    };
    let new = Content {
        title: "Game design studio",
        summary: Some("Make a game"),
        hours: Some(24.5),
        learning_outcomes: vec!["Build a prototype", "Test with players"],
        resources: vec![
            ("Style guide", None),
            ("Playtest kit", Some("https://example.org/kit")),
        ],
        external_approval_ref: Some("EDB-42"),
    };
    let v1 = add_version(db, "cu-v1", &unit, 1, "published", &old).await;
    let v2 = add_version(db, "cu-v2", &unit, 2, "draft", &new).await;
    let foreign = add_version(db, "cuo-v1", &other, 1, "published", &old).await;
    let [a, b, c, d] = [
        add_skill(db, "sk-a", "A").await,
        add_skill(db, "sk-b", "B").await,
        add_skill(db, "sk-c", "C").await,
        add_skill(db, "sk-d", "D").await,
    ];
    add_unit_skill(db, "us-1a", &v1, &a, "introduced").await;
    add_unit_skill(db, "us-1b", &v1, &b, "developed").await;
    add_unit_skill(db, "us-1d", &v1, &d, "applied").await;
    add_unit_skill(db, "us-2b", &v2, &b, "assessed").await;
    add_unit_skill(db, "us-2c", &v2, &c, "applied").await;
    add_unit_skill(db, "us-2d", &v2, &d, "applied").await;
    let gone = add_unit_skill(db, "us-2a", &v2, &a, "introduced").await;
    tombstone(db, "unit_skill", gone.id).await;
    let staff = token_of(&app, &p.staff, &["programmeStaff"], OFFICE);
    let vars = |from: &Ref, to: &Ref| json!({ "unit": unit.gid(), "from": from.gid(), "to": to.sourced_id });

    let resp = app.gql(COMPARE, vars(&v1, &v2), Some(&staff)).await;
    let cmp = &resp.data()["node"]["compare"];
    assert_eq!(
        cmp,
        &json!({
            "from": { "sourcedId": "cu-v1" },
            "to": { "sourcedId": "cu-v2" },
            "changed": true,
            "fields": [
                { "field": "title", "before": "Game design", "after": "Game design studio" },
                { "field": "hours", "before": 20.0, "after": 24.5 },
                { "field": "externalApprovalRef", "before": null, "after": "EDB-42" },
            ],
            "learningOutcomes": { "added": ["Test with players"], "removed": ["Pitch an idea"] },
            "resources": {
                "added": [{ "title": "Playtest kit", "url": "https://example.org/kit" }],
                "removed": [{ "title": "Engine docs", "url": "https://example.org/engine" }],
            },
            "skills": [
                { "skill": { "sourcedId": "sk-a" }, "before": "INTRODUCED", "after": null, "change": "REMOVED" },
                { "skill": { "sourcedId": "sk-b" }, "before": "DEVELOPED", "after": "ASSESSED", "change": "CHANGED" },
                { "skill": { "sourcedId": "sk-c" }, "before": null, "after": "APPLIED", "change": "ADDED" },
            ],
        })
    );
    // A version against itself: nothing changed.
    let resp = app.gql(COMPARE, vars(&v2, &v2), Some(&staff)).await;
    let same = &resp.data()["node"]["compare"];
    assert_eq!(same["changed"], false);
    assert_eq!(same["fields"], json!([]));
    assert_eq!(same["skills"], json!([]));

    // A version of another unit; a draft the caller may not read (nor anyone anonymous).
    let resp = app.gql(COMPARE, vars(&v1, &foreign), Some(&staff)).await;
    assert_eq!(resp.error_code(), Some("BAD_USER_INPUT"), "{}", resp.body);
    let mentor = token_of(&app, &p.mentor_x, &["mentor"], PARTNER_X);
    for token in [Some(mentor.as_str()), None] {
        let resp = app.gql(COMPARE, vars(&v1, &v2), token).await;
        assert_eq!(resp.error_code(), Some("NOT_FOUND"), "{}", resp.body);
    }

    // Bounded statements: compare adds at most 3 to reading the unit.
    let base = app
        .statements_for(UNIT_ONLY, json!({ "unit": unit.gid() }), &staff)
        .await;
    let with = app.statements_for(COMPARE, vars(&v1, &v2), &staff).await;
    assert!(
        with - base <= 3,
        "compare costs {} statements ({with} - {base})",
        with - base
    );
    assert!(with <= 6, "{with} statements");
}

const CONTRIBUTIONS: &str = "query($org: ID!, $session: ID) {
  curriculumContributions(organization: $org, session: $session) {
    organization { sourcedId } session { sourcedId }
    contributors versions versionsApproved hours
    byRole { role contributors versions hours }
  }
}";

#[tokio::test]
async fn contribution_figures_count_active_rows_of_live_versions_and_approvals_in_the_session() {
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let p = seed_curriculum_people(&app.db, &w).await;
    let db = &app.db;
    let owner = org_ref(&w.unit);
    let (px, py) = (org_ref(&w.partners[0]), org_ref(&w.partners[1]));
    let now = Utc::now();
    let today = now.date_naive();
    let session = add_session(
        db,
        "term-now",
        today - Duration::days(30),
        today + Duration::days(30),
    )
    .await;
    let long_ago = now - Duration::days(60);
    let mut versions = Vec::new();
    for (i, state) in ["approved", "published", "withdrawn", "draft"]
        .iter()
        .enumerate()
    {
        let unit = add_unit(db, &format!("pu-{i}"), &w.course_apl, &owner).await;
        versions
            .push(add_version(db, &format!("pv-{i}"), &unit, 1, state, &Content::default()).await);
    }
    let [va, vb, vc, vd] = [&versions[0], &versions[1], &versions[2], &versions[3]];
    // A: approved in the session; B: approved long ago; C withdrawn; D a draft.
    add_contributor(db, "c-1", va, &p.mentor_x, &px, "coDeveloper", Some(5.0)).await;
    add_contributor(db, "c-2", va, &p.coordinator_x, &px, "author", Some(3.0)).await;
    add_contributor(db, "c-3", va, &p.coordinator_y, &py, "author", Some(4.0)).await;
    add_contributor_at(
        db,
        "c-4",
        vb,
        &p.mentor_x,
        &px,
        "subjectExpert",
        Some(2.0),
        long_ago,
    )
    .await;
    add_contributor(db, "c-5", vc, &p.mentor_x, &px, "author", Some(7.0)).await;
    add_contributor(db, "c-6", vd, &p.coordinator_x, &px, "reviewer", None).await;
    let gone = add_contributor(db, "c-7", vd, &p.mentor_x, &px, "coDeveloper", Some(100.0)).await;
    tombstone(db, "unit_contributor", gone.id).await;
    add_history(
        db,
        va,
        Some("in_review"),
        "approved",
        now - Duration::days(1),
    )
    .await;
    add_history(db, vb, Some("in_review"), "approved", long_ago).await;
    add_history(db, vc, Some("draft"), "in_review", now - Duration::days(2)).await;

    let staff = token_of(&app, &p.staff, &["programmeStaff"], OFFICE);
    let all_time = app
        .gql(CONTRIBUTIONS, json!({ "org": px.gid() }), Some(&staff))
        .await;
    assert_eq!(
        all_time.data()["curriculumContributions"],
        json!({
            "organization": { "sourcedId": PARTNER_X }, "session": null,
            "contributors": 2, "versions": 3, "versionsApproved": 2, "hours": 10.0,
            "byRole": [
                { "role": "AUTHOR", "contributors": 1, "versions": 1, "hours": 3.0 },
                { "role": "CO_DEVELOPER", "contributors": 1, "versions": 1, "hours": 5.0 },
                { "role": "SUBJECT_EXPERT", "contributors": 1, "versions": 1, "hours": 2.0 },
                { "role": "REVIEWER", "contributors": 1, "versions": 1, "hours": 0.0 },
            ],
        })
    );
    let in_session = json!({ "org": PARTNER_X, "session": session.gid() });
    let resp = app
        .gql(CONTRIBUTIONS, in_session.clone(), Some(&staff))
        .await;
    assert_eq!(
        resp.data()["curriculumContributions"],
        json!({
            "organization": { "sourcedId": PARTNER_X }, "session": { "sourcedId": "term-now" },
            "contributors": 2, "versions": 2, "versionsApproved": 1, "hours": 8.0,
            "byRole": [
                { "role": "AUTHOR", "contributors": 1, "versions": 1, "hours": 3.0 },
                { "role": "CO_DEVELOPER", "contributors": 1, "versions": 1, "hours": 5.0 },
                { "role": "REVIEWER", "contributors": 1, "versions": 1, "hours": 0.0 },
            ],
        })
    );

    // Who reads partner X's figures.
    let (client_x, _) = crate::consents::client_token(&app, PARTNER_X, "curriculum.read").await;
    let allowed = [
        token_of(&app, &p.admin, &["programmeAdmin"], OFFICE),
        token_of(&app, &p.lead, &["academicLead"], UNIT),
        token_of(&app, &p.other_lead, &["academicLead"], "org-unit-2"),
        token_of(&app, &p.coordinator_x, &["partnerCoordinator"], PARTNER_X),
        client_x,
    ];
    for token in &allowed {
        let resp = app
            .gql(CONTRIBUTIONS, in_session.clone(), Some(token))
            .await;
        assert_eq!(resp.data()["curriculumContributions"]["hours"], 8.0);
    }
    let refused = [
        token_of(&app, &p.coordinator_y, &["partnerCoordinator"], PARTNER_Y),
        token_of(&app, &p.mentor_x, &["mentor"], PARTNER_X),
        token_of(
            &app,
            &p.school_coordinator_a,
            &["schoolCoordinator"],
            SCHOOL_A,
        ),
        token_of(&app, &p.teacher_a, &["teacher"], SCHOOL_A),
    ];
    for token in &refused {
        let resp = app
            .gql(CONTRIBUTIONS, in_session.clone(), Some(token))
            .await;
        assert_eq!(resp.error_code(), Some("FORBIDDEN"), "{}", resp.body);
    }
    let resp = app.gql(CONTRIBUTIONS, in_session.clone(), None).await;
    assert_eq!(resp.error_code(), Some("UNAUTHENTICATED"), "{}", resp.body);
    // Partner Y reads its own.
    let coordinator_y = token_of(&app, &p.coordinator_y, &["partnerCoordinator"], PARTNER_Y);
    let resp = app
        .gql(
            CONTRIBUTIONS,
            json!({ "org": PARTNER_Y }),
            Some(&coordinator_y),
        )
        .await;
    assert_eq!(resp.data()["curriculumContributions"]["hours"], 4.0);

    // Bounded statements: at most 4 besides what any request of this caller costs.
    let base = app
        .statements_for("{ __typename }", json!({}), &staff)
        .await;
    let statements = app.statements_for(CONTRIBUTIONS, in_session, &staff).await;
    assert!(
        statements - base <= 4,
        "{statements} statements, {base} for any request"
    );
}
