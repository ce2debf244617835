#!/usr/bin/env python3
"""A school information system's sync client for the Pathway Partner API.

Standard library only (Python 3.9+), so a school IT team can run it anywhere. Two commands:

  push   Upserts a roster CSV (and optional enrolments CSV) by the school's own keys
         (EXTERNAL_ID), in batches of up to 1,000, each call with an Idempotency-Key derived
         from the batch so that a retry after a timeout can never write twice.
  pull   Follows the change feed from the last saved token into a local SQLite mirror:
         Upserted -> store the node, Deleted -> mark it deleted, AccessRevoked -> purge it.

Authentication: either API_TOKEN (a bearer token), or API_CLIENT_ID and API_CLIENT_SECRET for the
OAuth 2 client-credentials grant at /oauth/token. API_URL defaults to http://127.0.0.1:8080.

  python3 examples/sis_sync.py push examples/roster.csv --enrollments examples/enrollments.csv
  python3 examples/sis_sync.py pull --state mirror.sqlite

See docs/sync.md for the walk-through.
"""

import argparse
import csv
import hashlib
import json
import os
import sqlite3
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

API_URL = os.environ.get("API_URL", "http://127.0.0.1:8080").rstrip("/")
KEY_SYSTEM = os.environ.get("SIS_SYSTEM", "sis")
BATCH = 1000
RETRIES = 5

UPSERT_STUDENTS = """
mutation Upsert($input: UpsertStudentsInput!) {
  upsertStudents(input: $input) {
    createdCount updatedCount unchangedCount failedCount
    userErrors { field code message }
    results { index outcome student { id sourcedId version } userErrors { field code message } }
  }
}"""

UPSERT_ENROLLMENTS = """
mutation Upsert($input: UpsertCourseEnrollmentsInput!) {
  upsertCourseEnrollments(input: $input) {
    createdCount updatedCount unchangedCount failedCount
    userErrors { field code message }
    results { index outcome courseEnrollment { id sourcedId version } userErrors { field code message } }
  }
}"""

CHANGES = """
query Changes($after: String, $until: String) {
  changes(after: $after, until: $until, first: 500) {
    endToken hasMore
    events {
      __typename
      ... on Upserted { changeSeq type node { id ... on Record { sourcedId version status dateLastModified } } }
      ... on Deleted { changeSeq id sourcedId type deletedAt }
      ... on AccessRevoked { changeSeq id sourcedId type }
    }
  }
}"""

WINDOW = "{ syncWindow { oldest newest } }"


class ApiError(Exception):
    """A top-level GraphQL error (or an HTTP failure) with its code."""

    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code


def token():
    """A bearer token: API_TOKEN, or one from the client-credentials grant."""
    if os.environ.get("API_TOKEN"):
        return os.environ["API_TOKEN"]
    form = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": os.environ["API_CLIENT_ID"],
            "client_secret": os.environ["API_CLIENT_SECRET"],
        }
    ).encode()
    with urllib.request.urlopen(f"{API_URL}/oauth/token", form, timeout=30) as resp:
        return json.load(resp)["access_token"]


def graphql(bearer, query, variables, idempotency_key=None):
    """Posts one GraphQL request; returns `data` or raises ApiError with the first error's code.

    Network failures and IDEMPOTENCY_IN_PROGRESS / RATE_LIMITED / SERVICE_UNAVAILABLE are
    retried with backoff. A mutation retried with the same Idempotency-Key is answered from the
    stored first response (extensions.idempotency.replayed), so retrying is always safe.
    """
    body = json.dumps({"query": query, "variables": variables}).encode()
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/graphql-response+json, application/json",
        "Authorization": f"Bearer {bearer}",
    }
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    delay = 0.5
    for attempt in range(RETRIES + 1):
        request = urllib.request.Request(f"{API_URL}/graphql", body, headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as resp:
                payload = json.load(resp)
        except urllib.error.HTTPError as err:
            # graphql-response+json answers request-level errors with 4xx and a GraphQL body.
            try:
                payload = json.load(err)
            except ValueError:
                if attempt < RETRIES and err.code >= 500:
                    time.sleep(delay)
                    delay *= 2
                    continue
                raise ApiError("HTTP", f"{err.code} {err.reason}") from err
        except (urllib.error.URLError, TimeoutError) as err:
            if attempt < RETRIES:
                time.sleep(delay)
                delay *= 2
                continue
            raise ApiError("NETWORK", str(err)) from err
        errors = payload.get("errors") or []
        if errors:
            ext = errors[0].get("extensions", {})
            code = ext.get("code", "UNKNOWN")
            if code in ("IDEMPOTENCY_IN_PROGRESS", "RATE_LIMITED", "SERVICE_UNAVAILABLE") and attempt < RETRIES:
                time.sleep(float(ext.get("retryAfter", delay)))
                delay *= 2
                continue
            raise ApiError(code, errors[0].get("message", ""))
        if payload.get("extensions", {}).get("idempotency", {}).get("replayed"):
            print("  (replayed: the first attempt had already been applied)", file=sys.stderr)
        return payload["data"]
    raise ApiError("RETRIES", "gave up")


# One id per run: every retry of a batch within this run sends the same key (and is answered
# from the first attempt's stored response), while tomorrow's run re-sends the batch for real.
RUN_ID = uuid.uuid4().hex


def batch_key(kind, items):
    """The Idempotency-Key of a batch in this run: the same batch always gets the same key."""
    digest = hashlib.sha256(json.dumps(items, sort_keys=True).encode()).hexdigest()
    return f"{kind}-{RUN_ID}-{digest[:32]}"


def external_id(id_type, identifier):
    return {"system": KEY_SYSTEM, "idType": id_type, "identifier": identifier}


def student_items(path):
    """Roster CSV: strn,given_name,family_name,preferred_name,email,date_of_birth,class_level."""
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            item = {
                "externalId": external_id("STRN", row["strn"].strip()),
                "givenName": row["given_name"],
                "familyName": row["family_name"],
                "classLevel": row.get("class_level") or None,
            }
            for column, field in (("preferred_name", "preferredName"), ("email", "email"),
                                  ("date_of_birth", "dateOfBirth")):
                if row.get(column):
                    item[field] = row[column]
            yield item


def enrollment_items(path):
    """Enrolments CSV: enrolment_id,strn,offering,role,begin_date (offering = its sourcedId)."""
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            yield {
                "externalId": external_id("ENROLMENT", row["enrolment_id"].strip()),
                "personExternalId": external_id("STRN", row["strn"].strip()),
                "offering": row["offering"],
                "role": (row.get("role") or "student").upper(),
                "beginDate": row["begin_date"],
            }


def push(bearer, kind, query, field, items):
    """Sends items in batches; prints each batch's outcome counts and every failed item."""
    items = list(items)
    failed = 0
    for start in range(0, len(items), BATCH):
        chunk = items[start:start + BATCH]
        variables = {"input": {"key": "EXTERNAL_ID", "items": chunk}}
        data = graphql(bearer, query, variables, batch_key(kind, chunk))[field]
        for error in data["userErrors"]:
            raise ApiError(error["code"], error["message"])
        print(f"{field} items {start}..{start + len(chunk) - 1}: created {data['createdCount']}, "
              f"updated {data['updatedCount']}, unchanged {data['unchangedCount']}, "
              f"failed {data['failedCount']}")
        for result in data["results"]:
            if result["outcome"] == "FAILED":
                failed += 1
                for error in result["userErrors"]:
                    print(f"  item {start + result['index']}: {error['code']} "
                          f"{'.'.join(error['field'] or [])}: {error['message']}")
    return failed


def open_mirror(path):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE IF NOT EXISTS mirror (type TEXT, sourced_id TEXT, version INTEGER, "
               "status TEXT, body TEXT, PRIMARY KEY (type, sourced_id))")
    db.execute("CREATE TABLE IF NOT EXISTS sync_state (id INTEGER PRIMARY KEY CHECK (id = 1), token TEXT)")
    return db


def pull(bearer, db):
    """Applies every change after the saved token, page by page, saving the token with each
    page in the same local transaction (so a crash never skips or double-applies a page)."""
    row = db.execute("SELECT token FROM sync_state WHERE id = 1").fetchone()
    after = row[0] if row else None
    until = graphql(bearer, WINDOW, {})["syncWindow"]["newest"]
    applied = 0
    while True:
        page = graphql(bearer, CHANGES, {"after": after, "until": until})["changes"]
        with db:
            for event in page["events"]:
                kind = event["__typename"]
                if kind == "Upserted":
                    node = event["node"]
                    db.execute("INSERT OR REPLACE INTO mirror VALUES (?, ?, ?, ?, ?)",
                               (event["type"], node["sourcedId"], node["version"], node["status"],
                                json.dumps(node)))
                elif kind == "Deleted":
                    db.execute("UPDATE mirror SET status = 'TOBEDELETED' WHERE type = ? AND sourced_id = ?",
                               (event["type"], event["sourcedId"]))
                else:  # AccessRevoked: we may no longer hold this record at all.
                    db.execute("DELETE FROM mirror WHERE type = ? AND sourced_id = ?",
                               (event["type"], event["sourcedId"]))
                applied += 1
            after = page["endToken"]
            db.execute("INSERT OR REPLACE INTO sync_state VALUES (1, ?)", (after,))
        if not page["hasMore"]:
            break
    print(f"applied {applied} changes; mirror is at token {after}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("push", help="upsert a roster (and enrolments) by the school's own keys")
    p.add_argument("roster")
    p.add_argument("--enrollments")
    q = sub.add_parser("pull", help="follow the change feed into a local SQLite mirror")
    q.add_argument("--state", default="mirror.sqlite")
    args = parser.parse_args()
    bearer = token()
    try:
        if args.command == "push":
            failed = push(bearer, "students", UPSERT_STUDENTS, "upsertStudents", student_items(args.roster))
            if args.enrollments:
                failed += push(bearer, "enrollments", UPSERT_ENROLLMENTS, "upsertCourseEnrollments",
                               enrollment_items(args.enrollments))
            return 1 if failed else 0
        pull(bearer, open_mirror(args.state))
        return 0
    except ApiError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
