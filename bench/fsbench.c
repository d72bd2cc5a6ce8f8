/*
 * fsbench.c — vrfs-fsbench: one filesystem workload run against a directory (a local one, a
 * passthrough FUSE mount, a vrfs mount), timed once and printed as one line on stdout,
 * "WORKLOAD FIGURE UNIT" (issue 8). The script that calls it repeats runs and takes medians,
 * so this program keeps no statistics of its own.
 *
 * A workload that makes something works in a fresh subdirectory DIR/WORKLOAD.PID and removes
 * it at the end, outside the timed part, unless --keep leaves it for a later workload:
 *   seq-write --keep  ->  seq-read --file PATH
 *   create --keep     ->  stat --dir-of-files PATH, then unlink --dir-of-files PATH
 *   untar --keep      ->  cp-a, find-stat --tree PATH, then rm-rf --tree PATH
 * With --keep that PATH is printed alone on a line of stderr.
 * create --per-dir K puts its files K to a subdirectory, PATH/d0000, PATH/d0001, ..., each
 * named like the files of one directory; stat and unlink find those subdirectories themselves
 * (issue 8's scale benchmark: the same files in one directory and spread over many).
 *
 * Any failing call stops the run with one line naming the workload, the call, the path and
 * strerror, and exit 1, leaving what it made for a look; bad usage exits 2. All times are
 * CLOCK_MONOTONIC.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* getopt_long taking options after the operands, nftw */
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FSB_MIB              (1024 * 1024)
#define FSB_IO_SIZE          FSB_MIB /* seq-write, seq-read, randwrite's preallocation */
#define FSB_SMALL_FILE       4096    /* create */
#define FSB_BLOCK            4096    /* randwrite */
#define FSB_RAND_FILE_MIB    64      /* randwrite's file per writer, unless --file-mib */
#define FSB_FANOUT           10
#define FSB_LATENCY_ROUNDS   50
#define FSB_POLL_NS          100000 /* 100 µs between polls */
#define FSB_POLL_LIMIT_S     10.0
#define FSB_NFTW_FDS         64
#define FSB_SIZE_MIB_DEFAULT 256
#define FSB_SIZE_MIB_MAX     (1UL << 20)
#define FSB_CREATE_DEFAULT   2000
#define FSB_MKDIR_DEFAULT    500
#define FSB_FILES_MAX        10000000UL
#define FSB_WRITERS_MAX      256UL
#define FSB_SECONDS_DEFAULT  5.0

_Static_assert(FSB_MIB % FSB_IO_SIZE == 0, "randwrite's file is preallocated with whole writes");
_Static_assert(FSB_MIB % FSB_BLOCK == 0, "randwrite's offsets are whole blocks");

struct fsb_opts {
	const char *dir;
	unsigned long size_mib;
	unsigned long files;   /* 0: the workload's own default */
	unsigned long per_dir; /* create: files to a subdirectory; 0: all in one directory */
	unsigned long writers;
	unsigned long file_mib; /* randwrite */
	double seconds;
	const char *other;
	const char *file;
	const char *dir_of_files;
	const char *tar;
	const char *tree;
	bool keep;
};

struct fsb_workload {
	const char *name;
	void (*run)(const struct fsb_opts *o);
};

/* Where create --keep left its files, read before a clock starts: the directory itself, or
 * (create --per-dir) its subdirectories d0000, d0001, ..., in that order. */
struct fsb_leaves {
	bool tree;            /* the files are in subdirectories, not in the directory itself */
	unsigned long count;  /* directories holding files: 1 unless tree */
	unsigned long *files; /* owned: the files in each of them */
	unsigned long total;  /* the sum of files[] */
};

/* One randwrite thread and its file. */
struct fsb_writer {
	pthread_t thread;
	char path[PATH_MAX];
	uint64_t seed;
	double seconds;
	long long file_bytes;
	pthread_barrier_t *start; /* borrowed: released once every file is preallocated */
	uint64_t ops;             /* pwrite + fsync pairs done in the timed part */
};

static const char *fsb_name = "vrfs-fsbench"; /* the workload running, for messages */
static uint64_t fsb_entries;                  /* nftw callbacks take no context: their count */

static const char fsb_usage_text[] =
        "usage: vrfs-fsbench WORKLOAD DIR [options]\n"
        "\n"
        "Runs one workload in DIR and prints one line: WORKLOAD FIGURE UNIT.\n"
        "Workloads that make files do so in a fresh DIR/WORKLOAD.PID, removed at the end unless\n"
        "--keep; those given a kept path (--file, --dir-of-files, --tree) do not use DIR.\n"
        "\n"
        "workloads:\n"
        "  seq-write  write --size-mib MiB to one file in 1 MiB writes, fsync, close    MB/s\n"
        "  seq-read   read --file PATH in 1 MiB reads, its cached pages dropped first   MB/s\n"
        "  create     create --files files of 4 KiB in one directory, or --per-dir K\n"
        "             to a subdirectory d0000, d0001, ... (their mkdirs are timed too)  files/s\n"
        "  stat       stat every file of --dir-of-files PATH (made by create --keep)    ops/s\n"
        "  unlink     unlink every file of --dir-of-files PATH, then rmdir it (and its\n"
        "             subdirectories, after create --per-dir; each rmdir is an op)      ops/s\n"
        "  mkdir      make --files directories, 10 per level, depth first               dirs/s\n"
        "  randwrite  --writers threads, each on its own --file-mib file for --seconds:\n"
        "             4 KiB pwrite at a random aligned offset, then fsync               IOPS\n"
        "  untar      tar -xf the --tar PATH archive into DIR/untar.PID                 files/s\n"
        "  cp-a       cp -a --tree PATH to DIR/cp-a.PID/copy                            files/s\n"
        "  find-stat  walk --tree PATH, lstat of every entry                            entries/s\n"
        "  rm-rf      remove --tree PATH                                                entries/s\n"
        "  latency    50 times: write a small file in DIR, time until --other DIR2\n"
        "             shows it with its content                                         ms median, p90\n"
        "\n"
        "options:\n"
        "  --size-mib N         seq-write: MiB to write (default 256)\n"
        "  --files N            create: files (default 2000); mkdir: directories (default 500)\n"
        "  --per-dir K          create: K files to a subdirectory (default: all in one directory)\n"
        "  --writers N          randwrite: threads (default 1)\n"
        "  --seconds S          randwrite: how long (default 5)\n"
        "  --file-mib N         randwrite: each writer's file, written in full first (default 64)\n"
        "  --other DIR2         latency: another mount of DIR's filesystem (default DIR itself)\n"
        "  --file PATH          seq-read: the file to read (seq-write --keep prints one)\n"
        "  --dir-of-files PATH  stat, unlink: a directory made by create --keep\n"
        "  --tar PATH           untar: the archive\n"
        "  --tree PATH          cp-a, find-stat, rm-rf: a tree (untar --keep prints one)\n"
        "  --keep               seq-write, create, untar: leave what was made, print its path on stderr\n"
        "  --help               this text\n";

static _Noreturn void fsb_usage_error(const char *why, const char *what)
{
	fprintf(stderr, "vrfs-fsbench: %s%s\nusage: vrfs-fsbench WORKLOAD DIR [options]  (--help lists them)\n", why,
	        what);
	exit(2);
}

/* Stops the run: err is the errno the call left. */
static _Noreturn void fsb_fail(const char *call, const char *path, int err)
{
	fprintf(stderr, "vrfs-fsbench: %s: %s %s: %s\n", fsb_name, call, path, strerror(err));
	exit(1);
}

static void fsb_need(const char *value, const char *option)
{
	if (!value)
		fsb_usage_error("this workload needs ", option);
}

static double fsb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fsb_print_rate(double count, double seconds, const char *unit)
{
	printf("%s %.1f %s\n", fsb_name, seconds > 0 ? count / seconds : 0.0, unit);
}

/* splitmix64: a fixed seed gives the same offsets on every run. */
static uint64_t fsb_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A buffer of pseudo-random bytes, so that no layer can compress or skip zeros; the caller frees it. */
static char *fsb_pattern(size_t size, uint64_t seed)
{
	char *buf = malloc(size);

	if (!buf)
		fsb_fail("malloc", "buffer", ENOMEM);
	for (size_t i = 0; i + 8 <= size; i += 8) {
		uint64_t v = fsb_rand(&seed);
		memcpy(buf + i, &v, 8);
	}
	return buf;
}

static void fsb_join(char *out, const char *dir, const char *name)
{
	int len = snprintf(out, PATH_MAX, "%s/%s", dir, name);

	if (len < 0 || len >= PATH_MAX)
		fsb_fail("join", dir, ENAMETOOLONG);
}

/* The names create makes and stat and unlink expect: f00000, f00001, ... */
static void fsb_file_name(char *out, const char *dir, unsigned long i)
{
	int len = snprintf(out, PATH_MAX, "%s/f%05lu", dir, i);

	if (len < 0 || len >= PATH_MAX)
		fsb_fail("join", dir, ENAMETOOLONG);
}

/* Makes DIR/WORKLOAD.PID into out (PATH_MAX bytes); it must not exist yet. */
static void fsb_subdir(const struct fsb_opts *o, char *out)
{
	int len = snprintf(out, PATH_MAX, "%s/%s.%ld", o->dir, fsb_name, (long)getpid());

	if (len < 0 || len >= PATH_MAX)
		fsb_fail("join", o->dir, ENAMETOOLONG);
	if (mkdir(out, 0755))
		fsb_fail("mkdir", out, errno);
}

static int fsb_open(const char *path, int flags, mode_t mode)
{
	int fd = open(path, flags, mode);

	if (fd < 0)
		fsb_fail("open", path, errno);
	return fd;
}

static void fsb_close(int fd, const char *path)
{
	/* A network filesystem may report a failed write-back only here. */
	if (close(fd))
		fsb_fail("close", path, errno);
}

static void fsb_write_all(int fd, const char *buf, size_t len, const char *path)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0)
			fsb_fail("write", path, errno);
		if (n == 0)
			fsb_fail("write", path, EIO);
		buf += n;
		len -= (size_t)n;
	}
}

/* nftw reports a failed lstat or opendir as a flag; errno still says why. */
static void fsb_walk_check(const char *path, int flag)
{
	if (flag == FTW_NS)
		fsb_fail("lstat", path, errno ? errno : EIO);
	if (flag == FTW_DNR)
		fsb_fail("opendir", path, errno ? errno : EIO);
}

/* Counts every entry, the root included. */
static int fsb_count_all(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	fsb_walk_check(path, flag);
	fsb_entries++;
	return 0;
}

/* Counts what an archive held: regular files, directories and symlinks below the root. */
static int fsb_count_extracted(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	fsb_walk_check(path, flag);
	if (ftw->level > 0 && (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode) || S_ISLNK(st->st_mode)))
		fsb_entries++;
	return 0;
}

/* Called with FTW_DEPTH, so a directory comes after its entries. */
static int fsb_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	fsb_walk_check(path, flag);
	if (flag == FTW_DP) {
		if (rmdir(path))
			fsb_fail("rmdir", path, errno);
	} else if (unlink(path)) {
		fsb_fail("unlink", path, errno);
	}
	fsb_entries++;
	return 0;
}

static uint64_t fsb_walk(const char *root, int (*fn)(const char *, const struct stat *, int, struct FTW *), int flags)
{
	fsb_entries = 0;
	if (nftw(root, fn, FSB_NFTW_FDS, flags))
		fsb_fail("nftw", root, errno);
	return fsb_entries;
}

static void fsb_remove_tree(const char *root)
{
	fsb_walk(root, fsb_remove_entry, FTW_DEPTH | FTW_PHYS);
}

/* Runs argv[0] (found on PATH, no shell) and returns how long it took; it must exit 0. */
static double fsb_run_command(char *const argv[])
{
	int status;

	fflush(NULL); /* the child must not write our buffers a second time */
	double t0 = fsb_now();
	pid_t pid = fork();
	if (pid < 0)
		fsb_fail("fork", argv[0], errno);
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "vrfs-fsbench: %s: exec %s: %s\n", fsb_name, argv[0], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		fsb_fail("waitpid", argv[0], errno);
	double t = fsb_now() - t0;
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "vrfs-fsbench: %s: %s killed by signal %d\n", fsb_name, argv[0], WTERMSIG(status));
		exit(1);
	}
	if (WEXITSTATUS(status) != 0) {
		fprintf(stderr, "vrfs-fsbench: %s: %s exited with %d\n", fsb_name, argv[0], WEXITSTATUS(status));
		exit(1);
	}
	return t;
}

static void fsb_seq_write(const struct fsb_opts *o)
{
	char dir[PATH_MAX], path[PATH_MAX];
	uint64_t bytes = (uint64_t)o->size_mib * FSB_IO_SIZE;
	char *buf = fsb_pattern(FSB_IO_SIZE, 1);

	fsb_subdir(o, dir);
	fsb_join(path, dir, "data");
	double t0 = fsb_now();
	int fd = fsb_open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	for (uint64_t done = 0; done < bytes; done += FSB_IO_SIZE)
		fsb_write_all(fd, buf, FSB_IO_SIZE, path);
	/* The figure is what reached stable storage, not what the page cache took in. */
	if (fsync(fd))
		fsb_fail("fsync", path, errno);
	fsb_close(fd, path);
	fsb_print_rate((double)bytes / 1e6, fsb_now() - t0, "MB/s");
	free(buf);
	if (o->keep)
		fprintf(stderr, "%s\n", path);
	else
		fsb_remove_tree(dir);
}

/* Best effort: only root may, and a container may refuse even root. */
static void fsb_drop_all_caches(void)
{
	sync();
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd < 0)
		return;
	if (write(fd, "1", 1) != 1)
		fprintf(stderr, "vrfs-fsbench: %s: drop_caches: %s (ignored)\n", fsb_name, strerror(errno));
	close(fd);
}

static void fsb_seq_read(const struct fsb_opts *o)
{
	uint64_t bytes = 0;
	char *buf = malloc(FSB_IO_SIZE);

	fsb_need(o->file, "--file");
	if (!buf)
		fsb_fail("malloc", "buffer", ENOMEM);
	int fd = fsb_open(o->file, O_RDONLY, 0);
	/* Otherwise the reads would measure the page cache, not the filesystem. */
	int err = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	if (err)
		fsb_fail("posix_fadvise", o->file, err);
	if (geteuid() == 0)
		fsb_drop_all_caches();
	double t0 = fsb_now();
	for (;;) {
		ssize_t n = read(fd, buf, FSB_IO_SIZE);
		if (n < 0)
			fsb_fail("read", o->file, errno);
		if (n == 0)
			break;
		bytes += (uint64_t)n;
	}
	fsb_close(fd, o->file);
	fsb_print_rate((double)bytes / 1e6, fsb_now() - t0, "MB/s");
	free(buf);
}

/* The subdirectory j of a create --per-dir: d0000, d0001, ... */
static void fsb_leaf_name(char *out, const char *dir, unsigned long j)
{
	int len = snprintf(out, PATH_MAX, "%s/d%04lu", dir, j);

	if (len < 0 || len >= PATH_MAX)
		fsb_fail("join", dir, ENAMETOOLONG);
}

static void fsb_create(const struct fsb_opts *o)
{
	char dir[PATH_MAX], leaf[PATH_MAX], path[PATH_MAX];
	unsigned long count = o->files ? o->files : FSB_CREATE_DEFAULT;
	char *buf = fsb_pattern(FSB_SMALL_FILE, 2);

	fsb_subdir(o, dir);
	strcpy(leaf, dir); /* both PATH_MAX */
	double t0 = fsb_now();
	for (unsigned long i = 0; i < count; i++) {
		unsigned long in_leaf = i;
		if (o->per_dir) {
			in_leaf = i % o->per_dir;
			if (in_leaf == 0) {
				fsb_leaf_name(leaf, dir, i / o->per_dir);
				if (mkdir(leaf, 0755))
					fsb_fail("mkdir", leaf, errno);
			}
		}
		fsb_file_name(path, leaf, in_leaf);
		int fd = fsb_open(path, O_CREAT | O_WRONLY, 0644);
		fsb_write_all(fd, buf, FSB_SMALL_FILE, path);
		fsb_close(fd, path);
	}
	fsb_print_rate((double)count, fsb_now() - t0, "files/s");
	free(buf);
	if (o->keep)
		fprintf(stderr, "%s\n", dir);
	else
		fsb_remove_tree(dir);
}

/* The entries of dir, counted before the clock starts so that the timed part reads no directory. */
static unsigned long fsb_count_dir(const char *dir)
{
	unsigned long count = 0;
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		fsb_fail("opendir", dir, errno);
	errno = 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			count++;
	if (errno)
		fsb_fail("readdir", dir, errno);
	closedir(d);
	return count;
}

static void fsb_leaves_add(struct fsb_leaves *l, unsigned long files)
{
	unsigned long *grown = realloc(l->files, (l->count + 1) * sizeof(*l->files));

	if (!grown)
		fsb_fail("realloc", "directory list", ENOMEM);
	l->files = grown;
	l->files[l->count++] = files;
	l->total += files;
}

/* What create --keep left in dir: a d0000 that is a directory means create --per-dir. */
static void fsb_leaves_read(const char *dir, struct fsb_leaves *out)
{
	char path[PATH_MAX];
	struct stat st;

	*out = (struct fsb_leaves){ 0 };
	fsb_leaf_name(path, dir, 0);
	if (lstat(path, &st)) {
		if (errno != ENOENT)
			fsb_fail("lstat", path, errno);
	} else {
		out->tree = S_ISDIR(st.st_mode);
	}
	if (!out->tree) {
		fsb_leaves_add(out, fsb_count_dir(dir));
		return;
	}
	/* create made them in order, so the first one missing is the end. */
	for (;;) {
		fsb_leaf_name(path, dir, out->count);
		if (lstat(path, &st)) {
			if (errno != ENOENT)
				fsb_fail("lstat", path, errno);
			break;
		}
		fsb_leaves_add(out, fsb_count_dir(path));
	}
}

/* The directory of leaf j into out (PATH_MAX bytes). */
static void fsb_leaf_path(char *out, const char *dir, const struct fsb_leaves *l, unsigned long j)
{
	if (l->tree) {
		fsb_leaf_name(out, dir, j);
		return;
	}
	int len = snprintf(out, PATH_MAX, "%s", dir); /* the same paths as before --per-dir existed */
	if (len < 0 || len >= PATH_MAX)
		fsb_fail("join", dir, ENAMETOOLONG);
}

/* Names come from create's scheme, not from readdir: as `stat FILE...` with the names known. */
static void fsb_stat(const struct fsb_opts *o)
{
	char leaf[PATH_MAX], path[PATH_MAX];
	struct stat st;
	struct fsb_leaves l;

	fsb_need(o->dir_of_files, "--dir-of-files");
	fsb_leaves_read(o->dir_of_files, &l);
	double t0 = fsb_now();
	for (unsigned long j = 0; j < l.count; j++) {
		fsb_leaf_path(leaf, o->dir_of_files, &l, j);
		for (unsigned long i = 0; i < l.files[j]; i++) {
			fsb_file_name(path, leaf, i);
			if (stat(path, &st))
				fsb_fail("stat", path, errno);
		}
	}
	fsb_print_rate((double)l.total, fsb_now() - t0, "ops/s");
	free(l.files);
}

static void fsb_unlink(const struct fsb_opts *o)
{
	char leaf[PATH_MAX], path[PATH_MAX];
	struct fsb_leaves l;

	fsb_need(o->dir_of_files, "--dir-of-files");
	fsb_leaves_read(o->dir_of_files, &l);
	double t0 = fsb_now();
	for (unsigned long j = 0; j < l.count; j++) {
		fsb_leaf_path(leaf, o->dir_of_files, &l, j);
		for (unsigned long i = 0; i < l.files[j]; i++) {
			fsb_file_name(path, leaf, i);
			if (unlink(path))
				fsb_fail("unlink", path, errno);
		}
		if (l.tree && rmdir(leaf))
			fsb_fail("rmdir", leaf, errno);
	}
	if (rmdir(o->dir_of_files))
		fsb_fail("rmdir", o->dir_of_files, errno);
	/* Each rmdir is one op too. */
	fsb_print_rate((double)l.total + (l.tree ? (double)l.count : 0) + 1, fsb_now() - t0, "ops/s");
	free(l.files);
}

/* Makes path/d0..d9, each followed by its own subtree down to depth levels, until *left is 0.
 * path (PATH_MAX bytes, len of them used) is borrowed and restored on return. */
static void fsb_mkdir_tree(char *path, size_t len, unsigned depth, unsigned long *left)
{
	for (unsigned i = 0; i < FSB_FANOUT && *left; i++) {
		int n = snprintf(path + len, PATH_MAX - len, "/d%u", i);
		if (n < 0 || (size_t)n >= PATH_MAX - len)
			fsb_fail("join", path, ENAMETOOLONG);
		if (mkdir(path, 0755))
			fsb_fail("mkdir", path, errno);
		(*left)--;
		if (depth > 1)
			fsb_mkdir_tree(path, len + (size_t)n, depth - 1, left);
	}
	path[len] = '\0';
}

static void fsb_mkdir(const struct fsb_opts *o)
{
	char dir[PATH_MAX];
	unsigned long count = o->files ? o->files : FSB_MKDIR_DEFAULT;
	unsigned long left = count;
	unsigned depth = 1;

	/* The shallowest full tree that holds count: 500 takes depth 3 (10 + 100 + 1000). */
	for (unsigned long level = FSB_FANOUT, capacity = FSB_FANOUT; capacity < count; depth++) {
		level *= FSB_FANOUT;
		capacity += level;
	}
	fsb_subdir(o, dir);
	double t0 = fsb_now();
	fsb_mkdir_tree(dir, strlen(dir), depth, &left);
	fsb_print_rate((double)count, fsb_now() - t0, "dirs/s");
	fsb_remove_tree(dir);
}

static void *fsb_writer_run(void *arg)
{
	struct fsb_writer *w = arg;
	uint64_t rng = w->seed;
	char *buf = fsb_pattern(FSB_IO_SIZE, w->seed);
	int fd = fsb_open(w->path, O_CREAT | O_RDWR | O_TRUNC, 0644);

	/* Written in full first, so that the timed writes overwrite data and never extend or fill holes. */
	for (long long off = 0; off < w->file_bytes; off += FSB_IO_SIZE)
		fsb_write_all(fd, buf, FSB_IO_SIZE, w->path);
	if (fsync(fd))
		fsb_fail("fsync", w->path, errno);
	pthread_barrier_wait(w->start);
	double end = fsb_now() + w->seconds;
	do {
		off_t off = (off_t)(fsb_rand(&rng) % (uint64_t)(w->file_bytes / FSB_BLOCK)) * FSB_BLOCK;
		ssize_t n = pwrite(fd, buf, FSB_BLOCK, off);
		if (n < 0)
			fsb_fail("pwrite", w->path, errno);
		if (n != FSB_BLOCK)
			fsb_fail("pwrite", w->path, EIO);
		if (fsync(fd))
			fsb_fail("fsync", w->path, errno);
		w->ops++;
	} while (fsb_now() < end);
	fsb_close(fd, w->path);
	free(buf);
	return NULL;
}

static void fsb_randwrite(const struct fsb_opts *o)
{
	char dir[PATH_MAX], name[32];
	pthread_barrier_t start;
	uint64_t ops = 0;
	struct fsb_writer *writers = calloc(o->writers, sizeof(*writers));

	if (!writers)
		fsb_fail("calloc", "writers", ENOMEM);
	fsb_subdir(o, dir);
	int err = pthread_barrier_init(&start, NULL, (unsigned)o->writers + 1);
	if (err)
		fsb_fail("pthread_barrier_init", dir, err);
	for (unsigned long i = 0; i < o->writers; i++) {
		struct fsb_writer *w = &writers[i];
		snprintf(name, sizeof(name), "w%lu", i);
		fsb_join(w->path, dir, name);
		w->seed = i + 1;
		w->seconds = o->seconds;
		w->file_bytes = (long long)o->file_mib * FSB_MIB;
		w->start = &start;
		err = pthread_create(&w->thread, NULL, fsb_writer_run, w);
		if (err)
			fsb_fail("pthread_create", w->path, err);
	}
	/* Every writer starts its clock here too, once all files are preallocated. */
	pthread_barrier_wait(&start);
	double t0 = fsb_now();
	for (unsigned long i = 0; i < o->writers; i++) {
		err = pthread_join(writers[i].thread, NULL);
		if (err)
			fsb_fail("pthread_join", writers[i].path, err);
		ops += writers[i].ops;
	}
	fsb_print_rate((double)ops, fsb_now() - t0, "IOPS");
	pthread_barrier_destroy(&start);
	free(writers);
	fsb_remove_tree(dir);
}

static void fsb_untar(const struct fsb_opts *o)
{
	char dir[PATH_MAX];

	fsb_need(o->tar, "--tar");
	fsb_subdir(o, dir);
	char *argv[] = { "tar", "-xf", (char *)o->tar, "-C", dir, NULL };
	double t = fsb_run_command(argv);
	uint64_t count = fsb_walk(dir, fsb_count_extracted, FTW_PHYS);
	fsb_print_rate((double)count, t, "files/s");
	if (o->keep)
		fprintf(stderr, "%s\n", dir);
	else
		fsb_remove_tree(dir);
}

static void fsb_cp_a(const struct fsb_opts *o)
{
	char dir[PATH_MAX], copy[PATH_MAX];

	fsb_need(o->tree, "--tree");
	fsb_subdir(o, dir);
	fsb_join(copy, dir, "copy");
	char *argv[] = { "cp", "-a", (char *)o->tree, copy, NULL };
	double t = fsb_run_command(argv);
	/* Counted on the copy: walking the source first would warm its caches for cp. */
	uint64_t count = fsb_walk(copy, fsb_count_all, FTW_PHYS);
	fsb_print_rate((double)count, t, "files/s");
	fsb_remove_tree(dir);
}

/* What `find PATH | xargs stat` does, without the cost of starting those processes: nftw lstats every entry. */
static void fsb_find_stat(const struct fsb_opts *o)
{
	fsb_need(o->tree, "--tree");
	double t0 = fsb_now();
	uint64_t count = fsb_walk(o->tree, fsb_count_all, FTW_PHYS);
	fsb_print_rate((double)count, fsb_now() - t0, "entries/s");
}

static void fsb_rm_rf(const struct fsb_opts *o)
{
	fsb_need(o->tree, "--tree");
	double t0 = fsb_now();
	uint64_t count = fsb_walk(o->tree, fsb_remove_entry, FTW_DEPTH | FTW_PHYS);
	fsb_print_rate((double)count, fsb_now() - t0, "entries/s");
}

/* Whether path holds exactly want; a file not there yet is false. */
static bool fsb_has_content(const char *path, const char *want, size_t len)
{
	char got[64];
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		if (errno == ENOENT || errno == ESTALE)
			return false;
		fsb_fail("open", path, errno);
	}
	ssize_t n = read(fd, got, sizeof(got));
	if (n < 0)
		fsb_fail("read", path, errno);
	close(fd);
	return (size_t)n == len && !memcmp(got, want, len);
}

/* Polls until path shows want; a stale size or a file still missing means not yet. */
static void fsb_wait_visible(const char *path, const char *want, size_t len, double t0)
{
	const struct timespec pause = { .tv_sec = 0, .tv_nsec = FSB_POLL_NS };
	struct stat st;

	for (;;) {
		if (stat(path, &st) == 0) {
			if ((size_t)st.st_size == len && fsb_has_content(path, want, len))
				return;
		} else if (errno != ENOENT && errno != ESTALE) {
			fsb_fail("stat", path, errno);
		}
		if (fsb_now() - t0 > FSB_POLL_LIMIT_S) {
			fprintf(stderr, "vrfs-fsbench: %s: %s still not there after %.0f s\n", fsb_name, path,
			        FSB_POLL_LIMIT_S);
			exit(1);
		}
		nanosleep(&pause, NULL);
	}
}

static int fsb_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void fsb_latency(const struct fsb_opts *o)
{
	char dir[PATH_MAX], other_dir[PATH_MAX], name[32], path[PATH_MAX], other_path[PATH_MAX], content[32];
	double ms[FSB_LATENCY_ROUNDS];

	if (!o->other)
		fprintf(stderr,
		        "vrfs-fsbench: latency: no --other, so DIR itself: the figure is the local path only\n");
	fsb_subdir(o, dir);
	/* The same subdirectory seen through the other mount. */
	snprintf(name, sizeof(name), "%s.%ld", fsb_name, (long)getpid());
	fsb_join(other_dir, o->other ? o->other : o->dir, name);
	for (unsigned i = 0; i < FSB_LATENCY_ROUNDS; i++) {
		snprintf(name, sizeof(name), "l%02u", i);
		fsb_join(path, dir, name);
		fsb_join(other_path, other_dir, name);
		int len = snprintf(content, sizeof(content), "%u\n", i + 1);
		int fd = fsb_open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
		fsb_write_all(fd, content, (size_t)len, path);
		fsb_close(fd, path);
		double t0 = fsb_now();
		fsb_wait_visible(other_path, content, (size_t)len, t0);
		ms[i] = (fsb_now() - t0) * 1e3;
	}
	qsort(ms, FSB_LATENCY_ROUNDS, sizeof(ms[0]), fsb_cmp_double);
	_Static_assert(FSB_LATENCY_ROUNDS % 2 == 0, "the median is the mean of the two middle samples");
	double median = (ms[FSB_LATENCY_ROUNDS / 2 - 1] + ms[FSB_LATENCY_ROUNDS / 2]) / 2;
	/* Nearest rank: the smallest sample with 90% of them at or below it. */
	double p90 = ms[(FSB_LATENCY_ROUNDS * 9 + 9) / 10 - 1];
	printf("%s %.2f ms median, %.2f ms p90\n", fsb_name, median, p90);
	fsb_remove_tree(dir);
}

static const struct fsb_workload fsb_workloads[] = {
	{ "seq-write", fsb_seq_write }, /* MB/s */
	{ "seq-read", fsb_seq_read },   /* MB/s */
	{ "create", fsb_create },       /* files/s */
	{ "stat", fsb_stat },           /* ops/s */
	{ "unlink", fsb_unlink },       /* ops/s */
	{ "mkdir", fsb_mkdir },         /* dirs/s */
	{ "randwrite", fsb_randwrite }, /* IOPS */
	{ "untar", fsb_untar },         /* files/s */
	{ "cp-a", fsb_cp_a },           /* files/s */
	{ "find-stat", fsb_find_stat }, /* entries/s */
	{ "rm-rf", fsb_rm_rf },         /* entries/s */
	{ "latency", fsb_latency },     /* ms, median and p90 */
};

static unsigned long fsb_parse_count(const char *option, const char *s, unsigned long max)
{
	char *end;

	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < 1 || v > max) {
		fprintf(stderr, "vrfs-fsbench: %s wants a whole number from 1 to %lu, not '%s'\n", option, max, s);
		exit(2);
	}
	return v;
}

static double fsb_parse_seconds(const char *s)
{
	char *end;

	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0 && v <= 86400)) {
		fprintf(stderr, "vrfs-fsbench: --seconds wants a number above 0 and at most 86400, not '%s'\n", s);
		exit(2);
	}
	return v;
}

enum {
	FSB_OPT_SIZE_MIB = 256,
	FSB_OPT_FILES,
	FSB_OPT_PER_DIR,
	FSB_OPT_WRITERS,
	FSB_OPT_SECONDS,
	FSB_OPT_FILE_MIB,
	FSB_OPT_OTHER,
	FSB_OPT_FILE,
	FSB_OPT_DIR_OF_FILES,
	FSB_OPT_TAR,
	FSB_OPT_TREE,
	FSB_OPT_KEEP,
	FSB_OPT_HELP,
};

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "size-mib", required_argument, NULL, FSB_OPT_SIZE_MIB },
		{ "files", required_argument, NULL, FSB_OPT_FILES },
		{ "per-dir", required_argument, NULL, FSB_OPT_PER_DIR },
		{ "writers", required_argument, NULL, FSB_OPT_WRITERS },
		{ "seconds", required_argument, NULL, FSB_OPT_SECONDS },
		{ "file-mib", required_argument, NULL, FSB_OPT_FILE_MIB },
		{ "other", required_argument, NULL, FSB_OPT_OTHER },
		{ "file", required_argument, NULL, FSB_OPT_FILE },
		{ "dir-of-files", required_argument, NULL, FSB_OPT_DIR_OF_FILES },
		{ "tar", required_argument, NULL, FSB_OPT_TAR },
		{ "tree", required_argument, NULL, FSB_OPT_TREE },
		{ "keep", no_argument, NULL, FSB_OPT_KEEP },
		{ "help", no_argument, NULL, FSB_OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct fsb_opts o = { .size_mib = FSB_SIZE_MIB_DEFAULT,
		              .writers = 1,
		              .file_mib = FSB_RAND_FILE_MIB,
		              .seconds = FSB_SECONDS_DEFAULT };
	const struct fsb_workload *w = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case FSB_OPT_SIZE_MIB:
			o.size_mib = fsb_parse_count("--size-mib", optarg, FSB_SIZE_MIB_MAX);
			break;
		case FSB_OPT_FILES:
			o.files = fsb_parse_count("--files", optarg, FSB_FILES_MAX);
			break;
		case FSB_OPT_PER_DIR:
			o.per_dir = fsb_parse_count("--per-dir", optarg, FSB_FILES_MAX);
			break;
		case FSB_OPT_WRITERS:
			o.writers = fsb_parse_count("--writers", optarg, FSB_WRITERS_MAX);
			break;
		case FSB_OPT_SECONDS:
			o.seconds = fsb_parse_seconds(optarg);
			break;
		case FSB_OPT_FILE_MIB:
			o.file_mib = fsb_parse_count("--file-mib", optarg, FSB_SIZE_MIB_MAX);
			break;
		case FSB_OPT_OTHER:
			o.other = optarg;
			break;
		case FSB_OPT_FILE:
			o.file = optarg;
			break;
		case FSB_OPT_DIR_OF_FILES:
			o.dir_of_files = optarg;
			break;
		case FSB_OPT_TAR:
			o.tar = optarg;
			break;
		case FSB_OPT_TREE:
			o.tree = optarg;
			break;
		case FSB_OPT_KEEP:
			o.keep = true;
			break;
		case FSB_OPT_HELP:
			fputs(fsb_usage_text, stdout);
			return 0;
		default: /* getopt_long has said what was wrong */
			fsb_usage_error("bad option", "");
		}
	}
	if (argc - optind != 2)
		fsb_usage_error("want a WORKLOAD and a DIR", "");
	for (size_t i = 0; i < sizeof(fsb_workloads) / sizeof(fsb_workloads[0]); i++)
		if (!strcmp(argv[optind], fsb_workloads[i].name))
			w = &fsb_workloads[i];
	if (!w)
		fsb_usage_error("unknown workload: ", argv[optind]);
	fsb_name = w->name;
	o.dir = argv[optind + 1];
	w->run(&o);
	return 0;
}
