#!/usr/bin/env bats
# vrfsd on loopback: three real replica processes, a test client (vrfs-load) that creates
# files through VR client sessions, and faults: kill -9, restart, a wiped data directory,
# every replica killed at once, hostile frames. After each scenario vrfs-check compares
# the replicas' digests and checks that every acknowledged create is present exactly once.

load cluster

setup() {
	cluster_setup
}

teardown() {
	cluster_teardown
}

@test "vrfs status shows a new three-replica cluster; SIGTERM stops each replica cleanly" {
	start_cluster
	run "$VRFS" status --cluster "$CLUSTER"
	[ "$status" -eq 0 ]
	[[ "$output" == *"quorum reachable: yes (3 of 3"* ]]
	status_json | jq -e '[.replicas[] | select(.status == "normal" and .view == 0 and .primary == 0)] | length == 3'
	stop_cluster
	grep -q "SIGTERM: stopping; state is durable" "$T/r0.log"
	run "$VRFS" status --cluster "$CLUSTER" --timeout 300
	[ "$status" -eq 1 ]
	[[ "$output" == *"quorum reachable: NO"* ]]
}

@test "creates from 4 sessions: each acknowledged one is applied exactly once on every replica" {
	start_cluster
	load_bg a --sessions 4 --ops 300
	load_wait a
	wait_converged 30
	run check_state a
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"1200 acknowledged creates"* ]]
}

@test "primary killed mid-stream: the client goes on in the next view; restarted, it catches up" {
	start_cluster
	# --reads: after each ack, a lookup at the primary must find the file (read barrier).
	load_bg a --sessions 4 --ops 600 --pause-after 800 --pause-file "$T/pause" --stall-s 60 --reads
	wait_file "$T/pause" 60
	kill_replica 0
	load_wait a
	[ "$(grep -c '^read ' "$T/a.log")" -eq 2400 ]
	status_json | jq -e '.replicas[1].view >= 1 and .replicas[1].status == "normal"'
	start_replica 0
	wait_converged 60
	grep -q "view change to view" "$T/r1.log"
	run check_state a
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"2400 acknowledged creates"* ]]
}

@test "a backup killed during writes and restarted from its disk catches up by state transfer" {
	start_cluster
	load_bg a --sessions 4 --ops 500 --pause-after 400 --pause-file "$T/pause"
	wait_file "$T/pause" 60
	kill_replica 2
	load_wait a
	start_replica 2
	wait_converged 60
	grep -q "restarted from" "$T/r2.log"
	run check_state a
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "a replica whose data directory was wiped recovers through RECOVERY and rejoins" {
	start_cluster
	load_bg a --sessions 4 --ops 300
	load_wait a
	kill_replica 1
	rm -rf "$T/r1"
	start_replica 1
	wait_converged 60
	grep -q "recovering (disk lost)" "$T/r1.log"
	load_bg b --sessions 2 --ops 200
	load_wait b
	wait_converged 30
	run check_state a b
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "kill -9 of every replica at once during writes: every acknowledged create survives" {
	start_cluster
	load_bg a --sessions 4 --ops 2000 --pause-after 1500 --pause-file "$T/pause"
	wait_file "$T/pause" 60
	kill -9 "$(pid_of r0)" "$(pid_of r1)" "$(pid_of r2)"
	kill_replica 0
	kill_replica 1
	kill_replica 2
	kill -9 "$(pid_of a)"
	load_wait a || true
	acked=$(grep -c '^ack ' "$T/a.log")
	[ "$acked" -ge 1500 ]
	start_replica 0
	start_replica 1
	start_replica 2
	wait_converged 60
	run check_state a
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "a backup down across several checkpoints catches up from a checkpoint of another replica" {
	VRFSD_ARGS=(--checkpoint-ops 50)
	start_cluster
	load_bg a --sessions 4 --ops 50
	load_wait a
	kill_replica 2
	load_bg b --sessions 4 --ops 100
	load_wait b
	# The others truncated their logs past what replica 2 holds.
	status_json | jq -e '.replicas[0].checkpoint > 250 and .replicas[1].checkpoint > 250'
	start_replica 2
	wait_converged 60
	grep -q "installed the checkpoint" "$T/r2.log"
	load_bg c --sessions 2 --ops 50
	load_wait c
	wait_converged 30
	run check_state a b c
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "a wiped replica recovers from a checkpoint when the others truncated their logs" {
	VRFSD_ARGS=(--checkpoint-ops 50)
	start_cluster
	load_bg a --sessions 4 --ops 100
	load_wait a
	kill_replica 1
	rm -rf "$T/r1"
	start_replica 1
	wait_converged 60
	grep -q "recovering (disk lost)" "$T/r1.log"
	grep -q "installed the checkpoint" "$T/r1.log"
	run check_state a
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "hostile frames are dropped and counted; the replica keeps serving" {
	start_cluster
	run "$BADFRAMES" --cluster "$CLUSTER" --id 0
	echo "$output"
	[ "$status" -eq 0 ]
	counted=$(echo "$output" | sed -n 's/^counted: //p')
	alive r0
	status_json | jq -e --argjson n "$counted" '.replicas[0].frames_bad >= $n'
	load_bg a --sessions 2 --ops 100
	load_wait a
	wait_converged 30
	run check_state a
	[ "$status" -eq 0 ]
}

@test "bad flags, a foreign or unusable data directory, a port in use: one line and a non-zero exit" {
	run "$VRFSD" --bogus
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"unknown option --bogus"* ]]

	run "$VRFSD" --id 0 --cluster "$CLUSTER"
	[ "$status" -eq 2 ]
	[[ "$output" == *"required"* ]]

	run "$VRFSD" --id 5 --cluster "$CLUSTER" --data "$T/x"
	[ "$status" -eq 2 ]
	[[ "$output" == *"lists 3 replicas"* ]]

	run "$VRFSD" --id 0 --cluster 127.0.0.1:1,127.0.0.1:2 --data "$T/x"
	[ "$status" -eq 2 ]
	[[ "$output" == *"odd number"* ]]

	touch "$T/file"
	run "$VRFSD" --id 0 --cluster "$CLUSTER" --data "$T/file"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"not a directory"* ]]

	# A directory of this cluster's replica 0, started as replica 1 or under another cluster.
	start_replica 0
	wait_file "$T/r0/store.db" 10
	stop_replica 0
	run "$VRFSD" --id 1 --cluster "$CLUSTER" --data "$T/r0"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"belongs to replica 0 of 3, not replica 1"* ]]
	run "$VRFSD" --id 0 --cluster "127.0.0.1:${PORTS[0]},127.0.0.1:${PORTS[1]},127.0.0.1:1" --data "$T/r0"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"belongs to another cluster"* ]]

	# The port of a running replica; its data directory.
	start_replica 0
	sleep 0.5
	run "$VRFSD" --id 0 --cluster "$CLUSTER" --data "$T/r0"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"is in use by another vrfsd (pid $(pid_of r0))"* ]]
	run "$VRFSD" --id 0 --cluster "$CLUSTER" --data "$T/other"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"cannot listen on 127.0.0.1:${PORTS[0]}"* ]]
	[[ "$output" == *"already running"* ]]
}
