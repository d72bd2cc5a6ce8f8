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
 *   V4  RECOVERING replicas and replicas not yet voters (§6.2) send no SVC or DVC.
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
	if (vr_dvc_count(r) > 0 && count) {
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
	r->dvc[i] = *d;
	r->dvc[i].present = true;
	r->svc_from[i] = true;
	if (vr_dvc_count(r) == 1 || vr_dvc_better(d, &r->dvc[r->dvc_best])) {
		r->dvc_best = i;
		if (i != r->config.self)
			vr_log_copy(&r->candidate, entries, count, r->config.body_size_max);
	}
}

/*
 * §5.3 steps 5-7: f+1 DVCs are in; install the chosen log and become NORMAL. Not when the
 * chosen log starts beyond what this replica holds (it lagged past a checkpoint of the
 * others): then the view change waits for its timeout and the next view's primary.
 */
static void vr_dvc_complete(struct vr_replica *r)
{
	uint64_t k_new = 0;
	int64_t from = 0;

	ASSERT(r->status == VR_STATUS_VIEW_CHANGE);
	ASSERT(r->dvc[r->config.self].present);
	for (uint8_t i = 0; i < r->config.replica_count; i++)
		if (r->dvc[i].present && r->dvc[i].commit > k_new)
			k_new = r->dvc[i].commit;
	if (r->dvc[r->dvc_best].op < k_new) { /* §12.3: cannot be among correct replicas */
		if (r->dvc_stalled_view != r->view)
			vr_violation(r, "view change: the chosen log ends below a commit-number");
		r->dvc_stalled_view = r->view;
		return;
	}
	if (r->dvc_best != r->config.self) {
		from = vr_log_bridge(r, r->candidate.entries, vr_log_count(&r->candidate));
		if (from < 0) {
			if (!vr_log_trim(r, r->candidate.entries, vr_log_count(&r->candidate)))
				return; /* the epoch ended */
			from = vr_log_bridge(r, r->candidate.entries, vr_log_count(&r->candidate));
		}
		if (from < 0) {
			if (r->dvc_stalled_view != r->view)
				vr_note(r, "view change: the chosen log starts past this replica's; waiting for the "
				           "next view");
			r->dvc_stalled_view = r->view;
			return;
		}
	}
	r->status = VR_STATUS_NORMAL;
	r->last_normal_view = r->view;
	r->dvc_decided = false;
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
 */
void vr_send_start_view(struct vr_replica *r, uint8_t to)
{
	struct vr_message m = {
		.command = VR_START_VIEW,
		.view = r->view,
		.op = r->log.op,
		.commit = r->commit > r->commit_max ? r->commit : r->commit_max,
		.entry_count = vr_log_count(&r->log),
		.entries = r->log.entries,
	};

	ASSERT(r->status == VR_STATUS_NORMAL);
	ASSERT(vr_is_primary(r));
	ASSERT(!r->start_view_pending);
	ASSERT(r->log.op >= r->view_start_op);
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
		struct vr_dvc d = {
			.last_normal_view = r->last_normal_view,
			.op = r->log.op,
			.commit = r->commit,
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
				.entry_count = vr_log_count(&r->log),
				.entries = r->log.entries,
			};
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
	struct vr_dvc d = { .last_normal_view = m->last_normal_view, .op = m->op, .commit = m->commit };
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
		if (!vr_log_trim(r, m->entries, m->entry_count))
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
