/*
 * store.c — the SQLite store of one replica: schema, the deterministic applier of
 * every filesystem operation, the read queries, and the digest.
 *
 * Invariants:
 *   T1  store_apply() is a pure function of (state, ctx, op): no clock, no randomness,
 *       no dependence on the order SQLite returns rows in except where ORDER BY fixes it.
 *   T2  one op, its client-table row and the commit-number are one transaction; an op
 *       that fails with -errno changes nothing of the tree (a SAVEPOINT is rolled back).
 *   T3  a directory's nlink is 2 + its subdirectories; a file's nlink is its dirents.
 *   T4  an inode with nlink 0 exists only while a handle keeps it open.
 *   T5  a chunk holds bytes [idx * STORE_CHUNK_SIZE, idx * STORE_CHUNK_SIZE + length(data));
 *       bytes not held by a chunk read as zeros; no chunk lies at or beyond the file size.
 *
 * Chunk size: 16 KiB, chosen by measurement (make bench-state on this project's 2-core VM,
 * ext4, WAL + synchronous=FULL, 32 ops per transaction, medians of interleaved runs):
 *   chunk    sequential 128 KiB writes   random 4 KiB writes   random 4 KiB reads
 *   16 KiB   110-167 MiB/s              5,200-9,100 /s         33,000-45,000 /s
 *   32 KiB   104-120 MiB/s              3,600-4,700 /s         13,000-16,000 /s
 *   64 KiB   108-169 MiB/s              2,100-2,800 /s         16,000-17,000 /s
 *   256 KiB   76-80 MiB/s                  430-460 /s           1,100-1,600 /s
 * Sequential writes are bound by the disk (WAL writes each byte twice) at every size up
 * to 64 KiB, while a small write or read rewrites or reads a whole chunk: the smallest
 * size that costs sequential writes nothing wins. A 1 GiB file is 65,536 rows.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* SEEK_DATA, SEEK_HOLE */
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "state/store.h"
#include "wire/wire_fs.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE  (1 << 1)
#endif

#define STORE_MAGIC 0x76726673 /* "vrfs" */

enum store_stmt_id {
	ST_META_GET,
	ST_META_PUT,
	ST_INODE_GET,
	ST_INODE_PUT,
	ST_INODE_DEL,
	ST_DIRENT_GET,
	ST_DIRENT_PUT,
	ST_DIRENT_DEL,
	ST_DIRENT_ANY,
	ST_DIRENT_PARENT,
	ST_DIRENT_LIST,
	ST_CHUNK_GET,
	ST_CHUNK_PUT,
	ST_CHUNK_DEL,
	ST_CHUNK_RANGE,
	ST_CHUNK_DEL_FROM,
	ST_CHUNK_DEL_INO,
	ST_CHUNK_NEXT,
	ST_SYMLINK_GET,
	ST_SYMLINK_PUT,
	ST_SYMLINK_DEL,
	ST_XATTR_GET,
	ST_XATTR_PUT,
	ST_XATTR_DEL,
	ST_XATTR_LIST,
	ST_XATTR_DEL_INO,
	ST_HANDLE_PUT,
	ST_HANDLE_DEL,
	ST_HANDLE_ANY,
	ST_HANDLE_CLIENT_INOS,
	ST_HANDLE_DEL_CLIENT,
	ST_SESSION_PUT,
	ST_COUNT_INODES,
	ST_SUM_DATA,
	ST_CHUNK_LEN,
	ST_SUM_FROM,
	ST_LOG_TRUNCATE,
	ST_LOG_PUT,
	ST_LOG_LIST,
	ST_LOG_META_PUT,
	ST_LOG_META_GET,
	ST_LOG_TRUNCATE_BELOW,
	ST_LOG_GET,
	ST_LOG_REPLACE,
	ST_STAGE_CLEAR,
	ST_STAGE_PUT,
	ST_STAGE_GET,
	ST_COUNT,
};

static const char *const store_sql[ST_COUNT] = {
	[ST_META_GET] = "SELECT value FROM store_meta WHERE key = ?1",
	[ST_META_PUT] = "INSERT OR REPLACE INTO store_meta (key, value) VALUES (?1, ?2)",
	[ST_INODE_GET] =
	        "SELECT mode, nlink, uid, gid, rdev, size, atime, mtime, ctime, bytes FROM inodes WHERE ino = ?1",
	[ST_INODE_PUT] =
	        "INSERT OR REPLACE INTO inodes (ino, mode, nlink, uid, gid, rdev, size, atime, mtime, ctime, bytes) "
	        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[ST_INODE_DEL] = "DELETE FROM inodes WHERE ino = ?1",
	[ST_DIRENT_GET] = "SELECT ino FROM dirents WHERE parent = ?1 AND name = ?2",
	[ST_DIRENT_PUT] = "INSERT INTO dirents (parent, name, ino, cookie) VALUES (?1, ?2, ?3, ?4)",
	[ST_DIRENT_DEL] = "DELETE FROM dirents WHERE parent = ?1 AND name = ?2",
	[ST_DIRENT_ANY] = "SELECT 1 FROM dirents WHERE parent = ?1 LIMIT 1",
	[ST_DIRENT_PARENT] = "SELECT parent FROM dirents WHERE ino = ?1 LIMIT 1",
	[ST_DIRENT_LIST] = "SELECT d.name, d.ino, d.cookie, i.mode FROM dirents d JOIN inodes i ON i.ino = d.ino "
	                   "WHERE d.parent = ?1 AND d.cookie > ?2 ORDER BY d.cookie",
	[ST_CHUNK_GET] = "SELECT data FROM chunks WHERE ino = ?1 AND idx = ?2",
	[ST_CHUNK_PUT] = "INSERT OR REPLACE INTO chunks (ino, idx, data) VALUES (?1, ?2, ?3)",
	[ST_CHUNK_DEL] = "DELETE FROM chunks WHERE ino = ?1 AND idx = ?2",
	[ST_CHUNK_RANGE] = "SELECT idx, data FROM chunks WHERE ino = ?1 AND idx >= ?2 AND idx <= ?3 ORDER BY idx",
	[ST_CHUNK_DEL_FROM] = "DELETE FROM chunks WHERE ino = ?1 AND idx >= ?2",
	[ST_CHUNK_DEL_INO] = "DELETE FROM chunks WHERE ino = ?1",
	[ST_CHUNK_NEXT] = "SELECT idx, length(data) FROM chunks WHERE ino = ?1 AND idx >= ?2 ORDER BY idx LIMIT 1",
	[ST_SYMLINK_GET] = "SELECT target FROM symlinks WHERE ino = ?1",
	[ST_SYMLINK_PUT] = "INSERT INTO symlinks (ino, target) VALUES (?1, ?2)",
	[ST_SYMLINK_DEL] = "DELETE FROM symlinks WHERE ino = ?1",
	[ST_XATTR_GET] = "SELECT value FROM xattrs WHERE ino = ?1 AND name = ?2",
	[ST_XATTR_PUT] = "INSERT OR REPLACE INTO xattrs (ino, name, value) VALUES (?1, ?2, ?3)",
	[ST_XATTR_DEL] = "DELETE FROM xattrs WHERE ino = ?1 AND name = ?2",
	[ST_XATTR_LIST] = "SELECT name FROM xattrs WHERE ino = ?1 ORDER BY name",
	[ST_XATTR_DEL_INO] = "DELETE FROM xattrs WHERE ino = ?1",
	[ST_HANDLE_PUT] = "INSERT OR IGNORE INTO handles (client, handle, ino) VALUES (?1, ?2, ?3)",
	[ST_HANDLE_DEL] = "DELETE FROM handles WHERE client = ?1 AND handle = ?2 RETURNING ino",
	[ST_HANDLE_ANY] = "SELECT 1 FROM handles WHERE ino = ?1 LIMIT 1",
	[ST_HANDLE_CLIENT_INOS] = "SELECT DISTINCT ino FROM handles WHERE client = ?1 ORDER BY ino",
	[ST_HANDLE_DEL_CLIENT] = "DELETE FROM handles WHERE client = ?1",
	[ST_SESSION_PUT] = "INSERT OR REPLACE INTO sessions (slot, client_id, session, request, op, status, result) "
	                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_COUNT_INODES] = "SELECT count(*) FROM inodes",
	[ST_SUM_DATA] = "SELECT coalesce(sum(bytes), 0) FROM inodes",
	[ST_CHUNK_LEN] = "SELECT length(data) FROM chunks WHERE ino = ?1 AND idx = ?2",
	[ST_SUM_FROM] = "SELECT coalesce(sum(length(data)), 0) FROM chunks WHERE ino = ?1 AND idx >= ?2",
	[ST_LOG_TRUNCATE] = "DELETE FROM vr_log WHERE op > ?1",
	[ST_LOG_TRUNCATE_BELOW] = "DELETE FROM vr_log WHERE op < ?1",
	[ST_LOG_PUT] = "INSERT INTO vr_log (op, entry) VALUES (?1, ?2)",
	[ST_LOG_LIST] = "SELECT op, entry FROM vr_log WHERE op >= ?1 ORDER BY op",
	[ST_LOG_META_PUT] = "INSERT OR REPLACE INTO vr_meta (id, meta) VALUES (1, ?1)",
	[ST_LOG_META_GET] = "SELECT meta FROM vr_meta WHERE id = 1",
	[ST_LOG_GET] = "SELECT entry FROM vr_log WHERE op = ?1",
	[ST_LOG_REPLACE] = "INSERT OR REPLACE INTO vr_log (op, entry) VALUES (?1, ?2)",
	[ST_STAGE_CLEAR] = "DELETE FROM vr_stage",
	[ST_STAGE_PUT] = "INSERT OR REPLACE INTO vr_stage (op, entry) VALUES (?1, ?2)",
	[ST_STAGE_GET] = "SELECT entry FROM vr_stage WHERE op = ?1",
};

static const char store_schema[] =
        "CREATE TABLE store_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
        "CREATE TABLE inodes (ino INTEGER PRIMARY KEY, mode INTEGER NOT NULL, nlink INTEGER NOT NULL,"
        " uid INTEGER NOT NULL, gid INTEGER NOT NULL, rdev INTEGER NOT NULL, size INTEGER NOT NULL,"
        " atime INTEGER NOT NULL, mtime INTEGER NOT NULL, ctime INTEGER NOT NULL, bytes INTEGER NOT NULL);"
        "CREATE TABLE dirents (parent INTEGER NOT NULL, name BLOB NOT NULL, ino INTEGER NOT NULL,"
        " cookie INTEGER NOT NULL, PRIMARY KEY (parent, name)) WITHOUT ROWID;"
        "CREATE UNIQUE INDEX dirents_cookie ON dirents (parent, cookie);"
        "CREATE INDEX dirents_ino ON dirents (ino);"
        "CREATE TABLE chunks (ino INTEGER NOT NULL, idx INTEGER NOT NULL, data BLOB NOT NULL,"
        " PRIMARY KEY (ino, idx)) WITHOUT ROWID;"
        "CREATE TABLE symlinks (ino INTEGER PRIMARY KEY, target BLOB NOT NULL);"
        "CREATE TABLE xattrs (ino INTEGER NOT NULL, name BLOB NOT NULL, value BLOB NOT NULL,"
        " PRIMARY KEY (ino, name)) WITHOUT ROWID;"
        "CREATE TABLE handles (client INTEGER NOT NULL, handle INTEGER NOT NULL, ino INTEGER NOT NULL,"
        " PRIMARY KEY (client, handle)) WITHOUT ROWID;"
        "CREATE INDEX handles_ino ON handles (ino);"
        "CREATE TABLE sessions (slot INTEGER PRIMARY KEY, client_id INTEGER NOT NULL, session INTEGER NOT NULL,"
        " request INTEGER NOT NULL, op INTEGER NOT NULL, status INTEGER NOT NULL, result BLOB NOT NULL);"
        "CREATE TABLE vr_log (op INTEGER PRIMARY KEY, entry BLOB NOT NULL);"
        "CREATE TABLE vr_meta (id INTEGER PRIMARY KEY CHECK (id = 1), meta BLOB NOT NULL);";

/*
 * Log entries kept aside, outside the log (store_stage_write). Created at every open rather than
 * with the schema: stores written before it lack it, and it needs no new schema version because
 * nothing in it has to survive a restart (its owner empties it then).
 */
static const char store_stage_schema[] =
        "CREATE TABLE IF NOT EXISTS vr_stage (op INTEGER PRIMARY KEY, entry BLOB NOT NULL)";

/* The tables the digest covers, each in primary-key order. */
static const char *const store_digest_sql[] = {
	"SELECT ino, mode, nlink, uid, gid, rdev, size, atime, mtime, ctime, bytes FROM inodes ORDER BY ino",
	"SELECT parent, name, ino, cookie FROM dirents ORDER BY parent, name",
	"SELECT ino, idx, data FROM chunks ORDER BY ino, idx",
	"SELECT ino, target FROM symlinks ORDER BY ino",
	"SELECT ino, name, value FROM xattrs ORDER BY ino, name",
	"SELECT client, handle, ino FROM handles ORDER BY client, handle",
	"SELECT slot, client_id, session, request, op, status, result FROM sessions ORDER BY slot",
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_COUNT];
	uint64_t commit;
	int outer;      /* inside store_begin .. store_end: applies and log writes join that transaction */
	bool lazy;      /* opened by store_begin_lazy: synchronous=NORMAL until store_end */
	bool lazy_sync; /* store_make_durable was called in it: store_end syncs the WAL */
	uint8_t *chunk; /* STORE_CHUNK_SIZE scratch for read-modify-write */
	uint8_t *chunk2;
};

struct store_inode {
	uint64_t ino;
	uint32_t mode;
	uint32_t nlink;
	uint32_t uid, gid;
	uint64_t rdev;
	uint64_t size;
	int64_t atime, mtime, ctime;
	uint64_t bytes; /* file data held in chunks (st_blocks); kept up to date by store_chunk_put */
};

/* ------------------------------------------------------------------ statements */

/* The statement for id, reset and unbound; NULL only if SQLite fails (out of memory). */
static sqlite3_stmt *store_stmt(struct store *s, enum store_stmt_id id)
{
	sqlite3_stmt *st = s->stmt[id];

	if (!st) {
		if (sqlite3_prepare_v3(s->db, store_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[id], NULL) !=
		    SQLITE_OK)
			return NULL;
		return s->stmt[id];
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/* Runs a statement that returns no row. Returns 0 or STORE_BROKEN. */
static int store_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : STORE_BROKEN;
}

static int store_exec(struct store *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : STORE_BROKEN;
}

/* ------------------------------------------------------------------ inodes */

/* Returns 0, -ENOENT, or STORE_BROKEN. */
static int store_inode_get(struct store *s, uint64_t ino, struct store_inode *in)
{
	sqlite3_stmt *st = store_stmt(s, ST_INODE_GET);
	int rc;

	if (!st)
		return STORE_BROKEN;
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return -ENOENT;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return STORE_BROKEN;
	}
	in->ino = ino;
	in->mode = (uint32_t)sqlite3_column_int64(st, 0);
	in->nlink = (uint32_t)sqlite3_column_int64(st, 1);
	in->uid = (uint32_t)sqlite3_column_int64(st, 2);
	in->gid = (uint32_t)sqlite3_column_int64(st, 3);
	in->rdev = (uint64_t)sqlite3_column_int64(st, 4);
	in->size = (uint64_t)sqlite3_column_int64(st, 5);
	in->atime = sqlite3_column_int64(st, 6);
	in->mtime = sqlite3_column_int64(st, 7);
	in->ctime = sqlite3_column_int64(st, 8);
	in->bytes = (uint64_t)sqlite3_column_int64(st, 9);
	sqlite3_reset(st);
	return 0;
}

static int store_inode_put(struct store *s, const struct store_inode *in)
{
	sqlite3_stmt *st = store_stmt(s, ST_INODE_PUT);

	if (!st)
		return STORE_BROKEN;
	sqlite3_bind_int64(st, 1, (int64_t)in->ino);
	sqlite3_bind_int64(st, 2, in->mode);
	sqlite3_bind_int64(st, 3, in->nlink);
	sqlite3_bind_int64(st, 4, in->uid);
	sqlite3_bind_int64(st, 5, in->gid);
	sqlite3_bind_int64(st, 6, (int64_t)in->rdev);
	sqlite3_bind_int64(st, 7, (int64_t)in->size);
	sqlite3_bind_int64(st, 8, in->atime);
	sqlite3_bind_int64(st, 9, in->mtime);
	sqlite3_bind_int64(st, 10, in->ctime);
	sqlite3_bind_int64(st, 11, (int64_t)in->bytes);
	return store_done(st);
}

static int store_ino_stmt(struct store *s, enum store_stmt_id id, uint64_t ino)
{
	sqlite3_stmt *st = store_stmt(s, id);

	if (!st)
		return STORE_BROKEN;
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	return store_done(st);
}

/* Returns 1 when a row exists for (id, ino), 0 when not, or STORE_BROKEN. */
static int store_ino_exists(struct store *s, enum store_stmt_id id, uint64_t ino)
{
	sqlite3_stmt *st = store_stmt(s, id);
	int rc;

	if (!st)
		return STORE_BROKEN;
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : STORE_BROKEN;
}

static void store_attr_fill(const struct store_inode *in, struct wire_attr *a)
{
	a->ino = in->ino;
	a->mode = in->mode;
	a->nlink = in->nlink;
	a->uid = in->uid;
	a->gid = in->gid;
	a->rdev = in->rdev;
	a->size = in->size;
	a->blocks = (in->bytes + 511) / 512;
	a->atime = in->atime;
	a->mtime = in->mtime;
	a->ctime = in->ctime;
}

/* T4: frees an inode nobody links and nobody holds open. */
static int store_inode_maybe_free(struct store *s, const struct store_inode *in)
{
	int rc;

	if (in->nlink > 0)
		return 0;
	rc = store_ino_exists(s, ST_HANDLE_ANY, in->ino);
	if (rc != 0)
		return rc < 0 ? rc : 0; /* still open */
	if ((rc = store_ino_stmt(s, ST_CHUNK_DEL_INO, in->ino)) ||
	    (rc = store_ino_stmt(s, ST_XATTR_DEL_INO, in->ino)) || (rc = store_ino_stmt(s, ST_SYMLINK_DEL, in->ino)))
		return rc;
	return store_ino_stmt(s, ST_INODE_DEL, in->ino);
}

/* ------------------------------------------------------------------ directory entries */

static int store_name_check(const char *name, uint32_t len)
{
	if (len > WIRE_NAME_MAX)
		return -ENAMETOOLONG;
	if (len == 0 || memchr(name, '/', len) || memchr(name, '\0', len))
		return -EINVAL;
	return 0;
}

/* Looks up (parent, name): 0 and *ino, -ENOENT, or STORE_BROKEN. */
static int store_dirent_get(struct store *s, uint64_t parent, const char *name, uint32_t len, uint64_t *ino)
{
	sqlite3_stmt *st = store_stmt(s, ST_DIRENT_GET);
	int rc;

	if (!st)
		return STORE_BROKEN;
	sqlite3_bind_int64(st, 1, (int64_t)parent);
	sqlite3_bind_blob(st, 2, name, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ino = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? -ENOENT : STORE_BROKEN;
}

/* Cookies grow with the op-number: a listing resumed after a cookie sees entries added later. */
static int store_dirent_put(struct store *s, uint64_t parent, const char *name, uint32_t len, uint64_t ino, uint64_t op,
                            unsigned k)
{
	sqlite3_stmt *st = store_stmt(s, ST_DIRENT_PUT);

	if (!st)
		return STORE_BROKEN;
	sqlite3_bind_int64(st, 1, (int64_t)parent);
	sqlite3_bind_blob(st, 2, name, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)ino);
	sqlite3_bind_int64(st, 4, (int64_t)((op << 2) | k));
	return store_done(st);
}

static int store_dirent_del(struct store *s, uint64_t parent, const char *name, uint32_t len)
{
	sqlite3_stmt *st = store_stmt(s, ST_DIRENT_DEL);

	if (!st)
		return STORE_BROKEN;
	sqlite3_bind_int64(st, 1, (int64_t)parent);
	sqlite3_bind_blob(st, 2, name, (int)len, SQLITE_STATIC);
	return store_done(st);
}

/* The directory parent (must exist and be a directory): 0, -ENOENT, -ENOTDIR. */
static int store_dir_get(struct store *s, uint64_t ino, struct store_inode *dir)
{
	int rc = store_inode_get(s, ino, dir);

	if (rc)
		return rc;
	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	if (dir->nlink == 0)
		return -ENOENT; /* removed while a kernel still held it */
	return 0;
}

/* True when ancestor is dir or one of its ancestors (rename into the own subtree). */
static int store_is_ancestor(struct store *s, uint64_t ancestor, uint64_t dir)
{
	for (int depth = 0; depth < 100000; depth++) {
		if (dir == ancestor)
			return 1;
		if (dir == WIRE_INO_ROOT)
			return 0;
		sqlite3_stmt *st = store_stmt(s, ST_DIRENT_PARENT);
		if (!st)
			return STORE_BROKEN;
		sqlite3_bind_int64(st, 1, (int64_t)dir);
		int rc = sqlite3_step(st);
		if (rc != SQLITE_ROW) {
			sqlite3_reset(st);
			return rc == SQLITE_DONE ? 0 : STORE_BROKEN;
		}
		dir = (uint64_t)sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	return STORE_BROKEN; /* a cycle: the tree is damaged */
}

/* ------------------------------------------------------------------ file data */

/* Reads chunk idx into buf (STORE_CHUNK_SIZE, zero-filled); *len = bytes held (0: none). */
static int store_chunk_get(struct store *s, uint64_t ino, uint64_t idx, uint8_t *buf, uint32_t *len)
{
	sqlite3_stmt *st = store_stmt(s, ST_CHUNK_GET);
	int rc;

	if (!st)
		return STORE_BROKEN;
	memset(buf, 0, STORE_CHUNK_SIZE);
	*len = 0;
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	sqlite3_bind_int64(st, 2, (int64_t)idx);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		int n = sqlite3_column_bytes(st, 0);
		const void *p = sqlite3_column_blob(st, 0);
		if (n > STORE_CHUNK_SIZE)
			n = STORE_CHUNK_SIZE; /* T5 says it cannot be; never overrun */
		if (n > 0 && p)
			memcpy(buf, p, (size_t)n);
		*len = (uint32_t)n;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : STORE_BROKEN;
}

/* Replaces chunk idx of in (held bytes before: old) with len bytes (0: removes it), and keeps
 * in->bytes, the file's stored bytes, in step; the caller writes the inode back. */
static int store_chunk_put(struct store *s, struct store_inode *in, uint64_t idx, const uint8_t *data, uint32_t len,
                           uint32_t old)
{
	sqlite3_stmt *st = store_stmt(s, len ? ST_CHUNK_PUT : ST_CHUNK_DEL);

	if (!st)
		return STORE_BROKEN;
	sqlite3_bind_int64(st, 1, (int64_t)in->ino);
	sqlite3_bind_int64(st, 2, (int64_t)idx);
	if (len)
		sqlite3_bind_blob(st, 3, data, (int)len, SQLITE_STATIC);
	in->bytes = in->bytes - old + len;
	return store_done(st);
}

/* Bytes chunk idx holds (0: none), without reading them. */
static int store_chunk_len(struct store *s, uint64_t ino, uint64_t idx, uint32_t *len)
{
	sqlite3_stmt *st = store_stmt(s, ST_CHUNK_LEN);
	int rc;

	if (!st)
		return STORE_BROKEN;
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	sqlite3_bind_int64(st, 2, (int64_t)idx);
	rc = sqlite3_step(st);
	*len = rc == SQLITE_ROW ? (uint32_t)sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : STORE_BROKEN;
}

/* Writes len bytes at offset; chunks held only partly are read, merged and rewritten. */
static int store_data_write(struct store *s, struct store_inode *in, uint64_t offset, const uint8_t *data, uint64_t len)
{
	while (len > 0) {
		uint64_t idx = offset / STORE_CHUNK_SIZE;
		uint32_t at = (uint32_t)(offset % STORE_CHUNK_SIZE);
		uint32_t n = STORE_CHUNK_SIZE - at < len ? STORE_CHUNK_SIZE - at : (uint32_t)len;
		uint32_t held;
		int rc;

		if (at == 0 && n == STORE_CHUNK_SIZE) {
			rc = store_chunk_len(s, in->ino, idx, &held);
			if (!rc)
				rc = store_chunk_put(s, in, idx, data, n, held);
		} else {
			rc = store_chunk_get(s, in->ino, idx, s->chunk, &held);
			if (!rc) {
				memcpy(s->chunk + at, data, n);
				rc = store_chunk_put(s, in, idx, s->chunk, at + n > held ? at + n : held, held);
			}
		}
		if (rc)
			return rc;
		offset += n;
		data += n;
		len -= n;
	}
	return 0;
}

/* Zeroes [offset, offset+len): whole chunks are deleted, partial ones rewritten (PUNCH_HOLE). */
static int store_data_zero(struct store *s, struct store_inode *in, uint64_t offset, uint64_t len)
{
	while (len > 0) {
		uint64_t idx = offset / STORE_CHUNK_SIZE;
		uint32_t at = (uint32_t)(offset % STORE_CHUNK_SIZE);
		uint32_t n = STORE_CHUNK_SIZE - at < len ? STORE_CHUNK_SIZE - at : (uint32_t)len;
		uint32_t held;
		int rc = store_chunk_get(s, in->ino, idx, s->chunk, &held);

		if (!rc && held > at) {
			if (at == 0 && n >= held) {
				rc = store_chunk_put(s, in, idx, NULL, 0, held);
			} else if (at + n >= held) {
				rc = store_chunk_put(s, in, idx, s->chunk, at, held); /* cut the tail */
			} else {
				memset(s->chunk + at, 0, n);
				rc = store_chunk_put(s, in, idx, s->chunk, held, held);
			}
		}
		if (rc)
			return rc;
		offset += n;
		len -= n;
	}
	return 0;
}

/* T5 after a size change: nothing held at or beyond size. */
static int store_data_truncate(struct store *s, struct store_inode *in, uint64_t size)
{
	uint64_t keep = (size + STORE_CHUNK_SIZE - 1) / STORE_CHUNK_SIZE; /* chunks below keep stay */
	sqlite3_stmt *st = store_stmt(s, ST_SUM_FROM);
	uint32_t held;
	int rc;

	if (!st)
		return STORE_BROKEN;
	sqlite3_bind_int64(st, 1, (int64_t)in->ino);
	sqlite3_bind_int64(st, 2, (int64_t)keep);
	rc = sqlite3_step(st);
	uint64_t gone = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW || !(st = store_stmt(s, ST_CHUNK_DEL_FROM)))
		return STORE_BROKEN;
	sqlite3_bind_int64(st, 1, (int64_t)in->ino);
	sqlite3_bind_int64(st, 2, (int64_t)keep);
	if ((rc = store_done(st)))
		return rc;
	in->bytes -= gone;
	if (size % STORE_CHUNK_SIZE == 0)
		return 0;
	uint64_t last = size / STORE_CHUNK_SIZE;
	uint32_t cut = (uint32_t)(size % STORE_CHUNK_SIZE);
	if ((rc = store_chunk_get(s, in->ino, last, s->chunk, &held)))
		return rc;
	return held > cut ? store_chunk_put(s, in, last, s->chunk, cut, held) : 0;
}

/* Copies len bytes of ino's data at offset into buf (zeros where nothing is held). */
static int store_data_read(struct store *s, uint64_t ino, uint64_t offset, uint8_t *buf, uint64_t len)
{
	sqlite3_stmt *st;
	uint64_t first = offset / STORE_CHUNK_SIZE, last = (offset + len - 1) / STORE_CHUNK_SIZE;
	int rc;

	memset(buf, 0, len);
	if (len == 0)
		return 0;
	if (!(st = store_stmt(s, ST_CHUNK_RANGE)))
		return STORE_BROKEN;
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	sqlite3_bind_int64(st, 2, (int64_t)first);
	sqlite3_bind_int64(st, 3, (int64_t)last);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t idx = (uint64_t)sqlite3_column_int64(st, 0);
		const uint8_t *p = sqlite3_column_blob(st, 1);
		uint64_t n = (uint64_t)sqlite3_column_bytes(st, 1);
		uint64_t start = idx * STORE_CHUNK_SIZE, end = start + n;
		uint64_t from = start > offset ? start : offset;
		uint64_t to = end < offset + len ? end : offset + len;
		if (p && to > from)
			memcpy(buf + (from - offset), p + (from - start), to - from);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : STORE_BROKEN;
}

/* ------------------------------------------------------------------ the applier */

struct store_op_env {
	struct store *s;
	const struct store_apply_ctx *ctx;
	const struct wire_fs_op *op;
	struct wire_fs_result *res;
};

/* The group of a new inode: the parent's when the parent is setgid (the setgid-directory rule). */
static void store_new_owner(const struct store_op_env *e, const struct store_inode *parent, struct store_inode *in)
{
	in->uid = e->op->uid;
	in->gid = (parent->mode & S_ISGID) ? parent->gid : e->op->gid;
	if (S_ISDIR(in->mode) && (parent->mode & S_ISGID))
		in->mode |= S_ISGID; /* directories inherit it */
}

static void store_touch_dir(struct store_inode *dir, int64_t now)
{
	dir->mtime = now;
	dir->ctime = now;
}

/* Records an open handle of client on ino: an unlinked file stays while one is open (T4). */
static int store_handle_put(struct store *s, uint64_t client_id, uint64_t handle, uint64_t ino)
{
	sqlite3_stmt *st = store_stmt(s, ST_HANDLE_PUT);

	if (!st)
		return STORE_BROKEN;
	sqlite3_bind_int64(st, 1, (int64_t)client_id);
	sqlite3_bind_int64(st, 2, (int64_t)handle);
	sqlite3_bind_int64(st, 3, (int64_t)ino);
	return store_done(st);
}

/* create / mknod, mkdir, symlink, create_open: a new inode named WIRE_INO_FROM_OP(op) under parent. The
 * checks follow the kernel's order: the type (mknod) or target (symlink) first, then the parent,
 * then the name. */
static int store_op_new(const struct store_op_env *e)
{
	struct store *s = e->s;
	const struct wire_fs_op *op = e->op;
	struct store_inode parent, in = { 0 };
	uint64_t existing;
	int rc;

	in.ino = WIRE_INO_FROM_OP(e->ctx->op);
	in.nlink = 1;
	in.atime = in.mtime = in.ctime = e->ctx->now;
	switch (op->type) {
	case WIRE_FS_MKDIR:
		in.mode = S_IFDIR | (op->mode & 01777); /* mkdir(2) ignores suid and sgid in mode */
		in.nlink = 2;
		break;
	case WIRE_FS_SYMLINK:
		if (op->data_len == 0)
			return -ENOENT;
		if (op->data_len > WIRE_SYMLINK_MAX)
			return -ENAMETOOLONG;
		in.mode = S_IFLNK | 0777;
		in.size = op->data_len;
		break;
	default: /* WIRE_FS_CREATE, WIRE_FS_CREATE_OPEN (a regular file only) */
		if (op->type == WIRE_FS_CREATE_OPEN && (op->mode & S_IFMT) && !S_ISREG(op->mode))
			return -EINVAL;
		switch (op->mode & S_IFMT) {
		case 0:
		case S_IFREG:
			in.mode = S_IFREG | (op->mode & 07777);
			break;
		case S_IFIFO:
		case S_IFSOCK:
			in.mode = op->mode & (S_IFMT | 07777);
			break;
		case S_IFCHR:
		case S_IFBLK:
			in.mode = op->mode & (S_IFMT | 07777);
			in.rdev = op->rdev;
			break;
		case S_IFDIR:
			return -EPERM;
		default:
			return -EINVAL;
		}
		break;
	}
	if ((rc = store_dir_get(s, op->parent, &parent)))
		return rc;
	if ((rc = store_name_check(op->name, op->name_len)))
		return rc;
	if ((rc = store_dirent_get(s, op->parent, op->name, op->name_len, &existing)) != -ENOENT)
		return rc ? rc : -EEXIST;
	if (op->type == WIRE_FS_MKDIR && parent.nlink >= WIRE_LINK_MAX)
		return -EMLINK;
	store_new_owner(e, &parent, &in);
	if ((rc = store_inode_put(s, &in)) ||
	    (rc = store_dirent_put(s, op->parent, op->name, op->name_len, in.ino, e->ctx->op, 0)))
		return rc;
	if (op->type == WIRE_FS_SYMLINK) {
		sqlite3_stmt *st = store_stmt(s, ST_SYMLINK_PUT);
		if (!st)
			return STORE_BROKEN;
		sqlite3_bind_int64(st, 1, (int64_t)in.ino);
		sqlite3_bind_blob(st, 2, op->data, (int)op->data_len, SQLITE_STATIC);
		if ((rc = store_done(st)))
			return rc;
	}
	if (op->type == WIRE_FS_CREATE_OPEN && (rc = store_handle_put(s, e->ctx->client_id, op->handle, in.ino)))
		return rc;
	if (op->type == WIRE_FS_MKDIR)
		parent.nlink++;
	store_touch_dir(&parent, e->ctx->now);
	if ((rc = store_inode_put(s, &parent)))
		return rc;
	store_attr_fill(&in, &e->res->attr);
	return 0;
}

static int store_op_link(const struct store_op_env *e)
{
	struct store *s = e->s;
	const struct wire_fs_op *op = e->op;
	struct store_inode in, parent;
	uint64_t existing;
	int rc;

	if ((rc = store_inode_get(s, op->ino, &in)))
		return rc;
	if ((rc = store_dir_get(s, op->parent, &parent)))
		return rc;
	if ((rc = store_name_check(op->name, op->name_len)))
		return rc;
	if ((rc = store_dirent_get(s, op->parent, op->name, op->name_len, &existing)) != -ENOENT)
		return rc ? rc : -EEXIST;
	if (S_ISDIR(in.mode))
		return -EPERM;
	if (in.nlink == 0)
		return -ENOENT; /* unlinked, held open only */
	if (in.nlink >= WIRE_LINK_MAX)
		return -EMLINK;
	in.nlink++;
	in.ctime = e->ctx->now;
	store_touch_dir(&parent, e->ctx->now);
	if ((rc = store_dirent_put(s, op->parent, op->name, op->name_len, in.ino, e->ctx->op, 0)) ||
	    (rc = store_inode_put(s, &in)) || (rc = store_inode_put(s, &parent)))
		return rc;
	store_attr_fill(&in, &e->res->attr);
	return 0;
}

/* Removes the entry (parent, name) naming victim; parent is updated by the caller. */
static int store_remove_entry(struct store *s, struct store_inode *parent, const char *name, uint32_t len,
                              struct store_inode *victim, int64_t now)
{
	int rc = store_dirent_del(s, parent->ino, name, len);

	if (rc)
		return rc;
	if (S_ISDIR(victim->mode)) {
		victim->nlink = 0;
		parent->nlink--;
	} else {
		victim->nlink--;
	}
	victim->ctime = now;
	if ((rc = store_inode_put(s, victim)))
		return rc;
	return store_inode_maybe_free(s, victim);
}

/* 1 when dir has entries, 0 when empty, or STORE_BROKEN. */
static int store_dir_has_entries(struct store *s, uint64_t ino)
{
	sqlite3_stmt *st = store_stmt(s, ST_DIRENT_ANY);
	int rc;

	if (!st)
		return STORE_BROKEN;
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : STORE_BROKEN;
}

/* unlink and rmdir. */
static int store_op_remove(const struct store_op_env *e)
{
	struct store *s = e->s;
	const struct wire_fs_op *op = e->op;
	struct store_inode parent, victim;
	uint64_t ino;
	int rc;

	if ((rc = store_dir_get(s, op->parent, &parent)))
		return rc;
	if ((rc = store_name_check(op->name, op->name_len)))
		return rc;
	if ((rc = store_dirent_get(s, op->parent, op->name, op->name_len, &ino)))
		return rc;
	if ((rc = store_inode_get(s, ino, &victim)))
		return rc < 0 && rc != STORE_BROKEN ? STORE_BROKEN : rc; /* a dirent without an inode */
	if (op->type == WIRE_FS_UNLINK && S_ISDIR(victim.mode))
		return -EISDIR;
	if (op->type == WIRE_FS_RMDIR) {
		if (!S_ISDIR(victim.mode))
			return -ENOTDIR;
		if ((rc = store_dir_has_entries(s, ino)))
			return rc == 1 ? -ENOTEMPTY : rc;
	}
	if ((rc = store_remove_entry(s, &parent, op->name, op->name_len, &victim, e->ctx->now)))
		return rc;
	store_touch_dir(&parent, e->ctx->now);
	return store_inode_put(s, &parent);
}

/* rename(2) and renameat2(2) with RENAME_NOREPLACE and RENAME_EXCHANGE, checks in the kernel's order. */
static int store_op_rename(const struct store_op_env *e)
{
	struct store *s = e->s;
	const struct wire_fs_op *op = e->op;
	struct store_inode from_dir, to_dir, src, dst;
	struct store_inode *from = &from_dir, *to = &to_dir; /* one row when both parents are the same */
	uint64_t src_ino, dst_ino = 0;
	bool exchange = op->flags & RENAME_EXCHANGE, noreplace = op->flags & RENAME_NOREPLACE;
	bool same_dir = op->parent == op->new_parent;
	int rc;

	if ((op->flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE)) || (exchange && noreplace))
		return -EINVAL;
	/* Linux resolves both parents before it looks at either name (do_renameat2). */
	if ((rc = store_dir_get(s, op->parent, &from_dir)) || (rc = store_dir_get(s, op->new_parent, &to_dir)))
		return rc;
	if (same_dir)
		to = from;
	if ((rc = store_name_check(op->name, op->name_len)))
		return rc;
	if ((rc = store_dirent_get(s, op->parent, op->name, op->name_len, &src_ino)))
		return rc;
	if ((rc = store_name_check(op->new_name, op->new_name_len)))
		return rc;
	rc = store_dirent_get(s, op->new_parent, op->new_name, op->new_name_len, &dst_ino);
	if (rc && rc != -ENOENT)
		return rc;
	bool dst_exists = rc == 0;
	if ((rc = store_inode_get(s, src_ino, &src)))
		return STORE_BROKEN;
	if (dst_exists && (rc = store_inode_get(s, dst_ino, &dst)))
		return STORE_BROKEN;

	if (noreplace && dst_exists)
		return -EEXIST;
	if (exchange && !dst_exists)
		return -ENOENT;
	/* Moving a directory under itself (the source is an ancestor of the new parent). */
	if (S_ISDIR(src.mode) && !same_dir) {
		if ((rc = store_is_ancestor(s, src_ino, op->new_parent)))
			return rc == 1 ? -EINVAL : rc;
	}
	if (dst_exists && S_ISDIR(dst.mode) && !same_dir) {
		if ((rc = store_is_ancestor(s, dst_ino, op->parent)))
			return rc == 1 ? (exchange ? -EINVAL : -ENOTEMPTY) : rc;
	}
	if (dst_exists && src_ino == dst_ino)
		return 0; /* two links to one inode, or the same entry: nothing to do */

	int64_t now = e->ctx->now;
	if (exchange) {
		bool src_dir = S_ISDIR(src.mode), dst_dir = S_ISDIR(dst.mode);
		if (!same_dir && src_dir != dst_dir) {
			if (src_dir) {
				if (to->nlink >= WIRE_LINK_MAX)
					return -EMLINK;
				from->nlink--, to->nlink++;
			} else {
				if (from->nlink >= WIRE_LINK_MAX)
					return -EMLINK;
				from->nlink++, to->nlink--;
			}
		}
		if ((rc = store_dirent_del(s, op->parent, op->name, op->name_len)) ||
		    (rc = store_dirent_del(s, op->new_parent, op->new_name, op->new_name_len)) ||
		    (rc = store_dirent_put(s, op->parent, op->name, op->name_len, dst_ino, e->ctx->op, 0)) ||
		    (rc = store_dirent_put(s, op->new_parent, op->new_name, op->new_name_len, src_ino, e->ctx->op, 1)))
			return rc;
		src.ctime = dst.ctime = now;
		if ((rc = store_inode_put(s, &src)) || (rc = store_inode_put(s, &dst)))
			return rc;
	} else {
		if (dst_exists) {
			if (S_ISDIR(src.mode) && !S_ISDIR(dst.mode))
				return -ENOTDIR;
			if (!S_ISDIR(src.mode) && S_ISDIR(dst.mode))
				return -EISDIR;
			if (S_ISDIR(dst.mode) && (rc = store_dir_has_entries(s, dst_ino)))
				return rc == 1 ? -ENOTEMPTY : rc;
		}
		if (S_ISDIR(src.mode) && !same_dir && !(dst_exists) && to->nlink >= WIRE_LINK_MAX)
			return -EMLINK;
		if (dst_exists && (rc = store_remove_entry(s, to, op->new_name, op->new_name_len, &dst, now)))
			return rc;
		if ((rc = store_dirent_del(s, op->parent, op->name, op->name_len)) ||
		    (rc = store_dirent_put(s, op->new_parent, op->new_name, op->new_name_len, src_ino, e->ctx->op, 0)))
			return rc;
		if (S_ISDIR(src.mode) && !same_dir)
			from->nlink--, to->nlink++;
		src.ctime = now;
		if ((rc = store_inode_put(s, &src)))
			return rc;
	}
	store_touch_dir(from, now);
	store_touch_dir(to, now);
	if ((rc = store_inode_put(s, from)))
		return rc;
	return same_dir ? 0 : store_inode_put(s, to);
}

/* chown clears suid, and sgid when group-execute is set (Linux setattr_should_drop_sgid, as root). */
static void store_kill_priv_on_chown(struct store_inode *in)
{
	if (S_ISDIR(in->mode))
		return;
	in->mode &= ~(uint32_t)S_ISUID;
	if (in->mode & S_IXGRP)
		in->mode &= ~(uint32_t)S_ISGID;
}

/* write by a caller without CAP_FSETID (the kernel says so with kill_suidgid). */
static void store_kill_priv_on_write(struct store_inode *in)
{
	in->mode &= ~(uint32_t)S_ISUID;
	if (in->mode & S_IXGRP)
		in->mode &= ~(uint32_t)S_ISGID;
}

static int store_op_setattr(const struct store_op_env *e)
{
	struct store *s = e->s;
	const struct wire_fs_op *op = e->op;
	struct store_inode in;
	int rc;

	if ((rc = store_inode_get(s, op->ino, &in)))
		return rc;
	if (op->valid & WIRE_SET_SIZE) {
		if (S_ISDIR(in.mode))
			return -EISDIR;
		if (!S_ISREG(in.mode))
			return -EINVAL;
		if (op->size > WIRE_FILE_SIZE_MAX)
			return -EFBIG;
		if (op->size < in.size && (rc = store_data_truncate(s, &in, op->size)))
			return rc;
		in.size = op->size;
		in.mtime = e->ctx->now; /* truncate(2) updates mtime even when the size does not change */
		if (op->kill_suidgid)
			store_kill_priv_on_write(&in);
	}
	if (op->valid & (WIRE_SET_UID | WIRE_SET_GID)) {
		if (op->valid & WIRE_SET_UID)
			in.uid = op->set_uid;
		if (op->valid & WIRE_SET_GID)
			in.gid = op->set_gid;
		store_kill_priv_on_chown(&in);
	}
	if (op->valid & WIRE_SET_MODE)
		in.mode = (in.mode & S_IFMT) | (op->mode & 07777);
	if (op->valid & WIRE_SET_ATIME)
		in.atime = op->atime;
	if (op->valid & WIRE_SET_MTIME)
		in.mtime = op->mtime;
	if (op->valid & WIRE_SET_ATIME_NOW) /* UTIME_NOW: the primary's time for this op */
		in.atime = e->ctx->now;
	if (op->valid & WIRE_SET_MTIME_NOW)
		in.mtime = e->ctx->now;
	in.ctime = e->ctx->now;
	if ((rc = store_inode_put(s, &in)))
		return rc;
	store_attr_fill(&in, &e->res->attr);
	return 0;
}

/* A regular file for data operations: -EISDIR for a directory, -EINVAL for anything else. */
static int store_file_get(struct store *s, uint64_t ino, struct store_inode *in)
{
	int rc = store_inode_get(s, ino, in);

	if (rc)
		return rc;
	if (S_ISDIR(in->mode))
		return -EISDIR;
	return S_ISREG(in->mode) ? 0 : -EINVAL;
}

static int store_op_write(const struct store_op_env *e)
{
	struct store *s = e->s;
	const struct wire_fs_op *op = e->op;
	struct store_inode in;
	int rc;

	if (op->flags & ~WIRE_WRITE_APPEND)
		return -EINVAL;
	if ((rc = store_file_get(s, op->ino, &in)))
		return rc;
	if (op->data_len == 0)
		return 0; /* write(2) of nothing has no other effect */
	/* O_APPEND: at the end as it is now, whatever offset the writer's kernel believed. */
	uint64_t offset = op->flags & WIRE_WRITE_APPEND ? in.size : op->offset;
	if (offset >= WIRE_FILE_SIZE_MAX)
		return -EFBIG;
	/* Like the kernel at the size limit: a short write, EFBIG only when nothing fits. */
	uint64_t len = op->data_len;
	if (len > WIRE_FILE_SIZE_MAX - offset)
		len = WIRE_FILE_SIZE_MAX - offset;
	if ((rc = store_data_write(s, &in, offset, op->data, len)))
		return rc;
	if (offset + len > in.size)
		in.size = offset + len;
	{
		in.mtime = in.ctime = e->ctx->now;
		if (op->kill_suidgid)
			store_kill_priv_on_write(&in);
	}
	if ((rc = store_inode_put(s, &in)))
		return rc;
	e->res->written = len;
	store_attr_fill(&in, &e->res->attr);
	return 0;
}

static int store_op_fallocate(const struct store_op_env *e)
{
	struct store *s = e->s;
	const struct wire_fs_op *op = e->op;
	struct store_inode in;
	int rc;

	if (op->length == 0)
		return -EINVAL; /* before the flags, as vfs_fallocate checks */
	if (op->flags & ~(uint32_t)(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
		return -EOPNOTSUPP;
	if ((op->flags & FALLOC_FL_PUNCH_HOLE) && !(op->flags & FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if ((rc = store_inode_get(s, op->ino, &in)))
		return rc;
	if (S_ISDIR(in.mode))
		return -EISDIR;
	if (!S_ISREG(in.mode))
		return -ENODEV;
	if (op->offset > WIRE_FILE_SIZE_MAX || op->length > WIRE_FILE_SIZE_MAX - op->offset)
		return -EFBIG;
	uint64_t end = op->offset + op->length;
	if (op->flags & FALLOC_FL_PUNCH_HOLE) {
		uint64_t stop = end < in.size ? end : in.size;
		if (op->offset < stop && (rc = store_data_zero(s, &in, op->offset, stop - op->offset)))
			return rc;
		in.mtime = in.ctime = e->ctx->now;
	} else if (!(op->flags & FALLOC_FL_KEEP_SIZE) && end > in.size) {
		/* Space is not reserved: the store grows as data arrives. Only the size changes. */
		in.size = end;
		in.ctime = e->ctx->now;
	}
	if ((rc = store_inode_put(s, &in)))
		return rc;
	store_attr_fill(&in, &e->res->attr);
	return 0;
}

static int store_op_copy_range(const struct store_op_env *e)
{
	struct store *s = e->s;
	const struct wire_fs_op *op = e->op;
	struct store_inode src, dst;
	int rc;

	if ((rc = store_file_get(s, op->ino, &src)) || (rc = store_file_get(s, op->target_ino, &dst)))
		return rc;
	/* copy_file_range(2): the count is cut at the source's end first; the checks see the cut count. */
	uint64_t len = op->offset >= src.size ? 0 : src.size - op->offset;
	if (len > op->length)
		len = op->length;
	if (op->ino == op->target_ino && op->offset + len > op->target_offset && op->target_offset + len > op->offset)
		return -EINVAL; /* overlapping ranges of one file */
	if (len && op->target_offset >= WIRE_FILE_SIZE_MAX)
		return -EFBIG;
	if (len > WIRE_FILE_SIZE_MAX - op->target_offset)
		len = WIRE_FILE_SIZE_MAX - op->target_offset;
	uint64_t done = 0;
	while (done < len) {
		uint64_t n = len - done < STORE_CHUNK_SIZE ? len - done : STORE_CHUNK_SIZE;
		if ((rc = store_data_read(s, src.ino, op->offset + done, s->chunk2, n)))
			return rc;
		/* Zeros (a hole, usually) are copied as a hole: cp of a sparse file stays sparse. */
		bool zeros = s->chunk2[0] == 0 && memcmp(s->chunk2, s->chunk2 + 1, n - 1) == 0;
		rc = zeros ? store_data_zero(s, &dst, op->target_offset + done, n)
		           : store_data_write(s, &dst, op->target_offset + done, s->chunk2, n);
		if (rc)
			return rc;
		done += n;
	}
	if (len) { /* dst holds the changes (one file: src and dst are copies of the same row) */
		if (op->target_offset + len > dst.size)
			dst.size = op->target_offset + len;
		dst.mtime = dst.ctime = e->ctx->now;
		if ((rc = store_inode_put(s, &dst)))
			return rc;
	}
	e->res->written = len;
	store_attr_fill(&dst, &e->res->attr);
	return 0;
}

static int store_xattr_name_check(const char *name, uint32_t len)
{
	static const char *const prefixes[] = { "user.", "trusted.", "security.", "system." };

	if (len == 0 || len > WIRE_XATTR_NAME_MAX)
		return -ERANGE;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i]);
		if (len >= n && memcmp(name, prefixes[i], n) == 0)
			return len == n || memchr(name, '\0', len) ? -EINVAL : 0; /* "user." alone: EINVAL */
	}
	return -EOPNOTSUPP;
}

static int store_op_xattr(const struct store_op_env *e)
{
	struct store *s = e->s;
	const struct wire_fs_op *op = e->op;
	struct store_inode in;
	int rc;

	/* Linux checks the arguments as it copies them in, before it looks up the file (setxattr_copy). */
	if (op->type == WIRE_FS_SETXATTR && (op->flags & ~(uint32_t)(XATTR_CREATE | XATTR_REPLACE)))
		return -EINVAL;
	if (op->name_len == 0 || op->name_len > WIRE_XATTR_NAME_MAX)
		return -ERANGE;
	if (op->type == WIRE_FS_SETXATTR && op->data_len > WIRE_XATTR_VALUE_MAX)
		return -E2BIG;
	if ((rc = store_inode_get(s, op->ino, &in)))
		return rc;
	/* user.* attributes exist only on regular files and directories (xattr(7)); xattr_permission()
	 * runs before the prefix is resolved. */
	if (op->name_len >= 5 && memcmp(op->name, "user.", 5) == 0 && !S_ISREG(in.mode) && !S_ISDIR(in.mode))
		return -EPERM;
	if ((rc = store_xattr_name_check(op->name, op->name_len)))
		return rc;
	sqlite3_stmt *st = store_stmt(s, ST_XATTR_GET);
	if (!st)
		return STORE_BROKEN;
	sqlite3_bind_int64(st, 1, (int64_t)in.ino);
	sqlite3_bind_blob(st, 2, op->name, (int)op->name_len, SQLITE_STATIC);
	int step = sqlite3_step(st);
	sqlite3_reset(st);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return STORE_BROKEN;
	bool exists = step == SQLITE_ROW;

	if (op->type == WIRE_FS_REMOVEXATTR) {
		if (!exists)
			return -ENODATA;
		st = store_stmt(s, ST_XATTR_DEL);
	} else {
		if ((op->flags & XATTR_CREATE) && exists)
			return -EEXIST;
		if ((op->flags & XATTR_REPLACE) && !exists)
			return -ENODATA;
		st = store_stmt(s, ST_XATTR_PUT);
	}
	if (!st)
		return STORE_BROKEN;
	sqlite3_bind_int64(st, 1, (int64_t)in.ino);
	sqlite3_bind_blob(st, 2, op->name, (int)op->name_len, SQLITE_STATIC);
	if (op->type == WIRE_FS_SETXATTR)
		sqlite3_bind_blob(st, 3, op->data ? (const void *)op->data : "", (int)op->data_len, SQLITE_STATIC);
	if ((rc = store_done(st)))
		return rc;
	in.ctime = e->ctx->now;
	if ((rc = store_inode_put(s, &in)))
		return rc;
	store_attr_fill(&in, &e->res->attr);
	return 0;
}

static int store_op_open(const struct store_op_env *e)
{
	struct store *s = e->s;
	const struct wire_fs_op *op = e->op;
	struct store_inode in;
	int rc;

	if ((rc = store_inode_get(s, op->ino, &in)))
		return rc;
	if ((rc = store_handle_put(s, e->ctx->client_id, op->handle, in.ino)))
		return rc;
	store_attr_fill(&in, &e->res->attr);
	return 0;
}

/* Closes the handle; an unlinked inode goes with its last handle (T4). */
static int store_op_release(const struct store_op_env *e)
{
	struct store *s = e->s;
	sqlite3_stmt *st = store_stmt(s, ST_HANDLE_DEL);
	struct store_inode in;
	uint64_t ino = 0;
	int rc, step;

	if (!st)
		return STORE_BROKEN;
	sqlite3_bind_int64(st, 1, (int64_t)e->ctx->client_id);
	sqlite3_bind_int64(st, 2, (int64_t)e->op->handle);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		ino = (uint64_t)sqlite3_column_int64(st, 0);
	while (step == SQLITE_ROW)
		step = sqlite3_step(st);
	sqlite3_reset(st);
	if (step != SQLITE_DONE)
		return STORE_BROKEN;
	if (!ino)
		return -EBADF;
	if ((rc = store_inode_get(s, ino, &in)))
		return rc == -ENOENT ? STORE_BROKEN : rc;
	return store_inode_maybe_free(s, &in);
}

/* A session evicted from the client table: its handles close, as if released. */
static int store_session_expire(struct store *s, uint64_t client_id)
{
	sqlite3_stmt *st = store_stmt(s, ST_HANDLE_CLIENT_INOS);
	uint64_t *inos = NULL;
	size_t count = 0, cap = 0;
	int rc = 0, step;

	if (!st)
		return STORE_BROKEN;
	/* Collect first: freeing inodes while the query runs would disturb it. */
	sqlite3_bind_int64(st, 1, (int64_t)client_id);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == cap) {
			uint64_t *more = realloc(inos, (cap = cap ? cap * 2 : 16) * sizeof(*inos));
			if (!more) {
				step = SQLITE_NOMEM;
				break;
			}
			inos = more;
		}
		inos[count++] = (uint64_t)sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	if (step != SQLITE_DONE)
		rc = STORE_BROKEN;
	if (!rc)
		rc = store_ino_stmt(s, ST_HANDLE_DEL_CLIENT, client_id);
	for (size_t i = 0; i < count && !rc; i++) {
		struct store_inode in;
		if ((rc = store_inode_get(s, inos[i], &in)))
			rc = STORE_BROKEN; /* a handle on a missing inode */
		else
			rc = store_inode_maybe_free(s, &in);
	}
	free(inos);
	return rc;
}

static int store_op(const struct store_op_env *e)
{
	switch (e->op->type) {
	case WIRE_FS_CREATE:
	case WIRE_FS_CREATE_OPEN:
	case WIRE_FS_MKDIR:
	case WIRE_FS_SYMLINK:
		return store_op_new(e);
	case WIRE_FS_LINK:
		return store_op_link(e);
	case WIRE_FS_UNLINK:
	case WIRE_FS_RMDIR:
		return store_op_remove(e);
	case WIRE_FS_RENAME:
		return store_op_rename(e);
	case WIRE_FS_SETATTR:
		return store_op_setattr(e);
	case WIRE_FS_WRITE:
		return store_op_write(e);
	case WIRE_FS_FALLOCATE:
		return store_op_fallocate(e);
	case WIRE_FS_COPY_RANGE:
		return store_op_copy_range(e);
	case WIRE_FS_SETXATTR:
	case WIRE_FS_REMOVEXATTR:
		return store_op_xattr(e);
	case WIRE_FS_OPEN:
		return store_op_open(e);
	case WIRE_FS_RELEASE:
		return store_op_release(e);
	}
	return -EINVAL;
}

/* A transaction of the store's own, unless the caller holds one open (store_begin). */
static int store_tx_open(struct store *s)
{
	if (s->outer < 0)
		return STORE_BROKEN; /* the outer transaction failed: nothing more until store_end */
	return s->outer ? 0 : store_exec(s, "BEGIN IMMEDIATE");
}

static int store_tx_close(struct store *s)
{
	return s->outer ? 0 : store_exec(s, "COMMIT");
}

/* A failure inside store_begin .. store_end abandons the whole outer transaction: the
 * caller stops on STORE_BROKEN, and a restart replays from what was durable before. */
static void store_tx_abort(struct store *s)
{
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	if (s->outer)
		s->outer = -1; /* store_end reports it */
}

int store_begin(struct store *s)
{
	if (s->outer)
		return STORE_BROKEN; /* not nested: the caller's bug */
	if (store_exec(s, "BEGIN IMMEDIATE"))
		return STORE_BROKEN;
	s->outer = 1;
	return 0;
}

int store_end(struct store *s)
{
	int broken = s->outer != 1;
	bool lazy = s->lazy, sync = s->lazy_sync;

	s->outer = 0;
	s->lazy = s->lazy_sync = false;
	if (broken || store_exec(s, "COMMIT")) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		if (lazy)
			store_exec(s, "PRAGMA synchronous = FULL");
		return STORE_BROKEN;
	}
	if (!lazy)
		return 0;
	/*
	 * A lazy group that became durable: what synchronous=FULL does after a commit, the WAL
	 * synced through SQLite's own file object (in WAL mode FULL is NORMAL plus this sync).
	 */
	sqlite3_file *wal = NULL;
	int rc = 0;
	if (sync && (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) != SQLITE_OK || !wal ||
	             !wal->pMethods || wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL) != SQLITE_OK))
		rc = STORE_BROKEN;
	if (store_exec(s, "PRAGMA synchronous = FULL"))
		rc = STORE_BROKEN;
	return rc;
}

int store_begin_lazy(struct store *s)
{
	if (s->outer)
		return STORE_BROKEN;
	if (store_exec(s, "PRAGMA synchronous = NORMAL"))
		return STORE_BROKEN;
	s->lazy = true;
	s->lazy_sync = false;
	if (store_begin(s)) {
		s->lazy = false;
		store_exec(s, "PRAGMA synchronous = FULL");
		return STORE_BROKEN;
	}
	return 0;
}

void store_make_durable(struct store *s)
{
	s->lazy_sync = true;
}

static int store_session_put(struct store *s, const struct store_session_row *row)
{
	sqlite3_stmt *st = store_stmt(s, ST_SESSION_PUT);

	if (!st)
		return STORE_BROKEN;
	sqlite3_bind_int64(st, 1, row->slot);
	sqlite3_bind_int64(st, 2, (int64_t)row->client_id);
	sqlite3_bind_int64(st, 3, (int64_t)row->session);
	sqlite3_bind_int64(st, 4, (int64_t)row->request);
	sqlite3_bind_int64(st, 5, (int64_t)row->op);
	sqlite3_bind_int64(st, 6, row->status);
	sqlite3_bind_blob(st, 7, row->result ? (const void *)row->result : "", (int)row->result_len, SQLITE_STATIC);
	return store_done(st);
}

static int store_meta_put(struct store *s, const char *key, int64_t value)
{
	sqlite3_stmt *st = store_stmt(s, ST_META_PUT);

	if (!st)
		return STORE_BROKEN;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, value);
	return store_done(st);
}

/* One op inside the caller's transaction: the eviction, the op in its own SAVEPOINT (T2), the row.
 * Returns 0 with the op's result in *res, or STORE_BROKEN. */
static int store_apply_one(struct store *s, const struct store_apply_ctx *ctx, const struct wire_fs_op *op,
                           const struct store_session_row *row, struct wire_fs_result *res)
{
	struct store_op_env e = { .s = s, .ctx = ctx, .op = op, .res = res };
	int rc;

	memset(res, 0, sizeof(*res));
	if (ctx->evicted_client && (rc = store_session_expire(s, ctx->evicted_client)))
		return STORE_BROKEN;
	if (op) {
		if (store_exec(s, "SAVEPOINT op"))
			return STORE_BROKEN;
		rc = store_op(&e);
		if (rc == STORE_BROKEN)
			return STORE_BROKEN;
		if (rc < 0) {
			if (store_exec(s, "ROLLBACK TO op"))
				return STORE_BROKEN;
			memset(res, 0, sizeof(*res));
			res->err = rc;
		}
		if (store_exec(s, "RELEASE op"))
			return STORE_BROKEN;
	}
	if (row) {
		/* The row caches the reply: this op's encoded result, or the row's own for a registration. */
		struct store_session_row r = *row;
		uint8_t encoded[WIRE_FS_RESULT_SIZE_MAX];
		if (op) {
			struct wire_buf b;
			wire_buf_init(&b);
			if (wire_fs_result_encode(res, &b) || b.len > sizeof(encoded)) {
				wire_buf_free(&b);
				return STORE_BROKEN;
			}
			memcpy(encoded, b.data, b.len);
			r.result = encoded;
			r.result_len = (uint32_t)b.len;
			wire_buf_free(&b);
		}
		if (store_session_put(s, &r))
			return STORE_BROKEN;
	}
	return 0;
}

int store_apply_batch(struct store *s, const struct store_apply_ctx *ctx, const struct wire_fs_op *const *ops,
                      const struct store_session_row *const *rows, uint32_t count, struct wire_fs_result *res)
{
	uint64_t commit = s->commit;

	if (count == 0)
		return 0;
	for (uint32_t i = 0; i < count; i++)
		if (ctx[i].op != commit + 1 + i)
			return STORE_BROKEN; /* out of order: the caller's bug, and replaying would diverge */
	if (store_tx_open(s))
		return STORE_BROKEN;
	for (uint32_t i = 0; i < count; i++)
		if (store_apply_one(s, &ctx[i], ops[i], rows ? rows[i] : NULL, &res[i]))
			goto err_rollback;
	if (store_meta_put(s, "commit", (int64_t)(commit + count)) || store_tx_close(s))
		goto err_rollback;
	s->commit = commit + count;
	return 0;

err_rollback:
	store_tx_abort(s);
	return STORE_BROKEN;
}

int store_apply(struct store *s, const struct store_apply_ctx *ctx, const struct wire_fs_op *op,
                const struct store_session_row *row, struct wire_fs_result *res)
{
	memset(res, 0, sizeof(*res));
	return store_apply_batch(s, ctx, &op, &row, 1, res);
}

/* ------------------------------------------------------------------ open and close */

static int store_meta_get(struct store *s, const char *key, int64_t *value)
{
	sqlite3_stmt *st = store_stmt(s, ST_META_GET);
	int rc;

	if (!st)
		return STORE_BROKEN;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*value = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? -ENOENT : STORE_BROKEN;
}

static int store_format(struct store *s, int64_t created_ns)
{
	struct store_inode root = {
		.ino = WIRE_INO_ROOT,
		.mode = S_IFDIR | 0755,
		.nlink = 2,
		.atime = created_ns,
		.mtime = created_ns,
		.ctime = created_ns,
	};

	if (store_exec(s, "BEGIN IMMEDIATE") || store_exec(s, store_schema) ||
	    store_meta_put(s, "magic", STORE_MAGIC) || store_meta_put(s, "schema", STORE_SCHEMA_VERSION) ||
	    store_meta_put(s, "commit", 0) || store_inode_put(s, &root) || store_exec(s, "COMMIT")) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return STORE_BROKEN;
	}
	return 0;
}

static int store_setup(struct store *s, int64_t created_ns, const char **why);

int store_open(struct store **out, const char *path, int64_t created_ns, const char **why)
{
	struct store *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (!s || !(s->chunk = malloc(STORE_CHUNK_SIZE)) || !(s->chunk2 = malloc(STORE_CHUNK_SIZE))) {
		*why = "store: out of memory";
		rc = -ENOMEM;
		goto err_free;
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		*why = "store: cannot open the database file";
		rc = -EIO;
		goto err_free;
	}
	if ((rc = store_setup(s, created_ns, why)))
		goto err_free;
	*out = s;
	return 0;

err_free:
	store_close(s);
	return rc;
}

/* The rest of opening, on s->db: modes, the schema of a new database, the checks. */
static int store_setup(struct store *s, int64_t created_ns, const char **why)
{
	int64_t magic = 0, schema = 0, commit = 0;
	int rc, tables = 0;

	/* WAL, and FULL so that a committed transaction survives power loss (VR-PROTOCOL.md §0). */
	if (store_exec(s, "PRAGMA journal_mode = WAL") || store_exec(s, "PRAGMA synchronous = FULL") ||
	    store_exec(s, "PRAGMA foreign_keys = OFF")) {
		*why = "store: not an SQLite database, or it cannot be written";
		rc = -EIO;
		goto err_free;
	}
	sqlite3_stmt *count;
	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'", -1, &count, NULL) !=
	    SQLITE_OK) {
		*why = "store: not an SQLite database";
		rc = -EIO;
		goto err_free;
	}
	if (sqlite3_step(count) == SQLITE_ROW)
		tables = sqlite3_column_int(count, 0);
	sqlite3_finalize(count);
	if (tables == 0 && (rc = store_format(s, created_ns))) {
		*why = "store: cannot create the schema";
		rc = -EIO;
		goto err_free;
	}
	if (store_meta_get(s, "magic", &magic) || magic != STORE_MAGIC) {
		*why = "store: the database is not a vrfs store";
		rc = -EINVAL;
		goto err_free;
	}
	if (store_meta_get(s, "schema", &schema) || schema != STORE_SCHEMA_VERSION) {
		*why = "store: unknown schema version (written by another vrfs version)";
		rc = -EPROTO;
		goto err_free;
	}
	if (store_meta_get(s, "commit", &commit) || commit < 0) {
		*why = "store: commit-number missing";
		rc = -EINVAL;
		goto err_free;
	}
	if (store_exec(s, store_stage_schema)) {
		*why = "store: cannot create the staging table";
		rc = -EIO;
		goto err_free;
	}
	s->commit = (uint64_t)commit;
	return 0;

err_free:
	return rc;
}

struct store_copy {
	struct store *src;
	struct store *dst; /* opened on path, filled page by page */
	sqlite3_backup *b;
	bool done;
};

int store_copy_begin(struct store *src, const char *path, struct store_copy **out, const char **why)
{
	struct store_copy *c = calloc(1, sizeof(*c));
	struct store *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (!c || !s || !(s->chunk = malloc(STORE_CHUNK_SIZE)) || !(s->chunk2 = malloc(STORE_CHUNK_SIZE))) {
		*why = "store: out of memory";
		rc = -ENOMEM;
		goto err_free;
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		*why = "store: cannot create the copy";
		rc = -EIO;
		goto err_free;
	}
	c->b = sqlite3_backup_init(s->db, "main", src->db, "main");
	if (!c->b) {
		*why = "store: cannot start the copy";
		rc = -EIO;
		goto err_free;
	}
	c->src = src;
	c->dst = s;
	*out = c;
	return 0;

err_free:
	store_close(s);
	free(c);
	return rc;
}

int store_copy_step(struct store_copy *c, int pages, const char **why)
{
	if (c->done)
		return 1;
	if (c->src->outer) {
		*why = "store: cannot copy inside a group transaction";
		return -EBUSY;
	}
	int rc = sqlite3_backup_step(c->b, pages);
	if (rc == SQLITE_DONE) {
		c->done = true;
		return 1;
	}
	if (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return 0; /* more to copy (or try again at the next step) */
	*why = "store: the copy failed";
	return -EIO;
}

int store_copy_end(struct store_copy *c, struct store **out, const char **why)
{
	int rc = 0;

	*out = NULL;
	if (sqlite3_backup_finish(c->b) != SQLITE_OK && c->done) {
		*why = "store: the copy failed";
		rc = -EIO;
	} else if (!c->done) {
		*why = "store: the copy did not finish";
		rc = -EINTR;
	} else {
		rc = store_setup(c->dst, 0, why);
	}
	if (rc == 0)
		*out = c->dst;
	else
		store_close(c->dst);
	free(c);
	return rc;
}

int store_clone(struct store *src, const char *path, struct store **out, const char **why)
{
	struct store_copy *c;
	int rc;

	*out = NULL;
	if (src->outer) {
		*why = "store: cannot copy inside a group transaction";
		return -EBUSY;
	}
	if ((rc = store_copy_begin(src, path, &c, why)))
		return rc;
	rc = store_copy_step(c, -1, why);
	const char *ignored;
	int end = store_copy_end(c, out, rc < 0 ? &ignored : why);
	return rc < 0 ? rc : end;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	free(s->chunk);
	free(s->chunk2);
	free(s);
}

uint64_t store_commit(const struct store *s)
{
	return s->commit;
}

/* ------------------------------------------------------------------ reads */

static int store_read_rc(int rc)
{
	return rc == STORE_BROKEN ? -EIO : rc;
}

int store_getattr(struct store *s, uint64_t ino, struct wire_attr *attr)
{
	struct store_inode in;
	int rc = store_inode_get(s, ino, &in);

	if (rc)
		return store_read_rc(rc);
	store_attr_fill(&in, attr);
	return 0;
}

int store_lookup(struct store *s, uint64_t parent, const char *name, uint32_t name_len, struct wire_attr *attr)
{
	struct store_inode dir;
	uint64_t ino;
	int rc;

	if ((rc = store_dir_get(s, parent, &dir)))
		return store_read_rc(rc);
	if ((rc = store_name_check(name, name_len)))
		return rc;
	if ((rc = store_dirent_get(s, parent, name, name_len, &ino)))
		return store_read_rc(rc);
	return store_getattr(s, ino, attr);
}

int store_read(struct store *s, uint64_t ino, uint64_t offset, uint32_t len, uint8_t *buf, uint32_t *got)
{
	struct store_inode in;
	int rc = store_file_get(s, ino, &in);

	*got = 0;
	if (rc)
		return store_read_rc(rc);
	if (offset >= in.size)
		return 0;
	uint64_t n = in.size - offset < len ? in.size - offset : len;
	if ((rc = store_data_read(s, ino, offset, buf, n)))
		return store_read_rc(rc);
	*got = (uint32_t)n;
	return 0;
}

int store_readlink(struct store *s, uint64_t ino, char *buf, uint32_t *len)
{
	sqlite3_stmt *st = store_stmt(s, ST_SYMLINK_GET);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		struct store_inode in;
		int exists = store_inode_get(s, ino, &in);
		return exists ? store_read_rc(exists) : -EINVAL; /* not a symlink */
	}
	uint32_t n = (uint32_t)sqlite3_column_bytes(st, 0);
	memcpy(buf, sqlite3_column_blob(st, 0), n < *len ? n : *len);
	*len = n;
	sqlite3_reset(st);
	return 0;
}

int store_readdir(struct store *s, uint64_t ino, uint64_t cookie, int (*fn)(void *arg, const struct store_dirent *e),
                  void *arg)
{
	struct store_inode dir;
	struct store_dirent e;
	int rc = store_inode_get(s, ino, &dir);

	if (rc)
		return store_read_rc(rc);
	if (!S_ISDIR(dir.mode))
		return -ENOTDIR;
	/* Its own statement: fn may call other reads. */
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, store_sql[ST_DIRENT_LIST], -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	sqlite3_bind_int64(st, 2, (int64_t)cookie);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int n = sqlite3_column_bytes(st, 0);
		if (n < 0 || n > WIRE_NAME_MAX)
			continue;
		memcpy(e.name, sqlite3_column_blob(st, 0), (size_t)n);
		e.name[n] = '\0';
		e.name_len = (uint32_t)n;
		e.ino = (uint64_t)sqlite3_column_int64(st, 1);
		e.cookie = (uint64_t)sqlite3_column_int64(st, 2);
		e.mode = (uint32_t)sqlite3_column_int64(st, 3) & S_IFMT;
		if (fn(arg, &e))
			break;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

int store_getxattr(struct store *s, uint64_t ino, const char *name, uint32_t name_len, uint8_t *buf, uint32_t size,
                   uint32_t *len)
{
	struct store_inode in;
	int rc;

	if ((rc = store_inode_get(s, ino, &in)))
		return store_read_rc(rc);
	if ((rc = store_xattr_name_check(name, name_len)))
		return rc;
	sqlite3_stmt *st = store_stmt(s, ST_XATTR_GET);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	sqlite3_bind_blob(st, 2, name, (int)name_len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? -ENODATA : -EIO;
	}
	uint32_t n = (uint32_t)sqlite3_column_bytes(st, 0);
	*len = n;
	if (size > 0) {
		if (n > size) {
			sqlite3_reset(st);
			return -ERANGE;
		}
		if (n)
			memcpy(buf, sqlite3_column_blob(st, 0), n);
	}
	sqlite3_reset(st);
	return 0;
}

int store_listxattr(struct store *s, uint64_t ino, char *buf, uint32_t size, uint32_t *len)
{
	struct store_inode in;
	uint32_t total = 0;
	int rc;

	if ((rc = store_inode_get(s, ino, &in)))
		return store_read_rc(rc);
	sqlite3_stmt *st = store_stmt(s, ST_XATTR_LIST);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint32_t n = (uint32_t)sqlite3_column_bytes(st, 0);
		if (size > 0) {
			if (total + n + 1 > size) {
				sqlite3_reset(st);
				return -ERANGE;
			}
			memcpy(buf + total, sqlite3_column_blob(st, 0), n);
			buf[total + n] = '\0';
		}
		total += n + 1;
	}
	sqlite3_reset(st);
	*len = total;
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int store_statfs(struct store *s, struct store_statfs *stat)
{
	sqlite3_stmt *a = store_stmt(s, ST_COUNT_INODES);

	if (!a || sqlite3_step(a) != SQLITE_ROW)
		return -EIO;
	stat->inodes = (uint64_t)sqlite3_column_int64(a, 0);
	sqlite3_reset(a);
	sqlite3_stmt *b = store_stmt(s, ST_SUM_DATA);
	if (!b || sqlite3_step(b) != SQLITE_ROW)
		return -EIO;
	stat->data_bytes = (uint64_t)sqlite3_column_int64(b, 0);
	sqlite3_reset(b);
	return 0;
}

/* SEEK_DATA / SEEK_HOLE at the granularity of what chunks hold. */
int store_lseek(struct store *s, uint64_t ino, uint64_t offset, int whence, uint64_t *result)
{
	struct store_inode in;
	int rc = store_file_get(s, ino, &in);

	if (rc)
		return store_read_rc(rc);
	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return -EINVAL;
	if (offset >= in.size)
		return -ENXIO;
	uint64_t at = offset;
	for (;;) {
		sqlite3_stmt *st = store_stmt(s, ST_CHUNK_NEXT);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, (int64_t)ino);
		sqlite3_bind_int64(st, 2, (int64_t)(at / STORE_CHUNK_SIZE));
		rc = sqlite3_step(st);
		uint64_t idx = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : UINT64_MAX;
		uint64_t held = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 1) : 0;
		sqlite3_reset(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return -EIO;
		uint64_t start = idx == UINT64_MAX ? in.size : idx * STORE_CHUNK_SIZE;
		uint64_t end = idx == UINT64_MAX ? in.size : start + held;
		if (whence == SEEK_DATA) {
			if (idx == UINT64_MAX)
				return -ENXIO;
			if (end > at) {
				*result = start > at ? start : at;
				return 0;
			}
			at = (idx + 1) * STORE_CHUNK_SIZE; /* held part ends before at: next chunk */
		} else {
			if (start > at || end <= at) {
				*result = at < in.size ? at : in.size;
				return 0;
			}
			at = end; /* inside data: the hole starts where the chunk's bytes end */
			if (at >= in.size) {
				*result = in.size;
				return 0;
			}
		}
		if (at >= in.size)
			return whence == SEEK_DATA ? -ENXIO : (*result = in.size, 0);
	}
}

/* ------------------------------------------------------------------ the VR log */

/* Runs statement id (op ?1, entry ?2) for e: 0, or -1 (the caller rolls back). */
static int store_entry_put(struct store *s, enum store_stmt_id id, const struct store_log_entry *e)
{
	sqlite3_stmt *st = store_stmt(s, id);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, (int64_t)e->op);
	sqlite3_bind_blob(st, 2, e->data ? (const void *)e->data : "", (int)e->len, SQLITE_STATIC);
	return store_done(st) ? -1 : 0;
}

int store_log_write(struct store *s, uint64_t keep_op, const struct store_log_entry *entries, uint32_t count,
                    const uint8_t *meta, uint32_t meta_len)
{
	sqlite3_stmt *st;

	if (store_tx_open(s))
		return STORE_BROKEN;
	if (!(st = store_stmt(s, ST_LOG_TRUNCATE)))
		goto err_rollback;
	sqlite3_bind_int64(st, 1, (int64_t)keep_op);
	if (store_done(st))
		goto err_rollback;
	for (uint32_t i = 0; i < count; i++) {
		if (entries[i].op != keep_op + 1 + i || store_entry_put(s, ST_LOG_PUT, &entries[i]))
			goto err_rollback; /* not contiguous: the caller's bug */
	}
	if (meta) {
		if (!(st = store_stmt(s, ST_LOG_META_PUT)))
			goto err_rollback;
		sqlite3_bind_blob(st, 1, meta_len ? (const void *)meta : "", (int)meta_len, SQLITE_STATIC);
		if (store_done(st))
			goto err_rollback;
	}
	if (store_tx_close(s))
		goto err_rollback;
	return 0;

err_rollback:
	store_tx_abort(s);
	return STORE_BROKEN;
}

int store_drop_files(struct store *s)
{
	_Static_assert(WIRE_INO_ROOT == 1, "the statements below name the root 1");
	if (s->outer)
		return STORE_BROKEN; /* not inside a group: VACUUM cannot run in a transaction */
	if (store_exec(s, "BEGIN IMMEDIATE; DELETE FROM dirents; DELETE FROM chunks; DELETE FROM symlinks;"
	                  " DELETE FROM xattrs; DELETE FROM handles; DELETE FROM inodes WHERE ino != 1;"
	                  " UPDATE inodes SET nlink = 2, size = 0, bytes = 0 WHERE ino = 1; COMMIT")) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return STORE_BROKEN;
	}
	return store_exec(s, "VACUUM");
}

int store_log_truncate_below(struct store *s, uint64_t op)
{
	sqlite3_stmt *st;

	if (store_tx_open(s))
		return STORE_BROKEN;
	if (!(st = store_stmt(s, ST_LOG_TRUNCATE_BELOW)))
		goto err_rollback;
	sqlite3_bind_int64(st, 1, (int64_t)op);
	if (store_done(st) || store_tx_close(s))
		goto err_rollback;
	return 0;

err_rollback:
	store_tx_abort(s);
	return STORE_BROKEN;
}

int store_log_read(struct store *s, uint64_t from, int (*fn)(void *arg, const struct store_log_entry *e), void *arg)
{
	sqlite3_stmt *st;
	int rc;

	/* Its own statement: fn may call back into the store. */
	if (sqlite3_prepare_v2(s->db, store_sql[ST_LOG_LIST], -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)from);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_log_entry e = {
			.op = (uint64_t)sqlite3_column_int64(st, 0),
			.data = sqlite3_column_blob(st, 1),
			.len = (uint32_t)sqlite3_column_bytes(st, 1),
		};
		if (fn(arg, &e))
			break;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

int store_log_put(struct store *s, const struct store_log_entry *e)
{
	if (store_tx_open(s))
		return STORE_BROKEN;
	if (store_entry_put(s, ST_LOG_REPLACE, e) || store_tx_close(s))
		goto err_rollback;
	return 0;

err_rollback:
	store_tx_abort(s);
	return STORE_BROKEN;
}

/* The row of op in the table of statement id, given to fn: what fn returns, -ENOENT, or -EIO. */
static int store_row_get(struct store *s, enum store_stmt_id id, uint64_t op,
                         int (*fn)(void *arg, const struct store_log_entry *e), void *arg)
{
	sqlite3_stmt *st = store_stmt(s, id);
	int rc, found = -ENOENT;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)op);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		struct store_log_entry e = {
			.op = op,
			.data = sqlite3_column_blob(st, 0),
			.len = (uint32_t)sqlite3_column_bytes(st, 0),
		};
		found = fn(arg, &e);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -EIO;
}

int store_log_get(struct store *s, uint64_t op, int (*fn)(void *arg, const struct store_log_entry *e), void *arg)
{
	return store_row_get(s, ST_LOG_GET, op, fn, arg);
}

int store_stage_write(struct store *s, bool forget, const struct store_log_entry *entries, uint32_t count)
{
	sqlite3_stmt *st;

	if (store_tx_open(s))
		return STORE_BROKEN;
	if (forget && (!(st = store_stmt(s, ST_STAGE_CLEAR)) || store_done(st)))
		goto err_rollback;
	for (uint32_t i = 0; i < count; i++)
		if (store_entry_put(s, ST_STAGE_PUT, &entries[i]))
			goto err_rollback;
	if (store_tx_close(s))
		goto err_rollback;
	return 0;

err_rollback:
	store_tx_abort(s);
	return STORE_BROKEN;
}

int store_stage_get(struct store *s, uint64_t op, int (*fn)(void *arg, const struct store_log_entry *e), void *arg)
{
	return store_row_get(s, ST_STAGE_GET, op, fn, arg);
}

int store_log_meta(struct store *s, uint8_t *buf, uint32_t size, uint32_t *len)
{
	sqlite3_stmt *st = store_stmt(s, ST_LOG_META_GET);
	int rc;

	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		uint32_t n = (uint32_t)sqlite3_column_bytes(st, 0);
		if (n)
			memcpy(buf, sqlite3_column_blob(st, 0), n < size ? n : size);
		*len = n;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? -ENOENT : -EIO;
}

/* ------------------------------------------------------------------ sessions and labels */

int store_sessions_read(struct store *s, int (*fn)(void *arg, const struct store_session_row *row), void *arg)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db, store_digest_sql[6], -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_session_row row = {
			.slot = (uint32_t)sqlite3_column_int64(st, 0),
			.client_id = (uint64_t)sqlite3_column_int64(st, 1),
			.session = (uint64_t)sqlite3_column_int64(st, 2),
			.request = (uint64_t)sqlite3_column_int64(st, 3),
			.op = (uint64_t)sqlite3_column_int64(st, 4),
			.status = (uint8_t)sqlite3_column_int64(st, 5),
			.result = sqlite3_column_blob(st, 6),
			.result_len = (uint32_t)sqlite3_column_bytes(st, 6),
		};
		if (fn(arg, &row))
			break;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

static int store_label_key(const char *key)
{
	return strncmp(key, "label.", 6) == 0 && strlen(key) < 64 ? 0 : -EINVAL;
}

int store_label_get(struct store *s, const char *key, uint64_t *value)
{
	int64_t v;
	int rc;

	if (store_label_key(key))
		return -EINVAL;
	rc = store_meta_get(s, key, &v);
	if (rc == 0)
		*value = (uint64_t)v;
	return rc == STORE_BROKEN ? -EIO : rc;
}

int store_label_put(struct store *s, const char *key, uint64_t value)
{
	if (store_label_key(key))
		return -EINVAL;
	if (store_tx_open(s) || store_meta_put(s, key, (int64_t)value) || store_tx_close(s)) {
		store_tx_abort(s);
		return STORE_BROKEN;
	}
	return 0;
}

/* ------------------------------------------------------------------ digest */

int store_digest(struct store *s, uint8_t out[STORE_DIGEST_SIZE])
{
	crypto_generichash_state h;

	if (sodium_init() < 0 || crypto_generichash_init(&h, NULL, 0, STORE_DIGEST_SIZE))
		return -EIO;
	for (size_t t = 0; t < sizeof(store_digest_sql) / sizeof(store_digest_sql[0]); t++) {
		sqlite3_stmt *st;
		uint8_t tag[2] = { 'T', (uint8_t)t };
		int rc;

		crypto_generichash_update(&h, tag, sizeof(tag));
		if (sqlite3_prepare_v2(s->db, store_digest_sql[t], -1, &st, NULL) != SQLITE_OK)
			return -EIO;
		int columns = sqlite3_column_count(st);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			for (int c = 0; c < columns; c++) {
				/* Typed and length-prefixed, so that no two rows hash alike. */
				if (sqlite3_column_type(st, c) == SQLITE_INTEGER) {
					int64_t v = sqlite3_column_int64(st, c);
					uint8_t b[9] = { 'i' };
					memcpy(b + 1, &v, 8);
					crypto_generichash_update(&h, b, sizeof(b));
				} else {
					uint64_t n = (uint64_t)sqlite3_column_bytes(st, c);
					uint8_t b[9] = { 'b' };
					memcpy(b + 1, &n, 8);
					crypto_generichash_update(&h, b, sizeof(b));
					if (n)
						crypto_generichash_update(&h, sqlite3_column_blob(st, c), n);
				}
			}
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return -EIO;
	}
	return crypto_generichash_final(&h, out, STORE_DIGEST_SIZE) ? -EIO : 0;
}
