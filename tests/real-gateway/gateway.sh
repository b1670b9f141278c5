#!/usr/bin/env bash
# A real UPnP IGD gateway (Debian's miniupnpd) in network namespaces, for PortForward's tests.
#
#   [pfw-wan]    isp0  1.2.3.1/24     the "internet": a veth peer only, no route out
#       | veth
#   [pfw-router] wan0  1.2.3.4/24     miniupnpd ext_ifname=wan0
#                br-lan 192.168.77.1/24  listening_ip=br-lan, HTTP 49000, NAT-PMP/PCP 5351
#       | bridge ports r-lan1, r-lan2
#   [pfw-lan1]   eth0 192.168.77.10/24, default via .1   the client under test
#   [pfw-lan2]   eth0 192.168.77.11/24, default via .1   a second LAN host
#
# Nothing is created in, and nothing talks to a gateway from, the root network namespace.
# With --cgnat, wan0 gets 100.64.0.2/24 (peer 100.64.0.1): miniupnpd then reports an empty
# external IP and refuses mappings, like a router behind carrier-grade NAT.
#
# With --ipv6 (iptables flavor only) every link also gets static IPv6 (no router adverts, no
# DAD), the router forwards IPv6 behind an ip6tables-legacy filter (policy DROP; LAN out and
# replies allowed; WAN in only through the MINIUPNPD chain, where miniupnpd puts pinholes),
# and miniupnpd runs with IPv6 on (WANIPv6FirewallControl, PCP over IPv6):
#   pfw-wan    isp0   2001:db8:ffff::1/64 and ::99 (a second outside host, for remote-host tests)
#   pfw-router wan0   2001:db8:ffff::4/64, br-lan 2001:db8:77::1/64 (HTTP also on [..::1]:49000)
#   pfw-lan1   eth0   2001:db8:77::10/64, pfw-lan2 eth0 2001:db8:77::11/64, default via ::1
#
# Usage (as root):
#   gateway.sh up [--flavor iptables|nftables] [--igd 1|2] [--secure yes|no] [--cgnat]
#                 [--natpmp yes|no] [--ipv6]
#                                       defaults: iptables, 2, no, no cgnat, natpmp yes, no IPv6
#                                       prints the description URL as the last stdout line
#   gateway.sh down                     unconditional teardown; never fails
#   gateway.sh kill-daemon [--term]     SIGKILL (a crash; default) or SIGTERM the daemon
#   gateway.sh start-daemon [--clean]   restart with the same config (--clean: flush the
#                                       daemon's chains/tables first, as after a reboot)
#   gateway.sh link down|up [--cable]   lan1's link: default sets lan1's eth0 down/up inside
#                                       pfw-lan1 (address and default route are restored on
#                                       up); --cable downs the router-side bridge port instead
#                                       (lan1 keeps its address/routes but loses carrier)
#   gateway.sh exec lan1|lan2|router|wan CMD...   run CMD in that namespace
#   gateway.sh url                      print the description URL
#   gateway.sh status                   show what is up
#   gateway.sh install [iptables|nftables|all]   install the Debian packages this needs
#
# Calling this script from inside a namespace (the tests do: they run in pfw-lan1 and call
# `$PFW_HARNESS kill-daemon` / `start-daemon`) works: `ip netns exec NS` switches to the
# namespace by its path /run/netns/NS, whatever namespace the caller is in, and the PIDs we
# record are global (no PID namespaces are used). Verified with nested calls from pfw-lan1.
#
# Environment: PFW_DEBUG=1 runs miniupnpd with -d (foreground, verbose log in
# /run/pfw-harness/miniupnpd.log). Do not time anything in debug mode: debug logging makes
# the nftables build's listing hundreds of times slower.
#
# Two miniupnpd builds side by side: the iptables build is the `miniupnpd-iptables` package
# (/usr/sbin/miniupnpd). `miniupnpd-nftables` conflicts with it, so its .deb is fetched with
# `apt-get download` and unpacked with `dpkg-deb -x` into /opt/pfw-miniupnpd-nftables; its
# library dependencies (libnftnl11, libmnl0) are installed as ordinary packages. Never
# install the `miniupnpd` meta-package (it brings a service for the host).
set -euo pipefail

STATE=/run/pfw-harness
NFT_PREFIX=/opt/pfw-miniupnpd-nftables
IPT_BIN=/usr/sbin/miniupnpd
NFT_BIN=$NFT_PREFIX/usr/sbin/miniupnpd
NAMESPACES=(pfw-wan pfw-router pfw-lan1 pfw-lan2)
HTTP_PORT=49000
LAN_GW=192.168.77.1
LAN1_IP=192.168.77.10
LAN2_IP=192.168.77.11
DESC_PATH=/rootDesc.xml
URL="http://$LAN_GW:$HTTP_PORT$DESC_PATH"
UUID=9f0865b3-f5da-4ad5-85b7-7404637fdf37
# --ipv6
ISP_IP6=2001:db8:ffff::1
OUTSIDE2_IP6=2001:db8:ffff::99
WAN_IP6=2001:db8:ffff::4
LAN_GW6=2001:db8:77::1
LAN_PREFIX6=2001:db8:77::/64
LAN1_IP6=2001:db8:77::10
LAN2_IP6=2001:db8:77::11

log() { printf 'gateway.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root"; }

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# ---------------------------------------------------------------- installation
apt_install() {
    log "installing: $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2 \
        || { DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 \
             && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2; }
}

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

ensure_common() {
    local missing=()
    command -v ip >/dev/null || missing+=(iproute2)
    command -v curl >/dev/null || missing+=(curl)
    command -v upnpc >/dev/null || missing+=(miniupnpc)
    command -v nsenter >/dev/null || missing+=(util-linux)
    [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

ensure_iptables() {
    local missing=()
    have_pkg miniupnpd-iptables || missing+=(miniupnpd-iptables)
    command -v iptables-legacy >/dev/null || missing+=(iptables)
    [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
    [ -x "$IPT_BIN" ] || die "$IPT_BIN missing after installing miniupnpd-iptables"
}

ensure_nftables() {
    local missing=()
    have_pkg libnftnl11 || missing+=(libnftnl11)
    have_pkg libmnl0 || missing+=(libmnl0)
    command -v nft >/dev/null || missing+=(nftables)
    [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
    if [ ! -x "$NFT_BIN" ]; then
        local tmp
        tmp=$(mktemp -d)
        # apt-get download drops to the _apt user where it can write the directory
        if id _apt >/dev/null 2>&1; then chown _apt "$tmp"; else chmod 777 "$tmp"; fi
        log "fetching miniupnpd-nftables (.deb only; it conflicts with miniupnpd-iptables)"
        (cd "$tmp" && apt-get download -q miniupnpd-nftables >&2) \
            || { DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 \
                 && (cd "$tmp" && apt-get download -q miniupnpd-nftables >&2); }
        rm -rf "$NFT_PREFIX.new"
        mkdir -p "$NFT_PREFIX.new"
        dpkg-deb -x "$tmp"/miniupnpd-nftables_*.deb "$NFT_PREFIX.new"
        dpkg-deb -f "$tmp"/miniupnpd-nftables_*.deb Version >"$NFT_PREFIX.new/VERSION"
        rm -rf "$tmp" "$NFT_PREFIX"
        mv "$NFT_PREFIX.new" "$NFT_PREFIX"
    fi
    if ldd "$NFT_BIN" | grep -q 'not found'; then
        ldd "$NFT_BIN" >&2
        die "$NFT_BIN has unresolved libraries"
    fi
}

ensure_flavor() {
    ensure_common
    case $1 in
        iptables) ensure_iptables ;;
        nftables) ensure_nftables ;;
        *) die "unknown flavor $1" ;;
    esac
}

# ---------------------------------------------------------------- processes
# Our daemons are recognisable by the config path on their command line.
our_daemon_pids() {
    local p cmd
    for p in /proc/[0-9]*; do
        cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
        case $cmd in
            *miniupnpd*"$STATE/miniupnpd.conf"*) echo "${p#/proc/}" ;;
        esac
    done
}

is_our_daemon() {
    local pid=$1 cmd
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
    case $cmd in *miniupnpd*"$STATE/miniupnpd.conf"*) return 0 ;; esac
    return 1
}

recorded_pid() { [ -s "$STATE/miniupnpd.pid" ] && tr -dc '0-9' <"$STATE/miniupnpd.pid" || true; }

# Ourselves and our ancestors: never kill them (down may be called from inside a namespace).
self_and_ancestors() {
    local p=$$
    while [ -n "$p" ] && [ "$p" != 0 ]; do
        echo "$p"
        p=$(awk '/^PPid:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
    done
}

wait_gone() { # pid timeout_tenths
    local pid=$1 n=${2:-50}
    while [ "$n" -gt 0 ] && kill -0 "$pid" 2>/dev/null; do
        # a zombie counts as gone
        [ "$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null)" = Z ] && return 0
        sleep 0.1; n=$((n - 1))
    done
    ! kill -0 "$pid" 2>/dev/null || [ "$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null)" = Z ]
}

kill_pid() { # pid signal
    local pid=$1 sig=${2:-TERM}
    kill -0 "$pid" 2>/dev/null || return 0
    kill -"$sig" "$pid" 2>/dev/null || true
    wait_gone "$pid" 30 && return 0
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 30 || log "warning: PID $pid did not exit"
}

kill_daemon() { # signal
    local sig=${1:-KILL} pid pids
    pids=$( { p=$(recorded_pid); is_our_daemon "$p" && echo "$p"; our_daemon_pids; } | sort -u)
    for pid in $pids; do kill_pid "$pid" "$sig"; done
    rm -f "$STATE/miniupnpd.pid" "$STATE/miniupnpd-debug.pid"
}

# ---------------------------------------------------------------- teardown
down() {
    set +e
    kill_daemon TERM
    local ns pid keep
    keep=" $(self_and_ancestors | tr '\n' ' ') "
    for ns in "${NAMESPACES[@]}"; do
        [ -e "/run/netns/$ns" ] || continue
        # Anything still inside our namespaces was started by this harness or its tests.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            case $keep in *" $pid "*) continue ;; esac
            kill_pid "$pid" TERM
        done
    done
    for ns in "${NAMESPACES[@]}"; do
        ip netns del "$ns" 2>/dev/null
        rm -f "/run/netns/$ns" 2>/dev/null
        rm -rf "/etc/netns/$ns"
    done
    rm -rf "$STATE"
    rmdir /etc/netns 2>/dev/null
    set -e
    return 0
}

# ---------------------------------------------------------------- bring-up
write_config() {
    local conf=$STATE/miniupnpd.conf
    {
        echo "# written by tests/real-gateway/gateway.sh"
        echo "ext_ifname=wan0"
        echo "listening_ip=br-lan"
        echo "http_port=$HTTP_PORT"
        echo "enable_upnp=yes"
        # miniupnpd 2.3.1 serves NAT-PMP and PCP together under enable_natpmp (its build has
        # PCP compiled in); it has no enable_pcp_pcp option (that appeared in later versions).
        echo "enable_natpmp=$NATPMP"
        echo "secure_mode=$SECURE"
        if [ "$IGD" = 1 ]; then echo "force_igd_desc_v1=yes"; else echo "force_igd_desc_v1=no"; fi
        echo "system_uptime=yes"
        echo "clean_ruleset_interval=0"   # off: leases expire only by their own time
        echo "notify_interval=60"
        if [ "$IPV6" = yes ]; then
            echo "ipv6_disable=no"
            echo "ext_ifname6=wan0"
        else
            echo "ipv6_disable=yes"
        fi
        echo "uuid=$UUID"
        echo "friendly_name=PortForward test gateway"
        echo "model_number=pfw-$FLAVOR-igd$IGD"
        echo "serial=12345678"
        if [ "$FLAVOR" = nftables ]; then
            echo "upnp_table_name=filter"
            echo "upnp_nat_table_name=filter"
            echo "upnp_forward_chain=miniupnpd"
            echo "upnp_nat_chain=prerouting_miniupnpd"
            echo "upnp_nat_postrouting_chain=postrouting_miniupnpd"
        fi
        echo "allow 1024-65535 192.168.77.0/24 1024-65535"
        echo "deny 0-65535 0.0.0.0/0 0-65535"
    } >"$conf"
}

save_settings() {
    cat >"$STATE/settings" <<EOF
FLAVOR=$FLAVOR
IGD=$IGD
SECURE=$SECURE
CGNAT=$CGNAT
NATPMP=$NATPMP
IPV6=$IPV6
EOF
}

load_settings() {
    [ -r "$STATE/settings" ] || die "gateway is not up (no $STATE/settings); run: $0 up"
    # shellcheck disable=SC1091
    . "$STATE/settings"
    IPV6=${IPV6:-no}
}

daemon_bin() { if [ "$FLAVOR" = nftables ]; then echo "$NFT_BIN"; else echo "$IPT_BIN"; fi; }

# Static IPv6 on every link and the router's IPv6 firewall (see the header).
setup_ipv6() {
    [ "$FLAVOR" = iptables ] || die "--ipv6 needs --flavor iptables (the nftables build is not set up for IPv6 here)"
    local ns
    for ns in "${NAMESPACES[@]}"; do
        in_ns "$ns" sysctl -q -w net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 \
            net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 >/dev/null
    done
    ip -n pfw-wan -6 addr add "$ISP_IP6/64" dev isp0 nodad
    ip -n pfw-wan -6 addr add "$OUTSIDE2_IP6/64" dev isp0 nodad
    ip -n pfw-wan -6 route add "$LAN_PREFIX6" via "$WAN_IP6"
    ip -n pfw-router -6 addr add "$WAN_IP6/64" dev wan0 nodad
    ip -n pfw-router -6 addr add "$LAN_GW6/64" dev br-lan nodad
    ip -n pfw-router -6 route add default via "$ISP_IP6"
    in_ns pfw-router sysctl -q -w net.ipv6.conf.all.forwarding=1 >/dev/null
    ip -n pfw-lan1 -6 addr add "$LAN1_IP6/64" dev eth0 nodad
    ip -n pfw-lan2 -6 addr add "$LAN2_IP6/64" dev eth0 nodad
    ip -n pfw-lan1 -6 route add default via "$LAN_GW6"
    ip -n pfw-lan2 -6 route add default via "$LAN_GW6"
    local ip6t=(ip netns exec pfw-router ip6tables-legacy -w)
    "${ip6t[@]}" -t filter -N MINIUPNPD
    "${ip6t[@]}" -t filter -P FORWARD DROP
    "${ip6t[@]}" -t filter -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
    "${ip6t[@]}" -t filter -A FORWARD -i br-lan -o wan0 -j ACCEPT
    "${ip6t[@]}" -t filter -A FORWARD -i wan0 ! -o wan0 -j MINIUPNPD
}

create_firewall() {
    if [ "$FLAVOR" = iptables ]; then
        # The iptables build links libiptc (legacy x_tables), so the chains must be made with
        # iptables-legacy: chains made by the default iptables-nft are invisible to it.
        local ipt=(ip netns exec pfw-router iptables-legacy -w)
        "${ipt[@]}" -t nat -N MINIUPNPD
        "${ipt[@]}" -t nat -A PREROUTING -i wan0 -j MINIUPNPD
        "${ipt[@]}" -t nat -N MINIUPNPD-POSTROUTING
        "${ipt[@]}" -t nat -A POSTROUTING -o wan0 -j MINIUPNPD-POSTROUTING
        "${ipt[@]}" -t mangle -N MINIUPNPD
        "${ipt[@]}" -t mangle -A PREROUTING -i wan0 -j MINIUPNPD
        "${ipt[@]}" -t filter -N MINIUPNPD
        "${ipt[@]}" -t filter -A FORWARD -i wan0 ! -o wan0 -j MINIUPNPD
    else
        # What Debian's /etc/miniupnpd/nft_init.sh makes, with the table and chain names
        # written explicitly into the config.
        ip netns exec pfw-router nft -f - <<'EOF'
table inet filter {
    chain forward {
        type filter hook forward priority 0; policy drop;
        jump miniupnpd
        ct state established,related accept
        iifname "br-lan" accept
    }
    chain miniupnpd {
    }
    chain prerouting {
        type nat hook prerouting priority -100; policy accept;
        jump prerouting_miniupnpd
    }
    chain postrouting {
        type nat hook postrouting priority 100; policy accept;
        jump postrouting_miniupnpd
    }
    chain prerouting_miniupnpd {
    }
    chain postrouting_miniupnpd {
    }
}
EOF
    fi
}

flush_firewall() {
    if [ "$FLAVOR" = iptables ]; then
        local ipt=(ip netns exec pfw-router iptables-legacy -w)
        "${ipt[@]}" -t nat -F MINIUPNPD || true
        "${ipt[@]}" -t nat -F MINIUPNPD-POSTROUTING || true
        "${ipt[@]}" -t mangle -F MINIUPNPD || true
        "${ipt[@]}" -t filter -F MINIUPNPD || true
        if [ "${IPV6:-no}" = yes ]; then
            ip netns exec pfw-router ip6tables-legacy -w -t filter -F MINIUPNPD || true
        fi
    else
        local c
        for c in miniupnpd prerouting_miniupnpd postrouting_miniupnpd; do
            ip netns exec pfw-router nft flush chain inet filter "$c" || true
        done
    fi
}

wait_http() { # pid
    local pid=$1 n=200 # x 0.05 s = 10 s at most
    while [ "$n" -gt 0 ]; do
        if in_ns pfw-lan1 curl -s -f -o /dev/null --max-time 1 "$URL"; then return 0; fi
        is_our_daemon "$pid" || return 1
        sleep 0.05; n=$((n - 1))
    done
    return 1
}

start_daemon() {
    local bin conf=$STATE/miniupnpd.conf pid n
    bin=$(daemon_bin)
    [ -x "$bin" ] || die "$bin not installed (run: $0 install $FLAVOR)"
    [ -e /run/netns/pfw-router ] || die "namespace pfw-router missing; run: $0 up"
    kill_daemon KILL
    : >"$STATE/miniupnpd.log"
    if [ "${PFW_DEBUG:-0}" = 1 ]; then
        # Foreground: we record the PID ourselves. The daemon's own PID file must be another
        # file, or its "already running" check finds the PID we wrote: its own.
        ip netns exec pfw-router "$bin" -d -f "$conf" -P "$STATE/miniupnpd-debug.pid" \
            </dev/null >>"$STATE/miniupnpd.log" 2>&1 &
        echo $! >"$STATE/miniupnpd.pid"
    else
        # miniupnpd forks into the background itself and writes its PID file.
        ip netns exec pfw-router "$bin" -f "$conf" -P "$STATE/miniupnpd.pid" \
            </dev/null >>"$STATE/miniupnpd.log" 2>&1 \
            || die "miniupnpd failed to start: $(cat "$STATE/miniupnpd.log")"
        n=100
        while [ "$n" -gt 0 ] && ! [ -s "$STATE/miniupnpd.pid" ]; do sleep 0.05; n=$((n - 1)); done
    fi
    pid=$(recorded_pid)
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
        || die "miniupnpd did not start (log: $(cat "$STATE/miniupnpd.log"); retry with PFW_DEBUG=1)"
    wait_http "$pid" \
        || die "miniupnpd (PID $pid) does not answer on $URL (log: $(cat "$STATE/miniupnpd.log"); retry with PFW_DEBUG=1)"
    log "miniupnpd ($FLAVOR, IGD$IGD, secure=$SECURE, natpmp=$NATPMP, cgnat=$CGNAT, ipv6=$IPV6) PID $pid"
}

up() {
    FLAVOR=iptables IGD=2 SECURE=no CGNAT=no NATPMP=yes IPV6=no
    while [ $# -gt 0 ]; do
        case $1 in
            --flavor) FLAVOR=${2:?}; shift 2 ;;
            --igd) IGD=${2:?}; shift 2 ;;
            --secure) SECURE=${2:?}; shift 2 ;;
            --cgnat) CGNAT=yes; shift ;;
            --natpmp) NATPMP=${2:?}; shift 2 ;;
            --ipv6) IPV6=yes; shift ;;
            *) die "up: unknown option $1" ;;
        esac
    done
    case $FLAVOR in iptables|nftables) ;; *) die "--flavor iptables|nftables" ;; esac
    case $IGD in 1|2) ;; *) die "--igd 1|2" ;; esac
    case $SECURE in yes|no) ;; *) die "--secure yes|no" ;; esac
    case $NATPMP in yes|no) ;; *) die "--natpmp yes|no" ;; esac

    ensure_flavor "$FLAVOR"
    down
    mkdir -p "$STATE"
    save_settings
    write_config

    local ns
    for ns in "${NAMESPACES[@]}"; do
        ip netns add "$ns"
        mkdir -p "/etc/netns/$ns"
        echo "nameserver 127.0.0.1" >"/etc/netns/$ns/resolv.conf"
        ip -n "$ns" link set lo up
    done

    local wan_ip=1.2.3.4/24 isp_ip=1.2.3.1/24 isp_gw=1.2.3.1
    if [ "$CGNAT" = yes ]; then wan_ip=100.64.0.2/24 isp_ip=100.64.0.1/24 isp_gw=100.64.0.1; fi

    # WAN side: created inside pfw-router, the peer moved straight into pfw-wan.
    ip -n pfw-router link add wan0 type veth peer name isp0 netns pfw-wan
    ip -n pfw-wan addr add "$isp_ip" dev isp0
    ip -n pfw-wan link set isp0 up
    ip -n pfw-router addr add "$wan_ip" dev wan0
    ip -n pfw-router link set wan0 up
    ip -n pfw-router route add default via "$isp_gw"

    # LAN side: a bridge in the router, one veth per LAN host.
    ip -n pfw-router link add br-lan type bridge
    ip -n pfw-router addr add "$LAN_GW/24" dev br-lan
    ip -n pfw-router link set br-lan up
    local i ip
    for i in 1 2; do
        if [ "$i" = 1 ]; then ip=$LAN1_IP; else ip=$LAN2_IP; fi
        ip -n pfw-router link add "r-lan$i" type veth peer name eth0 netns "pfw-lan$i"
        ip -n pfw-router link set "r-lan$i" master br-lan
        ip -n pfw-router link set "r-lan$i" up
        ip -n "pfw-lan$i" addr add "$ip/24" dev eth0
        ip -n "pfw-lan$i" link set eth0 up
        ip -n "pfw-lan$i" route add default via "$LAN_GW"
    done
    in_ns pfw-router sysctl -q -w net.ipv4.ip_forward=1 >/dev/null
    [ "$IPV6" = yes ] && setup_ipv6

    create_firewall
    start_daemon
    echo "$URL"
}

link_cmd() {
    local what=${1:-} mode=client
    [ "${2:-}" = --cable ] && mode=cable
    [ -e /run/netns/pfw-lan1 ] || die "namespace pfw-lan1 missing; run: $0 up"
    case $what/$mode in
        down/client) ip -n pfw-lan1 link set eth0 down ;;
        up/client)
            ip -n pfw-lan1 link set eth0 up
            ip -n pfw-lan1 addr replace "$LAN1_IP/24" dev eth0
            ip -n pfw-lan1 route replace default via "$LAN_GW"
            if [ "$(load_settings; echo "$IPV6")" = yes ]; then
                ip -n pfw-lan1 -6 addr replace "$LAN1_IP6/64" dev eth0 nodad
                ip -n pfw-lan1 -6 route replace default via "$LAN_GW6"
            fi
            ;;
        down/cable) ip -n pfw-router link set r-lan1 down ;;
        up/cable) ip -n pfw-router link set r-lan1 up ;;
        *) die "usage: $0 link down|up [--cable]" ;;
    esac
}

status() {
    set +e
    echo "namespaces: $(ip netns list | grep -o '^pfw-[a-z0-9]*' | tr '\n' ' ')"
    [ -r "$STATE/settings" ] && tr '\n' ' ' <"$STATE/settings" && echo
    local pid
    pid=$(recorded_pid)
    if is_our_daemon "$pid"; then echo "miniupnpd: PID $pid"; else echo "miniupnpd: not running"; fi
    echo "url: $URL"
    set -e
}

main() {
    local cmd=${1:-}
    [ $# -gt 0 ] && shift
    case $cmd in
        up) need_root; up "$@" ;;
        down) need_root; down ;;
        kill-daemon)
            need_root
            if [ "${1:-}" = --term ]; then kill_daemon TERM; else kill_daemon KILL; fi ;;
        start-daemon)
            need_root; load_settings
            [ "${1:-}" = --clean ] && { kill_daemon KILL; flush_firewall; }
            start_daemon ;;
        link) need_root; link_cmd "$@" ;;
        exec)
            local ns=${1:-}
            case $ns in lan1|lan2|router|wan) ;; *) die "usage: $0 exec lan1|lan2 CMD..." ;; esac
            shift
            [ $# -gt 0 ] || die "exec: no command"
            exec ip netns exec "pfw-$ns" "$@" ;;
        url) echo "$URL" ;;
        status) status ;;
        install)
            need_root
            case ${1:-all} in
                all) ensure_flavor iptables; ensure_flavor nftables ;;
                *) ensure_flavor "$1" ;;
            esac ;;
        *)
            sed -n '/^# Usage/,/^# Calling/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
            exit 2 ;;
    esac
}

main "$@"
