#!/usr/bin/env bats
# Witnesses (VR-PROTOCOL.md §9.5) on real processes: three replicas on loopback, r0 and r1 full,
# r2 a witness (--cluster ...,witness@HOST:PORT). The witness votes and keeps the log, but no
# file data; with one full replica down, what is written lives on the other full replica and
# on the witness, and survives the loss of that other full replica too.

load cluster

setup() {
	cluster_setup
	CLUSTER=127.0.0.1:${PORTS[0]},127.0.0.1:${PORTS[1]},witness@127.0.0.1:${PORTS[2]}
	VRFSD_ARGS=(--liveness-ms 300)
}

teardown() {
	cluster_teardown
}

# write_files DIR FROM TO: files FROM..TO of 64 KiB of random bytes; their sums go to $T/sums.
write_files() {
	local i
	for i in $(seq "$2" "$3"); do
		head -c 65536 /dev/urandom >"$T/src-$i"
		cp "$T/src-$i" "$1/f$i"
		(cd "$T" && sha256sum "src-$i" | sed "s| src-| f|") >>"$T/sums"
	done
}

# check_files DIR: every file written is there, with its bytes.
check_files() {
	(cd "$1" && sha256sum --quiet -c "$T/sums")
}

# witness_empty DIR: the store in DIR holds no file: no entry, only the root inode, no data.
witness_empty() {
	run "$CHECK" "$1"
	echo "$output"
	[[ "$output" == *", 0 files, 1 inodes, 0 data bytes"* ]]
}

# finish N: unmounts, stops the cluster once it converged; the full replicas' stores are equal
# and hold N files, the witness's none.
finish() {
	unmount_all
	wait_converged 30
	stop_cluster
	run "$CHECK" "$T/r0" "$T/r1"
	echo "$output"
	[ "$status" -eq 0 ] # equal digests
	[[ "$output" == *", $1 files,"* ]]
	witness_empty "$T/r2"
}

@test "the witness is never primary and keeps no file data; the full replicas hold every file" {
	start_cluster
	status_json | jq -e '.replicas[2].role == "witness" and .replicas[0].role == "full"'
	mount_vrfs m
	write_files "$T/m" 1 40
	check_files "$T/m"
	# Views go round r0 and r1 only: kill the primary twice, the witness is never chosen.
	kill_replica 0
	for _ in $(seq 1 100); do
		status_json 2>/dev/null | jq -e '.replicas[1].status == "normal" and .replicas[1].primary == 1' \
			>/dev/null && break
		sleep 0.1
	done
	status_json | jq -e '.replicas[1].primary == 1 and .replicas[2].primary == 1'
	write_files "$T/m" 41 50
	start_replica 0
	wait_converged 30
	check_files "$T/m"
	finish 50
}

@test "a full replica down, then the other lost: what was written meanwhile comes from the witness's log" {
	VRFSD_ARGS+=(--part-kib 64) # the witness's log reaches the new primary in many parts (§9.4)
	start_cluster
	mount_vrfs m
	write_files "$T/m" 1 10
	kill_replica 1 # a full backup: r0 and the witness r2 commit from now on
	write_files "$T/m" 11 60
	status_json | jq -e '.replicas[2].log_ops >= 50' # the witness holds what r1 lacks
	kill_replica 0 # the primary, with the only full copy of files 11..60
	start_replica 1
	# r1 and the witness form a view: r1 is its primary, and takes ops 11..60 from the witness.
	check_files "$T/m"
	status_json | jq -e '.replicas[1].primary == 1 and .replicas[1].log_parts > 10' 
	write_files "$T/m" 61 70
	start_replica 0
	wait_converged 30
	check_files "$T/m"
	finish 70
}

@test "a witness that lost its disk recovers the log from a checkpoint and drops its files" {
	VRFSD_ARGS+=(--checkpoint-ops 10)
	start_cluster
	mount_vrfs m
	write_files "$T/m" 1 30
	stop_replica 2
	rm -rf "$T/r2"
	write_files "$T/m" 31 60 # the primary's log starts after the witness's loss: a checkpoint is needed
	start_replica 2
	wait_converged 60
	grep -q 'installed the checkpoint' "$T/r2.log"
	write_files "$T/m" 61 70
	check_files "$T/m"
	finish 70
}

@test "a log longer than a frame (80 MiB) reaches the new primary in parts when the old one is lost; 4 MiB of it in memory" {
	VRFSD_ARGS+=(--log-cache-mib 4)
	start_cluster
	mount_vrfs m
	kill_replica 1
	head -c $((80 << 20)) /dev/urandom >"$T/big"
	cp "$T/big" "$T/m/big"
	# More than WIRE_FRAME_BODY_MAX (64 MiB) in the witness's log, at most 4 MiB of it in memory.
	status_json | jq -e '.replicas[2].log_bytes > 83886080 and .replicas[2].log_cached <= 4194304'
	status_json | jq -e '.replicas[0].log_bytes > 83886080 and .replicas[0].log_cached <= 4194304'
	kill_replica 0
	start_replica 1
	cmp "$T/big" "$T/m/big"
	# 16 MiB parts, read back from the witness's disk; r1 installed them from its own disk.
	status_json | jq -e '.replicas[1].primary == 1 and .replicas[1].log_parts >= 4'
	status_json | jq -e '.replicas[2].bodies_read > 0 and .replicas[1].log_cached <= 4194304'
	start_replica 0
	wait_converged 60
	finish 1
}

@test "with a full replica down, writes beyond the log window (--witness-window-mib 32) wait for it, then go on" {
	VRFSD_ARGS+=(--witness-window-mib 32)
	start_cluster
	mount_vrfs m
	kill_replica 1
	head -c $((48 << 20)) /dev/urandom >"$T/big"
	cp "$T/big" "$T/m/big" &
	echo $! >"$T/cp.pid"
	# The primary's log reaches back to what r1 holds: it fills up to the bound, and the copy waits.
	for _ in $(seq 1 300); do
		status_json 2>/dev/null | jq -e '.replicas[0].log_bytes > 30000000' >/dev/null && break
		sleep 0.1
	done
	status_json | jq -e '.replicas[0].log_bytes > 30000000 and .replicas[0].log_bytes <= 33554432'
	sleep 2
	kill -0 "$(pid_of cp)" # still waiting
	start_replica 1
	wait "$(pid_of cp)"
	rm -f "$T/cp.pid"
	cmp "$T/big" "$T/m/big"
	wait_converged 30
	status_json | jq -e '.replicas[2].log_bytes < 4000000' # the witness let go of it
	finish 1
}

@test "refused with a message: too many witnesses, reads at a witness, a witness made full" {
	run "$VRFSD" --id 0 --cluster "127.0.0.1:${PORTS[0]},witness@127.0.0.1:${PORTS[1]},witness@127.0.0.1:${PORTS[2]}" \
		--data "$T/x"
	[ "$status" -ne 0 ]
	[[ "$output" == *"at most 1 (f), so that f+1 replicas keep the files"* ]]
	[ ! -e "$T/x" ]
	start_cluster
	mkdir -p "$T/w"
	run "$VRFS" mount --cluster "$CLUSTER" -o read_from=2 "$T/w" -f
	[ "$status" -eq 2 ]
	[[ "$output" == *"replica 2 is a witness"* ]]
	run "$VRFS" reconfigure --cluster "$CLUSTER" --to "127.0.0.1:${PORTS[0]},127.0.0.1:${PORTS[1]},127.0.0.1:${PORTS[2]}"
	[ "$status" -eq 2 ]
	[[ "$output" == *"is a witness now and a full replica in the new configuration"* ]]
	wait_converged 10
}
