/*
 * fuzz_test.c - a libFuzzer harness for what a host can send: tcp.c's PDU
 * receive path and, behind it, nvmf.c's command decoding (Fabrics
 * Connect and properties, admin, I/O, discovery log reads).
 *
 * One input is up to two connections' worth of host bytes:
 *
 *   +---------+--------------------------+---------------------------+
 *   | len u16 | admin stream (len bytes) | I/O stream (the rest)     |
 *   +---------+--------------------------+---------------------------+
 *
 * The first stream goes to a fresh connection; it stays open while the
 * second goes to another, so an I/O queue Connect can join the
 * controller the first one made. Each connection is a socketpair end
 * handed to the real tcp.c, driven by hand instead of by a reactor; the
 * namespace is RAM, which completes inline. Everything is torn down
 * after each input and controller IDs start again at 1, so a stream
 * recorded from a real session replays the same way every time.
 *
 * The seeds in tests/fuzz_corpus/ are such recordings, made by
 * tests/fuzz_corpus.sh from SPDK's and nvmf's host tools. Two builds:
 *
 *   make fuzz         clang -fsanitize=fuzzer,address,undefined: mutate
 *                     the corpus for FUZZ_TIME seconds (tests/fuzz.sh);
 *                     a crash, sanitizer report or leak fails it
 *   tests/fuzz_test   the quick suite: replay every file of the corpus
 *                     once (make asan: under the sanitizers)
 *
 * An input the fuzzer found a bug with is copied into the corpus, so the
 * quick suite keeps replaying it: that is the regression test.
 *
 * Every input is also one NVMe/RDMA capsule for rdma_parse.c's decoder (the
 * rdma-* seeds are such capsules, written by hand: keyed, in-capsule and
 * Last Segment SGLs); whatever it decides, what it hands on must lie
 * inside the capsule. The quick suite also checks its exact answers.
 */
#include "../tcp.c"
#include "../tcp_accept.c"
#include "../nvmf.c"
#include "../subsys.c"
#include "../admin.c"
#include "../bdev.c"
#include "../pcie_nvme.c"	/* bdev.c dispatches nvme: and sim: to it */
#include "../pcie_vfio.c"
#include "../sim/sim.c"
#include "../sim/admin.c"
#include "../auth.c"	/* Connect and Authentication Send/Receive reach it */
#include "../trace.c"	/* the names of commands in log lines */
#ifndef NVMF_NO_RDMA
#include "../rdma.c"
#include "../rdma_parse.c"	/* rdma_capsule_decode(): bytes in, no device needed */
#include "../rdma_mem.c"	/* what rdma.c registers with (never reached here) */
#endif
#include "test.h"

#include <dirent.h>
#include <sys/socket.h>
#include <time.h>

/* ==================================================================== */
/* What main.c would provide                                           */
/* ==================================================================== */

struct nvmf_reactor *g_reactors;
int g_nr_reactors;

void pdu_hexdump(const char *what, const void *buf, size_t len)
{
	(void)what, (void)buf, (void)len;
}

uint64_t nvmf_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int nvmf_reactor_watch(struct nvmf_reactor *r, struct nvmf_poller *p, uint32_t events)
{
	(void)r, (void)p, (void)events;
	return 0;
}

int nvmf_reactor_modify(struct nvmf_reactor *r, struct nvmf_poller *p, uint32_t events)
{
	(void)r, (void)p, (void)events;
	return 0;
}

void nvmf_reactor_unwatch(struct nvmf_reactor *r, struct nvmf_poller *p)
{
	(void)r, (void)p;
}

void nvmf_reactor_add_queue(struct nvmf_queue *q)
{
	(void)q;
}

struct nvmf_reactor *nvmf_reactor_next(void)
{
	return &g_reactors[0];
}


/* ==================================================================== */
/* The target: one subsystem, one RAM namespace, one listener          */
/* ==================================================================== */

#define FZ_NQN	"nqn.2026-11.io.nvmf:fuzz"

static struct nvmf_listener g_fz_listener = {
	.trtype = NVMF_TRTYPE_TCP, .adrfam = NVMF_ADRFAM_IPV4,
	.traddr = "127.0.0.1", .trsvcid = "4420", .portid = 1,
};

/* Once per process: what nvmf target -s FZ_NQN --ns ram:4M sets up. */
static void fz_target_init(void)
{
	static struct nvmf_reactor r0;
	struct nvmf_subsys *s;
	struct nvmf_bdev *b;
	char err[256];

	g_reactors = &r0;
	g_nr_reactors = 1;
	g_log_level = getenv("FUZZ_LOG") ? NVMF_LOG_DBG : -1;
	nvmf_init();
	g_listeners = &g_fz_listener;
	s = nvmf_subsys_add(FZ_NQN, err, sizeof(err));
	if (!s || bdev_create("ram:4M", &b, err, sizeof(err)) ||
	    nvmf_subsys_add_ns(s, b, err, sizeof(err))) {
		fprintf(stderr, "fuzz_tcp: setup: %s\n", err);
		abort();
	}
}

/* ==================================================================== */
/* Driving one connection by hand                                      */
/* ==================================================================== */

struct fz_conn {
	struct tcp_queue *tq;
	int host;			/* our end of the socketpair */
};

static int fz_open(struct fz_conn *c)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		return -errno;
	c->tq = tcp_queue_alloc(sv[0]);
	if (!c->tq) {
		close(sv[0]);
		close(sv[1]);
		return -ENOMEM;
	}
	c->host = sv[1];
	c->tq->q.listener = &g_fz_listener;
	c->tq->q.reactor = &g_reactors[0];
	snprintf(c->tq->q.peer, sizeof(c->tq->q.peer), "fuzz:%d", sv[0]);
	return 0;
}

/* Throw away what the target sent, as a host that reads would. */
static void fz_drain(struct fz_conn *c)
{
	static uint8_t sink[64 * 1024];

	while (recv(c->host, sink, sizeof(sink), MSG_DONTWAIT) > 0)
		;
}

/* Send the stream and let the target work on it until it stops or
 * closes. A few passes after the last byte let it finish the rest. */
static void fz_feed(struct fz_conn *c, const uint8_t *d, size_t n)
{
	size_t off = 0;

	for (int idle = 0; idle < 4 && !c->tq->q.closing; ) {
		if (off < n) {
			ssize_t w = send(c->host, d + off, n - off, MSG_DONTWAIT | MSG_NOSIGNAL);

			if (w > 0)
				off += w;
		} else {
			idle++;
		}
		tcp_queue_event(&c->tq->poller, EPOLLIN);
		fz_drain(c);
		if (!c->tq->q.closing && c->tq->out_count && tcp_flush(c->tq) < 0)
			tcp_queue_close(&c->tq->q);
	}
}

/* Close as tcp_reactor_poll() would. Every slot must be back: RAM
 * completes inline, so a busy one is a leak of ours. */
static void fz_close(struct fz_conn *c)
{
	tcp_queue_close(&c->tq->q);
	if (c->tq->nr_busy) {
		fprintf(stderr, "fuzz_tcp: queue closed with %u busy slots\n", c->tq->nr_busy);
		abort();
	}
	tcp_queue_free(c->tq);
	close(c->host);
}

#ifndef NVMF_NO_RDMA
/* The bytes as one RDMA capsule: on success the in-capsule data is inside
 * it, no more descriptors than MSDBD, and data in one place only. A
 * broken rule aborts, which libFuzzer reports as a finding. */
static void fz_rdma(const uint8_t *d, size_t n)
{
	struct rdma_capsule c;
	int st = rdma_capsule_decode(d, n > UINT32_MAX ? UINT32_MAX : (uint32_t)n, &c);

	if (st == 0 && ((uint64_t)c.icd_off + c.icd_len > n || c.nr_rsge > NVMF_RDMA_MSDBD ||
			(c.icd_len && c.nr_rsge))) {
		fprintf(stderr, "rdma_capsule_decode: icd %u+%u of %zu, %u keys\n", c.icd_off,
			c.icd_len, n, c.nr_rsge);
		abort();
	}
	if (st == -EPROTO && n >= sizeof(struct nvme_sqe) && n <= RDMA_CAPSULE_SIZE)
		abort();	/* a capsule of a possible size is always decoded */
}
#else
static void fz_rdma(const uint8_t *d, size_t n)
{
	(void)d, (void)n;
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct fz_conn a, io;
	size_t alen;

	if (!ready) {
		fz_target_init();
		signal(SIGPIPE, SIG_IGN);
		ready = true;
	}
	fz_rdma(data, size);
	if (size < 2)
		return 0;
	alen = data[0] | (size_t)data[1] << 8;
	data += 2;
	size -= 2;
	if (alen > size)
		alen = size;
	g_next_cntlid = 1;		/* replays see the IDs they recorded */
	if (fz_open(&a))
		return 0;
	fz_feed(&a, data, alen);
	if (size > alen && !fz_open(&io)) {
		fz_feed(&io, data + alen, size - alen);
		fz_close(&io);
	}
	fz_close(&a);
	return 0;
}

/* ==================================================================== */
/* Without libFuzzer: replay the corpus                                */
/* ==================================================================== */

#ifndef FUZZ_LIBFUZZER
#define FZ_CORPUS	"tests/fuzz_corpus"

/* Replay one file. Returns 0, or -errno if it cannot be read. A bug it
 * shows aborts the program (or trips a sanitizer): no closing line. */
static int fz_replay(const char *path)
{
	static uint8_t buf[1 << 20];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	return 0;
}

#ifndef NVMF_NO_RDMA
/* A capsule: an SQE with this SGL (type, addr, length) and icd bytes. */
static uint32_t fz_capsule(uint8_t *buf, uint8_t opc, uint8_t type, uint64_t addr, uint32_t len,
			   uint32_t icd)
{
	struct nvme_sqe *s = (void *)buf;

	memset(buf, 0, RDMA_CAPSULE_SIZE);
	s->opcode = opc;
	s->dptr.type = type;
	s->dptr.addr = htole64(addr);
	s->dptr.length = htole32(len);
	return sizeof(*s) + icd;
}

/* rdma_capsule_decode()'s exact answers, one per rule. */
static void fz_rdma_cases(void)
{
	static uint8_t b[RDMA_CAPSULE_SIZE + 1];
	uint8_t off = NVME_SGL_TYPE_DATA_BLOCK << 4 | NVME_SGL_SUBTYPE_OFFSET;
	uint8_t last = NVME_SGL_TYPE_LAST_SEGMENT << 4 | NVME_SGL_SUBTYPE_OFFSET;
	uint8_t keyed = NVME_SGL_TYPE_KEYED_DATA_BLOCK << 4 | NVME_SGL_SUBTYPE_INVALIDATE_KEY;
	struct rdma_capsule c;
	uint32_t n;

	CHECK_EQ_U(rdma_capsule_decode(b, 63, &c), -EPROTO, "rdma: 63 bytes, less than an SQE");
	CHECK_EQ_U(rdma_capsule_decode(b, sizeof(b), &c), -EPROTO, "rdma: more than we posted");
	n = fz_capsule(b, NVME_CMD_WRITE, off, 16, 512, 528);
	CHECK(rdma_capsule_decode(b, n, &c) == 0 && c.icd_off == 80 && c.icd_len == 512,
	      "rdma: in-capsule write at offset 16: data at byte 80, 512 bytes");
	n = fz_capsule(b, NVME_CMD_WRITE, off, 32, 512, 528);
	CHECK_EQ_U(rdma_capsule_decode(b, n, &c), NVME_SC_SGL_INVALID_OFFSET,
		   "rdma: in-capsule data past the capsule: SGL Offset Invalid");
	n = fz_capsule(b, NVME_CMD_READ, off, 0, 512, 512);
	CHECK_EQ_U(rdma_capsule_decode(b, n, &c), NVME_SC_SGL_INVALID_TYPE,
		   "rdma: in-capsule data for a read: SGL Type Invalid");
	n = fz_capsule(b, NVME_CMD_READ, keyed, 0x1000, 4096, 0);
	b[38] = 7;	/* the key (SQE bytes 35..38), top byte */
	CHECK(rdma_capsule_decode(b, n, &c) == 0 && c.nr_rsge == 1 && c.data_len == 4096 &&
	      c.invalidate && c.inv_key == 7u << 24,
	      "rdma: one keyed descriptor with Invalidate: 4096 bytes, key 0x07000000");
	n = fz_capsule(b, NVME_CMD_READ, last, 0, 16 * (NVMF_RDMA_MSDBD + 1),
		       16 * (NVMF_RDMA_MSDBD + 1));
	CHECK_EQ_U(rdma_capsule_decode(b, n, &c), NVME_SC_SGL_INVALID_COUNT,
		   "rdma: a Last Segment of MSDBD + 1 descriptors: SGL Descriptor Count Invalid");
	n = fz_capsule(b, NVME_CMD_READ, last, 0, 24, 32);
	CHECK_EQ_U(rdma_capsule_decode(b, n, &c), NVME_SC_SGL_INVALID_DATA,
		   "rdma: a Last Segment of 24 bytes, not whole descriptors: SGL Data Invalid");
}
#else
static void fz_rdma_cases(void)
{
}
#endif

int main(void)
{
	DIR *d = opendir(FZ_CORPUS);
	struct dirent *e;
	char path[512];
	int n = 0;

	/* Decode every command and completion the corpus makes, as --trace
	 * would: trace.c reads the same hostile SQEs and Connect data. */
	g_trace = true;
	fz_rdma_cases();
	CHECK(d != NULL, "the corpus %s is there (run from the repo root)", FZ_CORPUS);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", FZ_CORPUS, e->d_name);
		CHECK(fz_replay(path) == 0, "replay %s", e->d_name);
		n++;
	}
	if (d)
		closedir(d);
	CHECK(n >= 7, "%d inputs replayed (the 7 recorded sessions at least)", n);
	return test_done("fuzz_test");
}
#endif
