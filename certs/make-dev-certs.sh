#!/usr/bin/env bash
# Makes the DEVELOPMENT-ONLY certificates and keys in this directory (see README.md):
#
#   dev-ca.pem, dev-ca.key          a development CA (EC P-256), name-constrained to localhost,
#                                   *.freshgate.test and loopback addresses
#   gateway.crt, gateway.key        the gateway's TLS certificate and key (EC P-256), signed by the dev CA
#   freshworks-signing.key          RSA 2048 PKCS#8 key that signs Freshworks JWT SSO tokens in the demo/tests
#   freshworks-signing.pub.pem      its public key
#
# Existing files are kept, so running it again is safe; --force makes everything new.
# Needs bash and OpenSSL 1.1.1 or later (LibreSSL as shipped with macOS is not tested).
set -euo pipefail

usage() {
    cat <<'EOF'
usage: certs/make-dev-certs.sh [--force]

Makes development-only TLS certificates and a Freshworks signing key next to this script.
Existing files are kept; --force regenerates all of them (the dev CA changes, so re-trust it
wherever you used it, and paste the new public key into your Freshworks test account).
EOF
}

force=0
for arg in "$@"; do
    case "$arg" in
        --force) force=1 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "make-dev-certs.sh: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
    esac
done

command -v openssl >/dev/null 2>&1 || { echo "make-dev-certs.sh: openssl is not installed" >&2; exit 1; }

# Ten years: these files live in the repository and should not expire under anyone's feet.
# Override with CERT_DAYS=825 if a client insists on shorter-lived server certificates (Apple platforms do).
days="${CERT_DAYS:-3650}"

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$dir"
umask 077
work="$(mktemp -d "$dir/.make-dev-certs.XXXXXX")"
trap 'rm -rf "$work"' EXIT

cat >"$work/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no

[dn]
CN = unused

[ca_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
# Even if someone trusts this CA (whose key is public in the repository), it can only vouch for
# development names and loopback addresses (RFC 5280 section 4.2.1.10).
nameConstraints = critical, permitted;DNS:localhost, permitted;DNS:freshgate.test, permitted;IP:127.0.0.0/255.0.0.0, permitted;IP:::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff

[gateway_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, DNS:sso.freshgate.test, DNS:*.freshgate.test, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF

serial() { echo "0x$(openssl rand -hex 16)"; }

# Runs a command with its stderr (OpenSSL's key-generation progress dots) shown only if it fails.
quiet() { "$@" 2>"$work/stderr" || { cat "$work/stderr" >&2; return 1; }; }

made=()
kept=()

# --- development CA --------------------------------------------------------------------------
if [[ $force == 1 || ! -s dev-ca.pem || ! -s dev-ca.key ]]; then
    quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/dev-ca.key"
    quiet openssl req -new -x509 -config "$work/openssl.cnf" -extensions ca_ext \
        -key "$work/dev-ca.key" -subj "/O=freshgate development/CN=freshgate development CA (DO NOT TRUST)" \
        -set_serial "$(serial)" -days "$days" -sha256 -out "$work/dev-ca.pem"
    mv "$work/dev-ca.key" dev-ca.key
    mv "$work/dev-ca.pem" dev-ca.pem
    made+=("dev-ca.pem, dev-ca.key (development CA, EC P-256)")
    ca_changed=1
else
    kept+=("dev-ca.pem, dev-ca.key")
    ca_changed=0
fi

# --- gateway TLS certificate -----------------------------------------------------------------
gateway_ok=0
if [[ $force == 0 && $ca_changed == 0 && -s gateway.crt && -s gateway.key ]] &&
    openssl verify -CAfile dev-ca.pem gateway.crt >/dev/null 2>&1; then
    gateway_ok=1
fi
if [[ $gateway_ok == 1 ]]; then
    kept+=("gateway.crt, gateway.key")
else
    quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/gateway.key"
    quiet openssl req -new -config "$work/openssl.cnf" -key "$work/gateway.key" \
        -subj "/O=freshgate development/CN=sso.freshgate.test" -out "$work/gateway.csr"
    quiet openssl x509 -req -in "$work/gateway.csr" -CA dev-ca.pem -CAkey dev-ca.key \
        -set_serial "$(serial)" -days "$days" -sha256 \
        -extfile "$work/openssl.cnf" -extensions gateway_ext -out "$work/gateway.crt"
    mv "$work/gateway.key" gateway.key
    mv "$work/gateway.crt" gateway.crt
    made+=("gateway.crt, gateway.key (TLS server certificate, EC P-256, signed by the dev CA)")
fi

# --- Freshworks signing key ------------------------------------------------------------------
if [[ $force == 1 || ! -s freshworks-signing.key ]]; then
    quiet openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/freshworks-signing.key"
    mv "$work/freshworks-signing.key" freshworks-signing.key
    made+=("freshworks-signing.key (RSA 2048, PKCS#8)")
else
    kept+=("freshworks-signing.key")
fi
openssl pkey -in freshworks-signing.key -pubout -out "$work/freshworks-signing.pub.pem"
mv "$work/freshworks-signing.pub.pem" freshworks-signing.pub.pem

# Git does not keep file modes, so a fresh checkout has world-readable keys: fix that every run.
chmod 600 dev-ca.key gateway.key freshworks-signing.key
chmod 644 dev-ca.pem gateway.crt freshworks-signing.pub.pem

# --- report ----------------------------------------------------------------------------------
echo "DEVELOPMENT ONLY: these keys are public; never use them outside local development and tests."
echo "In $dir:"
for item in "${made[@]+"${made[@]}"}"; do echo "  made  $item"; done
for item in "${kept[@]+"${kept[@]}"}"; do echo "  kept  $item (use --force to regenerate)"; done
echo "  wrote freshworks-signing.pub.pem (public half of freshworks-signing.key)"
echo
echo "Gateway certificate:"
openssl x509 -in gateway.crt -noout -subject -enddate | sed 's/^/  /'
openssl x509 -in gateway.crt -noout -ext subjectAltName | sed -n '2p' | sed 's/^ */  SANs: /'
echo -n "  "
openssl verify -CAfile dev-ca.pem gateway.crt
echo
echo "Test a running gateway without trusting the CA system-wide:"
echo "  curl --cacert certs/dev-ca.pem https://localhost:8443/"
echo
echo "Public key for a Freshworks TEST account's JWT SSO form (one line):"
grep -v -- '-----' freshworks-signing.pub.pem | tr -d '\n'
echo
