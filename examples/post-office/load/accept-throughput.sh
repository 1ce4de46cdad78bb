#!/usr/bin/env bash
# Durable accept throughput of the post office: Postfix's smtp-source (SESSIONS parallel
# sessions, SIZE-octet messages) against the post office, and against Postfix's smtp-sink
# (accepts and discards everything: the no-op ceiling) in the same run, same machine.
#
# Every message accepted by the post office is fsync'd (file and directory) into its queue
# before the 250, then delivered into a Maildir (fsync'd too) in the background; the script
# checks that all of them arrived.
#
#   examples/post-office/load/accept-throughput.sh            # 2000 messages, 20 sessions, 10 KiB
#   MESSAGES=5000 SESSIONS=20 SIZE=10240 examples/post-office/load/accept-throughput.sh
set -euo pipefail

MESSAGES=${MESSAGES:-2000}
SESSIONS=${SESSIONS:-20}
SIZE=${SIZE:-10240}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
SMTP_SOURCE=${SMTP_SOURCE:-/usr/sbin/smtp-source}
SMTP_SINK=${SMTP_SINK:-/usr/sbin/smtp-sink}

cargo build --quiet --release -p post-office --manifest-path "$ROOT/Cargo.toml"
BIN=$TARGET/release/post-office

WORK=$(mktemp -d "$TARGET/po-load.XXXXXX")
PIDS=()
cleanup() {
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
rate() { python3 -c "print(f'{$MESSAGES/($2-$1):.0f}')"; }
load() { "$SMTP_SOURCE" -s "$SESSIONS" -l "$SIZE" -m "$MESSAGES" -f sender@bench.test -t rcpt@bench.test "127.0.0.1:$1"; }

# 1. smtp-sink: the ceiling.
SINK_PORT=$(free_port)
SINK_USER=(); [ "$(id -u)" -eq 0 ] && SINK_USER=(-u nobody)  # smtp-sink refuses to run as root
"$SMTP_SINK" "${SINK_USER[@]}" "127.0.0.1:$SINK_PORT" 256 & PIDS+=($!)
wait_port "$SINK_PORT"
t0=$(now); load "$SINK_PORT"; t1=$(now)
SINK_RATE=$(rate "$t0" "$t1")

# 2. The post office, on a real file system (the target directory), default limits
#    except the per-address connection cap (all sessions come from 127.0.0.1).
PO_PORT=$(free_port)
HASH=$(echo "bench password" | "$BIN" hash-password | tail -n 1)
cat > "$WORK/post-office.toml" <<TOML
hostname = "bench.test"
domains = ["bench.test"]
data_dir = "data"
[smtp]
listen = ["127.0.0.1:$PO_PORT"]
[limits]
max_connections_per_ip = 100
[[users]]
address = "rcpt@bench.test"
password_hash = "$HASH"
TOML
RUST_LOG=warn "$BIN" --config "$WORK/post-office.toml" 2> "$WORK/log.txt" & PIDS+=($!)
wait_port "$PO_PORT"
t0=$(now); load "$PO_PORT"; t1=$(now)
PO_RATE=$(rate "$t0" "$t1")

# Every acknowledged message must reach the Maildir.
NEW="$WORK/data/mail/rcpt@bench.test/new"
for _ in $(seq 1 600); do
  [ "$(ls "$NEW" 2>/dev/null | wc -l)" -ge "$MESSAGES" ] && break
  sleep 0.1
done
DELIVERED=$(ls "$NEW" | wc -l)

echo "messages=$MESSAGES sessions=$SESSIONS size=$SIZE"
echo "smtp-sink:   $SINK_RATE msg/s"
echo "post-office: $PO_RATE msg/s ($(python3 -c "print(f'{100*$PO_RATE/$SINK_RATE:.0f}')")% of smtp-sink), $DELIVERED/$MESSAGES delivered to the Maildir"
[ "$DELIVERED" -eq "$MESSAGES" ]
