#!/bin/sh
# Install the Debian 12 packages mamori needs to build, test and fuzz.
# Idempotent: only what is missing is installed (after apt-get update).
# Works as root on a fresh machine, or through sudo.
set -eu

PKGS="
build-essential
pkg-config
libyaml-dev
libsqlite3-dev
clang
libclang-rt-14-dev
libevtx-dev
libevtx-utils
libhyperscan-dev
libpcre2-dev
libjansson-dev
python3
libpcap-dev
libmagic-dev
zlib1g-dev
nettle-dev
libndpi-bin
tshark
libcurl4-openssl-dev
libidn2-dev
"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
