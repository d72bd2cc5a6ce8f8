# vrfs — build, test and demo. `make test` and `make demo` install what is missing first.
#
#   make            build the programs into build/
#   make test       every test, ending with one line "N passed, N failed"
#   make demo       the main job: the VR simulator, a live 3-replica cluster losing its primary, then
#                   (in a terminal) vrfs demo: three replicas and two mounts until Ctrl-C
#   make sim-mutants  build the simulator with each planted protocol bug and show each is caught
#   make bench-state  measure the store on this machine's disk (DIR=path to choose the disk)
#   make bench-faults failover time over KILLS=10 kills of the primary, and recovery times (STATE_MIB=256)
#   make bench-reconfig  what grow, replace, shrink and move cost under writes (STATE_MIB=64)
#   make bench-vr   what batching, leases, witnesses and parts buy, each next to its absence
#   make bench-fs   the workload suite: local disk, a passthrough FUSE mount and vrfs (TARGET=DIR)
#   make bench-scale  how cost grows: 10^3..10^5 small files, a 4 GiB file, a replica catching up 10^6 files
#   make bench      bench-vr and bench-fs
#   make format     apply clang-format;  make check-format  fail on unformatted code
#   make check-layers  fail when a module includes what it must not
#   make install    the programs, man pages and the mount helper (PREFIX=/usr/local, DESTDIR=)
#   make fuzz       run each libFuzzer target FUZZ_TIME seconds (default 60) on its corpus in build/fuzz/corpus

CC      ?= cc
CFLAGS_BASE := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -I. -D_DEFAULT_SOURCE
CFLAGS  ?= -O2 -g
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

BUILD   := build
ASAN    := $(BUILD)/asan

VR_CORE := replication/vr_replica.c replication/vr_normal.c replication/vr_view_change.c \
           replication/vr_recovery.c replication/vr_client.c
VR_HDRS := $(wildcard replication/*.h)
SIM_SRC := tests/sim/sim.c
WIRE_SRC  := $(wildcard wire/*.c)
STATE_SRC := $(wildcard state/*.c)
LIB_SRC   := $(VR_CORE) $(WIRE_SRC) $(STATE_SRC)
LIB_HDRS  := $(VR_HDRS) $(wildcard wire/*.h state/*.h)
# Evaluated when a recipe runs, after scripts/install-deps: a fresh machine has no .pc files before.
PKG_LIBS  = $$(pkg-config --cflags --libs sqlite3 msgpack libsodium)

UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c)) test_jepsen
MUTANTS := 1 2 3 4 5 6 7 8 9 10 11 12 13 14

# libFuzzer targets (tests/fuzz/NAME.c), each with a seed corpus in $(CORPUS)/NAME written by corpus-gen.
FUZZ_CC    ?= clang
FUZZ_TIME  ?= 60
FUZZ_FLAGS := -std=c11 -g -O1 -I. -D_DEFAULT_SOURCE -fsanitize=fuzzer,address,undefined
FUZZERS    := fuzz_wire_fs_op fuzz_wire_fs_result fuzz_wire_frame fuzz_wire_vr fuzz_wire_msg fuzz_wire_read fuzz_vr_core
FUZZ_BINS  := $(addprefix $(BUILD)/fuzz/,$(FUZZERS))
CORPUS     := $(BUILD)/fuzz/corpus

.PHONY: all deps test demo sim-mutants bench bench-state bench-faults bench-reconfig bench-vr bench-fs bench-scale fuzz format check-format check-layers clean install uninstall

PROGRAMS := $(BUILD)/vr-sim $(BUILD)/vrfsd $(BUILD)/vrfs

all: deps
	@$(MAKE) --no-print-directory $(PROGRAMS)

deps:
	@scripts/install-deps

$(BUILD)/vr-sim: $(LIB_SRC) $(SIM_SRC) $(LIB_HDRS) | $(BUILD)
	$(CC) $(CFLAGS_BASE) $(CFLAGS) -o $@ $(LIB_SRC) $(SIM_SRC) $(PKG_LIBS)

$(ASAN)/vr-sim: $(LIB_SRC) $(SIM_SRC) $(LIB_HDRS) | $(ASAN)
	$(CC) $(CFLAGS_BASE) $(SAN_FLAGS) -o $@ $(LIB_SRC) $(SIM_SRC) $(PKG_LIBS)

$(BUILD)/mutants/vr-sim-%: $(LIB_SRC) $(SIM_SRC) $(LIB_HDRS) | $(BUILD)/mutants
	$(CC) $(CFLAGS_BASE) $(CFLAGS) -DVR_MUTANT=$* -o $@ $(LIB_SRC) $(SIM_SRC) $(PKG_LIBS)

$(ASAN)/test_%: tests/unit/test_%.c tests/unit/counting_vfs.h $(LIB_SRC) $(LIB_HDRS) | $(ASAN)
	$(CC) $(CFLAGS_BASE) $(SAN_FLAGS) -o $@ $< $(LIB_SRC) $(PKG_LIBS) $$(pkg-config --cflags --libs cmocka)

# The store adapter of vrfsd is not in LIB_SRC: its test links it too.
$(ASAN)/test_vrfsd_store: tests/unit/test_vrfsd_store.c tests/unit/counting_vfs.h replication/vrfsd_store.c $(LIB_SRC) $(LIB_HDRS) | $(ASAN)
	$(CC) $(CFLAGS_BASE) $(SAN_FLAGS) -o $@ $< replication/vrfsd_store.c $(LIB_SRC) $(PKG_LIBS) $$(pkg-config --cflags --libs cmocka)

# The replica daemon: the core, the bus and event loop, the store adapter.
VRFSD_SRC := replication/vrfsd.c replication/vrfsd_store.c replication/vrfs_cluster.c
UV_LIBS    = $$(pkg-config --cflags --libs libuv)
# What every client program links: the cluster list, blocking frame I/O, client sessions, the codecs.
CLIENT_SRC := replication/vrfs_cluster.c replication/vrfs_net.c replication/vrfs_client.c $(VR_CORE) $(WIRE_SRC)
CLIENT_LIBS = $$(pkg-config --cflags --libs msgpack libsodium) -pthread
VRFS_SRC   := fs/vrfs.c fs/vrfs_mount.c fs/vrfs_demo.c
FUSE_LIBS   = $$(pkg-config --cflags --libs fuse3)

$(BUILD)/vrfs: $(VRFS_SRC) $(CLIENT_SRC) $(LIB_HDRS) $(wildcard fs/*.h) | $(BUILD)
	$(CC) $(CFLAGS_BASE) $(CFLAGS) -o $@ $(VRFS_SRC) $(CLIENT_SRC) $(CLIENT_LIBS) $(FUSE_LIBS)

$(BUILD)/vrfsd: $(VRFSD_SRC) $(LIB_SRC) $(LIB_HDRS) | $(BUILD)
	$(CC) $(CFLAGS_BASE) $(CFLAGS) -o $@ $(VRFSD_SRC) $(LIB_SRC) $(PKG_LIBS) $(UV_LIBS)

$(ASAN)/vrfsd: $(VRFSD_SRC) $(LIB_SRC) $(LIB_HDRS) | $(ASAN)
	$(CC) $(CFLAGS_BASE) $(SAN_FLAGS) -o $@ $(VRFSD_SRC) $(LIB_SRC) $(PKG_LIBS) $(UV_LIBS)

# Test tools for real replicas (tests/daemon/), also optimised for `make demo`.
$(BUILD)/vrfs-load: tests/daemon/vrfs_load.c $(CLIENT_SRC) $(LIB_HDRS) | $(BUILD)
	$(CC) $(CFLAGS_BASE) $(CFLAGS) -o $@ tests/daemon/vrfs_load.c $(CLIENT_SRC) $(CLIENT_LIBS)

$(BUILD)/vrfs-check: tests/daemon/vrfs_check.c $(STATE_SRC) $(WIRE_SRC) $(LIB_HDRS) | $(BUILD)
	$(CC) $(CFLAGS_BASE) $(CFLAGS) -o $@ tests/daemon/vrfs_check.c $(STATE_SRC) $(WIRE_SRC) $(PKG_LIBS)

$(ASAN)/vrfs-load: tests/daemon/vrfs_load.c $(CLIENT_SRC) $(LIB_HDRS) | $(ASAN)
	$(CC) $(CFLAGS_BASE) $(SAN_FLAGS) -o $@ tests/daemon/vrfs_load.c $(CLIENT_SRC) $(CLIENT_LIBS)

$(ASAN)/vrfs-badframes: tests/daemon/vrfs_badframes.c $(CLIENT_SRC) $(LIB_HDRS) | $(ASAN)
	$(CC) $(CFLAGS_BASE) $(SAN_FLAGS) -o $@ tests/daemon/vrfs_badframes.c $(CLIENT_SRC) $(CLIENT_LIBS)

# Fault tests (tests/faults/): the Jepsen-style workload and checker, and the checker's own tests.
JEPSEN_SRC := tests/faults/jepsen.c
$(ASAN)/vrfs-jepsen: tests/faults/vrfs_jepsen.c $(JEPSEN_SRC) tests/faults/jepsen.h | $(ASAN)
	$(CC) $(CFLAGS_BASE) $(SAN_FLAGS) -pthread -o $@ tests/faults/vrfs_jepsen.c $(JEPSEN_SRC) $$(pkg-config --cflags --libs libsodium)

$(ASAN)/test_jepsen: tests/faults/test_jepsen.c $(JEPSEN_SRC) tests/faults/jepsen.h | $(ASAN)
	$(CC) $(CFLAGS_BASE) $(SAN_FLAGS) -o $@ tests/faults/test_jepsen.c $(JEPSEN_SRC) $$(pkg-config --cflags --libs libsodium cmocka)

$(ASAN)/vrfs-fsops: tests/daemon/vrfs_fsops.c | $(ASAN)
	$(CC) $(CFLAGS_BASE) $(SAN_FLAGS) -o $@ tests/daemon/vrfs_fsops.c

$(ASAN)/vrfs-check: tests/daemon/vrfs_check.c $(STATE_SRC) $(WIRE_SRC) $(LIB_HDRS) | $(ASAN)
	$(CC) $(CFLAGS_BASE) $(SAN_FLAGS) -o $@ tests/daemon/vrfs_check.c $(STATE_SRC) $(WIRE_SRC) $(PKG_LIBS)

$(ASAN)/vrfs: $(VRFS_SRC) $(CLIENT_SRC) $(LIB_HDRS) $(wildcard fs/*.h) | $(ASAN)
	$(CC) $(CFLAGS_BASE) $(SAN_FLAGS) -o $@ $(VRFS_SRC) $(CLIENT_SRC) $(CLIENT_LIBS) $(FUSE_LIBS)

STORE_CRASH_SRC := tests/state/store_crash.c tests/state/oplog.c
FS_DIFF_SRC     := tests/state/fs_diff.c

$(ASAN)/store-crash: $(STORE_CRASH_SRC) tests/state/oplog.h $(STATE_SRC) $(WIRE_SRC) $(LIB_HDRS) | $(ASAN)
	$(CC) $(CFLAGS_BASE) $(SAN_FLAGS) -o $@ $(STORE_CRASH_SRC) $(STATE_SRC) $(WIRE_SRC) $(PKG_LIBS)

$(ASAN)/fs-diff: $(FS_DIFF_SRC) $(STATE_SRC) $(WIRE_SRC) $(LIB_HDRS) | $(ASAN)
	$(CC) $(CFLAGS_BASE) $(SAN_FLAGS) -o $@ $(FS_DIFF_SRC) $(STATE_SRC) $(WIRE_SRC) $(PKG_LIBS)

$(BUILD)/bench-state: bench/bench_state.c $(STATE_SRC) $(WIRE_SRC) $(LIB_HDRS) | $(BUILD)
	$(CC) $(CFLAGS_BASE) -O2 -g -o $@ bench/bench_state.c $(STATE_SRC) $(WIRE_SRC) $(PKG_LIBS)

# The bench's baseline: a minimal passthrough FUSE filesystem, mounted like vrfs.
$(BUILD)/vrfs-passthrough: bench/passthrough.c | $(BUILD)
	$(CC) $(CFLAGS_BASE) $(CFLAGS) -o $@ bench/passthrough.c $(FUSE_LIBS) -pthread

# One filesystem workload against any directory, one figure per run (issue 8).
$(BUILD)/vrfs-fsbench: bench/fsbench.c | $(BUILD)
	$(CC) $(CFLAGS_BASE) $(CFLAGS) -o $@ bench/fsbench.c -pthread

# With sanitizers, for tests/bats/bench.bats.
$(ASAN)/vrfs-passthrough: bench/passthrough.c | $(ASAN)
	$(CC) $(CFLAGS_BASE) $(SAN_FLAGS) -o $@ bench/passthrough.c $(FUSE_LIBS) -pthread
$(ASAN)/vrfs-fsbench: bench/fsbench.c | $(ASAN)
	$(CC) $(CFLAGS_BASE) $(SAN_FLAGS) -o $@ bench/fsbench.c -pthread

bench-faults: deps
	@$(MAKE) --no-print-directory $(BUILD)/vrfsd $(BUILD)/vrfs
	@bench/bench_faults.sh

bench-reconfig: deps
	@$(MAKE) --no-print-directory $(BUILD)/vrfsd $(BUILD)/vrfs
	@bench/bench_reconfig.sh

# Every benchmark that prints figures.
bench: bench-vr bench-fs

# The workload suite on a local directory, a passthrough FUSE mount and vrfs (bench/bench_fs.sh;
# TARGET=DIR runs it on an already-mounted directory instead).
bench-fs: deps
	@$(MAKE) --no-print-directory $(BUILD)/vrfsd $(BUILD)/vrfs $(BUILD)/vrfs-passthrough $(BUILD)/vrfs-fsbench
	@bench/bench_fs.sh

# How cost grows with scale (bench/bench_scale.sh; SCALE_COUNTS, BIG_MIB, CATCHUP_FILES, SESSIONS).
bench-scale: deps
	@$(MAKE) --no-print-directory $(BUILD)/vrfsd $(BUILD)/vrfs $(BUILD)/vrfs-fsbench $(BUILD)/vrfs-load
	@bench/bench_scale.sh

bench-vr: deps
	@$(MAKE) --no-print-directory $(BUILD)/vrfsd $(BUILD)/vrfs
	@bench/bench_vr.sh

bench-state: deps
	@$(MAKE) --no-print-directory $(BUILD)/bench-state
	$(BUILD)/bench-state $(if $(DIR),--dir $(DIR))

# The VR core fed with hostile messages (every ASSERT a message reaches is a finding).
$(BUILD)/fuzz/fuzz_vr_core: tests/fuzz/fuzz_vr_core.c $(VR_CORE) $(WIRE_SRC) $(LIB_HDRS) | $(BUILD)/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(VR_CORE) $(WIRE_SRC) $$(pkg-config --cflags --libs msgpack libsodium)

$(filter-out $(BUILD)/fuzz/fuzz_vr_core,$(FUZZ_BINS)): $(BUILD)/fuzz/%: tests/fuzz/%.c $(WIRE_SRC) $(wildcard wire/*.h) | $(BUILD)/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(WIRE_SRC) $$(pkg-config --cflags --libs msgpack libsodium)

$(BUILD)/fuzz/corpus-gen: tests/fuzz/corpus_gen.c $(WIRE_SRC) $(wildcard wire/*.h) | $(BUILD)/fuzz
	$(CC) $(CFLAGS_BASE) $(CFLAGS) -o $@ tests/fuzz/corpus_gen.c $(WIRE_SRC) $$(pkg-config --cflags --libs msgpack libsodium)

# The seeds are rewritten when the generator changes; inputs the fuzzers added stay.
$(CORPUS)/.stamp: $(BUILD)/fuzz/corpus-gen
	$(BUILD)/fuzz/corpus-gen $(CORPUS)
	@touch $@

$(BUILD) $(ASAN) $(BUILD)/mutants $(BUILD)/fuzz:
	@mkdir -p $@

# The build runs on every core: the programs are independent, each compiles its sources whole.
test: deps
	@$(MAKE) --no-print-directory -j$$(nproc) $(BUILD)/vr-sim $(ASAN)/vr-sim $(addprefix $(ASAN)/,$(UNIT_TESTS)) \
		$(ASAN)/store-crash $(ASAN)/fs-diff \
		$(ASAN)/vrfsd $(ASAN)/vrfs $(ASAN)/vrfs-load $(ASAN)/vrfs-check $(ASAN)/vrfs-badframes $(ASAN)/vrfs-fsops $(ASAN)/vrfs-jepsen $(BUILD)/vrfsd $(BUILD)/vrfs \
		$(ASAN)/vrfs-passthrough $(ASAN)/vrfs-fsbench \
		$(addprefix $(BUILD)/mutants/vr-sim-,$(MUTANTS)) $(FUZZ_BINS) $(CORPUS)/.stamp
	@UNIT_TESTS="$(UNIT_TESTS)" MUTANTS="$(MUTANTS)" FUZZERS="$(FUZZERS)" tests/run

sim-mutants: deps
	@$(MAKE) --no-print-directory $(addprefix $(BUILD)/mutants/vr-sim-,$(MUTANTS))
	@MUTANTS="$(MUTANTS)" scripts/sim-mutants

# Grows $(CORPUS)/NAME; a failing input is saved as $(BUILD)/fuzz/NAME-crash-* (or -leak-, -timeout-, -oom-):
# run $(BUILD)/fuzz/NAME on that file to reproduce.
fuzz: deps
	@$(MAKE) --no-print-directory $(FUZZ_BINS) $(CORPUS)/.stamp
	@for f in $(FUZZERS); do \
		echo "fuzz: $$f for $(FUZZ_TIME) s on $(CORPUS)/$$f"; \
		$(BUILD)/fuzz/$$f -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
			-artifact_prefix=$(BUILD)/fuzz/$$f- $(CORPUS)/$$f || exit 1; \
	done

demo: deps
	@$(MAKE) --no-print-directory $(BUILD)/vr-sim $(BUILD)/vrfsd $(BUILD)/vrfs $(BUILD)/vrfs-load $(BUILD)/vrfs-check
	@scripts/demo

# make install [PREFIX=/usr/local] [DESTDIR=]: the programs, the man pages, and the mount helper
# /sbin/mount.fuse.vrfs (a link to vrfs), which `mount -t fuse.vrfs` and /etc/fstab lines run.
PREFIX ?= /usr/local
SBIN_HELPER ?= /sbin

install: all
	install -D -m 0755 $(BUILD)/vrfs $(DESTDIR)$(PREFIX)/bin/vrfs
	install -D -m 0755 $(BUILD)/vrfsd $(DESTDIR)$(PREFIX)/sbin/vrfsd
	install -D -m 0644 man/vrfs.1 $(DESTDIR)$(PREFIX)/share/man/man1/vrfs.1
	install -D -m 0644 man/vr-sim.1 $(DESTDIR)$(PREFIX)/share/man/man1/vr-sim.1
	install -D -m 0644 man/vrfs.7 $(DESTDIR)$(PREFIX)/share/man/man7/vrfs.7
	install -D -m 0644 man/vrfsd.8 $(DESTDIR)$(PREFIX)/share/man/man8/vrfsd.8
	install -d $(DESTDIR)$(SBIN_HELPER)
	ln -sf $(PREFIX)/bin/vrfs $(DESTDIR)$(SBIN_HELPER)/mount.fuse.vrfs

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/vrfs $(DESTDIR)$(PREFIX)/sbin/vrfsd $(DESTDIR)$(SBIN_HELPER)/mount.fuse.vrfs \
		$(DESTDIR)$(PREFIX)/share/man/man1/vrfs.1 $(DESTDIR)$(PREFIX)/share/man/man1/vr-sim.1 \
		$(DESTDIR)$(PREFIX)/share/man/man7/vrfs.7 $(DESTDIR)$(PREFIX)/share/man/man8/vrfsd.8

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

check-format:
	@clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

check-layers:
	@scripts/check-layers

clean:
	rm -rf $(BUILD)
