#!/usr/bin/env bash
# Installs every Debian 12 package that flashlab's build and tests need. Idempotent and
# non-interactive; uses sudo when not run as root. The CUDA Toolkit is optional and not installed
# here: without nvcc everything but cuda/ builds and runs.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git clang-format patch
  libeigen3-dev doctest-dev libcli11-dev nlohmann-json3-dev libstb-dev
  libglfw3-dev libimgui-dev
  xvfb xauth libgl1-mesa-dri libglx-mesa0 xdotool
  python3
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
