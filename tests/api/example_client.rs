//! `examples/sis_sync.py`, the school IT example client of docs/sync.md, run against a real
//! server: it pushes a roster and enrolments by the school's own keys, re-sends them (all
//! unchanged), and mirrors the change feed into SQLite. Needs `python3` on the PATH (CI has it).

use std::path::PathBuf;
use std::process::Command;

use entity::{course_enrollment, external_id};
use integration_tests::fixtures::seed_world;
use integration_tests::{TestApp, spawn_app};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::consents::coordinator_token;

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("examples")
}

/// Runs the client with `args`; returns (exit code, stdout, stderr).
fn run(app: &TestApp, token: &str, args: &[&str]) -> (i32, String, String) {
    let output = Command::new("python3")
        .arg(examples().join("sis_sync.py"))
        .args(args)
        .env("API_URL", &app.address)
        .env("API_TOKEN", token)
        .env("SIS_SYSTEM", "sis")
        .output()
        .expect("python3 runs (install it to run this test)");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

async fn keys_of(app: &TestApp, id_type: &str) -> u64 {
    external_id::Entity::find()
        .filter(external_id::Column::IdType.eq(id_type))
        .filter(external_id::Column::System.eq("sis"))
        .count(&app.db)
        .await
        .expect("count keys")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_client_pushes_a_roster_twice_and_mirrors_the_feed() {
    // Arrange: school A's coordinator, the example roster, enrolments into school A's offering.
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let token = coordinator_token(&app, &w, 0);
    let dir = tempfile::tempdir().expect("temp dir");
    let enrollments = dir.path().join("enrollments.csv");
    let mut csv = String::from("enrolment_id,strn,offering,role,begin_date\n");
    for n in 1..=5 {
        csv.push_str(&format!(
            "E-{n},DEMO-STRN-000{n},{},student,2025-09-01\n",
            w.offerings[0].sourced_id
        ));
    }
    std::fs::write(&enrollments, csv).expect("write enrolments");
    let roster = examples().join("roster.csv");
    let roster = roster.to_str().expect("utf-8 path");
    let enrollments = enrollments.to_str().expect("utf-8 path");
    let mirror = dir.path().join("mirror.sqlite");
    let mirror = mirror.to_str().expect("utf-8 path");
    let enrolled_before = course_enrollment::Entity::find()
        .count(&app.db)
        .await
        .expect("count");

    // Act: push, push again, pull twice.
    let first = run(
        &app,
        &token,
        &["push", roster, "--enrollments", enrollments],
    );
    let second = run(
        &app,
        &token,
        &["push", roster, "--enrollments", enrollments],
    );
    let pull = run(&app, &token, &["pull", "--state", mirror]);
    let again = run(&app, &token, &["pull", "--state", mirror]);

    // Assert
    assert_eq!(first.0, 0, "first push failed: {first:?}");
    assert!(
        first.1.contains("upsertStudents items 0..4: created 5"),
        "{}",
        first.1
    );
    assert!(
        first
            .1
            .contains("upsertCourseEnrollments items 0..4: created 5"),
        "{}",
        first.1
    );
    assert_eq!(second.0, 0, "second push failed: {second:?}");
    assert!(
        second
            .1
            .contains("upsertStudents items 0..4: created 0, updated 0, unchanged 5"),
        "{}",
        second.1
    );
    assert!(
        second
            .1
            .contains("upsertCourseEnrollments items 0..4: created 0, updated 0, unchanged 5"),
        "{}",
        second.1
    );
    assert_eq!(keys_of(&app, "STRN").await, 5);
    assert_eq!(keys_of(&app, "ENROLMENT").await, 5);
    let enrolled = course_enrollment::Entity::find()
        .count(&app.db)
        .await
        .expect("count");
    assert_eq!(enrolled, enrolled_before + 5);
    assert_eq!(pull.0, 0, "pull failed: {pull:?}");
    let applied: u64 = pull
        .1
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {:?}", pull.1));
    // The school sees at least its five new students, their roles, keys and enrolments.
    assert!(applied >= 20, "only {applied} changes applied: {}", pull.1);
    assert_eq!(again.0, 0, "second pull failed: {again:?}");
    assert!(again.1.starts_with("applied 0 changes"), "{}", again.1);
}
