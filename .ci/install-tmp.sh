#!/usr/bin/env bash
# CI: a fresh clone on a Debian 12 machine. Installs everything the tests need, then runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
# Debian packages: Chromium for the browser tests, and what the mediasoup worker build and
# runtime need (the postinstall would install these too; doing it here in one apt run is faster).
# coturn: the TURN browser test runs its own turnserver on loopback.
PKGS="chromium fonts-liberation coturn python3 python3-invoke meson ninja-build pkg-config g++ libuv1-dev libssl-dev libsrtp2-dev libabsl-dev libflatbuffers-dev flatbuffers-compiler"
missing=""
for p in $PKGS; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"; done
if [ -n "$missing" ]; then
  # coturn's postinst starts its system service and fails the install if that fails; the tests
  # need no service. A policy-rc.d that exits 101 ("forbidden") makes invoke-rc.d and
  # deb-systemd-invoke skip the start; one that already exists (containers) is left alone.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq
  apt-get install -y --no-install-recommends $missing
fi
npm ci --no-audit --no-fund
