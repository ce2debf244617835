//! Relay connections over the list service, and the per-request DataLoaders that resolve relation
//! fields in batches. Loaders live in request data (never on the schema) and carry the viewer, so
//! every relation applies the same row-level scope as the root lists.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, Object, OutputType};
use chrono::{DateTime, Utc};
use entity::RecordModel;
use futures::future::BoxFuture;
use sea_orm::sea_query::{Alias, Expr};
use sea_orm::{Condition, DatabaseConnection, EntityTrait, FromQueryResult, IdenStatic, Order};

use crate::access::Scoped;
use crate::auth::Viewer;
use crate::config::GraphqlSettings;
use crate::error::{AppError, AppResult};
use crate::service::cursor;
use crate::service::list::{self, ListQuery, Page, Window};

/// Everything a resolver needs about the current request.
pub struct RequestContext {
    pub viewer: Arc<Viewer>,
    pub loaders: Loaders,
    /// Objects actually returned by connections (`extensions.cost.actual`).
    pub actual_cost: Arc<AtomicU64>,
    /// Named student reads to audit before the response leaves.
    pub audit: Arc<crate::audit::AuditLog>,
}

impl RequestContext {
    pub fn new(db: DatabaseConnection, viewer: Viewer, batch_delay: std::time::Duration) -> Self {
        let viewer = Arc::new(viewer);
        RequestContext {
            loaders: Loaders {
                db,
                viewer: viewer.clone(),
                batch_delay,
                map: Mutex::new(HashMap::new()),
            },
            viewer,
            actual_cost: Arc::new(AtomicU64::new(0)),
            audit: Arc::new(crate::audit::AuditLog::default()),
        }
    }
}

pub fn request<'a>(ctx: &'a Context<'_>) -> AppResult<&'a RequestContext> {
    ctx.data::<RequestContext>()
        .map_err(|_| AppError::internal(anyhow::anyhow!("request context missing")))
}

pub fn viewer<'a>(ctx: &'a Context<'_>) -> AppResult<&'a Viewer> {
    Ok(&request(ctx)?.viewer)
}

pub fn db<'a>(ctx: &'a Context<'_>) -> AppResult<&'a DatabaseConnection> {
    ctx.data::<DatabaseConnection>()
        .map_err(|_| AppError::internal(anyhow::anyhow!("database missing")))
}

/// The loaders of one request, created on first use.
pub struct Loaders {
    db: DatabaseConnection,
    viewer: Arc<Viewer>,
    /// How long a loader waits for sibling keys (`APP_GRAPHQL__BATCH_DELAY_MS`).
    batch_delay: std::time::Duration,
    map: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl Loaders {
    pub(crate) fn get<L: Send + Sync + 'static>(
        &self,
        make: impl FnOnce(DatabaseConnection, Arc<Viewer>) -> L,
    ) -> Arc<DataLoader<L>> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(loader) = map
            .get(&TypeId::of::<L>())
            .and_then(|l| l.clone().downcast::<DataLoader<L>>().ok())
        {
            return loader;
        }
        let loader = Arc::new(
            DataLoader::new(make(self.db.clone(), self.viewer.clone()), tokio::spawn)
                .delay(self.batch_delay),
        );
        map.insert(TypeId::of::<L>(), loader.clone());
        loader
    }
}

/// Loads records by primary key within the viewer's scope.
pub struct ById<E> {
    db: DatabaseConnection,
    viewer: Arc<Viewer>,
    _entity: PhantomData<fn() -> E>,
}

impl<E> Loader<i64> for ById<E>
where
    E: Scoped,
    E::Model: RecordModel + Send + Sync + Clone,
{
    type Value = E::Model;
    type Error = AppError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, E::Model>, AppError> {
        let scope = E::scope(&self.viewer)?;
        let rows = list::by_ids::<E>(&self.db, keys, scope).await?;
        Ok(rows.into_iter().map(|r| (r.pk(), r)).collect())
    }
}

/// Loads records by sourcedId within the viewer's scope (`node`, `nodes`).
pub struct BySourcedId<E> {
    db: DatabaseConnection,
    viewer: Arc<Viewer>,
    _entity: PhantomData<fn() -> E>,
}

impl<E> Loader<String> for BySourcedId<E>
where
    E: Scoped,
    E::Model: RecordModel + Send + Sync + Clone,
{
    type Value = E::Model;
    type Error = AppError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, E::Model>, AppError> {
        let scope = E::scope(&self.viewer)?;
        let rows = list::by_sourced_ids::<E>(&self.db, keys, scope).await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.sourced_id().to_owned(), r))
            .collect())
    }
}

/// A nested list request, shared by every parent that asks for it with the same arguments.
pub struct ChildSpec<E: EntityTrait> {
    fk: E::Column,
    query: ListQuery<E>,
    /// Canonical text of `fk` and `query`: two specs are the same request iff their keys are equal.
    key: String,
}

/// Key of a nested page: the parent and the shared request.
pub struct ChildKey<E: EntityTrait>(i64, Arc<ChildSpec<E>>);

impl<E: EntityTrait> Clone for ChildKey<E> {
    fn clone(&self) -> Self {
        ChildKey(self.0, self.1.clone())
    }
}
impl<E: EntityTrait> PartialEq for ChildKey<E> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0 && self.1.key == other.1.key
    }
}
impl<E: EntityTrait> Eq for ChildKey<E> {}
impl<E: EntityTrait> Hash for ChildKey<E> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
        self.1.key.hash(state);
    }
}

/// Loads nested pages: one windowed statement per distinct request.
pub struct Children<E> {
    db: DatabaseConnection,
    _entity: PhantomData<fn() -> E>,
}

impl<E> Loader<ChildKey<E>> for Children<E>
where
    E: Scoped,
    E::Model: RecordModel + FromQueryResult + Send + Sync + Clone,
    E::Column: Send + Sync,
{
    type Value = Page<E::Model>;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[ChildKey<E>],
    ) -> Result<HashMap<ChildKey<E>, Page<E::Model>>, AppError> {
        let mut by_spec: HashMap<&str, (Arc<ChildSpec<E>>, Vec<i64>)> = HashMap::new();
        for ChildKey(parent, spec) in keys {
            by_spec
                .entry(spec.key.as_str())
                .or_insert_with(|| (spec.clone(), Vec::new()))
                .1
                .push(*parent);
        }
        let mut out = HashMap::new();
        for (spec, parents) in by_spec.into_values() {
            let mut pages =
                list::list_children::<E>(&self.db, spec.fk, &parents, &spec.query).await?;
            for parent in parents {
                let page = pages.remove(&parent).unwrap_or_default();
                out.insert(ChildKey(parent, spec.clone()), page);
            }
        }
        Ok(out)
    }
}

/// Counts of nested lists: one grouped statement per distinct condition.
pub struct ChildCounts<E> {
    db: DatabaseConnection,
    _entity: PhantomData<fn() -> E>,
}

impl<E> Loader<ChildKey<E>> for ChildCounts<E>
where
    E: Scoped,
    E::Model: RecordModel + FromQueryResult + Send + Sync + Clone,
    E::Column: Send + Sync,
{
    type Value = u64;
    type Error = AppError;

    async fn load(&self, keys: &[ChildKey<E>]) -> Result<HashMap<ChildKey<E>, u64>, AppError> {
        let mut by_spec: HashMap<&str, (Arc<ChildSpec<E>>, Vec<i64>)> = HashMap::new();
        for ChildKey(parent, spec) in keys {
            by_spec
                .entry(spec.key.as_str())
                .or_insert_with(|| (spec.clone(), Vec::new()))
                .1
                .push(*parent);
        }
        let mut out = HashMap::new();
        for (spec, parents) in by_spec.into_values() {
            let counts = list::count_children::<E>(
                &self.db,
                spec.fk,
                &parents,
                spec.query.condition.clone(),
            )
            .await?;
            for parent in parents {
                let n = counts.get(&parent).copied().unwrap_or(0);
                out.insert(ChildKey(parent, spec.clone()), n);
            }
        }
        Ok(out)
    }
}

/// Loads one related record in the viewer's scope; `None` when missing or out of scope.
pub async fn load_one<E, T>(ctx: &Context<'_>, id: i64) -> AppResult<Option<T>>
where
    E: Scoped,
    E::Model: RecordModel + Send + Sync + Clone,
    T: From<E::Model>,
{
    let loader = request(ctx)?.loaders.get(|db, viewer| ById::<E> {
        db,
        viewer,
        _entity: PhantomData,
    });
    Ok(loader.load_one(id).await?.map(T::from))
}

/// [`load_one`] of an optional reference: `None` when the row references nothing.
pub async fn load_optional<E, T>(ctx: &Context<'_>, id: Option<i64>) -> AppResult<Option<T>>
where
    E: Scoped,
    E::Model: RecordModel + Send + Sync + Clone,
    T: From<E::Model>,
{
    match id {
        Some(id) => load_one::<E, T>(ctx, id).await,
        None => Ok(None),
    }
}

/// Loads records by sourcedId in the viewer's scope.
pub async fn load_by_sourced_ids<E>(
    ctx: &Context<'_>,
    ids: Vec<String>,
) -> AppResult<HashMap<String, E::Model>>
where
    E: Scoped,
    E::Model: RecordModel + Send + Sync + Clone,
{
    let loader = request(ctx)?.loaders.get(|db, viewer| BySourcedId::<E> {
        db,
        viewer,
        _entity: PhantomData,
    });
    loader.load_many(ids).await
}

/// `totalCount`, computed only when selected.
pub struct ConnectionCount {
    count: Arc<dyn Fn() -> BoxFuture<'static, AppResult<u64>> + Send + Sync>,
}

/// Fields every connection has besides its edges.
#[Object]
impl ConnectionCount {
    /// Number of items in the whole list (every page), within what the caller may see.
    async fn total_count(&self) -> async_graphql::Result<u64> {
        use crate::error::ResultExt;
        (self.count)().await.extend()
    }
}

pub type Conn<T> = Connection<String, T, ConnectionCount, EmptyFields>;

/// Arguments every list takes (API.md section 3).
#[derive(Clone, Debug, Default)]
pub struct ListArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
    pub changed_since: Option<DateTime<Utc>>,
    pub include_deleted: bool,
}

/// Builds a list query: scope AND (filter) AND status AND changedSince, plus the window.
pub fn list_query<E: Scoped>(
    ctx: &Context<'_>,
    args: ListArgs,
    filter: Condition,
    scope: Condition,
    order: Vec<(E::Column, Order)>,
) -> AppResult<ListQuery<E>> {
    let limits = ctx
        .data::<GraphqlSettings>()
        .map_err(|_| AppError::internal(anyhow::anyhow!("graphql settings missing")))?;
    let size = |field: &str, value: Option<i32>| -> AppResult<Option<u64>> {
        match value {
            None => Ok(None),
            Some(n) if n < 0 || n > limits.max_page_size => Err(AppError::bad_input(
                field,
                format!("`{field}` must be between 0 and {}", limits.max_page_size),
            )),
            Some(n) => Ok(Some(n.unsigned_abs().into())),
        }
    };
    let first = size("first", args.first)?;
    let last = size("last", args.last)?;
    if first.is_some() && last.is_some() {
        return Err(AppError::bad_input(
            "last",
            "pass either `first` or `last`, not both",
        ));
    }
    let backward = last.is_some() || (args.before.is_some() && first.is_none());
    let default_size = u64::from(limits.default_page_size.unsigned_abs());
    let limit = first.or(last).unwrap_or(default_size);
    let signature = list::order_signature::<E>(&order);
    let after = args
        .after
        .as_deref()
        .map(|c| cursor::decode("after", &signature, c))
        .transpose()?;
    let before = args
        .before
        .as_deref()
        .map(|c| cursor::decode("before", &signature, c))
        .transpose()?;
    let mut condition = Condition::all().add(scope).add(filter);
    if !args.include_deleted {
        condition = condition
            .add(Expr::col((E::default(), Alias::new("status"))).eq(entity::STATUS_ACTIVE));
    }
    if let Some(since) = args.changed_since {
        condition =
            condition.add(Expr::col((E::default(), Alias::new("date_last_modified"))).gte(since));
    }
    Ok(ListQuery {
        condition,
        order,
        window: Window {
            limit,
            backward,
            after,
            before,
        },
    })
}

fn to_connection<E, T>(
    ctx: &Context<'_>,
    order: &[(E::Column, Order)],
    page: Page<E::Model>,
    count: ConnectionCount,
) -> AppResult<Conn<T>>
where
    E: EntityTrait,
    E::Model: RecordModel,
    T: OutputType + From<E::Model>,
{
    let signature = list::order_signature::<E>(order);
    request(ctx)?
        .actual_cost
        .fetch_add(page.rows.len() as u64 + 1, Ordering::Relaxed);
    let mut connection =
        Connection::with_additional_fields(page.has_previous_page, page.has_next_page, count);
    connection.edges.extend(page.rows.into_iter().map(|row| {
        let cursor = list::row_cursor::<E>(order, &signature, &row);
        Edge::new(cursor, T::from(row))
    }));
    Ok(connection)
}

/// A root list.
pub async fn root_connection<E, T>(ctx: &Context<'_>, query: ListQuery<E>) -> AppResult<Conn<T>>
where
    E: Scoped,
    E::Model: RecordModel + Send + Sync,
    T: OutputType + From<E::Model>,
{
    let db = db(ctx)?.clone();
    let page = list::list::<E>(&db, &query).await?;
    let condition = query.condition.clone();
    let count = ConnectionCount {
        count: Arc::new(move || {
            let db = db.clone();
            let condition = condition.clone();
            Box::pin(async move { list::count::<E>(&db, condition).await })
        }),
    };
    to_connection::<E, T>(ctx, &query.order, page, count)
}

/// A nested list: the children of `parent` through foreign key `fk`, batched with every other
/// parent that asks for the same page in this request.
pub async fn child_connection<E, T>(
    ctx: &Context<'_>,
    fk: E::Column,
    parent: i64,
    query: ListQuery<E>,
) -> AppResult<Conn<T>>
where
    E: Scoped,
    E::Model: RecordModel + FromQueryResult + Send + Sync + Clone,
    E::Column: Send + Sync,
    T: OutputType + From<E::Model>,
{
    let key = format!(
        "{}|{:?}|{:?}|{:?}",
        fk.as_str(),
        query.condition,
        query.order,
        query.window
    );
    let order = query.order.clone();
    let spec = Arc::new(ChildSpec { fk, query, key });
    let loaders = &request(ctx)?.loaders;
    let pages = loaders.get(|db, _| Children::<E> {
        db,
        _entity: PhantomData,
    });
    let counts = loaders.get(|db, _| ChildCounts::<E> {
        db,
        _entity: PhantomData,
    });
    let page = pages
        .load_one(ChildKey(parent, spec.clone()))
        .await?
        .unwrap_or_default();
    let count = ConnectionCount {
        count: Arc::new(move || {
            let counts = counts.clone();
            let key = ChildKey(parent, spec.clone());
            Box::pin(async move { Ok(counts.load_one(key).await?.unwrap_or(0)) })
        }),
    };
    to_connection::<E, T>(ctx, &order, page, count)
}
