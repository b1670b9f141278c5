#!/usr/bin/env bash
# Prepares running PortForward's Windows build under Wine, as root:
# - the `pfw-wine` network namespace with only loopback up (everything under Wine runs there);
# - a Wine prefix at $WINEPREFIX (created inside the namespace, so even wineboot sees no network);
# - the bcryptprimitives.dll stand-in (bcryptprimitives.c) in the prefix's system32: Wine 8
#   (Debian 12) lacks the DLL, and every Rust program imports ProcessPrng from it.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${WINEPREFIX:?set WINEPREFIX}"
WINE=${WINE:-/usr/lib/wine/wine64}
export WINEDEBUG=${WINEDEBUG:--all}
# No Mono or Gecko install prompts: PortForward needs neither.
export WINEDLLOVERRIDES=${WINEDLLOVERRIDES:-mscoree,mshtml=}

ip netns add pfw-wine 2>/dev/null || true
ip netns exec pfw-wine ip link set lo up
links=$(ip netns exec pfw-wine ip -o link show | grep -vc ': lo:' || true)
if [ "$links" -ne 0 ]; then
    echo "wine setup: the pfw-wine namespace has interfaces besides lo; refusing" >&2
    exit 1
fi
if [ ! -f "$WINEPREFIX/system.reg" ]; then
    ip netns exec pfw-wine "$WINE" wineboot --init >/dev/null 2>&1 || true
    ip netns exec pfw-wine "${WINE%/*}/wineserver" -w
fi
[ -f "$WINEPREFIX/system.reg" ] || { echo "wine setup: wineboot did not create $WINEPREFIX" >&2; exit 1; }
"$HERE/build-dll.sh" "$WINEPREFIX/drive_c/windows/system32"
echo "wine setup: prefix $WINEPREFIX, namespace pfw-wine (loopback only), $("$WINE" --version)"
