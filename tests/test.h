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

/*
 * A unit test includes the .c it tests, which logs through nvmf.h: these
 * stand in for main.c's logging. Quiet unless the test raises g_log_level
 * (V=1); every message is formatted all the same, so the sanitizers see
 * every argument. Lines start with "#", which the harness ignores.
 */
#ifdef NVMF_H
#include <stdarg.h>

int g_log_level = -1;
bool g_trace;

void nvmf_log(int level, const char *file, int line, const char *func, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (level <= g_log_level)
		printf("# %c %s:%d %s: %s\n", "EWID"[level], file, line, func, buf);
}

void nvmf_trace(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (g_log_level >= NVMF_LOG_DBG)
		printf("# trace %s\n", buf);
}
#endif

#endif
