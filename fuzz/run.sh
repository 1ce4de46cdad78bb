#!/usr/bin/env bash
# Run every cargo-fuzz target (or the ones named) for SECONDS each, from the committed
# seed corpus in fuzz/corpus/TARGET (copied into a scratch corpus so the repo stays clean).
#   fuzz/run.sh 30                 # smoke run, every target 30 s (what CI does)
#   fuzz/run.sh 600 smtp_server    # one target, 10 minutes
# Prints one summary line per target with the executions reached; exits non-zero on a crash.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-30}
shift || true
if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(RUSTC_BOOTSTRAP=1 cargo fuzz list); fi
scratch=${FUZZ_SCRATCH:-$(mktemp -d)}
status=0
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  [ -d "corpus/$t" ] && cp -r "corpus/$t/." "$scratch/$t/"
  log="$scratch/$t.log"
  if RUSTC_BOOTSTRAP=1 cargo fuzz run -O "$t" "$scratch/$t" -- \
      -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 >"$log" 2>&1; then
    execs=$(grep -Eo 'Done [0-9]+ runs' "$log" | tail -1 | grep -Eo '[0-9]+' || echo '?')
    echo "fuzz $t: ok, $execs executions in ${secs}s"
  else
    echo "fuzz $t: FAILED (log follows)"; tail -40 "$log"; status=1
  fi
done
exit $status
