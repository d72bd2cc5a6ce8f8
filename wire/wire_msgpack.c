/*
 * wire_msgpack.c — the pieces the msgpack codecs of wire/ share (see wire_msgpack.h):
 * struct wire_buf, the packer's sink into it, the bounded reader, and the attributes of
 * an inode.
 *
 * Invariants:
 *  1. A sink never grows its buffer past start + limit, and a failed encoding leaves the
 *     buffer's length as it found it.
 *  2. The reader reads only the bytes it was given, allocates nothing, and once it has
 *     failed reads nothing more.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "wire/wire_msgpack.h"

#define WIRE_BUF_CAP_MIN 256

/* ---- wire_buf and the packer's sink ------------------------------------------------ */

void wire_buf_init(struct wire_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void wire_buf_free(struct wire_buf *b)
{
	free(b->data);
	wire_buf_init(b);
}

void wire_sink_init(struct wire_sink *s, struct wire_buf *buf, size_t limit)
{
	s->buf = buf;
	s->start = buf->len;
	s->limit = limit;
	s->err = 0;
}

/* Grows b to hold need bytes, doubling, but never past ceiling (need <= ceiling). */
static int wire_buf_reserve(struct wire_buf *b, size_t need, size_t ceiling)
{
	size_t cap = b->cap ? b->cap : WIRE_BUF_CAP_MIN;
	uint8_t *data;

	if (need <= b->cap)
		return 0;
	while (cap < need) /* ends: need <= ceiling */
		cap = cap > ceiling / 2 ? ceiling : cap * 2;
	data = realloc(b->data, cap);
	if (!data)
		return -ENOMEM;
	b->data = data;
	b->cap = cap;
	return 0;
}

int wire_sink_write(void *data, const char *p, size_t n)
{
	struct wire_sink *s = data;
	struct wire_buf *b = s->buf;
	size_t used = b->len - s->start;
	int rc;

	if (s->err)
		return -1;
	if (n > s->limit - used) {
		s->err = -EMSGSIZE;
		return -1;
	}
	if (n == 0) /* an empty bin body: p may be NULL, which memcpy must not see */
		return 0;
	/* Now b->len + n <= start + limit, which could wrap only for an absurd start. */
	if (s->start > SIZE_MAX - s->limit) {
		s->err = -ENOMEM;
		return -1;
	}
	rc = wire_buf_reserve(b, b->len + n, s->start + s->limit);
	if (rc) {
		s->err = rc;
		return -1;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int wire_sink_finish(struct wire_sink *s)
{
	if (s->err)
		s->buf->len = s->start;
	return s->err;
}

/* ---- Encoding ------------------------------------------------------------------------ */

void wire_pack_bin(msgpack_packer *pk, const void *p, uint32_t len)
{
	msgpack_pack_bin(pk, len);
	msgpack_pack_bin_body(pk, p, len);
}

void wire_pack_attr(msgpack_packer *pk, const struct wire_attr *a)
{
	msgpack_pack_uint64(pk, a->ino);
	msgpack_pack_uint32(pk, a->mode);
	msgpack_pack_uint32(pk, a->nlink);
	msgpack_pack_uint32(pk, a->uid);
	msgpack_pack_uint32(pk, a->gid);
	msgpack_pack_uint64(pk, a->rdev);
	msgpack_pack_uint64(pk, a->size);
	msgpack_pack_uint64(pk, a->blocks);
	msgpack_pack_int64(pk, a->atime);
	msgpack_pack_int64(pk, a->mtime);
	msgpack_pack_int64(pk, a->ctime);
}

/* ---- The reader: the msgpack subset we emit, over untrusted bytes ---------------- */

void wire_reader_fail(struct wire_reader *r, enum wire_reader_status status)
{
	if (r->status == WIRE_READER_OK)
		r->status = status;
}

const uint8_t *wire_reader_take(struct wire_reader *r, size_t n)
{
	const uint8_t *p = r->pos;

	if (r->status != WIRE_READER_OK)
		return NULL;
	if (n > r->left) {
		wire_reader_fail(r, WIRE_READER_TRUNCATED);
		return NULL;
	}
	r->pos += n;
	r->left -= n;
	return p;
}

/* A big-endian unsigned number of width bytes (1, 2, 4 or 8); 0 after a fault. */
static uint64_t wire_reader_be(struct wire_reader *r, size_t width)
{
	const uint8_t *p = wire_reader_take(r, width);
	uint64_t v = 0;

	if (!p)
		return 0;
	for (size_t i = 0; i < width; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * Any msgpack integer. *negative says whether it is below zero; *bits holds the value
 * for a non-negative one and its 64-bit two's complement for a negative one.
 */
static bool wire_reader_int(struct wire_reader *r, bool *negative, uint64_t *bits)
{
	const uint8_t *p = wire_reader_take(r, 1);
	size_t width;
	uint64_t v;

	*negative = false;
	*bits = 0;
	if (!p)
		return false;
	if (p[0] <= 0x7f) { /* positive fixint */
		*bits = p[0];
		return true;
	}
	if (p[0] >= 0xe0) { /* negative fixint: -32..-1 */
		*negative = true;
		*bits = UINT64_MAX - (0xff - p[0]);
		return true;
	}
	if (p[0] >= 0xcc && p[0] <= 0xcf) { /* uint8..uint64 */
		*bits = wire_reader_be(r, (size_t)1 << (p[0] - 0xcc));
		return r->status == WIRE_READER_OK;
	}
	if (p[0] < 0xd0 || p[0] > 0xd3) {
		wire_reader_fail(r, WIRE_READER_NOT_INT);
		return false;
	}
	/* int8..int64: sign-extend to 64 bits. */
	width = (size_t)1 << (p[0] - 0xd0);
	v = wire_reader_be(r, width);
	if (r->status != WIRE_READER_OK)
		return false;
	*negative = (v >> (8 * width - 1)) & 1;
	if (*negative && width < 8)
		v |= UINT64_MAX << (8 * width);
	*bits = v;
	return true;
}

uint64_t wire_reader_uint(struct wire_reader *r, uint64_t max)
{
	bool negative;
	uint64_t v;

	if (!wire_reader_int(r, &negative, &v))
		return 0;
	if (negative || v > max) {
		wire_reader_fail(r, WIRE_READER_RANGE);
		return 0;
	}
	return v;
}

int64_t wire_reader_sint(struct wire_reader *r, int64_t min, int64_t max)
{
	bool negative;
	uint64_t bits;
	int64_t v;

	if (!wire_reader_int(r, &negative, &bits))
		return 0;
	if (!negative && bits > (uint64_t)INT64_MAX) {
		wire_reader_fail(r, WIRE_READER_RANGE);
		return 0;
	}
	/* For a negative value ~bits = -v - 1 lies in [0, INT64_MAX]: no implementation-defined cast. */
	v = negative ? -(int64_t)~bits - 1 : (int64_t)bits;
	if (v < min || v > max) {
		wire_reader_fail(r, WIRE_READER_RANGE);
		return 0;
	}
	return v;
}

uint8_t wire_reader_u8(struct wire_reader *r)
{
	return (uint8_t)wire_reader_uint(r, UINT8_MAX);
}

uint32_t wire_reader_u32(struct wire_reader *r)
{
	return (uint32_t)wire_reader_uint(r, UINT32_MAX);
}

uint64_t wire_reader_u64(struct wire_reader *r)
{
	return wire_reader_uint(r, UINT64_MAX);
}

int64_t wire_reader_i64(struct wire_reader *r)
{
	return wire_reader_sint(r, INT64_MIN, INT64_MAX);
}

const uint8_t *wire_reader_bin(struct wire_reader *r, uint32_t *len)
{
	const uint8_t *p = wire_reader_take(r, 1);
	const uint8_t *bytes;
	uint64_t n;

	*len = 0;
	if (!p)
		return NULL;
	if (p[0] < 0xc4 || p[0] > 0xc6) { /* bin8, bin16, bin32 */
		wire_reader_fail(r, WIRE_READER_NOT_BIN);
		return NULL;
	}
	n = wire_reader_be(r, (size_t)1 << (p[0] - 0xc4));
	/* Checked against what remains before any use: a bin32 header may claim 4 GiB. */
	bytes = wire_reader_take(r, n);
	if (!bytes)
		return NULL;
	*len = (uint32_t)n;
	return bytes;
}

bool wire_reader_bool(struct wire_reader *r)
{
	const uint8_t *p = wire_reader_take(r, 1);

	if (!p)
		return false;
	if (p[0] != 0xc2 && p[0] != 0xc3) {
		wire_reader_fail(r, WIRE_READER_NOT_BOOL);
		return false;
	}
	return p[0] == 0xc3;
}

uint32_t wire_reader_array(struct wire_reader *r)
{
	const uint8_t *p = wire_reader_take(r, 1);

	if (!p)
		return 0;
	if (p[0] >= 0x90 && p[0] <= 0x9f) /* fixarray */
		return p[0] & 0x0f;
	if (p[0] == 0xdc)
		return (uint32_t)wire_reader_be(r, 2);
	if (p[0] == 0xdd)
		return (uint32_t)wire_reader_be(r, 4);
	wire_reader_fail(r, WIRE_READER_NOT_ARRAY);
	return 0;
}

void wire_reader_attr(struct wire_reader *r, struct wire_attr *a)
{
	a->ino = wire_reader_u64(r);
	a->mode = wire_reader_u32(r);
	a->nlink = wire_reader_u32(r);
	a->uid = wire_reader_u32(r);
	a->gid = wire_reader_u32(r);
	a->rdev = wire_reader_u64(r);
	a->size = wire_reader_u64(r);
	a->blocks = wire_reader_u64(r);
	a->atime = wire_reader_i64(r);
	a->mtime = wire_reader_i64(r);
	a->ctime = wire_reader_i64(r);
}
