//! Start-up on a shared database: several instances may start together.

use api::startup::Application;
use integration_tests::spawn_app;
use serde_json::json;

#[tokio::test]
async fn two_instances_starting_together_on_one_database_both_serve_and_seed_once() {
    // Arrange: a migrated, empty database, and two instances configured to migrate and seed it.
    let app = spawn_app().await;
    let mut settings = app.settings.clone();
    settings.demo.seed = true;
    settings.demo.scale = 1;

    // Act
    let (first, second) = tokio::join!(
        Application::build(settings.clone()),
        Application::build(settings.clone())
    );

    // Assert: both came up, and the demo data exists once.
    let first = first.expect("first instance starts");
    let second = second.expect("second instance starts");
    assert_ne!(first.port(), second.port());
    let counts = app
        .gql(
            "{ schools { totalCount } partners { totalCount } students { totalCount } }",
            json!({}),
            Some(&app.admin_token()),
        )
        .await;
    assert_eq!(
        counts.data(),
        &json!({
            "schools": { "totalCount": 70 },
            "partners": { "totalCount": 35 },
            "students": { "totalCount": 1330 }
        })
    );
}
