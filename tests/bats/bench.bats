#!/usr/bin/env bats
# The benchmark's tools (make bench-fs, issue 8) on tiny sizes: the passthrough filesystem it
# compares vrfs with must be a correct one, and every workload must run, on it and on a vrfs
# mount. Figures are printed, never checked: tests assert behaviour, not timings.

load cluster

PASSTHROUGH=$BIN/vrfs-passthrough
FSBENCH=$BIN/vrfs-fsbench

setup() {
	cluster_setup
}

teardown() {
	local m
	for m in "$T/pt" "$T/pt2"; do
		mountpoint -q "$m" 2>/dev/null && { fusermount3 -u "$m" 2>/dev/null || umount -l "$m"; }
	done
	cluster_teardown
}

# passthrough NAME: vrfs-passthrough over $T/src on $T/NAME, recorded like the cluster's processes.
passthrough() {
	mkdir -p "$T/src" "$T/$1"
	"$PASSTHROUGH" "$T/src" "$T/$1" -f 2>>"$T/$1.log" &
	echo $! >"$T/$1.pid"
	for _ in $(seq 1 100); do
		mountpoint -q "$T/$1" && return 0
		sleep 0.05
	done
	cat "$T/$1.log"
	return 1
}

# A small tree with what the untar workloads meet: files, directories, a symlink, a hard link.
small_tree() {
	mkdir -p "$T/tree/a/b" "$T/tree/c"
	head -c 100000 /dev/urandom >"$T/tree/a/b/big"
	echo hello >"$T/tree/c/small"
	ln -s ../c/small "$T/tree/a/link"
	ln "$T/tree/c/small" "$T/tree/c/hard"
	chmod 0640 "$T/tree/c/small"
	tar -C "$T" -cf "$T/tree.tar" tree
}

@test "the passthrough filesystem passes what it is given through to its directory, and every workload runs on it" {
	passthrough pt
	passthrough pt2
	small_tree
	# Through the mount into the backing directory, and back.
	cp -a "$T/tree" "$T/pt/copy"
	diff -r "$T/tree" "$T/src/copy"
	[ "$(stat -c %a "$T/pt/copy/c/small")" = 640 ]
	[ "$(readlink "$T/pt/copy/a/link")" = ../c/small ]
	[ "$(stat -c %h "$T/src/copy/c/hard")" = 2 ]
	mv "$T/pt/copy/a" "$T/pt/copy/c/moved"
	[ -f "$T/src/copy/c/moved/b/big" ]
	truncate -s 10 "$T/pt/copy/c/moved/b/big"
	[ "$(stat -c %s "$T/src/copy/c/moved/b/big")" = 10 ]
	echo more >>"$T/pt/copy/c/small"
	[ "$(cat "$T/pt2/copy/c/small")" = "$(printf 'hello\nmore')" ]
	rm -rf "$T/pt/copy"
	[ ! -e "$T/src/copy" ]
	df "$T/pt" >/dev/null
	# Each workload prints NAME FIGURE UNIT.
	run "$FSBENCH" seq-write "$T/pt" --size-mib 4 --keep
	[ "$status" -eq 0 ]
	[[ "$output" == *"seq-write "*" MB/s"* ]]
	file=$(echo "$output" | grep -v '^seq-write')
	[ "$(stat -c %s "$file")" = 4194304 ]
	"$FSBENCH" seq-read "$T/pt" --file "$file"
	created=$("$FSBENCH" create "$T/pt" --files 50 --keep 2>&1 >/dev/null)
	[ "$(ls "$created" | wc -l)" = 50 ]
	"$FSBENCH" stat "$T/pt" --dir-of-files "$created"
	"$FSBENCH" unlink "$T/pt" --dir-of-files "$created"
	[ ! -e "$created" ]
	"$FSBENCH" mkdir "$T/pt" --files 30
	"$FSBENCH" randwrite "$T/pt" --writers 2 --seconds 1 --file-mib 2
	tree=$("$FSBENCH" untar "$T/pt" --tar "$T/tree.tar" --keep 2>&1 >/dev/null)
	diff -r "$T/tree" "$tree/tree"
	"$FSBENCH" cp-a "$T/pt" --tree "$tree"
	"$FSBENCH" find-stat "$T/pt" --tree "$tree"
	"$FSBENCH" rm-rf "$T/pt" --tree "$tree"
	[ ! -e "$tree" ]
	run "$FSBENCH" latency "$T/pt" --other "$T/pt2"
	[ "$status" -eq 0 ]
	[[ "$output" == *"ms median"* ]]
}

@test "the workload suite runs on a vrfs mount (TARGET=) and prints a figure for every workload" {
	start_cluster
	mount_vrfs m
	mount_vrfs m2
	small_tree
	run env BIN="$BIN" TARGET="$T/m" OTHER="$T/m2" REPEAT=1 SEQ_MIB=4 FILES=50 RAND_SECONDS=1 RAND_MIB=1 \
		TREE="$T/tree" \
		"$ROOT/bench/bench_fs.sh"
	echo "$output"
	[ "$status" -eq 0 ]
	# 13 workloads, each with a number.
	[ "$(echo "$output" | grep -cE '^[a-z0-9-]+ +[a-zA-Z/]+ +[0-9]+(\.[0-9]+)?$')" = 13 ]
	# It cleans up after itself: the mount is empty again.
	[ -z "$(ls -A "$T/m")" ]
}
