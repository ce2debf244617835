//! The `record_object!` macro: a GraphQL object over a table row with the common `Record` fields,
//! and the generic list helper every connection field calls.

use async_graphql::{Context, OutputType};
use entity::RecordModel;
use sea_orm::{Condition, FromQueryResult, IdenStatic, Order};

use super::connection::{self, Conn, ListArgs, child_connection, root_connection};
use crate::access::Scoped;
use crate::error::{AppError, AppResult};

/// A type's filter input.
pub trait FilterInput {
    fn condition(&self, viewer: &crate::auth::Viewer) -> AppResult<Condition>;
    /// The names of the fields the filter tests, at any depth.
    fn used_fields(&self) -> Vec<&'static str>;
}

/// A type's `orderBy` input.
pub trait OrderInput: Sized {
    type Column;
    fn columns(order: Option<Vec<Self>>) -> AppResult<Vec<(Self::Column, Order)>>;
}

/// Cost of a connection field: its selection times the page size.
pub fn page_cost(first: Option<i32>, last: Option<i32>, child: usize) -> usize {
    let size = first.or(last).unwrap_or(50).clamp(0, 10_000);
    usize::try_from(size)
        .unwrap_or(0)
        .max(1)
        .saturating_mul(child)
        .saturating_add(1)
}

/// `given_name` → `givenName`: a column's name as the schema spells it.
fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A connection: a root list when `parent` is `None`, otherwise the children of one parent
/// through a foreign key. `extra` narrows the list further (e.g. students only).
pub async fn list<E, T, F, O>(
    ctx: &Context<'_>,
    parent: Option<(E::Column, i64)>,
    args: ListArgs,
    filter: Option<F>,
    order_by: Option<Vec<O>>,
    extra: Condition,
) -> AppResult<Conn<T>>
where
    E: Scoped,
    E::Model: RecordModel + FromQueryResult + Send + Sync + Clone,
    E::Column: Send + Sync,
    T: OutputType + From<E::Model>,
    F: FilterInput,
    O: OrderInput<Column = E::Column>,
{
    let viewer = connection::viewer(ctx)?;
    let scope = E::scope(viewer)?;
    let order = O::columns(order_by)?;
    // A field the caller may not read may not be filtered or sorted on either: that would be an
    // oracle for its value.
    let hidden = E::hidden_fields(viewer);
    if !hidden.is_empty() {
        let filtered = filter
            .as_ref()
            .map(FilterInput::used_fields)
            .unwrap_or_default();
        let sorted = order.iter().map(|(column, _)| column.as_str());
        if let Some(field) = filtered
            .into_iter()
            .chain(sorted)
            .find(|f| hidden.contains(f))
        {
            return Err(AppError::ForbiddenWith(format!(
                "`{}` is not readable for your role, so it cannot be filtered or sorted on",
                camel_case(field)
            )));
        }
    }
    let filter = match &filter {
        Some(f) => f.condition(viewer)?,
        None => Condition::all(),
    };
    // The scope may be an OR group: nest it, never add to it.
    let scope = Condition::all().add(scope).add(extra);
    let query = connection::list_query::<E>(ctx, args, filter, scope, order)?;
    match parent {
        None => root_connection::<E, T>(ctx, query).await,
        Some((fk, id)) => child_connection::<E, T>(ctx, fk, id, query).await,
    }
}

/// Declares a GraphQL object over a row: a `SimpleObject` with the `Node`/`Record` fields,
/// completed by a `#[ComplexObject]` impl of the type's own fields next to the declaration.
macro_rules! record_object {
    ($(#[$m:meta])* $name:ident($model:ty)) => {
        $crate::graphql::record::record_object!(@object $(#[$m])* $name($model), []);
    };
    // Personal data: `id`, `sourcedId` and `metadata` are resolved by the type's own
    // `#[ComplexObject]` impl (field minimisation and the access audit see every read).
    ($(#[$m:meta])* $name:ident($model:ty), guarded) => {
        $crate::graphql::record::record_object!(@object $(#[$m])* $name($model), [#[graphql(skip)]]);
    };
    (@object $(#[$m:meta])* $name:ident($model:ty), [$($identity:tt)*]) => {
        $(#[$m])*
        #[derive(async_graphql::SimpleObject, Clone, Debug)]
        #[graphql(complex)]
        pub struct $name {
            /// Opaque global id, accepted wherever an ID is taken.
            $($identity)*
            pub id: async_graphql::ID,
            /// Stable public id (OneRoster sourcedId); never personal data.
            $($identity)*
            pub sourced_id: String,
            /// `ACTIVE`, or `TOBEDELETED` for a tombstone.
            pub status: $crate::graphql::common::RecordStatus,
            /// When the record was created (UTC).
            pub date_created: chrono::DateTime<chrono::Utc>,
            /// When the record last changed (UTC); drives `changedSince`.
            pub date_last_modified: chrono::DateTime<chrono::Utc>,
            /// +1 on every write; send it back as `expectedVersion` when updating.
            pub version: i32,
            /// Free extension object set by clients (at most 16 KB).
            $($identity)*
            pub metadata: Option<async_graphql::Json<serde_json::Value>>,
            /// The table row.
            #[graphql(skip)]
            pub row: $model,
        }

        impl From<$model> for $name {
            fn from(row: $model) -> Self {
                $name {
                    id: $crate::graphql::common::global_id(stringify!($name), &row.sourced_id),
                    sourced_id: row.sourced_id.clone(),
                    status: $crate::graphql::common::RecordStatus::from_db(&row.status),
                    date_created: row.date_created,
                    date_last_modified: row.date_last_modified,
                    version: row.version,
                    metadata: row.metadata.clone().map(async_graphql::Json),
                    row,
                }
            }
        }
    };
}
pub(crate) use record_object;

/// Implements [`FilterInput`] and [`OrderInput`] for a type's generated inputs.
macro_rules! list_inputs {
    ($filter:ty, $order:ty, $column:ty) => {
        impl $crate::graphql::record::FilterInput for $filter {
            fn condition(
                &self,
                viewer: &$crate::auth::Viewer,
            ) -> $crate::error::AppResult<sea_orm::Condition> {
                <$filter>::condition(self, viewer)
            }
            fn used_fields(&self) -> Vec<&'static str> {
                let mut out = Vec::new();
                <$filter>::used_fields(self, &mut out);
                out
            }
        }
        impl $crate::graphql::record::OrderInput for $order {
            type Column = $column;
            fn columns(
                order: Option<Vec<Self>>,
            ) -> $crate::error::AppResult<Vec<($column, sea_orm::Order)>> {
                <$order>::columns(order)
            }
        }
    };
}
pub(crate) use list_inputs;

/// Parses a stored vocabulary value into its enum, tolerating unknown text as `None`.
pub fn enum_of<T: super::common::DbEnum>(text: &str) -> Option<T> {
    T::from_db(text)
}

/// Parses a stored non-null vocabulary value; unknown text is an internal error.
pub fn required_enum<T: super::common::DbEnum>(text: &str) -> async_graphql::Result<T> {
    T::from_db(text).ok_or_else(|| {
        use async_graphql::ErrorExtensions as _;
        crate::error::AppError::internal(anyhow::anyhow!("unknown stored value {text:?}")).extend()
    })
}
