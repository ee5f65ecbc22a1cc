/*
 * nvmf_test.c - unit tests of the target core (nvmf.c, subsys.c, admin.c)
 * from Connect to the discovery log: what a host meets while it brings a
 * controller up and looks around. nvmf_io_test.c has the controller at
 * work; both run on tests/nvmf_fake.c (the fake transport, the builders of
 * SQEs, the configuration).
 *
 * Commands are real SQEs built from nvme.h. Each CHECK is one rule, named
 * after it and its spec citation.
 *
 *   part                                      spec
 *   --------------------------------------------------------------------
 *   1. Connect                                [BASE-2.0c §6.3, Fig. 546-549]
 *   2. Property Get/Set, CC and CSTS          [BASE-2.0c §3.1.4, §6.5-6.6]
 *   3. Identify                               [BASE-2.0c §5.17; NVM-1.0c §4.1.5]
 *   4. Get Log Page                           [BASE-2.0c §5.16]
 *   5. Discovery log                          [BASE-2.0c §5.16.1.23]
 *
 * Build: make tests/nvmf_test. V=1 in the environment shows the target's
 * log lines as "# ..." comments.
 */
#include "nvmf_fake.c"

/* ==================================================================== */
/* 1. Connect [BASE-2.0c §6.3]                                         */
/* ==================================================================== */

/*
 * Connect creates a controller (admin queue) or joins one (I/O queue).
 * What the group proves: a good Connect returns the CNTLID the host will
 * name in every later I/O Connect; every bad field is refused with Connect
 * Invalid Parameters and, in DW0, the byte offset of the field (IPO) and
 * whether it lies in the SQE (IATTR 0) or in the data (IATTR 1), which is
 * what nvme-cli and the kernel print; and a refused Connect leaves no
 * controller behind. A failure here means real hosts cannot connect or,
 * worse, connect where they should not (allow list, discovery-only port).
 */
static void test_connect(void)
{
	struct nvmf_queue *a = q_new(), *b = q_new(), *q;
	struct nvmf_connect_cmd cc;
	struct nvmf_connect_data d;
	struct cpl *c;
	uint32_t id_a;

	c = connect_admin(a, NQN_S1, HOSTA, 0);
	CHECK_EQ_U(st(c), NVME_SC_SUCCESS, "Connect: admin queue, SQSIZE 31, CNTLID FFFFh succeeds [BASE-2.0c §6.3]");
	id_a = dw0(c) & 0xffff;
	CHECK(id_a >= 1 && id_a <= NVMF_CNTLID_MAX && id_a == a->ctrl->cntlid,
	      "Connect: DW0 15:0 is the new CNTLID, 1..FFEFh [BASE-2.0c Fig. 549, Fig. 547]");
	CHECK_EQ_U(le16toh(c->cqe.sqid), 0, "Connect: CQE SQID is the admin queue, 0 [BASE-2.0c Fig. 92]");
	c = connect_admin(b, NQN_S1, HOSTB, 0);
	CHECK(st(c) == 0 && (dw0(c) & 0xffff) != id_a,
	      "Connect: dynamic model gives two hosts distinct CNTLIDs [BASE-2.0c §3.3.1.2]");

	c = connect_admin(a, NQN_S1, HOSTA, 0);
	CHECK_EQ_U(st(c), NVME_SC_CMD_SEQ_ERROR | DNR,
		   "Connect: a second Connect on a connected queue -> Command Sequence Error [BASE-2.0c §6.3]");

	q = q_new();
	cc = connect_cmd(0, 31, 0, 0);
	cc.recfmt = htole16(1);
	d = connect_data(0xffff, NQN_S1, HOSTA);
	c = submit(q, &cc, &d, sizeof(d));
	CHECK_EQ_U(st(c), NVME_SC_CONNECT_FORMAT | DNR,
		   "Connect: RECFMT 1 -> Connect Incompatible Format [BASE-2.0c Fig. 546, Fig. 584]");

	/* The offsets checked below are the fields' byte offsets in Figures 546
	 * (SQE: SQSIZE at 44, QID at 42) and 547 (data: CNTLID at 16, SUBNQN at
	 * 256, HOSTNQN at 512); 1u << 16 is IATTR 1, "the offset is in the data". */
	c = connect_ex(q, 0, 0, 0, 0, 0xffff, NQN_S1, HOSTA);
	CHECK(st(c) == (NVME_SC_CONNECT_INVALID_PARAM | DNR) && dw0(c) == 44,
	      "Connect: SQSIZE 0 -> Connect Invalid Parameters, IPO 44, IATTR 0 [BASE-2.0c Fig. 546, 549]");
	c = connect_ex(q, 0, NVMF_MAXCMD, 0, 0, 0xffff, NQN_S1, HOSTA);
	CHECK(st(c) == (NVME_SC_CONNECT_INVALID_PARAM | DNR) && dw0(c) == 44,
	      "Connect: SQSIZE above CAP.MQES (MAXCMD %u entries) -> Invalid Parameters, IPO 44 [BASE-2.0c Fig. 546]",
	      NVMF_MAXCMD);
	c = connect_ex(q, 0, 31, 0, 0, 1, NQN_S1, HOSTA);
	CHECK(st(c) == (NVME_SC_CONNECT_INVALID_PARAM | DNR) && dw0(c) == (16 | 1u << 16),
	      "Connect: admin CNTLID other than FFFFh -> Invalid Parameters, IPO 16, IATTR 1 [BASE-2.0c Fig. 547]");
	c = connect_ex(q, 0, 31, 0, 0, 0xffff, "nqn.2026-01.io.nvmf.test:nosuch", HOSTA);
	CHECK(st(c) == (NVME_SC_CONNECT_INVALID_PARAM | DNR) && dw0(c) == (256 | 1u << 16),
	      "Connect: unknown SUBNQN -> Invalid Parameters, IPO 256, IATTR 1 [BASE-2.0c Fig. 547, 549]");
	c = connect_ex(q, 0, 31, 0, 0, 0xffff, NQN_S2, HOSTB);
	CHECK_EQ_U(st(c), NVME_SC_CONNECT_INVALID_HOST | DNR,
		   "Connect: host not on the subsystem's allow list -> Connect Invalid Host [BASE-2.0c Fig. 584]");
	cc = connect_cmd(0, 31, 0, 0);
	d = connect_data(0xffff, NQN_S1, HOSTA);
	c = submit(q, &cc, &d, 512);
	CHECK_EQ_U(st(c), NVME_SC_SGL_INVALID_DATA | DNR,
		   "Connect: data shorter than 1024 bytes -> Data SGL Length Invalid [BASE-2.0c Fig. 547, Fig. 94]");
	CHECK(q->ctrl == NULL, "Connect: a rejected Connect leaves the queue without a controller [BASE-2.0c §6.3]");
	q_free(q);

	/* I/O queues */
	q = q_new();
	/* An I/O queue names its controller by CNTLID, and may exist only once
	 * that controller is enabled and only up to the queue count granted by
	 * Set Features Number of Queues. */
	c = connect_ex(q, 1, 31, 0, 0, 0x7777, NQN_S1, HOSTA);
	CHECK(st(c) == (NVME_SC_CONNECT_INVALID_PARAM | DNR) && dw0(c) == (16 | 1u << 16),
	      "Connect: I/O queue naming no live controller -> Invalid Parameters, IPO 16, IATTR 1 [BASE-2.0c Fig. 547]");
	q_free(q);
	q = ioq_up(a, 1, 31, 0, &c);
	CHECK_EQ_U(st(c), NVME_SC_CMD_SEQ_ERROR | DNR,
		   "Connect: I/O queue while CC.EN = 0 -> Command Sequence Error [BASE-2.0c §3.3.2.1]");
	q_free(q);

	prop_set(a, NVME_REG_CC, CC_ENABLE, false);
	q = q_new();
	c = connect_ex(q, 1, 31, 0, 0, a->ctrl->cntlid, NQN_S1, HOSTB);
	CHECK(st(c) == (NVME_SC_CONNECT_INVALID_PARAM | DNR) && dw0(c) == (512 | 1u << 16),
	      "Connect: I/O queue from another HOSTNQN than the admin queue's -> IPO 512, IATTR 1 [BASE-2.0c Fig. 547]");
	q_free(q);
	c = set_feat(a, NVME_FEAT_NUM_QUEUES, 1 | 1u << 16);	/* two queue pairs */
	CHECK_EQ_U(st(c), 0, "Set Features Number of Queues (2 pairs) before any I/O queue succeeds [BASE-2.0c §5.27.1.5]");
	q = ioq_up(a, 3, 31, 0, &c);
	CHECK(st(c) == (NVME_SC_CONNECT_INVALID_PARAM | DNR) && dw0(c) == 42,
	      "Connect: QID above the queues granted by Number of Queues -> Invalid Parameters, IPO 42, IATTR 0 [BASE-2.0c Fig. 546]");
	q_free(q);
	q = ioq_up(a, 2, 31, 0, &c);
	CHECK(st(c) == 0 && (dw0(c) & 0xffff) == a->ctrl->cntlid,
	      "Connect: I/O queue 2 of 2 succeeds and DW0 echoes CNTLID [BASE-2.0c Fig. 549]");
	{
		struct nvmf_queue *dup = ioq_up(a, 2, 31, 0, &c);

		CHECK(st(c) != 0 && (st(c) & DNR),
		      "Connect: a QID already connected on this controller is refused [BASE-2.0c §6.3]");
		q_free(dup);
	}
	c = set_feat(a, NVME_FEAT_NUM_QUEUES, 3 | 3u << 16);
	CHECK_EQ_U(st(c), NVME_SC_CMD_SEQ_ERROR | DNR,
		   "Set Features Number of Queues after an I/O queue exists -> Command Sequence Error [BASE-2.0c §5.27.1.5]");
	q_free(q);

	q = q_new();
	/* The discovery controller has an admin queue only [BASE-2.0c §3.1.3.3]. */
	c = connect_ex(q, 0, 31, 0, 0, 0xffff, NVMF_DISC_NQN, HOSTB);
	CHECK_EQ_U(st(c), 0, "Connect: admin queue to the well-known discovery NQN succeeds [BASE-2.0c §3.1.3.3]");
	{
		struct nvmf_queue *io = q_new();

		c = connect_ex(io, 1, 31, 0, 0, q->ctrl->cntlid, NVMF_DISC_NQN, HOSTB);
		CHECK(st(c) == (NVME_SC_CONNECT_INVALID_PARAM | DNR) && dw0(c) == 42,
		      "Connect: discovery NQN with QID 1 -> Invalid Parameters, IPO 42 (no I/O queues) [BASE-2.0c §3.1.3.3]");
		q_free(io);
	}
	q_free(q);

	q = q_new();
	/* A discovery-only port serves the discovery subsystem and nothing else:
	 * the same Connect that works on 4420 must fail here. */
	q->listener = g_l_disc;
	c = connect_admin(q, NQN_S1, HOSTA, 0);
	CHECK(st(c) == (NVME_SC_CONNECT_INVALID_PARAM | DNR) && dw0(c) == (256 | 1u << 16),
	      "Connect: an NVM subsystem through the discovery-only listener -> Invalid Parameters, IPO 256, IATTR 1 [BASE-2.0c Fig. 547]");
	c = connect_admin(q, NVMF_DISC_NQN, HOSTA, 0);
	CHECK_EQ_U(st(c), 0, "Connect: the discovery subsystem through the discovery-only listener succeeds [BASE-2.0c §3.1.3.3]");
	q_free(q);

	q = q_new();
	cc = connect_cmd(0, 31, 0, 0);
	d = connect_data(0xffff, NQN_S1, HOSTA);
	/* A host may describe Connect's 1 KiB of data with a transport SGL
	 * instead of sending it in the capsule; the target must then fetch it
	 * like a write's data, before it can know which subsystem is meant. */
	c = submit(q, &cc, NULL, sizeof(d));
	CHECK(c->none && g_fetched == g_last_req,
	      "Connect: data not in the capsule is fetched from the host first (R2T) [TCP-1.0c §3.3.3]");
	if (c->none) {
		unsigned since = g_nr_cpl;

		memcpy(g_fetched->data, &d, sizeof(d));
		nvmf_req_data_ready(g_fetched);
		c = cpl_of(g_last_req, since);
		CHECK_EQ_U(st(c), 0, "Connect: with its data fetched by R2T it succeeds [BASE-2.0c §6.3]");
	}
	q_free(q);
	q_free(b);
	q_free(a);
}

/* ==================================================================== */
/* 2. Property Get/Set [BASE-2.0c §3.1.4, §6.5-6.6]                    */
/* ==================================================================== */

/*
 * Properties are the controller's registers, reached by Property Get/Set
 * over the admin queue. What the group proves: nothing but Connect works
 * before Connect, nothing but properties before CC.EN = 1; CAP describes
 * what the target really accepts (MQES, page size, command sets); the
 * CC.EN and CC.SHN handshakes move CSTS.RDY and CSTS.SHST as a host polls
 * for them; and a reset (EN 1 -> 0) drops the I/O queues but keeps the
 * admin queue, so the host can enable the controller again. A failure here
 * shows up on a real host as a timeout waiting for CSTS.RDY.
 */
static void test_property(void)
{
	struct nvmf_queue *a = q_new(), *io, *q;
	struct cpl *c;
	uint64_t cap;

	c = prop_get(a, NVME_REG_CAP, true);
	CHECK_EQ_U(st(c), NVME_SC_CMD_SEQ_ERROR | DNR,
		   "Property Get before Connect -> Command Sequence Error [BASE-2.0c §6.5]");
	c = admin_cmd(a, NVME_ADM_KEEP_ALIVE, 0);
	CHECK_EQ_U(st(c), NVME_SC_CMD_SEQ_ERROR | DNR,
		   "an admin command before Connect -> Command Sequence Error [BASE-2.0c §6.3]");
	connect_admin(a, NQN_S1, HOSTA, 0);

	c = prop_get(a, NVME_REG_CAP, true);
	/* An 8-byte property comes back in DW0 (low half) and DW1 (high half)
	 * [BASE-2.0c §6.5]. The bit positions below are CAP's [BASE-2.0c Fig. 36]. */
	cap = (uint64_t)le32toh(c->cqe.dw1) << 32 | dw0(c);
	CHECK_EQ_U(st(c), 0, "Property Get CAP (8 bytes) succeeds before CC.EN [BASE-2.0c §6.5]");
	CHECK_EQ_U(cap & 0xffff, NVMF_MAXCMD - 1, "CAP.MQES is MAXCMD - 1, 0's based [BASE-2.0c Fig. 36]");
	CHECK(cap & 1ull << 16, "CAP.CQR is 1: queues are physically contiguous [BASE-2.0c Fig. 36]");
	CHECK((cap >> 24 & 0xff) != 0, "CAP.TO is non-zero (500 ms units) [BASE-2.0c Fig. 36]");
	CHECK((cap & 1ull << 37) && (cap & 1ull << 43),
	      "CAP.CSS has bit 37 (NVM command set) and bit 43 (I/O command sets) [BASE-2.0c Fig. 36]");
	CHECK_EQ_U(cap >> 48 & 0xf, 0, "CAP.MPSMIN is 0 (4 KiB pages) [BASE-2.0c Fig. 36]");
	CHECK_EQ_U(cap >> 52 & 0xf, 0, "CAP.MPSMAX is 0: 4 KiB is the only page size [BASE-2.0c Fig. 36]");
	c = prop_get(a, NVME_REG_CAP, false);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR,
		   "Property Get CAP with a 4-byte ATTRIB -> Invalid Field [BASE-2.0c Fig. 557]");
	c = prop_get(a, NVME_REG_VS, false);
	CHECK_EQ_U(dw0(c), 0x00020000, "Property Get VS is 2.0.0 [BASE-2.0c Fig. 40]");
	c = prop_get(a, NVME_REG_CSTS, false);
	CHECK_EQ_U(dw0(c) & NVME_CSTS_RDY, 0, "CSTS.RDY is 0 before CC.EN [BASE-2.0c §3.6.1]");
	c = admin_cmd(a, NVME_ADM_KEEP_ALIVE, 0);
	CHECK_EQ_U(st(c), NVME_SC_CMD_SEQ_ERROR | DNR,
		   "an admin command while CC.EN = 0 -> Command Sequence Error [BASE-2.0c §3.6.1]");
	c = prop_get(a, 0x30, false);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR,
		   "Property Get of an unknown offset -> Invalid Field [BASE-2.0c §6.5]");
	c = prop_set(a, NVME_REG_VS, 0x00010400, false);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR,
		   "Property Set of a read-only property (VS) -> Invalid Field [BASE-2.0c §6.6]");
	c = prop_set(a, NVME_REG_CC, CC_ENABLE, true);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR,
		   "Property Set CC with an 8-byte ATTRIB -> Invalid Field [BASE-2.0c Fig. 554]");

	c = prop_set(a, NVME_REG_CC, CC_ENABLE, false);
	CHECK_EQ_U(st(c), 0, "Property Set CC succeeds [BASE-2.0c §6.6]");
	c = prop_get(a, NVME_REG_CC, false);
	CHECK_EQ_U(dw0(c), CC_ENABLE, "Property Get CC returns the value written [BASE-2.0c Fig. 41]");
	c = prop_get(a, NVME_REG_CSTS, false);
	CHECK_EQ_U(dw0(c) & (NVME_CSTS_RDY | NVME_CSTS_CFS), NVME_CSTS_RDY,
		   "CC.EN 0 -> 1 with supported sizes sets CSTS.RDY [BASE-2.0c §3.6.1]");

	q = q_new();
	connect_admin(q, NQN_S1, HOSTA, 0);
	/* IOSQES is log2 of the SQE size, and Identify says SQES 66h: 64 bytes
	 * and nothing else. An enable with 7 must fail as hardware would, with
	 * CSTS.CFS, not be taken as 64 anyway. */
	prop_set(q, NVME_REG_CC, NVME_CC_EN | 7u << NVME_CC_IOSQES_SHIFT | 4u << NVME_CC_IOCQES_SHIFT, false);
	c = prop_get(q, NVME_REG_CSTS, false);
	CHECK_EQ_U(dw0(c) & (NVME_CSTS_RDY | NVME_CSTS_CFS), NVME_CSTS_CFS,
		   "CC.EN 1 with IOSQES 7 (unsupported) sets CSTS.CFS, not RDY [BASE-2.0c Fig. 41]");
	q_free(q);

	io = ioq_up(a, 1, 31, 0, &c);
	CHECK_EQ_U(st(c), 0, "Connect: I/O queue 1 after CC.EN succeeds [BASE-2.0c §6.3]");
	g_nr_close = 0;
	/* A reset must not close the I/O queue from the admin queue's thread:
	 * each queue notices on its own tick (its reactor), so the check is
	 * made tick by tick. */
	prop_set(a, NVME_REG_CC, CC_ENABLE & ~NVME_CC_EN, false);
	c = prop_get(a, NVME_REG_CSTS, false);
	CHECK_EQ_U(dw0(c) & NVME_CSTS_RDY, 0, "CC.EN 1 -> 0 clears CSTS.RDY [BASE-2.0c §3.7.2]");
	nvmf_queue_tick(a);
	CHECK(!a->closing, "CC.EN 1 -> 0 keeps the admin queue [BASE-2.0c §3.7.2]");
	nvmf_queue_tick(io);
	CHECK(io->closing && g_nr_close == 1,
	      "CC.EN 1 -> 0 (controller reset) closes every I/O queue on its next tick [BASE-2.0c §3.7.2]");
	q_free(io);
	prop_set(a, NVME_REG_CC, CC_ENABLE, false);
	c = prop_get(a, NVME_REG_CSTS, false);
	CHECK_EQ_U(dw0(c) & NVME_CSTS_RDY, NVME_CSTS_RDY, "CC.EN 0 -> 1 again sets CSTS.RDY [BASE-2.0c §3.6.1]");
	io = ioq_up(a, 1, 31, 0, &c);
	CHECK_EQ_U(st(c), 0, "after a reset the host can connect I/O queue 1 again [BASE-2.0c §3.7.2]");
	q_free(io);
	prop_set(a, NVME_REG_CC, CC_ENABLE | 1u << NVME_CC_SHN_SHIFT, false);
	c = prop_get(a, NVME_REG_CSTS, false);
	CHECK_EQ_U(dw0(c) & NVME_CSTS_SHST_MASK, NVME_CSTS_SHST_CMPLT,
		   "CC.SHN normal shutdown -> CSTS.SHST shutdown complete [BASE-2.0c §3.6.2]");
	q_free(a);
}

/* ==================================================================== */
/* 3. Identify [BASE-2.0c §5.17; NVM-1.0c §4.1.5]                      */
/* ==================================================================== */

/*
 * Identify Controller is the first data a host reads, and the Linux host
 * refuses a controller whose answer breaks its checks (nvme_init_ctrl:
 * KAS, IOCCSZ, IORCSZ, MAXCMD, ICDOFF, SGLS). The values checked are the
 * ones the target really enforces elsewhere (MDTS, MAXCMD, NN, AERL), so a
 * host that trusts them never gets a command refused for exceeding them.
 * The discovery controller answers a smaller set (CNTRLTYPE 2).
 */
static void test_identify_ctrl(void)
{
	struct nvmf_queue *a = q_new(), *d;
	struct nvme_id_ctrl id;
	struct cpl *c;
	uint16_t cntlid;

	c = connect_admin(a, NQN_S1, HOSTA, 0);
	cntlid = dw0(c) & 0xffff;
	prop_set(a, NVME_REG_CC, CC_ENABLE, false);
	c = identify(a, NVME_CNS_CTRL, 0, 0);
	memcpy(&id, g_out, sizeof(id));
	CHECK(st(c) == 0 && c->xfer_len == 4096, "Identify CNS 01h returns 4096 bytes [BASE-2.0c §5.17.2.1]");
	CHECK_EQ_U(le16toh(id.cntlid), cntlid, "Identify Controller CNTLID matches the Connect response [Linux host checks; BASE-2.0c Fig. 275]");
	CHECK(le16toh(id.kas) != 0, "Identify Controller KAS is non-zero [Linux host checks; BASE-2.0c Fig. 275]");
	CHECK(le32toh(id.ioccsz) >= 4, "Identify Controller IOCCSZ >= 4 [Linux host checks; BASE-2.0c Fig. 275]");
	CHECK(le32toh(id.iorcsz) >= 1, "Identify Controller IORCSZ >= 1 [Linux host checks; BASE-2.0c Fig. 275]");
	CHECK_EQ_U(le32toh(id.ioccsz), (64 + NVMF_IO_ICD) / 16,
		   "Identify Controller IOCCSZ = (64 + in-capsule bytes) / 16 [BASE-2.0c Fig. 275]");
	CHECK_EQ_U(le16toh(id.maxcmd), NVMF_MAXCMD, "Identify Controller MAXCMD is %u [Linux host checks; BASE-2.0c Fig. 275]", NVMF_MAXCMD);
	CHECK_EQ_U(le16toh(id.icdoff), 0, "Identify Controller ICDOFF is 0 (TCP) [Linux host checks; BASE-2.0c Fig. 275]");
	CHECK_EQ_U(le32toh(id.sgls) & 3, 1, "Identify Controller SGLS 1:0 = 01b, SGLs supported [Linux host checks; BASE-2.0c Fig. 275]");
	CHECK(!strcmp(id.subnqn, NQN_S1), "Identify Controller SUBNQN is the subsystem NQN [BASE-2.0c Fig. 275]");
	CHECK_EQ_U(id.cntrltype, NVME_CNTRLTYPE_IO, "Identify Controller CNTRLTYPE 1 (I/O) [BASE-2.0c Fig. 275]");
	CHECK_EQ_U(id.mdts, NVMF_MDTS, "Identify Controller MDTS is %u (128 KiB) [BASE-2.0c Fig. 275]", NVMF_MDTS);
	CHECK_EQ_U(le32toh(id.nn), NVMF_MAX_NS, "Identify Controller NN is %u [BASE-2.0c Fig. 275]", NVMF_MAX_NS);
	CHECK_EQ_U(id.aerl, NVMF_AERL, "Identify Controller AERL is %u [BASE-2.0c Fig. 275]", NVMF_AERL);
	CHECK_EQ_U(id.sqes, 0x66, "Identify Controller SQES 66h, CQES 44h [BASE-2.0c Fig. 275]");
	CHECK(id.lpa & NVME_CTRL_LPA_CMD_EFFECTS, "Identify Controller LPA says the Commands Supported and Effects log exists [BASE-2.0c Fig. 275]");
	CHECK(le32toh(id.oaes) & NVME_CTRL_OAES_NS_ATTR, "Identify Controller OAES bit 8: Namespace Attribute Notices [BASE-2.0c Fig. 275]");
	CHECK(space_padded(id.fr, sizeof(id.fr), NVMF_VERSION), "Identify Controller FR is space padded ASCII [BASE-2.0c §1.5]");
	CHECK(le16toh(id.oncs) & NVME_CTRL_ONCS_COMPARE && le16toh(id.oncs) & NVME_CTRL_ONCS_DSM &&
	      le16toh(id.oncs) & NVME_CTRL_ONCS_WRITE_ZEROES,
	      "Identify Controller ONCS: Compare, Dataset Management, Write Zeroes [BASE-2.0c Fig. 275]");

	c = submit(a, &(struct nvme_sqe){ .opcode = NVME_ADM_IDENTIFY, .cdw10 = htole32(NVME_CNS_CTRL) },
		   NULL, 1024);
	CHECK(st(c) != 0 || c->xfer_len <= 1024,
	      "Identify with a 1024-byte data SGL never sends more than the SGL describes (Data SGL Length Invalid) [BASE-2.0c Fig. 94]");
	CHECK_EQ_U(st(c), NVME_SC_SGL_INVALID_DATA | DNR,
		   "Identify with a data SGL shorter than 4096 bytes -> Data SGL Length Invalid [BASE-2.0c Fig. 94]");

	d = q_new();
	connect_admin(d, NVMF_DISC_NQN, HOSTA, 0);
	prop_set(d, NVME_REG_CC, CC_ENABLE, false);
	c = identify(d, NVME_CNS_CTRL, 0, 0);
	memcpy(&id, g_out, sizeof(id));
	CHECK_EQ_U(st(c), 0, "discovery: Identify Controller succeeds [BASE-2.0c §3.1.3.3]");
	CHECK_EQ_U(id.cntrltype, NVME_CNTRLTYPE_DISC, "discovery: Identify CNTRLTYPE 2 [Linux host checks; BASE-2.0c Fig. 275]");
	CHECK(!strcmp(id.subnqn, NVMF_DISC_NQN), "discovery: Identify SUBNQN is exactly the well-known NQN [Linux host checks; BASE-2.0c §3.1.3.3]");
	CHECK(le32toh(id.ioccsz) >= 4 && le32toh(id.iorcsz) >= 1, "discovery: Identify IOCCSZ/IORCSZ are filled [Linux host checks]");
	CHECK(le16toh(id.kas) != 0 && le16toh(id.maxcmd) != 0, "discovery: Identify KAS and MAXCMD are non-zero [Linux host checks]");
	CHECK(id.lpa & NVME_CTRL_LPA_EXT_DATA,
	      "discovery: Identify LPA bit 2, extended data (NUMDU, LPOU) for the discovery log [BASE-2.0c Fig. 275]");
	CHECK(le32toh(id.oaes) & NVME_CTRL_OAES_DISC_CHANGE, "discovery: Identify OAES bit 31, log change notices [BASE-2.0c Fig. 275]");
	CHECK_EQ_U(le32toh(id.nn), 0, "discovery: Identify NN is 0 [BASE-2.0c §3.1.3.3]");
	c = identify(d, NVME_CNS_NS_ACTIVE_LIST, 0, 0);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR, "discovery: Identify CNS 02h -> Invalid Field [BASE-2.0c §3.1.3.3]");
	q_free(d);
	q_free(a);
}

/*
 * Identify for namespaces: NSID 1 is 512-byte blocks, 2 is 4 KiB, so
 * NSZE and LBAF are checked against what the backend was made with. An
 * NSID up to NN that has no namespace is inactive: CNS 00h returns zeroes
 * for it, while the descriptor list refuses it; NSID 0 or one above NN is
 * Invalid Namespace or Format. The active list starts after the NSID
 * given. The descriptors (NGUID, UUID, CSI) are what the
 * Linux host uses to name /dev/disk/by-id links and to tell two paths to
 * the same namespace apart, so they must be unique per namespace.
 */
static void test_identify_ns(void)
{
	struct nvmf_queue *a = ctrl_up(NQN_S1, HOSTA, 0);
	uint8_t nguid[16], uuid1[16], uuid2[16];
	struct nvme_id_ns ns;
	struct cpl *c;
	le32 list[4];

	c = identify(a, NVME_CNS_NS, 1, 0);
	memcpy(&ns, g_out, sizeof(ns));
	CHECK_EQ_U(st(c), 0, "Identify CNS 00h on an active NSID succeeds [NVM-1.0c §4.1.5.1]");
	CHECK_EQ_U(le64toh(ns.nsze), NS1_BLOCKS, "Identify Namespace NSZE is the size in blocks [NVM-1.0c Fig. 114]");
	CHECK_EQ_U(ns.lbaf[ns.flbas & 0xf].lbads, 9, "Identify Namespace LBAF[FLBAS].LBADS is 9 (512 B) [NVM-1.0c Fig. 116]");
	memcpy(nguid, ns.nguid, 16);
	c = identify(a, NVME_CNS_NS, 2, 0);
	memcpy(&ns, g_out, sizeof(ns));
	CHECK_EQ_U(ns.lbaf[ns.flbas & 0xf].lbads, 12, "Identify Namespace 2 LBADS is 12 (4096 B) [NVM-1.0c Fig. 116]");
	c = identify(a, NVME_CNS_NS, 5, 0);
	CHECK(st(c) == 0 && g_out[0] == 0 && !memcmp(g_out, g_out + 1, 4095),
	      "Identify CNS 00h on an inactive NSID (<= NN) returns zeroes [BASE-2.0c §5.17.2.1]");
	c = identify(a, NVME_CNS_NS, 0, 0);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_NS | DNR, "Identify CNS 00h NSID 0 -> Invalid Namespace or Format [BASE-2.0c §5.17.2.1]");
	c = identify(a, NVME_CNS_NS, NVMF_MAX_NS + 1, 0);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_NS | DNR, "Identify CNS 00h NSID above NN -> Invalid Namespace or Format [BASE-2.0c §5.17.2.1]");
	c = identify(a, NVME_CNS_NS, 0xffffffff, 0);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_NS | DNR,
		   "Identify CNS 00h NSID FFFFFFFFh without namespace management -> Invalid Namespace or Format [BASE-2.0c §5.17.2.1]");

	c = identify(a, NVME_CNS_NS_ACTIVE_LIST, 0, 0);
	memcpy(list, g_out, sizeof(list));
	CHECK(st(c) == 0 && le32toh(list[0]) == 1 && le32toh(list[1]) == 2 && list[2] == 0,
	      "Identify CNS 02h lists active NSIDs 1, 2 ascending, then zero [BASE-2.0c §5.17.2.2]");
	c = identify(a, NVME_CNS_NS_ACTIVE_LIST, 1, 0);
	memcpy(list, g_out, sizeof(list));
	CHECK(st(c) == 0 && le32toh(list[0]) == 2 && list[1] == 0,
	      "Identify CNS 02h lists only NSIDs greater than CDW1.NSID [BASE-2.0c §5.17.2.2]");
	c = identify(a, NVME_CNS_NS_ACTIVE_LIST, 0xfffffffe, 0);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_NS | DNR,
		   "Identify CNS 02h NSID FFFFFFFEh -> Invalid Namespace or Format [BASE-2.0c §5.17.2.2]");

	c = identify(a, NVME_CNS_NS_DESC_LIST, 1, 0);
	CHECK_EQ_U(st(c), 0, "Identify CNS 03h on an active NSID succeeds [BASE-2.0c §5.17.2.3]");
	CHECK(g_out[0] == NVME_NIDT_NGUID && g_out[1] == 16 && !memcmp(g_out + 4, nguid, 16),
	      "Identify CNS 03h: first descriptor NGUID (16 bytes) equal to Identify Namespace NGUID [BASE-2.0c Fig. 279]");
	CHECK(g_out[20] == NVME_NIDT_UUID && g_out[21] == 16,
	      "Identify CNS 03h: a UUID descriptor (16 bytes) [BASE-2.0c Fig. 279]");
	memcpy(uuid1, g_out + 24, 16);
	CHECK(g_out[40] == NVME_NIDT_CSI && g_out[41] == 1 && g_out[44] == NVME_CSI_NVM && g_out[45] == 0,
	      "Identify CNS 03h: a CSI descriptor (NVM), then the end of the list [BASE-2.0c Fig. 279]");
	CHECK((uuid1[6] >> 4) != 0 && (uuid1[8] & 0xc0) == 0x80, "namespace UUID has an RFC 9562 version and variant [RFC 9562 §4]");
	identify(a, NVME_CNS_NS_DESC_LIST, 2, 0);
	memcpy(uuid2, g_out + 24, 16);
	CHECK(memcmp(uuid1, uuid2, 16) && memcmp(nguid, g_out + 4, 16),
	      "namespace UUIDs and NGUIDs are unique per namespace [BASE-2.0c §4.7.1]");
	c = identify(a, NVME_CNS_NS_DESC_LIST, 7, 0);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_NS | DNR,
		   "Identify CNS 03h on an inactive NSID -> Invalid Namespace or Format [BASE-2.0c §5.17.2.3]");

	c = identify(a, NVME_CNS_CSI_NS, 1, NVME_CSI_NVM);
	CHECK_EQ_U(st(c), 0, "Identify CNS 05h CSI 0 (NVM) succeeds [NVM-1.0c §4.1.5.2]");
	c = identify(a, NVME_CNS_CSI_NS, 1, 1);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR, "Identify CNS 05h CSI 1 (unsupported) -> Invalid Field [BASE-2.0c Fig. 273]");
	c = identify(a, NVME_CNS_CSI_CTRL, 0, NVME_CSI_NVM);
	CHECK_EQ_U(st(c), 0, "Identify CNS 06h CSI 0 succeeds [NVM-1.0c §4.1.5.3]");
	c = identify(a, NVME_CNS_CSI_CTRL, 0, 1);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR, "Identify CNS 06h CSI 1 -> Invalid Field [BASE-2.0c Fig. 273]");
	c = identify(a, NVME_CNS_CSI_NS_ACTIVE_LIST, 0, NVME_CSI_NVM);
	memcpy(list, g_out, sizeof(list));
	CHECK(st(c) == 0 && le32toh(list[0]) == 1 && le32toh(list[1]) == 2,
	      "Identify CNS 07h CSI 0 lists the active NVM namespaces [BASE-2.0c §5.17.2.7]");
	c = identify(a, NVME_CNS_CSI_NS_ACTIVE_LIST, 0, 1);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR, "Identify CNS 07h CSI 1 -> Invalid Field [BASE-2.0c Fig. 273]");
	c = identify(a, NVME_CNS_NS_INDEPENDENT, 1, 0);
	CHECK(st(c) == 0 && ((struct nvme_id_ns_indep *)g_out)->nstat == 1,
	      "Identify CNS 08h: NSTAT bit 0, namespace ready [BASE-2.0c Fig. 280]");
	c = identify(a, 0x04, 0, 0);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR, "Identify with a reserved CNS (04h) -> Invalid Field [BASE-2.0c Fig. 273]");
	q_free(a);
}

/*
 * UUID stability: the same subsystem NQN, NSID and backend name (what a
 * restart with the same configuration gives) -> the same UUID and NGUID.
 * Simulated with a second subsystem whose NQN is first used by one, then
 * freed and made again.
 */
static void test_identify_stable_ids(void)
{
	const char *nqn = "nqn.2026-01.io.nvmf.test:stable";
	uint8_t first[16], second[16], other[16];
	struct nvmf_subsys *s, **pp;
	struct nvmf_bdev *b;
	char name[64], err[128];

	for (int round = 0; round < 2; round++) {
		s = subsys_new(nqn);
		b = bdev_new("null:1M");
		if (round == 0)
			snprintf(name, sizeof(name), "%s", b->name);
		else
			snprintf(b->name, sizeof(b->name), "%s", name);	/* same config */
		nvmf_subsys_add_ns(s, b, err, sizeof(err));
		memcpy(round == 0 ? first : second, s->ns[0]->uuid, 16);
		if (round == 0) {
			struct nvmf_subsys *o = subsys_new("nqn.2026-01.io.nvmf.test:stable2");
			struct nvmf_bdev *ob = bdev_new("null:1M");

			snprintf(ob->name, sizeof(ob->name), "%s", name);
			nvmf_subsys_add_ns(o, ob, err, sizeof(err));
			memcpy(other, o->ns[0]->uuid, 16);
		}
		/* unlink and free s as nvmf_fini() would */
		for (pp = &g_subsystems; *pp != s; pp = &(*pp)->next)
			;
		*pp = s->next;
		bdev_free(s->ns[0]->bdev);
		free(s->ns[0]);
		free(s);
	}
	CHECK(!memcmp(first, second, 16),
	      "namespace UUID is stable: same NQN, NSID and backend -> same UUID [BASE-2.0c §4.7.1]");
	CHECK(memcmp(first, other, 16), "namespace UUID differs between subsystems [BASE-2.0c §4.7.1]");
	/* drop stable2 too: the discovery log counts subsystems */
	for (pp = &g_subsystems; *pp && strcmp((*pp)->nqn, "nqn.2026-01.io.nvmf.test:stable2"); pp = &(*pp)->next)
		;
	if (*pp) {
		s = *pp;
		*pp = s->next;
		bdev_free(s->ns[0]->bdev);
		free(s->ns[0]);
		free(s);
	}
}

/* ==================================================================== */
/* 4. Get Log Page [BASE-2.0c §5.16]                                   */
/* ==================================================================== */

/*
 * Get Log Page: the Supported Log Pages list must name exactly the pages
 * that are answered (nvme-cli believes it); a failed command lands in the
 * Error log with its CID and status; the Commands Supported and Effects
 * log tells the host which commands change what; an offset past the end
 * and a length above MDTS are refused; the SMART log counts what was
 * really read and written (thousands of 512-byte units, rounded up); the Changed
 * Namespace List is filled by a namespace change and cleared by reading
 * it without RAE [BASE-2.0c §5.16.1].
 */
static void test_log_pages(void)
{
	struct nvmf_queue *a = ctrl_up(NQN_S1, HOSTA, 0);
	struct nvme_error_log e;
	struct nvme_sqe s;
	struct cpl *c;
	uint16_t cid, cqe_status;
	le32 lids[256], list[4];

	c = get_log(a, NVME_LOG_SUPPORTED, 0, false, 1024, 0);
	memcpy(lids, g_out, sizeof(lids));
	CHECK_EQ_U(st(c), 0, "Get Log Page 00h (Supported Log Pages) succeeds [BASE-2.0c §5.16.1.1]");
	CHECK((le32toh(lids[0]) & le32toh(lids[1]) & le32toh(lids[2]) & le32toh(lids[3]) &
	       le32toh(lids[4]) & le32toh(lids[5]) & 1) && !lids[6] && !lids[NVME_LOG_DISC],
	      "Supported Log Pages: LSUPP for 00h-05h only, not 06h or 70h [BASE-2.0c Fig. 204]");

	/* a failed command lands in the error log */
	/* FID 7Eh is not a feature this target has: the command fails, and the
	 * failure must be in the Error log, with the CID the host can match. */
	s = sqe_new(NVME_ADM_GET_FEATURES, 0, 0x7e, 0);
	cid = le16toh(s.cid);
	c = submit(a, &s, NULL, 0);
	cqe_status = le16toh(c->cqe.status);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR, "Get Features of an unknown FID -> Invalid Field [BASE-2.0c §5.27]");
	c = get_log(a, NVME_LOG_ERROR, 0, false, 64, 0);
	memcpy(&e, g_out, sizeof(e));
	CHECK_EQ_U(st(c), 0, "Get Log Page 01h (Error Information) succeeds [BASE-2.0c §5.16.1.2]");
	CHECK(le64toh(e.error_count) >= 1 && le16toh(e.sqid) == 0 && le16toh(e.cid) == cid,
	      "Error log: newest entry names the failed command (count, SQID 0, CID %#x) [BASE-2.0c Fig. 205]", cid);
	CHECK_EQ_U((le16toh(e.status) >> 1) & 0x7ff, NVME_SC_INVALID_FIELD,
		   "Error log: Status Field SCT/SC of the failed command [BASE-2.0c Fig. 205]");
	CHECK_EQ_U(le16toh(e.status) & ~1u, cqe_status & ~1u,
		   "Error log: Status Field equals the CQE's, DNR included [BASE-2.0c Fig. 205, Fig. 93]");
	CHECK_EQ_U(le16toh(e.param_error_location), offsetof(struct nvme_sqe, cdw10),
		   "Error log: Parameter Error Location is byte 40 (CDW10, the FID) [BASE-2.0c Fig. 205]");
	CHECK_EQ_U(e.trtype, NVMF_TRTYPE_TCP, "Error log: TRTYPE is TCP [BASE-2.0c Fig. 205]");

	c = get_log(a, NVME_LOG_FW_SLOT, 0, false, 512, 0);
	CHECK(st(c) == 0 && g_out[0] == 1 && space_padded((char *)g_out + 8, 8, NVMF_VERSION),
	      "Get Log Page 03h: AFI slot 1, FRS1 the firmware revision [BASE-2.0c Fig. 208]");
	c = get_log(a, NVME_LOG_CMD_EFFECTS, 0, false, 4096, 0);
	{
		struct nvme_effects_log *ef = (void *)g_out;

		CHECK(st(c) == 0 && (le32toh(ef->acs[NVME_ADM_IDENTIFY]) & NVME_CMD_EFFECTS_CSUPP) &&
		      (le32toh(ef->iocs[NVME_CMD_WRITE]) & NVME_CMD_EFFECTS_LBCC) &&
		      (le32toh(ef->iocs[NVME_CMD_READ]) & NVME_CMD_EFFECTS_CSUPP) && !ef->acs[NVME_ADM_CREATE_SQ],
		      "Get Log Page 05h: Identify, Read supported; Write changes LBA content; Create SQ not [BASE-2.0c Fig. 210]");
	}
	c = get_log(a, 0x06, 0, false, 64, 0);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_LOG_PAGE | DNR, "Get Log Page of an unsupported LID (06h) -> Invalid Log Page [BASE-2.0c §5.16]");
	c = get_log(a, NVME_LOG_DISC, 0, false, 1024, 0);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_LOG_PAGE | DNR, "Get Log Page 70h on an I/O controller -> Invalid Log Page [BASE-2.0c §5.16.1.23]");
	c = get_log(a, NVME_LOG_SMART, 0xffffffff, false, 64, 2);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR, "Get Log Page with LPOL not dword aligned -> Invalid Field [BASE-2.0c Fig. 199]");
	c = get_log(a, NVME_LOG_FW_SLOT, 0, false, 64, 1024);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR, "Get Log Page with an offset beyond the log -> Invalid Field [BASE-2.0c Fig. 199]");
	s = sqe_get_log(NVME_LOG_SMART, 0xffffffff, false, 128, 0);
	c = submit(a, &s, NULL, 256);
	CHECK_EQ_U(st(c), NVME_SC_SGL_INVALID_DATA | DNR,
		   "Get Log Page with NUMD (512 bytes) larger than the data SGL (256) -> Data SGL Length Invalid [BASE-2.0c Fig. 94]");
	s = sqe_get_log(NVME_LOG_SMART, 0xffffffff, false, NVMF_MAX_DATA / 4 + 1, 0);
	c = submit(a, &s, NULL, NVMF_MAX_DATA);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR, "Get Log Page with NUMD beyond MDTS -> Invalid Field [BASE-2.0c Fig. 275 MDTS]");
	c = get_log(a, NVME_LOG_SMART, 0xffffffff, false, 1024, 0);
	CHECK(st(c) == 0 && g_out[512] == 0 && !memcmp(g_out + 512, g_out + 513, 511),
	      "Get Log Page past the end of a 512-byte log reads zeroes [BASE-2.0c §5.16]");
	q_free(a);

	/* SMART with real counters: a subsystem of its own */
	{
		static uint8_t buf[NVMF_MAX_DATA];
		struct nvme_smart_log sm;
		struct nvmf_queue *aq = ctrl_up(NQN_S3, HOSTA, 0), *io = ioq_up(aq, 1, 127, 0, NULL);
		uint64_t wr = 0, rd = 0;

		memset(buf, 0x5a, sizeof(buf));
		for (int i = 0; i < 5; i++, wr += NVMF_MAX_DATA)
			io_write(io, 1, i * 256, 256, 512, buf);
		for (int i = 0; i < 3; i++, rd += 4096)
			io_read(io, 1, i * 8, 8, 512);
		c = get_log(aq, NVME_LOG_SMART, 0xffffffff, false, 512, 0);
		memcpy(&sm, g_out, sizeof(sm));
		CHECK_EQ_U(st(c), 0, "Get Log Page 02h (SMART) for all namespaces succeeds [BASE-2.0c §5.16.1.3]");
		CHECK_EQ_U(u128_lo(sm.data_units_written), (wr / 512 + 999) / 1000,
			   "SMART Data Units Written = ceil(512-byte units / 1000) (%llu bytes) [BASE-2.0c Fig. 207]",
			   (unsigned long long)wr);
		CHECK_EQ_U(u128_lo(sm.data_units_read), (rd / 512 + 999) / 1000,
			   "SMART Data Units Read = ceil(512-byte units / 1000) (%llu bytes) [BASE-2.0c Fig. 207]",
			   (unsigned long long)rd);
		CHECK_EQ_U(u128_lo(sm.host_writes), 5, "SMART Host Write Commands counts the writes [BASE-2.0c Fig. 207]");
		CHECK_EQ_U(u128_lo(sm.host_reads), 3, "SMART Host Read Commands counts the reads [BASE-2.0c Fig. 207]");
		CHECK(sm.temperature[0] | sm.temperature[1], "SMART Composite Temperature is reported (Kelvin) [BASE-2.0c Fig. 207]");
		c = get_log(aq, NVME_LOG_SMART, 1, false, 512, 0);
		CHECK(st(c) == 0 && u128_lo(((struct nvme_smart_log *)g_out)->host_writes) == 5,
		      "SMART for NSID 1 (LPA bit 0: per namespace) has that namespace's counters [BASE-2.0c §5.16.1.3]");
		c = get_log(aq, NVME_LOG_SMART, 2, false, 512, 0);
		CHECK_EQ_U(st(c), NVME_SC_INVALID_NS | DNR, "SMART for an inactive NSID -> Invalid Namespace or Format [BASE-2.0c §5.16.1.3]");
		c = get_log(aq, NVME_LOG_SMART, 0xffffffff, false, 16, 64);
		CHECK(st(c) == 0 && u128_lo(g_out) == 3,
		      "Get Log Page at offset 64: the slice of the log there (Host Read Commands) [BASE-2.0c Fig. 199]");
		q_free(io);
		q_free(aq);
	}

	/* Changed Namespace List after a live namespace add */
	a = ctrl_up(NQN_S4, HOSTA, 0);
	c = get_log(a, NVME_LOG_CHANGED_NS, 0, false, 4096, 0);
	CHECK(st(c) == 0 && le32toh(((le32 *)g_out)[0]) == 0, "Changed Namespace List is empty at first [BASE-2.0c §5.16.1.5]");
	ns_add(g_s4, "null:1M");		/* NSID 2 */
	c = get_log(a, NVME_LOG_CHANGED_NS, 0, true, 4096, 0);
	memcpy(list, g_out, sizeof(list));
	CHECK(st(c) == 0 && le32toh(list[0]) == 2 && list[1] == 0,
	      "Changed Namespace List names the NSID added while connected [BASE-2.0c §5.16.1.5]");
	c = get_log(a, NVME_LOG_CHANGED_NS, 0, false, 4096, 0);
	CHECK(st(c) == 0 && le32toh(((le32 *)g_out)[0]) == 2, "Changed Namespace List is kept by a read with RAE=1 [BASE-2.0c Fig. 197]");
	c = get_log(a, NVME_LOG_CHANGED_NS, 0, false, 4096, 0);
	CHECK(st(c) == 0 && ((le32 *)g_out)[0] == 0, "Changed Namespace List is cleared by a read with RAE=0 [BASE-2.0c §5.16.1.5]");
	q_free(a);
}

/* ==================================================================== */
/* 5. The discovery log [BASE-2.0c §5.16.1.23]                         */
/* ==================================================================== */

#define DISC_BIG	1000		/* subsystems for the log of any size */
/*
 * The discovery log [BASE-2.0c §5.16.1.23] is what `nvme discover` and
 * the kernel's discovery service read to find subsystems: one entry per
 * (subsystem, port) the asking host may use, plus one "current discovery
 * subsystem" entry per port. The counts below follow from setup(): 4
 * subsystems on the 2 I/O ports, 3 discovery entries. What the group
 * proves: the log is the same however it is read (whole, paged, at an
 * offset), GENCTR says when it changed, entries carry the address the
 * host really reached (not the wildcard), and a host sees only the
 * subsystems it may connect to.
 */
static void test_discovery(void)
{
	static uint8_t whole[NVMF_MAX_DATA];
	struct nvmf_queue *d = ctrl_up(NVMF_DISC_NQN, HOSTA, 0), *db;
	uint64_t g1, g2, g3;
	struct nvme_sqe s;
	struct cpl *c;
	int n, nb, ok;

	/* HOSTA may use S1..S4: 2 I/O listeners x 4 + 3 listeners x discovery */
	n = disc_read_paged(d, &g1, &g2);
	CHECK_EQ_U(n, 2 * 4 + 3,
		   "discovery log: one entry per (I/O listener, allowed subsystem) plus one per listener for discovery [BASE-2.0c §5.16.1.23]");
	CHECK(g1 == g2 && g1 != 0, "discovery log: GENCTR stable across a paged read (header, entries, header) [Linux host checks; BASE-2.0c Fig. 262]");
	CHECK_EQ_U(le16toh(((struct nvmf_disc_log_hdr *)g_disc)->recfmt), 0, "discovery log: RECFMT 0 [BASE-2.0c Fig. 262]");
	c = get_log(d, NVME_LOG_DISC, 0, true, 1024 + n * 1024, 0);
	memcpy(whole, g_out, 1024 + n * 1024);
	CHECK(st(c) == 0 && !memcmp(whole + 1024, g_disc + 1024, n * 1024),
	      "discovery log: entries read in 4 KiB pieces at LPOL offsets equal one whole read [Linux host checks; BASE-2.0c Fig. 199]");

	s = sqe_get_log(NVME_LOG_DISC, 0, true, 256, 0);
	s.cdw11 = htole32(1);		/* NUMDU 1: 0x10000 + 256 dwords */
	c = submit(d, &s, NULL, 1024);
	CHECK(st(c) != 0, "discovery log: NUMDU is combined with NUMDL (NUMDU 1 -> 256 KiB, above MDTS: refused) [BASE-2.0c Fig. 197-198]");
	s = sqe_get_log(NVME_LOG_DISC, 0, true, 256, 1ull << 32);
	c = submit(d, &s, NULL, 1024);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR,
		   "discovery log: LPOU is combined with LPOL (offset 4 GiB, beyond the log -> Invalid Field) [BASE-2.0c Fig. 200]");
	c = get_log(d, NVME_LOG_DISC, 0, true, 2048, 2048);
	CHECK(st(c) == 0 && !memcmp(g_out, whole + 2048, 2048),
	      "discovery log: an offset that lands on entry 1 returns entries 1-2 [BASE-2.0c Fig. 199]");

	{
		struct nvmf_disc_log_entry *e = disc_entry(g_disc, 0);

		CHECK_EQ_U(e->trtype, NVMF_TRTYPE_TCP, "discovery entry: TRTYPE 3 (TCP) [BASE-2.0c Fig. 263]");
		CHECK_EQ_U(e->adrfam, NVMF_ADRFAM_IPV4, "discovery entry: ADRFAM 1 (IPv4) [BASE-2.0c Fig. 263]");
		CHECK_EQ_U(e->subtype, NVMF_SUBTYPE_NVME, "discovery entry: SUBTYPE 2 for an NVM subsystem [BASE-2.0c Fig. 263]");
		CHECK_EQ_U(e->treq, 0, "discovery entry: TREQ 0 (not specified) for plain TCP [Linux host checks; BASE-2.0c Fig. 263]");
		CHECK_EQ_U(le16toh(e->portid), g_l_io->portid, "discovery entry: PORTID of the listener [BASE-2.0c Fig. 263]");
		CHECK_EQ_U(le16toh(e->cntlid), 0xffff, "discovery entry: CNTLID FFFFh (dynamic) [BASE-2.0c Fig. 263]");
		CHECK(le16toh(e->asqsz) >= 32, "discovery entry: ASQSZ at least 32 [BASE-2.0c Fig. 263]");
		CHECK(!strcmp(e->subnqn, NQN_S1), "discovery entry: SUBNQN of the subsystem [BASE-2.0c Fig. 263]");
		CHECK(space_padded(e->trsvcid, sizeof(e->trsvcid), "4420"), "discovery entry: TRSVCID \"4420\" space padded [BASE-2.0c Fig. 263]");
		CHECK(space_padded(e->traddr, sizeof(e->traddr), "127.0.0.5"),
		      "discovery entry: a 0.0.0.0 listener shows the connection's local address, space padded [SPDK issue 2294]");
		e = disc_entry(g_disc, 4);
		CHECK(le16toh(e->portid) == g_l_fixed->portid && space_padded(e->traddr, sizeof(e->traddr), "192.0.2.1"),
		      "discovery entry: a listener on a fixed address shows that address [BASE-2.0c Fig. 263]");
	}
	ok = 1;
	for (int i = 0; i < n; i++) {
		struct nvmf_disc_log_entry *e = disc_entry(g_disc, i);

		if (e->subtype == NVMF_SUBTYPE_DISC_CURRENT &&
		    (strcmp(e->subnqn, NVMF_DISC_NQN) || !(le16toh(e->eflags) & NVMF_EFLAGS_DUPRETINFO)))
			ok = 0;
		if (e->treq != 0)
			ok = 0;
	}
	CHECK(ok && disc_count(g_disc, n, NULL, NVMF_SUBTYPE_DISC_CURRENT, NULL) == 3,
	      "discovery entries for this discovery subsystem: SUBTYPE 3, its NQN, EFLAGS DUPRETINFO [Linux host checks; BASE-2.0c Fig. 263]");
	CHECK_EQ_U(disc_count(g_disc, n, g_l_disc, NVMF_SUBTYPE_NVME, NULL), 0,
		   "discovery log: no NVM subsystem on the discovery-only listener (8009) [BASE-2.0c §5.16.1.23]");

	db = ctrl_up(NVMF_DISC_NQN, HOSTB, 0);
	nb = disc_read_paged(db, &g1, &g3);
	CHECK(nb == 2 * 3 + 3 && disc_count(g_disc, nb, NULL, 0, NQN_S2) == 0,
	      "discovery log: a subsystem whose allow list lacks the host is not listed for it [BASE-2.0c §5.16.1.23]");

	nvmf_disc_changed();
	disc_read_paged(d, &g2, &g3);
	CHECK(g2 > g1, "discovery log: GENCTR moves after a change (nvmf_disc_changed) [BASE-2.0c Fig. 262]");
	subsys_new(NQN_S5);
	n = disc_read_paged(d, &g1, &g3);
	CHECK(g1 > g2, "discovery log: GENCTR moves after a subsystem is added [BASE-2.0c Fig. 262]");
	CHECK_EQ_U(n, 2 * 5 + 3, "discovery log: the new subsystem is listed on both I/O listeners [BASE-2.0c §5.16.1.23]");

	/* a dual-stack wildcard listener and an IPv4 client */
	{
		struct nvmf_listener *l6 = listener_add(NVMF_ADRFAM_IPV6, "::", "4421", false);
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&d->local;
		struct nvmf_disc_log_entry *e = NULL;

		memset(&d->local, 0, sizeof(d->local));
		sin6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, "::1", &sin6->sin6_addr);
		n = disc_read_paged(d, &g1, &g2);
		for (int i = 0; i < n; i++)
			if (le16toh(disc_entry(g_disc, i)->portid) == l6->portid)
				e = disc_entry(g_disc, i);
		CHECK(e && e->adrfam == NVMF_ADRFAM_IPV6 && space_padded(e->traddr, sizeof(e->traddr), "::1"),
		      "discovery entry: a :: listener shows the local IPv6 address (::1) [SPDK issue 2294]");
		inet_pton(AF_INET6, "::ffff:127.0.0.5", &sin6->sin6_addr);
		n = disc_read_paged(d, &g1, &g2);
		e = NULL;
		for (int i = 0; i < n; i++)
			if (le16toh(disc_entry(g_disc, i)->portid) == l6->portid)
				e = disc_entry(g_disc, i);
		CHECK(e && space_padded(e->traddr, sizeof(e->traddr), "127.0.0.5"),
		      "discovery entry: an IPv4-mapped local address is shown as IPv4 (127.0.0.5) [SPDK issue 2294]");
		CHECK(e && e->adrfam == NVMF_ADRFAM_IPV4,
		      "discovery entry: ADRFAM matches the address in TRADDR (IPv4 for 127.0.0.5) [BASE-2.0c Fig. 263 ADRFAM]");
		listener_remove(l6);
	}
	q_free(db);
	q_free(d);
}

/* The discovery log of any size: DISC_BIG more subsystems, each on both
 * I/O listeners, make a log of 2 MiB, 16 times MDTS. */
static void test_discovery_big(void)
{
	static struct nvmf_subsys *big[DISC_BIG];
	static uint8_t piece[NVMF_MAX_DATA];
	struct nvmf_queue *d = ctrl_up(NVMF_DISC_NQN, HOSTA, 0);
	uint64_t g1, g2, gbig, size;
	int n0, n, ok = 1;
	char nqn[64], err[256];
	struct cpl *c;

	n0 = disc_read_paged(d, &g1, &g2);
	for (int i = 0; i < DISC_BIG; i++) {
		snprintf(nqn, sizeof(nqn), "nqn.2026-12.io.nvmf.test:big%04d", i);
		big[i] = subsys_new(nqn);
	}
	n = disc_read_paged(d, &g1, &g2);
	CHECK_EQ_U(n, n0 + 2 * DISC_BIG,
		   "discovery log of any size: NUMREC counts 1,000 more subsystems on 2 I/O listeners (no cut at one MDTS) [BASE-2.0c §5.16.1.23]");
	CHECK(g1 == g2, "discovery log of any size: GENCTR stable across ~500 paged reads [BASE-2.0c Fig. 262]");
	for (int i = 0; i < DISC_BIG && n > 0; i++) {
		snprintf(nqn, sizeof(nqn), "nqn.2026-12.io.nvmf.test:big%04d", i);
		ok &= disc_count(g_disc, n, g_l_io, NVMF_SUBTYPE_NVME, nqn) == 1 &&
		      disc_count(g_disc, n, NULL, NVMF_SUBTYPE_NVME, nqn) == 2;
	}
	CHECK(ok, "discovery log of any size: every one of the 1,000 subsystems is listed once per I/O listener [BASE-2.0c §5.16.1.23]");

	/* MDTS-sized reads (128 KiB) over the whole log equal the 4 KiB pieces. */
	size = 1024 + (uint64_t)(n > 0 ? n : 0) * 1024;
	for (uint64_t off = 0; off < size && ok; off += sizeof(piece)) {
		c = get_log(d, NVME_LOG_DISC, 0, true, sizeof(piece), off);
		ok = !st(c) && !memcmp(g_out, g_disc + off, size - off < sizeof(piece) ? size - off : sizeof(piece));
		if (size - off < sizeof(piece))
			ok &= g_out[size - off] == 0 && !memcmp(g_out + (size - off), g_out + (size - off) + 1,
							    sizeof(piece) - (size - off) - 1);
	}
	CHECK(ok, "discovery log of any size: 128 KiB reads equal the 4 KiB paged read; past the end reads zeroes [BASE-2.0c Fig. 199]");
	c = get_log(d, NVME_LOG_DISC, 0, true, 4096, 1024 * 700 + 512);
	CHECK(st(c) == 0 && !memcmp(g_out, g_disc + 1024 * 700 + 512, 4096),
	      "discovery log of any size: an offset in the middle of entry 699 returns the same bytes [BASE-2.0c Fig. 199]");
	c = get_log(d, NVME_LOG_DISC, 0, true, 4096, size);
	CHECK(st(c) == 0 && g_out[0] == 0 && !memcmp(g_out, g_out + 1, 4095),
	      "discovery log of any size: an offset at the end reads zeroes [BASE-2.0c Fig. 199]");
	c = get_log(d, NVME_LOG_DISC, 0, true, 4096, size + 4);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR,
		   "discovery log of any size: an offset past the end -> Invalid Field [BASE-2.0c Fig. 199]");

	for (int i = 0; i < DISC_BIG; i++)
		if (nvmf_subsys_remove(big[i], err, sizeof(err)))
			printf("# removing a subsystem failed: %s\n", err);
	gbig = g1;
	n = disc_read_paged(d, &g1, &g2);
	CHECK(n == n0 && g1 > gbig && g1 == g2,
	      "discovery log of any size: back to its size, with a new GENCTR, once the subsystems are gone [BASE-2.0c Fig. 262]");
	q_free(d);
}

/* The groups run in the order of the file map, on one configuration made
 * once by setup(). Order matters where a group adds to it (namespaces on S4),
 * so a group's expected counts assume the ones before. */
int main(void)
{
	if (getenv("V"))
		g_log_level = NVMF_LOG_DBG;
	setup();
	test_connect();
	test_property();
	test_identify_ctrl();
	test_identify_ns();
	test_identify_stable_ids();
	test_log_pages();
	test_discovery();
	test_discovery_big();
	CHECK_EQ_U(slots_busy(), 0, "every command slot came back to the transport [nvmf.h transport seam]");
	teardown();
	return test_done("nvmf_test");
}
