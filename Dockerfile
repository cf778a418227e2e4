# Multi-stage build: compile gopy with the Rust toolchain, run it on a slim Debian as a
# non-root user. Secrets come from the environment (docker-compose env_file), never the image.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY migrations ./migrations
COPY locales ./locales
COPY examples ./examples
RUN cargo build --release --locked --bin gopy

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /var/lib/gopy --create-home gopy
COPY --from=build /src/target/release/gopy /usr/local/bin/gopy
USER gopy
WORKDIR /var/lib/gopy
ENV GOPY_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["/usr/local/bin/gopy"]
CMD ["serve"]
