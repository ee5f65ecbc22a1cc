/*
 * sim/demo.c - the smallest NVMe driver that works, and `nvmf sim`.
 *
 * pcie_nvme.c is the project's real driver. This file is the opposite: a
 * driver cut down to what shows a controller working, in the order the
 * base spec brings one up [BASE-2.0c §3.5.1], so a learner can watch each
 * step on the simulator with --trace, and tests/sim_test.c can drive sim.c
 * the way a driver would. It knows one admin pair and one I/O pair, one
 * data buffer, and nothing about errors beyond reporting them.
 *
 * Two sections, in the order a command needs them:
 *   1. the driver
 *      sim_host_submit   write the SQE at the tail, ring the SQ doorbell
 *      sim_host_reap     take the CQE whose phase is new, ring the CQ doorbell
 *      sim_host_cmd      submit, poll() the device until the CQE comes
 *      sim_host_prp      PRP1/PRP2 or a PRP list for a piece of the buffer
 *      sim_host_enable   CC.EN=0, wait RDY=0; AQA/ASQ/ACQ; CC.EN=1, wait RDY=1
 *      sim_host_io_queue, _identify, _shutdown: the admin steps
 *   2. `nvmf sim [--trace] [--bench] [SPEC]`: a scripted session, sim_main
 *
 * Host-side ring ownership [BASE-2.0c §3.3.1]:
 *
 *   SQ: [ . . S S S . . ]    we write S at sq_tail and move it;
 *             ^head ^tail    the device moves head (we learn it from SQHD)
 *   CQ: [ C C . . . . . ]    the device writes C with phase = our phase;
 *         ^head              we consume at cq_head, flip phase on wrap
 *
 * Tutorial chapter 07 reads it first, before pcie_nvme.c, which takes the
 * same steps with VFIO, many queues, timeouts and resets around them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>

#include "../nvmf.h"

/* ==================================================================== */
/* 1. The driver: one admin pair, one I/O pair, one buffer              */
/* ==================================================================== */

#define SIM_HOST_BUF		(1u << 20)	/* data buffer: 1 MiB */
#define SIM_HOST_POLLS		1000		/* polls before "no completion" */

/* One queue pair, seen from the host. */
struct sim_hq {
	struct nvme_sqe *sqes;
	struct nvme_cqe *cqes;
	uint64_t sq_iova, cq_iova;
	uint16_t size, sq_tail, cq_head, phase;
};

struct sim_host {
	struct nvme_bus *bus;
	uint32_t stride;		/* doorbell stride: 4 << CAP.DSTRD */
	uint16_t next_cid;
	struct sim_hq q[2];		/* 0: admin, 1: the I/O pair */
	uint8_t *buf;			/* SIM_HOST_BUF bytes of data */
	uint64_t buf_iova;
	uint64_t *prps;			/* one page of PRP list */
	uint64_t prps_iova;
	uint64_t nsze;			/* namespace 1, once identified */
};

/* Doorbell offsets: 1000h + (2 * qid + is_cq) * stride [BASE-2.0c §3.1.4]. */
static uint32_t sim_host_sq_db(const struct sim_host *h, uint16_t qid)
{
	return 0x1000 + (2 * qid) * h->stride;
}

/* The CQ's doorbell is one stride after its SQ's; we write our CQ head
 * there, which hands the consumed slots back to the device. */
static uint32_t sim_host_cq_db(const struct sim_host *h, uint16_t qid)
{
	return 0x1000 + (2 * qid + 1) * h->stride;
}

/* Ring memory for queue pair qid; 0 or -ENOMEM. */
static int sim_host_qalloc(struct sim_host *h, uint16_t qid, uint16_t size)
{
	struct sim_hq *q = &h->q[qid ? 1 : 0];
	const struct nvme_bus_ops *o = h->bus->ops;

	q->sqes = o->dma_alloc(h->bus, size * sizeof(*q->sqes), &q->sq_iova);
	q->cqes = o->dma_alloc(h->bus, size * sizeof(*q->cqes), &q->cq_iova);
	q->size = size;
	q->sq_tail = q->cq_head = 0;
	q->phase = 1;			/* a new CQ is all zero: phase 0 = old */
	return q->sqes && q->cqes ? 0 : -ENOMEM;
}

/* Put a command on queue qid and ring its doorbell; returns the CID used. */
static uint16_t sim_host_submit(struct sim_host *h, uint16_t qid, struct nvme_sqe *sqe)
{
	struct sim_hq *q = &h->q[qid ? 1 : 0];
	uint16_t cid = h->next_cid++;

	/* The CID only matches the CQE to its command; any value unique among
	 * the commands in flight works, so a counter does. */
	sqe->cid = htole16(cid);
	q->sqes[q->sq_tail] = *sqe;
	q->sq_tail = (q->sq_tail + 1) % q->size;
	h->bus->ops->write32(h->bus, sim_host_sq_db(h, qid), q->sq_tail);
	return cid;
}

/* Take one new CQE from queue qid, if there is one: 1, else 0. */
static int sim_host_reap(struct sim_host *h, uint16_t qid, struct nvme_cqe *cqe)
{
	struct sim_hq *q = &h->q[qid ? 1 : 0];
	struct nvme_cqe *e = &q->cqes[q->cq_head];

	if ((le16toh(e->status) & 1) != q->phase)
		return 0;		/* the device has not written it yet */
	*cqe = *e;
	if (++q->cq_head == q->size) {
		q->cq_head = 0;
		q->phase ^= 1;
	}
	/* Until we write the head, the device counts the slot as full; a CQ
	 * that fills stops the device fetching commands [BASE-2.0c §3.3.1]. */
	h->bus->ops->write32(h->bus, sim_host_cq_db(h, qid), q->cq_head);
	return 1;
}

/* Poll the device until queue qid has a CQE: 0, or -ETIMEDOUT. */
static int sim_host_wait(struct sim_host *h, uint16_t qid, struct nvme_cqe *cqe)
{
	for (int i = 0; i < SIM_HOST_POLLS; i++) {
		if (h->bus->ops->poll)
			h->bus->ops->poll(h->bus);
		if (sim_host_reap(h, qid, cqe))
			return 0;
	}
	return -ETIMEDOUT;
}

/* Submit and wait: the Status Field (host order, no phase), or -ETIMEDOUT. */
static int sim_host_cmd(struct sim_host *h, uint16_t qid, struct nvme_sqe *sqe, struct nvme_cqe *cqe)
{
	struct nvme_cqe tmp;
	int rc;

	cqe = cqe ? cqe : &tmp;
	sim_host_submit(h, qid, sqe);
	rc = sim_host_wait(h, qid, cqe);
	return rc ? rc : le16toh(cqe->status) >> 1;
}

/*
 * Describe len bytes of our buffer from offset off with PRPs [BASE-2.0c
 * §4.3.1]: PRP1 is the first byte; PRP2 is the second page, or our one
 * page of list when the data spans more than two pages.
 */
static void sim_host_prp(struct sim_host *h, struct nvme_sqe *sqe, uint32_t off, uint32_t len)
{
	uint64_t prp1 = h->buf_iova + off, prp2 = 0;
	uint64_t page = (prp1 & ~4095ull) + 4096, end = prp1 + len;
	unsigned n = 0;

	if (end > page + 4096) {
		for (uint64_t p = page; p < end; p += 4096)
			h->prps[n++] = htole64(p);
		prp2 = h->prps_iova;
	} else if (end > page) {
		prp2 = page;
	}
	/* DPTR is 16 bytes. nvme.h types it as an SGL descriptor, but with
	 * PSDT 00b the same bytes are PRP1 (first 8) and PRP2 (next 8). */
	sqe->dptr.addr = htole64(prp1);
	prp2 = htole64(prp2);
	memcpy((uint8_t *)&sqe->dptr + 8, &prp2, 8);
}

/* Wait for CSTS.RDY to equal want, reading CSTS at most 1000 times. */
static int sim_host_wait_rdy(struct sim_host *h, uint32_t want)
{
	for (int i = 0; i < 1000; i++) {
		uint32_t csts = h->bus->ops->read32(h->bus, NVME_REG_CSTS);

		if (csts & NVME_CSTS_CFS)
			return -EIO;
		if ((csts & NVME_CSTS_RDY) == want)
			return 0;
	}
	return -ETIMEDOUT;
}

/*
 * Bring the controller up [BASE-2.0c §3.5.1]: disable, wait RDY=0, give it
 * the admin queues, enable with 64/16-byte I/O entries, wait RDY=1.
 */
static int sim_host_enable(struct sim_host *h, struct nvme_bus *bus, uint16_t aqsize)
{
	uint64_t cap = bus->ops->read64(bus, NVME_REG_CAP);
	int rc;

	memset(h, 0, sizeof(*h));
	h->bus = bus;
	h->stride = 4u << ((cap >> 32) & 0xf);
	h->buf = bus->ops->dma_alloc(bus, SIM_HOST_BUF, &h->buf_iova);
	h->prps = bus->ops->dma_alloc(bus, 4096, &h->prps_iova);
	if (!h->buf || !h->prps || sim_host_qalloc(h, 0, aqsize))
		return -ENOMEM;
	/* Disable first: a controller left enabled still holds its old
	 * queues, and AQA/ASQ/ACQ are read only when EN goes 0 to 1. */
	bus->ops->write32(bus, NVME_REG_CC, 0);
	if ((rc = sim_host_wait_rdy(h, 0)))
		return rc;
	bus->ops->write32(bus, 0x24, (uint32_t)(aqsize - 1) << 16 | (aqsize - 1));	/* AQA */
	bus->ops->write64(bus, 0x28, h->q[0].sq_iova);				/* ASQ */
	bus->ops->write64(bus, 0x30, h->q[0].cq_iova);				/* ACQ */
	bus->ops->write32(bus, NVME_REG_CC, NVME_CC_EN | 6u << NVME_CC_IOSQES_SHIFT |
			  4u << NVME_CC_IOCQES_SHIFT);
	return sim_host_wait_rdy(h, NVME_CSTS_RDY);
}

/* Ask for one I/O queue pair and create it, CQ first [BASE-2.0c §5.4-5.5]. */
static int sim_host_io_queue(struct sim_host *h, uint16_t size)
{
	struct nvme_sqe c = { .opcode = NVME_ADM_SET_FEATURES };
	int st;

	c.cdw10 = htole32(NVME_FEAT_NUM_QUEUES);
	if ((st = sim_host_cmd(h, 0, &c, NULL)) || sim_host_qalloc(h, 1, size))
		return st ? st : -ENOMEM;
	c = (struct nvme_sqe){ .opcode = NVME_ADM_CREATE_CQ };
	c.dptr.addr = htole64(h->q[1].cq_iova);
	c.cdw10 = htole32((uint32_t)(size - 1) << 16 | 1);
	c.cdw11 = htole32(1);				/* physically contiguous */
	if ((st = sim_host_cmd(h, 0, &c, NULL)))
		return st;
	c = (struct nvme_sqe){ .opcode = NVME_ADM_CREATE_SQ };
	c.dptr.addr = htole64(h->q[1].sq_iova);
	c.cdw10 = htole32((uint32_t)(size - 1) << 16 | 1);
	c.cdw11 = htole32(1u << 16 | 1);		/* CQID 1, contiguous */
	return sim_host_cmd(h, 0, &c, NULL);
}

/* A Read or Write SQE for nlb blocks at slba, data at buffer offset off. */
static struct nvme_sqe sim_host_rw_sqe(struct sim_host *h, bool write, uint64_t slba,
				       uint32_t nlb, uint32_t off, uint32_t blksz)
{
	struct nvme_sqe c = { .opcode = write ? NVME_CMD_WRITE : NVME_CMD_READ };

	c.nsid = htole32(1);
	c.cdw10 = htole32((uint32_t)slba);
	c.cdw11 = htole32((uint32_t)(slba >> 32));
	c.cdw12 = htole32(nlb - 1);
	sim_host_prp(h, &c, off, nlb * blksz);
	return c;
}

/* Identify into the buffer at offset 0: the status. */
static int sim_host_identify(struct sim_host *h, uint8_t cns, uint32_t nsid)
{
	struct nvme_sqe c = { .opcode = NVME_ADM_IDENTIFY };

	c.nsid = htole32(nsid);
	c.cdw10 = htole32(cns);
	sim_host_prp(h, &c, 0, 4096);
	return sim_host_cmd(h, 0, &c, NULL);
}

/* Shut down normally [BASE-2.0c §3.6.1]: CC.SHN=01b, wait CSTS.SHST=10b. */
static int sim_host_shutdown(struct sim_host *h)
{
	struct nvme_bus *b = h->bus;

	b->ops->write32(b, NVME_REG_CC, b->ops->read32(b, NVME_REG_CC) | 1u << NVME_CC_SHN_SHIFT);
	for (int i = 0; i < 1000; i++)
		if ((b->ops->read32(b, NVME_REG_CSTS) & NVME_CSTS_SHST_MASK) == NVME_CSTS_SHST_CMPLT)
			return 0;
	return -ETIMEDOUT;
}

/* ==================================================================== */
/* 2. `nvmf sim`: a scripted session                                   */
/* ==================================================================== */

/* Steps 1-3: bring-up, Identify, one I/O queue pair. Returns the block size, or 0. */
static uint32_t sim_demo_setup(struct sim_host *h, struct nvme_bus *bus)
{
	const struct nvme_id_ctrl *ic;
	const struct nvme_id_ns *ns;
	uint64_t cap = bus->ops->read64(bus, NVME_REG_CAP);
	uint32_t blksz;
	char model[9] = "";
	uint8_t mdts;
	uint16_t qsize;
	int rc;

	printf("step 1: enable: CAP.MQES=%u (0's based) CAP.DSTRD=%u CAP.TO=%u (x 500 ms)\n",
	       (unsigned)(cap & 0xffff), (unsigned)(cap >> 32) & 0xf, (unsigned)(cap >> 24) & 0xff);
	if ((rc = sim_host_enable(h, bus, 32))) {
		printf("  the controller did not become ready: %s\n", strerror(-rc));
		return 0;
	}
	printf("  CSTS.RDY=1: the admin queue pair (32 entries) is live\n");
	ic = (const void *)h->buf;		/* h->buf exists from here */
	ns = (const void *)h->buf;
	if (sim_host_identify(h, NVME_CNS_CTRL, 0))
		return 0;
	memcpy(model, ic->mn, 8);
	mdts = ic->mdts;
	if (sim_host_identify(h, NVME_CNS_NS, 1))
		return 0;
	blksz = 1u << ns->lbaf[ns->flbas & 0xf].lbads;
	h->nsze = le64toh(ns->nsze);
	printf("step 2: identify: model \"%s\", MDTS %u KiB, namespace 1: %llu blocks of %u bytes\n",
	       model, 4u << mdts, (unsigned long long)h->nsze, blksz);
	qsize = (cap & 0xffff) + 1 < 64 ? (cap & 0xffff) + 1 : 64;	/* CAP.MQES bounds it */
	if ((rc = sim_host_io_queue(h, qsize))) {
		printf("  creating the I/O queues failed: status 0x%x\n", rc);
		return 0;
	}
	printf("step 3: queues: I/O queue pair 1 (%u entries) created\n", qsize);
	return blksz;
}

/* Step 4: write a pattern across three pages (a PRP list), read it back. */
static int sim_demo_io(struct sim_host *h, uint32_t blksz)
{
	uint32_t len = 3 * 4096, nlb = len / blksz;
	struct nvme_sqe c;

	for (uint32_t i = 0; i < len; i++)
		h->buf[i] = (uint8_t)(i * 7 + 1);
	c = sim_host_rw_sqe(h, true, 8, nlb, 0, blksz);
	if (sim_host_cmd(h, 1, &c, NULL))
		return -EIO;
	memset(h->buf + len, 0, len);
	c = sim_host_rw_sqe(h, false, 8, nlb, len, blksz);
	if (sim_host_cmd(h, 1, &c, NULL))
		return -EIO;
	printf("step 4: write + read %u bytes at LBA 8 (PRP list of 3 pages): %s\n",
	       len, memcmp(h->buf, h->buf + len, len) ? "MISMATCH" : "data matches");
	return 0;
}

/* Step 5: two faults, and what a driver sees. */
static void sim_demo_faults(struct sim_host *h, struct nvme_bus *bus, uint32_t blksz)
{
	struct sim_fault drop = { .kind = SIM_FAULT_DROP, .qid = 1, .opcode = NVME_CMD_READ, .nth = 1, .count = 1 };
	struct sim_fault fail = { .kind = SIM_FAULT_STATUS, .qid = 1, .opcode = NVME_CMD_WRITE,
				  .nth = 1, .count = 1, .status = NVME_SC_INTERNAL | NVME_STATUS_DNR };
	struct nvme_sqe c = sim_host_rw_sqe(h, false, 0, 1, 0, blksz);
	int rc;

	sim_fault_add(bus, &drop);
	rc = sim_host_cmd(h, 1, &c, NULL);
	printf("step 5: fault DROP on the next Read: %s\n",
	       rc == -ETIMEDOUT ? "no completion after 1000 polls (a driver times out here)"
				: "unexpected completion");
	sim_fault_add(bus, &fail);
	c = sim_host_rw_sqe(h, true, 0, 1, 0, blksz);
	rc = sim_host_cmd(h, 1, &c, NULL);
	printf("        fault STATUS on the next Write: status 0x%x (Internal Error, DNR)\n", rc);
}

/*
 * `nvmf sim --bench`: 4 KiB random reads at queue depth 32 for 2 s, with
 * this file's driver. It measures the simulator's own cost per command
 * (fetch, PRP walk, a 4 KiB copy, the CQE), the ceiling for any driver.
 */
static int sim_demo_bench(struct sim_host *h, struct nvme_bus *bus, uint32_t blksz, uint64_t nsze)
{
	uint32_t nlb = 4096 / blksz, qd = h->q[1].size - 1 < 32 ? h->q[1].size - 1 : 32;
	uint64_t x = 88172645463325252ull, done = 0, t0 = nvmf_now_ms(), t;
	struct nvme_cqe cqe;
	struct nvme_sqe c;

	for (uint32_t i = 0; i < qd; i++) {
		c = sim_host_rw_sqe(h, false, i * nlb % (nsze - nlb + 1), nlb, i * 4096, blksz);
		sim_host_submit(h, 1, &c);
	}
	do {
		bus->ops->poll(bus);
		while (sim_host_reap(h, 1, &cqe)) {
			if (le16toh(cqe.status) >> 1)
				return -EIO;
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;	/* xorshift64 */
			c = sim_host_rw_sqe(h, false, x % (nsze / nlb) * nlb, nlb,
					    le16toh(cqe.cid) % qd * 4096, blksz);
			sim_host_submit(h, 1, &c);
			done++;
		}
	} while ((t = nvmf_now_ms() - t0) < 2000);
	printf("bench: 4 KiB random read, QD %u, %.1f s: %" PRIu64 " IOPS, %.0f MiB/s\n", qd,
	       t / 1000.0, done * 1000 / t, done * 4096.0 * 1000 / t / (1 << 20));
	return 0;
}

/* `nvmf sim [--trace] [--bench] [SPEC]`: see the top of this file. */
int sim_main(int argc, char **argv)
{
	const char *spec = "64M";
	struct nvme_bus *bus;
	struct sim_host h;
	bool trace = false, bench = false;
	char err[256];
	uint32_t blksz;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--trace") || !strcmp(argv[i], "-t")) {
			trace = true;
		} else if (!strcmp(argv[i], "--bench")) {
			bench = true;
		} else if (argv[i][0] == '-') {
			bool help = !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h");

			fprintf(help ? stdout : stderr, "usage: nvmf sim [--trace] [--bench] [SIZE[:BLKSZ][,OPT=N...] | file=PATH[:BLKSZ]]\n"
			       "  runs a scripted session (enable, identify, queues, I/O, faults,\n"
			       "  shutdown) against the simulated controller; --trace shows every\n"
			       "  register access, doorbell, command and completion; --bench\n"
			       "  measures 4 KiB random reads at QD 32 instead of the faults.\n"
			       "  OPT: dstrd, mqes, mdts, to, queues (see nvmf.h, sim_bus_open)\n");
			return help ? 0 : 2;
		} else {
			spec = argv[i];
		}
	}
	if ((rc = sim_bus_open(spec, &bus, err, sizeof(err)))) {
		fprintf(stderr, "nvmf: %s\n", err);
		return 1;
	}
	sim_set_trace(bus, trace);
	printf("nvmf sim: a simulated NVMe controller, \"%s\"\n", spec);
	rc = 1;
	if ((blksz = sim_demo_setup(&h, bus)) && !sim_demo_io(&h, blksz)) {
		if (bench)
			sim_demo_bench(&h, bus, blksz, h.nsze);
		else
			sim_demo_faults(&h, bus, blksz);
		rc = sim_host_shutdown(&h) ? 1 : 0;
		printf("step 6: shutdown: CSTS.SHST=%s\n", rc ? "not complete" : "complete");
	}
	bus->ops->close(bus);
	return rc;
}
