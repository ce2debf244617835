# Developer and CI entry points. CI itself runs `bash .ci/run`, which calls cargo directly
# (the same commands as `make check`), so that it works where make is missing.

PG_URL ?= postgres://postgres@127.0.0.1:5432/test
BENCH_ARGS ?=

.PHONY: fmt fmt-check lint test test-pg schema schema-check audit bench run check deny

fmt:
	cargo fmt --all

fmt-check:
	cargo fmt --all --check

lint:
	cargo clippy --workspace --all-targets -- -D warnings

# SQLite suite (the README's test command).
test:
	cargo test --workspace

# PostgreSQL suite: needs a server at $(PG_URL), e.g. `make test-pg PG_URL=postgres://...`.
test-pg:
	TEST_DATABASE_URL='$(PG_URL)' cargo test -p integration-tests

# Written through a temporary file so that a failed build does not truncate schema.graphql.
schema:
	cargo run -q -p api --bin export_schema > schema.graphql.tmp || { rm -f schema.graphql.tmp; exit 1; }
	mv schema.graphql.tmp schema.graphql

schema-check:
	@tmp=$$(mktemp) && trap 'rm -f "$$tmp"' EXIT && \
	cargo run -q -p api --bin export_schema > "$$tmp" && \
	if diff -u schema.graphql "$$tmp"; then \
		echo "schema.graphql is up to date"; \
	else \
		echo "schema.graphql is stale: run make schema" >&2; exit 1; \
	fi

# The graphql-http audit suite (npm) against a fresh server: no MUST failure allowed.
audit:
	bash scripts/graphql-http-audit.sh

# The bench binary builds the release server, starts it against PostgreSQL and prints figures.
bench:
	cargo run --release -p bench -- $(BENCH_ARGS)

run:
	cargo run -p api

# Not part of `check`: needs cargo-deny and deny.toml (advisories need RustSec, which CI cannot reach).
deny:
	cargo deny check bans licenses sources

check: fmt-check lint test test-pg schema-check audit
