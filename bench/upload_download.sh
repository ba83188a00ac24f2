#!/usr/bin/env bash
# Benchmark (not a test): upload and download a 1 GiB file through the JSON API and compare
# with plain file copies on the same filesystem; sample the server's RSS during the uploads.
# See bench/README.md for usage. Always exits 0 once it has figures: misses are reported,
# not failed.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bench/upload_download.sh [--reps N] [--clean]

  --reps N   repetitions of each measurement, median reported (default 3, or $REPS)
  --clean    delete the big random file at the end (default: keep it for the next run)

environment:
  CLOUDVAULT_BIN  prebuilt cloudvault binary (default: cargo build --release, then the binary in
                  target/release, or in $CARGO_TARGET_DIR/release when that is set)
  BENCH_DIR       scratch folder; the file, the server's data and the cp copies all live
                  here, so they share one filesystem (default /tmp/cloudvault-bench)
  SIZE_MIB        size of the random file in MiB (default 1024)
  CURL_EXTRA      extra curl arguments for the API requests, e.g. "-H Expect:"
EOF
}

REPS=${REPS:-3}
CLEAN=${CLEAN:-0}
while [[ $# -gt 0 ]]; do
    case $1 in
        --reps) REPS=$2; shift 2 ;;
        --clean) CLEAN=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done
[[ $REPS =~ ^[1-9][0-9]*$ ]] || { echo "--reps wants a positive number" >&2; exit 2; }

REPO=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/cloudvault-bench}
SIZE_MIB=${SIZE_MIB:-1024}
read -r -a CURL_EXTRA <<<"${CURL_EXTRA:-}"
BIG=$BENCH_DIR/big.bin
DATA=$BENCH_DIR/data
COPY=$BENCH_DIR/copy.bin
USER_NAME=bench
PASSWORD='tulip-orbit-92'

log() { printf '== %s\n' "$*" >&2; }

# --- the binary -------------------------------------------------------------------------------
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

# --- scratch folder, cleanup ------------------------------------------------------------------
SERVER_PID=
SAMPLER_PID=
cleanup() {
    if [[ -n $SAMPLER_PID ]]; then kill "$SAMPLER_PID" 2>/dev/null || true; fi
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$DATA" "$COPY"
    if [[ $CLEAN == 1 ]]; then rm -f "$BIG"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$BENCH_DIR"
rm -rf "$DATA" "$COPY"
mkdir -p "$DATA"
BYTES=$((SIZE_MIB * 1024 * 1024))
if [[ -f $BIG && $(stat -c %s "$BIG") -eq $BYTES ]]; then
    log "reusing $BIG"
else
    log "writing $SIZE_MIB MiB of random bytes to $BIG"
    head -c "$BYTES" /dev/urandom >"$BIG.tmp"
    mv "$BIG.tmp" "$BIG"
fi

# --- helpers ----------------------------------------------------------------------------------
now() { echo "$EPOCHREALTIME"; }                          # seconds, microsecond resolution
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }
mibps() { awk -v s="$1" -v n="$BYTES" 'BEGIN { printf "%.1f", n / 1048576 / s }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.1f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", 100 * a / b }'; }
json_get() { python3 -c 'import json, sys; d = json.load(sys.stdin)
for k in sys.argv[1].split("."): d = d[int(k)] if k.isdigit() else d[k]
print(d)' "$1"; }
# CPU seconds (user + system) the server has used so far.
server_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$SERVER_PID/stat"; }
status_kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$SERVER_PID/status"; }

# Appends VmRSS (KiB) of the server to $1 every 50 ms, using no process but sleep.
rss_sampler() {
    local out=$1 key val _
    while [[ -r /proc/$SERVER_PID/status ]]; do
        while read -r key val _; do
            if [[ $key == VmRSS: ]]; then echo "$val" >>"$out"; break; fi
        done <"/proc/$SERVER_PID/status" || true
        sleep 0.05
    done
}

# --- server, account, token -------------------------------------------------------------------
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
log "starting $BIN on $URL (data $DATA)"
"$BIN" --data "$DATA" serve --listen "127.0.0.1:$PORT" >"$BENCH_DIR/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/auth/me" || true)
    [[ $code != 000 ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$BENCH_DIR/server.log" >&2; exit 1; }
    sleep 0.1
done
"$BIN" --data "$DATA" admin create-user "$USER_NAME" --password "$PASSWORD" --admin --quota 100GB >/dev/null

# $TOKEN: an access token, renewed when 10 minutes old (they live 15). Logging in runs a
# password hash, so it never happens inside a timed section, and only as often as needed: each
# Argon2 hash can leave ~19 MiB in the server's heap, which would pollute the RSS figure.
TOKEN='' TOKEN_AT=0
fresh_token() {
    if ((EPOCHSECONDS - TOKEN_AT < 600)); then return; fi
    TOKEN=$(curl -sS --fail-with-body -H 'Content-Type: application/json' \
        -d "{\"username\":\"$USER_NAME\",\"password\":\"$PASSWORD\"}" "$URL/api/auth/login" | json_get access_token)
    TOKEN_AT=$EPOCHSECONDS
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)   # other work on the machine skews the figures
fs=$(df -T "$BENCH_DIR" | awk 'NR == 2 { print $1 " (" $2 ")" }')
log "file $SIZE_MIB MiB, $REPS reps, filesystem $fs, $(nproc) cores"

# --- measurements -----------------------------------------------------------------------------
# One round per rep, each round doing every measurement in turn, so that all of them meet the disk
# in the same state (this VM's disk slows down as gigabytes are written in a row).
cat "$BIG" >/dev/null # warm the page cache
CAT=() CP=() CPSYNC=() UP=() UP_CPU=() DOWN=() DOWN_CPU=() FILE_ID=
RSS_LOG=$BENCH_DIR/rss-upload.log
: >"$RSS_LOG"
for i in $(seq "$REPS"); do
    # (d) cat from the page cache
    t0=$(now); cat "$BIG" >/dev/null; t1=$(now)
    CAT+=("$(mibps "$(elapsed "$t0" "$t1")")")

    # (c) cp, then cp + fsync of the copy (sync FILE), which is what the server does
    sync
    t0=$(now); cp "$BIG" "$COPY"; t1=$(now)
    CP+=("$(mibps "$(elapsed "$t0" "$t1")")")
    rm -f "$COPY"
    sync
    t0=$(now); cp "$BIG" "$COPY"; sync "$COPY"; t1=$(now)
    CPSYNC+=("$(mibps "$(elapsed "$t0" "$t1")")")
    rm -f "$COPY"

    # (a) upload, with the server's RSS sampled meanwhile; the previous upload goes first
    fresh_token
    if [[ -n $FILE_ID ]]; then
        curl -sS --fail-with-body -o /dev/null -X DELETE -H "Authorization: Bearer $TOKEN" "$URL/api/files/$FILE_ID"
    fi
    sync
    rss_sampler "$RSS_LOG" & SAMPLER_PID=$!
    c0=$(server_cpu); t0=$(now)
    curl -sS --fail-with-body -o "$BENCH_DIR/upload.json" "${CURL_EXTRA[@]}" \
        -H "Authorization: Bearer $TOKEN" -F "file=@$BIG" "$URL/api/files/upload"
    t1=$(now); c1=$(server_cpu)
    kill "$SAMPLER_PID"; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=
    FILE_ID=$(json_get files.0.id <"$BENCH_DIR/upload.json")
    size=$(json_get files.0.size <"$BENCH_DIR/upload.json")
    [[ $size -eq $BYTES ]] || { echo "upload stored $size bytes, want $BYTES" >&2; exit 1; }
    secs=$(elapsed "$t0" "$t1")
    UP+=("$(mibps "$secs")")
    UP_CPU+=("$(pct "$(elapsed "$c0" "$c1")" "$secs")")

    # (b) download of that file; its body was just written, so it is in the page cache
    fresh_token
    c0=$(server_cpu); t0=$(now)
    got=$(curl -sS --fail-with-body -o /dev/null -w '%{size_download}' "${CURL_EXTRA[@]}" \
        -H "Authorization: Bearer $TOKEN" "$URL/api/files/$FILE_ID/download")
    t1=$(now); c1=$(server_cpu)
    [[ $got -eq $BYTES ]] || { echo "download gave $got bytes, want $BYTES" >&2; exit 1; }
    secs=$(elapsed "$t0" "$t1")
    DOWN+=("$(mibps "$secs")")
    DOWN_CPU+=("$(pct "$(elapsed "$c0" "$c1")" "$secs")")

    log "round $i MiB/s: cat ${CAT[-1]}, cp ${CP[-1]}, cp+sync ${CPSYNC[-1]}, upload ${UP[-1]}, download ${DOWN[-1]}"
done
RSS_PEAK_SAMPLED=$(sort -n "$RSS_LOG" | tail -1); RSS_PEAK_SAMPLED=${RSS_PEAK_SAMPLED:-0}
HWM_END=$(status_kib VmHWM)

# --- report -----------------------------------------------------------------------------------
cat_m=$(median "${CAT[@]}"); cp_m=$(median "${CP[@]}"); cpsync_m=$(median "${CPSYNC[@]}")
up_m=$(median "${UP[@]}"); down_m=$(median "${DOWN[@]}")
up_pct=$(pct "$up_m" "$cp_m"); up_pct_sync=$(pct "$up_m" "$cpsync_m"); down_pct=$(pct "$down_m" "$cat_m")
# VmHWM is the whole life's peak (start-up, one login, downloads too): the stricter figure wins.
rss_mib=$(awk -v a="$RSS_PEAK_SAMPLED" -v b="$HWM_END" 'BEGIN { m = a > b ? a : b; printf "%.1f", m / 1024 }')
verdict() { if awk -v ok="$1" 'BEGIN { exit !ok }'; then echo PASS; else echo MISS; fi; }
v_up=$(verdict "$((up_pct >= 60))"); v_down=$(verdict "$((down_pct >= 15))")
v_rss=$(verdict "$(awk -v r="$rss_mib" 'BEGIN { print (r < 100) }')")

echo
echo "CloudVault upload/download benchmark: $SIZE_MIB MiB file, median of $REPS, $(nproc) cores, $fs"
echo "binary $BIN, $(date -u +%Y-%m-%dT%H:%MZ), load average at start $LOAD_START, at end $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '%-34s %12s %16s %8s\n' measurement value "vs baseline" target
printf '%-34s %12s %16s %8s\n' ---------------------------------- ------------ ---------------- --------
printf '%-34s %8s MiB/s %16s %8s\n' "upload (POST multipart)" "$up_m" "$up_pct% of cp" "$v_up"
printf '%-34s %8s MiB/s %16s %8s\n' "download (GET, to /dev/null)" "$down_m" "$down_pct% of cat" "$v_down"
printf '%-34s %8s MiB %16s %8s\n' "server peak RSS (upload, VmHWM)" "$rss_mib" "< 100 MiB" "$v_rss"
echo
echo "baselines: cp $cp_m MiB/s, cp + sync $cpsync_m MiB/s (upload is $up_pct_sync% of it), cat (cached) $cat_m MiB/s"
echo "targets: upload >= 60% of cp, download >= 15% of cached cat, peak RSS < 100 MiB"
echo "each rep (MiB/s): upload ${UP[*]}; download ${DOWN[*]}; cp ${CP[*]}; cp+sync ${CPSYNC[*]}; cat ${CAT[*]}"
echo "server CPU, % of one core over the request: upload ${UP_CPU[*]}; download ${DOWN_CPU[*]}"
echo "server RSS: peak of the 50 ms samples during uploads $((RSS_PEAK_SAMPLED / 1024)) MiB, VmHWM at the end $((HWM_END / 1024)) MiB"
exit 0
