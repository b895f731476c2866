# syntax=docker/dockerfile:1
#
# freshgate container image.
#
#   docker build -t freshgate .
#   docker run --rm -p 8443:8443 -p 9901:9901 \
#     -v "$PWD/gateway.yaml:/etc/freshgate/gateway.yaml:ro" \
#     -v "$PWD/secrets:/etc/freshgate/secrets:ro" \
#     freshgate
#
# The image holds no configuration and no keys. Mount the configuration at /etc/freshgate/gateway.yaml and
# the secrets (TLS key and certificate, Freshworks signing key, OIDC client secret) as read-only files, for
# example under /etc/freshgate/secrets/, from a Kubernetes Secret volume, Docker secrets or a bind mount.
# freshgate runs as uid/gid 10001, so key files must be readable by that user (e.g. `chown 10001` and
# `chmod 600`, or a Kubernetes `fsGroup: 10001`). Make the signing key with `freshgate keygen --out FILE`;
# never bake keys into an image. Port 8443 serves the gateway, 9901 the admin endpoints (health, metrics):
# inside a container set `admin_listen: 0.0.0.0:9901` so probes from outside the container reach it (the
# default, 127.0.0.1:9901, is only reachable from inside).

# ---- build -------------------------------------------------------------------------------------------
FROM rust:1.95-bookworm AS builder
WORKDIR /src

# Dependencies first, with placeholder sources, so that they stay cached until Cargo.toml/Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src

# Then the real sources. `touch` makes sure cargo rebuilds the crate itself rather than trusting the
# placeholder build (COPY keeps the files' original modification times).
COPY src ./src
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked \
    && install -D -m 0755 target/release/freshgate /out/freshgate

# ---- run ---------------------------------------------------------------------------------------------
FROM debian:bookworm-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 freshgate \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin freshgate \
    && mkdir -p /etc/freshgate

COPY --from=builder /out/freshgate /usr/local/bin/freshgate

USER 10001:10001
WORKDIR /etc/freshgate
EXPOSE 8443 9901
ENTRYPOINT ["freshgate"]
CMD ["serve", "-c", "/etc/freshgate/gateway.yaml"]
