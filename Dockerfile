# syntax=docker/dockerfile:1
#
# freshgate container image: the binary on Debian slim with CA certificates and MIT Kerberos' GSS-API library
# (the silent Windows login, `directory.kerberos`), run as uid/gid 10001, no shell work at start-up.
# README.md ("Container image") has the same steps.
#
#   docker build -t freshgate .
#
#   # The secrets, one file each (never in the image): the TLS certificate and key (here the development
#   # ones), the signing key Freshworks trusts, the provider's client secret and the cookie key.
#   mkdir -p secrets && cp certs/gateway.crt certs/gateway.key secrets/
#   docker run --rm --user "$(id -u):$(id -g)" -v "$PWD/secrets:/out" freshgate keygen --out /out/freshworks-signing.key
#   printf '%s' 'the client secret from the provider' > secrets/client-secret
#   head -c 32 /dev/urandom | base64 > secrets/cookie-key
#   chmod 600 secrets/*
#
#   docker run --rm --user "$(id -u):$(id -g)" -p 8443:8443 -p 127.0.0.1:9901:9901 \
#     -v "$PWD/examples/container.yaml:/etc/freshgate/gateway.yaml:ro" \
#     -v "$PWD/secrets:/etc/freshgate/secrets:ro" \
#     freshgate
#
# examples/container.yaml reads every file from /etc/freshgate/secrets/ and listens for the admin endpoints on
# 0.0.0.0:9901 so that health checks reach them from outside the container. `--user` runs the gateway as the
# owner of the secret files (mode 0600); without it the image's user 10001 must be able to read them
# (`chown 10001`, or `fsGroup: 10001` in Kubernetes: deploy/kubernetes/). `docker run … freshgate check -c /etc/freshgate/gateway.yaml`
# validates the mounted configuration and contacts the provider.
#
# The running container, without a shell: `docker exec <container> freshgate reload` reloads the configuration
# and says whether it applied (as does `docker kill -s HUP <container>`, or just changing a mounted file);
# `docker exec <container> freshgate health -c /etc/freshgate/gateway.yaml` is what the HEALTHCHECK runs.

# ---- build -------------------------------------------------------------------------------------------
FROM rust:1.95-bookworm AS builder
WORKDIR /src

# The `kerberos` feature binds MIT krb5's GSS-API (libgssapi, bindgen): headers, libclang and pkg-config.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libkrb5-dev libclang-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, with placeholder sources, so that they stay cached until Cargo.toml/Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked --features kerberos \
    && rm -rf src

# Then the real sources. `touch` makes sure cargo rebuilds the crate itself rather than trusting the
# placeholder build (COPY keeps the files' original modification times).
COPY src ./src
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --features kerberos \
    && install -D -m 0755 target/release/freshgate /out/freshgate

# ---- run ---------------------------------------------------------------------------------------------
FROM debian:bookworm-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libgssapi-krb5-2 \
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
# Healthy while /readyz answers 200 on the admin listener of the same configuration (a wildcard address is
# asked on loopback, inside the container): `freshgate health` needs no shell or curl in the image, waits at
# most 3 s, and prints why when the gateway is not ready (`docker inspect` shows it). The start period covers
# a provider that comes up after the gateway.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["freshgate", "health", "-c", "/etc/freshgate/gateway.yaml", "--timeout", "3s"]
