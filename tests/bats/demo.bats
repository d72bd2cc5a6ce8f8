#!/usr/bin/env bats
# vrfs demo: three replicas and two mounts until Ctrl-C, then nothing left behind.

load cluster

setup() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/vrfs-bats.XXXXXX")
}

teardown() {
	local p
	if [ -e "$T/demo.pid" ]; then
		p=$(cat "$T/demo.pid")
		kill -INT "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	fi
	for m in "$T/demo/a" "$T/demo/b"; do
		if mountpoint -q "$m" 2>/dev/null; then fusermount3 -u "$m" 2>/dev/null || umount -l "$m" || true; fi
	done
	for p in $(sed -n 's/^replica pids: \(.*\); mount pids: \(.*\)$/\1 \2/p' "$T/out" 2>/dev/null); do
		kill -9 "$p" 2>/dev/null || true
	done
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		echo "# kept: $T" >&3
		sed 's/^/#   /' "$T/out" >&3 2>/dev/null || true
	else
		rm -rf "$T"
	fi
}

@test "vrfs demo: two mounts of one cluster; Ctrl-C leaves no process and no mount" {
	"$VRFS" demo "$T/demo" >"$T/out" 2>&1 &
	echo $! >"$T/demo.pid"
	for _ in $(seq 1 150); do
		grep -q '^replica pids' "$T/out" && break
		sleep 0.1
	done
	grep -q '^replica pids' "$T/out"
	echo hello >"$T/demo/a/greeting"
	[ "$(cat "$T/demo/b/greeting")" = hello ]
	local pids
	pids=$(sed -n 's/^replica pids: \(.*\); mount pids: \(.*\)$/\1 \2/p' "$T/out")
	[ "$(echo $pids | wc -w)" -eq 5 ]
	kill -INT "$(cat "$T/demo.pid")"
	wait "$(cat "$T/demo.pid")"
	rm -f "$T/demo.pid"
	! mountpoint -q "$T/demo/a"
	! mountpoint -q "$T/demo/b"
	for p in $pids; do
		! kill -0 "$p" 2>/dev/null
	done
	grep -q "stopped; the data stays in" "$T/out"
}

@test "make install puts the programs, the man pages and the mount helper link where mount finds it" {
	cd "$ROOT"
	make -s install DESTDIR="$T/root" >/dev/null
	[ -x "$T/root/usr/local/bin/vrfs" ]
	[ -x "$T/root/usr/local/sbin/vrfsd" ]
	[ "$(readlink "$T/root/sbin/mount.fuse.vrfs")" = /usr/local/bin/vrfs ]
	[ -f "$T/root/usr/local/share/man/man8/vrfsd.8" ]
	[ -f "$T/root/usr/local/share/man/man7/vrfs.7" ]
	[ -f "$T/root/usr/local/share/man/man1/vrfs.1" ]
	make -s uninstall DESTDIR="$T/root" >/dev/null
	[ -z "$(find "$T/root" -type f -o -type l)" ]
}
