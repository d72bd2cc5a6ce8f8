/*
 * test_jepsen.c — unit tests of the vrfs-jepsen history format and checker
 * (tests/faults/jepsen.c): the line format and its rejects, register records, create
 * contents, malformed histories, then the checker on hand-built histories and final
 * trees: known-good ones must be valid, and each known-bad one must give exactly its
 * anomaly. Last, generated register histories of 600 ops from 8 processes, valid as
 * generated and invalid once a read is made stale.
 *
 * Fixture: a fresh mkdtemp directory (under $TMPDIR or /tmp) per test holding hist/
 * (the history.* files) and the "mounts" m1/ and m2/; teardown removes it. Times are
 * small integers: only their order matters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/faults/jepsen.h"

#define TJ_ROOT_MAX 1024 /* the temp directory's path; paths under it fit PATH_MAX */
#define TJ_DIR_MAX  (TJ_ROOT_MAX + 8)

struct tj {
	char root[TJ_ROOT_MAX];
	char hist[TJ_DIR_MAX];
	char m1[TJ_DIR_MAX];
	char m2[TJ_DIR_MAX];
};

/* ---- Fixture ----------------------------------------------------------------------- */

static void tj_rm_rf(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	d = opendir(path);
	if (d) {
		while ((de = readdir(d))) {
			char sub[PATH_MAX];

			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			tj_rm_rf(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

static int tj_setup(void **state)
{
	struct tj *t = test_calloc(1, sizeof(*t));
	const char *tmp = getenv("TMPDIR");

	if (!t)
		return -1;
	if ((size_t)snprintf(t->root, sizeof(t->root), "%s/test_jepsen.XXXXXX", tmp && *tmp ? tmp : "/tmp") >=
	            sizeof(t->root) ||
	    !mkdtemp(t->root)) {
		test_free(t);
		return -1;
	}
	snprintf(t->hist, sizeof(t->hist), "%s/hist", t->root);
	snprintf(t->m1, sizeof(t->m1), "%s/m1", t->root);
	snprintf(t->m2, sizeof(t->m2), "%s/m2", t->root);
	if (mkdir(t->hist, 0755) < 0 || mkdir(t->m1, 0755) < 0 || mkdir(t->m2, 0755) < 0) {
		tj_rm_rf(t->root);
		test_free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int tj_teardown(void **state)
{
	struct tj *t = *state;

	tj_rm_rf(t->root);
	test_free(t);
	return 0;
}

/* ---- Building histories and trees --------------------------------------------------- */

/* Appends raw text to hist/history.<proc>. */
static void tj_hist_text(struct tj *t, unsigned proc, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/history.%u", t->hist, proc);
	f = fopen(path, "a");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/*
 * One op of proc: invoked at inv with value; completed at done as type ("ok", "fail",
 * "info") with result, or never when type is NULL.
 */
static void tj_op(struct tj *t, unsigned proc, const char *f, const char *key, const char *value, uint64_t inv,
                  uint64_t done, const char *type, const char *result)
{
	char line[512];

	snprintf(line, sizeof(line), "%llu %u invoke %s %s %s\n", (unsigned long long)inv, proc, f, key, value);
	tj_hist_text(t, proc, line);
	if (!type)
		return;
	snprintf(line, sizeof(line), "%llu %u %s %s %s %s\n", (unsigned long long)done, proc, type, f, key, result);
	tj_hist_text(t, proc, line);
}

static void tj_write(struct tj *t, unsigned proc, const char *key, const char *value, uint64_t inv, uint64_t done,
                     const char *type)
{
	tj_op(t, proc, "write", key, value, inv, done, type,
	      !type || strcmp(type, "ok") == 0 ? value
	      : strcmp(type, "fail") == 0      ? "ENOENT"
	                                       : "EIO");
}

static void tj_read(struct tj *t, unsigned proc, const char *key, const char *value, uint64_t inv, uint64_t done)
{
	tj_op(t, proc, "read", key, "-", inv, done, "ok", value);
}

static void tj_append(struct tj *t, unsigned proc, const char *key, const char *rec, uint64_t inv, uint64_t done,
                      const char *type)
{
	tj_op(t, proc, "append", key, rec, inv, done, type, !type || strcmp(type, "ok") == 0 ? rec : "ETIMEDOUT");
}

static void tj_create(struct tj *t, unsigned proc, const char *name, uint64_t inv, uint64_t done, const char *type)
{
	char size[24];

	snprintf(size, sizeof(size), "%zu", jepsen_create_size(name));
	tj_op(t, proc, "create", name, size, inv, done, type, !type || strcmp(type, "ok") == 0 ? size : "EIO");
}

/* Writes mount/jepsen/name with len bytes of data. */
static void tj_file(const char *mount, const char *name, const void *data, size_t len)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", mount, JEPSEN_DIR);
	assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s/%s/%s", mount, JEPSEN_DIR, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static void tj_text(const char *mount, const char *name, const char *text)
{
	tj_file(mount, name, text, strlen(text));
}

static void tj_register(const char *mount, const char *key, const char *value)
{
	char name[64], rec[JEPSEN_REGISTER_SIZE];

	snprintf(name, sizeof(name), "r-%s", key);
	jepsen_register_encode(value, rec);
	tj_file(mount, name, rec, sizeof(rec));
}

/* c-<name> with the first len bytes of its content (all of them when len is SIZE_MAX). */
static void tj_created(const char *mount, const char *name, size_t len)
{
	size_t size = jepsen_create_size(name);
	uint8_t *buf = malloc(size ? size : 1);
	char file[64];

	assert_non_null(buf);
	jepsen_create_fill(name, buf, size);
	snprintf(file, sizeof(file), "c-%s", name);
	tj_file(mount, file, buf, len < size ? len : size);
	free(buf);
}

/* ---- Checking --------------------------------------------------------------------- */

static void tj_check(struct tj *t, size_t mount_count, struct jepsen_report *r)
{
	const char *mounts[2] = { t->m1, t->m2 };
	struct jepsen_history h;
	char err[512] = "";
	int rc;

	rc = jepsen_history_load(t->hist, &h, err, sizeof(err));
	if (rc != 0)
		print_error("history: %s\n", err);
	assert_int_equal(rc, 0);
	rc = jepsen_check(&h, mounts, mount_count, r, err, sizeof(err));
	if (rc != 0)
		print_error("check: %s\n", err);
	assert_int_equal(rc, 0);
	for (size_t i = 0; i < r->anomaly_count; i++)
		print_message("    [%s] %s\n", jepsen_anomaly_kind_name(r->anomalies[i].kind), r->anomalies[i].text);
	jepsen_history_free(&h);
}

static void tj_expect_valid(struct tj *t, size_t mount_count)
{
	struct jepsen_report r;

	tj_check(t, mount_count, &r);
	assert_int_equal(r.anomaly_count, 0);
	jepsen_report_free(&r);
}

/* Exactly count anomalies, all of kind; returns the first one's text in text (cap bytes). */
static void tj_expect_only(struct tj *t, size_t mount_count, enum jepsen_anomaly_kind kind, size_t count, char *text,
                           size_t cap)
{
	struct jepsen_report r;

	tj_check(t, mount_count, &r);
	assert_int_equal(jepsen_report_count(&r, kind), count);
	assert_int_equal(r.anomaly_count, count);
	if (text && count)
		snprintf(text, cap, "%s", r.anomalies[0].text);
	jepsen_report_free(&r);
}

static void tj_expect(struct tj *t, enum jepsen_anomaly_kind kind)
{
	tj_expect_only(t, 1, kind, 1, NULL, 0);
}

/* The history in hist/ is refused with -EBADMSG and an error containing what. */
static void tj_expect_bad_history(struct tj *t, const char *what)
{
	struct jepsen_history h;
	char err[512] = "";

	assert_int_equal(jepsen_history_load(t->hist, &h, err, sizeof(err)), -EBADMSG);
	if (!strstr(err, what))
		print_error("error \"%s\" lacks \"%s\"\n", err, what);
	assert_non_null(strstr(err, what));
}

/* ---- Format ----------------------------------------------------------------------- */

static void test_event_round_trip(void **state)
{
	struct jepsen_event ev = {
		.time_ns = 18446744073709551615ULL, .proc = 12, .type = JEPSEN_INFO, .f = JEPSEN_CREATE
	};
	struct jepsen_event back;
	const char *why = NULL;
	char line[JEPSEN_LINE_MAX];
	int n;

	(void)state;
	strcpy(ev.key, "p12.345");
	strcpy(ev.value, "ETIMEDOUT");
	n = jepsen_event_format(&ev, line, sizeof(line));
	assert_int_equal(n, (int)strlen(line));
	assert_string_equal(line, "18446744073709551615 12 info create p12.345 ETIMEDOUT\n");
	assert_int_equal(jepsen_event_parse(line, (size_t)n - 1, &back, &why), 0);
	assert_true(back.time_ns == ev.time_ns);
	assert_int_equal(back.proc, 12);
	assert_int_equal(back.type, JEPSEN_INFO);
	assert_int_equal(back.f, JEPSEN_CREATE);
	assert_string_equal(back.key, ev.key);
	assert_string_equal(back.value, ev.value);

	strcpy(ev.value, "has space");
	assert_int_equal(jepsen_event_format(&ev, line, sizeof(line)), -EINVAL);
	strcpy(ev.value, "x");
	assert_int_equal(jepsen_event_format(&ev, line, 10), -ENOSPC);
}

static void tj_parse_rejects(const char *line, const char *why_expected)
{
	struct jepsen_event ev;
	const char *why = NULL;

	assert_int_equal(jepsen_event_parse(line, strlen(line), &ev, &why), -EBADMSG);
	assert_string_equal(why, why_expected);
}

static void test_event_parse_rejects(void **state)
{
	char longline[300];

	(void)state;
	tj_parse_rejects("", "empty line");
	tj_parse_rejects("1 0 invoke read 1", "fewer than 6 fields");
	tj_parse_rejects("1 0 invoke read 1 - x", "more than 6 fields");
	tj_parse_rejects("1 0  invoke read 1 -", "empty field");
	tj_parse_rejects("1 0 invoke read 1 - ", "empty field");
	tj_parse_rejects("1 0 invoke read 1 \t", "control or non-ASCII byte");
	tj_parse_rejects("1x 0 invoke read 1 -", "time is not a decimal number");
	tj_parse_rejects("18446744073709551616 0 invoke read 1 -", "time is not a decimal number");
	tj_parse_rejects("-1 0 invoke read 1 -", "time is not a decimal number");
	tj_parse_rejects("1 p0 invoke read 1 -", "process is not a decimal number");
	tj_parse_rejects("1 65536 invoke read 1 -", "process number too large");
	tj_parse_rejects("1 0 invoked read 1 -", "unknown type");
	tj_parse_rejects("1 0 invoke cas 1 -", "unknown f");
	memset(longline, 'k', sizeof(longline));
	memcpy(longline, "1 0 invoke read ", 16);
	strcpy(longline + 16 + JEPSEN_TOKEN_MAX + 1, " -");
	tj_parse_rejects(longline, "key too long");
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	tj_parse_rejects(longline, "line too long");
}

static void test_register_record(void **state)
{
	char rec[JEPSEN_REGISTER_SIZE], value[JEPSEN_TOKEN_MAX + 1];
	char longest[JEPSEN_VALUE_MAX + 1];

	(void)state;
	jepsen_register_encode("p3.14", rec);
	assert_memory_equal(rec, "p3.14                          \n", JEPSEN_REGISTER_SIZE);
	assert_true(jepsen_register_decode(rec, sizeof(rec), value));
	assert_string_equal(value, "p3.14");
	assert_true(jepsen_register_decode(rec, 0, value));
	assert_string_equal(value, JEPSEN_NIL);
	assert_false(jepsen_register_decode(rec, sizeof(rec) - 1, value)); /* short */
	rec[10] = 'x';
	assert_false(jepsen_register_decode(rec, sizeof(rec), value)); /* not spaces after the value */
	jepsen_register_encode("p3.14", rec);
	rec[31] = ' ';
	assert_false(jepsen_register_decode(rec, sizeof(rec), value)); /* no newline */
	memset(rec, ' ', sizeof(rec));
	rec[31] = '\n';
	assert_false(jepsen_register_decode(rec, sizeof(rec), value)); /* no value */
	memset(longest, 'v', JEPSEN_VALUE_MAX);
	longest[JEPSEN_VALUE_MAX] = '\0';
	jepsen_register_encode(longest, rec);
	assert_true(jepsen_register_decode(rec, sizeof(rec), value));
	assert_string_equal(value, longest);
}

static void test_create_content(void **state)
{
	static uint8_t a[JEPSEN_CREATE_SIZE_MAX], b[JEPSEN_CREATE_SIZE_MAX];
	size_t size = jepsen_create_size("p0.1");

	(void)state;
	assert_true(size <= JEPSEN_CREATE_SIZE_MAX);
	assert_int_equal(jepsen_create_size("p0.1"), size);
	jepsen_create_fill("p0.1", a, size);
	jepsen_create_fill("p0.1", b, size);
	assert_memory_equal(a, b, size);
	jepsen_create_fill("p0.2", b, size);
	assert_true(size < 16 || memcmp(a, b, size) != 0);
	jepsen_create_fill("p0.1", b, size / 2); /* a prefix is the same prefix */
	assert_memory_equal(a, b, size / 2);
}

/* ---- Malformed histories ------------------------------------------------------------ */

static void test_history_truncated_line(void **state)
{
	struct tj *t = *state;

	tj_hist_text(t, 0, "10 0 invoke read 1 -\n20 0 ok read 1 nil");
	tj_expect_bad_history(t, "truncated last line");
}

static void test_history_completion_without_invoke(void **state)
{
	struct tj *t = *state;

	tj_hist_text(t, 0, "10 0 ok read 1 nil\n");
	tj_expect_bad_history(t, "without an invoke");
}

static void test_history_invoke_while_running(void **state)
{
	struct tj *t = *state;

	tj_hist_text(t, 0, "10 0 invoke read 1 -\n20 0 invoke read 1 -\n");
	tj_expect_bad_history(t, "while its read is running");
}

static void test_history_mismatched_completion(void **state)
{
	struct tj *t = *state;

	tj_hist_text(t, 0, "10 0 invoke read 1 -\n20 0 ok read 2 nil\n");
	tj_expect_bad_history(t, "but invoked read 1");
}

static void test_history_duplicate_value(void **state)
{
	struct tj *t = *state;

	tj_append(t, 0, "1", "p0.1", 10, 20, "ok");
	tj_append(t, 1, "2", "p0.1", 30, 40, "ok");
	tj_expect_bad_history(t, "invoked twice");
}

static void test_history_bad_line(void **state)
{
	struct tj *t = *state;

	tj_hist_text(t, 3, "10 3 invoke read 1 -\n20 3 done read 1 nil\n");
	tj_expect_bad_history(t, "history.3:2: unknown type");
}

static void test_history_no_files(void **state)
{
	struct tj *t = *state;
	struct jepsen_history h;
	char err[512];

	assert_int_equal(jepsen_history_load(t->hist, &h, err, sizeof(err)), -ENOENT);
}

/* ---- Good histories ------------------------------------------------------------------- */

static void test_good_sequential(void **state)
{
	struct tj *t = *state;

	tj_read(t, 0, "1", "nil", 10, 20);
	tj_write(t, 0, "1", "p0.1", 30, 40, "ok");
	tj_read(t, 0, "1", "p0.1", 50, 60);
	tj_write(t, 0, "1", "p0.2", 70, 80, "ok");
	tj_read(t, 0, "1", "p0.2", 90, 100);
	tj_append(t, 0, "1", "p0.3", 110, 120, "ok");
	tj_append(t, 0, "1", "p0.4", 130, 140, "ok");
	tj_create(t, 0, "p0.5", 150, 160, "ok");
	tj_read(t, 0, "2", "nil", 170, 180);
	tj_register(t->m1, "1", "p0.2");
	tj_text(t->m1, "a-1", "p0.3\np0.4\n");
	tj_created(t->m1, "p0.5", SIZE_MAX);
	tj_expect_valid(t, 1);
}

static void test_good_concurrent_writes_reads_either(void **state)
{
	struct tj *t = *state;

	/* Key 1: B, read B, A, read A, in one order; key 2: the other order. */
	tj_write(t, 0, "1", "p0.1", 10, 50, "ok");
	tj_write(t, 1, "1", "p1.1", 20, 60, "ok");
	tj_read(t, 2, "1", "p0.1", 30, 40);
	tj_read(t, 3, "1", "p1.1", 30, 45);
	tj_read(t, 2, "1", "p0.1", 70, 80);
	tj_write(t, 0, "2", "p0.2", 100, 150, "ok");
	tj_write(t, 1, "2", "p1.2", 110, 160, "ok");
	tj_read(t, 2, "2", "p0.2", 120, 130);
	tj_read(t, 3, "2", "p1.2", 120, 135);
	tj_read(t, 2, "2", "p1.2", 170, 180);
	tj_register(t->m1, "1", "p0.1");
	tj_register(t->m1, "2", "p1.2");
	tj_expect_valid(t, 1);
}

static void test_good_info_write_took_effect(void **state)
{
	struct tj *t = *state;

	tj_write(t, 0, "1", "p0.1", 10, 20, "ok");
	tj_write(t, 1, "1", "p1.1", 30, 40, "info");
	tj_read(t, 0, "1", "p1.1", 1000, 1010);     /* landed after its EIO */
	tj_write(t, 2, "1", "p2.1", 1100, 0, NULL); /* never completed, yet in the final tree */
	tj_register(t->m1, "1", "p2.1");
	tj_expect_valid(t, 1);
}

static void test_good_info_write_never_took_effect(void **state)
{
	struct tj *t = *state;

	tj_write(t, 0, "1", "p0.1", 10, 20, "ok");
	tj_write(t, 1, "1", "p1.1", 30, 40, "info");
	tj_write(t, 2, "1", "p2.1", 50, 0, NULL);
	tj_read(t, 0, "1", "p0.1", 60, 70);
	tj_read(t, 0, "1", "p0.1", 80, 90);
	tj_register(t->m1, "1", "p0.1");
	tj_expect_valid(t, 1);
}

static void test_good_failed_write_on_empty_register(void **state)
{
	struct tj *t = *state;

	/* open(O_CREAT) made the file, the write failed: an empty file is nil. */
	tj_write(t, 0, "1", "p0.1", 10, 20, "fail");
	tj_write(t, 1, "1", "p1.1", 30, 0, NULL);
	tj_read(t, 2, "1", "nil", 40, 50);
	tj_file(t->m1, "r-1", "", 0);
	tj_expect_valid(t, 1);
}

static void test_good_info_append_present_once(void **state)
{
	struct tj *t = *state;

	tj_append(t, 0, "1", "p0.1", 10, 20, "ok");
	tj_append(t, 1, "1", "p1.1", 15, 30, "info");
	tj_append(t, 2, "1", "p2.1", 40, 0, NULL);
	tj_append(t, 0, "1", "p0.2", 50, 60, "ok");
	tj_text(t->m1, "a-1", "p0.1\np1.1\np0.2\np2.1\n"); /* info ones may land late */
	tj_expect_valid(t, 1);
}

static void test_good_info_append_absent(void **state)
{
	struct tj *t = *state;

	tj_append(t, 0, "1", "p0.1", 10, 20, "ok");
	tj_append(t, 1, "1", "p1.1", 15, 30, "info");
	tj_append(t, 2, "1", "p2.1", 40, 0, NULL);
	tj_append(t, 0, "1", "p0.2", 50, 60, "fail");
	tj_text(t->m1, "a-1", "p0.1\n");
	tj_expect_valid(t, 1);
}

static void test_good_concurrent_appends_any_order(void **state)
{
	struct tj *t = *state;

	tj_append(t, 0, "1", "p0.1", 10, 40, "ok");
	tj_append(t, 1, "1", "p1.1", 20, 30, "ok");
	tj_append(t, 1, "1", "p1.2", 35, 50, "ok"); /* concurrent with p0.1 too */
	tj_text(t->m1, "a-1", "p1.1\np1.2\np0.1\n");
	tj_expect_valid(t, 1);
}

static void test_good_info_creates(void **state)
{
	struct tj *t = *state;

	tj_create(t, 0, "p0.1", 10, 20, "info");
	tj_create(t, 1, "p1.1", 10, 20, "info");
	tj_create(t, 2, "p2.1", 10, 0, NULL);
	tj_create(t, 3, "p3.1", 10, 20, "fail");
	tj_created(t->m1, "p1.1", jepsen_create_size("p1.1") / 3); /* the write was cut short */
	tj_created(t->m1, "p2.1", SIZE_MAX);
	tj_expect_valid(t, 1);
}

static void test_good_two_mounts_agree(void **state)
{
	struct tj *t = *state;

	tj_append(t, 0, "1", "p0.1", 10, 20, "ok");
	tj_create(t, 1, "p1.1", 10, 20, "ok");
	tj_text(t->m1, "a-1", "p0.1\n");
	tj_text(t->m2, "a-1", "p0.1\n");
	tj_created(t->m1, "p1.1", SIZE_MAX);
	tj_created(t->m2, "p1.1", SIZE_MAX);
	tj_expect_valid(t, 2);
}

/* ---- Bad histories: registers ---------------------------------------------------------- */

static void test_bad_stale_read(void **state)
{
	struct tj *t = *state;
	char text[512];

	tj_write(t, 0, "1", "p0.1", 10, 20, "ok");
	tj_write(t, 1, "1", "p1.1", 30, 40, "ok");
	tj_read(t, 2, "1", "p0.1", 50, 60);
	tj_register(t->m1, "1", "p1.1");
	tj_expect_only(t, 1, JEPSEN_STALE_READ, 1, text, sizeof(text));
	assert_non_null(strstr(text, "stale read: read of r-1 by p2 returned p0.1"));
}

static void test_bad_stale_read_of_nil(void **state)
{
	struct tj *t = *state;

	tj_write(t, 0, "1", "p0.1", 10, 20, "ok");
	tj_read(t, 1, "1", "nil", 30, 40);
	tj_register(t->m1, "1", "p0.1");
	tj_expect(t, JEPSEN_STALE_READ);
}

static void test_bad_read_unwritten(void **state)
{
	struct tj *t = *state;

	tj_write(t, 0, "1", "p0.1", 10, 20, "ok");
	tj_read(t, 1, "1", "p9.9", 30, 40);
	tj_register(t->m1, "1", "p0.1");
	tj_expect(t, JEPSEN_READ_UNWRITTEN);
}

static void test_bad_read_of_other_key(void **state)
{
	struct tj *t = *state;
	char text[512];

	tj_write(t, 0, "2", "p0.1", 10, 20, "ok");
	tj_read(t, 1, "1", "p0.1", 30, 40);
	tj_register(t->m1, "2", "p0.1");
	tj_expect_only(t, 1, JEPSEN_READ_UNWRITTEN, 1, text, sizeof(text));
	assert_non_null(strstr(text, "written to r-2"));
}

static void test_bad_read_failed_write(void **state)
{
	struct tj *t = *state;

	tj_write(t, 0, "1", "p0.1", 10, 20, "fail");
	tj_read(t, 1, "1", "p0.1", 30, 40);
	tj_expect(t, JEPSEN_READ_FAILED_WRITE);
}

static void test_bad_read_from_future(void **state)
{
	struct tj *t = *state;

	tj_read(t, 1, "1", "p0.1", 10, 20);
	tj_write(t, 0, "1", "p0.1", 30, 40, "ok");
	tj_register(t->m1, "1", "p0.1");
	tj_expect(t, JEPSEN_NONLINEARIZABLE);
}

static void test_bad_nonlinearizable(void **state)
{
	struct tj *t = *state;

	/* Concurrent writes, then reads that see A, B, A: no single order of the writes. */
	tj_write(t, 0, "1", "p0.1", 10, 20, "ok");
	tj_write(t, 1, "1", "p1.1", 10, 20, "ok");
	tj_read(t, 2, "1", "p0.1", 30, 40);
	tj_read(t, 2, "1", "p1.1", 50, 60);
	tj_read(t, 2, "1", "p0.1", 70, 80);
	tj_register(t->m1, "1", "p0.1");
	tj_expect(t, JEPSEN_NONLINEARIZABLE);
}

static void test_bad_torn_read(void **state)
{
	struct tj *t = *state;

	tj_write(t, 0, "1", "p0.1", 10, 20, "ok");
	tj_read(t, 1, "1", "!torn:7", 30, 40);
	tj_register(t->m1, "1", "p0.1");
	tj_expect(t, JEPSEN_TORN_READ);
}

static void test_bad_final_register(void **state)
{
	struct tj *t = *state;

	tj_write(t, 0, "1", "p0.1", 10, 20, "ok");
	tj_write(t, 1, "1", "p1.1", 30, 40, "ok");
	tj_register(t->m1, "1", "p0.1");
	tj_expect(t, JEPSEN_FINAL_REGISTER);
}

static void test_bad_final_register_search(void **state)
{
	struct tj *t = *state;

	/* Concurrent writes, a later read of B: only the search sees that A cannot be last. */
	tj_write(t, 0, "1", "p0.1", 10, 20, "ok");
	tj_write(t, 1, "1", "p1.1", 10, 20, "ok");
	tj_read(t, 2, "1", "p1.1", 30, 40);
	tj_register(t->m1, "1", "p0.1");
	tj_expect(t, JEPSEN_FINAL_REGISTER);
}

static void test_bad_final_register_lost(void **state)
{
	struct tj *t = *state;

	tj_write(t, 0, "1", "p0.1", 10, 20, "ok");
	tj_expect(t, JEPSEN_FINAL_REGISTER); /* r-1 absent: nil after an ok write */
}

static void test_bad_final_register_torn(void **state)
{
	struct tj *t = *state;

	tj_write(t, 0, "1", "p0.1", 10, 20, "ok");
	tj_text(t->m1, "r-1", "p0.1\n");
	tj_expect(t, JEPSEN_FINAL_REGISTER);
}

/* ---- Bad histories: appends ----------------------------------------------------------- */

static void test_bad_lost_append(void **state)
{
	struct tj *t = *state;
	char text[512];

	tj_append(t, 0, "2", "p0.1", 10, 20, "ok");
	tj_append(t, 1, "2", "p1.17", 30, 40, "ok");
	tj_text(t->m1, "a-2", "p0.1\n");
	tj_expect_only(t, 1, JEPSEN_LOST_APPEND, 1, text, sizeof(text));
	assert_non_null(strstr(text, "lost append p1.17 in a-2"));
}

static void test_bad_duplicate_append(void **state)
{
	struct tj *t = *state;

	tj_append(t, 0, "1", "p0.1", 10, 20, "info"); /* a retried request, applied twice */
	tj_append(t, 0, "1", "p0.2", 30, 40, "ok");
	tj_text(t->m1, "a-1", "p0.1\np0.1\np0.2\n");
	tj_expect(t, JEPSEN_DUPLICATE_APPEND);
}

static void test_bad_phantom_record(void **state)
{
	struct tj *t = *state;

	tj_append(t, 0, "1", "p0.1", 10, 20, "ok");
	tj_append(t, 0, "2", "p0.2", 30, 40, "ok");
	tj_text(t->m1, "a-1", "p0.1\np7.7\np0.2\n");
	tj_text(t->m1, "a-2", "p0.2\n");
	tj_expect_only(t, 1, JEPSEN_PHANTOM_RECORD, 2, NULL, 0); /* never invoked; invoked on a-2 */
}

static void test_bad_failed_append_present(void **state)
{
	struct tj *t = *state;

	tj_append(t, 0, "1", "p0.1", 10, 20, "fail");
	tj_text(t->m1, "a-1", "p0.1\n");
	tj_expect(t, JEPSEN_FAILED_APPEND_PRESENT);
}

static void test_bad_malformed_lines(void **state)
{
	struct tj *t = *state;

	tj_append(t, 0, "1", "p0.1", 10, 20, "ok");
	tj_append(t, 0, "1", "p0.2", 30, 40, "info");
	tj_text(t->m1, "a-1", "p0.1\n\np0 1\np0.");
	tj_expect_only(t, 1, JEPSEN_MALFORMED_LINE, 3, NULL, 0);
}

static void test_bad_proc_order(void **state)
{
	struct tj *t = *state;

	tj_append(t, 0, "1", "p0.1", 10, 20, "ok");
	tj_append(t, 0, "1", "p0.2", 30, 40, "ok");
	tj_text(t->m1, "a-1", "p0.2\np0.1\n");
	tj_expect(t, JEPSEN_PROC_ORDER);
}

static void test_bad_realtime_order(void **state)
{
	struct tj *t = *state;

	tj_append(t, 0, "1", "p0.1", 10, 20, "ok");
	tj_append(t, 1, "1", "p1.1", 30, 40, "ok");
	tj_append(t, 2, "1", "p2.1", 30, 0, NULL); /* info: may land anywhere after 30 */
	tj_text(t->m1, "a-1", "p1.1\np0.1\np2.1\n");
	tj_expect(t, JEPSEN_REALTIME_ORDER);
}

static void test_bad_realtime_order_behind_own_proc(void **state)
{
	struct tj *t = *state;
	struct jepsen_report r;

	/* p1.2's witness farthest in the file is its own process's p1.1; p0.1 still counts. */
	tj_append(t, 0, "1", "p0.1", 10, 20, "ok");
	tj_append(t, 1, "1", "p1.1", 10, 25, "ok");
	tj_append(t, 1, "1", "p1.2", 30, 40, "ok");
	tj_text(t->m1, "a-1", "p1.2\np0.1\np1.1\n");
	tj_check(t, 1, &r);
	assert_int_equal(jepsen_report_count(&r, JEPSEN_PROC_ORDER), 1);
	assert_int_equal(jepsen_report_count(&r, JEPSEN_REALTIME_ORDER), 1);
	assert_int_equal(r.anomaly_count, 2);
	jepsen_report_free(&r);
}

/* ---- Bad histories: creates and the tree ---------------------------------------------------- */

static void test_bad_create_missing(void **state)
{
	struct tj *t = *state;

	tj_create(t, 0, "p0.1", 10, 20, "ok");
	tj_expect(t, JEPSEN_CREATE_MISSING);
}

static void test_bad_create_content(void **state)
{
	struct tj *t = *state;
	size_t size = jepsen_create_size("p0.1");
	uint8_t *buf = malloc(size);

	assert_true(size > 0);
	assert_non_null(buf);
	tj_create(t, 0, "p0.1", 10, 20, "ok");
	jepsen_create_fill("p0.1", buf, size);
	buf[size / 2] ^= 1;
	tj_file(t->m1, "c-p0.1", buf, size);
	free(buf);
	tj_expect(t, JEPSEN_CREATE_CONTENT);
}

static void test_bad_create_short(void **state)
{
	struct tj *t = *state;

	tj_create(t, 0, "p0.1", 10, 20, "ok");
	tj_created(t->m1, "p0.1", jepsen_create_size("p0.1") - 1);
	tj_expect(t, JEPSEN_CREATE_CONTENT);
}

static void test_bad_info_create_too_long(void **state)
{
	struct tj *t = *state;
	size_t size = jepsen_create_size("p0.1");
	uint8_t *buf = malloc(size + 1);

	assert_non_null(buf);
	tj_create(t, 0, "p0.1", 10, 20, "info");
	jepsen_create_fill("p0.1", buf, size);
	buf[size] = 'x';
	tj_file(t->m1, "c-p0.1", buf, size + 1);
	free(buf);
	tj_expect(t, JEPSEN_CREATE_CONTENT);
}

static void test_bad_create_failed_present(void **state)
{
	struct tj *t = *state;

	tj_create(t, 0, "p0.1", 10, 20, "fail");
	tj_created(t->m1, "p0.1", 0);
	tj_expect(t, JEPSEN_CREATE_FAILED_PRESENT);
}

static void test_bad_phantom_create(void **state)
{
	struct tj *t = *state;

	tj_create(t, 0, "p0.1", 10, 20, "ok");
	tj_created(t->m1, "p0.1", SIZE_MAX);
	tj_created(t->m1, "p2.5", SIZE_MAX);
	tj_expect(t, JEPSEN_PHANTOM_CREATE);
}

static void test_bad_stray_files(void **state)
{
	struct tj *t = *state;
	char path[PATH_MAX];

	tj_append(t, 0, "1", "p0.1", 10, 20, "ok");
	tj_text(t->m1, "a-1", "p0.1\n");
	tj_text(t->m1, "junk", "x");
	tj_text(t->m1, "a-9", ""); /* no append to key 9 */
	tj_text(t->m1, "r-1", ""); /* no write to key 1 */
	snprintf(path, sizeof(path), "%s/%s/c-dir", t->m1, JEPSEN_DIR);
	assert_int_equal(mkdir(path, 0755), 0);
	tj_expect_only(t, 1, JEPSEN_STRAY_FILE, 4, NULL, 0);
}

static void test_bad_mounts_differ(void **state)
{
	struct tj *t = *state;
	char text[512];

	tj_append(t, 0, "1", "p0.1", 10, 20, "ok");
	tj_create(t, 1, "p2.5", 10, 20, "info");
	tj_text(t->m1, "a-1", "p0.1\n");
	tj_text(t->m2, "a-1", "p0.1\n");
	tj_created(t->m1, "p2.5", 1); /* an info create: absent or a prefix is fine on its own */
	tj_expect_only(t, 2, JEPSEN_MOUNTS_DIFFER, 1, text, sizeof(text));
	assert_non_null(strstr(text, "mounts differ: c-p2.5"));
}

static void test_bad_mounts_differ_bytes(void **state)
{
	struct tj *t = *state;

	tj_append(t, 0, "1", "p0.1", 10, 20, "ok");
	tj_append(t, 0, "1", "p0.2", 30, 40, "ok");
	tj_text(t->m1, "a-1", "p0.1\np0.2\n");
	tj_text(t->m2, "a-1", "p0.2\np0.1\n"); /* same size, other bytes */
	tj_expect_only(t, 2, JEPSEN_MOUNTS_DIFFER, 1, NULL, 0);
}

/* ---- Generated register histories ---------------------------------------------------- */

#define TG_PROCS 8
#define TG_OPS   600

struct tg_op {
	unsigned proc;
	uint64_t inv, lin, done;
	bool is_write;
	bool info;    /* a write that timed out */
	bool applied; /* for an info write: whether it took effect */
	char value[32];
};

static uint64_t tg_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int tg_by_lin(const void *a, const void *b)
{
	const struct tg_op *x = *(struct tg_op *const *)a, *y = *(struct tg_op *const *)b;

	return x->lin < y->lin ? -1 : x->lin > y->lin;
}

/*
 * A register history as a linearizable register would give it: each op takes effect at
 * a distinct instant inside its interval (an info write maybe never). Returns the final value.
 */
static void tg_generate(struct tg_op *ops, uint64_t seed, char final[32])
{
	struct tg_op *by_lin[TG_OPS];
	uint64_t cursor[TG_PROCS] = { 0 };
	char current[32] = "nil";

	for (size_t i = 0; i < TG_OPS; i++) {
		struct tg_op *op = &ops[i];
		unsigned p = (unsigned)(i % TG_PROCS);

		op->proc = p;
		op->inv = cursor[p] + 1 + tg_rand(&seed) % 40;
		op->lin = op->inv + 1 + tg_rand(&seed) % 60;
		op->done = op->lin + 1 + tg_rand(&seed) % 60;
		op->lin = op->lin * TG_PROCS + p; /* distinct instants */
		op->inv *= TG_PROCS;
		op->done *= TG_PROCS;
		cursor[p] = op->done / TG_PROCS;
		op->is_write = tg_rand(&seed) % 2;
		op->info = op->is_write && tg_rand(&seed) % 10 == 0;
		op->applied = !op->info || tg_rand(&seed) % 2;
		if (op->is_write)
			snprintf(op->value, sizeof(op->value), "p%u.%zu", p, i);
		by_lin[i] = op;
	}
	qsort(by_lin, TG_OPS, sizeof(*by_lin), tg_by_lin);
	for (size_t i = 0; i < TG_OPS; i++) {
		struct tg_op *op = by_lin[i];

		if (op->is_write && op->applied)
			strcpy(current, op->value);
		else if (!op->is_write)
			strcpy(op->value, current);
	}
	strcpy(final, current);
}

static void tg_write_history(struct tj *t, const struct tg_op *ops)
{
	for (size_t i = 0; i < TG_OPS; i++) {
		const struct tg_op *op = &ops[i];

		if (op->is_write)
			tj_write(t, op->proc, "1", op->value, op->inv, op->done, op->info ? "info" : "ok");
		else
			tj_read(t, op->proc, "1", op->value, op->inv, op->done);
	}
}

static void test_generated_histories_valid(void **state)
{
	struct tj *t = *state;
	static struct tg_op ops[TG_OPS];
	char final[32];

	for (uint64_t seed = 1; seed <= 5; seed++) {
		tj_rm_rf(t->hist);
		tj_rm_rf(t->m1);
		assert_int_equal(mkdir(t->hist, 0755), 0);
		assert_int_equal(mkdir(t->m1, 0755), 0);
		tg_generate(ops, seed, final);
		tg_write_history(t, ops);
		if (strcmp(final, "nil") != 0)
			tj_register(t->m1, "1", final);
		tj_expect_valid(t, 1);
	}
}

static void test_generated_history_stale(void **state)
{
	struct tj *t = *state;
	static struct tg_op ops[TG_OPS];
	const char *first = NULL;
	char final[32];
	struct jepsen_report r;

	tg_generate(ops, 7, final);
	for (size_t i = 0; i < TG_OPS && !first; i++)
		if (ops[i].is_write && !ops[i].info)
			first = ops[i].value;
	assert_non_null(first);
	for (size_t i = TG_OPS; i-- > 0;)
		if (!ops[i].is_write && strcmp(ops[i].value, first) != 0) {
			strcpy(ops[i].value, first); /* the last read sees the first write again */
			break;
		}
	tg_write_history(t, ops);
	if (strcmp(final, "nil") != 0)
		tj_register(t->m1, "1", final);
	tj_check(t, 1, &r);
	assert_int_equal(r.anomaly_count, 1);
	assert_true(r.anomalies[0].kind == JEPSEN_STALE_READ || r.anomalies[0].kind == JEPSEN_NONLINEARIZABLE);
	jepsen_report_free(&r);
}

#define TJ_TEST(f) cmocka_unit_test_setup_teardown(f, tj_setup, tj_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_round_trip),
		cmocka_unit_test(test_event_parse_rejects),
		cmocka_unit_test(test_register_record),
		cmocka_unit_test(test_create_content),
		TJ_TEST(test_history_truncated_line),
		TJ_TEST(test_history_completion_without_invoke),
		TJ_TEST(test_history_invoke_while_running),
		TJ_TEST(test_history_mismatched_completion),
		TJ_TEST(test_history_duplicate_value),
		TJ_TEST(test_history_bad_line),
		TJ_TEST(test_history_no_files),
		TJ_TEST(test_good_sequential),
		TJ_TEST(test_good_concurrent_writes_reads_either),
		TJ_TEST(test_good_info_write_took_effect),
		TJ_TEST(test_good_info_write_never_took_effect),
		TJ_TEST(test_good_failed_write_on_empty_register),
		TJ_TEST(test_good_info_append_present_once),
		TJ_TEST(test_good_info_append_absent),
		TJ_TEST(test_good_concurrent_appends_any_order),
		TJ_TEST(test_good_info_creates),
		TJ_TEST(test_good_two_mounts_agree),
		TJ_TEST(test_bad_stale_read),
		TJ_TEST(test_bad_stale_read_of_nil),
		TJ_TEST(test_bad_read_unwritten),
		TJ_TEST(test_bad_read_of_other_key),
		TJ_TEST(test_bad_read_failed_write),
		TJ_TEST(test_bad_read_from_future),
		TJ_TEST(test_bad_nonlinearizable),
		TJ_TEST(test_bad_torn_read),
		TJ_TEST(test_bad_final_register),
		TJ_TEST(test_bad_final_register_search),
		TJ_TEST(test_bad_final_register_lost),
		TJ_TEST(test_bad_final_register_torn),
		TJ_TEST(test_bad_lost_append),
		TJ_TEST(test_bad_duplicate_append),
		TJ_TEST(test_bad_phantom_record),
		TJ_TEST(test_bad_failed_append_present),
		TJ_TEST(test_bad_malformed_lines),
		TJ_TEST(test_bad_proc_order),
		TJ_TEST(test_bad_realtime_order),
		TJ_TEST(test_bad_realtime_order_behind_own_proc),
		TJ_TEST(test_bad_create_missing),
		TJ_TEST(test_bad_create_content),
		TJ_TEST(test_bad_create_short),
		TJ_TEST(test_bad_info_create_too_long),
		TJ_TEST(test_bad_create_failed_present),
		TJ_TEST(test_bad_phantom_create),
		TJ_TEST(test_bad_stray_files),
		TJ_TEST(test_bad_mounts_differ),
		TJ_TEST(test_bad_mounts_differ_bytes),
		TJ_TEST(test_generated_histories_valid),
		TJ_TEST(test_generated_history_stale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
