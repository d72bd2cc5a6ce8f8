/*
 * wire_fs.h — the msgpack encoding of filesystem operations (struct wire_fs_op) and
 * their results (struct wire_fs_result), as carried in VR request and reply bodies.
 *
 * Format. An op is one flat msgpack array:
 *
 *   [version = 1, type, uid, gid, <the fields of that type, in this order>]
 *
 *   CREATE       parent, name, mode, rdev
 *   MKDIR        parent, name, mode
 *   SYMLINK      parent, name, data (target)
 *   LINK         ino, parent, name
 *   UNLINK       parent, name
 *   RMDIR        parent, name
 *   RENAME       parent, name, new_parent, new_name, flags
 *   SETATTR      ino, valid, mode, set_uid, set_gid, size, atime, mtime
 *   WRITE        ino, offset, data, kill_suidgid
 *   FALLOCATE    ino, flags, offset, length
 *   COPY_RANGE   ino, offset, target_ino, target_offset, length
 *   SETXATTR     ino, name (xattr name), data (value), flags
 *   REMOVEXATTR  ino, name (xattr name)
 *   OPEN         ino, handle
 *   RELEASE      ino, handle
 *
 * A result is [version = 1, err, written, ino, mode, nlink, uid, gid, rdev, size,
 * blocks, atime, mtime, ctime]: the attributes are flattened into the one array.
 *
 * Unsigned fields are msgpack integers (any width; a negative value or one beyond the
 * C field's type is rejected), times and err are signed integers, byte strings (names,
 * targets, values, data) are msgpack bin (names are bytes, not UTF-8, so never str),
 * and kill_suidgid is a msgpack boolean. Fields a type does not list are not encoded
 * and decode as zero.
 *
 * Limits (checked identically by the encoder, which returns -EINVAL, and the decoder,
 * which returns -EBADMSG; see wire_fs_op_invalid in wire_fs.c):
 *   name, new_name    1..WIRE_FS_NAME_LEN_MAX bytes, no '/' or NUL, not "." or "..".
 *                     WIRE_FS_NAME_LEN_MAX is WIRE_NAME_MAX + 1 on purpose: a name of
 *                     exactly 256 bytes travels, so the store can answer ENAMETOOLONG
 *                     as a replicated result; longer names must be refused by the mount.
 *   symlink target    1..WIRE_SYMLINK_MAX bytes, no NUL (the kernel sends a C string).
 *   xattr name        1..WIRE_XATTR_NAME_MAX bytes, no NUL.
 *   xattr value       0..WIRE_XATTR_VALUE_MAX bytes.
 *   write data        0..WIRE_DATA_MAX bytes.
 *   whole op          at most WIRE_FS_OP_SIZE_MAX bytes; a result WIRE_FS_RESULT_SIZE_MAX.
 *   result err        0 or -errno, -WIRE_FS_ERRNO_MAX..0.
 * Values of mode, flags, valid, offsets and sizes are the store's to judge, not ours.
 */
#ifndef WIRE_WIRE_FS_H
#define WIRE_WIRE_FS_H

#include <stddef.h>
#include <stdint.h>

#include "wire/fs_op.h"

#define WIRE_FS_VERSION         1
#define WIRE_FS_NAME_LEN_MAX    (WIRE_NAME_MAX + 1) /* see the limits above: 256 reaches the store */
#define WIRE_FS_OP_SIZE_MAX     (WIRE_DATA_MAX + 8192)
#define WIRE_FS_RESULT_SIZE_MAX 256  /* 14 fields of at most 9 bytes and a 1-byte array header */
#define WIRE_FS_ERRNO_MAX       4095 /* Linux MAX_ERRNO */

/*
 * A growing byte buffer that encoders append to. Zero it with wire_buf_init; it owns
 * data (malloc'd) until wire_buf_free. len bytes are valid, cap allocated.
 */
struct wire_buf {
	uint8_t *data;
	size_t len, cap;
};

void wire_buf_init(struct wire_buf *b);
/* Frees b->data and leaves b as after wire_buf_init. */
void wire_buf_free(struct wire_buf *b);

/*
 * Appends the encoding of op (borrowed) to out (borrowed; grows). Returns 0; -EINVAL
 * when op breaks a limit above (unknown type, bad name, too much data, NULL pointer
 * with a nonzero length); -ENOMEM; -EMSGSIZE if the encoding would exceed
 * WIRE_FS_OP_SIZE_MAX (cannot happen for a valid op: kept as a bound on growth).
 * On failure out->len is as on entry.
 */
int wire_fs_op_encode(const struct wire_fs_op *op, struct wire_buf *out);

/*
 * Decodes exactly len bytes of buf (untrusted) into op. On success returns 0, sets
 * *why to NULL, and op->name, op->new_name and op->data point INTO buf (borrowed:
 * valid while buf lives; never NUL-terminated); fields the type does not use are
 * zero. On failure returns -EBADMSG, *why is a constant string saying why, and op
 * is unspecified. Allocates nothing.
 */
int wire_fs_op_decode(const uint8_t *buf, size_t len, struct wire_fs_op *op, const char **why);

/* As wire_fs_op_encode, for a result; -EINVAL when r->err is not 0 or -errno. */
int wire_fs_result_encode(const struct wire_fs_result *r, struct wire_buf *out);

/* As wire_fs_op_decode, for a result; allocates nothing. */
int wire_fs_result_decode(const uint8_t *buf, size_t len, struct wire_fs_result *r, const char **why);

#endif
