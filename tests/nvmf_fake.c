/*
 * nvmf_fake.c - what the unit tests of the target core share; each of
 * nvmf_test.c and nvmf_io_test.c includes it first, and it is no test by
 * itself.
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
 * Then come the builders of real SQEs (from nvme.h) and the configuration
 * every test starts from: setup() and teardown().
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
/* Reading the discovery log [BASE-2.0c §5.16.1.23]                    */
/* ==================================================================== */

/* A whole discovery log read in pieces: room for nvmf_test.c's 1000
 * subsystems on a few listeners, far more than one command (MDTS)
 * carries. Live configuration reads it too. */
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
