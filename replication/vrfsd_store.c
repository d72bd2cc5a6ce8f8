/*
 * vrfsd_store.c — the VR core's durable image and state machine on the SQLite store.
 *
 * Log entries and the VR metadata are opaque bytes to the store (state/store.h); their
 * format is fixed here, little-endian:
 *   entry: op, view, client_id, session, request, timestamp, checksum, parent (8 bytes
 *          each), kind (1), body_len (4), body;
 *   meta:  version (1) = 1, view, last_normal_view, dvc_view, dvc_op, dvc_head,
 *          voter_view (8 bytes each), status (1).
 * Bytes read back are checked here (lengths) and by vr_init (checksums, the chain), or here
 * too for entries the core gets without their bodies (a headers-only image, vrfsd_store_image).
 *
 * Body cache (vr.h, config.body_cache_bytes): entries the core keeps aside (STAGE) go to the
 * store's staging table in the same format; an entry written without its body takes it from an
 * earlier row of the same op and checksum, staged or in the log (body_find). The staging table
 * is emptied at every open: the core asks for nothing staged before a restart.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replication/vrfsd_store.h"
#include "state/store.h"
#include "wire/wire_fs.h"
#include "wire/wire_read.h"

#define ENTRY_HEAD   69 /* 8 * 8 + 1 + 4 */
#define META_SIZE    (1 + 6 * 8 + 1)
#define META_VERSION 1

struct vrfsd_store {
	struct store *store;
	int lock_fd; /* DIR/lock, flock()ed while the replica runs */
	bool open_group;
	uint8_t *scratch; /* one encoded entry */
	size_t scratch_cap;
};

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void meta_encode(const struct vr_meta *m, uint8_t out[META_SIZE])
{
	out[0] = META_VERSION;
	put64(out + 1, m->view);
	put64(out + 9, m->last_normal_view);
	put64(out + 17, m->dvc_view);
	put64(out + 25, m->dvc_op);
	put64(out + 33, m->dvc_head);
	put64(out + 41, m->voter_view);
	out[49] = m->status;
}

static int meta_decode(const uint8_t *in, uint32_t len, struct vr_meta *m)
{
	if (len != META_SIZE || in[0] != META_VERSION)
		return -EINVAL;
	m->view = get64(in + 1);
	m->last_normal_view = get64(in + 9);
	m->dvc_view = get64(in + 17);
	m->dvc_op = get64(in + 25);
	m->dvc_head = get64(in + 33);
	m->voter_view = get64(in + 41);
	m->status = in[49];
	return 0;
}

static int body_find(struct vrfsd_store *s, uint64_t op, uint64_t checksum, uint8_t *body, uint32_t len);

/* Encodes e into the scratch buffer (out borrows it). An entry without its body (body NULL,
 * body_len > 0) takes it from its earlier copy: 0, -ENOMEM, or -EIO when there is none. */
static int entry_encode(struct vrfsd_store *s, const struct vr_entry *e, struct store_log_entry *out)
{
	size_t need = ENTRY_HEAD + (size_t)e->body_len;

	if (need > s->scratch_cap) {
		uint8_t *p = realloc(s->scratch, need);
		if (!p)
			return -ENOMEM;
		s->scratch = p;
		s->scratch_cap = need;
	}
	uint8_t *b = s->scratch;
	put64(b, e->op);
	put64(b + 8, e->view);
	put64(b + 16, e->client_id);
	put64(b + 24, e->session);
	put64(b + 32, e->request);
	put64(b + 40, e->timestamp);
	put64(b + 48, e->checksum);
	put64(b + 56, e->parent);
	b[64] = e->kind;
	put32(b + 65, e->body_len);
	if (e->body_len && !e->body) {
		if (body_find(s, e->op, e->checksum, b + ENTRY_HEAD, e->body_len))
			return -EIO; /* the core gave no copy, or the disk lost it: stop */
	} else if (e->body_len) {
		memcpy(b + ENTRY_HEAD, e->body, e->body_len);
	}
	out->op = e->op;
	out->data = b;
	out->len = (uint32_t)need;
	return 0;
}

/* e->body points into in. */
static int entry_decode(const uint8_t *in, uint32_t len, struct vr_entry *e)
{
	if (len < ENTRY_HEAD || get32(in + 65) != len - ENTRY_HEAD)
		return -EINVAL;
	e->op = get64(in);
	e->view = get64(in + 8);
	e->client_id = get64(in + 16);
	e->session = get64(in + 24);
	e->request = get64(in + 32);
	e->timestamp = get64(in + 40);
	e->checksum = get64(in + 48);
	e->parent = get64(in + 56);
	e->kind = in[64];
	e->body_len = len - ENTRY_HEAD;
	e->body = in + ENTRY_HEAD;
	return 0;
}

static const char *const label_cluster = "label.cluster_id";
static const char *const label_replica = "label.replica";
static const char *const label_count = "label.replica_count";

static int group_open(struct vrfsd_store *s, bool durable);

static const char *const label_epoch = "label.epoch";
static const char *const label_epoch_op = "label.epoch_op";
static const char *const label_epoch_head = "label.epoch_head";
static const char *const label_prev_id = "label.prev_cluster_id";
static const char *const label_left = "label.left_at_epoch";
static const char *const label_next_op = "label.reconfigure_op";

static int identity_put(struct store *st, const struct vrfsd_identity *id)
{
	return store_label_put(st, label_cluster, id->cluster_id) || store_label_put(st, label_replica, id->replica) ||
	       store_label_put(st, label_count, id->replica_count);
}

static int epoch_put(struct store *st, const struct vrfsd_epoch *e)
{
	return store_label_put(st, label_epoch, e->epoch) || store_label_put(st, label_epoch_op, e->op) ||
	       store_label_put(st, label_epoch_head, e->head) || store_label_put(st, label_prev_id, e->prev_id) ||
	       store_label_put(st, label_left, e->left) || store_label_put(st, label_next_op, 0);
}

/* A label, 0 when it was never written. */
static int label_or_zero(struct store *st, const char *key, uint64_t *v)
{
	int rc = store_label_get(st, key, v);
	if (rc == -ENOENT) {
		*v = 0;
		return 0;
	}
	return rc;
}

int vrfsd_store_epoch(struct vrfsd_store *s, struct vrfsd_epoch *e)
{
	memset(e, 0, sizeof(*e));
	return label_or_zero(s->store, label_epoch, &e->epoch) || label_or_zero(s->store, label_epoch_op, &e->op) ||
	                       label_or_zero(s->store, label_epoch_head, &e->head) ||
	                       label_or_zero(s->store, label_prev_id, &e->prev_id) ||
	                       label_or_zero(s->store, label_left, &e->left)
	               ? -EIO
	               : 0;
}

uint64_t vrfsd_store_epoch_pending(struct vrfsd_store *s)
{
	uint64_t op = 0;

	return label_or_zero(s->store, label_next_op, &op) ? 0 : op;
}

int vrfsd_store_epoch_begin(struct vrfsd_store *s, const struct vrfsd_identity *id, const struct vrfsd_epoch *e,
                            const struct vr_meta *meta)
{
	uint8_t m[META_SIZE];

	if (group_open(s, true))
		return -EIO;
	if (meta) {
		meta_encode(meta, m);
		if (store_log_write(s->store, UINT64_MAX >> 1, NULL, 0, m, sizeof(m)))
			return -EIO;
	}
	if (identity_put(s->store, id) || epoch_put(s->store, e))
		return -EIO;
	return vrfsd_store_flush(s);
}

int vrfsd_store_open(struct vrfsd_store **out, const char *dir, const struct vrfsd_identity *id, char *why,
                     size_t why_size)
{
	char path[4096];
	struct stat st;
	const char *swhy = NULL;
	int created = 0;
	int rc;

	*out = NULL;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(why, why_size, "cannot create data directory %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		snprintf(why, why_size, "data directory %s is not a directory", dir);
		return -ENOTDIR;
	}
	if (access(dir, R_OK | W_OK | X_OK)) {
		snprintf(why, why_size, "data directory %s is not readable and writable: %s", dir, strerror(errno));
		return -EACCES;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/lock", dir) >= sizeof(path)) {
		snprintf(why, why_size, "data directory path too long");
		return -ENAMETOOLONG;
	}
	/* One replica per directory: two would each believe the disk is theirs. */
	int lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd < 0) {
		snprintf(why, why_size, "cannot create %s: %s", path, strerror(errno));
		return -errno;
	}
	if (flock(lock_fd, LOCK_EX | LOCK_NB)) {
		char pid[32] = "";
		ssize_t n = pread(lock_fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = 0;
		pid[strcspn(pid, "\n")] = 0;
		snprintf(why, why_size, "data directory %s is in use by another vrfsd%s%s%s", dir,
		         pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "");
		close(lock_fd);
		return -EBUSY;
	}
	char mine[32];
	int len = snprintf(mine, sizeof(mine), "%ld\n", (long)getpid());
	if (ftruncate(lock_fd, 0) || pwrite(lock_fd, mine, (size_t)len, 0) != len) {
		/* the pid is only a hint for the message above */
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, VRFSD_STORE_FILE) >= sizeof(path)) {
		snprintf(why, why_size, "data directory path too long");
		close(lock_fd);
		return -ENAMETOOLONG;
	}
	if (stat(path, &st)) {
		if (errno != ENOENT) {
			int e = errno;
			snprintf(why, why_size, "cannot read %s: %s", path, strerror(e));
			close(lock_fd);
			return -e;
		}
		created = 1;
	}

	struct vrfsd_store *s = calloc(1, sizeof(*s));
	if (!s) {
		close(lock_fd);
		return -ENOMEM;
	}
	s->lock_fd = lock_fd;
	mode_t old = umask(077);
	rc = store_open(&s->store, path, 0, &swhy);
	umask(old);
	if (rc) {
		snprintf(why, why_size, "%s: %s", path, swhy ? swhy : strerror(-rc));
		close(lock_fd);
		free(s);
		return rc;
	}
	uint64_t cluster = 0, replica = 0, count = 0;
	int missing = created ? -ENOENT : store_label_get(s->store, label_cluster, &cluster);
	/* New, or created by a start that stopped before it wrote the identity: write it. */
	if (created || (missing == -ENOENT && !vrfsd_store_has_image(s) && store_commit(s->store) == 0)) {
		if (identity_put(s->store, id)) {
			snprintf(why, why_size, "%s: cannot write the replica's identity", path);
			vrfsd_store_close(s);
			return -EIO;
		}
		*out = s;
		return 1;
	}
	if (missing || store_label_get(s->store, label_replica, &replica) ||
	    store_label_get(s->store, label_count, &count)) {
		snprintf(why, why_size, "%s is a vrfs store but not a replica's (no identity): use another --data",
		         path);
		vrfsd_store_close(s);
		return -EINVAL;
	}
	if (cluster != id->cluster_id) {
		snprintf(why, why_size,
		         "%s belongs to another cluster (id %016llx, this --cluster is %016llx): check --cluster and "
		         "--key-file, or use another --data",
		         path, (unsigned long long)cluster, (unsigned long long)id->cluster_id);
		vrfsd_store_close(s);
		return -EXDEV;
	}
	if (replica != id->replica || count != id->replica_count) {
		snprintf(why, why_size,
		         "%s belongs to replica %llu of %llu, not replica %u of %u: check --id, or use another --data",
		         path, (unsigned long long)replica, (unsigned long long)count, id->replica, id->replica_count);
		vrfsd_store_close(s);
		return -EXDEV;
	}
	/* Entries kept aside before a restart are never asked for again (vr.h, VR_WRITE_STAGE). */
	if (store_stage_write(s->store, true, NULL, 0)) {
		snprintf(why, why_size, "%s: cannot empty the staged log entries", path);
		vrfsd_store_close(s);
		return -EIO;
	}
	*out = s;
	return 0;
}

void vrfsd_store_close(struct vrfsd_store *s)
{
	if (!s)
		return;
	store_close(s->store);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->scratch);
	free(s);
}

bool vrfsd_store_has_image(struct vrfsd_store *s)
{
	uint8_t meta[META_SIZE];
	uint32_t len = 0;

	return store_log_meta(s->store, meta, sizeof(meta), &len) == 0;
}

int vrfsd_store_format(struct vrfsd_store *s)
{
	struct vr_meta m = { .status = VR_STATUS_NORMAL };
	uint8_t meta[META_SIZE];

	meta_encode(&m, meta);
	return store_log_write(s->store, 0, NULL, 0, meta, sizeof(meta)) ? -EIO : 0;
}

struct image_load {
	struct vr_entry *log;
	uint64_t first, count, cap;
	bool headers_only;
	int err;
};

static int image_entry(void *arg, const struct store_log_entry *le)
{
	struct image_load *l = arg;
	struct vr_entry e;

	if (l->count == 0)
		l->first = le->op;
	if (entry_decode(le->data, le->len, &e) || e.op != le->op || e.op != l->first + l->count) {
		l->err = -EINVAL;
		return 1;
	}
	if (l->count == l->cap) {
		uint64_t cap = l->cap ? l->cap * 2 : 1024;
		struct vr_entry *p = realloc(l->log, cap * sizeof(*p));
		if (!p) {
			l->err = -ENOMEM;
			return 1;
		}
		l->log = p;
		l->cap = cap;
	}
	if (l->headers_only) {
		/* vr_init cannot check an entry without its body: check it here, while the body is at hand. */
		if (e.checksum != vr_entry_checksum(&e) || (l->count && e.parent != l->log[l->count - 1].checksum)) {
			l->err = -EINVAL;
			return 1;
		}
		if (e.kind != VR_KIND_RECONFIGURE) { /* the core keeps a RECONFIGURE's body (vr.h) */
			e.body = NULL;
			l->log[l->count++] = e;
			return 0;
		}
	}
	uint8_t *body = malloc(e.body_len ? e.body_len : 1);
	if (!body) {
		l->err = -ENOMEM;
		return 1;
	}
	memcpy(body, e.body, e.body_len);
	e.body = body;
	l->log[l->count++] = e;
	return 0;
}

struct image_clients {
	struct vr_client_slot *clients;
	uint32_t count;
	int err;
};

static int image_client(void *arg, const struct store_session_row *row)
{
	struct image_clients *c = arg;

	if (row->slot >= c->count || row->result_len > VR_RESULT_SIZE_MAX) {
		c->err = -EINVAL;
		return 1;
	}
	struct vr_client_slot *slot = &c->clients[row->slot];
	slot->client_id = row->client_id;
	slot->session = row->session;
	slot->request = row->request;
	slot->op = row->op;
	slot->status = row->status;
	slot->result_len = row->result_len;
	if (row->result_len)
		memcpy(slot->result, row->result, row->result_len);
	return 0;
}

int vrfsd_store_image(struct vrfsd_store *s, uint32_t client_table_size, bool headers_only, struct vr_durable *d,
                      char *why, size_t why_size)
{
	uint8_t meta[META_SIZE + 1];
	uint32_t len = 0;
	struct image_load l = { .headers_only = headers_only };
	struct image_clients c = { 0 };

	memset(d, 0, sizeof(*d));
	if (store_log_meta(s->store, meta, sizeof(meta), &len) || meta_decode(meta, len, &d->meta)) {
		snprintf(why, why_size, "the replica's metadata is missing or damaged");
		return -EINVAL;
	}
	if (store_log_read(s->store, 0, image_entry, &l) || l.err) {
		snprintf(why, why_size, "the replica's log is damaged (op %llu)",
		         (unsigned long long)(l.first + l.count));
		d->log = l.log;
		d->first = 1;
		d->op = l.count;
		vrfsd_store_image_free(d);
		return -EINVAL;
	}
	d->log = l.log;
	d->first = l.count ? l.first : 1;
	d->op = l.count ? l.first + l.count - 1 : 0;
	d->commit = store_commit(s->store);
	c.clients = calloc(client_table_size, sizeof(*c.clients));
	c.count = client_table_size;
	d->clients = c.clients;
	d->client_count = client_table_size;
	if (!c.clients || store_sessions_read(s->store, image_client, &c) || c.err) {
		snprintf(why, why_size, "the replica's client table is damaged or larger than %u sessions",
		         client_table_size);
		vrfsd_store_image_free(d);
		return -EINVAL;
	}
	if (d->commit > d->op) {
		snprintf(why, why_size, "the store applied op %llu but the log ends at %llu",
		         (unsigned long long)d->commit, (unsigned long long)d->op);
		vrfsd_store_image_free(d);
		return -EINVAL;
	}
	return 0;
}

void vrfsd_store_image_free(struct vr_durable *d)
{
	/* A headers-only image has NULL bodies: free(NULL) does nothing. */
	for (uint64_t x = 0; d->log && d->op >= d->first && x <= d->op - d->first; x++)
		free((void *)d->log[x].body);
	free((void *)d->log);
	free((void *)d->clients);
	memset(d, 0, sizeof(*d));
}

/*
 * Joins the open group, or opens one. A group that only applies committed ops commits without
 * an fsync: their log entries are durable already (a replica executes only ops it holds
 * durably, or that a quorum holds durably), so power lost before the next durable commit only
 * sets the commit-number back, and the restart executes those ops again from the log. A log
 * write, metadata, labels or a RECONFIGURE make the group durable, and with it every group
 * before it (WAL order).
 */
static int group_open(struct vrfsd_store *s, bool durable)
{
	if (s->open_group) {
		if (durable)
			store_make_durable(s->store);
		return 0;
	}
	if (durable ? store_begin(s->store) : store_begin_lazy(s->store))
		return -EIO;
	s->open_group = true;
	return 0;
}

/* STAGE: the entries go aside, replacing those kept of their ops; op 1 forgets all kept before. */
static int stage_write(struct vrfsd_store *s, const struct vr_write *w)
{
	struct store_log_entry le;
	int rc;

	if (w->op == 1 && store_stage_write(s->store, true, NULL, 0))
		return -EIO;
	for (uint32_t i = 0; i < w->entry_count; i++) {
		if ((rc = entry_encode(s, &w->entries[i], &le)))
			return rc;
		if (store_stage_write(s->store, false, &le, 1))
			return -EIO;
	}
	return 0;
}

int vrfsd_store_persist(struct vrfsd_store *s, const struct vr_write *w)
{
	struct store_log_entry le;
	uint8_t meta[META_SIZE];
	uint64_t keep;
	int rc;

	if (group_open(s, true))
		return -EIO;
	switch (w->kind) {
	case VR_WRITE_META:
		meta_encode(&w->meta, meta);
		return store_log_write(s->store, UINT64_MAX >> 1, NULL, 0, meta, sizeof(meta)) ? -EIO : 0;
	case VR_WRITE_LOG:
		keep = w->entry_count ? w->entries[0].op - 1 : UINT64_MAX >> 1;
		break;
	case VR_WRITE_INSTALL:
		keep = w->op;
		meta_encode(&w->meta, meta);
		break;
	case VR_WRITE_TRUNCATE:
		return store_log_truncate_below(s->store, w->op) ? -EIO : 0;
	case VR_WRITE_STAGE:
		return stage_write(s, w);
	default:
		return -EINVAL;
	}
	/*
	 * One entry at a time through the scratch buffer, each replacing the row of its op, and only
	 * then the rows above the last removed, with the metadata (all in the open group). An entry
	 * without its body may find its copy in the log row it replaces: removing the rows above keep
	 * first, as the write means, would delete that copy before it is read.
	 */
	for (uint32_t i = 0; i < w->entry_count; i++) {
		if (w->entries[i].op != keep + 1 + i)
			return -EINVAL; /* not contiguous: the core's bug */
		if ((rc = entry_encode(s, &w->entries[i], &le)))
			return rc;
		if (store_log_put(s->store, &le))
			return -EIO;
	}
	return store_log_write(s->store, keep + w->entry_count, NULL, 0, w->kind == VR_WRITE_INSTALL ? meta : NULL,
	                       sizeof(meta))
	               ? -EIO
	               : 0;
}

/* What body_find looks for, and where the body goes. */
struct body_want {
	uint64_t checksum;
	uint8_t *body;
	uint32_t len;
};

/* One row of the wanted op: 0 (body copied), -ENOENT (another entry of that op), -EIO (damaged). */
static int body_row(void *arg, const struct store_log_entry *le)
{
	struct body_want *w = arg;
	struct vr_entry e;

	if (entry_decode(le->data, le->len, &e) || e.op != le->op)
		return -EIO;
	if (e.checksum != w->checksum || e.body_len != w->len)
		return -ENOENT;
	/* The header matches; the body itself is checked too, since the core sends and executes it
	 * as read (SQLite keeps no checksum of its pages). */
	if (vr_entry_checksum(&e) != e.checksum)
		return -EIO;
	if (w->len)
		memcpy(w->body, e.body, w->len);
	return 0;
}

/* The body of entry (op, checksum), from the staging table or else the log: 0, -ENOENT, -EIO. */
static int body_find(struct vrfsd_store *s, uint64_t op, uint64_t checksum, uint8_t *body, uint32_t len)
{
	struct body_want w = { .checksum = checksum, .body = body, .len = len };
	int rc = store_stage_get(s->store, op, body_row, &w);

	if (rc == -ENOENT)
		rc = store_log_get(s->store, op, body_row, &w);
	return rc;
}

int vrfsd_store_read_body(struct vrfsd_store *s, uint64_t op, uint64_t checksum, uint8_t *body, uint32_t len)
{
	return body_find(s, op, checksum, body, len);
}

int vrfsd_store_apply(struct vrfsd_store *s, const struct vr_apply *a, uint8_t *result, uint32_t *result_len)
{
	const struct vr_entry *e = a->entry;
	struct wire_fs_op op;
	struct wire_fs_result res;
	const char *why = NULL;
	struct store_apply_ctx ctx = { .op = e->op,
		                       .now = (int64_t)e->timestamp,
		                       .client_id = e->client_id,
		                       .evicted_client = a->evicted_client };
	struct store_session_row row = {
		.slot = a->slot,
		.client_id = e->client_id,
		.session = e->kind == VR_KIND_REGISTER ? e->op : e->session,
		.request = e->request,
		.op = e->op,
		.status = VR_REPLY_OK,
	};
	bool upcall = a->upcall;

	*result_len = 0;
	if (group_open(s, upcall && e->kind == VR_KIND_RECONFIGURE))
		return -EIO;
	if (upcall && e->kind == VR_KIND_RECONFIGURE) {
		/* §10: the configuration is taken up after this transaction (vrfsd), from the entry. */
		if (store_label_put(s->store, label_next_op, e->op) ||
		    store_apply(s->store, &ctx, NULL, a->slot != VR_NONE ? &row : NULL, &res))
			return -EIO;
		return 0;
	}
	if (upcall && wire_fs_op_decode(e->body, e->body_len, &op, &why)) {
		/* The primary checks ops before it logs them (vrfsd); a body that does not
		 * decode here is still executed alike on every replica: as an EINVAL result. */
		upcall = false;
		memset(&res, 0, sizeof(res));
		res.err = -EINVAL;
		struct wire_buf b;
		wire_buf_init(&b);
		if (wire_fs_result_encode(&res, &b) || b.len > VR_RESULT_SIZE_MAX) {
			wire_buf_free(&b);
			return -EIO;
		}
		memcpy(result, b.data, b.len);
		*result_len = (uint32_t)b.len;
		row.result = result;
		row.result_len = *result_len;
		wire_buf_free(&b);
		if (store_apply(s->store, &ctx, NULL, a->slot != VR_NONE ? &row : NULL, &res))
			return -EIO;
		return 0;
	}
	if (store_apply(s->store, &ctx, upcall ? &op : NULL, a->slot != VR_NONE ? &row : NULL, &res))
		return -EIO;
	if (upcall) {
		struct wire_buf b;
		wire_buf_init(&b);
		if (wire_fs_result_encode(&res, &b) || b.len > VR_RESULT_SIZE_MAX) {
			wire_buf_free(&b);
			return -EIO;
		}
		memcpy(result, b.data, b.len);
		*result_len = (uint32_t)b.len;
		wire_buf_free(&b);
	}
	return 0;
}

bool vrfsd_store_pending(const struct vrfsd_store *s)
{
	return s->open_group;
}

int vrfsd_store_flush(struct vrfsd_store *s)
{
	if (!s->open_group)
		return 0;
	s->open_group = false;
	return store_end(s->store) ? -EIO : 0;
}

/* ------------------------------------------------------------------ checkpoints */

/* Removes a database file and its WAL and shared-memory files. */
static void db_files_unlink(const char *path)
{
	char side[4200];

	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-journal", path);
	unlink(side);
}

int vrfsd_store_checkpoint_begin(struct vrfsd_store *s, const char *path, struct store_copy **c, char *why,
                                 size_t why_size)
{
	const char *swhy = NULL;

	db_files_unlink(path);
	mode_t old = umask(077);
	int rc = store_copy_begin(s->store, path, c, &swhy);
	umask(old);
	if (rc)
		snprintf(why, why_size, "cannot copy the store to %s: %s", path, swhy ? swhy : strerror(-rc));
	return rc;
}

int vrfsd_store_checkpoint_step(struct vrfsd_store *s, struct store_copy *c, int pages, char *why, size_t why_size)
{
	const char *swhy = NULL;

	if (s->open_group) {
		snprintf(why, why_size, "checkpoint inside an open group");
		return -EBUSY;
	}
	int rc = store_copy_step(c, pages, &swhy);
	if (rc < 0)
		snprintf(why, why_size, "cannot copy the store: %s", swhy ? swhy : strerror(-rc));
	return rc;
}

int vrfsd_store_checkpoint_end(struct store_copy *c, uint64_t *op, char *why, size_t why_size)
{
	struct store *copy = NULL;
	const char *swhy = NULL;
	int rc = store_copy_end(c, &copy, &swhy);

	if (rc) {
		snprintf(why, why_size, "the copy of the store: %s", swhy ? swhy : strerror(-rc));
		return rc;
	}
	*op = store_commit(copy);
	store_close(copy); /* folds the copy's WAL into the one file that travels */
	return 0;
}

void vrfsd_store_checkpoint_abort(struct store_copy *c, const char *path)
{
	struct store *copy = NULL;
	const char *swhy = NULL;

	if (store_copy_end(c, &copy, &swhy) == 0)
		store_close(copy);
	db_files_unlink(path);
}

struct tail_load {
	uint64_t at;
	uint64_t at_checksum;
	bool have_at;
	struct store_log_entry *rows;
	uint8_t **bufs;
	uint32_t count, cap;
	int err;
};

/* Collects the entry at `at` (its checksum) and, when want_rows, copies of every row above. */
static int tail_row(void *arg, const struct store_log_entry *le)
{
	struct tail_load *t = arg;
	struct vr_entry e;

	if (le->op == t->at) {
		if (entry_decode(le->data, le->len, &e)) {
			t->err = -EINVAL;
			return 1;
		}
		t->at_checksum = e.checksum;
		t->have_at = true;
		return t->rows ? 0 : 1;
	}
	if (le->op < t->at || !t->rows)
		return 0;
	if (t->count == t->cap) {
		t->err = -ENOMEM; /* more than the log window: cannot be */
		return 1;
	}
	uint8_t *b = malloc(le->len ? le->len : 1);
	if (!b) {
		t->err = -ENOMEM;
		return 1;
	}
	memcpy(b, le->data, le->len);
	t->bufs[t->count] = b;
	t->rows[t->count] = (struct store_log_entry){ .op = le->op, .data = b, .len = le->len };
	t->count++;
	return 0;
}

static void tail_free(struct tail_load *t)
{
	for (uint32_t i = 0; i < t->count; i++)
		free(t->bufs[i]);
	free(t->bufs);
	free(t->rows);
}

/* The op of the first entry of a log. */
static int first_row(void *arg, const struct store_log_entry *le)
{
	*(uint64_t *)arg = le->op;
	return 1;
}

int vrfsd_store_install(struct vrfsd_store *s, const char *dir, const char *path, const struct vrfsd_identity *id,
                        uint64_t op, uint64_t view, uint32_t window, const struct vrfsd_epoch *epoch,
                        const struct vr_meta *join_meta, unsigned flags, char *why, size_t why_size)
{
	struct store *snap = NULL;
	const char *swhy = NULL;
	char target[4096];
	uint8_t mbuf[META_SIZE + 1];
	uint32_t mlen = 0;
	struct vr_meta meta = { .status = VR_STATUS_RECOVERING };
	bool stale = false;
	int rc;

	if (s->open_group) {
		snprintf(why, why_size, "install inside an open group");
		return -EBUSY;
	}
	if (store_log_meta(s->store, mbuf, sizeof(mbuf), &mlen) == 0 && meta_decode(mbuf, mlen, &meta)) {
		snprintf(why, why_size, "the replica's metadata is damaged");
		return -EINVAL;
	}
	bool keep = false;
	if (epoch) { /* the caller decided how the replica enters the epoch */
		meta = *join_meta;
	} else {
		keep = vr_snapshot_meta(&meta, view, &stale);
		if (stale)
			return 1;
	}

	if ((rc = store_open(&snap, path, 0, &swhy))) {
		snprintf(why, why_size, "the checkpoint received does not open: %s", swhy ? swhy : strerror(-rc));
		return -EINVAL;
	}
	if (store_commit(snap) != op) {
		snprintf(why, why_size, "the checkpoint received holds op %llu, not %llu",
		         (unsigned long long)store_commit(snap), (unsigned long long)op);
		store_close(snap);
		return -EINVAL;
	}
	/* The giver's entry at op anchors the log; the own entries above it stay where they chain on. */
	struct tail_load theirs = { .at = op };
	struct tail_load own = { .at = op };
	own.cap = window + 1;
	own.rows = calloc(own.cap, sizeof(*own.rows));
	own.bufs = calloc(own.cap, sizeof(*own.bufs));
	if (!own.rows || !own.bufs || store_log_read(snap, op, tail_row, &theirs) || theirs.err || !theirs.have_at ||
	    store_log_read(s->store, op, tail_row, &own) || own.err) {
		snprintf(why, why_size, "the checkpoint received lacks its log entry, or the own log is damaged");
		tail_free(&own);
		store_close(snap);
		return -EINVAL;
	}
	keep = keep && own.have_at && own.at_checksum == theirs.at_checksum;
	/* With witnesses the giver's log window comes along: it reaches back to what every full
	 * replica holds (§9.5), which a witness may fetch from this replica later. */
	uint64_t first = op;
	if ((flags & VRFSD_INSTALL_WINDOW) && (store_log_read(snap, 0, first_row, &first) || first > op))
		first = op;
	if (keep && op + own.count - first >= window)
		keep = false; /* both would not fit the window: the own entries above op go */

	uint8_t m[META_SIZE];
	meta_encode(&meta, m);
	/* The giver's staged entries are of no use here: the core restarts from this store. */
	rc = store_begin(snap) || store_log_truncate_below(snap, first) ||
	     store_log_write(snap, op, keep ? own.rows : NULL, keep ? own.count : 0, m, sizeof(m)) ||
	     store_stage_write(snap, true, NULL, 0) || identity_put(snap, id) || (epoch && epoch_put(snap, epoch)) ||
	     store_end(snap);
	tail_free(&own);
	if (!rc && (flags & VRFSD_INSTALL_WITNESS))
		rc = store_drop_files(snap); /* a witness keeps no file data */
	store_close(snap);
	if (rc) {
		snprintf(why, why_size, "cannot prepare the checkpoint received");
		return -EIO;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd)) {
		if (fd >= 0)
			close(fd);
		snprintf(why, why_size, "cannot sync the checkpoint received");
		return -EIO;
	}
	close(fd);

	/* The swap: one rename; a crash leaves the old store or the new one, whole. */
	snprintf(target, sizeof(target), "%s/%s", dir, VRFSD_STORE_FILE);
	store_close(s->store);
	s->store = NULL;
	if (rename(path, target)) {
		snprintf(why, why_size, "cannot replace %s: %s", target, strerror(errno));
		return -EIO;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	if ((rc = store_open(&s->store, target, 0, &swhy))) {
		snprintf(why, why_size, "%s does not open after the swap: %s", target, swhy ? swhy : strerror(-rc));
		return rc;
	}
	return 0;
}

/* ------------------------------------------------------------------ reads */

struct dir_fill {
	struct vrfsd_store *s;
	struct vrfsd_read_space *sp;
	uint32_t want;
	uint32_t count;
	bool more;
	int err;
};

static int dir_entry(void *arg, const struct store_dirent *e)
{
	struct dir_fill *f = arg;

	if (f->count == f->want) {
		f->more = true;
		return 1;
	}
	struct wire_dirent *d = &f->sp->dirents[f->count];
	char *name = f->sp->names + (size_t)f->count * (WIRE_NAME_MAX + 1);
	memcpy(name, e->name, e->name_len);
	d->name = name;
	d->name_len = e->name_len;
	d->cookie = e->cookie;
	int rc = store_getattr(f->s->store, e->ino, &d->attr);
	if (rc) {
		f->err = rc;
		return 1;
	}
	f->count++;
	return 0;
}

int vrfsd_store_read(struct vrfsd_store *s, const struct wire_read *rd, struct vrfsd_read_space *sp,
                     struct wire_read_result *res)
{
	int rc = 0;

	memset(res, 0, sizeof(*res));
	switch (rd->type) {
	case WIRE_READ_GETATTR:
		rc = store_getattr(s->store, rd->ino, &res->attr);
		break;
	case WIRE_READ_LOOKUP:
		rc = store_lookup(s->store, rd->ino, rd->name, rd->name_len, &res->attr);
		break;
	case WIRE_READ_READDIR: {
		struct dir_fill f = { .s = s, .sp = sp, .want = rd->size };
		if (f.want > WIRE_READ_DIRENTS_MAX)
			f.want = WIRE_READ_DIRENTS_MAX;
		rc = store_readdir(s->store, rd->ino, rd->cookie, dir_entry, &f);
		if (!rc)
			rc = f.err;
		res->dirents = sp->dirents;
		res->dirent_count = f.count;
		res->eof = !f.more;
		break;
	}
	case WIRE_READ_READ: {
		uint32_t got = 0;
		rc = store_read(s->store, rd->ino, rd->offset,
		                rd->size > WIRE_READ_DATA_MAX ? WIRE_READ_DATA_MAX : rd->size, sp->data, &got);
		res->data = sp->data;
		res->data_len = got;
		res->len = got;
		break;
	}
	case WIRE_READ_READLINK: {
		uint32_t len = WIRE_SYMLINK_MAX + 1;
		rc = store_readlink(s->store, rd->ino, (char *)sp->data, &len);
		res->data = sp->data;
		res->data_len = len;
		res->len = len;
		break;
	}
	case WIRE_READ_GETXATTR: {
		uint32_t len = 0;
		rc = store_getxattr(s->store, rd->ino, rd->name, rd->name_len, sp->data, rd->size, &len);
		res->data = sp->data;
		res->data_len = rd->size ? len : 0;
		res->len = len;
		break;
	}
	case WIRE_READ_LISTXATTR: {
		uint32_t len = 0;
		rc = store_listxattr(s->store, rd->ino, (char *)sp->data, rd->size, &len);
		res->data = sp->data;
		res->data_len = rd->size ? len : 0;
		res->len = len;
		break;
	}
	case WIRE_READ_STATFS: {
		struct store_statfs st;
		rc = store_statfs(s->store, &st);
		res->inodes = st.inodes;
		res->data_bytes = st.data_bytes;
		break;
	}
	case WIRE_READ_LSEEK:
		rc = store_lseek(s->store, rd->ino, rd->offset, rd->whence, &res->value);
		break;
	default:
		rc = -EINVAL;
	}
	if (rc) {
		memset(res, 0, sizeof(*res));
		res->err = rc < 0 && rc >= -4095 ? rc : -EIO;
	}
	return 0;
}
