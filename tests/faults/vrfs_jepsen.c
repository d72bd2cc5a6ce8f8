/*
 * vrfs_jepsen.c — `vrfs-jepsen`: a Jepsen-style workload on vrfs mounts (`run`) and its
 * checker (`check`, see jepsen.c).
 *
 * run: --procs threads, each a process of the history, each on one mount (process i on
 * mount i % mounts), issue random operations on <mount>/jepsen/ for --duration seconds:
 *	append KEY REC	open a-KEY O_APPEND|O_CREAT, one write of "REC\n", close
 *	write KEY VAL	open r-KEY O_CREAT, one pwrite of a 32-byte record at 0, close
 *	read KEY	open r-KEY, pread, close (ENOENT: nil)
 *	create NAME	open c-NAME O_CREAT|O_EXCL, write its content, fsync, close
 * REC, VAL and NAME are p<proc>.<n>, unique in the run. Each event is one write() to the
 * process's O_APPEND history file as it happens, so a run stopped at any instant leaves
 * a history the checker reads. A process blocked in a syscall (a frozen cluster) does
 * not hold the run: --grace seconds after the end, run exits with _exit and the checker
 * takes the operations in flight as info.
 *
 * Outcomes: ok only when every step succeeded. An error in the step that changes the
 * file (write, pwrite, create with O_EXCL) or after it is info (unknown: it may have
 * landed), unless errno says the step was refused before anything happened (ENOENT,
 * EEXIST, EACCES, ...: fail). An error before that step is fail: the record, value or
 * content cannot have reached the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "replication/vr_assert.h"
#include "tests/faults/jepsen.h"

#define JR_PROCS_MAX    1024
#define JR_KEYS_MAX     1000
#define JR_PATH_MAX     4096
#define JR_NAP_NS       50000000ULL /* the longest a rate-limited process sleeps before looking at the clock */
#define JR_WEIGHT_TOTAL 100

_Static_assert(JR_PROCS_MAX - 1 <= JEPSEN_PROC_MAX, "process numbers fit a history");

/* The mix of operations, in percent. */
static const unsigned jr_weights[JEPSEN_F_COUNT] = {
	[JEPSEN_APPEND] = 40, [JEPSEN_WRITE] = 20, [JEPSEN_READ] = 30, [JEPSEN_CREATE] = 10
};

struct jr_config {
	char **mounts; /* owned */
	size_t mount_count;
	const char *out;
	const char *history;
	unsigned procs;
	unsigned keys;
	double duration_s;
	double grace_s;
	double rate;
	uint64_t seed;
	bool seed_set;
};

struct jr_proc {
	unsigned id;
	int history_fd;
	const char *mount; /* borrowed from the config */
	uint64_t rng;
	uint64_t n;          /* operations issued: the n of p<id>.<n> */
	_Atomic int running; /* the f in flight, or -1 */
	uint8_t *content;    /* JEPSEN_CREATE_SIZE_MAX bytes for creates */
	const struct jr_config *cfg;
	pthread_t thread;
};

static atomic_bool jr_stop;
static atomic_size_t jr_counts[JEPSEN_F_COUNT][JEPSEN_TYPE_COUNT];
static pthread_mutex_t jr_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t jr_cond;
static unsigned jr_done; /* processes that left their loop; under jr_lock */

static void jr_usage(FILE *out)
{
	fprintf(out, "usage: vrfs-jepsen run --mounts DIR[,DIR...] --out HISTDIR [--procs N] [--duration SECONDS]\n"
	             "                       [--grace SECONDS] [--keys K] [--seed S] [--rate OPS_PER_SEC_PER_PROC]\n"
	             "       vrfs-jepsen check --history HISTDIR --mounts DIR[,DIR...]\n"
	             "run: N processes (default 4) append, write, read and create under DIR/jepsen for SECONDS\n"
	             "     (default 20; then at most --grace, default 10, for blocked ones), one history.<proc>\n"
	             "     per process in HISTDIR; K keys (default 4); --rate 0 (default) is as fast as possible.\n"
	             "check: every anomaly on a line, then `jepsen: valid (...)` (exit 0) or\n"
	             "     `jepsen: INVALID (K anomalies)` (exit 1); exit 2 on a usage or I/O error.\n");
}

static uint64_t jr_now(void)
{
	struct timespec ts;

	int rc = clock_gettime(CLOCK_MONOTONIC, &ts);

	ASSERT(rc == 0);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void jr_sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ULL), .tv_nsec = (long)(ns % 1000000000ULL) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint64_t jr_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL); /* splitmix64 */

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* ---- Options ------------------------------------------------------------------------ */

/* The value of option name at argv[*i] ("--name VALUE" or "--name=VALUE"), or NULL when argv[*i] is another option. */
static const char *jr_opt(int argc, char **argv, int *i, const char *name, bool *missing)
{
	size_t len = strlen(name);
	const char *arg = argv[*i];

	if (strncmp(arg, name, len) != 0)
		return NULL;
	if (arg[len] == '=')
		return arg + len + 1;
	if (arg[len] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	return argv[++*i];
}

static bool jr_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool jr_parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0) || v > 1e6)
		return false;
	*out = v;
	return true;
}

static int jr_parse_mounts(const char *list, struct jr_config *cfg)
{
	const char *p = list;

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char **bigger;

		if (len == 0)
			return -EINVAL;
		bigger = realloc(cfg->mounts, (cfg->mount_count + 1) * sizeof(*bigger));
		if (!bigger)
			return -ENOMEM;
		cfg->mounts = bigger;
		cfg->mounts[cfg->mount_count] = strndup(p, len);
		if (!cfg->mounts[cfg->mount_count])
			return -ENOMEM;
		cfg->mount_count++;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

static void jr_config_free(struct jr_config *cfg)
{
	for (size_t i = 0; i < cfg->mount_count; i++)
		free(cfg->mounts[i]);
	free(cfg->mounts);
	cfg->mounts = NULL;
	cfg->mount_count = 0;
}

/* Parses argv[2..] into cfg; returns 0, or -EINVAL after printing why. */
static int jr_parse_args(int argc, char **argv, bool run, struct jr_config *cfg)
{
	*cfg = (struct jr_config){ .procs = 4, .keys = 4, .duration_s = 20, .grace_s = 10, .rate = 0 };
	for (int i = 2; i < argc; i++) {
		bool missing = false, ok = true;
		const char *opt = argv[i], *v;
		uint64_t u;

		if ((v = jr_opt(argc, argv, &i, "--mounts", &missing))) {
			ok = cfg->mount_count == 0 && jr_parse_mounts(v, cfg) == 0;
		} else if (run && (v = jr_opt(argc, argv, &i, "--out", &missing))) {
			cfg->out = v;
		} else if (!run && (v = jr_opt(argc, argv, &i, "--history", &missing))) {
			cfg->history = v;
		} else if (run && (v = jr_opt(argc, argv, &i, "--procs", &missing))) {
			ok = jr_parse_u64(v, 1, JR_PROCS_MAX, &u);
			cfg->procs = (unsigned)u;
		} else if (run && (v = jr_opt(argc, argv, &i, "--keys", &missing))) {
			ok = jr_parse_u64(v, 1, JR_KEYS_MAX, &u);
			cfg->keys = (unsigned)u;
		} else if (run && (v = jr_opt(argc, argv, &i, "--seed", &missing))) {
			ok = jr_parse_u64(v, 0, UINT64_MAX, &cfg->seed);
			cfg->seed_set = true;
		} else if (run && (v = jr_opt(argc, argv, &i, "--duration", &missing))) {
			ok = jr_parse_seconds(v, &cfg->duration_s);
		} else if (run && (v = jr_opt(argc, argv, &i, "--grace", &missing))) {
			ok = jr_parse_seconds(v, &cfg->grace_s);
		} else if (run && (v = jr_opt(argc, argv, &i, "--rate", &missing))) {
			ok = jr_parse_seconds(v, &cfg->rate);
		} else {
			fprintf(stderr, "vrfs-jepsen: %s: %s\n", opt, missing ? "needs a value" : "unknown option");
			return -EINVAL;
		}
		if (!ok) {
			fprintf(stderr, "vrfs-jepsen: %s: bad value \"%s\"\n", opt, v);
			return -EINVAL;
		}
	}
	if (cfg->mount_count == 0 || (run && !cfg->out) || (!run && !cfg->history)) {
		fprintf(stderr, "vrfs-jepsen: %s needs --mounts and %s\n", argv[1], run ? "--out" : "--history");
		return -EINVAL;
	}
	return 0;
}

/* ---- One process -------------------------------------------------------------------- */

static void jr_log(struct jr_proc *p, uint64_t t, enum jepsen_type type, enum jepsen_f f, const char *key,
                   const char *value)
{
	struct jepsen_event ev = { .time_ns = t, .proc = p->id, .type = type, .f = f };
	char line[JEPSEN_LINE_MAX];
	int len;

	ASSERT(strlen(key) <= JEPSEN_TOKEN_MAX);
	ASSERT(strlen(value) <= JEPSEN_TOKEN_MAX);
	strcpy(ev.key, key);
	strcpy(ev.value, value);
	len = jepsen_event_format(&ev, line, sizeof(line));
	ASSERT(len > 0);
	/* One write to an O_APPEND file: the line is whole in the history whenever the run stops. */
	if (write(p->history_fd, line, (size_t)len) != len) {
		fprintf(stderr, "vrfs-jepsen: writing history.%u failed: %s\n", p->id, strerror(errno));
		_exit(2);
	}
}

static void jr_invoke(struct jr_proc *p, enum jepsen_f f, const char *key, const char *value)
{
	atomic_store(&p->running, (int)f);
	jr_log(p, jr_now(), JEPSEN_INVOKE, f, key, value);
}

/* Records the completion; returns its type, the op's outcome. */
static enum jepsen_type jr_complete(struct jr_proc *p, enum jepsen_f f, const char *key, enum jepsen_type type,
                                    const char *value)
{
	ASSERT(type != JEPSEN_INVOKE);
	ASSERT(atomic_load(&p->running) == (int)f);
	jr_log(p, jr_now(), type, f, key, value);
	atomic_fetch_add(&jr_counts[f][type], 1);
	atomic_store(&p->running, -1);
	return type;
}

static const char *jr_errno_name(int e, char buf[24])
{
	static const struct {
		int e;
		const char *name;
	} names[] = {
		{ EIO, "EIO" },           { ETIMEDOUT, "ETIMEDOUT" },
		{ ENOTCONN, "ENOTCONN" }, { ENOENT, "ENOENT" },
		{ EEXIST, "EEXIST" },     { EACCES, "EACCES" },
		{ EPERM, "EPERM" },       { ENOSPC, "ENOSPC" },
		{ EINTR, "EINTR" },       { EAGAIN, "EAGAIN" },
		{ EROFS, "EROFS" },       { ENOTDIR, "ENOTDIR" },
		{ EISDIR, "EISDIR" },     { ECONNABORTED, "ECONNABORTED" },
		{ ESTALE, "ESTALE" },     { EBADF, "EBADF" },
		{ EINVAL, "EINVAL" },     { ENAMETOOLONG, "ENAMETOOLONG" },
		{ EMFILE, "EMFILE" },     { ENFILE, "ENFILE" },
		{ EDQUOT, "EDQUOT" },     { EFBIG, "EFBIG" },
		{ ENOMEM, "ENOMEM" },     { ELOOP, "ELOOP" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == e)
			return names[i].name;
	snprintf(buf, 24, "errno%d", e);
	return buf;
}

/* True when errno e from a state-changing step means it was refused before anything changed. */
static bool jr_errno_refused(int e)
{
	switch (e) {
	case ENOENT:
	case EEXIST:
	case ENOTDIR:
	case EISDIR:
	case EACCES:
	case EPERM:
	case ENAMETOOLONG:
	case ELOOP:
	case EROFS:
	case EMFILE:
	case ENFILE:
		return true;
	default:
		return false;
	}
}

static enum jepsen_type jr_complete_errno(struct jr_proc *p, enum jepsen_f f, const char *key, enum jepsen_type type,
                                          int e)
{
	char buf[24];

	return jr_complete(p, f, key, type, jr_errno_name(e, buf));
}

static void jr_path(const struct jr_proc *p, char path[JR_PATH_MAX], const char *prefix, const char *name)
{
	int n = snprintf(path, JR_PATH_MAX, "%s/%s/%s%s", p->mount, JEPSEN_DIR, prefix, name);

	ASSERT(n > 0 && n < JR_PATH_MAX); /* checked at startup for the longest name */
}

static enum jepsen_type jr_op_append(struct jr_proc *p, const char *key, const char *rec)
{
	char path[JR_PATH_MAX], line[JEPSEN_VALUE_MAX + 2], why[32];
	size_t len = (size_t)snprintf(line, sizeof(line), "%s\n", rec);
	ssize_t wrote;
	int fd, write_errno, rc;

	ASSERT(len == strlen(rec) + 1);
	jr_path(p, path, "a-", key);
	jr_invoke(p, JEPSEN_APPEND, key, rec);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) /* the record cannot be in the file without the write */
		return jr_complete_errno(p, JEPSEN_APPEND, key, JEPSEN_FAIL, errno);
	wrote = write(fd, line, len);
	write_errno = errno;
	rc = close(fd);
	if (wrote < 0)
		return jr_complete_errno(p, JEPSEN_APPEND, key,
		                         jr_errno_refused(write_errno) ? JEPSEN_FAIL : JEPSEN_INFO, write_errno);
	if ((size_t)wrote != len) {
		snprintf(why, sizeof(why), "short:%zd", wrote);
		return jr_complete(p, JEPSEN_APPEND, key, JEPSEN_INFO, why);
	}
	if (rc < 0)
		return jr_complete_errno(p, JEPSEN_APPEND, key, JEPSEN_INFO, errno);
	return jr_complete(p, JEPSEN_APPEND, key, JEPSEN_OK, rec);
}

static enum jepsen_type jr_op_write(struct jr_proc *p, const char *key, const char *val)
{
	char path[JR_PATH_MAX], rec[JEPSEN_REGISTER_SIZE], why[32];
	ssize_t wrote;
	int fd, write_errno, rc;

	jepsen_register_encode(val, rec);
	jr_path(p, path, "r-", key);
	jr_invoke(p, JEPSEN_WRITE, key, val);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) /* an empty file, if open made one, still reads as nil */
		return jr_complete_errno(p, JEPSEN_WRITE, key, JEPSEN_FAIL, errno);
	wrote = pwrite(fd, rec, sizeof(rec), 0);
	write_errno = errno;
	rc = close(fd);
	if (wrote < 0)
		return jr_complete_errno(p, JEPSEN_WRITE, key,
		                         jr_errno_refused(write_errno) ? JEPSEN_FAIL : JEPSEN_INFO, write_errno);
	if ((size_t)wrote != sizeof(rec)) {
		snprintf(why, sizeof(why), "short:%zd", wrote);
		return jr_complete(p, JEPSEN_WRITE, key, JEPSEN_INFO, why);
	}
	if (rc < 0)
		return jr_complete_errno(p, JEPSEN_WRITE, key, JEPSEN_INFO, errno);
	return jr_complete(p, JEPSEN_WRITE, key, JEPSEN_OK, val);
}

static enum jepsen_type jr_op_read(struct jr_proc *p, const char *key)
{
	char path[JR_PATH_MAX], buf[JEPSEN_REGISTER_SIZE + 1], value[JEPSEN_TOKEN_MAX + 1];
	ssize_t got;
	int fd, read_errno, rc;

	jr_path(p, path, "r-", key);
	jr_invoke(p, JEPSEN_READ, key, "-");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return jr_complete(p, JEPSEN_READ, key, JEPSEN_OK, JEPSEN_NIL);
	if (fd < 0) /* a read changes nothing: fail and info both drop it */
		return jr_complete_errno(p, JEPSEN_READ, key, jr_errno_refused(errno) ? JEPSEN_FAIL : JEPSEN_INFO,
		                         errno);
	/* One byte more than a record: a longer file is not one whole record either. */
	got = pread(fd, buf, sizeof(buf), 0);
	read_errno = errno;
	rc = close(fd);
	if (got < 0)
		return jr_complete_errno(p, JEPSEN_READ, key, JEPSEN_INFO, read_errno);
	if (rc < 0)
		return jr_complete_errno(p, JEPSEN_READ, key, JEPSEN_INFO, errno);
	if (!jepsen_register_decode(buf, (size_t)got, value))
		snprintf(value, sizeof(value), "%s%zd", JEPSEN_TORN_PREFIX, got);
	return jr_complete(p, JEPSEN_READ, key, JEPSEN_OK, value);
}

static enum jepsen_type jr_op_create(struct jr_proc *p, const char *name)
{
	char path[JR_PATH_MAX], size_text[24];
	size_t size = jepsen_create_size(name), done = 0;
	int fd;

	jepsen_create_fill(name, p->content, size);
	snprintf(size_text, sizeof(size_text), "%zu", size);
	jr_path(p, path, "c-", name);
	jr_invoke(p, JEPSEN_CREATE, name, size_text);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return jr_complete_errno(p, JEPSEN_CREATE, name, jr_errno_refused(errno) ? JEPSEN_FAIL : JEPSEN_INFO,
		                         errno);
	while (done < size) {
		ssize_t wrote = write(fd, p->content + done, size - done);

		if (wrote <= 0) {
			int e = wrote < 0 ? errno : EIO;

			close(fd);
			return jr_complete_errno(p, JEPSEN_CREATE, name, JEPSEN_INFO, e);
		}
		done += (size_t)wrote;
	}
	if (fsync(fd) < 0) {
		int e = errno;

		close(fd);
		return jr_complete_errno(p, JEPSEN_CREATE, name, JEPSEN_INFO, e);
	}
	if (close(fd) < 0)
		return jr_complete_errno(p, JEPSEN_CREATE, name, JEPSEN_INFO, errno);
	return jr_complete(p, JEPSEN_CREATE, name, JEPSEN_OK, size_text);
}

static enum jepsen_f jr_pick(struct jr_proc *p)
{
	unsigned r = (unsigned)(jr_rand(&p->rng) % JR_WEIGHT_TOTAL);

	for (int f = 0; f < JEPSEN_F_COUNT; f++) {
		if (r < jr_weights[f])
			return (enum jepsen_f)f;
		r -= jr_weights[f];
	}
	ASSERT(!"the weights add up to JR_WEIGHT_TOTAL");
	return JEPSEN_READ;
}

static enum jepsen_type jr_one_op(struct jr_proc *p)
{
	enum jepsen_f f = jr_pick(p);
	char key[16], value[JEPSEN_VALUE_MAX + 1];
	int n;

	snprintf(key, sizeof(key), "%u", (unsigned)(jr_rand(&p->rng) % p->cfg->keys));
	n = snprintf(value, sizeof(value), "p%u.%" PRIu64, p->id, p->n++);
	ASSERT(n > 0 && n < (int)sizeof(value));
	switch (f) {
	case JEPSEN_APPEND:
		return jr_op_append(p, key, value);
	case JEPSEN_WRITE:
		return jr_op_write(p, key, value);
	case JEPSEN_READ:
		return jr_op_read(p, key);
	case JEPSEN_CREATE:
		return jr_op_create(p, value);
	default:
		ASSERT(!"a known f");
		return JEPSEN_INFO;
	}
}

static void *jr_proc_main(void *arg)
{
	struct jr_proc *p = arg;
	uint64_t start = jr_now(), k = 0;

	while (!atomic_load(&jr_stop)) {
		if (p->cfg->rate > 0) {
			uint64_t due = start + (uint64_t)((double)k * 1e9 / p->cfg->rate), now;

			while (!atomic_load(&jr_stop) && (now = jr_now()) < due)
				jr_sleep_ns(due - now < JR_NAP_NS ? due - now : JR_NAP_NS);
			if (atomic_load(&jr_stop))
				break;
		}
		k++;
		jr_one_op(p);
	}
	pthread_mutex_lock(&jr_lock);
	jr_done++;
	pthread_cond_signal(&jr_cond);
	pthread_mutex_unlock(&jr_lock);
	return NULL;
}

/* ---- run ---------------------------------------------------------------------------- */

/* Creates <mount>/jepsen, which must then be empty: leftovers of another run would be anomalies. */
static int jr_prepare_mount(const char *mount)
{
	char path[JR_PATH_MAX];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	/* Room for "/a-" + key, "/c-" + the longest name: jr_path asserts it. */
	if (snprintf(path, sizeof(path), "%s/%s", mount, JEPSEN_DIR) >= (int)sizeof(path) - JEPSEN_VALUE_MAX - 8) {
		fprintf(stderr, "vrfs-jepsen: %s: path too long\n", mount);
		return -ENAMETOOLONG;
	}
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "vrfs-jepsen: mkdir %s: %s\n", path, strerror(errno));
		return -errno;
	}
	d = opendir(path);
	if (!d) {
		fprintf(stderr, "vrfs-jepsen: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			fprintf(stderr, "vrfs-jepsen: %s is not empty (%s): start from an empty directory\n", path,
			        de->d_name);
			rc = -ENOTEMPTY;
			break;
		}
	closedir(d);
	return rc;
}

static int jr_open_history(const char *out, unsigned id)
{
	char path[JR_PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s/history.%u", out, id) >= (int)sizeof(path)) {
		fprintf(stderr, "vrfs-jepsen: %s: path too long\n", out);
		return -ENAMETOOLONG;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		fprintf(stderr, "vrfs-jepsen: %s: %s%s\n", path, strerror(errno),
		        errno == EEXIST ? " (use an empty --out directory)" : "");
	return fd < 0 ? -errno : fd;
}

static void jr_print_summary(const struct jr_config *cfg, const struct jr_proc *procs, unsigned blocked)
{
	size_t counts[JEPSEN_F_COUNT][JEPSEN_TYPE_COUNT];
	char text[512];

	for (int f = 0; f < JEPSEN_F_COUNT; f++)
		for (int t = 0; t < JEPSEN_TYPE_COUNT; t++)
			counts[f][t] = atomic_load(&jr_counts[f][t]);
	for (unsigned i = 0; i < cfg->procs && blocked; i++) {
		int f = atomic_load(&procs[i].running);

		if (f >= 0)
			counts[f][JEPSEN_INFO]++; /* the checker takes an op in flight as info */
	}
	jepsen_counts_format((const size_t(*)[JEPSEN_TYPE_COUNT])counts, text, sizeof(text));
	printf("vrfs-jepsen run: seed %" PRIu64 ", %u procs, %g s: %s", cfg->seed, cfg->procs, cfg->duration_s, text);
	if (blocked)
		printf("; %u procs still blocked (their ops count as info)", blocked);
	printf("\n");
	fflush(stdout);
}

static int jr_run(const struct jr_config *cfg)
{
	struct jr_proc *procs = calloc(cfg->procs, sizeof(*procs));
	pthread_condattr_t ca;
	struct timespec deadline;
	uint64_t end_ns;
	unsigned started = 0, blocked;
	int rc = 0;

	if (!procs)
		return 2;
	for (size_t m = 0; m < cfg->mount_count && rc == 0; m++)
		rc = jr_prepare_mount(cfg->mounts[m]);
	if (rc == 0 && mkdir(cfg->out, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "vrfs-jepsen: mkdir %s: %s\n", cfg->out, strerror(errno));
		rc = -errno;
	}
	for (unsigned i = 0; i < cfg->procs && rc == 0; i++) {
		struct jr_proc *p = &procs[i];

		p->id = i;
		p->cfg = cfg;
		p->mount = cfg->mounts[i % cfg->mount_count];
		p->rng = cfg->seed ^ ((uint64_t)(i + 1) * 0xd1b54a32d192ed03ULL);
		atomic_store(&p->running, -1);
		p->history_fd = jr_open_history(cfg->out, i);
		p->content = malloc(JEPSEN_CREATE_SIZE_MAX);
		if (p->history_fd < 0 || !p->content)
			rc = -EIO;
	}
	if (rc < 0)
		return 2; /* the process exits: its descriptors and memory go with it */

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&jr_cond, &ca);
	pthread_condattr_destroy(&ca);
	end_ns = jr_now() + (uint64_t)(cfg->duration_s * 1e9);
	for (; started < cfg->procs; started++)
		if (pthread_create(&procs[started].thread, NULL, jr_proc_main, &procs[started]) != 0) {
			fprintf(stderr, "vrfs-jepsen: cannot start process %u\n", started);
			atomic_store(&jr_stop, true);
			break;
		}
	for (uint64_t now; (now = jr_now()) < end_ns && !atomic_load(&jr_stop);)
		jr_sleep_ns(end_ns - now < JR_NAP_NS ? end_ns - now : JR_NAP_NS);
	atomic_store(&jr_stop, true);

	/* Wait at most --grace for the processes still in a syscall. */
	end_ns += (uint64_t)(cfg->grace_s * 1e9);
	deadline = (struct timespec){ .tv_sec = (time_t)(end_ns / 1000000000ULL),
		                      .tv_nsec = (long)(end_ns % 1000000000ULL) };
	pthread_mutex_lock(&jr_lock);
	while (jr_done < started)
		if (pthread_cond_timedwait(&jr_cond, &jr_lock, &deadline) == ETIMEDOUT)
			break;
	blocked = started - jr_done;
	pthread_mutex_unlock(&jr_lock);

	jr_print_summary(cfg, procs, blocked);
	if (blocked) /* their histories are on disk line by line; the threads cannot be joined */
		_exit(started == cfg->procs ? 0 : 2);
	for (unsigned i = 0; i < started; i++)
		pthread_join(procs[i].thread, NULL);
	for (unsigned i = 0; i < cfg->procs; i++) {
		close(procs[i].history_fd);
		free(procs[i].content);
	}
	free(procs);
	return started == cfg->procs ? 0 : 2;
}

/* ---- check -------------------------------------------------------------------------- */

static int jr_check(const struct jr_config *cfg)
{
	struct jepsen_history h;
	struct jepsen_report r;
	char err[512], counts[512];
	size_t by_kind[JEPSEN_ANOMALY_KIND_COUNT] = { 0 };

	if (jepsen_history_load(cfg->history, &h, err, sizeof(err)) < 0) {
		fprintf(stderr, "vrfs-jepsen check: %s\n", err);
		return 2;
	}
	if (jepsen_check(&h, (const char *const *)cfg->mounts, cfg->mount_count, &r, err, sizeof(err)) < 0) {
		fprintf(stderr, "vrfs-jepsen check: %s\n", err);
		jepsen_report_free(&r);
		jepsen_history_free(&h);
		return 2;
	}
	for (size_t i = 0; i < r.anomaly_count; i++) {
		printf("%s\n", r.anomalies[i].text);
		by_kind[r.anomalies[i].kind]++;
	}
	jepsen_counts_format((const size_t(*)[JEPSEN_TYPE_COUNT])r.counts, counts, sizeof(counts));
	if (r.anomaly_count == 0) {
		printf("jepsen: valid (%zu ops: %s)\n", r.op_count, counts);
	} else {
		printf("jepsen: %zu ops: %s; anomalies:", r.op_count, counts);
		for (int k = 0; k < JEPSEN_ANOMALY_KIND_COUNT; k++)
			if (by_kind[k])
				printf(" %s %zu", jepsen_anomaly_kind_name((enum jepsen_anomaly_kind)k), by_kind[k]);
		printf("\njepsen: INVALID (%zu anomalies)\n", r.anomaly_count);
	}
	{
		int rc = r.anomaly_count == 0 ? 0 : 1;

		jepsen_report_free(&r);
		jepsen_history_free(&h);
		return rc;
	}
}

int main(int argc, char **argv)
{
	struct jr_config cfg;
	bool run;
	int rc;

	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		jr_usage(stdout);
		return 0;
	}
	if (argc < 2 || (strcmp(argv[1], "run") != 0 && strcmp(argv[1], "check") != 0)) {
		jr_usage(stderr);
		return 2;
	}
	run = strcmp(argv[1], "run") == 0;
	if (jr_parse_args(argc, argv, run, &cfg) < 0) {
		jr_config_free(&cfg);
		jr_usage(stderr);
		return 2;
	}
	if (run && !cfg.seed_set)
		cfg.seed = jr_now() ^ ((uint64_t)getpid() << 32);
	rc = run ? jr_run(&cfg) : jr_check(&cfg);
	jr_config_free(&cfg);
	return rc;
}
