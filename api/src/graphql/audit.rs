//! `accessAuditEvents`: who read which student's named data, for whom, and on what basis
//! (DOMAIN.md area I, section 5 rule 5). Append-only: there are no mutations.

use async_graphql::{ComplexObject, Context, Object, Result};
use chrono::{DateTime, Utc};
use entity::{access_audit_event, org, person};
use sea_orm::Condition;

use super::common::*;
use super::connection::{Conn, ListArgs, load_one, load_optional};
use super::orgs::Organization;
use super::people::Person;
use super::record::{list, list_inputs, page_cost, record_object};
use crate::error::ResultExt;

filter_input!(
    /// Filter on access audit events.
    AccessAuditEventFilter {
        /// When the read happened.
        at: DateTimeFilter => column(access_audit_event::Column::At),
        /// The principal (`sub`) that read.
        principal: StringFilter => column(access_audit_event::Column::Principal),
        /// The integration client that read, if any.
        client_id: StringFilter => column(access_audit_event::Column::ClientId),
        /// The organisation the reader acted for.
        acting_org: IdFilter => reference(access_audit_event::Column::ActingOrgId, "org", "Organization", "actingOrg"),
        /// The student whose data was read.
        student: IdFilter => reference(access_audit_event::Column::StudentId, "person", "Person", "student"),
        /// GraphQL type of what was read, e.g. `Person`.
        entity_type: StringFilter => column(access_audit_event::Column::EntityType),
    }
);

order_input!(
    /// Sort order for access audit events.
    AccessAuditEventOrder, AccessAuditEventOrderField for access_audit_event::Column {
        /// When the read happened.
        At => access_audit_event::Column::At,
        /// Creation time (same as `at`).
        DateCreated => access_audit_event::Column::DateCreated,
    }
);
list_inputs!(
    AccessAuditEventFilter,
    AccessAuditEventOrder,
    access_audit_event::Column
);

record_object!(
    /// One read of a student's named data by a partner, mentor or partner client. Written in the
    /// same request as the read, before the response; a read whose audit cannot be written fails.
    AccessAuditEvent(access_audit_event::Model)
);

#[ComplexObject]
impl AccessAuditEvent {
    /// When the read happened (UTC).
    async fn at(&self) -> DateTime<Utc> {
        self.row.at
    }

    /// The principal (`sub`) that read: a person's sourcedId or a client id.
    async fn principal(&self) -> &str {
        &self.row.principal
    }

    /// The integration client that read, if the reader was one.
    async fn client_id(&self) -> Option<&str> {
        self.row.client_id.as_deref()
    }

    /// The organisation the reader acted for.
    async fn acting_org(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        load_optional::<org::Entity, Organization>(ctx, self.row.acting_org_id)
            .await
            .extend()
    }

    /// GraphQL type of the object read, e.g. `Person`.
    async fn entity_type(&self) -> &str {
        &self.row.entity_type
    }

    /// Global id of the object read (resolve it with `node`, within your own scope).
    async fn entity_id(&self) -> async_graphql::ID {
        global_id(&self.row.entity_type, &self.row.entity_sourced_id)
    }

    /// The student whose data was read, when the caller may see them.
    async fn student(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        load_one::<person::Entity, Person>(ctx, self.row.student_id)
            .await
            .extend()
    }

    /// The fields read.
    async fn fields(&self) -> Vec<&str> {
        self.row
            .fields
            .split(',')
            .filter(|f| !f.is_empty())
            .collect()
    }

    /// What allowed the read: `mentorship` (or `participation`).
    async fn basis_type(&self) -> &str {
        &self.row.basis_type
    }

    /// Global id of the mentorship (or participation) that allowed the read.
    async fn basis_id(&self) -> Option<async_graphql::ID> {
        let type_name = match self.row.basis_type.as_str() {
            "mentorship" => "Mentorship",
            "participation" => "ActivityParticipation",
            _ => return None,
        };
        Some(global_id(type_name, &self.row.basis_sourced_id))
    }

    /// Global id of the student's consent record the read relied on.
    async fn consent_id(&self) -> Option<async_graphql::ID> {
        self.row
            .consent_sourced_id
            .as_deref()
            .map(|id| global_id("ConsentRecord", id))
    }

    /// The `X-Request-Id` of the request that read.
    async fn request_id(&self) -> Option<&str> {
        self.row.request_id.as_deref()
    }
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// Reads of named student data by partners, mentors and partner clients: programmeAdmin sees
    /// all, a partnerCoordinator its organisation's reads, a schoolCoordinator the reads of its
    /// school's students. Everyone else: `FORBIDDEN`.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn access_audit_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<AccessAuditEventFilter>,
        order_by: Option<Vec<AccessAuditEventOrder>>,
        changed_since: Option<DateTime<Utc>>,
    ) -> Result<Conn<AccessAuditEvent>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted: false,
        };
        list::<access_audit_event::Entity, _, _, _>(
            ctx,
            None,
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }
}
