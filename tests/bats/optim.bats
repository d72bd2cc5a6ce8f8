#!/usr/bin/env bats
# The protocol's optimisations on real processes: batching (§9.6) and reads under leases
# (§9.7). Three replicas on loopback and two mounts; what the primary did is read from
# `vrfs status --json` (reads, lease_reads, prepares, prepare_ops), so each test shows the
# optimisation at work, and its twin shows the same workload without it.

load cluster

setup() {
	cluster_setup
	case $BATS_TEST_DESCRIPTION in
	*"--lease-ms 0"*) VRFSD_ARGS=(--lease-ms 0) ;;
	*"--batch-ops 1"*) VRFSD_ARGS=(--batch-ops 1) ;;
	esac
	start_cluster
	mount_vrfs a -o sessions=16
	mount_vrfs b -o sessions=16
	A=$T/a
	B=$T/b
}

teardown() {
	cluster_teardown
}

# primary_stats FIELD...: the FIELDs (one line, from one answer) of the replica that is the
# normal primary of the newest view.
primary_stats() {
	status_json | jq -r --args '[.replicas[] | select(.reachable and .status == "normal" and .id == .primary)]
		| max_by(.view) as $p | [$ARGS.positional[] | $p[.]] | map(tostring) | join(" ")' "$@"
}

# write_then_read N: N times, a new value written on mount a is read back on mount b.
write_then_read() {
	local i
	for i in $(seq 1 "$1"); do
		echo "value $i" >"$A/reg"
		[ "$(cat "$B/reg")" = "value $i" ] || { echo "read on b: $(cat "$B/reg"), wanted value $i" >&2; return 1; }
	done
}

# writers N FILES: N processes on the two mounts each create FILES files; every file is then
# read back on the other mount.
writers() {
	local n=$1 files=$2 w pids=()
	for ((w = 0; w < n; w++)); do
		local m=$A
		[ $((w % 2)) = 1 ] && m=$B
		mkdir "$m/w$w"
		(for f in $(seq 1 "$files"); do echo "w$w f$f" >"$m/w$w/f$f"; done) &
		pids+=($!)
	done
	wait "${pids[@]}"
	for ((w = 0; w < n; w++)); do
		local other=$B
		[ $((w % 2)) = 1 ] && other=$A
		[ "$(cat "$other/w$w/f$files")" = "w$w f$files" ]
		[ "$(ls "$other/w$w" | wc -l)" -eq "$files" ]
	done
}

@test "leases: the primary answers reads at once, and a write on one mount is read on the other" {
	write_then_read 100
	local reads lease
	read -r reads lease < <(primary_stats reads lease_reads)
	echo "# primary: $reads reads, $lease under a lease" >&3
	[ "$lease" -gt 0 ]
	[ "$lease" -le "$reads" ]
}

@test "without leases (--lease-ms 0) every read waits for a barrier round; same results" {
	write_then_read 100
	local reads lease
	read -r reads lease < <(primary_stats reads lease_reads)
	echo "# primary: $reads reads, $lease under a lease" >&3
	[ "$reads" -gt 100 ]
	[ "$lease" -eq 0 ]
}

@test "batching: 16 writers on two mounts share PREPAREs (more ops than PREPARE messages)" {
	writers 16 40
	local prepares ops
	read -r prepares ops < <(primary_stats prepares prepare_ops)
	echo "# primary: $ops ops in $prepares PREPAREs" >&3
	[ "$prepares" -gt 0 ]
	[ "$ops" -gt "$prepares" ]
}

@test "without batching (--batch-ops 1) every PREPARE carries one op; same results" {
	writers 16 40
	local prepares ops
	read -r prepares ops < <(primary_stats prepares prepare_ops)
	echo "# primary: $ops ops in $prepares PREPAREs" >&3
	[ "$prepares" -gt 0 ]
	[ "$ops" -eq "$prepares" ]
}

# replica_stat I FIELD: FIELD of replica I in `vrfs status --json`.
replica_stat() {
	status_json | jq -r --argjson i "$1" --arg f "$2" '.replicas[] | select(.id == $i) | .[$f]'
}

@test "reads at a backup (-o read_from): a mount sees its own writes at once, and others' soon" {
	local p b i
	p=$(primary_stats id)
	b=$(((p + 1) % 3))
	mount_vrfs c -o "read_from=$b"
	local before
	before=$(replica_stat "$b" reads)
	for i in $(seq 1 50); do
		echo "mine $i" >"$T/c/own"
		[ "$(cat "$T/c/own")" = "mine $i" ] || { echo "read on c: $(cat "$T/c/own"), wanted mine $i" >&2; return 1; }
	done
	local served
	served=$(($(replica_stat "$b" reads) - before))
	echo "# backup r$b served $served reads for mount c" >&3
	[ "$served" -ge 50 ]
	# Another mount's write reaches c once the backup has applied it (no promise of when).
	echo "from a" >"$A/theirs"
	for _ in $(seq 1 50); do
		[ "$(cat "$T/c/theirs" 2>/dev/null)" = "from a" ] && break
		sleep 0.1
	done
	[ "$(cat "$T/c/theirs")" = "from a" ]
}

@test "reads at a backup that dies: the mount goes on reading from the others" {
	local p b
	p=$(primary_stats id)
	b=$(((p + 1) % 3))
	mount_vrfs c -o "read_from=$b"
	echo before >"$T/c/f"
	[ "$(cat "$T/c/f")" = before ]
	kill_replica "$b"
	echo after >"$T/c/f"
	[ "$(cat "$T/c/f")" = after ]
	[ "$(cat "$B/f")" = after ]
}

@test "-o read_from names a replica the cluster does not have: one line, exit 2, nothing mounted" {
	mkdir "$T/c"
	run "$VRFS" mount --cluster "$CLUSTER" "$T/c" -o read_from=3
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"read_from=3"*"3 replicas"* ]]
	! is_mounted "$T/c"
}
