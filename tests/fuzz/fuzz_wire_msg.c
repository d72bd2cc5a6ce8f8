/*
 * fuzz_wire_msg.c — libFuzzer target for the daemon message decoders (wire/wire_vr.c):
 * redirect, status_request, status, snapshot_request, snapshot_chunk, epoch, epoch_started.
 *
 * Input: the first byte selects the decoder (byte % FUZZ_MSG_COUNT, in the order above),
 * the rest is the body. Any input: decoding must not crash, leak or read outside the
 * body; a reject always says why. An input that decodes: it meets the limits of
 * wire_vr.h, re-encodes to at most as many bytes, the re-encoding decodes to an equal
 * message, and encoding that again gives the same bytes.
 *
 * The body is copied into a buffer of exactly its size so a read past the end trips ASan.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire_vr.h"

enum fuzz_msg {
	FUZZ_REDIRECT,
	FUZZ_STATUS_REQUEST,
	FUZZ_STATUS,
	FUZZ_SNAPSHOT_REQUEST,
	FUZZ_SNAPSHOT_CHUNK,
	FUZZ_EPOCH,
	FUZZ_EPOCH_STARTED,
	FUZZ_MSG_COUNT, /* also in corpus_gen.c, which writes the selector bytes */
};

struct fuzz_any {
	union {
		struct wire_redirect redirect;
		struct wire_status_request status_request;
		struct wire_status status;
		struct wire_snapshot_request snapshot_request;
		struct wire_snapshot_chunk snapshot_chunk;
		struct wire_epoch epoch;
		struct wire_epoch_started epoch_started;
	} u;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_decode(enum fuzz_msg which, const uint8_t *buf, size_t len, struct fuzz_any *m, const char **why)
{
	switch (which) {
	case FUZZ_REDIRECT:
		return wire_redirect_decode(buf, len, &m->u.redirect, why);
	case FUZZ_STATUS_REQUEST:
		return wire_status_request_decode(buf, len, &m->u.status_request, why);
	case FUZZ_STATUS:
		return wire_status_decode(buf, len, &m->u.status, why);
	case FUZZ_SNAPSHOT_REQUEST:
		return wire_snapshot_request_decode(buf, len, &m->u.snapshot_request, why);
	case FUZZ_SNAPSHOT_CHUNK:
		return wire_snapshot_chunk_decode(buf, len, &m->u.snapshot_chunk, why);
	case FUZZ_EPOCH:
		return wire_epoch_decode(buf, len, &m->u.epoch, why);
	case FUZZ_EPOCH_STARTED:
		return wire_epoch_started_decode(buf, len, &m->u.epoch_started, why);
	case FUZZ_MSG_COUNT:
		break;
	}
	abort();
}

static int fuzz_encode(enum fuzz_msg which, const struct fuzz_any *m, struct wire_buf *b)
{
	switch (which) {
	case FUZZ_REDIRECT:
		return wire_redirect_encode(&m->u.redirect, b);
	case FUZZ_STATUS_REQUEST:
		return wire_status_request_encode(&m->u.status_request, b);
	case FUZZ_STATUS:
		return wire_status_encode(&m->u.status, b);
	case FUZZ_SNAPSHOT_REQUEST:
		return wire_snapshot_request_encode(&m->u.snapshot_request, b);
	case FUZZ_SNAPSHOT_CHUNK:
		return wire_snapshot_chunk_encode(&m->u.snapshot_chunk, b);
	case FUZZ_EPOCH:
		return wire_epoch_encode(&m->u.epoch, b);
	case FUZZ_EPOCH_STARTED:
		return wire_epoch_started_encode(&m->u.epoch_started, b);
	case FUZZ_MSG_COUNT:
		break;
	}
	abort();
}

static int fuzz_chunk_equal(const struct wire_snapshot_chunk *a, const struct wire_snapshot_chunk *b)
{
	return a->replica == b->replica && a->snapshot_op == b->snapshot_op && a->head == b->head &&
	       a->view == b->view && a->epoch == b->epoch && a->total == b->total && a->offset == b->offset &&
	       memcmp(a->digest, b->digest, sizeof(a->digest)) == 0 && a->data_len == b->data_len &&
	       (a->data_len == 0 || memcmp(a->data, b->data, a->data_len) == 0);
}

static int fuzz_equal(enum fuzz_msg which, const struct fuzz_any *a, const struct fuzz_any *b)
{
	const struct wire_redirect *ra = &a->u.redirect, *rb = &b->u.redirect;
	const struct wire_status *sa = &a->u.status, *sb = &b->u.status;
	const struct wire_snapshot_request *qa = &a->u.snapshot_request, *qb = &b->u.snapshot_request;
	const struct wire_epoch *ea = &a->u.epoch, *eb = &b->u.epoch;
	const struct wire_epoch_started *ta = &a->u.epoch_started, *tb = &b->u.epoch_started;

	switch (which) {
	case FUZZ_REDIRECT:
		return ra->replica == rb->replica && ra->status == rb->status && ra->primary == rb->primary &&
		       ra->view == rb->view;
	case FUZZ_STATUS_REQUEST:
		return a->u.status_request.nonce == b->u.status_request.nonce;
	case FUZZ_STATUS:
		return sa->nonce == sb->nonce && sa->replica == sb->replica && sa->replica_count == sb->replica_count &&
		       sa->status == sb->status && sa->primary == sb->primary && sa->view == sb->view &&
		       sa->op == sb->op && sa->commit == sb->commit && sa->checkpoint == sb->checkpoint &&
		       sa->log_ops == sb->log_ops && sa->log_bytes == sb->log_bytes &&
		       sa->frames_bad == sb->frames_bad && sa->uptime_ms == sb->uptime_ms && sa->reads == sb->reads &&
		       sa->lease_reads == sb->lease_reads && sa->prepares == sb->prepares &&
		       sa->prepare_ops == sb->prepare_ops && sa->epoch == sb->epoch;
	case FUZZ_SNAPSHOT_REQUEST:
		return qa->replica == qb->replica && qa->min_op == qb->min_op && qa->snapshot_op == qb->snapshot_op &&
		       qa->offset == qb->offset;
	case FUZZ_SNAPSHOT_CHUNK:
		return fuzz_chunk_equal(&a->u.snapshot_chunk, &b->u.snapshot_chunk);
	case FUZZ_EPOCH:
		return ea->epoch == eb->epoch && ea->op == eb->op && ea->head == eb->head &&
		       ea->members_len == eb->members_len && memcmp(ea->members, eb->members, ea->members_len) == 0;
	case FUZZ_EPOCH_STARTED:
		return ta->epoch == tb->epoch && ta->replica == tb->replica;
	case FUZZ_MSG_COUNT:
		break;
	}
	abort();
}

/* The limits wire_vr.h promises of a decoded message. */
static int fuzz_within_limits(enum fuzz_msg which, const struct fuzz_any *m, const uint8_t *buf, size_t len)
{
	const struct wire_snapshot_chunk *c = &m->u.snapshot_chunk;
	const struct wire_epoch *e = &m->u.epoch;
	uintptr_t p = (uintptr_t)c->data, lo = (uintptr_t)buf, q = (uintptr_t)e->members;

	switch (which) {
	case FUZZ_REDIRECT:
		return m->u.redirect.replica <= WIRE_VR_REPLICA_MAX && m->u.redirect.primary <= WIRE_VR_REPLICA_MAX;
	case FUZZ_STATUS_REQUEST:
		return 1;
	case FUZZ_STATUS:
		return m->u.status.replica <= WIRE_VR_REPLICA_MAX && m->u.status.primary <= WIRE_VR_REPLICA_MAX &&
		       m->u.status.replica_count <= WIRE_VR_REPLICA_MAX + 1;
	case FUZZ_SNAPSHOT_REQUEST:
		return m->u.snapshot_request.replica <= WIRE_VR_REPLICA_MAX;
	case FUZZ_SNAPSHOT_CHUNK:
		return c->replica <= WIRE_VR_REPLICA_MAX && c->data_len <= WIRE_SNAPSHOT_CHUNK_MAX && c->data &&
		       p >= lo && p + c->data_len <= lo + len && c->data_len <= c->total &&
		       c->offset <= c->total - c->data_len;
	case FUZZ_EPOCH:
		return e->members_len >= 1 && e->members_len <= WIRE_EPOCH_MEMBERS_MAX && e->members && q >= lo &&
		       q + e->members_len <= lo + len;
	case FUZZ_EPOCH_STARTED:
		return m->u.epoch_started.replica <= WIRE_VR_REPLICA_MAX;
	case FUZZ_MSG_COUNT:
		break;
	}
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_any m, m2;
	struct wire_buf enc, enc2;
	enum fuzz_msg which;
	const char *why = NULL;
	uint8_t *copy;
	size_t len;
	int rc;

	if (size == 0)
		return 0;
	which = (enum fuzz_msg)(data[0] % FUZZ_MSG_COUNT);
	len = size - 1;
	copy = malloc(len ? len : 1);
	if (!copy)
		abort();
	if (len)
		memcpy(copy, data + 1, len);

	rc = fuzz_decode(which, copy, len, &m, &why);
	if (rc != 0) {
		if (rc != -EBADMSG || !why)
			abort(); /* a reject always says why */
		free(copy);
		return 0;
	}
	if (why || !fuzz_within_limits(which, &m, copy, len))
		abort();
	wire_buf_init(&enc);
	wire_buf_init(&enc2);
	if (fuzz_encode(which, &m, &enc) != 0)
		abort(); /* decoded but does not re-encode */
	if (enc.len > len)
		abort(); /* the canonical form is the shortest */
	if (fuzz_decode(which, enc.data, enc.len, &m2, &why) != 0)
		abort(); /* re-encoding does not decode */
	if (!fuzz_equal(which, &m, &m2))
		abort(); /* round trip changed the message */
	if (fuzz_encode(which, &m2, &enc2) != 0)
		abort();
	if (enc.len != enc2.len || memcmp(enc.data, enc2.data, enc.len) != 0)
		abort(); /* encoding not canonical */
	wire_buf_free(&enc);
	wire_buf_free(&enc2);
	free(copy);
	return 0;
}
