//! Row-level scope (DOMAIN.md section 4): school staff see their own school's people and records
//! only, in every list, count, `node` lookup and relation; partners and mentors see no personal
//! data yet; the programme office sees everything; no client filter widens the scope.

use chrono::Duration;
use integration_tests::fixtures::{
    NewStudent, OFFICE, PARTNER_X, SCHOOL_A, World, add_student, enroll, seed_world,
};
use integration_tests::{TestApp, global_id, sourced_ids, spawn_app};
use serde_json::{Value, json};

fn coordinator_a(app: &TestApp) -> String {
    app.token_for("crd-a", &["schoolCoordinator"], SCHOOL_A)
}

/// `{ list(first: 100) { totalCount edges { node { sourcedId } } } }` with a token.
async fn list_as(app: &TestApp, list: &str, token: &str) -> (Vec<String>, u64) {
    let response = app
        .gql(
            &format!("{{ {list}(first: 100) {{ totalCount edges {{ node {{ sourcedId }} }} }} }}"),
            json!({}),
            Some(token),
        )
        .await;
    let connection = &response.data()[list];
    (
        sourced_ids(connection),
        connection["totalCount"].as_u64().expect("totalCount"),
    )
}

/// School A's people in id order: coordinator, teacher, guardian, students.
fn people_of_a(w: &World) -> Vec<String> {
    let mut ids = vec!["crd-a".to_owned(), "tch-a".to_owned(), "grd-a-1".to_owned()];
    ids.extend(w.student_ids_of(0));
    ids
}

fn enrollments_of(w: &World, school: usize) -> (Vec<String>, Vec<String>) {
    let students = w.students_of(school);
    let pathway = students
        .iter()
        .map(|s| s.pathway_enrollment.sourced_id.clone())
        .collect();
    let mut course = vec![
        w.school_people[school]
            .teacher_enrollment
            .sourced_id
            .clone(),
    ];
    course.extend(
        students
            .iter()
            .map(|s| s.course_enrollment.sourced_id.clone()),
    );
    (pathway, course)
}

#[tokio::test]
async fn a_school_coordinator_lists_only_their_schools_students_and_people() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = coordinator_a(&app);

    // Act
    let (students, students_total) = list_as(&app, "students", &token).await;
    let (people, people_total) = list_as(&app, "people", &token).await;

    // Assert
    assert_eq!(students, w.student_ids_of(0));
    assert_eq!(students_total, 6);
    assert_eq!(people, people_of_a(&w));
    assert_eq!(people_total, 9);
}

#[tokio::test]
async fn a_school_coordinator_lists_only_their_schools_enrollments() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = coordinator_a(&app);

    // Act
    let (pathway, pathway_total) = list_as(&app, "pathwayEnrollments", &token).await;
    let (course, course_total) = list_as(&app, "courseEnrollments", &token).await;

    // Assert
    let (wanted_pathway, wanted_course) = enrollments_of(&w, 0);
    assert_eq!(pathway, wanted_pathway);
    assert_eq!(pathway_total, 6);
    assert_eq!(course, wanted_course);
    assert_eq!(course_total, 7);
}

#[tokio::test]
async fn node_on_another_schools_records_is_null_for_a_school_coordinator() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = coordinator_a(&app);
    let b = w.student("stu-b-01");
    let a = w.student("stu-a-01");
    let query = "query($id: ID!) { node(id: $id) { id } }";

    for record in [
        &b.person,
        &b.pathway_enrollment,
        &b.course_enrollment,
        &b.external_id,
        &b.role_assignment,
        &w.consents[2],
        &w.school_people[1].guardian,
    ] {
        // Act
        let response = app
            .gql(query, json!({ "id": record.gid() }), Some(&token))
            .await;

        // Assert
        assert_eq!(response.data()["node"], Value::Null, "{record:?} leaked");
    }
    let both = app
        .gql(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": [a.person.gid(), b.person.gid()] }),
            Some(&token),
        )
        .await;
    assert_eq!(
        both.data()["nodes"],
        json!([{ "id": a.person.gid() }, null])
    );
}

#[tokio::test]
async fn another_schools_students_are_empty_through_relations() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = coordinator_a(&app);

    // Act
    let schools = app
        .gql(
            "{ organizations(filter: { orgType: { eq: SECONDARY_SCHOOL } }) { edges { node { sourcedId \
               students { totalCount edges { node { sourcedId } } } roleAssignments { totalCount } } } } }",
            json!({}),
            Some(&token),
        )
        .await;
    let school_b = app
        .gql(
            "query($id: ID!) { node(id: $id) { ... on Organization { students { totalCount edges { node { sourcedId } } } \
               courseOfferings { edges { node { sourcedId enrollments { totalCount edges { node { sourcedId } } } } } } } } }",
            json!({ "id": w.school_b().gid() }),
            Some(&token),
        )
        .await;
    let pathway = app
        .gql(
            "{ pathway(code: \"CLAPTECH-ICT\") { enrollments(first: 100) { totalCount edges { node { sourcedId } } } \
               cohorts { edges { node { enrollments(first: 100) { totalCount } } } } } }",
            json!({}),
            Some(&token),
        )
        .await;

    // Assert
    let edges = schools.data()["organizations"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    assert_eq!(edges[0]["node"]["sourcedId"], json!("org-school-a"));
    assert_eq!(
        sourced_ids(&edges[0]["node"]["students"]),
        w.student_ids_of(0)
    );
    assert_eq!(edges[1]["node"]["sourcedId"], json!("org-school-b"));
    assert_eq!(
        edges[1]["node"]["students"],
        json!({ "totalCount": 0, "edges": [] })
    );
    assert_eq!(
        edges[1]["node"]["roleAssignments"],
        json!({ "totalCount": 0 })
    );
    let b = &school_b.data()["node"];
    assert_eq!(b["students"], json!({ "totalCount": 0, "edges": [] }));
    assert_eq!(
        b["courseOfferings"]["edges"],
        json!([{ "node": { "sourcedId": "off-b", "enrollments": { "totalCount": 0, "edges": [] } } }])
    );
    let (wanted_pathway, _) = enrollments_of(&w, 0);
    let pathway = &pathway.data()["pathway"];
    assert_eq!(sourced_ids(&pathway["enrollments"]), wanted_pathway);
    assert_eq!(pathway["enrollments"]["totalCount"], json!(6));
    assert_eq!(
        pathway["cohorts"]["edges"][0]["node"]["enrollments"]["totalCount"],
        json!(6)
    );
}

#[tokio::test]
async fn a_client_filter_cannot_widen_a_school_coordinators_scope() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = coordinator_a(&app);
    let query = "query($f: PersonFilter) { students(filter: $f, first: 100) { totalCount edges { node { sourcedId } } } \
                 people(filter: $f, first: 100) { totalCount } }";

    for (filter, wanted) in [
        (
            json!({ "or": [{ "primaryOrg": { "eq": "org-school-b" } }] }),
            vec![],
        ),
        (
            json!({ "or": [{ "primaryOrg": { "eq": "org-school-b" } }, { "familyName": { "contains": "" } }] }),
            w.student_ids_of(0),
        ),
        (
            json!({ "or": [{ "primaryOrg": { "eq": w.school_b().gid() } }, { "primaryOrg": { "isNull": false } }] }),
            w.student_ids_of(0),
        ),
        (
            json!({ "not": { "primaryOrg": { "eq": "org-school-a" } } }),
            vec![],
        ),
        (
            json!({ "or": [{ "sourcedId": { "eq": "stu-b-01" } }, { "not": { "sourcedId": { "eq": "x" } }, "primaryOrg": { "ne": "org-school-a" } }] }),
            vec![],
        ),
    ] {
        // Act
        let response = app.gql(query, json!({ "f": filter }), Some(&token)).await;

        // Assert
        let data = response.data();
        assert_eq!(sourced_ids(&data["students"]), wanted, "filter {filter}");
        assert_eq!(
            data["students"]["totalCount"],
            json!(wanted.len()),
            "filter {filter}"
        );
        let people = data["people"]["totalCount"].as_u64().expect("count");
        assert!(people <= 9, "filter {filter} widened people to {people}");
    }
}

#[tokio::test]
async fn a_school_coordinator_sees_only_their_own_schools_external_ids() {
    // Arrange: stu-a-01 has a key from school A and a key from school B.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = coordinator_a(&app);
    let student = w.student("stu-a-01");

    // Act
    let response = app
        .gql(
            "query($id: ID!) { node(id: $id) { ... on Person { externalIds { totalCount edges { node { sourcedId identifier scopeOrg { sourcedId } } } } } } }",
            json!({ "id": student.person.gid() }),
            Some(&token),
        )
        .await;
    let foreign = app
        .gql(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": w.foreign_external_id.gid() }),
            Some(&token),
        )
        .await;

    // Assert
    assert_eq!(
        response.data()["node"]["externalIds"],
        json!({ "totalCount": 1, "edges": [{ "node": {
            "sourcedId": "xid-stu-a-01", "identifier": student.external_identifier, "scopeOrg": { "sourcedId": "org-school-a" } } }] })
    );
    assert_eq!(foreign.data()["node"], Value::Null);
}

#[tokio::test]
async fn dates_of_birth_are_visible_to_a_school_coordinator() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let query = "{ students(first: 100) { edges { node { sourcedId dateOfBirth } } } }";

    // Act
    let response = app.gql(query, json!({}), Some(&coordinator_a(&app))).await;

    // Assert
    let wanted: Vec<Value> = w
        .students_of(0)
        .iter()
        .map(|s| {
            json!({ "node": { "sourcedId": s.person.sourced_id,
                              "dateOfBirth": s.date_of_birth.format("%Y-%m-%d").to_string() } })
        })
        .collect();
    assert_eq!(response.data()["students"]["edges"], json!(wanted));
}

#[tokio::test]
async fn a_teacher_sees_what_the_coordinator_of_their_school_sees() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;
    let coordinator = coordinator_a(&app);
    let teacher = app.token_for("tch-a", &["teacher"], SCHOOL_A);
    let query = "{ students(first: 100) { totalCount edges { node { sourcedId dateOfBirth externalIds { totalCount } } } } \
                 people(first: 100) { totalCount edges { node { sourcedId } } } \
                 pathwayEnrollments(first: 100) { totalCount edges { node { sourcedId } } } \
                 courseEnrollments(first: 100) { totalCount edges { node { sourcedId } } } }";

    // Act
    let as_coordinator = app.gql(query, json!({}), Some(&coordinator)).await;
    let as_teacher = app.gql(query, json!({}), Some(&teacher)).await;

    // Assert
    assert_eq!(as_teacher.data(), as_coordinator.data());
    assert_eq!(as_teacher.data()["students"]["totalCount"], json!(6));
}

#[tokio::test]
async fn without_mentorships_partners_and_mentors_see_no_student_but_the_catalogue() {
    // Arrange
    let app = spawn_app().await;
    let world = seed_world(&app.db).await;
    let personal = "{ students { totalCount edges { node { sourcedId } } } people { totalCount edges { node { sourcedId } } } \
                    pathwayEnrollments { totalCount edges { node { sourcedId } } } courseEnrollments { totalCount edges { node { sourcedId } } } \
                    schools { edges { node { students { totalCount } } } } }";
    let catalogue = "{ pathways { totalCount } courses { totalCount } organizations { totalCount } cohorts { totalCount } \
                     academicSessions { totalCount } courseOfferings { totalCount } }";

    for token in [
        app.token_for("pc-x", &["partnerCoordinator"], PARTNER_X),
        app.token_for("mentor-x", &["mentor"], PARTNER_X),
    ] {
        // Act
        let hidden = app.gql(personal, json!({}), Some(&token)).await;
        let visible = app.gql(catalogue, json!({}), Some(&token)).await;

        // Assert
        let empty = json!({ "totalCount": 0, "edges": [] });
        let data = hidden.data();
        assert_eq!(data["students"], empty);
        // Their own organisation's people only: no student, guardian or school staff.
        let people = sourced_ids(&data["people"]);
        let outsiders: Vec<&String> = people
            .iter()
            .filter(|p| {
                *p != &world.partner_coordinator.sourced_id && *p != &world.mentor.sourced_id
            })
            .collect();
        assert_eq!(outsiders, Vec::<&String>::new());
        assert_eq!(data["pathwayEnrollments"], empty);
        assert_eq!(data["courseEnrollments"], empty);
        assert_eq!(
            data["schools"]["edges"],
            json!([{ "node": { "students": { "totalCount": 0 } } }, { "node": { "students": { "totalCount": 0 } } }])
        );
        assert_eq!(
            visible.data(),
            &json!({ "pathways": { "totalCount": 1 }, "courses": { "totalCount": 2 }, "organizations": { "totalCount": 7 },
                     "cohorts": { "totalCount": 1 }, "academicSessions": { "totalCount": 5 }, "courseOfferings": { "totalCount": 2 } })
        );
    }
}

#[tokio::test]
async fn a_school_role_acting_for_a_non_school_sees_no_personal_data() {
    // Arrange
    let app = spawn_app().await;
    seed_world(&app.db).await;

    for token in [
        app.token(&["schoolCoordinator"], "org-nowhere"),
        app.token(&["schoolCoordinator"], PARTNER_X),
        app.token(&["teacher"], OFFICE),
    ] {
        // Act
        let (students, total) = list_as(&app, "students", &token).await;

        // Assert
        assert_eq!(students, Vec::<String>::new());
        assert_eq!(total, 0);
    }
}

#[tokio::test]
async fn a_coordinator_of_a_tombstoned_school_sees_no_personal_data() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = coordinator_a(&app);
    integration_tests::fixtures::tombstone(&app.db, "org", w.school_a().id).await;

    // Act
    let (students, total) = list_as(&app, "students", &token).await;
    let (enrollments, _) = list_as(&app, "pathwayEnrollments", &token).await;

    // Assert
    assert_eq!(students, Vec::<String>::new());
    assert_eq!(total, 0);
    assert_eq!(enrollments, Vec::<String>::new());
}

#[tokio::test]
async fn programme_staff_see_both_schools() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = app.token(&["programmeStaff"], OFFICE);

    // Act
    let (students, _) = list_as(&app, "students", &token).await;
    let (people, people_total) = list_as(&app, "people", &token).await;
    let (pathway, _) = list_as(&app, "pathwayEnrollments", &token).await;
    let (course, course_total) = list_as(&app, "courseEnrollments", &token).await;

    // Assert
    assert_eq!(students, w.student_ids());
    assert_eq!(people, w.people);
    assert_eq!(people_total, 21);
    let (pathway_a, course_a) = enrollments_of(&w, 0);
    let (pathway_b, course_b) = enrollments_of(&w, 1);
    assert_eq!(pathway, [pathway_a, pathway_b].concat());
    assert_eq!(course, [course_a, course_b].concat());
    assert_eq!(course_total, 14);
}

#[tokio::test]
async fn a_student_whose_role_at_the_school_ended_is_not_visible_to_its_coordinator() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let today = chrono::Utc::now().date_naive();
    let mut left = NewStudent::new("stu-left", "Leo", "Leung", w.school_a());
    left.role_begin = today - Duration::days(400);
    left.role_end = Some(today - Duration::days(30));
    let person = add_student(&app.db, &left).await;
    let (pathway_enrollment, _) = enroll(&app.db, &w, &person, w.school_a()).await;
    let token = coordinator_a(&app);

    // Act
    let (students, students_total) = list_as(&app, "students", &token).await;
    let (people, _) = list_as(&app, "people", &token).await;
    let (pathway, _) = list_as(&app, "pathwayEnrollments", &token).await;
    let node = app
        .gql(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": [person.gid(), pathway_enrollment.gid()] }),
            Some(&token),
        )
        .await;
    let (staff_view, _) = list_as(&app, "students", &app.token(&["programmeStaff"], OFFICE)).await;

    // Assert
    assert_eq!(students, w.student_ids_of(0));
    assert_eq!(students_total, 6);
    assert!(!people.contains(&"stu-left".to_owned()));
    assert!(!pathway.contains(&"pe-stu-left".to_owned()));
    assert_eq!(node.data()["nodes"], json!([null, null]));
    assert!(
        staff_view.contains(&"stu-left".to_owned()),
        "the programme office still sees former students"
    );
}

#[tokio::test]
async fn a_student_whose_role_has_not_begun_is_not_visible_yet() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let mut future = NewStudent::new("stu-future", "Fay", "Fok", w.school_a());
    future.role_begin = chrono::Utc::now().date_naive() + Duration::days(30);
    add_student(&app.db, &future).await;

    // Act
    let (students, _) = list_as(&app, "students", &coordinator_a(&app)).await;

    // Assert
    assert_eq!(students, w.student_ids_of(0));
}

#[tokio::test]
async fn a_student_whose_role_ends_today_is_no_longer_visible() {
    // Arrange: end dates are exclusive (Hong Kong calendar).
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let hk_today = (chrono::Utc::now() + Duration::hours(8)).date_naive();
    let mut ending = NewStudent::new("stu-ending", "Eva", "Ee", w.school_a());
    ending.role_end = Some(hk_today);
    add_student(&app.db, &ending).await;
    let mut staying = NewStudent::new("stu-staying", "Sam", "Sze", w.school_a());
    staying.role_end = Some(hk_today + Duration::days(1));
    add_student(&app.db, &staying).await;

    // Act
    let (students, _) = list_as(&app, "students", &coordinator_a(&app)).await;

    // Assert
    let mut wanted = w.student_ids_of(0);
    wanted.push("stu-staying".to_owned());
    assert_eq!(students, wanted);
}

#[tokio::test]

async fn a_former_students_course_enrollments_are_not_visible_to_the_school() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let today = chrono::Utc::now().date_naive();
    let mut left = NewStudent::new("stu-left", "Leo", "Leung", w.school_a());
    left.role_begin = today - Duration::days(400);
    left.role_end = Some(today - Duration::days(30));
    let person = add_student(&app.db, &left).await;
    let (_, course_enrollment) = enroll(&app.db, &w, &person, w.school_a()).await;
    let token = coordinator_a(&app);

    // Act
    let (course, _) = list_as(&app, "courseEnrollments", &token).await;
    let node = app
        .gql(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": course_enrollment.gid() }),
            Some(&token),
        )
        .await;

    // Assert
    assert!(
        !course.contains(&"ce-stu-left".to_owned()),
        "listed: {course:?}"
    );
    assert_eq!(node.data()["node"], Value::Null);
}

#[tokio::test]
async fn a_school_coordinator_sees_guardians_and_consents_of_their_own_students_only() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = coordinator_a(&app);
    let query = "query($id: ID!) { node(id: $id) { ... on Person { guardians { edges { node { guardian { sourcedId } } } } \
                 consents { totalCount } } } }";

    // Act
    let own = app
        .gql(
            query,
            json!({ "id": w.student("stu-a-01").person.gid() }),
            Some(&token),
        )
        .await;
    let guardian_b = app
        .gql(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": w.school_people[1].guardian.gid() }),
            Some(&token),
        )
        .await;
    let link_b = app
        .gql(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": w.guardian_links[2].0.gid() }),
            Some(&token),
        )
        .await;

    // Assert
    assert_eq!(
        own.data()["node"],
        json!({ "guardians": { "edges": [{ "node": { "guardian": { "sourcedId": "grd-a-1" } } }] }, "consents": { "totalCount": 2 } })
    );
    assert_eq!(guardian_b.data()["node"], Value::Null);
    assert_eq!(link_b.data()["node"], Value::Null);
}

#[tokio::test]
async fn dates_of_birth_are_shown_to_programme_admins_and_hidden_from_programme_staff() {
    // Arrange
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let student = &w.students_of(0)[0];
    let query = "query($id: ID!) { node(id: $id) { ... on Person { sourcedId dateOfBirth } } }";
    let vars = json!({ "id": global_id("Person", &student.person.sourced_id) });
    let admin = app.token(&["programmeAdmin"], &w.office.sourced_id);
    let staff = app.token(&["programmeStaff"], &w.office.sourced_id);

    // Act
    let as_admin = app.gql(query, vars.clone(), Some(&admin)).await;
    let as_staff = app.gql(query, vars, Some(&staff)).await;

    // Assert
    let birth = student.date_of_birth.format("%Y-%m-%d").to_string();
    assert_eq!(as_admin.data()["node"]["dateOfBirth"], json!(birth));
    assert_eq!(
        as_staff.data()["node"],
        json!({ "sourcedId": student.person.sourced_id, "dateOfBirth": null })
    );
}
