/*
 * fuzz_wire_fs_result.c — libFuzzer target for wire_fs_result_decode (wire/wire_fs.c).
 *
 * Any input: decoding must not crash, leak or read outside data[0..size). An input that
 * decodes must re-encode, decode to an equal result, and re-encode to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire_fs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_result_equal(const struct wire_fs_result *a, const struct wire_fs_result *b)
{
	const struct wire_attr *x = &a->attr, *y = &b->attr;

	return a->err == b->err && a->written == b->written && x->ino == y->ino && x->mode == y->mode &&
	       x->nlink == y->nlink && x->uid == y->uid && x->gid == y->gid && x->rdev == y->rdev &&
	       x->size == y->size && x->blocks == y->blocks && x->atime == y->atime && x->mtime == y->mtime &&
	       x->ctime == y->ctime;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	struct wire_fs_result r, r2;
	struct wire_buf enc, enc2;
	const char *why = NULL;

	if (!copy)
		abort();
	if (size)
		memcpy(copy, data, size);
	if (wire_fs_result_decode(copy, size, &r, &why) != 0) {
		if (!why)
			abort();
		free(copy);
		return 0;
	}
	if (why)
		abort();
	wire_buf_init(&enc);
	wire_buf_init(&enc2);
	if (wire_fs_result_encode(&r, &enc) != 0)
		abort(); /* decoded but does not re-encode */
	if (wire_fs_result_decode(enc.data, enc.len, &r2, &why) != 0)
		abort();
	if (!fuzz_result_equal(&r, &r2))
		abort();
	if (wire_fs_result_encode(&r2, &enc2) != 0)
		abort();
	if (enc.len != enc2.len || memcmp(enc.data, enc2.data, enc.len) != 0)
		abort();
	if (enc.len > size)
		abort();
	wire_buf_free(&enc);
	wire_buf_free(&enc2);
	free(copy);
	return 0;
}
