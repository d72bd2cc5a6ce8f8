#!/bin/bash
# bench_vr.sh — what the protocol's optimisations buy (make bench-vr), measured back to back
# in one run on loopback, each figure next to the same workload without the optimisation.
#
#   batching: W writers (1, 4, 16) create 4 KiB files in their own directories on one mount
#             for SECONDS_EACH seconds; files/s, median of REPEAT runs, with the primary
#             batching (vrfsd default, --batch-ops 64) and without (--batch-ops 1). Also the
#             ops per PREPARE the primary sent (vrfs status).
#   leases:   R readers (1, 4) stat a file on the mount in a loop for SECONDS_EACH seconds;
#             stats/s (each is a LOOKUP and a GETATTR at the primary), median of REPEAT runs,
#             with leases (vrfsd default, --lease-ms = --liveness-ms) and without (--lease-ms 0:
#             each read waits for a barrier round to the backups).
#   witnesses: WITNESS_WRITERS (default 4) writers create files as above, then one writes a
#             64 MiB file with fsync; files/s and the size of replica 2's data directory,
#             with three full replicas and with replica 2 a witness (witness@, §9.5).
#   parts:    replica 2 a witness, replica 1 down, PARTS_MIB (default 96: more than a 64 MiB
#             frame) written, replica 0 killed, replica 1 started: the time until it is the
#             normal primary, having taken the log from the witness in parts (§9.4), and the
#             parts it took; with --part-kib 16384 (the default) and 1024, and with 16 MiB
#             parts and a 4 MiB body cache (--log-cache-mib 4; default 64), and one of 64 GiB
#             (every body held in memory, as before the cache). Also the peak memory (VmHWM)
#             of the witness and of replica 1 by then.
#
# Environment: SECONDS_EACH (default 5), REPEAT (default 3), WRITERS (default "1 4 16"),
# READERS (default "1 4"), BIN (default build). Figures, not assertions: `make test` never
# checks timings.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build}
SECONDS_EACH=${SECONDS_EACH:-5}
REPEAT=${REPEAT:-3}
WRITERS=${WRITERS:-1 4 16}
READERS=${READERS:-1 4}
T=$(mktemp -d "${TMPDIR:-/tmp}/vrfs-bench-vr.XXXXXX")
MOUNTED=""

say() { echo "bench-vr: $*" >&2; }

stop_all() {
	set +e
	if [ -n "$MOUNTED" ]; then
		fusermount3 -u "$MOUNTED" 2>/dev/null || umount -l "$MOUNTED" 2>/dev/null
		MOUNTED=""
	fi
	local f p
	for f in "$T"/*.pid; do
		[ -e "$f" ] || continue
		p=$(cat "$f")
		kill -TERM "$p" 2>/dev/null
		{ wait "$p"; } 2>/dev/null
		rm -f "$f"
	done
	set -e
}

cleanup() {
	stop_all
	rm -rf "$T"
}
trap cleanup EXIT

low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
base=$((10000 + RANDOM % (low - 10003)))
CLUSTER=127.0.0.1:$base,127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2))
FULL=$CLUSTER
WITNESS=127.0.0.1:$base,127.0.0.1:$((base + 1)),witness@127.0.0.1:$((base + 2))
WITNESS_WRITERS=${WITNESS_WRITERS:-4}
PARTS_MIB=${PARTS_MIB:-96}

# start_replica I ARGS...: replica I with vrfsd ARGS, on its data directory.
start_replica() {
	local i=$1
	shift
	"$BIN/vrfsd" --id "$i" --cluster "$CLUSTER" --data "$T/r$i" "$@" 2>>"$T/r$i.log" &
	echo $! >"$T/r$i.pid"
}

# kill_replica I: SIGKILL to replica I (a crash).
kill_replica() {
	local p
	p=$(cat "$T/r$1.pid")
	kill -KILL "$p"
	{ wait "$p"; } 2>/dev/null || true
	rm -f "$T/r$1.pid"
}

# start ARGS...: a new three-replica cluster with vrfsd ARGS and one mount on $T/m.
start() {
	local i
	rm -rf "$T/r0" "$T/r1" "$T/r2" "$T/m"
	for i in 0 1 2; do
		start_replica "$i" "$@"
	done
	mkdir -p "$T/m"
	"$BIN/vrfs" mount --cluster "$CLUSTER" "$T/m" -f -o sessions=16 2>>"$T/mount.log" &
	echo $! >"$T/mount.pid"
	MOUNTED=$T/m
	for _ in $(seq 1 200); do
		mountpoint -q "$T/m" && return 0
		sleep 0.05
	done
	say "the mount did not come up; see $T/mount.log"
	cat "$T/mount.log" >&2
	exit 1
}

# creates W: W writers create 4 KiB files for SECONDS_EACH seconds; prints files/s.
creates() {
	local w=$1 j total=0 pids=()
	local data
	data=$(head -c 3072 /dev/urandom | base64 -w0 | head -c 4096)
	local end=$((${EPOCHREALTIME/./} + SECONDS_EACH * 1000000))
	for ((j = 0; j < w; j++)); do
		mkdir -p "$T/m/w$j.$RANDOM"
	done
	for d in "$T"/m/w*; do
		(
			n=0
			while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
				printf '%s' "$data" >"$d/f$n"
				n=$((n + 1))
			done
			echo "$n" >"$d.count"
		) &
		pids+=($!)
	done
	wait "${pids[@]}"
	for f in "$T"/m/w*.count; do total=$((total + $(cat "$f"))); done
	rm -rf "$T"/m/w*
	echo $((total / SECONDS_EACH))
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# stats R: R readers stat one file for SECONDS_EACH seconds; prints stats/s.
stats() {
	local r=$1 j total=0 pids=()
	local end=$((${EPOCHREALTIME/./} + SECONDS_EACH * 1000000))
	echo x >"$T/m/target"
	for ((j = 0; j < r; j++)); do
		(
			n=0
			while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
				[ -e "$T/m/target" ] || exit 1
				n=$((n + 1))
			done
			echo "$n" >"$T/reader$j.count"
		) &
		pids+=($!)
	done
	wait "${pids[@]}"
	for ((j = 0; j < r; j++)); do total=$((total + $(cat "$T/reader$j.count"))); done
	echo $((total / SECONDS_EACH))
}

# primary_stats FIELD...: those fields of the normal primary, from one status answer.
primary_stats() {
	"$BIN/vrfs" status --cluster "$CLUSTER" --json --timeout 500 |
		jq -r --args '[.replicas[] | select(.reachable and .status == "normal" and .id == .primary)]
		| max_by(.view) as $p | [$ARGS.positional[] | $p[.]] | map(tostring) | join(" ")' "$@"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }

declare -A result per_prepare

# measure MODE FN UNIT COUNT...: for each COUNT, REPEAT runs of FN COUNT; the median goes to
# result[MODE,COUNT].
measure() {
	local mode=$1 fn=$2 unit=$3 n k all
	shift 3
	for n in "$@"; do
		all=""
		for ((k = 0; k < REPEAT; k++)); do all+="$("$fn" "$n") "; done
		result[$mode,$n]=$(echo "$all" | tr ' ' '\n' | grep . | median)
		say "$mode, $n: $all$unit"
	done
}

# table TITLE A B LABEL COUNT...: one line per COUNT with result[A,COUNT], result[B,COUNT], A/B.
table() {
	local title=$1 a=$2 b=$3 label=$4 n
	shift 4
	printf '\n%-34s %12s %12s %8s\n' "$title" "$a" "$b" "ratio"
	for n in "$@"; do
		printf '%-34s %12s %12s %8s\n' "$n $label" "${result[$a,$n]}" "${result[$b,$n]}" \
			"$(ratio "${result[$a,$n]}" "${result[$b,$n]}")"
	done
}

say "batching: small-file creates on one mount, 3 replicas on loopback, ${SECONDS_EACH} s per run, median of $REPEAT"
for mode in batched unbatched; do
	if [ "$mode" = batched ]; then start; else start --batch-ops 1; fi
	# shellcheck disable=SC2086 # WRITERS is a list
	measure "$mode" creates "files/s with that many writers" $WRITERS
	read -r prepares ops < <(primary_stats prepares prepare_ops)
	per_prepare[$mode]=$(ratio "$ops" "$prepares")
	stop_all
done

say "leases: stat of one file on one mount, ${SECONDS_EACH} s per run, median of $REPEAT"
for mode in leases barrier; do
	if [ "$mode" = leases ]; then start; else start --lease-ms 0; fi
	# shellcheck disable=SC2086 # READERS is a list
	measure "$mode" stats "stats/s with that many readers" $READERS
	read -r reads lease_reads < <(primary_stats reads lease_reads)
	say "$mode: the primary served $reads reads, $lease_reads under a lease"
	stop_all
done

say "witnesses: replica 2 full, then a witness; creates for ${SECONDS_EACH} s, median of $REPEAT, then 64 MiB"
declare -A dir_mib
for mode in full witness; do
	if [ "$mode" = witness ]; then CLUSTER=$WITNESS; else CLUSTER=$FULL; fi
	start
	measure "$mode" creates "files/s with that many writers" "$WITNESS_WRITERS"
	dd if=/dev/urandom of="$T/m/big" bs=1M count=64 conv=fsync status=none
	stop_all # SIGTERM: each replica commits what is pending; then the directories are measured
	dir_mib[$mode]=$(du -sm "$T/r2" | cut -f1)
	dir_mib[$mode.r0]=$(du -sm "$T/r0" | cut -f1)
done

say "parts: replica 1 down, $PARTS_MIB MiB written, replica 0 killed; replica 1 takes the log from the witness"
declare -A takeover_ms parts_taken peak_w peak_r1
hwm_mib() { echo $(($(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$(cat "$T/r$1.pid")/status") / 1024)); }
CLUSTER=$WITNESS
for run in 16384:64 1024:64 16384:4 16384:65536; do
	kib=${run%:*} cache=${run#*:}
	start --part-kib "$kib" --log-cache-mib "$cache"
	kill_replica 1
	dd if=/dev/urandom of="$T/m/big" bs=1M count="$PARTS_MIB" conv=fsync status=none
	kill_replica 0
	t0=${EPOCHREALTIME/./}
	start_replica 1 --part-kib "$kib" --log-cache-mib "$cache"
	for _ in $(seq 1 600); do
		"$BIN/vrfs" status --cluster "$CLUSTER" --json --timeout 200 2>/dev/null |
			jq -e '.replicas[1].status == "normal" and .replicas[1].primary == 1' >/dev/null && break
		sleep 0.05
	done
	takeover_ms[$run]=$(((${EPOCHREALTIME/./} - t0) / 1000))
	parts_taken[$run]=$("$BIN/vrfs" status --cluster "$CLUSTER" --json --timeout 500 | jq '.replicas[1].log_parts')
	peak_w[$run]=$(hwm_mib 2)
	peak_r1[$run]=$(hwm_mib 1)
	say "--part-kib $kib --log-cache-mib $cache: replica 1 normal primary after ${takeover_ms[$run]} ms," \
		"${parts_taken[$run]} parts; peak memory: witness ${peak_w[$run]} MiB, replica 1 ${peak_r1[$run]} MiB"
	stop_all
done
CLUSTER=$FULL

# shellcheck disable=SC2086 # lists
table "small-file creates (files/s)" batched unbatched "writer(s)" $WRITERS
printf '%-34s %12s %12s\n' "ops per PREPARE" "${per_prepare[batched]}" "${per_prepare[unbatched]}"
# shellcheck disable=SC2086
table "stat of a file (stats/s)" leases barrier "reader(s)" $READERS
table "creates, replica 2 (files/s)" full witness "writer(s)" "$WITNESS_WRITERS"
printf '%-34s %12s %12s\n' "replica 2's data directory (MiB)" "${dir_mib[full]}" "${dir_mib[witness]}"
printf '%-34s %12s %12s\n' "replica 0's data directory (MiB)" "${dir_mib[full.r0]}" "${dir_mib[witness.r0]}"
printf '\n%-34s %12s %12s %12s %12s\n' "takeover with a $PARTS_MIB MiB log" "16 MiB parts" "1 MiB parts" \
	"4 MiB cache" "all held"
printf '%-34s %12s %12s %12s %12s\n' "replica 1 normal primary after (ms)" "${takeover_ms[16384:64]}" \
	"${takeover_ms[1024:64]}" "${takeover_ms[16384:4]}" "${takeover_ms[16384:65536]}"
printf '%-34s %12s %12s %12s %12s\n' "parts it took" "${parts_taken[16384:64]}" "${parts_taken[1024:64]}" \
	"${parts_taken[16384:4]}" "${parts_taken[16384:65536]}"
printf '%-34s %12s %12s %12s %12s\n' "peak memory, witness (MiB)" "${peak_w[16384:64]}" "${peak_w[1024:64]}" \
	"${peak_w[16384:4]}" "${peak_w[16384:65536]}"
printf '%-34s %12s %12s %12s %12s\n' "peak memory, replica 1 (MiB)" "${peak_r1[16384:64]}" "${peak_r1[1024:64]}" \
	"${peak_r1[16384:4]}" "${peak_r1[16384:65536]}"
