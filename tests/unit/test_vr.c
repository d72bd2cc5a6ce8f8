/*
 * test_vr.c — unit tests of the VR replica core (replication/vr_*.c), VR-PROTOCOL.md
 * §3-§7: every test drives one replica with hand-built messages, ticks and
 * durability reports, and asserts the exact effects it produced through a fake
 * struct vr_io that records them (sends, replies, persisted writes, applied ops and
 * the drop reasons given to io.log).
 *
 * Cluster in every test: 3 replicas (f = 1, quorum 2); primary(v) = v mod 3.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "replication/vr.h"

/* ---- Fixture: a fake io recording every effect ------------------------------------ */

#define FX_EFFECTS_MAX 128
#define FX_LOG_MAX     80 /* entries in a test log; more than log_capacity */
#define FX_CLIENTS     4

struct fx_send {
	uint8_t to;
	struct vr_message m; /* scalar fields; body and entries cleared */
	uint64_t first_op;   /* entries[0].op, when entry_count > 0 */
	uint64_t last_op;
	uint64_t last_checksum;
};

struct fx_reply {
	uint64_t client_id;
	struct vr_message m; /* scalar fields; body copied below */
	uint8_t body[VR_RESULT_SIZE_MAX];
};

struct fx_write {
	uint8_t kind;
	uint64_t seq;
	uint32_t entry_count; /* LOG, INSTALL */
	uint64_t first_op;    /* LOG, INSTALL */
	uint64_t last_op;     /* LOG, INSTALL */
	uint64_t last_checksum;
	uint64_t op; /* INSTALL: entries above op removed first */
	struct vr_meta meta;
};

struct fx_apply {
	uint64_t op;
	uint64_t client_id;
	uint64_t request;
	uint8_t kind;
	bool upcall;
	uint32_t slot;
	uint64_t evicted_client;
};

struct fx {
	struct vr_replica r;
	bool initialised;
	uint64_t now;  /* realtime */
	uint64_t mono; /* the monotonic clock (leases), set by the test */
	uint64_t lease_ns;
	uint32_t drift_ppm;

	struct fx_send sent[FX_EFFECTS_MAX];
	size_t sent_count;
	struct fx_reply replies[FX_EFFECTS_MAX];
	size_t reply_count;
	struct fx_write writes[FX_EFFECTS_MAX];
	size_t write_count;
	struct fx_apply applied[FX_EFFECTS_MAX];
	size_t apply_count;
	const char *notes[FX_EFFECTS_MAX]; /* io.log strings (constants) */
	size_t note_count;
	size_t snapshot_count; /* need_snapshot calls, the newest one's arguments */
	uint64_t snapshot_min, snapshot_view;
	uint32_t checkpoint_ops; /* fx_config: 0 keeps the whole log */
	uint16_t witnesses;      /* fx_config: vr_config.witnesses */
	uint32_t part_ops;       /* fx_config: vr_config.part_ops (0: logs travel whole) */
	uint64_t cache_bytes;    /* fx_config: vr_config.body_cache_bytes (0: bodies in memory) */
	/* The driver's copies for io.read_body: (op, checksum) of every entry written with its body. */
	uint64_t written_op[256], written_checksum[256];
	size_t written_count;
	size_t bodiless_written; /* entries of LOG/INSTALL writes that came without their body */
	size_t stage_writes;
};

/* Was entry (op, checksum) written with its body (log or STAGE)? */
static bool fx_written(const struct fx *fx, uint64_t op, uint64_t checksum)
{
	for (size_t i = 0; i < fx->written_count; i++)
		if (fx->written_op[i] == op && fx->written_checksum[i] == checksum)
			return true;
	return false;
}

/* Every entry a message carries has its body (a body cache reads it back first). */
static void fx_check_entries(const struct vr_entry *entries, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		assert_true(entries[i].body_len == 0 || entries[i].body != NULL);
		assert_int_equal(entries[i].checksum, vr_entry_checksum(&entries[i]));
	}
}

static void fx_on_send(void *ctx, uint8_t replica, const struct vr_message *m)
{
	struct fx *fx = ctx;
	struct fx_send *s;

	assert_true(fx->sent_count < FX_EFFECTS_MAX);
	s = &fx->sent[fx->sent_count++];
	memset(s, 0, sizeof(*s));
	s->to = replica;
	s->m = *m;
	s->m.body = NULL;
	s->m.entries = NULL;
	fx_check_entries(m->entries, m->entry_count);
	if (m->entry_count) {
		s->first_op = m->entries[0].op;
		s->last_op = m->entries[m->entry_count - 1].op;
		s->last_checksum = m->entries[m->entry_count - 1].checksum;
	}
}

static void fx_on_reply(void *ctx, uint64_t client_id, const struct vr_message *m)
{
	struct fx *fx = ctx;
	struct fx_reply *p;

	assert_true(fx->reply_count < FX_EFFECTS_MAX);
	assert_true(m->body_len <= VR_RESULT_SIZE_MAX);
	p = &fx->replies[fx->reply_count++];
	memset(p, 0, sizeof(*p));
	p->client_id = client_id;
	p->m = *m;
	p->m.body = NULL;
	p->m.entries = NULL;
	if (m->body_len)
		memcpy(p->body, m->body, m->body_len);
}

static void fx_on_persist(void *ctx, const struct vr_write *w)
{
	struct fx *fx = ctx;
	struct fx_write *p;

	assert_true(fx->write_count < FX_EFFECTS_MAX);
	p = &fx->writes[fx->write_count++];
	memset(p, 0, sizeof(*p));
	p->kind = w->kind;
	p->seq = w->seq;
	p->entry_count = w->entry_count;
	if ((w->kind == VR_WRITE_LOG || w->kind == VR_WRITE_INSTALL) && w->entry_count) {
		p->first_op = w->entries[0].op;
		p->last_op = w->entries[w->entry_count - 1].op;
		p->last_checksum = w->entries[w->entry_count - 1].checksum;
	}
	p->op = w->op;
	p->meta = w->meta;
	fx->stage_writes += w->kind == VR_WRITE_STAGE;
	for (uint32_t i = 0; i < w->entry_count; i++) {
		const struct vr_entry *e = &w->entries[i];
		if (e->body_len && !e->body) { /* the driver takes it from an earlier write */
			assert_true(w->kind == VR_WRITE_LOG || w->kind == VR_WRITE_INSTALL);
			assert_true(fx_written(fx, e->op, e->checksum));
			fx->bodiless_written++;
		} else if (!fx_written(fx, e->op, e->checksum)) {
			assert_true(fx->written_count < 256);
			fx->written_op[fx->written_count] = e->op;
			fx->written_checksum[fx->written_count++] = e->checksum;
		}
	}
}

/* Every test entry's body is fx_entry_body. */
static bool fx_on_read_body(void *ctx, uint64_t op, uint64_t checksum, uint8_t *body, uint32_t len)
{
	struct fx *fx = ctx;

	if (!fx_written(fx, op, checksum) || len != 3)
		return false;
	memcpy(body, "abc", 3);
	return true;
}

/* The state machine: an up-call answers 'R' followed by the op's body. */
static uint32_t fx_on_apply(void *ctx, const struct vr_apply *a, uint8_t *result)
{
	struct fx *fx = ctx;
	struct fx_apply *p;

	assert_true(fx->apply_count < FX_EFFECTS_MAX);
	p = &fx->applied[fx->apply_count++];
	p->op = a->entry->op;
	p->client_id = a->entry->client_id;
	p->request = a->entry->request;
	p->kind = a->entry->kind;
	p->upcall = a->upcall;
	p->slot = a->slot;
	p->evicted_client = a->evicted_client;
	assert_true(a->entry->body_len == 0 || a->entry->body != NULL);
	if (!a->upcall)
		return 0;
	result[0] = 'R';
	memcpy(result + 1, a->entry->body, a->entry->body_len);
	return 1 + a->entry->body_len;
}

static uint64_t fx_on_realtime(void *ctx)
{
	struct fx *fx = ctx;

	return ++fx->now;
}

static uint64_t fx_on_monotonic(void *ctx)
{
	struct fx *fx = ctx;

	return fx->mono;
}

static void fx_on_need_snapshot(void *ctx, uint64_t min_op, uint64_t view)
{
	struct fx *fx = ctx;

	fx->snapshot_count++;
	fx->snapshot_min = min_op;
	fx->snapshot_view = view;
}

static void fx_on_log(void *ctx, const char *what)
{
	struct fx *fx = ctx;

	assert_true(fx->note_count < FX_EFFECTS_MAX);
	fx->notes[fx->note_count++] = what;
}

static int fx_setup(void **state)
{
	struct fx *fx = test_calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->now = 1000;
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;

	if (fx->initialised)
		vr_deinit(&fx->r);
	test_free(fx);
	return 0;
}

/* ---- Helpers ----------------------------------------------------------------------- */

static void fx_config(struct vr_config *c, uint8_t self)
{
	memset(c, 0, sizeof(*c));
	c->replica_count = 3;
	c->self = self;
	c->log_capacity = 64;
	c->body_size_max = 32;
	c->client_table_size = FX_CLIENTS;
	c->pipeline_max = 8;
	c->heartbeat_ticks = 5;
	c->prepare_resend_ticks = 10;
	c->liveness_ticks = 40;
	c->view_change_ticks = 60;
	c->resend_ticks = 8;
	c->seed = 1;
}

static struct vr_io fx_io(struct fx *fx)
{
	struct vr_io io = {
		.ctx = fx,
		.send = fx_on_send,
		.reply = fx_on_reply,
		.persist = fx_on_persist,
		.apply = fx_on_apply,
		.realtime = fx_on_realtime,
		.monotonic = fx_on_monotonic,
		.need_snapshot = fx_on_need_snapshot,
		.log = fx_on_log,
		.read_body = fx_on_read_body,
	};
	return io;
}

/* Forgets the effects recorded so far; the next assertions see only new ones. */
static void fx_reset(struct fx *fx)
{
	fx->sent_count = 0;
	fx->reply_count = 0;
	fx->write_count = 0;
	fx->apply_count = 0;
	fx->note_count = 0;
}

/* A new replica (view 0, NORMAL, empty log). */
static void fx_init(struct fx *fx, uint8_t self)
{
	struct vr_config c;
	struct vr_io io = fx_io(fx);

	fx_config(&c, self);
	c.checkpoint_ops = fx->checkpoint_ops;
	c.witnesses = fx->witnesses;
	c.part_ops = fx->part_ops;
	c.body_cache_bytes = fx->cache_bytes;
	c.lease_ns = fx->lease_ns;
	c.drift_ppm = fx->drift_ppm;
	assert_int_equal(vr_init(&fx->r, &c, &io, NULL), 0);
	fx->initialised = true;
}

/* A replica whose disk was lost. */
static void fx_init_recovering(struct fx *fx, uint8_t self)
{
	struct vr_config c;
	struct vr_io io = fx_io(fx);

	fx_config(&c, self);
	c.checkpoint_ops = fx->checkpoint_ops;
	c.witnesses = fx->witnesses;
	assert_int_equal(vr_init_recovering(&fx->r, &c, &io), 0);
	fx->initialised = true;
}

/* A restart from a durable image: meta, log[0..op-1] and commit (client table empty). */
static void fx_restart(struct fx *fx, uint8_t self, const struct vr_meta *meta, const struct vr_entry *log, uint64_t op,
                       uint64_t commit)
{
	struct vr_config c;
	struct vr_io io = fx_io(fx);
	struct vr_client_slot clients[FX_CLIENTS];
	struct vr_durable d = {
		.meta = *meta,
		.log = log,
		.first = 1,
		.op = op,
		.commit = commit,
		.clients = clients,
		.client_count = FX_CLIENTS,
	};

	memset(clients, 0, sizeof(clients));
	fx_config(&c, self);
	c.checkpoint_ops = fx->checkpoint_ops;
	c.witnesses = fx->witnesses;
	assert_int_equal(vr_init(&fx->r, &c, &io, &d), 0);
	fx->initialised = true;
}

/* Every write issued so far becomes durable. */
static void fx_persist_all(struct fx *fx)
{
	vr_on_persisted(&fx->r, fx->r.persist_seq);
}

static const uint8_t fx_entry_body[] = "abc";

/* A valid entry: a REGISTER of client 1000+op, chained onto prev (NULL for op 1). */
static void fx_entry(struct vr_entry *e, uint64_t op, uint64_t view, const struct vr_entry *prev)
{
	memset(e, 0, sizeof(*e));
	e->op = op;
	e->view = view;
	e->client_id = 1000 + op;
	e->session = 0;
	e->request = 0;
	e->timestamp = 100 * op;
	e->kind = VR_KIND_REGISTER;
	e->body_len = 3;
	e->body = fx_entry_body;
	e->parent = prev ? prev->checksum : 0;
	e->checksum = vr_entry_checksum(e);
}

/* log[from-1 .. to-1] := ops from..to assigned in view, chained onto log[from-2]. */
static void fx_chain(struct vr_entry *log, uint64_t from, uint64_t to, uint64_t view)
{
	assert_true(to <= FX_LOG_MAX);
	for (uint64_t x = from; x <= to; x++)
		fx_entry(&log[x - 1], x, view, x > 1 ? &log[x - 2] : NULL);
}

static void fx_deliver(struct fx *fx, const struct vr_message *m)
{
	assert_int_equal(vr_on_message(&fx->r, m), 0);
}

static void fx_tick(struct fx *fx, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		vr_on_tick(&fx->r);
}

/* Ticks until the status is not `status` any more; fails after `max` ticks. */
static void fx_tick_while_status(struct fx *fx, uint8_t status, unsigned max)
{
	for (unsigned i = 0; i < max && fx->r.status == status; i++)
		vr_on_tick(&fx->r);
	assert_int_not_equal(fx->r.status, status);
}

static void fx_prepare(struct fx *fx, uint8_t from, uint64_t view, const struct vr_entry *e, uint64_t commit)
{
	struct vr_message m = {
		.command = VR_PREPARE,
		.replica = from,
		.view = view,
		.op = e->op,
		.commit = commit,
		.entry_count = 1,
		.entries = e,
	};
	fx_deliver(fx, &m);
}

static void fx_prepare_ok(struct fx *fx, uint8_t from, uint64_t view, uint64_t op)
{
	struct vr_message m = { .command = VR_PREPARE_OK, .replica = from, .view = view, .op = op };
	fx_deliver(fx, &m);
}

static void fx_commit(struct fx *fx, uint8_t from, uint64_t view, uint64_t commit, uint64_t op)
{
	struct vr_message m = { .command = VR_COMMIT, .replica = from, .view = view, .commit = commit, .op = op };
	fx_deliver(fx, &m);
}

static void fx_svc(struct fx *fx, uint8_t from, uint64_t view)
{
	struct vr_message m = { .command = VR_START_VIEW_CHANGE, .replica = from, .view = view };
	fx_deliver(fx, &m);
}

/* A message carrying the log 1..op (DO_VIEW_CHANGE, START_VIEW, RECOVERY_RESPONSE). A DVC
 * says the checksum of its entry at commit (V5). */
static struct vr_message fx_log_message(uint8_t command, uint8_t from, uint64_t view, const struct vr_entry *log,
                                        uint64_t op, uint64_t commit)
{
	struct vr_message m = {
		.command = command,
		.replica = from,
		.view = view,
		.op = op,
		.commit = commit,
		.entry_count = (uint32_t)op,
		.entries = op ? log : NULL,
	};
	if (command == VR_DO_VIEW_CHANGE && commit && commit <= op)
		m.nonce = log[commit - 1].checksum;
	return m;
}

static struct vr_message fx_request(uint64_t client_id, uint8_t kind, uint64_t session, uint64_t request,
                                    const char *body)
{
	struct vr_message m = {
		.command = VR_REQUEST,
		.client_id = client_id,
		.kind = kind,
		.session = session,
		.request = request,
		.body = (const uint8_t *)body,
		.body_len = body ? (uint32_t)strlen(body) : 0,
	};
	return m;
}

/* Primary replica 0: client_id registers and the REGISTER commits. Returns its session. */
static uint64_t fx_register(struct fx *fx, uint64_t client_id)
{
	struct vr_message m = fx_request(client_id, VR_KIND_REGISTER, 0, 0, NULL);

	fx_deliver(fx, &m);
	uint64_t op = fx->r.log.op;
	fx_persist_all(fx);
	fx_prepare_ok(fx, 1, fx->r.view, op);
	assert_int_equal(fx->r.commit, op);
	return op;
}

/* Backup `self` of view 0 holding log 1..n durably (acked to replica 0); no effects recorded. */
static void fx_backup_with_log(struct fx *fx, uint8_t self, const struct vr_entry *log, uint64_t n)
{
	fx_init(fx, self);
	for (uint64_t x = 1; x <= n; x++)
		fx_prepare(fx, 0, 0, &log[x - 1], 0);
	fx_persist_all(fx);
	assert_int_equal(fx->r.log.op, n);
	assert_int_equal(fx->r.durable_op, n);
	fx_reset(fx);
}

static void fx_assert_send(const struct fx *fx, size_t i, uint8_t command, uint8_t to, uint64_t view)
{
	assert_true(i < fx->sent_count);
	assert_int_equal(fx->sent[i].m.command, command);
	assert_int_equal(fx->sent[i].to, to);
	assert_int_equal(fx->sent[i].m.replica, fx->r.config.self);
	assert_int_equal(fx->sent[i].m.view, view);
	assert_int_equal(fx->sent[i].m.epoch, fx->r.config.epoch);
}

static void fx_assert_meta(const struct fx_write *w, uint64_t view, uint64_t last_normal_view, uint64_t dvc_view,
                           uint8_t status)
{
	assert_int_equal(w->kind, VR_WRITE_META);
	assert_int_equal(w->meta.view, view);
	assert_int_equal(w->meta.last_normal_view, last_normal_view);
	assert_int_equal(w->meta.dvc_view, dvc_view);
	assert_int_equal(w->meta.status, status);
}

/* One atomic INSTALL: keep entries up to keep_op, append first..last (none when first is 0), record the view. */
static void fx_assert_install(const struct fx_write *w, uint64_t keep_op, uint64_t first_op, uint64_t last_op,
                              uint64_t view, uint64_t last_normal_view, uint8_t status)
{
	assert_int_equal(w->kind, VR_WRITE_INSTALL);
	assert_int_equal(w->op, keep_op);
	assert_int_equal(w->entry_count, first_op ? last_op - first_op + 1 : 0);
	if (first_op) {
		assert_int_equal(w->first_op, first_op);
		assert_int_equal(w->last_op, last_op);
	}
	assert_int_equal(w->meta.view, view);
	assert_int_equal(w->meta.last_normal_view, last_normal_view);
	assert_int_equal(w->meta.dvc_view, 0);
	assert_int_equal(w->meta.status, status);
}

static void fx_assert_log_write(const struct fx_write *w, uint64_t first_op, uint64_t last_op)
{
	assert_int_equal(w->kind, VR_WRITE_LOG);
	assert_int_equal(w->first_op, first_op);
	assert_int_equal(w->last_op, last_op);
	assert_int_equal(w->entry_count, last_op - first_op + 1);
}

static void fx_assert_no_effects(const struct fx *fx)
{
	assert_int_equal(fx->sent_count, 0);
	assert_int_equal(fx->reply_count, 0);
	assert_int_equal(fx->write_count, 0);
	assert_int_equal(fx->apply_count, 0);
}

static void fx_assert_applied(const struct fx *fx, size_t i, uint64_t op, bool upcall)
{
	assert_true(i < fx->apply_count);
	assert_int_equal(fx->applied[i].op, op);
	assert_int_equal(fx->applied[i].upcall, upcall);
}

static void fx_assert_reply(const struct fx *fx, size_t i, uint64_t client_id, uint8_t status, uint64_t request,
                            uint64_t op)
{
	assert_true(i < fx->reply_count);
	assert_int_equal(fx->replies[i].client_id, client_id);
	assert_int_equal(fx->replies[i].m.command, VR_REPLY);
	assert_int_equal(fx->replies[i].m.client_id, client_id);
	assert_int_equal(fx->replies[i].m.status, status);
	assert_int_equal(fx->replies[i].m.request, request);
	assert_int_equal(fx->replies[i].m.op, op);
}

/* The message was dropped for `why`: -EBADMSG, no effect, state unchanged. */
static void fx_assert_bad(struct fx *fx, const struct vr_message *m, const char *why)
{
	uint64_t view = fx->r.view, op = fx->r.log.op, commit = fx->r.commit, drops = fx->r.drops;
	uint8_t status = fx->r.status;

	fx_reset(fx);
	assert_int_equal(vr_on_message(&fx->r, m), -EBADMSG);
	fx_assert_no_effects(fx);
	assert_int_equal(fx->note_count, 1);
	assert_string_equal(fx->notes[0], why);
	assert_int_equal(fx->r.drops, drops + 1);
	assert_int_equal(fx->r.view, view);
	assert_int_equal(fx->r.status, status);
	assert_int_equal(fx->r.log.op, op);
	assert_int_equal(fx->r.commit, commit);
}

/* ---- Normal operation: the primary (§4.1, §4.3, §4.4) ------------------------------- */

static void test_primary_commits_register_after_quorum(void **state)
{
	struct fx *fx = *state;

	fx_init(fx, 0);
	struct vr_message req = fx_request(7, VR_KIND_REGISTER, 0, 0, NULL);
	fx_deliver(fx, &req);

	/* One log write of op 1, a PREPARE of it to each backup. */
	assert_int_equal(fx->write_count, 1);
	fx_assert_log_write(&fx->writes[0], 1, 1);
	assert_int_equal(fx->writes[0].seq, 1);
	assert_int_equal(fx->sent_count, 2);
	for (uint8_t i = 0; i < 2; i++) {
		fx_assert_send(fx, i, VR_PREPARE, (uint8_t)(i + 1), 0);
		assert_int_equal(fx->sent[i].m.op, 1);
		assert_int_equal(fx->sent[i].m.commit, 0);
		assert_int_equal(fx->sent[i].m.entry_count, 1);
		assert_int_equal(fx->sent[i].first_op, 1);
	}
	const struct vr_entry *e = vr_log_entry(&fx->r, 1);
	assert_non_null(e);
	assert_int_equal(e->client_id, 7);
	assert_int_equal(e->kind, VR_KIND_REGISTER);
	assert_int_equal(e->session, 0);
	assert_int_equal(e->request, 0);
	assert_int_equal(e->view, 0);
	assert_int_equal(e->checksum, vr_entry_checksum(e));
	assert_int_equal(fx->sent[0].last_checksum, e->checksum);
	assert_int_equal(fx->apply_count, 0);

	/* Durable at the primary alone: 1 of 2 votes, nothing executes. */
	fx_reset(fx);
	fx_persist_all(fx);
	fx_assert_no_effects(fx);
	assert_int_equal(fx->r.commit, 0);

	/* The backup's PREPAREOK makes the quorum. */
	fx_prepare_ok(fx, 1, 0, 1);
	assert_int_equal(fx->apply_count, 1);
	fx_assert_applied(fx, 0, 1, false);
	assert_int_not_equal(fx->applied[0].slot, VR_NONE);
	assert_int_equal(fx->applied[0].client_id, 7);
	assert_int_equal(fx->applied[0].evicted_client, 0);
	assert_int_equal(fx->reply_count, 1);
	fx_assert_reply(fx, 0, 7, VR_REPLY_OK, 0, 1);
	assert_int_equal(fx->replies[0].m.view, 0);
	assert_int_equal(fx->replies[0].m.body_len, 0);
	assert_int_equal(fx->r.commit, 1);
	assert_int_equal(fx->sent_count, 0);
	assert_int_equal(fx->write_count, 0);
}

static void test_primary_counts_own_copy_only_when_durable(void **state)
{
	struct fx *fx = *state;

	fx_init(fx, 0);
	struct vr_message req = fx_request(7, VR_KIND_REGISTER, 0, 0, NULL);
	fx_deliver(fx, &req);
	fx_reset(fx);

	/* Both backups ack before the primary's own write is durable: 2 votes, but own copy not counted. */
	fx_prepare_ok(fx, 1, 0, 1);
	fx_prepare_ok(fx, 2, 0, 1);
	fx_assert_no_effects(fx);
	assert_int_equal(fx->r.commit, 0);

	fx_persist_all(fx);
	assert_int_equal(fx->apply_count, 1);
	fx_assert_applied(fx, 0, 1, false);
	assert_int_equal(fx->reply_count, 1);
	fx_assert_reply(fx, 0, 7, VR_REPLY_OK, 0, 1);
	assert_int_equal(fx->r.commit, 1);
}

static void test_primary_drops_prepare_ok_beyond_log_or_other_view(void **state)
{
	struct fx *fx = *state;

	fx_init(fx, 0);
	struct vr_message req = fx_request(7, VR_KIND_REGISTER, 0, 0, NULL);
	fx_deliver(fx, &req);
	fx_persist_all(fx);
	fx_reset(fx);

	fx_prepare_ok(fx, 1, 1, 1); /* another view: never counts */
	fx_prepare_ok(fx, 2, 0, 2); /* beyond the log */
	fx_assert_no_effects(fx);
	assert_int_equal(fx->note_count, 2);
	assert_string_equal(fx->notes[0], "prepare_ok: other view");
	assert_string_equal(fx->notes[1], "prepare_ok: op beyond the log");
	assert_int_equal(fx->r.commit, 0);
}

static void test_session_requests_and_retries(void **state)
{
	struct fx *fx = *state;

	fx_init(fx, 0);
	uint64_t session = fx_register(fx, 7);
	assert_int_equal(session, 1);
	assert_int_equal(fx->replies[0].m.op, session); /* the REPLY of the REGISTER names the session */
	fx_reset(fx);

	/* A new request of the session is logged and prepared. */
	struct vr_message req = fx_request(7, VR_KIND_OP, session, 1, "hello");
	fx_deliver(fx, &req);
	assert_int_equal(fx->write_count, 1);
	fx_assert_log_write(&fx->writes[0], 2, 2);
	assert_int_equal(fx->sent_count, 2);
	fx_assert_send(fx, 0, VR_PREPARE, 1, 0);
	fx_assert_send(fx, 1, VR_PREPARE, 2, 0);
	assert_int_equal(fx->sent[0].m.op, 2);
	assert_int_equal(fx->sent[0].m.commit, 1);
	const struct vr_entry *e = vr_log_entry(&fx->r, 2);
	assert_int_equal(e->kind, VR_KIND_OP);
	assert_int_equal(e->session, session);
	assert_int_equal(e->request, 1);
	assert_int_equal(e->body_len, 5);
	assert_memory_equal(e->body, "hello", 5);

	/* A retry while it is in flight: dropped, no PREPARE, no reply. */
	fx_reset(fx);
	fx_deliver(fx, &req);
	fx_assert_no_effects(fx);
	assert_int_equal(fx->r.log.op, 2);

	/* It commits: up-call, REPLY with the result. */
	fx_persist_all(fx);
	fx_prepare_ok(fx, 2, 0, 2);
	assert_int_equal(fx->apply_count, 1);
	fx_assert_applied(fx, 0, 2, true);
	assert_int_not_equal(fx->applied[0].slot, VR_NONE);
	assert_int_equal(fx->reply_count, 1);
	fx_assert_reply(fx, 0, 7, VR_REPLY_OK, 1, 2);
	assert_int_equal(fx->replies[0].m.body_len, 6);
	assert_memory_equal(fx->replies[0].body, "Rhello", 6);

	/* A retry after execution: the cached reply again, nothing logged or executed. */
	fx_reset(fx);
	fx_deliver(fx, &req);
	assert_int_equal(fx->sent_count, 0);
	assert_int_equal(fx->write_count, 0);
	assert_int_equal(fx->apply_count, 0);
	assert_int_equal(fx->reply_count, 1);
	fx_assert_reply(fx, 0, 7, VR_REPLY_OK, 1, 2);
	assert_int_equal(fx->replies[0].m.body_len, 6);
	assert_memory_equal(fx->replies[0].body, "Rhello", 6);
	assert_int_equal(fx->r.log.op, 2);

	/* An older request number: dropped silently. */
	fx_reset(fx);
	struct vr_message old = fx_request(7, VR_KIND_OP, session, 0, "old");
	fx_deliver(fx, &old);
	fx_assert_no_effects(fx);
	assert_int_equal(fx->note_count, 1);
	assert_string_equal(fx->notes[0], "request: older than the newest");

	/* A wrong session: EVICTED, nothing logged. */
	fx_reset(fx);
	struct vr_message wrong = fx_request(7, VR_KIND_OP, session + 5, 2, "x");
	fx_deliver(fx, &wrong);
	assert_int_equal(fx->sent_count, 0);
	assert_int_equal(fx->write_count, 0);
	assert_int_equal(fx->apply_count, 0);
	assert_int_equal(fx->reply_count, 1);
	fx_assert_reply(fx, 0, 7, VR_REPLY_EVICTED, 2, 0);
	assert_int_equal(fx->replies[0].m.body_len, 0);
	assert_int_equal(fx->r.log.op, 2);

	/* A client that never registered: EVICTED as well. */
	fx_reset(fx);
	struct vr_message stranger = fx_request(8, VR_KIND_OP, session, 1, "x");
	fx_deliver(fx, &stranger);
	assert_int_equal(fx->write_count, 0);
	assert_int_equal(fx->sent_count, 0);
	assert_int_equal(fx->reply_count, 1);
	fx_assert_reply(fx, 0, 8, VR_REPLY_EVICTED, 1, 0);
}

static void test_register_retry_gets_same_session(void **state)
{
	struct fx *fx = *state;

	fx_init(fx, 0);
	struct vr_message reg = fx_request(7, VR_KIND_REGISTER, 0, 0, NULL);
	fx_deliver(fx, &reg);
	fx_reset(fx);

	/* In flight: dropped. */
	fx_deliver(fx, &reg);
	fx_assert_no_effects(fx);

	fx_persist_all(fx);
	fx_prepare_ok(fx, 1, 0, 1);
	fx_reset(fx);

	/* Executed: the same reply, op 1 = the session; no second REGISTER logged. */
	fx_deliver(fx, &reg);
	assert_int_equal(fx->write_count, 0);
	assert_int_equal(fx->sent_count, 0);
	assert_int_equal(fx->reply_count, 1);
	fx_assert_reply(fx, 0, 7, VR_REPLY_OK, 0, 1);
	assert_int_equal(fx->r.log.op, 1);
}

static void test_client_table_evicts_oldest(void **state)
{
	struct fx *fx = *state;
	uint64_t session[6];

	fx_init(fx, 0);
	for (uint64_t c = 1; c <= 4; c++) {
		session[c] = fx_register(fx, c);
		assert_int_equal(session[c], c);
		assert_int_equal(fx->applied[fx->apply_count - 1].evicted_client, 0);
	}
	fx_reset(fx);

	/* The fifth registration takes the slot of the session idle longest: client 1. */
	session[5] = fx_register(fx, 5);
	assert_int_equal(session[5], 5);
	assert_int_equal(fx->apply_count, 1);
	fx_assert_applied(fx, 0, 5, false);
	assert_int_equal(fx->applied[0].client_id, 5);
	assert_int_equal(fx->applied[0].slot, 0);
	assert_int_equal(fx->applied[0].evicted_client, 1);
	assert_int_equal(fx->reply_count, 1);
	fx_assert_reply(fx, 0, 5, VR_REPLY_OK, 0, 5);

	/* Client 1's session is gone. */
	fx_reset(fx);
	struct vr_message r1 = fx_request(1, VR_KIND_OP, session[1], 1, "a");
	fx_deliver(fx, &r1);
	assert_int_equal(fx->write_count, 0);
	assert_int_equal(fx->sent_count, 0);
	assert_int_equal(fx->reply_count, 1);
	fx_assert_reply(fx, 0, 1, VR_REPLY_EVICTED, 1, 0);

	/* Client 2's is not. */
	fx_reset(fx);
	struct vr_message r2 = fx_request(2, VR_KIND_OP, session[2], 1, "b");
	fx_deliver(fx, &r2);
	assert_int_equal(fx->reply_count, 0);
	assert_int_equal(fx->write_count, 1);
	fx_assert_log_write(&fx->writes[0], 6, 6);
	assert_int_equal(fx->sent_count, 2);
	assert_int_equal(fx->sent[0].m.command, VR_PREPARE);
}

static void test_primary_heartbeat_period(void **state)
{
	struct fx *fx = *state;

	fx_init(fx, 0);
	for (unsigned t = 1; t <= 16; t++) {
		fx_reset(fx);
		fx_tick(fx, 1);
		bool beat = t == 1 || t == 6 || t == 11 || t == 16;
		assert_int_equal(fx->sent_count, beat ? 2 : 0);
		if (beat) {
			fx_assert_send(fx, 0, VR_COMMIT, 1, 0);
			fx_assert_send(fx, 1, VR_COMMIT, 2, 0);
			assert_int_equal(fx->sent[0].m.commit, 0);
			assert_int_equal(fx->sent[0].m.op, 0);
		}
	}
	assert_int_equal(fx->write_count, 0);
}

static void test_primary_resends_unacked_prepare(void **state)
{
	struct fx *fx = *state;

	fx_init(fx, 0);
	fx_tick(fx, 1); /* first heartbeat; the resend timer fires next at tick 11 */
	uint64_t session = fx_register(fx, 7);
	struct vr_message op = fx_request(7, VR_KIND_OP, session, 1, "z");
	fx_deliver(fx, &op);
	fx_persist_all(fx);
	assert_int_equal(fx->r.commit, 1);
	fx_reset(fx);

	/* Ticks 2..11: COMMITs at 6 and 11; at 11 the PREPARE of uncommitted op 2 to each backup. */
	fx_tick(fx, 10);
	assert_int_equal(fx->r.tick, 11);
	assert_int_equal(fx->sent_count, 6);
	fx_assert_send(fx, 0, VR_COMMIT, 1, 0);
	fx_assert_send(fx, 1, VR_COMMIT, 2, 0);
	fx_assert_send(fx, 2, VR_COMMIT, 1, 0);
	fx_assert_send(fx, 3, VR_COMMIT, 2, 0);
	assert_int_equal(fx->sent[2].m.commit, 1);
	assert_int_equal(fx->sent[2].m.op, 2);
	fx_assert_send(fx, 4, VR_PREPARE, 1, 0);
	fx_assert_send(fx, 5, VR_PREPARE, 2, 0);
	assert_int_equal(fx->sent[4].m.op, 2);
	assert_int_equal(fx->sent[4].m.commit, 1);
	assert_int_equal(fx->sent[5].m.op, 2);
	assert_int_equal(fx->write_count, 0);

	/* Once committed, nothing is resent: ticks 12..21 carry only COMMITs. */
	fx_prepare_ok(fx, 2, 0, 2);
	assert_int_equal(fx->r.commit, 2);
	fx_reset(fx);
	fx_tick(fx, 10);
	assert_int_equal(fx->sent_count, 4);
	for (size_t i = 0; i < fx->sent_count; i++) {
		assert_int_equal(fx->sent[i].m.command, VR_COMMIT);
		assert_int_equal(fx->sent[i].m.commit, 2);
	}
}

/* ---- Normal operation: a backup (§4.2, §4.5) ---------------------------------------- */

static void test_backup_acks_prepare_only_when_durable(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[2];

	fx_chain(log, 1, 1, 0);
	fx_init(fx, 1);
	fx_prepare(fx, 0, 0, &log[0], 0);
	assert_int_equal(fx->write_count, 1);
	fx_assert_log_write(&fx->writes[0], 1, 1);
	assert_int_equal(fx->writes[0].last_checksum, log[0].checksum);
	assert_int_equal(fx->sent_count, 0);
	assert_int_equal(fx->r.log.op, 1);

	/* Time passes, still not durable: still no PREPAREOK. */
	fx_tick(fx, 5);
	assert_int_equal(fx->sent_count, 0);

	fx_persist_all(fx);
	assert_int_equal(fx->sent_count, 1);
	fx_assert_send(fx, 0, VR_PREPARE_OK, 0, 0);
	assert_int_equal(fx->sent[0].m.op, 1);
	assert_int_equal(fx->write_count, 1);
	assert_int_equal(fx->apply_count, 0);
	assert_int_equal(fx->reply_count, 0);
}

static void test_backup_duplicate_prepare(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[2];

	fx_chain(log, 1, 1, 0);
	fx_init(fx, 1);

	/* Duplicate before durable: one write, no ack; durable: exactly one ack. */
	fx_prepare(fx, 0, 0, &log[0], 0);
	fx_prepare(fx, 0, 0, &log[0], 0);
	assert_int_equal(fx->write_count, 1);
	assert_int_equal(fx->sent_count, 0);
	fx_persist_all(fx);
	assert_int_equal(fx->sent_count, 1);
	fx_assert_send(fx, 0, VR_PREPARE_OK, 0, 0);
	assert_int_equal(fx->sent[0].m.op, 1);

	/* Duplicate after the ack: the ack is resent at once, nothing written. */
	fx_reset(fx);
	fx_prepare(fx, 0, 0, &log[0], 0);
	assert_int_equal(fx->write_count, 0);
	assert_int_equal(fx->sent_count, 1);
	fx_assert_send(fx, 0, VR_PREPARE_OK, 0, 0);
	assert_int_equal(fx->sent[0].m.op, 1);
	assert_int_equal(fx->r.log.op, 1);
}

static void test_backup_prepare_gap_requests_state(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[3];

	fx_chain(log, 1, 3, 0);
	fx_backup_with_log(fx, 1, log, 1);

	fx_prepare(fx, 0, 0, &log[2], 0);
	fx_tick(fx, 1); /* the request may wait one tick */
	assert_int_equal(fx->r.log.op, 1);
	assert_int_equal(fx->write_count, 0);
	assert_int_equal(fx->sent_count, 1);
	fx_assert_send(fx, 0, VR_GET_STATE, 0, 0);
	assert_int_equal(fx->sent[0].m.op, 1);
	assert_int_equal(fx->r.status, VR_STATUS_NORMAL);
}

static void test_backup_drops_old_view_and_wrong_sender(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[1];
	struct vr_meta meta = { .view = 2, .last_normal_view = 2, .status = VR_STATUS_NORMAL };

	fx_chain(log, 1, 1, 0);

	/* Replica 1, NORMAL backup of view 2: a PREPARE of view 0 is dropped. */
	fx_restart(fx, 1, &meta, NULL, 0, 0);
	fx_reset(fx);
	fx_prepare(fx, 0, 0, &log[0], 0);
	fx_assert_no_effects(fx);
	assert_int_equal(fx->r.log.op, 0);
	assert_int_equal(fx->r.view, 2);
	assert_int_equal(fx->r.status, VR_STATUS_NORMAL);
	assert_int_equal(fx->note_count, 1);
	assert_string_equal(fx->notes[0], "prepare/commit: older view");
	vr_deinit(&fx->r);
	fx->initialised = false;

	/* Replica 1 in view 0: a PREPARE from replica 2, which is not primary of view 0 or 2. */
	fx_init(fx, 1);
	fx_reset(fx);
	fx_prepare(fx, 2, 0, &log[0], 0);
	fx_prepare(fx, 2, 1, &log[0], 0);
	fx_assert_no_effects(fx);
	assert_int_equal(fx->r.log.op, 0);
	assert_int_equal(fx->r.view, 0);
	assert_int_equal(fx->r.status, VR_STATUS_NORMAL);
	assert_int_equal(fx->note_count, 2);
	assert_string_equal(fx->notes[0], "prepare/commit: sender is not primary of its view");
	assert_string_equal(fx->notes[1], "prepare/commit: sender is not primary of its view");
}

static void test_backup_commit_executes_in_order(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[3];

	fx_chain(log, 1, 3, 0);
	fx_backup_with_log(fx, 1, log, 2);

	fx_commit(fx, 0, 0, 2, 2);
	assert_int_equal(fx->apply_count, 2);
	fx_assert_applied(fx, 0, 1, false);
	fx_assert_applied(fx, 1, 2, false);
	assert_int_equal(fx->applied[0].client_id, 1001);
	assert_int_equal(fx->applied[1].client_id, 1002);
	assert_int_not_equal(fx->applied[0].slot, VR_NONE);
	assert_int_equal(fx->reply_count, 0); /* backups never reply */
	assert_int_equal(fx->sent_count, 0);
	assert_int_equal(fx->write_count, 0);
	assert_int_equal(fx->r.commit, 2);

	/* Committed but not durable here: executed only once durable. */
	fx_reset(fx);
	fx_prepare(fx, 0, 0, &log[2], 2);
	fx_commit(fx, 0, 0, 3, 3);
	assert_int_equal(fx->apply_count, 0);
	assert_int_equal(fx->r.commit, 2);
	fx_persist_all(fx);
	assert_int_equal(fx->apply_count, 1);
	fx_assert_applied(fx, 0, 3, false);
	assert_int_equal(fx->r.commit, 3);
	/* Acknowledged although committed: a backup's commit may run ahead of a new primary's,
	 * which then needs the ack to commit (simulator seed 15341). */
	assert_int_equal(fx->sent_count, 1);
	fx_assert_send(fx, 0, VR_PREPARE_OK, 0, 0);
	assert_int_equal(fx->sent[0].m.op, 3);
}

/* ---- View change (§5) --------------------------------------------------------------- */

static void test_backup_liveness_timeout_starts_view_change(void **state)
{
	struct fx *fx = *state;

	fx_init(fx, 2);
	fx_tick(fx, 39);
	fx_assert_no_effects(fx);
	assert_int_equal(fx->r.status, VR_STATUS_NORMAL);

	/* Between liveness_ticks and 1.5 times that. */
	fx_tick_while_status(fx, VR_STATUS_NORMAL, 21);
	assert_in_range(fx->r.tick, 40, 60);
	assert_int_equal(fx->r.view, 1);
	assert_int_equal(fx->r.status, VR_STATUS_VIEW_CHANGE);
	assert_int_equal(fx->r.last_normal_view, 0);
	assert_int_equal(fx->write_count, 1);
	fx_assert_meta(&fx->writes[0], 1, 0, 0, VR_STATUS_VIEW_CHANGE);
	assert_int_equal(fx->sent_count, 0); /* the view is not durable yet */

	fx_tick(fx, 1);
	assert_int_equal(fx->sent_count, 0);

	fx_persist_all(fx);
	assert_int_equal(fx->sent_count, 2);
	fx_assert_send(fx, 0, VR_START_VIEW_CHANGE, 0, 1);
	fx_assert_send(fx, 1, VR_START_VIEW_CHANGE, 1, 1);
	assert_int_equal(fx->write_count, 1); /* no SVC from others: no DVC decided */
}

static void test_new_primary_equal_v_prime_longer_log_wins(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[3];

	fx_chain(log, 1, 3, 0);
	fx_backup_with_log(fx, 1, log, 2);

	/* Replica 1 times out into view 1, of which it is the primary. */
	fx_tick_while_status(fx, VR_STATUS_NORMAL, 61);
	assert_int_equal(fx->r.view, 1);
	fx_persist_all(fx);
	assert_int_equal(fx->sent_count, 2);
	fx_assert_send(fx, 0, VR_START_VIEW_CHANGE, 0, 1);
	fx_assert_send(fx, 1, VR_START_VIEW_CHANGE, 2, 1);
	assert_int_equal(fx->write_count, 1);
	fx_reset(fx);

	/* One SVC from another replica (f = 1): the DVC is decided and persisted. */
	fx_svc(fx, 2, 1);
	assert_int_equal(fx->write_count, 1);
	fx_assert_meta(&fx->writes[0], 1, 0, 1, VR_STATUS_VIEW_CHANGE);
	assert_int_equal(fx->writes[0].meta.dvc_op, 2); /* the DVC's log head, for a restart (V2) */
	assert_int_equal(fx->writes[0].meta.dvc_head, log[1].checksum);
	assert_int_equal(fx->sent_count, 0);
	fx_persist_all(fx);
	assert_int_equal(fx->sent_count, 0);                   /* its own DVC stays local */
	assert_int_equal(fx->r.status, VR_STATUS_VIEW_CHANGE); /* 1 of 2 DVCs */
	fx_reset(fx);

	/* Replica 2's DVC: same v' = 0, longer log (1..3), commit 1. */
	struct vr_message dvc = fx_log_message(VR_DO_VIEW_CHANGE, 2, 1, log, 3, 1);
	dvc.last_normal_view = 0;
	fx_deliver(fx, &dvc);
	assert_int_equal(fx->r.status, VR_STATUS_NORMAL);
	assert_int_equal(fx->r.view, 1);
	assert_int_equal(fx->r.last_normal_view, 1);
	assert_int_equal(fx->r.log.op, 3);
	assert_int_equal(vr_log_entry(&fx->r, 3)->checksum, log[2].checksum);
	assert_int_equal(fx->write_count, 1); /* the log and the view in one write (§12.8) */
	fx_assert_install(&fx->writes[0], 2, 3, 3, 1, 1, VR_STATUS_NORMAL);
	assert_int_equal(fx->sent_count, 0); /* STARTVIEW waits for durability */
	assert_int_equal(fx->apply_count, 0);

	fx_persist_all(fx);
	assert_int_equal(fx->sent_count, 2);
	for (uint8_t i = 0; i < 2; i++) {
		fx_assert_send(fx, i, VR_START_VIEW, i == 0 ? 0 : 2, 1);
		assert_int_equal(fx->sent[i].m.op, 3);
		assert_int_equal(fx->sent[i].m.commit, 1);
		assert_int_equal(fx->sent[i].m.entry_count, 3);
		assert_int_equal(fx->sent[i].first_op, 1);
		assert_int_equal(fx->sent[i].last_checksum, log[2].checksum);
	}
	/* §5.4 step 1: execute up to k_new = 1 and reply as the new primary. */
	assert_int_equal(fx->apply_count, 1);
	fx_assert_applied(fx, 0, 1, false);
	assert_int_equal(fx->reply_count, 1);
	fx_assert_reply(fx, 0, 1001, VR_REPLY_OK, 0, 1);
	assert_int_equal(fx->replies[0].m.view, 1);
	assert_int_equal(fx->r.commit, 1);
}

static void test_new_primary_higher_v_prime_wins_over_longer_log(void **state)
{
	struct fx *fx = *state;
	struct vr_entry own[2], other[1];

	fx_chain(own, 1, 2, 0);
	fx_chain(other, 1, 1, 3);
	fx_backup_with_log(fx, 1, own, 2);

	/* An SVC for view 4 (primary 1) moves it there and decides its DVC. */
	fx_svc(fx, 2, 4);
	assert_int_equal(fx->r.view, 4);
	assert_int_equal(fx->r.status, VR_STATUS_VIEW_CHANGE);
	assert_int_equal(fx->write_count, 2);
	fx_assert_meta(&fx->writes[0], 4, 0, 0, VR_STATUS_VIEW_CHANGE);
	fx_assert_meta(&fx->writes[1], 4, 0, 4, VR_STATUS_VIEW_CHANGE);
	assert_int_equal(fx->writes[1].meta.dvc_op, 2);
	assert_int_equal(fx->writes[1].meta.dvc_head, own[1].checksum);
	assert_int_equal(fx->sent_count, 0);
	fx_persist_all(fx);
	assert_int_equal(fx->sent_count, 2);
	fx_assert_send(fx, 0, VR_START_VIEW_CHANGE, 0, 4);
	fx_assert_send(fx, 1, VR_START_VIEW_CHANGE, 2, 4);
	fx_reset(fx);

	/* Replica 2 was normal in view 3 with the shorter log 1..1: it wins on v'. */
	struct vr_message dvc = fx_log_message(VR_DO_VIEW_CHANGE, 2, 4, other, 1, 0);
	dvc.last_normal_view = 3;
	fx_deliver(fx, &dvc);
	assert_int_equal(fx->r.status, VR_STATUS_NORMAL);
	assert_int_equal(fx->r.log.op, 1);
	assert_int_equal(vr_log_entry(&fx->r, 1)->checksum, other[0].checksum);
	assert_int_equal(fx->write_count, 1); /* the chosen log and the view, in one write */
	fx_assert_install(&fx->writes[0], 0, 1, 1, 4, 4, VR_STATUS_NORMAL);
	assert_int_equal(fx->writes[0].last_checksum, other[0].checksum);
	assert_int_equal(fx->sent_count, 0);

	fx_persist_all(fx);
	assert_int_equal(fx->sent_count, 2);
	fx_assert_send(fx, 0, VR_START_VIEW, 0, 4);
	fx_assert_send(fx, 1, VR_START_VIEW, 2, 4);
	assert_int_equal(fx->sent[0].m.op, 1);
	assert_int_equal(fx->sent[0].m.entry_count, 1);
	assert_int_equal(fx->sent[0].last_checksum, other[0].checksum);
	assert_int_equal(fx->apply_count, 0);
}

static void test_new_primary_keeps_own_longer_log(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[3];

	fx_chain(log, 1, 3, 0);
	fx_backup_with_log(fx, 1, log, 3);
	fx_svc(fx, 2, 1);
	fx_persist_all(fx);
	fx_reset(fx);

	/* Same v', shorter log: the own log stays, nothing is rewritten. */
	struct vr_message dvc = fx_log_message(VR_DO_VIEW_CHANGE, 2, 1, log, 2, 0);
	fx_deliver(fx, &dvc);
	assert_int_equal(fx->r.status, VR_STATUS_NORMAL);
	assert_int_equal(fx->r.log.op, 3);
	assert_int_equal(fx->write_count, 1);
	fx_assert_meta(&fx->writes[0], 1, 1, 0, VR_STATUS_NORMAL);
	fx_persist_all(fx);
	assert_int_equal(fx->sent_count, 2);
	fx_assert_send(fx, 0, VR_START_VIEW, 0, 1);
	assert_int_equal(fx->sent[0].m.op, 3);
	assert_int_equal(fx->sent[0].last_checksum, log[2].checksum);
}

static void test_new_primary_waits_for_own_dvc(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[2];

	fx_chain(log, 1, 2, 0);
	fx_backup_with_log(fx, 1, log, 2);

	/* A DVC for view 1 arrives first: view change, decide, but no NORMAL before the own DVC is durable. */
	struct vr_message dvc = fx_log_message(VR_DO_VIEW_CHANGE, 2, 1, log, 2, 0);
	fx_deliver(fx, &dvc);
	assert_int_equal(fx->r.view, 1);
	assert_int_equal(fx->r.status, VR_STATUS_VIEW_CHANGE);
	assert_int_equal(fx->write_count, 2);
	fx_assert_meta(&fx->writes[0], 1, 0, 0, VR_STATUS_VIEW_CHANGE);
	fx_assert_meta(&fx->writes[1], 1, 0, 1, VR_STATUS_VIEW_CHANGE);
	assert_int_equal(fx->sent_count, 0);
	fx_reset(fx);

	/* Durable: SVCs go out, the own DVC counts, f+1 = 2: NORMAL, STARTVIEW after the next write. */
	fx_persist_all(fx);
	assert_int_equal(fx->r.status, VR_STATUS_NORMAL);
	assert_int_equal(fx->sent_count, 2);
	fx_assert_send(fx, 0, VR_START_VIEW_CHANGE, 0, 1);
	fx_assert_send(fx, 1, VR_START_VIEW_CHANGE, 2, 1);
	assert_int_equal(fx->write_count, 1);
	fx_assert_meta(&fx->writes[0], 1, 1, 0, VR_STATUS_NORMAL);
	fx_reset(fx);
	fx_persist_all(fx);
	assert_int_equal(fx->sent_count, 2);
	fx_assert_send(fx, 0, VR_START_VIEW, 0, 1);
	fx_assert_send(fx, 1, VR_START_VIEW, 2, 1);
	fx_reset(fx);

	/* Replica 0 missed the STARTVIEW and still asks for view 1: it gets it again, alone. */
	fx_svc(fx, 0, 1);
	assert_int_equal(fx->sent_count, 1);
	fx_assert_send(fx, 0, VR_START_VIEW, 0, 1);
	assert_int_equal(fx->sent[0].m.op, 2);
	assert_int_equal(fx->sent[0].m.entry_count, 2);
	assert_int_equal(fx->sent[0].last_checksum, log[1].checksum);
	assert_int_equal(fx->write_count, 0);
	assert_int_equal(fx->r.status, VR_STATUS_NORMAL);
}

static void test_backup_start_view_installs_and_truncates(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[3];

	fx_chain(log, 1, 3, 0);
	fx_backup_with_log(fx, 2, log, 3);

	/* Into view 1 (primary 1) by replica 0's SVC; the DVC goes to replica 1 once durable. */
	fx_svc(fx, 0, 1);
	assert_int_equal(fx->r.status, VR_STATUS_VIEW_CHANGE);
	assert_int_equal(fx->sent_count, 0);
	fx_persist_all(fx);
	assert_int_equal(fx->sent_count, 3);
	fx_assert_send(fx, 0, VR_START_VIEW_CHANGE, 0, 1);
	fx_assert_send(fx, 1, VR_START_VIEW_CHANGE, 1, 1);
	fx_assert_send(fx, 2, VR_DO_VIEW_CHANGE, 1, 1);
	assert_int_equal(fx->sent[2].m.last_normal_view, 0);
	assert_int_equal(fx->sent[2].m.op, 3);
	assert_int_equal(fx->sent[2].m.commit, 0);
	assert_int_equal(fx->sent[2].m.entry_count, 3);
	assert_int_equal(fx->sent[2].last_checksum, log[2].checksum);
	fx_reset(fx);

	/* STARTVIEW with the log 1..2, k = 1: op 3 goes, durably, before the view. */
	struct vr_message sv = fx_log_message(VR_START_VIEW, 1, 1, log, 2, 1);
	fx_deliver(fx, &sv);
	assert_int_equal(fx->r.status, VR_STATUS_NORMAL);
	assert_int_equal(fx->r.view, 1);
	assert_int_equal(fx->r.last_normal_view, 1);
	assert_int_equal(fx->r.log.op, 2);
	assert_int_equal(fx->write_count, 1); /* op 3 removed and view 1 recorded atomically */
	fx_assert_install(&fx->writes[0], 2, 0, 0, 1, 1, VR_STATUS_NORMAL);
	assert_int_equal(fx->apply_count, 1); /* op 1 was durable already */
	fx_assert_applied(fx, 0, 1, false);
	assert_int_equal(fx->reply_count, 0);
	assert_int_equal(fx->sent_count, 0); /* no PREPAREOK before the view is durable */
	fx_reset(fx);

	fx_persist_all(fx);
	assert_int_equal(fx->sent_count, 1);
	fx_assert_send(fx, 0, VR_PREPARE_OK, 1, 1);
	assert_int_equal(fx->sent[0].m.op, 2);
}

static void test_backup_start_view_replaces_divergent_suffix(void **state)
{
	struct fx *fx = *state;
	struct vr_entry own[3], sv_log[3];

	fx_chain(own, 1, 3, 0);
	sv_log[0] = own[0];
	fx_chain(sv_log, 2, 3, 1); /* ops 2..3 assigned in view 1: differ from own */
	fx_backup_with_log(fx, 2, own, 3);
	fx_svc(fx, 0, 1);
	fx_persist_all(fx);
	fx_reset(fx);

	struct vr_message sv = fx_log_message(VR_START_VIEW, 1, 1, sv_log, 3, 1);
	fx_deliver(fx, &sv);
	assert_int_equal(fx->write_count, 1);
	fx_assert_install(&fx->writes[0], 1, 2, 3, 1, 1, VR_STATUS_NORMAL);
	assert_int_equal(fx->writes[0].last_checksum, sv_log[2].checksum);
	assert_int_equal(vr_log_entry(&fx->r, 2)->checksum, sv_log[1].checksum);
	assert_int_equal(fx->sent_count, 0);
	fx_persist_all(fx);
	assert_int_equal(fx->sent_count, 1);
	fx_assert_send(fx, 0, VR_PREPARE_OK, 1, 1);
	assert_int_equal(fx->sent[0].m.op, 3);
}

static void test_recovering_takes_no_part_in_view_changes(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[2];

	fx_chain(log, 1, 2, 4);
	fx_init_recovering(fx, 1);
	fx_persist_all(fx);
	fx_reset(fx);

	fx_svc(fx, 0, 5);
	struct vr_message dvc = fx_log_message(VR_DO_VIEW_CHANGE, 2, 4, log, 2, 0);
	dvc.last_normal_view = 3;
	fx_deliver(fx, &dvc);
	struct vr_message sv = fx_log_message(VR_START_VIEW, 2, 5, log, 2, 0);
	fx_deliver(fx, &sv);
	fx_prepare(fx, 2, 5, &log[0], 0);
	fx_assert_no_effects(fx);
	assert_int_equal(fx->r.status, VR_STATUS_RECOVERING);
	assert_int_equal(fx->r.view, 0);
	assert_int_equal(fx->r.log.op, 0);

	/* Ticks resend only RECOVERY. */
	fx_tick(fx, 20);
	assert_true(fx->sent_count > 0);
	for (size_t i = 0; i < fx->sent_count; i++)
		assert_int_equal(fx->sent[i].m.command, VR_RECOVERY);
	assert_int_equal(fx->write_count, 0);
	assert_int_equal(fx->r.status, VR_STATUS_RECOVERING);
}

/* ---- Recovery after a lost disk (§6) ------------------------------------------------ */

static void test_recovery_nonce_and_completion(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[4];

	fx_chain(log, 1, 4, 3);
	fx_init_recovering(fx, 1);
	assert_int_equal(fx->r.status, VR_STATUS_RECOVERING);
	assert_int_equal(fx->write_count, 1);
	fx_assert_meta(&fx->writes[0], 0, 0, 0, VR_STATUS_RECOVERING);
	assert_int_equal(fx->sent_count, 2);
	fx_assert_send(fx, 0, VR_RECOVERY, 0, 0);
	fx_assert_send(fx, 1, VR_RECOVERY, 2, 0);
	uint64_t nonce = fx->sent[0].m.nonce;
	assert_int_not_equal(nonce, 0);
	assert_int_equal(fx->sent[1].m.nonce, nonce);
	fx_persist_all(fx);
	fx_reset(fx);

	/* Another nonce: ignored, even from the primary with its log. */
	struct vr_message stale = fx_log_message(VR_RECOVERY_RESPONSE, 0, 3, log, 3, 2);
	stale.nonce = nonce + 2;
	fx_deliver(fx, &stale);
	fx_assert_no_effects(fx);
	assert_int_equal(fx->r.status, VR_STATUS_RECOVERING);
	assert_int_equal(fx->note_count, 1);
	assert_string_equal(fx->notes[0], "recovery_response: other nonce");

	/* Replica 2, a backup of view 3: no log; one response is not f+1. */
	struct vr_message backup = { .command = VR_RECOVERY_RESPONSE, .replica = 2, .view = 3, .nonce = nonce };
	fx_deliver(fx, &backup);
	fx_assert_no_effects(fx);
	assert_int_equal(fx->r.status, VR_STATUS_RECOVERING);

	/*
	 * primary(3) = 0 with its log 1..3, k = 2: recovery completes in view 3 (log installed,
	 * NORMAL, voter from view 5) and at once asks for view 5, the first it may vote in (§6.2).
	 */
	struct vr_message primary = fx_log_message(VR_RECOVERY_RESPONSE, 0, 3, log, 3, 2);
	primary.nonce = nonce;
	fx_deliver(fx, &primary);
	assert_int_equal(fx->r.log.op, 3);
	assert_int_equal(vr_log_entry(&fx->r, 3)->checksum, log[2].checksum);
	assert_int_equal(fx->r.last_normal_view, 3);
	assert_int_equal(fx->r.voter_view, 5);
	assert_int_equal(fx->r.view, 5);
	assert_int_equal(fx->r.status, VR_STATUS_VIEW_CHANGE);
	assert_int_equal(fx->write_count, 2);
	fx_assert_install(&fx->writes[0], 0, 1, 3, 3, 3, VR_STATUS_NORMAL);
	assert_int_equal(fx->writes[0].meta.voter_view, 5);
	fx_assert_meta(&fx->writes[1], 5, 3, 0, VR_STATUS_VIEW_CHANGE);
	assert_int_equal(fx->writes[1].meta.voter_view, 5);
	assert_int_equal(fx->sent_count, 0);
	fx_reset(fx);

	/* Durable: SVC for view 5; no PREPAREOK, nothing executed outside NORMAL. */
	fx_persist_all(fx);
	assert_int_equal(fx->sent_count, 2);
	fx_assert_send(fx, 0, VR_START_VIEW_CHANGE, 0, 5);
	fx_assert_send(fx, 1, VR_START_VIEW_CHANGE, 2, 5);
	assert_int_equal(fx->apply_count, 0);
	assert_int_equal(fx->reply_count, 0);
	fx_reset(fx);

	/* View 3 is behind it now: its PREPAREs are dropped. */
	fx_prepare(fx, 0, 3, &log[3], 2);
	fx_assert_no_effects(fx);
	assert_int_equal(fx->r.log.op, 3);

	/* STARTVIEW of view 5 (primary 2): NORMAL, executes to k = 2, acks op 4 once durable. */
	struct vr_message sv = fx_log_message(VR_START_VIEW, 2, 5, log, 4, 2);
	fx_deliver(fx, &sv);
	assert_int_equal(fx->r.status, VR_STATUS_NORMAL);
	assert_int_equal(fx->r.view, 5);
	assert_int_equal(fx->write_count, 1);
	fx_assert_install(&fx->writes[0], 3, 4, 4, 5, 5, VR_STATUS_NORMAL);
	assert_int_equal(fx->apply_count, 2);
	fx_assert_applied(fx, 0, 1, false);
	fx_assert_applied(fx, 1, 2, false);
	assert_int_equal(fx->sent_count, 0);
	fx_persist_all(fx);
	assert_int_equal(fx->sent_count, 1);
	fx_assert_send(fx, 0, VR_PREPARE_OK, 2, 5);
	assert_int_equal(fx->sent[0].m.op, 4);
	assert_int_equal(fx->reply_count, 0);
}

static void test_recovery_waits_for_primary_of_largest_view(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[4];

	fx_chain(log, 1, 4, 3);
	fx_init_recovering(fx, 1);
	uint64_t nonce = fx->sent[0].m.nonce;
	fx_persist_all(fx);
	fx_reset(fx);

	/* primary(3) answers, then replica 2 says view 6 (a backup there): the view-3 log is stale. */
	struct vr_message p3 = fx_log_message(VR_RECOVERY_RESPONSE, 0, 3, log, 3, 2);
	p3.nonce = nonce;
	fx_deliver(fx, &p3);
	struct vr_message b6 = { .command = VR_RECOVERY_RESPONSE, .replica = 2, .view = 6, .nonce = nonce };
	fx_deliver(fx, &b6);
	fx_assert_no_effects(fx);
	assert_int_equal(fx->r.status, VR_STATUS_RECOVERING);

	/* primary(6) = 0 answers in view 6: recovery in view 6, voter from 8. */
	struct vr_message p6 = fx_log_message(VR_RECOVERY_RESPONSE, 0, 6, log, 4, 3);
	p6.nonce = nonce;
	fx_deliver(fx, &p6);
	assert_int_equal(fx->r.last_normal_view, 6);
	assert_int_equal(fx->r.voter_view, 8);
	assert_int_equal(fx->r.view, 8);
	assert_int_equal(fx->r.status, VR_STATUS_VIEW_CHANGE);
	assert_int_equal(fx->r.log.op, 4);
	assert_int_equal(fx->write_count, 2);
	fx_assert_install(&fx->writes[0], 0, 1, 4, 6, 6, VR_STATUS_NORMAL);
	fx_assert_meta(&fx->writes[1], 8, 6, 0, VR_STATUS_VIEW_CHANGE);
}

static void test_primary_forgets_acks_of_recovering_replica(void **state)
{
	struct fx *fx = *state;

	fx_init(fx, 0);
	struct vr_message req = fx_request(7, VR_KIND_REGISTER, 0, 0, NULL);
	fx_deliver(fx, &req);
	fx_prepare_ok(fx, 1, 0, 1); /* before the primary's own copy is durable */
	fx_reset(fx);

	/* Replica 1 lost its disk: its ack no longer holds op 1. The primary answers with its log. */
	struct vr_message rec = { .command = VR_RECOVERY, .replica = 1, .nonce = 77 };
	fx_deliver(fx, &rec);
	assert_int_equal(fx->sent_count, 1);
	fx_assert_send(fx, 0, VR_RECOVERY_RESPONSE, 1, 0);
	assert_int_equal(fx->sent[0].m.nonce, 77);
	assert_int_equal(fx->sent[0].m.op, 1);
	assert_int_equal(fx->sent[0].m.commit, 0);
	assert_int_equal(fx->sent[0].m.entry_count, 1);
	fx_reset(fx);

	fx_persist_all(fx);
	fx_assert_no_effects(fx);
	assert_int_equal(fx->r.commit, 0);

	fx_prepare_ok(fx, 2, 0, 1);
	assert_int_equal(fx->r.commit, 1);
	assert_int_equal(fx->reply_count, 1);
	fx_assert_reply(fx, 0, 7, VR_REPLY_OK, 0, 1);
}

/* ---- Restart with the disk intact (§6.3) -------------------------------------------- */

static void test_restart_normal_backup_rejoins_its_view(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[4];
	struct vr_meta meta = { .view = 2, .last_normal_view = 2, .status = VR_STATUS_NORMAL };

	fx_chain(log, 1, 4, 2);
	fx_restart(fx, 1, &meta, log, 3, 1);
	fx_assert_no_effects(fx);
	assert_int_equal(fx->r.view, 2);
	assert_int_equal(fx->r.status, VR_STATUS_NORMAL);
	assert_int_equal(fx->r.log.op, 3);
	assert_int_equal(fx->r.commit, 1);

	/*
	 * It is a backup of view 2: takes primary 2's PREPARE of op 4. Its first input acks what its
	 * disk holds (1..3); op 4 is acked once durable.
	 */
	fx_prepare(fx, 2, 2, &log[3], 1);
	assert_int_equal(fx->write_count, 1);
	fx_assert_log_write(&fx->writes[0], 4, 4);
	assert_int_equal(fx->sent_count, 1);
	fx_assert_send(fx, 0, VR_PREPARE_OK, 2, 2);
	assert_int_equal(fx->sent[0].m.op, 3);
	fx_reset(fx);
	fx_persist_all(fx);
	assert_int_equal(fx->sent_count, 1);
	fx_assert_send(fx, 0, VR_PREPARE_OK, 2, 2);
	assert_int_equal(fx->sent[0].m.op, 4);
	assert_int_equal(fx->r.status, VR_STATUS_NORMAL);
	assert_int_equal(fx->r.view, 2);
}

static void test_restart_primary_starts_view_change(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[2];
	struct vr_meta meta = { .view = 1, .last_normal_view = 1, .status = VR_STATUS_NORMAL };

	fx_chain(log, 1, 2, 1);
	fx_restart(fx, 1, &meta, log, 2, 1);
	assert_int_equal(fx->r.view, 2);
	assert_int_equal(fx->r.status, VR_STATUS_VIEW_CHANGE);
	assert_int_equal(fx->r.last_normal_view, 1);
	assert_int_equal(fx->write_count, 1);
	fx_assert_meta(&fx->writes[0], 2, 1, 0, VR_STATUS_VIEW_CHANGE);
	assert_int_equal(fx->sent_count, 0);

	fx_persist_all(fx);
	assert_int_equal(fx->sent_count, 2);
	fx_assert_send(fx, 0, VR_START_VIEW_CHANGE, 0, 2);
	fx_assert_send(fx, 1, VR_START_VIEW_CHANGE, 2, 2);
}

static void test_restart_in_view_change_resends_dvc(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[2];
	struct vr_meta meta = {
		.view = 4, .last_normal_view = 2, .dvc_view = 4, .dvc_op = 2, .status = VR_STATUS_VIEW_CHANGE
	};

	fx_chain(log, 1, 2, 2);
	meta.dvc_head = log[1].checksum;
	fx_restart(fx, 2, &meta, log, 2, 1);
	assert_int_equal(fx->r.view, 4);
	assert_int_equal(fx->r.status, VR_STATUS_VIEW_CHANGE);
	assert_int_equal(fx->write_count, 0);

	fx_tick(fx, 1);
	assert_int_equal(fx->write_count, 0); /* the DVC is on disk already */
	assert_int_equal(fx->sent_count, 3);
	fx_assert_send(fx, 0, VR_START_VIEW_CHANGE, 0, 4);
	fx_assert_send(fx, 1, VR_START_VIEW_CHANGE, 1, 4);
	fx_assert_send(fx, 2, VR_DO_VIEW_CHANGE, 1, 4);
	assert_int_equal(fx->sent[2].m.last_normal_view, 2);
	assert_int_equal(fx->sent[2].m.op, 2);
	assert_int_equal(fx->sent[2].m.commit, 1);
	assert_int_equal(fx->sent[2].m.entry_count, 2);
	assert_int_equal(fx->sent[2].last_checksum, log[1].checksum);
}

static void test_restart_in_view_change_without_dvc_waits_for_svc(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[2];
	struct vr_meta meta = { .view = 4, .last_normal_view = 2, .dvc_view = 0, .status = VR_STATUS_VIEW_CHANGE };

	fx_chain(log, 1, 2, 2);
	fx_restart(fx, 2, &meta, log, 2, 1);
	fx_tick(fx, 1);
	assert_int_equal(fx->sent_count, 2); /* SVCs only */
	fx_assert_send(fx, 0, VR_START_VIEW_CHANGE, 0, 4);
	fx_assert_send(fx, 1, VR_START_VIEW_CHANGE, 1, 4);
	assert_int_equal(fx->write_count, 0);
	fx_reset(fx);

	fx_svc(fx, 0, 4);
	assert_int_equal(fx->write_count, 1);
	fx_assert_meta(&fx->writes[0], 4, 2, 4, VR_STATUS_VIEW_CHANGE);
	assert_int_equal(fx->writes[0].meta.dvc_op, 2);
	assert_int_equal(fx->writes[0].meta.dvc_head, log[1].checksum);
	assert_int_equal(fx->sent_count, 0);
	fx_persist_all(fx);
	assert_int_equal(fx->sent_count, 1);
	fx_assert_send(fx, 0, VR_DO_VIEW_CHANGE, 1, 4);
	assert_int_equal(fx->sent[0].m.last_normal_view, 2);
}

static void test_restart_refuses_log_that_differs_from_its_dvc(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[3];
	struct vr_config c;
	struct vr_io io = fx_io(fx);
	struct vr_client_slot clients[FX_CLIENTS];
	struct vr_meta meta = {
		.view = 4, .last_normal_view = 2, .dvc_view = 4, .dvc_op = 3, .status = VR_STATUS_VIEW_CHANGE
	};
	struct vr_durable d = { .log = log, .first = 1, .commit = 1, .clients = clients, .client_count = FX_CLIENTS };

	/* The DVC decided for view 4 had op 3; the log on disk ends at 2. Only a damaged disk does
	 * that (the log changes after a DVC only with the INSTALL that ends the view change). */
	fx_chain(log, 1, 3, 2);
	memset(clients, 0, sizeof(clients));
	meta.dvc_head = log[2].checksum;
	d.meta = meta;
	d.op = 2;
	fx_config(&c, 2);
	assert_int_equal(vr_init(&fx->r, &c, &io, &d), -EINVAL);
	fx_assert_no_effects(fx);

	/* The same head but another checksum: refused too. */
	d.op = 3;
	d.meta.dvc_head = log[1].checksum;
	assert_int_equal(vr_init(&fx->r, &c, &io, &d), -EINVAL);

	/* A NORMAL status whose v' is not its view (I3): refused. */
	struct vr_meta normal = { .view = 2, .last_normal_view = 1, .status = VR_STATUS_NORMAL };
	d.meta = normal;
	assert_int_equal(vr_init(&fx->r, &c, &io, &d), -EINVAL);
	fx_assert_no_effects(fx);
}

static void test_restart_non_voter_asks_for_voter_view(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[4];
	struct vr_meta meta = { .view = 3, .last_normal_view = 3, .voter_view = 5, .status = VR_STATUS_NORMAL };

	/* Recovered in view 3 (voter from 5), crashed before asking for view 5: it asks on restart. */
	fx_chain(log, 1, 4, 3);
	fx_restart(fx, 1, &meta, log, 3, 2);
	assert_int_equal(fx->r.status, VR_STATUS_VIEW_CHANGE);
	assert_int_equal(fx->r.view, 5);
	assert_int_equal(fx->r.last_normal_view, 3);
	assert_int_equal(fx->write_count, 1);
	fx_assert_meta(&fx->writes[0], 5, 3, 0, VR_STATUS_VIEW_CHANGE);
	assert_int_equal(fx->writes[0].meta.voter_view, 5);
	fx_persist_all(fx);
	fx_tick(fx, 1);
	assert_int_equal(fx->sent_count, 2);
	fx_assert_send(fx, 0, VR_START_VIEW_CHANGE, 0, 5);
	fx_assert_send(fx, 1, VR_START_VIEW_CHANGE, 2, 5);
	fx_reset(fx);

	/* View 5 = voter_view: after STARTVIEW it acknowledges. */
	struct vr_message sv = fx_log_message(VR_START_VIEW, 2, 5, log, 4, 3);
	fx_deliver(fx, &sv);
	assert_int_equal(fx->r.status, VR_STATUS_NORMAL);
	fx_persist_all(fx);
	assert_int_equal(fx->sent_count, 1);
	fx_assert_send(fx, 0, VR_PREPARE_OK, 2, 5);
	assert_int_equal(fx->sent[0].m.op, 4);
}

/* ---- State transfer (§7) ------------------------------------------------------------ */

static void test_catch_up_from_prepare_of_later_view(void **state)
{
	struct fx *fx = *state;
	struct vr_entry own[2], v4[3];

	fx_chain(own, 1, 2, 0);
	v4[0] = own[0];
	fx_chain(v4, 2, 3, 4); /* view 4's log: op 1 as here, ops 2..3 new */
	fx_backup_with_log(fx, 2, own, 2);
	fx_commit(fx, 0, 0, 1, 2);
	assert_int_equal(fx->r.commit, 1);
	fx_reset(fx);

	/* PREPARE of view 4 from its primary (1): CATCHING_UP, GETSTATE ⟨4, commit⟩ to replica 1. */
	fx_prepare(fx, 1, 4, &v4[2], 2);
	assert_int_equal(fx->r.status, VR_STATUS_CATCHING_UP);
	assert_int_equal(fx->r.view, 0);
	assert_int_equal(fx->r.last_normal_view, 0);
	assert_int_equal(fx->r.log.op, 2);
	assert_int_equal(fx->write_count, 0);
	assert_int_equal(fx->sent_count, 1);
	fx_assert_send(fx, 0, VR_GET_STATE, 1, 4);
	assert_int_equal(fx->sent[0].m.op, 1);
	fx_reset(fx);

	/* NEWSTATE ⟨4, log 2..3, n = 3, k = 2⟩. */
	struct vr_message ns = {
		.command = VR_NEW_STATE,
		.replica = 1,
		.view = 4,
		.op = 3,
		.commit = 2,
		.entry_count = 2,
		.entries = &v4[1],
	};
	fx_deliver(fx, &ns);
	assert_int_equal(fx->r.status, VR_STATUS_NORMAL);
	assert_int_equal(fx->r.view, 4);
	assert_int_equal(fx->r.last_normal_view, 4);
	assert_int_equal(fx->r.log.op, 3);
	assert_int_equal(vr_log_entry(&fx->r, 2)->checksum, v4[1].checksum);
	assert_int_equal(fx->write_count, 1);
	fx_assert_install(&fx->writes[0], 1, 2, 3, 4, 4, VR_STATUS_NORMAL);
	assert_int_equal(fx->sent_count, 0);
	assert_int_equal(fx->apply_count, 0);

	fx_persist_all(fx);
	assert_int_equal(fx->apply_count, 1);
	fx_assert_applied(fx, 0, 2, false);
	assert_int_equal(fx->applied[0].client_id, v4[1].client_id);
	assert_int_equal(fx->sent_count, 1);
	fx_assert_send(fx, 0, VR_PREPARE_OK, 1, 4);
	assert_int_equal(fx->sent[0].m.op, 3);
}

static void test_catch_up_from_commit_of_later_view(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[2];

	fx_chain(log, 1, 2, 0);
	fx_backup_with_log(fx, 2, log, 2);

	fx_commit(fx, 0, 3, 2, 2);
	assert_int_equal(fx->r.status, VR_STATUS_CATCHING_UP);
	assert_int_equal(fx->r.view, 0);
	assert_int_equal(fx->apply_count, 0); /* a later view's commit says nothing about this log */
	assert_int_equal(fx->write_count, 0);
	assert_int_equal(fx->sent_count, 1);
	fx_assert_send(fx, 0, VR_GET_STATE, 0, 3);
	assert_int_equal(fx->sent[0].m.op, 0);

	/* No PREPAREOK while catching up, even for a duplicate PREPARE of view 3. */
	fx_reset(fx);
	fx_prepare(fx, 0, 3, &log[1], 1);
	assert_int_equal(fx->sent_count, 0);
	assert_int_equal(fx->r.status, VR_STATUS_CATCHING_UP);
}

/* ---- Malformed input: -EBADMSG, no effect ------------------------------------------- */

static void test_bad_unknown_command(void **state)
{
	struct fx *fx = *state;
	struct vr_message m = { .command = 0, .replica = 1 };

	fx_init(fx, 0);
	fx_assert_bad(fx, &m, "message: unknown command");
	m.command = 200;
	fx_assert_bad(fx, &m, "message: unknown command");
	m.command = VR_REPLY;
	fx_assert_bad(fx, &m, "message: replica got a reply");
}

static void test_bad_sender(void **state)
{
	struct fx *fx = *state;
	struct vr_message m = { .command = VR_PREPARE_OK, .replica = 9, .view = 0, .op = 0 };

	fx_init(fx, 0);
	fx_assert_bad(fx, &m, "message: sender out of range");
	m.replica = 3;
	fx_assert_bad(fx, &m, "message: sender out of range");
	m.replica = 0;
	fx_assert_bad(fx, &m, "message: from self");
}

static void test_bad_prepare_entry_count(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[2];

	fx_chain(log, 1, 2, 0);
	fx_init(fx, 1);
	struct vr_message m = { .command = VR_PREPARE, .replica = 0, .view = 0, .op = 1, .commit = 0 };
	fx_assert_bad(fx, &m, "prepare: entries do not end at op");
	m.entry_count = 2; /* a batch of ops 1..2 that claims to end at 1 */
	m.entries = log;
	fx_assert_bad(fx, &m, "prepare: entries do not end at op");
	m.entry_count = 1;
	m.op = 2; /* the entry is op 1 */
	fx_assert_bad(fx, &m, "prepare: entries do not end at op");
	m.op = 1;
	m.commit = 1;
	fx_assert_bad(fx, &m, "prepare: commit not below its ops");
	m.entry_count = 2; /* a batch 1..2 whose commit-number is inside it */
	m.op = 2;
	fx_assert_bad(fx, &m, "prepare: commit not below its ops");
}

/* §9.6: requests that arrive together leave in one PREPARE per backup, at most batch_max ops
 * each, only when the driver flushes; the backups' cumulative acks commit them all. */
static void test_primary_batches_requests(void **state)
{
	struct fx *fx = *state;

	fx_init(fx, 0);
	fx->r.config.batch_max = 3;
	for (uint64_t c = 7; c < 7 + FX_CLIENTS; c++) {
		fx_register(fx, c); /* ops 1..4 */
		vr_prepare_flush(&fx->r);
	}
	assert_int_equal(fx->r.commit, 4);
	fx_reset(fx);

	for (uint64_t c = 7; c < 7 + FX_CLIENTS; c++) {
		struct vr_message op = fx_request(c, VR_KIND_OP, c - 6, 1, "x");
		fx_deliver(fx, &op);
	}
	assert_int_equal(fx->r.log.op, 8);
	assert_int_equal(fx->write_count, 4); /* each logged and persisted at once */
	assert_int_equal(fx->sent_count, 0);  /* but not sent */

	vr_prepare_flush(&fx->r);
	assert_int_equal(fx->sent_count, 4); /* ops 5..7 and op 8, to each backup */
	for (size_t i = 0; i < 4; i++) {
		fx_assert_send(fx, i, VR_PREPARE, i < 2 ? 1 : 2, 0);
		assert_int_equal(fx->sent[i].first_op, i % 2 ? 8 : 5);
		assert_int_equal(fx->sent[i].m.op, i % 2 ? 8 : 7);
		assert_int_equal(fx->sent[i].m.commit, 4);
	}
	fx_reset(fx);
	vr_prepare_flush(&fx->r); /* nothing new: nothing sent */
	assert_int_equal(fx->sent_count, 0);

	fx_persist_all(fx);
	fx_prepare_ok(fx, 2, 0, 8);
	assert_int_equal(fx->r.commit, 8);
	assert_int_equal(fx->reply_count, 4);
}

/* Without batching (batch_max 1) each request's PREPARE leaves at once, as before. */
static void test_primary_unbatched_sends_at_once(void **state)
{
	struct fx *fx = *state;

	fx_init(fx, 0);
	fx->r.config.batch_max = 1;
	struct vr_message m = fx_request(7, VR_KIND_REGISTER, 0, 0, NULL);
	fx_deliver(fx, &m);
	assert_int_equal(fx->sent_count, 2);
	fx_assert_send(fx, 0, VR_PREPARE, 1, 0);
	fx_assert_send(fx, 1, VR_PREPARE, 2, 0);
	assert_int_equal(fx->sent[0].m.entry_count, 1);
}

/* A backup takes a batch like the PREPAREs of its ops one by one: what it holds already is a
 * duplicate, the rest is appended in one write and acknowledged once durable. */
static void test_backup_takes_a_batch(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[4];

	fx_chain(log, 1, 4, 0);
	fx_init(fx, 1);
	fx_prepare(fx, 0, 0, &log[0], 0);
	fx_persist_all(fx);
	fx_reset(fx);

	struct vr_message m = {
		.command = VR_PREPARE, .replica = 0, .view = 0, .op = 4, .commit = 0, .entry_count = 4, .entries = log
	};
	fx_deliver(fx, &m);
	assert_int_equal(fx->r.log.op, 4);
	assert_int_equal(fx->write_count, 1);
	fx_assert_log_write(&fx->writes[0], 2, 4);
	fx_persist_all(fx);
	fx_assert_send(fx, fx->sent_count - 1, VR_PREPARE_OK, 0, 0);
	assert_int_equal(fx->sent[fx->sent_count - 1].m.op, 4);

	/* A batch that starts beyond the log leaves a gap: nothing appended, state wanted. */
	struct vr_entry more[8];
	fx_chain(more, 1, 8, 0);
	fx_reset(fx);
	m = (struct vr_message){ .command = VR_PREPARE,
		                 .replica = 0,
		                 .view = 0,
		                 .op = 8,
		                 .commit = 0,
		                 .entry_count = 2,
		                 .entries = &more[6] };
	fx_deliver(fx, &m);
	fx_tick(fx, 1); /* the request may wait one tick */
	assert_int_equal(fx->r.log.op, 4);
	assert_int_equal(fx->write_count, 0);
	fx_assert_send(fx, fx->sent_count - 1, VR_GET_STATE, 0, 0);
}

static void test_bad_entry_checksum(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[1];

	fx_chain(log, 1, 1, 0);
	log[0].checksum ^= 1;
	fx_init(fx, 1);
	struct vr_message m = {
		.command = VR_PREPARE, .replica = 0, .view = 0, .op = 1, .entry_count = 1, .entries = log
	};
	fx_assert_bad(fx, &m, "entries: bad checksum");

	fx_chain(log, 1, 1, 0);
	log[0].request = 9; /* changed after the checksum */
	fx_assert_bad(fx, &m, "entries: bad checksum");
}

static void test_bad_entries_not_contiguous(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[3], gap[2];

	fx_chain(log, 1, 3, 0);
	gap[0] = log[0];
	gap[1] = log[2];
	fx_init(fx, 1);
	struct vr_message m = fx_log_message(VR_START_VIEW, 2, 2, gap, 2, 0);
	m.op = 3;
	fx_assert_bad(fx, &m, "entries: not contiguous");

	struct vr_message zero = fx_log_message(VR_START_VIEW, 2, 2, log, 1, 0);
	struct vr_entry e0 = log[0];
	e0.op = 0;
	e0.checksum = vr_entry_checksum(&e0);
	zero.entries = &e0;
	fx_assert_bad(fx, &zero, "entries: not contiguous");
}

static void test_bad_entries_broken_chain(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[3];

	fx_chain(log, 1, 3, 0);
	log[1].parent = 12345;
	log[1].checksum = vr_entry_checksum(&log[1]); /* valid alone, but not chained onto op 1 */
	log[2].parent = log[1].checksum;
	log[2].checksum = vr_entry_checksum(&log[2]);
	fx_init(fx, 1);
	struct vr_message m = fx_log_message(VR_START_VIEW, 2, 2, log, 3, 0);
	fx_assert_bad(fx, &m, "entries: broken chain");
}

static void test_bad_body_too_large(void **state)
{
	struct fx *fx = *state;
	static const uint8_t big[33] = { 0 };
	struct vr_entry e;

	fx_init(fx, 0);
	fx_entry(&e, 1, 0, NULL);
	e.body = big;
	e.body_len = sizeof(big);
	e.checksum = vr_entry_checksum(&e);
	struct vr_message m = fx_log_message(VR_DO_VIEW_CHANGE, 1, 3, &e, 1, 0);
	fx_assert_bad(fx, &m, "entries: body too large");

	struct vr_message req = fx_request(7, VR_KIND_OP, 1, 1, NULL);
	req.body = big;
	req.body_len = sizeof(big);
	fx_assert_bad(fx, &req, "request: body too large");
	req.body = NULL;
	req.body_len = 1;
	fx_assert_bad(fx, &req, "request: body too large");
}

static void test_bad_too_many_entries(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[65];

	fx_chain(log, 1, 65, 0);
	fx_init(fx, 1);
	struct vr_message m = fx_log_message(VR_START_VIEW, 2, 2, log, 65, 0);
	fx_assert_bad(fx, &m, "message: too many entries");
	struct vr_message none = { .command = VR_NEW_STATE, .replica = 0, .view = 0, .op = 1, .entry_count = 1 };
	fx_assert_bad(fx, &none, "message: too many entries"); /* entries missing */
}

static void test_bad_request(void **state)
{
	struct fx *fx = *state;

	fx_init(fx, 0);
	struct vr_message m = fx_request(0, VR_KIND_REGISTER, 0, 0, NULL);
	fx_assert_bad(fx, &m, "request: client id 0");
	m = fx_request(7, 0, 0, 0, NULL);
	fx_assert_bad(fx, &m, "request: unknown kind");
	m = fx_request(7, VR_KIND_RECONFIGURE + 1, 0, 0, NULL);
	fx_assert_bad(fx, &m, "request: unknown kind");
}

static void test_bad_entry_kind(void **state)
{
	struct fx *fx = *state;
	struct vr_entry e;

	fx_entry(&e, 1, 0, NULL);
	e.kind = VR_KIND_RECONFIGURE + 1;
	e.checksum = vr_entry_checksum(&e);
	fx_init(fx, 1);
	struct vr_message m = {
		.command = VR_PREPARE, .replica = 0, .view = 0, .op = 1, .entry_count = 1, .entries = &e
	};
	fx_assert_bad(fx, &m, "entries: unknown kind");
}

static void test_bad_log_messages(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[3];

	fx_chain(log, 1, 3, 0);
	fx_init(fx, 1);

	/* A DVC of a log that ends at 3 without entries. */
	struct vr_message dvc = fx_log_message(VR_DO_VIEW_CHANGE, 2, 4, log, 3, 0);
	dvc.entry_count = 0;
	dvc.entries = NULL;
	fx_assert_bad(fx, &dvc, "log message: no entries");

	/* n does not match the entries. */
	dvc = fx_log_message(VR_DO_VIEW_CHANGE, 2, 4, log, 3, 0);
	dvc.op = 2;
	fx_assert_bad(fx, &dvc, "log message: log does not end at op");

	/* v' not below v. */
	dvc = fx_log_message(VR_DO_VIEW_CHANGE, 2, 4, log, 3, 0);
	dvc.last_normal_view = 4;
	fx_assert_bad(fx, &dvc, "do_view_change: v' not below v");

	/* k above n. */
	struct vr_message sv = fx_log_message(VR_START_VIEW, 2, 2, log, 3, 4);
	fx_assert_bad(fx, &sv, "log message: commit above op");

	/* NEWSTATE whose entries end above n (a part may end below it, §9.4), or with k above n. */
	struct vr_message ns = {
		.command = VR_NEW_STATE, .replica = 0, .view = 0, .op = 1, .entry_count = 2, .entries = log
	};
	fx_assert_bad(fx, &ns, "new_state: log ends above op");
	ns.op = 2;
	ns.commit = 3;
	fx_assert_bad(fx, &ns, "new_state: commit above op");
}

/* Regression: a NEWSTATE whose first new entry does not chain onto the log reached an ASSERT. */
static void test_new_state_that_does_not_chain_is_dropped(void **state)
{
	struct fx *fx = *state;
	struct vr_entry own[2], other[3];

	fx_chain(own, 1, 2, 0);
	fx_chain(other, 1, 3, 5); /* op 3's parent is other[1], not own[1] */
	fx_backup_with_log(fx, 1, own, 2);
	struct vr_message ns = {
		.command = VR_NEW_STATE, .replica = 0, .view = 0, .op = 3, .entry_count = 1, .entries = &other[2]
	};
	fx_deliver(fx, &ns);
	fx_assert_no_effects(fx);
	assert_int_equal(fx->r.log.op, 2);
	assert_int_equal(fx->r.drops, 1);
}

/* Regression: a NEWSTATE reaching past the log capacity reached an ASSERT. Now: more entries
 * than the log holds are refused; a log that starts past this replica's asks for a checkpoint. */
static void test_new_state_beyond_capacity_is_rejected(void **state)
{
	struct fx *fx = *state;
	static struct vr_entry log[FX_LOG_MAX];

	fx_chain(log, 1, FX_LOG_MAX, 0);
	fx_init(fx, 2);
	struct vr_message ns = { .command = VR_NEW_STATE,
		                 .replica = 0,
		                 .view = 0,
		                 .op = 66, /* log_capacity is 64 */
		                 .entry_count = 65,
		                 .entries = &log[1] };
	fx_assert_bad(fx, &ns, "message: too many entries");

	ns.op = 70;
	ns.entry_count = 10;
	ns.entries = &log[60];
	fx_reset(fx);
	fx_deliver(fx, &ns);
	assert_int_equal(fx->r.log.op, 0);
	assert_int_equal(fx->snapshot_count, 1);
	assert_int_equal(fx->snapshot_min, 60); /* state up to 60 joins a log that starts at 61 */
	assert_int_equal(fx->snapshot_view, 0);
}

/* ---- Checkpoints (log truncation) ---------------------------------------------------- */

/* More than twice checkpoint_ops committed: all but the newest checkpoint_ops go, in one
 * TRUNCATE write; a GETSTATE from before the checkpoint gets the log from its first entry. */
static void test_checkpoint_truncates_the_log(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[12];

	fx_chain(log, 1, 12, 0);
	fx->checkpoint_ops = 4;
	fx_backup_with_log(fx, 1, log, 12);
	fx_commit(fx, 0, 0, 12, 12);
	assert_int_equal(fx->r.commit, 12);
	assert_int_equal(fx->r.log.first, 9);
	assert_int_equal(fx->r.checkpoints, 1);
	assert_null(vr_log_entry(&fx->r, 8));
	assert_non_null(vr_log_entry(&fx->r, 9));
	assert_int_equal(vr_log_count(&fx->r.log), 4);
	bool truncated = false;
	for (size_t i = 0; i < fx->write_count; i++)
		if (fx->writes[i].kind == VR_WRITE_TRUNCATE) {
			assert_int_equal(fx->writes[i].op, 9);
			truncated = true;
		}
	assert_true(truncated);

	fx_reset(fx);
	struct vr_message gs = { .command = VR_GET_STATE, .replica = 2, .view = 0, .op = 3 };
	fx_deliver(fx, &gs);
	assert_int_equal(fx->sent_count, 1);
	fx_assert_send(fx, 0, VR_NEW_STATE, 2, 0);
	assert_int_equal(fx->sent[0].first_op, 9);
	assert_int_equal(fx->sent[0].last_op, 12);
}

/* A durable image whose log starts at a checkpoint restarts; one whose first entry is not
 * committed is damaged. */
static void test_restart_from_a_checkpointed_image(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[8];
	struct vr_client_slot clients[FX_CLIENTS];
	struct vr_meta meta = { .status = VR_STATUS_NORMAL };
	struct vr_config c;
	struct vr_io io = fx_io(fx);

	memset(clients, 0, sizeof(clients));
	fx_chain(log, 1, 8, 0);
	fx_config(&c, 1);
	struct vr_durable d = { .meta = meta,
		                .log = &log[4],
		                .first = 5,
		                .op = 8,
		                .commit = 6,
		                .clients = clients,
		                .client_count = FX_CLIENTS };
	assert_int_equal(vr_init(&fx->r, &c, &io, &d), 0);
	fx->initialised = true;
	assert_int_equal(fx->r.log.first, 5);
	assert_int_equal(fx->r.log.op, 8);
	assert_null(vr_log_entry(&fx->r, 4));
	assert_int_equal(vr_log_entry(&fx->r, 8)->checksum, log[7].checksum);
	vr_deinit(&fx->r);
	fx->initialised = false;

	d.first = 7; /* above commit */
	d.log = &log[6];
	assert_int_equal(vr_init(&fx->r, &c, &io, &d), -EINVAL);
}

/* A STARTVIEW whose log starts past this replica's: catch up (GETSTATE from commit), not install. */
static void test_start_view_past_the_log_catches_up(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[12];

	fx_chain(log, 1, 12, 0);
	fx_backup_with_log(fx, 1, log, 2);
	struct vr_message sv = fx_log_message(VR_START_VIEW, 0, 3, &log[9], 12, 11);
	sv.entry_count = 3;
	fx_deliver(fx, &sv);
	assert_int_equal(fx->r.status, VR_STATUS_CATCHING_UP);
	assert_int_equal(fx->r.log.op, 2);
	assert_int_equal(fx->sent_count, 1);
	fx_assert_send(fx, 0, VR_GET_STATE, 0, 3);
	assert_int_equal(fx->sent[0].m.op, 0); /* from its commit */
}

/* What a replica's metadata becomes when a checkpoint of another replaces its state. */
static void test_snapshot_meta(void **state)
{
	bool stale;
	(void)state;

	struct vr_meta m = { .view = 4, .last_normal_view = 4, .status = VR_STATUS_NORMAL };
	assert_true(vr_snapshot_meta(&m, 4, &stale)); /* NORMAL in that view: stays, keeps its log */
	assert_false(stale);
	assert_int_equal(m.status, VR_STATUS_NORMAL);
	assert_int_equal(m.last_normal_view, 4);

	assert_true(vr_snapshot_meta(&m, 3, &stale)); /* an older view: stale, unchanged */
	assert_true(stale);
	assert_int_equal(m.view, 4);

	m = (struct vr_meta){
		.view = 5, .last_normal_view = 4, .dvc_view = 5, .dvc_op = 9, .status = VR_STATUS_VIEW_CHANGE
	};
	assert_false(vr_snapshot_meta(&m, 6, &stale)); /* otherwise: VIEW_CHANGE, ranked below any normal log */
	assert_false(stale);
	assert_int_equal(m.view, 6);
	assert_int_equal(m.status, VR_STATUS_VIEW_CHANGE);
	assert_int_equal(m.last_normal_view, 0);
	assert_int_equal(m.dvc_view, 0);

	m = (struct vr_meta){ .view = 2, .status = VR_STATUS_RECOVERING };
	assert_true(vr_snapshot_meta(&m, 7, &stale)); /* recovery runs again */
	assert_int_equal(m.status, VR_STATUS_RECOVERING);
	assert_int_equal(m.view, 2);
}

/* ---- Reads (read barrier) ------------------------------------------------------------ */

/* A read at the primary waits for f backups to acknowledge a COMMIT sent after it began. */
static void test_read_waits_for_the_barrier(void **state)
{
	struct fx *fx = *state;
	struct vr_read rd;

	fx_init(fx, 0);
	fx_persist_all(fx);
	fx_reset(fx);
	assert_int_equal(vr_read_begin(&fx->r, &rd), 0);
	assert_int_equal(rd.view, 0);
	assert_int_equal(rd.nonce, 1);
	assert_int_equal(fx->sent_count, 2); /* COMMIT with the barrier to both backups */
	fx_assert_send(fx, 0, VR_COMMIT, 1, 0);
	assert_int_equal(fx->sent[0].m.nonce, 1);
	assert_int_equal(vr_read_ready(&fx->r, &rd), 0);

	struct vr_message never = { .command = VR_COMMIT_OK, .replica = 2, .view = 0, .nonce = 9 };
	fx_deliver(fx, &never); /* a barrier never sent: dropped */
	assert_int_equal(vr_read_ready(&fx->r, &rd), 0);
	struct vr_message other = { .command = VR_COMMIT_OK, .replica = 2, .view = 1, .nonce = 1 };
	fx_deliver(fx, &other); /* another view: dropped */
	assert_int_equal(vr_read_ready(&fx->r, &rd), 0);

	struct vr_message ok = { .command = VR_COMMIT_OK, .replica = 1, .view = 0, .nonce = 1 };
	fx_deliver(fx, &ok);
	assert_int_equal(vr_read_ready(&fx->r, &rd), 1); /* f = 1 backup and the primary */

	/* A later read needs a later acknowledgement. */
	struct vr_read later;
	assert_int_equal(vr_read_begin(&fx->r, &later), 0);
	assert_int_equal(vr_read_ready(&fx->r, &later), 0);

	/* A view change ends every read in progress. */
	fx_svc(fx, 1, 1);
	assert_int_equal(vr_read_ready(&fx->r, &later), -ESTALE);
	assert_int_equal(vr_read_begin(&fx->r, &later), -EAGAIN);
}

/* §9.7: the acknowledgement of a heartbeat's barrier is a lease; with f of them the primary
 * serves reads at once, for lease * (1 - drift) / (1 + drift) from when it sent the barrier. */
static void test_primary_lease_reads(void **state)
{
	struct fx *fx = *state;
	struct vr_read rd;

	fx->lease_ns = 1000;
	fx->drift_ppm = 100000; /* 10%: held for 1000 * 0.9 / 1.1 = 818 */
	fx_init(fx, 0);
	fx->mono = 100;
	fx_tick(fx, 1); /* the first heartbeat: barrier 1, sent at 100 */
	assert_int_equal(fx->sent_count, 2);
	fx_assert_send(fx, 0, VR_COMMIT, 1, 0);
	assert_int_equal(fx->sent[0].m.nonce, 1);
	assert_false(vr_lease_held(&fx->r));
	fx_reset(fx);

	/* No lease yet: a barrier read. */
	assert_int_equal(vr_read_begin(&fx->r, &rd), 0);
	assert_false(rd.lease);
	assert_int_equal(fx->sent_count, 2);
	fx_reset(fx);

	struct vr_message ok = { .command = VR_COMMIT_OK, .replica = 1, .view = 0, .nonce = 1 };
	fx->mono = 300;
	fx_deliver(fx, &ok); /* an acknowledgement that grants no lease (op 0) */
	assert_false(vr_lease_held(&fx->r));
	ok.op = 1000; /* the lease granted, ns */
	fx_deliver(fx, &ok);
	assert_true(vr_lease_held(&fx->r)); /* f = 1 */
	assert_int_equal(vr_read_begin(&fx->r, &rd), 0);
	assert_true(rd.lease);
	assert_int_equal(fx->sent_count, 0); /* no message */
	assert_int_equal(vr_read_ready(&fx->r, &rd), 1);
	assert_int_equal(fx->r.lease_reads, 1);

	fx->mono = 100 + 817;
	assert_true(vr_lease_held(&fx->r));
	fx->mono = 100 + 818; /* expired on the primary's clock: barrier reads again */
	assert_false(vr_lease_held(&fx->r));
	assert_int_equal(vr_read_begin(&fx->r, &rd), 0);
	assert_false(rd.lease);
	assert_int_equal(vr_read_ready(&fx->r, &rd), 0);

	/* A later heartbeat renews it; a view change ends it, and a read begun under it. */
	fx_tick(fx, 5);
	assert_true(fx->r.read_nonce >= 3);
	ok.nonce = fx->r.read_nonce;
	fx_deliver(fx, &ok);
	assert_true(vr_lease_held(&fx->r));
	assert_int_equal(vr_read_begin(&fx->r, &rd), 0);
	assert_true(rd.lease);
	fx_svc(fx, 1, 1);
	assert_false(vr_lease_held(&fx->r));
	assert_int_equal(vr_read_ready(&fx->r, &rd), -ESTALE);
}

/* §9.7 rule 2: a backup that granted a lease decides no DVC until it expired on its clock;
 * a replica that starts waits one lease too, since it may have granted one it forgot. */
static void test_lease_delays_the_dvc(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[2];

	fx->lease_ns = 1000;
	fx->drift_ppm = 100000;
	fx_chain(log, 1, 2, 0);
	fx->mono = 0;
	fx_backup_with_log(fx, 1, log, 2); /* started at 0: no DVC before 1000 */

	fx->mono = 1500;
	struct vr_message c = { .command = VR_COMMIT, .replica = 0, .view = 0, .commit = 2, .op = 2, .nonce = 4 };
	fx_deliver(fx, &c); /* granted until 2500 */
	fx_assert_send(fx, fx->sent_count - 1, VR_COMMIT_OK, 0, 0);
	assert_int_equal(fx->sent[fx->sent_count - 1].m.op, 1000);

	/* Replica 2 starts view 1, whose primary is this replica: no DVC, own or sent. */
	struct vr_message dvc = fx_log_message(VR_DO_VIEW_CHANGE, 2, 1, log, 2, 0);
	fx_deliver(fx, &dvc);
	for (int i = 0; i < 3; i++) {
		fx_persist_all(fx);
		fx_tick(fx, 1);
	}
	assert_int_equal(fx->r.status, VR_STATUS_VIEW_CHANGE);
	assert_false(fx->r.dvc_decided);
	fx->mono = 2499;
	fx_tick(fx, 1);
	assert_false(fx->r.dvc_decided);

	/* Expired: the DVC is decided, and with replica 2's the view starts. */
	fx->mono = 2500;
	for (int i = 0; i < 3 && fx->r.status != VR_STATUS_NORMAL; i++) {
		fx_tick(fx, 1);
		fx_persist_all(fx);
	}
	assert_int_equal(fx->r.status, VR_STATUS_NORMAL);
	assert_int_equal(fx->r.view, 1);
}

/* §9.8: a read at a backup waits until the backup applied the client's min_op; it holds
 * across view changes; a recovering replica serves none. */
static void test_local_read_at_a_backup(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[3];
	struct vr_read rd;

	fx_chain(log, 1, 3, 0);
	fx_backup_with_log(fx, 1, log, 3);
	fx_commit(fx, 0, 0, 1, 3);
	assert_int_equal(fx->r.commit, 1);
	assert_int_equal(vr_read_begin(&fx->r, &rd), -EAGAIN); /* linearizable: the primary's */
	assert_int_equal(vr_read_begin_local(&fx->r, &rd, 2), 0);
	assert_true(rd.local);
	assert_int_equal(vr_read_ready(&fx->r, &rd), 0);
	fx_commit(fx, 0, 0, 2, 3);
	assert_int_equal(vr_read_ready(&fx->r, &rd), 1);
	fx_svc(fx, 2, 1); /* a view change does not end it: the state only grows */
	assert_int_equal(vr_read_ready(&fx->r, &rd), 1);

	fx_teardown(state);
	fx_setup(state);
	fx = *state;
	fx_init_recovering(fx, 1);
	assert_int_equal(vr_read_begin_local(&fx->r, &rd, 0), -EAGAIN);
}

/* A backup acknowledges a COMMIT only when it carries a barrier, and only in its normal view. */
static void test_backup_acknowledges_barriers(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[2];
	struct vr_read rd;

	fx_chain(log, 1, 2, 0);
	fx_backup_with_log(fx, 1, log, 2);
	assert_int_equal(vr_read_begin(&fx->r, &rd), -EAGAIN); /* not the primary */

	struct vr_message c = { .command = VR_COMMIT, .replica = 0, .view = 0, .commit = 0, .op = 2 };
	fx_deliver(fx, &c);
	assert_int_equal(fx->sent_count, 0);
	c.nonce = 7;
	fx_deliver(fx, &c);
	assert_int_equal(fx->sent_count, 1);
	fx_assert_send(fx, 0, VR_COMMIT_OK, 0, 0);
	assert_int_equal(fx->sent[0].m.nonce, 7);
}

static void test_bad_epoch(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[1];

	fx_chain(log, 1, 1, 0);
	fx_init(fx, 1);
	struct vr_message commit = { .command = VR_COMMIT, .replica = 0, .view = 0, .commit = 0, .epoch = 1 };
	fx_assert_bad(fx, &commit, "message: other epoch");
	struct vr_message prepare = {
		.command = VR_PREPARE, .replica = 0, .view = 0, .op = 1, .entry_count = 1, .entries = log, .epoch = 7
	};
	fx_assert_bad(fx, &prepare, "message: other epoch");
}

/* §10.2: a RECONFIGURE request is the epoch's last op: nothing is taken after it; executed, it
 * is an up-call, the primary announces its commit, and the replica is inert. */
static void test_reconfigure_ends_the_epoch(void **state)
{
	struct fx *fx = *state;

	fx_init(fx, 0);
	uint64_t s7 = fx_register(fx, 7), s8 = fx_register(fx, 8);
	fx_reset(fx);
	struct vr_message rc = fx_request(7, VR_KIND_RECONFIGURE, s7, 1, "a\nb");
	fx_deliver(fx, &rc);
	uint64_t n = fx->r.log.op;
	assert_int_equal(vr_log_entry(&fx->r, n)->kind, VR_KIND_RECONFIGURE);
	assert_true(vr_reconfiguring(&fx->r));

	/* Another client's request is not logged while the RECONFIGURE is in flight. */
	struct vr_message op = fx_request(8, VR_KIND_OP, s8, 1, "x");
	fx_deliver(fx, &op);
	assert_int_equal(fx->r.log.op, n);

	fx_persist_all(fx);
	fx_reset(fx);
	fx_prepare_ok(fx, 1, 0, n);
	assert_int_equal(fx->r.commit, n);
	assert_int_equal(fx->r.epoch_end, n);
	assert_int_equal(fx->apply_count, 1);
	fx_assert_applied(fx, 0, n, true);
	fx_assert_reply(fx, 0, 7, VR_REPLY_OK, 1, n);
	/* The COMMIT of it goes out at once, to both backups. */
	size_t commits = 0;
	for (size_t i = 0; i < fx->sent_count; i++)
		if (fx->sent[i].m.command == VR_COMMIT && fx->sent[i].m.commit == n)
			commits++;
	assert_int_equal(commits, 2);

	/* Inert: no message, tick or request changes anything. */
	fx_reset(fx);
	fx_deliver(fx, &op);
	fx_tick(fx, 100);
	fx_assert_no_effects(fx);
	assert_int_equal(fx->r.log.op, n);
}

/* A backup that holds the RECONFIGURE entry learns from another epoch's member that it is
 * committed (vr_epoch_commit): it executes up to it and ends its epoch too. */
static void test_epoch_commit_by_checksum(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[3];

	fx_chain(log, 1, 3, 0);
	log[2].kind = VR_KIND_RECONFIGURE;
	log[2].checksum = vr_entry_checksum(&log[2]);
	fx_backup_with_log(fx, 1, log, 3);
	assert_int_equal(vr_epoch_commit(&fx->r, 3, log[2].checksum ^ 1), -ENOENT); /* another log */
	assert_int_equal(vr_epoch_commit(&fx->r, 2, log[1].checksum), -ENOENT);     /* not a RECONFIGURE */
	assert_int_equal(fx->r.commit, 0);
	assert_int_equal(vr_epoch_commit(&fx->r, 3, log[2].checksum), 0);
	assert_int_equal(fx->r.commit, 3);
	assert_int_equal(fx->r.epoch_end, 3);
	assert_int_equal(fx->apply_count, 3);
}

/* A primary restarted from its disk starts a view change (§6.3.3); one that begins its epoch
 * (vr_durable.epoch_start: view 0, everything committed, nothing sent yet) is primary at once. */
static void test_epoch_start_primary_takes_requests(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[3];
	struct vr_meta meta = { .status = VR_STATUS_NORMAL };
	struct vr_config c;
	struct vr_io io = fx_io(fx);
	struct vr_client_slot clients[FX_CLIENTS];

	fx_chain(log, 1, 3, 0);
	fx_restart(fx, 0, &meta, log, 3, 3);
	assert_int_equal(fx->r.status, VR_STATUS_VIEW_CHANGE);
	vr_deinit(&fx->r);
	fx->initialised = false;

	memset(clients, 0, sizeof(clients));
	fx_config(&c, 0);
	c.epoch = 1;
	c.epoch_op = 3;
	struct vr_durable d = { .meta = meta,
		                .log = log,
		                .first = 1,
		                .op = 3,
		                .commit = 3,
		                .clients = clients,
		                .client_count = FX_CLIENTS,
		                .epoch_start = true };
	assert_int_equal(vr_init(&fx->r, &c, &io, &d), 0);
	fx->initialised = true;
	assert_int_equal(fx->r.status, VR_STATUS_NORMAL);
	assert_true(vr_is_primary(&fx->r));
	fx_reset(fx);
	struct vr_message req = fx_request(7, VR_KIND_REGISTER, 0, 0, NULL);
	fx_deliver(fx, &req);
	assert_int_equal(fx->r.log.op, 4);
	fx_assert_send(fx, 0, VR_PREPARE, 1, 0);
	assert_int_equal(fx->sent[0].m.epoch, 1);
}

/* Messages carry the replica's epoch, and those of another epoch are dropped; clients know none. */
static void test_epoch_stamped_and_filtered(void **state)
{
	struct fx *fx = *state;
	struct vr_config c;

	fx_config(&c, 0);
	c.epoch = 4;
	struct vr_io io = fx_io(fx);
	assert_int_equal(vr_init(&fx->r, &c, &io, NULL), 0);
	fx->initialised = true;
	struct vr_message req = fx_request(7, VR_KIND_REGISTER, 0, 0, NULL);
	fx_deliver(fx, &req); /* epoch 0: a client's */
	assert_int_equal(fx->r.log.op, 1);
	assert_int_equal(fx->sent[0].m.epoch, 4);
	struct vr_message ok = { .command = VR_PREPARE_OK, .replica = 1, .view = 0, .op = 1 };
	fx_assert_bad(fx, &ok, "message: other epoch");
	ok.epoch = 4;
	fx_persist_all(fx);
	fx_deliver(fx, &ok);
	assert_int_equal(fx->r.commit, 1);
}

/* ---- Witnesses (§9.5) ------------------------------------------------------------------ */

/* Views go round the full replicas; a configuration keeps f+1 of them. */
static void test_witness_primaries_and_config(void **state)
{
	struct fx *fx = *state;
	struct vr_config c;
	struct vr_io io = fx_io(fx);
	static const uint8_t three[] = { 0, 1, 0, 1 }, five[] = { 0, 2, 4, 0 };

	for (uint64_t v = 0; v < 4; v++) {
		assert_int_equal(vr_primary_index(v, 3, 0), v % 3);
		assert_int_equal(vr_primary_index(v, 3, 1u << 2), three[v]);
		assert_int_equal(vr_primary_index(v, 5, (1u << 1) | (1u << 3)), five[v]);
	}
	fx_config(&c, 0);
	c.witnesses = (1u << 1) | (1u << 2); /* two of three: one full replica */
	assert_int_equal(vr_init(&fx->r, &c, &io, NULL), -EINVAL);
	c.witnesses = 1u << 3; /* no replica 3 */
	assert_int_equal(vr_init(&fx->r, &c, &io, NULL), -EINVAL);
	c.witnesses = 1u << 2;
	c.log_bytes_max = 1024; /* a byte bound without checkpoints never makes room */
	assert_int_equal(vr_init(&fx->r, &c, &io, NULL), -EINVAL);
	c.checkpoint_ops = 4;
	assert_int_equal(vr_init(&fx->r, &c, &io, NULL), 0);
	fx->initialised = true;
}

/* A witness logs and acknowledges, but executes no op: no up-call, and no reads. */
static void test_witness_executes_nothing(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[3];
	struct vr_read rd;

	fx->witnesses = 1u << 2;
	fx_chain(log, 1, 3, 0);
	log[1].kind = VR_KIND_OP; /* op 2: a request of the session op 1 registered */
	log[1].client_id = log[0].client_id;
	log[1].session = 1;
	log[1].request = 1;
	log[1].checksum = vr_entry_checksum(&log[1]);
	log[2].parent = log[1].checksum;
	log[2].kind = VR_KIND_RECONFIGURE;
	log[2].client_id = log[0].client_id;
	log[2].session = 1;
	log[2].request = 2;
	log[2].checksum = vr_entry_checksum(&log[2]);
	fx_backup_with_log(fx, 2, log, 3);
	fx_commit(fx, 0, 0, 3, 3);
	assert_int_equal(fx->r.commit, 3);
	assert_int_equal(fx->apply_count, 3);
	fx_assert_applied(fx, 0, 1, false);
	fx_assert_applied(fx, 1, 2, false); /* a full replica makes this one an up-call */
	fx_assert_applied(fx, 2, 3, true);  /* the RECONFIGURE: its configuration is recorded */
	assert_int_equal(fx->r.epoch_end, 3);
	assert_int_equal(vr_read_begin_local(&fx->r, &rd, 0), -EAGAIN);
}

/* Logs are truncated only up to hold, what every full replica holds; a witness right up to it. */
static void test_witness_truncates_only_to_hold(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[8];
	struct vr_message c = { .command = VR_COMMIT, .replica = 0, .view = 0, .commit = 8, .op = 8 };

	fx->witnesses = 1u << 2;
	fx->checkpoint_ops = 2;
	fx_chain(log, 1, 8, 0);
	fx_backup_with_log(fx, 2, log, 8);
	fx_deliver(fx, &c); /* committed, but no full replica said to hold anything */
	assert_int_equal(fx->r.commit, 8);
	assert_int_equal(fx->r.log.first, 1);
	c.hold = 5;
	fx_deliver(fx, &c);
	assert_int_equal(fx->r.log.first, 5);
	assert_int_equal(fx->write_count, 1);
	assert_int_equal(fx->writes[0].kind, VR_WRITE_TRUNCATE);
	assert_int_equal(fx->writes[0].op, 5);
	c.hold = 4; /* hold never goes back */
	fx_deliver(fx, &c);
	assert_int_equal(fx->r.hold, 5);
	assert_int_equal(fx->r.log.first, 5);

	/* A full replica keeps its checkpoint_ops, and never truncates past hold either. */
	vr_deinit(&fx->r);
	fx->initialised = false;
	fx_backup_with_log(fx, 1, log, 8);
	c.hold = 1;
	fx_deliver(fx, &c);
	assert_int_equal(fx->r.log.first, 1);
	c.hold = 8;
	fx_deliver(fx, &c);
	assert_int_equal(fx->r.log.first, 7);
}

/* The primary finds hold from the full replicas' PREPAREOKs alone, and sends it in COMMIT. */
static void test_primary_finds_hold(void **state)
{
	struct fx *fx = *state;

	fx->witnesses = 1u << 2;
	fx_init(fx, 0);
	struct vr_message m = fx_request(7, VR_KIND_REGISTER, 0, 0, NULL);
	fx_deliver(fx, &m);
	fx_persist_all(fx);
	fx_prepare_ok(fx, 2, 0, 1); /* the witness: committed, but replica 1 may lack it */
	assert_int_equal(fx->r.commit, 1);
	assert_int_equal(fx->r.hold, 0);
	fx_prepare_ok(fx, 1, 0, 1);
	assert_int_equal(fx->r.hold, 1);
	fx_reset(fx);
	fx_tick(fx, 5);
	assert_true(fx->sent_count >= 2);
	fx_assert_send(fx, 0, VR_COMMIT, 1, 0);
	assert_int_equal(fx->sent[0].m.hold, 1);
}

/* A new primary whose own log starts long before the chosen one (which would not fit the window
 * from the own first entry) executes and truncates up to the chosen log's first entry, which it
 * holds, instead of waiting for a view it could never complete either. */
static void test_new_primary_trims_to_the_chosen_log(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[FX_LOG_MAX];

	fx_chain(log, 1, 75, 0);
	fx_backup_with_log(fx, 1, log, 40);
	fx_svc(fx, 0, 1);
	fx_persist_all(fx); /* its own DVC (v' 0, op 40) */
	struct vr_message dvc = { .command = VR_DO_VIEW_CHANGE,
		                  .replica = 2,
		                  .view = 1,
		                  .last_normal_view = 0,
		                  .op = 75,
		                  .commit = 30,
		                  .nonce = log[29].checksum,
		                  .entry_count = 46,
		                  .entries = &log[29] };
	fx_deliver(fx, &dvc);
	assert_int_equal(fx->r.status, VR_STATUS_NORMAL);
	assert_int_equal(fx->r.log.first, 30);
	assert_int_equal(fx->r.log.op, 75);
	assert_true(fx->r.commit >= 30);
}

/* The entries that ended the epoch, from a replica of the next one (a witness has no checkpoint
 * to give), join the log where they chain on; the epoch then ends once they are durable. */
static void test_epoch_entries_end_the_epoch(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[5], other[5];

	fx_chain(log, 1, 5, 0);
	log[4].kind = VR_KIND_RECONFIGURE;
	log[4].checksum = vr_entry_checksum(&log[4]);
	memcpy(other, log, sizeof(other));
	other[1].timestamp++; /* another log from op 2 on */
	fx_chain(other, 2, 5, 0);
	fx_backup_with_log(fx, 1, log, 2);
	assert_int_equal(vr_epoch_entries(&fx->r, &log[2], 2), -EINVAL); /* does not end at a RECONFIGURE */
	assert_int_equal(vr_epoch_entries(&fx->r, &other[2], 3), -EINVAL);
	other[4].kind = VR_KIND_RECONFIGURE;
	other[4].checksum = vr_entry_checksum(&other[4]);
	assert_int_equal(vr_epoch_entries(&fx->r, &other[3], 2), -ENOENT); /* another log: no join */
	assert_int_equal(vr_epoch_entries(&fx->r, &log[2], 3), 0);
	assert_int_equal(fx->r.log.op, 5);
	assert_int_equal(vr_epoch_commit(&fx->r, 5, log[4].checksum), -EAGAIN); /* not durable yet */
	fx_persist_all(fx);
	assert_int_equal(vr_epoch_commit(&fx->r, 5, log[4].checksum), 0);
	assert_int_equal(fx->r.commit, 5);
	assert_int_equal(fx->r.epoch_end, 5);
}

/* §9.4: with parts, a DVC carries the newest part of its sender's log; the new primary asks that
 * sender for the entries below (GET_LOG) until the chosen log joins its own, then installs it. */
static void test_new_primary_fetches_the_chosen_log_in_parts(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[FX_LOG_MAX];

	fx->part_ops = 4;
	fx_chain(log, 1, 20, 0);
	fx_backup_with_log(fx, 1, log, 5);
	fx_commit(fx, 0, 0, 3, 5);
	assert_int_equal(fx->r.commit, 3);
	fx_svc(fx, 0, 1);
	fx_persist_all(fx); /* its own DVC (v' 0, op 5) */
	fx_reset(fx);
	struct vr_message dvc = { .command = VR_DO_VIEW_CHANGE,
		                  .replica = 2,
		                  .view = 1,
		                  .op = 20,
		                  .commit = 12,
		                  .nonce = log[11].checksum,
		                  .entry_count = 4,
		                  .entries = &log[16] };
	fx_deliver(fx, &dvc);
	/* 17..20 does not join 1..5: the part below, 13..16, from replica 2. */
	assert_int_equal(fx->r.status, VR_STATUS_VIEW_CHANGE);
	fx_assert_send(fx, 0, VR_GET_LOG, 2, 1);
	assert_int_equal(fx->sent[0].m.op, 16);
	assert_int_equal(fx->sent[0].m.commit, 3);
	/* Asked once; again only after resend_ticks. */
	fx_reset(fx);
	fx_tick(fx, 1);
	assert_int_equal(fx->sent_count, 0);
	/* A part that does not end just below the candidate is dropped; one that does is taken. */
	struct vr_message part = {
		.command = VR_LOG, .replica = 2, .view = 1, .op = 15, .entry_count = 4, .entries = &log[11]
	};
	fx_deliver(fx, &part);
	assert_int_equal(fx->r.candidate.first, 17);
	part.op = 16, part.entries = &log[12];
	fx_deliver(fx, &part);
	assert_int_equal(fx->r.candidate.first, 13);
	assert_int_equal(fx->r.log_parts, 1);
	fx_assert_send(fx, 0, VR_GET_LOG, 2, 1);
	assert_int_equal(fx->sent[0].m.op, 12);
	/* Its SVCs, resent, show the others how far it has come (they do not time out meanwhile). */
	fx_reset(fx);
	fx_tick(fx, fx->r.config.resend_ticks);
	bool progress = false;
	for (size_t i = 0; i < fx->sent_count; i++)
		progress |= fx->sent[i].m.command == VR_START_VIEW_CHANGE && fx->sent[i].m.op == 13;
	assert_true(progress);
	fx_reset(fx);
	/* 4..12 would do, but the asker wants only what is above its commit: 9..12, then 5..8, which
	 * joins at op 5 (equal entries). */
	part.op = 12, part.entries = &log[8];
	fx_deliver(fx, &part);
	assert_int_equal(fx->r.status, VR_STATUS_VIEW_CHANGE);
	part.op = 8, part.entries = &log[4];
	fx_deliver(fx, &part);
	assert_int_equal(fx->r.status, VR_STATUS_NORMAL);
	assert_int_equal(fx->r.log.op, 20);
	assert_int_equal(vr_log_entry(&fx->r, 9)->checksum, log[8].checksum);
	assert_int_equal(fx->r.log_parts, 3);
}

/* §9.4: the sender of a DVC answers GET_LOG only in VIEW_CHANGE of that view with its DVC
 * decided (its log is then the DVC's), with the newest part above the asker's commit. */
static void test_get_log_answered_only_with_the_dvc_decided(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[FX_LOG_MAX];

	fx->part_ops = 3;
	fx_chain(log, 1, 10, 0);
	fx_backup_with_log(fx, 2, log, 10);
	struct vr_message get = { .command = VR_GET_LOG, .replica = 1, .view = 1, .op = 8, .commit = 2 };
	fx_deliver(fx, &get);
	assert_int_equal(fx->sent_count, 0); /* NORMAL in view 0 */
	fx_svc(fx, 0, 1);
	fx_persist_all(fx); /* f = 1 SVC from another: its DVC is decided, and durable */
	fx_reset(fx);
	get.view = 2;
	fx_deliver(fx, &get);
	assert_int_equal(fx->sent_count, 0); /* another view */
	get.view = 1;
	get.replica = 0;
	fx_deliver(fx, &get);
	assert_int_equal(fx->sent_count, 0); /* not from the view's primary */
	get.replica = 1;
	fx_deliver(fx, &get);
	fx_assert_send(fx, 0, VR_LOG, 1, 1);
	assert_int_equal(fx->sent[0].first_op, 6);
	assert_int_equal(fx->sent[0].last_op, 8);
	get.op = 4; /* not above 2 by more than a part */
	fx_deliver(fx, &get);
	fx_assert_send(fx, 1, VR_LOG, 1, 1);
	assert_int_equal(fx->sent[1].first_op, 3);
	assert_int_equal(fx->sent[1].last_op, 4);
	get.op = 11; /* beyond the log */
	fx_deliver(fx, &get);
	assert_int_equal(fx->sent_count, 2);
	/* The new primary's SVC shows progress: the view change is not timed out meanwhile. */
	fx_tick(fx, 50);
	uint64_t deadline = fx->r.view_change_deadline;
	struct vr_message svc = { .command = VR_START_VIEW_CHANGE, .replica = 1, .view = 1, .op = 6 };
	fx_deliver(fx, &svc);
	assert_true(fx->r.view_change_deadline > deadline);
	deadline = fx->r.view_change_deadline;
	fx_tick(fx, 1);
	fx_deliver(fx, &svc); /* no further progress */
	assert_int_equal(fx->r.view_change_deadline, deadline);
}

/*
 * Body cache: bodies are dropped once written and read back for execution and messages; a
 * new primary's candidate log is kept aside by the driver (STAGE) as its parts arrive, and
 * installed from there: the INSTALL carries the entries without their bodies.
 */
static void test_body_cache(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[FX_LOG_MAX];

	fx->part_ops = 4;
	fx->cache_bytes = 1;
	fx_chain(log, 1, 20, 0);
	fx_backup_with_log(fx, 1, log, 5);
	assert_int_equal(fx->r.log.held, 0); /* written: nothing held */
	fx_commit(fx, 0, 0, 3, 5);
	assert_int_equal(fx->r.commit, 3);
	assert_int_equal(fx->r.bodies_read, 3); /* executed with their bodies (fx_on_apply checks) */
	fx_svc(fx, 0, 1);
	fx_persist_all(fx);
	fx_reset(fx);
	struct vr_message dvc = { .command = VR_DO_VIEW_CHANGE,
		                  .replica = 2,
		                  .view = 1,
		                  .op = 20,
		                  .commit = 12,
		                  .nonce = log[11].checksum,
		                  .entry_count = 4,
		                  .entries = &log[16] };
	fx_deliver(fx, &dvc);
	assert_int_equal(fx->stage_writes, 1);
	assert_int_equal(fx->writes[0].kind, VR_WRITE_STAGE);
	assert_int_equal(fx->writes[0].op, 1); /* a new candidate: the old one forgotten */
	assert_int_equal(fx->r.candidate.held, 0);
	for (uint64_t op = 16; op >= 8; op -= 4) {
		struct vr_message part = {
			.command = VR_LOG, .replica = 2, .view = 1, .op = op, .entry_count = 4, .entries = &log[op - 4]
		};
		fx_deliver(fx, &part);
	}
	assert_int_equal(fx->r.status, VR_STATUS_NORMAL);
	assert_int_equal(fx->stage_writes, 5); /* three parts, then forgotten after the INSTALL */
	const struct fx_write *install = &fx->writes[fx->write_count - 2];
	assert_int_equal(install->kind, VR_WRITE_INSTALL);
	assert_int_equal(install->first_op, 6);
	assert_int_equal(install->last_op, 20);
	assert_int_equal(fx->bodiless_written, 15); /* 6..20, each taken from what was kept aside */
	assert_int_equal(fx->writes[fx->write_count - 1].kind, VR_WRITE_STAGE);
	assert_int_equal(fx->writes[fx->write_count - 1].op, 1);
	assert_int_equal(fx->writes[fx->write_count - 1].entry_count, 0);
	/* Its STARTVIEWs carry the newest part, and it executes 4..12: bodies read back (fx_on_send
	 * and fx_on_apply check them). */
	uint64_t read = fx->r.bodies_read;
	fx_reset(fx);
	fx_persist_all(fx);
	fx_assert_send(fx, 0, VR_START_VIEW, 0, 1);
	assert_int_equal(fx->sent[0].first_op, 17);
	assert_int_equal(fx->r.commit, 12);
	assert_int_equal(fx->r.bodies_read, read + 2 * 4 + 9);
	assert_int_equal(fx->r.log.held, 0);
}

/* §9.4 case B in parts: a replica catching up into a view gathers the NEWSTATE parts from its
 * commit on, asking for the next after each, and installs them once one ends at the view's op. */
static void test_catch_up_in_parts(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[FX_LOG_MAX], other[FX_LOG_MAX];

	fx->part_ops = 2;
	fx_chain(log, 1, 9, 0);
	memcpy(other, log, sizeof(other));
	other[3].timestamp++; /* the view's log differs from op 4 on */
	fx_chain(other, 4, 9, 1);
	fx_backup_with_log(fx, 2, log, 5);
	fx_commit(fx, 0, 0, 3, 5);
	struct vr_message sv = { .command = VR_START_VIEW,
		                 .replica = 1,
		                 .view = 1,
		                 .op = 9,
		                 .commit = 8,
		                 .entry_count = 2,
		                 .entries = &other[7] };
	fx_deliver(fx, &sv); /* 8..9 does not join: catch up from commit 3 */
	assert_int_equal(fx->r.status, VR_STATUS_CATCHING_UP);
	fx_assert_send(fx, fx->sent_count - 1, VR_GET_STATE, 1, 1);
	assert_int_equal(fx->sent[fx->sent_count - 1].m.op, 3);
	struct vr_message ns = { .command = VR_NEW_STATE,
		                 .replica = 1,
		                 .view = 1,
		                 .op = 9,
		                 .commit = 8,
		                 .entry_count = 2,
		                 .entries = &other[3] };
	for (uint64_t from = 4; from <= 8; from += 2) {
		fx_reset(fx);
		ns.entries = &other[from - 1]; /* two entries each: 4-5, 6-7, 8-9 */
		fx_deliver(fx, &ns);
		if (from < 8) {
			assert_int_equal(fx->r.status, VR_STATUS_CATCHING_UP);
			fx_assert_send(fx, 0, VR_GET_STATE, 1, 1);
			assert_int_equal(fx->sent[0].m.op, from + 1); /* after the parts held */
			assert_int_equal(fx->r.log.op, 5);            /* nothing installed yet */
		}
	}
	assert_int_equal(fx->r.status, VR_STATUS_NORMAL);
	assert_int_equal(fx->r.view, 1);
	assert_int_equal(fx->r.log.op, 9);
	assert_int_equal(vr_log_entry(&fx->r, 4)->checksum, other[3].checksum);
	assert_int_equal(fx->r.log_parts, 3);
}

/* V5: a replica that installed a checkpoint in a view change claims v' = 0, so a stale view-0
 * log with more ops outranks it. Its DVC says its entry at its commit; the chosen log differs
 * there, so it is passed over and the other log chosen. */
static void test_new_primary_passes_over_a_log_that_lacks_a_committed_op(void **state)
{
	struct fx *fx = *state;
	struct vr_entry log[FX_LOG_MAX], other[FX_LOG_MAX];

	fx_chain(log, 1, 8, 0);
	memcpy(other, log, sizeof(other));
	other[4].timestamp++; /* committed in a later view from op 5 on */
	fx_chain(other, 5, 7, 1);
	fx_backup_with_log(fx, 1, log, 8);
	fx_commit(fx, 0, 0, 4, 8);
	fx_svc(fx, 0, 1);
	fx_persist_all(fx); /* own DVC: v' 0, op 8, commit 4 */
	fx_reset(fx);
	struct vr_message dvc = { .command = VR_DO_VIEW_CHANGE,
		                  .replica = 2,
		                  .view = 1,
		                  .op = 7,
		                  .commit = 7,
		                  .nonce = other[6].checksum,
		                  .entry_count = 7,
		                  .entries = other };
	fx_deliver(fx, &dvc);
	assert_int_equal(fx->r.status, VR_STATUS_VIEW_CHANGE); /* own log chosen, then passed over */
	assert_true(fx->r.dvc[1].excluded);
	assert_false(fx->r.dvc[2].present); /* its log is asked for again: its next DVC */
	fx_deliver(fx, &dvc);
	assert_int_equal(fx->r.status, VR_STATUS_NORMAL);
	assert_int_equal(fx->r.log.op, 7);
	assert_int_equal(vr_log_entry(&fx->r, 7)->checksum, other[6].checksum);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* Normal operation: primary */
		cmocka_unit_test_setup_teardown(test_primary_commits_register_after_quorum, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_primary_counts_own_copy_only_when_durable, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_primary_drops_prepare_ok_beyond_log_or_other_view, fx_setup,
		                                fx_teardown),
		cmocka_unit_test_setup_teardown(test_session_requests_and_retries, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_register_retry_gets_same_session, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_client_table_evicts_oldest, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_primary_heartbeat_period, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_primary_resends_unacked_prepare, fx_setup, fx_teardown),
		/* Normal operation: backup */
		cmocka_unit_test_setup_teardown(test_backup_acks_prepare_only_when_durable, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_backup_duplicate_prepare, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_backup_prepare_gap_requests_state, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_backup_drops_old_view_and_wrong_sender, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_backup_commit_executes_in_order, fx_setup, fx_teardown),
		/* View change */
		cmocka_unit_test_setup_teardown(test_backup_liveness_timeout_starts_view_change, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_new_primary_equal_v_prime_longer_log_wins, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_new_primary_higher_v_prime_wins_over_longer_log, fx_setup,
		                                fx_teardown),
		cmocka_unit_test_setup_teardown(test_new_primary_keeps_own_longer_log, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_new_primary_waits_for_own_dvc, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_backup_start_view_installs_and_truncates, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_backup_start_view_replaces_divergent_suffix, fx_setup,
		                                fx_teardown),
		cmocka_unit_test_setup_teardown(test_recovering_takes_no_part_in_view_changes, fx_setup, fx_teardown),
		/* Recovery and restart */
		cmocka_unit_test_setup_teardown(test_recovery_nonce_and_completion, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_recovery_waits_for_primary_of_largest_view, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_primary_forgets_acks_of_recovering_replica, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_restart_normal_backup_rejoins_its_view, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_restart_primary_starts_view_change, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_restart_in_view_change_resends_dvc, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_restart_in_view_change_without_dvc_waits_for_svc, fx_setup,
		                                fx_teardown),
		cmocka_unit_test_setup_teardown(test_restart_refuses_log_that_differs_from_its_dvc, fx_setup,
		                                fx_teardown),
		cmocka_unit_test_setup_teardown(test_restart_non_voter_asks_for_voter_view, fx_setup, fx_teardown),
		/* State transfer */
		cmocka_unit_test_setup_teardown(test_catch_up_from_prepare_of_later_view, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_catch_up_from_commit_of_later_view, fx_setup, fx_teardown),
		/* Malformed input */
		cmocka_unit_test_setup_teardown(test_bad_unknown_command, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_sender, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_prepare_entry_count, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_primary_batches_requests, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_primary_lease_reads, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_lease_delays_the_dvc, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_local_read_at_a_backup, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_primary_unbatched_sends_at_once, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_backup_takes_a_batch, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_entry_checksum, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_entries_not_contiguous, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_entries_broken_chain, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_body_too_large, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_too_many_entries, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_request, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_entry_kind, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_log_messages, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_truncates_the_log, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_restart_from_a_checkpointed_image, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_start_view_past_the_log_catches_up, fx_setup, fx_teardown),
		cmocka_unit_test(test_snapshot_meta),
		cmocka_unit_test_setup_teardown(test_read_waits_for_the_barrier, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_backup_acknowledges_barriers, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_epoch, fx_setup, fx_teardown),
		/* Reconfiguration (§10) */
		cmocka_unit_test_setup_teardown(test_reconfigure_ends_the_epoch, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_epoch_commit_by_checksum, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_epoch_stamped_and_filtered, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_epoch_start_primary_takes_requests, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_new_state_that_does_not_chain_is_dropped, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_new_state_beyond_capacity_is_rejected, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_witness_primaries_and_config, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_witness_executes_nothing, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_witness_truncates_only_to_hold, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_primary_finds_hold, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_new_primary_trims_to_the_chosen_log, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_epoch_entries_end_the_epoch, fx_setup, fx_teardown),
		/* Logs in parts (§9.4) */
		cmocka_unit_test_setup_teardown(test_new_primary_fetches_the_chosen_log_in_parts, fx_setup,
		                                fx_teardown),
		cmocka_unit_test_setup_teardown(test_get_log_answered_only_with_the_dvc_decided, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_catch_up_in_parts, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_body_cache, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_new_primary_passes_over_a_log_that_lacks_a_committed_op, fx_setup,
		                                fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
