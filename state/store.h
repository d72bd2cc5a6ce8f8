/*
 * store.h — the replica's SQLite store: the deterministic applier of filesystem
 * operations, the read queries, and a digest of the whole filesystem state.
 *
 * One database per replica (WAL mode). Every committed op is applied by
 * store_apply() in one transaction that also records the applied op-number and,
 * when given, the client-table row, so replay after a crash is exactly-once.
 * Filesystem errors (ENOENT, EEXIST, ...) are results like successes; a SQLite
 * failure is returned as STORE_BROKEN and the replica must stop: skipping an op
 * would silently diverge (STYLE.md, "The store").
 *
 * Permissions: mounts run with default_permissions, so the kernel checks access
 * (search, read, write, sticky directories) before a request reaches vrfs. The store
 * applies what the kernel cannot know: ownership of new inodes (and the setgid
 * directory rule), and clearing suid/sgid on chown and on write.
 */
#ifndef STATE_STORE_H
#define STATE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/fs_op.h"

#define STORE_SCHEMA_VERSION 1
#define STORE_CHUNK_SIZE     16384    /* file data is stored in chunks of this size; see state/store.c */
#define STORE_BROKEN         (-10000) /* SQLite failed: stop the replica */
#define STORE_DIGEST_SIZE    32

struct store;

/* Who applies an op, and which values the primary fixed for it. */
struct store_apply_ctx {
	uint64_t op;             /* op-number; must be the store's commit + 1 */
	int64_t now;             /* the entry's timestamp, ns since the epoch */
	uint64_t client_id;      /* session issuing the op (owner of handles it opens) */
	uint64_t evicted_client; /* nonzero: this op's registration evicted that session (its handles close) */
};

/* A client-table row written in the same transaction (VR-PROTOCOL.md §4.4). */
struct store_session_row {
	uint32_t slot;
	uint64_t client_id;
	uint64_t session;
	uint64_t request;
	uint64_t op;
	uint8_t status;
	const uint8_t *result;
	uint32_t result_len;
};

/*
 * Opens (creating when missing) the store at path; ":memory:" for a private
 * in-memory store. A new store gets a root directory owned by root, mode 0755,
 * times = created_ns. Returns 0, or -errno with *why a constant message naming the
 * problem (unknown schema version, not a vrfs store, integrity check failed).
 */
int store_open(struct store **out, const char *path, int64_t created_ns, const char **why);
void store_close(struct store *s);

/*
 * A checkpoint: copies the whole database of src (applied state, client table, log,
 * labels) as it is committed now into a new store at path (":memory:" for a private
 * one) and opens it. Not inside store_begin .. store_end (-EBUSY). Returns 0 or -errno
 * with *why.
 */
int store_clone(struct store *src, const char *path, struct store **out, const char **why);

/*
 * The same checkpoint, a little at a time, so that a replica making one for another keeps
 * serving meanwhile. store_copy_begin starts copying src into a new store at path;
 * store_copy_step copies up to `pages` database pages (call it outside store_begin ..
 * store_end of src) and returns 1 once the copy is complete, 0 while more remains, or
 * -errno with *why. What is applied to src between steps is carried into the copy (SQLite's
 * backup follows changes made through the same connection), so the finished copy is src as
 * committed when the last step returned 1. store_copy_end frees c and, when the copy finished,
 * opens it into *out (else *out is NULL and the file is left for the caller to remove).
 */
struct store_copy;
int store_copy_begin(struct store *src, const char *path, struct store_copy **out, const char **why);
int store_copy_step(struct store_copy *c, int pages, const char **why);
int store_copy_end(struct store_copy *c, struct store **out, const char **why);

/* The op-number of the last applied op. */
uint64_t store_commit(const struct store *s);

/*
 * Applies one committed op: op, and (when row != NULL) the client-table row, and
 * commit = ctx->op, in one transaction. op == NULL applies nothing to the tree (a
 * duplicate or a registration). With an op, the row caches the op's own result,
 * encoded by wire_fs_result_encode (row->result is ignored); without one, row->result.
 * Returns 0 with the op's own result in *res, or STORE_BROKEN.
 */
int store_apply(struct store *s, const struct store_apply_ctx *ctx, const struct wire_fs_op *op,
                const struct store_session_row *row, struct wire_fs_result *res);

/*
 * Group commit: applies count consecutive ops (ctx[i].op == commit + 1 + i) in one transaction,
 * each as store_apply would (a failed op changes nothing, T2); ops[i] and rows[i] may be NULL
 * (rows itself may be NULL). The commit-number becomes ctx[count-1].op. Returns 0 with res[i]
 * the result of op i, or STORE_BROKEN with nothing of the batch applied. A caller replies to an
 * op of the batch only after this returns.
 */
int store_apply_batch(struct store *s, const struct store_apply_ctx *ctx, const struct wire_fs_op *const *ops,
                      const struct store_session_row *const *rows, uint32_t count, struct wire_fs_result *res);

/* Reads from committed state. Each returns 0 or -errno. */
int store_getattr(struct store *s, uint64_t ino, struct wire_attr *attr);
int store_lookup(struct store *s, uint64_t parent, const char *name, uint32_t name_len, struct wire_attr *attr);
/* Reads up to len bytes at offset into buf; *got is the count (short at end of file). */
int store_read(struct store *s, uint64_t ino, uint64_t offset, uint32_t len, uint8_t *buf, uint32_t *got);
/* Copies the target into buf (not NUL-terminated); *len in: buf size, out: target length. */
int store_readlink(struct store *s, uint64_t ino, char *buf, uint32_t *len);

/* One directory entry; cookie resumes the listing after it (stable under inserts and deletes). */
struct store_dirent {
	uint64_t ino;
	uint32_t mode; /* type bits only */
	uint64_t cookie;
	uint32_t name_len;
	char name[WIRE_NAME_MAX + 1];
};
/* Calls fn for each entry after cookie (0: from the start; "." and ".." are not listed) until fn
 * returns nonzero or the directory ends. Returns 0, -ENOTDIR, -ENOENT. */
int store_readdir(struct store *s, uint64_t ino, uint64_t cookie, int (*fn)(void *arg, const struct store_dirent *e),
                  void *arg);

/* getxattr: size 0 asks for the length only (*len); -ERANGE when the value does not fit; -ENODATA. */
int store_getxattr(struct store *s, uint64_t ino, const char *name, uint32_t name_len, uint8_t *buf, uint32_t size,
                   uint32_t *len);
/* listxattr: NUL-separated names, the same size rules. */
int store_listxattr(struct store *s, uint64_t ino, char *buf, uint32_t size, uint32_t *len);

struct store_statfs {
	uint64_t inodes;     /* in use */
	uint64_t data_bytes; /* stored */
};
int store_statfs(struct store *s, struct store_statfs *st);

/* lseek SEEK_DATA / SEEK_HOLE (whence as in lseek(2)); -ENXIO past the end. */
int store_lseek(struct store *s, uint64_t ino, uint64_t offset, int whence, uint64_t *result);

/*
 * The replica's log of prepared ops and its VR metadata live in the same database
 * (DESIGN.md "The store"), as opaque bytes: the store knows nothing of VR. One call
 * is one transaction: remove every entry above keep_op, append entries (op-numbers
 * keep_op+1, keep_op+2, ...), and replace the metadata when meta != NULL. A caller
 * that only appends passes keep_op = the current last op. Returns 0 or STORE_BROKEN.
 */
struct store_log_entry {
	uint64_t op;
	const uint8_t *data; /* borrowed */
	uint32_t len;
};
int store_log_write(struct store *s, uint64_t keep_op, const struct store_log_entry *entries, uint32_t count,
                    const uint8_t *meta, uint32_t meta_len);
/*
 * Empties the tree (every file, directory, link, xattr and open handle; the root directory stays,
 * empty) and gives the freed pages back to the file system (VACUUM): what a replica that keeps no
 * file data (a witness) makes of a checkpoint of another's store. The client table, the log, the
 * labels and the commit-number stay. Not inside store_begin/store_end. 0 or STORE_BROKEN.
 */
int store_drop_files(struct store *s);
/* A checkpoint: removes every entry below op, in one transaction. 0 or STORE_BROKEN. */
int store_log_truncate_below(struct store *s, uint64_t op);
/* Calls fn for each entry with op >= from, in order, until fn returns nonzero. Returns 0 or -EIO. */
int store_log_read(struct store *s, uint64_t from, int (*fn)(void *arg, const struct store_log_entry *e), void *arg);
/* The metadata: copies up to size bytes into buf, *len its length; -ENOENT when none was written. */
int store_log_meta(struct store *s, uint8_t *buf, uint32_t size, uint32_t *len);
/*
 * Puts one entry in the log, replacing the entry of its op if there is one, in one transaction:
 * for a caller that rewrites a log in place and then removes what lies above its last entry
 * (store_log_write with no entries). 0 or STORE_BROKEN.
 */
int store_log_put(struct store *s, const struct store_log_entry *e);
/*
 * Calls fn once with the entry of op (borrowed for the call; fn must not call into the store) and
 * returns what fn returns; -ENOENT when the log holds no entry of op, -EIO when SQLite fails.
 */
int store_log_get(struct store *s, uint64_t op, int (*fn)(void *arg, const struct store_log_entry *e), void *arg);

/*
 * Entries kept aside, outside the log, in the same opaque format: at most one per op. One call
 * is one transaction: with forget, every entry kept before is removed; then each entry replaces
 * the one kept of its op, if any. They survive a restart like any row, but the owner may empty
 * them then (store_stage_write(s, true, NULL, 0)). 0 or STORE_BROKEN.
 */
int store_stage_write(struct store *s, bool forget, const struct store_log_entry *entries, uint32_t count);
/* The entry kept aside for op, as store_log_get gives the log's. */
int store_stage_get(struct store *s, uint64_t op, int (*fn)(void *arg, const struct store_log_entry *e), void *arg);

/*
 * Group commit: store_begin opens one transaction that every store_apply, store_apply_batch,
 * store_log_write, store_log_put, store_stage_write and store_label_put joins until store_end
 * commits it (one fsync for all of them); reads through the same store see its writes before
 * then. Not nested. After any call inside it fails with STORE_BROKEN the transaction is gone
 * (rolled back), further calls fail, and store_end returns STORE_BROKEN.
 */
int store_begin(struct store *s);
int store_end(struct store *s);
/*
 * A group whose commit need not be durable: store_begin_lazy opens it with synchronous=NORMAL,
 * so store_end commits it atomically and in order before every later commit, without an fsync
 * (power lost before the next durable commit rolls it back), unless store_make_durable was
 * called inside it, in which case store_end syncs the WAL as synchronous=FULL would. For
 * groups that only apply committed ops, whose log entries are durable already.
 */
int store_begin_lazy(struct store *s);
void store_make_durable(struct store *s);

/* Calls fn for each client-table row, by slot, until fn returns nonzero; row->result is
 * borrowed for the call. Returns 0 or -EIO. */
int store_sessions_read(struct store *s, int (*fn)(void *arg, const struct store_session_row *row), void *arg);

/* Small named numbers the store keeps for its owner (the daemon's cluster id, replica
 * number...). Keys start with "label." and are shorter than 64 bytes (-EINVAL otherwise).
 * get: 0, -ENOENT, -EIO; put: 0 or STORE_BROKEN. */
int store_label_get(struct store *s, const char *key, uint64_t *value);
int store_label_put(struct store *s, const char *key, uint64_t value);

/* A digest of the whole filesystem state (tree, attributes, data, xattrs, open handles):
 * equal on two stores exactly when their states are equal. */
int store_digest(struct store *s, uint8_t out[STORE_DIGEST_SIZE]);

#endif
