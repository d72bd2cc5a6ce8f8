/*
 * test_store_log.c — the VR log and metadata kept in the store's database
 * (store_log_write / store_log_read / store_log_meta): appends, an install that
 * truncates and appends with new metadata in one transaction, and durability
 * across a reopen of a file store.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state/store.h"
#include "tests/unit/counting_vfs.h"

struct collected {
	uint64_t ops[16];
	char data[16][8];
	int count;
};

static int collect(void *arg, const struct store_log_entry *e)
{
	struct collected *c = arg;

	assert_true(c->count < 16);
	c->ops[c->count] = e->op;
	memcpy(c->data[c->count], e->data, e->len < 7 ? e->len : 7);
	c->data[c->count][e->len < 7 ? e->len : 7] = '\0';
	c->count++;
	return 0;
}

static struct store_log_entry entry(uint64_t op, const char *text)
{
	struct store_log_entry e = { .op = op, .data = (const uint8_t *)text, .len = (uint32_t)strlen(text) };
	return e;
}

static void test_append_then_install(void **state)
{
	struct store *s;
	const char *why = NULL;
	struct collected c = { 0 };
	uint8_t meta[16];
	uint32_t len = 0;

	(void)state;
	assert_int_equal(store_open(&s, ":memory:", 1, &why), 0);
	assert_int_equal(store_log_meta(s, meta, sizeof(meta), &len), -ENOENT);

	struct store_log_entry first[3] = { entry(1, "one"), entry(2, "two"), entry(3, "three") };
	assert_int_equal(store_log_write(s, 0, first, 3, (const uint8_t *)"v0", 2), 0);
	assert_int_equal(store_log_read(s, 1, collect, &c), 0);
	assert_int_equal(c.count, 3);
	assert_string_equal(c.data[2], "three");
	assert_int_equal(store_log_meta(s, meta, sizeof(meta), &len), 0);
	assert_int_equal(len, 2);
	assert_memory_equal(meta, "v0", 2);

	/* An install: keep 1, replace 2..3 with 2'..4', new metadata, one transaction. */
	struct store_log_entry second[3] = { entry(2, "TWO"), entry(3, "THREE"), entry(4, "FOUR") };
	assert_int_equal(store_log_write(s, 1, second, 3, (const uint8_t *)"v1", 2), 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_log_read(s, 2, collect, &c), 0);
	assert_int_equal(c.count, 3);
	assert_int_equal(c.ops[0], 2);
	assert_string_equal(c.data[0], "TWO");
	assert_string_equal(c.data[2], "FOUR");
	assert_int_equal(store_log_meta(s, meta, sizeof(meta), &len), 0);
	assert_memory_equal(meta, "v1", 2);

	/* Truncate only, metadata unchanged. */
	assert_int_equal(store_log_write(s, 2, NULL, 0, NULL, 0), 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_log_read(s, 0, collect, &c), 0);
	assert_int_equal(c.count, 2);
	assert_int_equal(store_log_meta(s, meta, sizeof(meta), &len), 0);
	assert_memory_equal(meta, "v1", 2);

	/* Entries that do not follow keep_op are refused, and nothing changes. */
	struct store_log_entry gap = entry(5, "gap");
	assert_int_equal(store_log_write(s, 2, &gap, 1, (const uint8_t *)"v2", 2), STORE_BROKEN);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_log_read(s, 0, collect, &c), 0);
	assert_int_equal(c.count, 2);
	assert_int_equal(store_log_meta(s, meta, sizeof(meta), &len), 0);
	assert_memory_equal(meta, "v1", 2);
	store_close(s);
}

static void test_log_survives_reopen(void **state)
{
	char dir[] = "/tmp/vrfs-test-log.XXXXXX";
	char path[64];
	struct store *s;
	const char *why = NULL;
	struct collected c = { 0 };

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/store.db", dir);
	assert_int_equal(store_open(&s, path, 1, &why), 0);
	struct store_log_entry e[2] = { entry(1, "a"), entry(2, "b") };
	assert_int_equal(store_log_write(s, 0, e, 2, (const uint8_t *)"m", 1), 0);
	store_close(s);

	assert_int_equal(store_open(&s, path, 1, &why), 0);
	assert_int_equal(store_log_read(s, 1, collect, &c), 0);
	assert_int_equal(c.count, 2);
	assert_string_equal(c.data[1], "b");
	store_close(s);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* store_begin .. store_end: log writes and applies in one transaction; a failure inside
 * abandons all of it and store_end reports it. */
static void test_group_commit(void **state)
{
	char dir[] = "/tmp/vrfs-test-group.XXXXXX";
	char path[64];
	struct store *s;
	const char *why = NULL;
	struct collected c = { 0 };
	struct wire_fs_result res;
	struct wire_fs_op mk = {
		.type = WIRE_FS_MKDIR, .parent = WIRE_INO_ROOT, .name = "d", .name_len = 1, .mode = 0755
	};
	struct store_apply_ctx ctx = { .op = 1, .now = 5, .client_id = 9 };

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/store.db", dir);
	assert_int_equal(store_open(&s, path, 1, &why), 0);

	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_begin(s), STORE_BROKEN); /* not nested */
	struct store_log_entry e[2] = { entry(1, "a"), entry(2, "b") };
	assert_int_equal(store_log_write(s, 0, e, 2, (const uint8_t *)"m", 1), 0);
	assert_int_equal(store_apply(s, &ctx, &mk, NULL, &res), 0);
	assert_int_equal(res.err, 0);
	assert_int_equal(store_label_put(s, "label.x", 42), 0);
	assert_int_equal(store_end(s), 0);
	store_close(s);

	/* All three kinds of write are there after a reopen. */
	uint64_t v = 0;
	struct wire_attr attr;
	assert_int_equal(store_open(&s, path, 1, &why), 0);
	assert_int_equal(store_commit(s), 1);
	assert_int_equal(store_lookup(s, WIRE_INO_ROOT, "d", 1, &attr), 0);
	assert_int_equal(store_log_read(s, 1, collect, &c), 0);
	assert_int_equal(c.count, 2);
	assert_int_equal(store_label_get(s, "label.x", &v), 0);
	assert_int_equal(v, 42);

	/* A failing write inside a group: the group is gone, later calls fail, store_end says so. */
	assert_int_equal(store_begin(s), 0);
	struct store_log_entry more = entry(3, "c");
	assert_int_equal(store_log_write(s, 2, &more, 1, NULL, 0), 0);
	struct store_log_entry gap = entry(9, "gap");
	assert_int_equal(store_log_write(s, 3, &gap, 1, NULL, 0), STORE_BROKEN);
	assert_int_equal(store_log_write(s, 3, NULL, 0, NULL, 0), STORE_BROKEN);
	assert_int_equal(store_end(s), STORE_BROKEN);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_log_read(s, 1, collect, &c), 0);
	assert_int_equal(c.count, 2); /* op 3 was rolled back with the group */
	/* And the store works again afterwards. */
	assert_int_equal(store_log_write(s, 2, &more, 1, NULL, 0), 0);
	store_close(s);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/*
 * store_begin_lazy: a group that only applies commits without syncing the WAL; one made
 * durable (store_make_durable: a log write joined it), and every store_begin group, syncs it
 * once; what a lazy group wrote is committed all the same (visible after a reopen: a process
 * crash loses nothing, only power loss before the next durable commit would).
 */
static void test_lazy_group(void **state)
{
	char dir[] = "/tmp/vrfs-test-lazy.XXXXXX";
	char path[64];
	struct store *s;
	const char *why = NULL;
	struct wire_fs_result res;
	struct wire_attr attr;
	char name[16];

	(void)state;
	counting_vfs_install();
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/store.db", dir);
	assert_int_equal(store_open(&s, path, 1, &why), 0);

	for (uint64_t op = 1; op <= 6; op++) {
		struct wire_fs_op mk = {
			.type = WIRE_FS_MKDIR, .parent = WIRE_INO_ROOT, .name = name, .name_len = 2, .mode = 0755
		};
		struct store_apply_ctx ctx = { .op = op, .now = 5, .client_id = 9 };
		bool lazy = op % 2 == 1, durable = op % 3 == 0;
		snprintf(name, sizeof(name), "d%d", (int)op);
		int before = wal_syncs;

		assert_int_equal(lazy ? store_begin_lazy(s) : store_begin(s), 0);
		assert_int_equal(store_begin_lazy(s), STORE_BROKEN); /* not nested */
		assert_int_equal(store_apply(s, &ctx, &mk, NULL, &res), 0);
		assert_int_equal(res.err, 0);
		if (durable) {
			struct store_log_entry e = entry(op, "x");
			assert_int_equal(store_log_write(s, op - 1, &e, 1, NULL, 0), 0);
			store_make_durable(s);
		}
		assert_int_equal(store_end(s), 0);
		/* op 1, 5: lazy, no sync; 3: lazy made durable; 2, 4, 6: store_begin */
		assert_int_equal(wal_syncs - before, lazy && !durable ? 0 : 1);
	}
	/* After a lazy group, plain transactions sync again (the setting came back). */
	int before = wal_syncs;
	assert_int_equal(store_label_put(s, "label.x", 1), 0);
	assert_int_equal(wal_syncs - before, 1);
	store_close(s);

	assert_int_equal(store_open(&s, path, 1, &why), 0);
	assert_int_equal(store_commit(s), 6);
	for (int op = 1; op <= 6; op++) {
		snprintf(name, sizeof(name), "d%d", op);
		assert_int_equal(store_lookup(s, WIRE_INO_ROOT, name, 2, &attr), 0);
	}
	store_close(s);
	counting_vfs_remove();

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

struct rows {
	struct store_session_row row[4];
	uint8_t result[4][8];
	int count;
};

static int collect_row(void *arg, const struct store_session_row *r)
{
	struct rows *rs = arg;

	assert_true(rs->count < 4);
	rs->row[rs->count] = *r;
	if (r->result_len)
		memcpy(rs->result[rs->count], r->result, r->result_len < 8 ? r->result_len : 8);
	rs->count++;
	return 0;
}

/* The client table reads back what applies wrote, by slot: a registration's own result,
 * an op's encoded result. */
static void test_sessions_read_back(void **state)
{
	struct store *s;
	const char *why = NULL;
	struct wire_fs_result res;
	struct rows rs = { 0 };

	(void)state;
	assert_int_equal(store_open(&s, ":memory:", 1, &why), 0);
	struct store_apply_ctx reg = { .op = 1, .client_id = 70 };
	struct store_session_row r1 = { .slot = 1,
		                        .client_id = 70,
		                        .session = 1,
		                        .request = 0,
		                        .op = 1,
		                        .result = (const uint8_t *)"hi",
		                        .result_len = 2 };
	assert_int_equal(store_apply(s, &reg, NULL, &r1, &res), 0);
	struct wire_fs_op mk = {
		.type = WIRE_FS_MKDIR, .parent = WIRE_INO_ROOT, .name = "d", .name_len = 1, .mode = 0755
	};
	struct store_apply_ctx ctx = { .op = 2, .client_id = 70 };
	struct store_session_row r2 = { .slot = 1, .client_id = 70, .session = 1, .request = 1, .op = 2 };
	assert_int_equal(store_apply(s, &ctx, &mk, &r2, &res), 0);
	struct store_apply_ctx reg2 = { .op = 3, .client_id = 80 };
	struct store_session_row r3 = { .slot = 0, .client_id = 80, .session = 3, .op = 3 };
	assert_int_equal(store_apply(s, &reg2, NULL, &r3, &res), 0);

	assert_int_equal(store_sessions_read(s, collect_row, &rs), 0);
	assert_int_equal(rs.count, 2);
	assert_int_equal(rs.row[0].slot, 0);
	assert_int_equal(rs.row[0].client_id, 80);
	assert_int_equal(rs.row[1].slot, 1);
	assert_int_equal(rs.row[1].request, 1);
	assert_int_equal(rs.row[1].op, 2);
	/* The cached reply of op 2 is its encoded result; a registration row keeps its own. */
	assert_true(rs.row[1].result_len > 0);
	assert_int_equal(rs.row[0].result_len, 0);
	store_close(s);
}

static void test_labels(void **state)
{
	struct store *s;
	const char *why = NULL;
	uint64_t v = 0;

	(void)state;
	assert_int_equal(store_open(&s, ":memory:", 1, &why), 0);
	assert_int_equal(store_label_get(s, "label.none", &v), -ENOENT);
	assert_int_equal(store_label_put(s, "commit", 5), -EINVAL); /* the store's own keys are not labels */
	assert_int_equal(store_label_get(s, "magic", &v), -EINVAL);
	assert_int_equal(store_label_put(s, "label.big", UINT64_MAX), 0);
	assert_int_equal(store_label_get(s, "label.big", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(store_commit(s), 0);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_then_install), cmocka_unit_test(test_log_survives_reopen),
		cmocka_unit_test(test_group_commit),        cmocka_unit_test(test_lazy_group),
		cmocka_unit_test(test_sessions_read_back),  cmocka_unit_test(test_labels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
