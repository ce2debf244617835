//! Typed filters (API.md section 3): every operator on text, integer, decimal, date, timestamp,
//! boolean, enum and reference fields; `and`/`or`/`not`; `changedSince`; tombstones.

use chrono::{Duration, NaiveDate};
use entity::consent_record;
use integration_tests::fixtures::{NewStudent, Student, World, add_student, seed_world, tombstone};
use integration_tests::{TestApp, global_id, sourced_ids, spawn_app};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};

/// `list(filter: $f, first: 100)` as programmeAdmin: the sourcedIds in order and `totalCount`.
async fn list_where(
    app: &TestApp,
    list: &str,
    filter_type: &str,
    filter: Value,
) -> (Vec<String>, u64) {
    let query = format!(
        "query($f: {filter_type}) {{ {list}(filter: $f, first: 100) {{ totalCount edges {{ node {{ sourcedId }} }} }} }}"
    );
    let response = app.gql_admin(&query, json!({ "f": filter })).await;
    let connection = &response.data()[list];
    (
        sourced_ids(connection),
        connection["totalCount"].as_u64().expect("totalCount"),
    )
}

async fn students_where(app: &TestApp, filter: Value) -> Vec<String> {
    let (ids, total) = list_where(app, "students", "PersonFilter", filter.clone()).await;
    assert_eq!(total, ids.len() as u64, "totalCount of {filter}");
    ids
}

/// The students meeting `predicate`, in id order.
fn expect(world: &World, predicate: impl Fn(&Student) -> bool) -> Vec<String> {
    let ids: Vec<String> = world
        .students
        .iter()
        .filter(|s| predicate(s))
        .map(|s| s.person.sourced_id.clone())
        .collect();
    assert!(
        !ids.is_empty() && ids.len() < world.students.len(),
        "a filter test should select some rows, not all"
    );
    ids
}

fn expect_enrollments(world: &World, predicate: impl Fn(&Student) -> bool) -> Vec<String> {
    world
        .students
        .iter()
        .filter(|s| predicate(s))
        .map(|s| s.pathway_enrollment.sourced_id.clone())
        .collect()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

#[tokio::test]
async fn string_filters_compare_exactly() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;

    // Act + Assert
    for (filter, predicate) in [
        (
            json!({ "eq": "Chan" }),
            Box::new(|s: &Student| s.family_name == "Chan") as Box<dyn Fn(&Student) -> bool>,
        ),
        (
            json!({ "ne": "Chan" }),
            Box::new(|s: &Student| s.family_name != "Chan"),
        ),
        (
            json!({ "in": ["Lee", "Ng", "Nobody"] }),
            Box::new(|s: &Student| ["Lee", "Ng"].contains(&s.family_name.as_str())),
        ),
        (
            json!({ "gt": "Ho" }),
            Box::new(|s: &Student| s.family_name.as_str() > "Ho"),
        ),
        (
            json!({ "gte": "Ho" }),
            Box::new(|s: &Student| s.family_name.as_str() >= "Ho"),
        ),
        (
            json!({ "lt": "Ho" }),
            Box::new(|s: &Student| s.family_name.as_str() < "Ho"),
        ),
        (
            json!({ "lte": "Ho" }),
            Box::new(|s: &Student| s.family_name.as_str() <= "Ho"),
        ),
        (
            json!({ "gte": "Cheung", "lt": "Lee" }),
            Box::new(|s: &Student| ("Cheung".."Lee").contains(&s.family_name.as_str())),
        ),
    ] {
        let got = students_where(&app, json!({ "familyName": filter })).await;
        assert_eq!(got, expect(&w, predicate), "familyName {filter}");
    }
}

#[tokio::test]
async fn contains_ignores_case() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;

    // Act
    let family = students_where(&app, json!({ "familyName": { "contains": "HE" } })).await;
    let email = students_where(&app, json!({ "email": { "contains": "@A.Example" } })).await;

    // Assert
    assert_eq!(
        family,
        expect(&w, |s| s.family_name.to_lowercase().contains("he"))
    );
    assert_eq!(email, expect(&w, |s| s.school == 0 && s.email.is_some()));
}

#[tokio::test]
async fn contains_treats_percent_underscore_and_backslash_literally() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    for (sid, family) in [
        ("stu-x-1", "O_Neil"),
        ("stu-x-2", "OXNeil"),
        ("stu-x-3", "Per%cent"),
        ("stu-x-4", "Perxcent"),
        ("stu-x-5", "Back\\Slash"),
        ("stu-x-6", "BackXSlash"),
    ] {
        add_student(
            &app.db,
            &NewStudent::new(sid, "Special", family, w.school_a()),
        )
        .await;
    }

    // Act + Assert
    for (needle, wanted) in [
        ("o_n", vec!["stu-x-1"]),
        ("_", vec!["stu-x-1"]),
        ("%", vec!["stu-x-3"]),
        ("r%c", vec!["stu-x-3"]),
        ("k\\s", vec!["stu-x-5"]),
        ("\\", vec!["stu-x-5"]),
        ("neil", vec!["stu-x-1", "stu-x-2"]),
    ] {
        let got = students_where(&app, json!({ "familyName": { "contains": needle } })).await;
        assert_eq!(got, wanted, "contains {needle:?}");
    }
}

#[tokio::test]
async fn is_null_selects_missing_and_present_values() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;

    // Act
    let no_email = students_where(&app, json!({ "email": { "isNull": true } })).await;
    let email = students_where(&app, json!({ "email": { "isNull": false } })).await;
    let preferred = students_where(&app, json!({ "preferredName": { "isNull": false } })).await;

    // Assert
    assert_eq!(no_email, expect(&w, |s| s.email.is_none()));
    assert_eq!(email, expect(&w, |s| s.email.is_some()));
    assert_eq!(preferred, expect(&w, |s| s.preferred_name.is_some()));
}

#[tokio::test]
async fn ne_leaves_out_rows_where_the_field_is_null() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;

    // Act
    let got = students_where(&app, json!({ "email": { "ne": "stu-a-01@a.example.hk" } })).await;

    // Assert
    assert_eq!(
        got,
        expect(&w, |s| s
            .email
            .as_deref()
            .is_some_and(|e| e != "stu-a-01@a.example.hk"))
    );
}

#[tokio::test]
async fn integer_filters_compare_numbers() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;

    // Act + Assert
    for (filter, predicate) in [
        (
            json!({ "eq": 2026 }),
            Box::new(|s: &Student| s.expected_hkdse_year == 2026) as Box<dyn Fn(&Student) -> bool>,
        ),
        (
            json!({ "ne": 2026 }),
            Box::new(|s: &Student| s.expected_hkdse_year != 2026),
        ),
        (
            json!({ "in": [2025, 2027] }),
            Box::new(|s: &Student| s.expected_hkdse_year != 2026),
        ),
        (
            json!({ "gt": 2026 }),
            Box::new(|s: &Student| s.expected_hkdse_year > 2026),
        ),
        (
            json!({ "gte": 2026 }),
            Box::new(|s: &Student| s.expected_hkdse_year >= 2026),
        ),
        (
            json!({ "lt": 2026 }),
            Box::new(|s: &Student| s.expected_hkdse_year < 2026),
        ),
        (
            json!({ "lte": 2026 }),
            Box::new(|s: &Student| s.expected_hkdse_year <= 2026),
        ),
    ] {
        let got = students_where(&app, json!({ "expectedHkdseYear": filter })).await;
        assert_eq!(got, expect(&w, predicate), "expectedHkdseYear {filter}");
    }
}

#[tokio::test]
async fn integer_is_null_finds_people_without_a_value() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;

    // Act
    let (without, total_without) = list_where(
        &app,
        "people",
        "PersonFilter",
        json!({ "expectedHkdseYear": { "isNull": true } }),
    )
    .await;
    let (with, _) = list_where(
        &app,
        "people",
        "PersonFilter",
        json!({ "expectedHkdseYear": { "isNull": false } }),
    )
    .await;

    // Assert: only students have an HKDSE year.
    let students = w.student_ids();
    let others: Vec<String> = w
        .people
        .iter()
        .filter(|p| !students.contains(p))
        .cloned()
        .collect();
    assert_eq!(without, others);
    assert_eq!(total_without, 9);
    assert_eq!(with, students);
}

#[tokio::test]
async fn decimal_filters_compare_numbers() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let hours = |f: &dyn Fn(f64) -> bool| -> Vec<String> {
        w.students
            .iter()
            .filter(|s| s.contact_hours.is_some_and(f))
            .map(|s| s.course_enrollment.sourced_id.clone())
            .collect()
    };

    // Act
    let (gt, _) = list_where(
        &app,
        "courseEnrollments",
        "CourseEnrollmentFilter",
        json!({ "contactHoursAttended": { "gt": 20.5 } }),
    )
    .await;
    let (lte, _) = list_where(
        &app,
        "courseEnrollments",
        "CourseEnrollmentFilter",
        json!({ "contactHoursAttended": { "lte": 20.5 } }),
    )
    .await;
    let (eq, _) = list_where(
        &app,
        "courseEnrollments",
        "CourseEnrollmentFilter",
        json!({ "contactHoursAttended": { "eq": 40.5 } }),
    )
    .await;
    let (null, _) = list_where(
        &app,
        "courseEnrollments",
        "CourseEnrollmentFilter",
        json!({ "contactHoursAttended": { "isNull": true } }),
    )
    .await;

    // Assert
    assert_eq!(gt, hours(&|h| h > 20.5));
    assert_eq!(lte, hours(&|h| h <= 20.5));
    assert_eq!(eq, hours(&|h| (h - 40.5).abs() < f64::EPSILON));
    // Students without hours, and the two teachers.
    let mut wanted: Vec<String> = Vec::new();
    for school in 0..2 {
        wanted.push(
            w.school_people[school]
                .teacher_enrollment
                .sourced_id
                .clone(),
        );
        wanted.extend(
            w.students_of(school)
                .iter()
                .filter(|s| s.contact_hours.is_none())
                .map(|s| s.course_enrollment.sourced_id.clone()),
        );
    }
    assert_eq!(null, wanted);
}

#[tokio::test]
async fn date_filters_compare_calendar_days() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let d3 = day(2024, 9, 3);

    // Act + Assert
    for (filter, predicate) in [
        (
            json!({ "eq": "2024-09-03" }),
            Box::new(move |s: &Student| s.pathway_begin == d3) as Box<dyn Fn(&Student) -> bool>,
        ),
        (
            json!({ "ne": "2024-09-03" }),
            Box::new(move |s: &Student| s.pathway_begin != d3),
        ),
        (
            json!({ "in": ["2024-09-01", "2024-09-06"] }),
            Box::new(|s: &Student| [day(2024, 9, 1), day(2024, 9, 6)].contains(&s.pathway_begin)),
        ),
        (
            json!({ "gt": "2024-09-03" }),
            Box::new(move |s: &Student| s.pathway_begin > d3),
        ),
        (
            json!({ "gte": "2024-09-03" }),
            Box::new(move |s: &Student| s.pathway_begin >= d3),
        ),
        (
            json!({ "lt": "2024-09-03" }),
            Box::new(move |s: &Student| s.pathway_begin < d3),
        ),
        (
            json!({ "lte": "2024-09-03" }),
            Box::new(move |s: &Student| s.pathway_begin <= d3),
        ),
    ] {
        let (got, total) = list_where(
            &app,
            "pathwayEnrollments",
            "PathwayEnrollmentFilter",
            json!({ "beginDate": filter }),
        )
        .await;
        let wanted = expect_enrollments(&w, predicate);
        assert_eq!(got, wanted, "beginDate {filter}");
        assert_eq!(total, wanted.len() as u64);
    }
    let (ended, _) = list_where(
        &app,
        "pathwayEnrollments",
        "PathwayEnrollmentFilter",
        json!({ "endDate": { "isNull": false } }),
    )
    .await;
    let (open, _) = list_where(
        &app,
        "pathwayEnrollments",
        "PathwayEnrollmentFilter",
        json!({ "endDate": { "isNull": true } }),
    )
    .await;
    assert_eq!(ended, expect_enrollments(&w, |s| s.pathway_end.is_some()));
    assert_eq!(open, expect_enrollments(&w, |s| s.pathway_end.is_none()));
}

#[tokio::test]
async fn timestamp_filters_compare_instants() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let pivot = w.base_time + Duration::minutes(4);
    let other = w.base_time + Duration::minutes(9);
    let at = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339();

    // Act + Assert
    for (filter, predicate) in [
        (
            json!({ "eq": at(pivot) }),
            Box::new(move |s: &Student| s.date_last_modified == pivot)
                as Box<dyn Fn(&Student) -> bool>,
        ),
        (
            json!({ "ne": at(pivot) }),
            Box::new(move |s: &Student| s.date_last_modified != pivot),
        ),
        (
            json!({ "in": [at(pivot), at(other)] }),
            Box::new(move |s: &Student| {
                s.date_last_modified == pivot || s.date_last_modified == other
            }),
        ),
        (
            json!({ "gt": at(pivot) }),
            Box::new(move |s: &Student| s.date_last_modified > pivot),
        ),
        (
            json!({ "gte": at(pivot) }),
            Box::new(move |s: &Student| s.date_last_modified >= pivot),
        ),
        (
            json!({ "lt": at(pivot) }),
            Box::new(move |s: &Student| s.date_last_modified < pivot),
        ),
        (
            json!({ "lte": at(pivot) }),
            Box::new(move |s: &Student| s.date_last_modified <= pivot),
        ),
        // The same instant written in Hong Kong time.
        (
            json!({ "gte": pivot.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("offset")).to_rfc3339() }),
            Box::new(move |s: &Student| s.date_last_modified >= pivot),
        ),
    ] {
        let got = students_where(&app, json!({ "dateLastModified": filter })).await;
        assert_eq!(got, expect(&w, predicate), "dateLastModified {filter}");
    }
}

#[tokio::test]
async fn timestamp_is_null_separates_withdrawn_and_active_consents() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let withdrawn = &w.consents[1];
    consent_record::ActiveModel {
        id: Set(withdrawn.id),
        withdrawn_at: Set(Some(api::changes::now())),
        ..Default::default()
    }
    .update(&app.db)
    .await
    .expect("withdraw a consent");

    // Act
    let response = app
        .gql_admin(
            "query($id: ID!) { node(id: $id) { ... on Person { \
               active: consents(filter: { withdrawnAt: { isNull: true } }) { edges { node { sourcedId isActive } } } \
               withdrawn: consents(filter: { withdrawnAt: { isNull: false } }) { edges { node { sourcedId isActive } } } } } }",
            json!({ "id": w.student("stu-a-01").person.gid() }),
        )
        .await;

    // Assert
    let person = &response.data()["node"];
    assert_eq!(
        person["active"]["edges"],
        json!([{ "node": { "sourcedId": "consent-stu-a-01-self", "isActive": true } }])
    );
    assert_eq!(
        person["withdrawn"]["edges"],
        json!([{ "node": { "sourcedId": "consent-stu-a-01-guardian", "isActive": false } }])
    );
}

#[tokio::test]
async fn boolean_filters_match_true_and_false() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;

    // Act
    let enabled = students_where(&app, json!({ "enabledUser": { "eq": true } })).await;
    let disabled = students_where(&app, json!({ "enabledUser": { "eq": false } })).await;
    let set = students_where(&app, json!({ "enabledUser": { "isNull": false } })).await;
    let unset = students_where(&app, json!({ "enabledUser": { "isNull": true } })).await;

    // Assert
    assert_eq!(enabled, expect(&w, |s| s.enabled_user));
    assert_eq!(disabled, expect(&w, |s| !s.enabled_user));
    assert_eq!(set, w.student_ids());
    assert_eq!(unset, Vec::<String>::new());
}

#[tokio::test]
async fn enum_filters_match_database_values() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;

    // Act + Assert
    for (filter, predicate) in [
        (
            json!({ "eq": "ENROLLED" }),
            Box::new(|s: &Student| s.pathway_state == "enrolled") as Box<dyn Fn(&Student) -> bool>,
        ),
        (
            json!({ "ne": "ENROLLED" }),
            Box::new(|s: &Student| s.pathway_state != "enrolled"),
        ),
        (
            json!({ "in": ["APPLIED", "ON_HOLD"] }),
            Box::new(|s: &Student| ["applied", "on_hold"].contains(&s.pathway_state)),
        ),
        (json!({ "in": [] }), Box::new(|_: &Student| false)),
        (json!({ "isNull": false }), Box::new(|_: &Student| true)),
    ] {
        let (got, total) = list_where(
            &app,
            "pathwayEnrollments",
            "PathwayEnrollmentFilter",
            json!({ "state": filter }),
        )
        .await;
        let wanted = expect_enrollments(&w, predicate);
        assert_eq!(got, wanted, "state {filter}");
        assert_eq!(total, wanted.len() as u64);
    }
    let (reason, _) = list_where(
        &app,
        "pathwayEnrollments",
        "PathwayEnrollmentFilter",
        json!({ "exitReason": { "eq": "WITHDREW_BY_CHOICE" } }),
    )
    .await;
    assert_eq!(
        reason,
        expect_enrollments(&w, |s| s.pathway_state == "withdrawn")
    );
    let (schools, _) = list_where(
        &app,
        "organizations",
        "OrganizationFilter",
        json!({ "orgType": { "eq": "SECONDARY_SCHOOL" } }),
    )
    .await;
    assert_eq!(schools, vec!["org-school-a", "org-school-b"]);
    let (not_partners, _) = list_where(
        &app,
        "organizations",
        "OrganizationFilter",
        json!({ "orgType": { "ne": "INDUSTRY_PARTNER" } }),
    )
    .await;
    assert_eq!(
        not_partners,
        vec![
            "org-university",
            "org-unit",
            "org-office",
            "org-school-a",
            "org-school-b"
        ]
    );
}

#[tokio::test]
async fn id_filters_take_a_global_id_or_a_plain_sourced_id() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;

    // Act
    let by_global =
        students_where(&app, json!({ "primaryOrg": { "eq": w.school_b().gid() } })).await;
    let by_sourced = students_where(&app, json!({ "primaryOrg": { "eq": "org-school-b" } })).await;
    let not_b = students_where(&app, json!({ "primaryOrg": { "ne": w.school_b().gid() } })).await;
    let either = students_where(
        &app,
        json!({ "primaryOrg": { "in": [w.school_a().gid(), "org-school-b"] } }),
    )
    .await;
    let unknown = students_where(&app, json!({ "primaryOrg": { "eq": "org-nowhere" } })).await;

    // Assert
    assert_eq!(by_global, w.student_ids_of(1));
    assert_eq!(by_sourced, w.student_ids_of(1));
    assert_eq!(not_b, w.student_ids_of(0));
    assert_eq!(either, w.student_ids());
    assert_eq!(unknown, Vec::<String>::new());
}

#[tokio::test]
async fn id_filters_on_nullable_references_and_is_null() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;

    // Act
    let (no_stage, _) = list_where(
        &app,
        "pathwayEnrollments",
        "PathwayEnrollmentFilter",
        json!({ "currentStage": { "isNull": true } }),
    )
    .await;
    let (at_s5, _) = list_where(
        &app,
        "pathwayEnrollments",
        "PathwayEnrollmentFilter",
        json!({ "currentStage": { "eq": w.stages[1].gid() } }),
    )
    .await;

    // Assert
    assert_eq!(
        no_stage,
        expect_enrollments(&w, |s| s.current_stage.is_none())
    );
    assert_eq!(
        at_s5,
        expect_enrollments(&w, |s| s.current_stage == Some("S5"))
    );
}

#[tokio::test]
async fn an_id_filter_with_another_types_global_id_is_bad_user_input() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;

    // Act
    let response = app
        .gql_admin(
            "query($f: PersonFilter) { students(filter: $f) { totalCount } }",
            json!({ "f": { "primaryOrg": { "eq": global_id("Person", "stu-a-01") } } }),
        )
        .await;

    // Assert
    assert_eq!(response.error_code(), Some("BAD_USER_INPUT"));
    assert_eq!(response.error_field(), Some("primaryOrg"));
}

#[tokio::test]
async fn and_or_not_compose_including_nested_groups() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;

    // Act + Assert
    for (filter, predicate) in [
        (
            json!({ "and": [{ "classLevel": { "eq": "S4" } }, { "enabledUser": { "eq": true } }] }),
            Box::new(|s: &Student| s.class_level == "S4" && s.enabled_user)
                as Box<dyn Fn(&Student) -> bool>,
        ),
        (
            json!({ "or": [{ "familyName": { "eq": "Chan" } }, { "familyName": { "eq": "Ng" } }] }),
            Box::new(|s: &Student| s.family_name == "Chan" || s.family_name == "Ng"),
        ),
        (
            json!({ "not": { "classLevel": { "eq": "S6" } } }),
            Box::new(|s: &Student| s.class_level != "S6"),
        ),
        (
            // Fields and groups at one level are ANDed.
            json!({ "classLevel": { "in": ["S4", "S5"] }, "or": [{ "familyName": { "lt": "D" } }, { "email": { "isNull": true } }] }),
            Box::new(|s: &Student| {
                ["S4", "S5"].contains(&s.class_level.as_str())
                    && (s.family_name.as_str() < "D" || s.email.is_none())
            }),
        ),
        (
            json!({ "or": [
                { "familyName": { "eq": "Chan" } },
                { "and": [{ "classLevel": { "eq": "S5" } }, { "not": { "enabledUser": { "eq": true } } }] },
            ] }),
            Box::new(|s: &Student| {
                s.family_name == "Chan" || (s.class_level == "S5" && !s.enabled_user)
            }),
        ),
        (
            json!({ "not": { "or": [{ "primaryOrg": { "eq": "org-school-a" } }, { "expectedHkdseYear": { "gte": 2027 } }] } }),
            Box::new(|s: &Student| !(s.school == 0 || s.expected_hkdse_year >= 2027)),
        ),
    ] {
        let got = students_where(&app, filter.clone()).await;
        assert_eq!(got, expect(&w, predicate), "filter {filter}");
    }
}

#[tokio::test]
async fn empty_groups_follow_logic_an_empty_or_matches_nothing_and_an_empty_and_everything() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;

    // Act
    let empty_or = students_where(&app, json!({ "or": [] })).await;
    let empty_and = students_where(&app, json!({ "and": [] })).await;
    let empty_in = students_where(&app, json!({ "familyName": { "in": [] } })).await;

    // Assert
    assert_eq!(empty_or, Vec::<String>::new());
    assert_eq!(empty_and, w.student_ids());
    assert_eq!(empty_in, Vec::<String>::new());
}

#[tokio::test]
async fn changed_since_returns_rows_modified_at_or_after_the_instant() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let since = w.base_time + Duration::minutes(7);

    // Act
    let response = app
        .gql_admin(
            "query($t: DateTime) { students(changedSince: $t) { totalCount edges { node { sourcedId } } } }",
            json!({ "t": since.to_rfc3339() }),
        )
        .await;

    // Assert
    let students = &response.data()["students"];
    assert_eq!(
        sourced_ids(students),
        expect(&w, |s| s.date_last_modified >= since)
    );
    assert_eq!(students["totalCount"], json!(5));
}

#[tokio::test]
async fn tombstones_are_hidden_by_default_and_shown_with_include_deleted() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let gone = w.student("stu-a-03");
    tombstone(&app.db, "person", gone.person.id).await;
    let query = "query($d: Boolean!) { students(includeDeleted: $d) { totalCount edges { node { sourcedId status version } } } }";

    // Act
    let default = app.gql_admin(query, json!({ "d": false })).await;
    let with_deleted = app.gql_admin(query, json!({ "d": true })).await;

    // Assert
    let visible: Vec<String> = w
        .student_ids()
        .into_iter()
        .filter(|id| id != "stu-a-03")
        .collect();
    assert_eq!(sourced_ids(&default.data()["students"]), visible);
    assert_eq!(default.data()["students"]["totalCount"], json!(11));
    let all = &with_deleted.data()["students"];
    assert_eq!(sourced_ids(all), w.student_ids());
    assert_eq!(all["totalCount"], json!(12));
    let tomb = all["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .find(|e| e["node"]["sourcedId"] == json!("stu-a-03"))
        .expect("tombstone listed");
    assert_eq!(tomb["node"]["status"], json!("TOBEDELETED"));
    assert_eq!(tomb["node"]["version"], json!(2));
}

#[tokio::test]
async fn changed_since_reports_tombstones_when_deleted_rows_are_included() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let since = chrono::Utc::now() - Duration::minutes(1);
    tombstone(&app.db, "person", w.student("stu-b-02").person.id).await;

    // Act
    let response = app
        .gql_admin(
            "query($t: DateTime) { students(changedSince: $t, includeDeleted: true) { edges { node { sourcedId status } } } }",
            json!({ "t": since.to_rfc3339() }),
        )
        .await;

    // Assert
    assert_eq!(
        response.data()["students"]["edges"],
        json!([{ "node": { "sourcedId": "stu-b-02", "status": "TOBEDELETED" } }])
    );
}

#[tokio::test]
async fn total_count_matches_the_filtered_rows_not_the_page() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;

    // Act
    let response = app
        .gql_admin(
            "{ students(first: 2, filter: { classLevel: { in: [\"S4\", \"S6\"] } }) { totalCount edges { node { sourcedId } } } }",
            json!({}),
        )
        .await;

    // Assert
    let students = &response.data()["students"];
    let wanted = expect(&w, |s| s.class_level != "S5");
    assert_eq!(students["totalCount"], json!(wanted.len()));
    assert_eq!(sourced_ids(students), wanted[..2].to_vec());
}

#[tokio::test]
async fn tombstones_are_hidden_from_nested_lists_and_nested_counts() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let gone = w.student("stu-b-03");
    tombstone(&app.db, "course_enrollment", gone.course_enrollment.id).await;
    let query = "query($id: ID!, $d: Boolean!) { node(id: $id) { ... on CourseOffering { \
                 enrollments(includeDeleted: $d, filter: { role: { eq: STUDENT } }) { totalCount edges { node { sourcedId status } } } } } }";

    // Act
    let default = app
        .gql_admin(query, json!({ "id": w.offerings[1].gid(), "d": false }))
        .await;
    let with_deleted = app
        .gql_admin(query, json!({ "id": w.offerings[1].gid(), "d": true }))
        .await;

    // Assert
    let all: Vec<String> = w
        .students_of(1)
        .iter()
        .map(|s| s.course_enrollment.sourced_id.clone())
        .collect();
    let visible: Vec<String> = all
        .iter()
        .filter(|id| *id != "ce-stu-b-03")
        .cloned()
        .collect();
    let hidden = &default.data()["node"]["enrollments"];
    assert_eq!(sourced_ids(hidden), visible);
    assert_eq!(hidden["totalCount"], json!(5));
    let shown = &with_deleted.data()["node"]["enrollments"];
    assert_eq!(sourced_ids(shown), all);
    assert_eq!(shown["totalCount"], json!(6));
    assert_eq!(shown["edges"][2]["node"]["status"], json!("TOBEDELETED"));
}
