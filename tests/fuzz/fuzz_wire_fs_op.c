/*
 * fuzz_wire_fs_op.c — libFuzzer target for wire_fs_op_decode (wire/wire_fs.c).
 *
 * Any input: decoding must not crash, leak or read outside data[0..size) (ASan, UBSan).
 * An input that decodes: it must re-encode (the decoder accepts only what the encoder
 * may send), the re-encoding must decode to an equal op, and encoding that op again must
 * give the same bytes (the encoder is canonical even where the input used wider ints).
 *
 * The input is copied into a buffer of exactly its size so a read past the end trips ASan.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire_fs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_bytes_equal(const void *a, uint32_t a_len, const void *b, uint32_t b_len)
{
	if (a_len != b_len)
		return 0;
	return a_len == 0 || memcmp(a, b, a_len) == 0;
}

static int fuzz_op_equal(const struct wire_fs_op *a, const struct wire_fs_op *b)
{
	return a->type == b->type && a->uid == b->uid && a->gid == b->gid && a->ino == b->ino &&
	       a->parent == b->parent && fuzz_bytes_equal(a->name, a->name_len, b->name, b->name_len) &&
	       a->new_parent == b->new_parent &&
	       fuzz_bytes_equal(a->new_name, a->new_name_len, b->new_name, b->new_name_len) && a->mode == b->mode &&
	       a->rdev == b->rdev && a->flags == b->flags && a->valid == b->valid && a->set_uid == b->set_uid &&
	       a->set_gid == b->set_gid && a->size == b->size && a->atime == b->atime && a->mtime == b->mtime &&
	       a->offset == b->offset && a->length == b->length && a->target_ino == b->target_ino &&
	       a->target_offset == b->target_offset && a->handle == b->handle &&
	       fuzz_bytes_equal(a->data, a->data_len, b->data, b->data_len) && a->kill_suidgid == b->kill_suidgid;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	struct wire_fs_op op, op2;
	struct wire_buf enc, enc2;
	const char *why = NULL;

	if (!copy)
		abort();
	if (size)
		memcpy(copy, data, size);
	if (wire_fs_op_decode(copy, size, &op, &why) != 0) {
		if (!why)
			abort(); /* a reject always says why */
		free(copy);
		return 0;
	}
	if (why)
		abort();
	wire_buf_init(&enc);
	wire_buf_init(&enc2);
	if (wire_fs_op_encode(&op, &enc) != 0)
		abort(); /* decoded but does not re-encode */
	if (wire_fs_op_decode(enc.data, enc.len, &op2, &why) != 0)
		abort(); /* re-encoding does not decode */
	if (!fuzz_op_equal(&op, &op2))
		abort(); /* round trip changed the op */
	if (wire_fs_op_encode(&op2, &enc2) != 0)
		abort();
	if (enc.len != enc2.len || memcmp(enc.data, enc2.data, enc.len) != 0)
		abort(); /* encoding not canonical */
	if (enc.len > size)
		abort(); /* the canonical form is the shortest */
	wire_buf_free(&enc);
	wire_buf_free(&enc2);
	free(copy);
	return 0;
}
