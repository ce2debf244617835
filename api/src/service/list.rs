//! Reading lists with keyset pagination (API.md section 3), for one table at the root or for the
//! children of many parents at once (one windowed statement, so nested lists cost one statement
//! whatever the page size or the number of parents).

use std::collections::HashMap;

use entity::RecordModel;
use sea_orm::sea_query::{Alias, Asterisk, Expr, Query, SimpleExpr, WindowStatement};
use sea_orm::{
    ColumnTrait, ColumnType, Condition, ConnectionTrait, EntityTrait, FromQueryResult, IdenStatic,
    ModelTrait, Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Value,
};

use super::cursor::{self, Cursor};
use crate::error::{AppError, AppResult};

/// Which slice of a list to read.
#[derive(Clone, Debug)]
pub struct Window {
    /// Rows wanted (`first` or `last`).
    pub limit: u64,
    /// `last`/`before`: read from the end.
    pub backward: bool,
    pub after: Option<Cursor>,
    pub before: Option<Cursor>,
}

/// A list request against table `E`: the full condition (scope AND filter AND status …), the
/// ordering (the primary key is always appended) and the window.
#[derive(Clone, Debug)]
pub struct ListQuery<E: EntityTrait> {
    pub condition: Condition,
    pub order: Vec<(E::Column, Order)>,
    pub window: Window,
}

/// One page of rows, in the requested order.
#[derive(Clone, Debug)]
pub struct Page<M> {
    pub rows: Vec<M>,
    pub has_previous_page: bool,
    pub has_next_page: bool,
}

impl<M> Default for Page<M> {
    fn default() -> Self {
        Page {
            rows: Vec::new(),
            has_previous_page: false,
            has_next_page: false,
        }
    }
}

fn id_expr<E: EntityTrait>() -> Expr {
    Expr::col((E::default(), Alias::new("id")))
}

fn col_expr<E: EntityTrait>(col: E::Column) -> Expr {
    Expr::col((E::default(), col))
}

/// `family_name:asc,id:asc`: identifies an ordering inside cursors.
pub fn order_signature<E: EntityTrait>(order: &[(E::Column, Order)]) -> String {
    let mut parts: Vec<String> = order
        .iter()
        .map(|(c, o)| {
            format!(
                "{}:{}",
                c.as_str(),
                if matches!(o, Order::Desc) {
                    "desc"
                } else {
                    "asc"
                }
            )
        })
        .collect();
    parts.push("id:asc".into());
    parts.join(",")
}

/// The cursor of a row under an ordering.
pub fn row_cursor<E>(order: &[(E::Column, Order)], signature: &str, row: &E::Model) -> String
where
    E: EntityTrait,
    E::Model: RecordModel,
{
    let mut values: Vec<Value> = order.iter().map(|(c, _)| row.get(*c)).collect();
    values.push(Value::from(row.pk()));
    cursor::encode(signature, &values)
}

/// Rows strictly after (`forward`) or before the cursor position under the ordering:
/// `(k1 > v1) OR (k1 = v1 AND k2 > v2) OR …`, with `<` for descending keys.
fn keyset_condition<E: EntityTrait>(
    order: &[(E::Column, Order)],
    cursor: &Cursor,
    forward: bool,
    field: &str,
) -> AppResult<Condition> {
    let mut keys: Vec<(Expr, bool)> = order
        .iter()
        .map(|(c, o)| (col_expr::<E>(*c), matches!(o, Order::Asc)))
        .collect();
    keys.push((id_expr::<E>(), true));
    let mut types: Vec<ColumnType> = order
        .iter()
        .map(|(c, _)| c.def().get_column_type().clone())
        .collect();
    types.push(ColumnType::BigInteger);
    let fits = types
        .iter()
        .zip(&cursor.values)
        .all(|(t, v)| value_fits(t, v));
    if keys.len() != cursor.values.len() || !fits {
        return Err(AppError::bad_input(
            field,
            format!("`{field}` is not a valid cursor for this list and order"),
        ));
    }
    let mut any = Condition::any();
    for (i, ((expr, ascending), value)) in keys.iter().zip(&cursor.values).enumerate() {
        let mut all = Condition::all();
        for ((prefix, _), prefix_value) in keys.iter().zip(&cursor.values).take(i) {
            all = all.add(prefix.clone().eq(prefix_value.clone()));
        }
        let greater = *ascending == forward;
        all = all.add(if greater {
            expr.clone().gt(value.clone())
        } else {
            expr.clone().lt(value.clone())
        });
        any = any.add(all);
    }
    Ok(any)
}

/// Whether a cursor value has the type of its key column (a forged cursor must not reach SQL).
fn value_fits(column_type: &ColumnType, value: &Value) -> bool {
    match value {
        Value::String(Some(_)) => matches!(
            column_type,
            ColumnType::String(_) | ColumnType::Text | ColumnType::Char(_)
        ),
        Value::BigInt(Some(_)) => matches!(
            column_type,
            ColumnType::Integer | ColumnType::BigInteger | ColumnType::SmallInteger
        ),
        Value::Bool(Some(_)) => matches!(column_type, ColumnType::Boolean),
        Value::Double(Some(_)) => matches!(column_type, ColumnType::Double | ColumnType::Float),
        Value::ChronoDate(Some(_)) => matches!(column_type, ColumnType::Date),
        Value::ChronoDateTimeUtc(Some(_)) => matches!(
            column_type,
            ColumnType::TimestampWithTimeZone | ColumnType::Timestamp | ColumnType::DateTime
        ),
        _ => false,
    }
}

/// The whole condition of a list query including its cursors.
fn windowed_condition<E: EntityTrait>(query: &ListQuery<E>) -> AppResult<Condition> {
    let mut condition = Condition::all().add(query.condition.clone());
    if let Some(after) = &query.window.after {
        condition = condition.add(keyset_condition::<E>(&query.order, after, true, "after")?);
    }
    if let Some(before) = &query.window.before {
        condition = condition.add(keyset_condition::<E>(
            &query.order,
            before,
            false,
            "before",
        )?);
    }
    Ok(condition)
}

/// The ORDER BY of a query: reversed when reading backward.
fn order_terms<E: EntityTrait>(
    order: &[(E::Column, Order)],
    backward: bool,
) -> Vec<(SimpleExpr, Order)> {
    let flip = |o: &Order| match (o, backward) {
        (Order::Asc, true) => Order::Desc,
        (Order::Desc, true) => Order::Asc,
        (o, false) => o.clone(),
        (o, true) => o.clone(),
    };
    let mut terms: Vec<(SimpleExpr, Order)> = order
        .iter()
        .map(|(c, o)| (col_expr::<E>(*c).into(), flip(o)))
        .collect();
    terms.push((id_expr::<E>().into(), flip(&Order::Asc)));
    terms
}

fn finish_page<M>(mut rows: Vec<M>, window: &Window) -> Page<M> {
    let limit = usize::try_from(window.limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    if window.backward {
        rows.reverse();
        Page {
            rows,
            has_previous_page: more,
            has_next_page: window.before.is_some(),
        }
    } else {
        Page {
            rows,
            has_previous_page: window.after.is_some(),
            has_next_page: more,
        }
    }
}

/// One page of a root list.
pub async fn list<E>(db: &impl ConnectionTrait, query: &ListQuery<E>) -> AppResult<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: Sync,
{
    let mut select = E::find().filter(windowed_condition(query)?);
    for (expr, order) in order_terms::<E>(&query.order, query.window.backward) {
        select = select.order_by(expr, order);
    }
    let rows = select.limit(query.window.limit + 1).all(db).await?;
    Ok(finish_page(rows, &query.window))
}

/// Pages of the children of several parents (`fk IN parents`), one statement for all of them:
/// `ROW_NUMBER() OVER (PARTITION BY fk ORDER BY …)` keeps `limit + 1` rows per parent.
pub async fn list_children<E>(
    db: &impl ConnectionTrait,
    fk: E::Column,
    parents: &[i64],
    query: &ListQuery<E>,
) -> AppResult<HashMap<i64, Page<E::Model>>>
where
    E: EntityTrait,
    E::Model: Sync + FromQueryResult,
{
    let mut window = WindowStatement::partition_by((E::default(), fk));
    for (expr, order) in order_terms::<E>(&query.order, query.window.backward) {
        window.order_by_expr(expr, order);
    }
    let mut inner = E::find()
        .filter(windowed_condition(query)?)
        .filter(fk.is_in(parents.iter().copied()))
        .into_query();
    inner.expr_window_as(Expr::cust("ROW_NUMBER()"), window, Alias::new("rn"));
    let outer = Query::select()
        .column(Asterisk)
        .from_subquery(inner, Alias::new("page"))
        .and_where(Expr::col(Alias::new("rn")).lte(query.window.limit + 1))
        .order_by(Alias::new("rn"), Order::Asc)
        .to_owned();
    let statement = db.get_database_backend().build(&outer);
    let rows = E::find().from_raw_sql(statement).all(db).await?;
    let mut grouped: HashMap<i64, Vec<E::Model>> = HashMap::new();
    for row in rows {
        if let Value::BigInt(Some(parent)) = row.get(fk) {
            grouped.entry(parent).or_default().push(row);
        }
    }
    Ok(grouped
        .into_iter()
        .map(|(parent, rows)| (parent, finish_page(rows, &query.window)))
        .collect())
}

/// `totalCount` of a root list.
pub async fn count<E>(db: &impl ConnectionTrait, condition: Condition) -> AppResult<u64>
where
    E: EntityTrait,
    E::Model: Sync,
{
    Ok(E::find().filter(condition).count(db).await?)
}

/// `totalCount` of the children of several parents: one grouped statement.
pub async fn count_children<E>(
    db: &impl ConnectionTrait,
    fk: E::Column,
    parents: &[i64],
    condition: Condition,
) -> AppResult<HashMap<i64, u64>>
where
    E: EntityTrait,
{
    let rows: Vec<(i64, i64)> = E::find()
        .select_only()
        .column(fk)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .filter(condition)
        .filter(fk.is_in(parents.iter().copied()))
        .group_by(fk)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(parent, n)| (parent, u64::try_from(n).unwrap_or(0)))
        .collect())
}

/// Rows by primary key within a condition (relation loaders).
pub async fn by_ids<E>(
    db: &impl ConnectionTrait,
    ids: &[i64],
    condition: Condition,
) -> AppResult<Vec<E::Model>>
where
    E: EntityTrait,
    E::Model: Sync,
{
    Ok(E::find()
        .filter(id_expr::<E>().is_in(ids.iter().copied()))
        .filter(condition)
        .all(db)
        .await?)
}

/// Rows by sourcedId within a condition (`node`/`nodes`).
pub async fn by_sourced_ids<E>(
    db: &impl ConnectionTrait,
    ids: &[String],
    condition: Condition,
) -> AppResult<Vec<E::Model>>
where
    E: EntityTrait,
    E::Model: Sync,
{
    Ok(E::find()
        .filter(Expr::col((E::default(), Alias::new("sourced_id"))).is_in(ids.iter().cloned()))
        .filter(condition)
        .all(db)
        .await?)
}

/// The first row meeting a condition.
pub async fn find_one<E>(
    db: &impl ConnectionTrait,
    condition: Condition,
) -> AppResult<Option<E::Model>>
where
    E: EntityTrait,
    E::Model: Sync,
{
    Ok(E::find().filter(condition).one(db).await?)
}
