#!/usr/bin/env bash
# Builds the bcryptprimitives.dll stand-in (see bcryptprimitives.c) into the directory given
# (default: this one) with Debian's mingw-w64 cross compiler.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${1:-$HERE}
mkdir -p "$OUT"
x86_64-w64-mingw32-gcc -O2 -Wall -Wextra -Werror -shared -s \
    -o "$OUT/bcryptprimitives.dll" "$HERE/bcryptprimitives.c" "$HERE/bcryptprimitives.def" -lbcrypt
