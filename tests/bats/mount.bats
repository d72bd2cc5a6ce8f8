#!/usr/bin/env bats
# vrfs mount: three replicas on loopback and two mounts; ordinary shell commands act on one
# mount and are checked on the other.

load cluster

setup() {
	cluster_setup
	start_cluster
	mount_vrfs a
	mount_vrfs b
	A=$T/a
	B=$T/b
}

teardown() {
	cluster_teardown
}

@test "echo, cat and append across mounts" {
	echo hello >"$A/f"
	[ "$(cat "$B/f")" = hello ]
	echo more >>"$B/f"
	[ "$(cat "$A/f")" = "$(printf 'hello\nmore')" ]
	[ "$(stat -c %s "$A/f")" -eq 11 ]
}

@test "cp -r of a tree: every file's sha256 equal on the other mount" {
	cp -r /usr/include/linux "$A/tree"
	(cd /usr/include/linux && find . -type f | sort | xargs sha256sum) >"$T/src.sums"
	(cd "$B/tree" && find . -type f | sort | xargs sha256sum) >"$T/b.sums"
	[ "$(wc -l <"$T/src.sums")" -gt 500 ]
	cmp "$T/src.sums" "$T/b.sums"
}

@test "mkdir -p, mv, rename over an existing file, rm -r" {
	mkdir -p "$A/x/y/z"
	[ -d "$B/x/y/z" ]
	echo one >"$A/x/one"
	echo two >"$A/x/two"
	mv "$B/x/one" "$B/x/two"
	[ "$(cat "$A/x/two")" = one ]
	[ ! -e "$A/x/one" ]
	mv "$A/x" "$A/w"
	[ -d "$B/w/y/z" ] && [ ! -e "$B/x" ]
	rm -r "$B/w"
	[ ! -e "$A/w" ]
	[ -z "$(ls -A "$A")" ]
}

@test "hard links and their link counts, symlinks and readlink" {
	echo data >"$A/f"
	ln "$A/f" "$A/g"
	[ "$(stat -c %h "$B/f")" -eq 2 ]
	[ "$(stat -c %i "$B/f")" = "$(stat -c %i "$B/g")" ]
	rm "$B/g"
	[ "$(stat -c %h "$A/f")" -eq 1 ]
	ln -s f "$A/s"
	[ "$(readlink "$B/s")" = f ]
	[ "$(cat "$B/s")" = data ]
}

@test "chmod, chown, touch -d, truncate and stat" {
	echo data >"$A/f"
	chmod 640 "$A/f"
	[ "$(stat -c %a "$B/f")" = 640 ]
	chown 1234:5678 "$A/f"
	[ "$(stat -c '%u %g' "$B/f")" = "1234 5678" ]
	touch -d "2020-01-02 03:04:05 UTC" "$A/f"
	[ "$(stat -c %Y "$B/f")" -eq "$(date -d '2020-01-02 03:04:05 UTC' +%s)" ]
	truncate -s 100000 "$A/f"
	[ "$(stat -c %s "$B/f")" -eq 100000 ]
	[ "$(head -c 4 "$B/f")" = data ]
}

@test "a sparse file from dd seek= reads as zeros and stores little" {
	dd if=/dev/urandom of="$A/s" bs=4096 count=1 seek=2560 status=none
	[ "$(stat -c %s "$B/s")" -eq $((2561 * 4096)) ]
	[ "$(stat -c %b "$B/s")" -lt 100 ]
	[ "$(head -c 1048576 "$B/s" | tr -d '\0' | wc -c)" -eq 0 ]
	cmp <(tail -c 4096 "$A/s") <(tail -c 4096 "$B/s")
}

@test "find, du and df" {
	mkdir -p "$A/d/e"
	for i in 1 2 3; do echo "$i" >"$A/d/e/f$i"; done
	[ "$(find "$B/d" -type f | wc -l)" -eq 3 ]
	du -s "$B/d" >/dev/null
	df "$B" | grep -q vrfs
}

@test "vrfs mount: an unreachable cluster or a missing mount point gives one line, and nothing is mounted" {
	mkdir -p "$T/c"
	run "$VRFS" mount --cluster 127.0.0.1:1,127.0.0.1:2,127.0.0.1:3 "$T/c"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"cannot reach the cluster"* ]]
	! mountpoint -q "$T/c"
	run "$VRFS" mount --cluster "$CLUSTER" "$T/nothere"
	[ "$status" -eq 1 ]
	[[ "$output" == *"mount point"* ]]
	run "$VRFS" mount --cluster "$CLUSTER" "$T/c" -o timeout=abc
	[ "$status" -eq 2 ]
	[[ "$output" == *"timeout=abc"* ]]
}
