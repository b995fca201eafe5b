#!/usr/bin/env bash
# Installs the few system packages Relance needs on Debian/Ubuntu when they are missing:
# venv support for Python, Node's npm (to fetch htmx from the npm registry) and Pango (WeasyPrint).
set -euo pipefail
python="${1:-python3}"
missing=()
"$python" -c "import ensurepip, venv" 2>/dev/null || missing+=("python3-venv")
command -v npm >/dev/null 2>&1 || missing+=("npm")
libs=$(ldconfig -p 2>/dev/null || true)  # read once: grep -q in a pipe would trip pipefail
grep -q "libpango-1.0.so" <<<"$libs" || missing+=("libpango-1.0-0" "libpangoft2-1.0-0")
grep -q "libharfbuzz-subset" <<<"$libs" || missing+=("libharfbuzz-subset0")
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Relance needs: ${missing[*]} (install them with your system's package manager)." >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "Installing system packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
