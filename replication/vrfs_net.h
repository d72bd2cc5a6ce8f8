/*
 * vrfs_net.h — blocking frame I/O for clients of a cluster (vrfs status, the mount, test
 * tools): connect with a timeout, send one frame, read frames. Plain sockets and poll();
 * the replica itself uses libuv (vrfsd.c).
 */
#ifndef REPLICATION_VRFS_NET_H
#define REPLICATION_VRFS_NET_H

#include <stddef.h>
#include <stdint.h>

#include "replication/vrfs_cluster.h"
#include "wire/wire_frame.h"

/* Connects to member i within timeout_ms. Returns a nonblocking socket, or -errno. */
int vrfs_net_connect(const struct vrfs_cluster *c, uint8_t i, int timeout_ms);

/* Frames body as type and writes it all (waiting up to timeout_ms for room). 0 or -errno. */
int vrfs_net_send(int fd, const struct vrfs_cluster *c, uint16_t type, const uint8_t *body, size_t len, int timeout_ms);

/* Bytes read from one connection, not yet taken as frames. */
struct vrfs_reader {
	uint8_t *buf;
	size_t len, cap;
	size_t taken; /* bytes of the frame returned last, dropped at the next call */
};

void vrfs_reader_free(struct vrfs_reader *r);

/*
 * Reads what the socket has (without waiting) into r. Returns the bytes read (0: none
 * available), or -errno; -ECONNRESET at end of stream.
 */
int vrfs_reader_fill(struct vrfs_reader *r, int fd);

/*
 * Takes the next whole frame from r if one is there: 1 with *type, *body (borrowed until
 * the next call) and *len; 0 when more bytes are needed; -EBADMSG (with *why) when the
 * stream holds a bad frame (the connection must be closed), -EXDEV for another cluster.
 */
int vrfs_reader_next(struct vrfs_reader *r, const struct vrfs_cluster *c, uint16_t *type, const uint8_t **body,
                     size_t *len, const char **why);

/* Waits up to timeout_ms for one frame on fd. 1 with the frame, 0 on timeout, or -errno. */
int vrfs_net_read_frame(int fd, struct vrfs_reader *r, const struct vrfs_cluster *c, int timeout_ms, uint16_t *type,
                        const uint8_t **body, size_t *len, const char **why);

#endif
