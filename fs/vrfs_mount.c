/*
 * vrfs_mount.c — `vrfs mount`: every kernel request becomes an update (a replicated op,
 * vrfs_client_update) or a read (vrfs_client_read, at the primary behind the read barrier).
 *
 * Cache policy, so that a change acknowledged on one mount is seen by a stat, read or
 * readdir that starts afterwards on any other mount:
 *  - entry and attribute timeouts are 0: every lookup and stat asks the cluster;
 *  - no writeback cache: a write returns once the cluster acknowledged it;
 *  - the page cache is dropped at every open (no keep_cache), and with auto_inval_data and
 *    attributes that expire at once the kernel checks size and mtime before it reads from
 *    cached pages, dropping them when another mount changed the file.
 * default_permissions is always on: the kernel checks modes (the store applies ownership
 * and the suid/sgid rules itself).
 */
#define FUSE_USE_VERSION 312
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <syslog.h>
#include <unistd.h>

#include "fs/vrfs_mount.h"
#include "replication/vrfs_client.h"

#define MOUNT_SESSIONS      8
#define READDIR_ENTRIES_MAX 256

struct mount {
	struct vrfs_client *client;
	struct vrfs_cluster cluster;
	uint32_t timeout_ms;
	uint32_t sessions;
	bool read_local; /* -o read_from=N: reads at replica read_from (§9.8) */
	uint8_t read_from;
	atomic_uint_fast64_t next_handle;
	uint64_t handle_base; /* random high bits: handles differ across mounts */
};

/* Per worker thread: room for one read's answer, freed when the thread ends (libfuse ends
 * idle workers). */
static pthread_key_t buf_key;
static pthread_once_t buf_once = PTHREAD_ONCE_INIT;

static void read_buf_free(void *arg)
{
	struct vrfs_read_buf *b = arg;

	free(b->data);
	free(b->dirents);
	free(b->names);
	free(b);
}

static void read_buf_key(void)
{
	pthread_key_create(&buf_key, read_buf_free);
}

static struct vrfs_read_buf *read_buf(void)
{
	pthread_once(&buf_once, read_buf_key);
	struct vrfs_read_buf *b = pthread_getspecific(buf_key);
	if (b)
		return b;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->data_size = WIRE_READ_DATA_MAX;
	b->data = malloc(b->data_size);
	b->dirents_max = READDIR_ENTRIES_MAX;
	b->dirents = calloc(b->dirents_max, sizeof(*b->dirents));
	b->names = malloc((size_t)b->dirents_max * (WIRE_NAME_MAX + 1));
	if (!b->data || !b->dirents || !b->names) {
		free(b->data);
		free(b->dirents);
		free(b->names);
		free(b);
		return NULL;
	}
	pthread_setspecific(buf_key, b);
	return b;
}

static struct mount *mount_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void attr_to_stat(const struct wire_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_size = (off_t)a->size;
	st->st_blocks = (blkcnt_t)a->blocks;
	st->st_blksize = 4096;
	st->st_atim.tv_sec = a->atime / 1000000000;
	st->st_atim.tv_nsec = a->atime % 1000000000;
	st->st_mtim.tv_sec = a->mtime / 1000000000;
	st->st_mtim.tv_nsec = a->mtime % 1000000000;
	st->st_ctim.tv_sec = a->ctime / 1000000000;
	st->st_ctim.tv_nsec = a->ctime % 1000000000;
}

static void entry_of(const struct wire_attr *a, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = a->ino;
	e->generation = 1; /* inode numbers are never reused */
	attr_to_stat(a, &e->attr);
	e->attr_timeout = 0;
	e->entry_timeout = 0;
}

/* A call's failure to reach the cluster, as an errno for the kernel. */
static int call_errno(int rc)
{
	return rc == -ETIMEDOUT || rc == -ESHUTDOWN ? EIO : -rc;
}

/* One update on behalf of the caller of req. Returns 0 and *res, or a positive errno. */
static int update(fuse_req_t req, struct wire_fs_op *op, struct wire_fs_result *res, int session, int *used)
{
	struct mount *m = mount_of(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	op->uid = ctx->uid;
	op->gid = ctx->gid;
	int rc = vrfs_client_update_at(m->client, session, op, res, used);
	if (rc)
		return call_errno(rc);
	return res->err ? -res->err : 0;
}

static int read_call(fuse_req_t req, const struct wire_read *rd, struct wire_read_result *res)
{
	struct vrfs_read_buf *b = read_buf();

	if (!b)
		return ENOMEM;
	int rc = vrfs_client_read(mount_of(req)->client, rd, b, res);
	if (rc)
		return call_errno(rc);
	return res->err ? -res->err : 0;
}

static void reply_entry_update(fuse_req_t req, struct wire_fs_op *op)
{
	struct wire_fs_result res;
	struct fuse_entry_param e;
	int err = update(req, op, &res, -1, NULL);

	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	entry_of(&res.attr, &e);
	fuse_reply_entry(req, &e);
}

/* ------------------------------------------------------------------ handlers */

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->max_write = WIRE_DATA_MAX;
}

/* The attributes of NAME in directory PARENT, at the primary. */
static int lookup_call(fuse_req_t req, fuse_ino_t parent, const char *name, struct wire_read_result *res)
{
	struct wire_read rd = {
		.type = WIRE_READ_LOOKUP, .ino = parent, .name = name, .name_len = (uint32_t)strlen(name)
	};

	if (rd.name_len > WIRE_NAME_MAX)
		return ENAMETOOLONG;
	return read_call(req, &rd, res);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct wire_read_result res;
	struct fuse_entry_param e;
	int err = lookup_call(req, parent, name, &res);

	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	entry_of(&res.attr, &e);
	fuse_reply_entry(req, &e);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	(void)ino;
	(void)nlookup;
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct wire_read rd = { .type = WIRE_READ_GETATTR, .ino = ino };
	struct wire_read_result res;
	struct stat st;

	(void)fi;
	int err = read_call(req, &rd, &res);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	attr_to_stat(&res.attr, &st);
	fuse_reply_attr(req, &st, 0);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi)
{
	struct wire_fs_op op = { .type = WIRE_FS_SETATTR, .ino = ino };
	struct wire_fs_result res;
	struct stat st;

	(void)fi;
	if (to_set & FUSE_SET_ATTR_MODE) {
		op.valid |= WIRE_SET_MODE;
		op.mode = attr->st_mode;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		op.valid |= WIRE_SET_UID;
		op.set_uid = attr->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		op.valid |= WIRE_SET_GID;
		op.set_gid = attr->st_gid;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		op.valid |= WIRE_SET_SIZE;
		op.size = (uint64_t)attr->st_size;
	}
	if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
		op.valid |= WIRE_SET_ATIME_NOW;
	} else if (to_set & FUSE_SET_ATTR_ATIME) {
		op.valid |= WIRE_SET_ATIME;
		op.atime = (int64_t)attr->st_atim.tv_sec * 1000000000 + attr->st_atim.tv_nsec;
	}
	if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
		op.valid |= WIRE_SET_MTIME_NOW;
	} else if (to_set & FUSE_SET_ATTR_MTIME) {
		op.valid |= WIRE_SET_MTIME;
		op.mtime = (int64_t)attr->st_mtim.tv_sec * 1000000000 + attr->st_mtim.tv_nsec;
	}
	if (to_set & (FUSE_SET_ATTR_KILL_SUID | FUSE_SET_ATTR_KILL_SGID | FUSE_SET_ATTR_KILL_PRIV))
		op.kill_suidgid = true;
	int err = update(req, &op, &res, -1, NULL);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	attr_to_stat(&res.attr, &st);
	fuse_reply_attr(req, &st, 0);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct wire_read rd = { .type = WIRE_READ_READLINK, .ino = ino };
	struct wire_read_result res;
	char target[WIRE_SYMLINK_MAX + 1];

	int err = read_call(req, &rd, &res);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	uint32_t n = res.data_len < WIRE_SYMLINK_MAX ? res.data_len : WIRE_SYMLINK_MAX;
	memcpy(target, res.data, n);
	target[n] = 0;
	fuse_reply_readlink(req, target);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct wire_fs_op op = { .type = WIRE_FS_CREATE,
		                 .parent = parent,
		                 .name = name,
		                 .name_len = (uint32_t)strlen(name),
		                 .mode = mode,
		                 .rdev = rdev };
	reply_entry_update(req, &op);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct wire_fs_op op = {
		.type = WIRE_FS_MKDIR, .parent = parent, .name = name, .name_len = (uint32_t)strlen(name), .mode = mode
	};
	reply_entry_update(req, &op);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct wire_fs_op op = { .type = WIRE_FS_SYMLINK,
		                 .parent = parent,
		                 .name = name,
		                 .name_len = (uint32_t)strlen(name),
		                 .data = (const uint8_t *)link,
		                 .data_len = (uint32_t)strlen(link) };
	reply_entry_update(req, &op);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
	struct wire_fs_op op = {
		.type = WIRE_FS_LINK, .ino = ino, .parent = parent, .name = name, .name_len = (uint32_t)strlen(name)
	};
	reply_entry_update(req, &op);
}

static void op_unlink_like(fuse_req_t req, uint8_t type, fuse_ino_t parent, const char *name)
{
	struct wire_fs_op op = { .type = type, .parent = parent, .name = name, .name_len = (uint32_t)strlen(name) };
	struct wire_fs_result res;

	fuse_reply_err(req, update(req, &op, &res, -1, NULL));
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	op_unlink_like(req, WIRE_FS_UNLINK, parent, name);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	op_unlink_like(req, WIRE_FS_RMDIR, parent, name);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent, const char *newname,
                      unsigned int flags)
{
	struct wire_fs_op op = { .type = WIRE_FS_RENAME,
		                 .parent = parent,
		                 .name = name,
		                 .name_len = (uint32_t)strlen(name),
		                 .new_parent = newparent,
		                 .new_name = newname,
		                 .new_name_len = (uint32_t)strlen(newname),
		                 .flags = flags };
	struct wire_fs_result res;

	fuse_reply_err(req, update(req, &op, &res, -1, NULL));
}

/* An open handle: the session that opened it (RELEASE must use it) and the handle number. */
#define FH_SESSION_SHIFT 56
static uint64_t fh_make(int session, uint64_t handle)
{
	return ((uint64_t)session << FH_SESSION_SHIFT) | (handle & ((1ULL << FH_SESSION_SHIFT) - 1));
}

/* A new handle number of this mount (the store keys handles by session and number). */
static uint64_t handle_new(struct mount *m)
{
	return (m->handle_base | atomic_fetch_add(&m->next_handle, 1)) & ((1ULL << FH_SESSION_SHIFT) - 1);
}

/* Replies to an open or a create whose handle the cluster recorded on session. */
static void reply_opened(fuse_req_t req, struct fuse_file_info *fi, int session, uint64_t handle,
                         const struct wire_attr *created)
{
	fi->fh = fh_make(session, handle);
	fi->keep_cache = 0;
	/* An O_APPEND write must reach the cluster whole, as one append: through the page cache the
	 * kernel splits a write that straddles a page it has not cached into two requests, and
	 * another mount's append could land between them. Direct I/O sends it as one (up to
	 * max_write, 1 MiB). */
	if (fi->flags & O_APPEND)
		fi->direct_io = 1;
	if (created) {
		struct fuse_entry_param e;
		entry_of(created, &e);
		fuse_reply_create(req, &e, fi);
	} else {
		fuse_reply_open(req, fi);
	}
}

static void open_handle(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, const struct wire_attr *created)
{
	uint64_t handle = handle_new(mount_of(req));
	struct wire_fs_op op = { .type = WIRE_FS_OPEN, .ino = ino, .handle = handle };
	struct wire_fs_result res;
	int session = -1;
	int err = update(req, &op, &res, -1, &session);

	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	reply_opened(req, fi, session, handle, created);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	open_handle(req, ino, fi, NULL);
}

/* May the caller open a file with these attributes so? (The kernel did not check: it asked
 * to create the file.) */
static int may_open(fuse_req_t req, const struct wire_attr *a, int flags)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	int acc = flags & O_ACCMODE;
	uint32_t want = (acc == O_RDONLY ? 4u : acc == O_WRONLY ? 2u : 6u) | (flags & O_TRUNC ? 2u : 0u);
	uint32_t bits = a->mode & 7;

	if (S_ISDIR(a->mode))
		return EISDIR;
	if (!S_ISREG(a->mode))
		return EEXIST;
	if (ctx->uid == 0)
		return 0;
	if (ctx->uid == a->uid) {
		bits = (a->mode >> 6) & 7;
	} else {
		gid_t groups[64];
		int n = fuse_req_getgroups(req, 64, groups);
		bool member = ctx->gid == a->gid;
		for (int i = 0; i < n && i < 64 && !member; i++)
			member = groups[i] == a->gid;
		if (member)
			bits = (a->mode >> 3) & 7;
	}
	return (bits & want) == want ? 0 : EACCES;
}

/*
 * open(O_CREAT) without O_EXCL of a name another mount created after this kernel's lookup
 * said it was missing: the CREATE fails with EEXIST, and the file is opened instead, as
 * open(2) does on a local disk (with its permission check, and O_TRUNC).
 */
static void create_found(fuse_req_t req, fuse_ino_t parent, const char *name, struct fuse_file_info *fi)
{
	struct wire_read_result found;
	int err = lookup_call(req, parent, name, &found);

	if (!err)
		err = may_open(req, &found.attr, fi->flags);
	if (!err && (fi->flags & O_TRUNC) && found.attr.size) {
		struct wire_fs_op op = { .type = WIRE_FS_SETATTR, .ino = found.attr.ino, .valid = WIRE_SET_SIZE };
		struct wire_fs_result res;
		err = update(req, &op, &res, -1, NULL);
		if (!err)
			found.attr = res.attr;
	}
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	open_handle(req, found.attr.ino, fi, &found.attr);
}

/* One update makes the file and records the handle (CREATE_OPEN); a name that exists is
 * opened instead, unless O_EXCL. */
static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi)
{
	uint64_t handle = handle_new(mount_of(req));
	struct wire_fs_op op = { .type = WIRE_FS_CREATE_OPEN,
		                 .parent = parent,
		                 .name = name,
		                 .name_len = (uint32_t)strlen(name),
		                 .mode = mode,
		                 .handle = handle };
	struct wire_fs_result res;
	int session = -1;
	int err = update(req, &op, &res, -1, &session);

	if (err == EEXIST && !(fi->flags & O_EXCL)) {
		create_found(req, parent, name, fi);
		return;
	}
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	reply_opened(req, fi, session, handle, &res.attr);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct wire_fs_op op = { .type = WIRE_FS_RELEASE,
		                 .ino = ino,
		                 .handle = fi->fh & ((1ULL << FH_SESSION_SHIFT) - 1) };
	struct wire_fs_result res;

	update(req, &op, &res, (int)(fi->fh >> FH_SESSION_SHIFT), NULL);
	fuse_reply_err(req, 0);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct wire_read rd = { .type = WIRE_READ_READ,
		                .ino = ino,
		                .offset = (uint64_t)off,
		                .size = (uint32_t)(size > WIRE_READ_DATA_MAX ? WIRE_READ_DATA_MAX : size) };
	struct wire_read_result res;

	(void)fi;
	int err = read_call(req, &rd, &res);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fuse_reply_buf(req, (const char *)res.data, res.data_len);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct wire_fs_op op = { .type = WIRE_FS_WRITE,
		                 .ino = ino,
		                 .offset = (uint64_t)off,
		                 .data = (const uint8_t *)buf,
		                 .data_len = (uint32_t)size };
	struct wire_fs_result res;

	/* O_APPEND: the end of the file when the write executes, not the size this kernel saw. */
	if (fi && (fi->flags & O_APPEND))
		op.flags = WIRE_WRITE_APPEND;
	if (size > WIRE_DATA_MAX) {
		fuse_reply_err(req, EFBIG);
		return;
	}
	int err = update(req, &op, &res, -1, NULL);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fuse_reply_write(req, res.written);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0); /* every acknowledged write is durable on a quorum already */
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fi->fh = 0;
	fuse_reply_open(req, fi);
}

/* Offsets: 1 after ".", 2 after "..", then the store's cookies (which are >= 4). */
static void readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
	char *buf = malloc(size);
	size_t used = 0;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	struct stat st = { 0 };
	struct fuse_entry_param e = { 0 };
	/* "." and "..": the kernel takes the type and a nonzero inode number; it does not look them up. */
	st.st_ino = ino;
	st.st_mode = S_IFDIR;
	e.attr = st;
	if (off < 1) {
		size_t n = plus ? fuse_add_direntry_plus(req, buf + used, size - used, ".", &e, 1)
		                : fuse_add_direntry(req, buf + used, size - used, ".", &st, 1);
		if (n > size - used)
			goto out;
		used += n;
		off = 1;
	}
	if (off < 2) {
		size_t n = plus ? fuse_add_direntry_plus(req, buf + used, size - used, "..", &e, 2)
		                : fuse_add_direntry(req, buf + used, size - used, "..", &st, 2);
		if (n > size - used)
			goto out;
		used += n;
		off = 2;
	}
	struct wire_read rd = { .type = WIRE_READ_READDIR,
		                .ino = ino,
		                .cookie = off > 2 ? (uint64_t)off : 0,
		                .size = READDIR_ENTRIES_MAX };
	struct wire_read_result res;
	int err = read_call(req, &rd, &res);
	if (err) {
		free(buf);
		fuse_reply_err(req, err);
		return;
	}
	for (uint32_t i = 0; i < res.dirent_count; i++) {
		const struct wire_dirent *d = &res.dirents[i];
		char name[WIRE_NAME_MAX + 1];
		memcpy(name, d->name, d->name_len);
		name[d->name_len] = 0;
		size_t n;
		if (plus) {
			entry_of(&d->attr, &e);
			n = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, (off_t)d->cookie);
		} else {
			attr_to_stat(&d->attr, &st);
			n = fuse_add_direntry(req, buf + used, size - used, name, &st, (off_t)d->cookie);
		}
		if (n > size - used)
			break; /* the rest comes with the next call, from this cookie */
		used += n;
	}
out:
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	readdir_common(req, ino, size, off, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	readdir_common(req, ino, size, off, true);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct wire_read rd = { .type = WIRE_READ_STATFS };
	struct wire_read_result res;
	struct statvfs sv = { 0 };

	(void)ino;
	int err = read_call(req, &rd, &res);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	/* The cluster has no fixed size: report 1 TiB free above what is stored. */
	sv.f_bsize = sv.f_frsize = 4096;
	uint64_t used = (res.data_bytes + 4095) / 4096, free_blocks = (1ULL << 40) / 4096;
	sv.f_blocks = used + free_blocks;
	sv.f_bfree = sv.f_bavail = free_blocks;
	sv.f_files = res.inodes + (1ULL << 32);
	sv.f_ffree = sv.f_favail = 1ULL << 32;
	sv.f_namemax = WIRE_NAME_MAX;
	fuse_reply_statfs(req, &sv);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size, int flags)
{
	struct wire_fs_op op = { .type = WIRE_FS_SETXATTR,
		                 .ino = ino,
		                 .name = name,
		                 .name_len = (uint32_t)strlen(name),
		                 .data = (const uint8_t *)value,
		                 .data_len = (uint32_t)size,
		                 .flags = (uint32_t)flags };
	struct wire_fs_result res;

	if (size > WIRE_XATTR_VALUE_MAX) {
		fuse_reply_err(req, E2BIG);
		return;
	}
	fuse_reply_err(req, update(req, &op, &res, -1, NULL));
}

static void xattr_reply(fuse_req_t req, size_t size, const struct wire_read_result *res)
{
	if (size == 0)
		fuse_reply_xattr(req, res->len);
	else
		fuse_reply_buf(req, (const char *)res->data, res->data_len);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct wire_read rd = { .type = WIRE_READ_GETXATTR,
		                .ino = ino,
		                .name = name,
		                .name_len = (uint32_t)strlen(name),
		                .size = (uint32_t)(size > WIRE_READ_DATA_MAX ? WIRE_READ_DATA_MAX : size) };
	struct wire_read_result res;

	if (rd.name_len > WIRE_XATTR_NAME_MAX) {
		fuse_reply_err(req, ERANGE);
		return;
	}
	int err = read_call(req, &rd, &res);
	if (err)
		fuse_reply_err(req, err);
	else
		xattr_reply(req, size, &res);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct wire_read rd = { .type = WIRE_READ_LISTXATTR,
		                .ino = ino,
		                .size = (uint32_t)(size > WIRE_READ_DATA_MAX ? WIRE_READ_DATA_MAX : size) };
	struct wire_read_result res;
	int err = read_call(req, &rd, &res);

	if (err)
		fuse_reply_err(req, err);
	else
		xattr_reply(req, size, &res);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct wire_fs_op op = {
		.type = WIRE_FS_REMOVEXATTR, .ino = ino, .name = name, .name_len = (uint32_t)strlen(name)
	};
	struct wire_fs_result res;

	fuse_reply_err(req, update(req, &op, &res, -1, NULL));
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                         struct fuse_file_info *fi)
{
	struct wire_fs_op op = { .type = WIRE_FS_FALLOCATE,
		                 .ino = ino,
		                 .flags = (uint32_t)mode,
		                 .offset = (uint64_t)offset,
		                 .length = (uint64_t)length };
	struct wire_fs_result res;

	(void)fi;
	fuse_reply_err(req, update(req, &op, &res, -1, NULL));
}

static void op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in, struct fuse_file_info *fi_in,
                               fuse_ino_t ino_out, off_t off_out, struct fuse_file_info *fi_out, size_t len, int flags)
{
	struct wire_fs_op op = { .type = WIRE_FS_COPY_RANGE,
		                 .ino = ino_in,
		                 .offset = (uint64_t)off_in,
		                 .target_ino = ino_out,
		                 .target_offset = (uint64_t)off_out,
		                 .length = len };
	struct wire_fs_result res;

	(void)fi_in;
	(void)fi_out;
	if (flags) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	int err = update(req, &op, &res, -1, NULL);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_write(req, res.written);
}

static void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi)
{
	struct wire_read rd = {
		.type = WIRE_READ_LSEEK, .ino = ino, .offset = (uint64_t)off, .whence = (uint8_t)whence
	};
	struct wire_read_result res;

	(void)fi;
	if (whence != SEEK_DATA && whence != SEEK_HOLE) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	int err = read_call(req, &rd, &res);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_lseek(req, (off_t)res.value);
}

static const struct fuse_lowlevel_ops vrfs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.fsyncdir = op_fsync,
	.statfs = op_statfs,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
	.create = op_create,
	.fallocate = op_fallocate,
	.copy_file_range = op_copy_file_range,
	.lseek = op_lseek,
};

/* ------------------------------------------------------------------ main */

static void mount_usage(FILE *f)
{
	fprintf(f, "usage: vrfs mount --cluster HOST:PORT,... [--key-file FILE] MOUNTPOINT [-o OPTIONS] [-f]\n"
	           "\n"
	           "  --cluster LIST    the replicas, as given to vrfsd\n"
	           "  --key-file FILE   the cluster key, if the replicas use one\n"
	           "  -o OPTIONS        timeout=SECONDS (EIO for an operation not answered within that\n"
	           "                    long; default: wait, like an NFS hard mount), sessions=N\n"
	           "                    (updates in flight, default 8), key_file=FILE, read_from=N\n"
	           "                    (reads at replica N of --cluster, 0-based: this mount sees its\n"
	           "                    own writes, but not at once those of other mounts), and FUSE\n"
	           "                    options such as allow_other, ro\n"
	           "\n"
	           "As a mount helper: mount -t fuse.vrfs HOST:PORT,... MOUNTPOINT [-o OPTIONS], or in\n"
	           "/etc/fstab: HOST:PORT,...  /mnt/vrfs  fuse.vrfs  _netdev,allow_other  0 0\n"
	           "  -f                stay in the foreground\n");
}

/* Splits -o options: ours are taken out, the rest go to FUSE. */
/* The last message of libfuse before the mount is up, and after it, libfuse's messages in syslog. */
static char fuse_log_last[256];

static void fuse_log_capture(enum fuse_log_level level, const char *fmt, va_list ap)
{
	static bool line_done = true; /* libfuse writes one line in several calls */
	size_t n;

	(void)level;
	if (line_done)
		fuse_log_last[0] = '\0';
	n = strlen(fuse_log_last);
	vsnprintf(fuse_log_last + n, sizeof(fuse_log_last) - n, fmt, ap);
	n = strlen(fuse_log_last);
	line_done = n > 0 && fuse_log_last[n - 1] == '\n';
	fuse_log_last[strcspn(fuse_log_last, "\n")] = '\0';
	if (!strncmp(fuse_log_last, "fuse: ", 6))
		memmove(fuse_log_last, fuse_log_last + 6, strlen(fuse_log_last + 6) + 1);
}

static void fuse_log_syslog(enum fuse_log_level level, const char *fmt, va_list ap)
{
	vsyslog((int)level, fmt, ap);
}

static int mount_options(struct mount *m, const char *opts, char *fuse_opts, size_t size, const char **key_file)
{
	char *copy = strdup(opts), *save = NULL;

	if (!copy)
		return -1;
	for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		char *end;
		if (!strncmp(o, "timeout=", 8)) {
			long v = strtol(o + 8, &end, 10);
			if (*end || v < 1 || v > 86400) {
				fprintf(stderr, "vrfs mount: -o %s: give seconds, 1..86400\n", o);
				free(copy);
				return -1;
			}
			m->timeout_ms = (uint32_t)v * 1000;
		} else if (!strncmp(o, "key_file=", 9)) {
			*key_file = strdup(o + 9); /* kept for the life of the mount */
		} else if (!strcmp(o, "_netdev") || !strcmp(o, "auto") || !strcmp(o, "noauto") ||
		           !strcmp(o, "defaults") || !strcmp(o, "nofail") || !strncmp(o, "x-", 2)) {
			/* fstab options for mount(8) itself: not for FUSE */
		} else if (!strncmp(o, "sessions=", 9)) {
			long v = strtol(o + 9, &end, 10);
			if (*end || v < 1 || v > 64) {
				fprintf(stderr, "vrfs mount: -o %s: give a number, 1..64\n", o);
				free(copy);
				return -1;
			}
			m->sessions = (uint32_t)v;
		} else if (!strncmp(o, "read_from=", 10)) {
			long v = strtol(o + 10, &end, 10);
			if (*end || !o[10] || v < 0 || v >= VR_REPLICAS_MAX) {
				fprintf(stderr, "vrfs mount: -o %s: give a replica number, 0..%d, in --cluster order\n",
				        o, VR_REPLICAS_MAX - 1);
				free(copy);
				return -1;
			}
			m->read_local = true;
			m->read_from = (uint8_t)v;
		} else {
			size_t n = strlen(fuse_opts);
			if (n + strlen(o) + 2 >= size) {
				free(copy);
				return -1;
			}
			snprintf(fuse_opts + n, size - n, ",%s", o);
		}
	}
	free(copy);
	return 0;
}

int vrfs_mount_main(int argc, char **argv)
{
	static struct mount m;
	const char *list = NULL, *key_file = NULL, *mountpoint = NULL;
	char fuse_opts[1024] = "default_permissions,fsname=vrfs,subtype=vrfs";
	char why[VRFS_WHY_MAX];
	bool foreground = false;
	int rc = 1;

	m.sessions = MOUNT_SESSIONS;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--cluster") && i + 1 < argc) {
			list = argv[++i];
		} else if (!strcmp(a, "--key-file") && i + 1 < argc) {
			key_file = argv[++i];
		} else if (!strcmp(a, "-o") && i + 1 < argc) {
			if (mount_options(&m, argv[++i], fuse_opts, sizeof(fuse_opts), &key_file))
				return 2;
		} else if (!strcmp(a, "-f")) {
			foreground = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			mount_usage(stdout);
			return 0;
		} else if (a[0] == '-') {
			fprintf(stderr, "vrfs mount: unknown option %s (see vrfs mount --help)\n", a);
			return 2;
		} else if (!mountpoint) {
			mountpoint = a;
		} else {
			fprintf(stderr, "vrfs mount: unexpected argument \"%s\" (see vrfs mount --help)\n", a);
			return 2;
		}
	}
	if (!list || !mountpoint) {
		fprintf(stderr, "vrfs mount: --cluster and a mount point are required (see vrfs mount --help)\n");
		return 2;
	}
	struct stat st;
	if (stat(mountpoint, &st) || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "vrfs mount: mount point %s: %s\n", mountpoint,
		        errno ? strerror(errno) : "not a directory");
		return 1;
	}
	if (vrfs_cluster_parse(&m.cluster, list, why, sizeof(why)) ||
	    (key_file && vrfs_cluster_key_file(&m.cluster, key_file, why, sizeof(why)))) {
		fprintf(stderr, "vrfs mount: %s\n", why);
		return 2;
	}
	if (m.read_local && m.read_from >= m.cluster.count) {
		fprintf(stderr, "vrfs mount: -o read_from=%u: the cluster has %u replicas, numbered 0..%u\n",
		        m.read_from, m.cluster.count, m.cluster.count - 1);
		return 2;
	}
	if (m.read_local && vr_witness(m.cluster.witnesses, m.read_from)) {
		fprintf(stderr,
		        "vrfs mount: -o read_from=%u: replica %u is a witness, which keeps no file data: name a full "
		        "replica\n",
		        m.read_from, m.read_from);
		return 2;
	}

	/* The cluster must answer before anything is mounted. */
	struct vrfs_client_config cfg = { .cluster = &m.cluster, .sessions = 1, .timeout_ms = 5000 };
	struct vrfs_client *probe = NULL;
	if (vrfs_client_open(&probe, &cfg, 5000, why, sizeof(why))) {
		fprintf(stderr, "vrfs mount: cannot reach the cluster: %s\n", why);
		return 1;
	}
	vrfs_client_close(probe);

	/* libfuse's own complaint about an option becomes the one line vrfs prints. */
	fuse_set_log_func(fuse_log_capture);
	char *fargv[] = { argv[0], "-o", fuse_opts, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	struct fuse_session *se = fuse_session_new(&args, &vrfs_ops, sizeof(vrfs_ops), &m);
	fuse_opt_free_args(&args); /* the session keeps copies of what it parsed */
	if (!se) {
		fprintf(stderr, "vrfs mount: %s (see vrfs(1) for the options)\n",
		        fuse_log_last[0] ? fuse_log_last : "bad mount options");
		return 2;
	}
	if (fuse_set_signal_handlers(se) || fuse_session_mount(se, mountpoint)) {
		if (fuse_log_last[0])
			fprintf(stderr, "vrfs mount: cannot mount on %s: %s\n", mountpoint, fuse_log_last);
		else
			fprintf(stderr, "vrfs mount: cannot mount on %s (is /dev/fuse there?)\n", mountpoint);
		fuse_session_destroy(se);
		return 1;
	}
	fuse_set_log_func(foreground ? NULL : fuse_log_syslog);
	/* The client's I/O thread starts after the fork of fuse_daemonize. */
	if (fuse_daemonize(foreground)) {
		fuse_session_unmount(se);
		fuse_session_destroy(se);
		return 1;
	}
	cfg.sessions = m.sessions;
	cfg.timeout_ms = m.timeout_ms;
	cfg.read_local = m.read_local;
	cfg.read_from = m.read_from;
	randombytes_buf(&m.handle_base, sizeof(m.handle_base));
	m.handle_base &= ~((1ULL << 40) - 1);
	if (vrfs_client_open(&m.client, &cfg, 30000, why, sizeof(why))) {
		syslog(LOG_ERR, "vrfs mount %s: cannot reach the cluster: %s", mountpoint, why);
		if (foreground)
			fprintf(stderr, "vrfs mount: cannot reach the cluster: %s\n", why);
		fuse_session_unmount(se);
		fuse_session_destroy(se);
		return 1;
	}
	struct fuse_loop_config *lc = fuse_loop_cfg_create();
	fuse_loop_cfg_set_max_threads(lc, 64);
	fuse_loop_cfg_set_idle_threads(lc, 8);
	rc = fuse_session_loop_mt(se, lc) ? 1 : 0;
	fuse_loop_cfg_destroy(lc);
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	vrfs_client_close(m.client);
	return rc;
}
