/*
 * vr_view_change.c — the view change (VR Revisited §4.2, VR-PROTOCOL.md §5):
 * STARTVIEWCHANGE, DOVIEWCHANGE, STARTVIEW, and what each side does after it.
 *
 * Invariants:
 *   V1  a replica sends SVC/DVC/STARTVIEW for view v only once view v is durable (§9.1).
 *   V2  every DVC a replica sends for one view is identical: its contents are the log,
 *       v', op and commit, none of which changes while in VIEW_CHANGE, and they are
 *       durable before the first send (dvc_view in struct vr_meta).
 *   V3  the new primary waits for f+1 DVCs including its own and picks the log with
 *       the largest v', then the largest op; the chosen op is >= every DVC's commit.
 *       The chosen log holds the entry at the largest commit-number k among the DVCs that
 *       the DVC with k reports (same checksum): a log that does not is passed over (V5).
 *   V4  RECOVERING replicas and replicas not yet voters (§6.2) send no SVC or DVC.
 *   V5  a replica that installed a checkpoint in a view change claims v' = 0 (vr_snapshot_meta),
 *       so a stale log from view 0 with more ops outranks it, though it holds ops committed
 *       since that the stale log has otherwise (or a log of a real v' outranks it that ends
 *       below its commit). Every DVC says the checksum of its entry k; a chosen log that ends
 *       below the largest k or differs there is excluded, the others' logs are asked for again
 *       (DVCs are resent), and the best of the rest is chosen.
 */
#include <string.h>

#include "replication/vr_internal.h"

/* §5.1: move to view v in status VIEW_CHANGE. Not while RECOVERING (§12.1). */
void vr_view_change_start(struct vr_replica *r, uint64_t view)
{
	ASSERT(view > r->view);
#if VR_MUTANT != 6
	ASSERT(r->status != VR_STATUS_RECOVERING);
#endif
	r->view = view;
	r->status = VR_STATUS_VIEW_CHANGE;
	r->svc_sent = false;
	r->dvc_decided = false;
	r->dvc_sent = false;
	r->start_view_pending = false;
	r->state_wanted = false;
	r->state_parts = false;
	r->fetch_op = 0;
	r->fetch_seen = 0;
	memset(r->svc_from, 0, sizeof(r->svc_from));
	memset(r->dvc, 0, sizeof(r->dvc));
	vr_persist_meta(r);
	r->view_change_deadline = vr_jitter(r, r->config.view_change_ticks);
	r->resend_deadline = r->tick + r->config.resend_ticks;
}

/* A lease granted (or possibly granted, before a restart) is unexpired on the own clock. */
static bool vr_lease_granted(const struct vr_replica *r)
{
#if VR_MUTANT == 10
	return false; /* planted: a backup votes in a view change while its lease holds */
#endif
	return r->config.lease_ns && r->io.monotonic(r->io.ctx) < r->lease_granted_until;
}

static uint8_t vr_count(const bool *set, uint8_t n)
{
	uint8_t count = 0;

	for (uint8_t i = 0; i < n; i++)
		count += set[i];
	return count;
}

static uint8_t vr_dvc_count(const struct vr_replica *r)
{
	uint8_t count = 0;

	for (uint8_t i = 0; i < r->config.replica_count; i++)
		count += r->dvc[i].present;
	return count;
}

/* The log that a DVC from replica i carried: the own log, or the copied candidate. */
static const struct vr_log *vr_dvc_log(const struct vr_replica *r, uint8_t i)
{
	return i == r->config.self ? &r->log : &r->candidate;
}

/* §5.3 step 4: is a better than b? Largest v', then largest op. */
static bool vr_dvc_better(const struct vr_dvc *a, const struct vr_dvc *b)
{
#if VR_MUTANT == 1
	return a->op > b->op; /* planted: v' ignored */
#endif
	if (a->last_normal_view != b->last_normal_view)
		return a->last_normal_view > b->last_normal_view;
	return a->op > b->op;
}

/* Records the DVC of replica i; entries[0..count) is its log first..op (the own log when i == self). */
static void vr_dvc_record(struct vr_replica *r, uint8_t i, const struct vr_dvc *d, const struct vr_entry *entries,
                          uint32_t count)
{
	ASSERT(!r->dvc[i].present);
	ASSERT(vr_primary_of(r, r->view) == r->config.self);
	bool best_valid = r->dvc[r->dvc_best].present && !r->dvc[r->dvc_best].excluded;
	if (best_valid && count) {
		const struct vr_dvc *best = &r->dvc[r->dvc_best];
		const struct vr_log *bl = vr_dvc_log(r, r->dvc_best);
		/* Two DVCs with one v' hold the same ops where both have them (hash chain). Not for
		 * v' = 0: a replica whose log is a checkpoint claims v' = 0 (vr_snapshot_meta), and its
		 * entry, committed in a later view, may differ from a stale view-0 log at that op
		 * (seed 51778). Ranking stays safe: a DVC of the quorum that committed it ranks above
		 * both. */
		if (best->last_normal_view == d->last_normal_view && d->last_normal_view > 0) {
			uint64_t x = best->op < d->op ? best->op : d->op;
			if (x >= entries[0].op && x >= bl->first && x <= bl->op &&
			    bl->entries[x - bl->first].checksum != entries[x - entries[0].op].checksum)
				return vr_violation(r, "do_view_change: two logs of one v' disagree");
		}
	}
	bool excluded = r->dvc[i].excluded;
	r->dvc[i] = *d;
	r->dvc[i].present = true;
	r->dvc[i].excluded = excluded;
	r->svc_from[i] = true;
	if (!excluded && (!best_valid || vr_dvc_better(d, &r->dvc[r->dvc_best]))) {
		r->dvc_best = i;
		r->fetch_op = 0;
		if (i != r->config.self)
			vr_candidate_copy(r, entries, count);
	}
}

/*
 * §9.4: the chosen log (a part of its sender's) starts past where the own log could join it.
 * The logs agree up to the own commit, so the entries from commit+1 up to the candidate's first
 * are what may be missing: ask the chosen DVC's sender for the part just below the candidate.
 * False when asking cannot help (the candidate already reaches down to the own commit, or the
 * own first entry, or it fills the window).
 */
static bool vr_dvc_fetch(struct vr_replica *r)
{
	const struct vr_log *c = &r->candidate;

	if (!r->config.part_ops && !r->config.part_bytes)
		return false; /* DVCs carry whole logs: the sender holds nothing below */
	if (c->first <= r->commit + 1 || c->first <= r->log.first || vr_log_count(c) >= c->capacity)
		return false;
	if (r->fetch_op != c->first - 1 || r->tick >= r->fetch_deadline) {
		struct vr_message m = {
			.command = VR_GET_LOG,
			.view = r->view,
			.op = c->first - 1,
			.commit = r->commit,
		};
		r->fetch_op = c->first - 1;
		r->fetch_deadline = r->tick + r->config.resend_ticks;
		vr_send(r, r->dvc_best, &m);
	}
	return true;
}

/* The chosen log's entry at x once it joins the own log at candidate index from. */
static const struct vr_entry *vr_chosen_entry(const struct vr_replica *r, int64_t from, uint64_t x)
{
	const struct vr_log *c = &r->candidate;

	if (r->dvc_best != r->config.self && x >= c->first + (uint64_t)from && x <= c->op)
		return &c->entries[x - c->first];
	return vr_log_entry(r, x); /* the own entry, or none below the own checkpoint (committed) */
}

/*
 * V5: the chosen log differs from the entry that the DVC with the largest commit-number says
 * is committed there. It is passed over for good in this view; the other DVCs' logs (not kept)
 * come again with their resends, and the best of the rest is chosen then.
 */
static void vr_dvc_exclude(struct vr_replica *r)
{
	vr_note(r, "view change: the chosen log lacks a committed op (V5); choosing another");
	r->dvc[r->dvc_best].excluded = true;
	r->fetch_op = 0;
	for (uint8_t i = 0; i < r->config.replica_count; i++)
		if (i != r->config.self && r->dvc[i].present && !r->dvc[i].excluded)
			r->dvc[i].present = false;
	r->dvc_best = r->config.self; /* valid only when not excluded itself */
}

/*
 * §5.3 steps 5-7: f+1 DVCs are in; install the chosen log and become NORMAL. Not when the
 * chosen log starts beyond what this replica holds (it lagged past a checkpoint of the
 * others): then the view change waits for its timeout and the next view's primary.
 */
static void vr_dvc_complete(struct vr_replica *r)
{
	uint64_t k_new = 0, k_head = 0;
	int64_t from = 0;

	ASSERT(r->status == VR_STATUS_VIEW_CHANGE);
	ASSERT(r->dvc[r->config.self].present);
	for (uint8_t i = 0; i < r->config.replica_count; i++) {
		if (r->dvc[i].present && r->dvc[i].commit > k_new) {
			k_new = r->dvc[i].commit;
			k_head = r->dvc[i].commit_head;
		}
	}
	if (!r->dvc[r->dvc_best].present || r->dvc[r->dvc_best].excluded)
		return; /* the logs of the rest are on their way again (V5) */
	if (r->dvc[r->dvc_best].op < k_new) {
		/* §12.3: it cannot be among replicas that all say their v'; a checkpoint's v' = 0 (V5)
		 * makes it possible: the chosen log lacks a committed op. */
		vr_dvc_exclude(r);
		return;
	}
	if (r->dvc_best != r->config.self) {
		from = vr_log_bridge(r, r->candidate.entries, vr_log_count(&r->candidate));
		if (from < 0) {
			if (!vr_log_trim(r, r->candidate.entries, vr_log_count(&r->candidate), k_new))
				return; /* the epoch ended */
			from = vr_log_bridge(r, r->candidate.entries, vr_log_count(&r->candidate));
		}
		if (from < 0 && vr_dvc_fetch(r))
			return; /* the entries below the chosen part are on their way */
		if (from < 0) {
			if (r->dvc_stalled_view != r->view)
				vr_note(r, "view change: the chosen log starts past this replica's; waiting for the "
				           "next view");
			r->dvc_stalled_view = r->view;
			return;
		}
	}
	const struct vr_entry *at_k = k_new ? vr_chosen_entry(r, from, k_new) : NULL;
	if (at_k && at_k->checksum != k_head) {
		vr_dvc_exclude(r);
		return;
	}
	r->status = VR_STATUS_NORMAL;
	r->last_normal_view = r->view;
	r->dvc_decided = false;
	r->fetch_op = 0;
	if (r->dvc_best != r->config.self) {
		const struct vr_log *best = &r->candidate;
		/* with the view (§12.8) */
		vr_log_install(r, best->entries + from, vr_log_count(best) - (uint32_t)from, best->op);
	} else {
		vr_persist_meta(r);
	}
	ASSERT(r->log.op == r->dvc[r->dvc_best].op);
	ASSERT(r->log.op >= k_new); /* §12.3 */
	ASSERT(r->log.op >= r->commit);
	memset(r->acked, 0, sizeof(r->acked));
	memset(r->read_acked, 0, sizeof(r->read_acked));
	memset(r->lease_until, 0, sizeof(r->lease_until));
	r->commit_max = k_new;
	r->view_start_op = r->log.op;
	r->prepare_sent = r->log.op; /* the starting log goes out in STARTVIEW */
	r->start_view_pending = true;
	r->heartbeat_deadline = r->tick;
	r->resend_deadline = r->tick + r->config.prepare_resend_ticks;
	vr_note(r, "view change: new primary");
}

/*
 * STARTVIEW ⟨v, l, n, k⟩. The first carries the chosen log; one resent later to a
 * replica that missed it carries the current log, which extends the chosen one (S4).
 * Either as its newest part (§9.4): a receiver whose log does not join it catches up.
 */
void vr_send_start_view(struct vr_replica *r, uint8_t to)
{
	struct vr_message m = {
		.command = VR_START_VIEW,
		.view = r->view,
		.op = r->log.op,
		.commit = r->commit > r->commit_max ? r->commit : r->commit_max,
	};

	ASSERT(r->status == VR_STATUS_NORMAL);
	ASSERT(vr_is_primary(r));
	ASSERT(!r->start_view_pending);
	ASSERT(r->log.op >= r->view_start_op);
	vr_message_log(r, &m);
	vr_send(r, to, &m);
}

void vr_view_change_flush(struct vr_replica *r)
{
	ASSERT(r->status == VR_STATUS_VIEW_CHANGE);
	if (!vr_is_voter(r))
		return; /* §6.2 */
	/* §5.1 step 4: SVC once the view is durable (V1). */
	if (!r->svc_sent && vr_meta_durable(r)) {
		struct vr_message m = { .command = VR_START_VIEW_CHANGE, .view = r->view };
		if (vr_is_primary(r) && r->fetch_op)
			m.op = r->candidate.first; /* §9.4: how far the chosen log has come (progress) */
		vr_send_all(r, &m);
		r->svc_sent = true;
	}
	/* §9.7 rule 2: no DVC (the own one at the new primary included) while a lease this
	 * replica granted may still be held by the primary of an earlier view. */
	bool leased = vr_lease_granted(r);
	/* §5.2 step 2: f SVCs from others fix the DVC; it is persisted before it is sent (V2). */
	uint8_t svcs = vr_count(r->svc_from, r->config.replica_count) - r->svc_from[r->config.self];
	if (!r->dvc_decided && svcs >= r->f && !leased) {
		r->dvc_decided = true;
		vr_persist_meta(r);
	}
	if (r->dvc_decided && !r->dvc_sent && !leased && vr_meta_durable(r) && r->durable_op == r->log.op) {
		const struct vr_entry *k = vr_log_entry(r, r->commit);
		struct vr_dvc d = {
			.last_normal_view = r->last_normal_view,
			.op = r->log.op,
			.commit = r->commit,
			.commit_head = k ? k->checksum : 0,
		};
		uint8_t primary = vr_primary_of(r, r->view);
		r->dvc_sent = true;
		if (primary == r->config.self) {
			if (!r->dvc[r->config.self].present)
				vr_dvc_record(r, r->config.self, &d, r->log.entries, vr_log_count(&r->log));
		} else {
			struct vr_message m = {
				.command = VR_DO_VIEW_CHANGE,
				.view = r->view,
				.last_normal_view = d.last_normal_view,
				.op = d.op,
				.commit = d.commit,
				.nonce = d.commit_head,
			};
			vr_message_log(r, &m); /* the rest on request (GET_LOG) */
			vr_send(r, primary, &m);
		}
	}
	/* §5.3 step 3: f+1 DVCs including the own. */
	uint8_t needed = r->quorum;
#if VR_MUTANT == 5
	needed = r->f; /* planted: one DVC too few */
#endif
	if (vr_is_primary(r) && r->dvc[r->config.self].present && vr_dvc_count(r) >= needed)
		vr_dvc_complete(r);
}

/* Filter shared by SVC and DVC: joins a later view; true when the message is done with. */
static bool vr_view_change_filter(struct vr_replica *r, const struct vr_message *m)
{
	if (r->status == VR_STATUS_RECOVERING) {
#if VR_MUTANT == 6
		if (m->view > r->view) { /* planted: a recovering replica votes */
			vr_view_change_start(r, m->view);
			return false;
		}
#endif
		vr_log_drop(r, "view change: recovering");
		return true;
	}
	if (m->view < r->view) {
		vr_log_drop(r, "view change: older view");
		return true;
	}
	if (m->view > r->view)
		vr_view_change_start(r, m->view);
	if (r->status == VR_STATUS_NORMAL) {
		/* The sender missed our STARTVIEW: send it again. */
		if (vr_is_primary(r) && !r->start_view_pending)
			vr_send_start_view(r, m->replica);
		return true;
	}
	if (r->status != VR_STATUS_VIEW_CHANGE) {
		vr_log_drop(r, "view change: catching up in this view");
		return true;
	}
	return false;
}

/* §5.2: SVC ⟨v, i⟩. */
void vr_on_start_view_change(struct vr_replica *r, const struct vr_message *m)
{
	if (vr_view_change_filter(r, m))
		return;
	r->svc_from[m->replica] = true;
	/* §9.4: the new primary is taking the chosen log in parts and has come further since its
	 * last SVC: the view change is making progress, so it is not timed out meanwhile. */
	if (m->op && m->op != r->fetch_seen && m->replica == vr_primary_of(r, r->view)) {
		r->fetch_seen = m->op;
		r->view_change_deadline = vr_jitter(r, r->config.view_change_ticks);
	}
}

/* §5.3: the new primary receives DVC ⟨v, l, v', n, k, i⟩. */
void vr_on_do_view_change(struct vr_replica *r, const struct vr_message *m)
{
	if (vr_view_change_filter(r, m))
		return;
	r->svc_from[m->replica] = true; /* a DVC for v means its sender is in the view change */
	if (!vr_is_primary(r))
		return vr_log_drop(r, "do_view_change: not primary of the view");
	if (r->dvc[m->replica].present)
		return; /* duplicate: identical by V2 */
	struct vr_dvc d = {
		.last_normal_view = m->last_normal_view,
		.op = m->op,
		.commit = m->commit,
		.commit_head = m->nonce,
	};
	vr_dvc_record(r, m->replica, &d, m->entries, m->entry_count);
}

/* §5.5: a replica receives STARTVIEW ⟨v, l, n, k⟩. */
void vr_on_start_view(struct vr_replica *r, const struct vr_message *m)
{
	if (r->status == VR_STATUS_RECOVERING)
		return vr_log_drop(r, "start_view: recovering");
	if (m->view < r->view || (m->view == r->view && r->status == VR_STATUS_NORMAL))
		return vr_log_drop(r, "start_view: not newer");
	if (m->replica != vr_primary_of(r, m->view))
		return vr_log_drop(r, "start_view: sender is not primary of the view");
	/* A late copy of the view's first STARTVIEW, shorter than the state a checkpoint gave this
	 * replica: the primary sends its current log when asked again (SVC). */
	if (m->op < r->commit)
		return vr_log_drop(r, "start_view: shorter than what is committed here");
	/* S3 (the committed prefix is in every later STARTVIEW log) is checked by vr_log_bridge:
	 * a log that breaks it is not installed. */
	int64_t from = vr_log_bridge(r, m->entries, m->entry_count);
	if (from < 0) {
		if (!vr_log_trim(r, m->entries, m->entry_count, m->commit))
			return; /* the epoch ended */
		from = vr_log_bridge(r, m->entries, m->entry_count);
	}
	if (from < 0) {
		/* The view's log starts past this replica's: catch up (NEWSTATE, then a checkpoint). */
		vr_catch_up(r, m->view);
		return;
	}
	vr_backup_install(r, m->view, m->entry_count ? m->entries + from : NULL, m->entry_count - (uint32_t)from, m->op,
	                  m->commit);
}

/*
 * §9.4: the new primary of this view asks for the part of the log in this replica's DVC that
 * ends at op, above its commit. The log is the DVC's while this replica is in VIEW_CHANGE of
 * that view with its DVC decided (V2). Serving a part is progress: the view change waits on.
 */
void vr_on_get_log(struct vr_replica *r, const struct vr_message *m)
{
	if (r->status != VR_STATUS_VIEW_CHANGE || m->view != r->view || !r->dvc_decided)
		return vr_log_drop(r, "get_log: no DVC decided in that view");
	if (m->replica != vr_primary_of(r, m->view))
		return vr_log_drop(r, "get_log: asker is not primary of the view");
	uint64_t low = m->commit + 1 > r->log.first ? m->commit + 1 : r->log.first;
	if (m->op > r->log.op || m->op < low)
		return vr_log_drop(r, "get_log: those entries are not in the log");
	uint64_t start = vr_part_start(r, low, m->op);
	struct vr_message reply = {
		.command = VR_LOG,
		.view = r->view,
		.op = m->op,
		.entry_count = (uint32_t)(m->op - start + 1),
	};
	reply.entries = vr_log_range(r, start, reply.entry_count);
	vr_send(r, m->replica, &reply);
	r->view_change_deadline = vr_jitter(r, r->config.view_change_ticks);
}

/* §9.4: the new primary receives a part of the chosen log, just below what it holds of it. */
void vr_on_log(struct vr_replica *r, const struct vr_message *m)
{
	struct vr_log *c = &r->candidate;

	if (r->status != VR_STATUS_VIEW_CHANGE || m->view != r->view || !vr_is_primary(r))
		return vr_log_drop(r, "log: not a new primary of that view");
	if (!r->fetch_op || m->replica != r->dvc_best || m->op != r->fetch_op || m->op + 1 != c->first)
		return vr_log_drop(r, "log: not asked for");
	if (m->entries[m->entry_count - 1].checksum != c->entries[0].parent)
		return vr_violation(r, "log: does not chain onto the chosen log");
	if ((uint64_t)vr_log_count(c) + m->entry_count > c->capacity)
		return vr_log_drop(r, "log: longer than the window");
	vr_candidate_prepend(r, m->entries, m->entry_count);
	r->log_parts++;
	r->fetch_op = 0;
	r->view_change_deadline = vr_jitter(r, r->config.view_change_ticks);
}

void vr_view_change_tick(struct vr_replica *r)
{
	ASSERT(r->status == VR_STATUS_VIEW_CHANGE);
	if (r->tick >= r->view_change_deadline) {
		vr_note(r, "view change: stalled, moving to the next view");
		vr_view_change_start(r, r->view + 1);
		return;
	}
	if (r->tick >= r->resend_deadline) { /* resend for the same view (§5.1 step 4) */
		r->resend_deadline = r->tick + r->config.resend_ticks;
		r->svc_sent = false;
		if (!vr_is_primary(r))
			r->dvc_sent = false;
	}
}
