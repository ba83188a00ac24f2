#!/usr/bin/env bash
# Puts ONNX Runtime's shared library (libonnxruntime.so) where CloudVault finds it, taken from the
# PyPI wheel `onnxruntime` (the only source reachable from an offline-ish box: no GitHub, no CDN).
#
#   scripts/fetch-onnxruntime.sh [DEST]      default DEST: ./data/onnxruntime (the default data folder)
#
# Writes DEST/libonnxruntime.so.<version> plus the symlinks libonnxruntime.so.1 and libonnxruntime.so,
# and prints the library's path on stdout (progress goes to stderr). Run it again: it does nothing
# when the library is already there. CloudVault looks for the library in this order: [ml] onnxruntime
# in the config, $ORT_DYLIB_PATH, <data folder>/onnxruntime/, <folder of the binary>/onnxruntime/,
# /usr/local/lib, /usr/lib (see src/ml/runtime.rs). With a data folder elsewhere:
#   scripts/fetch-onnxruntime.sh /var/lib/cloudvault/onnxruntime
#
# Needs python3 (to read the index and unzip) and either pip or curl. The wheel's sha256 is checked:
# against the pinned table below for the default version, else against the index's published hash.
# ORT_VERSION=1.32.0 picks another version (the `ort` crate's api-31 feature needs >= 1.31).
set -euo pipefail

ORT_VERSION="${ORT_VERSION:-1.31.1}"
DEST="${1:-./data/onnxruntime}"
INDEX="${PIP_INDEX_URL:-https://pypi.org/simple}"
INDEX="${INDEX%/}"
PYTAG=cp311   # any CPython tag works: the library inside is the same; 3.11 wheels exist for every arch

case "$(uname -m)" in
  x86_64)        PLAT=manylinux_2_28_x86_64 ;;
  aarch64|arm64) PLAT=manylinux_2_28_aarch64 ;;
  *) echo "fetch-onnxruntime: no onnxruntime wheel for $(uname -m) on PyPI; build ONNX Runtime >= 1.31 yourself and set [ml] onnxruntime" >&2; exit 1 ;;
esac
WHEEL="onnxruntime-${ORT_VERSION}-${PYTAG}-${PYTAG}-${PLAT}.whl"

# sha256 of the wheels of the default version, as published on pypi.org.
pinned_sha256() {
  case "$1" in
    onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl)  echo 5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f ;;
    onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_aarch64.whl) echo da05378364c44d4407e463982d2bf8d5e4cfea873283757e48beeb41df97b7f3 ;;
    *) echo "" ;;
  esac
}

LIB="libonnxruntime.so.${ORT_VERSION}"
if [ -s "$DEST/$LIB" ]; then
  ln -sfn "$LIB" "$DEST/libonnxruntime.so.1"
  ln -sfn "$LIB" "$DEST/libonnxruntime.so"
  echo "fetch-onnxruntime: already present" >&2
  echo "$(cd "$DEST" && pwd)/$LIB"
  exit 0
fi
command -v python3 >/dev/null || { echo "fetch-onnxruntime: python3 is needed" >&2; exit 1; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
WANT="$(pinned_sha256 "$WHEEL")"

if python3 -m pip --version >/dev/null 2>&1; then
  # pip honours the machine's pip configuration (mirrors, proxies, certificates).
  echo "fetch-onnxruntime: pip download $WHEEL" >&2
  REQ="onnxruntime==${ORT_VERSION}"
  if [ -n "$WANT" ]; then REQ="$REQ --hash=sha256:$WANT"; fi
  echo "$REQ" >"$TMP/req.txt"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --platform "$PLAT" \
    --python-version 3.11 --implementation cp --dest "$TMP" -r "$TMP/req.txt" >&2
else
  command -v curl >/dev/null || { echo "fetch-onnxruntime: needs pip or curl" >&2; exit 1; }
  echo "fetch-onnxruntime: downloading $WHEEL from $INDEX" >&2
  # PEP 691 JSON form of the simple index: file URL and sha256 without scraping HTML.
  curl -fsSL -H 'Accept: application/vnd.pypi.simple.v1+json' "$INDEX/onnxruntime/" -o "$TMP/index.json"
  read -r URL SHA < <(python3 - "$TMP/index.json" "$WHEEL" <<'PY'
import json, sys
files = json.load(open(sys.argv[1]))["files"]
f = next((f for f in files if f["filename"] == sys.argv[2]), None)
if f is None:
    sys.exit(f"{sys.argv[2]} is not on the index")
print(f["url"], f.get("hashes", {}).get("sha256", ""))
PY
)
  WANT="${WANT:-$SHA}"
  curl -fL --progress-bar "$URL" -o "$TMP/$WHEEL"
fi

shopt -s nullglob
wheels=("$TMP"/onnxruntime-*.whl)
[ ${#wheels[@]} -eq 1 ] || { echo "fetch-onnxruntime: the download gave no wheel" >&2; exit 1; }
if [ -n "$WANT" ]; then
  GOT="$(sha256sum "${wheels[0]}" | cut -d' ' -f1)"
  if [ "$GOT" != "$WANT" ]; then
    echo "fetch-onnxruntime: checksum mismatch for $(basename "${wheels[0]}"): got $GOT, want $WANT" >&2
    exit 1
  fi
fi

mkdir -p "$DEST"
python3 - "${wheels[0]}" "$DEST" "$LIB" <<'PY'
import os, shutil, sys, zipfile
whl, dest, lib = sys.argv[1:4]
with zipfile.ZipFile(whl) as z:
    name = next((n for n in z.namelist() if n.startswith("onnxruntime/capi/") and os.path.basename(n) == lib), None)
    if name is None:
        sys.exit(f"{lib} not found in {os.path.basename(whl)}")
    tmp = os.path.join(dest, f".{lib}.tmp")
    with z.open(name) as src, open(tmp, "wb") as out:
        shutil.copyfileobj(src, out)
    os.chmod(tmp, 0o755)
    os.replace(tmp, os.path.join(dest, lib))   # never a half-written library under the real name
PY
ln -sfn "$LIB" "$DEST/libonnxruntime.so.1"
ln -sfn "$LIB" "$DEST/libonnxruntime.so"
echo "fetch-onnxruntime: done" >&2
echo "$(cd "$DEST" && pwd)/$LIB"
