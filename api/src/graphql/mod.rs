//! The GraphQL schema. [`schema_builder`] is pure (no I/O) so the SDL can be printed without a
//! database; [`build`] adds the connection and settings.

pub mod audit;
pub mod calendar;
pub mod catalogue_mutations;
pub mod clients;
pub mod common;
pub mod connection;
pub mod consents;
pub mod course_enrollment_mutations;
pub mod courses;
pub mod coverage;
pub mod curriculum;
pub mod curriculum_compare;
pub mod curriculum_contributions;
pub mod curriculum_mutations;
pub mod curriculum_units;
pub mod enrollments;
pub mod feed;
pub mod history;
pub mod limits;
pub mod mentorships;
pub mod node;
pub mod offering_mutations;
pub mod orgs;
pub mod pathway_enrollment_mutations;
pub mod pathways;
pub mod payload;
pub mod people;
pub mod people_mutations;
pub mod record;
pub mod skill_mutations;
pub mod skills;
pub mod statistics;
pub mod viewer;

use async_graphql::{EmptySubscription, MergedObject, Schema, SchemaBuilder};
use sea_orm::DatabaseConnection;

use crate::config::GraphqlSettings;

/// The query root.
#[derive(MergedObject, Default)]
pub struct Query(
    node::NodeQuery,
    viewer::ViewerQuery,
    audit::AuditQuery,
    orgs::OrgsQuery,
    people::PeopleQuery,
    calendar::CalendarQuery,
    pathways::PathwaysQuery,
    courses::CoursesQuery,
    enrollments::EnrollmentsQuery,
    statistics::StatisticsQuery,
    mentorships::MentorshipsQuery,
    clients::ClientsQuery,
    feed::FeedQuery,
    curriculum::CurriculumQuery,
    skills::SkillsQuery,
    coverage::CoverageQuery,
    skill_mutations::SkillMapReviewQuery,
    curriculum_contributions::CurriculumContributionsQuery,
);

/// The mutation root.
#[derive(MergedObject, Default)]
pub struct Mutation(
    clients::ClientsMutation,
    catalogue_mutations::CatalogueMutation,
    consents::ConsentsMutation,
    mentorships::MentorshipsMutation,
    offering_mutations::OfferingMutation,
    course_enrollment_mutations::CourseEnrollmentMutation,
    pathway_enrollment_mutations::PathwayEnrollmentsMutation,
    people_mutations::PeopleMutation,
    skill_mutations::SkillsMutation,
    curriculum_contributions::CurriculumContributionsMutation,
    curriculum_mutations::CurriculumMutation,
);

pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

/// The schema's types and fields, without data or extensions.
pub fn schema_builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .register_output_type::<node::Record>()
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}

/// The schema served: builder + database + limits.
pub fn build(db: DatabaseConnection, settings: &GraphqlSettings) -> AppSchema {
    schema_builder()
        .data(db)
        .data(settings.clone())
        .extension(limits::Limits(settings.clone()))
        .limit_recursive_depth(64)
        .finish()
}
