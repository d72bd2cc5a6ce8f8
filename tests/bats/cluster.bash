# cluster.bash — bats helpers: a three-replica vrfs cluster on loopback in a temporary
# directory, and the test tools that drive and check it. Every process a test starts is
# recorded by pid and killed by pid in cluster_teardown, also when the test fails; the
# logs of a failed test are printed and kept under $T.
#
# Binaries come from build/asan (sanitizers on); VRFS_BIN overrides the folder.

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
BIN=${VRFS_BIN:-$ROOT/build/asan}
VRFSD=$BIN/vrfsd
VRFS=$BIN/vrfs
LOAD=$BIN/vrfs-load
CHECK=$BIN/vrfs-check
BADFRAMES=$BIN/vrfs-badframes
FSOPS=$BIN/vrfs-fsops
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}

# free_ports [N]: N (default 3) free TCP ports on loopback, consecutive, from a random base below
# the kernel's ephemeral range (outgoing connections take ports there, and a replica could not
# bind one). Prints the first.
free_ports() {
	local base p ok low n=${1:-3}
	low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	for _ in $(seq 1 50); do
		base=$((10000 + RANDOM % (low - 10000 - n)))
		ok=1
		for ((p = base; p < base + n; p++)); do
			if ss -Htan "sport = :$p" | grep -q .; then ok=0; fi
		done
		if [ "$ok" = 1 ]; then
			echo "$base"
			return 0
		fi
	done
	return 1
}

cluster_setup() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/vrfs-bats.XXXXXX")
	local base
	base=$(free_ports)
	PORTS=("$base" $((base + 1)) $((base + 2)))
	CLUSTER=127.0.0.1:${PORTS[0]},127.0.0.1:${PORTS[1]},127.0.0.1:${PORTS[2]}
	KEYARG=()
	VRFSD_ARGS=()
}

# start_replica I [ARGS...]: starts replica I in the background; its pid in $T/rI.pid.
start_replica() {
	local i=$1
	shift
	"$VRFSD" --id "$i" --cluster "$CLUSTER" --data "$T/r$i" "${KEYARG[@]}" "${VRFSD_ARGS[@]}" "$@" 2>>"$T/r$i.log" &
	echo $! >"$T/r$i.pid"
}

# The number of replicas; netbed.bash may set 5.
NREPLICAS=${NREPLICAS:-3}

start_cluster() {
	local i
	for ((i = 0; i < NREPLICAS; i++)); do start_replica "$i"; done
	wait_converged 30
}

pid_of() { cat "$T/$1.pid" 2>/dev/null; }

alive() { local p; p=$(pid_of "$1") && [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

# kill_replica I [SIGNAL]: signals replica I (default KILL) and waits until it is gone.
kill_replica() {
	local i=$1 sig=${2:-KILL} p
	p=$(pid_of "r$i") || return 0
	kill -"$sig" "$p" 2>/dev/null || true
	for _ in $(seq 1 200); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.05
	done
	EXIT_RC=0
	wait "$p" 2>/dev/null || EXIT_RC=$?
	rm -f "$T/r$i.pid"
	return 0
}

# stop_replica I: SIGTERM; the replica must exit 0.
stop_replica() {
	kill_replica "$1" TERM
	if [ "$EXIT_RC" != 0 ]; then
		echo "replica $1 exited $EXIT_RC on SIGTERM; the end of its log:" >&2
		tail -8 "$T/r$1.log" >&2
		return 1
	fi
}

stop_cluster() {
	local i
	for ((i = 0; i < NREPLICAS; i++)); do stop_replica "$i"; done
}

status_json() { "$VRFS" status --cluster "$CLUSTER" "${KEYARG[@]}" --json --timeout 500; }

# wait_converged SECONDS: until every replica answers, NORMAL in one view, with op = commit equal on all.
wait_converged() {
	local limit=$1 start=$SECONDS
	while [ $((SECONDS - start)) -lt "$limit" ]; do
		if status_json 2>/dev/null | jq -e --argjson n "$NREPLICAS" '
			[.replicas[] | select(.reachable and .status == "normal")] as $r
			| ($r | length) == $n
			and ([$r[].view] | unique | length) == 1
			and ([$r[].op] | unique | length) == 1
			and ([$r[].commit] | unique | length) == 1
			and $r[0].op == $r[0].commit' >/dev/null; then
			return 0
		fi
		sleep 0.2
	done
	echo "cluster did not converge within ${limit}s:" >&2
	status_json >&2 || true
	return 1
}

# wait_all_normal SECONDS: until every replica answers, NORMAL in one view. Unlike wait_converged
# it holds under load (with requests in flight, op = commit equal on all is seldom seen).
wait_all_normal() {
	local limit=$1 start=$SECONDS
	while [ $((SECONDS - start)) -lt "$limit" ]; do
		if status_json 2>/dev/null | jq -e --argjson n "$NREPLICAS" '
			[.replicas[] | select(.reachable and .status == "normal")] as $r
			| ($r | length) == $n and ([$r[].view] | unique | length) == 1' >/dev/null; then
			return 0
		fi
		sleep 0.2
	done
	echo "the replicas were not all normal in one view within ${limit}s:" >&2
	status_json >&2 || true
	return 1
}

# wait_file PATH SECONDS
wait_file() {
	local start=$SECONDS
	while [ ! -e "$1" ]; do
		[ $((SECONDS - start)) -lt "$2" ] || return 1
		sleep 0.05
	done
}

# load_bg NAME ARGS...: starts vrfs-load in the background, logging to $T/NAME.log.
load_bg() {
	local name=$1
	shift
	"$LOAD" --cluster "$CLUSTER" "${KEYARG[@]}" --log "$T/$name.log" --prefix "$name" "$@" 2>>"$T/$name.err" &
	echo $! >"$T/$name.pid"
}

# load_wait NAME: waits for that load; returns its exit status.
load_wait() {
	local p
	local rc=0
	p=$(pid_of "$1")
	wait "$p" || rc=$?
	rm -f "$T/$1.pid"
	return $rc
}

# check_state LOGNAMES...: stops the cluster and checks every store against the loads' logs.
check_state() {
	local args=() n dirs=()
	for n in "$@"; do args+=(--log "$T/$n.log"); done
	for ((n = 0; n < NREPLICAS; n++)); do dirs+=("$T/r$n"); done
	stop_cluster
	"$CHECK" "${args[@]}" "${dirs[@]}"
}

cluster_teardown() {
	local f p
	unmount_all
	for f in "$T"/*.pid; do
		[ -e "$f" ] || continue
		p=$(cat "$f")
		[ -n "$p" ] && kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		echo "# logs kept in $T" >&3
		for f in "$T"/*.log "$T"/*.err; do
			[ -e "$f" ] || continue
			echo "# --- $f (last 15 lines)" >&3
			tail -15 "$f" | sed 's/^/#   /' >&3
		done
	else
		rm -rf "$T"
	fi
}

# mount_vrfs NAME [OPTIONS...]: mounts the cluster on $T/NAME (foreground process, pid in
# $T/mount-NAME.pid) and waits until the mount is there.
mount_vrfs() {
	local name=$1
	shift
	mkdir -p "$T/$name"
	"$VRFS" mount --cluster "$CLUSTER" "${KEYARG[@]}" "$T/$name" -f "$@" 2>>"$T/mount-$name.log" &
	mount_started "$name" $!
}

# mount_started NAME PID: records the mount process just started and waits until $T/NAME is
# mounted (or the process died: its log is printed).
mount_started() {
	local name=$1
	echo "$2" >"$T/mount-$name.pid"
	echo "$name" >>"$T/mounts"
	for _ in $(seq 1 100); do
		is_mounted "$T/$name" && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	echo "mount $name did not come up:" >&2
	cat "$T/mount-$name.log" >&2
	return 1
}

# is_mounted PATH: PATH is a mount point in /proc/self/mounts (no stat of PATH, which would
# wait on a mount whose cluster is down).
is_mounted() { awk -v p="$1" '$2 == p { f = 1 } END { exit !f }' /proc/self/mounts; }

# Unmounts every mount the test made, then stops their processes (by pid).
unmount_all() {
	local name p
	[ -e "$T/mounts" ] || return 0
	while read -r name; do
		case $name in /*) ;; *) name=$T/$name ;; esac
		if is_mounted "$name"; then
			fusermount3 -u "$name" 2>/dev/null || umount -l "$name" 2>/dev/null || true
		fi
		name=$(basename "$name")
		p=$(cat "$T/mount-$name.pid" 2>/dev/null) || continue
		for _ in $(seq 1 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
		rm -f "$T/mount-$name.pid"
	done <"$T/mounts"
	rm -f "$T/mounts"
}
