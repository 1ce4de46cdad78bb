#!/usr/bin/env bash
# Memory per idle SMTP connection (issue 7): holds CONNECTIONS (default 5,000) idle SMTP
# connections to the post office (release build), each having received its 220 greeting,
# and reports the server's resident memory growth per connection (VmRSS before and after).
# Client source addresses are spread over 127.0.0.x; the caps are configured above the count.
#
#   examples/post-office/load/idle-connections.sh
#   CONNECTIONS=5000 BIN=target/release/post-office examples/post-office/load/idle-connections.sh
set -euo pipefail

CONNECTIONS=${CONNECTIONS:-5000}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
if [ -z "${BIN:-}" ]; then
  cargo build --quiet --release -p post-office --manifest-path "$ROOT/Cargo.toml"
  BIN=$TARGET/release/post-office
fi
# Both sides need a descriptor per connection (plus slack).
ulimit -n "$(( CONNECTIONS * 2 + 1024 ))" 2>/dev/null || ulimit -n "$(ulimit -Hn)"

mkdir -p "$TARGET"
WORK=$(mktemp -d "$TARGET/po-idle.XXXXXX")
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
HASH=$(echo "idle password" | "$BIN" hash-password | tail -n 1)
cat > "$WORK/post-office.toml" <<TOML
hostname = "idle.test"
domains = ["idle.test"]
data_dir = "data"
[smtp]
listen = ["127.0.0.1:$PORT"]
[limits]
max_connections = $(( CONNECTIONS + 100 ))
max_connections_per_ip = $(( CONNECTIONS + 100 ))
[[users]]
address = "user@idle.test"
password_hash = "$HASH"
TOML
RUST_LOG=warn "$BIN" --config "$WORK/post-office.toml" 2> "$WORK/log.txt" &
PID=$!

python3 - "$PORT" "$CONNECTIONS" "$PID" <<'PY'
import socket, sys, time
port, n, pid = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def kib(field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
deadline = time.time() + 30
while True:
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close(); break
    except OSError:
        if time.time() > deadline: sys.exit("the post office never listened")
        time.sleep(0.1)
# Warm up: a few sessions, so one-time allocations are not counted per connection.
for _ in range(20):
    s = socket.create_connection(("127.0.0.1", port), 30); s.recv(512); s.sendall(b"QUIT\r\n"); s.recv(512); s.close()
time.sleep(0.5)
before = kib("VmRSS")
held = []
t0 = time.time()
for i in range(n):
    s = socket.socket()
    s.bind((f"127.0.{1 + i // 250}.{1 + i % 250}", 0))
    s.settimeout(30)
    s.connect(("127.0.0.1", port))
    held.append(s)
    if len(held) % 500 == 0:
        for h in held[-500:]:
            assert h.recv(512).startswith(b"220")
for h in held[len(held) - len(held) % 500:]:
    assert h.recv(512).startswith(b"220")
opened = time.time() - t0
time.sleep(1.0)
after = kib("VmRSS")
per = (after - before) * 1024 / n
print(f"{n} idle SMTP connections (greeted) opened in {opened:.1f} s: VmRSS {before} KiB -> {after} KiB, "
      f"{(after - before) / 1024:.1f} MiB, {per:.0f} bytes = {per / 1024:.1f} KiB per connection; "
      f"VmHWM {kib('VmHWM')} KiB")
# Still serving a new client while they are held.
t = time.time()
s = socket.create_connection(("127.0.0.1", port), 30)
f = s.makefile("rb")
assert f.readline().startswith(b"220")
s.sendall(b"EHLO probe.example\r\n")
while True:
    line = f.readline()
    if line[3:4] != b"-": break
print(f"a new client got 220 + EHLO in {time.time() - t:.3f} s with {n} connections held")
PY
