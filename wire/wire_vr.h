/*
 * wire_vr.h — the bodies of the frames replicas and clients exchange: every VR message
 * (wire/vr_types.h), and the daemon's own messages (redirect, status, snapshot).
 *
 * A frame's type (wire/wire_frame.h) names its body: 1..VR_COMMAND_MAX is a VR message
 * whose command equals the frame type; enum wire_msg_type lists the others. Each body is
 * one msgpack array (formats below, in wire_vr.c). Decoders take untrusted bytes and
 * check every field against the limits here; they never assert, never read past len,
 * and allocate nothing: entries go into the caller's array, bodies and data are
 * borrowed pointers into the input buffer.
 */
#ifndef WIRE_WIRE_VR_H
#define WIRE_WIRE_VR_H

#include <stddef.h>
#include <stdint.h>

#include "wire/vr_types.h"
#include "wire/wire_fs.h"

/* Limits of a VR message (a frame's body is also bounded by WIRE_FRAME_BODY_MAX). */
#define WIRE_VR_BODY_MAX    WIRE_FS_OP_SIZE_MAX /* an entry's or a request's op bytes; a reply's result bytes */
#define WIRE_VR_ENTRIES_MAX 65536               /* entries in one message */
#define WIRE_VR_REPLICA_MAX 15                  /* replica numbers 0..15 travel; the core checks its own count */

/* Frame types above the VR commands. */
enum wire_msg_type {
	WIRE_MSG_REDIRECT = 32,         /* replica -> client: "I am not the primary you want" */
	WIRE_MSG_STATUS_REQUEST = 33,   /* anyone -> replica */
	WIRE_MSG_STATUS = 34,           /* replica -> asker */
	WIRE_MSG_SNAPSHOT_REQUEST = 35, /* replica -> replica: send me your checkpoint from offset */
	WIRE_MSG_SNAPSHOT_CHUNK = 36,   /* replica -> replica: one piece of a checkpoint */
	WIRE_MSG_READ = 37,             /* client -> replica: a read (wire/wire_read.h) */
	WIRE_MSG_READ_REPLY = 38,       /* replica -> client: its answer */
	WIRE_MSG_EPOCH = 39,            /* replica -> replica or client: a new epoch (configuration) began */
	WIRE_MSG_EPOCH_STARTED = 40,    /* replica -> replica: I hold the state the epoch began with */
	WIRE_MSG_TYPE_MAX = WIRE_MSG_EPOCH_STARTED,
};

/* The replica a client asked is not a primary in NORMAL status: try primary. */
struct wire_redirect {
	uint8_t replica; /* who answers */
	uint8_t status;  /* enum vr_status */
	uint8_t primary; /* view mod replica count */
	uint64_t view;
};

struct wire_status_request {
	uint64_t nonce; /* echoed */
};

/* wire_status.status beyond enum vr_status: a new data directory waiting for its peers. */
#define WIRE_STATUS_NEW  4
#define WIRE_STATUS_LEFT 5 /* left out by a reconfiguration: gives the new members their state, then stops */

/* What `vrfs status` shows of one replica. */
struct wire_status {
	uint64_t nonce;
	uint8_t replica;
	uint8_t replica_count;
	uint8_t status; /* enum vr_status */
	uint8_t primary;
	uint64_t view;
	uint64_t op;
	uint64_t commit;
	uint64_t checkpoint; /* op of the newest checkpoint (0: none) */
	uint64_t log_ops;    /* entries held in the log */
	uint64_t log_bytes;  /* their bytes */
	uint64_t frames_bad; /* frames dropped: bad checksum/MAC, other cluster, malformed */
	uint64_t uptime_ms;
	uint64_t reads;       /* reads served since start */
	uint64_t lease_reads; /* of them, begun under a lease (no barrier round) */
	uint64_t prepares;    /* PREPARE messages sent since start */
	uint64_t prepare_ops; /* ops they carried (batching: more ops than messages) */
	uint64_t epoch;       /* the configuration's epoch (0 until the first reconfiguration) */
	uint64_t log_parts;   /* parts of logs longer than one message taken since start (§9.4) */
	uint64_t log_cached;  /* bytes of the log's bodies held in memory (the rest read back from disk) */
	uint64_t bodies_read; /* bodies read back from disk since start */
};

/* Asks for the checkpoint with op >= min_op, from byte offset (resuming after a reconnect). */
struct wire_snapshot_request {
	uint8_t replica;      /* who asks */
	uint64_t min_op;      /* the checkpoint must cover at least this op */
	uint64_t snapshot_op; /* resuming: the checkpoint being fetched (0: any new one) */
	uint64_t offset;      /* resuming: bytes already held */
};

/* One piece of a checkpoint (a copy of the store at op). */
#define WIRE_SNAPSHOT_CHUNK_MAX (512 * 1024)
#define WIRE_SNAPSHOT_DIGEST    32
struct wire_snapshot_chunk {
	uint8_t replica;                      /* who sends */
	uint64_t snapshot_op;                 /* the op the checkpoint holds state up to */
	uint64_t head;                        /* checksum of log entry snapshot_op: the log continues from it */
	uint64_t view;                        /* the giver's view (in epoch) */
	uint64_t epoch;                       /* the giver's epoch */
	uint64_t total;                       /* bytes of the whole checkpoint */
	uint64_t offset;                      /* of this piece */
	uint8_t digest[WIRE_SNAPSHOT_DIGEST]; /* BLAKE2b-256 of the whole checkpoint's bytes */
	uint32_t data_len;                    /* <= WIRE_SNAPSHOT_CHUNK_MAX; offset + data_len <= total */
	const uint8_t *data;                  /* borrowed */
};

/*
 * Epoch `epoch` began at op (the RECONFIGURE entry that ended epoch - 1, whose checksum is
 * head) with the members listed. Sent to the new members until they answer EPOCH_STARTED,
 * and in answer to a replica or client still in an older epoch.
 */
#define WIRE_EPOCH_MEMBERS_MAX 2560 /* bytes of the member list (VR_REPLICAS_MAX "host:port") */
struct wire_epoch {
	uint64_t epoch;
	uint64_t op;
	uint64_t head;
	uint32_t members_len;   /* 1..WIRE_EPOCH_MEMBERS_MAX */
	const uint8_t *members; /* "HOST:PORT,HOST:PORT,..." (no NUL), borrowed */
};

/* A member of epoch `epoch` holds the state the epoch began with (a replaced replica waits for
 * f'+1 of these before it stops). */
struct wire_epoch_started {
	uint64_t epoch;
	uint8_t replica; /* its number in the epoch's configuration */
};

/*
 * Encoders append one body to b (borrowed; grows); m is borrowed. They check what a
 * decoder would refuse and return instead of writing it: -EINVAL for a value out of
 * range (command, replica, primary, kind, offset + data_len > total) or a NULL pointer
 * with a nonzero length; -EMSGSIZE for a length or count over its limit, or a VR
 * message whose encoding would not fit one frame (WIRE_FRAME_BODY_MAX: a long log in
 * DO_VIEW_CHANGE, START_VIEW or NEW_STATE must be sent in parts by the caller); -ENOMEM
 * when the buffer cannot grow. 0 on success. On failure b->len is as on entry.
 */
int wire_vr_encode(const struct vr_message *m, struct wire_buf *b);
int wire_redirect_encode(const struct wire_redirect *m, struct wire_buf *b);
int wire_status_request_encode(const struct wire_status_request *m, struct wire_buf *b);
int wire_status_encode(const struct wire_status *m, struct wire_buf *b);
int wire_snapshot_request_encode(const struct wire_snapshot_request *m, struct wire_buf *b);
int wire_snapshot_chunk_encode(const struct wire_snapshot_chunk *m, struct wire_buf *b);
int wire_epoch_encode(const struct wire_epoch *m, struct wire_buf *b);
int wire_epoch_started_encode(const struct wire_epoch_started *m, struct wire_buf *b);

/*
 * Decoders: buf[0..len) (untrusted, borrowed) is exactly one body (trailing bytes are an
 * error). Return 0 with *why NULL, or -EBADMSG with *why a constant string naming the
 * field and the problem; m is then all zeros. They allocate nothing. Decoded byte
 * strings (body, data) point into buf, also when empty: never NULL after success.
 *
 * wire_vr_decode: type is the frame's type and must be a VR command (1..VR_COMMAND_MAX);
 * the decoded command must equal it. Up to entries_max entries are decoded into entries[]
 * (m->entries points there, or is NULL when m->entry_count is 0); more is -EBADMSG ("vr:
 * too many entries"), as is more than WIRE_VR_ENTRIES_MAX. entries may be NULL only with
 * entries_max 0 (a NULL array is taken as room for none). On failure entries[] may have
 * been written. Every body_len is <= WIRE_VR_BODY_MAX, every replica <=
 * WIRE_VR_REPLICA_MAX, every entry kind is an enum vr_kind value, the message kind is 0
 * or an enum vr_kind value, and m->body / entries[i].body point into buf. Per-command meaning (PREPARE
 * carries one entry, and so on) is the core's to check, not the wire's.
 *
 * The daemon messages: every replica and primary is <= WIRE_VR_REPLICA_MAX and
 * replica_count <= WIRE_VR_REPLICA_MAX + 1; status is any uint8_t. A snapshot chunk's
 * digest is exactly WIRE_SNAPSHOT_DIGEST bytes, its data at most WIRE_SNAPSHOT_CHUNK_MAX,
 * and offset + data_len <= total.
 */
int wire_vr_decode(uint16_t type, const uint8_t *buf, size_t len, struct vr_message *m, struct vr_entry *entries,
                   uint32_t entries_max, const char **why);
int wire_redirect_decode(const uint8_t *buf, size_t len, struct wire_redirect *m, const char **why);
int wire_status_request_decode(const uint8_t *buf, size_t len, struct wire_status_request *m, const char **why);
int wire_status_decode(const uint8_t *buf, size_t len, struct wire_status *m, const char **why);
int wire_snapshot_request_decode(const uint8_t *buf, size_t len, struct wire_snapshot_request *m, const char **why);
int wire_snapshot_chunk_decode(const uint8_t *buf, size_t len, struct wire_snapshot_chunk *m, const char **why);
int wire_epoch_decode(const uint8_t *buf, size_t len, struct wire_epoch *m, const char **why);
int wire_epoch_started_decode(const uint8_t *buf, size_t len, struct wire_epoch_started *m, const char **why);

#endif
