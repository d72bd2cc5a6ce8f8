/*
 * corpus_gen.c — writes the seed corpora of the fuzzers: valid encodings of every op
 * type, a few results and a few frames, so libFuzzer starts from inputs that get past
 * the first checks.
 *
 *   corpus_gen [DIR]     (DIR defaults to build/fuzz/corpus)
 *
 * Writes DIR/fuzz_wire_fs_op/, DIR/fuzz_wire_fs_result/ and DIR/fuzz_wire_frame/, one
 * file per seed, creating the directories. Running it again rewrites the same files.
 * Exits 0, or 1 with a message on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wire/wire_frame.h"
#include "wire/wire_fs.h"

#define CORPUS_CLUSTER  0x7672667363303031ULL /* FUZZ_CLUSTER in fuzz_wire_frame.c */
#define CORPUS_PATH_MAX 4096

static const char *corpus_dir = "build/fuzz/corpus";

/* The key of fuzz_wire_frame.c: the bytes 0, 1, ..., 31. */
static void corpus_key(uint8_t key[WIRE_FRAME_KEY_SIZE])
{
	for (int i = 0; i < WIRE_FRAME_KEY_SIZE; i++)
		key[i] = (uint8_t)i;
}

static void corpus_die(const char *what, const char *detail)
{
	fprintf(stderr, "corpus_gen: %s: %s\n", what, detail);
	exit(1);
}

static void corpus_mkdir(const char *path)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		corpus_die(path, strerror(errno));
}

static void corpus_write(const char *fuzzer, const char *name, const uint8_t *data, size_t len)
{
	char path[CORPUS_PATH_MAX];
	FILE *f;

	if (snprintf(path, sizeof(path), "%s/%s/%s", corpus_dir, fuzzer, name) >= (int)sizeof(path))
		corpus_die(name, "path too long");
	f = fopen(path, "wb");
	if (!f)
		corpus_die(path, strerror(errno));
	if ((len && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
		corpus_die(path, "write failed");
}

/* The frame of body, with or without the key, as a frame seed. */
static void corpus_frame(const char *name, uint16_t type, uint64_t cluster, const uint8_t *body, size_t body_len,
                         const uint8_t *key)
{
	size_t cap = WIRE_FRAME_HEADER_SIZE + body_len, len;
	uint8_t *out = malloc(cap);

	if (!out)
		corpus_die(name, "out of memory");
	if (wire_frame_encode(type, cluster, body, (uint32_t)body_len, key, out, cap, &len) != 0)
		corpus_die(name, "wire_frame_encode failed");
	corpus_write("fuzz_wire_frame", name, out, len);
	free(out);
}

/* An op as an op seed, and framed (with the key for every other type) as a frame seed. */
static void corpus_op(const char *name, const struct wire_fs_op *op, const uint8_t *key)
{
	struct wire_buf b;
	char frame_name[64];
	int rc;

	wire_buf_init(&b);
	rc = wire_fs_op_encode(op, &b);
	if (rc != 0)
		corpus_die(name, strerror(-rc));
	corpus_write("fuzz_wire_fs_op", name, b.data, b.len);
	snprintf(frame_name, sizeof(frame_name), "op_%s", name);
	corpus_frame(frame_name, 1, CORPUS_CLUSTER, b.data, b.len, op->type % 2 ? key : NULL);
	wire_buf_free(&b);
}

static void corpus_result(const char *name, const struct wire_fs_result *r, const uint8_t *key)
{
	struct wire_buf b;
	char frame_name[64];
	int rc;

	wire_buf_init(&b);
	rc = wire_fs_result_encode(r, &b);
	if (rc != 0)
		corpus_die(name, strerror(-rc));
	corpus_write("fuzz_wire_fs_result", name, b.data, b.len);
	snprintf(frame_name, sizeof(frame_name), "result_%s", name);
	corpus_frame(frame_name, 2, CORPUS_CLUSTER, b.data, b.len, key);
	wire_buf_free(&b);
}

static void corpus_ops(const uint8_t *key)
{
	static const uint8_t data[] = "hello, world\n";
	static const uint8_t target[] = "../target";
	static const uint8_t value[] = { 0, 1, 2, 0xff };
	struct wire_fs_op base = { .uid = 1000, .gid = 1000 }, op;

	op = base;
	op.type = WIRE_FS_CREATE, op.parent = 1, op.name = "file", op.name_len = 4, op.mode = 0100644;
	corpus_op("create", &op, key);
	op.mode = 020644, op.rdev = 0x0801, op.uid = 0, op.gid = 0;
	corpus_op("create_dev", &op, key);
	op = base;
	op.type = WIRE_FS_MKDIR, op.parent = 1, op.name = "dir", op.name_len = 3, op.mode = 040755;
	corpus_op("mkdir", &op, key);
	op = base;
	op.type = WIRE_FS_SYMLINK, op.parent = 2, op.name = "link", op.name_len = 4;
	op.data = target, op.data_len = sizeof(target) - 1;
	corpus_op("symlink", &op, key);
	op = base;
	op.type = WIRE_FS_LINK, op.ino = 5, op.parent = 1, op.name = "hard", op.name_len = 4;
	corpus_op("link", &op, key);
	op = base;
	op.type = WIRE_FS_UNLINK, op.parent = 1, op.name = "file", op.name_len = 4;
	corpus_op("unlink", &op, key);
	op = base;
	op.type = WIRE_FS_RMDIR, op.parent = 1, op.name = "dir", op.name_len = 3;
	corpus_op("rmdir", &op, key);
	op = base;
	op.type = WIRE_FS_RENAME, op.parent = 1, op.name = "a", op.name_len = 1;
	op.new_parent = 3, op.new_name = "b", op.new_name_len = 1, op.flags = 1;
	corpus_op("rename", &op, key);
	op = base;
	op.type = WIRE_FS_SETATTR, op.ino = 9, op.valid = WIRE_SET_MODE | WIRE_SET_SIZE | WIRE_SET_MTIME;
	op.mode = 0100600, op.size = 1ULL << 33, op.atime = -1, op.mtime = 1700000000123456789LL,
	op.kill_suidgid = true;
	corpus_op("setattr", &op, key);
	op = base;
	op.type = WIRE_FS_WRITE, op.ino = 9, op.offset = 4096, op.data = data, op.data_len = sizeof(data) - 1;
	corpus_op("write", &op, key);
	op.data = NULL, op.data_len = 0, op.kill_suidgid = true;
	corpus_op("write_empty", &op, key);
	op = base;
	op.type = WIRE_FS_FALLOCATE, op.ino = 9, op.flags = 3, op.offset = 0, op.length = 65536;
	corpus_op("fallocate", &op, key);
	op = base;
	op.type = WIRE_FS_COPY_RANGE, op.ino = 9, op.offset = 10, op.target_ino = 11, op.target_offset = 20;
	op.length = 300;
	corpus_op("copy_range", &op, key);
	op = base;
	op.type = WIRE_FS_SETXATTR, op.ino = 9, op.name = "user.x", op.name_len = 6, op.data = value;
	op.data_len = sizeof(value), op.flags = 1;
	corpus_op("setxattr", &op, key);
	op = base;
	op.type = WIRE_FS_REMOVEXATTR, op.ino = 9, op.name = "user.x", op.name_len = 6;
	corpus_op("removexattr", &op, key);
	op = base;
	op.type = WIRE_FS_OPEN, op.ino = 9, op.handle = 0xffffffffffffffffULL;
	corpus_op("open", &op, key);
	op.type = WIRE_FS_RELEASE;
	corpus_op("release", &op, key);
}

static void corpus_results(const uint8_t *key)
{
	struct wire_fs_result r = { 0 };

	corpus_result("zero", &r, NULL);
	r.err = -2;
	corpus_result("enoent", &r, key);
	r.err = -4095;
	corpus_result("err_max", &r, NULL);
	r = (struct wire_fs_result){ .written = 13,
		                     .attr = { .ino = 9,
		                               .mode = 0100644,
		                               .nlink = 1,
		                               .uid = 1000,
		                               .gid = 1000,
		                               .size = 4109,
		                               .blocks = 16,
		                               .atime = -5,
		                               .mtime = 1700000000123456789LL,
		                               .ctime = INT64_MAX } };
	corpus_result("write", &r, key);
	r.attr.rdev = UINT64_MAX, r.attr.atime = INT64_MIN;
	corpus_result("extremes", &r, NULL);
}

static void corpus_frames(const uint8_t *key)
{
	static const uint8_t body[] = "opaque body";

	corpus_frame("empty_checksum", 3, CORPUS_CLUSTER, NULL, 0, NULL);
	corpus_frame("empty_mac", 3, CORPUS_CLUSTER, NULL, 0, key);
	corpus_frame("other_cluster", 4, CORPUS_CLUSTER + 1, body, sizeof(body), NULL);
	corpus_frame("type_max", UINT16_MAX, CORPUS_CLUSTER, body, sizeof(body), key);
}

int main(int argc, char **argv)
{
	static const char *const fuzzers[] = { "fuzz_wire_fs_op", "fuzz_wire_fs_result", "fuzz_wire_frame" };
	char path[CORPUS_PATH_MAX];
	uint8_t key[WIRE_FRAME_KEY_SIZE];

	if (argc > 2) {
		fprintf(stderr, "usage: corpus_gen [DIR]\n");
		return 2;
	}
	if (argc == 2)
		corpus_dir = argv[1];
	corpus_mkdir(corpus_dir);
	for (size_t i = 0; i < sizeof(fuzzers) / sizeof(fuzzers[0]); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", corpus_dir, fuzzers[i]) >= (int)sizeof(path))
			corpus_die(corpus_dir, "path too long");
		corpus_mkdir(path);
	}
	corpus_key(key);
	corpus_ops(key);
	corpus_results(key);
	corpus_frames(key);
	return 0;
}
