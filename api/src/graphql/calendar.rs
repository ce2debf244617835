//! Academic sessions (DOMAIN.md area B): school years, terms, semesters, grading periods.

use async_graphql::{ComplexObject, Context, Object, Result};
use chrono::{DateTime, Utc};
use entity::{academic_session, org};
use sea_orm::Condition;

use super::common::*;
use super::connection::{Conn, ListArgs, load_optional};
use super::orgs::Organization;
use super::record::{list, list_inputs, page_cost, record_object, required_enum};
use crate::error::ResultExt;

db_enum!(
    /// Kind of academic session.
    SessionType, SessionTypeFilter {
        /// A school year (1 September to 31 August).
        SchoolYear = "schoolYear",
        /// A term.
        Term = "term",
        /// A semester.
        Semester = "semester",
        /// A grading period.
        GradingPeriod = "gradingPeriod",
    }
);

filter_input!(
    /// Filter on academic sessions.
    AcademicSessionFilter {
        /// Public id.
        sourced_id: StringFilter => column(academic_session::Column::SourcedId),
        /// Title, e.g. `2024/25`.
        title: StringFilter => column(academic_session::Column::Title),
        /// Kind of session.
        session_type: SessionTypeFilter => column(academic_session::Column::SessionType),
        /// First day.
        start_date: DateFilter => column(academic_session::Column::StartDate),
        /// Day after the last day.
        end_date: DateFilter => column(academic_session::Column::EndDate),
        /// School year by its end year (2025 for 2024/25).
        school_year: IntFilter => column(academic_session::Column::SchoolYear),
        /// Parent session.
        parent: IdFilter => reference(academic_session::Column::ParentId, "academic_session", "AcademicSession", "parent"),
        /// Owning organisation (null: the programme calendar).
        org: IdFilter => reference(academic_session::Column::OrgId, "org", "Organization", "org"),
        /// Last change.
        date_last_modified: DateTimeFilter => column(academic_session::Column::DateLastModified),
    }
);

order_input!(
    /// Sort order for academic sessions.
    AcademicSessionOrder, AcademicSessionOrderField for academic_session::Column {
        /// First day.
        StartDate => academic_session::Column::StartDate,
        /// School year.
        SchoolYear => academic_session::Column::SchoolYear,
        /// Title.
        Title => academic_session::Column::Title,
        /// Last change.
        DateLastModified => academic_session::Column::DateLastModified,
    }
);
list_inputs!(
    AcademicSessionFilter,
    AcademicSessionOrder,
    academic_session::Column
);

record_object!(
    /// A school year, term, semester or grading period. Dates are Hong Kong dates and the end
    /// date is exclusive.
    AcademicSession(academic_session::Model)
);

#[ComplexObject]
impl AcademicSession {
    /// Title, e.g. `2024/25`.
    async fn title(&self) -> &str {
        &self.row.title
    }

    /// Kind of session.
    async fn session_type(&self) -> Result<SessionType> {
        required_enum(&self.row.session_type)
    }

    /// First day.
    async fn start_date(&self) -> Date {
        Date(self.row.start_date)
    }

    /// Day after the last day.
    async fn end_date(&self) -> Date {
        Date(self.row.end_date)
    }

    /// School year by its end year, as OneRoster (2025 for 2024/25).
    async fn school_year(&self) -> i32 {
        self.row.school_year
    }

    /// The session this one lies within.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<AcademicSession>> {
        load_optional::<academic_session::Entity, AcademicSession>(ctx, self.row.parent_id)
            .await
            .extend()
    }

    /// Owning organisation; null for the programme calendar.
    async fn org(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        load_optional::<org::Entity, Organization>(ctx, self.row.org_id)
            .await
            .extend()
    }

    /// Sessions within this one (a year's terms).
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn children(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<AcademicSessionFilter>,
        order_by: Option<Vec<AcademicSessionOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<AcademicSession>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<academic_session::Entity, _, _, _>(
            ctx,
            Some((academic_session::Column::ParentId, self.row.id)),
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }
}

#[derive(Default)]
pub struct CalendarQuery;

#[Object]
impl CalendarQuery {
    /// Academic sessions (requires a token).
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn academic_sessions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<AcademicSessionFilter>,
        order_by: Option<Vec<AcademicSessionOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<AcademicSession>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<academic_session::Entity, _, _, _>(
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
