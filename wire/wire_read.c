/*
 * wire_read.c — encoding and decoding of reads and their answers: the bodies of
 * WIRE_MSG_READ and WIRE_MSG_READ_REPLY frames (API and structs in wire_read.h).
 *
 * Formats. Every body is one msgpack array holding every field, always, in this order:
 *
 *   read request   [client_id, request, local, min_op, read]
 *   read           [type, ino, name, offset, cookie, size, whence]
 *                  (a field the type does not use travels as 0, or as an empty bin)
 *   read reply     [request, view, commit, err, payload]
 *
 * The payload of a reply depends on the read's type, which the decoder is told (the
 * client knows what it asked), and on err:
 *
 *   err != 0                               nil
 *   GETATTR, LOOKUP                        attr
 *   READ, READLINK, GETXATTR, LISTXATTR    [data, len]
 *   READDIR                                [eof, [dirent, ...]]
 *   STATFS                                 [inodes, data_bytes]
 *   LSEEK                                  [value]
 *
 *   attr    [ino, mode, nlink, uid, gid, rdev, size, blocks, atime, mtime, ctime]
 *           (the order in which wire_fs.c flattens the same fields into a result)
 *   dirent  [cookie, name, attr]
 *
 * Integers are msgpack integers of any width (the encoder writes the shortest); err,
 * atime, mtime and ctime are signed, every other integer unsigned; a negative value, or
 * one beyond its C field's type, is refused. name, data and a dirent's name are msgpack
 * bin (names are bytes, not UTF-8, so never str); eof is the integer 0 or 1.
 *
 * Limits (the encoder refuses with -EINVAL what the decoder refuses with -EBADMSG, see
 * invariant 1):
 *   array lengths          exactly as above
 *   type                   1..WIRE_READ_TYPE_MAX (a reply's type is the decoder's argument)
 *   client_id              nonzero
 *   local                  0 or 1; min_op is 0 unless local is 1
 *   ino                    nonzero, except for STATFS, which uses no field
 *   unused fields          0 or empty: the fields of enum wire_read_type's comments only
 *   LOOKUP name            1..WIRE_NAME_MAX + 1 bytes, no '/' or NUL (256 bytes travel so
 *                          the store can answer ENAMETOOLONG, as in wire_fs.h)
 *   GETXATTR name          1..WIRE_XATTR_NAME_MAX + 1 bytes, no NUL (256: the store's ERANGE)
 *   READDIR size           1..WIRE_READ_DIRENTS_MAX
 *   READ, GETXATTR, LISTXATTR size   0..WIRE_READ_DATA_MAX
 *   LSEEK whence           WIRE_READ_SEEK_DATA (3) or WIRE_READ_SEEK_HOLE (4)
 *   err                    0 or -1..-WIRE_FS_ERRNO_MAX
 *   data                   0..WIRE_READ_DATA_MAX bytes; READLINK 0..WIRE_SYMLINK_MAX
 *   len                    data_len; but GETXATTR and LISTXATTR may answer with no data
 *                          and any len (the answer to size 0: the length needed)
 *   eof                    0 or 1
 *   dirents                0..WIRE_READ_DIRENTS_MAX, and no more than the decoder's caller holds
 *   dirent name            1..WIRE_NAME_MAX bytes, no '/' or NUL
 *   whole body             a request at most WIRE_READ_REQUEST_SIZE_MAX bytes, a reply
 *                          WIRE_READ_REPLY_SIZE_MAX (both fit a frame)
 * Values of offsets, cookies, modes and the like are the store's to judge, not ours.
 *
 * Encoding uses msgpack-c's packer into struct wire_sink; decoding uses the bounded
 * reader struct wire_reader, never msgpack_unpack_next (wire_msgpack.h says why).
 *
 * Invariants:
 *  1. Encoder and decoder share one check per struct (wire_read_request_invalid,
 *     wire_read_result_invalid, wire_read_dirent_invalid), so every message the encoder
 *     accepts decodes to itself (less the result fields its type does not carry, which
 *     are not sent and decode as zero) and every message the decoder accepts re-encodes,
 *     to at most as many bytes as it came in.
 *  2. The decoder reads only buf[0..len), allocates nothing, writes at most dirents_max
 *     entries, and fails at the first fault it meets, leaving the message all zeros.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <msgpack.h>

#include "wire/wire_frame.h"
#include "wire/wire_msgpack.h"
#include "wire/wire_read.h"

#define WIRE_READ_FIELDS             7 /* type, ino, name, offset, cookie, size, whence */
#define WIRE_READ_REQUEST_FIELDS     5
#define WIRE_READ_REPLY_FIELDS       5
#define WIRE_READ_DATA_FIELDS        2 /* data, len */
#define WIRE_READ_READDIR_FIELDS     2 /* eof, dirents */
#define WIRE_READ_STATFS_FIELDS      2
#define WIRE_READ_LSEEK_FIELDS       1
#define WIRE_READ_DIRENT_FIELDS      3
#define WIRE_READ_XATTR_NAME_LEN_MAX (WIRE_XATTR_NAME_MAX + 1)
#define WIRE_READ_NIL                0xc0 /* msgpack nil: the payload of an error */

/* The largest encodings: an array header and integers, bin headers and their bytes. */
#define WIRE_READ_REQUEST_ENCODED_MAX (2 + 10 * WIRE_INT_SIZE_MAX + WIRE_HEADER_SIZE_MAX + WIRE_FS_NAME_LEN_MAX)
#define WIRE_READ_REPLY_HEAD_MAX      (1 + 4 * WIRE_INT_SIZE_MAX)
#define WIRE_READ_DIRENT_MAX          (2 + WIRE_INT_SIZE_MAX + WIRE_HEADER_SIZE_MAX + WIRE_NAME_MAX + WIRE_ATTR_SIZE_MAX)
#define WIRE_READ_DATA_PAYLOAD_MAX    (1 + WIRE_HEADER_SIZE_MAX + WIRE_READ_DATA_MAX + WIRE_INT_SIZE_MAX)
#define WIRE_READ_READDIR_PAYLOAD_MAX                                                                                  \
	(1 + WIRE_INT_SIZE_MAX + WIRE_HEADER_SIZE_MAX + WIRE_READ_DIRENTS_MAX * WIRE_READ_DIRENT_MAX)

_Static_assert(WIRE_READ_TYPE_MAX <= UINT8_MAX, "type fits uint8_t");
_Static_assert(WIRE_FS_NAME_LEN_MAX >= WIRE_READ_XATTR_NAME_LEN_MAX, "the request bound covers both names");
_Static_assert(WIRE_READ_REQUEST_ENCODED_MAX <= WIRE_READ_REQUEST_SIZE_MAX, "largest request");
_Static_assert(WIRE_READ_REPLY_HEAD_MAX + WIRE_READ_DATA_PAYLOAD_MAX <= WIRE_READ_REPLY_SIZE_MAX, "largest data");
_Static_assert(WIRE_READ_REPLY_HEAD_MAX + WIRE_READ_READDIR_PAYLOAD_MAX <= WIRE_READ_REPLY_SIZE_MAX,
               "largest directory listing");
_Static_assert(WIRE_READ_REPLY_HEAD_MAX + 1 + WIRE_ATTR_SIZE_MAX <= WIRE_READ_REPLY_SIZE_MAX, "attr");
_Static_assert(WIRE_READ_REPLY_SIZE_MAX <= WIRE_FRAME_BODY_MAX, "a frame carries any reply");
_Static_assert(WIRE_READ_DATA_MAX <= UINT32_MAX && WIRE_READ_DIRENTS_MAX <= UINT32_MAX, "counts fit uint32_t");
_Static_assert(WIRE_SYMLINK_MAX <= WIRE_READ_DATA_MAX, "a symlink target is data");

/* ---- Validity, shared by encoder and decoder (invariant 1) ------------------------ */

/* The fields of struct wire_read besides type; each type uses those its comment names. */
enum wire_read_use {
	WIRE_READ_USES_INO = 1 << 0,
	WIRE_READ_USES_NAME = 1 << 1,
	WIRE_READ_USES_OFFSET = 1 << 2,
	WIRE_READ_USES_COOKIE = 1 << 3,
	WIRE_READ_USES_SIZE = 1 << 4,
	WIRE_READ_USES_WHENCE = 1 << 5,
};

static const uint8_t wire_read_uses[WIRE_READ_TYPE_MAX + 1] = {
	[WIRE_READ_GETATTR] = WIRE_READ_USES_INO,
	[WIRE_READ_LOOKUP] = WIRE_READ_USES_INO | WIRE_READ_USES_NAME,
	[WIRE_READ_READDIR] = WIRE_READ_USES_INO | WIRE_READ_USES_COOKIE | WIRE_READ_USES_SIZE,
	[WIRE_READ_READ] = WIRE_READ_USES_INO | WIRE_READ_USES_OFFSET | WIRE_READ_USES_SIZE,
	[WIRE_READ_READLINK] = WIRE_READ_USES_INO,
	[WIRE_READ_GETXATTR] = WIRE_READ_USES_INO | WIRE_READ_USES_NAME | WIRE_READ_USES_SIZE,
	[WIRE_READ_LISTXATTR] = WIRE_READ_USES_INO | WIRE_READ_USES_SIZE,
	[WIRE_READ_STATFS] = 0,
	[WIRE_READ_LSEEK] = WIRE_READ_USES_INO | WIRE_READ_USES_OFFSET | WIRE_READ_USES_WHENCE,
};

static bool wire_read_type_known(uint64_t type)
{
	return type >= WIRE_READ_GETATTR && type <= WIRE_READ_TYPE_MAX;
}

/* The answer to a size-0 GETXATTR or LISTXATTR is no data and the length needed. */
static bool wire_read_type_sizes(uint8_t type)
{
	return type == WIRE_READ_GETXATTR || type == WIRE_READ_LISTXATTR;
}

/* What a name may hold, and what to say when it does not. */
struct wire_read_name_rule {
	uint32_t len_max;
	bool slash_ok;
	const char *why_missing; /* NULL pointer with a nonzero length (encoder side only) */
	const char *why_empty;
	const char *why_long;
	const char *why_byte;
};

static const struct wire_read_name_rule WIRE_READ_RULE_LOOKUP = {
	.len_max = WIRE_FS_NAME_LEN_MAX,
	.why_missing = "read_request: name missing",
	.why_empty = "read_request: name empty",
	.why_long = "read_request: name too long",
	.why_byte = "read_request: name contains '/' or NUL",
};

static const struct wire_read_name_rule WIRE_READ_RULE_XATTR = {
	.len_max = WIRE_READ_XATTR_NAME_LEN_MAX,
	.slash_ok = true,
	.why_missing = "read_request: xattr name missing",
	.why_empty = "read_request: xattr name empty",
	.why_long = "read_request: xattr name too long",
	.why_byte = "read_request: xattr name contains NUL",
};

/* No 256-byte names here: a name the store holds is at most WIRE_NAME_MAX. */
static const struct wire_read_name_rule WIRE_READ_RULE_DIRENT = {
	.len_max = WIRE_NAME_MAX,
	.why_missing = "read_reply: dirent name missing",
	.why_empty = "read_reply: dirent name empty",
	.why_long = "read_reply: dirent name too long",
	.why_byte = "read_reply: dirent name contains '/' or NUL",
};

static const char *wire_read_name_invalid(const struct wire_read_name_rule *rule, const char *name, uint32_t len)
{
	if (len == 0)
		return rule->why_empty;
	if (!name)
		return rule->why_missing;
	if (len > rule->len_max)
		return rule->why_long;
	if (memchr(name, '\0', len))
		return rule->why_byte;
	if (!rule->slash_ok && memchr(name, '/', len))
		return rule->why_byte;
	return NULL;
}

/* NULL if the fields rd->type does not use are all zero (or empty), else which is not. */
static const char *wire_read_unused_invalid(const struct wire_read *rd)
{
	uint8_t uses = wire_read_uses[rd->type];

	if (!(uses & WIRE_READ_USES_INO) && rd->ino)
		return "read_request: ino set for a type without one";
	if (!(uses & WIRE_READ_USES_NAME) && rd->name_len)
		return "read_request: name set for a type without one";
	if (!(uses & WIRE_READ_USES_OFFSET) && rd->offset)
		return "read_request: offset set for a type without one";
	if (!(uses & WIRE_READ_USES_COOKIE) && rd->cookie)
		return "read_request: cookie set for a type without one";
	if (!(uses & WIRE_READ_USES_SIZE) && rd->size)
		return "read_request: size set for a type without one";
	if (!(uses & WIRE_READ_USES_WHENCE) && rd->whence)
		return "read_request: whence set for a type without one";
	return NULL;
}

/* NULL if rd may travel, else why not. */
static const char *wire_read_invalid(const struct wire_read *rd)
{
	const char *why;

	if (!wire_read_type_known(rd->type))
		return "read_request: unknown type";
	why = wire_read_unused_invalid(rd);
	if (why)
		return why;
	if ((wire_read_uses[rd->type] & WIRE_READ_USES_INO) && rd->ino == 0)
		return "read_request: ino is 0";
	switch (rd->type) {
	case WIRE_READ_LOOKUP:
		return wire_read_name_invalid(&WIRE_READ_RULE_LOOKUP, rd->name, rd->name_len);
	case WIRE_READ_READDIR:
		if (rd->size < 1 || rd->size > WIRE_READ_DIRENTS_MAX)
			return "read_request: readdir size not 1..WIRE_READ_DIRENTS_MAX";
		return NULL;
	case WIRE_READ_GETXATTR:
		if (rd->size > WIRE_READ_DATA_MAX)
			return "read_request: size above WIRE_READ_DATA_MAX";
		return wire_read_name_invalid(&WIRE_READ_RULE_XATTR, rd->name, rd->name_len);
	case WIRE_READ_READ:
	case WIRE_READ_LISTXATTR:
		if (rd->size > WIRE_READ_DATA_MAX)
			return "read_request: size above WIRE_READ_DATA_MAX";
		return NULL;
	case WIRE_READ_LSEEK:
		if (rd->whence != WIRE_READ_SEEK_DATA && rd->whence != WIRE_READ_SEEK_HOLE)
			return "read_request: whence is not SEEK_DATA or SEEK_HOLE";
		return NULL;
	default: /* GETATTR, READLINK, STATFS: nothing beyond ino */
		return NULL;
	}
}

static const char *wire_read_request_invalid(const struct wire_read_request *m)
{
	if (m->client_id == 0)
		return "read_request: client_id is 0";
	if (m->local > 1)
		return "read_request: local is not 0 or 1";
	if (!m->local && m->min_op)
		return "read_request: min_op without local";
	return wire_read_invalid(&m->read);
}

/* The data answers (READ, READLINK, GETXATTR, LISTXATTR) without an error. */
static const char *wire_read_data_invalid(uint8_t type, const struct wire_read_result *res)
{
	if (res->data_len > WIRE_READ_DATA_MAX)
		return "read_reply: data too long";
	if (type == WIRE_READ_READLINK && res->data_len > WIRE_SYMLINK_MAX)
		return "read_reply: symlink target too long";
	if (!res->data && res->data_len)
		return "read_reply: data missing";
	if (res->len != res->data_len && !(wire_read_type_sizes(type) && res->data_len == 0))
		return "read_reply: len is not data_len";
	return NULL;
}

/*
 * NULL if res may travel as the answer to a read of type (known), else why not. Looks only
 * at what the type carries, and on an error at err alone. The dirents themselves are
 * checked one by one (wire_read_dirent_invalid): the decoder checks each as it reads it.
 */
static const char *wire_read_result_invalid(uint8_t type, const struct wire_read_result *res)
{
	if (res->err > 0 || res->err < -WIRE_FS_ERRNO_MAX)
		return "read_reply: err is not 0 or -errno";
	if (res->err)
		return NULL;
	switch (type) {
	case WIRE_READ_READ:
	case WIRE_READ_READLINK:
	case WIRE_READ_GETXATTR:
	case WIRE_READ_LISTXATTR:
		return wire_read_data_invalid(type, res);
	case WIRE_READ_READDIR:
		if (res->eof > 1)
			return "read_reply: eof is not 0 or 1";
		if (res->dirent_count > WIRE_READ_DIRENTS_MAX)
			return "read_reply: too many dirents";
		if (!res->dirents && res->dirent_count)
			return "read_reply: dirents missing";
		return NULL;
	default: /* GETATTR, LOOKUP, STATFS, LSEEK: any values */
		return NULL;
	}
}

static const char *wire_read_dirent_invalid(const struct wire_dirent *d)
{
	return wire_read_name_invalid(&WIRE_READ_RULE_DIRENT, d->name, d->name_len);
}

/* ---- Encoding ------------------------------------------------------------------------ */

/* Pack return values are ignored: the sink keeps the first failure and refuses the rest. */
static void wire_read_pack_attr(msgpack_packer *pk, const struct wire_attr *a)
{
	msgpack_pack_array(pk, WIRE_ATTR_FIELDS);
	wire_pack_attr(pk, a);
}

static void wire_read_pack_dirents(msgpack_packer *pk, const struct wire_read_result *res)
{
	msgpack_pack_array(pk, WIRE_READ_READDIR_FIELDS);
	msgpack_pack_uint8(pk, res->eof);
	msgpack_pack_array(pk, res->dirent_count);
	for (uint32_t i = 0; i < res->dirent_count; i++) {
		const struct wire_dirent *d = &res->dirents[i];

		msgpack_pack_array(pk, WIRE_READ_DIRENT_FIELDS);
		msgpack_pack_uint64(pk, d->cookie);
		wire_pack_bin(pk, d->name, d->name_len);
		wire_read_pack_attr(pk, &d->attr);
	}
}

/* The payload of a successful answer to a read of type (known). */
static void wire_read_pack_payload(msgpack_packer *pk, uint8_t type, const struct wire_read_result *res)
{
	switch (type) {
	case WIRE_READ_GETATTR:
	case WIRE_READ_LOOKUP:
		wire_read_pack_attr(pk, &res->attr);
		break;
	case WIRE_READ_READDIR:
		wire_read_pack_dirents(pk, res);
		break;
	case WIRE_READ_READ:
	case WIRE_READ_READLINK:
	case WIRE_READ_GETXATTR:
	case WIRE_READ_LISTXATTR:
		msgpack_pack_array(pk, WIRE_READ_DATA_FIELDS);
		wire_pack_bin(pk, res->data, res->data_len);
		msgpack_pack_uint32(pk, res->len);
		break;
	case WIRE_READ_STATFS:
		msgpack_pack_array(pk, WIRE_READ_STATFS_FIELDS);
		msgpack_pack_uint64(pk, res->inodes);
		msgpack_pack_uint64(pk, res->data_bytes);
		break;
	case WIRE_READ_LSEEK:
		msgpack_pack_array(pk, WIRE_READ_LSEEK_FIELDS);
		msgpack_pack_uint64(pk, res->value);
		break;
	}
}

int wire_read_request_encode(const struct wire_read_request *m, struct wire_buf *b)
{
	const struct wire_read *rd = &m->read;
	struct wire_sink sink;
	msgpack_packer pk;

	if (wire_read_request_invalid(m))
		return -EINVAL;
	wire_sink_init(&sink, b, WIRE_READ_REQUEST_SIZE_MAX);
	msgpack_packer_init(&pk, &sink, wire_sink_write);
	msgpack_pack_array(&pk, WIRE_READ_REQUEST_FIELDS);
	msgpack_pack_uint64(&pk, m->client_id);
	msgpack_pack_uint64(&pk, m->request);
	msgpack_pack_uint8(&pk, m->local);
	msgpack_pack_uint64(&pk, m->min_op);
	msgpack_pack_array(&pk, WIRE_READ_FIELDS);
	msgpack_pack_uint8(&pk, rd->type);
	msgpack_pack_uint64(&pk, rd->ino);
	wire_pack_bin(&pk, rd->name, rd->name_len);
	msgpack_pack_uint64(&pk, rd->offset);
	msgpack_pack_uint64(&pk, rd->cookie);
	msgpack_pack_uint32(&pk, rd->size);
	msgpack_pack_uint8(&pk, rd->whence);
	return wire_sink_finish(&sink);
}

/* NULL if m may travel as the answer to a read of type, else why not. */
static const char *wire_read_reply_invalid(uint8_t type, const struct wire_read_reply *m)
{
	const struct wire_read_result *res = &m->result;
	const char *why;

	if (!wire_read_type_known(type))
		return "read_reply: unknown read type";
	why = wire_read_result_invalid(type, res);
	if (why || res->err || type != WIRE_READ_READDIR)
		return why;
	for (uint32_t i = 0; i < res->dirent_count; i++) {
		why = wire_read_dirent_invalid(&res->dirents[i]);
		if (why)
			return why;
	}
	return NULL;
}

int wire_read_reply_encode(uint8_t type, const struct wire_read_reply *m, struct wire_buf *b)
{
	struct wire_sink sink;
	msgpack_packer pk;

	if (wire_read_reply_invalid(type, m))
		return -EINVAL;
	wire_sink_init(&sink, b, WIRE_READ_REPLY_SIZE_MAX);
	msgpack_packer_init(&pk, &sink, wire_sink_write);
	msgpack_pack_array(&pk, WIRE_READ_REPLY_FIELDS);
	msgpack_pack_uint64(&pk, m->request);
	msgpack_pack_uint64(&pk, m->view);
	msgpack_pack_uint64(&pk, m->commit);
	msgpack_pack_int32(&pk, m->result.err);
	if (m->result.err)
		msgpack_pack_nil(&pk);
	else
		wire_read_pack_payload(&pk, type, &m->result);
	return wire_sink_finish(&sink);
}

/* ---- Decoding ------------------------------------------------------------------------ */

/* Reasons for the reader's faults (wire/wire_msgpack.h). Complete for every fault: a NULL
 * here would turn a fault into success. */
static const char *const WIRE_READ_REQUEST_WHY[WIRE_READER_STATUS_COUNT] = {
	[WIRE_READER_TRUNCATED] = "read_request: truncated",
	[WIRE_READER_NOT_ARRAY] = "read_request: not a msgpack array",
	[WIRE_READER_NOT_INT] = "read_request: field is not an integer",
	[WIRE_READER_RANGE] = "read_request: integer out of range",
	[WIRE_READER_NOT_BIN] = "read_request: field is not bin",
	[WIRE_READER_NOT_BOOL] = "read_request: field is not a boolean",
};

static const char *const WIRE_READ_REPLY_WHY[WIRE_READER_STATUS_COUNT] = {
	[WIRE_READER_TRUNCATED] = "read_reply: truncated",
	[WIRE_READER_NOT_ARRAY] = "read_reply: not a msgpack array",
	[WIRE_READER_NOT_INT] = "read_reply: field is not an integer",
	[WIRE_READER_RANGE] = "read_reply: integer out of range",
	[WIRE_READER_NOT_BIN] = "read_reply: field is not bin",
	[WIRE_READER_NOT_BOOL] = "read_reply: field is not a boolean",
};

/* NULL when r held exactly one valid request, now in m; else why not. */
static const char *wire_read_request_fields(struct wire_reader *r, struct wire_read_request *m)
{
	struct wire_read *rd = &m->read;
	uint32_t count = wire_reader_array(r);
	uint64_t type;

	if (r->status == WIRE_READER_OK && count != WIRE_READ_REQUEST_FIELDS)
		return "read_request: wrong field count";
	m->client_id = wire_reader_u64(r);
	m->request = wire_reader_u64(r);
	m->local = wire_reader_u8(r);
	m->min_op = wire_reader_u64(r);
	count = wire_reader_array(r);
	if (r->status == WIRE_READER_OK && count != WIRE_READ_FIELDS)
		return "read_request: read: wrong field count";
	type = wire_reader_u64(r);
	rd->ino = wire_reader_u64(r);
	rd->name = (const char *)wire_reader_bin(r, &rd->name_len);
	rd->offset = wire_reader_u64(r);
	rd->cookie = wire_reader_u64(r);
	rd->size = wire_reader_u32(r);
	rd->whence = wire_reader_u8(r);
	if (r->status != WIRE_READER_OK)
		return WIRE_READ_REQUEST_WHY[r->status];
	if (r->left != 0)
		return "read_request: trailing bytes";
	if (!wire_read_type_known(type))
		return "read_request: unknown type";
	rd->type = (uint8_t)type;
	if (rd->name_len == 0) /* a type without a name: the field is zero, not a pointer into buf */
		rd->name = NULL;
	return wire_read_request_invalid(m);
}

int wire_read_request_decode(const uint8_t *buf, size_t len, struct wire_read_request *m, const char **why)
{
	struct wire_reader r = { .pos = buf, .left = len, .status = WIRE_READER_OK };

	memset(m, 0, sizeof(*m));
	if (len > WIRE_READ_REQUEST_SIZE_MAX)
		*why = "read_request: message too large";
	else if (len == 0)
		*why = "read_request: empty";
	else
		*why = wire_read_request_fields(&r, m);
	if (*why)
		memset(m, 0, sizeof(*m)); /* nothing half-decoded, no pointer into a rejected buffer */
	return *why ? -EBADMSG : 0;
}

/* An attr wrapped in its array. */
static const char *wire_read_attr_fields(struct wire_reader *r, struct wire_attr *a)
{
	uint32_t count = wire_reader_array(r);

	if (r->status == WIRE_READER_OK && count != WIRE_ATTR_FIELDS)
		return "read_reply: attr: wrong field count";
	wire_reader_attr(r, a);
	if (r->status != WIRE_READER_OK)
		return WIRE_READ_REPLY_WHY[r->status];
	return NULL;
}

/* NULL when r held one valid entry, now in d; else why not. */
static const char *wire_read_dirent_fields(struct wire_reader *r, struct wire_dirent *d)
{
	uint32_t count = wire_reader_array(r);
	const char *why;

	if (r->status == WIRE_READER_OK && count != WIRE_READ_DIRENT_FIELDS)
		return "read_reply: dirent: wrong field count";
	d->cookie = wire_reader_u64(r);
	d->name = (const char *)wire_reader_bin(r, &d->name_len);
	why = wire_read_attr_fields(r, &d->attr);
	if (why)
		return why;
	return wire_read_dirent_invalid(d);
}

static const char *wire_read_dirents_fields(struct wire_reader *r, struct wire_read_result *res,
                                            struct wire_dirent *dirents, uint32_t dirents_max)
{
	uint32_t count = wire_reader_array(r);
	const char *why;

	if (r->status == WIRE_READER_OK && count != WIRE_READ_READDIR_FIELDS)
		return "read_reply: payload: wrong field count";
	res->eof = wire_reader_u8(r);
	count = wire_reader_array(r);
	if (r->status != WIRE_READER_OK)
		return WIRE_READ_REPLY_WHY[r->status];
	/* Before any entry is read: the count is the sender's claim, dirents_max our room. */
	if (count > dirents_max)
		return "read_reply: too many dirents";
	res->dirent_count = count;
	res->dirents = count ? dirents : NULL;
	for (uint32_t i = 0; i < count; i++) {
		why = wire_read_dirent_fields(r, &dirents[i]);
		if (why)
			return why;
	}
	return NULL;
}

/* The payload of a successful answer to a read of type (known). */
static const char *wire_read_payload_fields(struct wire_reader *r, uint8_t type, struct wire_read_result *res,
                                            struct wire_dirent *dirents, uint32_t dirents_max)
{
	uint32_t count;

	switch (type) {
	case WIRE_READ_GETATTR:
	case WIRE_READ_LOOKUP:
		return wire_read_attr_fields(r, &res->attr);
	case WIRE_READ_READDIR:
		return wire_read_dirents_fields(r, res, dirents, dirents_max);
	case WIRE_READ_READ:
	case WIRE_READ_READLINK:
	case WIRE_READ_GETXATTR:
	case WIRE_READ_LISTXATTR:
		count = wire_reader_array(r);
		if (r->status == WIRE_READER_OK && count != WIRE_READ_DATA_FIELDS)
			return "read_reply: payload: wrong field count";
		res->data = wire_reader_bin(r, &res->data_len);
		res->len = wire_reader_u32(r);
		break;
	case WIRE_READ_STATFS:
		count = wire_reader_array(r);
		if (r->status == WIRE_READER_OK && count != WIRE_READ_STATFS_FIELDS)
			return "read_reply: payload: wrong field count";
		res->inodes = wire_reader_u64(r);
		res->data_bytes = wire_reader_u64(r);
		break;
	case WIRE_READ_LSEEK:
		count = wire_reader_array(r);
		if (r->status == WIRE_READER_OK && count != WIRE_READ_LSEEK_FIELDS)
			return "read_reply: payload: wrong field count";
		res->value = wire_reader_u64(r);
		break;
	}
	if (r->status != WIRE_READER_OK)
		return WIRE_READ_REPLY_WHY[r->status];
	return NULL;
}

/* NULL when r held exactly one valid answer to a read of type (known), now in m; else why not. */
static const char *wire_read_reply_fields(struct wire_reader *r, uint8_t type, struct wire_read_reply *m,
                                          struct wire_dirent *dirents, uint32_t dirents_max)
{
	struct wire_read_result *res = &m->result;
	uint32_t count = wire_reader_array(r);
	const uint8_t *nil;
	const char *why;

	if (r->status == WIRE_READER_OK && count != WIRE_READ_REPLY_FIELDS)
		return "read_reply: wrong field count";
	m->request = wire_reader_u64(r);
	m->view = wire_reader_u64(r);
	m->commit = wire_reader_u64(r);
	res->err = (int32_t)wire_reader_sint(r, INT32_MIN, INT32_MAX);
	if (r->status != WIRE_READER_OK)
		return WIRE_READ_REPLY_WHY[r->status];
	if (res->err > 0 || res->err < -WIRE_FS_ERRNO_MAX)
		return "read_reply: err is not 0 or -errno";
	if (res->err) {
		/* An error carries nothing else: nil, so a payload cannot ride along unchecked. */
		nil = wire_reader_take(r, 1);
		if (!nil)
			return WIRE_READ_REPLY_WHY[r->status];
		if (nil[0] != WIRE_READ_NIL)
			return "read_reply: payload of an error is not nil";
	} else {
		why = wire_read_payload_fields(r, type, res, dirents, dirents_max);
		if (why)
			return why;
	}
	if (r->left != 0)
		return "read_reply: trailing bytes";
	return wire_read_result_invalid(type, res);
}

int wire_read_reply_decode(uint8_t type, const uint8_t *buf, size_t len, struct wire_read_reply *m,
                           struct wire_dirent *dirents, uint32_t dirents_max, const char **why)
{
	struct wire_reader r = { .pos = buf, .left = len, .status = WIRE_READER_OK };

	/* No array to write into is room for no entry. */
	if (!dirents || dirents_max > WIRE_READ_DIRENTS_MAX)
		dirents_max = dirents ? WIRE_READ_DIRENTS_MAX : 0;
	memset(m, 0, sizeof(*m));
	if (!wire_read_type_known(type))
		*why = "read_reply: unknown read type";
	else if (len > WIRE_READ_REPLY_SIZE_MAX)
		*why = "read_reply: message too large";
	else if (len == 0)
		*why = "read_reply: empty";
	else
		*why = wire_read_reply_fields(&r, type, m, dirents, dirents_max);
	if (*why)
		memset(m, 0, sizeof(*m)); /* nothing half-decoded, no pointer into a rejected buffer */
	return *why ? -EBADMSG : 0;
}
