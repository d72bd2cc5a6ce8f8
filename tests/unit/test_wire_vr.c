/*
 * test_wire_vr.c — unit tests of the VR message and daemon message encodings
 * (wire/wire_vr.c): round trips of every VR command with realistic fields (bodies are
 * real encoded fs ops and results), extremes and zeros, golden bytes that pin the
 * format, the encoder's refusals, a corpus of malformed bodies each hitting one reject
 * reason with its exact `why`, every field swapped for a wrong type, every truncation
 * of valid encodings, trailing bytes, frame types that are not VR commands, the
 * entries_max bound, and seeded random and mutated bytes.
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
#include "wire/wire_vr.h"

/* ---- Fixture ------------------------------------------------------------------------- */

#define FX_ENTRIES 64 /* the decoder's room in most tests */

/* A byte string longer than any limit here: 'b' everywhere, filled by main. */
#define FX_BIG_SIZE (WIRE_FRAME_BODY_MAX + 1)
static uint8_t fx_big[FX_BIG_SIZE];

/* A real encoded fs op (a WRITE) and result, as a REQUEST/entry body and a REPLY body. */
static struct wire_buf fx_op_body, fx_result_body;

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

/* Entry i of a log: checksums chain through parent, every fifth entry registers a session. */
static struct vr_entry fx_entry(uint32_t i)
{
	struct vr_entry e = {
		.op = 100 + i,
		.view = 3,
		.client_id = 0x1122334455667788ULL + i,
		.session = 17,
		.request = 5 + i,
		.timestamp = 1700000000123456789ULL + 1000 * i,
		.checksum = 0x9e3779b97f4a7c15ULL * (i + 1),
		.parent = 0x9e3779b97f4a7c15ULL * i,
		.kind = VR_KIND_OP,
		.body_len = (uint32_t)fx_op_body.len,
		.body = fx_op_body.data,
	};

	if (i % 5 == 0) {
		e.kind = VR_KIND_REGISTER;
		e.session = 0;
		e.body_len = 0;
		e.body = NULL;
	}
	return e;
}

/* A message of each command as the core would send it, with entries in entries[]. */
static struct vr_message fx_message(uint8_t command, struct vr_entry *entries)
{
	struct vr_message m = { .command = command, .epoch = 1, .view = 3 };
	uint32_t n = 0;

	switch (command) {
	case VR_REQUEST:
		m.client_id = 0x1122334455667788ULL;
		m.session = 17;
		m.request = 42;
		m.kind = VR_KIND_OP;
		m.body = fx_op_body.data;
		m.body_len = (uint32_t)fx_op_body.len;
		break;
	case VR_REPLY:
		m.replica = 2;
		m.status = VR_REPLY_OK;
		m.client_id = 0x1122334455667788ULL;
		m.request = 42;
		m.body = fx_result_body.data;
		m.body_len = (uint32_t)fx_result_body.len;
		break;
	case VR_PREPARE:
		m.op = 101;
		m.commit = 100;
		n = 1;
		break;
	case VR_PREPARE_OK:
		m.replica = 2;
		m.op = 101;
		break;
	case VR_COMMIT:
		m.commit = 101;
		break;
	case VR_START_VIEW_CHANGE:
		m.replica = 1;
		m.view = 4;
		break;
	case VR_DO_VIEW_CHANGE:
		m.replica = 1;
		m.view = 4;
		m.last_normal_view = 3;
		m.op = 103;
		m.commit = 100;
		n = 3;
		break;
	case VR_START_VIEW:
		m.replica = 4;
		m.view = 4;
		m.op = 103;
		m.commit = 101;
		n = 3;
		break;
	case VR_RECOVERY:
		m.replica = 2;
		m.nonce = 0xdeadbeefcafef00dULL;
		break;
	case VR_RECOVERY_RESPONSE:
		m.view = 4;
		m.nonce = 0xdeadbeefcafef00dULL;
		m.op = 103;
		m.commit = 101;
		n = 2;
		break;
	case VR_GET_STATE:
		m.replica = 2;
		m.view = 4;
		m.op = 99;
		break;
	case VR_NEW_STATE:
		m.view = 4;
		m.op = 103;
		m.commit = 101;
		n = 4;
		break;
	case VR_COMMIT_OK:
		m.replica = 2;
		m.view = 4;
		m.nonce = 77;
		break;
	case VR_GET_LOG:
		m.replica = 1;
		m.view = 4;
		m.op = 99;
		m.commit = 60;
		break;
	case VR_LOG:
		m.replica = 2;
		m.view = 4;
		m.op = 103;
		n = 3;
		break;
	default:
		fail_msg("no message for command %u", command);
	}
	for (uint32_t i = 0; i < n; i++)
		entries[i] = fx_entry(i);
	m.entry_count = n;
	m.entries = n ? entries : NULL;
	return m;
}

/* Every integer at its largest, with entries of every kind and long bodies. */
static struct vr_message fx_message_max(uint8_t command, struct vr_entry *entries, uint32_t n)
{
	struct vr_message m = {
		.command = command,
		.replica = WIRE_VR_REPLICA_MAX,
		.status = UINT8_MAX,
		.epoch = UINT64_MAX,
		.view = UINT64_MAX,
		.op = UINT64_MAX,
		.commit = UINT64_MAX,
		.last_normal_view = UINT64_MAX,
		.nonce = UINT64_MAX,
		.client_id = UINT64_MAX,
		.session = UINT64_MAX,
		.request = UINT64_MAX,
		.kind = VR_KIND_RECONFIGURE,
		.body_len = 300,
		.body = fx_big,
		.entry_count = n,
		.entries = n ? entries : NULL,
	};

	static const uint8_t kinds[] = { VR_KIND_REGISTER, VR_KIND_OP, VR_KIND_RECONFIGURE };

	for (uint32_t i = 0; i < n; i++)
		entries[i] = (struct vr_entry){ .op = UINT64_MAX,
			                        .view = UINT64_MAX,
			                        .client_id = UINT64_MAX,
			                        .session = UINT64_MAX,
			                        .request = UINT64_MAX,
			                        .timestamp = UINT64_MAX,
			                        .checksum = UINT64_MAX,
			                        .parent = UINT64_MAX,
			                        .kind = kinds[i % sizeof(kinds)],
			                        .body_len = 70000 + i,
			                        .body = fx_big };
	return m;
}

static void fx_assert_entry_equal(const struct vr_entry *want, const struct vr_entry *got)
{
	assert_int_equal(want->op, got->op);
	assert_int_equal(want->view, got->view);
	assert_int_equal(want->client_id, got->client_id);
	assert_int_equal(want->session, got->session);
	assert_int_equal(want->request, got->request);
	assert_int_equal(want->timestamp, got->timestamp);
	assert_int_equal(want->checksum, got->checksum);
	assert_int_equal(want->parent, got->parent);
	assert_int_equal(want->kind, got->kind);
	fx_assert_bytes(want->body, want->body_len, got->body, got->body_len);
}

static void fx_assert_vr_equal(const struct vr_message *want, const struct vr_message *got)
{
	assert_int_equal(want->command, got->command);
	assert_int_equal(want->replica, got->replica);
	assert_int_equal(want->status, got->status);
	assert_int_equal(want->epoch, got->epoch);
	assert_int_equal(want->view, got->view);
	assert_int_equal(want->op, got->op);
	assert_int_equal(want->commit, got->commit);
	assert_int_equal(want->last_normal_view, got->last_normal_view);
	assert_int_equal(want->nonce, got->nonce);
	assert_int_equal(want->client_id, got->client_id);
	assert_int_equal(want->session, got->session);
	assert_int_equal(want->request, got->request);
	assert_int_equal(want->kind, got->kind);
	fx_assert_bytes(want->body, want->body_len, got->body, got->body_len);
	assert_int_equal(want->entry_count, got->entry_count);
	for (uint32_t i = 0; i < want->entry_count; i++)
		fx_assert_entry_equal(&want->entries[i], &got->entries[i]);
}

/*
 * decode(encode(in)) == in field by field, byte strings point into the buffer (never
 * NULL, even when empty), entries into the caller's array, and re-encoding the decoded
 * message gives the same bytes. entries_max is the decoder's room.
 */
static void fx_vr_roundtrip(const struct vr_message *in, struct vr_entry *room, uint32_t entries_max)
{
	struct wire_buf b, again;
	struct vr_message out;
	const char *why = "unset";
	uint8_t *buf;
	size_t len;

	wire_buf_init(&b);
	wire_buf_init(&again);
	assert_int_equal(wire_vr_encode(in, &b), 0);
	assert_true(b.len <= WIRE_FRAME_BODY_MAX);
	len = b.len;
	buf = fx_copy(b.data, len);

	assert_int_equal(wire_vr_decode(in->command, buf, len, &out, room, entries_max, &why), 0);
	assert_null(why);
	fx_assert_vr_equal(in, &out);
	fx_assert_inside(out.body, out.body_len, buf, len);
	if (out.entry_count)
		assert_ptr_equal(out.entries, room);
	else
		assert_null(out.entries);
	for (uint32_t i = 0; i < out.entry_count; i++)
		fx_assert_inside(out.entries[i].body, out.entries[i].body_len, buf, len);

	assert_int_equal(wire_vr_encode(&out, &again), 0);
	assert_int_equal(again.len, len);
	assert_memory_equal(again.data, buf, len);

	free(buf);
	wire_buf_free(&again);
	wire_buf_free(&b);
}

static void fx_assert_redirect_equal(const struct wire_redirect *a, const struct wire_redirect *b)
{
	assert_int_equal(a->replica, b->replica);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->primary, b->primary);
	assert_int_equal(a->view, b->view);
}

static void fx_assert_status_equal(const struct wire_status *a, const struct wire_status *b)
{
	assert_int_equal(a->nonce, b->nonce);
	assert_int_equal(a->replica, b->replica);
	assert_int_equal(a->replica_count, b->replica_count);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->primary, b->primary);
	assert_int_equal(a->view, b->view);
	assert_int_equal(a->op, b->op);
	assert_int_equal(a->commit, b->commit);
	assert_int_equal(a->checkpoint, b->checkpoint);
	assert_int_equal(a->log_ops, b->log_ops);
	assert_int_equal(a->log_bytes, b->log_bytes);
	assert_int_equal(a->frames_bad, b->frames_bad);
	assert_int_equal(a->uptime_ms, b->uptime_ms);
	assert_int_equal(a->reads, b->reads);
	assert_int_equal(a->lease_reads, b->lease_reads);
	assert_int_equal(a->prepares, b->prepares);
	assert_int_equal(a->prepare_ops, b->prepare_ops);
	assert_int_equal(a->epoch, b->epoch);
	assert_int_equal(a->log_parts, b->log_parts);
	assert_int_equal(a->log_cached, b->log_cached);
	assert_int_equal(a->bodies_read, b->bodies_read);
}

static void fx_assert_snapshot_request_equal(const struct wire_snapshot_request *a,
                                             const struct wire_snapshot_request *b)
{
	assert_int_equal(a->replica, b->replica);
	assert_int_equal(a->min_op, b->min_op);
	assert_int_equal(a->snapshot_op, b->snapshot_op);
	assert_int_equal(a->offset, b->offset);
}

static void fx_assert_snapshot_chunk_equal(const struct wire_snapshot_chunk *a, const struct wire_snapshot_chunk *b)
{
	assert_int_equal(a->replica, b->replica);
	assert_int_equal(a->snapshot_op, b->snapshot_op);
	assert_int_equal(a->head, b->head);
	assert_int_equal(a->view, b->view);
	assert_int_equal(a->epoch, b->epoch);
	assert_int_equal(a->total, b->total);
	assert_int_equal(a->offset, b->offset);
	assert_memory_equal(a->digest, b->digest, WIRE_SNAPSHOT_DIGEST);
	fx_assert_bytes(a->data, a->data_len, b->data, b->data_len);
}

static void fx_assert_epoch_equal(const struct wire_epoch *a, const struct wire_epoch *b)
{
	assert_int_equal(a->epoch, b->epoch);
	assert_int_equal(a->op, b->op);
	assert_int_equal(a->head, b->head);
	fx_assert_bytes(a->members, a->members_len, b->members, b->members_len);
}

/* ---- The daemon messages, as one tagged union for the table-driven tests -------------- */

enum fx_msg {
	FX_REDIRECT,
	FX_STATUS_REQUEST,
	FX_STATUS,
	FX_SNAPSHOT_REQUEST,
	FX_SNAPSHOT_CHUNK,
	FX_EPOCH,
	FX_EPOCH_STARTED,
	FX_MSG_COUNT
};

struct fx_any {
	enum fx_msg which;
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

static const char *const FX_MSG_NAME[FX_MSG_COUNT] = { "redirect",         "status_request", "status",
	                                               "snapshot_request", "snapshot_chunk", "epoch",
	                                               "epoch_started" };

static int fx_any_encode(const struct fx_any *a, struct wire_buf *b)
{
	switch (a->which) {
	case FX_REDIRECT:
		return wire_redirect_encode(&a->u.redirect, b);
	case FX_STATUS_REQUEST:
		return wire_status_request_encode(&a->u.status_request, b);
	case FX_STATUS:
		return wire_status_encode(&a->u.status, b);
	case FX_SNAPSHOT_REQUEST:
		return wire_snapshot_request_encode(&a->u.snapshot_request, b);
	case FX_SNAPSHOT_CHUNK:
		return wire_snapshot_chunk_encode(&a->u.snapshot_chunk, b);
	case FX_EPOCH:
		return wire_epoch_encode(&a->u.epoch, b);
	case FX_EPOCH_STARTED:
		return wire_epoch_started_encode(&a->u.epoch_started, b);
	case FX_MSG_COUNT:
		break;
	}
	fail_msg("bad message kind");
	return -1;
}

static int fx_any_decode(enum fx_msg which, const uint8_t *buf, size_t len, struct fx_any *out, const char **why)
{
	out->which = which;
	switch (which) {
	case FX_REDIRECT:
		return wire_redirect_decode(buf, len, &out->u.redirect, why);
	case FX_STATUS_REQUEST:
		return wire_status_request_decode(buf, len, &out->u.status_request, why);
	case FX_STATUS:
		return wire_status_decode(buf, len, &out->u.status, why);
	case FX_SNAPSHOT_REQUEST:
		return wire_snapshot_request_decode(buf, len, &out->u.snapshot_request, why);
	case FX_SNAPSHOT_CHUNK:
		return wire_snapshot_chunk_decode(buf, len, &out->u.snapshot_chunk, why);
	case FX_EPOCH:
		return wire_epoch_decode(buf, len, &out->u.epoch, why);
	case FX_EPOCH_STARTED:
		return wire_epoch_started_decode(buf, len, &out->u.epoch_started, why);
	case FX_MSG_COUNT:
		break;
	}
	fail_msg("bad message kind");
	return -1;
}

static void fx_assert_any_equal(const struct fx_any *a, const struct fx_any *b)
{
	assert_int_equal(a->which, b->which);
	switch (a->which) {
	case FX_REDIRECT:
		fx_assert_redirect_equal(&a->u.redirect, &b->u.redirect);
		break;
	case FX_STATUS_REQUEST:
		assert_int_equal(a->u.status_request.nonce, b->u.status_request.nonce);
		break;
	case FX_STATUS:
		fx_assert_status_equal(&a->u.status, &b->u.status);
		break;
	case FX_SNAPSHOT_REQUEST:
		fx_assert_snapshot_request_equal(&a->u.snapshot_request, &b->u.snapshot_request);
		break;
	case FX_SNAPSHOT_CHUNK:
		fx_assert_snapshot_chunk_equal(&a->u.snapshot_chunk, &b->u.snapshot_chunk);
		break;
	case FX_EPOCH:
		fx_assert_epoch_equal(&a->u.epoch, &b->u.epoch);
		break;
	case FX_EPOCH_STARTED:
		assert_int_equal(a->u.epoch_started.epoch, b->u.epoch_started.epoch);
		assert_int_equal(a->u.epoch_started.replica, b->u.epoch_started.replica);
		break;
	case FX_MSG_COUNT:
		fail_msg("bad message kind");
	}
}

/* The member list of a typical epoch: four replicas, the fourth new. */
#define FX_MEMBERS "10.0.0.1:7001,10.0.0.2:7001,10.0.0.3:7001,10.0.0.4:7001"

/* A typical message of each kind. */
static struct fx_any fx_any_typical(enum fx_msg which)
{
	struct fx_any a = { .which = which };

	switch (which) {
	case FX_REDIRECT:
		a.u.redirect =
		        (struct wire_redirect){ .replica = 1, .status = VR_STATUS_NORMAL, .primary = 2, .view = 7 };
		break;
	case FX_STATUS_REQUEST:
		a.u.status_request.nonce = 0x0123456789abcdefULL;
		break;
	case FX_STATUS:
		a.u.status = (struct wire_status){ .nonce = 0x0123456789abcdefULL,
			                           .replica = 1,
			                           .replica_count = 3,
			                           .status = VR_STATUS_VIEW_CHANGE,
			                           .primary = 1,
			                           .view = 7,
			                           .op = 12345,
			                           .commit = 12340,
			                           .checkpoint = 12000,
			                           .log_ops = 345,
			                           .log_bytes = 345 * 4200,
			                           .frames_bad = 2,
			                           .uptime_ms = 86400000,
			                           .epoch = 2 };
		break;
	case FX_SNAPSHOT_REQUEST:
		a.u.snapshot_request = (struct wire_snapshot_request){
			.replica = 2, .min_op = 12000, .snapshot_op = 12000, .offset = 1 << 20
		};
		break;
	case FX_SNAPSHOT_CHUNK:
		a.u.snapshot_chunk = (struct wire_snapshot_chunk){ .replica = 0,
			                                           .snapshot_op = 12000,
			                                           .head = 0x9e3779b97f4a7c15ULL,
			                                           .view = 7,
			                                           .epoch = 2,
			                                           .total = 3 << 20,
			                                           .offset = 1 << 20,
			                                           .data_len = 4096,
			                                           .data = fx_big };
		for (int i = 0; i < WIRE_SNAPSHOT_DIGEST; i++)
			a.u.snapshot_chunk.digest[i] = (uint8_t)(0xa0 + i);
		break;
	case FX_EPOCH:
		a.u.epoch = (struct wire_epoch){ .epoch = 2,
			                         .op = 12346,
			                         .head = 0x9e3779b97f4a7c15ULL,
			                         .members_len = sizeof(FX_MEMBERS) - 1,
			                         .members = (const uint8_t *)FX_MEMBERS };
		break;
	case FX_EPOCH_STARTED:
		a.u.epoch_started = (struct wire_epoch_started){ .epoch = 2, .replica = 3 };
		break;
	case FX_MSG_COUNT:
		fail_msg("bad message kind");
	}
	return a;
}

static void fx_any_roundtrip(const struct fx_any *in)
{
	struct wire_buf b, again;
	struct fx_any out;
	const char *why = "unset";
	uint8_t *buf;

	wire_buf_init(&b);
	wire_buf_init(&again);
	assert_int_equal(fx_any_encode(in, &b), 0);
	buf = fx_copy(b.data, b.len);
	assert_int_equal(fx_any_decode(in->which, buf, b.len, &out, &why), 0);
	assert_null(why);
	fx_assert_any_equal(in, &out);
	if (in->which == FX_SNAPSHOT_CHUNK)
		fx_assert_inside(out.u.snapshot_chunk.data, out.u.snapshot_chunk.data_len, buf, b.len);
	if (in->which == FX_EPOCH)
		fx_assert_inside(out.u.epoch.members, out.u.epoch.members_len, buf, b.len);
	assert_int_equal(fx_any_encode(&out, &again), 0);
	assert_int_equal(again.len, b.len);
	assert_memory_equal(again.data, buf, b.len);
	free(buf);
	wire_buf_free(&again);
	wire_buf_free(&b);
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
#define FX_A32(n)    FX_ITEM(FX_ARRAY32, (n), 0, NULL, 0) /* an array32 header, whatever n */
#define FX_U(x)      FX_ITEM(FX_UINT, (x), 0, NULL, 0)
#define FX_I(x)      FX_ITEM(FX_INT, 0, (x), NULL, 0)
#define FX_B(s)      FX_ITEM(FX_BIN, 0, 0, (s), sizeof(s) - 1)
#define FX_BN(p, n)  FX_ITEM(FX_BIN, 0, 0, (p), (n))
#define FX_B32(s)    FX_ITEM(FX_BIN32, 0, 0, (s), sizeof(s) - 1) /* a bin32 header, whatever the length */
#define FX_S(s)      FX_ITEM(FX_STR, 0, 0, (s), sizeof(s) - 1)
#define FX_NIL_      FX_ITEM(FX_NIL, 0, 0, NULL, 0)
#define FX_END_      FX_ITEM(FX_END, 0, 0, NULL, 0)
#define FX_RAW_(s)   FX_ITEM(FX_RAW, 0, 0, (s), sizeof(s) - 1)
#define FX_ITEMS_MAX 48

/* The 13 integers of a VR message of command c: replica 1, epoch 1, view 2, op 3, commit 2. */
#define FX_VR_INTS(c)                                                                                                  \
	FX_U(c), FX_U(1), FX_U(0), FX_U(1), FX_U(2), FX_U(3), FX_U(2), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0),    \
	        FX_U(0)
/* A whole entry of kind k: 11 items. */
#define FX_ENTRY(k)                                                                                                    \
	FX_A(10), FX_U(3), FX_U(2), FX_U(9), FX_U(1), FX_U(1), FX_U(1700000000), FX_U(77), FX_U(76), FX_U(k), FX_B("op")

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

/* Decodes the packed items as a VR message of frame type type and checks the reject reason. */
static void fx_expect_vr(const char *what, uint16_t type, const struct fx_item *items, size_t count,
                         uint32_t entries_max, const char *why_expected)
{
	static struct vr_entry room[FX_ENTRIES];
	msgpack_sbuffer sb;
	struct vr_message m;
	const char *why = NULL;
	uint8_t *buf;
	int rc;

	assert_true(entries_max <= FX_ENTRIES);
	msgpack_sbuffer_init(&sb);
	fx_pack(&sb, items, count);
	buf = fx_copy(sb.data, sb.size);
	rc = wire_vr_decode(type, buf, sb.size, &m, room, entries_max, &why);
	if (rc != -EBADMSG || !why || strcmp(why, why_expected) != 0)
		fail_msg("vr \"%s\": rc %d, why \"%s\", want \"%s\"", what, rc, why ? why : "(null)", why_expected);
	/* A rejected message leaves nothing behind to act on by mistake. */
	assert_int_equal(m.command, 0);
	assert_null(m.body);
	assert_null(m.entries);
	free(buf);
	msgpack_sbuffer_destroy(&sb);
}

static void fx_expect_msg(const char *what, enum fx_msg which, const struct fx_item *items, size_t count,
                          const char *why_expected)
{
	msgpack_sbuffer sb;
	struct fx_any out;
	const char *why = NULL;
	uint8_t *buf;
	int rc;

	msgpack_sbuffer_init(&sb);
	fx_pack(&sb, items, count);
	buf = fx_copy(sb.data, sb.size);
	rc = fx_any_decode(which, buf, sb.size, &out, &why);
	if (rc != -EBADMSG || !why || strcmp(why, why_expected) != 0)
		fail_msg("%s \"%s\": rc %d, why \"%s\", want \"%s\"", FX_MSG_NAME[which], what, rc,
		         why ? why : "(null)", why_expected);
	free(buf);
	msgpack_sbuffer_destroy(&sb);
}

/* ---- VR messages: round trips ------------------------------------------------------- */

static void test_vr_roundtrip_every_command(void **state)
{
	struct vr_entry entries[FX_ENTRIES], room[FX_ENTRIES];

	(void)state;
	for (uint8_t c = 1; c <= VR_COMMAND_MAX; c++) {
		struct vr_message m = fx_message(c, entries);

		fx_vr_roundtrip(&m, room, FX_ENTRIES);
	}
}

/* UINT64_MAX everywhere, the largest replica, status and kind, bodies across bin16 / bin32. */
static void test_vr_roundtrip_extremes(void **state)
{
	struct vr_entry entries[4], room[4];

	(void)state;
	for (uint8_t c = 1; c <= VR_COMMAND_MAX; c++) {
		struct vr_message m = fx_message_max(c, entries, 4);

		fx_vr_roundtrip(&m, room, 4);
	}
}

/* All zeros: kind 0, no body (NULL in, a pointer into the buffer out), no entries (entries NULL). */
static void test_vr_roundtrip_zero(void **state)
{
	struct vr_entry room[1];

	(void)state;
	for (uint8_t c = 1; c <= VR_COMMAND_MAX; c++) {
		struct vr_message m = { .command = c };

		fx_vr_roundtrip(&m, room, 1);
		fx_vr_roundtrip(&m, NULL, 0); /* no room is fine for a message without entries */
	}
}

/* A reconfiguration request, and the PREPARE of its RECONFIGURE entry (its body the next members). */
static void test_vr_roundtrip_reconfigure(void **state)
{
	struct vr_entry entries[FX_ENTRIES], room[FX_ENTRIES];
	struct vr_message req = fx_message(VR_REQUEST, entries);
	struct vr_message prep = fx_message(VR_PREPARE, entries);

	(void)state;
	req.kind = VR_KIND_RECONFIGURE;
	req.body = (const uint8_t *)FX_MEMBERS;
	req.body_len = sizeof(FX_MEMBERS) - 1;
	fx_vr_roundtrip(&req, room, FX_ENTRIES);
	entries[0].kind = VR_KIND_RECONFIGURE;
	entries[0].body = (const uint8_t *)FX_MEMBERS;
	entries[0].body_len = sizeof(FX_MEMBERS) - 1;
	fx_vr_roundtrip(&prep, room, FX_ENTRIES);
}

/* Bodies at 0, 1, and across every bin boundary up to WIRE_VR_BODY_MAX, in a REQUEST and in an entry. */
static void test_vr_roundtrip_body_lengths(void **state)
{
	static const uint32_t lens[] = { 0, 1, 255, 256, 65535, 65536, WIRE_VR_BODY_MAX - 1, WIRE_VR_BODY_MAX };
	struct vr_entry entries[1], room[1];

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct vr_message req = fx_message(VR_REQUEST, entries);
		struct vr_message prep = fx_message(VR_PREPARE, entries);

		req.body = fx_big;
		req.body_len = lens[i];
		fx_vr_roundtrip(&req, room, 1);
		entries[0].body = fx_big;
		entries[0].body_len = lens[i];
		fx_vr_roundtrip(&prep, room, 1);
	}
}

/* A long log (DO_VIEW_CHANGE), and exactly entries_max entries is accepted. */
static void test_vr_roundtrip_many_entries(void **state)
{
	enum { N = 2000 };
	struct vr_entry *entries = calloc(N, sizeof(*entries)), *room = calloc(N, sizeof(*room));
	struct vr_message m;

	(void)state;
	assert_non_null(entries);
	assert_non_null(room);
	m = fx_message(VR_DO_VIEW_CHANGE, entries);
	for (uint32_t i = 0; i < N; i++)
		entries[i] = fx_entry(i);
	m.entry_count = N;
	m.entries = entries;
	fx_vr_roundtrip(&m, room, N);
	free(entries);
	free(room);
}

/* The format is a contract between replicas: pin the bytes of a COMMIT and of a PREPARE. */
static void test_vr_golden_bytes(void **state)
{
	static const uint8_t want_commit[] = {
		0x9f,                   /* 15 fields */
		0x05, 0x01, 0x00,       /* COMMIT, replica 1, status 0 */
		0x07, 0x03, 0x00, 0x0a, /* epoch 7, view 3, op 0, commit 10 */
		0x00, 0x00, 0x00, 0x00, /* last_normal_view, nonce, client_id, session */
		0x00, 0x00,             /* request, kind */
		0xc4, 0x00,             /* empty body */
		0x90,                   /* no entries */
	};
	static const uint8_t want_prepare[] = {
		0x9f, 0x03, 0x00, 0x00, 0x01, 0x03, 0x0b, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0xc4, 0x00, 0x91, 0x9a, 0x0b, 0x03, 0xcd, 0x03, 0xe8, 0x11, 0x2a, 0xce,
		0x65, 0x53, 0xf1, 0x00, 0xcc, 0xab, 0x7f, 0x01, 0xc4, 0x02, 'o',  'p',
	};
	struct vr_message commit = { .command = VR_COMMIT, .replica = 1, .epoch = 7, .view = 3, .commit = 10 };
	struct vr_entry e = { .op = 11,
		              .view = 3,
		              .client_id = 1000,
		              .session = 17,
		              .request = 42,
		              .timestamp = 1700000000,
		              .checksum = 0xab,
		              .parent = 0x7f,
		              .kind = VR_KIND_OP,
		              .body_len = 2,
		              .body = (const uint8_t *)"op" };
	struct vr_message prepare = {
		.command = VR_PREPARE, .epoch = 1, .view = 3, .op = 11, .commit = 10, .entry_count = 1, .entries = &e
	};
	struct wire_buf b;

	(void)state;
	wire_buf_init(&b);
	assert_int_equal(wire_vr_encode(&commit, &b), 0);
	assert_int_equal(b.len, sizeof(want_commit));
	assert_memory_equal(b.data, want_commit, sizeof(want_commit));
	b.len = 0;
	assert_int_equal(wire_vr_encode(&prepare, &b), 0);
	assert_int_equal(b.len, sizeof(want_prepare));
	assert_memory_equal(b.data, want_prepare, sizeof(want_prepare));
	wire_buf_free(&b);
}

/* The decoder accepts any integer width, array16 / array32 headers and bin8 / bin16 / bin32. */
static void test_vr_decode_accepts_other_widths(void **state)
{
	static const uint8_t body[] = {
		0xdc, 0x00, 0x0f,                        /* array16 of 15 */
		0xcf, 0,    0,    0,   0,    0, 0, 0, 4, /* command PREPARE_OK as uint64 */
		0xd0, 0x02,                              /* replica as int8 */
		0xcc, 0x00,                              /* status as uint8 */
		0xd3, 0,    0,    0,   0,    0, 0, 0, 1, /* epoch as int64 */
		0xcd, 0x00, 0x03,                        /* view as uint16 */
		0xce, 0,    0,    0,   0x65,             /* op as uint32 */
		0,    0,    0,    0,   0,    0,          /* commit .. request */
		0xd1, 0x00, 0x00,                        /* kind as int16 */
		0xc6, 0,    0,    0,   0,                /* empty body as bin32 */
		0xdd, 0,    0,    0,   1,                /* array32 of one entry */
		0x9a, 1,    2,    3,   4,    5, 6, 7, 8, /* entry: op .. parent */
		0x02,                                    /* kind REGISTER */
		0xc5, 0x00, 0x01, 'x',                   /* body as bin16 */
	};
	uint8_t *buf = fx_copy(body, sizeof(body));
	struct vr_entry room[1];
	struct vr_message m;
	const char *why;

	(void)state;
	assert_int_equal(wire_vr_decode(VR_PREPARE_OK, buf, sizeof(body), &m, room, 1, &why), 0);
	assert_int_equal(m.command, VR_PREPARE_OK);
	assert_int_equal(m.replica, 2);
	assert_int_equal(m.epoch, 1);
	assert_int_equal(m.view, 3);
	assert_int_equal(m.op, 0x65);
	assert_int_equal(m.body_len, 0);
	fx_assert_inside(m.body, 0, buf, sizeof(body));
	assert_int_equal(m.entry_count, 1);
	assert_int_equal(room[0].op, 1);
	assert_int_equal(room[0].parent, 8);
	assert_int_equal(room[0].kind, VR_KIND_REGISTER);
	fx_assert_bytes(room[0].body, room[0].body_len, "x", 1);
	fx_assert_inside(room[0].body, 1, buf, sizeof(body));
	free(buf);
}

/* Encoding appends after what the buffer holds; two messages back to back are one and trailing bytes. */
static void test_vr_encode_appends(void **state)
{
	struct vr_entry entries[FX_ENTRIES], room[FX_ENTRIES];
	struct vr_message m = fx_message(VR_START_VIEW, entries), out;
	struct wire_buf b;
	const char *why;
	size_t first;

	(void)state;
	wire_buf_init(&b);
	assert_int_equal(wire_vr_encode(&m, &b), 0);
	first = b.len;
	assert_int_equal(wire_vr_encode(&m, &b), 0);
	assert_int_equal(b.len, 2 * first);
	assert_memory_equal(b.data, b.data + first, first);
	assert_int_equal(wire_vr_decode(VR_START_VIEW, b.data + first, first, &out, room, FX_ENTRIES, &why), 0);
	fx_assert_vr_equal(&m, &out);
	assert_int_equal(wire_vr_decode(VR_START_VIEW, b.data, b.len, &out, room, FX_ENTRIES, &why), -EBADMSG);
	assert_string_equal(why, "vr: trailing bytes");
	wire_buf_free(&b);
}

/* ---- VR messages: the encoder refuses and leaves the buffer as it was --------------- */

static void fx_assert_vr_encode_fails(const struct vr_message *m, int rc_expected)
{
	struct vr_message valid = { .command = VR_COMMIT, .commit = 9 };
	struct wire_buf b;
	size_t before;

	wire_buf_init(&b);
	assert_int_equal(wire_vr_encode(&valid, &b), 0);
	before = b.len;
	assert_int_equal(wire_vr_encode(m, &b), rc_expected);
	assert_int_equal(b.len, before);
	assert_memory_equal(b.data, "\x9f\x05", 2);
	wire_buf_free(&b);
}

static void test_vr_encode_rejects_bad_values(void **state)
{
	struct vr_entry entries[FX_ENTRIES];
	struct vr_message m;

	(void)state;
	m = fx_message(VR_COMMIT, entries);
	m.command = 0;
	fx_assert_vr_encode_fails(&m, -EINVAL);
	m.command = VR_COMMAND_MAX + 1;
	fx_assert_vr_encode_fails(&m, -EINVAL);
	m.command = WIRE_MSG_REDIRECT;
	fx_assert_vr_encode_fails(&m, -EINVAL);

	m = fx_message(VR_PREPARE_OK, entries);
	m.replica = WIRE_VR_REPLICA_MAX + 1;
	fx_assert_vr_encode_fails(&m, -EINVAL);
	m.replica = UINT8_MAX;
	fx_assert_vr_encode_fails(&m, -EINVAL);

	m = fx_message(VR_REQUEST, entries);
	m.kind = VR_KIND_RECONFIGURE + 1;
	fx_assert_vr_encode_fails(&m, -EINVAL);
	m = fx_message(VR_REQUEST, entries);
	m.body = NULL;
	fx_assert_vr_encode_fails(&m, -EINVAL);

	m = fx_message(VR_DO_VIEW_CHANGE, entries);
	m.entries = NULL;
	fx_assert_vr_encode_fails(&m, -EINVAL);
	m = fx_message(VR_DO_VIEW_CHANGE, entries);
	entries[2].kind = 0;
	fx_assert_vr_encode_fails(&m, -EINVAL);
	entries[2].kind = VR_KIND_RECONFIGURE + 1;
	fx_assert_vr_encode_fails(&m, -EINVAL);
	entries[2] = fx_entry(2);
	entries[2].body = NULL;
	fx_assert_vr_encode_fails(&m, -EINVAL);
}

static void test_vr_encode_rejects_too_large(void **state)
{
	struct vr_entry entries[FX_ENTRIES];
	struct vr_message m;

	(void)state;
	m = fx_message(VR_REQUEST, entries);
	m.body = fx_big;
	m.body_len = WIRE_VR_BODY_MAX + 1;
	fx_assert_vr_encode_fails(&m, -EMSGSIZE);

	m = fx_message(VR_PREPARE, entries);
	entries[0].body = fx_big;
	entries[0].body_len = WIRE_VR_BODY_MAX + 1;
	fx_assert_vr_encode_fails(&m, -EMSGSIZE);

	/* Checked before the entries are looked at: the pointer is never read. */
	m = fx_message(VR_NEW_STATE, entries);
	m.entry_count = WIRE_VR_ENTRIES_MAX + 1;
	fx_assert_vr_encode_fails(&m, -EMSGSIZE);

	/* Each entry is fine, together they outgrow a frame. */
	_Static_assert((uint64_t)FX_ENTRIES * WIRE_VR_BODY_MAX > WIRE_FRAME_BODY_MAX,
	               "enough entries to outgrow a frame");
	m = fx_message(VR_START_VIEW, entries);
	for (int i = 0; i < FX_ENTRIES; i++) {
		entries[i] = fx_entry((uint32_t)i);
		entries[i].body = fx_big;
		entries[i].body_len = WIRE_VR_BODY_MAX;
	}
	m.entry_count = FX_ENTRIES;
	fx_assert_vr_encode_fails(&m, -EMSGSIZE);
}

/* ---- VR messages: the decoder refuses ----------------------------------------------- */

/* Frame types that are not VR commands are refused before a byte is read. */
static void test_vr_decode_rejects_frame_type(void **state)
{
	static const uint16_t types[] = { 0,
		                          VR_COMMAND_MAX + 1,
		                          31,
		                          WIRE_MSG_REDIRECT,
		                          WIRE_MSG_EPOCH,
		                          WIRE_MSG_TYPE_MAX,
		                          WIRE_MSG_TYPE_MAX + 1,
		                          256 + 5,
		                          UINT16_MAX };
	struct vr_entry entries[FX_ENTRIES], room[FX_ENTRIES];
	struct vr_message m = fx_message(VR_COMMIT, entries), out;
	struct wire_buf b;

	(void)state;
	wire_buf_init(&b);
	assert_int_equal(wire_vr_encode(&m, &b), 0);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		const char *why = NULL;

		assert_int_equal(wire_vr_decode(types[i], b.data, b.len, &out, room, FX_ENTRIES, &why), -EBADMSG);
		assert_string_equal(why, "vr: frame type is not a VR command");
	}
	wire_buf_free(&b);
}

/* A message of one command under the frame type of every other. */
static void test_vr_decode_rejects_command_mismatch(void **state)
{
	struct vr_entry entries[FX_ENTRIES], room[FX_ENTRIES];

	(void)state;
	for (uint8_t c = 1; c <= VR_COMMAND_MAX; c++) {
		struct vr_message m = fx_message(c, entries), out;
		struct wire_buf b;

		wire_buf_init(&b);
		assert_int_equal(wire_vr_encode(&m, &b), 0);
		for (uint16_t t = 1; t <= VR_COMMAND_MAX; t++) {
			const char *why = NULL;

			if (t == c)
				continue;
			assert_int_equal(wire_vr_decode(t, b.data, b.len, &out, room, FX_ENTRIES, &why), -EBADMSG);
			assert_string_equal(why, "vr: command is not the frame type");
		}
		wire_buf_free(&b);
	}
}

struct fx_vr_case {
	const char *what;
	const char *why;
	uint16_t type;
	struct fx_item items[FX_ITEMS_MAX];
};

/* One reject reason each, with its exact why. Entries_max is FX_ENTRIES. */
static const struct fx_vr_case FX_VR_CORPUS[] = {
	{ "empty buffer", "vr: empty", VR_COMMIT, { FX_END_ } },
	{ "0xc1 (never used)", "vr: not a msgpack array", VR_COMMIT, { FX_RAW_("\xc1") } },
	{ "a map", "vr: not a msgpack array", VR_COMMIT, { FX_RAW_("\x81\x01\x02") } },
	{ "a string", "vr: not a msgpack array", VR_COMMIT, { FX_S("commit") } },
	{ "an integer", "vr: not a msgpack array", VR_COMMIT, { FX_U(5) } },
	{ "nil", "vr: not a msgpack array", VR_COMMIT, { FX_NIL_ } },
	{ "empty array", "vr: wrong field count", VR_COMMIT, { FX_A(0) } },
	{ "14 fields", "vr: wrong field count", VR_COMMIT, { FX_A(14), FX_VR_INTS(VR_COMMIT), FX_B("") } },
	{ "16 fields",
	  "vr: wrong field count",
	  VR_COMMIT,
	  { FX_A(16), FX_VR_INTS(VR_COMMIT), FX_B(""), FX_A(0), FX_U(0) } },
	{ "array32 claiming 2^32-1 fields (nothing is allocated)",
	  "vr: wrong field count",
	  VR_COMMIT,
	  { FX_A32(UINT32_MAX), FX_U(VR_COMMIT) } },
	{ "command 0", "vr: command is not the frame type", VR_COMMIT, { FX_A(15), FX_U(0) } },
	{ "command 13", "vr: command is not the frame type", VR_COMMIT, { FX_A(15), FX_U(13) } },
	{ "command COMMIT + 256 (would wrap to COMMIT)",
	  "vr: integer out of range",
	  VR_COMMIT,
	  { FX_A(15), FX_U(256 + VR_COMMIT) } },
	{ "command -1", "vr: integer out of range", VR_COMMIT, { FX_A(15), FX_I(-1) } },
	{ "command as str", "vr: field is not an integer", VR_COMMIT, { FX_A(15), FX_S("\x05") } },
	{ "replica 16",
	  "vr: replica out of range",
	  VR_COMMIT,
	  { FX_A(15), FX_U(VR_COMMIT), FX_U(16), FX_U(0), FX_U(1), FX_U(2), FX_U(3), FX_U(2), FX_U(0), FX_U(0), FX_U(0),
	    FX_U(0), FX_U(0), FX_U(0), FX_B(""), FX_A(0) } },
	{ "replica 256", "vr: integer out of range", VR_COMMIT, { FX_A(15), FX_U(VR_COMMIT), FX_U(256) } },
	{ "replica as nil", "vr: field is not an integer", VR_COMMIT, { FX_A(15), FX_U(VR_COMMIT), FX_NIL_ } },
	{ "status 256", "vr: integer out of range", VR_COMMIT, { FX_A(15), FX_U(VR_COMMIT), FX_U(1), FX_U(256) } },
	{ "epoch -1",
	  "vr: integer out of range",
	  VR_COMMIT,
	  { FX_A(15), FX_U(VR_COMMIT), FX_U(1), FX_U(0), FX_I(-1) } },
	{ "view INT64_MIN",
	  "vr: integer out of range",
	  VR_COMMIT,
	  { FX_A(15), FX_U(VR_COMMIT), FX_U(1), FX_U(0), FX_U(1), FX_I(INT64_MIN) } },
	{ "view as bin",
	  "vr: field is not an integer",
	  VR_COMMIT,
	  { FX_A(15), FX_U(VR_COMMIT), FX_U(1), FX_U(0), FX_U(1), FX_B("\x03") } },
	{ "kind 4",
	  "vr: kind unknown",
	  VR_REQUEST,
	  { FX_A(15), FX_U(VR_REQUEST), FX_U(0), FX_U(0), FX_U(1), FX_U(2), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(9),
	    FX_U(1), FX_U(1), FX_U(4), FX_B("op"), FX_A(0) } },
	{ "kind 256",
	  "vr: integer out of range",
	  VR_REQUEST,
	  { FX_A(15), FX_U(VR_REQUEST), FX_U(0), FX_U(0), FX_U(1), FX_U(2), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(9),
	    FX_U(1), FX_U(1), FX_U(256) } },
	{ "body as str",
	  "vr: field is not bin",
	  VR_REQUEST,
	  { FX_A(15), FX_VR_INTS(VR_REQUEST), FX_S("op"), FX_A(0) } },
	{ "body as nil", "vr: field is not bin", VR_REQUEST, { FX_A(15), FX_VR_INTS(VR_REQUEST), FX_NIL_, FX_A(0) } },
	{ "body bin32 claiming more than remains",
	  "vr: truncated",
	  VR_REQUEST,
	  { FX_A(15), FX_VR_INTS(VR_REQUEST), FX_RAW_("\xc6\xff\xff\xff\xff"), FX_A(0) } },
	{ "body of WIRE_VR_BODY_MAX + 1 bytes",
	  "vr: body too long",
	  VR_REQUEST,
	  { FX_A(15), FX_VR_INTS(VR_REQUEST), FX_BN(fx_big, WIRE_VR_BODY_MAX + 1), FX_A(0) } },
	{ "entries as map",
	  "vr: not a msgpack array",
	  VR_COMMIT,
	  { FX_A(15), FX_VR_INTS(VR_COMMIT), FX_B(""), FX_RAW_("\x80") } },
	{ "entries as bin",
	  "vr: not a msgpack array",
	  VR_COMMIT,
	  { FX_A(15), FX_VR_INTS(VR_COMMIT), FX_B(""), FX_B("") } },
	{ "entries missing", "vr: truncated", VR_COMMIT, { FX_A(15), FX_VR_INTS(VR_COMMIT), FX_B("") } },
	{ "more entries than the caller's room",
	  "vr: too many entries",
	  VR_NEW_STATE,
	  { FX_A(15), FX_VR_INTS(VR_NEW_STATE), FX_B(""), FX_A(FX_ENTRIES + 1), FX_ENTRY(1) } },
	{ "array32 claiming 2^32-1 entries",
	  "vr: too many entries",
	  VR_NEW_STATE,
	  { FX_A(15), FX_VR_INTS(VR_NEW_STATE), FX_B(""), FX_A32(UINT32_MAX), FX_ENTRY(1) } },
	{ "fewer entries than claimed",
	  "vr: truncated",
	  VR_NEW_STATE,
	  { FX_A(15), FX_VR_INTS(VR_NEW_STATE), FX_B(""), FX_A(2), FX_ENTRY(1) } },
	{ "entry not an array",
	  "vr: not a msgpack array",
	  VR_PREPARE,
	  { FX_A(15), FX_VR_INTS(VR_PREPARE), FX_B(""), FX_A(1), FX_U(3) } },
	{ "entry with 9 fields",
	  "vr: entry: wrong field count",
	  VR_PREPARE,
	  { FX_A(15), FX_VR_INTS(VR_PREPARE), FX_B(""), FX_A(1), FX_A(9), FX_U(3) } },
	{ "entry with 11 fields",
	  "vr: entry: wrong field count",
	  VR_PREPARE,
	  { FX_A(15), FX_VR_INTS(VR_PREPARE), FX_B(""), FX_A(1), FX_A(11), FX_U(3) } },
	{ "entry kind 0",
	  "vr: entry kind unknown",
	  VR_PREPARE,
	  { FX_A(15), FX_VR_INTS(VR_PREPARE), FX_B(""), FX_A(1), FX_ENTRY(0) } },
	{ "entry kind 4",
	  "vr: entry kind unknown",
	  VR_PREPARE,
	  { FX_A(15), FX_VR_INTS(VR_PREPARE), FX_B(""), FX_A(1), FX_ENTRY(4) } },
	{ "second entry kind 255",
	  "vr: entry kind unknown",
	  VR_START_VIEW,
	  { FX_A(15), FX_VR_INTS(VR_START_VIEW), FX_B(""), FX_A(2), FX_ENTRY(1), FX_ENTRY(255) } },
	{ "entry op as str",
	  "vr: field is not an integer",
	  VR_PREPARE,
	  { FX_A(15), FX_VR_INTS(VR_PREPARE), FX_B(""), FX_A(1), FX_A(10), FX_S("3") } },
	{ "entry checksum -1",
	  "vr: integer out of range",
	  VR_PREPARE,
	  { FX_A(15), FX_VR_INTS(VR_PREPARE), FX_B(""), FX_A(1), FX_A(10), FX_U(3), FX_U(2), FX_U(9), FX_U(1), FX_U(1),
	    FX_U(1), FX_I(-1) } },
	{ "entry body as str",
	  "vr: field is not bin",
	  VR_PREPARE,
	  { FX_A(15), FX_VR_INTS(VR_PREPARE), FX_B(""), FX_A(1), FX_A(10), FX_U(3), FX_U(2), FX_U(9), FX_U(1), FX_U(1),
	    FX_U(1), FX_U(77), FX_U(76), FX_U(1), FX_S("op") } },
	{ "entry body of WIRE_VR_BODY_MAX + 1 bytes",
	  "vr: entry body too long",
	  VR_PREPARE,
	  { FX_A(15), FX_VR_INTS(VR_PREPARE), FX_B(""), FX_A(1), FX_A(10), FX_U(3), FX_U(2), FX_U(9), FX_U(1), FX_U(1),
	    FX_U(1), FX_U(77), FX_U(76), FX_U(1), FX_BN(fx_big, WIRE_VR_BODY_MAX + 1) } },
	{ "trailing byte",
	  "vr: trailing bytes",
	  VR_PREPARE,
	  { FX_A(15), FX_VR_INTS(VR_PREPARE), FX_B(""), FX_A(1), FX_ENTRY(1), FX_RAW_("\x00") } },
	{ "trailing nil",
	  "vr: trailing bytes",
	  VR_COMMIT,
	  { FX_A(15), FX_VR_INTS(VR_COMMIT), FX_B(""), FX_A(0), FX_NIL_ } },
	{ "body larger than a frame", "vr: message too large", VR_COMMIT, { FX_BN(fx_big, WIRE_FRAME_BODY_MAX) } },
};

static void test_vr_decode_rejects_corpus(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(FX_VR_CORPUS) / sizeof(FX_VR_CORPUS[0]); i++) {
		const struct fx_vr_case *c = &FX_VR_CORPUS[i];

		fx_expect_vr(c->what, c->type, c->items, FX_ITEMS_MAX, FX_ENTRIES, c->why);
	}
}

/*
 * Every item of a valid PREPARE (one entry) in turn replaced by a value of the wrong type:
 * a string where an integer, bin or array belongs, a negative integer, an integer for bin.
 */
static void test_vr_decode_rejects_wrong_type_every_field(void **state)
{
	const struct fx_item valid[] = { FX_A(15), FX_VR_INTS(VR_PREPARE), FX_B("b"), FX_A(1), FX_ENTRY(1) };
	enum { COUNT = sizeof(valid) / sizeof(valid[0]) };
	struct fx_item items[COUNT];

	(void)state;
	assert_int_equal(COUNT, 27);
	fx_expect_vr("valid, with an entry of kind 9", VR_PREPARE,
	             (const struct fx_item[]){ FX_A(15), FX_VR_INTS(VR_PREPARE), FX_B("b"), FX_A(1), FX_ENTRY(9) },
	             COUNT, 1, "vr: entry kind unknown");
	for (size_t i = 0; i < COUNT; i++) {
		static const struct fx_item str = FX_S("x"), neg = FX_I(-5), num = FX_U(7);
		const char *why_str, *why_other;
		const struct fx_item *other;

		switch (valid[i].kind) {
		case FX_UINT:
			why_str = "vr: field is not an integer";
			other = &neg;
			why_other = "vr: integer out of range";
			break;
		case FX_BIN:
			why_str = "vr: field is not bin";
			other = &num;
			why_other = "vr: field is not bin";
			break;
		default: /* the message, the entries, the entry */
			why_str = "vr: not a msgpack array";
			other = &num;
			why_other = "vr: not a msgpack array";
			break;
		}
		memcpy(items, valid, sizeof(items));
		items[i] = str;
		fx_expect_vr("a string in place of a field", VR_PREPARE, items, COUNT, 1, why_str);
		items[i] = *other;
		fx_expect_vr("a wrong-typed value in place of a field", VR_PREPARE, items, COUNT, 1, why_other);
	}
}

/* entries_max bounds what is written: one more than the room is refused, however small the room. */
static void test_vr_decode_rejects_more_entries_than_room(void **state)
{
	struct vr_entry entries[FX_ENTRIES], room[FX_ENTRIES + 1];
	struct vr_message m = fx_message(VR_NEW_STATE, entries), out;
	struct wire_buf b;
	const char *why;

	(void)state;
	wire_buf_init(&b);
	assert_int_equal(wire_vr_encode(&m, &b), 0);
	assert_int_equal(m.entry_count, 4);
	for (uint32_t max = 0; max < m.entry_count; max++) {
		/* A sentinel just past the room stays untouched. */
		memset(room, 0xee, sizeof(room));
		assert_int_equal(wire_vr_decode(VR_NEW_STATE, b.data, b.len, &out, room, max, &why), -EBADMSG);
		assert_string_equal(why, "vr: too many entries");
		for (uint32_t i = 0; i < FX_ENTRIES + 1; i++)
			assert_int_equal(room[i].op, 0xeeeeeeeeeeeeeeeeULL);
	}
	/* No array at all is room for none, whatever entries_max says. */
	assert_int_equal(wire_vr_decode(VR_NEW_STATE, b.data, b.len, &out, NULL, FX_ENTRIES, &why), -EBADMSG);
	assert_string_equal(why, "vr: too many entries");
	assert_int_equal(wire_vr_decode(VR_NEW_STATE, b.data, b.len, &out, room, m.entry_count, &why), 0);
	fx_assert_vr_equal(&m, &out);
	wire_buf_free(&b);
}

/* An array32 entry-count header of count, after a valid head of NEW_STATE: body[] holds 21 bytes. */
static void fx_entries_header(uint8_t body[21], uint32_t count)
{
	static const uint8_t head[] = { 0x9f, VR_NEW_STATE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xc4, 0x00 };

	memcpy(body, head, sizeof(head));
	body[16] = 0xdd;
	body[17] = (uint8_t)(count >> 24);
	body[18] = (uint8_t)(count >> 16);
	body[19] = (uint8_t)(count >> 8);
	body[20] = (uint8_t)count;
}

/* More than WIRE_VR_ENTRIES_MAX is refused even by a caller with more room; the count alone decides. */
static void test_vr_decode_rejects_entries_over_max(void **state)
{
	struct vr_entry *room = calloc(WIRE_VR_ENTRIES_MAX + 1, sizeof(*room));
	struct vr_message out;
	uint8_t body[21];
	const char *why;

	(void)state;
	assert_non_null(room);
	fx_entries_header(body, WIRE_VR_ENTRIES_MAX + 1);
	assert_int_equal(wire_vr_decode(VR_NEW_STATE, body, sizeof(body), &out, room, WIRE_VR_ENTRIES_MAX + 1, &why),
	                 -EBADMSG);
	assert_string_equal(why, "vr: too many entries");
	assert_int_equal(wire_vr_decode(VR_NEW_STATE, body, sizeof(body), &out, room, UINT32_MAX, &why), -EBADMSG);
	assert_string_equal(why, "vr: too many entries");
	/* WIRE_VR_ENTRIES_MAX itself gets past the count: the missing entries are the fault. */
	fx_entries_header(body, WIRE_VR_ENTRIES_MAX);
	assert_int_equal(wire_vr_decode(VR_NEW_STATE, body, sizeof(body), &out, room, WIRE_VR_ENTRIES_MAX + 1, &why),
	                 -EBADMSG);
	assert_string_equal(why, "vr: truncated");
	free(room);
}

/* Every proper prefix of a valid encoding is refused: empty, or truncated. */
static void fx_assert_vr_prefixes_rejected(uint16_t type, const struct wire_buf *b)
{
	static struct vr_entry room[FX_ENTRIES];

	for (size_t len = 0; len < b->len; len++) {
		uint8_t *buf = fx_copy(b->data, len);
		struct vr_message m;
		const char *why = NULL;

		assert_int_equal(wire_vr_decode(type, buf, len, &m, room, FX_ENTRIES, &why), -EBADMSG);
		assert_string_equal(why, len ? "vr: truncated" : "vr: empty");
		free(buf);
	}
}

static void test_vr_decode_rejects_every_prefix(void **state)
{
	struct vr_entry entries[FX_ENTRIES];

	(void)state;
	for (uint8_t c = 1; c <= VR_COMMAND_MAX; c++) {
		struct vr_message typical = fx_message(c, entries);
		struct wire_buf b;

		wire_buf_init(&b);
		assert_int_equal(wire_vr_encode(&typical, &b), 0);
		fx_assert_vr_prefixes_rejected(c, &b);
		b.len = 0;
		/* Wide integers and bin16 bodies; shorter bodies keep the test quick (their prefixes say the same). */
		struct vr_message max = fx_message_max(c, entries, 2);
		for (int i = 0; i < 2; i++)
			entries[i].body_len = 300;
		assert_int_equal(wire_vr_encode(&max, &b), 0);
		fx_assert_vr_prefixes_rejected(c, &b);
		wire_buf_free(&b);
	}
}

/* Any byte after a complete message is refused, for every command. */
static void test_vr_decode_rejects_trailing_bytes(void **state)
{
	static const uint8_t tails[] = { 0x00, 0xc0, 0x90, 0xff };
	struct vr_entry entries[FX_ENTRIES], room[FX_ENTRIES];

	(void)state;
	for (uint8_t c = 1; c <= VR_COMMAND_MAX; c++) {
		struct vr_message m = fx_message(c, entries), out;

		for (size_t t = 0; t < sizeof(tails); t++) {
			struct wire_buf b;
			const char *why = NULL;
			uint8_t *buf;

			wire_buf_init(&b);
			assert_int_equal(wire_vr_encode(&m, &b), 0);
			buf = malloc(b.len + 1);
			assert_non_null(buf);
			memcpy(buf, b.data, b.len);
			buf[b.len] = tails[t];
			assert_int_equal(wire_vr_decode(c, buf, b.len + 1, &out, room, FX_ENTRIES, &why), -EBADMSG);
			assert_string_equal(why, "vr: trailing bytes");
			free(buf);
			wire_buf_free(&b);
		}
	}
}

/* ---- Daemon messages ---------------------------------------------------------------------- */

static void test_msg_roundtrip_redirect(void **state)
{
	struct fx_any a = fx_any_typical(FX_REDIRECT);

	(void)state;
	fx_any_roundtrip(&a);
	a.u.redirect = (struct wire_redirect){
		.replica = WIRE_VR_REPLICA_MAX, .status = UINT8_MAX, .primary = WIRE_VR_REPLICA_MAX, .view = UINT64_MAX
	};
	fx_any_roundtrip(&a);
	a.u.redirect = (struct wire_redirect){ 0 };
	fx_any_roundtrip(&a);
}

static void test_msg_roundtrip_status_request_and_status(void **state)
{
	struct fx_any a = fx_any_typical(FX_STATUS_REQUEST);

	(void)state;
	fx_any_roundtrip(&a);
	a.u.status_request.nonce = UINT64_MAX;
	fx_any_roundtrip(&a);
	a.u.status_request.nonce = 0;
	fx_any_roundtrip(&a);

	a = fx_any_typical(FX_STATUS);
	fx_any_roundtrip(&a);
	a.u.status = (struct wire_status){ .nonce = UINT64_MAX,
		                           .replica = WIRE_VR_REPLICA_MAX,
		                           .replica_count = WIRE_VR_REPLICA_MAX + 1,
		                           .status = UINT8_MAX,
		                           .primary = WIRE_VR_REPLICA_MAX,
		                           .view = UINT64_MAX,
		                           .op = UINT64_MAX,
		                           .commit = UINT64_MAX,
		                           .checkpoint = UINT64_MAX,
		                           .log_ops = UINT64_MAX,
		                           .log_bytes = UINT64_MAX,
		                           .frames_bad = UINT64_MAX,
		                           .uptime_ms = UINT64_MAX,
		                           .reads = UINT64_MAX,
		                           .lease_reads = UINT64_MAX,
		                           .prepares = UINT64_MAX,
		                           .prepare_ops = UINT64_MAX,
		                           .epoch = UINT64_MAX,
		                           .log_parts = UINT64_MAX,
		                           .log_cached = UINT64_MAX,
		                           .bodies_read = UINT64_MAX };
	fx_any_roundtrip(&a);
	a.u.status = (struct wire_status){ 0 };
	fx_any_roundtrip(&a);
}

static void test_msg_roundtrip_snapshot(void **state)
{
	struct fx_any a = fx_any_typical(FX_SNAPSHOT_REQUEST);
	struct wire_snapshot_chunk *c;

	(void)state;
	fx_any_roundtrip(&a);
	a.u.snapshot_request = (struct wire_snapshot_request){
		.replica = WIRE_VR_REPLICA_MAX, .min_op = UINT64_MAX, .snapshot_op = UINT64_MAX, .offset = UINT64_MAX
	};
	fx_any_roundtrip(&a);

	a = fx_any_typical(FX_SNAPSHOT_CHUNK);
	c = &a.u.snapshot_chunk;
	fx_any_roundtrip(&a);
	/* The last piece ends exactly at total; an empty checkpoint is one empty piece. */
	c->offset = c->total - c->data_len;
	fx_any_roundtrip(&a);
	c->total = 0, c->offset = 0, c->data_len = 0, c->data = NULL;
	fx_any_roundtrip(&a);
	/* The largest piece, at the very end of the largest checkpoint. */
	c->replica = WIRE_VR_REPLICA_MAX;
	c->snapshot_op = c->head = c->view = c->epoch = UINT64_MAX;
	c->total = UINT64_MAX;
	c->data = fx_big;
	c->data_len = WIRE_SNAPSHOT_CHUNK_MAX;
	c->offset = UINT64_MAX - WIRE_SNAPSHOT_CHUNK_MAX;
	fx_any_roundtrip(&a);
}

static void test_msg_roundtrip_epoch(void **state)
{
	struct fx_any a = fx_any_typical(FX_EPOCH);
	struct wire_epoch *e = &a.u.epoch;

	(void)state;
	fx_any_roundtrip(&a);
	/* The shortest list and the longest (a bin16), with the widest integers. */
	e->members = (const uint8_t *)"a";
	e->members_len = 1;
	fx_any_roundtrip(&a);
	*e = (struct wire_epoch){ .epoch = UINT64_MAX,
		                  .op = UINT64_MAX,
		                  .head = UINT64_MAX,
		                  .members_len = WIRE_EPOCH_MEMBERS_MAX,
		                  .members = fx_big };
	fx_any_roundtrip(&a);
	e->epoch = e->op = e->head = 0;
	e->members_len = 255; /* the last bin8 */
	fx_any_roundtrip(&a);

	a = fx_any_typical(FX_EPOCH_STARTED);
	fx_any_roundtrip(&a);
	a.u.epoch_started = (struct wire_epoch_started){ .epoch = UINT64_MAX, .replica = WIRE_VR_REPLICA_MAX };
	fx_any_roundtrip(&a);
	a.u.epoch_started = (struct wire_epoch_started){ 0 };
	fx_any_roundtrip(&a);
}

/* Pin the bytes of a redirect, a status request, a snapshot request, an epoch and an epoch_started. */
static void test_msg_golden_bytes(void **state)
{
	static const uint8_t want_redirect[] = { 0x94, 0x01, 0x00, 0x02, 0x07 };
	static const uint8_t want_status_request[] = { 0x91, 0xcf, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	static const uint8_t want_snapshot_request[] = { 0x94, 0x02, 0xcd, 0x2e, 0xe0, 0xcd, 0x2e,
		                                         0xe0, 0xce, 0x00, 0x10, 0x00, 0x00 };
	struct fx_any r = fx_any_typical(FX_REDIRECT), s = fx_any_typical(FX_STATUS_REQUEST);
	struct fx_any q = fx_any_typical(FX_SNAPSHOT_REQUEST);
	static const uint8_t want_epoch[] = { 0x94, 0x02, 0x0a, 0x09, 0xc4, 0x03, 'a', ':', '1' };
	static const uint8_t want_epoch_started[] = { 0x92, 0x02, 0x03 };
	struct wire_epoch epoch = {
		.epoch = 2, .op = 10, .head = 9, .members_len = 3, .members = (const uint8_t *)"a:1"
	};
	struct wire_epoch_started started = { .epoch = 2, .replica = 3 };
	struct wire_buf b;

	(void)state;
	wire_buf_init(&b);
	assert_int_equal(fx_any_encode(&r, &b), 0);
	assert_int_equal(b.len, sizeof(want_redirect));
	assert_memory_equal(b.data, want_redirect, sizeof(want_redirect));
	b.len = 0;
	assert_int_equal(fx_any_encode(&s, &b), 0);
	assert_int_equal(b.len, sizeof(want_status_request));
	assert_memory_equal(b.data, want_status_request, sizeof(want_status_request));
	b.len = 0;
	assert_int_equal(fx_any_encode(&q, &b), 0);
	assert_int_equal(b.len, sizeof(want_snapshot_request));
	assert_memory_equal(b.data, want_snapshot_request, sizeof(want_snapshot_request));
	b.len = 0;
	assert_int_equal(wire_epoch_encode(&epoch, &b), 0);
	assert_int_equal(b.len, sizeof(want_epoch));
	assert_memory_equal(b.data, want_epoch, sizeof(want_epoch));
	b.len = 0;
	assert_int_equal(wire_epoch_started_encode(&started, &b), 0);
	assert_int_equal(b.len, sizeof(want_epoch_started));
	assert_memory_equal(b.data, want_epoch_started, sizeof(want_epoch_started));
	wire_buf_free(&b);
}

static void fx_assert_any_encode_fails(const struct fx_any *a, int rc_expected)
{
	struct wire_buf b;

	wire_buf_init(&b);
	assert_int_equal(fx_any_encode(a, &b), rc_expected);
	assert_int_equal(b.len, 0);
	wire_buf_free(&b);
}

static void test_msg_encode_rejects_invalid(void **state)
{
	struct fx_any a;
	struct wire_snapshot_chunk *c = &a.u.snapshot_chunk;

	(void)state;
	a = fx_any_typical(FX_REDIRECT);
	a.u.redirect.replica = WIRE_VR_REPLICA_MAX + 1;
	fx_assert_any_encode_fails(&a, -EINVAL);
	a = fx_any_typical(FX_REDIRECT);
	a.u.redirect.primary = UINT8_MAX;
	fx_assert_any_encode_fails(&a, -EINVAL);

	a = fx_any_typical(FX_STATUS);
	a.u.status.replica = WIRE_VR_REPLICA_MAX + 1;
	fx_assert_any_encode_fails(&a, -EINVAL);
	a = fx_any_typical(FX_STATUS);
	a.u.status.replica_count = WIRE_VR_REPLICA_MAX + 2;
	fx_assert_any_encode_fails(&a, -EINVAL);
	a = fx_any_typical(FX_STATUS);
	a.u.status.primary = WIRE_VR_REPLICA_MAX + 1;
	fx_assert_any_encode_fails(&a, -EINVAL);

	a = fx_any_typical(FX_SNAPSHOT_REQUEST);
	a.u.snapshot_request.replica = 200;
	fx_assert_any_encode_fails(&a, -EINVAL);

	a = fx_any_typical(FX_SNAPSHOT_CHUNK);
	c->replica = WIRE_VR_REPLICA_MAX + 1;
	fx_assert_any_encode_fails(&a, -EINVAL);
	a = fx_any_typical(FX_SNAPSHOT_CHUNK);
	c->data = NULL;
	fx_assert_any_encode_fails(&a, -EINVAL);
	a = fx_any_typical(FX_SNAPSHOT_CHUNK);
	c->offset = c->total - c->data_len + 1;
	fx_assert_any_encode_fails(&a, -EINVAL);
	c->total = c->data_len - 1;
	c->offset = 0;
	fx_assert_any_encode_fails(&a, -EINVAL);
	/* offset + data_len wraps to a small number: still beyond total. */
	c->total = UINT64_MAX;
	c->offset = UINT64_MAX - c->data_len + 1;
	fx_assert_any_encode_fails(&a, -EINVAL);
	a = fx_any_typical(FX_SNAPSHOT_CHUNK);
	c->total = UINT64_MAX;
	c->data_len = WIRE_SNAPSHOT_CHUNK_MAX + 1;
	fx_assert_any_encode_fails(&a, -EMSGSIZE);

	a = fx_any_typical(FX_EPOCH);
	a.u.epoch.members_len = 0;
	fx_assert_any_encode_fails(&a, -EINVAL);
	a.u.epoch.members = NULL; /* empty and absent: still no members */
	fx_assert_any_encode_fails(&a, -EINVAL);
	a = fx_any_typical(FX_EPOCH);
	a.u.epoch.members = NULL;
	fx_assert_any_encode_fails(&a, -EINVAL);
	a = fx_any_typical(FX_EPOCH);
	a.u.epoch.members = fx_big;
	a.u.epoch.members_len = WIRE_EPOCH_MEMBERS_MAX + 1;
	fx_assert_any_encode_fails(&a, -EMSGSIZE);
	a.u.epoch.members_len = UINT32_MAX;
	fx_assert_any_encode_fails(&a, -EMSGSIZE);

	a = fx_any_typical(FX_EPOCH_STARTED);
	a.u.epoch_started.replica = WIRE_VR_REPLICA_MAX + 1;
	fx_assert_any_encode_fails(&a, -EINVAL);
	a.u.epoch_started.replica = UINT8_MAX;
	fx_assert_any_encode_fails(&a, -EINVAL);
}

struct fx_msg_case {
	const char *what;
	const char *why;
	enum fx_msg which;
	struct fx_item items[FX_ITEMS_MAX];
};

#define FX_DIGEST "0123456789abcdef0123456789abcdef"
#define FX_STATUS_TAIL                                                                                                 \
	FX_U(7), FX_U(1), FX_U(1), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0),    \
	        FX_U(2), FX_U(0), FX_U(0),                                                                             \
	        FX_U(0) /* view .. prepare_ops, epoch, log_parts, log_cached, bodies_read */

static const struct fx_msg_case FX_MSG_CORPUS[] = {
	{ "empty", "redirect: empty", FX_REDIRECT, { FX_END_ } },
	{ "empty", "status_request: empty", FX_STATUS_REQUEST, { FX_END_ } },
	{ "empty", "status: empty", FX_STATUS, { FX_END_ } },
	{ "empty", "snapshot_request: empty", FX_SNAPSHOT_REQUEST, { FX_END_ } },
	{ "empty", "snapshot_chunk: empty", FX_SNAPSHOT_CHUNK, { FX_END_ } },
	{ "a map", "redirect: not a msgpack array", FX_REDIRECT, { FX_RAW_("\x80") } },
	{ "a string", "status_request: not a msgpack array", FX_STATUS_REQUEST, { FX_S("status") } },
	{ "an integer", "status: not a msgpack array", FX_STATUS, { FX_U(0) } },
	{ "nil", "snapshot_request: not a msgpack array", FX_SNAPSHOT_REQUEST, { FX_NIL_ } },
	{ "bin", "snapshot_chunk: not a msgpack array", FX_SNAPSHOT_CHUNK, { FX_B("chunk") } },
	{ "3 fields", "redirect: wrong field count", FX_REDIRECT, { FX_A(3), FX_U(1), FX_U(0), FX_U(2) } },
	{ "5 fields", "redirect: wrong field count", FX_REDIRECT, { FX_A(5) } },
	{ "0 fields", "status_request: wrong field count", FX_STATUS_REQUEST, { FX_A(0) } },
	{ "2 fields", "status_request: wrong field count", FX_STATUS_REQUEST, { FX_A(2), FX_U(1), FX_U(2) } },
	{ "12 fields", "status: wrong field count", FX_STATUS, { FX_A(12) } },
	{ "array32 of 2^32-1", "status: wrong field count", FX_STATUS, { FX_A32(UINT32_MAX) } },
	{ "17 fields (no epoch)",
	  "status: wrong field count",
	  FX_STATUS,
	  { FX_A(17), FX_U(1), FX_U(1), FX_U(3), FX_U(0), FX_U(1), FX_U(7), FX_U(1), FX_U(1), FX_U(0), FX_U(0), FX_U(0),
	    FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0), FX_U(0) } },
	{ "5 fields", "snapshot_request: wrong field count", FX_SNAPSHOT_REQUEST, { FX_A(5) } },
	{ "8 fields (no epoch)",
	  "snapshot_chunk: wrong field count",
	  FX_SNAPSHOT_CHUNK,
	  { FX_A(8), FX_U(1), FX_U(5), FX_U(9), FX_U(2), FX_U(10), FX_U(0), FX_B(FX_DIGEST), FX_B("0123456789") } },
	{ "10 fields", "snapshot_chunk: wrong field count", FX_SNAPSHOT_CHUNK, { FX_A(10) } },
	{ "replica 16",
	  "redirect: replica out of range",
	  FX_REDIRECT,
	  { FX_A(4), FX_U(16), FX_U(0), FX_U(2), FX_U(7) } },
	{ "primary 16",
	  "redirect: primary out of range",
	  FX_REDIRECT,
	  { FX_A(4), FX_U(1), FX_U(0), FX_U(16), FX_U(7) } },
	{ "status 256",
	  "redirect: integer out of range",
	  FX_REDIRECT,
	  { FX_A(4), FX_U(1), FX_U(256), FX_U(2), FX_U(7) } },
	{ "view -1", "redirect: integer out of range", FX_REDIRECT, { FX_A(4), FX_U(1), FX_U(0), FX_U(2), FX_I(-1) } },
	{ "view as str",
	  "redirect: field is not an integer",
	  FX_REDIRECT,
	  { FX_A(4), FX_U(1), FX_U(0), FX_U(2), FX_S("7") } },
	{ "trailing byte",
	  "redirect: trailing bytes",
	  FX_REDIRECT,
	  { FX_A(4), FX_U(1), FX_U(0), FX_U(2), FX_U(7), FX_RAW_("\x00") } },
	{ "cut short", "redirect: truncated", FX_REDIRECT, { FX_A(4), FX_U(1), FX_U(0), FX_U(2) } },
	{ "nonce -1", "status_request: integer out of range", FX_STATUS_REQUEST, { FX_A(1), FX_I(-1) } },
	{ "nonce as nil", "status_request: field is not an integer", FX_STATUS_REQUEST, { FX_A(1), FX_NIL_ } },
	{ "trailing byte", "status_request: trailing bytes", FX_STATUS_REQUEST, { FX_A(1), FX_U(1), FX_U(1) } },
	{ "too large", "status_request: message too large", FX_STATUS_REQUEST, { FX_A(1), FX_BN(fx_big, 300) } },
	{ "replica 16",
	  "status: replica out of range",
	  FX_STATUS,
	  { FX_A(21), FX_U(1), FX_U(16), FX_U(3), FX_U(0), FX_U(1), FX_STATUS_TAIL } },
	{ "replica_count 17",
	  "status: replica_count out of range",
	  FX_STATUS,
	  { FX_A(21), FX_U(1), FX_U(1), FX_U(17), FX_U(0), FX_U(1), FX_STATUS_TAIL } },
	{ "primary 16",
	  "status: primary out of range",
	  FX_STATUS,
	  { FX_A(21), FX_U(1), FX_U(1), FX_U(3), FX_U(0), FX_U(16), FX_STATUS_TAIL } },
	{ "status 256",
	  "status: integer out of range",
	  FX_STATUS,
	  { FX_A(21), FX_U(1), FX_U(1), FX_U(3), FX_U(256), FX_U(1), FX_STATUS_TAIL } },
	{ "uptime as bin",
	  "status: field is not an integer",
	  FX_STATUS,
	  { FX_A(21), FX_U(1), FX_U(1), FX_U(3), FX_U(0), FX_U(1), FX_U(7), FX_U(1), FX_U(1), FX_U(0), FX_U(0), FX_U(0),
	    FX_U(0), FX_B("") } },
	{ "trailing nil",
	  "status: trailing bytes",
	  FX_STATUS,
	  { FX_A(21), FX_U(1), FX_U(1), FX_U(3), FX_U(0), FX_U(1), FX_STATUS_TAIL, FX_NIL_ } },
	{ "too large", "status: message too large", FX_STATUS, { FX_A(18), FX_BN(fx_big, 300) } },
	{ "replica 16",
	  "snapshot_request: replica out of range",
	  FX_SNAPSHOT_REQUEST,
	  { FX_A(4), FX_U(16), FX_U(1), FX_U(0), FX_U(0) } },
	{ "offset -1",
	  "snapshot_request: integer out of range",
	  FX_SNAPSHOT_REQUEST,
	  { FX_A(4), FX_U(1), FX_U(1), FX_U(0), FX_I(-1) } },
	{ "trailing byte",
	  "snapshot_request: trailing bytes",
	  FX_SNAPSHOT_REQUEST,
	  { FX_A(4), FX_U(1), FX_U(1), FX_U(0), FX_U(0), FX_U(0) } },
	{ "replica 16",
	  "snapshot_chunk: replica out of range",
	  FX_SNAPSHOT_CHUNK,
	  { FX_A(9), FX_U(16), FX_U(5), FX_U(9), FX_U(2), FX_U(3), FX_U(10), FX_U(0), FX_B(FX_DIGEST),
	    FX_B("0123456789") } },
	{ "digest of 31 bytes",
	  "snapshot_chunk: digest is not 32 bytes",
	  FX_SNAPSHOT_CHUNK,
	  { FX_A(9), FX_U(1), FX_U(5), FX_U(9), FX_U(2), FX_U(3), FX_U(10), FX_U(0), FX_BN(FX_DIGEST, 31), FX_B("") } },
	{ "digest of 33 bytes",
	  "snapshot_chunk: digest is not 32 bytes",
	  FX_SNAPSHOT_CHUNK,
	  { FX_A(9), FX_U(1), FX_U(5), FX_U(9), FX_U(2), FX_U(3), FX_U(10), FX_U(0), FX_B(FX_DIGEST "!"), FX_B("") } },
	{ "digest empty",
	  "snapshot_chunk: digest is not 32 bytes",
	  FX_SNAPSHOT_CHUNK,
	  { FX_A(9), FX_U(1), FX_U(5), FX_U(9), FX_U(2), FX_U(3), FX_U(10), FX_U(0), FX_B(""), FX_B("") } },
	{ "digest as str",
	  "snapshot_chunk: field is not bin",
	  FX_SNAPSHOT_CHUNK,
	  { FX_A(9), FX_U(1), FX_U(5), FX_U(9), FX_U(2), FX_U(3), FX_U(10), FX_U(0), FX_S(FX_DIGEST), FX_B("") } },
	{ "data as str",
	  "snapshot_chunk: field is not bin",
	  FX_SNAPSHOT_CHUNK,
	  { FX_A(9), FX_U(1), FX_U(5), FX_U(9), FX_U(2), FX_U(3), FX_U(10), FX_U(0), FX_B(FX_DIGEST), FX_S("data") } },
	{ "data beyond total",
	  "snapshot_chunk: data beyond total",
	  FX_SNAPSHOT_CHUNK,
	  { FX_A(9), FX_U(1), FX_U(5), FX_U(9), FX_U(2), FX_U(3), FX_U(10), FX_U(1), FX_B(FX_DIGEST),
	    FX_B("0123456789") } },
	{ "data longer than total",
	  "snapshot_chunk: data beyond total",
	  FX_SNAPSHOT_CHUNK,
	  { FX_A(9), FX_U(1), FX_U(5), FX_U(9), FX_U(2), FX_U(3), FX_U(9), FX_U(0), FX_B(FX_DIGEST),
	    FX_B("0123456789") } },
	{ "offset + data_len wraps past 2^64",
	  "snapshot_chunk: data beyond total",
	  FX_SNAPSHOT_CHUNK,
	  { FX_A(9), FX_U(1), FX_U(5), FX_U(9), FX_U(2), FX_U(3), FX_U(UINT64_MAX), FX_U(UINT64_MAX - 9),
	    FX_B(FX_DIGEST), FX_B("0123456789") } },
	{ "data of WIRE_SNAPSHOT_CHUNK_MAX + 1 bytes",
	  "snapshot_chunk: data too long",
	  FX_SNAPSHOT_CHUNK,
	  { FX_A(9), FX_U(1), FX_U(5), FX_U(9), FX_U(2), FX_U(3), FX_U(UINT64_MAX), FX_U(0), FX_B(FX_DIGEST),
	    FX_BN(fx_big, WIRE_SNAPSHOT_CHUNK_MAX + 1) } },
	{ "data bin32 claiming 4 GiB",
	  "snapshot_chunk: truncated",
	  FX_SNAPSHOT_CHUNK,
	  { FX_A(9), FX_U(1), FX_U(5), FX_U(9), FX_U(2), FX_U(3), FX_U(UINT64_MAX), FX_U(0), FX_B(FX_DIGEST),
	    FX_RAW_("\xc6\xff\xff\xff\xff") } },
	{ "trailing byte",
	  "snapshot_chunk: trailing bytes",
	  FX_SNAPSHOT_CHUNK,
	  { FX_A(9), FX_U(1), FX_U(5), FX_U(9), FX_U(2), FX_U(3), FX_U(10), FX_U(0), FX_B(FX_DIGEST),
	    FX_B32("0123456789"), FX_RAW_("\x00") } },
	{ "too large",
	  "snapshot_chunk: message too large",
	  FX_SNAPSHOT_CHUNK,
	  { FX_A(9), FX_BN(fx_big, WIRE_SNAPSHOT_CHUNK_MAX + 256) } },
	{ "empty", "epoch: empty", FX_EPOCH, { FX_END_ } },
	{ "an integer", "epoch: not a msgpack array", FX_EPOCH, { FX_U(2) } },
	{ "bin", "epoch: not a msgpack array", FX_EPOCH, { FX_B(FX_MEMBERS) } },
	{ "3 fields (no members)", "epoch: wrong field count", FX_EPOCH, { FX_A(3), FX_U(2), FX_U(10), FX_U(9) } },
	{ "5 fields",
	  "epoch: wrong field count",
	  FX_EPOCH,
	  { FX_A(5), FX_U(2), FX_U(10), FX_U(9), FX_B("a:1"), FX_U(0) } },
	{ "array32 of 2^32-1", "epoch: wrong field count", FX_EPOCH, { FX_A32(UINT32_MAX) } },
	{ "epoch -1", "epoch: integer out of range", FX_EPOCH, { FX_A(4), FX_I(-1), FX_U(10), FX_U(9), FX_B("a:1") } },
	{ "head as bin",
	  "epoch: field is not an integer",
	  FX_EPOCH,
	  { FX_A(4), FX_U(2), FX_U(10), FX_B("\x09"), FX_B("a:1") } },
	{ "members empty", "epoch: no members", FX_EPOCH, { FX_A(4), FX_U(2), FX_U(10), FX_U(9), FX_B("") } },
	{ "members as str", "epoch: field is not bin", FX_EPOCH, { FX_A(4), FX_U(2), FX_U(10), FX_U(9), FX_S("a:1") } },
	{ "members as nil", "epoch: field is not bin", FX_EPOCH, { FX_A(4), FX_U(2), FX_U(10), FX_U(9), FX_NIL_ } },
	{ "members of WIRE_EPOCH_MEMBERS_MAX + 1 bytes",
	  "epoch: members too long",
	  FX_EPOCH,
	  { FX_A(4), FX_U(2), FX_U(10), FX_U(9), FX_BN(fx_big, WIRE_EPOCH_MEMBERS_MAX + 1) } },
	{ "members bin32 claiming 4 GiB",
	  "epoch: truncated",
	  FX_EPOCH,
	  { FX_A(4), FX_U(2), FX_U(10), FX_U(9), FX_RAW_("\xc6\xff\xff\xff\xff") } },
	{ "cut short", "epoch: truncated", FX_EPOCH, { FX_A(4), FX_U(2), FX_U(10), FX_U(9) } },
	{ "trailing byte",
	  "epoch: trailing bytes",
	  FX_EPOCH,
	  { FX_A(4), FX_U(2), FX_U(10), FX_U(9), FX_B32("a:1"), FX_RAW_("\x00") } },
	{ "too large",
	  "epoch: message too large",
	  FX_EPOCH,
	  { FX_A(4), FX_U(2), FX_U(10), FX_U(9), FX_BN(fx_big, WIRE_EPOCH_MEMBERS_MAX + 256) } },
	{ "empty", "epoch_started: empty", FX_EPOCH_STARTED, { FX_END_ } },
	{ "a map", "epoch_started: not a msgpack array", FX_EPOCH_STARTED, { FX_RAW_("\x80") } },
	{ "1 field", "epoch_started: wrong field count", FX_EPOCH_STARTED, { FX_A(1), FX_U(2) } },
	{ "3 fields", "epoch_started: wrong field count", FX_EPOCH_STARTED, { FX_A(3), FX_U(2), FX_U(3), FX_U(0) } },
	{ "replica 16", "epoch_started: replica out of range", FX_EPOCH_STARTED, { FX_A(2), FX_U(2), FX_U(16) } },
	{ "replica 256", "epoch_started: integer out of range", FX_EPOCH_STARTED, { FX_A(2), FX_U(2), FX_U(256) } },
	{ "epoch as str", "epoch_started: field is not an integer", FX_EPOCH_STARTED, { FX_A(2), FX_S("2"), FX_U(3) } },
	{ "cut short", "epoch_started: truncated", FX_EPOCH_STARTED, { FX_A(2), FX_U(2) } },
	{ "trailing byte",
	  "epoch_started: trailing bytes",
	  FX_EPOCH_STARTED,
	  { FX_A(2), FX_U(2), FX_U(3), FX_RAW_("\x00") } },
	{ "too large", "epoch_started: message too large", FX_EPOCH_STARTED, { FX_A(2), FX_BN(fx_big, 300) } },
};

static void test_msg_decode_rejects_corpus(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(FX_MSG_CORPUS) / sizeof(FX_MSG_CORPUS[0]); i++) {
		const struct fx_msg_case *c = &FX_MSG_CORPUS[i];

		fx_expect_msg(c->what, c->which, c->items, FX_ITEMS_MAX, c->why);
	}
}

static void test_msg_decode_rejects_every_prefix(void **state)
{
	static const char *const want[FX_MSG_COUNT] = { "redirect: truncated",       "status_request: truncated",
		                                        "status: truncated",         "snapshot_request: truncated",
		                                        "snapshot_chunk: truncated", "epoch: truncated",
		                                        "epoch_started: truncated" };
	static const char *const want_empty[FX_MSG_COUNT] = { "redirect: empty",       "status_request: empty",
		                                              "status: empty",         "snapshot_request: empty",
		                                              "snapshot_chunk: empty", "epoch: empty",
		                                              "epoch_started: empty" };

	(void)state;
	for (int w = 0; w < FX_MSG_COUNT; w++) {
		struct fx_any a = fx_any_typical((enum fx_msg)w), out;
		struct wire_buf b;

		wire_buf_init(&b);
		assert_int_equal(fx_any_encode(&a, &b), 0);
		for (size_t len = 0; len < b.len; len++) {
			uint8_t *buf = fx_copy(b.data, len);
			const char *why = NULL;

			assert_int_equal(fx_any_decode((enum fx_msg)w, buf, len, &out, &why), -EBADMSG);
			assert_string_equal(why, len ? want[w] : want_empty[w]);
			free(buf);
		}
		wire_buf_free(&b);
	}
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

/* Every decoder on buf: never a crash; whatever is accepted re-encodes to itself. */
static void fx_decode_anything(const uint8_t *bytes, size_t len, size_t *accepted)
{
	static struct vr_entry room[FX_ENTRIES], room2[FX_ENTRIES];
	uint8_t *buf = fx_copy(bytes, len);

	for (uint16_t t = 0; t <= VR_COMMAND_MAX + 1; t++) {
		struct vr_message m, again;
		struct wire_buf b;
		const char *why = NULL;

		if (wire_vr_decode(t, buf, len, &m, room, FX_ENTRIES, &why) != 0) {
			assert_non_null(why);
			continue;
		}
		assert_null(why);
		assert_int_equal(m.command, t);
		(*accepted)++;
		wire_buf_init(&b);
		assert_int_equal(wire_vr_encode(&m, &b), 0);
		assert_true(b.len <= len);
		assert_int_equal(wire_vr_decode(t, b.data, b.len, &again, room2, FX_ENTRIES, &why), 0);
		fx_assert_vr_equal(&m, &again);
		wire_buf_free(&b);
	}
	for (int w = 0; w < FX_MSG_COUNT; w++) {
		struct fx_any a, again;
		struct wire_buf b;
		const char *why = NULL;

		if (fx_any_decode((enum fx_msg)w, buf, len, &a, &why) != 0) {
			assert_non_null(why);
			continue;
		}
		(*accepted)++;
		wire_buf_init(&b);
		assert_int_equal(fx_any_encode(&a, &b), 0);
		assert_true(b.len <= len);
		assert_int_equal(fx_any_decode((enum fx_msg)w, b.data, b.len, &again, &why), 0);
		fx_assert_any_equal(&a, &again);
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
		/* Usually start like a message, so the fields are reached too. */
		if (len >= 2 && (run % 4)) {
			static const uint8_t heads[] = { 0x9f, 0x94, 0x91, 0x9d, 0x99, 0x92 };

			bytes[0] = heads[fx_rand(&seed) % sizeof(heads)];
			bytes[1] = (uint8_t)(fx_rand(&seed) % (VR_COMMAND_MAX + 2));
		}
		fx_decode_anything(bytes, len, &accepted);
	}
	print_message("random bytes: %zu accepted by some decoder in %d runs\n", accepted, FX_RANDOM_RUNS);
}

/* Valid encodings with a few bytes changed, dropped or added: the paths random bytes rarely reach. */
static void test_decode_mutated_encodings(void **state)
{
	struct vr_entry entries[FX_ENTRIES];
	uint64_t seed = FX_SEED + 1;
	size_t accepted = 0;

	(void)state;
	for (int run = 0; run < FX_RANDOM_RUNS; run++) {
		size_t pick = fx_rand(&seed) % (VR_COMMAND_MAX + FX_MSG_COUNT);
		size_t flips = 1 + fx_rand(&seed) % 3;
		struct wire_buf b;

		wire_buf_init(&b);
		if (pick < VR_COMMAND_MAX) {
			struct vr_message m = fx_message((uint8_t)(pick + 1), entries);

			assert_int_equal(wire_vr_encode(&m, &b), 0);
			assert_int_equal(wire_vr_encode(&m, &b), 0); /* room to grow into */
		} else {
			struct fx_any a = fx_any_typical((enum fx_msg)(pick - VR_COMMAND_MAX));

			assert_int_equal(fx_any_encode(&a, &b), 0);
			assert_int_equal(fx_any_encode(&a, &b), 0);
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
		cmocka_unit_test(test_vr_roundtrip_every_command),
		cmocka_unit_test(test_vr_roundtrip_extremes),
		cmocka_unit_test(test_vr_roundtrip_zero),
		cmocka_unit_test(test_vr_roundtrip_reconfigure),
		cmocka_unit_test(test_vr_roundtrip_body_lengths),
		cmocka_unit_test(test_vr_roundtrip_many_entries),
		cmocka_unit_test(test_vr_golden_bytes),
		cmocka_unit_test(test_vr_decode_accepts_other_widths),
		cmocka_unit_test(test_vr_encode_appends),
		cmocka_unit_test(test_vr_encode_rejects_bad_values),
		cmocka_unit_test(test_vr_encode_rejects_too_large),
		cmocka_unit_test(test_vr_decode_rejects_frame_type),
		cmocka_unit_test(test_vr_decode_rejects_command_mismatch),
		cmocka_unit_test(test_vr_decode_rejects_corpus),
		cmocka_unit_test(test_vr_decode_rejects_wrong_type_every_field),
		cmocka_unit_test(test_vr_decode_rejects_more_entries_than_room),
		cmocka_unit_test(test_vr_decode_rejects_entries_over_max),
		cmocka_unit_test(test_vr_decode_rejects_every_prefix),
		cmocka_unit_test(test_vr_decode_rejects_trailing_bytes),
		cmocka_unit_test(test_msg_roundtrip_redirect),
		cmocka_unit_test(test_msg_roundtrip_status_request_and_status),
		cmocka_unit_test(test_msg_roundtrip_snapshot),
		cmocka_unit_test(test_msg_roundtrip_epoch),
		cmocka_unit_test(test_msg_golden_bytes),
		cmocka_unit_test(test_msg_encode_rejects_invalid),
		cmocka_unit_test(test_msg_decode_rejects_corpus),
		cmocka_unit_test(test_msg_decode_rejects_every_prefix),
		cmocka_unit_test(test_decode_random_bytes),
		cmocka_unit_test(test_decode_mutated_encodings),
	};
	struct wire_fs_op op = { .type = WIRE_FS_WRITE,
		                 .uid = 1000,
		                 .gid = 100,
		                 .ino = 42,
		                 .offset = 8192,
		                 .data = (const uint8_t *)"hello, world\n",
		                 .data_len = 13 };
	struct wire_fs_result r = { .written = 13, .attr = { .ino = 42, .mode = 0100644, .nlink = 1, .size = 8205 } };
	int failed;

	memset(fx_big, 'b', sizeof(fx_big));
	wire_buf_init(&fx_op_body);
	wire_buf_init(&fx_result_body);
	if (wire_fs_op_encode(&op, &fx_op_body) != 0 || wire_fs_result_encode(&r, &fx_result_body) != 0)
		return 1;
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	wire_buf_free(&fx_op_body);
	wire_buf_free(&fx_result_body);
	return failed;
}
