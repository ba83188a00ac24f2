#!/usr/bin/env bash
# Benchmark (not a test): CloudVault's WebDAV door side by side with Apache mod_dav, nginx dav,
# `rclone serve webdav` and dufs, in ONE interleaved run of the shared davbench harness
# (../shared/tools/davbench): 1 GiB PUT/GET, 2,000 small files up and down, PROPFIND Depth 1
# on a 10,000-entry folder, peak RSS, litmus per suite, an rclone round trip. Prints the
# harness's table, then CloudVault against the target (issue 3, acceptance 6: at least Apache
# on every row with full litmus) and its distance to nginx. See bench/README.md.
# Exits 0 once it has a table: misses are reported, not failed.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bench/webdav.sh [options] [-- HARNESS-OPTIONS...]

  --reps N            repetitions, servers interleaved, medians reported (default 3)
  --only-cloudvault   leave the peers out (quick iterations; no comparison in the same run)
  --peers LIST        only these built-in peers, comma-separated (apache,nginx,rclone,dufs;
                      default all four)
  --baseline BIN      also run this cloudvault binary (e.g. the commit before a change) as the
                      entry `cv-base`, interleaved with the others, and compare row by row
  --no-install        never call apt-get / cargo install (fail if a peer is missing)
  --clean             delete the served data of all previous runs and exit; then WAIT ~6 min
                      before the next run (ext4 without a journal creates files ~30x slower for
                      minutes after a mass delete; the harness never deletes during a run)
  -h, --help

  After `--`, options go to the harness unchanged, e.g. `-- --no-litmus --small-n 500`
  (see `$BENCH_DIR/run.sh --help`).

environment:
  CLOUDVAULT_BIN   prebuilt cloudvault binary (default: cargo build --release; honours
                   CARGO_TARGET_DIR, e.g. CARGO_TARGET_DIR=/work/bench-target)
  BENCH_DIR        scratch folder: the harness copy, its test data, runs/, dufs
                   (default /tmp/cloudvault-davbench)
  DAVBENCH_SRC     the harness to copy (default: <repo>/../shared/tools/davbench)
EOF
}

REPS=${REPS:-3}
ONLY_CV=0
PEER_LIST=apache,nginx,rclone,dufs
BASELINE=
INSTALL=1
CLEAN=0
HARNESS_ARGS=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --reps) REPS=$2; shift 2 ;;
        --only-cloudvault) ONLY_CV=1; shift ;;
        --peers) PEER_LIST=$2; shift 2 ;;
        --baseline) BASELINE=$2; shift 2 ;;
        --no-install) INSTALL=0; shift ;;
        --clean) CLEAN=1; shift ;;
        -h|--help) usage; exit 0 ;;
        --) shift; HARNESS_ARGS=("$@"); break ;;
        *) usage >&2; exit 2 ;;
    esac
done
[[ $REPS =~ ^[1-9][0-9]*$ ]] || { echo "--reps wants a positive number" >&2; exit 2; }

REPO=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/cloudvault-davbench}
DAVBENCH_SRC=${DAVBENCH_SRC:-$REPO/../shared/tools/davbench}
log() { printf '== %s\n' "$*" >&2; }

# --- the harness: a private copy (it writes data/ and runs/ beside itself) -------------------
[[ -f $DAVBENCH_SRC/run.sh ]] || { echo "no davbench harness at $DAVBENCH_SRC (set DAVBENCH_SRC)" >&2; exit 1; }
mkdir -p "$BENCH_DIR"
for f in "$DAVBENCH_SRC"/*; do
    case ${f##*/} in data|runs|cargo|pyenv) continue ;; esac    # never the source's state
    cp -r "$f" "$BENCH_DIR/"
done
chmod +x "$BENCH_DIR/run.sh"
if [[ $CLEAN == 1 ]]; then
    exec "$BENCH_DIR/run.sh" --clean
fi

# --- peers --------------------------------------------------------------------------------------
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
missing=()
for t in curl python3 htpasswd litmus chattr ss; do command -v "$t" >/dev/null || missing+=("$t"); done
if [[ $ONLY_CV == 0 ]]; then
    [[ ,$PEER_LIST, != *,apache,* || ( -x /usr/sbin/apache2 && -f /usr/lib/apache2/modules/mod_dav_fs.so ) ]] || missing+=(apache2)
    [[ ,$PEER_LIST, != *,nginx,* || ( -x /usr/sbin/nginx && -f /usr/lib/nginx/modules/ngx_http_dav_ext_module.so ) ]] || missing+=(nginx-extras)
    command -v rclone >/dev/null || missing+=(rclone)
fi
if [[ ${#missing[@]} -gt 0 ]]; then
    [[ $INSTALL == 1 ]] || { echo "missing: ${missing[*]} (run without --no-install, or install them)" >&2; exit 1; }
    log "installing the peers and tools (missing: ${missing[*]})"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        apache2 apache2-utils nginx-extras rclone litmus curl python3 e2fsprogs iproute2 >/dev/null
fi
if [[ $ONLY_CV == 0 ]]; then
    # The harness starts its own apache/nginx on 127.0.0.1; the packages' system services must
    # not listen on public addresses (with or without systemd).
    if [[ -d /run/systemd/system ]]; then
        as_root systemctl disable --now apache2 nginx >/dev/null 2>&1 || true
    else
        for s in apache2 nginx; do
            as_root service "$s" stop >/dev/null 2>&1 || true
            as_root update-rc.d "$s" disable >/dev/null 2>&1 || true
        done
    fi
    if ss -Htlnp 2>/dev/null | grep -E '"(apache2|nginx)"' | grep -vq '127\.0\.0\.1:'; then
        echo "WARNING: an apache2/nginx system service still listens on a public address:" >&2
        ss -Htlnp | grep -E '"(apache2|nginx)"' >&2
    fi
    DUFS=$BENCH_DIR/cargo/bin/dufs                   # where the harness looks for it
    if [[ ,$PEER_LIST, == *,dufs,* && ! -x $DUFS ]]; then
        [[ $INSTALL == 1 ]] || { echo "missing: $DUFS (run without --no-install)" >&2; exit 1; }
        log "cargo install dufs --locked --root $BENCH_DIR/cargo (a few minutes, once)"
        cargo install dufs --locked --root "$BENCH_DIR/cargo" --quiet
    fi
fi

# --- cloudvault -----------------------------------------------------------------------------------
COMMIT=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n ${CLOUDVAULT_BIN:-} ]]; then
    SRC_BIN=$CLOUDVAULT_BIN
    COMMIT="$COMMIT (prebuilt $SRC_BIN)"
else
    log "building the release binary (cargo build --release${CARGO_TARGET_DIR:+, CARGO_TARGET_DIR=$CARGO_TARGET_DIR})"
    (cd "$REPO" && cargo build --release --quiet)
    SRC_BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/cloudvault
    git -C "$REPO" diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || COMMIT="$COMMIT+uncommitted-changes"
fi
[[ -x $SRC_BIN ]] || { echo "no executable at $SRC_BIN" >&2; exit 1; }
# A private copy: a rebuild during the run (another engineer, cargo test) cannot swap it.
mkdir -p "$BENCH_DIR/bin"
CV=$BENCH_DIR/bin/cloudvault
cp "$SRC_BIN" "$CV.new" && mv "$CV.new" "$CV"

# --- versions -------------------------------------------------------------------------------------
{
    echo "cloudvault  $COMMIT"
    if [[ $ONLY_CV == 0 ]]; then
        echo "apache      $(/usr/sbin/apache2 -v 2>/dev/null | sed -n 's/^Server version: //p')"
        echo "nginx       $(/usr/sbin/nginx -v 2>&1 | sed 's/^nginx version: //')"
        echo "rclone      $(rclone version 2>/dev/null | head -n1) ($(command -v rclone))"
        echo "dufs        $("$DUFS" --version 2>/dev/null)"
    fi
    echo "litmus      $(dpkg-query -W -f '${Version}' litmus 2>/dev/null || echo '?')"
    echo "machine     $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
} > "$BENCH_DIR/versions.txt"
cat "$BENCH_DIR/versions.txt" >&2

# --- the run --------------------------------------------------------------------------------------
# The same credentials for every server; CloudVault wants passwords of 8+ characters (the
# harness's default "benchpw" is 7).
export DAVUSER=${DAVUSER:-bench} DAVPASS=${DAVPASS:-tulip-orbit-92}
ENTRIES=()
if [[ $ONLY_CV == 0 ]]; then
    IFS=, read -r -a wanted <<<"$PEER_LIST"
    for p in "${wanted[@]}"; do
        case $p in
            apache) ENTRIES+=("apache=exec \"$BENCH_DIR/run.sh\" _start_apache") ;;
            nginx) ENTRIES+=("nginx=exec \"$BENCH_DIR/run.sh\" _start_nginx") ;;
            rclone) ENTRIES+=('rclone=exec rclone serve webdav "$ROOT" --config "$WORK/rclone.conf" --addr 127.0.0.1:$PORT --user "$DAVUSER" --pass "$DAVPASS"') ;;
            dufs) ENTRIES+=("dufs=exec \"$DUFS\" \"\$ROOT\" -b 127.0.0.1 -p \$PORT -A -a \"\$DAVUSER:\$DAVPASS@/:rw\" --log-file /dev/null") ;;
            *) echo "unknown peer: $p (apache, nginx, rclone, dufs)" >&2; exit 2 ;;
        esac
    done
fi
if [[ -n $BASELINE ]]; then
    [[ -x $BASELINE ]] || { echo "no executable at $BASELINE (--baseline)" >&2; exit 1; }
    BASE_CV=$BENCH_DIR/bin/cloudvault-base
    cp "$BASELINE" "$BASE_CV.new" && mv "$BASE_CV.new" "$BASE_CV"
    echo "cv-base     $("$BASE_CV" --version 2>/dev/null || echo "$BASELINE")" >>"$BENCH_DIR/versions.txt"
    ENTRIES+=(
        --pre "cv-base=\"$BASE_CV\" --data \"\$ROOT\" admin create-user \"\$DAVUSER\" --password \"\$DAVPASS\" --quota 100GB"
        "cv-base[prefix=/dav/files/\$DAVUSER,nodisk]=exec \"$BASE_CV\" --data \"\$ROOT\" serve --listen 127.0.0.1:\$PORT"
    )
fi
# $ROOT, $DAVUSER, $DAVPASS, $PORT are expanded by the harness, per server.
ENTRIES+=(
    --pre "cloudvault=\"$CV\" --data \"\$ROOT\" admin create-user \"\$DAVUSER\" --password \"\$DAVPASS\" --quota 100GB"
    "cloudvault[prefix=/dav/files/\$DAVUSER,nodisk]=exec \"$CV\" --data \"\$ROOT\" serve --listen 127.0.0.1:\$PORT"
)
before=$(ls -1 "$BENCH_DIR/runs" 2>/dev/null | sort | tail -n1 || true)
log "running the harness ($BENCH_DIR/run.sh, reps=$REPS)"
"$BENCH_DIR/run.sh" --reps "$REPS" "${ENTRIES[@]}" ${HARNESS_ARGS[@]+"${HARNESS_ARGS[@]}"} || true
RUN=$(ls -1d "$BENCH_DIR"/runs/*/ 2>/dev/null | sort | tail -n1)
RUN=${RUN%/}
if [[ -z $RUN || ${RUN##*/} == "$before" || ! -f $RUN/table.txt ]]; then
    echo "the harness produced no table (see the newest run under $BENCH_DIR/runs)" >&2
    exit 1
fi
cp "$BENCH_DIR/versions.txt" "$RUN/versions.txt"

# --- the durable floor ------------------------------------------------------------------------------
# The same small files stored with only the steps DESIGN.md §3 asks of an upload before its answer
# (temp file + fsync, rename, folder fsync, one SQLite commit; no HTTP), from as many threads as
# the harness's clients, on the same filesystem: a ceiling for small uploads that are durable
# when answered. Apache, nginx, rclone and dufs answer before anything reaches the disk.
SMALL_N=$(sed -n 's/^SMALL_N=//p' "$RUN/params" 2>/dev/null)
PAR=$(sed -n 's/^PAR=//p' "$RUN/params" 2>/dev/null)
if [[ -d $BENCH_DIR/data/small-${SMALL_N:-x} ]]; then
    log "durable floor: the small files with only the durable steps of an upload (bench/durable_floor.py)"
    python3 "$REPO/bench/durable_floor.py" "$BENCH_DIR/data/small-$SMALL_N" "$RUN/scratch" \
        --threads "${PAR:-4}" > "$RUN/durable-floor.txt" \
        || echo "durable floor: failed (see above)" >&2
fi

# --- CloudVault against the target ----------------------------------------------------------------
python3 - "$RUN/table.txt" "$RUN/durable-floor.txt" <<'EOF'
import os, re, sys
rows = {}
for line in open(sys.argv[1]):
    t = line.split()
    if len(t) < 13 or not re.fullmatch(r'\d+/\d+|-|n/a|abort', t[1]):
        continue
    rss = t[12]
    rest = t[13:]
    if rest and re.fullmatch(r'\(\d+p\)', rest[0]):
        rest = rest[1:]
    num = lambda s: None if s in ('-', '') else float(s)
    rows[t[0]] = dict(litmus=t[1:6], put=num(t[6]), get=num(t[7]), up=num(t[8]), dn=num(t[9]),
                      pf=num(t[11]), rss=num(rss))
# Apache as measured on 2026-11-28 (issue 3) -- the stated target.
REF = dict(put=530, get=3305, up=3634, dn=8061, pf=202, rss=62)
cols = [('put', 'PUT 1GiB MB/s', 1), ('get', 'GET 1GiB MB/s', 1), ('up', 'small up files/s', 1),
        ('dn', 'small down files/s', 1), ('pf', 'PROPFIND 10k ms', -1), ('rss', 'peak RSS MB', -1)]
cv = rows.get('cloudvault')
print()
if not cv:
    print('cloudvault: no figures (skipped or failed; see the run dir)'); sys.exit(0)
def lit_ok(l): return all(re.fullmatch(r'(\d+)/\1', x) for x in l)
ap, ng = rows.get('apache'), rows.get('nginx')
print('CloudVault against the target (>= Apache on every row, full litmus) and its distance to nginx:')
print(f"  {'row':20s} {'cloudvault':>10s} {'apache':>7s} {'vs run':>6s} {'ref':>6s} {'vs ref':>6s} {'nginx':>7s} {'cv/nginx':>8s}")
miss_run = miss_ref = 0
f = lambda x: '-' if x is None else f'{x:.0f}'
for k, lab, sign in cols:
    v = cv[k]
    a = ap[k] if ap else None
    better = lambda bar: v is not None and bar is not None and (v >= bar if sign > 0 else v <= bar)
    ok_run, ok_ref = better(a), better(REF[k])
    miss_run += not ok_run; miss_ref += not ok_ref
    n = ng[k] if ng else None
    ratio = '' if v is None or not n else (f'{v / n:.2f}x' if sign > 0 else f'{n / v:.2f}x')
    print(f"  {lab:20s} {f(v):>10s} {f(a):>7s} {('ok' if ok_run else 'MISS') if a is not None else '-':>6s} "
          f"{REF[k]:>6.0f} {'ok' if ok_ref else 'MISS':>6s} {f(n):>7s} {ratio:>8s}")
lok = lit_ok(cv['litmus'])
print(f"  {'litmus':20s} {' '.join(cv['litmus'])}  {'ok (all pass)' if lok else 'MISS'}")
print(f"  => against Apache in this run: {miss_run + (not lok)} row(s) short; against the 2026-11-28 reference"
      f" figures: {miss_ref + (not lok)} row(s) short")
print("     (apache = this run; ref = issue 3's Apache figures; cv/nginx > 1 means CloudVault is ahead, for ms/MB rows too)")
base = rows.get('cv-base')
if base:
    print()
    print('CloudVault against cv-base (the --baseline binary), in this run (ratio > 1: this build is ahead):')
    for k, lab, sign in cols:
        v, b = cv[k], base[k]
        ratio = '-' if not v or not b else (f'{v / b:.2f}x' if sign > 0 else f'{b / v:.2f}x')
        print(f"  {lab:20s} {f(v):>10s} {f(b):>8s} {ratio:>7s}")
    print(f"  {'litmus':20s} {' '.join(base['litmus'])} (cv-base)")
floor = {}
if os.path.exists(sys.argv[2]):
    for line in open(sys.argv[2]):
        t = line.split()
        if len(t) == 2:
            floor[t[0]] = float(t[1])
if floor:
    print()
    print('Durable floor: the same small files stored with only the steps DESIGN.md §3 asks before an')
    print('answer, no HTTP (bench/durable_floor.py, same threads, same filesystem, right after the run):')
    names = dict(fsync='write + fsync of each body, nothing else',
                 single='temp + fsync, rename, folder fsync, SQLite commit, one file at a time',
                 group='the same, with group commit as CloudVault does')
    for k in ('fsync', 'single', 'group'):
        if k in floor:
            vs = f"  = {floor[k] / ap['up']:.2f}x Apache's small up" if ap and ap['up'] else ''
            print(f"  {k:7s} {floor[k]:7.0f} files/s{vs}   ({names[k]})")
    if 'group' in floor and cv['up']:
        print(f"  CloudVault's small up is {cv['up'] / floor['group']:.2f}x the grouped floor")
    if 'group' in floor and base and base['up']:
        print(f"  cv-base's small up is {base['up'] / floor['group']:.2f}x the grouped floor")
EOF
echo
echo "details: $RUN  (table.txt, results.tsv, versions.txt, litmus/cloudvault/litmus.out, srv/cloudvault/server.log)"
