/*
 * vr_client.c — VR client sessions (VR-PROTOCOL.md §8).
 *
 * Invariants:
 *   C1  one outstanding request; its request-number is larger than every earlier one
 *       of the session, and every retry resends it unchanged (same number, same body).
 *   C2  a reply is taken only for the outstanding request of this session.
 *   C3  after an eviction the session is never used again: a new one is registered.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "replication/vr_client.h"
#include "replication/vr_assert.h"

static void vr_client_send(struct vr_client *c, bool to_all)
{
	struct vr_message m = {
		.command = VR_REQUEST,
		.client_id = c->client_id,
		.session = c->session,
		.request = c->request,
		.kind = c->kind,
		.body = c->body,
		.body_len = c->body_len,
	};

	ASSERT(c->busy);
	if (to_all) { /* §8 step 3: only the current primary acts on it */
		for (uint8_t i = 0; i < c->replica_count; i++)
			c->io.send(c->io.ctx, i, &m);
	} else {
		c->io.send(c->io.ctx, vr_primary_index(c->view, c->replica_count, c->witnesses), &m);
	}
	c->deadline = c->tick + c->resend_ticks;
}

static void vr_client_register(struct vr_client *c)
{
	c->client_id = c->io.new_client_id(c->io.ctx);
	ASSERT(c->client_id != 0);
	c->session = 0;
	c->request = 0;
	c->registered = false;
	c->busy = true;
	c->kind = VR_KIND_REGISTER;
	c->body_len = 0;
	vr_client_send(c, false);
}

int vr_client_init(struct vr_client *c, uint8_t replica_count, uint16_t witnesses, uint32_t body_size_max,
                   uint32_t resend_ticks, const struct vr_client_io *io)
{
	if (replica_count == 0 || replica_count > VR_REPLICAS_MAX || resend_ticks == 0)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	c->io = *io;
	c->replica_count = replica_count;
	c->witnesses = witnesses;
	c->body_size_max = body_size_max;
	c->resend_ticks = resend_ticks;
	c->body = malloc(body_size_max ? body_size_max : 1);
	if (!c->body)
		return -ENOMEM;
	vr_client_register(c);
	return 0;
}

void vr_client_deinit(struct vr_client *c)
{
	free(c->body);
	memset(c, 0, sizeof(*c));
}

bool vr_client_ready(const struct vr_client *c)
{
	return c->registered && !c->busy;
}

int vr_client_submit(struct vr_client *c, const uint8_t *op, uint32_t len)
{
	return vr_client_submit_kind(c, VR_KIND_OP, op, len);
}

int vr_client_submit_kind(struct vr_client *c, uint8_t kind, const uint8_t *op, uint32_t len)
{
	if (!vr_client_ready(c))
		return -EBUSY;
	if (len > c->body_size_max)
		return -EMSGSIZE;
	if (kind != VR_KIND_OP && kind != VR_KIND_RECONFIGURE)
		return -EINVAL;
	c->request++;
	c->kind = kind;
	c->body_len = len;
	if (len)
		memcpy(c->body, op, len);
	c->busy = true;
	vr_client_send(c, false);
	return 0;
}

void vr_client_on_reply(struct vr_client *c, const struct vr_message *m)
{
	if (m->command != VR_REPLY || !c->busy)
		return;
	if (m->client_id != c->client_id || m->request != c->request)
		return; /* C2: a duplicate or an answer to an older session */
	if (m->view > c->view)
		c->view = m->view;
	c->busy = false;
	if (m->status == VR_REPLY_EVICTED) {
		if (c->kind != VR_KIND_REGISTER)
			c->io.done(c->io.ctx, c->request, VR_REPLY_EVICTED, NULL, 0, 0);
		vr_client_register(c); /* C3 */
		return;
	}
	if (m->status == VR_REPLY_REFUSED) { /* not logged: the session goes on */
		if (c->kind != VR_KIND_REGISTER)
			c->io.done(c->io.ctx, c->request, VR_REPLY_REFUSED, m->body, m->body_len, 0);
		else
			vr_client_register(c);
		return;
	}
	if (m->op > c->last_op)
		c->last_op = m->op;
	if (c->kind == VR_KIND_REGISTER) {
		c->session = m->op;
		c->registered = true;
		return;
	}
	c->io.done(c->io.ctx, c->request, VR_REPLY_OK, m->body, m->body_len, m->op);
}

void vr_client_on_redirect(struct vr_client *c, uint64_t view)
{
	if (!c->busy || view <= c->view)
		return;
	c->view = view;
	vr_client_send(c, false);
}

void vr_client_on_primary(struct vr_client *c, uint64_t view)
{
	if (!c->busy || view < c->view)
		return;
	c->view = view;
	vr_client_send(c, false); /* a duplicate at the primary gets the saved reply, or is dropped */
}

void vr_client_on_tick(struct vr_client *c)
{
	c->tick++;
	if (c->busy && c->tick >= c->deadline)
		vr_client_send(c, true);
}
