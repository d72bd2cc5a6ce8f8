/*
 * fs_diff.c — fs-diff: a seeded differential test of the store (state/store.c)
 * against the Linux kernel.
 *
 *   fs-diff [--seed N | --seeds A-B] [--ops K] [--dir D] [--check-every M] [--no-vfs-errors] [--no-replay] [-v]
 *
 * One run opens a store on ":memory:" and makes a fresh directory on tmpfs
 * (mktemp -d under D, default /dev/shm) that stands for the store's root. A PRNG
 * (splitmix64) seeded with N generates K filesystem operations, biased so that many
 * succeed and every error path is hit. Each op is applied twice: to the kernel with
 * the real syscall on the tmpfs path (or on an open fd, for an unlinked-but-open
 * file), and to the store with store_apply(). The kernel is the reference:
 *
 *   D1  the errno of every op is the same on both sides (and the byte count of
 *       write and copy_file_range);
 *   D2  after every op, each inode it named or replaced has the same attributes on
 *       both sides (type, mode & 07777, uid, gid, nlink, size, rdev), or is gone from
 *       the store when it is gone from the kernel; the attributes an op returns are
 *       the store's own getattr;
 *   D3  every M ops and at the end the whole tree is equal: names, types, attributes,
 *       hard-link identity, symlink targets, file contents (sparse regions read as
 *       zeros), xattr names and values; the same for unlinked files still open;
 *   D4  the store's data/hole map is self-consistent: SEEK_DATA/SEEK_HOLE results lie
 *       in [offset, size], a hole reads as zeros, both give ENXIO at and after EOF
 *       exactly when the kernel does;
 *   D5  a second store fed the same ops returns the same results and digest
 *       (the applier is a pure function of state and op).
 *
 * Times are not compared with the kernel (its clock is real): only the store's own
 * rules are checked (a new inode's times are ctx.now; utimens sets what it was given).
 * The kernel's data/hole map is not compared position by position with the store's:
 * tmpfs works in pages and counts allocated-but-unwritten pages as holes, the store
 * in STORE_CHUNK_SIZE chunks; both maps are only used to find where data may be, and
 * the contents there are compared byte by byte.
 *
 * Requests the kernel's VFS rejects before a FUSE daemon sees them, from facts that
 * cannot be stale (an inode's type, the flags, a length), are generated too unless
 * --no-vfs-errors; the store should still answer them as Linux does. CREATE_OPEN is
 * open(2) with O_CREAT | O_EXCL, whose handle keeps the kernel's fd; with vfs errors it
 * also gets a type other than a regular file now and then, which open(2) cannot ask
 * for, and the store's contract (EINVAL) stands in for the kernel's answer.
 * Not generated: names "." and "..", empty xattr values (tmpfs removes the xattr,
 * other Linux filesystems store an empty value), sizes beyond WIRE_FILE_SIZE_MAX
 * (a documented difference: EFBIG), writes and opens on FIFOs, sockets and devices.
 *
 * Run as root (uid 0, gid 0): the store does no permission checks (the kernel
 * does, with default_permissions), and root passes all of them on tmpfs too.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "state/store.h"
#include "wire/fs_op.h"

/* A bug in this program, not a difference: print where and stop. */
#define DIFF_ASSERT(cond)                                                                                              \
	do {                                                                                                           \
		if (!(cond)) {                                                                                         \
			fprintf(stderr, "fs-diff: %s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond);          \
			abort();                                                                                       \
		}                                                                                                      \
	} while (0)

#define DIFF_POOL_COUNT     12
#define DIFF_HANDLES_MAX    16
#define DIFF_CLIENTS        2
#define DIFF_T0             1700000000000000000LL /* the store's creation time, ns */
#define DIFF_GONE           "_gone" /* never created: the kernel path of an inode the store no longer has */
#define DIFF_PATH_BUDGET    (PATH_MAX - 2 * (WIRE_NAME_MAX + 2) - 64)
#define DIFF_DEPTH_MAX      512
#define DIFF_CMP_CHUNK      65536
#define DIFF_ERRNO_MAX      140
#define DIFF_DATA_SIZE      (WIRE_DATA_MAX + 4096)
#define DIFF_XATTR_LIST_MAX (1 << 20)
#define DIFF_HOLE_SAMPLES   8
#define DIFF_UNKNOWN_INO    999999937ULL /* never assigned in a run */
#define DIFF_FAR_OFFSET     (5ULL << 30)
#define DIFF_SPARSE_SIZE    (16ULL << 30)
#define DIFF_WRITE_CAP      (64ULL << 20) /* bytes written in one run stay below this many per file region */

_Static_assert(DIFF_DATA_SIZE > WIRE_XATTR_VALUE_MAX + 1, "the op buffer holds the largest xattr value");
_Static_assert(DIFF_DATA_SIZE > WIRE_SYMLINK_MAX + 1, "the op buffer holds the longest symlink target");
_Static_assert(DIFF_CMP_CHUNK <= DIFF_DATA_SIZE, "one compare chunk fits a buffer");

/* The op kinds: the update ops of fs_op.h, then the ones this program adds. */
enum diff_kind {
	DIFF_EVICT = WIRE_FS_TYPE_MAX + 1, /* a registration evicts a client: its handles close */
	DIFF_READ,                         /* store_read and lseek against pread and lseek */
	DIFF_LOOKUP,                       /* store_lookup against lstat */
	DIFF_KIND_COUNT,
};

static const char *const diff_kind_names[DIFF_KIND_COUNT] = {
	[WIRE_FS_CREATE] = "CREATE",
	[WIRE_FS_MKDIR] = "MKDIR",
	[WIRE_FS_SYMLINK] = "SYMLINK",
	[WIRE_FS_LINK] = "LINK",
	[WIRE_FS_UNLINK] = "UNLINK",
	[WIRE_FS_RMDIR] = "RMDIR",
	[WIRE_FS_RENAME] = "RENAME",
	[WIRE_FS_SETATTR] = "SETATTR",
	[WIRE_FS_WRITE] = "WRITE",
	[WIRE_FS_FALLOCATE] = "FALLOCATE",
	[WIRE_FS_COPY_RANGE] = "COPY_RANGE",
	[WIRE_FS_SETXATTR] = "SETXATTR",
	[WIRE_FS_REMOVEXATTR] = "REMOVEXATTR",
	[WIRE_FS_OPEN] = "OPEN",
	[WIRE_FS_RELEASE] = "RELEASE",
	[WIRE_FS_CREATE_OPEN] = "CREATE_OPEN",
	[DIFF_EVICT] = "EVICT",
	[DIFF_READ] = "READ",
	[DIFF_LOOKUP] = "LOOKUP",
};

struct diff_options {
	uint64_t seed_first, seed_last;
	uint64_t ops;
	const char *base; /* the directory in which each run makes its own temp dir */
	uint64_t check_every;
	bool verbose;
	bool vfs_errors; /* also generate requests the VFS rejects before FUSE */
	bool replay;     /* feed a second store the same ops (D5) */
};

/* One inode the run created (or the root), indexed by its store inode number. */
struct diff_node {
	bool used;
	bool dead;           /* gone from the kernel: the store must answer ENOENT */
	uint32_t type;       /* S_IFMT bits */
	uint64_t kino;       /* the kernel's st_ino, to check hard-link identity */
	uint64_t dir_parent; /* directories: the parent's store inode number */
	uint32_t links;      /* model entries naming it (the root counts one) */
	uint32_t handles;    /* open handles */
};

/* One directory entry of the model namespace, which mirrors the kernel's. */
struct diff_ent {
	uint64_t parent;
	uint64_t ino;
	uint32_t name_len;
	char name[WIRE_NAME_MAX + 1];
};

/* One open file: a kernel fd and a store handle. */
struct diff_handle {
	uint64_t handle;
	uint64_t ino;
	uint64_t client;
	int fd;
};

/* How the kernel side reaches an inode. */
enum diff_access {
	DIFF_AT_PATH, /* by its path under the root */
	DIFF_AT_FD,   /* unlinked but open: through the handle's fd (/proc/self/fd/N) */
	DIFF_AT_GONE, /* gone: a path that does not exist */
};

struct diff_kres {
	uint64_t kino;   /* create: the new inode's st_ino */
	int64_t written; /* write, copy_file_range */
	int fd;          /* open */
	uint64_t victim; /* rename/unlink/rmdir: the inode that lost a name (0: none) */
};

struct diff_ctx {
	const struct diff_options *opt;
	uint64_t seed;
	uint64_t rng;
	uint64_t step; /* index of the op being run */
	char root[PATH_MAX];
	bool root_made;
	struct store *s;
	struct store *replay;
	int64_t now;
	struct diff_node *nodes;
	size_t node_cap;
	struct diff_ent *ents;
	size_t ent_count, ent_cap;
	struct diff_handle handles[DIFF_HANDLES_MAX];
	size_t handle_count;
	uint64_t handle_next;
	uint64_t client; /* the session issuing the current op */
	uint64_t focus;  /* the file of the last data op: data ops return to it, so sequences on one file occur */
	/* The op being run: its buffers and its readable forms. */
	char name[WIRE_NAME_MAX + 2];
	char new_name[WIRE_NAME_MAX + 2];
	char xname[WIRE_XATTR_NAME_MAX + 2];
	uint8_t *data;
	char desc[1024];
	char kdesc[2 * PATH_MAX + 64];
	uint8_t *kbuf, *sbuf; /* compare buffers */
	struct {
		uint64_t ino;
		uint32_t name_len;
		char name[WIRE_XATTR_NAME_MAX + 1];
	} xset[8]; /* recent successful setxattrs: removexattr picks them so it succeeds too */
	uint64_t xset_count;
	uint64_t errors_compared;
	uint64_t counts[DIFF_KIND_COUNT][DIFF_ERRNO_MAX];
};

static volatile sig_atomic_t diff_interrupted;

/* ---------------------------------------------------------------- PRNG */

/* splitmix64: one seed fixes every choice of a run. */
static uint64_t diff_rand(struct diff_ctx *c)
{
	uint64_t z = (c->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t diff_below(struct diff_ctx *c, uint64_t n)
{
	DIFF_ASSERT(n > 0);
	return diff_rand(c) % n;
}

static bool diff_percent(struct diff_ctx *c, unsigned p)
{
	return diff_below(c, 100) < p;
}

/* ---------------------------------------------------------------- formatting */

static const char *diff_errname(int e)
{
	const char *n;

	if (e == 0)
		return "0";
	n = strerrorname_np(e);
	return n ? n : "E?";
}

/* Copies a name for printing: non-printable bytes escaped, long names shortened. */
static void diff_fmt_name(char *out, size_t cap, const char *name, size_t len)
{
	size_t o = 0;

	DIFF_ASSERT(cap >= 48);
	if (len > 24) {
		snprintf(out, cap, "\"%c%c%c...\"[%zu bytes]", name[0], name[1], name[2], len);
		return;
	}
	out[o++] = '"';
	for (size_t i = 0; i < len && o + 6 < cap; i++) {
		unsigned char ch = (unsigned char)name[i];
		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			out[o++] = (char)ch;
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
	}
	out[o++] = '"';
	out[o] = 0;
}

/* A kernel path for printing: relative to the root, long components shortened. */
static void diff_fmt_path(const struct diff_ctx *c, char *out, size_t cap, const char *path)
{
	size_t rl = strlen(c->root), o = 0;
	const char *p = path;

	if (strncmp(path, c->root, rl) == 0) {
		p = path + rl;
		o += (size_t)snprintf(out, cap, "<root>");
	}
	while (*p && o + 64 < cap) {
		const char *slash = strchr(p + 1, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len > 26) {
			o += (size_t)snprintf(out + o, cap - o, "%.9s...[%zu]", p, len - 1);
		} else {
			memcpy(out + o, p, len);
			o += len;
		}
		p += len;
	}
	out[o] = 0;
}

static const char *diff_type_name(uint32_t type)
{
	switch (type & S_IFMT) {
	case S_IFREG:
		return "reg";
	case S_IFDIR:
		return "dir";
	case S_IFLNK:
		return "lnk";
	case S_IFIFO:
		return "fifo";
	case S_IFSOCK:
		return "sock";
	case S_IFCHR:
		return "chr";
	case S_IFBLK:
		return "blk";
	default:
		return "?";
	}
}

/* ---------------------------------------------------------------- cleanup and failure */

static int diff_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) != 0)
		fprintf(stderr, "fs-diff: cannot remove %s: %s\n", path, strerror(errno));
	return 0;
}

/* Closes the fds and stores and removes the run's temp dir (nothing else). */
static void diff_run_cleanup(struct diff_ctx *c)
{
	for (size_t i = 0; i < c->handle_count; i++)
		close(c->handles[i].fd);
	c->handle_count = 0;
	if (c->s)
		store_close(c->s);
	if (c->replay)
		store_close(c->replay);
	c->s = c->replay = NULL;
	setfsuid(0);
	setfsgid(0);
	if (c->root_made)
		nftw(c->root, diff_rm_one, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	c->root_made = false;
	free(c->nodes);
	free(c->ents);
	free(c->data);
	free(c->kbuf);
	free(c->sbuf);
	c->nodes = NULL;
	c->ents = NULL;
	c->data = c->kbuf = c->sbuf = NULL;
}

/* A difference (or an unexpected failure): print what and how to reproduce, clean up, exit 1. */
__attribute__((format(printf, 2, 3), noreturn)) static void diff_fail(struct diff_ctx *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fs-diff: seed %" PRIu64 ": op %" PRIu64 ": %s\n", c->seed, c->step, c->desc);
	if (c->kdesc[0])
		fprintf(stderr, "  kernel: %s\n", c->kdesc);
	fprintf(stderr, "  MISMATCH: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n  reproduce: fs-diff --seed %" PRIu64 " --ops %" PRIu64 " -v%s\n", c->seed, c->step + 1,
	        c->opt->vfs_errors ? "" : " --no-vfs-errors");
	diff_run_cleanup(c);
	exit(1);
}

/* ---------------------------------------------------------------- the model namespace */

static struct diff_node *diff_node(struct diff_ctx *c, uint64_t ino)
{
	if (ino >= c->node_cap || !c->nodes[ino].used)
		return NULL;
	return &c->nodes[ino];
}

static bool diff_alive(struct diff_ctx *c, uint64_t ino)
{
	struct diff_node *n = diff_node(c, ino);
	return n && !n->dead;
}

static struct diff_node *diff_node_add(struct diff_ctx *c, uint64_t ino, uint32_t type, uint64_t kino,
                                       uint64_t dir_parent)
{
	if (ino >= c->node_cap) {
		size_t cap = c->node_cap ? c->node_cap : 1024;
		while (cap <= ino)
			cap *= 2;
		c->nodes = realloc(c->nodes, cap * sizeof(*c->nodes));
		DIFF_ASSERT(c->nodes);
		memset(c->nodes + c->node_cap, 0, (cap - c->node_cap) * sizeof(*c->nodes));
		c->node_cap = cap;
	}
	struct diff_node *n = &c->nodes[ino];
	DIFF_ASSERT(!n->used);
	*n = (struct diff_node){ .used = true, .type = type & S_IFMT, .kino = kino, .dir_parent = dir_parent };
	return n;
}

static ssize_t diff_ent_find(struct diff_ctx *c, uint64_t parent, const char *name, uint32_t len)
{
	for (size_t i = 0; i < c->ent_count; i++) {
		const struct diff_ent *e = &c->ents[i];
		if (e->parent == parent && e->name_len == len && memcmp(e->name, name, len) == 0)
			return (ssize_t)i;
	}
	return -1;
}

/* The first entry naming ino (a directory has exactly one). */
static const struct diff_ent *diff_ent_naming(struct diff_ctx *c, uint64_t ino)
{
	for (size_t i = 0; i < c->ent_count; i++)
		if (c->ents[i].ino == ino)
			return &c->ents[i];
	return NULL;
}

static void diff_ent_add(struct diff_ctx *c, uint64_t parent, const char *name, uint32_t len, uint64_t ino)
{
	DIFF_ASSERT(len <= WIRE_NAME_MAX);
	DIFF_ASSERT(diff_ent_find(c, parent, name, len) < 0);
	if (c->ent_count == c->ent_cap) {
		c->ent_cap = c->ent_cap ? 2 * c->ent_cap : 256;
		c->ents = realloc(c->ents, c->ent_cap * sizeof(*c->ents));
		DIFF_ASSERT(c->ents);
	}
	struct diff_ent *e = &c->ents[c->ent_count++];
	e->parent = parent;
	e->ino = ino;
	e->name_len = len;
	memcpy(e->name, name, len);
	e->name[len] = 0;
	diff_node(c, ino)->links++;
}

/* An inode with no name and no handle is gone. */
static void diff_node_settle(struct diff_ctx *c, uint64_t ino)
{
	struct diff_node *n = diff_node(c, ino);

	DIFF_ASSERT(n);
	if (n->links == 0 && n->handles == 0)
		n->dead = true;
}

static void diff_ent_remove(struct diff_ctx *c, size_t i)
{
	DIFF_ASSERT(i < c->ent_count);
	uint64_t ino = c->ents[i].ino;
	c->ents[i] = c->ents[--c->ent_count];
	struct diff_node *n = diff_node(c, ino);
	DIFF_ASSERT(n->links > 0);
	n->links--;
	diff_node_settle(c, ino);
}

static struct diff_handle *diff_handle_of(struct diff_ctx *c, uint64_t ino)
{
	for (size_t i = 0; i < c->handle_count; i++)
		if (c->handles[i].ino == ino)
			return &c->handles[i];
	return NULL;
}

/* The kernel path of a linked inode; false when it would not fit DIFF_PATH_BUDGET. */
static bool diff_path(struct diff_ctx *c, uint64_t ino, char *out, size_t cap)
{
	const struct diff_ent *chain[DIFF_DEPTH_MAX];
	size_t depth = 0, o;

	while (ino != WIRE_INO_ROOT) {
		const struct diff_ent *e = diff_ent_naming(c, ino);
		DIFF_ASSERT(e);
		if (depth == DIFF_DEPTH_MAX)
			return false;
		chain[depth++] = e;
		ino = e->parent;
	}
	o = strlen(c->root);
	DIFF_ASSERT(o < cap);
	memcpy(out, c->root, o + 1);
	while (depth > 0) {
		const struct diff_ent *e = chain[--depth];
		if (o + 1 + e->name_len >= DIFF_PATH_BUDGET || o + 1 + e->name_len >= cap)
			return false;
		out[o++] = '/';
		memcpy(out + o, e->name, e->name_len);
		o += e->name_len;
		out[o] = 0;
	}
	return true;
}

/* Whether the kernel side can reach ino within the path budget (gone inodes always can). */
static bool diff_reachable(struct diff_ctx *c, uint64_t ino)
{
	char p[PATH_MAX];
	struct diff_node *n = diff_node(c, ino);

	if (!n || n->dead || n->links == 0)
		return true;
	return diff_path(c, ino, p, sizeof(p));
}

static enum diff_access diff_access(struct diff_ctx *c, uint64_t ino, char *path, size_t cap, int *fd)
{
	struct diff_node *n = diff_node(c, ino);

	*fd = -1;
	if (!n || n->dead) {
		snprintf(path, cap, "%s/" DIFF_GONE, c->root);
		return DIFF_AT_GONE;
	}
	if (n->links > 0) {
		bool ok = diff_path(c, ino, path, cap);
		DIFF_ASSERT(ok); /* the generator checks the budget */
		return DIFF_AT_PATH;
	}
	struct diff_handle *h = diff_handle_of(c, ino);
	DIFF_ASSERT(h);
	*fd = h->fd;
	snprintf(path, cap, "/proc/self/fd/%d", h->fd);
	return DIFF_AT_FD;
}

/* The kernel path of parent/name (through a missing or non-directory parent when the op has one). */
static void diff_child_path(struct diff_ctx *c, uint64_t parent, const char *name, uint32_t len, char *out, size_t cap)
{
	int fd;
	size_t o;

	diff_access(c, parent, out, cap, &fd);
	o = strlen(out);
	DIFF_ASSERT(o + 2 + len < cap);
	out[o++] = '/';
	memcpy(out + o, name, len);
	out[o + len] = 0;
}

static const char *diff_ino_str(struct diff_ctx *c, uint64_t ino, char *buf, size_t cap)
{
	struct diff_node *n = diff_node(c, ino);

	if (!n)
		snprintf(buf, cap, "%" PRIu64 "(unknown)", ino);
	else
		snprintf(buf, cap, "%" PRIu64 "(%s%s%s)", ino, n->dead ? "dead " : "",
		         !n->dead && n->links == 0 ? "open " : "", diff_type_name(n->type));
	return buf;
}

/* ---------------------------------------------------------------- the op in readable form */

static const char *diff_rename_flags(uint32_t f)
{
	switch (f) {
	case 0:
		return "0";
	case RENAME_NOREPLACE:
		return "NOREPLACE";
	case RENAME_EXCHANGE:
		return "EXCHANGE";
	default:
		return "NOREPLACE|EXCHANGE";
	}
}

static void diff_describe(struct diff_ctx *c, int kind, const struct wire_fs_op *op)
{
	char a[64], b[64], n1[64], n2[64];
	char *d = c->desc;
	size_t cap = sizeof(c->desc);
	const char *k = diff_kind_names[kind];

	if (op->name)
		diff_fmt_name(n1, sizeof(n1), op->name, op->name_len);
	if (op->new_name)
		diff_fmt_name(n2, sizeof(n2), op->new_name, op->new_name_len);
	switch (kind) {
	case WIRE_FS_CREATE:
	case WIRE_FS_MKDIR:
		snprintf(d, cap, "%s parent=%s name=%s mode=0%o rdev=%#" PRIx64, k, diff_ino_str(c, op->parent, a, 64),
		         n1, op->mode, op->rdev);
		break;
	case WIRE_FS_SYMLINK:
		snprintf(d, cap, "%s parent=%s name=%s target_len=%u", k, diff_ino_str(c, op->parent, a, 64), n1,
		         op->data_len);
		break;
	case WIRE_FS_LINK:
		snprintf(d, cap, "%s ino=%s -> parent=%s name=%s", k, diff_ino_str(c, op->ino, a, 64),
		         diff_ino_str(c, op->parent, b, 64), n1);
		break;
	case WIRE_FS_UNLINK:
	case WIRE_FS_RMDIR:
	case DIFF_LOOKUP:
		snprintf(d, cap, "%s parent=%s name=%s", k, diff_ino_str(c, op->parent, a, 64), n1);
		break;
	case WIRE_FS_RENAME:
		snprintf(d, cap, "%s parent=%s name=%s -> new_parent=%s new_name=%s flags=%s", k,
		         diff_ino_str(c, op->parent, a, 64), n1, diff_ino_str(c, op->new_parent, b, 64), n2,
		         diff_rename_flags(op->flags));
		break;
	case WIRE_FS_SETATTR: {
		int o = snprintf(d, cap, "%s ino=%s", k, diff_ino_str(c, op->ino, a, 64));
		if (op->valid & WIRE_SET_MODE)
			o += snprintf(d + o, cap - (size_t)o, " mode=0%o", op->mode);
		if (op->valid & WIRE_SET_UID)
			o += snprintf(d + o, cap - (size_t)o, " uid=%u", op->set_uid);
		if (op->valid & WIRE_SET_GID)
			o += snprintf(d + o, cap - (size_t)o, " gid=%u", op->set_gid);
		if (op->valid & WIRE_SET_SIZE)
			o += snprintf(d + o, cap - (size_t)o, " size=%" PRIu64, op->size);
		if (op->valid & WIRE_SET_ATIME)
			o += snprintf(d + o, cap - (size_t)o, " atime=%" PRId64, op->atime);
		if (op->valid & WIRE_SET_MTIME)
			o += snprintf(d + o, cap - (size_t)o, " mtime=%" PRId64, op->mtime);
		if (op->kill_suidgid)
			snprintf(d + o, cap - (size_t)o, " kill_suidgid");
		break;
	}
	case WIRE_FS_WRITE:
		snprintf(d, cap, "%s ino=%s offset=%" PRIu64 " len=%u%s", k, diff_ino_str(c, op->ino, a, 64),
		         op->offset, op->data_len, op->kill_suidgid ? " kill_suidgid" : "");
		break;
	case WIRE_FS_FALLOCATE:
		snprintf(d, cap, "%s ino=%s flags=%s offset=%" PRIu64 " length=%" PRIu64, k,
		         diff_ino_str(c, op->ino, a, 64),
		         op->flags == 0                                              ? "0"
		         : op->flags == FALLOC_FL_KEEP_SIZE                          ? "KEEP_SIZE"
		         : op->flags == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) ? "PUNCH_HOLE|KEEP_SIZE"
		                                                                     : "PUNCH_HOLE",
		         op->offset, op->length);
		break;
	case WIRE_FS_COPY_RANGE:
		snprintf(d, cap, "%s ino=%s offset=%" PRIu64 " -> target=%s target_offset=%" PRIu64 " length=%" PRIu64,
		         k, diff_ino_str(c, op->ino, a, 64), op->offset, diff_ino_str(c, op->target_ino, b, 64),
		         op->target_offset, op->length);
		break;
	case WIRE_FS_SETXATTR:
		snprintf(d, cap, "%s ino=%s name=%s value_len=%u flags=%s", k, diff_ino_str(c, op->ino, a, 64), n1,
		         op->data_len,
		         op->flags == XATTR_CREATE    ? "CREATE"
		         : op->flags == XATTR_REPLACE ? "REPLACE"
		                                      : "0");
		break;
	case WIRE_FS_REMOVEXATTR:
		snprintf(d, cap, "%s ino=%s name=%s", k, diff_ino_str(c, op->ino, a, 64), n1);
		break;
	case WIRE_FS_OPEN:
	case WIRE_FS_RELEASE:
		snprintf(d, cap, "%s ino=%s handle=%" PRIu64 " client=%" PRIu64, k, diff_ino_str(c, op->ino, a, 64),
		         op->handle, c->client);
		break;
	case WIRE_FS_CREATE_OPEN:
		snprintf(d, cap, "%s parent=%s name=%s mode=0%o handle=%" PRIu64 " client=%" PRIu64, k,
		         diff_ino_str(c, op->parent, a, 64), n1, op->mode, op->handle, c->client);
		break;
	case DIFF_EVICT:
		snprintf(d, cap, "%s client=%" PRIu64 " (store_apply op=NULL, evicted_client)", k, c->client);
		break;
	case DIFF_READ:
		snprintf(d, cap, "%s ino=%s offset=%" PRIu64 " len=%" PRIu64, k, diff_ino_str(c, op->ino, a, 64),
		         op->offset, op->length);
		break;
	default:
		DIFF_ASSERT(0);
	}
}

/* ---------------------------------------------------------------- comparing one inode */

static void diff_attr_cmp(struct diff_ctx *c, const char *where, uint64_t ino, const struct stat *st,
                          const struct wire_attr *a)
{
	struct diff_node *n = diff_node(c, ino);

	if (a->ino != ino)
		diff_fail(c, "%s: store attr.ino %" PRIu64 ", expected %" PRIu64, where, a->ino, ino);
	if ((st->st_mode & S_IFMT) != (a->mode & S_IFMT))
		diff_fail(c, "%s: file type: kernel %s, store %s (mode 0%o)", where, diff_type_name(st->st_mode),
		          diff_type_name(a->mode), a->mode);
	if ((st->st_mode & 07777) != (a->mode & 07777))
		diff_fail(c, "%s: mode & 07777: kernel 0%o, store 0%o", where, st->st_mode & 07777, a->mode & 07777);
	if (st->st_uid != a->uid)
		diff_fail(c, "%s: uid: kernel %u, store %u", where, st->st_uid, a->uid);
	if (st->st_gid != a->gid)
		diff_fail(c, "%s: gid: kernel %u, store %u", where, st->st_gid, a->gid);
	if (st->st_nlink != a->nlink)
		diff_fail(c, "%s: nlink: kernel %lu, store %u", where, (unsigned long)st->st_nlink, a->nlink);
	/* A directory's size is the filesystem's own convention (tmpfs: 20 bytes an entry). */
	if (!S_ISDIR(st->st_mode) && (uint64_t)st->st_size != a->size)
		diff_fail(c, "%s: size: kernel %jd, store %" PRIu64, where, (intmax_t)st->st_size, a->size);
	if ((uint64_t)st->st_rdev != a->rdev)
		diff_fail(c, "%s: rdev: kernel %#jx, store %#" PRIx64, where, (uintmax_t)st->st_rdev, a->rdev);
	if (n && n->kino != (uint64_t)st->st_ino)
		diff_fail(c, "%s: store inode %" PRIu64 " was kernel inode %" PRIu64 ", the path now leads to %ju",
		          where, ino, n->kino, (uintmax_t)st->st_ino);
}

static int diff_kstat(struct diff_ctx *c, uint64_t ino, struct stat *st, char *path, size_t cap)
{
	int fd;
	enum diff_access at = diff_access(c, ino, path, cap, &fd);

	if (at == DIFF_AT_FD)
		return fstat(fd, st) == 0 ? 0 : errno;
	return lstat(path, st) == 0 ? 0 : errno;
}

/* D2: the store's attributes of ino equal the kernel's, or both have lost it. */
static void diff_check_ino(struct diff_ctx *c, uint64_t ino, const char *why)
{
	struct diff_node *n = diff_node(c, ino);
	struct wire_attr a;
	struct stat st;
	char path[PATH_MAX], where[PATH_MAX + 96], rel[PATH_MAX];
	int r, ke;

	if (!n)
		return;
	r = store_getattr(c->s, ino, &a);
	if (n->dead) {
		if (r != -ENOENT)
			diff_fail(c, "%s: inode %" PRIu64 " is gone from the kernel; store_getattr returned %s", why,
			          ino, r ? diff_errname(-r) : "0 (still there)");
		return;
	}
	ke = diff_kstat(c, ino, &st, path, sizeof(path));
	diff_fmt_path(c, rel, sizeof(rel), path);
	snprintf(where, sizeof(where), "%s: inode %" PRIu64 " (%s)", why, ino, rel);
	if (ke)
		diff_fail(c, "%s: kernel stat failed: %s (model out of step)", where, diff_errname(ke));
	if (r)
		diff_fail(c, "%s: store_getattr: %s, kernel has it", where, diff_errname(-r));
	diff_attr_cmp(c, where, ino, &st, &a);
}

/* ---------------------------------------------------------------- contents (D3, D4) */

struct diff_extent {
	uint64_t start, end;
};

struct diff_extents {
	struct diff_extent *v;
	size_t n, cap;
};

static void diff_extent_add(struct diff_extents *x, uint64_t start, uint64_t end)
{
	if (start >= end)
		return;
	if (x->n == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 16;
		x->v = realloc(x->v, x->cap * sizeof(*x->v));
		DIFF_ASSERT(x->v);
	}
	x->v[x->n++] = (struct diff_extent){ start, end };
}

static int diff_extent_cmp(const void *pa, const void *pb)
{
	const struct diff_extent *a = pa, *b = pb;
	return a->start < b->start ? -1 : a->start > b->start;
}

/* Reads len bytes at off from the store, checking the count against the size. */
static void diff_sread(struct diff_ctx *c, const char *where, uint64_t ino, uint64_t size, uint64_t off, uint32_t len,
                       uint8_t *buf)
{
	uint32_t got = 0;
	int r = store_read(c->s, ino, off, len, buf, &got);
	uint64_t want = off >= size ? 0 : (size - off < len ? size - off : len);

	if (r)
		diff_fail(c, "%s: store_read(%" PRIu64 ", %u): %s", where, off, len, diff_errname(-r));
	if (got != want)
		diff_fail(c,
		          "%s: store_read(%" PRIu64 ", %u) of a %" PRIu64
		          "-byte file returned %u bytes, expected %" PRIu64,
		          where, off, len, size, got, want);
}

/* D4: a region the store calls a hole reads as zeros in the store (sampled for large holes). */
static void diff_store_hole(struct diff_ctx *c, const char *where, uint64_t ino, uint64_t size, uint64_t start,
                            uint64_t end)
{
	uint64_t h;
	int r = store_lseek(c->s, ino, start, SEEK_HOLE, &h);

	if (r || h != start)
		diff_fail(c,
		          "%s: store: SEEK_DATA says [%" PRIu64 ", %" PRIu64 ") is a hole, SEEK_HOLE(%" PRIu64
		          ") = %s %" PRIu64,
		          where, start, end, start, diff_errname(-r), h);
	for (int i = 0; i < DIFF_HOLE_SAMPLES && start < end; i++) {
		uint64_t span = end - start, len = span < 4096 ? span : 4096;
		uint64_t at = i == 0   ? start
		              : i == 1 ? end - len
		                       : start + (span - len) / (DIFF_HOLE_SAMPLES - 1) * (uint64_t)i;
		diff_sread(c, where, ino, size, at, (uint32_t)len, c->sbuf);
		for (uint64_t j = 0; j < len; j++)
			if (c->sbuf[j])
				diff_fail(c, "%s: store: byte %" PRIu64 " is %#x inside what its lseek calls a hole",
				          where, at + j, c->sbuf[j]);
		if (span <= 4096)
			break;
	}
}

/* D3 + D4: the contents of a regular file, compared wherever either side has data. */
static void diff_content(struct diff_ctx *c, const char *where, uint64_t ino, int kfd, uint64_t size)
{
	struct diff_extents x = { 0 };
	uint64_t o = 0;

	/* The kernel's data map. */
	while (o < size) {
		off_t d = lseek(kfd, (off_t)o, SEEK_DATA);
		if (d < 0 && errno == ENXIO)
			break;
		DIFF_ASSERT(d >= 0);
		off_t h = lseek(kfd, d, SEEK_HOLE);
		DIFF_ASSERT(h > d);
		diff_extent_add(&x, (uint64_t)d, (uint64_t)h);
		o = (uint64_t)h;
	}
	/* The store's data map, checked for consistency on the way (D4). */
	o = 0;
	while (o < size) {
		uint64_t d = 0, h = 0;
		int r = store_lseek(c->s, ino, o, SEEK_DATA, &d);
		if (r == -ENXIO) {
			diff_store_hole(c, where, ino, size, o, size);
			break;
		}
		if (r)
			diff_fail(c, "%s: store_lseek(%" PRIu64 ", SEEK_DATA) of a %" PRIu64 "-byte file: %s", where, o,
			          size, diff_errname(-r));
		if (d < o || d >= size)
			diff_fail(c,
			          "%s: store_lseek(%" PRIu64 ", SEEK_DATA) = %" PRIu64
			          ", outside [offset, size %" PRIu64 ")",
			          where, o, d, size);
		if (d > o)
			diff_store_hole(c, where, ino, size, o, d);
		r = store_lseek(c->s, ino, d, SEEK_HOLE, &h);
		if (r || h <= d || h > size)
			diff_fail(c,
			          "%s: store_lseek(%" PRIu64 ", SEEK_HOLE) = %s %" PRIu64 " (data at %" PRIu64
			          ", size %" PRIu64 ")",
			          where, d, diff_errname(-r), h, d, size);
		diff_extent_add(&x, d, h);
		o = h;
	}
	/* ENXIO at and after EOF, as the kernel (lseek(2)). */
	for (int w = 0; w < 2; w++) {
		int whence = w ? SEEK_HOLE : SEEK_DATA;
		for (uint64_t at = size; at <= size + 1; at++) {
			uint64_t res = 0;
			off_t k = lseek(kfd, (off_t)at, whence);
			int ke = k < 0 ? errno : 0;
			int r = store_lseek(c->s, ino, at, whence, &res);
			if (ke != -r)
				diff_fail(c,
				          "%s: lseek(%" PRIu64 ", %s) of a %" PRIu64 "-byte file: kernel %s, store %s",
				          where, at, w ? "SEEK_HOLE" : "SEEK_DATA", size, diff_errname(ke),
				          diff_errname(-r));
		}
	}
	/* Compare wherever either side has data; elsewhere both read as zeros. */
	if (x.n)
		qsort(x.v, x.n, sizeof(*x.v), diff_extent_cmp);
	o = 0;
	for (size_t i = 0; i < x.n; i++) {
		uint64_t start = x.v[i].start > o ? x.v[i].start : o;
		for (uint64_t at = start; at < x.v[i].end; at += DIFF_CMP_CHUNK) {
			uint64_t end = x.v[i].end < at + DIFF_CMP_CHUNK ? x.v[i].end : at + DIFF_CMP_CHUNK;
			uint32_t len = (uint32_t)(end - at);
			ssize_t k = pread(kfd, c->kbuf, len, (off_t)at);
			DIFF_ASSERT(k == (ssize_t)len);
			diff_sread(c, where, ino, size, at, len, c->sbuf);
			if (memcmp(c->kbuf, c->sbuf, len) != 0) {
				uint32_t j = 0;
				while (c->kbuf[j] == c->sbuf[j])
					j++;
				diff_fail(c, "%s: contents differ at byte %" PRIu64 ": kernel %#x, store %#x", where,
				          at + j, c->kbuf[j], c->sbuf[j]);
			}
		}
		if (x.v[i].end > o)
			o = x.v[i].end;
	}
	/* A short read at EOF, and nothing after it. */
	if (size > 0)
		diff_sread(c, where, ino, size, size - 1, 4096, c->sbuf);
	diff_sread(c, where, ino, size, size, 4096, c->sbuf);
	free(x.v);
}

/* ---------------------------------------------------------------- xattrs (D3) */

struct diff_names {
	char *buf;
	uint32_t len;
	const char *v[512];
	size_t n;
};

static int diff_strcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void diff_names_split(struct diff_ctx *c, const char *where, struct diff_names *nm)
{
	nm->n = 0;
	for (uint32_t i = 0; i < nm->len;) {
		size_t l = strnlen(nm->buf + i, nm->len - i);
		if (i + l == nm->len)
			diff_fail(c, "%s: an xattr name list is not NUL-terminated", where);
		DIFF_ASSERT(nm->n < 512);
		nm->v[nm->n++] = nm->buf + i;
		i += (uint32_t)l + 1;
	}
	qsort(nm->v, nm->n, sizeof(nm->v[0]), diff_strcmp);
}

static ssize_t diff_klistxattr(enum diff_access at, const char *path, int fd, char *buf, size_t size)
{
	return at == DIFF_AT_FD ? flistxattr(fd, buf, size) : llistxattr(path, buf, size);
}

static ssize_t diff_kgetxattr(enum diff_access at, const char *path, int fd, const char *name, void *buf, size_t size)
{
	return at == DIFF_AT_FD ? fgetxattr(fd, name, buf, size) : lgetxattr(path, name, buf, size);
}

static void diff_xattrs(struct diff_ctx *c, const char *where, uint64_t ino, enum diff_access at, const char *path,
                        int fd)
{
	struct diff_names k = { 0 }, s = { 0 };
	char dummy[1];
	uint32_t len = 0;
	ssize_t kl = diff_klistxattr(at, path, fd, NULL, 0);
	int r;

	DIFF_ASSERT(kl >= 0);
	k.buf = malloc((size_t)kl + 1);
	DIFF_ASSERT(k.buf);
	kl = diff_klistxattr(at, path, fd, k.buf, (size_t)kl);
	DIFF_ASSERT(kl >= 0);
	k.len = (uint32_t)kl;

	r = store_listxattr(c->s, ino, dummy, 0, &len);
	if (r)
		diff_fail(c, "%s: store_listxattr(size 0): %s", where, diff_errname(-r));
	if (len > DIFF_XATTR_LIST_MAX)
		diff_fail(c, "%s: store_listxattr(size 0): length %u", where, len);
	s.buf = malloc(len + 1);
	DIFF_ASSERT(s.buf);
	if (len > 1) {
		uint32_t l2 = 0;
		r = store_listxattr(c->s, ino, s.buf, len - 1, &l2);
		if (r != -ERANGE)
			diff_fail(c, "%s: store_listxattr with a buffer one byte short: %s, expected ERANGE", where,
			          diff_errname(-r));
	}
	s.len = len;
	r = store_listxattr(c->s, ino, s.buf, len, &s.len);
	if (r || s.len != len)
		diff_fail(c, "%s: store_listxattr(size %u): %s, length %u", where, len, diff_errname(-r), s.len);
	diff_names_split(c, where, &k);
	diff_names_split(c, where, &s);
	for (size_t i = 0; i < k.n || i < s.n; i++) {
		if (i >= k.n || i >= s.n || strcmp(k.v[i], s.v[i]) != 0)
			diff_fail(c,
			          "%s: xattr names differ: kernel has %zu (first differing: %.40s), store %zu (%.40s)",
			          where, k.n, i < k.n ? k.v[i] : "-", s.n, i < s.n ? s.v[i] : "-");
		const char *name = k.v[i];
		uint32_t nl = (uint32_t)strlen(name), vlen = 0;
		ssize_t kv = diff_kgetxattr(at, path, fd, name, c->kbuf, DIFF_DATA_SIZE);
		DIFF_ASSERT(kv >= 0);
		r = store_getxattr(c->s, ino, name, nl, (uint8_t *)dummy, 0, &vlen);
		if (r || vlen != (uint32_t)kv)
			diff_fail(c, "%s: xattr %.40s: value length: kernel %zd, store %s %u", where, name, kv,
			          diff_errname(-r), vlen);
		if (kv > 1) { /* (size 0 asks for the length) */
			r = store_getxattr(c->s, ino, name, nl, c->sbuf, (uint32_t)kv - 1, &vlen);
			if (r != -ERANGE)
				diff_fail(c,
				          "%s: store_getxattr(%.40s) with a buffer one byte short: %s, expected ERANGE",
				          where, name, diff_errname(-r));
		}
		r = store_getxattr(c->s, ino, name, nl, c->sbuf, DIFF_DATA_SIZE, &vlen);
		if (r || vlen != (uint32_t)kv || memcmp(c->kbuf, c->sbuf, (size_t)kv) != 0)
			diff_fail(c, "%s: xattr %.40s: values differ (kernel %zd bytes, store %s %u bytes)", where,
			          name, kv, diff_errname(-r), vlen);
	}
	/* A name that is not there. */
	r = store_getxattr(c->s, ino, "user.zz-never", 13, c->sbuf, 16, &len);
	if (r != -ENODATA)
		diff_fail(c, "%s: store_getxattr(user.zz-never): %s, expected ENODATA", where, diff_errname(-r));
	free(k.buf);
	free(s.buf);
}

/* D3 for one inode reached at path (or fd): attributes, then what its type holds. */
static void diff_compare_inode(struct diff_ctx *c, uint64_t ino, const char *rel)
{
	char path[PATH_MAX], where[PATH_MAX + 64];
	struct wire_attr a;
	struct stat st;
	int fd, r;
	enum diff_access at = diff_access(c, ino, path, sizeof(path), &fd);

	snprintf(where, sizeof(where), "tree %s (inode %" PRIu64 ")", rel, ino);
	DIFF_ASSERT(at != DIFF_AT_GONE);
	if ((at == DIFF_AT_FD ? fstat(fd, &st) : lstat(path, &st)) != 0)
		diff_fail(c, "%s: kernel stat: %s", where, diff_errname(errno));
	r = store_getattr(c->s, ino, &a);
	if (r)
		diff_fail(c, "%s: store_getattr: %s", where, diff_errname(-r));
	diff_attr_cmp(c, where, ino, &st, &a);

	if (S_ISLNK(st.st_mode)) {
		char kt[PATH_MAX + 1], stgt[PATH_MAX + 1];
		uint32_t sl = PATH_MAX;
		ssize_t kl = readlink(path, kt, sizeof(kt));
		DIFF_ASSERT(kl >= 0);
		r = store_readlink(c->s, ino, stgt, &sl);
		if (r || sl != (uint32_t)kl || memcmp(kt, stgt, (size_t)kl) != 0)
			diff_fail(c, "%s: symlink target: kernel %zd bytes \"%.40s\", store %s %u bytes \"%.40s\"",
			          where, kl, kt, diff_errname(-r), sl, r ? "" : stgt);
	} else {
		char buf[64];
		uint32_t sl = sizeof(buf);
		r = store_readlink(c->s, ino, buf, &sl);
		if (r != -EINVAL)
			diff_fail(c, "%s: store_readlink of a %s: %s, expected EINVAL as readlink(2)", where,
			          diff_type_name(st.st_mode), diff_errname(-r));
	}
	if (S_ISREG(st.st_mode)) {
		int kfd = at == DIFF_AT_FD ? fd : open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		DIFF_ASSERT(kfd >= 0);
		diff_content(c, where, ino, kfd, (uint64_t)st.st_size);
		if (at != DIFF_AT_FD)
			close(kfd);
	}
	if (S_ISDIR(st.st_mode)) {
		uint32_t got = 0;
		r = store_read(c->s, ino, 0, 16, c->sbuf, &got);
		if (r != -EISDIR)
			diff_fail(c, "%s: store_read of a directory: %s, expected EISDIR as read(2)", where,
			          diff_errname(-r));
	}
	diff_xattrs(c, where, ino, at, path, fd);
}

/* ---------------------------------------------------------------- the whole tree (D3) */

struct diff_listing {
	struct store_dirent *v;
	size_t n, cap;
};

static int diff_listing_add(void *arg, const struct store_dirent *e)
{
	struct diff_listing *l = arg;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 32;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		DIFF_ASSERT(l->v);
	}
	l->v[l->n++] = *e;
	return 0;
}

static int diff_name_cmp(const char *a, uint32_t al, const char *b, uint32_t bl)
{
	int r = memcmp(a, b, al < bl ? al : bl);
	return r ? r : (al > bl) - (al < bl);
}

static int diff_dirent_cmp(const void *pa, const void *pb)
{
	const struct store_dirent *a = pa, *b = pb;
	return diff_name_cmp(a->name, a->name_len, b->name, b->name_len);
}

static int diff_kname_cmp(const void *pa, const void *pb)
{
	const char *const *a = pa, *const *b = pb;
	return diff_name_cmp(*a, (uint32_t)strlen(*a), *b, (uint32_t)strlen(*b));
}

static uint32_t diff_dtype_mode(unsigned char t)
{
	switch (t) {
	case DT_REG:
		return S_IFREG;
	case DT_DIR:
		return S_IFDIR;
	case DT_LNK:
		return S_IFLNK;
	case DT_FIFO:
		return S_IFIFO;
	case DT_SOCK:
		return S_IFSOCK;
	case DT_CHR:
		return S_IFCHR;
	case DT_BLK:
		return S_IFBLK;
	default:
		return 0;
	}
}

static void diff_tree_dir(struct diff_ctx *c, uint64_t ino, const char *kpath, const char *rel)
{
	struct diff_listing l = { 0 }, tail = { 0 };
	char **kn = NULL;
	unsigned char *kt = NULL;
	size_t kcount = 0, kcap = 0, mcount = 0;
	DIR *d = opendir(kpath);
	struct dirent *de;
	int r;

	DIFF_ASSERT(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (kcount == kcap) {
			kcap = kcap ? 2 * kcap : 32;
			kn = realloc(kn, kcap * sizeof(*kn));
			kt = realloc(kt, kcap);
			DIFF_ASSERT(kn && kt);
		}
		kn[kcount] = strdup(de->d_name);
		DIFF_ASSERT(kn[kcount]);
		kt[kcount++] = de->d_type;
	}
	closedir(d);
	/* d_type travels with the name: sort both together. */
	for (size_t i = 0; i < kcount; i++) {
		char *name = kn[i];
		size_t len = strlen(name);
		char *tagged = malloc(len + 2);
		DIFF_ASSERT(tagged);
		memcpy(tagged, name, len + 1);
		tagged[len + 1] = (char)kt[i];
		free(name);
		kn[i] = tagged;
	}
	if (kcount)
		qsort(kn, kcount, sizeof(*kn), diff_kname_cmp);

	r = store_readdir(c->s, ino, 0, diff_listing_add, &l);
	if (r)
		diff_fail(c, "tree %s: store_readdir: %s", rel, diff_errname(-r));
	/* The cookie of an entry resumes the listing right after it. */
	if (l.n >= 2) {
		size_t mid = l.n / 2;
		r = store_readdir(c->s, ino, l.v[mid - 1].cookie, diff_listing_add, &tail);
		if (r || tail.n != l.n - mid)
			diff_fail(c, "tree %s: store_readdir from the cookie of entry %zu of %zu: %s, %zu entries", rel,
			          mid, l.n, diff_errname(-r), tail.n);
		for (size_t i = 0; i < tail.n; i++)
			if (tail.v[i].ino != l.v[mid + i].ino ||
			    diff_name_cmp(tail.v[i].name, tail.v[i].name_len, l.v[mid + i].name, l.v[mid + i].name_len))
				diff_fail(c, "tree %s: store_readdir resumed from a cookie lists another entry at %zu",
				          rel, mid + i);
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), diff_dirent_cmp);
	for (size_t i = 0; i < c->ent_count; i++)
		mcount += c->ents[i].parent == ino;

	for (size_t i = 0; i < kcount || i < l.n; i++) {
		char n1[64], n2[64];
		if (i >= kcount || i >= l.n ||
		    diff_name_cmp(kn[i], (uint32_t)strlen(kn[i]), l.v[i].name, l.v[i].name_len) != 0) {
			if (i < kcount)
				diff_fmt_name(n1, sizeof(n1), kn[i], strlen(kn[i]));
			if (i < l.n)
				diff_fmt_name(n2, sizeof(n2), l.v[i].name, l.v[i].name_len);
			diff_fail(c, "tree %s: entries differ: kernel has %zu (%s), store %zu (%s)", rel, kcount,
			          i < kcount ? n1 : "-", l.n, i < l.n ? n2 : "-");
		}
		const struct store_dirent *e = &l.v[i];
		size_t len = strlen(kn[i]);
		uint32_t ktype = diff_dtype_mode((unsigned char)kn[i][len + 1]);
		char child[PATH_MAX], crel[PATH_MAX];
		struct wire_attr a;
		ssize_t m = diff_ent_find(c, ino, e->name, e->name_len);

		diff_fmt_name(n1, sizeof(n1), e->name, e->name_len);
		snprintf(crel, sizeof(crel), "%s%s%s", rel, strcmp(rel, "/") ? "/" : "", n1);
		if (ktype && ktype != (e->mode & S_IFMT))
			diff_fail(c, "tree %s: entry type: kernel %s, store %s", crel, diff_type_name(ktype),
			          diff_type_name(e->mode));
		if (m < 0)
			diff_fail(c, "tree %s: both sides have it but the test's model does not (test bug?)", crel);
		if (c->ents[m].ino != e->ino)
			diff_fail(c, "tree %s: store entry names inode %" PRIu64 ", expected %" PRIu64, crel, e->ino,
			          c->ents[m].ino);
		r = store_lookup(c->s, ino, e->name, e->name_len, &a);
		if (r || a.ino != e->ino)
			diff_fail(c, "tree %s: store_lookup: %s, inode %" PRIu64 ", readdir says %" PRIu64, crel,
			          diff_errname(-r), a.ino, e->ino);
		if (!diff_path(c, e->ino, child, sizeof(child)))
			continue; /* deeper than the path budget: never generated, never compared */
		diff_compare_inode(c, e->ino, crel);
		if ((e->mode & S_IFMT) == S_IFDIR) {
			diff_tree_dir(c, e->ino, child, crel);
		} else {
			r = store_readdir(c->s, e->ino, 0, diff_listing_add, &tail);
			if (r != -ENOTDIR)
				diff_fail(c, "tree %s: store_readdir of a %s: %s, expected ENOTDIR", crel,
				          diff_type_name(e->mode), diff_errname(-r));
		}
	}
	if (mcount != kcount)
		diff_fail(c, "tree %s: the kernel lists %zu entries, the test's model %zu (test bug)", rel, kcount,
		          mcount);
	for (size_t i = 0; i < kcount; i++)
		free(kn[i]);
	free(kn);
	free(kt);
	free(l.v);
	free(tail.v);
}

/* D3, D5: the whole tree, the open-but-unlinked files, the gone inodes, the replay store. */
static void diff_tree(struct diff_ctx *c, const char *why)
{
	struct store_statfs sf;
	uint64_t alive = 0;
	int r;

	if (c->opt->verbose)
		printf("  compare tree (%s)\n", why);
	diff_compare_inode(c, WIRE_INO_ROOT, "/");
	diff_tree_dir(c, WIRE_INO_ROOT, c->root, "/");
	for (size_t i = 0; i < c->handle_count; i++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "<handle %" PRIu64 ">", c->handles[i].handle);
		diff_compare_inode(c, c->handles[i].ino, rel);
	}
	for (uint64_t ino = 1; ino < c->node_cap; ino++) {
		struct diff_node *n = diff_node(c, ino);
		if (!n)
			continue;
		if (n->dead)
			diff_check_ino(c, ino, "gone inode");
		else
			alive++;
	}
	r = store_statfs(c->s, &sf);
	if (r || sf.inodes != alive)
		diff_fail(c,
		          "store_statfs: %s, %" PRIu64 " inodes in use; the kernel has %" PRIu64
		          " (root, linked, and unlinked but open)",
		          diff_errname(-r), sf.inodes, alive);
	if (c->replay) {
		uint8_t d1[STORE_DIGEST_SIZE], d2[STORE_DIGEST_SIZE];
		r = store_digest(c->s, d1);
		int r2 = store_digest(c->replay, d2);
		if (r || r2)
			diff_fail(c, "store_digest: %s / %s", diff_errname(-r), diff_errname(-r2));
		if (memcmp(d1, d2, sizeof(d1)) != 0)
			diff_fail(c, "D5: two stores fed the same ops have different digests");
	}
}

/* ---------------------------------------------------------------- generating ops */

static const char *const diff_pool[DIFF_POOL_COUNT] = {
	"a", "b", "c", "d", "e", "f", "g", "h", "i", ".dot", "sp ace", "\xc3\xa9t\xc3\xa9",
};

static uint32_t diff_pick_name(struct diff_ctx *c, char *buf)
{
	uint64_t r = diff_below(c, 100);

	if (r < 3) {
		memset(buf, 'L', WIRE_NAME_MAX);
		return WIRE_NAME_MAX;
	}
	if (r < 6) {
		memset(buf, 'M', WIRE_NAME_MAX + 1); /* ENAMETOOLONG */
		return WIRE_NAME_MAX + 1;
	}
	const char *n = diff_pool[diff_below(c, DIFF_POOL_COUNT)];
	memcpy(buf, n, strlen(n));
	return (uint32_t)strlen(n);
}

enum {
	DIFF_W_REG = 1 << 0,
	DIFF_W_DIR = 1 << 1,
	DIFF_W_LNK = 1 << 2,
	DIFF_W_SPECIAL = 1 << 3, /* fifo, socket, char and block devices */
	DIFF_W_LINKED = 1 << 4,
	DIFF_W_OPEN = 1 << 5, /* unlinked, kept by a handle */
	DIFF_W_DEAD = 1 << 6,
	DIFF_W_ANYTYPE = DIFF_W_REG | DIFF_W_DIR | DIFF_W_LNK | DIFF_W_SPECIAL,
	DIFF_W_ALIVE = DIFF_W_LINKED | DIFF_W_OPEN,
};

static unsigned diff_type_bit(uint32_t type)
{
	switch (type & S_IFMT) {
	case S_IFREG:
		return DIFF_W_REG;
	case S_IFDIR:
		return DIFF_W_DIR;
	case S_IFLNK:
		return DIFF_W_LNK;
	default:
		return DIFF_W_SPECIAL;
	}
}

/* A uniformly chosen inode matching want (a type bit and a state bit), reachable within the path budget; 0: none. */
static uint64_t diff_pick_node(struct diff_ctx *c, unsigned want)
{
	uint64_t pick = 0, seen = 0;

	for (uint64_t ino = 1; ino < c->node_cap; ino++) {
		struct diff_node *n = diff_node(c, ino);
		if (!n || !(diff_type_bit(n->type) & want))
			continue;
		unsigned state = n->dead ? DIFF_W_DEAD : n->links > 0 ? DIFF_W_LINKED : DIFF_W_OPEN;
		if (!(state & want))
			continue;
		if (diff_below(c, ++seen) == 0)
			pick = ino;
	}
	if (pick && !diff_reachable(c, pick))
		return 0;
	return pick;
}

/* A directory to create in: mostly a live one, sometimes a file (ENOTDIR) or a gone one (ENOENT). */
static uint64_t diff_pick_parent(struct diff_ctx *c)
{
	uint64_t r = diff_below(c, 100), ino = 0;

	if (r < 6)
		ino = diff_pick_node(c, DIFF_W_REG | DIFF_W_SPECIAL | DIFF_W_LINKED);
	else if (r < 11)
		ino = diff_pick_node(c, DIFF_W_DIR | DIFF_W_DEAD);
	else if (r < 12)
		return DIFF_UNKNOWN_INO;
	else if (r < 25)
		return WIRE_INO_ROOT;
	if (!ino)
		ino = diff_pick_node(c, DIFF_W_DIR | DIFF_W_LINKED);
	return ino ? ino : WIRE_INO_ROOT;
}

/* A random existing entry (optionally of an inode matching want); -1: none. */
static ssize_t diff_pick_ent(struct diff_ctx *c, unsigned want)
{
	ssize_t pick = -1;
	uint64_t seen = 0;

	for (size_t i = 0; i < c->ent_count; i++) {
		struct diff_node *n = diff_node(c, c->ents[i].ino);
		if (want && !(diff_type_bit(n->type) & want))
			continue;
		if (want & DIFF_W_OPEN && n->handles == 0)
			continue;
		if (diff_below(c, ++seen) == 0)
			pick = (ssize_t)i;
	}
	if (pick >= 0 && !diff_reachable(c, c->ents[pick].parent))
		return -1;
	return pick;
}

/* Parent and name of a new entry: a random one, or (p% of the time) an existing one. */
static void diff_gen_target(struct diff_ctx *c, unsigned p, uint64_t *parent, char *name, uint32_t *len)
{
	ssize_t e = diff_percent(c, p) ? diff_pick_ent(c, 0) : -1;

	if (e >= 0) {
		*parent = c->ents[e].parent;
		*len = c->ents[e].name_len;
		memcpy(name, c->ents[e].name, *len);
		return;
	}
	*parent = diff_pick_parent(c);
	*len = diff_pick_name(c, name);
}

static uint32_t diff_pick_perm(struct diff_ctx *c)
{
	static const uint32_t perms[] = { 0644, 0755, 0600, 0, 0777, 04755, 02755, 02644, 06755, 01777, 07777, 04644 };

	if (diff_percent(c, 20))
		return (uint32_t)diff_below(c, 010000);
	return perms[diff_below(c, sizeof(perms) / sizeof(perms[0]))];
}

static uint32_t diff_pick_id(struct diff_ctx *c)
{
	static const uint32_t ids[] = { 0, 1, 1000, 65534 };
	return ids[diff_below(c, 4)];
}

static uint64_t diff_size_of(struct diff_ctx *c, uint64_t ino)
{
	struct wire_attr a;
	return store_getattr(c->s, ino, &a) == 0 ? a.size : 0;
}

static uint32_t diff_mode_of(struct diff_ctx *c, uint64_t ino)
{
	struct wire_attr a;
	return store_getattr(c->s, ino, &a) == 0 ? a.mode : 0;
}

static uint64_t diff_pick_offset_any(struct diff_ctx *c, uint64_t size);

/* An offset in a file of size size, kept below WIRE_FILE_SIZE_MAX (EFBIG beyond: a documented difference). */
static uint64_t diff_pick_offset(struct diff_ctx *c, uint64_t size)
{
	uint64_t o = diff_pick_offset_any(c, size);

	return o > WIRE_FILE_SIZE_MAX - (8 << 20) ? WIRE_FILE_SIZE_MAX - (8 << 20) - diff_below(c, 1 << 20) : o;
}

/* An offset in a file of size size: inside, at EOF, past it, at chunk edges, far away. */
static uint64_t diff_pick_offset_any(struct diff_ctx *c, uint64_t size)
{
	switch (diff_below(c, 12)) {
	case 0:
		return 0;
	case 1:
	case 2:
	case 3:
		return size ? diff_below(c, size) : 0;
	case 4:
		return size;
	case 5:
	case 6:
		return size + diff_below(c, 1 << 20); /* sparse beyond EOF */
	case 7:
	case 8:
		return diff_below(c, 64) * STORE_CHUNK_SIZE - (diff_below(c, 2) ? diff_below(c, 100) : 0) +
		       STORE_CHUNK_SIZE;
	case 9:
		return DIFF_FAR_OFFSET + diff_below(c, 3 * STORE_CHUNK_SIZE);
	case 10:
		return DIFF_SPARSE_SIZE - diff_below(c, 2 * STORE_CHUNK_SIZE);
	default:
		return diff_below(c, 4 << 20);
	}
}

static uint32_t diff_pick_len(struct diff_ctx *c)
{
	uint64_t r = diff_below(c, 100);

	if (r < 2)
		return 0;
	if (r < 50)
		return 1 + (uint32_t)diff_below(c, 4096);
	if (r < 85)
		return 1 + (uint32_t)diff_below(c, 200000);
	if (r < 92)
		return STORE_CHUNK_SIZE;
	return r < 96 ? WIRE_DATA_MAX : 1 + (uint32_t)diff_below(c, WIRE_DATA_MAX);
}

static void diff_fill(struct diff_ctx *c, uint8_t *p, size_t len)
{
	uint64_t r = diff_below(c, 10);

	if (r == 0) {
		memset(p, 0, len);
	} else if (r == 1) {
		memset(p, (int)(1 + diff_below(c, 255)), len);
	} else {
		for (size_t i = 0; i < len; i += 8) {
			uint64_t v = diff_rand(c);
			memcpy(p + i, &v, len - i < 8 ? len - i : 8);
		}
	}
}

/* A regular file for data ops: mostly linked, sometimes unlinked-but-open, gone, or (VFS) a directory. */
static uint64_t diff_pick_file(struct diff_ctx *c, bool allow_dir)
{
	uint64_t r = diff_below(c, 100), ino = 0;

	if (r < 40 && diff_alive(c, c->focus) && diff_node(c, c->focus)->type == S_IFREG && diff_reachable(c, c->focus))
		return c->focus;
	r = diff_below(c, 100);
	if (r < 20)
		ino = diff_pick_node(c, DIFF_W_REG | DIFF_W_OPEN);
	else if (r < 25)
		ino = diff_pick_node(c, DIFF_W_REG | DIFF_W_DEAD);
	else if (r < 28 && allow_dir && c->opt->vfs_errors)
		ino = diff_pick_node(c, DIFF_W_DIR | DIFF_W_LINKED);
	if (!ino)
		ino = diff_pick_node(c, DIFF_W_REG | DIFF_W_ALIVE);
	return ino;
}

static void diff_gen_xattr_name(struct diff_ctx *c, struct wire_fs_op *op)
{
	uint64_t r = diff_below(c, 100);
	uint32_t len;

	if (r < 5) {
		len = WIRE_XATTR_NAME_MAX;
	} else if (r < 9) {
		len = WIRE_XATTR_NAME_MAX + 1; /* ERANGE */
	} else if (r < 10) {
		len = 5; /* "user." alone: EINVAL (FUSE passes it on: its handler's prefix is "") */
	} else {
		memcpy(c->xname, "user.", 5);
		const char *n = diff_pool[diff_below(c, 5)];
		memcpy(c->xname + 5, n, strlen(n));
		len = 5 + (uint32_t)strlen(n);
		c->xname[len] = 0;
		op->name = c->xname;
		op->name_len = len;
		return;
	}
	memcpy(c->xname, "user.", 5);
	memset(c->xname + 5, 'x', len - 5);
	c->xname[len] = 0;
	op->name = c->xname;
	op->name_len = len;
}

/* A target for xattr ops: regular files and directories, sometimes other types (EPERM) or gone inodes. */
static uint64_t diff_pick_xattr_target(struct diff_ctx *c)
{
	uint64_t r = diff_below(c, 100), ino = 0;

	if (r < 5)
		ino = diff_pick_node(c, DIFF_W_REG | DIFF_W_DIR | DIFF_W_DEAD);
	else if (r < 10 && c->opt->vfs_errors)
		ino = diff_pick_node(c, DIFF_W_LNK | DIFF_W_SPECIAL | DIFF_W_LINKED);
	else if (r < 15)
		ino = diff_pick_node(c, DIFF_W_REG | DIFF_W_OPEN);
	else if (r < 20)
		ino = WIRE_INO_ROOT;
	if (!ino)
		ino = diff_pick_node(c, DIFF_W_REG | DIFF_W_DIR | DIFF_W_LINKED);
	return ino ? ino : WIRE_INO_ROOT;
}

/* A directory below dir (dir itself included), for renames into their own subtree. */
static uint64_t diff_pick_descendant(struct diff_ctx *c, uint64_t dir)
{
	uint64_t pick = dir, seen = 1;

	for (uint64_t ino = 1; ino < c->node_cap; ino++) {
		struct diff_node *n = diff_node(c, ino);
		if (!n || n->dead || n->type != S_IFDIR || ino == dir)
			continue;
		uint64_t up = ino;
		while (up != WIRE_INO_ROOT && up != dir)
			up = diff_node(c, up)->dir_parent;
		if (up == dir && diff_below(c, ++seen) == 0)
			pick = ino;
	}
	return pick;
}

static void diff_gen_rename(struct diff_ctx *c, struct wire_fs_op *op)
{
	ssize_t src = diff_percent(c, 85) ? diff_pick_ent(c, diff_percent(c, 40) ? DIFF_W_DIR : 0) : -1;
	uint64_t r = diff_below(c, 100);

	if (src >= 0) {
		op->parent = c->ents[src].parent;
		op->name_len = c->ents[src].name_len;
		memcpy(c->name, c->ents[src].name, op->name_len);
	} else {
		op->parent = diff_pick_parent(c);
		op->name_len = diff_pick_name(c, c->name);
	}
	op->new_name = c->new_name;
	if (src >= 0 && r < 12 && diff_node(c, c->ents[src].ino)->type == S_IFDIR) {
		/* Into its own subtree (EINVAL), or onto one of its ancestors (ENOTEMPTY / EINVAL). */
		uint64_t dir = c->ents[src].ino;
		if (diff_percent(c, 70)) {
			op->new_parent = diff_pick_descendant(c, dir);
			op->new_name_len = diff_pick_name(c, c->new_name);
		} else {
			uint64_t anc = c->ents[src].parent;
			const struct diff_ent *e = anc == WIRE_INO_ROOT ? NULL : diff_ent_naming(c, anc);
			if (e) {
				op->new_parent = e->parent;
				op->new_name_len = e->name_len;
				memcpy(c->new_name, e->name, e->name_len);
			} else {
				op->new_parent = WIRE_INO_ROOT;
				op->new_name_len = diff_pick_name(c, c->new_name);
			}
		}
	} else if (src >= 0 && r < 16) {
		/* Onto itself, or onto another name of the same inode: nothing happens. */
		ssize_t other = -1;
		for (size_t i = 0; i < c->ent_count; i++)
			if ((ssize_t)i != src && c->ents[i].ino == c->ents[src].ino)
				other = (ssize_t)i;
		if (other < 0 || diff_percent(c, 40))
			other = src;
		op->new_parent = c->ents[other].parent;
		op->new_name_len = c->ents[other].name_len;
		memcpy(c->new_name, c->ents[other].name, op->new_name_len);
	} else {
		diff_gen_target(c, 45, &op->new_parent, c->new_name, &op->new_name_len);
	}
	r = diff_below(c, 100);
	op->flags = r < 55 ? 0 : r < 75 ? RENAME_NOREPLACE : RENAME_EXCHANGE;
	if (c->opt->vfs_errors && r == 99)
		op->flags = RENAME_NOREPLACE | RENAME_EXCHANGE;
	if (!diff_reachable(c, op->new_parent))
		op->new_parent = WIRE_INO_ROOT;
}

static void diff_gen_setattr(struct diff_ctx *c, struct wire_fs_op *op)
{
	uint64_t r = diff_below(c, 100), ino = 0;
	struct diff_node *n;

	if (r < 5)
		ino = diff_pick_node(c, DIFF_W_ANYTYPE | DIFF_W_DEAD);
	else if (r < 7)
		ino = DIFF_UNKNOWN_INO;
	else if (r < 15)
		ino = diff_pick_node(c, DIFF_W_REG | DIFF_W_OPEN);
	else if (r < 20)
		ino = WIRE_INO_ROOT;
	if (!ino && r < 45)
		ino = diff_pick_file(c, false);
	if (!ino)
		ino = diff_pick_node(c, DIFF_W_ANYTYPE | DIFF_W_LINKED);
	op->ino = ino ? ino : WIRE_INO_ROOT;
	n = diff_node(c, op->ino);
	uint32_t type = n ? n->type : S_IFREG;

	for (;;) {
		r = diff_below(c, 4);
		if (r == 0 && type != S_IFLNK) { /* chmod follows symlinks; Linux cannot chmod one */
			op->valid = WIRE_SET_MODE;
			op->mode = diff_pick_perm(c);
			return;
		}
		if (r == 1) {
			uint64_t which = diff_below(c, 3);
			op->valid = which == 0 ? WIRE_SET_UID : which == 1 ? WIRE_SET_GID : WIRE_SET_UID | WIRE_SET_GID;
			op->set_uid = diff_pick_id(c);
			op->set_gid = diff_pick_id(c);
			return;
		}
		if (r == 2 && (type == S_IFREG || (c->opt->vfs_errors && type != S_IFLNK && diff_percent(c, 30)))) {
			static const uint64_t sizes[] = { 0,
				                          1,
				                          4095,
				                          4096,
				                          STORE_CHUNK_SIZE - 1,
				                          STORE_CHUNK_SIZE,
				                          STORE_CHUNK_SIZE + 1,
				                          3 << 20,
				                          DIFF_SPARSE_SIZE,
				                          DIFF_FAR_OFFSET + 12345 };
			op->valid = WIRE_SET_SIZE;
			if (diff_percent(c, 2))
				op->size = WIRE_FILE_SIZE_MAX;
			else if (diff_percent(c, 50))
				op->size = sizes[diff_below(c, sizeof(sizes) / sizeof(sizes[0]))];
			else
				op->size = diff_below(c, 2) ? diff_below(c, diff_size_of(c, op->ino) + 1)
				                            : diff_below(c, 4 << 20);
			uint32_t mode = diff_mode_of(c, op->ino);
			if (S_ISREG(mode) && (mode & S_ISUID || (mode & S_ISGID && mode & S_IXGRP)) &&
			    diff_percent(c, 50))
				op->kill_suidgid = true; /* truncated by a caller without CAP_FSETID */
			return;
		}
		if (r == 3) {
			uint64_t which = diff_below(c, 3);
			op->valid = which == 0   ? WIRE_SET_ATIME
			            : which == 1 ? WIRE_SET_MTIME
			                         : WIRE_SET_ATIME | WIRE_SET_MTIME;
			op->atime = (int64_t)diff_below(c, 1ULL << 61) - (1LL << 59);
			op->mtime = (int64_t)diff_below(c, 1ULL << 61) - (1LL << 59);
			return;
		}
	}
}

/* Fills op with a random op; returns its kind. */
static int diff_gen(struct diff_ctx *c, struct wire_fs_op *op)
{
	static const struct {
		int kind;
		unsigned weight;
	} mix[] = {
		{ WIRE_FS_CREATE, 10 },     { WIRE_FS_MKDIR, 8 },      { WIRE_FS_SYMLINK, 4 },
		{ WIRE_FS_LINK, 5 },        { WIRE_FS_UNLINK, 8 },     { WIRE_FS_RMDIR, 5 },
		{ WIRE_FS_RENAME, 13 },     { WIRE_FS_SETATTR, 11 },   { WIRE_FS_WRITE, 12 },
		{ WIRE_FS_FALLOCATE, 4 },   { WIRE_FS_COPY_RANGE, 4 }, { WIRE_FS_SETXATTR, 6 },
		{ WIRE_FS_REMOVEXATTR, 3 }, { WIRE_FS_OPEN, 3 },       { WIRE_FS_CREATE_OPEN, 4 },
		{ WIRE_FS_RELEASE, 4 },     { DIFF_READ, 3 },          { DIFF_LOOKUP, 3 },
		{ DIFF_EVICT, 1 },
	};
	unsigned total = 0, r;
	int kind = 0;

	for (size_t i = 0; i < sizeof(mix) / sizeof(mix[0]); i++)
		total += mix[i].weight;
	r = (unsigned)diff_below(c, total);
	for (size_t i = 0; i < sizeof(mix) / sizeof(mix[0]); i++) {
		if (r < mix[i].weight) {
			kind = mix[i].kind;
			break;
		}
		r -= mix[i].weight;
	}
	if (kind == DIFF_EVICT && diff_percent(c, 70))
		kind = WIRE_FS_RELEASE; /* keep evictions rare */

	memset(op, 0, sizeof(*op));
	op->uid = 0;
	op->gid = 0;
	op->name = c->name;
	c->client = 1 + diff_below(c, DIFF_CLIENTS);
	switch (kind) {
	case WIRE_FS_CREATE: {
		static const uint32_t types[] = { S_IFREG, S_IFREG, S_IFREG,  S_IFREG, S_IFREG,
			                          S_IFREG, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK };
		uint32_t type = types[diff_below(c, 10)];
		diff_gen_target(c, 15, &op->parent, c->name, &op->name_len);
		if (c->opt->vfs_errors && diff_percent(c, 2))
			type = diff_below(c, 2) ? S_IFDIR : S_IFLNK;
		op->mode = type | diff_pick_perm(c);
		if (type == S_IFCHR || type == S_IFBLK)
			op->rdev = makedev(1 + diff_below(c, 300), diff_below(c, 70000));
		else if (diff_percent(c, 3))
			op->rdev = makedev(8, 1); /* ignored by Linux for other types */
		break;
	}
	case WIRE_FS_MKDIR:
		diff_gen_target(c, 15, &op->parent, c->name, &op->name_len);
		op->mode = S_IFDIR | diff_pick_perm(c);
		if (!c->opt->vfs_errors)
			op->mode &= ~(uint32_t)(S_ISUID | S_ISGID); /* mkdir(2) drops them before FUSE */
		break;
	case WIRE_FS_SYMLINK: {
		uint64_t r2 = diff_below(c, 100);
		diff_gen_target(c, 15, &op->parent, c->name, &op->name_len);
		op->data = c->data;
		if (r2 < 70) {
			static const char *const targets[] = { "a", "../b", "/etc/passwd", "x/y/z", "sp ace", ".", "" };
			const char *t = targets[diff_below(c, 6)];
			op->data_len = (uint32_t)strlen(t);
			memcpy(c->data, t, op->data_len);
		} else {
			op->data_len = r2 < 85   ? 1 + (uint32_t)diff_below(c, 300)
			               : r2 < 92 ? 1 + (uint32_t)diff_below(c, WIRE_SYMLINK_MAX)
			               : r2 < 96 ? WIRE_SYMLINK_MAX
			                         : WIRE_SYMLINK_MAX + 1; /* ENAMETOOLONG */
			for (uint32_t i = 0; i < op->data_len; i++)
				c->data[i] = (uint8_t)('!' + diff_below(c, 94));
		}
		if (c->opt->vfs_errors && diff_percent(c, 1))
			op->data_len = 0; /* ENOENT */
		break;
	}
	case WIRE_FS_LINK: {
		uint64_t r2 = diff_below(c, 100);
		op->ino = 0;
		if (r2 < 5 && c->opt->vfs_errors)
			op->ino = diff_pick_node(c, DIFF_W_DIR | DIFF_W_LINKED);
		else if (r2 < 10)
			op->ino = diff_pick_node(c, DIFF_W_ANYTYPE | DIFF_W_DEAD);
		else if (r2 < 15)
			op->ino = diff_pick_node(c, DIFF_W_REG | DIFF_W_OPEN);
		if (!op->ino)
			op->ino = diff_pick_node(c, DIFF_W_REG | DIFF_W_LNK | DIFF_W_SPECIAL | DIFF_W_LINKED);
		if (!op->ino)
			op->ino = DIFF_UNKNOWN_INO;
		diff_gen_target(c, 20, &op->parent, c->name, &op->name_len);
		break;
	}
	case WIRE_FS_UNLINK:
	case WIRE_FS_RMDIR: {
		unsigned want = 0;
		if (kind == WIRE_FS_RMDIR && diff_percent(c, 70))
			want = DIFF_W_DIR;
		if (kind == WIRE_FS_UNLINK && diff_percent(c, 30))
			want = DIFF_W_REG | DIFF_W_OPEN;
		ssize_t e = diff_percent(c, 78) ? diff_pick_ent(c, want) : -1;
		if (e < 0 && want)
			e = diff_pick_ent(c, 0);
		if (e >= 0 && diff_percent(c, 90)) {
			op->parent = c->ents[e].parent;
			op->name_len = c->ents[e].name_len;
			memcpy(c->name, c->ents[e].name, op->name_len);
		} else {
			op->parent = diff_pick_parent(c);
			op->name_len = diff_pick_name(c, c->name);
		}
		break;
	}
	case WIRE_FS_RENAME:
		diff_gen_rename(c, op);
		break;
	case WIRE_FS_SETATTR:
		diff_gen_setattr(c, op);
		break;
	case WIRE_FS_WRITE: {
		op->ino = diff_pick_file(c, true);
		if (!op->ino)
			op->ino = DIFF_UNKNOWN_INO;
		uint64_t size = diff_size_of(c, op->ino);
		op->data_len = diff_pick_len(c);
		op->offset = diff_percent(c, 2) ? WIRE_FILE_SIZE_MAX - op->data_len : diff_pick_offset(c, size);
		if (op->offset + op->data_len > WIRE_FILE_SIZE_MAX) /* EFBIG beyond: a documented difference */
			op->offset = WIRE_FILE_SIZE_MAX - op->data_len;
		op->data = c->data;
		diff_fill(c, c->data, op->data_len);
		uint32_t mode = diff_mode_of(c, op->ino);
		if (S_ISREG(mode) && op->data_len > 0 && (mode & S_ISUID || (mode & S_ISGID && mode & S_IXGRP)) &&
		    diff_percent(c, 50))
			op->kill_suidgid = true; /* written by a caller without CAP_FSETID */
		break;
	}
	case WIRE_FS_FALLOCATE: {
		uint64_t r2 = diff_below(c, 100);
		op->ino = diff_pick_file(c, true);
		if (!op->ino)
			op->ino = DIFF_UNKNOWN_INO;
		op->flags = r2 < 40 ? 0 : r2 < 70 ? FALLOC_FL_KEEP_SIZE : FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
		op->offset = diff_pick_offset(c, diff_size_of(c, op->ino));
		r2 = diff_below(c, 100);
		op->length = r2 < 35   ? 1 + diff_below(c, 8192) /* inside one chunk, often inside data */
		             : r2 < 60 ? 1 + diff_below(c, 200000)
		             : r2 < 80 ? STORE_CHUNK_SIZE * (1 + diff_below(c, 40))
		                       : 1 + diff_below(c, 4 << 20);
		if (diff_percent(c, 50) && diff_size_of(c, op->ino) > 0)
			op->offset = diff_below(c, diff_size_of(c, op->ino));
		if (op->offset + op->length > WIRE_FILE_SIZE_MAX)
			op->offset = WIRE_FILE_SIZE_MAX - op->length;
		/* Argument errors only on a live file: the kernel side must open it before fallocate(2) checks them. */
		if (c->opt->vfs_errors && diff_percent(c, 4) && S_ISREG(diff_mode_of(c, op->ino))) {
			if (diff_below(c, 2))
				op->length = 0; /* EINVAL */
			else
				op->flags = FALLOC_FL_PUNCH_HOLE; /* EOPNOTSUPP */
		}
		break;
	}
	case WIRE_FS_COPY_RANGE: {
		op->ino = diff_pick_file(c, true);
		op->target_ino = diff_percent(c, 30) ? op->ino : diff_pick_file(c, true);
		/* A directory on one side (EISDIR from the VFS) goes with a live file on the other: with real
		 * fds the kernel never sees a directory and a gone inode together. */
		if (S_ISDIR(diff_mode_of(c, op->ino)) || S_ISDIR(diff_mode_of(c, op->target_ino))) {
			uint64_t *other = S_ISDIR(diff_mode_of(c, op->ino)) ? &op->target_ino : &op->ino;
			if (!S_ISREG(diff_mode_of(c, *other)))
				*other = diff_pick_node(c, DIFF_W_REG | DIFF_W_ALIVE);
			if (!*other)
				op->ino = op->target_ino = 0; /* no file at all: both gone */
		}
		if (!op->ino)
			op->ino = DIFF_UNKNOWN_INO;
		if (!op->target_ino)
			op->target_ino = DIFF_UNKNOWN_INO;
		uint64_t size = diff_size_of(c, op->ino);
		op->offset = diff_percent(c, 80) && size ? diff_below(c, size) : diff_pick_offset(c, size);
		op->length = diff_percent(c, 3) ? 0 : 1 + diff_below(c, diff_percent(c, 50) ? 65536 : 2 << 20);
		if (op->target_ino == op->ino && diff_percent(c, 50))
			op->target_offset =
			        op->offset + diff_below(c, op->length + 1) - diff_below(c, op->length + 1) / 2;
		else
			op->target_offset = diff_pick_offset(c, diff_size_of(c, op->target_ino));
		if (op->target_offset > (1ULL << 40))
			op->target_offset = diff_below(c, 1 << 20);
		break;
	}
	case WIRE_FS_SETXATTR: {
		uint64_t r2 = diff_below(c, 100);
		op->ino = diff_pick_xattr_target(c);
		diff_gen_xattr_name(c, op);
		op->data = c->data;
		op->data_len = r2 < 80   ? 1 + (uint32_t)diff_below(c, 64)
		               : r2 < 90 ? 1 + (uint32_t)diff_below(c, 4096)
		               : r2 < 95 ? WIRE_XATTR_VALUE_MAX
		                         : WIRE_XATTR_VALUE_MAX + 1; /* E2BIG */
		diff_fill(c, c->data, op->data_len);
		r2 = diff_below(c, 4);
		op->flags = r2 < 2 ? 0 : r2 == 2 ? XATTR_CREATE : XATTR_REPLACE;
		break;
	}
	case WIRE_FS_REMOVEXATTR:
		op->ino = diff_pick_xattr_target(c);
		diff_gen_xattr_name(c, op);
		if (c->xset_count && diff_percent(c, 60)) {
			uint64_t i = diff_below(c, c->xset_count < 8 ? c->xset_count : 8);
			op->ino = c->xset[i].ino;
			op->name_len = c->xset[i].name_len;
			memcpy(c->xname, c->xset[i].name, op->name_len);
			c->xname[op->name_len] = 0;
			if (!diff_reachable(c, op->ino))
				op->ino = WIRE_INO_ROOT;
		}
		break;
	case WIRE_FS_OPEN: {
		uint64_t r2 = diff_below(c, 100);
		if (c->handle_count == DIFF_HANDLES_MAX)
			return diff_gen(c, op);
		op->ino = 0;
		if (r2 < 8)
			op->ino = diff_pick_node(c, DIFF_W_REG | DIFF_W_DEAD);
		else if (r2 < 16)
			op->ino = diff_pick_node(c, DIFF_W_REG | DIFF_W_OPEN);
		if (!op->ino)
			op->ino = diff_pick_node(c, DIFF_W_REG | DIFF_W_LINKED);
		if (!op->ino)
			return diff_gen(c, op);
		op->handle = ++c->handle_next;
		break;
	}
	case WIRE_FS_CREATE_OPEN: {
		/* A regular file (a mode without a type is one); rarely another type, which the store refuses. */
		static const uint32_t others[] = { S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK, S_IFDIR, S_IFLNK };
		if (c->handle_count == DIFF_HANDLES_MAX)
			return diff_gen(c, op);
		diff_gen_target(c, 15, &op->parent, c->name, &op->name_len);
		uint32_t type = diff_percent(c, 80) ? S_IFREG : 0;
		if (c->opt->vfs_errors && diff_percent(c, 2))
			type = others[diff_below(c, sizeof(others) / sizeof(others[0]))];
		op->mode = type | diff_pick_perm(c);
		op->handle = ++c->handle_next;
		break;
	}
	case WIRE_FS_RELEASE: {
		if (c->handle_count == 0)
			return diff_gen(c, op);
		struct diff_handle *h = &c->handles[diff_below(c, c->handle_count)];
		op->ino = h->ino;
		op->handle = h->handle;
		c->client = h->client;
		break;
	}
	case DIFF_EVICT:
		break;
	case DIFF_READ:
		op->ino = diff_pick_node(c, DIFF_W_REG | DIFF_W_ALIVE);
		if (!op->ino)
			return diff_gen(c, op);
		op->offset = diff_pick_offset(c, diff_size_of(c, op->ino));
		op->length = diff_pick_len(c);
		break;
	case DIFF_LOOKUP:
		diff_gen_target(c, 50, &op->parent, c->name, &op->name_len);
		break;
	default:
		DIFF_ASSERT(0);
	}
	return kind;
}

/* ---------------------------------------------------------------- applying to the kernel */

static int diff_err(long r)
{
	return r < 0 ? errno : 0;
}

/* Opens the kernel side of ino for data ops; returns an fd the caller closes (when *owned), or -errno. */
static int diff_kopen(struct diff_ctx *c, uint64_t ino, int flags, bool *owned, char *path, size_t cap)
{
	int fd;
	enum diff_access at = diff_access(c, ino, path, cap, &fd);

	*owned = false;
	if (at == DIFF_AT_FD)
		return fd;
	fd = open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*owned = true;
	return fd;
}

static int diff_kernel_setattr(struct diff_ctx *c, const struct wire_fs_op *op, char *path, size_t cap)
{
	int fd;
	enum diff_access at = diff_access(c, op->ino, path, cap, &fd);
	bool byfd = at == DIFF_AT_FD;

	if (op->valid & WIRE_SET_MODE)
		return diff_err(byfd ? fchmod(fd, op->mode & 07777) : chmod(path, op->mode & 07777));
	if (op->valid & (WIRE_SET_UID | WIRE_SET_GID)) {
		uid_t u = op->valid & WIRE_SET_UID ? op->set_uid : (uid_t)-1;
		gid_t g = op->valid & WIRE_SET_GID ? op->set_gid : (gid_t)-1;
		return diff_err(byfd ? fchown(fd, u, g) : lchown(path, u, g));
	}
	if (op->valid & WIRE_SET_SIZE && op->kill_suidgid) {
		/* ftruncate by a caller without CAP_FSETID in the file's group, on an fd root opened. */
		bool owned;
		struct stat st;
		int e, wfd = diff_kopen(c, op->ino, O_WRONLY, &owned, path, cap);
		if (wfd < 0)
			return -wfd;
		DIFF_ASSERT(fstat(wfd, &st) == 0);
		setfsgid(st.st_gid);
		setfsuid(65534);
		e = diff_err(ftruncate(wfd, (off_t)op->size));
		setfsuid(0);
		setfsgid(0);
		if (owned)
			close(wfd);
		return e;
	}
	if (op->valid & WIRE_SET_SIZE)
		return diff_err(byfd ? ftruncate(fd, (off_t)op->size) : truncate(path, (off_t)op->size));
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
	int64_t t[2] = { op->atime, op->mtime };
	for (int i = 0; i < 2; i++) {
		if (!(op->valid & (i ? WIRE_SET_MTIME : WIRE_SET_ATIME)))
			continue;
		ts[i].tv_sec = t[i] / 1000000000;
		ts[i].tv_nsec = t[i] % 1000000000;
		if (ts[i].tv_nsec < 0) {
			ts[i].tv_nsec += 1000000000;
			ts[i].tv_sec--;
		}
	}
	return diff_err(byfd ? futimens(fd, ts) : utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW));
}

static int diff_kernel_write(struct diff_ctx *c, const struct wire_fs_op *op, struct diff_kres *kr, char *path,
                             size_t cap)
{
	bool owned;
	int fd = diff_kopen(c, op->ino, O_WRONLY, &owned, path, cap), e;
	ssize_t n;

	if (fd < 0)
		return -fd;
	if (op->kill_suidgid) {
		/* A caller without CAP_FSETID in the file's group: the kernel drops suid, and sgid when group-exec. */
		struct stat st;
		DIFF_ASSERT(fstat(fd, &st) == 0);
		setfsgid(st.st_gid);
		setfsuid(65534);
	}
	n = pwrite(fd, op->data, op->data_len, (off_t)op->offset);
	e = n < 0 ? errno : 0;
	if (op->kill_suidgid) {
		setfsuid(0);
		setfsgid(0);
	}
	kr->written = n;
	if (owned)
		close(fd);
	return e;
}

static int diff_kernel_copy(struct diff_ctx *c, const struct wire_fs_op *op, struct diff_kres *kr, char *path,
                            size_t cap)
{
	char path2[PATH_MAX];
	bool own_in, own_out;
	int in = diff_kopen(c, op->ino, O_RDONLY, &own_in, path, cap), out, e;
	ssize_t n;
	loff_t off_in = (loff_t)op->offset, off_out = (loff_t)op->target_offset;

	if (in < 0)
		return -in;
	out = diff_kopen(c, op->target_ino, O_WRONLY, &own_out, path2, sizeof(path2));
	if (out < 0) {
		if (own_in)
			close(in);
		return -out;
	}
	n = copy_file_range(in, &off_in, out, &off_out, op->length, 0);
	e = n < 0 ? errno : 0;
	kr->written = n;
	if (own_in)
		close(in);
	if (own_out)
		close(out);
	return e;
}

/* Applies op to the kernel; returns the errno (0: success). */
static int diff_kernel(struct diff_ctx *c, int kind, const struct wire_fs_op *op, struct diff_kres *kr)
{
	char p1[PATH_MAX], p2[PATH_MAX], f1[PATH_MAX], f2[PATH_MAX];
	char tmp[WIRE_SYMLINK_MAX + 2], xname[WIRE_XATTR_NAME_MAX + 2];
	struct stat st;
	int fd, e = 0;
	bool owned;

	p1[0] = p2[0] = 0;
	memset(kr, 0, sizeof(*kr));
	kr->fd = -1;
	switch (kind) {
	case WIRE_FS_CREATE:
	case WIRE_FS_MKDIR:
	case WIRE_FS_SYMLINK:
		diff_child_path(c, op->parent, op->name, op->name_len, p1, sizeof(p1));
		if (kind == WIRE_FS_CREATE) {
			e = diff_err(mknodat(AT_FDCWD, p1, op->mode, op->rdev));
		} else if (kind == WIRE_FS_MKDIR) {
			e = diff_err(mkdirat(AT_FDCWD, p1, op->mode & 07777));
		} else {
			memcpy(tmp, op->data, op->data_len);
			tmp[op->data_len] = 0;
			e = diff_err(symlinkat(tmp, AT_FDCWD, p1));
		}
		if (e == 0) {
			DIFF_ASSERT(lstat(p1, &st) == 0);
			kr->kino = st.st_ino;
		}
		break;
	case WIRE_FS_LINK: {
		enum diff_access at = diff_access(c, op->ino, p2, sizeof(p2), &fd);
		diff_child_path(c, op->parent, op->name, op->name_len, p1, sizeof(p1));
		if (at == DIFF_AT_FD)
			e = diff_err(linkat(fd, "", AT_FDCWD, p1, AT_EMPTY_PATH));
		else
			e = diff_err(linkat(AT_FDCWD, p2, AT_FDCWD, p1, 0));
		break;
	}
	case WIRE_FS_UNLINK:
	case WIRE_FS_RMDIR:
		diff_child_path(c, op->parent, op->name, op->name_len, p1, sizeof(p1));
		e = diff_err(unlinkat(AT_FDCWD, p1, kind == WIRE_FS_RMDIR ? AT_REMOVEDIR : 0));
		break;
	case WIRE_FS_RENAME:
		diff_child_path(c, op->parent, op->name, op->name_len, p1, sizeof(p1));
		diff_child_path(c, op->new_parent, op->new_name, op->new_name_len, p2, sizeof(p2));
		e = diff_err(renameat2(AT_FDCWD, p1, AT_FDCWD, p2, op->flags));
		break;
	case WIRE_FS_SETATTR:
		e = diff_kernel_setattr(c, op, p1, sizeof(p1));
		break;
	case WIRE_FS_WRITE:
		e = diff_kernel_write(c, op, kr, p1, sizeof(p1));
		break;
	case WIRE_FS_FALLOCATE:
		fd = diff_kopen(c, op->ino, O_WRONLY, &owned, p1, sizeof(p1));
		if (fd < 0) {
			e = -fd;
			break;
		}
		e = diff_err(fallocate(fd, (int)op->flags, (off_t)op->offset, (off_t)op->length));
		if (owned)
			close(fd);
		break;
	case WIRE_FS_COPY_RANGE:
		e = diff_kernel_copy(c, op, kr, p1, sizeof(p1));
		break;
	case WIRE_FS_SETXATTR:
	case WIRE_FS_REMOVEXATTR: {
		enum diff_access at = diff_access(c, op->ino, p1, sizeof(p1), &fd);
		memcpy(xname, op->name, op->name_len);
		xname[op->name_len] = 0;
		if (kind == WIRE_FS_SETXATTR)
			e = diff_err(at == DIFF_AT_FD ? fsetxattr(fd, xname, op->data, op->data_len, (int)op->flags)
			                              : lsetxattr(p1, xname, op->data, op->data_len, (int)op->flags));
		else
			e = diff_err(at == DIFF_AT_FD ? fremovexattr(fd, xname) : lremovexattr(p1, xname));
		break;
	}
	case WIRE_FS_OPEN:
		diff_access(c, op->ino, p1, sizeof(p1), &fd);
		kr->fd = open(p1, O_RDWR | O_NONBLOCK | O_CLOEXEC | (fd < 0 ? O_NOFOLLOW : 0));
		e = kr->fd < 0 ? errno : 0;
		break;
	case WIRE_FS_CREATE_OPEN:
		diff_child_path(c, op->parent, op->name, op->name_len, p1, sizeof(p1));
		/* open(2) cannot ask for another type (it makes S_IFREG itself): the store's contract,
		 * EINVAL before the parent and the name are looked at, stands in for the kernel. */
		if (op->mode & S_IFMT && !S_ISREG(op->mode)) {
			e = EINVAL;
			break;
		}
		kr->fd = open(p1, O_CREAT | O_EXCL | O_RDWR | O_NONBLOCK | O_CLOEXEC, op->mode & 07777);
		e = kr->fd < 0 ? errno : 0;
		if (e == 0) {
			DIFF_ASSERT(fstat(kr->fd, &st) == 0);
			kr->kino = st.st_ino;
		}
		break;
	case WIRE_FS_RELEASE:
	case DIFF_EVICT:
		break; /* the fds close after the store has applied the op */
	default:
		DIFF_ASSERT(0);
	}
	diff_fmt_path(c, f1, sizeof(f1), p1);
	diff_fmt_path(c, f2, sizeof(f2), p2);
	snprintf(c->kdesc, sizeof(c->kdesc), "%s%s%s -> %s", f1, p2[0] ? " , " : "", f2, diff_errname(e));
	return e;
}

/* ---------------------------------------------------------------- applying to the store */

static void diff_res_same(struct diff_ctx *c, const struct wire_fs_result *a, const struct wire_fs_result *b)
{
	if (a->err != b->err || a->written != b->written || memcmp(&a->attr.ino, &b->attr.ino, sizeof(uint64_t)) ||
	    a->attr.mode != b->attr.mode || a->attr.nlink != b->attr.nlink || a->attr.uid != b->attr.uid ||
	    a->attr.gid != b->attr.gid || a->attr.rdev != b->attr.rdev || a->attr.size != b->attr.size ||
	    a->attr.blocks != b->attr.blocks || a->attr.atime != b->attr.atime || a->attr.mtime != b->attr.mtime ||
	    a->attr.ctime != b->attr.ctime)
		diff_fail(c,
		          "D5: two stores fed the same ops return different results (err %d/%d, ino %" PRIu64
		          "/%" PRIu64 ", size %" PRIu64 "/%" PRIu64 ")",
		          a->err, b->err, a->attr.ino, b->attr.ino, a->attr.size, b->attr.size);
}

static uint64_t diff_store_apply(struct diff_ctx *c, const struct wire_fs_op *op, uint64_t evicted,
                                 struct wire_fs_result *res)
{
	struct store_apply_ctx actx = {
		.op = store_commit(c->s) + 1,
		.now = c->now,
		.client_id = c->client,
		.evicted_client = evicted,
	};
	int r;

	memset(res, 0, sizeof(*res));
	r = store_apply(c->s, &actx, op, NULL, res);
	if (r)
		diff_fail(c, "store_apply returned %d (STORE_BROKEN is %d)", r, STORE_BROKEN);
	if (store_commit(c->s) != actx.op)
		diff_fail(c, "store_commit is %" PRIu64 " after applying op %" PRIu64, store_commit(c->s), actx.op);
	if (res->err > 0 || res->err < -4095)
		diff_fail(c, "store result err %d is not 0 or -errno", res->err);
	if (c->replay) {
		struct wire_fs_result res2;
		memset(&res2, 0, sizeof(res2));
		r = store_apply(c->replay, &actx, op, NULL, &res2);
		if (r)
			diff_fail(c, "replay store: store_apply returned %d", r);
		diff_res_same(c, res, &res2);
	}
	return actx.op;
}

/* ---------------------------------------------------------------- the model follows the kernel */

static void diff_handle_close(struct diff_ctx *c, size_t i)
{
	uint64_t ino = c->handles[i].ino;

	DIFF_ASSERT(i < c->handle_count);
	close(c->handles[i].fd);
	c->handles[i] = c->handles[--c->handle_count];
	DIFF_ASSERT(diff_node(c, ino)->handles > 0);
	diff_node(c, ino)->handles--;
	diff_node_settle(c, ino);
}

/* A handle the current client opened on ino (OPEN, CREATE_OPEN): it keeps the kernel's fd. */
static void diff_handle_add(struct diff_ctx *c, uint64_t handle, uint64_t ino, int fd)
{
	DIFF_ASSERT(c->handle_count < DIFF_HANDLES_MAX);
	DIFF_ASSERT(fd >= 0);
	c->handles[c->handle_count++] =
	        (struct diff_handle){ .handle = handle, .ino = ino, .client = c->client, .fd = fd };
	diff_node(c, ino)->handles++;
}

static void diff_model_rename(struct diff_ctx *c, const struct wire_fs_op *op)
{
	ssize_t src = diff_ent_find(c, op->parent, op->name, op->name_len);
	ssize_t dst = diff_ent_find(c, op->new_parent, op->new_name, op->new_name_len);

	DIFF_ASSERT(src >= 0);
	if (dst >= 0 && c->ents[dst].ino == c->ents[src].ino)
		return; /* the same inode: rename(2) does nothing */
	if (op->flags & RENAME_EXCHANGE) {
		DIFF_ASSERT(dst >= 0);
		uint64_t a = c->ents[src].ino, b = c->ents[dst].ino;
		c->ents[src].ino = b;
		c->ents[dst].ino = a;
		if (diff_node(c, a)->type == S_IFDIR)
			diff_node(c, a)->dir_parent = c->ents[dst].parent;
		if (diff_node(c, b)->type == S_IFDIR)
			diff_node(c, b)->dir_parent = c->ents[src].parent;
		return;
	}
	if (dst >= 0) {
		diff_ent_remove(c, (size_t)dst);
		src = diff_ent_find(c, op->parent, op->name, op->name_len);
	}
	struct diff_ent *e = &c->ents[src];
	e->parent = op->new_parent;
	e->name_len = op->new_name_len;
	memcpy(e->name, op->new_name, op->new_name_len);
	e->name[e->name_len] = 0;
	if (diff_node(c, e->ino)->type == S_IFDIR)
		diff_node(c, e->ino)->dir_parent = op->new_parent;
}

/* After a success on both sides: the model takes the kernel's new state. */
static void diff_model(struct diff_ctx *c, int kind, const struct wire_fs_op *op, const struct diff_kres *kr,
                       uint64_t opnum)
{
	ssize_t e;

	switch (kind) {
	case WIRE_FS_CREATE:
	case WIRE_FS_MKDIR:
	case WIRE_FS_SYMLINK: {
		uint32_t type = kind == WIRE_FS_MKDIR ? S_IFDIR : kind == WIRE_FS_SYMLINK ? S_IFLNK : op->mode & S_IFMT;
		diff_node_add(c, WIRE_INO_FROM_OP(opnum), type ? type : S_IFREG, kr->kino, op->parent);
		diff_ent_add(c, op->parent, op->name, op->name_len, WIRE_INO_FROM_OP(opnum));
		break;
	}
	case WIRE_FS_LINK:
		diff_ent_add(c, op->parent, op->name, op->name_len, op->ino);
		break;
	case WIRE_FS_UNLINK:
	case WIRE_FS_RMDIR:
		e = diff_ent_find(c, op->parent, op->name, op->name_len);
		DIFF_ASSERT(e >= 0);
		diff_ent_remove(c, (size_t)e);
		break;
	case WIRE_FS_RENAME:
		diff_model_rename(c, op);
		break;
	case WIRE_FS_CREATE_OPEN:
		diff_node_add(c, WIRE_INO_FROM_OP(opnum), S_IFREG, kr->kino, op->parent);
		diff_ent_add(c, op->parent, op->name, op->name_len, WIRE_INO_FROM_OP(opnum));
		diff_handle_add(c, op->handle, WIRE_INO_FROM_OP(opnum), kr->fd);
		break;
	case WIRE_FS_OPEN:
		diff_handle_add(c, op->handle, op->ino, kr->fd);
		break;
	case WIRE_FS_RELEASE:
		for (size_t i = 0; i < c->handle_count; i++)
			if (c->handles[i].handle == op->handle) {
				diff_handle_close(c, i);
				break;
			}
		break;
	case DIFF_EVICT:
		for (size_t i = c->handle_count; i-- > 0;)
			if (c->handles[i].client == c->client)
				diff_handle_close(c, i);
		break;
	case WIRE_FS_SETXATTR: {
		uint64_t i = c->xset_count++ % 8;
		c->xset[i].ino = op->ino;
		c->xset[i].name_len = op->name_len;
		memcpy(c->xset[i].name, op->name, op->name_len);
		break;
	}
	default:
		break; /* data and attribute ops change no names */
	}
}

/* ---------------------------------------------------------------- one op */

/* The inodes an op may change, collected before it runs (a rename's victim loses its name). */
static size_t diff_touched(struct diff_ctx *c, int kind, const struct wire_fs_op *op, uint64_t *v)
{
	size_t n = 0;
	ssize_t e;

	v[n++] = op->ino;
	v[n++] = op->parent;
	v[n++] = op->new_parent;
	v[n++] = op->target_ino;
	v[n++] = WIRE_INO_FROM_OP(store_commit(c->s) + 1);
	if (op->parent && (e = diff_ent_find(c, op->parent, op->name, op->name_len)) >= 0)
		v[n++] = c->ents[e].ino;
	if (kind == WIRE_FS_RENAME && (e = diff_ent_find(c, op->new_parent, op->new_name, op->new_name_len)) >= 0)
		v[n++] = c->ents[e].ino;
	if (kind == DIFF_EVICT)
		for (size_t i = 0; i < c->handle_count && n < 32; i++)
			v[n++] = c->handles[i].ino;
	return n;
}

/* D2 for the result the store returned: its attr is the store's getattr, and the kernel's (times aside). */
static void diff_check_result(struct diff_ctx *c, int kind, const struct wire_fs_op *op,
                              const struct wire_fs_result *res, uint64_t opnum)
{
	struct wire_attr a;

	if (res->err)
		return;
	if (kind == WIRE_FS_CREATE || kind == WIRE_FS_CREATE_OPEN || kind == WIRE_FS_MKDIR || kind == WIRE_FS_SYMLINK) {
		uint64_t ino = WIRE_INO_FROM_OP(opnum);
		if (res->attr.ino != ino)
			diff_fail(c,
			          "the new inode is %" PRIu64 " in the result, WIRE_INO_FROM_OP(%" PRIu64
			          ") = %" PRIu64,
			          res->attr.ino, opnum, ino);
		if (res->attr.atime != c->now || res->attr.mtime != c->now || res->attr.ctime != c->now)
			diff_fail(c, "a new inode's times are %" PRId64 "/%" PRId64 "/%" PRId64 ", ctx.now is %" PRId64,
			          res->attr.atime, res->attr.mtime, res->attr.ctime, c->now);
	}
	if (kind == WIRE_FS_LINK && res->attr.ino != op->ino)
		diff_fail(c, "link returned the attributes of inode %" PRIu64 ", not of %" PRIu64, res->attr.ino,
		          op->ino);
	if (kind == WIRE_FS_SETATTR && res->attr.ino == op->ino &&
	    ((op->valid & WIRE_SET_ATIME && res->attr.atime != op->atime) ||
	     (op->valid & WIRE_SET_MTIME && res->attr.mtime != op->mtime)))
		diff_fail(c, "setattr times: asked atime %" PRId64 " mtime %" PRId64 ", result %" PRId64 " %" PRId64,
		          op->atime, op->mtime, res->attr.atime, res->attr.mtime);
	if (res->attr.ino == 0 || !diff_alive(c, res->attr.ino))
		return;
	if (store_getattr(c->s, res->attr.ino, &a) != 0 || memcmp(&a.ino, &res->attr.ino, sizeof(a.ino)) ||
	    a.mode != res->attr.mode || a.nlink != res->attr.nlink || a.uid != res->attr.uid ||
	    a.gid != res->attr.gid || a.size != res->attr.size || a.rdev != res->attr.rdev ||
	    a.atime != res->attr.atime || a.mtime != res->attr.mtime || a.ctime != res->attr.ctime)
		diff_fail(c,
		          "the result's attributes of inode %" PRIu64 " (mode 0%o nlink %u size %" PRIu64
		          ") are not the store's getattr (mode 0%o nlink %u size %" PRIu64 ")",
		          res->attr.ino, res->attr.mode, res->attr.nlink, res->attr.size, a.mode, a.nlink, a.size);
	diff_check_ino(c, res->attr.ino, "result attr");
}

/* DIFF_READ and DIFF_LOOKUP: reads of committed state against the kernel. */
static void diff_pseudo(struct diff_ctx *c, int kind, const struct wire_fs_op *op)
{
	char path[PATH_MAX];
	int ke, r;

	if (kind == DIFF_LOOKUP) {
		struct stat st;
		struct wire_attr a;
		diff_child_path(c, op->parent, op->name, op->name_len, path, sizeof(path));
		ke = lstat(path, &st) == 0 ? 0 : errno;
		r = store_lookup(c->s, op->parent, op->name, op->name_len, &a);
		c->counts[kind][ke < DIFF_ERRNO_MAX ? ke : 0]++;
		if (ke != -r)
			diff_fail(c, "store_lookup: kernel lstat %s, store %s", diff_errname(ke), diff_errname(-r));
		if (ke == 0) {
			ssize_t e = diff_ent_find(c, op->parent, op->name, op->name_len);
			DIFF_ASSERT(e >= 0);
			if (a.ino != c->ents[e].ino)
				diff_fail(c, "store_lookup found inode %" PRIu64 ", expected %" PRIu64, a.ino,
				          c->ents[e].ino);
			diff_attr_cmp(c, "lookup", a.ino, &st, &a);
		}
		if (ke)
			c->errors_compared++;
		return;
	}
	bool owned;
	int fd = diff_kopen(c, op->ino, O_RDONLY, &owned, path, sizeof(path));
	uint32_t len = (uint32_t)op->length, got = 0;
	DIFF_ASSERT(fd >= 0);
	ssize_t k = pread(fd, c->kbuf, len, (off_t)op->offset);
	DIFF_ASSERT(k >= 0);
	r = store_read(c->s, op->ino, op->offset, len, c->sbuf, &got);
	if (r || got != (uint32_t)k)
		diff_fail(c, "read: kernel %zd bytes, store %s %u bytes", k, diff_errname(-r), got);
	if (memcmp(c->kbuf, c->sbuf, got) != 0)
		diff_fail(c, "read: contents differ");
	c->counts[kind][0]++;
	if (owned)
		close(fd);
}

static void diff_step(struct diff_ctx *c)
{
	struct wire_fs_op op;
	struct wire_fs_result res;
	struct diff_kres kr;
	uint64_t touched[40], opnum;
	size_t nt;
	int kind, ke;

	c->now += 1000 + (int64_t)diff_below(c, 1000);
	kind = diff_gen(c, &op);
	op.type = kind <= WIRE_FS_TYPE_MAX ? (uint8_t)kind : 0;
	c->kdesc[0] = 0;
	diff_describe(c, kind, &op);
	if (kind == DIFF_READ || kind == DIFF_LOOKUP) {
		if (c->opt->verbose)
			printf("op %" PRIu64 ": %s\n", c->step, c->desc);
		diff_pseudo(c, kind, &op);
		return;
	}
	nt = diff_touched(c, kind, &op, touched);
	ke = diff_kernel(c, kind, &op, &kr);
	opnum = diff_store_apply(c, kind == DIFF_EVICT ? NULL : &op, kind == DIFF_EVICT ? c->client : 0, &res);
	if (c->opt->verbose)
		printf("op %" PRIu64 ": %s: kernel %s, store %s\n", c->step, c->desc, diff_errname(ke),
		       diff_errname(-res.err));
	if (ke != -res.err) {
		if (kr.fd >= 0)
			close(kr.fd);
		diff_fail(c, "errno: kernel %s (%d), store %s (%d)", diff_errname(ke), ke, diff_errname(-res.err),
		          -res.err);
	}
	if ((kind == WIRE_FS_WRITE || kind == WIRE_FS_COPY_RANGE) && ke == 0 && (uint64_t)kr.written != res.written)
		diff_fail(c, "bytes %s: kernel %jd, store %" PRIu64, kind == WIRE_FS_WRITE ? "written" : "copied",
		          (intmax_t)kr.written, res.written);
	c->counts[kind][ke < DIFF_ERRNO_MAX ? ke : 0]++;
	if (ke) {
		c->errors_compared++;
	} else {
		diff_model(c, kind, &op, &kr, opnum);
	}
	if (kind == WIRE_FS_WRITE || kind == WIRE_FS_FALLOCATE || kind == WIRE_FS_SETATTR)
		c->focus = op.ino;
	if (kind == WIRE_FS_COPY_RANGE)
		c->focus = diff_percent(c, 50) ? op.ino : op.target_ino;
	if (kind == WIRE_FS_CREATE_OPEN && ke == 0)
		c->focus = WIRE_INO_FROM_OP(opnum); /* a file made open is usually written next */
	diff_check_result(c, kind, &op, &res, opnum);
	for (size_t i = 0; i < nt; i++)
		diff_check_ino(c, touched[i], "after the op");
	/* The contents a data op changed, now: a difference is reported at the op that made it. */
	if (ke == 0 && (kind == WIRE_FS_WRITE || kind == WIRE_FS_FALLOCATE || kind == WIRE_FS_COPY_RANGE ||
	                (kind == WIRE_FS_SETATTR && op.valid & WIRE_SET_SIZE))) {
		uint64_t ino = kind == WIRE_FS_COPY_RANGE ? op.target_ino : op.ino;
		char path[PATH_MAX], rel[PATH_MAX], where[PATH_MAX + 64];
		struct stat st;
		bool owned;
		int fd = diff_kopen(c, ino, O_RDONLY, &owned, path, sizeof(path));
		DIFF_ASSERT(fd >= 0 && fstat(fd, &st) == 0);
		diff_fmt_path(c, rel, sizeof(rel), path);
		snprintf(where, sizeof(where), "after the op: inode %" PRIu64 " (%s)", ino, rel);
		diff_content(c, where, ino, fd, (uint64_t)st.st_size);
		if (owned)
			close(fd);
	}
}

/* ---------------------------------------------------------------- a run */

static void diff_on_signal(int sig)
{
	(void)sig;
	diff_interrupted = 1;
}

static int diff_run(const struct diff_options *opt, uint64_t seed)
{
	struct diff_ctx *c = calloc(1, sizeof(*c));
	const char *why = NULL;
	struct stat st;
	int r;

	DIFF_ASSERT(c);
	c->opt = opt;
	c->seed = seed;
	c->rng = seed;
	c->now = DIFF_T0;
	snprintf(c->desc, sizeof(c->desc), "setup");
	c->data = malloc(DIFF_DATA_SIZE);
	c->kbuf = malloc(DIFF_DATA_SIZE);
	c->sbuf = malloc(DIFF_DATA_SIZE);
	DIFF_ASSERT(c->data && c->kbuf && c->sbuf);
	if (snprintf(c->root, sizeof(c->root), "%s/fs-diff.XXXXXX", opt->base) >= (int)sizeof(c->root) ||
	    !mkdtemp(c->root)) {
		fprintf(stderr, "fs-diff: cannot make a temp dir under %s: %s\n", opt->base, strerror(errno));
		exit(2);
	}
	c->root_made = true;
	/* The store's root: root-owned, 0755. */
	if (chmod(c->root, 0755) != 0 || lstat(c->root, &st) != 0)
		diff_fail(c, "cannot set up %s: %s", c->root, strerror(errno));
	r = store_open(&c->s, ":memory:", DIFF_T0, &why);
	if (r)
		diff_fail(c, "store_open: %s (%s)", diff_errname(-r), why ? why : "");
	if (opt->replay) {
		r = store_open(&c->replay, ":memory:", DIFF_T0, &why);
		if (r)
			diff_fail(c, "store_open (replay): %s (%s)", diff_errname(-r), why ? why : "");
	}
	struct diff_node *root = diff_node_add(c, WIRE_INO_ROOT, S_IFDIR, st.st_ino, WIRE_INO_ROOT);
	root->links = 1;
	diff_tree(c, "the new store");

	for (c->step = 0; c->step < opt->ops; c->step++) {
		if (diff_interrupted)
			diff_fail(c, "interrupted");
		diff_step(c);
		if ((c->step + 1) % opt->check_every == 0)
			diff_tree(c, "periodic");
	}
	snprintf(c->desc, sizeof(c->desc), "final compare");
	diff_tree(c, "final");

	printf("fs-diff: seed %" PRIu64 ": %" PRIu64 " ops, %" PRIu64 " errors compared, all equal\n", seed, opt->ops,
	       c->errors_compared);
	if (opt->verbose) {
		for (int k = 1; k < DIFF_KIND_COUNT; k++) {
			printf("  %-12s", diff_kind_names[k]);
			for (int e = 0; e < DIFF_ERRNO_MAX; e++)
				if (c->counts[k][e])
					printf(" %s:%" PRIu64, e ? diff_errname(e) : "ok", c->counts[k][e]);
			printf("\n");
		}
	}
	diff_run_cleanup(c);
	free(c);
	return 0;
}

static void diff_usage(void)
{
	fprintf(stderr, "usage: fs-diff [--seed N | --seeds A-B] [--ops K] [--dir D] [--check-every M]\n"
	                "               [--no-vfs-errors] [--no-replay] [-v]\n"
	                "  Applies K seeded random filesystem ops to a store on :memory: and to a fresh temp dir\n"
	                "  made under D (default /dev/shm, tmpfs), and stops at the first difference (exit 1).\n");
	exit(2);
}

static uint64_t diff_number(const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		diff_usage();
	return v;
}

int main(int argc, char **argv)
{
	struct diff_options opt = {
		.seed_first = 1,
		.seed_last = 1,
		.ops = 3000,
		.base = "/dev/shm",
		.check_every = 100,
		.vfs_errors = true,
		.replay = true,
	};
	struct sigaction sa = { .sa_handler = diff_on_signal };

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "-v") == 0) {
			opt.verbose = true;
		} else if (strcmp(a, "--no-vfs-errors") == 0) {
			opt.vfs_errors = false;
		} else if (strcmp(a, "--no-replay") == 0) {
			opt.replay = false;
		} else if (!v) {
			diff_usage();
		} else if (strcmp(a, "--seed") == 0) {
			opt.seed_first = opt.seed_last = diff_number(v);
			i++;
		} else if (strcmp(a, "--seeds") == 0) {
			char first[32];
			const char *dash = strchr(v, '-');
			if (!dash || (size_t)(dash - v) >= sizeof(first))
				diff_usage();
			memcpy(first, v, (size_t)(dash - v));
			first[dash - v] = 0;
			opt.seed_first = diff_number(first);
			opt.seed_last = diff_number(dash + 1);
			if (opt.seed_last < opt.seed_first)
				diff_usage();
			i++;
		} else if (strcmp(a, "--ops") == 0) {
			opt.ops = diff_number(v);
			i++;
		} else if (strcmp(a, "--check-every") == 0) {
			opt.check_every = diff_number(v);
			if (opt.check_every == 0)
				diff_usage();
			i++;
		} else if (strcmp(a, "--dir") == 0) {
			opt.base = v;
			i++;
		} else {
			diff_usage();
		}
	}
	if (geteuid() != 0) {
		fprintf(stderr, "fs-diff: run as root (uid 0): the store checks no permissions, the kernel does\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0); /* one line a seed, in order with stderr in a log */
	umask(0);                         /* the kernel must create exactly the modes the store is given */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (uint64_t seed = opt.seed_first;; seed++) {
		diff_run(&opt, seed);
		if (seed == opt.seed_last)
			break;
	}
	return 0;
}
