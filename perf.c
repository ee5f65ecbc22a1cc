/*
 * perf.c - `nvmf perf`: DEPTH commands in flight on one I/O queue, for a
 * time, with SPDK perf's options (-q -o -w -M -t -c -r), and with
 * --verify a check of every block read against what the run wrote there.
 *
 * Sections, in order: the workload and its verification (pattern, pick,
 * submit, complete, the loop); setup and the entry point (geometry, the
 * I/O queue, buffers, the report, host_perf_main).
 *
 * The controller comes from host.c (host_ctrl_connect) and the I/O queue
 * from host_queue.c; perf only decides what to send and checks what
 * comes back.
 *
 * Tutorial chapter 05 reads this file after host.c and host_queue.c.
 */
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "nvmf.h"
#include "host.h"

/* This file's own constants; the shared ones are in host.h. */
#define HOST_VERIFY_REGION	(64ull << 20)
#define HOST_MAX_PRINT		20
#define HOST_GEN_UNKNOWN	0xffffffffu	/* verify: after a failed write */

/* ==================================================================== */
/* nvmf perf: the workload and its verification                        */
/* ==================================================================== */

/* Per command slot: what the I/O in it does. */
struct host_perf_io {
	uint64_t unit;			/* offset, in io_size units */
	uint64_t start_ns;
	uint32_t gen;			/* verify: the generation it writes */
	bool write;
};

/*
 * One run: what was asked (the options), the I/O queue and its buffers
 * while it runs, the --verify tables, and the counters the report prints.
 * Everything lives on one thread, so nothing here needs a lock.
 */
struct host_perf {
	unsigned depth, seconds;	/* what to do */
	uint32_t io_size, nsid;
	int read_pct;			/* 100 read, 0 write, else a mix */
	bool rand, verify;
	uint32_t bs, lbas_per_io;	/* the namespace, in io_size units */
	uint64_t nunits, next_unit;
	struct host_queue *q;		/* running */
	uint8_t *bufs;			/* depth * io_size */
	struct host_perf_io *ios;	/* by CID */
	unsigned inflight;
	bool prefill;			/* verify: the initial pattern pass */
	uint64_t rng;
	/* Two I/Os in flight on one unit would leave its content undefined
	 * (either may land last), so --verify keeps at most one per unit. */
	uint8_t *busy;			/* verify: by unit, an I/O is in flight */
	uint32_t *gen;			/* verify: by block, what it holds */
	uint32_t wgen;
	uint64_t key;			/* verify: this run's pattern key */
	uint8_t *scratch;		/* verify: one block of expected data */
	uint64_t ios_done, lat_sum_ns, lat_min_ns, lat_max_ns;	/* results */
	uint64_t errors, mismatches;
};

/* Ctrl-C ends the timed phase early: the loop drains what is in flight
 * and the report still prints, as SPDK perf does. */
static volatile sig_atomic_t host_interrupted;

static void host_on_sigint(int sig)
{
	(void)sig;
	host_interrupted = 1;
}

/*
 * What a block holds after write generation gen: a header of its LBA, the
 * run's key and gen, then a xorshift stream seeded by all three. A stale,
 * misplaced or torn block cannot match.
 *
 *   0        8         12        16                           bs
 *   +--------+---------+---------+----------------------------+
 *   |  LBA   | key lo  |   gen   | xorshift(key, lba, gen)... |
 *   +--------+---------+---------+----------------------------+
 */
static void host_pattern(uint8_t *blk, uint32_t bs, uint64_t lba, uint32_t gen, uint64_t key)
{
	uint64_t s = key ^ (lba * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)gen << 20) ^ 1;
	uint64_t w = htole64(lba);

	memcpy(blk, &w, 8);
	w = htole64((uint64_t)gen << 32 | (uint32_t)key);
	memcpy(blk + 8, &w, 8);
	for (uint32_t off = 16; off < bs; off += 8) {
		w = htole64(host_rand(&s));
		memcpy(blk + off, &w, 8);
	}
}

/* Check a read's blocks against what we last wrote there; count every
 * mismatching block and print the first HOST_MAX_PRINT. */
static void host_perf_check(struct host_perf *p, const uint8_t *buf, uint64_t lba0)
{
	for (uint32_t i = 0; i < p->lbas_per_io; i++) {
		const uint8_t *got = buf + (size_t)i * p->bs;
		uint64_t lba = lba0 + i, e, g;
		uint32_t off = 0;

		if (p->gen[lba] == HOST_GEN_UNKNOWN)
			continue;
		host_pattern(p->scratch, p->bs, lba, p->gen[lba], p->key);
		if (!memcmp(got, p->scratch, p->bs))
			continue;
		while (!memcmp(got + off, p->scratch + off, 8))
			off += 8;
		memcpy(&e, p->scratch + off, 8);
		memcpy(&g, got + off, 8);
		if (++p->mismatches <= HOST_MAX_PRINT)
			printf("verify mismatch: lba %" PRIu64 " offset %u: expected 0x%016" PRIx64
			       " got 0x%016" PRIx64 "\n", lba, off, le64toh(e), le64toh(g));
	}
}

/* Pick the next unit: sequential or uniformly random; with --verify skip
 * units in flight. Returns false if none can be used now. */
static bool host_perf_pick(struct host_perf *p, uint64_t *unit)
{
	uint64_t u = p->rand && !p->prefill ? (host_rand(&p->rng) >> 11) % p->nunits : p->next_unit;

	if (p->prefill && u >= p->nunits)
		return false;
	for (uint64_t tries = 0; p->verify && p->busy[u] && tries < p->nunits; tries++)
		u = (u + 1) % p->nunits;
	if (p->verify && p->busy[u])
		return false;
	if (!p->rand || p->prefill)
		p->next_unit = p->prefill ? u + 1 : (u + 1) % p->nunits;
	*unit = u;
	return true;
}

/* Start one Read or Write [NVM-1.0c §3.2.4, §3.2.6] on a free slot; with
 * --verify a write carries each block's pattern. False if none can start. */
static bool host_perf_submit(struct host_perf *p)
{
	struct nvme_sqe sqe = { .flags = NVME_PSDT_SGL_MPTR_CONTIG << NVME_SQE_PSDT_SHIFT };
	struct host_perf_io *io;
	struct host_cmd *c;
	uint64_t unit, slba;
	uint8_t *buf;

	if (!p->q->nr_free || !host_perf_pick(p, &unit))
		return false;
	c = host_cmd_get(p->q);
	io = &p->ios[c->cid];
	buf = p->bufs + (size_t)c->cid * p->io_size;
	slba = unit * p->lbas_per_io;
	io->unit = unit;
	io->write = p->prefill || (int)(host_rand(&p->rng) % 100) >= p->read_pct;
	if (p->verify && io->write) {
		io->gen = p->prefill ? 0 : ++p->wgen % HOST_GEN_UNKNOWN;
		for (uint32_t i = 0; i < p->lbas_per_io; i++)
			host_pattern(buf + (size_t)i * p->bs, p->bs, slba + i, io->gen, p->key);
	}
	if (p->verify)
		p->busy[unit] = 1;
	sqe.opcode = io->write ? NVME_CMD_WRITE : NVME_CMD_READ;
	sqe.nsid = htole32(p->nsid);
	sqe.cdw10 = htole32((uint32_t)slba);
	sqe.cdw11 = htole32((uint32_t)(slba >> 32));
	sqe.cdw12 = htole32(p->lbas_per_io - 1);	/* NLB, 0's based */
	/* The latency clock starts before the capsule is queued: it counts
	 * our own send path too, as SPDK perf's does. */
	io->start_ns = host_now_ns();
	host_cmd_submit(p->q, c, &sqe, buf, p->io_size);
	p->inflight++;
	return true;
}

/* A completion: its latency, a failure, and with --verify what a write
 * left or what a read found. */
static void host_perf_complete(struct host_perf *p, struct host_cmd *c)
{
	struct host_perf_io *io = &p->ios[c->cid];
	uint64_t lat = host_now_ns() - io->start_ns, slba = io->unit * p->lbas_per_io;
	uint16_t st = host_status(&c->cqe);
	char s[96];

	if (!p->prefill) {
		p->ios_done++;
		p->lat_sum_ns += lat;
		p->lat_min_ns = lat < p->lat_min_ns ? lat : p->lat_min_ns;
		p->lat_max_ns = lat > p->lat_max_ns ? lat : p->lat_max_ns;
	}
	if (st && ++p->errors <= 5)
		printf("I/O failed: %s lba %" PRIu64 " (%u blocks) cid %u: %s\n", io->write ? "write" :
		       "read", slba, p->lbas_per_io, c->cid, host_status_str(st, &c->sqe, p->q->qid, s, sizeof(s)));
	if (p->verify && io->write)
		for (uint32_t i = 0; i < p->lbas_per_io; i++)
			p->gen[slba + i] = st ? HOST_GEN_UNKNOWN : io->gen;
	else if (p->verify && !st)
		host_perf_check(p, c->buf, slba);
	if (p->verify)
		p->busy[io->unit] = 0;
	host_cmd_put(p->q, c);
	p->inflight--;
}

/*
 * Keep the controller alive during a long run [BASE-2.0c §5.25]: a Keep
 * Alive every KATO/2 on the admin queue, its answer reaped as it comes.
 * The admin socket is touched only then, not on every pass. Returns 0 or
 * -errno when the admin queue is dead.
 */
static int host_keep_alive(struct host_ctrl *c, uint64_t now)
{
	struct nvme_sqe sqe = { .opcode = NVME_ADM_KEEP_ALIVE };
	int rc;

	if (!c->kato_ms || (!c->ka && now < c->next_ka_ns))
		return 0;
	rc = host_queue_process(c->aq);
	if (rc)
		return rc;
	if (c->ka && c->ka->done) {
		if (host_status(&c->ka->cqe))
			host_print_status("Keep Alive", &sqe, 0, &c->ka->cqe);
		host_cmd_put(c->aq, c->ka);
		c->ka = NULL;
	}
	if (c->ka || now < c->next_ka_ns || !(c->ka = host_cmd_get(c->aq)))
		return 0;
	host_cmd_submit(c->aq, c->ka, &sqe, NULL, 0);
	c->next_ka_ns = now + c->kato_ms * 500000ull;
	return host_flush(c->aq);
}

/*
 * The event loop: keep DEPTH I/Os in flight until end_ns (when
 * prefilling: until every unit is written), then wait for the rest. Each
 * pass submits, sends in one writev() batch, parses all that arrived and
 * reaps completions. Like the target's reactor it spins while work came
 * in the last millisecond (a wakeup from poll() costs more than a QD1
 * round trip), and sleeps in poll() only after that.
 */
static int host_perf_loop(struct host_perf *p, struct host_ctrl *c, uint64_t end_ns)
{
	uint64_t drain_end = 0, last_work = host_now_ns();
	int rc = 0;

	while (rc == 0) {
		uint64_t now = host_now_ns();
		bool stop = p->prefill ? p->next_unit >= p->nunits : now >= end_ns || host_interrupted;
		struct pollfd pfd[2] = { { .fd = host_queue_fd(p->q), .events = POLLIN },
					 { .fd = host_queue_fd(c->aq), .events = POLLIN } };

		while (!stop && p->inflight < p->depth && host_perf_submit(p))
			;
		if (stop && !p->inflight)
			break;
		if (stop && !drain_end)
			drain_end = now + HOST_TIMEOUT_MS * 1000000ull;
		if (drain_end && now > drain_end) {
			host_err("%u I/Os still outstanding %u ms after the end", p->inflight,
				 HOST_TIMEOUT_MS);
			return -ETIMEDOUT;
		}
		p->q->nr_done = 0;
		rc = host_queue_process(p->q);
		for (unsigned i = 0; rc == 0 && i < p->q->nr_done; i++)
			host_perf_complete(p, &p->q->cmds[p->q->done[i]]);
		if (rc == 0)
			rc = host_keep_alive(c, now);
		if (p->q->nr_done)
			last_work = now;
		if (rc == 0 && p->q->nr_done == 0 && now - last_work > 1000000) {
			pfd[0].events |= p->q->out_count ? POLLOUT : 0;
			poll(pfd, c->ka ? 2 : 1, 10);
		}
	}
	return rc;
}

/* ==================================================================== */
/* nvmf perf: setup and the entry point                                */
/* ==================================================================== */

/* Pin this thread to the first core of a hex mask, as SPDK's -c does. */
static int host_pin(const char *mask)
{
	unsigned long long m = strtoull(mask, NULL, 16);
	int core = m ? __builtin_ctzll(m) : -1;
	cpu_set_t set;

	if (core < 0) {
		host_err("core mask '%s' names no core", mask);
		return -EINVAL;
	}
	CPU_ZERO(&set);
	CPU_SET(core, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		host_err("cannot run on core %d: %s", core, strerror(errno));
		return -EINVAL;
	}
	return 0;
}

/*
 * The namespace's geometry (Identify Namespace [NVM-1.0c Fig. 114]), and
 * the I/O size checked against it and against MDTS (in units of
 * CAP.MPSMIN [BASE-2.0c Fig. 275]). With --verify the region is capped so
 * the expected-content table stays small.
 */
static int host_perf_geometry(struct host_perf *p, struct host_ctrl *c)
{
	struct nvme_id_ns *ns = calloc(1, sizeof(*ns));
	uint64_t mdts = c->id.mdts ? (4096ull << ((c->cap >> 48) & 0xf)) << c->id.mdts : 0;
	uint64_t nsze, region;
	int rc = ns ? 0 : -ENOMEM;

	if (!rc)
		rc = host_admin(c, NVME_ADM_IDENTIFY, p->nsid, NVME_CNS_NS, 0, 0, ns, sizeof(*ns),
				"Identify Namespace");
	nsze = rc ? 0 : le64toh(ns->nsze);
	p->bs = rc ? 0 : 1u << (ns->lbaf[ns->flbas & 0xf].lbads & 31);
	free(ns);
	if (rc)
		return rc;
	if (nsze == 0) {
		host_err("namespace %u is not active (NSZE 0)", p->nsid);
		return -ENODEV;
	}
	if (p->bs < 512 || p->io_size % p->bs || p->io_size / p->bs > 65536) {
		host_err("I/O size %u is not a multiple of the %u-byte block (or above 65536 blocks)",
			 p->io_size, p->bs);
		return -EINVAL;
	}
	if (mdts && p->io_size > mdts) {
		host_err("I/O size %u is above MDTS (%" PRIu64 " bytes)", p->io_size, mdts);
		return -EINVAL;
	}
	p->lbas_per_io = p->io_size / p->bs;
	region = p->verify && nsze > HOST_VERIFY_REGION / p->bs ? HOST_VERIFY_REGION / p->bs : nsze;
	p->nunits = region / p->lbas_per_io;
	if (p->nunits == 0) {
		host_err("I/O size %u is larger than the namespace", p->io_size);
		return -EINVAL;
	}
	host_info("namespace %u: %" PRIu64 " blocks of %u bytes; using %" PRIu64 " units of %u bytes",
		  p->nsid, nsze, p->bs, p->nunits, p->io_size);
	return 0;
}

/*
 * Ask for one I/O queue (Set Features Number of Queues, 0's based
 * [BASE-2.0c §5.27.1.7]) and connect it: its own TCP connection, Connect
 * with QID 1 and our CNTLID. SQSIZE is the depth (depth+1 entries, so a
 * full queue still has a free entry), capped by MQES and MAXCMD.
 */
static int host_perf_queue(struct host_perf *p, struct host_ctrl *c)
{
	uint32_t maxcmd = le16toh(c->id.maxcmd), mqes = c->cap & 0xffff;
	uint32_t sqsize = p->depth < 0xffff ? p->depth : 0xffff;
	uint16_t cntlid = c->cntlid;
	int rc;

	rc = host_admin(c, NVME_ADM_SET_FEATURES, 0, NVME_FEAT_NUM_QUEUES, 0, 0, NULL, 0,
			"Set Features (Number of Queues)");
	if (rc)
		return rc;
	sqsize = sqsize < maxcmd - 1 ? sqsize : maxcmd - 1;
	sqsize = sqsize < mqes ? sqsize : mqes;
	if (sqsize == 0) {
		host_err("MAXCMD %u and MQES %u leave no room for a queue", maxcmd, mqes);
		return -EINVAL;
	}
	if (sqsize < p->depth)
		host_err("queue depth %u capped to %u (MAXCMD %u, CAP.MQES %u)", p->depth, sqsize,
			 maxcmd, mqes);
	p->depth = sqsize;
	p->q = host_queue_alloc(1, p->depth, p->io_size);
	p->ios = calloc(p->depth, sizeof(*p->ios));
	if (!p->q || !p->ios || !(p->q->done = calloc(p->depth, sizeof(*p->q->done)))) {
		host_err("out of memory");
		return -ENOMEM;
	}
	p->q->icd_max = le32toh(c->id.ioccsz) * 16 - sizeof(struct nvme_sqe);
	rc = host_queue_connect(p->q, c->o);
	if (!rc)
		rc = host_fabrics_connect(p->q, c->o, sqsize, 0, &cntlid);
	host_must(rc || cntlid == c->cntlid, "warning: I/O queue Connect answered CNTLID %u, not %u",
		  cntlid, c->cntlid);
	return rc;
}

/* Buffers, the PRNG, and with --verify the state tables. 0 or -ENOMEM. */
static int host_perf_alloc(struct host_perf *p)
{
	/* A fresh key per run: a block left by an earlier run (or one the
	 * target never wrote) cannot pass for this run's data. */
	if (getrandom(&p->rng, sizeof(p->rng), 0) != sizeof(p->rng) || !p->rng)
		p->rng = host_now_ns() | 1;
	p->key = host_rand(&p->rng);
	p->lat_min_ns = UINT64_MAX;
	if (posix_memalign((void **)&p->bufs, 4096, (size_t)p->depth * p->io_size))
		return -ENOMEM;
	memset(p->bufs, 0xa5, (size_t)p->depth * p->io_size);
	if (!p->verify)
		return 0;
	p->busy = calloc(p->nunits, 1);
	p->gen = calloc(p->nunits * p->lbas_per_io, sizeof(*p->gen));
	p->scratch = malloc(p->bs);
	return p->busy && p->gen && p->scratch ? 0 : -ENOMEM;
}

/* The SPDK perf table; latencies in microseconds. */
static void host_perf_report(const struct host_perf *p, const struct host_opts *o, double secs)
{
	double iops = p->ios_done / secs, avg = p->ios_done ? p->lat_sum_ns / 1e3 / p->ios_done : 0;
	char dev[600];
	int w;

	snprintf(dev, sizeof(dev), "%s (addr:%s subnqn:%s) NSID %u",
		 strcasecmp(o->trtype, "RDMA") ? "TCP" : "RDMA", o->traddr, o->subnqn, p->nsid);
	w = strlen(dev) > 40 ? (int)strlen(dev) : 40;
	printf("========================================================\n");
	printf("%*s\n", w + 57, "Latency(us)");
	printf("%-*s: %10s %10s %10s %10s %10s\n", w, "Device Information", "IOPS", "MiB/s",
	       "Average", "min", "max");
	printf("%-*s: %10.2f %10.2f %10.2f %10.2f %10.2f\n", w, dev, iops,
	       iops * p->io_size / (1024.0 * 1024.0), avg,
	       p->ios_done ? p->lat_min_ns / 1e3 : 0.0, p->lat_max_ns / 1e3);
	printf("========================================================\n");
	printf("errors: %" PRIu64 " failed I/Os", p->errors);
	if (p->verify)
		printf(", %" PRIu64 " verify mismatches%s", p->mismatches,
		       p->mismatches > HOST_MAX_PRINT ? " (the first 20 printed)" : "");
	printf("\n");
}

/* Bring everything up, run (with --verify, the prefill first), report. */
static int host_perf_run(struct host_perf *p, struct host_ctrl *c, const struct host_opts *o)
{
	struct sigaction sa = { .sa_handler = host_on_sigint }, old;
	uint64_t t0;
	int rc;

	rc = host_ctrl_connect(c, o, HOST_KATO_MS, false);
	if (!rc)
		rc = host_perf_geometry(p, c);
	if (!rc)
		rc = host_perf_queue(p, c);
	if (!rc && host_perf_alloc(p)) {
		host_err("out of memory");
		return -ENOMEM;
	}
	if (rc)
		return rc;
	sigaction(SIGINT, &sa, &old);
	if (p->verify) {
		printf("verify: writing the initial pattern over %" PRIu64 " MiB\n",
		       (p->nunits * p->io_size) >> 20);
		p->prefill = true;
		rc = host_perf_loop(p, c, 0);
		p->prefill = false;
		p->next_unit = 0;
	}
	t0 = host_now_ns();
	if (!rc)
		rc = host_perf_loop(p, c, t0 + p->seconds * 1000000000ull);
	sigaction(SIGINT, &old, NULL);
	if (!rc)
		host_perf_report(p, o, (host_now_ns() - t0) / 1e9);
	return rc;
}

/* -w takes SPDK's workload names; -M applies to the mixes. */
static int host_perf_workload(struct host_perf *p, const char *w, int mix)
{
	p->rand = !strncmp(w, "rand", 4);
	w += p->rand ? 4 : 0;
	p->read_pct = !strcmp(w, "read") ? 100 : !strcmp(w, "write") ? 0 :
		      !strcmp(w, "rw") ? (mix >= 0 ? mix : 50) : -1;
	return p->read_pct < 0 || mix > 100 ? -EINVAL : 0;
}

#define HOST_PERF_USAGE \
	"perf [-q DEPTH] [-o IO_SIZE] [-w read|write|randread|randwrite|rw|randrw]\n" \
	"      [-M READ_PERCENT] [-t SECONDS] [-c CORE_MASK] [-n NSID] [--verify]\n" \
	"      [-r 'traddr:127.0.0.1 trsvcid:4420 subnqn:" HOST_IO_NQN "']\n" \
	"      (defaults: -q 32 -o 4096 -w randread -t 5 -n 1)\n"

/*
 * `nvmf perf`: options as SPDK perf spells them, then connect, run and
 * report. The exit status is 1 when any I/O failed or any block read
 * back wrong, so a script can use perf as a check, not only a benchmark.
 */
int host_perf_main(int argc, char **argv)
{
	struct host_opts o = { .trtype = "TCP", .adrfam = "IPv4", .traddr = "127.0.0.1" };
	struct host_perf p = { .depth = 32, .seconds = 5, .io_size = 4096 };
	const char *workload = "randread", *mask = NULL;
	struct host_ctrl c = { 0 };
	int ch, rc, mix = -1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "q:o:w:M:t:c:r:n:vh", host_longopts, NULL)) != -1) {
		rc = host_opt_common(ch, &o);
		if (rc > 0)
			continue;
		switch (rc < 0 ? '?' : ch) {
		case 'q': p.depth = strtoul(optarg, NULL, 0); break;
		case 'o': p.io_size = strtoul(optarg, NULL, 0); break;
		case 'w': workload = optarg; break;
		case 'M': mix = atoi(optarg); break;
		case 't': p.seconds = strtoul(optarg, NULL, 0); break;
		case 'c': mask = optarg; break;
		case 'n': o.nsid = strtoul(optarg, NULL, 0); break;
		case HOST_OPT_VERIFY: p.verify = true; break;
		default: return host_usage(ch, HOST_PERF_USAGE);
		}
	}
	if (host_perf_workload(&p, workload, mix) || !p.depth || !p.io_size || !p.seconds)
		return host_usage('?', HOST_PERF_USAGE);
	p.nsid = o.nsid ? o.nsid : 1;
	rc = host_opts_finish(&o, "4420", HOST_IO_NQN);
	if (rc)
		return rc;
	if (mask && host_pin(mask))
		return 1;
	rc = host_perf_run(&p, &c, &o);
	host_queue_free(p.q);
	host_ctrl_shutdown(&c, rc == 0);
	free(p.bufs), free(p.ios), free(p.busy), free(p.gen), free(p.scratch);
	return rc || p.errors || p.mismatches ? 1 : 0;
}
