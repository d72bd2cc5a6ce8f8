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
 *   entry (an element of entries)
 *     [op, view, client_id, session, request, timestamp, checksum, parent, kind, body]
 *   redirect          (WIRE_MSG_REDIRECT)          [replica, status, primary, view]
 *   status_request    (WIRE_MSG_STATUS_REQUEST)    [nonce]
 *   status            (WIRE_MSG_STATUS)            [nonce, replica, replica_count, status, primary,
 *                                                    view, op, commit, checkpoint, log_ops,
 *                                                    log_bytes, frames_bad, uptime_ms]
 *   snapshot_request  (WIRE_MSG_SNAPSHOT_REQUEST)  [replica, min_op, snapshot_op, offset]
 *   snapshot_chunk    (WIRE_MSG_SNAPSHOT_CHUNK)    [replica, snapshot_op, head, view, total,
 *                                                    offset, digest, data]
 *
 * Integers are msgpack integers of any width (the encoder writes the shortest); a
 * negative value, or one beyond its C field's type, is refused. body, digest and data
 * are msgpack bin (bin8, bin16 or bin32; never str); entries is a msgpack array.
 *
 * Limits (the encoder refuses what the decoder would, see invariant 1):
 *   array lengths         exactly as above
 *   command               1..VR_COMMAND_MAX and equal to the frame type
 *   replica, primary      0..WIRE_VR_REPLICA_MAX; replica_count 0..WIRE_VR_REPLICA_MAX + 1
 *   status                0..255 (its meaning is the reader's: enum vr_reply_status in a
 *                         REPLY, enum vr_status in redirect and status)
 *   message kind          0 (no request), VR_KIND_OP or VR_KIND_REGISTER
 *   entry kind            VR_KIND_OP or VR_KIND_REGISTER
 *   body (message, entry) 0..WIRE_VR_BODY_MAX bytes
 *   entries               0..WIRE_VR_ENTRIES_MAX, and no more than the decoder's caller holds
 *   digest                exactly WIRE_SNAPSHOT_DIGEST bytes
 *   data                  0..WIRE_SNAPSHOT_CHUNK_MAX bytes, offset + data_len <= total
 *   whole body            a VR message at most WIRE_FRAME_BODY_MAX bytes (so a frame carries
 *                         it), a snapshot chunk WIRE_VR_CHUNK_SIZE_MAX, the other daemon
 *                         messages WIRE_VR_SMALL_SIZE_MAX.
 * The encoder returns -EINVAL for a value out of range or a NULL pointer with a nonzero
 * length, -EMSGSIZE for a length or count beyond its limit (also a VR message whose
 * encoding outgrows a frame); the decoder returns -EBADMSG with the same reason.
 *
 * Decoded byte strings (body, entries[i].body, data) are never NULL: they point into the
 * input buffer even when empty (then possibly at its end), so a caller can hand them to
 * APIs that tell a NULL pointer from an empty string (sqlite3_bind_blob).
 *
 * Encoding uses msgpack-c's packer; decoding uses the bounded reader below, a copy of
 * the one in wire_fs.c (see there why msgpack_unpack_next is not used: it allocates
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
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "wire/wire_frame.h"
#include "wire/wire_vr.h"

#define WIRE_VR_FIELDS               15
#define WIRE_VR_ENTRY_FIELDS         10
#define WIRE_REDIRECT_FIELDS         4
#define WIRE_STATUS_REQUEST_FIELDS   1
#define WIRE_STATUS_FIELDS           13
#define WIRE_SNAPSHOT_REQUEST_FIELDS 4
#define WIRE_SNAPSHOT_CHUNK_FIELDS   8
#define WIRE_VR_INT_SIZE_MAX         9 /* a uint64 */
#define WIRE_VR_HEADER_SIZE_MAX      5 /* an array32 or bin32 header */
#define WIRE_VR_MESSAGE_SIZE_MAX     WIRE_FRAME_BODY_MAX
#define WIRE_VR_SMALL_SIZE_MAX       256
#define WIRE_VR_CHUNK_SIZE_MAX       (WIRE_SNAPSHOT_CHUNK_MAX + WIRE_VR_SMALL_SIZE_MAX)
#define WIRE_VR_KIND_MAX             VR_KIND_REGISTER
#define WIRE_VR_BUF_CAP_MIN          256

/* The largest encodings without their byte strings: an array header, integers, bin and array headers. */
#define WIRE_VR_MESSAGE_SCALARS_MAX (1 + 13 * WIRE_VR_INT_SIZE_MAX + 2 * WIRE_VR_HEADER_SIZE_MAX)
#define WIRE_VR_ENTRY_SCALARS_MAX   (1 + 9 * WIRE_VR_INT_SIZE_MAX + WIRE_VR_HEADER_SIZE_MAX)

_Static_assert((int)VR_COMMAND_MAX < (int)WIRE_MSG_REDIRECT,
               "VR commands and daemon messages share the frame type space");
_Static_assert(VR_COMMAND_MAX <= UINT8_MAX, "command fits uint8_t");
_Static_assert(WIRE_VR_REPLICA_MAX < UINT8_MAX, "replica numbers and the count fit uint8_t");
_Static_assert(WIRE_VR_KIND_MAX <= UINT8_MAX, "kind fits uint8_t");
_Static_assert(WIRE_VR_BODY_MAX <= UINT32_MAX && WIRE_SNAPSHOT_CHUNK_MAX <= UINT32_MAX, "lengths fit uint32_t");
_Static_assert(WIRE_VR_ENTRIES_MAX <= UINT32_MAX, "entry counts fit uint32_t");
/* A REQUEST with the largest op, or a PREPARE with one entry holding it, fits one frame. */
_Static_assert(WIRE_VR_MESSAGE_SCALARS_MAX + WIRE_VR_ENTRY_SCALARS_MAX + WIRE_VR_BODY_MAX <= WIRE_VR_MESSAGE_SIZE_MAX,
               "largest op in a frame");
_Static_assert(1 + WIRE_STATUS_FIELDS * WIRE_VR_INT_SIZE_MAX <= WIRE_VR_SMALL_SIZE_MAX, "status");
_Static_assert(1 + 6 * WIRE_VR_INT_SIZE_MAX + 2 + WIRE_SNAPSHOT_DIGEST + WIRE_VR_HEADER_SIZE_MAX <=
                       WIRE_VR_SMALL_SIZE_MAX,
               "snapshot chunk scalars");
_Static_assert(WIRE_VR_CHUNK_SIZE_MAX <= WIRE_FRAME_BODY_MAX, "a frame carries any snapshot chunk");
_Static_assert(WIRE_SNAPSHOT_DIGEST <= 255, "digest travels as bin8");

/* ---- Validity, shared by encoder and decoder (invariant 1) ------------------------ */

/* Each check returns 0, or -EINVAL / -EMSGSIZE with *why a constant reason. */

static int wire_vr_entry_check(const struct vr_entry *e, const char **why)
{
	if (e->kind != VR_KIND_OP && e->kind != VR_KIND_REGISTER)
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

/* ---- wire_buf's sink (as in wire_fs.c; wire_buf_init and wire_buf_free live there) ---- */

/* One encoding in progress: appends to buf after start, at most limit bytes. */
struct wire_sink {
	struct wire_buf *buf;
	size_t start;
	size_t limit;
	int err; /* the first failure; later writes are refused so nothing half-written follows it */
};

static void wire_sink_init(struct wire_sink *s, struct wire_buf *buf, size_t limit)
{
	s->buf = buf;
	s->start = buf->len;
	s->limit = limit;
	s->err = 0;
}

/* Grows b to hold need bytes, doubling, but never past ceiling (need <= ceiling). */
static int wire_buf_reserve(struct wire_buf *b, size_t need, size_t ceiling)
{
	size_t cap = b->cap ? b->cap : WIRE_VR_BUF_CAP_MIN;
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

/* msgpack_packer_write: returns 0, or -1 with s->err set. */
static int wire_sink_write(void *data, const char *p, size_t n)
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

/* Ends an encoding: on failure, drops what it appended. */
static int wire_sink_finish(struct wire_sink *s)
{
	if (s->err)
		s->buf->len = s->start;
	return s->err;
}

/* ---- Encoding ------------------------------------------------------------------------ */

/* Pack return values are ignored: the sink keeps the first failure and refuses the rest. */
static void wire_vr_pack_bin(msgpack_packer *pk, const void *p, uint32_t len)
{
	msgpack_pack_bin(pk, len);
	msgpack_pack_bin_body(pk, p, len);
}

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
	wire_vr_pack_bin(pk, e->body, e->body_len);
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
	wire_vr_pack_bin(&pk, m->body, m->body_len);
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
	msgpack_pack_uint64(&pk, m->total);
	msgpack_pack_uint64(&pk, m->offset);
	wire_vr_pack_bin(&pk, m->digest, WIRE_SNAPSHOT_DIGEST);
	wire_vr_pack_bin(&pk, m->data, m->data_len);
	return wire_sink_finish(&sink);
}

/* ---- The reader: the msgpack subset we emit, over untrusted bytes ---------------- */

/* A copy of wire_fs.c's reader (less what these formats do not use: signed fields, booleans). */

enum wire_read {
	WIRE_READ_OK = 0,
	WIRE_READ_TRUNCATED,
	WIRE_READ_NOT_ARRAY,
	WIRE_READ_NOT_INT,
	WIRE_READ_RANGE,
	WIRE_READ_NOT_BIN,
	WIRE_READ_COUNT,
};

/* Complete for every fault: a NULL here would turn a fault into success. */
static const char *const WIRE_VR_READ_WHY[WIRE_READ_COUNT] = {
	[WIRE_READ_TRUNCATED] = "vr: truncated",
	[WIRE_READ_NOT_ARRAY] = "vr: not a msgpack array",
	[WIRE_READ_NOT_INT] = "vr: field is not an integer",
	[WIRE_READ_RANGE] = "vr: integer out of range",
	[WIRE_READ_NOT_BIN] = "vr: field is not bin",
};

static const char *const WIRE_REDIRECT_READ_WHY[WIRE_READ_COUNT] = {
	[WIRE_READ_TRUNCATED] = "redirect: truncated",
	[WIRE_READ_NOT_ARRAY] = "redirect: not a msgpack array",
	[WIRE_READ_NOT_INT] = "redirect: field is not an integer",
	[WIRE_READ_RANGE] = "redirect: integer out of range",
	[WIRE_READ_NOT_BIN] = "redirect: field is not bin",
};

static const char *const WIRE_STATUS_REQUEST_READ_WHY[WIRE_READ_COUNT] = {
	[WIRE_READ_TRUNCATED] = "status_request: truncated",
	[WIRE_READ_NOT_ARRAY] = "status_request: not a msgpack array",
	[WIRE_READ_NOT_INT] = "status_request: field is not an integer",
	[WIRE_READ_RANGE] = "status_request: integer out of range",
	[WIRE_READ_NOT_BIN] = "status_request: field is not bin",
};

static const char *const WIRE_STATUS_READ_WHY[WIRE_READ_COUNT] = {
	[WIRE_READ_TRUNCATED] = "status: truncated",
	[WIRE_READ_NOT_ARRAY] = "status: not a msgpack array",
	[WIRE_READ_NOT_INT] = "status: field is not an integer",
	[WIRE_READ_RANGE] = "status: integer out of range",
	[WIRE_READ_NOT_BIN] = "status: field is not bin",
};

static const char *const WIRE_SNAPSHOT_REQUEST_READ_WHY[WIRE_READ_COUNT] = {
	[WIRE_READ_TRUNCATED] = "snapshot_request: truncated",
	[WIRE_READ_NOT_ARRAY] = "snapshot_request: not a msgpack array",
	[WIRE_READ_NOT_INT] = "snapshot_request: field is not an integer",
	[WIRE_READ_RANGE] = "snapshot_request: integer out of range",
	[WIRE_READ_NOT_BIN] = "snapshot_request: field is not bin",
};

static const char *const WIRE_SNAPSHOT_CHUNK_READ_WHY[WIRE_READ_COUNT] = {
	[WIRE_READ_TRUNCATED] = "snapshot_chunk: truncated",
	[WIRE_READ_NOT_ARRAY] = "snapshot_chunk: not a msgpack array",
	[WIRE_READ_NOT_INT] = "snapshot_chunk: field is not an integer",
	[WIRE_READ_RANGE] = "snapshot_chunk: integer out of range",
	[WIRE_READ_NOT_BIN] = "snapshot_chunk: field is not bin",
};

/*
 * A cursor over untrusted bytes. The first fault sticks in status and turns every
 * later read into a no-op returning zero, so a sequence of reads is checked once.
 */
struct wire_reader {
	const uint8_t *pos;
	size_t left;
	enum wire_read status;
};

static void wire_read_fail(struct wire_reader *r, enum wire_read status)
{
	if (r->status == WIRE_READ_OK)
		r->status = status;
}

/* The next n bytes, or NULL (and TRUNCATED) when fewer remain. */
static const uint8_t *wire_read_take(struct wire_reader *r, size_t n)
{
	const uint8_t *p = r->pos;

	if (r->status != WIRE_READ_OK)
		return NULL;
	if (n > r->left) {
		wire_read_fail(r, WIRE_READ_TRUNCATED);
		return NULL;
	}
	r->pos += n;
	r->left -= n;
	return p;
}

/* A big-endian unsigned number of width bytes (1, 2, 4 or 8); 0 after a fault. */
static uint64_t wire_read_be(struct wire_reader *r, size_t width)
{
	const uint8_t *p = wire_read_take(r, width);
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
static bool wire_read_int(struct wire_reader *r, bool *negative, uint64_t *bits)
{
	const uint8_t *p = wire_read_take(r, 1);
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
		*bits = wire_read_be(r, (size_t)1 << (p[0] - 0xcc));
		return r->status == WIRE_READ_OK;
	}
	if (p[0] < 0xd0 || p[0] > 0xd3) {
		wire_read_fail(r, WIRE_READ_NOT_INT);
		return false;
	}
	/* int8..int64: sign-extend to 64 bits. */
	width = (size_t)1 << (p[0] - 0xd0);
	v = wire_read_be(r, width);
	if (r->status != WIRE_READ_OK)
		return false;
	*negative = (v >> (8 * width - 1)) & 1;
	if (*negative && width < 8)
		v |= UINT64_MAX << (8 * width);
	*bits = v;
	return true;
}

/* A non-negative integer no larger than max; 0 after a fault. */
static uint64_t wire_read_uint(struct wire_reader *r, uint64_t max)
{
	bool negative;
	uint64_t v;

	if (!wire_read_int(r, &negative, &v))
		return 0;
	if (negative || v > max) {
		wire_read_fail(r, WIRE_READ_RANGE);
		return 0;
	}
	return v;
}

static uint8_t wire_read_u8(struct wire_reader *r)
{
	return (uint8_t)wire_read_uint(r, UINT8_MAX);
}

static uint64_t wire_read_u64(struct wire_reader *r)
{
	return wire_read_uint(r, UINT64_MAX);
}

/* A bin's bytes, pointing into the buffer (never NULL on success); NULL and *len 0 after a fault. */
static const uint8_t *wire_read_bin(struct wire_reader *r, uint32_t *len)
{
	const uint8_t *p = wire_read_take(r, 1);
	const uint8_t *bytes;
	uint64_t n;

	*len = 0;
	if (!p)
		return NULL;
	if (p[0] < 0xc4 || p[0] > 0xc6) { /* bin8, bin16, bin32 */
		wire_read_fail(r, WIRE_READ_NOT_BIN);
		return NULL;
	}
	n = wire_read_be(r, (size_t)1 << (p[0] - 0xc4));
	/* Checked against what remains before any use: a bin32 header may claim 4 GiB. */
	bytes = wire_read_take(r, n);
	if (!bytes)
		return NULL;
	*len = (uint32_t)n;
	return bytes;
}

/* An array header's element count; the elements follow and are read one by one. */
static uint32_t wire_read_array(struct wire_reader *r)
{
	const uint8_t *p = wire_read_take(r, 1);

	if (!p)
		return 0;
	if (p[0] >= 0x90 && p[0] <= 0x9f) /* fixarray */
		return p[0] & 0x0f;
	if (p[0] == 0xdc)
		return (uint32_t)wire_read_be(r, 2);
	if (p[0] == 0xdd)
		return (uint32_t)wire_read_be(r, 4);
	wire_read_fail(r, WIRE_READ_NOT_ARRAY);
	return 0;
}

/* ---- Decoding ------------------------------------------------------------------------ */

/* NULL when r held one valid entry, now in e; else why not. */
static const char *wire_vr_entry_fields(struct wire_reader *r, struct vr_entry *e)
{
	uint32_t count = wire_read_array(r);
	const char *why;

	if (r->status == WIRE_READ_OK && count != WIRE_VR_ENTRY_FIELDS)
		return "vr: entry: wrong field count";
	e->op = wire_read_u64(r);
	e->view = wire_read_u64(r);
	e->client_id = wire_read_u64(r);
	e->session = wire_read_u64(r);
	e->request = wire_read_u64(r);
	e->timestamp = wire_read_u64(r);
	e->checksum = wire_read_u64(r);
	e->parent = wire_read_u64(r);
	e->kind = wire_read_u8(r);
	e->body = wire_read_bin(r, &e->body_len);
	if (r->status != WIRE_READ_OK)
		return WIRE_VR_READ_WHY[r->status];
	return wire_vr_entry_check(e, &why) ? why : NULL;
}

/* NULL when r held exactly one valid message of command type, now in m; else why not. */
static const char *wire_vr_fields(struct wire_reader *r, uint16_t type, struct vr_message *m, struct vr_entry *entries,
                                  uint32_t entries_max)
{
	uint32_t count = wire_read_array(r);
	uint32_t entry_count;
	const char *why;

	if (r->status == WIRE_READ_OK && count != WIRE_VR_FIELDS)
		return "vr: wrong field count";
	m->command = wire_read_u8(r);
	if (r->status == WIRE_READ_OK && m->command != type)
		return "vr: command is not the frame type";
	m->replica = wire_read_u8(r);
	m->status = wire_read_u8(r);
	m->epoch = wire_read_u64(r);
	m->view = wire_read_u64(r);
	m->op = wire_read_u64(r);
	m->commit = wire_read_u64(r);
	m->last_normal_view = wire_read_u64(r);
	m->nonce = wire_read_u64(r);
	m->client_id = wire_read_u64(r);
	m->session = wire_read_u64(r);
	m->request = wire_read_u64(r);
	m->kind = wire_read_u8(r);
	m->body = wire_read_bin(r, &m->body_len);
	entry_count = wire_read_array(r);
	if (r->status != WIRE_READ_OK)
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
	struct wire_reader r = { .pos = buf, .left = len, .status = WIRE_READ_OK };

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
	uint32_t count = wire_read_array(r);
	const char *why;

	if (r->status == WIRE_READ_OK && count != WIRE_REDIRECT_FIELDS)
		return "redirect: wrong field count";
	m->replica = wire_read_u8(r);
	m->status = wire_read_u8(r);
	m->primary = wire_read_u8(r);
	m->view = wire_read_u64(r);
	if (r->status != WIRE_READ_OK)
		return WIRE_REDIRECT_READ_WHY[r->status];
	if (r->left != 0)
		return "redirect: trailing bytes";
	return wire_redirect_check(m, &why) ? why : NULL;
}

int wire_redirect_decode(const uint8_t *buf, size_t len, struct wire_redirect *m, const char **why)
{
	struct wire_reader r = { .pos = buf, .left = len, .status = WIRE_READ_OK };

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
	uint32_t count = wire_read_array(r);

	if (r->status == WIRE_READ_OK && count != WIRE_STATUS_REQUEST_FIELDS)
		return "status_request: wrong field count";
	m->nonce = wire_read_u64(r);
	if (r->status != WIRE_READ_OK)
		return WIRE_STATUS_REQUEST_READ_WHY[r->status];
	if (r->left != 0)
		return "status_request: trailing bytes";
	return NULL;
}

int wire_status_request_decode(const uint8_t *buf, size_t len, struct wire_status_request *m, const char **why)
{
	struct wire_reader r = { .pos = buf, .left = len, .status = WIRE_READ_OK };

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
	uint32_t count = wire_read_array(r);
	const char *why;

	if (r->status == WIRE_READ_OK && count != WIRE_STATUS_FIELDS)
		return "status: wrong field count";
	m->nonce = wire_read_u64(r);
	m->replica = wire_read_u8(r);
	m->replica_count = wire_read_u8(r);
	m->status = wire_read_u8(r);
	m->primary = wire_read_u8(r);
	m->view = wire_read_u64(r);
	m->op = wire_read_u64(r);
	m->commit = wire_read_u64(r);
	m->checkpoint = wire_read_u64(r);
	m->log_ops = wire_read_u64(r);
	m->log_bytes = wire_read_u64(r);
	m->frames_bad = wire_read_u64(r);
	m->uptime_ms = wire_read_u64(r);
	if (r->status != WIRE_READ_OK)
		return WIRE_STATUS_READ_WHY[r->status];
	if (r->left != 0)
		return "status: trailing bytes";
	return wire_status_check(m, &why) ? why : NULL;
}

int wire_status_decode(const uint8_t *buf, size_t len, struct wire_status *m, const char **why)
{
	struct wire_reader r = { .pos = buf, .left = len, .status = WIRE_READ_OK };

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
	uint32_t count = wire_read_array(r);
	const char *why;

	if (r->status == WIRE_READ_OK && count != WIRE_SNAPSHOT_REQUEST_FIELDS)
		return "snapshot_request: wrong field count";
	m->replica = wire_read_u8(r);
	m->min_op = wire_read_u64(r);
	m->snapshot_op = wire_read_u64(r);
	m->offset = wire_read_u64(r);
	if (r->status != WIRE_READ_OK)
		return WIRE_SNAPSHOT_REQUEST_READ_WHY[r->status];
	if (r->left != 0)
		return "snapshot_request: trailing bytes";
	return wire_snapshot_request_check(m, &why) ? why : NULL;
}

int wire_snapshot_request_decode(const uint8_t *buf, size_t len, struct wire_snapshot_request *m, const char **why)
{
	struct wire_reader r = { .pos = buf, .left = len, .status = WIRE_READ_OK };

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
	uint32_t count = wire_read_array(r);
	const uint8_t *digest;
	uint32_t digest_len;
	const char *why;

	if (r->status == WIRE_READ_OK && count != WIRE_SNAPSHOT_CHUNK_FIELDS)
		return "snapshot_chunk: wrong field count";
	m->replica = wire_read_u8(r);
	m->snapshot_op = wire_read_u64(r);
	m->head = wire_read_u64(r);
	m->view = wire_read_u64(r);
	m->total = wire_read_u64(r);
	m->offset = wire_read_u64(r);
	digest = wire_read_bin(r, &digest_len);
	if (r->status == WIRE_READ_OK && digest_len != WIRE_SNAPSHOT_DIGEST)
		return "snapshot_chunk: digest is not 32 bytes";
	if (digest)
		memcpy(m->digest, digest, digest_len);
	m->data = wire_read_bin(r, &m->data_len);
	if (r->status != WIRE_READ_OK)
		return WIRE_SNAPSHOT_CHUNK_READ_WHY[r->status];
	if (r->left != 0)
		return "snapshot_chunk: trailing bytes";
	return wire_snapshot_chunk_check(m, &why) ? why : NULL;
}

int wire_snapshot_chunk_decode(const uint8_t *buf, size_t len, struct wire_snapshot_chunk *m, const char **why)
{
	struct wire_reader r = { .pos = buf, .left = len, .status = WIRE_READ_OK };

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
