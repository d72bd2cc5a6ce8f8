/*
 * vr_recovery.c — a replica that lost its disk (VR Revisited §4.3, VR-PROTOCOL.md §6)
 * and state transfer for a lagging replica (§5.2, VR-PROTOCOL.md §7).
 *
 * Invariants:
 *   R1  a RECOVERING replica sends only RECOVERY; it answers nothing and votes in nothing.
 *   R2  recovery completes only from responses that echo the current nonce, from f+1
 *       distinct replicas, one of them primary(V) for the largest view V among them.
 *   R3  after recovering in view V the replica votes only from view V+2 on (§6.2).
 *   R4  a CATCHING_UP replica keeps view and v' until the new view's log is installed
 *       (§12.2), and sends no PREPAREOK meanwhile.
 */
#include <string.h>

#include "replication/vr_internal.h"

static void vr_send_recovery(struct vr_replica *r)
{
	struct vr_message m = { .command = VR_RECOVERY, .nonce = r->nonce };

	vr_send_all(r, &m);
	r->resend_deadline = r->tick + r->config.resend_ticks;
}

/* §6.1 step 1. The nonce is fresh for every recovery, also after a crash during one. */
void vr_recovery_start(struct vr_replica *r)
{
	r->status = VR_STATUS_RECOVERING;
	r->state_parts = false;
	r->nonce = vr_random(r) | 1;
	r->recovery_primary_present = false;
	r->recovery_primary_view = 0;
	memset(r->recovery_from, 0, sizeof(r->recovery_from));
	memset(r->recovery_view, 0, sizeof(r->recovery_view));
	vr_persist_meta(r);
	vr_send_recovery(r);
}

/* §6.1 step 2: a NORMAL voter answers; the primary adds its log. */
void vr_on_recovery(struct vr_replica *r, const struct vr_message *m)
{
	/* The sender's log is gone: acks from its earlier incarnation no longer hold anything. */
	r->acked[m->replica] = 0;
	if (r->status != VR_STATUS_NORMAL)
		return vr_log_drop(r, "recovery: not normal");
	if (!vr_is_voter(r))
		return vr_log_drop(r, "recovery: not a voter yet");
	if (!vr_meta_durable(r))
		return vr_log_drop(r, "recovery: view not durable yet");
	struct vr_message reply = { .command = VR_RECOVERY_RESPONSE, .view = r->view, .nonce = m->nonce };
	if (vr_is_primary(r)) {
		if (r->start_view_pending)
			return vr_log_drop(r, "recovery: view not started yet");
		reply.op = r->log.op;
		reply.commit = r->commit;
		vr_message_log(r, &reply); /* its newest part: an older log comes with a checkpoint */
	}
	vr_send(r, m->replica, &reply);
}

static void vr_recovery_complete(struct vr_replica *r, uint64_t view)
{
	const struct vr_log *l = &r->candidate;

	ASSERT(r->recovery_primary_present);
	ASSERT(r->recovery_primary_view == view);
	ASSERT(l->op >= r->commit);
	int64_t from = vr_log_bridge(r, l->entries, vr_log_count(l));
	if (from < 0) {
		/* The primary's log starts after a checkpoint (or is longer than this replica's log
		 * window from its own first entry): its state first, then recovery again. */
		uint64_t min = l->first - 1;
		if (l->op >= r->config.log_capacity && l->op - r->config.log_capacity + 1 > min)
			min = l->op - r->config.log_capacity + 1;
		vr_want_snapshot(r, min, view);
		return;
	}
	r->voter_view = view + 2; /* R3: durable with the install */
	vr_backup_install(r, view, vr_log_count(l) ? l->entries + from : NULL, vr_log_count(l) - (uint32_t)from, l->op,
	                  r->recovery_commit);
	vr_note(r, "recovery: complete");
	/* §6.2: ask for the first view it may vote in, so that it does not stay silent for good. */
	vr_view_change_start(r, r->voter_view);
}

/* §6.1 step 3. */
void vr_on_recovery_response(struct vr_replica *r, const struct vr_message *m)
{
	if (r->status != VR_STATUS_RECOVERING)
		return vr_log_drop(r, "recovery_response: not recovering");
	if (m->nonce != r->nonce)
		return vr_log_drop(r, "recovery_response: other nonce"); /* R2 */
	bool from_primary = m->replica == vr_primary_of(r, m->view);
	if (from_primary && m->op > 0 && m->entry_count == 0)
		return vr_log_drop(r, "recovery_response: primary without its log");
	r->recovery_from[m->replica] = true;
	if (m->view > r->recovery_view[m->replica])
		r->recovery_view[m->replica] = m->view;
	if (from_primary && (!r->recovery_primary_present || m->view >= r->recovery_primary_view)) {
		/* The log must hold what this replica executed before (none after a disk loss). */
		if (r->commit > m->op)
			return vr_log_drop(r, "recovery_response: log shorter than commit");
		vr_candidate_copy(r, m->entries, m->entry_count);
		r->recovery_primary_present = true;
		r->recovery_primary_view = m->view;
		r->recovery_commit = m->commit;
	}

	uint8_t count = 0;
	uint64_t view = 0;
	for (uint8_t i = 0; i < r->config.replica_count; i++) {
		if (!r->recovery_from[i])
			continue;
		count++;
		if (r->recovery_view[i] > view)
			view = r->recovery_view[i];
	}
	if (count >= r->quorum && r->recovery_primary_present && r->recovery_primary_view == view)
		vr_recovery_complete(r, view);
}

void vr_recovery_tick(struct vr_replica *r)
{
	if (r->tick >= r->resend_deadline)
		vr_send_recovery(r); /* same nonce */
}

/* GETSTATE ⟨v, n', i⟩ to primary(v): after op (case A) or after commit (case B). */
void vr_request_state(struct vr_replica *r)
{
	struct vr_message m = { .command = VR_GET_STATE };

	if (r->status == VR_STATUS_CATCHING_UP) {
		m.view = r->catch_up_view;
		m.op = r->state_parts ? r->candidate.op : r->commit; /* §9.4: after the parts held */
	} else {
		ASSERT(r->status == VR_STATUS_NORMAL);
		m.view = r->view;
		m.op = r->log.op;
	}
	uint8_t primary = vr_primary_of(r, m.view);
	if (primary != r->config.self)
		vr_send(r, primary, &m);
	r->state_wanted = false;
	r->state_deadline = r->tick + r->config.resend_ticks;
}

/* §7 case B: the group is NORMAL in a later view (or in the one we are changing to). */
void vr_catch_up(struct vr_replica *r, uint64_t view)
{
	ASSERT(view >= r->view);
	ASSERT(r->status != VR_STATUS_RECOVERING);
	if (r->status != VR_STATUS_CATCHING_UP || r->catch_up_view != view)
		r->state_parts = false;
	r->status = VR_STATUS_CATCHING_UP;
	r->catch_up_view = view;
	r->liveness_deadline = vr_jitter(r, r->config.liveness_ticks);
	vr_request_state(r);
}

/* §7 responder: NORMAL in the asked view; entries after n', their oldest part (§9.4). */
void vr_on_get_state(struct vr_replica *r, const struct vr_message *m)
{
	if (r->status != VR_STATUS_NORMAL || r->view != m->view)
		return vr_log_drop(r, "get_state: not normal in that view");
	if ((vr_is_primary(r) && r->start_view_pending) || !vr_meta_durable(r))
		return vr_log_drop(r, "get_state: view not started yet");
	struct vr_message reply = { .command = VR_NEW_STATE, .view = r->view, .op = r->log.op, .commit = r->commit };
	if (m->op < r->log.op) {
		/* From n'+1, or from the own first entry when that is later (after a checkpoint). */
		uint64_t from = m->op + 1 > r->log.first ? m->op + 1 : r->log.first;
		reply.entry_count = (uint32_t)(vr_part_end(r, from, r->log.op) - from + 1);
		reply.entries = vr_log_range(r, from, reply.entry_count);
	}
	vr_send(r, m->replica, &reply);
}

/*
 * §9.4: a part of the view's log that ends below op. The parts are gathered in candidate, from
 * commit+1 on, each chained onto the one before, until one ends at its message's op (the
 * primary's log only grows in its view): true and *whole is that log. False while more is to
 * come (asked for at once), or when the part is dropped.
 */
static bool vr_new_state_part(struct vr_replica *r, const struct vr_message *m, struct vr_message *whole)
{
	struct vr_log *c = &r->candidate;
	const struct vr_entry *last = &m->entries[m->entry_count - 1];

	if (r->state_parts && c->first == r->commit + 1 && m->entries[0].op == c->op + 1 &&
	    m->entries[0].parent == c->entries[vr_log_count(c) - 1].checksum) {
		if ((uint64_t)vr_log_count(c) + m->entry_count > c->capacity) {
			r->state_parts = false;
			vr_log_drop(r, "new_state: longer than the window");
			return false;
		}
		vr_candidate_extend(r, m->entries, m->entry_count);
	} else {
		const struct vr_entry *own = vr_log_entry(r, r->commit);
		if (m->entries[0].op != r->commit + 1 ||
		    (r->commit && (!own || own->checksum != m->entries[0].parent))) {
			r->state_parts = false;
			vr_log_drop(r, "new_state: part does not chain onto the committed log");
			return false;
		}
		vr_candidate_copy(r, m->entries, m->entry_count);
		r->state_parts = true;
	}
	r->log_parts++;
	if (last->op < m->op) {
		vr_request_state(r); /* the next part */
		return false;
	}
	*whole = *m;
	whole->entries = c->entries;
	whole->entry_count = vr_log_count(c);
	r->state_parts = false;
	return true;
}

/* §7 case B step 3: replace everything above commit with the view's log. */
static void vr_new_state_install(struct vr_replica *r, const struct vr_message *m)
{
	struct vr_message whole;

	if (m->op < r->commit)
		return vr_log_drop(r, "new_state: log shorter than commit");
	if (m->entry_count == 0 && m->op != r->commit)
		return vr_log_drop(r, "new_state: entries missing");
	bool next = r->state_parts && m->entry_count && m->entries[0].op == r->candidate.op + 1;
	if (next ||
	    (m->entry_count && m->entries[m->entry_count - 1].op < m->op && m->entries[0].op <= r->commit + 1)) {
		if (!vr_new_state_part(r, m, &whole))
			return;
		m = &whole;
	}
	if (m->entry_count && m->entries[0].op > r->commit + 1) {
		/* The primary truncated past our commit: its checkpoint first. */
		vr_want_snapshot(r, m->entries[0].op - 1, m->view);
		return;
	}
	int64_t from = vr_log_bridge(r, m->entries, m->entry_count);
	if (from < 0 && m->op - r->log.first >= r->config.log_capacity) {
		/* Longer than the log window from the own first entry: a checkpoint first. */
		vr_want_snapshot(r, m->op - r->config.log_capacity + 1, m->view);
		return;
	}
	if (from < 0)
		return vr_log_drop(r, "new_state: does not chain onto the committed log");
	vr_backup_install(r, m->view, m->entry_count ? m->entries + from : NULL, m->entry_count - (uint32_t)from, m->op,
	                  m->commit);
}

/* §7 case A step 2: same view, append what is missing. Never remove: this view's log only grows. */
static void vr_new_state_extend(struct vr_replica *r, const struct vr_message *m)
{
	uint32_t i = 0;

	if (m->entry_count == 0)
		return vr_log_drop(r, "new_state: no entries");
	if (m->entries[0].op > r->log.op + 1) {
		/* The primary truncated past our op: its checkpoint first. */
		vr_want_snapshot(r, m->entries[0].op - 1, r->view);
		return;
	}
	while (i < m->entry_count && m->entries[i].op <= r->log.op) {
		const struct vr_entry *own = vr_log_entry(r, m->entries[i].op);
		if (own && m->entries[i].checksum != own->checksum)
			return vr_log_drop(r, "new_state: differs from the log in the same view");
		i++;
	}
	if (i == m->entry_count)
		return;
	if (r->log.op > 0 && m->entries[i].parent != vr_log_entry(r, r->log.op)->checksum)
		return vr_log_drop(r, "new_state: does not chain onto the log");
	if (r->log.op + (m->entry_count - i) - r->log.first >= r->config.log_capacity)
		return vr_log_drop(r, "new_state: log full");
	uint64_t first = r->log.op + 1;
	for (; i < m->entry_count; i++)
		vr_log_append(r, &m->entries[i]);
	vr_log_persist_from(r, first);
	if (m->commit > r->commit_max)
		r->commit_max = m->commit;
	if (r->log.op < m->op) {
		r->log_parts++;
		vr_request_state(r); /* the next part (§9.4) */
	}
}

void vr_on_new_state(struct vr_replica *r, const struct vr_message *m)
{
	if (m->replica != vr_primary_of(r, m->view))
		return vr_log_drop(r, "new_state: sender is not primary of its view");
	if (r->status == VR_STATUS_CATCHING_UP && m->view == r->catch_up_view)
		return vr_new_state_install(r, m);
	if (r->status == VR_STATUS_NORMAL && m->view == r->view && !vr_is_primary(r))
		return vr_new_state_extend(r, m);
	vr_log_drop(r, "new_state: not asked for");
}

void vr_state_tick(struct vr_replica *r)
{
	if (r->status == VR_STATUS_CATCHING_UP && r->tick >= r->liveness_deadline) {
		vr_note(r, "catch up: no answer, starting a view change");
		vr_view_change_start(r, r->catch_up_view + 1);
		return;
	}
	if ((r->state_wanted || r->status == VR_STATUS_CATCHING_UP) && r->tick >= r->state_deadline)
		vr_request_state(r);
}
