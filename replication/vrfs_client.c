/*
 * vrfs_client.c — the blocking client library (see vrfs_client.h).
 *
 * One mutex guards everything; one I/O thread reads the sockets and ticks the sessions;
 * callers send under the mutex and wait on one condition variable (broadcast whenever
 * something finishes). Updates go through VR client sessions (vr_client.c: request
 * numbers, retries to every replica, re-registration after an eviction). Reads carry a
 * number of their own and go to the believed primary; a REDIRECT or silence moves them on.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "replication/vr_client.h"
#include "replication/vrfs_client.h"
#include "replication/vrfs_net.h"
#include "wire/wire_vr.h"

#define TICK_MS      10
#define RESEND_TICKS 20 /* a request or read unanswered this long goes to the next replica */
#define SESSIONS_MAX 64

struct pending {
	bool done;
	int rc;
	struct wire_fs_result *res; /* update */
	/* read */
	uint64_t request;
	const struct wire_read *rd;
	struct vrfs_read_buf *buf;
	struct wire_read_result *rres;
	uint8_t to;
	uint64_t deadline;
	struct wire_buf body; /* the encoded READ */
	char *why;            /* an update refused: why (why_size bytes) */
	size_t why_size;
	struct pending *next;
};

struct session {
	struct vrfs_client *c;
	struct vr_client vc;
	struct pending *p; /* the caller waiting for the outstanding update, if any */
};

struct link {
	int fd;
	struct vrfs_reader r;
	int64_t retry_ms;
};

struct vrfs_client {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct vrfs_cluster cluster;
	uint32_t timeout_ms;
	struct link link[VR_REPLICAS_MAX];
	struct session s[SESSIONS_MAX];
	uint32_t sessions;
	struct pending *reads;
	uint64_t read_seq;
	uint64_t read_client;    /* the client id reads carry (routes the answers) */
	uint64_t view;           /* the newest view heard of */
	uint64_t announced_view; /* the newest view whose primary announced itself */
	int read_from;           /* config.read_from, or -1: reads at the primary */
	uint64_t seen_op;        /* newest op of an acknowledged update or a local read's state */
	uint64_t epoch;          /* the configuration's epoch, as replicas told (§10) */
	uint64_t tick;
	pthread_t thread;
	int wake[2];
	bool stop;
	struct wire_buf wbuf;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void link_close(struct link *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
	vrfs_reader_free(&k->r);
	k->retry_ms = now_ms() + 100;
}

/* Under the mutex. The connection to replica i, opened when needed; NULL while it is down. */
static struct link *link_get(struct vrfs_client *c, uint8_t i)
{
	struct link *k = &c->link[i];

	if (k->fd < 0) {
		if (now_ms() < k->retry_ms)
			return NULL;
		k->fd = vrfs_net_connect(&c->cluster, i, 200);
		if (k->fd < 0) {
			k->fd = -1;
			k->retry_ms = now_ms() + 100;
			return NULL;
		}
		char one = 1;
		if (write(c->wake[1], &one, 1) < 0) {
			/* the I/O thread polls the new socket at its next tick anyway */
		}
	}
	return k;
}

static void link_send(struct vrfs_client *c, uint8_t i, uint16_t type, const uint8_t *body, size_t len)
{
	struct link *k = link_get(c, i);

	if (k && vrfs_net_send(k->fd, &c->cluster, type, body, len, 1000))
		link_close(k);
}

static void io_send(void *ctx, uint8_t replica, const struct vr_message *m)
{
	struct session *s = ctx;
	struct vrfs_client *c = s->c;

	c->wbuf.len = 0;
	if (!wire_vr_encode(m, &c->wbuf))
		link_send(c, replica, VR_REQUEST, c->wbuf.data, c->wbuf.len);
}

static void io_done(void *ctx, uint64_t request, uint8_t status, const uint8_t *result, uint32_t result_len,
                    uint64_t op)
{
	struct session *s = ctx;
	struct pending *p = s->p;
	const char *why = NULL;

	(void)request;
	s->p = NULL;
	if (s->vc.view > s->c->view)
		s->c->view = s->vc.view;
	if (status == VR_REPLY_OK && op > s->c->seen_op)
		s->c->seen_op = op; /* reads at a replica wait until it has this update */
	if (p && status == VR_REPLY_REFUSED) {
		p->rc = -EPERM;
		if (p->why_size)
			snprintf(p->why, p->why_size, "%.*s", (int)result_len, (const char *)result);
		p->done = true;
	} else if (p) {
		if (status != VR_REPLY_OK)
			p->rc = -EIO; /* evicted: the outcome is unknown */
		else if (!p->res)
			p->rc = 0;
		else if (wire_fs_result_decode(result, result_len, p->res, &why))
			p->rc = -EIO;
		else
			p->rc = 0;
		p->done = true;
	}
	pthread_cond_broadcast(&s->c->cond);
}

static uint64_t io_new_client_id(void *ctx)
{
	uint64_t id = 0;

	(void)ctx;
	while (!id)
		randombytes_buf(&id, sizeof(id));
	return id;
}

static void read_send(struct vrfs_client *c, struct pending *p)
{
	p->deadline = c->tick + RESEND_TICKS;
	link_send(c, p->to, WIRE_MSG_READ, p->body.data, p->body.len);
}

/* A READ_REPLY: copy the answer out of the frame for its caller. */
static void on_read_reply(struct vrfs_client *c, const uint8_t *body, size_t len)
{
	struct wire_read_reply rp;
	const char *why = NULL;
	struct pending **pp = &c->reads;

	/* The type is the caller's: find the read first (the request number is the first field). */
	for (; *pp; pp = &(*pp)->next) {
		struct pending *p = *pp;
		if (wire_read_reply_decode(p->rd->type, body, len, &rp, p->buf->dirents, p->buf->dirents_max, &why) ||
		    rp.request != p->request)
			continue;
		struct wire_read_result *r = p->rres;
		*r = rp.result;
		if (r->data_len > p->buf->data_size) {
			r->err = -EIO;
			r->data_len = 0;
		} else if (r->data_len) {
			memcpy(p->buf->data, rp.result.data, r->data_len);
		}
		r->data = p->buf->data;
		for (uint32_t i = 0; i < r->dirent_count; i++) {
			char *name = p->buf->names + (size_t)i * (WIRE_NAME_MAX + 1);
			memcpy(name, p->buf->dirents[i].name, p->buf->dirents[i].name_len);
			p->buf->dirents[i].name = name;
		}
		r->dirents = p->buf->dirents;
		if (rp.view > c->view)
			c->view = rp.view;
		if (c->read_from >= 0 && rp.commit > c->seen_op)
			c->seen_op = rp.commit; /* monotonic reads: never an older state after this one */
		p->rc = 0;
		p->done = true;
		*pp = p->next;
		pthread_cond_broadcast(&c->cond);
		return;
	}
}

/* A replica says the cluster was reconfigured (§10.6): from now on, the new members. */
static void on_epoch(struct vrfs_client *c, const uint8_t *body, size_t len)
{
	struct wire_epoch q;
	struct vrfs_cluster next;
	const char *why = NULL;
	char pwhy[256];

	if (wire_epoch_decode(body, len, &q, &why) || q.epoch <= c->epoch ||
	    vrfs_cluster_parse_like(&next, &c->cluster, (const char *)q.members, q.members_len, pwhy, sizeof(pwhy)))
		return;
	c->epoch = q.epoch;
	c->cluster = next;
	for (uint8_t i = 0; i < VR_REPLICAS_MAX; i++) {
		if (c->link[i].fd >= 0)
			link_close(&c->link[i]);
		c->link[i].retry_ms = 0; /* new members: dial them now */
	}
	c->view = c->announced_view = 0;
	if (c->read_from >= next.count || (c->read_from >= 0 && vr_witness(next.witnesses, (uint8_t)c->read_from)))
		c->read_from = -1; /* reads go to the primary: a witness answers none */
	for (uint32_t i = 0; i < c->sessions; i++) {
		c->s[i].vc.replica_count = next.count;
		c->s[i].vc.witnesses = next.witnesses;
		c->s[i].vc.view = 0;
		vr_client_on_primary(&c->s[i].vc, 0); /* the outstanding request, to the new members */
	}
	for (struct pending *p = c->reads; p; p = p->next) {
		p->to = c->read_from >= 0 ? (uint8_t)c->read_from : 0;
		read_send(c, p);
	}
}

static void on_frame(struct vrfs_client *c, uint16_t type, const uint8_t *body, size_t len)
{
	const char *why = NULL;

	if (type == VR_REPLY) {
		struct vr_message m;
		if (wire_vr_decode(type, body, len, &m, NULL, 0, &why))
			return;
		for (uint32_t i = 0; i < c->sessions; i++)
			if (c->s[i].vc.client_id == m.client_id)
				vr_client_on_reply(&c->s[i].vc, &m);
		pthread_cond_broadcast(&c->cond); /* a registration may have completed */
	} else if (type == WIRE_MSG_REDIRECT) {
		struct wire_redirect r;
		if (wire_redirect_decode(body, len, &r, &why))
			return;
		if (r.view > c->view)
			c->view = r.view;
		/* The first word of a primary of a new view (it announces itself on taking over). A
		 * primary also redirects to itself when its read queue is full: that is not acted on. */
		bool from_primary = r.status == VR_STATUS_NORMAL && r.primary == r.replica && r.view == c->view &&
		                    r.view > c->announced_view;
		if (from_primary)
			c->announced_view = r.view;
		for (uint32_t i = 0; i < c->sessions; i++) {
			if (from_primary)
				vr_client_on_primary(&c->s[i].vc, r.view);
			else
				vr_client_on_redirect(&c->s[i].vc, r.view);
		}
		for (struct pending *p = c->reads; p; p = p->next) {
			if (from_primary && p->to != r.replica) {
				/* A new primary announced itself: reads waiting elsewhere go there now. */
				p->to = r.replica;
				read_send(c, p);
			} else if (!from_primary && p->to == r.replica) {
				uint8_t to = vr_primary_index(c->view, c->cluster.count, c->cluster.witnesses);
				p->to = to != r.replica ? to : (uint8_t)((r.replica + 1) % c->cluster.count);
				read_send(c, p);
			}
		}
	} else if (type == WIRE_MSG_READ_REPLY) {
		on_read_reply(c, body, len);
	} else if (type == WIRE_MSG_EPOCH) {
		on_epoch(c, body, len);
	}
}

static void *io_thread(void *arg)
{
	struct vrfs_client *c = arg;
	int64_t next_tick = now_ms() + TICK_MS;

	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		struct pollfd p[VR_REPLICAS_MAX + 1];
		uint8_t n = c->cluster.count;
		for (uint8_t i = 0; i < n; i++)
			p[i] = (struct pollfd){ .fd = c->link[i].fd, .events = POLLIN };
		p[n] = (struct pollfd){ .fd = c->wake[0], .events = POLLIN };
		int64_t wait = next_tick - now_ms();
		pthread_mutex_unlock(&c->mu);
		poll(p, n + 1u, wait > 0 ? (int)wait : 0);
		pthread_mutex_lock(&c->mu);
		if (p[n].revents & POLLIN) {
			char drain[64];
			while (read(c->wake[0], drain, sizeof(drain)) > 0) {
			}
		}
		for (uint8_t i = 0; i < n; i++) {
			struct link *k = &c->link[i];
			if (k->fd < 0 || k->fd != p[i].fd || !(p[i].revents & (POLLIN | POLLERR | POLLHUP)))
				continue;
			int rc = vrfs_reader_fill(&k->r, k->fd);
			uint16_t type;
			const uint8_t *body;
			size_t len;
			const char *why = NULL;
			int got = 0;
			while (k->fd >= 0 &&
			       (got = vrfs_reader_next(&k->r, &c->cluster, &type, &body, &len, &why)) == 1)
				on_frame(c, type, body, len);
			if (k->fd >= 0 && (rc < 0 || got < 0))
				link_close(k);
		}
		if (now_ms() >= next_tick) {
			next_tick = now_ms() + TICK_MS;
			c->tick++;
			for (uint32_t i = 0; i < c->sessions; i++)
				vr_client_on_tick(&c->s[i].vc);
			for (struct pending *r = c->reads; r; r = r->next)
				if (c->tick >= r->deadline) { /* no answer: the next replica */
					r->to = (uint8_t)((r->to + 1) % c->cluster.count);
					read_send(c, r);
				}
		}
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* Under the mutex: waits for p, or for the deadline (0: none). */
static int wait_done(struct vrfs_client *c, struct pending *p, int64_t deadline)
{
	while (!p->done && !c->stop) {
		if (!deadline) {
			pthread_cond_wait(&c->cond, &c->mu);
			continue;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		ts.tv_sec += left / 1000;
		ts.tv_nsec += (left % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&c->cond, &c->mu, &ts);
	}
	return p->done ? p->rc : -ESHUTDOWN;
}

int vrfs_client_update(struct vrfs_client *c, const struct wire_fs_op *op, struct wire_fs_result *res)
{
	return vrfs_client_update_at(c, -1, op, res, NULL);
}

/* Runs one request of kind on a free session (or on `session`) and waits for p. */
static int client_request(struct vrfs_client *c, int session, uint8_t kind, const uint8_t *body, size_t len,
                          struct pending *p, int *used)
{
	int64_t deadline = c->timeout_ms ? now_ms() + c->timeout_ms : 0;
	int rc;

	pthread_mutex_lock(&c->mu);
	struct session *s = NULL;
	while (!s && !c->stop) {
		for (uint32_t i = 0; i < c->sessions && !s; i++)
			if ((session < 0 || (uint32_t)session == i) && !c->s[i].p && vr_client_ready(&c->s[i].vc))
				s = &c->s[i];
		if (s)
			break;
		struct pending none = { 0 };
		if (deadline && now_ms() >= deadline)
			break;
		/* wait for a session: wake at the next broadcast (or the deadline) */
		none.done = false;
		int w = wait_done(c, &none, deadline ? deadline : now_ms() + 1000);
		if (w == -ESHUTDOWN)
			break;
	}
	if (!s) {
		pthread_mutex_unlock(&c->mu);
		return c->stop ? -ESHUTDOWN : -ETIMEDOUT;
	}
	if (used)
		*used = (int)(s - c->s);
	s->p = p;
	rc = vr_client_submit_kind(&s->vc, kind, body, (uint32_t)len);
	if (rc) {
		s->p = NULL;
		pthread_mutex_unlock(&c->mu);
		return rc;
	}
	rc = wait_done(c, p, deadline);
	if (!p->done)
		s->p = NULL; /* given up: the session finishes the request alone */
	pthread_mutex_unlock(&c->mu);
	return rc;
}

int vrfs_client_update_at(struct vrfs_client *c, int session, const struct wire_fs_op *op, struct wire_fs_result *res,
                          int *used)
{
	struct wire_buf b;
	struct pending p = { .res = res };
	int rc;

	wire_buf_init(&b);
	if ((rc = wire_fs_op_encode(op, &b))) {
		wire_buf_free(&b);
		return rc;
	}
	rc = client_request(c, session, VR_KIND_OP, b.data, b.len, &p, used);
	wire_buf_free(&b);
	return rc;
}

int vrfs_client_reconfigure(struct vrfs_client *c, const char *from, const char *to, char *why, size_t why_size)
{
	struct pending p = { .why = why, .why_size = why_size };
	size_t a = strlen(from), b = strlen(to);
	uint8_t *body = malloc(a + 1 + b);
	int rc;

	if (!body)
		return -ENOMEM;
	memcpy(body, from, a);
	body[a] = '\n';
	memcpy(body + a + 1, to, b);
	rc = client_request(c, -1, VR_KIND_RECONFIGURE, body, a + 1 + b, &p, NULL);
	free(body);
	return rc;
}

int vrfs_client_read(struct vrfs_client *c, const struct wire_read *rd, struct vrfs_read_buf *buf,
                     struct wire_read_result *res)
{
	struct pending p = { .rd = rd, .buf = buf, .rres = res };
	int64_t deadline = c->timeout_ms ? now_ms() + c->timeout_ms : 0;
	int rc;

	wire_buf_init(&p.body);
	pthread_mutex_lock(&c->mu);
	p.request = ++c->read_seq;
	struct wire_read_request q = { .client_id = c->read_client, .request = p.request, .read = *rd };
	if (c->read_from >= 0) {
		q.local = 1;
		q.min_op = c->seen_op;
	}
	if ((rc = wire_read_request_encode(&q, &p.body))) {
		pthread_mutex_unlock(&c->mu);
		wire_buf_free(&p.body);
		return rc;
	}
	p.to = c->read_from >= 0 ? (uint8_t)c->read_from
	                         : vr_primary_index(c->view, c->cluster.count, c->cluster.witnesses);
	p.next = c->reads;
	c->reads = &p;
	read_send(c, &p);
	rc = wait_done(c, &p, deadline);
	if (!p.done) {
		for (struct pending **pp = &c->reads; *pp; pp = &(*pp)->next)
			if (*pp == &p) {
				*pp = p.next;
				break;
			}
	}
	pthread_mutex_unlock(&c->mu);
	wire_buf_free(&p.body);
	return rc;
}

int vrfs_client_open(struct vrfs_client **out, const struct vrfs_client_config *cfg, uint32_t start_timeout_ms,
                     char *why, size_t why_size)
{
	struct vrfs_client *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->cluster = *cfg->cluster;
	c->timeout_ms = cfg->timeout_ms;
	c->read_from = cfg->read_local && cfg->read_from < cfg->cluster->count ? cfg->read_from : -1;
	c->sessions = cfg->sessions ? cfg->sessions : 8;
	if (c->sessions > SESSIONS_MAX)
		c->sessions = SESSIONS_MAX;
	pthread_mutex_init(&c->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	wire_buf_init(&c->wbuf);
	c->read_client = io_new_client_id(NULL);
	for (uint8_t i = 0; i < VR_REPLICAS_MAX; i++)
		c->link[i].fd = -1;
	if (pipe2(c->wake, O_NONBLOCK | O_CLOEXEC)) {
		free(c);
		return -errno;
	}
	pthread_mutex_lock(&c->mu);
	for (uint32_t i = 0; i < c->sessions; i++) {
		struct session *s = &c->s[i];
		struct vr_client_io io = {
			.ctx = s, .send = io_send, .done = io_done, .new_client_id = io_new_client_id
		};
		s->c = c;
		if (vr_client_init(&s->vc, c->cluster.count, c->cluster.witnesses, WIRE_VR_BODY_MAX, RESEND_TICKS,
		                   &io)) {
			pthread_mutex_unlock(&c->mu);
			vrfs_client_close(c);
			return -ENOMEM;
		}
	}
	pthread_mutex_unlock(&c->mu);
	if (pthread_create(&c->thread, NULL, io_thread, c)) {
		vrfs_client_close(c);
		return -EAGAIN;
	}

	/* Ready once one session is registered: a quorum answered. */
	int64_t deadline = now_ms() + start_timeout_ms;
	bool ready = false;
	pthread_mutex_lock(&c->mu);
	while (!ready && now_ms() < deadline) {
		for (uint32_t i = 0; i < c->sessions; i++)
			ready |= vr_client_ready(&c->s[i].vc);
		if (!ready) {
			struct pending none = { 0 };
			wait_done(c, &none, now_ms() + 50);
		}
	}
	pthread_mutex_unlock(&c->mu);
	if (!ready) {
		snprintf(why, why_size,
		         "no quorum of %s answered within %u ms (are the replicas running? check --cluster%s)",
		         c->cluster.count == 1 ? "the cluster" : "replicas", start_timeout_ms,
		         c->cluster.has_key ? " and --key-file" : "");
		vrfs_client_close(c);
		return -EHOSTUNREACH;
	}
	*out = c;
	return 0;
}

void vrfs_client_close(struct vrfs_client *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	bool running = c->thread != 0;
	c->stop = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mu);
	char one = 1;
	if (write(c->wake[1], &one, 1) < 0) {
		/* the thread sees stop at its next tick */
	}
	if (running)
		pthread_join(c->thread, NULL);
	for (uint32_t i = 0; i < c->sessions; i++)
		if (c->s[i].c)
			vr_client_deinit(&c->s[i].vc);
	for (uint8_t i = 0; i < VR_REPLICAS_MAX; i++)
		if (c->link[i].fd >= 0) {
			close(c->link[i].fd);
			vrfs_reader_free(&c->link[i].r);
		}
	close(c->wake[0]);
	close(c->wake[1]);
	wire_buf_free(&c->wbuf);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->mu);
	free(c);
}
