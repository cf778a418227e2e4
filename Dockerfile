# gopy's production image, in two stages: the Rust toolchain compiles gopy, and a slim Debian
# runs it as a non-root user. Nothing secret is copied or baked in: tokens, passwords and keys
# come from the environment at run time (docker compose's env_file), and .dockerignore keeps
# .env, databases and target/ out of the build context.
#
#   docker build -t gopy .              # DOCKER_BUILDKIT=1 first on Docker 20.10 (RUN --mount)
#   docker run --env-file .env -e DATABASE_URL=postgres://… -p 127.0.0.1:8080:8080 gopy
#
# (docker compose builds DATABASE_URL from POSTGRES_PASSWORD; .env alone does not hold one,
# and without it gopy would keep a SQLite file inside the container.)

FROM rust:1.95-bookworm AS build
WORKDIR /src
# Everything the build embeds: sources, migrations, locales, templates, the built-in
# moderation word lists and the demo campaign. The benches are declared in Cargo.toml, so
# they must be present for cargo to read the manifest (they are not built).
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY benches ./benches
COPY migrations ./migrations
COPY locales ./locales
COPY templates ./templates
COPY data/moderation ./data/moderation
COPY examples ./examples
# The registry and target/ are cache mounts: a rebuild after a source change recompiles gopy,
# not its dependencies. The binary is copied out of the cache mount.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin gopy \
 && install -m 0755 target/release/gopy /usr/local/bin/gopy

FROM debian:bookworm-slim AS runtime
# ca-certificates for HTTPS to Telegram and Zalo; curl for the health check.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 gopy \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/gopy --create-home gopy \
 && mkdir -p /var/lib/gopy/media \
 && chown -R gopy:gopy /var/lib/gopy
COPY --from=build /usr/local/bin/gopy /usr/local/bin/gopy
USER 10001:10001
WORKDIR /var/lib/gopy
ENV GOPY_HTTP_ADDR=0.0.0.0:8080 \
    GOPY_MEDIA_DIR=/var/lib/gopy/media \
    GOPY_DEMO=off \
    RUST_LOG=info
EXPOSE 8080
# /readyz answers 200 only while the database answers: a replica cut off from Postgres is
# taken out of the load balancer (and restarted by the orchestrator if it stays so).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
# SIGTERM (docker stop) makes gopy finish the batch in hand and exit.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/gopy"]
CMD ["serve"]
