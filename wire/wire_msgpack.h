/*
 * wire_msgpack.h — internal to wire/: what the msgpack codecs (wire_fs.c, wire_vr.c,
 * wire_read.c) share. Not for use outside wire/.
 *
 *  - struct wire_sink: the write callback msgpack-c's packer appends through into a
 *    struct wire_buf, refusing to grow past the message's size limit, and dropping what it
 *    appended when the encoding fails (so b->len is as on entry).
 *  - struct wire_reader: a bounded reader of the msgpack subset the codecs emit (positive
 *    and negative integers of any width, bin8/16/32, booleans, array headers), over
 *    untrusted bytes. It allocates nothing and checks every length against what remains
 *    before touching it. msgpack-c's msgpack_unpack_next is not used because on every
 *    array or map header it first allocates count * sizeof(msgpack_object) from its zone,
 *    before a single element has arrived: the 5 bytes dd ff ff ff ff (array32 of 2^32-1
 *    elements) ask malloc for about 128 GiB (checked at msgpack-c 4.0.0).
 *  - The attributes of an inode (struct wire_attr) as the codecs carry them: 11 fields in
 *    the order ino, mode, nlink, uid, gid, rdev, size, blocks, atime, mtime, ctime.
 *
 * The reader's first fault sticks in r->status and turns every later read into a no-op
 * returning zero (or NULL), so a codec reads a sequence of fields and checks once. Each
 * codec maps a fault to its own reason string with a table indexed by the status.
 */
#ifndef WIRE_WIRE_MSGPACK_H
#define WIRE_WIRE_MSGPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "wire/fs_op.h"
#include "wire/wire_fs.h"

#define WIRE_INT_SIZE_MAX    9 /* the longest msgpack integer: a uint64 or int64 */
#define WIRE_HEADER_SIZE_MAX 5 /* the longest array or bin header: array32, bin32 */
#define WIRE_ATTR_FIELDS     11
#define WIRE_ATTR_SIZE_MAX   (WIRE_ATTR_FIELDS * WIRE_INT_SIZE_MAX) /* the fields, without an array header */

/* ---- Encoding ---------------------------------------------------------------------- */

/* One encoding in progress: appends to buf after start, at most limit bytes. */
struct wire_sink {
	struct wire_buf *buf; /* borrowed */
	size_t start;
	size_t limit;
	int err; /* the first failure; later writes are refused so nothing half-written follows it */
};

/* Starts an encoding at the end of buf (borrowed; grows, but never by more than limit bytes). */
void wire_sink_init(struct wire_sink *s, struct wire_buf *buf, size_t limit);

/* msgpack_packer_write, with data a struct wire_sink: 0, or -1 with s->err set (-EMSGSIZE, -ENOMEM). */
int wire_sink_write(void *data, const char *p, size_t n);

/* Ends an encoding: returns s->err, and on failure drops what the encoding appended. */
int wire_sink_finish(struct wire_sink *s);

/* A bin of len bytes at p (NULL allowed when len is 0). Pack return values are ignored by the
 * codecs: the sink keeps the first failure and refuses the rest. */
void wire_pack_bin(msgpack_packer *pk, const void *p, uint32_t len);

/* The WIRE_ATTR_FIELDS fields of a, without an array header (wire_fs.c flattens them into
 * its result; wire_read.c wraps them in an array). */
void wire_pack_attr(msgpack_packer *pk, const struct wire_attr *a);

/* ---- Decoding ---------------------------------------------------------------------- */

enum wire_reader_status {
	WIRE_READER_OK = 0,
	WIRE_READER_TRUNCATED,
	WIRE_READER_NOT_ARRAY,
	WIRE_READER_NOT_INT,
	WIRE_READER_RANGE,
	WIRE_READER_NOT_BIN,
	WIRE_READER_NOT_BOOL,
	WIRE_READER_STATUS_COUNT, /* sizes the codecs' reason tables, which must name every fault */
};

/* A cursor over untrusted bytes: pos[0..left) remain. */
struct wire_reader {
	const uint8_t *pos; /* borrowed: the codec's input */
	size_t left;
	enum wire_reader_status status;
};

/* Records a fault unless one is already recorded. */
void wire_reader_fail(struct wire_reader *r, enum wire_reader_status status);

/* The next n bytes (pointing into the input), or NULL (and TRUNCATED) when fewer remain. */
const uint8_t *wire_reader_take(struct wire_reader *r, size_t n);

/* A non-negative integer no larger than max; 0 after a fault (RANGE for a negative or larger one). */
uint64_t wire_reader_uint(struct wire_reader *r, uint64_t max);

/* A signed integer in [min, max]; 0 after a fault. */
int64_t wire_reader_sint(struct wire_reader *r, int64_t min, int64_t max);

uint8_t wire_reader_u8(struct wire_reader *r);
uint32_t wire_reader_u32(struct wire_reader *r);
uint64_t wire_reader_u64(struct wire_reader *r);
int64_t wire_reader_i64(struct wire_reader *r);

/* A bin's bytes, pointing into the input (never NULL on success, even when empty); NULL and
 * *len 0 after a fault. */
const uint8_t *wire_reader_bin(struct wire_reader *r, uint32_t *len);

/* A msgpack boolean; false after a fault. */
bool wire_reader_bool(struct wire_reader *r);

/* An array header's element count; the elements follow and are read one by one. The count is
 * the sender's claim: the caller bounds it before trusting it. */
uint32_t wire_reader_array(struct wire_reader *r);

/* The WIRE_ATTR_FIELDS fields of wire_pack_attr, in its order, into a. */
void wire_reader_attr(struct wire_reader *r, struct wire_attr *a);

#endif
