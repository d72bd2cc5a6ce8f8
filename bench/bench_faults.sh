#!/bin/bash
# bench_faults.sh — failover and recovery figures on loopback (make bench-faults).
#
#   failover: a writer creates small files on a mount without pause; the primary is killed
#             (kill -9) KILLS times; each failover is the time from its death (reaped) to
#             the end of the first write that started after it. Median and max are printed.
#   recovery: the time a replica takes to rejoin (every replica normal, op = commit equal),
#             (a) with its disk wiped, through RECOVERY and a checkpoint of STATE_MIB of state,
#             and (b) restarted from its own disk after missing STATE_MIB of writes (from the
#             log when it still holds them, else by a checkpoint). Both per GiB moved.
#
# Environment: KILLS (default 10), STATE_MIB (default 256), BIN (default build).
# Figures, not assertions: `make test` never checks timings.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build}
KILLS=${KILLS:-10}
STATE_MIB=${STATE_MIB:-256}
T=$(mktemp -d "${TMPDIR:-/tmp}/vrfs-bench-faults.XXXXXX")
PIDS=()
MOUNTED=""

cleanup() {
	set +e
	[ -n "$MOUNTED" ] && { fusermount3 -u "$MOUNTED" 2>/dev/null || umount -l "$MOUNTED" 2>/dev/null; }
	for p in "${PIDS[@]}" $(cat "$T"/*.pid 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
base=$((10000 + RANDOM % (low - 10003)))
CLUSTER=127.0.0.1:$base,127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2))

start_replica() {
	"$BIN/vrfsd" --id "$1" --cluster "$CLUSTER" --data "$T/r$1" 2>>"$T/r$1.log" &
	echo $! >"$T/r$1.pid"
}

status_json() { "$BIN/vrfs" status --cluster "$CLUSTER" --json --timeout 500 2>/dev/null || true; }

say() { echo "bench-faults: $*" >&2; }

converged() {
	status_json | jq -e '[.replicas[] | select(.reachable and .status == "normal")] as $r
		| ($r | length) == 3 and ([$r[].view] | unique | length) == 1
		and ([$r[].op] | unique | length) == 1 and ([$r[].commit] | unique | length) == 1' >/dev/null
}

wait_converged() {
	local start=$SECONDS
	until converged; do
		[ $((SECONDS - start)) -lt "$1" ] || { echo "bench-faults: the cluster did not converge" >&2; exit 1; }
		sleep 0.05
	done
}

# primary: the primary of the newest normal view (waits until there is one).
primary() {
	local p
	for _ in $(seq 1 200); do
		p=$(status_json | jq -r '[.replicas[] | select(.reachable and .status == "normal")] | max_by(.view) | .primary // empty')
		[ -n "$p" ] && { echo "$p"; return 0; }
		sleep 0.05
	done
	say "no primary"
	exit 1
}

kill_replica() {
	local p
	p=$(cat "$T/r$1.pid")
	kill -9 "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}

now_ns() { date +%s%N; }

for i in 0 1 2; do start_replica "$i"; done
wait_converged 30
mkdir "$T/m"
"$BIN/vrfs" mount --cluster "$CLUSTER" "$T/m"
MOUNTED=$T/m
echo "bench-faults: 3 replicas on loopback, one mount, $(nproc) cores; $(date -u +%Y-%m-%d)"

# --- failover
writer() {
	local i=0
	local t
	while [ ! -e "$T/stop" ]; do
		t=$(now_ns)
		echo x >"$T/m/f$((i % 500))"
		echo "$t $(now_ns)" >>"$T/acks"
		i=$((i + 1))
	done
}
writer &
PIDS+=($!)
sleep 1
failovers=()
for k in $(seq 1 "$KILLS"); do
	p=$(primary)
	kill_replica "$p"
	t0=$(now_ns) # the primary is dead (reaped)
	# the end of the first write that started after its death
	while :; do
		t1=$(awk -v t="$t0" '$1 > t { print $2; exit }' "$T/acks")
		[ -n "$t1" ] && break
		sleep 0.02
	done
	ms=$(((t1 - t0) / 1000000))
	failovers+=("$ms")
	printf '  kill %2d: primary r%s killed; first write done after %5d ms\n' "$k" "$p" "$ms"
	start_replica "$p"
	wait_converged 60
	sleep 0.5
done
touch "$T/stop"
wait "${PIDS[0]}" 2>/dev/null || true
sorted=$(printf '%s\n' "${failovers[@]}" | sort -n)
median=$(echo "$sorted" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2) }')
max=$(echo "$sorted" | tail -1)
echo "failover over $KILLS kills of the primary: median $median ms, max $max ms"

# --- recovery
dd if=/dev/urandom of="$T/m/state" bs=1M count="$STATE_MIB" status=none
sync "$T/m/state"
wait_converged 60
b=$((($(primary) + 1) % 3))
kill_replica "$b"
rm -rf "$T/r$b"
t0=$(now_ns)
start_replica "$b"
wait_converged 600
t1=$(now_ns)
ms=$(((t1 - t0) / 1000000))
# The size of the checkpoint it installed (the whole store), from its log.
ckpt_mib() { grep "installed the checkpoint" "$T/r$1.log" | tail -1 | sed 's/.*(\([0-9]*\) bytes).*/\1/' | awk '{ printf "%d", $1 / 1048576 }'; }
mib=$(ckpt_mib "$b")
echo "recovery with a wiped disk (RECOVERY, then a checkpoint of $mib MiB): $ms ms," \
	"$((ms * 1024 / (mib > 0 ? mib : 1))) ms per GiB of state"

b=$((($(primary) + 1) % 3))
before=$(grep -c "installed the checkpoint" "$T/r$b.log" || true)
kill_replica "$b"
dd if=/dev/urandom of="$T/m/state2" bs=1M count="$STATE_MIB" status=none
t0=$(now_ns)
start_replica "$b"
wait_converged 600
t1=$(now_ns)
ms=$(((t1 - t0) / 1000000))
if [ "$(grep -c "installed the checkpoint" "$T/r$b.log")" -gt "$before" ]; then
	mib=$(ckpt_mib "$b")
	how="by a checkpoint of $mib MiB"
else
	mib=$STATE_MIB
	how="from the log"
fi
echo "catch-up from its own disk after missing ${STATE_MIB} MiB of writes ($how): $ms ms," \
	"$((ms * 1024 / (mib > 0 ? mib : 1))) ms per GiB transferred"
