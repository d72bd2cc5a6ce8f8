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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_then_install),
		cmocka_unit_test(test_log_survives_reopen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
