/*
 * vrfs_net.c — blocking frame I/O for clients (see vrfs_net.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "replication/vrfs_net.h"

static int64_t vrfs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int vrfs_wait(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - vrfs_now_ms();
		struct pollfd p = { .fd = fd, .events = events };
		if (left < 0)
			left = 0;
		int rc = poll(&p, 1, (int)left);
		if (rc > 0)
			return 0;
		if (rc == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

int vrfs_net_connect(const struct vrfs_cluster *c, uint8_t i, int timeout_ms)
{
	const struct vrfs_member *m = &c->member[i];
	int fd = socket(m->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&m->addr, m->addr_len) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		return -e;
	}
	int rc = vrfs_wait(fd, POLLOUT, vrfs_now_ms() + timeout_ms);
	if (rc) {
		close(fd);
		return rc;
	}
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
		close(fd);
		return err ? -err : -EIO;
	}
	return fd;
}

int vrfs_net_send(int fd, const struct vrfs_cluster *c, uint16_t type, const uint8_t *body, size_t len, int timeout_ms)
{
	size_t total = WIRE_FRAME_HEADER_SIZE + len, n = 0, off = 0;
	uint8_t *out = malloc(total);
	int64_t deadline = vrfs_now_ms() + timeout_ms;
	int rc = 0;

	if (!out)
		return -ENOMEM;
	rc = wire_frame_encode(type, c->id, body, (uint32_t)len, c->has_key ? c->key : NULL, out, total, &n);
	while (!rc && off < n) {
		ssize_t w = send(fd, out + off, n - off, MSG_NOSIGNAL);
		if (w > 0)
			off += (size_t)w;
		else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			rc = vrfs_wait(fd, POLLOUT, deadline);
		else if (w < 0 && errno != EINTR)
			rc = -errno;
	}
	free(out);
	return rc;
}

void vrfs_reader_free(struct vrfs_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

static void vrfs_reader_drop_taken(struct vrfs_reader *r)
{
	if (!r->taken)
		return;
	memmove(r->buf, r->buf + r->taken, r->len - r->taken);
	r->len -= r->taken;
	r->taken = 0;
}

int vrfs_reader_fill(struct vrfs_reader *r, int fd)
{
	int total = 0;

	vrfs_reader_drop_taken(r);
	for (;;) {
		if (r->cap - r->len < 65536 && r->cap < WIRE_FRAME_SIZE_MAX + 131072) {
			size_t cap = r->cap ? r->cap * 2 : 131072;
			uint8_t *p = realloc(r->buf, cap);
			if (!p)
				return -ENOMEM;
			r->buf = p;
			r->cap = cap;
		}
		if (r->len == r->cap)
			return total; /* holds a whole frame at least: take frames first */
		ssize_t n = recv(fd, r->buf + r->len, r->cap - r->len, 0);
		if (n > 0) {
			r->len += (size_t)n;
			total += (int)n;
			continue;
		}
		if (n == 0)
			return total ? total : -ECONNRESET;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return total;
		if (errno != EINTR)
			return -errno;
	}
}

int vrfs_reader_next(struct vrfs_reader *r, const struct vrfs_cluster *c, uint16_t *type, const uint8_t **body,
                     size_t *len, const char **why)
{
	struct wire_frame_header h;

	vrfs_reader_drop_taken(r);
	if (r->len < WIRE_FRAME_HEADER_SIZE)
		return 0;
	if (wire_frame_decode_header(r->buf, WIRE_FRAME_HEADER_SIZE, &h, why))
		return -EBADMSG;
	size_t need = WIRE_FRAME_HEADER_SIZE + (size_t)h.body_len;
	if (r->len < need)
		return 0;
	int rc = wire_frame_verify(&h, r->buf, r->buf + WIRE_FRAME_HEADER_SIZE, c->has_key ? c->key : NULL, c->id, why);
	if (rc)
		return rc;
	*type = h.type;
	*body = r->buf + WIRE_FRAME_HEADER_SIZE;
	*len = h.body_len;
	r->taken = need;
	return 1;
}

int vrfs_net_read_frame(int fd, struct vrfs_reader *r, const struct vrfs_cluster *c, int timeout_ms, uint16_t *type,
                        const uint8_t **body, size_t *len, const char **why)
{
	int64_t deadline = vrfs_now_ms() + timeout_ms;

	for (;;) {
		int rc = vrfs_reader_next(r, c, type, body, len, why);
		if (rc)
			return rc;
		rc = vrfs_reader_fill(r, fd);
		if (rc < 0)
			return rc;
		if (rc > 0)
			continue;
		rc = vrfs_wait(fd, POLLIN, deadline);
		if (rc == -ETIMEDOUT)
			return 0;
		if (rc)
			return rc;
	}
}
