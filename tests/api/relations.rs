//! Relation fields in both directions, each resolving to exactly the seeded rows.

use integration_tests::fixtures::seed_world;
use integration_tests::{node_strings, sourced_ids, spawn_app};
use serde_json::{Value, json};

const NODE: &str = "query($id: ID!) { node(id: $id) { __typename ... on Record { sourcedId } ";

#[tokio::test]
async fn a_school_lists_its_students_and_offerings_and_a_person_points_back() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;

    // Act
    let response = app
        .gql_admin(
            &format!(
                "{NODE} ... on Organization {{ students {{ totalCount edges {{ node {{ sourcedId primaryOrg {{ sourcedId }} }} }} }} \
                 courseOfferings {{ totalCount edges {{ node {{ sourcedId schoolOrg {{ sourcedId }} }} }} }} }} }} }}"
            ),
            json!({ "id": w.school_a().gid() }),
        )
        .await;

    // Assert
    let school = &response.data()["node"];
    assert_eq!(sourced_ids(&school["students"]), w.student_ids_of(0));
    assert_eq!(school["students"]["totalCount"], json!(6));
    for edge in school["students"]["edges"].as_array().expect("edges") {
        assert_eq!(
            edge["node"]["primaryOrg"]["sourcedId"],
            json!("org-school-a")
        );
    }
    assert_eq!(
        school["courseOfferings"],
        json!({ "totalCount": 1, "edges": [{ "node": { "sourcedId": "off-a", "schoolOrg": { "sourcedId": "org-school-a" } } }] })
    );
}

#[tokio::test]
async fn a_person_lists_their_pathway_and_course_enrollments() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = w.student("stu-b-04");

    // Act
    let response = app
        .gql_admin(
            &format!(
                "{NODE} ... on Person {{ pathwayEnrollments {{ totalCount edges {{ node {{ sourcedId state student {{ sourcedId }} }} }} }} \
                 courseEnrollments {{ totalCount edges {{ node {{ sourcedId role person {{ sourcedId }} }} }} }} }} }} }}"
            ),
            json!({ "id": student.person.gid() }),
        )
        .await;

    // Assert
    let person = &response.data()["node"];
    assert_eq!(
        person["pathwayEnrollments"],
        json!({ "totalCount": 1, "edges": [{ "node": {
            "sourcedId": "pe-stu-b-04", "state": "ON_HOLD", "student": { "sourcedId": "stu-b-04" } } }] })
    );
    assert_eq!(
        person["courseEnrollments"],
        json!({ "totalCount": 1, "edges": [{ "node": {
            "sourcedId": "ce-stu-b-04", "role": "STUDENT", "person": { "sourcedId": "stu-b-04" } } }] })
    );
}

#[tokio::test]
async fn guardians_and_wards_are_two_views_of_the_same_links() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let guardian = &w.school_people[0].guardian;

    // Act
    let student = app
        .gql_admin(
            &format!(
                "{NODE} ... on Person {{ guardians {{ edges {{ node {{ sourcedId relationship hasParentalResponsibility \
                 guardian {{ sourcedId }} student {{ sourcedId }} }} }} }} }} }} }}"
            ),
            json!({ "id": w.student("stu-a-01").person.gid() }),
        )
        .await;
    let parent = app
        .gql_admin(
            &format!("{NODE} ... on Person {{ wards {{ totalCount edges {{ node {{ student {{ sourcedId }} }} }} }} guardians {{ totalCount }} }} }} }}"),
            json!({ "id": guardian.gid() }),
        )
        .await;

    // Assert
    assert_eq!(
        student.data()["node"]["guardians"]["edges"],
        json!([{ "node": {
            "sourcedId": "gl-stu-a-01", "relationship": "mother", "hasParentalResponsibility": true,
            "guardian": { "sourcedId": "grd-a-1" }, "student": { "sourcedId": "stu-a-01" } } }])
    );
    let wards = &parent.data()["node"]["wards"];
    assert_eq!(wards["totalCount"], json!(2));
    let students: Vec<&Value> = wards["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| &e["node"]["student"]["sourcedId"])
        .collect();
    assert_eq!(students, [&json!("stu-a-01"), &json!("stu-a-02")]);
    assert_eq!(parent.data()["node"]["guardians"]["totalCount"], json!(0));
}

#[tokio::test]
async fn a_person_lists_external_ids_consents_and_role_assignments() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = w.student("stu-a-01");

    // Act
    let response = app
        .gql_admin(
            &format!(
                "{NODE} ... on Person {{ \
                 externalIds {{ edges {{ node {{ sourcedId entityType system idType identifier scopeOrg {{ sourcedId }} }} }} }} \
                 consents {{ edges {{ node {{ sourcedId purpose giverRelationship isActive givenBy {{ sourcedId }} scopeOrg {{ sourcedId }} }} }} }} \
                 roleAssignments {{ edges {{ node {{ sourcedId role roleType isActive beginDate endDate org {{ sourcedId }} }} }} }} }} }} }}"
            ),
            json!({ "id": student.person.gid() }),
        )
        .await;

    // Assert
    let person = &response.data()["node"];
    assert_eq!(
        person["externalIds"]["edges"],
        json!([
            { "node": { "sourcedId": "xid-stu-a-01", "entityType": "Person", "system": "a-sis", "idType": "STRN",
                        "identifier": student.external_identifier, "scopeOrg": { "sourcedId": "org-school-a" } } },
            { "node": { "sourcedId": "xid-stu-a-01-b", "entityType": "Person", "system": "b-sis", "idType": "STRN",
                        "identifier": "B9990001", "scopeOrg": { "sourcedId": "org-school-b" } } },
        ])
    );
    assert_eq!(
        person["consents"]["edges"],
        json!([
            { "node": { "sourcedId": "consent-stu-a-01-self", "purpose": "SHARE_WITH_PARTNER_MENTOR", "giverRelationship": "SELF",
                        "isActive": true, "givenBy": { "sourcedId": "stu-a-01" }, "scopeOrg": { "sourcedId": "org-partner-x" } } },
            { "node": { "sourcedId": "consent-stu-a-01-guardian", "purpose": "SHARE_WITH_PARTNER_MENTOR",
                        "giverRelationship": "PARENTAL_RESPONSIBILITY", "isActive": true,
                        "givenBy": { "sourcedId": "grd-a-1" }, "scopeOrg": { "sourcedId": "org-partner-x" } } },
        ])
    );
    assert_eq!(
        person["roleAssignments"]["edges"],
        json!([{ "node": { "sourcedId": "ra-stu-a-01", "role": "STUDENT", "roleType": "PRIMARY", "isActive": true,
                           "beginDate": "2024-09-01", "endDate": null, "org": { "sourcedId": "org-school-a" } } }])
    );
}

#[tokio::test]
async fn a_pathway_lists_its_stages_by_seq_and_its_cohorts() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;

    // Act
    let response = app
        .gql(
            "{ pathway(code: \"CLAPTECH-ICT\") { sourcedId track certifications owningOrg { sourcedId parent { sourcedId } } \
               stages { totalCount edges { node { code seq level isEntryPoint isExitPoint classLevel pathway { code } } } } } }",
            json!({}),
            None,
        )
        .await;
    let cohorts = app
        .gql_admin(
            "{ pathway(code: \"CLAPTECH-ICT\") { cohorts { edges { node { sourcedId code expectedHkdseYear \
               intakeSession { sourcedId } pathway { sourcedId } } } } } }",
            json!({}),
        )
        .await;

    // Assert
    let pathway = &response.data()["pathway"];
    assert_eq!(pathway["sourcedId"], json!("pw-ict"));
    assert_eq!(pathway["track"], json!("ICT"));
    assert_eq!(pathway["certifications"], json!(["HD", "ApL"]));
    assert_eq!(
        pathway["owningOrg"],
        json!({ "sourcedId": "org-unit", "parent": { "sourcedId": "org-university" } })
    );
    assert_eq!(pathway["stages"]["totalCount"], json!(5));
    let stage = |code: &str, seq: u32, level: &str, entry: bool, exit: bool| {
        json!({ "node": { "code": code, "seq": seq, "level": level, "isEntryPoint": entry, "isExitPoint": exit,
                          "classLevel": code, "pathway": { "code": "CLAPTECH-ICT" } } })
    };
    assert_eq!(
        pathway["stages"]["edges"],
        json!([
            stage("S4", 1, "SENIOR_SECONDARY", true, false),
            stage("S5", 2, "SENIOR_SECONDARY", false, false),
            stage("S6", 3, "SENIOR_SECONDARY", false, true),
            stage("HD1", 4, "SUB_DEGREE", true, false),
            stage("HD2", 5, "SUB_DEGREE", false, true),
        ])
    );
    assert_eq!(
        cohorts.data()["pathway"]["cohorts"]["edges"],
        json!([{ "node": { "sourcedId": "cohort-2024", "code": "ICT-2024", "expectedHkdseYear": 2027,
                           "intakeSession": { "sourcedId": "year-2024" }, "pathway": { "sourcedId": "pw-ict" } } }])
    );
}

#[tokio::test]
async fn a_stage_lists_its_courses_and_a_course_its_stages_and_offerings() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;

    // Act
    let stages = app
        .gql(
            "{ pathway(code: \"CLAPTECH-ICT\") { stages(first: 5) { edges { node { code \
               courses(first: 5) { edges { node { sourcedId requirement stage { code } course { courseCode } } } } } } } } }",
            json!({}),
            None,
        )
        .await;
    let course = app
        .gql_admin(
            &format!(
                "{NODE} ... on Course {{ courseCode courseKind qfLevel providerOrg {{ sourcedId }} \
                 stages {{ edges {{ node {{ stage {{ code }} }} }} }} \
                 offerings {{ totalCount edges {{ node {{ sourcedId classCode course {{ sourcedId }} }} }} }} }} }} }}"
            ),
            json!({ "id": w.course_apl.gid() }),
        )
        .await;

    // Assert
    let edges = stages.data()["pathway"]["stages"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    let got: Vec<(Value, Value)> = edges
        .iter()
        .map(|e| {
            (
                e["node"]["code"].clone(),
                e["node"]["courses"]["edges"].clone(),
            )
        })
        .collect();
    for (code, courses) in got {
        let code = code.as_str().expect("code");
        let course_code = if code.starts_with('S') {
            "APL-TECHBASICS"
        } else {
            "HD-ICT"
        };
        assert_eq!(
            courses,
            json!([{ "node": { "sourcedId": format!("sc-{}", code.to_lowercase()), "requirement": "CORE",
                               "stage": { "code": code }, "course": { "courseCode": course_code } } }]),
            "stage {code}"
        );
    }
    let course = &course.data()["node"];
    assert_eq!(course["courseCode"], json!("APL-TECHBASICS"));
    assert_eq!(course["courseKind"], json!("APPLIED_LEARNING"));
    assert_eq!(course["qfLevel"], json!(3));
    assert_eq!(course["providerOrg"], json!({ "sourcedId": "org-unit" }));
    let stage_codes: Vec<&Value> = course["stages"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| &e["node"]["stage"]["code"])
        .collect();
    assert_eq!(stage_codes, [&json!("S4"), &json!("S5"), &json!("S6")]);
    assert_eq!(course["offerings"]["totalCount"], json!(2));
    assert_eq!(sourced_ids(&course["offerings"]), ["off-a", "off-b"]);
}

#[tokio::test]
async fn an_offering_knows_its_course_cohort_terms_and_enrollments() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;

    // Act
    let response = app
        .gql_admin(
            &format!(
                "{NODE} ... on CourseOffering {{ classCode deliveryMode state startDate endDate \
                 course {{ sourcedId }} cohort {{ sourcedId }} schoolOrg {{ sourcedId }} \
                 terms {{ sourcedId title startDate parent {{ sourcedId }} }} \
                 enrollments {{ totalCount edges {{ node {{ sourcedId offering {{ sourcedId }} }} }} }} }} }} }}"
            ),
            json!({ "id": w.offerings[0].gid() }),
        )
        .await;

    // Assert
    let offering = &response.data()["node"];
    assert_eq!(offering["classCode"], json!("APL-A-2024"));
    assert_eq!(offering["deliveryMode"], json!("MODE_2_SCHOOL_BASED"));
    assert_eq!(offering["state"], json!("RUNNING"));
    assert_eq!(offering["startDate"], json!("2024-09-01"));
    assert_eq!(offering["endDate"], json!("2026-09-01"));
    assert_eq!(offering["course"], json!({ "sourcedId": "course-apl" }));
    assert_eq!(offering["cohort"], json!({ "sourcedId": "cohort-2024" }));
    assert_eq!(
        offering["schoolOrg"],
        json!({ "sourcedId": "org-school-a" })
    );
    assert_eq!(
        offering["terms"],
        json!([
            { "sourcedId": "term-2024-1", "title": "2024/25 Term 1", "startDate": "2024-09-01", "parent": { "sourcedId": "year-2024" } },
            { "sourcedId": "term-2024-2", "title": "2024/25 Term 2", "startDate": "2025-01-01", "parent": { "sourcedId": "year-2024" } },
        ])
    );
    let mut wanted = vec!["ce-tch-a".to_owned()];
    wanted.extend(
        w.students_of(0)
            .iter()
            .map(|s| s.course_enrollment.sourced_id.clone()),
    );
    assert_eq!(sourced_ids(&offering["enrollments"]), wanted);
    assert_eq!(offering["enrollments"]["totalCount"], json!(7));
    for edge in offering["enrollments"]["edges"].as_array().expect("edges") {
        assert_eq!(edge["node"]["offering"]["sourcedId"], json!("off-a"));
    }
}

#[tokio::test]
async fn a_pathway_enrollment_resolves_its_student_pathway_cohort_school_and_stages() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let applied_student = w.student("stu-a-02");
    let on_hold = w.student("stu-a-04");

    // Act
    let query = format!(
        "{NODE} ... on PathwayEnrollment {{ state beginDate endDate exitReason \
         student {{ sourcedId }} pathway {{ sourcedId }} cohort {{ sourcedId code }} entrySchool {{ sourcedId }} \
         entryStage {{ code }} currentStage {{ code }} }} }} }}"
    );
    let applied = app
        .gql_admin(
            &query,
            json!({ "id": applied_student.pathway_enrollment.gid() }),
        )
        .await;
    let held = app
        .gql_admin(&query, json!({ "id": on_hold.pathway_enrollment.gid() }))
        .await;

    // Assert
    assert_eq!(
        applied.data()["node"],
        json!({ "__typename": "PathwayEnrollment", "sourcedId": "pe-stu-a-02", "state": "APPLIED",
                "beginDate": "2024-09-02", "endDate": null, "exitReason": null,
                "student": { "sourcedId": "stu-a-02" }, "pathway": { "sourcedId": "pw-ict" },
                "cohort": { "sourcedId": "cohort-2024", "code": "ICT-2024" }, "entrySchool": { "sourcedId": "org-school-a" },
                "entryStage": { "code": "S4" }, "currentStage": null })
    );
    assert_eq!(
        held.data()["node"],
        json!({ "__typename": "PathwayEnrollment", "sourcedId": "pe-stu-a-04", "state": "ON_HOLD",
                "beginDate": "2024-09-04", "endDate": null, "exitReason": null,
                "student": { "sourcedId": "stu-a-04" }, "pathway": { "sourcedId": "pw-ict" },
                "cohort": { "sourcedId": "cohort-2024", "code": "ICT-2024" }, "entrySchool": { "sourcedId": "org-school-a" },
                "entryStage": { "code": "S4" }, "currentStage": { "code": "S4" } })
    );
}

#[tokio::test]
async fn a_course_enrollment_resolves_its_person_offering_and_school() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = w.student("stu-b-05");

    // Act
    let response = app
        .gql_admin(
            &format!(
                "{NODE} ... on CourseEnrollment {{ role state beginDate endDate contactHoursAttended transferredTo {{ sourcedId }} \
                 person {{ sourcedId }} offering {{ sourcedId course {{ title }} }} schoolOrg {{ sourcedId }} }} }} }}"
            ),
            json!({ "id": student.course_enrollment.gid() }),
        )
        .await;

    // Assert
    assert_eq!(
        response.data()["node"],
        json!({ "__typename": "CourseEnrollment", "sourcedId": "ce-stu-b-05", "role": "STUDENT", "state": "WITHDRAWN",
                "beginDate": "2024-09-05", "endDate": "2025-03-01", "contactHoursAttended": 50.5, "transferredTo": null,
                "person": { "sourcedId": "stu-b-05" }, "offering": { "sourcedId": "off-b", "course": { "title": "Technology Basics" } },
                "schoolOrg": { "sourcedId": "org-school-b" } })
    );
}

#[tokio::test]
async fn status_history_lists_every_transition_oldest_first() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let withdrawn = w.student("stu-a-05");

    // Act
    let response = app
        .gql_admin(
            &format!("{NODE} ... on PathwayEnrollment {{ state exitReason endDate statusHistory {{ fromState toState reason actor at }} }} }} }}"),
            json!({ "id": withdrawn.pathway_enrollment.gid() }),
        )
        .await;

    // Assert
    let node = &response.data()["node"];
    assert_eq!(node["state"], json!("WITHDRAWN"));
    assert_eq!(node["exitReason"], json!("WITHDREW_BY_CHOICE"));
    assert_eq!(node["endDate"], json!("2025-03-01"));
    let history = node["statusHistory"].as_array().expect("history");
    let steps: Vec<(Value, Value)> = history
        .iter()
        .map(|h| (h["fromState"].clone(), h["toState"].clone()))
        .collect();
    assert_eq!(
        steps,
        [
            (Value::Null, json!("applied")),
            (json!("applied"), json!("offered")),
            (json!("offered"), json!("enrolled")),
            (json!("enrolled"), json!("withdrawn")),
        ]
    );
    let times: Vec<chrono::DateTime<chrono::Utc>> = history
        .iter()
        .map(|h| h["at"].as_str().expect("at").parse().expect("RFC 3339"))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] < w[1]),
        "oldest first: {times:?}"
    );
    assert_eq!(history[0]["reason"], json!("step 0"));
    assert_eq!(history[0]["actor"], json!("crd-a"));
}

#[tokio::test]
async fn academic_sessions_link_parents_and_children() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;

    // Act
    let year = app
        .gql_admin(
            &format!(
                "{NODE} ... on AcademicSession {{ title sessionType schoolYear startDate endDate parent {{ sourcedId }} org {{ sourcedId }} \
                 children(orderBy: [{{ field: START_DATE }}]) {{ totalCount edges {{ node {{ sourcedId sessionType parent {{ sourcedId }} }} }} }} }} }} }}"
            ),
            json!({ "id": w.year_2024.gid() }),
        )
        .await;

    // Assert
    assert_eq!(
        year.data()["node"],
        json!({ "__typename": "AcademicSession", "sourcedId": "year-2024", "title": "2024/25", "sessionType": "SCHOOL_YEAR",
                "schoolYear": 2025, "startDate": "2024-09-01", "endDate": "2025-09-01", "parent": null, "org": null,
                "children": { "totalCount": 2, "edges": [
                    { "node": { "sourcedId": "term-2024-1", "sessionType": "TERM", "parent": { "sourcedId": "year-2024" } } },
                    { "node": { "sourcedId": "term-2024-2", "sessionType": "TERM", "parent": { "sourcedId": "year-2024" } } },
                ] } })
    );
}

#[tokio::test]
async fn organizations_link_parents_and_children_and_providers_their_courses() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;

    // Act
    let response = app
        .gql(
            &format!(
                "{NODE} ... on Organization {{ orgType parent {{ sourcedId }} children {{ edges {{ node {{ sourcedId }} }} }} \
                 courses {{ edges {{ node {{ courseCode providerOrg {{ sourcedId }} }} }} }} }} }} }}"
            ),
            json!({ "id": w.unit.gid() }),
            None,
        )
        .await;

    // Assert
    assert_eq!(
        response.data()["node"],
        json!({ "__typename": "Organization", "sourcedId": "org-unit", "orgType": "ACADEMIC_UNIT",
                "parent": { "sourcedId": "org-university" },
                "children": { "edges": [{ "node": { "sourcedId": "org-office" } }] },
                "courses": { "edges": [
                    { "node": { "courseCode": "APL-TECHBASICS", "providerOrg": { "sourcedId": "org-unit" } } },
                    { "node": { "courseCode": "HD-ICT", "providerOrg": { "sourcedId": "org-unit" } } },
                ] } })
    );
}

#[tokio::test]
async fn a_cohort_lists_its_enrollments_and_offerings() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;

    // Act
    let response = app
        .gql_admin(
            &format!("{NODE} ... on Cohort {{ enrollments(first: 3) {{ totalCount edges {{ node {{ sourcedId }} }} }} offerings {{ edges {{ node {{ sourcedId }} }} }} }} }} }}"),
            json!({ "id": w.cohort.gid() }),
        )
        .await;

    // Assert
    let cohort = &response.data()["node"];
    assert_eq!(cohort["enrollments"]["totalCount"], json!(12));
    assert_eq!(
        sourced_ids(&cohort["enrollments"]),
        ["pe-stu-a-01", "pe-stu-a-02", "pe-stu-a-03"]
    );
    assert_eq!(sourced_ids(&cohort["offerings"]), ["off-a", "off-b"]);
}

#[tokio::test]
async fn nested_total_counts_count_each_parents_own_rows() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let extra =
        integration_tests::fixtures::add_students(&app.db, "stu-more", "More", w.school_b(), 3)
            .await;

    // Act
    let response = app
        .gql_admin(
            "{ schools { edges { node { sourcedId students(first: 1) { totalCount edges { node { sourcedId } } } \
               courseOfferings { edges { node { enrollments(first: 2, filter: { role: { eq: STUDENT } }) { totalCount } } } } } } } }",
            json!({}),
        )
        .await;

    // Assert
    let schools = response.data()["schools"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    assert_eq!(
        node_strings(&response.data()["schools"], "sourcedId"),
        ["org-school-a", "org-school-b"]
    );
    assert_eq!(schools[0]["node"]["students"]["totalCount"], json!(6));
    assert_eq!(
        schools[1]["node"]["students"]["totalCount"],
        json!(6 + extra.len())
    );
    assert_eq!(sourced_ids(&schools[0]["node"]["students"]), ["stu-a-01"]);
    assert_eq!(sourced_ids(&schools[1]["node"]["students"]), ["stu-b-01"]);
    for school in &schools {
        assert_eq!(
            school["node"]["courseOfferings"]["edges"][0]["node"]["enrollments"]["totalCount"],
            json!(6)
        );
    }
}
