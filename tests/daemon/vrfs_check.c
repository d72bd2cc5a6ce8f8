/*
 * vrfs_check.c — after a test stopped its replicas: are their stores equal, and does
 * the state hold exactly what vrfs-load saw acknowledged?
 *
 *   vrfs-check [--log FILE]... DIR...
 *
 * For each DIR (a replica's data directory) it prints the store's commit and digest.
 * Fails (exit 1) when the digests differ, when an acknowledged create (an "ack NAME INO OP"
 * line of a log) is missing from the root directory or has another inode, when a name in
 * the root directory was never sent by a load, or when a log has a "fail" or "fail-read" line.
 * Without --log it compares the digests only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state/store.h"

struct name {
	char *name;
	uint64_t ino;
	int acked;
	int seen;
};

static struct name *names;
static size_t name_count, name_cap;

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct name *)a)->name, ((const struct name *)b)->name);
}

static struct name *name_find(const char *n)
{
	struct name key = { .name = (char *)n };

	return name_count ? bsearch(&key, names, name_count, sizeof(*names), name_cmp) : NULL;
}

static int failures;

static void fail(const char *fmt, const char *a, uint64_t b)
{
	if (failures < 20) {
		fprintf(stderr, "vrfs-check: ");
		fprintf(stderr, fmt, a, b);
		fputc('\n', stderr);
	}
	failures++;
}

static int load_log(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512], word[16], n[256];
	uint64_t ino, op;

	if (!f) {
		fprintf(stderr, "vrfs-check: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		int k = sscanf(line, "%15s %255s %" SCNu64 " %" SCNu64, word, n, &ino, &op);
		if (k < 2)
			continue;
		if (!strcmp(word, "fail")) {
			fail("a create failed (ran twice?): %s%.0" PRIu64, n, 0);
			continue;
		}
		if (!strcmp(word, "fail-read")) {
			fail("a lookup right after the create's ack did not find it: %s%.0" PRIu64, n, 0);
			continue;
		}
		if (!strcmp(word, "read"))
			continue;
		if (name_count == name_cap) {
			name_cap = name_cap ? name_cap * 2 : 1024;
			names = realloc(names, name_cap * sizeof(*names));
			if (!names)
				exit(2);
		}
		/* Entries are merged after sorting: "sent" then maybe "ack" for the same name. */
		names[name_count++] = (struct name){ .name = strdup(n),
			                             .ino = k >= 3 ? ino : 0,
			                             .acked = !strcmp(word, "ack") && k == 4 };
	}
	fclose(f);
	return 0;
}

static void merge_names(void)
{
	size_t out = 0;

	if (name_count == 0)
		return;
	qsort(names, name_count, sizeof(*names), name_cmp);
	for (size_t i = 0; i < name_count; i++) {
		if (out && !strcmp(names[out - 1].name, names[i].name)) {
			if (names[i].acked) {
				names[out - 1].acked = 1;
				names[out - 1].ino = names[i].ino;
			}
			free(names[i].name);
			continue;
		}
		names[out++] = names[i];
	}
	name_count = out;
}

struct scan {
	struct store *s;
	const char *dir;
	uint64_t entries;
	bool names; /* check names against the load logs */
};

static int scan_entry(void *arg, const struct store_dirent *e)
{
	struct scan *sc = arg;
	char n[WIRE_NAME_MAX + 1];

	memcpy(n, e->name, e->name_len);
	n[e->name_len] = 0;
	sc->entries++;
	if (!sc->names)
		return 0; /* no load log given: digests only */
	struct name *x = name_find(n);
	if (!x) {
		fail("a name nobody sent is in the tree: %s (inode %" PRIu64 ")", n, e->ino);
		return 0;
	}
	x->seen++;
	if (x->acked && x->ino != e->ino)
		fail("%s has inode %" PRIu64 ", not the acknowledged one", n, e->ino);
	return 0;
}

int main(int argc, char **argv)
{
	int first_dir = 1;
	uint8_t digest0[STORE_DIGEST_SIZE];
	uint64_t acked = 0;

	while (first_dir + 1 < argc && !strcmp(argv[first_dir], "--log")) {
		if (load_log(argv[first_dir + 1]))
			return 2;
		first_dir += 2;
	}
	if (first_dir >= argc) {
		fprintf(stderr, "usage: vrfs-check [--log FILE]... DIR...\n");
		return 2;
	}
	merge_names();
	for (size_t i = 0; i < name_count; i++)
		acked += names[i].acked != 0;

	for (int i = first_dir; i < argc; i++) {
		char path[4096];
		const char *why = NULL;
		struct store *s;
		uint8_t digest[STORE_DIGEST_SIZE];

		snprintf(path, sizeof(path), "%s/store.db", argv[i]);
		if (store_open(&s, path, 0, &why)) {
			fprintf(stderr, "vrfs-check: %s: %s\n", path, why ? why : "cannot open");
			return 2;
		}
		if (store_digest(s, digest)) {
			fprintf(stderr, "vrfs-check: %s: cannot compute the digest\n", path);
			return 2;
		}
		printf("%s: commit %" PRIu64 " digest ", argv[i], store_commit(s));
		for (int b = 0; b < 8; b++)
			printf("%02x", digest[b]);
		if (i == first_dir)
			memcpy(digest0, digest, sizeof(digest));
		else if (memcmp(digest0, digest, sizeof(digest))) {
			printf(" DIFFERS");
			failures++;
		}
		for (size_t k = 0; k < name_count; k++)
			names[k].seen = 0;
		struct scan sc = { .s = s, .dir = argv[i], .names = first_dir > 1 };
		store_readdir(s, WIRE_INO_ROOT, 0, scan_entry, &sc);
		struct store_statfs st = { 0 };
		store_statfs(s, &st);
		printf(", %" PRIu64 " files, %" PRIu64 " inodes, %" PRIu64 " data bytes\n", sc.entries, st.inodes,
		       st.data_bytes);
		for (size_t k = 0; k < name_count; k++) {
			if (names[k].acked && names[k].seen != 1)
				fail("acknowledged create missing: %s (seen %" PRIu64 " times)", names[k].name,
				     (uint64_t)names[k].seen);
		}
		store_close(s);
	}
	if (first_dir == 1)
		printf("vrfs-check: %s\n", failures ? "FAILED" : "digests equal");
	else
		printf("vrfs-check: %" PRIu64 " acknowledged creates, %zu sent; %s\n", acked, name_count,
		       failures ? "FAILED" : "every acknowledged create present exactly once, digests equal");
	return failures ? 1 : 0;
}
