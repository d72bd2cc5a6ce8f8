/*
 * vrfs_cluster.h — what every vrfs program knows of a cluster: its members (the
 * --cluster list, in replica order), its id, and its key (--key-file).
 *
 * The cluster id is BLAKE2b-64 of the member list as given and, with a key, of the key:
 * every replica and client computes the same id without asking anyone, and two clusters
 * differ unless they have the same members and the same key (or both none). Frames
 * carry the id, so a replica or client of another cluster is told apart at once.
 */
#ifndef REPLICATION_VRFS_CLUSTER_H
#define REPLICATION_VRFS_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "replication/vr.h"
#include "wire/wire_frame.h"

#define VRFS_HOST_MAX 253
#define VRFS_WHY_MAX  512

struct vrfs_member {
	char host[VRFS_HOST_MAX + 1];
	uint16_t port;
	struct sockaddr_storage addr; /* resolved */
	socklen_t addr_len;
};

struct vrfs_cluster {
	uint8_t count;
	uint16_t witnesses; /* bit i: member i is a witness (§9.5) */
	struct vrfs_member member[VR_REPLICAS_MAX];
	uint64_t id;
	bool has_key;
	uint8_t key[WIRE_FRAME_KEY_SIZE];
};

/* Marks a member of the list as a witness (§9.5): "witness@HOST:PORT". */
#define VRFS_WITNESS_PREFIX "witness@"

/* Parses "HOST:PORT,HOST:PORT,..." (an odd count of 3..VR_REPLICAS_MAX, or 1 for tests;
 * IPv6 as [ADDR]:PORT; at most f members as witness@HOST:PORT) and resolves each host. 0, or
 * -EINVAL with why. The id covers the roles: a list that marks other witnesses is another
 * cluster. */
int vrfs_cluster_parse(struct vrfs_cluster *c, const char *list, char *why, size_t why_size);

/* Reads a key file: 64 hex digits and an optional newline, readable by its owner only.
 * Sets the key and recomputes the id. 0, or -errno with why. */
int vrfs_cluster_key_file(struct vrfs_cluster *c, const char *path, char *why, size_t why_size);

/* "host:port" of member i. */
const char *vrfs_cluster_name(const struct vrfs_cluster *c, uint8_t i);

/* The member list as --cluster takes it ("host:port,witness@host:port,..."): its length, or
 * -ENAMETOOLONG. */
int vrfs_cluster_text(const struct vrfs_cluster *c, char *out, size_t size);

/* Parses list (len bytes, no NUL needed) as vrfs_cluster_parse does, with from's key. */
int vrfs_cluster_parse_like(struct vrfs_cluster *c, const struct vrfs_cluster *from, const char *list, size_t len,
                            char *why, size_t why_size);

/* The number of the member of c at m's address (host and port as listed, or the same resolved
 * address), or -1. */
int vrfs_cluster_find(const struct vrfs_cluster *c, const struct vrfs_member *m);
/* Nonzero, with a line in why, when a replica in both old and next has another role in each
 * (full or witness): its store cannot change role (a witness holds no files). */
int vrfs_cluster_role_change(const struct vrfs_cluster *old, const struct vrfs_cluster *next, char *why,
                             size_t why_size);

#endif
