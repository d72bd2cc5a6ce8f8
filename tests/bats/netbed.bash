# netbed.bash — a test bed of hosts in network namespaces, for fault tests: each replica,
# each mount and an observer get their own namespace and address, joined by veth pairs to a
# bridge in a hub namespace. Everything is made by the test (as root) and torn down after it;
# no address outside these namespaces is used.
#
#   replica i   namespace $NET-r<i>   10.77.0.<10+i>, port 7000
#   client j    namespace $NET-c<j>   10.77.0.<100+j>   (mounts run here)
#   observer    namespace $NET-o      10.77.0.200       (vrfs status, test tools; never cut off)
#
# Faults on the network are nftables rules in the receiver's namespace that drop packets
# from a sender: silent loss, as a cut cable or a dead switch port looks to TCP.
#
# Replicas and mounts are started with nsenter --net (not ip netns exec, which would give the
# mount a private mount namespace): a mount made in a client namespace is seen by the test.

load cluster

NFT=${NFT:-nft}

host_addr() {
	case $1 in
	r*) echo "10.77.0.$((10 + ${1#r}))" ;;
	c*) echo "10.77.0.$((100 + ${1#c}))" ;;
	o) echo "10.77.0.200" ;;
	esac
}

# in_ns HOST CMD...: runs CMD in HOST's network namespace (in the foreground: nsenter execs CMD,
# so started with & directly, nsenter's pid is the command's pid).
in_ns() {
	local host=$1
	shift
	nsenter --net="/run/netns/$NET-$host" "$@"
}

# net_add_host NAME: a namespace with lo, an eth0 on the bridge, and a drop table.
net_add_host() {
	local h=$1
	ip netns add "$NET-$h"
	echo "$NET-$h" >>"$T/netns"
	ip -n "$NET-h" link add "$h" type veth peer name eth0 netns "$NET-$h"
	ip -n "$NET-h" link set "$h" master br0 up
	ip -n "$NET-$h" link set lo up
	ip -n "$NET-$h" addr add "$(host_addr "$h")/24" dev eth0
	ip -n "$NET-$h" link set eth0 up
	ip netns exec "$NET-$h" "$NFT" -f - <<-EOF
		table inet vrfsnet {
			chain input { type filter hook input priority 0; policy accept; }
		}
	EOF
}

# net_setup NREPLICAS NCLIENTS: after cluster_setup; sets NET, CLUSTER and HOSTS.
net_setup() {
	local n=$1 c=$2 i
	NREPLICAS=$n
	NET=vf$(printf '%05d' $((RANDOM % 100000)))
	while ip netns list | grep -q "^$NET-"; do NET=vf$(printf '%05d' $((RANDOM % 100000))); done
	ip netns add "$NET-h"
	echo "$NET-h" >>"$T/netns"
	ip -n "$NET-h" link set lo up
	ip -n "$NET-h" link add br0 type bridge
	ip -n "$NET-h" link set br0 up
	HOSTS=()
	CLUSTER=""
	for ((i = 0; i < n; i++)); do
		net_add_host "r$i"
		HOSTS+=("r$i")
		CLUSTER+="${CLUSTER:+,}$(host_addr "r$i"):7000"
	done
	for ((i = 0; i < c; i++)); do
		net_add_host "c$i"
		HOSTS+=("c$i")
	done
	net_add_host o
	HOSTS+=(o)
}

# block FROM TO: packets from FROM to TO are dropped (one way).
block() {
	ip netns exec "$NET-$2" "$NFT" add rule inet vrfsnet input ip saddr "$(host_addr "$1")" drop
	echo "net: $1 -> $2 dropped" >>"$T/nemesis.log"
}

# partition "A B" "C D": both ways between every host of the first group and every one of the second.
partition() {
	local a b
	for a in $1; do
		for b in $2; do
			block "$a" "$b"
			block "$b" "$a"
		done
	done
}

# heal: every rule dropped on every host.
heal() {
	local h
	for h in "${HOSTS[@]}"; do ip netns exec "$NET-$h" "$NFT" flush chain inet vrfsnet input; done
	echo "net: healed" >>"$T/nemesis.log"
}

# The cluster helpers, on the test bed. CLOCK_RATE[i] (e.g. 1.04) runs replica i's clocks
# (realtime, monotonic, boottime, and so its timers) at that rate, through libfaketime.
FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1
CLOCK_RATE=()
start_replica() {
	local i=$1 clock=()
	shift
	if [ -n "${CLOCK_RATE[$i]:-}" ]; then
		clock=(env "LD_PRELOAD=$FAKETIME_LIB" "FAKETIME=+0 x${CLOCK_RATE[$i]}" FAKETIME_NO_CACHE=1
			"ASAN_OPTIONS=$ASAN_OPTIONS:verify_asan_link_order=0")
	fi
	nsenter --net="/run/netns/$NET-r$i" "${clock[@]}" "$VRFSD" --id "$i" --cluster "$CLUSTER" --data "$T/r$i" \
		"${KEYARG[@]}" "${VRFSD_ARGS[@]}" "$@" 2>>"$T/r$i.log" &
	echo $! >"$T/r$i.pid"
}

status_json() { in_ns o "$VRFS" status --cluster "$CLUSTER" "${KEYARG[@]}" --json --timeout 500; }

# mount_on CLIENT NAME [OPTIONS...]: mounts the cluster on $T/NAME from client namespace CLIENT.
mount_on() {
	local c=$1 name=$2
	shift 2
	mkdir -p "$T/$name"
	nsenter --net="/run/netns/$NET-$c" "$VRFS" mount --cluster "$CLUSTER" "${KEYARG[@]}" "$T/$name" -f "$@" 2>>"$T/mount-$name.log" &
	mount_started "$name" $!
}

load_bg() {
	local name=$1
	shift
	nsenter --net="/run/netns/$NET-o" "$LOAD" --cluster "$CLUSTER" "${KEYARG[@]}" --log "$T/$name.log" --prefix "$name" "$@" 2>>"$T/$name.err" &
	echo $! >"$T/$name.pid"
}

# primary_id: the replica that is primary of the highest normal view a majority is in, or "".
primary_id() {
	status_json 2>/dev/null | jq -r --argjson n "$NREPLICAS" '
		[.replicas[] | select(.reachable and .status == "normal")] as $r
		| ($r | map(.view) | max) as $v
		| if $v == null then "" elif ([$r[] | select(.view == $v)] | length) > ($n / 2 | floor)
		  then ($v % $n) else "" end'
}

# wait_primary_not I SECONDS: until a replica other than I is primary; prints its id.
wait_primary_not() {
	local old=$1 limit=$2 start=$SECONDS p
	while [ $((SECONDS - start)) -lt "$limit" ]; do
		p=$(primary_id)
		if [ -n "$p" ] && [ "$p" != "$old" ]; then
			echo "$p"
			return 0
		fi
		sleep 0.2
	done
	return 1
}

# the_primary: the current primary's id, waiting up to 30 s for one; fails when there is none,
# so that a scenario never goes on to fault "the primary" without knowing it.
the_primary() { wait_primary_not none 30; }

# net_bed_teardown: processes (by pid) and mounts, then the namespaces. $T is kept (and its
# logs printed) when the test failed.
net_bed_teardown() {
	local spaces=""
	[ -e "$T/netns" ] && spaces=$(cat "$T/netns")
	cluster_teardown
	local ns
	for ns in $spaces; do ip netns del "$ns" 2>/dev/null || true; done
}

JEPSEN=$BIN/vrfs-jepsen

# say TEXT: a line in the test's output (TAP comment) and in $T/nemesis.log.
say() {
	echo "# $*" >&3
	echo "$(date +%T.%N | cut -c1-12) $*" >>"$T/nemesis.log"
}

# jepsen_start SECONDS [ARGS...]: the workload on every mount in $MOUNTS (default a and b), in
# the background; the history goes to $T/history.
jepsen_start() {
	local secs=$1 m list=""
	shift
	for m in ${MOUNTS:-a b}; do list+="${list:+,}$T/$m"; done
	JEPSEN_MOUNTS=$list
	JEPSEN_SEED=${JEPSEN_SEED:-$RANDOM}
	"$JEPSEN" run --mounts "$list" --out "$T/history" --duration "$secs" --seed "$JEPSEN_SEED" "$@" \
		>"$T/jepsen-run.log" 2>&1 &
	echo $! >"$T/jepsen.pid"
	say "workload: vrfs-jepsen run --duration $secs --seed $JEPSEN_SEED $* on $list"
}

# jepsen_finish: waits for the workload, then checks the history against every mount; prints
# the verdict. Fails when the history is not valid.
jepsen_finish() {
	local p rc=0
	p=$(pid_of jepsen)
	wait "$p" || rc=$?
	rm -f "$T/jepsen.pid"
	say "$(tail -1 "$T/jepsen-run.log")"
	[ "$rc" -eq 0 ] || { say "vrfs-jepsen run exited $rc"; return 1; }
	rc=0
	"$JEPSEN" check --history "$T/history" --mounts "$JEPSEN_MOUNTS" >"$T/jepsen-check.log" 2>&1 || rc=$?
	grep -v '^jepsen:' "$T/jepsen-check.log" | head -20 | sed 's/^/  /' >&3 || true
	say "checker: $(grep '^jepsen:' "$T/jepsen-check.log" | tail -1)"
	return "$rc"
}

# digests_equal: unmounts every mount, waits until the replicas converge, stops each (SIGTERM)
# and compares the stores' digests.
digests_equal() {
	local dirs=() i
	for ((i = 0; i < NREPLICAS; i++)); do dirs+=("$T/r$i"); done
	# First no client may send anything more: a request that timed out on a mount may still be
	# resent and commit later (once), and a file closed at the end sends its RELEASE late. With
	# the mounts up, such an op committed after the first replica stopped, and the digests
	# differed by that one op (scenario 4, once in 18 runs).
	unmount_all
	wait_converged 60
	stop_cluster
	"$CHECK" "${dirs[@]}" >"$T/digests.log" 2>&1 || { cat "$T/digests.log"; return 1; }
	say "digests: equal on ${#dirs[@]} replicas, $(head -1 "$T/digests.log" | cut -d' ' -f2-3)"
}
