/*
 * wire_vr.c — encoding and decoding of the frame bodies replicas and clients exchange:
 * VR messages and the daemon's own messages (API and limits in wire_vr.h).
 *
 * Formats. Every body is one msgpack array holding every field, always, in this order
 * (a field a command does not use travels as 0, or as an empty bin):
 *
 *   VR message (frame types 1..VR_COMMAND_MAX; command equals the frame type)
 *     [command, replica, status, epoch, view, op, commit, last_normal_view, nonce,
 *      client_id, session, request, kind, body, entries]
 *   (last_normal_view travels as hold in PREPARE and COMMIT: the same field, vr_types.h)
 *   entry (an element of entries)
 *     [op, view, client_id, session, request, timestamp, checksum, parent, kind, body]
 *   redirect          (WIRE_MSG_REDIRECT)          [replica, status, primary, view]
 *   status_request    (WIRE_MSG_STATUS_REQUEST)    [nonce]
 *   status            (WIRE_MSG_STATUS)            [nonce, replica, replica_count, status, primary,
 *                                                    view, op, commit, checkpoint, log_ops,
 *                                                    log_bytes, frames_bad, uptime_ms, reads,
 *                                                    lease_reads, prepares, prepare_ops, epoch,
 *                                                    log_parts, log_cached, bodies_read]
 *   snapshot_request  (WIRE_MSG_SNAPSHOT_REQUEST)  [replica, min_op, snapshot_op, offset]
 *   snapshot_chunk    (WIRE_MSG_SNAPSHOT_CHUNK)    [replica, snapshot_op, head, view, epoch,
 *                                                    total, offset, digest, data]
 *   epoch             (WIRE_MSG_EPOCH)             [epoch, op, head, members]
 *   epoch_started     (WIRE_MSG_EPOCH_STARTED)     [epoch, replica]
 *
 * Integers are msgpack integers of any width (the encoder writes the shortest); a
 * negative value, or one beyond its C field's type, is refused. body, digest, data and
 * members are msgpack bin (bin8, bin16 or bin32; never str); entries is a msgpack array.
 *
 * Limits (the encoder refuses what the decoder would, see invariant 1):
 *   array lengths         exactly as above
 *   command               1..VR_COMMAND_MAX and equal to the frame type
 *   replica, primary      0..WIRE_VR_REPLICA_MAX; replica_count 0..WIRE_VR_REPLICA_MAX + 1
 *   status                0..255 (its meaning is the reader's: enum vr_reply_status in a
 *                         REPLY, enum vr_status in redirect and status)
 *   message kind          0 (no request), VR_KIND_OP, VR_KIND_REGISTER or VR_KIND_RECONFIGURE
 *   entry kind            VR_KIND_OP, VR_KIND_REGISTER or VR_KIND_RECONFIGURE
 *   body (message, entry) 0..WIRE_VR_BODY_MAX bytes
 *   entries               0..WIRE_VR_ENTRIES_MAX, and no more than the decoder's caller holds
 *   digest                exactly WIRE_SNAPSHOT_DIGEST bytes
 *   data                  0..WIRE_SNAPSHOT_CHUNK_MAX bytes, offset + data_len <= total
 *   members               1..WIRE_EPOCH_MEMBERS_MAX bytes (an epoch has at least one member)
 *   whole body            a VR message at most WIRE_FRAME_BODY_MAX bytes (so a frame carries
 *                         it), a snapshot chunk WIRE_VR_CHUNK_SIZE_MAX, an epoch
 *                         WIRE_VR_EPOCH_SIZE_MAX, the other daemon messages
 *                         WIRE_VR_SMALL_SIZE_MAX.
 * The encoder returns -EINVAL for a value out of range, a NULL pointer with a nonzero
 * length or an empty member list, -EMSGSIZE for a length or count beyond its limit (also
 * a VR message whose encoding outgrows a frame); the decoder returns -EBADMSG with the
 * same reason.
 *
 * Decoded byte strings (body, entries[i].body, data, members) are never NULL: they point
 * into the input buffer even when empty (then possibly at its end), so a caller can hand
 * them to APIs that tell a NULL pointer from an empty string (sqlite3_bind_blob).
 *
 * Encoding uses msgpack-c's packer into struct wire_sink; decoding uses the bounded
 * reader struct wire_reader (both in wire_msgpack.c, shared with the other codecs; see
 * wire_msgpack.h why msgpack_unpack_next is not used: it allocates
 * count * sizeof(msgpack_object) on an array header before any element arrives).
 *
 * Invariants:
 *  1. Encoder and decoder share one check per message (wire_*_check), so every message
 *     the encoder accepts decodes to itself and every message the decoder accepts
 *     re-encodes, to at most as many bytes as it came in.
 *  2. The decoder reads only buf[0..len), allocates nothing, writes at most entries_max
 *     entries, and fails at the first fault it meets.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <msgpack.h>

#include "wire/wire_frame.h"
#include "wire/wire_msgpack.h"
#include "wire/wire_vr.h"

#define WIRE_VR_FIELDS               15
#define WIRE_VR_ENTRY_FIELDS         10
#define WIRE_REDIRECT_FIELDS         4
#define WIRE_STATUS_REQUEST_FIELDS   1
#define WIRE_STATUS_FIELDS           21
#define WIRE_SNAPSHOT_REQUEST_FIELDS 4
#define WIRE_SNAPSHOT_CHUNK_FIELDS   9
#define WIRE_EPOCH_FIELDS            4
#define WIRE_EPOCH_STARTED_FIELDS    2
#define WIRE_VR_INT_SIZE_MAX         9 /* a uint64 */
#define WIRE_VR_HEADER_SIZE_MAX      5 /* an array32 or bin32 header */
#define WIRE_VR_MESSAGE_SIZE_MAX     WIRE_FRAME_BODY_MAX
#define WIRE_VR_SMALL_SIZE_MAX       256
#define WIRE_VR_CHUNK_SIZE_MAX       (WIRE_SNAPSHOT_CHUNK_MAX + WIRE_VR_SMALL_SIZE_MAX)
#define WIRE_VR_EPOCH_SIZE_MAX       (WIRE_EPOCH_MEMBERS_MAX + WIRE_VR_SMALL_SIZE_MAX)
#define WIRE_VR_KIND_MAX             VR_KIND_RECONFIGURE

/* The largest encodings without their byte strings: an array header, integers, bin and array headers. */
#define WIRE_VR_MESSAGE_SCALARS_MAX (1 + 13 * WIRE_VR_INT_SIZE_MAX + 2 * WIRE_VR_HEADER_SIZE_MAX)
#define WIRE_VR_ENTRY_SCALARS_MAX   (1 + 9 * WIRE_VR_INT_SIZE_MAX + WIRE_VR_HEADER_SIZE_MAX)

_Static_assert((int)VR_COMMAND_MAX < (int)WIRE_MSG_REDIRECT,
               "VR commands and daemon messages share the frame type space");
_Static_assert(VR_COMMAND_MAX <= UINT8_MAX, "command fits uint8_t");
_Static_assert(WIRE_VR_REPLICA_MAX < UINT8_MAX, "replica numbers and the count fit uint8_t");
_Static_assert(WIRE_VR_KIND_MAX <= UINT8_MAX, "kind fits uint8_t");
_Static_assert(VR_KIND_OP == 1 && VR_KIND_REGISTER == 2 && VR_KIND_RECONFIGURE == 3,
               "entry kinds are 1..WIRE_VR_KIND_MAX, no gaps");
_Static_assert(WIRE_VR_BODY_MAX <= UINT32_MAX && WIRE_SNAPSHOT_CHUNK_MAX <= UINT32_MAX &&
                       WIRE_EPOCH_MEMBERS_MAX <= UINT32_MAX,
               "lengths fit uint32_t");
_Static_assert(WIRE_VR_ENTRIES_MAX <= UINT32_MAX, "entry counts fit uint32_t");
/* A REQUEST with the largest op, or a PREPARE with one entry holding it, fits one frame. */
_Static_assert(WIRE_VR_MESSAGE_SCALARS_MAX + WIRE_VR_ENTRY_SCALARS_MAX + WIRE_VR_BODY_MAX <= WIRE_VR_MESSAGE_SIZE_MAX,
               "largest op in a frame");
_Static_assert(1 + WIRE_STATUS_FIELDS * WIRE_VR_INT_SIZE_MAX <= WIRE_VR_SMALL_SIZE_MAX, "status");
_Static_assert(1 + 7 * WIRE_VR_INT_SIZE_MAX + 2 + WIRE_SNAPSHOT_DIGEST + WIRE_VR_HEADER_SIZE_MAX <=
                       WIRE_VR_SMALL_SIZE_MAX,
               "snapshot chunk scalars");
_Static_assert(WIRE_VR_CHUNK_SIZE_MAX <= WIRE_FRAME_BODY_MAX, "a frame carries any snapshot chunk");
_Static_assert(1 + 3 * WIRE_VR_INT_SIZE_MAX + WIRE_VR_HEADER_SIZE_MAX <= WIRE_VR_SMALL_SIZE_MAX, "epoch scalars");
_Static_assert(WIRE_VR_EPOCH_SIZE_MAX <= WIRE_FRAME_BODY_MAX, "a frame carries any epoch");
_Static_assert(1 + WIRE_EPOCH_STARTED_FIELDS * WIRE_VR_INT_SIZE_MAX <= WIRE_VR_SMALL_SIZE_MAX, "epoch_started");
_Static_assert(WIRE_SNAPSHOT_DIGEST <= 255, "digest travels as bin8");

/* ---- Validity, shared by encoder and decoder (invariant 1) ------------------------ */

/* Each check returns 0, or -EINVAL / -EMSGSIZE with *why a constant reason. */

static int wire_vr_entry_check(const struct vr_entry *e, const char **why)
{
	if (e->kind < VR_KIND_OP || e->kind > WIRE_VR_KIND_MAX) /* OP, REGISTER or RECONFIGURE */
		return *why = "vr: entry kind unknown", -EINVAL;
	if (e->body_len > WIRE_VR_BODY_MAX)
		return *why = "vr: entry body too long", -EMSGSIZE;
	if (!e->body && e->body_len)
		return *why = "vr: entry body missing", -EINVAL;
	return 0;
}

/* Everything but the entries themselves (the decoder checks each as it reads it). */
static int wire_vr_head_check(const struct vr_message *m, const char **why)
{
	if (m->command < 1 || m->command > VR_COMMAND_MAX)
		return *why = "vr: unknown command", -EINVAL;
	if (m->replica > WIRE_VR_REPLICA_MAX)
		return *why = "vr: replica out of range", -EINVAL;
	if (m->kind > WIRE_VR_KIND_MAX)
		return *why = "vr: kind unknown", -EINVAL;
	if (m->body_len > WIRE_VR_BODY_MAX)
		return *why = "vr: body too long", -EMSGSIZE;
	if (!m->body && m->body_len)
		return *why = "vr: body missing", -EINVAL;
	if (m->entry_count > WIRE_VR_ENTRIES_MAX)
		return *why = "vr: too many entries", -EMSGSIZE;
	if (!m->entries && m->entry_count)
		return *why = "vr: entries missing", -EINVAL;
	return 0;
}

static int wire_vr_message_check(const struct vr_message *m, const char **why)
{
	int rc = wire_vr_head_check(m, why);

	for (uint32_t i = 0; rc == 0 && i < m->entry_count; i++)
		rc = wire_vr_entry_check(&m->entries[i], why);
	return rc;
}

static int wire_redirect_check(const struct wire_redirect *m, const char **why)
{
	if (m->replica > WIRE_VR_REPLICA_MAX)
		return *why = "redirect: replica out of range", -EINVAL;
	if (m->primary > WIRE_VR_REPLICA_MAX)
		return *why = "redirect: primary out of range", -EINVAL;
	return 0;
}

static int wire_status_check(const struct wire_status *m, const char **why)
{
	if (m->replica > WIRE_VR_REPLICA_MAX)
		return *why = "status: replica out of range", -EINVAL;
	if (m->replica_count > WIRE_VR_REPLICA_MAX + 1)
		return *why = "status: replica_count out of range", -EINVAL;
	if (m->primary > WIRE_VR_REPLICA_MAX)
		return *why = "status: primary out of range", -EINVAL;
	return 0;
}

static int wire_snapshot_request_check(const struct wire_snapshot_request *m, const char **why)
{
	if (m->replica > WIRE_VR_REPLICA_MAX)
		return *why = "snapshot_request: replica out of range", -EINVAL;
	return 0;
}

static int wire_snapshot_chunk_check(const struct wire_snapshot_chunk *m, const char **why)
{
	if (m->replica > WIRE_VR_REPLICA_MAX)
		return *why = "snapshot_chunk: replica out of range", -EINVAL;
	if (m->data_len > WIRE_SNAPSHOT_CHUNK_MAX)
		return *why = "snapshot_chunk: data too long", -EMSGSIZE;
	if (!m->data && m->data_len)
		return *why = "snapshot_chunk: data missing", -EINVAL;
	/* offset + data_len <= total, written so that it cannot wrap. */
	if (m->data_len > m->total || m->offset > m->total - m->data_len)
		return *why = "snapshot_chunk: data beyond total", -EINVAL;
	return 0;
}

static int wire_epoch_check(const struct wire_epoch *m, const char **why)
{
	if (m->members_len > WIRE_EPOCH_MEMBERS_MAX)
		return *why = "epoch: members too long", -EMSGSIZE;
	if (m->members_len == 0) /* a configuration without members could never commit */
		return *why = "epoch: no members", -EINVAL;
	if (!m->members)
		return *why = "epoch: members missing", -EINVAL;
	return 0;
}

static int wire_epoch_started_check(const struct wire_epoch_started *m, const char **why)
{
	if (m->replica > WIRE_VR_REPLICA_MAX)
		return *why = "epoch_started: replica out of range", -EINVAL;
	return 0;
}

/* ---- Encoding ------------------------------------------------------------------------ */

/* Pack return values are ignored: the sink keeps the first failure and refuses the rest. */
static void wire_vr_pack_entry(msgpack_packer *pk, const struct vr_entry *e)
{
	msgpack_pack_array(pk, WIRE_VR_ENTRY_FIELDS);
	msgpack_pack_uint64(pk, e->op);
	msgpack_pack_uint64(pk, e->view);
	msgpack_pack_uint64(pk, e->client_id);
	msgpack_pack_uint64(pk, e->session);
	msgpack_pack_uint64(pk, e->request);
	msgpack_pack_uint64(pk, e->timestamp);
	msgpack_pack_uint64(pk, e->checksum);
	msgpack_pack_uint64(pk, e->parent);
	msgpack_pack_uint8(pk, e->kind);
	wire_pack_bin(pk, e->body, e->body_len);
}

int wire_vr_encode(const struct vr_message *m, struct wire_buf *b)
{
	struct wire_sink sink;
	msgpack_packer pk;
	const char *why;
	int rc;

	rc = wire_vr_message_check(m, &why);
	if (rc)
		return rc;
	wire_sink_init(&sink, b, WIRE_VR_MESSAGE_SIZE_MAX);
	msgpack_packer_init(&pk, &sink, wire_sink_write);
	msgpack_pack_array(&pk, WIRE_VR_FIELDS);
	msgpack_pack_uint8(&pk, m->command);
	msgpack_pack_uint8(&pk, m->replica);
	msgpack_pack_uint8(&pk, m->status);
	msgpack_pack_uint64(&pk, m->epoch);
	msgpack_pack_uint64(&pk, m->view);
	msgpack_pack_uint64(&pk, m->op);
	msgpack_pack_uint64(&pk, m->commit);
	msgpack_pack_uint64(&pk, m->last_normal_view);
	msgpack_pack_uint64(&pk, m->nonce);
	msgpack_pack_uint64(&pk, m->client_id);
	msgpack_pack_uint64(&pk, m->session);
	msgpack_pack_uint64(&pk, m->request);
	msgpack_pack_uint8(&pk, m->kind);
	wire_pack_bin(&pk, m->body, m->body_len);
	msgpack_pack_array(&pk, m->entry_count);
	/* The sink stops growing at a frame's size: a message too large stops here, not at malloc. */
	for (uint32_t i = 0; i < m->entry_count && !sink.err; i++)
		wire_vr_pack_entry(&pk, &m->entries[i]);
	return wire_sink_finish(&sink);
}

int wire_redirect_encode(const struct wire_redirect *m, struct wire_buf *b)
{
	struct wire_sink sink;
	msgpack_packer pk;
	const char *why;
	int rc;

	rc = wire_redirect_check(m, &why);
	if (rc)
		return rc;
	wire_sink_init(&sink, b, WIRE_VR_SMALL_SIZE_MAX);
	msgpack_packer_init(&pk, &sink, wire_sink_write);
	msgpack_pack_array(&pk, WIRE_REDIRECT_FIELDS);
	msgpack_pack_uint8(&pk, m->replica);
	msgpack_pack_uint8(&pk, m->status);
	msgpack_pack_uint8(&pk, m->primary);
	msgpack_pack_uint64(&pk, m->view);
	return wire_sink_finish(&sink);
}

int wire_status_request_encode(const struct wire_status_request *m, struct wire_buf *b)
{
	struct wire_sink sink;
	msgpack_packer pk;

	wire_sink_init(&sink, b, WIRE_VR_SMALL_SIZE_MAX);
	msgpack_packer_init(&pk, &sink, wire_sink_write);
	msgpack_pack_array(&pk, WIRE_STATUS_REQUEST_FIELDS);
	msgpack_pack_uint64(&pk, m->nonce);
	return wire_sink_finish(&sink);
}

int wire_status_encode(const struct wire_status *m, struct wire_buf *b)
{
	struct wire_sink sink;
	msgpack_packer pk;
	const char *why;
	int rc;

	rc = wire_status_check(m, &why);
	if (rc)
		return rc;
	wire_sink_init(&sink, b, WIRE_VR_SMALL_SIZE_MAX);
	msgpack_packer_init(&pk, &sink, wire_sink_write);
	msgpack_pack_array(&pk, WIRE_STATUS_FIELDS);
	msgpack_pack_uint64(&pk, m->nonce);
	msgpack_pack_uint8(&pk, m->replica);
	msgpack_pack_uint8(&pk, m->replica_count);
	msgpack_pack_uint8(&pk, m->status);
	msgpack_pack_uint8(&pk, m->primary);
	msgpack_pack_uint64(&pk, m->view);
	msgpack_pack_uint64(&pk, m->op);
	msgpack_pack_uint64(&pk, m->commit);
	msgpack_pack_uint64(&pk, m->checkpoint);
	msgpack_pack_uint64(&pk, m->log_ops);
	msgpack_pack_uint64(&pk, m->log_bytes);
	msgpack_pack_uint64(&pk, m->frames_bad);
	msgpack_pack_uint64(&pk, m->uptime_ms);
	msgpack_pack_uint64(&pk, m->reads);
	msgpack_pack_uint64(&pk, m->lease_reads);
	msgpack_pack_uint64(&pk, m->prepares);
	msgpack_pack_uint64(&pk, m->prepare_ops);
	msgpack_pack_uint64(&pk, m->epoch);
	msgpack_pack_uint64(&pk, m->log_parts);
	msgpack_pack_uint64(&pk, m->log_cached);
	msgpack_pack_uint64(&pk, m->bodies_read);
	return wire_sink_finish(&sink);
}

int wire_snapshot_request_encode(const struct wire_snapshot_request *m, struct wire_buf *b)
{
	struct wire_sink sink;
	msgpack_packer pk;
	const char *why;
	int rc;

	rc = wire_snapshot_request_check(m, &why);
	if (rc)
		return rc;
	wire_sink_init(&sink, b, WIRE_VR_SMALL_SIZE_MAX);
	msgpack_packer_init(&pk, &sink, wire_sink_write);
	msgpack_pack_array(&pk, WIRE_SNAPSHOT_REQUEST_FIELDS);
	msgpack_pack_uint8(&pk, m->replica);
	msgpack_pack_uint64(&pk, m->min_op);
	msgpack_pack_uint64(&pk, m->snapshot_op);
	msgpack_pack_uint64(&pk, m->offset);
	return wire_sink_finish(&sink);
}

int wire_snapshot_chunk_encode(const struct wire_snapshot_chunk *m, struct wire_buf *b)
{
	struct wire_sink sink;
	msgpack_packer pk;
	const char *why;
	int rc;

	rc = wire_snapshot_chunk_check(m, &why);
	if (rc)
		return rc;
	wire_sink_init(&sink, b, WIRE_VR_CHUNK_SIZE_MAX);
	msgpack_packer_init(&pk, &sink, wire_sink_write);
	msgpack_pack_array(&pk, WIRE_SNAPSHOT_CHUNK_FIELDS);
	msgpack_pack_uint8(&pk, m->replica);
	msgpack_pack_uint64(&pk, m->snapshot_op);
	msgpack_pack_uint64(&pk, m->head);
	msgpack_pack_uint64(&pk, m->view);
	msgpack_pack_uint64(&pk, m->epoch);
	msgpack_pack_uint64(&pk, m->total);
	msgpack_pack_uint64(&pk, m->offset);
	wire_pack_bin(&pk, m->digest, WIRE_SNAPSHOT_DIGEST);
	wire_pack_bin(&pk, m->data, m->data_len);
	return wire_sink_finish(&sink);
}

int wire_epoch_encode(const struct wire_epoch *m, struct wire_buf *b)
{
	struct wire_sink sink;
	msgpack_packer pk;
	const char *why;
	int rc;

	rc = wire_epoch_check(m, &why);
	if (rc)
		return rc;
	wire_sink_init(&sink, b, WIRE_VR_EPOCH_SIZE_MAX);
	msgpack_packer_init(&pk, &sink, wire_sink_write);
	msgpack_pack_array(&pk, WIRE_EPOCH_FIELDS);
	msgpack_pack_uint64(&pk, m->epoch);
	msgpack_pack_uint64(&pk, m->op);
	msgpack_pack_uint64(&pk, m->head);
	wire_pack_bin(&pk, m->members, m->members_len);
	return wire_sink_finish(&sink);
}

int wire_epoch_started_encode(const struct wire_epoch_started *m, struct wire_buf *b)
{
	struct wire_sink sink;
	msgpack_packer pk;
	const char *why;
	int rc;

	rc = wire_epoch_started_check(m, &why);
	if (rc)
		return rc;
	wire_sink_init(&sink, b, WIRE_VR_SMALL_SIZE_MAX);
	msgpack_packer_init(&pk, &sink, wire_sink_write);
	msgpack_pack_array(&pk, WIRE_EPOCH_STARTED_FIELDS);
	msgpack_pack_uint64(&pk, m->epoch);
	msgpack_pack_uint8(&pk, m->replica);
	return wire_sink_finish(&sink);
}

/* ---- Reasons for the reader's faults (wire/wire_msgpack.h) ---------------------- */

/* Complete for every fault: a NULL here would turn a fault into success. */
static const char *const WIRE_VR_READ_WHY[WIRE_READER_STATUS_COUNT] = {
	[WIRE_READER_TRUNCATED] = "vr: truncated",
	[WIRE_READER_NOT_ARRAY] = "vr: not a msgpack array",
	[WIRE_READER_NOT_INT] = "vr: field is not an integer",
	[WIRE_READER_RANGE] = "vr: integer out of range",
	[WIRE_READER_NOT_BIN] = "vr: field is not bin",
	[WIRE_READER_NOT_BOOL] = "vr: field is not a boolean",
};

static const char *const WIRE_REDIRECT_READ_WHY[WIRE_READER_STATUS_COUNT] = {
	[WIRE_READER_TRUNCATED] = "redirect: truncated",
	[WIRE_READER_NOT_ARRAY] = "redirect: not a msgpack array",
	[WIRE_READER_NOT_INT] = "redirect: field is not an integer",
	[WIRE_READER_RANGE] = "redirect: integer out of range",
	[WIRE_READER_NOT_BIN] = "redirect: field is not bin",
	[WIRE_READER_NOT_BOOL] = "redirect: field is not a boolean",
};

static const char *const WIRE_STATUS_REQUEST_READ_WHY[WIRE_READER_STATUS_COUNT] = {
	[WIRE_READER_TRUNCATED] = "status_request: truncated",
	[WIRE_READER_NOT_ARRAY] = "status_request: not a msgpack array",
	[WIRE_READER_NOT_INT] = "status_request: field is not an integer",
	[WIRE_READER_RANGE] = "status_request: integer out of range",
	[WIRE_READER_NOT_BIN] = "status_request: field is not bin",
	[WIRE_READER_NOT_BOOL] = "status_request: field is not a boolean",
};

static const char *const WIRE_STATUS_READ_WHY[WIRE_READER_STATUS_COUNT] = {
	[WIRE_READER_TRUNCATED] = "status: truncated",
	[WIRE_READER_NOT_ARRAY] = "status: not a msgpack array",
	[WIRE_READER_NOT_INT] = "status: field is not an integer",
	[WIRE_READER_RANGE] = "status: integer out of range",
	[WIRE_READER_NOT_BIN] = "status: field is not bin",
	[WIRE_READER_NOT_BOOL] = "status: field is not a boolean",
};

static const char *const WIRE_SNAPSHOT_REQUEST_READ_WHY[WIRE_READER_STATUS_COUNT] = {
	[WIRE_READER_TRUNCATED] = "snapshot_request: truncated",
	[WIRE_READER_NOT_ARRAY] = "snapshot_request: not a msgpack array",
	[WIRE_READER_NOT_INT] = "snapshot_request: field is not an integer",
	[WIRE_READER_RANGE] = "snapshot_request: integer out of range",
	[WIRE_READER_NOT_BIN] = "snapshot_request: field is not bin",
	[WIRE_READER_NOT_BOOL] = "snapshot_request: field is not a boolean",
};

static const char *const WIRE_SNAPSHOT_CHUNK_READ_WHY[WIRE_READER_STATUS_COUNT] = {
	[WIRE_READER_TRUNCATED] = "snapshot_chunk: truncated",
	[WIRE_READER_NOT_ARRAY] = "snapshot_chunk: not a msgpack array",
	[WIRE_READER_NOT_INT] = "snapshot_chunk: field is not an integer",
	[WIRE_READER_RANGE] = "snapshot_chunk: integer out of range",
	[WIRE_READER_NOT_BIN] = "snapshot_chunk: field is not bin",
	[WIRE_READER_NOT_BOOL] = "snapshot_chunk: field is not a boolean",
};

static const char *const WIRE_EPOCH_READ_WHY[WIRE_READER_STATUS_COUNT] = {
	[WIRE_READER_TRUNCATED] = "epoch: truncated",
	[WIRE_READER_NOT_ARRAY] = "epoch: not a msgpack array",
	[WIRE_READER_NOT_INT] = "epoch: field is not an integer",
	[WIRE_READER_RANGE] = "epoch: integer out of range",
	[WIRE_READER_NOT_BIN] = "epoch: field is not bin",
	[WIRE_READER_NOT_BOOL] = "epoch: field is not a boolean",
};

static const char *const WIRE_EPOCH_STARTED_READ_WHY[WIRE_READER_STATUS_COUNT] = {
	[WIRE_READER_TRUNCATED] = "epoch_started: truncated",
	[WIRE_READER_NOT_ARRAY] = "epoch_started: not a msgpack array",
	[WIRE_READER_NOT_INT] = "epoch_started: field is not an integer",
	[WIRE_READER_RANGE] = "epoch_started: integer out of range",
	[WIRE_READER_NOT_BIN] = "epoch_started: field is not bin",
	[WIRE_READER_NOT_BOOL] = "epoch_started: field is not a boolean",
};

/* ---- Decoding ------------------------------------------------------------------------ */

/* NULL when r held one valid entry, now in e; else why not. */
static const char *wire_vr_entry_fields(struct wire_reader *r, struct vr_entry *e)
{
	uint32_t count = wire_reader_array(r);
	const char *why;

	if (r->status == WIRE_READER_OK && count != WIRE_VR_ENTRY_FIELDS)
		return "vr: entry: wrong field count";
	e->op = wire_reader_u64(r);
	e->view = wire_reader_u64(r);
	e->client_id = wire_reader_u64(r);
	e->session = wire_reader_u64(r);
	e->request = wire_reader_u64(r);
	e->timestamp = wire_reader_u64(r);
	e->checksum = wire_reader_u64(r);
	e->parent = wire_reader_u64(r);
	e->kind = wire_reader_u8(r);
	e->body = wire_reader_bin(r, &e->body_len);
	if (r->status != WIRE_READER_OK)
		return WIRE_VR_READ_WHY[r->status];
	return wire_vr_entry_check(e, &why) ? why : NULL;
}

/* NULL when r held exactly one valid message of command type, now in m; else why not. */
static const char *wire_vr_fields(struct wire_reader *r, uint16_t type, struct vr_message *m, struct vr_entry *entries,
                                  uint32_t entries_max)
{
	uint32_t count = wire_reader_array(r);
	uint32_t entry_count;
	const char *why;

	if (r->status == WIRE_READER_OK && count != WIRE_VR_FIELDS)
		return "vr: wrong field count";
	m->command = wire_reader_u8(r);
	if (r->status == WIRE_READER_OK && m->command != type)
		return "vr: command is not the frame type";
	m->replica = wire_reader_u8(r);
	m->status = wire_reader_u8(r);
	m->epoch = wire_reader_u64(r);
	m->view = wire_reader_u64(r);
	m->op = wire_reader_u64(r);
	m->commit = wire_reader_u64(r);
	m->last_normal_view = wire_reader_u64(r);
	m->nonce = wire_reader_u64(r);
	m->client_id = wire_reader_u64(r);
	m->session = wire_reader_u64(r);
	m->request = wire_reader_u64(r);
	m->kind = wire_reader_u8(r);
	m->body = wire_reader_bin(r, &m->body_len);
	entry_count = wire_reader_array(r);
	if (r->status != WIRE_READER_OK)
		return WIRE_VR_READ_WHY[r->status];
	/* Before any entry is read: the count is the sender's claim, entries_max our room. */
	if (entry_count > entries_max)
		return "vr: too many entries";
	m->entry_count = entry_count;
	m->entries = entry_count ? entries : NULL;
	if (wire_vr_head_check(m, &why))
		return why;
	for (uint32_t i = 0; i < entry_count; i++) {
		why = wire_vr_entry_fields(r, &entries[i]);
		if (why)
			return why;
	}
	if (r->left != 0)
		return "vr: trailing bytes";
	return NULL;
}

int wire_vr_decode(uint16_t type, const uint8_t *buf, size_t len, struct vr_message *m, struct vr_entry *entries,
                   uint32_t entries_max, const char **why)
{
	struct wire_reader r = { .pos = buf, .left = len, .status = WIRE_READER_OK };

	/* No array to write into is room for no entry. */
	if (!entries || entries_max > WIRE_VR_ENTRIES_MAX)
		entries_max = entries ? WIRE_VR_ENTRIES_MAX : 0;
	memset(m, 0, sizeof(*m));
	if (type < 1 || type > VR_COMMAND_MAX)
		*why = "vr: frame type is not a VR command";
	else if (len > WIRE_VR_MESSAGE_SIZE_MAX)
		*why = "vr: message too large";
	else if (len == 0)
		*why = "vr: empty";
	else
		*why = wire_vr_fields(&r, type, m, entries, entries_max);
	if (*why)
		memset(m, 0, sizeof(*m)); /* nothing half-decoded, no pointer into a rejected buffer */
	return *why ? -EBADMSG : 0;
}

static const char *wire_redirect_fields(struct wire_reader *r, struct wire_redirect *m)
{
	uint32_t count = wire_reader_array(r);
	const char *why;

	if (r->status == WIRE_READER_OK && count != WIRE_REDIRECT_FIELDS)
		return "redirect: wrong field count";
	m->replica = wire_reader_u8(r);
	m->status = wire_reader_u8(r);
	m->primary = wire_reader_u8(r);
	m->view = wire_reader_u64(r);
	if (r->status != WIRE_READER_OK)
		return WIRE_REDIRECT_READ_WHY[r->status];
	if (r->left != 0)
		return "redirect: trailing bytes";
	return wire_redirect_check(m, &why) ? why : NULL;
}

int wire_redirect_decode(const uint8_t *buf, size_t len, struct wire_redirect *m, const char **why)
{
	struct wire_reader r = { .pos = buf, .left = len, .status = WIRE_READER_OK };

	memset(m, 0, sizeof(*m));
	if (len > WIRE_VR_SMALL_SIZE_MAX)
		*why = "redirect: message too large";
	else if (len == 0)
		*why = "redirect: empty";
	else
		*why = wire_redirect_fields(&r, m);
	if (*why)
		memset(m, 0, sizeof(*m));
	return *why ? -EBADMSG : 0;
}

static const char *wire_status_request_fields(struct wire_reader *r, struct wire_status_request *m)
{
	uint32_t count = wire_reader_array(r);

	if (r->status == WIRE_READER_OK && count != WIRE_STATUS_REQUEST_FIELDS)
		return "status_request: wrong field count";
	m->nonce = wire_reader_u64(r);
	if (r->status != WIRE_READER_OK)
		return WIRE_STATUS_REQUEST_READ_WHY[r->status];
	if (r->left != 0)
		return "status_request: trailing bytes";
	return NULL;
}

int wire_status_request_decode(const uint8_t *buf, size_t len, struct wire_status_request *m, const char **why)
{
	struct wire_reader r = { .pos = buf, .left = len, .status = WIRE_READER_OK };

	memset(m, 0, sizeof(*m));
	if (len > WIRE_VR_SMALL_SIZE_MAX)
		*why = "status_request: message too large";
	else if (len == 0)
		*why = "status_request: empty";
	else
		*why = wire_status_request_fields(&r, m);
	if (*why)
		memset(m, 0, sizeof(*m));
	return *why ? -EBADMSG : 0;
}

static const char *wire_status_fields(struct wire_reader *r, struct wire_status *m)
{
	uint32_t count = wire_reader_array(r);
	const char *why;

	if (r->status == WIRE_READER_OK && count != WIRE_STATUS_FIELDS)
		return "status: wrong field count";
	m->nonce = wire_reader_u64(r);
	m->replica = wire_reader_u8(r);
	m->replica_count = wire_reader_u8(r);
	m->status = wire_reader_u8(r);
	m->primary = wire_reader_u8(r);
	m->view = wire_reader_u64(r);
	m->op = wire_reader_u64(r);
	m->commit = wire_reader_u64(r);
	m->checkpoint = wire_reader_u64(r);
	m->log_ops = wire_reader_u64(r);
	m->log_bytes = wire_reader_u64(r);
	m->frames_bad = wire_reader_u64(r);
	m->uptime_ms = wire_reader_u64(r);
	m->reads = wire_reader_u64(r);
	m->lease_reads = wire_reader_u64(r);
	m->prepares = wire_reader_u64(r);
	m->prepare_ops = wire_reader_u64(r);
	m->epoch = wire_reader_u64(r);
	m->log_parts = wire_reader_u64(r);
	m->log_cached = wire_reader_u64(r);
	m->bodies_read = wire_reader_u64(r);
	if (r->status != WIRE_READER_OK)
		return WIRE_STATUS_READ_WHY[r->status];
	if (r->left != 0)
		return "status: trailing bytes";
	return wire_status_check(m, &why) ? why : NULL;
}

int wire_status_decode(const uint8_t *buf, size_t len, struct wire_status *m, const char **why)
{
	struct wire_reader r = { .pos = buf, .left = len, .status = WIRE_READER_OK };

	memset(m, 0, sizeof(*m));
	if (len > WIRE_VR_SMALL_SIZE_MAX)
		*why = "status: message too large";
	else if (len == 0)
		*why = "status: empty";
	else
		*why = wire_status_fields(&r, m);
	if (*why)
		memset(m, 0, sizeof(*m));
	return *why ? -EBADMSG : 0;
}

static const char *wire_snapshot_request_fields(struct wire_reader *r, struct wire_snapshot_request *m)
{
	uint32_t count = wire_reader_array(r);
	const char *why;

	if (r->status == WIRE_READER_OK && count != WIRE_SNAPSHOT_REQUEST_FIELDS)
		return "snapshot_request: wrong field count";
	m->replica = wire_reader_u8(r);
	m->min_op = wire_reader_u64(r);
	m->snapshot_op = wire_reader_u64(r);
	m->offset = wire_reader_u64(r);
	if (r->status != WIRE_READER_OK)
		return WIRE_SNAPSHOT_REQUEST_READ_WHY[r->status];
	if (r->left != 0)
		return "snapshot_request: trailing bytes";
	return wire_snapshot_request_check(m, &why) ? why : NULL;
}

int wire_snapshot_request_decode(const uint8_t *buf, size_t len, struct wire_snapshot_request *m, const char **why)
{
	struct wire_reader r = { .pos = buf, .left = len, .status = WIRE_READER_OK };

	memset(m, 0, sizeof(*m));
	if (len > WIRE_VR_SMALL_SIZE_MAX)
		*why = "snapshot_request: message too large";
	else if (len == 0)
		*why = "snapshot_request: empty";
	else
		*why = wire_snapshot_request_fields(&r, m);
	if (*why)
		memset(m, 0, sizeof(*m));
	return *why ? -EBADMSG : 0;
}

static const char *wire_snapshot_chunk_fields(struct wire_reader *r, struct wire_snapshot_chunk *m)
{
	uint32_t count = wire_reader_array(r);
	const uint8_t *digest;
	uint32_t digest_len;
	const char *why;

	if (r->status == WIRE_READER_OK && count != WIRE_SNAPSHOT_CHUNK_FIELDS)
		return "snapshot_chunk: wrong field count";
	m->replica = wire_reader_u8(r);
	m->snapshot_op = wire_reader_u64(r);
	m->head = wire_reader_u64(r);
	m->view = wire_reader_u64(r);
	m->epoch = wire_reader_u64(r);
	m->total = wire_reader_u64(r);
	m->offset = wire_reader_u64(r);
	digest = wire_reader_bin(r, &digest_len);
	if (r->status == WIRE_READER_OK && digest_len != WIRE_SNAPSHOT_DIGEST)
		return "snapshot_chunk: digest is not 32 bytes";
	if (digest)
		memcpy(m->digest, digest, digest_len);
	m->data = wire_reader_bin(r, &m->data_len);
	if (r->status != WIRE_READER_OK)
		return WIRE_SNAPSHOT_CHUNK_READ_WHY[r->status];
	if (r->left != 0)
		return "snapshot_chunk: trailing bytes";
	return wire_snapshot_chunk_check(m, &why) ? why : NULL;
}

int wire_snapshot_chunk_decode(const uint8_t *buf, size_t len, struct wire_snapshot_chunk *m, const char **why)
{
	struct wire_reader r = { .pos = buf, .left = len, .status = WIRE_READER_OK };

	memset(m, 0, sizeof(*m));
	if (len > WIRE_VR_CHUNK_SIZE_MAX)
		*why = "snapshot_chunk: message too large";
	else if (len == 0)
		*why = "snapshot_chunk: empty";
	else
		*why = wire_snapshot_chunk_fields(&r, m);
	if (*why)
		memset(m, 0, sizeof(*m));
	return *why ? -EBADMSG : 0;
}

static const char *wire_epoch_fields(struct wire_reader *r, struct wire_epoch *m)
{
	uint32_t count = wire_reader_array(r);
	const char *why;

	if (r->status == WIRE_READER_OK && count != WIRE_EPOCH_FIELDS)
		return "epoch: wrong field count";
	m->epoch = wire_reader_u64(r);
	m->op = wire_reader_u64(r);
	m->head = wire_reader_u64(r);
	m->members = wire_reader_bin(r, &m->members_len);
	if (r->status != WIRE_READER_OK)
		return WIRE_EPOCH_READ_WHY[r->status];
	if (r->left != 0)
		return "epoch: trailing bytes";
	return wire_epoch_check(m, &why) ? why : NULL;
}

int wire_epoch_decode(const uint8_t *buf, size_t len, struct wire_epoch *m, const char **why)
{
	struct wire_reader r = { .pos = buf, .left = len, .status = WIRE_READER_OK };

	memset(m, 0, sizeof(*m));
	if (len > WIRE_VR_EPOCH_SIZE_MAX)
		*why = "epoch: message too large";
	else if (len == 0)
		*why = "epoch: empty";
	else
		*why = wire_epoch_fields(&r, m);
	if (*why)
		memset(m, 0, sizeof(*m));
	return *why ? -EBADMSG : 0;
}

static const char *wire_epoch_started_fields(struct wire_reader *r, struct wire_epoch_started *m)
{
	uint32_t count = wire_reader_array(r);
	const char *why;

	if (r->status == WIRE_READER_OK && count != WIRE_EPOCH_STARTED_FIELDS)
		return "epoch_started: wrong field count";
	m->epoch = wire_reader_u64(r);
	m->replica = wire_reader_u8(r);
	if (r->status != WIRE_READER_OK)
		return WIRE_EPOCH_STARTED_READ_WHY[r->status];
	if (r->left != 0)
		return "epoch_started: trailing bytes";
	return wire_epoch_started_check(m, &why) ? why : NULL;
}

int wire_epoch_started_decode(const uint8_t *buf, size_t len, struct wire_epoch_started *m, const char **why)
{
	struct wire_reader r = { .pos = buf, .left = len, .status = WIRE_READER_OK };

	memset(m, 0, sizeof(*m));
	if (len > WIRE_VR_SMALL_SIZE_MAX)
		*why = "epoch_started: message too large";
	else if (len == 0)
		*why = "epoch_started: empty";
	else
		*why = wire_epoch_started_fields(&r, m);
	if (*why)
		memset(m, 0, sizeof(*m));
	return *why ? -EBADMSG : 0;
}
