#!/bin/bash
# bench_reconfig.sh — what a reconfiguration costs, on loopback (make bench-reconfig).
#
# Three machines hold STATE_MIB of file data; a writer creates small files on a mount without
# pause. Then, one after another: grow 3 to 5, replace a member, move the group to three new
# machines. For each: how long `vrfs reconfigure` takes (until f'+1 new members hold the
# state), and the longest pause the writer saw (the longest time between two write
# completions from the command's start until every new member is normal, and 1 s more).
#
# Environment: STATE_MIB (default 64), BIN (default build).
# Figures, not assertions: `make test` never checks timings.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build}
STATE_MIB=${STATE_MIB:-64}
T=$(mktemp -d "${TMPDIR:-/tmp}/vrfs-bench-reconfig.XXXXXX")
MOUNTED=""

cleanup() {
	set +e
	exec 2>/dev/null # no job-control notices for the replicas killed here
	touch "$T/stop"
	[ -n "$MOUNTED" ] && { fusermount3 -u "$MOUNTED" 2>/dev/null || umount -l "$MOUNTED" 2>/dev/null; }
	for p in $(cat "$T"/*.pid 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
base=$((10000 + RANDOM % (low - 10010)))
members() {
	local list="" i
	for i in "$@"; do list+="${list:+,}127.0.0.1:$((base + i))"; done
	echo "$list"
}
# start I LIST [ARGS]: machine I as the member of LIST at its address.
start() {
	local i=$1 list=$2 pos=0 a
	shift 2
	IFS=, read -ra a <<<"$list"
	while [ "${a[$pos]}" != "127.0.0.1:$((base + i))" ]; do pos=$((pos + 1)); done
	"$BIN/vrfsd" --id "$pos" --cluster "$list" --data "$T/m$i" "$@" 2>>"$T/m$i.log" &
	echo $! >"$T/m$i.pid"
}
all_normal() {
	"$BIN/vrfs" status --cluster "$1" --json --timeout 500 2>/dev/null | jq -e --argjson n "$2" '
		[.replicas[] | select(.reachable and .status == "normal")] as $r
		| ($r | length) == $n and ([$r[].view] | unique | length) == 1' >/dev/null
}
wait_normal() {
	local start=$SECONDS
	until all_normal "$1" "$2"; do
		[ $((SECONDS - start)) -lt 120 ] || { echo "bench-reconfig: $1 did not become normal" >&2; exit 1; }
		sleep 0.1
	done
}
now_ns() { date +%s%N; }

old=$(members 0 1 2)
for i in 0 1 2; do start $i "$old"; done
wait_normal "$old" 3
mkdir "$T/m"
"$BIN/vrfs" mount --cluster "$old" "$T/m"
MOUNTED=$T/m
dd if=/dev/urandom of="$T/m/state" bs=1M count="$STATE_MIB" status=none
echo "bench-reconfig: $STATE_MIB MiB of state, one mount writing, loopback, $(nproc) cores; $(date -u +%Y-%m-%d)"

writer() {
	local i=0
	while [ ! -e "$T/stop" ]; do
		echo x >"$T/m/f$((i % 500))"
		now_ns >>"$T/acks"
		i=$((i + 1))
	done
}
writer &
echo $! >"$T/writer.pid"

# step NAME FROM TO JOINERS...: starts the joiners, reconfigures, prints the figures.
step() {
	local name=$1 from=$2 to=$3 j t0 t1 t2 n
	shift 3
	for j in "$@"; do start "$j" "$to" --join; done
	sleep 1
	t0=$(now_ns)
	"$BIN/vrfs" reconfigure --cluster "$from" --to "$to" >>"$T/reconfigure.log"
	t1=$(now_ns)
	n=$(($(tr -cd , <<<"$to" | wc -c) + 1))
	wait_normal "$to" "$n"
	sleep 1
	t2=$(now_ns)
	gap=$(awk -v a="$t0" -v b="$t2" 'NR > 1 && $1 >= a && prev <= b { g = $1 - prev; if (g > m) m = g } { prev = $1 }
		END { printf "%d", m / 1000000 }' "$T/acks")
	printf '  %-28s reconfigure %6d ms   longest write pause %5d ms\n' "$name" $(((t1 - t0) / 1000000)) "$gap"
}
step "grow 3 -> 5" "$old" "$(members 0 1 2 3 4)" 3 4
step "replace m1 by m5 (5)" "$(members 0 1 2 3 4)" "$(members 0 5 2 3 4)" 5
step "shrink 5 -> 3" "$(members 0 5 2 3 4)" "$(members 0 5 2)"
step "move to m6, m7, m8" "$(members 0 5 2)" "$(members 6 7 8)" 6 7 8
touch "$T/stop"
