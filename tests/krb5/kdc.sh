#!/usr/bin/env bash
# The test KDC: Debian's MIT krb5kdc as a process of the current user, with a throwaway realm CORP.EXAMPLE in
# DIR, the users of the test directory (tests/ldap/README.md) plus `ghost` (no directory entry), and the
# gateway's service principal exported to a keytab. Shared by the Rust tests (tests/support/kdc.rs) and the
# browser tests; tests/krb5/README.md says what is in it.
#
# With --partner-port P2, a second krb5kdc on P2 serves two more realms, PARTNER.TEST and CORP.EVIL.TEST,
# each with a one-way trust to CORP.EXAMPLE (the cross-realm key krbtgt/CORP.EXAMPLE@<realm> in both
# databases): their users get tickets for CORP.EXAMPLE's services through the trust, as users of a trusted
# domain or forest do.
#
#   tests/krb5/kdc.sh --dir DIR --port P [--partner-port P2] [--host NAME] [--exit-on-stdin-close]
#                     [--remove-dir-on-exit]
#
# Prints one JSON line on stdout once the KDCs issue tickets, then runs until SIGTERM/SIGINT (or, with
# --exit-on-stdin-close, until its standard input closes) and stops the KDCs on the way out; with
# --remove-dir-on-exit it then removes DIR, if DIR was new or empty when it started.
# Everything else goes to stderr; the KDCs' own logs are DIR/kdc.log and DIR/partner-kdc.log.
set -euo pipefail

dir="" port="" partner_port="" host="sso.freshgate.test" exit_on_stdin_close=0 remove_dir=0

die() {
  echo "tests/krb5/kdc.sh: $*" >&2
  exit 1
}

usage() {
  echo "usage: tests/krb5/kdc.sh --dir DIR --port P [--partner-port P2] [--host NAME] [--exit-on-stdin-close] [--remove-dir-on-exit]" >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="${2:-}"; shift 2 || usage ;;
    --port) port="${2:-}"; shift 2 || usage ;;
    --partner-port) partner_port="${2:-}"; shift 2 || usage ;;
    --host) host="${2:-}"; shift 2 || usage ;;
    --exit-on-stdin-close) exit_on_stdin_close=1; shift ;;
    --remove-dir-on-exit) remove_dir=1; shift ;;
    -h|--help) usage ;;
    *) echo "tests/krb5/kdc.sh: unknown argument: $1" >&2; usage ;;
  esac
done
[ -n "$dir" ] && [ -n "$port" ] || usage
case "$port" in *[!0-9]*) die "the port must be a number" ;; esac
case "$partner_port" in *[!0-9]*) die "the partner port must be a number" ;; esac
case "$host" in *[!a-z0-9.-]*|"") die "--host must be a lower-case DNS name" ;; esac

packages="apt-get install krb5-kdc krb5-admin-server krb5-user"
for tool in krb5kdc kdb5_util kadmin.local; do
  [ -x "/usr/sbin/$tool" ] || command -v "$tool" >/dev/null || die "$tool is not installed (Debian: $packages)"
done
command -v kinit >/dev/null || die "kinit is not installed (Debian: $packages)"
PATH="$PATH:/usr/sbin"

if [ "$remove_dir" = 1 ] && [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
  die "--remove-dir-on-exit needs a new or empty --dir ($dir is not empty)"
fi
mkdir -p "$dir"
chmod 700 "$dir"
dir="$(cd "$dir" && pwd)"
case "$dir" in *[\"\\\ ]*) die "the directory's path may not hold a quote, a backslash or a space" ;; esac
exec 3<&0

realm="CORP.EXAMPLE"
service="HTTP/$host@$realm"
partner_realms=""
if [ -n "$partner_port" ]; then partner_realms="PARTNER.TEST CORP.EVIL.TEST"; fi

kdc_pid=""
partner_pid=""
watcher_pid=""
stop() {
  if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$1" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$watcher_pid" ]; then kill "$watcher_pid" 2>/dev/null || true; fi
  stop "$kdc_pid"
  stop "$partner_pid"
  if [ "$remove_dir" = 1 ]; then rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# --- configuration: nothing from /etc, no DNS ------------------------------------------------------------
# krb5.conf for every client (kinit, curl, the browser, the gateway): the realm's KDC on this port, over TCP
# (udp_preference_limit 1), no DNS lookups of KDCs or realms, no reverse or forward canonicalisation of host
# names (the service principal is HTTP/<the name the client used>). The trusted realms, if any, reach
# CORP.EXAMPLE directly ([capaths]: their names share no parent to walk through).
{
  cat <<EOF
# Written by tests/krb5/kdc.sh; see tests/krb5/README.md.
[libdefaults]
  default_realm = $realm
  dns_lookup_kdc = false
  dns_lookup_realm = false
  dns_canonicalize_hostname = false
  rdns = false
  udp_preference_limit = 1
  ignore_acceptor_hostname = false
  forwardable = false

[realms]
  $realm = {
    kdc = 127.0.0.1:$port
  }
EOF
  for r in $partner_realms; do
    printf '  %s = {\n    kdc = 127.0.0.1:%s\n  }\n' "$r" "$partner_port"
  done
  cat <<EOF

[domain_realm]
  $host = $realm
  other.freshgate.test = $realm
  .freshgate.test = $realm
EOF
  if [ -n "$partner_realms" ]; then
    printf '\n[capaths]\n'
    for r in $partner_realms; do
      printf '  %s = {\n    %s = .\n  }\n' "$r" "$realm"
    done
  fi
} >"$dir/krb5.conf"

cat >"$dir/kdc.conf" <<EOF
# Written by tests/krb5/kdc.sh; see tests/krb5/README.md.
[kdcdefaults]
  kdc_listen = 127.0.0.1:$port
  kdc_tcp_listen = 127.0.0.1:$port

[realms]
  $realm = {
    database_name = $dir/principal
    key_stash_file = $dir/stash
    acl_file = $dir/kadm5.acl
    max_life = 10h
    max_renewable_life = 0
    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
  }

[logging]
  kdc = FILE:$dir/kdc.log
  admin_server = FILE:$dir/kadmin.log
  default = FILE:$dir/krb5lib.log
EOF
: >"$dir/kadm5.acl"

# The trusted realms' KDC: a profile of its own (its port, its databases); clients use the same krb5.conf.
if [ -n "$partner_port" ]; then
  {
    printf '# Written by tests/krb5/kdc.sh; see tests/krb5/README.md.\n'
    printf '[kdcdefaults]\n  kdc_listen = 127.0.0.1:%s\n  kdc_tcp_listen = 127.0.0.1:%s\n\n[realms]\n' \
      "$partner_port" "$partner_port"
    for r in $partner_realms; do
      cat <<EOF
  $r = {
    database_name = $dir/$r.principal
    key_stash_file = $dir/$r.stash
    acl_file = $dir/kadm5.acl
    max_life = 10h
    max_renewable_life = 0
    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
  }
EOF
    done
    printf '\n[logging]\n  kdc = FILE:%s/partner-kdc.log\n  default = FILE:%s/krb5lib.log\n' "$dir" "$dir"
  } >"$dir/partner-kdc.conf"
  : >"$dir/partner-kdc.log"
fi

export KRB5_CONFIG="$dir/krb5.conf" KRB5_KDC_PROFILE="$dir/kdc.conf" KRB5RCACHEDIR="$dir"
# Clients of this script never touch the user's ticket cache.
export KRB5CCNAME="FILE:$dir/probe.ccache"
log="$dir/setup.log"
: >"$log"
: >"$dir/kdc.log"

failed() {
  {
    echo "tests/krb5/kdc.sh: $*"
    echo "--- $log:"
    cat "$log"
    echo "--- $dir/kdc.log:"
    cat "$dir/kdc.log"
    if [ -f "$dir/partner-kdc.log" ]; then
      echo "--- $dir/partner-kdc.log:"
      cat "$dir/partner-kdc.log"
    fi
  } >&2
  exit 1
}

# --- the realm and its principals --------------------------------------------------------------------------
# The master key is new each run and never leaves DIR.
master="$(head -c 24 /dev/urandom | base64)"
kdb5_util create -s -r "$realm" -P "$master" >>"$log" 2>&1 || failed "kdb5_util could not create the realm"

# The users of tests/ldap/users.ldif with the same passwords, plus ghost (no directory entry). zoë's name is
# UTF-8 (MIT krb5 keeps principal names as bytes).
add_user() { kadmin.local -r "$realm" -q "addprinc -pw $2 $1" >>"$log" 2>&1 || failed "could not add $1"; }
add_user jdoe jdoe-password
add_user "zoë" "pässwörd-ß-日本"
add_user jane jane-password
add_user dis dis-password
add_user out out-password
add_user ghost ghost-password
# The gateway's service principal; its keys go to the keytab the gateway reads (mode 0600, as in production).
# A second web service's principal shares the keytab, so that a ticket for it is one the gateway can
# decrypt yet must refuse (it names another service).
other="HTTP/other.freshgate.test@$realm"
for principal in "$service" "$other"; do
  kadmin.local -r "$realm" -q "addprinc -randkey $principal" >>"$log" 2>&1 || failed "could not add $principal"
  kadmin.local -r "$realm" -q "ktadd -k $dir/http.keytab $principal" >>"$log" 2>&1 ||
    failed "could not export $principal to $dir/http.keytab"
done
chmod 600 "$dir/http.keytab"

# --- the trusted realms ------------------------------------------------------------------------------------
# Each gets a database of its own (its own master key), its users, and the cross-realm key
# krbtgt/CORP.EXAMPLE@<realm>: one random password added to its database and to CORP.EXAMPLE's, so both
# KDCs derive the same keys (same principal, so the same salt; same encryption types; kvno 1): that is
# the trust. PARTNER.TEST has jdoe (the directory's jdoe's short name), jdoe\@corp.example (an
# enterprise-style name: one component holding a UPN of the directory's) and kim (for a directory entry
# whose UPN a test sets to kim@partner.test); CORP.EVIL.TEST (its first label is the directory's NetBIOS
# name) has jdoe.
partner_admin() { KRB5_KDC_PROFILE="$dir/partner-kdc.conf" kadmin.local -r "$1" -q "$2" >>"$log" 2>&1; }
for r in $partner_realms; do
  KRB5_KDC_PROFILE="$dir/partner-kdc.conf" kdb5_util create -s -r "$r" -P "$(head -c 24 /dev/urandom | base64)" \
    >>"$log" 2>&1 || failed "kdb5_util could not create the realm $r"
  trust="$(head -c 24 /dev/urandom | base64)"
  partner_admin "$r" "addprinc -pw $trust krbtgt/$realm@$r" || failed "could not add krbtgt/$realm@$r to $r"
  kadmin.local -r "$realm" -q "addprinc -pw $trust krbtgt/$realm@$r" >>"$log" 2>&1 ||
    failed "could not add krbtgt/$realm@$r to $realm"
done
if [ -n "$partner_port" ]; then
  partner_admin PARTNER.TEST "addprinc -pw partner-jdoe-password jdoe" || failed "could not add jdoe@PARTNER.TEST"
  partner_admin PARTNER.TEST 'addprinc -pw partner-enterprise-password jdoe\@corp.example' ||
    failed 'could not add jdoe\@corp.example@PARTNER.TEST'
  partner_admin PARTNER.TEST "addprinc -pw partner-kim-password kim" || failed "could not add kim@PARTNER.TEST"
  partner_admin CORP.EVIL.TEST "addprinc -pw evil-jdoe-password jdoe" || failed "could not add jdoe@CORP.EVIL.TEST"
fi

# --- run the KDCs ------------------------------------------------------------------------------------------
krb5kdc -n -r "$realm" -P "$dir/kdc.pid" </dev/null >>"$dir/kdc.log" 2>&1 &
kdc_pid=$!
if [ -n "$partner_port" ]; then
  realm_args=()
  for r in $partner_realms; do realm_args+=(-r "$r"); done
  KRB5_KDC_PROFILE="$dir/partner-kdc.conf" krb5kdc -n "${realm_args[@]}" -P "$dir/partner-kdc.pid" \
    </dev/null >>"$dir/partner-kdc.log" 2>&1 &
  partner_pid=$!
fi

# Ready when jdoe gets a ticket from this KDC (only this run's database knows the realm's keys).
ready=0
for _ in $(seq 200); do
  kill -0 "$kdc_pid" 2>/dev/null || failed "krb5kdc exited at start (port $port in use?)"
  if printf '%s\n' jdoe-password | kinit jdoe >/dev/null 2>>"$log"; then
    ready=1
    break
  fi
  sleep 0.05
done
[ "$ready" = 1 ] || failed "krb5kdc did not issue a ticket within 10 s"
kdestroy >/dev/null 2>&1 || true

# The trusts work: jdoe of each trusted realm gets a ticket for the gateway's service principal, through
# its own KDC and then CORP.EXAMPLE's.
for r in $partner_realms; do
  password=partner-jdoe-password
  if [ "$r" = CORP.EVIL.TEST ]; then password=evil-jdoe-password; fi
  ready=0
  for _ in $(seq 200); do
    kill -0 "$partner_pid" 2>/dev/null || failed "the trusted realms' krb5kdc exited at start (port $partner_port in use?)"
    if printf '%s\n' "$password" | kinit "jdoe@$r" >/dev/null 2>>"$log"; then
      ready=1
      break
    fi
    sleep 0.05
  done
  [ "$ready" = 1 ] || failed "the KDC of $r did not issue a ticket within 10 s"
  kvno "$service" >>"$log" 2>&1 || failed "jdoe@$r got no ticket for $service through the trust"
  kdestroy >/dev/null 2>&1 || true
done

printf '{"ready":true,"realm":"%s","kdc":"127.0.0.1:%s","krb5_config":"%s","keytab":"%s","service_principal":"%s","dir":"%s","partner_kdc":"%s","partner_realms":"%s"}\n' \
  "$realm" "$port" "$dir/krb5.conf" "$dir/http.keytab" "$service" "$dir" "${partner_port:+127.0.0.1:$partner_port}" \
  "$partner_realms"

if [ "$exit_on_stdin_close" = 1 ]; then
  # A builtin loop on the script's own stdin (saved as fd 3 above): background commands get /dev/null.
  { while IFS= read -r _; do :; done; kill -TERM $$ 2>/dev/null; } <&3 &
  watcher_pid=$!
fi
status=0
if [ -n "$partner_pid" ]; then
  wait -n "$kdc_pid" "$partner_pid" || status=$?
else
  wait "$kdc_pid" || status=$?
fi
echo "tests/krb5/kdc.sh: a krb5kdc exited (status $status); see $dir/kdc.log and $dir/partner-kdc.log" >&2
exit 1
