#!/usr/bin/env bash
# The test directory: Debian's slapd (OpenLDAP) as a process of the current user, with an AD-like schema
# (tests/ldap/ad.schema), the users and groups of tests/ldap/users.ldif, and TLS from a test CA made here.
# Shared by the Rust tests (tests/support/slapd.rs), the node browser tests and the demo; tests/ldap/README.md
# says what is in it.
#
#   tests/ldap/slapd.sh --dir DIR --ldap-port P --ldaps-port Q [--exit-on-stdin-close] [--remove-dir-on-exit]
#
# Prints one JSON line on stdout when slapd answers with the data loaded, then runs until SIGTERM/SIGINT
# (or, with --exit-on-stdin-close, until its standard input closes) and stops slapd on the way out; with
# --remove-dir-on-exit it then removes DIR, if DIR was new or empty when it started.
# Everything else goes to stderr; slapd's own output is in DIR/slapd.log.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="" ldap_port="" ldaps_port="" exit_on_stdin_close=0 remove_dir=0

die() {
  echo "tests/ldap/slapd.sh: $*" >&2
  exit 1
}

usage() {
  echo "usage: tests/ldap/slapd.sh --dir DIR --ldap-port P --ldaps-port Q [--exit-on-stdin-close] [--remove-dir-on-exit]" >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="${2:-}"; shift 2 || usage ;;
    --ldap-port) ldap_port="${2:-}"; shift 2 || usage ;;
    --ldaps-port) ldaps_port="${2:-}"; shift 2 || usage ;;
    --exit-on-stdin-close) exit_on_stdin_close=1; shift ;;
    --remove-dir-on-exit) remove_dir=1; shift ;;
    -h|--help) usage ;;
    *) echo "tests/ldap/slapd.sh: unknown argument: $1" >&2; usage ;;
  esac
done
[ -n "$dir" ] && [ -n "$ldap_port" ] && [ -n "$ldaps_port" ] || usage
case "$ldap_port$ldaps_port" in *[!0-9]*) die "ports must be numbers" ;; esac

slapd_bin="${SLAPD:-$(command -v slapd || true)}"
[ -n "$slapd_bin" ] || [ ! -x /usr/sbin/slapd ] || slapd_bin=/usr/sbin/slapd
[ -n "$slapd_bin" ] && [ -x "$slapd_bin" ] ||
  die "slapd is not installed (Debian: apt-get install slapd ldap-utils)"
for tool in ldapadd ldapsearch; do
  command -v "$tool" >/dev/null || die "$tool is not installed (Debian: apt-get install slapd ldap-utils)"
done
command -v openssl >/dev/null || die "openssl is not installed (Debian: apt-get install openssl)"
modules=/usr/lib/ldap
[ -e "$modules/back_mdb.so" ] && [ -e "$modules/memberof.so" ] ||
  die "slapd's modules back_mdb and memberof are not in $modules (Debian: apt-get install slapd)"

# Only a directory this run started with (new or empty) is removed at the end.
if [ "$remove_dir" = 1 ] && [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
  die "--remove-dir-on-exit needs a new or empty --dir ($dir is not empty)"
fi
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
case "$dir" in *[\"\\]*) die "the directory's path may not hold a quote or a backslash (it goes into JSON)" ;; esac
exec 3<&0

# Stop slapd (and remove DIR, when asked) however the script ends.
slapd_pid=""
watcher_pid=""
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$watcher_pid" ]; then kill "$watcher_pid" 2>/dev/null || true; fi
  if [ -n "$slapd_pid" ] && kill -0 "$slapd_pid" 2>/dev/null; then
    kill -TERM "$slapd_pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$slapd_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$slapd_pid" 2>/dev/null || true
    wait "$slapd_pid" 2>/dev/null || true
  fi
  if [ "$remove_dir" = 1 ]; then rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 0' INT TERM
log="$dir/slapd.log"
: >"$log"

# --- TLS: a test CA and a separate server certificate signed by it -------------------------------------
# rustls (webpki) refuses a CA certificate as the server's own (CaUsedAsEndEntity), so the server has a
# leaf: CA:false, serverAuth, names for localhost, 127.0.0.1 and dc1.corp.example.
tls() {
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" -subj "/O=freshgate tests/CN=freshgate test directory CA" \
    -addext "basicConstraints=critical,CA:true" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/server.key" -out "$dir/server.csr" -subj "/O=freshgate tests/CN=dc1.corp.example"
  cat >"$dir/server.ext" <<EOF
basicConstraints=critical,CA:false
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,DNS:dc1.corp.example
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$dir/server.ext" -out "$dir/server.pem"
  chmod 600 "$dir/ca.key" "$dir/server.key"
}
tls >>"$log" 2>&1 || { cat "$log" >&2; die "openssl could not make the test certificates"; }

# --- slapd.conf ---------------------------------------------------------------------------------------
base="DC=corp,DC=example"
root_dn="CN=admin,$base"
svc_dn="CN=svc-freshgate,OU=Service,$base"
svc_password="svc-password"
# The rootdn only loads the data; its password is new each run and never leaves DIR.
root_pw="$(openssl rand -hex 16)"
rm -rf "$dir/db"
mkdir -p "$dir/db"
cat >"$dir/slapd.conf" <<EOF
# Written by tests/ldap/slapd.sh; see tests/ldap/README.md.
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include $here/ad.schema

modulepath $modules
moduleload back_mdb
moduleload memberof

pidfile $dir/slapd.pid
argsfile $dir/slapd.args

TLSCACertificateFile $dir/ca.pem
TLSCertificateFile $dir/server.pem
TLSCertificateKeyFile $dir/server.key

# RFC 4513 section 5.1.2: a simple bind with a DN and an empty password is an unauthenticated bind, and it
# SUCCEEDS (as anonymous). AD does the same; a client that takes "bind OK" for "password OK" is wrong here too.
allow bind_anon_dn

database mdb
suffix "$base"
rootdn "$root_dn"
rootpw $root_pw
directory $dir/db
maxsize 33554432

# memberOf (AD's OID 1.2.840.113556.1.2.102, operational: ask for it by name) on every entry named by a
# groupOfNames member, groups included.
overlay memberof

# Passwords: checked at bind, read by nobody.
access to attrs=userPassword
  by anonymous auth
  by * none
# The service account reads the directory; a user reads its own entry; anonymous may only bind.
access to *
  by dn.exact="$svc_dn" read
  by self read
  by anonymous auth
  by * none
EOF

# --- run slapd ------------------------------------------------------------------------------------------

"$slapd_bin" -d 0 -f "$dir/slapd.conf" -h "ldap://127.0.0.1:$ldap_port/ ldaps://127.0.0.1:$ldaps_port/" \
  </dev/null >>"$log" 2>&1 &
slapd_pid=$!

# The clients read only what is said here: no ~/.ldaprc, no /etc/ldap/ldap.conf defaults.
export LDAPCONF=/dev/null LDAPRC=/dev/null LDAPTLS_CACERT="$dir/ca.pem" LDAPTLS_REQCERT=demand
ldap="ldap://127.0.0.1:$ldap_port"
ldaps="ldaps://127.0.0.1:$ldaps_port"

failed() {
  {
    echo "tests/ldap/slapd.sh: $*"
    echo "--- $log:"
    cat "$log"
  } >&2
  exit 1
}

# Ready when a bind as the rootdn works: only this slapd knows this run's password, so another server on
# the port is told apart from ours.
whoami() { ldapwhoami -x -H "$1" -D "$root_dn" -w "$root_pw" >/dev/null 2>&1; }
answers=0
for _ in $(seq 200); do
  kill -0 "$slapd_pid" 2>/dev/null || failed "slapd exited at start (a port in use? $ldap_port, $ldaps_port)"
  rc=0
  whoami "$ldap" || rc=$?
  case "$rc" in
    0) answers=1; break ;;
    49) failed "another LDAP server answers on port $ldap_port" ;;
  esac
  sleep 0.05
done
[ "$answers" = 1 ] || failed "slapd did not answer on $ldap within 10 s"
# The TLS listener with the test CA, before anyone else depends on it.
whoami "$ldaps" || failed "slapd does not answer on $ldaps with the test CA (or port $ldaps_port is another server's)"

# ldapadd (not slapadd) so that the memberof overlay sees the member values and fills memberOf.
ldapadd -x -H "$ldap" -D "$root_dn" -w "$root_pw" -f "$here/users.ldif" >>"$log" 2>&1 ||
  failed "loading tests/ldap/users.ldif failed"

printf '{"ready":true,"ldap":"%s","ldaps":"%s","ca_file":"%s","base_dn":"%s","bind_dn":"%s","bind_password":"%s"}\n' \
  "$ldap" "$ldaps" "$dir/ca.pem" "$base" "$svc_dn" "$svc_password"

if [ "$exit_on_stdin_close" = 1 ]; then
  # A builtin loop (no child process to leave behind) on the script's own stdin, saved as fd 3 above:
  # background commands get /dev/null otherwise.
  { while IFS= read -r _; do :; done; kill -TERM $$ 2>/dev/null; } <&3 &
  watcher_pid=$!
fi
# Returns when slapd exits, or at once when a trapped signal arrives (the trap then stops slapd).
status=0
wait "$slapd_pid" || status=$?
slapd_pid=""
echo "tests/ldap/slapd.sh: slapd exited (status $status); see $log" >&2
exit 1
