# shellcheck shell=bash
# apt for scripts/start.sh and scripts/test.sh: installs only what is missing, and waits for
# another apt or dpkg (unattended upgrades on a freshly booted machine) instead of failing at once.
# Needs scripts/lib/common.sh.
#
# apt-get's own -o DPkg::Lock::Timeout covers dpkg's locks, but `apt-get update` (apt 2.6, Debian
# 12) still fails at once on the lists lock, so the locks are also watched here: /proc/locks says
# whether anyone holds them and who.
#
#   CLOUDVAULT_APT_LOCK_TIMEOUT   seconds to wait for the locks (600)
#   CLOUDVAULT_APT_FORCE=1        run the apt steps even when nothing is missing (for
#                                 scripts/check-first-run.sh, which tests the wait; apt then
#                                 marks those packages as installed by hand)

APT_LOCK_TIMEOUT=${CLOUDVAULT_APT_LOCK_TIMEOUT:-600}
APT_LOCK_FILES=(/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock /var/cache/apt/archives/lock)
APT_UPDATED=0

# Prints "PID (command)" of a process that holds one of the apt/dpkg locks, or nothing.
apt_lock_holder() {
  [ -r /proc/locks ] || return 0
  local f dev ino key pid
  for f in "${APT_LOCK_FILES[@]}"; do
    read -r dev ino < <(stat -L -c '%D %i' "$f" 2>/dev/null) || continue
    dev=$((16#$dev))
    # /proc/locks names a file as major:minor:inode, the device numbers in hex.
    key=$(printf '%02x:%02x:%s' $(((dev >> 8) & 0xfff)) $(((dev & 0xff) | ((dev >> 12) & 0xfff00))) "$ino")
    pid=$(awk -v k="$key" '$2 != "->" && $6 == k { print $5; exit }' /proc/locks)
    if [ -n "$pid" ]; then
      printf '%s (%s, on %s)\n' "$pid" "$(cat "/proc/$pid/comm" 2>/dev/null || echo '?')" "$f"
      return 0
    fi
  done
}

apt_wait_for_locks() {
  local holder start said=0
  start=$(date +%s)
  while holder=$(apt_lock_holder) && [ -n "$holder" ]; do
    if [ "$said" -eq 0 ]; then
      say "waiting for another apt/dpkg (unattended upgrades?) to finish: process $holder holds its lock; waiting up to ${APT_LOCK_TIMEOUT}s"
      said=1
    fi
    [ $(($(date +%s) - start)) -lt "$APT_LOCK_TIMEOUT" ] \
      || die "apt/dpkg is still busy after ${APT_LOCK_TIMEOUT}s (process $holder): run this again once it has finished"
    sleep 2
  done
  [ "$said" -eq 0 ] || say "apt/dpkg is free again (waited $(elapsed "$start"))"
}

# apt_get ARGS...: apt-get as root once no other apt/dpkg runs; tried again when another one
# took a lock between the look and the start.
apt_get() {
  local err tries=0 rc
  err=$(mktemp)
  while :; do
    apt_wait_for_locks
    rc=0
    as_root env DEBIAN_FRONTEND=noninteractive \
      apt-get -o DPkg::Lock::Timeout="$APT_LOCK_TIMEOUT" "$@" 2>"$err" || rc=$?
    cat "$err" >&2
    tries=$((tries + 1))
    if [ "$rc" -ne 0 ] && [ "$tries" -lt 10 ] && grep -qE 'Could not get lock|Unable to lock' "$err"; then
      sleep 2
      continue
    fi
    rm -f "$err"
    return "$rc"
  done
}

# apt_install PKG...: installs those of the packages that are not installed (apt-get update first,
# once per script run).
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ "${CLOUDVAULT_APT_FORCE:-0}" = 1 ] && missing=("$@")
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "missing packages (${missing[*]}) and no apt-get: install them by hand"
  say "Installing ${missing[*]} with apt"
  if [ "$APT_UPDATED" -eq 0 ]; then
    apt_get update -qq
    APT_UPDATED=1
  fi
  apt_get install -y -qq "${missing[@]}"
}
