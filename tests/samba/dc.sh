#!/usr/bin/env bash
# The test Active Directory: Debian's Samba 4 AD DC as a process of the current user, provisioned in a temporary
# directory with a throwaway domain CORP.EXAMPLE, on 127.0.0.1 only, with its own test CA and a leaf
# certificate with subjectAltNames for LDAPS, the users and groups of tests/samba/README.md (made with
# samba-tool) and a keytab for the gateway's HTTP service principal. Shared by the Rust tests
# (tests/support/samba.rs); tests/samba/README.md says what is in it.
#
#   tests/samba/dc.sh --dir DIR [--template TEMPLATE] [--host NAME] [--lock FILE] [--lock-wait SECONDS]
#                     [--exit-on-stdin-close] [--remove-dir-on-exit]
#
# A domain controller listens on fixed ports (88, 389, 464, 636, 3268, 3269): one per machine at a time. The
# script takes an exclusive lock (flock on --lock, /tmp/freshgate-samba-dc.lock by default) for the DC's
# whole life, so a second run waits for the first (up to --lock-wait seconds, 1800 by default) instead of
# colliding with it.
#
# Provisioning takes most of the time (about 15 s with the users); with --template it is done once into
# TEMPLATE (rebuilt when this script or the host name changes) and each run copies it (about 1 s).
#
# Prints one JSON line on stdout once the DC answers LDAPS and Kerberos, then runs until SIGTERM/SIGINT (or,
# with --exit-on-stdin-close, until its standard input closes) and stops Samba on the way out; with
# --remove-dir-on-exit it then removes DIR, if DIR was new or empty when it started. Samba itself exits when
# this script does, whatever ends it (its standard input is a pipe this script holds). Everything else goes
# to stderr; Samba's log (with one JSON line per authentication) is DIR/samba.log.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="" template="" host="sso.freshgate.test" lock="/tmp/freshgate-samba-dc.lock" lock_wait=1800
exit_on_stdin_close=0 remove_dir=0

die() {
  echo "tests/samba/dc.sh: $*" >&2
  exit 1
}

usage() {
  echo "usage: tests/samba/dc.sh --dir DIR [--template TEMPLATE] [--host NAME] [--lock FILE] [--lock-wait SECONDS]" >&2
  echo "                         [--exit-on-stdin-close] [--remove-dir-on-exit]" >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="${2:-}"; shift 2 || usage ;;
    --template) template="${2:-}"; shift 2 || usage ;;
    --host) host="${2:-}"; shift 2 || usage ;;
    --lock) lock="${2:-}"; shift 2 || usage ;;
    --lock-wait) lock_wait="${2:-}"; shift 2 || usage ;;
    --exit-on-stdin-close) exit_on_stdin_close=1; shift ;;
    --remove-dir-on-exit) remove_dir=1; shift ;;
    -h|--help) usage ;;
    *) echo "tests/samba/dc.sh: unknown argument: $1" >&2; usage ;;
  esac
done
[ -n "$dir" ] && [ -n "$lock" ] || usage
case "$host" in *[!a-z0-9.-]*|"") die "--host must be a lower-case DNS name" ;; esac
case "$lock_wait" in ""|*[!0-9]*) die "--lock-wait must be a number of seconds" ;; esac

packages="apt-get install samba samba-ad-dc samba-ad-provision winbind krb5-user ldap-utils"
PATH="$PATH:/usr/sbin:/sbin"
for tool in samba samba-tool; do
  command -v "$tool" >/dev/null || die "$tool is not installed (Debian: $packages)"
done
[ -d /usr/share/samba/setup ] || die "Samba's provisioning data (/usr/share/samba/setup) is missing (Debian: $packages)"
for tool in ldapsearch openssl flock; do
  command -v "$tool" >/dev/null || die "$tool is not installed (Debian: $packages openssl util-linux)"
done

# Fixed ports below 1024 (Kerberos 88, LDAP 389, kpasswd 464, LDAPS 636): only root binds them, unless the
# kernel lets everyone (net.ipv4.ip_unprivileged_port_start).
ports=(88 389 464 636 3268 3269)
if [ "$(id -u)" != 0 ]; then
  start="$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start 2>/dev/null || echo 1024)"
  if [ "$start" -gt 88 ]; then
    die "Samba's AD DC listens on the fixed ports ${ports[*]} of 127.0.0.1, and this user ($(id -un)) may not \
bind ports below $start (net.ipv4.ip_unprivileged_port_start = $start). Run the tests as root, or allow \
unprivileged ports from 88 on: sudo sysctl -w net.ipv4.ip_unprivileged_port_start=88"
  fi
fi

if [ "$remove_dir" = 1 ] && [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
  die "--remove-dir-on-exit needs a new or empty --dir ($dir is not empty)"
fi
mkdir -p "$dir"
chmod 700 "$dir"
dir="$(cd "$dir" && pwd)"
case "$dir" in *[\"\\\ ]*) die "the directory's path may not hold a quote, a backslash or a space" ;; esac
exec 3<&0

samba_pid=""
watcher_pid=""
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$watcher_pid" ]; then kill "$watcher_pid" 2>/dev/null || true; fi
  if [ -n "$samba_pid" ] && kill -0 "$samba_pid" 2>/dev/null; then
    kill -TERM "$samba_pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$samba_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$samba_pid" 2>/dev/null || true
    wait "$samba_pid" 2>/dev/null || true
  fi
  if [ "$remove_dir" = 1 ]; then rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# --- one DC per machine at a time ------------------------------------------------------------------------
# The lock is held on fd 9, which Samba inherits: it is released when both this script and Samba are gone.
exec 9>>"$lock"
if ! flock -n 9; then
  echo "tests/samba/dc.sh: another Samba test DC runs on this machine (lock $lock); waiting up to $lock_wait s" >&2
  flock -w "$lock_wait" 9 ||
    die "another Samba test DC still holds $lock after $lock_wait s; its ports are taken until it stops"
fi
# Whatever else listens there (a system Samba, a DC started by hand) is named, not fought with.
for port in "${ports[@]}"; do
  if (exec 5<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    who=""
    if command -v ss >/dev/null; then who="$(ss -Hltnp "sport = :$port" 2>/dev/null | head -1 | tr -s " " || true)"; fi
    die "port $port of 127.0.0.1 is already in use${who:+ ($who)}; a Samba AD DC needs ${ports[*]}. \
Stop whatever listens there (e.g. the system's samba-ad-dc service) and run the tests again"
  fi
done

realm="CORP.EXAMPLE"
domain="CORP"
base="DC=corp,DC=example"
service="HTTP/$host@$realm"

# --- the template: provisioned domain, users, groups, TLS, keytab ------------------------------------------
# Passwords are those of the test directory (tests/ldap/README.md), so the complexity rules are turned off.
build_template() {
  local t="$1" log="$1/build.log"
  rm -rf "$t"
  mkdir -p "$t"
  chmod 700 "$t"
  : >"$log"
  local admin_pass
  admin_pass="Adm1n-$(openssl rand -hex 12)"
  printf '%s\n' "$admin_pass" >"$t/admin-password"
  chmod 600 "$t/admin-password"
  samba-tool domain provision --targetdir="$t" --realm="$realm" --domain="$domain" --server-role=dc \
    --dns-backend=NONE --adminpass="$admin_pass" --host-name=dc1 \
    --option="interfaces=127.0.0.1" --option="bind interfaces only=yes" >>"$log" 2>&1 ||
    return 1
  local conf="--configfile=$t/etc/smb.conf"
  st() { samba-tool "$@" "$conf" >>"$log" 2>&1; }
  st domain passwordsettings set --complexity=off --min-pwd-length=0 --history-length=0 --min-pwd-age=0 \
    --max-pwd-age=0 --account-lockout-threshold=5 --account-lockout-duration=2 --reset-account-lockout-after=2 ||
    return 1
  for ou in "OU=Staff" "OU=Contractors,OU=Staff" "OU=Groups" "OU=Service"; do
    st ou create "$ou" || return 1
  done
  # Service accounts: the gateway's (binds and searches; may read password settings objects), one that
  # may not read them, and the one holding the HTTP service principal (its key is in the keytab).
  st user create svc-freshgate svc-password --userou=OU=Service --use-username-as-cn || return 1
  st user create svc-nopso svc-nopso-password --userou=OU=Service --use-username-as-cn || return 1
  st user create http-freshgate http-password --userou=OU=Service --use-username-as-cn || return 1
  for account in svc-freshgate svc-nopso http-freshgate; do
    st user setexpiry "$account" --noexpiry || return 1
  done
  user() { st user create "$@" --userou=OU=Staff; }
  user jdoe jdoe-password --given-name=John --surname=Doe --mail-address=jdoe@corp.example \
    --telephone-number="+1 555 0100" || return 1
  user "zoë" "pässwörd-ß-日本" --given-name="Zoë" --surname="Ünal" --mail-address=zoe@corp.example || return 1
  user jane jane-password --given-name=Jane --surname=Doe --mail-address=jane@corp.example || return 1
  st user rename jane --force-new-cn="Doe\\, Jane" || return 1
  st user create kim kim-password --userou="OU=Contractors,OU=Staff" --given-name=Kim --surname=Lee \
    --mail-address=kim@corp.example || return 1
  user dis dis-password --given-name=Dee --surname=Abled --mail-address=dis@corp.example || return 1
  st user disable dis || return 1
  user nomail nomail-password --given-name=No --surname=Mail || return 1
  user out out-password --given-name=Otto --surname=Side --mail-address=out@corp.example || return 1
  user chg chg-password --given-name=Chris --surname=Change --mail-address=chg@corp.example \
    --must-change-at-next-login || return 1
  user exp exp-password --given-name=Ex --surname=Pired --mail-address=exp@corp.example || return 1
  st user setexpiry exp --days=0 || return 1
  group() { st group add "$1" --groupou=OU=Groups; }
  for g in "Freshservice Agents" "Tier 2" "Loop A" "Loop B"; do group "$g" || return 1; done
  st group addmembers "Freshservice Agents" "jdoe,zoë,kim,dis,nomail,chg,exp,Tier 2" || return 1
  st group addmembers "Tier 2" jane || return 1
  st group addmembers "Loop A" "jdoe,Loop B" || return 1
  st group addmembers "Loop B" "Loop A" || return 1
  # The read right docs/directory.md asks for: read property on the password settings objects, inherited
  # from their container (schemaIDGUID of msDS-PasswordSettings).
  local sid
  sid="$(samba-tool user show svc-freshgate --attributes=objectSid "$conf" 2>>"$log" | awk '/^objectSid:/ { print $2 }')"
  [ -n "$sid" ] || return 1
  st dsacl set --objectdn="CN=Password Settings Container,CN=System,$base" \
    --sddl="(OA;CIIO;RP;;3bcd9db8-f84b-451c-952f-6c52b81f9ec6;$sid)" || return 1
  # The gateway's HTTP service principal, with AES keys (msDS-SupportedEncryptionTypes 24, as the docs say).
  st spn add "HTTP/$host" http-freshgate || return 1
  # `samba-tool user edit` runs an editor on the entry's LDIF: this one adds the attribute to the record.
  cat >"$t/add-enctypes" <<'EOF'
#!/bin/sh
{ sed '/^$/,$d' "$1"; echo "msDS-SupportedEncryptionTypes: 24"; } >"$1.new" && mv "$1.new" "$1"
EOF
  chmod 700 "$t/add-enctypes"
  st user edit http-freshgate --editor="$t/add-enctypes" || return 1
  rm -f "$t/add-enctypes"
  st domain exportkeytab "$t/http.keytab" --principal="$service" || return 1
  chmod 600 "$t/http.keytab"
  tls "$t/tls" >>"$log" 2>&1 || return 1
}

# A test CA and a leaf certificate signed by it: CA:false, serverAuth, names dc1.corp.example and 127.0.0.1
# (not localhost: connecting by that name is a certificate name mismatch, on purpose).
tls() {
  local d="$1"
  mkdir -p "$d"
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -keyout "$d/ca.key" -out "$d/ca.pem" -subj "/O=freshgate tests/CN=freshgate test Samba CA" \
    -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$d/server.key" -out "$d/server.csr" -subj "/O=freshgate tests/CN=dc1.corp.example"
  cat >"$d/server.ext" <<EOF
basicConstraints=critical,CA:false
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:dc1.corp.example,IP:127.0.0.1
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$d/server.ext" -out "$d/server.pem"
  chmod 600 "$d/ca.key" "$d/server.key"
}

stamp="$( { cat "${BASH_SOURCE[0]}"; echo "$host"; samba --version; } | sha256sum | cut -c1-16)"
if [ -n "$template" ]; then
  mkdir -p "$(dirname "$template")"
  template="$(cd "$(dirname "$template")" && pwd)/$(basename "$template")"
  if [ "$(cat "$template/stamp" 2>/dev/null || true)" != "$stamp" ]; then
    echo "tests/samba/dc.sh: provisioning the template domain in $template (once)" >&2
    build_template "$template.new" || {
      cat "$template.new/build.log" >&2
      die "provisioning the template domain failed (log above)"
    }
    echo "$stamp" >"$template.new/stamp"
    rm -rf "$template"
    mv "$template.new" "$template"
  fi
  cp -a "$template/." "$dir/"
else
  build_template "$dir" || {
    cat "$dir/build.log" >&2
    die "provisioning the domain failed (log above)"
  }
fi

# --- this DC's configuration: only what the tests need -----------------------------------------------------
# LDAP and the KDC (with kpasswd), nothing that needs more than the loopback interface.
admin_password="$(cat "$dir/admin-password")"
cat >"$dir/etc/smb.conf" <<EOF
# Written by tests/samba/dc.sh; see tests/samba/README.md.
[global]
	netbios name = DC1
	realm = $realm
	workgroup = $domain
	server role = active directory domain controller
	server services = ldap, kdc
	interfaces = 127.0.0.1
	bind interfaces only = yes
	private dir = $dir/private
	lock directory = $dir
	state directory = $dir/state
	cache directory = $dir/cache
	binddns dir = $dir/bind-dns
	pid directory = $dir
	log file = $dir/samba.log
	log level = 1 auth_json_audit:3
	tls enabled = yes
	tls keyfile = $dir/tls/server.key
	tls certfile = $dir/tls/server.pem
	tls cafile = $dir/tls/ca.pem
EOF

# krb5.conf for every client (kinit, curl, the gateway): this KDC over TCP, no DNS.
cat >"$dir/krb5.conf" <<EOF
# Written by tests/samba/dc.sh; see tests/samba/README.md.
[libdefaults]
  default_realm = $realm
  dns_lookup_kdc = false
  dns_lookup_realm = false
  dns_canonicalize_hostname = false
  rdns = false
  udp_preference_limit = 1
  forwardable = false

[realms]
  $realm = {
    kdc = 127.0.0.1:88
    kpasswd_server = 127.0.0.1:464
  }

[domain_realm]
  $host = $realm
  .corp.example = $realm
EOF

# --- run Samba ---------------------------------------------------------------------------------------------
# In the foreground, one process; its standard input is a pipe this script holds open, so Samba (which ends
# at EOF on stdin when interactive) never outlives the script.
mkfifo "$dir/samba.stdin"
exec 4<>"$dir/samba.stdin"
samba -s "$dir/etc/smb.conf" -i -M single --no-process-group --debug-stdout <"$dir/samba.stdin" 4>&- \
  >"$dir/samba.log" 2>&1 &
samba_pid=$!

export LDAPCONF=/dev/null LDAPRC=/dev/null LDAPTLS_CACERT="$dir/tls/ca.pem" LDAPTLS_REQCERT=demand
failed() {
  {
    echo "tests/samba/dc.sh: $*"
    echo "--- $dir/samba.log:"
    tail -50 "$dir/samba.log"
  } >&2
  exit 1
}

# Ready when the administrator binds and reads over LDAPS with the test CA (only this DC knows this run's
# password; Samba has no WhoAmI operation) and the KDC's port answers.
ready=0
for _ in $(seq 600); do
  kill -0 "$samba_pid" 2>/dev/null || failed "samba exited at start"
  if ldapsearch -x -H ldaps://127.0.0.1 -D "Administrator@corp.example" -w "$admin_password" -b "" -s base \
    1.1 >/dev/null 2>&1 &&
    (exec 5<>/dev/tcp/127.0.0.1/88) 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.1
done
[ "$ready" = 1 ] || failed "samba did not answer LDAPS and Kerberos within 60 s"

printf '{"ready":true,"ldap":"ldap://127.0.0.1:389","ldaps":"ldaps://127.0.0.1:636","ca_file":"%s","base_dn":"%s",' \
  "$dir/tls/ca.pem" "$base"
printf '"bind_dn":"%s","bind_password":"svc-password","admin_dn":"%s","admin_password":"%s",' \
  "CN=svc-freshgate,OU=Service,$base" "CN=Administrator,CN=Users,$base" "$admin_password"
printf '"realm":"%s","kdc":"127.0.0.1:88","krb5_config":"%s","keytab":"%s","service_principal":"%s",' \
  "$realm" "$dir/krb5.conf" "$dir/http.keytab" "$service"
printf '"smb_conf":"%s","log":"%s","dir":"%s"}\n' "$dir/etc/smb.conf" "$dir/samba.log" "$dir"

if [ "$exit_on_stdin_close" = 1 ]; then
  # A builtin loop on the script's own stdin (saved as fd 3 above): background commands get /dev/null.
  { while IFS= read -r _; do :; done; kill -TERM $$ 2>/dev/null; } <&3 &
  watcher_pid=$!
fi
status=0
wait "$samba_pid" || status=$?
samba_pid=""
echo "tests/samba/dc.sh: samba exited (status $status); see $dir/samba.log" >&2
exit 1
