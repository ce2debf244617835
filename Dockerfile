# Release image of the `api` binary. Used by docker-compose.yml on laptops; CI has no Docker engine.

FROM rust:1-bookworm AS builder
WORKDIR /app
COPY . .
RUN cargo build --release -p api --bin api

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /app --no-create-home --shell /usr/sbin/nologin app \
    && mkdir -p /app/data \
    && chown -R app:app /app
COPY --from=builder /app/target/release/api /usr/local/bin/api
# The default SQLite database (and a generated JWT secret) live under ./data, so /app must be writable.
WORKDIR /app
USER app
ENV APP_SERVER__HOST=0.0.0.0 \
    APP_SERVER__PORT=8080
EXPOSE 8080
CMD ["api", "serve"]
