//! Prometheus metrics (API.md section 1): requests and latency per operation, errors per code,
//! in-flight requests, database statements and pool size. Kept in-process and rendered as text.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::db::StatementCounter;

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<String, u64>,
    latency: BTreeMap<String, Histogram>,
    errors: BTreeMap<String, u64>,
}

/// The service's metrics registry.
pub struct Metrics {
    inner: Mutex<Inner>,
    in_flight: AtomicI64,
    statements: StatementCounter,
}

/// Decrements the in-flight gauge when dropped.
pub struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    pub fn new(statements: StatementCounter) -> Self {
        Metrics {
            inner: Mutex::new(Inner::default()),
            in_flight: AtomicI64::new(0),
            statements,
        }
    }

    pub fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// Records one GraphQL request.
    pub fn observe(&self, operation: &str, seconds: f64, error_codes: &[String]) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let op = sanitize(operation);
        *inner.requests.entry(op.clone()).or_default() += 1;
        let histogram = inner.latency.entry(op).or_default();
        histogram.count += 1;
        histogram.sum += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                histogram.counts[i] += 1;
            }
        }
        for code in error_codes {
            *inner.errors.entry(sanitize(code)).or_default() += 1;
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self, pool_size: Option<u32>) -> String {
        use std::fmt::Write;
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP graphql_requests_total GraphQL requests by operation name."
        );
        let _ = writeln!(out, "# TYPE graphql_requests_total counter");
        for (op, n) in &inner.requests {
            let _ = writeln!(out, "graphql_requests_total{{operation=\"{op}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP graphql_request_duration_seconds GraphQL request latency by operation name."
        );
        let _ = writeln!(out, "# TYPE graphql_request_duration_seconds histogram");
        for (op, h) in &inner.latency {
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "graphql_request_duration_seconds_bucket{{operation=\"{op}\",le=\"{bound}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "graphql_request_duration_seconds_bucket{{operation=\"{op}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "graphql_request_duration_seconds_sum{{operation=\"{op}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "graphql_request_duration_seconds_count{{operation=\"{op}\"}} {}",
                h.count
            );
        }
        let _ = writeln!(out, "# HELP graphql_errors_total GraphQL errors by code.");
        let _ = writeln!(out, "# TYPE graphql_errors_total counter");
        for (code, n) in &inner.errors {
            let _ = writeln!(out, "graphql_errors_total{{code=\"{code}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP http_requests_in_flight GraphQL requests being served."
        );
        let _ = writeln!(out, "# TYPE http_requests_in_flight gauge");
        let _ = writeln!(
            out,
            "http_requests_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        let _ = writeln!(out, "# HELP db_statements_total SQL statements executed.");
        let _ = writeln!(out, "# TYPE db_statements_total counter");
        let _ = writeln!(out, "db_statements_total {}", self.statements.get());
        if let Some(size) = pool_size {
            let _ = writeln!(out, "# HELP db_pool_connections Open database connections.");
            let _ = writeln!(out, "# TYPE db_pool_connections gauge");
            let _ = writeln!(out, "db_pool_connections {size}");
        }
        out
    }
}

/// Label values: operation names are client-chosen, so keep them short and plain.
fn sanitize(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect();
    if cleaned.is_empty() {
        "anonymous".into()
    } else {
        cleaned
    }
}
