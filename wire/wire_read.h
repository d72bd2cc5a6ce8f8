/*
 * wire_read.h — reads: what a mount asks the primary without going through the log
 * (getattr, lookup, readdir, read, readlink, xattrs, statfs, lseek), and the answers.
 *
 * A read travels in a frame of type WIRE_MSG_READ (client -> replica) and is answered in
 * one of type WIRE_MSG_READ_REPLY. The primary answers from committed state once its read
 * barrier holds (vr_read_begin / vr_read_ready in replication/vr.h), so a read sees every
 * write acknowledged before it began. A replica that cannot serve it answers with
 * WIRE_MSG_REDIRECT, as for a request.
 *
 * Decoders take untrusted bytes, check every field against the limits here, never
 * assert, never read past len, and allocate nothing: names and data are borrowed from the
 * input, directory entries go into the caller's array. The formats and the full list of
 * limits are at the top of wire_read.c.
 */
#ifndef WIRE_WIRE_READ_H
#define WIRE_WIRE_READ_H

#include <stddef.h>
#include <stdint.h>

#include "wire/fs_op.h"
#include "wire/wire_fs.h"

#define WIRE_READ_DIRENTS_MAX 1024          /* directory entries in one READDIR answer */
#define WIRE_READ_DATA_MAX    WIRE_DATA_MAX /* bytes in one READ, READLINK, GETXATTR or LISTXATTR answer */
#define WIRE_READ_SEEK_DATA   3             /* LSEEK whence: Linux SEEK_DATA */
#define WIRE_READ_SEEK_HOLE   4             /* LSEEK whence: Linux SEEK_HOLE */

/* The largest bodies (both fit a frame, WIRE_FRAME_BODY_MAX); a decoder refuses longer ones. */
#define WIRE_READ_REQUEST_SIZE_MAX 512
#define WIRE_READ_REPLY_SIZE_MAX   (WIRE_READ_DATA_MAX + 256)

enum wire_read_type {
	WIRE_READ_GETATTR = 1, /* ino */
	WIRE_READ_LOOKUP,      /* parent = ino, name */
	WIRE_READ_READDIR,     /* ino, cookie (0: from the start), size = most entries wanted (1..DIRENTS_MAX) */
	WIRE_READ_READ,        /* ino, offset, size (0..DATA_MAX) */
	WIRE_READ_READLINK,    /* ino */
	WIRE_READ_GETXATTR,    /* ino, name (xattr name), size (0..DATA_MAX; 0: the length only) */
	WIRE_READ_LISTXATTR,   /* ino, size (0..DATA_MAX; 0: the length only) */
	WIRE_READ_STATFS,      /* nothing (ino 0) */
	WIRE_READ_LSEEK,       /* ino, offset, whence (WIRE_READ_SEEK_DATA or WIRE_READ_SEEK_HOLE) */
	WIRE_READ_TYPE_MAX = WIRE_READ_LSEEK,
};

/* One read. Fields a type does not use are zero (the codec refuses them otherwise); ino is
 * nonzero for every type but STATFS. */
struct wire_read {
	uint8_t type;
	uint64_t ino;
	/* LOOKUP: a file name, 1..WIRE_NAME_MAX + 1 bytes, no '/' or NUL; GETXATTR: an xattr
	 * name, 1..WIRE_XATTR_NAME_MAX + 1 bytes, no NUL (one byte over travels, so the store
	 * answers ENAMETOOLONG / ERANGE). Borrowed; never NUL-terminated; NULL for other types
	 * after decoding. */
	const char *name;
	uint32_t name_len;
	uint64_t offset; /* READ, LSEEK */
	uint64_t cookie; /* READDIR */
	uint32_t size;   /* READDIR, READ, GETXATTR, LISTXATTR */
	uint8_t whence;  /* LSEEK */
};

/* READDIR: one entry, with its attributes (for readdirplus). */
struct wire_dirent {
	uint64_t cookie;  /* resumes the listing after this entry */
	const char *name; /* borrowed; 1..WIRE_NAME_MAX bytes */
	uint32_t name_len;
	struct wire_attr attr;
};

/*
 * The answer. err is 0 or -errno (-4095..-1); on an error nothing else travels (the
 * decoder leaves the rest zero). Only the fields of the read's type travel: the encoder
 * ignores the others, the decoder leaves them zero.
 */
struct wire_read_result {
	int32_t err;
	struct wire_attr attr;       /* GETATTR, LOOKUP */
	const uint8_t *data;         /* READ, READLINK, GETXATTR, LISTXATTR: borrowed; never NULL after decoding */
	uint32_t data_len;           /* <= WIRE_READ_DATA_MAX; READLINK <= WIRE_SYMLINK_MAX */
	uint32_t len;                /* = data_len, except GETXATTR, LISTXATTR with size 0 (data_len 0): the
	                              * length the value needs */
	uint64_t value;              /* LSEEK: the offset found */
	uint64_t inodes, data_bytes; /* STATFS */
	uint8_t eof;                 /* READDIR: 1 when the directory ends after these entries, else 0 */
	uint32_t dirent_count;       /* READDIR: <= WIRE_READ_DIRENTS_MAX */
	const struct wire_dirent *dirents; /* READDIR: borrowed; after decoding the caller's array, or NULL
	                                    * when dirent_count is 0 */
};

/* The body of a WIRE_MSG_READ frame. */
struct wire_read_request {
	uint64_t client_id; /* the client's session (for the reply's connection); nonzero */
	uint64_t request;   /* the client's own number, echoed */
	/*
	 * 0: a linearizable read, at the primary (read barrier or lease). 1: any replica that is
	 * not recovering answers from its applied state once its commit-number reaches min_op
	 * (§9.8: reads at backups; the client sends the op of its newest acknowledged write).
	 */
	uint8_t local;
	uint64_t min_op; /* 0 unless local */
	struct wire_read read;
};

/* The body of a WIRE_MSG_READ_REPLY frame. */
struct wire_read_reply {
	uint64_t request;
	uint64_t view;   /* the view the answer was served in */
	uint64_t commit; /* the commit-number of the state it was served from */
	struct wire_read_result result;
};

/*
 * Encoders append one body to b (borrowed; grows); m is borrowed. 0; -EINVAL for anything
 * a decoder would refuse (unknown type, client_id or ino 0, a field the type does not use
 * not zero, a bad name, size or whence, err not 0 or -errno, data too long, len not
 * data_len, eof not 0/1, too many dirents or a bad dirent name, a NULL pointer with a
 * nonzero length); -ENOMEM. On failure b->len is as on entry. A reply's type is the
 * type of the read it answers.
 */
int wire_read_request_encode(const struct wire_read_request *m, struct wire_buf *b);
int wire_read_reply_encode(uint8_t type, const struct wire_read_reply *m, struct wire_buf *b);

/*
 * Decoders: buf[0..len) (untrusted, borrowed) is exactly one body (trailing bytes are an
 * error). 0 with *why NULL, or -EBADMSG with *why a constant string naming the problem;
 * m is then all zeros. They allocate nothing; names and data point into buf.
 *
 * A reply's layout depends on the read's type, which the caller knows (it sent the read):
 * type (1..WIRE_READ_TYPE_MAX, else -EBADMSG). READDIR entries go into
 * dirents[0..dirents_max) (at most WIRE_READ_DIRENTS_MAX); more is -EBADMSG ("read_reply:
 * too many dirents"), refused before any is written. dirents may be NULL only with
 * dirents_max 0 (a NULL array is room for none). On failure dirents[] may have been
 * written. The decoder cannot know the size the read asked for: the caller checks that
 * data_len and dirent_count do not exceed it.
 */
int wire_read_request_decode(const uint8_t *buf, size_t len, struct wire_read_request *m, const char **why);
int wire_read_reply_decode(uint8_t type, const uint8_t *buf, size_t len, struct wire_read_reply *m,
                           struct wire_dirent *dirents, uint32_t dirents_max, const char **why);

#endif
