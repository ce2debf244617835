//! The write half of the benchmark (issue 4): a school's roster pushed through the bulk
//! upserts, the same rows written by a plain multi-row `INSERT … ON CONFLICT` through the same
//! driver (sqlx, via sea-orm) for comparison, and a client paging the change feed.
//!
//! The roster is `--roster` students of one demo school, each with one course enrolment, sent
//! in batches of `--batch` items keyed by the school's own external keys (`EXTERNAL_ID`). The
//! same batches are then sent again: every item must come back `UNCHANGED`.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, Value as Sql};
use serde::Serialize;
use serde_json::{Value, json};

use crate::Gql;

/// The demo school whose coordinator pushes the roster.
pub const SCHOOL_ORG: &str = "org-school-020";
/// The external-key system the bench school uses.
const SYSTEM: &str = "bench-sis";
/// The school year the enrolments begin in.
const BEGIN_DATE: &str = "2025-09-01";

const UPSERT_STUDENTS: &str = "mutation($input: UpsertStudentsInput!) { upsertStudents(input: $input) { \
    createdCount updatedCount unchangedCount failedCount \
    userErrors { code message } \
    results { index outcome userErrors { code field message } } } }";

const UPSERT_ENROLLMENTS: &str = "mutation($input: UpsertCourseEnrollmentsInput!) { \
    upsertCourseEnrollments(input: $input) { \
    createdCount updatedCount unchangedCount failedCount \
    userErrors { code message } \
    results { index outcome userErrors { code field message } } } }";

const OFFERING: &str = "query($school: ID!) { courseOfferings(first: 1, \
    filter: { schoolOrg: { eq: $school }, state: { in: [RUNNING, OPEN_FOR_ENROLMENT] } }) { \
    edges { node { id sourcedId } } } }";

const CHANGES: &str = "query($after: String, $until: String) { changes(after: $after, until: $until, first: 1000) { \
    endToken hasMore events { \
      __typename \
      ... on Upserted { changeSeq node { id } } \
      ... on Deleted { changeSeq sourcedId } \
      ... on AccessRevoked { changeSeq sourcedId } } } }";

const WINDOW: &str = "{ syncWindow { oldest newest } }";

/// Figures of the write phase.
#[derive(Debug, Serialize)]
pub struct WriteReport {
    pub roster: usize,
    pub batch: usize,
    /// `upsertStudents`, first send (all created): rows per second.
    pub upsert_students_rows_per_s: f64,
    /// `upsertCourseEnrollments`, first send (all created).
    pub upsert_enrollments_rows_per_s: f64,
    /// Both upserts again with the same batches (all unchanged).
    pub resend_rows_per_s: f64,
    /// Plain `INSERT … ON CONFLICT` of the same person rows, batches of the same size.
    pub plain_insert_students_rows_per_s: f64,
    /// Plain `INSERT … ON CONFLICT` of the same enrolment rows.
    pub plain_insert_enrollments_rows_per_s: f64,
    /// Change events paged through `changes` by the programme office (first: 1000).
    pub feed_events: u64,
    pub feed_pages: u64,
    pub feed_events_per_s: f64,
}

/// Runs the write phase against the running server. `admin` and `school` are GraphQL clients
/// with a programmeAdmin's and the school coordinator's token; `db_url` is the bench database.
pub async fn run(
    admin: &Gql,
    school: &Gql,
    db_url: &str,
    roster: usize,
    batch: usize,
    feed_target: u64,
) -> Result<WriteReport> {
    if roster == 0 || batch == 0 || batch > 1000 {
        bail!("--roster must be positive and --batch 1 to 1000");
    }
    println!("==> write phase: roster of {roster} students in batches of {batch}");
    let offering = school
        .post(&json!({ "query": OFFERING, "variables": { "school": SCHOOL_ORG } }))
        .await
        .map_err(anyhow::Error::msg)?;
    let offering_id = offering
        .pointer("/data/courseOfferings/edges/0/node/id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("no running offering visible to {SCHOOL_ORG}: {offering}"))?;

    let students = upsert_all(
        school,
        UPSERT_STUDENTS,
        "upsertStudents",
        roster,
        batch,
        student_item,
    )
    .await?;
    expect_counts(&students, roster, "created")?;
    let enrollments = upsert_all(
        school,
        UPSERT_ENROLLMENTS,
        "upsertCourseEnrollments",
        roster,
        batch,
        |i| enrollment_item(i, &offering_id),
    )
    .await?;
    expect_counts(&enrollments, roster, "created")?;
    let resend_students = upsert_all(
        school,
        UPSERT_STUDENTS,
        "upsertStudents",
        roster,
        batch,
        student_item,
    )
    .await?;
    expect_counts(&resend_students, roster, "unchanged")?;
    let resend_enrollments = upsert_all(
        school,
        UPSERT_ENROLLMENTS,
        "upsertCourseEnrollments",
        roster,
        batch,
        |i| enrollment_item(i, &offering_id),
    )
    .await?;
    expect_counts(&resend_enrollments, roster, "unchanged")?;
    let resend_secs = resend_students.secs + resend_enrollments.secs;

    let db = Database::connect(db_url)
        .await
        .context("connecting to the bench database")?;
    let plain_students = plain_insert_people(&db, roster, batch).await?;
    let plain_enrollments = plain_insert_enrollments(&db, roster, batch).await?;

    let (events, pages, feed_secs) = page_feed(admin, feed_target).await?;

    let per_s = |rows: usize, secs: f64| rows as f64 / secs.max(1e-9);
    let report = WriteReport {
        roster,
        batch,
        upsert_students_rows_per_s: per_s(roster, students.secs),
        upsert_enrollments_rows_per_s: per_s(roster, enrollments.secs),
        resend_rows_per_s: per_s(2 * roster, resend_secs),
        plain_insert_students_rows_per_s: per_s(roster, plain_students),
        plain_insert_enrollments_rows_per_s: per_s(roster, plain_enrollments),
        feed_events: events,
        feed_pages: pages,
        feed_events_per_s: events as f64 / feed_secs.max(1e-9),
    };
    Ok(report)
}

/// The totals of sending every batch of one upsert.
struct Sent {
    secs: f64,
    created: u64,
    unchanged: u64,
    failed: u64,
}

fn expect_counts(sent: &Sent, roster: usize, what: &str) -> Result<()> {
    let count = if what == "created" {
        sent.created
    } else {
        sent.unchanged
    };
    if sent.failed > 0 || count != roster as u64 {
        bail!(
            "expected all {roster} items {what}, got created {} unchanged {} failed {}",
            sent.created,
            sent.unchanged,
            sent.failed
        );
    }
    Ok(())
}

/// Sends `roster` items in batches of `batch` and times the requests (not the JSON building).
async fn upsert_all(
    client: &Gql,
    query: &str,
    field: &str,
    roster: usize,
    batch: usize,
    item: impl Fn(usize) -> Value,
) -> Result<Sent> {
    let mut sent = Sent {
        secs: 0.0,
        created: 0,
        unchanged: 0,
        failed: 0,
    };
    for start in (0..roster).step_by(batch) {
        let items: Vec<Value> = (start..(start + batch).min(roster)).map(&item).collect();
        let body = json!({ "query": query, "variables": { "input": { "key": "EXTERNAL_ID", "items": items } } });
        let started = Instant::now();
        let value = client.post(&body).await.map_err(anyhow::Error::msg)?;
        sent.secs += started.elapsed().as_secs_f64();
        let payload = value
            .pointer(&format!("/data/{field}"))
            .with_context(|| format!("no data.{field} in {value}"))?;
        if let Some(errors) = payload.get("userErrors").and_then(Value::as_array)
            && !errors.is_empty()
        {
            bail!("{field} refused the batch: {errors:?}");
        }
        let count = |name: &str| payload.get(name).and_then(Value::as_u64).unwrap_or(0);
        sent.created += count("createdCount");
        sent.unchanged += count("unchangedCount");
        sent.failed += count("failedCount");
        if count("failedCount") > 0 {
            let first = payload
                .pointer("/results")
                .and_then(Value::as_array)
                .and_then(|r| {
                    r.iter()
                        .find(|x| x.get("outcome").and_then(Value::as_str) == Some("FAILED"))
                })
                .cloned();
            println!("    first failed item of {field}: {first:?}");
        }
    }
    println!(
        "    {field}: {roster} items in {:.2} s ({:.0} rows/s)",
        sent.secs,
        roster as f64 / sent.secs.max(1e-9)
    );
    Ok(sent)
}

fn strn(i: usize) -> Value {
    json!({ "system": SYSTEM, "idType": "STRN", "identifier": format!("BENCH{i:07}") })
}

fn student_item(i: usize) -> Value {
    json!({
        "externalId": strn(i),
        "givenName": format!("Given{i}"),
        "familyName": format!("Bench{}", i % 97),
        "preferredName": format!("G{i}"),
        "email": format!("bench.{i}@example.org"),
        "dateOfBirth": "2010-03-01",
        "classLevel": "S4",
        "expectedHkdseYear": 2028,
        "enabledUser": false,
    })
}

fn enrollment_item(i: usize, offering: &str) -> Value {
    json!({
        "externalId": { "system": SYSTEM, "idType": "ENROLMENT", "identifier": format!("BENCH-E{i:07}") },
        "personExternalId": strn(i),
        "offering": offering,
        "role": "STUDENT",
        "beginDate": BEGIN_DATE,
    })
}

/// One id from a query on the bench database.
async fn id_of(db: &DatabaseConnection, sql: &str) -> Result<i64> {
    let row = db
        .query_one(Statement::from_string(DbBackend::Postgres, sql.to_owned()))
        .await?
        .with_context(|| format!("no row for {sql}"))?;
    Ok(row.try_get_by_index(0)?)
}

/// Inserts rows with one multi-row `INSERT … ON CONFLICT (sourced_id) DO UPDATE` per batch,
/// with bound parameters; returns the seconds spent in the statements.
async fn plain_insert(
    db: &DatabaseConnection,
    head: &str,
    tail: &str,
    columns: usize,
    rows: usize,
    batch: usize,
    row: impl Fn(usize) -> Vec<Sql>,
) -> Result<f64> {
    let mut secs = 0.0;
    for start in (0..rows).step_by(batch) {
        let end = (start + batch).min(rows);
        let mut sql = String::from(head);
        let mut values = Vec::with_capacity((end - start) * columns);
        for (n, i) in (start..end).enumerate() {
            sql.push_str(if n == 0 { " (" } else { ", (" });
            for c in 0..columns {
                if c > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("${}", values.len() + c + 1));
            }
            sql.push(')');
            values.extend(row(i));
        }
        sql.push(' ');
        sql.push_str(tail);
        let started = Instant::now();
        db.execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await
        .context("plain INSERT … ON CONFLICT")?;
        secs += started.elapsed().as_secs_f64();
    }
    Ok(secs)
}

async fn plain_insert_people(db: &DatabaseConnection, rows: usize, batch: usize) -> Result<f64> {
    let school = id_of(
        db,
        &format!("SELECT id FROM org WHERE sourced_id = '{SCHOOL_ORG}'"),
    )
    .await?;
    let now = chrono::Utc::now();
    let born = chrono::NaiveDate::from_ymd_opt(2010, 3, 1).context("date")?;
    let secs = plain_insert(
        db,
        "INSERT INTO person (sourced_id, status, date_created, date_last_modified, version, \
         created_by, modified_by, given_name, family_name, preferred_name, email, date_of_birth, \
         enabled_user, primary_org_id, class_level, expected_hkdse_year) VALUES",
        "ON CONFLICT (sourced_id) DO UPDATE SET given_name = excluded.given_name, \
         family_name = excluded.family_name, preferred_name = excluded.preferred_name, \
         email = excluded.email, date_last_modified = excluded.date_last_modified, \
         version = person.version + 1",
        16,
        rows,
        batch,
        |i| {
            vec![
                format!("plain-person-{i}").into(),
                "active".into(),
                now.into(),
                now.into(),
                1_i32.into(),
                "bench".into(),
                "bench".into(),
                format!("Given{i}").into(),
                format!("Bench{}", i % 97).into(),
                format!("G{i}").into(),
                format!("plain.{i}@example.org").into(),
                born.into(),
                false.into(),
                school.into(),
                "S4".into(),
                2028_i32.into(),
            ]
        },
    )
    .await?;
    println!(
        "    plain INSERT … ON CONFLICT person: {rows} rows in {secs:.2} s ({:.0} rows/s)",
        rows as f64 / secs.max(1e-9)
    );
    Ok(secs)
}

async fn plain_insert_enrollments(
    db: &DatabaseConnection,
    rows: usize,
    batch: usize,
) -> Result<f64> {
    let school = id_of(
        db,
        &format!("SELECT id FROM org WHERE sourced_id = '{SCHOOL_ORG}'"),
    )
    .await?;
    let first_person = id_of(
        db,
        "SELECT min(id) FROM person WHERE sourced_id LIKE 'plain-person-%'",
    )
    .await?;
    let offering = id_of(
        db,
        &format!(
            "SELECT min(id) FROM course_offering WHERE state IN ('running', 'open_for_enrolment') \
             AND school_org_id = {school}"
        ),
    )
    .await?;
    let now = chrono::Utc::now();
    let begin = chrono::NaiveDate::from_ymd_opt(2025, 9, 1).context("date")?;
    let secs = plain_insert(
        db,
        "INSERT INTO course_enrollment (sourced_id, status, date_created, date_last_modified, \
         version, created_by, modified_by, person_id, offering_id, school_org_id, role, \
         begin_date, state) VALUES",
        "ON CONFLICT (sourced_id) DO UPDATE SET begin_date = excluded.begin_date, \
         date_last_modified = excluded.date_last_modified, \
         version = course_enrollment.version + 1",
        13,
        rows,
        batch,
        |i| {
            vec![
                format!("plain-enrollment-{i}").into(),
                "active".into(),
                now.into(),
                now.into(),
                1_i32.into(),
                "bench".into(),
                "bench".into(),
                (first_person + i as i64).into(),
                offering.into(),
                school.into(),
                "student".into(),
                begin.into(),
                "enrolled".into(),
            ]
        },
    )
    .await?;
    println!(
        "    plain INSERT … ON CONFLICT course_enrollment: {rows} rows in {secs:.2} s ({:.0} rows/s)",
        rows as f64 / secs.max(1e-9)
    );
    Ok(secs)
}

/// Pages `changes` from the oldest token until `target` events were read or the feed ends;
/// returns (events, pages, seconds).
async fn page_feed(admin: &Gql, target: u64) -> Result<(u64, u64, f64)> {
    let window = admin
        .post(&json!({ "query": WINDOW, "variables": {} }))
        .await
        .map_err(anyhow::Error::msg)?;
    let until = window
        .pointer("/data/syncWindow/newest")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("no syncWindow.newest in {window}"))?;
    println!("==> paging the change feed up to {target} events (newest token {until})");
    let (mut events, mut pages, mut secs) = (0_u64, 0_u64, 0.0);
    let mut after: Option<String> = None;
    while events < target {
        let body = json!({ "query": CHANGES, "variables": { "after": after, "until": until } });
        let started = Instant::now();
        let value = admin.post(&body).await.map_err(anyhow::Error::msg)?;
        secs += started.elapsed().as_secs_f64();
        pages += 1;
        let page = value
            .pointer("/data/changes")
            .with_context(|| format!("no data.changes in {value}"))?;
        events += page
            .get("events")
            .and_then(Value::as_array)
            .map_or(0, |e| e.len() as u64);
        after = page
            .get("endToken")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if page.get("hasMore").and_then(Value::as_bool) != Some(true) {
            break;
        }
    }
    println!(
        "    {events} events in {pages} pages, {secs:.2} s ({:.0} events/s)",
        events as f64 / secs.max(1e-9)
    );
    Ok((events, pages, secs))
}
