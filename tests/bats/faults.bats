#!/usr/bin/env bats
# Surviving faults, the way Jepsen tests a database: replicas and mounts on hosts in network
# namespaces (netbed.bash), a workload on the mounts that records every system call
# (vrfs-jepsen run), faults injected meanwhile, and a checker that decides afterwards whether
# anything acknowledged was lost, done twice, invented or read stale (vrfs-jepsen check).
# Each scenario prints what it did and the verdict; a failed one keeps the history, the
# checker's report and every log in its folder (printed at the end).
#
# Clocks: leases (on by default) depend on clock rates, not on the time of day. Scenario 11 runs
# the replicas' clocks at different rates (libfaketime) within the drift vrfsd assumes; a step
# of the realtime clock changes no decision (leases use CLOCK_BOOTTIME), only timestamps.

load netbed

setup() {
	local n=3 opts=()
	case $BATS_TEST_DESCRIPTION in
	8.*) n=5 ;;                   # five replicas
	4.*) opts=(-o timeout=3) ;;   # the mounts give EIO after 3 s, so the workload sees the outage
	7.* | 10.*) VRFSD_ARGS=(--checkpoint-ops 100) ;; # checkpoints often
	11.*) CLOCK_RATE=(0.96 1.04 1.04) ;;            # the primary's clocks slow, the backups' fast
	esac
	cluster_setup
	net_setup "$n" 2
	start_cluster
	mount_on c0 a "${opts[@]}"
	mount_on c1 b "${opts[@]}"
}

teardown() {
	net_bed_teardown
}

# cut_from_backups P SECONDS: cuts replica P off from the other two replicas (not from the
# mounts), waits for a new primary, keeps the cut SECONDS longer, heals.
cut_from_backups() {
	local old=$1 p
	partition "r$old" "r$(((old + 1) % 3)) r$(((old + 2) % 3))"
	p=$(wait_primary_not "$old" 30)
	say "new primary: r$p"
	sleep "$2"
	heal
}

@test "1. primary killed during cp -r of 2,000 files: the copy completes; every sha256 equal on both mounts" {
	mkdir -p "$T/src"
	find /usr/include -maxdepth 2 -type f -size -64k | head -2000 | tar -cf - -T - 2>/dev/null |
		tar -xf - -C "$T/src"
	local n
	n=$(find "$T/src" -type f | wc -l)
	say "copying $n files onto mount a"
	cp -r "$T/src" "$T/a/tree" &
	local cp_pid=$!
	echo "$cp_pid" >"$T/cp.pid"
	while [ "$(find "$T/b/tree" -type f 2>/dev/null | wc -l)" -lt $((n / 3)) ]; do sleep 0.2; done
	local p
	p=$(the_primary)
	say "kill -9 r$p (the primary) after $(find "$T/b/tree" -type f | wc -l) files"
	kill_replica "$p"
	wait "$cp_pid"
	rm -f "$T/cp.pid"
	say "new primary: r$(wait_primary_not "$p" 30)"
	(cd "$T/src" && find . -type f -exec sha256sum {} + | sort -k2) >"$T/want"
	(cd "$T/b/tree" && find . -type f -exec sha256sum {} + | sort -k2) >"$T/got-b"
	(cd "$T/a/tree" && find . -type f -exec sha256sum {} + | sort -k2) >"$T/got-a"
	cmp "$T/want" "$T/got-b"
	cmp "$T/want" "$T/got-a"
	say "sha256 of $n files equal on both mounts"
	start_replica "$p"
	wait_converged 60
	digests_equal
}

@test "2. a backup killed and restarted during writes catches up; digests equal" {
	jepsen_start 16
	sleep 4
	local b=$((($(the_primary) + 1) % 3))
	say "kill -9 r$b (a backup)"
	kill_replica "$b"
	sleep 5
	say "restart r$b"
	start_replica "$b"
	jepsen_finish
	wait_converged 60
	digests_equal
}

@test "3. primary cut off from the backups, not from the mounts: a new view; no stale read; the old primary rejoins" {
	jepsen_start 20
	sleep 4
	local old
	old=$(the_primary)
	local mark=$(($(wc -l <"$T/r$old.log") + 1))
	say "cut r$old (the primary) from the backups; the mounts still reach all three"
	cut_from_backups "$old" 6
	jepsen_finish
	wait_converged 60
	# The old primary came back as a backup of a later view.
	local back
	back=$(tail -n +"$mark" "$T/r$old.log" | grep -E -m1 "view [0-9]+: normal, backup")
	say "r$old: ${back#* info: }"
	digests_equal
}

@test "4. a minority cannot commit: with r1 and r2 cut off, writes time out; after healing only acknowledged ones count" {
	jepsen_start 24 --grace 15
	sleep 4
	local p a b
	p=$(the_primary)
	a=r$(((p + 1) % 3))
	b=r$(((p + 2) % 3))
	say "cut $a and $b from everyone: r$p (the primary) alone"
	partition "$a $b" "r$p c0 c1 o"
	partition "$a" "$b"
	sleep 10
	heal
	say "healed"
	jepsen_finish
	# Operations during the cut did not complete: the workload recorded unknown outcomes.
	grep -Eq '[1-9][0-9]* (fail|info)' "$T/jepsen-run.log"
	wait_converged 60
	digests_equal
}

@test "5. every replica killed at the same moment during writes, then restarted: every acknowledged write present" {
	jepsen_start 18
	sleep 5
	say "kill -9 r0 r1 r2 at once"
	kill -9 "$(pid_of r0)" "$(pid_of r1)" "$(pid_of r2)"
	local i
	for i in 0 1 2; do kill_replica "$i"; done
	sleep 2
	say "restart all three"
	for i in 0 1 2; do start_replica "$i"; done
	jepsen_finish
	wait_converged 60
	digests_equal
}

@test "6. a replica's disk wiped: it recovers through RECOVERY and state transfer" {
	jepsen_start 16
	sleep 4
	say "kill -9 r2 and wipe its data directory"
	kill_replica 2
	rm -rf "$T/r2"
	sleep 2
	say "restart r2 on an empty directory"
	start_replica 2
	jepsen_finish
	wait_converged 60
	grep -q "recovering (disk lost)" "$T/r2.log"
	digests_equal
}

@test "7. a replica down across several checkpoints catches up by snapshot" {
	jepsen_start 16
	sleep 2
	say "kill -9 r2; the others take checkpoints every 100 ops"
	kill_replica 2
	sleep 9
	say "restart r2"
	start_replica 2
	jepsen_finish
	wait_converged 60
	grep -q "installed the checkpoint" "$T/r2.log"
	say "r2: $(grep -m1 "installed the checkpoint" "$T/r2.log" | cut -d" " -f4-)"
	digests_equal
}

@test "8. five replicas, two faults at a time" {
	jepsen_start 24
	sleep 3
	local p q r s
	p=$(the_primary)
	q=$(((p + 1) % 5))
	say "kill -9 r$p (the primary) and r$q"
	kill_replica "$p"
	kill_replica "$q"
	sleep 5
	r=$(((p + 2) % 5))
	s=$(((p + 3) % 5))
	say "restart r$p and r$q; cut r$r and r$s from everyone"
	start_replica "$p"
	start_replica "$q"
	partition "r$r r$s" "$(for h in r0 r1 r2 r3 r4 c0 c1 o; do [ "$h" = "r$r" ] || [ "$h" = "r$s" ] || echo -n "$h "; done)"
	sleep 6
	heal
	p=$(wait_primary_not none 30)
	r=$(((p + 1) % 5))
	say "healed; freeze r$r (SIGSTOP) and kill -9 r$p (the primary)"
	kill -STOP "$(pid_of "r$r")"
	kill_replica "$p"
	sleep 4
	kill -CONT "$(pid_of "r$r")"
	start_replica "$p"
	say "r$r thawed; r$p restarted"
	jepsen_finish
	wait_converged 60
	digests_equal
}

@test "9. nemesis: random faults for ${NEMESIS_SECONDS:-90} s under the workload, then heal and check" {
	local secs=${NEMESIS_SECONDS:-90} seed=${NEMESIS_SEED:-$RANDOM}
	RANDOM=$seed
	say "nemesis seed $seed (NEMESIS_SEED=$seed makes the same random choices)"
	JEPSEN_SEED=$seed
	jepsen_start "$secs" --grace 30
	local end=$((SECONDS + secs - 8)) r f p
	while [ "$SECONDS" -lt "$end" ]; do
		sleep $((2 + RANDOM % 3))
		r=$((RANDOM % 3))
		p=$(primary_id)
		f=$((RANDOM % 6))
		case $f in
		0)
			say "kill -9 r$r"
			kill_replica "$r"
			sleep $((1 + RANDOM % 4))
			say "restart r$r"
			start_replica "$r"
			;;
		1)
			[ -n "$p" ] || continue
			say "SIGSTOP r$p (the primary)"
			kill -STOP "$(pid_of "r$p")"
			sleep $((1 + RANDOM % 4))
			say "SIGCONT r$p"
			kill -CONT "$(pid_of "r$p")"
			;;
		2)
			[ -n "$p" ] || continue
			say "cut r$p (the primary) from the backups"
			partition "r$p" "$(for i in 0 1 2; do [ "$i" = "$p" ] || echo -n "r$i "; done)"
			sleep $((2 + RANDOM % 4))
			heal
			;;
		3)
			say "cut r$r from everyone"
			partition "r$r" "$(for h in r0 r1 r2 c0 c1 o; do [ "$h" = "r$r" ] || echo -n "$h "; done)"
			sleep $((2 + RANDOM % 4))
			heal
			;;
		4)
			local to=$(((r + 1) % 3))
			say "one way: r$r no longer hears r$to"
			block "r$to" "r$r"
			sleep $((2 + RANDOM % 4))
			heal
			;;
		5)
			say "kill -9 r$r and wipe its disk"
			kill_replica "$r"
			rm -rf "$T/r$r"
			sleep 1
			say "restart r$r on an empty directory"
			start_replica "$r"
			# A wiped replica must finish RECOVERY before another disk may go. (The workload
			# runs on: all normal in one view, not op = commit equal everywhere.)
			wait_all_normal 60
			;;
		esac
	done
	heal
	for r in 0 1 2; do alive "r$r" || start_replica "$r"; done
	say "healed; every replica running"
	jepsen_finish
	wait_converged 90
	digests_equal
}

@test "10. a backup still catching up by checkpoint when the other backup's disk is wiped: both rejoin" {
	# Once a liveness bug: the catching-up replica ignored the primary's heartbeats of the view it
	# was catching up to and kept starting view changes, so the wiped one could never recover.
	jepsen_start 20
	sleep 2
	local p a b
	p=$(the_primary)
	a=r$(((p + 1) % 3))
	b=$(((p + 2) % 3))
	say "cut $a from everyone for 6 s (the others take checkpoints every 100 ops)"
	partition "$a" "$(for h in r0 r1 r2 c0 c1 o; do [ "$h" = "$a" ] || echo -n "$h "; done)"
	sleep 6
	heal
	say "healed; at once kill -9 r$b and wipe its disk, restart it"
	kill_replica "$b"
	rm -rf "$T/r$b"
	start_replica "$b"
	jepsen_finish
	wait_converged 60
	grep -q "recovering (disk lost)" "$T/r$b.log"
	digests_equal
}

@test "11. clocks at different rates (the primary 4% slow, the backups 4% fast): the primary cut off from the backups serves no stale read under its leases" {
	# The drift vrfsd assumes is 5%: a lease the backups grant for 500 ms of their (fast) clock
	# lasts 481 ms; the primary counts it for 500 * 0.95/1.05 = 452 ms of its (slow) clock,
	# which is 471 ms. (Without the margin it would count 521 ms. A new view that commits a write
	# and a read at the old primary both within those 40 ms are too unlikely for this test to
	# catch a missing margin: the simulator does, planted bug 11. This scenario shows that with
	# skewed clocks leases are used, failover works, and no read is stale.)
	local up0 up1
	read -r up0 up1 < <(status_json | jq -r '[.replicas[0].uptime_ms, .replicas[1].uptime_ms] | map(tostring) | join(" ")')
	sleep 2
	local d0 d1
	read -r d0 d1 < <(status_json | jq -r '[.replicas[0].uptime_ms, .replicas[1].uptime_ms] | map(tostring) | join(" ")')
	d0=$((d0 - up0))
	d1=$((d1 - up1))
	say "in 2 s the replicas' clocks counted: r0 $d0 ms, r1 $d1 ms"
	[ $((d1 * 100)) -gt $((d0 * 104)) ] # the rates differ (1.04/0.96 = 1.08): the fault is in place
	jepsen_start 20
	sleep 4
	local old lease
	old=$(the_primary)
	lease=$(status_json | jq -r --argjson p "$old" '.replicas[$p].lease_reads')
	say "r$old (the primary) served $lease reads under leases; cut it from the backups"
	[ "$lease" -gt 0 ]
	cut_from_backups "$old" 6
	jepsen_finish
	wait_converged 60
	digests_equal
}
