#!/usr/bin/env bash
# The Windows exe's window under Wine, on an Xvfb of its own (a unix-socket display, no TCP),
# inside the loopback-only namespace pfw-wine. Run as root with WINEPREFIX set up (setup.sh):
#
#   window.sh demo EXE SHOT.png       the demo window opens, reads and draws the demo table
#                                     (screenshot), closes on Alt+F4 and exits 0
#   window.sh no-opengl EXE SHOT.png  on a display without GLX (no OpenGL), started the way
#                                     Explorer starts it (no console, no standard handles), the
#                                     exe shows its "cannot open the window" message box
#                                     (screenshot), and exits 1 once OK is pressed
#
# Wine's OpenGL (WGL) runs over the host's GLX: Mesa (libglx-mesa0, libgl1-mesa-dri's
# llvmpipe) on Xvfb at depth 24 with GLX. At xvfb-run's default depth, 8, or without GLX, no
# pixel format is found (glutin: "Found no glutin configs"); at depth 16 eframe panics.
# Every wait polls a condition against one deadline; nothing sleeps as synchronisation.
set -euo pipefail
if [ "${1:-}" != inside ]; then
    exec timeout 90 ip netns exec pfw-wine "$0" inside "$@"
fi
mode=$2 exe=$3 shot=$4
WINE=${WINE:-/usr/lib/wine/wine64}
: "${WINEPREFIX:?set WINEPREFIX}"
app= xvfb=
cleanup() { kill $app $xvfb 2>/dev/null || true; }
trap cleanup EXIT
deadline=$((SECONDS + 60))
fail() { echo "wine-window ($mode): $*"; [ -s "$shot.log" ] && tail -n 20 "$shot.log"; exit 1; }

glx=+extension
[ "$mode" = no-opengl ] && glx=-extension
# -displayfd: Xvfb picks a free display and writes its number once it takes clients.
rm -f "$shot" "$shot.display" "$shot.log"
Xvfb -displayfd 4 -nolisten tcp -screen 0 1280x800x24 "$glx" GLX 4>"$shot.display" >/dev/null 2>&1 &
xvfb=$!
until [ -s "$shot.display" ] || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
[ -s "$shot.display" ] || fail "Xvfb did not start"
export DISPLAY=:$(cat "$shot.display")
# A wineserver still up from an earlier run without a display (the tests, the demo) would
# give this one its desktop, which has no GLX ("Found no glutin configs"): start afresh.
WINESERVER=${WINESERVER:-/usr/lib/wine/wineserver64}
"$WINESERVER" -k 2>/dev/null || true
"$WINESERVER" -w 2>/dev/null || true

# The first window whose title starts with PortForward (the main window or the message box).
window=
find_window() {
    window=${window:-$(xdotool search --name "^PortForward" 2>/dev/null | head -n 1 || true)}
    [ -n "$window" ]
}
# The number of colours in a part of the window in the screenshot (x y w h in quarters of
# its size; its geometry, WIDTH HEIGHT X Y, from `geometry`).
# A window that went (a transient one while Wine starts) is forgotten, and looked for again.
geometry() {
    local shell
    shell=$(xdotool getwindowgeometry --shell "$window" 2>/dev/null) || { window=; return 1; }
    eval "$shell"
}
colours_in() {
    convert "$shot" -crop "$((WIDTH * $3 / 4))x$((HEIGHT * $4 / 4))+$((X + WIDTH * $1 / 4))+$((Y + HEIGHT * $2 / 4))" \
        +repage -format %k info: 2>/dev/null || echo 0
}
# Waits for the app to exit (after closing it); its exit status in `rc`.
wait_exit() {
    timeout 20 tail --pid="$app" -f /dev/null || fail "it did not exit after closing"
    rc=0
    wait "$app" || rc=$?
    app=
}

case $mode in
demo)
    # The window writes its log beside its settings, in the prefix: "read N mappings" there
    # is the demo table read; the screenshot must then show it.
    # (In a new prefix neither the file nor its folder is there yet: the glob is read anew.)
    app_log() { cat "$WINEPREFIX"/drive_c/users/*/AppData/Roaming/portforward/data/portforward.log 2>/dev/null || true; }
    logged=$(app_log | wc -l)
    "$WINE" "$exe" --demo >"$shot.log" 2>&1 &
    app=$!
    read= colours=0
    # Drawn: the middle of the table (the right half, a quarter to three quarters down, empty
    # until rows come) has text, i.e. many colours from antialiasing.
    while [ $SECONDS -lt $deadline ]; do
        kill -0 "$app" 2>/dev/null || fail "the exe exited"
        read=$(app_log | tail -n +$((logged + 1)) | grep -oE "read [0-9]+ mappings" | tail -n 1 || true)
        if find_window && [ -n "$read" ] && import -window root "$shot" 2>/dev/null; then
            geometry || { sleep 0.2; continue; }
            colours=$(colours_in 2 1 2 2)
            [ "$colours" -gt 20 ] && break
        fi
        sleep 0.2
    done
    [ -n "$window" ] || fail "no window within the deadline"
    [ -n "$read" ] || fail "the demo table was not read within the deadline"
    [ "$colours" -gt 20 ] || fail "no table drawn ($colours colours where its rows go)"
    echo "wine-window: window ${WIDTH}x${HEIGHT}, $read, table drawn ($colours colours) in ${SECONDS}s"
    xdotool windowfocus --sync "$window" key --clearmodifiers alt+F4
    wait_exit
    [ "$rc" -eq 0 ] || fail "exit $rc after closing"
    echo "wine-window: closed by Alt+F4, exit 0"
    ;;
no-opengl)
    # `start /wait /unix` starts it as Explorer does (no console, no standard handles) and
    # returns its exit status.
    "$WINE" start /wait /unix "$exe" --demo </dev/null >"$shot.log" 2>&1 &
    app=$!
    colours=0
    while [ $SECONDS -lt $deadline ]; do
        kill -0 "$app" 2>/dev/null || fail "the exe exited without a message box"
        if find_window && import -window root "$shot" 2>/dev/null; then
            # The box has its icon and lines of text: more than its background and frame.
            geometry || { sleep 0.2; continue; }
            colours=$(colours_in 0 0 4 4)
            [ "$colours" -gt 20 ] && break
        fi
        sleep 0.2
    done
    [ -n "$window" ] || fail "no message box within the deadline"
    [ "$colours" -gt 20 ] || fail "the message box stayed blank ($colours colours)"
    echo "wine-window: message box \"$(xdotool getwindowname "$window")\" ${WIDTH}x${HEIGHT} in ${SECONDS}s"
    xdotool windowfocus --sync "$window" key Return
    wait_exit
    [ "$rc" -eq 1 ] || fail "exit $rc after OK (1 expected: the window did not open)"
    echo "wine-window: OK pressed, exit 1"
    ;;
*)
    fail "unknown mode (demo or no-opengl)"
    ;;
esac
