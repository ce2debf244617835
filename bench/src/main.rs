//! Benchmark harness for the Pathway Partner API (`make bench`).
//!
//! Builds the `api` binary in release mode, creates a fresh PostgreSQL
//! database `pathway_bench`, migrates and seeds it, starts `api serve` on
//! 127.0.0.1, and drives a fixed mix of five GraphQL queries (one as a partner coordinator) with a pool of
//! concurrent workers. It reports throughput, latency percentiles, SQL
//! statements per request (from the server's `db_statements_total` counter),
//! the seeding time and the server's peak RSS, as a table on stdout and as
//! JSON in `bench/out/results.json`.
//!
//! Every request goes to 127.0.0.1 only, and the load is bounded both in time
//! (`--seconds`) and in count (`--max-requests`).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;

mod writes;
use serde::Serialize;
use serde_json::{Value, json};

const BENCH_DB: &str = "pathway_bench";
const JWT_SECRET: &str = "bench-secret-bench-secret-bench-secret-0123";
const HOST: &str = "127.0.0.1";
const HEALTH_TIMEOUT: Duration = Duration::from_secs(60);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const METRIC: &str = "db_statements_total";

/// Load benchmark for the Pathway Partner API.
#[derive(Debug, Parser)]
#[command(name = "bench", about)]
struct Args {
    /// Do not run `cargo build --release -p api --bin api` first.
    #[arg(long)]
    skip_build: bool,
    /// Demo data scale passed to `api seed-demo --scale`.
    #[arg(long, default_value_t = 10)]
    scale: u32,
    /// Duration of the measured phase, in seconds.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Duration of the unmeasured warm-up phase, in seconds.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Number of concurrent workers.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Upper bound on the number of requests in the measured phase.
    #[arg(long, default_value_t = 5_000_000)]
    max_requests: u64,
    /// Requests per query in the sequential SQL-statement pass.
    #[arg(long, default_value_t = 20)]
    seq_requests: u32,
    /// Port the server listens on (always on 127.0.0.1).
    #[arg(long, default_value_t = 18080)]
    port: u16,
    /// Students in the roster pushed through the bulk upserts (0 skips the write phase).
    #[arg(long, default_value_t = 5_000)]
    roster: usize,
    /// Items per upsert call (at most 1,000).
    #[arg(long, default_value_t = 1_000)]
    batch: usize,
    /// Change events to page through `changes` in the write phase.
    #[arg(long, default_value_t = 100_000)]
    feed_events: u64,
    /// Admin PostgreSQL URL used to drop and create the bench database.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
}

/// Key of a request body holding the `Authorization` value to send it with instead of the
/// default (admin) one.
const AS_PARTNER: &str = "__authorization";

/// The partner whose coordinator runs `partner_students`.
const PARTNER_ORG: &str = "org-partner-ibm";

/// The queries of the mix, in round-robin order.
#[derive(Clone, Copy, Debug)]
enum Var {
    None,
    School,
    Student,
    /// No variables, sent with a partner coordinator's token: partnerScope with its consent
    /// predicate, minimised fields, and the access audit written for every named student.
    Partner,
}

struct QueryDef {
    name: &'static str,
    query: &'static str,
    var: Var,
}

const QUERIES: [QueryDef; 5] = [
    QueryDef {
        name: "nested_enrollments",
        query: "{ courseEnrollments(first: 50) { edges { node { id state \
                person { id givenName familyName primaryOrg { id nameEn } } \
                schoolOrg { id nameEn } offering { id classCode } } } } }",
        var: Var::None,
    },
    QueryDef {
        name: "school_students",
        query: "query($id: ID!) { node(id: $id) { ... on Organization { nameEn \
                students(first: 50) { totalCount edges { node { id givenName familyName classLevel } } } } } }",
        var: Var::School,
    },
    QueryDef {
        name: "node_lookup",
        query: "query($id: ID!) { node(id: $id) { id ... on Person { givenName familyName classLevel } } }",
        var: Var::Student,
    },
    QueryDef {
        name: "partner_students",
        query: "{ students(first: 50) { totalCount edges { node { id preferredName classLevel \
                primaryOrg { id nameEn } } } } }",
        var: Var::Partner,
    },
    QueryDef {
        name: "filtered_ordered",
        query: "{ students(first: 20, filter: { classLevel: { in: [\"S5\", \"S6\"] }, \
                familyName: { contains: \"an\" } }, orderBy: [{ field: FAMILY_NAME, direction: ASC }]) \
                { totalCount edges { node { id givenName familyName } } } }",
        var: Var::None,
    },
];

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<()> {
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    if args.seconds == 0 {
        bail!("--seconds must be at least 1");
    }
    let root = workspace_root()?;
    let out_dir = root.join("bench").join("out");
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;

    // 1. Build the server.
    if args.skip_build {
        println!("==> skipping build (--skip-build)");
    } else {
        println!("==> cargo build --release -p api --bin api");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut build = Command::new(cargo);
        build
            .args(["build", "--release", "-p", "api", "--bin", "api"])
            .current_dir(&root);
        strip_cargo_run_env(&mut build);
        run_checked(&mut build, "cargo build --release -p api --bin api")?;
    }
    let api_bin = target_dir(&root).join("release").join("api");
    if !api_bin.is_file() {
        bail!(
            "server binary not found at {} (build it or drop --skip-build)",
            api_bin.display()
        );
    }

    // 2. Fresh database.
    let db_url = bench_db_url(&args.pg_url)?;
    println!("==> recreating database {BENCH_DB}");
    psql(
        &args.pg_url,
        &format!("DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)"),
    )?;
    psql(&args.pg_url, &format!("CREATE DATABASE {BENCH_DB}"))?;

    // 3. Migrate, seed, serve.
    let api = ApiCmd {
        bin: api_bin,
        db_url,
        port: args.port,
        root: root.clone(),
    };
    println!("==> api migrate");
    run_checked(api.command().arg("migrate"), "api migrate")?;

    println!("==> api seed-demo --scale {}", args.scale);
    let seed_start = Instant::now();
    run_checked(
        api.command()
            .args(["seed-demo", "--scale", &args.scale.to_string()]),
        "api seed-demo",
    )?;
    let seed_secs = seed_start.elapsed().as_secs_f64();
    println!("    seeding took {seed_secs:.2} s");

    let token = api.token("programmeAdmin", "org-claptech-centre")?;
    let partner_token = api.token("partnerCoordinator", PARTNER_ORG)?;
    let school_token = api.token("schoolCoordinator", writes::SCHOOL_ORG)?;

    ensure_port_free(args.port)?;
    let log_path = out_dir.join("server.log");
    println!(
        "==> api serve on {HOST}:{} (log: {})",
        args.port,
        log_path.display()
    );
    let log =
        File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
    let log_err = log
        .try_clone()
        .context("duplicating the server log handle")?;
    let child = api
        .command()
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_err))
        .spawn()
        .context("starting `api serve`")?;
    // Killed on drop, including on every error path below.
    let mut server = Server { child, log_path };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("building the tokio runtime")?;
    // On SIGINT/SIGTERM, stop driving and fall through to killing the server.
    let tokens = Tokens {
        admin: &token,
        partner: &partner_token,
        school: &school_token,
    };
    let report = runtime.block_on(async {
        tokio::select! {
            report = drive(args, &mut server, &tokens, &api.db_url, seed_secs) => report,
            signal = shutdown_signal() => Err(anyhow::anyhow!("interrupted by {signal}")),
        }
    })?;
    drop(runtime);
    server.stop();

    print_report(&report);
    let json_path = out_dir.join("results.json");
    let text = serde_json::to_string_pretty(&report).context("serialising results")?;
    std::fs::write(&json_path, text + "\n")
        .with_context(|| format!("writing {}", json_path.display()))?;
    println!("results written to {}", json_path.display());
    Ok(())
}

/// Resolves on SIGINT or SIGTERM, naming the signal.
async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        // Without handlers, never resolve: the default actions still apply.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}

/// The bearer tokens the bench sends.
struct Tokens<'a> {
    admin: &'a str,
    partner: &'a str,
    school: &'a str,
}

async fn drive(
    args: &Args,
    server: &mut Server,
    tokens: &Tokens<'_>,
    db_url: &str,
    seed_secs: f64,
) -> Result<Report> {
    let (token, partner_token) = (tokens.admin, tokens.partner);
    let base = format!("http://{HOST}:{}", args.port);
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(args.concurrency.max(1))
        .build()
        .context("building the HTTP client")?;
    let client = Gql {
        http,
        base,
        auth: format!("Bearer {token}"),
    };

    wait_healthy(&client, server).await?;
    println!("    server is up (pid {})", server.child.id());

    // 4. Discover ids.
    let school_id = client
        .discover("{ schools(first: 1) { edges { node { id } } } }", "schools")
        .await
        .context("discovering a school id")?;
    let student_id = client
        .discover(
            "{ students(first: 1) { edges { node { id } } } }",
            "students",
        )
        .await
        .context("discovering a student id")?;
    println!("    school id {school_id}, student id {student_id}");
    let bodies: Vec<Value> = QUERIES
        .iter()
        .map(|q| match q.var {
            Var::None => json!({ "query": q.query, "variables": {} }),
            Var::School => json!({ "query": q.query, "variables": { "id": school_id } }),
            Var::Student => json!({ "query": q.query, "variables": { "id": student_id } }),
            Var::Partner => {
                json!({ "query": q.query, "variables": {}, AS_PARTNER: format!("Bearer {partner_token}") })
            }
        })
        .collect();
    let bodies = Arc::new(bodies);
    let first_errors: Arc<Mutex<Vec<Option<String>>>> =
        Arc::new(Mutex::new(vec![None; QUERIES.len()]));

    // 6b. Sequential pass: SQL statements per request, per query type.
    println!(
        "==> sequential pass: {} requests per query",
        args.seq_requests
    );
    let mut seq = Vec::with_capacity(QUERIES.len());
    for (i, q) in QUERIES.iter().enumerate() {
        let mut statements = 0u64;
        let mut ok_count = 0u64;
        let mut latencies = Vec::new();
        for _ in 0..args.seq_requests {
            let before = client.statements().await?;
            let started = Instant::now();
            let outcome = client.send(&bodies[i]).await;
            let elapsed = started.elapsed();
            let after = client.statements().await?;
            match outcome {
                Ok(()) => {
                    ok_count += 1;
                    statements += after.saturating_sub(before);
                    latencies.push(micros(elapsed));
                }
                Err(body) => record_first_error(&first_errors, i, q.name, body),
            }
        }
        latencies.sort_unstable();
        let per_request = (ok_count > 0).then(|| statements as f64 / ok_count as f64);
        println!(
            "    {:<20} ok {ok_count}/{}  SQL/request {}  p50 {} ms",
            q.name,
            args.seq_requests,
            per_request.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.2}")),
            percentile_ms(&latencies, 50.0).map_or_else(|| "n/a".to_owned(), |v| format!("{v:.2}")),
        );
        seq.push(per_request);
    }

    // 5. Warm-up (not measured), then the measured phase.
    if args.warmup > 0 {
        println!(
            "==> warm-up: {} s, {} workers",
            args.warmup, args.concurrency
        );
        load_phase(
            &client,
            &bodies,
            &first_errors,
            args.concurrency,
            Duration::from_secs(args.warmup),
            args.max_requests,
        )
        .await?;
    }
    println!(
        "==> measured phase: {} s, {} workers",
        args.seconds, args.concurrency
    );
    let statements_before = client.statements().await?;
    let phase = load_phase(
        &client,
        &bodies,
        &first_errors,
        args.concurrency,
        Duration::from_secs(args.seconds),
        args.max_requests,
    )
    .await?;
    let statements_after = client.statements().await?;
    let measured_statements = statements_after.saturating_sub(statements_before);

    // 7. The write phase: bulk upserts against plain inserts, then the change feed.
    let writes = if args.roster > 0 {
        let school = Gql {
            http: client.http.clone(),
            base: client.base.clone(),
            auth: format!("Bearer {}", tokens.school),
        };
        Some(
            writes::run(
                &client,
                &school,
                db_url,
                args.roster,
                args.batch,
                args.feed_events,
            )
            .await?,
        )
    } else {
        None
    };

    // 8. Peak memory (the server is still running).
    let peak_rss_mib = peak_rss_mib(server.child.id());

    let elapsed = phase.elapsed.as_secs_f64();
    let first_errors = first_errors.lock().map(|g| g.clone()).unwrap_or_default();
    let mut queries = Vec::with_capacity(QUERIES.len());
    let mut all_ok = Vec::new();
    let (mut total_requests, mut total_errors) = (0u64, 0u64);
    for (i, q) in QUERIES.iter().enumerate() {
        let stats = &phase.per_query[i];
        let mut ok = stats.ok_latencies_us.clone();
        ok.sort_unstable();
        all_ok.extend_from_slice(&ok);
        let requests = stats.ok_latencies_us.len() as u64 + stats.errors;
        total_requests += requests;
        total_errors += stats.errors;
        queries.push(QueryReport {
            name: q.name,
            requests,
            errors: stats.errors,
            req_per_s: requests as f64 / elapsed,
            p50_ms: percentile_ms(&ok, 50.0),
            p99_ms: percentile_ms(&ok, 99.0),
            sql_per_request: seq[i],
            first_error: first_errors.get(i).cloned().flatten(),
        });
    }
    all_ok.sort_unstable();
    let total = TotalReport {
        requests: total_requests,
        errors: total_errors,
        req_per_s: total_requests as f64 / elapsed,
        p50_ms: percentile_ms(&all_ok, 50.0),
        p99_ms: percentile_ms(&all_ok, 99.0),
        sql_statements: measured_statements,
        sql_per_request: (total_requests > 0)
            .then(|| measured_statements as f64 / total_requests as f64),
    };
    Ok(Report {
        scale: args.scale,
        concurrency: args.concurrency,
        seconds: args.seconds,
        warmup_seconds: args.warmup,
        measured_seconds: elapsed,
        seed_seconds: seed_secs,
        server_peak_rss_mib: peak_rss_mib,
        queries,
        total,
        writes,
    })
}

#[derive(Default, Clone)]
struct QueryStats {
    ok_latencies_us: Vec<u64>,
    errors: u64,
}

struct Phase {
    per_query: Vec<QueryStats>,
    elapsed: Duration,
}

/// Runs `concurrency` workers until `duration` has passed or `max_requests`
/// have been started. Each worker goes round-robin over the queries,
/// starting at a different offset so the mix stays even.
async fn load_phase(
    client: &Gql,
    bodies: &Arc<Vec<Value>>,
    first_errors: &Arc<Mutex<Vec<Option<String>>>>,
    concurrency: usize,
    duration: Duration,
    max_requests: u64,
) -> Result<Phase> {
    let started = Instant::now();
    let deadline = started + duration;
    let budget = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(concurrency);
    for worker in 0..concurrency {
        let client = client.clone();
        let bodies = Arc::clone(bodies);
        let first_errors = Arc::clone(first_errors);
        let budget = Arc::clone(&budget);
        tasks.push(tokio::spawn(async move {
            let mut stats = vec![QueryStats::default(); QUERIES.len()];
            let mut i = worker % QUERIES.len();
            while Instant::now() < deadline
                && budget.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < max_requests
            {
                let t = Instant::now();
                let outcome = client.send(&bodies[i]).await;
                let us = micros(t.elapsed());
                match outcome {
                    Ok(()) => stats[i].ok_latencies_us.push(us),
                    Err(body) => {
                        stats[i].errors += 1;
                        record_first_error(&first_errors, i, QUERIES[i].name, body);
                    }
                }
                i = (i + 1) % QUERIES.len();
            }
            stats
        }));
    }
    let mut per_query = vec![QueryStats::default(); QUERIES.len()];
    for task in tasks {
        let stats = task.await.context("a load worker panicked")?;
        for (acc, s) in per_query.iter_mut().zip(stats) {
            acc.ok_latencies_us.extend(s.ok_latencies_us);
            acc.errors += s.errors;
        }
    }
    Ok(Phase {
        per_query,
        elapsed: started.elapsed(),
    })
}

fn record_first_error(first: &Mutex<Vec<Option<String>>>, i: usize, name: &str, body: String) {
    let Ok(mut guard) = first.lock() else { return };
    if let Some(slot) = guard.get_mut(i)
        && slot.is_none()
    {
        eprintln!("    first error for {name}: {}", truncate(&body, 2000));
        *slot = Some(truncate(&body, 2000));
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// A minimal GraphQL client bound to the local server.
#[derive(Clone)]
struct Gql {
    http: reqwest::Client,
    base: String,
    auth: String,
}

impl Gql {
    /// Sends one GraphQL request. `Err` carries a description of the error
    /// (status and body) if the status is not 200, the body is not JSON, or
    /// it has a non-empty `errors` array.
    async fn send(&self, body: &Value) -> std::result::Result<(), String> {
        self.post(body).await.map(|_| ())
    }

    async fn post(&self, body: &Value) -> std::result::Result<Value, String> {
        // A body may name another caller's token under `AS_PARTNER`; it is not sent.
        let (auth, body) = match body.get(AS_PARTNER).and_then(Value::as_str) {
            Some(auth) => {
                let mut body = body.clone();
                if let Some(map) = body.as_object_mut() {
                    map.remove(AS_PARTNER);
                }
                (auth.to_owned(), body)
            }
            None => (self.auth.clone(), body.clone()),
        };
        let resp = self
            .http
            .post(format!("{}/graphql", self.base))
            .header(reqwest::header::AUTHORIZATION, auth)
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("transport error: {e}"))?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| format!("HTTP {status}, reading body failed: {e}"))?;
        if status != reqwest::StatusCode::OK {
            return Err(format!("HTTP {status}: {text}"));
        }
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| format!("HTTP {status}, invalid JSON ({e}): {text}"))?;
        if value
            .get("errors")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
        {
            return Err(format!("HTTP {status}: {text}"));
        }
        Ok(value)
    }

    /// Runs a `{ <field>(first: 1) { edges { node { id } } } }` query and
    /// returns the id.
    async fn discover(&self, query: &str, field: &str) -> Result<String> {
        let value = self
            .post(&json!({ "query": query, "variables": {} }))
            .await
            .map_err(anyhow::Error::msg)?;
        value
            .pointer(&format!("/data/{field}/edges/0/node/id"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .with_context(|| format!("no data.{field}.edges[0].node.id in {value}"))
    }

    /// Reads `db_statements_total` from `/metrics`.
    async fn statements(&self) -> Result<u64> {
        let resp = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .context("GET /metrics")?;
        let status = resp.status();
        let text = resp.text().await.context("reading /metrics")?;
        if !status.is_success() {
            bail!("GET /metrics returned {status}: {}", truncate(&text, 500));
        }
        parse_counter(&text, METRIC).with_context(|| format!("no `{METRIC}` line in /metrics"))
    }
}

/// Sums the samples of a Prometheus counter (with or without labels).
fn parse_counter(text: &str, name: &str) -> Option<u64> {
    let mut found = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_whitespace();
        let (Some(metric), Some(value)) = (parts.next(), parts.next()) else {
            continue;
        };
        let bare = metric.split('{').next().unwrap_or(metric);
        if bare != name {
            continue;
        }
        if let Ok(v) = value.parse::<f64>() {
            *found.get_or_insert(0u64) += v as u64;
        }
    }
    found
}

async fn wait_healthy(client: &Gql, server: &mut Server) -> Result<()> {
    let url = format!("{}/healthz", client.base);
    let deadline = Instant::now() + HEALTH_TIMEOUT;
    loop {
        if let Some(status) = server
            .child
            .try_wait()
            .context("checking the server process")?
        {
            bail!(
                "`api serve` exited early with {status}; log tail:\n{}",
                server.log_tail()
            );
        }
        if let Ok(resp) = client
            .http
            .get(&url)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            && resp.status() == reqwest::StatusCode::OK
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "server not healthy after {HEALTH_TIMEOUT:?}; log tail:\n{}",
                server.log_tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The `api serve` child process; killed when dropped.
struct Server {
    child: Child,
    log_path: PathBuf,
}

impl Server {
    fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How to invoke the `api` binary with the bench environment.
struct ApiCmd {
    bin: PathBuf,
    db_url: String,
    port: u16,
    root: PathBuf,
}

impl ApiCmd {
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.current_dir(&self.root)
            .env("APP_DATABASE__URL", &self.db_url)
            .env("APP_AUTH__JWT_SECRET", JWT_SECRET)
            .env("APP_SERVER__HOST", HOST)
            .env("APP_SERVER__PORT", self.port.to_string())
            .env("APP_DEMO__SEED", "false")
            .env("APP_LOG__FILTER", "warn");
        cmd
    }

    fn token(&self, role: &str, org: &str) -> Result<String> {
        let out = self
            .command()
            .args(["token", "--role", role, "--org", org, "--ttl", "1h"])
            .stdin(Stdio::null())
            .output()
            .context("running `api token`")?;
        if !out.status.success() {
            bail!(
                "`api token` failed with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let stdout = String::from_utf8(out.stdout).context("`api token` printed non-UTF-8")?;
        // The JWT is the last non-empty line (robust to stray log lines).
        let token = stdout
            .lines()
            .map(str::trim)
            .rev()
            .find(|l| !l.is_empty())
            .unwrap_or_default()
            .to_owned();
        if token.split('.').count() != 3 {
            bail!("`api token` did not print a JWT: {stdout:?}");
        }
        Ok(token)
    }
}

/// Removes the variables `cargo run` sets for the bench process itself
/// (`CARGO_MANIFEST_DIR`, `CARGO_PKG_NAME`, ...). Build scripts such as
/// ring's declare `rerun-if-env-changed` on them, so passing them on to the
/// nested `cargo build` would make it rebuild half the dependency tree on
/// every run (and again on the next plain `cargo build`).
fn strip_cargo_run_env(cmd: &mut Command) {
    const EXACT: [&str; 9] = [
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_MANIFEST_LINKS",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_RUSTC_CURRENT_DIR",
        "CARGO_TARGET_TMPDIR",
        "OUT_DIR",
    ];
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if EXACT.contains(&key) || key.starts_with("CARGO_PKG_") {
            cmd.env_remove(key);
        }
    }
}

fn workspace_root() -> Result<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest
        .parent()
        .context("bench crate has no parent directory")?;
    if !root.join("Cargo.toml").is_file() {
        bail!("no Cargo.toml in workspace root {}", root.display());
    }
    Ok(root.to_path_buf())
}

fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                root.join(dir)
            }
        }
        None => root.join("target"),
    }
}

/// The admin URL with its database name replaced by `pathway_bench`.
fn bench_db_url(admin: &str) -> Result<String> {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin, None),
    };
    let scheme_end = base
        .find("://")
        .context("--pg-url must look like postgres://user@host:port/db")?
        + 3;
    let authority_and_path = &base[scheme_end..];
    let authority = authority_and_path
        .split('/')
        .next()
        .unwrap_or(authority_and_path);
    let mut url = format!("{}{}/{BENCH_DB}", &base[..scheme_end], authority);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    Ok(url)
}

fn psql(url: &str, sql: &str) -> Result<()> {
    run_checked(
        Command::new("psql").args([url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql]),
        &format!("psql -c '{sql}'"),
    )
}

fn run_checked(cmd: &mut Command, what: &str) -> Result<()> {
    let status = cmd
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("running `{what}`"))?;
    if !status.success() {
        bail!("`{what}` failed with {status}");
    }
    Ok(())
}

fn ensure_port_free(port: u16) -> Result<()> {
    std::net::TcpListener::bind((HOST, port))
        .map(drop)
        .with_context(|| format!("port {HOST}:{port} is already in use (pick another with --port)"))
}

/// VmHWM (peak resident set size) of a process, in MiB.
fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Nearest-rank percentile of sorted microsecond samples, in milliseconds.
fn percentile_ms(sorted_us: &[u64], p: f64) -> Option<f64> {
    if sorted_us.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted_us.len() as f64).ceil() as usize;
    let idx = rank.clamp(1, sorted_us.len()) - 1;
    sorted_us.get(idx).map(|&us| us as f64 / 1000.0)
}

#[derive(Serialize)]
struct QueryReport {
    name: &'static str,
    requests: u64,
    errors: u64,
    req_per_s: f64,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    /// From the sequential pass (one request at a time).
    sql_per_request: Option<f64>,
    first_error: Option<String>,
}

#[derive(Serialize)]
struct TotalReport {
    requests: u64,
    errors: u64,
    req_per_s: f64,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    /// `db_statements_total` delta over the measured phase.
    sql_statements: u64,
    sql_per_request: Option<f64>,
}

#[derive(Serialize)]
struct Report {
    scale: u32,
    concurrency: usize,
    seconds: u64,
    warmup_seconds: u64,
    measured_seconds: f64,
    seed_seconds: f64,
    server_peak_rss_mib: Option<f64>,
    queries: Vec<QueryReport>,
    total: TotalReport,
    writes: Option<writes::WriteReport>,
}

fn fmt_opt(v: Option<f64>, prec: usize) -> String {
    v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.prec$}"))
}

fn print_report(r: &Report) {
    println!();
    println!(
        "Pathway Partner API benchmark: scale {}, {} workers, {:.1} s measured ({} s warm-up)",
        r.scale, r.concurrency, r.measured_seconds, r.warmup_seconds
    );
    println!(
        "(p50/p99 over successful requests; SQL/req per query from a sequential pass, total from the measured phase)"
    );
    let rule = "-".repeat(86);
    println!("{rule}");
    println!(
        "{:<20} {:>10} {:>8} {:>10} {:>10} {:>10} {:>12}",
        "query", "requests", "errors", "req/s", "p50 ms", "p99 ms", "SQL/req"
    );
    println!("{rule}");
    for q in &r.queries {
        println!(
            "{:<20} {:>10} {:>8} {:>10.1} {:>10} {:>10} {:>12}",
            q.name,
            q.requests,
            q.errors,
            q.req_per_s,
            fmt_opt(q.p50_ms, 2),
            fmt_opt(q.p99_ms, 2),
            fmt_opt(q.sql_per_request, 2),
        );
    }
    println!("{rule}");
    let t = &r.total;
    println!(
        "{:<20} {:>10} {:>8} {:>10.1} {:>10} {:>10} {:>12}",
        "total",
        t.requests,
        t.errors,
        t.req_per_s,
        fmt_opt(t.p50_ms, 2),
        fmt_opt(t.p99_ms, 2),
        fmt_opt(t.sql_per_request, 2),
    );
    println!("{rule}");
    println!("seeding time (scale {}): {:.2} s", r.scale, r.seed_seconds);
    println!(
        "server peak RSS (VmHWM): {} MiB",
        fmt_opt(r.server_peak_rss_mib, 1)
    );
    if let Some(w) = &r.writes {
        println!("{rule}");
        println!(
            "writes: roster of {} students + {} enrolments, batches of {} (rows/s)",
            w.roster, w.roster, w.batch
        );
        println!(
            "  upsertStudents (created)             {:>10.0}",
            w.upsert_students_rows_per_s
        );
        println!(
            "  upsertCourseEnrollments (created)    {:>10.0}",
            w.upsert_enrollments_rows_per_s
        );
        println!(
            "  both again (all unchanged)           {:>10.0}",
            w.resend_rows_per_s
        );
        println!(
            "  plain INSERT … ON CONFLICT person     {:>10.0}",
            w.plain_insert_students_rows_per_s
        );
        println!(
            "  plain INSERT … ON CONFLICT enrolment  {:>10.0}",
            w.plain_insert_enrollments_rows_per_s
        );
        println!(
            "change feed: {} events in {} pages, {:.0} events/s",
            w.feed_events, w.feed_pages, w.feed_events_per_s
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_url_replaces_database() {
        assert_eq!(
            bench_db_url("postgres://postgres@127.0.0.1:5432/postgres").unwrap(),
            "postgres://postgres@127.0.0.1:5432/pathway_bench"
        );
        assert_eq!(
            bench_db_url("postgres://u:p@localhost/x?sslmode=disable").unwrap(),
            "postgres://u:p@localhost/pathway_bench?sslmode=disable"
        );
        assert_eq!(
            bench_db_url("postgres://h:1").unwrap(),
            "postgres://h:1/pathway_bench"
        );
    }

    #[test]
    fn counter_is_parsed() {
        let text = "# HELP db_statements_total x\n# TYPE db_statements_total counter\n\
                    db_statements_total 42\nother_total 7\n";
        assert_eq!(parse_counter(text, "db_statements_total"), Some(42));
        assert_eq!(parse_counter("x 1\n", "db_statements_total"), None);
    }

    #[test]
    fn percentiles() {
        let v: Vec<u64> = (1..=100).map(|x| x * 1000).collect();
        assert_eq!(percentile_ms(&v, 50.0), Some(50.0));
        assert_eq!(percentile_ms(&v, 99.0), Some(99.0));
        assert_eq!(percentile_ms(&[], 50.0), None);
    }
}
