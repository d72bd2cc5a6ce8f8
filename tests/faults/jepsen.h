/*
 * jepsen.h — the history format and the checker of vrfs-jepsen, a Jepsen-style workload
 * for fault tests on real vrfs mounts (the workload itself is in vrfs_jepsen.c).
 *
 * History: one text file per process, `history.<proc>`, one event a line:
 *
 *	<time_ns> <proc> <type> <f> <key> <value>
 *
 * time_ns is CLOCK_MONOTONIC (every process is a thread of one program, so times compare);
 * type is invoke|ok|fail|info with Jepsen's meaning (fail: certainly took no effect; info:
 * unknown outcome); f is append|write|read|create. The value of an invoke is the record
 * (append), the register value (write), the file's size (create, whose key is the file
 * name) or `-` (read). The value of an ok read is what it read: `nil` for a missing or empty
 * register, `!torn:<bytes>` for a record that is not one whole register record. The
 * value of a fail or info completion is the error (`EIO`, `short:<bytes>`), for humans.
 *
 * Invariants of a history accepted by jepsen_history_load:
 *  H1. Each process runs one operation at a time: an invoke is followed, in that
 *      process's events, by exactly one completion of the same f and key, or by nothing
 *      (the process was stopped: the op counts as info, with no completion time).
 *  H2. A completion is not earlier than its invoke.
 *  H3. Append records, write values and create names are each unique in the history.
 *
 * The checker (jepsen_check) compares the history with the final trees under
 * <mount>/jepsen on every mount and reports every anomaly it finds; see the kinds below.
 */
#ifndef VRFS_JEPSEN_H
#define VRFS_JEPSEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JEPSEN_DIR             "jepsen"                   /* the workload's directory under each mount */
#define JEPSEN_TOKEN_MAX       63                         /* longest key or value in a history line */
#define JEPSEN_LINE_MAX        192                        /* longest history line, '\n' included */
#define JEPSEN_REGISTER_SIZE   32                         /* a register record: value, spaces, '\n' */
#define JEPSEN_VALUE_MAX       (JEPSEN_REGISTER_SIZE - 1) /* longest append record, write value or create name */
#define JEPSEN_CREATE_SIZE_MAX 65536                      /* created files have 0 to this many bytes */
#define JEPSEN_PROC_MAX        65535                      /* highest process number a history may use */
#define JEPSEN_TIME_NONE       UINT64_MAX                 /* complete_ns of an op that never completed */
#define JEPSEN_NIL             "nil"                      /* the value of a missing register */
#define JEPSEN_TORN_PREFIX     "!torn:"                   /* an ok read's value when the record was not whole */

_Static_assert(JEPSEN_VALUE_MAX <= JEPSEN_TOKEN_MAX, "a register value fits a history token");
_Static_assert(20 + 1 + 5 + 1 + 6 + 1 + 6 + 1 + 2 * (JEPSEN_TOKEN_MAX + 1) <= JEPSEN_LINE_MAX,
               "the longest event fits a history line");

enum jepsen_type { JEPSEN_INVOKE, JEPSEN_OK, JEPSEN_FAIL, JEPSEN_INFO, JEPSEN_TYPE_COUNT };
enum jepsen_f { JEPSEN_APPEND, JEPSEN_WRITE, JEPSEN_READ, JEPSEN_CREATE, JEPSEN_F_COUNT };

struct jepsen_event {
	uint64_t time_ns;
	uint32_t proc;
	enum jepsen_type type;
	enum jepsen_f f;
	char key[JEPSEN_TOKEN_MAX + 1];
	char value[JEPSEN_TOKEN_MAX + 1];
};

/* One operation: an invoke and its completion. */
struct jepsen_op {
	uint64_t invoke_ns;
	uint64_t complete_ns; /* JEPSEN_TIME_NONE when no completion was recorded */
	uint32_t proc;
	enum jepsen_f f;
	enum jepsen_type type; /* JEPSEN_OK, JEPSEN_FAIL or JEPSEN_INFO */
	char key[JEPSEN_TOKEN_MAX + 1];
	char value[JEPSEN_TOKEN_MAX + 1]; /* the invoke's value; an ok read's: what it read */
};

/* The ops of a history, sorted by invoke time (then process). */
struct jepsen_history {
	struct jepsen_op *ops; /* owned */
	size_t op_count;
	size_t op_cap;
};

enum jepsen_anomaly_kind {
	JEPSEN_MOUNTS_DIFFER,         /* a name or a file's bytes differ between two mounts */
	JEPSEN_STRAY_FILE,            /* not a-*, r-*, c-*, not a regular file, or a file no op could create */
	JEPSEN_MALFORMED_LINE,        /* an append file line that is not a record, or a partial last line */
	JEPSEN_PHANTOM_RECORD,        /* an append record never invoked on that key */
	JEPSEN_FAILED_APPEND_PRESENT, /* a record whose append failed */
	JEPSEN_LOST_APPEND,           /* an ok append whose record is absent */
	JEPSEN_DUPLICATE_APPEND,      /* a record present more than once */
	JEPSEN_PROC_ORDER,            /* a process's ok append after its later append in the file */
	JEPSEN_REALTIME_ORDER,        /* an append completed before another began, yet follows it */
	JEPSEN_TORN_READ,             /* a read of a register record that was not whole */
	JEPSEN_READ_UNWRITTEN,        /* a read of a value no write of that register invoked */
	JEPSEN_READ_FAILED_WRITE,     /* a read of the value of a failed write */
	JEPSEN_STALE_READ,            /* a read of a value overwritten before the read began */
	JEPSEN_NONLINEARIZABLE,       /* a register history with no linearization */
	JEPSEN_FINAL_REGISTER,        /* the final register value ends no linearization */
	JEPSEN_LIN_UNKNOWN,           /* the linearizability search hit its bound: undecided */
	JEPSEN_CREATE_MISSING,        /* an ok create whose file is absent */
	JEPSEN_CREATE_CONTENT,        /* a created file with other bytes than the create wrote */
	JEPSEN_CREATE_FAILED_PRESENT, /* a file whose create failed */
	JEPSEN_PHANTOM_CREATE,        /* a c-* file that no create invoked */
	JEPSEN_ANOMALY_KIND_COUNT
};

struct jepsen_anomaly {
	enum jepsen_anomaly_kind kind;
	char *text; /* owned; one line without '\n' */
};

struct jepsen_report {
	struct jepsen_anomaly *anomalies; /* owned */
	size_t anomaly_count;
	size_t anomaly_cap;
	size_t counts[JEPSEN_F_COUNT][JEPSEN_TYPE_COUNT]; /* ops by f and outcome (INVOKE unused) */
	size_t op_count;
};

/* The bound of the linearizability search, per register: memoized states. */
#define JEPSEN_LIN_STATES_MAX (1u << 22)

const char *jepsen_type_name(enum jepsen_type type);
const char *jepsen_f_name(enum jepsen_f f);
const char *jepsen_anomaly_kind_name(enum jepsen_anomaly_kind kind);

/* True when s is 1 to JEPSEN_TOKEN_MAX bytes of printable ASCII other than space. */
bool jepsen_token_valid(const char *s);

/* True when s is a record, register value or create name: 1 to JEPSEN_VALUE_MAX bytes of [A-Za-z0-9._-]. */
bool jepsen_value_valid(const char *s);

/*
 * Formats ev as one history line, '\n' included, into buf (borrowed, cap bytes).
 * Returns the line's length, or -EINVAL when a key or value is not a token, -ENOSPC
 * when cap is too small.
 */
int jepsen_event_format(const struct jepsen_event *ev, char *buf, size_t cap);

/*
 * Parses one history line of len bytes, without its '\n', into ev. Returns 0, or
 * -EBADMSG with *why a constant reason.
 */
int jepsen_event_parse(const char *line, size_t len, struct jepsen_event *ev, const char **why);

/* Writes the register record of value (jepsen_value_valid) into out. */
void jepsen_register_encode(const char *value, char out[JEPSEN_REGISTER_SIZE]);

/*
 * Decodes the len bytes of a register file: true with value set to the record's value,
 * or to JEPSEN_NIL when len is 0 (a file created by a write whose pwrite has not
 * landed: the register still holds its initial value); false when they are not one
 * whole record.
 */
bool jepsen_register_decode(const char *buf, size_t len, char value[JEPSEN_TOKEN_MAX + 1]);

/* The size of the file `c-<name>` (0 to JEPSEN_CREATE_SIZE_MAX), a function of name. */
size_t jepsen_create_size(const char *name);

/* Fills buf (borrowed) with the first size bytes of the content of `c-<name>`. */
void jepsen_create_fill(const char *name, uint8_t *buf, size_t size);

/*
 * Builds h (empty on entry; free with jepsen_history_free) from events (borrowed) in
 * any order: each process's events are taken by time, then by their order in the array.
 * Returns 0, -EBADMSG with a message in err when they break H1-H3, or -ENOMEM.
 */
int jepsen_history_build(const struct jepsen_event *events, size_t count, struct jepsen_history *h, char *err,
                         size_t err_size);

/* Reads every `history.*` file in dir into h, as jepsen_history_build. Returns 0 or -errno with err set. */
int jepsen_history_load(const char *dir, struct jepsen_history *h, char *err, size_t err_size);

void jepsen_history_free(struct jepsen_history *h);

/*
 * Checks h (borrowed) against the trees <mount>/jepsen of mounts[0..mount_count)
 * (borrowed; mount_count >= 1), adding every anomaly to report (zeroed on entry; free
 * with jepsen_report_free). Returns 0 whatever it found, or -errno with err set when
 * a mount cannot be read or memory runs out (the report is then incomplete).
 */
int jepsen_check(const struct jepsen_history *h, const char *const *mounts, size_t mount_count,
                 struct jepsen_report *report, char *err, size_t err_size);

/* The number of anomalies of this kind in report. */
size_t jepsen_report_count(const struct jepsen_report *report, enum jepsen_anomaly_kind kind);

void jepsen_report_free(struct jepsen_report *report);

/* Formats counts as "append 3 ok/0 fail/1 info, write ..." into buf (cap bytes). */
void jepsen_counts_format(const size_t counts[JEPSEN_F_COUNT][JEPSEN_TYPE_COUNT], char *buf, size_t cap);

#endif
