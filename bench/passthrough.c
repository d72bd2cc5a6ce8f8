/*
 * passthrough.c — vrfs-passthrough: a minimal FUSE filesystem on libfuse3's low-level API that
 * passes every request to a backing directory. The bench compares vrfs with it: what any FUSE
 * filesystem costs on this machine, with the mount options and cache policy of `vrfs mount`
 * (entry and attribute timeouts 0, no writeback cache, auto_inval_data, readdirplus, the page
 * cache dropped at every open, max_write 1 MiB).
 *
 *   usage: vrfs-passthrough SOURCE MOUNTPOINT [-f] [-o OPTIONS]
 *   -o cache: entry, attribute and negative-lookup timeouts of 1 s instead of 0.
 *
 * Each kernel inode is a struct pt_inode holding an O_PATH fd of the backing file; its address
 * is the FUSE inode number (FUSE_ROOT_ID for SOURCE). Hard links share one pt_inode, found by
 * (st_dev, st_ino) in a hash table. The kernel may hold more inodes than the process may open
 * files (an untar of /usr/include is 25,000), so past pt_fd_budget the least recently used fds
 * are closed, and reopened from a file handle (open_by_handle_at) when next needed.
 * Invariants, under pt_lock:
 *  1. a pt_inode other than the root is in the table exactly while its lookup count is above 0;
 *  2. every entry the kernel accepts (lookup, create, mknod, mkdir, symlink, link, readdirplus)
 *     adds 1 to the count, and forget subtracts what the kernel says it dropped;
 *  3. an inode's fd stays open, and the inode allocated, while pins > 0; a closed fd (-1) has
 *     a handle to reopen it by;
 *  4. the LRU list holds exactly the inodes with an open fd that could be closed.
 * Runs as root: files are created as the daemon's user, without switching to the caller's.
 */
#define FUSE_USE_VERSION 312
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#define PT_MAX_WRITE   (1 << 20) /* as vrfs (WIRE_DATA_MAX) */
#define PT_BUCKETS_MIN 4096
#define PT_PROC_PATH   32 /* "/proc/self/fd/" and an int */

/* The options of vrfs mount. */
#define PT_DEFAULT_OPTS "default_permissions,fsname=passthrough,subtype=passthrough"

struct pt_inode {
	int fd; /* O_PATH | O_NOFOLLOW, or -1 while closed to stay under pt_fd_budget */
	dev_t dev;
	ino_t ino;
	uint64_t nlookup;
	unsigned int pins;          /* requests using fd now */
	struct file_handle *handle; /* made when fd is first closed */
	struct pt_inode *next;      /* in the hash chain */
	bool in_lru;                /* not when fd is -1, nor when it cannot be reopened */
	struct pt_inode *lru_prev, *lru_next;
};

struct pt_dir {
	DIR *dp;
	off_t offset;         /* the kernel's offset that dp stands at */
	struct dirent *entry; /* read from dp but not sent: it did not fit */
};

static struct pt_inode pt_root;
static struct pt_inode **pt_buckets;
static size_t pt_bucket_count, pt_inode_count;
static struct pt_inode *pt_lru_head, *pt_lru_tail; /* most recently used first */
static size_t pt_fd_count, pt_fd_budget;           /* O_PATH fds of inodes other than the root */
static int pt_mount_fd; /* SOURCE, not O_PATH: open_by_handle_at refuses an O_PATH fd (EBADF) */
static pthread_mutex_t pt_lock = PTHREAD_MUTEX_INITIALIZER;
static double pt_timeout; /* 0, or 1 s with -o cache */

/* ------------------------------------------------------------------ the inode table */

static struct pt_inode *pt_inode_of(fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? &pt_root : (struct pt_inode *)(uintptr_t)ino;
}

static size_t pt_hash(dev_t dev, ino_t ino, size_t bucket_count)
{
	uint64_t h = ((uint64_t)ino ^ ((uint64_t)dev << 40)) * 0x9E3779B97F4A7C15ULL;
	return (size_t)(h >> 20) & (bucket_count - 1);
}

/* Doubles the table when it holds more inodes than buckets; a failed malloc keeps longer chains. */
static void pt_table_grow(void)
{
	size_t count = pt_bucket_count * 2;
	struct pt_inode **b = calloc(count, sizeof(*b));

	if (!b)
		return;
	for (size_t i = 0; i < pt_bucket_count; i++) {
		while (pt_buckets[i]) {
			struct pt_inode *n = pt_buckets[i];
			size_t h = pt_hash(n->dev, n->ino, count);
			pt_buckets[i] = n->next;
			n->next = b[h];
			b[h] = n;
		}
	}
	free(pt_buckets);
	pt_buckets = b;
	pt_bucket_count = count;
}

static void pt_lru_remove(struct pt_inode *n)
{
	if (!n->in_lru)
		return;
	*(n->lru_prev ? &n->lru_prev->lru_next : &pt_lru_head) = n->lru_next;
	*(n->lru_next ? &n->lru_next->lru_prev : &pt_lru_tail) = n->lru_prev;
	n->lru_prev = n->lru_next = NULL;
	n->in_lru = false;
}

static void pt_lru_push(struct pt_inode *n)
{
	n->in_lru = true;
	n->lru_prev = NULL;
	n->lru_next = pt_lru_head;
	*(pt_lru_head ? &pt_lru_head->lru_prev : &pt_lru_tail) = n;
	pt_lru_head = n;
}

/* A handle to reopen n's file by: only for SOURCE's own filesystem, the mount of pt_mount_fd. */
static int pt_handle_make(struct pt_inode *n)
{
	struct file_handle *h = malloc(sizeof(*h) + MAX_HANDLE_SZ);
	int mount_id;

	if (!h)
		return -ENOMEM;
	h->handle_bytes = MAX_HANDLE_SZ;
	if (n->dev != pt_root.dev || name_to_handle_at(n->fd, "", h, &mount_id, AT_EMPTY_PATH)) {
		free(h);
		return -EOPNOTSUPP;
	}
	n->handle = h;
	return 0;
}

/* Closes the least recently used fds, under pt_lock, until the count is back under the budget. */
static void pt_fd_trim(void)
{
	struct pt_inode *n = pt_lru_tail;

	while (n && pt_fd_count > pt_fd_budget) {
		struct pt_inode *prev = n->lru_prev;
		if (!n->pins) {
			pt_lru_remove(n);
			if (n->handle || !pt_handle_make(n)) { /* else it stays open, out of the list */
				close(n->fd);
				n->fd = -1;
				pt_fd_count--;
			}
		}
		n = prev;
	}
}

/* Adopts fd as n's, under pt_lock. */
static void pt_fd_install(struct pt_inode *n, int fd)
{
	n->fd = fd;
	pt_fd_count++;
	pt_lru_push(n);
	pt_fd_trim();
}

/* Takes n, forgotten already, out of the fd count and the LRU list, under pt_lock, to be freed. */
static void pt_inode_unlink(struct pt_inode *n)
{
	if (n->fd >= 0)
		pt_fd_count--;
	pt_lru_remove(n);
}

/* Frees n after pt_inode_unlink. */
static void pt_inode_free(struct pt_inode *n)
{
	if (n->fd >= 0)
		close(n->fd);
	free(n->handle);
	free(n);
}

/* Ends a pt_fd_get that returned fd (nothing to end when it failed). */
static void pt_fd_put(struct pt_inode *n, int fd)
{
	if (n == &pt_root || fd < 0)
		return;
	pthread_mutex_lock(&pt_lock);
	bool gone = --n->pins == 0 && n->nlookup == 0;
	if (gone)
		pt_inode_unlink(n);
	pthread_mutex_unlock(&pt_lock);
	if (gone)
		pt_inode_free(n); /* forgotten while in use */
}

/* n's O_PATH fd, open until pt_fd_put; or -errno (ESTALE: the file is gone). */
static int pt_fd_get(struct pt_inode *n)
{
	if (n == &pt_root)
		return pt_root.fd;
	pthread_mutex_lock(&pt_lock);
	n->pins++;
	int fd = n->fd;
	if (n->in_lru) {
		pt_lru_remove(n);
		pt_lru_push(n);
	}
	pthread_mutex_unlock(&pt_lock);
	if (fd >= 0)
		return fd;

	/* The handle is set before the fd is first closed, and the pin keeps n alive. */
	fd = open_by_handle_at(pt_mount_fd, n->handle, O_PATH);
	if (fd < 0) {
		fd = -errno;
		pt_fd_put(n, 0);
		return fd;
	}
	pthread_mutex_lock(&pt_lock);
	if (n->fd >= 0) {
		close(fd); /* another request reopened it first */
		fd = n->fd;
	} else {
		pt_fd_install(n, fd);
	}
	pthread_mutex_unlock(&pt_lock);
	return fd;
}

/* The inode of the backing file open at fd (taken: kept or closed), its count raised by 1. */
static struct pt_inode *pt_inode_get(int fd, const struct stat *st)
{
	pthread_mutex_lock(&pt_lock);
	struct pt_inode **b = &pt_buckets[pt_hash(st->st_dev, st->st_ino, pt_bucket_count)];
	struct pt_inode *n = *b;
	while (n && (n->dev != st->st_dev || n->ino != st->st_ino))
		n = n->next;
	if (n) {
		n->nlookup++;
		if (n->fd < 0) {
			pt_fd_install(n, fd); /* saves a reopen by handle */
			fd = -1;
		}
	} else if ((n = calloc(1, sizeof(*n)))) {
		*n = (struct pt_inode){ .dev = st->st_dev, .ino = st->st_ino, .nlookup = 1, .next = *b };
		*b = n;
		pt_fd_install(n, fd);
		fd = -1;
		if (++pt_inode_count > pt_bucket_count)
			pt_table_grow();
	}
	pthread_mutex_unlock(&pt_lock);
	if (fd >= 0)
		close(fd); /* a name seen twice, or a hard link: the inode has its fd */
	return n;
}

static void pt_forget_one(fuse_ino_t ino, uint64_t nlookup)
{
	struct pt_inode *n = pt_inode_of(ino);

	if (n == &pt_root)
		return; /* never in the table; SOURCE stays open for the life of the mount */
	pthread_mutex_lock(&pt_lock);
	if (nlookup > n->nlookup) {
		fprintf(stderr, "vrfs-passthrough: forget of more lookups than given\n");
		abort();
	}
	n->nlookup -= nlookup;
	bool gone = n->nlookup == 0;
	if (gone) {
		struct pt_inode **p = &pt_buckets[pt_hash(n->dev, n->ino, pt_bucket_count)];
		while (*p != n)
			p = &(*p)->next;
		*p = n->next;
		pt_inode_count--;
		/* A request the caller abandoned (a fatal signal) may still use it: the last pt_fd_put frees. */
		gone = !n->pins;
		if (gone)
			pt_inode_unlink(n);
	}
	pthread_mutex_unlock(&pt_lock);
	if (gone)
		pt_inode_free(n);
}

/* ------------------------------------------------------------------ helpers */

/* Operations that take a path but no O_PATH fd reach the file through its magic link. */
static void pt_proc_path(int fd, char path[PT_PROC_PATH])
{
	snprintf(path, PT_PROC_PATH, "/proc/self/fd/%d", fd);
}

/* n's attributes; fd, when not -1, is a file open on n (the kernel passes one for regular files). */
static int pt_stat(struct pt_inode *n, int fd, struct stat *st)
{
	if (fd >= 0)
		return fstat(fd, st) ? -errno : 0;
	fd = pt_fd_get(n);
	if (fd < 0)
		return fd;
	int err = fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) ? -errno : 0;
	pt_fd_put(n, fd);
	return err;
}

/* Looks NAME up in PARENT: 0 and *e with the count of e->ino raised, or -errno (e zeroed). */
static int pt_lookup_entry(fuse_ino_t parent, const char *name, struct fuse_entry_param *e)
{
	struct pt_inode *p = pt_inode_of(parent);
	int pfd = pt_fd_get(p);

	memset(e, 0, sizeof(*e));
	if (pfd < 0)
		return pfd;
	int fd = openat(pfd, name, O_PATH | O_NOFOLLOW);
	int err = fd < 0 ? -errno : 0;
	pt_fd_put(p, pfd);
	if (err)
		return err;
	if (fstatat(fd, "", &e->attr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) {
		err = -errno;
		close(fd);
		return err;
	}
	struct pt_inode *n = pt_inode_get(fd, &e->attr);
	if (!n)
		return -ENOMEM;
	e->ino = (uintptr_t)n;
	e->attr_timeout = pt_timeout;
	e->entry_timeout = pt_timeout;
	return 0;
}

/* 0, or -errno after a call that returned -1. */
static int pt_res(long res)
{
	return res < 0 ? -errno : 0;
}

static void pt_reply_status(fuse_req_t req, int res)
{
	fuse_reply_err(req, res ? errno : 0);
}

/* The reply to mknod, mkdir, symlink and link: err from the call that made NAME, or its entry. */
static void pt_reply_made(fuse_req_t req, fuse_ino_t parent, const char *name, int err)
{
	struct fuse_entry_param e;

	if (!err)
		err = pt_lookup_entry(parent, name, &e);
	if (err)
		fuse_reply_err(req, -err);
	else if (fuse_reply_entry(req, &e))
		pt_forget_one(e.ino, 1); /* the request was interrupted: the kernel never saw it */
}

static void pt_reply_attr(fuse_req_t req, struct pt_inode *n, int fd)
{
	struct stat st;
	int err = pt_stat(n, fd, &st);

	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, &st, pt_timeout);
}

/* ------------------------------------------------------------------ handlers */

static void pt_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* The choices of fs/vrfs_mount.c, so that the two differ only behind the kernel. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* vrfs reads requests with read(2) (it has no write_buf); so does this, for the same transport. */
	conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->max_write = PT_MAX_WRITE;
}

static void pt_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int err = pt_lookup_entry(parent, name, &e);

	if (err == -ENOENT && pt_timeout > 0) {
		e.entry_timeout = pt_timeout; /* ino 0: the kernel caches the absence */
		fuse_reply_entry(req, &e);
	} else if (err) {
		fuse_reply_err(req, -err);
	} else if (fuse_reply_entry(req, &e)) {
		pt_forget_one(e.ino, 1);
	}
}

static void pt_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	pt_forget_one(ino, nlookup);
	fuse_reply_none(req);
}

static void pt_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		pt_forget_one(forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void pt_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	pt_reply_attr(req, pt_inode_of(ino), fi ? (int)fi->fh : -1);
}

/* The changes of one setattr, in the order chmod, chown, truncate, utimes, through fd when it is
 * an open file (is_open) or else through path, the magic link of the O_PATH fd. */
static int pt_setattr_apply(int fd, bool is_open, const struct stat *attr, int valid)
{
	char path[PT_PROC_PATH];
	int res = 0;

	pt_proc_path(fd, path);
	if (valid & FUSE_SET_ATTR_MODE)
		res = is_open ? fchmod(fd, attr->st_mode) : chmod(path, attr->st_mode);
	if (!res && (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))) {
		uid_t uid = valid & FUSE_SET_ATTR_UID ? attr->st_uid : (uid_t)-1;
		gid_t gid = valid & FUSE_SET_ATTR_GID ? attr->st_gid : (gid_t)-1;
		res = fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	}
	if (!res && (valid & FUSE_SET_ATTR_SIZE))
		res = is_open ? ftruncate(fd, attr->st_size) : truncate(path, attr->st_size);
	if (!res && (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME))) {
		struct timespec tv[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };
		if (valid & FUSE_SET_ATTR_ATIME_NOW)
			tv[0].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_ATIME)
			tv[0] = attr->st_atim;
		if (valid & FUSE_SET_ATTR_MTIME_NOW)
			tv[1].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_MTIME)
			tv[1] = attr->st_mtim;
		/* The magic link stops at a symlink itself: `touch -h` sets the link's times. */
		res = is_open ? futimens(fd, tv) : utimensat(AT_FDCWD, path, tv, 0);
	}
	return pt_res(res);
}

/* fi, when given, is a regular file open for writing (ftruncate, or open with O_TRUNC). */
static void pt_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid, struct fuse_file_info *fi)
{
	struct pt_inode *n = pt_inode_of(ino);
	int fd = fi ? (int)fi->fh : pt_fd_get(n);
	int err = fd < 0 ? fd : pt_setattr_apply(fd, fi != NULL, attr, valid);

	if (!fi)
		pt_fd_put(n, fd);
	if (err)
		fuse_reply_err(req, -err);
	else
		pt_reply_attr(req, n, fi ? (int)fi->fh : -1);
}

static void pt_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct pt_inode *n = pt_inode_of(ino);
	char buf[PATH_MAX + 1];
	int fd = pt_fd_get(n);
	ssize_t len = -1;
	int err = fd;

	if (fd >= 0) {
		len = readlinkat(fd, "", buf, sizeof(buf));
		err = len < 0 ? -errno : (size_t)len == sizeof(buf) ? -ENAMETOOLONG : 0;
	}
	pt_fd_put(n, fd);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	buf[len] = 0;
	fuse_reply_readlink(req, buf);
}

static void pt_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct pt_inode *p = pt_inode_of(parent);
	int fd = pt_fd_get(p);
	int err = fd < 0 ? fd : pt_res(mknodat(fd, name, mode, rdev));

	pt_fd_put(p, fd);
	pt_reply_made(req, parent, name, err);
}

static void pt_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct pt_inode *p = pt_inode_of(parent);
	int fd = pt_fd_get(p);
	int err = fd < 0 ? fd : pt_res(mkdirat(fd, name, mode));

	pt_fd_put(p, fd);
	pt_reply_made(req, parent, name, err);
}

static void pt_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct pt_inode *p = pt_inode_of(parent);
	int fd = pt_fd_get(p);
	int err = fd < 0 ? fd : pt_res(symlinkat(link, fd, name));

	pt_fd_put(p, fd);
	pt_reply_made(req, parent, name, err);
}

static void pt_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct pt_inode *n = pt_inode_of(ino), *p = pt_inode_of(newparent);
	int fd = pt_fd_get(n), pfd = pt_fd_get(p);
	char path[PT_PROC_PATH];
	int err = fd < 0 ? fd : pfd < 0 ? pfd : 0;

	/* Through the magic link: linkat with AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH. */
	if (!err) {
		pt_proc_path(fd, path);
		err = pt_res(linkat(AT_FDCWD, path, pfd, newname, AT_SYMLINK_FOLLOW));
	}
	pt_fd_put(n, fd);
	pt_fd_put(p, pfd);
	pt_reply_made(req, newparent, newname, err);
}

static void pt_unlink_common(fuse_req_t req, fuse_ino_t parent, const char *name, int flags)
{
	struct pt_inode *p = pt_inode_of(parent);
	int fd = pt_fd_get(p);
	int err = fd < 0 ? fd : pt_res(unlinkat(fd, name, flags));

	pt_fd_put(p, fd);
	fuse_reply_err(req, -err);
}

static void pt_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	pt_unlink_common(req, parent, name, 0);
}

static void pt_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	pt_unlink_common(req, parent, name, AT_REMOVEDIR);
}

static void pt_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent, const char *newname,
                      unsigned int flags)
{
	struct pt_inode *p = pt_inode_of(parent), *np = pt_inode_of(newparent);
	int fd = pt_fd_get(p), nfd = pt_fd_get(np);
	int err = fd < 0 ? fd : nfd < 0 ? nfd : pt_res(renameat2(fd, name, nfd, newname, flags));

	pt_fd_put(p, fd);
	pt_fd_put(np, nfd);
	fuse_reply_err(req, -err);
}

static void pt_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct pt_inode *n = pt_inode_of(ino);
	int pfd = pt_fd_get(n), fd = pfd;
	char path[PT_PROC_PATH];

	/* The kernel has already taken O_CREAT and O_EXCL out; O_TRUNC it leaves to us. */
	if (pfd >= 0) {
		pt_proc_path(pfd, path);
		fd = open(path, fi->flags & ~O_NOFOLLOW);
		if (fd < 0)
			fd = -errno;
	}
	pt_fd_put(n, pfd);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	fi->fh = (uint64_t)fd;
	fi->keep_cache = 0; /* as vrfs: the page cache is dropped at every open */
	if (fuse_reply_open(req, fi))
		close(fd); /* the request was interrupted: no release will come */
}

static void pt_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi)
{
	struct pt_inode *p = pt_inode_of(parent);
	struct fuse_entry_param e;
	int pfd = pt_fd_get(p), fd = pfd;

	if (pfd >= 0) {
		fd = openat(pfd, name, (fi->flags | O_CREAT) & ~O_NOFOLLOW, mode);
		if (fd < 0)
			fd = -errno;
	}
	pt_fd_put(p, pfd);
	int err = fd < 0 ? fd : pt_lookup_entry(parent, name, &e);
	if (err) {
		if (fd >= 0)
			close(fd);
		fuse_reply_err(req, -err);
		return;
	}
	fi->fh = (uint64_t)fd;
	fi->keep_cache = 0;
	if (fuse_reply_create(req, &e, fi)) {
		close(fd);
		pt_forget_one(e.ino, 1);
	}
}

/* libfuse preads into memory (splicing is off, see pt_init). */
static void pt_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);

	(void)ino;
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = (int)fi->fh;
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, 0);
}

static void pt_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in, off_t off, struct fuse_file_info *fi)
{
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));

	(void)ino;
	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = (int)fi->fh;
	out.buf[0].pos = off;
	/* An O_APPEND file ignores off: the data goes to the backing file's end, as on a local disk. */
	ssize_t n = fuse_buf_copy(&out, in, 0);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

/* flush is close(2) of one of the caller's descriptors: close one of ours the same way. */
static void pt_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	int fd = dup((int)fi->fh);
	pt_reply_status(req, fd < 0 ? -1 : close(fd));
}

static void pt_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	close((int)fi->fh);
	fuse_reply_err(req, 0);
}

static void pt_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino;
	pt_reply_status(req, datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh));
}

static void pt_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                         struct fuse_file_info *fi)
{
	(void)ino;
	pt_reply_status(req, fallocate((int)fi->fh, mode, offset, length));
}

static void pt_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in, struct fuse_file_info *fi_in,
                               fuse_ino_t ino_out, off_t off_out, struct fuse_file_info *fi_out, size_t len, int flags)
{
	(void)ino_in;
	(void)ino_out;
	ssize_t n = copy_file_range((int)fi_in->fh, &off_in, (int)fi_out->fh, &off_out, len, (unsigned int)flags);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, (size_t)n);
}

/* Only SEEK_DATA and SEEK_HOLE come here; every read and write gives its own offset. */
static void pt_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi)
{
	(void)ino;
	off_t res = lseek((int)fi->fh, off, whence);
	if (res < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_lseek(req, res);
}

static struct pt_dir *pt_dir_of(struct fuse_file_info *fi)
{
	return (struct pt_dir *)(uintptr_t)fi->fh;
}

static void pt_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct pt_inode *n = pt_inode_of(ino);
	struct pt_dir *d = calloc(1, sizeof(*d));
	int pfd = pt_fd_get(n), fd = pfd;

	/* An O_PATH fd cannot be read: open the directory again, through itself. */
	if (pfd >= 0) {
		fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY);
		if (fd < 0)
			fd = -errno;
	}
	pt_fd_put(n, pfd);
	if (fd >= 0 && d && !(d->dp = fdopendir(fd))) {
		int err = -errno;
		close(fd);
		fd = err;
	}
	if (fd < 0 || !d) {
		if (fd >= 0)
			close(fd);
		free(d);
		fuse_reply_err(req, d ? -fd : ENOMEM);
		return;
	}
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi)) {
		closedir(d->dp);
		free(d);
	}
}

/*
 * Offsets are the backing directory's d_off cookies. The kernel serialises readdir on one open
 * directory (f_pos_lock), so a pt_dir needs no lock of its own.
 */
static void pt_readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi,
                              bool plus)
{
	struct pt_dir *d = pt_dir_of(fi);
	char *buf = malloc(size);
	size_t used = 0;
	int err = 0;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (off != d->offset) {
		seekdir(d->dp, off);
		d->entry = NULL;
		d->offset = off;
	}
	for (;;) {
		if (!d->entry) {
			errno = 0;
			d->entry = readdir(d->dp);
			if (!d->entry) {
				err = errno;
				break;
			}
		}
		const char *name = d->entry->d_name;
		off_t next = d->entry->d_off;
		bool dots = !strcmp(name, ".") || !strcmp(name, "..");
		struct fuse_entry_param e = { 0 };
		size_t n;
		/* "." and "..", and a name gone since readdir saw it, go without a node (ino 0): the
		 * kernel takes no reference to them. */
		if (!plus || dots || pt_lookup_entry(ino, name, &e)) {
			e.attr.st_ino = d->entry->d_ino;
			e.attr.st_mode = (mode_t)d->entry->d_type << 12;
		}
		if (plus) {
			n = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, next);
			if (n > size - used && e.ino)
				pt_forget_one(e.ino, 1); /* not sent: the kernel will not forget it */
		} else {
			n = fuse_add_direntry(req, buf + used, size - used, name, &e.attr, next);
		}
		if (n > size - used)
			break; /* d->entry waits for the next call */
		used += n;
		d->entry = NULL;
		d->offset = next;
	}
	if (err && !used)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

static void pt_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	pt_readdir_common(req, ino, size, off, fi, false);
}

static void pt_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	pt_readdir_common(req, ino, size, off, fi, true);
}

static void pt_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct pt_dir *d = pt_dir_of(fi);

	(void)ino;
	closedir(d->dp);
	free(d);
	fuse_reply_err(req, 0);
}

static void pt_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	int fd = dirfd(pt_dir_of(fi)->dp);

	(void)ino;
	pt_reply_status(req, datasync ? fdatasync(fd) : fsync(fd));
}

static void pt_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct pt_inode *n = pt_inode_of(ino);
	struct statvfs sv;
	int fd = pt_fd_get(n);
	int err = fd < 0 ? fd : pt_res(fstatvfs(fd, &sv));

	pt_fd_put(n, fd);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_statfs(req, &sv);
}

/*
 * Extended attributes, through the magic link (which ends at a symlink itself). vrfs answers
 * getxattr, so the kernel asks both filesystems the same questions (security.capability on
 * writes) instead of stopping at a first ENOSYS here.
 */
enum pt_xattr_op { PT_XATTR_GET, PT_XATTR_LIST, PT_XATTR_SET, PT_XATTR_REMOVE };

static void pt_xattr(fuse_req_t req, fuse_ino_t ino, enum pt_xattr_op op, const char *name, const char *value,
                     size_t size, int flags)
{
	struct pt_inode *n = pt_inode_of(ino);
	bool reads = op == PT_XATTR_GET || op == PT_XATTR_LIST;
	char *buf = reads && size ? malloc(size) : NULL;
	char path[PT_PROC_PATH];
	ssize_t len = -ENOMEM;
	int fd = -1;

	if (!reads || !size || buf)
		len = fd = pt_fd_get(n);
	if (fd >= 0) {
		pt_proc_path(fd, path);
		if (op == PT_XATTR_GET)
			len = getxattr(path, name, buf, size);
		else if (op == PT_XATTR_LIST)
			len = listxattr(path, buf, size);
		else if (op == PT_XATTR_SET)
			len = setxattr(path, name, value, size, flags);
		else
			len = removexattr(path, name);
		if (len < 0)
			len = -errno;
	}
	pt_fd_put(n, fd);
	if (len < 0)
		fuse_reply_err(req, (int)-len);
	else if (!reads)
		fuse_reply_err(req, 0);
	else if (!size)
		fuse_reply_xattr(req, (size_t)len); /* the caller asks how much room to make */
	else
		fuse_reply_buf(req, buf, (size_t)len);
	free(buf);
}

static void pt_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size, int flags)
{
	pt_xattr(req, ino, PT_XATTR_SET, name, value, size, flags);
}

static void pt_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	pt_xattr(req, ino, PT_XATTR_GET, name, NULL, size, 0);
}

static void pt_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	pt_xattr(req, ino, PT_XATTR_LIST, NULL, NULL, size, 0);
}

static void pt_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	pt_xattr(req, ino, PT_XATTR_REMOVE, name, NULL, 0, 0);
}

static const struct fuse_lowlevel_ops pt_ops = {
	.init = pt_init,
	.lookup = pt_lookup,
	.forget = pt_forget,
	.forget_multi = pt_forget_multi,
	.getattr = pt_getattr,
	.setattr = pt_setattr,
	.readlink = pt_readlink,
	.mknod = pt_mknod,
	.mkdir = pt_mkdir,
	.symlink = pt_symlink,
	.link = pt_link,
	.unlink = pt_unlink,
	.rmdir = pt_rmdir,
	.rename = pt_rename,
	.open = pt_open,
	.create = pt_create,
	.read = pt_read,
	.write_buf = pt_write_buf,
	.flush = pt_flush,
	.release = pt_release,
	.fsync = pt_fsync,
	.fallocate = pt_fallocate,
	.copy_file_range = pt_copy_file_range,
	.lseek = pt_lseek,
	.opendir = pt_opendir,
	.readdir = pt_readdir,
	.readdirplus = pt_readdirplus,
	.releasedir = pt_releasedir,
	.fsyncdir = pt_fsyncdir,
	.statfs = pt_statfs,
	.setxattr = pt_setxattr,
	.getxattr = pt_getxattr,
	.listxattr = pt_listxattr,
	.removexattr = pt_removexattr,
};

/* ------------------------------------------------------------------ main */

static void pt_usage(FILE *f)
{
	fprintf(f, "usage: vrfs-passthrough SOURCE MOUNTPOINT [-f] [-o OPTIONS]\n"
	           "  -f          stay in the foreground\n"
	           "  -o cache    entry and attribute timeouts of 1 s (default 0, as vrfs)\n"
	           "  -o OPT,...  other options go to FUSE, after " PT_DEFAULT_OPTS "\n");
}

/* "cache" is ours; the rest is appended to the FUSE options. */
static int pt_options(const char *opts, char *fuse_opts, size_t size)
{
	char *copy = strdup(opts), *save = NULL;

	if (!copy)
		return -ENOMEM;
	for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		size_t n = strlen(fuse_opts);
		if (!strcmp(o, "cache")) {
			pt_timeout = 1.0;
		} else if (n + strlen(o) + 2 > size) {
			free(copy);
			return -E2BIG;
		} else {
			snprintf(fuse_opts + n, size - n, ",%s", o);
		}
	}
	free(copy);
	return 0;
}

/*
 * Sets pt_fd_budget, the O_PATH fds kept open: three quarters of the most the process may open
 * (raised to the hard limit first), the rest for the files and directories the kernel opens.
 */
static void pt_fd_limit(void)
{
	struct rlimit rl = { 0 };

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1 << 20))
		rl.rlim_cur = 1 << 20;
	pt_fd_budget = rl.rlim_cur > 256 ? rl.rlim_cur - rl.rlim_cur / 4 : 64;
}

/* At exit the kernel forgets nothing: free what it still held. */
static void pt_table_free(void)
{
	for (size_t i = 0; i < pt_bucket_count; i++) {
		while (pt_buckets[i]) {
			struct pt_inode *n = pt_buckets[i];
			pt_buckets[i] = n->next;
			pt_inode_free(n);
		}
	}
	free(pt_buckets);
}

int main(int argc, char **argv)
{
	char fuse_opts[1024] = PT_DEFAULT_OPTS;
	const char *source = NULL, *mountpoint = NULL;
	bool foreground = false;
	struct stat st;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-f")) {
			foreground = true;
		} else if (!strcmp(a, "-o") && i + 1 < argc) {
			if (pt_options(argv[++i], fuse_opts, sizeof(fuse_opts))) {
				fprintf(stderr, "vrfs-passthrough: -o: options too long\n");
				return 2;
			}
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			pt_usage(stdout);
			return 0;
		} else if (a[0] == '-' || (source && mountpoint)) {
			pt_usage(stderr);
			return 2;
		} else if (!source) {
			source = a;
		} else {
			mountpoint = a;
		}
	}
	if (!mountpoint) {
		pt_usage(stderr);
		return 2;
	}
	/* Absolute, so that the unmount at exit still finds it after fuse_daemonize's chdir("/"). */
	char *mnt = realpath(mountpoint, NULL);
	if (!mnt) {
		fprintf(stderr, "vrfs-passthrough: mount point %s: %s\n", mountpoint, strerror(errno));
		return 1;
	}
	/* The kernel has applied the caller's umask already. */
	umask(0);
	pt_fd_limit();
	pt_root.fd = open(source, O_PATH | O_DIRECTORY);
	pt_mount_fd = open(source, O_RDONLY | O_DIRECTORY);
	if (pt_root.fd < 0 || pt_mount_fd < 0 || fstat(pt_root.fd, &st)) {
		fprintf(stderr, "vrfs-passthrough: source %s: %s\n", source, strerror(errno));
		free(mnt);
		return 1;
	}
	pt_root.dev = st.st_dev;
	pt_root.ino = st.st_ino;
	pt_root.nlookup = 1;
	pt_bucket_count = PT_BUCKETS_MIN;
	pt_buckets = calloc(pt_bucket_count, sizeof(*pt_buckets));
	if (!pt_buckets) {
		fprintf(stderr, "vrfs-passthrough: out of memory\n");
		free(mnt);
		return 1;
	}

	char *fargv[] = { argv[0], "-o", fuse_opts, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	struct fuse_session *se = fuse_session_new(&args, &pt_ops, sizeof(pt_ops), NULL);
	fuse_opt_free_args(&args);
	int rc = 1;
	if (!se) {
		fprintf(stderr, "vrfs-passthrough: bad mount options: %s\n", fuse_opts);
		goto out_free;
	}
	if (fuse_set_signal_handlers(se))
		goto out_destroy;
	if (fuse_session_mount(se, mnt)) {
		fprintf(stderr, "vrfs-passthrough: cannot mount on %s\n", mnt);
		goto out_signals;
	}
	if (fuse_daemonize(foreground))
		goto out_unmount;
	/* The threads of vrfs mount, so that the two differ only in what a request does. */
	struct fuse_loop_config *lc = fuse_loop_cfg_create();
	fuse_loop_cfg_set_max_threads(lc, 64);
	fuse_loop_cfg_set_idle_threads(lc, 8);
	rc = fuse_session_loop_mt(se, lc) ? 1 : 0;
	fuse_loop_cfg_destroy(lc);
out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_destroy:
	fuse_session_destroy(se);
out_free:
	pt_table_free();
	close(pt_root.fd);
	close(pt_mount_fd);
	free(mnt);
	return rc;
}
