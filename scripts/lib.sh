# shellcheck shell=bash
# Shared by scripts/start.sh, scripts/test.sh and scripts/bench.sh: install what is missing, build.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# apt_ensure CMD PKG [CMD PKG ...]: installs the Debian packages whose commands are missing (root only).
apt_ensure() {
  local missing=()
  while [ $# -gt 1 ]; do
    command -v "$1" >/dev/null 2>&1 || missing+=("$2")
    shift 2
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    say "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})"
    return 1
  fi
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# npm dependencies, from the lock file. `npm install` rather than `npm ci`: npm 11 leaves other platforms' optional
# packages (biome, turbo binaries) out of the lock file and `npm ci` then refuses it as out of sync.
npm_ensure() {
  if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ]; then
    say "installing npm dependencies"
    npm install --no-audit --no-fund --loglevel=error
  elif [ package-lock.json -nt node_modules/.package-lock.json ] || [ package.json -nt node_modules/.package-lock.json ]; then
    say "updating npm dependencies"
    npm install --no-audit --no-fund --loglevel=error
  fi
}

build() {
  say "building"
  npx --no-install turbo run build --output-logs=errors-only
}
