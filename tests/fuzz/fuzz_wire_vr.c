/*
 * fuzz_wire_vr.c — libFuzzer target for wire_vr_decode (wire/wire_vr.c).
 *
 * Input: the first byte selects the frame type (1 + byte % VR_COMMAND_MAX), the rest is
 * the body. Any input: decoding must not crash, leak, read outside the body or write
 * more than FUZZ_ENTRIES entries; a reject always says why and leaves the message zero.
 * The same body under a frame type that is not a VR command is always refused.
 *
 * An input that decodes: the command is the frame type; body pointers lie inside the
 * input; it re-encodes (the decoder accepts only what the encoder may send) to at most
 * as many bytes; the re-encoding decodes to an equal message and encodes again to the
 * same bytes; and it decodes with room for exactly its entries but not one fewer.
 *
 * The body is copied into a buffer of exactly its size so a read past the end trips ASan.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire_vr.h"

#define FUZZ_ENTRIES 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The decoder's room, one spare slot after it as a canary. */
static struct vr_entry fuzz_entries[FUZZ_ENTRIES + 1], fuzz_entries2[FUZZ_ENTRIES];

static int fuzz_bytes_equal(const void *a, uint32_t a_len, const void *b, uint32_t b_len)
{
	if (a_len != b_len)
		return 0;
	return a_len == 0 || memcmp(a, b, a_len) == 0;
}

static int fuzz_entry_equal(const struct vr_entry *a, const struct vr_entry *b)
{
	return a->op == b->op && a->view == b->view && a->client_id == b->client_id && a->session == b->session &&
	       a->request == b->request && a->timestamp == b->timestamp && a->checksum == b->checksum &&
	       a->parent == b->parent && a->kind == b->kind &&
	       fuzz_bytes_equal(a->body, a->body_len, b->body, b->body_len);
}

static int fuzz_message_equal(const struct vr_message *a, const struct vr_message *b)
{
	if (!(a->command == b->command && a->replica == b->replica && a->status == b->status && a->epoch == b->epoch &&
	      a->view == b->view && a->op == b->op && a->commit == b->commit &&
	      a->last_normal_view == b->last_normal_view && a->nonce == b->nonce && a->client_id == b->client_id &&
	      a->session == b->session && a->request == b->request && a->kind == b->kind &&
	      fuzz_bytes_equal(a->body, a->body_len, b->body, b->body_len) && a->entry_count == b->entry_count))
		return 0;
	for (uint32_t i = 0; i < a->entry_count; i++)
		if (!fuzz_entry_equal(&a->entries[i], &b->entries[i]))
			return 0;
	return 1;
}

static int fuzz_inside(const void *p, size_t n, const uint8_t *buf, size_t len)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)buf;

	return p && a >= lo && a + n <= lo + len;
}

/* A rejected message is all zeros: nothing half-decoded to act on. */
static void fuzz_assert_zero(const struct vr_message *m)
{
	static const struct vr_message zero;

	if (memcmp(m, &zero, sizeof(zero)) != 0)
		abort();
}

static void fuzz_accepted(uint16_t type, const uint8_t *buf, size_t len, const struct vr_message *m)
{
	struct wire_buf enc, enc2;
	struct vr_message m2;
	const char *why = NULL;

	if (m->command != type || m->entry_count > FUZZ_ENTRIES)
		abort();
	if ((m->entry_count == 0) != (m->entries == NULL))
		abort();
	if (m->entries && m->entries != fuzz_entries)
		abort();
	if (!fuzz_inside(m->body, m->body_len, buf, len) || m->kind > VR_KIND_RECONFIGURE ||
	    m->replica > WIRE_VR_REPLICA_MAX || m->body_len > WIRE_VR_BODY_MAX)
		abort();
	for (uint32_t i = 0; i < m->entry_count; i++) {
		const struct vr_entry *e = &m->entries[i];

		if (!fuzz_inside(e->body, e->body_len, buf, len) ||
		    (e->kind < VR_KIND_OP || e->kind > VR_KIND_RECONFIGURE))
			abort();
	}

	wire_buf_init(&enc);
	wire_buf_init(&enc2);
	if (wire_vr_encode(m, &enc) != 0)
		abort(); /* decoded but does not re-encode */
	if (enc.len > len)
		abort(); /* the canonical form is the shortest */
	if (wire_vr_decode(type, enc.data, enc.len, &m2, fuzz_entries2, FUZZ_ENTRIES, &why) != 0 || why)
		abort(); /* re-encoding does not decode */
	if (!fuzz_message_equal(m, &m2))
		abort(); /* round trip changed the message */
	if (wire_vr_encode(&m2, &enc2) != 0)
		abort();
	if (enc.len != enc2.len || memcmp(enc.data, enc2.data, enc.len) != 0)
		abort(); /* encoding not canonical */

	/* Room for exactly the entries is enough; one fewer is refused before any is written. */
	if (wire_vr_decode(type, enc.data, enc.len, &m2, fuzz_entries2, m->entry_count, &why) != 0)
		abort();
	if (m->entry_count &&
	    (wire_vr_decode(type, enc.data, enc.len, &m2, fuzz_entries2, m->entry_count - 1, &why) != -EBADMSG ||
	     strcmp(why, "vr: too many entries") != 0))
		abort();
	wire_buf_free(&enc);
	wire_buf_free(&enc2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t not_vr[] = { 0, VR_COMMAND_MAX + 1, WIRE_MSG_REDIRECT, UINT16_MAX };
	struct vr_message m;
	const char *why = NULL;
	uint16_t type;
	uint8_t *copy;
	size_t len;
	int rc;

	if (size == 0)
		return 0;
	type = (uint16_t)(1 + data[0] % VR_COMMAND_MAX);
	len = size - 1;
	copy = malloc(len ? len : 1);
	if (!copy)
		abort();
	if (len)
		memcpy(copy, data + 1, len);

	memset(&fuzz_entries[FUZZ_ENTRIES], 0xee, sizeof(fuzz_entries[FUZZ_ENTRIES]));
	rc = wire_vr_decode(type, copy, len, &m, fuzz_entries, FUZZ_ENTRIES, &why);
	if (fuzz_entries[FUZZ_ENTRIES].op != 0xeeeeeeeeeeeeeeeeULL)
		abort(); /* wrote past entries_max */
	if (rc == 0) {
		if (why)
			abort();
		fuzz_accepted(type, copy, len, &m);
	} else {
		if (rc != -EBADMSG || !why)
			abort(); /* a reject always says why */
		fuzz_assert_zero(&m);
	}
	for (size_t i = 0; i < sizeof(not_vr) / sizeof(not_vr[0]); i++) {
		why = NULL;
		if (wire_vr_decode(not_vr[i], copy, len, &m, fuzz_entries, FUZZ_ENTRIES, &why) != -EBADMSG || !why)
			abort();
	}
	free(copy);
	return 0;
}
