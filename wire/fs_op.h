/*
 * fs_op.h — the filesystem operations vrfs replicates, and their results.
 *
 * A mount turns one kernel request into one struct wire_fs_op. The primary fixes
 * everything nondeterministic before PREPARE (VR-PROTOCOL.md §4.7): the new inode
 * number is derived from the op-number (WIRE_INO_FROM_OP), and the timestamp of the
 * log entry is the op's "now". Applying an op is then a pure function of the store's
 * state and the op. Pointers in an op are borrowed.
 */
#ifndef WIRE_FS_OP_H
#define WIRE_FS_OP_H

#include <stdbool.h>
#include <stdint.h>

#define WIRE_NAME_MAX        255          /* bytes in a name; 256 travels so the store can say ENAMETOOLONG */
#define WIRE_SYMLINK_MAX     4095         /* bytes in a symlink target */
#define WIRE_XATTR_NAME_MAX  255          /* bytes in an xattr name (ERANGE above) */
#define WIRE_XATTR_VALUE_MAX 65536        /* bytes in an xattr value (E2BIG above) */
#define WIRE_DATA_MAX        (1 << 20)    /* bytes in one write */
#define WIRE_FILE_SIZE_MAX   (1ULL << 44) /* 16 TiB: EFBIG beyond */
#define WIRE_LINK_MAX        65000        /* hard links to one inode (EMLINK above) */
#define WIRE_INO_ROOT        1

/* Inode numbers are never reused: the op that creates an inode names it. */
#define WIRE_INO_FROM_OP(op) ((op) + 1)

enum wire_fs_type {
	WIRE_FS_CREATE = 1,  /* parent, name, mode (any file type but directory and symlink), rdev */
	WIRE_FS_MKDIR,       /* parent, name, mode */
	WIRE_FS_SYMLINK,     /* parent, name, data = target */
	WIRE_FS_LINK,        /* ino, parent + name = the new link */
	WIRE_FS_UNLINK,      /* parent, name */
	WIRE_FS_RMDIR,       /* parent, name */
	WIRE_FS_RENAME,      /* parent, name -> new_parent, new_name; flags RENAME_NOREPLACE / RENAME_EXCHANGE */
	WIRE_FS_SETATTR,     /* ino, valid (WIRE_SET_*), mode, set_uid, set_gid, size, atime, mtime, kill_suidgid */
	WIRE_FS_WRITE,       /* ino, offset, data, kill_suidgid, flags (WIRE_WRITE_APPEND) */
	WIRE_FS_FALLOCATE,   /* ino, flags (FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE), offset, length */
	WIRE_FS_COPY_RANGE,  /* ino, offset -> target_ino, target_offset; length (copy_file_range) */
	WIRE_FS_SETXATTR,    /* ino, name, data = value, flags XATTR_CREATE / XATTR_REPLACE */
	WIRE_FS_REMOVEXATTR, /* ino, name */
	WIRE_FS_OPEN,        /* ino, handle: an unlinked file stays readable while a handle is open */
	WIRE_FS_RELEASE,     /* ino, handle; the last release of an unlinked file frees it */
	WIRE_FS_CREATE_OPEN, /* parent, name, mode (a regular file), handle: CREATE then OPEN, as one op */
	WIRE_FS_TYPE_MAX = WIRE_FS_CREATE_OPEN,
};

/* write: at the end of the file as it is when the op executes (O_APPEND from any mount); the
 * offset is ignored. */
#define WIRE_WRITE_APPEND 1u

/* setattr: which fields apply. A time is either given (WIRE_SET_ATIME with atime) or "now"
 * (WIRE_SET_ATIME_NOW): the op's time, which is its log entry's timestamp, so every replica
 * resolves it alike. */
enum wire_set {
	WIRE_SET_MODE = 1 << 0,
	WIRE_SET_UID = 1 << 1,
	WIRE_SET_GID = 1 << 2,
	WIRE_SET_SIZE = 1 << 3,
	WIRE_SET_ATIME = 1 << 4,
	WIRE_SET_MTIME = 1 << 5,
	WIRE_SET_CTIME = 1 << 6,     /* reserved: ctime is always the time of the op (its log entry) */
	WIRE_SET_ATIME_NOW = 1 << 7, /* utimensat UTIME_NOW: the time of the op, fixed by the primary */
	WIRE_SET_MTIME_NOW = 1 << 8, /* (UTIME_OMIT: neither bit set for that time) */
};

/*
 * One operation. Which fields mean something depends on type (the comments of enum
 * wire_fs_type): name is a file name, or an xattr name for SETXATTR/REMOVEXATTR;
 * data is write data, a symlink target, or an xattr value. The time of the op is not
 * here: it is the timestamp of the log entry that carries it.
 */
struct wire_fs_op {
	uint8_t type;
	uint32_t uid, gid; /* the caller: owner of new inodes, and the suid/sgid rules */
	uint64_t ino;
	uint64_t parent;
	const char *name;
	uint32_t name_len;
	uint64_t new_parent;
	const char *new_name;
	uint32_t new_name_len;
	uint32_t mode;
	uint64_t rdev;
	uint32_t flags;
	uint32_t valid;
	uint32_t set_uid, set_gid; /* setattr */
	uint64_t size;             /* setattr */
	int64_t atime, mtime;      /* setattr, ns since the epoch */
	uint64_t offset, length;
	uint64_t target_ino, target_offset; /* copy_file_range destination */
	uint64_t handle;                    /* open/release: unique per (client, open) */
	const uint8_t *data;                /* write data, symlink target, xattr value */
	uint32_t data_len;
	bool kill_suidgid; /* write: the kernel asks to clear suid/sgid (a caller without CAP_FSETID) */
};

struct wire_attr {
	uint64_t ino;
	uint32_t mode;
	uint32_t nlink;
	uint32_t uid, gid;
	uint64_t rdev;
	uint64_t size;
	uint64_t blocks;             /* 512-byte units actually stored */
	int64_t atime, mtime, ctime; /* ns since the epoch */
};

/* The result of an update: 0 or -errno (-4095..-1), and the attributes of the inode it produced or
 * changed (all zero for UNLINK, RMDIR, RELEASE and any failed op). */
struct wire_fs_result {
	int32_t err;
	struct wire_attr attr;
	uint64_t written; /* write, copy_file_range: bytes */
};

#endif
