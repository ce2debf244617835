//! Aggregates (DOMAIN.md section 4, **aggregateOnly**): grouped counts that callers without named
//! access may read. Outside the programme office and the caller's own school, a cell below 5 is
//! suppressed (its count is null), and so is a second cell of the same group when only one would
//! be, so that the suppressed value cannot be recovered from the group's other cells.

use std::collections::BTreeMap;

use async_graphql::{ComplexObject, Context, Enum, Object, Result, SimpleObject};
use entity::{STATUS_ACTIVE, cohort, org, pathway, pathway_enrollment, pathway_stage};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use super::common::DbEnum;
use super::connection::{db, load_optional, viewer};
use super::enrollments::{PathwayEnrollmentFilter, PathwayEnrollmentState};
use super::orgs::Organization;
use super::pathways::{Cohort, Pathway, PathwayStage};
use super::record::FilterInput;
use crate::access::{self, Reach, ReadScope, Scoped};
use crate::error::{AppError, AppResult, ResultExt};

/// Smallest count shown to callers outside the programme office (DOMAIN.md area H).
pub const SMALL_CELL: i64 = 5;

/// What pathway enrolments can be grouped by.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PathwayEnrollmentDimension {
    /// The school the student entered from.
    EntrySchool,
    /// The pathway.
    Pathway,
    /// The cohort.
    Cohort,
    /// The current stage.
    CurrentStage,
    /// The lifecycle state.
    State,
}

impl PathwayEnrollmentDimension {
    fn column(self) -> pathway_enrollment::Column {
        match self {
            Self::EntrySchool => pathway_enrollment::Column::EntrySchoolId,
            Self::Pathway => pathway_enrollment::Column::PathwayId,
            Self::Cohort => pathway_enrollment::Column::CohortId,
            Self::CurrentStage => pathway_enrollment::Column::CurrentStageId,
            Self::State => pathway_enrollment::Column::State,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Self::EntrySchool => "entry_school_id",
            Self::Pathway => "pathway_id",
            Self::Cohort => "cohort_id",
            Self::CurrentStage => "current_stage_id",
            Self::State => "state",
        }
    }
}

const ALL_DIMENSIONS: [PathwayEnrollmentDimension; 5] = [
    PathwayEnrollmentDimension::EntrySchool,
    PathwayEnrollmentDimension::Pathway,
    PathwayEnrollmentDimension::Cohort,
    PathwayEnrollmentDimension::CurrentStage,
    PathwayEnrollmentDimension::State,
];

/// Filter fields a suppressed caller may use: the dimensions themselves (anything finer would
/// let differences between two filters reveal one student).
const AGGREGATE_FILTER_FIELDS: [&str; 5] = [
    "pathway",
    "cohort",
    "entry_school",
    "current_stage",
    "state",
];

/// One cell: the grouped values (null for a dimension not grouped by) and its count.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct PathwayEnrollmentCount {
    /// The lifecycle state, when grouped by `STATE`.
    pub state: Option<PathwayEnrollmentState>,
    /// Number of enrolments; null when suppressed.
    pub count: Option<i64>,
    /// Whether the count is withheld (a small cell, or the one that would reveal it).
    pub suppressed: bool,
    #[graphql(skip)]
    entry_school_id: Option<i64>,
    #[graphql(skip)]
    pathway_id: Option<i64>,
    #[graphql(skip)]
    cohort_id: Option<i64>,
    #[graphql(skip)]
    current_stage_id: Option<i64>,
}

#[ComplexObject]
impl PathwayEnrollmentCount {
    /// The entry school, when grouped by `ENTRY_SCHOOL`.
    async fn entry_school(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        load_optional::<org::Entity, Organization>(ctx, self.entry_school_id)
            .await
            .extend()
    }

    /// The pathway, when grouped by `PATHWAY`.
    async fn pathway(&self, ctx: &Context<'_>) -> Result<Option<Pathway>> {
        load_optional::<pathway::Entity, Pathway>(ctx, self.pathway_id)
            .await
            .extend()
    }

    /// The cohort, when grouped by `COHORT`.
    async fn cohort(&self, ctx: &Context<'_>) -> Result<Option<Cohort>> {
        load_optional::<cohort::Entity, Cohort>(ctx, self.cohort_id)
            .await
            .extend()
    }

    /// The current stage, when grouped by `CURRENT_STAGE` (null also for no stage).
    async fn current_stage(&self, ctx: &Context<'_>) -> Result<Option<PathwayStage>> {
        load_optional::<pathway_stage::Entity, PathwayStage>(ctx, self.current_stage_id)
            .await
            .extend()
    }
}

/// Who may read aggregates of pathway enrolments, over which rows, and whether small cells are
/// suppressed: the programme office (all, exact), schools (their own, exact), partners,
/// evaluators and academic leads (all, suppressed). Mentors, students and guardians: `FORBIDDEN`.
fn aggregate_scope(viewer: &crate::auth::Viewer) -> AppResult<(sea_orm::Condition, bool)> {
    match Reach::of(viewer) {
        Reach::Public => Err(AppError::Unauthenticated),
        Reach::Programme => Ok((access::allow(), false)),
        Reach::Schools { .. } => Ok((pathway_enrollment::Entity::scope(viewer)?, false)),
        Reach::Partner { .. } | Reach::NoPersonalData { .. } => {
            access::require_scope(viewer, ReadScope::Roster)?;
            Ok((access::allow(), true))
        }
        Reach::Mentor { .. } | Reach::SelfService { .. } => Err(AppError::Forbidden),
    }
}

/// Withholds cells below [`SMALL_CELL`], then, in each group (same values on every dimension but
/// the last), a second cell where exactly one was withheld.
fn suppress(cells: &mut [PathwayEnrollmentCount], group_of: impl Fn(usize) -> String) {
    for cell in cells.iter_mut() {
        if cell.count.is_some_and(|n| n < SMALL_CELL) {
            cell.count = None;
            cell.suppressed = true;
        }
    }
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for i in 0..cells.len() {
        groups.entry(group_of(i)).or_default().push(i);
    }
    for members in groups.values() {
        let withheld = members.iter().filter(|i| cells[**i].suppressed).count();
        if withheld == 1 {
            let smallest = members
                .iter()
                .filter(|i| !cells[**i].suppressed)
                .min_by_key(|i| cells[**i].count.unwrap_or(i64::MAX));
            if let Some(i) = smallest {
                cells[*i].count = None;
                cells[*i].suppressed = true;
            }
        }
    }
}

#[derive(Default)]
pub struct StatisticsQuery;

#[Object]
impl StatisticsQuery {
    /// Pathway enrolments counted by the chosen dimensions (at least one). The programme office
    /// counts every enrolment and schools their own exactly; partners, evaluators and academic
    /// leads count the whole programme with cells below 5 suppressed (`count: null`,
    /// `suppressed: true`) and may filter only on the dimensions.
    async fn pathway_enrollment_statistics(
        &self,
        ctx: &Context<'_>,
        group_by: Vec<PathwayEnrollmentDimension>,
        filter: Option<PathwayEnrollmentFilter>,
    ) -> Result<Vec<PathwayEnrollmentCount>> {
        statistics(ctx, group_by, filter).await.extend()
    }
}

async fn statistics(
    ctx: &Context<'_>,
    mut group_by: Vec<PathwayEnrollmentDimension>,
    filter: Option<PathwayEnrollmentFilter>,
) -> AppResult<Vec<PathwayEnrollmentCount>> {
    let viewer = viewer(ctx)?;
    let (scope, suppressed) = aggregate_scope(viewer)?;
    group_by.dedup();
    if group_by.is_empty() {
        return Err(AppError::bad_input(
            "groupBy",
            "give at least one dimension",
        ));
    }
    if suppressed
        && let Some(f) = &filter
        && let Some(field) = FilterInput::used_fields(f)
            .into_iter()
            .find(|f| !AGGREGATE_FILTER_FIELDS.contains(f))
    {
        return Err(AppError::ForbiddenWith(format!(
            "aggregates may be filtered only on their dimensions, not on `{field}`"
        )));
    }
    let condition = match &filter {
        Some(f) => FilterInput::condition(f, viewer)?,
        None => sea_orm::Condition::all(),
    };
    let mut query = pathway_enrollment::Entity::find()
        .select_only()
        .filter(sea_orm::Condition::all().add(scope))
        .filter(condition)
        .filter(pathway_enrollment::Column::Status.eq(STATUS_ACTIVE));
    // Every dimension is selected, in a fixed order, so rows decode into one tuple type; those
    // not grouped by are an aggregate whose value is ignored below.
    for dimension in ALL_DIMENSIONS {
        if group_by.contains(&dimension) {
            query = query
                .column_as(dimension.column(), dimension.key())
                .group_by(dimension.column());
        } else {
            query = query.column_as(Expr::col(dimension.column()).min(), dimension.key());
        }
    }
    type Row = (
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<String>,
        i64,
    );
    let rows: Vec<Row> = query
        .column_as(Expr::cust("COUNT(*)"), "n")
        .into_tuple()
        .all(db(ctx)?)
        .await?;
    let grouped = |d: PathwayEnrollmentDimension| group_by.contains(&d);
    let cells: Vec<PathwayEnrollmentCount> = rows
        .iter()
        .map(
            |(school, pathway, cohort, stage, state, n)| PathwayEnrollmentCount {
                state: state
                    .as_deref()
                    .filter(|_| grouped(PathwayEnrollmentDimension::State))
                    .and_then(PathwayEnrollmentState::from_db),
                count: Some(*n),
                suppressed: false,
                entry_school_id: school
                    .filter(|_| grouped(PathwayEnrollmentDimension::EntrySchool)),
                pathway_id: pathway.filter(|_| grouped(PathwayEnrollmentDimension::Pathway)),
                cohort_id: cohort.filter(|_| grouped(PathwayEnrollmentDimension::Cohort)),
                current_stage_id: stage
                    .filter(|_| grouped(PathwayEnrollmentDimension::CurrentStage)),
            },
        )
        .collect();
    let key_of = |cell: &PathwayEnrollmentCount, dims: &[PathwayEnrollmentDimension]| -> String {
        dims.iter()
            .map(|d| match d {
                PathwayEnrollmentDimension::EntrySchool => format!("{:020?}", cell.entry_school_id),
                PathwayEnrollmentDimension::Pathway => format!("{:020?}", cell.pathway_id),
                PathwayEnrollmentDimension::Cohort => format!("{:020?}", cell.cohort_id),
                PathwayEnrollmentDimension::CurrentStage => {
                    format!("{:020?}", cell.current_stage_id)
                }
                PathwayEnrollmentDimension::State => format!("{:?}", cell.state),
            })
            .collect::<Vec<_>>()
            .join("|")
    };
    let mut cells = cells;
    if suppressed {
        let parents = &group_by[..group_by.len() - 1];
        let groups: Vec<String> = cells.iter().map(|c| key_of(c, parents)).collect();
        suppress(&mut cells, |i| groups[i].clone());
    }
    cells.sort_by_cached_key(|c| key_of(c, &group_by));
    Ok(cells)
}
