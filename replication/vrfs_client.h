/*
 * vrfs_client.h — the client library a mount (and any other program) uses to talk to a
 * cluster: a pool of VR client sessions (replication/vr_client.h), the read protocol
 * (wire/wire_read.h), and one I/O thread that owns the sockets. Calls block; many
 * threads may call at once (each update takes a free session; reads need none).
 *
 * Updates are exactly-once (VR sessions with request numbers, retried across view
 * changes); reads see every update acknowledged before they began (the read barrier).
 */
#ifndef REPLICATION_VRFS_CLIENT_H
#define REPLICATION_VRFS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "replication/vrfs_cluster.h"
#include "wire/wire_fs.h"
#include "wire/wire_read.h"

struct vrfs_client;

struct vrfs_client_config {
	const struct vrfs_cluster *cluster;
	uint32_t sessions;   /* updates in flight at once (default 8) */
	uint32_t timeout_ms; /* a call gives up after this long with -ETIMEDOUT; 0: wait for good */
	/*
	 * false: reads are linearizable, at the primary. true: reads go to replica read_from
	 * (§9.8), which answers once it has applied the client's newest acknowledged write and
	 * the state of its newest answer: read-your-writes and monotonic reads for this client
	 * only; a replica that lags for a second sends the read on to the primary.
	 */
	bool read_local;
	uint8_t read_from;
};

/*
 * Connects, registers the sessions, and checks that the cluster answers: returns 0, or
 * -errno with why (one line naming the problem) when no quorum answers within
 * start_timeout_ms.
 */
int vrfs_client_open(struct vrfs_client **out, const struct vrfs_client_config *cfg, uint32_t start_timeout_ms,
                     char *why, size_t why_size);
/* Stops the I/O thread; calls in progress return -ESHUTDOWN. */
void vrfs_client_close(struct vrfs_client *c);

/*
 * Runs one update (a replicated filesystem op) and waits for its result: 0 with *res
 * (res->err is the op's own 0 or -errno), -ETIMEDOUT after timeout_ms (the op may still
 * execute, once), -EIO when the session was evicted (outcome unknown), -ESHUTDOWN.
 */
int vrfs_client_update(struct vrfs_client *c, const struct wire_fs_op *op, struct wire_fs_result *res);

/*
 * As vrfs_client_update, on session number `session` (0 .. sessions-1), or on any when it is
 * negative; *used (when not NULL) tells which one ran it. OPEN and RELEASE of one handle use
 * one session: the store keys open handles by session.
 */
int vrfs_client_update_at(struct vrfs_client *c, int session, const struct wire_fs_op *op, struct wire_fs_result *res,
                          int *used);

/*
 * Asks the cluster, whose members are `from`, to become `to` (both "HOST:PORT,...", §10): 0
 * once the reconfiguration is committed (the members then take over: see vrfs reconfigure),
 * -EPERM with why when the primary refused it (a line naming the problem: among others, that
 * the members are no longer `from`), -ETIMEDOUT, -ESHUTDOWN. The request's body is
 * "FROM\nTO".
 */
int vrfs_client_reconfigure(struct vrfs_client *c, const char *from, const char *to, char *why, size_t why_size);

/* Where a read's answer goes: data (READ, READLINK, xattrs), entries and their names. */
struct vrfs_read_buf {
	uint8_t *data;
	uint32_t data_size;
	struct wire_dirent *dirents;
	uint32_t dirents_max;
	char *names; /* dirents_max * (WIRE_NAME_MAX + 1) bytes */
};

/*
 * Runs one read and waits: 0 with *res (res->err 0 or -errno; data and entries copied into
 * buf), -ETIMEDOUT, -ESHUTDOWN. The read is retried at the primary across view changes.
 */
int vrfs_client_read(struct vrfs_client *c, const struct wire_read *rd, struct vrfs_read_buf *buf,
                     struct wire_read_result *res);

#endif
