//! Mentorships (DOMAIN.md area E): proposals, the consent-gated lifecycle, who may do what,
//! and the scoped reads.

use entity::{mentorship, status_history};
use integration_tests::fixtures::{
    PARTNER_X, PARTNER_Y, Ref, SCHOOL_A, World, add_consent, add_mentorship, seed_world,
};
use integration_tests::{GqlResponse, TestApp, global_id, sorted, sourced_ids, spawn_app};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::consents::{
    client_token, coordinator_token, events, mentor_token, partner_token, person_token, set_age,
    staff_token,
};

const PROPOSE: &str = "mutation($input: ProposeMentorshipInput!) {
  proposeMentorship(input: $input) {
    mentorship { id sourcedId version state format beginDate endDate
      mentor { sourcedId } student { sourcedId } partnerOrganization { sourcedId }
      pathway { sourcedId } statusHistory { fromState toState reason actor clientId } }
    userErrors { field code message }
  }
}";

/// The transition mutation `name` (e.g. `activateMentorship`) with its input type.
fn transition_query(name: &str) -> String {
    let input = format!("{}{}Input", name[..1].to_uppercase(), &name[1..]);
    format!(
        "mutation($input: {input}!) {{
  {name}(input: $input) {{
    mentorship {{ sourcedId version state endDate
      statusHistory {{ fromState toState reason actor clientId }} }}
    userErrors {{ field code message }}
  }}
}}"
    )
}

async fn propose(app: &TestApp, token: &str, input: Value) -> GqlResponse {
    app.gql(PROPOSE, json!({ "input": input }), Some(token))
        .await
}

async fn transition(app: &TestApp, token: &str, name: &str, input: Value) -> GqlResponse {
    app.gql(
        &transition_query(name),
        json!({ "input": input }),
        Some(token),
    )
    .await
}

/// A valid proposal: partner X's mentor for the second student of school A.
fn proposal(w: &World) -> Value {
    json!({
        "mentor": w.mentor.gid(),
        "student": w.students_of(0)[1].person.gid(),
        "partnerOrganization": global_id("Organization", PARTNER_X),
        "pathway": w.pathway.gid(),
        "beginDate": "2026-09-01",
    })
}

/// Rows written by writes: mentorships, status history, change events.
async fn counts(app: &TestApp) -> (u64, u64, u64) {
    (
        mentorship::Entity::find()
            .count(&app.db)
            .await
            .expect("count mentorships"),
        status_history::Entity::find()
            .count(&app.db)
            .await
            .expect("count history"),
        events(app).await.len() as u64,
    )
}

async fn row(app: &TestApp, m: &Ref) -> mentorship::Model {
    mentorship::Entity::find_by_id(m.id)
        .one(&app.db)
        .await
        .expect("read the mentorship")
        .expect("the mentorship row")
}

fn user_errors(response: &GqlResponse, mutation: &str) -> Vec<Value> {
    response.data()[mutation]["userErrors"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no payload: {}", response.body))
}

/// A mentorship of partner X's mentor with a student, in `state`.
async fn mentorship_of(app: &TestApp, w: &World, sid: &str, student: &Ref, state: &str) -> Ref {
    add_mentorship(
        &app.db,
        sid,
        &w.mentor,
        student,
        &w.partners[0],
        &w.pathway,
        state,
    )
    .await
}

#[tokio::test]
async fn a_partner_coordinator_proposes_a_mentorship_with_its_own_mentor() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let before = events(&app).await.len();

    // Act
    let mut input = proposal(&w);
    input["format"] = json!("GROUP");
    input["endDate"] = json!("2027-07-01");
    input["sourcedId"] = json!("mentorship-new-1");
    let response = propose(&app, &partner_token(&app, &w), input).await;

    // Assert
    let payload = &response.data()["proposeMentorship"];
    assert_eq!(payload["userErrors"], json!([]));
    let m = &payload["mentorship"];
    assert_eq!(m["sourcedId"], "mentorship-new-1");
    assert_eq!(m["id"], global_id("Mentorship", "mentorship-new-1"));
    assert_eq!(m["state"], "PROPOSED");
    assert_eq!(m["format"], "GROUP");
    assert_eq!(m["version"], 1);
    assert_eq!(m["beginDate"], "2026-09-01");
    assert_eq!(m["endDate"], "2027-07-01");
    assert_eq!(m["mentor"]["sourcedId"], w.mentor.sourced_id.as_str());
    assert_eq!(m["partnerOrganization"]["sourcedId"], PARTNER_X);
    assert_eq!(m["pathway"]["sourcedId"], w.pathway.sourced_id.as_str());
    // A proposal gives the partner no sight of the student.
    assert_eq!(m["student"], Value::Null);
    assert_eq!(
        m["statusHistory"],
        json!([{ "fromState": null, "toState": "proposed", "reason": null,
                 "actor": w.partner_coordinator.sourced_id, "clientId": null }])
    );
    let feed = events(&app).await;
    assert_eq!(feed.len(), before + 1);
    let event = feed.last().unwrap();
    assert_eq!(
        (
            event.entity_type.as_str(),
            event.sourced_id.as_str(),
            event.operation.as_str(),
            event.version
        ),
        ("Mentorship", "mentorship-new-1", "create", 1)
    );
}

#[tokio::test]
async fn programme_staff_propose_for_any_partner_and_a_partner_client_needs_activities_write() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let (reader, _) = client_token(&app, PARTNER_X, "activities.read").await;
    let (writer, client_id) = client_token(&app, PARTNER_X, "activities.write roster.read").await;
    let mut second = proposal(&w);
    second["student"] = json!(w.students_of(0)[2].person.gid());

    // Act
    let by_staff = propose(&app, &staff_token(&app, &w), proposal(&w)).await;
    let refused = propose(&app, &reader, second.clone()).await;
    let by_client = propose(&app, &writer, second).await;

    // Assert
    assert_eq!(
        by_staff.data()["proposeMentorship"]["mentorship"]["state"],
        "PROPOSED"
    );
    assert_eq!(refused.error_code(), Some("FORBIDDEN"));
    let m = &by_client.data()["proposeMentorship"]["mentorship"];
    assert_eq!(m["state"], "PROPOSED");
    assert_eq!(m["statusHistory"][0]["clientId"], client_id.as_str());
}

#[tokio::test]
async fn a_partner_may_not_propose_for_another_partner_nor_may_schools_mentors_or_students() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = &w.students_of(0)[1].person;
    let mut for_y = proposal(&w);
    for_y["partnerOrganization"] = json!(global_id("Organization", PARTNER_Y));
    let callers = [
        (partner_token(&app, &w), for_y),
        (coordinator_token(&app, &w, 0), proposal(&w)),
        (mentor_token(&app, &w), proposal(&w)),
        (
            person_token(&app, &student.sourced_id, &["student"], SCHOOL_A),
            proposal(&w),
        ),
        (app.token(&["evaluator"], "org-office"), proposal(&w)),
    ];
    let before = counts(&app).await;

    for (token, input) in callers {
        // Act
        let response = propose(&app, &token, input).await;

        // Assert
        assert_eq!(
            response.error_code(),
            Some("FORBIDDEN"),
            "{}",
            response.body
        );
    }
    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn invalid_proposals_are_user_errors_with_field_paths_and_write_nothing() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let staff = staff_token(&app, &w);
    let partner = partner_token(&app, &w);
    let with = |changes: Value| {
        let mut input = proposal(&w);
        for (k, v) in changes.as_object().unwrap() {
            input[k] = v.clone();
        }
        input
    };
    let cases = [
        // Not a mentor at all, and a mentor of another partner.
        (
            &partner,
            with(json!({ "mentor": w.partner_coordinator.gid() })),
            "mentor",
        ),
        (
            &staff,
            with(json!({ "partnerOrganization": global_id("Organization", PARTNER_Y) })),
            "mentor",
        ),
        (
            &partner,
            with(json!({ "mentor": "not a valid id!" })),
            "mentor",
        ),
        (
            &partner,
            with(json!({ "student": "stu-nobody" })),
            "student",
        ),
        // A guardian is not a student.
        (
            &partner,
            with(json!({ "student": w.school_people[0].guardian.gid() })),
            "student",
        ),
        (
            &partner,
            with(json!({ "pathway": "pw-nowhere" })),
            "pathway",
        ),
        (
            &staff,
            with(json!({ "partnerOrganization": global_id("Organization", SCHOOL_A) })),
            "partnerOrganization",
        ),
        (
            &partner,
            with(json!({ "endDate": "2026-08-01" })),
            "endDate",
        ),
        (
            &partner,
            with(json!({ "sourcedId": "no spaces allowed" })),
            "sourcedId",
        ),
    ];
    let before = counts(&app).await;

    for (token, input, field) in cases {
        // Act
        let response = propose(&app, token, input.clone()).await;

        // Assert
        let errors = user_errors(&response, "proposeMentorship");
        assert_eq!(errors.len(), 1, "{input}: {}", response.body);
        assert_eq!(errors[0]["code"], "BAD_USER_INPUT", "{input}");
        assert_eq!(errors[0]["field"], json!(["input", field]), "{input}");
        assert_eq!(
            response.data()["proposeMentorship"]["mentorship"],
            Value::Null
        );
    }
    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn a_second_live_mentorship_of_the_same_mentor_student_and_pathway_is_a_duplicate() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = partner_token(&app, &w);
    let first = propose(&app, &token, proposal(&w)).await;
    let first_id = first.data()["proposeMentorship"]["mentorship"]["sourcedId"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = counts(&app).await;

    // Act
    let duplicate = propose(&app, &token, proposal(&w)).await;
    transition(
        &app,
        &token,
        "cancelMentorship",
        json!({ "mentorship": first_id }),
    )
    .await
    .data();
    let after_cancel = propose(&app, &token, proposal(&w)).await;

    // Assert
    let errors = user_errors(&duplicate, "proposeMentorship");
    assert_eq!(errors[0]["code"], "DUPLICATE");
    assert!(errors[0]["message"].as_str().unwrap().contains(&first_id));
    assert_eq!(before.0, counts(&app).await.0 - 1);
    assert_eq!(
        after_cancel.data()["proposeMentorship"]["mentorship"]["state"],
        "PROPOSED"
    );
}

#[tokio::test]
async fn programme_staff_activate_a_mentorship_when_consent_is_effective() {
    // Arrange: the first student of school A has their own and their guardian's consent.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let m = mentorship_of(&app, &w, "m-1", &w.students[0].person, "proposed").await;
    let before = events(&app).await.len();

    // Act
    let response = transition(
        &app,
        &staff_token(&app, &w),
        "activateMentorship",
        json!({ "mentorship": m.gid(), "expectedVersion": 1, "reason": "Matched at the induction" }),
    )
    .await;

    // Assert
    let payload = &response.data()["activateMentorship"];
    assert_eq!(payload["userErrors"], json!([]));
    assert_eq!(payload["mentorship"]["state"], "ACTIVE");
    assert_eq!(payload["mentorship"]["version"], 2);
    assert_eq!(
        payload["mentorship"]["statusHistory"],
        json!([{ "fromState": "proposed", "toState": "active", "reason": "Matched at the induction",
                 "actor": w.staff.sourced_id, "clientId": null }])
    );
    let stored = row(&app, &m).await;
    assert_eq!((stored.state.as_str(), stored.version), ("active", 2));
    assert_eq!(
        stored.modified_by.as_deref(),
        Some(w.staff.sourced_id.as_str())
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
        ("Mentorship", "update", 2)
    );
}

#[tokio::test]
async fn activation_is_refused_for_a_minor_with_only_their_own_consent() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = &w.students_of(0)[1].person;
    set_age(&app, student, 16).await;
    add_consent(
        &app.db,
        "consent-own",
        student,
        student,
        "self",
        "shareWithPartnerMentor",
        Some(&w.partners[0]),
    )
    .await;
    let m = mentorship_of(&app, &w, "m-minor", student, "proposed").await;
    let before = counts(&app).await;

    // Act
    let response = transition(
        &app,
        &staff_token(&app, &w),
        "activateMentorship",
        json!({ "mentorship": m.gid() }),
    )
    .await;

    // Assert
    let errors = user_errors(&response, "activateMentorship");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["code"], "INVALID_TRANSITION");
    let message = errors[0]["message"].as_str().unwrap();
    assert!(
        message.contains("consent") && message.contains("missing"),
        "{message}"
    );
    assert_eq!(counts(&app).await, before);
    assert_eq!(row(&app, &m).await.version, 1);
}

#[tokio::test]
async fn activation_works_for_an_adult_with_only_their_own_consent() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = &w.students_of(0)[1].person;
    set_age(&app, student, 18).await;
    add_consent(
        &app.db,
        "consent-own",
        student,
        student,
        "self",
        "shareWithPartnerMentor",
        Some(&w.partners[0]),
    )
    .await;
    let m = mentorship_of(&app, &w, "m-adult", student, "proposed").await;

    // Act
    let response = transition(
        &app,
        &staff_token(&app, &w),
        "activateMentorship",
        json!({ "mentorship": m.gid() }),
    )
    .await;

    // Assert
    assert_eq!(
        response.data()["activateMentorship"]["mentorship"]["state"],
        "ACTIVE"
    );
}

#[tokio::test]
async fn consent_for_another_partner_does_not_activate_this_one() {
    // Arrange: the student has partner Y consent only, from both givers.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = &w.students_of(0)[1].person;
    let guardian = &w.school_people[0].guardian;
    for (sid, giver, relationship) in [
        ("c-self", student, "self"),
        ("c-guardian", guardian, "parentalResponsibility"),
    ] {
        add_consent(
            &app.db,
            sid,
            student,
            giver,
            relationship,
            "shareWithPartnerMentor",
            Some(&w.partners[1]),
        )
        .await;
    }
    let m = mentorship_of(&app, &w, "m-wrong-partner", student, "proposed").await;

    // Act
    let response = transition(
        &app,
        &staff_token(&app, &w),
        "activateMentorship",
        json!({ "mentorship": m.gid() }),
    )
    .await;

    // Assert
    assert_eq!(
        user_errors(&response, "activateMentorship")[0]["code"],
        "INVALID_TRANSITION"
    );
}

#[tokio::test]
async fn the_lifecycle_runs_from_active_through_paused_back_to_active_and_ends() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = staff_token(&app, &w);
    let m = mentorship_of(&app, &w, "m-cycle", &w.students[0].person, "proposed").await;

    // Act
    let mut last = Value::Null;
    for (name, reason) in [
        ("activateMentorship", None),
        ("pauseMentorship", Some("HKDSE examinations")),
        ("resumeMentorship", None),
        ("endMentorship", Some("Programme year over")),
    ] {
        let response = transition(
            &app,
            &token,
            name,
            json!({ "mentorship": m.gid(), "reason": reason }),
        )
        .await;
        let payload = response.data()[name].clone();
        assert_eq!(payload["userErrors"], json!([]), "{name}");
        last = payload["mentorship"].clone();
    }

    // Assert
    assert_eq!(last["state"], "ENDED");
    assert_eq!(last["version"], 5);
    assert!(last["endDate"].is_string(), "{last}");
    let steps: Vec<(Value, Value, Value)> = last["statusHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["fromState"].clone(),
                s["toState"].clone(),
                s["reason"].clone(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            (json!("proposed"), json!("active"), Value::Null),
            (
                json!("active"),
                json!("paused"),
                json!("HKDSE examinations")
            ),
            (json!("paused"), json!("active"), Value::Null),
            (
                json!("active"),
                json!("ended"),
                json!("Programme year over")
            ),
        ]
    );
    let stored = row(&app, &m).await;
    assert_eq!(stored.state, "ended");
    assert!(stored.end_date.is_some());
}

#[tokio::test]
async fn a_paused_mentorship_may_end_and_a_proposal_may_be_cancelled() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = staff_token(&app, &w);
    let paused = mentorship_of(&app, &w, "m-paused", &w.students[0].person, "paused").await;
    let proposed = mentorship_of(&app, &w, "m-proposed", &w.students[1].person, "proposed").await;

    // Act
    let ended = transition(
        &app,
        &token,
        "endMentorship",
        json!({ "mentorship": paused.gid() }),
    )
    .await;
    let cancelled = transition(
        &app,
        &token,
        "cancelMentorship",
        json!({ "mentorship": proposed.gid() }),
    )
    .await;

    // Assert
    assert_eq!(
        ended.data()["endMentorship"]["mentorship"]["state"],
        "ENDED"
    );
    assert_eq!(
        cancelled.data()["cancelMentorship"]["mentorship"]["state"],
        "CANCELLED"
    );
}

#[tokio::test]
async fn illegal_transitions_are_invalid_transition_and_write_nothing() {
    // Arrange: one mentorship in each state, each with a different student.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = staff_token(&app, &w);
    let states = ["proposed", "active", "paused", "ended", "cancelled"];
    let mut by_state = Vec::new();
    for (k, state) in states.iter().enumerate() {
        let m = mentorship_of(
            &app,
            &w,
            &format!("m-{state}"),
            &w.students[k].person,
            state,
        )
        .await;
        by_state.push((*state, m));
    }
    let illegal: [(&str, &[&str]); 5] = [
        (
            "proposed",
            &["pauseMentorship", "resumeMentorship", "endMentorship"],
        ),
        (
            "active",
            &["activateMentorship", "resumeMentorship", "cancelMentorship"],
        ),
        (
            "paused",
            &["activateMentorship", "pauseMentorship", "cancelMentorship"],
        ),
        (
            "ended",
            &[
                "activateMentorship",
                "pauseMentorship",
                "resumeMentorship",
                "endMentorship",
                "cancelMentorship",
            ],
        ),
        (
            "cancelled",
            &[
                "activateMentorship",
                "pauseMentorship",
                "resumeMentorship",
                "endMentorship",
                "cancelMentorship",
            ],
        ),
    ];
    let before = counts(&app).await;

    for (state, names) in illegal {
        let m = &by_state.iter().find(|(s, _)| *s == state).unwrap().1;
        for name in names {
            // Act
            let response = transition(&app, &token, name, json!({ "mentorship": m.gid() })).await;

            // Assert
            let errors = user_errors(&response, name);
            assert_eq!(errors.len(), 1, "{name} from {state}: {}", response.body);
            assert_eq!(
                errors[0]["code"], "INVALID_TRANSITION",
                "{name} from {state}"
            );
            assert_eq!(response.data()[*name]["mentorship"], Value::Null);
        }
        let stored = row(&app, m).await;
        assert_eq!((stored.state.as_str(), stored.version), (state, 1));
    }
    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn resuming_without_effective_consent_is_refused() {
    // Arrange: school B's first student has a guardian without parental responsibility.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = &w.students_of(1)[0].person;
    let m = mentorship_of(&app, &w, "m-b", student, "paused").await;
    let before = counts(&app).await;

    // Act
    let response = transition(
        &app,
        &staff_token(&app, &w),
        "resumeMentorship",
        json!({ "mentorship": m.gid() }),
    )
    .await;

    // Assert
    let errors = user_errors(&response, "resumeMentorship");
    assert_eq!(errors[0]["code"], "INVALID_TRANSITION");
    assert!(errors[0]["message"].as_str().unwrap().contains("consent"));
    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn only_the_programme_office_runs_the_lifecycle() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let proposed = mentorship_of(&app, &w, "m-p", &w.students[0].person, "proposed").await;
    let active = mentorship_of(&app, &w, "m-a", &w.students[1].person, "active").await;
    let paused = mentorship_of(&app, &w, "m-z", &w.students[2].person, "paused").await;
    let callers = [
        partner_token(&app, &w),
        mentor_token(&app, &w),
        coordinator_token(&app, &w, 0),
        person_token(
            &app,
            &w.students[0].person.sourced_id,
            &["student"],
            SCHOOL_A,
        ),
    ];
    let attempts = [
        ("activateMentorship", &proposed),
        ("pauseMentorship", &active),
        ("resumeMentorship", &paused),
        ("endMentorship", &active),
    ];
    let before = counts(&app).await;

    for token in &callers {
        for (name, m) in attempts {
            // Act
            let response = transition(&app, token, name, json!({ "mentorship": m.gid() })).await;

            // Assert
            assert_eq!(
                response.error_code(),
                Some("FORBIDDEN"),
                "{name}: {}",
                response.body
            );
        }
    }
    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn a_partner_cancels_its_own_proposals_but_cannot_see_another_partners() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let own = mentorship_of(&app, &w, "m-own", &w.students[0].person, "proposed").await;
    let other = mentorship_of(&app, &w, "m-other", &w.students[1].person, "proposed").await;
    let partner_y = app.token(&["partnerCoordinator"], PARTNER_Y);
    let school = coordinator_token(&app, &w, 0);

    // Act
    let by_owner = transition(
        &app,
        &partner_token(&app, &w),
        "cancelMentorship",
        json!({ "mentorship": own.gid(), "reason": "Mentor left the company" }),
    )
    .await;
    let by_stranger = transition(
        &app,
        &partner_y,
        "cancelMentorship",
        json!({ "mentorship": other.gid() }),
    )
    .await;
    let by_school = transition(
        &app,
        &school,
        "cancelMentorship",
        json!({ "mentorship": other.gid() }),
    )
    .await;

    // Assert
    let payload = &by_owner.data()["cancelMentorship"];
    assert_eq!(payload["mentorship"]["state"], "CANCELLED");
    assert_eq!(
        payload["mentorship"]["statusHistory"][0]["actor"],
        w.partner_coordinator.sourced_id.as_str()
    );
    assert_eq!(by_stranger.error_code(), Some("NOT_FOUND"));
    assert_eq!(by_school.error_code(), Some("FORBIDDEN"));
    assert_eq!(row(&app, &other).await.state, "proposed");
}

#[tokio::test]
async fn a_stale_expected_version_is_a_version_conflict_with_the_current_version() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let m = mentorship_of(&app, &w, "m-v", &w.students[0].person, "active").await;
    let before = counts(&app).await;

    // Act
    let response = transition(
        &app,
        &staff_token(&app, &w),
        "pauseMentorship",
        json!({ "mentorship": m.gid(), "expectedVersion": 3 }),
    )
    .await;

    // Assert
    let errors = user_errors(&response, "pauseMentorship");
    assert_eq!(errors[0]["code"], "VERSION_CONFLICT");
    assert!(
        errors[0]["message"].as_str().unwrap().contains("version 1"),
        "{}",
        errors[0]
    );
    assert_eq!(counts(&app).await, before);
    assert_eq!(row(&app, &m).await.state, "active");
}

#[tokio::test]
async fn a_malformed_or_unknown_mentorship_id_is_a_user_error_or_not_found() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = staff_token(&app, &w);

    // Act
    let malformed = transition(
        &app,
        &token,
        "pauseMentorship",
        json!({ "mentorship": "not an id!" }),
    )
    .await;
    let wrong_type = transition(
        &app,
        &token,
        "pauseMentorship",
        json!({ "mentorship": w.students[0].person.gid() }),
    )
    .await;
    let unknown = transition(
        &app,
        &token,
        "pauseMentorship",
        json!({ "mentorship": "m-nowhere" }),
    )
    .await;

    // Assert
    for response in [&malformed, &wrong_type] {
        let errors = user_errors(response, "pauseMentorship");
        assert_eq!(errors[0]["code"], "BAD_USER_INPUT");
        assert_eq!(errors[0]["field"], json!(["input", "mentorship"]));
    }
    assert_eq!(unknown.error_code(), Some("NOT_FOUND"));
}

const LIST: &str = "query($filter: MentorshipFilter) {
  mentorships(filter: $filter, orderBy: [{ field: BEGIN_DATE }]) {
    totalCount edges { node { sourcedId state } }
  }
}";

#[tokio::test]
async fn the_mentorships_list_is_scoped_to_the_caller_and_filterable() {
    // Arrange: two of partner X's mentorships at school A, one at school B.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let a1 = mentorship_of(&app, &w, "m-a1", &w.students_of(0)[0].person, "active").await;
    let a2 = mentorship_of(&app, &w, "m-a2", &w.students_of(0)[1].person, "proposed").await;
    let b1 = mentorship_of(&app, &w, "m-b1", &w.students_of(1)[0].person, "paused").await;
    let all = sorted(&[
        a1.sourced_id.clone(),
        a2.sourced_id.clone(),
        b1.sourced_id.clone(),
    ]);
    let list = |token: String, filter: Value| {
        let app = &app;
        async move {
            let response = app
                .gql(LIST, json!({ "filter": filter }), Some(&token))
                .await;
            sorted(&sourced_ids(&response.data()["mentorships"]))
        }
    };

    // Act
    let staff = list(staff_token(&app, &w), Value::Null).await;
    let partner = list(partner_token(&app, &w), Value::Null).await;
    let other_partner = list(app.token(&["partnerCoordinator"], PARTNER_Y), Value::Null).await;
    let mentor = list(mentor_token(&app, &w), Value::Null).await;
    let school_a = list(coordinator_token(&app, &w, 0), Value::Null).await;
    let student = list(
        person_token(
            &app,
            &w.students_of(0)[1].person.sourced_id,
            &["student"],
            SCHOOL_A,
        ),
        Value::Null,
    )
    .await;
    let active_only = list(
        staff_token(&app, &w),
        json!({ "state": { "eq": "ACTIVE" } }),
    )
    .await;
    let by_student = list(
        staff_token(&app, &w),
        json!({ "student": { "eq": w.students_of(1)[0].person.gid() } }),
    )
    .await;
    let by_partner = list(
        staff_token(&app, &w),
        json!({ "partnerOrganization": { "eq": PARTNER_Y } }),
    )
    .await;
    // An OR in the filter cannot widen the scope.
    let widened = list(
        coordinator_token(&app, &w, 0),
        json!({ "or": [{ "state": { "eq": "PAUSED" } }, { "state": { "ne": "PAUSED" } }] }),
    )
    .await;

    // Assert
    assert_eq!(staff, all);
    assert_eq!(partner, all);
    assert!(other_partner.is_empty());
    assert_eq!(mentor, all);
    assert_eq!(school_a, vec![a1.sourced_id.clone(), a2.sourced_id.clone()]);
    assert_eq!(student, vec![a2.sourced_id.clone()]);
    assert_eq!(active_only, vec![a1.sourced_id.clone()]);
    assert_eq!(by_student, vec![b1.sourced_id.clone()]);
    assert!(by_partner.is_empty());
    assert_eq!(widened, school_a);
}

#[tokio::test]
async fn mentorships_hang_off_the_student_and_the_partner_and_resolve_as_nodes() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let m = mentorship_of(&app, &w, "m-rel", &w.students[0].person, "active").await;
    let query = "query($student: ID!, $partner: ID!, $m: ID!) {
      student: node(id: $student) { ... on Person { mentorships { edges { node { sourcedId } } } } }
      partner: node(id: $partner) { ... on Organization { mentorships { totalCount edges { node { sourcedId } } } } }
      mentorship: node(id: $m) { id ... on Mentorship { state mentor { sourcedId } student { sourcedId } } }
    }";
    let vars = json!({
        "student": w.students[0].person.gid(),
        "partner": global_id("Organization", PARTNER_X),
        "m": m.gid(),
    });

    // Act
    let response = app.gql(query, vars, Some(&staff_token(&app, &w))).await;

    // Assert
    let data = response.data();
    assert_eq!(
        sourced_ids(&data["student"]["mentorships"]),
        vec![m.sourced_id.clone()]
    );
    assert_eq!(data["partner"]["mentorships"]["totalCount"], 1);
    assert_eq!(data["mentorship"]["state"], "ACTIVE");
    assert_eq!(
        data["mentorship"]["mentor"]["sourcedId"],
        w.mentor.sourced_id.as_str()
    );
    assert_eq!(
        data["mentorship"]["student"]["sourcedId"],
        w.students[0].person.sourced_id.as_str()
    );
}

#[tokio::test]
async fn a_mentor_sees_the_student_of_an_active_mentorship_with_consent_only() {
    // Arrange: an active mentorship with consent (school A's first student) and one without
    // (school B's first student, whose guardian lacks parental responsibility).
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    mentorship_of(&app, &w, "m-ok", &w.students_of(0)[0].person, "active").await;
    mentorship_of(&app, &w, "m-no", &w.students_of(1)[0].person, "active").await;
    let query = "{ mentorships(orderBy: [{ field: BEGIN_DATE }]) { edges { node { sourcedId student { sourcedId } } } } }";

    // Act
    let response = app
        .gql(query, json!({}), Some(&mentor_token(&app, &w)))
        .await;

    // Assert
    let edges = response.data()["mentorships"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    let seen: Vec<(String, Value)> = edges
        .iter()
        .map(|e| {
            (
                e["node"]["sourcedId"].as_str().unwrap().to_owned(),
                e["node"]["student"]["sourcedId"].clone(),
            )
        })
        .collect();
    let mut seen = seen;
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        seen,
        vec![
            ("m-no".to_owned(), Value::Null),
            (
                "m-ok".to_owned(),
                json!(w.students_of(0)[0].person.sourced_id)
            ),
        ]
    );
}
