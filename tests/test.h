/*
 * test.h - the smallest test harness that tells you enough: one line per
 * check ("ok N - what" / "not ok N - what (file:line)"), and a closing
 * "NAME: N passed, M failed" that tests/run.sh adds up.
 */
#ifndef NVMF_TEST_H
#define NVMF_TEST_H

#include <stdio.h>

static int t_pass, t_fail;

#define CHECK(cond, ...) do {						\
	int t_ok_ = !!(cond);						\
	printf("%s %d - ", t_ok_ ? "ok" : "not ok", t_pass + t_fail + 1); \
	printf(__VA_ARGS__);						\
	if (!t_ok_)							\
		printf(" (%s:%d)", __FILE__, __LINE__);			\
	printf("\n");							\
	if (t_ok_) t_pass++; else t_fail++;				\
} while (0)

#define CHECK_EQ_U(a, b, ...) do {					\
	unsigned long long t_a_ = (a), t_b_ = (b);			\
	CHECK(t_a_ == t_b_, __VA_ARGS__);				\
	if (t_a_ != t_b_)						\
		printf("    got 0x%llx (%llu), expected 0x%llx (%llu)\n", \
		       t_a_, t_a_, t_b_, t_b_);				\
} while (0)

/* Print the closing line; the exit status says whether all passed. */
static inline int test_done(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, t_pass, t_fail);
	return t_fail ? 1 : 0;
}

#endif
