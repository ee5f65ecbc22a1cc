/*
 * tests/rdma_bad.c - bad input over NVMe/RDMA, sent with librdmacm and
 * verbs directly (no NVMe host driver in the way), for the lab VM:
 *
 *   rdma_bad ADDR PORT SUBNQN
 *
 *   CM REQ private data          -> REJ with the right status [RDMA-1.0c §3.3]
 *     recfmt 1, qid 65, hsqsize too big (admin and I/O), hrqsize too small,
 *     a 2-byte record (the CM pads it with zeros: HSQSIZE 0)
 *   a good admin queue: Connect with a keyed SGL (the target RDMA READs
 *     the Connect data), Identify through a Last Segment of two keyed
 *     descriptors (MSDBD), then the errors:
 *     keyed SGL longer than MDTS      -> Invalid Field, DNR
 *     MSDBD + 1 descriptors           -> SGL Descriptor Count Invalid
 *     in-capsule offset past the data -> SGL Offset Invalid
 *     a bad rkey                      -> our QP fails; the target lives on
 *   a send queue too small for two commands' chains: two reads and two
 *     writes of MSDBD descriptors each on a 2-entry I/O queue wait for
 *     each other and succeed, the data intact
 *   a host that vanishes with 32 writes in flight, then a new association
 *   works (the target cleaned up; tests/vm/test-rdma.sh counts its fds).
 *   duplicate CIDs [BASE-2.0c §4.2]: a command sent while a 128 KiB write
 *     with its CID is still being fetched -> Command ID Conflict, DNR, and
 *     the write still succeeds; a command that reuses an outstanding
 *     AER's CID is taken (SPDK's host does it at shutdown)
 *   queues that never send Connect: BAD_PER_HOST of them are accepted,
 *     the next CM REQ from the same address is rejected (no resources),
 *     and each is disconnected by the target after BAD_CONNECT_MS
 *     (test-rdma.sh starts nvmf with these two limits). Given the
 *     target's PID, the memory those 128-entry queues pin (VmPin: what
 *     memory registration holds) must stay under BAD_PRE_PIN each, and
 *     their RSS (rxe's send queue is most of it) under BAD_PRE_RSS each:
 *     about 172 KiB with 8 slots and a CQ of 13 until Connect, 326 KiB
 *     with every slot and the whole CQ made at accept, 1.6 MiB when the
 *     send queue had room for MSDBD + 1 per slot.
 *
 *   rdma_bad ADDR PORT SUBNQN [TARGET_PID]
 *
 * Prints "ok N - ..." per check and "rdma_bad: N passed, M failed".
 */
#include <endian.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include "../nvme.h"
#include "test.h"

/* Sizes of the test host, and the target's limits it probes. BAD_MDTS and
 * BAD_MSDBD repeat nvmf's values because this program is built alone for
 * the VM, without nvmf.h; a change there shows up here as a failed case. */
#define BAD_TIMEOUT_MS	5000
#define BAD_BUF		(512 * 1024)
#define BAD_RECVS	32
#define BAD_MDTS	(128 * 1024)	/* what nvmf advertises (NVMF_MDTS 5) */
#define BAD_MSDBD	8		/* NVMF_RDMA_MSDBD */
#define BAD_PER_HOST	8		/* --max-unconnected-per-host in test-rdma.sh */
#define BAD_CONNECT_MS	4000		/* --connect-timeout in test-rdma.sh */
#define BAD_PRE_PIN	(64 * 1024)	/* pinned per queue before Connect, at most */
#define BAD_PRE_RSS	(224 * 1024)	/* RSS per queue before Connect, at most */

static const char *g_addr, *g_port, *g_nqn;
static long g_target_pid;		/* 0: not given, memory not checked */

/* One host connection: CM id, verbs objects, one registered buffer:
 *   buf: | 32 CQE receive slots | SQE + in-capsule area | data ... | */
struct conn {
	struct rdma_event_channel *ch;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_mr *mr;
	uint8_t *buf;
	uint16_t cntlid;
	int rej;			/* REJ status, or -1 */
};

static uint8_t *conn_cqe(struct conn *c, int i) { return c->buf + i * 16; }
static uint8_t *conn_cmd(struct conn *c) { return c->buf + 4096; }
static uint8_t *conn_data(struct conn *c) { return c->buf + 16384; }

/* The clock exec() measures its timeout by (it polls the CQ, so no
 * blocking call can carry the timeout for it). */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for one CM event of the expected type; returns 0 or -1. For a
 * REJECTED event c->rej gets the NVMe/RDMA status in its private data. */
static int cm_wait(struct conn *c, enum rdma_cm_event_type want)
{
	struct rdma_cm_event *ev;
	int rc;

	if (rdma_get_cm_event(c->ch, &ev))
		return -1;
	if (ev->event == RDMA_CM_EVENT_REJECTED && ev->param.conn.private_data &&
	    ev->param.conn.private_data_len >= sizeof(struct nvme_rdma_cm_rej)) {
		struct nvme_rdma_cm_rej rej;

		memcpy(&rej, ev->param.conn.private_data, sizeof(rej));
		c->rej = le16toh(rej.sts);
	}
	rc = ev->event == want ? 0 : -1;
	if (rc)
		printf("    CM event %s, waited for %s\n", rdma_event_str(ev->event),
		       rdma_event_str(want));
	rdma_ack_cm_event(ev);
	return rc;
}

/* Tear down in the reverse order of conn_open. No rdma_disconnect: a
 * host that vanishes is one of the cases, and the target must cope. */
static void conn_free(struct conn *c)
{
	if (c->id && c->id->qp)
		rdma_destroy_qp(c->id);
	if (c->mr)
		ibv_dereg_mr(c->mr);
	if (c->cq)
		ibv_destroy_cq(c->cq);
	if (c->pd)
		ibv_dealloc_pd(c->pd);
	if (c->id)
		rdma_destroy_id(c->id);
	if (c->ch)
		rdma_destroy_event_channel(c->ch);
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

/* Resolve, build a QP with receives posted, and send a CM REQ carrying
 * len bytes of priv. Returns 0 when ESTABLISHED, 1 when REJECTED (c->rej
 * holds the status), -1 on any other failure. */
static int conn_open(struct conn *c, const void *priv, uint8_t len)
{
	struct addrinfo *ai;
	struct ibv_qp_init_attr qa = { .qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 64, .max_recv_wr = BAD_RECVS, .max_send_sge = 1,
			 .max_recv_sge = 1 } };
	struct rdma_conn_param p = { .private_data = priv, .private_data_len = len,
				     .responder_resources = 4, .initiator_depth = 0,
				     .retry_count = 7, .rnr_retry_count = 7 };

	memset(c, 0, sizeof(*c));
	c->rej = -1;
	if (getaddrinfo(g_addr, g_port, NULL, &ai))
		return -1;
	c->ch = rdma_create_event_channel();
	if (!c->ch || rdma_create_id(c->ch, &c->id, NULL, RDMA_PS_TCP) ||
	    rdma_resolve_addr(c->id, NULL, ai->ai_addr, 2000) ||
	    cm_wait(c, RDMA_CM_EVENT_ADDR_RESOLVED) || rdma_resolve_route(c->id, 2000) ||
	    cm_wait(c, RDMA_CM_EVENT_ROUTE_RESOLVED)) {
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	c->pd = ibv_alloc_pd(c->id->verbs);
	c->cq = ibv_create_cq(c->id->verbs, 128, NULL, NULL, 0);
	c->buf = aligned_alloc(4096, BAD_BUF);
	if (!c->pd || !c->cq || !c->buf)
		return -1;
	memset(c->buf, 0, BAD_BUF);
	c->mr = ibv_reg_mr(c->pd, c->buf, BAD_BUF, IBV_ACCESS_LOCAL_WRITE |
			   IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE);
	qa.send_cq = qa.recv_cq = c->cq;
	if (!c->mr || rdma_create_qp(c->id, c->pd, &qa))
		return -1;
	for (int i = 0; i < BAD_RECVS; i++) {
		struct ibv_sge sge = { (uintptr_t)conn_cqe(c, i), 16, c->mr->lkey };
		struct ibv_recv_wr wr = { .wr_id = i, .sg_list = &sge, .num_sge = 1 }, *bad;

		if (ibv_post_recv(c->id->qp, &wr, &bad))
			return -1;
	}
	if (rdma_connect(c->id, &p))
		return -1;
	if (cm_wait(c, RDMA_CM_EVENT_ESTABLISHED) == 0)
		return 0;
	return c->rej >= 0 ? 1 : -1;
}

/* A CM REQ with this private data must be rejected with status sts. */
static void check_rej(const char *what, const struct nvme_rdma_cm_req *req, uint8_t len,
		      int sts)
{
	struct conn c;
	int rc = conn_open(&c, req, len);

	CHECK(rc == 1 && c.rej == sts, "CM REQ with %s: REJ status %d (got rc %d status %d)",
	      what, sts, rc, c.rej);
	conn_free(&c);
}

/* The CM REQ private data [RDMA-1.0c §3.3]: QID, the host's receive queue
 * size (HRQSIZE) and its 0's based send queue size (HSQSIZE). The target
 * answers REJ with a status that names the wrong field, before any NVMe
 * command can be sent on the queue. */
static struct nvme_rdma_cm_req cm_req(uint16_t qid, uint16_t hrq, uint16_t hsq)
{
	return (struct nvme_rdma_cm_req){ .recfmt = 0, .qid = htole16(qid),
					  .hrqsize = htole16(hrq), .hsqsize = htole16(hsq) };
}

/* A keyed data block descriptor over len bytes of our buffer at p. */
static struct nvme_sgl keyed(struct conn *c, void *p, uint32_t len, uint32_t key)
{
	struct nvme_keyed_sgl k = { .addr = htole64((uintptr_t)p), .type = NVME_SGL_TYPE_KEYED_DATA_BLOCK << 4 };
	struct nvme_sgl s;

	(void)c;
	k.length[0] = len, k.length[1] = len >> 8, k.length[2] = len >> 16;
	key = htole32(key);
	memcpy(k.key, &key, 4);
	memcpy(&s, &k, sizeof(s));
	return s;
}

/*
 * Send the capsule at conn_cmd() (64 + icd bytes) and wait for one
 * response. Returns the CQE status field (15:1) or -1 when the queue
 * failed or nothing came within BAD_TIMEOUT_MS.
 */
static int exec(struct conn *c, uint32_t icd, struct nvme_cqe *out)
{
	struct ibv_sge sge = { (uintptr_t)conn_cmd(c), 64 + icd, c->mr->lkey };
	struct ibv_send_wr wr = { .wr_id = 1000, .sg_list = &sge, .num_sge = 1,
				  .opcode = IBV_WR_SEND, .send_flags = IBV_SEND_SIGNALED }, *bad;
	uint64_t end = now_ms() + BAD_TIMEOUT_MS;

	if (ibv_post_send(c->id->qp, &wr, &bad))
		return -1;
	while (now_ms() < end) {
		struct ibv_wc wc;
		int n = ibv_poll_cq(c->cq, 1, &wc);

		if (n <= 0)
			continue;
		if (wc.status != IBV_WC_SUCCESS) {
			printf("    completion error: %s\n", ibv_wc_status_str(wc.status));
			return -1;
		}
		if (wc.wr_id == 1000)	/* our SEND went out */
			continue;
		memcpy(out, conn_cqe(c, wc.wr_id), sizeof(*out));
		struct ibv_sge rs = { (uintptr_t)conn_cqe(c, wc.wr_id), 16, c->mr->lkey };
		struct ibv_recv_wr rw = { .wr_id = wc.wr_id, .sg_list = &rs, .num_sge = 1 }, *rb;
		ibv_post_recv(c->id->qp, &rw, &rb);
		return le16toh(out->status) >> 1;
	}
	printf("    no response within %d ms\n", BAD_TIMEOUT_MS);
	return -1;
}

/* Fabrics Connect on queue qid, the Connect data fetched by RDMA READ. */
/* The Connect data is not in the capsule but behind a keyed SGL: the
 * target must RDMA READ it from this host's memory before it can check
 * anything, which is the first time a remote key is used on the queue. */
static int do_connect(struct conn *c, uint16_t qid, uint16_t sqsize, uint16_t cntlid)
{
	struct nvmf_connect_cmd *cmd = (void *)conn_cmd(c);
	struct nvmf_connect_data *d = (void *)conn_data(c);
	struct nvme_cqe cqe;
	int st;

	memset(cmd, 0, 64);
	memset(d, 0, sizeof(*d));
	cmd->opcode = NVME_FABRICS_OPCODE;
	cmd->fctype = NVMF_FCTYPE_CONNECT;
	cmd->qid = htole16(qid);
	cmd->sqsize = htole16(sqsize);
	cmd->kato = htole32(qid ? 0 : 30000);
	cmd->dptr = keyed(c, d, sizeof(*d), c->mr->rkey);
	d->cntlid = htole16(cntlid);
	snprintf(d->subnqn, sizeof(d->subnqn), "%s", g_nqn);
	snprintf(d->hostnqn, sizeof(d->hostnqn), "nqn.2014-08.org.nvmexpress:uuid:rdma-bad");
	st = exec(c, 0, &cqe);
	if (st == 0)
		c->cntlid = le32toh(cqe.dw0) & 0xffff;
	return st;
}

/* A good admin queue: CM accepted, Connect succeeded. */
static int admin_open(struct conn *c)
{
	struct nvme_rdma_cm_req req = cm_req(0, 32, 31);

	if (conn_open(c, &req, sizeof(req)))
		return -1;
	return do_connect(c, 0, 31, 0xffff);
}

/* Enable the controller: CC.EN with 64-byte SQEs (IOSQES 6) and 16-byte
 * CQEs (IOCQES 4), so that Identify is allowed. */
static int prop_set_cc_en(struct conn *c)
{
	struct nvmf_prop_cmd *p = (void *)conn_cmd(c);
	struct nvme_cqe cqe;

	memset(p, 0, 64);
	p->opcode = NVME_FABRICS_OPCODE;
	p->fctype = NVMF_FCTYPE_PROP_SET;
	p->ofst = htole32(NVME_REG_CC);
	p->value = htole64(NVME_CC_EN | 6u << 16 | 4u << 20);
	return exec(c, 0, &cqe);
}

/* Identify Controller into our buffer, described by the SGL given. */
static int identify(struct conn *c, struct nvme_sgl sgl, uint32_t icd)
{
	struct nvme_sqe *s = (void *)conn_cmd(c);
	struct nvme_cqe cqe;

	memset(s, 0, 64);
	s->opcode = NVME_ADM_IDENTIFY;
	s->flags = NVME_PSDT_SGL_MPTR_CONTIG << NVME_SQE_PSDT_SHIFT;
	s->cdw10 = htole32(NVME_CNS_CTRL);
	s->dptr = sgl;
	return exec(c, icd, &cqe);
}

/* Identify through a Last Segment descriptor in the capsule pointing at
 * n keyed descriptors that split the 4096 bytes. */
static int identify_segments(struct conn *c, unsigned n)
{
	uint8_t *icd = conn_cmd(c) + 64, *dst = conn_data(c);
	struct nvme_sgl last = { .addr = 0, .length = htole32(n * 16),
				 .type = NVME_SGL_TYPE_LAST_SEGMENT << 4 | NVME_SGL_SUBTYPE_OFFSET };
	uint32_t each = 4096 / n;

	for (unsigned i = 0; i < n; i++) {
		uint32_t len = i == n - 1 ? 4096 - each * (n - 1) : each;
		struct nvme_sgl k = keyed(c, dst + i * each, len, c->mr->rkey);

		memcpy(icd + i * 16, &k, 16);
	}
	memset(dst, 0, 4096);
	return identify(c, last, n * 16);
}

/*
 * The SGL forms NVMe/RDMA allows [RDMA-1.0c §3.2], good and bad, on one
 * admin queue. One keyed descriptor and a Last Segment of keyed
 * descriptors must both land the Identify data in our buffer by RDMA
 * WRITE. Each error is an NVMe status on a queue that goes on working: a
 * length above MDTS, more descriptors than MSDBD (Identify Controller's
 * limit), an in-capsule offset past the data sent. A bad rkey is
 * different: the WRITE fails in the RNIC and our QP goes to error, so no
 * response can come; what must hold is that the target survives and a
 * new association connects.
 */
static void test_admin_errors(void)
{
	struct conn c;
	int st;

	CHECK(admin_open(&c) == 0, "admin queue: CM accepted, Connect with a keyed SGL (RDMA READ)");
	CHECK(prop_set_cc_en(&c) == 0, "Property Set CC.EN=1");
	st = identify(&c, keyed(&c, conn_data(&c), 4096, c.mr->rkey), 0);
	CHECK(st == 0 && le16toh(((struct nvme_id_ctrl *)conn_data(&c))->cntlid) == c.cntlid,
	      "Identify with one keyed descriptor: status 0x%x, data by RDMA WRITE", st);
	st = identify_segments(&c, 2);
	CHECK(st == 0 && !strncmp(((struct nvme_id_ctrl *)conn_data(&c))->subnqn, g_nqn, strlen(g_nqn)),
	      "Identify through a Last Segment of 2 keyed descriptors: status 0x%x", st);
	st = identify(&c, keyed(&c, conn_data(&c), BAD_MDTS * 2, c.mr->rkey), 0);
	CHECK_EQ_U(st, NVME_SC_INVALID_FIELD | NVME_STATUS_DNR,
		   "keyed SGL of %u bytes, twice MDTS: Invalid Field, DNR", BAD_MDTS * 2);
	st = identify_segments(&c, BAD_MSDBD + 1);
	CHECK_EQ_U(st, NVME_SC_SGL_INVALID_COUNT | NVME_STATUS_DNR,
		   "%u keyed descriptors, one above MSDBD: SGL Descriptor Count Invalid", BAD_MSDBD + 1);
	{
		struct nvme_sgl off = { .addr = htole64(64), .length = htole32(1024),
					.type = NVME_SGL_TYPE_DATA_BLOCK << 4 | NVME_SGL_SUBTYPE_OFFSET };
		struct nvmf_fabrics_cmd *p = (void *)conn_cmd(&c);
		struct nvme_cqe cqe;

		memset(p, 0, 64);
		p->opcode = NVME_FABRICS_OPCODE;
		p->fctype = NVMF_FCTYPE_CONNECT;	/* a write: in-capsule data is allowed */
		p->dptr = off;
		st = exec(&c, 512, &cqe);
		CHECK_EQ_U(st, NVME_SC_SGL_INVALID_OFFSET | NVME_STATUS_DNR,
			   "in-capsule SGL past the 512 bytes sent: SGL Offset Invalid");
	}
	st = identify(&c, keyed(&c, conn_data(&c), 4096, c.mr->rkey ^ 0x5a5a00), 0);
	CHECK(st == -1, "Identify with a bad rkey: the RDMA WRITE fails, no response on this QP");
	conn_free(&c);
	CHECK(admin_open(&c) == 0, "after the bad rkey a new admin queue connects: the target lives");
	conn_free(&c);
}

/* Open an association with an I/O queue, post 32 writes of 64 KiB and
 * vanish without waiting: the target's RDMA READs hit a gone host. */
static void test_vanish(void)
{
	struct conn a, io;
	struct nvme_rdma_cm_req req = cm_req(1, 32, 31);
	int ok = admin_open(&a) == 0 && prop_set_cc_en(&a) == 0;

	ok = ok && conn_open(&io, &req, sizeof(req)) == 0 &&
	     do_connect(&io, 1, 31, a.cntlid) == 0;
	CHECK(ok, "admin and I/O queue 1 connected (controller %u)", a.cntlid);
	if (ok) {
		for (int i = 0; i < 32; i++) {
			struct nvme_sqe *s = (void *)(conn_cmd(&io) + i * 64);
			struct ibv_sge sge = { (uintptr_t)s, 64, io.mr->lkey };
			struct ibv_send_wr wr = { .wr_id = 1000, .sg_list = &sge, .num_sge = 1,
						  .opcode = IBV_WR_SEND }, *bad;

			memset(s, 0, 64);
			s->opcode = NVME_CMD_WRITE;
			s->cid = htole16(i);
			s->nsid = htole32(1);
			s->cdw10 = htole32(i * 128);
			s->cdw12 = htole32(127);		/* 128 blocks of 512 */
			s->dptr = keyed(&io, conn_data(&io) + i * 8192, 65536, io.mr->rkey);
			if (ibv_post_send(io.id->qp, &wr, &bad))
				break;
		}
	}
	conn_free(&io);		/* gone: no disconnect, the QP and MR vanish */
	conn_free(&a);
	CHECK(admin_open(&a) == 0 && prop_set_cc_en(&a) == 0,
	      "after a host vanished with writes in flight, a new controller comes up");
	conn_free(&a);
}

/* Post the capsule of 64 bytes at sqe as a SEND, unsignaled. */
static int post_capsule(struct conn *c, void *sqe)
{
	struct ibv_sge sge = { (uintptr_t)sqe, 64, c->mr->lkey };
	struct ibv_send_wr wr = { .wr_id = 1000, .sg_list = &sge, .num_sge = 1,
				  .opcode = IBV_WR_SEND }, *bad;

	return ibv_post_send(c->id->qp, &wr, &bad);
}

/* Wait for the next response; returns its status (15:1) with the CID in
 * *cid, or -1 after BAD_TIMEOUT_MS or a failed completion. */
static int next_cqe(struct conn *c, uint16_t *cid)
{
	uint64_t end = now_ms() + BAD_TIMEOUT_MS;
	struct ibv_wc wc;

	while (now_ms() < end) {
		int n = ibv_poll_cq(c->cq, 1, &wc);

		if (n <= 0 || (wc.status == IBV_WC_SUCCESS && wc.wr_id == 1000))
			continue;
		if (wc.status != IBV_WC_SUCCESS)
			return -1;
		struct nvme_cqe *q = (void *)conn_cqe(c, wc.wr_id);
		struct ibv_sge rs = { (uintptr_t)q, 16, c->mr->lkey };
		struct ibv_recv_wr rw = { .wr_id = wc.wr_id, .sg_list = &rs, .num_sge = 1 }, *rb;
		int st = le16toh(q->status) >> 1;

		*cid = le16toh(q->cid);
		ibv_post_recv(c->id->qp, &rw, &rb);
		return st;
	}
	return -1;
}

/* Admin queue: an AER parks with CID 5; Identify with CID 5 is taken. */
static void test_aer_cid(struct conn *a)
{
	struct nvme_sqe *s = (void *)(conn_cmd(a) + 8192);
	int st;

	memset(s, 0, 64);
	s->opcode = NVME_ADM_ASYNC_EVENT;
	s->cid = htole16(5);
	CHECK(post_capsule(a, s) == 0, "an AER with CID 5 posted");
	st = identify(a, keyed(a, conn_data(a), 4096, a->mr->rkey), 0);	/* CID 0 */
	CHECK_EQ_U(st, 0, "Identify (CID 0) beside the AER");
	s = (void *)conn_cmd(a);
	memset(s, 0, 64);
	s->opcode = NVME_ADM_IDENTIFY;
	s->cid = htole16(5);
	s->cdw10 = htole32(NVME_CNS_CTRL);
	s->dptr = keyed(a, conn_data(a), 4096, a->mr->rkey);
	st = exec(a, 0, &(struct nvme_cqe){ 0 });
	CHECK_EQ_U(st, 0, "Identify reusing the outstanding AER's CID 5: taken, as on TCP");
}

/*
 * I/O queue: a 128 KiB write (CID 9, fetched by RDMA READ) and, in the
 * same post, a Flush with CID 9. The Flush arrives while the write's data
 * is still coming: Command ID Conflict; then the write completes.
 */
static void test_dup_cid(struct conn *io)
{
	struct nvme_sqe *w = (void *)conn_cmd(io), *f = (void *)(conn_cmd(io) + 64);
	struct ibv_sge sge[2] = { { (uintptr_t)w, 64, io->mr->lkey },
				  { (uintptr_t)f, 64, io->mr->lkey } };
	struct ibv_send_wr wr[2] = {
		{ .wr_id = 1000, .sg_list = &sge[0], .num_sge = 1, .opcode = IBV_WR_SEND, .next = &wr[1] },
		{ .wr_id = 1000, .sg_list = &sge[1], .num_sge = 1, .opcode = IBV_WR_SEND } }, *bad;
	uint16_t cid1 = 0, cid2 = 0;
	int st1, st2;

	memset(w, 0, 128);
	w->opcode = NVME_CMD_WRITE;
	w->cid = htole16(9);
	w->nsid = htole32(1);
	w->cdw12 = htole32(255);			/* 256 blocks of 512 */
	w->dptr = keyed(io, conn_data(io), 131072, io->mr->rkey);
	f->opcode = NVME_CMD_FLUSH;
	f->cid = htole16(9);
	f->nsid = htole32(1);
	CHECK(ibv_post_send(io->id->qp, &wr[0], &bad) == 0, "write and Flush, both CID 9, posted");
	st1 = next_cqe(io, &cid1);
	st2 = next_cqe(io, &cid2);
	CHECK(st1 == (NVME_SC_CID_CONFLICT | NVME_STATUS_DNR) && cid1 == 9,
	      "the Flush with the write's CID: Command ID Conflict, DNR (got 0x%x cid %u)", st1, cid1);
	CHECK(st2 == 0 && cid2 == 9, "the write itself succeeds (got 0x%x cid %u)", st2, cid2);
}

static void test_cids(void)
{
	struct conn a, io;
	struct nvme_rdma_cm_req req = cm_req(1, 32, 31);
	int ok = admin_open(&a) == 0 && prop_set_cc_en(&a) == 0;

	CHECK(ok, "admin queue for the CID checks");
	if (ok)
		test_aer_cid(&a);
	ok = ok && conn_open(&io, &req, sizeof(req)) == 0 && do_connect(&io, 1, 31, a.cntlid) == 0;
	CHECK(ok, "I/O queue 1 connected");
	if (ok)
		test_dup_cid(&io);
	conn_free(&io);
	conn_free(&a);
}

/* A 64 KiB read or write (opc) of LBAs lba.. in the capsule at s, its data
 * through a Last Segment of BAD_MSDBD keyed descriptors of 8 KiB each
 * over our buffer at p: 8 RDMA READs or WRITEs for the target. */
static void sqe_segments(struct conn *c, struct nvme_sqe *s, uint8_t opc, uint16_t cid,
			 uint32_t lba, uint8_t *p)
{
	memset(s, 0, 64);
	s->opcode = opc;
	s->cid = htole16(cid);
	s->nsid = htole32(1);
	s->cdw10 = htole32(lba);
	s->cdw12 = htole32(127);		/* 128 blocks of 512 */
	s->dptr = (struct nvme_sgl){ .addr = 0, .length = htole32(BAD_MSDBD * 16),
				     .type = NVME_SGL_TYPE_LAST_SEGMENT << 4 | NVME_SGL_SUBTYPE_OFFSET };
	for (int i = 0; i < BAD_MSDBD; i++) {
		struct nvme_sgl k = keyed(c, p + i * 8192, 8192, c->mr->rkey);

		memcpy((uint8_t *)s + 64 + i * 16, &k, 16);
	}
}

/* Post the capsules at s[0] and s[1] (stride 256 bytes, 64 + 16 * MSDBD
 * long each) and wait for both responses; true if both succeeded. */
static bool two_segments(struct conn *c, uint8_t *s, const char *what)
{
	uint16_t cid[2] = { 0, 0 };
	int st[2] = { -1, -1 };
	bool posted = true;

	for (int i = 0; i < 2; i++) {
		struct ibv_sge sge = { (uintptr_t)(s + i * 256), 64 + 16 * BAD_MSDBD, c->mr->lkey };
		struct ibv_send_wr wr = { .wr_id = 1000, .sg_list = &sge, .num_sge = 1,
					  .opcode = IBV_WR_SEND }, *bad;

		posted = posted && ibv_post_send(c->id->qp, &wr, &bad) == 0;
	}
	for (int i = 0; posted && i < 2; i++)
		st[i] = next_cqe(c, &cid[i]);
	CHECK(st[0] == 0 && st[1] == 0 && cid[0] + cid[1] == 1,
	      "two %s of %u descriptors on a 2-entry queue: both succeed (status 0x%x 0x%x, "
	      "cid %u %u)", what, BAD_MSDBD, st[0], st[1], cid[0], cid[1]);
	return st[0] == 0 && st[1] == 0;
}

/*
 * The target's send queue is counted, not sized for the worst case: an
 * I/O queue of 2 entries gets MSDBD + 1 = 9 entries, one whole chain.
 * Two 64 KiB writes through BAD_MSDBD keyed descriptors each (8 RDMA
 * READs), then two such reads (8 RDMA WRITEs and a SEND): the second of
 * each pair finds the send queue short and must wait for the first,
 * never fail. What is read back must be what was written.
 */
static void test_sq_wait(void)
{
	struct conn a, io;
	struct nvme_rdma_cm_req req = cm_req(1, 2, 1);
	int ok = admin_open(&a) == 0 && prop_set_cc_en(&a) == 0;

	ok = ok && conn_open(&io, &req, sizeof(req)) == 0 && do_connect(&io, 1, 1, a.cntlid) == 0;
	CHECK(ok, "admin and an I/O queue of 2 entries connected");
	if (ok) {
		uint8_t *cmd = conn_cmd(&io), *src = conn_data(&io), *dst = src + 131072;

		for (int i = 0; i < 131072; i++)
			src[i] = (uint8_t)(i * 7 + i / 8192);
		memset(dst, 0, 131072);
		for (int i = 0; i < 2; i++)
			sqe_segments(&io, (void *)(cmd + i * 256), NVME_CMD_WRITE, i, i * 128,
				     src + i * 65536);
		ok = two_segments(&io, cmd, "writes");
		for (int i = 0; ok && i < 2; i++)
			sqe_segments(&io, (void *)(cmd + i * 256), NVME_CMD_READ, i, i * 128,
				     dst + i * 65536);
		ok = ok && two_segments(&io, cmd, "reads");
		CHECK(ok && memcmp(src, dst, 131072) == 0, "the 128 KiB read back is what was written");
	}
	conn_free(&io);
	conn_free(&a);
}

/* Wait up to ms for a CM event on c; returns its type, or -1. */
static int cm_next(struct conn *c, int ms)
{
	struct pollfd pfd = { c->ch->fd, POLLIN, 0 };
	struct rdma_cm_event *ev;
	int type;

	if (poll(&pfd, 1, ms) != 1 || rdma_get_cm_event(c->ch, &ev))
		return -1;
	type = ev->event;
	rdma_ack_cm_event(ev);
	return type;
}

/* A "Name:   N kB" line of the target's /proc status, in KiB; -1 if
 * there is none. */
static long proc_kib(const char *name)
{
	char path[64], line[128];
	size_t n = strlen(name);
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", g_target_pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == ':')
			kib = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return kib;
}

/* BAD_PER_HOST I/O queues of 128 entries that never send Connect, one
 * more refused, then the target's deadline disconnects them all. While
 * they wait, each may pin BAD_PRE_PIN at most: its receives for Connect
 * and its responses, no data buffers; and its RSS may grow BAD_PRE_RSS
 * at most: the verbs queues and the slots. */
static void test_never_connect(void)
{
	static struct conn idle[BAD_PER_HOST];
	struct nvme_rdma_cm_req req = cm_req(1, 128, 127);
	long pin0, rss0, pin, rss;
	struct conn extra;
	uint64_t t0 = now_ms();
	int opened = 0, gone = 0, rc;

	/* The earlier tests' queues and pool buffers go within a few seconds
	 * (the pool gives back what was idle for 1 s): wait for that, so that
	 * what we count is these queues' alone. */
	while (g_target_pid && proc_kib("VmPin") > 0 && now_ms() - t0 < 5000)
		poll(NULL, 0, 100);
	pin0 = proc_kib("VmPin"), rss0 = proc_kib("VmRSS");
	t0 = now_ms();

	for (int i = 0; i < BAD_PER_HOST; i++)
		opened += conn_open(&idle[i], &req, sizeof(req)) == 0;
	CHECK(opened == BAD_PER_HOST, "%d of %d queues that never send Connect accepted", opened,
	      BAD_PER_HOST);
	if (g_target_pid) {
		pin = proc_kib("VmPin"), rss = proc_kib("VmRSS");
		CHECK(pin0 >= 0 && pin >= 0 && (pin - pin0) * 1024 <= (long)BAD_PRE_PIN * opened,
		      "before Connect, %d queues of 128 entries pin %ld KiB (%ld KiB each, at most "
		      "%d); RSS grew %ld KiB", opened, pin - pin0, opened ? (pin - pin0) / opened : 0,
		      BAD_PRE_PIN >> 10, rss - rss0);
		CHECK(rss0 >= 0 && rss >= 0 && (rss - rss0) * 1024 <= (long)BAD_PRE_RSS * opened,
		      "before Connect, %d queues of 128 entries grow RSS %ld KiB (%ld KiB each, at "
		      "most %d)", opened, rss - rss0, opened ? (rss - rss0) / opened : 0,
		      BAD_PRE_RSS >> 10);
	}
	rc = conn_open(&extra, &req, sizeof(req));
	CHECK(rc == 1 && extra.rej == NVME_RDMA_CM_NO_RSC,
	      "one more from the same address: REJ no resources (rc %d, status %d, %llu ms in)",
	      rc, extra.rej, (unsigned long long)(now_ms() - t0));
	conn_free(&extra);
	for (int i = 0; i < BAD_PER_HOST; i++)
		gone += cm_next(&idle[i], BAD_CONNECT_MS + 5000 - (int)(now_ms() - t0)) ==
			RDMA_CM_EVENT_DISCONNECTED;
	CHECK(gone == BAD_PER_HOST, "%d of %d disconnected by the target after %llu ms "
	      "(--connect-timeout %d)", gone, BAD_PER_HOST, (unsigned long long)(now_ms() - t0),
	      BAD_CONNECT_MS);
	CHECK(now_ms() - t0 >= BAD_CONNECT_MS, "not before the deadline");
	for (int i = 0; i < BAD_PER_HOST; i++)
		conn_free(&idle[i]);
	CHECK(admin_open(&extra) == 0, "then a host that sends Connect gets in");
	conn_free(&extra);
}

/* The CM-level refusals first: each is a REQ that must be rejected with
 * the status for the field that is wrong [RDMA-1.0c §3.3]. The limits are
 * the target's: 32 admin entries, MAXCMD 128 per I/O queue, a receive
 * queue at least as deep as the send queue. Two bytes of private data
 * arrive zero-padded by the CM, so the target reads HSQSIZE 0. */
int main(int argc, char **argv)
{
	struct nvme_rdma_cm_req r;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: rdma_bad ADDR PORT SUBNQN [TARGET_PID]\n");
		return 2;
	}
	g_addr = argv[1], g_port = argv[2], g_nqn = argv[3];
	g_target_pid = argc == 5 ? strtol(argv[4], NULL, 10) : 0;
	setvbuf(stdout, NULL, _IOLBF, 0);

	r = cm_req(0, 32, 31);
	r.recfmt = htole16(1);
	check_rej("RECFMT 1", &r, sizeof(r), NVME_RDMA_CM_INVALID_RECFMT);
	r = cm_req(65, 128, 127);
	check_rej("QID 65", &r, sizeof(r), NVME_RDMA_CM_INVALID_QID);
	r = cm_req(0, 64, 63);
	check_rej("admin HSQSIZE 63 (64 entries, limit 32)", &r, sizeof(r), NVME_RDMA_CM_INVALID_HSQSIZE);
	r = cm_req(1, 1024, 1023);
	check_rej("I/O HSQSIZE 1023 (limit MAXCMD 128)", &r, sizeof(r), NVME_RDMA_CM_INVALID_HSQSIZE);
	r = cm_req(1, 16, 31);
	check_rej("HRQSIZE 16 below the 32-entry SQ", &r, sizeof(r), NVME_RDMA_CM_INVALID_HRQSIZE);
	r = cm_req(0, 32, 31);
	check_rej("2 bytes of private data (padded: HSQSIZE 0)", &r, 2, NVME_RDMA_CM_INVALID_HSQSIZE);

	test_admin_errors();
	test_vanish();
	test_cids();
	test_sq_wait();
	test_never_connect();
	return test_done("rdma_bad");
}
