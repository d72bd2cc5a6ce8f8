/*
 * test_wire_read.c — unit tests of the read codec (wire/wire_read.c): round trips of
 * every read type and of every answer (successes, errors, empty data, the largest data,
 * 1024 entries, names of 255 and 256 bytes), golden bytes that pin the formats, other
 * integer widths and array headers, the encoders' refusals, a corpus of malformed bodies
 * each hitting one reject reason with its exact `why`, every field a type does not use set
 * in turn, every truncation of valid encodings, trailing bytes, the dirents_max bound, and
 * seeded random and mutated bytes.
 *
 * Requests are [client_id, request, local, min_op, read] and replies [request, view,
 * commit, err, payload]: local (0 or 1), min_op (0 unless local) and commit are checked in
 * round trips at their extremes, in golden bytes, at other integer widths, and in the
 * encoder's and the decoder's refusals.
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

#include "wire/wire_frame.h"
#include "wire/wire_read.h"

/* ---- Fixture ------------------------------------------------------------------------- */

#define FX_DIRENTS 64 /* the decoder's room in most tests */

/* A byte string longer than any limit here: 'b' everywhere, filled by main. */
#define FX_BIG_SIZE (WIRE_READ_REPLY_SIZE_MAX + 1)
static uint8_t fx_big[FX_BIG_SIZE];

/* Names: 'n' everywhere (a valid name of any length up to its size). */
static char fx_name[WIRE_NAME_MAX + 2];

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

static void fx_assert_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			fail_msg("byte %zu of a rejected message is not zero", i);
}

/* The fields each type uses, written out again from wire_read.h (not from the codec's table). */
enum fx_field { FX_INO = 1, FX_NAME = 2, FX_OFFSET = 4, FX_COOKIE = 8, FX_SIZE = 16, FX_WHENCE = 32 };

static const uint8_t FX_USES[WIRE_READ_TYPE_MAX + 1] = {
	[WIRE_READ_GETATTR] = FX_INO,
	[WIRE_READ_LOOKUP] = FX_INO | FX_NAME,
	[WIRE_READ_READDIR] = FX_INO | FX_COOKIE | FX_SIZE,
	[WIRE_READ_READ] = FX_INO | FX_OFFSET | FX_SIZE,
	[WIRE_READ_READLINK] = FX_INO,
	[WIRE_READ_GETXATTR] = FX_INO | FX_NAME | FX_SIZE,
	[WIRE_READ_LISTXATTR] = FX_INO | FX_SIZE,
	[WIRE_READ_STATFS] = 0,
	[WIRE_READ_LSEEK] = FX_INO | FX_OFFSET | FX_WHENCE,
};

/* A read of each type as a mount would send it. */
static struct wire_read fx_read(uint8_t type)
{
	struct wire_read rd = { .type = type, .ino = 42 };

	switch (type) {
	case WIRE_READ_LOOKUP:
		rd.name = "file.txt", rd.name_len = 8;
		break;
	case WIRE_READ_READDIR:
		rd.cookie = 17, rd.size = 128;
		break;
	case WIRE_READ_READ:
		rd.offset = 1 << 20, rd.size = 128 * 1024;
		break;
	case WIRE_READ_GETXATTR:
		rd.name = "user.mime_type", rd.name_len = 14, rd.size = 4096;
		break;
	case WIRE_READ_LISTXATTR:
		rd.size = 0;
		break;
	case WIRE_READ_STATFS:
		rd.ino = 0;
		break;
	case WIRE_READ_LSEEK:
		rd.offset = 8192, rd.whence = WIRE_READ_SEEK_HOLE;
		break;
	default:
		break;
	}
	return rd;
}

/* A linearizable read (local 0, min_op 0): fx_request_local gives the read-at-a-backup kind. */
static struct wire_read_request fx_request(uint8_t type)
{
	return (struct wire_read_request){ .client_id = 0x1122334455667788ULL, .request = 99, .read = fx_read(type) };
}

/* A read any replica may answer once its commit-number reaches min_op. */
static struct wire_read_request fx_request_local(uint8_t type, uint64_t min_op)
{
	struct wire_read_request m = fx_request(type);

	m.local = 1, m.min_op = min_op;
	return m;
}

static struct wire_attr fx_attr(uint64_t ino)
{
	return (struct wire_attr){ .ino = ino,
		                   .mode = 0100644,
		                   .nlink = 1,
		                   .uid = 1000,
		                   .gid = 100,
		                   .size = 8205,
		                   .blocks = 24,
		                   .atime = 1700000000123456789LL,
		                   .mtime = -1,
		                   .ctime = 1700000000123456789LL };
}

static struct wire_attr fx_attr_max(void)
{
	return (struct wire_attr){ .ino = UINT64_MAX,
		                   .mode = UINT32_MAX,
		                   .nlink = UINT32_MAX,
		                   .uid = UINT32_MAX,
		                   .gid = UINT32_MAX,
		                   .rdev = UINT64_MAX,
		                   .size = UINT64_MAX,
		                   .blocks = UINT64_MAX,
		                   .atime = INT64_MIN,
		                   .mtime = INT64_MAX,
		                   .ctime = INT64_MIN };
}

/* Entry i of a listing: names of 1 + i % 255 bytes, so 255 bytes is reached. */
static struct wire_dirent fx_dirent(uint32_t i)
{
	return (struct wire_dirent){
		.cookie = 1000 + i, .name = fx_name, .name_len = 1 + i % WIRE_NAME_MAX, .attr = fx_attr(100 + i)
	};
}

/* A successful answer of each type, its entries in dirents[] (at least 3). */
static struct wire_read_reply fx_reply(uint8_t type, struct wire_dirent *dirents)
{
	static const uint8_t target[] = "../some/target";
	static const uint8_t list[] = "user.a\0user.mime_type\0";
	struct wire_read_reply m = { .request = 99, .view = 3, .commit = 0x123456789ULL };
	struct wire_read_result *res = &m.result;

	switch (type) {
	case WIRE_READ_GETATTR:
	case WIRE_READ_LOOKUP:
		res->attr = fx_attr(42);
		break;
	case WIRE_READ_READDIR:
		for (uint32_t i = 0; i < 3; i++)
			dirents[i] = fx_dirent(i);
		res->dirents = dirents, res->dirent_count = 3;
		break;
	case WIRE_READ_READ:
		res->data = fx_big, res->data_len = 4096, res->len = 4096;
		break;
	case WIRE_READ_READLINK:
		res->data = target, res->data_len = sizeof(target) - 1, res->len = sizeof(target) - 1;
		break;
	case WIRE_READ_GETXATTR:
		res->data = (const uint8_t *)"text/plain", res->data_len = 10, res->len = 10;
		break;
	case WIRE_READ_LISTXATTR:
		res->data = list, res->data_len = sizeof(list) - 1, res->len = sizeof(list) - 1;
		break;
	case WIRE_READ_STATFS:
		res->inodes = 12345, res->data_bytes = 1ULL << 33;
		break;
	case WIRE_READ_LSEEK:
		res->value = 65536;
		break;
	default:
		fail_msg("no reply for type %u", type);
	}
	return m;
}

static void fx_assert_read_equal(const struct wire_read *a, const struct wire_read *b)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->ino, b->ino);
	fx_assert_bytes(a->name, a->name_len, b->name, b->name_len);
	assert_int_equal(a->offset, b->offset);
	assert_int_equal(a->cookie, b->cookie);
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->whence, b->whence);
}

static void fx_assert_request_equal(const struct wire_read_request *a, const struct wire_read_request *b)
{
	assert_int_equal(a->client_id, b->client_id);
	assert_int_equal(a->request, b->request);
	assert_int_equal(a->local, b->local);
	assert_int_equal(a->min_op, b->min_op);
	fx_assert_read_equal(&a->read, &b->read);
}

static void fx_assert_attr_equal(const struct wire_attr *a, const struct wire_attr *b)
{
	assert_int_equal(a->ino, b->ino);
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->nlink, b->nlink);
	assert_int_equal(a->uid, b->uid);
	assert_int_equal(a->gid, b->gid);
	assert_int_equal(a->rdev, b->rdev);
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->blocks, b->blocks);
	assert_int_equal(a->atime, b->atime);
	assert_int_equal(a->mtime, b->mtime);
	assert_int_equal(a->ctime, b->ctime);
}

static void fx_assert_reply_equal(const struct wire_read_reply *a, const struct wire_read_reply *b)
{
	const struct wire_read_result *x = &a->result, *y = &b->result;

	assert_int_equal(a->request, b->request);
	assert_int_equal(a->view, b->view);
	assert_int_equal(a->commit, b->commit);
	assert_int_equal(x->err, y->err);
	fx_assert_attr_equal(&x->attr, &y->attr);
	fx_assert_bytes(x->data, x->data_len, y->data, y->data_len);
	assert_int_equal(x->len, y->len);
	assert_int_equal(x->value, y->value);
	assert_int_equal(x->inodes, y->inodes);
	assert_int_equal(x->data_bytes, y->data_bytes);
	assert_int_equal(x->eof, y->eof);
	assert_int_equal(x->dirent_count, y->dirent_count);
	for (uint32_t i = 0; i < x->dirent_count; i++) {
		assert_int_equal(x->dirents[i].cookie, y->dirents[i].cookie);
		fx_assert_bytes(x->dirents[i].name, x->dirents[i].name_len, y->dirents[i].name, y->dirents[i].name_len);
		fx_assert_attr_equal(&x->dirents[i].attr, &y->dirents[i].attr);
	}
}

/* decode(encode(in)) == in, the name points into the buffer, and re-encoding gives the same bytes. */
static void fx_request_roundtrip(const struct wire_read_request *in)
{
	struct wire_buf b, again;
	struct wire_read_request out;
	const char *why = "unset";
	uint8_t *buf;

	wire_buf_init(&b);
	wire_buf_init(&again);
	assert_int_equal(wire_read_request_encode(in, &b), 0);
	assert_true(b.len <= WIRE_READ_REQUEST_SIZE_MAX);
	buf = fx_copy(b.data, b.len);
	assert_int_equal(wire_read_request_decode(buf, b.len, &out, &why), 0);
	assert_null(why);
	fx_assert_request_equal(in, &out);
	if (out.read.name_len)
		fx_assert_inside(out.read.name, out.read.name_len, buf, b.len);
	else
		assert_null(out.read.name);
	assert_int_equal(wire_read_request_encode(&out, &again), 0);
	assert_int_equal(again.len, b.len);
	assert_memory_equal(again.data, buf, b.len);
	free(buf);
	wire_buf_free(&again);
	wire_buf_free(&b);
}

/*
 * As fx_request_roundtrip, for an answer to a read of type: data and names point into
 * the buffer (data never NULL on success), entries into room. Returns the encoded size.
 */
static size_t fx_reply_roundtrip(uint8_t type, const struct wire_read_reply *in, struct wire_dirent *room,
                                 uint32_t room_max)
{
	struct wire_buf b, again;
	struct wire_read_reply out;
	const char *why = "unset";
	uint8_t *buf;
	size_t len;

	wire_buf_init(&b);
	wire_buf_init(&again);
	assert_int_equal(wire_read_reply_encode(type, in, &b), 0);
	assert_true(b.len <= WIRE_READ_REPLY_SIZE_MAX);
	len = b.len;
	buf = fx_copy(b.data, len);
	assert_int_equal(wire_read_reply_decode(type, buf, len, &out, room, room_max, &why), 0);
	assert_null(why);
	fx_assert_reply_equal(in, &out);
	if (out.result.err == 0 && (type == WIRE_READ_READ || type == WIRE_READ_READLINK ||
	                            type == WIRE_READ_GETXATTR || type == WIRE_READ_LISTXATTR))
		fx_assert_inside(out.result.data, out.result.data_len, buf, len);
	else
		assert_null(out.result.data);
	if (out.result.dirent_count)
		assert_ptr_equal(out.result.dirents, room);
	else
		assert_null(out.result.dirents);
	for (uint32_t i = 0; i < out.result.dirent_count; i++)
		fx_assert_inside(room[i].name, room[i].name_len, buf, len);
	assert_int_equal(wire_read_reply_encode(type, &out, &again), 0);
	assert_int_equal(again.len, len);
	assert_memory_equal(again.data, buf, len);
	free(buf);
	wire_buf_free(&again);
	wire_buf_free(&b);
	return len;
}

/* ---- Hand-built msgpack for the malformed corpus ------------------------------------ */

enum fx_kind { FX_END = 0, FX_ARRAY, FX_ARRAY32, FX_UINT, FX_INT, FX_BIN, FX_BIN32, FX_STR, FX_NIL, FX_RAW };

struct fx_item {
	enum fx_kind kind;
	uint64_t u;
	int64_t i;
	const void *p;
	size_t len;
};

#define FX_ITEM(kind, u, i, p, len)                                                                                    \
	{                                                                                                              \
		kind, u, i, p, len                                                                                     \
	}
#define FX_A(n)      FX_ITEM(FX_ARRAY, (n), 0, NULL, 0)
#define FX_A32(n)    FX_ITEM(FX_ARRAY32, (n), 0, NULL, 0) /* an array32 header claiming n elements */
#define FX_U(x)      FX_ITEM(FX_UINT, (x), 0, NULL, 0)
#define FX_I(x)      FX_ITEM(FX_INT, 0, (x), NULL, 0)
#define FX_B(s)      FX_ITEM(FX_BIN, 0, 0, (s), sizeof(s) - 1)
#define FX_BN(p, n)  FX_ITEM(FX_BIN, 0, 0, (p), (n))
#define FX_B32(s)    FX_ITEM(FX_BIN32, 0, 0, (s), sizeof(s) - 1) /* a bin32 header, whatever the length */
#define FX_S(s)      FX_ITEM(FX_STR, 0, 0, (s), sizeof(s) - 1)
#define FX_NIL_      FX_ITEM(FX_NIL, 0, 0, NULL, 0)
#define FX_RAW_(s)   FX_ITEM(FX_RAW, 0, 0, (s), sizeof(s) - 1)
#define FX_ITEMS_MAX 48

/* A request's head (client_id 7, request 1) with the items lo (local) and mo (min_op). */
#define FX_REQ_HEAD(lo, mo) FX_A(5), FX_U(7), FX_U(1), lo, mo
/* A request's head (local 0, min_op 0) and a read of type t with ino i, then name, offset,
 * cookie, size, whence. */
#define FX_REQ(t, i) FX_REQ_HEAD(FX_U(0), FX_U(0)), FX_A(7), FX_U(t), FX_U(i)
/* A valid GETATTR read of ino 1: 8 items. */
#define FX_READ_GETATTR FX_A(7), FX_U(WIRE_READ_GETATTR), FX_U(1), FX_B(""), FX_U(0), FX_U(0), FX_U(0), FX_U(0)
/* A reply's head (request 1, view 2, commit 3) with err e. */
#define FX_HEAD(e) FX_A(5), FX_U(1), FX_U(2), FX_U(3), e
/* A reply's head without an error. */
#define FX_OK FX_HEAD(FX_U(0))
/* A valid attr: 12 items. */
#define FX_ATTR                                                                                                        \
	FX_A(11), FX_U(5), FX_U(0100644), FX_U(1), FX_U(0), FX_U(0), FX_U(0), FX_U(3), FX_U(8), FX_I(-1), FX_I(1),     \
	        FX_I(2)

static int fx_raw_write(void *data, const char *p, size_t n)
{
	return msgpack_sbuffer_write(data, p, n);
}

/* Packs items into sb (initialised by the caller). */
static void fx_pack(msgpack_sbuffer *sb, const struct fx_item *items, size_t count)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	for (size_t i = 0; i < count && items[i].kind != FX_END; i++) {
		const struct fx_item *it = &items[i];
		uint8_t a32[5] = { 0xdd, (uint8_t)(it->u >> 24), (uint8_t)(it->u >> 16), (uint8_t)(it->u >> 8),
			           (uint8_t)it->u };
		uint8_t b32[5] = { 0xc6, (uint8_t)(it->len >> 24), (uint8_t)(it->len >> 16), (uint8_t)(it->len >> 8),
			           (uint8_t)it->len };

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
		case FX_BIN32:
			assert_int_equal(fx_raw_write(sb, (const char *)b32, sizeof(b32)), 0);
			assert_int_equal(fx_raw_write(sb, it->p, it->len), 0);
			break;
		case FX_STR:
			assert_int_equal(msgpack_pack_str_with_body(&pk, it->p, it->len), 0);
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

/* Decodes the packed items as a request and checks the reject reason and the zeroed output. */
static void fx_expect_request(const char *what, const struct fx_item *items, size_t count, const char *why_expected)
{
	struct wire_read_request m;
	msgpack_sbuffer sb;
	const char *why = NULL;
	uint8_t *buf;
	int rc;

	msgpack_sbuffer_init(&sb);
	fx_pack(&sb, items, count);
	buf = fx_copy(sb.data, sb.size);
	memset(&m, 0xa5, sizeof(m));
	rc = wire_read_request_decode(buf, sb.size, &m, &why);
	if (rc != -EBADMSG || !why || strcmp(why, why_expected) != 0)
		fail_msg("read_request \"%s\": rc %d, why \"%s\", want \"%s\"", what, rc, why ? why : "(null)",
		         why_expected);
	fx_assert_zero(&m, sizeof(m));
	free(buf);
	msgpack_sbuffer_destroy(&sb);
}

static void fx_expect_reply(const char *what, uint8_t type, const struct fx_item *items, size_t count,
                            uint32_t dirents_max, const char *why_expected)
{
	static struct wire_dirent room[FX_DIRENTS];
	struct wire_read_reply m;
	msgpack_sbuffer sb;
	const char *why = NULL;
	uint8_t *buf;
	int rc;

	assert_true(dirents_max <= FX_DIRENTS);
	msgpack_sbuffer_init(&sb);
	fx_pack(&sb, items, count);
	buf = fx_copy(sb.data, sb.size);
	memset(&m, 0xa5, sizeof(m));
	rc = wire_read_reply_decode(type, buf, sb.size, &m, room, dirents_max, &why);
	if (rc != -EBADMSG || !why || strcmp(why, why_expected) != 0)
		fail_msg("read_reply \"%s\": rc %d, why \"%s\", want \"%s\"", what, rc, why ? why : "(null)",
		         why_expected);
	fx_assert_zero(&m, sizeof(m));
	free(buf);
	msgpack_sbuffer_destroy(&sb);
}

/* ---- Requests: round trips ------------------------------------------------------------- */

/* Every type, linearizable (local 0) and local with min_op 0, 1, a multi-byte value and UINT64_MAX. */
static void test_request_roundtrip_every_type(void **state)
{
	static const uint64_t min_ops[] = { 0, 1, 0x7f, 0x80, 0x10000, 0x123456789abcdefULL, UINT64_MAX };

	(void)state;
	for (uint8_t t = 1; t <= WIRE_READ_TYPE_MAX; t++) {
		struct wire_read_request m = fx_request(t);

		assert_int_equal(m.local, 0);
		assert_int_equal(m.min_op, 0);
		fx_request_roundtrip(&m);
		for (size_t i = 0; i < sizeof(min_ops) / sizeof(min_ops[0]); i++) {
			m = fx_request_local(t, min_ops[i]);
			fx_request_roundtrip(&m);
		}
	}
}

/* Every limit at both ends: names of 1, 255 and 256 bytes, sizes 0/1 and their maxima, both whences. */
static void test_request_roundtrip_limits(void **state)
{
	static const uint32_t name_lens[] = { 1, WIRE_NAME_MAX, WIRE_NAME_MAX + 1 };
	struct wire_read_request m;
	char binary[WIRE_NAME_MAX];
	uint32_t n = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(name_lens) / sizeof(name_lens[0]); i++) {
		m = fx_request(WIRE_READ_LOOKUP);
		m.read.name = fx_name, m.read.name_len = name_lens[i];
		fx_request_roundtrip(&m);
		m = fx_request(WIRE_READ_GETXATTR);
		m.read.name = fx_name, m.read.name_len = name_lens[i];
		fx_request_roundtrip(&m);
	}
	/* Names are bytes: every value but '/' and NUL in a file name; '/' is fine in an xattr name. */
	for (int c = 1; c < 256; c++)
		if (c != '/')
			binary[n++] = (char)c;
	m = fx_request(WIRE_READ_LOOKUP);
	m.read.name = binary, m.read.name_len = n;
	fx_request_roundtrip(&m);
	m = fx_request(WIRE_READ_GETXATTR);
	m.read.name = "trusted.a/b", m.read.name_len = 11;
	fx_request_roundtrip(&m);

	m = fx_request(WIRE_READ_READDIR);
	m.read.size = 1, m.read.cookie = 0;
	fx_request_roundtrip(&m);
	m.read.size = WIRE_READ_DIRENTS_MAX, m.read.cookie = UINT64_MAX;
	fx_request_roundtrip(&m);
	m = fx_request(WIRE_READ_READ);
	m.read.size = 0, m.read.offset = 0;
	fx_request_roundtrip(&m);
	m.read.size = WIRE_READ_DATA_MAX, m.read.offset = UINT64_MAX;
	fx_request_roundtrip(&m);
	for (uint8_t t = WIRE_READ_GETXATTR; t <= WIRE_READ_LISTXATTR; t++) {
		m = fx_request(t);
		m.read.size = 0;
		fx_request_roundtrip(&m);
		m.read.size = WIRE_READ_DATA_MAX;
		fx_request_roundtrip(&m);
	}
	m = fx_request(WIRE_READ_LSEEK);
	m.read.whence = WIRE_READ_SEEK_DATA;
	fx_request_roundtrip(&m);
	m.read.whence = WIRE_READ_SEEK_HOLE, m.read.offset = UINT64_MAX, m.read.ino = UINT64_MAX;
	m.client_id = UINT64_MAX, m.request = UINT64_MAX, m.local = 1, m.min_op = UINT64_MAX;
	fx_request_roundtrip(&m);
	m = fx_request(WIRE_READ_STATFS);
	m.request = 0; /* every field zero but client_id */
	fx_request_roundtrip(&m);
	m.local = 1; /* local with min_op 0: any replica that is not recovering */
	fx_request_roundtrip(&m);
	/* The largest request: every integer at its widest, a 256-byte xattr name. */
	m = fx_request_local(WIRE_READ_GETXATTR, UINT64_MAX);
	m.client_id = UINT64_MAX, m.request = UINT64_MAX, m.read.ino = UINT64_MAX;
	m.read.name = fx_name, m.read.name_len = WIRE_XATTR_NAME_MAX + 1, m.read.size = WIRE_READ_DATA_MAX;
	fx_request_roundtrip(&m);
}

/* The format is a contract between mounts and replicas: pin the bytes of a LOOKUP, a local
 * GETATTR and a local STATFS. */
static void test_request_golden_bytes(void **state)
{
	static const uint8_t want_lookup[] = {
		0x95, 0x07, 0x2a,       /* 5 fields: client_id 7, request 42 */
		0x00, 0x00,             /* local 0, min_op 0 */
		0x97, 0x02, 0x01,       /* the read: 7 fields, LOOKUP, ino 1 */
		0xc4, 0x01, 'a',        /* name "a" */
		0x00, 0x00, 0x00, 0x00, /* offset, cookie, size, whence */
	};
	static const uint8_t want_getattr[] = {
		0x95, 0x07, 0x2b,                         /* client_id 7, request 43 */
		0x01, 0xce, 0x00, 0x01, 0x23, 0x45,       /* local 1, min_op 0x12345 as uint32 */
		0x97, 0x01, 0x05, 0xc4, 0x00, 0x00, 0x00, /* GETATTR of ino 5 */
		0x00, 0x00,
	};
	static const uint8_t want_statfs[] = {
		0x95, 0xcd, 0x01, 0x00, 0x00,                   /* client_id 256, request 0 */
		0x01, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* local 1, min_op UINT64_MAX */
		0xff, 0xff, 0x97, 0x08, 0x00, 0xc4, 0x00,       /* STATFS */
		0x00, 0x00, 0x00, 0x00,
	};
	struct wire_read_request lookup = { .client_id = 7,
		                            .request = 42,
		                            .read = {
		                                    .type = WIRE_READ_LOOKUP, .ino = 1, .name = "a", .name_len = 1 } };
	struct wire_read_request getattr = { .client_id = 7,
		                             .request = 43,
		                             .local = 1,
		                             .min_op = 0x12345,
		                             .read = { .type = WIRE_READ_GETATTR, .ino = 5 } };
	struct wire_read_request statfs = {
		.client_id = 256, .local = 1, .min_op = UINT64_MAX, .read = { .type = WIRE_READ_STATFS }
	};
	struct wire_buf b;

	(void)state;
	wire_buf_init(&b);
	assert_int_equal(wire_read_request_encode(&lookup, &b), 0);
	assert_int_equal(b.len, sizeof(want_lookup));
	assert_memory_equal(b.data, want_lookup, sizeof(want_lookup));
	b.len = 0;
	assert_int_equal(wire_read_request_encode(&getattr, &b), 0);
	assert_int_equal(b.len, sizeof(want_getattr));
	assert_memory_equal(b.data, want_getattr, sizeof(want_getattr));
	b.len = 0;
	assert_int_equal(wire_read_request_encode(&statfs, &b), 0);
	assert_int_equal(b.len, sizeof(want_statfs));
	assert_memory_equal(b.data, want_statfs, sizeof(want_statfs));
	wire_buf_free(&b);
}

/* The decoder accepts any integer width, array16 / array32 headers and bin16 / bin32, and
 * the re-encoding is the shortest. */
static void test_request_decode_accepts_other_widths(void **state)
{
	static const uint8_t body[] = {
		0xdc, 0x00, 0x05,                         /* array16 of 5 */
		0xcf, 0,    0,    0, 0, 0,   0,   0,   7, /* client_id as uint64 */
		0xd0, 0x05,                               /* request as int8 */
		0xcd, 0x00, 0x01,                         /* local 1 as uint16 */
		0xd2, 0x00, 0x01, 0, 0,                   /* min_op 65536 as int32 */
		0xdd, 0,    0,    0, 7,                   /* the read as array32 */
		0xd3, 0,    0,    0, 0, 0,   0,   0,   6, /* GETXATTR as int64 */
		0xcd, 0x00, 0x09,                         /* ino as uint16 */
		0xc6, 0,    0,    0, 3, 'u', '.', 'x',    /* name as bin32 */
		0xcc, 0x00,                               /* offset as uint8 */
		0xd1, 0x00, 0x00,                         /* cookie as int16 */
		0xce, 0,    0,    1, 0,                   /* size 256 as uint32 */
		0xd2, 0,    0,    0, 0,                   /* whence as int32 */
	};
	uint8_t *buf = fx_copy(body, sizeof(body));
	struct wire_read_request m;
	struct wire_buf b;
	const char *why;

	(void)state;
	assert_int_equal(wire_read_request_decode(buf, sizeof(body), &m, &why), 0);
	assert_int_equal(m.client_id, 7);
	assert_int_equal(m.request, 5);
	assert_int_equal(m.local, 1);
	assert_int_equal(m.min_op, 65536);
	assert_int_equal(m.read.type, WIRE_READ_GETXATTR);
	assert_int_equal(m.read.ino, 9);
	fx_assert_bytes(m.read.name, m.read.name_len, "u.x", 3);
	fx_assert_inside(m.read.name, 3, buf, sizeof(body));
	assert_int_equal(m.read.size, 256);
	wire_buf_init(&b);
	assert_int_equal(wire_read_request_encode(&m, &b), 0);
	assert_true(b.len < sizeof(body));
	wire_buf_free(&b);
	free(buf);
}

/* ---- Requests: refusals ------------------------------------------------------------------ */

/* Each invalid request is refused with -EINVAL, and the buffer keeps what it held. */
static void test_request_encode_rejects_invalid(void **state)
{
	struct wire_read_request m;
	struct wire_buf b;
	enum { CASES = 28 };
	int n = 0;

	(void)state;
	wire_buf_init(&b);
	m = fx_request(WIRE_READ_GETATTR);
	assert_int_equal(wire_read_request_encode(&m, &b), 0); /* something to keep */
	for (int i = 0; i < CASES; i++) {
		size_t before = b.len;

		m = fx_request(WIRE_READ_LOOKUP);
		switch (i) {
		case 0:
			m.client_id = 0;
			break;
		case 1:
			m.read.type = 0;
			break;
		case 2:
			m.read.type = WIRE_READ_TYPE_MAX + 1;
			break;
		case 3:
			m.read.ino = 0;
			break;
		case 4:
			m.read.name_len = 0;
			break;
		case 5:
			m.read.name = fx_name, m.read.name_len = WIRE_NAME_MAX + 2;
			break;
		case 6:
			m.read.name = "a/b", m.read.name_len = 3;
			break;
		case 7:
			m.read.name = "a\0b", m.read.name_len = 3;
			break;
		case 8:
			m.read.name = NULL;
			break;
		case 9:
			m.read.size = 1;
			break;
		case 10:
			m = fx_request(WIRE_READ_GETXATTR), m.read.name = fx_name, m.read.name_len = 257;
			break;
		case 11:
			m = fx_request(WIRE_READ_GETXATTR), m.read.name = "u\0", m.read.name_len = 2;
			break;
		case 12:
			m = fx_request(WIRE_READ_GETXATTR), m.read.size = WIRE_READ_DATA_MAX + 1;
			break;
		case 13:
			m = fx_request(WIRE_READ_READDIR), m.read.size = 0;
			break;
		case 14:
			m = fx_request(WIRE_READ_READDIR), m.read.size = WIRE_READ_DIRENTS_MAX + 1;
			break;
		case 15:
			m = fx_request(WIRE_READ_READ), m.read.size = WIRE_READ_DATA_MAX + 1;
			break;
		case 16:
			m = fx_request(WIRE_READ_LISTXATTR), m.read.size = UINT32_MAX;
			break;
		case 17:
			m = fx_request(WIRE_READ_LSEEK), m.read.whence = 0;
			break;
		case 18:
			m = fx_request(WIRE_READ_LSEEK), m.read.whence = 2;
			break;
		case 19:
			m = fx_request(WIRE_READ_STATFS), m.read.ino = 1;
			break;
		case 20:
			m = fx_request(WIRE_READ_GETATTR), m.read.name = "x", m.read.name_len = 1;
			break;
		case 21:
			m = fx_request(WIRE_READ_READLINK), m.read.cookie = 1;
			break;
		case 22:
			m.local = 2;
			break;
		case 23:
			m.local = UINT8_MAX, m.min_op = 1;
			break;
		case 24:
			m.min_op = 1; /* local 0 */
			break;
		case 25:
			m = fx_request(WIRE_READ_STATFS), m.min_op = UINT64_MAX;
			break;
		case 26:
			m = fx_request_local(WIRE_READ_GETATTR, 5), m.local = 2;
			break;
		case 27:
			m = fx_request_local(WIRE_READ_GETATTR, 5),
			m.client_id = 0; /* local does not excuse the rest */
			break;
		}
		if (wire_read_request_encode(&m, &b) != -EINVAL)
			fail_msg("invalid request %d was encoded", i);
		assert_int_equal(b.len, before);
		n++;
	}
	assert_int_equal(n, CASES);
	wire_buf_free(&b);
}

/* Every field a type does not use, set in turn: the encoder and the decoder both refuse it. */
static void test_request_rejects_unused_fields(void **state)
{
	static const char *const want[] = {
		"read_request: ino set for a type without one",    "read_request: name set for a type without one",
		"read_request: offset set for a type without one", "read_request: cookie set for a type without one",
		"read_request: size set for a type without one",   "read_request: whence set for a type without one"
	};
	int checked = 0;

	(void)state;
	for (uint8_t t = 1; t <= WIRE_READ_TYPE_MAX; t++) {
		for (int f = 0; f < 6; f++) {
			/* Linearizable and local reads alike. */
			struct wire_read_request m = (t + f) % 2 ? fx_request_local(t, 1000u * t + f) : fx_request(t);
			struct wire_read *rd = &m.read;
			struct wire_buf b;

			if (FX_USES[t] & (1 << f))
				continue;
			switch (1 << f) {
			case FX_INO:
				rd->ino = 1;
				break;
			case FX_NAME:
				rd->name = "x", rd->name_len = 1;
				break;
			case FX_OFFSET:
				rd->offset = 1;
				break;
			case FX_COOKIE:
				rd->cookie = 1;
				break;
			case FX_SIZE:
				rd->size = 1;
				break;
			case FX_WHENCE:
				rd->whence = WIRE_READ_SEEK_DATA;
				break;
			}
			wire_buf_init(&b);
			assert_int_equal(wire_read_request_encode(&m, &b), -EINVAL);
			assert_int_equal(b.len, 0);
			wire_buf_free(&b);

			/* The same read built by hand. */
			fx_expect_request(want[f],
			                  (const struct fx_item[]){ FX_A(5), FX_U(m.client_id), FX_U(m.request),
			                                            FX_U(m.local), FX_U(m.min_op), FX_A(7), FX_U(t),
			                                            FX_U(rd->ino), FX_BN(rd->name, rd->name_len),
			                                            FX_U(rd->offset), FX_U(rd->cookie), FX_U(rd->size),
			                                            FX_U(rd->whence) },
			                  13, want[f]);
			checked++;
		}
	}
	assert_int_equal(checked, 6 * WIRE_READ_TYPE_MAX - 18); /* 18 fields are used across the types */
}

struct fx_request_case {
	const char *what;
	const char *why;
	struct fx_item items[FX_ITEMS_MAX];
};

#define FX_REQ_LOOKUP(name) FX_REQ(WIRE_READ_LOOKUP, 1), name, FX_U(0), FX_U(0), FX_U(0), FX_U(0)
#define FX_REQ_XATTR(name)  FX_REQ(WIRE_READ_GETXATTR, 1), name, FX_U(0), FX_U(0), FX_U(0), FX_U(0)

static const struct fx_request_case FX_REQUEST_CORPUS[] = {
	{ "not an array", "read_request: not a msgpack array", { FX_U(3) } },
	{ "a map", "read_request: not a msgpack array", { FX_RAW_("\x80") } },
	{ "two fields", "read_request: wrong field count", { FX_A(2), FX_U(7), FX_U(1) } },
	{ "three fields (the old layout, without local and min_op)",
	  "read_request: wrong field count",
	  { FX_A(3), FX_U(7), FX_U(1), FX_READ_GETATTR } },
	{ "four fields (min_op missing)",
	  "read_request: wrong field count",
	  { FX_A(4), FX_U(7), FX_U(1), FX_U(0), FX_READ_GETATTR } },
	{ "six fields",
	  "read_request: wrong field count",
	  { FX_A(6), FX_U(7), FX_U(1), FX_U(0), FX_U(0), FX_READ_GETATTR, FX_U(0) } },
	{ "array32 claiming 2^32-1 fields", "read_request: wrong field count", { FX_A32(0xffffffff) } },
	{ "read of 6 fields",
	  "read_request: read: wrong field count",
	  { FX_REQ_HEAD(FX_U(0), FX_U(0)), FX_A(6), FX_U(1), FX_U(1), FX_B(""), FX_U(0), FX_U(0), FX_U(0) } },
	{ "read of 8 fields",
	  "read_request: read: wrong field count",
	  { FX_REQ_HEAD(FX_U(0), FX_U(0)), FX_A(8), FX_U(1), FX_U(1), FX_B(""), FX_U(0), FX_U(0), FX_U(0), FX_U(0),
	    FX_U(0) } },
	{ "read not an array", "read_request: not a msgpack array", { FX_REQ_HEAD(FX_U(0), FX_U(0)), FX_U(1) } },
	{ "read where local belongs (the old layout's read, one field early)",
	  "read_request: field is not an integer",
	  { FX_A(5), FX_U(7), FX_U(1), FX_READ_GETATTR, FX_U(0), FX_U(0) } },
	{ "client_id 0",
	  "read_request: client_id is 0",
	  { FX_A(5), FX_U(0), FX_U(1), FX_U(0), FX_U(0), FX_READ_GETATTR } },
	{ "client_id 0 of a local read",
	  "read_request: client_id is 0",
	  { FX_A(5), FX_U(0), FX_U(1), FX_U(1), FX_U(9), FX_READ_GETATTR } },
	{ "client_id -1",
	  "read_request: integer out of range",
	  { FX_A(5), FX_I(-1), FX_U(1), FX_U(0), FX_U(0), FX_READ_GETATTR } },
	{ "request as str",
	  "read_request: field is not an integer",
	  { FX_A(5), FX_U(7), FX_S("1"), FX_U(0), FX_U(0), FX_READ_GETATTR } },
	{ "local 2", "read_request: local is not 0 or 1", { FX_REQ_HEAD(FX_U(2), FX_U(0)), FX_READ_GETATTR } },
	{ "local 2 with min_op",
	  "read_request: local is not 0 or 1",
	  { FX_REQ_HEAD(FX_U(2), FX_U(5)), FX_READ_GETATTR } },
	{ "local 255", "read_request: local is not 0 or 1", { FX_REQ_HEAD(FX_U(255), FX_U(0)), FX_READ_GETATTR } },
	{ "local 257 (1 + 256)",
	  "read_request: integer out of range",
	  { FX_REQ_HEAD(FX_U(257), FX_U(0)), FX_READ_GETATTR } },
	{ "local -1", "read_request: integer out of range", { FX_REQ_HEAD(FX_I(-1), FX_U(0)), FX_READ_GETATTR } },
	{ "local as true",
	  "read_request: field is not an integer",
	  { FX_REQ_HEAD(FX_RAW_("\xc3"), FX_U(0)), FX_READ_GETATTR } },
	{ "local as false",
	  "read_request: field is not an integer",
	  { FX_REQ_HEAD(FX_RAW_("\xc2"), FX_U(0)), FX_READ_GETATTR } },
	{ "local as nil", "read_request: field is not an integer", { FX_REQ_HEAD(FX_NIL_, FX_U(0)), FX_READ_GETATTR } },
	{ "local as str",
	  "read_request: field is not an integer",
	  { FX_REQ_HEAD(FX_S("1"), FX_U(0)), FX_READ_GETATTR } },
	{ "local as bin",
	  "read_request: field is not an integer",
	  { FX_REQ_HEAD(FX_B("\x01"), FX_U(0)), FX_READ_GETATTR } },
	{ "local as float 1.0",
	  "read_request: field is not an integer",
	  { FX_REQ_HEAD(FX_RAW_("\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00"), FX_U(0)), FX_READ_GETATTR } },
	{ "min_op 1 without local",
	  "read_request: min_op without local",
	  { FX_REQ_HEAD(FX_U(0), FX_U(1)), FX_READ_GETATTR } },
	{ "min_op 2^64-1 without local",
	  "read_request: min_op without local",
	  { FX_REQ_HEAD(FX_U(0), FX_U(UINT64_MAX)), FX_READ_GETATTR } },
	{ "min_op without local, of a STATFS",
	  "read_request: min_op without local",
	  { FX_REQ_HEAD(FX_U(0), FX_U(300)), FX_A(7), FX_U(WIRE_READ_STATFS), FX_U(0), FX_B(""), FX_U(0), FX_U(0),
	    FX_U(0), FX_U(0) } },
	{ "min_op -1", "read_request: integer out of range", { FX_REQ_HEAD(FX_U(1), FX_I(-1)), FX_READ_GETATTR } },
	{ "min_op as bool",
	  "read_request: field is not an integer",
	  { FX_REQ_HEAD(FX_U(1), FX_RAW_("\xc3")), FX_READ_GETATTR } },
	{ "min_op as nil",
	  "read_request: field is not an integer",
	  { FX_REQ_HEAD(FX_U(1), FX_NIL_), FX_READ_GETATTR } },
	{ "local read of an unknown type",
	  "read_request: unknown type",
	  { FX_REQ_HEAD(FX_U(1), FX_U(9)), FX_A(7), FX_U(0), FX_U(1), FX_B(""), FX_U(0), FX_U(0), FX_U(0), FX_U(0) } },
	{ "local read of ino 0",
	  "read_request: ino is 0",
	  { FX_REQ_HEAD(FX_U(1), FX_U(9)), FX_A(7), FX_U(WIRE_READ_GETATTR), FX_U(0), FX_B(""), FX_U(0), FX_U(0),
	    FX_U(0), FX_U(0) } },
	{ "type 0", "read_request: unknown type", { FX_REQ(0, 1), FX_B(""), FX_U(0), FX_U(0), FX_U(0), FX_U(0) } },
	{ "type 10", "read_request: unknown type", { FX_REQ(10, 1), FX_B(""), FX_U(0), FX_U(0), FX_U(0), FX_U(0) } },
	{ "type 257", "read_request: unknown type", { FX_REQ(257, 1), FX_B(""), FX_U(0), FX_U(0), FX_U(0), FX_U(0) } },
	{ "type -1",
	  "read_request: integer out of range",
	  { FX_REQ_HEAD(FX_U(0), FX_U(0)), FX_A(7), FX_I(-1), FX_U(1), FX_B(""), FX_U(0), FX_U(0), FX_U(0), FX_U(0) } },
	{ "GETATTR of ino 0",
	  "read_request: ino is 0",
	  { FX_REQ(WIRE_READ_GETATTR, 0), FX_B(""), FX_U(0), FX_U(0), FX_U(0), FX_U(0) } },
	{ "LSEEK of ino 0",
	  "read_request: ino is 0",
	  { FX_REQ(WIRE_READ_LSEEK, 0), FX_B(""), FX_U(3), FX_U(0), FX_U(0), FX_U(3) } },
	{ "name as str", "read_request: field is not bin", { FX_REQ_LOOKUP(FX_S("file")) } },
	{ "name as nil", "read_request: field is not bin", { FX_REQ_LOOKUP(FX_NIL_) } },
	{ "LOOKUP name empty", "read_request: name empty", { FX_REQ_LOOKUP(FX_B("")) } },
	{ "LOOKUP name of 257 bytes", "read_request: name too long", { FX_REQ_LOOKUP(FX_BN(fx_name, 257)) } },
	{ "LOOKUP name with '/'", "read_request: name contains '/' or NUL", { FX_REQ_LOOKUP(FX_B("a/b")) } },
	{ "LOOKUP name of '/' only", "read_request: name contains '/' or NUL", { FX_REQ_LOOKUP(FX_B("/")) } },
	{ "LOOKUP name with NUL", "read_request: name contains '/' or NUL", { FX_REQ_LOOKUP(FX_B("ab\0")) } },
	{ "GETXATTR name empty", "read_request: xattr name empty", { FX_REQ_XATTR(FX_B("")) } },
	{ "GETXATTR name of 257 bytes", "read_request: xattr name too long", { FX_REQ_XATTR(FX_BN(fx_name, 257)) } },
	{ "GETXATTR name with NUL", "read_request: xattr name contains NUL", { FX_REQ_XATTR(FX_B("user.\0x")) } },
	{ "name bin32 claiming 4 GiB", "read_request: truncated", { FX_REQ_LOOKUP(FX_RAW_("\xc6\xff\xff\xff\xff")) } },
	{ "READDIR size 0",
	  "read_request: readdir size not 1..WIRE_READ_DIRENTS_MAX",
	  { FX_REQ(WIRE_READ_READDIR, 1), FX_B(""), FX_U(0), FX_U(0), FX_U(0), FX_U(0) } },
	{ "READDIR size 1025",
	  "read_request: readdir size not 1..WIRE_READ_DIRENTS_MAX",
	  { FX_REQ(WIRE_READ_READDIR, 1), FX_B(""), FX_U(0), FX_U(0), FX_U(WIRE_READ_DIRENTS_MAX + 1), FX_U(0) } },
	{ "READ size DATA_MAX + 1",
	  "read_request: size above WIRE_READ_DATA_MAX",
	  { FX_REQ(WIRE_READ_READ, 1), FX_B(""), FX_U(0), FX_U(0), FX_U(WIRE_READ_DATA_MAX + 1), FX_U(0) } },
	{ "GETXATTR size DATA_MAX + 1",
	  "read_request: size above WIRE_READ_DATA_MAX",
	  { FX_REQ(WIRE_READ_GETXATTR, 1), FX_B("u.x"), FX_U(0), FX_U(0), FX_U(WIRE_READ_DATA_MAX + 1), FX_U(0) } },
	{ "LISTXATTR size DATA_MAX + 1",
	  "read_request: size above WIRE_READ_DATA_MAX",
	  { FX_REQ(WIRE_READ_LISTXATTR, 1), FX_B(""), FX_U(0), FX_U(0), FX_U(WIRE_READ_DATA_MAX + 1), FX_U(0) } },
	{ "size 2^32",
	  "read_request: integer out of range",
	  { FX_REQ(WIRE_READ_READ, 1), FX_B(""), FX_U(0), FX_U(0), FX_U(1ULL << 32), FX_U(0) } },
	{ "LSEEK whence 0",
	  "read_request: whence is not SEEK_DATA or SEEK_HOLE",
	  { FX_REQ(WIRE_READ_LSEEK, 1), FX_B(""), FX_U(0), FX_U(0), FX_U(0), FX_U(0) } },
	{ "LSEEK whence 2 (SEEK_END)",
	  "read_request: whence is not SEEK_DATA or SEEK_HOLE",
	  { FX_REQ(WIRE_READ_LSEEK, 1), FX_B(""), FX_U(0), FX_U(0), FX_U(0), FX_U(2) } },
	{ "LSEEK whence 5",
	  "read_request: whence is not SEEK_DATA or SEEK_HOLE",
	  { FX_REQ(WIRE_READ_LSEEK, 1), FX_B(""), FX_U(0), FX_U(0), FX_U(0), FX_U(5) } },
	{ "LSEEK whence 259 (3 + 256)",
	  "read_request: integer out of range",
	  { FX_REQ(WIRE_READ_LSEEK, 1), FX_B(""), FX_U(0), FX_U(0), FX_U(0), FX_U(259) } },
	{ "whence as bool",
	  "read_request: field is not an integer",
	  { FX_REQ(WIRE_READ_LSEEK, 1), FX_B(""), FX_U(0), FX_U(0), FX_U(0), FX_RAW_("\xc3") } },
	{ "cut short", "read_request: truncated", { FX_REQ(WIRE_READ_GETATTR, 1), FX_B(""), FX_U(0), FX_U(0) } },
	{ "trailing byte",
	  "read_request: trailing bytes",
	  { FX_REQ(WIRE_READ_GETATTR, 1), FX_B(""), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_RAW_("\x00") } },
	{ "trailing request",
	  "read_request: trailing bytes",
	  { FX_REQ(WIRE_READ_GETATTR, 1), FX_B(""), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_REQ(WIRE_READ_GETATTR, 1),
	    FX_B(""), FX_U(0), FX_U(0), FX_U(0), FX_U(0) } },
	{ "too large", "read_request: message too large", { FX_A(5), FX_BN(fx_big, WIRE_READ_REQUEST_SIZE_MAX) } },
};

static void test_request_decode_rejects_corpus(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(FX_REQUEST_CORPUS) / sizeof(FX_REQUEST_CORPUS[0]); i++) {
		const struct fx_request_case *c = &FX_REQUEST_CORPUS[i];

		fx_expect_request(c->what, c->items, FX_ITEMS_MAX, c->why);
	}
}

/* ---- Replies: round trips ---------------------------------------------------------------- */

static void test_reply_roundtrip_every_type(void **state)
{
	struct wire_dirent dirents[FX_DIRENTS], room[FX_DIRENTS];

	(void)state;
	for (uint8_t t = 1; t <= WIRE_READ_TYPE_MAX; t++) {
		struct wire_read_reply m = fx_reply(t, dirents);

		assert_int_not_equal(m.commit, 0);
		fx_reply_roundtrip(t, &m, room, FX_DIRENTS);
		m.request = UINT64_MAX, m.view = UINT64_MAX, m.commit = UINT64_MAX;
		fx_reply_roundtrip(t, &m, room, FX_DIRENTS);
		m.commit = 0; /* nothing committed yet */
		fx_reply_roundtrip(t, &m, room, FX_DIRENTS);
		m.commit = 1ULL << 32;
		memset(&m.result, 0, sizeof(m.result)); /* all zeros is a valid answer of every type */
		fx_reply_roundtrip(t, &m, NULL, 0);
	}
}

/* An error of every type carries nothing else: the other fields are not sent, and come back zero. */
static void test_reply_roundtrip_errors(void **state)
{
	static const int32_t errs[] = { -1, -ENOENT, -ENAMETOOLONG, -ERANGE, -32, -33, -128, -129, -WIRE_FS_ERRNO_MAX };
	struct wire_dirent dirents[FX_DIRENTS], room[FX_DIRENTS];

	(void)state;
	for (uint8_t t = 1; t <= WIRE_READ_TYPE_MAX; t++) {
		for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
			struct wire_read_reply m = {
				.request = 5, .view = 2, .commit = i % 2 ? UINT64_MAX : 77, .result = { .err = errs[i] }
			};
			struct wire_read_reply full = fx_reply(t, dirents);
			struct wire_read_reply out;
			struct wire_buf b;
			const char *why;

			fx_reply_roundtrip(t, &m, room, FX_DIRENTS);
			/* What an error answer holds besides err is not sent. */
			full.result.err = errs[i];
			full.result.eof = 7;
			full.result.len = 3;
			wire_buf_init(&b);
			assert_int_equal(wire_read_reply_encode(t, &full, &b), 0);
			assert_int_equal(wire_read_reply_decode(t, b.data, b.len, &out, room, FX_DIRENTS, &why), 0);
			fx_assert_reply_equal(&(struct wire_read_reply){ .request = full.request,
			                                                 .view = full.view,
			                                                 .commit = full.commit,
			                                                 .result = m.result },
			                      &out);
			assert_int_equal(out.commit, 0x123456789ULL);
			assert_int_equal(out.result.err, errs[i]);
			assert_null(out.result.data);
			assert_null(out.result.dirents);
			assert_int_equal(out.result.attr.ino, 0);
			wire_buf_free(&b);
		}
	}
}

/* Data of every length class up to the limits, empty data (NULL in, a pointer into the buffer
 * out), and the answer to a size-0 xattr query: no data, the length needed. */
static void test_reply_roundtrip_data_lengths(void **state)
{
	static const uint32_t lens[] = {
		0, 1, 31, 32, 255, 256, 65535, 65536, WIRE_READ_DATA_MAX - 1, WIRE_READ_DATA_MAX
	};
	struct wire_dirent room[1];
	struct wire_read_reply m = { .request = 1, .view = 1, .commit = UINT64_MAX };
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (uint8_t t = WIRE_READ_READ; t <= WIRE_READ_LISTXATTR; t++) {
			if (t == WIRE_READ_READLINK && lens[i] > WIRE_SYMLINK_MAX)
				continue;
			m.result = (struct wire_read_result){ .data = fx_big, .data_len = lens[i], .len = lens[i] };
			len = fx_reply_roundtrip(t, &m, room, 1);
			assert_true(len <= lens[i] + 32);
		}
	}
	m.result = (struct wire_read_result){ .data = fx_big, .data_len = WIRE_SYMLINK_MAX, .len = WIRE_SYMLINK_MAX };
	fx_reply_roundtrip(WIRE_READ_READLINK, &m, room, 1);
	m.result = (struct wire_read_result){ .data = NULL, .data_len = 0, .len = 0 };
	for (uint8_t t = WIRE_READ_READ; t <= WIRE_READ_LISTXATTR; t++)
		fx_reply_roundtrip(t, &m, room, 1);
	for (uint8_t t = WIRE_READ_GETXATTR; t <= WIRE_READ_LISTXATTR; t++) {
		m.result = (struct wire_read_result){ .len = 300 };
		fx_reply_roundtrip(t, &m, room, 1);
		m.result.len = UINT32_MAX;
		fx_reply_roundtrip(t, &m, room, 1);
	}
}

/* A full listing: 1024 entries with names of every length 1..255, the largest attributes; exactly
 * the room is enough. Also an empty listing at the end of a directory. */
static void test_reply_roundtrip_many_dirents(void **state)
{
	struct wire_dirent *dirents = calloc(WIRE_READ_DIRENTS_MAX, sizeof(*dirents));
	struct wire_dirent *room = calloc(WIRE_READ_DIRENTS_MAX, sizeof(*room));
	struct wire_read_reply m = { .request = 1, .view = 1, .commit = 1 };
	size_t len;

	(void)state;
	assert_non_null(dirents);
	assert_non_null(room);
	for (uint32_t i = 0; i < WIRE_READ_DIRENTS_MAX; i++) {
		dirents[i] = fx_dirent(i);
		if (i % 2)
			dirents[i].attr = fx_attr_max(), dirents[i].cookie = UINT64_MAX - i;
	}
	assert_int_equal(dirents[WIRE_NAME_MAX - 1].name_len, WIRE_NAME_MAX);
	m.result = (struct wire_read_result){ .dirents = dirents, .dirent_count = WIRE_READ_DIRENTS_MAX, .eof = 1 };
	len = fx_reply_roundtrip(WIRE_READ_READDIR, &m, room, WIRE_READ_DIRENTS_MAX);
	assert_true(len <= WIRE_READ_REPLY_SIZE_MAX);
	/* A room above the limit is taken as the limit. */
	fx_reply_roundtrip(WIRE_READ_READDIR, &m, room, UINT32_MAX);
	m.result.dirent_count = 1, m.result.eof = 0;
	fx_reply_roundtrip(WIRE_READ_READDIR, &m, room, 1);
	/* Dot entries are names like any other, and an empty listing needs no room at all. */
	dirents[0].name = "..", dirents[0].name_len = 2;
	fx_reply_roundtrip(WIRE_READ_READDIR, &m, room, 1);
	m.result = (struct wire_read_result){ .dirents = dirents, .dirent_count = 0, .eof = 1 };
	fx_reply_roundtrip(WIRE_READ_READDIR, &m, NULL, 0);
	free(dirents);
	free(room);
}

static void test_reply_roundtrip_extremes(void **state)
{
	struct wire_read_reply m = { .request = UINT64_MAX, .view = UINT64_MAX, .commit = UINT64_MAX };
	struct wire_dirent room[1];

	(void)state;
	m.result.attr = fx_attr_max();
	fx_reply_roundtrip(WIRE_READ_GETATTR, &m, room, 1);
	fx_reply_roundtrip(WIRE_READ_LOOKUP, &m, room, 1);
	m.result = (struct wire_read_result){ .inodes = UINT64_MAX, .data_bytes = UINT64_MAX };
	fx_reply_roundtrip(WIRE_READ_STATFS, &m, room, 1);
	m.result = (struct wire_read_result){ .value = UINT64_MAX };
	fx_reply_roundtrip(WIRE_READ_LSEEK, &m, room, 1);
	m.result.attr = fx_attr(1); /* not carried by LSEEK: not sent, and the round trip drops it */
	{
		struct wire_buf b;
		struct wire_read_reply out;
		const char *why;

		wire_buf_init(&b);
		assert_int_equal(wire_read_reply_encode(WIRE_READ_LSEEK, &m, &b), 0);
		assert_int_equal(wire_read_reply_decode(WIRE_READ_LSEEK, b.data, b.len, &out, room, 1, &why), 0);
		assert_int_equal(out.result.value, UINT64_MAX);
		assert_int_equal(out.commit, UINT64_MAX);
		assert_int_equal(out.result.attr.ino, 0);
		wire_buf_free(&b);
	}
}

/* Pin the bytes of a GETATTR answer, an error, a READ and a READDIR. */
static void test_reply_golden_bytes(void **state)
{
	static const uint8_t want_getattr[] = {
		0x95, 0x2a, 0x03, 0xcc, 0xc8, 0x00, /* 5 fields: request 42, view 3, commit 200, err 0 */
		0x9b, 0x05, 0xcd, 0x81, 0xa4, 0x01, /* attr: 11 fields, ino 5, mode 0100644, nlink 1 */
		0xcd, 0x03, 0xe8, 0x64, 0x00,       /* uid 1000, gid 100, rdev 0 */
		0x0d, 0x08, 0xff, 0x01,             /* size 13, blocks 8, atime -1, mtime 1 */
		0xce, 0x65, 0x53, 0xf1, 0x00,       /* ctime 1700000000 */
	};
	static const uint8_t want_error[] = { 0x95, 0x2a, 0x03, 0x00, 0xfe, 0xc0 }; /* commit 0, err -2, nil */
	static const uint8_t want_error_max[] = {
		0x95, 0x2a, 0x03, 0xcf, 0xff, 0xff, 0xff, 0xff, /* commit UINT64_MAX */
		0xff, 0xff, 0xff, 0xff, 0xd1, 0xf0, 0x01, 0xc0, /* err -4095, nil */
	};
	static const uint8_t want_read[] = { 0x95, 0x2a, 0x03, 0x07, 0x00, 0x92, 0xc4, 0x02, 'h', 'i', 0x02 };
	static const uint8_t want_readdir[] = {
		0x95, 0x2a, 0x03, 0xce, 0x00, 0x01, 0x00, 0x00, 0x00,          /* head: commit 65536 as uint32 */
		0x92, 0x01, 0x91,                                              /* eof 1, one entry */
		0x93, 0x09, 0xc4, 0x01, 'f',                                   /* cookie 9, name "f" */
		0x9b, 0,    0,    0,    0,    0,    0,    0,    0,    0, 0, 0, /* attr, all zeros */
	};
	struct wire_dirent d = { .cookie = 9, .name = "f", .name_len = 1 };
	struct wire_read_reply m = { .request = 42, .view = 3, .commit = 200 };
	struct wire_buf b;

	(void)state;
	wire_buf_init(&b);
	m.result.attr = (struct wire_attr){ .ino = 5,
		                            .mode = 0100644,
		                            .nlink = 1,
		                            .uid = 1000,
		                            .gid = 100,
		                            .size = 13,
		                            .blocks = 8,
		                            .atime = -1,
		                            .mtime = 1,
		                            .ctime = 1700000000 };
	assert_int_equal(wire_read_reply_encode(WIRE_READ_GETATTR, &m, &b), 0);
	assert_int_equal(b.len, sizeof(want_getattr));
	assert_memory_equal(b.data, want_getattr, sizeof(want_getattr));
	b.len = 0;
	m.commit = 0;
	m.result = (struct wire_read_result){ .err = -ENOENT };
	assert_int_equal(wire_read_reply_encode(WIRE_READ_LOOKUP, &m, &b), 0);
	assert_int_equal(b.len, sizeof(want_error));
	assert_memory_equal(b.data, want_error, sizeof(want_error));
	b.len = 0;
	m.commit = UINT64_MAX;
	m.result.err = -WIRE_FS_ERRNO_MAX;
	assert_int_equal(wire_read_reply_encode(WIRE_READ_READDIR, &m, &b), 0);
	assert_int_equal(b.len, sizeof(want_error_max));
	assert_memory_equal(b.data, want_error_max, sizeof(want_error_max));
	b.len = 0;
	m.commit = 7;
	m.result = (struct wire_read_result){ .data = (const uint8_t *)"hi", .data_len = 2, .len = 2 };
	assert_int_equal(wire_read_reply_encode(WIRE_READ_READ, &m, &b), 0);
	assert_int_equal(b.len, sizeof(want_read));
	assert_memory_equal(b.data, want_read, sizeof(want_read));
	b.len = 0;
	m.commit = 65536;
	m.result = (struct wire_read_result){ .eof = 1, .dirent_count = 1, .dirents = &d };
	assert_int_equal(wire_read_reply_encode(WIRE_READ_READDIR, &m, &b), 0);
	assert_int_equal(b.len, sizeof(want_readdir));
	assert_memory_equal(b.data, want_readdir, sizeof(want_readdir));
	wire_buf_free(&b);
}

/* The reply decoder, too, accepts any integer width and array16 / array32 headers (commit
 * among them), and the re-encoding is the shortest. */
static void test_reply_decode_accepts_other_widths(void **state)
{
	static const uint8_t body[] = {
		0xdd, 0,    0,    0,    5,                   /* array32 of 5 */
		0xce, 0,    0,    0,    9,                   /* request as uint32 */
		0xd1, 0x00, 0x03,                            /* view as int16 */
		0xcf, 0,    0,    0,    0, 0, 0, 0x01, 0x00, /* commit 256 as uint64 */
		0xd3, 0,    0,    0,    0, 0, 0, 0,    0,    /* err 0 as int64 */
		0xdc, 0x00, 0x01,                            /* the payload as array16 */
		0xd2, 0x00, 0x01, 0x00, 0,                   /* value 65536 as int32 */
	};
	static const uint8_t error[] = {
		0x95, 0x01, 0x02, 0xd3, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* commit INT64_MAX as int64 */
		0xd2, 0xff, 0xff, 0xff, 0xfe, 0xc0,                                     /* err -2 as int32, nil */
	};
	uint8_t *buf = fx_copy(body, sizeof(body));
	struct wire_read_reply m;
	struct wire_buf b;
	const char *why;

	(void)state;
	assert_int_equal(wire_read_reply_decode(WIRE_READ_LSEEK, buf, sizeof(body), &m, NULL, 0, &why), 0);
	assert_int_equal(m.request, 9);
	assert_int_equal(m.view, 3);
	assert_int_equal(m.commit, 256);
	assert_int_equal(m.result.err, 0);
	assert_int_equal(m.result.value, 65536);
	wire_buf_init(&b);
	assert_int_equal(wire_read_reply_encode(WIRE_READ_LSEEK, &m, &b), 0);
	assert_true(b.len < sizeof(body));
	free(buf);

	buf = fx_copy(error, sizeof(error));
	assert_int_equal(wire_read_reply_decode(WIRE_READ_READ, buf, sizeof(error), &m, NULL, 0, &why), 0);
	assert_int_equal(m.commit, INT64_MAX);
	assert_int_equal(m.result.err, -2);
	b.len = 0;
	assert_int_equal(wire_read_reply_encode(WIRE_READ_READ, &m, &b), 0);
	assert_true(b.len < sizeof(error));
	wire_buf_free(&b);
	free(buf);
}

/* ---- Replies: refusals --------------------------------------------------------------------- */

static void test_reply_encode_rejects_invalid(void **state)
{
	struct wire_dirent dirents[FX_DIRENTS];
	struct wire_buf b;
	enum { CASES = 22 };

	(void)state;
	wire_buf_init(&b);
	assert_int_equal(wire_read_reply_encode(WIRE_READ_STATFS, &(struct wire_read_reply){ 0 }, &b), 0);
	for (int i = 0; i < CASES; i++) {
		size_t before = b.len;
		uint8_t type = WIRE_READ_READ;
		struct wire_read_reply m = fx_reply(type, dirents);
		struct wire_read_result *res = &m.result;

		switch (i) {
		case 0:
			type = 0;
			break;
		case 1:
			type = WIRE_READ_TYPE_MAX + 1;
			break;
		case 2:
			res->err = 1;
			break;
		case 3:
			res->err = -WIRE_FS_ERRNO_MAX - 1;
			break;
		case 4:
			res->err = INT32_MIN;
			break;
		case 5:
			res->data_len = res->len = WIRE_READ_DATA_MAX + 1;
			break;
		case 6:
			res->data = NULL;
			break;
		case 7:
			res->len = res->data_len - 1;
			break;
		case 8:
			res->len = 0;
			break;
		case 9:
			type = WIRE_READ_READLINK, res->data_len = res->len = WIRE_SYMLINK_MAX + 1;
			break;
		case 10:
			type = WIRE_READ_READLINK, res->data_len = 0;
			break; /* len stays 4096 */
		case 11:
			type = WIRE_READ_GETXATTR, res->data_len = 3, res->len = 300;
			break;
		case 12:
			type = WIRE_READ_LISTXATTR, res->data_len = 1, res->len = 0;
			break;
		case 13:
			type = WIRE_READ_READDIR, *res = fx_reply(type, dirents).result, res->eof = 2;
			break;
		case 14:
			type = WIRE_READ_READDIR, *res = fx_reply(type, dirents).result;
			res->dirent_count = WIRE_READ_DIRENTS_MAX + 1;
			break;
		case 15:
			type = WIRE_READ_READDIR, *res = fx_reply(type, dirents).result, res->dirents = NULL;
			break;
		case 16:
			type = WIRE_READ_READDIR, *res = fx_reply(type, dirents).result, dirents[2].name_len = 0;
			break;
		case 17:
			type = WIRE_READ_READDIR, *res = fx_reply(type, dirents).result;
			dirents[1].name_len = WIRE_NAME_MAX + 1;
			break;
		case 18:
			type = WIRE_READ_READDIR, *res = fx_reply(type, dirents).result;
			dirents[0].name = "a/", dirents[0].name_len = 2;
			break;
		case 19:
			type = WIRE_READ_READDIR, *res = fx_reply(type, dirents).result;
			dirents[0].name = "\0", dirents[0].name_len = 1;
			break;
		case 20:
			type = WIRE_READ_READDIR, *res = fx_reply(type, dirents).result, dirents[1].name = NULL;
			break;
		case 21:
			type = WIRE_READ_READ, res->data_len = res->len = UINT32_MAX;
			break;
		}
		if (wire_read_reply_encode(type, &m, &b) != -EINVAL)
			fail_msg("invalid reply %d was encoded", i);
		assert_int_equal(b.len, before);
	}
	wire_buf_free(&b);
}

struct fx_reply_case {
	const char *what;
	const char *why;
	uint8_t type;
	struct fx_item items[FX_ITEMS_MAX];
};

#define FX_DIRENT(name) FX_A(3), FX_U(9), name, FX_ATTR

static const struct fx_reply_case FX_REPLY_CORPUS[] = {
	{ "not an array", "read_reply: not a msgpack array", WIRE_READ_GETATTR, { FX_NIL_ } },
	{ "three fields", "read_reply: wrong field count", WIRE_READ_GETATTR, { FX_A(3), FX_U(1), FX_U(2), FX_U(0) } },
	{ "four fields (the old layout, without commit)",
	  "read_reply: wrong field count",
	  WIRE_READ_LSEEK,
	  { FX_A(4), FX_U(1), FX_U(2), FX_U(0), FX_A(1), FX_U(0) } },
	{ "four fields of an error (the old layout)",
	  "read_reply: wrong field count",
	  WIRE_READ_LSEEK,
	  { FX_A(4), FX_U(1), FX_U(2), FX_I(-2), FX_NIL_ } },
	{ "six fields",
	  "read_reply: wrong field count",
	  WIRE_READ_LSEEK,
	  { FX_A(6), FX_U(1), FX_U(2), FX_U(3), FX_U(0), FX_A(1), FX_U(0), FX_U(0) } },
	{ "array32 claiming 2^32-1 fields", "read_reply: wrong field count", WIRE_READ_STATFS, { FX_A32(0xffffffff) } },
	{ "request -1",
	  "read_reply: integer out of range",
	  WIRE_READ_LSEEK,
	  { FX_A(5), FX_I(-1), FX_U(2), FX_U(3), FX_U(0), FX_A(1), FX_U(0) } },
	{ "view as bin",
	  "read_reply: field is not an integer",
	  WIRE_READ_LSEEK,
	  { FX_A(5), FX_U(1), FX_B("2"), FX_U(3), FX_U(0), FX_A(1), FX_U(0) } },
	{ "commit -1",
	  "read_reply: integer out of range",
	  WIRE_READ_LSEEK,
	  { FX_A(5), FX_U(1), FX_U(2), FX_I(-1), FX_U(0), FX_A(1), FX_U(0) } },
	{ "commit -2^63",
	  "read_reply: integer out of range",
	  WIRE_READ_STATFS,
	  { FX_A(5), FX_U(1), FX_U(2), FX_I(INT64_MIN), FX_U(0), FX_A(2), FX_U(0), FX_U(0) } },
	{ "commit -1 of an error",
	  "read_reply: integer out of range",
	  WIRE_READ_READ,
	  { FX_A(5), FX_U(1), FX_U(2), FX_I(-1), FX_I(-5), FX_NIL_ } },
	{ "commit as nil",
	  "read_reply: field is not an integer",
	  WIRE_READ_LSEEK,
	  { FX_A(5), FX_U(1), FX_U(2), FX_NIL_, FX_U(0), FX_A(1), FX_U(0) } },
	{ "commit as true",
	  "read_reply: field is not an integer",
	  WIRE_READ_LSEEK,
	  { FX_A(5), FX_U(1), FX_U(2), FX_RAW_("\xc3"), FX_U(0), FX_A(1), FX_U(0) } },
	{ "commit as str",
	  "read_reply: field is not an integer",
	  WIRE_READ_GETATTR,
	  { FX_A(5), FX_U(1), FX_U(2), FX_S("3"), FX_U(0), FX_ATTR } },
	{ "commit as bin",
	  "read_reply: field is not an integer",
	  WIRE_READ_READ,
	  { FX_A(5), FX_U(1), FX_U(2), FX_B("\x03"), FX_U(0), FX_A(2), FX_B("hi"), FX_U(2) } },
	{ "commit as float 3.0",
	  "read_reply: field is not an integer",
	  WIRE_READ_LSEEK,
	  { FX_A(5), FX_U(1), FX_U(2), FX_RAW_("\xcb\x40\x08\x00\x00\x00\x00\x00\x00"), FX_U(0), FX_A(1), FX_U(0) } },
	{ "commit as array",
	  "read_reply: field is not an integer",
	  WIRE_READ_LSEEK,
	  { FX_A(5), FX_U(1), FX_U(2), FX_A(1), FX_U(0), FX_A(1), FX_U(0) } },
	{ "payload where commit belongs (the old layout, one field early)",
	  "read_reply: field is not an integer",
	  WIRE_READ_LSEEK,
	  { FX_A(5), FX_U(1), FX_U(2), FX_U(0), FX_A(1), FX_U(0) } },
	{ "commit cut short",
	  "read_reply: truncated",
	  WIRE_READ_LSEEK,
	  { FX_A(5), FX_U(1), FX_U(2), FX_RAW_("\xcf\x00\x00") } },
	{ "err 1", "read_reply: err is not 0 or -errno", WIRE_READ_STATFS, { FX_HEAD(FX_U(1)), FX_NIL_ } },
	{ "err -4096", "read_reply: err is not 0 or -errno", WIRE_READ_STATFS, { FX_HEAD(FX_I(-4096)), FX_NIL_ } },
	{ "err 2^31", "read_reply: integer out of range", WIRE_READ_STATFS, { FX_HEAD(FX_U(1ULL << 31)), FX_NIL_ } },
	{ "err -2^31 - 1",
	  "read_reply: integer out of range",
	  WIRE_READ_STATFS,
	  { FX_HEAD(FX_I(INT32_MIN - 1LL)), FX_NIL_ } },
	{ "err as nil", "read_reply: field is not an integer", WIRE_READ_STATFS, { FX_HEAD(FX_NIL_) } },
	{ "an error with an attr",
	  "read_reply: payload of an error is not nil",
	  WIRE_READ_GETATTR,
	  { FX_HEAD(FX_I(-2)), FX_ATTR } },
	{ "an error with false",
	  "read_reply: payload of an error is not nil",
	  WIRE_READ_READ,
	  { FX_HEAD(FX_I(-5)), FX_RAW_("\xc2") } },
	{ "an error without payload", "read_reply: truncated", WIRE_READ_READ, { FX_HEAD(FX_I(-5)) } },
	{ "success with nil", "read_reply: not a msgpack array", WIRE_READ_GETATTR, { FX_OK, FX_NIL_ } },
	{ "attr of 10 fields",
	  "read_reply: attr: wrong field count",
	  WIRE_READ_LOOKUP,
	  { FX_OK, FX_A(10), FX_U(5), FX_U(0100644), FX_U(1), FX_U(0), FX_U(0), FX_U(0), FX_U(3), FX_U(8), FX_I(-1),
	    FX_I(1) } },
	{ "attr of 12 fields",
	  "read_reply: attr: wrong field count",
	  WIRE_READ_GETATTR,
	  { FX_OK, FX_A(12), FX_U(5), FX_U(0100644), FX_U(1), FX_U(0), FX_U(0), FX_U(0), FX_U(3), FX_U(8), FX_I(-1),
	    FX_I(1), FX_I(2), FX_I(3) } },
	{ "attr mode 2^32",
	  "read_reply: integer out of range",
	  WIRE_READ_GETATTR,
	  { FX_OK, FX_A(11), FX_U(5), FX_U(1ULL << 32), FX_U(1), FX_U(0), FX_U(0), FX_U(0), FX_U(3), FX_U(8), FX_I(-1),
	    FX_I(1), FX_I(2) } },
	{ "attr ctime 2^63",
	  "read_reply: integer out of range",
	  WIRE_READ_GETATTR,
	  { FX_OK, FX_A(11), FX_U(5), FX_U(0), FX_U(1), FX_U(0), FX_U(0), FX_U(0), FX_U(3), FX_U(8), FX_I(-1), FX_I(1),
	    FX_U(1ULL << 63) } },
	{ "attr ino -1",
	  "read_reply: integer out of range",
	  WIRE_READ_GETATTR,
	  { FX_OK, FX_A(11), FX_I(-1), FX_U(0), FX_U(1), FX_U(0), FX_U(0), FX_U(0), FX_U(3), FX_U(8), FX_I(-1), FX_I(1),
	    FX_I(2) } },
	{ "data payload of 3 fields",
	  "read_reply: payload: wrong field count",
	  WIRE_READ_READ,
	  { FX_OK, FX_A(3), FX_B("hi"), FX_U(2), FX_U(2) } },
	{ "data as str", "read_reply: field is not bin", WIRE_READ_READ, { FX_OK, FX_A(2), FX_S("hi"), FX_U(2) } },
	{ "len -1", "read_reply: integer out of range", WIRE_READ_READ, { FX_OK, FX_A(2), FX_B("hi"), FX_I(-1) } },
	{ "len 2^32",
	  "read_reply: integer out of range",
	  WIRE_READ_GETXATTR,
	  { FX_OK, FX_A(2), FX_B(""), FX_U(1ULL << 32) } },
	{ "READ len is not data_len",
	  "read_reply: len is not data_len",
	  WIRE_READ_READ,
	  { FX_OK, FX_A(2), FX_B("hi"), FX_U(3) } },
	{ "READ of no data, len 5",
	  "read_reply: len is not data_len",
	  WIRE_READ_READ,
	  { FX_OK, FX_A(2), FX_B(""), FX_U(5) } },
	{ "READLINK len is not data_len",
	  "read_reply: len is not data_len",
	  WIRE_READ_READLINK,
	  { FX_OK, FX_A(2), FX_B("target"), FX_U(0) } },
	{ "GETXATTR data and another len",
	  "read_reply: len is not data_len",
	  WIRE_READ_GETXATTR,
	  { FX_OK, FX_A(2), FX_B("abc"), FX_U(5) } },
	{ "LISTXATTR data and another len",
	  "read_reply: len is not data_len",
	  WIRE_READ_LISTXATTR,
	  { FX_OK, FX_A(2), FX_B("a\0"), FX_U(1) } },
	{ "READ data of DATA_MAX + 1 bytes",
	  "read_reply: data too long",
	  WIRE_READ_READ,
	  { FX_OK, FX_A(2), FX_BN(fx_big, WIRE_READ_DATA_MAX + 1), FX_U(WIRE_READ_DATA_MAX + 1) } },
	{ "READLINK target of 4096 bytes",
	  "read_reply: symlink target too long",
	  WIRE_READ_READLINK,
	  { FX_OK, FX_A(2), FX_BN(fx_big, WIRE_SYMLINK_MAX + 1), FX_U(WIRE_SYMLINK_MAX + 1) } },
	{ "data bin32 claiming 4 GiB",
	  "read_reply: truncated",
	  WIRE_READ_READ,
	  { FX_OK, FX_A(2), FX_RAW_("\xc6\xff\xff\xff\xff") } },
	{ "STATFS of 1 field",
	  "read_reply: payload: wrong field count",
	  WIRE_READ_STATFS,
	  { FX_OK, FX_A(1), FX_U(1) } },
	{ "STATFS inodes -1",
	  "read_reply: integer out of range",
	  WIRE_READ_STATFS,
	  { FX_OK, FX_A(2), FX_I(-1), FX_U(1) } },
	{ "LSEEK of 2 fields",
	  "read_reply: payload: wrong field count",
	  WIRE_READ_LSEEK,
	  { FX_OK, FX_A(2), FX_U(1), FX_U(1) } },
	{ "LSEEK value as nil", "read_reply: field is not an integer", WIRE_READ_LSEEK, { FX_OK, FX_A(1), FX_NIL_ } },
	{ "READDIR payload of 3 fields",
	  "read_reply: payload: wrong field count",
	  WIRE_READ_READDIR,
	  { FX_OK, FX_A(3), FX_U(1), FX_A(0), FX_U(0) } },
	{ "READDIR eof 2", "read_reply: eof is not 0 or 1", WIRE_READ_READDIR, { FX_OK, FX_A(2), FX_U(2), FX_A(0) } },
	{ "READDIR eof 256",
	  "read_reply: integer out of range",
	  WIRE_READ_READDIR,
	  { FX_OK, FX_A(2), FX_U(256), FX_A(0) } },
	{ "READDIR eof as bool",
	  "read_reply: field is not an integer",
	  WIRE_READ_READDIR,
	  { FX_OK, FX_A(2), FX_RAW_("\xc3"), FX_A(0) } },
	{ "dirents not an array",
	  "read_reply: not a msgpack array",
	  WIRE_READ_READDIR,
	  { FX_OK, FX_A(2), FX_U(1), FX_U(0) } },
	{ "dirent of 2 fields",
	  "read_reply: dirent: wrong field count",
	  WIRE_READ_READDIR,
	  { FX_OK, FX_A(2), FX_U(1), FX_A(1), FX_A(2), FX_U(9), FX_B("f") } },
	{ "dirent name empty",
	  "read_reply: dirent name empty",
	  WIRE_READ_READDIR,
	  { FX_OK, FX_A(2), FX_U(1), FX_A(1), FX_DIRENT(FX_B("")) } },
	{ "dirent name of 256 bytes",
	  "read_reply: dirent name too long",
	  WIRE_READ_READDIR,
	  { FX_OK, FX_A(2), FX_U(1), FX_A(1), FX_DIRENT(FX_BN(fx_name, WIRE_NAME_MAX + 1)) } },
	{ "dirent name with '/'",
	  "read_reply: dirent name contains '/' or NUL",
	  WIRE_READ_READDIR,
	  { FX_OK, FX_A(2), FX_U(1), FX_A(2), FX_DIRENT(FX_B("ok")), FX_DIRENT(FX_B("a/b")) } },
	{ "dirent name with NUL",
	  "read_reply: dirent name contains '/' or NUL",
	  WIRE_READ_READDIR,
	  { FX_OK, FX_A(2), FX_U(1), FX_A(1), FX_DIRENT(FX_B("a\0")) } },
	{ "dirent name as str",
	  "read_reply: field is not bin",
	  WIRE_READ_READDIR,
	  { FX_OK, FX_A(2), FX_U(1), FX_A(1), FX_DIRENT(FX_S("f")) } },
	{ "dirent cookie -1",
	  "read_reply: integer out of range",
	  WIRE_READ_READDIR,
	  { FX_OK, FX_A(2), FX_U(1), FX_A(1), FX_A(3), FX_I(-1), FX_B("f"), FX_ATTR } },
	{ "dirent attr of 10 fields",
	  "read_reply: attr: wrong field count",
	  WIRE_READ_READDIR,
	  { FX_OK, FX_A(2), FX_U(1), FX_A(1), FX_A(3), FX_U(9), FX_B("f"), FX_A(10) } },
	{ "two dirents claimed, one sent",
	  "read_reply: truncated",
	  WIRE_READ_READDIR,
	  { FX_OK, FX_A(2), FX_U(1), FX_A(2), FX_DIRENT(FX_B("f")) } },
	{ "array32 claiming 2^32-1 dirents",
	  "read_reply: too many dirents",
	  WIRE_READ_READDIR,
	  { FX_OK, FX_A(2), FX_U(1), FX_A32(0xffffffff) } },
	{ "trailing byte",
	  "read_reply: trailing bytes",
	  WIRE_READ_LSEEK,
	  { FX_OK, FX_A(1), FX_U(0), FX_RAW_("\x00") } },
	{ "trailing byte after an error",
	  "read_reply: trailing bytes",
	  WIRE_READ_LSEEK,
	  { FX_HEAD(FX_I(-5)), FX_NIL_, FX_NIL_ } },
	{ "too large",
	  "read_reply: message too large",
	  WIRE_READ_READ,
	  { FX_OK, FX_A(2), FX_BN(fx_big, WIRE_READ_REPLY_SIZE_MAX), FX_U(0) } },
};

static void test_reply_decode_rejects_corpus(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(FX_REPLY_CORPUS) / sizeof(FX_REPLY_CORPUS[0]); i++) {
		const struct fx_reply_case *c = &FX_REPLY_CORPUS[i];

		fx_expect_reply(c->what, c->type, c->items, FX_ITEMS_MAX, FX_DIRENTS, c->why);
	}
}

/* The read type is the caller's: unknown ones are refused, and a body of one type is not another's. */
static void test_reply_decode_rejects_type(void **state)
{
	static const uint8_t unknown[] = { 0, WIRE_READ_TYPE_MAX + 1, UINT8_MAX };
	struct wire_dirent dirents[FX_DIRENTS], room[FX_DIRENTS];
	int refused = 0;

	(void)state;
	for (uint8_t t = 1; t <= WIRE_READ_TYPE_MAX; t++) {
		struct wire_read_reply m = fx_reply(t, dirents), out;
		struct wire_buf b;
		const char *why;

		wire_buf_init(&b);
		assert_int_equal(wire_read_reply_encode(t, &m, &b), 0);
		for (size_t i = 0; i < sizeof(unknown); i++) {
			assert_int_equal(
			        wire_read_reply_decode(unknown[i], b.data, b.len, &out, room, FX_DIRENTS, &why),
			        -EBADMSG);
			assert_string_equal(why, "read_reply: unknown read type");
			assert_int_equal(wire_read_reply_encode(unknown[i], &m, &b), -EINVAL);
		}
		/* GETATTR and LOOKUP share a layout, as do the four data answers; any other pair differs. */
		for (uint8_t u = 1; u <= WIRE_READ_TYPE_MAX; u++) {
			bool attr = (t == WIRE_READ_GETATTR || t == WIRE_READ_LOOKUP) &&
			            (u == WIRE_READ_GETATTR || u == WIRE_READ_LOOKUP);
			bool data = t >= WIRE_READ_READ && t <= WIRE_READ_LISTXATTR && u >= WIRE_READ_READ &&
			            u <= WIRE_READ_LISTXATTR;

			if (u == t || attr || data)
				continue;
			assert_int_equal(wire_read_reply_decode(u, b.data, b.len, &out, room, FX_DIRENTS, &why),
			                 -EBADMSG);
			refused++;
		}
		wire_buf_free(&b);
	}
	assert_int_equal(refused, 9 * 8 - 2 - 12);
}

/* dirents_max bounds what is written: one more than the room is refused before any entry is
 * written, however small the room; NULL is room for none. */
static void test_reply_decode_rejects_more_dirents_than_room(void **state)
{
	struct wire_dirent dirents[FX_DIRENTS], room[FX_DIRENTS + 1];
	struct wire_read_reply m = fx_reply(WIRE_READ_READDIR, dirents), out;
	struct wire_buf b;
	const char *why;

	(void)state;
	m.result.dirent_count = 5;
	for (uint32_t i = 0; i < 5; i++)
		dirents[i] = fx_dirent(i);
	wire_buf_init(&b);
	assert_int_equal(wire_read_reply_encode(WIRE_READ_READDIR, &m, &b), 0);
	for (uint32_t max = 0; max < 5; max++) {
		memset(room, 0xee, sizeof(room));
		assert_int_equal(wire_read_reply_decode(WIRE_READ_READDIR, b.data, b.len, &out, room, max, &why),
		                 -EBADMSG);
		assert_string_equal(why, "read_reply: too many dirents");
		assert_int_equal(room[0].cookie, 0xeeeeeeeeeeeeeeeeULL);
		fx_assert_zero(&out, sizeof(out));
	}
	assert_int_equal(wire_read_reply_decode(WIRE_READ_READDIR, b.data, b.len, &out, NULL, 5, &why), -EBADMSG);
	assert_string_equal(why, "read_reply: too many dirents");
	memset(room, 0xee, sizeof(room));
	assert_int_equal(wire_read_reply_decode(WIRE_READ_READDIR, b.data, b.len, &out, room, 5, &why), 0);
	assert_int_equal(room[5].cookie, 0xeeeeeeeeeeeeeeeeULL);
	wire_buf_free(&b);

	/* 1025 entries, however much room the caller claims. */
	{
		msgpack_sbuffer sb;
		msgpack_packer pk;
		struct wire_dirent *big = calloc(WIRE_READ_DIRENTS_MAX + 1, sizeof(*big));

		assert_non_null(big);
		memset(big, 0xee, (WIRE_READ_DIRENTS_MAX + 1) * sizeof(*big));
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_array(&pk, 5);
		msgpack_pack_uint8(&pk, 1);  /* request */
		msgpack_pack_uint8(&pk, 1);  /* view */
		msgpack_pack_uint64(&pk, 1); /* commit */
		msgpack_pack_uint8(&pk, 0);  /* err */
		msgpack_pack_array(&pk, 2);
		msgpack_pack_uint8(&pk, 1);
		msgpack_pack_array(&pk, WIRE_READ_DIRENTS_MAX + 1);
		for (uint32_t i = 0; i <= WIRE_READ_DIRENTS_MAX; i++) {
			msgpack_pack_array(&pk, 3);
			msgpack_pack_uint32(&pk, i);
			msgpack_pack_bin_with_body(&pk, "f", 1);
			msgpack_pack_array(&pk, 11);
			for (int f = 0; f < 11; f++)
				msgpack_pack_uint8(&pk, 0);
		}
		assert_int_equal(wire_read_reply_decode(WIRE_READ_READDIR, (const uint8_t *)sb.data, sb.size, &out, big,
		                                        WIRE_READ_DIRENTS_MAX + 1, &why),
		                 -EBADMSG);
		assert_string_equal(why, "read_reply: too many dirents");
		assert_int_equal(big[0].cookie, 0xeeeeeeeeeeeeeeeeULL); /* refused before any entry is written */
		msgpack_sbuffer_destroy(&sb);
		free(big);
	}
}

/* ---- Both: truncation and trailing bytes --------------------------------------------------- */

/* Every proper prefix of a valid encoding of every request and every answer (and error) is refused. */
static void test_decode_rejects_every_prefix(void **state)
{
	struct wire_dirent dirents[FX_DIRENTS], room[FX_DIRENTS];
	size_t prefixes = 0;

	(void)state;
	for (uint8_t t = 1; t <= WIRE_READ_TYPE_MAX; t++) {
		struct wire_read_request q = t % 2 ? fx_request_local(t, UINT64_MAX - t) : fx_request(t), qout;
		struct wire_read_reply ok = fx_reply(t, dirents),
		                       err = { .request = 300, .view = 70000, .commit = UINT64_MAX - t }, out;
		struct wire_buf b;

		err.result.err = -ENOTDIR;
		if (t == WIRE_READ_READ)
			ok.result.data_len = ok.result.len = 300; /* a bin16 header to cut too */
		wire_buf_init(&b);
		assert_int_equal(wire_read_request_encode(&q, &b), 0);
		for (size_t len = 0; len < b.len; len++, prefixes++) {
			uint8_t *buf = fx_copy(b.data, len);
			const char *why = NULL;

			assert_int_equal(wire_read_request_decode(buf, len, &qout, &why), -EBADMSG);
			assert_string_equal(why, len ? "read_request: truncated" : "read_request: empty");
			fx_assert_zero(&qout, sizeof(qout));
			free(buf);
		}
		for (int which = 0; which < 2; which++) {
			b.len = 0;
			assert_int_equal(wire_read_reply_encode(t, which ? &err : &ok, &b), 0);
			for (size_t len = 0; len < b.len; len++, prefixes++) {
				uint8_t *buf = fx_copy(b.data, len);
				const char *why = NULL;

				assert_int_equal(wire_read_reply_decode(t, buf, len, &out, room, FX_DIRENTS, &why),
				                 -EBADMSG);
				assert_string_equal(why, len ? "read_reply: truncated" : "read_reply: empty");
				fx_assert_zero(&out, sizeof(out));
				free(buf);
			}
		}
		wire_buf_free(&b);
	}
	print_message("%zu prefixes refused\n", prefixes);
}

/* A valid body followed by anything (a byte, a nil, itself) is refused. */
static void test_decode_rejects_trailing_bytes(void **state)
{
	static const uint8_t tails[][2] = { { 0x00, 0 }, { 0xc0, 0 }, { 0xff, 0 }, { 0x90, 0x90 } };
	struct wire_dirent dirents[FX_DIRENTS], room[FX_DIRENTS];

	(void)state;
	for (uint8_t t = 1; t <= WIRE_READ_TYPE_MAX; t++) {
		struct wire_read_request q = t % 2 ? fx_request_local(t, UINT64_MAX - t) : fx_request(t), qout;
		struct wire_read_reply ok = fx_reply(t, dirents), err = { .commit = 9, .result = { .err = -EIO } }, out;

		for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]) + 1; i++) {
			struct wire_buf b;
			const char *why;
			uint8_t *buf;
			size_t len;

			for (int which = 0; which < 3; which++) {
				wire_buf_init(&b);
				if (which == 0)
					assert_int_equal(wire_read_request_encode(&q, &b), 0);
				else
					assert_int_equal(wire_read_reply_encode(t, which == 1 ? &ok : &err, &b), 0);
				len = b.len;
				if (i < sizeof(tails) / sizeof(tails[0])) {
					buf = malloc(len + 2);
					assert_non_null(buf);
					memcpy(buf, b.data, len);
					memcpy(buf + len, tails[i], 2);
					len += tails[i][1] ? 2 : 1;
				} else { /* the body twice */
					buf = malloc(2 * len);
					assert_non_null(buf);
					memcpy(buf, b.data, len);
					memcpy(buf + len, b.data, len);
					len *= 2;
				}
				if (which == 0) {
					assert_int_equal(wire_read_request_decode(buf, len, &qout, &why), -EBADMSG);
					assert_string_equal(why, "read_request: trailing bytes");
				} else {
					assert_int_equal(
					        wire_read_reply_decode(t, buf, len, &out, room, FX_DIRENTS, &why),
					        -EBADMSG);
					assert_string_equal(why, "read_reply: trailing bytes");
				}
				free(buf);
				wire_buf_free(&b);
			}
		}
	}
}

/* Encoding appends after what the buffer holds. */
static void test_encode_appends(void **state)
{
	struct wire_dirent dirents[FX_DIRENTS], room[FX_DIRENTS];
	struct wire_read_request q = fx_request_local(WIRE_READ_LOOKUP, 12345), qout;
	struct wire_read_reply m = fx_reply(WIRE_READ_READDIR, dirents), out;
	struct wire_buf b;
	size_t first, second;
	const char *why;

	(void)state;
	wire_buf_init(&b);
	assert_int_equal(wire_read_request_encode(&q, &b), 0);
	first = b.len;
	assert_int_equal(wire_read_reply_encode(WIRE_READ_READDIR, &m, &b), 0);
	second = b.len - first;
	assert_int_equal(wire_read_request_decode(b.data, first, &qout, &why), 0);
	fx_assert_request_equal(&q, &qout);
	assert_int_equal(
	        wire_read_reply_decode(WIRE_READ_READDIR, b.data + first, second, &out, room, FX_DIRENTS, &why), 0);
	fx_assert_reply_equal(&m, &out);
	wire_buf_free(&b);
}

/* ---- Random and mutated bytes ---------------------------------------------------------- */

#define FX_SEED        0x5eedf00dULL
#define FX_RANDOM_RUNS 10000

static uint64_t fx_rand(uint64_t *s)
{
	/* xorshift64*: enough for fuzzing, and the same sequence on every machine. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

/* Every decoder on bytes: never a crash; a reject says why and leaves zeros; whatever is
 * accepted re-encodes, to no more bytes, and decodes to itself. */
static void fx_decode_anything(const uint8_t *bytes, size_t len, size_t *accepted)
{
	static struct wire_dirent room[FX_DIRENTS], room2[FX_DIRENTS];
	uint8_t *buf = fx_copy(bytes, len);
	struct wire_read_request q, q2;
	struct wire_buf b;
	const char *why = NULL;

	if (wire_read_request_decode(buf, len, &q, &why) == 0) {
		(*accepted)++;
		wire_buf_init(&b);
		assert_int_equal(wire_read_request_encode(&q, &b), 0);
		assert_true(b.len <= len);
		assert_int_equal(wire_read_request_decode(b.data, b.len, &q2, &why), 0);
		fx_assert_request_equal(&q, &q2);
		wire_buf_free(&b);
	} else {
		assert_non_null(why);
		fx_assert_zero(&q, sizeof(q));
	}
	for (uint8_t t = 0; t <= WIRE_READ_TYPE_MAX + 1; t++) {
		struct wire_read_reply m, m2;

		why = NULL;
		if (wire_read_reply_decode(t, buf, len, &m, room, FX_DIRENTS, &why) != 0) {
			assert_non_null(why);
			fx_assert_zero(&m, sizeof(m));
			continue;
		}
		(*accepted)++;
		wire_buf_init(&b);
		assert_int_equal(wire_read_reply_encode(t, &m, &b), 0);
		assert_true(b.len <= len);
		assert_int_equal(wire_read_reply_decode(t, b.data, b.len, &m2, room2, FX_DIRENTS, &why), 0);
		fx_assert_reply_equal(&m, &m2);
		wire_buf_free(&b);
	}
	free(buf);
}

static void test_decode_random_bytes(void **state)
{
	uint64_t seed = FX_SEED;
	uint8_t bytes[128];
	size_t accepted = 0;

	(void)state;
	for (int run = 0; run < FX_RANDOM_RUNS; run++) {
		size_t len = fx_rand(&seed) % (sizeof(bytes) + 1);

		for (size_t i = 0; i < len; i++)
			bytes[i] = (uint8_t)(fx_rand(&seed) % 4 ? fx_rand(&seed) & 0x7f : fx_rand(&seed));
		/* Usually start like a body ([5 fields, ..., the read or the payload at index 5]),
		 * often with a valid local and min_op, so the fields are reached too. */
		if (len >= 6 && (run % 4)) {
			static const uint8_t heads[] = { 0x95, 0x97, 0x92, 0x91, 0x9b, 0x94 };

			bytes[0] = heads[fx_rand(&seed) % sizeof(heads)];
			bytes[5] = heads[fx_rand(&seed) % sizeof(heads)];
			if (run % 2) {
				bytes[3] = (uint8_t)(fx_rand(&seed) % 2); /* local, or a reply's commit */
				bytes[4] = bytes[3] ? bytes[4] : 0;       /* min_op, or a reply's err */
			}
		}
		fx_decode_anything(bytes, len, &accepted);
	}
	print_message("random bytes: %zu accepted by some decoder in %d runs\n", accepted, FX_RANDOM_RUNS);
}

/* Valid encodings with a few bytes changed, dropped or added: the paths random bytes rarely reach. */
static void test_decode_mutated_encodings(void **state)
{
	struct wire_dirent dirents[FX_DIRENTS];
	uint64_t seed = FX_SEED + 1;
	size_t accepted = 0;

	(void)state;
	for (int run = 0; run < FX_RANDOM_RUNS; run++) {
		uint8_t t = (uint8_t)(1 + fx_rand(&seed) % WIRE_READ_TYPE_MAX);
		size_t flips = 1 + fx_rand(&seed) % 3;
		struct wire_buf b;

		wire_buf_init(&b);
		switch (fx_rand(&seed) % 3) {
		case 0: {
			struct wire_read_request q = run % 2 ? fx_request_local(t, (uint64_t)run << 20) : fx_request(t);

			assert_int_equal(wire_read_request_encode(&q, &b), 0);
			assert_int_equal(wire_read_request_encode(&q, &b), 0); /* room to grow into */
			break;
		}
		case 1: {
			struct wire_read_reply m = fx_reply(t, dirents);

			if (t == WIRE_READ_READ)
				m.result.data_len = m.result.len = 40;
			assert_int_equal(wire_read_reply_encode(t, &m, &b), 0);
			assert_int_equal(wire_read_reply_encode(t, &m, &b), 0);
			break;
		}
		default: {
			struct wire_read_reply m = { .request = 1,
				                     .commit = (uint64_t)run * run,
				                     .result = { .err = -(int32_t)(1 + run % 200) } };

			assert_int_equal(wire_read_reply_encode(t, &m, &b), 0);
			assert_int_equal(wire_read_reply_encode(t, &m, &b), 0);
			break;
		}
		}
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
	print_message("mutated encodings: %zu accepted by some decoder in %d runs\n", accepted, FX_RANDOM_RUNS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_roundtrip_every_type),
		cmocka_unit_test(test_request_roundtrip_limits),
		cmocka_unit_test(test_request_golden_bytes),
		cmocka_unit_test(test_request_decode_accepts_other_widths),
		cmocka_unit_test(test_request_encode_rejects_invalid),
		cmocka_unit_test(test_request_rejects_unused_fields),
		cmocka_unit_test(test_request_decode_rejects_corpus),
		cmocka_unit_test(test_reply_roundtrip_every_type),
		cmocka_unit_test(test_reply_roundtrip_errors),
		cmocka_unit_test(test_reply_roundtrip_data_lengths),
		cmocka_unit_test(test_reply_roundtrip_many_dirents),
		cmocka_unit_test(test_reply_roundtrip_extremes),
		cmocka_unit_test(test_reply_golden_bytes),
		cmocka_unit_test(test_reply_decode_accepts_other_widths),
		cmocka_unit_test(test_reply_encode_rejects_invalid),
		cmocka_unit_test(test_reply_decode_rejects_corpus),
		cmocka_unit_test(test_reply_decode_rejects_type),
		cmocka_unit_test(test_reply_decode_rejects_more_dirents_than_room),
		cmocka_unit_test(test_decode_rejects_every_prefix),
		cmocka_unit_test(test_decode_rejects_trailing_bytes),
		cmocka_unit_test(test_encode_appends),
		cmocka_unit_test(test_decode_random_bytes),
		cmocka_unit_test(test_decode_mutated_encodings),
	};

	memset(fx_big, 'b', sizeof(fx_big));
	memset(fx_name, 'n', sizeof(fx_name));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
