/*
 * vr_replica.c — the replica's skeleton: initialisation and restart (§6.3), the
 * in-memory log and its durability, execution of committed ops with the client
 * table (§4.4, §8.6), the message filters (§3), ticks, and the invariants checked
 * after every input.
 *
 * Durability model: every write goes to io.persist with a sequence number; the
 * storage makes writes durable in that order and reports the newest durable one
 * through vr_on_persisted. durable_op is the newest op whose append is durable;
 * the replica executes only up to durable_op, so commit <= durable_op always holds
 * on disk too, and acknowledges only what is durable (§9.1).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "replication/vr_internal.h"

static uint64_t vr_mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 29;
	return h;
}

uint64_t vr_entry_checksum(const struct vr_entry *e)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = vr_mix(h, e->op);
	h = vr_mix(h, e->view);
	h = vr_mix(h, e->client_id);
	h = vr_mix(h, e->session);
	h = vr_mix(h, e->request);
	h = vr_mix(h, e->timestamp);
	h = vr_mix(h, e->parent);
	h = vr_mix(h, e->kind);
	h = vr_mix(h, e->body_len);
	for (uint32_t i = 0; i < e->body_len; i++)
		h = (h ^ e->body[i]) * 0x100000001b3ULL;
	return vr_mix(h, 1);
}

const char *vr_status_name(uint8_t status)
{
	switch (status) {
	case VR_STATUS_NORMAL:
		return "normal";
	case VR_STATUS_VIEW_CHANGE:
		return "view_change";
	case VR_STATUS_RECOVERING:
		return "recovering";
	case VR_STATUS_CATCHING_UP:
		return "catching_up";
	}
	return "?";
}

const char *vr_command_name(uint8_t command)
{
	static const char *names[] = {
		"?",
		"request",
		"reply",
		"prepare",
		"prepare_ok",
		"commit",
		"start_view_change",
		"do_view_change",
		"start_view",
		"recovery",
		"recovery_response",
		"get_state",
		"new_state",
		"commit_ok",
		"get_log",
		"log",
	};
	_Static_assert(sizeof(names) / sizeof(names[0]) == VR_COMMAND_MAX + 1, "a name per command");
	return command <= VR_COMMAND_MAX ? names[command] : "?";
}

void vr_log_drop(struct vr_replica *r, const char *why)
{
	r->drops++;
	if (r->io.log)
		r->io.log(r->io.ctx, why);
}

void vr_note(struct vr_replica *r, const char *what)
{
	if (r->io.log)
		r->io.log(r->io.ctx, what);
}

/* splitmix64: timer jitter and nonces only; never part of replicated state. */
uint64_t vr_random(struct vr_replica *r)
{
	uint64_t z = (r->prng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A deadline ticks from now, stretched by up to half again so replicas do not time out together. */
uint64_t vr_jitter(struct vr_replica *r, uint32_t ticks)
{
	return r->tick + ticks + (ticks > 1 ? vr_random(r) % (ticks / 2 + 1) : 0);
}

bool vr_is_primary(const struct vr_replica *r)
{
	return vr_primary_of(r, r->view) == r->config.self;
}

/* §6.2: after recovering from a lost disk in view V the replica votes only from V+2 on. */
bool vr_is_voter(const struct vr_replica *r)
{
	return r->view >= r->voter_view;
}

const struct vr_entry *vr_log_entry(const struct vr_replica *r, uint64_t op)
{
	if (op < r->log.first || op > r->log.op)
		return NULL;
	return &r->log.entries[op - r->log.first];
}

void vr_send(struct vr_replica *r, uint8_t to, struct vr_message *m)
{
	ASSERT(to < r->config.replica_count);
	ASSERT(to != r->config.self);
	m->replica = r->config.self;
	m->epoch = r->config.epoch;
	r->io.send(r->io.ctx, to, m);
}

void vr_send_all(struct vr_replica *r, struct vr_message *m)
{
	for (uint8_t i = 0; i < r->config.replica_count; i++)
		if (i != r->config.self)
			vr_send(r, i, m);
}

static void vr_meta_fill(const struct vr_replica *r, struct vr_meta *meta);

static uint64_t vr_persist(struct vr_replica *r, struct vr_write *w)
{
	w->seq = ++r->persist_seq;
	r->io.persist(r->io.ctx, w);
	return w->seq;
}

/* Persists view, status, last_normal_view, the decided DVC and the voter rule. */
uint64_t vr_persist_meta(struct vr_replica *r)
{
	struct vr_write w = { .kind = VR_WRITE_META };

	vr_meta_fill(r, &w.meta);
	r->meta_seq = vr_persist(r, &w);
	return r->meta_seq;
}

/* True once the newest META write is durable: the replica may speak in its view. */
bool vr_meta_durable(const struct vr_replica *r)
{
#if VR_MUTANT == 7
	return true;
#endif
	return r->durable_seq >= r->meta_seq;
}

static bool vr_cached(const struct vr_replica *r)
{
	return r->config.body_cache_bytes != 0;
}

/* Does e lack its body (body cache: the driver has it)? */
static bool vr_bodiless(const struct vr_entry *e)
{
	return e->body_len && !e->body;
}

/* Frees slot x's body buffer; the slot's entry, if any, is then bodiless. */
static void vr_log_free_body(struct vr_log *log, size_t x)
{
	log->held -= log->body_cap[x];
	free(log->bodies[x]);
	log->bodies[x] = NULL;
	log->body_cap[x] = 0;
	log->entries[x].body = NULL;
}

/*
 * Bodies are held per entry, each buffer grown to the largest body it held: the log
 * holds what it needs, not capacity * body_size_max. keep: e's body (given) is held;
 * else the slot is bodiless, its buffer freed (body cache).
 */
static void vr_log_set(struct vr_log *log, uint32_t body_size_max, const struct vr_entry *e, bool keep)
{
	ASSERT(e->op >= log->first && e->op - log->first < log->capacity);
	size_t x = e->op - log->first;
	struct vr_entry *slot = &log->entries[x];

	ASSERT(e->body_len <= body_size_max);
	ASSERT(!keep || !vr_bodiless(e));
	if (!keep) {
		vr_log_free_body(log, x);
		*slot = *e;
		slot->body = NULL;
		return;
	}
	if (e->body_len > log->body_cap[x]) {
		uint8_t *body = realloc(log->bodies[x], e->body_len);
		ASSERT(body != NULL); /* out of memory: the replica cannot hold its log */
		log->held += e->body_len - log->body_cap[x];
		log->bodies[x] = body;
		log->body_cap[x] = e->body_len;
	}
	*slot = *e;
	if (e->body_len)
		memcpy(log->bodies[x], e->body, e->body_len);
	slot->body = log->bodies[x];
}

/* Reads the body of e, an own or candidate entry without it, into body (body cache). */
static void vr_read_body(struct vr_replica *r, const struct vr_entry *e, uint8_t *body)
{
	ASSERT(r->io.read_body != NULL);
	bool found = r->io.read_body(r->io.ctx, e->op, e->checksum, body, e->body_len);
	ASSERT(found); /* the driver lost a body it was given */
	r->bodies_read++;
}

/* The scratch space holds count entries and bytes of bodies. */
static void vr_scratch_reserve(struct vr_replica *r, uint32_t count, uint64_t bytes)
{
	if (count > r->scratch_cap) {
		struct vr_entry *p = realloc(r->scratch, (size_t)count * sizeof(*p));
		ASSERT(p != NULL);
		r->scratch = p;
		r->scratch_cap = count;
	}
	if (bytes > r->scratch_body_cap) {
		uint8_t *p = realloc(r->scratch_body, bytes);
		ASSERT(p != NULL);
		r->scratch_body = p;
		r->scratch_body_cap = bytes;
	}
}

/*
 * Entries from..from+count-1 of the own log with their bodies, for a message: the log's own
 * slots when it holds every body, else copies in scratch with the bodies read back (body
 * cache). Valid until the next call.
 */
const struct vr_entry *vr_log_range(struct vr_replica *r, uint64_t from, uint32_t count)
{
	const struct vr_entry *e = vr_log_entry(r, from);
	uint64_t bytes = 0;

	ASSERT(count > 0 && e != NULL && from + count - 1 <= r->log.op);
	for (uint32_t i = 0; i < count; i++)
		if (vr_bodiless(&e[i]))
			bytes += e[i].body_len;
	if (bytes == 0)
		return e;
	vr_scratch_reserve(r, count, bytes);
	uint8_t *body = r->scratch_body;
	for (uint32_t i = 0; i < count; i++) {
		r->scratch[i] = e[i];
		if (vr_bodiless(&e[i])) {
			vr_read_body(r, &e[i], body);
			r->scratch[i].body = body;
			body += e[i].body_len;
		}
	}
	return r->scratch;
}

/*
 * Body cache: once over config.body_cache_bytes, drops the bodies of the oldest written
 * entries (a RECONFIGURE's stays: the driver reads its configuration from it). An entry not
 * yet written stops it: its body is nowhere else.
 */
static void vr_cache_trim(struct vr_replica *r)
{
	struct vr_log *l = &r->log;

	if (!vr_cached(r))
		return;
	if (r->cache_from < l->first)
		r->cache_from = l->first;
	while (l->held > r->config.body_cache_bytes && r->cache_from <= l->op) {
		size_t x = r->cache_from - l->first;
		if (r->entry_seq[x] == UINT64_MAX)
			break;
		if (l->entries[x].kind != VR_KIND_RECONFIGURE && l->bodies[x])
			vr_log_free_body(l, x);
		r->cache_from++;
	}
}

/* Body cache: the driver keeps the candidate's new entries aside (fresh: forgets the old). */
static void vr_stage(struct vr_replica *r, const struct vr_entry *entries, uint32_t count, bool fresh)
{
	struct vr_write w = { .kind = VR_WRITE_STAGE, .op = fresh, .entries = entries, .entry_count = count };

	if (!vr_cached(r))
		return;
	vr_persist(r, &w);
	r->staged = count > 0 || (r->staged && !fresh);
}

/* With a body cache the candidate holds only a RECONFIGURE's body; the driver the rest. */
static bool vr_candidate_keeps(const struct vr_replica *r, const struct vr_entry *e)
{
	return !vr_cached(r) || e->kind == VR_KIND_RECONFIGURE;
}

/* Appends e as op log.op+1 in memory; the caller persists it (vr_log_persist_from). */
void vr_log_append(struct vr_replica *r, const struct vr_entry *e)
{
	ASSERT(e->op == r->log.op + 1);
	ASSERT(e->op - r->log.first < r->config.log_capacity);
	ASSERT(e->op == r->log.first || e->parent == vr_log_entry(r, e->op - 1)->checksum);
	ASSERT(vr_bodiless(e) ? vr_cached(r) && e->kind != VR_KIND_RECONFIGURE : e->checksum == vr_entry_checksum(e));
	vr_log_set(&r->log, r->config.body_size_max, e, !vr_bodiless(e));
	r->log_bytes += e->body_len;
	r->entry_seq[e->op - r->log.first] = UINT64_MAX; /* not yet written */
	r->log.op = e->op;
}

/* Issues one write of entries from..op. */
void vr_log_persist_from(struct vr_replica *r, uint64_t from)
{
	struct vr_write w = { .kind = VR_WRITE_LOG };

	ASSERT(from >= 1);
	if (from > r->log.op)
		return;
	ASSERT(from >= r->log.first);
	w.entries = &r->log.entries[from - r->log.first];
	w.entry_count = (uint32_t)(r->log.op - from + 1);
	uint64_t seq = vr_persist(r, &w);
	for (uint64_t x = from; x <= r->log.op; x++)
		r->entry_seq[x - r->log.first] = seq;
}

/* Fills the view, status and DVC fields of a META or INSTALL write. */
static void vr_meta_fill(const struct vr_replica *r, struct vr_meta *meta)
{
	/* CATCHING_UP is not durable: a restart resumes from the status it left. */
	ASSERT(r->status != VR_STATUS_CATCHING_UP);
	meta->view = r->view;
	meta->last_normal_view = r->last_normal_view;
	meta->dvc_view = r->dvc_decided ? r->view : 0;
	meta->voter_view = r->voter_view;
	meta->status = r->status;
	if (r->dvc_decided) {
		const struct vr_entry *head = vr_log_entry(r, r->log.op);
		meta->dvc_op = r->log.op;
		meta->dvc_head = head ? head->checksum : 0;
	}
}

/*
 * Makes the log (own entries below entries[0].op) + entries, ending at op, and
 * records the replica's current view and status with it in one atomic INSTALL.
 * The caller sets view, status and last_normal_view first and has checked that
 * entries chain onto the own log. Committed ops are never removed.
 */
void vr_log_install(struct vr_replica *r, const struct vr_entry *entries, uint32_t count, uint64_t op)
{
	uint64_t start = count ? entries[0].op : op + 1;
	uint64_t x = start;
	uint64_t op_before = r->log.op;
	struct vr_write w = { .kind = VR_WRITE_INSTALL };

	ASSERT(start >= r->log.first);
	ASSERT(start <= r->log.op + 1);
	ASSERT(!count || entries[count - 1].op == op);
	ASSERT(op < r->log.first || op - r->log.first < r->config.log_capacity);
	while (x <= op && x <= r->log.op && vr_log_entry(r, x)->checksum == entries[x - start].checksum)
		x++;
	if (x - 1 < r->log.op) { /* remove the rest of the own log: it differs, or it is longer */
		ASSERT(x - 1 >= r->commit);
		for (uint64_t y = x; y <= r->log.op; y++) {
			r->log_bytes -= vr_log_entry(r, y)->body_len;
			if (vr_cached(r))
				vr_log_free_body(&r->log, y - r->log.first);
		}
		r->log.op = x - 1;
		if (r->cache_from > x)
			r->cache_from = x;
		if (r->durable_op > x - 1)
			r->durable_op = x - 1;
	}
	w.op = x - 1;
	uint64_t first = x;
	for (; x <= op; x++)
		vr_log_append(r, &entries[x - start]);
	if (first <= r->log.op) {
		w.entries = &r->log.entries[first - r->log.first];
		w.entry_count = (uint32_t)(r->log.op - first + 1);
	}
	if (w.op == op_before && !w.entry_count)
		w.kind = VR_WRITE_META; /* the log is already this one: only the view changes */
	vr_meta_fill(r, &w.meta);
	uint64_t seq = vr_persist(r, &w);
	r->meta_seq = seq;
	for (uint64_t y = first; y <= r->log.op; y++)
		r->entry_seq[y - r->log.first] = seq;
	if (r->staged) /* the INSTALL took what it needed of them: any candidate is done with */
		vr_stage(r, NULL, 0, true);
}

/*
 * Becomes a NORMAL backup of view with the log (own entries below entries[0].op) + entries,
 * ending at op, of which ops up to commit are committed: STARTVIEW (§5.5), NEWSTATE after
 * catching up (§7 case B), recovery (§6.1 step 3). Log and view are one atomic write (§12.8).
 */
void vr_backup_install(struct vr_replica *r, uint64_t view, const struct vr_entry *entries, uint32_t count, uint64_t op,
                       uint64_t commit)
{
	ASSERT(view >= r->view);
	ASSERT(vr_primary_of(r, view) != r->config.self);
	r->view = view;
	r->last_normal_view = view;
	r->status = VR_STATUS_NORMAL;
	r->dvc_decided = false;
	r->state_wanted = false;
	r->state_parts = false;
	vr_log_install(r, entries, count, op);
	r->ok_sent = 0; /* acknowledge what is durable, in this view, once the view is (N1) */
	r->commit_max = commit > r->commit ? commit : r->commit;
	r->liveness_deadline = vr_jitter(r, r->config.liveness_ticks);
}

/*
 * Where a log that a message carries (entries[0..count), contiguous, hash-chained) joins
 * the own log: the index of its first entry that is new here or differs, or -1 when the
 * own log cannot be joined to it (it ends before the message's log starts, or holds other
 * entries where they must agree): the replica then needs a checkpoint (need_snapshot).
 * Equal checksums at one op mean equal logs up to there (I4), so one comparison suffices.
 */
int64_t vr_log_bridge(const struct vr_replica *r, const struct vr_entry *entries, uint32_t count)
{
	if (count == 0)
		return 0;
	uint64_t b = entries[0].op, n = entries[count - 1].op;
	uint64_t x0 = b > r->log.first ? b : r->log.first;
	if (x0 > n)
		return count; /* all of it is below the own checkpoint: committed, applied here */
	/* Too long for the log window from the own first entry: a checkpoint first. */
	if (n - r->log.first >= r->config.log_capacity)
		return -1;
	/* It must hold the own committed prefix where it covers it (a correct replica's does; a
	 * message that does not is refused here rather than reaching an ASSERT on install). */
	if (r->commit >= b && r->commit <= n && r->commit >= r->log.first &&
	    vr_log_entry(r, r->commit)->checksum != entries[r->commit - b].checksum)
		return -1;
	if (x0 <= r->log.op) {
		if (vr_log_entry(r, x0)->checksum == entries[x0 - b].checksum)
			return (int64_t)(x0 - b + 1);
		if (x0 > b)
			return -1; /* the own first entry is committed: another log there is not ours */
	}
	if (b == 1)
		return 0;
	const struct vr_entry *prev = vr_log_entry(r, b - 1);
	return prev && prev->checksum == entries[0].parent ? 0 : -1;
}

bool vr_snapshot_meta(struct vr_meta *meta, uint64_t view, bool *stale)
{
	*stale = false;
	if (meta->status == VR_STATUS_RECOVERING)
		return true;
	if (view < meta->view) {
		*stale = true;
		return true;
	}
	if (meta->status == VR_STATUS_NORMAL && meta->view == view)
		return true;
	meta->view = view;
#if VR_MUTANT == 8
	meta->last_normal_view = view; /* planted: the checkpoint alone passes for the view's whole log */
	meta->status = VR_STATUS_NORMAL;
	meta->dvc_view = meta->dvc_op = meta->dvc_head = 0;
	return false;
#endif
	meta->last_normal_view = 0;
	meta->status = VR_STATUS_VIEW_CHANGE;
	meta->dvc_view = meta->dvc_op = meta->dvc_head = 0;
	return false;
}

/* A message that no correct replica sends (it breaks a protocol invariant): dropped and
 * counted. Only a forged frame or a bug produces one; the simulator fails on any. */
void vr_violation(struct vr_replica *r, const char *why)
{
	r->violations++;
	vr_log_drop(r, why);
}

/* The replica cannot go on from its own log: ask for a checkpoint of a replica ahead. */
void vr_want_snapshot(struct vr_replica *r, uint64_t min_op, uint64_t view)
{
	vr_note(r, "state transfer: the ops needed are only in a checkpoint now: asking for one");
	if (r->io.need_snapshot)
		r->io.need_snapshot(r->io.ctx, min_op, view);
}

/* Parts (§9.4): does one more entry of body_len bytes fit a part of n entries and bytes? */
static bool vr_part_fits(const struct vr_replica *r, uint64_t n, uint64_t bytes, uint32_t body_len)
{
	if (r->config.part_ops && n + 1 > r->config.part_ops)
		return false;
	return !r->config.part_bytes || bytes + body_len <= r->config.part_bytes;
}

/* The first op of the newest part of the own log that ends at last and starts at low or later. */
uint64_t vr_part_start(const struct vr_replica *r, uint64_t low, uint64_t last)
{
	uint64_t x = last, bytes = vr_log_entry(r, last)->body_len;

	ASSERT(low >= r->log.first && low <= last && last <= r->log.op);
	while (x > low && vr_part_fits(r, last - x + 1, bytes, vr_log_entry(r, x - 1)->body_len)) {
		x--;
		bytes += vr_log_entry(r, x)->body_len;
	}
	return x;
}

/* The last op of the oldest part of the own log that starts at from and ends at last or earlier. */
uint64_t vr_part_end(const struct vr_replica *r, uint64_t from, uint64_t last)
{
	uint64_t x = from, bytes = vr_log_entry(r, from)->body_len;

	ASSERT(from >= r->log.first && from <= last && last <= r->log.op);
	while (x < last && vr_part_fits(r, x - from + 1, bytes, vr_log_entry(r, x + 1)->body_len)) {
		x++;
		bytes += vr_log_entry(r, x)->body_len;
	}
	return x;
}

/* Sets m's entries to the newest part of the own log (§9.4): the whole window without parts. */
void vr_message_log(struct vr_replica *r, struct vr_message *m)
{
	if (r->log.op < r->log.first)
		return;
	uint64_t start = vr_part_start(r, r->log.first, r->log.op);
	m->entry_count = (uint32_t)(r->log.op - start + 1);
	m->entries = vr_log_range(r, start, m->entry_count);
}

/*
 * Puts entries[0..count), which end just below dst->first, in front of a standalone log. The
 * slots move up by count, each taking its body buffer along; the free slots' buffers (beyond
 * the log's end) come to the front for the new entries.
 */
void vr_candidate_prepend(struct vr_replica *r, const struct vr_entry *entries, uint32_t count)
{
	struct vr_log *dst = &r->candidate;
	uint32_t n = vr_log_count(dst);

	ASSERT(count > 0 && n > 0 && (uint64_t)n + count <= dst->capacity);
	ASSERT(entries[count - 1].op + 1 == dst->first);
	for (uint32_t i = n; i-- > 0;) {
		struct vr_entry e = dst->entries[i + count];
		uint8_t *body = dst->bodies[i + count];
		uint32_t cap = dst->body_cap[i + count];
		dst->entries[i + count] = dst->entries[i];
		dst->bodies[i + count] = dst->bodies[i];
		dst->body_cap[i + count] = dst->body_cap[i];
		dst->entries[i] = e;
		dst->bodies[i] = body;
		dst->body_cap[i] = cap;
	}
	dst->first = entries[0].op;
	vr_stage(r, entries, count, false);
	for (uint32_t i = 0; i < count; i++)
		vr_log_set(dst, r->config.body_size_max, &entries[i], vr_candidate_keeps(r, &entries[i]));
}

/* Appends entries[0..count), which start just above the candidate's op, to it. */
void vr_candidate_extend(struct vr_replica *r, const struct vr_entry *entries, uint32_t count)
{
	struct vr_log *dst = &r->candidate;

	ASSERT(count > 0 && entries[0].op == dst->op + 1);
	ASSERT(entries[count - 1].op - dst->first < dst->capacity);
	vr_stage(r, entries, count, false);
	for (uint32_t i = 0; i < count; i++)
		vr_log_set(dst, r->config.body_size_max, &entries[i], vr_candidate_keeps(r, &entries[i]));
	dst->op = entries[count - 1].op;
}

/* Makes a chain of entries the candidate (a log that a view change, catch-up or recovery may
 * install), in place of the one before. */
void vr_candidate_copy(struct vr_replica *r, const struct vr_entry *entries, uint32_t count)
{
	struct vr_log *dst = &r->candidate;

	dst->first = count ? entries[0].op : 1;
	dst->op = dst->first - 1;
	vr_stage(r, entries, count, true);
	for (uint32_t i = 0; i < count; i++) {
		ASSERT(entries[i].op == dst->first + i);
		vr_log_set(dst, r->config.body_size_max, &entries[i], vr_candidate_keeps(r, &entries[i]));
		dst->op = entries[i].op;
	}
}

struct vr_client_slot *vr_client_find(struct vr_replica *r, uint64_t client_id, uint32_t *index)
{
	for (uint32_t i = 0; i < r->config.client_table_size; i++) {
		if (r->clients[i].client_id == client_id) {
			if (index)
				*index = i;
			return &r->clients[i];
		}
	}
	return NULL;
}

/* A free slot, or the session that has been idle longest (oldest op_done; deterministic). */
static uint32_t vr_client_victim(const struct vr_replica *r)
{
	uint32_t victim = 0;

	for (uint32_t i = 0; i < r->config.client_table_size; i++) {
		const struct vr_client_slot *s = &r->clients[i];
		if (s->client_id == 0)
			return i;
		const struct vr_client_slot *v = &r->clients[victim];
		if (s->op < v->op || (s->op == v->op && s->client_id < v->client_id))
			victim = i;
	}
	return victim;
}

static void vr_reply(struct vr_replica *r, uint64_t client_id, uint64_t request, uint64_t op, uint8_t status,
                     const uint8_t *result, uint32_t result_len)
{
	struct vr_message m = {
		.command = VR_REPLY,
		.replica = r->config.self,
		.status = status,
		.view = r->view,
		.op = op,
		.commit = r->commit,
		.client_id = client_id,
		.request = request,
		.body = result,
		.body_len = result_len,
	};

	ASSERT(vr_is_primary(r));
	ASSERT(r->status == VR_STATUS_NORMAL);
	r->io.reply(r->io.ctx, client_id, &m);
}

/* Resends the cached reply of a session (§4.1 step 2). */
void vr_reply_slot(struct vr_replica *r, const struct vr_client_slot *slot)
{
	vr_reply(r, slot->client_id, slot->request, slot->op, slot->status, slot->result, slot->result_len);
}

/*
 * §10.2 step 4: the RECONFIGURE entry at op executed; the epoch is over. The primary tells the
 * backups at once that it is committed (they end the epoch too), then the replica does nothing
 * more: the driver restarts it in the next epoch, or retires it (vr_epoch_end).
 */
static void vr_epoch_ended(struct vr_replica *r, uint64_t op)
{
	r->epoch_end = op;
	if (r->status != VR_STATUS_NORMAL || !vr_is_primary(r))
		return;
	struct vr_message m = { .command = VR_COMMIT, .view = r->view, .commit = op, .op = r->log.op, .hold = r->hold };
	vr_send_all(r, &m);
}

/* §4.4: executes op commit+1 in one storage transaction with its client-table row. */
static void vr_execute(struct vr_replica *r)
{
	const struct vr_entry *e = vr_log_entry(r, r->commit + 1);
	struct vr_entry read_back;
	if (e && vr_bodiless(e)) { /* body cache: from the driver's log */
		read_back = *e;
		vr_scratch_reserve(r, 0, e->body_len);
		vr_read_body(r, e, r->scratch_body);
		read_back.body = r->scratch_body;
		e = &read_back;
	}
	struct vr_apply a = { .entry = e, .upcall = false, .slot = VR_NONE };
	uint8_t result[VR_RESULT_SIZE_MAX];
	uint32_t index = VR_NONE;
	struct vr_client_slot *slot = vr_client_find(r, e->client_id, &index);
	bool evicted = false;

	ASSERT(e != NULL);
	ASSERT(e->op <= r->durable_op);
	if (e->kind == VR_KIND_REGISTER) {
		if (!slot) { /* a registration already in the table is a duplicate */
			a.slot = vr_client_victim(r);
			a.evicted_client = r->clients[a.slot].client_id;
		}
	} else if (!slot || slot->session != e->session) {
		evicted = true; /* the session was evicted before this op executed */
#if VR_MUTANT == 4
	} else {
#else
	} else if (e->request > slot->request) {
#endif
		a.upcall = true;
		a.slot = index;
	}

	/* §9.5: a witness keeps no state; it executes only a RECONFIGURE (its configuration). */
	if (vr_is_witness(r) && e->kind != VR_KIND_RECONFIGURE)
		a.upcall = false;
	uint32_t result_len = r->io.apply(r->io.ctx, &a, result);
	ASSERT(result_len <= VR_RESULT_SIZE_MAX);
	ASSERT(a.upcall || result_len == 0);
	r->commit = e->op;
	if (a.slot != VR_NONE) {
		struct vr_client_slot *s = &r->clients[a.slot];
		s->client_id = e->client_id;
		if (e->kind == VR_KIND_REGISTER)
			s->session = e->op;
		s->request = e->request;
		s->op = e->op;
		s->status = VR_REPLY_OK;
		s->result_len = result_len;
		memcpy(s->result, result, result_len);
		slot = s;
	}

	if (e->kind == VR_KIND_RECONFIGURE && e->op > r->config.epoch_op)
		vr_epoch_ended(r, e->op);
	/* §4.4 step 4: only the primary replies. */
	if (r->status != VR_STATUS_NORMAL || !vr_is_primary(r))
		return;
	if (evicted)
		vr_reply(r, e->client_id, e->request, e->op, VR_REPLY_EVICTED, NULL, 0);
	else if (slot && slot->request == e->request)
		vr_reply_slot(r, slot);
}

static void vr_log_truncate(struct vr_replica *r, uint64_t first);

/* The newest first a checkpoint may truncate the log to: committed, and with witnesses
 * configured, held by every full replica (the hold rule, vr_replica.hold). */
static uint64_t vr_truncate_top(const struct vr_replica *r)
{
#if VR_MUTANT == 14
	return r->commit; /* planted: the hold rule ignored */
#endif
	return r->config.witnesses && r->hold < r->commit ? r->hold : r->commit;
}

/* The first a checkpoint truncates a full replica's log to (at most top), or the own first. */
static uint64_t vr_checkpoint_first(const struct vr_replica *r, uint64_t top)
{
	uint64_t keep = r->config.checkpoint_ops, limit = r->config.checkpoint_bytes;
	uint64_t held = top + 1 - r->log.first;

	/* A window bounded in bytes for requests is kept to half of that at checkpoints. */
	if (r->config.log_bytes_max && (!limit || limit > r->config.log_bytes_max / 2))
		limit = r->config.log_bytes_max / 2;
	bool over = held > 2 * keep;

	if (!over && limit) { /* the bodies of the committed entries held */
		uint64_t total = 0;
		for (uint64_t x = r->log.first; x <= top && total <= limit; x++)
			total += vr_log_entry(r, x)->body_len;
		over = total > limit;
	}
	if (!over)
		return r->log.first;
	/* The new first: keep at most keep entries up to top, whose bodies stay within limit / 2. */
	uint64_t first = top, bytes = vr_log_entry(r, first)->body_len;
	while (first > r->log.first && top - first + 1 < keep) {
		uint64_t b = vr_log_entry(r, first - 1)->body_len;
		if (limit && bytes + b > limit / 2)
			break;
		bytes += b;
		first--;
	}
	return first;
}

/*
 * A checkpoint: once more than twice checkpoint_ops committed entries (or checkpoint_bytes
 * of their bodies) are held, drop all but the newest checkpoint_ops of them (fewer when
 * their bodies exceed half the byte limit). The applied state covers what is dropped: the
 * storage makes the applies up to commit durable no later than this TRUNCATE write. The
 * entry at the new first is kept so the log still anchors the hash chain. A witness, which
 * has no state, keeps only what a full replica may lack: it truncates to hold at once.
 */
void vr_checkpoint(struct vr_replica *r)
{
	uint64_t top = vr_truncate_top(r);

	if (!r->config.checkpoint_ops || top < r->log.first)
		return;
	uint64_t first = vr_is_witness(r) ? top : vr_checkpoint_first(r, top);
	if (first > r->log.first)
		vr_log_truncate(r, first);
}

/* Drops the entries below first (committed and applied; first's stays, the new first). */
static void vr_log_truncate(struct vr_replica *r, uint64_t first)
{
	ASSERT(first > r->log.first && first <= r->commit);
	uint64_t shift = first - r->log.first;
	for (uint64_t x = r->log.first; x < first; x++)
		r->log_bytes -= vr_log_entry(r, x)->body_len;
	uint64_t count = r->log.op - first + 1;
	struct vr_log *l = &r->log;
	for (uint64_t x = 0; x < shift && vr_cached(r); x++)
		vr_log_free_body(l, x); /* the body cache holds only bodies of the window */
	/* Shift the window down; the dropped slots' body buffers move to the end, for reuse. */
	uint8_t **spare = r->spare_bodies;
	uint32_t *spare_cap = r->spare_cap;
	memcpy(spare, l->bodies, shift * sizeof(*spare));
	memcpy(spare_cap, l->body_cap, shift * sizeof(*spare_cap));
	memmove(l->entries, l->entries + shift, count * sizeof(*l->entries));
	memmove(l->bodies, l->bodies + shift, count * sizeof(*l->bodies));
	memmove(l->body_cap, l->body_cap + shift, count * sizeof(*l->body_cap));
	memmove(r->entry_seq, r->entry_seq + shift, count * sizeof(*r->entry_seq));
	memcpy(l->bodies + count, spare, shift * sizeof(*spare));
	memcpy(l->body_cap + count, spare_cap, shift * sizeof(*spare_cap));
	l->first = first;

	struct vr_write w = { .kind = VR_WRITE_TRUNCATE, .op = first };
	vr_persist(r, &w);
	r->checkpoints++;
}

/*
 * A log that a message carries starts at entries[0].op > 1, at or below committed, an op known
 * to be committed (its sender truncated there, or it is a part of a log, §9.4, within the
 * commit-number). When the own log holds that entry (equal checksums, equal logs up to there),
 * the own ops up to it are committed too: they are executed and the own log truncated there,
 * so that the message's log joins within the window (with witnesses, logs reach back to hold
 * and the own one may start much earlier). False when the epoch ended meanwhile.
 */
bool vr_log_trim(struct vr_replica *r, const struct vr_entry *entries, uint32_t count, uint64_t committed)
{
	if (count == 0 || entries[0].op <= r->log.first || entries[0].op > committed)
		return true;
	const struct vr_entry *own = vr_log_entry(r, entries[0].op);
	if (!own || own->checksum != entries[0].checksum)
		return true;
	vr_execute_to(r, entries[0].op);
	if (r->epoch_end)
		return false;
	if (r->commit >= entries[0].op && entries[0].op > r->log.first)
		vr_log_truncate(r, entries[0].op);
	return true;
}

/* §9.5: hold only grows; a larger one may let the log be truncated further. */
void vr_learn_hold(struct vr_replica *r, uint64_t hold)
{
	if (hold <= r->hold)
		return;
	r->hold = hold;
	vr_checkpoint(r);
}

/* Executes committed ops up to k, never beyond what is durable here. */
void vr_execute_to(struct vr_replica *r, uint64_t k)
{
	if (k > r->durable_op)
		k = r->durable_op;
	if (r->commit >= k)
		return;
	while (r->commit < k && !r->epoch_end)
		vr_execute(r);
	vr_checkpoint(r);
}

static int vr_config_check(const struct vr_config *c)
{
	if (c->replica_count == 0 || c->replica_count > VR_REPLICAS_MAX || c->replica_count % 2 == 0)
		return -EINVAL;
	if (c->self >= c->replica_count)
		return -EINVAL;
	if (c->log_capacity == 0 || c->client_table_size == 0 || c->pipeline_max == 0)
		return -EINVAL;
	if (c->heartbeat_ticks == 0 || c->prepare_resend_ticks == 0 || c->resend_ticks == 0)
		return -EINVAL;
	if (c->liveness_ticks <= c->heartbeat_ticks || c->view_change_ticks <= c->resend_ticks)
		return -EINVAL;
	if (c->lease_ns && c->drift_ppm >= 1000000)
		return -EINVAL;
	if (c->witnesses >> c->replica_count)
		return -EINVAL;
	if (c->log_bytes_max && (!c->checkpoint_ops || c->log_bytes_max < 2 * (uint64_t)c->body_size_max))
		return -EINVAL; /* only checkpoints make room, and one op must fit */
	if (vr_witness_count(c->witnesses, c->replica_count) > (c->replica_count - 1) / 2)
		return -EINVAL; /* f+1 full replicas at least */
	if (c->body_cache_bytes && !c->part_ops && !c->part_bytes)
		return -EINVAL; /* a message carrying a whole window would read it all back */
	return 0;
}

static int vr_log_alloc(struct vr_log *log, uint32_t capacity)
{
	log->entries = calloc(capacity, sizeof(*log->entries));
	log->bodies = calloc(capacity, sizeof(*log->bodies));
	log->body_cap = calloc(capacity, sizeof(*log->body_cap));
	log->capacity = capacity;
	log->first = 1;
	log->op = 0;
	return log->entries && log->bodies && log->body_cap ? 0 : -ENOMEM;
}

static void vr_log_free(struct vr_log *log)
{
	if (log->bodies)
		for (uint32_t x = 0; x < log->capacity; x++)
			free(log->bodies[x]);
	free(log->entries);
	free(log->bodies);
	free(log->body_cap);
}

static int vr_alloc(struct vr_replica *r, const struct vr_config *c, const struct vr_io *io)
{
	int rc = vr_config_check(c);

	if (rc)
		return rc;
	if ((c->lease_ns && !io->monotonic) || (c->body_cache_bytes && !io->read_body))
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->config = *c;
	r->io = *io;
	r->f = (uint8_t)((c->replica_count - 1) / 2);
	r->quorum = (uint8_t)(r->f + 1);
	r->prng = c->seed ^ ((uint64_t)c->self << 56);
	if (c->lease_ns) /* a lease granted before this start is not remembered: wait it out */
		r->lease_granted_until = io->monotonic(io->ctx) + c->lease_ns;
	r->entry_seq = calloc(c->log_capacity, sizeof(*r->entry_seq));
	r->spare_bodies = calloc(c->log_capacity, sizeof(*r->spare_bodies));
	r->spare_cap = calloc(c->log_capacity, sizeof(*r->spare_cap));
	r->clients = calloc(c->client_table_size, sizeof(*r->clients));
	rc = vr_log_alloc(&r->log, c->log_capacity);
	if (!rc)
		rc = vr_log_alloc(&r->candidate, c->log_capacity);
	if (rc || !r->entry_seq || !r->clients || !r->spare_bodies || !r->spare_cap) {
		vr_deinit(r);
		return -ENOMEM;
	}
	return 0;
}

void vr_deinit(struct vr_replica *r)
{
	vr_log_free(&r->log);
	vr_log_free(&r->candidate);
	free(r->entry_seq);
	free(r->spare_bodies);
	free(r->spare_cap);
	free(r->clients);
	free(r->scratch);
	free(r->scratch_body);
	memset(r, 0, sizeof(*r));
}

static void vr_become_backup(struct vr_replica *r)
{
	r->liveness_deadline = vr_jitter(r, r->config.liveness_ticks);
}

static int vr_restore(struct vr_replica *r, const struct vr_durable *d)
{
	/* Bytes from disk: checked, never asserted on. */
	if (d->first == 0 || d->commit > d->op || (d->op ? d->first > d->op : d->first != 1))
		return -EINVAL;
	if (d->first > 1 && d->first > d->commit)
		return -EINVAL; /* the checkpoint entry is committed */
	if (d->op >= d->first && d->op - d->first >= r->config.log_capacity)
		return -EINVAL;
	if (d->client_count != r->config.client_table_size)
		return -EINVAL;
	if (d->meta.last_normal_view > d->meta.view || d->meta.status > VR_STATUS_RECOVERING)
		return -EINVAL;
	if (d->meta.status == VR_STATUS_NORMAL && d->meta.last_normal_view != d->meta.view)
		return -EINVAL; /* I3 */
	r->log.first = d->first;
	r->log.op = d->first - 1;
	for (uint64_t x = d->first; x <= d->op; x++) {
		const struct vr_entry *e = &d->log[x - d->first];
		if (e->op != x || e->body_len > r->config.body_size_max)
			return -EINVAL;
		/* Without its body (body cache) the driver checked it as it read it. */
		if (vr_bodiless(e) ? !vr_cached(r) || e->kind == VR_KIND_RECONFIGURE
		                   : e->checksum != vr_entry_checksum(e))
			return -EINVAL;
		if (x > d->first && e->parent != d->log[x - d->first - 1].checksum)
			return -EINVAL;
		vr_log_set(&r->log, r->config.body_size_max, e, !vr_bodiless(e));
		r->log_bytes += e->body_len;
		r->log.op = x;
	}
	memcpy(r->clients, d->clients, sizeof(*r->clients) * d->client_count);
	r->durable_op = d->op;
	r->commit = d->commit;
	r->view = d->meta.view;
	r->last_normal_view = d->meta.last_normal_view;
	r->voter_view = d->meta.voter_view;
	r->status = d->meta.status;
	return 0;
}

int vr_init(struct vr_replica *r, const struct vr_config *c, const struct vr_io *io, const struct vr_durable *d)
{
	int rc = vr_alloc(r, c, io);

	if (rc)
		return rc;
	if (!d) { /* a new replica: view 0, NORMAL, nothing logged */
		if (vr_is_primary(r))
			r->heartbeat_deadline = r->tick;
		else
			vr_become_backup(r);
		return 0;
	}
	rc = vr_restore(r, d);
	if (rc) {
		vr_deinit(r);
		return rc;
	}
	switch (r->status) {
	case VR_STATUS_RECOVERING: /* crashed before recovery installed a log: start again */
		vr_recovery_start(r);
		break;
	case VR_STATUS_VIEW_CHANGE: /* §6.3.4: resume, resending the same DVC */
		r->dvc_decided = d->meta.dvc_view == r->view;
		if (r->dvc_decided) {
			const struct vr_entry *head = vr_log_entry(r, r->log.op);
			/* The log cannot change after a DVC is decided but by an INSTALL that
			 * also ends the view change: a mismatch is a damaged disk. */
			if (d->meta.dvc_op != r->log.op || d->meta.dvc_head != (head ? head->checksum : 0)) {
				vr_deinit(r);
				return -EINVAL;
			}
		}
		r->view_change_deadline = vr_jitter(r, r->config.view_change_ticks);
		break;
	default: /* §6.3.3: a primary does not resume; a backup rejoins its view */
		if (vr_is_primary(r) && d->epoch_start && r->view == 0 && r->commit == r->log.op) {
			/* Nothing was prepared in this epoch: nothing to forget. */
			r->view_start_op = r->prepare_sent = r->commit_max = r->log.op;
			r->heartbeat_deadline = r->tick;
		} else if (vr_is_primary(r))
			vr_view_change_start(r, r->view + 1);
		else if (!vr_is_voter(r))
			vr_view_change_start(r, r->voter_view); /* recovered, crashed before asking for it (§6.2) */
		else
			vr_become_backup(r);
		break;
	}
	return 0;
}

int vr_init_recovering(struct vr_replica *r, const struct vr_config *c, const struct vr_io *io)
{
	int rc = vr_alloc(r, c, io);

	if (rc)
		return rc;
	vr_recovery_start(r);
	return 0;
}

static void vr_flush(struct vr_replica *r)
{
	switch (r->status) {
	case VR_STATUS_NORMAL:
		if (vr_is_primary(r)) {
			if (r->start_view_pending && vr_meta_durable(r) && r->durable_op == r->log.op) {
				r->start_view_pending = false;
				for (uint8_t i = 0; i < r->config.replica_count; i++)
					if (i != r->config.self)
						vr_send_start_view(r, i);
			}
			if (!r->start_view_pending)
				vr_primary_commit(r);
		} else {
			vr_backup_flush(r);
		}
		break;
	case VR_STATUS_VIEW_CHANGE:
		vr_view_change_flush(r);
		break;
	default:
		break;
	}
}

static void vr_check(struct vr_replica *r, uint64_t view_before, uint64_t commit_before)
{
	ASSERT(r->commit <= r->durable_op);
	ASSERT(r->durable_op <= r->log.op);
	ASSERT(r->log.op == 0 ? r->log.first == 1 : r->log.first <= r->log.op);
	ASSERT(r->log.first == 1 || r->log.first <= r->commit);
	ASSERT(r->log.op < r->log.first || r->log.op - r->log.first < r->config.log_capacity);
	ASSERT(r->last_normal_view <= r->view);
	ASSERT(r->view >= view_before);
	ASSERT(r->commit >= commit_before);
	ASSERT(r->status != VR_STATUS_NORMAL || r->last_normal_view == r->view);
	ASSERT(r->durable_seq <= r->persist_seq);
	/* B1 (batching): a normal primary has sent (or will send in vr_prepare_flush) exactly the
	 * ops it logged in this view, nothing it did not log. */
	if (r->status == VR_STATUS_NORMAL && vr_is_primary(r))
		ASSERT(r->prepare_sent >= r->view_start_op && r->prepare_sent <= r->log.op);
	if (r->log.op > r->log.first)
		ASSERT(vr_log_entry(r, r->log.op)->parent == vr_log_entry(r, r->log.op - 1)->checksum);
}

/* Checks what can be checked of a message without state. Remote input: no ASSERT. */
static const char *vr_message_invalid(const struct vr_replica *r, const struct vr_message *m)
{
	if (m->command < VR_REQUEST || m->command > VR_COMMAND_MAX)
		return "message: unknown command";
	if (m->command == VR_REPLY)
		return "message: replica got a reply";
	if (m->command != VR_REQUEST) {
		if (m->replica >= r->config.replica_count)
			return "message: sender out of range";
		if (m->replica == r->config.self)
			return "message: from self";
	}
	if (m->command == VR_REQUEST) {
		if (m->kind != VR_KIND_OP && m->kind != VR_KIND_REGISTER && m->kind != VR_KIND_RECONFIGURE)
			return "request: unknown kind";
		if (m->client_id == 0)
			return "request: client id 0";
		if (m->body_len > r->config.body_size_max || (m->body_len && !m->body))
			return "request: body too large";
	}
	if (m->entry_count > r->config.log_capacity || (m->entry_count && !m->entries))
		return "message: too many entries";
	for (uint32_t i = 0; i < m->entry_count; i++) {
		const struct vr_entry *e = &m->entries[i];
		if (e->op != m->entries[0].op + i || e->op == 0)
			return "entries: not contiguous";
		if (e->kind != VR_KIND_OP && e->kind != VR_KIND_REGISTER && e->kind != VR_KIND_RECONFIGURE)
			return "entries: unknown kind";
		if (e->body_len > r->config.body_size_max || (e->body_len && !e->body))
			return "entries: body too large";
		if (e->checksum != vr_entry_checksum(e))
			return "entries: bad checksum";
		if (i > 0 && e->parent != m->entries[i - 1].checksum)
			return "entries: broken chain";
	}
	switch (m->command) {
	case VR_PREPARE:
		if (m->entry_count == 0 || m->entries[m->entry_count - 1].op != m->op)
			return "prepare: entries do not end at op";
		if (m->commit >= m->entries[0].op)
			return "prepare: commit not below its ops";
		break;
	case VR_DO_VIEW_CHANGE:
	case VR_START_VIEW:
	case VR_RECOVERY_RESPONSE:
		/* These carry the sender's log first..op (at least entry op when op > 0), or none
		 * from a backup's RECOVERY_RESPONSE. */
		if (m->entry_count && m->entries[m->entry_count - 1].op != m->op)
			return "log message: log does not end at op";
		if (m->command != VR_RECOVERY_RESPONSE && m->op > 0 && m->entry_count == 0)
			return "log message: no entries";
		if (m->commit > m->op && (m->command != VR_RECOVERY_RESPONSE || m->entry_count))
			return "log message: commit above op";
		if (m->command == VR_DO_VIEW_CHANGE && m->last_normal_view >= m->view)
			return "do_view_change: v' not below v";
		break;
	case VR_NEW_STATE:
		/* The oldest part of what was asked for: it may end below op (§9.4). */
		if (m->entry_count && m->entries[m->entry_count - 1].op > m->op)
			return "new_state: log ends above op";
		if (m->commit > m->op)
			return "new_state: commit above op";
		break;
	case VR_GET_LOG:
		if (m->op == 0 || m->commit >= m->op)
			return "get_log: no entries asked for";
		break;
	case VR_LOG:
		if (m->entry_count == 0 || m->entries[m->entry_count - 1].op != m->op)
			return "log: entries do not end at op";
		break;
	case VR_COMMIT:
	case VR_PREPARE_OK:
	default:
		break;
	}
	/* §10.1: a replica's messages count only within one epoch (clients know no epochs). */
	if (m->command != VR_REQUEST && m->epoch != r->config.epoch)
		return "message: other epoch";
	return NULL;
}

int vr_on_message(struct vr_replica *r, const struct vr_message *m)
{
	uint64_t view_before = r->view, commit_before = r->commit;
	const char *why = vr_message_invalid(r, m);

	if (r->epoch_end) {
		vr_log_drop(r, "message: the epoch is over");
		return 0;
	}
	if (why) {
		vr_log_drop(r, why);
		return -EBADMSG;
	}
	switch (m->command) {
	case VR_REQUEST:
		vr_on_request(r, m);
		break;
	case VR_PREPARE:
		vr_on_prepare(r, m);
		break;
	case VR_PREPARE_OK:
		vr_on_prepare_ok(r, m);
		break;
	case VR_COMMIT:
		vr_on_commit(r, m);
		break;
	case VR_START_VIEW_CHANGE:
		vr_on_start_view_change(r, m);
		break;
	case VR_DO_VIEW_CHANGE:
		vr_on_do_view_change(r, m);
		break;
	case VR_START_VIEW:
		vr_on_start_view(r, m);
		break;
	case VR_RECOVERY:
		vr_on_recovery(r, m);
		break;
	case VR_RECOVERY_RESPONSE:
		vr_on_recovery_response(r, m);
		break;
	case VR_GET_STATE:
		vr_on_get_state(r, m);
		break;
	case VR_NEW_STATE:
		vr_on_new_state(r, m);
		break;
	case VR_COMMIT_OK:
		vr_on_commit_ok(r, m);
		break;
	case VR_GET_LOG:
		vr_on_get_log(r, m);
		break;
	case VR_LOG:
		vr_on_log(r, m);
		break;
	default:
		ASSERT(false); /* vr_message_invalid let an unknown command through */
	}
	vr_flush(r);
	vr_cache_trim(r);
	vr_check(r, view_before, commit_before);
	return 0;
}

int vr_epoch_commit(struct vr_replica *r, uint64_t op, uint64_t head)
{
	const struct vr_entry *e = vr_log_entry(r, op);

	if (r->epoch_end)
		return 0;
	if (r->status == VR_STATUS_RECOVERING || !e || e->checksum != head || e->kind != VR_KIND_RECONFIGURE ||
	    op <= r->config.epoch_op)
		return -ENOENT;
	if (r->durable_op < op)
		return -EAGAIN;
	uint64_t view_before = r->view, commit_before = r->commit;
	/* Equal checksums at op: this log up to op is the committed one (the hash chain). */
	vr_execute_to(r, op);
	ASSERT(r->epoch_end == op);
	vr_cache_trim(r);
	vr_check(r, view_before, commit_before);
	return 0;
}

int vr_epoch_entries(struct vr_replica *r, const struct vr_entry *entries, uint32_t count)
{
	if (r->epoch_end)
		return 0;
	if (count == 0 || count > r->config.log_capacity)
		return -EINVAL;
	for (uint32_t i = 0; i < count; i++) { /* another replica's bytes: checked, not asserted */
		const struct vr_entry *e = &entries[i];
		if (e->op != entries[0].op + i || e->op == 0 || e->body_len > r->config.body_size_max ||
		    (e->body_len && !e->body) || e->checksum != vr_entry_checksum(e) ||
		    (i > 0 && e->parent != entries[i - 1].checksum))
			return -EINVAL;
	}
	const struct vr_entry *last = &entries[count - 1];
	if (last->kind != VR_KIND_RECONFIGURE || last->op <= r->config.epoch_op)
		return -EINVAL;
	if (r->status == VR_STATUS_RECOVERING)
		return -ENOENT; /* its log is not its own yet: recovery, or a checkpoint, first */
	int64_t from = vr_log_bridge(r, entries, count);
	if (from < 0)
		return -ENOENT;
	if ((uint32_t)from == count)
		return 0; /* held already */
	uint64_t view_before = r->view, commit_before = r->commit;
	/* The replica leaves its view first: what it acknowledged or sent in a DVC there was another
	 * log (V2; a stale primary could count an acknowledgement of this log for its own ops). */
	vr_view_change_start(r, r->view + 1);
	vr_log_install(r, entries + from, count - (uint32_t)from, last->op);
	vr_cache_trim(r);
	vr_check(r, view_before, commit_before);
	return 0;
}

void vr_on_tick(struct vr_replica *r)
{
	uint64_t view_before = r->view, commit_before = r->commit;

	if (r->epoch_end)
		return;
	r->tick++;
	switch (r->status) {
	case VR_STATUS_NORMAL:
		if (vr_is_primary(r)) {
			vr_primary_tick(r);
		} else if (r->tick >= r->liveness_deadline) {
			vr_note(r, "backup: primary silent, starting a view change");
			vr_view_change_start(r, r->view + 1);
		} else {
			vr_state_tick(r);
		}
		break;
	case VR_STATUS_VIEW_CHANGE:
		vr_view_change_tick(r);
		break;
	case VR_STATUS_CATCHING_UP:
		vr_state_tick(r);
		break;
	case VR_STATUS_RECOVERING:
		vr_recovery_tick(r);
		break;
	}
	vr_flush(r);
	vr_cache_trim(r);
	vr_check(r, view_before, commit_before);
}

void vr_on_persisted(struct vr_replica *r, uint64_t seq)
{
	uint64_t view_before = r->view, commit_before = r->commit;

	ASSERT(seq <= r->persist_seq);
	if (seq <= r->durable_seq || r->epoch_end)
		return;
	r->durable_seq = seq;
	while (r->durable_op < r->log.op && r->entry_seq[r->durable_op + 1 - r->log.first] <= seq)
		r->durable_op++;
	vr_flush(r);
	vr_cache_trim(r);
	vr_check(r, view_before, commit_before);
}
