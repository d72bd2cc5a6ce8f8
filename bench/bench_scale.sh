#!/bin/bash
# bench_scale.sh — how cost grows with scale, issue 8's "Scale" (make bench-scale):
#
#   small files  for each N in SCALE_COUNTS: vrfs-fsbench create of N files of 4 KiB (files/s),
#                then stat and unlink of them (ops/s), first all in one directory, then PER_DIR
#                to a directory (create --per-dir). Files/s should stay flat as N grows.
#   big file     a seq-write of BIG_MIB MiB with fsync, then a seq-read of it (MB/s), then rm.
#   catch-up     CATCHUP_FILES empty files created through the client library by vrfs-load
#                (SESSIONS sessions, no FUSE: files/s); then r2 is stopped, its data directory
#                deleted and r2 started again: the time until it is normal with a commit at
#                least the primary's when it restarted (recovery, then state transfer from a
#                checkpoint of another replica), its peak memory (VmHWM) and the giver's, and
#                the size of its data directory. A replica that streams the checkpoint needs
#                far less memory than the state it moves.
#
# Each measurement (each N and layout, the big file, the catch-up) runs on a fresh cluster: three
# replicas on loopback with vrfsd's defaults and, but for the catch-up, a mount (-o
# sessions=SESSIONS). So no part inherits another's state, and a replica's peak memory is its own.
# Progress goes to stderr with the seconds each step took; a table at the end on stdout.
#
# Environment: SCALE_COUNTS (default "1000 10000 100000"), PER_DIR (1000), BIG_MIB (4096),
# CATCHUP_FILES (1000000), SESSIONS (16), BIN (build). Disk: the big file is held by each of
# the three replicas, in its store and its log, so TMPDIR needs about 4 x BIG_MIB MiB free.
# Figures, not assertions: `make test` never checks timings.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build}
SCALE_COUNTS=${SCALE_COUNTS:-1000 10000 100000}
PER_DIR=${PER_DIR:-1000}
BIG_MIB=${BIG_MIB:-4096}
CATCHUP_FILES=${CATCHUP_FILES:-1000000}
SESSIONS=${SESSIONS:-16}
T=$(mktemp -d "${TMPDIR:-/tmp}/vrfs-bench-scale.XXXXXX")
MOUNTS=()
C="" # the current cluster's directory: data and logs of its replicas
CLUSTER=""
STARTED=$SECONDS

say() { echo "bench-scale: [$((SECONDS - STARTED)) s] $*" >&2; }

# running PID: whether PID is alive (a zombie is not).
running() {
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

# stop_pid FILE: the process whose pid FILE holds, by TERM, or KILL after 10 s; then FILE goes.
stop_pid() {
	local p
	p=$(cat "$1")
	kill -TERM "$p" 2>/dev/null || true
	for _ in $(seq 1 100); do
		running "$p" || break
		sleep 0.1
	done
	if running "$p"; then
		kill -KILL "$p" 2>/dev/null || true
	fi
	{ wait "$p" || true; } 2>/dev/null # its exit status is not a failure of the benchmark
	rm -f "$1"
}

# stop_all: unmounts what was mounted here and stops every process started here (by its pid
# file): a tool still working in the mount first, then the mount, then the replicas, so that no
# request waits on a replica already gone.
stop_all() {
	set +e
	local m name
	for m in "${MOUNTS[@]}"; do
		fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	MOUNTS=()
	for name in tool m r0 r1 r2; do
		[ -e "$T/$name.pid" ] && stop_pid "$T/$name.pid"
	done
	set -e
}

cleanup() {
	trap '' INT TERM # a second Ctrl-C must not cut the cleanup short
	stop_all
	rm -rf "$T"
}
trap cleanup EXIT
# Every long step runs in the background and is waited for, so a signal is handled at once.
trap 'say interrupted; exit 130' INT TERM

# run_tool OUT ERR CMD...: CMD in the background (recorded as tool.pid, for stop_all) with its
# stdout to OUT and its stderr added to ERR, waited for; its status. The redirections are not on
# the call, or the trap's message would go there too.
run_tool() {
	local out=$1 err=$2 rc=0
	shift 2
	"$@" >"$out" 2>>"$err" &
	echo $! >"$T/tool.pid"
	wait $! || rc=$?
	rm -f "$T/tool.pid"
	return "$rc"
}

need() {
	local b
	for b in "$@"; do
		[ -x "$BIN/$b" ] || { say "no $BIN/$b (make $BIN/$b)"; exit 1; }
	done
}
need vrfsd vrfs vrfs-fsbench vrfs-load
command -v jq >/dev/null || { say "needs jq"; exit 1; }
if [ "$SESSIONS" -lt 1 ] || [ "$SESSIONS" -gt 64 ]; then
	say "SESSIONS: 1..64 (vrfs-load's limit)"
	exit 1
fi

# Checked first, rather than after the small files' half hour.
avail=$(df -Pm "$T" | awk 'NR == 2 { print $4 }')
if [ "$avail" -lt $((4 * BIG_MIB)) ]; then
	say "the big file needs about $((4 * BIG_MIB)) MiB free in $T (three replicas hold it);" \
		"$avail MiB are (BIG_MIB= or TMPDIR=)"
	exit 1
fi

status_json() { "$BIN/vrfs" status --cluster "$CLUSTER" --json --timeout 500 2>/dev/null || true; }

# start_replica I: replica I of the current cluster, on its data directory. In a session of its
# own, so that a Ctrl-C (SIGINT to the terminal's process group) does not stop it under the mount
# before stop_all does; setsid does not fork here (a child of this shell leads no process group),
# so $! is the replica's pid.
start_replica() {
	setsid "$BIN/vrfsd" --id "$1" --cluster "$CLUSTER" --data "$C/r$1" 2>>"$C/r$1.log" &
	echo $! >"$T/r$1.pid"
}

# wait_converged SECONDS: every replica normal, in one view, with the same op and commit.
wait_converged() {
	local start=$SECONDS
	until status_json | jq -e '[.replicas[] | select(.reachable and .status == "normal")] as $r
		| ($r | length) == 3 and ([$r[].view] | unique | length) == 1
		and ([$r[].op] | unique | length) == 1 and ([$r[].commit] | unique | length) == 1' >/dev/null; do
		if [ $((SECONDS - start)) -ge "$1" ]; then
			say "the cluster did not converge in $1 s; the replicas' logs end:"
			tail -n 3 "$C"/r*.log >&2
			exit 1
		fi
		sleep 0.1
	done
}

# start_cluster NAME: three fresh replicas on new loopback ports (chosen like bench_fs.sh), converged.
start_cluster() {
	local low base i
	C=$T/$1
	mkdir -p "$C"
	low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
	base=$((10000 + RANDOM % (low - 10003)))
	CLUSTER=127.0.0.1:$base,127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2))
	for i in 0 1 2; do start_replica "$i"; done
	wait_converged 60
}

# mount_vrfs: the current cluster on $C/m.
mount_vrfs() {
	mkdir -p "$C/m"
	setsid "$BIN/vrfs" mount --cluster "$CLUSTER" "$C/m" -f -o sessions="$SESSIONS" 2>>"$C/m.log" & # as the replicas
	echo $! >"$T/m.pid"
	MOUNTS+=("$C/m")
	for _ in $(seq 1 200); do
		mountpoint -q "$C/m" && return 0
		sleep 0.05
	done
	say "$C/m did not come up:"
	cat "$C/m.log" >&2
	exit 1
}

# stop_cluster: stops it and frees its disk (its logs stay until the end).
stop_cluster() {
	stop_all
	rm -rf "$C"/r[0-9] "$C/m"
}

# fsbench KEY WORKLOAD DIR ARGS...: runs vrfs-fsbench; the figure it prints (its second word)
# goes to fig[KEY]. Not in $(...): a subshell would hold off the trap until vrfs-fsbench ends.
declare -A fig
fsbench() {
	local key=$1
	shift
	run_tool "$T/fsbench.last" "$T/fsbench.log" "$BIN/vrfs-fsbench" "$@" || {
		say "vrfs-fsbench $* failed:"
		tail -5 "$T/fsbench.log" >&2
		exit 1
	}
	cat "$T/fsbench.last" >>"$T/fsbench.out"
	fig[$key]=$(awk '{ print $2 }' "$T/fsbench.last")
}

# hwm NAME: the peak resident memory (VmHWM, MiB) of the process in $T/NAME.pid.
hwm() { awk '/^VmHWM:/ { printf "%d", $2 / 1024 }' "/proc/$(cat "$T/$1.pid")/status"; }
# peak_replicas: the largest VmHWM of the three replicas.
peak_replicas() { for i in 0 1 2; do hwm "r$i"; echo; done | sort -n | tail -1; }
mib_of() { du -sm "$1" | cut -f1; }
now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

# --- 1. small files: each N in one directory, then PER_DIR to a directory.
for n in $SCALE_COUNTS; do
	for layout in one spread; do
		args=()
		[ "$layout" = spread ] && args=(--per-dir "$PER_DIR")
		start_cluster "files-$n-$layout"
		mount_vrfs
		t=$SECONDS
		fsbench "$n.$layout.create" create "$C/m" --files "$n" ${args[@]+"${args[@]}"} --keep
		path=$(tail -1 "$T/fsbench.log")
		case $path in
		"$C/m"/create.*) ;;
		*) say "create kept $path, not a directory of $C/m/create.PID" && exit 1 ;;
		esac
		fsbench "$n.$layout.stat" stat "$C/m" --dir-of-files "$path"
		fsbench "$n.$layout.unlink" unlink "$C/m" --dir-of-files "$path"
		[ ! -e "$path" ] || { say "unlink left $path" && exit 1; }
		fig[$n.$layout.mem]=$(peak_replicas)/$(hwm m)
		stop_cluster
		say "$n files, $layout: create ${fig[$n.$layout.create]} files/s, stat ${fig[$n.$layout.stat]} ops/s," \
			"unlink ${fig[$n.$layout.unlink]} ops/s ($((SECONDS - t)) s)"
	done
done

# --- 2. a big file.
start_cluster big
mount_vrfs
t=$SECONDS
fsbench big.write seq-write "$C/m" --size-mib "$BIG_MIB" --keep
path=$(tail -1 "$T/fsbench.log")
case $path in
"$C/m"/seq-write.*/data) ;;
*) say "seq-write kept $path, not a file of $C/m/seq-write.PID" && exit 1 ;;
esac
big_store=$(mib_of "$C/r0")
say "$BIG_MIB MiB written at ${fig[big.write]} MB/s (r0's data directory: $big_store MiB)"
fsbench big.read seq-read "$C/m" --file "$path"
# The highest view any replica reports: freeing the file is one op, and a replica busy with it
# for longer than the liveness timeout makes the others change views (the README says more).
max_view() { status_json | jq -r '[.replicas[] | select(.reachable) | .view] | max // 0'; }
view0=$(max_view)
t0=$(now_ns)
run_tool /dev/null "$T/rm.log" rm -rf "$(dirname "$path")"
big_rm=$(secs "$t0" "$(now_ns)")
sleep 2 # views started by the stall settle
big_views=$(($(max_view) - view0))
big_mem=$(peak_replicas)/$(hwm m)
stop_cluster
say "$BIG_MIB MiB read at ${fig[big.read]} MB/s, removed in $big_rm s with $big_views view changes ($((SECONDS - t)) s)"

# --- 3. a replica catching up CATCHUP_FILES files from scratch.
start_cluster catchup
per=$(((CATCHUP_FILES + SESSIONS - 1) / SESSIONS))
files=$((per * SESSIONS))
say "creating $files files with vrfs-load ($SESSIONS sessions of $per)"
t0=$(now_ns)
if ! run_tool /dev/null "$C/load.err" "$BIN/vrfs-load" --cluster "$CLUSTER" --sessions "$SESSIONS" --ops "$per" \
	--prefix scale --log "$C/load.log"; then
	say "vrfs-load failed:"
	tail -3 "$C/load.err" >&2
	grep -m 3 '^fail' "$C/load.log" >&2 || true
	exit 1
fi
t1=$(now_ns)
load_s=$(secs "$t0" "$t1")
load_rate=$(awk -v n="$files" -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", (ns > 0 ? n / (ns / 1e9) : 0) }')
rm -f "$C/load.log" # two lines a file: of no more use once it succeeded
say "$files files created in $load_s s: $load_rate files/s"
wait_converged 600
state_mib=$(mib_of "$C/r0")

stop_pid "$T/r2.pid"
rm -rf "$C/r2"
# The primary that r2 must catch up with: r0 or r1 (after a view change, if r2 was the primary).
target=""
for _ in $(seq 1 600); do
	target=$(status_json | jq -r '[.replicas[] | select(.reachable and .status == "normal" and .id == .primary)]
		| .[0].commit // empty')
	[ -n "$target" ] && break
	sleep 0.1
done
[ -n "$target" ] || { say "no primary among r0 and r1" && exit 1; }
# Their peaks from here on, not from the load: writing 5 to clear_refs resets VmHWM (Linux 4.0).
reset="yes"
for i in 0 1; do
	echo 5 2>/dev/null >"/proc/$(cat "$T/r$i.pid")/clear_refs" || reset="no"
done
say "r2 stopped and its data deleted; restarting it to catch up to commit $target (state: $state_mib MiB)"
t0=$(now_ns)
start_replica 2
deadline=$((SECONDS + 600 + files / 100))
until status_json | jq -e --argjson t "$target" \
	'.replicas[2] | .reachable and .status == "normal" and .commit >= $t' >/dev/null; do
	if [ "$SECONDS" -ge "$deadline" ]; then
		say "r2 did not catch up; its log ends:"
		tail -n 5 "$C/r2.log" >&2
		exit 1
	fi
	sleep 0.1
done
catchup_s=$(secs "$t0" "$(now_ns)")
mem_r2=$(hwm r2)
# The giver names itself in r2's log: "installed the checkpoint of rN at op X (B bytes)".
line=$(grep 'installed the checkpoint of r' "$C/r2.log" | tail -1 || true)
giver=$(echo "$line" | sed -n 's/.*installed the checkpoint of r\([0-9]*\) .*/\1/p')
ckpt_mib=$(echo "$line" | sed -n 's/.*(\([0-9]*\) bytes).*/\1/p' | awk '{ printf "%.1f", $1 / 1048576 }')
if [ -n "$giver" ]; then
	mem_giver=$(hwm "r$giver")
	giver_name="r$giver (the giver)"
else
	mem_giver=$(for i in 0 1; do hwm "r$i"; echo; done | sort -n | tail -1)
	giver_name="r0/r1 (the larger; no checkpoint in r2's log)"
fi
r2_mib=$(mib_of "$C/r2")
moved=${ckpt_mib:-$state_mib}
peak=$((mem_r2 > mem_giver ? mem_r2 : mem_giver))
# Far below: a quarter of the state at most, and the state large enough for that to mean
# anything (a replica's baseline is some MiB, and its log cache may hold up to 64 MiB).
if awk -v m="$moved" 'BEGIN { exit !(m < 64) }'; then
	verdict="cannot tell: the state ($moved MiB) is too small next to a replica's baseline memory"
elif awk -v m="$moved" -v p="$peak" 'BEGIN { exit !(p * 4 <= m) }'; then
	verdict="yes: peak memory ($peak MiB) far below the state moved ($moved MiB)"
else
	verdict="NO: peak memory ($peak MiB) not far below the state moved ($moved MiB)"
fi
say "r2 caught up in $catchup_s s; peak memory r2 $mem_r2 MiB, $giver_name $mem_giver MiB"
stop_cluster

# --- the table.
ram=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
echo
echo "vrfs scale benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores, $ram RAM; three replicas on loopback"
echo
printf '%-10s %-14s %14s %12s %12s %20s\n' files layout "create f/s" "stat op/s" "unlink op/s" "peak MiB vrfsd/mount"
for n in $SCALE_COUNTS; do
	for layout in one spread; do
		name="one dir"
		[ "$layout" = spread ] && name="$PER_DIR per dir"
		printf '%-10s %-14s %14s %12s %12s %20s\n' "$n" "$name" "${fig[$n.$layout.create]}" \
			"${fig[$n.$layout.stat]}" "${fig[$n.$layout.unlink]}" "${fig[$n.$layout.mem]}"
	done
done
echo "(files of 4 KiB; unlink counts each rmdir as an op; spread: the mkdirs are in create's time)"
echo
printf 'big file, %s MiB: write %s MB/s (with fsync), read %s MB/s, rm %s s (view changes meanwhile: %s);' \
	"$BIG_MIB" "${fig[big.write]}" "${fig[big.read]}" "$big_rm" "$big_views"
printf ' r0 data dir %s MiB;' "$big_store"
printf ' peak MiB vrfsd/mount %s\n' "$big_mem"
echo
echo "catch-up of a state of $files files (created by vrfs-load, $SESSIONS sessions, at $load_rate files/s):"
echo "  r2 wiped and restarted: normal at commit >= $target after $catchup_s s"
echo "  checkpoint moved: ${ckpt_mib:-?} MiB; r0's data directory $state_mib MiB; r2's data directory after: $r2_mib MiB"
echo "  peak memory (VmHWM): r2 $mem_r2 MiB; $giver_name $mem_giver MiB" \
	"$([ "$reset" = yes ] && echo "(since r2's restart)" || echo "(since its start: could not reset it)")"
echo "  streams: $verdict"
