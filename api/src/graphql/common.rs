//! Shared GraphQL building blocks: global ids, the `Date` scalar, record status, ordering, the
//! typed filter inputs and the macros that declare each type's enums, filters and orderings.

use async_graphql::{Enum, ID, InputObject, InputValueError, InputValueResult, Scalar, ScalarType};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Expr, Func, Query};
use sea_orm::{Condition, Value};

use crate::error::{AppError, AppResult};

/// Encodes the opaque global id of a record: base64url of `Type:sourcedId`.
pub fn global_id(type_name: &str, sourced_id: &str) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{type_name}:{sourced_id}")))
}

/// Decodes a global id into `(type, sourcedId)`, or `None` when it is not one of ours.
pub fn decode_global_id(id: &str) -> Option<(String, String)> {
    let bytes = URL_SAFE_NO_PAD.decode(id).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (type_name, sourced_id) = text.split_once(':')?;
    let valid_type = !type_name.is_empty() && type_name.chars().all(|c| c.is_ascii_alphanumeric());
    (valid_type && is_sourced_id(sourced_id)).then(|| (type_name.to_owned(), sourced_id.to_owned()))
}

/// Whether `text` has the sourcedId form `[A-Za-z0-9._:-]{1,255}` (DOMAIN.md section 2).
pub fn is_sourced_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 255
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
}

/// Accepts a global id of `type_name` or a plain sourcedId (integrators often hold the latter).
pub fn sourced_id_of(type_name: &str, field: &str, id: &str) -> AppResult<String> {
    match decode_global_id(id) {
        Some((t, sid)) if t == type_name => Ok(sid),
        Some((t, _)) if crate::graphql::node::is_type_name(&t) => Err(AppError::bad_input(
            field,
            format!("`{field}` expects a {type_name} id, got a {t} id"),
        )),
        _ if is_sourced_id(id) => Ok(id.to_owned()),
        _ => Err(AppError::bad_input(
            field,
            format!("`{field}` is neither a global id nor a sourcedId"),
        )),
    }
}

/// A calendar date (`YYYY-MM-DD`), in Hong Kong time. End dates are exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(pub NaiveDate);

#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: async_graphql::Value) -> InputValueResult<Self> {
        match &value {
            async_graphql::Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| InputValueError::custom("expected a date as YYYY-MM-DD")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> async_graphql::Value {
        async_graphql::Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

impl From<NaiveDate> for Date {
    fn from(d: NaiveDate) -> Self {
        Date(d)
    }
}

/// Whether a record exists or is a tombstone.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum RecordStatus {
    /// The record exists.
    Active,
    /// Deleted: kept as a tombstone so delta queries and the change feed can report it.
    Tobedeleted,
}

impl RecordStatus {
    pub fn from_db(status: &str) -> Self {
        if status == entity::STATUS_TOBEDELETED {
            RecordStatus::Tobedeleted
        } else {
            RecordStatus::Active
        }
    }
}

/// Sort direction.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum OrderDirection {
    /// Ascending (A→Z, oldest first).
    #[default]
    Asc,
    /// Descending.
    Desc,
}

impl From<OrderDirection> for sea_orm::Order {
    fn from(d: OrderDirection) -> Self {
        match d {
            OrderDirection::Asc => sea_orm::Order::Asc,
            OrderDirection::Desc => sea_orm::Order::Desc,
        }
    }
}

/// Where a filter field applies: a column, or a reference column matched by the referenced
/// record's id.
pub enum Target {
    Column(Expr),
    Reference {
        fk: Expr,
        table: &'static str,
        type_name: &'static str,
        field: &'static str,
        /// The caller's scope on the referenced table: a reference filter matches only records
        /// the caller may see, so it can never test an invisible record's id.
        scope: Condition,
    },
}

impl Target {
    /// The target with the caller's scope on the referenced table (none on a plain column). A
    /// table the caller may not read at all matches nothing.
    pub fn scoped(self, viewer: &crate::auth::Viewer) -> Target {
        match self {
            Target::Reference {
                fk,
                table,
                type_name,
                field,
                ..
            } => Target::Reference {
                fk,
                table,
                type_name,
                field,
                scope: crate::access::scope_of_table(table, viewer)
                    .unwrap_or_else(|_| crate::access::deny()),
            },
            column => column,
        }
    }
}

pub fn column<C: sea_orm::ColumnTrait>(col: C) -> Target {
    Target::Column(Expr::col((col.entity_name(), col)))
}

/// A reference column matched through the target table's sourcedId.
pub fn reference<C: sea_orm::ColumnTrait>(
    col: C,
    table: &'static str,
    type_name: &'static str,
    field: &'static str,
) -> Target {
    Target::Reference {
        fk: Expr::col((col.entity_name(), col)),
        table,
        type_name,
        field,
        scope: Condition::all(),
    }
}

/// A typed per-field filter input.
pub trait FieldFilter {
    fn condition(&self, target: &Target) -> AppResult<Condition>;
}

fn target_column(target: &Target) -> AppResult<Expr> {
    match target {
        Target::Column(expr) => Ok(expr.clone()),
        Target::Reference { .. } => Err(AppError::internal(anyhow::anyhow!(
            "scalar filter on a reference target"
        ))),
    }
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `\` as escape character.
fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

macro_rules! comparable_filter {
    ($(#[$m:meta])* $name:ident, $ty:ty, $conv:expr $(, contains: $contains:ident)?) => {
        $(#[$m])*
        #[derive(InputObject, Clone, Debug, Default)]
        pub struct $name {
            /// Equal to.
            pub eq: Option<$ty>,
            /// Not equal to (rows where the field is null are excluded).
            pub ne: Option<$ty>,
            /// One of these values.
            #[graphql(name = "in")]
            pub in_: Option<Vec<$ty>>,
            /// Greater than.
            pub gt: Option<$ty>,
            /// Greater than or equal to.
            pub gte: Option<$ty>,
            /// Less than.
            pub lt: Option<$ty>,
            /// Less than or equal to.
            pub lte: Option<$ty>,
            $(
            /// Contains this text, ignoring case.
            pub $contains: Option<String>,
            )?
            /// `true`: the field is null; `false`: it is set.
            pub is_null: Option<bool>,
        }

        impl FieldFilter for $name {
            fn condition(&self, target: &Target) -> AppResult<Condition> {
                let col = target_column(target)?;
                let conv = $conv;
                let mut all = Condition::all();
                if let Some(v) = &self.eq { all = all.add(col.clone().eq(conv(v))); }
                if let Some(v) = &self.ne { all = all.add(col.clone().ne(conv(v))); }
                if let Some(list) = &self.in_ {
                    if list.len() > 1000 {
                        return Err(AppError::bad_input("in", "`in` takes at most 1000 values"));
                    }
                    all = all.add(col.clone().is_in(list.iter().map(|v| conv(v))));
                }
                if let Some(v) = &self.gt { all = all.add(col.clone().gt(conv(v))); }
                if let Some(v) = &self.gte { all = all.add(col.clone().gte(conv(v))); }
                if let Some(v) = &self.lt { all = all.add(col.clone().lt(conv(v))); }
                if let Some(v) = &self.lte { all = all.add(col.clone().lte(conv(v))); }
                $(
                if let Some(text) = &self.$contains {
                    let pattern = format!("%{}%", like_escape(&text.to_lowercase()));
                    all = all.add(
                        Expr::expr(Func::lower(col.clone())).like(
                            sea_orm::sea_query::LikeExpr::new(pattern).escape('\\'),
                        ),
                    );
                }
                )?
                if let Some(is_null) = self.is_null {
                    all = all.add(if is_null { col.clone().is_null() } else { col.clone().is_not_null() });
                }
                Ok(all)
            }
        }
    };
}

comparable_filter!(
    /// Filter on a text field.
    StringFilter, String, |v: &String| Value::from(v.clone()), contains: contains
);
comparable_filter!(
    /// Filter on an integer field.
    IntFilter, i32, |v: &i32| Value::from(*v)
);
comparable_filter!(
    /// Filter on a decimal field.
    FloatFilter, f64, |v: &f64| Value::from(*v)
);
comparable_filter!(
    /// Filter on a date field.
    DateFilter, Date, |v: &Date| Value::from(v.0)
);
comparable_filter!(
    /// Filter on a timestamp field (UTC).
    DateTimeFilter, DateTime<Utc>, |v: &DateTime<Utc>| Value::from(*v)
);

/// Filter on a true/false field.
#[derive(InputObject, Clone, Debug, Default)]
pub struct BooleanFilter {
    /// Equal to.
    pub eq: Option<bool>,
    /// `true`: the field is null; `false`: it is set.
    pub is_null: Option<bool>,
}

impl FieldFilter for BooleanFilter {
    fn condition(&self, target: &Target) -> AppResult<Condition> {
        let col = target_column(target)?;
        let mut all = Condition::all();
        if let Some(v) = self.eq {
            all = all.add(col.clone().eq(v));
        }
        if let Some(is_null) = self.is_null {
            all = all.add(if is_null {
                col.is_null()
            } else {
                col.is_not_null()
            });
        }
        Ok(all)
    }
}

/// Filter on a reference to another record, by its global id or sourcedId.
#[derive(InputObject, Clone, Debug, Default)]
pub struct IdFilter {
    /// The referenced record is this one.
    pub eq: Option<ID>,
    /// The referenced record is not this one.
    pub ne: Option<ID>,
    /// The referenced record is one of these.
    #[graphql(name = "in")]
    pub in_: Option<Vec<ID>>,
    /// `true`: no record is referenced; `false`: one is.
    pub is_null: Option<bool>,
}

impl FieldFilter for IdFilter {
    fn condition(&self, target: &Target) -> AppResult<Condition> {
        let Target::Reference {
            fk,
            table,
            type_name,
            field,
            scope,
        } = target
        else {
            return Err(AppError::internal(anyhow::anyhow!(
                "id filter on a plain column"
            )));
        };
        let lookup = |ids: Vec<String>| {
            Query::select()
                .column(Alias::new("id"))
                .from(Alias::new(*table))
                .and_where(Expr::col(Alias::new("sourced_id")).is_in(ids))
                .cond_where(scope.clone())
                .to_owned()
        };
        let sid = |id: &ID| sourced_id_of(type_name, field, id.as_str());
        let mut all = Condition::all();
        if let Some(id) = &self.eq {
            all = all.add(fk.clone().in_subquery(lookup(vec![sid(id)?])));
        }
        if let Some(id) = &self.ne {
            all = all.add(fk.clone().not_in_subquery(lookup(vec![sid(id)?])));
        }
        if let Some(ids) = &self.in_ {
            if ids.len() > 1000 {
                return Err(AppError::bad_input("in", "`in` takes at most 1000 values"));
            }
            let ids = ids.iter().map(sid).collect::<AppResult<Vec<_>>>()?;
            all = all.add(fk.clone().in_subquery(lookup(ids)));
        }
        if let Some(is_null) = self.is_null {
            all = all.add(if is_null {
                fk.clone().is_null()
            } else {
                fk.clone().is_not_null()
            });
        }
        Ok(all)
    }
}

/// A GraphQL enum stored as a text column.
pub trait DbEnum: Sized + Copy {
    fn db(self) -> &'static str;
    fn from_db(text: &str) -> Option<Self>;
}

/// Declares a GraphQL enum over a closed vocabulary stored as text, plus its filter input. A
/// variant whose database text is `ext:` stands for every `ext:…` extension value.
macro_rules! db_enum {
    ($(#[$m:meta])* $name:ident, $filter:ident { $($(#[$vm:meta])* $variant:ident = $db:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq, Debug)]
        pub enum $name { $($(#[$vm])* $variant,)* }

        impl $crate::graphql::common::DbEnum for $name {
            fn db(self) -> &'static str {
                match self { $($name::$variant => $db,)* }
            }
            fn from_db(text: &str) -> Option<Self> {
                match text {
                    $($db => Some($name::$variant),)*
                    other if other.starts_with("ext:") => [$($name::$variant),*]
                        .into_iter()
                        .find(|v| $crate::graphql::common::DbEnum::db(*v) == "ext:"),
                    _ => None,
                }
            }
        }

        #[doc = concat!("Filter on a `", stringify!($name), "` field.")]
        #[derive(async_graphql::InputObject, Clone, Debug, Default)]
        pub struct $filter {
            /// Equal to.
            pub eq: Option<$name>,
            /// Not equal to.
            pub ne: Option<$name>,
            /// One of these values.
            #[graphql(name = "in")]
            pub in_: Option<Vec<$name>>,
            /// `true`: the field is null; `false`: it is set.
            pub is_null: Option<bool>,
        }

        impl $crate::graphql::common::FieldFilter for $filter {
            fn condition(&self, target: &$crate::graphql::common::Target) -> $crate::error::AppResult<sea_orm::Condition> {
                $crate::graphql::common::enum_condition(
                    target,
                    self.eq.map($crate::graphql::common::DbEnum::db),
                    self.ne.map($crate::graphql::common::DbEnum::db),
                    self.in_.as_ref().map(|l| l.iter().map(|v| $crate::graphql::common::DbEnum::db(*v)).collect()),
                    self.is_null,
                )
            }
        }
    };
}
pub(crate) use db_enum;

/// The condition of an enum filter over database texts (`ext:` matches any extension value).
pub fn enum_condition(
    target: &Target,
    eq: Option<&'static str>,
    ne: Option<&'static str>,
    in_: Option<Vec<&'static str>>,
    is_null: Option<bool>,
) -> AppResult<Condition> {
    let col = target_column(target)?;
    let matches = |db: &str| -> Condition {
        if db == "ext:" {
            Condition::all().add(col.clone().like("ext:%"))
        } else {
            Condition::all().add(col.clone().eq(db))
        }
    };
    let mut all = Condition::all();
    if let Some(db) = eq {
        all = all.add(matches(db));
    }
    if let Some(db) = ne {
        all = all.add(matches(db).not()).add(col.clone().is_not_null());
    }
    if let Some(list) = in_ {
        let mut any = Condition::any();
        for db in &list {
            any = any.add(matches(db));
        }
        if list.is_empty() {
            any = crate::access::deny();
        }
        all = all.add(any);
    }
    if let Some(is_null) = is_null {
        all = all.add(if is_null {
            col.clone().is_null()
        } else {
            col.is_not_null()
        });
    }
    Ok(all)
}

/// Declares a type's filter input: typed per-field filters composed with `and`, `or`, `not`.
macro_rules! filter_input {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $fty:ty => $target:expr),* $(,)? }) => {
        $(#[$m])*
        #[derive(async_graphql::InputObject, Clone, Debug, Default)]
        pub struct $name {
            $($(#[$fm])* pub $field: Option<$fty>,)*
            /// Every one of these filters matches.
            pub and: Option<Vec<$name>>,
            /// At least one of these filters matches.
            pub or: Option<Vec<$name>>,
            /// This filter does not match.
            pub not: Option<Box<$name>>,
        }

        impl $name {
            /// The filter as one parenthesised condition group.
            pub fn condition(&self, viewer: &$crate::auth::Viewer) -> $crate::error::AppResult<sea_orm::Condition> {
                use $crate::graphql::common::FieldFilter as _;
                let mut all = sea_orm::Condition::all();
                $(if let Some(f) = &self.$field { all = all.add(f.condition(&$target.scoped(viewer))?); })*
                if let Some(list) = &self.and {
                    for f in list { all = all.add(f.condition(viewer)?); }
                }
                if let Some(list) = &self.or {
                    let mut any = sea_orm::Condition::any();
                    for f in list { any = any.add(f.condition(viewer)?); }
                    if list.is_empty() { any = $crate::access::deny(); }
                    all = all.add(any);
                }
                if let Some(f) = &self.not { all = all.add(f.condition(viewer)?.not()); }
                Ok(all)
            }

            /// The names (`snake_case`) of the fields this filter tests, at any depth.
            pub fn used_fields(&self, out: &mut Vec<&'static str>) {
                $(if self.$field.is_some() { out.push(stringify!($field)); })*
                for f in self.and.iter().chain(self.or.iter()).flatten() { f.used_fields(out); }
                if let Some(f) = &self.not { f.used_fields(out); }
            }
        }
    };
}
pub(crate) use filter_input;

/// Declares a type's `orderBy` input: a field enum over non-null columns and a direction.
macro_rules! order_input {
    ($(#[$m:meta])* $name:ident, $fields:ident for $column:ty { $($(#[$vm:meta])* $variant:ident => $col:expr),* $(,)? }) => {
        #[doc = concat!("Fields a `", stringify!($name), "` can sort by.")]
        #[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq, Debug)]
        pub enum $fields { $($(#[$vm])* $variant,)* }

        $(#[$m])*
        #[derive(async_graphql::InputObject, Clone, Debug)]
        pub struct $name {
            /// The field to sort by.
            pub field: $fields,
            /// The direction (ascending by default).
            #[graphql(default)]
            pub direction: $crate::graphql::common::OrderDirection,
        }

        impl $name {
            /// The ordering as columns; the primary key is appended by the list service.
            pub fn columns(order: Option<Vec<$name>>) -> $crate::error::AppResult<Vec<($column, sea_orm::Order)>> {
                let order = order.unwrap_or_default();
                if order.len() > 3 {
                    return Err($crate::error::AppError::bad_input("orderBy", "`orderBy` takes at most 3 keys"));
                }
                Ok(order
                    .into_iter()
                    .map(|o| (match o.field { $($fields::$variant => $col,)* }, o.direction.into()))
                    .collect())
            }
        }
    };
}
pub(crate) use order_input;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_round_trip() {
        let id = global_id("Person", "stu-1");
        assert_eq!(
            decode_global_id(id.as_str()),
            Some(("Person".into(), "stu-1".into()))
        );
        assert_eq!(decode_global_id("plain-sourced-id"), None);
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_escape("50%_a\\b"), "50\\%\\_a\\\\b");
    }
}
