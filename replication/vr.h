/*
 * vr.h — the Viewstamped Replication core (VR Revisited, Liskov & Cowling 2012),
 * as ../shared/VR-PROTOCOL.md states it, as a pure state machine.
 *
 * The core owns no sockets, clocks, disks or databases. It is driven by four inputs:
 *   vr_on_message()    a message from another replica or a client;
 *   vr_on_tick()       time passes (ticks are the only time the core knows);
 *   vr_on_persisted()  every write up to a sequence number is durable;
 *   vr_init()/vr_init_recovering()  start from a durable image, or from a lost disk;
 * and it acts only through struct vr_io: send a message, persist a write (durable
 * later, in order), apply a committed op (one storage transaction with the client
 * table row and the commit-number), and read the realtime clock for timestamps.
 * Callbacks must not call back into the core.
 *
 * Status diagram (function behind each transition):
 *
 *          vr_init (fresh or disk intact)            vr_init_recovering (disk lost)
 *                  |                                          |
 *                  v                                          v
 *   +--------> NORMAL <------- vr_recovery_complete ----- RECOVERING
 *   |            |   \
 *   |            |    vr_catch_up (PREPARE/COMMIT of a later view)
 *   |            |      \
 *   |  vr_view_change_start (liveness timeout, SVC/DVC of a later view)
 *   |            |        v
 *   |            v      CATCHING_UP --vr_on_new_state--> NORMAL
 *   +--- VIEW_CHANGE --vr_view_change_start (progress timeout) --> VIEW_CHANGE (view+1)
 *   vr_start_view_install (STARTVIEW)  /  vr_dvc_complete (new primary, f+1 DVCs)
 *
 * Invariants, asserted after every input (vr_check):
 *   I1  commit <= durable_op <= op; the log holds entries first..op, at most log_capacity of
 *       them, and entry first is committed (first <= commit) unless nothing was truncated
 *       (first == 1). A replica with op > 0 always holds at least entry op.
 *   I2  last_normal_view <= view; view and commit never decrease.
 *   I3  in NORMAL, last_normal_view == view.
 *   I4  the log is hash-chained: entry[x].parent == entry[x-1].checksum.
 *   I5  a replica that recovered from a lost disk votes only from voter_view on.
 */
#ifndef VR_H
#define VR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/vr_types.h"

#define VR_REPLICAS_MAX    9
#define VR_RESULT_SIZE_MAX 256
#define VR_NONE            UINT32_MAX
#define VR_LEASE_RING      64 /* heartbeats the primary remembers the send time of (leases) */

/* What is durable about a replica besides its log and the applied state. */
struct vr_meta {
	uint64_t view;
	uint64_t last_normal_view;
	uint64_t dvc_view;   /* view for which a DVC was decided: resent unchanged after restart */
	uint64_t dvc_op;     /* that DVC's op-number and head checksum: checked against */
	uint64_t dvc_head;   /* the log at restart, so the DVC resent is the same one */
	uint64_t voter_view; /* first view in which this replica may vote (§6.2); 0 normally */
	uint8_t status;      /* NORMAL or VIEW_CHANGE (or RECOVERING before the first install) */
};

enum vr_write_kind {
	VR_WRITE_LOG = 1,      /* append entries (contiguous op-numbers) */
	VR_WRITE_META = 2,     /* replace struct vr_meta */
	VR_WRITE_INSTALL = 3,  /* one atomic write: remove every entry above op, append entries, replace meta */
	VR_WRITE_TRUNCATE = 4, /* a checkpoint: remove every entry below op (committed, applied) */
	VR_WRITE_STAGE = 5,    /* body cache: keep entries aside, outside the log, for a later INSTALL;
	                        * op 1: forget the entries kept aside before (a new candidate log) */
};

/*
 * One write to the durable store. Writes become durable in seq order, each one whole
 * or not at all. INSTALL replaces the log with another view's and records that view
 * in the same transaction, so a crash never pairs a view with a log it did not have
 * (VR-PROTOCOL.md §12.8), nor an old view with a newer view's log.
 *
 * With a body cache (config.body_cache_bytes), an entry of a LOG or INSTALL write may come
 * without its body (body NULL, body_len > 0): its body was given in an earlier write of the
 * same op and checksum, to the log or kept aside by STAGE; the driver takes it from there.
 * Entries kept aside need not survive a restart.
 */
struct vr_write {
	uint8_t kind;
	uint64_t seq;
	const struct vr_entry *entries; /* LOG, INSTALL: borrowed */
	uint32_t entry_count;
	uint64_t op;         /* INSTALL: entries above op are removed before entries are appended;
	                      * TRUNCATE: entries below op are removed (op stays: the log's new first) */
	struct vr_meta meta; /* META, INSTALL */
};

/* One row of the client table (at-most-once execution, VR-PROTOCOL.md §8.6). */
struct vr_client_slot {
	uint64_t client_id; /* 0: free */
	uint64_t session;   /* op-number of the REGISTER that created the slot */
	uint64_t request;   /* newest executed request-number (s_done) */
	uint64_t op;        /* op that executed it (op_done) */
	uint8_t status;     /* enum vr_reply_status of the cached reply */
	uint32_t result_len;
	uint8_t result[VR_RESULT_SIZE_MAX];
};

/*
 * Executing one committed op. The storage makes these one transaction: the state
 * change (only when upcall), commit-number = entry->op, and, when slot != VR_NONE,
 * the client-table row slot := {entry->client_id, entry->request, entry->op, result}.
 */
struct vr_apply {
	const struct vr_entry *entry;
	bool upcall;
	uint32_t slot;
	uint64_t evicted_client; /* nonzero: this REGISTER evicted that session */
};

struct vr_io {
	void *ctx;
	void (*send)(void *ctx, uint8_t replica, const struct vr_message *m);
	void (*reply)(void *ctx, uint64_t client_id, const struct vr_message *m);
	void (*persist)(void *ctx, const struct vr_write *w);
	/* Returns the result length (<= VR_RESULT_SIZE_MAX) written to result. */
	uint32_t (*apply)(void *ctx, const struct vr_apply *a, uint8_t *result);
	uint64_t (*realtime)(void *ctx);
	/*
	 * Required with leases (config.lease_ns): a clock in nanoseconds that never jumps (the
	 * driver's CLOCK_MONOTONIC), read at the moment of each lease decision. Its rate may
	 * differ from any other replica's by at most config.drift_ppm; nothing else is assumed.
	 */
	uint64_t (*monotonic)(void *ctx);
	/*
	 * Optional. The replica needs ops that no replica keeps in its log any more: bring it
	 * the state of a replica whose commit s is >= min_op (a checkpoint: the applied state
	 * with its client table and log entry s), make that its disk with the metadata that
	 * vr_snapshot_meta gives, and restart it from that disk (vr_deinit, vr_init). Asked
	 * again while the need lasts; the caller ignores repeats.
	 */
	void (*need_snapshot)(void *ctx, uint64_t min_op, uint64_t view);
	/* Optional: one constant string per dropped message or notable event. */
	void (*log)(void *ctx, const char *what);
	/*
	 * Required with config.body_cache_bytes: copy the body of entry (op, checksum), len bytes,
	 * into body. The replica gave that entry to persist earlier, in its log or kept aside
	 * (STAGE), and has not removed it since; written is enough, durable or not (the driver
	 * reads its own writes). Returns false when it has none: the replica stops (ASSERT).
	 */
	bool (*read_body)(void *ctx, uint64_t op, uint64_t checksum, uint8_t *body, uint32_t len);
};

struct vr_config {
	uint8_t replica_count; /* 2f+1 */
	uint8_t self;
	uint32_t log_capacity;      /* entries held in memory: the log window first..op */
	uint32_t checkpoint_ops;    /* 0: never truncate; else keep this many committed ops, truncating at twice */
	uint64_t checkpoint_bytes;  /* 0: no byte limit; else truncate when committed bodies held exceed this */
	uint32_t body_size_max;     /* largest op body */
	uint32_t client_table_size; /* sessions */
	uint32_t pipeline_max;      /* uncommitted ops the primary keeps in flight */
	uint32_t batch_max;         /* ops one PREPARE carries (vr_flush); 0 or 1: each request's own PREPARE at once */
	uint64_t pipeline_bytes_max; /* and their bodies' bytes (0: no limit); one op may exceed it alone */
	uint32_t heartbeat_ticks;
	uint32_t prepare_resend_ticks;
	uint32_t liveness_ticks;    /* backup: primary silent this long starts a view change */
	uint32_t view_change_ticks; /* VIEW_CHANGE: no progress this long moves to view+1 */
	uint32_t resend_ticks;      /* SVC/DVC/RECOVERY/GETSTATE resend period */
	uint64_t lease_ns;          /* 0: no leases (every read takes a barrier); else §9.7, see vr_read_begin */
	uint32_t drift_ppm;         /* with leases: bound on the difference of two replicas' clock rates */
	uint64_t seed;              /* timer jitter and recovery nonces */
	uint64_t epoch;             /* the configuration's epoch (§10): messages carry it, others are dropped */
	uint64_t epoch_op;          /* the op it began at: a RECONFIGURE at or below it is of an earlier epoch */
	/*
	 * Witnesses (§9.5): bit i set when replica i is a witness. At most f of them, so f+1 full
	 * replicas remain. A witness stores no service state and never executes an op (no up-call
	 * but for a RECONFIGURE, whose configuration it must know); it is never primary (views go
	 * round the full replicas only, vr_primary_index); it acknowledges PREPAREs and takes part
	 * in view changes and recovery like any replica. Its log window holds the ops that not
	 * every full replica holds yet (the hold rule, see vr_replica.hold).
	 */
	uint16_t witnesses;
	/* 0: no limit; else the primary takes no request while its log window's bodies would exceed
	 * this (without parts a DVC carries the whole window and must fit a frame; with a body cache
	 * it bounds the disk the window takes), and checkpoints keep at most half of it. Needs
	 * checkpoint_ops, and room for two bodies. */
	uint64_t log_bytes_max;
	/*
	 * Parts (§9.4): 0 and 0, a message carries a whole log window. Else a message that carries
	 * a log carries at most part_ops entries and part_bytes of bodies (at least one entry, the
	 * newest: one body may exceed part_bytes alone). DOVIEWCHANGE, STARTVIEW and
	 * RECOVERYRESPONSE carry the newest part of the log; NEWSTATE the oldest part of what was
	 * asked for, and the asker asks again for the rest. A new primary whose log does not join
	 * the chosen part asks its sender for the entries below it, part by part (GET_LOG, LOG).
	 */
	uint32_t part_ops;
	uint64_t part_bytes;
	/*
	 * 0: every body of the log window (and of a candidate log) is held in memory. Else the log
	 * keeps the entries' headers in memory and their bodies only up to about this many bytes:
	 * once written, the oldest bodies are dropped and read back (io.read_body) when a message
	 * or an execution needs them; a candidate log's entries are kept aside by the driver as
	 * they arrive (STAGE) and installed from there. Bodies of RECONFIGURE entries always stay.
	 * Needs parts (part_ops or part_bytes), so that one message is bounded.
	 */
	uint64_t body_cache_bytes;
};

/* The durable image a replica restarts from (disk intact). All borrowed. */
struct vr_durable {
	struct vr_meta meta;
	/* Entries first..op, contiguous (none when op == 0). With a body cache an entry may come
	 * without its body (body NULL): the driver has it (io.read_body); but a RECONFIGURE's. */
	const struct vr_entry *log;
	uint64_t first; /* 1, or the checkpoint op the log was truncated to */
	uint64_t op;
	uint64_t commit; /* op of the last applied transaction */
	const struct vr_client_slot *clients;
	uint32_t client_count; /* == config.client_table_size */
	/* The replica begins its epoch here (§10): view 0, NORMAL, every op committed, nothing sent
	 * in the epoch yet. Its primary then takes requests at once instead of starting a view
	 * change as a restarted primary does (§6.3.3: it may have forgotten what it prepared). */
	bool epoch_start;
};

struct vr_dvc {
	bool present;
	bool excluded; /* its log disagrees with an op known to be committed: never chosen */
	uint64_t last_normal_view;
	uint64_t op;
	uint64_t commit;
	uint64_t commit_head; /* checksum of its entry commit (0 when commit is 0) */
};

struct vr_log {
	struct vr_entry *entries; /* entries[x-first] holds op x, first <= x <= op */
	uint8_t **bodies;         /* bodies[x-first]: op x's body buffer, body_cap[x-first] bytes */
	uint32_t *body_cap;
	uint32_t capacity;
	uint64_t held;  /* body cache: bytes of body buffers allocated */
	uint64_t first; /* 1 until a checkpoint; then the checkpoint op, whose entry is kept */
	uint64_t op;
};

struct vr_replica {
	struct vr_config config;
	struct vr_io io;
	uint8_t f;
	uint8_t quorum; /* f + 1 */

	uint64_t view;
	uint8_t status;
	uint64_t last_normal_view;
	uint64_t voter_view;
	uint64_t commit;
	struct vr_log log;
	struct vr_client_slot *clients;

	/* Durability bookkeeping. */
	uint64_t persist_seq; /* last write issued */
	uint64_t durable_seq; /* last write durable */
	uint64_t meta_seq;    /* seq of the newest META write */
	uint64_t *entry_seq;  /* per op: seq of the write that made it */
	uint64_t durable_op;

	/* Normal operation. */
	uint64_t acked[VR_REPLICAS_MAX]; /* primary: highest op each replica acked in this view */
	uint64_t ok_sent;                /* backup: highest op acked to primary(view) in this view */
	uint64_t commit_max;             /* highest commit-number heard from primary(view) in this view */
	uint64_t view_start_op;          /* primary: op when the view started; requests wait for commit to reach it */
	uint64_t prepare_sent;   /* primary: ops up to this one went out in a PREPARE (the rest wait for vr_flush) */
	bool start_view_pending; /* primary: STARTVIEW waits for durability */
	uint64_t heartbeat_deadline;
	uint64_t resend_deadline;
	uint64_t liveness_deadline;

	/* View change. */
	bool svc_sent;
	bool svc_from[VR_REPLICAS_MAX];
	bool dvc_decided; /* DVC contents fixed and (being) persisted */
	bool dvc_sent;
	struct vr_dvc dvc[VR_REPLICAS_MAX];
	uint8_t dvc_best; /* sender whose log is the candidate */
	struct vr_log candidate;
	uint64_t view_change_deadline;
	uint64_t dvc_stalled_view; /* the view whose chosen log this replica could not join (noted once) */
	uint64_t fetch_op;         /* new primary: newest op asked for in a GET_LOG (0: none) */
	uint64_t fetch_deadline;   /* when to ask again */
	uint64_t fetch_seen;       /* backup: the progress the new primary's last SVC showed (§9.4) */

	/* State transfer. */
	uint64_t catch_up_view; /* CATCHING_UP: view whose state is wanted */
	uint64_t state_deadline;
	bool state_wanted; /* NORMAL backup: a gap was seen */
	bool state_parts;  /* CATCHING_UP: candidate holds the parts of catch_up_view's log from commit+1 */

	/* Recovery (disk lost). */
	uint64_t nonce;
	bool recovery_from[VR_REPLICAS_MAX];
	uint64_t recovery_view[VR_REPLICAS_MAX];
	uint64_t recovery_primary_view; /* view of the primary response held in candidate, or 0 */
	bool recovery_primary_present;
	uint64_t recovery_commit;

	/* Checkpoints. */
	uint8_t **spare_bodies; /* scratch for moving the window */
	uint32_t *spare_cap;
	uint64_t checkpoints; /* truncations done since start */

	/* Reads (vr_read_begin). */
	uint64_t read_nonce;                  /* primary: the newest read barrier sent */
	uint64_t read_acked[VR_REPLICAS_MAX]; /* primary: newest barrier each backup acknowledged, this view */

	/* Leases (§9.7), on the monotonic clock. */
	uint64_t lease_sent_at[VR_LEASE_RING];    /* primary: when barrier nonce n (slot n % ring) left */
	uint64_t lease_sent_nonce[VR_LEASE_RING]; /* the nonce in that slot */
	uint64_t lease_until[VR_REPLICAS_MAX];    /* primary: backup i's lease holds before this, this view */
	uint64_t lease_granted_until;             /* this replica decides no DVC before this */
	uint64_t lease_reads;                     /* reads served under a lease */

	/*
	 * Witnesses (§9.5), the hold rule: every full replica holds every op up to hold (in its log
	 * or its applied state), and hold <= commit at the primary that found it. The primary finds
	 * it from the PREPAREOKs of its view (vr_full_hold) and sends it in PREPARE and COMMIT; every
	 * replica keeps the largest it heard. With witnesses configured no replica truncates its log
	 * past hold: a witness's copy of an op is then the one that survives when a full replica that
	 * lacks the op and the primary's disk are both needed, and any replica a witness recovers or
	 * takes a checkpoint from still has the ops in its window to give.
	 */
	uint64_t hold;
	uint64_t log_bytes; /* bodies of the log window first..op, in memory or not */

	/* Body cache (config.body_cache_bytes). */
	uint64_t cache_from;      /* the log holds no body below this op, but RECONFIGUREs' */
	struct vr_entry *scratch; /* a message's entries with their bodies read back */
	uint32_t scratch_cap;
	uint8_t *scratch_body;
	uint64_t scratch_body_cap;
	bool staged;          /* the driver keeps candidate entries aside (STAGE) */
	uint64_t bodies_read; /* bodies read back since start */
	uint64_t log_parts;   /* parts of logs longer than one message taken since start (§9.4) */

	/* Reconfiguration (§10): op of the RECONFIGURE entry executed; the replica is then inert. */
	uint64_t epoch_end;

	uint64_t tick;
	uint64_t prng;
	uint64_t drops;      /* messages dropped by the filters */
	uint64_t violations; /* of them, messages no correct replica sends (vr_violation) */
};

/* A read in progress at the primary (vr_read_begin). */
struct vr_read {
	uint64_t view;
	uint64_t nonce; /* the barrier: a COMMIT sent after the read began (0: under a lease) */
	uint64_t index; /* commit when it began */
	bool lease;     /* began while the primary held leases from f backups: ready at once */
	bool local;     /* vr_read_begin_local: index is the client's min_op */
};

/*
 * Linearizable reads. vr_read_begin: 0 and a read in *rd, or -EAGAIN when this replica cannot
 * serve reads now (not the normal primary, or its view not started): the client asks the
 * primary. vr_read_ready: 1 once the read may run on the applied state (which then holds
 * every op acknowledged before the read began), 0 while it must wait, -ESTALE when it never
 * will (the view changed): the client asks again.
 *
 * Without a lease the read waits for a barrier: f backups acknowledge a COMMIT sent after it
 * began. With config.lease_ns, a primary that holds unexpired leases from f backups serves
 * it at once (§9.7). A backup grants a lease by acknowledging a barrier, and then decides no
 * DVC for lease_ns of its own clock; the primary counts it as held for
 * lease_ns * (1e6 - drift_ppm) / (1e6 + drift_ppm) of its own clock from when it sent that
 * barrier. A replica that starts (restart, checkpoint installed) may have granted a lease it
 * does not remember: it too decides no DVC for lease_ns.
 */
int vr_read_begin(struct vr_replica *r, struct vr_read *rd);
int vr_read_ready(const struct vr_replica *r, const struct vr_read *rd);
/* With leases: true while this normal primary holds leases from f backups. */
bool vr_lease_held(const struct vr_replica *r);
/*
 * Reads at any replica (§9.8), not linearizable: 0, or -EAGAIN when this replica is
 * recovering (its state is being rebuilt). vr_read_ready then says 1 once the applied state
 * reaches min_op (the op of the client's newest acknowledged write, or the commit of its
 * newest answer), whatever the view; -ESTALE if the replica starts recovering meanwhile.
 * A client that keeps min_op so sees its own writes and never goes back in time.
 */
int vr_read_begin_local(struct vr_replica *r, struct vr_read *rd, uint64_t min_op);

/* Initialises r. d == NULL formats a new replica (view 0, NORMAL, empty log).
 * Allocates every buffer the replica will use; nothing is allocated later.
 * Returns 0 or -ENOMEM / -EINVAL. */
int vr_init(struct vr_replica *r, const struct vr_config *c, const struct vr_io *io, const struct vr_durable *d);
/* Initialises r for a replica whose disk was lost: status RECOVERING (§6.1). */
int vr_init_recovering(struct vr_replica *r, const struct vr_config *c, const struct vr_io *io);
void vr_deinit(struct vr_replica *r);

/* Returns 0, or -EBADMSG when m is malformed (the reason goes to io.log). */
int vr_on_message(struct vr_replica *r, const struct vr_message *m);
void vr_on_tick(struct vr_replica *r);
/*
 * Batching (§9.6): with batch_max > 1 the primary logs (and persists) each request at once
 * but sends the requests logged since the last call together, up to batch_max per PREPARE.
 * The driver calls this after each burst of inputs (an event-loop iteration), so requests
 * that arrive together share a PREPARE and one that arrives alone leaves at once. Every tick
 * sends what a driver left unsent.
 */
void vr_prepare_flush(struct vr_replica *r);
/* Every write with seq <= seq is durable. */
void vr_on_persisted(struct vr_replica *r, uint64_t seq);

/*
 * Reconfiguration (§10), with the configuration outside the core: a REQUEST of kind
 * VR_KIND_RECONFIGURE carries the next configuration as its body (the driver checks it
 * before it hands the request over). Once it is in the primary's log the primary takes no
 * other request (vr_reconfiguring). Executing it is an apply with upcall (the driver records
 * the configuration in that transaction, result empty) after which epoch_end is its op and
 * the replica is inert: every input is ignored. The primary first sends a COMMIT for it.
 * The driver then starts the replica again in the next epoch (config.epoch + 1, view 0, the
 * log and state unchanged) or, when it is not a member, retires it.
 */
bool vr_reconfiguring(const struct vr_replica *r);
/*
 * Another replica says op (checksum head), a RECONFIGURE entry, is committed: when this log
 * holds that entry, every op up to it is committed here too (equal checksums, equal logs) and
 * is executed, which ends the epoch: 0. -ENOENT when the log does not hold it (fetch a
 * checkpoint), -EAGAIN while it is not durable yet (ask again later).
 */
int vr_epoch_commit(struct vr_replica *r, uint64_t op, uint64_t head);
/*
 * Another replica, of the next epoch, gives the entries that end this epoch (entries[0..count),
 * contiguous and hash-chained, the last one the RECONFIGURE): all committed (it is the epoch's
 * last op). A witness gives them this way, having no checkpoint to give (§9.5). Where they join
 * this log (vr_log_bridge) they replace the own entries above commit, in one INSTALL with the
 * next view (the replica leaves its view: it acknowledged, or sent in a DVC, another log there);
 * vr_epoch_commit then ends the epoch once they are durable. 0, or -ENOENT when
 * they do not join this log (a checkpoint of a full replica is needed), -EINVAL when they are
 * not such entries.
 */
int vr_epoch_entries(struct vr_replica *r, const struct vr_entry *entries, uint32_t count);

static inline bool vr_witness(uint16_t witnesses, uint8_t i)
{
	return witnesses >> i & 1;
}

/* How many of replica_count replicas are witnesses. */
static inline uint8_t vr_witness_count(uint16_t witnesses, uint8_t replica_count)
{
	uint8_t n = 0;

	for (uint8_t i = 0; i < replica_count; i++)
		n += vr_witness(witnesses, i);
	return n;
}

/* Primary of view: the full replicas in turn, witnesses (bit i of witnesses) skipped. */
static inline uint8_t vr_primary_index(uint64_t view, uint8_t replica_count, uint16_t witnesses)
{
	if (!witnesses)
		return (uint8_t)(view % replica_count);
	uint64_t k = view % (uint64_t)(replica_count - vr_witness_count(witnesses, replica_count));
	for (uint8_t i = 0; i < replica_count; i++)
		if (!vr_witness(witnesses, i) && k-- == 0)
			return i;
	return 0;
}
bool vr_is_primary(const struct vr_replica *r);
const struct vr_entry *vr_log_entry(const struct vr_replica *r, uint64_t op);
const char *vr_status_name(uint8_t status);
const char *vr_command_name(uint8_t command);

/*
 * A checkpoint of another replica replaces this replica's state (need_snapshot): what its
 * durable metadata becomes, given view: the larger of the view the checkpoint was asked
 * for and the giver's view (its state may be committed in a later view than the one asked
 * for, and a replica's view must never lag the state it holds). Returns true when
 * the own log entries above the checkpoint may stay (where they chain onto its entry),
 * false when the log must become the checkpoint entry alone. *stale is set, and nothing
 * changes, for view < meta->view: the caller drops the checkpoint.
 *  - RECOVERING stays RECOVERING: recovery runs again, from the checkpoint.
 *  - NORMAL in view stays so: its log already held view's starting log, and after the
 *    checkpoint it still holds at least that much (the checkpoint lies beyond its op, or
 *    its own entries stay).
 *  - Otherwise VIEW_CHANGE in view with v' = 0 and no decided DVC: the checkpoint alone
 *    may be shorter than the log view started with, so it must rank below every log of a
 *    view that was normal (§5.3); view's primary, which is normal, answers the view change
 *    with STARTVIEW, which now joins. A DVC this replica sent for view before is moot:
 *    view's primary is normal and takes no more DVCs for it.
 */
bool vr_snapshot_meta(struct vr_meta *meta, uint64_t view, bool *stale);

/* Entries first..op of a log, for messages that carry it: the count. */
static inline uint32_t vr_log_count(const struct vr_log *l)
{
	return l->op >= l->first ? (uint32_t)(l->op - l->first + 1) : 0;
}

/* Checksum of an entry's fields chained to parent. */
uint64_t vr_entry_checksum(const struct vr_entry *e);

#endif
