/*
 * vr_client.h — the client side of VR (VR-PROTOCOL.md §8), pure like the core: a
 * session registers through the log, sends one request at a time, retries the same
 * request to every replica on timeout, and learns the view from replies. Time is
 * ticks; sending goes through struct vr_client_io.
 */
#ifndef VR_CLIENT_H
#define VR_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "replication/vr.h"

struct vr_client_io {
	void *ctx;
	void (*send)(void *ctx, uint8_t replica, const struct vr_message *m);
	/* A request finished: status VR_REPLY_OK with its result and op-number,
	 * VR_REPLY_EVICTED, meaning the outcome is unknown and the session is gone, or
	 * VR_REPLY_REFUSED with a line saying why (the request was not logged). */
	void (*done)(void *ctx, uint64_t request, uint8_t status, const uint8_t *result, uint32_t result_len,
	             uint64_t op);
	/* A fresh, never used client id (nonzero) for a new session. */
	uint64_t (*new_client_id)(void *ctx);
};

struct vr_client {
	struct vr_client_io io;
	uint8_t replica_count;
	uint16_t witnesses; /* §9.5: bit i when replica i is a witness (never primary) */
	uint32_t body_size_max;
	uint32_t resend_ticks;
	uint64_t client_id;
	uint64_t session; /* op-number of the registration, from its reply */
	uint64_t request; /* the newest request-number used */
	uint64_t view;    /* believed view (its primary: vr_primary_index) */
	uint64_t last_op; /* op-number of the newest reply (for backup reads, §9.8) */
	bool registered;
	bool busy; /* a request (or the registration) is outstanding */
	uint8_t kind;
	uint32_t body_len;
	uint8_t *body;
	uint64_t tick;
	uint64_t deadline;
};

/* Starts a session: sends the registration. Allocates the request buffer. */
int vr_client_init(struct vr_client *c, uint8_t replica_count, uint16_t witnesses, uint32_t body_size_max,
                   uint32_t resend_ticks, const struct vr_client_io *io);
void vr_client_deinit(struct vr_client *c);
/* Sends op (copied). Returns 0, -EBUSY while a request is outstanding or the
 * session is not registered yet, -EMSGSIZE when op is larger than body_size_max. */
int vr_client_submit(struct vr_client *c, const uint8_t *op, uint32_t len);
/* As vr_client_submit, a request of kind (VR_KIND_OP or VR_KIND_RECONFIGURE). */
int vr_client_submit_kind(struct vr_client *c, uint8_t kind, const uint8_t *op, uint32_t len);
void vr_client_on_reply(struct vr_client *c, const struct vr_message *m);
/* A replica said the cluster is in view (it is not that view's primary, or not NORMAL):
 * a newer view than believed sends the outstanding request to its primary now. */
void vr_client_on_redirect(struct vr_client *c, uint64_t view);
/* The primary of `view` says it is normal (it just took over): send the outstanding request to
 * it now, even when this view was already known (learnt while the view was changing). */
void vr_client_on_primary(struct vr_client *c, uint64_t view);
void vr_client_on_tick(struct vr_client *c);
bool vr_client_ready(const struct vr_client *c);

#endif
