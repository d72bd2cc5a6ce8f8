/*
 * corpus_gen.c — writes the seed corpora of the fuzzers: valid encodings of every op
 * type, a few results, a few frames, every VR command, every daemon message, and every
 * read and answer, so libFuzzer starts from inputs that get past the first checks.
 *
 *   corpus_gen [DIR]     (DIR defaults to build/fuzz/corpus)
 *
 * Writes DIR/fuzz_wire_fs_op/, DIR/fuzz_wire_fs_result/, DIR/fuzz_wire_frame/,
 * DIR/fuzz_wire_vr/, DIR/fuzz_wire_msg/ and DIR/fuzz_wire_read/, one file per seed,
 * creating the directories. A seed of fuzz_wire_vr and fuzz_wire_msg is a selector byte
 * (the frame type - 1; the decoder's index in fuzz_wire_msg.c) followed by the body; a
 * seed of fuzz_wire_read is 0 and a request body, or 1, the read type - 1, and a reply
 * body. Running it again rewrites the same files.
 * Exits 0, or 1 with a message on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wire/wire_frame.h"
#include "wire/wire_fs.h"
#include "wire/wire_read.h"
#include "wire/wire_vr.h"

#define CORPUS_CLUSTER  0x7672667363303031ULL /* FUZZ_CLUSTER in fuzz_wire_frame.c */
#define CORPUS_PATH_MAX 4096
#define CORPUS_ENTRIES  4 /* at most FUZZ_ENTRIES in fuzz_wire_vr.c */

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
	op = base;
	op.type = WIRE_FS_CREATE_OPEN, op.parent = 1, op.name = "new.c", op.name_len = 5, op.mode = 0100644;
	op.handle = 7;
	corpus_op("create_open", &op, key);
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

/* ---- VR messages and daemon messages --------------------------------------------------- */

/* The selectors of fuzz_wire_msg.c (enum fuzz_msg there). */
enum corpus_msg {
	CORPUS_REDIRECT,
	CORPUS_STATUS_REQUEST,
	CORPUS_STATUS,
	CORPUS_SNAPSHOT_REQUEST,
	CORPUS_SNAPSHOT_CHUNK,
	CORPUS_EPOCH,
	CORPUS_EPOCH_STARTED,
};

/* A seed of a fuzzer whose first input byte selects what the rest is: selector, then the body in b. */
static void corpus_selected(const char *fuzzer, const char *name, uint8_t selector, const struct wire_buf *b)
{
	uint8_t *seed = malloc(b->len + 1);

	if (!seed)
		corpus_die(name, "out of memory");
	seed[0] = selector;
	if (b->len)
		memcpy(seed + 1, b->data, b->len);
	corpus_write(fuzzer, name, seed, b->len + 1);
	free(seed);
}

static void corpus_vr_message(const char *name, const struct vr_message *m)
{
	struct wire_buf b;
	int rc;

	wire_buf_init(&b);
	rc = wire_vr_encode(m, &b);
	if (rc != 0)
		corpus_die(name, strerror(-rc));
	corpus_selected("fuzz_wire_vr", name, (uint8_t)(m->command - 1), &b);
	wire_buf_free(&b);
}

/* A log entry as the primary builds it; every third registers a session. */
static struct vr_entry corpus_entry(uint32_t i, const struct wire_buf *op)
{
	struct vr_entry e = { .op = 40 + i,
		              .view = 2,
		              .client_id = 0x00c0ffee00000001ULL + i,
		              .session = 12,
		              .request = 7 + i,
		              .timestamp = 1700000000123456789ULL + i,
		              .checksum = 0x9e3779b97f4a7c15ULL * (i + 1),
		              .parent = 0x9e3779b97f4a7c15ULL * i,
		              .kind = VR_KIND_OP,
		              .body_len = (uint32_t)op->len,
		              .body = op->data };

	if (i % 3 == 0) {
		e.kind = VR_KIND_REGISTER;
		e.session = 0;
		e.body_len = 0;
		e.body = NULL;
	}
	return e;
}

/* Every integer at its widest, a bin16 body, two entries (both kinds). */
static void corpus_vr_max(const char *name, uint8_t command, const struct vr_entry *entries)
{
	static uint8_t wide[300];
	struct vr_message m = {
		.command = command,
		.replica = WIRE_VR_REPLICA_MAX,
		.status = UINT8_MAX,
		.epoch = UINT64_MAX,
		.view = UINT64_MAX,
		.op = UINT64_MAX,
		.commit = UINT64_MAX,
		.last_normal_view = UINT64_MAX,
		.nonce = UINT64_MAX,
		.client_id = UINT64_MAX,
		.session = UINT64_MAX,
		.request = UINT64_MAX,
		.kind = VR_KIND_REGISTER,
		.body_len = sizeof(wide),
		.body = wide,
		.entries = entries,
		.entry_count = 2,
	};

	memset(wide, 'x', sizeof(wide));
	corpus_vr_message(name, &m);
}

static void corpus_vr(void)
{
	static const char *const names[VR_COMMAND_MAX + 1] = {
		[VR_REQUEST] = "request",
		[VR_REPLY] = "reply",
		[VR_PREPARE] = "prepare",
		[VR_PREPARE_OK] = "prepare_ok",
		[VR_COMMIT] = "commit",
		[VR_START_VIEW_CHANGE] = "start_view_change",
		[VR_DO_VIEW_CHANGE] = "do_view_change",
		[VR_START_VIEW] = "start_view",
		[VR_RECOVERY] = "recovery",
		[VR_RECOVERY_RESPONSE] = "recovery_response",
		[VR_GET_STATE] = "get_state",
		[VR_NEW_STATE] = "new_state",
		[VR_COMMIT_OK] = "commit_ok",
		[VR_GET_LOG] = "get_log",
		[VR_LOG] = "log",
	};
	static const uint8_t data[] = "hello, world\n";
	struct wire_fs_op op = { .type = WIRE_FS_WRITE, .uid = 1000, .gid = 1000, .ino = 9, .offset = 4096 };
	struct wire_fs_result res = { .written = 13, .attr = { .ino = 9, .mode = 0100644, .nlink = 1, .size = 4109 } };
	struct vr_entry entries[CORPUS_ENTRIES];
	struct wire_buf op_body, result_body;
	char name[64];

	op.data = data, op.data_len = sizeof(data) - 1;
	wire_buf_init(&op_body);
	wire_buf_init(&result_body);
	if (wire_fs_op_encode(&op, &op_body) != 0 || wire_fs_result_encode(&res, &result_body) != 0)
		corpus_die("vr", "encoding a body failed");
	for (uint32_t i = 0; i < CORPUS_ENTRIES; i++)
		entries[i] = corpus_entry(i, &op_body);

	for (uint8_t c = 1; c <= VR_COMMAND_MAX; c++) {
		struct vr_message m = { .command = c, .replica = 1, .epoch = 1, .view = 2, .op = 43, .commit = 42 };

		switch (c) {
		case VR_REQUEST:
			m.replica = 0, m.client_id = 0x00c0ffee00000001ULL, m.session = 12, m.request = 8;
			m.kind = VR_KIND_OP, m.body = op_body.data, m.body_len = (uint32_t)op_body.len;
			break;
		case VR_REPLY:
			m.client_id = 0x00c0ffee00000001ULL, m.request = 8, m.status = VR_REPLY_OK;
			m.body = result_body.data, m.body_len = (uint32_t)result_body.len;
			break;
		case VR_PREPARE:
			m.entries = &entries[1], m.entry_count = 1;
			break;
		case VR_DO_VIEW_CHANGE:
			m.view = 3, m.last_normal_view = 2;
			m.entries = entries, m.entry_count = CORPUS_ENTRIES;
			break;
		case VR_START_VIEW:
		case VR_NEW_STATE:
		case VR_LOG:
			m.view = 3, m.entries = entries, m.entry_count = CORPUS_ENTRIES;
			break;
		case VR_GET_LOG:
			m.view = 3, m.commit = 1;
			break;
		case VR_RECOVERY:
			m.nonce = 0xdeadbeefcafef00dULL;
			break;
		case VR_RECOVERY_RESPONSE:
			m.nonce = 0xdeadbeefcafef00dULL, m.entries = entries, m.entry_count = 2;
			break;
		default:
			break;
		}
		corpus_vr_message(names[c], &m);
		if (c == VR_PREPARE) { /* a batch (§9.6) */
			m.entries = entries, m.entry_count = CORPUS_ENTRIES;
			m.op = entries[CORPUS_ENTRIES - 1].op, m.commit = entries[0].op - 1;
			corpus_vr_message("prepare_batch", &m);
		}
		if (c == VR_COMMIT_OK) { /* a lease of 500 ms (§9.7) */
			m.nonce = 7, m.op = 500000000;
			corpus_vr_message("commit_ok_lease", &m);
		}

		snprintf(name, sizeof(name), "%s_max", names[c]);
		corpus_vr_max(name, c, entries);
		m = (struct vr_message){ .command = c };
		snprintf(name, sizeof(name), "%s_zero", names[c]);
		corpus_vr_message(name, &m);
	}
	wire_buf_free(&op_body);
	wire_buf_free(&result_body);
}

/* rc is the encoder's answer for b: on success b's body becomes a seed, and b is emptied for the next. */
static void corpus_msg_done(const char *name, enum corpus_msg selector, int rc, struct wire_buf *b)
{
	if (rc != 0)
		corpus_die(name, strerror(-rc));
	corpus_selected("fuzz_wire_msg", name, (uint8_t)selector, b);
	b->len = 0;
}

static void corpus_msgs(void)
{
	static const uint8_t chunk[] = "SQLite format 3\0 a piece of a checkpoint";
	struct wire_redirect redirect = { .replica = 1, .status = VR_STATUS_NORMAL, .primary = 2, .view = 7 };
	struct wire_status_request status_request = { .nonce = 0x0123456789abcdefULL };
	struct wire_status status = { .nonce = 0x0123456789abcdefULL,
		                      .replica = 1,
		                      .replica_count = 3,
		                      .status = VR_STATUS_NORMAL,
		                      .primary = 1,
		                      .view = 7,
		                      .op = 12345,
		                      .commit = 12340,
		                      .checkpoint = 12000,
		                      .log_ops = 345,
		                      .log_bytes = 1449000,
		                      .frames_bad = 2,
		                      .uptime_ms = 86400000,
		                      .reads = 5000,
		                      .lease_reads = 4900,
		                      .prepares = 800,
		                      .prepare_ops = 12000,
		                      .epoch = 2 };
	struct wire_snapshot_request snapshot_request = {
		.replica = 2, .min_op = 12000, .snapshot_op = 12000, .offset = 1 << 20
	};
	struct wire_snapshot_chunk snapshot_chunk = { .replica = 0,
		                                      .snapshot_op = 12000,
		                                      .head = 0x9e3779b97f4a7c15ULL,
		                                      .view = 7,
		                                      .epoch = 2,
		                                      .total = 3 << 20,
		                                      .offset = 1 << 20,
		                                      .data_len = sizeof(chunk) - 1,
		                                      .data = chunk };
	static const uint8_t members[] = "10.0.0.1:7001,10.0.0.2:7001,10.0.0.3:7001,10.0.0.4:7001";
	static uint8_t members_max[WIRE_EPOCH_MEMBERS_MAX];
	struct wire_epoch epoch = { .epoch = 2,
		                    .op = 12346,
		                    .head = 0x9e3779b97f4a7c15ULL,
		                    .members_len = sizeof(members) - 1,
		                    .members = members };
	struct wire_epoch_started epoch_started = { .epoch = 2, .replica = 3 };
	struct wire_buf b;

	for (int i = 0; i < WIRE_SNAPSHOT_DIGEST; i++)
		snapshot_chunk.digest[i] = (uint8_t)(0xa0 + i);
	wire_buf_init(&b);
	corpus_msg_done("redirect", CORPUS_REDIRECT, wire_redirect_encode(&redirect, &b), &b);
	corpus_msg_done("status_request", CORPUS_STATUS_REQUEST, wire_status_request_encode(&status_request, &b), &b);
	corpus_msg_done("status", CORPUS_STATUS, wire_status_encode(&status, &b), &b);
	corpus_msg_done("snapshot_request", CORPUS_SNAPSHOT_REQUEST,
	                wire_snapshot_request_encode(&snapshot_request, &b), &b);
	corpus_msg_done("snapshot_chunk", CORPUS_SNAPSHOT_CHUNK, wire_snapshot_chunk_encode(&snapshot_chunk, &b), &b);
	corpus_msg_done("epoch", CORPUS_EPOCH, wire_epoch_encode(&epoch, &b), &b);
	corpus_msg_done("epoch_started", CORPUS_EPOCH_STARTED, wire_epoch_started_encode(&epoch_started, &b), &b);

	redirect = (struct wire_redirect){
		.replica = WIRE_VR_REPLICA_MAX, .status = UINT8_MAX, .primary = WIRE_VR_REPLICA_MAX, .view = UINT64_MAX
	};
	corpus_msg_done("redirect_max", CORPUS_REDIRECT, wire_redirect_encode(&redirect, &b), &b);
	status.replica = WIRE_VR_REPLICA_MAX, status.replica_count = WIRE_VR_REPLICA_MAX + 1;
	status.primary = WIRE_VR_REPLICA_MAX, status.view = UINT64_MAX, status.uptime_ms = UINT64_MAX;
	status.epoch = UINT64_MAX;
	corpus_msg_done("status_max", CORPUS_STATUS, wire_status_encode(&status, &b), &b);
	snapshot_chunk.total = snapshot_chunk.data_len, snapshot_chunk.offset = 0;
	corpus_msg_done("snapshot_chunk_whole", CORPUS_SNAPSHOT_CHUNK, wire_snapshot_chunk_encode(&snapshot_chunk, &b),
	                &b);
	snapshot_chunk.total = 0, snapshot_chunk.data_len = 0, snapshot_chunk.data = NULL;
	corpus_msg_done("snapshot_chunk_empty", CORPUS_SNAPSHOT_CHUNK, wire_snapshot_chunk_encode(&snapshot_chunk, &b),
	                &b);
	/* The longest member list (a bin16) with the widest integers, and the shortest. */
	memset(members_max, 'm', sizeof(members_max));
	epoch = (struct wire_epoch){ .epoch = UINT64_MAX,
		                     .op = UINT64_MAX,
		                     .head = UINT64_MAX,
		                     .members_len = sizeof(members_max),
		                     .members = members_max };
	corpus_msg_done("epoch_max", CORPUS_EPOCH, wire_epoch_encode(&epoch, &b), &b);
	epoch = (struct wire_epoch){ .members_len = 1, .members = members };
	corpus_msg_done("epoch_one_byte", CORPUS_EPOCH, wire_epoch_encode(&epoch, &b), &b);
	epoch_started = (struct wire_epoch_started){ .epoch = UINT64_MAX, .replica = WIRE_VR_REPLICA_MAX };
	corpus_msg_done("epoch_started_max", CORPUS_EPOCH_STARTED, wire_epoch_started_encode(&epoch_started, &b), &b);
	wire_buf_free(&b);
}

/* ---- Reads and their answers ---------------------------------------------------------- */

#define CORPUS_READ_REQUEST 0 /* the selectors of fuzz_wire_read.c: even, a request */
#define CORPUS_READ_REPLY   1 /* odd, a reply whose next byte is the read type - 1 */

static const char *const corpus_read_names[WIRE_READ_TYPE_MAX + 1] = {
	[WIRE_READ_GETATTR] = "getattr",     [WIRE_READ_LOOKUP] = "lookup",     [WIRE_READ_READDIR] = "readdir",
	[WIRE_READ_READ] = "read",           [WIRE_READ_READLINK] = "readlink", [WIRE_READ_GETXATTR] = "getxattr",
	[WIRE_READ_LISTXATTR] = "listxattr", [WIRE_READ_STATFS] = "statfs",     [WIRE_READ_LSEEK] = "lseek",
};

static void corpus_read_request(const char *name, const struct wire_read_request *q)
{
	char seed_name[64];
	struct wire_buf b;
	int rc;

	wire_buf_init(&b);
	rc = wire_read_request_encode(q, &b);
	if (rc != 0)
		corpus_die(name, strerror(-rc));
	snprintf(seed_name, sizeof(seed_name), "request_%s", name);
	corpus_selected("fuzz_wire_read", seed_name, CORPUS_READ_REQUEST, &b);
	wire_buf_free(&b);
}

/* A reply seed: the selector, the read type - 1, then the body. */
static void corpus_read_reply(const char *name, uint8_t type, const struct wire_read_reply *m)
{
	char seed_name[64];
	struct wire_buf b;
	uint8_t *seed;
	int rc;

	wire_buf_init(&b);
	rc = wire_read_reply_encode(type, m, &b);
	if (rc != 0)
		corpus_die(name, strerror(-rc));
	seed = malloc(b.len + 2);
	if (!seed)
		corpus_die(name, "out of memory");
	seed[0] = CORPUS_READ_REPLY;
	seed[1] = (uint8_t)(type - 1);
	memcpy(seed + 2, b.data, b.len);
	snprintf(seed_name, sizeof(seed_name), "reply_%s", name);
	corpus_write("fuzz_wire_read", seed_name, seed, b.len + 2);
	free(seed);
	wire_buf_free(&b);
}

static void corpus_reads(void)
{
	static const uint8_t data[] = "hello, world\n";
	static const uint8_t list[] = "user.a\0user.mime_type\0";
	static uint8_t wide[300];
	struct wire_dirent dirents[3] = {
		{ .cookie = 1, .name = ".", .name_len = 1, .attr = { .ino = 1, .mode = 040755, .nlink = 3 } },
		{ .cookie = 2, .name = "file", .name_len = 4, .attr = { .ino = 9, .mode = 0100644, .nlink = 1 } },
		{ .cookie = UINT64_MAX, .name = "link", .name_len = 4, .attr = { .ino = 12, .mode = 0120777 } },
	};
	struct wire_attr attr = { .ino = 9,
		                  .mode = 0100644,
		                  .nlink = 1,
		                  .uid = 1000,
		                  .gid = 1000,
		                  .size = 4109,
		                  .blocks = 16,
		                  .atime = -5,
		                  .mtime = 1700000000123456789LL,
		                  .ctime = INT64_MAX };
	char name[64];

	memset(wide, 'x', sizeof(wide));
	for (uint8_t t = 1; t <= WIRE_READ_TYPE_MAX; t++) {
		struct wire_read_request q = { .client_id = 0x00c0ffee00000001ULL,
			                       .request = 8,
			                       .read = { .type = t, .ino = 9 } };
		struct wire_read_reply m = { .request = 8, .view = 2 };
		struct wire_read *rd = &q.read;
		struct wire_read_result *res = &m.result;

		switch (t) {
		case WIRE_READ_GETATTR:
		case WIRE_READ_LOOKUP:
			if (t == WIRE_READ_LOOKUP)
				rd->ino = 1, rd->name = "file", rd->name_len = 4;
			res->attr = attr;
			break;
		case WIRE_READ_READDIR:
			rd->cookie = 2, rd->size = WIRE_READ_DIRENTS_MAX;
			res->eof = 1, res->dirents = dirents, res->dirent_count = 3;
			break;
		case WIRE_READ_READ:
			rd->offset = 4096, rd->size = 65536;
			res->data = data, res->data_len = res->len = sizeof(data) - 1;
			break;
		case WIRE_READ_READLINK:
			res->data = (const uint8_t *)"../target", res->data_len = res->len = 9;
			break;
		case WIRE_READ_GETXATTR:
			rd->name = "user.mime_type", rd->name_len = 14, rd->size = 0;
			res->len = 10; /* the answer to a size-0 query: no data, the length */
			break;
		case WIRE_READ_LISTXATTR:
			rd->size = 4096;
			res->data = list, res->data_len = res->len = sizeof(list) - 1;
			break;
		case WIRE_READ_STATFS:
			rd->ino = 0;
			res->inodes = 12345, res->data_bytes = 1ULL << 33;
			break;
		case WIRE_READ_LSEEK:
			rd->offset = 100, rd->whence = WIRE_READ_SEEK_DATA;
			res->value = 65536;
			break;
		}
		corpus_read_request(corpus_read_names[t], &q);
		corpus_read_reply(corpus_read_names[t], t, &m);
		m.result = (struct wire_read_result){ .err = -2 };
		snprintf(name, sizeof(name), "%s_enoent", corpus_read_names[t]);
		corpus_read_reply(name, t, &m);
	}
	/* Wider encodings: a 256-byte name, a bin16 body, the largest integers. */
	{
		static char long_name[WIRE_NAME_MAX + 1];
		struct wire_read_request q = { .client_id = UINT64_MAX,
			                       .request = UINT64_MAX,
			                       .local = 1,
			                       .min_op = UINT64_MAX,
			                       .read = { .type = WIRE_READ_LOOKUP,
			                                 .ino = UINT64_MAX,
			                                 .name = long_name,
			                                 .name_len = sizeof(long_name) } };
		struct wire_read_reply m = { .request = UINT64_MAX, .view = UINT64_MAX, .commit = UINT64_MAX };

		memset(long_name, 'n', sizeof(long_name));
		corpus_read_request("lookup_256", &q);
		m.result = (struct wire_read_result){ .data = wide, .data_len = sizeof(wide), .len = sizeof(wide) };
		corpus_read_reply("read_300", WIRE_READ_READ, &m);
		m.result = (struct wire_read_result){ .err = -4095 };
		corpus_read_reply("statfs_err_max", WIRE_READ_STATFS, &m);
		m.result = (struct wire_read_result){ .eof = 0 };
		corpus_read_reply("readdir_empty", WIRE_READ_READDIR, &m);
	}
}

int main(int argc, char **argv)
{
	static const char *const fuzzers[] = { "fuzz_wire_fs_op", "fuzz_wire_fs_result", "fuzz_wire_frame",
		                               "fuzz_wire_vr",    "fuzz_wire_msg",       "fuzz_wire_read" };
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
	corpus_vr();
	corpus_msgs();
	corpus_reads();
	return 0;
}
