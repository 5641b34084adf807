# Helpers the command-line tests share (sourced): a line per check, counters, and running
# joincheck with its output kept in files. The sourcing script sets `bin` (the joincheck binary)
# and ends with:  echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]
passed=0
failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() {  # fail WHAT [DETAILS]
  echo "FAIL $1"
  if [ -n "${2:-}" ]; then printf '%s\n' "$2" | sed -n '1,40s/^/    /p'; fi  # sed reads all: no SIGPIPE
  failed=$((failed + 1))
}

# jc NAME ARGS...: runs joincheck; stdout in NAME.out, stderr in NAME.err, exit code in $rc.
rc=0
jc() {
  local name=$1; shift
  rc=0
  "$bin" "$@" >"$name.out" 2>"$name.err" || rc=$?
}
both() { cat "$1.out" "$1.err"; }

expect_rc() {  # expect_rc WHAT NAME WANT
  if [ "$rc" -eq "$3" ]; then ok "$1: exit $3"; else fail "$1: exit $rc, expected $3" "$(both "$2")"; fi
}
expect_grep() {  # expect_grep WHAT FILE ERE
  if grep -qE -- "$3" "$2"; then ok "$1"; else fail "$1: $2 does not match /$3/" "$(cat "$2")"; fi
}
expect_no_grep() {  # expect_no_grep WHAT FILE ERE
  if grep -qE -- "$3" "$2"; then fail "$1: $2 matches /$3/" "$(grep -m5 -E -- "$3" "$2")"; else ok "$1"; fi
}
expect_eq() {  # expect_eq WHAT ACTUAL WANT
  if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: got \"$2\", expected \"$3\""; fi
}

# enter_temp_dir NAME: a fresh folder as the current directory, removed at exit together with the
# background process whose PID is in $js_pid (a serve-js or stand-in the script started).
js_pid=""
enter_temp_dir() {
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/joincheck-$1.XXXXXX")
  trap cleanup_temp_dir EXIT
  cd "$tmp" || exit 1
}
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup_temp_dir() {
  if [ -n "$js_pid" ] && kill -0 "$js_pid" 2>/dev/null; then kill "$js_pid"; wait "$js_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}

# start_js LOG ARGS...: serve-js on a free port of 127.0.0.1 with ARGS (its fleet among them), its
# stderr in LOG; sets js_pid and js_url, or ends the script when it does not start.
start_js() {
  local log=$1; shift
  "$bin" serve-js --listen 127.0.0.1:0 --quiet "$@" 2>"$log" &
  js_pid=$!
  for _ in $(seq 100); do
    grep -q 'listening on' "$log" && break
    kill -0 "$js_pid" 2>/dev/null || break
    sleep 0.1
  done
  js_url=$(sed -n 's/.*listening on \(http:[^ ]*\) .*/\1/p' "$log")
  if [ -z "$js_url" ]; then echo "serve-js did not start:"; cat "$log"; exit 1; fi
}
stop_js() { kill "$js_pid" 2>/dev/null || true; wait "$js_pid" 2>/dev/null || true; js_pid=""; }
