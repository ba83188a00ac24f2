#!/usr/bin/env bash
# Benchmark (not a test): a crowd of slow clients against a real server. 1,000 downloads and
# 200 uploads trickling at 1 KiB/s, then a round at 64 KiB/s, each held HOLD seconds, from a
# trusted-proxy address (127.0.0.1, each client with its own X-Forwarded-For), while a login, a
# listing and /healthz run every 2 s. Prints the probes' p50/p99, the server's RSS and threads
# (idle, peak, after), and how the crowd was answered (held, cut, refused with 503).
# See bench/README.md. Exits 0 once it has figures: misses are reported, not failed.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/cloudvault-bench-slow}
HOLD=${HOLD:-60}
DOWNLOADS=${DOWNLOADS:-1000}
UPLOADS=${UPLOADS:-200}
USERS=${USERS:-12}
RATES=${RATES:-"1024 65536"}
DATA=$BENCH_DIR/data
PASSWORD='tulip-orbit-92'

log() { printf '== %s\n' "$*" >&2; }

if [[ -n ${CLOUDVAULT_BIN:-} ]]; then
    BIN=$CLOUDVAULT_BIN
else
    log "building the release binary (cargo build --release)"
    (cd "$REPO" && cargo build --release --quiet)
    target_dir=${CARGO_TARGET_DIR:-target}
    [[ $target_dir == /* ]] || target_dir=$REPO/$target_dir
    BIN=$target_dir/release/cloudvault
fi
[[ -x $BIN ]] || { echo "no executable at $BIN" >&2; exit 1; }

SERVER_PID=
cleanup() {
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$DATA"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1,200 sockets here and in the server.
ulimit -n "$(ulimit -Hn)"
rm -rf "$DATA"
mkdir -p "$DATA"
log "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

names=()
for i in $(seq 0 $((USERS - 1))); do names+=("$(printf 'trickler%02d' "$i")"); done
for n in "${names[@]}" prober; do
    "$BIN" --data "$DATA" admin create-user "$n" --password "$PASSWORD" >/dev/null
done

"$BIN" --data "$DATA" serve --listen 127.0.0.1:0 >"$BENCH_DIR/server.out" 2>"$BENCH_DIR/server.log" &
SERVER_PID=$!
for _ in $(seq 100); do
    grep -q 'listening on' "$BENCH_DIR/server.out" 2>/dev/null && break
    sleep 0.1
done
BASE=$(grep -o 'http://[0-9.:]*' "$BENCH_DIR/server.out" | head -1)
PORT=${BASE##*:}
log "server pid $SERVER_PID at $BASE"

login() {
    curl -sf -X POST "$BASE/api/auth/login" -H 'content-type: application/json' \
        -H "x-forwarded-for: ${2:-192.0.2.1}" \
        -d "{\"username\":\"$1\",\"password\":\"$PASSWORD\"}" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

# Each user: a token and a 16 MiB file (long enough for a round at 64 KiB/s), and WebDAV
# credentials in the server's auth cache (the upload itself).
head -c $((16 << 20)) /dev/urandom >"$BENCH_DIR/big.bin"
echo '[' >"$BENCH_DIR/users.json"
sep=
for n in "${names[@]}"; do
    token=$(login "$n")
    curl -sf -T "$BENCH_DIR/big.bin" -u "$n:$PASSWORD" "$BASE/dav/files/$n/big.bin" >/dev/null
    id=$(curl -sf -H "authorization: Bearer $token" "$BASE/api/files" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
    printf '%s{"name":"%s","token":"%s","file_id":"%s"}\n' "$sep" "$n" "$token" "$id" >>"$BENCH_DIR/users.json"
    sep=,
done
echo ']' >>"$BENCH_DIR/users.json"
PROBER_TOKEN=$(login prober)

stat_of() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$SERVER_PID/status"; }
split_of() {
    echo "anon $(stat_of RssAnon) KiB, file $(stat_of RssFile) KiB, $(ls -l "/proc/$SERVER_PID/fd" | grep -c '\.db$') database connections"
}
sleep 1
COLD_RSS=$(stat_of VmRSS)
COLD_SPLIT=$(split_of)
# Idle is a warmed-up server at rest: a 3-second crowd first, then the drain (the server trims
# 11 s after it). It grows the SQLite pool to its working size and touches the code paths.
log "warm-up: 300 downloads, 60 uploads, 3 s"
python3 "$REPO/bench/slow_clients.py" --port "$PORT" --users "$BENCH_DIR/users.json" \
    --password "$PASSWORD" --rate 65536 --hold 3 --downloads 300 --uploads 60 >"$BENCH_DIR/crowd-warmup.json"
sleep 15
IDLE_RSS=$(stat_of VmRSS)
IDLE_THREADS=$(stat_of Threads)
IDLE_SPLIT=$(split_of)

# One probe: its name and seconds, or "failed".
probe() {
    local what=$1 t
    case $what in
        login) t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -X POST "$BASE/api/auth/login" \
                -H 'content-type: application/json' -H "x-forwarded-for: $2" \
                -d "{\"username\":\"prober\",\"password\":\"$PASSWORD\"}" --max-time 30) ;;
        listing) t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' "$BASE/api/files" \
                -H "authorization: Bearer $PROBER_TOKEN" -H "x-forwarded-for: $2" --max-time 30) ;;
        healthz) t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' "$BASE/healthz" \
                -H "x-forwarded-for: $2" --max-time 30) ;;
    esac
    echo "$what $t"
}

summary=()
for rate in $RATES; do
    log "round at $((rate / 1024)) KiB/s: $DOWNLOADS downloads, $UPLOADS uploads, held ${HOLD}s"
    python3 "$REPO/bench/slow_clients.py" --port "$PORT" --users "$BENCH_DIR/users.json" \
        --password "$PASSWORD" --rate "$rate" --hold "$HOLD" \
        --downloads "$DOWNLOADS" --uploads "$UPLOADS" >"$BENCH_DIR/crowd-$rate.json" &
    crowd=$!
    : >"$BENCH_DIR/probes-$rate.log"
    peak_rss=0
    peak_threads=0
    start=$(date +%s.%N)
    n=0
    while (($(echo "$(date +%s.%N) - $start < $HOLD" | bc))); do
        n=$((n + 1))
        addr="192.0.2.$((10 + n % 200))"
        (probe login "$addr" & probe listing "$addr" & probe healthz "$addr" & wait) >>"$BENCH_DIR/probes-$rate.log"
        for _ in 1 2 3; do
            r=$(stat_of VmRSS); t=$(stat_of Threads)
            ((r > peak_rss)) && peak_rss=$r
            ((t > peak_threads)) && peak_threads=$t
            sleep 0.4
        done
        next=$(echo "$start + 2 * $n" | bc)
        wait_s=$(echo "$next - $(date +%s.%N)" | bc)
        (($(echo "$wait_s > 0" | bc))) && sleep "$wait_s"
    done
    wait "$crowd"
    summary+=("$rate $peak_rss $peak_threads")
done

# After: every client gone; memory given back? (Idle blocking threads end after 10 s.)
sleep 15
AFTER_RSS=$(stat_of VmRSS)
AFTER_THREADS=$(stat_of Threads)
AFTER_SPLIT=$(split_of)
REFUSED=$(curl -s "$BASE/metrics" | grep -E '^cloudvault_(transfers_refused_total|http_connections_cut_total)' || true)

python3 - "$BENCH_DIR" "$IDLE_RSS" "$IDLE_THREADS" "$AFTER_RSS" "$AFTER_THREADS" "$COLD_RSS" "${summary[@]}" <<'EOF'
import json, sys
d, idle_rss, idle_thr, after_rss, after_thr = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
cold_rss = int(sys.argv[6])
mib = lambda kb: kb / 1024
print(f"idle: {mib(cold_rss):.1f} MiB RSS after set-up, {mib(idle_rss):.1f} MiB after the warm-up, {idle_thr} threads")
def pct(v, p):
    v = sorted(v)
    i = max(1, min(len(v), -(-len(v) * p // 100)))
    return v[i - 1]
ok = True
for s in sys.argv[7:]:
    rate, peak_rss, peak_thr = s.split()
    crowd = json.load(open(f"{d}/crowd-{rate}.json"))
    print(f"round at {int(rate) // 1024} KiB/s: peak {mib(int(peak_rss)):.1f} MiB RSS, {peak_thr} threads")
    for kind, outcomes in sorted(crowd.items()):
        print(f"  {kind}s: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    probes = {}
    for line in open(f"{d}/probes-{rate}.log"):
        what, code, t = line.split()
        probes.setdefault(what, []).append((code, float(t)))
    for what in ("login", "listing", "healthz"):
        v = probes.get(what, [])
        times = [t for _, t in v]
        failed = sum(1 for c, _ in v if not c.startswith("2"))
        p50, p99 = pct(times, 50), pct(times, 99)
        verdict = "PASS" if p99 < 1.0 and failed == 0 else "MISS"
        ok &= verdict == "PASS"
        print(f"  {what}: {len(v)} probes, {failed} failed, p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms  [{verdict}: p99 < 1 s]")
    verdict = "PASS" if int(peak_rss) < 300 * 1024 else "MISS"
    print(f"  peak RSS [{verdict}: < 300 MiB]")
verdict = "PASS" if after_rss <= idle_rss * 1.2 else "MISS"
print(f"after: {mib(after_rss):.1f} MiB RSS, {after_thr} threads  [{verdict}: within 20% of idle]"
      f" ({after_rss / cold_rss - 1:+.0%} against the server before the warm-up)")
EOF
echo "RSS after set-up: $COLD_SPLIT; after the warm-up: $IDLE_SPLIT; after the rounds: $AFTER_SPLIT"
echo "$REFUSED"
exit 0
