/*
 * vrfsd.c — one replica: the VR core (replication/vr_*), a libuv event loop, TCP to
 * every other replica and from clients, and the store (through vrfsd_store.h).
 *
 *   vrfsd --id N --cluster HOST:PORT,... --data DIR [--key-file FILE] [-v]
 *
 * The loop. Every input (a frame, a tick) goes to the core at once. What the core
 * persists and applies joins one open store transaction; the check phase of each loop
 * iteration (after all I/O callbacks ran) commits it with one fsync and then tells the
 * core "durable up to seq": group commit. Acknowledgements (PREPARE-OK, DVC, STARTVIEW)
 * leave only after that, because the core sends them only for durable state.
 *
 * Connections. Each replica dials every other one and sends its messages on the
 * connection it dialled (reconnecting with backoff); it reads every connection, dialled
 * or accepted. Clients connect to the same port; a REPLY goes back on the newest
 * connection that carried a request of that client. A frame whose header or tag fails
 * closes its connection (the stream cannot be trusted to find the next frame); a body
 * that fails to decode is dropped and counted; both are logged once per connection.
 *
 * Start. A data directory with a VR image restarts from it. A new directory waits until
 * every other replica answers a STATUS_REQUEST: if all are new too (or formatted and
 * untouched: view 0, op 0), the cluster is new and this replica formats; if any has
 * done anything, this replica lost its disk and runs the RECOVERY protocol (§6.1).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "replication/vrfs_cluster.h"
#include "replication/vrfsd_store.h"
#include "wire/wire_frame.h"
#include "wire/wire_read.h"
#include "wire/wire_vr.h"

#define VRFSD_VERSION      "0.1"
#define TICK_MS            10
#define CONN_READ_MIN      (64 * 1024)
#define CONN_WRITE_MAX     (64u << 20) /* queued bytes per connection beyond which messages are dropped */
#define CONN_CLIENTS_MAX   64          /* client ids remembered per connection */
#define CONNS_MAX          1024
#define PEER_STALL_TICK    150 /* a peer that takes none of our queued bytes this long: reconnect */
#define PEER_CONNECT_TICK  100 /* a dial not answered this long is tried again (SYNs may be lost) */
#define BACKOFF_MIN_MS     50
#define BACKOFF_MAX_MS     1000
#define PROBE_RESEND_TICK  20
#define SNAPSHOT_WAIT_TICK 200         /* no chunk for this long: ask again (the same giver once, then another) */
#define SNAPSHOT_POLL_TICK 25          /* the giver is still making the checkpoint: ask again after this long */
#define CHECKPOINT_PAGES   2048        /* database pages copied per tick while making a checkpoint (8 MiB) */
#define CHECKPOINT_HASH    (32u << 20) /* bytes of a made checkpoint hashed per tick */
#define READS_MAX          4096        /* reads waiting for their barrier; more are redirected (retried) */
#define LOCAL_READ_TICKS   100         /* a read at a backup waits this long for its min_op, then is redirected */
#define SNAPSHOT_IN        "snapshot-in.db"
#define SNAPSHOT_OUT       "snapshot-out.db"
#define MEMBERS_FILE       "members" /* "EPOCH\nHOST:PORT,...\n": the configuration a reconfiguration made */
#define EPOCH_NOTICE_TICK  20        /* a new epoch is announced again to members that have not answered */
/* With witnesses (§9.5) a log keeps every op some full replica may lack: while a full replica is
 * down the window grows, up to --witness-window-mib of bodies (on disk, in the log table) and
 * --witness-window-ops entries (their headers in memory); beyond either the primary takes no
 * write until that replica is back. Bodies in memory: --log-cache-mib (vr_config.body_cache_bytes). */
#define WITNESS_WINDOW_MIB_MAX (1u << 20) /* as --help says */
#define WITNESS_WINDOW_OPS_MIN 4096
#define WITNESS_WINDOW_OPS_MAX (16u << 20)
/* A message carries at most this many log entries (and --part-kib of bodies), far below a
 * frame's WIRE_FRAME_BODY_MAX; the rest of a log follows in further parts (§9.4). */
#define PART_OPS 8192

enum phase { PHASE_PROBE, PHASE_JOIN, PHASE_RUN };

/* A read waiting for its barrier (vr_read_ready). The name is copied: the frame is gone. */
struct pending_read {
	uint64_t client_id, request;
	uint64_t tick; /* when it came (a local read waits at most LOCAL_READ_TICKS) */
	struct wire_read read;
	char name[WIRE_NAME_MAX + 2];
	struct vr_read rd;
};

struct vrfsd;

struct conn {
	uv_tcp_t tcp;
	struct vrfsd *d;
	int peer; /* replica dialled, or -1 for an accepted connection */
	bool connected;
	bool closing;
	bool bad_logged;
	uint8_t *buf;
	size_t pos, len, cap;
	uint64_t clients[CONN_CLIENTS_MAX];
	uint32_t client_next;
	uint64_t frame_id;    /* the cluster id the other side uses (this epoch's or the last's): answers carry it */
	uint64_t notice_tick; /* when it was last told of the epoch */
	bool notice_sent;
	uint64_t born_tick;  /* when it was made (a dial's timeout) */
	uint64_t write_tick; /* when the write queue last drained or moved, while it is not empty */
	struct conn *next, *prev;
	char name[INET6_ADDRSTRLEN + 16];
};

struct peer {
	struct conn *conn;
	uv_connect_t connect;
	uv_timer_t retry;
	uint32_t backoff_ms;
	bool was_up;
	bool down_logged;
};

struct vrfsd {
	uv_loop_t *loop;
	uv_tcp_t listener;
	uv_timer_t tick;
	uv_check_t check;
	uv_idle_t idle;
	uv_signal_t sigterm, sigint;

	struct vrfs_cluster cluster;
	char members[WIRE_EPOCH_MEMBERS_MAX + 1]; /* cluster as text */
	uint8_t self;
	/* Reconfiguration (§10). */
	struct vrfsd_epoch epoch;
	bool join;    /* --join: a new member; it waits to be told of the epoch that includes it */
	bool moving;  /* epoch_move runs */
	bool leaving; /* not a member of the current epoch: gives checkpoints until f'+1 members hold the state */
	uint32_t capacity_full; /* log_capacity without witnesses (from --checkpoint-ops) */
	uint64_t window_bytes;  /* --witness-window-mib: log_bytes_max with witnesses */
	uint32_t window_ops;    /* --witness-window-ops: added to log_capacity with witnesses */
	uint8_t old_self;
	bool started[VR_REPLICAS_MAX]; /* members that said they hold the epoch's state */
	uint64_t notice_tick;
	const char *dir;
	int verbose;
	enum phase phase;

	struct vrfsd_store *store;
	struct vr_config config;
	struct vr_replica vr;
	uint64_t persist_seq, persisted_seq;

	struct peer peer[VR_REPLICAS_MAX];
	struct conn *conns;
	uint32_t conn_count;

	struct wire_buf wbuf;
	struct pending_read *reads; /* a ring of READS_MAX */
	uint32_t read_head, read_count;
	struct vrfsd_read_space *read_space;
	struct vr_entry *entries; /* decoding scratch */
	uint64_t frames_bad;
	uint64_t reads_served, prepares, prepare_ops; /* for vrfs status */
	uint64_t start_ms;
	uint64_t ticks;

	/* Logged transitions. */
	uint8_t shown_status;
	uint64_t shown_view;
	bool shown;

	/* A checkpoint being received (need_snapshot), pulled one chunk per request. */
	struct {
		bool active;
		uint64_t min_op, view; /* what the core asked for */
		uint8_t donor;
		uint32_t attempts;
		uint64_t op, total, offset, head, donor_view; /* the one being fetched (op 0: none yet) */
		uint8_t digest[WIRE_SNAPSHOT_DIGEST];
		crypto_generichash_state hash;
		int fd;
		uint64_t last_tick;
		bool preparing;    /* the giver said it is making the checkpoint: poll it */
		struct conn *conn; /* entering an epoch: the giver is the replica that told of it, on this connection */
		bool joining;
		struct vrfsd_epoch join;      /* the epoch entered with the checkpoint */
		struct vrfs_cluster join_cfg; /* its configuration */
		uint8_t join_self;
		bool join_lost; /* the replica lost its disk: it recovers in the epoch (it may have voted in it) */
	} in;
	/* The checkpoint this replica gives out (DIR/snapshot-out.db), kept for resumed transfers.
	 * It is made a little at each tick (copy, then hash), so the replica keeps serving. */
	struct {
		bool ready;
		uint64_t op, total, head, view;
		uint8_t digest[WIRE_SNAPSHOT_DIGEST];
		int fd;
		struct store_copy *copy; /* being copied */
		bool hashing;            /* copied; its digest being computed */
		uint64_t hashed;
		crypto_generichash_state hash;
		uint8_t asker;
	} out;
	char path_in[4096], path_out[4096];

	/* Start of a new data directory. */
	uint64_t probe_nonce;
	bool probe_answered[VR_REPLICAS_MAX];
	bool probe_fresh[VR_REPLICAS_MAX];
	bool probe_waiting_logged;
};

/* ------------------------------------------------------------------ logging */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

__attribute__((format(printf, 3, 4))) static void vlog(const struct vrfsd *d, const char *level, const char *fmt, ...)
{
	struct timespec ts;
	struct tm tm;
	char when[32];
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	flockfile(stderr);
	if (d->leaving)
		fprintf(stderr, "%s.%03ldZ vrfsd (left) %s: ", when, ts.tv_nsec / 1000000, level);
	else
		fprintf(stderr, "%s.%03ldZ vrfsd r%u %s: ", when, ts.tv_nsec / 1000000, d->self, level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

__attribute__((noreturn)) static void fatal(const struct vrfsd *d, const char *what)
{
	vlog(d, "error", "%s: stopping (a restart recovers from what is durable)", what);
	exit(3);
}

static void reads_serve(struct vrfsd *d);
static void send_redirect(struct vrfsd *d, struct conn *c);
static void epoch_move(struct vrfsd *d, uint64_t op);
static void peer_connect(struct vrfsd *d, uint8_t i);

/* After every input to the core: serve the reads whose barrier holds, log view and status
 * changes (one line per event that matters). */
static void vrfsd_after(struct vrfsd *d)
{
	struct vr_replica *r = &d->vr;

	if (r->epoch_end && d->phase == PHASE_RUN && !d->leaving && !d->moving) {
		d->moving = true;
		epoch_move(d, r->epoch_end);
		d->moving = false;
		return;
	}
	if (d->leaving)
		return;
	if (d->read_count)
		reads_serve(d);
	if (d->shown && r->status == d->shown_status && r->view == d->shown_view)
		return;
	uint8_t primary = vr_primary_index(r->view, r->config.replica_count, r->config.witnesses);
	switch (r->status) {
	case VR_STATUS_NORMAL:
		vlog(d, "info", "view %" PRIu64 ": normal, %s (primary r%u), op %" PRIu64 ", commit %" PRIu64, r->view,
		     primary == d->self ? "primary" : "backup", primary, r->log.op, r->commit);
		if (primary == d->self) { /* it just became normal, or entered this view */
			/* A new primary tells the mounts connected to it at once: requests they sent
			 * to the old one come here without waiting for their resend timers. */
			for (struct conn *c = d->conns; c; c = c->next)
				if (c->peer < 0 && !c->closing && c->clients[0]) /* a mount's, not a replica's */
					send_redirect(d, c);
		}
		break;
	case VR_STATUS_VIEW_CHANGE:
		vlog(d, "info", "view change to view %" PRIu64 " (primary r%u)", r->view, primary);
		break;
	case VR_STATUS_RECOVERING:
		vlog(d, "info", "recovering: asking the other replicas for the log (disk lost)");
		break;
	case VR_STATUS_CATCHING_UP:
		vlog(d, "info", "state transfer: catching up to view %" PRIu64 " from op %" PRIu64, r->catch_up_view,
		     r->log.op);
		break;
	}
	d->shown = true;
	d->shown_status = r->status;
	d->shown_view = r->view;
}

/* ------------------------------------------------------------------ connections */

static void conn_on_close(uv_handle_t *h);
static void peer_schedule(struct vrfsd *d, uint8_t i);

static struct conn *conn_new(struct vrfsd *d, int peer)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->d = d;
	c->peer = peer;
	c->tcp.data = c;
	c->born_tick = c->write_tick = d->ticks;
	c->next = d->conns;
	if (d->conns)
		d->conns->prev = c;
	d->conns = c;
	d->conn_count++;
	return c;
}

static void conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_close((uv_handle_t *)&c->tcp, conn_on_close);
}

static void conn_on_close(uv_handle_t *h)
{
	struct conn *c = h->data;
	struct vrfsd *d = c->d;

	if (c->prev)
		c->prev->next = c->next;
	else
		d->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	d->conn_count--;
	if (d->in.conn == c) {
		d->in.conn = NULL;
		if (d->in.joining) /* the next notice names another giver */
			d->in.active = false;
	}
	if (c->peer >= 0) {
		struct peer *p = &d->peer[c->peer];
		p->conn = NULL;
		if (p->was_up && !p->down_logged) {
			vlog(d, "warn", "connection to replica r%d (%s) lost; reconnecting", c->peer,
			     vrfs_cluster_name(&d->cluster, (uint8_t)c->peer));
			p->down_logged = true;
		}
		p->was_up = false;
		peer_schedule(d, (uint8_t)c->peer);
	}
	free(c->buf);
	free(c);
}

/* A frame that cannot be trusted: counted, logged once per connection. */
static void conn_bad(struct conn *c, const char *why, bool close)
{
	struct vrfsd *d = c->d;

	d->frames_bad++;
	if (!c->bad_logged) {
		vlog(d, "warn", "bad frame from %s: %s (%s; further ones on this connection are counted, not logged)",
		     c->name, why, close ? "closing the connection" : "dropped");
		c->bad_logged = true;
	}
	if (close)
		conn_close(c);
}

struct wreq {
	uv_write_t req;
	uv_buf_t buf;
	uint8_t data[];
};

static void conn_on_write(uv_write_t *req, int status)
{
	struct conn *c = req->handle->data; /* alive: a cancelled write's callback runs before the close's */

	(void)status; /* a failed write shows up as a read error or EOF, which closes the connection */
	c->write_tick = c->d->ticks;
	free(req);
}

static void conn_send(struct conn *c, uint16_t type, const uint8_t *body, size_t len)
{
	struct vrfsd *d;
	size_t total = WIRE_FRAME_HEADER_SIZE + len, n = 0;

	if (!c || c->closing || !c->connected)
		return;
	d = c->d;
	size_t queued = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
	if (queued > CONN_WRITE_MAX)
		return; /* a peer that does not read loses messages, as the network may */
	if (queued == 0)
		c->write_tick = d->ticks;
	struct wreq *w = malloc(sizeof(*w) + total);
	if (!w)
		return;
	if (wire_frame_encode(type, c->frame_id ? c->frame_id : d->cluster.id, body, (uint32_t)len,
	                      d->cluster.has_key ? d->cluster.key : NULL, w->data, total, &n)) {
		free(w);
		return;
	}
	w->buf = uv_buf_init((char *)w->data, (unsigned)n);
	if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &w->buf, 1, conn_on_write))
		free(w);
}

static void conn_track_client(struct conn *c, uint64_t client_id)
{
	for (uint32_t i = 0; i < CONN_CLIENTS_MAX; i++)
		if (c->clients[i] == client_id)
			return;
	c->clients[c->client_next] = client_id;
	c->client_next = (c->client_next + 1) % CONN_CLIENTS_MAX;
}

static struct conn *conn_of_client(struct vrfsd *d, uint64_t client_id)
{
	for (struct conn *c = d->conns; c; c = c->next) /* newest first */
		if (!c->closing && c->peer < 0)
			for (uint32_t i = 0; i < CONN_CLIENTS_MAX; i++)
				if (c->clients[i] == client_id)
					return c;
	return NULL;
}

/* ------------------------------------------------------------------ the core's io */

static void send_vr(struct vrfsd *d, struct conn *c, const struct vr_message *m)
{
	d->wbuf.len = 0;
	if (wire_vr_encode(m, &d->wbuf)) {
		vlog(d, "warn", "cannot encode %s (%" PRIu32 " entries): not sent", vr_command_name(m->command),
		     m->entry_count);
		return;
	}
	conn_send(c, m->command, d->wbuf.data, d->wbuf.len);
}

static void io_send(void *ctx, uint8_t replica, const struct vr_message *m)
{
	struct vrfsd *d = ctx;

	if (replica < d->cluster.count && replica != d->self)
		send_vr(d, d->peer[replica].conn, m);
	if (m->command == VR_PREPARE) {
		d->prepares++;
		d->prepare_ops += m->entry_count;
	}
}

static void io_reply(void *ctx, uint64_t client_id, const struct vr_message *m)
{
	struct vrfsd *d = ctx;

	send_vr(d, conn_of_client(d, client_id), m);
}

static void idle_noop(uv_idle_t *h)
{
	(void)h; /* keeps the loop from blocking while a group waits for the check phase */
}

static void io_persist(void *ctx, const struct vr_write *w)
{
	struct vrfsd *d = ctx;

	if (vrfsd_store_persist(d->store, w))
		fatal(d, "store: cannot write the log");
	d->persist_seq = w->seq;
	uv_idle_start(&d->idle, idle_noop);
}

static uint32_t io_apply(void *ctx, const struct vr_apply *a, uint8_t *result)
{
	struct vrfsd *d = ctx;
	uint32_t len = 0;

	if (vrfsd_store_apply(d->store, a, result, &len))
		fatal(d, "store: cannot apply a committed op");
	uv_idle_start(&d->idle, idle_noop);
	return len;
}

static uint64_t io_realtime(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Leases: CLOCK_BOOTTIME never jumps and, unlike CLOCK_MONOTONIC, goes on counting while the
 * machine is suspended, so a primary that wakes up finds its leases expired. */
static uint64_t io_monotonic(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Body cache: the core dropped this body once written; the store has it (its own writes). */
static bool io_read_body(void *ctx, uint64_t op, uint64_t checksum, uint8_t *body, uint32_t len)
{
	struct vrfsd *d = ctx;
	int rc = vrfsd_store_read_body(d->store, op, checksum, body, len);

	if (rc == -EIO)
		fatal(d, "store: cannot read the log");
	return rc == 0;
}

static void io_log(void *ctx, const char *what)
{
	struct vrfsd *d = ctx;

	if (d->verbose)
		vlog(d, "debug", "%s", what);
}

/* Commits the open group (one fsync) and tells the core, until nothing is pending. */
static void vrfsd_commit(struct vrfsd *d)
{
	while (vrfsd_store_pending(d->store)) {
		if (vrfsd_store_flush(d->store))
			fatal(d, "store: cannot commit");
		if (d->phase == PHASE_RUN && d->persist_seq > d->persisted_seq) {
			d->persisted_seq = d->persist_seq;
			vr_on_persisted(&d->vr, d->persisted_seq);
			vrfsd_after(d);
		}
	}
}

/* Group commit: after the I/O callbacks of one iteration, one transaction, one fsync. */
static void on_check(uv_check_t *h)
{
	struct vrfsd *d = h->data;

	uv_idle_stop(&d->idle);
	/* Batching: the requests of this iteration go out in one PREPARE, before the fsync. */
	if (d->phase == PHASE_RUN && !d->leaving)
		vr_prepare_flush(&d->vr);
	vrfsd_commit(d);
}

/* ------------------------------------------------------------------ status and start */

static void send_status(struct vrfsd *d, struct conn *c, uint64_t nonce)
{
	struct wire_status st = {
		.nonce = nonce,
		.replica = d->self,
		.replica_count = d->cluster.count,
		.uptime_ms = now_ms() - d->start_ms,
		.frames_bad = d->frames_bad,
		.reads = d->reads_served,
		.prepares = d->prepares,
		.prepare_ops = d->prepare_ops,
		.epoch = d->epoch.epoch,
	};

	if (d->phase != PHASE_RUN) {
		st.status = WIRE_STATUS_NEW;
	} else if (d->leaving) {
		st.status = WIRE_STATUS_LEFT;
		st.replica = d->old_self;
		st.commit = st.op = d->vr.commit;
	} else {
		const struct vr_replica *r = &d->vr;
		st.status = r->status;
		st.view = r->view;
		st.primary = vr_primary_index(r->view, r->config.replica_count, r->config.witnesses);
		st.op = r->log.op;
		st.commit = r->commit;
		st.lease_reads = r->lease_reads;
		st.log_parts = r->log_parts;
		st.log_cached = r->log.held;
		st.bodies_read = r->bodies_read;
		st.checkpoint = r->log.first > 1 ? r->log.first : 0;
		st.log_ops = vr_log_count(&r->log);
		for (uint64_t x = r->log.first; x <= r->log.op; x++)
			st.log_bytes += vr_log_entry(r, x)->body_len;
	}
	d->wbuf.len = 0;
	if (!wire_status_encode(&st, &d->wbuf))
		conn_send(c, WIRE_MSG_STATUS, d->wbuf.data, d->wbuf.len);
}

static void io_need_snapshot(void *ctx, uint64_t min_op, uint64_t view);

static struct vr_io vrfsd_io(struct vrfsd *d)
{
	struct vr_io io = {
		.ctx = d,
		.send = io_send,
		.reply = io_reply,
		.persist = io_persist,
		.apply = io_apply,
		.realtime = io_realtime,
		.monotonic = io_monotonic,
		.need_snapshot = io_need_snapshot,
		.log = io_log,
		.read_body = io_read_body,
	};
	return io;
}

static void vrfsd_run(struct vrfsd *d, bool fresh_cluster)
{
	struct vr_io io = vrfsd_io(d);
	char why[VRFSD_WHY_SIZE];
	int rc;

	if (vrfsd_store_has_image(d->store)) {
		struct vr_durable image;
		if (vrfsd_store_image(d->store, d->config.client_table_size, true, &image, why, sizeof(why))) {
			vlog(d, "error", "%s/%s: %s", d->dir, VRFSD_STORE_FILE, why);
			exit(1);
		}
		rc = vr_init(&d->vr, &d->config, &io, &image);
		vlog(d, "info", "restarted from %s: view %" PRIu64 ", op %" PRIu64 ", applied %" PRIu64, d->dir,
		     image.meta.view, image.op, image.commit);
		vrfsd_store_image_free(&image);
	} else if (fresh_cluster) {
		if (vrfsd_store_format(d->store))
			fatal(d, "store: cannot format");
		vlog(d, "info", "new cluster: every replica is new; formatted %s", d->dir);
		rc = vr_init(&d->vr, &d->config, &io, NULL);
	} else {
		vlog(d, "info", "the cluster has state and this data directory has none: recovering (disk lost)");
		rc = vr_init_recovering(&d->vr, &d->config, &io);
	}
	if (rc) {
		vlog(d, "error",
		     "%s/%s: the durable state is damaged (%s); move the directory away to recover this "
		     "replica from the others",
		     d->dir, VRFSD_STORE_FILE, strerror(-rc));
		exit(1);
	}
	d->phase = PHASE_RUN;
	/* A RECONFIGURE executed before a crash, its configuration not taken up yet: now. */
	uint64_t pending = vrfsd_store_epoch_pending(d->store);
	if (pending && d->vr.commit >= pending)
		epoch_move(d, pending);
	vrfsd_after(d);
}

static bool probe_peer_fresh(const struct wire_status *st)
{
	return st->status == WIRE_STATUS_NEW ||
	       (st->status == VR_STATUS_NORMAL && st->epoch == 0 && st->view == 0 && st->op == 0 && st->commit == 0);
}

static void probe_on_status(struct vrfsd *d, const struct wire_status *st)
{
	if (st->nonce != d->probe_nonce)
		return;
	/* The cluster was reconfigured (numbers and count may differ from this --cluster): it has
	 * state, so this empty directory lost it; recovery learns the epoch from a notice. */
	if (st->epoch > 0 && st->status != WIRE_STATUS_NEW && st->status != WIRE_STATUS_LEFT) {
		vrfsd_run(d, false);
		return;
	}
	if (st->replica >= d->cluster.count || st->replica == d->self)
		return;
	if (st->replica_count != d->cluster.count)
		return;
	d->probe_answered[st->replica] = true;
	d->probe_fresh[st->replica] = probe_peer_fresh(st);
	if (!d->probe_fresh[st->replica]) {
		vrfsd_run(d, false);
		return;
	}
	for (uint8_t i = 0; i < d->cluster.count; i++)
		if (i != d->self && !d->probe_answered[i])
			return;
	vrfsd_run(d, true);
}

static void probe_send(struct vrfsd *d)
{
	struct wire_status_request q = { .nonce = d->probe_nonce };
	char waiting[256] = "";

	d->wbuf.len = 0;
	if (wire_status_request_encode(&q, &d->wbuf))
		return;
	for (uint8_t i = 0; i < d->cluster.count; i++) {
		if (i == d->self || d->probe_answered[i])
			continue;
		conn_send(d->peer[i].conn, WIRE_MSG_STATUS_REQUEST, d->wbuf.data, d->wbuf.len);
		size_t n = strlen(waiting);
		snprintf(waiting + n, sizeof(waiting) - n, "%sr%u", n ? ", " : "", i);
	}
	if (!d->probe_waiting_logged && d->ticks > 200) {
		vlog(d, "info",
		     "new data directory: waiting for %s to answer (a new cluster starts when every replica is up; "
		     "a replica that lost its disk recovers once one that has state answers)",
		     waiting);
		d->probe_waiting_logged = true;
	}
}

/* ------------------------------------------------------------------ checkpoints */

static void snapshot_in_reset(struct vrfsd *d)
{
	if (d->in.fd >= 0)
		close(d->in.fd);
	d->in.fd = -1;
	d->in.op = d->in.total = d->in.offset = 0;
	unlink(d->path_in);
}

/* Asks the giver for the next chunk (or, with op 0, for any checkpoint >= min_op). */
static void snapshot_request(struct vrfsd *d)
{
	struct wire_snapshot_request q = {
		.replica = d->self,
		.min_op = d->in.min_op,
		.snapshot_op = d->in.op,
		.offset = d->in.offset,
	};

	d->in.last_tick = d->ticks;
	d->wbuf.len = 0;
	if (!wire_snapshot_request_encode(&q, &d->wbuf))
		conn_send(d->in.joining ? d->in.conn : d->peer[d->in.donor].conn, WIRE_MSG_SNAPSHOT_REQUEST,
		          d->wbuf.data, d->wbuf.len);
}

/* The replica after `from` that can give a checkpoint: not this one, not a witness (no state). */
static uint8_t donor_next(const struct vrfsd *d, uint8_t from)
{
	uint8_t i = from;

	do
		i = (uint8_t)((i + 1) % d->cluster.count);
	while ((i == d->self || vr_witness(d->cluster.witnesses, i)) && i != from);
	return i;
}

static void io_need_snapshot(void *ctx, uint64_t min_op, uint64_t view)
{
	struct vrfsd *d = ctx;

	if (d->in.active) {
		if (min_op > d->in.min_op)
			d->in.min_op = min_op;
		if (view > d->in.view)
			d->in.view = view;
		return;
	}
	d->in.active = true;
	d->in.min_op = min_op;
	d->in.view = view;
	d->in.attempts = 0;
	/* A backup gives it rather than the primary: making a checkpoint holds the giver's loop
	 * for a while (a copy of the whole store), and a primary that falls silent that long is
	 * deposed; a backup that does only pauses. */
	uint8_t primary = vr_primary_index(view, d->cluster.count, d->cluster.witnesses);
	d->in.donor = donor_next(d, primary);
	snapshot_in_reset(d);
	vlog(d, "info", "state transfer: the ops after %" PRIu64 " are only in checkpoints now; fetching one from r%u",
	     d->vr.commit, d->in.donor);
	snapshot_request(d);
}

/* No chunk for a while: resume from the same giver once, then start over with the next one. A
 * giver that never answered (not normal, or not far enough yet) is left at once. */
static void snapshot_tick(struct vrfsd *d)
{
	if (!d->in.active)
		return;
	if (d->in.joining && !d->in.preparing && d->ticks - d->in.last_tick >= SNAPSHOT_WAIT_TICK) {
		d->in.active = false; /* the next notice of the epoch names the giver */
		snapshot_in_reset(d);
		return;
	}
	if (d->in.preparing && d->in.op == 0 && d->ticks - d->in.last_tick >= SNAPSHOT_POLL_TICK) {
		d->in.preparing = false;
		snapshot_request(d);
		return;
	}
	if (d->ticks - d->in.last_tick < SNAPSHOT_WAIT_TICK)
		return;
	d->in.attempts++;
	if (d->in.op == 0 || d->in.attempts % 2 == 0) {
		d->in.donor = donor_next(d, d->in.donor);
		snapshot_in_reset(d);
		vlog(d, "info", "state transfer: no answer; fetching a checkpoint from r%u instead", d->in.donor);
	}
	snapshot_request(d);
}

/* Drops the checkpoint given out, or the one being made. */
static void snapshot_out_drop(struct vrfsd *d)
{
	if (d->out.copy)
		vrfsd_store_checkpoint_abort(d->out.copy, d->path_out);
	d->out.copy = NULL;
	if (d->out.fd >= 0)
		close(d->out.fd);
	d->out.fd = -1;
	d->out.ready = false;
	d->out.hashing = false;
}

static void snapshot_make_start(struct vrfsd *d, uint8_t asker)
{
	char why[VRFSD_WHY_SIZE];

	snapshot_out_drop(d);
	if (vrfsd_store_checkpoint_begin(d->store, d->path_out, &d->out.copy, why, sizeof(why))) {
		vlog(d, "warn", "cannot make a checkpoint for r%u: %s", asker, why);
		d->out.copy = NULL;
		return;
	}
	d->out.asker = asker;
	vlog(d, "info", "making a checkpoint for r%u (a part at each tick: this replica serves on meanwhile)", asker);
}

/* One tick's share of making the checkpoint: copy some pages, then hash some bytes. What is
 * applied between steps goes into the copy; its op is the commit when the last step is done. */
static void snapshot_make_tick(struct vrfsd *d)
{
	char why[VRFSD_WHY_SIZE];

	if (d->out.copy) {
		if (vrfsd_store_pending(d->store))
			vrfsd_commit(d); /* the copy is of committed state only */
		int rc = vrfsd_store_checkpoint_step(d->store, d->out.copy, CHECKPOINT_PAGES, why, sizeof(why));
		if (rc == 0)
			return;
		struct store_copy *c = d->out.copy;
		uint64_t op = 0;
		d->out.copy = NULL;
		if (rc < 0) {
			vrfsd_store_checkpoint_abort(c, d->path_out);
			vlog(d, "warn", "cannot make a checkpoint for r%u: %s", d->out.asker, why);
			return;
		}
		if (vrfsd_store_checkpoint_end(c, &op, why, sizeof(why))) {
			vlog(d, "warn", "cannot make a checkpoint for r%u: %s", d->out.asker, why);
			return;
		}
		const struct vr_entry *e = vr_log_entry(&d->vr, op);
		struct stat st;
		d->out.fd = open(d->path_out, O_RDONLY | O_CLOEXEC);
		if (!e || d->out.fd < 0 || fstat(d->out.fd, &st)) {
			vlog(d, "warn", "cannot read back the checkpoint at op %" PRIu64, op);
			snapshot_out_drop(d);
			return;
		}
		d->out.op = op;
		d->out.head = e->checksum;
		d->out.view = d->vr.view;
		d->out.total = (uint64_t)st.st_size;
		d->out.hashed = 0;
		d->out.hashing = true;
		crypto_generichash_init(&d->out.hash, NULL, 0, WIRE_SNAPSHOT_DIGEST);
		return;
	}
	if (!d->out.hashing)
		return;
	static uint8_t buf[1 << 20];
	for (uint64_t budget = CHECKPOINT_HASH; budget && d->out.hashed < d->out.total;) {
		uint64_t n = d->out.total - d->out.hashed;
		if (n > sizeof(buf))
			n = sizeof(buf);
		ssize_t got = pread(d->out.fd, buf, n, (off_t)d->out.hashed);
		if (got <= 0) {
			vlog(d, "warn", "cannot read back the checkpoint at op %" PRIu64, d->out.op);
			snapshot_out_drop(d);
			return;
		}
		crypto_generichash_update(&d->out.hash, buf, (size_t)got);
		d->out.hashed += (uint64_t)got;
		budget = budget > (uint64_t)got ? budget - (uint64_t)got : 0;
	}
	if (d->out.hashed < d->out.total)
		return;
	crypto_generichash_final(&d->out.hash, d->out.digest, WIRE_SNAPSHOT_DIGEST);
	d->out.hashing = false;
	d->out.ready = true;
	vlog(d, "info", "checkpoint at op %" PRIu64 " (%" PRIu64 " bytes) made for r%u", d->out.op, d->out.total,
	     d->out.asker);
}

/* "Making it: ask again": a chunk of no checkpoint (op 0, nothing in it). */
static void send_preparing(struct vrfsd *d, struct conn *c)
{
	struct wire_snapshot_chunk k = { .replica = d->self, .epoch = d->epoch.epoch };

	d->wbuf.len = 0;
	if (!wire_snapshot_chunk_encode(&k, &d->wbuf))
		conn_send(c, WIRE_MSG_SNAPSHOT_CHUNK, d->wbuf.data, d->wbuf.len);
}

/* A replica asks for a checkpoint: make one when there is none recent enough, send a chunk. */
static void on_snapshot_request(struct vrfsd *d, struct conn *c, const struct wire_snapshot_request *q)
{
	if (d->phase != PHASE_RUN)
		return; /* the asker may be new to the epoch: its number is not checked against ours */
	/* The applied state is committed state in any status (the simulator gives from any); a
	 * recovering replica's is being rebuilt. Giving during a view change matters: new members
	 * fetch the state while too few members are up to finish one. */
	if (d->vr.status == VR_STATUS_RECOVERING || d->vr.commit < d->epoch.op)
		return;
	if (vr_witness(d->cluster.witnesses, d->self))
		return; /* a witness has no state to give (the asker moves on to another giver) */
	if (d->vr.commit < q->min_op && !(q->snapshot_op && d->out.ready && q->snapshot_op == d->out.op))
		return; /* not far enough: a checkpoint made now would not do (the asker moves on) */
	bool resume = q->snapshot_op && d->out.ready && q->snapshot_op == d->out.op;
	if (!resume && (!d->out.ready || d->out.op < q->min_op)) {
		if (!d->out.copy && !d->out.hashing)
			snapshot_make_start(d, q->replica);
		if (d->out.copy || d->out.hashing)
			send_preparing(d, c); /* the asker polls; the checkpoint is made over the next ticks */
		return;
	}
	uint64_t offset = resume ? q->offset : 0;
	if (offset > d->out.total)
		return;
	static uint8_t data[WIRE_SNAPSHOT_CHUNK_MAX];
	uint64_t len = d->out.total - offset;
	if (len > WIRE_SNAPSHOT_CHUNK_MAX)
		len = WIRE_SNAPSHOT_CHUNK_MAX;
	if (len && pread(d->out.fd, data, len, (off_t)offset) != (ssize_t)len)
		return;
	struct wire_snapshot_chunk k = {
		.replica = d->self,
		.snapshot_op = d->out.op,
		.head = d->out.head,
		.view = d->leaving ? 1 : d->out.view, /* left out: it does not know the epoch's view */
		.epoch = d->epoch.epoch,
		.total = d->out.total,
		.offset = offset,
		.data_len = (uint32_t)len,
		.data = data,
	};
	memcpy(k.digest, d->out.digest, sizeof(k.digest));
	d->wbuf.len = 0;
	if (!wire_snapshot_chunk_encode(&k, &d->wbuf))
		conn_send(c, WIRE_MSG_SNAPSHOT_CHUNK, d->wbuf.data, d->wbuf.len);
}

static void epoch_config(struct vrfsd *d, const struct vrfs_cluster *cfg, uint8_t self);
static void members_file_write(struct vrfsd *d, uint64_t epoch, const struct vrfs_cluster *cfg);

/* The store changed under the core (a checkpoint installed, an epoch taken up): the core starts
 * again from it (the old one, if any, already gone). Stops the replica when it cannot. */
static void core_restart(struct vrfsd *d, bool epoch_start, const char *what)
{
	char why[VRFSD_WHY_SIZE];
	struct vr_durable image;
	struct vr_io io = vrfsd_io(d);

	d->persist_seq = d->persisted_seq = 0;
	if (vrfsd_store_image(d->store, d->config.client_table_size, true, &image, why, sizeof(why))) {
		vlog(d, "error", "%s: %s", what, why);
		exit(3);
	}
	image.epoch_start = epoch_start;
	/* A log kept under an earlier configuration's window (one with witnesses) may be longer
	 * than this one's: the window holds it until checkpoints shorten it. */
	if (image.op >= image.first && image.op - image.first + 1 > d->config.log_capacity)
		d->config.log_capacity = (uint32_t)(image.op - image.first + 1) + d->capacity_full;
	int rc = vr_init(&d->vr, &d->config, &io, &image);
	vrfsd_store_image_free(&image);
	if (rc) {
		vlog(d, "error", "%s: the replica does not start from its store (%s)", what, strerror(-rc));
		exit(3);
	}
}

/* The whole checkpoint is here and checked: it becomes the store, and the core restarts from it. */
static void snapshot_install(struct vrfsd *d)
{
	char why[VRFSD_WHY_SIZE];
	struct vrfsd_identity ident = { .cluster_id = d->cluster.id,
		                        .replica = d->self,
		                        .replica_count = d->cluster.count };
	uint64_t view = d->in.view > d->in.donor_view ? d->in.view : d->in.donor_view;
	uint64_t op = d->in.op;
	bool joining = d->in.joining;
	struct vr_meta join_meta = { 0 };

	if (joining) {
		ident = (struct vrfsd_identity){ .cluster_id = d->in.join_cfg.id,
			                         .replica = d->in.join_self,
			                         .replica_count = d->in.join_cfg.count };
		/* How it enters the epoch (the simulator's sim_epoch_join does the same). One that lost
		 * its disk may have voted in it: it recovers (§6.2). A new member acknowledged nothing
		 * in it: when its giver is a member normal in the epoch's first view it is a backup of
		 * that view at once (v' = 0 ranks its log below every other); else (a giver left out
		 * says view 1: it does not know the epoch's view) it enters through a view change. */
		if (d->in.join_lost)
			join_meta.status = VR_STATUS_RECOVERING;
		else if (d->in.donor_view == 0 &&
		         vr_primary_index(0, d->in.join_cfg.count, d->in.join_cfg.witnesses) != d->in.join_self)
			join_meta.status = VR_STATUS_NORMAL;
		else
			join_meta = (struct vr_meta){ .status = VR_STATUS_VIEW_CHANGE,
				                      .view = d->in.donor_view > 1 ? d->in.donor_view : 1 };
	}

	close(d->in.fd);
	d->in.fd = -1;
	snapshot_out_drop(d); /* a checkpoint of the state being replaced: of no use now */
	vrfsd_commit(d);
	if (joining)
		members_file_write(d, d->in.join.epoch, &d->in.join_cfg);
	const struct vrfs_cluster *cfg = joining ? &d->in.join_cfg : &d->cluster;
	unsigned flags = (vr_witness(cfg->witnesses, joining ? d->in.join_self : d->self) ? VRFSD_INSTALL_WITNESS : 0) |
	                 (cfg->witnesses ? VRFSD_INSTALL_WINDOW : 0);
	int rc = vrfsd_store_install(d->store, d->dir, d->path_in, &ident, op, view, d->config.log_capacity,
	                             joining ? &d->in.join : NULL, &join_meta, flags, why, sizeof(why));
	d->in.active = false;
	d->in.joining = false;
	d->in.conn = NULL;
	if (rc == 1) {
		vlog(d, "info",
		     "state transfer: the checkpoint at op %" PRIu64 " came too late (view moved on); dropped", op);
		snapshot_in_reset(d);
		return;
	}
	if (rc < 0) {
		vlog(d, "error", "state transfer: %s", why);
		exit(3);
	}
	if (d->phase == PHASE_RUN)
		vr_deinit(&d->vr);
	if (joining) {
		d->epoch = d->in.join;
		epoch_config(d, &d->in.join_cfg, d->in.join_self);
		vlog(d, "info", "epoch %" PRIu64 ": a member now, replica r%u of %u (%s)", d->epoch.epoch, d->self,
		     d->cluster.count, d->members);
	}
	d->phase = PHASE_RUN;
	core_restart(d, false, "state transfer: the installed checkpoint");
	if (joining)
		vlog(d, "info", "state transfer: installed the checkpoint at op %" PRIu64 " (%" PRIu64 " bytes)", op,
		     d->in.total);
	else
		vlog(d, "info", "state transfer: installed the checkpoint of r%u at op %" PRIu64 " (%" PRIu64 " bytes)",
		     d->in.donor, op, d->in.total);
	d->shown = false;
	vrfsd_after(d);
}

static void on_snapshot_chunk(struct vrfsd *d, struct conn *c, const struct wire_snapshot_chunk *k)
{
	if (!d->in.active)
		return;
	if (d->in.joining ? c != d->in.conn || k->epoch != d->in.join.epoch
	                  : d->phase != PHASE_RUN || k->replica != d->in.donor || k->epoch != d->epoch.epoch)
		return;
	if (d->in.op == 0 && k->snapshot_op == 0 && k->total == 0) {
		/* The giver is making it: ask again in a while, and do not take it for lost. */
		d->in.preparing = true;
		d->in.last_tick = d->ticks;
		return;
	}
	if (d->in.op == 0) { /* the first chunk names the checkpoint */
		if (k->offset != 0 || k->snapshot_op < d->in.min_op)
			return;
		d->in.fd = open(d->path_in, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (d->in.fd < 0) {
			vlog(d, "error", "state transfer: cannot write %s: %s", d->path_in, strerror(errno));
			d->in.active = false;
			return;
		}
		d->in.op = k->snapshot_op;
		d->in.total = k->total;
		d->in.head = k->head;
		d->in.donor_view = k->view;
		memcpy(d->in.digest, k->digest, sizeof(d->in.digest));
		crypto_generichash_init(&d->in.hash, NULL, 0, WIRE_SNAPSHOT_DIGEST);
	} else if (k->snapshot_op != d->in.op || k->offset != d->in.offset || k->total != d->in.total) {
		return; /* another checkpoint, or a chunk already held */
	}
	if (k->data_len && pwrite(d->in.fd, k->data, k->data_len, (off_t)k->offset) != (ssize_t)k->data_len) {
		vlog(d, "error", "state transfer: cannot write %s: %s", d->path_in, strerror(errno));
		snapshot_in_reset(d);
		return;
	}
	crypto_generichash_update(&d->in.hash, k->data, k->data_len);
	d->in.offset += k->data_len;
	d->in.attempts = 0;
	if (d->in.offset < d->in.total) {
		snapshot_request(d);
		return;
	}
	uint8_t digest[WIRE_SNAPSHOT_DIGEST];
	crypto_generichash_final(&d->in.hash, digest, sizeof(digest));
	if (sodium_memcmp(digest, d->in.digest, sizeof(digest)) != 0 || fsync(d->in.fd)) {
		vlog(d, "warn", "state transfer: the checkpoint from r%u does not match its digest; fetching it again",
		     d->in.donor);
		snapshot_in_reset(d);
		snapshot_request(d);
		return;
	}
	snapshot_install(d);
}

/* ------------------------------------------------------------------ reconfiguration (§10) */

/* The log window the configuration needs (§9.5): logs reach back to what every full replica
 * holds when there are witnesses. */
static void vrfsd_window(struct vrfsd *d)
{
	d->config.log_capacity = d->capacity_full;
	d->config.log_bytes_max = 0;
	if (d->config.witnesses) {
		d->config.log_capacity += d->window_ops;
		d->config.log_bytes_max = d->window_bytes;
	}
}

/*
 * The configuration becomes cfg, this replica its member self (VR_REPLICAS_MAX: none): the
 * core's config follows, and the connections to the old members are dropped for the new ones.
 */
static void epoch_config(struct vrfsd *d, const struct vrfs_cluster *cfg, uint8_t self)
{
	for (uint8_t i = 0; i < VR_REPLICAS_MAX; i++) {
		struct peer *p = &d->peer[i];
		uv_timer_stop(&p->retry);
		if (p->conn) {
			p->conn->peer = -1; /* detached: its close does not touch the new peer i */
			conn_close(p->conn);
			p->conn = NULL;
		}
		p->backoff_ms = 0;
		p->was_up = false;
		p->down_logged = true;
	}
	d->cluster = *cfg;
	d->self = self;
	vrfs_cluster_text(&d->cluster, d->members, sizeof(d->members));
	d->config.replica_count = cfg->count;
	d->config.self = self < cfg->count ? self : 0;
	d->config.witnesses = cfg->witnesses;
	vrfsd_window(d);
	d->config.epoch = d->epoch.epoch;
	d->config.epoch_op = d->epoch.op;
	memset(d->started, 0, sizeof(d->started));
	d->notice_tick = 0;
	for (uint8_t i = 0; i < cfg->count; i++)
		if (i != self)
			peer_connect(d, i);
}

/*
 * DIR/members records the configuration of an epoch, so that a restart with the --cluster of
 * an earlier one runs in the right one. Written (whole, by rename) before the store takes the
 * epoch up: a file one epoch ahead of the store is ignored at start.
 */
static void members_file_write(struct vrfsd *d, uint64_t epoch, const struct vrfs_cluster *cfg)
{
	char path[4200], tmp[4210], list[WIRE_EPOCH_MEMBERS_MAX + 1];
	FILE *f;

	vrfs_cluster_text(cfg, list, sizeof(list));
	snprintf(path, sizeof(path), "%s/%s", d->dir, MEMBERS_FILE);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!(f = fopen(tmp, "w")) || fprintf(f, "%" PRIu64 "\n%s\n", epoch, list) < 0 || fflush(f) ||
	    fsync(fileno(f)) || fclose(f) || rename(tmp, path))
		fatal(d, "cannot write the configuration file DIR/members");
	int dfd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
}

/* Tells c of this epoch: its first op and its members. */
static void epoch_notice(struct vrfsd *d, struct conn *c)
{
	struct wire_epoch q = { .epoch = d->epoch.epoch,
		                .op = d->epoch.op,
		                .head = d->epoch.head,
		                .members_len = (uint32_t)strlen(d->members),
		                .members = (const uint8_t *)d->members };

	if (!c || d->epoch.epoch == 0)
		return;
	/* Only a replica that can give the epoch's state tells of it: whoever is told may fetch
	 * the state from the teller, and a witness has none (§9.5). */
	if (!d->leaving && vr_witness(d->cluster.witnesses, d->self))
		return;
	c->notice_tick = d->ticks;
	c->notice_sent = true;
	d->wbuf.len = 0;
	if (!wire_epoch_encode(&q, &d->wbuf))
		conn_send(c, WIRE_MSG_EPOCH, d->wbuf.data, d->wbuf.len);
}

/* A replica (or mount) of an older epoch spoke: tell it, at most every EPOCH_NOTICE_TICK. */
static void epoch_notice_lagging(struct vrfsd *d, struct conn *c)
{
	if (!c->notice_sent || d->ticks - c->notice_tick >= EPOCH_NOTICE_TICK)
		epoch_notice(d, c);
}

static void retire(struct vrfsd *d, const char *why)
{
	vlog(d, "info", "%s: stopping (this replica serves no more; its directory may be removed)", why);
	if (vrfsd_store_pending(d->store) && vrfsd_store_flush(d->store))
		fatal(d, "store: cannot commit at shutdown");
	snapshot_out_drop(d);
	vrfsd_store_close(d->store);
	d->store = NULL;
	exit(0);
}

/*
 * The RECONFIGURE entry at op is executed here: take up the configuration it names (§10.3,
 * §10.4). A member starts the next epoch in view 0, NORMAL, with its log and state as they are
 * (op is the last op of the old epoch). A replica left out keeps its state to give the new
 * members checkpoints until f'+1 of them hold it, then stops.
 */
static void epoch_move(struct vrfsd *d, uint64_t op)
{
	const struct vr_entry *e = vr_log_entry(&d->vr, op);
	struct vrfs_cluster next;
	char why[VRFSD_WHY_SIZE];

	if (!e || e->kind != VR_KIND_RECONFIGURE)
		fatal(d, "reconfiguration: the entry that ended the epoch is not in the log");
	const uint8_t *nl = memchr(e->body, '\n', e->body_len); /* "FROM\nTO" */
	uint32_t to_off = nl ? (uint32_t)(nl - e->body) + 1 : 0;
	if (vrfs_cluster_parse_like(&next, &d->cluster, (const char *)e->body + to_off, e->body_len - to_off, why,
	                            sizeof(why))) {
		vlog(d, "error", "reconfiguration at op %" PRIu64 ": the new configuration does not parse here: %s", op,
		     why);
		exit(3);
	}
	int self = vrfs_cluster_find(&next, &d->cluster.member[d->self]);
	struct vrfsd_epoch ep = {
		.epoch = d->epoch.epoch + 1, .op = op, .head = e->checksum, .prev_id = d->cluster.id
	};
	vrfsd_commit(d);
	snapshot_out_drop(d); /* made in the old epoch */
	if (d->in.active) {   /* asked for by the old epoch's core */
		d->in.active = d->in.joining = false;
		snapshot_in_reset(d);
	}
	for (; d->read_count; d->read_count--) { /* the client asks again, in the new epoch */
		send_redirect(d, conn_of_client(d, d->reads[d->read_head].client_id));
		d->read_head = (d->read_head + 1) % READS_MAX;
	}
	if (self >= 0) {
		struct vrfsd_identity ident = { .cluster_id = next.id,
			                        .replica = (uint8_t)self,
			                        .replica_count = next.count };
		struct vr_meta meta = { .status = VR_STATUS_NORMAL };
		members_file_write(d, ep.epoch, &next);
		if (vrfsd_store_epoch_begin(d->store, &ident, &ep, &meta))
			fatal(d, "store: cannot take up the new configuration");
		d->epoch = ep;
		vr_deinit(&d->vr);
		epoch_config(d, &next, (uint8_t)self);
		core_restart(d, true, "reconfiguration: the new epoch");
		vlog(d, "info", "epoch %" PRIu64 " from op %" PRIu64 ": replica r%u of %u (%s)", ep.epoch, op, d->self,
		     d->cluster.count, d->members);
		/* The mounts connected here learn the members now, and resend at once what the old
		 * primary dropped while the epoch ended (instead of after their resend timer). */
		for (struct conn *c = d->conns; c; c = c->next)
			if (c->peer < 0 && !c->closing && c->clients[0])
				epoch_notice(d, c);
		d->shown = false;
		d->started[d->self] = true;
		vrfsd_after(d);
		return;
	}
	struct vrfsd_identity ident = { .cluster_id = d->cluster.id,
		                        .replica = d->self,
		                        .replica_count = d->cluster.count };
	ep.left = ep.epoch;
	if (vrfsd_store_epoch_begin(d->store, &ident, &ep, NULL))
		fatal(d, "store: cannot take up the new configuration");
	d->epoch = ep;
	d->old_self = d->self;
	if (vr_witness(d->cluster.witnesses, d->self))
		retire(d, "not a member of the new configuration, and a witness has no state to give");
	epoch_config(d, &next, VR_REPLICAS_MAX);
	d->leaving = true;
	/* The mounts connected here learn the new members now: an idle one would otherwise find
	 * only replicas that stopped once the new members held the state. */
	for (struct conn *c = d->conns; c; c = c->next)
		if (c->peer < 0 && !c->closing && c->clients[0])
			epoch_notice(d, c);
	vlog(d, "info",
	     "epoch %" PRIu64 " from op %" PRIu64 ": not a member of %s; giving the members the state until %u of "
	     "them hold it, then stopping",
	     ep.epoch, op, d->members, d->cluster.count / 2 + 1);
}

/* A replica says epoch q->epoch began. */
static void on_epoch(struct vrfsd *d, struct conn *c, const struct wire_epoch *q)
{
	char why[VRFSD_WHY_SIZE];

	if (d->phase == PHASE_RUN && q->epoch == d->epoch.epoch) {
		if (!d->leaving && d->vr.commit >= d->epoch.op) { /* this member holds the epoch's state */
			struct wire_epoch_started s = { .epoch = d->epoch.epoch, .replica = d->self };
			d->wbuf.len = 0;
			if (!wire_epoch_started_encode(&s, &d->wbuf))
				conn_send(c, WIRE_MSG_EPOCH_STARTED, d->wbuf.data, d->wbuf.len);
		}
		return;
	}
	if (d->phase == PHASE_RUN && q->epoch < d->epoch.epoch) {
		epoch_notice_lagging(d, c); /* the sender lags */
		return;
	}
	if (d->phase == PHASE_PROBE || (d->phase == PHASE_RUN && d->leaving) || (d->in.active && d->in.joining))
		return;
	/* This replica lags: the epoch before q->epoch ended at op q->op. */
	if (d->phase == PHASE_RUN && q->epoch == d->epoch.epoch + 1) {
		int rc = vr_epoch_commit(&d->vr, q->op, q->head);
		if (rc == 0) {
			vrfsd_after(d); /* executed up to the RECONFIGURE entry: moves */
			return;
		}
		if (rc == -EAGAIN)
			return; /* not durable yet: the next notice */
	}
	struct vrfs_cluster next;
	if (vrfs_cluster_parse_like(&next, &d->cluster, (const char *)q->members, q->members_len, why, sizeof(why))) {
		vlog(d, "warn", "epoch %" PRIu64 " announced with a configuration that does not parse here: %s",
		     q->epoch, why);
		return;
	}
	int self = vrfs_cluster_find(&next, &d->cluster.member[d->self]);
	if (self < 0) {
		if (d->phase != PHASE_RUN)
			return; /* a new member named in another configuration: not this one's */
		struct vrfsd_epoch ep = { .epoch = q->epoch, .op = q->op, .head = q->head, .left = q->epoch };
		struct vrfsd_identity ident = { .cluster_id = d->cluster.id,
			                        .replica = d->self,
			                        .replica_count = d->cluster.count };
		vrfsd_commit(d);
		vrfsd_store_epoch_begin(d->store, &ident, &ep, NULL);
		retire(d, "the cluster was reconfigured without this replica while it lagged");
	}
	/* A member that lacks the epoch's state: a checkpoint from the replica that told. */
	if (d->in.active && !d->in.joining) {
		d->in.active = false;
		snapshot_in_reset(d);
	}
	d->in.active = true;
	d->in.joining = true;
	d->in.conn = c;
	d->in.join = (struct vrfsd_epoch){ .epoch = q->epoch, .op = q->op, .head = q->head, .prev_id = 0 };
	d->in.join_cfg = next;
	d->in.join_self = (uint8_t)self;
	d->in.join_lost = d->phase == PHASE_RUN && d->vr.status == VR_STATUS_RECOVERING;
	d->in.min_op = q->op;
	d->in.view = 0;
	d->in.attempts = 0;
	d->in.preparing = false;
	snapshot_in_reset(d);
	vlog(d, "info",
	     "epoch %" PRIu64 " names this replica r%d: fetching its state (op %" PRIu64 " or later) from %s%s",
	     q->epoch, self, q->op, c->name,
	     d->in.join_lost ? "; this replica lost its disk: it then recovers in the epoch (it may have voted in it)"
	                     : "");
	snapshot_request(d);
}

static void on_epoch_started(struct vrfsd *d, const struct wire_epoch_started *q)
{
	if (d->phase != PHASE_RUN || q->epoch != d->epoch.epoch || q->replica >= d->cluster.count)
		return;
	d->started[q->replica] = true;
	if (!d->leaving)
		return;
	/* f'+1 full members: a witness that says it started holds no files (§9.5). */
	uint8_t n = 0;
	for (uint8_t i = 0; i < d->cluster.count; i++)
		n += d->started[i] && !vr_witness(d->cluster.witnesses, i);
	if (n >= d->cluster.count / 2 + 1) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%u members of epoch %" PRIu64 " hold the state", n, d->epoch.epoch);
		retire(d, msg);
	}
}

/* §10.3, §10.4: tell the members of this epoch that have not said they hold its state. */
static void epoch_tick(struct vrfsd *d)
{
	if (d->phase != PHASE_RUN || d->epoch.epoch == 0 || d->ticks - d->notice_tick < EPOCH_NOTICE_TICK)
		return;
	if (!d->leaving && d->vr.commit < d->epoch.op)
		return;
	d->notice_tick = d->ticks;
	for (uint8_t i = 0; i < d->cluster.count; i++)
		if (i != d->self && !d->started[i])
			epoch_notice(d, d->peer[i].conn);
}

/* ------------------------------------------------------------------ reads */

static void send_redirect(struct vrfsd *d, struct conn *c)
{
	struct wire_redirect r = { .replica = d->self, .status = WIRE_STATUS_NEW };

	if (d->phase == PHASE_RUN) {
		r.status = d->vr.status;
		r.view = d->vr.view;
		r.primary = vr_primary_index(d->vr.view, d->cluster.count, d->cluster.witnesses);
	}
	d->wbuf.len = 0;
	if (!wire_redirect_encode(&r, &d->wbuf))
		conn_send(c, WIRE_MSG_REDIRECT, d->wbuf.data, d->wbuf.len);
}

/* Answers the reads at the head of the queue whose barrier holds (they are in barrier order). */
static void reads_serve(struct vrfsd *d)
{
	while (d->read_count) {
		struct pending_read *p = &d->reads[d->read_head];
		int rc = vr_read_ready(&d->vr, &p->rd);
		if (rc == 0 && p->rd.local && d->ticks - p->tick >= LOCAL_READ_TICKS)
			rc = -ESTALE; /* this replica lags: the client asks the primary */
		if (rc == 0)
			return;
		struct conn *c = conn_of_client(d, p->client_id);
		if (rc < 0) {
			send_redirect(d, c); /* the view changed: the client asks the new primary */
		} else {
			struct wire_read_reply reply = { .request = p->request,
				                         .view = d->vr.view,
				                         .commit = d->vr.commit };
			vrfsd_store_read(d->store, &p->read, d->read_space, &reply.result);
			d->wbuf.len = 0;
			if (wire_read_reply_encode(p->read.type, &reply, &d->wbuf)) {
				/* An answer the codec refuses (the store holds something out of its limits). */
				memset(&reply.result, 0, sizeof(reply.result));
				reply.result.err = -EIO;
				wire_read_reply_encode(p->read.type, &reply, &d->wbuf);
			}
			conn_send(c, WIRE_MSG_READ_REPLY, d->wbuf.data, d->wbuf.len);
			d->reads_served++;
		}
		d->read_head = (d->read_head + 1) % READS_MAX;
		d->read_count--;
	}
}

static void on_read(struct vrfsd *d, struct conn *c, const struct wire_read_request *q)
{
	if (d->phase == PHASE_RUN && (d->leaving || (d->epoch.prev_id && c->frame_id == d->epoch.prev_id)))
		epoch_notice_lagging(d, c);
	if (d->leaving)
		return;
	conn_track_client(c, q->client_id);
	if (d->phase != PHASE_RUN || d->read_count == READS_MAX) {
		send_redirect(d, c);
		return;
	}
	struct pending_read *p = &d->reads[(d->read_head + d->read_count) % READS_MAX];
	if (q->local ? vr_read_begin_local(&d->vr, &p->rd, q->min_op) : vr_read_begin(&d->vr, &p->rd)) {
		send_redirect(d, c);
		return;
	}
	p->tick = d->ticks;
	p->client_id = q->client_id;
	p->request = q->request;
	p->read = q->read;
	if (q->read.name_len) {
		memcpy(p->name, q->read.name, q->read.name_len);
		p->read.name = p->name;
	}
	d->read_count++;
	reads_serve(d); /* a one-replica cluster needs no barrier */
}

/* ------------------------------------------------------------------ frames */

/* Refuses a request: it is not logged, and the client is told why (VR_REPLY_REFUSED). */
static void refuse(struct vrfsd *d, struct conn *c, const struct vr_message *m, const char *why)
{
	struct vr_message reply = { .command = VR_REPLY,
		                    .replica = d->self,
		                    .status = VR_REPLY_REFUSED,
		                    .view = d->vr.view,
		                    .client_id = m->client_id,
		                    .request = m->request,
		                    .body = (const uint8_t *)why,
		                    .body_len = (uint32_t)strlen(why) };
	send_vr(d, c, &reply);
}

/* §10.2 step 1, at the primary: the RECONFIGURE request names a configuration this one may become. */
static bool reconfigure_refused(struct vrfsd *d, struct conn *c, const struct vr_message *m)
{
	char why[VRFSD_WHY_SIZE], msg[WIRE_EPOCH_MEMBERS_MAX + VRFSD_WHY_SIZE];
	struct vrfs_cluster next, from;
	const uint8_t *nl = memchr(m->body, '\n', m->body_len);
	uint32_t to_off = nl ? (uint32_t)(nl - m->body) + 1 : 0;

	if (!nl) {
		snprintf(msg, sizeof(msg), "malformed request: the body is not \"FROM\\nTO\"");
	} else if (vrfs_cluster_parse_like(&from, &d->cluster, (const char *)m->body, to_off - 1, why, sizeof(why)) ||
	           from.id != d->cluster.id) {
		snprintf(msg, sizeof(msg), "the cluster was reconfigured: it is now %s (epoch %" PRIu64 "); name that",
		         d->members, d->epoch.epoch);
	} else if (vr_reconfiguring(&d->vr)) {
		snprintf(msg, sizeof(msg), "a reconfiguration is in progress: wait for it to end (vrfs status)");
	} else if (vrfs_cluster_parse_like(&next, &d->cluster, (const char *)m->body + to_off, m->body_len - to_off,
	                                   why, sizeof(why))) {
		snprintf(msg, sizeof(msg), "the new configuration: %s", why);
	} else if (next.count < 3) {
		snprintf(msg, sizeof(msg),
		         "the new configuration lists %u replica%s: a cluster needs at least 3 (2f+1 replicas "
		         "tolerate f failures)",
		         next.count, next.count == 1 ? "" : "s");
	} else if (next.id == d->cluster.id) {
		snprintf(msg, sizeof(msg), "the new configuration is the current one: nothing to change");
	} else if (vrfs_cluster_role_change(&d->cluster, &next, why, sizeof(why))) {
		snprintf(msg, sizeof(msg), "%s", why);
	} else {
		return false;
	}
	vlog(d, "info", "reconfiguration refused: %s", msg);
	refuse(d, c, m, msg);
	return true;
}

static void on_request(struct vrfsd *d, struct conn *c, const struct vr_message *m)
{
	if (d->phase == PHASE_RUN && (d->leaving || (d->epoch.prev_id && c->frame_id == d->epoch.prev_id)))
		epoch_notice_lagging(d, c); /* a mount of the last configuration: tell it the new one */
	if (d->leaving)
		return;
	if (m->kind != VR_KIND_OP && m->kind != VR_KIND_REGISTER && m->kind != VR_KIND_RECONFIGURE) {
		conn_bad(c, "request: bad kind", false);
		return;
	}
	if (m->kind == VR_KIND_OP) {
		struct wire_fs_op op;
		const char *why = NULL;
		if (wire_fs_op_decode(m->body, m->body_len, &op, &why)) {
			conn_bad(c, why, false);
			/* Tell the client, so that one of another version gets an error instead of
			 * retrying for good: EVICTED (the request did not run, the session is gone). */
			struct vr_message reply = { .command = VR_REPLY,
				                    .replica = d->self,
				                    .status = VR_REPLY_EVICTED,
				                    .view = d->phase == PHASE_RUN ? d->vr.view : 0,
				                    .client_id = m->client_id,
				                    .request = m->request };
			send_vr(d, c, &reply);
			return;
		}
	}
	conn_track_client(c, m->client_id);
	if (d->phase != PHASE_RUN || !vr_is_primary(&d->vr) || d->vr.status != VR_STATUS_NORMAL) {
		send_redirect(d, c);
		return;
	}
	if (m->kind == VR_KIND_RECONFIGURE && reconfigure_refused(d, c, m))
		return;
	if (vr_on_message(&d->vr, m))
		conn_bad(c, "request refused by the core", false);
	vrfsd_after(d);
}

static void on_frame(struct vrfsd *d, struct conn *c, uint16_t type, const uint8_t *body, size_t len)
{
	const char *why = NULL;

	if (type >= 1 && type <= VR_COMMAND_MAX) {
		struct vr_message m;
		if (wire_vr_decode(type, body, len, &m, d->entries, WIRE_VR_ENTRIES_MAX, &why)) {
			conn_bad(c, why, false);
			return;
		}
		if (m.command == VR_REQUEST) {
			on_request(d, c, &m);
			return;
		}
		if (d->phase == PHASE_RUN && m.command != VR_REPLY && m.epoch < d->epoch.epoch) {
			epoch_notice_lagging(d, c); /* a replica of an older epoch: tell it */
			return;
		}
		if (d->phase != PHASE_RUN || d->leaving || m.epoch != d->epoch.epoch)
			return; /* a newer epoch: its members tell this replica when they hear from it */
		if (m.command == VR_REPLY || m.replica >= d->cluster.count || m.replica == d->self) {
			conn_bad(c, "vr: not a message for a replica, or a bad sender", false);
			return;
		}
		if (vr_on_message(&d->vr, &m))
			d->frames_bad++; /* the core logged why (debug) */
		vrfsd_after(d);
		return;
	}
	switch (type) {
	case WIRE_MSG_STATUS_REQUEST: {
		struct wire_status_request q;
		if (wire_status_request_decode(body, len, &q, &why))
			conn_bad(c, why, false);
		else
			send_status(d, c, q.nonce);
		return;
	}
	case WIRE_MSG_READ: {
		struct wire_read_request q;
		if (wire_read_request_decode(body, len, &q, &why))
			conn_bad(c, why, false);
		else
			on_read(d, c, &q);
		return;
	}
	case WIRE_MSG_SNAPSHOT_REQUEST: {
		struct wire_snapshot_request q;
		if (wire_snapshot_request_decode(body, len, &q, &why))
			conn_bad(c, why, false);
		else
			on_snapshot_request(d, c, &q);
		return;
	}
	case WIRE_MSG_SNAPSHOT_CHUNK: {
		struct wire_snapshot_chunk k;
		if (wire_snapshot_chunk_decode(body, len, &k, &why))
			conn_bad(c, why, false);
		else
			on_snapshot_chunk(d, c, &k);
		return;
	}
	case WIRE_MSG_EPOCH: {
		struct wire_epoch q;
		if (wire_epoch_decode(body, len, &q, &why))
			conn_bad(c, why, false);
		else
			on_epoch(d, c, &q);
		return;
	}
	case WIRE_MSG_EPOCH_STARTED: {
		struct wire_epoch_started q;
		if (wire_epoch_started_decode(body, len, &q, &why))
			conn_bad(c, why, false);
		else
			on_epoch_started(d, &q);
		return;
	}
	case WIRE_MSG_STATUS: {
		struct wire_status st;
		if (wire_status_decode(body, len, &st, &why))
			conn_bad(c, why, false);
		else if (d->phase == PHASE_PROBE)
			probe_on_status(d, &st);
		return;
	}
	default:
		conn_bad(c, "frame type not for a replica", false);
		return;
	}
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
	struct conn *c = h->data;

	(void)suggested;
	if (c->cap - c->len < CONN_READ_MIN) {
		size_t cap = c->cap ? c->cap * 2 : 2 * CONN_READ_MIN;
		while (cap - c->len < CONN_READ_MIN)
			cap *= 2;
		uint8_t *p = realloc(c->buf, cap);
		if (!p) {
			*out = uv_buf_init(NULL, 0);
			return;
		}
		c->buf = p;
		c->cap = cap;
	}
	*out = uv_buf_init((char *)c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	struct vrfsd *d = c->d;

	(void)buf;
	if (nread < 0) {
		if (c->len > c->pos)
			conn_bad(c, "frame: the connection ended inside a frame (truncated)", false);
		conn_close(c);
		return;
	}
	c->len += (size_t)nread;
	while (!c->closing && c->len - c->pos >= WIRE_FRAME_HEADER_SIZE) {
		const uint8_t *p = c->buf + c->pos;
		struct wire_frame_header h;
		const char *why = NULL;
		if (wire_frame_decode_header(p, WIRE_FRAME_HEADER_SIZE, &h, &why)) {
			conn_bad(c, why, true);
			return;
		}
		size_t need = WIRE_FRAME_HEADER_SIZE + (size_t)h.body_len;
		if (c->len - c->pos < need)
			break;
		/* Of this epoch's configuration, or of the last one (a mount or replica not told yet). */
		uint64_t id = d->epoch.prev_id && h.cluster_id == d->epoch.prev_id ? d->epoch.prev_id : d->cluster.id;
		int rc = wire_frame_verify(&h, p, p + WIRE_FRAME_HEADER_SIZE,
		                           d->cluster.has_key ? d->cluster.key : NULL, id, &why);
		if (rc == 0)
			c->frame_id = id;
		if (rc == -EXDEV) {
			char msg[160];
			snprintf(msg, sizeof(msg), "from another cluster (id %016" PRIx64 ", ours %016" PRIx64 ")",
			         h.cluster_id, d->cluster.id);
			conn_bad(c, msg, true);
			return;
		}
		if (rc) {
			conn_bad(c, why, true);
			return;
		}
		c->pos += need;
		on_frame(d, c, h.type, p + WIRE_FRAME_HEADER_SIZE, h.body_len);
	}
	if (c->pos) {
		memmove(c->buf, c->buf + c->pos, c->len - c->pos);
		c->len -= c->pos;
		c->pos = 0;
	}
	/* Keep at most one frame's worth: a huge buffer left by one big frame shrinks back. */
	if (c->cap > 4 * CONN_READ_MIN && c->len < CONN_READ_MIN) {
		uint8_t *p = realloc(c->buf, 2 * CONN_READ_MIN);
		if (p) {
			c->buf = p;
			c->cap = 2 * CONN_READ_MIN;
		}
	}
}

static void on_accept(uv_stream_t *server, int status)
{
	struct vrfsd *d = server->data;
	struct conn *c;

	if (status < 0)
		return;
	if (d->conn_count >= CONNS_MAX || !(c = conn_new(d, -1))) {
		uv_tcp_t tmp;
		uv_tcp_init(d->loop, &tmp);
		if (!uv_accept(server, (uv_stream_t *)&tmp))
			uv_close((uv_handle_t *)&tmp, NULL);
		return;
	}
	uv_tcp_init(d->loop, &c->tcp);
	if (uv_accept(server, (uv_stream_t *)&c->tcp)) {
		conn_close(c);
		return;
	}
	struct sockaddr_storage sa;
	int sa_len = sizeof(sa);
	char host[INET6_ADDRSTRLEN] = "?";
	if (!uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &sa_len)) {
		if (sa.ss_family == AF_INET6)
			uv_ip6_name((struct sockaddr_in6 *)&sa, host, sizeof(host));
		else
			uv_ip4_name((struct sockaddr_in *)&sa, host, sizeof(host));
		snprintf(c->name, sizeof(c->name), "%s:%u", host,
		         ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
		                                        : ((struct sockaddr_in *)&sa)->sin_port));
	}
	c->connected = true;
	uv_tcp_nodelay(&c->tcp, 1);
	uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_on_read);
}

/* ------------------------------------------------------------------ peers */

static void peer_on_connect(uv_connect_t *req, int status)
{
	struct conn *c = req->handle->data;
	struct vrfsd *d = c->d;
	struct peer *p = &d->peer[c->peer];

	if (status < 0 || c->closing) {
		conn_close(c);
		return;
	}
	c->connected = true;
	p->backoff_ms = BACKOFF_MIN_MS;
	if (p->down_logged)
		vlog(d, "info", "connected to replica r%d (%s)", c->peer, c->name);
	p->was_up = true;
	p->down_logged = false;
	uv_tcp_nodelay(&c->tcp, 1);
	/* Data unacknowledged this long closes the connection, which is dialled again: after a
	 * partition heals, the peer hears the present at once, not after TCP's backed-off
	 * retransmissions of a stale backlog. */
	uv_os_fd_t fd;
	unsigned int user_timeout_ms = PEER_STALL_TICK * TICK_MS;
	if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof(user_timeout_ms));
	uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_on_read);
	if (d->phase == PHASE_PROBE)
		probe_send(d);
}

static void peer_connect(struct vrfsd *d, uint8_t i)
{
	struct peer *p = &d->peer[i];
	struct conn *c;

	if (p->conn || !(c = conn_new(d, i)))
		return;
	p->conn = c;
	snprintf(c->name, sizeof(c->name), "%s", vrfs_cluster_name(&d->cluster, i));
	uv_tcp_init(d->loop, &c->tcp);
	if (uv_tcp_connect(&p->connect, &c->tcp, (const struct sockaddr *)&d->cluster.member[i].addr, peer_on_connect))
		conn_close(c);
}

static void peer_on_retry(uv_timer_t *t)
{
	struct vrfsd *d = t->data;

	for (uint8_t i = 0; i < d->cluster.count; i++)
		if (&d->peer[i].retry == t)
			peer_connect(d, i);
}

static void peer_schedule(struct vrfsd *d, uint8_t i)
{
	struct peer *p = &d->peer[i];

	if (!p->backoff_ms)
		p->backoff_ms = BACKOFF_MIN_MS;
	uv_timer_start(&p->retry, peer_on_retry, p->backoff_ms, 0);
	p->backoff_ms = p->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : p->backoff_ms * 2;
}

/* ------------------------------------------------------------------ timers and signals */

/*
 * A replica sends only on the connection it dialled. When the peer takes nothing for
 * PEER_STALL_TICK (it is cut off, or frozen), the queued messages are stale: the connection is
 * dropped with them and dialled again, so that after the fault heals the peer hears the present
 * at once instead of a backlog first (VR resends what still matters). A dial that gets no answer
 * (its SYN lost) is likewise abandoned after PEER_CONNECT_TICK and tried again.
 */
static void peer_check(struct vrfsd *d)
{
	for (uint8_t i = 0; i < d->cluster.count; i++) {
		struct conn *c = d->peer[i].conn;
		if (!c || c->closing)
			continue;
		if (!c->connected) {
			if (d->ticks - c->born_tick >= PEER_CONNECT_TICK)
				conn_close(c);
			continue;
		}
		size_t queued = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
		if (queued && d->ticks - c->write_tick >= PEER_STALL_TICK) {
			vlog(d, "warn", "replica r%u (%s) took nothing for %u ms (%zu bytes queued): reconnecting", i,
			     c->name, PEER_STALL_TICK * TICK_MS, queued);
			conn_close(c);
		}
	}
}

static void on_tick(uv_timer_t *t)
{
	struct vrfsd *d = t->data;

	d->ticks++;
	peer_check(d);
	if (d->phase == PHASE_PROBE) {
		if (d->ticks % PROBE_RESEND_TICK == 0)
			probe_send(d);
		return;
	}
	if (d->phase == PHASE_JOIN) {
		snapshot_tick(d);
		return;
	}
	snapshot_make_tick(d); /* first: no group is open yet in this loop round */
	if (!d->leaving)
		vr_on_tick(&d->vr);
	snapshot_tick(d);
	epoch_tick(d);
	vrfsd_after(d);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct vrfsd *d = s->data;

	if (vrfsd_store_pending(d->store) && vrfsd_store_flush(d->store))
		fatal(d, "store: cannot commit at shutdown");
	if (d->in.fd >= 0)
		close(d->in.fd);
	unlink(d->path_in); /* a partial checkpoint is fetched again after a restart */
	snapshot_out_drop(d);
	vlog(d, "info", "%s: stopping; state is durable", signum == SIGTERM ? "SIGTERM" : "SIGINT");
	vrfsd_store_close(d->store);
	d->store = NULL;
	for (struct conn *c = d->conns; c; c = c->next)
		if (!c->closing)
			uv_close((uv_handle_t *)&c->tcp, NULL);
	exit(0);
}

/* ------------------------------------------------------------------ main */

static void usage(FILE *f)
{
	fprintf(f, "usage: vrfsd --id N --cluster HOST:PORT,HOST:PORT,HOST:PORT --data DIR [--key-file FILE] [-v]\n"
	           "\n"
	           "Runs replica N (0-based, in --cluster order) of a vrfs cluster. The primary of view v is\n"
	           "the full replica v mod (number of full replicas). DIR is created on the first start;\n"
	           "later starts recover from it. See vrfsd(8).\n"
	           "\n"
	           "  --id N            this replica's number in --cluster\n"
	           "  --cluster LIST    every replica, in order (an odd number: 3, 5, ...); the same on all.\n"
	           "                    witness@HOST:PORT marks a witness (at most f of 2f+1): it votes and\n"
	           "                    keeps the log, but no file data, and is never primary\n"
	           "  --data DIR        this replica's data directory\n"
	           "  --key-file FILE   cluster key (64 hex digits, mode 0600): frames carry a MAC under it\n"
	           "  --sessions N      client sessions the cluster keeps (default 1024; the same on all)\n"
	           "  --checkpoint-ops N  keep N committed ops in the log; truncate at 2N (default 1000;\n"
	           "                    the same on all)\n"
	           "  --checkpoint-kib N  truncate once the committed ops held exceed N KiB (default 16384,\n"
	           "                    16..32768)\n"
	           "  --liveness-ms MS  a backup that hears nothing from the primary for MS (up to 1.5 MS,\n"
	           "                    at random) starts a view change (default 500, 100..60000)\n"
	           "  --batch-ops N     the primary sends up to N requests that arrive together in one\n"
	           "                    PREPARE (default 64; 1: each request in its own, at once)\n"
	           "  --lease-ms MS     reads at the primary under leases of MS, no message round (default:\n"
	           "                    --liveness-ms; 0: every read waits for a barrier round)\n"
	           "  --clock-drift-ppm N  leases assume no two replicas' clocks (CLOCK_BOOTTIME) differ in\n"
	           "                    rate by more than N parts per million (default 50000, i.e. 5%%)\n"
	           "  --witness-window-mib N  with witnesses: while a full replica is down, the primary\n"
	           "                    takes writes until the log holds N MiB of them (on disk, in every\n"
	           "                    replica's log), then waits for that replica (default 4096, 4..1048576)\n"
	           "  --witness-window-ops N  the same bound in ops; each costs about 200 bytes of memory\n"
	           "                    (default 1048576, 4096..16777216)\n"
	           "  --log-cache-mib N  op bodies of the log kept in memory; older ones are read back from\n"
	           "                    disk when needed (default 64, 1..65536)\n"
	           "  --part-kib N      a message carries at most N KiB of log entries; a longer log\n"
	           "                    travels in parts (default 16384, 64..32768)\n"
	           "  --join            a new member for a reconfiguration: wait to be told of the epoch that\n"
	           "                    includes this replica and fetch its state (never format a new cluster)\n"
	           "  -v, --verbose     also log every dropped message\n"
	           "  -h, --help        this text\n"
	           "  --version         the version\n");
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || !*s || v > max || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	static struct vrfsd vd;
	struct vrfsd *d = &vd;
	const char *cluster = NULL, *key_file = NULL;
	unsigned long id = ULONG_MAX, sessions = 1024, checkpoint_ops = 1000, checkpoint_kib = 16384, liveness_ms = 500,
	              batch_ops = 64, lease_ms = ULONG_MAX, drift_ppm = 50000, window_mib = 4096, part_kib = 16384,
	              window_ops = 1u << 20, cache_mib = 64;
	char why[VRFSD_WHY_SIZE];
	static const struct option opts[] = {
		{ "id", required_argument, NULL, 'i' },
		{ "cluster", required_argument, NULL, 'c' },
		{ "data", required_argument, NULL, 'd' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "sessions", required_argument, NULL, 's' },
		{ "checkpoint-ops", required_argument, NULL, 'K' },
		{ "checkpoint-kib", required_argument, NULL, 'M' },
		{ "liveness-ms", required_argument, NULL, 'L' },
		{ "batch-ops", required_argument, NULL, 'B' },
		{ "lease-ms", required_argument, NULL, 'E' },
		{ "clock-drift-ppm", required_argument, NULL, 'D' },
		{ "witness-window-mib", required_argument, NULL, 'W' },
		{ "witness-window-ops", required_argument, NULL, 'O' },
		{ "part-kib", required_argument, NULL, 'P' },
		{ "log-cache-mib", required_argument, NULL, 'C' },
		{ "join", no_argument, NULL, 'J' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			if (parse_uint(optarg, VR_REPLICAS_MAX - 1, &id)) {
				fprintf(stderr, "vrfsd: --id %s: give a replica number, 0..%d\n", optarg,
				        VR_REPLICAS_MAX - 1);
				return 2;
			}
			break;
		case 'c':
			cluster = optarg;
			break;
		case 'd':
			d->dir = optarg;
			break;
		case 'k':
			key_file = optarg;
			break;
		case 's':
			if (parse_uint(optarg, 1u << 20, &sessions) || sessions == 0) {
				fprintf(stderr, "vrfsd: --sessions %s: give a number, 1..%u\n", optarg, 1u << 20);
				return 2;
			}
			break;
		case 'K':
			if (parse_uint(optarg, 1u << 20, &checkpoint_ops) || checkpoint_ops < 10) {
				fprintf(stderr, "vrfsd: --checkpoint-ops %s: give a number, 10..%u\n", optarg,
				        1u << 20);
				return 2;
			}
			break;
		case 'M':
			if (parse_uint(optarg, 32768, &checkpoint_kib) || checkpoint_kib < 16) {
				fprintf(stderr, "vrfsd: --checkpoint-kib %s: give KiB, 16..32768\n", optarg);
				return 2;
			}
			break;
		case 'L':
			if (parse_uint(optarg, 60000, &liveness_ms) || liveness_ms < 100) {
				fprintf(stderr, "vrfsd: --liveness-ms %s: give milliseconds, 100..60000\n", optarg);
				return 2;
			}
			break;
		case 'B':
			if (parse_uint(optarg, 128, &batch_ops) || batch_ops < 1) {
				fprintf(stderr, "vrfsd: --batch-ops %s: give a number of requests, 1..128\n", optarg);
				return 2;
			}
			break;
		case 'E':
			if (parse_uint(optarg, 60000, &lease_ms)) {
				fprintf(stderr, "vrfsd: --lease-ms %s: give milliseconds, 0..60000 (0: no leases)\n",
				        optarg);
				return 2;
			}
			break;
		case 'D':
			if (parse_uint(optarg, 500000, &drift_ppm)) {
				fprintf(stderr, "vrfsd: --clock-drift-ppm %s: give parts per million, 0..500000\n",
				        optarg);
				return 2;
			}
			break;
		case 'W':
			if (parse_uint(optarg, WITNESS_WINDOW_MIB_MAX, &window_mib) || window_mib < 4) {
				fprintf(stderr, "vrfsd: --witness-window-mib %s: give MiB, 4..%u\n", optarg,
				        WITNESS_WINDOW_MIB_MAX);
				return 2;
			}
			break;
		case 'O':
			if (parse_uint(optarg, WITNESS_WINDOW_OPS_MAX, &window_ops) ||
			    window_ops < WITNESS_WINDOW_OPS_MIN) {
				fprintf(stderr, "vrfsd: --witness-window-ops %s: give a count, %u..%u\n", optarg,
				        WITNESS_WINDOW_OPS_MIN, WITNESS_WINDOW_OPS_MAX);
				return 2;
			}
			break;
		case 'C':
			if (parse_uint(optarg, 65536, &cache_mib) || cache_mib < 1) {
				fprintf(stderr, "vrfsd: --log-cache-mib %s: give MiB, 1..65536\n", optarg);
				return 2;
			}
			break;
		case 'P':
			if (parse_uint(optarg, 32768, &part_kib) || part_kib < 64) {
				fprintf(stderr, "vrfsd: --part-kib %s: give KiB, 64..32768\n", optarg);
				return 2;
			}
			break;
		case 'J':
			d->join = true;
			break;
		case 'v':
			d->verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("vrfsd %s\n", VRFSD_VERSION);
			return 0;
		case ':':
			fprintf(stderr, "vrfsd: %s needs a value (see vrfsd --help)\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "vrfsd: unknown option %s (see vrfsd --help)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vrfsd: unexpected argument \"%s\" (see vrfsd --help)\n", argv[optind]);
		return 2;
	}
	if (id == ULONG_MAX || !cluster || !d->dir) {
		fprintf(stderr, "vrfsd: --id, --cluster and --data are required (see vrfsd --help)\n");
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "vrfsd: libsodium failed to start\n");
		return 1;
	}
	if (vrfs_cluster_parse(&d->cluster, cluster, why, sizeof(why)) ||
	    (key_file && vrfs_cluster_key_file(&d->cluster, key_file, why, sizeof(why)))) {
		fprintf(stderr, "vrfsd: %s\n", why);
		return 2;
	}
	if (id >= d->cluster.count) {
		fprintf(stderr, "vrfsd: --id %lu but --cluster lists %u replicas (0..%u)\n", id, d->cluster.count,
		        d->cluster.count - 1);
		return 2;
	}
	d->self = (uint8_t)id;

	struct vrfsd_identity ident = { .cluster_id = d->cluster.id,
		                        .replica = d->self,
		                        .replica_count = d->cluster.count };
	/* Signals first: a SIGTERM from here on stops the replica cleanly (from the loop). */
	d->loop = uv_default_loop();
	uv_signal_init(d->loop, &d->sigterm);
	d->sigterm.data = d;
	uv_signal_start(&d->sigterm, on_signal, SIGTERM);
	uv_signal_init(d->loop, &d->sigint);
	d->sigint.data = d;
	uv_signal_start(&d->sigint, on_signal, SIGINT);

	/* A reconfigured replica runs in the configuration it recorded, whatever --cluster says. */
	int rc = -ENOENT;
	struct vrfs_cluster recorded;
	char path[4200], text[WIRE_EPOCH_MEMBERS_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", d->dir, MEMBERS_FILE);
	FILE *mf = fopen(path, "r");
	size_t got = mf ? fread(text, 1, sizeof(text) - 1, mf) : 0;
	if (mf)
		fclose(mf);
	text[got] = 0;
	char *nl = strchr(text, '\n');
	if (nl) {
		char *list = nl + 1;
		list[strcspn(list, "\n")] = 0;
		int self = -1;
		if (!vrfs_cluster_parse_like(&recorded, &d->cluster, list, strlen(list), why, sizeof(why)))
			self = vrfs_cluster_find(&recorded, &d->cluster.member[d->self]);
		if (self >= 0) {
			struct vrfsd_identity rid = { .cluster_id = recorded.id,
				                      .replica = (uint8_t)self,
				                      .replica_count = recorded.count };
			rc = vrfsd_store_open(&d->store, d->dir, &rid, why, sizeof(why));
			if (rc >= 0 && recorded.id != d->cluster.id)
				fprintf(stderr,
				        "vrfsd: %s was reconfigured: running as replica %d of %s (not as --id %u of "
				        "--cluster)\n",
				        d->dir, self, list, d->self);
			if (rc >= 0) {
				d->cluster = recorded;
				d->self = (uint8_t)self;
			}
		}
	}
	if (rc < 0)
		rc = vrfsd_store_open(&d->store, d->dir, &ident, why, sizeof(why));
	if (rc < 0) {
		fprintf(stderr, "vrfsd: %s\n", why);
		return 1;
	}
	if (vrfsd_store_epoch(d->store, &d->epoch)) {
		fprintf(stderr, "vrfsd: %s/%s: cannot read the configuration epoch\n", d->dir, VRFSD_STORE_FILE);
		return 1;
	}
	if (d->epoch.left) {
		fprintf(stderr,
		        "vrfsd: %s: this replica was left out of the cluster by a reconfiguration (epoch %" PRIu64
		        "); it serves no more. Remove the directory, or start it empty with --join to add this "
		        "machine again (vrfs reconfigure)\n",
		        d->dir, d->epoch.left);
		vrfsd_store_close(d->store);
		return 1;
	}
	vrfs_cluster_text(&d->cluster, d->members, sizeof(d->members));

	uv_tcp_init(d->loop, &d->listener);
	d->listener.data = d;
	const struct vrfs_member *me = &d->cluster.member[d->self];
	int err = uv_tcp_bind(&d->listener, (const struct sockaddr *)&me->addr, 0);
	if (!err)
		err = uv_listen((uv_stream_t *)&d->listener, 128, on_accept);
	if (err) {
		fprintf(stderr, "vrfsd: cannot listen on %s: %s%s\n", vrfs_cluster_name(&d->cluster, d->self),
		        uv_strerror(err),
		        err == UV_EADDRINUSE      ? " (another process uses the port: is this replica already running?)"
		        : err == UV_EADDRNOTAVAIL ? " (the address is not on this machine: check --id)"
		                                  : "");
		vrfsd_store_close(d->store);
		return 1;
	}

	uint64_t seed = 0;
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint64_t)now_ms() ^ ((uint64_t)getpid() << 32);
	d->capacity_full = (uint32_t)(2 * checkpoint_ops + 128 + 64);
	d->window_bytes = (uint64_t)window_mib << 20;
	d->window_ops = (uint32_t)window_ops;
	d->config = (struct vr_config){
		.replica_count = d->cluster.count,
		.self = d->self,
		.checkpoint_ops = (uint32_t)checkpoint_ops,
		.checkpoint_bytes = (uint64_t)checkpoint_kib * 1024,
		.body_size_max = WIRE_VR_BODY_MAX,
		.client_table_size = (uint32_t)sessions,
		.pipeline_max = 128,
		.batch_max = (uint32_t)batch_ops,
		.pipeline_bytes_max = 16u << 20, /* bodies in flight, and so in one PREPARE batch */
		/* A backup that hears nothing for --liveness-ms (stretched by up to half, at random)
		 * starts a view change; the primary speaks at least five times in that span. */
		.heartbeat_ticks = (uint32_t)(liveness_ms / TICK_MS / 5),
		.prepare_resend_ticks = 20,
		.liveness_ticks = (uint32_t)(liveness_ms / TICK_MS),
		.view_change_ticks = (uint32_t)(liveness_ms / TICK_MS) > 200 ? (uint32_t)(liveness_ms / TICK_MS) : 200,
		.resend_ticks = 20,
		/* Leases as long as the liveness timeout: a backup that stops hearing the primary
		 * starts a view change no sooner than its lease ends, so leases cost no failover time. */
		.lease_ns = (uint64_t)(lease_ms == ULONG_MAX ? liveness_ms : lease_ms) * 1000000u,
		.drift_ppm = (uint32_t)drift_ppm,
		.seed = seed,
		.epoch = d->epoch.epoch,
		.epoch_op = d->epoch.op,
		.witnesses = d->cluster.witnesses,
		.part_ops = PART_OPS,
		.part_bytes = (uint64_t)part_kib * 1024,
		.body_cache_bytes = (uint64_t)cache_mib << 20,
	};
	vrfsd_window(d);
	d->probe_nonce = seed | 1;
	d->in.fd = d->out.fd = -1;
	snprintf(d->path_in, sizeof(d->path_in), "%s/%s", d->dir, SNAPSHOT_IN);
	snprintf(d->path_out, sizeof(d->path_out), "%s/%s", d->dir, SNAPSHOT_OUT);
	unlink(d->path_in);
	unlink(d->path_out);
	d->start_ms = now_ms();
	wire_buf_init(&d->wbuf);
	d->entries = calloc(WIRE_VR_ENTRIES_MAX, sizeof(*d->entries));
	d->reads = calloc(READS_MAX, sizeof(*d->reads));
	d->read_space = malloc(sizeof(*d->read_space));
	if (!d->entries || !d->reads || !d->read_space) {
		fprintf(stderr, "vrfsd: out of memory\n");
		return 1;
	}

	uv_timer_init(d->loop, &d->tick);
	d->tick.data = d;
	uv_check_init(d->loop, &d->check);
	d->check.data = d;
	uv_check_start(&d->check, on_check);
	uv_idle_init(d->loop, &d->idle);
	d->idle.data = d;
	signal(SIGPIPE, SIG_IGN);
	for (uint8_t i = 0; i < VR_REPLICAS_MAX; i++) {
		uv_timer_init(d->loop, &d->peer[i].retry);
		d->peer[i].retry.data = d;
		d->peer[i].was_up = false;
		d->peer[i].down_logged = true; /* the first connection is logged */
		if (i != d->self && i < d->cluster.count)
			peer_connect(d, i);
	}

	vlog(d, "info", "replica r%u of %u listening on %s, data %s, cluster %016" PRIx64 "%s%s", d->self,
	     d->cluster.count, vrfs_cluster_name(&d->cluster, d->self), d->dir, d->cluster.id,
	     d->cluster.has_key ? ", frames authenticated" : "",
	     vr_witness(d->cluster.witnesses, d->self) ? "; a witness: it keeps the log, no file data" : "");
	if (rc == 0 && !vrfsd_store_has_image(d->store))
		rc = 1; /* created earlier, never got an image: still new */
	if (rc == 1 && d->join) {
		d->phase = PHASE_JOIN;
		vlog(d, "info",
		     "new member: waiting for the cluster to take this replica in (vrfs reconfigure), then fetching "
		     "its "
		     "state");
	} else if (d->join) {
		vlog(d, "info", "--join ignored: %s already holds this replica's state", d->dir);
	}
	if (d->phase == PHASE_JOIN)
		;
	else if (rc == 1 && d->cluster.count == 1)
		vrfsd_run(d, true);
	else if (rc == 0)
		vrfsd_run(d, false);
	uv_timer_start(&d->tick, on_tick, TICK_MS, TICK_MS);
	uv_run(d->loop, UV_RUN_DEFAULT);
	return 0;
}
