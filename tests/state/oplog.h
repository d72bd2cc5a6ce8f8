/*
 * oplog.h — a seeded generator of a deterministic log of filesystem operations
 * (struct wire_fs_op), for tests and benchmarks of the store.
 *
 * The log is biased to mostly succeed on a growing tree: the generator keeps its own,
 * approximate model of the tree (directories, entries, hard links, open handles,
 * file sizes) and names inodes it created, as the primary does, by
 * WIRE_INO_FROM_OP(op-number). It never learns what a store answered, so one seed
 * always yields the same ops: the model assumes an op succeeds when the model says
 * it should, and some ops are meant to fail (existing names, non-empty directories,
 * stale inodes, bad flags).
 *
 * Every op is one the wire can carry (wire/wire_fs.h): names 1..256 bytes without '/'
 * or NUL and not "." or "..", symlink targets without NUL, values and data within
 * their limits, and only the fields the op's type travels with are set.
 *
 * Invariants:
 *   G1  oplog_next() is a pure function of (seed, op-number) given the calls before it,
 *       which must be op-numbers 1, 2, 3, ... with none skipped.
 *   G2  the op returned points into buffers the generator owns; they stay valid until
 *       the next oplog_next() or oplog_free().
 */
#ifndef TESTS_STATE_OPLOG_H
#define TESTS_STATE_OPLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/fs_op.h"

#define OPLOG_WRITE_MAX  (256 * 1024)      /* bytes in one generated write */
#define OPLOG_COPY_MAX   (1024 * 1024)     /* bytes in one copy_file_range */
#define OPLOG_FALLOC_MAX (4 * 1024 * 1024) /* bytes in one fallocate */
#define OPLOG_FAR_OFFSET (1ULL << 36)      /* sparse writes land up to 64 GiB out */
#define OPLOG_XATTR_MAX  4096              /* value bytes, except the rare large one */
#define OPLOG_XATTRS_MAX 256               /* xattrs the model remembers */

/* One inode the generator created (or the root), indexed by its inode number. */
struct oplog_node {
	uint8_t kind;      /* 0: none; OPLOG_DIR, OPLOG_FILE, OPLOG_SYMLINK, OPLOG_SPECIAL */
	uint32_t nlink;    /* entries naming it (a directory: 1 while linked, its ".." not counted) */
	uint32_t opens;    /* handles the model holds on it */
	uint32_t children; /* a directory's entries */
	uint64_t parent;   /* a directory's parent while linked */
	uint64_t size;     /* a regular file's size, as the model believes */
	int32_t live_at;   /* its index in live[], or -1 once the model believes it freed */
};

/* One directory entry of the model. */
struct oplog_dirent {
	uint64_t parent;
	uint64_t ino;
	uint32_t name_len;
	char name[WIRE_NAME_MAX + 2]; /* up to 256 bytes (ENAMETOOLONG) and a NUL */
};

/* An xattr the model believes set: on ino, the name with index idx (oplog.c). */
struct oplog_xattr {
	uint64_t ino;
	uint32_t idx;
};

struct oplog_handle {
	uint64_t handle;
	uint64_t ino;
};

struct oplog {
	uint64_t seed;
	uint64_t rng[4];  /* xoshiro256** */
	uint64_t next_op; /* the op-number oplog_next() expects */

	struct oplog_node *nodes; /* indexed by inode number; node_cap entries */
	uint64_t node_cap;
	uint64_t *live; /* inode numbers the model believes exist */
	uint64_t live_count, live_cap;
	struct oplog_dirent *dirents;
	uint64_t dirent_count, dirent_cap;
	struct oplog_xattr xattrs[OPLOG_XATTRS_MAX]; /* a bounded sample: when full, a random one is forgotten */
	uint32_t xattr_count;
	struct oplog_handle *handles;
	uint64_t handle_count, handle_cap;

	/* G2: what the returned op points into. */
	struct wire_fs_op op;
	char name[WIRE_NAME_MAX + 2];
	char new_name[WIRE_NAME_MAX + 2];
	uint8_t *data; /* OPLOG_WRITE_MAX bytes, enough for targets and values too */
};

enum oplog_kind {
	OPLOG_DIR = 1,
	OPLOG_FILE,
	OPLOG_SYMLINK,
	OPLOG_SPECIAL, /* fifo, socket, device */
};

/* Starts the log of seed: the model holds only the root directory. Aborts when out of memory. */
void oplog_init(struct oplog *g, uint64_t seed);
void oplog_free(struct oplog *g);

/*
 * The op with number op_number (G1: exactly g->next_op). The result is borrowed from
 * g (G2). The model assumes the op does what the model predicts.
 */
const struct wire_fs_op *oplog_next(struct oplog *g, uint64_t op_number);

/* A name for an op type ("create", "rename", ...), for messages. */
const char *oplog_type_name(uint8_t type);

/* A 64-bit hash of an op, its strings and data included: two logs are equal when their hashes are. */
uint64_t oplog_hash(const struct wire_fs_op *op);

#endif
