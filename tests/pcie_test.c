/*
 * pcie_test.c - the driver of pcie_nvme.c against a controller: one test
 * list, two devices.
 *
 *   tests/pcie_test                   sim/'s controller (sim:64M), every
 *                                     test, faults included
 *   tests/pcie_test nvme:0000:00:04.0 a PCI NVMe controller through VFIO
 *                                     (QEMU's, in the lab VM): the same
 *                                     list without the fault tests
 *   tests/pcie_test --bench [SPEC]    4K random reads at QD32 for 2 s
 *                                     (default sim:1G), prints IOPS
 *
 * pcie_nvme.c and sim/sim.c are compiled in whole; main.c's log and clock
 * and nvmf.c's nvmf_bdev_done are stubbed. The backend tests hand the
 * driver struct nvmf_req like nvmf.c does and record the status it
 * answers.
 *
 *   test                                      spec
 *   --------------------------------------------------------------------
 *   bring-up: CAP, CC, CSTS                   [BASE-2.0c §3.5.1]
 *   Identify Controller / Namespace           [BASE-2.0c §5.17]
 *   I/O queue creation, write + read back     [BASE-2.0c §5.4, §5.5]
 *   wraparound and phase tags                 [BASE-2.0c §4.6]
 *   PRPs at every size up to MDTS             [BASE-2.0c §4.3.1]
 *   the backend: bounce, zero copy, flush,    [NVM-1.0c §3.2]
 *   write zeroes, deallocate, overflow
 *   faults (sim only): delay, status, drop -> timeout -> reset,
 *   CSTS.CFS -> reset, slow RDY, RDY never    [BASE-2.0c §3.1.4, §3.7.2]
 *   geometry (sim only): DSTRD 3, MQES 31,
 *   MDTS 2: the list above on other numbers   [BASE-2.0c Fig. 36, 275]
 *   VFIO: a missing device says what to do
 */
#include "../pcie_nvme.c"
#include "../pcie_vfio.c"
#include "../sim/sim.c"
#include "../sim/admin.c"
#include "test.h"

#include <stdarg.h>

/* ==================================================================== */
/* Stubs of main.c and nvmf.c                                          */
/* ==================================================================== */


const char *nvmf_opcode_name(const struct nvme_sqe *sqe, uint16_t qid)
{
	(void)sqe, (void)qid;
	return "cmd";
}

uint64_t nvmf_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* nvmf_bdev_done: record the answer, as the fake core of this test. With
 * g_chain > 0 it submits r again from inside the completion, next range,
 * the way nvmf.c walks a Dataset Management command's ranges. */
static unsigned g_done, g_chain, g_chained;
static uint16_t g_last_status;
static struct nvmf_bdev *g_chain_bdev;

void nvmf_bdev_done(struct nvmf_req *r, uint16_t status)
{
	if (g_chain && !status) {
		g_chain--;
		g_chained++;
		r->slba += r->nblocks;
		g_chain_bdev->ops->submit(g_chain_bdev, r);
		return;
	}
	g_done++;
	g_last_status = status;
}

/* ==================================================================== */
/* Helpers                                                             */
/* ==================================================================== */

static const char *g_spec = "sim:64M";
static bool g_is_sim;

/* A bus for g_spec (or spec): sim:... or nvme:BDF. */
static int open_bus(const char *spec, struct nvme_bus **bus)
{
	char err[512];
	int rc = !strncmp(spec, "sim:", 4) ? sim_bus_open(spec + 4, bus, err, sizeof(err))
					   : pci_vfio_bus_open(spec + 5, bus, err, sizeof(err));

	if (rc)
		printf("# %s: %s\n", spec, err);
	return rc;
}

static struct pci_ctrl *open_ctrl(const char *spec)
{
	struct nvme_bus *bus;
	struct pci_ctrl *c;
	char err[512];

	if (open_bus(spec, &bus))
		return NULL;
	if (pci_ctrl_open(bus, &c, err, sizeof(err))) {
		printf("# %s: %s\n", spec, err);
		return NULL;
	}
	return c;
}

/* Read or write nlb blocks at slba, len bytes at iova, synchronously on
 * qp. Returns the NVMe status, or 0xffff when the command never ended. */
static uint16_t rw(struct pci_ctrl *c, struct pci_qpair *qp, uint8_t opc, uint64_t slba,
		   uint32_t nlb, uint64_t iova, uint32_t len)
{
	struct nvme_sqe sqe = { .opcode = opc, .nsid = htole32(1),
		.cdw10 = htole32((uint32_t)slba), .cdw11 = htole32((uint32_t)(slba >> 32)),
		.cdw12 = htole32(nlb - 1) };
	uint16_t status;

	return pci_sync(c, qp, &sqe, iova, len, &status, NULL) ? 0xffff : status;
}

/* A pattern that differs per byte and per seed, so a misplaced page shows. */
static void fill(uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 131 + seed * 7 + (i >> 9)) ^ (seed >> 3));
}

/* ==================================================================== */
/* The test list                                                       */
/* ==================================================================== */

/* After pci_ctrl_open the controller must be in the state a driver leaves
 * it in [BASE-2.0c §3.5.1]: enabled with 64/16-byte entries, ready, not
 * failed, and the driver must have read its doorbell stride from CAP,
 * not assumed 4 bytes. On QEMU's device these are the real registers. */
static void test_bringup(struct pci_ctrl *c)
{
	uint32_t cc = c->bus->ops->read32(c->bus, PCI_REG_CC);
	uint32_t csts = c->bus->ops->read32(c->bus, PCI_REG_CSTS);

	CHECK(nvme_cap_css(c->cap) & NVME_CAP_CSS_NVM, "CAP.CSS offers the NVM command set [BASE-2.0c Fig. 36]");
	CHECK(cc & NVME_CC_EN, "CC.EN is 1 after bring-up [BASE-2.0c §3.5.1]");
	CHECK_EQ_U((cc >> NVME_CC_IOSQES_SHIFT) & 0xf, 6, "CC.IOSQES = 6 (64-byte SQEs)");
	CHECK_EQ_U((cc >> NVME_CC_IOCQES_SHIFT) & 0xf, 4, "CC.IOCQES = 4 (16-byte CQEs)");
	CHECK_EQ_U(csts & (NVME_CSTS_RDY | NVME_CSTS_CFS), NVME_CSTS_RDY, "CSTS.RDY = 1, CFS = 0");
	CHECK(c->vs >= NVME_VS(1, 0, 0), "VS reports version %u.%u", c->vs >> 16, (c->vs >> 8) & 0xff);
	CHECK(c->nr_ioq >= 1, "Set Features Number of Queues granted %u I/O queues", c->nr_ioq);
	CHECK_EQ_U(c->dstrd_bytes, 4u << nvme_cap_dstrd(c->cap), "doorbell stride from CAP.DSTRD");
}

/* What the driver takes from Identify [BASE-2.0c §5.17]: the entry sizes
 * it enabled with must be within SQES/CQES, MDTS bounds every transfer,
 * and namespace 1's block size comes from the LBA format in use. A
 * missing namespace must come back as an error, not as zeroes taken for
 * a namespace. */
static void test_identify(struct pci_ctrl *c, struct nvme_id_ns *ns)
{
	int rc;

	CHECK(c->id->sn[0] != 0 && c->id->sn[0] != ' ', "Identify Controller: serial '%.20s'", c->id->sn);
	CHECK((c->id->sqes & 0xf) <= 6 && (c->id->cqes & 0xf) <= 4, "SQES/CQES minimums fit 64/16 bytes");
	CHECK(c->max_xfer >= PCI_PAGE, "MDTS %u gives %u KiB transfers", c->id->mdts, c->max_xfer >> 10);
	rc = pci_identify(c, NVME_CNS_NS, 1, c->scratch_iova);
	memcpy(ns, c->scratch, sizeof(*ns));
	CHECK(!rc && le64toh(ns->nsze) > 0, "Identify Namespace 1: %llu blocks",
	      (unsigned long long)le64toh(ns->nsze));
	CHECK(ns->lbaf[ns->flbas & 0xf].lbads >= 9, "LBA format: %u-byte blocks",
	      1u << ns->lbaf[ns->flbas & 0xf].lbads);
	rc = pci_identify(c, NVME_CNS_NS, 0xfffffffe, c->scratch_iova);
	CHECK(rc == -EIO, "Identify of a namespace that does not exist fails with a status");
}

/* Write then read back len bytes through qp with buffers at page offset
 * off; true when the data came back. */
static bool roundtrip(struct pci_ctrl *c, struct pci_qpair *qp, uint8_t *wbuf, uint64_t wiova,
		      uint8_t *rbuf, uint64_t riova, uint64_t slba, uint32_t len, uint32_t bs)
{
	fill(wbuf, len, (uint32_t)slba + len);
	memset(rbuf, 0xee, len);
	return rw(c, qp, NVME_CMD_WRITE, slba, len / bs, wiova, len) == 0 &&
	       rw(c, qp, NVME_CMD_READ, slba, len / bs, riova, len) == 0 &&
	       !memcmp(wbuf, rbuf, len);
}

/* Transfer sizes from one block to MDTS, at page offset 0 and at a
 * block-sized offset inside the page, so PRP1 alone, PRP1+PRP2 and PRP
 * lists of every length all run [BASE-2.0c §4.3.1]. */
static void test_prps(struct pci_ctrl *c, struct pci_qpair *qp, uint32_t bs)
{
	size_t buflen = c->max_xfer + PCI_PAGE;
	uint64_t wiova, riova;
	uint8_t *w = c->bus->ops->dma_alloc(c->bus, buflen, &wiova);
	uint8_t *r = c->bus->ops->dma_alloc(c->bus, buflen, &riova);
	unsigned bad[2] = { 0, 0 }, sizes = 0;

	/* Every block count up to 128 KiB, then every page count up to MDTS. */
	for (uint32_t len = bs; len <= c->max_xfer; len += len < (128u << 10) ? bs : PCI_PAGE, sizes++) {
		for (int o = 0; o < 2; o++) {
			uint32_t off = o ? bs % PCI_PAGE : 0;	/* 4K blocks: offset 0 twice */

			if (!roundtrip(c, qp, w + off, wiova + off, r + off, riova + off,
				       (len / bs) * 3, len, bs))
				bad[o]++;
		}
	}
	CHECK(bad[0] == 0, "%u sizes, %u..%u bytes, page-aligned buffers: data read back (%u bad)",
	      sizes, bs, c->max_xfer, bad[0]);
	CHECK(bad[1] == 0, "the same with the buffer %u bytes into its page (%u bad)", bs % PCI_PAGE, bad[1]);
	c->bus->ops->dma_free(c->bus, w, buflen);
	c->bus->ops->dma_free(c->bus, r, buflen);
}

static void wrap_cb(struct pci_cmd *cmd, uint16_t status, uint32_t dw0)
{
	unsigned *bad = cmd->arg;

	(void)dw0;
	if (status)
		(*bad)++;
}

/* Keep the queue full (size - 1 in flight) for four laps of the CQ: the
 * phase tag flips each lap and no completion is lost or seen twice. */
static void test_wrap(struct pci_ctrl *c, struct pci_qpair *qp, uint32_t bs)
{
	uint64_t iova, before = qp->completions, wraps = qp->wraps;
	uint8_t *buf = c->bus->ops->dma_alloc(c->bus, PCI_PAGE, &iova);
	unsigned total = 4u * qp->size, sent = 0, bad = 0, spins = 0;

	while (qp->completions - before < total && spins < 50000000) {
		struct nvme_sqe sqe = { .opcode = NVME_CMD_READ, .nsid = htole32(1),
					.cdw10 = htole32(sent % 64) };

		if (sent < total && pci_submit(c, qp, &sqe, iova, bs, wrap_cb, &bad) == 0)
			sent++;
		else
			pci_qpair_poll(c, qp), spins++;
	}
	CHECK_EQ_U(qp->completions - before, total, "%u reads, queue kept full: every completion seen once", total);
	CHECK(bad == 0, "all succeeded (%u failed)", bad);
	CHECK(qp->wraps - wraps >= 4, "the CQ wrapped %llu times, phase tag now %u",
	      (unsigned long long)(qp->wraps - wraps), qp->cq_phase);
	CHECK_EQ_U(qp->nr_free, qp->size - 1, "every slot free again");
	c->bus->ops->dma_free(c->bus, buf, PCI_PAGE);
}

/* ---- the backend ---------------------------------------------------- */

/* Drive a request through the backend and poll until it is answered.
 * Returns the status, or 0xffff if it never was. */
static uint16_t bdev_run(struct nvmf_bdev *b, struct nvmf_req *r)
{
	unsigned done = g_done;

	b->ops->submit(b, r);
	for (long i = 0; g_done == done && i < 200000000; i++)
		b->ops->poll(b);
	return g_done == done ? 0xffff : g_last_status;
}

static uint16_t bdev_io(struct nvmf_bdev *b, enum nvmf_bio_op op, uint64_t slba,
			uint64_t nblocks, uint8_t *buf)
{
	struct nvmf_req r = { .bio = op, .slba = slba, .nblocks = nblocks, .bio_buf = buf };

	return bdev_run(b, &r);
}

/*
 * The driver as nvmf's backend: requests in, statuses out. Data in
 * ordinary memory goes through bounce buffers; data in a registered
 * region is handed to the device directly (zero copy), and the counters
 * prove which path ran. Write Zeroes and Deallocate are tested only when
 * the controller says it has them (ONCS), so the same test runs on QEMU
 * and sim/.
 */
static void test_bdev(struct nvmf_bdev *b)
{
	struct pci_bdev *pb = b->priv;
	size_t len = 64 * 1024;
	uint8_t *w = malloc(len), *r = malloc(len);
	uint8_t *reg = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint32_t n = len >> b->lbads;
	uint64_t zc;
	int rc;

	fill(w, len, 42);
	CHECK(bdev_io(b, BIO_WRITE, 100, n, w) == 0, "backend write of %zu bytes (bounce buffer)", len);
	CHECK(bdev_io(b, BIO_READ, 100, n, r) == 0 && !memcmp(w, r, len), "backend read back");
	CHECK(pb->bounced >= 2 && pb->zero_copy == 0, "both went through bounce buffers");
	rc = pci_bdev_dma_register(b, reg, len);
	CHECK(rc == 0, "register a buffer region for zero copy (%s)", strerror(-rc));
	zc = pb->zero_copy;
	memset(reg, 0, len);
	CHECK(bdev_io(b, BIO_READ, 100, n, reg) == 0 && !memcmp(w, reg, len),
	      "read into the registered region: the device wrote it directly");
	CHECK_EQ_U(pb->zero_copy - zc, 1, "that read was zero copy");
	CHECK(bdev_io(b, BIO_FLUSH, 0, 0, NULL) == 0, "flush");
	if (pb->has_wz) {
		CHECK(bdev_io(b, BIO_WRITE_ZEROES, 101, 2, NULL) == 0, "write zeroes of 2 blocks");
		bdev_io(b, BIO_READ, 100, n, r);
		CHECK(!memcmp(r, w, b->blksz) && r[b->blksz] == 0 && r[3 * b->blksz - 1] == 0 &&
		      !memcmp(r + 3 * b->blksz, w + 3 * b->blksz, b->blksz),
		      "exactly blocks 101-102 read zeroes");
	}
	if (pb->has_dsm) {
		CHECK(bdev_io(b, BIO_DEALLOC, 104, 8, NULL) == 0, "deallocate 8 blocks (DSM, AD)");
		/* Deallocate is a hint a real device may skip (QEMU does without
		 * discard=unmap) [NVM-1.0c §3.2.3.2.1]; sim/ always honours it. */
		if (b->deallocate_zeroes && g_is_sim) {
			bdev_io(b, BIO_READ, 104, 8, r);
			CHECK(r[0] == 0 && r[8 * b->blksz - 1] == 0, "deallocated blocks read zeroes (DLFEAT)");
		}
	}
	if (pb->has_dsm) {
		g_chain = 3;
		g_chained = 0;
		g_chain_bdev = b;
		CHECK(bdev_io(b, BIO_DEALLOC, 200, 4, NULL) == 0 && g_chained == 3,
		      "a completion may submit again (4 DSM ranges walked from completions)");
		g_chain = 0;
	}
	CHECK(bdev_io(b, BIO_READ, b->nblocks - 1, 2, r) != 0, "a read past the end gets an error status");
	free(w);
	free(r);
}

/* More requests than the queue has slots: the rest wait in the overflow
 * ring and all are answered. */
static void test_overflow(struct nvmf_bdev *b)
{
	struct pci_bdev *pb = b->priv;
	unsigned n = pb->c->io_qsize + 40, done = g_done, status = 0;
	struct nvmf_req *reqs = calloc(n, sizeof(*reqs));
	uint8_t *buf = malloc((size_t)n * b->blksz);

	for (unsigned i = 0; i < n; i++) {
		reqs[i] = (struct nvmf_req){ .bio = BIO_READ, .slba = i, .nblocks = 1,
					     .bio_buf = buf + (size_t)i * b->blksz };
		b->ops->submit(b, &reqs[i]);
	}
	CHECK(pb->c->ioq[0]->ov_tail != pb->c->ioq[0]->ov_head, "requests beyond the queue wait");
	for (long i = 0; g_done - done < n && i < 100000000; i++)
		if (b->ops->poll(b) == 0)
			break;
	status |= g_last_status;
	CHECK_EQ_U(g_done - done, n, "all %u requests answered", n);
	CHECK(b->ops->poll(b) == 0, "poll says idle afterwards");
	free(reqs);
	free(buf);
}

/* ---- faults (sim only) --------------------------------------------- */

/*
 * The fault tests use sim/'s injection rules (a real device cannot be
 * told to misbehave): a slow completion is waited for, a device's error
 * status reaches nvmf unchanged, a completion that never comes times out
 * into a controller reset and Command Aborted with DNR clear (the host
 * may retry), and CSTS.CFS leads to a reset too. After each, I/O must
 * work again: the driver recovers, it does not just report.
 */
static void test_fault_delay(struct pci_ctrl *c, struct pci_qpair *qp, uint64_t iova, uint32_t bs)
{
	struct sim_fault f = { .kind = SIM_FAULT_DELAY, .qid = qp->qid, .opcode = NVME_CMD_READ,
			       .nth = 1, .count = 1, .polls = 50 };
	uint16_t st;

	sim_fault_add(c->bus, &f);
	st = rw(c, qp, NVME_CMD_READ, 0, 1, iova, bs);
	CHECK(st == 0, "a command the device holds for 50 polls still completes");
	sim_fault_clear(c->bus);
}

static void test_fault_status(struct nvmf_bdev *b, struct pci_ctrl *c)
{
	struct sim_fault f = { .kind = SIM_FAULT_STATUS, .qid = SIM_QID_IO, .opcode = NVME_CMD_WRITE,
			       .nth = 3, .count = 1, .status = NVME_SC_CAP_EXCEEDED | NVME_STATUS_DNR };
	uint8_t buf[4096] = { 0 };
	uint16_t st[4];

	sim_fault_add(c->bus, &f);
	for (int i = 0; i < 4; i++)
		st[i] = bdev_io(b, BIO_WRITE, i, 1, buf);
	CHECK(st[0] == 0 && st[1] == 0 && st[3] == 0, "writes 1, 2 and 4 succeed");
	CHECK_EQ_U(st[2], NVME_SC_CAP_EXCEEDED | NVME_STATUS_DNR,
		   "the 3rd write's status reaches nvmf as the device set it");
	sim_fault_clear(c->bus);
}

static void test_fault_drop(struct nvmf_bdev *b, struct pci_ctrl *c)
{
	struct sim_fault f = { .kind = SIM_FAULT_DROP, .qid = SIM_QID_IO, .opcode = NVME_CMD_READ,
			       .nth = 1, .count = 1 };
	uint8_t buf[4096];
	uint64_t resets = c->resets;
	uint16_t st;

	c->timeout_ms = 200;
	sim_fault_add(c->bus, &f);
	st = bdev_io(b, BIO_READ, 0, 1, buf);
	CHECK_EQ_U(st, NVME_SC_ABORT_REQ, "a dropped completion times out: Command Aborted, no DNR");
	CHECK_EQ_U(c->resets - resets, 1, "the timeout reset the controller");
	CHECK(bdev_io(b, BIO_READ, 0, 1, buf) == 0, "I/O works after the reset");
	sim_fault_clear(c->bus);
	c->timeout_ms = PCI_TIMEOUT_MS;
}

static void test_fault_cfs(struct nvmf_bdev *b, struct pci_ctrl *c)
{
	uint8_t buf[4096];
	uint64_t resets = c->resets;
	uint16_t st;

	sim_set_cfs(c->bus);
	st = bdev_io(b, BIO_READ, 0, 1, buf);
	CHECK_EQ_U(st, NVME_SC_ABORT_REQ, "a command on a failed controller ends in Command Aborted");
	CHECK_EQ_U(c->resets - resets, 1, "CSTS.CFS led to a controller reset");
	CHECK(!(c->bus->ops->read32(c->bus, PCI_REG_CSTS) & NVME_CSTS_CFS), "CSTS.CFS is clear again");
	CHECK(bdev_io(b, BIO_READ, 0, 1, buf) == 0, "I/O works after the reset");
}

/* CAP.TO bounds the wait for CSTS.RDY in units of 500 ms [BASE-2.0c
 * Fig. 36]: a slow controller within it is waited for, one that never
 * sets RDY is given up on with -ETIMEDOUT, not waited for forever. */
static void test_fault_rdy(void)
{
	struct nvme_bus *bus;
	struct pci_ctrl *c;
	char err[512];
	int rc;

	if (open_bus("sim:1M", &bus))
		return;
	sim_slow_rdy(bus, 20, 50);
	rc = pci_ctrl_open(bus, &c, err, sizeof(err));
	CHECK(rc == 0, "slow RDY (20 reads and 50 ms) within CAP.TO: bring-up waits for it");
	if (!rc)
		pci_ctrl_close(c);
	if (open_bus("sim:1M,to=1", &bus))
		return;
	sim_slow_rdy(bus, ~0u, 0);
	rc = pci_ctrl_open(bus, &c, err, sizeof(err));
	CHECK(rc == -ETIMEDOUT, "RDY never set: bring-up gives up after CAP.TO (500 ms): %s", err);
}

/* A controller with other numbers: doorbells 32 bytes apart (DSTRD 3),
 * queues of at most 32 entries (MQES 31), 16 KiB transfers (MDTS 2). The
 * driver must take each from CAP and Identify, not assume them. */
static void test_geometry(void)
{
	struct pci_ctrl *c = open_ctrl("sim:16M,dstrd=3,mqes=31,mdts=2");
	struct pci_qpair *qp = NULL;

	CHECK(c != NULL, "bring-up with DSTRD 3, MQES 31, MDTS 2");
	if (!c)
		return;
	CHECK_EQ_U(c->dstrd_bytes, 32, "doorbell stride 4 << 3 = 32 bytes [BASE-2.0c Fig. 36]");
	CHECK_EQ_U(c->io_qsize, 32, "I/O queues sized to CAP.MQES + 1");
	CHECK_EQ_U(c->max_xfer, 16384, "transfers capped at MDTS: 2^2 pages");
	CHECK(pci_ioq_create(c, 1, &qp) == 0, "I/O queue 1 at doorbells 0x%x and 0x%x",
	      PCI_REG_DBS + 2 * 32, PCI_REG_DBS + 3 * 32);
	if (qp) {
		test_wrap(c, qp, 512);
		test_prps(c, qp, 512);
	}
	pci_ctrl_close(c);
}

/* nvmf accepts 128 KiB transfers and the backend does not split them: a
 * controller that takes less is refused up front, with the reason. */
static void test_small_mdts(void)
{
	struct nvmf_bdev *b;
	char err[512] = "";
	int rc = pci_bdev_create("sim:16M,mdts=2", &b, err, sizeof(err));

	CHECK(rc == -ENOTSUP && strstr(err, "MDTS"), "a namespace on a 16 KiB-MDTS controller is refused: %s", err);
}

/* The usual first failure on a real machine: no such device, or no IOMMU
 * or vfio-pci binding. The message must say which and what to do. */
static void test_vfio_missing(void)
{
	struct nvme_bus *bus;
	char err[512] = "";
	int rc = pci_vfio_bus_open("0000:ff:1f.7", &bus, err, sizeof(err));

	CHECK(rc < 0 && (strstr(err, "IOMMU") || strstr(err, "vfio")),
	      "VFIO open of a missing device fails and says what to do: %s", err);
}

/* ==================================================================== */
/* The bench: 4K random reads at QD32                                  */
/* ==================================================================== */

static void bench_cb(struct pci_cmd *cmd, uint16_t status, uint32_t dw0)
{
	unsigned *bad = cmd->arg;

	(void)dw0;
	*bad += status != 0;
}

/* Raw driver, no nvmf_req: submit 4 KiB reads at random LBAs, keep 32 in
 * flight for `secs` seconds, print IOPS. */
static int bench(const char *spec, unsigned secs)
{
	struct pci_ctrl *c = open_ctrl(spec);
	struct pci_qpair *qp;
	uint64_t iova, nblocks, start, ios = 0, inflight = 0, seed = 1;
	unsigned bad = 0;

	if (!c || pci_ioq_create(c, 1, &qp))
		return 1;
	pci_identify(c, NVME_CNS_NS, 1, c->scratch_iova);
	nblocks = le64toh(((struct nvme_id_ns *)c->scratch)->nsze) / 8;	/* 4K units of 512 */
	if (!c->bus->ops->dma_alloc(c->bus, 32 * 4096, &iova))
		return 1;
	start = nvmf_now_ms();
	for (unsigned iter = 0; (++iter & 1023) || nvmf_now_ms() - start < secs * 1000;) {
		while (inflight < 32) {
			struct nvme_sqe sqe = { .opcode = NVME_CMD_READ, .nsid = htole32(1) };
			uint64_t lba;

			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			lba = ((seed >> 17) % nblocks) * 8;
			sqe.cdw10 = htole32((uint32_t)lba);
			sqe.cdw11 = htole32((uint32_t)(lba >> 32));
			sqe.cdw12 = htole32(7);
			if (pci_submit(c, qp, &sqe, iova + (inflight % 32) * 4096, 4096, bench_cb, &bad))
				break;
			inflight++;
		}
		int n = pci_qpair_poll(c, qp);

		inflight -= n;
		ios += n;
	}
	printf("bench %s: 4K randread QD32: %.0f IOPS (%llu I/Os in %u s, %u errors)\n", spec,
	       ios * 1000.0 / (nvmf_now_ms() - start), (unsigned long long)ios, secs, bad);
	pci_ctrl_close(c);
	return bad != 0;
}

int main(int argc, char **argv)
{
	struct nvme_id_ns ns;
	struct nvmf_bdev *b;
	struct pci_ctrl *c;
	struct pci_qpair *qp = NULL;
	uint64_t iova;
	char err[512];
	uint8_t *buf;
	uint32_t bs;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getenv("V"))
		g_log_level = NVMF_LOG_DBG;
	if (argc > 1 && !strcmp(argv[1], "--bench"))
		return bench(argc > 2 ? argv[2] : "sim:1G", 2);
	if (argc > 1)
		g_spec = argv[1];
	g_is_sim = !strncmp(g_spec, "sim:", 4);
	printf("# device %s\n", g_spec);

	c = open_ctrl(g_spec);
	CHECK(c != NULL, "bring-up of %s", g_spec);
	if (!c)
		return test_done("pcie");
	test_bringup(c);
	test_identify(c, &ns);
	bs = 1u << ns.lbaf[ns.flbas & 0xf].lbads;
	CHECK(pci_ioq_create(c, 1, &qp) == 0, "Create I/O CQ and SQ 1 (%u entries, polled)", c->io_qsize);
	if (!qp)
		return test_done("pcie");
	buf = c->bus->ops->dma_alloc(c->bus, 2 * PCI_PAGE, &iova);
	CHECK(roundtrip(c, qp, buf, iova, buf + PCI_PAGE, iova + PCI_PAGE, 7, bs, bs),
	      "write a block, read it back");
	test_wrap(c, qp, bs);
	test_prps(c, qp, bs);
	if (g_is_sim)
		test_fault_delay(c, qp, iova, bs);
	c->bus->ops->dma_free(c->bus, buf, 2 * PCI_PAGE);
	pci_ctrl_close(c);
	CHECK(true, "shutdown with CC.SHN and close");

	if (pci_bdev_create(g_spec, &b, err, sizeof(err))) {
		CHECK(false, "backend %s: %s", g_spec, err);
		return test_done("pcie");
	}
	test_bdev(b);
	test_overflow(b);
	if (g_is_sim) {
		c = ((struct pci_bdev *)b->priv)->c;
		test_fault_status(b, c);
		test_fault_drop(b, c);
		test_fault_cfs(b, c);
		test_fault_rdy();
		test_geometry();
		test_small_mdts();
		test_vfio_missing();
	}
	b->ops->free(b);
	free(b);
	return test_done("pcie");
}
