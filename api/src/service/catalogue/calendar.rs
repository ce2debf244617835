//! Creating, updating and deleting academic sessions (DOMAIN.md area B).
//!
//! **Who.** programmeStaff and programmeAdmin for any session, including the programme
//! calendar (`org` null); a schoolCoordinator, or its school's client with `roster.write`, for
//! the sessions of its own school (`org` defaults to it). Writing another organisation's
//! session, or the programme calendar, is `FORBIDDEN` for them, as for everyone else.
//!
//! **Rules.** `title` is required; `startDate` is before `endDate` (exclusive); `schoolYear` is
//! the end year (2025 for 2024/25) between 2000 and 2100: for a `schoolYear` session the year of
//! its last day, for any other the year it starts in or the next; a child lies within its
//! parent, which belongs to the same organisation or to the programme calendar, and an update
//! keeps every active child within; parents never form a cycle; (org, sessionType, title) is
//! unique (`DUPLICATE`).
//!
//! **Delete** is refused (`INVALID_TRANSITION`) while the session has active child sessions or
//! is the intake session of an active cohort.

use async_graphql::MaybeUndefined;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use entity::{STATUS_ACTIVE, academic_session, cohort, org};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::{Writable, YEARS, in_range, in_use, patch_metadata, patch_required, required, text};
use crate::access::{self, Reach};
use crate::auth::{Principal, Viewer};
use crate::error::{AppError, AppResult};
use crate::service::write::{self, Actor};

/// GraphQL type name of academic sessions.
pub const TYPE_NAME: &str = "AcademicSession";
/// The `schoolYear` session type.
pub const SCHOOL_YEAR: &str = "schoolYear";
/// Deepest parent chain walked when looking for a cycle.
const MAX_DEPTH: usize = 100;

/// Who writes sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writer {
    /// programmeStaff or programmeAdmin: every session.
    Programme,
    /// A schoolCoordinator or school client: its school's sessions.
    School(i64),
}

fn writer(viewer: &Viewer) -> AppResult<(&Principal, Writer)> {
    let principal = access::principal(viewer)?;
    let writer = match Reach::of(viewer) {
        Reach::Programme => Writer::Programme,
        Reach::Schools {
            schools,
            teacher: None,
        } => match schools.first() {
            Some(school) => Writer::School(*school),
            None => return Err(AppError::Forbidden),
        },
        _ => return Err(AppError::Forbidden),
    };
    write::require_write_scope(principal, "roster.write")?;
    Ok((principal, writer))
}

/// The guard of a session write, before any input is read: `UNAUTHENTICATED` or `FORBIDDEN`
/// for callers who may never write sessions.
pub fn authorize(viewer: &Viewer) -> AppResult<()> {
    writer(viewer).map(|_| ())
}

/// The fields of a session write (omitted keeps, null clears; references are global ids or
/// sourcedIds; `sessionType` is its database text).
#[derive(Clone, Debug, Default)]
pub struct SessionFields {
    pub title: MaybeUndefined<String>,
    pub session_type: MaybeUndefined<&'static str>,
    pub start_date: MaybeUndefined<NaiveDate>,
    pub end_date: MaybeUndefined<NaiveDate>,
    pub school_year: MaybeUndefined<i32>,
    pub parent: MaybeUndefined<String>,
    pub org: MaybeUndefined<String>,
    pub metadata: MaybeUndefined<serde_json::Value>,
}

/// Applies `fields` and checks the rules of the row itself and its parent.
async fn apply(
    db: &impl ConnectionTrait,
    row: &mut academic_session::Model,
    fields: SessionFields,
) -> AppResult<()> {
    patch_required(
        &mut row.title,
        text(&fields.title),
        "title",
        write::MAX_SHORT_TEXT,
    )?;
    if let Some(t) = required(fields.session_type, "sessionType")? {
        t.clone_into(&mut row.session_type);
    }
    if let Some(d) = required(fields.start_date, "startDate")? {
        row.start_date = d;
    }
    if let Some(d) = required(fields.end_date, "endDate")? {
        row.end_date = d;
    }
    if let Some(y) = required(fields.school_year, "schoolYear")? {
        row.school_year = y;
    }
    match &fields.org {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => row.org_id = None,
        MaybeUndefined::Value(id) => {
            row.org_id = Some(
                write::reference::<org::Entity>(db, "Organization", "org", id)
                    .await?
                    .id,
            );
        }
    }
    let mut parent = None;
    match &fields.parent {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => row.parent_id = None,
        MaybeUndefined::Value(id) => {
            let found =
                write::reference::<academic_session::Entity>(db, TYPE_NAME, "parent", id).await?;
            row.parent_id = Some(found.id);
            parent = Some(found);
        }
    }
    patch_metadata(&mut row.metadata, fields.metadata)?;

    if row.title.is_empty() {
        return Err(AppError::bad_input("title", "`title` is required"));
    }
    if row.end_date <= row.start_date {
        return Err(AppError::bad_input(
            "endDate",
            "`endDate` must be after `startDate` (it is the day after the last day)",
        ));
    }
    in_range(Some(row.school_year), "schoolYear", YEARS)?;
    let last_day = row.end_date - Duration::days(1);
    if row.session_type == SCHOOL_YEAR {
        if row.school_year != last_day.year() {
            return Err(AppError::bad_input(
                "schoolYear",
                format!(
                    "a schoolYear session's `schoolYear` is the year of its last day ({})",
                    last_day.year()
                ),
            ));
        }
    } else if row.school_year != row.start_date.year()
        && row.school_year != row.start_date.year() + 1
    {
        return Err(AppError::bad_input(
            "schoolYear",
            format!(
                "`schoolYear` is the end year of the school year the session starts in ({} or {})",
                row.start_date.year(),
                row.start_date.year() + 1
            ),
        ));
    }
    // The parent as it is now (also when only the dates changed).
    let parent = match (parent, row.parent_id) {
        (Some(p), _) => Some(p),
        (None, Some(id)) => academic_session::Entity::find_by_id(id).one(db).await?,
        (None, None) => None,
    };
    if let Some(parent) = parent {
        if parent.org_id.is_some() && parent.org_id != row.org_id {
            return Err(AppError::bad_input(
                "parent",
                "`parent` belongs to another organisation's calendar",
            ));
        }
        if row.start_date < parent.start_date {
            return Err(AppError::bad_input(
                "startDate",
                format!(
                    "the session starts before its parent {} ({})",
                    parent.sourced_id, parent.start_date
                ),
            ));
        }
        if row.end_date > parent.end_date {
            return Err(AppError::bad_input(
                "endDate",
                format!(
                    "the session ends after its parent {} ({}, exclusive)",
                    parent.sourced_id, parent.end_date
                ),
            ));
        }
    }
    Ok(())
}

/// The rules that read other rows: no cycle, children within, a unique title.
async fn check(db: &impl ConnectionTrait, row: &academic_session::Model) -> AppResult<()> {
    let mut ancestor = row.parent_id;
    let mut depth = 0;
    while let Some(id) = ancestor {
        if id == row.id || depth > MAX_DEPTH {
            return Err(AppError::bad_input(
                "parent",
                "`parent` would make the session its own ancestor",
            ));
        }
        ancestor = academic_session::Entity::find_by_id(id)
            .one(db)
            .await?
            .and_then(|p| p.parent_id);
        depth += 1;
    }
    if row.id != 0 {
        let children = academic_session::Entity::find()
            .filter(academic_session::Column::ParentId.eq(row.id))
            .filter(academic_session::Column::Status.eq(STATUS_ACTIVE))
            .all(db)
            .await?;
        for child in children {
            if child.start_date < row.start_date || child.end_date > row.end_date {
                return Err(AppError::bad_input(
                    if child.start_date < row.start_date {
                        "startDate"
                    } else {
                        "endDate"
                    },
                    format!(
                        "child session {} ({} to {}) would fall outside the session",
                        child.sourced_id, child.start_date, child.end_date
                    ),
                ));
            }
        }
    }
    let mut same = academic_session::Entity::find()
        .filter(academic_session::Column::SessionType.eq(row.session_type.as_str()))
        .filter(academic_session::Column::Title.eq(row.title.as_str()))
        .filter(academic_session::Column::Id.ne(row.id));
    same = match row.org_id {
        Some(org) => same.filter(academic_session::Column::OrgId.eq(org)),
        None => same.filter(academic_session::Column::OrgId.is_null()),
    };
    if let Some(other) = same.one(db).await? {
        return Err(write::duplicate(format!(
            "session {} already has sessionType {} and title {:?} in this calendar",
            other.sourced_id, row.session_type, row.title
        )));
    }
    Ok(())
}

/// A school writer may only touch its own school's sessions.
fn check_reach(writer: Writer, org: Option<i64>) -> AppResult<()> {
    match writer {
        Writer::Programme => Ok(()),
        Writer::School(school) if org == Some(school) => Ok(()),
        Writer::School(_) => Err(AppError::ForbiddenWith(
            "a school writes only its own school's sessions".into(),
        )),
    }
}

fn columns(row: &academic_session::Model) -> Vec<(academic_session::Column, SimpleExpr)> {
    use academic_session::Column as C;
    vec![
        (C::Title, Expr::value(row.title.clone())),
        (C::SessionType, Expr::value(row.session_type.clone())),
        (C::StartDate, Expr::value(row.start_date)),
        (C::EndDate, Expr::value(row.end_date)),
        (C::SchoolYear, Expr::value(row.school_year)),
        (C::ParentId, Expr::value(row.parent_id)),
        (C::OrgId, Expr::value(row.org_id)),
        (C::Metadata, Expr::value(row.metadata.clone())),
    ]
}

impl Writable for academic_session::Model {
    type Entity = academic_session::Entity;
    type Fields = SessionFields;
    type Writer = Writer;
    const TYPE_NAME: &'static str = TYPE_NAME;

    fn writer(viewer: &Viewer) -> AppResult<(&Principal, Writer)> {
        writer(viewer)
    }

    fn may_write(writer: Writer, row: &Self) -> AppResult<()> {
        check_reach(writer, row.org_id)
    }

    /// A school's new sessions belong to its calendar unless the input names another `org`.
    fn blank(sourced_id: String, actor: &Actor, now: DateTime<Utc>, writer: Writer) -> Self {
        academic_session::Model {
            id: 0,
            sourced_id,
            status: STATUS_ACTIVE.to_owned(),
            date_created: now,
            date_last_modified: now,
            version: 1,
            metadata: None,
            created_by: Some(actor.subject.clone()),
            modified_by: Some(actor.subject.clone()),
            title: String::new(),
            session_type: String::new(),
            start_date: NaiveDate::MIN,
            end_date: NaiveDate::MIN,
            school_year: 0,
            parent_id: None,
            org_id: match writer {
                Writer::School(school) => Some(school),
                Writer::Programme => None,
            },
        }
    }

    async fn apply(
        db: &impl ConnectionTrait,
        row: &mut Self,
        fields: SessionFields,
    ) -> AppResult<()> {
        apply(db, row, fields).await
    }

    async fn check(db: &impl ConnectionTrait, row: &Self) -> AppResult<()> {
        check(db, row).await
    }

    fn columns(&self) -> Vec<(academic_session::Column, SimpleExpr)> {
        columns(self)
    }

    async fn in_use(db: &impl ConnectionTrait, row: &Self) -> AppResult<()> {
        if in_use::<academic_session::Entity>(db, academic_session::Column::ParentId, row.id)
            .await?
        {
            return Err(super::still_used(
                TYPE_NAME,
                &row.sourced_id,
                "child sessions",
            ));
        }
        if in_use::<cohort::Entity>(db, cohort::Column::IntakeSessionId, row.id).await? {
            return Err(super::still_used(
                TYPE_NAME,
                &row.sourced_id,
                "cohorts (intake session)",
            ));
        }
        Ok(())
    }
}
