/*
 * vrfs_cluster.c — the --cluster list, the cluster id and the key file.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replication/vrfs_cluster.h"

static void vrfs_cluster_id(struct vrfs_cluster *c)
{
	crypto_generichash_state st;
	uint8_t out[8];
	static const char tag[] = "vrfs cluster 1\n";

	crypto_generichash_init(&st, NULL, 0, sizeof(out));
	crypto_generichash_update(&st, (const uint8_t *)tag, sizeof(tag) - 1);
	for (uint8_t i = 0; i < c->count; i++) {
		const char *name = vrfs_cluster_name(c, i);
		if (vr_witness(c->witnesses, i)) /* a role is part of the configuration */
			crypto_generichash_update(&st, (const uint8_t *)VRFS_WITNESS_PREFIX,
			                          sizeof(VRFS_WITNESS_PREFIX) - 1);
		crypto_generichash_update(&st, (const uint8_t *)name, strlen(name));
		crypto_generichash_update(&st, (const uint8_t *)"\n", 1);
	}
	if (c->has_key)
		crypto_generichash_update(&st, c->key, sizeof(c->key));
	crypto_generichash_final(&st, out, sizeof(out));
	c->id = 0;
	for (int i = 7; i >= 0; i--)
		c->id = (c->id << 8) | out[i];
}

const char *vrfs_cluster_name(const struct vrfs_cluster *c, uint8_t i)
{
	static __thread char buf[VRFS_HOST_MAX + 16];

	snprintf(buf, sizeof(buf), strchr(c->member[i].host, ':') ? "[%s]:%u" : "%s:%u", c->member[i].host,
	         c->member[i].port);
	return buf;
}

int vrfs_cluster_text(const struct vrfs_cluster *c, char *out, size_t size)
{
	size_t n = 0;

	if (size)
		out[0] = 0;
	for (uint8_t i = 0; i < c->count; i++) {
		int w = snprintf(out + n, size - n, "%s%s%s", i ? "," : "",
		                 vr_witness(c->witnesses, i) ? VRFS_WITNESS_PREFIX : "", vrfs_cluster_name(c, i));
		if (w < 0 || (size_t)w >= size - n)
			return -ENAMETOOLONG;
		n += (size_t)w;
	}
	return (int)n;
}

int vrfs_cluster_parse_like(struct vrfs_cluster *c, const struct vrfs_cluster *from, const char *list, size_t len,
                            char *why, size_t why_size)
{
	char text[VR_REPLICAS_MAX * (VRFS_HOST_MAX + 16) + 1];

	if (len >= sizeof(text)) {
		snprintf(why, why_size, "member list too long");
		return -EINVAL;
	}
	memcpy(text, list, len);
	text[len] = 0;
	if (memchr(text, 0, len)) {
		snprintf(why, why_size, "member list holds a NUL byte");
		return -EINVAL;
	}
	int rc = vrfs_cluster_parse(c, text, why, why_size);
	if (rc)
		return rc;
	c->has_key = from->has_key;
	memcpy(c->key, from->key, sizeof(c->key));
	vrfs_cluster_id(c);
	return 0;
}

int vrfs_cluster_role_change(const struct vrfs_cluster *old, const struct vrfs_cluster *next, char *why,
                             size_t why_size)
{
	for (uint8_t i = 0; i < old->count; i++) {
		int j = vrfs_cluster_find(next, &old->member[i]);
		bool was = vr_witness(old->witnesses, i);
		if (j >= 0 && was != vr_witness(next->witnesses, (uint8_t)j)) {
			snprintf(why, why_size,
			         "%s is a %s now and a %s in the new configuration: a replica keeps its role (a "
			         "witness holds no files); remove it in one reconfiguration and add it back, "
			         "started empty with --join, in another",
			         vrfs_cluster_name(old, i), was ? "witness" : "full replica",
			         was ? "full replica" : "witness");
			return -EINVAL;
		}
	}
	return 0;
}

int vrfs_cluster_find(const struct vrfs_cluster *c, const struct vrfs_member *m)
{
	for (uint8_t i = 0; i < c->count; i++) {
		const struct vrfs_member *x = &c->member[i];
		if (x->port == m->port && !strcmp(x->host, m->host))
			return i;
		if (x->addr_len && x->addr_len == m->addr_len && !memcmp(&x->addr, &m->addr, x->addr_len))
			return i;
	}
	return -1;
}

static int vrfs_member_parse(struct vrfs_member *m, const char *s, size_t len, char *why, size_t why_size)
{
	const char *colon;
	size_t host_len;
	const char *host = s;

	if (len && s[0] == '[') { /* [v6]:port */
		const char *close = memchr(s, ']', len);
		if (!close || close + 1 >= s + len || close[1] != ':') {
			snprintf(why, why_size, "--cluster: bad member \"%.*s\": write [ADDRESS]:PORT", (int)len, s);
			return -EINVAL;
		}
		host = s + 1;
		host_len = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = NULL;
		for (size_t i = 0; i < len; i++)
			if (s[i] == ':')
				colon = s + i;
		if (!colon) {
			snprintf(why, why_size, "--cluster: member \"%.*s\" has no port: write HOST:PORT", (int)len, s);
			return -EINVAL;
		}
		host_len = (size_t)(colon - s);
	}
	if (host_len == 0 || host_len > VRFS_HOST_MAX) {
		snprintf(why, why_size, "--cluster: bad host in \"%.*s\"", (int)len, s);
		return -EINVAL;
	}
	memcpy(m->host, host, host_len);
	m->host[host_len] = 0;

	char port[8];
	size_t port_len = (size_t)(s + len - colon - 1);
	if (port_len == 0 || port_len >= sizeof(port)) {
		snprintf(why, why_size, "--cluster: bad port in \"%.*s\"", (int)len, s);
		return -EINVAL;
	}
	memcpy(port, colon + 1, port_len);
	port[port_len] = 0;
	char *end;
	long p = strtol(port, &end, 10);
	if (*end || p < 1 || p > 65535 || !isdigit((unsigned char)port[0])) {
		snprintf(why, why_size, "--cluster: bad port \"%s\" in \"%.*s\" (1..65535)", port, (int)len, s);
		return -EINVAL;
	}
	m->port = (uint16_t)p;

	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(m->host, port, &hints, &res);
	if (rc || !res) {
		snprintf(why, why_size, "--cluster: cannot resolve \"%s\": %s", m->host, gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(&m->addr, res->ai_addr, res->ai_addrlen);
	m->addr_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int vrfs_cluster_parse(struct vrfs_cluster *c, const char *list, char *why, size_t why_size)
{
	const char *p = list;

	memset(c, 0, sizeof(*c));
	if (!list || !*list) {
		snprintf(why, why_size, "--cluster is empty: give HOST:PORT,HOST:PORT,HOST:PORT");
		return -EINVAL;
	}
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (c->count == VR_REPLICAS_MAX) {
			snprintf(why, why_size, "--cluster: more than %d replicas", VR_REPLICAS_MAX);
			return -EINVAL;
		}
		size_t prefix = sizeof(VRFS_WITNESS_PREFIX) - 1;
		if (len > prefix && !strncmp(p, VRFS_WITNESS_PREFIX, prefix)) {
			c->witnesses |= (uint16_t)(1u << c->count);
			p += prefix;
			len -= prefix;
		}
		if (vrfs_member_parse(&c->member[c->count], p, len, why, why_size))
			return -EINVAL;
		for (uint8_t i = 0; i < c->count; i++)
			if (!strcmp(c->member[i].host, c->member[c->count].host) &&
			    c->member[i].port == c->member[c->count].port) {
				snprintf(why, why_size, "--cluster: %s is listed twice", vrfs_cluster_name(c, i));
				return -EINVAL;
			}
		c->count++;
		if (!comma)
			break;
		p = comma + 1;
	}
	if (c->count % 2 == 0) {
		snprintf(why, why_size, "--cluster lists %u replicas: give an odd number (2f+1), e.g. 3 or 5",
		         c->count);
		return -EINVAL;
	}
	uint8_t witnesses = vr_witness_count(c->witnesses, c->count), f = (uint8_t)((c->count - 1) / 2);
	if (witnesses > f) {
		snprintf(
		        why, why_size,
		        "--cluster marks %u of %u replicas as witnesses: at most %u (f), so that f+1 replicas keep the "
		        "files",
		        witnesses, c->count, f);
		return -EINVAL;
	}
	vrfs_cluster_id(c);
	return 0;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int vrfs_cluster_key_file(struct vrfs_cluster *c, const char *path, char *why, size_t why_size)
{
	char buf[2 * WIRE_FRAME_KEY_SIZE + 2];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;
		snprintf(why, why_size, "--key-file %s: %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(why, why_size, "--key-file %s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_mode & 077) {
		snprintf(why, why_size, "--key-file %s: readable by group or others (mode %03o): chmod 600 %s", path,
		         (unsigned)(st.st_mode & 0777), path);
		close(fd);
		return -EPERM;
	}
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n == (ssize_t)sizeof(buf) - 1 && buf[n - 1] == '\n')
		n--;
	if (n != 2 * WIRE_FRAME_KEY_SIZE) {
		snprintf(why, why_size, "--key-file %s: expected %d hex digits (make one with `vrfs keygen FILE`)",
		         path, 2 * WIRE_FRAME_KEY_SIZE);
		return -EINVAL;
	}
	for (int i = 0; i < WIRE_FRAME_KEY_SIZE; i++) {
		int hi = hexval(buf[2 * i]), lo = hexval(buf[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			snprintf(why, why_size, "--key-file %s: not hex at byte %d", path, 2 * i);
			sodium_memzero(buf, sizeof(buf));
			return -EINVAL;
		}
		c->key[i] = (uint8_t)(hi << 4 | lo);
	}
	sodium_memzero(buf, sizeof(buf));
	c->has_key = true;
	vrfs_cluster_id(c);
	return 0;
}
