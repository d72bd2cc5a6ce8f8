/*
 * test_wire_fs.c — unit tests of the filesystem op and result encoding (wire/wire_fs.c):
 * round-trips of every op type with typical and boundary values, the fields each type
 * carries (from an independent table here), golden bytes that pin the format, a
 * corpus of malformed bodies each hitting one reject reason with its exact `why`,
 * every truncation of valid encodings, and seeded random and mutated bytes.
 *
 * Every buffer handed to a decoder is a malloc'd copy of exactly the right size, so
 * ASan reports any read past its end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "wire/wire_fs.h"

/* ---- Fixture ------------------------------------------------------------------------- */

/* Which fields each type carries, written from the spec rather than copied from wire_fs.c. */
enum fx_field {
	FX_INO = 1 << 0,
	FX_PARENT = 1 << 1,
	FX_NAME = 1 << 2,
	FX_NEW_PARENT = 1 << 3,
	FX_NEW_NAME = 1 << 4,
	FX_MODE = 1 << 5,
	FX_RDEV = 1 << 6,
	FX_FLAGS = 1 << 7,
	FX_VALID = 1 << 8,
	FX_SET_UID = 1 << 9,
	FX_SET_GID = 1 << 10,
	FX_SIZE = 1 << 11,
	FX_ATIME = 1 << 12,
	FX_MTIME = 1 << 13,
	FX_OFFSET = 1 << 14,
	FX_LENGTH = 1 << 15,
	FX_TARGET_INO = 1 << 16,
	FX_TARGET_OFFSET = 1 << 17,
	FX_HANDLE = 1 << 18,
	FX_DATA = 1 << 19,
	FX_KILL_SUIDGID = 1 << 20,
};

static const uint32_t FX_USES[WIRE_FS_TYPE_MAX + 1] = {
	[WIRE_FS_CREATE] = FX_PARENT | FX_NAME | FX_MODE | FX_RDEV,
	[WIRE_FS_MKDIR] = FX_PARENT | FX_NAME | FX_MODE,
	[WIRE_FS_SYMLINK] = FX_PARENT | FX_NAME | FX_DATA,
	[WIRE_FS_LINK] = FX_INO | FX_PARENT | FX_NAME,
	[WIRE_FS_UNLINK] = FX_PARENT | FX_NAME,
	[WIRE_FS_RMDIR] = FX_PARENT | FX_NAME,
	[WIRE_FS_RENAME] = FX_PARENT | FX_NAME | FX_NEW_PARENT | FX_NEW_NAME | FX_FLAGS,
	[WIRE_FS_SETATTR] =
	        FX_INO | FX_VALID | FX_MODE | FX_SET_UID | FX_SET_GID | FX_SIZE | FX_ATIME | FX_MTIME | FX_KILL_SUIDGID,
	[WIRE_FS_WRITE] = FX_INO | FX_OFFSET | FX_DATA | FX_KILL_SUIDGID | FX_FLAGS,
	[WIRE_FS_FALLOCATE] = FX_INO | FX_FLAGS | FX_OFFSET | FX_LENGTH,
	[WIRE_FS_COPY_RANGE] = FX_INO | FX_OFFSET | FX_TARGET_INO | FX_TARGET_OFFSET | FX_LENGTH,
	[WIRE_FS_SETXATTR] = FX_INO | FX_NAME | FX_DATA | FX_FLAGS,
	[WIRE_FS_REMOVEXATTR] = FX_INO | FX_NAME,
	[WIRE_FS_OPEN] = FX_INO | FX_HANDLE,
	[WIRE_FS_RELEASE] = FX_INO | FX_HANDLE,
	[WIRE_FS_CREATE_OPEN] = FX_PARENT | FX_NAME | FX_MODE | FX_HANDLE,
};

/* Large enough for every over-limit byte string below, including a body over WIRE_FS_OP_SIZE_MAX. */
#define FX_BIG_SIZE (WIRE_FS_OP_SIZE_MAX + 1)
static uint8_t fx_big[FX_BIG_SIZE]; /* 'a' everywhere, filled by main */

static bool fx_is_xattr(uint8_t type)
{
	return type == WIRE_FS_SETXATTR || type == WIRE_FS_REMOVEXATTR;
}

/* The largest byte string op->data may hold for a type. */
static uint32_t fx_data_max(uint8_t type)
{
	if (type == WIRE_FS_SYMLINK)
		return WIRE_SYMLINK_MAX;
	if (type == WIRE_FS_SETXATTR)
		return WIRE_XATTR_VALUE_MAX;
	return WIRE_DATA_MAX;
}

/* op with every field the type does not carry set to zero, as a decoder returns it. */
static struct wire_fs_op fx_mask(const struct wire_fs_op *op)
{
	struct wire_fs_op m = { .type = op->type, .uid = op->uid, .gid = op->gid };
	uint32_t uses = FX_USES[op->type];

	if (uses & FX_INO)
		m.ino = op->ino;
	if (uses & FX_PARENT)
		m.parent = op->parent;
	if (uses & FX_NAME) {
		m.name = op->name;
		m.name_len = op->name_len;
	}
	if (uses & FX_NEW_PARENT)
		m.new_parent = op->new_parent;
	if (uses & FX_NEW_NAME) {
		m.new_name = op->new_name;
		m.new_name_len = op->new_name_len;
	}
	if (uses & FX_MODE)
		m.mode = op->mode;
	if (uses & FX_RDEV)
		m.rdev = op->rdev;
	if (uses & FX_FLAGS)
		m.flags = op->flags;
	if (uses & FX_VALID)
		m.valid = op->valid;
	if (uses & FX_SET_UID)
		m.set_uid = op->set_uid;
	if (uses & FX_SET_GID)
		m.set_gid = op->set_gid;
	if (uses & FX_SIZE)
		m.size = op->size;
	if (uses & FX_ATIME)
		m.atime = op->atime;
	if (uses & FX_MTIME)
		m.mtime = op->mtime;
	if (uses & FX_OFFSET)
		m.offset = op->offset;
	if (uses & FX_LENGTH)
		m.length = op->length;
	if (uses & FX_TARGET_INO)
		m.target_ino = op->target_ino;
	if (uses & FX_TARGET_OFFSET)
		m.target_offset = op->target_offset;
	if (uses & FX_HANDLE)
		m.handle = op->handle;
	if (uses & FX_DATA) {
		m.data = op->data;
		m.data_len = op->data_len;
	}
	if (uses & FX_KILL_SUIDGID)
		m.kill_suidgid = op->kill_suidgid;
	return m;
}

static void fx_name(struct wire_fs_op *op, const char *name)
{
	op->name = name;
	op->name_len = (uint32_t)strlen(name);
}

static void fx_data(struct wire_fs_op *op, const void *data, uint32_t len)
{
	op->data = data;
	op->data_len = len;
}

/* A typical op of each type, with zero in the fields the type does not carry. */
static struct wire_fs_op fx_op(uint8_t type)
{
	struct wire_fs_op op = { .type = type, .uid = 1000, .gid = 100 };

	switch (type) {
	case WIRE_FS_CREATE:
		op.parent = WIRE_INO_ROOT;
		fx_name(&op, "file.txt");
		op.mode = 0100644;
		op.rdev = 0;
		break;
	case WIRE_FS_MKDIR:
		op.parent = 7;
		fx_name(&op, "dir");
		op.mode = 040755;
		break;
	case WIRE_FS_SYMLINK:
		op.parent = 7;
		fx_name(&op, "link");
		fx_data(&op, "../target/file", 14);
		break;
	case WIRE_FS_LINK:
		op.ino = 42;
		op.parent = 7;
		fx_name(&op, "hard");
		break;
	case WIRE_FS_UNLINK:
	case WIRE_FS_RMDIR:
		op.parent = 7;
		fx_name(&op, "gone");
		break;
	case WIRE_FS_RENAME:
		op.parent = 7;
		fx_name(&op, "old");
		op.new_parent = 9;
		op.new_name = "new";
		op.new_name_len = 3;
		op.flags = 1; /* RENAME_NOREPLACE */
		break;
	case WIRE_FS_SETATTR:
		op.ino = 42;
		op.valid = WIRE_SET_MODE | WIRE_SET_SIZE | WIRE_SET_MTIME;
		op.mode = 0100600;
		op.set_uid = 0;
		op.set_gid = 0;
		op.size = 4096;
		op.atime = 1700000000123456789;
		op.mtime = 1700000000987654321;
		break;
	case WIRE_FS_WRITE:
		op.ino = 42;
		op.offset = 8192;
		fx_data(&op, "hello, world\n", 13);
		op.kill_suidgid = true;
		op.flags = WIRE_WRITE_APPEND;
		break;
	case WIRE_FS_FALLOCATE:
		op.ino = 42;
		op.flags = 0x01; /* FALLOC_FL_KEEP_SIZE */
		op.offset = 0;
		op.length = 1 << 20;
		break;
	case WIRE_FS_COPY_RANGE:
		op.ino = 42;
		op.offset = 100;
		op.target_ino = 43;
		op.target_offset = 200;
		op.length = 300;
		break;
	case WIRE_FS_SETXATTR:
		op.ino = 42;
		fx_name(&op, "user.comment");
		fx_data(&op, "v\0x", 3); /* values are bytes: NUL is fine */
		op.flags = 1;            /* XATTR_CREATE */
		break;
	case WIRE_FS_REMOVEXATTR:
		op.ino = 42;
		fx_name(&op, "user.comment");
		break;
	case WIRE_FS_OPEN:
	case WIRE_FS_RELEASE:
		op.ino = 42;
		op.handle = 0x0123456789abcdefULL;
		break;
	case WIRE_FS_CREATE_OPEN:
		op.parent = 1;
		fx_name(&op, "new.c");
		op.mode = 0100644;
		op.handle = 0x0123456789abcdefULL;
		break;
	default:
		fail_msg("no typical op for type %u", type);
	}
	return op;
}

/* An op with every field of the struct at its maximum, byte strings at their longest for the type. */
static struct wire_fs_op fx_op_all(uint8_t type)
{
	struct wire_fs_op op = {
		.type = type,
		.uid = UINT32_MAX,
		.gid = UINT32_MAX,
		.ino = UINT64_MAX,
		.parent = UINT64_MAX,
		.name = (const char *)fx_big,
		.name_len = fx_is_xattr(type) ? WIRE_XATTR_NAME_MAX : WIRE_FS_NAME_LEN_MAX,
		.new_parent = UINT64_MAX,
		.new_name = (const char *)fx_big,
		.new_name_len = WIRE_FS_NAME_LEN_MAX,
		.mode = UINT32_MAX,
		.rdev = UINT64_MAX,
		.flags = UINT32_MAX,
		.valid = UINT32_MAX,
		.set_uid = UINT32_MAX,
		.set_gid = UINT32_MAX,
		.size = UINT64_MAX,
		.atime = INT64_MAX,
		.mtime = INT64_MIN,
		.offset = UINT64_MAX,
		.length = UINT64_MAX,
		.target_ino = UINT64_MAX,
		.target_offset = UINT64_MAX,
		.handle = UINT64_MAX,
		.data = fx_big,
		.data_len = fx_data_max(type),
		.kill_suidgid = true,
	};

	return op;
}

/* The same, with only the fields the type carries. */
static struct wire_fs_op fx_op_max(uint8_t type)
{
	struct wire_fs_op all = fx_op_all(type);

	return fx_mask(&all);
}

/* An exact-size heap copy, so ASan catches a read past the end. */
static uint8_t *fx_copy(const void *p, size_t len)
{
	uint8_t *c = malloc(len ? len : 1);

	assert_non_null(c);
	if (len)
		memcpy(c, p, len);
	return c;
}

static void fx_assert_inside(const void *p, size_t n, const uint8_t *buf, size_t len)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)buf;

	assert_non_null(p);
	assert_true(a >= lo);
	assert_true(a + n <= lo + len);
}

static void fx_assert_bytes(const void *a, uint32_t a_len, const void *b, uint32_t b_len)
{
	assert_int_equal(a_len, b_len);
	if (a_len)
		assert_memory_equal(a, b, a_len);
}

static void fx_assert_op_equal(const struct wire_fs_op *want, const struct wire_fs_op *got)
{
	assert_int_equal(want->type, got->type);
	assert_int_equal(want->uid, got->uid);
	assert_int_equal(want->gid, got->gid);
	assert_true(want->ino == got->ino);
	assert_true(want->parent == got->parent);
	fx_assert_bytes(want->name, want->name_len, got->name, got->name_len);
	assert_true(want->new_parent == got->new_parent);
	fx_assert_bytes(want->new_name, want->new_name_len, got->new_name, got->new_name_len);
	assert_int_equal(want->mode, got->mode);
	assert_true(want->rdev == got->rdev);
	assert_int_equal(want->flags, got->flags);
	assert_int_equal(want->valid, got->valid);
	assert_int_equal(want->set_uid, got->set_uid);
	assert_int_equal(want->set_gid, got->set_gid);
	assert_true(want->size == got->size);
	assert_true(want->atime == got->atime);
	assert_true(want->mtime == got->mtime);
	assert_true(want->offset == got->offset);
	assert_true(want->length == got->length);
	assert_true(want->target_ino == got->target_ino);
	assert_true(want->target_offset == got->target_offset);
	assert_true(want->handle == got->handle);
	fx_assert_bytes(want->data, want->data_len, got->data, got->data_len);
	assert_int_equal(want->kill_suidgid, got->kill_suidgid);
}

static void fx_assert_result_equal(const struct wire_fs_result *want, const struct wire_fs_result *got)
{
	assert_int_equal(want->err, got->err);
	assert_true(want->written == got->written);
	assert_true(want->attr.ino == got->attr.ino);
	assert_int_equal(want->attr.mode, got->attr.mode);
	assert_int_equal(want->attr.nlink, got->attr.nlink);
	assert_int_equal(want->attr.uid, got->attr.uid);
	assert_int_equal(want->attr.gid, got->attr.gid);
	assert_true(want->attr.rdev == got->attr.rdev);
	assert_true(want->attr.size == got->attr.size);
	assert_true(want->attr.blocks == got->attr.blocks);
	assert_true(want->attr.atime == got->attr.atime);
	assert_true(want->attr.mtime == got->attr.mtime);
	assert_true(want->attr.ctime == got->attr.ctime);
}

/*
 * decode(encode(in)) == in field by field, the byte strings point into the buffer,
 * and re-encoding the decoded op gives the same bytes.
 */
static void fx_roundtrip(const struct wire_fs_op *in)
{
	struct wire_buf b, again;
	struct wire_fs_op out;
	const char *why = "unset";
	uint8_t *buf;
	size_t len;

	wire_buf_init(&b);
	wire_buf_init(&again);
	assert_int_equal(wire_fs_op_encode(in, &b), 0);
	assert_true(b.len <= WIRE_FS_OP_SIZE_MAX);
	len = b.len;
	buf = fx_copy(b.data, len);

	assert_int_equal(wire_fs_op_decode(buf, len, &out, &why), 0);
	assert_null(why);
	fx_assert_op_equal(in, &out);
	if (FX_USES[in->type] & FX_NAME)
		fx_assert_inside(out.name, out.name_len, buf, len);
	if (FX_USES[in->type] & FX_NEW_NAME)
		fx_assert_inside(out.new_name, out.new_name_len, buf, len);
	if (FX_USES[in->type] & FX_DATA)
		fx_assert_inside(out.data, out.data_len, buf, len);

	assert_int_equal(wire_fs_op_encode(&out, &again), 0);
	assert_int_equal(again.len, len);
	assert_memory_equal(again.data, buf, len);

	free(buf);
	wire_buf_free(&again);
	wire_buf_free(&b);
}

static void fx_result_roundtrip(const struct wire_fs_result *in)
{
	struct wire_buf b;
	struct wire_fs_result out;
	const char *why = "unset";
	uint8_t *buf;

	wire_buf_init(&b);
	assert_int_equal(wire_fs_result_encode(in, &b), 0);
	assert_true(b.len <= WIRE_FS_RESULT_SIZE_MAX);
	buf = fx_copy(b.data, b.len);
	assert_int_equal(wire_fs_result_decode(buf, b.len, &out, &why), 0);
	assert_null(why);
	fx_assert_result_equal(in, &out);
	free(buf);
	wire_buf_free(&b);
}

/* ---- Hand-built msgpack for the malformed corpus ------------------------------------ */

enum fx_kind { FX_END = 0, FX_ARRAY, FX_ARRAY32, FX_UINT, FX_INT, FX_BIN, FX_STR, FX_TRUE, FX_NIL, FX_RAW };

struct fx_item {
	enum fx_kind kind;
	uint64_t u;
	int64_t i;
	const void *p;
	size_t len;
};

/* One item; the shorthands below keep the corpus readable. */
#define FX_ITEM(kind, u, i, p, len)                                                                                    \
	{                                                                                                              \
		kind, u, i, p, len                                                                                     \
	}
#define FX_A(n)      FX_ITEM(FX_ARRAY, (n), 0, NULL, 0)
#define FX_A32(n)    FX_ITEM(FX_ARRAY32, (n), 0, NULL, 0) /* an array32 header, whatever n */
#define FX_U(x)      FX_ITEM(FX_UINT, (x), 0, NULL, 0)
#define FX_I(x)      FX_ITEM(FX_INT, 0, (x), NULL, 0)
#define FX_B(s)      FX_ITEM(FX_BIN, 0, 0, (s), sizeof(s) - 1)
#define FX_BN(p, n)  FX_ITEM(FX_BIN, 0, 0, (p), (n))
#define FX_S(s)      FX_ITEM(FX_STR, 0, 0, (s), sizeof(s) - 1)
#define FX_TRUE_     FX_ITEM(FX_TRUE, 0, 0, NULL, 0)
#define FX_NIL_      FX_ITEM(FX_NIL, 0, 0, NULL, 0)
#define FX_END_      FX_ITEM(FX_END, 0, 0, NULL, 0)
#define FX_RAW_(s)   FX_ITEM(FX_RAW, 0, 0, (s), sizeof(s) - 1)
#define FX_HEAD(t)   FX_U(WIRE_FS_VERSION), FX_U(t), FX_U(1000), FX_U(100)
#define FX_ITEMS_MAX 16

struct fx_case {
	const char *what;
	const char *why;
	struct fx_item items[FX_ITEMS_MAX];
};

static int fx_raw_write(void *data, const char *p, size_t n)
{
	return msgpack_sbuffer_write(data, p, n);
}

/* Packs items into sb (initialised by the caller). */
static void fx_pack(msgpack_sbuffer *sb, const struct fx_item *items)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	for (size_t i = 0; i < FX_ITEMS_MAX && items[i].kind != FX_END; i++) {
		const struct fx_item *it = &items[i];
		uint8_t a32[5] = { 0xdd, (uint8_t)(it->u >> 24), (uint8_t)(it->u >> 16), (uint8_t)(it->u >> 8),
			           (uint8_t)it->u };

		switch (it->kind) {
		case FX_END:
			break;
		case FX_ARRAY:
			assert_int_equal(msgpack_pack_array(&pk, it->u), 0);
			break;
		case FX_ARRAY32:
			assert_int_equal(fx_raw_write(sb, (const char *)a32, sizeof(a32)), 0);
			break;
		case FX_UINT:
			assert_int_equal(msgpack_pack_uint64(&pk, it->u), 0);
			break;
		case FX_INT:
			assert_int_equal(msgpack_pack_int64(&pk, it->i), 0);
			break;
		case FX_BIN:
			assert_int_equal(msgpack_pack_bin_with_body(&pk, it->p, it->len), 0);
			break;
		case FX_STR:
			assert_int_equal(msgpack_pack_str_with_body(&pk, it->p, it->len), 0);
			break;
		case FX_TRUE:
			assert_int_equal(msgpack_pack_true(&pk), 0);
			break;
		case FX_NIL:
			assert_int_equal(msgpack_pack_nil(&pk), 0);
			break;
		case FX_RAW:
			assert_int_equal(fx_raw_write(sb, it->p, it->len), 0);
			break;
		}
	}
}

/* ---- Round-trips ---------------------------------------------------------------------- */

static void test_op_roundtrip_every_type_typical(void **state)
{
	(void)state;
	for (uint8_t t = WIRE_FS_CREATE; t <= WIRE_FS_TYPE_MAX; t++) {
		struct wire_fs_op op = fx_op(t);

		fx_roundtrip(&op);
	}
}

/* UINT64_MAX / UINT32_MAX in every field, the longest name and the largest data. */
static void test_op_roundtrip_every_type_max(void **state)
{
	(void)state;
	for (uint8_t t = WIRE_FS_CREATE; t <= WIRE_FS_TYPE_MAX; t++) {
		struct wire_fs_op op = fx_op_max(t);

		fx_roundtrip(&op);
	}
}

/* All zeros, with the shortest byte strings each type allows. */
static void test_op_roundtrip_every_type_min(void **state)
{
	(void)state;
	for (uint8_t t = WIRE_FS_CREATE; t <= WIRE_FS_TYPE_MAX; t++) {
		struct wire_fs_op op = { .type = t };

		if (FX_USES[t] & FX_NAME)
			fx_name(&op, "x");
		if (FX_USES[t] & FX_NEW_NAME) {
			op.new_name = "y";
			op.new_name_len = 1;
		}
		if (t == WIRE_FS_SYMLINK) /* a target may not be empty; data and values may */
			fx_data(&op, "t", 1);
		fx_roundtrip(&op);
	}
}

/* Fields a type does not carry are not encoded: they change nothing and decode as zero. */
static void test_op_unused_fields_not_encoded(void **state)
{
	(void)state;
	for (uint8_t t = WIRE_FS_CREATE; t <= WIRE_FS_TYPE_MAX; t++) {
		struct wire_fs_op full = fx_op_all(t);
		struct wire_fs_op masked = fx_mask(&full), out;
		struct wire_buf a, b;
		const char *why;

		wire_buf_init(&a);
		wire_buf_init(&b);
		assert_int_equal(wire_fs_op_encode(&full, &a), 0);
		assert_int_equal(wire_fs_op_encode(&masked, &b), 0);
		assert_int_equal(a.len, b.len);
		assert_memory_equal(a.data, b.data, a.len);
		assert_int_equal(wire_fs_op_decode(a.data, a.len, &out, &why), 0);
		fx_assert_op_equal(&masked, &out);
		wire_buf_free(&a);
		wire_buf_free(&b);
	}
}

/* Names: every length from 1 to WIRE_FS_NAME_LEN_MAX (256: the store answers ENAMETOOLONG), every byte. */
static void test_op_roundtrip_names(void **state)
{
	uint8_t all[254]; /* every byte but NUL and '/' */
	size_t n = 0;

	(void)state;
	for (unsigned c = 1; c < 256; c++)
		if (c != '/')
			all[n++] = (uint8_t)c;
	assert_int_equal(n, sizeof(all));

	for (uint32_t len = 1; len <= WIRE_FS_NAME_LEN_MAX; len++) {
		struct wire_fs_op op = fx_op(WIRE_FS_RENAME);

		op.name = (const char *)fx_big;
		op.name_len = len;
		op.new_name = (const char *)fx_big;
		op.new_name_len = WIRE_FS_NAME_LEN_MAX + 1 - len;
		fx_roundtrip(&op);
	}

	struct wire_fs_op op = fx_op(WIRE_FS_CREATE);
	op.name = (const char *)all;
	op.name_len = sizeof(all);
	fx_roundtrip(&op);

	/* Dots are fine except "." and ".." themselves. */
	static const char *const dotty[] = { ".a", "...", ".hidden", "a.", ".. " };
	for (size_t i = 0; i < sizeof(dotty) / sizeof(dotty[0]); i++) {
		op = fx_op(WIRE_FS_MKDIR);
		fx_name(&op, dotty[i]);
		fx_roundtrip(&op);
	}

	/* An xattr name may hold '/' and is bounded by WIRE_XATTR_NAME_MAX. */
	op = fx_op(WIRE_FS_REMOVEXATTR);
	fx_name(&op, "user./x/.");
	fx_roundtrip(&op);
	op.name = (const char *)fx_big;
	op.name_len = WIRE_XATTR_NAME_MAX;
	fx_roundtrip(&op);
}

/* Byte strings at 0, 1 and their maximum, across the bin8 / bin16 / bin32 boundaries. */
static void test_op_roundtrip_data(void **state)
{
	static const uint32_t lens[] = { 0, 1, 255, 256, 65535, 65536, WIRE_DATA_MAX - 1, WIRE_DATA_MAX };
	struct wire_fs_op op;

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		op = fx_op(WIRE_FS_WRITE);
		fx_data(&op, fx_big, lens[i]);
		op.kill_suidgid = (i & 1) != 0;
		fx_roundtrip(&op);
		if (lens[i] <= WIRE_XATTR_VALUE_MAX) {
			op = fx_op(WIRE_FS_SETXATTR);
			fx_data(&op, fx_big, lens[i]);
			fx_roundtrip(&op);
		}
		if (lens[i] >= 1 && lens[i] <= WIRE_SYMLINK_MAX) {
			op = fx_op(WIRE_FS_SYMLINK);
			fx_data(&op, fx_big, lens[i]);
			fx_roundtrip(&op);
		}
	}
	/* Empty data may come as a NULL pointer. */
	op = fx_op(WIRE_FS_WRITE);
	fx_data(&op, NULL, 0);
	fx_roundtrip(&op);
	op = fx_op(WIRE_FS_SYMLINK);
	fx_data(&op, fx_big, WIRE_SYMLINK_MAX);
	fx_roundtrip(&op);
}

/* Times before the epoch, at every msgpack signed width and its edges. */
static void test_op_roundtrip_negative_times(void **state)
{
	static const int64_t times[] = {
		-1,        -32,           -33, -128, -129, -32768,   -32769, INT32_MIN, (int64_t)INT32_MIN - 1,
		INT64_MIN, INT64_MIN + 1, 0,   127,  128,  INT64_MAX
	};

	(void)state;
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		struct wire_fs_op op = fx_op(WIRE_FS_SETATTR);

		op.atime = times[i];
		op.mtime = times[sizeof(times) / sizeof(times[0]) - 1 - i];
		fx_roundtrip(&op);
	}
}

/* Every unsigned width for the uint32 and uint64 fields. */
static void test_op_roundtrip_integer_widths(void **state)
{
	static const uint64_t vals[] = {
		0, 127, 128, 255, 256, 65535, 65536, UINT32_MAX, (uint64_t)UINT32_MAX + 1, UINT64_MAX
	};

	(void)state;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		struct wire_fs_op op = fx_op(WIRE_FS_SETATTR);

		op.ino = vals[i];
		op.size = vals[i];
		op.mode = (uint32_t)vals[i];
		op.set_uid = (uint32_t)vals[i];
		op.uid = (uint32_t)vals[i];
		fx_roundtrip(&op);
	}
}

/* The format is a contract between replicas: pin the bytes of one op and one result. */
static void test_golden_bytes(void **state)
{
	static const uint8_t want_op[] = { 0x96, 0x01, 0x05, 0xcd, 0x03, 0xe8, 0x64,
		                           0x07, 0xc4, 0x04, 'g',  'o',  'n',  'e' };
	static const uint8_t want_result[] = { 0x9e, 0x01, 0xfe, 0x00, 0x2a, 0xcd, 0x81, 0xa4, 0x01, 0xcd, 0x03,
		                               0xe8, 0x64, 0x00, 0xcd, 0x10, 0x00, 0x08, 0xff, 0x00, 0xd0, 0x80 };
	struct wire_fs_op op = fx_op(WIRE_FS_UNLINK);
	struct wire_fs_result r = {
		.err = -2,
		.attr = { .ino = 42,
		          .mode = 0100644,
		          .nlink = 1,
		          .uid = 1000,
		          .gid = 100,
		          .size = 4096,
		          .blocks = 8,
		          .atime = -1,
		          .mtime = 0,
		          .ctime = -128 },
	};
	struct wire_buf b;

	(void)state;
	wire_buf_init(&b);
	assert_int_equal(wire_fs_op_encode(&op, &b), 0);
	assert_int_equal(b.len, sizeof(want_op));
	assert_memory_equal(b.data, want_op, sizeof(want_op));
	wire_buf_free(&b);

	assert_int_equal(wire_fs_result_encode(&r, &b), 0);
	assert_int_equal(b.len, sizeof(want_result));
	assert_memory_equal(b.data, want_result, sizeof(want_result));
	wire_buf_free(&b);
}

/* The decoder accepts any msgpack integer width and array16 / array32 headers, not only ours. */
static void test_op_decode_accepts_other_widths(void **state)
{
	static const uint8_t body[] = {
		0xdc, 0x00, 0x06,                        /* array16 of 6 */
		0xcf, 0,    0,    0, 0, 0,   0, 0, 1,    /* version as uint64 */
		0xd0, 0x05,                              /* type as int8 */
		0xcc, 0x00,                              /* uid as uint8 */
		0xd3, 0,    0,    0, 0, 0,   0, 0, 0x64, /* gid as int64 */
		0xce, 0,    0,    0, 7,                  /* parent as uint32 */
		0xc6, 0,    0,    0, 1, 'z',             /* name as bin32 */
	};
	uint8_t *buf = fx_copy(body, sizeof(body));
	struct wire_fs_op op;
	const char *why;

	(void)state;
	assert_int_equal(wire_fs_op_decode(buf, sizeof(body), &op, &why), 0);
	assert_int_equal(op.type, WIRE_FS_UNLINK);
	assert_int_equal(op.uid, 0);
	assert_int_equal(op.gid, 100);
	assert_true(op.parent == 7);
	fx_assert_bytes(op.name, op.name_len, "z", 1);
	fx_assert_inside(op.name, op.name_len, buf, sizeof(body));
	free(buf);
}

/* Encoding appends after what the buffer holds (a frame header, say). */
static void test_op_encode_appends(void **state)
{
	struct wire_fs_op op = fx_op(WIRE_FS_WRITE), out;
	struct wire_buf b;
	const char *why;
	size_t first;

	(void)state;
	wire_buf_init(&b);
	assert_int_equal(wire_fs_op_encode(&op, &b), 0);
	first = b.len;
	assert_int_equal(wire_fs_op_encode(&op, &b), 0);
	assert_int_equal(b.len, 2 * first);
	assert_memory_equal(b.data, b.data + first, first);
	assert_int_equal(wire_fs_op_decode(b.data + first, first, &out, &why), 0);
	fx_assert_op_equal(&op, &out);
	/* Both together are one op and trailing bytes. */
	assert_int_equal(wire_fs_op_decode(b.data, b.len, &out, &why), -EBADMSG);
	assert_string_equal(why, "fs_op: trailing bytes");
	wire_buf_free(&b);
}

static void test_result_roundtrip(void **state)
{
	struct wire_fs_result typical = {
		.err = 0,
		.written = 13,
		.attr = { .ino = 42,
		          .mode = 0100644,
		          .nlink = 1,
		          .uid = 1000,
		          .gid = 100,
		          .rdev = 0,
		          .size = 8205,
		          .blocks = 24,
		          .atime = 1700000000123456789,
		          .mtime = 1700000000987654321,
		          .ctime = 1700000001000000000 },
	};
	struct wire_fs_result max = {
		.err = -WIRE_FS_ERRNO_MAX,
		.written = UINT64_MAX,
		.attr = { .ino = UINT64_MAX,
		          .mode = UINT32_MAX,
		          .nlink = UINT32_MAX,
		          .uid = UINT32_MAX,
		          .gid = UINT32_MAX,
		          .rdev = UINT64_MAX,
		          .size = UINT64_MAX,
		          .blocks = UINT64_MAX,
		          .atime = INT64_MIN,
		          .mtime = INT64_MAX,
		          .ctime = -1 },
	};
	struct wire_fs_result errors = { .err = -ENOENT };
	struct wire_fs_result zero = { 0 };

	(void)state;
	fx_result_roundtrip(&typical);
	fx_result_roundtrip(&max);
	fx_result_roundtrip(&errors);
	fx_result_roundtrip(&zero);
	errors.err = -ENAMETOOLONG;
	fx_result_roundtrip(&errors);
}

/* ---- The encoder refuses invalid ops and results and leaves the buffer as it was ------ */

static void fx_assert_encode_einval(const struct wire_fs_op *op)
{
	struct wire_fs_op valid = fx_op(WIRE_FS_OPEN);
	struct wire_buf b;
	size_t before;

	wire_buf_init(&b);
	assert_int_equal(wire_fs_op_encode(&valid, &b), 0);
	before = b.len;
	assert_int_equal(wire_fs_op_encode(op, &b), -EINVAL);
	assert_int_equal(b.len, before);
	wire_buf_free(&b);
}

static void test_op_encode_rejects_invalid(void **state)
{
	struct wire_fs_op op;

	(void)state;
	op = fx_op(WIRE_FS_OPEN);
	op.type = 0;
	fx_assert_encode_einval(&op);
	op.type = WIRE_FS_TYPE_MAX + 1;
	fx_assert_encode_einval(&op);

	op = fx_op(WIRE_FS_CREATE);
	op.name_len = 0;
	fx_assert_encode_einval(&op);
	op.name = NULL;
	op.name_len = 3;
	fx_assert_encode_einval(&op);
	op.name = (const char *)fx_big;
	op.name_len = WIRE_FS_NAME_LEN_MAX + 1;
	fx_assert_encode_einval(&op);
	fx_name(&op, "a/b");
	fx_assert_encode_einval(&op);
	op.name = "a\0b";
	op.name_len = 3;
	fx_assert_encode_einval(&op);
	fx_name(&op, ".");
	fx_assert_encode_einval(&op);
	fx_name(&op, "..");
	fx_assert_encode_einval(&op);

	op = fx_op(WIRE_FS_RENAME);
	op.new_name = "..";
	op.new_name_len = 2;
	fx_assert_encode_einval(&op);
	op.new_name_len = 0;
	fx_assert_encode_einval(&op);

	op = fx_op(WIRE_FS_SYMLINK);
	fx_data(&op, fx_big, WIRE_SYMLINK_MAX + 1);
	fx_assert_encode_einval(&op);
	fx_data(&op, "", 0);
	fx_assert_encode_einval(&op);
	fx_data(&op, "a\0", 2);
	fx_assert_encode_einval(&op);

	op = fx_op(WIRE_FS_SETXATTR);
	fx_data(&op, fx_big, WIRE_XATTR_VALUE_MAX + 1);
	fx_assert_encode_einval(&op);
	op = fx_op(WIRE_FS_SETXATTR);
	op.name = (const char *)fx_big;
	op.name_len = WIRE_XATTR_NAME_MAX + 1;
	fx_assert_encode_einval(&op);
	op = fx_op(WIRE_FS_REMOVEXATTR);
	fx_name(&op, "");
	fx_assert_encode_einval(&op);

	op = fx_op(WIRE_FS_WRITE);
	fx_data(&op, fx_big, WIRE_DATA_MAX + 1);
	fx_assert_encode_einval(&op);
	fx_data(&op, NULL, 1);
	fx_assert_encode_einval(&op);
}

static void test_result_encode_rejects_bad_err(void **state)
{
	static const int32_t bad[] = { 1, ENOENT, INT32_MAX, -WIRE_FS_ERRNO_MAX - 1, INT32_MIN };
	struct wire_buf b;

	(void)state;
	wire_buf_init(&b);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct wire_fs_result r = { .err = bad[i] };

		assert_int_equal(wire_fs_result_encode(&r, &b), -EINVAL);
		assert_int_equal(b.len, 0);
	}
	wire_buf_free(&b);
}

/* ---- Malformed bodies: one reject reason each, with the exact why --------------------- */

/* A 257-byte name, a 4096-byte target, and so on: all slices of fx_big. */
static const struct fx_case FX_OP_CORPUS[] = {
	{ "empty buffer", "fs_op: empty", { FX_END_ } },
	{ "not msgpack (0xc1 is never used)", "fs_op: not a msgpack array", { FX_RAW_("\xc1") } },
	{ "a map", "fs_op: not a msgpack array", { FX_RAW_("\x81\x01\x02") } },
	{ "a string", "fs_op: not a msgpack array", { FX_S("unlink gone") } },
	{ "an integer", "fs_op: not a msgpack array", { FX_U(5) } },
	{ "trailing byte",
	  "fs_op: trailing bytes",
	  { FX_A(6), FX_HEAD(WIRE_FS_UNLINK), FX_U(7), FX_B("gone"), FX_RAW_("\x00") } },
	{ "trailing nil", "fs_op: trailing bytes", { FX_A(6), FX_HEAD(WIRE_FS_OPEN), FX_U(7), FX_U(8), FX_NIL_ } },
	{ "empty array", "fs_op: too few fields", { FX_A(0) } },
	{ "array of one", "fs_op: too few fields", { FX_A(1), FX_U(WIRE_FS_VERSION) } },
	{ "version 2", "fs_op: unknown version", { FX_A(6), FX_U(2), FX_U(WIRE_FS_OPEN), FX_U(0), FX_U(0) } },
	{ "version 0", "fs_op: unknown version", { FX_A(6), FX_U(0), FX_U(WIRE_FS_OPEN) } },
	{ "version -1", "fs_op: integer out of range", { FX_A(6), FX_I(-1), FX_U(WIRE_FS_OPEN) } },
	{ "version as str", "fs_op: field is not an integer", { FX_A(6), FX_S("1"), FX_U(WIRE_FS_OPEN) } },
	{ "type 0", "fs_op: unknown type", { FX_A(6), FX_HEAD(0), FX_U(42), FX_U(1) } },
	{ "type 99", "fs_op: unknown type", { FX_A(6), FX_HEAD(99), FX_U(42), FX_U(1) } },
	{ "type after the last", "fs_op: unknown type", { FX_A(6), FX_HEAD(WIRE_FS_TYPE_MAX + 1), FX_U(1), FX_U(1) } },
	{ "type OPEN + 256 (would wrap to OPEN in uint8_t)",
	  "fs_op: unknown type",
	  { FX_A(6), FX_HEAD(256 + WIRE_FS_OPEN) } },
	{ "type UINT64_MAX", "fs_op: unknown type", { FX_A(6), FX_HEAD(UINT64_MAX) } },
	{ "CREATE with 7 fields",
	  "fs_op: wrong field count for type",
	  { FX_A(7), FX_HEAD(WIRE_FS_CREATE), FX_U(1), FX_B("f"), FX_U(0100644) } },
	{ "CREATE with 9 fields",
	  "fs_op: wrong field count for type",
	  { FX_A(9), FX_HEAD(WIRE_FS_CREATE), FX_U(1), FX_B("f"), FX_U(0100644), FX_U(0), FX_U(0) } },
	{ "UNLINK with the fields of CREATE",
	  "fs_op: wrong field count for type",
	  { FX_A(8), FX_HEAD(WIRE_FS_UNLINK), FX_U(1), FX_B("f"), FX_U(0100644), FX_U(0) } },
	{ "SETATTR with 11 fields", "fs_op: wrong field count for type", { FX_A(11), FX_HEAD(WIRE_FS_SETATTR) } },
	{ "array32 claiming 2^32-1 fields (nothing is allocated)",
	  "fs_op: wrong field count for type",
	  { FX_A32(UINT32_MAX), FX_U(WIRE_FS_VERSION), FX_U(WIRE_FS_OPEN) } },
	{ "uid as nil", "fs_op: field is not an integer", { FX_A(6), FX_U(1), FX_U(WIRE_FS_OPEN), FX_NIL_, FX_U(0) } },
	{ "uid 2^32",
	  "fs_op: integer out of range",
	  { FX_A(6), FX_U(1), FX_U(WIRE_FS_OPEN), FX_U(1ULL << 32), FX_U(0), FX_U(1), FX_U(1) } },
	{ "gid -1",
	  "fs_op: integer out of range",
	  { FX_A(6), FX_U(1), FX_U(WIRE_FS_OPEN), FX_U(0), FX_I(-1), FX_U(1), FX_U(1) } },
	{ "parent as bin",
	  "fs_op: field is not an integer",
	  { FX_A(6), FX_HEAD(WIRE_FS_UNLINK), FX_B("\x07"), FX_B("gone") } },
	{ "ino as double",
	  "fs_op: field is not an integer",
	  { FX_A(6), FX_HEAD(WIRE_FS_OPEN), FX_RAW_("\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00"), FX_U(1) } },
	{ "ino -1", "fs_op: integer out of range", { FX_A(6), FX_HEAD(WIRE_FS_OPEN), FX_I(-1), FX_U(1) } },
	{ "name as str (names are bytes)",
	  "fs_op: field is not bin",
	  { FX_A(6), FX_HEAD(WIRE_FS_UNLINK), FX_U(7), FX_S("gone") } },
	{ "name as nil", "fs_op: field is not bin", { FX_A(6), FX_HEAD(WIRE_FS_UNLINK), FX_U(7), FX_NIL_ } },
	{ "mode 2^32",
	  "fs_op: integer out of range",
	  { FX_A(7), FX_HEAD(WIRE_FS_MKDIR), FX_U(7), FX_B("d"), FX_U(1ULL << 32) } },
	{ "mode as true",
	  "fs_op: field is not an integer",
	  { FX_A(7), FX_HEAD(WIRE_FS_MKDIR), FX_U(7), FX_B("d"), FX_TRUE_ } },
	{ "atime 2^63",
	  "fs_op: integer out of range",
	  { FX_A(13), FX_HEAD(WIRE_FS_SETATTR), FX_U(42), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(1ULL << 63),
	    FX_I(0), FX_TRUE_ } },
	{ "mtime as str",
	  "fs_op: field is not an integer",
	  { FX_A(13), FX_HEAD(WIRE_FS_SETATTR), FX_U(42), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_I(-5),
	    FX_S("now"), FX_TRUE_ } },
	{ "kill_suidgid as 1",
	  "fs_op: field is not a boolean",
	  { FX_A(9), FX_HEAD(WIRE_FS_WRITE), FX_U(42), FX_U(0), FX_B("x"), FX_U(1), FX_U(0) } },
	{ "write data as str",
	  "fs_op: field is not bin",
	  { FX_A(9), FX_HEAD(WIRE_FS_WRITE), FX_U(42), FX_U(0), FX_S("x"), FX_TRUE_, FX_U(0) } },
	{ "name empty", "fs_op: name empty", { FX_A(6), FX_HEAD(WIRE_FS_UNLINK), FX_U(7), FX_B("") } },
	{ "name too long (WIRE_NAME_MAX + 2)",
	  "fs_op: name too long",
	  { FX_A(6), FX_HEAD(WIRE_FS_UNLINK), FX_U(7), FX_BN(fx_big, WIRE_NAME_MAX + 2) } },
	{ "name with '/'",
	  "fs_op: name contains '/' or NUL",
	  { FX_A(6), FX_HEAD(WIRE_FS_RMDIR), FX_U(7), FX_B("a/b") } },
	{ "name with NUL",
	  "fs_op: name contains '/' or NUL",
	  { FX_A(6), FX_HEAD(WIRE_FS_RMDIR), FX_U(7), FX_B("a\0b") } },
	{ "name .", "fs_op: name is . or ..", { FX_A(7), FX_HEAD(WIRE_FS_MKDIR), FX_U(7), FX_B("."), FX_U(040755) } },
	{ "name ..", "fs_op: name is . or ..", { FX_A(7), FX_HEAD(WIRE_FS_LINK), FX_U(42), FX_U(7), FX_B("..") } },
	{ "new_name too long",
	  "fs_op: new_name too long",
	  { FX_A(9), FX_HEAD(WIRE_FS_RENAME), FX_U(7), FX_B("a"), FX_U(8), FX_BN(fx_big, WIRE_FS_NAME_LEN_MAX + 1),
	    FX_U(0) } },
	{ "new_name empty",
	  "fs_op: new_name empty",
	  { FX_A(9), FX_HEAD(WIRE_FS_RENAME), FX_U(7), FX_B("a"), FX_U(8), FX_B(""), FX_U(0) } },
	{ "new_name with '/'",
	  "fs_op: new_name contains '/' or NUL",
	  { FX_A(9), FX_HEAD(WIRE_FS_RENAME), FX_U(7), FX_B("a"), FX_U(8), FX_B("/"), FX_U(0) } },
	{ "new_name ..",
	  "fs_op: new_name is . or ..",
	  { FX_A(9), FX_HEAD(WIRE_FS_RENAME), FX_U(7), FX_B("a"), FX_U(8), FX_B(".."), FX_U(0) } },
	{ "symlink target too long",
	  "fs_op: symlink target too long",
	  { FX_A(7), FX_HEAD(WIRE_FS_SYMLINK), FX_U(7), FX_B("l"), FX_BN(fx_big, WIRE_SYMLINK_MAX + 1) } },
	{ "symlink target empty",
	  "fs_op: symlink target empty",
	  { FX_A(7), FX_HEAD(WIRE_FS_SYMLINK), FX_U(7), FX_B("l"), FX_B("") } },
	{ "symlink target with NUL",
	  "fs_op: symlink target contains NUL",
	  { FX_A(7), FX_HEAD(WIRE_FS_SYMLINK), FX_U(7), FX_B("l"), FX_B("a\0") } },
	{ "xattr name too long",
	  "fs_op: xattr name too long",
	  { FX_A(6), FX_HEAD(WIRE_FS_REMOVEXATTR), FX_U(42), FX_BN(fx_big, WIRE_XATTR_NAME_MAX + 1) } },
	{ "xattr name empty",
	  "fs_op: xattr name empty",
	  { FX_A(6), FX_HEAD(WIRE_FS_REMOVEXATTR), FX_U(42), FX_B("") } },
	{ "xattr name with NUL",
	  "fs_op: xattr name contains NUL",
	  { FX_A(8), FX_HEAD(WIRE_FS_SETXATTR), FX_U(42), FX_B("user.\0"), FX_B("v"), FX_U(0) } },
	{ "xattr value too long",
	  "fs_op: xattr value too long",
	  { FX_A(8), FX_HEAD(WIRE_FS_SETXATTR), FX_U(42), FX_B("user.a"), FX_BN(fx_big, WIRE_XATTR_VALUE_MAX + 1),
	    FX_U(0) } },
	{ "write data too long",
	  "fs_op: write data too long",
	  { FX_A(9), FX_HEAD(WIRE_FS_WRITE), FX_U(42), FX_U(0), FX_BN(fx_big, WIRE_DATA_MAX + 1), FX_TRUE_, FX_U(0) } },
	{ "body too large",
	  "fs_op: body too large",
	  { FX_A(9), FX_HEAD(WIRE_FS_WRITE), FX_U(42), FX_U(0), FX_BN(fx_big, WIRE_FS_OP_SIZE_MAX), FX_TRUE_,
	    FX_U(0) } },
	{ "bin32 header claiming 4 GiB",
	  "fs_op: truncated",
	  { FX_A(6), FX_HEAD(WIRE_FS_UNLINK), FX_U(7),
	    FX_RAW_("\xc6\xff\xff\xff\xff"
	            "abc") } },
	{ "bin16 header claiming more than is left",
	  "fs_op: truncated",
	  { FX_A(6), FX_HEAD(WIRE_FS_UNLINK), FX_U(7),
	    FX_RAW_("\xc5\x00\x0a"
	            "abc") } },
	{ "uint64 cut short", "fs_op: truncated", { FX_A(6), FX_HEAD(WIRE_FS_OPEN), FX_RAW_("\xcf\x00\x01") } },
	{ "array16 header cut short", "fs_op: truncated", { FX_RAW_("\xdc\x00") } },
	{ "fewer elements than the array claims", "fs_op: truncated", { FX_A(6), FX_HEAD(WIRE_FS_OPEN), FX_U(42) } },
};

static const struct fx_case FX_RESULT_CORPUS[] = {
	{ "empty buffer", "fs_result: empty", { FX_END_ } },
	{ "not msgpack", "fs_result: not a msgpack array", { FX_RAW_("\xc1") } },
	{ "a string", "fs_result: not a msgpack array", { FX_S("ok") } },
	{ "13 fields", "fs_result: wrong field count", { FX_A(13), FX_U(1) } },
	{ "15 fields", "fs_result: wrong field count", { FX_A(15), FX_U(1) } },
	{ "array32 claiming 2^32-1 fields", "fs_result: wrong field count", { FX_A32(UINT32_MAX), FX_U(1) } },
	{ "version 2", "fs_result: unknown version", { FX_A(14), FX_U(2), FX_I(0) } },
	{ "version as bin", "fs_result: field is not an integer", { FX_A(14), FX_B("\x01"), FX_I(0) } },
	{ "trailing byte",
	  "fs_result: trailing bytes",
	  { FX_A(14), FX_U(1), FX_I(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0),
	    FX_I(0), FX_I(0), FX_I(0), FX_RAW_("\xc0") } },
	{ "err positive",
	  "fs_result: err is not 0 or -errno",
	  { FX_A(14), FX_U(1), FX_I(2), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0),
	    FX_I(0), FX_I(0), FX_I(0) } },
	{ "err below -4095",
	  "fs_result: err is not 0 or -errno",
	  { FX_A(14), FX_U(1), FX_I(-WIRE_FS_ERRNO_MAX - 1), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0),
	    FX_U(0), FX_U(0), FX_U(0), FX_I(0), FX_I(0), FX_I(0) } },
	{ "err beyond int32", "fs_result: integer out of range", { FX_A(14), FX_U(1), FX_I((int64_t)INT32_MIN - 1) } },
	{ "err as str", "fs_result: field is not an integer", { FX_A(14), FX_U(1), FX_S("ENOENT") } },
	{ "nlink -1",
	  "fs_result: integer out of range",
	  { FX_A(14), FX_U(1), FX_I(0), FX_U(0), FX_U(0), FX_U(0), FX_I(-1) } },
	{ "ctime 2^63",
	  "fs_result: integer out of range",
	  { FX_A(14), FX_U(1), FX_I(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0),
	    FX_I(0), FX_I(0), FX_U(1ULL << 63) } },
	{ "mode as bin",
	  "fs_result: field is not an integer",
	  { FX_A(14), FX_U(1), FX_I(0), FX_U(0), FX_U(0), FX_B("") } },
	{ "body too large",
	  "fs_result: body too large",
	  { FX_A(14), FX_U(1), FX_BN(fx_big, WIRE_FS_RESULT_SIZE_MAX) } },
	{ "cut short", "fs_result: truncated", { FX_A(14), FX_U(1), FX_I(0), FX_U(0) } },
};

static void test_op_decode_rejects_corpus(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(FX_OP_CORPUS) / sizeof(FX_OP_CORPUS[0]); i++) {
		const struct fx_case *c = &FX_OP_CORPUS[i];
		msgpack_sbuffer sb;
		struct wire_fs_op op;
		const char *why = NULL;
		uint8_t *buf;
		int rc;

		msgpack_sbuffer_init(&sb);
		fx_pack(&sb, c->items);
		buf = fx_copy(sb.data, sb.size);
		rc = wire_fs_op_decode(buf, sb.size, &op, &why);
		if (rc != -EBADMSG || !why || strcmp(why, c->why) != 0)
			fail_msg("op corpus \"%s\": rc %d, why \"%s\", want \"%s\"", c->what, rc, why ? why : "(null)",
			         c->why);
		free(buf);
		msgpack_sbuffer_destroy(&sb);
	}
}

static void test_result_decode_rejects_corpus(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(FX_RESULT_CORPUS) / sizeof(FX_RESULT_CORPUS[0]); i++) {
		const struct fx_case *c = &FX_RESULT_CORPUS[i];
		msgpack_sbuffer sb;
		struct wire_fs_result r;
		const char *why = NULL;
		uint8_t *buf;
		int rc;

		msgpack_sbuffer_init(&sb);
		fx_pack(&sb, c->items);
		buf = fx_copy(sb.data, sb.size);
		rc = wire_fs_result_decode(buf, sb.size, &r, &why);
		if (rc != -EBADMSG || !why || strcmp(why, c->why) != 0)
			fail_msg("result corpus \"%s\": rc %d, why \"%s\", want \"%s\"", c->what, rc,
			         why ? why : "(null)", c->why);
		free(buf);
		msgpack_sbuffer_destroy(&sb);
	}
}

/* Every proper prefix of a valid encoding is refused: empty, or truncated. */
static void fx_assert_prefixes_rejected(const struct wire_buf *b)
{
	for (size_t len = 0; len < b->len; len++) {
		uint8_t *buf = fx_copy(b->data, len);
		struct wire_fs_op op;
		const char *why = NULL;

		assert_int_equal(wire_fs_op_decode(buf, len, &op, &why), -EBADMSG);
		assert_string_equal(why, len ? "fs_op: truncated" : "fs_op: empty");
		free(buf);
	}
}

static void test_op_decode_rejects_every_prefix(void **state)
{
	(void)state;
	for (uint8_t t = WIRE_FS_CREATE; t <= WIRE_FS_TYPE_MAX; t++) {
		struct wire_fs_op typical = fx_op(t), max = fx_op_max(t);
		struct wire_buf b;

		wire_buf_init(&b);
		assert_int_equal(wire_fs_op_encode(&typical, &b), 0);
		fx_assert_prefixes_rejected(&b);
		b.len = 0;
		/* Long data: the prefixes inside it say the same, so a shorter one keeps the test quick. */
		if (max.data_len > 300)
			max.data_len = 300;
		assert_int_equal(wire_fs_op_encode(&max, &b), 0);
		fx_assert_prefixes_rejected(&b);
		wire_buf_free(&b);
	}
}

static void test_result_decode_rejects_every_prefix(void **state)
{
	struct wire_fs_result r = {
		.err = -ENOSPC,
		.written = UINT64_MAX,
		.attr = { .ino = UINT64_MAX,
		          .mode = UINT32_MAX,
		          .nlink = 2,
		          .uid = 1000,
		          .gid = 100,
		          .size = 1,
		          .blocks = 8,
		          .atime = INT64_MIN,
		          .mtime = -1,
		          .ctime = INT64_MAX },
	};
	struct wire_buf b;

	(void)state;
	wire_buf_init(&b);
	assert_int_equal(wire_fs_result_encode(&r, &b), 0);
	for (size_t len = 0; len < b.len; len++) {
		uint8_t *buf = fx_copy(b.data, len);
		struct wire_fs_result out;
		const char *why = NULL;

		assert_int_equal(wire_fs_result_decode(buf, len, &out, &why), -EBADMSG);
		assert_string_equal(why, len ? "fs_result: truncated" : "fs_result: empty");
		free(buf);
	}
	wire_buf_free(&b);
}

/* ---- Random and mutated bytes ---------------------------------------------------------- */

#define FX_SEED        0x5eed0f5eedULL
#define FX_RANDOM_RUNS 10000

static uint64_t fx_rand(uint64_t *s)
{
	/* xorshift64*: enough for fuzzing, and the same sequence on every machine. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

/* Decodes buf both ways. Never crashes; whatever is accepted re-encodes to a decodable op. */
static void fx_decode_anything(const uint8_t *bytes, size_t len, size_t *accepted)
{
	uint8_t *buf = fx_copy(bytes, len);
	struct wire_fs_op op, again;
	struct wire_fs_result r;
	struct wire_buf b;
	const char *why = NULL;
	int rc;

	rc = wire_fs_op_decode(buf, len, &op, &why);
	if (rc == 0) {
		assert_null(why);
		(*accepted)++;
		wire_buf_init(&b);
		assert_int_equal(wire_fs_op_encode(&op, &b), 0);
		assert_int_equal(wire_fs_op_decode(b.data, b.len, &again, &why), 0);
		fx_assert_op_equal(&op, &again);
		wire_buf_free(&b);
	} else {
		assert_int_equal(rc, -EBADMSG);
		assert_non_null(why);
	}

	rc = wire_fs_result_decode(buf, len, &r, &why);
	if (rc == 0) {
		assert_null(why);
		assert_true(r.err <= 0 && r.err >= -WIRE_FS_ERRNO_MAX);
	} else {
		assert_int_equal(rc, -EBADMSG);
		assert_non_null(why);
	}
	free(buf);
}

static void test_decode_random_bytes(void **state)
{
	uint64_t seed = FX_SEED;
	uint8_t bytes[96];
	size_t accepted = 0;

	(void)state;
	for (int run = 0; run < FX_RANDOM_RUNS; run++) {
		size_t len = fx_rand(&seed) % (sizeof(bytes) + 1);

		for (size_t i = 0; i < len; i++)
			bytes[i] = (uint8_t)fx_rand(&seed);
		/* Half the time start like an op, so the fields are reached too. */
		if (len >= 3 && (run & 1)) {
			bytes[0] = (uint8_t)(0x90 | (fx_rand(&seed) % 13));
			bytes[1] = WIRE_FS_VERSION;
			bytes[2] = (uint8_t)(1 + fx_rand(&seed) % WIRE_FS_TYPE_MAX);
		}
		fx_decode_anything(bytes, len, &accepted);
	}
	print_message("random bytes: %zu of %d accepted\n", accepted, FX_RANDOM_RUNS);
}

/* Valid encodings with a few bytes changed, dropped or added: the paths random bytes rarely reach. */
static void test_decode_mutated_encodings(void **state)
{
	uint64_t seed = FX_SEED + 1;
	size_t accepted = 0;

	(void)state;
	for (int run = 0; run < FX_RANDOM_RUNS; run++) {
		uint8_t type = (uint8_t)(1 + fx_rand(&seed) % WIRE_FS_TYPE_MAX);
		struct wire_fs_op op = fx_op(type);
		struct wire_buf b;
		size_t flips = 1 + fx_rand(&seed) % 3;

		wire_buf_init(&b);
		assert_int_equal(wire_fs_op_encode(&op, &b), 0);
		assert_int_equal(wire_fs_op_encode(&op, &b), 0); /* room to grow into */
		b.len /= 2;
		for (size_t i = 0; i < flips; i++)
			b.data[fx_rand(&seed) % b.len] = (uint8_t)fx_rand(&seed);
		switch (fx_rand(&seed) % 4) {
		case 0:
			b.len -= fx_rand(&seed) % b.len;
			break;
		case 1:
			b.len += fx_rand(&seed) % 4;
			break;
		default:
			break;
		}
		fx_decode_anything(b.data, b.len, &accepted);
		wire_buf_free(&b);
	}
	print_message("mutated encodings: %zu of %d accepted\n", accepted, FX_RANDOM_RUNS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_op_roundtrip_every_type_typical),
		cmocka_unit_test(test_op_roundtrip_every_type_max),
		cmocka_unit_test(test_op_roundtrip_every_type_min),
		cmocka_unit_test(test_op_unused_fields_not_encoded),
		cmocka_unit_test(test_op_roundtrip_names),
		cmocka_unit_test(test_op_roundtrip_data),
		cmocka_unit_test(test_op_roundtrip_negative_times),
		cmocka_unit_test(test_op_roundtrip_integer_widths),
		cmocka_unit_test(test_golden_bytes),
		cmocka_unit_test(test_op_decode_accepts_other_widths),
		cmocka_unit_test(test_op_encode_appends),
		cmocka_unit_test(test_result_roundtrip),
		cmocka_unit_test(test_op_encode_rejects_invalid),
		cmocka_unit_test(test_result_encode_rejects_bad_err),
		cmocka_unit_test(test_op_decode_rejects_corpus),
		cmocka_unit_test(test_result_decode_rejects_corpus),
		cmocka_unit_test(test_op_decode_rejects_every_prefix),
		cmocka_unit_test(test_result_decode_rejects_every_prefix),
		cmocka_unit_test(test_decode_random_bytes),
		cmocka_unit_test(test_decode_mutated_encodings),
	};

	memset(fx_big, 'a', sizeof(fx_big));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
