/*
 * vrfs_badframes.c — sends hostile input to one live replica, each kind on a fresh
 * connection, and reports what it sent. The test then checks that the replica still
 * serves and that its frames_bad counter grew.
 *
 *   vrfs-badframes --cluster LIST --id N [--key-file F]
 *
 * Kinds: random bytes; a header with a bad magic; a header announcing a body larger than
 * the limit; a frame cut short (then the connection closes); a frame with a flipped
 * body byte (bad checksum); a frame of another cluster; a VR frame whose body is not
 * msgpack; a VR frame whose body has out-of-range fields; a REQUEST whose op does not
 * decode; a frame of an unknown type. Prints the number of frames the replica should
 * count as bad (the kinds that reach its frame checks).
 */
#include <errno.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "replication/vrfs_cluster.h"
#include "replication/vrfs_net.h"
#include "wire/wire_vr.h"

static struct vrfs_cluster cluster;
static uint8_t target;

static void send_raw(const char *what, const uint8_t *buf, size_t len)
{
	int fd = vrfs_net_connect(&cluster, target, 1000);

	if (fd < 0) {
		fprintf(stderr, "vrfs-badframes: %s: cannot connect: %s\n", what, strerror(-fd));
		exit(1);
	}
	size_t off = 0;
	while (off < len) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		poll(&p, 1, 1000);
		ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break; /* the replica may close first: that is its answer */
		off += (size_t)n;
	}
	/* Give the replica a moment to read before the close. */
	struct pollfd p = { .fd = fd, .events = POLLIN };
	poll(&p, 1, 100);
	close(fd);
	printf("sent: %s (%zu bytes)\n", what, len);
}

static size_t frame(uint16_t type, uint64_t cluster_id, const uint8_t *body, size_t len, uint8_t *out, size_t size)
{
	size_t n = 0;

	if (wire_frame_encode(type, cluster_id, body, (uint32_t)len, cluster.has_key ? cluster.key : NULL, out, size,
	                      &n)) {
		fprintf(stderr, "vrfs-badframes: cannot frame\n");
		exit(2);
	}
	return n;
}

int main(int argc, char **argv)
{
	const char *list = NULL, *key = NULL;
	long id = -1;
	char why[VRFS_WHY_MAX];
	static uint8_t buf[4 * 1024 * 1024];
	uint8_t body[512];
	int counted = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--cluster"))
			list = argv[i + 1];
		else if (!strcmp(argv[i], "--id"))
			id = strtol(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--key-file"))
			key = argv[i + 1];
	}
	if (!list || id < 0 || sodium_init() < 0 || vrfs_cluster_parse(&cluster, list, why, sizeof(why)) ||
	    (key && vrfs_cluster_key_file(&cluster, key, why, sizeof(why))) || id >= cluster.count) {
		fprintf(stderr, "usage: vrfs-badframes --cluster LIST --id N [--key-file F]\n");
		return 2;
	}
	target = (uint8_t)id;

	randombytes_buf(buf, 4096);
	memcpy(buf, "XXXX", 4); /* never a valid magic */
	send_raw("4096 random bytes", buf, 4096);
	counted++;

	size_t n = frame(WIRE_MSG_STATUS_REQUEST, cluster.id, (const uint8_t *)"\x91\x01", 2, buf, sizeof(buf));
	buf[0] ^= 0xff;
	send_raw("a header with a bad magic", buf, n);
	counted++;

	n = frame(WIRE_MSG_STATUS_REQUEST, cluster.id, (const uint8_t *)"\x91\x01", 2, buf, sizeof(buf));
	uint32_t huge = WIRE_FRAME_BODY_MAX + 1;
	memcpy(buf + 16, &huge, 4); /* body_len, little-endian on this machine's tests */
	send_raw("a header announcing a body over the limit", buf, WIRE_FRAME_HEADER_SIZE);
	counted++;

	memset(body, 0xc1, sizeof(body)); /* 0xc1: never used in msgpack */
	n = frame(VR_PREPARE, cluster.id, body, sizeof(body), buf, sizeof(buf));
	send_raw("a frame cut short, then the connection closes", buf, n / 2);
	counted++;

	n = frame(WIRE_MSG_STATUS_REQUEST, cluster.id, (const uint8_t *)"\x91\x01", 2, buf, sizeof(buf));
	buf[n - 1] ^= 0x01;
	send_raw("a frame with a flipped body byte (bad checksum or MAC)", buf, n);
	counted++;

	n = frame(WIRE_MSG_STATUS_REQUEST, cluster.id ^ 1, (const uint8_t *)"\x91\x01", 2, buf, sizeof(buf));
	send_raw("a frame of another cluster", buf, n);
	counted++;

	n = frame(VR_PREPARE, cluster.id, body, sizeof(body), buf, sizeof(buf));
	send_raw("a PREPARE whose body is not msgpack", buf, n);
	counted++;

	/* A PREPARE from replica 200 (out of range for the codec). */
	struct wire_buf b;
	struct vr_message m = { .command = VR_PREPARE, .replica = 3, .view = 1 };
	wire_buf_init(&b);
	if (wire_vr_encode(&m, &b))
		return 2;
	/* The second element of the array is the replica: a positive fixint; make it 200 (0xcc 0xc8). */
	uint8_t patched[600];
	if (b.len + 1 > sizeof(patched))
		return 2;
	patched[0] = b.data[0];
	patched[1] = b.data[1];
	patched[2] = 0xcc;
	patched[3] = 200;
	memcpy(patched + 4, b.data + 3, b.len - 3);
	n = frame(VR_PREPARE, cluster.id, patched, b.len + 1, buf, sizeof(buf));
	send_raw("a PREPARE from replica 200", buf, n);
	counted++;
	wire_buf_free(&b);

	struct vr_message req = {
		.command = VR_REQUEST, .client_id = 77, .request = 1, .kind = VR_KIND_OP, .body = body, .body_len = 16
	};
	wire_buf_init(&b);
	if (wire_vr_encode(&req, &b))
		return 2;
	n = frame(VR_REQUEST, cluster.id, b.data, b.len, buf, sizeof(buf));
	/* Answered, so that a client of another version gets an error rather than retrying for
	 * good: a REPLY with EVICTED (the request did not run; the session is gone). */
	{
		int fd = vrfs_net_connect(&cluster, target, 1000);
		struct vrfs_reader r = { 0 };
		uint16_t type = 0;
		const uint8_t *rbody = NULL;
		size_t rlen = 0;
		const char *rwhy = NULL;
		struct vr_message reply;
		if (fd < 0 || vrfs_net_send(fd, &cluster, VR_REQUEST, b.data, b.len, 1000) ||
		    vrfs_net_read_frame(fd, &r, &cluster, 2000, &type, &rbody, &rlen, &rwhy) != 1 || type != VR_REPLY ||
		    wire_vr_decode(type, rbody, rlen, &reply, NULL, 0, &rwhy) || reply.status != VR_REPLY_EVICTED ||
		    reply.client_id != 77 || reply.request != 1) {
			fprintf(stderr, "vrfs-badframes: a REQUEST whose op does not decode got no EVICTED reply\n");
			vrfs_reader_free(&r);
			wire_buf_free(&b);
			if (fd >= 0)
				close(fd);
			return 1;
		}
		vrfs_reader_free(&r);
		close(fd);
		printf("sent: a REQUEST whose op does not decode (answered: EVICTED)\n");
	}
	counted++;
	wire_buf_free(&b);

	n = frame(999, cluster.id, (const uint8_t *)"\x90", 1, buf, sizeof(buf));
	send_raw("a frame of an unknown type", buf, n);
	counted++;

	printf("counted: %d\n", counted);
	return 0;
}
