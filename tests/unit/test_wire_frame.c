/*
 * test_wire_frame.c — unit tests of the frame header and its checksum/MAC
 * (wire/wire_frame.c): round trips with and without a key, golden header bytes, every
 * reject reason with its exact `why`, every single-bit flip of a small frame, key
 * mismatches, another cluster, and a too-small output buffer.
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
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wire/wire_frame.h"

#define TF_CLUSTER 0x0123456789abcdefULL
#define TF_TYPE    7

static const uint8_t tf_key[WIRE_FRAME_KEY_SIZE] = "0123456789abcdef0123456789abcdef";
static const uint8_t tf_key2[WIRE_FRAME_KEY_SIZE] = "0123456789abcdef0123456789abcdeF";
static const uint8_t tf_body[] = "hello, replica";

/* A frame of tf_body (or of body/body_len) into a fresh malloc'd buffer of exactly its size. */
static uint8_t *tf_frame(const uint8_t *body, uint32_t body_len, const uint8_t *key, uint64_t cluster, size_t *len)
{
	size_t cap = WIRE_FRAME_HEADER_SIZE + (size_t)body_len;
	uint8_t *out = malloc(cap);

	assert_non_null(out);
	assert_int_equal(wire_frame_encode(TF_TYPE, cluster, body, body_len, key, out, cap, len), 0);
	assert_int_equal(*len, cap);
	return out;
}

/* Decodes a copy of buf[0..len) and checks the result and why. */
static void tf_expect(const uint8_t *buf, size_t len, const uint8_t *key, int rc_expected, const char *why_expected)
{
	uint8_t *copy = malloc(len ? len : 1);
	struct wire_frame_header h;
	const uint8_t *body = NULL;
	const char *why = "unset";
	int rc;

	assert_non_null(copy);
	if (len)
		memcpy(copy, buf, len);
	rc = wire_frame_decode(copy, len, key, TF_CLUSTER, &h, &body, &why);
	assert_int_equal(rc, rc_expected);
	if (why_expected)
		assert_string_equal(why, why_expected);
	else
		assert_null(why);
	free(copy);
}

/* Rewrites header bytes of a valid frame and recomputes nothing: header checks come first. */
static void tf_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- Round trips ------------------------------------------------------------------------ */

static void tf_round_trip(const uint8_t *key)
{
	size_t len;
	uint8_t *f = tf_frame(tf_body, sizeof(tf_body), key, TF_CLUSTER, &len);
	struct wire_frame_header h;
	const uint8_t *body = NULL;
	const char *why = "unset";

	assert_int_equal(wire_frame_decode(f, len, key, TF_CLUSTER, &h, &body, &why), 0);
	assert_null(why);
	assert_int_equal(h.magic, WIRE_FRAME_MAGIC);
	assert_int_equal(h.version, WIRE_FRAME_VERSION);
	assert_int_equal(h.type, TF_TYPE);
	assert_true(h.cluster_id == TF_CLUSTER);
	assert_int_equal(h.body_len, sizeof(tf_body));
	assert_int_equal(h.reserved, 0);
	assert_ptr_equal(body, f + WIRE_FRAME_HEADER_SIZE);
	assert_memory_equal(body, tf_body, sizeof(tf_body));

	/* The stream reader's path gives the same answer. */
	why = "unset";
	assert_int_equal(wire_frame_decode_header(f, WIRE_FRAME_HEADER_SIZE, &h, &why), 0);
	assert_null(why);
	assert_int_equal(wire_frame_verify(&h, f, f + WIRE_FRAME_HEADER_SIZE, key, TF_CLUSTER, &why), 0);
	assert_null(why);
	free(f);
}

static void test_round_trip_checksum(void **state)
{
	(void)state;
	tf_round_trip(NULL);
}

static void test_round_trip_mac(void **state)
{
	(void)state;
	tf_round_trip(tf_key);
}

static void test_round_trip_empty_body(void **state)
{
	size_t len;
	uint8_t *f;
	struct wire_frame_header h;
	const uint8_t *body = NULL;
	const char *why;

	(void)state;
	for (int k = 0; k < 2; k++) {
		f = tf_frame(NULL, 0, k ? tf_key : NULL, TF_CLUSTER, &len);
		assert_int_equal(len, WIRE_FRAME_HEADER_SIZE);
		assert_int_equal(wire_frame_decode(f, len, k ? tf_key : NULL, TF_CLUSTER, &h, &body, &why), 0);
		assert_int_equal(h.body_len, 0);
		assert_ptr_equal(body, f + WIRE_FRAME_HEADER_SIZE);
		free(f);
	}
}

/* The largest body travels; one byte more is refused by the encoder. */
static void test_round_trip_body_max(void **state)
{
	size_t cap = WIRE_FRAME_SIZE_MAX, len = 0;
	uint8_t *body = calloc(1, WIRE_FRAME_BODY_MAX + 1);
	uint8_t *out = malloc(cap + 1);
	struct wire_frame_header h;
	const uint8_t *b;
	const char *why;

	(void)state;
	assert_non_null(body);
	assert_non_null(out);
	body[WIRE_FRAME_BODY_MAX - 1] = 0x5a;
	assert_int_equal(wire_frame_encode(TF_TYPE, TF_CLUSTER, body, WIRE_FRAME_BODY_MAX, tf_key, out, cap, &len), 0);
	assert_int_equal(len, cap);
	assert_int_equal(wire_frame_decode(out, len, tf_key, TF_CLUSTER, &h, &b, &why), 0);
	assert_memory_equal(b, body, WIRE_FRAME_BODY_MAX);
	len = 0;
	assert_int_equal(
	        wire_frame_encode(TF_TYPE, TF_CLUSTER, body, WIRE_FRAME_BODY_MAX + 1, tf_key, out, cap + 1, &len),
	        -EMSGSIZE);
	assert_int_equal(len, 0);
	free(body);
	free(out);
}

/* The body may already sit where the frame puts it (encode in place, then frame). */
static void test_encode_in_place(void **state)
{
	uint8_t buf[WIRE_FRAME_HEADER_SIZE + sizeof(tf_body)];
	size_t len, len2;
	uint8_t *ref = tf_frame(tf_body, sizeof(tf_body), tf_key, TF_CLUSTER, &len);

	(void)state;
	memcpy(buf + WIRE_FRAME_HEADER_SIZE, tf_body, sizeof(tf_body));
	assert_int_equal(wire_frame_encode(TF_TYPE, TF_CLUSTER, buf + WIRE_FRAME_HEADER_SIZE, sizeof(tf_body), tf_key,
	                                   buf, sizeof(buf), &len2),
	                 0);
	assert_int_equal(len2, len);
	assert_memory_equal(buf, ref, len);
	free(ref);
}

/* Golden bytes pin the header layout (the tag is BLAKE2b's business, checked below). */
static void test_golden_header(void **state)
{
	static const uint8_t want[WIRE_FRAME_TAGGED_SIZE] = {
		'V',  'R',  'F',  'S',  0x01, 0x00, 0x07, 0x00, 0xef, 0xcd, 0xab, 0x89,
		0x67, 0x45, 0x23, 0x01, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	uint8_t tag[WIRE_FRAME_TAG_SIZE];
	uint8_t msg[WIRE_FRAME_TAGGED_SIZE + sizeof(tf_body)];
	size_t len;
	uint8_t *f;

	(void)state;
	for (int k = 0; k < 2; k++) {
		f = tf_frame(tf_body, sizeof(tf_body), k ? tf_key : NULL, TF_CLUSTER, &len);
		assert_memory_equal(f, want, sizeof(want));
		/* The tag is BLAKE2b-128 of header bytes 0..23 and the body, keyed with the cluster key. */
		memcpy(msg, want, sizeof(want));
		memcpy(msg + sizeof(want), tf_body, sizeof(tf_body));
		assert_int_equal(crypto_generichash(tag, sizeof(tag), msg, sizeof(msg), k ? tf_key : NULL,
		                                    k ? WIRE_FRAME_KEY_SIZE : 0),
		                 0);
		assert_memory_equal(f + WIRE_FRAME_TAGGED_SIZE, tag, sizeof(tag));
		free(f);
	}
}

/* ---- Rejects -------------------------------------------------------------------------- */

static void test_short_header(void **state)
{
	size_t len;
	uint8_t *f = tf_frame(tf_body, sizeof(tf_body), NULL, TF_CLUSTER, &len);
	struct wire_frame_header h;
	const char *why;

	(void)state;
	for (size_t n = 0; n < WIRE_FRAME_HEADER_SIZE; n++)
		tf_expect(f, n, NULL, -EBADMSG, "frame: short header");
	assert_int_equal(wire_frame_decode_header(f, WIRE_FRAME_HEADER_SIZE - 1, &h, &why), -EBADMSG);
	assert_string_equal(why, "frame: short header");
	/* More than the header is a caller bug. */
	assert_int_equal(wire_frame_decode_header(f, WIRE_FRAME_HEADER_SIZE + 1, &h, &why), -EINVAL);
	free(f);
}

/* One header field changed: the header checks answer before the tag is looked at. */
static void tf_expect_header_field(size_t offset, uint32_t value, const char *why_expected)
{
	size_t len;
	uint8_t *f = tf_frame(tf_body, sizeof(tf_body), NULL, TF_CLUSTER, &len);
	struct wire_frame_header h;
	const char *why;

	if (offset == 4 || offset == 6) {
		f[offset] = (uint8_t)value;
		f[offset + 1] = (uint8_t)(value >> 8);
	} else {
		tf_put32(f + offset, value);
	}
	tf_expect(f, len, NULL, -EBADMSG, why_expected);
	assert_int_equal(wire_frame_decode_header(f, WIRE_FRAME_HEADER_SIZE, &h, &why), -EBADMSG);
	assert_string_equal(why, why_expected);
	free(f);
}

static void test_bad_magic(void **state)
{
	(void)state;
	tf_expect_header_field(0, 0x53465257, "frame: bad magic");
	tf_expect_header_field(0, 0x56524653, "frame: bad magic"); /* big-endian "VRFS" */
	tf_expect_header_field(0, 0, "frame: bad magic");
}

static void test_bad_version(void **state)
{
	(void)state;
	tf_expect_header_field(4, 2, "frame: unknown version");
	tf_expect_header_field(4, 0, "frame: unknown version");
	tf_expect_header_field(4, 0x100, "frame: unknown version");
}

static void test_reserved_nonzero(void **state)
{
	(void)state;
	tf_expect_header_field(20, 1, "frame: reserved field not zero");
	tf_expect_header_field(20, 0x80000000u, "frame: reserved field not zero");
}

static void test_type_zero(void **state)
{
	uint8_t out[WIRE_FRAME_HEADER_SIZE];
	size_t len = 0;

	(void)state;
	tf_expect_header_field(6, 0, "frame: type 0");
	/* The encoder refuses it too. */
	assert_int_equal(wire_frame_encode(0, TF_CLUSTER, NULL, 0, NULL, out, sizeof(out), &len), -EINVAL);
}

static void test_body_too_long(void **state)
{
	(void)state;
	tf_expect_header_field(16, WIRE_FRAME_BODY_MAX + 1, "frame: body too long");
	tf_expect_header_field(16, UINT32_MAX, "frame: body too long");
}

static void test_truncated_body_and_trailing_bytes(void **state)
{
	size_t len;
	uint8_t *f = tf_frame(tf_body, sizeof(tf_body), tf_key, TF_CLUSTER, &len);
	uint8_t *longer = calloc(1, len + 16);

	(void)state;
	assert_non_null(longer);
	for (size_t n = WIRE_FRAME_HEADER_SIZE; n < len; n++)
		tf_expect(f, n, tf_key, -EBADMSG, "frame: truncated body");
	memcpy(longer, f, len);
	for (size_t extra = 1; extra <= 16; extra++)
		tf_expect(longer, len + extra, tf_key, -EBADMSG, "frame: trailing bytes");
	free(longer);
	free(f);
}

/* Every single-bit flip anywhere in a small frame is caught: by a header check or by the tag. */
static void tf_every_bit(const uint8_t *key, const char *why_tag)
{
	static const uint8_t body[] = { 0x93, 0x01, 0x02, 0x03 };
	size_t len;
	uint8_t *f = tf_frame(body, sizeof(body), key, TF_CLUSTER, &len);
	struct wire_frame_header h;
	const uint8_t *b;
	const char *why;
	int by_tag = 0;

	for (size_t bit = 0; bit < len * 8; bit++) {
		f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		why = NULL;
		int rc = wire_frame_decode(f, len, key, TF_CLUSTER, &h, &b, &why);
		assert_int_equal(rc, -EBADMSG);
		assert_non_null(why);
		/* Bits of the tagged fields that pass the header checks, and of the tag and body. */
		if (strcmp(why, why_tag) == 0)
			by_tag++;
		else
			assert_true(bit < 24 * 8); /* only a header field can fail otherwise */
		f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* The cluster id (64 bits), tag (128) and body (32) at least are caught by the tag alone. */
	assert_true(by_tag >= 64 + 128 + 32);
	assert_int_equal(wire_frame_decode(f, len, key, TF_CLUSTER, &h, &b, &why), 0);
	free(f);
}

static void test_bit_flips_checksum(void **state)
{
	(void)state;
	tf_every_bit(NULL, "frame: bad checksum");
}

static void test_bit_flips_mac(void **state)
{
	(void)state;
	tf_every_bit(tf_key, "frame: bad MAC");
}

static void test_wrong_key(void **state)
{
	size_t len;
	uint8_t *f = tf_frame(tf_body, sizeof(tf_body), tf_key, TF_CLUSTER, &len);

	(void)state;
	tf_expect(f, len, tf_key2, -EBADMSG, "frame: bad MAC");
	free(f);
}

static void test_key_mismatch_both_ways(void **state)
{
	size_t len;
	uint8_t *f = tf_frame(tf_body, sizeof(tf_body), tf_key, TF_CLUSTER, &len);

	(void)state;
	tf_expect(f, len, NULL, -EBADMSG, "frame: bad checksum"); /* made with a key, checked without */
	free(f);
	f = tf_frame(tf_body, sizeof(tf_body), NULL, TF_CLUSTER, &len);
	tf_expect(f, len, tf_key, -EBADMSG, "frame: bad MAC"); /* made without, checked with */
	free(f);
}

static void test_other_cluster(void **state)
{
	size_t len;
	uint8_t *f;
	struct wire_frame_header h;
	const char *why;

	(void)state;
	for (int k = 0; k < 2; k++) {
		f = tf_frame(tf_body, sizeof(tf_body), k ? tf_key : NULL, TF_CLUSTER + 1, &len);
		tf_expect(f, len, k ? tf_key : NULL, -EXDEV, "frame: other cluster");
		assert_int_equal(wire_frame_decode_header(f, WIRE_FRAME_HEADER_SIZE, &h, &why), 0);
		assert_int_equal(
		        wire_frame_verify(&h, f, f + WIRE_FRAME_HEADER_SIZE, k ? tf_key : NULL, TF_CLUSTER, &why),
		        -EXDEV);
		assert_string_equal(why, "frame: other cluster");
		free(f);
	}
}

static void test_verify_bad_tag_via_stream_path(void **state)
{
	size_t len;
	uint8_t *f = tf_frame(tf_body, sizeof(tf_body), tf_key, TF_CLUSTER, &len);
	struct wire_frame_header h;
	const char *why;

	(void)state;
	assert_int_equal(wire_frame_decode_header(f, WIRE_FRAME_HEADER_SIZE, &h, &why), 0);
	f[len - 1] ^= 1;
	assert_int_equal(wire_frame_verify(&h, f, f + WIRE_FRAME_HEADER_SIZE, tf_key, TF_CLUSTER, &why), -EBADMSG);
	assert_string_equal(why, "frame: bad MAC");
	free(f);
}

static void test_out_too_small(void **state)
{
	uint8_t out[WIRE_FRAME_HEADER_SIZE + sizeof(tf_body)];
	uint8_t before[sizeof(out)];
	size_t len = 12345;

	(void)state;
	memset(out, 0xa5, sizeof(out));
	memcpy(before, out, sizeof(out));
	for (size_t n = 0; n < sizeof(out); n++) {
		assert_int_equal(wire_frame_encode(TF_TYPE, TF_CLUSTER, tf_body, sizeof(tf_body), tf_key, out, n, &len),
		                 -EMSGSIZE);
		assert_int_equal(len, 12345);
		assert_memory_equal(out, before, sizeof(out));
	}
	assert_int_equal(
	        wire_frame_encode(TF_TYPE, TF_CLUSTER, tf_body, sizeof(tf_body), tf_key, out, sizeof(out), &len), 0);
	assert_int_equal(len, sizeof(out));
}

static void test_encode_bad_arguments(void **state)
{
	uint8_t out[WIRE_FRAME_HEADER_SIZE + 8];
	size_t len;

	(void)state;
	assert_int_equal(wire_frame_encode(TF_TYPE, TF_CLUSTER, NULL, 1, NULL, out, sizeof(out), &len), -EINVAL);
	assert_int_equal(wire_frame_encode(TF_TYPE, TF_CLUSTER, tf_body, 1, NULL, NULL, 100, &len), -EINVAL);
}

/* Seeded random bytes, and random bytes behind a valid header: never accepted, never a crash. */
static void test_random_bytes(void **state)
{
	uint8_t *buf;
	size_t len;
	struct wire_frame_header h;
	const uint8_t *b;
	const char *why;

	(void)state;
	srand(1);
	for (int i = 0; i < 20000; i++) {
		len = (size_t)(rand() % 96);
		buf = malloc(len ? len : 1);
		assert_non_null(buf);
		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t)rand();
		if (i % 2 && len >= 24) {
			tf_put32(buf + 0, WIRE_FRAME_MAGIC);
			buf[4] = 1;
			buf[5] = 0;
			tf_put32(buf + 16,
			         (uint32_t)(len >= WIRE_FRAME_HEADER_SIZE ? len - WIRE_FRAME_HEADER_SIZE : 0));
			tf_put32(buf + 20, 0);
		}
		why = NULL;
		assert_int_equal(wire_frame_decode(buf, len, (i % 4) < 2 ? NULL : tf_key, TF_CLUSTER, &h, &b, &why),
		                 -EBADMSG);
		assert_non_null(why);
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_checksum),
		cmocka_unit_test(test_round_trip_mac),
		cmocka_unit_test(test_round_trip_empty_body),
		cmocka_unit_test(test_round_trip_body_max),
		cmocka_unit_test(test_encode_in_place),
		cmocka_unit_test(test_golden_header),
		cmocka_unit_test(test_short_header),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_bad_version),
		cmocka_unit_test(test_reserved_nonzero),
		cmocka_unit_test(test_type_zero),
		cmocka_unit_test(test_body_too_long),
		cmocka_unit_test(test_truncated_body_and_trailing_bytes),
		cmocka_unit_test(test_bit_flips_checksum),
		cmocka_unit_test(test_bit_flips_mac),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_key_mismatch_both_ways),
		cmocka_unit_test(test_other_cluster),
		cmocka_unit_test(test_verify_bad_tag_via_stream_path),
		cmocka_unit_test(test_out_too_small),
		cmocka_unit_test(test_encode_bad_arguments),
		cmocka_unit_test(test_random_bytes),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
