/*
 * nvmf_test.c - unit tests of the target core: nvmf.c, subsys.c, admin.c.
 *
 * The core and bdev.c are compiled in whole, so namespaces sit on the real
 * ram (and null) backends. What they need from main.c is stubbed: the log,
 * the trace and a clock the tests move by hand (keep-alive expiry). The
 * transport is a fake that records what the core asks of it:
 *
 *   fetch_data  "an R2T would go out now": the test fills r->data and
 *               calls nvmf_req_data_ready() itself
 *   complete    the CQE, xfer_len and the data a read sends back
 *   close       counted; then the queue is let go (nvmf_queue_closed), as
 *               tcp.c does
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
 *   6. Features                               [BASE-2.0c §5.27]
 *   7. Keep Alive                             [BASE-2.0c §3.9, §5.25]
 *   8. Asynchronous events                    [BASE-2.0c §5.2]
 *   9. Abort                                  [BASE-2.0c §5.1]
 *  10. I/O commands, SQHD                     [NVM-1.0c §3; BASE-2.0c §4.6]
 *  11. Live configuration: ports, namespaces, hosts, referrals (subsys.c)
 *
 * Build: make tests/nvmf_test. V=1 in the environment shows the target's
 * log lines as "# ..." comments.
 */
#include "../nvmf.c"
#include "../subsys.c"
#include "../admin.c"
#include "../bdev.c"
#include "../pcie_nvme.c"	/* bdev.c dispatches nvme: and sim: to it */
#include "../pcie_vfio.c"
#include "../sim/sim.c"
#include "../sim/admin.c"
#include "../auth.c"	/* Connect asks it whether a host must authenticate */
#include "../trace.c"	/* the names of commands in log lines */
#include "test.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <netinet/in.h>
#include <stdarg.h>

/* ==================================================================== */
/* Stubs of main.c: the clock (test.h stands in for log and trace)    */
/* ==================================================================== */

static uint64_t g_now_ms = 1000000;	/* the clock: tests move it */

void pdu_hexdump(const char *what, const void *buf, size_t len)
{
	(void)what, (void)buf, (void)len;
}

uint64_t nvmf_now_ms(void)
{
	return g_now_ms;
}

/* Live configuration (nvmf_subsys_listen) reaches for the reactors and
 * the TCP listener: no reactors run here, and listening is pretended. */
struct nvmf_reactor *g_reactors;
int g_nr_reactors;

void nvmf_reactor_unwatch(struct nvmf_reactor *r, struct nvmf_poller *p)
{
	(void)r, (void)p;
}

int tcp_listen(struct nvmf_listener *l, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	l->poller.fd = 1000;	/* any fd >= 0 means "listening" */
	return 0;
}

void tcp_unlisten(struct nvmf_listener *l)
{
	l->poller.fd = -1;
}

#ifndef NVMF_NO_RDMA		/* else nvmf.h has its "not built" inlines */
int rdma_port_listen(struct nvmf_listener *l, char *err, size_t errlen)
{
	snprintf(err, errlen, "no RDMA in the unit test (%s)", l->traddr);
	return -EOPNOTSUPP;
}

void rdma_port_unlisten(struct nvmf_listener *l)
{
	l->poller.fd = -1;
}
#endif

/* ==================================================================== */
/* The fake transport                                                  */
/* ==================================================================== */

/* One completion as the transport would have sent it. */
struct cpl {
	struct nvmf_req *r;
	struct nvme_cqe cqe;
	uint32_t xfer_len;
	bool none;			/* no completion came */
};

/* Only the latest NR_CPL completions are kept: a test looks at the one it
 * just caused (cpl_of), never at history. NR_SLOTS is more than any test
 * keeps in flight at once; AERs parked by the core hold theirs. */
#define NR_CPL		64
#define NR_SLOTS	16

static struct cpl g_cpl[NR_CPL];	/* ring of the latest completions */
static unsigned g_nr_cpl;		/* completions so far */
static struct cpl g_none = { .none = true, .cqe.status = 0xffff };
static uint8_t g_out[NVMF_MAX_DATA];	/* the data of the latest completion */
static unsigned g_nr_fetch, g_nr_close;
static struct nvmf_req *g_fetched;	/* the request of the latest R2T */

/* Command slots, each with a static 128 KiB data buffer. A slot is busy
 * from submission until the core completes it (AERs stay parked). */
static struct nvmf_req g_slot[NR_SLOTS];
static uint8_t g_slot_buf[NR_SLOTS][NVMF_MAX_DATA];
static bool g_slot_busy[NR_SLOTS];

/* The target starts receiving on a new queue; the fake has no socket. */
static void fake_start(struct nvmf_queue *q)
{
	(void)q;
}

/* The core wants a write's data from the host (an R2T on TCP, an RDMA
 * READ on RDMA). Record which request asked; submit_r2t() answers it. */
static void fake_fetch_data(struct nvmf_req *r)
{
	g_nr_fetch++;
	g_fetched = r;
}

/* The core answers a command: keep the CQE and a copy of the data a read
 * would carry back, and free the slot as a transport would once sent. */
static void fake_complete(struct nvmf_req *r)
{
	struct cpl *c = &g_cpl[g_nr_cpl++ % NR_CPL];
	size_t n = r->xfer_len < sizeof(g_out) ? r->xfer_len : sizeof(g_out);

	c->r = r;
	c->cqe = r->cqe;
	c->xfer_len = r->xfer_len;
	c->none = false;
	if (r->xfer == XFER_C2H)
		memcpy(g_out, r->data, n);
	g_slot_busy[r - g_slot] = false;
}

/* Like tcp_queue_close(): mark the queue, then let the core have it back. */
static void fake_close(struct nvmf_queue *q)
{
	if (q->closing)
		return;
	q->closing = true;
	g_nr_close++;
	nvmf_queue_closed(q);
}

static const struct nvmf_transport_ops fake_ops = {
	.name = "fake",
	.trtype = NVMF_TRTYPE_TCP,
	.start = fake_start,
	.fetch_data = fake_fetch_data,
	.complete = fake_complete,
	.close = fake_close,
};

/* The reactor every fake queue is on: auth.c's DH worker wakes it
 * through its eventfd when a key is made (auth_exec waits for that). */
static struct nvmf_reactor g_fake_reactor = { .wake.fd = -1 };

/* A new connection whose local address is 127.0.0.5. */
static struct nvmf_queue *q_new(void)
{
	static int n;
	struct nvmf_queue *q = calloc(1, sizeof(*q));
	struct sockaddr_in *sin = (struct sockaddr_in *)&q->local;

	q->ops = &fake_ops;
	if (g_fake_reactor.wake.fd < 0)
		g_fake_reactor.wake.fd = eventfd(0, EFD_NONBLOCK);
	q->reactor = &g_fake_reactor;
	q->max_data = NVMF_MAX_DATA;
	q->max_icd = NVMF_ADMIN_ICD;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(4420);
	inet_pton(AF_INET, "127.0.0.5", &sin->sin_addr);
	snprintf(q->peer, sizeof(q->peer), "127.0.0.1:%d", 50000 + n++);
	return q;
}

/* Close q as the transport would (if the core has not already) and free it. */
static void q_free(struct nvmf_queue *q)
{
	if (!q)
		return;
	fake_close(q);
	free(q);
}

/* A free command slot on q, zeroed. Running out is a bug in the test
 * (a command the core never completed), so it stops the run at once. */
static struct nvmf_req *slot_get(struct nvmf_queue *q)
{
	for (int i = 0; i < NR_SLOTS; i++) {
		if (!g_slot_busy[i]) {
			g_slot_busy[i] = true;
			memset(&g_slot[i], 0, sizeof(g_slot[i]));
			g_slot[i].q = q;
			g_slot[i].data = g_slot_buf[i];
			return &g_slot[i];
		}
	}
	fprintf(stderr, "nvmf_test: out of command slots\n");
	exit(2);
}

/* Slots the core still holds: parked AERs, commands waiting for data. */
static int slots_busy(void)
{
	int n = 0;

	for (int i = 0; i < NR_SLOTS; i++)
		n += g_slot_busy[i];
	return n;
}

/* The completion of r since completion number since, or &g_none. */
static struct cpl *cpl_of(struct nvmf_req *r, unsigned since)
{
	for (unsigned i = g_nr_cpl; i > since && g_nr_cpl - i < NR_CPL; i--)
		if (g_cpl[(i - 1) % NR_CPL].r == r)
			return &g_cpl[(i - 1) % NR_CPL];
	return &g_none;
}

static struct nvmf_req *g_last_req;	/* the request of the latest submit */

/*
 * Submit a 64-byte command on q with data_len bytes of data. For a
 * command that writes, data comes in the capsule (icd_len = data_len);
 * for one that reads, data_len is the host's buffer. Returns the
 * completion, or &g_none when the command is parked or waits for data.
 */
static struct cpl *submit(struct nvmf_queue *q, const void *sqe, const void *data,
			  uint32_t data_len)
{
	struct nvmf_req *r = slot_get(q);
	unsigned since = g_nr_cpl;

	memcpy(&r->sqe, sqe, sizeof(r->sqe));
	r->data_len = data_len;
	if (data) {
		memcpy(r->data, data, data_len);
		r->icd_len = data_len;
		r->sqe.dptr.type = NVME_SGL_TYPE_DATA_BLOCK << 4 | NVME_SGL_SUBTYPE_OFFSET;
	} else {
		memset(r->data, 0xa5, NVMF_MAX_DATA);	/* what the core must overwrite */
		r->sqe.dptr.type = NVME_SGL_TYPE_TRANSPORT_DATA_BLOCK << 4 | NVME_SGL_SUBTYPE_TRANSPORT;
	}
	r->sqe.dptr.length = htole32(data_len);
	g_last_req = r;
	nvmf_req_exec(r);
	return cpl_of(r, since);
}

/* Submit a write whose data the target must fetch (R2T). Checks that
 * fetch_data was asked for, supplies the data and returns the completion. */
static struct cpl *submit_r2t(struct nvmf_queue *q, const void *sqe, const void *data,
			      uint32_t len)
{
	unsigned fetches = g_nr_fetch, since = g_nr_cpl;
	struct cpl *c = submit(q, sqe, NULL, len);
	struct nvmf_req *r = g_last_req;

	if (!c->none || g_nr_fetch != fetches + 1 || g_fetched != r)
		return c;		/* rejected before any R2T */
	memcpy(r->data, data, len);
	nvmf_req_data_ready(r);
	return cpl_of(r, since);
}

/* The CQE's status field without the phase tag: SCT, SC, and DNR on top
 * [BASE-2.0c Fig. 92]. Tests compare it with NVME_SC_x | DNR, because a
 * host retries a command whose DNR is clear, so DNR is part of the answer. */
static uint16_t st(const struct cpl *c)
{
	return le16toh(c->cqe.status) >> 1;	/* above the phase tag */
}

/* Command specific DW0: the CNTLID after Connect, IPO/IATTR after a
 * refused Connect, a property's value, a feature's value. */
static uint32_t dw0(const struct cpl *c)
{
	return le32toh(c->cqe.dw0);
}

#define DNR NVME_STATUS_DNR

/* ==================================================================== */
/* Building commands                                                   */
/* ==================================================================== */

static uint16_t g_cid = 0x100;

/* An SQE as a Fabrics host builds it: PSDT says SGL, because a Fabrics
 * command never describes its data with PRPs. Each gets a new CID so a
 * completion can be matched to its command. */
static struct nvme_sqe sqe_new(uint8_t opc, uint32_t nsid, uint32_t cdw10, uint32_t cdw11)
{
	struct nvme_sqe s;

	memset(&s, 0, sizeof(s));
	s.opcode = opc;
	s.flags = NVME_PSDT_SGL_MPTR_CONTIG << NVME_SQE_PSDT_SHIFT;
	s.cid = htole16(g_cid++);
	s.nsid = htole32(nsid);
	s.cdw10 = htole32(cdw10);
	s.cdw11 = htole32(cdw11);
	return s;
}

/* The Connect SQE [BASE-2.0c Fig. 546]; its 1024 bytes of data (host and
 * subsystem NQN, CNTLID) come from connect_data(). */
static struct nvmf_connect_cmd connect_cmd(uint16_t qid, uint16_t sqsize, uint8_t cattr,
					   uint32_t kato)
{
	struct nvmf_connect_cmd c;

	memset(&c, 0, sizeof(c));
	c.opcode = NVME_FABRICS_OPCODE;
	c.cid = htole16(g_cid++);
	c.fctype = NVMF_FCTYPE_CONNECT;
	c.qid = htole16(qid);
	c.sqsize = htole16(sqsize);
	c.cattr = cattr;
	c.kato = htole32(kato);
	return c;
}

/* A host ID derived from the host NQN, so each host has its own. */
static void host_id(const char *hostnqn, uint8_t id[16])
{
	uint64_t h = nvmf_hash(0xcbf29ce484222325ull, hostnqn, strlen(hostnqn));

	memcpy(id, &h, 8);
	h = nvmf_hash(h, "id", 2);
	memcpy(id + 8, &h, 8);
}

static struct nvmf_connect_data connect_data(uint16_t cntlid, const char *subnqn,
					     const char *hostnqn)
{
	struct nvmf_connect_data d;

	memset(&d, 0, sizeof(d));
	host_id(hostnqn, d.hostid);
	d.cntlid = htole16(cntlid);
	snprintf(d.subnqn, sizeof(d.subnqn), "%s", subnqn);
	snprintf(d.hostnqn, sizeof(d.hostnqn), "%s", hostnqn);
	return d;
}

/* Connect with every field chosen by the caller, data in the capsule. */
static struct cpl *connect_ex(struct nvmf_queue *q, uint16_t qid, uint16_t sqsize, uint8_t cattr,
			      uint32_t kato, uint16_t cntlid, const char *subnqn, const char *hostnqn)
{
	struct nvmf_connect_cmd c = connect_cmd(qid, sqsize, cattr, kato);
	struct nvmf_connect_data d = connect_data(cntlid, subnqn, hostnqn);

	return submit(q, &c, &d, sizeof(d));
}

/* The usual admin Connect: QID 0, the admin queue's size, CNTLID FFFFh
 * ("any controller": the dynamic model [BASE-2.0c §3.3.1.2]). */
static struct cpl *connect_admin(struct nvmf_queue *q, const char *subnqn, const char *hostnqn,
				 uint32_t kato)
{
	return connect_ex(q, 0, NVMF_ADMIN_QSIZE - 1, 0, kato, NVMF_CNTLID_DYNAMIC, subnqn, hostnqn);
}

/* Property Get and Set [BASE-2.0c §6.5, §6.6]: the Fabrics stand-in for
 * reading and writing controller registers. wide sets ATTRIB to 8 bytes,
 * which CAP needs and CC, CSTS and VS refuse. */
static struct cpl *prop_get(struct nvmf_queue *q, uint32_t ofst, bool wide)
{
	struct nvmf_prop_cmd p;

	memset(&p, 0, sizeof(p));
	p.opcode = NVME_FABRICS_OPCODE;
	p.cid = htole16(g_cid++);
	p.fctype = NVMF_FCTYPE_PROP_GET;
	p.attrib = wide ? 1 : 0;
	p.ofst = htole32(ofst);
	return submit(q, &p, NULL, 0);
}

static struct cpl *prop_set(struct nvmf_queue *q, uint32_t ofst, uint64_t value, bool wide)
{
	struct nvmf_prop_cmd p;

	memset(&p, 0, sizeof(p));
	p.opcode = NVME_FABRICS_OPCODE;
	p.cid = htole16(g_cid++);
	p.fctype = NVMF_FCTYPE_PROP_SET;
	p.attrib = wide ? 1 : 0;
	p.ofst = htole32(ofst);
	p.value = htole64(value);
	return submit(q, &p, NULL, 0);
}

/* CC as the Linux host writes it: EN, CSS NVM, MPS 4 KiB, IOSQES 6, IOCQES 4. */
#define CC_ENABLE (NVME_CC_EN | 6u << NVME_CC_IOSQES_SHIFT | 4u << NVME_CC_IOCQES_SHIFT)

static struct cpl *identify(struct nvmf_queue *q, uint8_t cns, uint32_t nsid, uint8_t csi)
{
	struct nvme_sqe s = sqe_new(NVME_ADM_IDENTIFY, nsid, cns, (uint32_t)csi << 24);

	return submit(q, &s, NULL, NVME_IDENTIFY_DATA_SIZE);
}

/* Get Log Page of len bytes at byte offset off: NUMD split over NUMDL
 * (CDW10 31:16) and NUMDU (CDW11 15:0), the offset over LPOL/LPOU. */
static struct nvme_sqe sqe_get_log(uint8_t lid, uint32_t nsid, bool rae, uint32_t numd,
				   uint64_t off)
{
	uint32_t n0 = numd - 1;
	struct nvme_sqe s = sqe_new(NVME_ADM_GET_LOG_PAGE, nsid,
				    lid | (rae ? 1u << 15 : 0) | (n0 & 0xffff) << 16, n0 >> 16);

	s.cdw12 = htole32((uint32_t)off);
	s.cdw13 = htole32((uint32_t)(off >> 32));
	return s;
}

static struct cpl *get_log(struct nvmf_queue *q, uint8_t lid, uint32_t nsid, bool rae,
			   uint32_t len, uint64_t off)
{
	struct nvme_sqe s = sqe_get_log(lid, nsid, rae, len / 4, off);

	return submit(q, &s, NULL, len);
}

/* Set and Get Features with the value in CDW11 [BASE-2.0c §5.27]; sel is
 * Get Features' SEL: current, default, saved, or supported capabilities. */
static struct cpl *set_feat(struct nvmf_queue *q, uint8_t fid, uint32_t cdw11)
{
	struct nvme_sqe s = sqe_new(NVME_ADM_SET_FEATURES, 0, fid, cdw11);

	return submit(q, &s, NULL, 0);
}

static struct cpl *get_feat(struct nvmf_queue *q, uint8_t fid, uint8_t sel, uint32_t cdw11)
{
	struct nvme_sqe s = sqe_new(NVME_ADM_GET_FEATURES, 0, fid | (uint32_t)sel << 8, cdw11);

	return submit(q, &s, NULL, 0);
}

/* Any admin command that carries no data (Keep Alive, Abort, AER). */
static struct cpl *admin_cmd(struct nvmf_queue *q, uint8_t opc, uint32_t cdw10)
{
	struct nvme_sqe s = sqe_new(opc, 0, cdw10, 0);

	return submit(q, &s, NULL, 0);
}

/* Read, Write, Compare, Write Zeroes: nlb is a count (the SQE holds it
 * 0's based). */
static struct nvme_sqe sqe_rw(uint8_t opc, uint32_t nsid, uint64_t slba, uint32_t nlb)
{
	struct nvme_sqe s = sqe_new(opc, nsid, (uint32_t)slba, (uint32_t)(slba >> 32));

	s.cdw12 = htole32((nlb - 1) & NVME_RW_NLB_MASK);
	return s;
}

/* A read of nlb blocks of bs bytes, and a write whose data the target
 * fetches (R2T): the path a host takes for anything above the in-capsule
 * size. */
static struct cpl *io_read(struct nvmf_queue *q, uint32_t nsid, uint64_t slba, uint32_t nlb,
			   uint32_t bs)
{
	struct nvme_sqe s = sqe_rw(NVME_CMD_READ, nsid, slba, nlb);

	return submit(q, &s, NULL, nlb * bs);
}

static struct cpl *io_write(struct nvmf_queue *q, uint32_t nsid, uint64_t slba, uint32_t nlb,
			    uint32_t bs, const void *data)
{
	struct nvme_sqe s = sqe_rw(NVME_CMD_WRITE, nsid, slba, nlb);

	return submit_r2t(q, &s, data, nlb * bs);
}

/* ==================================================================== */
/* The configuration under test                                        */
/* ==================================================================== */

/*
 * Five subsystems, each for one kind of test, so that one test's changes
 * (a namespace added, a counter moved) never change another's expected
 * values. Two hosts: HOSTA may use every subsystem, HOSTB all but S2,
 * which is what the allow-list and discovery-filter tests need.
 */
#define NQN_S1		"nqn.2026-01.io.nvmf.test:s1"		/* ns1 ram 512 B, ns2 ram 4 KiB */
#define NQN_S2		"nqn.2026-01.io.nvmf.test:restricted"	/* HOSTA only */
#define NQN_S3		"nqn.2026-01.io.nvmf.test:smart"	/* its own counters */
#define NQN_S4		"nqn.2026-01.io.nvmf.test:events"	/* namespaces come and go */
#define NQN_S5		"nqn.2026-01.io.nvmf.test:late"		/* added while running */
#define HOSTA		"nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555"
#define HOSTB		"nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

#define NS1_BLOCKS	(64u << 20 >> 9)	/* ram:64M, 512-byte blocks */
#define NS2_BLOCKS	(16u << 20 >> 12)	/* ram:16M:4096 */

static struct nvmf_subsys *g_s1, *g_s2, *g_s3, *g_s4;
static struct nvmf_listener *g_l_io, *g_l_disc, *g_l_fixed;

/* The helpers below build the configuration with the same calls main.c
 * and the RPC methods use. A failure here is a broken setup, not a failed
 * rule, so they stop the run instead of counting a CHECK. */
static struct nvmf_bdev *bdev_new(const char *spec)
{
	struct nvmf_bdev *b;
	char err[256];

	if (bdev_create(spec, &b, err, sizeof(err))) {
		fprintf(stderr, "nvmf_test: %s\n", err);
		exit(2);
	}
	return b;
}

static struct nvmf_subsys *subsys_new(const char *nqn)
{
	char err[256];
	struct nvmf_subsys *s = nvmf_subsys_add(nqn, err, sizeof(err));

	if (!s) {
		fprintf(stderr, "nvmf_test: %s\n", err);
		exit(2);
	}
	return s;
}

static void ns_add(struct nvmf_subsys *s, const char *spec)
{
	char err[256];

	if (nvmf_subsys_add_ns(s, bdev_new(spec), err, sizeof(err))) {
		fprintf(stderr, "nvmf_test: %s\n", err);
		exit(2);
	}
}

/* A listener, linked at the end of g_listeners as main.c does it. */
static struct nvmf_listener *listener_add(uint8_t adrfam, const char *traddr, const char *trsvcid,
					  bool discovery_only)
{
	static uint16_t portid;
	struct nvmf_listener *l = calloc(1, sizeof(*l)), **pp;

	l->trtype = NVMF_TRTYPE_TCP;
	l->adrfam = adrfam;
	snprintf(l->traddr, sizeof(l->traddr), "%s", traddr);
	snprintf(l->trsvcid, sizeof(l->trsvcid), "%s", trsvcid);
	l->portid = ++portid;
	l->discovery_only = discovery_only;
	for (pp = &g_listeners; *pp; pp = &(*pp)->next)
		;
	*pp = l;
	return l;
}

static void listener_remove(struct nvmf_listener *l)
{
	struct nvmf_listener **pp;

	for (pp = &g_listeners; *pp && *pp != l; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = l->next;
	free(l);
}

/*
 * The configuration every test starts from. Three listeners: a wildcard
 * I/O port (its discovery entries carry the address the host reached), a
 * discovery-only port (8009, where an NVM subsystem must not be
 * reachable), and a port on a fixed address that only subsystems told to
 * listen there use.
 */
static void setup(void)
{
	nvmf_init();
	g_s1 = subsys_new(NQN_S1);
	ns_add(g_s1, "ram:64M");
	ns_add(g_s1, "ram:16M:4096");
	g_s2 = subsys_new(NQN_S2);
	ns_add(g_s2, "ram:1M");
	nvmf_subsys_add_host(g_s2, HOSTA);
	g_s3 = subsys_new(NQN_S3);
	ns_add(g_s3, "ram:4M");
	g_s4 = subsys_new(NQN_S4);
	ns_add(g_s4, "null:1M");
	g_l_io = listener_add(NVMF_ADRFAM_IPV4, "0.0.0.0", "4420", false);
	g_l_disc = listener_add(NVMF_ADRFAM_IPV4, "0.0.0.0", "8009", true);
	g_l_fixed = listener_add(NVMF_ADRFAM_IPV4, "192.0.2.1", "4420", false);
}

static void teardown(void)
{
	while (g_listeners)
		listener_remove(g_listeners);
	nvmf_fini();
}

/* Connect an admin queue and enable the controller. */
static struct nvmf_queue *ctrl_up(const char *subnqn, const char *hostnqn, uint32_t kato)
{
	struct nvmf_queue *q = q_new();

	if (st(connect_admin(q, subnqn, hostnqn, kato)) || st(prop_set(q, NVME_REG_CC, CC_ENABLE, false)))
		printf("# bring-up of a controller on %s failed\n", subnqn);
	return q;
}

/* Connect I/O queue qid of the controller behind admin queue aq. */
static struct nvmf_queue *ioq_up(struct nvmf_queue *aq, uint16_t qid, uint16_t sqsize,
				 uint8_t cattr, struct cpl **cp)
{
	struct nvmf_queue *q = q_new();
	struct cpl *c = connect_ex(q, qid, sqsize, cattr, 0, aq->ctrl->cntlid,
				   aq->ctrl->subsys->nqn, aq->ctrl->hostnqn);

	if (cp)
		*cp = c;
	return q;
}

/* A field of len bytes that holds s and then spaces [BASE-2.0c §1.5]. */
static bool space_padded(const char *field, size_t len, const char *s)
{
	size_t n = strlen(s);

	if (memcmp(field, s, n))
		return false;
	for (size_t i = n; i < len; i++)
		if (field[i] != ' ')
			return false;
	return true;
}

/* The low 64 bits of a 128-bit little-endian counter (the SMART log's
 * Data Units Read/Written); the tests never count past 2^64. */
static uint64_t u128_lo(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

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
/* A whole discovery log read in pieces: room for DISC_BIG subsystems on
 * a few listeners, far more than one command (MDTS) carries. */
static uint8_t g_disc[4 << 20];

/* Read the discovery log as libnvme does: header with RAE=1, entries in
 * 4 KiB pieces at LPOL/LPOU, the header again. Returns numrec, or -1. */
static int disc_read_paged(struct nvmf_queue *q, uint64_t *genctr1, uint64_t *genctr2)
{
	struct nvmf_disc_log_hdr h;
	uint64_t n;
	struct cpl *c;

	c = get_log(q, NVME_LOG_DISC, 0, true, sizeof(h), 0);
	if (st(c))
		return -1;
	memcpy(&h, g_out, sizeof(h));
	*genctr1 = le64toh(h.genctr);
	n = le64toh(h.numrec);
	memcpy(g_disc, &h, sizeof(h));
	if ((n + 1) * 1024 > sizeof(g_disc))
		return -1;
	for (uint64_t off = 0; off < n * 1024; off += 4096) {
		uint32_t len = n * 1024 - off < 4096 ? n * 1024 - off : 4096;

		c = get_log(q, NVME_LOG_DISC, 0, true, len, sizeof(h) + off);
		if (st(c))
			return -1;
		memcpy(g_disc + sizeof(h) + off, g_out, len);
	}
	c = get_log(q, NVME_LOG_DISC, 0, false, sizeof(h), 0);
	if (st(c))
		return -1;
	memcpy(&h, g_out, sizeof(h));
	*genctr2 = le64toh(h.genctr);
	return (int)n;
}

static struct nvmf_disc_log_entry *disc_entry(const uint8_t *log, int i)
{
	return (struct nvmf_disc_log_entry *)(log + 1024 + (size_t)i * 1024);
}

/* Count entries for listener l with subtype t (0: any). */
static int disc_count(const uint8_t *log, int n, const struct nvmf_listener *l, uint8_t t,
		      const char *nqn)
{
	int k = 0;

	for (int i = 0; i < n; i++) {
		struct nvmf_disc_log_entry *e = disc_entry(log, i);

		if ((!l || le16toh(e->portid) == l->portid) && (!t || e->subtype == t) &&
		    (!nqn || !strcmp(e->subnqn, nqn)))
			k++;
	}
	return k;
}

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

/* ==================================================================== */
/* 6. Features [BASE-2.0c §5.27]                                       */
/* ==================================================================== */

/*
 * Set/Get Features, one feature at a time [BASE-2.0c §5.27.1]: a value
 * that is accepted must read back (Get after Set), a value the target
 * cannot honour is refused with Invalid Field rather than silently
 * ignored, and SEL 3 tells the truth about what is changeable. Number of
 * Queues grants at most what Connect later accepts, so the two agree.
 */
static void test_features(void)
{
	struct nvmf_queue *a = ctrl_up(NQN_S1, HOSTA, 0), *d;
	struct nvme_sqe s;
	struct cpl *c;
	uint8_t hostid[16];

	c = set_feat(a, NVME_FEAT_ARBITRATION, 0x03020103);
	CHECK_EQ_U(st(c), 0, "Set Features Arbitration succeeds [BASE-2.0c §5.27.1.1]");
	CHECK_EQ_U(dw0(get_feat(a, NVME_FEAT_ARBITRATION, 0, 0)), 0x03020103,
		   "Get Features Arbitration returns the value set [BASE-2.0c §5.27.1.1]");
	c = set_feat(a, NVME_FEAT_POWER_MGMT, 1);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR,
		   "Set Features Power Management PS 1 (only PS 0 exists, NPSS 0) -> Invalid Field [BASE-2.0c §5.27.1.2]");
	c = set_feat(a, NVME_FEAT_POWER_MGMT, 0);
	CHECK_EQ_U(st(c), 0, "Set Features Power Management PS 0 succeeds [BASE-2.0c §5.27.1.2]");

	/* Temperature Threshold keeps two values (over and under, chosen by
	 * THSEL in CDW11 21:20); 157h is 343 K, the WCTEMP this target reports. */
	c = get_feat(a, NVME_FEAT_TEMP_THRESH, 0, 0);
	CHECK_EQ_U(dw0(c) & 0xffff, 0x157, "Temperature Threshold: the over threshold starts at WCTEMP [BASE-2.0c §5.27.1.3]");
	c = set_feat(a, NVME_FEAT_TEMP_THRESH, 0x160);
	CHECK(st(c) == 0 && (dw0(get_feat(a, NVME_FEAT_TEMP_THRESH, 0, 0)) & 0xffff) == 0x160,
	      "Temperature Threshold: set and get the over-temperature threshold [BASE-2.0c §5.27.1.3]");
	c = set_feat(a, NVME_FEAT_TEMP_THRESH, 0x100 | 1u << 20);
	CHECK(st(c) == 0 && (dw0(get_feat(a, NVME_FEAT_TEMP_THRESH, 0, 1u << 20)) & 0xffff) == 0x100 &&
	      (dw0(get_feat(a, NVME_FEAT_TEMP_THRESH, 0, 0)) & 0xffff) == 0x160,
	      "Temperature Threshold: THSEL 1 sets the under threshold apart from the over one [BASE-2.0c Fig. 321]");
	c = set_feat(a, NVME_FEAT_TEMP_THRESH, 0x100 | 1u << 16);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR,
		   "Temperature Threshold: TMPSEL 1 (no such sensor) -> Invalid Field [BASE-2.0c Fig. 321]");
	c = set_feat(a, NVME_FEAT_TEMP_THRESH, 0x100 | 2u << 20);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR, "Temperature Threshold: THSEL 2 (reserved) -> Invalid Field [BASE-2.0c Fig. 321]");

	c = set_feat(a, NVME_FEAT_ERR_RECOVERY, 1u << 16 | 10);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR,
		   "Error Recovery: DULBE without deallocated-block errors (NSFEAT bit 2 = 0) -> Invalid Field [BASE-2.0c §5.27.1.4]");
	c = set_feat(a, NVME_FEAT_ERR_RECOVERY, 10);
	CHECK(st(c) == 0 && dw0(get_feat(a, NVME_FEAT_ERR_RECOVERY, 0, 0)) == 10,
	      "Error Recovery: TLER set and read back [BASE-2.0c §5.27.1.4]");
	c = set_feat(a, NVME_FEAT_VOLATILE_WC, 1);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR,
		   "Volatile Write Cache: WCE 1 with no volatile cache (VWC 0) -> Invalid Field [BASE-2.0c §5.27.1.5]");
	CHECK_EQ_U(dw0(get_feat(a, NVME_FEAT_VOLATILE_WC, 0, 0)), 0, "Volatile Write Cache: WCE reads 0 [BASE-2.0c §5.27.1.5]");

	c = set_feat(a, NVME_FEAT_NUM_QUEUES, 0xffff);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR, "Number of Queues: NSQR FFFFh -> Invalid Field [BASE-2.0c §5.27.1.6]");
	c = set_feat(a, NVME_FEAT_NUM_QUEUES, 0xffffu << 16);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR, "Number of Queues: NCQR FFFFh -> Invalid Field [BASE-2.0c §5.27.1.6]");
	c = set_feat(a, NVME_FEAT_NUM_QUEUES, 3 | 3u << 16);
	CHECK(st(c) == 0 && dw0(c) == (3 | 3u << 16), "Number of Queues: 4 asked, DW0 says 4 SQs and 4 CQs granted [BASE-2.0c Fig. 323]");
	c = set_feat(a, NVME_FEAT_NUM_QUEUES, 999 | 999u << 16);
	CHECK_EQ_U(dw0(c), (NVMF_MAX_IO_QUEUES - 1) * 0x10001u,
		   "Number of Queues: 1000 asked, DW0 grants at most %u [BASE-2.0c Fig. 323]", NVMF_MAX_IO_QUEUES);
	CHECK_EQ_U(dw0(get_feat(a, NVME_FEAT_NUM_QUEUES, 0, 0)), (NVMF_MAX_IO_QUEUES - 1) * 0x10001u,
		   "Number of Queues: Get returns what was granted [BASE-2.0c §5.27.1.6]");

	c = set_feat(a, NVME_FEAT_WRITE_ATOMIC, 1);
	CHECK(st(c) == 0 && dw0(get_feat(a, NVME_FEAT_WRITE_ATOMIC, 0, 0)) == 1,
	      "Write Atomicity Normal: DN set and read back [BASE-2.0c §5.27.1.8]");
	c = set_feat(a, NVME_FEAT_ASYNC_EVENT, NVME_CTRL_OAES_NS_ATTR);
	CHECK(st(c) == 0 && dw0(get_feat(a, NVME_FEAT_ASYNC_EVENT, 0, 0)) == NVME_CTRL_OAES_NS_ATTR,
	      "Asynchronous Event Configuration: bit 8 set and read back [BASE-2.0c §5.27.1.9]");
	c = set_feat(a, NVME_FEAT_KATO, 15000);
	CHECK(st(c) == 0 && dw0(get_feat(a, NVME_FEAT_KATO, 0, 0)) == 15000,
	      "Keep Alive Timer: KATO set and read back in ms [BASE-2.0c §5.27.1.12]");
	set_feat(a, NVME_FEAT_KATO, 0);

	/* Host Identifier: the 128-bit form (EXHID = 1) returns the host ID from
	 * Connect; the 64-bit form is refused, and a Fabrics host may not set it
	 * after Connect, since Connect is where it is given [BASE-2.0c §5.27.1.25]. */
	host_id(HOSTA, hostid);
	s = sqe_new(NVME_ADM_GET_FEATURES, 0, NVME_FEAT_HOST_ID, 1);
	c = submit(a, &s, NULL, 16);
	CHECK(st(c) == 0 && c->xfer_len == 16 && !memcmp(g_out, hostid, 16),
	      "Host Identifier: Get with EXHID returns the 128-bit Host ID from Connect [BASE-2.0c §5.27.1.25]");
	s = sqe_new(NVME_ADM_GET_FEATURES, 0, NVME_FEAT_HOST_ID, 0);
	c = submit(a, &s, NULL, 16);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR,
		   "Host Identifier: Get without EXHID (64-bit) on fabrics -> Invalid Field [BASE-2.0c §5.27.1.25]");
	s = sqe_new(NVME_ADM_SET_FEATURES, 0, NVME_FEAT_HOST_ID, 1);
	c = submit(a, &s, hostid, 16);
	CHECK_EQ_U(st(c), NVME_SC_CMD_SEQ_ERROR | DNR,
		   "Host Identifier: Set on fabrics (set by Connect) -> Command Sequence Error [BASE-2.0c §5.27.1.25]");

	c = get_feat(a, NVME_FEAT_TEMP_THRESH, NVME_FEAT_SEL_DEFAULT, 0);
	CHECK_EQ_U(dw0(c) & 0xffff, 0x157, "Get Features SEL 1 returns the default (over threshold WCTEMP) [BASE-2.0c Fig. 311]");
	c = get_feat(a, NVME_FEAT_KATO, NVME_FEAT_SEL_SAVED, 0);
	CHECK_EQ_U(st(c), 0, "Get Features SEL 2 (saved = default when nothing is saveable) succeeds [BASE-2.0c Fig. 311]");
	c = get_feat(a, NVME_FEAT_ARBITRATION, NVME_FEAT_SEL_SUPPORTED, 0);
	CHECK_EQ_U(dw0(c), 4, "Get Features SEL 3: Arbitration changeable, not saveable [BASE-2.0c Fig. 312]");
	c = get_feat(a, NVME_FEAT_HOST_ID, NVME_FEAT_SEL_SUPPORTED, 0);
	CHECK_EQ_U(dw0(c), 0, "Get Features SEL 3: Host Identifier neither changeable nor saveable [BASE-2.0c Fig. 312]");
	c = get_feat(a, NVME_FEAT_KATO, 4, 0);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR, "Get Features SEL 4 (reserved) -> Invalid Field [BASE-2.0c Fig. 311]");
	s = sqe_new(NVME_ADM_SET_FEATURES, 0, NVME_FEAT_ARBITRATION | 1u << 31, 0);
	c = submit(a, &s, NULL, 0);
	CHECK_EQ_U(st(c), NVME_SC_FEAT_NOT_SAVEABLE | DNR, "Set Features with SV -> Feature Identifier Not Saveable [BASE-2.0c §5.27]");
	c = set_feat(a, 0x03, 0);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR, "Set Features of an unsupported FID (03h) -> Invalid Field [BASE-2.0c §5.27]");

	d = ctrl_up(NVMF_DISC_NQN, HOSTA, 0);
	c = set_feat(d, NVME_FEAT_KATO, 30000);
	CHECK(st(c) == 0 && dw0(get_feat(d, NVME_FEAT_KATO, 0, 0)) == 30000,
	      "discovery: Keep Alive Timer feature supported [Linux host checks; BASE-2.0c §3.1.3.3]");
	set_feat(d, NVME_FEAT_KATO, 0);
	c = set_feat(d, NVME_FEAT_ASYNC_EVENT, NVME_CTRL_OAES_DISC_CHANGE);
	CHECK(st(c) == 0 && dw0(get_feat(d, NVME_FEAT_ASYNC_EVENT, 0, 0)) == NVME_CTRL_OAES_DISC_CHANGE,
	      "discovery: AEC bit 31 (log change notices) supported [Linux host checks; BASE-2.0c §3.1.3.3]");
	c = get_feat(d, NVME_FEAT_NUM_QUEUES, 0, 0);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR, "discovery: Number of Queues -> Invalid Field [BASE-2.0c §3.1.3.3]");
	c = set_feat(d, NVME_FEAT_ARBITRATION, 0);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR, "discovery: Arbitration -> Invalid Field [BASE-2.0c §3.1.3.3]");
	q_free(d);
	q_free(a);
}

/* ==================================================================== */
/* 7. Keep Alive [BASE-2.0c §3.9, §5.25]                               */
/* ==================================================================== */

/*
 * Keep Alive [BASE-2.0c §3.9]: with KATO 1000 ms a controller that hears
 * nothing for longer is torn down, its admin queue at once and each I/O
 * queue on its own tick. The clock is g_now_ms, moved by hand, so the test
 * is exact without sleeping. Traffic based keep alive (CTRATT bit 6) means
 * any command counts, which matters to a host busy with I/O that sends no
 * Keep Alive of its own.
 */
static void test_keep_alive(void)
{
	struct nvmf_queue *a = ctrl_up(NQN_S1, HOSTA, 1000), *io = ioq_up(a, 1, 31, 0, NULL);
	struct cpl *c;

	c = admin_cmd(a, NVME_ADM_KEEP_ALIVE, 0);
	CHECK_EQ_U(st(c), 0, "Keep Alive succeeds [BASE-2.0c §5.25]");
	g_now_ms += 800;
	nvmf_queue_tick(a);
	CHECK(!a->closing, "Keep Alive: 800 ms idle with KATO 1000 ms: still alive [BASE-2.0c §3.9.5]");
	admin_cmd(a, NVME_ADM_KEEP_ALIVE, 0);
	g_now_ms += 800;
	nvmf_queue_tick(a);
	nvmf_queue_tick(io);
	CHECK(!a->closing && !io->closing,
	      "Keep Alive: a Keep Alive in time restarts the timer (1600 ms since Connect) [BASE-2.0c §3.9.5]");
	/* Traffic based keep alive: I/O alone keeps the controller alive. */
	identify(a, NVME_CNS_CTRL, 0, 0);
	CHECK(le32toh(((struct nvme_id_ctrl *)(void *)g_out)->ctratt) & (1u << 6),
	      "Identify Controller sets CTRATT.TBKAS [BASE-2.0c Fig. 275]");
	for (int i = 0; i < 3; i++) {
		struct nvme_sqe f = sqe_new(NVME_CMD_FLUSH, 1, 0, 0);

		g_now_ms += 800;
		submit(io, &f, NULL, 0);
		nvmf_queue_tick(io);
		nvmf_queue_tick(a);
	}
	CHECK(!a->closing && !io->closing,
	      "Keep Alive (TBKAS): an I/O command every 800 ms keeps a KATO 1000 ms controller alive for 2400 ms [BASE-2.0c §3.9.5]");
	g_nr_close = 0;
	g_now_ms += 1500;
	nvmf_queue_tick(a);
	CHECK(a->closing && g_nr_close == 1,
	      "Keep Alive: 1500 ms idle with KATO 1000 ms -> the controller is torn down (admin queue closed) [BASE-2.0c §3.9.5]");
	CHECK(!io->closing, "Keep Alive: the I/O queue is not closed from another queue's thread [nvmf.c locking]");
	nvmf_queue_tick(io);
	CHECK(io->closing && g_nr_close == 2, "Keep Alive: the I/O queue closes on its next tick [BASE-2.0c §3.9.5]");
	q_free(io);
	q_free(a);
}

/* auth_host_run's way to the target: its Authentication Send/Receive go
 * through the queue in arg like any other command. */
static int auth_exec(void *arg, const struct nvme_sqe *sqe, void *buf, uint32_t len)
{
	bool send = ((const struct nvmf_fabrics_cmd *)sqe)->fctype == NVMF_FCTYPE_AUTH_SEND;
	unsigned since = g_nr_cpl;
	struct cpl *c = submit(arg, sqe, send ? buf : NULL, len);
	struct nvmf_req *r = g_last_req;

	/* A Send that waits for the DH worker: wait as a reactor would. */
	for (int i = 0; c->none && i < 100; i++) {
		struct pollfd p = { .fd = g_fake_reactor.wake.fd, .events = POLLIN };
		uint64_t v;

		if (poll(&p, 1, 100) == 1 && read(p.fd, &v, sizeof(v)) < 0)
			break;
		auth_reactor_poll(&g_fake_reactor);
		c = cpl_of(r, since);
	}
	if (st(c))
		return -EIO;
	if (!send)
		memcpy(buf, g_out, c->xfer_len);
	return 0;
}

/*
 * Keep Alive while a host authenticates. Until its admin queue is
 * authenticated a host can send only Authentication Send/Receive (Keep
 * Alive is refused, Authentication Required), and under emulation the
 * Linux host took longer than its 5 s KATO for the ffdhe8192 step: the
 * timer must not run then (blktests nvme/041 caught it). A host that
 * stops half way is still let go, after NVMF_AUTH_TIMEOUT_MS.
 * The secret is an untransformed one, as `nvme gen-dhchap-key` writes
 * by default (DHHC-1:00:).
 */
static void test_keep_alive_auth(void)
{
	static const char key00[] = "DHHC-1:00:wqjgEIqlcoIv0ymI0jjNVHvvB7LvFOoy8+vSZ2LdrYcAfcNu:";
	struct auth_host_io io = { .qid = 0, .hostnqn = HOSTA, .subnqn = NQN_S1, .secret = key00,
				   .exec = auth_exec };
	uint32_t groups = g_auth_dhgroups;
	struct nvmf_queue *a = q_new(), *b = q_new();
	char err[160];
	struct cpl *c;

	g_auth_dhgroups = 1u << NVMF_AUTH_FFDHE2048;	/* one quick group is enough here */
	CHECK(auth_host_set(NQN_S1, HOSTA, key00, NULL, err, sizeof(err)) == 0,
	      "a DHHC-1:00: secret (no transform) is taken for a host [BASE-2.0c §8.13.5.8]");
	c = connect_admin(a, NQN_S1, HOSTA, 1000);
	CHECK(!st(c) && (le32toh(c->cqe.dw0) & NVMF_CONNECT_AUTHREQ_ATR),
	      "Connect of a host with a secret answers AUTHREQ.ATR [BASE-2.0c Fig. 550]");
	g_now_ms += 5000;
	nvmf_queue_tick(a);
	CHECK(!a->closing, "Keep Alive: 5 s into authentication with KATO 1000 ms: the timer has not started");
	io.arg = a;
	CHECK(auth_host_run(&io) == 0 && a->authenticated,
	      "authentication with the untransformed secret succeeds after the wait");
	nvmf_queue_tick(a);
	CHECK(!a->closing, "Keep Alive: the timer starts when authentication succeeds [BASE-2.0c §3.9.5]");
	g_now_ms += 1500;
	nvmf_queue_tick(a);
	CHECK(a->closing, "Keep Alive: 1500 ms idle after authentication with KATO 1000 ms -> torn down");
	/* A host that never finishes: closed after the authentication bound. */
	connect_admin(b, NQN_S1, HOSTA, 1000);
	g_now_ms += NVMF_AUTH_TIMEOUT_MS - 1;
	nvmf_queue_tick(b);
	CHECK(!b->closing, "authentication bound: still open just before it");
	g_now_ms += 2;
	nvmf_queue_tick(b);
	CHECK(b->closing, "authentication bound: a host that stopped half way is closed");
	auth_host_remove(NQN_S1, HOSTA);
	g_auth_dhgroups = groups;
	q_free(b);
	q_free(a);
}

/* ==================================================================== */
/* 8. Asynchronous events [BASE-2.0c §5.2]                             */
/* ==================================================================== */

static struct cpl *aer(struct nvmf_queue *q)
{
	return admin_cmd(q, NVME_ADM_ASYNC_EVENT, 0);
}

/*
 * Asynchronous events [BASE-2.0c §5.2]: a host parks up to AERL + 1
 * Asynchronous Event Requests, which complete only when something happens.
 * What the group proves: one more is refused (Asynchronous Event Request
 * Limit Exceeded); a namespace change completes one AER with the Changed
 * Namespace List's LID, once, until the host reads that log (with RAE
 * clear) to re-arm it; a reset frees the parked ones; the discovery
 * controller reports a changed discovery log the same way. Without this
 * the Linux host never rescans and a new namespace stays invisible.
 */
static void test_aer(void)
{
	struct nvmf_queue *a = ctrl_up(NQN_S4, HOSTA, 0), *d;
	struct nvmf_req *parked;
	struct cpl *c;
	unsigned since;
	int busy;

	set_feat(a, NVME_FEAT_ASYNC_EVENT, NVME_CTRL_OAES_NS_ATTR);
	busy = slots_busy();
	for (int i = 0; i <= NVMF_AERL; i++)
		c = aer(a);
	CHECK(c->none && slots_busy() == busy + NVMF_AERL + 1,
	      "AER: AERL + 1 = %d requests stay outstanding [BASE-2.0c §5.2, Fig. 275 AERL]", NVMF_AERL + 1);
	c = aer(a);
	CHECK_EQ_U(st(c), NVME_SC_AER_LIMIT | DNR,
		   "AER: one more -> Asynchronous Event Request Limit Exceeded (SCT 1, SC 05h) [BASE-2.0c §5.2]");

	since = g_nr_cpl;
	ns_add(g_s4, "null:1M");	/* NSID 3 */
	CHECK_EQ_U(g_nr_cpl, since, "AER: an event is delivered on the admin queue's tick, not from the changing thread [nvmf.c locking]");
	nvmf_queue_tick(a);
	c = &g_cpl[(g_nr_cpl - 1) % NR_CPL];
	CHECK(g_nr_cpl == since + 1 && st(c) == 0 &&
	      dw0(c) == NVME_AER_DW0(NVME_AER_TYPE_NOTICE, NVME_AER_NOTICE_NS_CHANGED, NVME_LOG_CHANGED_NS),
	      "AER: namespace added -> one AER, DW0 type 2, info 00h, log 04h [BASE-2.0c Fig. 147, 151]");
	since = g_nr_cpl;
	ns_add(g_s4, "null:1M");	/* NSID 4 */
	nvmf_queue_tick(a);
	CHECK_EQ_U(g_nr_cpl, since, "AER: the notice type is masked until its log is read [BASE-2.0c §5.2.1]");
	get_log(a, NVME_LOG_CHANGED_NS, 0, true, 4096, 0);
	ns_add(g_s4, "null:1M");	/* NSID 5 */
	nvmf_queue_tick(a);
	CHECK_EQ_U(g_nr_cpl, since + 1, "AER: a read with RAE=1 keeps the notice masked [BASE-2.0c Fig. 197]");
	c = get_log(a, NVME_LOG_CHANGED_NS, 0, false, 4096, 0);
	CHECK(st(c) == 0 && le32toh(((le32 *)g_out)[0]) == 3 && le32toh(((le32 *)g_out)[1]) == 4 &&
	      le32toh(((le32 *)g_out)[2]) == 5,
	      "Changed Namespace List holds every NSID changed since it was last cleared [BASE-2.0c §5.16.1.5]");
	since = g_nr_cpl;
	ns_add(g_s4, "null:1M");	/* NSID 6 */
	nvmf_queue_tick(a);
	c = &g_cpl[(g_nr_cpl - 1) % NR_CPL];
	CHECK(g_nr_cpl == since + 1 && dw0(c) == NVME_AER_DW0(2, 0, 4),
	      "AER: after a read with RAE=0 the next change is reported again [BASE-2.0c §5.2.1]");

	since = g_nr_cpl;
	busy = slots_busy();
	q_free(a);
	CHECK(g_nr_cpl == since + NVMF_AERL - 1 && slots_busy() == busy - (NVMF_AERL - 1),
	      "AER: closing the admin queue completes the parked AERs, freeing their slots [BASE-2.0c §3.3.2.3]");
	CHECK_EQ_U(st(&g_cpl[(g_nr_cpl - 1) % NR_CPL]), NVME_SC_ABORT_SQ_DELETED,
		   "AER: parked AERs complete as Command Aborted due to SQ Deletion [BASE-2.0c Fig. 94]");

	/* after a controller reset the host may park AERL + 1 new AERs */
	a = ctrl_up(NQN_S4, HOSTA, 0);
	for (int i = 0; i <= NVMF_AERL; i++)
		aer(a);
	prop_set(a, NVME_REG_CC, 0, false);
	prop_set(a, NVME_REG_CC, CC_ENABLE, false);
	c = aer(a);
	CHECK(st(c) != (NVME_SC_AER_LIMIT | DNR),
	      "AER: a controller reset (CC.EN 1 -> 0) ends outstanding AERs, so a new one is not over the limit [BASE-2.0c §3.7.2]");
	q_free(a);

	/* the discovery controller */
	d = ctrl_up(NVMF_DISC_NQN, HOSTB, 0);
	set_feat(d, NVME_FEAT_ASYNC_EVENT, NVME_CTRL_OAES_DISC_CHANGE);
	c = aer(d);
	parked = g_last_req;
	since = g_nr_cpl;
	nvmf_disc_changed();
	nvmf_queue_tick(d);
	c = cpl_of(parked, since);
	CHECK(st(c) == 0 && dw0(c) == NVME_AER_DW0(NVME_AER_TYPE_NOTICE, NVME_AER_NOTICE_DISC_CHANGED, NVME_LOG_DISC),
	      "discovery AER: log change -> DW0 type 2, info F0h, log 70h [BASE-2.0c Fig. 151; Linux host]");
	aer(d);
	since = g_nr_cpl;
	nvmf_disc_changed();
	nvmf_queue_tick(d);
	CHECK_EQ_U(g_nr_cpl, since, "discovery AER: masked until the discovery log is read with RAE=0 [BASE-2.0c §5.2.1]");
	get_log(d, NVME_LOG_DISC, 0, false, 1024, 0);
	nvmf_disc_changed();
	nvmf_queue_tick(d);
	CHECK_EQ_U(g_nr_cpl, since + 2, "discovery AER: after the log is read the next change is reported [BASE-2.0c §5.2.1]");
	q_free(d);
}

/* ==================================================================== */
/* 9. Abort [BASE-2.0c §5.1]                                           */
/* ==================================================================== */

/*
 * Abort [BASE-2.0c §5.1]: the target may always decline ("not aborted",
 * DW0 bit 0 set), which is what it does since commands never wait in a
 * queue long enough to be caught. Create I/O SQ is a PCIe command: over
 * Fabrics queues are made by Connect, so it is Invalid Opcode.
 */
static void test_abort(void)
{
	struct nvmf_queue *a = ctrl_up(NQN_S1, HOSTA, 0);
	struct cpl *c;

	c = admin_cmd(a, NVME_ADM_ABORT, 0x1234u << 16 | 1);
	CHECK(st(c) == 0 && (dw0(c) & 1) == 1,
	      "Abort: success with DW0 bit 0 = 1, command not aborted [BASE-2.0c §5.1, Fig. 144]");
	c = admin_cmd(a, NVME_ADM_CREATE_SQ, 0);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_OPCODE | DNR, "Create I/O SQ on fabrics -> Invalid Command Opcode [BASE-2.0c §3.3.2]");
	q_free(a);
}

/* ==================================================================== */
/* 10. I/O commands [NVM-1.0c §3]                                      */
/* ==================================================================== */

/* Data is a pattern that differs in every byte and every block, so a
 * block read from the wrong LBA or a shifted copy cannot pass a memcmp. */
static uint8_t g_pat[NVMF_MAX_DATA];

static void fill_pattern(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

static bool all_zero(const uint8_t *p, size_t len)
{
	return len == 0 || (p[0] == 0 && !memcmp(p, p + 1, len - 1));
}

/* A backend that counts the flushes it is given, around the real one. */
static const struct nvmf_bdev_ops *g_real_ops;
static unsigned g_nr_flush;

static void counting_submit(struct nvmf_bdev *b, struct nvmf_req *r)
{
	if (r->bio == BIO_FLUSH)
		g_nr_flush++;
	g_real_ops->submit(b, r);
}

/* Flush of NSID FFFFFFFFh reaches every namespace with a volatile write
 * cache, and only those. */
static void test_flush_all(struct nvmf_queue *io)
{
	struct nvmf_subsys *sub = io->ctrl->subsys;
	struct nvmf_bdev_ops counting;
	struct nvme_sqe s = sqe_new(NVME_CMD_FLUSH, 0xffffffff, 0, 0);
	int nr_ns = 0;

	g_real_ops = sub->ns[0]->bdev->ops;
	counting = *g_real_ops;
	counting.submit = counting_submit;
	for (int i = 0; i < NVMF_MAX_NS; i++)
		if (sub->ns[i] && sub->ns[i]->bdev->ops == g_real_ops) {
			sub->ns[i]->bdev->ops = &counting;
			sub->ns[i]->bdev->vwc = true;
			nr_ns++;
		}
	g_nr_flush = 0;
	CHECK(st(submit(io, &s, NULL, 0)) == 0 && g_nr_flush == (unsigned)nr_ns && nr_ns > 0,
	      "Flush of NSID FFFFFFFFh flushes every namespace with a volatile write cache [NVM-1.0c §3.2.2]");
	sub->ns[0]->bdev->vwc = false;
	g_nr_flush = 0;
	CHECK_EQ_U(st(submit(io, &s, NULL, 0)) == 0 ? g_nr_flush : 99u, (unsigned)nr_ns - 1,
		   "... and skips a namespace without one");
	for (int i = 0; i < NVMF_MAX_NS; i++)
		if (sub->ns[i] && sub->ns[i]->bdev->ops == &counting) {
			sub->ns[i]->bdev->ops = g_real_ops;
			sub->ns[i]->bdev->vwc = false;
		}
}

/*
 * Reads return what writes stored, on both block sizes: a write larger
 * than the in-capsule size goes through R2T (fetch_data asked once), a
 * 4 KiB write on NSID 2 comes in the capsule (no fetch). Write Zeroes
 * zeroes exactly its blocks and not its neighbours.
 */
static void test_io_rw(struct nvmf_queue *io)
{
	struct nvme_sqe s;
	struct cpl *c;
	unsigned fetches;

	fill_pattern(g_pat, sizeof(g_pat), 1);
	fetches = g_nr_fetch;
	c = io_write(io, 1, 100, 16, 512, g_pat);
	CHECK(st(c) == 0 && g_nr_fetch == fetches + 1, "Write 16 blocks: data fetched by R2T, then success [NVM-1.0c §3.3.6]");
	c = io_read(io, 1, 100, 16, 512);
	CHECK(st(c) == 0 && c->xfer_len == 8192 && !memcmp(g_out, g_pat, 8192),
	      "Read returns what Write wrote (8 KiB at LBA 100) [NVM-1.0c §3.3.4]");
	fill_pattern(g_pat, 4096, 2);
	s = sqe_rw(NVME_CMD_WRITE, 2, 7, 1);
	fetches = g_nr_fetch;
	c = submit(io, &s, g_pat, 4096);
	CHECK(st(c) == 0 && g_nr_fetch == fetches, "Write with in-capsule data (icd_len = data_len): no R2T, success [TCP-1.0c §3.3.3]");
	c = io_read(io, 2, 7, 1, 4096);
	CHECK(st(c) == 0 && !memcmp(g_out, g_pat, 4096), "Read of a 4 KiB-block namespace returns the in-capsule write [NVM-1.0c §3.3.4]");
	c = io_read(io, 1, 0, 256, 512);
	CHECK_EQ_U(st(c), 0, "Read of exactly MDTS (256 x 512 B = 128 KiB) succeeds [BASE-2.0c Fig. 275 MDTS]");

	s = sqe_new(NVME_CMD_FLUSH, 1, 0, 0);
	CHECK_EQ_U(st(submit(io, &s, NULL, 0)), 0, "Flush succeeds [NVM-1.0c §3.3.1]");
	s = sqe_new(NVME_CMD_FLUSH, 0xffffffff, 0, 0);
	CHECK_EQ_U(st(submit(io, &s, NULL, 0)), 0, "Flush of NSID FFFFFFFFh succeeds [NVM-1.0c §3.3.1]");
	test_flush_all(io);

	fill_pattern(g_pat, 16 * 512, 3);
	io_write(io, 1, 200, 16, 512, g_pat);
	s = sqe_rw(NVME_CMD_WRITE_ZEROES, 1, 204, 4);
	c = submit(io, &s, NULL, 0);
	CHECK_EQ_U(st(c), 0, "Write Zeroes succeeds [NVM-1.0c §3.3.7]");
	c = io_read(io, 1, 200, 16, 512);
	CHECK(all_zero(g_out + 4 * 512, 4 * 512) && !memcmp(g_out, g_pat, 4 * 512) &&
	      !memcmp(g_out + 8 * 512, g_pat + 8 * 512, 8 * 512),
	      "Write Zeroes: those 4 blocks read zeroes, the neighbours keep their data [NVM-1.0c §3.3.7]");
}

/*
 * Dataset Management Deallocate [NVM-1.0c §3.3.3]: the ram backend reads
 * deallocated blocks as zeroes, so each range must be zero afterwards and
 * the blocks between ranges untouched. A range past the namespace's end
 * fails the whole command. Compare [NVM-1.0c §3.3.1] succeeds on equal
 * data and fails with Compare Failure when one bit differs.
 */
static void test_io_dsm_compare(struct nvmf_queue *io)
{
	struct nvme_dsm_range rg[3];
	struct nvme_sqe s;
	struct cpl *c;

	fill_pattern(g_pat, 64 * 512, 4);
	io_write(io, 1, 1000, 64, 512, g_pat);
	memset(rg, 0, sizeof(rg));
	rg[0].slba = htole64(1000);
	rg[0].nlb = htole32(8);
	rg[1].slba = htole64(1020);
	rg[1].nlb = htole32(16);		/* spans the 8 KiB ram page edge */
	rg[2].slba = htole64(1060);
	rg[2].nlb = htole32(2);
	s = sqe_new(NVME_CMD_DSM, 1, 2, NVME_DSM_AD);	/* NR 2 (0's based): 3 ranges */
	c = submit(io, &s, rg, sizeof(rg));
	CHECK_EQ_U(st(c), 0, "Dataset Management: deallocate 3 ranges succeeds [NVM-1.0c §3.3.3]");
	c = io_read(io, 1, 1000, 64, 512);
	CHECK(all_zero(g_out, 8 * 512) && !memcmp(g_out + 8 * 512, g_pat + 8 * 512, 12 * 512) &&
	      all_zero(g_out + 20 * 512, 16 * 512) && !memcmp(g_out + 36 * 512, g_pat + 36 * 512, 24 * 512) &&
	      all_zero(g_out + 60 * 512, 2 * 512) && !memcmp(g_out + 62 * 512, g_pat + 62 * 512, 2 * 512),
	      "Dataset Management: deallocated ranges read zeroes (DLFEAT 001b), others unchanged [NVM-1.0c Fig. 114]");
	rg[0].slba = htole64(NS1_BLOCKS - 1);
	rg[0].nlb = htole32(2);
	s = sqe_new(NVME_CMD_DSM, 1, 0, NVME_DSM_AD);
	c = submit(io, &s, rg, 16);
	CHECK_EQ_U(st(c), NVME_SC_LBA_RANGE | DNR, "Dataset Management: a range past the end -> LBA Out of Range [NVM-1.0c §3.3.3]");
	s = sqe_new(NVME_CMD_DSM, 1, 2, NVME_DSM_AD);
	c = submit(io, &s, rg, 16);
	CHECK_EQ_U(st(c), NVME_SC_SGL_INVALID_DATA | DNR,
		   "Dataset Management: data shorter than NR+1 ranges -> Data SGL Length Invalid [NVM-1.0c Fig. 41]");

	fill_pattern(g_pat, 8 * 512, 5);
	io_write(io, 1, 3000, 8, 512, g_pat);
	s = sqe_rw(NVME_CMD_COMPARE, 1, 3000, 8);
	c = submit(io, &s, g_pat, 8 * 512);
	CHECK_EQ_U(st(c), 0, "Compare with matching data succeeds [NVM-1.0c §3.3.2]");
	g_pat[4000] ^= 1;
	s = sqe_rw(NVME_CMD_COMPARE, 1, 3000, 8);
	c = submit_r2t(io, &s, g_pat, 8 * 512);
	CHECK_EQ_U(st(c), NVME_SC_COMPARE_FAILED | DNR,
		   "Compare with one bit different -> Compare Failure (SCT 2, SC 85h) [NVM-1.0c Fig. 60]");
}

/*
 * Every wrong I/O command gets its own status, and none reaches the
 * backend: LBA Out of Range for blocks past the end or an SLBA that wraps,
 * a transfer above MDTS, a data SGL that disagrees with NLB, an NSID the
 * subsystem does not have, an opcode the target does not support, and
 * admin or Fabrics commands on an I/O queue. fetches is checked so that a
 * refused write never asks the host for its data first.
 */
static void test_io_errors(struct nvmf_queue *io)
{
	struct nvme_sqe s;
	struct cpl *c;
	unsigned fetches = g_nr_fetch;

	s = sqe_rw(NVME_CMD_READ, 1, NS1_BLOCKS, 1);
	c = submit(io, &s, NULL, 512);
	CHECK_EQ_U(st(c), NVME_SC_LBA_RANGE | DNR, "Read at SLBA = NSZE -> LBA Out of Range [NVM-1.0c §3.3.4]");
	s = sqe_rw(NVME_CMD_WRITE, 1, NS1_BLOCKS - 1, 2);
	c = submit(io, &s, NULL, 1024);
	CHECK_EQ_U(st(c), NVME_SC_LBA_RANGE | DNR, "Write whose last block is past NSZE -> LBA Out of Range [NVM-1.0c §3.3.6]");
	s = sqe_rw(NVME_CMD_READ, 1, ~0ull, 2);
	c = submit(io, &s, NULL, 1024);
	CHECK_EQ_U(st(c), NVME_SC_LBA_RANGE | DNR, "Read with SLBA + NLB overflowing 64 bits -> LBA Out of Range [NVM-1.0c §3.3.4]");
	s = sqe_rw(NVME_CMD_WRITE_ZEROES, 1, NS1_BLOCKS - 2, 4);
	c = submit(io, &s, NULL, 0);
	CHECK_EQ_U(st(c), NVME_SC_LBA_RANGE | DNR, "Write Zeroes past NSZE -> LBA Out of Range [NVM-1.0c §3.3.7]");
	CHECK_EQ_U(g_nr_fetch, fetches, "no R2T for a write refused on its LBA range [TCP-1.0c §3.4]");

	s = sqe_rw(NVME_CMD_WRITE, 1, 0, 257);
	c = submit(io, &s, NULL, 257 * 512);
	CHECK(st(c) == (NVME_SC_INVALID_FIELD | DNR) && g_nr_fetch == fetches,
	      "Write of 257 x 512 B (> MDTS 128 KiB) -> Invalid Field, and no R2T [BASE-2.0c Fig. 275 MDTS]");
	s = sqe_rw(NVME_CMD_WRITE, 1, 0, 257);
	c = submit(io, &s, NULL, NVMF_MAX_DATA);
	CHECK(st(c) == (NVME_SC_INVALID_FIELD | DNR) && g_nr_fetch == fetches,
	      "Write with NLB beyond MDTS but a 128 KiB SGL -> Invalid Field, and no R2T [BASE-2.0c Fig. 275 MDTS]");
	s = sqe_rw(NVME_CMD_WRITE, 1, 0, 8);
	c = submit(io, &s, NULL, 2048);
	CHECK(st(c) == (NVME_SC_SGL_INVALID_DATA | DNR) && g_nr_fetch == fetches,
	      "Write of 8 blocks with a 2 KiB SGL -> Data SGL Length Invalid, and no R2T [BASE-2.0c Fig. 94]");
	s = sqe_rw(NVME_CMD_READ, 1, 0, 8);
	c = submit(io, &s, NULL, 8192);
	CHECK_EQ_U(st(c), NVME_SC_SGL_INVALID_DATA | DNR, "Read of 4 KiB with an 8 KiB SGL -> Data SGL Length Invalid [BASE-2.0c Fig. 94]");
	s = sqe_rw(NVME_CMD_READ, 3, 0, 1);
	c = submit(io, &s, NULL, 512);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_NS | DNR, "Read of an inactive NSID -> Invalid Namespace or Format [NVM-1.0c §3.3.4]");
	s = sqe_rw(NVME_CMD_READ, 0, 0, 1);
	c = submit(io, &s, NULL, 512);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_NS | DNR, "Read of NSID 0 -> Invalid Namespace or Format [NVM-1.0c §3.3.4]");
	s = sqe_new(0x04, 1, 0, 0);	/* Write Uncorrectable: not supported */
	c = submit(io, &s, NULL, 0);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_OPCODE | DNR, "an unsupported I/O opcode (04h) -> Invalid Command Opcode [NVM-1.0c Fig. 18]");
	s = sqe_new(NVME_ADM_IDENTIFY, 1, 1, 0);
	c = submit(io, &s, NULL, 4096);
	CHECK(st(c) != 0, "an admin opcode (Identify) on an I/O queue is refused [BASE-2.0c §3.3.2]");
	c = prop_get(io, NVME_REG_CAP, true);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_OPCODE | DNR, "Property Get on an I/O queue -> Invalid Command Opcode [BASE-2.0c §6.5]");
}

/* SQHD [BASE-2.0c Fig. 92]: the head after this command; FFFFh when the
 * host disabled SQ flow control at Connect. */
static void test_io_sqhd(struct nvmf_queue *a)
{
	struct nvmf_queue *q;
	struct nvme_sqe s;
	struct cpl *c;
	uint16_t prev, ok = 1;

	q = ioq_up(a, 2, 3, 0, &c);		/* 4 entries */
	CHECK_EQ_U(le16toh(c->cqe.sqid), 2, "CQE SQID is the I/O queue's QID [BASE-2.0c Fig. 92]");
	CHECK_EQ_U(le16toh(c->cqe.sqhd), 1,
		   "SQHD in the Connect response counts the Connect SQE itself (head 1 of 4) [BASE-2.0c Fig. 92, §6.3]");
	prev = le16toh(c->cqe.sqhd);
	for (int i = 0; i < 6; i++) {
		s = sqe_new(NVME_CMD_FLUSH, 1, 0, 0);
		c = submit(q, &s, NULL, 0);
		if (le16toh(c->cqe.sqhd) != (prev + 1) % 4 || le16toh(c->cqe.cid) != le16toh(s.cid))
			ok = 0;
		prev = le16toh(c->cqe.sqhd);
	}
	CHECK(ok, "SQHD advances by one per command, modulo SQSIZE + 1, and the CQE echoes the CID [BASE-2.0c Fig. 92]");
	q_free(q);

	q = ioq_up(a, 3, 31, NVMF_CONNECT_CATTR_SQFC_DISABLE, &c);
	CHECK_EQ_U(le16toh(c->cqe.sqhd), 0xffff, "SQ flow control disabled: Connect response SQHD FFFFh [BASE-2.0c Fig. 546 CATTR]");
	s = sqe_new(NVME_CMD_FLUSH, 1, 0, 0);
	c = submit(q, &s, NULL, 0);
	CHECK_EQ_U(le16toh(c->cqe.sqhd), 0xffff, "SQ flow control disabled: every SQHD is FFFFh [Linux host checks; BASE-2.0c Fig. 92]");
	q_free(q);
}

/* Commands the transport refuses before nvmf_req_exec (SGL form, digest of
 * in-capsule data) are answered through nvmf_req_fail(). */
static void test_io_transport_errors(struct nvmf_queue *io)
{
	struct nvme_sqe s = sqe_new(NVME_CMD_FLUSH, 1, 0, 0);
	struct nvmf_req *r;
	unsigned since;
	uint16_t head;
	struct cpl *c;

	head = le16toh(submit(io, &s, NULL, 0)->cqe.sqhd);
	r = slot_get(io);
	r->sqe = sqe_new(NVME_CMD_WRITE, 1, 0, 0);
	since = g_nr_cpl;
	nvmf_req_fail(r, NVME_SC_SGL_INVALID_TYPE);
	c = cpl_of(r, since);
	CHECK(st(c) == (NVME_SC_SGL_INVALID_TYPE | DNR) && c->cqe.cid == r->sqe.cid,
	      "transport-refused command: its status with DNR, CID echoed [BASE-2.0c Fig. 94]");
	r = slot_get(io);
	r->sqe = sqe_new(NVME_CMD_WRITE, 1, 0, 0);
	since = g_nr_cpl;
	nvmf_req_fail(r, NVME_SC_TRANSIENT_TRANSPORT);
	CHECK_EQ_U(st(cpl_of(r, since)), NVME_SC_TRANSIENT_TRANSPORT,
		   "transport-refused command: Transient Transport Error is retryable, no DNR [BASE-2.0c Fig. 94]");
	s = sqe_new(NVME_CMD_FLUSH, 1, 0, 0);
	c = submit(io, &s, NULL, 0);
	CHECK_EQ_U(le16toh(c->cqe.sqhd), (head + 3u) % io->size,
		   "SQHD counts SQEs the transport refused before nvmf_req_exec (2 of them here) [BASE-2.0c Fig. 92]");
}

/* The I/O group runs on one controller with one I/O queue of 128 entries;
 * a test that needs its own queue (SQHD) connects it beside. At the end
 * CC.EN = 0 must make the queue refuse I/O before it is closed. */
static void test_io(void)
{
	struct nvmf_queue *a = ctrl_up(NQN_S1, HOSTA, 0), *io = ioq_up(a, 1, 127, 0, NULL);

	g_trace = true;		/* format every trace line once, for the sanitizers */
	test_io_rw(io);
	g_trace = false;
	test_io_dsm_compare(io);
	test_io_errors(io);
	test_io_transport_errors(io);
	test_io_sqhd(a);
	prop_set(a, NVME_REG_CC, 0, false);
	{
		struct nvme_sqe s = sqe_rw(NVME_CMD_READ, 1, 0, 1);

		CHECK_EQ_U(st(submit(io, &s, NULL, 512)), NVME_SC_CMD_SEQ_ERROR | DNR,
			   "I/O after CC.EN 1 -> 0 -> Command Sequence Error [BASE-2.0c §3.7.2]");
	}
	q_free(io);
	q_free(a);
}

/* ==================================================================== */
/* 11. Live configuration (subsys.c; the RPC methods drive it)        */
/* ==================================================================== */

#define NQN_S6		"nqn.2026-01.io.nvmf.test:rpc"		/* made as an RPC would */

/*
 * What changes while hosts are connected [BASE-2.0c §3.1]: a subsystem
 * made at run time (as nvmf_create_subsystem does) is reachable only on
 * the ports it was told to listen on and appears in the discovery log on
 * those only; referrals appear as SUBTYPE 1 entries; a namespace removed
 * while a write waits for its data fails that write cleanly; a host taken
 * off the allow list, or a listener removed, stops new Connects but not
 * the connections already made; deleting a subsystem closes its
 * controllers first. A failure here is the kind a running target shows as
 * a crash or a host reaching what it was refused.
 */
static void test_live(void)
{
	struct nvmf_listener tmpl = { .trtype = NVMF_TRTYPE_TCP };
	struct nvmf_referral ref = { .trtype = NVMF_TRTYPE_TCP, .adrfam = NVMF_ADRFAM_IPV4 };
	struct nvmf_queue *a, *io, *d, *q;
	struct nvmf_subsys *s;
	struct nvmf_bdev *b = bdev_new("ram:1M"), *back = NULL;
	struct nvmf_req *r;
	uint64_t g1, g2, g3;
	char err[256];
	struct cpl *c;
	int n;

	s = nvmf_subsys_create(NQN_S6, "SN6", "MN6", 4, false, err, sizeof(err));
	CHECK(s != NULL, "live: a subsystem is created with SN, MN and max_namespaces");
	CHECK(nvmf_subsys_create(NQN_S6, NULL, NULL, 0, false, err, sizeof(err)) == NULL &&
	      strstr(err, "already exists"), "live: a duplicate NQN is refused, saying so");
	/* Names as nvmet and the Linux host take them: "ramdisk" is one. */
	CHECK(nvmf_subsys_create("a/b", NULL, NULL, 0, false, err, sizeof(err)) == NULL &&
	      strstr(err, "'/'"), "live: a name with '/' (no nvmet configfs name has one) is refused");
	CHECK(nvmf_subsys_create("a,b", NULL, NULL, 0, false, err, sizeof(err)) == NULL,
	      "live: a name with ',' (the Linux host's option separator) is refused");
	CHECK(nvmf_subsys_create(NVMF_DISC_NQN, NULL, NULL, 0, false, err, sizeof(err)) == NULL,
	      "live: the discovery NQN is refused as a subsystem name");
	{
		char big[224];

		memset(big, 'x', 223);
		big[223] = 0;
		CHECK(nvmf_subsys_create(big, NULL, NULL, 0, false, err, sizeof(err)) == NULL &&
		      strstr(err, "223 bytes"), "live: a 223-byte name (the host takes < 223) is refused");
		big[222] = 0;
		CHECK(nvmf_subsys_create(big, NULL, NULL, 0, false, err, sizeof(err)) != NULL &&
		      nvmf_subsys_remove(nvmf_subsys_find(big), err, sizeof(err)) == 0,
		      "live: a 222-byte name not in NQN form is served");
	}
	CHECK(nvmf_subsys_attach_ns(s, g_s1->ns[0]->bdev, 0, NULL, NULL, err, sizeof(err)) == -EBUSY,
		   "live: a bdev already serving a namespace cannot be claimed again");
	CHECK(nvmf_subsys_attach_ns(s, b, 5, NULL, NULL, err, sizeof(err)) == -EINVAL,
		   "live: an NSID above max_namespaces is refused");
	CHECK_EQ_U(nvmf_subsys_attach_ns(s, b, 2, NULL, NULL, err, sizeof(err)), 0,
		   "live: a namespace is attached at the NSID asked for");

	/* Ports: an RPC subsystem is served only where it was told to listen. */
	q = q_new();
	q->listener = g_l_io;
	c = connect_admin(q, NQN_S6, HOSTA, 0);
	CHECK_EQ_U(st(c), NVME_SC_CONNECT_INVALID_PARAM | DNR,
		   "live: Connect on a port the subsystem is not offered on -> Invalid Parameters [BASE-2.0c Fig. 549]");
	q_free(q);
	snprintf(tmpl.traddr, sizeof(tmpl.traddr), "192.0.2.1");
	snprintf(tmpl.trsvcid, sizeof(tmpl.trsvcid), "4420");
	CHECK_EQ_U(nvmf_subsys_listen(s, &tmpl, err, sizeof(err)), 0, "live: add a listener (an existing port)");
	CHECK(nvmf_subsys_listen(s, &tmpl, err, sizeof(err)) == -EEXIST,
		   "live: the same listener twice is refused");
	a = q_new();
	a->listener = g_l_fixed;
	if (st(connect_admin(a, NQN_S6, HOSTA, 0)) || st(prop_set(a, NVME_REG_CC, CC_ENABLE, false)))
		printf("# bring-up on the new port failed\n");
	CHECK(a->ctrl != NULL, "live: Connect on the port it listens on succeeds");
	io = ioq_up(a, 1, 31, 0, NULL);
	io->listener = g_l_fixed;

	/* Discovery: it appears on its port only; referrals are SUBTYPE 1. */
	d = ctrl_up(NVMF_DISC_NQN, HOSTA, 0);
	n = disc_read_paged(d, &g1, &g2);
	CHECK(disc_count(g_disc, n, g_l_fixed, NVMF_SUBTYPE_NVME, NQN_S6) == 1 &&
	      disc_count(g_disc, n, g_l_io, NVMF_SUBTYPE_NVME, NQN_S6) == 0,
	      "live: the discovery log offers the subsystem on its listener only [BASE-2.0c §5.16.1.23]");
	snprintf(ref.traddr, sizeof(ref.traddr), "192.0.2.9");
	snprintf(ref.trsvcid, sizeof(ref.trsvcid), "8009");
	snprintf(ref.subnqn, sizeof(ref.subnqn), "%s", NVMF_DISC_NQN);
	CHECK_EQ_U(nvmf_referral_add(&ref, err, sizeof(err)), 0, "live: add a referral");
	n = disc_read_paged(d, &g3, &g2);
	CHECK(disc_count(g_disc, n, NULL, NVMF_SUBTYPE_REFERRAL, NVMF_DISC_NQN) == 1 && g3 > g1,
	      "live: a referral is a SUBTYPE 1 entry and GENCTR moves [BASE-2.0c Fig. 262]");
	CHECK(nvmf_referral_add(&ref, err, sizeof(err)) == -EEXIST, "live: the same referral twice is refused");
	CHECK_EQ_U(nvmf_referral_remove(&ref, err, sizeof(err)), 0, "live: remove the referral");
	n = disc_read_paged(d, &g1, &g2);
	CHECK_EQ_U(disc_count(g_disc, n, NULL, NVMF_SUBTYPE_REFERRAL, NULL), 0, "live: the referral left the log");
	q_free(d);

	/* A write waits for its data (R2T) while its namespace is removed:
	 * when the data comes, the command fails cleanly, never touching
	 * the freed namespace. */
	{
		struct nvme_sqe sq = sqe_rw(NVME_CMD_WRITE, 2, 0, 1);
		unsigned since = g_nr_cpl;

		c = submit(io, &sq, NULL, 512);
		r = g_last_req;
		CHECK(c->none && g_fetched == r, "live: a write to the new namespace waits for its data (R2T)");
		CHECK_EQ_U(nvmf_subsys_detach_ns(s, 2, &back, err, sizeof(err)), 0, "live: remove the namespace meanwhile");
		CHECK(back == b, "live: the removed namespace's bdev is handed back, not freed");
		memset(r->data, 0x5a, 512);
		nvmf_req_data_ready(r);
		CHECK_EQ_U(st(cpl_of(r, since)), NVME_SC_INVALID_NS | DNR,
			   "live: its data arrives after the removal -> Invalid Namespace [NVM-1.0c §3.3.6]");
	}
	c = io_read(io, 2, 0, 1, 512);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_NS | DNR, "live: I/O to a removed NSID -> Invalid Namespace");
	CHECK(nvmf_subsys_detach_ns(s, 2, &back, err, sizeof(err)) == -ENOENT,
		   "live: removing it twice is refused");
	CHECK_EQ_U(nvmf_subsys_attach_ns(s, b, 0, NULL, NULL, err, sizeof(err)), 0,
		   "live: the bdev can be attached again (lowest free NSID)");
	c = io_read(io, 1, 0, 1, 512);
	CHECK_EQ_U(st(c), 0, "live: ... and read through the controller already connected");

	/* Hosts: a removed host loses new connections. */
	nvmf_subsys_allow_any(s, false);
	CHECK_EQ_U(nvmf_subsys_add_host(s, HOSTB), 0, "live: add a host");
	CHECK(nvmf_subsys_add_host(s, HOSTB) == -EEXIST, "live: the same host twice is refused");
	CHECK_EQ_U(nvmf_subsys_remove_host(s, HOSTB), 0, "live: remove the host");
	q = q_new();
	q->listener = g_l_fixed;
	c = connect_admin(q, NQN_S6, HOSTB, 0);
	CHECK_EQ_U(st(c), NVME_SC_CONNECT_INVALID_HOST | DNR,
		   "live: the removed host's new Connect -> Connect Invalid Host [BASE-2.0c Fig. 549]");
	q_free(q);
	CHECK(!a->closing, "live: controllers already connected stay");

	/* Removing the listener: no new Connects there. */
	CHECK_EQ_U(nvmf_subsys_unlisten(s, &tmpl, err, sizeof(err)), 0, "live: remove the listener");
	CHECK(nvmf_subsys_unlisten(s, &tmpl, err, sizeof(err)) == -ENOENT,
		   "live: removing it twice is refused");
	q = q_new();
	q->listener = g_l_fixed;
	nvmf_subsys_allow_any(s, true);
	c = connect_admin(q, NQN_S6, HOSTB, 0);
	CHECK_EQ_U(st(c), NVME_SC_CONNECT_INVALID_PARAM | DNR, "live: Connect on the removed listener is refused");
	q_free(q);

	/* Deleting the subsystem: its controllers go first. */
	q_free(io);
	q_free(a);
	CHECK_EQ_U(nvmf_subsys_remove(s, err, sizeof(err)), 0, "live: delete the subsystem");
	CHECK(nvmf_subsys_lookup(NQN_S6) == NULL, "live: it is gone");
	CHECK(nvmf_bdev_owner(g_s1->ns[0]->bdev, NULL) == g_s1->ns[0], "live: other subsystems keep their namespaces");
}

/* The groups run in the order of the file map, on one configuration made
 * once by setup(). Order matters where a group adds to it (namespaces on
 * S4, subsystem S5), so a group's expected counts assume the ones before. */
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
	test_features();
	test_keep_alive();
	test_keep_alive_auth();
	test_aer();
	test_abort();
	test_io();
	test_live();
	CHECK_EQ_U(slots_busy(), 0, "every command slot came back to the transport [nvmf.h transport seam]");
	teardown();
	return test_done("nvmf_test");
}
