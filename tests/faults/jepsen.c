/*
 * jepsen.c — the history format and the checker of vrfs-jepsen (see jepsen.h).
 *
 * The checker, jepsen_check, in the order it runs:
 *  C1. Every mount holds the same names under jepsen/ with the same bytes (BLAKE2b digests).
 *  C2. jepsen/ holds only regular files a-KEY, r-KEY (for keys some append or write
 *      invoked) and c-NAME (for names some create invoked).
 *  C3. Appends, per file a-KEY: every line is a record invoked as an append to KEY that
 *      did not fail; an ok record is present once, an info record at most once; an ok
 *      append that completed before another append (same key) was invoked precedes it,
 *      reported as a per-process order violation when both are of one process.
 *  C4. Registers, per key: the ok reads and the ok and info writes are linearizable
 *      (initial value nil), and so they remain with a final read, after everything,
 *      of the value in r-KEY. Cheap checks first give precise messages for the common
 *      failures (a read of a value no write invoked, of a failed write's value, of a
 *      value overwritten before the read began); the search then decides the rest.
 *  C5. Creates: an ok create's file holds exactly its content; an info create's file
 *      is absent or holds a prefix of it; a failed create's file is absent.
 *
 * The linearizability search (jepsen_lin_search) is Wing and Gong's, with Lowe's
 * memoization of (set of linearized ops, register value), as Porcupine runs it: the ops'
 * call and return entries in one time-ordered list; linearize the first call that the
 * register allows and whose resulting configuration is new, lifting its two entries
 * out of the list; meeting a return entry means the op it ends cannot come next, so undo
 * the last choice. Two reductions keep it fast, both exact:
 *  L1. An info write whose value nobody read can be dropped: a linearization that
 *      contains it, with no read of its value, is still one without it.
 *  L2. A write whose value a read returned took effect before that read returned, so
 *      its return time becomes the earliest such read's return time. An info write
 *      that stays concurrent with the rest of the history is then rare, and ops are
 *      linearized nearly in call order, so the set of linearized ops is memoized as the
 *      first op not linearized and a bitset window after it.
 * The search gives up after JEPSEN_LIN_STATES_MAX memoized configurations per register
 * and reports JEPSEN_LIN_UNKNOWN: never a silent "valid".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "replication/vr_assert.h"
#include "tests/faults/jepsen.h"

#define JEPSEN_FILE_SIZE_MAX ((size_t)1 << 30) /* a larger history or tree file is an error */
#define JEPSEN_LIN_WORDS_MAX ((size_t)1 << 25) /* memoized bitset words per register (256 MiB) */
#define JEPSEN_DIGEST_SIZE   crypto_generichash_BYTES
#define JEPSEN_NONE          SIZE_MAX
#define JEPSEN_LIN_NIL       0u
#define JEPSEN_LIN_NIL_OP    SIZE_MAX /* the op of the synthetic final read */
#define JEPSEN_LIN_INFINITE  UINT64_MAX
#define JEPSEN_LIN_NODE_NONE UINT32_MAX
#define JEPSEN_LIN_OPS_MAX   ((size_t)1 << 30)

_Static_assert(JEPSEN_LIN_STATES_MAX < UINT32_MAX, "memo entries are numbered by uint32_t");
_Static_assert(JEPSEN_REGISTER_SIZE >= 2, "a register record holds a value and '\\n'");

static const char *const jepsen_type_names[JEPSEN_TYPE_COUNT] = { "invoke", "ok", "fail", "info" };
static const char *const jepsen_f_names[JEPSEN_F_COUNT] = { "append", "write", "read", "create" };
static const char *const jepsen_kind_names[JEPSEN_ANOMALY_KIND_COUNT] = {
	[JEPSEN_MOUNTS_DIFFER] = "mounts-differ",
	[JEPSEN_STRAY_FILE] = "stray-file",
	[JEPSEN_MALFORMED_LINE] = "malformed-line",
	[JEPSEN_PHANTOM_RECORD] = "phantom-record",
	[JEPSEN_FAILED_APPEND_PRESENT] = "failed-append-present",
	[JEPSEN_LOST_APPEND] = "lost-append",
	[JEPSEN_DUPLICATE_APPEND] = "duplicate-append",
	[JEPSEN_PROC_ORDER] = "proc-order",
	[JEPSEN_REALTIME_ORDER] = "realtime-order",
	[JEPSEN_TORN_READ] = "torn-read",
	[JEPSEN_READ_UNWRITTEN] = "read-unwritten",
	[JEPSEN_READ_FAILED_WRITE] = "read-failed-write",
	[JEPSEN_STALE_READ] = "stale-read",
	[JEPSEN_NONLINEARIZABLE] = "nonlinearizable",
	[JEPSEN_FINAL_REGISTER] = "final-register",
	[JEPSEN_LIN_UNKNOWN] = "lin-unknown",
	[JEPSEN_CREATE_MISSING] = "create-missing",
	[JEPSEN_CREATE_CONTENT] = "create-content",
	[JEPSEN_CREATE_FAILED_PRESENT] = "create-failed-present",
	[JEPSEN_PHANTOM_CREATE] = "phantom-create",
};

const char *jepsen_type_name(enum jepsen_type type)
{
	ASSERT((unsigned)type < JEPSEN_TYPE_COUNT);
	return jepsen_type_names[type];
}

const char *jepsen_f_name(enum jepsen_f f)
{
	ASSERT((unsigned)f < JEPSEN_F_COUNT);
	return jepsen_f_names[f];
}

const char *jepsen_anomaly_kind_name(enum jepsen_anomaly_kind kind)
{
	ASSERT((unsigned)kind < JEPSEN_ANOMALY_KIND_COUNT);
	ASSERT(jepsen_kind_names[kind] != NULL);
	return jepsen_kind_names[kind];
}

static void jepsen_errf(char *err, size_t err_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void jepsen_errf(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;

	if (err_size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
}

/* ---- Tokens, events, records ----------------------------------------------------- */

static bool jepsen_token_char(unsigned char ch)
{
	return ch > ' ' && ch < 0x7f;
}

static bool jepsen_value_char(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
	       ch == '_' || ch == '-';
}

bool jepsen_token_valid(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > JEPSEN_TOKEN_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!jepsen_token_char((unsigned char)s[i]))
			return false;
	return true;
}

static bool jepsen_value_valid_n(const char *s, size_t len)
{
	if (len == 0 || len > JEPSEN_VALUE_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!jepsen_value_char((unsigned char)s[i]))
			return false;
	return true;
}

bool jepsen_value_valid(const char *s)
{
	return jepsen_value_valid_n(s, strnlen(s, JEPSEN_VALUE_MAX + 1));
}

int jepsen_event_format(const struct jepsen_event *ev, char *buf, size_t cap)
{
	int n;

	ASSERT((unsigned)ev->type < JEPSEN_TYPE_COUNT);
	ASSERT((unsigned)ev->f < JEPSEN_F_COUNT);
	if (!jepsen_token_valid(ev->key) || !jepsen_token_valid(ev->value))
		return -EINVAL;
	n = snprintf(buf, cap, "%llu %u %s %s %s %s\n", (unsigned long long)ev->time_ns, ev->proc,
	             jepsen_type_names[ev->type], jepsen_f_names[ev->f], ev->key, ev->value);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

static bool jepsen_parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9)
			return false;
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static int jepsen_name_index(const char *const *names, int count, const char *s, size_t len)
{
	for (int i = 0; i < count; i++)
		if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
			return i;
	return -1;
}

int jepsen_event_parse(const char *line, size_t len, struct jepsen_event *ev, const char **why)
{
	const char *field[6];
	size_t field_len[6];
	size_t n = 0, start = 0;
	uint64_t proc;
	int type, f;

	if (len == 0)
		return *why = "empty line", -EBADMSG;
	if (len >= JEPSEN_LINE_MAX)
		return *why = "line too long", -EBADMSG;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != ' ') {
			if (!jepsen_token_char((unsigned char)line[i]))
				return *why = "control or non-ASCII byte", -EBADMSG;
			continue;
		}
		if (i == start)
			return *why = "empty field", -EBADMSG;
		if (n == 6)
			return *why = "more than 6 fields", -EBADMSG;
		field[n] = line + start;
		field_len[n] = i - start;
		n++;
		start = i + 1;
	}
	if (n != 6)
		return *why = "fewer than 6 fields", -EBADMSG;
	if (!jepsen_parse_u64(field[0], field_len[0], &ev->time_ns))
		return *why = "time is not a decimal number", -EBADMSG;
	if (!jepsen_parse_u64(field[1], field_len[1], &proc))
		return *why = "process is not a decimal number", -EBADMSG;
	if (proc > JEPSEN_PROC_MAX)
		return *why = "process number too large", -EBADMSG;
	type = jepsen_name_index(jepsen_type_names, JEPSEN_TYPE_COUNT, field[2], field_len[2]);
	if (type < 0)
		return *why = "unknown type", -EBADMSG;
	f = jepsen_name_index(jepsen_f_names, JEPSEN_F_COUNT, field[3], field_len[3]);
	if (f < 0)
		return *why = "unknown f", -EBADMSG;
	if (field_len[4] > JEPSEN_TOKEN_MAX)
		return *why = "key too long", -EBADMSG;
	if (field_len[5] > JEPSEN_TOKEN_MAX)
		return *why = "value too long", -EBADMSG;
	ev->proc = (uint32_t)proc;
	ev->type = (enum jepsen_type)type;
	ev->f = (enum jepsen_f)f;
	memcpy(ev->key, field[4], field_len[4]);
	ev->key[field_len[4]] = '\0';
	memcpy(ev->value, field[5], field_len[5]);
	ev->value[field_len[5]] = '\0';
	return 0;
}

void jepsen_register_encode(const char *value, char out[JEPSEN_REGISTER_SIZE])
{
	size_t len = strlen(value);

	ASSERT(jepsen_value_valid(value));
	ASSERT(len < JEPSEN_REGISTER_SIZE);
	memset(out, ' ', JEPSEN_REGISTER_SIZE);
	memcpy(out, value, len);
	out[JEPSEN_REGISTER_SIZE - 1] = '\n';
}

bool jepsen_register_decode(const char *buf, size_t len, char value[JEPSEN_TOKEN_MAX + 1])
{
	size_t k = 0;

	if (len == 0) {
		strcpy(value, JEPSEN_NIL);
		return true;
	}
	if (len != JEPSEN_REGISTER_SIZE || buf[JEPSEN_REGISTER_SIZE - 1] != '\n')
		return false;
	while (k < JEPSEN_REGISTER_SIZE - 1 && jepsen_value_char((unsigned char)buf[k]))
		k++;
	if (k == 0)
		return false;
	for (size_t i = k; i < JEPSEN_REGISTER_SIZE - 1; i++)
		if (buf[i] != ' ')
			return false;
	memcpy(value, buf, k);
	value[k] = '\0';
	return true;
}

static uint64_t jepsen_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* FNV-1a, then a finalizer so that short names spread over all 64 bits. */
static uint64_t jepsen_hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return jepsen_mix64(h);
}

size_t jepsen_create_size(const char *name)
{
	return (size_t)(jepsen_hash_str(name) % (JEPSEN_CREATE_SIZE_MAX + 1));
}

void jepsen_create_fill(const char *name, uint8_t *buf, size_t size)
{
	uint64_t state = jepsen_hash_str(name);

	ASSERT(size <= JEPSEN_CREATE_SIZE_MAX);
	for (size_t i = 0; i < size; i += 8) {
		uint64_t r;

		state += 0x9e3779b97f4a7c15ULL; /* splitmix64 */
		r = jepsen_mix64(state);
		for (size_t j = 0; j < 8 && i + j < size; j++)
			buf[i + j] = (uint8_t)(r >> (8 * j));
	}
}

/* ---- A string map (keys borrowed) -------------------------------------------------- */

struct jepsen_map {
	const char **keys; /* borrowed strings; NULL marks a free slot */
	size_t *values;
	size_t cap; /* 0 or a power of two */
	size_t count;
};

static void jepsen_map_free(struct jepsen_map *m)
{
	free(m->keys);
	free(m->values);
	memset(m, 0, sizeof(*m));
}

static bool jepsen_map_get(const struct jepsen_map *m, const char *key, size_t *value)
{
	if (m->cap == 0)
		return false;
	for (size_t i = jepsen_hash_str(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (!m->keys[i])
			return false;
		if (strcmp(m->keys[i], key) == 0) {
			*value = m->values[i];
			return true;
		}
	}
}

static int jepsen_map_grow(struct jepsen_map *m)
{
	struct jepsen_map bigger = { 0 };

	bigger.cap = m->cap ? 2 * m->cap : 64;
	bigger.keys = calloc(bigger.cap, sizeof(*bigger.keys));
	bigger.values = calloc(bigger.cap, sizeof(*bigger.values));
	if (!bigger.keys || !bigger.values) {
		jepsen_map_free(&bigger);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;

		if (!m->keys[i])
			continue;
		for (j = jepsen_hash_str(m->keys[i]) & (bigger.cap - 1); bigger.keys[j]; j = (j + 1) & (bigger.cap - 1))
			;
		bigger.keys[j] = m->keys[i];
		bigger.values[j] = m->values[i];
	}
	bigger.count = m->count;
	jepsen_map_free(m);
	*m = bigger;
	return 0;
}

/* Adds key (borrowed until jepsen_map_free) -> value. Returns 0, -EEXIST or -ENOMEM. */
static int jepsen_map_put(struct jepsen_map *m, const char *key, size_t value)
{
	size_t i;

	if ((m->count + 1) * 2 > m->cap) {
		int rc = jepsen_map_grow(m);

		if (rc < 0)
			return rc;
	}
	for (i = jepsen_hash_str(key) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
		if (strcmp(m->keys[i], key) == 0)
			return -EEXIST;
	m->keys[i] = key;
	m->values[i] = value;
	m->count++;
	return 0;
}

/* ---- Histories --------------------------------------------------------------------- */

struct jepsen_ev_ref {
	const struct jepsen_event *ev;
	size_t seq;
};

static int jepsen_ev_ref_cmp(const void *a, const void *b)
{
	const struct jepsen_ev_ref *x = a, *y = b;

	if (x->ev->proc != y->ev->proc)
		return x->ev->proc < y->ev->proc ? -1 : 1;
	if (x->ev->time_ns != y->ev->time_ns)
		return x->ev->time_ns < y->ev->time_ns ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int jepsen_op_cmp(const void *a, const void *b)
{
	const struct jepsen_op *x = a, *y = b;

	if (x->invoke_ns != y->invoke_ns)
		return x->invoke_ns < y->invoke_ns ? -1 : 1;
	return x->proc < y->proc ? -1 : x->proc > y->proc;
}

void jepsen_history_free(struct jepsen_history *h)
{
	free(h->ops);
	memset(h, 0, sizeof(*h));
}

static int jepsen_history_push(struct jepsen_history *h, const struct jepsen_event *inv)
{
	struct jepsen_op *op;

	if (h->op_count == h->op_cap) {
		size_t cap = h->op_cap ? 2 * h->op_cap : 256;
		struct jepsen_op *ops = realloc(h->ops, cap * sizeof(*ops));

		if (!ops)
			return -ENOMEM;
		h->ops = ops;
		h->op_cap = cap;
	}
	op = &h->ops[h->op_count++];
	memset(op, 0, sizeof(*op));
	op->invoke_ns = inv->time_ns;
	op->complete_ns = JEPSEN_TIME_NONE;
	op->proc = inv->proc;
	op->f = inv->f;
	op->type = JEPSEN_INFO; /* until a completion says otherwise */
	strcpy(op->key, inv->key);
	strcpy(op->value, inv->value);
	return 0;
}

/* H3 and the shape of keys and values: the checker builds file names from them. */
static int jepsen_history_validate(const struct jepsen_history *h, char *err, size_t err_size)
{
	struct jepsen_map seen[JEPSEN_F_COUNT] = { 0 };
	int rc = 0;

	for (size_t i = 0; i < h->op_count && rc == 0; i++) {
		const struct jepsen_op *op = &h->ops[i];
		const char *unique = op->f == JEPSEN_CREATE ? op->key : op->value;

		if (!jepsen_value_valid(op->key)) {
			jepsen_errf(err, err_size, "p%u: %s key \"%s\" is not [A-Za-z0-9._-]{1,%d}", op->proc,
			            jepsen_f_names[op->f], op->key, JEPSEN_VALUE_MAX);
			rc = -EBADMSG;
			break;
		}
		if (op->f == JEPSEN_READ)
			continue;
		if (!jepsen_value_valid(unique)) {
			jepsen_errf(err, err_size, "p%u: %s value \"%s\" is not [A-Za-z0-9._-]{1,%d}", op->proc,
			            jepsen_f_names[op->f], unique, JEPSEN_VALUE_MAX);
			rc = -EBADMSG;
			break;
		}
		rc = jepsen_map_put(&seen[op->f], unique, i);
		if (rc == -EEXIST) {
			jepsen_errf(err, err_size, "%s \"%s\" is invoked twice (H3)", jepsen_f_names[op->f], unique);
			rc = -EBADMSG;
		} else if (rc < 0) {
			jepsen_errf(err, err_size, "out of memory");
		}
	}
	for (int f = 0; f < JEPSEN_F_COUNT; f++)
		jepsen_map_free(&seen[f]);
	return rc;
}

int jepsen_history_build(const struct jepsen_event *events, size_t count, struct jepsen_history *h, char *err,
                         size_t err_size)
{
	struct jepsen_ev_ref *refs = malloc((count ? count : 1) * sizeof(*refs));
	size_t pending = JEPSEN_NONE; /* the op of refs[i]'s process still running */
	int rc = 0;

	memset(h, 0, sizeof(*h));
	if (!refs) {
		jepsen_errf(err, err_size, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++)
		refs[i] = (struct jepsen_ev_ref){ .ev = &events[i], .seq = i };
	qsort(refs, count, sizeof(*refs), jepsen_ev_ref_cmp);
	for (size_t i = 0; i < count; i++) {
		const struct jepsen_event *ev = refs[i].ev;
		struct jepsen_op *op;

		if (i > 0 && refs[i - 1].ev->proc != ev->proc)
			pending = JEPSEN_NONE; /* the previous process's last op never completed: info */
		if (ev->type == JEPSEN_INVOKE) {
			if (pending != JEPSEN_NONE) {
				jepsen_errf(err, err_size, "p%u invokes %s at %llu while its %s is running (H1)",
				            ev->proc, jepsen_f_names[ev->f], (unsigned long long)ev->time_ns,
				            jepsen_f_names[h->ops[pending].f]);
				rc = -EBADMSG;
				break;
			}
			rc = jepsen_history_push(h, ev);
			if (rc < 0) {
				jepsen_errf(err, err_size, "out of memory");
				break;
			}
			pending = h->op_count - 1;
			continue;
		}
		if (pending == JEPSEN_NONE) {
			jepsen_errf(err, err_size, "p%u completes %s at %llu without an invoke (H1)", ev->proc,
			            jepsen_f_names[ev->f], (unsigned long long)ev->time_ns);
			rc = -EBADMSG;
			break;
		}
		op = &h->ops[pending];
		if (op->f != ev->f || strcmp(op->key, ev->key) != 0) {
			jepsen_errf(err, err_size, "p%u completes %s %s at %llu but invoked %s %s (H1)", ev->proc,
			            jepsen_f_names[ev->f], ev->key, (unsigned long long)ev->time_ns,
			            jepsen_f_names[op->f], op->key);
			rc = -EBADMSG;
			break;
		}
		ASSERT(ev->time_ns >= op->invoke_ns); /* sorted by time within a process: H2 holds */
		op->complete_ns = ev->time_ns;
		op->type = ev->type;
		if (op->f == JEPSEN_READ)
			strcpy(op->value, ev->type == JEPSEN_OK ? ev->value : "-");
		pending = JEPSEN_NONE;
	}
	free(refs);
	if (rc == 0) {
		qsort(h->ops, h->op_count, sizeof(*h->ops), jepsen_op_cmp);
		rc = jepsen_history_validate(h, err, err_size);
	}
	if (rc < 0)
		jepsen_history_free(h);
	return rc;
}

/* Reads the whole file at dirfd/name into a malloc'd *buf (owned by the caller). */
static int jepsen_file_read(int dirfd, const char *name, char **buf, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	int fd, rc = 0;

	if (!b)
		return -ENOMEM;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		free(b);
		return rc;
	}
	for (;;) {
		ssize_t got;

		if (n == cap) {
			char *bigger;

			if (cap >= JEPSEN_FILE_SIZE_MAX) {
				rc = -EFBIG;
				break;
			}
			bigger = realloc(b, 2 * cap);
			if (!bigger) {
				rc = -ENOMEM;
				break;
			}
			b = bigger;
			cap *= 2;
		}
		got = read(fd, b + n, cap - n);
		if (got < 0) {
			rc = -errno;
			break;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	if (rc < 0) {
		free(b);
		return rc;
	}
	*buf = b;
	*len = n;
	return 0;
}

struct jepsen_names {
	char **names; /* owned */
	size_t count;
};

static void jepsen_names_free(struct jepsen_names *n)
{
	for (size_t i = 0; i < n->count; i++)
		free(n->names[i]);
	free(n->names);
	memset(n, 0, sizeof(*n));
}

static int jepsen_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names in d other than "." and "..", starting with prefix. */
static int jepsen_dir_names(DIR *d, const char *prefix, struct jepsen_names *out)
{
	size_t cap = 0, plen = strlen(prefix);
	struct dirent *de;

	memset(out, 0, sizeof(*out));
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de)
			break;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (strncmp(de->d_name, prefix, plen) != 0)
			continue;
		if (out->count == cap) {
			size_t bigger_cap = cap ? 2 * cap : 64;
			char **bigger = realloc(out->names, bigger_cap * sizeof(*bigger));

			if (!bigger)
				goto err_free;
			out->names = bigger;
			cap = bigger_cap;
		}
		out->names[out->count] = strdup(de->d_name);
		if (!out->names[out->count])
			goto err_free;
		out->count++;
	}
	if (errno != 0) {
		int rc = -errno;

		jepsen_names_free(out);
		return rc;
	}
	if (out->count)
		qsort(out->names, out->count, sizeof(*out->names), jepsen_str_cmp);
	return 0;

err_free:
	jepsen_names_free(out);
	return -ENOMEM;
}

struct jepsen_events {
	struct jepsen_event *events; /* owned */
	size_t count;
	size_t cap;
};

static int jepsen_history_parse_file(const char *dir, const char *name, const char *buf, size_t len,
                                     struct jepsen_events *evs, char *err, size_t err_size)
{
	size_t start = 0, line_no = 1;

	for (size_t i = 0; i < len; i++) {
		const char *why = NULL;

		if (buf[i] != '\n')
			continue;
		if (evs->count == evs->cap) {
			size_t cap = evs->cap ? 2 * evs->cap : 1024;
			struct jepsen_event *bigger = realloc(evs->events, cap * sizeof(*bigger));

			if (!bigger) {
				jepsen_errf(err, err_size, "out of memory");
				return -ENOMEM;
			}
			evs->events = bigger;
			evs->cap = cap;
		}
		if (jepsen_event_parse(buf + start, i - start, &evs->events[evs->count], &why) < 0) {
			jepsen_errf(err, err_size, "%s/%s:%zu: %s", dir, name, line_no, why);
			return -EBADMSG;
		}
		evs->count++;
		start = i + 1;
		line_no++;
	}
	if (start != len) {
		jepsen_errf(err, err_size, "%s/%s:%zu: truncated last line (no newline)", dir, name, line_no);
		return -EBADMSG;
	}
	return 0;
}

int jepsen_history_load(const char *dir, struct jepsen_history *h, char *err, size_t err_size)
{
	struct jepsen_events evs = { 0 };
	struct jepsen_names names;
	DIR *d = opendir(dir);
	int rc;

	memset(h, 0, sizeof(*h));
	if (!d) {
		rc = -errno;
		jepsen_errf(err, err_size, "%s: %s", dir, strerror(-rc));
		return rc;
	}
	rc = jepsen_dir_names(d, "history.", &names);
	if (rc < 0) {
		jepsen_errf(err, err_size, "%s: %s", dir, strerror(-rc));
		closedir(d);
		return rc;
	}
	if (names.count == 0) {
		jepsen_errf(err, err_size, "%s: no history.* files", dir);
		rc = -ENOENT;
	}
	for (size_t i = 0; i < names.count && rc == 0; i++) {
		char *buf = NULL;
		size_t len = 0;

		rc = jepsen_file_read(dirfd(d), names.names[i], &buf, &len);
		if (rc < 0) {
			jepsen_errf(err, err_size, "%s/%s: %s", dir, names.names[i], strerror(-rc));
			break;
		}
		rc = jepsen_history_parse_file(dir, names.names[i], buf, len, &evs, err, err_size);
		free(buf);
	}
	if (rc == 0)
		rc = jepsen_history_build(evs.events, evs.count, h, err, err_size);
	free(evs.events);
	jepsen_names_free(&names);
	closedir(d);
	return rc;
}

/* ---- Reports ------------------------------------------------------------------------ */

static int jepsen_report_add(struct jepsen_report *r, enum jepsen_anomaly_kind kind, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int jepsen_report_add(struct jepsen_report *r, enum jepsen_anomaly_kind kind, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	ASSERT((unsigned)kind < JEPSEN_ANOMALY_KIND_COUNT);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (r->anomaly_count == r->anomaly_cap) {
		size_t cap = r->anomaly_cap ? 2 * r->anomaly_cap : 16;
		struct jepsen_anomaly *bigger = realloc(r->anomalies, cap * sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		r->anomalies = bigger;
		r->anomaly_cap = cap;
	}
	r->anomalies[r->anomaly_count].text = strdup(line);
	if (!r->anomalies[r->anomaly_count].text)
		return -ENOMEM;
	r->anomalies[r->anomaly_count].kind = kind;
	r->anomaly_count++;
	return 0;
}

size_t jepsen_report_count(const struct jepsen_report *report, enum jepsen_anomaly_kind kind)
{
	size_t n = 0;

	for (size_t i = 0; i < report->anomaly_count; i++)
		n += report->anomalies[i].kind == kind;
	return n;
}

void jepsen_report_free(struct jepsen_report *report)
{
	for (size_t i = 0; i < report->anomaly_count; i++)
		free(report->anomalies[i].text);
	free(report->anomalies);
	memset(report, 0, sizeof(*report));
}

void jepsen_counts_format(const size_t counts[JEPSEN_F_COUNT][JEPSEN_TYPE_COUNT], char *buf, size_t cap)
{
	size_t used = 0;

	ASSERT(cap > 0);
	buf[0] = '\0';
	for (int f = 0; f < JEPSEN_F_COUNT && used < cap; f++) {
		int n = snprintf(buf + used, cap - used, "%s%s %zu ok/%zu fail/%zu info", f ? ", " : "",
		                 jepsen_f_names[f], counts[f][JEPSEN_OK], counts[f][JEPSEN_FAIL],
		                 counts[f][JEPSEN_INFO]);

		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* ---- Final trees ------------------------------------------------------------------- */

struct jepsen_file {
	char *name; /* owned */
	bool regular;
	uint64_t size;
	unsigned char digest[JEPSEN_DIGEST_SIZE];
};

struct jepsen_tree {
	const char *mount; /* borrowed */
	int dirfd;         /* <mount>/jepsen, or -1 when it does not exist */
	struct jepsen_file *files;
	size_t count; /* files sorted by name */
};

static void jepsen_tree_free(struct jepsen_tree *t)
{
	for (size_t i = 0; i < t->count; i++)
		free(t->files[i].name);
	free(t->files);
	if (t->dirfd >= 0)
		close(t->dirfd);
	t->files = NULL;
	t->count = 0;
	t->dirfd = -1;
}

static int jepsen_file_digest(int dirfd, const char *name, unsigned char digest[JEPSEN_DIGEST_SIZE], uint64_t *size)
{
	crypto_generichash_state st;
	unsigned char buf[65536];
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return -errno;
	*size = 0;
	crypto_generichash_init(&st, NULL, 0, JEPSEN_DIGEST_SIZE);
	for (;;) {
		ssize_t got = read(fd, buf, sizeof(buf));

		if (got < 0) {
			rc = -errno;
			break;
		}
		if (got == 0)
			break;
		crypto_generichash_update(&st, buf, (unsigned long long)got);
		*size += (uint64_t)got;
	}
	close(fd);
	crypto_generichash_final(&st, digest, JEPSEN_DIGEST_SIZE);
	return rc;
}

static int jepsen_tree_load(const char *mount, struct jepsen_tree *t, char *err, size_t err_size)
{
	struct jepsen_names names = { 0 };
	struct stat st;
	DIR *d;
	int rc, fd;

	memset(t, 0, sizeof(*t));
	t->mount = mount;
	t->dirfd = -1;
	if (stat(mount, &st) < 0) {
		rc = -errno;
		jepsen_errf(err, err_size, "mount %s: %s", mount, strerror(-rc));
		return rc;
	}
	if (!S_ISDIR(st.st_mode)) {
		jepsen_errf(err, err_size, "mount %s: not a directory", mount);
		return -ENOTDIR;
	}
	{
		char path[4096];

		if ((size_t)snprintf(path, sizeof(path), "%s/%s", mount, JEPSEN_DIR) >= sizeof(path)) {
			jepsen_errf(err, err_size, "mount %s: path too long", mount);
			return -ENAMETOOLONG;
		}
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			return 0; /* an empty tree: the workload never ran here */
		if (fd < 0) {
			rc = -errno;
			jepsen_errf(err, err_size, "%s: %s", path, strerror(-rc));
			return rc;
		}
	}
	t->dirfd = fd;
	fd = dup(t->dirfd); /* closedir closes the descriptor fdopendir takes */
	d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		jepsen_errf(err, err_size, "%s/%s: %s", mount, JEPSEN_DIR, strerror(-rc));
		jepsen_tree_free(t);
		return rc;
	}
	rc = jepsen_dir_names(d, "", &names);
	closedir(d);
	if (rc < 0) {
		jepsen_errf(err, err_size, "%s/%s: %s", mount, JEPSEN_DIR, strerror(-rc));
		jepsen_tree_free(t);
		return rc;
	}
	t->files = calloc(names.count ? names.count : 1, sizeof(*t->files));
	if (!t->files) {
		jepsen_names_free(&names);
		jepsen_tree_free(t);
		jepsen_errf(err, err_size, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < names.count; i++) {
		struct jepsen_file *file = &t->files[t->count++];

		file->name = names.names[i];
		names.names[i] = NULL;
		if (fstatat(t->dirfd, file->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = -errno;
			jepsen_errf(err, err_size, "%s/%s/%s: %s", mount, JEPSEN_DIR, file->name, strerror(-rc));
			break;
		}
		file->regular = S_ISREG(st.st_mode);
		if (!file->regular)
			continue;
		rc = jepsen_file_digest(t->dirfd, file->name, file->digest, &file->size);
		if (rc < 0) {
			jepsen_errf(err, err_size, "%s/%s/%s: %s", mount, JEPSEN_DIR, file->name, strerror(-rc));
			break;
		}
	}
	jepsen_names_free(&names);
	if (rc < 0)
		jepsen_tree_free(t);
	return rc;
}

/* The regular file name in t, or NULL. */
static const struct jepsen_file *jepsen_tree_find(const struct jepsen_tree *t, const char *name)
{
	size_t lo = 0, hi = t->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(t->files[mid].name, name);

		if (c == 0)
			return t->files[mid].regular ? &t->files[mid] : NULL;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- The checker's context ------------------------------------------------------- */

struct jepsen_ctx {
	const struct jepsen_history *h;
	struct jepsen_report *r;
	const struct jepsen_tree *tree;             /* the first mount's: the others equal it or C1 said so */
	uint64_t t0;                                /* the first invoke: times in reports are relative to it */
	uint64_t t_max;                             /* the last time in the history */
	struct jepsen_map by_value[JEPSEN_F_COUNT]; /* append record, write value, create name -> op */
	struct jepsen_map keys[JEPSEN_F_COUNT];     /* key -> first op of that f on it */
	uint32_t *write_id;                         /* per op: a write's value id among its key's writes (C4) */
	char *err;
	size_t err_size;
};

struct jepsen_tstr {
	char s[40];
};

/* A time for a report: seconds since the history's first invoke. */
static struct jepsen_tstr jepsen_t(const struct jepsen_ctx *c, uint64_t t)
{
	struct jepsen_tstr out;

	if (t == JEPSEN_TIME_NONE)
		snprintf(out.s, sizeof(out.s), "never");
	else if (t < c->t0)
		snprintf(out.s, sizeof(out.s), "-%.9fs", (double)(c->t0 - t) / 1e9);
	else
		snprintf(out.s, sizeof(out.s), "%.9fs", (double)(t - c->t0) / 1e9);
	return out;
}

static const char *jepsen_type_word(enum jepsen_type type)
{
	return jepsen_type_names[type];
}

/* Reads <mount0>/jepsen/name; *buf is NULL and *len 0 when it is absent or not regular. */
static int jepsen_ctx_read(struct jepsen_ctx *c, const char *name, char **buf, size_t *len)
{
	int rc;

	*buf = NULL;
	*len = 0;
	if (!jepsen_tree_find(c->tree, name))
		return 0;
	rc = jepsen_file_read(c->tree->dirfd, name, buf, len);
	if (rc < 0)
		jepsen_errf(c->err, c->err_size, "%s/%s/%s: %s", c->tree->mount, JEPSEN_DIR, name, strerror(-rc));
	return rc;
}

static int jepsen_ctx_init(struct jepsen_ctx *c)
{
	const struct jepsen_history *h = c->h;

	c->t0 = h->op_count ? h->ops[0].invoke_ns : 0;
	c->t_max = 0;
	for (size_t i = 0; i < h->op_count; i++) {
		const struct jepsen_op *op = &h->ops[i];
		const char *unique = op->f == JEPSEN_CREATE ? op->key : op->value;
		int rc;

		ASSERT(op->type != JEPSEN_INVOKE);
		c->r->counts[op->f][op->type]++;
		c->r->op_count++;
		if (op->invoke_ns > c->t_max)
			c->t_max = op->invoke_ns;
		if (op->complete_ns != JEPSEN_TIME_NONE && op->complete_ns > c->t_max)
			c->t_max = op->complete_ns;
		if (op->f != JEPSEN_READ) {
			rc = jepsen_map_put(&c->by_value[op->f], unique, i);
			ASSERT(rc != -EEXIST); /* H3 */
			if (rc < 0)
				return rc;
		}
		rc = jepsen_map_put(&c->keys[op->f], op->key, i);
		if (rc < 0 && rc != -EEXIST)
			return rc;
	}
	ASSERT(c->t_max < UINT64_MAX - 2); /* room for the final read */
	return 0;
}

/* ---- C1: mounts agree --------------------------------------------------------------- */

static int jepsen_check_mounts(struct jepsen_ctx *c, const struct jepsen_tree *a, const struct jepsen_tree *b)
{
	size_t i = 0, j = 0;
	int rc = 0;

	while (rc == 0 && (i < a->count || j < b->count)) {
		int cmp = i == a->count ? 1 : j == b->count ? -1 : strcmp(a->files[i].name, b->files[j].name);
		const struct jepsen_file *x = i < a->count ? &a->files[i] : NULL;
		const struct jepsen_file *y = j < b->count ? &b->files[j] : NULL;

		if (cmp < 0) {
			rc = jepsen_report_add(c->r, JEPSEN_MOUNTS_DIFFER, "mounts differ: %s is on %s but not on %s",
			                       x->name, a->mount, b->mount);
			i++;
			continue;
		}
		if (cmp > 0) {
			rc = jepsen_report_add(c->r, JEPSEN_MOUNTS_DIFFER, "mounts differ: %s is on %s but not on %s",
			                       y->name, b->mount, a->mount);
			j++;
			continue;
		}
		if (x->regular != y->regular)
			rc = jepsen_report_add(c->r, JEPSEN_MOUNTS_DIFFER,
			                       "mounts differ: %s is a regular file on %s but not on %s", x->name,
			                       x->regular ? a->mount : b->mount, x->regular ? b->mount : a->mount);
		else if (x->regular && x->size != y->size)
			rc = jepsen_report_add(
			        c->r, JEPSEN_MOUNTS_DIFFER, "mounts differ: %s has %llu bytes on %s and %llu on %s",
			        x->name, (unsigned long long)x->size, a->mount, (unsigned long long)y->size, b->mount);
		else if (x->regular && memcmp(x->digest, y->digest, JEPSEN_DIGEST_SIZE) != 0)
			rc = jepsen_report_add(c->r, JEPSEN_MOUNTS_DIFFER,
			                       "mounts differ: %s has other bytes on %s than on %s (both %llu bytes)",
			                       x->name, a->mount, b->mount, (unsigned long long)x->size);
		i++;
		j++;
	}
	return rc;
}

/* ---- C2: names -------------------------------------------------------------------- */

static int jepsen_check_names(struct jepsen_ctx *c)
{
	int rc = 0;

	for (size_t i = 0; i < c->tree->count && rc == 0; i++) {
		const struct jepsen_file *file = &c->tree->files[i];
		const char *rest = file->name + 2;
		size_t op;

		if (!file->regular) {
			rc = jepsen_report_add(c->r, JEPSEN_STRAY_FILE, "stray entry %s: not a regular file",
			                       file->name);
		} else if (strncmp(file->name, "a-", 2) == 0) {
			if (!jepsen_map_get(&c->keys[JEPSEN_APPEND], rest, &op))
				rc = jepsen_report_add(c->r, JEPSEN_STRAY_FILE,
				                       "stray file %s: no append to key %s was invoked", file->name,
				                       rest);
		} else if (strncmp(file->name, "r-", 2) == 0) {
			if (!jepsen_map_get(&c->keys[JEPSEN_WRITE], rest, &op))
				rc = jepsen_report_add(c->r, JEPSEN_STRAY_FILE,
				                       "stray file %s: no write to key %s was invoked", file->name,
				                       rest);
		} else if (strncmp(file->name, "c-", 2) == 0) {
			if (!jepsen_map_get(&c->by_value[JEPSEN_CREATE], rest, &op))
				rc = jepsen_report_add(c->r, JEPSEN_PHANTOM_CREATE,
				                       "phantom create %s: no create of %s was invoked (%llu bytes)",
				                       file->name, rest, (unsigned long long)file->size);
		} else {
			rc = jepsen_report_add(c->r, JEPSEN_STRAY_FILE, "stray file %s: not a-*, r-* or c-*",
			                       file->name);
		}
	}
	return rc;
}

/* ---- Grouping ops by key ------------------------------------------------------------ */

static const struct jepsen_history *jepsen_sort_history; /* qsort has no context argument in C11 */

static int jepsen_by_key_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(jepsen_sort_history->ops[x].key, jepsen_sort_history->ops[y].key);

	if (c)
		return c;
	return x < y ? -1 : x > y;
}

/* The indexes of the ops whose f is f1 or f2, sorted by key, then by invoke. */
static size_t *jepsen_ops_by_key(const struct jepsen_history *h, enum jepsen_f f1, enum jepsen_f f2, size_t *count)
{
	size_t *idx = malloc((h->op_count ? h->op_count : 1) * sizeof(*idx));
	size_t n = 0;

	if (!idx)
		return NULL;
	for (size_t i = 0; i < h->op_count; i++)
		if (h->ops[i].f == f1 || h->ops[i].f == f2)
			idx[n++] = i;
	jepsen_sort_history = h;
	qsort(idx, n, sizeof(*idx), jepsen_by_key_cmp);
	jepsen_sort_history = NULL;
	*count = n;
	return idx;
}

/* The end of the run of ops with the key of idx[start]. */
static size_t jepsen_group_end(const struct jepsen_history *h, const size_t *idx, size_t count, size_t start)
{
	size_t end = start + 1;

	while (end < count && strcmp(h->ops[idx[end]].key, h->ops[idx[start]].key) == 0)
		end++;
	return end;
}

/* ---- C3: appends ------------------------------------------------------------------- */

struct jepsen_append_state {
	size_t *count;     /* per op: times its record is in its file */
	size_t *pos;       /* per op: the line of its first occurrence */
	bool *blamed;      /* per op: already reported as out of real-time order */
	size_t *proc_best; /* per process: its present ok append farthest in the file so far */
	size_t proc_count;
};

static bool jepsen_present(const struct jepsen_append_state *s, const struct jepsen_op *op, size_t i)
{
	return s->count[i] > 0 && op->type != JEPSEN_FAIL;
}

static int jepsen_append_line(struct jepsen_ctx *c, struct jepsen_append_state *s, const char *key, const char *line,
                              size_t len, size_t line_no)
{
	char rec[JEPSEN_VALUE_MAX + 1];
	const struct jepsen_op *op;
	size_t i;

	if (!jepsen_value_valid_n(line, len))
		return jepsen_report_add(c->r, JEPSEN_MALFORMED_LINE, "malformed line %zu in a-%s (%zu bytes)", line_no,
		                         key, len);
	memcpy(rec, line, len);
	rec[len] = '\0';
	if (!jepsen_map_get(&c->by_value[JEPSEN_APPEND], rec, &i))
		return jepsen_report_add(c->r, JEPSEN_PHANTOM_RECORD,
		                         "phantom record %s in a-%s (line %zu): no append of it was invoked", rec, key,
		                         line_no);
	op = &c->h->ops[i];
	if (strcmp(op->key, key) != 0)
		return jepsen_report_add(c->r, JEPSEN_PHANTOM_RECORD,
		                         "phantom record %s in a-%s (line %zu): it was appended to a-%s", rec, key,
		                         line_no, op->key);
	if (s->count[i]++ == 0)
		s->pos[i] = line_no;
	if (op->type == JEPSEN_FAIL && s->count[i] == 1)
		return jepsen_report_add(c->r, JEPSEN_FAILED_APPEND_PRESENT,
		                         "failed append %s present in a-%s (line %zu): p%u's append failed at %s", rec,
		                         key, line_no, op->proc, jepsen_t(c, op->complete_ns).s);
	return 0;
}

/* The ok appends present, by completion time. */
static const struct jepsen_history *jepsen_sort_complete_history;

static int jepsen_by_complete_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	uint64_t tx = jepsen_sort_complete_history->ops[x].complete_ns;
	uint64_t ty = jepsen_sort_complete_history->ops[y].complete_ns;

	if (tx != ty)
		return tx < ty ? -1 : 1;
	return x < y ? -1 : x > y;
}

/*
 * Real-time order across processes: sweep the appends by invoke time, having added
 * every ok append that completed before, keeping the one farthest in the file and the
 * farthest of any other process (a same-process witness is the per-process check's).
 */
static int jepsen_append_realtime(struct jepsen_ctx *c, struct jepsen_append_state *s, const size_t *group, size_t n)
{
	const struct jepsen_history *h = c->h;
	size_t *done = malloc((n ? n : 1) * sizeof(*done));
	size_t done_count = 0, j = 0;
	size_t best1 = JEPSEN_NONE, best2 = JEPSEN_NONE; /* best2's process differs from best1's */
	int rc = 0;

	if (!done)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++)
		if (h->ops[group[k]].type == JEPSEN_OK && jepsen_present(s, &h->ops[group[k]], group[k]))
			done[done_count++] = group[k];
	jepsen_sort_complete_history = h;
	qsort(done, done_count, sizeof(*done), jepsen_by_complete_cmp);
	jepsen_sort_complete_history = NULL;
	for (size_t k = 0; k < n && rc == 0; k++) {
		size_t b = group[k], w;
		const struct jepsen_op *op = &h->ops[b];

		for (; j < done_count && h->ops[done[j]].complete_ns < op->invoke_ns; j++) {
			size_t a = done[j];
			uint32_t proc = h->ops[a].proc;

			if (best1 != JEPSEN_NONE && h->ops[best1].proc == proc) {
				if (s->pos[a] > s->pos[best1])
					best1 = a;
			} else if (best1 == JEPSEN_NONE || s->pos[a] > s->pos[best1]) {
				best2 = best1;
				best1 = a;
			} else if (best2 == JEPSEN_NONE || s->pos[a] > s->pos[best2]) {
				best2 = a;
			}
		}
		if (!jepsen_present(s, op, b))
			continue;
		w = best1 != JEPSEN_NONE && h->ops[best1].proc != op->proc ? best1 : best2;
		if (w == JEPSEN_NONE || s->pos[w] <= s->pos[b] || s->blamed[w])
			continue;
		s->blamed[w] = true;
		rc = jepsen_report_add(
		        c->r, JEPSEN_REALTIME_ORDER,
		        "real-time order: in a-%s, %s (line %zu) precedes %s (line %zu), but p%u's append "
		        "of %s completed ok at %s before p%u invoked %s at %s",
		        op->key, op->value, s->pos[b], h->ops[w].value, s->pos[w], h->ops[w].proc, h->ops[w].value,
		        jepsen_t(c, h->ops[w].complete_ns).s, op->proc, op->value, jepsen_t(c, op->invoke_ns).s);
	}
	free(done);
	return rc;
}

static int jepsen_append_proc_order(struct jepsen_ctx *c, struct jepsen_append_state *s, const size_t *group, size_t n)
{
	const struct jepsen_history *h = c->h;
	int rc = 0;

	for (size_t p = 0; p < s->proc_count; p++)
		s->proc_best[p] = JEPSEN_NONE;
	for (size_t k = 0; k < n && rc == 0; k++) {
		size_t b = group[k], w;
		const struct jepsen_op *op = &h->ops[b];

		ASSERT(op->proc < s->proc_count);
		if (!jepsen_present(s, op, b))
			continue;
		w = s->proc_best[op->proc];
		if (w != JEPSEN_NONE && s->pos[w] > s->pos[b])
			rc = jepsen_report_add(
			        c->r, JEPSEN_PROC_ORDER,
			        "per-process order: in a-%s, %s (line %zu) precedes %s (line %zu), but p%u's "
			        "append of %s completed ok at %s before it invoked %s at %s",
			        op->key, op->value, s->pos[b], h->ops[w].value, s->pos[w], op->proc, h->ops[w].value,
			        jepsen_t(c, h->ops[w].complete_ns).s, op->value, jepsen_t(c, op->invoke_ns).s);
		/* Ops of one process are sequential: this one completed before its next began. */
		if (op->type == JEPSEN_OK && (w == JEPSEN_NONE || s->pos[b] > s->pos[w]))
			s->proc_best[op->proc] = b;
	}
	return rc;
}

static int jepsen_check_append_key(struct jepsen_ctx *c, struct jepsen_append_state *s, const size_t *group, size_t n)
{
	const struct jepsen_history *h = c->h;
	const char *key = h->ops[group[0]].key;
	char name[JEPSEN_TOKEN_MAX + 3];
	size_t len, start = 0, line_no = 1;
	char *buf;
	int rc;

	snprintf(name, sizeof(name), "a-%s", key);
	rc = jepsen_ctx_read(c, name, &buf, &len);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < len && rc == 0; i++) {
		if (buf[i] != '\n')
			continue;
		rc = jepsen_append_line(c, s, key, buf + start, i - start, line_no);
		start = i + 1;
		line_no++;
	}
	if (rc == 0 && start < len)
		rc = jepsen_report_add(c->r, JEPSEN_MALFORMED_LINE,
		                       "malformed line %zu in a-%s: a partial last line of %zu bytes", line_no, key,
		                       len - start);
	free(buf);
	for (size_t k = 0; k < n && rc == 0; k++) {
		size_t i = group[k];
		const struct jepsen_op *op = &h->ops[i];

		if (op->type == JEPSEN_OK && s->count[i] == 0)
			rc = jepsen_report_add(c->r, JEPSEN_LOST_APPEND,
			                       "lost append %s in a-%s: p%u's append completed ok at %s", op->value,
			                       key, op->proc, jepsen_t(c, op->complete_ns).s);
		else if (op->type != JEPSEN_FAIL && s->count[i] > 1)
			rc = jepsen_report_add(c->r, JEPSEN_DUPLICATE_APPEND,
			                       "duplicate append %s in a-%s: present %zu times (p%u's append: %s)",
			                       op->value, key, s->count[i], op->proc, jepsen_type_word(op->type));
	}
	if (rc == 0)
		rc = jepsen_append_proc_order(c, s, group, n);
	if (rc == 0)
		rc = jepsen_append_realtime(c, s, group, n);
	return rc;
}

static int jepsen_check_appends(struct jepsen_ctx *c)
{
	const struct jepsen_history *h = c->h;
	struct jepsen_append_state s = { 0 };
	size_t n, *idx = jepsen_ops_by_key(h, JEPSEN_APPEND, JEPSEN_APPEND, &n);
	size_t ops = h->op_count ? h->op_count : 1;
	int rc = 0;

	s.proc_count = 1;
	for (size_t i = 0; i < h->op_count; i++)
		if (h->ops[i].proc + (size_t)1 > s.proc_count)
			s.proc_count = h->ops[i].proc + (size_t)1;
	s.count = calloc(ops, sizeof(*s.count));
	s.pos = calloc(ops, sizeof(*s.pos));
	s.blamed = calloc(ops, sizeof(*s.blamed));
	s.proc_best = calloc(s.proc_count, sizeof(*s.proc_best));
	if (!idx || !s.count || !s.pos || !s.blamed || !s.proc_best)
		rc = -ENOMEM;
	for (size_t start = 0; start < n && rc == 0;) {
		size_t end = jepsen_group_end(h, idx, n, start);

		rc = jepsen_check_append_key(c, &s, idx + start, end - start);
		start = end;
	}
	free(idx);
	free(s.count);
	free(s.pos);
	free(s.blamed);
	free(s.proc_best);
	return rc;
}

/* ---- C4: registers: the linearizability search ---------------------------------- */

struct jepsen_lin_op {
	uint64_t call_ns;
	uint64_t ret_ns; /* JEPSEN_LIN_INFINITE: may take effect at any time after call_ns */
	uint32_t value;  /* JEPSEN_LIN_NIL, or 1 + the write's index among the key's writes */
	bool is_write;
	size_t op; /* the history op, or JEPSEN_LIN_NIL_OP for the final read */
};

struct jepsen_lin_result {
	size_t depth_max; /* the most ops any partial linearization held */
	size_t blocker;   /* an op no extension of a deepest partial linearization could take (index into ops) */
	uint32_t state;   /* the register's value at that point */
};

struct jepsen_memo_entry {
	uint64_t hash;
	size_t word_offset;
	uint32_t state;
	uint32_t lo_word; /* every op below lo_word * 64 is linearized */
	uint32_t word_count;
};

struct jepsen_memo {
	struct jepsen_memo_entry *entries;
	size_t count, cap;
	uint64_t *words;
	size_t word_count, word_cap;
	uint32_t *slots; /* entry index + 1; 0 is free */
	size_t slot_cap; /* a power of two */
};

static void jepsen_memo_free(struct jepsen_memo *m)
{
	free(m->entries);
	free(m->words);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

static uint64_t jepsen_memo_hash(uint32_t state, uint32_t lo_word, const uint64_t *w, uint32_t nw)
{
	uint64_t h = jepsen_mix64(((uint64_t)state << 32) ^ lo_word ^ 0x5851f42d4c957f2dULL);

	for (uint32_t i = 0; i < nw; i++)
		h = jepsen_mix64(h ^ w[i]);
	return h;
}

static int jepsen_memo_rehash(struct jepsen_memo *m)
{
	size_t cap = m->slot_cap ? 2 * m->slot_cap : 1024;
	uint32_t *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t e = 0; e < m->count; e++) {
		size_t i = m->entries[e].hash & (cap - 1);

		while (slots[i])
			i = (i + 1) & (cap - 1);
		slots[i] = (uint32_t)(e + 1);
	}
	free(m->slots);
	m->slots = slots;
	m->slot_cap = cap;
	return 0;
}

/* Adds the configuration; returns 1 when it is new, 0 when seen, -ERANGE past the bound, -ENOMEM. */
static int jepsen_memo_insert(struct jepsen_memo *m, uint32_t state, uint32_t lo_word, const uint64_t *w, uint32_t nw)
{
	uint64_t hash = jepsen_memo_hash(state, lo_word, w, nw);
	struct jepsen_memo_entry *e;
	size_t i;

	if ((m->count + 1) * 2 > m->slot_cap) {
		int rc = jepsen_memo_rehash(m);

		if (rc < 0)
			return rc;
	}
	for (i = hash & (m->slot_cap - 1); m->slots[i]; i = (i + 1) & (m->slot_cap - 1)) {
		const struct jepsen_memo_entry *x = &m->entries[m->slots[i] - 1];

		if (x->hash == hash && x->state == state && x->lo_word == lo_word && x->word_count == nw &&
		    memcmp(m->words + x->word_offset, w, nw * sizeof(*w)) == 0)
			return 0;
	}
	if (m->count >= JEPSEN_LIN_STATES_MAX || m->word_count + nw > JEPSEN_LIN_WORDS_MAX)
		return -ERANGE;
	if (m->count == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 1024;
		struct jepsen_memo_entry *bigger = realloc(m->entries, cap * sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		m->entries = bigger;
		m->cap = cap;
	}
	if (m->word_count + nw > m->word_cap) {
		size_t cap = m->word_cap ? 2 * m->word_cap : 4096;
		uint64_t *bigger;

		while (cap < m->word_count + nw)
			cap *= 2;
		bigger = realloc(m->words, cap * sizeof(*bigger));
		if (!bigger)
			return -ENOMEM;
		m->words = bigger;
		m->word_cap = cap;
	}
	memcpy(m->words + m->word_count, w, nw * sizeof(*w));
	e = &m->entries[m->count];
	*e = (struct jepsen_memo_entry){
		.hash = hash, .word_offset = m->word_count, .state = state, .lo_word = lo_word, .word_count = nw
	};
	m->word_count += nw;
	m->count++;
	m->slots[i] = (uint32_t)m->count;
	return 1;
}

static int jepsen_lin_op_cmp(const void *a, const void *b)
{
	const struct jepsen_lin_op *x = a, *y = b;

	if (x->call_ns != y->call_ns)
		return x->call_ns < y->call_ns ? -1 : 1;
	if (x->ret_ns != y->ret_ns)
		return x->ret_ns < y->ret_ns ? -1 : 1;
	return x->op < y->op ? -1 : x->op > y->op;
}

struct jepsen_lin_entry {
	uint64_t time;
	uint32_t op;
	bool is_return;
};

/* At equal times calls come first: two ops that touch at an instant are concurrent. */
static int jepsen_lin_entry_cmp(const void *a, const void *b)
{
	const struct jepsen_lin_entry *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	if (x->is_return != y->is_return)
		return x->is_return ? 1 : -1;
	return x->op < y->op ? -1 : x->op > y->op;
}

struct jepsen_lin_frame {
	uint32_t op;
	uint32_t state; /* the register's value before op */
	uint32_t lo, hi;
};

struct jepsen_lin {
	size_t n;
	uint32_t *next, *prev; /* the entry list; node 0 is the head, nodes 1..2n the entries */
	uint32_t *node_op;
	bool *node_return;
	uint32_t *call_node, *ret_node;
	uint64_t *bits; /* the linearized ops */
	struct jepsen_lin_frame *stack;
	struct jepsen_memo memo;
};

static void jepsen_lin_free(struct jepsen_lin *l)
{
	free(l->next);
	free(l->prev);
	free(l->node_op);
	free(l->node_return);
	free(l->call_node);
	free(l->ret_node);
	free(l->bits);
	free(l->stack);
	jepsen_memo_free(&l->memo);
}

static void jepsen_lin_unlink(struct jepsen_lin *l, uint32_t node)
{
	l->next[l->prev[node]] = l->next[node];
	if (l->next[node] != JEPSEN_LIN_NODE_NONE)
		l->prev[l->next[node]] = l->prev[node];
}

static void jepsen_lin_relink(struct jepsen_lin *l, uint32_t node)
{
	l->next[l->prev[node]] = node;
	if (l->next[node] != JEPSEN_LIN_NODE_NONE)
		l->prev[l->next[node]] = node;
}

/* Lifts op's call and return entries out of the list; unlift undoes the latest lift. */
static void jepsen_lin_lift(struct jepsen_lin *l, uint32_t op)
{
	jepsen_lin_unlink(l, l->call_node[op]);
	jepsen_lin_unlink(l, l->ret_node[op]);
}

static void jepsen_lin_unlift(struct jepsen_lin *l, uint32_t op)
{
	jepsen_lin_relink(l, l->ret_node[op]);
	jepsen_lin_relink(l, l->call_node[op]);
}

static int jepsen_lin_setup(struct jepsen_lin *l, const struct jepsen_lin_op *ops, size_t n)
{
	struct jepsen_lin_entry *entries = malloc(2 * n * sizeof(*entries));
	size_t words = (n + 63) / 64 + 1;

	memset(l, 0, sizeof(*l));
	l->n = n;
	l->next = malloc((2 * n + 1) * sizeof(*l->next));
	l->prev = malloc((2 * n + 1) * sizeof(*l->prev));
	l->node_op = malloc((2 * n + 1) * sizeof(*l->node_op));
	l->node_return = malloc((2 * n + 1) * sizeof(*l->node_return));
	l->call_node = malloc(n * sizeof(*l->call_node));
	l->ret_node = malloc(n * sizeof(*l->ret_node));
	l->bits = calloc(words, sizeof(*l->bits));
	l->stack = malloc(n * sizeof(*l->stack));
	if (!entries || !l->next || !l->prev || !l->node_op || !l->node_return || !l->call_node || !l->ret_node ||
	    !l->bits || !l->stack) {
		free(entries);
		jepsen_lin_free(l);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		entries[2 * i] = (struct jepsen_lin_entry){ .time = ops[i].call_ns, .op = (uint32_t)i };
		entries[2 * i + 1] =
		        (struct jepsen_lin_entry){ .time = ops[i].ret_ns, .op = (uint32_t)i, .is_return = true };
	}
	qsort(entries, 2 * n, sizeof(*entries), jepsen_lin_entry_cmp);
	for (size_t k = 0; k <= 2 * n; k++) {
		l->next[k] = k < 2 * n ? (uint32_t)(k + 1) : JEPSEN_LIN_NODE_NONE;
		l->prev[k] = k > 0 ? (uint32_t)(k - 1) : JEPSEN_LIN_NODE_NONE;
	}
	for (size_t k = 0; k < 2 * n; k++) {
		uint32_t node = (uint32_t)(k + 1);

		l->node_op[node] = entries[k].op;
		l->node_return[node] = entries[k].is_return;
		if (entries[k].is_return)
			l->ret_node[entries[k].op] = node;
		else
			l->call_node[entries[k].op] = node;
	}
	free(entries);
	for (size_t i = 0; i < n; i++)
		ASSERT(l->call_node[i] < l->ret_node[i]); /* a call precedes its return */
	return 0;
}

static bool jepsen_lin_bit(const struct jepsen_lin *l, uint32_t i)
{
	return (l->bits[i / 64] >> (i % 64)) & 1;
}

/*
 * Memoizes (the linearized set, state), the set as: all ops below lo, and the bitset
 * words from lo's word to the last nonzero one below hi. Returns as jepsen_memo_insert.
 */
static int jepsen_lin_remember(struct jepsen_lin *l, uint32_t state, uint32_t lo, uint32_t hi)
{
	uint32_t lo_word = lo / 64, hi_word = (hi + 63) / 64;

	while (hi_word > lo_word && l->bits[hi_word - 1] == 0)
		hi_word--;
	return jepsen_memo_insert(&l->memo, state, lo_word, l->bits + lo_word, hi_word - lo_word);
}

/*
 * Wing & Gong with Lowe's memoization over ops[0..n), which it sorts by call time.
 * Returns 1 when linearizable, 0 when not (with res), -ERANGE when the memo bound was
 * reached, -ENOMEM.
 */
static int jepsen_lin_search(struct jepsen_lin_op *ops, size_t n, struct jepsen_lin_result *res)
{
	struct jepsen_lin l;
	uint32_t entry, state = JEPSEN_LIN_NIL, lo = 0, hi = 0;
	size_t depth = 0;
	int rc;

	ASSERT(n < JEPSEN_LIN_OPS_MAX);
	res->depth_max = 0;
	res->blocker = JEPSEN_NONE;
	res->state = JEPSEN_LIN_NIL;
	if (n == 0)
		return 1;
	qsort(ops, n, sizeof(*ops), jepsen_lin_op_cmp); /* so linearized sets are mostly a prefix */
	rc = jepsen_lin_setup(&l, ops, n);
	if (rc < 0)
		return rc;
	rc = 1;
	entry = l.next[0];
	while (l.next[0] != JEPSEN_LIN_NODE_NONE) {
		ASSERT(entry != JEPSEN_LIN_NODE_NONE); /* every call in the list has its return after it */
		if (!l.node_return[entry]) {
			uint32_t x = l.node_op[entry];
			const struct jepsen_lin_op *o = &ops[x];

			if (o->is_write || o->value == state) {
				uint32_t new_state = o->is_write ? o->value : state;
				uint32_t old_lo = lo, old_hi = hi;
				int fresh;

				l.bits[x / 64] |= (uint64_t)1 << (x % 64);
				while (lo < n && jepsen_lin_bit(&l, lo))
					lo++;
				if (x + 1 > hi)
					hi = x + 1;
				fresh = jepsen_lin_remember(&l, new_state, lo, hi);
				if (fresh < 0) {
					rc = fresh;
					break;
				}
				if (fresh) {
					l.stack[depth++] = (struct jepsen_lin_frame){
						.op = x, .state = state, .lo = old_lo, .hi = old_hi
					};
					state = new_state;
					jepsen_lin_lift(&l, x);
					if (depth > res->depth_max) {
						res->depth_max = depth;
						res->blocker = JEPSEN_NONE;
					}
					entry = l.next[0];
					continue;
				}
				l.bits[x / 64] &= ~((uint64_t)1 << (x % 64));
				lo = old_lo;
				hi = old_hi;
			}
			entry = l.next[entry];
			continue;
		}
		/* A return: its op must be linearized before anything after it, and was not. */
		if (depth == res->depth_max && res->blocker == JEPSEN_NONE) {
			res->blocker = l.node_op[entry];
			res->state = state;
		}
		if (depth == 0) {
			rc = 0;
			break;
		}
		{
			struct jepsen_lin_frame fr = l.stack[--depth];

			l.bits[fr.op / 64] &= ~((uint64_t)1 << (fr.op % 64));
			lo = fr.lo;
			hi = fr.hi;
			state = fr.state;
			jepsen_lin_unlift(&l, fr.op);
			entry = l.next[l.call_node[fr.op]];
		}
	}
	jepsen_lin_free(&l);
	return rc;
}

/* ---- C4: registers: the per-key checks ------------------------------------------- */

struct jepsen_reg {
	const char *key;
	const size_t *group; /* the key's writes and reads, by invoke */
	size_t n;
	size_t *write_ops; /* the key's ok and info writes; value i + 1 is write_ops[i]'s */
	size_t write_count;
	uint32_t *read_value; /* per group member: the value id an ok read returned, or UINT32_MAX */
	bool has_final;
	uint32_t final_value;
	char final_text[JEPSEN_TOKEN_MAX + 1];
};

#define JEPSEN_REG_NO_VALUE UINT32_MAX

static const char *jepsen_reg_value_name(const struct jepsen_ctx *c, const struct jepsen_reg *g, uint32_t v)
{
	if (v == JEPSEN_LIN_NIL)
		return JEPSEN_NIL;
	ASSERT(v <= g->write_count);
	return c->h->ops[g->write_ops[v - 1]].value;
}

/*
 * Maps a read value to its id, or reports why it cannot be one: no write of this key
 * invoked it, or its write failed. Returns 1 with *id set, 0 when reported, -ENOMEM.
 */
static int jepsen_reg_value(struct jepsen_ctx *c, const struct jepsen_reg *g, const char *value,
                            const struct jepsen_op *reader, uint32_t *id)
{
	enum jepsen_anomaly_kind unwritten = reader ? JEPSEN_READ_UNWRITTEN : JEPSEN_FINAL_REGISTER;
	enum jepsen_anomaly_kind failed = reader ? JEPSEN_READ_FAILED_WRITE : JEPSEN_FINAL_REGISTER;
	char who[128];
	const struct jepsen_op *w = NULL;
	size_t i;
	int rc;

	if (strcmp(value, JEPSEN_NIL) == 0) {
		*id = JEPSEN_LIN_NIL;
		return 1;
	}
	if (reader)
		snprintf(who, sizeof(who), "read of r-%s by p%u at %s returned", g->key, reader->proc,
		         jepsen_t(c, reader->complete_ns).s);
	else
		snprintf(who, sizeof(who), "final value of r-%s is", g->key);
	if (jepsen_map_get(&c->by_value[JEPSEN_WRITE], value, &i))
		w = &c->h->ops[i];
	if (!w)
		rc = jepsen_report_add(c->r, unwritten, "%s %s, which no write invoked", who, value);
	else if (strcmp(w->key, g->key) != 0)
		rc = jepsen_report_add(c->r, unwritten, "%s %s, which was written to r-%s", who, value, w->key);
	else if (w->type == JEPSEN_FAIL)
		rc = jepsen_report_add(c->r, failed, "%s %s, the value of p%u's write that failed at %s", who, value,
		                       w->proc, jepsen_t(c, w->complete_ns).s);
	else {
		*id = c->write_id[i];
		ASSERT(*id >= 1);
		ASSERT(*id <= g->write_count);
		ASSERT(g->write_ops[*id - 1] == i);
		return 1;
	}
	return rc < 0 ? rc : 0;
}

/*
 * The ops to linearize: the ok reads with a value, the final read when with_final, and
 * the writes, except info writes nobody read (L1); a write's return moves to the
 * earliest return of a read of its value (L2).
 */
static struct jepsen_lin_op *jepsen_reg_lin_ops(struct jepsen_ctx *c, const struct jepsen_reg *g, bool with_final,
                                                size_t *count)
{
	const struct jepsen_history *h = c->h;
	struct jepsen_lin_op *ops = malloc((g->n + 1) * sizeof(*ops));
	uint64_t *seen = malloc((g->write_count + 1) * sizeof(*seen)); /* earliest return of a read of each value */
	size_t n = 0;

	if (!ops || !seen) {
		free(ops);
		free(seen);
		return NULL;
	}
	for (size_t v = 0; v <= g->write_count; v++)
		seen[v] = JEPSEN_LIN_INFINITE;
	for (size_t k = 0; k < g->n; k++) {
		const struct jepsen_op *op = &h->ops[g->group[k]];
		uint32_t v = g->read_value[k];

		if (v == JEPSEN_REG_NO_VALUE)
			continue;
		ops[n++] = (struct jepsen_lin_op){
			.call_ns = op->invoke_ns, .ret_ns = op->complete_ns, .value = v, .op = g->group[k]
		};
		if (op->complete_ns < seen[v])
			seen[v] = op->complete_ns;
	}
	if (with_final && g->has_final) {
		ops[n++] = (struct jepsen_lin_op){ .call_ns = c->t_max + 1,
			                           .ret_ns = c->t_max + 2,
			                           .value = g->final_value,
			                           .op = JEPSEN_LIN_NIL_OP };
		if (c->t_max + 2 < seen[g->final_value])
			seen[g->final_value] = c->t_max + 2;
	}
	for (size_t w = 0; w < g->write_count; w++) {
		const struct jepsen_op *op = &h->ops[g->write_ops[w]];
		uint64_t ret = op->type == JEPSEN_OK ? op->complete_ns : JEPSEN_LIN_INFINITE;

		ASSERT(op->type != JEPSEN_FAIL);
		if (ret == JEPSEN_LIN_INFINITE && seen[w + 1] == JEPSEN_LIN_INFINITE)
			continue; /* L1 */
		if (seen[w + 1] < ret)
			ret = seen[w + 1] < op->invoke_ns ? op->invoke_ns : seen[w + 1]; /* L2 */
		ops[n++] = (struct jepsen_lin_op){ .call_ns = op->invoke_ns,
			                           .ret_ns = ret,
			                           .value = (uint32_t)(w + 1),
			                           .is_write = true,
			                           .op = g->write_ops[w] };
	}
	free(seen);
	*count = n;
	return ops;
}

struct jepsen_write_span {
	uint64_t call_ns, ret_ns;
	uint32_t value;
};

static int jepsen_write_span_cmp(const void *a, const void *b)
{
	const struct jepsen_write_span *x = a, *y = b;

	if (x->call_ns != y->call_ns)
		return x->call_ns < y->call_ns ? -1 : 1;
	return x->value < y->value ? -1 : x->value > y->value;
}

/*
 * The cheap checks, for the reads among ops (only the final read when final_only):
 * a read that returned before its value's write was invoked; a read of nil after a
 * write completed; a read of v although another write began after v's write completed
 * and itself completed before the read began. Returns the number reported, or -ENOMEM.
 */
static int jepsen_reg_simple(struct jepsen_ctx *c, const struct jepsen_reg *g, const struct jepsen_lin_op *ops,
                             size_t n, bool final_only)
{
	const struct jepsen_history *h = c->h;
	struct jepsen_write_span *w = malloc((n ? n : 1) * sizeof(*w));
	size_t *sufmin = malloc((n + 1) * sizeof(*sufmin)); /* the write with the least ret_ns in w[i..] */
	const struct jepsen_write_span **by_value = calloc(g->write_count + 1, sizeof(*by_value));
	size_t wn = 0;
	int found = 0, rc = 0;

	if (!w || !sufmin || !by_value) {
		found = -ENOMEM;
		goto out_free;
	}
	for (size_t i = 0; i < n; i++)
		if (ops[i].is_write)
			w[wn++] = (struct jepsen_write_span){ ops[i].call_ns, ops[i].ret_ns, ops[i].value };
	qsort(w, wn, sizeof(*w), jepsen_write_span_cmp);
	for (size_t i = 0; i < wn; i++)
		by_value[w[i].value] = &w[i];
	sufmin[wn] = JEPSEN_NONE;
	for (size_t i = wn; i-- > 0;)
		sufmin[i] = sufmin[i + 1] == JEPSEN_NONE || w[i].ret_ns < w[sufmin[i + 1]].ret_ns ? i : sufmin[i + 1];
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct jepsen_lin_op *r = &ops[i];
		bool final = r->op == JEPSEN_LIN_NIL_OP;
		const struct jepsen_write_span *mine = NULL, *other = NULL;
		const char *value = jepsen_reg_value_name(c, g, r->value);
		char what[256], after[160] = "";

		if (r->is_write || final != final_only)
			continue;
		if (final)
			snprintf(what, sizeof(what), "final value of r-%s is %s", g->key, value);
		else
			snprintf(what, sizeof(what), "read of r-%s by p%u returned %s in [%s, %s]", g->key,
			         h->ops[r->op].proc, value, jepsen_t(c, r->call_ns).s, jepsen_t(c, r->ret_ns).s);
		if (r->value == JEPSEN_LIN_NIL) {
			if (wn > 0 && w[sufmin[0]].ret_ns < r->call_ns)
				other = &w[sufmin[0]];
		} else {
			size_t lo = 0, hi = wn;

			mine = by_value[r->value];
			ASSERT(mine != NULL);
			if (r->ret_ns < mine->call_ns) {
				rc = jepsen_report_add(
				        c->r, final ? JEPSEN_FINAL_REGISTER : JEPSEN_NONLINEARIZABLE,
				        "not linearizable: %s, but the write of %s was invoked only at %s", what, value,
				        jepsen_t(c, mine->call_ns).s);
				found++;
				continue;
			}
			while (lo < hi) { /* the first write invoked after mine completed */
				size_t mid = lo + (hi - lo) / 2;

				if (w[mid].call_ns > mine->ret_ns)
					hi = mid;
				else
					lo = mid + 1;
			}
			if (mine->ret_ns != JEPSEN_LIN_INFINITE && lo < wn && w[sufmin[lo]].ret_ns < r->call_ns)
				other = &w[sufmin[lo]];
		}
		if (!other)
			continue;
		if (mine)
			snprintf(after, sizeof(after), ", after the write of %s had taken effect (by %s)%s", value,
			         jepsen_t(c, mine->ret_ns).s, final ? "" : " and");
		else if (!final)
			snprintf(after, sizeof(after), ",");
		rc = jepsen_report_add(c->r, final ? JEPSEN_FINAL_REGISTER : JEPSEN_STALE_READ,
		                       "%s%s, but %s was written in [%s, %s]%s%s", final ? "" : "stale read: ", what,
		                       jepsen_reg_value_name(c, g, other->value), jepsen_t(c, other->call_ns).s,
		                       jepsen_t(c, other->ret_ns).s, after, final ? "" : " before the read began");
		found++;
	}
	if (rc < 0)
		found = rc;
out_free:
	free(w);
	free(sufmin);
	free(by_value);
	return found;
}

/* Reports why the search failed: its deepest partial linearization and the op it could not extend with. */
static int jepsen_reg_report_search(struct jepsen_ctx *c, const struct jepsen_reg *g, const struct jepsen_lin_op *ops,
                                    size_t n, const struct jepsen_lin_result *res, int found, bool with_final)
{
	const struct jepsen_lin_op *b = res->blocker != JEPSEN_NONE ? &ops[res->blocker] : NULL;
	const char *held = jepsen_reg_value_name(c, g, res->state);

	if (found == -ERANGE)
		return jepsen_report_add(c->r, JEPSEN_LIN_UNKNOWN,
		                         "undecided: the linearizability search of r-%s (%zu ops%s) stopped after %u "
		                         "states",
		                         g->key, n, with_final ? " and the final value" : "", JEPSEN_LIN_STATES_MAX);
	ASSERT(found == 0);
	if (with_final)
		return jepsen_report_add(c->r, JEPSEN_FINAL_REGISTER,
		                         "final value of r-%s is %s, but no linearization of its %zu ops ends with it",
		                         g->key, g->final_text, n - 1);
	if (b && !b->is_write)
		return jepsen_report_add(
		        c->r, JEPSEN_NONLINEARIZABLE,
		        "not linearizable: read of r-%s by p%u returned %s in [%s, %s], but after at most %zu of "
		        "its %zu ops r-%s held %s",
		        g->key, c->h->ops[b->op].proc, jepsen_reg_value_name(c, g, b->value), jepsen_t(c, b->call_ns).s,
		        jepsen_t(c, b->ret_ns).s, res->depth_max, n, g->key, held);
	return jepsen_report_add(c->r, JEPSEN_NONLINEARIZABLE,
	                         "not linearizable: r-%s: after at most %zu of its %zu ops it held %s", g->key,
	                         res->depth_max, n, held);
}

static int jepsen_reg_pass(struct jepsen_ctx *c, const struct jepsen_reg *g, bool with_final)
{
	struct jepsen_lin_result res;
	size_t n;
	struct jepsen_lin_op *ops = jepsen_reg_lin_ops(c, g, with_final, &n);
	int found;

	if (!ops)
		return -ENOMEM;
	found = jepsen_reg_simple(c, g, ops, n, with_final);
	if (found == 0) {
		found = jepsen_lin_search(ops, n, &res);
		if (found == 0 || found == -ERANGE)
			found = jepsen_reg_report_search(c, g, ops, n, &res, found, with_final) < 0 ? -ENOMEM : 1;
		else if (found == 1)
			found = 0;
	}
	free(ops);
	return found;
}

static int jepsen_check_register_key(struct jepsen_ctx *c, const size_t *group, size_t n)
{
	const struct jepsen_history *h = c->h;
	struct jepsen_reg g = { .key = h->ops[group[0]].key, .group = group, .n = n };
	char name[JEPSEN_TOKEN_MAX + 3];
	char *buf = NULL;
	size_t len;
	int rc = 0;

	g.write_ops = malloc((n ? n : 1) * sizeof(*g.write_ops));
	g.read_value = malloc((n ? n : 1) * sizeof(*g.read_value));
	if (!g.write_ops || !g.read_value) {
		rc = -ENOMEM;
		goto out_free;
	}
	for (size_t k = 0; k < n; k++) {
		const struct jepsen_op *op = &h->ops[group[k]];

		g.read_value[k] = JEPSEN_REG_NO_VALUE;
		if (op->f == JEPSEN_WRITE && op->type != JEPSEN_FAIL) {
			g.write_ops[g.write_count++] = group[k];
			c->write_id[group[k]] = (uint32_t)g.write_count;
		}
	}
	ASSERT(g.write_count < JEPSEN_REG_NO_VALUE);
	for (size_t k = 0; k < n && rc >= 0; k++) {
		const struct jepsen_op *op = &h->ops[group[k]];

		if (op->f != JEPSEN_READ || op->type != JEPSEN_OK)
			continue; /* a read that failed or timed out read nothing */
		if (op->value[0] == '!')
			rc = jepsen_report_add(c->r, JEPSEN_TORN_READ,
			                       "torn read of r-%s by p%u at %s: %s (not one whole %d-byte record)",
			                       g.key, op->proc, jepsen_t(c, op->complete_ns).s, op->value,
			                       JEPSEN_REGISTER_SIZE);
		else if ((rc = jepsen_reg_value(c, &g, op->value, op, &g.read_value[k])) == 0)
			g.read_value[k] = JEPSEN_REG_NO_VALUE;
	}
	if (rc < 0)
		goto out_free;

	snprintf(name, sizeof(name), "r-%s", g.key);
	rc = jepsen_ctx_read(c, name, &buf, &len);
	if (rc < 0)
		goto out_free;
	if (!jepsen_register_decode(buf, len, g.final_text)) {
		rc = jepsen_report_add(c->r, JEPSEN_FINAL_REGISTER,
		                       "final r-%s is not one whole %d-byte record (%zu bytes)", g.key,
		                       JEPSEN_REGISTER_SIZE, len);
	} else {
		rc = jepsen_reg_value(c, &g, g.final_text, NULL, &g.final_value);
		g.has_final = rc == 1;
	}
	if (rc < 0)
		goto out_free;

	rc = jepsen_reg_pass(c, &g, false);
	if (rc == 0 && g.has_final)
		rc = jepsen_reg_pass(c, &g, true);
out_free:
	free(buf);
	free(g.write_ops);
	free(g.read_value);
	return rc < 0 ? rc : 0;
}

static int jepsen_check_registers(struct jepsen_ctx *c)
{
	size_t n, *idx = jepsen_ops_by_key(c->h, JEPSEN_WRITE, JEPSEN_READ, &n);
	int rc = 0;

	c->write_id = calloc(c->h->op_count ? c->h->op_count : 1, sizeof(*c->write_id));
	if (!idx || !c->write_id) {
		free(idx);
		free(c->write_id);
		c->write_id = NULL;
		return -ENOMEM;
	}
	for (size_t start = 0; start < n && rc == 0;) {
		size_t end = jepsen_group_end(c->h, idx, n, start);

		rc = jepsen_check_register_key(c, idx + start, end - start);
		start = end;
	}
	free(idx);
	free(c->write_id);
	c->write_id = NULL;
	return rc;
}

/* ---- C5: creates ------------------------------------------------------------------- */

static int jepsen_check_create(struct jepsen_ctx *c, const struct jepsen_op *op, uint8_t *want)
{
	char name[JEPSEN_TOKEN_MAX + 3];
	size_t size = jepsen_create_size(op->key), len, diff = 0;
	char *buf;
	int rc;

	snprintf(name, sizeof(name), "c-%s", op->key);
	if (!jepsen_tree_find(c->tree, name)) {
		if (op->type == JEPSEN_OK)
			return jepsen_report_add(c->r, JEPSEN_CREATE_MISSING,
			                         "lost create %s: p%u's create completed ok at %s", name, op->proc,
			                         jepsen_t(c, op->complete_ns).s);
		return 0;
	}
	if (op->type == JEPSEN_FAIL)
		return jepsen_report_add(c->r, JEPSEN_CREATE_FAILED_PRESENT,
		                         "failed create %s present: p%u's create failed at %s", name, op->proc,
		                         jepsen_t(c, op->complete_ns).s);
	rc = jepsen_ctx_read(c, name, &buf, &len);
	if (rc < 0)
		return rc;
	jepsen_create_fill(op->key, want, size);
	while (diff < len && diff < size && (uint8_t)buf[diff] == want[diff])
		diff++;
	free(buf);
	if (op->type == JEPSEN_OK && len != size)
		return jepsen_report_add(c->r, JEPSEN_CREATE_CONTENT,
		                         "create %s: %zu bytes on disk, but p%u's create (ok at %s) wrote %zu", name,
		                         len, op->proc, jepsen_t(c, op->complete_ns).s, size);
	if (op->type == JEPSEN_INFO && len > size)
		return jepsen_report_add(c->r, JEPSEN_CREATE_CONTENT,
		                         "create %s: %zu bytes on disk, more than the %zu p%u's create (info) writes",
		                         name, len, size, op->proc);
	if (diff < len)
		return jepsen_report_add(c->r, JEPSEN_CREATE_CONTENT,
		                         "create %s: other bytes than p%u's create (%s) wrote, from byte %zu of %zu",
		                         name, op->proc, jepsen_type_word(op->type), diff, len);
	return 0;
}

static int jepsen_check_creates(struct jepsen_ctx *c)
{
	uint8_t *want = malloc(JEPSEN_CREATE_SIZE_MAX);
	int rc = 0;

	if (!want)
		return -ENOMEM;
	for (size_t i = 0; i < c->h->op_count && rc == 0; i++)
		if (c->h->ops[i].f == JEPSEN_CREATE)
			rc = jepsen_check_create(c, &c->h->ops[i], want);
	free(want);
	return rc;
}

/* ---- The checker ----------------------------------------------------------------- */

int jepsen_check(const struct jepsen_history *h, const char *const *mounts, size_t mount_count,
                 struct jepsen_report *report, char *err, size_t err_size)
{
	struct jepsen_ctx c = { .h = h, .r = report, .err = err, .err_size = err_size };
	struct jepsen_tree *trees = calloc(mount_count ? mount_count : 1, sizeof(*trees));
	size_t loaded = 0;
	int rc;

	ASSERT(mount_count >= 1);
	memset(report, 0, sizeof(*report));
	if (!trees) {
		jepsen_errf(err, err_size, "out of memory");
		return -ENOMEM;
	}
	if (sodium_init() < 0) {
		jepsen_errf(err, err_size, "libsodium failed to initialize");
		free(trees);
		return -EIO;
	}
	rc = jepsen_ctx_init(&c);
	for (; loaded < mount_count && rc == 0; loaded++) {
		rc = jepsen_tree_load(mounts[loaded], &trees[loaded], err, err_size);
		if (rc < 0)
			break;
	}
	c.tree = &trees[0];
	for (size_t i = 1; i < mount_count && rc == 0; i++)
		rc = jepsen_check_mounts(&c, &trees[0], &trees[i]);
	if (rc == 0)
		rc = jepsen_check_names(&c);
	if (rc == 0)
		rc = jepsen_check_appends(&c);
	if (rc == 0)
		rc = jepsen_check_registers(&c);
	if (rc == 0)
		rc = jepsen_check_creates(&c);
	if (rc == -ENOMEM)
		jepsen_errf(err, err_size, "out of memory");
	for (size_t i = 0; i < loaded; i++)
		jepsen_tree_free(&trees[i]);
	free(trees);
	for (int f = 0; f < JEPSEN_F_COUNT; f++) {
		jepsen_map_free(&c.by_value[f]);
		jepsen_map_free(&c.keys[f]);
	}
	return rc;
}
