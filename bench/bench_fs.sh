#!/bin/bash
# bench_fs.sh — the workload suite of issue 8 (make bench-fs; part of make bench): the same
# workloads, back to back in one run, on
#   local        a plain directory on the same disk: the limit;
#   passthrough  vrfs-passthrough (bench/passthrough.c) over a directory on that disk, with the
#                mount options and capabilities of vrfs mount: the limit for a FUSE filesystem;
#   vrfs         three replicas on loopback (vrfsd defaults) and a mount (-o sessions=16);
# and a table of medians with the ratio vrfs / passthrough. Each workload is one run of
# vrfs-fsbench (bench/fsbench.c), REPEAT times.
#
# Workloads: a sequential write of SEQ_MIB with fsync and its read after dropping caches (MB/s);
# FILES files of 4 KiB created in one directory (files/s), then stat'ed and unlinked (ops/s);
# 500 mkdirs in a tree; 4 KiB random writes with fsync, 1 and 4 writers (IOPS); untar of a tree
# of 10,000 files, cp -a of it within the filesystem, a walk that stats every entry
# (find | xargs stat without the processes), rm -rf of it (files/s); and the time from a write
# returning on one mount to the file being visible on another (vrfs: a second mount;
# passthrough: a second mount over the same directory; local: the same directory).
#
# The tree is made here, the same on every machine: 10,000 files in 20 directories of 10 of 50,
# of 100 bytes to 64 KiB (log-uniform, from a fixed seed: a median near 2.5 KiB, like source
# headers). TREE=DIR takes that directory instead (e.g. /usr/include).
#
# Environment: REPEAT (default 3), SEQ_MIB (256), FILES (2000), RAND_SECONDS (5), RAND_MIB (each
# random writer's file, 64), TREE, BIN (build),
# TARGET=DIR: run the workloads on an already-mounted directory only (OTHER=DIR2: another mount
# of the same filesystem, for the latency), to compare other filesystems the same way.
# Figures, not assertions: `make test` never checks timings.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build}
REPEAT=${REPEAT:-3}
SEQ_MIB=${SEQ_MIB:-256}
FILES=${FILES:-2000}
RAND_SECONDS=${RAND_SECONDS:-5}
RAND_MIB=${RAND_MIB:-64}
TREE=${TREE:-}
T=$(mktemp -d "${TMPDIR:-/tmp}/vrfs-bench-fs.XXXXXX")
MOUNTS=()

say() { echo "bench-fs: $*" >&2; }

stop_all() {
	set +e
	local m f p
	for m in "${MOUNTS[@]}"; do
		fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	MOUNTS=()
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

# wait_mounted DIR LOG: until DIR is a mount point, or fail with LOG.
wait_mounted() {
	for _ in $(seq 1 200); do
		mountpoint -q "$1" && return 0
		sleep 0.05
	done
	say "$1 did not come up; see below"
	cat "$2" >&2
	exit 1
}

# fsbench WORKLOAD DIR ARGS...: the figure vrfs-fsbench prints (its second word).
fsbench() {
	local out
	out=$("$BIN/vrfs-fsbench" "$@" 2>>"$T/fsbench.log") || {
		say "vrfs-fsbench $* failed:"
		tail -5 "$T/fsbench.log" >&2
		exit 1
	}
	echo "$out" >>"$T/fsbench.out"
	echo "$out" | awk '{print $2}'
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }

# run_all NAME DIR OTHER: every workload REPEAT times on DIR; medians into fig[NAME.workload].
declare -A fig
run_all() {
	local name=$1 dir=$2 other=$3 i w v path
	local -A runs
	say "$name: $dir"
	for ((i = 0; i < REPEAT; i++)); do
		v=$(fsbench seq-write "$dir" --size-mib "$SEQ_MIB" --keep)
		runs[seq-write]+=" $v"
		path=$(tail -1 "$T/fsbench.log")
		runs[seq-read]+=" $(fsbench seq-read "$dir" --file "$path")"
		case $path in # DIR/seq-write.PID/data: nothing else is removed
		"$dir"/seq-write.*/data) rm -rf "$(dirname "$path")" ;;
		*) say "seq-write kept $path, not a file of $dir/seq-write.PID" && exit 1 ;;
		esac
		runs[create]+=" $(fsbench create "$dir" --files "$FILES" --keep)"
		path=$(tail -1 "$T/fsbench.log")
		runs[stat]+=" $(fsbench stat "$dir" --dir-of-files "$path")"
		runs[unlink]+=" $(fsbench unlink "$dir" --dir-of-files "$path")"
		runs[mkdir]+=" $(fsbench mkdir "$dir" --files 500)"
		runs[randwrite-1]+=" $(fsbench randwrite "$dir" --writers 1 --seconds "$RAND_SECONDS" --file-mib "$RAND_MIB")"
		runs[randwrite-4]+=" $(fsbench randwrite "$dir" --writers 4 --seconds "$RAND_SECONDS" --file-mib "$RAND_MIB")"
		runs[untar]+=" $(fsbench untar "$dir" --tar "$T/tree.tar" --keep)"
		path=$(tail -1 "$T/fsbench.log")
		runs[cp-a]+=" $(fsbench cp-a "$dir" --tree "$path")"
		runs[find-stat]+=" $(fsbench find-stat "$dir" --tree "$path")"
		runs[rm-rf]+=" $(fsbench rm-rf "$dir" --tree "$path")"
		runs[latency]+=" $(fsbench latency "$dir" --other "$other")"
		say "$name: run $((i + 1)) of $REPEAT done"
	done
	for w in "${WORKLOADS[@]}"; do
		# shellcheck disable=SC2086 # a list of figures
		fig[$name.$w]=$(median ${runs[$w]})
	done
}

WORKLOADS=(seq-write seq-read create stat unlink mkdir randwrite-1 randwrite-4 untar cp-a find-stat rm-rf latency)
declare -A UNIT=([seq-write]="MB/s" [seq-read]="MB/s" [create]="files/s" [stat]="ops/s" [unlink]="ops/s"
	[mkdir]="dirs/s" [randwrite-1]="IOPS" [randwrite-4]="IOPS" [untar]="files/s" [cp-a]="files/s"
	[find-stat]="entries/s" [rm-rf]="entries/s" [latency]="ms")

# make_tree DIR: the default tree (above).
make_tree() {
	local a b
	for a in $(seq -w 0 19); do
		for b in $(seq -w 0 9); do
			mkdir -p "$1/d$a/d$b"
		done
	done
	awk -v root="$1" 'BEGIN {
		srand(1)
		buf = "0123456789abcdefghijklmnopqrstuvwxyz"
		while (length(buf) < 65536)
			buf = buf buf
		for (i = 0; i < 10000; i++) {
			size = int(exp(log(100) + rand() * (log(65536) - log(100))))
			path = sprintf("%s/d%02d/d%d/f%02d.h", root, int(i / 500), int(i / 50) % 10, i % 50)
			printf "%s", substr(buf, 1, size) > path
			close(path)
		}
	}'
}

if [ -z "$TREE" ]; then
	make_tree "$T/tree"
	TREE=$T/tree
fi
tar -C "$(dirname "$TREE")" -cf "$T/tree.tar" "$(basename "$TREE")"
say "the tree: $TREE, $(tar -tf "$T/tree.tar" | wc -l) entries, $(du -sm "$T/tree.tar" | cut -f1) MiB"

if [ -n "${TARGET:-}" ]; then
	run_all target "$TARGET" "${OTHER:-$TARGET}"
	printf '\n%-22s %-10s %12s\n' "workload ($REPEAT runs)" unit "$TARGET"
	for w in "${WORKLOADS[@]}"; do
		printf '%-22s %-10s %12s\n' "$w" "${UNIT[$w]}" "${fig[target.$w]}"
	done
	exit 0
fi

# local: the disk the others also write to.
mkdir -p "$T/local"
run_all local "$T/local" "$T/local"

# passthrough: two mounts over one directory (the second for the latency).
mkdir -p "$T/pt-src" "$T/pt" "$T/pt2"
setsid "$BIN/vrfs-passthrough" "$T/pt-src" "$T/pt" -f 2>>"$T/pt.log" &
echo $! >"$T/pt.pid"
MOUNTS+=("$T/pt")
setsid "$BIN/vrfs-passthrough" "$T/pt-src" "$T/pt2" -f 2>>"$T/pt2.log" &
echo $! >"$T/pt2.pid"
MOUNTS+=("$T/pt2")
wait_mounted "$T/pt" "$T/pt.log"
wait_mounted "$T/pt2" "$T/pt2.log"
run_all passthrough "$T/pt" "$T/pt2"
stop_all

# vrfs: three replicas on loopback, two mounts. Every daemon here runs in a session of its own
# (setsid; not a fork, so $! is its pid): a Ctrl-C at the terminal then stops the benchmark
# tool and the trap's cleanup, not a replica under a mount that the tool is waiting on.
low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
base=$((10000 + RANDOM % (low - 10003)))
CLUSTER=127.0.0.1:$base,127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2))
for i in 0 1 2; do
	setsid "$BIN/vrfsd" --id "$i" --cluster "$CLUSTER" --data "$T/r$i" 2>>"$T/r$i.log" &
	echo $! >"$T/r$i.pid"
done
for m in m m2; do
	mkdir -p "$T/$m"
	setsid "$BIN/vrfs" mount --cluster "$CLUSTER" "$T/$m" -f -o sessions=16 2>>"$T/$m.log" &
	echo $! >"$T/$m.pid"
	MOUNTS+=("$T/$m")
	wait_mounted "$T/$m" "$T/$m.log"
done
run_all vrfs "$T/m" "$T/m2"
hwm() { echo $(($(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$(cat "$T/$1.pid")/status") / 1024)); }
peak_r=0
for i in 0 1 2; do
	p=$(hwm "r$i")
	[ "$p" -gt "$peak_r" ] && peak_r=$p
done
peak_m=$(hwm m)
stop_all

printf '\n%-22s %-10s %12s %12s %12s %10s\n' "workload (median of $REPEAT)" unit local passthrough vrfs "vrfs/pt"
for w in "${WORKLOADS[@]}"; do
	ratio=$(awk -v a="${fig[vrfs.$w]}" -v b="${fig[passthrough.$w]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	printf '%-22s %-10s %12s %12s %12s %10s\n' "$w" "${UNIT[$w]}" "${fig[local.$w]}" "${fig[passthrough.$w]}" \
		"${fig[vrfs.$w]}" "$ratio"
done
printf '\npeak memory (VmHWM): vrfsd %s MiB (the largest of the three), the mount %s MiB\n' "$peak_r" "$peak_m"
echo "(latency: lower is better, so its ratio above 1 is worse; every other ratio above 1 is better)"
