#!/usr/bin/env bash
# Load test of the post office (release build), not part of `cargo test` (issue 7):
#   1. Postfix's smtp-source at the MX listener with 1, 20 and 100 parallel sessions:
#      messages per second, every acknowledged message checked in the Maildir;
#   2. POP3 retrieval (Python poplib over STLS) of 1,000 messages: messages per second;
#   3. the server's peak resident memory (VmHWM in /proc/PID/status) after each phase.
#
#   examples/post-office/load/load-test.sh
#   MESSAGES=2000 SIZE=10240 BIN=target/release/post-office examples/post-office/load/load-test.sh
set -euo pipefail

MESSAGES=${MESSAGES:-1000}        # per run with 20 and 100 sessions
SINGLE=${SINGLE:-300}             # with 1 session (each message waits for its fsync)
SIZE=${SIZE:-4096}
POP3_MESSAGES=${POP3_MESSAGES:-1000}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
SMTP_SOURCE=${SMTP_SOURCE:-/usr/sbin/smtp-source}
if [ -z "${BIN:-}" ]; then
  cargo build --quiet --release -p post-office --manifest-path "$ROOT/Cargo.toml"
  BIN=$TARGET/release/post-office
fi

mkdir -p "$TARGET"
WORK=$(mktemp -d "$TARGET/po-loadtest.XXXXXX")
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 300); do
    if python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "port $1 never opened" >&2; return 1
}
now() { date +%s.%N; }
status_kib() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$PID/status"; }
NEW="$WORK/data/mail/rcpt@bench.test/new"
delivered() { find "$NEW" -type f 2>/dev/null | wc -l; }
wait_delivered() {
  for _ in $(seq 1 1200); do
    [ "$(delivered)" -ge "$1" ] && return 0
    sleep 0.1
  done
  echo "only $(delivered) of $1 messages delivered" >&2; return 1
}

SMTP_PORT=$(free_port)
POP3_PORT=$(free_port)
PASSWORD="bench password"
HASH=$(echo "$PASSWORD" | "$BIN" hash-password | tail -n 1)
cat > "$WORK/post-office.toml" <<TOML
hostname = "bench.test"
domains = ["bench.test"]
data_dir = "data"
[smtp]
listen = ["127.0.0.1:$SMTP_PORT"]
# Throughput, not the early-talker defence: without this the first connection of each
# session waits the 1 s greeting pause once (then the address is known).
pregreet_delay_ms = 0
[pop3]
listen = ["127.0.0.1:$POP3_PORT"]
[limits]
max_connections = 400
max_connections_per_ip = 200
[[users]]
address = "rcpt@bench.test"
password_hash = "$HASH"
TOML
RUST_LOG=warn "$BIN" --config "$WORK/post-office.toml" 2> "$WORK/log.txt" &
PID=$!
wait_port "$SMTP_PORT"
echo "post-office $BIN, pid $PID, ${SIZE}-octet messages, $(nproc) CPUs"
echo "start: VmRSS $(status_kib VmRSS) KiB"

TOTAL=0
for SESSIONS in 1 20 100; do
  N=$MESSAGES; [ "$SESSIONS" -eq 1 ] && N=$SINGLE
  t0=$(now)
  "$SMTP_SOURCE" -s "$SESSIONS" -l "$SIZE" -m "$N" -f sender@example.org -t rcpt@bench.test "127.0.0.1:$SMTP_PORT"
  t1=$(now)
  TOTAL=$((TOTAL + N))
  wait_delivered "$TOTAL"
  t2=$(now)
  python3 - "$SESSIONS" "$N" "$t0" "$t1" "$t2" "$(status_kib VmHWM)" <<'PY'
import sys
s, n, t0, t1, t2, hwm = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:6]), sys.argv[6]
print(f"smtp-source {s:>3} sessions: {n} messages accepted in {t1-t0:.2f} s = {n/(t1-t0):.0f} msg/s "
      f"(all in the Maildir after {t2-t0:.2f} s = {n/(t2-t0):.0f} msg/s); VmHWM {hwm} KiB")
PY
done

python3 - 127.0.0.1 "$POP3_PORT" rcpt@bench.test "$PASSWORD" "$POP3_MESSAGES" <<'PY'
import poplib, ssl, sys, time
host, port, user, password, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
t0 = time.time()
p = poplib.POP3(host, port, timeout=60)
p.stls(ctx)
p.user(user); p.pass_(password)
count, size = p.stat()
assert count >= n, (count, n)
octets = 0
for i in range(1, n + 1):
    resp, lines, o = p.retr(i)
    assert resp.startswith(b"+OK"), resp
    octets += o
p.quit()
t = time.time() - t0
print(f"pop3 RETR: {n} of {count} messages ({octets} octets) in {t:.2f} s = {n/t:.0f} msg/s")
PY
echo "end: VmRSS $(status_kib VmRSS) KiB, peak VmHWM $(status_kib VmHWM) KiB"
