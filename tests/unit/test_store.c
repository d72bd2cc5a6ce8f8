/*
 * test_store.c — unit tests of the SQLite store (state/store.c): every filesystem
 * operation's success and error paths on a private ":memory:" store, the read
 * queries, the digest, and store_apply's contract (T2: a failed op changes nothing;
 * the commit-number advances for every op; an op out of order is refused).
 *
 * The reference for every expected value is the Linux kernel on tmpfs/ext4, as the
 * man pages describe it (mkdir(2), mknod(2), link(2), unlink(2), rmdir(2), rename(2),
 * truncate(2), utimensat(2), chown(2), fallocate(2), copy_file_range(2), setxattr(2),
 * removexattr(2), lseek(2), xattr(7)).
 *
 * Fixture: one store per test, opened at T0; fx_apply() applies an op as the next
 * op-number, with a fake clock advancing FX_TICK per op, for client FX_CLIENT.
 */
#define _GNU_SOURCE /* SEEK_DATA, SEEK_HOLE, RENAME_* */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "state/store.h"
#include "wire/wire_fs.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE  (1 << 1)
#endif

#define T0        1700000000000000000LL /* the store's creation time, ns */
#define FX_TICK   1000                  /* ns between two ops */
#define FX_CLIENT 7
#define FX_UID    1000 /* the caller of every op */
#define FX_GID    1000
#define CHUNK     STORE_CHUNK_SIZE
#define ROOT      WIRE_INO_ROOT
#define GIB       (1ULL << 30)

_Static_assert(CHUNK >= 4096 && CHUNK % 4096 == 0, "the chunk-boundary tests assume whole pages of at least 4 KiB");

/* ---- Fixture ----------------------------------------------------------------------- */

struct fx {
	struct store *s;
	int64_t now; /* the timestamp of the last op applied */
};

static int fx_setup(void **state)
{
	struct fx *fx = test_calloc(1, sizeof(*fx));
	const char *why = NULL;

	if (!fx)
		return -1;
	if (store_open(&fx->s, ":memory:", T0, &why) != 0) {
		test_free(fx);
		return -1;
	}
	fx->now = T0;
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;

	store_close(fx->s);
	test_free(fx);
	return 0;
}

/* Applies op (NULL: none) as op commit+1 for client, evicting evicted (0: none); asserts it applied. */
static struct wire_fs_result fx_apply_as(struct fx *fx, const struct wire_fs_op *op,
                                         const struct store_session_row *row, uint64_t client, uint64_t evicted)
{
	struct store_apply_ctx ctx = {
		.op = store_commit(fx->s) + 1,
		.now = fx->now + FX_TICK,
		.client_id = client,
		.evicted_client = evicted,
	};
	struct wire_fs_result res;

	assert_int_equal(store_apply(fx->s, &ctx, op, row, &res), 0);
	assert_int_equal(store_commit(fx->s), ctx.op);
	fx->now = ctx.now;
	return res;
}

static struct wire_fs_result fx_apply(struct fx *fx, const struct wire_fs_op *op)
{
	return fx_apply_as(fx, op, NULL, FX_CLIENT, 0);
}

/* The inode number the next op would create. */
static uint64_t fx_next_ino(struct fx *fx)
{
	return WIRE_INO_FROM_OP(store_commit(fx->s) + 1);
}

static struct wire_attr fx_attr(struct fx *fx, uint64_t ino)
{
	struct wire_attr a;

	memset(&a, 0, sizeof(a));
	assert_int_equal(store_getattr(fx->s, ino, &a), 0);
	assert_int_equal(a.ino, ino);
	return a;
}

static int fx_lookup(struct fx *fx, uint64_t parent, const char *name, uint64_t *ino)
{
	struct wire_attr a;
	int rc;

	memset(&a, 0, sizeof(a));
	rc = store_lookup(fx->s, parent, name, (uint32_t)strlen(name), &a);
	if (ino)
		*ino = rc ? 0 : a.ino;
	return rc;
}

static uint64_t fx_ino(struct fx *fx, uint64_t parent, const char *name)
{
	uint64_t ino;

	assert_int_equal(fx_lookup(fx, parent, name, &ino), 0);
	return ino;
}

static void fx_digest(struct fx *fx, uint8_t out[STORE_DIGEST_SIZE])
{
	assert_int_equal(store_digest(fx->s, out), 0);
}

static struct store_statfs fx_statfs(struct fx *fx)
{
	struct store_statfs st;

	assert_int_equal(store_statfs(fx->s, &st), 0);
	return st;
}

/* ---- Op builders ------------------------------------------------------------------- */

static struct wire_fs_op op_base(uint8_t type)
{
	struct wire_fs_op op;

	memset(&op, 0, sizeof(op));
	op.type = type;
	op.uid = FX_UID;
	op.gid = FX_GID;
	return op;
}

static struct wire_fs_op op_named(uint8_t type, uint64_t parent, const char *name)
{
	struct wire_fs_op op = op_base(type);

	op.parent = parent;
	op.name = name;
	op.name_len = (uint32_t)strlen(name);
	return op;
}

static struct wire_fs_op op_create(uint64_t parent, const char *name, uint32_t mode, uint64_t rdev)
{
	struct wire_fs_op op = op_named(WIRE_FS_CREATE, parent, name);

	op.mode = mode;
	op.rdev = rdev;
	return op;
}

static struct wire_fs_op op_mkdir(uint64_t parent, const char *name, uint32_t mode)
{
	struct wire_fs_op op = op_named(WIRE_FS_MKDIR, parent, name);

	op.mode = mode;
	return op;
}

static struct wire_fs_op op_symlink(uint64_t parent, const char *name, const char *target, uint32_t target_len)
{
	struct wire_fs_op op = op_named(WIRE_FS_SYMLINK, parent, name);

	op.data = (const uint8_t *)target;
	op.data_len = target_len;
	return op;
}

static struct wire_fs_op op_link(uint64_t ino, uint64_t parent, const char *name)
{
	struct wire_fs_op op = op_named(WIRE_FS_LINK, parent, name);

	op.ino = ino;
	return op;
}

static struct wire_fs_op op_unlink(uint64_t parent, const char *name)
{
	return op_named(WIRE_FS_UNLINK, parent, name);
}

static struct wire_fs_op op_rmdir(uint64_t parent, const char *name)
{
	return op_named(WIRE_FS_RMDIR, parent, name);
}

static struct wire_fs_op op_rename(uint64_t parent, const char *name, uint64_t new_parent, const char *new_name,
                                   uint32_t flags)
{
	struct wire_fs_op op = op_named(WIRE_FS_RENAME, parent, name);

	op.new_parent = new_parent;
	op.new_name = new_name;
	op.new_name_len = (uint32_t)strlen(new_name);
	op.flags = flags;
	return op;
}

static struct wire_fs_op op_setattr(uint64_t ino, uint32_t valid)
{
	struct wire_fs_op op = op_base(WIRE_FS_SETATTR);

	op.ino = ino;
	op.valid = valid;
	return op;
}

static struct wire_fs_op op_truncate(uint64_t ino, uint64_t size)
{
	struct wire_fs_op op = op_setattr(ino, WIRE_SET_SIZE);

	op.size = size;
	return op;
}

static struct wire_fs_op op_write(uint64_t ino, uint64_t offset, const void *data, uint32_t len)
{
	struct wire_fs_op op = op_base(WIRE_FS_WRITE);

	op.ino = ino;
	op.offset = offset;
	op.data = data;
	op.data_len = len;
	return op;
}

static struct wire_fs_op op_fallocate(uint64_t ino, uint32_t flags, uint64_t offset, uint64_t length)
{
	struct wire_fs_op op = op_base(WIRE_FS_FALLOCATE);

	op.ino = ino;
	op.flags = flags;
	op.offset = offset;
	op.length = length;
	return op;
}

static struct wire_fs_op op_copy(uint64_t ino, uint64_t offset, uint64_t target_ino, uint64_t target_offset,
                                 uint64_t length)
{
	struct wire_fs_op op = op_base(WIRE_FS_COPY_RANGE);

	op.ino = ino;
	op.offset = offset;
	op.target_ino = target_ino;
	op.target_offset = target_offset;
	op.length = length;
	return op;
}

static struct wire_fs_op op_setxattr_n(uint64_t ino, const char *name, uint32_t name_len, const void *value,
                                       uint32_t len, uint32_t flags)
{
	struct wire_fs_op op = op_base(WIRE_FS_SETXATTR);

	op.ino = ino;
	op.name = name;
	op.name_len = name_len;
	op.data = value;
	op.data_len = len;
	op.flags = flags;
	return op;
}

static struct wire_fs_op op_setxattr(uint64_t ino, const char *name, const char *value, uint32_t flags)
{
	return op_setxattr_n(ino, name, (uint32_t)strlen(name), value, (uint32_t)strlen(value), flags);
}

static struct wire_fs_op op_removexattr(uint64_t ino, const char *name)
{
	struct wire_fs_op op = op_base(WIRE_FS_REMOVEXATTR);

	op.ino = ino;
	op.name = name;
	op.name_len = (uint32_t)strlen(name);
	return op;
}

static struct wire_fs_op op_open(uint64_t ino, uint64_t handle)
{
	struct wire_fs_op op = op_base(WIRE_FS_OPEN);

	op.ino = ino;
	op.handle = handle;
	return op;
}

static struct wire_fs_op op_release(uint64_t ino, uint64_t handle)
{
	struct wire_fs_op op = op_base(WIRE_FS_RELEASE);

	op.ino = ino;
	op.handle = handle;
	return op;
}

/* ---- Helpers that apply and check success ------------------------------------------ */

/* Applies op and returns its result error, after checking that a failure left res->attr zeroed. */
static int fx_err(struct fx *fx, const struct wire_fs_op *op)
{
	struct wire_fs_result res = fx_apply(fx, op);

	if (res.err) {
		assert_int_equal(res.attr.ino, 0);
		assert_int_equal(res.written, 0);
	}
	return res.err;
}

static uint64_t fx_create(struct fx *fx, uint64_t parent, const char *name, uint32_t mode)
{
	struct wire_fs_op op = op_create(parent, name, mode, 0);
	uint64_t ino = fx_next_ino(fx);
	struct wire_fs_result res = fx_apply(fx, &op);

	assert_int_equal(res.err, 0);
	assert_int_equal(res.attr.ino, ino);
	return ino;
}

static uint64_t fx_mkdir(struct fx *fx, uint64_t parent, const char *name, uint32_t mode)
{
	struct wire_fs_op op = op_mkdir(parent, name, mode);
	uint64_t ino = fx_next_ino(fx);
	struct wire_fs_result res = fx_apply(fx, &op);

	assert_int_equal(res.err, 0);
	assert_int_equal(res.attr.ino, ino);
	return ino;
}

static void fx_ok(struct fx *fx, const struct wire_fs_op *op)
{
	assert_int_equal(fx_err(fx, op), 0);
}

/* A byte of the test pattern at absolute file offset off; never zero, so holes show. */
static uint8_t fx_byte(uint64_t off)
{
	return (uint8_t)(1 + (off * 131 + off / 251) % 251);
}

static void fx_write_pattern(struct fx *fx, uint64_t ino, uint64_t offset, uint32_t len)
{
	uint8_t *buf = malloc(len);
	struct wire_fs_op op;
	struct wire_fs_result res;

	assert_non_null(buf);
	for (uint32_t i = 0; i < len; i++)
		buf[i] = fx_byte(offset + i);
	op = op_write(ino, offset, buf, len);
	res = fx_apply(fx, &op);
	free(buf);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.written, len);
}

/* Reads [offset, offset+len) and checks it holds the pattern (zero: zeros); the read must not be short. */
static void fx_expect(struct fx *fx, uint64_t ino, uint64_t offset, uint32_t len, bool zero)
{
	uint8_t *buf = malloc(len);
	uint32_t got = 0;

	assert_non_null(buf);
	memset(buf, 0xee, len);
	assert_int_equal(store_read(fx->s, ino, offset, len, buf, &got), 0);
	assert_int_equal(got, len);
	for (uint32_t i = 0; i < len; i++) {
		uint8_t want = zero ? 0 : fx_byte(offset + i);
		if (buf[i] != want)
			fail_msg("byte at %llu: 0x%02x, expected 0x%02x", (unsigned long long)(offset + i), buf[i],
			         want);
	}
	free(buf);
}

/* Directory listings. */
#define FX_LIST_MAX 32

struct fx_list {
	size_t count;
	size_t stop_after; /* 0: never */
	struct store_dirent e[FX_LIST_MAX];
};

static int fx_list_add(void *arg, const struct store_dirent *e)
{
	struct fx_list *l = arg;

	assert_true(l->count < FX_LIST_MAX);
	l->e[l->count++] = *e;
	return l->stop_after && l->count == l->stop_after;
}

static void fx_list(struct fx *fx, uint64_t dir, uint64_t cookie, size_t stop_after, struct fx_list *l)
{
	memset(l, 0, sizeof(*l));
	l->stop_after = stop_after;
	assert_int_equal(store_readdir(fx->s, dir, cookie, fx_list_add, l), 0);
}

/* ---- create / mknod ---------------------------------------------------------------- */

static void test_create_regular(void **state)
{
	struct fx *fx = *state;
	struct wire_fs_op op = op_create(ROOT, "f", S_IFREG | 0640, 0);
	uint64_t commit = store_commit(fx->s);
	struct wire_fs_result res = fx_apply(fx, &op);

	assert_int_equal(res.err, 0);
	assert_int_equal(res.attr.ino, WIRE_INO_FROM_OP(commit + 1));
	assert_int_equal(res.attr.mode, S_IFREG | 0640);
	assert_int_equal(res.attr.nlink, 1);
	assert_int_equal(res.attr.uid, FX_UID);
	assert_int_equal(res.attr.gid, FX_GID);
	assert_int_equal(res.attr.rdev, 0);
	assert_int_equal(res.attr.size, 0);
	assert_int_equal(res.attr.atime, fx->now);
	assert_int_equal(res.attr.mtime, fx->now);
	assert_int_equal(res.attr.ctime, fx->now);

	struct wire_attr a;
	assert_int_equal(store_lookup(fx->s, ROOT, "f", 1, &a), 0);
	assert_int_equal(a.ino, res.attr.ino);
	assert_int_equal(a.mode, S_IFREG | 0640);
	assert_int_equal(a.blocks, 0);

	/* The parent: mtime and ctime = now, atime untouched, nlink unchanged for a file. */
	struct wire_attr root = fx_attr(fx, ROOT);
	assert_int_equal(root.mode, S_IFDIR | 0755);
	assert_int_equal(root.nlink, 2);
	assert_int_equal(root.uid, 0);
	assert_int_equal(root.gid, 0);
	assert_int_equal(root.mtime, fx->now);
	assert_int_equal(root.ctime, fx->now);
	assert_int_equal(root.atime, T0);

	/* A mode without a file type is a regular file (mknod(2): "zero file type"). */
	uint64_t g = fx_create(fx, ROOT, "g", 0600);
	assert_int_equal(fx_attr(fx, g).mode, S_IFREG | 0600);
	/* The permission bits, suid/sgid/sticky included, are kept as given (the kernel applied umask). */
	uint64_t h = fx_create(fx, ROOT, "h", S_IFREG | 07755);
	assert_int_equal(fx_attr(fx, h).mode, S_IFREG | 07755);
}

static void test_mknod_special_files(void **state)
{
	struct fx *fx = *state;
	struct wire_fs_op fifo = op_create(ROOT, "fifo", S_IFIFO | 0644, makedev(1, 3));
	struct wire_fs_op sock = op_create(ROOT, "sock", S_IFSOCK | 0755, 0);
	struct wire_fs_op chr = op_create(ROOT, "null", S_IFCHR | 0666, makedev(1, 3));
	struct wire_fs_op blk = op_create(ROOT, "sda", S_IFBLK | 0660, makedev(8, 0));
	struct wire_fs_result res;

	res = fx_apply(fx, &fifo);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.attr.mode, S_IFIFO | 0644);
	assert_int_equal(res.attr.rdev, 0); /* mknod(2): dev is ignored unless S_IFCHR or S_IFBLK */
	res = fx_apply(fx, &sock);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.attr.mode, S_IFSOCK | 0755);
	assert_int_equal(res.attr.rdev, 0);
	res = fx_apply(fx, &chr);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.attr.mode, S_IFCHR | 0666);
	assert_int_equal(res.attr.rdev, makedev(1, 3));
	res = fx_apply(fx, &blk);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.attr.mode, S_IFBLK | 0660);
	assert_int_equal(res.attr.rdev, makedev(8, 0));

	struct wire_attr a = fx_attr(fx, fx_ino(fx, ROOT, "sda"));
	assert_int_equal(a.mode, S_IFBLK | 0660);
	assert_int_equal(a.rdev, makedev(8, 0));
	assert_int_equal(a.nlink, 1);
	a = fx_attr(fx, fx_ino(fx, ROOT, "fifo"));
	assert_int_equal(a.mode, S_IFIFO | 0644);
	assert_int_equal(fx_statfs(fx).inodes, 5);
}

static void test_create_errors(void **state)
{
	struct fx *fx = *state;
	uint64_t file = fx_create(fx, ROOT, "file", 0644);
	fx_mkdir(fx, ROOT, "dir", 0755);
	char name[WIRE_NAME_MAX + 2];
	struct wire_fs_op op;

	op = op_create(ROOT, "file", 0644, 0);
	assert_int_equal(fx_err(fx, &op), -EEXIST);
	op = op_create(ROOT, "dir", 0644, 0);
	assert_int_equal(fx_err(fx, &op), -EEXIST);
	op = op_create(999, "x", 0644, 0);
	assert_int_equal(fx_err(fx, &op), -ENOENT);
	op = op_create(file, "x", 0644, 0);
	assert_int_equal(fx_err(fx, &op), -ENOTDIR);
	op = op_create(ROOT, "d", S_IFDIR | 0755, 0);
	assert_int_equal(fx_err(fx, &op), -EPERM);
	op = op_mkdir(ROOT, "file", 0755);
	assert_int_equal(fx_err(fx, &op), -EEXIST);
	op = op_mkdir(file, "x", 0755);
	assert_int_equal(fx_err(fx, &op), -ENOTDIR);
	op = op_mkdir(999, "x", 0755);
	assert_int_equal(fx_err(fx, &op), -ENOENT);

	/* 256 bytes: ENAMETOOLONG; 255 bytes: fine. */
	memset(name, 'n', sizeof(name));
	name[WIRE_NAME_MAX + 1] = '\0';
	op = op_create(ROOT, name, 0644, 0);
	assert_int_equal(op.name_len, 256);
	assert_int_equal(fx_err(fx, &op), -ENAMETOOLONG);
	op = op_mkdir(ROOT, name, 0755);
	assert_int_equal(fx_err(fx, &op), -ENAMETOOLONG);
	struct wire_attr a;
	assert_int_equal(store_lookup(fx->s, ROOT, name, WIRE_NAME_MAX + 1, &a), -ENAMETOOLONG);
	name[WIRE_NAME_MAX] = '\0';
	uint64_t ino = fx_create(fx, ROOT, name, 0644);
	assert_int_equal(fx_ino(fx, ROOT, name), ino);
	/* Names the kernel never sends ("/" inside, empty): refused, not stored. */
	op = op_create(ROOT, "a/b", 0644, 0);
	assert_int_equal(fx_err(fx, &op), -EINVAL);
	op = op_create(ROOT, "", 0644, 0);
	assert_int_equal(fx_err(fx, &op), -EINVAL);
	assert_int_equal(store_lookup(fx->s, ROOT, "missing", 7, &a), -ENOENT);
	assert_int_equal(store_lookup(fx->s, file, "x", 1, &a), -ENOTDIR);
	assert_int_equal(fx_statfs(fx).inodes, 4);
}

static void test_create_setgid_directory(void **state)
{
	struct fx *fx = *state;
	uint64_t plain = fx_mkdir(fx, ROOT, "plain", 0755);
	uint64_t shared = fx_mkdir(fx, ROOT, "shared", 0775);
	struct wire_fs_op op = op_setattr(shared, WIRE_SET_GID | WIRE_SET_MODE);

	op.set_gid = 500;
	op.mode = 02775;
	fx_ok(fx, &op);
	assert_int_equal(fx_attr(fx, shared).mode, S_IFDIR | 02775);
	assert_int_equal(fx_attr(fx, shared).gid, 500);

	/* Outside a setgid directory a new inode gets the caller's group. */
	uint64_t f0 = fx_create(fx, plain, "f", 0644);
	assert_int_equal(fx_attr(fx, f0).gid, FX_GID);
	assert_int_equal(fx_attr(fx, f0).uid, FX_UID);

	/* Inside: the directory's group; a new subdirectory also inherits S_ISGID; a file does not gain it. */
	uint64_t f1 = fx_create(fx, shared, "f", 0644);
	assert_int_equal(fx_attr(fx, f1).gid, 500);
	assert_int_equal(fx_attr(fx, f1).uid, FX_UID);
	assert_int_equal(fx_attr(fx, f1).mode, S_IFREG | 0644);
	uint64_t sub = fx_mkdir(fx, shared, "sub", 0750);
	assert_int_equal(fx_attr(fx, sub).gid, 500);
	assert_int_equal(fx_attr(fx, sub).mode, S_IFDIR | 02750);
	/* ... and passes it on. */
	uint64_t subsub = fx_mkdir(fx, sub, "subsub", 0700);
	assert_int_equal(fx_attr(fx, subsub).gid, 500);
	assert_int_equal(fx_attr(fx, subsub).mode, S_IFDIR | 02700);
	struct wire_fs_op sl = op_symlink(shared, "l", "t", 1);
	fx_ok(fx, &sl);
	assert_int_equal(fx_attr(fx, fx_ino(fx, shared, "l")).gid, 500);
}

static void test_mkdir(void **state)
{
	struct fx *fx = *state;
	uint64_t commit = store_commit(fx->s);
	struct wire_fs_op op = op_mkdir(ROOT, "d", 06755); /* mkdir(2) ignores S_ISUID and S_ISGID in mode */
	struct wire_fs_result res = fx_apply(fx, &op);

	assert_int_equal(res.err, 0);
	assert_int_equal(res.attr.ino, WIRE_INO_FROM_OP(commit + 1));
	assert_int_equal(res.attr.mode, S_IFDIR | 0755);
	assert_int_equal(res.attr.nlink, 2);
	assert_int_equal(res.attr.uid, FX_UID);
	assert_int_equal(res.attr.gid, FX_GID);
	assert_int_equal(res.attr.size, 0);
	assert_int_equal(res.attr.ctime, fx->now);
	assert_int_equal(fx_attr(fx, ROOT).nlink, 3);
	assert_int_equal(fx_attr(fx, ROOT).mtime, fx->now);
	assert_int_equal(fx_attr(fx, ROOT).ctime, fx->now);

	/* The sticky bit is kept. */
	uint64_t tmp = fx_mkdir(fx, ROOT, "tmp", 01777);
	assert_int_equal(fx_attr(fx, tmp).mode, S_IFDIR | 01777);
	assert_int_equal(fx_attr(fx, ROOT).nlink, 4);

	/* A file does not count toward the parent's links; a subdirectory does. */
	fx_create(fx, res.attr.ino, "f", 0644);
	assert_int_equal(fx_attr(fx, res.attr.ino).nlink, 2);
	fx_mkdir(fx, res.attr.ino, "s1", 0755);
	fx_mkdir(fx, res.attr.ino, "s2", 0755);
	assert_int_equal(fx_attr(fx, res.attr.ino).nlink, 4);
	assert_int_equal(fx_attr(fx, ROOT).nlink, 4);
}

/* ---- symlink ----------------------------------------------------------------------- */

static void test_symlink(void **state)
{
	struct fx *fx = *state;
	static const char target[] = "../some/where/else";
	uint32_t tlen = (uint32_t)strlen(target);
	struct wire_fs_op op = op_symlink(ROOT, "l", target, tlen);
	uint64_t commit = store_commit(fx->s);
	struct wire_fs_result res = fx_apply(fx, &op);
	char buf[64];
	uint32_t len;

	assert_int_equal(res.err, 0);
	assert_int_equal(res.attr.ino, WIRE_INO_FROM_OP(commit + 1));
	assert_int_equal(res.attr.mode, S_IFLNK | 0777);
	assert_int_equal(res.attr.size, tlen);
	assert_int_equal(res.attr.nlink, 1);
	assert_int_equal(res.attr.uid, FX_UID);
	assert_int_equal(fx_attr(fx, ROOT).mtime, fx->now);
	assert_int_equal(fx_attr(fx, res.attr.ino).size, tlen);

	memset(buf, 0, sizeof(buf));
	len = sizeof(buf);
	assert_int_equal(store_readlink(fx->s, res.attr.ino, buf, &len), 0);
	assert_int_equal(len, tlen);
	assert_memory_equal(buf, target, tlen);

	/* A small buffer gets the prefix and the full length. */
	memset(buf, 0, sizeof(buf));
	len = 4;
	assert_int_equal(store_readlink(fx->s, res.attr.ino, buf, &len), 0);
	assert_int_equal(len, tlen);
	assert_memory_equal(buf, "../s", 4);
	assert_int_equal(buf[4], 0);

	/* readlink(2): EINVAL when not a symlink; ENOENT for no inode. */
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	len = sizeof(buf);
	assert_int_equal(store_readlink(fx->s, f, buf, &len), -EINVAL);
	len = sizeof(buf);
	assert_int_equal(store_readlink(fx->s, 999, buf, &len), -ENOENT);
}

static void test_symlink_errors(void **state)
{
	struct fx *fx = *state;
	char *target = malloc(WIRE_SYMLINK_MAX + 1);
	struct wire_fs_op op;

	assert_non_null(target);
	memset(target, 't', WIRE_SYMLINK_MAX + 1);
	op = op_symlink(ROOT, "empty", "", 0);
	assert_int_equal(fx_err(fx, &op), -ENOENT);
	op = op_symlink(ROOT, "long", target, WIRE_SYMLINK_MAX + 1); /* 4096 bytes */
	assert_int_equal(fx_err(fx, &op), -ENAMETOOLONG);
	op = op_symlink(ROOT, "max", target, WIRE_SYMLINK_MAX); /* 4095 bytes */
	assert_int_equal(fx_err(fx, &op), 0);
	op = op_symlink(ROOT, "max", "x", 1);
	assert_int_equal(fx_err(fx, &op), -EEXIST);
	op = op_symlink(999, "x", "x", 1);
	assert_int_equal(fx_err(fx, &op), -ENOENT);

	char buf[WIRE_SYMLINK_MAX + 1];
	uint32_t len = sizeof(buf);
	assert_int_equal(store_readlink(fx->s, fx_ino(fx, ROOT, "max"), buf, &len), 0);
	assert_int_equal(len, WIRE_SYMLINK_MAX);
	assert_memory_equal(buf, target, WIRE_SYMLINK_MAX);
	assert_int_equal(fx_lookup(fx, ROOT, "empty", NULL), -ENOENT);
	assert_int_equal(fx_lookup(fx, ROOT, "long", NULL), -ENOENT);
	free(target);
}

/* ---- link -------------------------------------------------------------------------- */

static void test_link(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	uint64_t d = fx_mkdir(fx, ROOT, "d", 0755);
	struct wire_fs_op op = op_link(f, d, "g");
	uint64_t commit = store_commit(fx->s);
	struct wire_fs_result res = fx_apply(fx, &op);

	assert_int_equal(res.err, 0);
	assert_int_equal(res.attr.ino, f);
	assert_int_equal(res.attr.nlink, 2);
	assert_int_equal(res.attr.ctime, fx->now);
	assert_int_equal(fx_ino(fx, d, "g"), f);
	assert_int_equal(fx_ino(fx, ROOT, "f"), f);
	assert_int_equal(fx_attr(fx, f).nlink, 2);
	assert_int_equal(fx_attr(fx, d).mtime, fx->now);
	assert_int_equal(fx_attr(fx, d).ctime, fx->now);
	assert_int_equal(fx_attr(fx, d).nlink, 2);
	/* A link makes no inode: the op-number's would-be inode does not exist. */
	struct wire_attr a;
	assert_int_equal(store_getattr(fx->s, WIRE_INO_FROM_OP(commit + 1), &a), -ENOENT);
	assert_int_equal(fx_statfs(fx).inodes, 3);
}

static void test_link_errors(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	uint64_t d = fx_mkdir(fx, ROOT, "d", 0755);
	struct wire_fs_op op;

	op = op_link(d, ROOT, "d2"); /* link(2): EPERM, oldpath is a directory */
	assert_int_equal(fx_err(fx, &op), -EPERM);
	op = op_link(f, ROOT, "d");
	assert_int_equal(fx_err(fx, &op), -EEXIST);
	op = op_link(f, ROOT, "f");
	assert_int_equal(fx_err(fx, &op), -EEXIST);
	op = op_link(999, ROOT, "x");
	assert_int_equal(fx_err(fx, &op), -ENOENT);
	op = op_link(f, 999, "x");
	assert_int_equal(fx_err(fx, &op), -ENOENT);
	op = op_link(f, f, "x");
	assert_int_equal(fx_err(fx, &op), -ENOTDIR);
	assert_int_equal(fx_attr(fx, f).nlink, 1);

	/* Unlinked but held open: link(2) ENOENT (the kernel refuses to relink an inode with nlink 0). */
	struct wire_fs_op op_o = op_open(f, 1), op_u = op_unlink(ROOT, "f");
	fx_ok(fx, &op_o);
	fx_ok(fx, &op_u);
	assert_int_equal(fx_attr(fx, f).nlink, 0);
	op = op_link(f, ROOT, "again");
	assert_int_equal(fx_err(fx, &op), -ENOENT);
	assert_int_equal(fx_lookup(fx, ROOT, "again", NULL), -ENOENT);
	assert_int_equal(fx_attr(fx, f).nlink, 0);
}

/* ---- unlink / rmdir ---------------------------------------------------------------- */

static void test_unlink(void **state)
{
	struct fx *fx = *state;
	uint64_t d = fx_mkdir(fx, ROOT, "d", 0755);
	uint64_t f = fx_create(fx, d, "f", 0644);
	struct wire_fs_op ln = op_link(f, ROOT, "g");
	struct wire_fs_op op;
	struct wire_attr a;

	fx_write_pattern(fx, f, 0, 1000);
	fx_ok(fx, &ln);
	struct wire_fs_op xa = op_setxattr(f, "user.k", "v", 0);
	fx_ok(fx, &xa);

	/* One of two links: the inode stays with nlink 1 and ctime = now. */
	op = op_unlink(d, "f");
	struct wire_fs_result res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.attr.ino, 0); /* fs_op.h: no attributes for UNLINK */
	assert_int_equal(res.attr.nlink, 0);
	assert_int_equal(fx_lookup(fx, d, "f", NULL), -ENOENT);
	a = fx_attr(fx, f);
	assert_int_equal(a.nlink, 1);
	assert_int_equal(a.ctime, fx->now);
	assert_int_equal(fx_attr(fx, d).mtime, fx->now);
	assert_int_equal(fx_attr(fx, d).ctime, fx->now);
	assert_int_equal(fx_attr(fx, d).nlink, 2);
	fx_expect(fx, f, 0, 1000, false);

	/* The last link, no handle: the inode, its data and its xattrs go. */
	op = op_unlink(ROOT, "g");
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(store_getattr(fx->s, f, &a), -ENOENT);
	assert_int_equal(fx_attr(fx, ROOT).mtime, fx->now);
	struct store_statfs st = fx_statfs(fx);
	assert_int_equal(st.inodes, 2);
	assert_int_equal(st.data_bytes, 0);
	uint32_t len;
	assert_int_equal(store_getxattr(fx->s, f, "user.k", 6, NULL, 0, &len), -ENOENT);

	/* A symlink is unlinked like a file; its target goes with it. */
	struct wire_fs_op sl = op_symlink(ROOT, "l", "t", 1);
	fx_ok(fx, &sl);
	uint64_t l = fx_ino(fx, ROOT, "l");
	op = op_unlink(ROOT, "l");
	assert_int_equal(fx_err(fx, &op), 0);
	char buf[8];
	len = sizeof(buf);
	assert_int_equal(store_readlink(fx->s, l, buf, &len), -ENOENT);
}

static void test_unlink_rmdir_errors(void **state)
{
	struct fx *fx = *state;
	uint64_t d = fx_mkdir(fx, ROOT, "d", 0755);
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	struct wire_fs_op op;

	fx_create(fx, d, "inner", 0644);
	op = op_unlink(ROOT, "d"); /* unlink(2): EISDIR on Linux */
	assert_int_equal(fx_err(fx, &op), -EISDIR);
	op = op_rmdir(ROOT, "f");
	assert_int_equal(fx_err(fx, &op), -ENOTDIR);
	op = op_rmdir(ROOT, "d");
	assert_int_equal(fx_err(fx, &op), -ENOTEMPTY);
	op = op_unlink(ROOT, "missing");
	assert_int_equal(fx_err(fx, &op), -ENOENT);
	op = op_rmdir(ROOT, "missing");
	assert_int_equal(fx_err(fx, &op), -ENOENT);
	op = op_unlink(999, "f");
	assert_int_equal(fx_err(fx, &op), -ENOENT);
	op = op_unlink(f, "x");
	assert_int_equal(fx_err(fx, &op), -ENOTDIR);
	op = op_rmdir(f, "x");
	assert_int_equal(fx_err(fx, &op), -ENOTDIR);

	assert_int_equal(fx_ino(fx, ROOT, "d"), d);
	assert_int_equal(fx_ino(fx, ROOT, "f"), f);
	assert_int_equal(fx_attr(fx, ROOT).nlink, 3);
	assert_int_equal(fx_attr(fx, d).nlink, 2);
}

static void test_rmdir(void **state)
{
	struct fx *fx = *state;
	uint64_t a = fx_mkdir(fx, ROOT, "a", 0755);
	uint64_t b = fx_mkdir(fx, a, "b", 0755);
	struct wire_fs_op op;
	struct wire_attr attr;

	assert_int_equal(fx_attr(fx, ROOT).nlink, 3);
	assert_int_equal(fx_attr(fx, a).nlink, 3);
	op = op_rmdir(a, "b");
	struct wire_fs_result res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.attr.ino, 0); /* fs_op.h: no attributes for RMDIR */
	assert_int_equal(res.attr.mode, 0);
	assert_int_equal(store_getattr(fx->s, b, &attr), -ENOENT);
	assert_int_equal(fx_attr(fx, a).nlink, 2);
	assert_int_equal(fx_attr(fx, a).mtime, fx->now);
	assert_int_equal(fx_attr(fx, a).ctime, fx->now);
	op = op_rmdir(ROOT, "a");
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(store_getattr(fx->s, a, &attr), -ENOENT);
	assert_int_equal(fx_attr(fx, ROOT).nlink, 2);
	assert_int_equal(fx_statfs(fx).inodes, 1);

	/* A removed directory held open: nothing can be created in it. */
	uint64_t c = fx_mkdir(fx, ROOT, "c", 0755);
	struct wire_fs_op op_o = op_open(c, 5);
	fx_ok(fx, &op_o);
	op = op_rmdir(ROOT, "c");
	assert_int_equal(fx_err(fx, &op), 0);
	attr = fx_attr(fx, c);
	assert_int_equal(attr.nlink, 0);
	assert_int_equal(fx_attr(fx, ROOT).nlink, 2);
	op = op_create(c, "x", 0644, 0);
	assert_int_equal(fx_err(fx, &op), -ENOENT);
	struct wire_fs_op op_r = op_release(c, 5);
	fx_ok(fx, &op_r);
	assert_int_equal(store_getattr(fx->s, c, &attr), -ENOENT);
}

/* ---- rename ------------------------------------------------------------------------ */

static void test_rename_within_directory(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "a", 0644);
	struct wire_fs_op op = op_rename(ROOT, "a", ROOT, "b", 0);
	struct fx_list l;

	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_lookup(fx, ROOT, "a", NULL), -ENOENT);
	assert_int_equal(fx_ino(fx, ROOT, "b"), f);
	assert_int_equal(fx_attr(fx, f).ctime, fx->now);
	assert_int_equal(fx_attr(fx, f).nlink, 1);
	assert_int_equal(fx_attr(fx, ROOT).mtime, fx->now);
	assert_int_equal(fx_attr(fx, ROOT).ctime, fx->now);
	assert_int_equal(fx_attr(fx, ROOT).nlink, 2);
	fx_list(fx, ROOT, 0, 0, &l);
	assert_int_equal(l.count, 1);
	assert_string_equal(l.e[0].name, "b");
	assert_int_equal(l.e[0].ino, f);

	/* Renaming an entry onto itself changes nothing. */
	uint8_t before[STORE_DIGEST_SIZE], after[STORE_DIGEST_SIZE];
	fx_digest(fx, before);
	op = op_rename(ROOT, "b", ROOT, "b", 0);
	assert_int_equal(fx_err(fx, &op), 0);
	fx_digest(fx, after);
	assert_memory_equal(before, after, STORE_DIGEST_SIZE);
}

static void test_rename_across_directories(void **state)
{
	struct fx *fx = *state;
	uint64_t d1 = fx_mkdir(fx, ROOT, "d1", 0755);
	uint64_t d2 = fx_mkdir(fx, ROOT, "d2", 0755);
	uint64_t f = fx_create(fx, d1, "f", 0644);
	uint64_t sub = fx_mkdir(fx, d1, "sub", 0755);
	struct wire_fs_op op;
	struct fx_list l;

	op = op_rename(d1, "f", d2, "g", 0);
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_lookup(fx, d1, "f", NULL), -ENOENT);
	assert_int_equal(fx_ino(fx, d2, "g"), f);
	assert_int_equal(fx_attr(fx, d1).mtime, fx->now);
	assert_int_equal(fx_attr(fx, d2).mtime, fx->now);
	assert_int_equal(fx_attr(fx, d2).ctime, fx->now);
	assert_int_equal(fx_attr(fx, d1).nlink, 3); /* a file moving changes no link count */
	assert_int_equal(fx_attr(fx, d2).nlink, 2);

	/* A directory moving: the old parent loses its "..", the new one gains it. */
	op = op_rename(d1, "sub", d2, "sub", 0);
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_attr(fx, d1).nlink, 2);
	assert_int_equal(fx_attr(fx, d2).nlink, 3);
	assert_int_equal(fx_attr(fx, ROOT).nlink, 4);
	assert_int_equal(fx_attr(fx, sub).nlink, 2);
	assert_int_equal(fx_attr(fx, sub).ctime, fx->now);
	fx_list(fx, d1, 0, 0, &l);
	assert_int_equal(l.count, 0);
	fx_list(fx, d2, 0, 0, &l);
	assert_int_equal(l.count, 2);
	assert_string_equal(l.e[0].name, "g");
	assert_int_equal(l.e[0].mode, S_IFREG);
	assert_string_equal(l.e[1].name, "sub");
	assert_int_equal(l.e[1].ino, sub);
	assert_int_equal(l.e[1].mode, S_IFDIR);
	/* sub now lives in d2, so d2 cannot move into sub (its own subtree). */
	op = op_rename(ROOT, "d2", sub, "d2", 0);
	assert_int_equal(fx_err(fx, &op), -EINVAL);
}

static void test_rename_over_file(void **state)
{
	struct fx *fx = *state;
	uint64_t a = fx_create(fx, ROOT, "a", 0644);
	uint64_t b = fx_create(fx, ROOT, "b", 0600);
	struct wire_fs_op op = op_rename(ROOT, "a", ROOT, "b", 0);
	struct wire_attr attr;

	fx_write_pattern(fx, a, 0, 10);
	fx_write_pattern(fx, b, 0, 3000);
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_lookup(fx, ROOT, "a", NULL), -ENOENT);
	assert_int_equal(fx_ino(fx, ROOT, "b"), a);
	assert_int_equal(store_getattr(fx->s, b, &attr), -ENOENT);
	struct store_statfs st = fx_statfs(fx);
	assert_int_equal(st.inodes, 2);
	assert_int_equal(st.data_bytes, 10);

	/* Across directories, over a file that keeps another link: it stays, one link fewer. */
	uint64_t d = fx_mkdir(fx, ROOT, "d", 0755);
	uint64_t c = fx_create(fx, d, "c", 0644);
	struct wire_fs_op ln = op_link(c, ROOT, "c2");
	fx_ok(fx, &ln);
	op = op_rename(ROOT, "b", d, "c", 0);
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_ino(fx, d, "c"), a);
	attr = fx_attr(fx, c);
	assert_int_equal(attr.nlink, 1);
	assert_int_equal(attr.ctime, fx->now);
	assert_int_equal(fx_ino(fx, ROOT, "c2"), c);
}

static void test_rename_over_empty_directory(void **state)
{
	struct fx *fx = *state;
	uint64_t a = fx_mkdir(fx, ROOT, "a", 0755);
	uint64_t b = fx_mkdir(fx, ROOT, "b", 0755);
	struct wire_fs_op op = op_rename(ROOT, "a", ROOT, "b", 0);
	struct wire_attr attr;

	assert_int_equal(fx_attr(fx, ROOT).nlink, 4);
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_ino(fx, ROOT, "b"), a);
	assert_int_equal(fx_lookup(fx, ROOT, "a", NULL), -ENOENT);
	assert_int_equal(store_getattr(fx->s, b, &attr), -ENOENT);
	assert_int_equal(fx_attr(fx, ROOT).nlink, 3);

	/* Across directories: the old parent loses a link, the new one keeps its count. */
	uint64_t p = fx_mkdir(fx, ROOT, "p", 0755);
	uint64_t q = fx_mkdir(fx, ROOT, "q", 0755);
	uint64_t x = fx_mkdir(fx, p, "x", 0755);
	uint64_t y = fx_mkdir(fx, q, "y", 0755);
	op = op_rename(p, "x", q, "y", 0);
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_ino(fx, q, "y"), x);
	assert_int_equal(store_getattr(fx->s, y, &attr), -ENOENT);
	assert_int_equal(fx_attr(fx, p).nlink, 2);
	assert_int_equal(fx_attr(fx, q).nlink, 3);
	assert_int_equal(fx_attr(fx, ROOT).nlink, 5);
	assert_int_equal(fx_statfs(fx).inodes, 5);
}

static void test_rename_errors(void **state)
{
	struct fx *fx = *state;
	uint64_t d = fx_mkdir(fx, ROOT, "d", 0755);
	uint64_t full = fx_mkdir(fx, ROOT, "full", 0755);
	uint64_t sub = fx_mkdir(fx, d, "sub", 0755);
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	struct wire_fs_op op;
	uint8_t before[STORE_DIGEST_SIZE], after[STORE_DIGEST_SIZE];

	fx_create(fx, full, "x", 0644);
	fx_digest(fx, before);
	op = op_rename(ROOT, "d", ROOT, "full", 0);
	assert_int_equal(fx_err(fx, &op), -ENOTEMPTY);
	op = op_rename(ROOT, "d", ROOT, "f", 0); /* a directory over a file */
	assert_int_equal(fx_err(fx, &op), -ENOTDIR);
	op = op_rename(ROOT, "f", ROOT, "d", 0); /* a file over a directory */
	assert_int_equal(fx_err(fx, &op), -EISDIR);
	op = op_rename(ROOT, "d", sub, "d", 0); /* into its own subtree */
	assert_int_equal(fx_err(fx, &op), -EINVAL);
	op = op_rename(ROOT, "d", d, "d", 0); /* into itself */
	assert_int_equal(fx_err(fx, &op), -EINVAL);
	op = op_rename(d, "sub", ROOT, "d", 0); /* over its own ancestor: rename(2) ENOTEMPTY */
	assert_int_equal(fx_err(fx, &op), -ENOTEMPTY);
	op = op_rename(ROOT, "f", ROOT, "full", RENAME_NOREPLACE);
	assert_int_equal(fx_err(fx, &op), -EEXIST);
	op = op_rename(ROOT, "f", ROOT, "missing", RENAME_EXCHANGE);
	assert_int_equal(fx_err(fx, &op), -ENOENT);
	op = op_rename(ROOT, "f", ROOT, "full", RENAME_EXCHANGE | RENAME_NOREPLACE);
	assert_int_equal(fx_err(fx, &op), -EINVAL);
	op = op_rename(ROOT, "f", ROOT, "g", 1u << 2); /* vrfs does not support RENAME_WHITEOUT: rename(2) EINVAL */
	assert_int_equal(fx_err(fx, &op), -EINVAL);
	op = op_rename(ROOT, "missing", ROOT, "g", 0);
	assert_int_equal(fx_err(fx, &op), -ENOENT);
	op = op_rename(999, "f", ROOT, "g", 0);
	assert_int_equal(fx_err(fx, &op), -ENOENT);
	op = op_rename(ROOT, "f", 999, "g", 0);
	assert_int_equal(fx_err(fx, &op), -ENOENT);
	op = op_rename(ROOT, "f", f, "g", 0);
	assert_int_equal(fx_err(fx, &op), -ENOTDIR);
	fx_digest(fx, after);
	assert_memory_equal(before, after, STORE_DIGEST_SIZE);

	/* RENAME_NOREPLACE onto a free name is a plain rename. */
	op = op_rename(ROOT, "f", d, "f2", RENAME_NOREPLACE);
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_ino(fx, d, "f2"), f);
	assert_int_equal(fx_ino(fx, d, "sub"), sub);
}

static void test_rename_exchange(void **state)
{
	struct fx *fx = *state;
	uint64_t a = fx_create(fx, ROOT, "a", 0644);
	uint64_t b = fx_create(fx, ROOT, "b", 0644);
	struct wire_fs_op op = op_rename(ROOT, "a", ROOT, "b", RENAME_EXCHANGE);

	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_ino(fx, ROOT, "a"), b);
	assert_int_equal(fx_ino(fx, ROOT, "b"), a);
	assert_int_equal(fx_attr(fx, a).ctime, fx->now);
	assert_int_equal(fx_attr(fx, b).ctime, fx->now);
	assert_int_equal(fx_attr(fx, a).nlink, 1);
	assert_int_equal(fx_attr(fx, b).nlink, 1);
	assert_int_equal(fx_attr(fx, ROOT).mtime, fx->now);
	struct fx_list l;
	fx_list(fx, ROOT, 0, 0, &l);
	assert_int_equal(l.count, 2);

	/* Across directories, a directory with a file: the link counts follow the directory. */
	uint64_t p = fx_mkdir(fx, ROOT, "p", 0755);
	uint64_t q = fx_mkdir(fx, ROOT, "q", 0755);
	uint64_t dir = fx_mkdir(fx, p, "dir", 0755);
	uint64_t file = fx_create(fx, q, "file", 0644);
	fx_create(fx, dir, "inside", 0644);
	assert_int_equal(fx_attr(fx, p).nlink, 3);
	assert_int_equal(fx_attr(fx, q).nlink, 2);
	op = op_rename(p, "dir", q, "file", RENAME_EXCHANGE);
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_ino(fx, p, "dir"), file);
	assert_int_equal(fx_ino(fx, q, "file"), dir);
	assert_int_equal(fx_attr(fx, p).nlink, 2);
	assert_int_equal(fx_attr(fx, q).nlink, 3);
	assert_int_equal(fx_attr(fx, dir).nlink, 2);
	assert_int_equal(fx_attr(fx, file).nlink, 1);
	assert_int_equal(fx_attr(fx, p).mtime, fx->now);
	assert_int_equal(fx_attr(fx, q).mtime, fx->now);
	fx_list(fx, q, 0, 0, &l);
	assert_int_equal(l.count, 1);
	assert_string_equal(l.e[0].name, "file");
	assert_int_equal(l.e[0].mode, S_IFDIR);
	fx_list(fx, dir, 0, 0, &l);
	assert_int_equal(l.count, 1);
	assert_string_equal(l.e[0].name, "inside");

	/* And back, the file from p and the directory from q. */
	op = op_rename(p, "dir", q, "file", RENAME_EXCHANGE);
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_ino(fx, p, "dir"), dir);
	assert_int_equal(fx_attr(fx, p).nlink, 3);
	assert_int_equal(fx_attr(fx, q).nlink, 2);

	/* Two non-empty directories exchange freely (no emptiness rule for EXCHANGE). */
	uint64_t d2 = fx_mkdir(fx, q, "d2", 0755);
	fx_create(fx, d2, "y", 0644);
	op = op_rename(p, "dir", q, "d2", RENAME_EXCHANGE);
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_ino(fx, p, "dir"), d2);
	assert_int_equal(fx_ino(fx, q, "d2"), dir);
	assert_int_equal(fx_attr(fx, p).nlink, 3);
	assert_int_equal(fx_attr(fx, q).nlink, 3);
	/* A directory exchanged with its own ancestor: EINVAL. */
	op = op_rename(q, "d2", ROOT, "q", RENAME_EXCHANGE);
	assert_int_equal(fx_err(fx, &op), -EINVAL);
	op = op_rename(ROOT, "q", q, "d2", RENAME_EXCHANGE);
	assert_int_equal(fx_err(fx, &op), -EINVAL);
}

static void test_rename_hard_link_onto_same_inode(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "a", 0644);
	struct wire_fs_op ln = op_link(f, ROOT, "b");
	uint8_t before[STORE_DIGEST_SIZE], after[STORE_DIGEST_SIZE];

	fx_ok(fx, &ln);
	fx_digest(fx, before);
	/* rename(2): "If oldpath and newpath are existing hard links referring to the same file, then rename()
	 * does nothing, and returns a success status." */
	struct wire_fs_op op = op_rename(ROOT, "a", ROOT, "b", 0);
	struct wire_fs_result res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	fx_digest(fx, after);
	assert_memory_equal(before, after, STORE_DIGEST_SIZE);
	assert_int_equal(fx_ino(fx, ROOT, "a"), f);
	assert_int_equal(fx_ino(fx, ROOT, "b"), f);
	assert_int_equal(fx_attr(fx, f).nlink, 2);
}

/* ---- setattr ----------------------------------------------------------------------- */

static void test_setattr_chmod(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	uint64_t d = fx_mkdir(fx, ROOT, "d", 0755);
	struct wire_fs_op op = op_setattr(f, WIRE_SET_MODE);
	struct wire_fs_result res;

	op.mode = S_IFDIR | 04711; /* a type in the mode is ignored: chmod changes permission bits only */
	res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.attr.mode, S_IFREG | 04711);
	assert_int_equal(res.attr.ctime, fx->now);
	assert_int_equal(fx_attr(fx, f).mode, S_IFREG | 04711);
	op = op_setattr(d, WIRE_SET_MODE);
	op.mode = 01700;
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_attr(fx, d).mode, S_IFDIR | 01700);
	op = op_setattr(999, WIRE_SET_MODE);
	assert_int_equal(fx_err(fx, &op), -ENOENT);
}

static void test_setattr_chown_clears_suid_sgid(void **state)
{
	struct fx *fx = *state;
	uint64_t x = fx_create(fx, ROOT, "x", 06755); /* group-executable */
	uint64_t nx = fx_create(fx, ROOT, "nx", 06745);
	uint64_t d = fx_mkdir(fx, ROOT, "d", 0755);
	struct wire_fs_op op;
	struct wire_fs_result res;

	/* chown(2): S_ISUID cleared; S_ISGID cleared only with S_IXGRP (else it marks mandatory locking). */
	op = op_setattr(x, WIRE_SET_UID | WIRE_SET_GID);
	op.set_uid = 2000;
	op.set_gid = 3000;
	res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.attr.mode, S_IFREG | 0755);
	assert_int_equal(res.attr.uid, 2000);
	assert_int_equal(res.attr.gid, 3000);
	assert_int_equal(res.attr.ctime, fx->now);
	assert_int_equal(fx_attr(fx, x).mode, S_IFREG | 0755);

	op = op_setattr(nx, WIRE_SET_UID);
	op.set_uid = 2000;
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_attr(fx, nx).mode, S_IFREG | 02745);
	assert_int_equal(fx_attr(fx, nx).uid, 2000);
	assert_int_equal(fx_attr(fx, nx).gid, FX_GID);

	/* A chgrp alone also clears them. */
	struct wire_fs_op mode = op_setattr(nx, WIRE_SET_MODE);
	mode.mode = 06755;
	fx_ok(fx, &mode);
	op = op_setattr(nx, WIRE_SET_GID);
	op.set_gid = 4000;
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_attr(fx, nx).mode, S_IFREG | 0755);
	assert_int_equal(fx_attr(fx, nx).gid, 4000);

	/* A directory keeps them (its S_ISGID is the setgid-directory rule). */
	mode = op_setattr(d, WIRE_SET_MODE);
	mode.mode = 02755;
	fx_ok(fx, &mode);
	op = op_setattr(d, WIRE_SET_UID | WIRE_SET_GID);
	op.set_uid = 2000;
	op.set_gid = 3000;
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_attr(fx, d).mode, S_IFDIR | 02755);
	assert_int_equal(fx_attr(fx, d).uid, 2000);
}

static void test_setattr_truncate(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	struct wire_fs_op op;
	struct wire_fs_result res;

	fx_write_pattern(fx, f, 0, 3 * CHUNK);
	/* Down into the middle of the second chunk. */
	op = op_truncate(f, CHUNK + 100);
	res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.attr.size, CHUNK + 100);
	assert_int_equal(res.attr.mtime, fx->now);
	assert_int_equal(res.attr.ctime, fx->now);
	assert_int_equal(fx_attr(fx, f).size, CHUNK + 100);
	assert_int_equal(fx_statfs(fx).data_bytes, CHUNK + 100);
	fx_expect(fx, f, 0, CHUNK + 100, false);
	uint8_t byte;
	uint32_t got = 1;
	assert_int_equal(store_read(fx->s, f, CHUNK + 100, 1, &byte, &got), 0);
	assert_int_equal(got, 0);

	/* Up again: the re-extended range reads zeros; the cut data must not come back. */
	op = op_truncate(f, 3 * CHUNK);
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_attr(fx, f).size, 3 * CHUNK);
	assert_int_equal(fx_attr(fx, f).mtime, fx->now);
	fx_expect(fx, f, 0, CHUNK + 100, false);
	fx_expect(fx, f, CHUNK + 100, 2 * CHUNK - 100, true);
	assert_int_equal(fx_statfs(fx).data_bytes, CHUNK + 100);

	/* Down to a chunk boundary, then a write beyond the cut: the gap reads zeros. */
	op = op_truncate(f, CHUNK);
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_statfs(fx).data_bytes, CHUNK);
	fx_write_pattern(fx, f, CHUNK + 200, 10);
	assert_int_equal(fx_attr(fx, f).size, CHUNK + 210);
	fx_expect(fx, f, 0, CHUNK, false);
	fx_expect(fx, f, CHUNK, 200, true);
	fx_expect(fx, f, CHUNK + 200, 10, false);

	/* To zero: no data left. */
	op = op_truncate(f, 0);
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_attr(fx, f).size, 0);
	assert_int_equal(fx_attr(fx, f).blocks, 0);
	assert_int_equal(fx_statfs(fx).data_bytes, 0);

	/* Up from empty to the largest size. */
	op = op_truncate(f, WIRE_FILE_SIZE_MAX);
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_attr(fx, f).size, WIRE_FILE_SIZE_MAX);
	fx_expect(fx, f, WIRE_FILE_SIZE_MAX - 16, 16, true);
}

static void test_setattr_errors(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	uint64_t d = fx_mkdir(fx, ROOT, "d", 0755);
	struct wire_fs_op sl = op_symlink(ROOT, "l", "target", 6);
	struct wire_fs_op op;

	fx_ok(fx, &sl);
	op = op_truncate(d, 0); /* truncate(2): EISDIR */
	assert_int_equal(fx_err(fx, &op), -EISDIR);
	op = op_truncate(f, WIRE_FILE_SIZE_MAX + 1); /* truncate(2): EFBIG */
	assert_int_equal(fx_err(fx, &op), -EFBIG);
	op = op_truncate(fx_ino(fx, ROOT, "l"), 0); /* truncate(2): EINVAL, not a regular file */
	assert_int_equal(fx_err(fx, &op), -EINVAL);
	op = op_truncate(999, 0);
	assert_int_equal(fx_err(fx, &op), -ENOENT);
	/* A failed truncate applies none of the other fields either. */
	op = op_truncate(f, WIRE_FILE_SIZE_MAX + 1);
	op.valid |= WIRE_SET_MODE;
	op.mode = 0600;
	assert_int_equal(fx_err(fx, &op), -EFBIG);
	assert_int_equal(fx_attr(fx, f).mode, S_IFREG | 0644);
	assert_int_equal(fx_attr(fx, f).size, 0);
}

static void test_setattr_times(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	int64_t created = fx->now;
	struct wire_fs_op op = op_setattr(f, WIRE_SET_ATIME | WIRE_SET_MTIME);
	struct wire_fs_result res;

	op.atime = 123456789;
	op.mtime = -5; /* before the epoch */
	res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.attr.atime, 123456789);
	assert_int_equal(res.attr.mtime, -5);
	assert_int_equal(res.attr.ctime, fx->now);
	struct wire_attr a = fx_attr(fx, f);
	assert_int_equal(a.atime, 123456789);
	assert_int_equal(a.mtime, -5);
	assert_int_equal(a.ctime, fx->now);

	/* atime alone leaves mtime. */
	op = op_setattr(f, WIRE_SET_ATIME);
	op.atime = created;
	op.mtime = 777;
	assert_int_equal(fx_err(fx, &op), 0);
	a = fx_attr(fx, f);
	assert_int_equal(a.atime, created);
	assert_int_equal(a.mtime, -5);
	assert_int_equal(a.ctime, fx->now);

	/* An explicit mtime with a truncate wins over the truncate's "now". */
	op = op_truncate(f, 10);
	op.valid |= WIRE_SET_MTIME;
	op.mtime = 42;
	assert_int_equal(fx_err(fx, &op), 0);
	a = fx_attr(fx, f);
	assert_int_equal(a.size, 10);
	assert_int_equal(a.mtime, 42);
	assert_int_equal(a.ctime, fx->now);
}

/* ---- write ------------------------------------------------------------------------- */

static void test_write_at_zero(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	struct wire_fs_op op = op_write(f, 0, "hello", 5);
	struct wire_fs_result res = fx_apply(fx, &op);
	uint8_t buf[16];
	uint32_t got;

	assert_int_equal(res.err, 0);
	assert_int_equal(res.written, 5);
	assert_int_equal(res.attr.ino, f);
	assert_int_equal(res.attr.size, 5);
	assert_int_equal(res.attr.mtime, fx->now);
	assert_int_equal(res.attr.ctime, fx->now);
	struct wire_attr a = fx_attr(fx, f);
	assert_int_equal(a.size, 5);
	assert_int_equal(a.blocks, 1);
	assert_int_equal(store_read(fx->s, f, 0, sizeof(buf), buf, &got), 0);
	assert_int_equal(got, 5);
	assert_memory_equal(buf, "hello", 5);

	/* Overwrite inside: the size stays. */
	op = op_write(f, 1, "EL", 2);
	res = fx_apply(fx, &op);
	assert_int_equal(res.written, 2);
	assert_int_equal(res.attr.size, 5);
	assert_int_equal(store_read(fx->s, f, 0, sizeof(buf), buf, &got), 0);
	assert_int_equal(got, 5);
	assert_memory_equal(buf, "hELlo", 5);
}

/* O_APPEND from two mounts: each write lands at the end as it is when the write executes,
 * whatever offset the writer's kernel believed; unknown write flags are refused. */
static void test_write_append(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	uint8_t buf[16];
	uint32_t got;

	struct wire_fs_op op = op_write(f, 0, "abc", 3);
	assert_int_equal(fx_apply(fx, &op).err, 0);
	op = op_write(f, 0, "def", 3);
	op.flags = WIRE_WRITE_APPEND;
	struct wire_fs_result res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.written, 3);
	assert_int_equal(res.attr.size, 6);
	op = op_write(f, 1, "gh", 2);
	op.flags = WIRE_WRITE_APPEND;
	assert_int_equal(fx_apply(fx, &op).attr.size, 8);
	assert_int_equal(store_read(fx->s, f, 0, sizeof(buf), buf, &got), 0);
	assert_int_equal(got, 8);
	assert_memory_equal(buf, "abcdefgh", 8);
	op.flags = 2;
	assert_int_equal(fx_err(fx, &op), -EINVAL);
}

static void test_write_mid_chunk(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	uint8_t data[100];

	fx_write_pattern(fx, f, 0, CHUNK);
	memset(data, 0, sizeof(data)); /* zeros written are data, not a hole */
	struct wire_fs_op op = op_write(f, 1000, data, sizeof(data));
	struct wire_fs_result res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.written, 100);
	assert_int_equal(res.attr.size, CHUNK);
	fx_expect(fx, f, 0, 1000, false);
	fx_expect(fx, f, 1000, 100, true);
	fx_expect(fx, f, 1100, CHUNK - 1100, false);

	/* Into an empty file, mid-chunk: the bytes before read as zeros. */
	uint64_t g = fx_create(fx, ROOT, "g", 0644);
	fx_write_pattern(fx, g, 5000, 300);
	assert_int_equal(fx_attr(fx, g).size, 5300);
	fx_expect(fx, g, 0, 5000, true);
	fx_expect(fx, g, 5000, 300, false);
}

static void test_write_across_chunk_boundary(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);

	fx_write_pattern(fx, f, CHUNK - 10, 20);
	assert_int_equal(fx_attr(fx, f).size, CHUNK + 10);
	fx_expect(fx, f, 0, CHUNK - 10, true);
	fx_expect(fx, f, CHUNK - 10, 20, false);

	/* Several chunks at once, from mid-chunk to mid-chunk, over the earlier bytes. */
	fx_write_pattern(fx, f, 100, 3 * CHUNK);
	assert_int_equal(fx_attr(fx, f).size, 3 * CHUNK + 100);
	fx_expect(fx, f, 0, 100, true);
	fx_expect(fx, f, 100, 3 * CHUNK, false);
	assert_int_equal(fx_statfs(fx).data_bytes, 3 * CHUNK + 100);
	assert_int_equal(fx_attr(fx, f).blocks, (3 * CHUNK + 100 + 511) / 512);
}

static void test_write_sparse_far_beyond_eof(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	uint64_t at = 16 * GIB;
	struct wire_fs_op op = op_write(f, at, "tail", 4);
	struct wire_fs_result res = fx_apply(fx, &op);
	uint8_t buf[32];
	uint32_t got;

	assert_int_equal(res.err, 0);
	assert_int_equal(res.written, 4);
	assert_int_equal(res.attr.size, at + 4);
	assert_int_equal(fx_attr(fx, f).size, at + 4);
	assert_int_equal(fx_attr(fx, f).blocks, 1);
	assert_int_equal(fx_statfs(fx).data_bytes, 4);
	/* A small window straddling the hole's end. */
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(store_read(fx->s, f, at - 8, sizeof(buf), buf, &got), 0);
	assert_int_equal(got, 12);
	static const uint8_t want[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 't', 'a', 'i', 'l' };
	assert_memory_equal(buf, want, sizeof(want));
	/* The middle of the hole and its start read zeros. */
	fx_expect(fx, f, 8 * GIB, 4096, true);
	fx_expect(fx, f, 0, 4096, true);
}

static void test_write_kill_suidgid(void **state)
{
	struct fx *fx = *state;
	uint64_t x = fx_create(fx, ROOT, "x", 06755);
	uint64_t nx = fx_create(fx, ROOT, "nx", 06745);
	uint64_t keep = fx_create(fx, ROOT, "keep", 06755);
	struct wire_fs_op op;

	op = op_write(x, 0, "a", 1);
	op.kill_suidgid = true;
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_attr(fx, x).mode, S_IFREG | 0755);
	op = op_write(nx, 0, "a", 1);
	op.kill_suidgid = true;
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_attr(fx, nx).mode, S_IFREG | 02745);
	op = op_write(keep, 0, "a", 1); /* a caller with CAP_FSETID */
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_attr(fx, keep).mode, S_IFREG | 06755);
	/* A truncate by a caller without CAP_FSETID clears them too. */
	op = op_truncate(keep, 0);
	op.kill_suidgid = true;
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_attr(fx, keep).mode, S_IFREG | 0755);
}

static void test_write_errors(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	uint64_t d = fx_mkdir(fx, ROOT, "d", 0755);
	struct wire_fs_op sl = op_symlink(ROOT, "l", "t", 1);
	struct wire_fs_op op;

	fx_ok(fx, &sl);
	op = op_write(d, 0, "a", 1);
	assert_int_equal(fx_err(fx, &op), -EISDIR);
	op = op_write(999, 0, "a", 1);
	assert_int_equal(fx_err(fx, &op), -ENOENT);
	op = op_write(fx_ino(fx, ROOT, "l"), 0, "a", 1);
	assert_int_equal(fx_err(fx, &op), -EINVAL);
	/* write(2): EFBIG at a position at or past the maximum offset. */
	op = op_write(f, WIRE_FILE_SIZE_MAX, "a", 1);
	assert_int_equal(fx_err(fx, &op), -EFBIG);
	op = op_write(f, WIRE_FILE_SIZE_MAX + 4096, "a", 1);
	assert_int_equal(fx_err(fx, &op), -EFBIG);
	assert_int_equal(fx_attr(fx, f).size, 0);

	/* The last byte below the limit can be written. */
	op = op_write(f, WIRE_FILE_SIZE_MAX - 1, "z", 1);
	struct wire_fs_result res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.written, 1);
	assert_int_equal(res.attr.size, WIRE_FILE_SIZE_MAX);
	uint8_t b = 0;
	uint32_t got;
	assert_int_equal(store_read(fx->s, f, WIRE_FILE_SIZE_MAX - 1, 10, &b, &got), 0);
	assert_int_equal(got, 1);
	assert_int_equal(b, 'z');
}

/* ---- read -------------------------------------------------------------------------- */

static void test_read(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	uint64_t d = fx_mkdir(fx, ROOT, "d", 0755);
	uint8_t buf[64];
	uint32_t got;

	fx_write_pattern(fx, f, 0, 10);
	fx_write_pattern(fx, f, 2 * CHUNK, 10);
	/* Short at the end of the file. */
	got = 99;
	assert_int_equal(store_read(fx->s, f, 2 * CHUNK + 4, sizeof(buf), buf, &got), 0);
	assert_int_equal(got, 6);
	for (int i = 0; i < 6; i++)
		assert_int_equal(buf[i], fx_byte(2 * CHUNK + 4 + (uint64_t)i));
	/* Nothing at and beyond the end. */
	got = 99;
	assert_int_equal(store_read(fx->s, f, 2 * CHUNK + 10, sizeof(buf), buf, &got), 0);
	assert_int_equal(got, 0);
	got = 99;
	assert_int_equal(store_read(fx->s, f, 100 * GIB, sizeof(buf), buf, &got), 0);
	assert_int_equal(got, 0);
	/* Zeros in the hole, and across a hole's edges. */
	fx_expect(fx, f, 10, 2 * CHUNK - 10, true);
	fx_expect(fx, f, 0, 10, false);
	got = 0;
	assert_int_equal(store_read(fx->s, f, 5, 10, buf, &got), 0);
	assert_int_equal(got, 10);
	for (int i = 0; i < 5; i++)
		assert_int_equal(buf[i], fx_byte(5 + (uint64_t)i));
	for (int i = 5; i < 10; i++)
		assert_int_equal(buf[i], 0);
	/* Zero bytes asked. */
	got = 99;
	assert_int_equal(store_read(fx->s, f, 0, 0, buf, &got), 0);
	assert_int_equal(got, 0);
	/* Not a file. */
	assert_int_equal(store_read(fx->s, d, 0, sizeof(buf), buf, &got), -EISDIR);
	assert_int_equal(store_read(fx->s, 999, 0, sizeof(buf), buf, &got), -ENOENT);
}

/* ---- fallocate --------------------------------------------------------------------- */

static void test_fallocate_size(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	struct wire_fs_op op;
	struct wire_fs_result res;

	fx_write_pattern(fx, f, 0, 100);
	/* Mode 0: the size grows to offset + length; the new range reads zeros. */
	op = op_fallocate(f, 0, 50, 3 * CHUNK);
	res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.attr.size, 50 + 3 * CHUNK);
	assert_int_equal(res.attr.ctime, fx->now);
	assert_int_equal(fx_attr(fx, f).size, 50 + 3 * CHUNK);
	fx_expect(fx, f, 0, 100, false);
	fx_expect(fx, f, 100, 3 * CHUNK - 50, true);
	/* Mode 0 inside the file: no change of size. */
	op = op_fallocate(f, 0, 0, 10);
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_attr(fx, f).size, 50 + 3 * CHUNK);
	/* KEEP_SIZE beyond the end: the size stays. */
	op = op_fallocate(f, FALLOC_FL_KEEP_SIZE, 4 * CHUNK, 10 * CHUNK);
	res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.attr.size, 50 + 3 * CHUNK);
	assert_int_equal(fx_attr(fx, f).size, 50 + 3 * CHUNK);
	fx_expect(fx, f, 0, 100, false);
	assert_int_equal(fx_statfs(fx).data_bytes, 100);
}

static void test_fallocate_punch_hole(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	uint64_t from = CHUNK / 2, to = 3 * CHUNK + CHUNK / 4;
	struct wire_fs_op op = op_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, from, to - from);
	struct wire_fs_result res;

	fx_write_pattern(fx, f, 0, 4 * CHUNK + 100);
	res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.attr.size, 4 * CHUNK + 100);
	assert_int_equal(res.attr.mtime, fx->now);
	assert_int_equal(res.attr.ctime, fx->now);
	assert_int_equal(fx_attr(fx, f).size, 4 * CHUNK + 100);
	/* A partial first chunk, two whole middle chunks, a partial last chunk. */
	fx_expect(fx, f, 0, (uint32_t)from, false);
	fx_expect(fx, f, from, (uint32_t)(to - from), true);
	fx_expect(fx, f, to, (uint32_t)(4 * CHUNK + 100 - to), false);
	/* The whole chunks are gone; the first keeps its head; the last is held whole (zeros at its start). */
	assert_int_equal(fx_statfs(fx).data_bytes, CHUNK / 2 + CHUNK + 100);

	/* A punch that reaches past the end zeroes up to the end and keeps the size. */
	op = op_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4 * CHUNK + 50, 10 * CHUNK);
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_attr(fx, f).size, 4 * CHUNK + 100);
	fx_expect(fx, f, 4 * CHUNK, 50, false);
	fx_expect(fx, f, 4 * CHUNK + 50, 50, true);
	/* Entirely beyond the end: nothing changes but the times. */
	op = op_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 8 * CHUNK, CHUNK);
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_attr(fx, f).size, 4 * CHUNK + 100);
}

static void test_fallocate_errors(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	uint64_t d = fx_mkdir(fx, ROOT, "d", 0755);
	struct wire_fs_op op;

	fx_write_pattern(fx, f, 0, 100);
	op = op_fallocate(f, FALLOC_FL_PUNCH_HOLE, 0, 10); /* fallocate(2): PUNCH_HOLE needs KEEP_SIZE */
	assert_int_equal(fx_err(fx, &op), -EOPNOTSUPP);
	op = op_fallocate(f, 0, 0, 0);
	assert_int_equal(fx_err(fx, &op), -EINVAL);
	op = op_fallocate(f, FALLOC_FL_KEEP_SIZE, 10, 0);
	assert_int_equal(fx_err(fx, &op), -EINVAL);
	op = op_fallocate(d, 0, 0, 10);
	assert_int_equal(fx_err(fx, &op), -EISDIR);
	op = op_fallocate(999, 0, 0, 10);
	assert_int_equal(fx_err(fx, &op), -ENOENT);
	op = op_fallocate(f, FALLOC_FL_ZERO_RANGE, 0, 10);
	assert_int_equal(fx_err(fx, &op), -EOPNOTSUPP);
	op = op_fallocate(f, 0, WIRE_FILE_SIZE_MAX, 1); /* fallocate(2): EFBIG past the maximum size */
	assert_int_equal(fx_err(fx, &op), -EFBIG);
	assert_int_equal(fx_attr(fx, f).size, 100);
	fx_expect(fx, f, 0, 100, false);
}

/* ---- copy_file_range --------------------------------------------------------------- */

static void test_copy_range_between_files(void **state)
{
	struct fx *fx = *state;
	uint64_t src = fx_create(fx, ROOT, "src", 0644);
	uint64_t dst = fx_create(fx, ROOT, "dst", 0644);
	uint64_t size = CHUNK + CHUNK / 2 + 10;

	/* Data, a hole over a chunk boundary, data. */
	fx_write_pattern(fx, src, 0, 10);
	fx_write_pattern(fx, src, CHUNK + CHUNK / 2, 10);
	fx_write_pattern(fx, dst, 0, 50);
	assert_int_equal(fx_attr(fx, src).size, size);

	struct wire_fs_op op = op_copy(src, 5, dst, 20, size - 5);
	struct wire_fs_result res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.written, size - 5);
	assert_int_equal(res.attr.ino, dst);
	assert_int_equal(res.attr.size, 20 + size - 5);
	assert_int_equal(res.attr.mtime, fx->now);
	assert_int_equal(res.attr.ctime, fx->now);
	assert_int_equal(fx_attr(fx, dst).size, 20 + size - 5);
	fx_expect(fx, dst, 0, 20, false); /* dst's own bytes before the target offset */
	uint8_t buf[5];
	uint32_t got;
	assert_int_equal(store_read(fx->s, dst, 20, 5, buf, &got), 0);
	assert_int_equal(got, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(buf[i], fx_byte(5 + (uint64_t)i));
	fx_expect(fx, dst, 25, (uint32_t)(CHUNK + CHUNK / 2 - 10), true);
	uint8_t tail[10];
	assert_int_equal(store_read(fx->s, dst, 15 + CHUNK + CHUNK / 2, 10, tail, &got), 0);
	assert_int_equal(got, 10);
	for (int i = 0; i < 10; i++)
		assert_int_equal(tail[i], fx_byte(CHUNK + CHUNK / 2 + (uint64_t)i));
	/* The source is untouched. */
	assert_int_equal(fx_attr(fx, src).size, size);
	fx_expect(fx, src, 0, 10, false);

	/* A length past the source's end is cut at the end. */
	uint64_t small = fx_create(fx, ROOT, "small", 0644);
	fx_write_pattern(fx, small, 0, 30);
	op = op_copy(small, 10, dst, 0, 1 << 20);
	res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.written, 20);
	assert_int_equal(res.attr.size, 20 + size - 5);

	/* Errors: directories EISDIR, other types EINVAL, missing ENOENT. */
	uint64_t d = fx_mkdir(fx, ROOT, "d", 0755);
	op = op_copy(d, 0, dst, 0, 10);
	assert_int_equal(fx_err(fx, &op), -EISDIR);
	op = op_copy(src, 0, d, 0, 10);
	assert_int_equal(fx_err(fx, &op), -EISDIR);
	op = op_copy(999, 0, dst, 0, 10);
	assert_int_equal(fx_err(fx, &op), -ENOENT);
	uint64_t fifo = fx_create(fx, ROOT, "fifo", S_IFIFO | 0644);
	op = op_copy(src, 0, fifo, 0, 10);
	assert_int_equal(fx_err(fx, &op), -EINVAL);
}

static void test_copy_range_within_one_file(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	struct wire_fs_op op;
	struct wire_fs_result res;

	fx_write_pattern(fx, f, 0, 100);
	/* copy_file_range(2): EINVAL when the ranges overlap in one file. */
	op = op_copy(f, 0, f, 50, 100);
	assert_int_equal(fx_err(fx, &op), -EINVAL);
	assert_int_equal(fx_attr(fx, f).size, 100);
	fx_expect(fx, f, 0, 100, false);
	/* The count is first cut at the source's end: 50 -> 0 for 60 copies [50,100) to [0,50), no overlap
	 * (the kernel, on tmpfs: 50 bytes). */
	uint64_t g = fx_create(fx, ROOT, "g", 0644);
	fx_write_pattern(fx, g, 0, 100);
	op = op_copy(g, 50, g, 0, 60);
	res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.written, 50);
	assert_int_equal(res.attr.size, 100);

	/* Adjacent, not overlapping: fine. */
	op = op_copy(f, 0, f, 100, 100);
	res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.written, 100);
	assert_int_equal(res.attr.size, 200);
	fx_expect(fx, f, 0, 100, false);
	uint8_t buf[100];
	uint32_t got;
	assert_int_equal(store_read(fx->s, f, 100, 100, buf, &got), 0);
	assert_int_equal(got, 100);
	for (int i = 0; i < 100; i++)
		assert_int_equal(buf[i], fx_byte((uint64_t)i));

	/* Backwards within the file, not overlapping. */
	op = op_copy(f, 150, f, 10, 20);
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(store_read(fx->s, f, 10, 20, buf, &got), 0);
	for (int i = 0; i < 20; i++)
		assert_int_equal(buf[i], fx_byte(50 + (uint64_t)i));
	assert_int_equal(fx_attr(fx, f).size, 200);
}

static void test_copy_range_beyond_eof(void **state)
{
	struct fx *fx = *state;
	uint64_t src = fx_create(fx, ROOT, "src", 0644);
	uint64_t dst = fx_create(fx, ROOT, "dst", 0644);
	struct wire_fs_op op;
	struct wire_fs_result res;

	fx_write_pattern(fx, src, 0, 100);
	fx_write_pattern(fx, dst, 0, 10);
	int64_t mtime = fx_attr(fx, dst).mtime;
	uint8_t before[STORE_DIGEST_SIZE], after[STORE_DIGEST_SIZE];
	fx_digest(fx, before);
	/* copy_file_range(2): a source offset at or past the end copies 0 bytes. */
	op = op_copy(src, 100, dst, 500, 10);
	res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.written, 0);
	op = op_copy(src, 4 * GIB, dst, 0, 10);
	res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.written, 0);
	/* A zero length copies 0 bytes too. */
	op = op_copy(src, 0, dst, 0, 0);
	res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.written, 0);
	fx_digest(fx, after);
	assert_memory_equal(before, after, STORE_DIGEST_SIZE);
	assert_int_equal(fx_attr(fx, dst).size, 10);
	assert_int_equal(fx_attr(fx, dst).mtime, mtime);

	/* Into the target past its end: the gap reads zeros. */
	op = op_copy(src, 0, dst, 2 * CHUNK, 100);
	res = fx_apply(fx, &op);
	assert_int_equal(res.written, 100);
	assert_int_equal(fx_attr(fx, dst).size, 2 * CHUNK + 100);
	fx_expect(fx, dst, 10, 2 * CHUNK - 10, true);
}

/* ---- xattrs ------------------------------------------------------------------------ */

static void test_xattr_set_get_list_remove(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	struct wire_fs_op op = op_setxattr(f, "user.mime", "text/plain", 0);
	struct wire_fs_result res = fx_apply(fx, &op);
	uint8_t buf[64];
	uint32_t len;

	assert_int_equal(res.err, 0);
	assert_int_equal(res.attr.ino, f);
	assert_int_equal(res.attr.ctime, fx->now);
	assert_int_equal(fx_attr(fx, f).ctime, fx->now);
	len = 0;
	assert_int_equal(store_getxattr(fx->s, f, "user.mime", 9, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 10);
	assert_memory_equal(buf, "text/plain", 10);

	/* Replace (no flag), then XATTR_REPLACE, then XATTR_CREATE of a new one. */
	op = op_setxattr(f, "user.mime", "image/png", 0);
	fx_ok(fx, &op);
	op = op_setxattr(f, "user.mime", "a", XATTR_REPLACE);
	fx_ok(fx, &op);
	assert_int_equal(store_getxattr(fx->s, f, "user.mime", 9, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 1);
	assert_memory_equal(buf, "a", 1);
	op = op_setxattr(f, "trusted.z", "", XATTR_CREATE); /* an empty value */
	fx_ok(fx, &op);
	assert_int_equal(store_getxattr(fx->s, f, "trusted.z", 9, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 0);
	op = op_setxattr(f, "security.a", "s", 0);
	fx_ok(fx, &op);

	/* A binary value with NUL bytes round-trips. */
	static const uint8_t bin[4] = { 0, 1, 0, 2 };
	op = op_setxattr_n(f, "user.bin", 8, bin, sizeof(bin), 0);
	fx_ok(fx, &op);
	assert_int_equal(store_getxattr(fx->s, f, "user.bin", 8, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(buf, bin, 4);

	/* listxattr: NUL-separated, sorted by name. */
	static const char want[] = "security.a\0trusted.z\0user.bin\0user.mime";
	char list[128];
	memset(list, 0x7f, sizeof(list));
	assert_int_equal(store_listxattr(fx->s, f, list, sizeof(list), &len), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(list, want, sizeof(want));

	/* Remove. */
	op = op_removexattr(f, "user.mime");
	res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.attr.ctime, fx->now);
	assert_int_equal(store_getxattr(fx->s, f, "user.mime", 9, buf, sizeof(buf), &len), -ENODATA);
	static const char want2[] = "security.a\0trusted.z\0user.bin";
	assert_int_equal(store_listxattr(fx->s, f, list, sizeof(list), &len), 0);
	assert_int_equal(len, sizeof(want2));
	assert_memory_equal(list, want2, sizeof(want2));

	/* Directories carry user.* too (xattr(7)). */
	uint64_t d = fx_mkdir(fx, ROOT, "d", 0755);
	op = op_setxattr(d, "user.x", "1", 0);
	assert_int_equal(fx_err(fx, &op), 0);
	/* An inode without xattrs lists nothing. */
	uint64_t g = fx_create(fx, ROOT, "g", 0644);
	len = 99;
	assert_int_equal(store_listxattr(fx->s, g, list, sizeof(list), &len), 0);
	assert_int_equal(len, 0);
	len = 99;
	assert_int_equal(store_listxattr(fx->s, g, NULL, 0, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(store_listxattr(fx->s, 999, list, sizeof(list), &len), -ENOENT);
	assert_int_equal(store_getxattr(fx->s, 999, "user.x", 6, buf, sizeof(buf), &len), -ENOENT);
}

static void test_xattr_sizes(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	struct wire_fs_op op = op_setxattr(f, "user.k", "0123456789", 0);
	uint8_t buf[16];
	uint32_t len;

	fx_ok(fx, &op);
	/* Size 0 asks for the length. */
	len = 0;
	assert_int_equal(store_getxattr(fx->s, f, "user.k", 6, NULL, 0, &len), 0);
	assert_int_equal(len, 10);
	/* A buffer too small: ERANGE. Exactly the size: fine. */
	assert_int_equal(store_getxattr(fx->s, f, "user.k", 6, buf, 9, &len), -ERANGE);
	assert_int_equal(store_getxattr(fx->s, f, "user.k", 6, buf, 10, &len), 0);
	assert_int_equal(len, 10);

	op = op_setxattr(f, "user.second", "x", 0);
	fx_ok(fx, &op);
	/* "user.k\0user.second\0" = 7 + 12 bytes. */
	len = 0;
	assert_int_equal(store_listxattr(fx->s, f, NULL, 0, &len), 0);
	assert_int_equal(len, 19);
	char list[32];
	assert_int_equal(store_listxattr(fx->s, f, list, 18, &len), -ERANGE);
	assert_int_equal(store_listxattr(fx->s, f, list, 19, &len), 0);
	assert_int_equal(len, 19);
	assert_memory_equal(list, "user.k\0user.second\0", 19);
}

static void test_xattr_errors(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	struct wire_fs_op sl = op_symlink(ROOT, "l", "f", 1);
	struct wire_fs_op op;
	uint8_t buf[8];
	uint32_t len;

	fx_ok(fx, &sl);
	uint64_t l = fx_ino(fx, ROOT, "l");
	op = op_setxattr(f, "user.k", "v", 0);
	fx_ok(fx, &op);

	op = op_setxattr(f, "user.k", "w", XATTR_CREATE); /* setxattr(2): EEXIST */
	assert_int_equal(fx_err(fx, &op), -EEXIST);
	op = op_setxattr(f, "user.missing", "w", XATTR_REPLACE); /* setxattr(2): ENODATA */
	assert_int_equal(fx_err(fx, &op), -ENODATA);
	op = op_removexattr(f, "user.missing"); /* removexattr(2): ENODATA */
	assert_int_equal(fx_err(fx, &op), -ENODATA);
	assert_int_equal(store_getxattr(fx->s, f, "user.missing", 12, buf, sizeof(buf), &len), -ENODATA);
	/* A name without a known namespace prefix: EOPNOTSUPP. */
	op = op_setxattr(f, "foo.bar", "v", 0);
	assert_int_equal(fx_err(fx, &op), -EOPNOTSUPP);
	op = op_setxattr(f, "userx", "v", 0);
	assert_int_equal(fx_err(fx, &op), -EOPNOTSUPP);
	assert_int_equal(store_getxattr(fx->s, f, "foo.bar", 7, buf, sizeof(buf), &len), -EOPNOTSUPP);
	op = op_removexattr(f, "foo.bar");
	assert_int_equal(fx_err(fx, &op), -EOPNOTSUPP);

	/* Name length: 255 bytes fine, 256 ERANGE (xattr(7)); empty ERANGE. */
	char name[WIRE_XATTR_NAME_MAX + 2];
	memcpy(name, "user.", 5);
	memset(name + 5, 'n', sizeof(name) - 5);
	op = op_setxattr_n(f, name, WIRE_XATTR_NAME_MAX + 1, "v", 1, 0);
	assert_int_equal(fx_err(fx, &op), -ERANGE);
	assert_int_equal(store_getxattr(fx->s, f, name, WIRE_XATTR_NAME_MAX + 1, buf, sizeof(buf), &len), -ERANGE);
	op = op_setxattr_n(f, name, 0, "v", 1, 0);
	assert_int_equal(fx_err(fx, &op), -ERANGE);
	op = op_setxattr_n(f, name, WIRE_XATTR_NAME_MAX, "v", 1, 0);
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(store_getxattr(fx->s, f, name, WIRE_XATTR_NAME_MAX, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 1);

	/* Value size: 64 KiB fine, one byte more E2BIG. */
	uint8_t *value = calloc(1, WIRE_XATTR_VALUE_MAX + 1);
	assert_non_null(value);
	op = op_setxattr_n(f, "user.big", 8, value, WIRE_XATTR_VALUE_MAX + 1, 0);
	assert_int_equal(fx_err(fx, &op), -E2BIG);
	op = op_setxattr_n(f, "user.big", 8, value, WIRE_XATTR_VALUE_MAX, 0);
	assert_int_equal(fx_err(fx, &op), 0);
	len = 0;
	assert_int_equal(store_getxattr(fx->s, f, "user.big", 8, NULL, 0, &len), 0);
	assert_int_equal(len, WIRE_XATTR_VALUE_MAX);
	free(value);

	/* user.* only on regular files and directories: EPERM to set or remove on a symlink (xattr(7)). */
	op = op_setxattr(l, "user.k", "v", 0);
	assert_int_equal(fx_err(fx, &op), -EPERM);
	op = op_removexattr(l, "user.k");
	assert_int_equal(fx_err(fx, &op), -EPERM);
	assert_int_equal(store_getxattr(fx->s, l, "user.k", 6, buf, sizeof(buf), &len), -ENODATA);
	/* The symlink's own xattrs in other namespaces are fine; f (its target) is not touched. */
	op = op_setxattr(l, "trusted.k", "v", 0);
	assert_int_equal(fx_err(fx, &op), 0);
	uint64_t fifo = fx_create(fx, ROOT, "fifo", S_IFIFO | 0644);
	op = op_setxattr(fifo, "user.k", "v", 0);
	assert_int_equal(fx_err(fx, &op), -EPERM);
	op = op_setxattr(999, "user.k", "v", 0);
	assert_int_equal(fx_err(fx, &op), -ENOENT);

	/* Nothing changed on f besides the two successful sets. */
	char list[512];
	assert_int_equal(store_listxattr(fx->s, f, list, sizeof(list), &len), 0);
	assert_int_equal(len, 9 + (WIRE_XATTR_NAME_MAX + 1) + 7);
}

/* ---- open / release ---------------------------------------------------------------- */

static void test_open_unlinked_file(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	struct wire_fs_op op = op_open(f, 11);
	struct wire_fs_result res = fx_apply(fx, &op);
	struct wire_attr a;

	assert_int_equal(res.err, 0);
	assert_int_equal(res.attr.ino, f);
	fx_write_pattern(fx, f, 0, 100);
	op = op_unlink(ROOT, "f");
	fx_ok(fx, &op);
	assert_int_equal(fx_lookup(fx, ROOT, "f", NULL), -ENOENT);
	a = fx_attr(fx, f);
	assert_int_equal(a.nlink, 0);
	assert_int_equal(a.size, 100);
	assert_int_equal(fx_statfs(fx).inodes, 2);
	/* Still readable and writable by inode number. */
	fx_expect(fx, f, 0, 100, false);
	fx_write_pattern(fx, f, 100, 50);
	assert_int_equal(fx_attr(fx, f).size, 150);
	fx_expect(fx, f, 0, 150, false);
	/* A second handle; the first release keeps it. */
	op = op_open(f, 12);
	fx_ok(fx, &op);
	op = op_release(f, 11);
	res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.attr.ino, 0); /* fs_op.h: no attributes for RELEASE */
	assert_int_equal(fx_attr(fx, f).nlink, 0);
	/* The last release frees it and its data. */
	op = op_release(f, 12);
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(store_getattr(fx->s, f, &a), -ENOENT);
	struct store_statfs st = fx_statfs(fx);
	assert_int_equal(st.inodes, 1);
	assert_int_equal(st.data_bytes, 0);

	/* Releasing a linked file's handle keeps the file. */
	uint64_t g = fx_create(fx, ROOT, "g", 0644);
	op = op_open(g, 1);
	fx_ok(fx, &op);
	op = op_release(g, 1);
	fx_ok(fx, &op);
	assert_int_equal(fx_attr(fx, g).nlink, 1);
	/* Opening what does not exist. */
	op = op_open(999, 2);
	assert_int_equal(fx_err(fx, &op), -ENOENT);
}

/* CREATE_OPEN: the file as CREATE makes it, and a handle recorded in the same op, so it
 * outlives an unlink until released; it fails like CREATE and then records nothing. */
static void test_create_open(void **state)
{
	struct fx *fx = *state;
	struct wire_fs_op op = op_create(ROOT, "f", S_IFREG | 0640, 0);
	op.type = WIRE_FS_CREATE_OPEN;
	op.handle = 21;
	struct wire_fs_result res = fx_apply(fx, &op);
	uint64_t f = res.attr.ino;

	assert_int_equal(res.err, 0);
	assert_int_equal(res.attr.mode, S_IFREG | 0640);
	assert_int_equal(res.attr.nlink, 1);
	assert_int_equal(fx_lookup(fx, ROOT, "f", NULL), 0);
	assert_int_equal(fx_attr(fx, f).mode, S_IFREG | 0640);
	/* A name that exists: EEXIST, and no handle (releasing 22 is EBADF). */
	op.handle = 22;
	assert_int_equal(fx_err(fx, &op), -EEXIST);
	struct wire_fs_op rel = op_release(f, 22);
	assert_int_equal(fx_err(fx, &rel), -EBADF);
	/* Only a regular file (mode without a type is one, as for CREATE). */
	op = op_create(ROOT, "p", S_IFIFO | 0644, 0);
	op.type = WIRE_FS_CREATE_OPEN;
	op.handle = 23;
	assert_int_equal(fx_err(fx, &op), -EINVAL);
	op = op_create(ROOT, "q", 0644, 0);
	op.type = WIRE_FS_CREATE_OPEN;
	op.handle = 24;
	assert_int_equal(fx_err(fx, &op), 0);
	/* Handle 21 keeps f after its unlink; its release frees it. */
	op = op_unlink(ROOT, "f");
	fx_ok(fx, &op);
	assert_int_equal(fx_attr(fx, f).nlink, 0);
	rel = op_release(f, 21);
	fx_ok(fx, &rel);
	struct wire_attr a;
	assert_int_equal(store_getattr(fx->s, f, &a), -ENOENT);
}

static void test_release_errors(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	struct wire_fs_op op = op_release(f, 77);

	assert_int_equal(fx_err(fx, &op), -EBADF);
	op = op_open(f, 77);
	fx_ok(fx, &op);
	/* A handle belongs to the client that opened it. */
	op = op_release(f, 77);
	struct wire_fs_result res = fx_apply_as(fx, &op, NULL, FX_CLIENT + 1, 0);
	assert_int_equal(res.err, -EBADF);
	assert_int_equal(fx_err(fx, &op), 0);
	assert_int_equal(fx_err(fx, &op), -EBADF); /* twice */
}

static void test_session_eviction_closes_handles(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	uint64_t g = fx_create(fx, ROOT, "g", 0644);
	uint64_t h = fx_create(fx, ROOT, "h", 0644);
	struct wire_fs_op op;
	struct wire_attr a;

	fx_write_pattern(fx, f, 0, 10);
	op = op_open(f, 1);
	fx_ok(fx, &op);
	op = op_open(f, 2);
	fx_ok(fx, &op);
	op = op_open(h, 3);
	fx_ok(fx, &op);
	op = op_open(g, 1); /* another client's handle on g */
	assert_int_equal(fx_apply_as(fx, &op, NULL, FX_CLIENT + 1, 0).err, 0);
	op = op_unlink(ROOT, "f");
	fx_ok(fx, &op);
	op = op_unlink(ROOT, "g");
	fx_ok(fx, &op);
	assert_int_equal(fx_attr(fx, f).nlink, 0);

	/* A registration evicts client 7: its handles close; the orphan f goes; g (client 8's) stays. */
	uint64_t commit = store_commit(fx->s);
	struct wire_fs_result res = fx_apply_as(fx, NULL, NULL, 9, FX_CLIENT);
	assert_int_equal(res.err, 0);
	assert_int_equal(store_commit(fx->s), commit + 1);
	assert_int_equal(store_getattr(fx->s, f, &a), -ENOENT);
	assert_int_equal(fx_attr(fx, g).nlink, 0);
	assert_int_equal(fx_attr(fx, h).nlink, 1);
	assert_int_equal(fx_statfs(fx).data_bytes, 0);
	op = op_release(h, 3);
	assert_int_equal(fx_err(fx, &op), -EBADF);
	op = op_release(g, 1);
	assert_int_equal(fx_apply_as(fx, &op, NULL, FX_CLIENT + 1, 0).err, 0);
	assert_int_equal(store_getattr(fx->s, g, &a), -ENOENT);
	assert_int_equal(fx_statfs(fx).inodes, 2);

	/* An eviction that comes with an op that fails: the handles close all the same. */
	op = op_open(h, 4);
	assert_int_equal(fx_apply_as(fx, &op, NULL, 9, 0).err, 0);
	op = op_unlink(ROOT, "h");
	fx_ok(fx, &op);
	op = op_rmdir(ROOT, "missing");
	assert_int_equal(fx_apply_as(fx, &op, NULL, 10, 9).err, -ENOENT);
	assert_int_equal(store_getattr(fx->s, h, &a), -ENOENT);
	assert_int_equal(fx_statfs(fx).inodes, 1);
}

/* ---- readdir ----------------------------------------------------------------------- */

static void test_readdir_order(void **state)
{
	struct fx *fx = *state;
	uint64_t d = fx_mkdir(fx, ROOT, "d", 0755);
	uint64_t c = fx_create(fx, d, "c", 0644);
	uint64_t a = fx_mkdir(fx, d, "a", 0755);
	struct wire_fs_op sl = op_symlink(d, "b", "x", 1);
	struct fx_list l;

	fx_ok(fx, &sl);
	uint64_t b = fx_ino(fx, d, "b");
	/* In cookie order (creation), not name order; "." and ".." are not listed. */
	fx_list(fx, d, 0, 0, &l);
	assert_int_equal(l.count, 3);
	assert_string_equal(l.e[0].name, "c");
	assert_int_equal(l.e[0].name_len, 1);
	assert_int_equal(l.e[0].ino, c);
	assert_int_equal(l.e[0].mode, S_IFREG);
	assert_string_equal(l.e[1].name, "a");
	assert_int_equal(l.e[1].ino, a);
	assert_int_equal(l.e[1].mode, S_IFDIR);
	assert_string_equal(l.e[2].name, "b");
	assert_int_equal(l.e[2].ino, b);
	assert_int_equal(l.e[2].mode, S_IFLNK);
	assert_true(l.e[0].cookie > 0);
	assert_true(l.e[0].cookie < l.e[1].cookie);
	assert_true(l.e[1].cookie < l.e[2].cookie);
	/* Empty directory; not a directory; no such inode. */
	fx_list(fx, a, 0, 0, &l);
	assert_int_equal(l.count, 0);
	assert_int_equal(store_readdir(fx->s, c, 0, fx_list_add, &l), -ENOTDIR);
	assert_int_equal(store_readdir(fx->s, 999, 0, fx_list_add, &l), -ENOENT);
}

static void test_readdir_resume(void **state)
{
	struct fx *fx = *state;
	uint64_t d = fx_mkdir(fx, ROOT, "d", 0755);
	struct fx_list l, rest;
	struct wire_fs_op op;

	fx_create(fx, d, "e1", 0644);
	fx_create(fx, d, "e2", 0644);
	fx_create(fx, d, "e3", 0644);
	fx_create(fx, d, "e4", 0644);
	/* A first batch of two. */
	fx_list(fx, d, 0, 2, &l);
	assert_int_equal(l.count, 2);
	assert_string_equal(l.e[0].name, "e1");
	assert_string_equal(l.e[1].name, "e2");
	uint64_t cookie = l.e[1].cookie, e1_cookie = l.e[0].cookie;

	/* Between batches: an entry added, an entry listed already removed, one not listed yet removed. */
	fx_create(fx, d, "a0", 0644); /* sorts first by name, but comes last by cookie */
	op = op_unlink(d, "e1");
	fx_ok(fx, &op);
	op = op_unlink(d, "e3");
	fx_ok(fx, &op);
	fx_list(fx, d, cookie, 0, &rest);
	assert_int_equal(rest.count, 2);
	assert_string_equal(rest.e[0].name, "e4");
	assert_string_equal(rest.e[1].name, "a0");
	/* The cookie of a remaining entry does not change. */
	fx_list(fx, d, 0, 0, &l);
	assert_int_equal(l.count, 3);
	assert_string_equal(l.e[0].name, "e2");
	assert_int_equal(l.e[0].cookie, cookie);
	assert_int_equal(l.e[1].cookie, rest.e[0].cookie);
	/* Resuming after a removed entry's cookie still works; after the last cookie lists nothing. */
	fx_list(fx, d, e1_cookie, 0, &rest);
	assert_int_equal(rest.count, 3);
	assert_string_equal(rest.e[0].name, "e2");
	assert_string_equal(rest.e[1].name, "e4");
	assert_string_equal(rest.e[2].name, "a0");
	fx_list(fx, d, l.e[2].cookie, 0, &rest);
	assert_int_equal(rest.count, 0);
}

/* ---- lseek ------------------------------------------------------------------------- */

static void test_lseek_data_hole(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	uint64_t r;

	/* Chunk 0 data, chunk 1 a hole, chunk 2 holding 100 bytes, then a hole to 4 chunks. */
	fx_write_pattern(fx, f, 0, CHUNK);
	fx_write_pattern(fx, f, 2 * CHUNK, 100);
	struct wire_fs_op op = op_truncate(f, 4 * CHUNK);
	fx_ok(fx, &op);

	assert_int_equal(store_lseek(fx->s, f, 0, SEEK_DATA, &r), 0);
	assert_int_equal(r, 0);
	assert_int_equal(store_lseek(fx->s, f, 10, SEEK_DATA, &r), 0);
	assert_int_equal(r, 10);
	assert_int_equal(store_lseek(fx->s, f, 0, SEEK_HOLE, &r), 0);
	assert_int_equal(r, CHUNK);
	assert_int_equal(store_lseek(fx->s, f, CHUNK, SEEK_DATA, &r), 0);
	assert_int_equal(r, 2 * CHUNK);
	assert_int_equal(store_lseek(fx->s, f, CHUNK + 5, SEEK_DATA, &r), 0);
	assert_int_equal(r, 2 * CHUNK);
	assert_int_equal(store_lseek(fx->s, f, CHUNK + 5, SEEK_HOLE, &r), 0);
	assert_int_equal(r, CHUNK + 5);
	assert_int_equal(store_lseek(fx->s, f, 2 * CHUNK, SEEK_HOLE, &r), 0);
	assert_int_equal(r, 2 * CHUNK + 100);
	assert_int_equal(store_lseek(fx->s, f, 2 * CHUNK + 50, SEEK_DATA, &r), 0);
	assert_int_equal(r, 2 * CHUNK + 50);
	/* In the trailing hole: no more data (ENXIO); the hole is where we are. */
	assert_int_equal(store_lseek(fx->s, f, 2 * CHUNK + 100, SEEK_DATA, &r), -ENXIO);
	assert_int_equal(store_lseek(fx->s, f, 3 * CHUNK, SEEK_HOLE, &r), 0);
	assert_int_equal(r, 3 * CHUNK);
	/* lseek(2): ENXIO at or past the end, for both. */
	assert_int_equal(store_lseek(fx->s, f, 4 * CHUNK, SEEK_DATA, &r), -ENXIO);
	assert_int_equal(store_lseek(fx->s, f, 4 * CHUNK, SEEK_HOLE, &r), -ENXIO);
	assert_int_equal(store_lseek(fx->s, f, 5 * CHUNK, SEEK_HOLE, &r), -ENXIO);

	/* A file with data to its end: the only hole is the implicit one at the end. */
	uint64_t g = fx_create(fx, ROOT, "g", 0644);
	fx_write_pattern(fx, g, 0, 2 * CHUNK + 7);
	assert_int_equal(store_lseek(fx->s, g, 0, SEEK_HOLE, &r), 0);
	assert_int_equal(r, 2 * CHUNK + 7);
	assert_int_equal(store_lseek(fx->s, g, CHUNK + 1, SEEK_DATA, &r), 0);
	assert_int_equal(r, CHUNK + 1);
	/* An empty file: ENXIO; a whole hole: ENXIO for data, the offset for a hole. */
	uint64_t e = fx_create(fx, ROOT, "e", 0644);
	assert_int_equal(store_lseek(fx->s, e, 0, SEEK_DATA, &r), -ENXIO);
	assert_int_equal(store_lseek(fx->s, e, 0, SEEK_HOLE, &r), -ENXIO);
	op = op_truncate(e, 3 * CHUNK);
	fx_ok(fx, &op);
	assert_int_equal(store_lseek(fx->s, e, 0, SEEK_DATA, &r), -ENXIO);
	assert_int_equal(store_lseek(fx->s, e, 7, SEEK_HOLE, &r), 0);
	assert_int_equal(r, 7);
	/* Other whence values; no such inode. */
	assert_int_equal(store_lseek(fx->s, g, 0, SEEK_SET, &r), -EINVAL);
	assert_int_equal(store_lseek(fx->s, 999, 0, SEEK_DATA, &r), -ENOENT);
}

/* ---- statfs ------------------------------------------------------------------------ */

static void test_statfs(void **state)
{
	struct fx *fx = *state;
	struct store_statfs st = fx_statfs(fx);

	assert_int_equal(st.inodes, 1); /* the root */
	assert_int_equal(st.data_bytes, 0);
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	uint64_t d = fx_mkdir(fx, ROOT, "d", 0755);
	struct wire_fs_op sl = op_symlink(d, "l", "abc", 3);
	fx_ok(fx, &sl);
	fx_write_pattern(fx, f, 0, 1000);
	fx_write_pattern(fx, f, CHUNK + 100, 5); /* the chunk holds the 100 zeros before the bytes */
	st = fx_statfs(fx);
	assert_int_equal(st.inodes, 4);
	assert_int_equal(st.data_bytes, 1000 + 105);
	struct wire_fs_op ln = op_link(f, d, "f2");
	fx_ok(fx, &ln);
	assert_int_equal(fx_statfs(fx).inodes, 4);
}

/* ---- store_apply's contract and the digest ----------------------------------------- */

static void test_apply_failed_op_changes_nothing(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	uint8_t before[STORE_DIGEST_SIZE], after[STORE_DIGEST_SIZE];

	fx_write_pattern(fx, f, 0, 100);
	fx_digest(fx, before);
	struct wire_attr root = fx_attr(fx, ROOT);
	uint64_t commit = store_commit(fx->s);
	struct wire_fs_op op = op_create(ROOT, "f", 0644, 0);
	struct wire_fs_result res = fx_apply(fx, &op);

	assert_int_equal(res.err, -EEXIST);
	assert_int_equal(res.attr.ino, 0);
	assert_int_equal(res.attr.mode, 0);
	assert_int_equal(res.written, 0);
	assert_int_equal(store_commit(fx->s), commit + 1); /* a failed op is committed as well */
	fx_digest(fx, after);
	assert_memory_equal(before, after, STORE_DIGEST_SIZE);
	assert_int_equal(fx_attr(fx, ROOT).mtime, root.mtime);
	struct wire_attr a;
	assert_int_equal(store_getattr(fx->s, WIRE_INO_FROM_OP(commit + 1), &a), -ENOENT);

	/* A failure late in an op (a rename over a non-empty directory) leaves nothing behind either. */
	uint64_t d = fx_mkdir(fx, ROOT, "d", 0755);
	fx_mkdir(fx, ROOT, "e", 0755);
	fx_create(fx, d, "x", 0644);
	fx_digest(fx, before);
	op = op_rename(ROOT, "e", ROOT, "d", 0);
	assert_int_equal(fx_err(fx, &op), -ENOTEMPTY);
	op = op_write(d, 0, "x", 1);
	assert_int_equal(fx_err(fx, &op), -EISDIR);
	fx_digest(fx, after);
	assert_memory_equal(before, after, STORE_DIGEST_SIZE);

	/* An unknown op type is an error result too. */
	op = op_base(WIRE_FS_TYPE_MAX + 1);
	assert_int_equal(fx_err(fx, &op), -EINVAL);
	fx_digest(fx, after);
	assert_memory_equal(before, after, STORE_DIGEST_SIZE);
}

static void test_apply_out_of_order(void **state)
{
	struct fx *fx = *state;
	uint8_t before[STORE_DIGEST_SIZE], after[STORE_DIGEST_SIZE];
	struct wire_fs_op op = op_create(ROOT, "f", 0644, 0);
	struct wire_fs_result res;

	fx_create(fx, ROOT, "g", 0644);
	fx_digest(fx, before);
	uint64_t commit = store_commit(fx->s);
	struct store_apply_ctx ctx = { .op = commit + 2, .now = fx->now + 1, .client_id = FX_CLIENT };
	assert_int_equal(store_apply(fx->s, &ctx, &op, NULL, &res), STORE_BROKEN);
	ctx.op = commit; /* a replay of the last one */
	assert_int_equal(store_apply(fx->s, &ctx, &op, NULL, &res), STORE_BROKEN);
	ctx.op = 0;
	assert_int_equal(store_apply(fx->s, &ctx, &op, NULL, &res), STORE_BROKEN);
	assert_int_equal(store_commit(fx->s), commit);
	fx_digest(fx, after);
	assert_memory_equal(before, after, STORE_DIGEST_SIZE);
	assert_int_equal(fx_lookup(fx, ROOT, "f", NULL), -ENOENT);
	/* The store still takes the right next op. */
	fx_create(fx, ROOT, "f", 0644);
	assert_int_equal(store_commit(fx->s), commit + 1);
}

static void test_apply_session_row(void **state)
{
	struct fx *fx = *state;
	uint8_t d0[STORE_DIGEST_SIZE], d1[STORE_DIGEST_SIZE], d2[STORE_DIGEST_SIZE];
	static const uint8_t result[3] = { 'R', 0, 1 };
	struct store_session_row row = {
		.slot = 2,
		.client_id = 42,
		.session = 5,
		.request = 9,
		.op = store_commit(fx->s) + 1,
		.status = 1,
		.result = result,
		.result_len = sizeof(result),
	};
	uint64_t commit = store_commit(fx->s);

	fx_digest(fx, d0);
	/* No op: only the row and the commit-number. */
	struct wire_fs_result res = fx_apply_as(fx, NULL, &row, 42, 0);
	assert_int_equal(res.err, 0);
	assert_int_equal(store_commit(fx->s), commit + 1);
	fx_digest(fx, d1);
	assert_memory_not_equal(d0, d1, STORE_DIGEST_SIZE);
	assert_int_equal(fx_statfs(fx).inodes, 1);
	/* The same slot rewritten with another request: a different state. */
	row.request = 10;
	row.op = commit + 2;
	fx_apply_as(fx, NULL, &row, 42, 0);
	fx_digest(fx, d2);
	assert_memory_not_equal(d1, d2, STORE_DIGEST_SIZE);
	/* No op and no row: only the commit-number moves. */
	fx_apply_as(fx, NULL, NULL, 42, 0);
	fx_digest(fx, d1);
	assert_memory_equal(d1, d2, STORE_DIGEST_SIZE);
	assert_int_equal(store_commit(fx->s), commit + 3);
	/* A row with a failed op: the row is written, the op leaves nothing. */
	struct wire_fs_op op = op_unlink(ROOT, "missing");
	row.request = 11;
	row.op = commit + 4;
	res = fx_apply_as(fx, &op, &row, 42, 0);
	assert_int_equal(res.err, -ENOENT);
	fx_digest(fx, d1);
	assert_memory_not_equal(d1, d2, STORE_DIGEST_SIZE);

	/* With an op, row->result is ignored and the row caches wire_fs_result_encode(res): a store given the
	 * same row without the op (which changed nothing) but with that encoding as its result ends equal. */
	struct fx one = { .now = T0 }, other = { .now = T0 }, third = { .now = T0 };
	struct wire_fs_op fail = op_rmdir(ROOT, "missing");
	const char *why = NULL;
	struct wire_buf b;
	assert_int_equal(store_open(&one.s, ":memory:", T0, &why), 0);
	assert_int_equal(store_open(&other.s, ":memory:", T0, &why), 0);
	assert_int_equal(store_open(&third.s, ":memory:", T0, &why), 0);
	row.op = 1;
	row.result = (const uint8_t *)"ignored";
	row.result_len = 7;
	res = fx_apply_as(&one, &fail, &row, 42, 0);
	assert_int_equal(res.err, -ENOENT);
	fx_apply_as(&third, NULL, &row, 42, 0); /* a registration caches row->result as given */
	wire_buf_init(&b);
	assert_int_equal(wire_fs_result_encode(&res, &b), 0);
	row.result = b.data;
	row.result_len = (uint32_t)b.len;
	fx_apply_as(&other, NULL, &row, 42, 0);
	wire_buf_free(&b);
	fx_digest(&one, d0);
	fx_digest(&other, d1);
	fx_digest(&third, d2);
	assert_memory_equal(d0, d1, STORE_DIGEST_SIZE);
	assert_memory_not_equal(d0, d2, STORE_DIGEST_SIZE);
	store_close(one.s);
	store_close(other.s);
	store_close(third.s);
}

/* Applies the op and returns whether the digest changed. */
static bool fx_changes_digest(struct fx *fx, const struct wire_fs_op *op)
{
	uint8_t before[STORE_DIGEST_SIZE], after[STORE_DIGEST_SIZE];

	fx_digest(fx, before);
	assert_int_equal(fx_err(fx, op), 0);
	fx_digest(fx, after);
	return memcmp(before, after, STORE_DIGEST_SIZE) != 0;
}

static void test_digest_follows_every_change(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	struct wire_fs_op op;

	fx_write_pattern(fx, f, 0, 100);
	op = op_write(f, 10, "\x01", 1); /* one byte of data, the size unchanged */
	assert_true(fx_changes_digest(fx, &op));
	op = op_write(f, 10, "\x02", 1);
	assert_true(fx_changes_digest(fx, &op));
	op = op_setattr(f, WIRE_SET_MODE);
	op.mode = 0600;
	assert_true(fx_changes_digest(fx, &op));
	op = op_setattr(f, WIRE_SET_ATIME);
	op.atime = 1;
	assert_true(fx_changes_digest(fx, &op));
	op = op_setxattr(f, "user.a", "1", 0);
	assert_true(fx_changes_digest(fx, &op));
	op = op_setxattr(f, "user.a", "2", 0); /* only the value differs (ctime too) */
	assert_true(fx_changes_digest(fx, &op));
	op = op_rename(ROOT, "f", ROOT, "g", 0);
	assert_true(fx_changes_digest(fx, &op));
	op = op_open(f, 1);
	assert_true(fx_changes_digest(fx, &op));
	op = op_release(f, 1);
	assert_true(fx_changes_digest(fx, &op));
	op = op_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 10);
	assert_true(fx_changes_digest(fx, &op));
}

/* A fixed sequence of ops covering most types. */
static void fx_script(struct fx *fx)
{
	uint64_t d = fx_mkdir(fx, ROOT, "d", 0755);
	uint64_t f = fx_create(fx, d, "f", 0644);
	struct wire_fs_op op;

	fx_write_pattern(fx, f, 100, 2 * CHUNK);
	op = op_setxattr(f, "user.k", "v", 0);
	fx_ok(fx, &op);
	op = op_link(f, ROOT, "hard");
	fx_ok(fx, &op);
	op = op_symlink(ROOT, "l", "d/f", 3);
	fx_ok(fx, &op);
	op = op_rename(d, "f", ROOT, "moved", 0);
	fx_ok(fx, &op);
	op = op_open(f, 3);
	fx_ok(fx, &op);
	op = op_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, CHUNK, 100);
	fx_ok(fx, &op);
	op = op_create(ROOT, "moved", 0644, 0); /* a failure in the middle */
	assert_int_equal(fx_err(fx, &op), -EEXIST);
	op = op_truncate(f, CHUNK + 7);
	fx_ok(fx, &op);
}

static void test_digest_equal_for_equal_histories(void **state)
{
	struct fx *fx = *state;
	struct fx other = { .now = T0 };
	const char *why = NULL;
	uint8_t a[STORE_DIGEST_SIZE], b[STORE_DIGEST_SIZE];

	assert_int_equal(store_open(&other.s, ":memory:", T0, &why), 0);
	fx_digest(fx, a);
	fx_digest(&other, b);
	assert_memory_equal(a, b, STORE_DIGEST_SIZE);
	fx_script(fx);
	fx_script(&other);
	fx_digest(fx, a);
	fx_digest(&other, b);
	assert_memory_equal(a, b, STORE_DIGEST_SIZE);
	assert_int_equal(store_commit(fx->s), store_commit(other.s));
	/* One more op on one side only: they differ. */
	struct wire_fs_op op = op_setattr(ROOT, WIRE_SET_MTIME);
	op.mtime = 5;
	fx_ok(&other, &op);
	fx_digest(&other, b);
	assert_memory_not_equal(a, b, STORE_DIGEST_SIZE);
	store_close(other.s);

	/* A store created at another time differs (the root's times). */
	assert_int_equal(store_open(&other.s, ":memory:", T0 + 1, &why), 0);
	struct fx fresh = { .now = T0 };
	assert_int_equal(store_open(&fresh.s, ":memory:", T0, &why), 0);
	fx_digest(&other, a);
	fx_digest(&fresh, b);
	assert_memory_not_equal(a, b, STORE_DIGEST_SIZE);
	store_close(other.s);
	store_close(fresh.s);
}

/* ---- store_open -------------------------------------------------------------------- */

struct fx_dir {
	char dir[64];
	char path[96];
};

static void fx_dir_make(struct fx_dir *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/test_store.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/store.db", t->dir);
}

/* Removes the database, its WAL files and the directory. */
static void fx_dir_remove(struct fx_dir *t)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	char p[128];

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", t->path, suffixes[i]);
		unlink(p);
	}
	assert_int_equal(rmdir(t->dir), 0);
}

static void fx_sql(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void test_open_file_store_reopens(void **state)
{
	(void)state;
	struct fx_dir t;
	struct fx fx = { .now = T0 };
	const char *why = NULL;
	uint8_t a[STORE_DIGEST_SIZE], b[STORE_DIGEST_SIZE];

	fx_dir_make(&t);
	assert_int_equal(store_open(&fx.s, t.path, T0, &why), 0);
	assert_int_equal(store_commit(fx.s), 0);
	assert_int_equal(fx_attr(&fx, ROOT).mtime, T0);
	fx_script(&fx);
	uint64_t commit = store_commit(fx.s);
	uint64_t moved = fx_ino(&fx, ROOT, "moved");
	fx_digest(&fx, a);
	store_close(fx.s);

	/* Reopened (another creation time is ignored): the same commit-number and state. */
	assert_int_equal(store_open(&fx.s, t.path, T0 + 999, &why), 0);
	assert_int_equal(store_commit(fx.s), commit);
	fx_digest(&fx, b);
	assert_memory_equal(a, b, STORE_DIGEST_SIZE);
	assert_int_equal(fx_ino(&fx, ROOT, "moved"), moved);
	assert_int_equal(fx_attr(&fx, ROOT).atime, T0);
	assert_int_equal(fx_attr(&fx, moved).size, CHUNK + 7);
	/* And takes the next op. */
	fx_create(&fx, ROOT, "after", 0644);
	assert_int_equal(store_commit(fx.s), commit + 1);
	store_close(fx.s);
	fx_dir_remove(&t);
}

static void test_open_refuses_other_schema(void **state)
{
	(void)state;
	struct fx_dir t;
	struct store *s = NULL;
	const char *why = NULL;

	fx_dir_make(&t);
	assert_int_equal(store_open(&s, t.path, T0, &why), 0);
	store_close(s);
	fx_sql(t.path, "UPDATE store_meta SET value = 99 WHERE key = 'schema'");
	assert_int_equal(store_open(&s, t.path, T0, &why), -EPROTO);
	assert_null(s);
	assert_non_null(why);
	assert_string_equal(why, "store: unknown schema version (written by another vrfs version)");
	fx_dir_remove(&t);
}

static void test_open_refuses_foreign_database(void **state)
{
	(void)state;
	struct fx_dir t;
	struct store *s = NULL;
	const char *why = NULL;

	fx_dir_make(&t);
	fx_sql(t.path,
	       "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('hi')");
	assert_int_equal(store_open(&s, t.path, T0, &why), -EINVAL);
	assert_null(s);
	assert_non_null(why);
	assert_string_equal(why, "store: the database is not a vrfs store");
	/* The foreign table is untouched. */
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_open(t.path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT body FROM notes", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "hi");
	sqlite3_finalize(st);
	sqlite3_close(db);
	fx_dir_remove(&t);
}

static void test_open_refuses_non_sqlite_file(void **state)
{
	(void)state;
	struct fx_dir t;
	struct store *s = NULL;
	const char *why = NULL;
	static const char junk[] = "this is not an SQLite database, just some text that is long enough\n";

	fx_dir_make(&t);
	FILE *f = fopen(t.path, "w");
	assert_non_null(f);
	for (int i = 0; i < 100; i++)
		assert_int_equal(fwrite(junk, 1, sizeof(junk) - 1, f), sizeof(junk) - 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(store_open(&s, t.path, T0, &why), -EIO);
	assert_null(s);
	assert_string_equal(why, "store: not an SQLite database, or it cannot be written");
	fx_dir_remove(&t);
}

/* EMLINK (link(2), mkdir(2), rename(2)): the link count is raised to the limit with SQL on a closed file store. */
static void test_link_count_limit(void **state)
{
	(void)state;
	struct fx_dir t;
	struct fx fx = { .now = T0 };
	const char *why = NULL;
	char sql[160];

	fx_dir_make(&t);
	assert_int_equal(store_open(&fx.s, t.path, T0, &why), 0);
	uint64_t f = fx_create(&fx, ROOT, "f", 0644);
	uint64_t full = fx_mkdir(&fx, ROOT, "full", 0755);
	uint64_t d = fx_mkdir(&fx, ROOT, "d", 0755);
	fx_mkdir(&fx, d, "sub", 0755);
	store_close(fx.s);
	snprintf(sql, sizeof(sql),
	         "UPDATE inodes SET nlink = %d WHERE ino = %llu; UPDATE inodes SET nlink = %d WHERE ino = %llu",
	         WIRE_LINK_MAX - 1, (unsigned long long)f, WIRE_LINK_MAX, (unsigned long long)full);
	fx_sql(t.path, sql);
	assert_int_equal(store_open(&fx.s, t.path, T0, &why), 0);

	/* The last link allowed, then EMLINK. */
	struct wire_fs_op op = op_link(f, ROOT, "g");
	assert_int_equal(fx_err(&fx, &op), 0);
	assert_int_equal(fx_attr(&fx, f).nlink, WIRE_LINK_MAX);
	op = op_link(f, ROOT, "h");
	assert_int_equal(fx_err(&fx, &op), -EMLINK);
	/* A directory with WIRE_LINK_MAX links takes no new subdirectory, by mkdir or by rename; a file is fine. */
	op = op_mkdir(full, "x", 0755);
	assert_int_equal(fx_err(&fx, &op), -EMLINK);
	op = op_rename(d, "sub", full, "sub", 0);
	assert_int_equal(fx_err(&fx, &op), -EMLINK);
	op = op_create(full, "file", 0644, 0);
	assert_int_equal(fx_err(&fx, &op), 0);
	op = op_rename(d, "sub", full, "file", RENAME_EXCHANGE);
	assert_int_equal(fx_err(&fx, &op), -EMLINK);
	assert_int_equal(fx_attr(&fx, full).nlink, WIRE_LINK_MAX);
	assert_int_equal(fx_attr(&fx, d).nlink, 3);
	store_close(fx.s);
	fx_dir_remove(&t);
}

/* Group commit: a batch equals the same ops one at a time; a failed op in it changes nothing of the
 * others; an out-of-order batch applies nothing. */
static void test_apply_batch(void **state)
{
	struct fx *fx = *state;
	struct store *one;
	const char *why = NULL;
	uint8_t a[STORE_DIGEST_SIZE], b[STORE_DIGEST_SIZE];
	struct wire_fs_op mk = op_mkdir(ROOT, "d", 0755), dup = op_mkdir(ROOT, "d", 0700),
	                  cr = op_create(ROOT, "f", S_IFREG | 0644, 0);
	const struct wire_fs_op *ops[3] = { &mk, &dup, &cr };
	struct store_apply_ctx ctx[3];
	struct wire_fs_result res[3];

	for (int i = 0; i < 3; i++) {
		struct store_apply_ctx c = { .op = store_commit(fx->s) + 1 + (uint64_t)i,
			                     .now = 1000 + i,
			                     .client_id = 7 };
		ctx[i] = c;
	}
	assert_int_equal(store_apply_batch(fx->s, ctx, ops, NULL, 3, res), 0);
	assert_int_equal(store_commit(fx->s), ctx[2].op);
	assert_int_equal(res[0].err, 0);
	assert_int_equal(res[1].err, -EEXIST);
	assert_int_equal(res[2].err, 0);
	assert_int_equal(res[2].attr.ino, WIRE_INO_FROM_OP(ctx[2].op));

	assert_int_equal(store_open(&one, ":memory:", T0, &why), 0);
	for (int i = 0; i < 3; i++) {
		struct wire_fs_result r;
		assert_int_equal(store_apply(one, &ctx[i], ops[i], NULL, &r), 0);
		assert_int_equal(r.err, res[i].err);
	}
	assert_int_equal(store_digest(fx->s, a), 0);
	assert_int_equal(store_digest(one, b), 0);
	assert_memory_equal(a, b, sizeof(a));
	store_close(one);

	/* A gap in the op-numbers: refused whole. */
	struct wire_fs_op x = op_mkdir(ROOT, "x", 0755), y = op_mkdir(ROOT, "y", 0755);
	const struct wire_fs_op *more[2] = { &x, &y };
	struct store_apply_ctx gap[2] = { { .op = store_commit(fx->s) + 1, .now = 2000 },
		                          { .op = store_commit(fx->s) + 3, .now = 2001 } };
	uint64_t before = store_commit(fx->s);
	assert_int_equal(store_apply_batch(fx->s, gap, more, NULL, 2, res), STORE_BROKEN);
	assert_int_equal(store_commit(fx->s), before);
	assert_int_equal(store_digest(fx->s, b), 0);
	assert_memory_equal(a, b, sizeof(a));
}

/*
 * A checkpoint made a few pages at a time while ops go on being applied: the finished copy is
 * the store as it is when the last step completes. SQLite's backup carries into the copy what
 * the same connection writes through the WAL, so this needs a store on disk, as vrfsd's are
 * (an in-memory source restarts the copy at every commit instead).
 */
static void test_copy_in_steps_follows_applies(void **state)
{
	struct fx *fx = *state;
	struct store_copy *c = NULL;
	struct store *copy = NULL;
	const char *why = NULL;
	uint8_t a[STORE_DIGEST_SIZE], b[STORE_DIGEST_SIZE];
	char name[32], dst[128];
	struct fx_dir t;
	int steps = 0, rc;

	fx_dir_make(&t);
	store_close(fx->s);
	assert_int_equal(store_open(&fx->s, t.path, T0, &why), 0);
	snprintf(dst, sizeof(dst), "%s/copy.db", t.dir);
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		fx_write_pattern(fx, fx_create(fx, ROOT, name, 0644), 0, 3000);
	}
	assert_int_equal(store_copy_begin(fx->s, dst, &c, &why), 0);
	while ((rc = store_copy_step(c, 8, &why)) == 0 && steps < 5000) {
		steps++;
		snprintf(name, sizeof(name), "g%d", steps);
		fx_write_pattern(fx, fx_create(fx, ROOT, name, 0644), 0, 1000); /* between steps */
	}
	assert_int_equal(rc, 1);
	assert_true(steps > 10); /* it did take many steps, with applies between them */
	assert_int_equal(store_copy_end(c, &copy, &why), 0);
	assert_non_null(copy);
	assert_int_equal(store_commit(copy), store_commit(fx->s));
	fx_digest(fx, a);
	assert_int_equal(store_digest(copy, b), 0);
	assert_memory_equal(a, b, sizeof(a));
	store_close(copy);

	/* Ended before it finished: nothing to open. */
	unlink(dst);
	assert_int_equal(store_copy_begin(fx->s, dst, &c, &why), 0);
	assert_int_equal(store_copy_step(c, 1, &why), 0);
	assert_int_equal(store_copy_end(c, &copy, &why), -EINTR);
	assert_null(copy);

	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		char p[160];
		snprintf(p, sizeof(p), "%s%s", dst, suffixes[i]);
		unlink(p);
	}
	store_close(fx->s);
	fx->s = NULL;
	fx_dir_remove(&t);
	assert_int_equal(store_open(&fx->s, ":memory:", T0, &why), 0); /* for the teardown */
}

/* Regressions: each once differed from Linux (kernel 6.18 on tmpfs and ext4 gave the expected value). */
/* write(2): a zero-length write changes nothing, even past EOF. */
static void test_regression_write_zero_len_beyond_eof(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	struct wire_fs_op op = op_write(f, 1000, "", 0);
	struct wire_fs_result res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.written, 0);
	assert_int_equal(fx_attr(fx, f).size, 0);
}

/* write(2)/generic_write_check_limits: a write crossing the max size is cut short, not EFBIG. */
static void test_regression_write_straddling_max(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	struct wire_fs_op op = op_write(f, WIRE_FILE_SIZE_MAX - 1, "ab", 2);
	struct wire_fs_result res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.written, 1);
	assert_int_equal(fx_attr(fx, f).size, WIRE_FILE_SIZE_MAX);
}

/* copy_file_range(2): the count is cut at the source's EOF before the overlap check. */
static void test_regression_copy_overlap_after_eof_cut(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	fx_write_pattern(fx, f, 0, 100);
	struct wire_fs_op op = op_copy(f, 0, f, 150, 1000);
	struct wire_fs_result res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.written, 100);
	assert_int_equal(fx_attr(fx, f).size, 250);
}

/* copy_file_range(2): a huge length (cp passes SSIZE_MAX-ish) is cut at EOF, not EFBIG. */
static void test_regression_copy_huge_length(void **state)
{
	struct fx *fx = *state;
	uint64_t a = fx_create(fx, ROOT, "a", 0644);
	uint64_t b = fx_create(fx, ROOT, "b", 0644);
	fx_write_pattern(fx, a, 0, 100);
	struct wire_fs_op op = op_copy(a, 0, b, 0, (uint64_t)INT64_MAX);
	struct wire_fs_result res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.written, 100);
	op = op_copy(a, 0, b, 0, 1ULL << 44);
	res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
}

/* fallocate(2)/vfs_fallocate: len <= 0 is EINVAL before the mode checks. */
static void test_regression_fallocate_order(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	struct wire_fs_op op = op_fallocate(f, FALLOC_FL_PUNCH_HOLE, 0, 0);
	int err = fx_err(fx, &op);
	assert_int_equal(err, -EINVAL);
}

/* xattr: "user." with nothing after it: EINVAL (xattr_resolve_name). */
static void test_regression_xattr_bare_prefix(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	struct wire_fs_op op = op_setxattr(f, "user.", "v", 0);
	int err = fx_err(fx, &op);
	assert_int_equal(err, -EINVAL);
}

/* rename(2) checks NOREPLACE before the subtree rule. */
static void test_regression_rename_noreplace_order(void **state)
{
	struct fx *fx = *state;
	uint64_t d = fx_mkdir(fx, ROOT, "d", 0755);
	fx_create(fx, d, "x", 0644);
	struct wire_fs_op op = op_rename(ROOT, "d", d, "x", RENAME_NOREPLACE);
	int err = fx_err(fx, &op);
	assert_int_equal(err, -EEXIST);
}

/* mknod(2): may_mknod (EPERM for S_IFDIR) before the lookup (EEXIST). */
static void test_regression_mknod_dir_existing(void **state)
{
	struct fx *fx = *state;
	fx_create(fx, ROOT, "f", 0644);
	struct wire_fs_op op = op_create(ROOT, "f", S_IFDIR | 0755, 0);
	int err = fx_err(fx, &op);
	assert_int_equal(err, -EPERM);
}

/* symlink(2): target checked (getname) before the new name is looked up. */
static void test_regression_symlink_empty_existing(void **state)
{
	struct fx *fx = *state;
	fx_create(fx, ROOT, "f", 0644);
	struct wire_fs_op op = op_symlink(ROOT, "f", "", 0);
	int err = fx_err(fx, &op);
	assert_int_equal(err, -ENOENT);
}

/* rename resolves both parents before either name (do_renameat2): ENOTDIR, not ENOENT. */
static void test_regression_rename_parents_first(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	struct wire_fs_op op = op_rename(ROOT, "zz", f, "y", 0);
	assert_int_equal(fx_err(fx, &op), -ENOTDIR);
}

/* xattr arguments are checked before the inode is looked up (setxattr_copy). */
static void test_regression_xattr_arguments_first(void **state)
{
	struct fx *fx = *state;
	static char big[WIRE_XATTR_VALUE_MAX + 1];
	char name[WIRE_XATTR_NAME_MAX + 2];
	memset(name, 'n', sizeof(name));
	memcpy(name, "user.", 5);
	struct wire_fs_op op = op_setxattr_n(999, "user.a", 6, big, sizeof(big), 0);
	assert_int_equal(fx_err(fx, &op), -E2BIG);
	op = op_setxattr_n(999, name, WIRE_XATTR_NAME_MAX + 1, "v", 1, 0);
	assert_int_equal(fx_err(fx, &op), -ERANGE);
}

/* lookup resolves the parent before it judges the name: FUSE passes names up to 1024 bytes. */
static void test_regression_lookup_parent_first(void **state)
{
	struct fx *fx = *state;
	char name[WIRE_NAME_MAX + 1];
	struct wire_attr a;
	memset(name, 'n', sizeof(name));
	assert_int_equal(store_lookup(fx->s, 999, name, sizeof(name), &a), -ENOENT);
	assert_int_equal(store_lookup(fx->s, ROOT, name, sizeof(name), &a), -ENAMETOOLONG);
}

/* UTIME_NOW is the op's time (the log entry's timestamp, ctx.now); UTIME_OMIT leaves a time alone. */
static void test_setattr_times_now_and_omit(void **state)
{
	struct fx *fx = *state;
	uint64_t f = fx_create(fx, ROOT, "f", 0644);
	struct wire_attr before = fx_attr(fx, f);
	struct wire_fs_op op = {
		.type = WIRE_FS_SETATTR, .uid = FX_UID, .gid = FX_GID, .ino = f, .valid = WIRE_SET_MTIME_NOW
	};
	struct wire_fs_result res = fx_apply(fx, &op);

	assert_int_equal(res.err, 0);
	assert_int_equal(res.attr.mtime, fx->now); /* the time of this op */
	assert_true(res.attr.mtime > before.mtime);
	assert_int_equal(res.attr.atime, before.atime); /* omitted */
	op.valid = WIRE_SET_ATIME_NOW;
	res = fx_apply(fx, &op);
	assert_int_equal(res.attr.atime, fx->now);
	assert_true(res.attr.mtime < fx->now); /* omitted this time */
}

/* The stored-bytes counter behind st_blocks and statfs equals the chunks' real total after many
 * random writes, truncates, punched holes and copies (checked in the database itself). */
static void test_stored_bytes_counter_matches_chunks(void **state)
{
	struct fx_dir t;
	struct store *st;
	const char *why = NULL;
	uint64_t rng = 12345, files[4];
	static uint8_t data[3 * STORE_CHUNK_SIZE];
	uint64_t op = 0;

	(void)state;
	fx_dir_make(&t);
	assert_int_equal(store_open(&st, t.path, T0, &why), 0);
	for (int i = 0; i < 4; i++) {
		char name[3] = { 'f', (char)('0' + i), '\0' };
		struct wire_fs_op c = op_create(ROOT, name, S_IFREG | 0644, 0);
		struct store_apply_ctx ctx = { .op = ++op, .now = T0 + (int64_t)op };
		struct wire_fs_result r;
		assert_int_equal(store_apply(st, &ctx, &c, NULL, &r), 0);
		files[i] = r.attr.ino;
	}
	memset(data, 0xab, sizeof(data));
	for (int i = 0; i < 600; i++) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		uint64_t r = rng >> 11, f = files[r % 4], g = files[(r >> 2) % 4];
		uint64_t off = (r >> 4) % (6 * STORE_CHUNK_SIZE), len = 1 + (r >> 20) % sizeof(data);
		struct wire_fs_op o;
		switch ((r >> 40) % 4) {
		case 0:
			o = op_write(f, off, data, (uint32_t)len);
			break;
		case 1:
			o = op_truncate(f, off);
			break;
		case 2:
			o = op_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
			break;
		default:
			o = op_copy(f, off / 2, g, off, len);
			break;
		}
		struct store_apply_ctx ctx = { .op = ++op, .now = T0 + (int64_t)op };
		struct wire_fs_result res;
		assert_int_equal(store_apply(st, &ctx, &o, NULL, &res), 0);
	}
	struct store_statfs sf;
	assert_int_equal(store_statfs(st, &sf), 0);
	store_close(st);

	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	assert_int_equal(sqlite3_open(t.path, &db), SQLITE_OK);
	assert_int_equal(
	        sqlite3_prepare_v2(
	                db,
	                "SELECT count(*) FROM inodes i WHERE i.bytes != (SELECT coalesce(sum(length(data)), 0) "
	                "FROM chunks c WHERE c.ino = i.ino)",
	                -1, &q, NULL),
	        SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(q, 0), 0);
	sqlite3_finalize(q);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT coalesce(sum(length(data)), 0) FROM chunks", -1, &q, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal((uint64_t)sqlite3_column_int64(q, 0), sf.data_bytes);
	assert_true(sf.data_bytes > 0);
	sqlite3_finalize(q);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	fx_dir_remove(&t);
}

/* cp uses copy_file_range: copying a sparse file keeps it sparse (no zero-filled chunks stored). */
static void test_copy_range_keeps_holes(void **state)
{
	struct fx *fx = *state;
	uint64_t src = fx_create(fx, ROOT, "src", 0644), dst = fx_create(fx, ROOT, "dst", 0644);

	fx_write_pattern(fx, src, 0, 100);
	fx_write_pattern(fx, src, 10 * CHUNK, 100); /* a hole of almost 10 chunks between */
	struct wire_fs_op op = op_copy(src, 0, dst, 0, 11 * CHUNK);
	struct wire_fs_result res = fx_apply(fx, &op);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.written, 10 * CHUNK + 100);
	assert_int_equal(fx_attr(fx, dst).size, 10 * CHUNK + 100);
	/* The copy goes piece by piece, so the pieces holding data are stored whole; the nine chunks of
	 * hole between them are not stored at all. */
	assert_true(fx_attr(fx, dst).blocks * 512 <= 2 * CHUNK);
	fx_expect(fx, dst, 0, 100, false);
	fx_expect(fx, dst, 100, 10 * CHUNK - 100, true);
}

static int count_row(void *arg, const struct store_session_row *row)
{
	(void)row;
	(*(int *)arg)++;
	return 0;
}

/* A witness's copy of a checkpoint: the tree goes, the client table, the log and the commit stay. */
static void test_drop_files(void **state)
{
	struct fx *fx = *state;
	struct store_session_row row = { .slot = 0, .client_id = FX_CLIENT, .session = 1, .request = 3, .op = 0 };
	struct store_log_entry e = { .op = 1, .data = (const uint8_t *)"entry", .len = 5 };
	struct wire_fs_op op = op_mkdir(WIRE_INO_ROOT, "d", 0755);
	uint8_t before[STORE_DIGEST_SIZE], after[STORE_DIGEST_SIZE];

	fx_apply(fx, &op);
	op = op_create(fx_ino(fx, WIRE_INO_ROOT, "d"), "f", S_IFREG | 0644, 0);
	fx_apply(fx, &op);
	op = op_write(fx_ino(fx, fx_ino(fx, WIRE_INO_ROOT, "d"), "f"), 0, "hello", 5);
	row.op = store_commit(fx->s) + 1;
	fx_apply_as(fx, &op, &row, FX_CLIENT, 0);
	assert_int_equal(store_log_write(fx->s, 0, &e, 1, (const uint8_t *)"m", 1), 0);
	fx_digest(fx, before);
	uint64_t commit = store_commit(fx->s);

	assert_int_equal(store_begin(fx->s), 0);
	assert_int_equal(store_drop_files(fx->s), STORE_BROKEN); /* not inside a group */
	assert_int_equal(store_end(fx->s), 0);
	assert_int_equal(store_drop_files(fx->s), 0);
	struct store_statfs st = fx_statfs(fx);
	assert_int_equal(st.inodes, 1);
	assert_int_equal(st.data_bytes, 0);
	assert_int_equal(fx_lookup(fx, WIRE_INO_ROOT, "d", NULL), -ENOENT);
	assert_int_equal(fx_attr(fx, WIRE_INO_ROOT).nlink, 2);
	assert_int_equal(store_commit(fx->s), commit);
	fx_digest(fx, after);
	assert_memory_not_equal(before, after, STORE_DIGEST_SIZE);
	uint8_t meta[4];
	uint32_t len = 0;
	assert_int_equal(store_log_meta(fx->s, meta, sizeof(meta), &len), 0);
	assert_int_equal(len, 1);
	int rows = 0;
	assert_int_equal(store_sessions_read(fx->s, count_row, &rows), 0);
	assert_int_equal(rows, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_regular, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_mknod_special_files, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_create_errors, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_create_setgid_directory, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_mkdir, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_symlink, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_symlink_errors, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_link, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_link_errors, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_unlink, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_unlink_rmdir_errors, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rmdir, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rename_within_directory, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rename_across_directories, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rename_over_file, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rename_over_empty_directory, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rename_errors, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rename_exchange, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rename_hard_link_onto_same_inode, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_setattr_chmod, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_setattr_chown_clears_suid_sgid, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_setattr_truncate, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_setattr_errors, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_setattr_times, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_write_at_zero, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_write_append, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_write_mid_chunk, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_write_across_chunk_boundary, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_write_sparse_far_beyond_eof, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_write_kill_suidgid, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_write_errors, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_read, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_fallocate_size, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_fallocate_punch_hole, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_fallocate_errors, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_copy_range_between_files, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_copy_range_within_one_file, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_copy_range_beyond_eof, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_xattr_set_get_list_remove, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_xattr_sizes, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_xattr_errors, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_open_unlinked_file, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_create_open, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_release_errors, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_session_eviction_closes_handles, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_readdir_order, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_readdir_resume, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_lseek_data_hole, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_statfs, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_apply_batch, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_copy_in_steps_follows_applies, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_copy_range_keeps_holes, fx_setup, fx_teardown),
		cmocka_unit_test(test_stored_bytes_counter_matches_chunks),
		cmocka_unit_test_setup_teardown(test_setattr_times_now_and_omit, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_regression_rename_parents_first, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_regression_xattr_arguments_first, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_regression_lookup_parent_first, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_regression_write_zero_len_beyond_eof, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_regression_write_straddling_max, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_regression_copy_overlap_after_eof_cut, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_regression_copy_huge_length, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_regression_fallocate_order, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_regression_xattr_bare_prefix, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_regression_rename_noreplace_order, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_regression_mknod_dir_existing, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_regression_symlink_empty_existing, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_apply_failed_op_changes_nothing, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_apply_out_of_order, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_apply_session_row, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_digest_follows_every_change, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_digest_equal_for_equal_histories, fx_setup, fx_teardown),
		cmocka_unit_test(test_open_file_store_reopens),
		cmocka_unit_test(test_open_refuses_other_schema),
		cmocka_unit_test(test_open_refuses_foreign_database),
		cmocka_unit_test(test_open_refuses_non_sqlite_file),
		cmocka_unit_test(test_link_count_limit),
		cmocka_unit_test_setup_teardown(test_drop_files, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
