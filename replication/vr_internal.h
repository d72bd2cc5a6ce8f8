/*
 * vr_internal.h — functions shared between the files of the VR core. Not for use
 * outside replication/vr_*.c.
 *
 * Planted bugs (VR_MUTANT=N at build time; `make sim-mutants` proves the simulator
 * catches each one; 0, the default, plants none):
 *   1  the new primary picks the log by op-number alone, ignoring last_normal_view;
 *   2  a backup sends PREPAREOK before the op is durable;
 *   3  the primary counts its own PREPAREOK twice;
 *   4  the client table is not consulted (a retried request executes again);
 *   5  STARTVIEW is sent after f DOVIEWCHANGEs instead of f+1;
 *   6  a RECOVERING replica takes part in view changes (UWSysLab/tapir issue #15);
 *   7  the view is not persisted before the replica speaks in it;
 *   8  after a checkpoint from another replica, the replica claims NORMAL in the view asked
 *      for, as if the checkpoint alone were that view's log (vr_snapshot_meta);
 *   9  a primary serves reads without the barrier (it trusts itself to still be primary).
 *  10  a backup decides its DVC while a lease it granted still holds.
 *  11  the primary holds a lease as long as it was granted, with no margin for clock drift.
 *  12  a read at a backup is answered before the backup has the client's own writes.
 *  13  the primary takes requests after a RECONFIGURE (it is no longer the epoch's last op).
 *  14  with witnesses, logs are truncated past ops that a full replica may lack (hold ignored).
 */
#ifndef VR_INTERNAL_H
#define VR_INTERNAL_H

#include "replication/vr.h"
#include "replication/vr_assert.h"

#ifndef VR_MUTANT
#define VR_MUTANT 0
#endif
#define VR_MUTANT_COUNT 14

static inline uint8_t vr_primary_of(const struct vr_replica *r, uint64_t view)
{
	return vr_primary_index(view, r->config.replica_count, r->config.witnesses);
}

static inline bool vr_is_witness(const struct vr_replica *r)
{
	return vr_witness(r->config.witnesses, r->config.self);
}

/* vr_replica.c */
void vr_log_drop(struct vr_replica *r, const char *why);
void vr_note(struct vr_replica *r, const char *what);
uint64_t vr_random(struct vr_replica *r);
uint64_t vr_jitter(struct vr_replica *r, uint32_t ticks);
bool vr_is_voter(const struct vr_replica *r);
void vr_send(struct vr_replica *r, uint8_t to, struct vr_message *m);
void vr_send_all(struct vr_replica *r, struct vr_message *m);
uint64_t vr_persist_meta(struct vr_replica *r);
bool vr_meta_durable(const struct vr_replica *r);
void vr_log_append(struct vr_replica *r, const struct vr_entry *e);
void vr_log_persist_from(struct vr_replica *r, uint64_t from);
void vr_log_install(struct vr_replica *r, const struct vr_entry *entries, uint32_t count, uint64_t op);
void vr_backup_install(struct vr_replica *r, uint64_t view, const struct vr_entry *entries, uint32_t count, uint64_t op,
                       uint64_t commit);
void vr_candidate_copy(struct vr_replica *r, const struct vr_entry *entries, uint32_t count);
int64_t vr_log_bridge(const struct vr_replica *r, const struct vr_entry *entries, uint32_t count);
void vr_want_snapshot(struct vr_replica *r, uint64_t min_op, uint64_t view);
void vr_violation(struct vr_replica *r, const char *why);
void vr_execute_to(struct vr_replica *r, uint64_t k);
void vr_checkpoint(struct vr_replica *r);
bool vr_log_trim(struct vr_replica *r, const struct vr_entry *entries, uint32_t count, uint64_t committed);
uint64_t vr_part_start(const struct vr_replica *r, uint64_t low, uint64_t last);
uint64_t vr_part_end(const struct vr_replica *r, uint64_t from, uint64_t last);
void vr_message_log(struct vr_replica *r, struct vr_message *m);
const struct vr_entry *vr_log_range(struct vr_replica *r, uint64_t from, uint32_t count);
void vr_candidate_extend(struct vr_replica *r, const struct vr_entry *entries, uint32_t count);
void vr_candidate_prepend(struct vr_replica *r, const struct vr_entry *entries, uint32_t count);
void vr_learn_hold(struct vr_replica *r, uint64_t hold);
struct vr_client_slot *vr_client_find(struct vr_replica *r, uint64_t client_id, uint32_t *index);
void vr_reply_slot(struct vr_replica *r, const struct vr_client_slot *slot);

/* vr_normal.c */
void vr_on_request(struct vr_replica *r, const struct vr_message *m);
void vr_on_prepare(struct vr_replica *r, const struct vr_message *m);
void vr_on_prepare_ok(struct vr_replica *r, const struct vr_message *m);
void vr_on_commit(struct vr_replica *r, const struct vr_message *m);
void vr_on_commit_ok(struct vr_replica *r, const struct vr_message *m);
void vr_primary_commit(struct vr_replica *r);
void vr_primary_tick(struct vr_replica *r);
void vr_backup_flush(struct vr_replica *r);
void vr_send_prepare(struct vr_replica *r, uint8_t to, uint64_t from, uint64_t to_op);

/* vr_view_change.c */
void vr_view_change_start(struct vr_replica *r, uint64_t view);
void vr_on_start_view_change(struct vr_replica *r, const struct vr_message *m);
void vr_on_do_view_change(struct vr_replica *r, const struct vr_message *m);
void vr_on_start_view(struct vr_replica *r, const struct vr_message *m);
void vr_view_change_flush(struct vr_replica *r);
void vr_view_change_tick(struct vr_replica *r);
void vr_send_start_view(struct vr_replica *r, uint8_t to);
void vr_on_get_log(struct vr_replica *r, const struct vr_message *m);
void vr_on_log(struct vr_replica *r, const struct vr_message *m);

/* vr_recovery.c: recovery after disk loss (§6) and state transfer (§7). */
void vr_recovery_start(struct vr_replica *r);
void vr_on_recovery(struct vr_replica *r, const struct vr_message *m);
void vr_on_recovery_response(struct vr_replica *r, const struct vr_message *m);
void vr_recovery_tick(struct vr_replica *r);
void vr_catch_up(struct vr_replica *r, uint64_t view);
void vr_request_state(struct vr_replica *r);
void vr_on_get_state(struct vr_replica *r, const struct vr_message *m);
void vr_on_new_state(struct vr_replica *r, const struct vr_message *m);
void vr_state_tick(struct vr_replica *r);

#endif
