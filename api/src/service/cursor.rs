//! Opaque keyset cursors: base64url of the row's order-key values plus a signature of the order,
//! so a cursor from one ordering is rejected by another instead of silently mis-paging.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::Value;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Part {
    S(String),
    I(i64),
    B(bool),
    F(f64),
    D(NaiveDate),
    T(DateTime<Utc>),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Payload {
    /// Order signature, e.g. `family_name:asc,id:asc`.
    o: String,
    k: Vec<Part>,
}

/// A decoded cursor: the key values of one row under one ordering.
#[derive(Clone, Debug, PartialEq)]
pub struct Cursor {
    pub values: Vec<Value>,
}

fn part_of(value: &Value) -> Option<Part> {
    Some(match value {
        Value::String(Some(s)) => Part::S(s.to_string()),
        Value::BigInt(Some(i)) => Part::I(*i),
        Value::Int(Some(i)) => Part::I(i64::from(*i)),
        Value::SmallInt(Some(i)) => Part::I(i64::from(*i)),
        Value::Bool(Some(b)) => Part::B(*b),
        Value::Double(Some(f)) => Part::F(*f),
        Value::ChronoDate(Some(d)) => Part::D(**d),
        Value::ChronoDateTimeUtc(Some(t)) => Part::T(**t),
        _ => return None,
    })
}

fn value_of(part: Part) -> Value {
    match part {
        Part::S(s) => Value::from(s),
        Part::I(i) => Value::from(i),
        Part::B(b) => Value::from(b),
        Part::F(f) => Value::from(f),
        Part::D(d) => Value::from(d),
        Part::T(t) => Value::from(t),
    }
}

/// Encodes a row's key values. Keys are never null (only non-null columns are orderable).
pub fn encode(signature: &str, values: &[Value]) -> String {
    let payload = Payload {
        o: signature.to_owned(),
        k: values.iter().filter_map(part_of).collect(),
    };
    let json = serde_json::to_vec(&payload).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a cursor given by the client for argument `field` under `signature`.
pub fn decode(field: &str, signature: &str, text: &str) -> AppResult<Cursor> {
    let bad = || {
        AppError::bad_input(
            field,
            format!("`{field}` is not a valid cursor for this list and order"),
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    let payload: Payload = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if payload.o != signature {
        return Err(bad());
    }
    Ok(Cursor {
        values: payload.k.into_iter().map(value_of).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_are_bound_to_their_order() {
        let values = vec![Value::from("Chan"), Value::from(42_i64)];
        let text = encode("family_name:asc,id:asc", &values);
        let cursor = decode("after", "family_name:asc,id:asc", &text).unwrap();
        assert_eq!(cursor.values, values);
        assert!(decode("after", "id:asc", &text).is_err());
        assert!(decode("after", "id:asc", "not-a-cursor").is_err());
    }
}
