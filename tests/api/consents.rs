//! Recording and withdrawing consent (DOMAIN.md area A, section 5): who may, validation as user
//! errors, optimistic concurrency, and what a withdrawal does to mentorships, the change feed and
//! the partner's access on the very next request.

use chrono::{Duration, Months, Utc};
use entity::{change_event, consent_record, mentorship, person, status_history};
use integration_tests::fixtures::{
    OFFICE, PARTNER_X, Ref, SCHOOL_A, SCHOOL_B, World, add_consent, add_mentorship, seed_world,
};
use integration_tests::{GqlResponse, TestApp, global_id, spawn_app};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use serde_json::{Value, json};

const CREATE: &str = "mutation($input: CreateConsentRecordInput!) {
  createConsentRecord(input: $input) {
    consentRecord { id sourcedId version purpose purposeExtension giverRelationship isActive
      withdrawnAt picsVersion evidenceRef student { sourcedId } givenBy { sourcedId }
      scopeOrg { sourcedId } }
    userErrors { field code message }
  }
}";

const WITHDRAW: &str = "mutation($input: WithdrawConsentRecordInput!) {
  withdrawConsentRecord(input: $input) {
    consentRecord { sourcedId version isActive withdrawnAt }
    pausedMentorships { sourcedId state version }
    accessRevoked
    userErrors { field code message }
  }
}";

/// A token for a seeded person acting in `roles` for `org`.
pub fn person_token(app: &TestApp, person: &str, roles: &[&str], org: &str) -> String {
    app.token_for(person, roles, org)
}

pub fn staff_token(app: &TestApp, w: &World) -> String {
    person_token(app, &w.staff.sourced_id, &["programmeStaff"], OFFICE)
}

pub fn coordinator_token(app: &TestApp, w: &World, school: usize) -> String {
    let org = if school == 0 { SCHOOL_A } else { SCHOOL_B };
    person_token(
        app,
        &w.school_people[school].coordinator.sourced_id,
        &["schoolCoordinator"],
        org,
    )
}

pub fn partner_token(app: &TestApp, w: &World) -> String {
    person_token(
        app,
        &w.partner_coordinator.sourced_id,
        &["partnerCoordinator"],
        PARTNER_X,
    )
}

pub fn mentor_token(app: &TestApp, w: &World) -> String {
    person_token(app, &w.mentor.sourced_id, &["mentor"], PARTNER_X)
}

/// An integration client's access token for `org` with `scopes`.
pub async fn client_token(app: &TestApp, org: &str, scopes: &str) -> (String, String) {
    let issued = api::service::clients::create(&app.db, org, scopes, None, "test")
        .await
        .expect("create client");
    let response = app
        .client
        .post(format!("{}/oauth/token", app.address))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", issued.client_id.as_str()),
            ("client_secret", issued.client_secret.as_str()),
        ])
        .send()
        .await
        .expect("token request");
    let body: Value = response.json().await.expect("token body");
    let token = body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();
    (token, issued.client_id)
}

/// Sets a person's date of birth to `years` years ago (a minor under 18, an adult from 18).
pub async fn set_age(app: &TestApp, person: &Ref, years: u32) {
    let born = (Utc::now().date_naive() - Duration::days(2))
        .checked_sub_months(Months::new(years * 12))
        .expect("a birth date");
    person::Entity::update(person::ActiveModel {
        id: Set(person.id),
        date_of_birth: Set(Some(born)),
        ..Default::default()
    })
    .exec(&app.db)
    .await
    .expect("set the date of birth");
}

/// Rows of a table, for "nothing was written" checks.
pub async fn counts(app: &TestApp) -> (u64, u64, u64) {
    (
        consent_record::Entity::find()
            .count(&app.db)
            .await
            .expect("count consents"),
        status_history::Entity::find()
            .count(&app.db)
            .await
            .expect("count history"),
        change_event::Entity::find()
            .count(&app.db)
            .await
            .expect("count events"),
    )
}

/// Change events in sequence order.
pub async fn events(app: &TestApp) -> Vec<change_event::Model> {
    change_event::Entity::find()
        .order_by_asc(change_event::Column::Seq)
        .all(&app.db)
        .await
        .expect("change events")
}

/// The status history of one record, oldest first.
pub async fn history(app: &TestApp, entity_type: &str, id: i64) -> Vec<status_history::Model> {
    status_history::Entity::find()
        .filter(status_history::Column::EntityType.eq(entity_type))
        .filter(status_history::Column::EntityId.eq(id))
        .order_by_asc(status_history::Column::Id)
        .all(&app.db)
        .await
        .expect("status history")
}

async fn create(app: &TestApp, token: &str, input: Value) -> GqlResponse {
    app.gql(CREATE, json!({ "input": input }), Some(token))
        .await
}

async fn withdraw(app: &TestApp, token: &str, input: Value) -> GqlResponse {
    app.gql(WITHDRAW, json!({ "input": input }), Some(token))
        .await
}

/// A valid mediaPhotoVideo consent given by the student.
fn media_consent(student: &str) -> Value {
    json!({
        "student": global_id("Person", student),
        "givenBy": global_id("Person", student),
        "giverRelationship": "SELF",
        "purpose": "mediaPhotoVideo",
        "picsVersion": "PICS-2026-1",
    })
}

fn user_errors(response: &GqlResponse, mutation: &str) -> Vec<Value> {
    response.data()[mutation]["userErrors"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_school_coordinator_records_a_consent_for_a_student_of_their_school() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = &w.students_of(0)[1].person;
    let guardian = &w.school_people[0].guardian;
    let before = events(&app).await.len();

    // Act
    let response = create(
        &app,
        &coordinator_token(&app, &w, 0),
        json!({
            "student": student.gid(),
            "givenBy": guardian.gid(),
            "giverRelationship": "PARENTAL_RESPONSIBILITY",
            "purpose": "shareWithPartnerMentor",
            "scopeOrg": global_id("Organization", PARTNER_X),
            "picsVersion": "PICS-2026-1",
            "evidenceRef": "form-2026-0042",
            "sourcedId": "consent-new-1",
        }),
    )
    .await;

    // Assert
    let payload = &response.data()["createConsentRecord"];
    assert_eq!(payload["userErrors"], json!([]));
    let record = &payload["consentRecord"];
    assert_eq!(record["sourcedId"], "consent-new-1");
    assert_eq!(record["version"], 1);
    assert_eq!(record["purpose"], "SHARE_WITH_PARTNER_MENTOR");
    assert_eq!(record["giverRelationship"], "PARENTAL_RESPONSIBILITY");
    assert_eq!(record["isActive"], true);
    assert_eq!(record["withdrawnAt"], Value::Null);
    assert_eq!(record["evidenceRef"], "form-2026-0042");
    assert_eq!(record["student"]["sourcedId"], student.sourced_id.as_str());
    assert_eq!(record["givenBy"]["sourcedId"], guardian.sourced_id.as_str());
    assert_eq!(record["scopeOrg"]["sourcedId"], PARTNER_X);
    let row = consent_record::Entity::find()
        .filter(consent_record::Column::SourcedId.eq("consent-new-1"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the consent row");
    assert_eq!(
        row.created_by.as_deref(),
        Some(w.school_people[0].coordinator.sourced_id.as_str())
    );
    let steps = history(&app, "ConsentRecord", row.id).await;
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].from_state, None);
    assert_eq!(steps[0].to_state, "active");
    assert_eq!(
        steps[0].actor.as_deref(),
        Some(w.school_people[0].coordinator.sourced_id.as_str())
    );
    let feed = events(&app).await;
    assert_eq!(feed.len(), before + 1);
    let event = feed.last().unwrap();
    assert_eq!(
        (event.entity_type.as_str(), event.sourced_id.as_str()),
        ("ConsentRecord", "consent-new-1")
    );
    assert_eq!((event.operation.as_str(), event.version), ("create", 1));
}

#[tokio::test]
async fn a_student_records_their_own_consent_and_a_guardian_one_for_their_ward() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = &w.students_of(0)[1].person;
    let guardian = &w.school_people[0].guardian;
    let student_token = person_token(&app, &student.sourced_id, &["student"], SCHOOL_A);
    let guardian_token = person_token(&app, &guardian.sourced_id, &["guardian"], SCHOOL_A);

    // Act
    let own = create(&app, &student_token, media_consent(&student.sourced_id)).await;
    let mut by_guardian = media_consent(&student.sourced_id);
    by_guardian["givenBy"] = json!(guardian.gid());
    by_guardian["giverRelationship"] = json!("PARENTAL_RESPONSIBILITY");
    let ward = create(&app, &guardian_token, by_guardian).await;

    // Assert
    let own = &own.data()["createConsentRecord"];
    assert_eq!(own["userErrors"], json!([]));
    assert_eq!(own["consentRecord"]["giverRelationship"], "SELF");
    assert_eq!(
        own["consentRecord"]["givenBy"]["sourcedId"],
        student.sourced_id.as_str()
    );
    let ward = &ward.data()["createConsentRecord"];
    assert_eq!(ward["userErrors"], json!([]));
    assert_eq!(
        ward["consentRecord"]["givenBy"]["sourcedId"],
        guardian.sourced_id.as_str()
    );
}

#[tokio::test]
async fn programme_staff_record_a_consent_with_an_extension_purpose() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = &w.students_of(1)[2].person;
    let mut input = media_consent(&student.sourced_id);
    input["purpose"] = json!("ext:careerFair.2026");

    // Act
    let response = create(&app, &staff_token(&app, &w), input).await;

    // Assert
    let record = &response.data()["createConsentRecord"]["consentRecord"];
    assert_eq!(record["purpose"], "EXTENSION");
    assert_eq!(record["purposeExtension"], "ext:careerFair.2026");
    // The minted sourcedId is a UUID v7.
    let minted = uuid::Uuid::parse_str(record["sourcedId"].as_str().unwrap()).unwrap();
    assert_eq!(minted.get_version_num(), 7);
}

#[tokio::test]
async fn partners_mentors_teachers_and_evaluators_may_not_record_consents() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = &w.students_of(0)[0].person;
    let callers = [
        partner_token(&app, &w),
        mentor_token(&app, &w),
        person_token(
            &app,
            &w.school_people[0].teacher.sourced_id,
            &["teacher"],
            SCHOOL_A,
        ),
        app.token(&["evaluator"], "org-office"),
        app.token(&["academicLead"], "org-unit"),
    ];
    let before = counts(&app).await;

    for token in &callers {
        // Act
        let response = create(&app, token, media_consent(&student.sourced_id)).await;

        // Assert
        assert_eq!(
            response.error_code(),
            Some("FORBIDDEN"),
            "{}",
            response.body
        );
        assert_eq!(response.body["data"]["createConsentRecord"], Value::Null);
    }
    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn without_a_token_recording_a_consent_is_unauthenticated() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;

    // Act
    let response = app
        .gql(
            CREATE,
            json!({ "input": media_consent(&w.students[0].person.sourced_id) }),
            None,
        )
        .await;

    // Assert
    assert_eq!(response.error_code(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn students_and_guardians_record_only_consents_they_give_themselves() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = &w.students_of(0)[1].person;
    let other = &w.students_of(0)[2].person;
    let guardian = &w.school_people[0].guardian;
    let student_token = person_token(&app, &student.sourced_id, &["student"], SCHOOL_A);
    let guardian_token = person_token(&app, &guardian.sourced_id, &["guardian"], SCHOOL_A);
    let before = counts(&app).await;

    // Act: the student records a consent in their guardian's name; the guardian records one for
    // a student they are not linked to; the student records one for a classmate.
    let mut as_guardian = media_consent(&student.sourced_id);
    as_guardian["givenBy"] = json!(guardian.gid());
    as_guardian["giverRelationship"] = json!("PARENTAL_RESPONSIBILITY");
    let forged = create(&app, &student_token, as_guardian).await;
    let mut not_ward = media_consent(&other.sourced_id);
    not_ward["givenBy"] = json!(guardian.gid());
    not_ward["giverRelationship"] = json!("GUARDIAN");
    let stranger = create(&app, &guardian_token, not_ward).await;
    let classmate = create(&app, &student_token, media_consent(&other.sourced_id)).await;

    // Assert
    assert_eq!(forged.error_code(), Some("FORBIDDEN"));
    assert_eq!(stranger.error_code(), Some("NOT_FOUND"));
    assert_eq!(classmate.error_code(), Some("FORBIDDEN"));
    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn a_student_outside_the_callers_reach_is_not_found_exactly_like_a_missing_one() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = coordinator_token(&app, &w, 0);
    let other_school = &w.students_of(1)[0].person;
    let before = counts(&app).await;

    // Act
    let invisible = create(&app, &token, media_consent(&other_school.sourced_id)).await;
    let missing = create(&app, &token, media_consent("stu-nobody")).await;

    // Assert
    assert_eq!(invisible.error_code(), Some("NOT_FOUND"));
    assert_eq!(missing.error_code(), Some("NOT_FOUND"));
    assert_eq!(
        invisible.body["errors"][0]["message"],
        missing.body["errors"][0]["message"]
    );
    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn invalid_consents_are_user_errors_with_field_paths_and_write_nothing() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = staff_token(&app, &w);
    let student = &w.students_of(0)[1].person;
    let guardian_without_responsibility = &w.school_people[1].guardian;
    let student_b = &w.students_of(1)[0].person;
    let future = (Utc::now() + Duration::days(2)).to_rfc3339();
    let base = media_consent(&student.sourced_id);
    let with = |changes: Value| {
        let mut input = base.clone();
        for (k, v) in changes.as_object().unwrap() {
            input[k] = v.clone();
        }
        input
    };
    let cases = [
        (
            with(json!({ "purpose": "shareWithPartnerMentor" })),
            "scopeOrg",
        ),
        (
            with(
                json!({ "purpose": "internshipPlacement", "scopeOrg": global_id("Organization", SCHOOL_A) }),
            ),
            "scopeOrg",
        ),
        (
            with(json!({ "purpose": "shareResultsWithPartner", "scopeOrg": "org-nowhere" })),
            "scopeOrg",
        ),
        (with(json!({ "purpose": "marketing" })), "purpose"),
        (with(json!({ "purpose": "ext:" })), "purpose"),
        (
            with(json!({ "givenBy": w.school_people[0].guardian.gid() })),
            "givenBy",
        ),
        (with(json!({ "giverRelationship": "GUARDIAN" })), "givenBy"),
        (
            json!({
                "student": student_b.gid(),
                "givenBy": guardian_without_responsibility.gid(),
                "giverRelationship": "PARENTAL_RESPONSIBILITY",
                "purpose": "mediaPhotoVideo",
                "picsVersion": "PICS-2026-1",
            }),
            "givenBy",
        ),
        (with(json!({ "picsVersion": "  " })), "picsVersion"),
        (with(json!({ "grantedAt": future })), "grantedAt"),
        (
            with(json!({ "evidenceRef": "x".repeat(300) })),
            "evidenceRef",
        ),
        (with(json!({ "sourcedId": "has space" })), "sourcedId"),
        (
            with(json!({ "student": global_id("Organization", SCHOOL_A) })),
            "student",
        ),
    ];
    let before = counts(&app).await;

    for (input, field) in cases {
        // Act
        let response = create(&app, &token, input.clone()).await;

        // Assert
        let errors = user_errors(&response, "createConsentRecord");
        assert_eq!(errors.len(), 1, "{input}: {}", response.body);
        assert_eq!(errors[0]["code"], "BAD_USER_INPUT", "{input}");
        assert_eq!(errors[0]["field"], json!(["input", field]), "{input}");
        assert_eq!(
            response.data()["createConsentRecord"]["consentRecord"],
            Value::Null
        );
    }
    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn a_sourced_id_in_use_is_a_duplicate_user_error() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = staff_token(&app, &w);
    let mut input = media_consent(&w.students[1].person.sourced_id);
    input["sourcedId"] = json!(w.consents[0].sourced_id);
    let before = counts(&app).await;

    // Act
    let response = create(&app, &token, input).await;

    // Assert
    let errors = user_errors(&response, "createConsentRecord");
    assert_eq!(errors[0]["code"], "DUPLICATE");
    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn a_school_client_needs_consent_write_to_record_consents() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = &w.students_of(0)[1].person;
    let (read_only, _) = client_token(&app, SCHOOL_A, "roster.read").await;
    let (writer, client_id) = client_token(&app, SCHOOL_A, "consent.write").await;
    let (partner, _) = client_token(&app, PARTNER_X, "activities.write").await;

    // Act
    let refused = create(&app, &read_only, media_consent(&student.sourced_id)).await;
    let partner_refused = create(&app, &partner, media_consent(&student.sourced_id)).await;
    let accepted = create(&app, &writer, media_consent(&student.sourced_id)).await;

    // Assert
    assert_eq!(refused.error_code(), Some("FORBIDDEN"));
    assert_eq!(partner_refused.error_code(), Some("FORBIDDEN"));
    let sid = accepted.data()["createConsentRecord"]["consentRecord"]["sourcedId"]
        .as_str()
        .expect("created")
        .to_owned();
    let row = consent_record::Entity::find()
        .filter(consent_record::Column::SourcedId.eq(sid))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let steps = history(&app, "ConsentRecord", row.id).await;
    assert_eq!(steps[0].client_id.as_deref(), Some(client_id.as_str()));
    assert_eq!(steps[0].actor.as_deref(), Some(client_id.as_str()));
}

#[tokio::test]
async fn withdrawing_a_consent_records_who_when_and_why_and_emits_an_update() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = &w.students_of(0)[1].person;
    let consent = add_consent(
        &app.db,
        "consent-media-1",
        student,
        student,
        "self",
        "mediaPhotoVideo",
        None,
    )
    .await;
    let token = coordinator_token(&app, &w, 0);
    let before = events(&app).await.len();

    // Act
    let response = withdraw(
        &app,
        &token,
        json!({ "consentRecord": consent.gid(), "expectedVersion": 1, "reason": "Letter from the student" }),
    )
    .await;

    // Assert
    let payload = &response.data()["withdrawConsentRecord"];
    assert_eq!(payload["userErrors"], json!([]));
    assert_eq!(payload["consentRecord"]["version"], 2);
    assert_eq!(payload["consentRecord"]["isActive"], false);
    assert!(payload["consentRecord"]["withdrawnAt"].is_string());
    assert_eq!(payload["pausedMentorships"], json!([]));
    assert_eq!(payload["accessRevoked"], false);
    let steps = history(&app, "ConsentRecord", consent.id).await;
    assert_eq!(steps.len(), 1);
    assert_eq!(
        (steps[0].from_state.as_deref(), steps[0].to_state.as_str()),
        (Some("active"), "withdrawn")
    );
    assert_eq!(steps[0].reason.as_deref(), Some("Letter from the student"));
    assert_eq!(
        steps[0].actor.as_deref(),
        Some(w.school_people[0].coordinator.sourced_id.as_str())
    );
    assert_eq!(steps[0].client_id, None);
    let read = app
        .gql(
            "query($id: ID!) { node(id: $id) { ... on ConsentRecord {
               statusHistory { fromState toState reason actor clientId } } } }",
            json!({ "id": consent.gid() }),
            Some(&token),
        )
        .await;
    assert_eq!(
        read.data()["node"]["statusHistory"],
        json!([{ "fromState": "active", "toState": "withdrawn",
                 "reason": "Letter from the student",
                 "actor": w.school_people[0].coordinator.sourced_id, "clientId": null }]),
        "{:?}",
        read.body
    );
    let feed = events(&app).await;
    assert_eq!(feed.len(), before + 1);
    let event = feed.last().unwrap();
    assert_eq!(
        (
            event.entity_type.as_str(),
            event.operation.as_str(),
            event.version
        ),
        ("ConsentRecord", "update", 2)
    );
}

#[tokio::test]
async fn withdrawing_twice_is_an_invalid_transition_and_changes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = staff_token(&app, &w);
    let consent = &w.consents[0];
    withdraw(&app, &token, json!({ "consentRecord": consent.gid() }))
        .await
        .data();
    let before = counts(&app).await;

    // Act
    let response = withdraw(&app, &token, json!({ "consentRecord": consent.gid() })).await;

    // Assert
    let errors = user_errors(&response, "withdrawConsentRecord");
    assert_eq!(errors[0]["code"], "INVALID_TRANSITION");
    assert_eq!(errors[0]["field"], Value::Null);
    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn a_stale_expected_version_is_a_version_conflict_and_changes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = staff_token(&app, &w);
    let consent = &w.consents[2];
    let before = counts(&app).await;

    // Act
    let response = withdraw(
        &app,
        &token,
        json!({ "consentRecord": consent.gid(), "expectedVersion": 7 }),
    )
    .await;

    // Assert
    let errors = user_errors(&response, "withdrawConsentRecord");
    assert_eq!(errors[0]["code"], "VERSION_CONFLICT");
    assert!(
        errors[0]["message"].as_str().unwrap().contains("version 1"),
        "{}",
        errors[0]
    );
    assert_eq!(counts(&app).await, before);
    let row = consent_record::Entity::find_by_id(consent.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.version, row.withdrawn_at), (1, None));
}

#[tokio::test]
async fn only_the_giver_among_students_and_guardians_may_withdraw_and_partners_never() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = &w.students_of(0)[0];
    // consents[0] is the student's own, consents[1] their guardian's.
    let guardians_consent = &w.consents[1];
    let student_token = person_token(&app, &student.person.sourced_id, &["student"], SCHOOL_A);
    let before = counts(&app).await;

    // Act
    let by_student = withdraw(
        &app,
        &student_token,
        json!({ "consentRecord": guardians_consent.gid() }),
    )
    .await;
    let by_partner = withdraw(
        &app,
        &partner_token(&app, &w),
        json!({ "consentRecord": w.consents[0].gid() }),
    )
    .await;
    let by_mentor = withdraw(
        &app,
        &mentor_token(&app, &w),
        json!({ "consentRecord": w.consents[0].gid() }),
    )
    .await;
    let other_school = withdraw(
        &app,
        &coordinator_token(&app, &w, 1),
        json!({ "consentRecord": w.consents[0].gid() }),
    )
    .await;

    // Assert
    assert_eq!(by_student.error_code(), Some("FORBIDDEN"));
    assert_eq!(by_partner.error_code(), Some("FORBIDDEN"));
    assert_eq!(by_mentor.error_code(), Some("FORBIDDEN"));
    assert_eq!(other_school.error_code(), Some("NOT_FOUND"));
    assert_eq!(counts(&app).await, before);
}

/// The first student of school A: a minor with their own and their guardian's
/// shareWithPartnerMentor consent for partner X, and an active mentorship with partner X's mentor.
async fn mentored_student(app: &TestApp, w: &World) -> Ref {
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

/// seq, type, sourcedId, operation, version, audience of a change event.
type EventSummary<'a> = (i64, &'a str, &'a str, &'a str, i32, Option<i64>);

const READ_STUDENT: &str = "query($id: ID!) {
  node(id: $id) { ... on Person { sourcedId preferredName } }
  mentorships { edges { node { sourcedId state student { sourcedId preferredName } } } }
}";

#[tokio::test]
async fn the_partner_and_the_mentor_lose_the_student_on_the_very_next_request_after_a_withdrawal() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let mentorship = mentored_student(&app, &w).await;
    let student = &w.students[0];
    let preferred = student.preferred_name.clone().expect("a preferred name");
    let readers = [partner_token(&app, &w), mentor_token(&app, &w)];
    let vars = json!({ "id": student.person.gid() });
    for token in &readers {
        let before = app.gql(READ_STUDENT, vars.clone(), Some(token)).await;
        assert_eq!(before.data()["node"]["preferredName"], preferred.as_str());
        assert_eq!(
            before.data()["mentorships"]["edges"][0]["node"]["student"]["preferredName"],
            preferred.as_str()
        );
    }
    let guardian_token = person_token(
        &app,
        &w.school_people[0].guardian.sourced_id,
        &["guardian"],
        SCHOOL_A,
    );

    // Act: the guardian withdraws their consent (the student is a minor).
    let withdrawal = withdraw(
        &app,
        &guardian_token,
        json!({ "consentRecord": w.consents[1].gid(), "reason": "We changed our mind" }),
    )
    .await;
    let after: Vec<GqlResponse> = {
        let mut out = Vec::new();
        for token in &readers {
            out.push(app.gql(READ_STUDENT, vars.clone(), Some(token)).await);
        }
        out
    };

    // Assert
    let payload = &withdrawal.data()["withdrawConsentRecord"];
    assert_eq!(payload["userErrors"], json!([]));
    assert_eq!(
        payload["pausedMentorships"],
        json!([{ "sourcedId": mentorship.sourced_id, "state": "PAUSED", "version": 2 }])
    );
    assert_eq!(payload["accessRevoked"], true);
    for response in &after {
        let data = response.data();
        assert_eq!(data["node"], Value::Null, "{}", response.body);
        let edges = data["mentorships"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), 1);
        assert_eq!(edges[0]["node"]["state"], "PAUSED");
        assert_eq!(edges[0]["node"]["student"], Value::Null);
    }
}

#[tokio::test]
async fn a_withdrawal_that_ends_effective_consent_pauses_the_mentorships_and_revokes_access() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = &w.students[0].person;
    let active = mentored_student(&app, &w).await;
    let student_token = person_token(&app, &student.sourced_id, &["student"], SCHOOL_A);
    let first_new_seq = events(&app).await.last().map_or(1, |e| e.seq + 1);

    // Act: the student withdraws their own consent.
    let response = withdraw(
        &app,
        &student_token,
        json!({ "consentRecord": w.consents[0].gid(), "expectedVersion": 1 }),
    )
    .await;

    // Assert
    assert_eq!(
        response.data()["withdrawConsentRecord"]["userErrors"],
        json!([])
    );
    let row = mentorship::Entity::find_by_id(active.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.state.as_str(), row.version), ("paused", 2));
    let steps = history(&app, "Mentorship", active.id).await;
    assert_eq!(steps.len(), 1);
    assert_eq!(
        (steps[0].from_state.as_deref(), steps[0].to_state.as_str()),
        (Some("active"), "paused")
    );
    assert_eq!(steps[0].reason.as_deref(), Some("consent withdrawn"));
    assert_eq!(steps[0].actor.as_deref(), Some(student.sourced_id.as_str()));
    let feed: Vec<_> = events(&app)
        .await
        .into_iter()
        .filter(|e| e.seq >= first_new_seq)
        .collect();
    let summary: Vec<EventSummary<'_>> = feed
        .iter()
        .map(|e| {
            (
                e.seq,
                e.entity_type.as_str(),
                e.sourced_id.as_str(),
                e.operation.as_str(),
                e.version,
                e.audience_org_id,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                first_new_seq,
                "ConsentRecord",
                w.consents[0].sourced_id.as_str(),
                "update",
                2,
                None
            ),
            (
                first_new_seq + 1,
                "Mentorship",
                active.sourced_id.as_str(),
                "update",
                2,
                None
            ),
            (
                first_new_seq + 2,
                "Person",
                student.sourced_id.as_str(),
                "accessRevoked",
                1,
                Some(w.partners[0].id)
            ),
        ]
    );
}

#[tokio::test]
async fn a_withdrawal_that_leaves_consent_effective_pauses_nothing() {
    // Arrange: an adult student's own consent is enough; the guardian's is withdrawn.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let active = mentored_student(&app, &w).await;
    set_age(&app, &w.students[0].person, 19).await;
    let partner = partner_token(&app, &w);
    let vars = json!({ "id": w.students[0].person.gid() });

    // Act
    let response = withdraw(
        &app,
        &staff_token(&app, &w),
        json!({ "consentRecord": w.consents[1].gid() }),
    )
    .await;
    let read = app.gql(READ_STUDENT, vars, Some(&partner)).await;

    // Assert
    let payload = &response.data()["withdrawConsentRecord"];
    assert_eq!(payload["userErrors"], json!([]));
    assert_eq!(payload["pausedMentorships"], json!([]));
    assert_eq!(payload["accessRevoked"], false);
    let row = mentorship::Entity::find_by_id(active.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.state, "active");
    assert_eq!(
        read.data()["node"]["sourcedId"],
        w.students[0].person.sourced_id.as_str()
    );
    let revoked = events(&app)
        .await
        .into_iter()
        .filter(|e| e.operation == "accessRevoked")
        .count();
    assert_eq!(revoked, 0);
}

#[tokio::test]
async fn withdrawing_another_partners_consent_leaves_this_partners_mentorship_alone() {
    // Arrange: the student also consented for partner Y; only partner X mentors them.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = &w.students[0].person;
    let active = mentored_student(&app, &w).await;
    let for_y = add_consent(
        &app.db,
        "consent-y-self",
        student,
        student,
        "self",
        "shareWithPartnerMentor",
        Some(&w.partners[1]),
    )
    .await;
    add_consent(
        &app.db,
        "consent-y-guardian",
        student,
        &w.school_people[0].guardian,
        "parentalResponsibility",
        "shareWithPartnerMentor",
        Some(&w.partners[1]),
    )
    .await;

    // Act
    let response = withdraw(
        &app,
        &staff_token(&app, &w),
        json!({ "consentRecord": for_y.gid() }),
    )
    .await;

    // Assert
    let payload = &response.data()["withdrawConsentRecord"];
    assert_eq!(payload["pausedMentorships"], json!([]));
    assert_eq!(payload["accessRevoked"], true);
    let row = mentorship::Entity::find_by_id(active.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.state, "active");
    let revoked: Vec<Option<i64>> = events(&app)
        .await
        .into_iter()
        .filter(|e| e.operation == "accessRevoked")
        .map(|e| e.audience_org_id)
        .collect();
    assert_eq!(revoked, vec![Some(w.partners[1].id)]);
}

#[tokio::test]
async fn a_partner_sees_that_its_consent_exists_but_not_its_history() {
    // Arrange: a consent for partner X, whose mentor mentors the student, withdrawn by the
    // school (one history row; the mentorship is paused, so X still sees the record exists).
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = &w.students_of(0)[3].person;
    add_mentorship(
        &app.db,
        "ms-history",
        &w.mentor,
        student,
        &w.partners[0],
        &w.pathway,
        "active",
    )
    .await;
    let consent = add_consent(
        &app.db,
        "consent-x-history",
        student,
        student,
        "self",
        "shareWithPartnerMentor",
        Some(&w.partners[0]),
    )
    .await;
    let response = withdraw(
        &app,
        &coordinator_token(&app, &w, 0),
        json!({ "consentRecord": consent.gid(), "reason": "Letter from the student" }),
    )
    .await;
    assert_eq!(
        response.data()["withdrawConsentRecord"]["userErrors"],
        json!([])
    );
    let query = "query($id: ID!) { node(id: $id) { ... on ConsentRecord {
                   sourcedId evidenceRef statusHistory { toState reason } } } }";

    // Act
    let partner = app
        .gql(
            query,
            json!({ "id": consent.gid() }),
            Some(&partner_token(&app, &w)),
        )
        .await;
    let office = app
        .gql(
            query,
            json!({ "id": consent.gid() }),
            Some(&app.admin_token()),
        )
        .await;

    // Assert: existence only for the partner; the whole history for the office.
    assert_eq!(
        partner.data()["node"],
        json!({ "sourcedId": "consent-x-history", "evidenceRef": null, "statusHistory": [] }),
        "{:?}",
        partner.body
    );
    assert_eq!(
        office.data()["node"]["statusHistory"],
        json!([{ "toState": "withdrawn", "reason": "Letter from the student" }])
    );
}
