# WhatsDeX: one static-ish Rust binary on Debian slim.
#
#   docker build -t whatsdex .
#   docker run -p 8080:8080 -v whatsdex-data:/app/data whatsdex
#
# With no configuration the container stores everything in SQLite under /app/data (mount a
# volume there to keep it). Production sets DATABASE_URL, MIGRATION_DATABASE_URL, REDIS_URL and
# ENCRYPTION_KEY and runs `whatsdex migrate` before `whatsdex serve` (see render.yaml and
# railway.json).
#
# No BuildKit cache mounts (`RUN --mount=type=cache`): Railway only accepts them with an id that
# embeds the service id, so they would break the Railway build. Dependencies are cached in a
# layer of their own instead (stage "build", step 1).

ARG RUST_VERSION=1.95

# ---------------------------------------------------------------------------------------------
FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /build

# Step 1: dependencies only. This layer is rebuilt only when Cargo.toml or Cargo.lock change.
# The build needs no system -dev package: libpq (pq-sys "bundled"), OpenSSL (openssl-sys
# "vendored") and SQLite (libsqlite3-sys "bundled") are compiled from source with the perl, make
# and C compiler that this image already has.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && cargo build --release --locked \
 && rm -rf src

# Step 2: the application. askama reads templates/, diesel_migrations reads migrations/ and
# rust-embed reads static/ at compile time, so all of them belong to the build context.
COPY src ./src
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
# COPY keeps the files' own (older) modification times, which would let cargo take the dummy
# crate of step 1 for up to date and ship it: touch the sources so the real crate is compiled.
RUN find src -name '*.rs' -exec touch {} + \
 && cargo build --release --locked --bin whatsdex \
 && strip target/release/whatsdex \
 && ./target/release/whatsdex --version

# ---------------------------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

# ca-certificates for TLS to Stripe, Meta and managed databases; curl for HEALTHCHECK only.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 whatsdex \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin whatsdex \
 && mkdir -p /app/data \
 && chown -R 10001:10001 /app

COPY --from=build /build/target/release/whatsdex /usr/local/bin/whatsdex

WORKDIR /app
# The vendored OpenSSL looks for CA certificates under its own build prefix, not Debian's:
# point it at the system bundle.
ENV PORT=8080 \
    HOST=0.0.0.0 \
    DATA_DIR=/app/data \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    SSL_CERT_DIR=/etc/ssl/certs

# /app/data is where the embedded SQLite database and the generated key live: mount a volume
# there (docker run -v NAME:/app/data, or a Railway/Render volume mounted at /app/data). There is
# deliberately no VOLUME instruction: Railway refuses to build a Dockerfile that has one.
USER 10001:10001
EXPOSE 8080

# Liveness only (no database I/O). ${PORT} is expanded by the shell when the check runs, so a
# platform that changes PORT is still probed on the right port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD curl -fsS -o /dev/null "http://127.0.0.1:${PORT}/health" || exit 1

CMD ["whatsdex", "serve"]
