/*
 * fuzz_wire_frame.c — libFuzzer target for the frame decoder (wire/wire_frame.c).
 *
 * 1. The input as a whole frame, checked without a key and with FUZZ_KEY, for cluster
 *    FUZZ_CLUSTER: never a crash, leak or read outside the input; a reject always says
 *    why; an accepted frame re-encodes to exactly the input bytes.
 * 2. The stream reader's path (wire_frame_decode_header on the first 40 bytes, then
 *    wire_frame_verify) agrees with wire_frame_decode.
 * 3. The input as a body: framed with and without the key, it decodes back to itself,
 *    and flipping the one bit the input picks makes it fail. (Random bytes almost never
 *    carry a valid tag, so this is what exercises everything past the tag check.)
 *
 * FUZZ_KEY and FUZZ_CLUSTER are also in corpus_gen.c, so its seed frames verify here.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire_frame.h"

#define FUZZ_CLUSTER 0x7672667363303031ULL /* also in corpus_gen.c */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The key is the bytes 0, 1, ..., 31 (also in corpus_gen.c). */
static void fuzz_key(uint8_t key[WIRE_FRAME_KEY_SIZE])
{
	for (int i = 0; i < WIRE_FRAME_KEY_SIZE; i++)
		key[i] = (uint8_t)i;
}

static void fuzz_as_frame(const uint8_t *buf, size_t size, const uint8_t *key)
{
	struct wire_frame_header h, h2;
	const uint8_t *body = NULL;
	const char *why = NULL, *why2 = NULL;
	int rc, rc2;
	uint8_t *out;
	size_t out_len;

	rc = wire_frame_decode(buf, size, key, FUZZ_CLUSTER, &h, &body, &why);
	if ((rc == 0) != (why == NULL))
		abort();
	if (rc != 0 && rc != -EBADMSG && rc != -EXDEV)
		abort();

	/* The stream path: header alone, then the body it announces. */
	if (size >= WIRE_FRAME_HEADER_SIZE) {
		rc2 = wire_frame_decode_header(buf, WIRE_FRAME_HEADER_SIZE, &h2, &why2);
		if (rc2 == 0 && size - WIRE_FRAME_HEADER_SIZE == h2.body_len)
			rc2 = wire_frame_verify(&h2, buf, buf + WIRE_FRAME_HEADER_SIZE, key, FUZZ_CLUSTER, &why2);
		else if (rc2 == 0)
			rc2 = -EBADMSG; /* decode: truncated or trailing */
		if (rc2 != rc)
			abort();
	}
	if (rc != 0)
		return;
	if (body != buf + WIRE_FRAME_HEADER_SIZE || h.body_len != size - WIRE_FRAME_HEADER_SIZE)
		abort();
	out = malloc(size);
	if (!out)
		abort();
	if (wire_frame_encode(h.type, h.cluster_id, body, h.body_len, key, out, size, &out_len) != 0)
		abort();
	if (out_len != size || memcmp(out, buf, size) != 0)
		abort(); /* an accepted frame is exactly what the encoder writes */
	free(out);
}

static void fuzz_as_body(const uint8_t *data, size_t size, const uint8_t *key)
{
	size_t body_len = size > WIRE_FRAME_BODY_MAX ? WIRE_FRAME_BODY_MAX : size;
	size_t cap = WIRE_FRAME_HEADER_SIZE + body_len, len = 0, bit;
	uint16_t type = size >= 2 ? (uint16_t)(data[0] | data[1] << 8) : 1;
	uint8_t *out = malloc(cap);
	struct wire_frame_header h;
	const uint8_t *body;
	const char *why;

	if (!out)
		abort();
	if (type == 0)
		type = 1;
	if (wire_frame_encode(type, FUZZ_CLUSTER, data, (uint32_t)body_len, key, out, cap, &len) != 0 || len != cap)
		abort();
	if (wire_frame_decode(out, len, key, FUZZ_CLUSTER, &h, &body, &why) != 0)
		abort();
	if (h.type != type || h.body_len != body_len || (body_len && memcmp(body, data, body_len) != 0))
		abort();
	if (wire_frame_decode(out, len, key, FUZZ_CLUSTER + 1, &h, &body, &why) != -EXDEV)
		abort();
	bit = size >= 4 ? (size_t)(data[2] | data[3] << 8) % (len * 8) : 0;
	out[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	if (wire_frame_decode(out, len, key, FUZZ_CLUSTER, &h, &body, &why) != -EBADMSG)
		abort(); /* a single flipped bit always fails */
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t key[WIRE_FRAME_KEY_SIZE];
	uint8_t *copy = malloc(size ? size : 1);

	if (!copy)
		abort();
	if (size)
		memcpy(copy, data, size);
	fuzz_key(key);
	fuzz_as_frame(copy, size, NULL);
	fuzz_as_frame(copy, size, key);
	fuzz_as_body(copy, size, NULL);
	fuzz_as_body(copy, size, key);
	free(copy);
	return 0;
}
