/*
 * oplog.c — the seeded generator of filesystem-op logs (see oplog.h).
 *
 * Each op is drawn in two steps: its type from a fixed table of weights (creation
 * dominates while the tree is small), then its arguments from the model, mostly
 * naming things the model believes exist. A few percent of the draws are meant to
 * fail: stale inodes, names already taken, non-empty directories, bad flags, sizes
 * beyond WIRE_FILE_SIZE_MAX. The model then applies what it predicts; when it is
 * wrong (it does not know xattrs, nor handles a store closed on its own), later ops
 * fail where the model expected success, which only adds failures to the mix.
 *
 * Fresh names are <prefix><op-number><suffix> with no digit in the prefix and a
 * suffix that does not start with one, so two fresh names never collide: an op means
 * to hit an existing name only by copying one from the model.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* makedev, FALLOC_FL_* */
#endif
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "replication/vr_assert.h"
#include "state/store.h"
#include "tests/state/oplog.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE  (1 << 1)
#endif
#ifndef RENAME_WHITEOUT
#define RENAME_WHITEOUT (1 << 2)
#endif

_Static_assert(OPLOG_WRITE_MAX <= WIRE_DATA_MAX, "a generated write travels");
_Static_assert(WIRE_XATTR_VALUE_MAX <= OPLOG_WRITE_MAX, "the data buffer holds the largest xattr value");
_Static_assert(WIRE_SYMLINK_MAX <= OPLOG_WRITE_MAX, "the data buffer holds the longest symlink target");
_Static_assert(OPLOG_XATTR_MAX <= WIRE_XATTR_VALUE_MAX, "a generated value travels");

/* ------------------------------------------------------------------ randomness */

static uint64_t oplog_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t oplog_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman and Vigna). */
static uint64_t oplog_rand(struct oplog *g)
{
	uint64_t *s = g->rng;
	uint64_t result = oplog_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = oplog_rotl(s[3], 45);
	return result;
}

/* Uniform enough in [0, n) for a test (n is far below 2^64). */
static uint64_t oplog_below(struct oplog *g, uint64_t n)
{
	ASSERT(n > 0);
	return oplog_rand(g) % n;
}

/* In [lo, hi]. */
static uint64_t oplog_between(struct oplog *g, uint64_t lo, uint64_t hi)
{
	ASSERT(lo <= hi);
	return lo + oplog_below(g, hi - lo + 1);
}

static bool oplog_percent(struct oplog *g, unsigned percent)
{
	return oplog_below(g, 100) < percent;
}

/* ------------------------------------------------------------------ the model */

static void *oplog_grow(void *p, uint64_t *cap, uint64_t need, size_t size)
{
	if (need <= *cap)
		return p;
	uint64_t n = *cap ? *cap : 64;
	while (n < need)
		n *= 2;
	p = realloc(p, n * size);
	ASSERT(p);
	*cap = n;
	return p;
}

static struct oplog_node *oplog_node(struct oplog *g, uint64_t ino)
{
	if (ino >= g->node_cap || g->nodes[ino].kind == 0)
		return NULL;
	return &g->nodes[ino];
}

/* A node the model believes exists (linked, or unlinked but open). */
static struct oplog_node *oplog_live(struct oplog *g, uint64_t ino)
{
	struct oplog_node *n = oplog_node(g, ino);

	return n && n->live_at >= 0 ? n : NULL;
}

static void oplog_node_add(struct oplog *g, uint64_t ino, enum oplog_kind kind, uint64_t size)
{
	uint64_t old = g->node_cap;

	g->nodes = oplog_grow(g->nodes, &g->node_cap, ino + 1, sizeof(*g->nodes));
	if (g->node_cap > old)
		memset(g->nodes + old, 0, (g->node_cap - old) * sizeof(*g->nodes));
	ASSERT(g->nodes[ino].kind == 0); /* inode numbers are never reused */
	g->live = oplog_grow(g->live, &g->live_cap, g->live_count + 1, sizeof(*g->live));
	g->nodes[ino] = (struct oplog_node){ .kind = (uint8_t)kind, .size = size, .live_at = (int32_t)g->live_count };
	g->live[g->live_count++] = ino;
}

/* T4 of the store, as the model sees it: nothing names it and nothing holds it open. */
static void oplog_node_maybe_free(struct oplog *g, uint64_t ino)
{
	struct oplog_node *n = oplog_live(g, ino);

	if (!n || n->nlink > 0 || n->opens > 0 || ino == WIRE_INO_ROOT)
		return;
	uint64_t last = g->live[--g->live_count];
	g->live[n->live_at] = last;
	g->nodes[last].live_at = n->live_at;
	n->live_at = -1;
}

static void oplog_dirent_add(struct oplog *g, uint64_t parent, uint64_t ino, const char *name, uint32_t len)
{
	struct oplog_node *dir = oplog_live(g, parent), *n = oplog_live(g, ino);

	ASSERT(dir && dir->kind == OPLOG_DIR);
	ASSERT(n && len <= WIRE_NAME_MAX);
	g->dirents = oplog_grow(g->dirents, &g->dirent_cap, g->dirent_count + 1, sizeof(*g->dirents));
	struct oplog_dirent *d = &g->dirents[g->dirent_count++];
	d->parent = parent;
	d->ino = ino;
	d->name_len = len;
	memcpy(d->name, name, len);
	d->name[len] = '\0';
	dir->children++;
	n->nlink++;
	if (n->kind == OPLOG_DIR)
		n->parent = parent;
}

/* Removes entry i: the inode loses a link (a directory all of them) and may be freed. */
static void oplog_dirent_remove(struct oplog *g, uint64_t i)
{
	ASSERT(i < g->dirent_count);
	struct oplog_dirent d = g->dirents[i];
	struct oplog_node *dir = oplog_node(g, d.parent), *n = oplog_node(g, d.ino);

	ASSERT(dir && dir->children > 0);
	ASSERT(n && n->nlink > 0);
	g->dirents[i] = g->dirents[--g->dirent_count];
	dir->children--;
	n->nlink = n->kind == OPLOG_DIR ? 0 : n->nlink - 1;
	oplog_node_maybe_free(g, d.ino);
}

/* True when dir is ancestor itself or lies below it (the model's parent pointers). */
static bool oplog_is_within(struct oplog *g, uint64_t dir, uint64_t ancestor)
{
	for (uint64_t steps = 0; steps <= g->live_count; steps++) {
		const struct oplog_node *n = oplog_node(g, dir);
		if (dir == ancestor)
			return true;
		if (dir == WIRE_INO_ROOT || !n || n->kind != OPLOG_DIR || n->nlink == 0)
			return false;
		dir = n->parent;
	}
	return false; /* the approximate model has a loop: say no */
}

/* ------------------------------------------------------------------ choosing arguments */

/* An inode number that may never have existed or was freed: the ops on it fail with ENOENT. */
static uint64_t oplog_stale_ino(struct oplog *g)
{
	return oplog_between(g, WIRE_INO_ROOT + 1, WIRE_INO_FROM_OP(g->next_op) + 1);
}

/* A live inode of one of the kinds in mask (1 << kind), or any live one, or the root. */
static uint64_t oplog_pick_ino(struct oplog *g, unsigned mask)
{
	ASSERT(g->live_count > 0);
	for (int tries = 0; tries < 12; tries++) {
		uint64_t ino = g->live[oplog_below(g, g->live_count)];
		if (mask & (1u << g->nodes[ino].kind))
			return ino;
	}
	return g->live[oplog_below(g, g->live_count)];
}

/* A linked directory: new entries may go there. */
static uint64_t oplog_pick_dir(struct oplog *g)
{
	for (int tries = 0; tries < 16; tries++) {
		uint64_t ino = g->live[oplog_below(g, g->live_count)];
		const struct oplog_node *n = &g->nodes[ino];
		if (n->kind == OPLOG_DIR && (n->nlink > 0 || ino == WIRE_INO_ROOT))
			return ino;
	}
	return WIRE_INO_ROOT;
}

/* A directory for a new entry: mostly a linked one, sometimes a stale inode or a file. */
static uint64_t oplog_pick_parent(struct oplog *g)
{
	if (oplog_percent(g, 2))
		return oplog_stale_ino(g);
	if (oplog_percent(g, 1))
		return oplog_pick_ino(g, 1u << OPLOG_FILE); /* ENOTDIR */
	return oplog_pick_dir(g);
}

/* An entry whose inode is of a kind in mask; -1 when the model has no entry at all. */
static int64_t oplog_pick_dirent(struct oplog *g, unsigned mask)
{
	if (g->dirent_count == 0)
		return -1;
	for (int tries = 0; tries < 12; tries++) {
		uint64_t i = oplog_below(g, g->dirent_count);
		if (mask & (1u << g->nodes[g->dirents[i].ino].kind))
			return (int64_t)i;
	}
	return (int64_t)oplog_below(g, g->dirent_count);
}

static void oplog_put_u64(char *buf, uint32_t *len, uint64_t v)
{
	char digits[24];
	int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);

	ASSERT(n > 0 && n < (int)sizeof(digits));
	memcpy(buf + *len, digits, (size_t)n);
	*len += (uint32_t)n;
}

/* A byte for a name: anything but '/', NUL and (where asked) digits. */
static char oplog_name_byte(struct oplog *g, bool digits_ok)
{
	for (;;) {
		uint8_t c = (uint8_t)oplog_between(g, 1, 255);
		if (c == '/' || (!digits_ok && c >= '0' && c <= '9'))
			continue;
		return (char)c;
	}
}

/*
 * A name no entry has ever had (see the file comment), into buf (WIRE_NAME_MAX + 2 bytes).
 * slot tells apart two fresh names of one op. Now and then it is 255 bytes long, and
 * rarely 256 (ENAMETOOLONG, as the wire lets it through).
 */
static uint32_t oplog_fresh_name(struct oplog *g, char *buf, unsigned slot)
{
	static const char *const prefixes[] = {
		"f", "file-", "dir.", "x_", "\xc3\xa9t\xc3\xa9-", "Data ", "a.b.", "~"
	};
	static const char *const suffixes[] = { "", ".txt", "-old", "~", " copy", ".\xe2\x9c\x93" };
	uint32_t len = 0;
	unsigned shape = (unsigned)oplog_below(g, 100);

	if (shape < 6) { /* binary bytes around the op-number */
		uint32_t pre = (uint32_t)oplog_between(g, 0, 20), post = (uint32_t)oplog_between(g, 0, 40);
		for (uint32_t i = 0; i < pre; i++)
			buf[len++] = oplog_name_byte(g, false);
		oplog_put_u64(buf, &len, g->next_op);
		buf[len++] = (char)('a' + slot);
		for (uint32_t i = 0; i < post; i++)
			buf[len++] = oplog_name_byte(g, true);
	} else if (shape < 10) { /* the longest name, or one byte more */
		uint32_t want = oplog_percent(g, 25) ? WIRE_NAME_MAX + 1 : WIRE_NAME_MAX;
		buf[len++] = 'L';
		oplog_put_u64(buf, &len, g->next_op);
		buf[len++] = (char)('a' + slot);
		while (len < want)
			buf[len++] = 'x';
	} else {
		const char *p = prefixes[oplog_below(g, sizeof(prefixes) / sizeof(prefixes[0]))];
		const char *s = suffixes[oplog_below(g, sizeof(suffixes) / sizeof(suffixes[0]))];
		memcpy(buf, p, strlen(p));
		len = (uint32_t)strlen(p);
		oplog_put_u64(buf, &len, g->next_op);
		buf[len++] = (char)('a' + slot);
		memcpy(buf + len, s, strlen(s));
		len += (uint32_t)strlen(s);
	}
	ASSERT(len >= 1 && len <= WIRE_NAME_MAX + 1);
	buf[len] = '\0';
	return len;
}

static uint32_t oplog_copy_name(char *buf, const struct oplog_dirent *d)
{
	memcpy(buf, d->name, d->name_len);
	buf[d->name_len] = '\0';
	return d->name_len;
}

/* Pseudo-random bytes from their own stream, so that long writes do not stretch the main one. */
static void oplog_fill(uint8_t *p, uint32_t len, uint64_t seed)
{
	uint64_t x = seed;
	uint32_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t v = oplog_splitmix(&x);
		memcpy(p + i, &v, 8);
	}
	uint64_t v = oplog_splitmix(&x);
	memcpy(p + i, &v, len - i);
}

/* A symlink target: a relative or absolute path of printable bytes (no NUL), rarely the longest. */
static uint32_t oplog_target(struct oplog *g)
{
	uint32_t len = oplog_percent(g, 3) ? WIRE_SYMLINK_MAX : (uint32_t)oplog_between(g, 1, 120);

	for (uint32_t i = 0; i < len; i++) {
		uint64_t r = oplog_below(g, 40);
		g->data[i] = r < 4 ? '/' : r < 6 ? '.' : (uint8_t)('a' + r % 26);
	}
	return len;
}

static uint32_t oplog_caller_id(struct oplog *g)
{
	static const uint32_t ids[] = { 0, 0, 0, 0, 1000, 1000, 1, 65534 };

	return ids[oplog_below(g, sizeof(ids) / sizeof(ids[0]))];
}

static uint32_t oplog_perm(struct oplog *g, uint32_t usual)
{
	return oplog_percent(g, 70) ? usual : (uint32_t)oplog_below(g, 010000);
}

/* A time between 1950 and 2100 (some before the epoch), nanoseconds included. */
static int64_t oplog_time(struct oplog *g)
{
	const int64_t year = 31556952LL * 1000000000LL;

	return -20 * year + (int64_t)oplog_below(g, (uint64_t)(150 * year));
}

/* A file offset: mostly inside or just past size, sometimes far out (sparse), rarely beyond the limit. */
static uint64_t oplog_offset(struct oplog *g, uint64_t size, bool beyond_ok)
{
	unsigned r = (unsigned)oplog_below(g, 100);

	if (r < 35)
		return size; /* append */
	if (r < 60)
		return oplog_between(g, 0, size);
	if (r < 72)
		return oplog_below(g, size / STORE_CHUNK_SIZE + 2) * STORE_CHUNK_SIZE; /* chunk-aligned */
	if (r < 80)
		return 0;
	if (r < 90)
		return size + oplog_between(g, 1, 4 * STORE_CHUNK_SIZE);
	if (r < 99 || !beyond_ok)
		return size + oplog_between(g, 1, OPLOG_FAR_OFFSET); /* sparse, far out */
	return WIRE_FILE_SIZE_MAX - oplog_below(g, 4096);            /* EFBIG for most lengths */
}

/* ------------------------------------------------------------------ one op per type */

/* The model holds handle open on the live inode ino (OPEN, CREATE_OPEN) until a RELEASE picks it. */
static void oplog_handle_add(struct oplog *g, uint64_t handle, uint64_t ino)
{
	struct oplog_node *n = oplog_live(g, ino);

	ASSERT(n);
	g->handles = oplog_grow(g->handles, &g->handle_cap, g->handle_count + 1, sizeof(*g->handles));
	g->handles[g->handle_count++] = (struct oplog_handle){ .handle = handle, .ino = ino };
	n->opens++;
}

static void oplog_gen_new(struct oplog *g, struct wire_fs_op *op, uint8_t type)
{
	int64_t same = oplog_percent(g, 6) ? oplog_pick_dirent(g, ~0u) : -1;
	enum oplog_kind kind = type == WIRE_FS_MKDIR ? OPLOG_DIR : type == WIRE_FS_SYMLINK ? OPLOG_SYMLINK : OPLOG_FILE;

	op->type = type;
	if (same >= 0) { /* EEXIST */
		op->parent = g->dirents[same].parent;
		op->name_len = oplog_copy_name(g->name, &g->dirents[same]);
	} else {
		op->parent = oplog_pick_parent(g);
		op->name_len = oplog_fresh_name(g, g->name, 0);
	}
	op->name = g->name;
	if (type == WIRE_FS_MKDIR) {
		op->mode = oplog_perm(g, 0755);
	} else if (type == WIRE_FS_SYMLINK) {
		op->data_len = oplog_target(g);
		op->data = g->data;
	} else if (type == WIRE_FS_CREATE_OPEN) {
		unsigned r = (unsigned)oplog_below(g, 100);
		uint32_t perm = oplog_perm(g, 0644);
		op->mode = r < 88   ? S_IFREG | perm
		           : r < 97 ? perm            /* no type: a regular file */
		           : r < 99 ? S_IFIFO | perm  /* EINVAL: a regular file only */
		                    : S_IFDIR | perm; /* EINVAL, not CREATE's EPERM */
		op->handle = g->next_op;              /* unique per open, as a mount's are */
	} else {
		unsigned r = (unsigned)oplog_below(g, 100);
		uint32_t perm = oplog_perm(g, 0644);
		if (r < 84) {
			op->mode = S_IFREG | perm;
		} else if (r < 88) {
			op->mode = perm; /* no type: a regular file */
		} else if (r < 91) {
			op->mode = S_IFIFO | perm, kind = OPLOG_SPECIAL;
		} else if (r < 93) {
			op->mode = S_IFSOCK | perm, kind = OPLOG_SPECIAL;
		} else if (r < 97) {
			op->mode = (r & 1 ? S_IFCHR : S_IFBLK) | perm, kind = OPLOG_SPECIAL;
			op->rdev = makedev(oplog_between(g, 1, 300), oplog_below(g, 1 << 20));
		} else if (r < 99) {
			op->mode = S_IFDIR | perm; /* EPERM: mknod cannot make a directory */
		} else {
			op->mode = 0170000 | perm; /* no such type: EINVAL */
		}
	}

	const struct oplog_node *parent = oplog_live(g, op->parent);
	bool ok = same < 0 && parent && parent->kind == OPLOG_DIR && op->name_len <= WIRE_NAME_MAX &&
	          (parent->nlink > 0 || op->parent == WIRE_INO_ROOT) && (op->mode & S_IFMT) != S_IFDIR &&
	          (op->mode & S_IFMT) != 0170000;
	if (type == WIRE_FS_MKDIR)
		ok = same < 0 && parent && parent->kind == OPLOG_DIR && op->name_len <= WIRE_NAME_MAX &&
		     (parent->nlink > 0 || op->parent == WIRE_INO_ROOT);
	if (type == WIRE_FS_CREATE_OPEN && (op->mode & S_IFMT) != 0 && !S_ISREG(op->mode))
		ok = false;
	if (!ok)
		return; /* CREATE_OPEN fails as a whole: no handle either */
	uint64_t ino = WIRE_INO_FROM_OP(g->next_op);
	oplog_node_add(g, ino, kind, type == WIRE_FS_SYMLINK ? op->data_len : 0);
	oplog_dirent_add(g, op->parent, ino, op->name, op->name_len);
	if (type == WIRE_FS_CREATE_OPEN)
		oplog_handle_add(g, op->handle, ino);
}

static void oplog_gen_link(struct oplog *g, struct wire_fs_op *op)
{
	int64_t same = oplog_percent(g, 6) ? oplog_pick_dirent(g, ~0u) : -1;

	op->type = WIRE_FS_LINK;
	if (oplog_percent(g, 3))
		op->ino = oplog_stale_ino(g);
	else if (oplog_percent(g, 4))
		op->ino = oplog_pick_ino(g, 1u << OPLOG_DIR); /* EPERM */
	else
		op->ino = oplog_pick_ino(g, 1u << OPLOG_FILE | 1u << OPLOG_SYMLINK | 1u << OPLOG_SPECIAL);
	if (same >= 0) {
		op->parent = g->dirents[same].parent;
		op->name_len = oplog_copy_name(g->name, &g->dirents[same]);
	} else {
		op->parent = oplog_pick_parent(g);
		op->name_len = oplog_fresh_name(g, g->name, 0);
	}
	op->name = g->name;

	const struct oplog_node *n = oplog_live(g, op->ino), *parent = oplog_live(g, op->parent);
	if (same >= 0 || !n || n->kind == OPLOG_DIR || n->nlink == 0 || !parent || parent->kind != OPLOG_DIR ||
	    (parent->nlink == 0 && op->parent != WIRE_INO_ROOT) || op->name_len > WIRE_NAME_MAX)
		return;
	oplog_dirent_add(g, op->parent, op->ino, op->name, op->name_len);
}

/* unlink and rmdir: mostly an entry of the right kind; rmdir prefers empty directories. */
static void oplog_gen_remove(struct oplog *g, struct wire_fs_op *op, uint8_t type)
{
	unsigned want = type == WIRE_FS_RMDIR ? 1u << OPLOG_DIR : ~(1u << OPLOG_DIR);
	int64_t i = -1;

	op->type = type;
	if (oplog_percent(g, 94)) {
		for (int tries = 0; tries < (type == WIRE_FS_RMDIR ? 8 : 1); tries++) {
			i = oplog_pick_dirent(g, oplog_percent(g, 95) ? want : ~0u);
			if (i < 0 || g->nodes[g->dirents[i].ino].children == 0)
				break;
		}
	}
	if (i < 0) { /* ENOENT */
		op->parent = oplog_pick_dir(g);
		op->name_len = oplog_fresh_name(g, g->name, 0);
		op->name = g->name;
		return;
	}
	op->parent = g->dirents[i].parent;
	op->name_len = oplog_copy_name(g->name, &g->dirents[i]);
	op->name = g->name;

	const struct oplog_node *n = &g->nodes[g->dirents[i].ino];
	if (type == WIRE_FS_UNLINK && n->kind == OPLOG_DIR)
		return; /* EISDIR */
	if (type == WIRE_FS_RMDIR && (n->kind != OPLOG_DIR || n->children > 0))
		return; /* ENOTDIR, ENOTEMPTY */
	oplog_dirent_remove(g, (uint64_t)i);
}

/* Moves entry i to (parent, name); the caller removed whatever was there. */
static void oplog_dirent_move(struct oplog *g, uint64_t i, uint64_t parent, const char *name, uint32_t len)
{
	struct oplog_dirent *d = &g->dirents[i];
	struct oplog_node *from = oplog_node(g, d->parent), *to = oplog_node(g, parent), *n = oplog_node(g, d->ino);

	ASSERT(from && to && n);
	ASSERT(from->children > 0);
	from->children--;
	to->children++;
	d->parent = parent;
	d->name_len = len;
	memcpy(d->name, name, len);
	d->name[len] = '\0';
	if (n->kind == OPLOG_DIR)
		n->parent = parent;
}

static void oplog_gen_rename(struct oplog *g, struct wire_fs_op *op)
{
	unsigned r = (unsigned)oplog_below(g, 100);
	int64_t src = oplog_percent(g, 97) ? oplog_pick_dirent(g, ~0u) : -1;
	int64_t dst = -1;

	op->type = WIRE_FS_RENAME;
	op->flags = r < 64   ? 0
	            : r < 76 ? RENAME_NOREPLACE
	            : r < 97 ? RENAME_EXCHANGE
	            : r < 99 ? RENAME_NOREPLACE | RENAME_EXCHANGE /* EINVAL */
	                     : RENAME_WHITEOUT;                   /* EINVAL: the store does not make whiteouts */
	if (src < 0) {
		op->parent = oplog_pick_dir(g);
		op->name_len = oplog_fresh_name(g, g->name, 0);
	} else {
		op->parent = g->dirents[src].parent;
		op->name_len = oplog_copy_name(g->name, &g->dirents[src]);
	}
	op->name = g->name;
	/* An existing destination: always for an exchange, often otherwise; prefer the source's kind. */
	if (src >= 0 && (op->flags & RENAME_EXCHANGE ? oplog_percent(g, 95) : oplog_percent(g, 40))) {
		unsigned kind = g->nodes[g->dirents[src].ino].kind;
		dst = oplog_pick_dirent(g, oplog_percent(g, 75) ? 1u << kind : ~0u);
	}
	if (dst >= 0) {
		op->new_parent = g->dirents[dst].parent;
		op->new_name_len = oplog_copy_name(g->new_name, &g->dirents[dst]);
	} else {
		op->new_parent = src >= 0 && oplog_percent(g, 30) ? op->parent : oplog_pick_parent(g);
		op->new_name_len = oplog_fresh_name(g, g->new_name, 1);
	}
	op->new_name = g->new_name;

	/* The model's prediction, in the store's order of checks. */
	const struct oplog_node *to = oplog_live(g, op->new_parent);
	if (src < 0 || (op->flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE)) ||
	    (op->flags & RENAME_EXCHANGE && op->flags & RENAME_NOREPLACE))
		return;
	if (!to || to->kind != OPLOG_DIR || (to->nlink == 0 && op->new_parent != WIRE_INO_ROOT) ||
	    op->new_name_len > WIRE_NAME_MAX)
		return;
	uint64_t s_ino = g->dirents[src].ino, d_ino = dst >= 0 ? g->dirents[dst].ino : 0;
	const struct oplog_node *s = &g->nodes[s_ino], *d = dst >= 0 ? &g->nodes[d_ino] : NULL;
	bool same_dir = op->parent == op->new_parent;
	if (s->kind == OPLOG_DIR && !same_dir && oplog_is_within(g, op->new_parent, s_ino))
		return; /* EINVAL: into its own subtree */
	if (d && d->kind == OPLOG_DIR && !same_dir && oplog_is_within(g, op->parent, d_ino))
		return;
	if ((op->flags & RENAME_NOREPLACE && d) || (op->flags & RENAME_EXCHANGE && !d))
		return;
	if (d && s_ino == d_ino)
		return; /* the same inode: nothing happens */
	if (op->flags & RENAME_EXCHANGE) {
		struct oplog_dirent *a = &g->dirents[src], *b = &g->dirents[dst];
		a->ino = d_ino;
		b->ino = s_ino;
		if (g->nodes[d_ino].kind == OPLOG_DIR)
			g->nodes[d_ino].parent = a->parent;
		if (g->nodes[s_ino].kind == OPLOG_DIR)
			g->nodes[s_ino].parent = b->parent;
		return;
	}
	if (d) {
		if ((s->kind == OPLOG_DIR) != (d->kind == OPLOG_DIR))
			return; /* ENOTDIR, EISDIR */
		if (d->kind == OPLOG_DIR && d->children > 0)
			return; /* ENOTEMPTY */
	}
	oplog_dirent_move(g, (uint64_t)src, op->new_parent, op->new_name, op->new_name_len);
	if (dst >= 0)
		oplog_dirent_remove(g, (uint64_t)dst); /* after the move: removal reorders the entries */
}

static void oplog_gen_setattr(struct oplog *g, struct wire_fs_op *op)
{
	op->type = WIRE_FS_SETATTR;
	op->ino = oplog_percent(g, 3) ? oplog_stale_ino(g)
	                              : oplog_pick_ino(g, oplog_percent(g, 75) ? 1u << OPLOG_FILE : ~0u);
	if (oplog_percent(g, 4))
		op->valid = 0; /* touches ctime only */
	else
		while (op->valid == 0)
			op->valid = (uint32_t)oplog_below(g, 64) & (WIRE_SET_MODE | WIRE_SET_UID | WIRE_SET_GID |
			                                            WIRE_SET_SIZE | WIRE_SET_ATIME | WIRE_SET_MTIME);
	struct oplog_node *n = oplog_live(g, op->ino);
	uint64_t size = n ? n->size : 0;
	if (op->valid & WIRE_SET_MODE)
		op->mode = oplog_perm(g, oplog_percent(g, 50) ? 0644 : 0755);
	if (op->valid & WIRE_SET_UID)
		op->set_uid = oplog_caller_id(g);
	if (op->valid & WIRE_SET_GID)
		op->set_gid = oplog_caller_id(g);
	if (op->valid & WIRE_SET_SIZE) {
		op->kill_suidgid = oplog_percent(g, 30); /* a truncate by a caller without CAP_FSETID */
		unsigned r = (unsigned)oplog_below(g, 100);
		op->size = r < 40   ? oplog_between(g, 0, size)
		           : r < 70 ? size + oplog_below(g, 1 << 20)
		           : r < 80 ? 0
		           : r < 90 ? size + oplog_below(g, OPLOG_FAR_OFFSET)
		           : r < 95 ? size
		                    : WIRE_FILE_SIZE_MAX + 1 + oplog_below(g, 1 << 20); /* EFBIG */
	}
	if (op->valid & WIRE_SET_ATIME)
		op->atime = oplog_time(g);
	if (op->valid & WIRE_SET_MTIME)
		op->mtime = oplog_time(g);
	if (n && op->valid & WIRE_SET_SIZE && n->kind == OPLOG_FILE && op->size <= WIRE_FILE_SIZE_MAX)
		n->size = op->size;
}

/* A regular file for a data op; now and then a directory, a symlink or a stale inode instead. */
static uint64_t oplog_pick_file(struct oplog *g)
{
	if (oplog_percent(g, 2))
		return oplog_stale_ino(g);
	if (oplog_percent(g, 3))
		return oplog_pick_ino(g, 1u << OPLOG_DIR | 1u << OPLOG_SYMLINK | 1u << OPLOG_SPECIAL);
	return oplog_pick_ino(g, 1u << OPLOG_FILE);
}

static uint32_t oplog_write_len(struct oplog *g)
{
	unsigned r = (unsigned)oplog_below(g, 100);

	if (r < 30)
		return (uint32_t)oplog_between(g, 1, 4096);
	if (r < 55)
		return (uint32_t)oplog_between(g, 1, 16) * 4096;
	if (r < 70)
		return oplog_percent(g, 50) ? STORE_CHUNK_SIZE : 2 * STORE_CHUNK_SIZE;
	if (r < 92)
		return (uint32_t)oplog_between(g, 1, OPLOG_WRITE_MAX);
	if (r < 95)
		return 0;
	return OPLOG_WRITE_MAX;
}

static void oplog_gen_write(struct oplog *g, struct wire_fs_op *op)
{
	op->type = WIRE_FS_WRITE;
	op->ino = oplog_pick_file(g);
	struct oplog_node *n = oplog_live(g, op->ino);
	op->offset = oplog_offset(g, n ? n->size : 0, true);
	op->data_len = oplog_write_len(g);
	op->data = g->data;
	op->kill_suidgid = oplog_percent(g, 30);
	if (oplog_percent(g, 5))
		memset(g->data, 0, op->data_len); /* zeros are data too, not a hole */
	else
		oplog_fill(g->data, op->data_len, oplog_rand(g));
	if (n && n->kind == OPLOG_FILE && op->offset <= WIRE_FILE_SIZE_MAX &&
	    op->data_len <= WIRE_FILE_SIZE_MAX - op->offset && op->offset + op->data_len > n->size)
		n->size = op->offset + op->data_len;
}

static void oplog_gen_fallocate(struct oplog *g, struct wire_fs_op *op)
{
	unsigned r = (unsigned)oplog_below(g, 100);

	op->type = WIRE_FS_FALLOCATE;
	op->ino = oplog_pick_file(g);
	op->flags = r < 38   ? 0
	            : r < 63 ? FALLOC_FL_KEEP_SIZE
	            : r < 95 ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
	            : r < 97 ? FALLOC_FL_PUNCH_HOLE  /* EOPNOTSUPP without KEEP_SIZE */
	                     : FALLOC_FL_ZERO_RANGE; /* EOPNOTSUPP */
	struct oplog_node *n = oplog_live(g, op->ino);
	uint64_t size = n ? n->size : 0;
	op->offset = oplog_percent(g, 85) ? oplog_between(g, 0, size) : size + oplog_below(g, 1 << 20);
	op->length = oplog_percent(g, 2) ? 0 : oplog_between(g, 1, OPLOG_FALLOC_MAX);
	if (n && n->kind == OPLOG_FILE && op->flags == 0 && op->length > 0 && op->offset + op->length > n->size)
		n->size = op->offset + op->length;
}

static void oplog_gen_copy_range(struct oplog *g, struct wire_fs_op *op)
{
	op->type = WIRE_FS_COPY_RANGE;
	op->ino = oplog_pick_file(g);
	op->target_ino = oplog_percent(g, 12) ? op->ino : oplog_pick_file(g);
	struct oplog_node *src = oplog_live(g, op->ino), *dst = oplog_live(g, op->target_ino);
	uint64_t src_size = src ? src->size : 0, dst_size = dst ? dst->size : 0;
	op->offset = oplog_percent(g, 90) ? oplog_between(g, 0, src_size) : src_size + oplog_below(g, 1 << 20);
	op->length = oplog_between(g, 1, OPLOG_COPY_MAX);
	if (op->ino == op->target_ino && oplog_percent(g, 75))
		op->target_offset =
		        op->offset + op->length + oplog_below(g, STORE_CHUNK_SIZE); /* just past the source */
	else
		op->target_offset = oplog_offset(g, dst_size, true);

	if (!src || !dst || src->kind != OPLOG_FILE || dst->kind != OPLOG_FILE)
		return;
	if (op->target_offset > WIRE_FILE_SIZE_MAX || op->length > WIRE_FILE_SIZE_MAX - op->target_offset)
		return;
	if (op->ino == op->target_ino && op->offset + op->length > op->target_offset &&
	    op->target_offset + op->length > op->offset)
		return; /* EINVAL: overlapping */
	uint64_t len = op->offset >= src->size ? 0 : src->size - op->offset;
	if (len > op->length)
		len = op->length;
	if (len && op->target_offset + len > dst->size)
		dst->size = op->target_offset + len;
}

/* xattr names: a few user.* names (so that they collide) and other namespaces that any inode may carry. */
static const char *const oplog_xattr_names[] = {
	"user.a", "user.b", "user.mime_type", "user.checksum",          "user.\xc3\xa9",
	"user.x", "user.y", "user.z",         "trusted.overlay.opaque", "security.selinux",
};
#define OPLOG_XATTR_LONG  (sizeof(oplog_xattr_names) / sizeof(oplog_xattr_names[0])) /* "user.nnn...n" */
#define OPLOG_XATTR_NOSUP (OPLOG_XATTR_LONG + 1) /* no namespace the store knows: EOPNOTSUPP */
#define OPLOG_XATTR_EMPTY (OPLOG_XATTR_LONG + 2) /* "user." alone: EOPNOTSUPP */

/* Writes xattr name number idx (an index of oplog_xattr_names or one of the specials) into g->name. */
static uint32_t oplog_xattr_name(struct oplog *g, uint32_t idx)
{
	uint32_t len;

	if (idx == OPLOG_XATTR_LONG) {
		memcpy(g->name, "user.", 5);
		for (len = 5; len < WIRE_XATTR_NAME_MAX; len++)
			g->name[len] = 'n';
	} else {
		const char *p = idx < OPLOG_XATTR_LONG     ? oplog_xattr_names[idx]
		                : idx == OPLOG_XATTR_NOSUP ? "os2.comment"
		                                           : "user.";
		len = (uint32_t)strlen(p);
		memcpy(g->name, p, len);
	}
	g->name[len] = '\0';
	return len;
}

static uint32_t oplog_pick_xattr(struct oplog *g)
{
	unsigned r = (unsigned)oplog_below(g, 100);

	if (r < 2)
		return OPLOG_XATTR_LONG;
	if (r < 3)
		return OPLOG_XATTR_NOSUP;
	if (r < 4)
		return OPLOG_XATTR_EMPTY;
	return (uint32_t)oplog_below(g, OPLOG_XATTR_LONG);
}

static int64_t oplog_xattr_find(const struct oplog *g, uint64_t ino, uint32_t idx)
{
	for (uint32_t i = 0; i < g->xattr_count; i++)
		if (g->xattrs[i].ino == ino && g->xattrs[i].idx == idx)
			return i;
	return -1;
}

static void oplog_gen_xattr(struct oplog *g, struct wire_fs_op *op, uint8_t type)
{
	int64_t known = g->xattr_count && oplog_percent(g, type == WIRE_FS_REMOVEXATTR ? 85 : 30)
	                        ? (int64_t)oplog_below(g, g->xattr_count)
	                        : -1;
	uint32_t idx;

	op->type = type;
	if (known >= 0) { /* one the model believes set */
		op->ino = g->xattrs[known].ino;
		idx = g->xattrs[known].idx;
	} else {
		op->ino = oplog_percent(g, 3)
		                  ? oplog_stale_ino(g)
		                  : oplog_pick_ino(g, oplog_percent(g, 90) ? 1u << OPLOG_FILE | 1u << OPLOG_DIR : ~0u);
		idx = oplog_pick_xattr(g);
		known = oplog_xattr_find(g, op->ino, idx);
	}
	op->name_len = oplog_xattr_name(g, idx);
	op->name = g->name;
	if (type == WIRE_FS_REMOVEXATTR) {
		if (known >= 0)
			g->xattrs[known] = g->xattrs[--g->xattr_count];
		return;
	}
	unsigned r = (unsigned)oplog_below(g, 100);
	op->data_len = r < 10   ? 0
	               : r < 90 ? (uint32_t)oplog_between(g, 1, 200)
	               : r < 99 ? (uint32_t)oplog_between(g, 201, OPLOG_XATTR_MAX)
	                        : WIRE_XATTR_VALUE_MAX;
	op->data = g->data;
	oplog_fill(g->data, op->data_len, oplog_rand(g));
	r = (unsigned)oplog_below(g, 100);
	op->flags = r < 75 ? 0 : r < 88 ? XATTR_CREATE : XATTR_REPLACE;

	/* The model: set when the flags allow it, on an inode that may carry the name. */
	const struct oplog_node *n = oplog_live(g, op->ino);
	bool user = idx < OPLOG_XATTR_LONG ? strncmp(oplog_xattr_names[idx], "user.", 5) == 0 : true;
	if (known >= 0 || !n || idx > OPLOG_XATTR_LONG || op->flags == XATTR_REPLACE ||
	    (user && n->kind != OPLOG_FILE && n->kind != OPLOG_DIR))
		return;
	if (g->xattr_count == OPLOG_XATTRS_MAX) /* forget one */
		g->xattrs[oplog_below(g, OPLOG_XATTRS_MAX)] = (struct oplog_xattr){ .ino = op->ino, .idx = idx };
	else
		g->xattrs[g->xattr_count++] = (struct oplog_xattr){ .ino = op->ino, .idx = idx };
}

static void oplog_gen_open(struct oplog *g, struct wire_fs_op *op)
{
	op->type = WIRE_FS_OPEN;
	op->ino = oplog_percent(g, 3) ? oplog_stale_ino(g)
	                              : oplog_pick_ino(g, oplog_percent(g, 80) ? 1u << OPLOG_FILE : ~0u);
	op->handle = g->next_op; /* unique per open, as a mount's are */

	if (oplog_live(g, op->ino))
		oplog_handle_add(g, op->handle, op->ino);
}

static void oplog_gen_release(struct oplog *g, struct wire_fs_op *op)
{
	op->type = WIRE_FS_RELEASE;
	if (g->handle_count == 0 || oplog_percent(g, 5)) { /* EBADF: never opened, or closed */
		op->handle = oplog_between(g, 1, g->next_op);
		op->ino = oplog_stale_ino(g);
		for (uint64_t i = 0; i < g->handle_count; i++)
			if (g->handles[i].handle == op->handle)
				op->handle = g->next_op + 1000000007ULL; /* not one the model holds */
		return;
	}
	uint64_t i = oplog_below(g, g->handle_count);
	struct oplog_handle h = g->handles[i];
	g->handles[i] = g->handles[--g->handle_count];
	op->handle = h.handle;
	op->ino = h.ino;
	struct oplog_node *n = oplog_node(g, h.ino);
	ASSERT(n && n->opens > 0);
	n->opens--;
	oplog_node_maybe_free(g, h.ino);
}

/* ------------------------------------------------------------------ the log */

struct oplog_weight {
	uint8_t type;
	unsigned weight;
};

static const struct oplog_weight oplog_weights[] = {
	{ WIRE_FS_CREATE, 11 },     { WIRE_FS_MKDIR, 7 },     { WIRE_FS_SYMLINK, 4 },    { WIRE_FS_LINK, 4 },
	{ WIRE_FS_UNLINK, 7 },      { WIRE_FS_RMDIR, 3 },     { WIRE_FS_RENAME, 10 },    { WIRE_FS_SETATTR, 8 },
	{ WIRE_FS_WRITE, 20 },      { WIRE_FS_FALLOCATE, 4 }, { WIRE_FS_COPY_RANGE, 4 }, { WIRE_FS_SETXATTR, 6 },
	{ WIRE_FS_REMOVEXATTR, 3 }, { WIRE_FS_OPEN, 4 },      { WIRE_FS_RELEASE, 3 },    { WIRE_FS_CREATE_OPEN, 4 },
};

static uint8_t oplog_pick_type(struct oplog *g)
{
	unsigned total = 0;

	if (g->dirent_count < 8 && oplog_percent(g, 80))
		return oplog_percent(g, 60) ? WIRE_FS_CREATE : WIRE_FS_MKDIR; /* grow a tree first */
	for (size_t i = 0; i < sizeof(oplog_weights) / sizeof(oplog_weights[0]); i++)
		total += oplog_weights[i].weight;
	/* Keep the open handles bounded: release more as more are open. */
	unsigned extra = g->handle_count > 64 ? 64 : (unsigned)g->handle_count;
	uint64_t r = oplog_below(g, total + extra);
	if (r >= total)
		return WIRE_FS_RELEASE;
	for (size_t i = 0;; i++) {
		if (r < oplog_weights[i].weight)
			return oplog_weights[i].type;
		r -= oplog_weights[i].weight;
	}
}

void oplog_init(struct oplog *g, uint64_t seed)
{
	uint64_t x = seed;

	memset(g, 0, sizeof(*g));
	g->seed = seed;
	for (int i = 0; i < 4; i++)
		g->rng[i] = oplog_splitmix(&x);
	g->next_op = 1;
	g->data = malloc(OPLOG_WRITE_MAX);
	ASSERT(g->data);
	oplog_node_add(g, WIRE_INO_ROOT, OPLOG_DIR, 0);
	g->nodes[WIRE_INO_ROOT].nlink = 1;
}

void oplog_free(struct oplog *g)
{
	free(g->nodes);
	free(g->live);
	free(g->dirents);
	free(g->handles);
	free(g->data);
	memset(g, 0, sizeof(*g));
}

const struct wire_fs_op *oplog_next(struct oplog *g, uint64_t op_number)
{
	struct wire_fs_op *op = &g->op;

	ASSERT(op_number == g->next_op); /* G1 */
	ASSERT(g->data);
	memset(op, 0, sizeof(*op));
	uint8_t type = oplog_pick_type(g);
	op->uid = oplog_percent(g, 75) ? 0 : oplog_caller_id(g);
	op->gid = oplog_percent(g, 75) ? 0 : oplog_caller_id(g);
	switch (type) {
	case WIRE_FS_CREATE:
	case WIRE_FS_MKDIR:
	case WIRE_FS_SYMLINK:
	case WIRE_FS_CREATE_OPEN:
		oplog_gen_new(g, op, type);
		break;
	case WIRE_FS_LINK:
		oplog_gen_link(g, op);
		break;
	case WIRE_FS_UNLINK:
	case WIRE_FS_RMDIR:
		oplog_gen_remove(g, op, type);
		break;
	case WIRE_FS_RENAME:
		oplog_gen_rename(g, op);
		break;
	case WIRE_FS_SETATTR:
		oplog_gen_setattr(g, op);
		break;
	case WIRE_FS_WRITE:
		oplog_gen_write(g, op);
		break;
	case WIRE_FS_FALLOCATE:
		oplog_gen_fallocate(g, op);
		break;
	case WIRE_FS_COPY_RANGE:
		oplog_gen_copy_range(g, op);
		break;
	case WIRE_FS_SETXATTR:
	case WIRE_FS_REMOVEXATTR:
		oplog_gen_xattr(g, op, type);
		break;
	case WIRE_FS_OPEN:
		oplog_gen_open(g, op);
		break;
	case WIRE_FS_RELEASE:
		oplog_gen_release(g, op);
		break;
	default:
		ASSERT(!"unknown op type");
	}
	ASSERT(op->type == type);
	g->next_op++;
	return op;
}

const char *oplog_type_name(uint8_t type)
{
	static const char *const names[WIRE_FS_TYPE_MAX + 1] = {
		[WIRE_FS_CREATE] = "create",
		[WIRE_FS_MKDIR] = "mkdir",
		[WIRE_FS_SYMLINK] = "symlink",
		[WIRE_FS_LINK] = "link",
		[WIRE_FS_UNLINK] = "unlink",
		[WIRE_FS_RMDIR] = "rmdir",
		[WIRE_FS_RENAME] = "rename",
		[WIRE_FS_SETATTR] = "setattr",
		[WIRE_FS_WRITE] = "write",
		[WIRE_FS_FALLOCATE] = "fallocate",
		[WIRE_FS_COPY_RANGE] = "copy_range",
		[WIRE_FS_SETXATTR] = "setxattr",
		[WIRE_FS_REMOVEXATTR] = "removexattr",
		[WIRE_FS_OPEN] = "open",
		[WIRE_FS_RELEASE] = "release",
		[WIRE_FS_CREATE_OPEN] = "create_open",
	};

	return type <= WIRE_FS_TYPE_MAX && names[type] ? names[type] : "unknown";
}

/* FNV-1a over bytes, continuing from h. */
static uint64_t oplog_fnv(uint64_t h, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t oplog_fnv_u64(uint64_t h, uint64_t v)
{
	return oplog_fnv(h, &v, sizeof(v));
}

uint64_t oplog_hash(const struct wire_fs_op *op)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const uint64_t fields[] = {
		op->type,
		op->uid,
		op->gid,
		op->ino,
		op->parent,
		op->name_len,
		op->new_parent,
		op->new_name_len,
		op->mode,
		op->rdev,
		op->flags,
		op->valid,
		op->set_uid,
		op->set_gid,
		op->size,
		(uint64_t)op->atime,
		(uint64_t)op->mtime,
		op->offset,
		op->length,
		op->target_ino,
		op->target_offset,
		op->handle,
		op->data_len,
		op->kill_suidgid,
	};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		h = oplog_fnv_u64(h, fields[i]);
	if (op->name_len)
		h = oplog_fnv(h, op->name, op->name_len);
	if (op->new_name_len)
		h = oplog_fnv(h, op->new_name, op->new_name_len);
	if (op->data_len)
		h = oplog_fnv(h, op->data, op->data_len);
	return h;
}
