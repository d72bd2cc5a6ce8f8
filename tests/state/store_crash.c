/*
 * store_crash.c — store-crash: the store is deterministic, and exactly-once across
 * process crashes.
 *
 *   store-crash [--seed N] [--ops K] [--kills M] [-v] [--keep]
 *
 * (a) Determinism. The log of K ops drawn from seed N (tests/state/oplog.c) is
 *     generated twice and applied to two fresh ":memory:" stores and to a store in a
 *     file: the two logs must be equal op by op, every op's result equal on the three
 *     stores, and the three digests equal (also after the file store is reopened).
 * (b) Crashes. A child process opens a file store in a fresh directory and applies
 *     the log from store_commit() + 1 to K, publishing its commit-number after each op
 *     through shared memory, while the parent sends it SIGKILL at a random moment:
 *     mostly once it passed a point of the log spread over the run, plus a seeded delay
 *     of up to a few ms (inside a transaction or between two), sometimes while it is
 *     still opening the store (WAL recovery). This repeats M times, then one last
 *     child finishes the log. Checked:
 *       C1  after a restart, the commit-number is the last one the child published, or
 *           one more (killed between COMMIT and publishing): no committed op is lost;
 *       C2  the state after a restart equals the uninterrupted in-memory run at that
 *           op-number (a mirror store the parent advances), so nothing half-applied or
 *           applied twice survives;
 *       C3  every op applied after a restart gives the result it gave in (a);
 *       C4  the final digest equals the uninterrupted run's, also after reopening.
 *     The op's "now" is derived from its op-number only and the client is fixed, so a
 *     replayed op is the same op. store_apply itself refuses an op-number other than
 *     commit + 1, so this program cannot apply an op twice even if it tried.
 *
 * Every op also writes a client-table row (slot op % CRASH_SLOTS), and every
 * CRASH_EVICT_OP-th op evicts the client (its handles close, unlinked open files go),
 * so the digests cover both. -v prints each op type's results and each kill round.
 * M in the last line counts the kills that landed (a child that finished the log
 * before its kill ends the rounds early).
 *
 * Where the kills land depends on timing, so a failing seed may need a few runs to
 * fail again; the failure names the seed, the kill round and the op-numbers involved.
 * Prints "store-crash: seed N: K ops, M kills, digests equal" and exits 0; on a
 * failure prints what failed and exits 1; bad arguments exit 2.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp, nftw, MAP_ANONYMOUS */
#endif
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "replication/vr_assert.h"
#include "state/store.h"
#include "tests/state/oplog.h"

#define CRASH_CLIENT    7                     /* the one session issuing every op */
#define CRASH_EPOCH_NS  1700000000000000000LL /* the store's creation time */
#define CRASH_TICK_NS   1000003LL             /* "now" advances this much per op */
#define CRASH_EVICT_OP  997                   /* every this many ops the client is evicted (its handles close) */
#define CRASH_SLOTS     4                     /* client-table slots the rows cycle through */
#define CRASH_DELAY_US  3000                  /* a kill lands up to this long after its point of the log */
#define CRASH_POLL_US   200
#define CRASH_STALL_S   120  /* a child without progress this long has hung */
#define CRASH_EARLY_PCT 15   /* kills sent while the child may still be opening the store */
#define CRASH_EXIT_FAIL 3    /* a child's exit status: it found a failure and said so */
#define CRASH_ERRNO_MAX 160  /* errno values the -v summary tells apart */
#define CRASH_DIR_MAX   1024 /* the temporary directory's path; a store's path adds a file name */

struct crash_options {
	uint64_t seed;
	uint64_t ops;
	uint64_t kills;
	bool verbose;
	bool keep;
};

/* What (a) learnt from the uninterrupted run, for (b) to compare with. */
struct crash_ref {
	uint64_t *op_hash;  /* [1..ops]: the op's hash */
	uint64_t *res_hash; /* [1..ops]: its result's hash */
	int32_t *res_err;   /* [1..ops]: its result's err, for messages */
	uint8_t digest[STORE_DIGEST_SIZE];
};

/* Shared between the parent and one child (MAP_SHARED), written by the child. */
struct crash_shared {
	_Atomic uint64_t progress; /* the commit-number after the last op the child applied */
	_Atomic int started;       /* start_commit and start_digest are set */
	_Atomic int finished;      /* end_digest is set */
	uint64_t start_commit;
	uint8_t start_digest[STORE_DIGEST_SIZE];
	uint8_t end_digest[STORE_DIGEST_SIZE];
};

static uint64_t crash_rng_state;

static uint64_t crash_rand(void)
{
	uint64_t z = (crash_rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t crash_below(uint64_t n)
{
	ASSERT(n > 0);
	return crash_rand() % n;
}

static void crash_sleep_us(uint64_t us)
{
	struct timespec ts = { .tv_sec = (time_t)(us / 1000000), .tv_nsec = (long)(us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static double crash_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ applying the log */

/* Everything store_apply is given besides the op is a function of the op-number. */
static int crash_apply(struct store *s, uint64_t n, const struct wire_fs_op *op, struct wire_fs_result *res)
{
	uint8_t result[8];
	struct store_apply_ctx ctx = {
		.op = n,
		.now = CRASH_EPOCH_NS + (int64_t)n * CRASH_TICK_NS,
		.client_id = CRASH_CLIENT,
		.evicted_client = n % CRASH_EVICT_OP == 0 ? CRASH_CLIENT : 0,
	};
	struct store_session_row row = {
		.slot = (uint32_t)(n % CRASH_SLOTS),
		.client_id = CRASH_CLIENT,
		.session = 1,
		.request = n,
		.op = n,
		.status = 0,
		.result = result,
		.result_len = sizeof(result),
	};

	for (int i = 0; i < 8; i++)
		result[i] = (uint8_t)(n >> (8 * i));
	return store_apply(s, &ctx, op, &row, res);
}

static uint64_t crash_mix(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		h = (h ^ ((v >> (8 * i)) & 0xff)) * 0x100000001b3ULL;
	return h;
}

static uint64_t crash_result_hash(const struct wire_fs_result *r)
{
	const struct wire_attr *a = &r->attr;
	const uint64_t fields[] = {
		(uint64_t)(int64_t)r->err,
		r->written,
		a->ino,
		a->mode,
		a->nlink,
		a->uid,
		a->gid,
		a->rdev,
		a->size,
		a->blocks,
		(uint64_t)a->atime,
		(uint64_t)a->mtime,
		(uint64_t)a->ctime,
	};
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		h = crash_mix(h, fields[i]);
	return h;
}

static void crash_hex(const uint8_t *d, char out[2 * STORE_DIGEST_SIZE + 1])
{
	for (int i = 0; i < STORE_DIGEST_SIZE; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static int crash_open(struct store **s, const char *path)
{
	const char *why = NULL;
	int rc = store_open(s, path, CRASH_EPOCH_NS, &why);

	if (rc)
		fprintf(stderr, "store-crash: cannot open the store %s: %s (%s)\n", path, why ? why : "?",
		        strerror(-rc));
	return rc;
}

static int crash_digest(struct store *s, uint8_t out[STORE_DIGEST_SIZE], const char *which)
{
	int rc = store_digest(s, out);

	if (rc)
		fprintf(stderr, "store-crash: store_digest of %s failed: %s\n", which, strerror(-rc));
	return rc;
}

static int crash_broken(const struct crash_options *o, uint64_t n, const struct wire_fs_op *op, const char *which)
{
	fprintf(stderr,
	        "store-crash: seed %" PRIu64 ": op %" PRIu64
	        " (%s) on the %s store: store_apply returned STORE_BROKEN\n",
	        o->seed, n, oplog_type_name(op->type), which);
	return -1;
}

/* ------------------------------------------------------------------ (a) determinism */

static int crash_determinism(const struct crash_options *o, const char *dir, struct crash_ref *ref)
{
	struct store *a = NULL, *b = NULL, *f = NULL;
	struct oplog g1, g2;
	char path[CRASH_DIR_MAX + 64];
	uint8_t da[STORE_DIGEST_SIZE], db[STORE_DIGEST_SIZE], df[STORE_DIGEST_SIZE];
	uint64_t failed_ops = 0, ok[WIRE_FS_TYPE_MAX + 1] = { 0 },
	         failed[WIRE_FS_TYPE_MAX + 1][CRASH_ERRNO_MAX] = { 0 };
	int rc = -1;

	snprintf(path, sizeof(path), "%s/determinism.db", dir);
	oplog_init(&g1, o->seed);
	oplog_init(&g2, o->seed);
	if (crash_open(&a, ":memory:") || crash_open(&b, ":memory:") || crash_open(&f, path))
		goto out;
	for (uint64_t n = 1; n <= o->ops; n++) {
		const struct wire_fs_op *op1 = oplog_next(&g1, n), *op2 = oplog_next(&g2, n);
		struct wire_fs_result ra, rb, rf;

		ref->op_hash[n] = oplog_hash(op1);
		if (ref->op_hash[n] != oplog_hash(op2)) {
			fprintf(stderr,
			        "store-crash: seed %" PRIu64 ": the generator is not deterministic at op %" PRIu64 "\n",
			        o->seed, n);
			goto out;
		}
		if (crash_apply(a, n, op1, &ra)) {
			crash_broken(o, n, op1, "in-memory");
			goto out;
		}
		if (crash_apply(f, n, op1, &rf)) {
			crash_broken(o, n, op1, "file");
			goto out;
		}
		if (crash_apply(b, n, op2, &rb)) {
			crash_broken(o, n, op2, "second in-memory");
			goto out;
		}
		ref->res_hash[n] = crash_result_hash(&ra);
		ref->res_err[n] = ra.err;
		failed_ops += ra.err != 0;
		ASSERT(op1->type <= WIRE_FS_TYPE_MAX);
		if (ra.err)
			failed[op1->type][-ra.err < CRASH_ERRNO_MAX ? -ra.err : 0]++;
		else
			ok[op1->type]++;
		if (ref->res_hash[n] != crash_result_hash(&rb) || ref->res_hash[n] != crash_result_hash(&rf)) {
			fprintf(stderr,
			        "store-crash: seed %" PRIu64 ": op %" PRIu64
			        " (%s) gave different results: err %d, %d, %d "
			        "(memory, memory, file)\n",
			        o->seed, n, oplog_type_name(op1->type), ra.err, rb.err, rf.err);
			goto out;
		}
	}
	if (crash_digest(a, da, "memory") || crash_digest(b, db, "memory") || crash_digest(f, df, "file"))
		goto out;
	if (memcmp(da, db, sizeof(da)) || memcmp(da, df, sizeof(da))) {
		char ha[2 * STORE_DIGEST_SIZE + 1], hb[2 * STORE_DIGEST_SIZE + 1], hf[2 * STORE_DIGEST_SIZE + 1];
		crash_hex(da, ha);
		crash_hex(db, hb);
		crash_hex(df, hf);
		fprintf(stderr,
		        "store-crash: seed %" PRIu64 ": digests differ after %" PRIu64
		        " ops:\n  memory %s\n  memory %s\n"
		        "  file   %s\n",
		        o->seed, o->ops, ha, hb, hf);
		goto out;
	}
	store_close(f);
	f = NULL;
	if (crash_open(&f, path) || crash_digest(f, df, "reopened file"))
		goto out;
	if (store_commit(f) != o->ops || memcmp(da, df, sizeof(da))) {
		fprintf(stderr,
		        "store-crash: seed %" PRIu64 ": the file store reopened at commit %" PRIu64 " with %s digest\n",
		        o->seed, store_commit(f), memcmp(da, df, sizeof(da)) ? "another" : "the same");
		goto out;
	}
	memcpy(ref->digest, da, sizeof(da));
	if (o->verbose) {
		printf("store-crash: determinism: %" PRIu64 " ops (%" PRIu64
		       " failed with an errno), 3 stores, digests equal\n",
		       o->ops, failed_ops);
		for (uint8_t t = 1; t <= WIRE_FS_TYPE_MAX; t++) {
			printf("  %-12s %5" PRIu64 " ok", oplog_type_name(t), ok[t]);
			for (int e = 0; e < CRASH_ERRNO_MAX; e++)
				if (failed[t][e])
					printf(", %" PRIu64 " %s", failed[t][e], e ? strerrorname_np(e) : "other");
			printf("\n");
		}
	}
	rc = 0;
out:
	store_close(a);
	store_close(b);
	store_close(f);
	oplog_free(&g1);
	oplog_free(&g2);
	return rc;
}

/* ------------------------------------------------------------------ (b) crashes */

/* The child: restart on the store at path and apply the rest of the log. Returns its exit status. */
static int crash_child(const struct crash_options *o, const char *path, const struct crash_ref *ref,
                       struct crash_shared *sh)
{
	struct store *s = NULL;
	struct oplog g;
	int rc = CRASH_EXIT_FAIL;

	if (crash_open(&s, path))
		return CRASH_EXIT_FAIL;
	uint64_t commit = store_commit(s);
	if (commit > o->ops || crash_digest(s, sh->start_digest, "restarted file")) {
		store_close(s);
		return CRASH_EXIT_FAIL;
	}
	sh->start_commit = commit;
	atomic_store(&sh->progress, commit);
	atomic_store(&sh->started, 1);

	oplog_init(&g, o->seed);
	for (uint64_t n = 1; n <= commit; n++)
		oplog_next(&g, n); /* the generator's model must reach the same point */
	for (uint64_t n = commit + 1; n <= o->ops; n++) {
		const struct wire_fs_op *op = oplog_next(&g, n);
		struct wire_fs_result res;

		if (oplog_hash(op) != ref->op_hash[n]) {
			fprintf(stderr,
			        "store-crash: seed %" PRIu64 ": op %" PRIu64
			        " regenerated differently after a restart\n",
			        o->seed, n);
			goto out;
		}
		if (crash_apply(s, n, op, &res)) {
			crash_broken(o, n, op, "restarted file");
			goto out;
		}
		if (crash_result_hash(&res) != ref->res_hash[n]) { /* C3 */
			fprintf(stderr,
			        "store-crash: seed %" PRIu64 ": op %" PRIu64 " (%s) after a restart at op %" PRIu64
			        ": err %d, the uninterrupted run had err %d (or other attributes)\n",
			        o->seed, n, oplog_type_name(op->type), commit, res.err, ref->res_err[n]);
			goto out;
		}
		atomic_store(&sh->progress, n);
	}
	if (crash_digest(s, sh->end_digest, "finished file"))
		goto out;
	atomic_store(&sh->finished, 1);
	rc = 0;
out:
	oplog_free(&g);
	store_close(s);
	return rc;
}

/* The uninterrupted in-memory run, advanced to op-number to. */
struct crash_mirror {
	struct store *s;
	struct oplog g;
	uint64_t at;
};

static int crash_mirror_advance(const struct crash_options *o, struct crash_mirror *m, const struct crash_ref *ref,
                                uint64_t to)
{
	ASSERT(to >= m->at);
	ASSERT(to <= o->ops);
	while (m->at < to) {
		uint64_t n = ++m->at;
		const struct wire_fs_op *op = oplog_next(&m->g, n);
		struct wire_fs_result res;
		if (crash_apply(m->s, n, op, &res))
			return crash_broken(o, n, op, "mirror");
		if (crash_result_hash(&res) != ref->res_hash[n]) {
			fprintf(stderr,
			        "store-crash: seed %" PRIu64 ": op %" PRIu64
			        " gave another result on a second in-memory run\n",
			        o->seed, n);
			return -1;
		}
	}
	return 0;
}

/* C2: the restarted store at commit equals the mirror at commit. */
static int crash_mirror_check(const struct crash_options *o, struct crash_mirror *m, const struct crash_ref *ref,
                              uint64_t commit, const uint8_t digest[STORE_DIGEST_SIZE], uint64_t round)
{
	uint8_t want[STORE_DIGEST_SIZE];
	char a[2 * STORE_DIGEST_SIZE + 1], b[2 * STORE_DIGEST_SIZE + 1];

	if (crash_mirror_advance(o, m, ref, commit) || crash_digest(m->s, want, "mirror"))
		return -1;
	if (memcmp(want, digest, sizeof(want)) == 0)
		return 0;
	crash_hex(digest, a);
	crash_hex(want, b);
	fprintf(stderr,
	        "store-crash: seed %" PRIu64 ": after kill %" PRIu64 " the store restarted at commit %" PRIu64
	        " with digest %s; the uninterrupted run at that op has %s\n",
	        o->seed, round, commit, a, b);
	return -1;
}

/* The point of the log kill round (0-based) aims at: spread over the run, jittered, never the end. */
static uint64_t crash_kill_target(const struct crash_options *o, uint64_t round, uint64_t start)
{
	uint64_t span = o->ops / (o->kills + 1);
	uint64_t target = o->ops * (round + 1) / (o->kills + 1);

	if (span >= 4)
		target = target - span / 4 + crash_below(span / 2 + 1);
	if (target <= start)
		target = start + 1 + crash_below(4);
	if (target + 1 >= o->ops)
		target = o->ops > 2 ? o->ops - 2 : 0;
	return target;
}

/*
 * Waits (polling) until the child's progress reaches target, or it exits. Returns true
 * when it exited. A child that makes no progress for CRASH_STALL_S is killed and
 * reported (status: killed by SIGALRM's number, which no kill of ours sends).
 */
static bool crash_wait_progress(pid_t pid, const struct crash_shared *sh, uint64_t target, int *status)
{
	uint64_t seen = atomic_load(&sh->progress);
	double since = crash_seconds();

	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);
		ASSERT(w >= 0);
		if (w == pid)
			return true;
		uint64_t now = atomic_load(&sh->progress);
		if (atomic_load(&sh->started) && now >= target)
			return false;
		if (now != seen) {
			seen = now;
			since = crash_seconds();
		} else if (crash_seconds() - since > CRASH_STALL_S) {
			fprintf(stderr, "store-crash: the child made no progress for %d s at op %" PRIu64 "\n",
			        CRASH_STALL_S, now);
			kill(pid, SIGKILL);
			ASSERT(waitpid(pid, status, 0) == pid);
			*status = SIGALRM; /* as if killed by SIGALRM: reported as a failure */
			return true;
		}
		crash_sleep_us(CRASH_POLL_US);
	}
}

static int crash_child_status(const struct crash_options *o, int status, uint64_t round)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		fprintf(stderr, "store-crash: seed %" PRIu64 ": the child of round %" PRIu64 " failed (exit %d)\n",
		        o->seed, round, WEXITSTATUS(status));
	else
		fprintf(stderr, "store-crash: seed %" PRIu64 ": the child of round %" PRIu64 " died of signal %d\n",
		        o->seed, round, WTERMSIG(status));
	return -1;
}

static int crash_crashes(const struct crash_options *o, const char *dir, const struct crash_ref *ref,
                         uint64_t *kills_done)
{
	struct crash_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct crash_mirror m = { 0 };
	char path[CRASH_DIR_MAX + 64];
	uint64_t published = 0; /* the last commit-number a child published */
	int rc = -1;

	ASSERT(sh != MAP_FAILED);
	snprintf(path, sizeof(path), "%s/crash.db", dir);
	oplog_init(&m.g, o->seed);
	if (crash_open(&m.s, ":memory:"))
		goto out;
	fflush(NULL);
	for (uint64_t round = 0; round <= o->kills; round++) {
		bool last = round == o->kills, early = !last && crash_below(100) < CRASH_EARLY_PCT;
		int status = 0;

		memset(sh, 0, sizeof(*sh));
		atomic_store(&sh->progress, published);
		pid_t pid = fork();
		ASSERT(pid >= 0);
		if (pid == 0)
			_exit(crash_child(o, path, ref, sh));

		bool exited;
		uint64_t target = 0;
		if (early) { /* perhaps during the WAL recovery of store_open */
			crash_sleep_us(crash_below(CRASH_DELAY_US));
			exited = waitpid(pid, &status, WNOHANG) == pid;
		} else {
			/* Started, so that C1 and C2 can be checked, then on to the kill point. */
			exited = crash_wait_progress(pid, sh, 0, &status);
			if (!exited && !last) {
				target = crash_kill_target(o, round, sh->start_commit);
				exited = crash_wait_progress(pid, sh, target, &status);
				if (!exited)
					crash_sleep_us(crash_below(CRASH_DELAY_US));
			}
		}
		if (!exited && last)
			exited = crash_wait_progress(pid, sh, UINT64_MAX, &status);
		if (!exited) {
			kill(pid, SIGKILL);
			ASSERT(waitpid(pid, &status, 0) == pid);
		}
		bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && !last;
		if (!killed && crash_child_status(o, status, round))
			goto out;
		*kills_done += killed;

		if (atomic_load(&sh->started)) {
			uint64_t commit = sh->start_commit;
			if (commit != published && commit != published + 1) { /* C1 */
				fprintf(stderr,
				        "store-crash: seed %" PRIu64 ": round %" PRIu64
				        ": the store restarted at commit %" PRIu64
				        ", but the child had published commit %" PRIu64
				        " before the kill (it must be that one, or the next)\n",
				        o->seed, round, commit, published);
				goto out;
			}
			if (crash_mirror_check(o, &m, ref, commit, sh->start_digest, round))
				goto out;
			published = atomic_load(&sh->progress);
		}
		if (o->verbose)
			printf("store-crash: round %" PRIu64 ": %s at op %" PRIu64 " (restarted at %" PRIu64
			       ", aimed at %" PRIu64 ")\n",
			       round, killed ? (early ? "killed early" : "killed") : "finished", published,
			       atomic_load(&sh->started) ? sh->start_commit : published, target);
		if (!killed && !last) {
			if (!atomic_load(&sh->finished))
				goto out;
			break; /* it finished before the kill: nothing left to interrupt */
		}
	}
	if (!atomic_load(&sh->finished) || published != o->ops) {
		fprintf(stderr, "store-crash: seed %" PRIu64 ": the last child stopped at op %" PRIu64 "\n", o->seed,
		        published);
		goto out;
	}
	/* C4: the finished store, before and after reopening, equals the uninterrupted run. */
	struct store *f = NULL;
	uint8_t d[STORE_DIGEST_SIZE];
	if (crash_open(&f, path) || crash_digest(f, d, "reopened file")) {
		store_close(f);
		goto out;
	}
	uint64_t commit = store_commit(f);
	store_close(f);
	if (crash_mirror_advance(o, &m, ref, o->ops))
		goto out;
	if (commit != o->ops || memcmp(d, ref->digest, sizeof(d)) || memcmp(sh->end_digest, ref->digest, sizeof(d))) {
		char a[2 * STORE_DIGEST_SIZE + 1], b[2 * STORE_DIGEST_SIZE + 1];
		crash_hex(d, a);
		crash_hex(ref->digest, b);
		fprintf(stderr,
		        "store-crash: seed %" PRIu64 ": after %" PRIu64 " kills the store ends at commit %" PRIu64
		        " with digest %s; the uninterrupted run ends with %s\n",
		        o->seed, *kills_done, commit, a, b);
		goto out;
	}
	rc = 0;
out:
	store_close(m.s);
	oplog_free(&m.g);
	munmap(sh, sizeof(*sh));
	return rc;
}

/* ------------------------------------------------------------------ main */

static int crash_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) ? -1 : 0;
}

static void crash_rm_tree(const char *dir)
{
	if (nftw(dir, crash_rm_entry, 16, FTW_DEPTH | FTW_PHYS))
		fprintf(stderr, "store-crash: cannot remove %s: %s\n", dir, strerror(errno));
}

static int crash_usage(const char *why)
{
	fprintf(stderr,
	        "store-crash: %s\nusage: store-crash [--seed N] [--ops K] [--kills M] [-v] [--keep]\n"
	        "  defaults: --seed 1 --ops 3000 --kills 20\n",
	        why);
	return 2;
}

static bool crash_parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	struct crash_options o = { .seed = 1, .ops = 3000, .kills = 20 };
	struct crash_ref ref = { 0 };
	char dir[CRASH_DIR_MAX];
	const char *tmp = getenv("TMPDIR");
	uint64_t kills_done = 0;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--seed") || !strcmp(a, "--ops") || !strcmp(a, "--kills")) {
			uint64_t *dst = a[2] == 's' ? &o.seed : a[2] == 'o' ? &o.ops : &o.kills;
			if (!crash_parse_u64(i + 1 < argc ? argv[++i] : NULL, dst))
				return crash_usage("--seed, --ops and --kills take a number");
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			o.verbose = true;
		} else if (!strcmp(a, "--keep")) {
			o.keep = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			crash_usage("a crash test of the store");
			return 0;
		} else {
			return crash_usage("unknown argument");
		}
	}
	if (o.ops < 1 || o.ops > 10000000)
		return crash_usage("--ops must be 1..10000000");
	if (o.kills > 100000)
		return crash_usage("--kills must be at most 100000");

	crash_rng_state = o.seed ^ 0x6b696c6c73ULL; /* "kills": the parent's own stream */
	ref.op_hash = calloc(o.ops + 1, sizeof(*ref.op_hash));
	ref.res_hash = calloc(o.ops + 1, sizeof(*ref.res_hash));
	ref.res_err = calloc(o.ops + 1, sizeof(*ref.res_err));
	ASSERT(ref.op_hash && ref.res_hash && ref.res_err);
	int len = snprintf(dir, sizeof(dir), "%s/store-crash.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (len < 0 || (size_t)len >= sizeof(dir)) {
		fprintf(stderr, "store-crash: TMPDIR is too long\n");
		goto out_free;
	}
	if (!mkdtemp(dir)) {
		fprintf(stderr, "store-crash: mkdtemp %s: %s\n", dir, strerror(errno));
		goto out_free;
	}

	double t0 = crash_seconds();
	if (crash_determinism(&o, dir, &ref))
		goto out_fail;
	double t1 = crash_seconds();
	if (crash_crashes(&o, dir, &ref, &kills_done))
		goto out_fail;
	double t2 = crash_seconds();
	if (o.verbose)
		printf("store-crash: determinism %.2f s, crashes %.2f s\n", t1 - t0, t2 - t1);
	printf("store-crash: seed %" PRIu64 ": %" PRIu64 " ops, %" PRIu64 " kills, digests equal\n", o.seed, o.ops,
	       kills_done);
	rc = 0;
	goto out_rm;

out_fail:
	fprintf(stderr,
	        "store-crash: seed %" PRIu64 ": FAILED; reproduce with: store-crash --seed %" PRIu64 " --ops %" PRIu64
	        " --kills %" PRIu64 " -v --keep\n",
	        o.seed, o.seed, o.ops, o.kills);
out_rm:
	if (o.keep)
		fprintf(stderr, "store-crash: kept %s\n", dir);
	else
		crash_rm_tree(dir);
out_free:
	free(ref.op_hash);
	free(ref.res_hash);
	free(ref.res_err);
	return rc;
}
