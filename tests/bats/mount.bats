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

@test "cp -r of a tree of 3,000 files in 30 directories: every file's sha256 equal on the other mount" {
	mkdir "$T/src"
	for d in $(seq 1 30); do
		mkdir "$T/src/d$d"
		for f in $(seq 1 100); do
			echo "$d $f $RANDOM$RANDOM" >"$T/src/d$d/f$f"
		done
	done
	cp -r "$T/src" "$A/many"
	(cd "$T/src" && find . -type f | sort | xargs sha256sum) >"$T/src.sums"
	(cd "$B/many" && find . -type f | sort | xargs sha256sum) >"$T/b.sums"
	[ "$(wc -l <"$T/src.sums")" -eq 3000 ]
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

@test "setfattr and getfattr across mounts" {
	echo data >"$A/f"
	setfattr -n user.colour -v blue "$A/f"
	[ "$(getfattr --only-values -n user.colour "$B/f")" = blue ]
	setfattr -x user.colour "$B/f"
	! getfattr -n user.colour "$A/f" 2>/dev/null
}

@test "tar c | tar x onto a mount, and back out equal" {
	mkdir "$T/src"
	cp -r /usr/include/linux/netfilter "$T/src/"
	(cd "$T/src" && tar cf - .) | (cd "$A" && tar xf -)
	mkdir "$T/out"
	(cd "$B" && tar cf - netfilter) | (cd "$T/out" && tar xf -)
	diff -r "$T/src/netfilter" "$T/out/netfilter"
}

@test "two mounts appending to one file with O_APPEND: no line lost, doubled or torn" {
	# 37-byte lines, so that appends straddle page boundaries: the kernel splits such a write
	# in two when the first page is not cached, and only direct I/O keeps it one append.
	: >"$A/log"
	local pad=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
	(for i in $(seq 1000 1399); do echo "a $i $pad" >>"$A/log"; done) &
	local pa=$!
	(for i in $(seq 1000 1399); do echo "b $i $pad" >>"$B/log"; done) &
	local pb=$!
	wait "$pa" "$pb"
	[ "$(wc -l <"$A/log")" -eq 800 ]
	[ "$(grep -cvE "^[ab] 1[0-9]{3} $pad\$" "$B/log")" -eq 0 ]
	[ "$(sort -u "$B/log" | wc -l)" -eq 800 ]
	[ "$(grep -c '^a ' "$B/log")" -eq 400 ]
	[ "$(grep -c '^b ' "$B/log")" -eq 400 ]
}

@test "a file unlinked on one mount while open on the other stays readable until closed" {
	echo "still here" >"$A/f"
	exec 5<"$B/f"
	rm "$A/f"
	[ ! -e "$B/f" ]
	[ "$(cat <&5)" = "still here" ]
	exec 5<&-
}

@test "git init, add and commit on a mount; the log on the other" {
	cd "$A"
	git init -q repo
	cd repo
	echo hello >README
	git add README
	git -c user.name=t -c user.email=t@t commit -q -m first
	[ "$(git -C "$B/repo" log --format=%s)" = first ]
	[ "$(git -C "$B/repo" status --porcelain | wc -l)" -eq 0 ]
}

@test "sqlite3 on a mount: a table written on one mount, queried on the other" {
	sqlite3 "$A/db" "create table t(x); insert into t values (1),(2),(3);"
	[ "$(sqlite3 "$B/db" 'select sum(x) from t')" -eq 6 ]
	sqlite3 "$B/db" "insert into t values (4)"
	[ "$(sqlite3 "$A/db" 'select count(*) from t')" -eq 4 ]
}

@test "the primary killed during cp -r: the copy completes, and both mounts agree" {
	cp -r /usr/include/linux "$A/tree" &
	local cp=$!
	sleep 1
	kill_replica 0
	wait "$cp"
	(cd /usr/include/linux && find . -type f | sort | xargs sha256sum) >"$T/src.sums"
	(cd "$B/tree" && find . -type f | sort | xargs sha256sum) >"$T/b.sums"
	cmp "$T/src.sums" "$T/b.sums"
}

@test "a 48 MiB file copied while the primary is killed: complete and equal on the other mount" {
	head -c $((48 << 20)) /dev/urandom >"$T/big"
	cp "$T/big" "$A/big" &
	local cp=$!
	sleep 1
	kill_replica 0
	wait "$cp"
	[ "$(sha256sum <"$B/big")" = "$(sha256sum <"$T/big")" ]
}

@test "permissions for a non-root user: modes, and the sticky bit on a shared directory" {
	mount_vrfs p -o allow_other
	P=$T/p
	chmod 755 "$T"
	echo root >"$P/f"
	chmod 644 "$P/f"
	mkdir "$P/pub"
	chmod 1777 "$P/pub"
	touch "$P/pub/rootfile"
	nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
	run nobody sh -c "echo x >>'$P/f'"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]]
	nobody sh -c "echo mine >'$P/pub/n'"
	[ "$(stat -c %U "$A/pub/n")" = nobody ]
	run nobody rm -f "$P/pub/rootfile"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Operation not permitted"* ]]
	[ -e "$A/pub/rootfile" ]
	nobody rm "$P/pub/n"
	[ ! -e "$B/pub/n" ]
}

@test "as a mount helper: vrfs CLUSTER MOUNTPOINT -o OPTIONS (what mount -t fuse.vrfs runs)" {
	mkdir "$T/h"
	echo "$T/h" >>"$T/mounts"
	"$VRFS" "$CLUSTER" "$T/h" -o allow_other,_netdev
	mountpoint -q "$T/h"
	echo via-helper >"$T/h/x"
	[ "$(cat "$A/x")" = via-helper ]
	fusermount3 -u "$T/h"
}

@test "-o timeout: with the cluster frozen an operation fails with EIO after the timeout, then works again" {
	mount_vrfs t -o timeout=2
	echo before >"$T/t/f"
	kill -STOP "$(pid_of r0)" "$(pid_of r1)" "$(pid_of r2)"
	local start=$SECONDS
	run cat "$T/t/f"
	kill -CONT "$(pid_of r0)" "$(pid_of r1)" "$(pid_of r2)"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Input/output error"* ]]
	[ $((SECONDS - start)) -lt 15 ]
	wait_converged 30
	[ "$(cat "$T/t/f")" = before ]
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
	run "$VRFS" mount --cluster "$CLUSTER" "$T/c" -o bogus
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"unknown option"*"bogus"* ]]
	! mountpoint -q "$T/c"
}

@test "renameat2 exchange and noreplace, fallocate and punch hole, SEEK_DATA/SEEK_HOLE, copy_file_range, a 4 MiB write" {
	echo one >"$A/x"
	echo two >"$A/y"
	"$FSOPS" exchange "$A/x" "$A/y"
	[ "$(cat "$B/x")" = two ]
	[ "$(cat "$B/y")" = one ]
	run "$FSOPS" noreplace "$A/x" "$A/y"
	[ "$status" -eq 1 ]
	[[ "$output" == *EEXIST* ]]
	"$FSOPS" noreplace "$A/x" "$A/z"
	[ ! -e "$B/x" ]
	[ "$(cat "$B/z")" = two ]

	"$FSOPS" fallocate "$A/big" 0 1048576
	[ "$(stat -c %s "$B/big")" = 1048576 ]
	head -c 1048576 /dev/urandom >"$T/rand"
	cp "$T/rand" "$A/big"
	"$FSOPS" punch "$A/big" 131072 262144
	[ "$(stat -c %s "$B/big")" = 1048576 ]
	[ "$(dd if="$B/big" bs=4096 skip=32 count=64 status=none | tr -d '\0' | wc -c)" = 0 ]
	cmp -n 131072 "$T/rand" "$B/big"
	cmp -i 393216 "$T/rand" "$B/big"

	printf 'tail' | dd of="$A/sparse" bs=1 seek=8388608 status=none
	run "$FSOPS" seek "$B/sparse" 0
	[ "$status" -eq 0 ]
	local data=${output#data } hole
	data=${data%% *}
	hole=${output##* }
	# The data is found at or before the tail, and there is a hole before it.
	[ "$data" -le 8388608 ]
	[ "$data" -gt 0 ]
	[ "$hole" -eq 0 ]

	"$FSOPS" copy "$A/big" "$A/copy"
	cmp "$B/big" "$B/copy"

	"$FSOPS" bigwrite "$A/four" 4
	"$FSOPS" fsyncdir "$A"
	[ "$(stat -c %s "$B/four")" = 4194304 ]
	[ "$(sha256sum <"$A/four")" = "$(sha256sum <"$B/four")" ]
}

@test "mount -t fuse.vrfs and an /etc/fstab line (helper installed in a private mount namespace)" {
	# mount(8) runs /sbin/mount.fuse.vrfs, which make install links to vrfs. Here the link is
	# put in /sbin only inside a private mount namespace (an overlay), and the fstab is a file
	# of the test's (mount -T): the machine's own /sbin and /etc/fstab are not touched.
	mkdir -p "$T/extra" "$T/m1" "$T/m2"
	ln -s "$VRFS" "$T/extra/mount.fuse.vrfs"
	echo "$CLUSTER $T/m2 fuse.vrfs _netdev,timeout=60 0 0" >"$T/fstab"
	local sbin
	sbin=$(readlink -f /sbin)
	cat >"$T/ns.sh" <<-NS
		set -e
		trap 'umount -l "$T/m1" 2>/dev/null || true; umount -l "$T/m2" 2>/dev/null || true' EXIT
		mount -t overlay overlay -o lowerdir="$T/extra:$sbin" "$sbin"
		mount -t fuse.vrfs "$CLUSTER" "$T/m1"
		echo via-mount-t >"$T/m1/t"
		mount -T "$T/fstab" "$T/m2"
		grep -q "$T/m2 fuse.vrfs" /proc/self/mounts
		echo via-fstab >"$T/m2/f"
		cat "$T/m2/t" "$T/m1/f"
		umount "$T/m1"
		umount "$T/m2"
	NS
	run unshare -m --propagation private bash "$T/ns.sh"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = via-mount-t ]
	[ "${lines[1]}" = via-fstab ]
	[ "$(cat "$B/t")" = via-mount-t ]
	[ "$(cat "$B/f")" = via-fstab ]
}

@test "open(O_CREAT) of one new name from both mounts at once: both open the file, neither gets EEXIST" {
	local i
	for i in $(seq 1 150); do
		echo a >>"$A/race$i" &
		local p1=$!
		echo b >>"$B/race$i" &
		wait "$p1" "$!"
	done 2>"$T/race.err"
	[ ! -s "$T/race.err" ] || { cat "$T/race.err"; false; }
	for i in $(seq 1 150); do
		[ "$(sort "$A/race$i" | tr -d '\n')" = ab ]
	done
}
