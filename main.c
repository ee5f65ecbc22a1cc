/*
 * main.c - the nvmf command: subcommands, options, reactor threads,
 * signals, logging.
 *
 *   nvmf [target] [options]     the NVMe-oF target (the default job)
 *   nvmf discover|identify|perf the host side (host.c, perf.c)
 *   nvmf rpc METHOD ARGS        a JSON-RPC client with rpc.py's syntax
 *                               (rpc_client.c)
 *   nvmf config FILE            print what a config file would configure
 *                               (config.c), without starting a target
 *   nvmf sim                    a scripted session on the simulator (sim/)
 *   nvmf --trace|-v SUBCOMMAND  the same options before the subcommand
 *
 * Sections, in order: logging and time; reactors; the target's options;
 * the target (start, serve until a signal, stop); the entry point, main(),
 * which only picks the subcommand.
 *
 * The target's threads:
 *
 *   main thread: parse options, listen, start reactors, wait for a signal
 *        |
 *        +-- reactor 0: epoll on listeners + its queues; accepts and hands
 *        |              each new connection to a reactor, round-robin
 *        +-- reactor 1..n (with -m): epoll on their own queues
 *
 * A reactor spins on epoll_wait(0) for a while after work, so a busy queue
 * never waits for a wakeup; how long adapts to how soon work came back
 * recently (at most NVMF_SPIN_US, see nvmf_spin_timeout). Then it sleeps
 * in epoll_wait until a socket wakes it or the 100 ms tick is due, so an
 * idle target costs no CPU.
 *
 * Tutorial chapter 01 starts here; chapter 04 comes back for the reactor.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <json.h>

#include "nvmf.h"

#define NVMF_SPIN_US		1000	/* busy-poll at most this long after work */
#define NVMF_TICK_MS		100
#define NVMF_TRIM_TICKS		10	/* idle this long: give buffers back, */
#define NVMF_TRIM_STEP		(4u << 20)	/* this much per tick */
#define NVMF_DEFAULT_NQN	"nqn.2026-11.io.nvmf:cnode1"
#define NVMF_DEFAULT_NS		"ram:64M"

int g_log_level = NVMF_LOG_INFO;
bool g_trace;
struct nvmf_reactor *g_reactors;
int g_nr_reactors;

/* ==================================================================== */
/* Logging and time                                                    */
/* ==================================================================== */

/* One line per message, "E file:line func: text", on stderr. The lock
 * keeps lines whole when reactors and the RPC thread log at once; the
 * level check comes first so a LOG_DEBUG costs nothing by default. */
void nvmf_log(int level, const char *file, int line, const char *func, const char *fmt, ...)
{
	static const char tag[] = "EWID";
	va_list ap;

	if (level > g_log_level)
		return;
	flockfile(stderr);
	fprintf(stderr, "%c %s:%d %s: ", tag[level], file, line, func);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

/* --trace lines go to stdout, not stderr, so a lab can pipe the trace
 * apart from the log; each line is written under the stream's lock. */
void nvmf_trace(const char *fmt, ...)
{
	va_list ap;

	flockfile(stdout);
	fputs("trace ", stdout);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	funlockfile(stdout);
}

/* Hex and ASCII, 16 bytes a line, at debug level. */
void pdu_hexdump(const char *what, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (g_log_level < NVMF_LOG_DBG)
		return;
	fprintf(stderr, "  %s (%zu bytes):\n", what, len);
	for (size_t i = 0; i < len; i += 16) {
		fprintf(stderr, "  %04zx:", i);
		for (size_t j = i; j < i + 16 && j < len; j++)
			fprintf(stderr, " %02x", p[j]);
		fputc('\n', stderr);
	}
}

/* CLOCK_MONOTONIC, not the wall clock: timeouts (keep-alive, idle RPC
 * clients) must not jump when someone sets the date. */
uint64_t nvmf_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t nvmf_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ==================================================================== */
/* Reactors                                                            */
/* ==================================================================== */

/* A reactor's epoll set holds pollers: the poller pointer rides in the
 * event, so a wakeup goes straight to its handler without a lookup.
 * These three wrappers return -errno like the rest of nvmf. */
int nvmf_reactor_watch(struct nvmf_reactor *r, struct nvmf_poller *p, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = p };

	return epoll_ctl(r->epfd, EPOLL_CTL_ADD, p->fd, &ev) ? -errno : 0;
}

int nvmf_reactor_modify(struct nvmf_reactor *r, struct nvmf_poller *p, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = p };

	return epoll_ctl(r->epfd, EPOLL_CTL_MOD, p->fd, &ev) ? -errno : 0;
}

void nvmf_reactor_unwatch(struct nvmf_reactor *r, struct nvmf_poller *p)
{
	epoll_ctl(r->epfd, EPOLL_CTL_DEL, p->fd, NULL);
}

/* Round-robin: the reactor a new connection goes to. Only reactor 0
 * accepts, so the counter needs no atomic. */
struct nvmf_reactor *nvmf_reactor_next(void)
{
	static unsigned next;

	return &g_reactors[next++ % g_nr_reactors];	/* only reactor 0 accepts */
}

/* Hand q to q->reactor from any thread; it adopts q on its next pass. */
void nvmf_reactor_add_queue(struct nvmf_queue *q)
{
	struct nvmf_reactor *r = q->reactor;
	uint64_t one = 1;

	pthread_mutex_lock(&r->inbox_lock);
	q->next = r->inbox;
	r->inbox = q;
	pthread_mutex_unlock(&r->inbox_lock);
	if (write(r->wake.fd, &one, sizeof(one)) < 0)
		LOG_ERR("waking reactor %d: %s", r->id, strerror(errno));
}

/* The wake eventfd fired: adopt queues handed over by other threads. */
static void nvmf_reactor_wake(struct nvmf_poller *p, uint32_t events)
{
	struct nvmf_reactor *r = container_of(p, struct nvmf_reactor, wake);
	struct nvmf_queue *q, *next;
	uint64_t v;

	(void)events;
	if (read(p->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		LOG_ERR("reactor %d eventfd: %s", r->id, strerror(errno));
	pthread_mutex_lock(&r->inbox_lock);
	q = r->inbox;
	r->inbox = NULL;
	pthread_mutex_unlock(&r->inbox_lock);
	for (; q; q = next) {
		next = q->next;
		q->next = r->queues;
		r->queues = q;
		q->ops->start(q);
	}
}

/* Timers of every queue; and when the reactor has done no work at all
 * for NVMF_TRIM_TICKS ticks in a row (the hosts are idle or gone), the
 * pool's cached buffers go back to the kernel, NVMF_TRIM_STEP per tick
 * (64 MiB in 1.6 s), and the target's memory returns to its idle size.
 *
 * "No work", not "no buffer lent": reads from a RAM namespace lend none,
 * and giving a 64 MiB pool back under them held the reactor for 20 to
 * 90 ms (on a VM a munmap() of 128 KiB can take 180 us). In steps, so
 * that a host that comes back meets at most one step. And not sooner: a
 * busy host's queue drains now and then, and unmapping then mapping
 * again under load cost far more than the memory was worth (128K reads
 * ran at a fraction of their speed when every tick that found nothing
 * lent trimmed the pool). */
static void nvmf_reactor_tick(struct nvmf_reactor *r)
{
	for (struct nvmf_queue *q = r->queues; q; q = q->next)
		nvmf_queue_tick(q);
	/* A buffer lent and given back between two ticks is work too: else
	 * it would stay cached (and, for RDMA, pinned) after the one trim. */
	r->idle_ticks = r->busy || r->pool.lent || r->pool.gen != r->trim_gen ? 0 : r->idle_ticks + 1;
	r->trim_gen = r->pool.gen;
	r->busy = false;
	if (r->idle_ticks >= NVMF_TRIM_TICKS)
		nvmf_buf_trim(&r->pool, NVMF_TRIM_STEP);
	tcp_reactor_tick(r);
}

/*
 * One pass: run the handlers of the events epoll gave, reap polled
 * backends and RDMA CQs, run the tick when due, and flush TCP last.
 *
 * The order is the point. Every step before the TCP flush may complete
 * commands (a polled SSD, an RDMA READ, an AER answered at the tick), and
 * a completion queues output without a socket event to announce it. The
 * flush goes last so that nothing a pass produced is left for the next
 * one: a reactor that then chose to sleep would hold that response for a
 * whole tick (the 101 ms stalls this order removed). Returns the work
 * seen; > 0 keeps the reactor spinning.
 */
static int nvmf_reactor_pass(struct nvmf_reactor *r, int timeout, uint64_t *last_tick)
{
	struct epoll_event ev[64];
	int n = epoll_wait(r->epfd, ev, ARRAY_SIZE(ev), timeout);
	int work = n > 0 ? n : 0;

	atomic_fetch_add(&r->passes, 1);	/* a new pass: nvmf_quiesce() */
	for (int i = 0; i < n; i++) {
		struct nvmf_poller *p = ev[i].data.ptr;

		p->fn(p, ev[i].events);
	}
	/* Polled backends (nvme:, sim:) have no fd to wake us: spin
	 * while they have commands in flight. RDMA work shows in CQs. */
	work += bdev_poll_all();
	work += rdma_reactor_poll(r);
	work += auth_reactor_poll(r);	/* DH work the worker finished */
	if (nvmf_now_ms() - *last_tick >= NVMF_TICK_MS) {
		*last_tick = nvmf_now_ms();
		nvmf_reactor_tick(r);
	}
	/* Queues with work that no event will announce count as work. */
	work += tcp_reactor_poll(r);
	return work;
}

/*
 * The adaptive spin. Spinning after work pays when the next command comes
 * back within the spin: it is served without the cost of a wakeup. It is
 * waste when nothing comes, and worse than waste when the host that would
 * send the next command runs on the CPU we hold (a kernel host in the same
 * VM: its completion work and its next submission wait for our spin).
 *
 * So each reactor learns from the gaps between bursts of work:
 *   - work after a quiet gap shorter than NVMF_SPIN_US: a spin of twice
 *     that gap would have caught it, so the spin grows to that (never
 *     above NVMF_SPIN_US);
 *   - a spin that ends with nothing found was wasted: the next is half
 *     as long, down to none.
 * A host at depth 1 on its own core answers in microseconds and keeps the
 * spin; a host that cannot run while we spin answers late, halves the spin
 * at each try and leaves the CPU to it. An idle target spins once, for
 * ever shorter times, then sleeps: no CPU at idle.
 */
struct nvmf_spin {
	uint64_t last_work;		/* us: the last pass that found work */
	uint64_t spin_us;		/* how long the next spin lasts */
	bool spinning;			/* the last pass was part of a spin */
};

/* The epoll timeout for the next pass: 0 while spinning, else the tick. */
static int nvmf_spin_timeout(struct nvmf_spin *s, uint64_t now)
{
	if (now - s->last_work < s->spin_us) {
		s->spinning = true;
		return 0;
	}
	if (s->spinning)		/* the spin found nothing: wasted */
		s->spin_us /= 2;
	s->spinning = false;
	return NVMF_TICK_MS;
}

/* A pass found work at now: learn from the gap since the last. */
static void nvmf_spin_work(struct nvmf_spin *s, uint64_t now)
{
	uint64_t gap = now - s->last_work;

	if (gap < NVMF_SPIN_US && 2 * gap > s->spin_us)
		s->spin_us = 2 * gap < NVMF_SPIN_US ? 2 * gap : NVMF_SPIN_US;
	s->last_work = now;
}

/*
 * About to sleep: is there work that no event will announce? A pass ends
 * by sending what it produced and retrying what waited (see
 * nvmf_reactor_pass), so the answer should always be no. A yes is a lost
 * wakeup, a bug: the work would wait for the tick, a 100 ms stall the
 * host sees as latency. So the reactor does not sleep, and counts it
 * (nvmf_get_stats shows lost_wakeups per reactor; tests/wakeup_test.sh
 * runs real workloads and wants 0) and says so once.
 *
 * Only the reactor's own state is asked, never a socket or a CQ: work
 * that arrives from outside while we decide raises its event anyway.
 */
static bool nvmf_reactor_stranded(struct nvmf_reactor *r)
{
	int n = tcp_reactor_stranded(r) + rdma_reactor_stranded(r);

	if (!n)
		return false;
	if (atomic_fetch_add(&r->lost_wakeups, 1) == 0)
		LOG_WARN("reactor %d: %d queue(s) had work no event would announce; "
			 "kept polling (a lost wakeup: please report it)", r->id, n);
	return true;
}

/* The reactor thread: passes until r->stop is set, spinning (timeout 0)
 * as long as nvmf_spin_timeout says, then sleeping until an fd wakes it
 * or the tick is due. */
static void *nvmf_reactor_main(void *arg)
{
	struct nvmf_reactor *r = arg;
	struct nvmf_spin spin = { .last_work = nvmf_now_us(), .spin_us = NVMF_SPIN_US };
	uint64_t last_tick = nvmf_now_ms();

	while (!atomic_load(&r->stop)) {
		int timeout = nvmf_spin_timeout(&spin, nvmf_now_us());

		if (timeout && nvmf_reactor_stranded(r))
			timeout = 0;
		if (nvmf_reactor_pass(r, timeout, &last_tick) > 0) {
			nvmf_spin_work(&spin, nvmf_now_us());
			r->busy = true;
		}
	}
	/* Shutting down: close every queue this reactor owns. */
	for (struct nvmf_queue *q = r->queues; q; q = q->next)
		q->ops->close(q);
	auth_reactor_drain(r);		/* Sends waiting for DH work return */
	tcp_reactor_poll(r);
	rdma_reactor_stop(r);
	nvmf_buf_trim(&r->pool, UINT64_MAX);
	return NULL;
}

/* The reactor's epoll set and its wake eventfd, which other threads write
 * to hand it a queue or to stop it while it sleeps in epoll_wait. */
static int nvmf_reactor_init(struct nvmf_reactor *r, int id)
{
	r->id = id;
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	r->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	r->wake.fn = nvmf_reactor_wake;
	pthread_mutex_init(&r->inbox_lock, NULL);
	if (r->epfd < 0 || r->wake.fd < 0)
		return -errno;
	return nvmf_reactor_watch(r, &r->wake, EPOLLIN);
}

/* Start every reactor thread, pinned to the cores of mask (if given). */
static int nvmf_reactors_start(uint64_t mask)
{
	int core = -1;

	for (int i = 0; i < g_nr_reactors; i++) {
		struct nvmf_reactor *r = &g_reactors[i];

		if (pthread_create(&r->thread, NULL, nvmf_reactor_main, r))
			return -errno;
		if (!mask)
			continue;
		while (!(mask & (1ull << ++core)))
			;
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(core, &set);
		if (pthread_setaffinity_np(r->thread, sizeof(set), &set))
			LOG_WARN("cannot pin reactor %d to core %d", i, core);
	}
	return 0;
}

/* Set every stop flag and wake every reactor first (a sleeping one would
 * not see its flag), then join: joining as we went would keep the later
 * reactors serving while the earlier ones finish. */
static void nvmf_reactors_stop(void)
{
	uint64_t one = 1;

	for (int i = 0; i < g_nr_reactors; i++) {
		atomic_store(&g_reactors[i].stop, true);
		if (write(g_reactors[i].wake.fd, &one, sizeof(one)) < 0)
			LOG_ERR("waking reactor %d: %s", i, strerror(errno));
	}
	for (int i = 0; i < g_nr_reactors; i++)
		pthread_join(g_reactors[i].thread, NULL);
}

/* ==================================================================== */
/* Target options                                                      */
/* ==================================================================== */

static void nvmf_target_usage(FILE *f)
{
	fprintf(f,
		"usage: nvmf [target] [options]\n"
		"  -l, --listen ADDR:PORT      serve NVMe/TCP on ADDR:PORT (repeatable;\n"
		"                              default 127.0.0.1:4420; IPv6 as [::1]:4420);\n"
		"                              rdma:ADDR:PORT serves NVMe/RDMA on an RDMA NIC\n"
		"  -D, --discovery-port PORT   also serve discovery alone on PORT of each\n"
		"                              listen address (default 8009; 0 = no)\n"
		"  -s, --subsys NQN            add a subsystem; the --ns and --host options\n"
		"                              after it belong to it (default %s)\n"
		"  -n, --ns SPEC               namespace: ram:SIZE[:BS] (SIZE of memory,\n"
		"                              held from the start), null:SIZE[:BS] (keeps\n"
		"                              nothing), file:PATH[:BS][:ro] (a file or block\n"
		"                              device), nvme:BDF[/NSID] a PCI NVMe SSD bound to\n"
		"                              vfio-pci (e.g. nvme:0000:00:04.0), driven by\n"
		"                              pcie_nvme.c, sim:SIZE[:BS] the same driver on a\n"
		"                              simulated SSD;\n"
		"                              SIZE like 64M or 1G, BS 512 or 4096 (default %s)\n"
		"      --host NQN              allow only this host NQN (repeatable)\n"
		"      --dhchap-key KEY        the --host before it must authenticate with\n"
		"                              DH-HMAC-CHAP using this DHHC-1 secret (the\n"
		"                              string, or a file holding it, as written by\n"
		"                              nvme gen-dhchap-key), on every I/O subsystem\n"
		"      --dhchap-ctrl-key KEY   and we prove ourselves with this one when the\n"
		"                              host asks (bidirectional)\n"
		"      --dhchap-discovery      the discovery controller asks for the secrets\n"
		"                              too (nvme-cli 2.3's nvme discover cannot answer)\n"
		"      --dhchap-digests LIST   hashes allowed (default sha256,sha384,sha512)\n"
		"      --dhchap-dhgroups LIST  DH groups allowed (default null,ffdhe2048,\n"
		"                              ffdhe3072,ffdhe4096,ffdhe6144,ffdhe8192)\n"
		"  -m, --cpumask MASK          one reactor per core in MASK, pinned (e.g. 0x3)\n"
		"  -i, --max-io-size SIZE      MDTS: the most data one command carries,\n"
		"                              a power of two (default %uK over TCP,\n"
		"                              128K over RDMA)\n"
		"      --buffer-pool SIZE      data buffers each reactor may hold for the\n"
		"                              commands in flight (default %uM); a command\n"
		"                              that finds none free waits for one\n"
		"  -r, --rpc-socket PATH       JSON-RPC (SPDK's methods) on PATH\n"
		"                              (default /var/tmp/spdk.sock)\n"
		"  -c, --config FILE           load a config: SPDK JSON (save_config's),\n"
		"                              nvmetcli JSON or legacy INI; no default\n"
		"                              subsystem then\n"
		"      --empty                 no default subsystem or listener: configure\n"
		"                              everything over RPC, as with SPDK's nvmf_tgt\n"
		"  -v, --verbose               more logging (-vv: debug)\n"
		"      --trace                 print every PDU and command, one line each\n"
		"      --icreq-timeout MS      close a TCP connection with no ICReq MS after\n"
		"                              accept (default 5000)\n"
		"      --connect-timeout MS    ... with no Connect MS after ICResp (5000;\n"
		"                              RDMA: MS after the CM request)\n"
		"      --pdu-timeout MS        ... that leaves a PDU unfinished MS (10000)\n"
		"      --max-unconnected N     TCP and RDMA connections that have not sent\n"
		"                              Connect: at most N (default 256); beyond,\n"
		"                              a newcomer takes the place of the oldest\n"
		"                              from the address with the most, if that has\n"
		"                              2 more than its own, else it is closed (RDMA:\n"
		"                              the CM request is rejected)\n"
		"      --max-unconnected-per-host N   ... at most N from one address\n"
		"                              (default 130); beyond, new ones are closed\n"
		"      --version               say what was built\n"
		"other subcommands: nvmf discover|identify|perf|rpc|config|sim --help\n"
		"(--trace and -v may also come first: nvmf --trace identify -r ...)\n",
		NVMF_DEFAULT_NQN, NVMF_DEFAULT_NS, NVMF_TCP_MAX_IO_DEFAULT >> 10,
		NVMF_BUF_POOL_DEFAULT >> 20);
}

/* "ADDR:PORT" or "[V6]:PORT", an optional "tcp:" or "rdma:" in front. */
static int nvmf_parse_listen(const char *arg, struct nvmf_listener *l)
{
	const char *colon;

	l->trtype = NVMF_TRTYPE_TCP;
	if (!strncmp(arg, "tcp:", 4))
		arg += 4;
	else if (!strncmp(arg, "rdma:", 5)) {
		if (!NVMF_HAVE_RDMA) {
			fprintf(stderr, "nvmf: rdma: not built (install libibverbs-dev librdmacm-dev and rebuild)\n");
			return -EINVAL;
		}
		arg += 5;
		l->trtype = NVMF_TRTYPE_RDMA;
	}
	colon = strrchr(arg, ':');
	if (!colon || colon == arg || !colon[1] || strlen(colon + 1) >= sizeof(l->trsvcid))
		return -EINVAL;
	if (arg[0] == '[' && colon[-1] == ']')
		snprintf(l->traddr, sizeof(l->traddr), "%.*s", (int)(colon - arg - 2), arg + 1);
	else
		snprintf(l->traddr, sizeof(l->traddr), "%.*s", (int)(colon - arg), arg);
	snprintf(l->trsvcid, sizeof(l->trsvcid), "%s", colon + 1);
	l->poller.fd = -1;
	return 0;
}

/* Append a copy of tmpl to the listeners. Port IDs count up from 1 in
 * the order ports were given, so the discovery log's PORTID is stable
 * from one run of the same command line to the next. */
static struct nvmf_listener *nvmf_listener_add(const struct nvmf_listener *tmpl)
{
	static uint16_t portid;
	struct nvmf_listener *l = calloc(1, sizeof(*l)), **pp;

	if (!l)
		return NULL;
	*l = *tmpl;
	l->portid = ++portid;
	for (pp = &g_listeners; *pp; pp = &(*pp)->next)
		;
	*pp = l;
	return l;
}

/* 0.0.0.0 and :: listen on every address: a discovery port there
 * already covers any specific address of the same family. */
static bool nvmf_is_wildcard(const char *addr)
{
	return !strcmp(addr, "0.0.0.0") || !strcmp(addr, "::");
}

/* Add the discovery-only listeners: port disc_port on every listen
 * address that does not already serve it. */
static int nvmf_add_discovery_listeners(const char *disc_port)
{
	struct nvmf_listener *io_end = NULL;

	for (struct nvmf_listener *l = g_listeners; l; l = l->next)
		io_end = l;
	for (struct nvmf_listener *l = g_listeners; l; l = l->next) {
		struct nvmf_listener d = *l, *x;
		bool dup = false;

		/* A wildcard address already covers the specific ones. */
		for (x = g_listeners; x; x = x->next)
			if ((!strcmp(x->traddr, l->traddr) && !strcmp(x->trsvcid, disc_port)) ||
			    (nvmf_is_wildcard(x->traddr) && !nvmf_is_wildcard(l->traddr) &&
			     !strchr(x->traddr, ':') == !strchr(l->traddr, ':')))
				dup = true;
		if (!dup) {
			snprintf(d.trsvcid, sizeof(d.trsvcid), "%s", disc_port);
			d.discovery_only = true;
			d.next = NULL;
			if (!nvmf_listener_add(&d))
				return -ENOMEM;
		}
		if (l == io_end)
			break;
	}
	return 0;
}

/* Long options without a letter: the connection deadlines and limits. */
enum {
	NVMF_OPT_ICREQ_MS = 256, NVMF_OPT_CONNECT_MS, NVMF_OPT_PDU_MS,
	NVMF_OPT_MAX_UNCONN, NVMF_OPT_MAX_UNCONN_HOST,
};

/* Set the tcp.c deadline or limit that option opt names. Returns 0, or
 * -EINVAL after saying what a good value looks like. */
static int nvmf_parse_limit(int opt, const char *arg)
{
	unsigned *dst[] = {
		[NVMF_OPT_ICREQ_MS - 256] = &g_tcp_icreq_ms,
		[NVMF_OPT_CONNECT_MS - 256] = &g_tcp_connect_ms,
		[NVMF_OPT_PDU_MS - 256] = &g_tcp_pdu_ms,
		[NVMF_OPT_MAX_UNCONN - 256] = &g_door_max,
		[NVMF_OPT_MAX_UNCONN_HOST - 256] = &g_door_max_per_host,
	};
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || *end || !*arg || v == 0 || v > 3600000) {
		fprintf(stderr, "nvmf: bad value '%s' (want a whole number from 1 up: "
			"milliseconds for a timeout, connections for a limit)\n", arg);
		return -EINVAL;
	}
	*dst[opt - 256] = v;
	return 0;
}

struct nvmf_opts {
	uint64_t cpumask;
	const char *disc_port;
	bool any_ns;
	const char *rpc_path;		/* -r; NULL: rpc.c's default */
	const char *config;		/* -c */
	bool empty;			/* --empty */
};

/* -i SIZE or --buffer-pool SIZE (K/M/G suffixes): checked together,
 * since the pool must hold one command of MDTS. */
static int nvmf_parse_buffers(int opt, const char *arg, char *err, size_t errlen)
{
	uint64_t max_io = g_tcp_max_io_size, pool = g_buf_pool_size, v;

	if (bdev_parse_size(arg, &v)) {
		snprintf(err, errlen, "bad size '%s' (like 1M or 65536)", arg);
		return -EINVAL;
	}
	*(opt == 'i' ? &max_io : &pool) = v;
	if (tcp_set_buffers(max_io, pool, err, errlen))
		return -EINVAL;
	if (opt == 'i')		/* -i is for both transports */
		g_rdma_max_io_size = max_io;
	return 0;
}

/*
 * The DH-HMAC-CHAP options (auth.c): a secret for the last --host, or the
 * hashes and groups we allow. key keeps the host secret for a
 * --dhchap-ctrl-key after it. Returns 0, or -EINVAL with err filled.
 */
static int nvmf_opt_dhchap(int c, const char *host, char *key, size_t klen, char *err,
			   size_t errlen)
{
	char ctrl[256];
	int rc;

	if (c == 'G' || c == 'g') {
		rc = c == 'G' ? auth_set_digests(optarg) : auth_set_dhgroups(optarg);
		if (rc)
			snprintf(err, errlen, "'%s': want a list like %s", optarg,
				 c == 'G' ? "sha256,sha512" : "null,ffdhe2048,ffdhe4096");
		return rc;
	}
	if (!host || (c == 'C' && !key[0])) {
		snprintf(err, errlen, "--dhchap-key and --dhchap-ctrl-key follow a --host NQN, "
			 "the key before the controller key");
		return -EINVAL;
	}
	if (auth_secret_load(optarg, c == 'K' ? key : ctrl, c == 'K' ? klen : sizeof(ctrl))) {
		snprintf(err, errlen, "cannot read secret file '%s': %s", optarg, strerror(errno));
		return -EINVAL;
	}
	rc = auth_host_set(NULL, host, key, c == 'C' ? ctrl : NULL, err, errlen);
	explicit_bzero(ctrl, sizeof(ctrl));
	return rc;
}

/* Parse the target's options into subsystems and listeners. Returns 0,
 * or 2 after printing usage or an error. */
static int nvmf_target_parse(int argc, char **argv, struct nvmf_opts *o)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "discovery-port", required_argument, NULL, 'D' },
		{ "subsys", required_argument, NULL, 's' },
		{ "ns", required_argument, NULL, 'n' },
		{ "host", required_argument, NULL, 'H' },
		{ "dhchap-key", required_argument, NULL, 'K' },
		{ "dhchap-ctrl-key", required_argument, NULL, 'C' },
		{ "dhchap-digests", required_argument, NULL, 'G' },
		{ "dhchap-dhgroups", required_argument, NULL, 'g' },
		{ "dhchap-discovery", no_argument, NULL, 'Y' },
		{ "cpumask", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "trace", no_argument, NULL, 'T' },
		{ "rpc-socket", required_argument, NULL, 'r' },
		{ "config", required_argument, NULL, 'c' },
		{ "empty", no_argument, NULL, 'E' },
		{ "max-io-size", required_argument, NULL, 'i' },
		{ "buffer-pool", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ "icreq-timeout", required_argument, NULL, NVMF_OPT_ICREQ_MS },
		{ "connect-timeout", required_argument, NULL, NVMF_OPT_CONNECT_MS },
		{ "pdu-timeout", required_argument, NULL, NVMF_OPT_PDU_MS },
		{ "max-unconnected", required_argument, NULL, NVMF_OPT_MAX_UNCONN },
		{ "max-unconnected-per-host", required_argument, NULL, NVMF_OPT_MAX_UNCONN_HOST },
		{ 0 },
	};
	struct nvmf_subsys *cur = NULL;
	const char *host = NULL;	/* the last --host, for --dhchap-key */
	char err[256], key[256] = "";
	int c;

	o->disc_port = "8009";
	while ((c = getopt_long(argc, argv, "l:D:s:n:m:vhr:c:i:", longopts, NULL)) != -1) {
		struct nvmf_listener l = { 0 };
		struct nvmf_bdev *b;
		char *end;

		switch (c) {
		case 'l':
			if (nvmf_parse_listen(optarg, &l) || !nvmf_listener_add(&l)) {
				fprintf(stderr, "nvmf: bad listen address '%s' (want ADDR:PORT)\n", optarg);
				return 2;
			}
			break;
		case 'D':
			o->disc_port = optarg;
			break;
		case 's':
			cur = nvmf_subsys_add(optarg, err, sizeof(err));
			if (!cur)
				goto bad;
			break;
		case 'n':
			if (!cur && !(cur = nvmf_subsys_add(NVMF_DEFAULT_NQN, err, sizeof(err))))
				goto bad;
			if (bdev_create(optarg, &b, err, sizeof(err)))
				goto bad;
			if (nvmf_subsys_add_ns(cur, b, err, sizeof(err))) {
				bdev_free(b);
				goto bad;
			}
			o->any_ns = true;
			break;
		case 'H':
			if (!cur && !(cur = nvmf_subsys_add(NVMF_DEFAULT_NQN, err, sizeof(err))))
				goto bad;
			if (nvmf_subsys_add_host(cur, optarg)) {
				snprintf(err, sizeof(err), "'%s' is not a host NQN", optarg);
				goto bad;
			}
			host = optarg;
			key[0] = 0;
			break;
		case 'Y':
			g_auth_discovery = true;
			break;
		case 'K':
		case 'C':
		case 'G':
		case 'g':
			if (nvmf_opt_dhchap(c, host, key, sizeof(key), err, sizeof(err)))
				goto bad;
			break;
		case 'm':
			o->cpumask = strtoull(optarg, &end, 16);
			if (*end || !o->cpumask) {
				fprintf(stderr, "nvmf: bad core mask '%s' (hex, like 0x3)\n", optarg);
				return 2;
			}
			break;
		case 'v':
			g_log_level++;
			break;
		case 'T':
			g_trace = true;
			break;
		case 'r':
			o->rpc_path = optarg;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'E':
			o->empty = true;
			break;
		case 'i':
		case 'B':
			if (nvmf_parse_buffers(c, optarg, err, sizeof(err)))
				goto bad;
			break;
		case 'h':
			nvmf_target_usage(stdout);
			exit(0);
		case NVMF_OPT_ICREQ_MS:
		case NVMF_OPT_CONNECT_MS:
		case NVMF_OPT_PDU_MS:
		case NVMF_OPT_MAX_UNCONN:
		case NVMF_OPT_MAX_UNCONN_HOST:
			if (nvmf_parse_limit(c, optarg))
				return 2;
			break;
		default:
			nvmf_target_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "nvmf: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	return 0;
bad:
	fprintf(stderr, "nvmf: %s\n", err);
	return 2;
}

/* Fill in what the user left out: one subsystem with one RAM namespace
 * on 127.0.0.1:4420, discovery on 8009. */
static int nvmf_target_defaults(struct nvmf_opts *o)
{
	char err[256];
	struct nvmf_bdev *b;

	if (o->config || o->empty)	/* the config file or RPC says it all */
		return 0;
	if (!g_subsystems && !nvmf_subsys_add(NVMF_DEFAULT_NQN, err, sizeof(err)))
		return -EINVAL;
	if (!o->any_ns && !g_subsystems->next && !g_subsystems->ns[0]) {
		if (bdev_create(NVMF_DEFAULT_NS, &b, err, sizeof(err)) ||
		    nvmf_subsys_add_ns(g_subsystems, b, err, sizeof(err)))
			return -ENOMEM;
	}
	if (!g_listeners) {
		struct nvmf_listener l = { 0 };

		nvmf_parse_listen("127.0.0.1:4420", &l);
		if (!nvmf_listener_add(&l))
			return -ENOMEM;
	}
	if (strcmp(o->disc_port, "0"))
		return nvmf_add_discovery_listeners(o->disc_port);
	return 0;
}

/* ==================================================================== */
/* The target                                                          */
/* ==================================================================== */

/*
 * `nvmf -c FILE`: config.c reads FILE, whatever its format (SPDK JSON,
 * nvmetcli JSON, legacy INI), into SPDK's save_config shape, and rpc.c's
 * rpc_load_config applies that, method by method, as load_config would.
 * Two calls from here: the file never reaches rpc.c as a path.
 */
static int nvmf_load_config_file(const char *path, char *err, size_t errlen)
{
	struct json_object *cfg;
	int rc;

	rc = config_load_file(path, &cfg, err, errlen);
	if (rc)
		return rc;
	rc = rpc_load_config(cfg, err, errlen);
	json_object_put(cfg);
	return rc;
}

/* Say what listens where and how to reach it, with the exact commands. */
static void nvmf_banner(void)
{
	struct nvmf_listener *io = NULL, *disc = NULL;

	printf("nvmf %s: NVMe over Fabrics target (NVMe/TCP%s)\n", NVMF_VERSION,
	       NVMF_HAVE_RDMA ? ", NVMe/RDMA" : "; built without RDMA");
	for (struct nvmf_subsys *s = g_subsystems; s; s = s->next) {
		printf("  subsystem %s (%s)\n", s->nqn, s->allow_any_host ? "any host" : "allow list");
		for (int i = 0; i < s->nr_hosts; i++)
			printf("    host %s\n", s->hosts[i]);
		for (int i = 0; i < NVMF_MAX_NS; i++) {
			struct nvmf_bdev *b = s->ns[i] ? s->ns[i]->bdev : NULL;

			if (b)
				printf("    nsid %u: %s, %llu MiB, %u-byte blocks\n", s->ns[i]->nsid,
				       b->name, (unsigned long long)((b->nblocks * b->blksz) >> 20), b->blksz);
		}
	}
	for (struct nvmf_listener *l = g_listeners; l; l = l->next) {
		printf("  listening on %s %s:%s (%s)\n", l->trtype == NVMF_TRTYPE_RDMA ? "rdma" : "tcp",
		       l->traddr, l->trsvcid,
		       l->discovery_only ? "discovery" : "I/O and discovery");
		if (!l->discovery_only && !io)
			io = l;
		if (l->discovery_only && !disc)
			disc = l;
	}
	printf("  MDTS %u KiB over TCP (%u KiB over RDMA), buffer pool %llu KiB per reactor\n",
	       g_tcp_max_io_size >> 10, g_rdma_max_io_size >> 10,
	       (unsigned long long)(g_buf_pool_size >> 10));
	printf("  MAXCMD %u, in-capsule data %u bytes, %d reactor(s)\n",
	       g_limits.max_queue_depth, g_limits.io_icd, g_nr_reactors);
	/* Not always rpc.py's default path: rpc.c may have moved it (a
	 * path already taken), and then its warning above says why. */
	if (rpc_socket_path())
		printf("  JSON-RPC on %s\n", rpc_socket_path());
	else
		printf("  JSON-RPC off: the warning above says why\n");
	if (!io || !g_subsystems) {
		printf("no subsystem or I/O listener yet: configure with ./nvmf rpc or scripts/rpc.py\n");
		return;
	}
	if (io->trtype == NVMF_TRTYPE_RDMA) {
		printf("try:\n  nvme discover -t rdma -a %s -s %s\n", io->traddr, io->trsvcid);
		printf("  nvme connect -t rdma -a %s -s %s -n %s\n", io->traddr, io->trsvcid,
		       g_subsystems->nqn);
		fflush(stdout);
		return;
	}
	printf("try:\n  nvme discover -t tcp -a %s -s %s\n", io->traddr,
	       disc ? disc->trsvcid : io->trsvcid);
	printf("  nvme connect -t tcp -a %s -s %s -n %s\n", io->traddr, io->trsvcid,
	       g_subsystems->nqn);
	printf("  ./nvmf perf -q 32 -o 4096 -w randread -t 5 -r 'trtype:TCP traddr:%s trsvcid:%s subnqn:%s'\n",
	       io->traddr, io->trsvcid, g_subsystems->nqn);
	fflush(stdout);
}

static void nvmf_target_cleanup(void)
{
	struct nvmf_listener *l, *next;

	for (l = g_listeners; l; l = next) {
		next = l->next;
		if (l->trtype == NVMF_TRTYPE_RDMA)
			rdma_port_unlisten(l);
		else
			tcp_unlisten(l);
		free(l);
	}
	g_listeners = NULL;
	for (int i = 0; i < g_nr_reactors; i++) {
		close(g_reactors[i].epfd);
		close(g_reactors[i].wake.fd);
	}
	free(g_reactors);
	nvmf_fini();
	auth_fini();
	config_keys_remove();	/* the key files -c FILE made: not past our exit */
}

/*
 * The target: parse, build the configuration, open every listener before
 * any reactor runs (a port in use fails the start, not a later Connect),
 * start the reactors, load the config file and open RPC, then wait for
 * SIGINT/SIGTERM and tear down in the reverse order.
 */
static int nvmf_target_main(int argc, char **argv)
{
	struct nvmf_opts o = { 0 };
	char err[512];
	sigset_t sigs;
	int sig, rc;

	rc = nvmf_target_parse(argc, argv, &o);
	if (rc || nvmf_target_defaults(&o)) {
		nvmf_target_cleanup();
		return rc ? rc : 1;
	}
	nvmf_init();
	g_nr_reactors = o.cpumask ? __builtin_popcountll(o.cpumask) : 1;
	g_reactors = calloc(g_nr_reactors, sizeof(*g_reactors));
	for (int i = 0; i < g_nr_reactors; i++)
		if (nvmf_reactor_init(&g_reactors[i], i))
			return 1;
	for (struct nvmf_listener *l = g_listeners; l; l = l->next) {
		if ((l->trtype == NVMF_TRTYPE_RDMA ? rdma_port_listen : tcp_listen)(l, err, sizeof(err))) {
			fprintf(stderr, "nvmf: %s\n", err);
			nvmf_target_cleanup();
			return 1;
		}
	}
	/* Signals go to this thread only, through sigwait(). */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (nvmf_reactors_start(o.cpumask)) {
		fprintf(stderr, "nvmf: cannot start reactor threads\n");
		return 1;
	}
	/* The control plane: the config file, then the RPC socket. Both
	 * change the configuration through the same RPC methods, so a file
	 * can do nothing a client could not, and is checked the same way. */
	if ((o.config && nvmf_load_config_file(o.config, err, sizeof(err))) ||
	    rpc_start(o.rpc_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "nvmf: %s\n", err);
		rpc_stop();
		nvmf_reactors_stop();
		nvmf_target_cleanup();
		return 1;
	}
	pthread_rwlock_rdlock(&g_config_lock);	/* the RPC thread may be changing it */
	nvmf_banner();
	pthread_rwlock_unlock(&g_config_lock);
	sigwait(&sigs, &sig);
	LOG_INFO("%s: shutting down", strsignal(sig));
	rpc_stop();
	nvmf_reactors_stop();
	nvmf_target_cleanup();
	return 0;
}

/* ==================================================================== */
/* Entry point                                                         */
/* ==================================================================== */

/*
 * Options that mean the same to several subcommands may come before the
 * subcommand: `nvmf --trace identify -r ...` is `nvmf identify --trace -r
 * ...`. They are --trace and -v (--verbose, -vv). When a subcommand
 * follows them, move its name in front of them, so that the subcommand's
 * own parser reads them (sim takes --trace but not -v, and says so in its
 * usage). rpc and config talk to a socket or a file and have no use for
 * either: refuse, naming the option. With no subcommand after them, argv
 * stays as it is: the target parses them among its options. Returns 0, or
 * 2 after saying what was wrong.
 */
static int nvmf_global_opts_first(int argc, char **argv)
{
	static const char *const takers[] = { "target", "discover", "identify", "perf", "sim" };
	int n = 1;
	char *cmd;

	while (n < argc && (!strcmp(argv[n], "--trace") || !strcmp(argv[n], "--verbose") ||
			    (argv[n][0] == '-' && argv[n][1] == 'v' &&
			     strspn(argv[n] + 1, "v") == strlen(argv[n] + 1))))
		n++;
	if (n == 1 || n == argc)
		return 0;
	if (!strcmp(argv[n], "rpc") || !strcmp(argv[n], "config")) {
		fprintf(stderr, "nvmf: '%s' takes no %s (it is for the target, discover, identify, "
			"perf and sim)\n", argv[n], argv[1]);
		return 2;
	}
	for (size_t i = 0; i < ARRAY_SIZE(takers); i++) {
		if (strcmp(argv[n], takers[i]))
			continue;
		cmd = argv[n];
		memmove(argv + 2, argv + 1, (n - 1) * sizeof(*argv));
		argv[1] = cmd;
		break;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (nvmf_global_opts_first(argc, argv))
		return 2;
	cmd = argc > 1 ? argv[1] : "target";
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "--version")) {
		if (NVMF_HAVE_RDMA)
			printf("nvmf %s (transports: tcp, rdma)\n", NVMF_VERSION);
		else
			printf("nvmf %s (transports: tcp; rdma: not built (install libibverbs-dev librdmacm-dev))\n",
			       NVMF_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "discover"))
		return host_discover_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "identify"))
		return host_identify_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "perf"))
		return host_perf_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "rpc"))			/* rpc_client.c */
		return rpc_client_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "config"))
		return config_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "sim"))		/* the simulated NVMe device, sim/ */
		return sim_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		nvmf_target_usage(stdout);
		return 0;
	}
	if (argc > 1 && !strcmp(cmd, "target"))
		return nvmf_target_main(argc - 1, argv + 1);
	return nvmf_target_main(argc, argv);	/* options straight away */
}
