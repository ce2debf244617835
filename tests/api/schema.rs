//! The committed SDL matches the schema the code builds.

#[test]
fn schema_graphql_is_up_to_date() {
    // Arrange
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema.graphql");
    let committed = std::fs::read_to_string(&path).expect("read schema.graphql");

    // Act
    let current = api::graphql::sdl();

    // Assert
    assert!(
        committed == current,
        "schema.graphql is stale: run `make schema` (and commit the result)"
    );
}
