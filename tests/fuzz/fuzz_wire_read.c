/*
 * fuzz_wire_read.c — libFuzzer target for the read codec (wire/wire_read.c):
 * wire_read_request_decode and wire_read_reply_decode.
 *
 * Input: the first byte selects the decoder. Even: the rest is a request body. Odd: the
 * second byte selects the read type the reply answers (1 + byte % WIRE_READ_TYPE_MAX)
 * and the rest is a reply body. Any input: decoding must not crash, leak, read outside
 * the body or write more than FUZZ_DIRENTS entries; a reject always says why and leaves
 * the message zero. A reply under a type that is not a read type is always refused.
 *
 * An input that decodes meets the limits of wire_read.h (checked here again, apart from
 * the codec's own checks); names, data and entries point where they should; it
 * re-encodes (the decoder accepts only what the encoder may send) to at most as many
 * bytes; the re-encoding decodes to an equal message and encodes again to the same
 * bytes; and a reply decodes with room for exactly its entries but not one fewer.
 *
 * The body is copied into a buffer of exactly its size so a read past the end trips ASan.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire_read.h"

#define FUZZ_DIRENTS WIRE_READ_DIRENTS_MAX

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The decoder's room, one spare slot after it as a canary. */
static struct wire_dirent fuzz_dirents[FUZZ_DIRENTS + 1], fuzz_dirents2[FUZZ_DIRENTS];

static bool fuzz_bytes_equal(const void *a, uint32_t a_len, const void *b, uint32_t b_len)
{
	if (a_len != b_len)
		return false;
	return a_len == 0 || memcmp(a, b, a_len) == 0;
}

static bool fuzz_inside(const void *p, size_t n, const uint8_t *buf, size_t len)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)buf;

	return p && a >= lo && a + n <= lo + len;
}

static bool fuzz_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* A name of 1..len_max bytes with no NUL, and no '/' unless slash_ok. */
static bool fuzz_name_ok(const char *name, uint32_t len, uint32_t len_max, bool slash_ok)
{
	return len >= 1 && len <= len_max && !memchr(name, '\0', len) && (slash_ok || !memchr(name, '/', len));
}

static bool fuzz_read_equal(const struct wire_read *a, const struct wire_read *b)
{
	return a->type == b->type && a->ino == b->ino && fuzz_bytes_equal(a->name, a->name_len, b->name, b->name_len) &&
	       a->offset == b->offset && a->cookie == b->cookie && a->size == b->size && a->whence == b->whence;
}

static bool fuzz_attr_equal(const struct wire_attr *x, const struct wire_attr *y)
{
	return x->ino == y->ino && x->mode == y->mode && x->nlink == y->nlink && x->uid == y->uid && x->gid == y->gid &&
	       x->rdev == y->rdev && x->size == y->size && x->blocks == y->blocks && x->atime == y->atime &&
	       x->mtime == y->mtime && x->ctime == y->ctime;
}

static bool fuzz_reply_equal(const struct wire_read_reply *a, const struct wire_read_reply *b)
{
	const struct wire_read_result *x = &a->result, *y = &b->result;

	if (!(a->request == b->request && a->view == b->view && a->commit == b->commit && x->err == y->err &&
	      fuzz_attr_equal(&x->attr, &y->attr) && fuzz_bytes_equal(x->data, x->data_len, y->data, y->data_len) &&
	      x->len == y->len && x->value == y->value && x->inodes == y->inodes && x->data_bytes == y->data_bytes &&
	      x->eof == y->eof && x->dirent_count == y->dirent_count))
		return false;
	for (uint32_t i = 0; i < x->dirent_count; i++) {
		const struct wire_dirent *d = &x->dirents[i], *e = &y->dirents[i];

		if (d->cookie != e->cookie || !fuzz_bytes_equal(d->name, d->name_len, e->name, e->name_len) ||
		    !fuzz_attr_equal(&d->attr, &e->attr))
			return false;
	}
	return true;
}

/* The limits of wire_read.h, restated. */
static void fuzz_check_request(const struct wire_read_request *m, const uint8_t *buf, size_t len)
{
	const struct wire_read *rd = &m->read;

	if (m->client_id == 0 || rd->type < 1 || rd->type > WIRE_READ_TYPE_MAX)
		abort();
	if (m->local > 1 || (!m->local && m->min_op))
		abort();
	if ((rd->type == WIRE_READ_STATFS) != (rd->ino == 0))
		abort();
	if (rd->name_len ? !fuzz_inside(rd->name, rd->name_len, buf, len) : rd->name != NULL)
		abort();
	switch (rd->type) {
	case WIRE_READ_LOOKUP:
		if (!fuzz_name_ok(rd->name, rd->name_len, WIRE_NAME_MAX + 1, false))
			abort();
		break;
	case WIRE_READ_GETXATTR:
		if (!fuzz_name_ok(rd->name, rd->name_len, WIRE_XATTR_NAME_MAX + 1, true))
			abort();
		break;
	default:
		if (rd->name_len)
			abort();
	}
	if (rd->type == WIRE_READ_READDIR && (rd->size < 1 || rd->size > WIRE_READ_DIRENTS_MAX))
		abort();
	if (rd->size > WIRE_READ_DATA_MAX)
		abort();
	if (rd->whence &&
	    !(rd->type == WIRE_READ_LSEEK && (rd->whence == WIRE_READ_SEEK_DATA || rd->whence == WIRE_READ_SEEK_HOLE)))
		abort();
	if (rd->type == WIRE_READ_LSEEK && !rd->whence)
		abort();
}

static void fuzz_request(const uint8_t *buf, size_t len)
{
	struct wire_read_request m, m2;
	struct wire_buf enc, enc2;
	const char *why = NULL;
	int rc;

	rc = wire_read_request_decode(buf, len, &m, &why);
	if (rc != 0) {
		if (rc != -EBADMSG || !why || !fuzz_zero(&m, sizeof(m)))
			abort(); /* a reject says why and leaves nothing behind */
		return;
	}
	if (why)
		abort();
	fuzz_check_request(&m, buf, len);
	wire_buf_init(&enc);
	wire_buf_init(&enc2);
	if (wire_read_request_encode(&m, &enc) != 0)
		abort(); /* decoded but does not re-encode */
	if (enc.len > len)
		abort(); /* the canonical form is the shortest */
	if (wire_read_request_decode(enc.data, enc.len, &m2, &why) != 0 || why)
		abort();
	if (m.client_id != m2.client_id || m.request != m2.request || m.local != m2.local || m.min_op != m2.min_op ||
	    !fuzz_read_equal(&m.read, &m2.read))
		abort(); /* round trip changed the message */
	if (wire_read_request_encode(&m2, &enc2) != 0)
		abort();
	if (enc.len != enc2.len || memcmp(enc.data, enc2.data, enc.len) != 0)
		abort(); /* encoding not canonical */
	wire_buf_free(&enc);
	wire_buf_free(&enc2);
}

static bool fuzz_type_has_data(uint8_t type)
{
	return type == WIRE_READ_READ || type == WIRE_READ_READLINK || type == WIRE_READ_GETXATTR ||
	       type == WIRE_READ_LISTXATTR;
}

static void fuzz_check_reply(uint8_t type, const struct wire_read_reply *m, const uint8_t *buf, size_t len)
{
	const struct wire_read_result *res = &m->result;

	if (res->err > 0 || res->err < -4095)
		abort();
	if (res->err) {
		struct wire_read_result zero;

		memset(&zero, 0, sizeof(zero)); /* padding too: the decoder zeroes with memset */
		zero.err = res->err;
		if (memcmp(res, &zero, sizeof(zero)) != 0)
			abort(); /* an error carries nothing else */
		return;
	}
	if (fuzz_type_has_data(type) ? !fuzz_inside(res->data, res->data_len, buf, len) : res->data != NULL)
		abort();
	if (res->data_len > (type == WIRE_READ_READLINK ? WIRE_SYMLINK_MAX : WIRE_READ_DATA_MAX))
		abort();
	if (res->len != res->data_len &&
	    !((type == WIRE_READ_GETXATTR || type == WIRE_READ_LISTXATTR) && res->data_len == 0))
		abort();
	if (res->eof > 1 || res->dirent_count > FUZZ_DIRENTS)
		abort();
	if ((res->dirent_count == 0) != (res->dirents == NULL))
		abort();
	if (res->dirents && res->dirents != fuzz_dirents)
		abort();
	for (uint32_t i = 0; i < res->dirent_count; i++) {
		const struct wire_dirent *d = &res->dirents[i];

		if (!fuzz_inside(d->name, d->name_len, buf, len) ||
		    !fuzz_name_ok(d->name, d->name_len, WIRE_NAME_MAX, false))
			abort();
	}
}

static void fuzz_reply(uint8_t type, const uint8_t *buf, size_t len)
{
	static const uint8_t not_read[] = { 0, WIRE_READ_TYPE_MAX + 1, UINT8_MAX };
	struct wire_read_reply m, m2;
	struct wire_buf enc, enc2;
	const char *why = NULL;
	uint32_t count;
	int rc;

	memset(&fuzz_dirents[FUZZ_DIRENTS], 0xee, sizeof(fuzz_dirents[FUZZ_DIRENTS]));
	rc = wire_read_reply_decode(type, buf, len, &m, fuzz_dirents, FUZZ_DIRENTS, &why);
	if (fuzz_dirents[FUZZ_DIRENTS].cookie != 0xeeeeeeeeeeeeeeeeULL)
		abort(); /* wrote past dirents_max */
	for (size_t i = 0; i < sizeof(not_read); i++) {
		struct wire_read_reply other;
		const char *why_other = NULL;

		if (wire_read_reply_decode(not_read[i], buf, len, &other, fuzz_dirents2, FUZZ_DIRENTS, &why_other) !=
		            -EBADMSG ||
		    !why_other)
			abort();
	}
	if (rc != 0) {
		if (rc != -EBADMSG || !why || !fuzz_zero(&m, sizeof(m)))
			abort();
		return;
	}
	if (why)
		abort();
	fuzz_check_reply(type, &m, buf, len);
	wire_buf_init(&enc);
	wire_buf_init(&enc2);
	if (wire_read_reply_encode(type, &m, &enc) != 0)
		abort();
	if (enc.len > len)
		abort();
	if (wire_read_reply_decode(type, enc.data, enc.len, &m2, fuzz_dirents2, FUZZ_DIRENTS, &why) != 0 || why)
		abort();
	if (!fuzz_reply_equal(&m, &m2))
		abort();
	if (wire_read_reply_encode(type, &m2, &enc2) != 0)
		abort();
	if (enc.len != enc2.len || memcmp(enc.data, enc2.data, enc.len) != 0)
		abort();

	/* Room for exactly the entries is enough; one fewer is refused before any is written. */
	count = m.result.dirent_count;
	if (wire_read_reply_decode(type, enc.data, enc.len, &m2, fuzz_dirents2, count, &why) != 0)
		abort();
	if (count &&
	    (wire_read_reply_decode(type, enc.data, enc.len, &m2, fuzz_dirents2, count - 1, &why) != -EBADMSG ||
	     strcmp(why, "read_reply: too many dirents") != 0))
		abort();
	wire_buf_free(&enc);
	wire_buf_free(&enc2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t head;
	uint8_t *copy;
	size_t len;

	if (size == 0)
		return 0;
	head = data[0] % 2 ? 2 : 1;
	if (size < head)
		return 0;
	len = size - head;
	copy = malloc(len ? len : 1);
	if (!copy)
		abort();
	if (len)
		memcpy(copy, data + head, len);
	if (head == 1)
		fuzz_request(copy, len);
	else
		fuzz_reply((uint8_t)(1 + data[1] % WIRE_READ_TYPE_MAX), copy, len);
	free(copy);
	return 0;
}
