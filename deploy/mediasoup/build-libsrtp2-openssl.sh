#!/usr/bin/env bash
# Builds a static libsrtp2 whose crypto is OpenSSL's, from Debian's own source package (the
# version and patches Debian ships), for build-mediasoup-worker.sh to link into the worker.
# Debian's libsrtp2 does its crypto through NSS: AES-GCM and AES-CM+HMAC-SHA1 run 1.7x and
# 2.7x slower there than over OpenSSL (srtp_driver -t, 1024-byte packets, measured here).
# Usage: build-libsrtp2-openssl.sh <work dir>. On success the last line of stdout is the
# pkg-config directory of the installed static library; any failure exits non-zero.
# Network: only the Debian mirror already configured for apt (deb-src of the same archive).
set -euo pipefail
WORK="${1:?usage: build-libsrtp2-openssl.sh <work dir>}"
VERSION=2.5.0   # bookworm's; the worker's libsrtp2 API patch is written against it
rm -rf "$WORK" && mkdir -p "$WORK"
cd "$WORK"

# A private apt state (lists, cache, sources) with deb-src entries copied from the system's
# deb ones: the system's apt configuration and package lists are left untouched, and this
# works whoever runs it (no root needed to read sources).
APT="$WORK/apt"
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/sources.list.d"
: > "$APT/sources.list"
for f in /etc/apt/sources.list.d/*.sources; do
  [ -e "$f" ] && sed -E 's/^Types:.*$/Types: deb-src/' "$f" > "$APT/sources.list.d/$(basename "$f")"
done
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [ -e "$f" ] && sed -nE 's/^deb[[:space:]]/deb-src /p' "$f" >> "$APT/sources.list"
done
APT_OPTS=(-o "Dir::Etc::SourceList=$APT/sources.list" -o "Dir::Etc::SourceParts=$APT/sources.list.d"
  -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache" -o "Dir::Cache::pkgcache="
  -o "Dir::Cache::srcpkgcache=" -o Acquire::Retries=1 -o Acquire::http::Timeout=20
  -o "APT::Sandbox::User=$(id -un)" -o Debug::NoLocking=1)
apt-get "${APT_OPTS[@]}" -qq update
# apt verifies the files against the signed Sources index; dpkg-source applies Debian's patches.
apt-get "${APT_OPTS[@]}" -qq --download-only source libsrtp2 >/dev/null
DSC="$(ls "$WORK"/libsrtp2_"$VERSION"-*.dsc)" || { echo "Debian's libsrtp2 source is not $VERSION" >&2; exit 1; }
dpkg-source -x --no-check "$DSC" src >/dev/null

# Static (linked whole into the worker), OpenSSL crypto. crypto-library-kdf needs a KDF that
# stock OpenSSL lacks (Cisco's fork has it): off. Release = -O3, like mediasoup's own build.
meson setup "$WORK/build" src --buildtype release -Ddefault_library=static -Db_staticpic=true \
  -Dcrypto-library=openssl -Dcrypto-library-kdf=disabled -Ddoc=disabled -Dpcap-tests=disabled \
  -Dtests=enabled --prefix "$WORK/prefix" --libdir lib >/dev/null
ninja -C "$WORK/build" >/dev/null
# libsrtp's own self-test of every cipher, through OpenSSL, before anything links it.
"$WORK/build/test/srtp_driver" -v >/dev/null
meson install -C "$WORK/build" >/dev/null
[ -f "$WORK/prefix/lib/libsrtp2.a" ] && [ -f "$WORK/prefix/lib/pkgconfig/libsrtp2.pc" ]
echo "$WORK/prefix/lib/pkgconfig"
