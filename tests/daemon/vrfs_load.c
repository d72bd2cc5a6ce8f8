/*
 * vrfs_load.c — a test client for real replicas: SESSIONS VR client sessions, each
 * creating files with unique names in the root directory, one request at a time, through
 * view changes and restarts. It writes one line per event to --log (flushed at once, so
 * a kill -9 of this process loses nothing it saw):
 *
 *   sent NAME            the create was submitted (it may or may not execute)
 *   ack NAME INO OP      the cluster acknowledged it: it must be in the state exactly once
 *   evicted NAME         the session was evicted: the outcome is unknown
 *   fail NAME ERRNO      the create failed: with unique names, an error means an op ran twice
 *   read NAME INO        (--reads) a lookup of the acknowledged name, right after its ack,
 *                        found it with that inode; "fail-read NAME ..." when it did not
 *
 *   vrfs-load --cluster LIST [--key-file F] [--sessions N] [--ops N] [--prefix P] --log FILE
 *             [--stall-s S] [--pause-after N --pause-file F] [--reads]
 *
 * Exits 0 when every session has had --ops creates acknowledged, 1 when one failed,
 * 3 when nothing was acknowledged for --stall-s seconds (default 60).
 * --pause-after N: after N acks in total, create F (empty) and go on: a test waits for F
 * to inject a fault mid-stream.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "replication/vr_client.h"
#include "replication/vrfs_cluster.h"
#include "replication/vrfs_net.h"
#include "wire/wire_read.h"
#include "wire/wire_vr.h"

#define TICK_MS      10
#define RESEND_TICKS 50
#define SESSIONS_MAX 64

struct load;

struct session {
	struct load *l;
	struct vr_client c;
	uint32_t index;
	uint64_t next; /* creates done */
	char name[64];
	bool done;
	/* --reads: the lookup of the newest acknowledged name. */
	bool reading;
	uint64_t read_request;
	uint64_t read_ino;
	uint8_t read_to;
	uint64_t read_deadline;
	uint64_t tick;
};

struct link {
	int fd;
	struct vrfs_reader r;
	int64_t retry_ms;
};

struct load {
	struct vrfs_cluster cluster;
	struct link link[VR_REPLICAS_MAX];
	struct session s[SESSIONS_MAX];
	uint32_t sessions;
	uint64_t ops;
	const char *prefix;
	FILE *log;
	uint64_t acks;
	uint64_t pause_after;
	const char *pause_file;
	int failed;
	bool reads;
	uint64_t read_seq;
	int64_t last_progress;
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

/* The connection to replica i, opened when needed; NULL while it is down. */
static struct link *link_get(struct load *l, uint8_t i)
{
	struct link *k = &l->link[i];

	if (k->fd < 0) {
		if (now_ms() < k->retry_ms)
			return NULL;
		k->fd = vrfs_net_connect(&l->cluster, i, 200);
		if (k->fd < 0) {
			k->fd = -1;
			k->retry_ms = now_ms() + 100;
			return NULL;
		}
	}
	return k;
}

static void io_send(void *ctx, uint8_t replica, const struct vr_message *m)
{
	struct session *s = ctx;
	struct load *l = s->l;
	struct link *k = link_get(l, replica);

	if (!k)
		return;
	l->wbuf.len = 0;
	if (wire_vr_encode(m, &l->wbuf) ||
	    vrfs_net_send(k->fd, &l->cluster, VR_REQUEST, l->wbuf.data, l->wbuf.len, 1000))
		link_close(k);
}

/* --reads: LOOKUP of the session's newest acknowledged name, at replica read_to. */
static void read_send(struct session *s)
{
	struct load *l = s->l;
	struct wire_read_request q = {
		.client_id = s->c.client_id,
		.request = s->read_request,
		.read = { .type = WIRE_READ_LOOKUP,
		          .ino = WIRE_INO_ROOT,
		          .name = s->name,
		          .name_len = (uint32_t)strlen(s->name) },
	};
	struct link *k = link_get(l, s->read_to);

	s->read_deadline = s->tick + RESEND_TICKS;
	if (!k)
		return;
	l->wbuf.len = 0;
	if (wire_read_request_encode(&q, &l->wbuf) ||
	    vrfs_net_send(k->fd, &l->cluster, WIRE_MSG_READ, l->wbuf.data, l->wbuf.len, 1000))
		link_close(k);
}

static void io_done(void *ctx, uint64_t request, uint8_t status, const uint8_t *result, uint32_t result_len,
                    uint64_t op)
{
	struct session *s = ctx;
	struct load *l = s->l;
	struct wire_fs_result res;
	const char *why = NULL;

	(void)request;
	if (status == VR_REPLY_EVICTED) {
		fprintf(l->log, "evicted %s\n", s->name);
	} else if (wire_fs_result_decode(result, result_len, &res, &why)) {
		fprintf(l->log, "fail %s %s\n", s->name, why);
		l->failed = 1;
	} else if (res.err) {
		fprintf(l->log, "fail %s %d\n", s->name, -res.err);
		l->failed = 1;
	} else {
		fprintf(l->log, "ack %s %" PRIu64 " %" PRIu64 "\n", s->name, res.attr.ino, op);
		l->acks++;
		if (l->reads) {
			s->reading = true;
			s->read_request = ++l->read_seq;
			s->read_ino = res.attr.ino;
			s->read_to = vr_primary_index(s->c.view, l->cluster.count, l->cluster.witnesses);
			read_send(s);
		}
		if (l->pause_file && l->acks == l->pause_after) {
			int fd = open(l->pause_file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
			if (fd >= 0)
				close(fd);
		}
	}
	fflush(l->log);
	s->next++;
	l->last_progress = now_ms();
}

static uint64_t io_new_client_id(void *ctx)
{
	(void)ctx;
	uint64_t id = 0;
	while (!id)
		randombytes_buf(&id, sizeof(id));
	return id;
}

static void session_submit(struct session *s)
{
	struct load *l = s->l;
	struct wire_fs_op op = { .type = WIRE_FS_CREATE, .parent = WIRE_INO_ROOT, .mode = 0100644 };
	struct wire_buf b;

	if (s->next >= l->ops) {
		s->done = true;
		return;
	}
	snprintf(s->name, sizeof(s->name), "%s-s%u-%" PRIu64, l->prefix, s->index, s->next);
	op.name = s->name;
	op.name_len = (uint32_t)strlen(s->name);
	wire_buf_init(&b);
	if (wire_fs_op_encode(&op, &b)) {
		fprintf(stderr, "vrfs-load: cannot encode an op\n");
		exit(2);
	}
	fprintf(l->log, "sent %s\n", s->name);
	fflush(l->log);
	if (vr_client_submit(&s->c, b.data, (uint32_t)b.len)) {
		fprintf(stderr, "vrfs-load: submit refused\n");
		exit(2);
	}
	wire_buf_free(&b);
}

static void on_frame(struct load *l, uint16_t type, const uint8_t *body, size_t len)
{
	const char *why = NULL;

	if (type == VR_REPLY) {
		static struct vr_entry none[1];
		struct vr_message m;
		if (wire_vr_decode(type, body, len, &m, none, 0, &why))
			return;
		for (uint32_t i = 0; i < l->sessions; i++)
			if (l->s[i].c.client_id == m.client_id)
				vr_client_on_reply(&l->s[i].c, &m);
	} else if (type == WIRE_MSG_REDIRECT) {
		struct wire_redirect r;
		if (wire_redirect_decode(body, len, &r, &why))
			return;
		for (uint32_t i = 0; i < l->sessions; i++) {
			vr_client_on_redirect(&l->s[i].c, r.view);
			struct session *s = &l->s[i];
			if (s->reading && s->read_to == r.replica) { /* ask the primary it names, or the next one */
				uint8_t to = vr_primary_index(r.view, l->cluster.count, l->cluster.witnesses);
				s->read_to = to != r.replica ? to : (uint8_t)((r.replica + 1) % l->cluster.count);
				read_send(s);
			}
		}
	} else if (type == WIRE_MSG_READ_REPLY) {
		static struct wire_dirent none[1];
		struct wire_read_reply rp;
		if (wire_read_reply_decode(WIRE_READ_LOOKUP, body, len, &rp, none, 0, &why))
			return;
		for (uint32_t i = 0; i < l->sessions; i++) {
			struct session *s = &l->s[i];
			if (!s->reading || rp.request != s->read_request)
				continue;
			s->reading = false;
			l->last_progress = now_ms();
			if (rp.result.err || rp.result.attr.ino != s->read_ino) {
				fprintf(l->log, "fail-read %s %d %" PRIu64 "\n", s->name, -rp.result.err,
				        rp.result.attr.ino);
				l->failed = 1;
			} else {
				fprintf(l->log, "read %s %" PRIu64 "\n", s->name, rp.result.attr.ino);
			}
			fflush(l->log);
		}
	}
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: vrfs-load --cluster LIST [--key-file F] [--sessions N] [--ops N] [--prefix P] --log FILE "
	        "[--stall-s S] [--pause-after N --pause-file F]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct load ld;
	struct load *l = &ld;
	const char *list = NULL, *key_file = NULL, *log_path = NULL;
	long stall_s = 60;
	char why[VRFS_WHY_MAX];
	static const struct option opts[] = {
		{ "cluster", required_argument, NULL, 'c' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "sessions", required_argument, NULL, 's' },
		{ "ops", required_argument, NULL, 'n' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "log", required_argument, NULL, 'l' },
		{ "stall-s", required_argument, NULL, 't' },
		{ "pause-after", required_argument, NULL, 'a' },
		{ "pause-file", required_argument, NULL, 'f' },
		{ "reads", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	l->sessions = 4;
	l->ops = 100;
	l->prefix = "f";
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			list = optarg;
			break;
		case 'k':
			key_file = optarg;
			break;
		case 's':
			l->sessions = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			l->ops = strtoull(optarg, NULL, 10);
			break;
		case 'p':
			l->prefix = optarg;
			break;
		case 'l':
			log_path = optarg;
			break;
		case 't':
			stall_s = strtol(optarg, NULL, 10);
			break;
		case 'a':
			l->pause_after = strtoull(optarg, NULL, 10);
			break;
		case 'f':
			l->pause_file = optarg;
			break;
		case 'r':
			l->reads = true;
			break;
		default:
			usage();
		}
	}
	if (!list || !log_path || l->sessions == 0 || l->sessions > SESSIONS_MAX || stall_s < 1)
		usage();
	if (sodium_init() < 0)
		return 2;
	if (vrfs_cluster_parse(&l->cluster, list, why, sizeof(why)) ||
	    (key_file && vrfs_cluster_key_file(&l->cluster, key_file, why, sizeof(why)))) {
		fprintf(stderr, "vrfs-load: %s\n", why);
		return 2;
	}
	l->log = fopen(log_path, "a");
	if (!l->log) {
		fprintf(stderr, "vrfs-load: %s: %s\n", log_path, strerror(errno));
		return 2;
	}
	wire_buf_init(&l->wbuf);
	for (uint8_t i = 0; i < l->cluster.count; i++)
		l->link[i].fd = -1;
	for (uint32_t i = 0; i < l->sessions; i++) {
		struct session *s = &l->s[i];
		struct vr_client_io io = {
			.ctx = s, .send = io_send, .done = io_done, .new_client_id = io_new_client_id
		};
		s->l = l;
		s->index = i;
		if (vr_client_init(&s->c, l->cluster.count, l->cluster.witnesses, WIRE_VR_BODY_MAX, RESEND_TICKS,
		                   &io)) {
			fprintf(stderr, "vrfs-load: cannot start a session\n");
			return 2;
		}
	}

	int64_t next_tick = now_ms() + TICK_MS;
	l->last_progress = now_ms();
	for (;;) {
		uint32_t done = 0;
		for (uint32_t i = 0; i < l->sessions; i++) {
			struct session *s = &l->s[i];
			if (!s->done && !s->reading && vr_client_ready(&s->c))
				session_submit(s);
			done += s->done;
		}
		if (done == l->sessions) {
			bool reading = false;
			for (uint32_t i = 0; i < l->sessions; i++)
				reading |= l->s[i].reading;
			if (!reading)
				break;
		}
		if (now_ms() - l->last_progress > stall_s * 1000) {
			fprintf(stderr, "vrfs-load: no progress for %ld s (%" PRIu64 " acknowledged)\n", stall_s,
			        l->acks);
			return 3;
		}

		struct pollfd p[VR_REPLICAS_MAX];
		for (uint8_t i = 0; i < l->cluster.count; i++)
			p[i] = (struct pollfd){ .fd = l->link[i].fd, .events = POLLIN };
		int64_t wait = next_tick - now_ms();
		poll(p, l->cluster.count, wait > 0 ? (int)wait : 0);
		for (uint8_t i = 0; i < l->cluster.count; i++) {
			struct link *k = &l->link[i];
			if (k->fd < 0 || !(p[i].revents & (POLLIN | POLLERR | POLLHUP)))
				continue;
			int rc = vrfs_reader_fill(&k->r, k->fd);
			uint16_t type;
			const uint8_t *body;
			size_t len;
			const char *fwhy = NULL;
			int got;
			while ((got = vrfs_reader_next(&k->r, &l->cluster, &type, &body, &len, &fwhy)) == 1)
				on_frame(l, type, body, len);
			if (rc < 0 || got < 0)
				link_close(k);
		}
		if (now_ms() >= next_tick) {
			next_tick = now_ms() + TICK_MS;
			for (uint32_t i = 0; i < l->sessions; i++) {
				struct session *s = &l->s[i];
				vr_client_on_tick(&s->c);
				s->tick++;
				if (s->reading && s->tick >= s->read_deadline) { /* no answer: the next replica */
					s->read_to = (uint8_t)((s->read_to + 1) % l->cluster.count);
					read_send(s);
				}
			}
		}
	}
	fprintf(stderr, "vrfs-load: %" PRIu64 " creates acknowledged%s\n", l->acks, l->failed ? ", some FAILED" : "");
	fclose(l->log);
	return l->failed ? 1 : 0;
}
