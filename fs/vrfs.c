/*
 * vrfs.c — the vrfs command: operator tools on the client library.
 *
 *   vrfs status --cluster LIST [--key-file FILE] [--json] [--timeout MS]
 *   vrfs reconfigure --cluster LIST --to LIST [--key-file FILE] [--timeout S]
 *   vrfs keygen FILE
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fs/vrfs_demo.h"
#include "fs/vrfs_mount.h"
#include "replication/vrfs_client.h"
#include "replication/vrfs_cluster.h"
#include "replication/vrfs_net.h"
#include "wire/wire_vr.h"

#define VRFS_VERSION "0.1"

static void usage(FILE *f)
{
	fprintf(f, "usage: vrfs COMMAND [OPTIONS]\n"
	           "\n"
	           "commands:\n"
	           "  mount --cluster HOST:PORT,... [--key-file FILE] MOUNTPOINT [-o OPTIONS] [-f]\n"
	           "        the replicated tree as a directory (FUSE); see vrfs mount --help\n"
	           "  demo [DIR]\n"
	           "        three replicas and two mounts under DIR on loopback, until Ctrl-C\n"
	           "  status --cluster HOST:PORT,... [--key-file FILE] [--json] [--timeout MS]\n"
	           "        each replica's state; exit 0 when a quorum (f+1) answers, 1 when not\n"
	           "  reconfigure --cluster HOST:PORT,... --to HOST:PORT,... [--key-file FILE] [--timeout S]\n"
	           "        adds, removes or replaces replicas; start new ones first with vrfsd --join\n"
	           "  keygen FILE\n"
	           "        writes a new cluster key (mode 0600) for --key-file\n"
	           "\n"
	           "See vrfs(1).\n");
}

static const char *status_name(uint8_t status)
{
	switch (status) {
	case VR_STATUS_NORMAL:
		return "normal";
	case VR_STATUS_VIEW_CHANGE:
		return "view-change";
	case VR_STATUS_RECOVERING:
		return "recovering";
	case VR_STATUS_CATCHING_UP:
		return "catching-up";
	case WIRE_STATUS_NEW:
		return "new";
	case WIRE_STATUS_LEFT:
		return "left";
	}
	return "?";
}

struct answer {
	bool reachable;
	char error[128];
	struct wire_status st;
};

static void query(const struct vrfs_cluster *c, uint8_t i, int timeout_ms, struct answer *a)
{
	struct vrfs_reader r = { 0 };
	struct wire_buf b;
	struct wire_status_request q = { .nonce = ((uint64_t)randombytes_random() << 32) | randombytes_random() };
	uint16_t type;
	const uint8_t *body;
	size_t len;
	const char *why = NULL;
	int fd = vrfs_net_connect(c, i, timeout_ms);

	memset(a, 0, sizeof(*a));
	if (fd < 0) {
		snprintf(a->error, sizeof(a->error), "%s", strerror(-fd));
		return;
	}
	wire_buf_init(&b);
	int rc = wire_status_request_encode(&q, &b);
	if (!rc)
		rc = vrfs_net_send(fd, c, WIRE_MSG_STATUS_REQUEST, b.data, b.len, timeout_ms);
	wire_buf_free(&b);
	while (!rc) {
		rc = vrfs_net_read_frame(fd, &r, c, timeout_ms, &type, &body, &len, &why);
		if (rc == 0) {
			snprintf(a->error, sizeof(a->error), "no answer within %d ms", timeout_ms);
			break;
		}
		if (rc == -EXDEV) {
			snprintf(a->error, sizeof(a->error), "another cluster (check --cluster and --key-file)");
			break;
		}
		if (rc < 0) {
			snprintf(a->error, sizeof(a->error), "%s", why ? why : strerror(-rc));
			break;
		}
		rc = 0;
		if (type == WIRE_MSG_STATUS && !wire_status_decode(body, len, &a->st, &why) && a->st.nonce == q.nonce) {
			a->reachable = true;
			break;
		}
	}
	if (rc < 0 && !a->error[0])
		snprintf(a->error, sizeof(a->error), "%s", strerror(-rc));
	vrfs_reader_free(&r);
	close(fd);
}

static void human_bytes(uint64_t n, char *out, size_t size)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(out, size, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

static int cmd_status(int argc, char **argv)
{
	const char *list = NULL, *key_file = NULL;
	bool json = false;
	long timeout_ms = 1000;
	static const struct option opts[] = {
		{ "cluster", required_argument, NULL, 'c' }, { "key-file", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },          { "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },          { NULL, 0, NULL, 0 },
	};
	char why[VRFS_WHY_MAX];
	struct vrfs_cluster c;
	int ch;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			list = optarg;
			break;
		case 'k':
			key_file = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 't': {
			char *end;
			timeout_ms = strtol(optarg, &end, 10);
			if (*end || timeout_ms < 1 || timeout_ms > 600000) {
				fprintf(stderr, "vrfs status: --timeout %s: give milliseconds, 1..600000\n", optarg);
				return 2;
			}
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "vrfs status: %s needs a value\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "vrfs status: unknown option %s (see vrfs --help)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vrfs status: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (!list) {
		fprintf(stderr, "vrfs status: --cluster HOST:PORT,... is required\n");
		return 2;
	}
	if (vrfs_cluster_parse(&c, list, why, sizeof(why)) ||
	    (key_file && vrfs_cluster_key_file(&c, key_file, why, sizeof(why)))) {
		fprintf(stderr, "vrfs status: %s\n", why);
		return 2;
	}

	struct answer a[VR_REPLICAS_MAX];
	uint8_t answered = 0, quorum = (uint8_t)(c.count / 2 + 1);
	for (uint8_t i = 0; i < c.count; i++) {
		query(&c, i, (int)timeout_ms, &a[i]);
		answered += a[i].reachable;
	}
	bool ok = answered >= quorum;

	if (json) {
		printf("{\"cluster_id\":\"%016" PRIx64 "\",\"replicas\":[", c.id);
		for (uint8_t i = 0; i < c.count; i++) {
			const struct wire_status *s = &a[i].st;
			printf("%s{\"id\":%u,\"address\":\"%s\",\"role\":\"%s\",\"reachable\":%s", i ? "," : "", i,
			       vrfs_cluster_name(&c, i), vr_witness(c.witnesses, i) ? "witness" : "full",
			       a[i].reachable ? "true" : "false");
			if (a[i].reachable)
				printf(",\"status\":\"%s\",\"view\":%" PRIu64 ",\"primary\":%u,\"op\":%" PRIu64
				       ",\"commit\":%" PRIu64 ",\"checkpoint\":%" PRIu64 ",\"log_ops\":%" PRIu64
				       ",\"log_bytes\":%" PRIu64 ",\"frames_bad\":%" PRIu64 ",\"uptime_ms\":%" PRIu64
				       ",\"reads\":%" PRIu64 ",\"lease_reads\":%" PRIu64 ",\"prepares\":%" PRIu64
				       ",\"prepare_ops\":%" PRIu64 ",\"epoch\":%" PRIu64 ",\"log_parts\":%" PRIu64
				       ",\"log_cached\":%" PRIu64 ",\"bodies_read\":%" PRIu64 "}",
				       status_name(s->status), s->view, s->primary, s->op, s->commit, s->checkpoint,
				       s->log_ops, s->log_bytes, s->frames_bad, s->uptime_ms, s->reads, s->lease_reads,
				       s->prepares, s->prepare_ops, s->epoch, s->log_parts, s->log_cached,
				       s->bodies_read);
			else
				printf(",\"error\":\"%s\"}", a[i].error);
		}
		printf("],\"answered\":%u,\"quorum\":%u,\"quorum_reachable\":%s}\n", answered, quorum,
		       ok ? "true" : "false");
		return ok ? 0 : 1;
	}

	uint64_t epoch = 0;
	for (uint8_t i = 0; i < c.count; i++)
		if (a[i].reachable && a[i].st.epoch > epoch)
			epoch = a[i].st.epoch;
	printf("cluster %016" PRIx64 ": %u replicas, quorum %u, epoch %" PRIu64 "\n\n", c.id, c.count, quorum, epoch);
	printf("%-4s %-22s %-8s %-10s %-12s %6s %8s %10s %10s %10s %8s %10s\n", "id", "address", "role", "reachable",
	       "status", "view", "primary", "op", "commit", "checkpoint", "log ops", "log size");
	for (uint8_t i = 0; i < c.count; i++) {
		const struct wire_status *s = &a[i].st;
		const char *role = vr_witness(c.witnesses, i) ? "witness" : "full";
		char bytes[32];
		if (!a[i].reachable) {
			printf("r%-3u %-22s %-8s %-10s (%s)\n", i, vrfs_cluster_name(&c, i), role, "no", a[i].error);
			continue;
		}
		if (s->status == WIRE_STATUS_NEW) {
			printf("r%-3u %-22s %-8s %-10s %-12s (empty: waiting for the other replicas to start a new "
			       "cluster, or, with --join, for vrfs reconfigure)\n",
			       i, vrfs_cluster_name(&c, i), role, "yes", "new");
			continue;
		}
		human_bytes(s->log_bytes, bytes, sizeof(bytes));
		printf("r%-3u %-22s %-8s %-10s %-12s %6" PRIu64 " %7sr%u %10" PRIu64 " %10" PRIu64 " %10" PRIu64
		       " %8" PRIu64 " %10s\n",
		       i, vrfs_cluster_name(&c, i), role, "yes", status_name(s->status), s->view, "", s->primary, s->op,
		       s->commit, s->checkpoint, s->log_ops, bytes);
	}
	printf("\nquorum reachable: %s (%u of %u replicas answer, %u needed)\n", ok ? "yes" : "NO", answered, c.count,
	       quorum);
	return ok ? 0 : 1;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * §10: the cluster named by --cluster becomes --to. New members must be running (vrfsd --join)
 * so that they fetch the state at once; the command returns once f'+1 members of the new
 * configuration hold it (then replicas left out stop by themselves).
 */
static int cmd_reconfigure(int argc, char **argv)
{
	const char *list = NULL, *to = NULL, *key_file = NULL;
	long timeout_s = 600;
	static const struct option opts[] = {
		{ "cluster", required_argument, NULL, 'c' },  { "to", required_argument, NULL, 'T' },
		{ "key-file", required_argument, NULL, 'k' }, { "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 },
	};
	char why[VRFS_WHY_MAX + WIRE_EPOCH_MEMBERS_MAX];
	struct vrfs_cluster old, next;
	int ch;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			list = optarg;
			break;
		case 'T':
			to = optarg;
			break;
		case 'k':
			key_file = optarg;
			break;
		case 't': {
			char *end;
			timeout_s = strtol(optarg, &end, 10);
			if (*end || timeout_s < 1 || timeout_s > 86400) {
				fprintf(stderr, "vrfs reconfigure: --timeout %s: give seconds, 1..86400\n", optarg);
				return 2;
			}
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "vrfs reconfigure: %s needs a value\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "vrfs reconfigure: unknown option %s (see vrfs --help)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vrfs reconfigure: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (!list || !to) {
		fprintf(stderr, "vrfs reconfigure: --cluster (the members now) and --to (the members wanted) are "
		                "required\n");
		return 2;
	}
	if (vrfs_cluster_parse(&old, list, why, sizeof(why)) ||
	    (key_file && vrfs_cluster_key_file(&old, key_file, why, sizeof(why)))) {
		fprintf(stderr, "vrfs reconfigure: %s\n", why);
		return 2;
	}
	if (vrfs_cluster_parse_like(&next, &old, to, strlen(to), why, sizeof(why))) {
		fprintf(stderr, "vrfs reconfigure: --to: %s\n", why);
		return 2;
	}
	if (next.count < 3) {
		fprintf(stderr,
		        "vrfs reconfigure: --to lists %u replica%s: a cluster needs at least 3 (2f+1 replicas tolerate "
		        "f "
		        "failures)\n",
		        next.count, next.count == 1 ? "" : "s");
		return 2;
	}
	if (next.id == old.id) {
		fprintf(stderr, "vrfs reconfigure: --to is the configuration --cluster names: nothing to change\n");
		return 2;
	}
	if (vrfs_cluster_role_change(&old, &next, why, sizeof(why))) {
		fprintf(stderr, "vrfs reconfigure: %s\n", why);
		return 2;
	}

	/* The epoch now, and the new members ready: each must answer, as a new replica (--join). */
	struct answer a;
	uint64_t epoch = 0;
	uint8_t answered = 0;
	for (uint8_t i = 0; i < old.count; i++) {
		query(&old, i, 1000, &a);
		if (a.reachable) {
			answered++;
			if (a.st.epoch > epoch)
				epoch = a.st.epoch;
		}
	}
	if (answered < old.count / 2 + 1) {
		fprintf(stderr,
		        "vrfs reconfigure: only %u of the %u replicas of --cluster answer; a quorum is needed (check "
		        "--cluster and --key-file, and vrfs status)\n",
		        answered, old.count);
		return 1;
	}
	for (uint8_t i = 0; i < next.count; i++) {
		if (vrfs_cluster_find(&old, &next.member[i]) >= 0)
			continue;
		query(&next, i, 1000, &a);
		if (!a.reachable || a.st.status != WIRE_STATUS_NEW) {
			fprintf(stderr,
			        "vrfs reconfigure: the new member %s %s: start it first, empty, with\n"
			        "  vrfsd --join --id %u --cluster %s --data DIR%s\n",
			        vrfs_cluster_name(&next, i), a.reachable ? "is not a new replica" : "does not answer",
			        i, to, key_file ? " --key-file FILE" : "");
			return 1;
		}
	}

	struct vrfs_client_config cfg = { .cluster = &old, .sessions = 1, .timeout_ms = 30000 };
	struct vrfs_client *cl = NULL;
	int rc = vrfs_client_open(&cl, &cfg, 10000, why, sizeof(why));
	if (rc) {
		fprintf(stderr, "vrfs reconfigure: %s\n", why);
		return 1;
	}
	why[0] = 0;
	char from[WIRE_EPOCH_MEMBERS_MAX + 1];
	vrfs_cluster_text(&old, from, sizeof(from));
	rc = vrfs_client_reconfigure(cl, from, to, why, sizeof(why));
	vrfs_client_close(cl);
	if (rc == -EPERM) {
		fprintf(stderr, "vrfs reconfigure: refused: %s\n", why);
		return 1;
	}
	if (rc) {
		fprintf(stderr, "vrfs reconfigure: no answer from the primary (%s); see vrfs status\n", strerror(-rc));
		return 1;
	}
	printf("epoch %" PRIu64 " committed: the members are now %s\n", epoch + 1, to);
	fflush(stdout);

	/* §10.6: done once f'+1 new full members hold the state (the paper's CHECKEPOCH); a witness
	 * holds no files, so it does not count (§9.5). */
	uint8_t need = (uint8_t)(next.count / 2 + 1), shown = 0xff;
	uint8_t full = (uint8_t)(next.count - vr_witness_count(next.witnesses, next.count));
	int64_t deadline = mono_ms() + timeout_s * 1000;
	for (;;) {
		uint8_t have = 0;
		for (uint8_t i = 0; i < next.count; i++) {
			query(&next, i, 500, &a);
			have += a.reachable && a.st.epoch > epoch && a.st.status != WIRE_STATUS_NEW &&
			        a.st.status != WIRE_STATUS_LEFT && !vr_witness(next.witnesses, i);
		}
		if (have != shown) {
			printf("%u of %u %smembers hold the state (%u needed)\n", have, full,
			       next.witnesses ? "full " : "", need);
			fflush(stdout);
			shown = have;
		}
		if (have >= need)
			break;
		if (mono_ms() >= deadline) {
			fprintf(stderr,
			        "vrfs reconfigure: after %ld s only %u of %u new %smembers hold the state; the "
			        "reconfiguration is committed and goes on: see vrfs status --cluster %s\n",
			        timeout_s, have, full, next.witnesses ? "full " : "", to);
			return 1;
		}
		usleep(200 * 1000);
	}
	printf("done: replicas left out stop by themselves once the new members hold the state\n");
	return 0;
}

static int cmd_keygen(int argc, char **argv)
{
	uint8_t key[WIRE_FRAME_KEY_SIZE];
	char hex[2 * WIRE_FRAME_KEY_SIZE + 2];

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "vrfs keygen: usage: vrfs keygen FILE\n");
		return 2;
	}
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "vrfs keygen: %s: %s%s\n", argv[1], strerror(errno),
		        errno == EEXIST ? " (not overwritten: a key in use would lock its cluster out)" : "");
		return 1;
	}
	randombytes_buf(key, sizeof(key));
	sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
	hex[2 * WIRE_FRAME_KEY_SIZE] = '\n';
	sodium_memzero(key, sizeof(key));
	ssize_t n = write(fd, hex, 2 * WIRE_FRAME_KEY_SIZE + 1);
	sodium_memzero(hex, sizeof(hex));
	if (n != 2 * WIRE_FRAME_KEY_SIZE + 1 || fsync(fd) || close(fd)) {
		fprintf(stderr, "vrfs keygen: %s: cannot write the key\n", argv[1]);
		unlink(argv[1]);
		return 1;
	}
	printf("wrote a cluster key to %s (mode 0600): give every replica and mount --key-file %s\n", argv[1], argv[1]);
	return 0;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "vrfs: libsodium failed to start\n");
		return 1;
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("vrfs %s\n", VRFS_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "status"))
		return cmd_status(argc - 1, argv + 1);
	if (!strcmp(argv[1], "reconfigure"))
		return cmd_reconfigure(argc - 1, argv + 1);
	if (!strcmp(argv[1], "keygen"))
		return cmd_keygen(argc - 1, argv + 1);
	if (!strcmp(argv[1], "mount"))
		return vrfs_mount_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "demo"))
		return vrfs_demo_main(argc - 1, argv + 1);
	/* As a mount helper (mount -t fuse.vrfs CLUSTER MOUNTPOINT -o OPTIONS, or an fstab line):
	 * mount.fuse3 runs "vrfs CLUSTER MOUNTPOINT -o OPTIONS". */
	if (strchr(argv[1], ':') && argc >= 3) {
		char *margv[64];
		int n = 0;
		margv[n++] = "mount";
		margv[n++] = "--cluster";
		margv[n++] = argv[1];
		for (int i = 2; i < argc && n < 63; i++)
			margv[n++] = argv[i];
		margv[n] = NULL;
		return vrfs_mount_main(n, margv);
	}
	fprintf(stderr, "vrfs: unknown command \"%s\" (see vrfs --help)\n", argv[1]);
	return 2;
}
