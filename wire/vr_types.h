/*
 * vr_types.h — the values and messages of the VR protocol (VR-PROTOCOL.md §2), as
 * plain types: the VR core (replication/vr.h) acts on them and wire/wire_vr.h encodes
 * and decodes them. Types only: nothing here does anything.
 */
#ifndef WIRE_VR_TYPES_H
#define WIRE_VR_TYPES_H

#include <stdint.h>

enum vr_status {
	VR_STATUS_NORMAL = 0,
	VR_STATUS_VIEW_CHANGE = 1,
	VR_STATUS_RECOVERING = 2,
	VR_STATUS_CATCHING_UP = 3,
};

enum vr_command {
	VR_REQUEST = 1,
	VR_REPLY,
	VR_PREPARE,
	VR_PREPARE_OK,
	VR_COMMIT,
	VR_START_VIEW_CHANGE,
	VR_DO_VIEW_CHANGE,
	VR_START_VIEW,
	VR_RECOVERY,
	VR_RECOVERY_RESPONSE,
	VR_GET_STATE,
	VR_NEW_STATE,
	VR_COMMIT_OK, /* a backup acknowledges a COMMIT that carries a read barrier (nonce); a lease */
	VR_GET_LOG,   /* the new primary asks a DVC's sender for the entries of its log below op (§9.4) */
	VR_LOG,       /* those entries, ending at op */
	VR_COMMAND_MAX = VR_LOG,
};

/* What a log entry asks the state machine to do. */
enum vr_kind {
	VR_KIND_OP = 1,          /* an application operation: one up-call */
	VR_KIND_REGISTER = 2,    /* registers the client's session in the client table */
	VR_KIND_RECONFIGURE = 3, /* ends the epoch: its body is the next configuration (§10); no up-call */
};

enum vr_reply_status {
	VR_REPLY_OK = 0,
	VR_REPLY_EVICTED = 1, /* the session is gone: outcome of the request unknown, re-register */
	VR_REPLY_REFUSED = 2, /* the request was not logged; the result is a line saying why */
};

/*
 * One log entry: the client's request plus the values the primary fixed for it.
 * checksum covers every other field and the parent's checksum, so equal checksums at
 * one op-number mean equal logs up to there.
 */
struct vr_entry {
	uint64_t op;
	uint64_t view; /* view in which the primary assigned op */
	uint64_t client_id;
	uint64_t session; /* op-number of the client's REGISTER; 0 for a REGISTER */
	uint64_t request;
	uint64_t timestamp; /* realtime ns fixed by the primary; never decreases along the log */
	uint64_t checksum;
	uint64_t parent;
	uint8_t kind;
	uint32_t body_len;
	const uint8_t *body; /* borrowed */
};

/*
 * Every message, one struct; which fields mean something depends on command
 * (VR-PROTOCOL.md §2). Pointers are borrowed for the duration of the call.
 */
struct vr_message {
	uint8_t command;
	uint8_t replica; /* sender (replica messages); responder of a REPLY */
	uint8_t status;  /* REPLY: enum vr_reply_status */
	uint64_t epoch;
	uint64_t view;
	uint64_t op;     /* n; COMMIT_OK: the lease it grants, ns (0: none); GET_LOG: newest op wanted;
	                  * START_VIEW_CHANGE from the new primary: the first op of the chosen log it
	                  * holds while it takes that log in parts (0: none) */
	uint64_t commit; /* k; GET_LOG: the asker's (the entries above it are wanted) */
	union {
		uint64_t last_normal_view; /* v' in DO_VIEW_CHANGE */
		uint64_t hold;             /* PREPARE, COMMIT: every full replica holds the ops up to it (§9.5) */
	};
	uint64_t nonce;     /* RECOVERY, RECOVERY_RESPONSE; COMMIT, COMMIT_OK: read barrier;
	                     * DO_VIEW_CHANGE: checksum of the sender's entry k */
	uint64_t client_id; /* REQUEST, REPLY */
	uint64_t session;   /* REQUEST: the session (op-number of its REGISTER) */
	uint64_t request;   /* REQUEST, REPLY: request-number */
	uint8_t kind;       /* REQUEST: enum vr_kind */
	uint32_t body_len;  /* REQUEST: op bytes; REPLY: result bytes */
	const uint8_t *body;
	uint32_t entry_count; /* PREPARE (1, or a batch), DO_VIEW_CHANGE, START_VIEW, NEW_STATE, RECOVERY_RESPONSE, LOG
	                       */
	const struct vr_entry *entries;
};

#endif
