/*
 * wire_fs.c — encoding and decoding of filesystem operations and results (format and
 * limits in wire_fs.h).
 *
 * Encoding uses msgpack-c's msgpack_packer with a write callback into struct wire_buf
 * that refuses to grow past the message's size limit (struct wire_sink, shared with the
 * other codecs in wire_msgpack.c, as are wire_buf_init and wire_buf_free).
 *
 * Decoding does NOT use msgpack-c, but a small reader of the subset we emit. Why:
 * msgpack_unpack_next does keep bin/str pointers inside the caller's buffer
 * (template_callback_bin in msgpack-c's src/unpack.c sets via.bin.ptr = p, no copy;
 * checked at 4.0.0), but on every array or map header it first allocates
 * count * sizeof(msgpack_object) from its zone, before a single element has arrived.
 * The 5 bytes dd ff ff ff ff (array32 of 2^32-1 elements) therefore ask malloc for
 * about 128 GiB: under ASan the process aborts ("allocator is out of memory trying to
 * allocate 0x2000000008 bytes" in msgpack_zone_malloc_expand), and without it the
 * outcome depends on the machine's overcommit. That breaks "never allocate without a
 * bound" for bytes from the network. The reader (struct wire_reader in
 * wire_msgpack.c) allocates nothing, and checks every length against the bytes that
 * remain before touching them; the decoders below read each field straight into the
 * struct in one pass.
 *
 * Invariants:
 *  1. Encoder and decoder share one field table (wire_fs_layouts) and one validity
 *     check (wire_fs_op_invalid), so every op the encoder accepts decodes to itself
 *     and every op the decoder accepts re-encodes.
 *  2. The decoder reads only buf[0..len), and fails at the first fault it meets.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <msgpack.h>

#include "wire/wire_fs.h"
#include "wire/wire_msgpack.h"

#define WIRE_FS_OP_HEAD_FIELDS    4   /* version, type, uid, gid */
#define WIRE_FS_LAYOUT_FIELDS_MAX 9   /* SETATTR */
#define WIRE_FS_RESULT_FIELDS     14  /* version, err, written, 11 attributes */
#define WIRE_FS_SCALARS_MAX       256 /* array header, scalars and bin headers of any op */

/* An op's byte strings plus WIRE_FS_SCALARS_MAX always fit, so a valid op never meets -EMSGSIZE. */
_Static_assert(1 + (WIRE_FS_OP_HEAD_FIELDS + WIRE_FS_LAYOUT_FIELDS_MAX) * 9 + 2 * 5 <= WIRE_FS_SCALARS_MAX,
               "scalars of an op");
_Static_assert(WIRE_DATA_MAX + WIRE_FS_SCALARS_MAX <= WIRE_FS_OP_SIZE_MAX, "write");
_Static_assert(WIRE_XATTR_NAME_MAX + WIRE_XATTR_VALUE_MAX + WIRE_FS_SCALARS_MAX <= WIRE_FS_OP_SIZE_MAX, "setxattr");
_Static_assert(WIRE_FS_NAME_LEN_MAX + WIRE_SYMLINK_MAX + WIRE_FS_SCALARS_MAX <= WIRE_FS_OP_SIZE_MAX, "symlink");
_Static_assert(2 * WIRE_FS_NAME_LEN_MAX + WIRE_FS_SCALARS_MAX <= WIRE_FS_OP_SIZE_MAX, "rename");
_Static_assert(1 + WIRE_FS_RESULT_FIELDS * 9 <= WIRE_FS_RESULT_SIZE_MAX, "result");
_Static_assert(WIRE_FS_RESULT_FIELDS == 3 + WIRE_ATTR_FIELDS, "a result flattens the attributes");
/* Lengths travel in uint32_t fields and bin32 headers. */
_Static_assert(WIRE_FS_OP_SIZE_MAX <= UINT32_MAX, "op size fits a bin32 length");
_Static_assert(WIRE_FS_TYPE_MAX < 256, "type fits uint8_t");

/* ---- The fields of each type ------------------------------------------------------ */

enum wire_fs_field {
	WIRE_FS_FIELD_NONE = 0, /* ends a layout */
	WIRE_FS_FIELD_INO,
	WIRE_FS_FIELD_PARENT,
	WIRE_FS_FIELD_NAME,
	WIRE_FS_FIELD_NEW_PARENT,
	WIRE_FS_FIELD_NEW_NAME,
	WIRE_FS_FIELD_MODE,
	WIRE_FS_FIELD_RDEV,
	WIRE_FS_FIELD_FLAGS,
	WIRE_FS_FIELD_VALID,
	WIRE_FS_FIELD_SET_UID,
	WIRE_FS_FIELD_SET_GID,
	WIRE_FS_FIELD_SIZE,
	WIRE_FS_FIELD_ATIME,
	WIRE_FS_FIELD_MTIME,
	WIRE_FS_FIELD_OFFSET,
	WIRE_FS_FIELD_LENGTH,
	WIRE_FS_FIELD_TARGET_INO,
	WIRE_FS_FIELD_TARGET_OFFSET,
	WIRE_FS_FIELD_HANDLE,
	WIRE_FS_FIELD_DATA,
	WIRE_FS_FIELD_KILL_SUIDGID,
};

/* The fields after the head, in wire order, ended by WIRE_FS_FIELD_NONE (the spare slot). */
struct wire_fs_layout {
	uint8_t field[WIRE_FS_LAYOUT_FIELDS_MAX + 1];
};

static const struct wire_fs_layout wire_fs_layouts[WIRE_FS_TYPE_MAX + 1] = {
	[WIRE_FS_CREATE] = { { WIRE_FS_FIELD_PARENT, WIRE_FS_FIELD_NAME, WIRE_FS_FIELD_MODE, WIRE_FS_FIELD_RDEV } },
	[WIRE_FS_MKDIR] = { { WIRE_FS_FIELD_PARENT, WIRE_FS_FIELD_NAME, WIRE_FS_FIELD_MODE } },
	[WIRE_FS_SYMLINK] = { { WIRE_FS_FIELD_PARENT, WIRE_FS_FIELD_NAME, WIRE_FS_FIELD_DATA } },
	[WIRE_FS_LINK] = { { WIRE_FS_FIELD_INO, WIRE_FS_FIELD_PARENT, WIRE_FS_FIELD_NAME } },
	[WIRE_FS_UNLINK] = { { WIRE_FS_FIELD_PARENT, WIRE_FS_FIELD_NAME } },
	[WIRE_FS_RMDIR] = { { WIRE_FS_FIELD_PARENT, WIRE_FS_FIELD_NAME } },
	[WIRE_FS_RENAME] = { { WIRE_FS_FIELD_PARENT, WIRE_FS_FIELD_NAME, WIRE_FS_FIELD_NEW_PARENT,
	                       WIRE_FS_FIELD_NEW_NAME, WIRE_FS_FIELD_FLAGS } },
	[WIRE_FS_SETATTR] = { { WIRE_FS_FIELD_INO, WIRE_FS_FIELD_VALID, WIRE_FS_FIELD_MODE, WIRE_FS_FIELD_SET_UID,
	                        WIRE_FS_FIELD_SET_GID, WIRE_FS_FIELD_SIZE, WIRE_FS_FIELD_ATIME, WIRE_FS_FIELD_MTIME,
	                        WIRE_FS_FIELD_KILL_SUIDGID } },
	[WIRE_FS_WRITE] = { { WIRE_FS_FIELD_INO, WIRE_FS_FIELD_OFFSET, WIRE_FS_FIELD_DATA, WIRE_FS_FIELD_KILL_SUIDGID,
	                      WIRE_FS_FIELD_FLAGS } },
	[WIRE_FS_FALLOCATE] = { { WIRE_FS_FIELD_INO, WIRE_FS_FIELD_FLAGS, WIRE_FS_FIELD_OFFSET,
	                          WIRE_FS_FIELD_LENGTH } },
	[WIRE_FS_COPY_RANGE] = { { WIRE_FS_FIELD_INO, WIRE_FS_FIELD_OFFSET, WIRE_FS_FIELD_TARGET_INO,
	                           WIRE_FS_FIELD_TARGET_OFFSET, WIRE_FS_FIELD_LENGTH } },
	[WIRE_FS_SETXATTR] = { { WIRE_FS_FIELD_INO, WIRE_FS_FIELD_NAME, WIRE_FS_FIELD_DATA, WIRE_FS_FIELD_FLAGS } },
	[WIRE_FS_REMOVEXATTR] = { { WIRE_FS_FIELD_INO, WIRE_FS_FIELD_NAME } },
	[WIRE_FS_OPEN] = { { WIRE_FS_FIELD_INO, WIRE_FS_FIELD_HANDLE } },
	[WIRE_FS_RELEASE] = { { WIRE_FS_FIELD_INO, WIRE_FS_FIELD_HANDLE } },
	[WIRE_FS_CREATE_OPEN] = { { WIRE_FS_FIELD_PARENT, WIRE_FS_FIELD_NAME, WIRE_FS_FIELD_MODE,
	                            WIRE_FS_FIELD_HANDLE } },
};

static bool wire_fs_type_known(uint64_t type)
{
	return type >= WIRE_FS_CREATE && type <= WIRE_FS_TYPE_MAX;
}

/* Called only with a known type. */
static size_t wire_fs_layout_count(uint8_t type)
{
	const struct wire_fs_layout *l = &wire_fs_layouts[type];
	size_t n = 0;

	while (l->field[n] != WIRE_FS_FIELD_NONE)
		n++;
	return n;
}

static bool wire_fs_type_has(uint8_t type, enum wire_fs_field f)
{
	const struct wire_fs_layout *l = &wire_fs_layouts[type];

	for (size_t i = 0; l->field[i] != WIRE_FS_FIELD_NONE; i++)
		if (l->field[i] == f)
			return true;
	return false;
}

/* ---- Validity, shared by encoder and decoder (invariant 1) ------------------------ */

/* What a byte string may hold, and what to say when it does not. */
struct wire_fs_bytes_rule {
	uint32_t len_max;
	bool empty_ok;
	bool path_component; /* no '/', not "." or ".." */
	bool nul_ok;
	const char *why_missing; /* NULL pointer with a nonzero length (encoder side only) */
	const char *why_empty;
	const char *why_long;
	const char *why_byte;
	const char *why_dots;
};

static const struct wire_fs_bytes_rule WIRE_FS_RULE_NAME = {
	.len_max = WIRE_FS_NAME_LEN_MAX,
	.path_component = true,
	.why_missing = "fs_op: name missing",
	.why_empty = "fs_op: name empty",
	.why_long = "fs_op: name too long",
	.why_byte = "fs_op: name contains '/' or NUL",
	.why_dots = "fs_op: name is . or ..",
};

static const struct wire_fs_bytes_rule WIRE_FS_RULE_NEW_NAME = {
	.len_max = WIRE_FS_NAME_LEN_MAX,
	.path_component = true,
	.why_missing = "fs_op: new_name missing",
	.why_empty = "fs_op: new_name empty",
	.why_long = "fs_op: new_name too long",
	.why_byte = "fs_op: new_name contains '/' or NUL",
	.why_dots = "fs_op: new_name is . or ..",
};

static const struct wire_fs_bytes_rule WIRE_FS_RULE_TARGET = {
	.len_max = WIRE_SYMLINK_MAX,
	.why_missing = "fs_op: symlink target missing",
	.why_empty = "fs_op: symlink target empty",
	.why_long = "fs_op: symlink target too long",
	.why_byte = "fs_op: symlink target contains NUL",
};

static const struct wire_fs_bytes_rule WIRE_FS_RULE_XATTR_NAME = {
	.len_max = WIRE_XATTR_NAME_MAX,
	.why_missing = "fs_op: xattr name missing",
	.why_empty = "fs_op: xattr name empty",
	.why_long = "fs_op: xattr name too long",
	.why_byte = "fs_op: xattr name contains NUL",
};

static const struct wire_fs_bytes_rule WIRE_FS_RULE_XATTR_VALUE = {
	.len_max = WIRE_XATTR_VALUE_MAX,
	.empty_ok = true,
	.nul_ok = true,
	.why_missing = "fs_op: xattr value missing",
	.why_long = "fs_op: xattr value too long",
};

static const struct wire_fs_bytes_rule WIRE_FS_RULE_WRITE_DATA = {
	.len_max = WIRE_DATA_MAX,
	.empty_ok = true,
	.nul_ok = true,
	.why_missing = "fs_op: write data missing",
	.why_long = "fs_op: write data too long",
};

static const char *wire_fs_bytes_invalid(const struct wire_fs_bytes_rule *rule, const void *ptr, uint32_t len)
{
	const uint8_t *p = ptr;

	if (len == 0)
		return rule->empty_ok ? NULL : rule->why_empty;
	if (!p)
		return rule->why_missing;
	if (len > rule->len_max)
		return rule->why_long;
	if (!rule->nul_ok && memchr(p, '\0', len))
		return rule->why_byte;
	if (!rule->path_component)
		return NULL;
	if (memchr(p, '/', len))
		return rule->why_byte;
	/* The kernel resolves "." and ".." itself; an entry by that name would corrupt the tree. */
	if (p[0] == '.' && (len == 1 || (len == 2 && p[1] == '.')))
		return rule->why_dots;
	return NULL;
}

/* The rule for op->name and op->data of a type that carries them. */
static const struct wire_fs_bytes_rule *wire_fs_name_rule(uint8_t type)
{
	bool xattr = type == WIRE_FS_SETXATTR || type == WIRE_FS_REMOVEXATTR;

	return xattr ? &WIRE_FS_RULE_XATTR_NAME : &WIRE_FS_RULE_NAME;
}

static const struct wire_fs_bytes_rule *wire_fs_data_rule(uint8_t type)
{
	if (type == WIRE_FS_SYMLINK)
		return &WIRE_FS_RULE_TARGET;
	if (type == WIRE_FS_SETXATTR)
		return &WIRE_FS_RULE_XATTR_VALUE;
	return &WIRE_FS_RULE_WRITE_DATA;
}

/* NULL if op may travel, else why not. Looks only at the fields op->type uses. */
static const char *wire_fs_op_invalid(const struct wire_fs_op *op)
{
	const char *why = NULL;

	if (!wire_fs_type_known(op->type))
		return "fs_op: unknown type";
	if (wire_fs_type_has(op->type, WIRE_FS_FIELD_NAME))
		why = wire_fs_bytes_invalid(wire_fs_name_rule(op->type), op->name, op->name_len);
	if (!why && wire_fs_type_has(op->type, WIRE_FS_FIELD_NEW_NAME))
		why = wire_fs_bytes_invalid(&WIRE_FS_RULE_NEW_NAME, op->new_name, op->new_name_len);
	if (!why && wire_fs_type_has(op->type, WIRE_FS_FIELD_DATA))
		why = wire_fs_bytes_invalid(wire_fs_data_rule(op->type), op->data, op->data_len);
	return why;
}

static const char *wire_fs_result_invalid(const struct wire_fs_result *r)
{
	if (r->err > 0 || r->err < -WIRE_FS_ERRNO_MAX)
		return "fs_result: err is not 0 or -errno";
	return NULL;
}

/* ---- Encoding ------------------------------------------------------------------------ */

/* Pack return values are ignored: the sink keeps the first failure and refuses the rest. */
static void wire_fs_pack_field(msgpack_packer *pk, const struct wire_fs_op *op, enum wire_fs_field f)
{
	switch (f) {
	case WIRE_FS_FIELD_NONE:
		break;
	case WIRE_FS_FIELD_INO:
		msgpack_pack_uint64(pk, op->ino);
		break;
	case WIRE_FS_FIELD_PARENT:
		msgpack_pack_uint64(pk, op->parent);
		break;
	case WIRE_FS_FIELD_NAME:
		wire_pack_bin(pk, op->name, op->name_len);
		break;
	case WIRE_FS_FIELD_NEW_PARENT:
		msgpack_pack_uint64(pk, op->new_parent);
		break;
	case WIRE_FS_FIELD_NEW_NAME:
		wire_pack_bin(pk, op->new_name, op->new_name_len);
		break;
	case WIRE_FS_FIELD_MODE:
		msgpack_pack_uint32(pk, op->mode);
		break;
	case WIRE_FS_FIELD_RDEV:
		msgpack_pack_uint64(pk, op->rdev);
		break;
	case WIRE_FS_FIELD_FLAGS:
		msgpack_pack_uint32(pk, op->flags);
		break;
	case WIRE_FS_FIELD_VALID:
		msgpack_pack_uint32(pk, op->valid);
		break;
	case WIRE_FS_FIELD_SET_UID:
		msgpack_pack_uint32(pk, op->set_uid);
		break;
	case WIRE_FS_FIELD_SET_GID:
		msgpack_pack_uint32(pk, op->set_gid);
		break;
	case WIRE_FS_FIELD_SIZE:
		msgpack_pack_uint64(pk, op->size);
		break;
	case WIRE_FS_FIELD_ATIME:
		msgpack_pack_int64(pk, op->atime);
		break;
	case WIRE_FS_FIELD_MTIME:
		msgpack_pack_int64(pk, op->mtime);
		break;
	case WIRE_FS_FIELD_OFFSET:
		msgpack_pack_uint64(pk, op->offset);
		break;
	case WIRE_FS_FIELD_LENGTH:
		msgpack_pack_uint64(pk, op->length);
		break;
	case WIRE_FS_FIELD_TARGET_INO:
		msgpack_pack_uint64(pk, op->target_ino);
		break;
	case WIRE_FS_FIELD_TARGET_OFFSET:
		msgpack_pack_uint64(pk, op->target_offset);
		break;
	case WIRE_FS_FIELD_HANDLE:
		msgpack_pack_uint64(pk, op->handle);
		break;
	case WIRE_FS_FIELD_DATA:
		wire_pack_bin(pk, op->data, op->data_len);
		break;
	case WIRE_FS_FIELD_KILL_SUIDGID:
		if (op->kill_suidgid)
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		break;
	}
}

int wire_fs_op_encode(const struct wire_fs_op *op, struct wire_buf *out)
{
	struct wire_sink sink;
	msgpack_packer pk;
	const uint8_t *fields;
	size_t count;

	if (wire_fs_op_invalid(op))
		return -EINVAL;
	fields = wire_fs_layouts[op->type].field;
	count = wire_fs_layout_count(op->type);

	wire_sink_init(&sink, out, WIRE_FS_OP_SIZE_MAX);
	msgpack_packer_init(&pk, &sink, wire_sink_write);
	msgpack_pack_array(&pk, WIRE_FS_OP_HEAD_FIELDS + count);
	msgpack_pack_uint64(&pk, WIRE_FS_VERSION);
	msgpack_pack_uint64(&pk, op->type);
	msgpack_pack_uint32(&pk, op->uid);
	msgpack_pack_uint32(&pk, op->gid);
	for (size_t i = 0; i < count; i++)
		wire_fs_pack_field(&pk, op, fields[i]);
	return wire_sink_finish(&sink);
}

int wire_fs_result_encode(const struct wire_fs_result *r, struct wire_buf *out)
{
	struct wire_sink sink;
	msgpack_packer pk;

	if (wire_fs_result_invalid(r))
		return -EINVAL;
	wire_sink_init(&sink, out, WIRE_FS_RESULT_SIZE_MAX);
	msgpack_packer_init(&pk, &sink, wire_sink_write);
	msgpack_pack_array(&pk, WIRE_FS_RESULT_FIELDS);
	msgpack_pack_uint64(&pk, WIRE_FS_VERSION);
	msgpack_pack_int32(&pk, r->err);
	msgpack_pack_uint64(&pk, r->written);
	wire_pack_attr(&pk, &r->attr);
	return wire_sink_finish(&sink);
}

/* ---- Reasons for the reader's faults (wire/wire_msgpack.h) ---------------------- */

/* Complete for every fault: a NULL here would turn a fault into success. */
static const char *const WIRE_FS_OP_READ_WHY[WIRE_READER_STATUS_COUNT] = {
	[WIRE_READER_TRUNCATED] = "fs_op: truncated",
	[WIRE_READER_NOT_ARRAY] = "fs_op: not a msgpack array",
	[WIRE_READER_NOT_INT] = "fs_op: field is not an integer",
	[WIRE_READER_RANGE] = "fs_op: integer out of range",
	[WIRE_READER_NOT_BIN] = "fs_op: field is not bin",
	[WIRE_READER_NOT_BOOL] = "fs_op: field is not a boolean",
};

static const char *const WIRE_FS_RESULT_READ_WHY[WIRE_READER_STATUS_COUNT] = {
	[WIRE_READER_TRUNCATED] = "fs_result: truncated",
	[WIRE_READER_NOT_ARRAY] = "fs_result: not a msgpack array",
	[WIRE_READER_NOT_INT] = "fs_result: field is not an integer",
	[WIRE_READER_RANGE] = "fs_result: integer out of range",
	[WIRE_READER_NOT_BIN] = "fs_result: field is not bin",
	[WIRE_READER_NOT_BOOL] = "fs_result: field is not a boolean",
};

/* ---- Decoding ------------------------------------------------------------------------ */

static void wire_fs_read_field(struct wire_reader *r, struct wire_fs_op *op, enum wire_fs_field f)
{
	switch (f) {
	case WIRE_FS_FIELD_NONE:
		break;
	case WIRE_FS_FIELD_INO:
		op->ino = wire_reader_u64(r);
		break;
	case WIRE_FS_FIELD_PARENT:
		op->parent = wire_reader_u64(r);
		break;
	case WIRE_FS_FIELD_NAME:
		op->name = (const char *)wire_reader_bin(r, &op->name_len);
		break;
	case WIRE_FS_FIELD_NEW_PARENT:
		op->new_parent = wire_reader_u64(r);
		break;
	case WIRE_FS_FIELD_NEW_NAME:
		op->new_name = (const char *)wire_reader_bin(r, &op->new_name_len);
		break;
	case WIRE_FS_FIELD_MODE:
		op->mode = wire_reader_u32(r);
		break;
	case WIRE_FS_FIELD_RDEV:
		op->rdev = wire_reader_u64(r);
		break;
	case WIRE_FS_FIELD_FLAGS:
		op->flags = wire_reader_u32(r);
		break;
	case WIRE_FS_FIELD_VALID:
		op->valid = wire_reader_u32(r);
		break;
	case WIRE_FS_FIELD_SET_UID:
		op->set_uid = wire_reader_u32(r);
		break;
	case WIRE_FS_FIELD_SET_GID:
		op->set_gid = wire_reader_u32(r);
		break;
	case WIRE_FS_FIELD_SIZE:
		op->size = wire_reader_u64(r);
		break;
	case WIRE_FS_FIELD_ATIME:
		op->atime = wire_reader_i64(r);
		break;
	case WIRE_FS_FIELD_MTIME:
		op->mtime = wire_reader_i64(r);
		break;
	case WIRE_FS_FIELD_OFFSET:
		op->offset = wire_reader_u64(r);
		break;
	case WIRE_FS_FIELD_LENGTH:
		op->length = wire_reader_u64(r);
		break;
	case WIRE_FS_FIELD_TARGET_INO:
		op->target_ino = wire_reader_u64(r);
		break;
	case WIRE_FS_FIELD_TARGET_OFFSET:
		op->target_offset = wire_reader_u64(r);
		break;
	case WIRE_FS_FIELD_HANDLE:
		op->handle = wire_reader_u64(r);
		break;
	case WIRE_FS_FIELD_DATA:
		op->data = wire_reader_bin(r, &op->data_len);
		break;
	case WIRE_FS_FIELD_KILL_SUIDGID:
		op->kill_suidgid = wire_reader_bool(r);
		break;
	}
}

/* NULL when r held exactly one valid op, now in op; else why not. */
static const char *wire_fs_op_fields(struct wire_reader *r, struct wire_fs_op *op)
{
	uint32_t count = wire_reader_array(r);
	uint64_t version, type;
	const uint8_t *fields;
	size_t fields_count;

	if (r->status == WIRE_READER_OK && count < 2)
		return "fs_op: too few fields";
	version = wire_reader_uint(r, UINT64_MAX);
	type = wire_reader_uint(r, UINT64_MAX);
	if (r->status != WIRE_READER_OK)
		return WIRE_FS_OP_READ_WHY[r->status];
	if (version != WIRE_FS_VERSION)
		return "fs_op: unknown version";
	if (!wire_fs_type_known(type))
		return "fs_op: unknown type";
	op->type = (uint8_t)type;
	fields = wire_fs_layouts[op->type].field;
	fields_count = wire_fs_layout_count(op->type);
	if (count != WIRE_FS_OP_HEAD_FIELDS + fields_count)
		return "fs_op: wrong field count for type";

	op->uid = wire_reader_u32(r);
	op->gid = wire_reader_u32(r);
	for (size_t i = 0; i < fields_count; i++)
		wire_fs_read_field(r, op, fields[i]);
	if (r->status != WIRE_READER_OK)
		return WIRE_FS_OP_READ_WHY[r->status];
	if (r->left != 0)
		return "fs_op: trailing bytes";
	return wire_fs_op_invalid(op);
}

int wire_fs_op_decode(const uint8_t *buf, size_t len, struct wire_fs_op *op, const char **why)
{
	struct wire_reader r = { .pos = buf, .left = len, .status = WIRE_READER_OK };

	memset(op, 0, sizeof(*op));
	if (len > WIRE_FS_OP_SIZE_MAX)
		*why = "fs_op: body too large";
	else if (len == 0)
		*why = "fs_op: empty";
	else
		*why = wire_fs_op_fields(&r, op);
	return *why ? -EBADMSG : 0;
}

static const char *wire_fs_result_fields(struct wire_reader *r, struct wire_fs_result *res)
{
	uint32_t count = wire_reader_array(r);
	uint64_t version;

	if (r->status == WIRE_READER_OK && count != WIRE_FS_RESULT_FIELDS)
		return "fs_result: wrong field count";
	version = wire_reader_uint(r, UINT64_MAX);
	if (r->status != WIRE_READER_OK)
		return WIRE_FS_RESULT_READ_WHY[r->status];
	if (version != WIRE_FS_VERSION)
		return "fs_result: unknown version";

	res->err = (int32_t)wire_reader_sint(r, INT32_MIN, INT32_MAX);
	res->written = wire_reader_u64(r);
	wire_reader_attr(r, &res->attr);
	if (r->status != WIRE_READER_OK)
		return WIRE_FS_RESULT_READ_WHY[r->status];
	if (r->left != 0)
		return "fs_result: trailing bytes";
	return wire_fs_result_invalid(res);
}

int wire_fs_result_decode(const uint8_t *buf, size_t len, struct wire_fs_result *res, const char **why)
{
	struct wire_reader r = { .pos = buf, .left = len, .status = WIRE_READER_OK };

	memset(res, 0, sizeof(*res));
	if (len > WIRE_FS_RESULT_SIZE_MAX)
		*why = "fs_result: body too large";
	else if (len == 0)
		*why = "fs_result: empty";
	else
		*why = wire_fs_result_fields(&r, res);
	return *why ? -EBADMSG : 0;
}
