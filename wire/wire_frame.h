/*
 * wire_frame.h — the frame every vrfs message travels in, between replicas and from
 * clients. The body is opaque here (a VR message, whose own decoder checks it).
 *
 * Format: a fixed 40-byte header, little-endian, then body_len bytes of body.
 *
 *   offset  size  field
 *        0     4  magic       WIRE_FRAME_MAGIC, the bytes "VRFS"
 *        4     2  version     WIRE_FRAME_VERSION (1)
 *        6     2  type        the message type, never 0 (the body's decoder gives it meaning)
 *        8     8  cluster_id  the cluster the sender belongs to
 *       16     4  body_len    0..WIRE_FRAME_BODY_MAX
 *       20     4  reserved    0
 *       24    16  tag         over bytes 0..23 of the header, then the body
 *
 * The tag is BLAKE2b with a 16-byte output (libsodium crypto_generichash):
 *  - without a cluster key, unkeyed: a checksum that catches corruption, not an attacker;
 *  - with a cluster key (WIRE_FRAME_KEY_SIZE bytes, shared by every member), keyed: a MAC.
 * A frame tagged with a key fails as "bad checksum" when checked without one, and a frame
 * tagged without a key fails as "bad MAC" when checked with one.
 *
 * The tag is checked before the cluster id, so a corrupted or forged cluster id is never
 * believed. Consequence: a frame from another cluster is reported as -EXDEV only when its
 * tag verifies here (both clusters without a key, or sharing one); with different keys
 * it is "bad MAC" (the daemon may still log the cluster id the header claims, as a hint).
 *
 * Replay protection (issue 9) is not here yet; see wire_frame_tag in wire_frame.c.
 *
 * Nothing here does I/O or allocates. libsodium's BLAKE2b and sodium_memcmp work
 * before sodium_init(); the daemon calls sodium_init() once at start anyway.
 */
#ifndef WIRE_WIRE_FRAME_H
#define WIRE_WIRE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "wire/wire_fs.h"

#define WIRE_FRAME_MAGIC       0x53465256u /* "VRFS" read as a little-endian u32 */
#define WIRE_FRAME_VERSION     1
#define WIRE_FRAME_HEADER_SIZE 40
#define WIRE_FRAME_TAGGED_SIZE 24 /* header bytes the tag covers: all but the tag */
#define WIRE_FRAME_TAG_SIZE    16
#define WIRE_FRAME_KEY_SIZE    32
/* A log window in one message (DO_VIEW_CHANGE, START_VIEW, NEW_STATE, RECOVERY_RESPONSE):
 * the committed ops a checkpoint keeps (vrfsd --checkpoint-kib) plus the uncommitted ones the
 * pipeline allows (a byte limit too), with their headers. A client's frames are far smaller:
 * one op of at most 1 MiB (WIRE_FS_OP_SIZE_MAX). */
#define WIRE_FRAME_BODY_MAX (64u << 20)
#define WIRE_FRAME_SIZE_MAX (WIRE_FRAME_HEADER_SIZE + WIRE_FRAME_BODY_MAX)

_Static_assert(WIRE_FRAME_BODY_MAX >= WIRE_FS_OP_SIZE_MAX, "a frame carries any encoded op");
_Static_assert(WIRE_FRAME_BODY_MAX >= WIRE_FS_RESULT_SIZE_MAX, "a frame carries any encoded result");
_Static_assert(WIRE_FRAME_SIZE_MAX <= UINT32_MAX, "body_len is a u32");
_Static_assert(WIRE_FRAME_TAGGED_SIZE + WIRE_FRAME_TAG_SIZE == WIRE_FRAME_HEADER_SIZE, "header layout");

/* A decoded header. Plain values: the header bytes are not referenced. */
struct wire_frame_header {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint64_t cluster_id;
	uint32_t body_len;
	uint32_t reserved;
	uint8_t tag[WIRE_FRAME_TAG_SIZE];
};

/*
 * Writes the frame of body (body_len bytes; may be NULL when body_len is 0) into
 * out[0..out_size) and sets *out_len to WIRE_FRAME_HEADER_SIZE + body_len. key is NULL
 * (checksum) or WIRE_FRAME_KEY_SIZE bytes (MAC). body may already sit at
 * out + WIRE_FRAME_HEADER_SIZE (encode the body in place, then frame it); any other
 * overlap of body and out is not allowed. Returns 0; -EINVAL for type 0, or a NULL body
 * or out with a nonzero length; -EMSGSIZE when body_len > WIRE_FRAME_BODY_MAX or the
 * frame does not fit out_size (out and *out_len are then untouched).
 */
int wire_frame_encode(uint16_t type, uint64_t cluster_id, const uint8_t *body, uint32_t body_len,
                      const uint8_t key[WIRE_FRAME_KEY_SIZE], uint8_t *out, size_t out_size, size_t *out_len);

/*
 * For a stream reader: parses the header in buf[0..len) (untrusted), len being
 * WIRE_FRAME_HEADER_SIZE, and checks what can be checked without the body: magic,
 * version, reserved = 0, type != 0, body_len <= WIRE_FRAME_BODY_MAX. Then the reader
 * reads h->body_len bytes and calls wire_frame_verify. Returns 0 and sets *why to
 * NULL; -EBADMSG with a constant *why ("frame: short header" when len is smaller);
 * -EINVAL when len is larger (a caller bug: give exactly the header). The tag is NOT
 * checked yet: nothing in h may be acted on before wire_frame_verify passes.
 */
int wire_frame_decode_header(const uint8_t *buf, size_t len, struct wire_frame_header *h, const char **why);

/*
 * Checks the tag of a frame whose header h was parsed by wire_frame_decode_header from
 * header_bytes (its WIRE_FRAME_HEADER_SIZE bytes), with body (h->body_len bytes; NULL
 * when 0), then that it comes from cluster_id_expected. key as for wire_frame_encode.
 * Returns 0 (and *why NULL); -EBADMSG "frame: bad checksum" (no key) or "frame: bad MAC"
 * (key) when the tag does not match, compared in constant time; -EXDEV "frame: other
 * cluster" when the tag matches but the cluster id differs.
 */
int wire_frame_verify(const struct wire_frame_header *h, const uint8_t *header_bytes, const uint8_t *body,
                      const uint8_t key[WIRE_FRAME_KEY_SIZE], uint64_t cluster_id_expected, const char **why);

/*
 * The whole frame in buf[0..len) (untrusted): wire_frame_decode_header, then exactly
 * h->body_len bytes of body ("frame: truncated body" when fewer, "frame: trailing
 * bytes" when more; both -EBADMSG), then wire_frame_verify. On success *body points
 * INTO buf (borrowed; buf + WIRE_FRAME_HEADER_SIZE, never NULL, even for an empty body).
 */
int wire_frame_decode(const uint8_t *buf, size_t len, const uint8_t key[WIRE_FRAME_KEY_SIZE],
                      uint64_t cluster_id_expected, struct wire_frame_header *h, const uint8_t **body,
                      const char **why);

#endif
