/*
 * fuzz_vr_core.c — libFuzzer target for the VR core (replication/vr_*.c) as a hostile
 * peer sees it: a peer that can send any well-formed message (one wire_vr_decode
 * accepts) but follows no protocol. The core's rule is that remote input is checked
 * with if and dropped, never asserted on, except for protocol invariants that hold
 * between correct replicas; an ASSERT this target trips is one a peer can reach, to be
 * classified by reading the trace (FUZZ_VR_TRACE=1 prints it) as one or the other.
 *
 * Input, read front to back (missing bytes read as zero):
 *   byte 0     self = byte % 3
 *   byte 1     checkpoint_ops: 0, or 3..10 (byte % 9); witnesses (byte / 9 % 4): none, or
 *              replica 0, 1 or 2 a witness (§9.5); parts (byte / 36 % 2): logs travel whole, or
 *              in parts of 1..3 entries (byte / 72 % 3), §9.4
 *   byte 2     start: fresh (vr_init without a disk), from a durable image built from
 *              the next bytes (a log with a valid hash chain and metadata a replica could
 *              have written; images vr_init refuses end the run), or vr_init_recovering
 *              (byte % 4); with parts, a body cache (byte / 4 % 2) of 1..128 bytes
 *              (byte / 8 % 128): bodies are read back through read_body
 *   then       events, each a selector byte and its arguments:
 *     tick             1..64 ticks
 *     persisted        every write issued so far is durable (or only up to a chosen one)
 *     settle           persisted, then one tick
 *     raw              a length-prefixed body and a frame type, decoded by wire_vr_decode;
 *                      bodies that do not decode are skipped
 *     structured       PREPARE, COMMIT, PREPARE_OK, SVC, DVC, STARTVIEW, RECOVERY,
 *                      RECOVERY_RESPONSE, GET_STATE, NEW_STATE, REQUEST, COMMIT_OK, GET_LOG, LOG
 *                      built from the
 *                      replica's state: views and ops near its own, logs with valid hash
 *                      chains that copy the replica's own entries up to a chosen op and
 *                      then go their own way, so the checksum filters do not stop them
 *     read             a local read at the primary (vr_read_begin, vr_read_ready), so
 *                      COMMITs carry read barriers that COMMIT_OKs can answer
 * Every structured message goes through wire_vr_encode and wire_vr_decode before
 * vr_on_message, so each one is a frame a peer can send (the decoder into a static
 * array of FUZZ_ENTRIES entries, like the raw ones).
 *
 * The io callbacks do nothing heavy: send and reply count, persist remembers the newest
 * seq, apply returns a few result bytes for an up-call, realtime is a counter.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replication/vr.h"
#include "wire/wire_vr.h"

#define FUZZ_REPLICAS     3
#define FUZZ_LOG_CAPACITY 64
#define FUZZ_BODY_MAX     64
#define FUZZ_CLIENTS      4
#define FUZZ_ENTRIES      64
#define FUZZ_EVENTS_MAX   512
#define FUZZ_ENTRY_BODY   6 /* bodies of built entries: 0..FUZZ_ENTRY_BODY - 1 bytes */
#define FUZZ_RAW_BODY_MAX 4096

_Static_assert(FUZZ_ENTRIES >= FUZZ_LOG_CAPACITY, "a message can carry a whole log");
_Static_assert(FUZZ_ENTRY_BODY <= FUZZ_BODY_MAX, "built bodies pass the core's limit");

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum fuzz_event {
	FUZZ_TICK,
	FUZZ_PERSISTED,
	FUZZ_PERSISTED_PART,
	FUZZ_RAW,
	FUZZ_PREPARE,
	FUZZ_COMMIT,
	FUZZ_PREPARE_OK,
	FUZZ_SVC,
	FUZZ_DVC,
	FUZZ_START_VIEW,
	FUZZ_RECOVERY,
	FUZZ_RECOVERY_RESPONSE,
	FUZZ_GET_STATE,
	FUZZ_NEW_STATE,
	FUZZ_REQUEST,
	FUZZ_SETTLE, /* persisted, then one tick: lets the replica speak and time move */
	FUZZ_COMMIT_OK,
	FUZZ_READ, /* vr_read_begin, vr_read_ready: the primary sends read barriers */
	FUZZ_GET_LOG,
	FUZZ_LOG,
	FUZZ_EVENT_COUNT,
};

struct fuzz_input {
	const uint8_t *data;
	size_t size;
	size_t at;
};

struct fuzz_io {
	uint64_t persist_seq; /* newest write issued */
	uint64_t clock;
	uint64_t sends;
	uint64_t replies;
	uint64_t applies;
};

static bool fuzz_tracing;

/* Body cache: every entry written with its body (log, STAGE, the durable image), for read_body. */
struct fuzz_body {
	uint64_t op, checksum;
	uint32_t len;
	uint8_t body[FUZZ_BODY_MAX];
};
static struct fuzz_body *fuzz_written;
static size_t fuzz_written_count, fuzz_written_cap;

static const struct fuzz_body *fuzz_written_find(uint64_t op, uint64_t checksum)
{
	for (size_t i = fuzz_written_count; i-- > 0;)
		if (fuzz_written[i].op == op && fuzz_written[i].checksum == checksum)
			return &fuzz_written[i];
	return NULL;
}

static void fuzz_written_add(const struct vr_entry *e)
{
	if (fuzz_written_find(e->op, e->checksum))
		return;
	if (fuzz_written_count == fuzz_written_cap) {
		fuzz_written_cap = fuzz_written_cap ? 2 * fuzz_written_cap : 256;
		fuzz_written = realloc(fuzz_written, fuzz_written_cap * sizeof(*fuzz_written));
		if (!fuzz_written)
			abort();
	}
	struct fuzz_body *b = &fuzz_written[fuzz_written_count++];
	b->op = e->op;
	b->checksum = e->checksum;
	b->len = e->body_len;
	if (e->body_len)
		memcpy(b->body, e->body, e->body_len);
}

/* Built messages: their entries, and the bodies those point to. */
static struct vr_entry fuzz_chain[FUZZ_ENTRIES];
static uint8_t fuzz_chain_bodies[FUZZ_ENTRIES][FUZZ_BODY_MAX];
static uint8_t fuzz_request_body[FUZZ_ENTRY_BODY];
/* The durable image. */
static struct vr_entry fuzz_disk[FUZZ_LOG_CAPACITY];
static uint8_t fuzz_disk_bodies[FUZZ_LOG_CAPACITY][FUZZ_ENTRY_BODY];
static struct vr_client_slot fuzz_disk_clients[FUZZ_CLIENTS];
/* What the core sees: decoded into these, as the daemon does. */
static struct vr_entry fuzz_decoded[FUZZ_ENTRIES];
static struct wire_buf fuzz_wire;
static uint8_t fuzz_raw[FUZZ_RAW_BODY_MAX];

static bool fuzz_more(const struct fuzz_input *in)
{
	return in->at < in->size;
}

static uint8_t fuzz_byte(struct fuzz_input *in)
{
	return in->at < in->size ? in->data[in->at++] : 0;
}

static uint64_t fuzz_u64(struct fuzz_input *in)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | fuzz_byte(in);
	return v;
}

/* ---- io callbacks --------------------------------------------------------------- */

static void fuzz_io_send(void *ctx, uint8_t replica, const struct vr_message *m)
{
	struct fuzz_io *io = ctx;

	io->sends++;
	if (fuzz_tracing)
		fprintf(stderr, "    -> r%u %s v%" PRIu64 " op%" PRIu64 " k%" PRIu64 " entries %" PRIu32 "\n", replica,
		        vr_command_name(m->command), m->view, m->op, m->commit, m->entry_count);
}

static void fuzz_io_reply(void *ctx, uint64_t client_id, const struct vr_message *m)
{
	struct fuzz_io *io = ctx;

	(void)client_id;
	(void)m;
	io->replies++;
}

static void fuzz_io_persist(void *ctx, const struct vr_write *w)
{
	struct fuzz_io *io = ctx;

	if (w->seq > io->persist_seq)
		io->persist_seq = w->seq;
	for (uint32_t i = 0; i < w->entry_count; i++) {
		const struct vr_entry *e = &w->entries[i];
		if (e->body_len && !e->body) {
			/* The driver takes it from an earlier write: the core must have given one. */
			if ((w->kind != VR_WRITE_LOG && w->kind != VR_WRITE_INSTALL) ||
			    !fuzz_written_find(e->op, e->checksum))
				abort();
		} else {
			fuzz_written_add(e);
		}
	}
	if (fuzz_tracing)
		fprintf(stderr, "    persist seq %" PRIu64 " kind %u op %" PRIu64 " entries %" PRIu32 "\n", w->seq,
		        w->kind, w->op, w->entry_count);
}

static bool fuzz_io_read_body(void *ctx, uint64_t op, uint64_t checksum, uint8_t *body, uint32_t len)
{
	const struct fuzz_body *b = fuzz_written_find(op, checksum);

	(void)ctx;
	if (!b || b->len != len)
		return false;
	memcpy(body, b->body, len);
	return true;
}

static uint32_t fuzz_io_apply(void *ctx, const struct vr_apply *a, uint8_t *result)
{
	struct fuzz_io *io = ctx;

	if (a->entry->body_len && !a->entry->body)
		abort(); /* executed without its body */
	io->applies++;
	if (!a->upcall)
		return 0;
	memcpy(result, "ok", 2);
	result[2] = (uint8_t)a->entry->op;
	return 3;
}

static uint64_t fuzz_io_realtime(void *ctx)
{
	struct fuzz_io *io = ctx;

	return ++io->clock;
}

static void fuzz_io_need_snapshot(void *ctx, uint64_t min_op, uint64_t view)
{
	(void)ctx;
	if (fuzz_tracing)
		fprintf(stderr, "    need_snapshot min_op %" PRIu64 " view %" PRIu64 "\n", min_op, view);
}

static void fuzz_io_log(void *ctx, const char *what)
{
	(void)ctx;
	if (fuzz_tracing)
		fprintf(stderr, "    log: %s\n", what);
}

/* ---- tracing -------------------------------------------------------------------- */

static void fuzz_trace_state(const struct vr_replica *r)
{
	if (!fuzz_tracing)
		return;
	fprintf(stderr,
	        "  = r%u %s v%" PRIu64 " v'%" PRIu64 " log %" PRIu64 "..%" PRIu64 " k%" PRIu64 " durable %" PRIu64
	        " commit_max %" PRIu64 " voter %" PRIu64 "\n",
	        r->config.self, vr_status_name(r->status), r->view, r->last_normal_view, r->log.first, r->log.op,
	        r->commit, r->durable_op, r->commit_max, r->voter_view);
}

static void fuzz_trace_message(const struct vr_message *m)
{
	if (!fuzz_tracing)
		return;
	fprintf(stderr,
	        "  <- r%u %s v%" PRIu64 " op%" PRIu64 " k%" PRIu64 " v'%" PRIu64 " nonce %" PRIx64 " client %" PRIu64
	        " session %" PRIu64 " request %" PRIu64 " kind %u",
	        m->replica, vr_command_name(m->command), m->view, m->op, m->commit, m->last_normal_view, m->nonce,
	        m->client_id, m->session, m->request, m->kind);
	if (m->entry_count)
		fprintf(stderr, " entries %" PRIu64 "..%" PRIu64 " (first parent %016" PRIx64 ", last %016" PRIx64 ")",
		        m->entries[0].op, m->entries[m->entry_count - 1].op, m->entries[0].parent,
		        m->entries[m->entry_count - 1].checksum);
	fprintf(stderr, "\n");
}

/* ---- building hash-chained logs ------------------------------------------------- */

/* An entry of op x in view, chained onto parent. */
static void fuzz_entry_new(struct fuzz_input *in, struct vr_entry *e, uint8_t *body, uint64_t x, uint64_t view,
                           uint64_t parent, uint64_t timestamp)
{
	uint8_t b = fuzz_byte(in);

	memset(e, 0, sizeof(*e));
	e->op = x;
	e->view = view;
	e->kind = b & 1 ? VR_KIND_REGISTER : VR_KIND_OP;
	e->client_id = 1 + (b >> 1) % FUZZ_CLIENTS;
	e->session = e->kind == VR_KIND_REGISTER ? 0 : (b >> 3) % 4;
	e->request = (b >> 5) % 4;
	e->timestamp = timestamp;
	e->parent = parent;
	e->body_len = (uint32_t)(b % FUZZ_ENTRY_BODY);
	for (uint32_t i = 0; i < e->body_len; i++)
		body[i] = (uint8_t)(x + i);
	e->body = body;
	e->checksum = vr_entry_checksum(e);
}

/*
 * Builds the log b..n into fuzz_chain: the replica's own entries where it has them below
 * fork_at (copied, bodies too), new entries from there on, each chained onto the one
 * before it; the first one onto parent0. Returns the count.
 */
static uint32_t fuzz_chain_build(struct fuzz_input *in, const struct vr_replica *r, uint64_t b, uint64_t n,
                                 uint64_t fork_at, uint64_t view, uint64_t parent0)
{
	uint32_t count = 0;
	uint64_t parent = parent0, timestamp = 1000000;

	if (b == 0 || n < b)
		return 0;
	if (n - b >= FUZZ_ENTRIES)
		b = n - FUZZ_ENTRIES + 1;
	for (uint64_t x = b; x <= n; x++, count++) {
		const struct vr_entry *own = x < fork_at ? vr_log_entry(r, x) : NULL;
		struct vr_entry *e = &fuzz_chain[count];

		/* Once the log went its own way it cannot return to the replica's: the chain forbids it. */
		if (own && (count == 0 || own->parent == parent)) {
			*e = *own;
			if (own->body_len && !own->body) { /* body cache: the driver's copy */
				const struct fuzz_body *copy = fuzz_written_find(own->op, own->checksum);
				if (!copy)
					abort();
				memcpy(fuzz_chain_bodies[count], copy->body, own->body_len);
			} else if (own->body_len) {
				memcpy(fuzz_chain_bodies[count], own->body, own->body_len);
			}
			e->body = fuzz_chain_bodies[count];
		} else {
			fork_at = 0;
			fuzz_entry_new(in, e, fuzz_chain_bodies[count], x, view, parent, timestamp);
		}
		parent = e->checksum;
		timestamp = e->timestamp + 1;
	}
	return count;
}

/* The parent of a built log's first entry b: the replica's entry b-1 (it chains on), or a stranger's. */
static uint64_t fuzz_parent0(struct fuzz_input *in, const struct vr_replica *r, uint64_t b)
{
	const struct vr_entry *prev = b > 1 ? vr_log_entry(r, b - 1) : NULL;

	if (prev && fuzz_byte(in) % 4 != 0)
		return prev->checksum;
	return b > 1 ? fuzz_u64(in) : 0;
}

/* ---- choosing fields near the replica's state ----------------------------------- */

static uint64_t fuzz_view(struct fuzz_input *in, const struct vr_replica *r)
{
	uint8_t b = fuzz_byte(in);
	uint64_t base = r->view;

	switch (b % 8) {
	case 0:
	case 1:
	case 2:
		return base;
	case 3:
		return base + 1;
	case 4:
		return base + 2 + (b >> 3) % 4;
	case 5:
		return base > 0 ? base - 1 : 0;
	case 6:
		return r->status == VR_STATUS_CATCHING_UP ? r->catch_up_view : base + 1;
	default:
		return (b >> 3) % 16;
	}
}

/* An op-number near the replica's head, commit, first or zero. */
static uint64_t fuzz_op(struct fuzz_input *in, const struct vr_replica *r)
{
	uint8_t b = fuzz_byte(in), d = fuzz_byte(in);
	uint64_t base;

	switch (b % 4) {
	case 0:
		base = r->log.op;
		break;
	case 1:
		base = r->commit;
		break;
	case 2:
		base = r->log.first;
		break;
	default:
		base = 0;
		break;
	}
	if (d & 0x80) { /* far ahead: beyond the log's window */
		return base + (d & 0x7f);
	}
	int64_t delta = (int64_t)(d % 8) - 2;
	if (delta < 0 && base < (uint64_t)-delta)
		return 0;
	return (uint64_t)((int64_t)base + delta);
}

/* A sender other than self: primary(view) when asked for and possible. */
static uint8_t fuzz_sender(struct fuzz_input *in, const struct vr_replica *r, uint64_t view, bool primary)
{
	uint8_t p = vr_primary_index(view, FUZZ_REPLICAS, r->config.witnesses);
	uint8_t b = fuzz_byte(in);

	if (primary && p != r->config.self && b % 8 != 0)
		return p;
	return (uint8_t)((r->config.self + 1 + b % 2) % FUZZ_REPLICAS);
}

/* A log b..n for a message that carries one (DVC, STARTVIEW, NEW_STATE, RECOVERY_RESPONSE). */
static uint32_t fuzz_log(struct fuzz_input *in, const struct vr_replica *r, uint64_t view, uint64_t *n_out)
{
	uint64_t n = fuzz_op(in, r);
	uint8_t how = fuzz_byte(in);
	uint64_t b;

	*n_out = n;
	if (n == 0)
		return 0;
	switch (how % 6) {
	case 0:
		b = 1;
		break;
	case 1:
		b = r->log.first;
		break;
	case 2:
		b = r->commit + 1;
		break;
	case 3:
		b = r->log.op + 1;
		break;
	case 4:
		b = n > (uint64_t)(how >> 3) ? n - (how >> 3) : 1;
		break;
	default:
		b = n + 1 > FUZZ_ENTRIES ? n + 1 - FUZZ_ENTRIES : 1;
		break;
	}
	if (b == 0)
		b = 1;
	if (b > n)
		b = n;
	if (n - b >= FUZZ_ENTRIES)
		b = n - FUZZ_ENTRIES + 1;
	/* Where the log stops copying the replica's: after all of it, at commit+1, or an op of the input. */
	uint8_t f = fuzz_byte(in);
	uint64_t fork_at;
	switch (f % 4) {
	case 0:
	case 1:
		fork_at = UINT64_MAX;
		break;
	case 2:
		fork_at = r->commit + 1;
		break;
	default:
		fork_at = b + (f >> 2) % (n - b + 1);
		break;
	}
	return fuzz_chain_build(in, r, b, n, fork_at, view, fuzz_parent0(in, r, b));
}

/* ---- delivering ------------------------------------------------------------------ */

/* Encodes m as a peer would, decodes it as the daemon does, hands it to the core. */
static void fuzz_deliver(struct vr_replica *r, const struct vr_message *m)
{
	struct vr_message got;
	const char *why = NULL;

	fuzz_wire.len = 0;
	if (wire_vr_encode(m, &fuzz_wire) != 0)
		abort(); /* the target built a message no peer could send */
	if (wire_vr_decode(m->command, fuzz_wire.data, fuzz_wire.len, &got, fuzz_decoded, FUZZ_ENTRIES, &why) != 0)
		abort();
	fuzz_trace_message(&got);
	vr_on_message(r, &got);
}

static void fuzz_raw_message(struct fuzz_input *in, struct vr_replica *r)
{
	size_t len = (size_t)fuzz_byte(in) << 8 | fuzz_byte(in);
	uint16_t type = (uint16_t)(1 + fuzz_byte(in) % VR_COMMAND_MAX);
	struct vr_message m;
	const char *why = NULL;

	len %= FUZZ_RAW_BODY_MAX;
	if (len > in->size - in->at)
		len = in->size - in->at;
	memcpy(fuzz_raw, in->data + in->at, len); /* the message borrows it past this input's bytes */
	in->at += len;
	if (wire_vr_decode(type, fuzz_raw, len, &m, fuzz_decoded, FUZZ_ENTRIES, &why) != 0)
		return;
	fuzz_trace_message(&m);
	vr_on_message(r, &m);
}

static void fuzz_structured(struct fuzz_input *in, struct vr_replica *r, enum fuzz_event ev)
{
	struct vr_message m = { 0 };
	uint64_t n;

	m.view = fuzz_view(in, r);
	switch (ev) {
	case FUZZ_PREPARE: {
		/* The next op, chained on the head (or not), or one past a gap. */
		uint8_t b = fuzz_byte(in);
		m.command = VR_PREPARE;
		m.replica = fuzz_sender(in, r, m.view, true);
		m.op = b % 4 == 0 ? fuzz_op(in, r) : r->log.op + 1;
		if (m.op == 0)
			m.op = 1;
		m.commit = fuzz_op(in, r);
		if (m.commit >= m.op)
			m.commit = m.op - 1;
		m.entry_count = fuzz_chain_build(in, r, m.op, m.op, 0, m.view, fuzz_parent0(in, r, m.op));
		m.entries = fuzz_chain;
		m.hold = fuzz_op(in, r);
		break;
	}
	case FUZZ_COMMIT:
		m.command = VR_COMMIT;
		m.replica = fuzz_sender(in, r, m.view, true);
		m.commit = fuzz_op(in, r);
		m.op = fuzz_op(in, r);
		m.nonce = fuzz_byte(in) % 4;
		m.hold = fuzz_op(in, r);
		break;
	case FUZZ_COMMIT_OK:
		m.command = VR_COMMIT_OK;
		m.replica = fuzz_sender(in, r, m.view, false);
		m.nonce = r->read_nonce + fuzz_byte(in) % 3;
		if (m.nonce > 1 && fuzz_byte(in) % 2)
			m.nonce -= 2;
		break;
	case FUZZ_PREPARE_OK:
		m.command = VR_PREPARE_OK;
		m.replica = fuzz_sender(in, r, m.view, false);
		m.op = fuzz_op(in, r);
		break;
	case FUZZ_SVC:
		m.command = VR_START_VIEW_CHANGE;
		m.replica = fuzz_sender(in, r, m.view, false);
		break;
	case FUZZ_DVC: {
		uint8_t b = fuzz_byte(in);
		m.command = VR_DO_VIEW_CHANGE;
		m.replica = fuzz_sender(in, r, m.view, false);
		if (m.view == 0)
			m.view = 1;
		switch (b % 4) {
		case 0:
			m.last_normal_view = r->last_normal_view;
			break;
		case 1:
			m.last_normal_view = m.view - 1;
			break;
		case 2:
			m.last_normal_view = 0;
			break;
		default:
			m.last_normal_view = (b >> 2) % m.view;
			break;
		}
		if (m.last_normal_view >= m.view)
			m.last_normal_view = m.view - 1;
		m.entry_count = fuzz_log(in, r, m.last_normal_view, &n);
		m.entries = fuzz_chain;
		m.op = n;
		m.commit = fuzz_op(in, r);
		if (m.commit > m.op)
			m.commit = m.op;
		break;
	}
	case FUZZ_START_VIEW:
		m.command = VR_START_VIEW;
		m.replica = fuzz_sender(in, r, m.view, true);
		m.entry_count = fuzz_log(in, r, m.view, &n);
		m.entries = fuzz_chain;
		m.op = n;
		m.commit = fuzz_op(in, r);
		if (m.commit > m.op)
			m.commit = m.op;
		break;
	case FUZZ_RECOVERY:
		m.command = VR_RECOVERY;
		m.replica = fuzz_sender(in, r, m.view, false);
		m.view = 0;
		m.nonce = fuzz_u64(in);
		break;
	case FUZZ_RECOVERY_RESPONSE: {
		uint8_t b = fuzz_byte(in);
		m.command = VR_RECOVERY_RESPONSE;
		m.replica = fuzz_sender(in, r, m.view, b % 2 == 0);
		m.nonce = b % 8 == 7 ? fuzz_u64(in) : r->nonce;
		if (m.replica == vr_primary_index(m.view, FUZZ_REPLICAS, r->config.witnesses) || b % 8 == 5) {
			m.entry_count = fuzz_log(in, r, m.view, &n);
			m.entries = fuzz_chain;
			m.op = n;
			m.commit = fuzz_op(in, r);
			if (m.commit > m.op && m.entry_count)
				m.commit = m.op;
		}
		break;
	}
	case FUZZ_GET_STATE:
		m.command = VR_GET_STATE;
		m.replica = fuzz_sender(in, r, m.view, false);
		m.op = fuzz_op(in, r);
		break;
	case FUZZ_NEW_STATE:
		m.command = VR_NEW_STATE;
		m.replica = fuzz_sender(in, r, m.view, true);
		m.entry_count = fuzz_log(in, r, m.view, &n);
		m.entries = fuzz_chain;
		m.op = n;
		m.commit = fuzz_op(in, r);
		if (m.commit > m.op)
			m.commit = m.op;
		break;
	case FUZZ_GET_LOG:
		m.command = VR_GET_LOG;
		m.replica = fuzz_sender(in, r, m.view, true);
		m.op = fuzz_op(in, r);
		m.commit = fuzz_op(in, r);
		break;
	case FUZZ_LOG:
		/* Often the part the replica asked for: ending at fetch_op, below its candidate. */
		m.command = VR_LOG;
		m.replica = fuzz_byte(in) % 2 ? r->dvc_best : fuzz_sender(in, r, m.view, false);
		m.entry_count = fuzz_log(in, r, m.view, &n);
		m.entries = fuzz_chain;
		m.op = n;
		break;
	case FUZZ_REQUEST: {
		uint8_t b = fuzz_byte(in);
		const struct vr_client_slot *slot = &r->clients[(b >> 2) % FUZZ_CLIENTS];
		m.command = VR_REQUEST;
		m.view = 0;
		m.kind = b & 1 ? VR_KIND_REGISTER : VR_KIND_OP;
		m.client_id = slot->client_id && b & 2 ? slot->client_id : 1 + (b >> 4) % FUZZ_CLIENTS;
		m.session = m.kind == VR_KIND_REGISTER ? 0 : slot->client_id ? slot->session : (b >> 4) % 4;
		m.request = slot->request + (b >> 6);
		m.body_len = (uint32_t)(b % FUZZ_ENTRY_BODY);
		memset(fuzz_request_body, b, sizeof(fuzz_request_body));
		m.body = fuzz_request_body;
		break;
	}
	default:
		abort();
	}
	fuzz_deliver(r, &m);
}

/* ---- starting the replica ------------------------------------------------------- */

/*
 * A disk a replica could have written: a hash-chained log first..op holding commit (the
 * checkpoint entry first committed when first > 1), and metadata that fits it. A
 * RECOVERING disk lost its log: it holds nothing, or the entry of a checkpoint given
 * since, committed. Returns vr_init's result.
 */
static int fuzz_init_durable(struct fuzz_input *in, struct vr_replica *r, const struct vr_config *c,
                             const struct vr_io *io)
{
	struct vr_durable d = { 0 };
	uint8_t b = fuzz_byte(in);
	uint8_t status = b % 3;
	uint64_t view = (b >> 2) % 8;
	uint8_t first_b = fuzz_byte(in), count = fuzz_byte(in) % 33, commit_b = fuzz_byte(in);

	d.first = first_b % 2 ? 1 + first_b % 40 : 1;
	if (status == VR_STATUS_RECOVERING && count) /* its log was lost: at most a checkpoint given since */
		count = 1;
	if (count == 0)
		d.first = 1;
	d.op = count ? d.first + count - 1 : 0;
	if (d.first > 1)
		d.commit = d.first + commit_b % (d.op - d.first + 1);
	else
		d.commit = commit_b % (d.op + 1);
	if (status == VR_STATUS_RECOVERING)
		d.commit = d.op;
	switch (status) {
	case VR_STATUS_NORMAL:
		d.meta.view = view;
		d.meta.last_normal_view = view;
		break;
	case VR_STATUS_VIEW_CHANGE:
		d.meta.view = view ? view : 1;
		d.meta.last_normal_view = fuzz_byte(in) % d.meta.view;
		break;
	default: /* a lost disk, perhaps since given a checkpoint: no view yet */
		break;
	}
	d.meta.status = status;
	uint8_t v = fuzz_byte(in);
	if (v % 4 == 0 && status != VR_STATUS_RECOVERING)
		d.meta.voter_view = d.meta.view + v / 4 % 3;

	uint64_t parent = d.first > 1 ? fuzz_u64(in) : 0, timestamp = 1;
	for (uint64_t x = d.first; x <= d.op; x++) {
		struct vr_entry *e = &fuzz_disk[x - d.first];
		fuzz_entry_new(in, e, fuzz_disk_bodies[x - d.first], x, d.meta.last_normal_view, parent, timestamp);
		fuzz_written_add(e);
		parent = e->checksum;
		timestamp++;
	}
	if (status == VR_STATUS_VIEW_CHANGE && fuzz_byte(in) % 2) {
		d.meta.dvc_view = d.meta.view;
		d.meta.dvc_op = d.op;
		d.meta.dvc_head = d.op ? fuzz_disk[d.op - d.first].checksum : 0;
	}
	d.log = fuzz_disk;
	memset(fuzz_disk_clients, 0, sizeof(fuzz_disk_clients));
	d.clients = fuzz_disk_clients;
	d.client_count = FUZZ_CLIENTS;
	return vr_init(r, c, io, &d);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_tracing = getenv("FUZZ_VR_TRACE") != NULL;
	wire_buf_init(&fuzz_wire);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *names[FUZZ_EVENT_COUNT] = {
		"tick",    "persisted", "persisted part", "raw",      "prepare",           "commit",    "prepare_ok",
		"svc",     "dvc",       "start_view",     "recovery", "recovery_response", "get_state", "new_state",
		"request", "settle",    "commit_ok",      "read",     "get_log",           "log",
	};
	struct fuzz_input in = { .data = data, .size = size };
	struct fuzz_io ctx = { 0 };
	struct vr_replica r;
	uint8_t self = fuzz_byte(&in) % FUZZ_REPLICAS, b1 = fuzz_byte(&in), b2 = fuzz_byte(&in), start = b2 % 4;
	uint8_t ck = b1 % 9, witness = b1 / 9 % 4, parts = b1 / 36 % 2 ? 1 + b1 / 72 % 3 : 0;
	/* A body cache of 0-2 bodies (byte 2 / 4), with parts only (vr_config). */
	uint64_t cache = parts && b2 / 4 % 2 ? 1 + b2 / 8 % (2 * FUZZ_BODY_MAX) : 0;
	struct vr_config c = {
		.replica_count = FUZZ_REPLICAS,
		.self = self,
		.log_capacity = FUZZ_LOG_CAPACITY,
		.checkpoint_ops = ck ? 2u + ck : 0,
		.witnesses = (uint16_t)(witness ? 1u << (witness - 1) : 0),
		.part_ops = parts,
		.body_cache_bytes = cache,
		.body_size_max = FUZZ_BODY_MAX,
		.client_table_size = FUZZ_CLIENTS,
		.pipeline_max = 4,
		.heartbeat_ticks = 5,
		.prepare_resend_ticks = 10,
		.liveness_ticks = 40,
		.view_change_ticks = 60,
		.resend_ticks = 8,
		.seed = 1,
	};
	struct vr_io io = {
		.ctx = &ctx,
		.send = fuzz_io_send,
		.reply = fuzz_io_reply,
		.persist = fuzz_io_persist,
		.apply = fuzz_io_apply,
		.realtime = fuzz_io_realtime,
		.need_snapshot = fuzz_io_need_snapshot,
		.log = fuzz_io_log,
		.read_body = fuzz_io_read_body,
	};
	int rc;

	fuzz_written_count = 0;
	if (fuzz_tracing)
		fprintf(stderr, "init r%u checkpoint_ops %" PRIu32 " witnesses %#x start %u\n", self, c.checkpoint_ops,
		        c.witnesses, start);
	if (start == 2)
		rc = fuzz_init_durable(&in, &r, &c, &io);
	else if (start == 3)
		rc = vr_init_recovering(&r, &c, &io);
	else
		rc = vr_init(&r, &c, &io, NULL);
	if (rc == -EINVAL)
		return 0; /* a disk vr_init refuses: nothing to drive */
	if (rc != 0)
		abort();
	fuzz_trace_state(&r);

	for (int events = 0; fuzz_more(&in) && events < FUZZ_EVENTS_MAX; events++) {
		enum fuzz_event ev = (enum fuzz_event)(fuzz_byte(&in) % FUZZ_EVENT_COUNT);

		if (fuzz_tracing)
			fprintf(stderr, "event %d: %s\n", events, names[ev]);
		switch (ev) {
		case FUZZ_TICK:
			for (int t = 1 + fuzz_byte(&in) % 64; t > 0; t--)
				vr_on_tick(&r);
			break;
		case FUZZ_PERSISTED:
			vr_on_persisted(&r, ctx.persist_seq);
			break;
		case FUZZ_PERSISTED_PART: {
			uint8_t back = fuzz_byte(&in) % 4;
			vr_on_persisted(&r, ctx.persist_seq > back ? ctx.persist_seq - back : 0);
			break;
		}
		case FUZZ_RAW:
			fuzz_raw_message(&in, &r);
			break;
		case FUZZ_SETTLE:
			vr_on_persisted(&r, ctx.persist_seq);
			vr_on_tick(&r);
			break;
		case FUZZ_READ: {
			struct vr_read rd;
			if (vr_read_begin(&r, &rd) == 0 && vr_read_ready(&r, &rd) < 0)
				abort(); /* the view cannot have changed in between */
			break;
		}
		default:
			fuzz_structured(&in, &r, ev);
			break;
		}
		fuzz_trace_state(&r);
	}
	vr_deinit(&r);
	return 0;
}
