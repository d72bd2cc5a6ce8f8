/*
 * vrfs-fsops: the system calls the shell has no command for, one per invocation, so that a
 * bats test can make one on a mount and check its effect on another.
 *
 *   vrfs-fsops exchange A B            renameat2(RENAME_EXCHANGE)
 *   vrfs-fsops noreplace A B           renameat2(RENAME_NOREPLACE)
 *   vrfs-fsops fallocate FILE OFF LEN  fallocate(0)
 *   vrfs-fsops punch FILE OFF LEN      fallocate(PUNCH_HOLE | KEEP_SIZE)
 *   vrfs-fsops copy SRC DST            copy_file_range of all of SRC into DST (created)
 *   vrfs-fsops seek FILE OFF           prints lseek(SEEK_DATA) and lseek(SEEK_HOLE) from OFF
 *   vrfs-fsops bigwrite FILE MIB       one write() of MIB MiB of a pattern, then fsync
 *   vrfs-fsops fsyncdir DIR            fsync on a directory
 *
 * Exit 0 on success; otherwise one line naming the call and errno's name, exit 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char *call, const char *path)
{
	printf("%s %s: %s\n", call, path, strerrorname_np(errno) ? strerrorname_np(errno) : strerror(errno));
	return 1;
}

static long long number(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 0);

	if (*s == '\0' || *end != '\0' || v < 0) {
		fprintf(stderr, "vrfs-fsops: not a number: %s\n", s);
		exit(2);
	}
	return v;
}

static int do_copy(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY);
	if (in < 0)
		return fail("open", src);
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0)
		return fail("open", dst);
	struct stat st;
	if (fstat(in, &st) != 0)
		return fail("fstat", src);
	off_t left = st.st_size;
	while (left > 0) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
		if (n < 0)
			return fail("copy_file_range", dst);
		if (n == 0)
			break;
		left -= n;
	}
	if (close(out) != 0)
		return fail("close", dst);
	close(in);
	return 0;
}

static int do_bigwrite(const char *path, long long mib)
{
	size_t len = (size_t)mib << 20;
	unsigned char *buf = malloc(len);
	if (!buf)
		return fail("malloc", path);
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(i * 2654435761u >> 13);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fail("open", path);
	ssize_t n = write(fd, buf, len);
	if (n != (ssize_t)len)
		return n < 0 ? fail("write", path) : (printf("write %s: short (%zd)\n", path, n), 1);
	if (fsync(fd) != 0 || close(fd) != 0)
		return fail("fsync", path);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr,
		        "usage: vrfs-fsops exchange|noreplace|fallocate|punch|copy|seek|bigwrite|fsyncdir ARGS\n");
		return 2;
	}
	const char *cmd = argv[1], *path = argv[2];

	if ((!strcmp(cmd, "exchange") || !strcmp(cmd, "noreplace")) && argc == 4) {
		unsigned flags = !strcmp(cmd, "exchange") ? RENAME_EXCHANGE : RENAME_NOREPLACE;
		return renameat2(AT_FDCWD, path, AT_FDCWD, argv[3], flags) == 0 ? 0 : fail("renameat2", path);
	}
	if ((!strcmp(cmd, "fallocate") || !strcmp(cmd, "punch")) && argc == 5) {
		int mode = !strcmp(cmd, "punch") ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE : 0;
		int fd = open(path, O_WRONLY | O_CREAT, 0644);
		if (fd < 0)
			return fail("open", path);
		if (fallocate(fd, mode, (off_t)number(argv[3]), (off_t)number(argv[4])) != 0)
			return fail("fallocate", path);
		return close(fd) == 0 ? 0 : fail("close", path);
	}
	if (!strcmp(cmd, "copy") && argc == 4)
		return do_copy(path, argv[3]);
	if (!strcmp(cmd, "seek") && argc == 4) {
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			return fail("open", path);
		off_t off = (off_t)number(argv[3]);
		off_t data = lseek(fd, off, SEEK_DATA);
		if (data < 0 && errno != ENXIO)
			return fail("lseek", path);
		off_t hole = lseek(fd, off, SEEK_HOLE);
		if (hole < 0 && errno != ENXIO)
			return fail("lseek", path);
		printf("data %lld hole %lld\n", (long long)data, (long long)hole);
		return 0;
	}
	if (!strcmp(cmd, "bigwrite") && argc == 4)
		return do_bigwrite(path, number(argv[3]));
	if (!strcmp(cmd, "fsyncdir") && argc == 3) {
		int fd = open(path, O_RDONLY | O_DIRECTORY);
		if (fd < 0)
			return fail("open", path);
		return fsync(fd) == 0 ? 0 : fail("fsync", path);
	}
	fprintf(stderr, "vrfs-fsops: unknown command or wrong arguments: %s\n", cmd);
	return 2;
}
