/*
 * bench_state.c — bench-state: what the store sustains on a real disk, through
 * store_apply and the read queries, with the durability the replica uses (store_open:
 * WAL, synchronous = FULL, so every store_apply is one transaction and one fsync of
 * the WAL).
 *
 *   bench-state [--dir DIR] [--quick]
 *
 * The store goes into a fresh directory made under DIR (default: the current
 * directory, so the disk it lives on and not /dev/shm or a tmpfs /tmp), removed at the
 * end. Figures:
 *   creates/s   10,000 creates in one directory, one op per transaction;
 *   stats/s     store_lookup + store_getattr of each of them (one "stat" = both);
 *   MiB/s       sequential 128 KiB writes making a 256 MiB file; 4 KiB writes at random
 *               4 KiB-aligned offsets of a 64 MiB file; sequential 128 KiB reads of the
 *               256 MiB file and random 4 KiB reads of the 64 MiB one (the OS cache is
 *               warm: these measure the store's code and SQLite, not the disk).
 * Then creates and writes again with 32 ops per transaction (store_apply_batch: the
 * group commit the replica uses when ops arrive together). For scale, it also times a
 * bare 4 KiB write + fdatasync in DIR, and store_log_write (the VR log) with 1 and 32
 * entries per transaction. --quick divides every count by 16 (a smoke run).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp, nftw */
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "replication/vr_assert.h"
#include "state/store.h"

#define BENCH_CREATES     10000
#define BENCH_STAT_PASSES 5
#define BENCH_SEQ_FILE    (256ULL << 20)
#define BENCH_SEQ_WRITE   (128 * 1024)
#define BENCH_RAND_FILE   (64ULL << 20)
#define BENCH_RAND_WRITE  4096
#define BENCH_RAND_WRITES 4096 /* 16 MiB of random writes */
#define BENCH_RAND_READS  65536
#define BENCH_FSYNCS      1000
#define BENCH_LOG_ENTRIES 2048
#define BENCH_LOG_BATCH   32
#define BENCH_EPOCH_NS    1700000000000000000LL
#define BENCH_PATH_MAX    4096
#define BENCH_MIB         (1024.0 * 1024.0)

_Static_assert(BENCH_SEQ_FILE % BENCH_SEQ_WRITE == 0, "whole writes");
_Static_assert(BENCH_RAND_FILE % BENCH_SEQ_WRITE == 0, "the random file is filled with whole writes");
_Static_assert(BENCH_SEQ_WRITE <= WIRE_DATA_MAX, "a write travels");

struct bench_pending {
	struct wire_fs_op op;
	char name[32];
	uint8_t *data; /* BENCH_SEQ_WRITE bytes */
};

struct bench {
	struct store *s;
	uint32_t batch; /* ops per transaction */
	uint32_t pending_count;
	struct bench_pending pending[BENCH_LOG_BATCH];
	unsigned scale; /* counts are divided by this (--quick) */
	uint8_t *buf;   /* BENCH_SEQ_WRITE bytes */
	uint64_t rng;
	uint64_t log_last; /* the VR log's last op-number */
};

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t bench_rand(struct bench *b)
{
	uint64_t z = (b->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void bench_fill(struct bench *b, uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 8 <= len; i += 8) {
		uint64_t v = bench_rand(b);
		memcpy(p + i, &v, 8);
	}
}

/* Applies the queued ops in one transaction; each must succeed. */
static void bench_flush(struct bench *b)
{
	struct store_apply_ctx ctx[BENCH_LOG_BATCH];
	const struct wire_fs_op *ops[BENCH_LOG_BATCH];
	struct wire_fs_result res[BENCH_LOG_BATCH];
	uint64_t first = store_commit(b->s) + 1;

	if (!b->pending_count)
		return;
	for (uint32_t i = 0; i < b->pending_count; i++) {
		struct store_apply_ctx c = { .op = first + i,
			                     .now = BENCH_EPOCH_NS + (int64_t)(first + i) * 1000,
			                     .client_id = 1 };
		ctx[i] = c;
		ops[i] = &b->pending[i].op;
	}
	if (store_apply_batch(b->s, ctx, ops, NULL, b->pending_count, res)) {
		fprintf(stderr, "bench-state: store_apply_batch from op %" PRIu64 " returned STORE_BROKEN\n", first);
		exit(1);
	}
	for (uint32_t i = 0; i < b->pending_count; i++) {
		if (res[i].err) {
			fprintf(stderr, "bench-state: op %" PRIu64 " failed: %s\n", first + i, strerror(-res[i].err));
			exit(1);
		}
	}
	b->pending_count = 0;
}

/* Applies op as the next op-number (queued when batching); the op must succeed. Returns the inode a
 * create makes (known in advance: WIRE_INO_FROM_OP). */
static uint64_t bench_apply(struct bench *b, const struct wire_fs_op *op)
{
	if (b->batch > 1) {
		struct bench_pending *p = &b->pending[b->pending_count];
		uint64_t n = store_commit(b->s) + 1 + b->pending_count;
		p->op = *op;
		if (op->name_len) {
			memcpy(p->name, op->name, op->name_len < sizeof(p->name) ? op->name_len : sizeof(p->name));
			p->op.name = p->name;
		}
		if (op->data_len) {
			memcpy(p->data, op->data, op->data_len);
			p->op.data = p->data;
		}
		if (++b->pending_count == b->batch)
			bench_flush(b);
		return WIRE_INO_FROM_OP(n);
	}
	uint64_t n = store_commit(b->s) + 1;
	struct store_apply_ctx ctx = { .op = n, .now = BENCH_EPOCH_NS + (int64_t)n * 1000, .client_id = 1 };
	struct wire_fs_result res;

	if (store_apply(b->s, &ctx, op, NULL, &res)) {
		fprintf(stderr, "bench-state: store_apply of op %" PRIu64 " returned STORE_BROKEN\n", n);
		exit(1);
	}
	if (res.err) {
		fprintf(stderr, "bench-state: op %" PRIu64 " (type %u) failed: %s\n", n, op->type, strerror(-res.err));
		exit(1);
	}
	return res.attr.ino;
}

static uint64_t bench_create(struct bench *b, uint64_t parent, uint8_t type, const char *name)
{
	struct wire_fs_op op = {
		.type = type,
		.parent = parent,
		.name = name,
		.name_len = (uint32_t)strlen(name),
		.mode = type == WIRE_FS_MKDIR ? 0755 : S_IFREG | 0644,
	};

	return bench_apply(b, &op);
}

static void bench_write(struct bench *b, uint64_t ino, uint64_t offset, uint32_t len)
{
	struct wire_fs_op op = { .type = WIRE_FS_WRITE, .ino = ino, .offset = offset, .data = b->buf, .data_len = len };

	bench_apply(b, &op);
}

static void bench_row(const char *what, uint64_t count, double seconds, const char *rate)
{
	printf("  %-44s %8" PRIu64 " %9.2f  %s\n", what, count, seconds, rate);
}

/* ------------------------------------------------------------------ the figures */

static void bench_creates(struct bench *b, uint64_t dir, uint64_t *inos, uint64_t count)
{
	char name[32], what[64], rate[64];
	double t0 = bench_now();

	for (uint64_t i = 0; i < count; i++) {
		snprintf(name, sizeof(name), "file-%06" PRIu64, i);
		inos[i] = bench_create(b, dir, WIRE_FS_CREATE, name);
	}
	bench_flush(b);
	double t = bench_now() - t0;
	snprintf(what, sizeof(what), "create (%" PRIu64 " in one directory%s)", count,
	         b->batch > 1 ? ", batch 32" : "");
	snprintf(rate, sizeof(rate), "%.0f creates/s", (double)count / t);
	bench_row(what, count, t, rate);
}

static void bench_stats(struct bench *b, uint64_t dir, const uint64_t *inos, uint64_t count)
{
	char name[32], rate[64];
	struct wire_attr a;
	double t0 = bench_now();

	for (int pass = 0; pass < BENCH_STAT_PASSES; pass++) {
		for (uint64_t i = 0; i < count; i++) {
			snprintf(name, sizeof(name), "file-%06" PRIu64, i);
			if (store_lookup(b->s, dir, name, (uint32_t)strlen(name), &a) || a.ino != inos[i] ||
			    store_getattr(b->s, inos[i], &a)) {
				fprintf(stderr, "bench-state: stat of %s failed\n", name);
				exit(1);
			}
		}
	}
	double t = bench_now() - t0;
	snprintf(rate, sizeof(rate), "%.0f stats/s", (double)(count * BENCH_STAT_PASSES) / t);
	bench_row("stat (store_lookup + store_getattr)", count * BENCH_STAT_PASSES, t, rate);
}

static void bench_rate(char *rate, size_t size, uint64_t bytes, uint64_t ops, double t)
{
	snprintf(rate, size, "%.1f MiB/s (%.0f ops/s)", (double)bytes / BENCH_MIB / t, (double)ops / t);
}

static void bench_seq_write(struct bench *b, uint64_t ino, uint64_t size)
{
	char what[64], rate[64];
	uint64_t ops = size / BENCH_SEQ_WRITE;
	double t0 = bench_now();

	for (uint64_t i = 0; i < ops; i++) {
		bench_fill(b, b->buf, BENCH_SEQ_WRITE);
		bench_write(b, ino, i * BENCH_SEQ_WRITE, BENCH_SEQ_WRITE);
	}
	bench_flush(b);
	double t = bench_now() - t0;
	snprintf(what, sizeof(what), "sequential write 128 KiB (%" PRIu64 " MiB file%s)", size >> 20,
	         b->batch > 1 ? ", batch 32" : "");
	bench_rate(rate, sizeof(rate), size, ops, t);
	bench_row(what, ops, t, rate);
}

static void bench_rand_write(struct bench *b, uint64_t ino, uint64_t size, uint64_t ops)
{
	char what[64], rate[64];

	for (uint64_t at = 0; at < size; at += BENCH_SEQ_WRITE) { /* a full file first, not a sparse one */
		bench_fill(b, b->buf, BENCH_SEQ_WRITE);
		bench_write(b, ino, at, BENCH_SEQ_WRITE);
	}
	bench_flush(b);
	double t0 = bench_now();
	for (uint64_t i = 0; i < ops; i++) {
		bench_fill(b, b->buf, BENCH_RAND_WRITE);
		bench_write(b, ino, (bench_rand(b) % (size / BENCH_RAND_WRITE)) * BENCH_RAND_WRITE, BENCH_RAND_WRITE);
	}
	bench_flush(b);
	double t = bench_now() - t0;
	snprintf(what, sizeof(what), "random write 4 KiB (%" PRIu64 " MiB file%s)", size >> 20,
	         b->batch > 1 ? ", batch 32" : "");
	bench_rate(rate, sizeof(rate), ops * BENCH_RAND_WRITE, ops, t);
	bench_row(what, ops, t, rate);
}

static void bench_read(struct bench *b, uint64_t ino, uint64_t size, uint32_t len, uint64_t ops, bool random)
{
	char what[64], rate[64];
	uint32_t got;
	double t0 = bench_now();

	for (uint64_t i = 0; i < ops; i++) {
		uint64_t at = random ? (bench_rand(b) % (size / len)) * len : i * len;
		if (store_read(b->s, ino, at, len, b->buf, &got) || got != len) {
			fprintf(stderr, "bench-state: read at %" PRIu64 " failed\n", at);
			exit(1);
		}
	}
	double t = bench_now() - t0;
	snprintf(what, sizeof(what), "%s read %u KiB (%" PRIu64 " MiB file)", random ? "random" : "sequential",
	         len / 1024, size >> 20);
	bench_rate(rate, sizeof(rate), ops * len, ops, t);
	bench_row(what, ops, t, rate);
}

/* A bare 4 KiB write + fdatasync in dir: the floor under one durable transaction. */
static void bench_fsync(const char *dir, uint64_t count)
{
	char path[BENCH_PATH_MAX + 32], rate[64];
	uint8_t block[4096] = { 1 };

	snprintf(path, sizeof(path), "%s/fsync-probe", dir);
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	if (fd < 0) {
		fprintf(stderr, "bench-state: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	double t0 = bench_now();
	for (uint64_t i = 0; i < count; i++) {
		if (pwrite(fd, block, sizeof(block), 0) != (ssize_t)sizeof(block) || fdatasync(fd)) {
			fprintf(stderr, "bench-state: %s: %s\n", path, strerror(errno));
			exit(1);
		}
	}
	double t = bench_now() - t0;
	close(fd);
	unlink(path);
	snprintf(rate, sizeof(rate), "%.0f us each", t / (double)count * 1e6);
	bench_row("4 KiB pwrite + fdatasync (no SQLite)", count, t, rate);
}

/* store_log_write of 4 KiB entries, per transactions of batch entries. */
static void bench_log(struct bench *b, uint64_t count, uint32_t batch)
{
	struct store_log_entry e[BENCH_LOG_BATCH];
	char what[64], rate[64];

	ASSERT(batch >= 1 && batch <= BENCH_LOG_BATCH);
	bench_fill(b, b->buf, 4096);
	double t0 = bench_now();
	for (uint64_t done = 0; done < count; done += batch) {
		for (uint32_t i = 0; i < batch; i++)
			e[i] = (struct store_log_entry){ .op = b->log_last + 1 + i, .data = b->buf, .len = 4096 };
		if (store_log_write(b->s, b->log_last, e, batch, NULL, 0)) {
			fprintf(stderr, "bench-state: store_log_write returned STORE_BROKEN\n");
			exit(1);
		}
		b->log_last += batch;
	}
	double t = bench_now() - t0;
	snprintf(what, sizeof(what), "VR log append 4 KiB, %u per transaction", batch);
	snprintf(rate, sizeof(rate), "%.0f entries/s", (double)count / t);
	bench_row(what, count, t, rate);
}

/* ------------------------------------------------------------------ the machine */

static const char *bench_fs_name(long type)
{
	switch ((unsigned long)type) {
	case 0xEF53:
		return "ext2/3/4";
	case 0x58465342:
		return "xfs";
	case 0x9123683E:
		return "btrfs";
	case 0x01021994:
		return "tmpfs";
	case 0x794C7630:
		return "overlayfs";
	case 0x2FC12FC1:
		return "zfs";
	case 0x6969:
		return "nfs";
	case 0xF2F52010:
		return "f2fs";
	case 0x65735546:
		return "fuse";
	case 0x858458F6:
		return "ramfs";
	case 0x01161970:
		return "gfs2";
	case 0x5346544E:
		return "ntfs";
	case 0x4D44:
		return "vfat";
	}
	return "unknown";
}

static void bench_cpu_model(char *out, size_t size)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	snprintf(out, size, "unknown CPU");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "model name", 10) != 0)
			continue;
		char *p = strchr(line, ':');
		if (!p)
			continue;
		p += 1 + strspn(p + 1, " \t");
		p[strcspn(p, "\n")] = '\0';
		snprintf(out, size, "%s", p);
		break;
	}
	fclose(f);
}

static void bench_machine(const char *dir)
{
	char cpu[256];
	struct statfs fs;

	bench_cpu_model(cpu, sizeof(cpu));
	printf("machine: %ld CPUs, %s\n", sysconf(_SC_NPROCESSORS_ONLN), cpu);
	if (statfs(dir, &fs) == 0)
		printf("store:   %s on %s (f_type 0x%lx), SQLite %s, WAL, synchronous=FULL, one op per transaction\n",
		       dir, bench_fs_name((long)fs.f_type), (unsigned long)fs.f_type, sqlite3_libversion());
	else
		printf("store:   %s (statfs: %s)\n", dir, strerror(errno));
}

static uint64_t bench_file_size(const char *dir, const char *name)
{
	char path[BENCH_PATH_MAX + 32];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static int bench_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) ? -1 : 0;
}

static int bench_usage(const char *why)
{
	fprintf(stderr, "bench-state: %s\nusage: bench-state [--dir DIR] [--quick]\n", why);
	return 2;
}

int main(int argc, char **argv)
{
	const char *parent = ".";
	char dir[BENCH_PATH_MAX], path[BENCH_PATH_MAX + 32];
	struct bench b = { .scale = 1, .rng = 42, .batch = 1 };

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			parent = argv[++i];
		else if (!strcmp(argv[i], "--quick"))
			b.scale = 16;
		else
			return bench_usage("unknown argument");
	}
	int len = snprintf(dir, sizeof(dir), "%s/bench-state.XXXXXX", parent);
	if (len < 0 || (size_t)len >= sizeof(dir))
		return bench_usage("--dir: path too long");
	if (!mkdtemp(dir)) {
		fprintf(stderr, "bench-state: mkdtemp %s: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/store.db", dir);
	const char *why = NULL;
	int rc = store_open(&b.s, path, BENCH_EPOCH_NS, &why);
	if (rc) {
		fprintf(stderr, "bench-state: store_open %s: %s\n", path, why);
		return 1;
	}
	b.buf = malloc(BENCH_SEQ_WRITE);
	uint64_t creates = BENCH_CREATES / b.scale;
	uint64_t *inos = calloc(creates, sizeof(*inos));
	ASSERT(b.buf && inos);
	memset(b.buf, 0, BENCH_SEQ_WRITE);

	bench_machine(dir);
	printf("\n  %-44s %8s %9s  %s\n", "figure", "ops", "seconds", "rate");
	bench_fsync(dir, BENCH_FSYNCS / b.scale);
	uint64_t d = bench_create(&b, WIRE_INO_ROOT, WIRE_FS_MKDIR, "many");
	bench_creates(&b, d, inos, creates);
	bench_stats(&b, d, inos, creates);
	uint64_t seq = bench_create(&b, WIRE_INO_ROOT, WIRE_FS_CREATE, "sequential");
	bench_seq_write(&b, seq, BENCH_SEQ_FILE / b.scale);
	uint64_t rnd = bench_create(&b, WIRE_INO_ROOT, WIRE_FS_CREATE, "random");
	bench_rand_write(&b, rnd, BENCH_RAND_FILE / b.scale, BENCH_RAND_WRITES / b.scale);
	bench_read(&b, seq, BENCH_SEQ_FILE / b.scale, BENCH_SEQ_WRITE, BENCH_SEQ_FILE / b.scale / BENCH_SEQ_WRITE,
	           false);
	bench_read(&b, rnd, BENCH_RAND_FILE / b.scale, BENCH_RAND_WRITE, BENCH_RAND_READS / b.scale, true);
	/* Group commit: the same creates and writes, 32 ops per transaction. */
	for (uint32_t i = 0; i < BENCH_LOG_BATCH; i++) {
		b.pending[i].data = malloc(BENCH_SEQ_WRITE);
		ASSERT(b.pending[i].data);
	}
	uint64_t d2 = bench_create(&b, WIRE_INO_ROOT, WIRE_FS_MKDIR, "many-batched");
	uint64_t seq2 = bench_create(&b, WIRE_INO_ROOT, WIRE_FS_CREATE, "sequential-batched");
	uint64_t rnd2 = bench_create(&b, WIRE_INO_ROOT, WIRE_FS_CREATE, "random-batched");
	b.batch = BENCH_LOG_BATCH;
	bench_creates(&b, d2, inos, creates);
	bench_seq_write(&b, seq2, BENCH_SEQ_FILE / b.scale);
	bench_rand_write(&b, rnd2, BENCH_RAND_FILE / b.scale, BENCH_RAND_WRITES / b.scale);
	b.batch = 1;
	for (uint32_t i = 0; i < BENCH_LOG_BATCH; i++)
		free(b.pending[i].data);
	bench_log(&b, BENCH_LOG_ENTRIES / b.scale, 1);
	bench_log(&b, BENCH_LOG_ENTRIES / b.scale, BENCH_LOG_BATCH);

	struct store_statfs st;
	if (store_statfs(b.s, &st) == 0)
		printf("\nstore: %" PRIu64 " inodes, %.1f MiB of file data; store.db %.1f MiB, WAL %.1f MiB; %" PRIu64
		       " ops applied\n",
		       st.inodes, (double)st.data_bytes / BENCH_MIB,
		       (double)bench_file_size(dir, "store.db") / BENCH_MIB,
		       (double)bench_file_size(dir, "store.db-wal") / BENCH_MIB, store_commit(b.s));
	store_close(b.s);
	free(inos);
	free(b.buf);
	if (nftw(dir, bench_rm_entry, 16, FTW_DEPTH | FTW_PHYS)) {
		fprintf(stderr, "bench-state: cannot remove %s: %s\n", dir, strerror(errno));
		return 1;
	}
	return 0;
}
