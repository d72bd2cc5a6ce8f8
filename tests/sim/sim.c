/*
 * sim.c — vr-sim: a deterministic, seeded simulation of a VR cluster (3 or 5
 * replicas) with several clients in one process, driving the pure core in
 * replication/vr_*.c through network, process, disk and clock faults.
 *
 * One seed fixes everything: the fault mix (swarm testing: each seed draws its own
 * rates), every delay, loss and crash. Time is a global tick; each replica's clock
 * runs at its own rate (drift). The network loses, duplicates, delays and reorders
 * messages and is partitioned (one replica cut off, one-way links, the primary cut
 * off from the backups but not from clients, minority/majority splits). Replicas
 * crash and restart with their disk (writes not yet durable are lost) or with an
 * empty disk (RECOVERY). Then the faults stop and liveness is checked.
 *
 * Checkers (VR-PROTOCOL.md §11), after every step; a violation ends the run and
 * prints the command that reproduces it:
 *   S1/S2  committed entries and state digests agree at every op-number;
 *   S3/S12 every STARTVIEW / RECOVERYRESPONSE / NEWSTATE log holds every executed op;
 *   S4/S5  only primary(v) sends PREPARE or STARTVIEW in v; one STARTVIEW log per view;
 *   S6     view and commit never decrease (across restarts with the disk too), and a
 *          restarted replica is never in a view below one it spoke in;
 *   S7     PREPAREOK only in the current view, to its primary, not after SVC/DVC for later;
 *   S8     PREPAREOK ⟨v, n⟩ covers entries durable at the sender;
 *   S9     RECOVERING / CATCHING_UP replicas send no votes, logs or replies;
 *   S10    each (client, request) is executed at most once, with one result;
 *   S11    a reply for op x goes out only when f+1 disks hold x;
 *   S13    every DVC a replica sends for one view is the same;
 *   S16    every reply a client accepts matches the committed log, and real-time
 *          order holds (a request submitted after a reply was received is ordered after it).
 *   W1/W2  witnesses (§9.5, half the seeds): a witness executes no op (only a RECONFIGURE:
 *          it has no state and no store); no replica truncates its log past an op that some
 *          full replica's disk lacks (the hold rule). Views go round the full replicas only.
 *   E1-E3  reconfiguration (§10, half the seeds): every replica ends epoch e at the same op
 *          and entry; the RECONFIGURE entry is the last of its epoch's log; a replica in
 *          epoch e+1 holds the state epoch e ended with. The epochs keep the members (the
 *          daemon changes them); views start again at 0 in each, so the checkers above order
 *          views as (epoch, view).
 * Liveness: once faults stop, every client request completes and all replicas
 * converge to one view and equal digests within a stated bound.
 *
 * The replicated state machine is a hash chain over every executed op, or, for one
 * seed in five (and with --store), the real one: clients send filesystem ops
 * encoded by wire/, and every replica applies them to its own in-memory SQLite
 * store (state/); the stores' digests must then be equal too.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "replication/vr.h"
#include "replication/vr_client.h"
#include "state/store.h"
#include "wire/wire_fs.h"

#define SIM_REPLICAS_MAX 5
#define SIM_CLIENTS_MAX  6
#define SIM_NODES_MAX    (SIM_REPLICAS_MAX + SIM_CLIENTS_MAX)
#define SIM_LOG_CAPACITY 2048
#define SIM_BODY_MAX     512
#define SIM_DRIFT_PPM    300000 /* clock rates 0.7x .. 1.3x under faults (rate_permille) */
#define SIM_RESULT_LEN   8

#define SIM_TICKS_FAULTS   3000 /* the fault phase */
#define SIM_TICKS_LIVENESS 6000 /* after faults stop: every request done and replicas converged */

struct sim_options {
	uint64_t seed;
	int replicas;    /* 0: from the seed (odd seeds 3, even seeds 5) */
	int store;       /* 1: every replica applies real filesystem ops to a store; 0: one seed in five */
	uint32_t batch;  /* ops per PREPARE; 0: from the seed (1 when bit 1 of the seed is clear, else 2..16) */
	int lease_ticks; /* lease in nominal ticks; -1: from the seed (0, 20, 40 or 120 by bits 3-4) */
	int local_reads; /* 1: half the reads go to any replica (§9.8); -1: from bit 5 of the seed */
	int epochs;      /* 1: a client now and then reconfigures (§10); -1: from bit 6 of the seed */
	int witnesses;   /* 1: one or two replicas are witnesses (§9.5); -1: from bit 7 of the seed */
	int parts;       /* 1: logs travel in parts of a few entries (§9.4); -1: from bit 8 of the seed */
	int cache;       /* 1: with parts, a body cache of a few bodies; -1: from bit 9 of the seed */
	bool verbose;
	bool quiet; /* one of many seeds: print only violations */
};

struct sim_packet {
	uint64_t id;
	uint64_t at;
	int from, to; /* node: replica i is i, client j is SIM_REPLICAS_MAX + j */
	struct vr_message m;
	void *data; /* entries and bodies */
};

struct sim_write {
	uint64_t seq;
	uint64_t done_at;
	struct vr_write w;
	void *data;
};

struct sim_disk {
	bool formatted;
	uint64_t first; /* entries below first were truncated by a checkpoint (log[] keeps them, unused) */
	bool lost;      /* wiped, and no META write has reached it since: it must recover again */
	struct vr_meta meta;
	struct vr_entry log[SIM_LOG_CAPACITY];
	uint8_t bodies[SIM_LOG_CAPACITY][SIM_BODY_MAX];
	uint64_t op;
	uint64_t commit;
	uint64_t digest;
	struct vr_client_slot *clients;
	struct store *store; /* with the real applier: the replica's store (applies are durable at once) */
	uint64_t epoch, epoch_op, epoch_head; /* the epoch (§10), and the op and entry it began at */
	struct sim_write *queue;              /* pending writes, FIFO */
	size_t queue_len, queue_cap;
	struct sim_write *stage; /* entries kept aside (VR_WRITE_STAGE), durable; gone at a restart */
	size_t stage_len, stage_cap;
};

struct sim;

struct sim_replica {
	struct sim *sim;
	int index;
	bool up;
	struct vr_replica vr;
	struct sim_disk disk;
	uint32_t rate_permille; /* clock rate: chance per global tick that this replica ticks */
	uint64_t mono_ns;       /* its monotonic clock: rate_permille microseconds per global tick */
	uint64_t restart_at;
	uint64_t down_since;
	bool epoch_start; /* the next start begins an epoch (vr_durable.epoch_start) */
	/* A checkpoint asked for (need_snapshot), installed after a delay. */
	bool snapshot_wanted;
	uint64_t snapshot_min, snapshot_view, snapshot_at;
	/* checker memory, kept across restarts with the disk */
	uint64_t view_max;
	uint64_t durable_view_max;
	uint64_t spoken_view;
	uint64_t vc_view_sent;
	uint64_t commit_max;
	uint64_t dvc_view;
	uint64_t dvc_hash;
};

struct sim_client {
	struct sim *sim;
	int index;
	struct vr_client vc;
	int remaining;
	uint64_t reply_op_at_submit; /* highest op any client had accepted when this request was sent */
	uint64_t session;
	uint64_t requests_done;
	/* A read at a replica (vr_read_begin), answered when vr_read_ready says so. */
	bool reading;
	int read_at;
	struct vr_read read;
	uint64_t read_floor; /* highest op any client had accepted when the read began */
	uint64_t read_started;
	/* Reads at any replica (vr_read_begin_local): what this client has seen. */
	uint64_t seen_op; /* its newest acknowledged op, or the state of its newest local read */
};

struct sim_committed {
	bool set;
	bool upcall;
	bool replied;
	uint64_t checksum;
	uint64_t view; /* lowest (epoch, view) in which a replica executed it (sim_gv) */
	uint64_t client_id, request;
	uint64_t digest;
	uint8_t result[SIM_RESULT_LEN];
};

struct sim_map { /* (client, request) -> op, open addressing */
	uint64_t *keys_a, *keys_b, *values;
	size_t cap;
};

struct sim {
	struct sim_options opt;
	uint64_t rng;
	uint64_t now;
	int n, f, clients;
	bool faults;
	bool use_store;
	/* the fault mix of this seed */
	uint32_t loss_permille, dup_permille, delay_max, crash_per_million, partition_per_million, wipe_permille;
	uint32_t disk_latency_max, requests_per_client;
	uint32_t checkpoint_ops;                       /* 0: no checkpoints this seed */
	uint64_t checkpoint_bytes;                     /* 0: no byte limit */
	uint64_t pipeline_bytes;                       /* 0: no byte limit on the primary's pipeline */
	uint32_t batch_max;                            /* vr_config.batch_max */
	uint64_t lease_ns;                             /* vr_config.lease_ns: a nominal tick is 1 ms */
	uint64_t lease_reads;                          /* reads served under a lease, all replicas */
	bool local_reads;                              /* sim_options.local_reads */
	bool epochs;                                   /* sim_options.epochs */
	uint16_t witnesses;                            /* vr_config.witnesses */
	uint64_t log_bytes_max;                        /* vr_config.log_bytes_max */
	uint32_t part_ops;                             /* vr_config.part_ops */
	uint64_t part_bytes;                           /* vr_config.part_bytes */
	uint64_t cache_bytes;                          /* vr_config.body_cache_bytes */
	uint64_t bodies_read, bodies_unstaged;         /* io.read_body calls; bodiless entries written */
	uint32_t reconfigurations;                     /* RECONFIGURE requests sent */
	uint64_t epoch_end_op[16], epoch_end_head[16]; /* E1: how each epoch ended */
	uint64_t local_reads_done;
	uint32_t client_table;
	bool link[SIM_NODES_MAX][SIM_NODES_MAX];
	struct sim_replica replica[SIM_REPLICAS_MAX];
	struct sim_client client[SIM_CLIENTS_MAX];
	struct sim_packet *net;
	size_t net_len, net_cap;
	uint64_t packet_id;
	uint64_t next_client_id;
	/* checker state */
	struct sim_committed committed[SIM_LOG_CAPACITY + 1];
	uint64_t executed_max;
	uint64_t reply_op_max;
	uint64_t reads_done;
	struct sim_map executed;
	struct sim_map start_views; /* view -> (op, checksum at op) of its first STARTVIEW */
	uint64_t trace_hash;
	uint64_t messages, drops;
	bool failed;
};

static struct sim *sim_current; /* for the abort handler only */

/* ---------------------------------------------------------------- utilities */

/* A view as the checkers order them: views begin again at 0 in each epoch (§10). */
static uint64_t sim_gv(uint64_t epoch, uint64_t view)
{
	return epoch << 40 | view;
}

static uint64_t sim_mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 29);
}

static uint64_t sim_random(struct sim *s)
{
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t sim_below(struct sim *s, uint64_t n)
{
	return n ? sim_random(s) % n : 0;
}

static bool sim_chance(struct sim *s, uint32_t per, uint32_t of)
{
	return per && sim_below(s, of) < per;
}

static void sim_trace(struct sim *s, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	int len = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (int i = 0; i < len && i < (int)sizeof(line); i++)
		s->trace_hash = (s->trace_hash ^ (uint8_t)line[i]) * 0x100000001b3ULL;
	if (s->opt.verbose)
		printf("%6" PRIu64 " %s\n", s->now, line);
}

static void sim_fail(struct sim *s, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (!s->failed) {
		/* The options given on the command line, so that the line reproduces this run. */
		const struct sim_options *o = &s->opt;
		char args[192];
		int n = 0;
		args[0] = 0;
		if (o->store)
			n += snprintf(args + n, sizeof(args) - (size_t)n, " --store");
		if (o->batch)
			n += snprintf(args + n, sizeof(args) - (size_t)n, " --batch %u", o->batch);
		if (o->lease_ticks >= 0)
			n += snprintf(args + n, sizeof(args) - (size_t)n, " --lease-ticks %d", o->lease_ticks);
		if (o->local_reads >= 0)
			n += snprintf(args + n, sizeof(args) - (size_t)n, " --local-reads %d", o->local_reads);
		if (o->epochs >= 0)
			n += snprintf(args + n, sizeof(args) - (size_t)n, " --epochs %d", o->epochs);
		if (o->witnesses >= 0)
			n += snprintf(args + n, sizeof(args) - (size_t)n, " --witnesses %d", o->witnesses);
		if (o->parts >= 0)
			n += snprintf(args + n, sizeof(args) - (size_t)n, " --parts %d", o->parts);
		if (o->cache >= 0)
			snprintf(args + n, sizeof(args) - (size_t)n, " --cache %d", o->cache);
		printf("seed %" PRIu64 ": VIOLATION at tick %" PRIu64 ": %s\n  reproduce: vr-sim --seed %" PRIu64
		       " --replicas %d%s -v\n",
		       s->opt.seed, s->now, line, s->opt.seed, s->n, args);
	}
	s->failed = true;
}

static void sim_map_init(struct sim_map *m, size_t cap)
{
	m->cap = cap;
	m->keys_a = calloc(cap, sizeof(uint64_t));
	m->keys_b = calloc(cap, sizeof(uint64_t));
	m->values = calloc(cap, sizeof(uint64_t));
	if (!m->keys_a || !m->keys_b || !m->values) {
		fprintf(stderr, "vr-sim: out of memory\n");
		exit(2);
	}
}

static void sim_map_free(struct sim_map *m)
{
	free(m->keys_a);
	free(m->keys_b);
	free(m->values);
}

/* Returns the slot for (a, b); *found says whether it was there. Keys (0, *) are not used. */
static size_t sim_map_slot(struct sim_map *m, uint64_t a, uint64_t b, bool *found)
{
	size_t i = sim_mix(a, b) % m->cap;

	for (;;) {
		if (m->keys_a[i] == 0) {
			*found = false;
			return i;
		}
		if (m->keys_a[i] == a && m->keys_b[i] == b) {
			*found = true;
			return i;
		}
		i = (i + 1) % m->cap;
	}
}

static void sim_map_put(struct sim_map *m, size_t i, uint64_t a, uint64_t b, uint64_t v)
{
	m->keys_a[i] = a;
	m->keys_b[i] = b;
	m->values[i] = v;
}

/* Deep copy of entries and their bodies into one block; *out points at the copies. */
static void *sim_copy_entries(const struct vr_entry *entries, uint32_t count, const uint8_t *body, uint32_t body_len,
                              struct vr_entry **out, uint8_t **body_out)
{
	size_t size = (size_t)count * sizeof(struct vr_entry) + body_len;
	for (uint32_t i = 0; i < count; i++)
		size += entries[i].body_len;
	uint8_t *block = malloc(size ? size : 1);
	if (!block) {
		fprintf(stderr, "vr-sim: out of memory\n");
		exit(2);
	}
	struct vr_entry *copy = (struct vr_entry *)block;
	uint8_t *p = block + (size_t)count * sizeof(struct vr_entry);
	for (uint32_t i = 0; i < count; i++) {
		copy[i] = entries[i];
		if (entries[i].body_len)
			memcpy(p, entries[i].body, entries[i].body_len);
		copy[i].body = p;
		p += entries[i].body_len;
	}
	if (body_len)
		memcpy(p, body, body_len);
	*out = count ? copy : NULL;
	*body_out = body_len ? p : NULL;
	return block;
}

static const char *sim_node_name(int node, char *buf, size_t size)
{
	if (node < SIM_REPLICAS_MAX)
		snprintf(buf, size, "r%d", node);
	else
		snprintf(buf, size, "c%d", node - SIM_REPLICAS_MAX);
	return buf;
}

/* ---------------------------------------------------------------- network */

static void sim_net_push(struct sim *s, int from, int to, const struct vr_message *m, uint64_t delay)
{
	if (s->net_len == s->net_cap) {
		s->net_cap = s->net_cap ? s->net_cap * 2 : 256;
		s->net = realloc(s->net, s->net_cap * sizeof(*s->net));
		if (!s->net) {
			fprintf(stderr, "vr-sim: out of memory\n");
			exit(2);
		}
	}
	struct sim_packet *p = &s->net[s->net_len++];
	struct vr_entry *entries;
	uint8_t *body;
	p->id = ++s->packet_id;
	p->at = s->now + delay;
	p->from = from;
	p->to = to;
	p->m = *m;
	p->data = sim_copy_entries(m->entries, m->entry_count, m->body, m->body_len, &entries, &body);
	p->m.entries = entries;
	p->m.body = body;
}

static void sim_send_packet(struct sim *s, int from, int to, const struct vr_message *m)
{
	char a[16], b[16];

	s->messages++;
	if (!s->link[from][to] || (s->faults && sim_chance(s, s->loss_permille, 1000))) {
		s->drops++;
		return;
	}
	uint32_t delay_max = s->faults ? s->delay_max : 2;
	sim_net_push(s, from, to, m, 1 + sim_below(s, delay_max));
	if (s->faults && sim_chance(s, s->dup_permille, 1000))
		sim_net_push(s, from, to, m, 1 + sim_below(s, delay_max * 3));
	sim_trace(s, "%s -> %s %s v=%" PRIu64 " n=%" PRIu64 " k=%" PRIu64 " c=%" PRIu64 " s=%" PRIu64 " e=%u",
	          sim_node_name(from, a, sizeof(a)), sim_node_name(to, b, sizeof(b)), vr_command_name(m->command),
	          m->view, m->op, m->commit, m->client_id, m->request, m->entry_count);
}

/* ---------------------------------------------------------------- checkers */

/*
 * S3/S12: a log of view v holds, unchanged, every op executed in view v or before
 * (an op executed in view w is committed in w or earlier, so every log of a view
 * >= w has it). A replica still in an older view may hold a stale suffix: that is
 * allowed, and a view change ranks its log below the newer ones.
 */
static void sim_check_log_message(struct sim *s, int from, const struct vr_message *m, bool whole)
{
	uint64_t first = m->entry_count ? m->entries[0].op : m->op + 1;

	for (uint64_t x = 1; x <= s->executed_max; x++) {
		const struct sim_committed *c = &s->committed[x];
		if (!c->set || c->view > sim_gv(m->epoch, m->view))
			continue;
		if (x > m->op) {
			if (whole)
				sim_fail(s,
				         "S12: r%d sends %s of view %" PRIu64 " ending at op %" PRIu64
				         " without op %" PRIu64 " executed in view %" PRIu64,
				         from, vr_command_name(m->command), m->view, m->op, x, c->view);
			return;
		}
		if (x >= first && x - first < m->entry_count && m->entries[x - first].checksum != c->checksum)
			sim_fail(s,
			         "S3: r%d sends %s of view %" PRIu64 " whose op %" PRIu64
			         " differs from the executed one",
			         from, vr_command_name(m->command), m->view, x);
	}
}

static void sim_check_send(struct sim_replica *sr, int to, const struct vr_message *m)
{
	struct sim *s = sr->sim;
	const struct vr_replica *r = &sr->vr;
	uint8_t primary = vr_primary_index(m->view, (uint8_t)s->n, s->witnesses);
	bool quiet = r->status == VR_STATUS_RECOVERING || r->status == VR_STATUS_CATCHING_UP;

	uint64_t gv = sim_gv(m->epoch, m->view);

	if (m->command != VR_GET_STATE && m->command != VR_RECOVERY && gv > sr->spoken_view)
		sr->spoken_view = gv;
	switch (m->command) {
	case VR_PREPARE:
	case VR_COMMIT:
		if (primary != sr->index)
			sim_fail(s, "S5: r%d sends %s in view %" PRIu64 " of which it is not primary", sr->index,
			         vr_command_name(m->command), m->view);
		break;
	case VR_PREPARE_OK:
		if (quiet)
			sim_fail(s, "S9: r%d sends prepare_ok while %s", sr->index, vr_status_name(r->status));
		if (m->view != r->view || to != primary)
			sim_fail(s, "S7: r%d sends prepare_ok for view %" PRIu64 " to r%d", sr->index, m->view, to);
		if (gv < sr->vc_view_sent)
			sim_fail(s, "S7: r%d acks view %" PRIu64 " after a view change to %" PRIu64, sr->index, m->view,
			         sr->vc_view_sent & ((1ull << 40) - 1));
		/* S8: durable at the sender, in this view. */
		if (sr->disk.op < m->op || sr->disk.log[m->op - 1].checksum != vr_log_entry(r, m->op)->checksum ||
		    sr->disk.meta.view != m->view || sr->disk.epoch != m->epoch)
			sim_fail(s, "S8: r%d acks op %" PRIu64 " that is not durable", sr->index, m->op);
		break;
	case VR_START_VIEW_CHANGE:
	case VR_DO_VIEW_CHANGE:
		if (quiet)
			sim_fail(s, "S9: r%d sends %s while %s", sr->index, vr_command_name(m->command),
			         vr_status_name(r->status));
		if (gv > sr->vc_view_sent)
			sr->vc_view_sent = gv;
		if (m->command == VR_DO_VIEW_CHANGE) {
			/* The log the view change ranks: v', op, head. k may grow (an op executed
			 * after a restart is only more knowledge). */
			uint64_t h = sim_mix(m->last_normal_view, m->op);
			h = sim_mix(h, m->entry_count ? m->entries[m->entry_count - 1].checksum : 0);
			if (sr->dvc_view == gv && sr->dvc_hash != h)
				sim_fail(s, "S13: r%d sends two different DVCs for view %" PRIu64, sr->index, m->view);
			sr->dvc_view = gv;
			sr->dvc_hash = h;
		}
		break;
	case VR_START_VIEW: {
		if (primary != sr->index)
			sim_fail(s, "S5: r%d sends start_view for view %" PRIu64, sr->index, m->view);
		/* S4: one log per view: every STARTVIEW log of v extends the first one. */
		bool found;
		size_t i = sim_map_slot(&s->start_views, gv + 1, 0, &found);
		uint64_t first = m->entry_count ? m->entries[0].op : m->op + 1;
		if (!found) {
			uint64_t checksum = m->op ? m->entries[m->op - first].checksum : 0;
			sim_map_put(&s->start_views, i, gv + 1, m->op, checksum);
		} else {
			/* (ops below the sender's checkpoint are committed: S3 covers them) */
			uint64_t op = s->start_views.keys_b[i];
			if (m->op < op ||
			    (op && op >= first && m->entries[op - first].checksum != s->start_views.values[i]))
				sim_fail(s, "S4: start_view logs for view %" PRIu64 " disagree", m->view);
		}
		sim_check_log_message(s, sr->index, m, true);
		break;
	}
	case VR_RECOVERY_RESPONSE:
	case VR_NEW_STATE:
		if (quiet)
			sim_fail(s, "S9: r%d sends %s while %s", sr->index, vr_command_name(m->command),
			         vr_status_name(r->status));
		if (m->command == VR_RECOVERY_RESPONSE && m->entry_count)
			sim_check_log_message(s, sr->index, m, true);
		if (m->command == VR_NEW_STATE)
			sim_check_log_message(s, sr->index, m, false);
		break;
	default:
		break;
	}
}

/* S11: when the primary replies for op x, f+1 disks hold x. */
static void sim_check_reply(struct sim_replica *sr, const struct vr_message *m)
{
	struct sim *s = sr->sim;
	int holders = 0;

	if (m->status != VR_REPLY_OK)
		return;
	if (m->op <= SIM_LOG_CAPACITY && s->committed[m->op].replied)
		return; /* a cached reply resent: S11 is about the first one */
	if (sr->vr.status != VR_STATUS_NORMAL)
		sim_fail(s, "S9: r%d replies while %s", sr->index, vr_status_name(sr->vr.status));
	const struct vr_entry *e = vr_log_entry(&sr->vr, m->op);
	if (!e) {
		sim_fail(s, "S11: r%d replies for op %" PRIu64 " it does not hold", sr->index, m->op);
		return;
	}
	for (int i = 0; i < s->n; i++) {
		const struct sim_replica *h = &s->replica[i];
		const struct sim_disk *d = &h->disk;
		if (d->op >= m->op && d->log[m->op - 1].checksum == e->checksum)
			holders++;
		else if (m->op < d->first && !vr_witness(s->witnesses, (uint8_t)i))
			holders++; /* below its checkpoint: in its applied state (a witness has none) */
		/* A lost disk is one of the f faults; it may have acked x before. The op stays
		 * safe while that replica does not vote (S9, §6.2); S3/S12 check survival. */
		else if (d->lost || d->meta.status == VR_STATUS_RECOVERING || d->meta.view < d->meta.voter_view)
			holders++;
	}
	if (holders < s->f + 1)
		sim_fail(s, "S11: reply for op %" PRIu64 " held by %d disks", m->op, holders);
	if (m->op <= SIM_LOG_CAPACITY)
		s->committed[m->op].replied = true;
}

/* S6, after every step. */
static void sim_check_replicas(struct sim *s)
{
	for (int i = 0; i < s->n; i++) {
		struct sim_replica *sr = &s->replica[i];
		if (!sr->up)
			continue;
		uint64_t gv = sim_gv(sr->vr.config.epoch, sr->vr.view);
		if (gv < sr->view_max)
			sim_fail(s, "S6: r%d view went back from %" PRIu64 " to %" PRIu64, i, sr->view_max, gv);
		/* E3: a member of an epoch holds the state it began with. */
		if (sr->disk.epoch && sr->vr.status != VR_STATUS_RECOVERING && sr->vr.commit < sr->disk.epoch_op)
			sim_fail(s,
			         "E3: r%d in epoch %" PRIu64 " at commit %" PRIu64 ", below the epoch's start %" PRIu64,
			         i, sr->disk.epoch, sr->vr.commit, sr->disk.epoch_op);
		if (sr->vr.commit < sr->commit_max)
			sim_fail(s, "S6: r%d commit went back", i);
		if (sr->vr.violations)
			sim_fail(s, "r%d received a message that breaks a protocol invariant (see the trace)", i);
		sr->view_max = gv;
		sr->commit_max = sr->vr.commit;
	}
	/* L1 (§9.7): while a primary that serves reads holds leases from f backups, no replica is
	 * normal in a later view: no other primary can have committed anything its reads would
	 * miss. (Before it has committed its starting log it serves none, §12.14; a log that starts
	 * with the epoch's RECONFIGURE ends the epoch when committed.) */
	for (int i = 0; i < s->n && s->lease_ns; i++) {
		struct sim_replica *p = &s->replica[i];
		if (!p->up || !vr_lease_held(&p->vr) || p->vr.commit < p->vr.view_start_op)
			continue;
		for (int j = 0; j < s->n; j++) {
			const struct vr_replica *q = &s->replica[j].vr;
			if (s->replica[j].up && q->status == VR_STATUS_NORMAL &&
			    sim_gv(q->config.epoch, q->view) > sim_gv(p->vr.config.epoch, p->vr.view))
				sim_fail(s,
				         "L1: r%d holds leases in view %" PRIu64
				         " while r%d is normal in view %" PRIu64,
				         i, p->vr.view, j, q->view);
		}
	}
}

/* ---------------------------------------------------------------- disk */

static void sim_disk_drop_stage(struct sim_disk *d)
{
	for (size_t i = 0; i < d->stage_len; i++)
		free(d->stage[i].data);
	d->stage_len = 0;
}

static void sim_disk_apply_write(struct sim_disk *d, const struct vr_write *w)
{
	switch (w->kind) {
	case VR_WRITE_INSTALL: /* one transaction: truncate, append, meta */
		if (w->op < d->op)
			d->op = w->op;
		d->meta = w->meta;
		d->lost = false;
		/* fall through */
	case VR_WRITE_LOG:
		for (uint32_t i = 0; i < w->entry_count; i++) {
			const struct vr_entry *e = &w->entries[i];
			if (e->op != d->op + 1 || e->op > SIM_LOG_CAPACITY) {
				fprintf(stderr, "vr-sim: log write not contiguous (op %" PRIu64 " after %" PRIu64 ")\n",
				        e->op, d->op);
				abort();
			}
			d->log[e->op - 1] = *e;
			if (e->body_len)
				memcpy(d->bodies[e->op - 1], e->body, e->body_len);
			d->log[e->op - 1].body = d->bodies[e->op - 1];
			d->op = e->op;
		}
		break;
	case VR_WRITE_META:
		d->meta = w->meta;
		d->lost = false;
		break;
	case VR_WRITE_STAGE:
		if (w->op == 1) {
			sim_disk_drop_stage(d);
		}
		if (w->entry_count) {
			if (d->stage_len == d->stage_cap) {
				d->stage_cap = d->stage_cap ? d->stage_cap * 2 : 16;
				d->stage = realloc(d->stage, d->stage_cap * sizeof(*d->stage));
				if (!d->stage) {
					fprintf(stderr, "vr-sim: out of memory\n");
					exit(2);
				}
			}
			struct sim_write *k = &d->stage[d->stage_len++];
			struct vr_entry *entries;
			uint8_t *body;
			k->w = *w;
			k->data = sim_copy_entries(w->entries, w->entry_count, NULL, 0, &entries, &body);
			k->w.entries = entries;
		}
		break;
	case VR_WRITE_TRUNCATE:
		if (w->op < d->first || w->op > d->op || w->op > d->commit) {
			fprintf(stderr,
			        "vr-sim: truncate to %" PRIu64 " outside %" PRIu64 "..%" PRIu64 " (commit %" PRIu64
			        ")\n",
			        w->op, d->first, d->op, d->commit);
			abort();
		}
		d->first = w->op;
		break;
	}
}

/* S6: the durable view never goes back. */
static void sim_check_durable(struct sim_replica *sr)
{
	uint64_t gv = sim_gv(sr->disk.epoch, sr->disk.meta.view);
	if (gv < sr->durable_view_max)
		sim_fail(sr->sim, "S6: r%d durable view went back from %" PRIu64 " to %" PRIu64, sr->index,
		         sr->durable_view_max, gv);
	sr->durable_view_max = gv;
}

/* Does replica j's disk hold op x (log, or applied state below its checkpoint)? A lost disk, or
 * one that is recovering, counts: that is one of the f faults. */
static bool sim_disk_holds(const struct sim *s, int j, uint64_t x, uint64_t checksum)
{
	const struct sim_disk *d = &s->replica[j].disk;

	if (d->lost || d->meta.status == VR_STATUS_RECOVERING)
		return true;
	if (x < d->first)
		return true;
	return d->op >= x && d->log[x - 1].checksum == checksum;
}

/* W2 (§9.5, the hold rule): replica i truncates its log to op x only when every full replica
 * holds x: a witness's copy of an op is the one left when the full replica that lacks it and
 * the primary's disk are needed. */
static void sim_check_hold(struct sim *s, int i, uint64_t x)
{
	const struct vr_entry *e = vr_log_entry(&s->replica[i].vr, x);

	for (int j = 0; j < s->n && e; j++)
		if (!vr_witness(s->witnesses, (uint8_t)j) && !sim_disk_holds(s, j, x, e->checksum))
			sim_fail(s, "W2: r%d truncates its log to op %" PRIu64 " which full replica r%d does not hold",
			         i, x, j);
}

/* An entry (op, checksum) with its body in writes[0..n). */
static const struct vr_entry *sim_find_in(const struct sim_write *writes, size_t n, uint64_t op, uint64_t checksum)
{
	for (size_t i = n; i-- > 0;) {
		const struct vr_write *w = &writes[i].w;
		if (w->kind == VR_WRITE_META || w->kind == VR_WRITE_TRUNCATE || !w->entry_count)
			continue;
		uint64_t first = w->entries[0].op;
		if (op >= first && op < first + w->entry_count && w->entries[op - first].checksum == checksum)
			return &w->entries[op - first];
	}
	return NULL;
}

/* The body cache's driver: any written copy of entry (op, checksum), pending, durable or kept aside. */
static const struct vr_entry *sim_find_written(const struct sim_disk *d, uint64_t op, uint64_t checksum)
{
	const struct vr_entry *e = sim_find_in(d->queue, d->queue_len, op, checksum);

	if (!e)
		e = sim_find_in(d->stage, d->stage_len, op, checksum);
	if (!e && op >= 1 && op <= d->op && d->log[op - 1].checksum == checksum)
		e = &d->log[op - 1];
	return e && !(e->body_len && !e->body) ? e : NULL;
}

static bool sim_read_body(void *ctx, uint64_t op, uint64_t checksum, uint8_t *body, uint32_t len)
{
	struct sim_replica *sr = ctx;
	const struct vr_entry *e = sim_find_written(&sr->disk, op, checksum);

	if (!e || e->body_len != len)
		return false;
	if (len)
		memcpy(body, e->body, len);
	sr->sim->bodies_read++;
	return true;
}

static void sim_persist(void *ctx, const struct vr_write *w)
{
	struct sim_replica *sr = ctx;
	struct sim *s = sr->sim;
	struct sim_disk *d = &sr->disk;
	struct vr_write resolved = *w;
	struct vr_entry *with_bodies = NULL;

	if (d->queue_len == d->queue_cap) {
		d->queue_cap = d->queue_cap ? d->queue_cap * 2 : 64;
		d->queue = realloc(d->queue, d->queue_cap * sizeof(*d->queue));
		if (!d->queue) {
			fprintf(stderr, "vr-sim: out of memory\n");
			exit(2);
		}
	}
	if (w->kind == VR_WRITE_TRUNCATE && s->witnesses)
		sim_check_hold(s, sr->index, w->op);
	struct sim_write *q = &d->queue[d->queue_len];
	uint64_t done_at = s->now + sim_below(s, s->disk_latency_max + 1);
	if (d->queue_len && d->queue[d->queue_len - 1].done_at > done_at)
		done_at = d->queue[d->queue_len - 1].done_at; /* FIFO */
	/* Entries without their bodies (body cache): the driver takes them from earlier writes. */
	for (uint32_t i = 0; i < w->entry_count; i++) {
		const struct vr_entry *e = &w->entries[i];
		if (!e->body_len || e->body)
			continue;
		if (w->kind != VR_WRITE_LOG && w->kind != VR_WRITE_INSTALL)
			sim_fail(s, "r%d: a STAGE write without a body (op %" PRIu64 ")", sr->index, e->op);
		const struct vr_entry *copy = sim_find_written(d, e->op, e->checksum);
		if (!copy) {
			sim_fail(s, "r%d: no written body for op %" PRIu64 " (body cache)", sr->index, e->op);
			continue;
		}
		if (!with_bodies) {
			with_bodies = malloc(w->entry_count * sizeof(*with_bodies));
			if (!with_bodies) {
				fprintf(stderr, "vr-sim: out of memory\n");
				exit(2);
			}
			memcpy(with_bodies, w->entries, w->entry_count * sizeof(*with_bodies));
			resolved.entries = with_bodies;
		}
		with_bodies[i].body = copy->body;
		s->bodies_unstaged++;
	}
	q->seq = w->seq;
	q->done_at = done_at;
	q->w = resolved;
	struct vr_entry *entries;
	uint8_t *body;
	q->data = sim_copy_entries(resolved.entries, resolved.entry_count, NULL, 0, &entries, &body);
	q->w.entries = entries;
	d->queue_len++;
	free(with_bodies);
}

/* A restart: pending writes are lost, and the driver forgets what it kept aside. */
static void sim_disk_drop_pending(struct sim_disk *d)
{
	sim_disk_drop_stage(d);
	for (size_t i = 0; i < d->queue_len; i++)
		free(d->queue[i].data);
	d->queue_len = 0;
}

/* Completes due writes in order; returns the newest completed seq, or 0. */
static uint64_t sim_disk_progress(struct sim *s, struct sim_disk *d)
{
	size_t done = 0;
	uint64_t seq = 0;

	while (done < d->queue_len && d->queue[done].done_at <= s->now) {
		sim_disk_apply_write(d, &d->queue[done].w);
		seq = d->queue[done].seq;
		free(d->queue[done].data);
		done++;
	}
	if (done == 0)
		return 0;
	memmove(d->queue, d->queue + done, (d->queue_len - done) * sizeof(*d->queue));
	d->queue_len -= done;
	return seq;
}

/* ---------------------------------------------------------------- replica callbacks */

static void sim_send(void *ctx, uint8_t to, const struct vr_message *m)
{
	struct sim_replica *sr = ctx;

	sim_check_send(sr, to, m);
	sim_send_packet(sr->sim, sr->index, to, m);
}

static void sim_reply(void *ctx, uint64_t client_id, const struct vr_message *m)
{
	struct sim_replica *sr = ctx;
	struct sim *s = sr->sim;

	sim_check_reply(sr, m);
	/* Client ids are SIM_REPLICAS_MAX-based node numbers in their top bits. */
	int node = (int)(client_id >> 32);
	if (node < SIM_REPLICAS_MAX || node >= SIM_REPLICAS_MAX + s->clients) {
		sim_fail(s, "reply to unknown client %" PRIu64, client_id);
		return;
	}
	sim_send_packet(s, sr->index, node, m);
}

static uint64_t sim_body_hash(const struct vr_entry *e)
{
	uint64_t h = 0;
	for (uint32_t i = 0; i < e->body_len; i++)
		h = sim_mix(h, e->body[i]);
	return h;
}

/* The real applier: decodes the op the client sent and applies it to the replica's store. Returns a
 * hash of the filesystem result, which the chain folds in (so replicas must agree on it). */
static uint64_t sim_store_apply(struct sim_replica *sr, const struct vr_apply *a)
{
	struct sim *s = sr->sim;
	const struct vr_entry *e = a->entry;
	struct wire_fs_op op;
	struct wire_fs_result res;
	const char *why = NULL;
	struct store_apply_ctx ctx = { .op = e->op,
		                       .now = (int64_t)e->timestamp,
		                       .client_id = e->client_id,
		                       .evicted_client = a->evicted_client };
	struct store_session_row row = {
		.slot = a->slot, .client_id = e->client_id, .request = e->request, .op = e->op, .status = VR_REPLY_OK
	};

	bool upcall = a->upcall && e->kind == VR_KIND_OP; /* a RECONFIGURE changes no file */
	if (upcall && wire_fs_op_decode(e->body, e->body_len, &op, &why)) {
		sim_fail(s, "r%d cannot decode op %" PRIu64 ": %s", sr->index, e->op, why);
		return 0;
	}
	if (a->slot != VR_NONE)
		row.session = e->kind == VR_KIND_REGISTER ? e->op : sr->disk.clients[a->slot].session;
	if (store_apply(sr->disk.store, &ctx, upcall ? &op : NULL, a->slot != VR_NONE ? &row : NULL, &res)) {
		sim_fail(s, "r%d store_apply broke at op %" PRIu64, sr->index, e->op);
		return 0;
	}
	uint64_t h = sim_mix((uint64_t)(int64_t)res.err, res.attr.ino);
	h = sim_mix(h, res.attr.mode);
	h = sim_mix(h, res.attr.nlink);
	h = sim_mix(h, res.attr.size);
	h = sim_mix(h, (uint64_t)res.attr.mtime);
	return sim_mix(h, res.written);
}

/* The replicated state machine: a hash chain over every executed op and client-table change. */
static uint32_t sim_apply(void *ctx, const struct vr_apply *a, uint8_t *result)
{
	struct sim_replica *sr = ctx;
	struct sim *s = sr->sim;
	struct sim_disk *d = &sr->disk;
	const struct vr_entry *e = a->entry;
	uint32_t len = 0;

	if (e->op != d->commit + 1)
		sim_fail(s, "S2: r%d executes op %" PRIu64 " after %" PRIu64, sr->index, e->op, d->commit);
	bool witness = vr_witness(s->witnesses, (uint8_t)sr->index);
	if (witness && a->upcall && e->kind != VR_KIND_RECONFIGURE)
		sim_fail(s, "W1: witness r%d executes op %" PRIu64, sr->index, e->op);
	uint64_t h = sim_mix(d->digest, e->client_id);
	h = sim_mix(h, e->request);
	h = sim_mix(h, a->upcall);
	h = sim_mix(h, a->slot);
	h = sim_mix(h, a->evicted_client);
	if (s->use_store && !witness) /* a witness has no store (W1 checks it is never asked to change one) */
		h = sim_mix(h, sim_store_apply(sr, a));
	if (a->upcall) {
		h = sim_mix(h, sim_body_hash(e));
		memcpy(result, &h, SIM_RESULT_LEN);
		len = SIM_RESULT_LEN;
	}
	d->digest = h;
	d->commit = e->op;
	if (a->slot != VR_NONE) {
		struct vr_client_slot *slot = &d->clients[a->slot];
		slot->client_id = e->client_id;
		if (e->kind == VR_KIND_REGISTER)
			slot->session = e->op;
		slot->request = e->request;
		slot->op = e->op;
		slot->status = VR_REPLY_OK;
		slot->result_len = len;
		memcpy(slot->result, result, len);
	}

	/* S1, S2, S10 against the one global sequence (a witness's digest, of no state, only S1). */
	struct sim_committed *c = &s->committed[e->op];
	uint64_t gv = sim_gv(sr->vr.config.epoch, sr->vr.view);
	if (witness) {
		if (c->set && c->checksum != e->checksum)
			sim_fail(s, "S1: witness r%d commits a different op %" PRIu64, sr->index, e->op);
		return len;
	}
	if (c->set) {
		if (gv < c->view)
			c->view = gv;
		if (c->checksum != e->checksum)
			sim_fail(s, "S1: r%d executes a different op %" PRIu64, sr->index, e->op);
		else if (c->digest != h)
			sim_fail(s, "S2: r%d digest differs at op %" PRIu64, sr->index, e->op);
		return len;
	}
	c->set = true;
	c->view = gv;
	c->upcall = a->upcall;
	c->checksum = e->checksum;
	c->client_id = e->client_id;
	c->request = e->request;
	c->digest = h;
	memcpy(c->result, result, len);
	if (e->op > s->executed_max)
		s->executed_max = e->op;
	if (a->upcall) {
		bool found;
		size_t i = sim_map_slot(&s->executed, e->client_id, e->request, &found);
		if (found && s->executed.values[i] != e->op)
			sim_fail(s,
			         "S10: client %" PRIu64 " request %" PRIu64 " executed at ops %" PRIu64 " and %" PRIu64,
			         e->client_id, e->request, s->executed.values[i], e->op);
		sim_map_put(&s->executed, i, e->client_id, e->request, e->op);
	}
	return len;
}

static uint64_t sim_realtime(void *ctx)
{
	struct sim_replica *sr = ctx;
	/* Each replica's realtime clock is skewed; the core keeps timestamps monotonic. */
	return sr->sim->now * 1000000 + (uint64_t)sr->index * 777777;
}

/* The monotonic clock: each replica's runs at its own rate (sim_step). */
static uint64_t sim_monotonic(void *ctx)
{
	struct sim_replica *sr = ctx;
	return sr->mono_ns;
}

static void sim_log(void *ctx, const char *what)
{
	struct sim_replica *sr = ctx;
	sim_trace(sr->sim, "r%d %s", sr->index, what);
}

static struct vr_config sim_config(struct sim *s, int i)
{
	struct vr_config c = {
		.replica_count = (uint8_t)s->n,
		.self = (uint8_t)i,
		.log_capacity = SIM_LOG_CAPACITY,
		.checkpoint_ops = s->checkpoint_ops,
		.checkpoint_bytes = s->checkpoint_bytes,
		.pipeline_bytes_max = s->pipeline_bytes,
		.body_size_max = SIM_BODY_MAX,
		.client_table_size = s->client_table, /* fewer than clients: evictions happen */
		.pipeline_max = 8,
		.batch_max = s->batch_max,
		.lease_ns = s->lease_ns,
		.drift_ppm = SIM_DRIFT_PPM,
		.heartbeat_ticks = 5,
		.prepare_resend_ticks = 10,
		.liveness_ticks = 40,
		.view_change_ticks = 60,
		.resend_ticks = 8,
		.seed = sim_random(s),
		.epoch = s->replica[i].disk.epoch,
		.epoch_op = s->replica[i].disk.epoch_op,
		.witnesses = s->witnesses,
		.log_bytes_max = s->log_bytes_max,
		.part_ops = s->part_ops,
		.part_bytes = s->part_bytes,
		.body_cache_bytes = s->cache_bytes,
	};
	return c;
}

static void sim_need_snapshot(void *ctx, uint64_t min_op, uint64_t view)
{
	struct sim_replica *sr = ctx;
	struct sim *s = sr->sim;

	sim_trace(s, "r%d needs a checkpoint >= %" PRIu64 " (view %" PRIu64 ")", sr->index, min_op, view);
	if (sr->snapshot_wanted) {
		if (min_op > sr->snapshot_min)
			sr->snapshot_min = min_op;
		if (view > sr->snapshot_view)
			sr->snapshot_view = view;
		return;
	}
	sr->snapshot_wanted = true;
	sr->snapshot_min = min_op;
	sr->snapshot_view = view;
	sr->snapshot_at = s->now + 5 + sim_below(s, 60); /* the transfer takes time */
}

static const struct vr_io sim_io_template = {
	.need_snapshot = sim_need_snapshot,
	.send = sim_send,
	.reply = sim_reply,
	.persist = sim_persist,
	.apply = sim_apply,
	.realtime = sim_realtime,
	.monotonic = sim_monotonic,
	.log = sim_log,
	.read_body = sim_read_body,
};

static void sim_replica_start(struct sim *s, int i, bool wiped)
{
	struct sim_replica *sr = &s->replica[i];
	struct vr_config c = sim_config(s, i);
	struct vr_io io = sim_io_template;
	int rc;

	io.ctx = sr;
	if (sr->disk.lost)
		wiped = true; /* an empty disk of an existing cluster: recover, never format */
	if (s->use_store && (wiped || !sr->disk.store)) {
		const char *why = NULL;
		store_close(sr->disk.store);
		sr->disk.store = NULL;
		if (store_open(&sr->disk.store, ":memory:", 0, &why)) {
			sim_fail(s, "r%d: %s", i, why);
			return;
		}
	}
	if (wiped) {
		struct sim_disk *d = &sr->disk;
		memset(&d->meta, 0, sizeof(d->meta));
		memset(d->clients, 0, sizeof(*d->clients) * c.client_table_size);
		d->op = d->commit = d->digest = 0;
		d->epoch = d->epoch_op = d->epoch_head = 0; /* the labels are lost with the disk */
		c.epoch = c.epoch_op = 0;
		d->first = 1;
		d->formatted = true;
		d->lost = true;
		sr->view_max = sr->commit_max = sr->spoken_view = sr->vc_view_sent = sr->durable_view_max = 0;
		sr->dvc_view = sr->dvc_hash = 0;
		rc = vr_init_recovering(&sr->vr, &c, &io);
	} else if (!sr->disk.formatted) {
		sr->disk.formatted = true;
		sr->disk.first = 1;
		rc = vr_init(&sr->vr, &c, &io, NULL);
	} else {
		/* With a body cache a restart reads headers only, as vrfsd does. */
		struct vr_entry *headers = NULL;
		uint64_t n = sr->disk.op >= sr->disk.first ? sr->disk.op - sr->disk.first + 1 : 0;
		if (s->cache_bytes && n) {
			headers = malloc(n * sizeof(*headers));
			if (!headers) {
				fprintf(stderr, "vr-sim: out of memory\n");
				exit(2);
			}
			memcpy(headers, &sr->disk.log[sr->disk.first - 1], n * sizeof(*headers));
			for (uint64_t x = 0; x < n; x++)
				if (headers[x].kind != VR_KIND_RECONFIGURE && headers[x].body_len)
					headers[x].body = NULL;
		}
		struct vr_durable d = {
			.meta = sr->disk.meta,
			.log = headers ? headers : &sr->disk.log[sr->disk.first - 1],
			.first = sr->disk.first,
			.op = sr->disk.op,
			.commit = sr->disk.commit,
			.clients = sr->disk.clients,
			.client_count = c.client_table_size,
			.epoch_start = sr->epoch_start,
		};
		rc = vr_init(&sr->vr, &c, &io, &d);
		free(headers);
	}
	if (rc) {
		sim_fail(s, "r%d does not start from its disk: %s", i, strerror(-rc));
		return;
	}
	sr->up = true;
	uint64_t gv = sim_gv(sr->vr.config.epoch, sr->vr.view);
	if (!wiped && gv < sr->spoken_view)
		sim_fail(s, "S6: r%d restarts in view %" PRIu64 " below view %" PRIu64 " it spoke in", i, gv,
		         sr->spoken_view);
	if (!wiped && gv < sr->durable_view_max)
		sim_fail(s, "S6: r%d restarts in view %" PRIu64 " below its durable view %" PRIu64, i, gv,
		         sr->durable_view_max);
	/* A view held only in memory (never durable, never spoken in) is legitimately lost in a crash. */
	sr->view_max = gv;
	sim_trace(s, "r%d start%s view=%" PRIu64 " status=%s op=%" PRIu64 " commit=%" PRIu64, i,
	          wiped ? " (disk lost)" : "", sr->vr.view, vr_status_name(sr->vr.status), sr->vr.log.op,
	          sr->vr.commit);
}

static void sim_replica_crash(struct sim *s, int i)
{
	struct sim_replica *sr = &s->replica[i];

	sim_trace(s, "r%d crash (%zu writes lost)", i, sr->disk.queue_len);
	sim_disk_drop_pending(&sr->disk);
	vr_deinit(&sr->vr);
	sr->up = false;
	sr->snapshot_wanted = false;
	sr->down_since = s->now;
	sr->restart_at = s->now + 20 + sim_below(s, 300);
}

/*
 * Replica i's disk takes donor j's applied state at op at (its log entry, commit, digest,
 * client table and, with the real applier, its store); its own entries above at stay when
 * keep. The caller sets the metadata and starts the replica.
 */
static bool sim_disk_take_checkpoint(struct sim *s, int i, int j, uint64_t at, bool keep)
{
	struct sim_disk *d = &s->replica[i].disk;
	const struct sim_disk *src = &s->replica[j].disk;

	/* With witnesses the donor's window comes along (it reaches back to hold): a witness that
	 * takes this checkpoint, or recovers from this replica later, needs those ops (§9.5). */
	uint64_t from = s->witnesses ? src->first : at;
	for (uint64_t x = from; x <= at; x++) {
		d->log[x - 1] = src->log[x - 1];
		if (src->log[x - 1].body_len)
			memcpy(d->bodies[x - 1], src->bodies[x - 1], src->log[x - 1].body_len);
		d->log[x - 1].body = d->bodies[x - 1];
	}
	if (!keep)
		d->op = at;
	d->first = from;
	d->commit = at;
	d->digest = src->digest;
	memcpy(d->clients, src->clients, sizeof(*d->clients) * s->client_table);
	d->lost = false;
	s->replica[i].dvc_view = 0; /* S13 memory: a DVC for a view that is normal already is moot */
	if (s->use_store && !vr_witness(s->witnesses, (uint8_t)i)) { /* a witness takes no state */
		const char *why = NULL;
		store_close(d->store);
		d->store = NULL;
		if (store_clone(src->store, ":memory:", &d->store, &why)) {
			sim_fail(s, "r%d: cannot copy r%d's store: %s", i, j, why ? why : "?");
			return false;
		}
	}
	return true;
}

/*
 * need_snapshot served: the applied state of donor j (commit s, its client table, its store,
 * its log entry s) becomes replica i's disk, with the metadata vr_snapshot_meta gives and the
 * own log above s where it chains on; then replica i restarts from that disk. Writes still
 * pending are lost, as in a crash (a real daemon flushes them first: a subset of this).
 */
static void sim_snapshot_install(struct sim *s, int i, int j)
{
	struct sim_replica *sr = &s->replica[i];
	struct sim_disk *d = &sr->disk;
	const struct sim_disk *src = &s->replica[j].disk;
	uint64_t at = src->commit;
	bool stale;

	sr->snapshot_wanted = false;
	if (at <= d->commit || at < src->first || at > src->op)
		return; /* nothing newer to give */
	struct vr_meta meta = d->meta;
	if (d->lost)
		meta.status = VR_STATUS_RECOVERING;
	uint64_t view = sr->snapshot_view > s->replica[j].vr.view ? sr->snapshot_view : s->replica[j].vr.view;
	bool keep = vr_snapshot_meta(&meta, view, &stale);
	if (stale)
		return;
	sim_trace(s, "r%d installs the checkpoint of r%d at op %" PRIu64, i, j, at);
	sim_disk_drop_pending(d);
	vr_deinit(&sr->vr);
	keep = keep && d->op >= at && at >= d->first && d->log[at - 1].checksum == src->log[at - 1].checksum;
	d->meta = meta; /* (vr_snapshot_meta) */
	if (sim_disk_take_checkpoint(s, i, j, at, keep))
		sim_replica_start(s, i, false);
}

/* Serves due need_snapshot requests from a random replica that is up and far enough. */
static void sim_snapshots(struct sim *s)
{
	for (int i = 0; i < s->n; i++) {
		struct sim_replica *sr = &s->replica[i];
		if (!sr->up || !sr->snapshot_wanted || s->now < sr->snapshot_at)
			continue;
		int donors[SIM_REPLICAS_MAX], count = 0;
		for (int j = 0; j < s->n; j++)
			if (j != i && s->replica[j].up && !vr_witness(s->witnesses, (uint8_t)j) &&
			    s->replica[j].disk.commit >= sr->snapshot_min &&
			    s->replica[j].disk.epoch == sr->disk.epoch && s->link[j][i] && s->link[i][j])
				donors[count++] = j;
		if (count == 0) {
			sr->snapshot_at = s->now + 20; /* nobody can give it yet: try again */
			continue;
		}
		sim_snapshot_install(s, i, donors[sim_below(s, (uint64_t)count)]);
	}
}

/* ---------------------------------------------------------------- reconfiguration (§10) */

/* Every pending write made durable: the daemon commits its group before it takes an epoch up. */
static void sim_disk_flush(struct sim_disk *d)
{
	for (size_t k = 0; k < d->queue_len; k++) {
		sim_disk_apply_write(d, &d->queue[k].w);
		free(d->queue[k].data);
	}
	d->queue_len = 0;
}

/* Replica i executed the RECONFIGURE entry that ends its epoch: it starts the next one in view 0,
 * NORMAL, log and state unchanged (as vrfsd's epoch_move, the members being the same). */
static void sim_epoch_move(struct sim *s, int i)
{
	struct sim_replica *sr = &s->replica[i];
	struct sim_disk *d = &sr->disk;
	uint64_t n = sr->vr.epoch_end, epoch = sr->vr.config.epoch;
	const struct vr_entry *e = vr_log_entry(&sr->vr, n);

	if (!e || sr->vr.log.op != n) {
		sim_fail(s, "E2: r%d ends epoch %" PRIu64 " at op %" PRIu64 " with its log at op %" PRIu64, i, epoch, n,
		         sr->vr.log.op);
		return;
	}
	if (epoch < 16 && s->epoch_end_op[epoch] &&
	    (s->epoch_end_op[epoch] != n || s->epoch_end_head[epoch] != e->checksum))
		sim_fail(s, "E1: r%d ends epoch %" PRIu64 " at op %" PRIu64 ", another replica at op %" PRIu64, i,
		         epoch, n, s->epoch_end_op[epoch]);
	if (epoch < 16) {
		s->epoch_end_op[epoch] = n;
		s->epoch_end_head[epoch] = e->checksum;
	}
	sim_disk_flush(d);
	d->epoch = epoch + 1;
	d->epoch_op = n;
	d->epoch_head = e->checksum;
	d->meta = (struct vr_meta){ .status = VR_STATUS_NORMAL };
	sim_trace(s, "r%d takes up epoch %" PRIu64 " at op %" PRIu64, i, d->epoch, n);
	vr_deinit(&sr->vr);
	sr->snapshot_wanted = false; /* asked for by the old epoch's core (vrfsd drops it too) */
	sr->epoch_start = true;
	sim_replica_start(s, i, false);
	sr->epoch_start = false;
}

static void sim_epoch_after(struct sim *s, int i)
{
	if (s->replica[i].up && s->replica[i].vr.epoch_end && !s->failed)
		sim_epoch_move(s, i);
}

/*
 * Replica i lacks the state epoch j's epoch began with: j's checkpoint becomes its disk, and it
 * enters that epoch as a new member does, through a view change (view 1, or j's view).
 */
static void sim_epoch_join(struct sim *s, int i, int j)
{
	struct sim_replica *sr = &s->replica[i];
	struct sim_disk *d = &sr->disk;
	const struct sim_disk *src = &s->replica[j].disk;
	uint64_t at = src->commit;

	if (at < src->first || at > src->op || at < src->epoch_op)
		return;
	/* A replica that lost its disk may have voted in that epoch before: it recovers in it (§6.2),
	 * from the checkpoint. Any other never was in it, as a new member. */
	bool lost = d->lost || sr->vr.status == VR_STATUS_RECOVERING;
	sim_trace(s, "r%d joins epoch %" PRIu64 " with the checkpoint of r%d at op %" PRIu64 "%s", i, src->epoch, j, at,
	          lost ? " (recovering)" : "");
	sim_disk_drop_pending(d);
	vr_deinit(&sr->vr);
	sr->snapshot_wanted = false; /* asked for in the old epoch */
	/* A new member whose giver is normal in the epoch's first view is a backup of it at once (it
	 * never acknowledged anything in the epoch, and v' = 0 ranks its log below every other);
	 * otherwise it enters through a view change. */
	const struct vr_replica *g = &s->replica[j].vr;
	uint64_t view = g->view > 1 ? g->view : 1;
	if (lost)
		d->meta = (struct vr_meta){ .status = VR_STATUS_RECOVERING };
	else if (g->status == VR_STATUS_NORMAL && g->view == 0 && vr_primary_index(0, (uint8_t)s->n, s->witnesses) != i)
		d->meta = (struct vr_meta){ .status = VR_STATUS_NORMAL };
	else
		d->meta = (struct vr_meta){ .status = VR_STATUS_VIEW_CHANGE, .view = view };
	d->epoch = src->epoch;
	d->epoch_op = src->epoch_op;
	d->epoch_head = src->epoch_head;
	if (sim_disk_take_checkpoint(s, i, j, at, false))
		sim_replica_start(s, i, false);
}

/*
 * Witness j, of a later epoch, tells replica i: a witness has no checkpoint to give, so i takes
 * the entries that ended its epoch from j's log (vr_epoch_entries), commits by checksum once
 * they are durable (a later notice), and moves on, one epoch at a time. The end of i's epoch is
 * the first RECONFIGURE in j's committed log above the op i's epoch began at.
 */
static void sim_epoch_from_witness(struct sim *s, int j, int i)
{
	const struct sim_disk *src = &s->replica[j].disk;
	struct sim_replica *si = &s->replica[i];
	uint64_t end = 0;

	for (uint64_t x = si->vr.config.epoch_op + 1; x <= src->epoch_op && x <= src->op && !end; x++)
		if (x >= src->first && src->log[x - 1].kind == VR_KIND_RECONFIGURE)
			end = x;
	if (!end)
		return; /* j's log does not reach back that far: a full replica's checkpoint, later */
	int rc = vr_epoch_commit(&si->vr, end, src->log[end - 1].checksum);
	if (rc == 0) {
		sim_epoch_after(s, i);
		return;
	}
	if (rc == -EAGAIN)
		return;
	uint64_t from = si->vr.commit + 1 > src->first ? si->vr.commit + 1 : src->first;
	if (from > end)
		return;
	rc = vr_epoch_entries(&si->vr, &src->log[from - 1], (uint32_t)(end - from + 1));
	sim_trace(s, "r%d gives r%d its entries %" PRIu64 "..%" PRIu64 ": %d", j, i, from, end, rc);
	if (rc == -EINVAL)
		sim_fail(s, "r%d refuses r%d's entries that ended its epoch", i, j);
}

/* A message of replica i's older epoch reached j: j tells i of its epoch (vrfsd's notice). */
static void sim_epoch_notice(struct sim *s, int j, int i)
{
	struct sim_replica *sj = &s->replica[j], *si = &s->replica[i];

	if (!si->up || !s->link[j][i] || si->vr.config.epoch >= sj->vr.config.epoch ||
	    sj->vr.commit < sj->disk.epoch_op)
		return;
	sim_trace(s, "r%d tells r%d of epoch %" PRIu64 " (from op %" PRIu64 ")", j, i, sj->disk.epoch,
	          sj->disk.epoch_op);
	if (vr_witness(s->witnesses, (uint8_t)j)) {
		sim_epoch_from_witness(s, j, i);
		return;
	}
	if (sj->vr.config.epoch == si->vr.config.epoch + 1) {
		int rc = vr_epoch_commit(&si->vr, sj->disk.epoch_op, sj->disk.epoch_head);
		if (rc == 0) {
			sim_epoch_after(s, i);
			return;
		}
		if (rc == -EAGAIN)
			return;
	}
	sim_epoch_join(s, i, j);
}

/* ---------------------------------------------------------------- clients */

static void sim_client_send(void *ctx, uint8_t to, const struct vr_message *m)
{
	struct sim_client *sc = ctx;
	sim_send_packet(sc->sim, SIM_REPLICAS_MAX + sc->index, to, m);
}

static void sim_client_done(void *ctx, uint64_t request, uint8_t status, const uint8_t *result, uint32_t len,
                            uint64_t op)
{
	struct sim_client *sc = ctx;
	struct sim *s = sc->sim;

	sim_trace(s, "c%d done request %" PRIu64 " status %u op %" PRIu64, sc->index, request, status, op);
	sc->remaining--;
	sc->requests_done++;
	if (status != VR_REPLY_OK)
		return; /* evicted: outcome unknown, never retried (C3) */
	/* S16: the reply matches the committed log, in real-time order. */
	const struct sim_committed *c = op <= SIM_LOG_CAPACITY ? &s->committed[op] : NULL;
	if (!c || !c->set || c->client_id != sc->vc.client_id || c->request != request || !c->upcall)
		sim_fail(s, "S16: c%d accepts a reply for op %" PRIu64 " that executed something else", sc->index, op);
	else if (len != SIM_RESULT_LEN || memcmp(result, c->result, len) != 0)
		sim_fail(s, "S16: c%d accepts a result that differs from the executed one (op %" PRIu64 ")", sc->index,
		         op);
	if (op <= sc->reply_op_at_submit)
		sim_fail(s, "S16: c%d request ordered at op %" PRIu64 " before op %" PRIu64 " acknowledged earlier",
		         sc->index, op, sc->reply_op_at_submit);
	if (op > s->reply_op_max)
		s->reply_op_max = op;
	if (op > sc->seen_op)
		sc->seen_op = op;
}

static uint64_t sim_client_new_id(void *ctx)
{
	struct sim_client *sc = ctx;
	return ((uint64_t)(SIM_REPLICAS_MAX + sc->index) << 32) | ++sc->session;
}

/* A random filesystem op on a small tree, encoded as a mount would send it. */
static uint32_t sim_fs_op(struct sim *s, uint8_t *body)
{
	static const char *const names[] = { "a", "b", "c", "d", "e", "f" };
	struct wire_fs_op op = { .uid = 0, .gid = 0 };
	uint8_t data[200];
	/* An inode some earlier op may have created (or not: then the store says ENOENT). */
	uint64_t some = s->reply_op_max ? WIRE_INO_FROM_OP(1 + sim_below(s, s->reply_op_max)) : WIRE_INO_ROOT;
	uint64_t dir = sim_chance(s, 1, 2) ? WIRE_INO_ROOT : some;
	const char *name = names[sim_below(s, 6)], *other = names[sim_below(s, 6)];
	uint32_t len = (uint32_t)sim_below(s, sizeof(data));

	for (uint32_t i = 0; i < len; i++)
		data[i] = (uint8_t)sim_random(s);
	op.parent = dir;
	op.name = name;
	op.name_len = 1;
	switch (sim_below(s, 10)) {
	case 0:
		op.type = WIRE_FS_MKDIR;
		op.mode = 0755;
		break;
	case 1:
		op.type = WIRE_FS_CREATE;
		op.mode = S_IFREG | 0644;
		break;
	case 2:
		op.type = WIRE_FS_WRITE;
		op.ino = some;
		op.offset = sim_below(s, 200000);
		op.data = data;
		op.data_len = len;
		break;
	case 3:
		op.type = WIRE_FS_SETATTR;
		op.ino = some;
		op.valid = WIRE_SET_SIZE;
		op.size = sim_below(s, 150000);
		break;
	case 4:
		op.type = WIRE_FS_RENAME;
		op.new_parent = sim_chance(s, 1, 2) ? WIRE_INO_ROOT : some;
		op.new_name = other;
		op.new_name_len = 1;
		op.flags = (uint32_t)sim_below(s, 3);
		break;
	case 5:
		op.type = WIRE_FS_UNLINK;
		break;
	case 6:
		op.type = WIRE_FS_RMDIR;
		break;
	case 7:
		op.type = WIRE_FS_SYMLINK;
		op.data = (const uint8_t *)"target";
		op.data_len = 6;
		break;
	case 8:
		op.type = WIRE_FS_LINK;
		op.ino = some;
		break;
	default:
		op.type = WIRE_FS_SETXATTR;
		op.ino = some;
		op.name = "user.x";
		op.name_len = 6;
		op.data = data;
		op.data_len = len;
		break;
	}
	struct wire_buf b;
	wire_buf_init(&b);
	uint32_t n = 0;
	if (wire_fs_op_encode(&op, &b) == 0 && b.len <= SIM_BODY_MAX) {
		memcpy(body, b.data, b.len);
		n = (uint32_t)b.len;
	} else {
		sim_fail(s, "cannot encode a filesystem op of type %u", op.type);
	}
	wire_buf_free(&b);
	return n;
}

static void sim_client_tick(struct sim *s, struct sim_client *sc)
{
	vr_client_on_tick(&sc->vc);
	if (sc->remaining > 0 && vr_client_ready(&sc->vc) && sim_chance(s, 1, 4)) {
		uint8_t body[SIM_BODY_MAX];
		uint32_t len = 1 + (uint32_t)sim_below(s, 32);
		if (s->use_store)
			len = sim_fs_op(s, body);
		else
			for (uint32_t i = 0; i < len; i++)
				body[i] = (uint8_t)sim_random(s);
		sc->reply_op_at_submit = s->reply_op_max;
		uint8_t kind = VR_KIND_OP;
		if (s->epochs && sc->index == 0 && s->faults && s->reconfigurations < 4 && sim_chance(s, 1, 30)) {
			kind = VR_KIND_RECONFIGURE; /* the same members, a new epoch */
			s->reconfigurations++;
		}
		int rc = vr_client_submit_kind(&sc->vc, kind, body, len);
		if (rc)
			sim_fail(s, "c%d submit failed: %d", sc->index, rc);
	}
	/* Reads, to the replica the client believes primary (now and then to any replica). */
	if (!sc->reading && sim_chance(s, 1, 6)) {
		int node = SIM_REPLICAS_MAX + sc->index;
		int at = sim_chance(s, 3, 4) ? vr_primary_index(sc->vc.view, (uint8_t)s->n, s->witnesses)
		                             : (int)sim_below(s, (uint64_t)s->n);
		struct sim_replica *sr = &s->replica[at];
		/* With local reads, half the reads ask any replica for what this client has seen. */
		bool local = s->local_reads && sim_chance(s, 1, 2);
		if (local)
			at = (int)sim_below(s, (uint64_t)s->n), sr = &s->replica[at];
		if (sr->up && s->link[node][at] &&
		    (local ? vr_read_begin_local(&sr->vr, &sc->read, sc->seen_op)
		           : vr_read_begin(&sr->vr, &sc->read)) == 0) {
			sc->reading = true;
			sc->read_at = at;
			sc->read_floor = s->reply_op_max;
			sc->read_started = s->now;
		}
	}
}

/* S17: a read served sees every op acknowledged to any client before it began. */
static void sim_reads(struct sim *s)
{
	for (int j = 0; j < s->clients; j++) {
		struct sim_client *sc = &s->client[j];
		if (!sc->reading)
			continue;
		struct sim_replica *sr = &s->replica[sc->read_at];
		if (sc->read.lease)
			s->lease_reads++;
		int rc = sr->up ? vr_read_ready(&sr->vr, &sc->read) : -ESTALE;
		if (rc == 0 && s->now - sc->read_started < 400)
			continue;
		sc->reading = false;
		if (rc != 1 || !s->link[sc->read_at][SIM_REPLICAS_MAX + j])
			continue; /* lost, or the answer is: the client asks again later */
		s->reads_done++;
		if (sc->read.local) {
			/* S18 (§9.8): a read at any replica sees the client's own writes and never an older
			 * state than its previous read saw. */
			s->local_reads_done++;
			sim_trace(s, "c%d local read at r%d: commit %" PRIu64 " (seen before: %" PRIu64 ")", j,
			          sc->read_at, sr->vr.commit, sc->read.index);
			if (sr->vr.commit < sc->read.index)
				sim_fail(s,
				         "S18: r%d serves c%d a local read at commit %" PRIu64
				         " after it saw op %" PRIu64,
				         sc->read_at, j, sr->vr.commit, sc->read.index);
			if (sr->vr.commit > sc->seen_op)
				sc->seen_op = sr->vr.commit;
			continue;
		}
		sim_trace(s, "c%d read at r%d: commit %" PRIu64 " (acknowledged before: %" PRIu64 ")", j, sc->read_at,
		          sr->vr.commit, sc->read_floor);
		if (sr->vr.commit < sc->read_floor)
			sim_fail(s,
			         "S17: r%d serves a read at commit %" PRIu64 " after op %" PRIu64 " was acknowledged",
			         sc->read_at, sr->vr.commit, sc->read_floor);
	}
}

/* ---------------------------------------------------------------- faults */

static void sim_links_heal(struct sim *s)
{
	for (int a = 0; a < SIM_NODES_MAX; a++)
		for (int b = 0; b < SIM_NODES_MAX; b++)
			s->link[a][b] = true;
}

static int sim_primary_guess(struct sim *s)
{
	uint64_t gv = 0, view = 0;
	for (int i = 0; i < s->n; i++) {
		const struct vr_replica *r = &s->replica[i].vr;
		if (s->replica[i].up && sim_gv(r->config.epoch, r->view) > gv) {
			gv = sim_gv(r->config.epoch, r->view);
			view = r->view;
		}
	}
	return vr_primary_index(view, (uint8_t)s->n, s->witnesses);
}

static void sim_partition(struct sim *s)
{
	int kind = (int)sim_below(s, 5);
	int victim = (int)sim_below(s, (uint64_t)s->n);

	sim_links_heal(s);
	switch (kind) {
	case 0: /* heal */
		sim_trace(s, "partition: healed");
		break;
	case 1: /* one replica cut off from everyone */
		for (int j = 0; j < SIM_NODES_MAX; j++)
			s->link[victim][j] = s->link[j][victim] = false;
		sim_trace(s, "partition: r%d isolated", victim);
		break;
	case 2: { /* one-way: victim sends to nobody, or hears nobody */
		bool out = sim_chance(s, 1, 2);
		for (int j = 0; j < s->n; j++)
			if (out)
				s->link[victim][j] = false;
			else
				s->link[j][victim] = false;
		sim_trace(s, "partition: r%d %s (one-way)", victim, out ? "cannot send" : "cannot hear");
		break;
	}
	case 3: { /* the primary cut off from the backups, not from clients */
		int p = sim_primary_guess(s);
		for (int j = 0; j < s->n; j++)
			s->link[p][j] = s->link[j][p] = false;
		sim_trace(s, "partition: primary r%d cut off from backups", p);
		break;
	}
	default: { /* a random split of the replicas into two sides */
		bool side[SIM_REPLICAS_MAX];
		for (int i = 0; i < s->n; i++)
			side[i] = sim_chance(s, 1, 2);
		for (int a = 0; a < s->n; a++)
			for (int b = 0; b < s->n; b++)
				if (side[a] != side[b])
					s->link[a][b] = false;
		sim_trace(s, "partition: split");
		break;
	}
	}
	for (int a = 0; a < SIM_NODES_MAX; a++)
		s->link[a][a] = true;
}

/* A wiped disk is safe only while no other replica is without its state. */
static bool sim_may_wipe(struct sim *s, int i)
{
	if (s->now - s->replica[i].down_since <= 3 * (uint64_t)s->delay_max + 2)
		return false; /* messages of the old incarnation must have drained (VR-PROTOCOL.md §6.2) */
	for (int j = 0; j < s->n; j++) {
		const struct sim_replica *o = &s->replica[j];
		if (j == i)
			continue;
		if (o->disk.lost || o->disk.meta.status == VR_STATUS_RECOVERING)
			return false;
		if (o->up && o->vr.status == VR_STATUS_RECOVERING)
			return false;
	}
	return true;
}

static int sim_down_count(struct sim *s)
{
	int down = 0;
	for (int i = 0; i < s->n; i++)
		down += !s->replica[i].up;
	return down;
}

static void sim_faults(struct sim *s)
{
	if (sim_chance(s, s->partition_per_million, 1000000))
		sim_partition(s);
	for (int i = 0; i < s->n; i++) {
		struct sim_replica *sr = &s->replica[i];
		if (sr->up && sim_chance(s, s->crash_per_million, 1000000)) {
			sim_replica_crash(s, i);
		} else if (!sr->up && s->now >= sr->restart_at) {
			bool wipe = sim_chance(s, s->wipe_permille, 1000) && sim_may_wipe(s, i);
			sim_replica_start(s, i, wipe);
		}
	}
	/* Now and then everybody crashes at once (power loss): nothing acknowledged may be lost. */
	if (sim_chance(s, s->crash_per_million / 20, 1000000) && sim_down_count(s) == 0) {
		sim_trace(s, "power loss: every replica crashes");
		for (int i = 0; i < s->n; i++)
			sim_replica_crash(s, i);
	}
}

static void sim_faults_stop(struct sim *s)
{
	s->faults = false;
	sim_links_heal(s);
	for (int i = 0; i < s->n; i++)
		if (!s->replica[i].up)
			sim_replica_start(s, i, false);
	sim_trace(s, "faults stop");
}

/* ---------------------------------------------------------------- the loop */

static void sim_deliver(struct sim *s)
{
	size_t kept = 0;
	size_t due_count = 0;

	for (size_t i = 0; i < s->net_len; i++)
		if (s->net[i].at <= s->now)
			due_count++;
	if (!due_count)
		return;
	struct sim_packet *due = malloc(due_count * sizeof(*due));
	size_t d = 0;
	for (size_t i = 0; i < s->net_len; i++) {
		if (s->net[i].at <= s->now)
			due[d++] = s->net[i];
		else
			s->net[kept++] = s->net[i];
	}
	s->net_len = kept;
	/* Same-tick deliveries in a random order. */
	for (size_t i = due_count; i > 1; i--) {
		size_t j = sim_below(s, i);
		struct sim_packet t = due[i - 1];
		due[i - 1] = due[j];
		due[j] = t;
	}
	for (size_t i = 0; i < due_count && !s->failed; i++) {
		struct sim_packet *p = &due[i];
		if (p->to < SIM_REPLICAS_MAX) {
			struct sim_replica *sr = &s->replica[p->to];
			if (sr->up && p->from < SIM_REPLICAS_MAX && p->m.epoch < sr->vr.config.epoch) {
				sim_epoch_notice(s, p->to, p->from);
			} else if (sr->up) {
				vr_on_message(&sr->vr, &p->m);
				sim_epoch_after(s, p->to);
			}
		} else {
			vr_client_on_reply(&s->client[p->to - SIM_REPLICAS_MAX].vc, &p->m);
		}
		sim_check_replicas(s);
	}
	for (size_t i = 0; i < due_count; i++)
		free(due[i].data);
	free(due);
}

static void sim_step(struct sim *s)
{
	s->now++;
	if (s->faults)
		sim_faults(s);
	sim_deliver(s);
	for (int i = 0; i < s->n && !s->failed; i++) {
		struct sim_replica *sr = &s->replica[i];
		if (!sr->up)
			continue;
		vr_prepare_flush(&sr->vr); /* the end of a burst: what one tick delivered */
		uint64_t seq = sim_disk_progress(s, &sr->disk);
		if (seq) {
			sim_check_durable(sr);
			vr_on_persisted(&sr->vr, seq);
			sim_epoch_after(s, i);
		}
		/* Clock drift: a slow replica skips ticks, a fast one takes two. */
		uint32_t rate = s->faults ? sr->rate_permille : 1000;
		sr->mono_ns += (uint64_t)rate * 1000;
		int ticks = rate > 1000 ? 1 + sim_chance(s, rate - 1000, 1000) : sim_chance(s, rate, 1000);
		while (ticks-- > 0 && sr->up) {
			vr_on_tick(&sr->vr);
			sim_epoch_after(s, i);
		}
		sim_check_replicas(s);
	}
	for (int j = 0; j < s->clients; j++)
		sim_client_tick(s, &s->client[j]);
	if (!s->failed)
		sim_reads(s);
	if (!s->failed)
		sim_snapshots(s);
}

static bool sim_clients_done(struct sim *s)
{
	for (int j = 0; j < s->clients; j++)
		if (s->client[j].remaining > 0)
			return false;
	return true;
}

/* Converged: every replica NORMAL in one view, commit equal to the primary's op, equal digests. */
static bool sim_converged(struct sim *s)
{
	const struct vr_replica *p = &s->replica[sim_primary_guess(s)].vr;

	for (int i = 0; i < s->n; i++) {
		const struct sim_replica *sr = &s->replica[i];
		if (!sr->up || sr->vr.status != VR_STATUS_NORMAL || sr->vr.view != p->view ||
		    sr->vr.config.epoch != p->config.epoch)
			return false;
		if (sr->vr.commit != p->log.op)
			return false;
		if (!vr_witness(s->witnesses, (uint8_t)i) &&
		    sr->disk.digest != s->replica[sim_primary_guess(s)].disk.digest)
			return false;
	}
	return true;
}

/* With the real applier: every store holds the same filesystem, byte for byte. */
static void sim_check_stores(struct sim *s)
{
	uint8_t first[STORE_DIGEST_SIZE], other[STORE_DIGEST_SIZE];

	int f0 = vr_primary_index(0, (uint8_t)s->n, s->witnesses); /* a full replica */
	struct store_statfs st;

	if (!s->use_store || store_digest(s->replica[f0].disk.store, first))
		return;
	for (int i = 0; i < s->n; i++) {
		if (vr_witness(s->witnesses, (uint8_t)i))
			continue;
		if (store_digest(s->replica[i].disk.store, other) || memcmp(first, other, sizeof(first)))
			sim_fail(s, "S2: the stores of r%d and r%d differ after convergence", f0, i);
	}
	if (!store_statfs(s->replica[f0].disk.store, &st))
		sim_trace(s, "stores equal: %" PRIu64 " inodes, %" PRIu64 " data bytes", st.inodes, st.data_bytes);
}

static void sim_choose_faults(struct sim *s)
{
	static const uint32_t loss[] = { 0, 10, 50, 150 };
	static const uint32_t dup[] = { 0, 20, 100 };
	static const uint32_t delay[] = { 1, 3, 10, 30 };
	static const uint32_t crash[] = { 0, 300, 1500, 4000 };
	static const uint32_t partition[] = { 0, 2000, 8000 };
	static const uint32_t wipe[] = { 0, 300, 700 };
	static const uint32_t latency[] = { 0, 2, 8 };

	s->loss_permille = loss[sim_below(s, 4)];
	s->dup_permille = dup[sim_below(s, 3)];
	s->delay_max = delay[sim_below(s, 4)];
	s->crash_per_million = crash[sim_below(s, 4)];
	s->partition_per_million = partition[sim_below(s, 3)];
	s->wipe_permille = wipe[sim_below(s, 3)];
	s->disk_latency_max = latency[sim_below(s, 3)];
	s->requests_per_client = 10 + (uint32_t)sim_below(s, 30);
	for (int i = 0; i < s->n; i++)
		s->replica[i].rate_permille = 700 + (uint32_t)sim_below(s, 600); /* 0.7x .. 1.3x */
}

/* Runs one seed; returns 0 when every check held. */
static int sim_run(const struct sim_options *opt)
{
	struct sim *s = calloc(1, sizeof(*s));
	int rc;

	if (!s) {
		fprintf(stderr, "vr-sim: out of memory\n");
		return 2;
	}
	sim_current = s;
	s->opt = *opt;
	s->rng = opt->seed * 0x2545f4914f6cdd1dULL + 1;
	s->n = opt->replicas ? opt->replicas : (opt->seed % 2 ? 3 : 5);
	s->use_store = opt->store || opt->seed % 5 == 0;
	s->f = (s->n - 1) / 2;
	s->clients = 2 + (int)sim_below(s, SIM_CLIENTS_MAX - 1);
	s->faults = true;
	sim_map_init(&s->executed, 1 << 14);
	sim_map_init(&s->start_views, 1 << 12);
	sim_links_heal(s);
	sim_choose_faults(s);
	sim_trace(s,
	          "seed %" PRIu64 ": %d replicas, %d clients, loss %u/1000 dup %u/1000 delay<=%u crash %u/1e6 "
	          "partition %u/1e6 wipe %u/1000 disk<=%u",
	          opt->seed, s->n, s->clients, s->loss_permille, s->dup_permille, s->delay_max, s->crash_per_million,
	          s->partition_per_million, s->wipe_permille, s->disk_latency_max);

	uint32_t table = (uint32_t)(s->clients > 2 ? s->clients - 1 : s->clients);
	s->client_table = table;
	/* Checkpoints in two seeds of three: few ops kept, so lagging replicas need checkpoints. */
	if (opt->seed % 3 != 0) {
		s->checkpoint_ops = 3 + (uint32_t)sim_below(s, 20);
		if (opt->seed % 2)
			s->checkpoint_bytes = 256 + sim_below(s, 4096);
	}
	if (opt->seed % 4 == 1)
		s->pipeline_bytes = 32 + sim_below(s, 256);
	/* Batching in half the seeds, from the seed alone (the random stream stays as it was). */
	s->batch_max = opt->batch ? opt->batch : (opt->seed / 2) % 2 ? 2 + (uint32_t)(opt->seed / 4 % 15) : 1;
	sim_trace(s, "batch: up to %u ops per PREPARE", s->batch_max);
	/* Leases in three seeds of four, from the seed: shorter than, as long as, and three times
	 * the liveness timeout (then a view change waits for them). */
	static const int lease_choice[4] = { 0, 20, 40, 120 };
	int lease = opt->lease_ticks >= 0 ? opt->lease_ticks : lease_choice[(opt->seed / 8) % 4];
	s->lease_ns = (uint64_t)lease * 1000000;
	sim_trace(s, "leases: %d ticks", lease);
	s->local_reads = opt->local_reads >= 0 ? opt->local_reads == 1 : (opt->seed / 32) % 2 == 1;
	sim_trace(s, "local reads: %s", s->local_reads ? "yes" : "no");
	s->epochs = opt->epochs >= 0 ? opt->epochs == 1 : (opt->seed / 64) % 2 == 1;
	sim_trace(s, "reconfigurations: %s", s->epochs ? "yes" : "no");
	/* Witnesses in half the seeds, from the seed alone: one of three, one or two of five, at
	 * places the seed picks; some seeds also bound the log window's bytes. */
	if (opt->witnesses >= 0 ? opt->witnesses == 1 : (opt->seed / 128) % 2 == 1) {
		uint64_t h = sim_mix(opt->seed, 0x5157);
		int count = s->n == 3 ? 1 : 1 + (int)(h % 2);
		while (count > 0) {
			h = sim_mix(h, 1);
			uint8_t i = (uint8_t)(h % (uint64_t)s->n);
			if (!vr_witness(s->witnesses, i)) {
				s->witnesses |= (uint16_t)(1u << i);
				count--;
			}
		}
		if ((h >> 8) % 2 && s->checkpoint_ops)
			s->log_bytes_max = 2 * SIM_BODY_MAX + (h >> 16) % 4096;
	}
	sim_trace(s, "witnesses: %#x, log bytes <= %" PRIu64, s->witnesses, s->log_bytes_max);
	/* Parts in half the seeds: a log travels a few entries (and bodies) at a time, so that
	 * every message that carries one is cut and the rest is asked for (§9.4). */
	if (opt->parts >= 0 ? opt->parts == 1 : (opt->seed / 256) % 2 == 1) {
		uint64_t h = sim_mix(opt->seed, 0x9a27);
		s->part_ops = 1 + (uint32_t)(h % 6);
		s->part_bytes = (h >> 8) % 2 ? SIM_BODY_MAX + (h >> 16) % (3 * SIM_BODY_MAX) : 0;
		sim_trace(s, "parts: %u ops, %" PRIu64 " bytes", s->part_ops, s->part_bytes);
		/* A body cache in half of those: a budget of a few bodies, so that most are read back
		 * from the driver and candidate logs are installed from what it kept aside. */
		if (opt->cache >= 0 ? opt->cache == 1 : (opt->seed / 512) % 2 == 1) {
			s->cache_bytes = 1 + (h >> 24) % (4 * SIM_BODY_MAX);
			sim_trace(s, "body cache: %" PRIu64 " bytes", s->cache_bytes);
		}
	}
	for (int i = 0; i < s->n; i++) {
		struct sim_replica *sr = &s->replica[i];
		sr->sim = s;
		sr->index = i;
		sr->disk.clients = calloc(table, sizeof(struct vr_client_slot));
		sim_replica_start(s, i, false);
	}
	for (int j = 0; j < s->clients; j++) {
		struct sim_client *sc = &s->client[j];
		struct vr_client_io io = {
			.ctx = sc, .send = sim_client_send, .done = sim_client_done, .new_client_id = sim_client_new_id
		};
		sc->sim = s;
		sc->index = j;
		sc->remaining = (int)s->requests_per_client;
		vr_client_init(&sc->vc, (uint8_t)s->n, s->witnesses, SIM_BODY_MAX, 25, &io);
	}

	while (!s->failed && s->now < SIM_TICKS_FAULTS)
		sim_step(s);
	if (!s->failed)
		sim_faults_stop(s);
	uint64_t heal = s->now;
	while (!s->failed && s->now - heal < SIM_TICKS_LIVENESS && !(sim_clients_done(s) && sim_converged(s)))
		sim_step(s);
	if (!s->failed && !sim_clients_done(s)) {
		int left = 0;
		for (int j = 0; j < s->clients; j++)
			left += s->client[j].remaining;
		sim_fail(s, "liveness: %d requests not done %d ticks after faults stopped", left, SIM_TICKS_LIVENESS);
	} else if (!s->failed && !sim_converged(s)) {
		sim_fail(s, "liveness: replicas did not converge %d ticks after faults stopped", SIM_TICKS_LIVENESS);
	} else if (!s->failed) {
		sim_check_stores(s);
	}

	uint64_t done = 0;
	for (int j = 0; j < s->clients; j++)
		done += s->client[j].requests_done;
	if (opt->verbose || !s->failed)
		sim_trace(s,
		          "end: %" PRIu64 " requests, %" PRIu64 " reads (%" PRIu64 " begun under a lease, %" PRIu64
		          " local), %" PRIu64 " ops executed, %" PRIu64 " messages",
		          done, s->reads_done, s->lease_reads, s->local_reads_done, s->executed_max, s->messages);
	if ((opt->verbose || !s->failed) && s->cache_bytes)
		sim_trace(s, "body cache: %" PRIu64 " bodies read back, %" PRIu64 " written without their body",
		          s->bodies_read, s->bodies_unstaged);
	if (!opt->quiet)
		printf("seed %" PRIu64 ": %s, %d replicas, trace hash %016" PRIx64 "\n", opt->seed,
		       s->failed ? "FAILED" : "ok", s->n, s->trace_hash);
	rc = s->failed ? 1 : 0;

	for (int i = 0; i < s->n; i++) {
		if (s->replica[i].up)
			vr_deinit(&s->replica[i].vr);
		sim_disk_drop_pending(&s->replica[i].disk);
		free(s->replica[i].disk.queue);
		free(s->replica[i].disk.stage);
		free(s->replica[i].disk.clients);
		store_close(s->replica[i].disk.store);
	}
	for (int j = 0; j < s->clients; j++)
		vr_client_deinit(&s->client[j].vc);
	for (size_t i = 0; i < s->net_len; i++)
		free(s->net[i].data);
	free(s->net);
	sim_map_free(&s->executed);
	sim_map_free(&s->start_views);
	free(s);
	sim_current = NULL;
	return rc;
}

/* ---------------------------------------------------------------- main */

static void sim_on_abort(int sig)
{
	(void)sig;
	if (sim_current) {
		char line[160];
		int len = snprintf(line, sizeof(line),
		                   "seed %" PRIu64
		                   ": VIOLATION: assertion failed (above)\n  reproduce: vr-sim --seed %" PRIu64 " -v\n",
		                   sim_current->opt.seed, sim_current->opt.seed);
		if (write(STDOUT_FILENO, line, (size_t)len) < 0)
			_exit(3);
	}
	signal(SIGABRT, SIG_DFL);
}

static void sim_usage(FILE *out)
{
	fprintf(out, "usage: vr-sim [--seed N | --seeds A-B] [--replicas 3|5] [--store] [--batch N] [--lease-ticks N] "
	             "[--local-reads 0|1] [--epochs 0|1] [--witnesses 0|1] [--parts 0|1] [--cache 0|1] "
	             "[--jobs N] "
	             "[--stop] [-v]\n"
	             "  Simulates a VR cluster under faults and checks its invariants.\n"
	             "  --seed N       run one seed (default 1)\n"
	             "  --seeds A-B    run seeds A..B, print each failing seed, then a summary\n"
	             "  --replicas K   cluster size 3 or 5 (default: odd seeds 3, even seeds 5)\n"
	             "  --store        every seed applies real filesystem ops to SQLite stores\n"
	             "                 (default: seeds divisible by 5)\n"
	             "  --batch N      at most N ops per PREPARE (default: 1 when bit 1 of the seed is\n"
	             "                 clear, else 2..16 from the seed)\n"
	             "  --lease-ticks N  leases of N ticks, 0 for none (default: 0, 20, 40 or 120 by\n"
	             "                 bits 3-4 of the seed; the liveness timeout is 40)\n"
	             "  --local-reads 0|1  half the reads at any replica (default: bit 5 of the seed)\n"
	             "  --epochs 0|1   a client reconfigures now and then: new epochs of the same members\n"
	             "                 (default: bit 6 of the seed)\n"
	             "  --witnesses 0|1  one replica of three, or one or two of five, are witnesses\n"
	             "                 (default: bit 7 of the seed)\n"
	             "  --parts 0|1    logs travel in parts of 1-6 entries (default: bit 8 of the seed)\n"
	             "  --cache 0|1    with parts, bodies are held only up to a few and read back from the\n"
	             "                 disk (default: bit 9 of the seed)\n"
	             "  --jobs N       run N seeds at once (default 1)\n"
	             "  --stop         stop at the first failing seed\n"
	             "  -v             print the trace of a single seed\n"
	             "Exit status: 0 when every seed passed, 1 when any failed, 2 on bad usage.\n");
}

/* The option a switches on or off (0|1, else from the seed), or NULL when a is not one. */
static int *sim_switch(struct sim_options *o, const char *a)
{
	if (!strcmp(a, "--local-reads"))
		return &o->local_reads;
	if (!strcmp(a, "--epochs"))
		return &o->epochs;
	if (!strcmp(a, "--witnesses"))
		return &o->witnesses;
	if (!strcmp(a, "--parts"))
		return &o->parts;
	if (!strcmp(a, "--cache"))
		return &o->cache;
	return NULL;
}

static int sim_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Runs seed in a child so that a crash or an ASSERT in one seed is reported, not fatal. */
static pid_t sim_spawn(const struct sim_options *opt)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGABRT, sim_on_abort);
		exit(sim_run(opt)); /* exit, not _exit: LeakSanitizer checks each seed */
	}
	return pid;
}

static int sim_range(struct sim_options opt, uint64_t first, uint64_t last, int jobs, bool stop)
{
	uint64_t next = first, failed = 0, passed = 0, first_failed = 0;
	pid_t pids[64];
	uint64_t seeds[64];
	int running = 0;

	if (jobs < 1 || jobs > 64)
		jobs = 1;
	while (next <= last || running > 0) {
		while (running < jobs && next <= last && !(stop && failed)) {
			opt.seed = next++;
			pid_t pid = sim_spawn(&opt);
			if (pid < 0) {
				perror("vr-sim: fork");
				return 2;
			}
			pids[running] = pid;
			seeds[running] = opt.seed;
			running++;
		}
		if (running == 0)
			break;
		int status;
		pid_t pid = wait(&status);
		for (int i = 0; i < running; i++) {
			if (pids[i] != pid)
				continue;
			bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
			if (ok) {
				passed++;
			} else {
				if (!failed || seeds[i] < first_failed)
					first_failed = seeds[i];
				failed++;
				if (WIFSIGNALED(status))
					printf("seed %" PRIu64
					       ": VIOLATION: killed by signal %d\n  reproduce: vr-sim --seed %" PRIu64
					       " -v\n",
					       seeds[i], WTERMSIG(status), seeds[i]);
			}
			pids[i] = pids[running - 1];
			seeds[i] = seeds[running - 1];
			running--;
			break;
		}
	}
	printf("vr-sim: seeds %" PRIu64 "-%" PRIu64 ": %" PRIu64 " passed, %" PRIu64 " failed", first, last, passed,
	       failed);
	if (failed)
		printf(" (first failing seed %" PRIu64 ")", first_failed);
	printf("\n");
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct sim_options opt = {
		.seed = 1, .lease_ticks = -1, .local_reads = -1, .epochs = -1, .witnesses = -1, .parts = -1, .cache = -1
	};
	uint64_t first = 0, last = 0;
	bool range = false, stop = false;
	uint64_t jobs = 1;
	int *flag;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			opt.verbose = true;
		} else if (!strcmp(a, "--stop")) {
			stop = true;
		} else if (!strcmp(a, "--store")) {
			opt.store = 1;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			sim_usage(stdout);
			return 0;
		} else if (!strcmp(a, "--seed") && v) {
			if (sim_parse_u64(v, &opt.seed)) {
				fprintf(stderr, "vr-sim: --seed wants a number, not '%s'\n", v);
				return 2;
			}
			i++;
		} else if (!strcmp(a, "--seeds") && v) {
			char buf[64];
			snprintf(buf, sizeof(buf), "%s", v);
			char *dash = strchr(buf, '-');
			if (dash)
				*dash = 0;
			if (!dash || sim_parse_u64(buf, &first) || sim_parse_u64(dash + 1, &last) || first > last) {
				fprintf(stderr, "vr-sim: --seeds wants A-B with A <= B, not '%s'\n", v);
				return 2;
			}
			range = true;
			i++;
		} else if (!strcmp(a, "--replicas") && v) {
			uint64_t k;
			if (sim_parse_u64(v, &k) || (k != 3 && k != 5)) {
				fprintf(stderr, "vr-sim: --replicas wants 3 or 5, not '%s'\n", v);
				return 2;
			}
			opt.replicas = (int)k;
			i++;
		} else if (!strcmp(a, "--batch") && v) {
			uint64_t k;
			if (sim_parse_u64(v, &k) || k < 1 || k > 64) {
				fprintf(stderr, "vr-sim: --batch wants 1..64 ops per PREPARE, not '%s'\n", v);
				return 2;
			}
			opt.batch = (uint32_t)k;
			i++;
		} else if (!strcmp(a, "--lease-ticks") && v) {
			uint64_t k;
			if (sim_parse_u64(v, &k) || k > 1000) {
				fprintf(stderr, "vr-sim: --lease-ticks wants 0..1000 (0: no leases), not '%s'\n", v);
				return 2;
			}
			opt.lease_ticks = (int)k;
			i++;
		} else if (v && (flag = sim_switch(&opt, a))) {
			if (strcmp(v, "0") && strcmp(v, "1")) {
				fprintf(stderr, "vr-sim: %s wants 0 or 1, not '%s'\n", a, v);
				return 2;
			}
			*flag = v[0] - '0';
			i++;
		} else if (!strcmp(a, "--jobs") && v) {
			if (sim_parse_u64(v, &jobs) || jobs < 1 || jobs > 64) {
				fprintf(stderr, "vr-sim: --jobs wants 1..64, not '%s'\n", v);
				return 2;
			}
			i++;
		} else {
			fprintf(stderr, "vr-sim: unknown argument '%s'\n", a);
			sim_usage(stderr);
			return 2;
		}
	}
	if (range) {
		opt.verbose = false;
		opt.quiet = true;
		return sim_range(opt, first, last, (int)jobs, stop);
	}
	signal(SIGABRT, sim_on_abort);
	return sim_run(&opt);
}
