/*
 * vrfsd_store.h — the small interface through which vrfsd wires the VR core to the
 * replica's SQLite store (DESIGN.md, "Layout"): the only file of replication/ that
 * sees state/. It keeps the durable image (log, metadata, client table, applied
 * state) in DIR/store.db and makes writes durable in groups: every persist and apply
 * between two vrfsd_store_flush calls is one transaction, one fsync.
 */
#ifndef REPLICATION_VRFSD_STORE_H
#define REPLICATION_VRFSD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "replication/vr.h"
#include "wire/wire_read.h"

#define VRFSD_STORE_FILE "store.db"
#define VRFSD_WHY_SIZE   512

struct vrfsd_store;

/* Who a data directory belongs to. Checked at every start. */
struct vrfsd_identity {
	uint64_t cluster_id;
	uint8_t replica;
	uint8_t replica_count;
};

/* The configuration epoch a replica is in (§10), kept beside its identity. */
struct vrfsd_epoch {
	uint64_t epoch;   /* 0 until the first reconfiguration */
	uint64_t op;      /* the op the epoch began at: the RECONFIGURE entry that ended the last (0: none) */
	uint64_t head;    /* that entry's checksum */
	uint64_t prev_id; /* cluster id of the previous epoch's configuration (0: none) */
	uint64_t left;    /* nonzero: this replica is not a member of epoch `left`; it serves no more */
};

/*
 * Opens DIR/store.db, creating DIR (0700) and the database (0600) when missing.
 * Returns 0 for an existing store of this identity (its staged entries, VR_WRITE_STAGE, emptied),
 * 1 for a store created now (it holds no VR image until vrfsd_store_format or the recovery
 * protocol writes one), or -errno
 * with one line in why naming the problem and the fix (another cluster's or replica's
 * directory, not a vrfs store, unreadable).
 */
int vrfsd_store_open(struct vrfsd_store **out, const char *dir, const struct vrfsd_identity *id, char *why,
                     size_t why_size);
void vrfsd_store_close(struct vrfsd_store *s);

/* True when the store holds a durable VR image (metadata written at least once). */
bool vrfsd_store_has_image(struct vrfsd_store *s);

/* The epoch labels (all 0 before the first reconfiguration). */
int vrfsd_store_epoch(struct vrfsd_store *s, struct vrfsd_epoch *e);
/* The op of a RECONFIGURE entry applied (its configuration not yet taken up), or 0. */
uint64_t vrfsd_store_epoch_pending(struct vrfsd_store *s);
/*
 * Takes up the next epoch, in one transaction (durable on return): identity id, epoch e, no
 * pending configuration, and, when meta is not NULL, that metadata (a member begins the
 * epoch in view 0, NORMAL).
 */
int vrfsd_store_epoch_begin(struct vrfsd_store *s, const struct vrfsd_identity *id, const struct vrfsd_epoch *e,
                            const struct vr_meta *meta);

/* Writes the image of a replica of a new cluster: view 0, NORMAL, empty log. Durable on return. */
int vrfsd_store_format(struct vrfsd_store *s);

/*
 * Loads the durable image into d (allocated; free with vrfsd_store_image_free). headers_only
 * (a core with a body cache): every entry but a RECONFIGURE comes without its body (body NULL),
 * and, as the core cannot check those, the store checks each entry's checksum and the hash chain
 * as it reads them; a body is held only while its row is read.
 */
int vrfsd_store_image(struct vrfsd_store *s, uint32_t client_table_size, bool headers_only, struct vr_durable *d,
                      char *why, size_t why_size);
void vrfsd_store_image_free(struct vr_durable *d);

/*
 * The core's persist and apply. They join the open group (starting one when none is);
 * a storage failure returns -EIO and the replica must stop. An entry of a LOG or INSTALL
 * write without its body (vr.h) takes it from the row of the same op and checksum written
 * before, staged or in the log; there being none is such a failure.
 */
int vrfsd_store_persist(struct vrfsd_store *s, const struct vr_write *w);
int vrfsd_store_apply(struct vrfsd_store *s, const struct vr_apply *a, uint8_t *result, uint32_t *result_len);

/*
 * The core's read_body: copies into body (borrowed, len bytes) the body of entry (op, checksum)
 * from a row written before, staged or in the log, committed or still in the open group. 0;
 * -ENOENT when no row of op has that checksum and length; -EIO when SQLite fails or the row
 * that matches is damaged (its body does not give its checksum).
 */
int vrfsd_store_read_body(struct vrfsd_store *s, uint64_t op, uint64_t checksum, uint8_t *body, uint32_t len);

/* True when a group is open (something waits for vrfsd_store_flush). */
bool vrfsd_store_pending(const struct vrfsd_store *s);
/* Commits the open group (one fsync). 0, or -EIO: stop the replica. */
int vrfsd_store_flush(struct vrfsd_store *s);

/* Room for one read's answer (vrfsd_store_read): data, directory entries and their names. */
struct vrfsd_read_space {
	uint8_t data[WIRE_READ_DATA_MAX];
	struct wire_dirent dirents[WIRE_READ_DIRENTS_MAX];
	char names[WIRE_READ_DIRENTS_MAX * (WIRE_NAME_MAX + 1)];
};

/* Answers a read from the applied state: res->err is 0 or -errno; data and entries point
 * into sp. Returns 0 (a storage failure is an -EIO answer, not a stop: reads change nothing). */
int vrfsd_store_read(struct vrfsd_store *s, const struct wire_read *rd, struct vrfsd_read_space *sp,
                     struct wire_read_result *res);

/*
 * A checkpoint to give, made a little at a time so that the replica keeps serving: a copy of
 * the whole store in one file at path (replaced). _begin starts it; each _step copies up to
 * `pages` pages (no group may be open) and returns 1 once done, 0 while more remains, -errno
 * on failure; what is applied between steps is carried into the copy. _end frees the copy and,
 * when it finished, gives in *op the op whose state it holds (else -errno); _abort drops it.
 */
struct store_copy;
int vrfsd_store_checkpoint_begin(struct vrfsd_store *s, const char *path, struct store_copy **c, char *why,
                                 size_t why_size);
int vrfsd_store_checkpoint_step(struct vrfsd_store *s, struct store_copy *c, int pages, char *why, size_t why_size);
int vrfsd_store_checkpoint_end(struct store_copy *c, uint64_t *op, char *why, size_t why_size);
void vrfsd_store_checkpoint_abort(struct store_copy *c, const char *path);

/*
 * Makes the checkpoint received at path (the store of another replica at op) this
 * replica's store: its log becomes the giver's entry op plus the own entries above op
 * where they chain on, its metadata what vr_snapshot_meta says for view, its identity id;
 * then it replaces DIR/store.db in one rename and is opened. window bounds the own
 * entries kept (the log capacity). flags: VRFSD_INSTALL_*. With epoch (not NULL) the replica enters that epoch, whose
 * labels it takes, with the metadata join_meta (the driver's choice: see vrfsd's
 * snapshot_install) and none of its own entries. Returns 0, 1 when the checkpoint is stale (nothing
 * changed), or -errno with why (the old store is then still in place, or none is open:
 * the replica must stop).
 */
#define VRFSD_INSTALL_WITNESS 1u /* this replica is a witness: the files are dropped (store_drop_files) */
#define VRFSD_INSTALL_WINDOW  2u /* the giver's log window below op stays (the cluster has witnesses) */
int vrfsd_store_install(struct vrfsd_store *s, const char *dir, const char *path, const struct vrfsd_identity *id,
                        uint64_t op, uint64_t view, uint32_t window, const struct vrfsd_epoch *epoch,
                        const struct vr_meta *join_meta, unsigned flags, char *why, size_t why_size);

#endif
