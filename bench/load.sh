#!/usr/bin/env bash
# Benchmark (not a test): 200 concurrent clients against a real server on loopback for 60 s,
# mixing folder listings, downloads, small uploads and WebDAV PROPFINDs (examples/loadgen.rs).
# Reports p50/p90/p99 latency per operation, throughput, errors (target: zero) and the server's
# RSS over the run (target: bounded — no growth from the first third of the run to the last).
# See bench/README.md. Exits 0 once it has figures: misses are reported, not failed.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bench/load.sh [--clients N] [--seconds S] [--users U] [--files F]

  --clients N   concurrent clients (default 200)
  --seconds S   length of the measured run (default 60)
  --users U     accounts the clients are spread over (default 20)
  --files F     seeded files per account, listed, PROPFINDed and downloaded (default 40)

environment:
  CLOUDVAULT_BIN  prebuilt server (default: cargo build --release, target/release/cloudvault)
  LOADGEN_BIN     prebuilt driver (default: cargo build --release --example loadgen)
  BENCH_DIR       scratch folder for the server's data (default /tmp/cloudvault-load)
  MIX             operation weights (default list=35,download=30,upload=15,propfind=20)
EOF
}

CLIENTS=200
SECONDS_RUN=60
USERS=20
FILES=40
while [[ $# -gt 0 ]]; do
    case $1 in
        --clients) CLIENTS=$2; shift 2 ;;
        --seconds) SECONDS_RUN=$2; shift 2 ;;
        --users) USERS=$2; shift 2 ;;
        --files) FILES=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done
for v in "$CLIENTS" "$SECONDS_RUN" "$USERS" "$FILES"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "numbers must be positive: $v" >&2; exit 2; }
done
(( CLIENTS <= 1000 && SECONDS_RUN <= 600 )) || { echo "bounded: at most 1000 clients, 600 s" >&2; exit 2; }

REPO=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/cloudvault-load}
MIX=${MIX:-list=35,download=30,upload=15,propfind=20}
PASSWORD='tulip-orbit-92'
DATA=$BENCH_DIR/data
log() { printf '== %s\n' "$*" >&2; }

target_dir=${CARGO_TARGET_DIR:-target}
[[ $target_dir == /* ]] || target_dir=$REPO/$target_dir
if [[ -z ${CLOUDVAULT_BIN:-} || -z ${LOADGEN_BIN:-} ]]; then
    log "building the release server and driver"
    (cd "$REPO" && cargo build --release --quiet --bin cloudvault --example loadgen)
fi
BIN=${CLOUDVAULT_BIN:-$target_dir/release/cloudvault}
LOADGEN=${LOADGEN_BIN:-$target_dir/release/examples/loadgen}
[[ -x $BIN && -x $LOADGEN ]] || { echo "missing $BIN or $LOADGEN" >&2; exit 1; }

SERVER_PID=
SAMPLER_PID=
cleanup() {
    [[ -n $SAMPLER_PID ]] && kill "$SAMPLER_PID" 2>/dev/null || true
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$DATA"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$BENCH_DIR"
rm -rf "$DATA"
mkdir -p "$DATA"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
cat >"$BENCH_DIR/config.toml" <<EOF
listen = "127.0.0.1:$PORT"
data_dir = "$DATA"
default_quota = "20GB"
[http]
# The driver signs every account in at the start.
auth_requests_per_minute = 1000
EOF
CV=("$BIN" --config "$BENCH_DIR/config.toml")

log "creating $USERS accounts"
names=()
for i in $(seq 1 "$USERS"); do
    "${CV[@]}" admin create-user "load$i" --password "$PASSWORD" >/dev/null
    names+=("load$i")
done
users=$(IFS=,; echo "${names[*]}")

CLOUDVAULT_LOG=warn "${CV[@]}" serve >"$BENCH_DIR/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -fs "$BASE/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fs "$BASE/healthz" >/dev/null || { echo "server did not start; see $BENCH_DIR/server.log" >&2; exit 1; }

# RSS every second (kB), from before seeding to the end.
(
    while kill -0 "$SERVER_PID" 2>/dev/null; do
        printf '%s %s\n' "$(date +%s.%N)" "$(awk '/^VmRSS/ {print $2}' /proc/"$SERVER_PID"/status)"
        sleep 1
    done
) >"$BENCH_DIR/rss.log" &
SAMPLER_PID=$!

echo "machine: $(nproc) cores, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "run: $CLIENTS clients, $SECONDS_RUN s, $USERS accounts x $FILES files, mix $MIX"
run_start=$(date +%s.%N)
set +e
"$LOADGEN" --base "$BASE" --users "$users" --password "$PASSWORD" --clients "$CLIENTS" \
    --seconds "$SECONDS_RUN" --files "$FILES" --mix "$MIX" | tee "$BENCH_DIR/loadgen.log"
set -e
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

# Server-side view: every request it answered, by status class.
curl -fs "$BASE/metrics" >"$BENCH_DIR/metrics.txt"
kill "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=
python3 - "$BENCH_DIR" "$SECONDS_RUN" <<'EOF'
import re, sys
d, secs = sys.argv[1], float(sys.argv[2])
res = dict(l.split(' ', 1)[1].strip().split('=', 1) for l in open(f'{d}/loadgen.log') if l.startswith('RESULT '))
samples = [tuple(map(float, l.split())) for l in open(f'{d}/rss.log') if len(l.split()) == 2]
# The measured run is the last `secs` seconds of the samples (seeding comes first).
end = samples[-1][0]
run = [kb for t, kb in samples if t >= end - secs]
third = max(1, len(run) // 3)
first, last = max(run[:third]), max(run[-third:])
peak = max(kb for _, kb in samples)
print(f"server RSS (MiB): before load {samples[0][1]/1024:.1f}, first third peak {first/1024:.1f}, "
      f"last third peak {last/1024:.1f}, overall peak {peak/1024:.1f}")
by_class = {}
for l in open(f'{d}/metrics.txt'):
    m = re.match(r'cloudvault_http_requests_total\{.*status="(\d)\d\d"\} (\d+)', l)
    if m:
        by_class[m.group(1) + 'xx'] = by_class.get(m.group(1) + 'xx', 0) + int(m.group(2))
print("server counted:", ", ".join(f"{k} {v}" for k, v in sorted(by_class.items())))
errors = int(res.get('errors', '-1'))
bounded = last <= first * 1.15 + 8 * 1024
print(f"{'PASS' if errors == 0 else 'MISS'}: {errors} errors")
print(f"{'PASS' if bounded else 'MISS'}: RSS bounded (last third {last/1024:.1f} MiB vs first third {first/1024:.1f} MiB, allowed +15% +8 MiB)")
print(f"RESULT rss_peak_mib={peak/1024:.1f}")
print(f"RESULT rss_first_third_mib={first/1024:.1f}")
print(f"RESULT rss_last_third_mib={last/1024:.1f}")
EOF
