#!/usr/bin/env bash
# Durable accept throughput (issue 15): Postfix's smtp-source (SESSIONS parallel sessions,
# SIZE-octet messages) against, in the same run on the same machine,
#   1. Postfix's smtp-sink (accepts and discards everything: the no-op ceiling),
#   2. a Postfix instance of its own (queue + virtual(8) Maildir delivery, both fsync'd),
#   3. the post office (queue journal fdatasync'd before the 250, then Maildir delivery),
# in both modes of smtp-source: a new connection per message, and reused connections (-d).
# Both servers must have delivered every message to their Maildir before a run counts.
#
# The post office checks SPF and DMARC on its MX port; the sender domain bench.test is
# served by a dnsmasq of the run (SPF and DMARC records, an SOA so negative answers are
# cached), as a real MX asks its local resolver.
#
# Needs root (Postfix's master runs as root and drops to `postfix`), and the Debian
# packages postfix, dnsmasq-base and time. Not part of `cargo test`. Prints each side's CPU
# per message beside the rates.
#
#   examples/post-office/load/accept-throughput.sh            # 2000 messages, 20 sessions, 10 KiB
#   SPOOL=/mnt/spool examples/post-office/load/accept-throughput.sh   # queues on another file system
#   MESSAGES=5000 SESSIONS=20 SIZE=10240 MODES="new reuse" examples/post-office/load/accept-throughput.sh
#   PERF=/tmp/po examples/post-office/load/accept-throughput.sh   # perf profiles of the post office
#                                   # under load: /tmp/po.new.data, /tmp/po.reuse.data (perf report -i)
set -euo pipefail

MESSAGES=${MESSAGES:-2000}
SESSIONS=${SESSIONS:-20}
SIZE=${SIZE:-10240}
MODES=${MODES:-"new reuse"}
SPOOL=${SPOOL:-/var/tmp}          # where both servers keep their queues and Maildirs
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
SMTP_SOURCE=${SMTP_SOURCE:-/usr/sbin/smtp-source}
SMTP_SINK=${SMTP_SINK:-/usr/sbin/smtp-sink}
[ "$(id -u)" -eq 0 ] || { echo "run as root (the Postfix instance needs it)" >&2; exit 1; }
[ -x /usr/sbin/postfix ] || { echo "install the Debian package postfix" >&2; exit 1; }
[ -x /usr/sbin/dnsmasq ] || { echo "install the Debian package dnsmasq-base" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "install the Debian package time" >&2; exit 1; }

if [ -z "${BIN:-}" ]; then
  cargo build --quiet --release -p post-office --manifest-path "$ROOT/Cargo.toml"
  BIN=$TARGET/release/post-office
fi

WORK=$(mktemp -d "$SPOOL/po-accept.XXXXXX")
chmod 755 "$WORK"
PIDS=()
PF=
cleanup() {
  [ -n "$PF" ] && postfix -c "$PF/etc" stop >/dev/null 2>&1 || true
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 300); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "port $1 never opened" >&2; return 1
}
now() { date +%s.%N; }
# CPU seconds (user + system) a process has used so far.
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"; }
rate() { python3 -c "print(f'{$MESSAGES/($2-$1):.0f}')"; }
load() { # PORT MODE; the CPU seconds smtp-source used go to $WORK/source-cpu
  local reuse=(); [ "$2" = reuse ] && reuse=(-d)
  # Each server starts on a clean file system: what the one before left dirty (Postfix's
  # queue file removals, Maildir writes) is not flushed during the next one's run.
  sync
  /usr/bin/time -f "%U %S" -o "$WORK/source-cpu" \
    "$SMTP_SOURCE" "${reuse[@]}" -s "$SESSIONS" -l "$SIZE" -m "$MESSAGES" \
    -f sender@bench.test -t rcpt@bench.test "127.0.0.1:$1"
}
source_us() { awk -v m="$MESSAGES" '{ printf "%.0f", 1e6 * ($1 + $2) / m }' "$WORK/source-cpu"; }
count() { find "$1" -type f 2>/dev/null | wc -l; }
wait_count() { # DIR N
  for _ in $(seq 1 1200); do
    [ "$(count "$1")" -ge "$2" ] && return 0
    sleep 0.1
  done
  echo "only $(count "$1") of $2 messages in $1" >&2; return 1
}

# DNS for bench.test: SPF passes for loopback, DMARC p=none, SOA (authoritative zone).
DNS_PORT=$(free_port)
/usr/sbin/dnsmasq -d -C /dev/null --no-resolv --no-hosts --bind-interfaces \
  --listen-address=127.0.0.1 --port="$DNS_PORT" \
  --auth-server=ns.bench.test,127.0.0.1 --auth-zone=bench.test,127.0.0.0/8 \
  --txt-record="bench.test,v=spf1 ip4:127.0.0.0/8 -all" \
  --txt-record="_dmarc.bench.test,v=DMARC1; p=none" 2>/dev/null & PIDS+=($!)

# 1. smtp-sink: the ceiling.
SINK_PORT=$(free_port)
"$SMTP_SINK" -u nobody "127.0.0.1:$SINK_PORT" 256 & PIDS+=($!)
SINK_PID=$!
wait_port "$SINK_PORT"

# 2. Postfix: its own instance (config, queue and Maildir under $WORK).
PF=$WORK/postfix
PF_PORT=$(free_port)
mkdir -p "$PF/etc" "$PF/spool" "$PF/data" "$PF/mail"
chown postfix "$PF/data"
chown nobody "$PF/mail"
cp /etc/postfix/master.cf "$PF/etc/master.cf"
sed -i "s/^smtp      inet.*smtpd\$/127.0.0.1:$PF_PORT inet n - n - - smtpd/" "$PF/etc/master.cf"
cat > "$PF/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $PF/spool
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = postfix.bench.test
mydestination =
mynetworks = 127.0.0.0/8
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
virtual_mailbox_domains = bench.test
virtual_mailbox_base = $PF/mail
virtual_mailbox_maps = static:rcpt/
virtual_uid_maps = static:$(id -u nobody)
virtual_gid_maps = static:$(id -g nobody)
virtual_minimum_uid = 1
maillog_file = $PF/maillog
maillog_file_prefixes = $PF
default_process_limit = 100
CF
postfix -c "$PF/etc" start >/dev/null
wait_port "$PF_PORT"

# 3. The post office, default limits except the per-address connection cap (all sessions
#    come from 127.0.0.1) and the greeting pause (an early-talker defence, not throughput).
PO_PORT=$(free_port)
HASH=$(echo "bench password" | "$BIN" hash-password | tail -n 1)
cat > "$WORK/post-office.toml" <<TOML
hostname = "bench.test"
domains = ["bench.test"]
data_dir = "data"
[smtp]
listen = ["127.0.0.1:$PO_PORT"]
pregreet_delay_ms = 0
[limits]
max_connections_per_ip = 100
[dns]
servers = ["127.0.0.1:$DNS_PORT"]
[[users]]
address = "rcpt@bench.test"
password_hash = "$HASH"
TOML
RUST_LOG=warn "$BIN" --config "$WORK/post-office.toml" 2> "$WORK/log.txt" & PIDS+=($!)
PO_PID=$!
wait_port "$PO_PORT"

echo "messages=$MESSAGES sessions=$SESSIONS size=$SIZE cpus=$(nproc) $(uname -r)"
echo "spool: $(df --output=fstype,source "$WORK" | tail -n 1)"
PO_MAIL="$WORK/data/mail/rcpt@bench.test/new"
PF_MAIL="$PF/mail/rcpt/new"
done_po=0
done_pf=0
for mode in $MODES; do
  s0=$(cpu_of "$SINK_PID")
  t0=$(now); load "$SINK_PORT" "$mode"; t1=$(now)
  sink=$(rate "$t0" "$t1")
  sink_us=$(python3 -c "print(f'{1e6*($(cpu_of "$SINK_PID")-$s0)/$MESSAGES:.0f}')")
  sink_source_us=$(source_us)
  t0=$(now); load "$PF_PORT" "$mode"; t1=$(now)
  pf=$(rate "$t0" "$t1")
  done_pf=$((done_pf + MESSAGES)); wait_count "$PF_MAIL" "$done_pf"
  if [ -n "${PERF:-}" ]; then
    perf record -q -F 1999 -g -p "$PO_PID" -o "$PERF.$mode.data" 2>/dev/null & PERF_PID=$!
    sleep 0.5 # perf attaches before the load starts (a measurement aid, not synchronisation)
  fi
  c0=$(cpu_of "$PO_PID")
  t0=$(now); load "$PO_PORT" "$mode"; t1=$(now)
  po=$(rate "$t0" "$t1")
  if [ -n "${PERF:-}" ]; then kill -INT "$PERF_PID"; wait "$PERF_PID" || true; fi
  done_po=$((done_po + MESSAGES)); wait_count "$PO_MAIL" "$done_po"
  c1=$(cpu_of "$PO_PID")
  python3 -c "print(f'{\"$mode\":6} CPU per message: post-office {1e6*($c1-$c0)/$MESSAGES:.0f} µs (accept and delivery), smtp-source {$(source_us)} µs; smtp-sink {$sink_us} µs, smtp-source {$sink_source_us} µs')"
  python3 - "$mode" "$sink" "$pf" "$po" <<'PY'
import sys
mode, sink, pf, po = sys.argv[1], *map(float, sys.argv[2:])
print(f"{mode:6} smtp-sink {sink:6.0f}  postfix {pf:6.0f} ({100*pf/sink:3.0f}%)  "
      f"post-office {po:6.0f} msg/s ({100*po/sink:3.0f}% of smtp-sink, {po/pf:.2f}x postfix)")
PY
done
echo "all $done_po (post office) and $done_pf (postfix) acknowledged messages are in the Maildirs"
