#!/bin/sh
# Install the Debian packages the build and the tests need, when running as
# root and something is missing.  Otherwise a no-op.
set -eu

PACKAGES="postgresql-15 postgresql-server-dev-15 postgresql-contrib libipc-run-perl libio-pty-perl"

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "setup-deps: no dpkg-query (not Debian?); not installing anything"
    exit 0
fi

missing=
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "setup-deps: all present ($PACKAGES)"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "setup-deps: missing:$missing; not root, so not installing (run 'make deps' as root)"
    exit 0
fi

echo "setup-deps: missing:$missing; installing $PACKAGES"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y $PACKAGES
