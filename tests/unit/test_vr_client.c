/*
 * test_vr_client.c — unit tests of the VR client session (replication/vr_client.c,
 * VR-PROTOCOL.md §8): registration, one outstanding request, retries to every
 * replica, reply matching, eviction and following the view. A fake struct
 * vr_client_io records every send and every completion.
 *
 * Cluster in every test: 3 replicas, body_size_max 32, resend_ticks 8.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "replication/vr_client.h"

/* ---- Fixture: a fake io recording every effect ------------------------------------ */

#define FX_EFFECTS_MAX 64
#define FX_BODY_MAX    32
#define FX_RESEND      8

struct fx_send {
	uint8_t to;
	struct vr_message m; /* scalar fields; body copied below */
	uint8_t body[FX_BODY_MAX];
};

struct fx_done {
	uint64_t request;
	uint8_t status;
	uint32_t result_len;
	uint8_t result[VR_RESULT_SIZE_MAX];
	uint64_t op;
};

struct fx {
	struct vr_client c;
	bool initialised;
	uint64_t next_id; /* the next new_client_id */

	struct fx_send sent[FX_EFFECTS_MAX];
	size_t sent_count;
	struct fx_done done[FX_EFFECTS_MAX];
	size_t done_count;
};

static void fx_on_send(void *ctx, uint8_t replica, const struct vr_message *m)
{
	struct fx *fx = ctx;
	struct fx_send *s;

	assert_true(fx->sent_count < FX_EFFECTS_MAX);
	assert_true(m->body_len <= FX_BODY_MAX);
	s = &fx->sent[fx->sent_count++];
	memset(s, 0, sizeof(*s));
	s->to = replica;
	s->m = *m;
	s->m.body = NULL;
	s->m.entries = NULL;
	if (m->body_len)
		memcpy(s->body, m->body, m->body_len);
}

static void fx_on_done(void *ctx, uint64_t request, uint8_t status, const uint8_t *result, uint32_t result_len,
                       uint64_t op)
{
	struct fx *fx = ctx;
	struct fx_done *d;

	assert_true(fx->done_count < FX_EFFECTS_MAX);
	assert_true(result_len <= VR_RESULT_SIZE_MAX);
	d = &fx->done[fx->done_count++];
	memset(d, 0, sizeof(*d));
	d->request = request;
	d->status = status;
	d->result_len = result_len;
	if (result_len)
		memcpy(d->result, result, result_len);
	d->op = op;
}

static uint64_t fx_on_new_client_id(void *ctx)
{
	struct fx *fx = ctx;

	return fx->next_id++;
}

static int fx_setup(void **state)
{
	struct fx *fx = test_calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->next_id = 42;
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;

	if (fx->initialised)
		vr_client_deinit(&fx->c);
	test_free(fx);
	return 0;
}

/* ---- Helpers ----------------------------------------------------------------------- */

static void fx_reset(struct fx *fx)
{
	fx->sent_count = 0;
	fx->done_count = 0;
}

static void fx_init(struct fx *fx)
{
	struct vr_client_io io = {
		.ctx = fx,
		.send = fx_on_send,
		.done = fx_on_done,
		.new_client_id = fx_on_new_client_id,
	};

	assert_int_equal(vr_client_init(&fx->c, 3, 0, FX_BODY_MAX, FX_RESEND, &io), 0);
	fx->initialised = true;
}

static struct vr_message fx_reply(uint64_t client_id, uint64_t request, uint64_t view, uint64_t op, uint8_t status,
                                  const char *body)
{
	struct vr_message m = {
		.command = VR_REPLY,
		.replica = (uint8_t)(view % 3),
		.status = status,
		.view = view,
		.op = op,
		.commit = op,
		.client_id = client_id,
		.request = request,
		.body = (const uint8_t *)body,
		.body_len = body ? (uint32_t)strlen(body) : 0,
	};
	return m;
}

/* A new client whose registration (client 42) was answered with session `session` in view 0. */
static void fx_registered(struct fx *fx, uint64_t session)
{
	fx_init(fx);
	struct vr_message m = fx_reply(42, 0, 0, session, VR_REPLY_OK, NULL);
	vr_client_on_reply(&fx->c, &m);
	assert_true(vr_client_ready(&fx->c));
	fx_reset(fx);
}

static void fx_submit(struct fx *fx, const char *op)
{
	assert_int_equal(vr_client_submit(&fx->c, (const uint8_t *)op, (uint32_t)strlen(op)), 0);
}

/* sent[i] is a REQUEST to `to` with these fields. */
static void fx_assert_request(const struct fx *fx, size_t i, uint8_t to, uint64_t client_id, uint8_t kind,
                              uint64_t session, uint64_t request, const char *body)
{
	size_t len = body ? strlen(body) : 0;

	assert_true(i < fx->sent_count);
	assert_int_equal(fx->sent[i].to, to);
	assert_int_equal(fx->sent[i].m.command, VR_REQUEST);
	assert_int_equal(fx->sent[i].m.client_id, client_id);
	assert_int_equal(fx->sent[i].m.kind, kind);
	assert_int_equal(fx->sent[i].m.session, session);
	assert_int_equal(fx->sent[i].m.request, request);
	assert_int_equal(fx->sent[i].m.body_len, len);
	assert_int_equal(fx->sent[i].m.epoch, 0);
	if (len)
		assert_memory_equal(fx->sent[i].body, body, len);
}

/* ---- Registration ------------------------------------------------------------------ */

static void test_client_init_registers_with_primary_of_view_0(void **state)
{
	struct fx *fx = *state;

	fx_init(fx);
	assert_int_equal(fx->sent_count, 1);
	fx_assert_request(fx, 0, 0, 42, VR_KIND_REGISTER, 0, 0, NULL);
	assert_int_equal(fx->done_count, 0);
	assert_false(vr_client_ready(&fx->c));
	assert_false(fx->c.registered);
	assert_true(fx->c.busy);
	assert_int_equal(fx->c.client_id, 42);
}

static void test_client_init_rejects_bad_arguments(void **state)
{
	struct fx *fx = *state;
	struct vr_client_io io = {
		.ctx = fx, .send = fx_on_send, .done = fx_on_done, .new_client_id = fx_on_new_client_id
	};

	assert_int_equal(vr_client_init(&fx->c, 0, 0, FX_BODY_MAX, FX_RESEND, &io), -EINVAL);
	assert_int_equal(vr_client_init(&fx->c, VR_REPLICAS_MAX + 1, 0, FX_BODY_MAX, FX_RESEND, &io), -EINVAL);
	assert_int_equal(vr_client_init(&fx->c, 3, 0, FX_BODY_MAX, 0, &io), -EINVAL);
	assert_int_equal(fx->sent_count, 0);
}

static void test_client_register_reply_sets_session(void **state)
{
	struct fx *fx = *state;

	fx_init(fx);
	fx_reset(fx);
	struct vr_message m = fx_reply(42, 0, 0, 17, VR_REPLY_OK, NULL);
	vr_client_on_reply(&fx->c, &m);
	assert_true(fx->c.registered);
	assert_false(fx->c.busy);
	assert_true(vr_client_ready(&fx->c));
	assert_int_equal(fx->c.session, 17);
	assert_int_equal(fx->c.last_op, 17);
	assert_int_equal(fx->done_count, 0); /* the registration is not a request of the caller */
	assert_int_equal(fx->sent_count, 0);

	/* The first request carries the session and request-number 1. */
	fx_submit(fx, "mkdir");
	assert_int_equal(fx->sent_count, 1);
	fx_assert_request(fx, 0, 0, 42, VR_KIND_OP, 17, 1, "mkdir");
}

/* ---- Requests ---------------------------------------------------------------------- */

static void test_client_submit_busy_and_too_large(void **state)
{
	struct fx *fx = *state;
	uint8_t big[FX_BODY_MAX + 1];

	memset(big, 'x', sizeof(big));
	fx_init(fx);
	fx_reset(fx);

	/* Not registered yet. */
	assert_int_equal(vr_client_submit(&fx->c, (const uint8_t *)"a", 1), -EBUSY);
	assert_int_equal(fx->sent_count, 0);

	struct vr_message m = fx_reply(42, 0, 0, 1, VR_REPLY_OK, NULL);
	vr_client_on_reply(&fx->c, &m);

	/* Too large: rejected without using a request-number. */
	assert_int_equal(vr_client_submit(&fx->c, big, sizeof(big)), -EMSGSIZE);
	assert_int_equal(fx->sent_count, 0);
	assert_true(vr_client_ready(&fx->c));

	/* The largest allowed body is fine; a second request while it is outstanding is not. */
	assert_int_equal(vr_client_submit(&fx->c, big, FX_BODY_MAX), 0);
	assert_int_equal(fx->sent_count, 1);
	assert_int_equal(fx->sent[0].m.request, 1);
	assert_int_equal(fx->sent[0].m.body_len, FX_BODY_MAX);
	assert_int_equal(vr_client_submit(&fx->c, (const uint8_t *)"b", 1), -EBUSY);
	assert_int_equal(fx->sent_count, 1);
	assert_false(vr_client_ready(&fx->c));

	/* Once answered, the next request is number 2. */
	m = fx_reply(42, 1, 0, 2, VR_REPLY_OK, "ok");
	vr_client_on_reply(&fx->c, &m);
	fx_submit(fx, "c");
	assert_int_equal(fx->sent_count, 2);
	fx_assert_request(fx, 1, 0, 42, VR_KIND_OP, 1, 2, "c");
}

static void test_client_reply_completes_request(void **state)
{
	struct fx *fx = *state;

	fx_registered(fx, 3);
	fx_submit(fx, "write");
	struct vr_message m = fx_reply(42, 1, 0, 9, VR_REPLY_OK, "result");
	vr_client_on_reply(&fx->c, &m);
	assert_int_equal(fx->done_count, 1);
	assert_int_equal(fx->done[0].request, 1);
	assert_int_equal(fx->done[0].status, VR_REPLY_OK);
	assert_int_equal(fx->done[0].op, 9);
	assert_int_equal(fx->done[0].result_len, 6);
	assert_memory_equal(fx->done[0].result, "result", 6);
	assert_int_equal(fx->c.last_op, 9);
	assert_true(vr_client_ready(&fx->c));

	/* The same reply again (a duplicate): nothing. */
	vr_client_on_reply(&fx->c, &m);
	assert_int_equal(fx->done_count, 1);
}

static void test_client_resends_same_request_to_all_on_timeout(void **state)
{
	struct fx *fx = *state;

	fx_registered(fx, 5);
	fx_submit(fx, "rename");
	assert_int_equal(fx->sent_count, 1);
	fx_reset(fx);

	/* Nothing before resend_ticks. */
	for (int t = 1; t < FX_RESEND; t++)
		vr_client_on_tick(&fx->c);
	assert_int_equal(fx->sent_count, 0);

	/* At resend_ticks: the same request to every replica. */
	vr_client_on_tick(&fx->c);
	assert_int_equal(fx->sent_count, 3);
	for (uint8_t i = 0; i < 3; i++)
		fx_assert_request(fx, i, i, 42, VR_KIND_OP, 5, 1, "rename");

	/* And again one period later, still request 1. */
	fx_reset(fx);
	for (int t = 0; t < FX_RESEND; t++)
		vr_client_on_tick(&fx->c);
	assert_int_equal(fx->sent_count, 3);
	for (uint8_t i = 0; i < 3; i++)
		fx_assert_request(fx, i, i, 42, VR_KIND_OP, 5, 1, "rename");
	assert_int_equal(fx->done_count, 0);
}

static void test_client_registration_resent_on_timeout(void **state)
{
	struct fx *fx = *state;

	fx_init(fx);
	fx_reset(fx);
	for (int t = 0; t < FX_RESEND; t++)
		vr_client_on_tick(&fx->c);
	assert_int_equal(fx->sent_count, 3);
	for (uint8_t i = 0; i < 3; i++)
		fx_assert_request(fx, i, i, 42, VR_KIND_REGISTER, 0, 0, NULL);
}

static void test_client_idle_sends_nothing(void **state)
{
	struct fx *fx = *state;

	fx_registered(fx, 1);
	for (int t = 0; t < 5 * FX_RESEND; t++)
		vr_client_on_tick(&fx->c);
	assert_int_equal(fx->sent_count, 0);
	assert_int_equal(fx->done_count, 0);
}

static void test_client_ignores_wrong_request_or_client(void **state)
{
	struct fx *fx = *state;

	fx_registered(fx, 1);
	fx_submit(fx, "a");
	struct vr_message ok = fx_reply(42, 1, 0, 2, VR_REPLY_OK, "r1");
	vr_client_on_reply(&fx->c, &ok);
	fx_submit(fx, "b"); /* request 2 outstanding */
	fx_reset(fx);

	struct vr_message old = fx_reply(42, 1, 0, 2, VR_REPLY_OK, "r1"); /* request 1: a late duplicate */
	vr_client_on_reply(&fx->c, &old);
	struct vr_message future = fx_reply(42, 3, 0, 4, VR_REPLY_OK, "r3");
	vr_client_on_reply(&fx->c, &future);
	struct vr_message other = fx_reply(43, 2, 0, 3, VR_REPLY_OK, "r2"); /* another client's */
	vr_client_on_reply(&fx->c, &other);
	struct vr_message not_reply = fx_reply(42, 2, 0, 3, VR_REPLY_OK, "r2");
	not_reply.command = VR_PREPARE;
	vr_client_on_reply(&fx->c, &not_reply);
	struct vr_message evicted_other = fx_reply(43, 2, 0, 0, VR_REPLY_EVICTED, NULL);
	vr_client_on_reply(&fx->c, &evicted_other);
	struct vr_message later_view_wrong = fx_reply(42, 1, 7, 2, VR_REPLY_OK, NULL);
	vr_client_on_reply(&fx->c, &later_view_wrong);

	assert_int_equal(fx->done_count, 0);
	assert_int_equal(fx->sent_count, 0);
	assert_true(fx->c.busy);
	assert_int_equal(fx->c.request, 2);
	assert_int_equal(fx->c.client_id, 42);
	assert_int_equal(fx->c.view, 0); /* an ignored reply teaches nothing */

	/* The right one completes it. */
	struct vr_message right = fx_reply(42, 2, 0, 3, VR_REPLY_OK, "r2");
	vr_client_on_reply(&fx->c, &right);
	assert_int_equal(fx->done_count, 1);
	assert_int_equal(fx->done[0].request, 2);
	assert_memory_equal(fx->done[0].result, "r2", 2);
}

/* ---- Eviction (§8 step 6) ---------------------------------------------------------- */

static void test_client_evicted_reports_and_reregisters(void **state)
{
	struct fx *fx = *state;

	fx_registered(fx, 4);
	fx_submit(fx, "a");
	fx_reset(fx);

	struct vr_message ev = fx_reply(42, 1, 0, 0, VR_REPLY_EVICTED, NULL);
	vr_client_on_reply(&fx->c, &ev);
	assert_int_equal(fx->done_count, 1);
	assert_int_equal(fx->done[0].request, 1);
	assert_int_equal(fx->done[0].status, VR_REPLY_EVICTED);
	assert_int_equal(fx->done[0].result_len, 0);
	assert_int_equal(fx->done[0].op, 0);

	/* A new session: a new client id, REGISTER request 0 to the primary. */
	assert_int_equal(fx->sent_count, 1);
	fx_assert_request(fx, 0, 0, 43, VR_KIND_REGISTER, 0, 0, NULL);
	assert_false(fx->c.registered);
	assert_false(vr_client_ready(&fx->c));
	assert_int_equal(vr_client_submit(&fx->c, (const uint8_t *)"b", 1), -EBUSY);

	/* A late reply to the old session changes nothing. */
	struct vr_message late = fx_reply(42, 0, 0, 4, VR_REPLY_OK, NULL);
	vr_client_on_reply(&fx->c, &late);
	assert_false(fx->c.registered);

	/* Registered again: requests restart at 1 in the new session. */
	struct vr_message reg = fx_reply(43, 0, 0, 11, VR_REPLY_OK, NULL);
	vr_client_on_reply(&fx->c, &reg);
	assert_true(vr_client_ready(&fx->c));
	assert_int_equal(fx->c.session, 11);
	fx_submit(fx, "b");
	assert_int_equal(fx->sent_count, 2);
	fx_assert_request(fx, 1, 0, 43, VR_KIND_OP, 11, 1, "b");
	assert_int_equal(fx->done_count, 1);
}

static void test_client_evicted_registration_reregisters_silently(void **state)
{
	struct fx *fx = *state;

	fx_init(fx);
	fx_reset(fx);
	struct vr_message ev = fx_reply(42, 0, 0, 0, VR_REPLY_EVICTED, NULL);
	vr_client_on_reply(&fx->c, &ev);
	assert_int_equal(fx->done_count, 0); /* no request of the caller was lost */
	assert_int_equal(fx->sent_count, 1);
	fx_assert_request(fx, 0, 0, 43, VR_KIND_REGISTER, 0, 0, NULL);
}

/* ---- Following the view ------------------------------------------------------------ */

static void test_client_follows_higher_view(void **state)
{
	struct fx *fx = *state;

	fx_registered(fx, 1);
	fx_submit(fx, "a");
	struct vr_message r1 = fx_reply(42, 1, 4, 2, VR_REPLY_OK, "x"); /* from primary(4) = 1 */
	vr_client_on_reply(&fx->c, &r1);
	assert_int_equal(fx->c.view, 4);
	fx_reset(fx);

	fx_submit(fx, "b");
	assert_int_equal(fx->sent_count, 1);
	fx_assert_request(fx, 0, 1, 42, VR_KIND_OP, 1, 2, "b");

	/* A reply from an older view does not move it back. */
	struct vr_message r2 = fx_reply(42, 2, 3, 3, VR_REPLY_OK, "y");
	vr_client_on_reply(&fx->c, &r2);
	assert_int_equal(fx->c.view, 4);
	fx_submit(fx, "c");
	assert_int_equal(fx->sent_count, 2);
	fx_assert_request(fx, 1, 1, 42, VR_KIND_OP, 1, 3, "c");
}

static void test_client_resends_when_the_new_primary_announces_itself(void **state)
{
	struct fx *fx = *state;

	fx_registered(fx, 5);
	fx_submit(fx, "w");
	fx_reset(fx);

	/* Told of view 1 while it is still changing: the request goes to its primary (r1). */
	vr_client_on_redirect(&fx->c, 1);
	assert_int_equal(fx->sent_count, 1);
	fx_assert_request(fx, 0, 1, 42, VR_KIND_OP, 5, 1, "w");
	/* The same view again by redirect: nothing (no news). */
	vr_client_on_redirect(&fx->c, 1);
	assert_int_equal(fx->sent_count, 1);
	/* r1 announces it is the normal primary of view 1: the request goes again, at once. */
	vr_client_on_primary(&fx->c, 1);
	assert_int_equal(fx->sent_count, 2);
	fx_assert_request(fx, 1, 1, 42, VR_KIND_OP, 5, 1, "w");
	/* An announcement of an older view, or with nothing outstanding, sends nothing. */
	vr_client_on_primary(&fx->c, 0);
	assert_int_equal(fx->sent_count, 2);
}

static void test_client_idle_ignores_announcement(void **state)
{
	struct fx *fx = *state;

	fx_registered(fx, 5);
	fx_reset(fx);
	vr_client_on_primary(&fx->c, 3);
	assert_int_equal(fx->sent_count, 0);
}

static void test_client_follows_view_of_registration_reply(void **state)
{
	struct fx *fx = *state;

	fx_init(fx);
	struct vr_message reg = fx_reply(42, 0, 5, 8, VR_REPLY_OK, NULL); /* primary(5) = 2 */
	vr_client_on_reply(&fx->c, &reg);
	fx_reset(fx);
	fx_submit(fx, "a");
	assert_int_equal(fx->sent_count, 1);
	fx_assert_request(fx, 0, 2, 42, VR_KIND_OP, 8, 1, "a");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* Registration */
		cmocka_unit_test_setup_teardown(test_client_init_registers_with_primary_of_view_0, fx_setup,
		                                fx_teardown),
		cmocka_unit_test_setup_teardown(test_client_init_rejects_bad_arguments, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_client_register_reply_sets_session, fx_setup, fx_teardown),
		/* Requests */
		cmocka_unit_test_setup_teardown(test_client_submit_busy_and_too_large, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_client_reply_completes_request, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_client_resends_same_request_to_all_on_timeout, fx_setup,
		                                fx_teardown),
		cmocka_unit_test_setup_teardown(test_client_registration_resent_on_timeout, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_client_idle_sends_nothing, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_client_ignores_wrong_request_or_client, fx_setup, fx_teardown),
		/* Eviction */
		cmocka_unit_test_setup_teardown(test_client_evicted_reports_and_reregisters, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_client_evicted_registration_reregisters_silently, fx_setup,
		                                fx_teardown),
		/* Following the view */
		cmocka_unit_test_setup_teardown(test_client_follows_higher_view, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_client_resends_when_the_new_primary_announces_itself, fx_setup,
		                                fx_teardown),
		cmocka_unit_test_setup_teardown(test_client_idle_ignores_announcement, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_client_follows_view_of_registration_reply, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
