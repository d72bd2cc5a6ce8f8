/*
 * vr_normal.c — normal operation (VR Revisited §4.1, VR-PROTOCOL.md §4): REQUEST at
 * the primary, PREPARE and COMMIT at backups, PREPAREOK at the primary, heartbeats
 * and the resending of PREPAREs that lack a quorum.
 *
 * Invariants:
 *   N1  a backup acknowledges op n only when entries 1..n and its view are durable.
 *   N2  the primary counts its own copy of op n only once it is durable, and only once.
 *   N3  the primary takes new requests only after it has committed every op it inherited
 *       from the view change (view_start_op), so the client table plus the pipeline of
 *       its own uncommitted ops is the whole admission state (§12.12, §12.14).
 */
#include <errno.h>
#include <string.h>

#include "replication/vr_internal.h"

/* PREPARE ⟨v, m, n, k⟩ for ops from..last (one, or a batch: §9.6); k stays below the first. */
void vr_send_prepare(struct vr_replica *r, uint8_t to, uint64_t from, uint64_t last)
{
	struct vr_message m = {
		.command = VR_PREPARE,
		.view = r->view,
		.op = last,
		.commit = r->commit < from ? r->commit : from - 1,
		.hold = r->hold,
		.entry_count = (uint32_t)(last - from + 1),
	};

	ASSERT(from >= 1 && from <= last && last <= r->log.op);
	m.entries = vr_log_range(r, from, m.entry_count);
	vr_send(r, to, &m);
}

/* The last op of a PREPARE that starts at from and ends at most at last: batch_max ops, and
 * no more bytes than the pipeline may hold (one op alone may exceed it). */
static uint64_t vr_batch_end(const struct vr_replica *r, uint64_t from, uint64_t last)
{
	uint64_t n = r->config.batch_max > 1 ? r->config.batch_max : 1, bytes = 0;

	if (last - from + 1 > n)
		last = from + n - 1;
	for (uint64_t x = from; x <= last; x++) {
		bytes += vr_log_entry(r, x)->body_len;
		if (x > from && r->config.pipeline_bytes_max && bytes > r->config.pipeline_bytes_max)
			return x - 1;
	}
	return last;
}

/* Ops from..last to one backup, in as few PREPAREs as the batch bounds allow. */
static void vr_send_prepares(struct vr_replica *r, uint8_t to, uint64_t from, uint64_t last)
{
	while (from <= last) {
		uint64_t end = vr_batch_end(r, from, last);
		vr_send_prepare(r, to, from, end);
		from = end + 1;
	}
}

void vr_prepare_flush(struct vr_replica *r)
{
	if (r->status != VR_STATUS_NORMAL || !vr_is_primary(r) || r->start_view_pending || r->epoch_end)
		return;
	ASSERT(r->prepare_sent >= r->view_start_op);
	if (r->prepare_sent >= r->log.op)
		return;
	/* §4.1 step 5: PREPARE to every backup. */
	for (uint8_t i = 0; i < r->config.replica_count; i++)
		if (i != r->config.self)
			vr_send_prepares(r, i, r->prepare_sent + 1, r->log.op);
	r->prepare_sent = r->log.op;
}

/* §4.1 step 2: the newest request-number of a session in the log, executed or in flight. */
static uint64_t vr_request_prepared(const struct vr_replica *r, const struct vr_client_slot *slot)
{
	for (uint64_t x = r->log.op; x > r->commit; x--) {
		const struct vr_entry *e = vr_log_entry(r, x);
		if (e->client_id == slot->client_id && e->session == slot->session && e->kind != VR_KIND_REGISTER)
			return e->request;
	}
	return slot->request;
}

static void vr_reply_evicted(struct vr_replica *r, const struct vr_message *m)
{
	struct vr_message reply = {
		.command = VR_REPLY,
		.replica = r->config.self,
		.status = VR_REPLY_EVICTED,
		.view = r->view,
		.client_id = m->client_id,
		.request = m->request,
	};

	r->io.reply(r->io.ctx, m->client_id, &reply);
}

/* A REGISTER of a client whose registration is in flight (not executed yet). */
static bool vr_register_in_flight(const struct vr_replica *r, uint64_t client_id)
{
	for (uint64_t x = r->log.op; x > r->commit; x--) {
		const struct vr_entry *e = vr_log_entry(r, x);
		if (e->client_id == client_id && e->kind == VR_KIND_REGISTER)
			return true;
	}
	return false;
}

/*
 * §4.1 step 2 with sessions (§8.6): true when m is new and may be logged; otherwise
 * answers it (cached reply, eviction) or drops it. Every op in the log above commit
 * was prepared by this primary in this view (N3), so the table and that pipeline
 * say everything about the client.
 */
static bool vr_request_admit(struct vr_replica *r, const struct vr_message *m)
{
	const struct vr_client_slot *slot = vr_client_find(r, m->client_id, NULL);

	if (m->kind == VR_KIND_REGISTER) {
		if (slot && slot->request == 0)
			vr_reply_slot(r, slot); /* a retried registration: same session */
		else if (!slot && !vr_register_in_flight(r, m->client_id))
			return true;
		return false;
	}
#if VR_MUTANT == 4
	if (slot && slot->session == m->session)
		return true; /* planted: the client table is not consulted */
#endif
	if (!slot || slot->session != m->session) {
		vr_reply_evicted(r, m); /* nothing of this session is in the log: say so */
		return false;
	}
	uint64_t prepared = vr_request_prepared(r, slot);
	if (m->request < prepared) {
		vr_log_drop(r, "request: older than the newest");
		return false;
	}
	if (m->request == prepared) {
		if (slot->request == m->request)
			vr_reply_slot(r, slot); /* executed: resend the cached reply */
		return false;                   /* otherwise still in flight */
	}
	return true;
}

/* §4.1: the primary receives REQUEST ⟨op, c, s⟩. */
void vr_on_request(struct vr_replica *r, const struct vr_message *m)
{
	if (r->status != VR_STATUS_NORMAL || !vr_is_primary(r))
		return vr_log_drop(r, "request: not the normal primary");
	if (r->start_view_pending || r->commit < r->view_start_op || !vr_meta_durable(r))
		return vr_log_drop(r, "request: view not started yet");
	/* §10.1: the RECONFIGURE entry is the epoch's last; the next epoch takes the requests. */
	if (vr_reconfiguring(r))
		return vr_log_drop(r, "request: the epoch is ending (reconfiguration)");
	if (!vr_request_admit(r, m))
		return;
	if (r->log.op - r->commit >= r->config.pipeline_max)
		return vr_log_drop(r, "request: pipeline full");
	if (r->config.pipeline_bytes_max && r->log.op > r->commit) {
		/* Bytes in flight bound the log window a view change carries in one message. */
		uint64_t bytes = m->body_len;
		for (uint64_t x = r->commit + 1; x <= r->log.op; x++)
			bytes += vr_log_entry(r, x)->body_len;
		if (bytes > r->config.pipeline_bytes_max)
			return vr_log_drop(r, "request: pipeline full (bytes)");
	}
	if (r->log.op + 1 - r->log.first >= r->config.log_capacity)
		return vr_log_drop(r, "request: log full");
	/* The window a DVC carries (with witnesses it reaches back to hold): it must fit a message. */
	if (r->config.log_bytes_max && r->log_bytes + m->body_len > r->config.log_bytes_max)
		return vr_log_drop(r, "request: log full (bytes)");

	/* §4.1 steps 3-4: fix the nondeterministic values, append. */
	const struct vr_entry *last = vr_log_entry(r, r->log.op);
	uint64_t now = r->io.realtime(r->io.ctx);
	struct vr_entry e = {
		.op = r->log.op + 1,
		.view = r->view,
		.client_id = m->client_id,
		.session = m->kind == VR_KIND_REGISTER ? 0 : m->session,
		.request = m->request,
		.timestamp = last && now <= last->timestamp ? last->timestamp + 1 : now,
		.parent = last ? last->checksum : 0,
		.kind = m->kind,
		.body_len = m->body_len,
		.body = m->body,
	};
	e.checksum = vr_entry_checksum(&e);
	vr_log_append(r, &e);
	vr_log_persist_from(r, e.op);
	if (r->config.batch_max <= 1)
		vr_prepare_flush(r); /* no batching: this request's PREPARE leaves now */
}

bool vr_reconfiguring(const struct vr_replica *r)
{
	if (r->epoch_end)
		return true;
#if VR_MUTANT == 13
	return false; /* planted: the primary goes on taking requests after a RECONFIGURE */
#endif
	for (uint64_t x = r->log.op; x > r->commit && x > r->config.epoch_op; x--)
		if (vr_log_entry(r, x)->kind == VR_KIND_RECONFIGURE)
			return true;
	return false;
}

/* Backup: ops the primary says are committed are executed, up to what is durable here. */
static void vr_backup_learn_commit(struct vr_replica *r, uint64_t k)
{
	if (k > r->commit_max)
		r->commit_max = k;
	if (r->commit_max > r->log.op)
		r->state_wanted = true; /* §4.2 step 5: fetch what is missing */
}

/* §3 rule 3 for PREPARE and COMMIT: later view → state transfer; older → drop. */
static bool vr_backup_filter(struct vr_replica *r, const struct vr_message *m)
{
	if (m->view < r->view) {
		vr_log_drop(r, "prepare/commit: older view");
		return true;
	}
	if (r->status == VR_STATUS_RECOVERING) {
		vr_log_drop(r, "prepare/commit: recovering");
		return true;
	}
	if (m->replica != vr_primary_of(r, m->view)) {
		vr_log_drop(r, "prepare/commit: sender is not primary of its view");
		return true;
	}
	if (r->status == VR_STATUS_CATCHING_UP && m->view == r->catch_up_view) {
		/* The view's primary is alive: a long transfer is no reason for a view change. */
		r->liveness_deadline = vr_jitter(r, r->config.liveness_ticks);
		return true;
	}
	if (m->view > r->view || r->status == VR_STATUS_VIEW_CHANGE) {
		/* §7 case B: the group is NORMAL in a view we do not have. */
		if (r->status != VR_STATUS_CATCHING_UP || r->catch_up_view < m->view)
			vr_catch_up(r, m->view);
		return true;
	}
	if (r->status != VR_STATUS_NORMAL) {
		vr_log_drop(r, "prepare/commit: not normal");
		return true;
	}
	ASSERT(m->view == r->view);
	ASSERT(!vr_is_primary(r)); /* S5: one primary per view */
	return false;
}

/* §4.2: a backup receives PREPARE ⟨v, m, n, k⟩, with one op or a batch of them (§9.6). */
void vr_on_prepare(struct vr_replica *r, const struct vr_message *m)
{
	uint64_t appended = 0;

	if (vr_backup_filter(r, m))
		return;
	r->liveness_deadline = vr_jitter(r, r->config.liveness_ticks);
	for (uint32_t i = 0; i < m->entry_count; i++) {
		const struct vr_entry *e = &m->entries[i];
		if (e->op <= r->log.op) {
			/* Duplicate: resend the acknowledgement (vr_backup_flush sends it when durable). */
			if (r->ok_sent >= e->op)
				r->ok_sent = e->op - 1;
			continue;
		}
		if (e->op > r->log.op + 1) {
			r->state_wanted = true; /* a gap: never accept out of order (§4.2 step 3) */
			break;
		}
		if (r->log.op > 0 && e->parent != vr_log_entry(r, r->log.op)->checksum) {
			vr_log_drop(r, "prepare: does not chain onto the log");
			r->state_wanted = true;
			break;
		}
		if (e->op - r->log.first >= r->config.log_capacity) {
			vr_log_drop(r, "prepare: log full");
			break;
		}
		vr_log_append(r, e);
		if (!appended)
			appended = e->op;
	}
	if (appended) {
		vr_log_persist_from(r, appended);
#if VR_MUTANT == 2
		r->durable_op = r->log.op; /* planted: treat the op as durable before it is */
#endif
	}
	vr_backup_learn_commit(r, m->commit);
	vr_learn_hold(r, m->hold);
}

/* §4.5 step 3: a backup receives the COMMIT heartbeat. One that carries a read barrier
 * (nonce) is acknowledged: "in view v, as a normal backup, after you sent it" (vr_read_ready).
 * With leases the acknowledgement grants one (§9.7): no DVC from here for lease_ns. */
void vr_on_commit(struct vr_replica *r, const struct vr_message *m)
{
	if (vr_backup_filter(r, m))
		return;
	r->liveness_deadline = vr_jitter(r, r->config.liveness_ticks);
	vr_backup_learn_commit(r, m->commit);
	vr_learn_hold(r, m->hold);
	if (m->op > r->log.op)
		r->state_wanted = true;
	if (m->nonce && r->status == VR_STATUS_NORMAL && m->view == r->view && vr_is_voter(r) && vr_meta_durable(r)) {
		struct vr_message ok = {
			.command = VR_COMMIT_OK, .view = r->view, .nonce = m->nonce, .op = r->config.lease_ns
		};
		if (r->config.lease_ns) {
			uint64_t until = r->io.monotonic(r->io.ctx) + r->config.lease_ns;
			if (until > r->lease_granted_until)
				r->lease_granted_until = until;
		}
		vr_send(r, m->replica, &ok);
	}
}

/* The primary sends barrier nonce n now (with leases: remembers when, for vr_on_commit_ok). */
static void vr_barrier_sent(struct vr_replica *r, uint64_t nonce)
{
	if (!r->config.lease_ns)
		return;
	r->lease_sent_nonce[nonce % VR_LEASE_RING] = nonce;
	r->lease_sent_at[nonce % VR_LEASE_RING] = r->io.monotonic(r->io.ctx);
}

/* How long the primary counts a lease from when it sent the barrier that obtained it: the
 * grantor's lease (granted ns, which the grantor waits on its own clock), shrunk so that it
 * ends first even when the grantor's clock runs fast by drift and the primary's slow by drift
 * (their rates differ by at most drift_ppm). */
static uint64_t vr_lease_hold_ns(const struct vr_replica *r, uint64_t granted)
{
	if (granted > 60ull * 1000000000u)
		granted = 60ull * 1000000000u; /* no overflow below; vrfsd grants at most 60 s */
#if VR_MUTANT == 11
	return granted; /* planted: the lease is held as long as granted, whatever the drift */
#endif
	return granted * (1000000u - r->config.drift_ppm) / (1000000u + r->config.drift_ppm);
}

bool vr_lease_held(const struct vr_replica *r)
{
	if (!r->config.lease_ns || r->status != VR_STATUS_NORMAL || !vr_is_primary(r))
		return false;
	uint64_t now = r->io.monotonic(r->io.ctx);
	uint8_t held = 0;
	for (uint8_t i = 0; i < r->config.replica_count; i++)
		if (i != r->config.self && r->lease_until[i] > now)
			held++;
	return held >= r->f;
}

/* The primary learns that a backup was normal in its view after it sent barrier nonce. */
void vr_on_commit_ok(struct vr_replica *r, const struct vr_message *m)
{
	if (m->view != r->view || r->status != VR_STATUS_NORMAL || !vr_is_primary(r))
		return vr_log_drop(r, "commit_ok: not the normal primary of that view");
	if (m->nonce > r->read_nonce)
		return vr_log_drop(r, "commit_ok: a barrier never sent");
	if (m->nonce > r->read_acked[m->replica])
		r->read_acked[m->replica] = m->nonce;
	if (r->config.lease_ns && m->op && r->lease_sent_nonce[m->nonce % VR_LEASE_RING] == m->nonce) {
		uint64_t until = r->lease_sent_at[m->nonce % VR_LEASE_RING] + vr_lease_hold_ns(r, m->op);
		if (until > r->lease_until[m->replica])
			r->lease_until[m->replica] = until;
	}
}

/*
 * Linearizable reads at the primary without leases (read-index): a read may run on the
 * applied state once (1) the state includes every op committed when the read began, and
 * (2) f backups acknowledged, in the same view, a COMMIT sent after the read began: then no
 * later view had a quorum when the read began (quorums intersect and views only grow), so
 * nothing acknowledged before the read began is missing from that state.
 *
 * With leases (§9.7), while f backups' leases hold no other view can have started (each new
 * view needs a DVC from one of them, or from this primary), so every op acknowledged so far
 * was committed here: the applied state holds it, and the read runs at once. A new primary
 * serves lease reads only once it committed its starting log (commit >= view_start_op).
 */
int vr_read_begin(struct vr_replica *r, struct vr_read *rd)
{
	if (r->status != VR_STATUS_NORMAL || !vr_is_primary(r) || r->start_view_pending ||
	    r->commit < r->view_start_op || !vr_meta_durable(r))
		return -EAGAIN;
	rd->view = r->view;
	rd->index = r->commit;
	rd->local = false;
	rd->lease = vr_lease_held(r);
	if (rd->lease) {
		rd->nonce = 0;
		r->lease_reads++;
		return 0;
	}
	rd->nonce = ++r->read_nonce;
	struct vr_message m = {
		.command = VR_COMMIT,
		.view = r->view,
		.commit = r->commit,
		.op = r->log.op,
		.nonce = rd->nonce,
		.hold = r->hold,
	};
	vr_barrier_sent(r, rd->nonce);
	vr_send_all(r, &m);
	return 0;
}

int vr_read_begin_local(struct vr_replica *r, struct vr_read *rd, uint64_t min_op)
{
	if (r->status == VR_STATUS_RECOVERING || vr_is_witness(r))
		return -EAGAIN; /* a witness has no state to read */
	*rd = (struct vr_read){ .view = r->view, .index = min_op, .local = true };
	return 0;
}

int vr_read_ready(const struct vr_replica *r, const struct vr_read *rd)
{
	if (rd->local) {
		if (r->status == VR_STATUS_RECOVERING)
			return -ESTALE;
#if VR_MUTANT == 12
		return 1; /* planted: a backup answers before it has the client's own writes */
#endif
		return r->commit >= rd->index;
	}
	if (r->view != rd->view || r->status != VR_STATUS_NORMAL || !vr_is_primary(r))
		return -ESTALE;
	if (rd->lease)
		return r->commit >= rd->index;
	uint8_t acks = 0;
	for (uint8_t i = 0; i < r->config.replica_count; i++)
		if (i != r->config.self && r->read_acked[i] >= rd->nonce)
			acks++;
#if VR_MUTANT == 9
	acks = r->f; /* planted: a primary trusts itself to still be primary */
#endif
	return acks >= r->f && r->commit >= rd->index;
}

/* §4.3: the primary receives PREPAREOK ⟨v, n, i⟩; the ack is cumulative. */
void vr_on_prepare_ok(struct vr_replica *r, const struct vr_message *m)
{
	if (m->view != r->view)
		return vr_log_drop(r, "prepare_ok: other view");
	if (r->status != VR_STATUS_NORMAL || !vr_is_primary(r))
		return vr_log_drop(r, "prepare_ok: not the normal primary");
	if (m->op > r->log.op)
		return vr_log_drop(r, "prepare_ok: op beyond the log");
	if (m->op > r->acked[m->replica])
		r->acked[m->replica] = m->op;
}

/* §9.5: the newest committed op that every full replica holds, by the PREPAREOKs of this view
 * (each is cumulative: the backup's log matches this one up to it). */
static uint64_t vr_full_hold(const struct vr_replica *r)
{
	uint64_t hold = r->commit < r->durable_op ? r->commit : r->durable_op;

	for (uint8_t i = 0; i < r->config.replica_count; i++)
		if (i != r->config.self && !vr_witness(r->config.witnesses, i) && r->acked[i] < hold)
			hold = r->acked[i];
	return hold;
}

/* §4.3 step 2: commit every op that f backups and the primary's own disk hold. */
void vr_primary_commit(struct vr_replica *r)
{
	ASSERT(vr_is_primary(r));
	ASSERT(r->status == VR_STATUS_NORMAL);
	vr_execute_to(r, r->commit_max); /* §5.4 step 1: what the view change found committed */
	uint64_t k = r->commit;
	for (uint64_t x = r->commit + 1; x <= r->durable_op; x++) {
		uint8_t votes = 1; /* the primary's own copy, durable (x <= durable_op) */
#if VR_MUTANT == 3
		votes++; /* planted: the primary's own PREPAREOK counted twice */
#endif
		for (uint8_t i = 0; i < r->config.replica_count; i++)
			if (i != r->config.self && r->acked[i] >= x)
				votes++;
		if (votes < r->quorum)
			break;
		k = x;
	}
	vr_execute_to(r, k);
	if (r->config.witnesses)
		vr_learn_hold(r, vr_full_hold(r));
}

void vr_primary_tick(struct vr_replica *r)
{
	ASSERT(vr_is_primary(r));
	if (r->start_view_pending)
		return;
	vr_prepare_flush(r); /* what the driver left unsent */
	/* §4.5 step 1: COMMIT on a fixed period, whatever else is sent. */
	if (r->tick >= r->heartbeat_deadline) {
		/* With leases every heartbeat is a new barrier: its acknowledgements renew them. */
		if (r->config.lease_ns)
			vr_barrier_sent(r, ++r->read_nonce);
		struct vr_message m = { .command = VR_COMMIT,
			                .view = r->view,
			                .commit = r->commit,
			                .op = r->log.op,
			                .nonce = r->read_nonce,
			                .hold = r->hold };
		vr_send_all(r, &m);
		r->heartbeat_deadline = r->tick + r->config.heartbeat_ticks;
	}
	/* §4.5 step 2: resend PREPAREs that lack an ack, and STARTVIEW to whoever acks nothing. */
	if (r->tick >= r->resend_deadline) {
		r->resend_deadline = r->tick + r->config.prepare_resend_ticks;
		for (uint8_t i = 0; i < r->config.replica_count; i++) {
			if (i == r->config.self)
				continue;
			uint64_t from = (r->acked[i] > r->commit ? r->acked[i] : r->commit) + 1;
			uint64_t to = r->log.op;
			if (to >= from + r->config.pipeline_max)
				to = from + r->config.pipeline_max - 1;
			if (from <= to)
				vr_send_prepares(r, i, from, to);
			else if (r->config.witnesses && !vr_witness(r->config.witnesses, i) && r->acked[i] < r->log.op)
				/* §9.5: hold needs every full replica's acknowledgement, and one may have been
				 * lost after the op committed: the last op again asks for it (a duplicate). */
				vr_send_prepare(r, i, r->log.op, r->log.op);
		}
	}
}

/* A NORMAL backup: acknowledge what is durable, execute what is committed. */
void vr_backup_flush(struct vr_replica *r)
{
	ASSERT(!vr_is_primary(r));
	ASSERT(r->status == VR_STATUS_NORMAL);
	/* N1 (§9.1): PREPAREOK ⟨v, n⟩ only once 1..n and the view are durable; only to primary(v). */
	if (r->durable_op > r->ok_sent && vr_meta_durable(r) && vr_is_voter(r)) {
		struct vr_message m = { .command = VR_PREPARE_OK, .view = r->view, .op = r->durable_op };
		vr_send(r, vr_primary_of(r, r->view), &m);
		r->ok_sent = r->durable_op;
	}
	vr_execute_to(r, r->commit_max);
	if (r->state_wanted && r->tick >= r->state_deadline)
		vr_request_state(r);
}
