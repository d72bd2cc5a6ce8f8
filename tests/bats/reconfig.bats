#!/usr/bin/env bats
# Reconfiguration (VR-PROTOCOL.md §10) on real processes: `vrfs reconfigure` grows, shrinks,
# replaces and moves the group while a mount writes, and a replica killed during it comes back.
#
# Six machines on loopback, m0..m5 (data $T/mI, log $T/mI.log, pid $T/mI.pid); a configuration
# is a list of them. New members start empty with `vrfsd --join`; replicas left out stop by
# themselves. Every test ends by comparing the stores of the final members (vrfs-check).

load cluster

setup() {
	cluster_setup
	local base
	base=$(free_ports 6)
	PORTS=()
	for i in 0 1 2 3 4 5; do PORTS+=($((base + i))); done
}

teardown() {
	cluster_teardown
}

# members I...: the configuration of machines I... (in that order); wI: machine I a witness.
members() {
	local list="" i
	for i in "$@"; do
		if [[ $i == w* ]]; then
			list+="${list:+,}witness@127.0.0.1:${PORTS[${i#w}]}"
		else
			list+="${list:+,}127.0.0.1:${PORTS[$i]}"
		fi
	done
	echo "$list"
}

# start_machine I LIST [ARGS...]: machine I as the member of LIST at its address.
start_machine() {
	local i=$1 list=$2 pos=0 a
	shift 2
	IFS=, read -ra a <<<"$list"
	while [ "${a[$pos]#witness@}" != "127.0.0.1:${PORTS[$i]}" ]; do pos=$((pos + 1)); done
	"$VRFSD" --id "$pos" --cluster "$list" --data "$T/m$i" --liveness-ms 300 "$@" 2>>"$T/m$i.log" &
	echo $! >"$T/m$i.pid"
	if [[ " $* " == *" --join "* ]]; then wait_joining "$i"; fi
}

# wait_joining I: until machine I (started with --join) waits for its epoch.
wait_joining() {
	for _ in $(seq 1 100); do
		grep -q 'new member: waiting' "$T/m$1.log" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "m$1 did not start" >&2
	return 1
}

# use LIST: the configuration the cluster.bash helpers (status, waits, mounts) address.
use() {
	CLUSTER=$1
	NREPLICAS=$(($(tr -cd , <<<"$1" | wc -c) + 1))
}

# make_tree DIR N: N small files in a few directories.
make_tree() {
	local i
	for i in $(seq 1 "$2"); do
		mkdir -p "$1/d$((i % 7))"
		echo "file $i $(seq 1 $((i % 50)) | tr '\n' ' ')" >"$1/d$((i % 7))/f$i"
	done
}

# writes DIR FROM TO: one file per number, written in order; fails at the first error.
writes() {
	local i
	for i in $(seq "$2" "$3"); do echo "w $i" >"$1/w$i" || { echo "write $i failed" >&2; return 1; }; done
}

# exits_alone I SECONDS [WHY]: machine I (left out) stops by itself, with status 0, and says
# WHY (default: once enough members hold the state).
exits_alone() {
	local p rc=0
	p=$(pid_of "m$1")
	for _ in $(seq 1 $(($2 * 10))); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$p" 2>/dev/null; then
		echo "m$1 still runs after $2 s; the end of its log:" >&2
		tail -5 "$T/m$1.log" >&2
		return 1
	fi
	wait "$p" || rc=$?
	rm -f "$T/m$1.pid"
	[ "$rc" = 0 ] || { echo "m$1 exited $rc" >&2; tail -5 "$T/m$1.log" >&2; return 1; }
	grep -q "${3:-hold the state: stopping}" "$T/m$1.log"
}

# same_state I...: unmounts, waits for convergence, stops machines I... and compares their stores.
same_state() {
	local i dirs=()
	unmount_all
	wait_converged 60
	for i in "$@"; do
		kill -TERM "$(pid_of "m$i")"
		wait "$(pid_of "m$i")" || { echo "m$i did not stop cleanly" >&2; return 1; }
		rm -f "$T/m$i.pid"
		dirs+=("$T/m$i")
	done
	"$CHECK" "${dirs[@]}" >"$T/digests.log" 2>&1 || { cat "$T/digests.log" >&2; return 1; }
}

# begin "OLD MACHINES" "NEW MACHINES": starts the old configuration (OLD, converged, mounted on
# $T/a) and, empty with --join, the machines of NEW that are not in it (NEW).
begin() {
	local i
	OLD=$(members $1)
	NEW=$(members $2)
	for i in $1; do start_machine "$i" "$OLD"; done
	for i in $2; do [[ " $1 " == *" $i "* ]] || start_machine "$i" "$NEW" --join; done
	use "$OLD"
	wait_converged 30
	mount_vrfs a
}

reconfigure() {
	"$VRFS" reconfigure --timeout 120 "$@" >>"$T/reconfigure.log" 2>&1 || { cat "$T/reconfigure.log" >&2; return 1; }
}

@test "grow 3 to 5 while a copy runs" {
	begin "0 1 2" "0 1 2 3 4"
	local old=$OLD new=$NEW
	make_tree "$T/src" 400
	cp -a "$T/src" "$T/a/copy" &
	local cp_pid=$!
	sleep 0.3
	reconfigure --cluster "$old" --to "$new"
	wait $cp_pid
	grep -q "epoch 1 committed" "$T/reconfigure.log"
	use "$new"
	wait_all_normal 60
	diff -r "$T/src" "$T/a/copy"
	mount_vrfs b
	diff -r "$T/src" "$T/b/copy"
	echo after >"$T/a/after"
	[ "$(cat "$T/b/after")" = after ]
	[ "$(status_json | jq '[.replicas[] | select(.epoch == 1)] | length')" = 5 ]
	same_state 0 1 2 3 4
}

@test "replace a replica: the one left out stops by itself and cannot be started again" {
	begin "0 1 2" "0 1 3"
	local old=$OLD new=$NEW
	writes "$T/a" 1 100
	reconfigure --cluster "$old" --to "$new"
	exits_alone 2 60
	run "$VRFSD" --id 2 --cluster "$old" --data "$T/m2"
	[ "$status" = 1 ]
	[[ $output == *"left out of the cluster by a reconfiguration"* ]]
	use "$new"
	wait_all_normal 60
	writes "$T/a" 101 150
	# The mount knows the new member: with m0 gone it goes on through m1 and m3.
	kill_replica_machine 0
	writes "$T/a" 151 200
	start_machine 0 "$new"
	for i in $(seq 1 200); do [ "$(cat "$T/a/w$i")" = "w $i" ]; done
	same_state 0 1 3
}

@test "shrink 5 to 3" {
	begin "0 1 2 3 4" "0 1 2"
	local old=$OLD new=$NEW
	writes "$T/a" 1 100
	writes "$T/a" 101 400 &
	local w=$!
	sleep 0.3
	reconfigure --cluster "$old" --to "$new"
	exits_alone 3 60
	exits_alone 4 60
	wait $w
	use "$new"
	wait_all_normal 60
	for i in $(seq 1 400); do [ "$(cat "$T/a/w$i")" = "w $i" ]; done
	same_state 0 1 2
}

@test "move the whole group to new machines while a mount writes" {
	begin "0 1 2" "3 4 5"
	local old=$OLD new=$NEW
	writes "$T/a" 1 100
	writes "$T/a" 101 400 &
	local w=$!
	sleep 0.3
	reconfigure --cluster "$old" --to "$new"
	for i in 0 1 2; do exits_alone $i 60; done
	wait $w
	writes "$T/a" 401 450
	use "$new"
	wait_all_normal 60
	mount_vrfs b
	for i in $(seq 1 450); do [ "$(cat "$T/b/w$i")" = "w $i" ]; done
	same_state 3 4 5
}

@test "a replica killed during a reconfiguration catches up after restart with its old command line" {
	begin "0 1 2" "0 1 2 3 4"
	local old=$OLD new=$NEW
	writes "$T/a" 1 300 &
	local w=$!
	sleep 0.3
	reconfigure --cluster "$old" --to "$new" &
	local r=$!
	sleep 0.05
	kill_replica_machine 1
	wait $r
	wait $w
	start_machine 1 "$old" # its --cluster of before: it finds out the configuration it is in
	use "$new"
	wait_all_normal 60
	for i in $(seq 1 300); do [ "$(cat "$T/a/w$i")" = "w $i" ]; done
	same_state 0 1 2 3 4
}

@test "refused reconfigurations say why" {
	local old
	old=$(members 0 1 2)
	for i in 0 1 2; do start_machine $i "$old"; done
	use "$old"
	wait_converged 30
	run "$VRFS" reconfigure --cluster "$old" --to "$(members 0)"
	[ "$status" = 2 ]
	[[ $output == *"a cluster needs at least 3"* ]]
	run "$VRFS" reconfigure --cluster "$old" --to "$old"
	[ "$status" = 2 ]
	[[ $output == *"nothing to change"* ]]
	run "$VRFS" reconfigure --cluster "$old" --to "$(members 0 1 3)"
	[ "$status" = 1 ]
	[[ $output == *"does not answer: start it first"*"vrfsd --join"* ]]
	start_machine 3 "$(members 0 1 3)" --join
	reconfigure --cluster "$old" --to "$(members 0 1 3)"
	exits_alone 2 60
	# The old configuration is gone: a second reconfiguration that names it is refused.
	start_machine 4 "$(members 0 1 4)" --join
	run "$VRFS" reconfigure --cluster "$old" --to "$(members 0 1 4)"
	[ "$status" = 1 ]
	[[ $output == *"the cluster was reconfigured: it is now $(members 0 1 3)"* ]]
}

# kill_replica_machine I: SIGKILL to machine I, waited for.
kill_replica_machine() {
	local p
	p=$(pid_of "m$1") || return 0
	kill -9 "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	rm -f "$T/m$1.pid"
}

@test "a member that lost its disk after a reconfiguration recovers in the new epoch" {
	begin "0 1 2" "0 1 2 3 4"
	local old=$OLD new=$NEW
	writes "$T/a" 1 100
	reconfigure --cluster "$old" --to "$new"
	use "$new"
	wait_all_normal 60
	writes "$T/a" 101 150
	kill_replica_machine 1
	rm -rf "$T/m1"
	start_machine 1 "$new"
	writes "$T/a" 151 200
	wait_all_normal 60
	grep -q 'lost its disk: it then recovers in the epoch' "$T/m1.log"
	# Another one, started with the command line it had before the reconfiguration.
	kill_replica_machine 2
	rm -rf "$T/m2"
	start_machine 2 "$old"
	writes "$T/a" 201 250
	wait_all_normal 60
	grep -q 'lost its disk: it then recovers in the epoch' "$T/m2.log"
	for i in $(seq 1 250); do [ "$(cat "$T/a/w$i")" = "w $i" ]; done
	same_state 0 1 2 3 4
}

@test "with witnesses: a witness replaced, then the group grown to five with another, while a mount writes" {
	local a b c i
	a=$(members 0 1 w2)
	b=$(members 0 1 w3)
	c=$(members 0 1 w3 4 w5)
	for i in 0 1 2; do start_machine "$i" "$a"; done
	start_machine 3 "$b" --join
	use "$a"
	wait_converged 30
	mount_vrfs a
	# A replica keeps its role: a witness holds no files to become full with.
	run "$VRFS" reconfigure --cluster "$a" --to "$(members 0 1 2)"
	[ "$status" = 2 ]
	[[ $output == *"is a witness now and a full replica in the new configuration"* ]]
	writes "$T/a" 1 100
	writes "$T/a" 101 300 &
	local w=$!
	sleep 0.3
	reconfigure --cluster "$a" --to "$b"
	wait $w
	exits_alone 2 30 "a witness has no state to give" # at once
	use "$b"
	wait_all_normal 60
	status_json | jq -e '.replicas[2].role == "witness" and .replicas[2].epoch == 1'
	start_machine 4 "$c" --join
	start_machine 5 "$c" --join
	reconfigure --cluster "$b" --to "$c"
	use "$c"
	wait_all_normal 60
	writes "$T/a" 301 350
	# The primary lost: the mount goes on with the new members.
	kill_replica_machine 0
	writes "$T/a" 351 400
	start_machine 0 "$c"
	for i in $(seq 1 400); do [ "$(cat "$T/a/w$i")" = "w $i" ]; done
	# The full members hold equal stores with every file, the witnesses none.
	unmount_all
	wait_converged 60
	for i in 0 1 3 4 5; do
		kill -TERM "$(pid_of "m$i")"
		wait "$(pid_of "m$i")"
		rm -f "$T/m$i.pid"
	done
	run "$CHECK" "$T/m0" "$T/m1" "$T/m4"
	echo "$output"
	[ "$status" = 0 ]
	[[ $output == *", 400 files,"* ]]
	for i in 3 5; do
		run "$CHECK" "$T/m$i"
		echo "$output"
		[[ $output == *", 0 files, 1 inodes, 0 data bytes"* ]]
	done
}

@test "with witnesses: the whole group moved to new machines; the old full ones wait for both new full ones" {
	local a b i
	a=$(members 0 1 w2)
	b=$(members 3 4 w5)
	for i in 0 1 2; do start_machine "$i" "$a"; done
	for i in 3 4 5; do start_machine "$i" "$b" --join; done
	use "$a"
	wait_converged 30
	mount_vrfs a
	writes "$T/a" 1 200
	reconfigure --cluster "$a" --to "$b"
	grep -q "2 of 2 full members hold the state (2 needed)" "$T/reconfigure.log"
	exits_alone 2 30 "a witness has no state to give"
	# A full replica left out stops once f'+1 = 2 members hold the state: the two full ones
	# (the new witness, which says it started too, holds no files).
	exits_alone 0 60 "2 members of epoch 1 hold the state"
	exits_alone 1 60 "2 members of epoch 1 hold the state"
	grep -q "installed the checkpoint" "$T/m3.log"
	grep -q "installed the checkpoint" "$T/m4.log"
	use "$b"
	wait_all_normal 60
	writes "$T/a" 201 250
	for i in $(seq 1 250); do [ "$(cat "$T/a/w$i")" = "w $i" ]; done
	unmount_all
	wait_converged 60
	for i in 3 4 5; do
		kill -TERM "$(pid_of "m$i")"
		wait "$(pid_of "m$i")"
		rm -f "$T/m$i.pid"
	done
	run "$CHECK" "$T/m3" "$T/m4"
	echo "$output"
	[ "$status" = 0 ]
	[[ $output == *", 250 files,"* ]]
	run "$CHECK" "$T/m5"
	echo "$output"
	[[ $output == *", 0 files, 1 inodes, 0 data bytes"* ]]
}
