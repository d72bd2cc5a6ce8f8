/*
 * vrfs_demo.c — `vrfs demo [DIR]`: three replicas and two mounts under DIR on loopback,
 * until Ctrl-C (or SIGTERM); then the mounts are unmounted and every process it started
 * is stopped, by pid. The replicas and mounts are this program's own binaries: vrfsd
 * beside the vrfs that runs (the build tree), or in ../sbin (make install).
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fs/vrfs_demo.h"
#include "replication/vrfs_client.h"

#define DEMO_REPLICAS 3
#define DEMO_MOUNTS   2

static bool port_free(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
		                 .sin_port = htons((uint16_t)port),
		                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Starts argv with stderr (and stdout) into log; returns the pid or -1. */
static pid_t spawn(char *const argv[], const char *log)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	setpgid(0, 0); /* Ctrl-C reaches the demo only; it stops the children itself */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL); /* the demo blocks SIGINT and SIGTERM; its children must not */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	execv(argv[0], argv);
	_exit(127);
}

static bool mounted(const char *path)
{
	struct stat a, b;
	char parent[PATH_MAX];

	snprintf(parent, sizeof(parent), "%s/..", path);
	return stat(path, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

static void stop(pid_t pid, const char *what)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(50000);
	}
	fprintf(stderr, "vrfs demo: %s (pid %d) did not stop: killing it\n", what, (int)pid);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int vrfs_demo_main(int argc, char **argv)
{
	char dir[PATH_MAX], self[PATH_MAX], vrfsd[PATH_MAX + 8], cluster[128], why[VRFS_WHY_MAX];
	pid_t replica[DEMO_REPLICAS] = { 0 }, mount[DEMO_MOUNTS] = { 0 };
	int rc = 1;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: vrfs demo [DIR]\n");
		return 2;
	}
	if (argc == 2) {
		if (mkdir(argv[1], 0755) && errno != EEXIST) {
			fprintf(stderr, "vrfs demo: %s: %s\n", argv[1], strerror(errno));
			return 1;
		}
		if (!realpath(argv[1], dir)) {
			fprintf(stderr, "vrfs demo: %s: %s\n", argv[1], strerror(errno));
			return 1;
		}
	} else {
		snprintf(dir, sizeof(dir), "%s/vrfs-demo.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		if (!mkdtemp(dir)) {
			fprintf(stderr, "vrfs demo: cannot make a directory: %s\n", strerror(errno));
			return 1;
		}
		chmod(dir, 0755);
	}
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		fprintf(stderr, "vrfs demo: cannot find this program's path\n");
		return 1;
	}
	self[n] = 0;
	char copy[PATH_MAX];
	snprintf(copy, sizeof(copy), "%s", self);
	const char *bindir = dirname(copy);
	snprintf(vrfsd, sizeof(vrfsd), "%s/vrfsd", bindir); /* the build tree */
	if (access(vrfsd, X_OK))
		snprintf(vrfsd, sizeof(vrfsd), "%s/../sbin/vrfsd", bindir); /* make install */
	if (access(vrfsd, X_OK)) {
		fprintf(stderr, "vrfs demo: vrfsd is neither beside %s nor in ../sbin: build it (make) or install it\n",
		        self);
		return 1;
	}

	/* Three free ports on loopback. */
	int base = 0;
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	for (int tries = 0; tries < 50 && !base; tries++) {
		int b = 10000 + rand() % 20000; /* below the ephemeral ports (32768 and up) */
		if (port_free(b) && port_free(b + 1) && port_free(b + 2))
			base = b;
	}
	if (!base) {
		fprintf(stderr, "vrfs demo: no three free ports found on 127.0.0.1\n");
		return 1;
	}
	snprintf(cluster, sizeof(cluster), "127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d", base, base + 1, base + 2);

	/* Ctrl-C and SIGTERM are taken by sigwait below, also while starting. */
	sigset_t set;
	signal(SIGINT, SIG_DFL); /* a shell's background job starts with them ignored */
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);

	for (int i = 0; i < DEMO_REPLICAS; i++) {
		char id[16], data[PATH_MAX + 16], log[PATH_MAX + 32];
		snprintf(id, sizeof(id), "%d", i);
		snprintf(data, sizeof(data), "%s/r%d", dir, i);
		snprintf(log, sizeof(log), "%s/r%d.log", dir, i);
		char *args[] = { vrfsd, "--id", id, "--cluster", cluster, "--data", data, NULL };
		replica[i] = spawn(args, log);
	}
	struct vrfs_cluster c;
	struct vrfs_client *probe = NULL;
	struct vrfs_client_config cfg = { .cluster = &c, .sessions = 1, .timeout_ms = 5000 };
	if (vrfs_cluster_parse(&c, cluster, why, sizeof(why)) ||
	    vrfs_client_open(&probe, &cfg, 15000, why, sizeof(why))) {
		fprintf(stderr, "vrfs demo: the replicas did not start: %s (logs in %s)\n", why, dir);
		goto out;
	}
	vrfs_client_close(probe);

	for (int i = 0; i < DEMO_MOUNTS; i++) {
		char mp[PATH_MAX + 16], log[PATH_MAX + 32];
		snprintf(mp, sizeof(mp), "%s/%c", dir, 'a' + i);
		snprintf(log, sizeof(log), "%s/mount-%c.log", dir, 'a' + i);
		mkdir(mp, 0755);
		char *args[] = { self, "mount", "--cluster", cluster, mp, "-f", NULL };
		mount[i] = spawn(args, log);
		for (int t = 0; t < 100 && !mounted(mp); t++)
			usleep(100000);
		if (!mounted(mp)) {
			fprintf(stderr, "vrfs demo: the mount on %s did not come up (log: %s)\n", mp, log);
			goto out;
		}
	}

	printf("vrfs demo: three replicas and two mounts, until Ctrl-C\n\n"
	       "  cluster   %s\n"
	       "  replicas  %s/r0 r1 r2 (logs: %s/r0.log ...)\n"
	       "  mounts    %s/a and %s/b\n\n"
	       "Try, in another shell:\n"
	       "  echo hello > %s/a/greeting; cat %s/b/greeting\n"
	       "  cp -r /usr/include/linux %s/a/; ls %s/b/linux | head\n"
	       "  vrfs status --cluster %s\n"
	       "  kill -9 %d   # r0, the primary: the mounts carry on in the next view\n\n",
	       cluster, dir, dir, dir, dir, dir, dir, dir, dir, cluster, (int)replica[0]);
	printf("replica pids: %d %d %d; mount pids: %d %d\n", (int)replica[0], (int)replica[1], (int)replica[2],
	       (int)mount[0], (int)mount[1]);
	fflush(stdout);
	int sig = 0;
	sigwait(&set, &sig);
	printf("\nvrfs demo: %s: unmounting and stopping everything\n", sig == SIGINT ? "Ctrl-C" : "SIGTERM");
	rc = 0;

out:
	for (int i = 0; i < DEMO_MOUNTS; i++)
		stop(mount[i], "a mount"); /* a mount unmounts itself on SIGTERM */
	for (int i = 0; i < DEMO_REPLICAS; i++)
		stop(replica[i], "a replica");
	for (int i = 0; i < DEMO_MOUNTS; i++) {
		char mp[PATH_MAX + 8];
		snprintf(mp, sizeof(mp), "%s/%c", dir, 'a' + i);
		if (mounted(mp)) {
			char *args[] = { "/bin/fusermount3", "-u", "-z", mp, NULL };
			pid_t p = spawn(args, "/dev/null");
			if (p > 0)
				waitpid(p, NULL, 0);
		}
	}
	printf("vrfs demo: stopped; the data stays in %s\n", dir);
	return rc;
}
