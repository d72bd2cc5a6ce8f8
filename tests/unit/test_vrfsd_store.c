/*
 * test_vrfsd_store.c — the body cache on the driver's store side (replication/vrfsd_store.c):
 * entries kept aside (VR_WRITE_STAGE) in the staging table, LOG and INSTALL entries written
 * without their bodies and resolved from an earlier copy, vrfsd_store_read_body (including
 * writes of the group still open), and the headers-only image with its checks.
 *
 * Fixture: one data directory per test under /tmp, a formatted store (view 0, empty log);
 * entries are built hash-chained as the core builds them (vr_entry_checksum).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replication/vr.h"
#include "replication/vrfsd_store.h"
#include "tests/unit/counting_vfs.h"

#define FX_CLIENTS 4 /* client table size of the images */

static const struct vrfsd_identity fx_id = { .cluster_id = 0x5eed, .replica = 1, .replica_count = 3 };

struct fx {
	char dir[64];
	char db[96];
	struct vrfsd_store *s;
};

static void fx_open(struct fx *fx)
{
	char why[VRFSD_WHY_SIZE];

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/vrfs-test-vrfsd-store.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->db, sizeof(fx->db), "%s/%s", fx->dir, VRFSD_STORE_FILE);
	assert_int_equal(vrfsd_store_open(&fx->s, fx->dir, &fx_id, why, sizeof(why)), 1);
	assert_int_equal(vrfsd_store_format(fx->s), 0);
}

static void fx_close(struct fx *fx)
{
	vrfsd_store_close(fx->s);
	fx->s = NULL;
}

static void fx_reopen(struct fx *fx)
{
	char why[VRFSD_WHY_SIZE];

	fx_close(fx);
	assert_int_equal(vrfsd_store_open(&fx->s, fx->dir, &fx_id, why, sizeof(why)), 0);
}

static void fx_done(struct fx *fx)
{
	char cmd[128];

	fx_close(fx);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
}

/* Another connection to the database file, as an operator or a failing disk would change it.
 * The store must be closed meanwhile. */
static void fx_sql(struct fx *fx, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* Flips one byte, at offset at, of the log row of op: a disk that lost a bit. */
static void fx_row_flip(struct fx *fx, uint64_t op, int at)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	uint8_t row[256];

	assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT entry FROM vr_log WHERE op = ?1", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, (int64_t)op);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int len = sqlite3_column_bytes(st, 0);
	assert_true(len > at && len <= (int)sizeof(row));
	memcpy(row, sqlite3_column_blob(st, 0), (size_t)len);
	sqlite3_finalize(st);
	row[at] ^= 0x01;
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE vr_log SET entry = ?1 WHERE op = ?2", -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_blob(st, 1, row, len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)op);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* An entry of op in view, chained onto prev (NULL: the first), with body text (borrowed). */
static struct vr_entry fx_entry(uint64_t op, uint64_t view, const struct vr_entry *prev, uint8_t kind, const char *body)
{
	struct vr_entry e = {
		.op = op,
		.view = view,
		.client_id = 40 + op,
		.session = 1,
		.request = op,
		.timestamp = 1000 * op,
		.parent = prev ? prev->checksum : 0,
		.kind = kind,
		.body_len = (uint32_t)strlen(body),
		.body = (const uint8_t *)body,
	};
	e.checksum = vr_entry_checksum(&e);
	return e;
}

/* The same entry without its body, as a core with a body cache gives it to persist. */
static struct vr_entry fx_headless(struct vr_entry e)
{
	e.body = NULL;
	return e;
}

static int fx_persist(struct fx *fx, uint8_t kind, uint64_t op, const struct vr_entry *entries, uint32_t count,
                      uint64_t view)
{
	struct vr_write w = {
		.kind = kind,
		.entries = entries,
		.entry_count = count,
		.op = op,
		.meta = { .view = view, .last_normal_view = view, .status = VR_STATUS_NORMAL },
	};

	return vrfsd_store_persist(fx->s, &w);
}

/* read_body finds e's body and it is e's. */
static void fx_body_is(struct fx *fx, const struct vr_entry *e)
{
	uint8_t body[64] = { 0 };

	assert_true(e->body_len <= sizeof(body));
	assert_int_equal(vrfsd_store_read_body(fx->s, e->op, e->checksum, body, e->body_len), 0);
	assert_memory_equal(body, e->body, e->body_len);
}

static int fx_body_rc(struct fx *fx, const struct vr_entry *e)
{
	uint8_t body[64];

	assert_true(e->body_len <= sizeof(body));
	return vrfsd_store_read_body(fx->s, e->op, e->checksum, body, e->body_len);
}

/* The image holds exactly entries[0..count) (ops 1..count), bodies included unless headers_only. */
static void fx_image_is(struct fx *fx, bool headers_only, const struct vr_entry *entries, uint32_t count)
{
	char why[VRFSD_WHY_SIZE];
	struct vr_durable d;

	assert_int_equal(vrfsd_store_image(fx->s, FX_CLIENTS, headers_only, &d, why, sizeof(why)), 0);
	assert_int_equal(d.first, 1);
	assert_int_equal(d.op, count);
	for (uint32_t i = 0; i < count; i++) {
		const struct vr_entry *got = &d.log[i], *want = &entries[i];
		assert_int_equal(got->op, want->op);
		assert_true(got->checksum == want->checksum);
		assert_true(got->parent == want->parent);
		assert_int_equal(got->kind, want->kind);
		assert_int_equal(got->body_len, want->body_len);
		if (headers_only && want->kind != VR_KIND_RECONFIGURE) {
			assert_null(got->body);
		} else {
			assert_non_null(got->body);
			assert_memory_equal(got->body, want->body, want->body_len);
		}
	}
	vrfsd_store_image_free(&d);
}

/* A view change with a body cache: the candidate's entries are staged as they arrive, then
 * installed without their bodies; the store takes them from the staging table. */
static void test_stage_then_install(void **state)
{
	struct fx fx;
	struct vr_entry a[3], b[4], bh[3];

	(void)state;
	fx_open(&fx);
	a[0] = fx_entry(1, 1, NULL, VR_KIND_OP, "a1");
	a[1] = fx_entry(2, 1, &a[0], VR_KIND_OP, "a2");
	a[2] = fx_entry(3, 1, &a[1], VR_KIND_OP, "a3");
	assert_int_equal(fx_persist(&fx, VR_WRITE_LOG, 0, a, 3, 1), 0);
	assert_int_equal(vrfsd_store_flush(fx.s), 0);

	/* The candidate log of view 2: a1, then b2..b4. */
	b[0] = a[0];
	b[1] = fx_entry(2, 2, &b[0], VR_KIND_OP, "bee two");
	b[2] = fx_entry(3, 2, &b[1], VR_KIND_OP, "bee three");
	b[3] = fx_entry(4, 2, &b[2], VR_KIND_OP, "bee four");
	assert_int_equal(fx_persist(&fx, VR_WRITE_STAGE, 1, &b[1], 2, 0), 0);
	assert_int_equal(fx_persist(&fx, VR_WRITE_STAGE, 0, &b[3], 1, 0), 0); /* a later part */
	assert_int_equal(vrfsd_store_flush(fx.s), 0);

	for (int i = 0; i < 3; i++)
		bh[i] = fx_headless(b[i + 1]);
	assert_int_equal(fx_persist(&fx, VR_WRITE_INSTALL, 1, bh, 3, 2), 0);
	assert_int_equal(vrfsd_store_flush(fx.s), 0);

	for (int i = 0; i < 4; i++)
		fx_body_is(&fx, &b[i]);
	assert_int_equal(fx_body_rc(&fx, &a[1]), -ENOENT); /* replaced: no row has it any more */
	fx_image_is(&fx, false, b, 4);
	fx_image_is(&fx, true, b, 4);
	fx_done(&fx);
}

/* read_body runs on the connection that holds the open group: it sees what the group wrote. */
static void test_read_body_sees_open_group(void **state)
{
	struct fx fx;
	struct vr_entry a[2], b;

	(void)state;
	fx_open(&fx);
	a[0] = fx_entry(1, 1, NULL, VR_KIND_OP, "first");
	a[1] = fx_entry(2, 1, &a[0], VR_KIND_OP, "second");
	assert_int_equal(fx_persist(&fx, VR_WRITE_LOG, 0, a, 2, 1), 0);
	b = fx_entry(3, 2, &a[1], VR_KIND_OP, "staged");
	assert_int_equal(fx_persist(&fx, VR_WRITE_STAGE, 1, &b, 1, 0), 0);
	assert_true(vrfsd_store_pending(fx.s));

	fx_body_is(&fx, &a[0]);
	fx_body_is(&fx, &a[1]);
	fx_body_is(&fx, &b);
	/* The checksum and the length decide: another entry of the op is not a copy. */
	uint8_t body[16];
	assert_int_equal(vrfsd_store_read_body(fx.s, 2, a[1].checksum + 1, body, a[1].body_len), -ENOENT);
	assert_int_equal(vrfsd_store_read_body(fx.s, 2, a[1].checksum, body, a[1].body_len - 1), -ENOENT);
	assert_int_equal(vrfsd_store_read_body(fx.s, 9, a[1].checksum, body, a[1].body_len), -ENOENT);
	assert_true(vrfsd_store_pending(fx.s)); /* reads changed nothing of the group */
	assert_int_equal(vrfsd_store_flush(fx.s), 0);
	fx_body_is(&fx, &a[1]);
	fx_done(&fx);
}

/* STAGE op 1 starts a new candidate: what was staged before is gone, and an install that
 * needs it fails (the caller stops) without changing the durable log. */
static void test_stage_fresh_forgets(void **state)
{
	struct fx fx;
	struct vr_entry a[1], b[3], c[3];

	(void)state;
	fx_open(&fx);
	a[0] = fx_entry(1, 1, NULL, VR_KIND_OP, "a1");
	assert_int_equal(fx_persist(&fx, VR_WRITE_LOG, 0, a, 1, 1), 0);
	b[0] = fx_entry(2, 2, &a[0], VR_KIND_OP, "b2");
	b[1] = fx_entry(3, 2, &b[0], VR_KIND_OP, "b3");
	assert_int_equal(fx_persist(&fx, VR_WRITE_STAGE, 1, b, 2, 0), 0);
	assert_int_equal(vrfsd_store_flush(fx.s), 0);

	c[0] = fx_entry(2, 3, &a[0], VR_KIND_OP, "c2");
	c[1] = fx_entry(3, 3, &c[0], VR_KIND_OP, "c3");
	assert_int_equal(fx_persist(&fx, VR_WRITE_STAGE, 1, &c[0], 1, 0), 0);
	assert_int_equal(fx_body_rc(&fx, &b[0]), -ENOENT);
	assert_int_equal(fx_body_rc(&fx, &b[1]), -ENOENT); /* no entry of op 3 replaced it: forgotten */
	assert_int_equal(fx_persist(&fx, VR_WRITE_STAGE, 0, &c[1], 1, 0), 0);
	fx_body_is(&fx, &c[0]); /* op 0: added to what is kept */
	fx_body_is(&fx, &c[1]);
	assert_int_equal(vrfsd_store_flush(fx.s), 0);

	struct vr_entry bh[2] = { fx_headless(b[0]), fx_headless(b[1]) };
	assert_int_equal(fx_persist(&fx, VR_WRITE_INSTALL, 1, bh, 2, 2), -EIO);
	/* The caller stops on -EIO and never commits the group: a restart finds the log as it was. */
	fx_reopen(&fx);
	fx_image_is(&fx, false, a, 1);
	fx_done(&fx);
}

/* The copy of an entry written without its body may be the log row that the write itself
 * replaces or removes: it is read before that. */
static void test_copy_in_replaced_rows(void **state)
{
	struct fx fx;
	struct vr_entry a[4], x[3], y[3];

	(void)state;
	fx_open(&fx);
	a[0] = fx_entry(1, 1, NULL, VR_KIND_OP, "a1");
	a[1] = fx_entry(2, 1, &a[0], VR_KIND_OP, "a2");
	a[2] = fx_entry(3, 1, &a[1], VR_KIND_OP, "a3");
	a[3] = fx_entry(4, 1, &a[2], VR_KIND_OP, "a4");
	assert_int_equal(fx_persist(&fx, VR_WRITE_LOG, 0, a, 4, 1), 0);
	assert_int_equal(vrfsd_store_flush(fx.s), 0);

	/* Another entry of op 2 is staged: the checksum sends the lookup on to the log. */
	struct vr_entry other = fx_entry(2, 2, &a[0], VR_KIND_OP, "other");
	assert_int_equal(fx_persist(&fx, VR_WRITE_STAGE, 1, &other, 1, 0), 0);

	/* Install of view 2 above op 1: a2 and a3 without bodies (in rows 2 and 3, which the
	 * install replaces), then a new op 4 with its body; row 4 of view 1 goes. */
	x[0] = fx_headless(a[1]);
	x[1] = fx_headless(a[2]);
	x[2] = fx_entry(4, 2, &a[2], VR_KIND_OP, "x4");
	assert_int_equal(fx_persist(&fx, VR_WRITE_INSTALL, 1, x, 3, 2), 0);
	assert_int_equal(vrfsd_store_flush(fx.s), 0);
	struct vr_entry want[4] = { a[0], a[1], a[2], x[2] };
	fx_image_is(&fx, false, want, 4);
	fx_image_is(&fx, true, want, 4);
	assert_int_equal(fx_body_rc(&fx, &a[3]), -ENOENT);

	/* A LOG write from op 3 on: a3 without its body, from its own row; then a new op 4. */
	y[0] = fx_headless(a[2]);
	y[1] = fx_entry(4, 3, &a[2], VR_KIND_OP, "y4");
	assert_int_equal(fx_persist(&fx, VR_WRITE_LOG, 0, y, 2, 0), 0);
	assert_int_equal(vrfsd_store_flush(fx.s), 0);
	want[3] = y[1];
	fx_image_is(&fx, false, want, 4);
	fx_body_is(&fx, &a[2]);
	fx_body_is(&fx, &y[1]);
	fx_done(&fx);
}

/* The headers-only image: bodies stay on disk but a RECONFIGURE's; the checksums and the chain
 * are checked while the rows are read, since the core cannot check them without the bodies. */
static void test_headers_only_image(void **state)
{
	struct fx fx;
	struct vr_entry a[3];
	char why[VRFSD_WHY_SIZE];
	struct vr_durable d;

	(void)state;
	fx_open(&fx);
	a[0] = fx_entry(1, 1, NULL, VR_KIND_REGISTER, "");
	a[1] = fx_entry(2, 1, &a[0], VR_KIND_RECONFIGURE, "the next configuration");
	a[2] = fx_entry(3, 1, &a[1], VR_KIND_OP, "an op");
	assert_int_equal(fx_persist(&fx, VR_WRITE_LOG, 0, a, 3, 1), 0);
	assert_int_equal(vrfsd_store_flush(fx.s), 0);
	fx_image_is(&fx, true, a, 3);
	fx_image_is(&fx, false, a, 3);

	/* A bit of op 3's body lost on disk: the headers-only image refuses the log. The full
	 * image leaves that check to vr_init; read_body refuses the body too. */
	fx_close(&fx);
	fx_row_flip(&fx, 3, 69);
	fx_reopen(&fx);
	assert_int_equal(vrfsd_store_image(fx.s, FX_CLIENTS, true, &d, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "the replica's log is damaged (op 3)");
	assert_int_equal(fx_body_rc(&fx, &a[2]), -EIO);
	assert_int_equal(vrfsd_store_image(fx.s, FX_CLIENTS, false, &d, why, sizeof(why)), 0);
	vrfsd_store_image_free(&d);

	/* An entry whose checksum field is wrong (the store writes what it is given). */
	struct vr_entry bad = a[2];
	bad.checksum++;
	assert_int_equal(fx_persist(&fx, VR_WRITE_LOG, 0, &bad, 1, 0), 0);
	assert_int_equal(vrfsd_store_flush(fx.s), 0);
	assert_int_equal(vrfsd_store_image(fx.s, FX_CLIENTS, true, &d, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "the replica's log is damaged (op 3)");

	/* Each entry sound alone, but op 2 does not chain onto op 1. */
	struct vr_entry stray = fx_entry(2, 1, &a[2], VR_KIND_OP, "stray");
	assert_int_equal(fx_persist(&fx, VR_WRITE_INSTALL, 1, &stray, 1, 1), 0);
	assert_int_equal(vrfsd_store_flush(fx.s), 0);
	assert_int_equal(vrfsd_store_image(fx.s, FX_CLIENTS, true, &d, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "the replica's log is damaged (op 2)");
	fx_done(&fx);
}

/* Staged entries do not outlive the store's opening; a store written before the staging
 * table existed gets it. */
static void test_reopen_empties_stage(void **state)
{
	struct fx fx;
	struct vr_entry a[1], b;

	(void)state;
	fx_open(&fx);
	a[0] = fx_entry(1, 1, NULL, VR_KIND_OP, "a1");
	b = fx_entry(2, 1, &a[0], VR_KIND_OP, "b2");
	assert_int_equal(fx_persist(&fx, VR_WRITE_LOG, 0, a, 1, 1), 0);
	assert_int_equal(fx_persist(&fx, VR_WRITE_STAGE, 1, &b, 1, 0), 0);
	assert_int_equal(vrfsd_store_flush(fx.s), 0);
	fx_body_is(&fx, &b);
	fx_reopen(&fx);
	assert_int_equal(fx_body_rc(&fx, &b), -ENOENT);
	fx_body_is(&fx, &a[0]);

	fx_close(&fx);
	fx_sql(&fx, "DROP TABLE vr_stage");
	fx_reopen(&fx);
	assert_int_equal(fx_persist(&fx, VR_WRITE_STAGE, 1, &b, 1, 0), 0);
	assert_int_equal(vrfsd_store_flush(fx.s), 0);
	fx_body_is(&fx, &b);
	fx_image_is(&fx, false, a, 1);
	fx_done(&fx);
}

/*
 * A group that only applies committed ops commits without syncing the WAL (their log entries
 * are durable already); a log write in the group, before or after the applies, makes it sync
 * once. Either way the applies are committed (a reopen sees the commit-number).
 */
static void test_apply_only_group_is_lazy(void **state)
{
	struct fx fx;
	struct vr_entry a[3];
	uint8_t result[VR_RESULT_SIZE_MAX];
	uint32_t len;
	char why[VRFSD_WHY_SIZE];
	struct vr_durable d;

	(void)state;
	counting_vfs_install();
	fx_open(&fx);
	a[0] = fx_entry(1, 0, NULL, VR_KIND_OP, "a1");
	a[1] = fx_entry(2, 0, &a[0], VR_KIND_OP, "a2");
	a[2] = fx_entry(3, 0, &a[1], VR_KIND_OP, "a3");
	struct vr_apply ap[3];
	for (int i = 0; i < 3; i++)
		ap[i] = (struct vr_apply){ .entry = &a[i], .upcall = true, .slot = VR_NONE };

	int before = wal_syncs;
	assert_int_equal(fx_persist(&fx, VR_WRITE_LOG, 0, a, 2, 0), 0);
	assert_int_equal(vrfsd_store_flush(fx.s), 0);
	assert_int_equal(wal_syncs - before, 1); /* a log write: durable */

	before = wal_syncs;
	assert_int_equal(vrfsd_store_apply(fx.s, &ap[0], result, &len), 0);
	assert_int_equal(vrfsd_store_flush(fx.s), 0);
	assert_int_equal(wal_syncs - before, 0); /* applies only: no sync */

	before = wal_syncs;
	assert_int_equal(vrfsd_store_apply(fx.s, &ap[1], result, &len), 0);
	assert_int_equal(fx_persist(&fx, VR_WRITE_LOG, 2, &a[2], 1, 0), 0); /* joins the lazy group */
	assert_int_equal(vrfsd_store_flush(fx.s), 0);
	assert_int_equal(wal_syncs - before, 1);

	fx_reopen(&fx);
	assert_int_equal(vrfsd_store_image(fx.s, FX_CLIENTS, false, &d, why, sizeof(why)), 0);
	assert_int_equal(d.commit, 2);
	assert_int_equal(d.op, 3);
	vrfsd_store_image_free(&d);
	fx_done(&fx);
	counting_vfs_remove();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stage_then_install),       cmocka_unit_test(test_read_body_sees_open_group),
		cmocka_unit_test(test_stage_fresh_forgets),      cmocka_unit_test(test_copy_in_replaced_rows),
		cmocka_unit_test(test_headers_only_image),       cmocka_unit_test(test_reopen_empties_stage),
		cmocka_unit_test(test_apply_only_group_is_lazy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
