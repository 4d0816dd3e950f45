#!/usr/bin/env bash
# A throwaway single-node Ceph cluster with an S3 gateway (radosgw), for integration tests.
#
#   scripts/ceph-gateway.sh start <dir>   fresh cluster in <dir>; prints one line of JSON on stdout:
#                                         {"endpoint","accessKeyId","secretAccessKey","region"}
#   scripts/ceph-gateway.sh stop <dir>    kills every daemon started in <dir>; safe to call twice
#
# One monitor, one OSD on memstore (RAM, capped), one radosgw (beast) on 127.0.0.1, cephx off.
# Everything lives under <dir>: config, maps, data, sockets, pid files and logs (<dir>/log/*.log).
# Nothing is written to /etc/ceph, /var/lib/ceph or /var/run/ceph.
#
# Environment:
#   CEPH_RGW_PORT            gateway port (default: a free loopback port)
#   CEPH_MON_PORT            monitor port (default: a free loopback port)
#   CEPH_GATEWAY_OWNER_PID   when set, a watchdog stops the cluster once that process is gone
#   CEPH_GATEWAY_REMOVE_ORPHAN=1   the watchdog then also removes <dir>
#   CEPH_MEMSTORE_BYTES      memstore capacity (default 1 GiB)
#   CEPH_START_TIMEOUT       seconds to wait for the gateway (default 90)
#
# Needs: ceph-mon, ceph-osd, radosgw, radosgw-admin, ceph, monmaptool, python3 (Debian packages
# ceph-mon ceph-osd radosgw; ceph-common and ceph-base come with them).
set -euo pipefail

CLUSTER=ceph

die() {
  echo "ceph-gateway: $*" >&2
  exit 1
}

now_ms() { date +%s%3N; }

log_step() {
  local t
  t=$(now_ms)
  echo "ceph-gateway: +$((t - START_MS)) ms $*" >&2
}

# Prints two ports, for the monitor and the gateway: the requested ones (checked free) or free ones
# chosen by the kernel. Fails when a requested port is taken.
pick_ports() { # <mon port or ""> <rgw port or "">
  "$PYTHON" - "$@" <<'PY'
import socket, sys
held, ports = [], []
for wanted in sys.argv[1:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", int(wanted) if wanted else 0))
    except OSError as e:
        sys.exit(f"ceph-gateway: port {wanted} on 127.0.0.1 is not free: {e}")
    held.append(s)
    ports.append(str(s.getsockname()[1]))
print(" ".join(ports))
PY
}

random_string() { # <length> <alphabet>
  LC_ALL=C tr -dc "$2" </dev/urandom | head -c "$1" || true
}

# True when an HTTP server answers GET / on 127.0.0.1:<port> (bash's /dev/tcp: no curl needed).
http_answers() { # <port>
  # shellcheck disable=SC2016 # expanded by the inner shell
  timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3 &&
    read -r line <&3 && [[ "$line" == HTTP/* ]]' http-check "$1" 2>/dev/null
}

pid_alive() { [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; }

# Launches a daemon in the foreground mode (-f) in the background, detached from our stdio, in its own
# session, and records its pid.
launch() { # <name> <command...>
  local name=$1
  shift
  setsid "$@" </dev/null >>"$DIR/log/$name.out" 2>&1 &
  echo $! >"$DIR/run/$name.pid"
  disown
}

check_alive() { # <name>
  local pid
  pid=$(cat "$DIR/run/$1.pid" 2>/dev/null || true)
  pid_alive "$pid" || fail "$1 exited"
}

fail() {
  echo "ceph-gateway: start failed: $*" >&2
  for f in "$DIR"/log/*; do
    [[ -s "$f" ]] || continue
    echo "----- tail of $f -----" >&2
    tail -n 20 "$f" >&2
  done
  stop_cluster
  exit 1
}

# Pids of the daemons of this cluster: ours (run/*.pid, written at launch) and the daemons' own pid files,
# kept only while the process still runs with this cluster's config (guards against recycled pids).
cluster_pids() {
  local f pid
  for f in "$DIR"/run/*.pid; do
    [[ -f "$f" && "$f" != */watchdog.pid ]] || continue
    pid=$(cat "$f" 2>/dev/null || true)
    [[ "$pid" =~ ^[0-9]+$ ]] || continue
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$DIR/ceph.conf"; then echo "$pid"; fi
  done | sort -u
}

stop_cluster() {
  local pid i pids
  [[ -d "$DIR/run" ]] || return 0
  if [[ -f "$DIR/run/watchdog.pid" ]]; then
    pid=$(cat "$DIR/run/watchdog.pid" 2>/dev/null || true)
    rm -f "$DIR/run/watchdog.pid"
    if [[ "$pid" =~ ^[0-9]+$ && "$pid" != "${WATCHDOG_SELF:-}" ]]; then kill "$pid" 2>/dev/null || true; fi
  fi
  # A throwaway cluster has nothing worth a clean shutdown (and radosgw lingers for seconds on SIGTERM
  # once the monitor is gone): kill them all, then wait until they are gone so that <dir> can be removed.
  mapfile -t pids < <(cluster_pids)
  ((${#pids[@]} == 0)) || kill -KILL "${pids[@]}" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    mapfile -t pids < <(cluster_pids)
    ((${#pids[@]} > 0)) || break
    sleep 0.05
  done
  ((${#pids[@]} == 0)) || echo "ceph-gateway: still running after SIGKILL: ${pids[*]}" >&2
  rm -f "$DIR"/run/*.pid
}

start_cluster() {
  START_MS=$(now_ms)
  for bin in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph; do
    command -v "$bin" >/dev/null || die "$bin not found"
  done
  # Debian's python3 (ceph-common needs it) starts faster than a version manager's shim.
  PYTHON=/usr/bin/python3
  [[ -x "$PYTHON" ]] || PYTHON=$(command -v python3) || die "python3 not found"
  mkdir -p "$DIR"
  DIR=$(cd "$DIR" && pwd)
  [[ ! -e "$DIR/ceph.conf" ]] || die "$DIR already holds a cluster; use a fresh folder"
  local memstore_bytes=${CEPH_MEMSTORE_BYTES:-1073741824}
  [[ "$memstore_bytes" =~ ^[0-9]+$ ]] || die "CEPH_MEMSTORE_BYTES must be a number of bytes"
  mkdir -p "$DIR"/{run,log,mon,osd,rgw,crash,tmp}

  # Started before any daemon, so that an owner killed in the middle of `start` leaves nothing behind.
  if [[ -n "${CEPH_GATEWAY_OWNER_PID:-}" ]]; then
    local self_script
    self_script=$(readlink -f "${BASH_SOURCE[0]}")
    echo starting >"$DIR/run/watchdog.pid"
    # shellcheck disable=SC2016 # expanded by the inner shell
    setsid bash -c 'while kill -0 "$1" 2>/dev/null && [[ -f "$3/run/watchdog.pid" ]]; do sleep 1; done
      [[ -f "$3/run/watchdog.pid" ]] || exit 0
      WATCHDOG_SELF=$$ bash "$2" stop "$3"
      if [[ "$4" == 1 ]]; then rm -rf "$3"; fi' \
      ceph-gateway-watchdog "$CEPH_GATEWAY_OWNER_PID" "$self_script" "$DIR" "${CEPH_GATEWAY_REMOVE_ORPHAN:-0}" \
      </dev/null >>"$DIR/log/watchdog.out" 2>&1 &
    echo $! >"$DIR/run/watchdog.pid"
    disown
  fi

  local ports mon_port rgw_port
  ports=$(pick_ports "${CEPH_MON_PORT:-}" "${CEPH_RGW_PORT:-}") || exit 1
  read -r mon_port rgw_port <<<"$ports"
  local fsid osd_uuid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  local mon_addr="v2:127.0.0.1:$mon_port"

  CONF="$DIR/ceph.conf"
  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon host = [$mon_addr]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
ms bind msgr1 = false
ms bind msgr2 = true

auth cluster required = none
auth service required = none
auth client required = none
auth supported = none

run dir = $DIR/run
admin socket = $DIR/run/\$cluster-\$name.asok
pid file = $DIR/run/\$cluster-\$name.daemon.pid
log file = $DIR/log/\$name.log
log to stderr = false
err to stderr = true
log to file = true
crash dir = $DIR/crash
keyring = $DIR/keyring
debug ms = 0

osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 1
osd pool default pgp num = 1
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
mon pg warn min per osd = 0

[mon]
mon data = $DIR/mon/\$cluster-\$id
mon cluster log file = $DIR/log/cluster.log
mon initial members = a
paxos propose interval = 0.01
mon lease = 5

[osd]
osd data = $DIR/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = $memstore_bytes
osd max object name len = 460
osd max object namespace len = 64
osd op num shards = 2
osd op num threads per shard = 1

[client]
# radosgw defaults to cephx and a secure mon connection; neither exists with auth none.
ms mon client mode = crc
ms client mode = crc
rgw data = $DIR/rgw/\$cluster-\$id
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw thread pool size = 32
rgw dns name = 127.0.0.1
rgw enable usage log = false
rgw dynamic resharding = false
rgw crypt require ssl = false
EOF
  export CEPH_CONF="$CONF"
  local common=(--cluster "$CLUSTER" --conf "$CONF")
  log_step "config written (mon port $mon_port, rgw port $rgw_port)"

  # Monitor.
  monmaptool --create --clobber --fsid "$fsid" --addv a "[$mon_addr]" "$DIR/tmp/monmap" >>"$DIR/log/setup.log" 2>&1 ||
    fail "monmaptool"
  ceph-mon "${common[@]}" -i a --mkfs --monmap "$DIR/tmp/monmap" >>"$DIR/log/setup.log" 2>&1 || fail "ceph-mon --mkfs"
  launch mon ceph-mon "${common[@]}" -i a -f
  log_step "mon launched"

  # OSD.
  local osd_id
  osd_id=$(ceph "${common[@]}" --connect-timeout 30 osd new "$osd_uuid" 2>>"$DIR/log/setup.log") || fail "ceph osd new"
  [[ "$osd_id" == "0" ]] || fail "unexpected osd id '$osd_id'"
  log_step "osd registered"
  mkdir -p "$DIR/osd/$CLUSTER-0"
  ceph-osd "${common[@]}" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$DIR/log/setup.log" 2>&1 || fail "ceph-osd --mkfs"
  launch osd ceph-osd "${common[@]}" -i 0 -f
  log_step "osd launched"

  # Gateway.
  launch rgw radosgw "${common[@]}" -n client.rgw.a -f
  log_step "rgw launched"
  local timeout=${CEPH_START_TIMEOUT:-90}
  local deadline=$(($(date +%s) + timeout))
  until http_answers "$rgw_port"; do
    check_alive mon
    check_alive osd
    check_alive rgw
    (($(date +%s) < deadline)) || fail "gateway did not answer on 127.0.0.1:$rgw_port within ${timeout}s"
    sleep 0.1
  done
  log_step "rgw answers"

  local access_key secret_key
  access_key=$(random_string 20 'A-Z0-9')
  secret_key=$(random_string 40 'A-Za-z0-9')
  radosgw-admin "${common[@]}" -n client.admin user create --uid=kiln --display-name=kiln \
    --access-key="$access_key" --secret="$secret_key" >>"$DIR/log/setup.log" 2>&1 || fail "radosgw-admin user create"
  log_step "user created"

  printf '{"endpoint":"http://127.0.0.1:%s","accessKeyId":"%s","secretAccessKey":"%s","region":"us-east-1"}\n' \
    "$rgw_port" "$access_key" "$secret_key"
}

cmd=${1:-}
DIR=${2:-}
[[ -n "$cmd" && -n "$DIR" ]] || die "usage: $0 start|stop <dir>"
case "$cmd" in
start) start_cluster ;;
stop)
  [[ -d "$DIR" ]] || exit 0
  DIR=$(cd "$DIR" && pwd)
  stop_cluster
  ;;
*) die "usage: $0 start|stop <dir>" ;;
esac
