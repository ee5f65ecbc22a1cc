/*
 * proto_test.c - protocol tests: raw PDUs against a running ./nvmf.
 *
 * Each test is one rule of the specs, or a check the Linux host makes, named
 * after it, and checks the exact answer: a completion status, a
 * C2HTermReq FES/FEI, or the bytes of a structure. The bad-input table
 * also checks, after every case, that a bystander connection opened at
 * the start still does I/O: one peer's garbage must not hurt another.
 *
 *   proto_test --> fork/exec ./nvmf target (ports picked free) --+
 *       |                                                        |
 *       +-- bystander: admin + I/O queue, write/read after each case
 *       +-- one fresh connection per case, raw bytes, expect answer
 *
 * This file is a tiny NVMe/TCP host written for testing: it can send
 * what a correct host never would. host.c is the real one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <endian.h>
#include <isa-l/crc.h>

#include "../nvmf.h"
#include "test.h"

/* One open subsystem for the data path, one with an allow list and a
 * secret for the refusals; three hosts: one allowed, one not, one that
 * must authenticate. NS_BLOCKS is the namespace target_start() makes
 * (16 MiB of 512-byte blocks), so "past the end" is a known LBA. */
#define SUBNQN		"nqn.2026-11.io.nvmf:test1"
#define LOCKED_NQN	"nqn.2026-11.io.nvmf:locked"
#define HOSTNQN		"nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555"
#define OTHER_HOSTNQN	"nqn.2014-08.org.nvmexpress:uuid:99999999-2222-3333-4444-555555555555"
#define AUTH_HOSTNQN	"nqn.2014-08.org.nvmexpress:uuid:a0a0a0a0-2222-3333-4444-555555555555"
#define AUTH_KEY	"DHHC-1:01:X7fWDXYKkGsEDDpbZ4IEfXNRzUWs5IHufbT8wdN6qp6sXokS:"
#define NS_BLOCKS	(16u * 1024 * 1024 / 512)

/* CRC32C as the target computes it (tcp.c), straight from ISA-L. */
uint32_t tcp_crc32c(const void *buf, size_t len)
{
	return ~crc32_iscsi((unsigned char *)buf, (int)len, ~0u);
}

/* The target's PID (stopped at the end, even when checks failed) and
 * its three ports: I/O, discovery, and the wildcard listener. */
static pid_t g_target = -1;
static int g_port, g_disc_port, g_wild_port;

/* ==================================================================== */
/* A raw NVMe/TCP client                                               */
/* ==================================================================== */

/* One connection as a host sees it: the socket, the digests and the
 * largest H2CData the target granted in ICResp (later PDUs must follow
 * them), the next CID, and room for the largest PDU the target may send. */
struct cl {
	int fd;
	bool hd, dd;
	uint32_t maxh2c;
	uint16_t cid;
	_Alignas(8) uint8_t pdu[256 * 1024];	/* last PDU received */
};

/* A port the kernel says is free now. Another process could take it
 * before the target binds it; target_start() then fails loudly rather
 * than testing someone else's server. */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &len);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* TCP connect to the target. The 5 s receive timeout turns a target that
 * never answers into a failed case instead of a hung test; TCP_NODELAY
 * sends each PDU at once, as the Linux host does. */
static int cl_open(struct cl *c, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = 5 };
	int one = 1;

	memset(c, 0, offsetof(struct cl, pdu));
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a))) {
		close(c->fd);
		c->fd = -1;
		return -errno;
	}
	c->cid = 1;
	return 0;
}

/* Closing is also how a case says "this host is gone": the target must
 * free the queue's QID and slots, which later cases rely on. */
static void cl_close(struct cl *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* One send() for a whole PDU: a short send would split a PDU in a way
 * the case did not mean to test (test_byte_by_byte splits on purpose).
 * MSG_NOSIGNAL: a target that closed on us must fail the case, not kill
 * the test with SIGPIPE. */
static int cl_send(struct cl *c, const void *buf, size_t len)
{
	return send(c->fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -EIO;
}

/* TCP is a byte stream: a PDU may arrive in any number of pieces, so
 * read until len bytes are in, or the receive timeout or EOF ends it. */
static int cl_recv_all(struct cl *c, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(c->fd, buf + got, len - got, 0);

		if (n == 0)
			return -ECONNRESET;
		if (n < 0)
			return -errno;
		got += n;
	}
	return 0;
}

/* Receive one PDU into c->pdu. Returns its type, or -errno (EOF is
 * -ECONNRESET, timeout -EAGAIN). */
static int cl_recv_pdu(struct cl *c)
{
	struct nvme_tcp_hdr *h = (void *)c->pdu;
	int rc = cl_recv_all(c, c->pdu, sizeof(*h));

	if (rc)
		return rc;
	if (le32toh(h->plen) > sizeof(c->pdu) || le32toh(h->plen) < sizeof(*h))
		return -EPROTO;
	rc = cl_recv_all(c, c->pdu + sizeof(*h), le32toh(h->plen) - sizeof(*h));
	return rc ? rc : h->type;
}

/* Does the connection end (EOF) within the receive timeout? */
/* After a C2HTermReq the target must close: EOF proves the queue is gone,
 * a timeout means it kept the connection of a peer it called broken. */
static bool cl_eof(struct cl *c)
{
	uint8_t b;

	return recv(c->fd, &b, 1, 0) == 0;
}

/* ICReq with the fields a bad-input case may want wrong (PFV, HPDA);
 * cl_icreq below is the correct one that also reads the answer. */
static int cl_icreq_raw(struct cl *c, uint16_t pfv, uint8_t hpda, uint8_t digest)
{
	struct nvme_tcp_icreq ic = { 0 };

	ic.hdr.type = NVME_TCP_ICREQ;
	ic.hdr.hlen = sizeof(ic);
	ic.hdr.plen = htole32(sizeof(ic));
	ic.pfv = htole16(pfv);
	ic.hpda = hpda;
	ic.digest = digest;
	return cl_send(c, &ic, sizeof(ic));
}

/* ICReq/ICResp; remembers the digests granted. Returns 0 or -EPROTO. */
static int cl_icreq(struct cl *c, uint8_t hpda, uint8_t digest)
{
	struct nvme_tcp_icresp *r = (void *)c->pdu;

	if (cl_icreq_raw(c, 0, hpda, digest) || cl_recv_pdu(c) != NVME_TCP_ICRESP)
		return -EPROTO;
	c->hd = r->digest & NVME_TCP_HDGST_ENABLE;
	c->dd = r->digest & NVME_TCP_DDGST_ENABLE;
	c->maxh2c = le32toh(r->maxh2cdata);
	return 0;
}

/* Send a PDU: header (+HDGST), optional data (+DDGST). */
/*
 * The layout every data-carrying PDU follows [TCP-1.0c §3.6.1]:
 *
 *   +-----------+-------+---------------------+-------+
 *   | CH + PSH  | HDGST |  data (from PDO)    | DDGST |
 *   |  hlen     |  4?   |  dlen               |  4?   |
 *   +-----------+-------+---------------------+-------+
 *   <------------------- PLEN ------------------------>
 *
 * The digests are there only if ICResp granted them; this host never
 * pads before PDO (HPDA 0), so PDO is hlen plus the header digest.
 */
static int cl_send_pdu(struct cl *c, void *hdr, uint32_t hlen, const void *data, uint32_t dlen)
{
	struct nvme_tcp_hdr *h = hdr;
	uint8_t buf[256 * 1024];
	uint32_t off = hlen, crc;

	h->hlen = hlen;
	h->flags |= (c->hd ? NVME_TCP_F_HDGST : 0) | (c->dd && dlen ? NVME_TCP_F_DDGST : 0);
	h->pdo = dlen ? hlen + (c->hd ? 4 : 0) : 0;
	h->plen = htole32(hlen + (c->hd ? 4 : 0) + dlen + (c->dd && dlen ? 4 : 0));
	memcpy(buf, hdr, hlen);
	if (c->hd) {
		crc = htole32(tcp_crc32c(hdr, hlen));
		memcpy(buf + off, &crc, 4);
		off += 4;
	}
	if (dlen)
		memcpy(buf + off, data, dlen);
	off += dlen;
	if (c->dd && dlen) {
		crc = htole32(tcp_crc32c(data, dlen));
		memcpy(buf + off, &crc, 4);
		off += 4;
	}
	return cl_send(c, buf, off);
}

/* The two SGL descriptors an NVMe/TCP host may use:
 * data in the capsule (offset 0 from the end of the SQE), or data the
 * transport moves later (R2T/H2CData for writes, C2HData for reads). */
static void sgl_icd(struct nvme_sqe *s, uint32_t len)
{
	s->dptr.type = NVME_SGL_TYPE_DATA_BLOCK << 4 | NVME_SGL_SUBTYPE_OFFSET;
	s->dptr.length = htole32(len);
}

static void sgl_xport(struct nvme_sqe *s, uint32_t len)
{
	s->dptr.type = NVME_SGL_TYPE_TRANSPORT_DATA_BLOCK << 4 | NVME_SGL_SUBTYPE_TRANSPORT;
	s->dptr.length = htole32(len);
}

/* A CapsuleCmd. A CID the caller left 0 gets the next one, so cases that
 * test CID reuse can set it on purpose and the rest need not care. */
static int cl_send_cmd(struct cl *c, struct nvme_sqe *sqe, const void *icd, uint32_t len)
{
	struct nvme_tcp_cmd cmd = { .hdr.type = NVME_TCP_CMD };

	if (!sqe->cid)
		sqe->cid = htole16(c->cid++);
	cmd.sqe = *sqe;
	return cl_send_pdu(c, &cmd, sizeof(cmd), icd, len);
}

/*
 * Wait for the completion of cid: C2HData goes into data, R2Ts are
 * answered from wdata in MAXH2CDATA pieces. Returns the status field
 * (with DNR), 0xffff for "connection failed", and the CQE in *cqe.
 */
static uint32_t cl_wait(struct cl *c, uint16_t cid, struct nvme_cqe *cqe, uint8_t *data,
			const uint8_t *wdata)
{
	for (;;) {
		int t = cl_recv_pdu(c);

		if (t == NVME_TCP_C2H_DATA) {
			struct nvme_tcp_data *d = (void *)c->pdu;

			memcpy(data + le32toh(d->datao), c->pdu + d->hdr.pdo, le32toh(d->datal));
			if (d->hdr.flags & NVME_TCP_F_DATA_SUCCESS) {
				memset(cqe, 0, sizeof(*cqe));
				cqe->sqhd = htole16(0xffff);
				return 0;
			}
		} else if (t == NVME_TCP_R2T) {
			struct nvme_tcp_r2t *r = (void *)c->pdu;
			uint32_t off = le32toh(r->r2to), end = off + le32toh(r->r2tl);
			uint16_t ttag = r->ttag;

			while (off < end) {
				struct nvme_tcp_data h = { .hdr.type = NVME_TCP_H2C_DATA };
				uint32_t n = end - off < c->maxh2c ? end - off : c->maxh2c;

				h.cccid = htole16(cid);
				h.ttag = ttag;
				h.datao = htole32(off);
				h.datal = htole32(n);
				if (off + n == end)
					h.hdr.flags = NVME_TCP_F_DATA_LAST;
				cl_send_pdu(c, &h, sizeof(h), wdata + off, n);
				off += n;
			}
		} else if (t == NVME_TCP_RSP) {
			*cqe = ((struct nvme_tcp_rsp *)c->pdu)->cqe;
			return le16toh(cqe->status) >> 1;
		} else {
			return 0xffff;
		}
	}
}

/* One command, start to finish. Returns the status (0xffff: no answer). */
static uint32_t cl_cmd(struct cl *c, struct nvme_sqe *sqe, const void *icd, uint32_t icd_len,
		       uint8_t *rdata, const uint8_t *wdata, struct nvme_cqe *cqe)
{
	struct nvme_cqe dummy;

	if (cl_send_cmd(c, sqe, icd, icd_len))
		return 0xffff;
	return cl_wait(c, le16toh(sqe->cid), cqe ? cqe : &dummy, rdata, wdata);
}

/* Connect with its 1 KiB of data in the capsule, as the Linux host sends
 * it. The admin queue asks for KATO 30 s, long enough that no case, on
 * however slow a machine, is ended by the keep-alive timer; I/O queues
 * carry no KATO [BASE-2.0c Fig. 546]. Returns the status; *dw0 gets the CNTLID or,
 * on a refusal, IPO and IATTR. */
static uint32_t cl_connect(struct cl *c, uint16_t qid, uint16_t sqsize, const char *subnqn,
			   const char *hostnqn, uint16_t cntlid, uint8_t cattr, uint32_t *dw0)
{
	struct nvmf_connect_cmd cmd = { .opcode = NVME_FABRICS_OPCODE, .fctype = NVMF_FCTYPE_CONNECT };
	struct nvmf_connect_data d = { 0 };
	struct nvme_cqe cqe = { 0 };
	uint32_t st;

	cmd.qid = htole16(qid);
	cmd.sqsize = htole16(sqsize);
	cmd.cattr = cattr;
	cmd.kato = htole32(qid ? 0 : 30000);
	memset(d.hostid, 0x5a, sizeof(d.hostid));
	d.cntlid = htole16(cntlid);
	snprintf(d.subnqn, sizeof(d.subnqn), "%s", subnqn);
	snprintf(d.hostnqn, sizeof(d.hostnqn), "%s", hostnqn);
	sgl_icd((struct nvme_sqe *)&cmd, sizeof(d));
	st = cl_cmd(c, (struct nvme_sqe *)&cmd, &d, sizeof(d), NULL, NULL, &cqe);
	if (dw0)
		*dw0 = le32toh(cqe.dw0);
	return st;
}

/* Property Get or Set of the register at ofst; wide is ATTRIB's 8-byte
 * size, and an 8-byte value comes back in DW0 and DW1 [BASE-2.0c §6.5]. */
static uint32_t cl_prop(struct cl *c, uint8_t fctype, uint32_t ofst, bool wide, uint64_t val,
			uint64_t *out)
{
	struct nvmf_prop_cmd p = { .opcode = NVME_FABRICS_OPCODE, .fctype = fctype };
	struct nvme_cqe cqe = { 0 };
	uint32_t st;

	p.attrib = wide;
	p.ofst = htole32(ofst);
	p.value = htole64(val);
	st = cl_cmd(c, (struct nvme_sqe *)&p, NULL, 0, NULL, NULL, &cqe);
	if (out)
		*out = le32toh(cqe.dw0) | (uint64_t)le32toh(cqe.dw1) << 32;
	return st;
}

/* CC as the Linux host writes it: EN, 64-byte SQEs, 16-byte CQEs. */
static uint32_t cl_enable(struct cl *c)
{
	return cl_prop(c, NVMF_FCTYPE_PROP_SET, NVME_REG_CC, false,
		       NVME_CC_EN | 6u << NVME_CC_IOSQES_SHIFT | 4u << NVME_CC_IOCQES_SHIFT, NULL);
}

/* Identify of any CNS: 4 KiB that the target sends back in C2HData. */
static uint32_t cl_identify(struct cl *c, uint8_t cns, uint32_t nsid, uint8_t *buf)
{
	struct nvme_sqe s = { .opcode = NVME_ADM_IDENTIFY };

	s.nsid = htole32(nsid);
	s.cdw10 = htole32(cns);
	sgl_xport(&s, 4096);
	return cl_cmd(c, &s, NULL, 0, buf, NULL, NULL);
}

/* An admin queue, enabled, on port; 0 on success. */
static int cl_admin_up(struct cl *c, int port, const char *nqn, uint16_t *cntlid)
{
	uint32_t dw0 = 0;

	if (cl_open(c, port) || cl_icreq(c, 0, 0) ||
	    cl_connect(c, 0, 31, nqn, HOSTNQN, 0xffff, 0, &dw0) || cl_enable(c))
		return -1;
	if (cntlid)
		*cntlid = dw0 & 0xffff;
	return 0;
}

/* An I/O queue of controller cntlid; 0 on success. */
static int cl_io_up(struct cl *c, int port, uint16_t cntlid, uint16_t sqsize, uint8_t digest,
		    uint8_t cattr)
{
	if (cl_open(c, port) || cl_icreq(c, 0, digest))
		return -1;
	/* Each open I/O queue needs its own QID; closed ones free theirs. */
	static uint16_t next_qid;
	next_qid = next_qid % NVMF_MAX_IO_QUEUES + 1;
	return cl_connect(c, next_qid, sqsize, SUBNQN, HOSTNQN, cntlid, cattr, NULL) ? -1 : 0;
}

/* Read or write nlb 512-byte blocks of namespace 1. icd sends a write's
 * data in the capsule; otherwise the target asks for it by R2T, and a
 * read's data comes back in C2HData, both through cl_wait(). */
static uint32_t cl_rw(struct cl *c, uint8_t opc, uint64_t slba, uint32_t nlb, void *buf, bool icd)
{
	struct nvme_sqe s = { .opcode = opc };
	uint32_t len = nlb * 512;

	s.nsid = htole32(1);
	s.cdw10 = htole32((uint32_t)slba);
	s.cdw11 = htole32(slba >> 32);
	s.cdw12 = htole32(nlb - 1);
	if (icd) {
		sgl_icd(&s, len);
		return cl_cmd(c, &s, buf, len, NULL, NULL, NULL);
	}
	sgl_xport(&s, len);
	return cl_cmd(c, &s, NULL, 0, buf, buf, NULL);
}

/* ==================================================================== */
/* The target under test                                               */
/* ==================================================================== */

/* SIGTERM, not SIGKILL: the target's orderly shutdown is itself under
 * test (under make asan a leak or a sanitizer report makes the exit
 * status non-zero, and this check fails). */
static void target_stop(void)
{
	int status;

	if (g_target <= 0)
		return;
	kill(g_target, SIGTERM);
	waitpid(g_target, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "target exits 0 on SIGTERM (clean shutdown, no sanitizer report)");
	g_target = -1;
}

/*
 * The real ./nvmf on ports the kernel picked (a fixed port would collide
 * with other targets on the machine). Two subsystems: SUBNQN open to any
 * host for the data path, LOCKED_NQN with an allow list and a host that
 * must authenticate, for the refusals. A wildcard listener checks that
 * the discovery log never hands out 0.0.0.0. The target is ready when a
 * TCP connect succeeds: the listener exists before anything is served.
 */
static void target_start(void)
{
	char l1[64], l2[64], d[16];
	struct cl c;

	g_port = free_port();
	g_disc_port = free_port();
	g_wild_port = free_port();
	snprintf(l1, sizeof(l1), "127.0.0.1:%d", g_port);
	snprintf(l2, sizeof(l2), "0.0.0.0:%d", g_wild_port);
	snprintf(d, sizeof(d), "%d", g_disc_port);
	g_target = fork();
	if (g_target == 0) {
		freopen("tests/out/proto_target.log", "w", stderr);
		freopen("/dev/null", "w", stdout);
		execl("./nvmf", "nvmf", "target", "-l", l1, "-l", l2, "-D", d,
		      "-s", SUBNQN, "--ns", "ram:16M",
		      "-s", LOCKED_NQN, "--ns", "null:1G", "--host", OTHER_HOSTNQN,
		      "--host", AUTH_HOSTNQN, "--dhchap-key", AUTH_KEY, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		if (cl_open(&c, g_port) == 0) {
			cl_close(&c);
			return;
		}
		usleep(50000);
	}
	fprintf(stderr, "target did not start; see tests/out/proto_target.log\n");
	exit(1);
}

/* ==================================================================== */
/* What a real host checks (the Linux host driver and libnvme)        */
/* ==================================================================== */

/* The first answer a host sees. Each field is one the Linux host or
 * libnvme checks before it goes on, so a wrong one means no connection
 * at all, not a subtle bug. */
static void test_icresp(void)
{
	struct nvme_tcp_icresp *r;
	static struct cl c;

	cl_open(&c, g_port);
	cl_icreq_raw(&c, 0, 0, NVME_TCP_HDGST_ENABLE | NVME_TCP_DDGST_ENABLE);
	CHECK(cl_recv_pdu(&c) == NVME_TCP_ICRESP, "ICReq answered by ICResp [TCP-1.0c §3.6.2.3]");
	r = (void *)c.pdu;
	CHECK(le32toh(r->hdr.plen) == 128 && r->hdr.hlen == 128, "ICResp hlen = plen = 128");
	CHECK(le16toh(r->pfv) == 0, "ICResp PFV 0");
	CHECK(r->cpda == 0, "ICResp CPDA 0 (the Linux host refuses others)");
	CHECK(r->digest == 3, "ICResp grants both digests when asked");
	CHECK(le32toh(r->maxh2cdata) >= 4096 && le32toh(r->maxh2cdata) % 4 == 0,
	      "MAXH2CDATA >= 4096 and a multiple of 4");
	cl_close(&c);
	cl_open(&c, g_port);
	cl_icreq_raw(&c, 0, 0, 0);
	CHECK(cl_recv_pdu(&c) == NVME_TCP_ICRESP && ((struct nvme_tcp_icresp *)c.pdu)->digest == 0,
	      "ICResp grants no digest when none asked");
	cl_close(&c);
}

/*
 * A Linux host's bring-up, step by step, with the checks it makes on the
 * way (nvme_init_ctrl and nvme_tcp): Connect gives a CNTLID, CAP says the
 * queue depth the target really accepts, CC.EN makes CSTS.RDY, and
 * Identify Controller repeats the CNTLID and has non-zero KAS, IOCCSZ,
 * IORCSZ and MAXCMD, ICDOFF 0 and SGL support. Any one wrong and the
 * kernel gives up on the controller, so this is the first thing to break.
 */
static void test_identify(void)
{
	static uint8_t buf[4096];
	struct nvme_id_ctrl *id = (void *)buf;
	static struct cl c;
	uint16_t cntlid = 0;
	uint64_t cap = 0;

	CHECK(cl_open(&c, g_port) == 0 && cl_icreq(&c, 0, 0) == 0, "connect + ICReq");
	uint32_t dw0 = 0, st = cl_connect(&c, 0, 31, SUBNQN, HOSTNQN, 0xffff, 0, &dw0);
	cntlid = dw0 & 0xffff;
	CHECK_EQ_U(st, 0, "admin Connect qid 0 sqsize 31 cntlid FFFFh succeeds");
	CHECK(cntlid != 0 && cntlid != 0xffff, "Connect answers a CNTLID in DW0");
	CHECK_EQ_U(cl_prop(&c, NVMF_FCTYPE_PROP_GET, NVME_REG_CAP, true, 0, &cap), 0, "Property Get CAP (8 bytes)");
	CHECK((cap & 0xffff) + 1 == NVMF_MAXCMD && (cap >> 37 & 1), "CAP.MQES = MAXCMD-1, CAP.CSS NVM");
	CHECK_EQ_U(cl_enable(&c), 0, "Property Set CC.EN=1");
	uint64_t csts = 0;
	cl_prop(&c, NVMF_FCTYPE_PROP_GET, NVME_REG_CSTS, false, 0, &csts);
	CHECK(csts & NVME_CSTS_RDY, "CSTS.RDY after CC.EN");
	CHECK_EQ_U(cl_identify(&c, NVME_CNS_CTRL, 0, buf), 0, "Identify Controller");
	CHECK_EQ_U(le16toh(id->cntlid), cntlid, "Identify CNTLID = Connect's");
	CHECK(le16toh(id->kas) != 0, "KAS != 0");
	CHECK(le32toh(id->ioccsz) >= 4 && le32toh(id->iorcsz) >= 1, "IOCCSZ >= 4, IORCSZ >= 1");
	CHECK(le16toh(id->maxcmd) != 0 && le16toh(id->icdoff) == 0, "MAXCMD != 0, ICDOFF 0");
	CHECK(le32toh(id->sgls) & 1, "SGLs supported");
	CHECK(!strcmp(id->subnqn, SUBNQN), "SUBNQN is the subsystem's");
	CHECK_EQ_U(cl_identify(&c, NVME_CNS_NS_DESC_LIST, 1, buf), 0, "Identify CNS 03h succeeds");
	CHECK(buf[0] == NVME_NIDT_NGUID || buf[0] == NVME_NIDT_UUID, "CNS 03h carries an NGUID/UUID");
	cl_close(&c);
}

/* Read the discovery log the way libnvme does: header with RAE, entries
 * with an offset, header again. */
static void test_discovery(int port, const char *what)
{
	static uint8_t hdr[4096], ent[8192], hdr2[4096];
	struct nvmf_disc_log_hdr *h = (void *)hdr;
	struct nvme_sqe s = { .opcode = NVME_ADM_GET_LOG_PAGE };
	static struct cl c;
	uint64_t n;
	char msg[160];

	snprintf(msg, sizeof(msg), "discovery controller answers on %s", what);
	CHECK(cl_admin_up(&c, port, NVMF_DISC_NQN, NULL) == 0, "%s", msg);
	s.cdw10 = htole32(NVME_LOG_DISC | 1u << 15 | (1024 / 4 - 1) << 16);
	sgl_xport(&s, 1024);
	CHECK_EQ_U(cl_cmd(&c, &s, NULL, 0, hdr, NULL, NULL), 0, "log 70h header, RAE=1");
	n = le64toh(h->numrec);
	CHECK(n >= 3 && n <= 8, "NUMREC counts our entries");
	memset(&s, 0, sizeof(s));
	s.opcode = NVME_ADM_GET_LOG_PAGE;
	s.cdw10 = htole32(NVME_LOG_DISC | 1u << 15 | (uint32_t)((n * 1024 / 4 - 1) & 0xffff) << 16);
	s.cdw11 = htole32((n * 1024 / 4 - 1) >> 16);
	s.cdw12 = htole32(1024);		/* LPOL: skip the header */
	sgl_xport(&s, n * 1024);
	CHECK_EQ_U(cl_cmd(&c, &s, NULL, 0, ent, NULL, NULL), 0, "log 70h entries at LPOL 1024");
	for (uint64_t i = 0; i < n; i++) {
		struct nvmf_disc_log_entry *e = (void *)(ent + i * 1024);

		if (e->subtype == NVMF_SUBTYPE_DISC_CURRENT)
			CHECK(le16toh(e->eflags) & NVMF_EFLAGS_DUPRETINFO, "discovery entry %llu has DUPRETINFO",
			      (unsigned long long)i);
		CHECK(e->treq == 0, "entry %llu: TREQ 0 for plain TCP", (unsigned long long)i);
		CHECK(strncmp(e->traddr, "0.0.0.0", 7), "entry %llu: no wildcard address", (unsigned long long)i);
	}
	memset(&s, 0, sizeof(s));
	s.opcode = NVME_ADM_GET_LOG_PAGE;
	s.cdw10 = htole32(NVME_LOG_DISC | (1024 / 4 - 1) << 16);
	sgl_xport(&s, 1024);
	CHECK_EQ_U(cl_cmd(&c, &s, NULL, 0, hdr2, NULL, NULL), 0, "log 70h header again");
	CHECK(((struct nvmf_disc_log_hdr *)hdr2)->genctr == h->genctr, "GENCTR stable between reads");
	cl_close(&c);
}

/* A listener on 0.0.0.0 must report the address the host reached it on. */
static void test_wildcard_addr(void)
{
	static uint8_t buf[8192];
	struct nvme_sqe s = { .opcode = NVME_ADM_GET_LOG_PAGE };
	static struct cl c;
	char port[8];
	bool found = false;

	snprintf(port, sizeof(port), "%d", g_wild_port);
	cl_admin_up(&c, g_wild_port, NVMF_DISC_NQN, NULL);
	s.cdw10 = htole32(NVME_LOG_DISC | (8192 / 4 - 1) << 16);
	sgl_xport(&s, 8192);
	CHECK_EQ_U(cl_cmd(&c, &s, NULL, 0, buf, NULL, NULL), 0, "discovery log over a wildcard listener");
	for (int i = 1; i < 8; i++) {
		struct nvmf_disc_log_entry *e = (void *)(buf + i * 1024);

		if (!strncmp(e->trsvcid, port, strlen(port)))
			found = !strncmp(e->traddr, "127.0.0.1 ", 10);
	}
	CHECK(found, "wildcard listener shows the connection's local address (SPDK issue 2294)");
	cl_close(&c);
}

/* Writes above MAXH2CDATA come in several H2CData PDUs; reads come back
 * in C2HData aligned to HPDA; digests both ways. */
/* The second half sends its read by hand on a queue with HPDA 31 and SQ
 * flow control disabled: the C2HData must start on a 128-byte boundary
 * ((HPDA + 1) * 4) and, with no SQHD to report, carry SUCCESS so that no
 * CapsuleResp follows [TCP-1.0c §3.6.2.8]. */
static void test_data_path(uint16_t cntlid)
{
	static uint8_t w[128 * 1024], r[128 * 1024];
	static struct cl c;

	for (size_t i = 0; i < sizeof(w); i++)
		w[i] = (uint8_t)(i * 7 + 3);
	CHECK(cl_io_up(&c, g_port, cntlid, 31, 3, 0) == 0, "I/O queue with header and data digests");
	CHECK_EQ_U(cl_rw(&c, NVME_CMD_WRITE, 100, 256, w, false), 0,
		   "128 KiB write: R2T then several H2CData PDUs");
	CHECK_EQ_U(cl_rw(&c, NVME_CMD_READ, 100, 256, r, false), 0, "128 KiB read back");
	CHECK(!memcmp(w, r, sizeof(w)), "data read back equals data written");
	CHECK_EQ_U(cl_rw(&c, NVME_CMD_WRITE, 7, 16, w + 512, true), 0, "8 KiB in-capsule write");
	CHECK_EQ_U(cl_rw(&c, NVME_CMD_READ, 7, 16, r, false), 0, "read of in-capsule write");
	CHECK(!memcmp(w + 512, r, 8192), "in-capsule data landed");
	cl_close(&c);

	cl_open(&c, g_port);
	cl_icreq(&c, 31, 0);
	cl_connect(&c, NVMF_MAX_IO_QUEUES, 31, SUBNQN, HOSTNQN, cntlid, NVMF_CONNECT_CATTR_SQFC_DISABLE, NULL);
	struct nvme_sqe s = { .opcode = NVME_CMD_READ };
	s.nsid = htole32(1);
	s.cdw10 = htole32(100);
	s.cdw12 = htole32(7);
	sgl_xport(&s, 4096);
	cl_send_cmd(&c, &s, NULL, 0);
	CHECK(cl_recv_pdu(&c) == NVME_TCP_C2H_DATA, "read answered with C2HData");
	struct nvme_tcp_data *d = (void *)c.pdu;
	CHECK(d->hdr.pdo % 128 == 0, "C2HData PDO honours HPDA 31 (128-byte alignment)");
	CHECK((d->hdr.flags & (NVME_TCP_F_DATA_SUCCESS | NVME_TCP_F_DATA_LAST)) ==
	      (NVME_TCP_F_DATA_SUCCESS | NVME_TCP_F_DATA_LAST),
	      "SQ flow control off: C2HData has SUCCESS with LAST_PDU");
	CHECK(!memcmp(c.pdu + d->hdr.pdo, w, 4096), "C2HData at PDO holds the data");
	s.opcode = NVME_CMD_FLUSH;
	s.cid = 0;
	sgl_xport(&s, 0);
	struct nvme_cqe cqe;
	CHECK_EQ_U(cl_cmd(&c, &s, NULL, 0, NULL, NULL, &cqe), 0, "Flush succeeds");
	CHECK_EQ_U(le16toh(cqe.sqhd), 0xffff, "SQ flow control off: SQHD FFFFh");
	cl_close(&c);
}

/* ==================================================================== */
/* The bad-input table                                                 */
/* ==================================================================== */

static struct cl g_by;		/* the bystander I/O queue */
static struct cl g_by_admin;
static uint16_t g_cntlid;

/* After each bad case: does the connection opened at the start still
 * write and read? A target that shares state between connections badly
 * (a global buffer, a reactor stuck on the bad peer) fails here, on the
 * case that broke it. */
static bool bystander_ok(void)
{
	static uint8_t w[4096], r[4096];
	static unsigned gen;

	memset(w, ++gen, sizeof(w));
	return cl_rw(&g_by, NVME_CMD_WRITE, 4000, 8, w, false) == 0 &&
	       cl_rw(&g_by, NVME_CMD_READ, 4000, 8, r, false) == 0 && !memcmp(w, r, sizeof(w));
}

/* A fatal error is answered with C2HTermReq naming the error (FES) and,
 * for a bad header field, the byte offset of that field (FEI), then a
 * closed connection [TCP-1.0c §3.6.2.4]: the host learns what it did
 * wrong. fei < 0: the FEI is not checked. */
static bool expect_term(struct cl *c, uint16_t fes, int fei)
{
	struct nvme_tcp_term *t = (void *)c->pdu;
	uint32_t got_fei;
	int type = cl_recv_pdu(c);

	if (type != NVME_TCP_C2H_TERM) {
		fprintf(stderr, "  expected C2HTermReq, got %d\n", type);
		return false;
	}
	memcpy(&got_fei, t->fei, 4);
	if (le16toh(t->fes) != fes || (fei >= 0 && le32toh(got_fei) != (uint32_t)fei)) {
		fprintf(stderr, "  got FES %u FEI %u, expected FES %u FEI %d\n", le16toh(t->fes),
			le32toh(got_fei), fes, fei);
		return false;
	}
	return cl_eof(c);
}

/* One bad-input case: its own verdict, then the bystander's. */
/* Each case is counted twice: its own answer, and the bystander after it,
 * so a case that answers correctly but breaks the target for others
 * still fails, and says which case did it. */
static void bad_case(const char *name, bool ok)
{
	CHECK(ok, "%s", name);
	CHECK(bystander_ok(), "  ... and the bystander connection still does I/O");
}

/* A CapsuleCmd whose common header we then corrupt with fn. */
/* The expected FEI is the offset of the field in the common header
 * [TCP-1.0c §3.6.1, Fig. 20]: 0 type, 1 flags, 2 HLEN, 3 PDO, 4 PLEN. */
static bool bad_header(void (*fn)(struct nvme_tcp_cmd *), uint16_t fes, int fei)
{
	static struct cl c;
	struct nvme_tcp_cmd cmd = { .hdr.type = NVME_TCP_CMD, .hdr.hlen = 72,
				    .hdr.plen = htole32(72) };
	bool ok;

	cl_open(&c, g_port);
	cl_icreq(&c, 0, 0);
	cmd.sqe.opcode = NVME_ADM_KEEP_ALIVE;
	fn(&cmd);
	cl_send(&c, &cmd, sizeof(cmd));
	ok = expect_term(&c, fes, fei);
	cl_close(&c);
	return ok;
}

/* The header corruptions, one field each, so a failure names the field
 * the target stopped checking. */
static void hlen_bad(struct nvme_tcp_cmd *c) { c->hdr.hlen = 70; }
static void plen_short(struct nvme_tcp_cmd *c) { c->hdr.plen = htole32(60); }
static void type_unknown(struct nvme_tcp_cmd *c) { c->hdr.type = 0x0c; }
static void type_c2h(struct nvme_tcp_cmd *c) { c->hdr.type = NVME_TCP_C2H_DATA; c->hdr.hlen = 24; c->hdr.plen = htole32(24); }
static void hdgst_flag(struct nvme_tcp_cmd *c) { c->hdr.flags = NVME_TCP_F_HDGST; }

/* A capsule whose data is larger than the 8 KiB the target takes in a
 * capsule: FES 5 (Data Transfer Limit Exceeded) at PLEN's offset, 4,
 * refused from the header, before the target buffers any of the data. */
static void bad_plen_limit(void)
{
	static uint8_t junk[16384];
	static struct cl c;
	struct nvme_tcp_cmd cmd = { .hdr.type = NVME_TCP_CMD };

	cl_open(&c, g_port);
	cl_icreq(&c, 0, 0);
	sgl_icd(&cmd.sqe, 12000);
	cl_send_pdu(&c, &cmd, sizeof(cmd), junk, 12000);	/* above 8 KiB in-capsule */
	bad_case("plen beyond the in-capsule limit -> C2HTermReq FES 5", expect_term(&c, 5, 4));
	cl_close(&c);
}

/* The connection's first PDU must be ICReq, and only the first: anything
 * else is a PDU Sequence Error (FES 2). An ICReq with a format version or
 * a header alignment the target cannot honour names the field: PFV at
 * byte 8, HPDA at byte 10 [TCP-1.0c §3.6.2.2, Fig. 26]. */
static void bad_sequence(void)
{
	static struct cl c;
	struct nvme_tcp_cmd cmd = { .hdr.type = NVME_TCP_CMD, .hdr.hlen = 72, .hdr.plen = htole32(72) };

	cl_open(&c, g_port);
	cl_send(&c, &cmd, sizeof(cmd));
	bad_case("a CapsuleCmd before ICReq -> FES 2 (PDU sequence error)", expect_term(&c, 2, -1));
	cl_close(&c);
	cl_open(&c, g_port);
	cl_icreq(&c, 0, 0);
	cl_icreq_raw(&c, 0, 0, 0);
	bad_case("a second ICReq -> FES 2", expect_term(&c, 2, -1));
	cl_close(&c);
	cl_open(&c, g_port);
	cl_icreq_raw(&c, 1, 0, 0);
	bad_case("ICReq PFV 1 -> FES 1, FEI 8 (PFV)", expect_term(&c, 1, 8));
	cl_close(&c);
	cl_open(&c, g_port);
	cl_icreq_raw(&c, 0, 32, 0);
	bad_case("ICReq HPDA 32 -> FES 1, FEI 10 (HPDA)", expect_term(&c, 1, 10));
	cl_close(&c);
}

/*
 * The two digests fail differently [TCP-1.0c §3.3.4; BASE-2.0c Fig. 94].
 * A bad header digest means the header (lengths included) cannot be
 * trusted, so the stream is lost and the connection ends (FES 3). A bad
 * data digest damages only that command's data, so it fails with
 * Transient Transport Error, DNR clear so the host retries, and the
 * queue goes on.
 */
static void bad_digests(void)
{
	static uint8_t buf[4096];
	static struct cl c;
	struct nvme_tcp_cmd cmd = { .hdr.type = NVME_TCP_CMD };
	uint8_t raw[80];

	/* Header digest: a good Keep Alive PDU with its digest flipped. */
	cl_open(&c, g_port);
	cl_icreq(&c, 0, NVME_TCP_HDGST_ENABLE | NVME_TCP_DDGST_ENABLE);
	cmd.hdr.hlen = 72;
	cmd.hdr.flags = NVME_TCP_F_HDGST;
	cmd.hdr.plen = htole32(76);
	cmd.sqe.opcode = NVME_ADM_KEEP_ALIVE;
	memcpy(raw, &cmd, 72);
	uint32_t bad = htole32(tcp_crc32c(raw, 72) ^ 1);
	memcpy(raw + 72, &bad, 4);
	cl_send(&c, raw, 76);
	bad_case("header digest mismatch -> FES 3", expect_term(&c, 3, -1));
	cl_close(&c);

	/* Data digest: not fatal; Transient Transport Error, queue lives. */
	CHECK(cl_io_up(&c, g_port, g_cntlid, 31, 3, 0) == 0, "I/O queue with digests");
	memset(&cmd, 0, sizeof(cmd));
	cmd.hdr.type = NVME_TCP_CMD;
	cmd.sqe.opcode = NVME_CMD_WRITE;
	cmd.sqe.cid = htole16(77);
	cmd.sqe.nsid = htole32(1);
	cmd.sqe.cdw12 = htole32(7);
	sgl_icd(&cmd.sqe, 4096);
	c.dd = false;			/* send the data with a digest we forge */
	memset(buf, 0xab, sizeof(buf));
	uint8_t pdu[72 + 4 + 4096 + 4];
	cmd.hdr.flags = NVME_TCP_F_HDGST | NVME_TCP_F_DDGST;
	cmd.hdr.hlen = 72;
	cmd.hdr.pdo = 76;
	cmd.hdr.plen = htole32(sizeof(pdu));
	memcpy(pdu, &cmd, 72);
	uint32_t hcrc = htole32(tcp_crc32c(pdu, 72)), dcrc = htole32(tcp_crc32c(buf, 4096) ^ 0xff);
	memcpy(pdu + 72, &hcrc, 4);
	memcpy(pdu + 76, buf, 4096);
	memcpy(pdu + 76 + 4096, &dcrc, 4);
	cl_send(&c, pdu, sizeof(pdu));
	struct nvme_cqe cqe;
	c.dd = true;
	uint32_t st = cl_wait(&c, 77, &cqe, NULL, NULL);
	bad_case("data digest mismatch -> status Transient Transport Error (22h), no DNR",
		 st == (NVME_SC_TRANSIENT_TRANSPORT));
	CHECK_EQ_U(cl_rw(&c, NVME_CMD_READ, 0, 8, buf, false), 0, "  ... and that queue still works");
	cl_close(&c);
}

/* Writes that need an R2T, to poke at H2CData. Returns the R2T's TTAG. */
static int start_r2t_write(struct cl *c, uint16_t cid, uint32_t len)
{
	struct nvme_sqe s = { .opcode = NVME_CMD_WRITE };

	s.cid = htole16(cid);
	s.nsid = htole32(1);
	s.cdw12 = htole32(len / 512 - 1);
	sgl_xport(&s, len);
	cl_send_cmd(c, &s, NULL, 0);
	if (cl_recv_pdu(c) != NVME_TCP_R2T)
		return -1;
	return le16toh(((struct nvme_tcp_r2t *)c->pdu)->ttag);
}

/*
 * Start a 16 KiB write, then answer its R2T with one H2CData whose fields
 * are off by the given amounts, and expect that C2HTermReq. TTAG and CCCID
 * must name the R2T being answered (FEI 10 and 8 are their offsets
 * [TCP-1.0c §3.6.2.7, Fig. 32]); DATAO and DATAL must stay inside it
 * (FES 4) and under MAXH2CDATA (FES 5). Without these checks a peer could write into
 * another command's buffer.
 */
static bool bad_h2c(uint16_t cccid_delta, uint16_t ttag_delta, uint32_t datao, uint32_t datal,
		    uint16_t fes, int fei)
{
	static uint8_t data[64 * 1024];
	static struct cl c;
	struct nvme_tcp_data h = { .hdr.type = NVME_TCP_H2C_DATA };
	int ttag;
	bool ok;

	cl_io_up(&c, g_port, g_cntlid, 31, 0, 0);
	ttag = start_r2t_write(&c, 40, 16384);
	h.cccid = htole16(40 + cccid_delta);
	h.ttag = htole16(ttag + ttag_delta);
	h.datao = htole32(datao);
	h.datal = htole32(datal);
	cl_send_pdu(&c, &h, sizeof(h), data, datal);
	ok = ttag >= 0 && expect_term(&c, fes, fei);
	cl_close(&c);
	return ok;
}

/*
 * Wrong I/O commands are NVMe errors, not transport errors: each gets a
 * completion with its own status and the queue stays up. DNR is set where
 * a retry would fail the same way. The SGL checks are the NVMe/TCP ones:
 * only in-capsule (offset 0) and transport data blocks are valid on TCP
 * [TCP-1.0c §3.3.3], keyed SGLs belong to RDMA.
 */
static void bad_commands(void)
{
	static uint8_t buf[256 * 1024];
	static struct cl c;
	struct nvme_sqe s;

	CHECK(cl_io_up(&c, g_port, g_cntlid, 31, 0, 0) == 0, "I/O queue for command checks");
	bad_case("LBA beyond the namespace -> LBA Out of Range (80h) + DNR",
		 cl_rw(&c, NVME_CMD_READ, NS_BLOCKS - 4, 8, buf, false) == (NVME_SC_LBA_RANGE | NVME_STATUS_DNR));
	bad_case("NLB beyond MDTS -> Invalid Field (02h) + DNR, no R2T",
		 cl_rw(&c, NVME_CMD_WRITE, 0, NVMF_TCP_MAX_IO_DEFAULT / 512 + 1, buf, false) == (NVME_SC_INVALID_FIELD | NVME_STATUS_DNR));
	memset(&s, 0, sizeof(s));
	s.opcode = NVME_CMD_READ;
	s.nsid = htole32(9);
	sgl_xport(&s, 512);
	bad_case("invalid NSID -> Invalid Namespace (0Bh) + DNR",
		 cl_cmd(&c, &s, NULL, 0, buf, NULL, NULL) == (NVME_SC_INVALID_NS | NVME_STATUS_DNR));
	memset(&s, 0, sizeof(s));
	s.opcode = 0x7e;
	s.nsid = htole32(1);
	bad_case("unknown I/O opcode -> Invalid Opcode (01h) + DNR",
		 cl_cmd(&c, &s, NULL, 0, NULL, NULL, NULL) == (NVME_SC_INVALID_OPCODE | NVME_STATUS_DNR));
	memset(&s, 0, sizeof(s));
	s.opcode = NVME_CMD_WRITE;
	s.nsid = htole32(1);
	s.dptr.type = NVME_SGL_TYPE_KEYED_DATA_BLOCK << 4;
	s.dptr.length = htole32(512);
	bad_case("keyed SGL on TCP -> SGL Descriptor Type Invalid (11h)",
		 (cl_cmd(&c, &s, NULL, 0, NULL, NULL, NULL) & 0x7ff) == NVME_SC_SGL_INVALID_TYPE);
	memset(&s, 0, sizeof(s));
	s.opcode = NVME_CMD_WRITE;
	s.nsid = htole32(1);
	sgl_icd(&s, 512);
	s.dptr.addr = htole64(16);
	bad_case("in-capsule SGL offset != 0 -> SGL Offset Invalid (16h)",
		 (cl_cmd(&c, &s, buf, 512, NULL, NULL, NULL) & 0x7ff) == NVME_SC_SGL_INVALID_OFFSET);
	memset(&s, 0, sizeof(s));
	s.opcode = NVME_CMD_READ;
	s.nsid = htole32(1);
	s.cdw12 = htole32(7);
	sgl_xport(&s, 1024);
	bad_case("SGL length != NLB * block size -> Data SGL Length Invalid (0Fh)",
		 (cl_cmd(&c, &s, NULL, 0, buf, NULL, NULL) & 0x7ff) == NVME_SC_SGL_INVALID_DATA);
	cl_close(&c);
}

/* Admin commands out of place: an opcode the target does not have, a
 * property offset that is not a register, one AER more than AERL + 1,
 * and commands before Connect or before CC.EN [BASE-2.0c §3.6.1]. */
static void bad_admin(void)
{
	static uint8_t buf[4096];
	static struct cl c;
	struct nvme_sqe s = { .opcode = 0x80 };

	cl_admin_up(&c, g_port, SUBNQN, NULL);
	bad_case("unknown admin opcode -> Invalid Opcode + DNR",
		 cl_cmd(&c, &s, NULL, 0, NULL, NULL, NULL) == (NVME_SC_INVALID_OPCODE | NVME_STATUS_DNR));
	bad_case("Property Get of an unknown offset -> Invalid Field + DNR",
		 cl_prop(&c, NVMF_FCTYPE_PROP_GET, 0x40, false, 0, NULL) == (NVME_SC_INVALID_FIELD | NVME_STATUS_DNR));
	for (int i = 0; i <= NVMF_AERL; i++) {
		memset(&s, 0, sizeof(s));
		s.opcode = NVME_ADM_ASYNC_EVENT;
		cl_send_cmd(&c, &s, NULL, 0);
	}
	memset(&s, 0, sizeof(s));
	s.opcode = NVME_ADM_ASYNC_EVENT;
	bad_case("one AER above AERL -> Asynchronous Event Request Limit Exceeded (105h)",
		 cl_cmd(&c, &s, NULL, 0, NULL, NULL, NULL) == (NVME_SC_AER_LIMIT | NVME_STATUS_DNR));
	cl_close(&c);

	cl_open(&c, g_port);
	cl_icreq(&c, 0, 0);
	bad_case("Identify before Connect -> Command Sequence Error + DNR",
		 cl_identify(&c, NVME_CNS_CTRL, 0, buf) == (NVME_SC_CMD_SEQ_ERROR | NVME_STATUS_DNR));
	cl_connect(&c, 0, 31, SUBNQN, HOSTNQN, 0xffff, 0, NULL);
	bad_case("Identify before CC.EN -> Command Sequence Error + DNR",
		 cl_identify(&c, NVME_CNS_CTRL, 0, buf) == (NVME_SC_CMD_SEQ_ERROR | NVME_STATUS_DNR));
	cl_close(&c);
}

/*
 * A host with a secret: Connect answers AUTHREQ.ATR, and until a
 * transaction succeeds every other command fails with Authentication
 * Required (191h) + DNR [BASE-2.0c §8.13]; a Connect still works on
 * another queue. auth_test.c checks the transaction's own answers.
 */
static void bad_unauthenticated(void)
{
	static uint8_t buf[4096];
	static struct cl c;
	struct nvme_sqe s = { .opcode = NVME_ADM_KEEP_ALIVE };
	uint32_t dw0 = 0;

	cl_open(&c, g_port);
	cl_icreq(&c, 0, 0);
	bad_case("Connect of a host with a secret -> success, AUTHREQ.ATR (DW0 bit 17)",
		 cl_connect(&c, 0, 31, LOCKED_NQN, AUTH_HOSTNQN, 0xffff, 0, &dw0) == 0 &&
		 (dw0 & NVMF_CONNECT_AUTHREQ_ATR));
	bad_case("Property Get before authentication -> Authentication Required + DNR",
		 cl_prop(&c, NVMF_FCTYPE_PROP_GET, NVME_REG_CAP, true, 0, NULL) ==
		 (NVME_SC_AUTH_REQUIRED | NVME_STATUS_DNR));
	bad_case("Property Set CC.EN before authentication -> Authentication Required + DNR",
		 cl_prop(&c, NVMF_FCTYPE_PROP_SET, NVME_REG_CC, false, 0x460001, NULL) ==
		 (NVME_SC_AUTH_REQUIRED | NVME_STATUS_DNR));
	bad_case("Identify before authentication -> Authentication Required + DNR",
		 cl_identify(&c, NVME_CNS_CTRL, 0, buf) == (NVME_SC_AUTH_REQUIRED | NVME_STATUS_DNR));
	bad_case("Keep Alive before authentication -> Authentication Required + DNR",
		 cl_cmd(&c, &s, NULL, 0, NULL, NULL, NULL) == (NVME_SC_AUTH_REQUIRED | NVME_STATUS_DNR));
	cl_close(&c);
	cl_open(&c, g_port);
	cl_icreq(&c, 0, 0);
	bad_case("the same host on another subsystem -> ATR too (a secret holds on every subsystem)",
		 cl_connect(&c, 0, 31, SUBNQN, AUTH_HOSTNQN, 0xffff, 0, &dw0) == 0 &&
		 (dw0 & NVMF_CONNECT_AUTHREQ_ATR));
	cl_close(&c);
}

/* Connect rejections: status, and IPO/IATTR naming the field. */
static void bad_connect_one(const char *name, uint16_t qid, uint16_t sqsize, const char *subnqn,
			    const char *hostnqn, uint16_t cntlid, uint32_t want, int ipo, int iattr)
{
	static struct cl c;
	uint32_t dw0 = 0, st;

	cl_open(&c, g_port);
	cl_icreq(&c, 0, 0);
	st = cl_connect(&c, qid, sqsize, subnqn, hostnqn, cntlid, 0, &dw0);
	bad_case(name, st == (want | NVME_STATUS_DNR) &&
		 (ipo < 0 || ((dw0 & 0xffff) == (uint32_t)ipo && ((dw0 >> 16) & 1) == (uint32_t)iattr)));
	cl_close(&c);
}

/*
 * A QID names one queue of a controller: a second Connect for a QID that
 * is already connected must be refused, not steal the first queue's
 * commands [BASE-2.0c Fig. 584: Controller Busy]. The last QID the
 * controller grants is used, so no other test's queue holds it.
 */
static void bad_connect_twice(void)
{
	static struct cl first, second;
	uint32_t st1, st2;

	cl_open(&first, g_port);
	cl_icreq(&first, 0, 0);
	st1 = cl_connect(&first, NVMF_MAX_IO_QUEUES, 31, SUBNQN, HOSTNQN, g_cntlid, 0, NULL);
	cl_open(&second, g_port);
	cl_icreq(&second, 0, 0);
	st2 = cl_connect(&second, NVMF_MAX_IO_QUEUES, 31, SUBNQN, HOSTNQN, g_cntlid, 0, NULL);
	bad_case("a second Connect for a connected QID -> Connect Controller Busy (181h) + DNR",
		 st1 == 0 && st2 == (NVME_SC_CONNECT_CTRL_BUSY | NVME_STATUS_DNR));
	cl_close(&second);
	cl_close(&first);
}

/* The Connect refusals a host can meet: each names the offending field
 * (IPO: byte offset, IATTR: in the command or in its data) so the host
 * can report it [BASE-2.0c §6.3]. */
static void bad_connects(void)
{
	static struct cl c;
	struct nvmf_connect_cmd cmd = { .opcode = NVME_FABRICS_OPCODE, .fctype = NVMF_FCTYPE_CONNECT };
	struct nvmf_connect_data d = { .cntlid = htole16(0xffff) };

	bad_connect_one("Connect to an unknown NQN -> Invalid Parameters, IPO 256 in data",
			0, 31, "nqn.2026-11.io.nvmf:nope", HOSTNQN, 0xffff,
			NVME_SC_CONNECT_INVALID_PARAM, 256, 1);
	bad_connect_one("Connect from a host not on the allow list -> Connect Invalid Host (184h)",
			0, 31, LOCKED_NQN, HOSTNQN, 0xffff, NVME_SC_CONNECT_INVALID_HOST, -1, 0);
	bad_connect_one("I/O queue Connect before an admin queue -> Invalid Parameters, IPO 16 in data",
			1, 31, SUBNQN, HOSTNQN, 0x7777, NVME_SC_CONNECT_INVALID_PARAM, 16, 1);
	bad_connect_one("I/O queue QID above the queues granted -> Invalid Parameters, IPO 42",
			NVMF_MAX_IO_QUEUES + 1, 31, SUBNQN, HOSTNQN, g_cntlid,
			NVME_SC_CONNECT_INVALID_PARAM, 42, 0);
	bad_connect_one("SQSIZE 0 -> Invalid Parameters, IPO 44", 0, 0, SUBNQN, HOSTNQN, 0xffff,
			NVME_SC_CONNECT_INVALID_PARAM, 44, 0);
	bad_connect_one("SQSIZE above MAXCMD -> Invalid Parameters, IPO 44", 1, NVMF_MAXCMD,
			SUBNQN, HOSTNQN, g_cntlid, NVME_SC_CONNECT_INVALID_PARAM, 44, 0);
	bad_connect_one("admin Connect with a static CNTLID -> Invalid Parameters, IPO 16 in data",
			0, 31, SUBNQN, HOSTNQN, 1, NVME_SC_CONNECT_INVALID_PARAM, 16, 1);
	bad_connect_twice();

	cl_open(&c, g_port);
	cl_icreq(&c, 0, 0);
	cmd.recfmt = htole16(1);
	cmd.sqsize = htole16(31);
	snprintf(d.subnqn, sizeof(d.subnqn), SUBNQN);
	snprintf(d.hostnqn, sizeof(d.hostnqn), HOSTNQN);
	sgl_icd((struct nvme_sqe *)&cmd, sizeof(d));
	bad_case("Connect RECFMT 1 -> Connect Incompatible Format (180h)",
		 cl_cmd(&c, (struct nvme_sqe *)&cmd, &d, sizeof(d), NULL, NULL, NULL) ==
		 (NVME_SC_CONNECT_FORMAT | NVME_STATUS_DNR));
	cl_close(&c);
}

/* Flow control and lifetime: more commands than the queue has slots, a
 * peer that disappears halfway through a write, a CID used twice, and a
 * host that ends the connection itself. None may cost the others. */
static void bad_flow(void)
{
	static uint8_t half[2048];
	static struct cl c;
	bool term = false;

	/* A queue of 4 entries; the 5th outstanding command breaks the rules. */
	cl_io_up(&c, g_port, g_cntlid, 3, 0, 0);
	for (int i = 0; i < 4; i++)
		start_r2t_write(&c, 100 + i, 4096);
	struct nvme_sqe s = { .opcode = NVME_CMD_FLUSH };
	s.nsid = htole32(1);
	cl_send_cmd(&c, &s, NULL, 0);
	term = expect_term(&c, 2, -1);
	bad_case("more commands than the queue holds -> FES 2", term);
	cl_close(&c);

	/* A peer that vanishes in the middle of a write's data. */
	cl_io_up(&c, g_port, g_cntlid, 31, 0, 0);
	int ttag = start_r2t_write(&c, 5, 16384);
	struct nvme_tcp_data h = { .hdr.type = NVME_TCP_H2C_DATA };
	h.cccid = htole16(5);
	h.ttag = htole16(ttag);
	h.datal = htole32(8192);
	h.hdr.hlen = 24;
	h.hdr.pdo = 24;
	h.hdr.plen = htole32(24 + 8192);
	cl_send(&c, &h, 24);
	cl_send(&c, half, sizeof(half));
	cl_close(&c);
	bad_case("a peer that vanishes mid-write does not disturb others", ttag >= 0);

	/* A second command with the CID of an outstanding one (here a write
	 * waiting for its data) [BASE-2.0c §4.2]: Command ID Conflict, and
	 * the first still completes. */
	static uint8_t w[4096];
	struct nvme_cqe cqe;
	cl_io_up(&c, g_port, g_cntlid, 31, 0, 0);
	ttag = start_r2t_write(&c, 77, 4096);
	memset(&s, 0, sizeof(s));
	s.opcode = NVME_CMD_FLUSH;
	s.cid = htole16(77);
	s.nsid = htole32(1);
	cl_send_cmd(&c, &s, NULL, 0);
	bad_case("a CID already outstanding -> Command ID Conflict (03h), no second R2T",
		 ttag >= 0 && (cl_wait(&c, 77, &cqe, NULL, NULL) & 0xff) == NVME_STATUS_SC(NVME_SC_CID_CONFLICT) &&
		 le16toh(cqe.cid) == 77);
	h.cccid = htole16(77);
	h.ttag = htole16(ttag);
	h.datal = htole32(4096);
	h.hdr.plen = htole32(24 + 4096);
	h.hdr.flags = NVME_TCP_F_DATA_LAST;
	cl_send(&c, &h, 24);
	cl_send(&c, w, sizeof(w));
	bad_case("... and the first command with that CID still completes",
		 cl_wait(&c, 77, &cqe, NULL, NULL) == 0);
	cl_close(&c);

	/* The host gives up with H2CTermReq: we close. */
	cl_open(&c, g_port);
	cl_icreq(&c, 0, 0);
	struct nvme_tcp_term t = { .hdr.type = NVME_TCP_H2C_TERM, .hdr.hlen = 24,
				   .hdr.plen = htole32(24), .fes = htole16(1) };
	cl_send(&c, &t, sizeof(t));
	bad_case("H2CTermReq from the host -> the target closes the connection", cl_eof(&c));
	cl_close(&c);
}

/* TCP may deliver a PDU one byte at a time; a receiver that assumes a
 * whole header per read() works on loopback and fails on a real network.
 * So the same commands go out in 1-byte sends. */
static void test_byte_by_byte(void)
{
	static uint8_t stream[8192], w[4096], r[4096];
	static struct cl c;
	size_t len = 0;
	struct nvme_tcp_cmd cmd = { .hdr.type = NVME_TCP_CMD, .hdr.hlen = 72 };

	memset(w, 0x3c, sizeof(w));
	cl_io_up(&c, g_port, g_cntlid, 31, 3, 0);
	for (int split = 1; split <= 7; split += 6) {
		cmd.sqe.opcode = NVME_CMD_WRITE;
		cmd.sqe.cid = htole16(200 + split);
		cmd.sqe.nsid = htole32(1);
		cmd.sqe.cdw10 = htole32(3000);
		cmd.sqe.cdw12 = htole32(7);
		sgl_icd(&cmd.sqe, 4096);
		cmd.hdr.flags = NVME_TCP_F_HDGST | NVME_TCP_F_DDGST;
		cmd.hdr.pdo = 76;
		cmd.hdr.plen = htole32(76 + 4096 + 4);
		memcpy(stream, &cmd, 72);
		uint32_t crc = htole32(tcp_crc32c(stream, 72));
		memcpy(stream + 72, &crc, 4);
		memcpy(stream + 76, w, 4096);
		crc = htole32(tcp_crc32c(w, 4096));
		memcpy(stream + 76 + 4096, &crc, 4);
		len = 76 + 4096 + 4;
		for (size_t off = 0; off < len; off += split) {
			cl_send(&c, stream + off, off + split <= len ? (size_t)split : len - off);
			if (split == 1 && off < 80)
				usleep(1000);	/* make sure the target sees single bytes */
		}
		struct nvme_cqe cqe;
		CHECK_EQ_U(cl_wait(&c, 200 + split, &cqe, NULL, NULL), 0,
			   "write sent in %d-byte pieces with digests completes", split);
	}
	CHECK_EQ_U(cl_rw(&c, NVME_CMD_READ, 3000, 8, r, false), 0, "read it back");
	CHECK(!memcmp(w, r, sizeof(w)), "data intact after split sends");
	cl_close(&c);
}

/* Good sessions first (if these fail, the bad-input answers mean little),
 * then the bystander is connected, then the bad-input table, each case on
 * a connection of its own. The target is stopped last and its exit status
 * checked. */
int main(void)
{
	system("mkdir -p tests/out");
	target_start();
	test_icresp();
	test_identify();
	test_discovery(g_disc_port, "the discovery port");
	test_discovery(g_port, "the I/O port");
	test_wildcard_addr();

	CHECK(cl_admin_up(&g_by_admin, g_port, SUBNQN, &g_cntlid) == 0, "bystander admin queue");
	CHECK(cl_io_up(&g_by, g_port, g_cntlid, 31, 0, 0) == 0, "bystander I/O queue");
	test_data_path(g_cntlid);
	test_byte_by_byte();

	bad_case("CapsuleCmd HLEN 70 -> C2HTermReq FES 1, FEI 2 (HLEN)", bad_header(hlen_bad, 1, 2));
	bad_case("PLEN below HLEN -> FES 1, FEI 4 (PLEN)", bad_header(plen_short, 1, 4));
	bad_case("unknown PDU type 0Ch -> FES 1, FEI 0", bad_header(type_unknown, 1, 0));
	bad_case("C2HData sent by a host -> FES 1, FEI 0", bad_header(type_c2h, 1, 0));
	bad_case("HDGST flag without digests agreed -> FES 1, FEI 1", bad_header(hdgst_flag, 1, 1));
	bad_plen_limit();
	bad_sequence();
	bad_digests();
	bad_case("H2CData with an unknown TTAG -> FES 1, FEI 10", bad_h2c(0, 50, 0, 4096, 1, 10));
	bad_case("H2CData with a CCCID not matching TTAG -> FES 1, FEI 8", bad_h2c(1, 0, 0, 4096, 1, 8));
	bad_case("H2CData outside the R2T (DATAO 4096 first) -> FES 4", bad_h2c(0, 0, 4096, 4096, 4, -1));
	bad_case("H2CData past the end of the command -> FES 4", bad_h2c(0, 0, 0, 20480, 4, -1));
	bad_case("H2CData above MAXH2CDATA -> FES 5", bad_h2c(0, 0, 0, 40960, 5, -1));
	bad_commands();
	bad_admin();
	bad_unauthenticated();
	bad_connects();
	bad_flow();

	cl_close(&g_by);
	cl_close(&g_by_admin);
	target_stop();
	return test_done("proto_test");
}
