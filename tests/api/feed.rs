//! The change feed (API.md section 7, DOMAIN.md area I): the sync window, ordering and paging,
//! argument errors, the `types` filter, what each principal sees (and does not), deletes, the
//! bounded scan, statements per page, and the gap-free proof with concurrent writers.
//!
//! Records no mutation writes yet get their events through `feed::emit_changes` (the writers'
//! own numbering, rows unchanged) and their deletes through `feed::delete_record` (the write
//! path's `write::tombstone`): this branch has no delete mutation.

use std::collections::BTreeMap;
use std::sync::Arc;

use api::changes::UPDATE;
use entity::{
    RecordModel, access_audit_event, change_event, consent_record, course_enrollment, guardian_link,
};
use integration_tests::access_world::{AccessWorld, seed_access_world};
use integration_tests::feed::{
    FeedEvent, SYNC_WINDOW, Writer, changes, changes_raw, delete_record, emit_changes,
    mirror_from_feed, read_all, sync_window,
};
use integration_tests::fixtures::{
    OFFICE, PARTNER_X, PARTNER_Y, Ref, SCHOOL_A, SCHOOL_B, World, seed_world,
};
use integration_tests::{TestApp, global_id, sorted, spawn_app};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::consents::{client_token, set_age};

const CREATE_CONSENT: &str = "mutation($input: CreateConsentRecordInput!) {
  createConsentRecord(input: $input) { consentRecord { sourcedId version } userErrors { field code message } }
}";

const WITHDRAW_CONSENT: &str = "mutation($input: WithdrawConsentRecordInput!) {
  withdrawConsentRecord(input: $input) { accessRevoked userErrors { field code message } }
}";

const PROPOSE: &str = "mutation($input: ProposeMentorshipInput!) {
  proposeMentorship(input: $input) { mentorship { sourcedId version } userErrors { field code message } }
}";

/// Runs a mutation and asserts it wrote (no user errors); returns its payload.
async fn mutate(app: &TestApp, bearer: &str, query: &str, name: &str, input: Value) -> Value {
    let response = app
        .gql(query, json!({ "input": input }), Some(bearer))
        .await;
    let payload = response.data()[name].clone();
    assert_eq!(
        payload["userErrors"],
        json!([]),
        "{name} refused: {payload}"
    );
    payload
}

/// A consent of a student for research evaluation (no partner): one `create` event.
async fn research_consent(app: &TestApp, bearer: &str, student: &Ref, sid: &str) {
    mutate(
        app,
        bearer,
        CREATE_CONSENT,
        "createConsentRecord",
        json!({
            "student": student.gid(),
            "givenBy": student.gid(),
            "giverRelationship": "SELF",
            "purpose": "researchEvaluation",
            "picsVersion": "2024-1",
            "sourcedId": sid,
        }),
    )
    .await;
}

/// The student's own shareWithPartnerMentor consent for partner X.
async fn partner_consent(app: &TestApp, bearer: &str, student: &Ref, sid: &str) {
    mutate(
        app,
        bearer,
        CREATE_CONSENT,
        "createConsentRecord",
        json!({
            "student": student.gid(),
            "givenBy": student.gid(),
            "giverRelationship": "SELF",
            "purpose": "shareWithPartnerMentor",
            "scopeOrg": global_id("Organization", PARTNER_X),
            "picsVersion": "2024-1",
            "sourcedId": sid,
        }),
    )
    .await;
}

async fn withdraw(app: &TestApp, bearer: &str, sid: &str) -> Value {
    mutate(
        app,
        bearer,
        WITHDRAW_CONSENT,
        "withdrawConsentRecord",
        json!({ "consentRecord": global_id("ConsentRecord", sid), "reason": "feed test" }),
    )
    .await
}

/// A transition mutation (`pauseMentorship`, …) without an expected version.
async fn transition(app: &TestApp, bearer: &str, name: &str, sid: &str) {
    let input = format!("{}{}Input", name[..1].to_uppercase(), &name[1..]);
    let query = format!(
        "mutation($input: {input}!) {{ {name}(input: $input) {{ mentorship {{ state }} userErrors {{ field code message }} }} }}"
    );
    mutate(
        app,
        bearer,
        &query,
        name,
        json!({ "mentorship": global_id("Mentorship", sid) }),
    )
    .await;
}

fn labels(events: &[FeedEvent]) -> Vec<String> {
    sorted(&events.iter().map(FeedEvent::label).collect::<Vec<_>>())
}

fn seqs(events: &[FeedEvent]) -> Vec<i64> {
    events.iter().map(|e| e.seq).collect()
}

/// Every stored sequence number, in order.
async fn stored_seqs(app: &TestApp) -> Vec<i64> {
    let mut all: Vec<i64> = change_event::Entity::find()
        .all(&app.db)
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.seq)
        .collect();
    all.sort_unstable();
    all
}

#[tokio::test]
async fn the_sync_window_spans_the_stored_changes_and_needs_a_token() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let admin = app.admin_token();
    let student = &w.students_of(0)[1].person;

    // Act / Assert: nothing written yet.
    assert_eq!(sync_window(&app, &admin).await, (0, 0));
    let empty = changes(&app, &admin, None, None, None, 10).await;
    assert!(empty.events.is_empty());
    assert_eq!((empty.end_token.as_str(), empty.has_more), ("0", false));

    for n in 1..=3 {
        research_consent(&app, &admin, student, &format!("c-{n}")).await;
    }
    assert_eq!(sync_window(&app, &admin).await, (1, 3));

    // A retention job purges the two oldest events: resuming before them would miss changes.
    change_event::Entity::delete_many()
        .filter(change_event::Column::Seq.lte(2))
        .exec(&app.db)
        .await
        .expect("purge");
    assert_eq!(sync_window(&app, &admin).await, (3, 3));
    let stale = changes_raw(&app, Some(&admin), json!({ "after": "1" })).await;
    assert_eq!(stale.error_code(), Some("BAD_USER_INPUT"), "{}", stale.body);
    assert_eq!(stale.error_field(), Some("after"));
    let resumed = changes(&app, &admin, Some("2"), None, None, 10).await;
    assert_eq!(seqs(&resumed.events), vec![3]);
    let from_start = changes(&app, &admin, None, None, None, 10).await;
    assert_eq!(seqs(&from_start.events), vec![3]);

    // The feed needs a token.
    let anonymous = app.gql(SYNC_WINDOW, json!({}), None).await;
    assert_eq!(anonymous.error_code(), Some("UNAUTHENTICATED"));
    let anonymous = changes_raw(&app, None, json!({})).await;
    assert_eq!(anonymous.error_code(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn changes_come_in_order_in_pages_that_resume_where_they_ended() {
    // Arrange: five creates, then an update of the second record.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let admin = app.admin_token();
    let student = &w.students_of(0)[1].person;
    for n in 1..=5 {
        research_consent(&app, &admin, student, &format!("c-{n}")).await;
    }
    withdraw(&app, &admin, "c-2").await;

    // Act
    let all = read_all(&app, &admin, None, None, 2).await;
    let first = changes(&app, &admin, None, None, None, 2).await;
    let bounded = changes(&app, &admin, Some("2"), Some("4"), None, 10).await;
    let rest = changes(&app, &admin, Some("4"), None, None, 10).await;
    let beyond = changes(&app, &admin, Some("6"), None, None, 10).await;

    // Assert: every change once, in order, as stored.
    assert_eq!(seqs(&all), stored_seqs(&app).await);
    assert_eq!(seqs(&all), vec![1, 2, 3, 4, 5, 6]);
    let described: Vec<(String, String, Option<i64>)> = all
        .iter()
        .map(|e| {
            (
                e.sourced_id.clone(),
                e.operation.clone().unwrap_or_default(),
                e.version,
            )
        })
        .collect();
    // The node is the record as it is now: c-2 is at version 2 already in its create event.
    let expected: Vec<(String, String, Option<i64>)> = [
        ("c-1", "CREATE", 1),
        ("c-2", "CREATE", 2),
        ("c-3", "CREATE", 1),
        ("c-4", "CREATE", 1),
        ("c-5", "CREATE", 1),
        ("c-2", "UPDATE", 2),
    ]
    .iter()
    .map(|(s, o, v)| ((*s).to_owned(), (*o).to_owned(), Some(*v)))
    .collect();
    assert_eq!(described, expected);
    assert!(
        all.iter()
            .all(|e| e.kind == "Upserted" && e.type_name == "ConsentRecord")
    );

    assert_eq!(seqs(&first.events), vec![1, 2]);
    assert_eq!((first.end_token.as_str(), first.has_more), ("2", true));
    assert_eq!(seqs(&bounded.events), vec![3, 4]);
    assert_eq!((bounded.end_token.as_str(), bounded.has_more), ("4", false));
    assert_eq!(seqs(&rest.events), vec![5, 6]);
    assert_eq!((rest.end_token.as_str(), rest.has_more), ("6", false));
    assert!(beyond.events.is_empty());
    assert_eq!((beyond.end_token.as_str(), beyond.has_more), ("6", false));
}

#[tokio::test]
async fn bad_arguments_are_refused_with_their_field() {
    // Arrange: two changes, so the newest token is 2.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let admin = app.admin_token();
    let student = &w.students_of(0)[1].person;
    research_consent(&app, &admin, student, "c-1").await;
    research_consent(&app, &admin, student, "c-2").await;

    for (variables, field) in [
        (json!({ "first": 0 }), "first"),
        (json!({ "first": -3 }), "first"),
        (json!({ "first": 1001 }), "first"),
        (json!({ "after": "abc" }), "after"),
        (json!({ "after": "-1" }), "after"),
        (json!({ "after": "1.5" }), "after"),
        (json!({ "until": "2x" }), "until"),
        (json!({ "until": "3" }), "until"),
        (json!({ "after": "2", "until": "1" }), "after"),
        (json!({ "after": "3" }), "after"),
        (json!({ "types": ["Nope"] }), "types"),
        (
            json!({ "types": ["ConsentRecord", "consentRecord"] }),
            "types",
        ),
        (json!({ "types": [] }), "types"),
    ] {
        // Act
        let response = changes_raw(&app, Some(&admin), variables.clone()).await;

        // Assert
        assert_eq!(
            response.error_code(),
            Some("BAD_USER_INPUT"),
            "{variables}: {}",
            response.body
        );
        assert_eq!(response.error_field(), Some(field), "{variables}");
    }
    // The limits themselves are accepted.
    assert_eq!(
        changes(&app, &admin, None, None, None, 1)
            .await
            .events
            .len(),
        1
    );
    // (A page of 1,000 costs 1,000 times its selection: select little.)
    let large = app
        .gql(
            "{ changes(first: 1000) { events { ... on Upserted { changeSeq } } } }",
            json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(
        large.data()["changes"]["events"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(
        changes(&app, &admin, Some("2"), Some("2"), None, 5)
            .await
            .events
            .len(),
        0
    );
}

#[tokio::test]
async fn types_filter_the_feed_and_a_type_the_caller_may_never_read_is_forbidden() {
    // Arrange: a consent, a mentorship of partner X, a change to school A.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let admin = app.admin_token();
    let student = &w.students_of(0)[1].person;
    research_consent(&app, &admin, student, "c-1").await;
    mutate(
        &app,
        &admin,
        PROPOSE,
        "proposeMentorship",
        json!({
            "mentor": w.mentor.gid(),
            "student": student.gid(),
            "partnerOrganization": global_id("Organization", PARTNER_X),
            "pathway": w.pathway.gid(),
            "beginDate": "2026-09-01",
            "sourcedId": "ms-1",
        }),
    )
    .await;
    emit_changes(
        &app.db,
        &[("Organization", w.schools[0].id, SCHOOL_A, UPDATE)],
    )
    .await;
    let (activities_only, _) = client_token(&app, PARTNER_X, "activities.read").await;

    // Act
    let mentorships = read_all(&app, &admin, None, Some(&["Mentorship"][..]), 10).await;
    let two = read_all(
        &app,
        &admin,
        None,
        Some(&["Mentorship", "Organization"][..]),
        10,
    )
    .await;
    let person = changes_raw(&app, Some(&activities_only), json!({ "types": ["Person"] })).await;
    let consents = changes_raw(
        &app,
        Some(&activities_only),
        json!({ "types": ["ConsentRecord"] }),
    )
    .await;
    let unfiltered = read_all(&app, &activities_only, None, None, 10).await;

    // Assert
    assert_eq!(labels(&mentorships), vec!["Upserted:Mentorship:ms-1"]);
    assert_eq!(
        labels(&two),
        vec![
            "Upserted:Mentorship:ms-1".to_owned(),
            format!("Upserted:Organization:{SCHOOL_A}")
        ]
    );
    assert_eq!(person.error_code(), Some("FORBIDDEN"), "{}", person.body);
    assert_eq!(consents.error_code(), Some("FORBIDDEN"));
    // Without `types`, what the client may not read is skipped silently.
    assert_eq!(
        labels(&unfiltered),
        vec![
            "Upserted:Mentorship:ms-1".to_owned(),
            format!("Upserted:Organization:{SCHOOL_A}")
        ]
    );
}

/// The row id of a record by sourcedId.
fn id_of<M: RecordModel>(rows: &[M], sid: &str) -> i64 {
    rows.iter()
        .find(|r| r.sourced_id() == sid)
        .unwrap_or_else(|| panic!("no row {sid}"))
        .pk()
}

/// One update event for each record of the matrix.
async fn emit_matrix_events(app: &TestApp, aw: &AccessWorld) {
    let person = |sid: &str| id_of(&aw.people, sid);
    emit_changes(
        &app.db,
        &[
            ("Organization", aw.org(SCHOOL_A).id, SCHOOL_A, UPDATE),
            ("Person", person("stu-a-01"), "stu-a-01", UPDATE),
            ("Person", person("stu-a-06"), "stu-a-06", UPDATE),
            ("Person", person("stu-a-07"), "stu-a-07", UPDATE),
            ("Person", person("stu-b-02"), "stu-b-02", UPDATE),
            (
                "PathwayEnrollment",
                id_of(&aw.pathway_enrollments, "pe-stu-a-01"),
                "pe-stu-a-01",
                UPDATE,
            ),
            (
                "CourseEnrollment",
                id_of(&aw.course_enrollments, "ce-stu-a-01"),
                "ce-stu-a-01",
                UPDATE,
            ),
            (
                "GuardianLink",
                id_of(&aw.guardian_links, "gl-stu-a-01"),
                "gl-stu-a-01",
                UPDATE,
            ),
            (
                "ConsentRecord",
                id_of(&aw.consents, "consent-stu-a-01-self"),
                "consent-stu-a-01-self",
                UPDATE,
            ),
            (
                "Mentorship",
                id_of(&aw.mentorships, "ms-a0-x"),
                "ms-a0-x",
                UPDATE,
            ),
            (
                "Mentorship",
                id_of(&aw.mentorships, "ms-a4-y"),
                "ms-a4-y",
                UPDATE,
            ),
            (
                "Mentorship",
                id_of(&aw.mentorships, "ms-b1-x"),
                "ms-b1-x",
                UPDATE,
            ),
        ],
    )
    .await;
}

/// The principals of the matrix: name and token.
async fn matrix_principals(app: &TestApp) -> Vec<(&'static str, String)> {
    let person = |sid: &str, role: &str, org: &str| app.token_for(sid, &[role], org);
    vec![
        ("programmeAdmin", app.admin_token()),
        ("evaluator", person("eval-1", "evaluator", OFFICE)),
        (
            "coordinator A",
            person("crd-a", "schoolCoordinator", SCHOOL_A),
        ),
        (
            "coordinator B",
            person("crd-b", "schoolCoordinator", SCHOOL_B),
        ),
        ("teacher A", person("tch-a", "teacher", SCHOOL_A)),
        ("partner X", person("pc-x", "partnerCoordinator", PARTNER_X)),
        ("partner Y", person("pc-y", "partnerCoordinator", PARTNER_Y)),
        ("mentor X", person("mentor-x", "mentor", PARTNER_X)),
        ("student A0", person("stu-a-01", "student", SCHOOL_A)),
        ("guardian of A0", person("grd-a-1", "guardian", SCHOOL_A)),
        (
            "partner X client",
            client_token(app, PARTNER_X, "roster.read activities.read")
                .await
                .0,
        ),
        (
            "partner X client without roster.read",
            client_token(app, PARTNER_X, "activities.read").await.0,
        ),
        (
            "school A client",
            client_token(app, SCHOOL_A, "roster.read activities.read")
                .await
                .0,
        ),
    ]
}

fn upserted(items: &[&str]) -> Vec<String> {
    items.iter().map(|i| format!("Upserted:{i}")).collect()
}

/// Asserts what each principal receives from the whole feed.
async fn assert_matrix(app: &TestApp, expected: &BTreeMap<&str, Vec<String>>) {
    for (name, token) in matrix_principals(app).await {
        let events = read_all(app, &token, None, None, 4).await;
        let want = expected
            .get(name)
            .unwrap_or_else(|| panic!("no expectation for {name}"));
        assert_eq!(labels(&events), sorted(want), "what {name} receives");
    }
}

const ORG_A: &str = "Organization:org-school-a";
const P_A0: &str = "Person:stu-a-01";
const P_A5: &str = "Person:stu-a-06";
const P_A7: &str = "Person:stu-a-07";
const P_B1: &str = "Person:stu-b-02";
const PE_A0: &str = "PathwayEnrollment:pe-stu-a-01";
const CE_A0: &str = "CourseEnrollment:ce-stu-a-01";
const GL_A0: &str = "GuardianLink:gl-stu-a-01";
const C_A0: &str = "ConsentRecord:consent-stu-a-01-self";
const MS_A0_X: &str = "Mentorship:ms-a0-x";
const MS_A4_Y: &str = "Mentorship:ms-a4-y";
const MS_B1_X: &str = "Mentorship:ms-b1-x";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_principal_receives_exactly_the_changes_in_its_scope() {
    // Arrange (who may name whom: see `access_world`).
    let app = spawn_app().await;
    let aw = seed_access_world(&app.db).await;
    emit_matrix_events(&app, &aw).await;
    let everything = [
        ORG_A, P_A0, P_A5, P_A7, P_B1, PE_A0, CE_A0, GL_A0, C_A0, MS_A0_X, MS_A4_Y, MS_B1_X,
    ];
    let school_a = [
        ORG_A, P_A0, P_A5, P_A7, PE_A0, CE_A0, GL_A0, C_A0, MS_A0_X, MS_A4_Y,
    ];
    let partner_x = [ORG_A, P_A0, P_A5, C_A0, MS_A0_X, MS_B1_X];
    let own = [ORG_A, P_A0, PE_A0, CE_A0, GL_A0, C_A0, MS_A0_X];
    let expected: BTreeMap<&str, Vec<String>> = [
        ("programmeAdmin", upserted(&everything)),
        ("evaluator", upserted(&[ORG_A])),
        ("coordinator A", upserted(&school_a)),
        ("school A client", upserted(&school_a)),
        ("coordinator B", upserted(&[ORG_A, P_B1, MS_B1_X])),
        // tch-a does not teach stu-a-07 (off-a2).
        (
            "teacher A",
            upserted(&[
                ORG_A, P_A0, P_A5, PE_A0, CE_A0, GL_A0, C_A0, MS_A0_X, MS_A4_Y,
            ]),
        ),
        // Named students only (A0, A5); consents' existence; its own mentorships.
        ("partner X", upserted(&partner_x)),
        ("partner X client", upserted(&partner_x)),
        (
            "partner X client without roster.read",
            upserted(&[ORG_A, MS_A0_X, MS_B1_X]),
        ),
        // A0 has a mentorship with Y but no consent for Y.
        ("partner Y", upserted(&[ORG_A, MS_A4_Y])),
        // mentor-x mentors A0 (consent) and B1 (no effective consent); A5 is mentor-x2's.
        ("mentor X", upserted(&[ORG_A, P_A0, MS_A0_X, MS_B1_X])),
        ("student A0", upserted(&own)),
        ("guardian of A0", upserted(&own)),
    ]
    .into_iter()
    .collect();

    // Act / Assert
    assert_matrix(&app, &expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawal_revokes_access_for_the_partner_organisation_only() {
    // Arrange
    let app = spawn_app().await;
    let aw = seed_access_world(&app.db).await;
    emit_matrix_events(&app, &aw).await;
    let admin = app.admin_token();
    let partner = app.token_for("pc-x", &["partnerCoordinator"], PARTNER_X);
    let before = read_all(&app, &partner, None, None, 10).await;
    assert!(labels(&before).contains(&format!("Upserted:{P_A0}")));
    let (_, mark) = sync_window(&app, &admin).await;

    // Act: A0 withdraws the consent partner X's access rests on; then A0 changes again.
    let payload = withdraw(&app, &admin, "consent-stu-a-01-self").await;
    emit_changes(
        &app.db,
        &[("Person", id_of(&aw.people, "stu-a-01"), "stu-a-01", UPDATE)],
    )
    .await;

    // Assert: the withdrawal updated the consent, paused ms-a0-x and addressed accessRevoked
    // to partner X.
    assert_eq!(payload["accessRevoked"], json!(true));
    let after_withdrawal = read_all(&app, &admin, Some(&mark.to_string()), None, 10).await;
    assert_eq!(
        after_withdrawal
            .iter()
            .map(|e| e.label())
            .collect::<Vec<_>>(),
        upserted(&[C_A0, MS_A0_X, P_A0]),
        "the programme sees the writes, never the revocation"
    );
    let revoked = format!("AccessRevoked:{P_A0}");
    let mut partner_x = upserted(&[ORG_A, P_A5, C_A0, C_A0, MS_A0_X, MS_A0_X, MS_B1_X]);
    partner_x.push(revoked.clone());
    let mut mentor_x = upserted(&[ORG_A, MS_A0_X, MS_A0_X, MS_B1_X]);
    mentor_x.push(revoked.clone());
    let school_a = [
        ORG_A, P_A0, P_A0, P_A5, P_A7, PE_A0, CE_A0, GL_A0, C_A0, C_A0, MS_A0_X, MS_A0_X, MS_A4_Y,
    ];
    let own = [
        ORG_A, P_A0, P_A0, PE_A0, CE_A0, GL_A0, C_A0, C_A0, MS_A0_X, MS_A0_X,
    ];
    let expected: BTreeMap<&str, Vec<String>> = [
        (
            "programmeAdmin",
            upserted(&[
                ORG_A, P_A0, P_A0, P_A5, P_A7, P_B1, PE_A0, CE_A0, GL_A0, C_A0, C_A0, MS_A0_X,
                MS_A0_X, MS_A4_Y, MS_B1_X,
            ]),
        ),
        ("evaluator", upserted(&[ORG_A])),
        ("coordinator A", upserted(&school_a)),
        ("school A client", upserted(&school_a)),
        ("coordinator B", upserted(&[ORG_A, P_B1, MS_B1_X])),
        (
            "teacher A",
            upserted(&[
                ORG_A, P_A0, P_A0, P_A5, PE_A0, CE_A0, GL_A0, C_A0, C_A0, MS_A0_X, MS_A0_X, MS_A4_Y,
            ]),
        ),
        // No Upserted for A0 any more (not even for the changes made while it was named).
        ("partner X", partner_x.clone()),
        ("partner X client", partner_x),
        // A client that may not read people gets no revocation of a person either.
        (
            "partner X client without roster.read",
            upserted(&[ORG_A, MS_A0_X, MS_A0_X, MS_B1_X]),
        ),
        ("partner Y", upserted(&[ORG_A, MS_A4_Y])),
        ("mentor X", mentor_x),
        ("student A0", upserted(&own)),
        ("guardian of A0", upserted(&own)),
    ]
    .into_iter()
    .collect();
    assert_matrix(&app, &expected).await;

    // The revocation is the last of the withdrawal's events, before A0's next change.
    let partner_events = read_all(&app, &partner, Some(&mark.to_string()), None, 10).await;
    let kinds: Vec<String> = partner_events.iter().map(FeedEvent::label).collect();
    assert_eq!(
        kinds,
        vec![
            format!("Upserted:{C_A0}"),
            format!("Upserted:{MS_A0_X}"),
            revoked
        ]
    );
}

#[tokio::test]
async fn a_partner_reads_a_student_in_the_feed_minimised_and_audited() {
    // Arrange
    let app = spawn_app().await;
    let aw = seed_access_world(&app.db).await;
    let a0 = id_of(&aw.people, "stu-a-01");
    emit_changes(&app.db, &[("Person", a0, "stu-a-01", UPDATE)]).await;
    let query = "{ changes(types: [\"Person\"]) { events { ... on Upserted { node {
        ... on Person { sourcedId givenName familyName email classLevel } } } } } }";
    let partner = app.token_for("pc-x", &["partnerCoordinator"], PARTNER_X);
    let audited = || async {
        access_audit_event::Entity::find()
            .filter(access_audit_event::Column::EntityId.eq(a0))
            .all(&app.db)
            .await
            .expect("audit events")
    };

    // Act
    let by_admin = app.gql(query, json!({}), Some(&app.admin_token())).await;
    let after_admin = audited().await;
    let by_partner = app.gql(query, json!({}), Some(&partner)).await;

    // Assert: the programme sees the whole person and is not audited; the partner sees the
    // minimised view and its read is in the audit.
    let admin_node = &by_admin.data()["changes"]["events"][0]["node"];
    assert_eq!(admin_node["sourcedId"], json!("stu-a-01"));
    assert!(admin_node["givenName"].is_string(), "{admin_node}");
    assert!(after_admin.is_empty());
    let node = &by_partner.data()["changes"]["events"][0]["node"];
    assert_eq!(node["sourcedId"], json!("stu-a-01"));
    assert_eq!(
        (&node["givenName"], &node["familyName"], &node["email"]),
        (&Value::Null, &Value::Null, &Value::Null),
        "{node}"
    );
    let audit = audited().await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].principal, "pc-x");
    assert_eq!(audit[0].basis_sourced_id, "ms-a0-x");
    assert!(audit[0].fields.contains("sourcedId"), "{}", audit[0].fields);
}

#[tokio::test]
async fn a_deleted_record_is_reported_as_deleted_with_its_business_key() {
    // Arrange: a consent created and deleted, and two seeded records deleted (through the
    // write path's tombstone: there is no delete mutation yet).
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let admin = app.admin_token();
    research_consent(&app, &admin, &w.students_of(0)[1].person, "c-gone").await;
    delete_record::<consent_record::Entity>(&app.db, "ConsentRecord", "c-gone").await;
    delete_record::<guardian_link::Entity>(&app.db, "GuardianLink", "gl-stu-a-01").await;
    delete_record::<course_enrollment::Entity>(&app.db, "CourseEnrollment", "ce-stu-a-01").await;
    let school_a = app.token_for("crd-a", &["schoolCoordinator"], SCHOOL_A);
    let school_b = app.token_for("crd-b", &["schoolCoordinator"], SCHOOL_B);

    // Act
    let events = read_all(&app, &admin, None, None, 10).await;
    let seen_by_a = read_all(&app, &school_a, None, None, 10).await;
    let seen_by_b = read_all(&app, &school_b, None, None, 10).await;

    // Assert
    let found: Vec<(String, String, Option<String>, Value)> = events
        .iter()
        .map(|e| {
            (
                e.label(),
                e.operation.clone().unwrap_or_default(),
                e.status.clone(),
                e.natural_key.clone(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            // The create shows the record as it is now: a tombstone.
            (
                "Upserted:ConsentRecord:c-gone".to_owned(),
                "CREATE".to_owned(),
                Some("TOBEDELETED".to_owned()),
                Value::Null
            ),
            (
                "Deleted:ConsentRecord:c-gone".to_owned(),
                String::new(),
                None,
                Value::Null
            ),
            (
                "Deleted:GuardianLink:gl-stu-a-01".to_owned(),
                String::new(),
                None,
                json!({ "student": "stu-a-01", "guardian": "grd-a-1" })
            ),
            (
                "Deleted:CourseEnrollment:ce-stu-a-01".to_owned(),
                String::new(),
                None,
                json!({
                    "person": "stu-a-01",
                    "offering": "off-a",
                    "role": "student",
                    "beginDate": "2024-09-01"
                })
            ),
        ]
    );
    let raw = changes_raw(&app, Some(&admin), json!({ "after": "2", "first": 1 })).await;
    let deleted = &raw.data()["changes"]["events"][0];
    assert_eq!(
        deleted["id"],
        json!(global_id("GuardianLink", "gl-stu-a-01"))
    );
    assert!(
        deleted["deletedAt"]
            .as_str()
            .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()),
        "{deleted}"
    );
    // The school of the records sees the deletes; the other school nothing.
    assert_eq!(labels(&seen_by_a), labels(&events));
    assert!(seen_by_b.is_empty(), "{seen_by_b:?}");
}

#[tokio::test]
async fn a_caller_who_sees_little_scans_a_bounded_number_of_changes_per_call() {
    // Arrange: 60 changes school A may not see, then one it may.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let b1 = &w.students_of(1)[1].person;
    let invisible: Vec<_> = (0..60)
        .map(|_| ("Person", b1.id, b1.sourced_id.as_str(), UPDATE))
        .collect();
    emit_changes(&app.db, &invisible).await;
    let a1 = &w.students_of(0)[1].person;
    emit_changes(
        &app.db,
        &[("Person", a1.id, a1.sourced_id.as_str(), UPDATE)],
    )
    .await;
    let school_a = app.token_for("crd-a", &["schoolCoordinator"], SCHOOL_A);

    // Act
    let page = changes(&app, &school_a, None, None, None, 2).await;
    let all = read_all(&app, &school_a, None, None, 2).await;

    // Assert: ten times `first` examined, nothing returned, more to come.
    assert!(page.events.is_empty());
    assert_eq!((page.end_token.as_str(), page.has_more), ("20", true));
    assert_eq!(
        labels(&all),
        vec![format!("Upserted:Person:{}", a1.sourced_id)]
    );
    assert_eq!(seqs(&all), vec![61]);
}

#[tokio::test]
async fn a_page_costs_statements_per_type_not_per_event() {
    // Arrange: 40 changes alternating between people and consent records.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let consent = &w.consents[0];
    let mut events = Vec::new();
    for student in w.students.iter().cycle().take(20) {
        events.push((
            "Person",
            student.person.id,
            student.person.sourced_id.as_str(),
            UPDATE,
        ));
        events.push((
            "ConsentRecord",
            consent.id,
            consent.sourced_id.as_str(),
            UPDATE,
        ));
    }
    emit_changes(&app.db, &events).await;
    let admin = app.admin_token();
    let query = |first: u32| {
        format!(
            "{{ changes(first: {first}) {{ endToken events {{ ... on Upserted {{ changeSeq \
             node {{ ... on Record {{ sourcedId version }} }} }} }} }} }}"
        )
    };

    // Act
    let five = app.statements_for(&query(5), json!({}), &admin).await;
    let forty = app.statements_for(&query(40), json!({}), &admin).await;

    // Assert: the caller's organisation, the window, the events, one load per type.
    assert_eq!(
        five, forty,
        "{five} statements for 5 events, {forty} for 40"
    );
    assert!(forty <= 5, "{forty} statements for a page of two types");
}

/// Writer `k`: 20 writes on its own adult student through the mutations: a consent for partner
/// X, a mentorship proposed and activated, then pause, resume, withdraw the consent (which
/// pauses the mentorship and revokes X's access), record a new consent, resume, and again.
fn mentorship_writer(app: Arc<TestApp>, w: Arc<World>, k: usize) -> Writer {
    Box::pin(async move {
        let admin = app.admin_token();
        let student = w.students_of(k % 2)[1 + k / 2].person.clone();
        let mentorship = format!("ms-w{k}");
        let mut consent = 0;
        partner_consent(&app, &admin, &student, &format!("c-w{k}-{consent}")).await;
        mutate(
            &app,
            &admin,
            PROPOSE,
            "proposeMentorship",
            json!({
                "mentor": w.mentor.gid(),
                "student": student.gid(),
                "partnerOrganization": global_id("Organization", PARTNER_X),
                "pathway": w.pathway.gid(),
                "beginDate": "2026-09-01",
                "sourcedId": mentorship,
            }),
        )
        .await;
        transition(&app, &admin, "activateMentorship", &mentorship).await;
        for step in 0..17 {
            match step % 5 {
                0 => transition(&app, &admin, "pauseMentorship", &mentorship).await,
                1 | 4 => transition(&app, &admin, "resumeMentorship", &mentorship).await,
                2 => {
                    let payload = withdraw(&app, &admin, &format!("c-w{k}-{consent}")).await;
                    assert_eq!(payload["accessRevoked"], json!(true));
                }
                _ => {
                    consent += 1;
                    partner_consent(&app, &admin, &student, &format!("c-w{k}-{consent}")).await;
                }
            }
        }
    })
}

/// The deleting writer: 10 consents created through the mutation and deleted through the
/// write path's tombstone.
fn deleting_writer(app: Arc<TestApp>, w: Arc<World>) -> Writer {
    Box::pin(async move {
        let admin = app.admin_token();
        let student = w.students_of(0)[4].person.clone();
        for n in 0..10 {
            let sid = format!("c-del-{n}");
            research_consent(&app, &admin, &student, &sid).await;
            delete_record::<consent_record::Entity>(&app.db, "ConsentRecord", &sid).await;
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_writers_and_a_paging_reader_agree() {
    // Arrange: six mentorship writers on six adult students, and a deleting writer.
    let app = Arc::new(spawn_app().await);
    let w = Arc::new(seed_world(&app.db).await);
    for k in 0..6 {
        set_age(&app, &w.students_of(k % 2)[1 + k / 2].person, 20).await;
    }
    let mut writers: Vec<Writer> = (0..6)
        .map(|k| mentorship_writer(app.clone(), w.clone(), k))
        .collect();
    writers.push(deleting_writer(app.clone(), w.clone()));
    let admin = app.admin_token();

    // Act: the proof pages 7 at a time while the writers run, then to the end.
    let proof = mirror_from_feed(&app, &admin, &["ConsentRecord", "Mentorship"], 7, writers).await;

    // Assert (the proof itself asserted mirror = database, order and completeness).
    assert_eq!(proof.start, 0);
    // 6 × 20 mentorship-writer writes emit 6 × (20 + 3 pauses + 3 revocations) events; the
    // deleting writer 20.
    assert_eq!(proof.newest, 6 * 26 + 20);
    assert_eq!(proof.addressed.len(), 18, "one revocation per withdrawal");
    assert!(proof.pages_while_writing > 0);
    let deleted = proof
        .mirror
        .events
        .iter()
        .filter(|e| e.kind == "Deleted")
        .count();
    assert_eq!(deleted, 10);
    // Partner X receives exactly the revocations addressed to it.
    let partner = app.token_for("pc-x", &["partnerCoordinator"], PARTNER_X);
    let partner_events = read_all(&app, &partner, None, None, 50).await;
    let revoked: Vec<i64> = partner_events
        .iter()
        .filter(|e| e.kind == "AccessRevoked")
        .map(|e| e.seq)
        .collect();
    assert_eq!(revoked, proof.addressed);
}

const UPSERT_STUDENTS: &str = "mutation($input: UpsertStudentsInput!) {
  upsertStudents(input: $input) { createdCount updatedCount unchangedCount failedCount
    userErrors { field code message }
    results { outcome userErrors { field code message } } }
}";

const CREATE_PERSON: &str = "mutation($input: CreatePersonInput!) {
  createPerson(input: $input) { person { sourcedId version } userErrors { field code message } }
}";

const UPDATE_PERSON: &str = "mutation($input: UpdatePersonInput!) {
  updatePerson(input: $input) { person { sourcedId version } userErrors { field code message } }
}";

const DELETE_PERSON: &str = "mutation($input: DeletePersonInput!) {
  deletePerson(input: $input) { userErrors { field code message } }
}";

/// Roster writer `k` of school `school`: four batches of 25 new students by the school's own
/// keys, the same batches again (all unchanged: no events), then every student's class level
/// changed in one batch (25 updates).
fn roster_writer(app: Arc<TestApp>, w: Arc<World>, school: usize, k: usize) -> Writer {
    Box::pin(async move {
        let token = crate::consents::coordinator_token(&app, &w, school);
        let item = |n: usize, level: &str| {
            json!({
                "externalId": { "system": "sis", "idType": "STRN", "identifier": format!("S{school}-W{k}-{n}") },
                "givenName": format!("Given {n}"), "familyName": format!("Writer {k}"),
                "classLevel": level, "dateOfBirth": "2010-05-01",
            })
        };
        let send = |items: Vec<Value>| {
            let app = app.clone();
            let token = token.clone();
            async move {
                let response = app
                    .gql(
                        UPSERT_STUDENTS,
                        json!({ "input": { "key": "EXTERNAL_ID", "items": items } }),
                        Some(&token),
                    )
                    .await;
                let payload = response.data()["upsertStudents"].clone();
                assert_eq!(
                    payload["failedCount"],
                    json!(0),
                    "upsert refused: {payload}"
                );
                payload
            }
        };
        for batch in 0..4 {
            let items = (batch * 25..batch * 25 + 25)
                .map(|n| item(n, "S4"))
                .collect();
            assert_eq!(send(items).await["createdCount"], json!(25));
        }
        for batch in 0..4 {
            let items = (batch * 25..batch * 25 + 25)
                .map(|n| item(n, "S4"))
                .collect();
            assert_eq!(send(items).await["unchangedCount"], json!(25));
        }
        let items = (0..25).map(|n| item(n, "S5")).collect();
        assert_eq!(send(items).await["updatedCount"], json!(25));
    })
}

/// The people writer: programme staff create a person, update them twice and delete them, ten
/// times over.
fn people_writer(app: Arc<TestApp>, w: Arc<World>) -> Writer {
    Box::pin(async move {
        let staff = crate::consents::staff_token(&app, &w);
        for n in 0..10 {
            let sid = format!("p-writer-{n}");
            let created = mutate(
                &app,
                &staff,
                CREATE_PERSON,
                "createPerson",
                json!({ "sourcedId": sid, "givenName": "Pat", "familyName": format!("Writer {n}"),
                        "primaryOrg": global_id("Organization", OFFICE) }),
            )
            .await;
            let mut version = created["person"]["version"].as_i64().expect("version");
            for name in ["Pat A", "Pat B"] {
                let updated = mutate(
                    &app,
                    &staff,
                    UPDATE_PERSON,
                    "updatePerson",
                    json!({ "person": sid, "expectedVersion": version, "preferredName": name }),
                )
                .await;
                version = updated["person"]["version"].as_i64().expect("version");
            }
            mutate(
                &app,
                &staff,
                DELETE_PERSON,
                "deletePerson",
                json!({ "person": sid, "expectedVersion": version }),
            )
            .await;
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bulk_upserts_updates_and_deletes_from_many_writers_reach_the_mirror() {
    // Arrange: three roster writers per school and a people writer, all at once.
    let app = Arc::new(spawn_app().await);
    let w = Arc::new(seed_world(&app.db).await);
    let mut writers: Vec<Writer> = (0..6)
        .map(|k| roster_writer(app.clone(), w.clone(), k % 2, k))
        .collect();
    writers.push(people_writer(app.clone(), w.clone()));
    let admin = app.admin_token();

    // Act: the proof pages 11 at a time while the writers run, then to the end.
    let proof = mirror_from_feed(
        &app,
        &admin,
        &["Person", "RoleAssignment", "ExternalId"],
        11,
        writers,
    )
    .await;

    // Assert (the proof asserted mirror = database, order and completeness): 6 writers × 100
    // students, each a person, a student role and a key (3 events), plus 25 updates each; the
    // unchanged re-sends wrote nothing; the people writer's 10 × (create + 2 updates + delete)
    // plus the primary role a created person gets, if any, are counted from the database.
    assert!(proof.pages_while_writing > 0);
    let deleted = proof
        .mirror
        .events
        .iter()
        .filter(|e| e.kind == "Deleted")
        .count();
    assert_eq!(deleted, 10);
    let roster_events = 6 * (100 * 3 + 25);
    let delivered = proof.mirror.events.len();
    assert!(
        delivered >= roster_events + 40,
        "{delivered} events delivered, at least {} expected",
        roster_events + 40
    );
    assert_eq!(
        i64::try_from(delivered).expect("count"),
        proof.newest - proof.start,
        "no event of this proof is addressed to an organisation"
    );
}
