/*
 * sim_test.c - unit tests of the simulated NVMe controller, sim/sim.c.
 *
 * The tests drive the controller only through the bus seam, as a driver
 * would: register reads and writes, doorbells, DMA memory, poll(). The
 * small driver of sim/demo.c (sim_host_*) does the queue bookkeeping; the
 * tests build every SQE themselves from nvme.h. What sim/ calls outside
 * itself is stubbed: main.c's log, trace and clock, and nvmf.c's
 * nvmf_opcode_name() (used only by the trace).
 *
 *   part                                   spec
 *   -----------------------------------------------------------------
 *   1. register file, enable, shutdown     [BASE-2.0c §3.1.4, §3.5-3.6]
 *   2. Identify, features                  [BASE-2.0c §5.17, §5.27]
 *   3. I/O queue create / delete           [BASE-2.0c §5.4-5.7]
 *   4. logs, Abort, AER, doorbell errors   [BASE-2.0c §5.16, §5.1, §5.2]
 *   5. NVM commands                        [NVM-1.0c §3]
 *   6. PRPs                                [BASE-2.0c §4.3.1]
 *   7. queue wrap, phase, full CQ          [BASE-2.0c §3.3.1, §4.6]
 *   8. fault injection, then garbage in    (nvmf.h, sim/sim.c)
 *   9. spec parsing, file backing, dma_map
 *
 * Build: make tests/sim_test. V=1 shows the log and the sim's trace.
 */
#include "../sim/sim.c"
#include "../sim/admin.c"
#include "../sim/demo.c"
#include "test.h"

#include <stdarg.h>

/* ==================================================================== */
/* Stubs of main.c: the clock (test.h stands in for log and trace)    */
/* ==================================================================== */

uint64_t nvmf_now_ms(void)
{
	return 1000;		/* time stands still: slow RDY counts reads */
}

const char *nvmf_opcode_name(const struct nvme_sqe *sqe, uint16_t qid)
{
	(void)sqe;
	return qid ? "io" : "admin";	/* the trace's label only */
}

/* ==================================================================== */
/* Helpers                                                             */
/* ==================================================================== */

/* The controller under test (reopened by bring_up with a new spec) and
 * the demo driver's host state: its queues, its DMA buffer g_h.buf at
 * g_h.buf_iova, and the PRP list page it builds for long transfers. */
static struct nvme_bus *g_bus;
static struct sim_host g_h;

/* Open a simulated controller from a spec string ("64M,mqes=63,...", the
 * syntax of `nvmf sim` and of a sim: bdev). NULL and a "#" line if the
 * spec is refused; V=1 turns on its trace. */
static struct nvme_bus *open_sim(const char *spec)
{
	struct nvme_bus *b = NULL;
	char err[256];

	if (sim_bus_open(spec, &b, err, sizeof(err)))
		printf("# sim_bus_open(%s): %s\n", spec, err);
	if (b)
		sim_set_trace(b, g_log_level >= NVMF_LOG_DBG);
	return b;
}

/* Register access through the bus ops, the only way a driver sees the
 * device: the tests never reach into struct sim for a register. */
static uint32_t rd32(uint32_t off)
{
	return g_bus->ops->read32(g_bus, off);
}

static void wr32(uint32_t off, uint32_t v)
{
	g_bus->ops->write32(g_bus, off, v);
}

/* An admin command; returns the status (host order) or -ETIMEDOUT. */
static int adm(struct nvme_sqe c, uint32_t *dw0)
{
	struct nvme_cqe cqe = { 0 };
	int st = sim_host_cmd(&g_h, 0, &c, &cqe);

	if (dw0)
		*dw0 = le32toh(cqe.dw0);
	return st;
}

/* An SQE with no data pointer; callers add PRPs where the command
 * moves data. */
static struct nvme_sqe sqe_of(uint8_t opcode, uint32_t cdw10, uint32_t cdw11)
{
	struct nvme_sqe c = { .opcode = opcode };

	c.cdw10 = htole32(cdw10);
	c.cdw11 = htole32(cdw11);
	return c;
}

/* PRP2 is the second half of DPTR: a second page, or the address of a
 * PRP list when the transfer spans more than two [BASE-2.0c §4.3.1]. */
static void set_prp2(struct nvme_sqe *c, uint64_t prp2)
{
	prp2 = htole64(prp2);
	memcpy((uint8_t *)&c->dptr + 8, &prp2, 8);
}

/* Read or Write nlb 512-byte blocks at slba, data at g_h.buf + off. */
static int rw(bool write, uint64_t slba, uint32_t nlb, uint32_t off)
{
	struct nvme_sqe c = sim_host_rw_sqe(&g_h, write, slba, nlb, off, 512);

	return sim_host_cmd(&g_h, 1, &c, NULL);
}

/* A fresh 64 MiB controller, enabled, with I/O pair 1 of qsize entries. */
static void bring_up(const char *spec, uint16_t qsize)
{
	if (g_bus)
		g_bus->ops->close(g_bus);
	g_bus = open_sim(spec);
	CHECK(g_bus && !sim_host_enable(&g_h, g_bus, 8), "%s: controller enabled", spec);
	if (qsize)
		CHECK_EQ_U(sim_host_io_queue(&g_h, qsize), 0, "%s: I/O queue pair 1 created", spec);
}

/* ==================================================================== */
/* 1. Register file                                                    */
/* ==================================================================== */

/*
 * The register file and the enable handshake a driver runs first
 * [BASE-2.0c §3.1.4, §3.5.1]. What the group proves: CAP reports the
 * options the spec string asked for (a driver sizes its queues and its
 * timeout from it); an enable with a bad admin queue (ACQ unset or
 * outside DMA memory) or an unsupported page size fails with CSTS.CFS,
 * as hardware does, instead of running on garbage; CC.EN 1 -> 0 resets;
 * shutdown passes through "occurring" before "complete", so a driver that
 * polls for complete is exercised. The slow-RDY knob makes CSTS.RDY lag,
 * which is how pcie_nvme.c's CAP.TO wait gets tested.
 */
static void test_registers(void)
{
	uint64_t cap, asq_iova;
	void *asq;

	g_bus = open_sim("64M,dstrd=2,mqes=63,to=7");
	cap = g_bus->ops->read64(g_bus, NVME_REG_CAP);
	CHECK_EQ_U(cap & 0xffff, 63, "CAP.MQES is mqes= [BASE-2.0c Fig. 36]");
	CHECK(cap & SIM_CAP_CQR, "CAP.CQR: queues must be physically contiguous");
	CHECK_EQ_U((cap >> 24) & 0xff, 7, "CAP.TO is to=");
	CHECK_EQ_U((cap >> 32) & 0xf, 2, "CAP.DSTRD is dstrd=");
	CHECK(cap & SIM_CAP_CSS_NVM, "CAP.CSS says the NVM command set");
	CHECK_EQ_U((cap >> 48) & 0xff, 0, "CAP.MPSMIN = MPSMAX = 0: 4 KiB pages only");
	CHECK_EQ_U(rd32(NVME_REG_CAP + 4), cap >> 32, "CAP read as two dwords matches read64");
	CHECK_EQ_U(rd32(NVME_REG_VS), 0x20000, "VS is 2.0.0 [BASE-2.0c Fig. 40]");
	CHECK_EQ_U(rd32(NVME_REG_CC), 0, "CC is 0 at power on");
	CHECK_EQ_U(rd32(NVME_REG_CSTS), 0, "CSTS is 0 at power on");

	asq = g_bus->ops->dma_alloc(g_bus, 4096, &asq_iova);
	CHECK(asq && asq_iova >= SIM_IOVA_BASE, "dma_alloc gives an IOVA, not the pointer");
	wr32(SIM_REG_AQA, 0x00030003);
	g_bus->ops->write64(g_bus, SIM_REG_ASQ, asq_iova);
	CHECK_EQ_U(rd32(SIM_REG_AQA), 0x00030003, "AQA reads back");
	CHECK_EQ_U(g_bus->ops->read64(g_bus, SIM_REG_ASQ), asq_iova, "ASQ reads back (64-bit)");
	wr32(NVME_REG_CC, NVME_CC_EN);
	CHECK_EQ_U(rd32(NVME_REG_CSTS), NVME_CSTS_CFS,
		   "enable with ACQ = 0: CSTS.CFS, not RDY (our choice; sim_enable)");
	wr32(NVME_REG_CC, 0);
	CHECK_EQ_U(rd32(NVME_REG_CSTS), 0, "CC.EN 1 -> 0 clears CFS (controller reset)");
	g_bus->ops->write64(g_bus, SIM_REG_ACQ, asq_iova + (1ull << 30));
	wr32(NVME_REG_CC, NVME_CC_EN);
	CHECK(rd32(NVME_REG_CSTS) & NVME_CSTS_CFS, "enable with ACQ outside DMA memory: CFS");
	wr32(NVME_REG_CC, 0);
	g_bus->ops->write64(g_bus, SIM_REG_ACQ, asq_iova);	/* one page: both fit */
	wr32(NVME_REG_CC, NVME_CC_EN | 1u << NVME_CC_MPS_SHIFT);
	CHECK(rd32(NVME_REG_CSTS) & NVME_CSTS_CFS, "enable with CC.MPS=1 (8 KiB): CFS");
	wr32(NVME_REG_CC, 0);
	wr32(NVME_REG_CC, NVME_CC_EN);
	CHECK_EQ_U(rd32(NVME_REG_CSTS), NVME_CSTS_RDY, "valid AQA/ASQ/ACQ: RDY follows CC.EN [BASE-2.0c §3.5.1]");
	wr32(SIM_REG_AQA, 0x00070007);
	CHECK_EQ_U(rd32(SIM_REG_AQA), 0x00030003, "AQA is read-only while enabled");
	wr32(NVME_REG_CC, NVME_CC_EN | 1u << NVME_CC_SHN_SHIFT);
	CHECK_EQ_U(rd32(NVME_REG_CSTS) & NVME_CSTS_SHST_MASK, SIM_CSTS_SHST_OCCURRING,
		   "CC.SHN=01b: CSTS.SHST=01b, shutdown occurring [BASE-2.0c Fig. 42]");
	CHECK_EQ_U(rd32(NVME_REG_CSTS) & NVME_CSTS_SHST_MASK, NVME_CSTS_SHST_CMPLT,
		   "then CSTS.SHST=10b, shutdown complete");
	wr32(NVME_REG_CC, 0);
	CHECK_EQ_U(rd32(NVME_REG_CSTS), 0, "reset after shutdown: RDY=0, SHST=00b");

	/* slow RDY: the 4th read after the change sees it */
	sim_slow_rdy(g_bus, 3, 0);
	wr32(NVME_REG_CC, NVME_CC_EN);
	int rdy = 0;
	for (int i = 0; i < 3; i++)
		rdy |= rd32(NVME_REG_CSTS) & NVME_CSTS_RDY;
	CHECK(!rdy, "slow RDY 3: three CSTS reads still see RDY=0");
	CHECK(rd32(NVME_REG_CSTS) & NVME_CSTS_RDY, "slow RDY 3: the 4th sees RDY=1");
	sim_slow_rdy(g_bus, ~0u, 0);
	wr32(NVME_REG_CC, 0);
	rdy = 1;
	for (int i = 0; i < 1000; i++)
		rdy &= rd32(NVME_REG_CSTS) & NVME_CSTS_RDY;
	CHECK(rdy, "slow RDY ~0: RDY never follows CC.EN (a driver's CAP.TO expires)");
	g_bus->ops->close(g_bus);
	g_bus = NULL;
}

/* Doorbell stride: with DSTRD=2 doorbells are 16 bytes apart. */
/* CAP.DSTRD spaces the doorbells 4 << DSTRD bytes apart [BASE-2.0c
 * §3.1.4]: a driver that ignores it rings the wrong queue. A write between
 * two doorbells, or to a queue that does not exist, is counted as a bad
 * doorbell write. */
static void test_doorbell_stride(void)
{
	struct sim_stats st;
	struct nvme_sqe c = sqe_of(NVME_ADM_IDENTIFY, NVME_CNS_CTRL, 0);

	bring_up("64M,dstrd=2", 4);
	CHECK_EQ_U(g_h.stride, 16, "the host computed a 16-byte stride from CAP.DSTRD");
	sim_host_prp(&g_h, &c, 0, 4096);
	CHECK_EQ_U(adm(c, NULL), 0, "admin command through doorbells 0x1000/0x1010");
	CHECK_EQ_U(rw(true, 0, 1, 0), 0, "I/O command through doorbells 0x1020/0x1030");
	sim_get_stats(g_bus, &st);
	wr32(0x1004, 1);
	wr32(0x1000 + 4 * 16, 0);	/* SQ 2 tail: queue 2 does not exist */
	sim_get_stats(g_bus, &st);
	CHECK_EQ_U(st.bad_doorbells, 2, "a write between doorbells or to a missing queue is invalid");
}

/* ==================================================================== */
/* 2. Identify and features                                            */
/* ==================================================================== */

/*
 * Identify [BASE-2.0c §5.17]: Identify Controller describes the limits the
 * simulator enforces elsewhere (MDTS, AERL, 64/16-byte entries), so a
 * driver that trusts them is never refused; Identify Namespace gives the
 * size and block size the spec asked for (64M of 512-byte blocks, or
 * 4M:4096); an NSID that does not exist is Invalid Namespace, a CNS the
 * device does not have is Invalid Field.
 */
static void test_identify(void)
{
	struct nvme_id_ctrl *ic;
	struct nvme_id_ns *ns;
	le32 *list;
	struct nvme_ns_id_desc *d;

	bring_up("64M,mdts=6", 0);
	ic = (void *)g_h.buf;			/* the buffer of this bring-up */
	ns = (void *)g_h.buf;
	list = (void *)g_h.buf;
	d = (void *)g_h.buf;
	CHECK_EQ_U(sim_host_identify(&g_h, NVME_CNS_CTRL, 0), 0, "Identify CNS 01h succeeds");
	CHECK_EQ_U(ic->mdts, 6, "Identify Controller MDTS is mdts=");
	CHECK_EQ_U(ic->sqes, 0x66, "SQES: 64-byte SQEs");
	CHECK_EQ_U(ic->cqes, 0x44, "CQES: 16-byte CQEs");
	CHECK_EQ_U(le32toh(ic->nn), 1, "NN: one namespace");
	CHECK_EQ_U(ic->aerl, SIM_AERL, "AERL is what the AER limit enforces");
	CHECK(le16toh(ic->oncs) & NVME_CTRL_ONCS_WRITE_ZEROES, "ONCS: Write Zeroes");
	CHECK(le16toh(ic->oncs) & NVME_CTRL_ONCS_DSM, "ONCS: Dataset Management");
	CHECK_EQ_U(sim_host_identify(&g_h, NVME_CNS_NS, 1), 0, "Identify CNS 00h nsid 1 succeeds");
	CHECK_EQ_U(le64toh(ns->nsze), 64 << 20 >> 9, "NSZE: 64 MiB of 512-byte blocks");
	CHECK_EQ_U(ns->lbaf[0].lbads, 9, "LBAF0: LBADS 9");
	CHECK_EQ_U(sim_host_identify(&g_h, NVME_CNS_NS, 2), NVME_SC_INVALID_NS | NVME_STATUS_DNR,
		   "Identify CNS 00h nsid 2: Invalid Namespace");
	CHECK_EQ_U(sim_host_identify(&g_h, NVME_CNS_NS_ACTIVE_LIST, 0), 0, "CNS 02h from nsid 0");
	CHECK(le32toh(list[0]) == 1 && list[1] == 0, "active list: just nsid 1");
	CHECK_EQ_U(sim_host_identify(&g_h, NVME_CNS_NS_ACTIVE_LIST, 1), 0, "CNS 02h from nsid 1");
	CHECK_EQ_U(list[0], 0, "nothing above nsid 1");
	CHECK_EQ_U(sim_host_identify(&g_h, NVME_CNS_NS_DESC_LIST, 1), 0, "CNS 03h succeeds");
	CHECK(d->nidt == NVME_NIDT_NGUID && d->nidl == 16, "first descriptor: a 16-byte NGUID");
	CHECK_EQ_U(sim_host_identify(&g_h, 0x10, 0), NVME_SC_INVALID_FIELD | NVME_STATUS_DNR,
		   "an unsupported CNS: Invalid Field in Command");
	bring_up("4M:4096", 0);
	sim_host_identify(&g_h, NVME_CNS_NS, 1);
	ns = (void *)g_h.buf;
	CHECK(le64toh(ns->nsze) == 1024 && ns->lbaf[0].lbads == 12, "4M:4096 is 1024 blocks of 4 KiB");
}

/* Number of Queues [BASE-2.0c §5.27.1.5]: the device grants at most what
 * it has (queues=), 0's based in DW0, and refuses a change once I/O queues
 * exist. Saving (SV) and SEL=saved are refused: nothing is saveable. */
static void test_features(void)
{
	uint32_t dw0 = 0;

	bring_up("64M,queues=8", 0);
	CHECK_EQ_U(adm(sqe_of(NVME_ADM_SET_FEATURES, NVME_FEAT_NUM_QUEUES, 0x00020002), &dw0), 0,
		   "Set Features Number of Queues 3/3");
	CHECK_EQ_U(dw0, 0x00020002, "granted what was asked [BASE-2.0c §5.27.1.5]");
	CHECK_EQ_U(adm(sqe_of(NVME_ADM_SET_FEATURES, NVME_FEAT_NUM_QUEUES, 0x00630063), &dw0), 0,
		   "asking for 100");
	CHECK_EQ_U(dw0, 0x00070007, "granted queues= (8), 0's based");
	CHECK_EQ_U(adm(sqe_of(NVME_ADM_GET_FEATURES, NVME_FEAT_NUM_QUEUES, 0), &dw0), 0, "Get Features NQ");
	CHECK_EQ_U(dw0, 0x00070007, "Get returns the granted number");
	CHECK_EQ_U(adm(sqe_of(NVME_ADM_SET_FEATURES, NVME_FEAT_NUM_QUEUES, 0xffff), NULL),
		   NVME_SC_INVALID_FIELD | NVME_STATUS_DNR, "NSQR = FFFFh: Invalid Field");
	CHECK_EQ_U(adm(sqe_of(NVME_ADM_SET_FEATURES, NVME_FEAT_ARBITRATION | 1u << 31, 0), NULL),
		   NVME_SC_FEAT_NOT_SAVEABLE | NVME_STATUS_DNR, "SV=1: Feature Not Saveable");
	CHECK_EQ_U(adm(sqe_of(NVME_ADM_SET_FEATURES, NVME_FEAT_ASYNC_EVENT, 0x100), NULL), 0,
		   "Set Features AEC");
	CHECK(adm(sqe_of(NVME_ADM_GET_FEATURES, NVME_FEAT_ASYNC_EVENT, 0), &dw0) == 0 && dw0 == 0x100,
	      "Get Features AEC returns what was set");
	CHECK_EQ_U(adm(sqe_of(NVME_ADM_SET_FEATURES, 0x7e, 0), NULL),
		   NVME_SC_INVALID_FIELD | NVME_STATUS_DNR, "an unsupported FID: Invalid Field");
	CHECK_EQ_U(adm(sqe_of(NVME_ADM_GET_FEATURES, NVME_FEAT_ARBITRATION | 2u << 8, 0), NULL),
		   NVME_SC_INVALID_FIELD | NVME_STATUS_DNR, "Get Features SEL=saved: Invalid Field");
	CHECK_EQ_U(sim_host_io_queue(&g_h, 4), 0, "I/O queues created");
	CHECK_EQ_U(adm(sqe_of(NVME_ADM_SET_FEATURES, NVME_FEAT_NUM_QUEUES, 0), NULL),
		   NVME_SC_CMD_SEQ_ERROR | NVME_STATUS_DNR,
		   "Number of Queues after I/O queues exist: Command Sequence Error");
	CHECK_EQ_U(adm(sqe_of(0x7e, 0, 0), NULL), NVME_SC_INVALID_OPCODE | NVME_STATUS_DNR,
		   "an unknown admin opcode: Invalid Opcode");
}

/* ==================================================================== */
/* 3. I/O queues                                                       */
/* ==================================================================== */

/* Create I/O CQ or SQ: QID and 0's based QSIZE in CDW10, flags (PC, CQ
 * ID for an SQ, interrupt vector for a CQ) in CDW11, the queue's memory
 * at PRP1 [BASE-2.0c §5.4, §5.5]. */
static struct nvme_sqe create_q(uint8_t opc, uint16_t qid, uint16_t qsize0, uint32_t cdw11, uint64_t prp1)
{
	struct nvme_sqe c = sqe_of(opc, (uint32_t)qsize0 << 16 | qid, cdw11);

	c.dptr.addr = htole64(prp1);
	return c;
}

/*
 * Creating and deleting I/O queues [BASE-2.0c §5.4-5.7]: every field a
 * driver can get wrong has its own status (QID, QSIZE against CAP.MQES,
 * PC while CAP.CQR is set, interrupt vector, PRP alignment, memory outside
 * what the driver mapped), an SQ needs its CQ, and a CQ cannot be deleted
 * while an SQ still uses it. A device that accepted a bad queue would DMA
 * to memory the driver never gave it.
 */
static void test_queues(void)
{
	uint64_t iova;
	const uint16_t bad = NVME_STATUS_DNR;

	bring_up("64M,mqes=15,queues=2", 0);
	g_bus->ops->dma_alloc(g_bus, 4096, &iova);
	adm(sqe_of(NVME_ADM_SET_FEATURES, NVME_FEAT_NUM_QUEUES, 0x00010001), NULL);
	CHECK_EQ_U(adm(create_q(NVME_ADM_CREATE_CQ, 0, 3, 1, iova), NULL), NVME_SC_INVALID_QID | bad,
		   "Create CQ qid 0: Invalid Queue Identifier [BASE-2.0c §5.4]");
	CHECK_EQ_U(adm(create_q(NVME_ADM_CREATE_CQ, 3, 3, 1, iova), NULL), NVME_SC_INVALID_QID | bad,
		   "Create CQ qid above Number of Queues: Invalid Queue Identifier");
	CHECK_EQ_U(adm(create_q(NVME_ADM_CREATE_CQ, 1, 0, 1, iova), NULL),
		   NVME_SC_INVALID_QUEUE_SIZE | bad, "QSIZE 0 (one entry): Invalid Queue Size");
	CHECK_EQ_U(adm(create_q(NVME_ADM_CREATE_CQ, 1, 16, 1, iova), NULL),
		   NVME_SC_INVALID_QUEUE_SIZE | bad, "QSIZE above CAP.MQES: Invalid Queue Size");
	CHECK_EQ_U(adm(create_q(NVME_ADM_CREATE_CQ, 1, 3, 0, iova), NULL), NVME_SC_INVALID_FIELD | bad,
		   "PC=0 while CAP.CQR=1: Invalid Field");
	CHECK_EQ_U(adm(create_q(NVME_ADM_CREATE_CQ, 1, 3, 1u << 16 | 1, iova), NULL),
		   SIM_SC_INVALID_VECTOR | bad, "an interrupt vector we do not have: Invalid Interrupt Vector");
	CHECK_EQ_U(adm(create_q(NVME_ADM_CREATE_CQ, 1, 3, 1, iova + 64), NULL), SIM_SC_PRP_OFFSET | bad,
		   "PRP1 not page aligned: PRP Offset Invalid");
	CHECK_EQ_U(adm(create_q(NVME_ADM_CREATE_CQ, 1, 3, 1, 0x1000), NULL),
		   NVME_SC_DATA_XFER_ERROR | bad, "PRP1 outside DMA memory: Data Transfer Error");
	CHECK_EQ_U(adm(create_q(NVME_ADM_CREATE_CQ, 1, 3, 1, iova), NULL), 0, "Create CQ 1");
	CHECK_EQ_U(adm(create_q(NVME_ADM_CREATE_CQ, 1, 3, 1, iova), NULL), NVME_SC_INVALID_QID | bad,
		   "Create CQ 1 again: Invalid Queue Identifier");
	CHECK_EQ_U(adm(create_q(NVME_ADM_CREATE_SQ, 1, 3, 2u << 16 | 1, iova + 2048), NULL),
		   SIM_SC_CQ_INVALID | bad, "Create SQ on a CQ that does not exist: Completion Queue Invalid");
	CHECK_EQ_U(adm(create_q(NVME_ADM_CREATE_SQ, 1, 3, 0u << 16 | 1, iova + 2048), NULL),
		   SIM_SC_CQ_INVALID | bad, "Create SQ on CQ 0 (admin): Completion Queue Invalid");
	g_bus->ops->dma_alloc(g_bus, 4096, &iova);
	CHECK_EQ_U(adm(create_q(NVME_ADM_CREATE_SQ, 1, 3, 1u << 16 | 1, iova), NULL), 0, "Create SQ 1 on CQ 1");
	CHECK_EQ_U(adm(sqe_of(NVME_ADM_DELETE_CQ, 1, 0), NULL), SIM_SC_QUEUE_DELETION | bad,
		   "Delete CQ 1 with SQ 1 on it: Invalid Queue Deletion [BASE-2.0c §5.6]");
	CHECK_EQ_U(adm(sqe_of(NVME_ADM_DELETE_SQ, 0, 0), NULL), NVME_SC_INVALID_QID | bad,
		   "Delete SQ 0 (admin): Invalid Queue Identifier");
	CHECK_EQ_U(adm(sqe_of(NVME_ADM_DELETE_SQ, 2, 0), NULL), NVME_SC_INVALID_QID | bad,
		   "Delete SQ 2 (never created): Invalid Queue Identifier");
	CHECK_EQ_U(adm(sqe_of(NVME_ADM_DELETE_SQ, 1, 0), NULL), 0, "Delete SQ 1");
	CHECK_EQ_U(adm(sqe_of(NVME_ADM_DELETE_CQ, 1, 0), NULL), 0, "then Delete CQ 1");
	CHECK_EQ_U(adm(sqe_of(NVME_ADM_DELETE_CQ, 1, 0), NULL), NVME_SC_INVALID_QID | bad,
		   "Delete CQ 1 again: Invalid Queue Identifier");
}

/* ==================================================================== */
/* 4. Logs, Abort, AER, doorbell errors                                */
/* ==================================================================== */

/* Get Log Page of len bytes at offset off: NUMDL (0's based dwords) in
 * CDW10 31:16, RAE in bit 15, the offset in CDW12-13 [BASE-2.0c §5.16]. */
static struct nvme_sqe get_log(uint8_t lid, uint32_t len, uint64_t off, bool rae)
{
	struct nvme_sqe c = sqe_of(NVME_ADM_GET_LOG_PAGE,
				   lid | (rae ? 1u << 15 : 0) | ((len / 4 - 1) << 16), 0);

	c.cdw12 = htole32((uint32_t)off);
	c.cdw13 = htole32((uint32_t)(off >> 32));
	sim_host_prp(&g_h, &c, 0, len);
	return c;
}

/* The Error log records a failed command (here an LBA out of range, with
 * its SQ) and the SMART log counts commands as they complete [BASE-2.0c
 * §5.16.1]: a driver or nvme-cli reading them sees what really happened.
 * A LID the device lacks and an offset past a log are refused. */
static void test_logs(void)
{
	struct nvme_error_log *e;
	struct nvme_smart_log *sm;
	uint64_t v;

	bring_up("64M", 4);
	e = (void *)g_h.buf;
	sm = (void *)g_h.buf;
	rw(true, 0, 1, 0);
	rw(true, 0, 1, 0);
	rw(false, 1ull << 40, 1, 0);		/* fails: LBA out of range */
	CHECK_EQ_U(adm(get_log(NVME_LOG_ERROR, 64, 0, false), NULL), 0, "Get Log Page 01h");
	CHECK_EQ_U(le64toh(e->error_count), 1, "one error so far [BASE-2.0c Fig. 205]");
	CHECK(le16toh(e->sqid) == 1 && (le16toh(e->status) >> 1) == (NVME_SC_LBA_RANGE | NVME_STATUS_DNR),
	      "the entry names SQ 1 and LBA Out of Range");
	CHECK_EQ_U(adm(get_log(NVME_LOG_SMART, 512, 0, false), NULL), 0, "Get Log Page 02h");
	memcpy(&v, sm->host_writes, 8);
	CHECK_EQ_U(le64toh(v), 2, "SMART host write commands: 2");
	CHECK_EQ_U(adm(get_log(NVME_LOG_FW_SLOT, 512, 0, false), NULL), 0, "Get Log Page 03h");
	CHECK_EQ_U(g_h.buf[0], 1, "firmware slot 1 is active");
	CHECK_EQ_U(adm(get_log(0x80, 512, 0, false), NULL), NVME_SC_INVALID_LOG_PAGE | NVME_STATUS_DNR,
		   "an unsupported LID: Invalid Log Page");
	CHECK_EQ_U(adm(get_log(NVME_LOG_SMART, 512, 512, false), NULL),
		   NVME_SC_INVALID_FIELD | NVME_STATUS_DNR, "an offset past the log: Invalid Field");
}

/*
 * Abort [BASE-2.0c §5.1] of a Read held back by a delay fault: the Read
 * completes with Command Abort Requested and the Abort says it worked
 * (DW0 bit 0 clear); for a CID nothing holds, DW0 bit 0 is 1. Without
 * the delay the Read would be done before the Abort arrived, and there
 * would be nothing to test. Deleting an SQ completes what it still holds
 * with Command Aborted due to SQ Deletion [BASE-2.0c §5.7], exactly once.
 */
static void test_abort(void)
{
	struct sim_fault f = { SIM_FAULT_DELAY, 1, NVME_CMD_READ, 1, 1, 50, 0 };
	struct nvme_sqe c;
	struct nvme_cqe cqe;
	uint16_t cid;
	uint32_t dw0 = 7;

	bring_up("64M", 4);
	sim_fault_add(g_bus, &f);
	c = sim_host_rw_sqe(&g_h, false, 0, 1, 0, 512);
	cid = sim_host_submit(&g_h, 1, &c);
	g_bus->ops->poll(g_bus);
	CHECK_EQ_U(adm(sqe_of(NVME_ADM_ABORT, (uint32_t)cid << 16 | 1, 0), &dw0), 0, "Abort the held Read");
	CHECK_EQ_U(dw0 & 1, 0, "DW0 bit 0 = 0: it was aborted [BASE-2.0c §5.1]");
	CHECK(sim_host_reap(&g_h, 1, &cqe) && le16toh(cqe.cid) == cid &&
	      le16toh(cqe.status) >> 1 == NVME_SC_ABORT_REQ, "the Read completes with Command Abort Requested");
	CHECK_EQ_U(adm(sqe_of(NVME_ADM_ABORT, 999u << 16 | 1, 0), &dw0), 0, "Abort an unknown command");
	CHECK_EQ_U(dw0 & 1, 1, "DW0 bit 0 = 1: not aborted");

	/* Deleting an SQ completes what it still holds [BASE-2.0c §5.7]. */
	sim_fault_add(g_bus, &f);
	c = sim_host_rw_sqe(&g_h, false, 0, 1, 0, 512);
	cid = sim_host_submit(&g_h, 1, &c);
	g_bus->ops->poll(g_bus);
	CHECK_EQ_U(adm(sqe_of(NVME_ADM_DELETE_SQ, 1, 0), NULL), 0, "Delete SQ 1 with a Read held");
	CHECK(sim_host_reap(&g_h, 1, &cqe) && le16toh(cqe.cid) == cid &&
	      le16toh(cqe.status) >> 1 == NVME_SC_ABORT_SQ_DELETED,
	      "the Read completes first: Command Aborted due to SQ Deletion");
	for (int i = 0; i < 60; i++)
		g_bus->ops->poll(g_bus);
	CHECK(!sim_host_reap(&g_h, 1, &cqe), "and never completes a second time");
}

/* After CC.SHN the controller answers nothing until it is reset [BASE-2.0c §3.6.1]. */
static void test_shutdown(void)
{
	bring_up("1M", 4);
	CHECK_EQ_U(sim_host_shutdown(&g_h), 0, "shutdown completes");
	CHECK_EQ_U(rw(false, 0, 1, 0), (uint64_t)-ETIMEDOUT, "a Read after shutdown is not processed");
	CHECK_EQ_U(sim_host_enable(&g_h, g_bus, 8), 0, "reset and enable again");
	CHECK_EQ_U(sim_host_identify(&g_h, NVME_CNS_CTRL, 0), 0, "the controller answers again");
	g_bus->ops->dma_free(g_bus, g_h.buf + 8, 64);
	g_bus->ops->dma_unmap(g_bus, g_h.buf, 64);
	CHECK_EQ_U(sim_host_identify(&g_h, NVME_CNS_CTRL, 0), 0,
		   "a dma_free/dma_unmap of memory the bus did not give is refused, not obeyed");
}

/*
 * Asynchronous events and doorbell errors [BASE-2.0c §5.2]: AERL 3 lets
 * four AERs wait, a fifth is refused. An SQ tail beyond the queue's size
 * or a doorbell of a queue that does not exist is an error a driver must
 * hear about: the oldest AER completes with type Error and the Error
 * log's LID. Further Error events wait, masked, until the host reads that
 * log with RAE clear; a read that failed, or one with RAE set, does not
 * unmask. A CQ head past what was posted is counted the same way.
 */
static void test_aer(void)
{
	struct nvme_sqe c = sqe_of(NVME_ADM_ASYNC_EVENT, 0, 0);
	struct nvme_cqe cqe;
	uint16_t cid[4];

	bring_up("64M", 4);
	for (int i = 0; i < 4; i++)
		cid[i] = sim_host_submit(&g_h, 0, &c);
	g_bus->ops->poll(g_bus);
	CHECK(!sim_host_reap(&g_h, 0, &cqe), "four AERs wait for an event (AERL 3)");
	CHECK_EQ_U(adm(c, NULL), NVME_SC_AER_LIMIT | NVME_STATUS_DNR,
		   "a fifth: Asynchronous Event Request Limit Exceeded [BASE-2.0c §5.2]");
	wr32(0x1000 + 2 * 4, 9);		/* SQ 1 tail 9 on a 4-entry queue */
	g_bus->ops->poll(g_bus);
	CHECK(sim_host_reap(&g_h, 0, &cqe) && le16toh(cqe.cid) == cid[0],
	      "an invalid doorbell value completes the oldest AER");
	CHECK_EQ_U(le32toh(cqe.dw0), NVME_AER_DW0(SIM_AER_TYPE_ERROR, SIM_AER_BAD_DB_VALUE, NVME_LOG_ERROR),
		   "event: Error, Invalid Doorbell Write Value, log 01h [BASE-2.0c Fig. 148]");
	wr32(0x1000 + 2 * 7 * 4, 1);		/* SQ 7: no such queue */
	g_bus->ops->poll(g_bus);
	CHECK(!sim_host_reap(&g_h, 0, &cqe), "a second Error event waits: masked until log 01h is read");
	c = get_log(NVME_LOG_ERROR, 64, 0, false);
	c.dptr.addr = htole64(0x5000);
	CHECK_EQ_U(adm(c, NULL), NVME_SC_DATA_XFER_ERROR, "log 01h into memory we cannot reach: Data Transfer Error");
	g_bus->ops->poll(g_bus);
	CHECK(!sim_host_reap(&g_h, 0, &cqe), "a read that failed does not unmask");
	CHECK_EQ_U(adm(get_log(NVME_LOG_ERROR, 64, 0, true), NULL), 0, "read log 01h with RAE=1");
	g_bus->ops->poll(g_bus);
	CHECK(!sim_host_reap(&g_h, 0, &cqe), "RAE=1 keeps the mask");
	CHECK_EQ_U(adm(get_log(NVME_LOG_ERROR, 64, 0, false), NULL), 0, "read log 01h with RAE=0");
	g_bus->ops->poll(g_bus);
	CHECK(sim_host_reap(&g_h, 0, &cqe) && le16toh(cqe.cid) == cid[1] &&
	      le32toh(cqe.dw0) == NVME_AER_DW0(SIM_AER_TYPE_ERROR, SIM_AER_BAD_DB_REG, NVME_LOG_ERROR),
	      "then the waiting event arrives: Write to Invalid Doorbell Register");
	CHECK_EQ_U(rw(true, 0, 1, 0), 0, "I/O still works after the bad doorbell writes");
	wr32(0x1000 + 3 * 4, 3);		/* CQ 1 head past what was posted */
	g_bus->ops->poll(g_bus);
	CHECK(sim_host_reap(&g_h, 0, &cqe) == 0, "(masked again after delivery)");
	struct sim_stats st;
	sim_get_stats(g_bus, &st);
	CHECK_EQ_U(st.bad_doorbells, 3, "a CQ head beyond the posted entries is an invalid write");
}

/* ==================================================================== */
/* 5. NVM commands                                                     */
/* ==================================================================== */

/* A byte pattern that differs in every byte of a block, so a block read
 * from the wrong LBA or a shifted copy never compares equal. */
static void fill(uint32_t off, uint32_t len, uint8_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		g_h.buf[off + i] = (uint8_t)(seed + i * 13);
}

static bool is_zero(uint32_t off, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		if (g_h.buf[off + i])
			return false;
	return true;
}

/*
 * NVM commands [NVM-1.0c §3]: a write reads back; a wrong NSID, an SGL
 * (PCIe I/O here uses PRPs), an unknown opcode are refused with their own
 * status; Flush of FFFFFFFFh means every namespace; Write Zeroes and
 * Dataset Management Deallocate zero exactly their blocks (the namespace
 * reports that deallocated blocks read as zeroes, DLFEAT), and a range
 * past the end fails the whole DSM.
 */
static void test_nvm(void)
{
	struct nvme_sqe c;
	uint8_t *dsm;

	bring_up("1M", 8);
	fill(0, 8192, 1);
	CHECK_EQ_U(rw(true, 100, 16, 0), 0, "Write 16 blocks [NVM-1.0c §3.2.6]");
	memset(g_h.buf + 65536, 0, 8192);
	CHECK_EQ_U(rw(false, 100, 16, 65536), 0, "Read them back");
	CHECK(!memcmp(g_h.buf, g_h.buf + 65536, 8192), "the data matches");
	CHECK_EQ_U(rw(false, 2047, 2, 0), NVME_SC_LBA_RANGE | NVME_STATUS_DNR,
		   "a Read past the last LBA: LBA Out of Range");
	CHECK_EQ_U(rw(false, 2047, 1, 65536), 0, "the last LBA itself");
	CHECK_EQ_U(rw(false, 0, 257, 0), NVME_SC_INVALID_FIELD | NVME_STATUS_DNR,
		   "a Read over MDTS (128 KiB): Invalid Field");
	c = sim_host_rw_sqe(&g_h, false, 0, 1, 0, 512);
	c.nsid = htole32(2);
	CHECK_EQ_U(sim_host_cmd(&g_h, 1, &c, NULL), NVME_SC_INVALID_NS | NVME_STATUS_DNR,
		   "nsid 2: Invalid Namespace");
	c = sim_host_rw_sqe(&g_h, false, 0, 1, 0, 512);
	c.flags = NVME_PSDT_SGL_MPTR_CONTIG << NVME_SQE_PSDT_SHIFT;
	CHECK_EQ_U(sim_host_cmd(&g_h, 1, &c, NULL), NVME_SC_INVALID_FIELD | NVME_STATUS_DNR,
		   "PSDT=01b (SGL) on a PRP-only controller: Invalid Field");
	c = sqe_of(NVME_CMD_FLUSH, 0, 0);
	c.nsid = htole32(0xffffffff);
	CHECK_EQ_U(sim_host_cmd(&g_h, 1, &c, NULL), 0, "Flush of all namespaces (nsid FFFFFFFFh)");
	c = sqe_of(0x7f, 0, 0);
	c.nsid = htole32(1);
	CHECK_EQ_U(sim_host_cmd(&g_h, 1, &c, NULL), NVME_SC_INVALID_OPCODE | NVME_STATUS_DNR,
		   "an unknown I/O opcode: Invalid Opcode");

	c = sqe_of(NVME_CMD_WRITE_ZEROES, 104, 0);
	c.nsid = htole32(1);
	c.cdw12 = htole32(3);
	CHECK_EQ_U(sim_host_cmd(&g_h, 1, &c, NULL), 0, "Write Zeroes 4 blocks at 104 [NVM-1.0c §3.2.8]");
	rw(false, 100, 16, 65536);
	CHECK(!memcmp(g_h.buf, g_h.buf + 65536, 2048) && is_zero(65536 + 2048, 2048) &&
	      !memcmp(g_h.buf + 4096, g_h.buf + 65536 + 4096, 4096),
	      "exactly blocks 104..107 read zeroes");

	dsm = g_h.buf + 131072;
	memset(dsm, 0, 4096);
	((struct nvme_dsm_range *)dsm)[0] = (struct nvme_dsm_range){ 0, htole32(2), htole64(100) };
	((struct nvme_dsm_range *)dsm)[1] = (struct nvme_dsm_range){ 0, htole32(1), htole64(115) };
	c = sqe_of(NVME_CMD_DSM, 1, NVME_DSM_AD);
	c.nsid = htole32(1);
	sim_host_prp(&g_h, &c, 131072, 32);
	CHECK_EQ_U(sim_host_cmd(&g_h, 1, &c, NULL), 0, "DSM deallocate two ranges [NVM-1.0c §3.2.3]");
	rw(false, 100, 16, 65536);
	CHECK(is_zero(65536, 1024) && !memcmp(g_h.buf + 1024, g_h.buf + 65536 + 1024, 1024) &&
	      is_zero(65536 + 15 * 512, 512), "deallocated blocks read zeroes (DLFEAT), others kept");
	((struct nvme_dsm_range *)dsm)[1].slba = htole64(2048);
	((struct nvme_dsm_range *)dsm)[0].slba = htole64(108);
	CHECK_EQ_U(sim_host_cmd(&g_h, 1, &c, NULL), NVME_SC_LBA_RANGE | NVME_STATUS_DNR,
		   "DSM with a range past the end: LBA Out of Range");
	rw(false, 108, 2, 65536);
	CHECK(!memcmp(g_h.buf + 4096, g_h.buf + 65536, 1024), "and no range was touched");
}

/* ==================================================================== */
/* 6. PRPs                                                             */
/* ==================================================================== */

/*
 * PRPs [BASE-2.0c §4.3.1]: PRP1 may start at any dword offset in a page,
 * PRP2 is a second page or a list, and a list that does not fit one page
 * chains through its last entry. Every size from 1 to 256 blocks is
 * written and read back at an unaligned PRP1; then each rule is broken
 * once (an offset in PRP2 or a list entry, an address outside DMA memory,
 * a CPU pointer instead of an IOVA) and must fail with PRP Offset Invalid
 * or Data Transfer Error, never reach memory the driver did not map.
 */
static void test_prp(void)
{
	struct nvme_sqe c;
	uint64_t *list, list_iova, *list2, list2_iova;
	const uint64_t b = g_h.buf_iova;
	int st;

	bring_up("1M", 8);
	for (uint32_t n = 1; n <= 256; n = n < 8 ? n + 1 : n * 2) {
		uint32_t len = n * 512;

		fill(4, len, (uint8_t)n);		/* PRP1 at offset 4 */
		c = sim_host_rw_sqe(&g_h, true, 0, n, 4, 512);
		st = sim_host_cmd(&g_h, 1, &c, NULL);
		memset(g_h.buf + 262144, 0, len);
		c = sim_host_rw_sqe(&g_h, false, 0, n, 262144, 512);
		st |= sim_host_cmd(&g_h, 1, &c, NULL);
		CHECK(!st && !memcmp(g_h.buf + 4, g_h.buf + 262144, len),
		      "%u bytes from PRP1 offset 4 (PRP1 / PRP2 / list) round trip", len);
	}

	c = sim_host_rw_sqe(&g_h, false, 0, 1, 2, 512);
	CHECK_EQ_U(sim_host_cmd(&g_h, 1, &c, NULL), SIM_SC_PRP_OFFSET,
		   "PRP1 not dword aligned: PRP Offset Invalid [BASE-2.0c §4.3.1]");
	c = sim_host_rw_sqe(&g_h, false, 0, 8, 2048, 512);
	set_prp2(&c, b + 4096 + 512);
	CHECK_EQ_U(sim_host_cmd(&g_h, 1, &c, NULL), SIM_SC_PRP_OFFSET,
		   "PRP2 (a data page) with an offset: PRP Offset Invalid");
	c = sim_host_rw_sqe(&g_h, false, 0, 24, 0, 512);	/* 3 pages: a list */
	set_prp2(&c, g_h.prps_iova + 4);
	CHECK_EQ_U(sim_host_cmd(&g_h, 1, &c, NULL), SIM_SC_PRP_OFFSET,
		   "a PRP list pointer not qword aligned: PRP Offset Invalid");
	c = sim_host_rw_sqe(&g_h, false, 0, 24, 0, 512);
	g_h.prps[1] = htole64(b + 2 * 4096 + 8);
	CHECK_EQ_U(sim_host_cmd(&g_h, 1, &c, NULL), SIM_SC_PRP_OFFSET,
		   "a list entry with an offset: PRP Offset Invalid");
	c = sim_host_rw_sqe(&g_h, false, 0, 24, 0, 512);
	g_h.prps[1] = htole64(0x7000);
	CHECK_EQ_U(sim_host_cmd(&g_h, 1, &c, NULL), NVME_SC_DATA_XFER_ERROR,
		   "a list entry outside DMA memory: Data Transfer Error");
	c = sim_host_rw_sqe(&g_h, false, 0, 24, 0, 512);
	set_prp2(&c, 0x9000);
	CHECK_EQ_U(sim_host_cmd(&g_h, 1, &c, NULL), NVME_SC_DATA_XFER_ERROR,
		   "a list pointer outside DMA memory: Data Transfer Error");
	c = sim_host_rw_sqe(&g_h, false, 0, 1, 0, 512);
	c.dptr.addr = htole64((uintptr_t)g_h.buf);
	CHECK_EQ_U(sim_host_cmd(&g_h, 1, &c, NULL), NVME_SC_DATA_XFER_ERROR,
		   "a virtual address where the IOVA belongs: Data Transfer Error");
	c = sim_host_rw_sqe(&g_h, false, 0, 1, SIM_HOST_BUF - 256, 512);
	CHECK_EQ_U(sim_host_cmd(&g_h, 1, &c, NULL), NVME_SC_DATA_XFER_ERROR,
		   "a page that runs past its DMA region: Data Transfer Error");

	/* A list that crosses a page: 2 entries at the end of one list page,
	 * the last pointing on to a second list page [BASE-2.0c §4.3.1]. */
	list = g_bus->ops->dma_alloc(g_bus, 8192, &list_iova);
	list2 = g_bus->ops->dma_alloc(g_bus, 4096, &list2_iova);
	list[510] = htole64(b + 4096);		/* page 2 of the data */
	list[511] = htole64(list2_iova);	/* chain */
	list2[0] = htole64(b + 2 * 4096);
	list2[1] = htole64(b + 3 * 4096);
	fill(0, 16384, 77);
	c = sim_host_rw_sqe(&g_h, true, 64, 32, 0, 512);
	set_prp2(&c, list_iova + 510 * 8);
	CHECK_EQ_U(sim_host_cmd(&g_h, 1, &c, NULL), 0, "a write through a chained PRP list");
	memset(g_h.buf + 262144, 0, 16384);
	CHECK_EQ_U(rw(false, 64, 32, 262144), 0, "read back with a flat list");
	CHECK(!memcmp(g_h.buf, g_h.buf + 262144, 16384), "the chained list moved the right pages");
	list[511] = htole64(list2_iova + 8);
	CHECK_EQ_U(sim_host_cmd(&g_h, 1, &c, NULL), SIM_SC_PRP_OFFSET,
		   "a chain pointer with an offset: PRP Offset Invalid");
}

/* ==================================================================== */
/* 7. Queue wrap, phase tags, a full CQ                                */
/* ==================================================================== */

/*
 * Queue wrap and the phase tag [BASE-2.0c §4.6]: a 4-entry queue is
 * filled 11 times, so head and tail wrap and the phase flips each time;
 * every CQE must carry the phase of its pass and SQHD one past its own
 * entry. A full CQ must stop the device fetching rather than overwrite a
 * completion the host has not read: it resumes once the host reaps.
 */
static void test_wrap(void)
{
	struct nvme_cqe cqe;
	struct nvme_sqe c;
	int ok = 1, n;

	bring_up("1M", 4);
	for (int i = 0; i < 11; i++) {
		struct nvme_cqe *slot = &g_h.q[1].cqes[g_h.q[1].cq_head];
		uint16_t want_phase = g_h.q[1].phase;

		c = sim_host_rw_sqe(&g_h, i & 1, i, 1, 0, 512);
		ok &= sim_host_cmd(&g_h, 1, &c, &cqe) == 0;
		ok &= (le16toh(slot->status) & 1) == want_phase;
		ok &= le16toh(cqe.sqhd) == (i + 1) % 4;
	}
	CHECK(ok, "11 commands on a 4-entry pair: phase flips each wrap, SQHD follows [BASE-2.0c §4.6]");

	for (int i = 0; i < 3; i++) {
		c = sim_host_rw_sqe(&g_h, false, i, 1, 0, 512);
		sim_host_submit(&g_h, 1, &c);
	}
	for (int i = 0; i < 5; i++)
		g_bus->ops->poll(g_bus);
	for (n = 0; sim_host_reap(&g_h, 1, &cqe); n++)
		;
	CHECK_EQ_U(n, 3, "three commands, three completions (the CQ holds size - 1)");

	/* Fill the CQ without reaping: the device stops fetching. */
	bring_up("1M", 0);
	adm(sqe_of(NVME_ADM_SET_FEATURES, NVME_FEAT_NUM_QUEUES, 0), NULL);
	sim_host_qalloc(&g_h, 1, 8);
	adm(create_q(NVME_ADM_CREATE_CQ, 1, 3, 1, g_h.q[1].cq_iova), NULL);	/* CQ of 4 */
	g_h.q[1].size = 8;
	CHECK_EQ_U(adm(create_q(NVME_ADM_CREATE_SQ, 1, 7, 1u << 16 | 1, g_h.q[1].sq_iova), NULL), 0,
		   "an 8-entry SQ on a 4-entry CQ");
	for (int i = 0; i < 6; i++) {
		c = sim_host_rw_sqe(&g_h, false, i, 1, 0, 512);
		sim_host_submit(&g_h, 1, &c);
	}
	for (int i = 0; i < 5; i++)
		g_bus->ops->poll(g_bus);
	struct sim_stats st;
	sim_get_stats(g_bus, &st);
	CHECK_EQ_U(st.cmds - 3, 3, "with 6 queued, only 3 are fetched: the CQ is full [BASE-2.0c §3.3.1]");
	g_h.q[1].size = 4;			/* reap with the CQ's geometry */
	for (n = 0; sim_host_reap(&g_h, 1, &cqe); n++)
		;
	for (int i = 0; i < 5; i++)
		g_bus->ops->poll(g_bus);
	for (; sim_host_reap(&g_h, 1, &cqe); n++)
		;
	CHECK_EQ_U(n, 6, "after the host frees CQ entries the other 3 complete");
}

/* ==================================================================== */
/* 8. Fault injection                                                  */
/* ==================================================================== */

/*
 * Fault injection (the rules sim_fault_add takes, described in nvmf.h):
 * a delay holds a completion for some polls, a status fault fails the
 * nth matching command, a drop never completes it, a CFS fault makes the
 * controller fatal until a reset. Each is what pcie_nvme.c's error paths
 * are tested with, so each must do exactly what its rule says and stop
 * when cleared; a rule that cannot match (nth 0, opcode 256) or one past
 * the table's size is refused.
 */
static void test_faults(void)
{
	struct sim_fault delay = { SIM_FAULT_DELAY, SIM_QID_IO, NVME_CMD_READ, 1, 1, 3, 0 };
	struct sim_fault fail = { SIM_FAULT_STATUS, 1, NVME_CMD_WRITE, 2, 1, 0, NVME_SC_LBA_RANGE };
	struct sim_fault drop = { SIM_FAULT_DROP, SIM_QID_ANY, NVME_CMD_WRITE, 1, 1, 0, 0 };
	struct sim_fault cfs = { SIM_FAULT_CFS, 0, SIM_OPC_ANY, 1, 1, 0, 0 };
	struct nvme_cqe cqe[2];
	struct nvme_sqe c;
	uint16_t r, w;
	int polls = 0;

	bring_up("1M", 8);
	CHECK_EQ_U(sim_fault_add(g_bus, &delay), 0, "add a DELAY rule");
	c = sim_host_rw_sqe(&g_h, false, 0, 1, 0, 512);
	r = sim_host_submit(&g_h, 1, &c);
	c = sim_host_rw_sqe(&g_h, true, 1, 1, 4096, 512);
	w = sim_host_submit(&g_h, 1, &c);
	while (!sim_host_reap(&g_h, 1, &cqe[0]))
		g_bus->ops->poll(g_bus), polls++;
	while (!sim_host_reap(&g_h, 1, &cqe[1]))
		g_bus->ops->poll(g_bus), polls++;
	CHECK(le16toh(cqe[0].cid) == w && le16toh(cqe[1].cid) == r,
	      "the delayed Read completes after the Write submitted behind it");
	CHECK_EQ_U(polls, 4, "the Read ran on the 4th poll: fetched on the 1st, held for 3");

	sim_fault_clear(g_bus);
	CHECK_EQ_U(sim_fault_add(g_bus, &fail), 0, "add a STATUS rule: the 2nd Write fails");
	fill(0, 512, 5);
	CHECK_EQ_U(rw(true, 10, 1, 0), 0, "Write 1 succeeds");
	CHECK_EQ_U(rw(true, 11, 1, 0), NVME_SC_LBA_RANGE, "Write 2 gets the chosen status");
	CHECK_EQ_U(rw(true, 12, 1, 0), 0, "Write 3 succeeds (count 1)");
	CHECK_EQ_U(rw(false, 11, 1, 4096), 0, "read LBA 11");
	CHECK(is_zero(4096, 512), "the failed Write was not executed");

	sim_fault_clear(g_bus);
	sim_fault_add(g_bus, &drop);
	fill(0, 512, 9);
	CHECK_EQ_U(rw(true, 20, 1, 0), (uint64_t)-ETIMEDOUT, "DROP: the Write never completes");
	CHECK_EQ_U(rw(false, 20, 1, 4096), 0, "the next command completes");
	CHECK(!memcmp(g_h.buf, g_h.buf + 4096, 512), "the dropped Write was executed all the same");

	sim_fault_clear(g_bus);
	sim_fault_add(g_bus, &cfs);
	CHECK_EQ_U(sim_host_identify(&g_h, NVME_CNS_CTRL, 0), (uint64_t)-ETIMEDOUT,
		   "CFS rule: the admin command is never answered");
	CHECK(rd32(NVME_REG_CSTS) & NVME_CSTS_CFS, "CSTS.CFS is set [BASE-2.0c Fig. 42]");
	CHECK_EQ_U(rw(false, 0, 1, 0), (uint64_t)-ETIMEDOUT, "and no queue is processed");
	sim_fault_clear(g_bus);
	CHECK_EQ_U(sim_host_enable(&g_h, g_bus, 8), 0, "a reset (CC.EN 1 -> 0 -> 1) clears CFS");
	CHECK_EQ_U(sim_host_identify(&g_h, NVME_CNS_CTRL, 0), 0, "and the controller answers again");
	sim_set_cfs(g_bus);
	CHECK(rd32(NVME_REG_CSTS) & NVME_CSTS_CFS, "sim_set_cfs sets CSTS.CFS at once");

	struct sim_fault bad = { SIM_FAULT_DROP, 1, 0, 0, 0, 0, 0 };
	CHECK_EQ_U(sim_fault_add(g_bus, &bad), (uint64_t)-EINVAL, "nth 0 is not a rule");
	bad.nth = 1;
	bad.opcode = 256;
	CHECK_EQ_U(sim_fault_add(g_bus, &bad), (uint64_t)-EINVAL, "opcode 256 is not a rule");
	bad.opcode = 0;
	for (int i = 0; i < SIM_MAX_FAULTS; i++)
		sim_fault_add(g_bus, &bad);
	CHECK_EQ_U(sim_fault_add(g_bus, &bad), (uint64_t)-ENOSPC, "rule 17: -ENOSPC");
}

/*
 * Garbage in: random SQEs on both queues, random PRPs (inside our buffer,
 * anywhere, zero), random doorbell writes. Nothing may crash (make asan
 * watches every access), and a reset must bring back a working controller.
 */
static uint64_t g_rand = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	g_rand ^= g_rand << 13, g_rand ^= g_rand >> 7, g_rand ^= g_rand << 17;
	return g_rand;
}

static uint64_t rnd_addr(void)
{
	switch (rnd() % 3) {
	case 0:  return g_h.buf_iova + (rnd() % SIM_HOST_BUF & ~3ull);
	case 1:  return rnd();
	default: return 0;
	}
}

static void test_garbage(void)
{
	struct nvme_cqe cqe;
	struct nvme_sqe c;
	struct sim_stats st;

	bring_up("1M,mdts=3,queues=4", 16);
	for (int i = 0; i < 4000; i++) {
		uint16_t qid = rnd() & 1;

		memset(&c, 0, sizeof(c));
		c.opcode = (uint8_t)(rnd() % (qid ? 16 : 32));
		c.flags = rnd() % 4 == 0 ? (uint8_t)rnd() : 0;
		c.nsid = htole32(rnd() % 4 ? 1 : (uint32_t)rnd());
		c.dptr.addr = htole64(rnd_addr());
		set_prp2(&c, rnd_addr());
		c.cdw10 = htole32(rnd() % 2 ? (uint32_t)rnd() : (uint32_t)(rnd() % 64));
		c.cdw11 = htole32(rnd() % 2 ? (uint32_t)rnd() : (uint32_t)(rnd() % 4));
		c.cdw12 = htole32(rnd() % 2 ? (uint32_t)rnd() : (uint32_t)(rnd() % 16));
		c.cdw13 = htole32((uint32_t)rnd());
		sim_host_submit(&g_h, qid, &c);
		if (rnd() % 8 == 0)
			wr32(0x1000 + (rnd() % 16) * 4, (uint32_t)rnd() % 40);
		for (int p = 0; p < 3; p++)
			g_bus->ops->poll(g_bus);
		while (sim_host_reap(&g_h, 0, &cqe) || sim_host_reap(&g_h, 1, &cqe))
			;
	}
	sim_get_stats(g_bus, &st);
	CHECK(st.cmds > 1000, "4000 random commands, %llu of them fetched, no crash",
	      (unsigned long long)st.cmds);
	CHECK(st.bad_doorbells > 0, "random doorbell writes were seen as invalid (%llu)",
	      (unsigned long long)st.bad_doorbells);
	CHECK_EQ_U(sim_host_enable(&g_h, g_bus, 8), 0, "after the garbage a reset gives a ready controller");
	CHECK_EQ_U(sim_host_io_queue(&g_h, 8), 0, "I/O queues can be created again");
	fill(0, 4096, 3);
	CHECK(rw(true, 5, 8, 0) == 0 && rw(false, 5, 8, 8192) == 0 &&
	      !memcmp(g_h.buf, g_h.buf + 8192, 4096), "and data goes in and out intact");
}

/* ==================================================================== */
/* 9. Spec parsing, file backing, dma_map                              */
/* ==================================================================== */

/* Every spec string a user can mistype is refused with a message that
 * names the problem, and no controller is made. */
static void test_open(void)
{
	static const char *const bad[] = {
		"", "abc", "64M:1000", "64M,bogus=1", "64M,dstrd=9", "64M,mqes=0", "100",
		"file=/nonexistent/sim.img",
	};
	struct nvme_bus *b;
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = 0;
		CHECK(sim_bus_open(bad[i], &b, err, sizeof(err)) < 0 && err[0],
		      "spec \"%s\" is refused with a message (%s)", bad[i], err);
	}
}

/* file= backs the namespace with a file: written blocks are in the file
 * at their LBA's offset, and Flush is an fdatasync. dma_map lets a driver
 * hand the device its own memory, as VFIO does: a read lands straight in
 * it (zero copy), and after dma_unmap the same PRP fails. */
static void test_file_and_map(void)
{
	char path[] = "/tmp/sim_test.XXXXXX", spec[64];
	int fd = mkstemp(path);
	uint8_t back[1024], *mine;
	uint64_t iova;

	CHECK(fd >= 0 && ftruncate(fd, 1 << 20) == 0, "a 1 MiB temp file");
	snprintf(spec, sizeof(spec), "file=%s", path);
	bring_up(spec, 4);
	fill(0, 1024, 42);
	CHECK_EQ_U(rw(true, 3, 2, 0), 0, "Write 2 blocks to the file-backed namespace");
	CHECK(pread(fd, back, 1024, 3 * 512) == 1024 && !memcmp(back, g_h.buf, 1024),
	      "the bytes are in the file at LBA 3");
	struct nvme_sqe c = sqe_of(NVME_CMD_FLUSH, 0, 0);
	c.nsid = htole32(1);
	CHECK_EQ_U(sim_host_cmd(&g_h, 1, &c, NULL), 0, "Flush (fdatasync)");

	mine = aligned_alloc(4096, 8192);
	memset(mine, 0, 8192);
	CHECK_EQ_U(g_bus->ops->dma_map(g_bus, mine + 100, 1024, &iova), 0, "dma_map our own buffer");
	CHECK_EQ_U(iova & 4095, 100, "the IOVA keeps the offset in the page");
	c = sim_host_rw_sqe(&g_h, false, 3, 3, 0, 512);
	c.dptr.addr = htole64(iova);
	set_prp2(&c, 0);
	CHECK_EQ_U(sim_host_cmd(&g_h, 1, &c, NULL), NVME_SC_DATA_XFER_ERROR,
		   "a read into a page the map does not cover: Data Transfer Error");
	c = sim_host_rw_sqe(&g_h, false, 3, 1, 0, 512);
	c.dptr.addr = htole64(iova);
	CHECK_EQ_U(sim_host_cmd(&g_h, 1, &c, NULL), 0, "a read straight into it (zero copy)");
	CHECK(!memcmp(mine + 100, back, 512), "the data landed in the caller's memory");
	g_bus->ops->dma_unmap(g_bus, mine + 100, 1024);
	CHECK_EQ_U(sim_host_cmd(&g_h, 1, &c, NULL), NVME_SC_DATA_XFER_ERROR,
		   "after dma_unmap the same PRP: Data Transfer Error");
	free(mine);
	close(fd);
	unlink(path);
}

int main(void)
{
	if (getenv("V"))
		g_log_level = NVMF_LOG_DBG;
	test_registers();
	test_doorbell_stride();
	test_identify();
	test_features();
	test_queues();
	test_logs();
	test_abort();
	test_shutdown();
	test_aer();
	test_nvm();
	test_prp();
	test_wrap();
	test_faults();
	test_garbage();
	test_open();
	test_file_and_map();
	if (g_bus)
		g_bus->ops->close(g_bus);
	return test_done("sim_test");
}
