/*
 * host_queue.c - the host's transport: one struct host_queue is one NVMe
 * queue, over TCP or over RDMA, and this file is how a command goes out
 * and how its completion comes back. host.c and perf.c above it see
 * slots, commands and completions, never PDUs or work requests.
 *
 *   host_cmd_submit: CapsuleCmd [+ in-capsule data] --------------> target
 *         H2CData ... LAST_PDU                <----------- R2T ------
 *   recv: C2HData -> straight into the command's buffer <-----------
 *         CapsuleResp -> host_cmd_finish: the command is done <------
 *   host_exec = submit, then host_wait (poll) until that CapsuleResp
 *
 * A TCP queue has command slots (CID = slot index), an output ring of
 * iovecs that writev() sends in batches, and a receive buffer parsed PDU
 * by PDU after each big recv(). Sockets are non-blocking. CRC32C, header
 * checks and PDU tracing are tcp.c's.
 *
 * With -r trtype:RDMA the same slots ride an NVMe/RDMA queue pair instead
 * (rdma_host_*, the last section): no PDUs, the target moves the data.
 *
 * Sections, in order: setup and send; receive; connect (TCP ICReq/ICResp
 * or the RDMA CM); the NVMe/RDMA queue (built only with RDMA).
 *
 * Tutorial chapter 05 reads the TCP part after host.c; chapter 06 reads
 * the RDMA part.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#ifndef NVMF_NO_RDMA
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>
#endif

#include "nvmf.h"
#include "host.h"

/* This file's own constants; the shared ones are in host.h. */
#define HOST_RBUF_SIZE		(256 * 1024)	/* one recv() worth */
#define HOST_DIRECT_MIN		4096		/* recv payload straight into place */
#define HOST_RECV_BUDGET	8		/* recv() calls per pass */
#define HOST_MIN_MAXH2CDATA	4096		/* [TCP-1.0c §3.6.2.3] */

/* ==================================================================== */
/* Queue: setup and send                                               */
/* ==================================================================== */

/* Allocate a queue of slots command slots carrying at most max_data bytes
 * each. Returns NULL when memory is short. */
struct host_queue *host_queue_alloc(uint16_t qid, unsigned slots, uint32_t max_data)
{
	struct host_queue *q = calloc(1, sizeof(*q));
	uint32_t nh2c = max_data / HOST_MIN_MAXH2CDATA + 1;
	struct host_h2c *h2c = calloc((size_t)slots * nh2c, sizeof(*h2c));

	if (!q || !h2c)
		goto out_free;
	q->fd = -1;
	q->qid = qid;
	q->max_data = max_data;
	q->nr_cmds = slots;
	q->out_cap = slots * (3 + 3 * nh2c) + 4;	/* capsules, every H2CData, TermReq */
	q->rbuf = malloc(HOST_RBUF_SIZE);
	q->out = calloc(q->out_cap, sizeof(*q->out));
	q->cmds = calloc(slots, sizeof(*q->cmds));
	q->free = calloc(slots, sizeof(*q->free));
	if (!q->rbuf || !q->out || !q->cmds || !q->free)
		goto out_free;
	for (unsigned i = 0; i < slots; i++) {
		q->cmds[i].cid = i;
		q->cmds[i].h2c = h2c + (size_t)i * nh2c;
		q->free[q->nr_free++] = slots - 1 - i;	/* CID 0 goes first */
	}
	return q;
out_free:
	if (q)
		free(q->rbuf), free(q->out), free(q->cmds), free(q->free);
	free(q);
	free(h2c);
	return NULL;
}

void host_queue_free(struct host_queue *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	rdma_host_free(q->rdma);
	free(q->cmds[0].h2c);
	free(q->rbuf), free(q->out), free(q->cmds), free(q->free), free(q->done), free(q);
}

struct host_cmd *host_cmd_get(struct host_queue *q)
{
	struct host_cmd *c;

	if (!q->nr_free)
		return NULL;
	c = &q->cmds[q->free[--q->nr_free]];
	c->busy = true;
	c->done = false;
	return c;
}

void host_cmd_put(struct host_queue *q, struct host_cmd *c)
{
	c->busy = false;
	q->free[q->nr_free++] = c->cid;
}

/* Open the TCP connection: a blocking connect(), then TCP_NODELAY (a
 * capsule must not wait for Nagle) and non-blocking mode. 0 or -errno. */
static int host_tcp_connect(struct host_queue *q, const struct host_opts *o)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *ai;
	int fd = -1, one = 1, rc;

	hints.ai_family = strcasecmp(o->adrfam, "IPv6") ? AF_INET : AF_INET6;
	snprintf(q->peer, sizeof(q->peer), "%s:%s", o->traddr, o->trsvcid);
	rc = getaddrinfo(o->traddr, o->trsvcid, &hints, &ai);
	if (rc) {
		host_err("cannot resolve %s (adrfam %s): %s", q->peer, o->adrfam,
			 gai_strerror(rc));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	rc = fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 ? -errno : 0;
	freeaddrinfo(ai);
	if (rc) {
		host_err("cannot connect to %s: %s%s", q->peer, strerror(-rc),
			 rc == -ECONNREFUSED ? " (is the target running? start it with ./nvmf)" : "");
		if (fd >= 0)
			close(fd);
		return rc;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	q->fd = fd;
	return 0;
}

/* Queue len bytes at base. The ring is sized for every slot's worst
 * case, so it cannot fill. */
static void host_out_push(struct host_queue *q, void *base, size_t len)
{
	struct iovec *v;

	if (q->out_count == q->out_cap) {
		host_err("qid %u: output ring full (a bug in host_queue.c)", q->qid);
		abort();
	}
	v = &q->out[(q->out_head + q->out_count++) % q->out_cap];
	v->iov_base = base;
	v->iov_len = len;
}

/* Send what is queued, in as few writev() calls as the socket allows.
 * Returns 0 (perhaps with some left: wait for POLLOUT) or -errno. */
int host_flush(struct host_queue *q)
{
	while (q->out_count) {
		struct iovec iov[64];
		int n;
		ssize_t sent;

		for (n = 0; n < (int)ARRAY_SIZE(iov) && n < (int)q->out_count; n++)
			iov[n] = q->out[(q->out_head + n) % q->out_cap];
		sent = writev(q->fd, iov, n);
		if (sent < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (sent < 0) {
			host_err("send to %s: %s", q->peer, strerror(errno));
			return -EPIPE;
		}
		while (sent > 0) {
			struct iovec *v = &q->out[q->out_head];
			size_t k = (size_t)sent < v->iov_len ? (size_t)sent : v->iov_len;

			v->iov_base = (char *)v->iov_base + k;
			v->iov_len -= k;
			sent -= k;
			if (v->iov_len)
				break;
			q->out_head = (q->out_head + 1) % q->out_cap;
			q->out_count--;
		}
	}
	return 0;
}

/*
 * A fatal transport error in what the target sent: send an H2CTermReq
 * carrying the offending header [TCP-1.0c §3.6.2.4] and give up on the
 * connection. Returns -EPROTO for the caller to pass up.
 */
static int __attribute__((format(printf, 4, 5)))
host_fatal(struct host_queue *q, uint16_t fes, uint32_t fei, const char *fmt, ...)
{
	struct nvme_tcp_term *t = (struct nvme_tcp_term *)q->term;
	uint32_t copy = q->pdu_len < NVME_TCP_TERM_MAX_DATA ? q->pdu_len : NVME_TCP_TERM_MAX_DATA;
	va_list ap;

	va_start(ap, fmt);
	host_vmsg(fmt, ap);
	va_end(ap);
	host_err("qid %u: sending H2CTermReq FES %u FEI %u and closing", q->qid, fes, fei);
	pdu_hexdump("offending PDU header", q->pdu, q->pdu_len);
	memset(t, 0, sizeof(*t));
	t->hdr.type = NVME_TCP_H2C_TERM;
	t->hdr.hlen = sizeof(*t);
	t->hdr.plen = htole32(sizeof(*t) + copy);
	t->fes = htole16(fes);
	fei = htole32(fei);
	memcpy(t->fei, &fei, sizeof(t->fei));
	memcpy(q->term + sizeof(*t), q->pdu, copy);
	if (g_trace)
		tcp_trace_pdu("->", &t->hdr, t);
	host_out_push(q, q->term, sizeof(*t) + copy);
	host_flush(q);
	return -EPROTO;
}

/* Which way data flows: opcode bits 1:0, or FCTYPE bits 1:0 for a
 * fabrics command [BASE-2.0c Fig. 27, Fig. 542]. */
static enum host_xfer host_xfer_dir(const struct nvme_sqe *sqe)
{
	uint8_t bits = sqe->opcode == NVME_FABRICS_OPCODE
		       ? ((const struct nvmf_fabrics_cmd *)sqe)->fctype & 3 : sqe->opcode & 3;

	return bits == 1 ? HOST_XFER_H2C : bits == 2 ? HOST_XFER_C2H : HOST_XFER_NONE;
}

/* NVMe/RDMA: rdma_host_submit() sends the capsule with a keyed SGL over
 * c's data. A failure is remembered and reported by the next
 * host_queue_process(). */
static void host_rdma_submit(struct host_queue *q, struct host_cmd *c, const struct nvme_sqe *sqe)
{
	struct nvme_sqe s = *sqe;
	int rc;

	s.cid = htole16(c->cid);
	rc = rdma_host_submit(q->rdma, &s, c->buf, c->len, c->xfer == HOST_XFER_H2C);
	if (rc && !q->rdma_rc) {
		host_err("qid %u: cannot send a capsule to %s: %s", q->qid, q->peer, strerror(-rc));
		q->rdma_rc = rc;
	}
}

/*
 * Queue a CapsuleCmd for c [TCP-1.0c §3.6.2.5]. Its SGL is one of the two
 * NVMe/TCP knows [TCP-1.0c §3.3.3]: a write that fits goes in the capsule
 * (Data Block, Offset subtype, offset 0 since ICDOFF is 0); anything else
 * is a Transport Data Block: the target pulls write data by R2T or
 * pushes read data by C2HData.
 */
void host_cmd_submit(struct host_queue *q, struct host_cmd *c,
		     const struct nvme_sqe *sqe, void *buf, uint32_t len)
{
	struct nvme_tcp_cmd *pdu = (struct nvme_tcp_cmd *)c->pdu;
	uint32_t hd = q->hdgst ? NVME_TCP_DIGEST_LEN : 0, dd = q->ddgst ? NVME_TCP_DIGEST_LEN : 0;

	c->buf = buf;
	c->len = len;
	c->xfer = host_xfer_dir(sqe);
	c->icd = c->xfer == HOST_XFER_H2C && len && len <= q->icd_max;
	c->done = c->ddgst_bad = false;
	c->c2h_next = c->r2t_next = 0;
	c->sqe = *sqe;		/* the completion's status is named by its command */
	c->sqe.cid = htole16(c->cid);
	if (g_trace) {		/* the same words as the target's trace (trace.c) */
		char line[TRACE_LINE_MAX];

		nvmf_trace("cmd  %s", trace_cmd(line, sizeof(line), &c->sqe, q->qid, buf, len));
	}
	if (q->rdma) {
		host_rdma_submit(q, c, sqe);
		return;
	}
	memset(pdu, 0, sizeof(*pdu));
	pdu->sqe = *sqe;
	pdu->sqe.cid = htole16(c->cid);
	/* Every fabrics command describes its data with an SGL: PSDT 01b
	 * [BASE-2.0c Fig. 88]; nvmet refuses a Connect without it. */
	pdu->sqe.flags = (sqe->flags & ~(3u << NVME_SQE_PSDT_SHIFT)) |
			 NVME_PSDT_SGL_MPTR_CONTIG << NVME_SQE_PSDT_SHIFT;
	pdu->sqe.dptr = (struct nvme_sgl){ .length = htole32(len), .type = c->icd
		? NVME_SGL_TYPE_DATA_BLOCK << 4 | NVME_SGL_SUBTYPE_OFFSET
		: NVME_SGL_TYPE_TRANSPORT_DATA_BLOCK << 4 | NVME_SGL_SUBTYPE_TRANSPORT };
	pdu->hdr.type = NVME_TCP_CMD;
	pdu->hdr.flags = (hd ? NVME_TCP_F_HDGST : 0) | (c->icd && dd ? NVME_TCP_F_DDGST : 0);
	pdu->hdr.hlen = sizeof(*pdu);
	pdu->hdr.pdo = c->icd ? sizeof(*pdu) + hd : 0;	/* the target's CPDA is 0 */
	pdu->hdr.plen = htole32(sizeof(*pdu) + hd + (c->icd ? len + dd : 0));
	tcp_put_hdgst(c->pdu, sizeof(*pdu), q->hdgst);
	if (g_trace)
		tcp_trace_pdu("->", &pdu->hdr, pdu);
	host_out_push(q, c->pdu, sizeof(*pdu) + hd);
	if (!c->icd)
		return;
	host_out_push(q, buf, len);
	if (dd) {
		c->icd_ddgst = htole32(tcp_crc32c(buf, len));
		host_out_push(q, &c->icd_ddgst, dd);
	}
}

/*
 * Answer an R2T: send bytes [off, off+len) of c's data as H2CData PDUs of
 * at most MAXH2CDATA bytes, the last one flagged LAST_PDU [TCP-1.0c
 * §3.6.2.7]. The target's CPDA is 0, so data follows the header directly.
 */
static void host_send_h2c(struct host_queue *q, struct host_cmd *c, uint16_t ttag,
			  uint32_t off, uint32_t len)
{
	uint32_t hd = q->hdgst ? NVME_TCP_DIGEST_LEN : 0, dd = q->ddgst ? NVME_TCP_DIGEST_LEN : 0;

	for (uint32_t i = 0, sent = 0, n; sent < len; i++, sent += n) {
		struct host_h2c *p = &c->h2c[i];
		struct nvme_tcp_data *d = (struct nvme_tcp_data *)p->hdr;
		uint8_t *data = c->buf + off + sent;

		n = len - sent < q->maxh2cdata ? len - sent : q->maxh2cdata;
		memset(d, 0, sizeof(*d));
		d->hdr.type = NVME_TCP_H2C_DATA;
		d->hdr.flags = (hd ? NVME_TCP_F_HDGST : 0) | (dd ? NVME_TCP_F_DDGST : 0) |
			       (sent + n == len ? NVME_TCP_F_DATA_LAST : 0);
		d->hdr.hlen = sizeof(*d);
		d->hdr.pdo = sizeof(*d) + hd;
		d->hdr.plen = htole32(sizeof(*d) + hd + n + dd);
		d->cccid = htole16(c->cid);
		d->ttag = htole16(ttag);
		d->datao = htole32(off + sent);
		d->datal = htole32(n);
		tcp_put_hdgst(p->hdr, sizeof(*d), q->hdgst);
		if (g_trace)
			tcp_trace_pdu("->", &d->hdr, d);
		host_out_push(q, p->hdr, sizeof(*d) + hd);
		host_out_push(q, data, n);
		if (dd) {
			p->ddgst = htole32(tcp_crc32c(data, n));
			host_out_push(q, &p->ddgst, dd);
		}
	}
}

/* ==================================================================== */
/* Queue: receive                                                      */
/* ==================================================================== */

static uint32_t host_avail(const struct host_queue *q)
{
	return q->rlen - q->rpos;
}

/* The outstanding command a PDU names, or NULL. */
static struct host_cmd *host_cmd_lookup(struct host_queue *q, le16 cid)
{
	uint16_t i = le16toh(cid);

	if (i >= q->nr_cmds || !q->cmds[i].busy || q->cmds[i].done)
		return NULL;
	return &q->cmds[i];
}

/* C2HTermReq: the target gave up on us [TCP-1.0c §3.6.2.4]. Say why; a
 * TermReq is never answered. Returns -EPROTO. */
static int host_recv_term(struct host_queue *q)
{
	static const char *const fes_names[] = {
		"reserved", "invalid PDU header field", "PDU sequence error",
		"header digest error", "data transfer out of range",
		"data transfer limit exceeded", "unsupported parameter",
	};
	struct nvme_tcp_term *t = (struct nvme_tcp_term *)q->pdu;
	uint16_t fes = le16toh(t->fes);
	uint32_t fei;

	memcpy(&fei, t->fei, sizeof(fei));
	host_err("target sent C2HTermReq: FES %u (%s), FEI %u", fes,
		 fes < ARRAY_SIZE(fes_names) ? fes_names[fes] : "unknown", le32toh(fei));
	if (q->pdu_len > sizeof(*t))
		pdu_hexdump("the PDU header it refused", q->pdu + sizeof(*t), q->pdu_len - sizeof(*t));
	return -EPROTO;
}

/*
 * The command is done and c->cqe holds its completion. A read whose data
 * did not all arrive, or arrived with a bad digest, fails here with Data
 * Transfer Error, as the Linux host fails it.
 */
static void host_cmd_finish(struct host_queue *q, struct host_cmd *c)
{
	bool ok = host_status(&c->cqe) == 0;

	if (ok && c->xfer == HOST_XFER_C2H && c->c2h_next != c->len)
		host_err("qid %u cid %u: success after only %u of %u data bytes", q->qid, c->cid,
			 c->c2h_next, c->len);
	if (ok && c->xfer == HOST_XFER_H2C && !c->icd && c->r2t_next != c->len)
		host_err("qid %u cid %u: write succeeded after an R2T for only %u of %u bytes",
			 q->qid, c->cid, c->r2t_next, c->len);
	if (ok && (c->ddgst_bad || (c->xfer == HOST_XFER_C2H && c->c2h_next != c->len)))
		c->cqe.status = htole16(NVME_SC_DATA_XFER_ERROR << 1);
	if (g_trace) {
		char line[TRACE_LINE_MAX];

		nvmf_trace("done %s", trace_cqe(line, sizeof(line), &c->sqe, &c->cqe, q->qid));
	}
	c->done = true;
	if (q->done)
		q->done[q->nr_done++] = c->cid;
}

/* CapsuleResp [TCP-1.0c §3.6.2.6]: the completion of one command. */
static int host_recv_rsp(struct host_queue *q)
{
	struct nvme_tcp_rsp *r = (struct nvme_tcp_rsp *)q->pdu;
	struct host_cmd *c = host_cmd_lookup(q, r->cqe.cid);

	if (!c)
		return host_fatal(q, NVME_TCP_FES_INVALID_HEADER, offsetof(struct nvme_tcp_rsp, cqe.cid),
				  "CapsuleResp for CID %u, which is not outstanding", le16toh(r->cqe.cid));
	c->cqe = r->cqe;
	host_cmd_finish(q, c);
	return 0;
}

/*
 * C2HData header [TCP-1.0c §3.6.2.8]: point the payload at the read's
 * buffer. We insist on in-order pieces, as the Linux host does (it copies
 * into the request without seeking to DATAO). SUCCESS, legal because our
 * Connect turned SQ flow control off, must come with LAST_PDU on the
 * piece that ends the data [TCP-1.0c §3.6.2.8]; the read then completes
 * when that piece is in (host_c2h_end), with no CapsuleResp.
 */
static int host_recv_c2h(struct host_queue *q)
{
	struct nvme_tcp_data *d = (struct nvme_tcp_data *)q->pdu;
	struct host_cmd *c = host_cmd_lookup(q, d->cccid);
	uint32_t datao = le32toh(d->datao), datal = le32toh(d->datal), plen = le32toh(d->hdr.plen);
	uint32_t dlen = plen - d->hdr.pdo - (q->ddgst ? NVME_TCP_DIGEST_LEN : 0);

	if (!c || c->xfer != HOST_XFER_C2H)
		return host_fatal(q, NVME_TCP_FES_INVALID_HEADER, offsetof(struct nvme_tcp_data, cccid),
				  "C2HData for CID %u, which is not an outstanding read", le16toh(d->cccid));
	if (q->pdu_len != d->hdr.pdo || datal != dlen)
		return host_fatal(q, NVME_TCP_FES_INVALID_HEADER, offsetof(struct nvme_tcp_data, datal),
				  "C2HData DATAL %u, but PLEN %u and PDO %u say otherwise", datal, plen,
				  d->hdr.pdo);
	if (datao != c->c2h_next || datal > c->len - datao)
		return host_fatal(q, NVME_TCP_FES_DATA_RANGE, offsetof(struct nvme_tcp_data, datao),
				  "C2HData DATAO %u DATAL %u for a %u-byte read that has %u bytes so far",
				  datao, datal, c->len, c->c2h_next);
	q->rsuccess = d->hdr.flags & NVME_TCP_F_DATA_SUCCESS;
	if (q->rsuccess && (!(d->hdr.flags & NVME_TCP_F_DATA_LAST) || datao + datal != c->len))
		return host_fatal(q, NVME_TCP_FES_INVALID_HEADER, offsetof(struct nvme_tcp_hdr, flags),
				  "C2HData SUCCESS on DATAO %u DATAL %u of a %u-byte read%s", datao,
				  datal, c->len, d->hdr.flags & NVME_TCP_F_DATA_LAST ? "" : " without LAST_PDU");
	if (datao + datal == c->len && !(d->hdr.flags & NVME_TCP_F_DATA_LAST))
		host_info("qid %u cid %u: last C2HData without LAST_PDU", q->qid, c->cid);
	q->rcmd = c;
	q->rdst = c->buf + datao;
	q->rdatao = datao;
	q->rleft = q->rdatal = datal;
	q->rstate = HOST_RECV_DATA;
	return 0;
}

/*
 * R2T [TCP-1.0c §3.6.2.9]: the target is ready for a write's data. We
 * allow one R2T at a time (MAXR2T 0), so each must start where the last
 * one ended and stay inside the command.
 */
static int host_recv_r2t(struct host_queue *q)
{
	struct nvme_tcp_r2t *r = (struct nvme_tcp_r2t *)q->pdu;
	struct host_cmd *c = host_cmd_lookup(q, r->cccid);
	uint32_t r2to = le32toh(r->r2to), r2tl = le32toh(r->r2tl);

	if (!c || c->xfer != HOST_XFER_H2C || c->icd)
		return host_fatal(q, NVME_TCP_FES_INVALID_HEADER, offsetof(struct nvme_tcp_r2t, cccid),
				  "R2T for CID %u, which has no data to fetch", le16toh(r->cccid));
	if (r2tl == 0 || r2to != c->r2t_next || r2tl > c->len - r2to)
		return host_fatal(q, NVME_TCP_FES_DATA_RANGE, offsetof(struct nvme_tcp_r2t, r2to),
				  "R2T R2TO %u R2TL %u for a %u-byte write with %u bytes asked for so far",
				  r2to, r2tl, c->len, c->r2t_next);
	c->r2t_next += r2tl;
	host_send_h2c(q, c, le16toh(r->ttag), r2to, r2tl);
	return 0;
}

/* Act on a complete header in q->pdu, by PDU type. ICReq, H2CTermReq,
 * CapsuleCmd and H2CData only go the other way [TCP-1.0c Fig. 21]. */
static int host_handle_pdu(struct host_queue *q)
{
	struct nvme_tcp_hdr *h = (struct nvme_tcp_hdr *)q->pdu;

	if (h->type == NVME_TCP_C2H_TERM)
		return host_recv_term(q);
	if (h->type == NVME_TCP_ICRESP && !q->ic_done) {
		memcpy(q->icresp, q->pdu, sizeof(q->icresp));
		q->ic_done = true;
		return 0;
	}
	if (!q->ic_done || h->type == NVME_TCP_ICRESP)
		return host_fatal(q, NVME_TCP_FES_PDU_SEQ_ERR, 0, "%s %s ICResp", trace_pdu_name(h->type),
				  q->ic_done ? "after" : "before");
	if (h->type == NVME_TCP_RSP)
		return host_recv_rsp(q);
	if (h->type == NVME_TCP_C2H_DATA)
		return host_recv_c2h(q);
	if (h->type == NVME_TCP_R2T)
		return host_recv_r2t(q);
	return host_fatal(q, NVME_TCP_FES_INVALID_HEADER, offsetof(struct nvme_tcp_hdr, type),
			  "a controller does not send %s", trace_pdu_name(h->type));
}

/*
 * RECV_PDU: once a whole header is buffered, check it [TCP-1.0c §3.6.1]
 * with tcp.c's checks (our HPDA is 0, our largest command the data
 * limit), verify its header digest, and handle it. A header is all of a
 * PDU except C2HData's payload, which starts at PDO.
 */
static int host_recv_pdu(struct host_queue *q)
{
	struct nvme_tcp_hdr *h = (struct nvme_tcp_hdr *)q->pdu;
	uint32_t need, fei, got, want;
	uint16_t fes;

	if (host_avail(q) < sizeof(*h))
		return -EAGAIN;
	memcpy(h, q->rbuf + q->rpos, sizeof(*h));
	q->pdu_len = sizeof(*h);
	if (tcp_hdr_check(h, q->hdgst, q->ddgst, 0, q->max_data, &fes, &fei))
		return host_fatal(q, fes, fei, "bad %s header from the target", trace_pdu_name(h->type));
	need = le32toh(h->plen);
	if (h->type == NVME_TCP_C2H_DATA && need > h->hlen + (q->hdgst ? NVME_TCP_DIGEST_LEN : 0u))
		need = h->pdo;
	if (host_avail(q) < need)
		return -EAGAIN;
	memcpy(q->pdu, q->rbuf + q->rpos, need);
	q->rpos += need;
	q->pdu_len = need;
	if (q->hdgst && (h->type == NVME_TCP_RSP || h->type == NVME_TCP_C2H_DATA ||
			 h->type == NVME_TCP_R2T)) {
		memcpy(&got, q->pdu + h->hlen, sizeof(got));
		want = tcp_crc32c(q->pdu, h->hlen);
		if (le32toh(got) != want)
			return host_fatal(q, NVME_TCP_FES_HDGST_ERR, 0, "%s header digest 0x%08x, expected 0x%08x",
					  trace_pdu_name(h->type), le32toh(got), want);
	}
	if (g_trace)
		tcp_trace_pdu("<-", h, q->pdu);
	return host_handle_pdu(q);
}

/* A C2HData payload (and its digest) is in. If the PDU said SUCCESS, it
 * stands for a CapsuleResp with status 0 [TCP-1.0c §3.6.2.8]: finish the
 * read now (the target sends SQHD FFFFh with flow control off). */
static void host_c2h_end(struct host_queue *q)
{
	struct host_cmd *c = q->rcmd;

	c->c2h_next += q->rdatal;
	q->rstate = HOST_RECV_PDU;
	if (!q->rsuccess)
		return;
	memset(&c->cqe, 0, sizeof(c->cqe));
	c->cqe.cid = htole16(c->cid);
	c->cqe.sqid = htole16(q->qid);
	c->cqe.sqhd = htole16(0xffff);
	host_cmd_finish(q, c);
}

/* RECV_DATA: payload already buffered goes to the command's buffer
 * (host_fill() puts large payloads there directly). */
static int host_recv_data(struct host_queue *q)
{
	uint32_t n = host_avail(q) < q->rleft ? host_avail(q) : q->rleft;

	memcpy(q->rdst, q->rbuf + q->rpos, n);
	q->rpos += n;
	q->rdst += n;
	q->rleft -= n;
	if (q->rleft)
		return -EAGAIN;
	if (q->ddgst) {
		q->rstate = HOST_RECV_DDGST;
		return 0;
	}
	host_c2h_end(q);
	return 0;
}

/* RECV_DDGST [TCP-1.0c §3.3.4]: a bad data digest is not fatal to the
 * connection; the command fails when it completes. */
static int host_recv_ddgst(struct host_queue *q)
{
	struct host_cmd *c = q->rcmd;
	uint32_t got, want;

	if (host_avail(q) < NVME_TCP_DIGEST_LEN)
		return -EAGAIN;
	memcpy(&got, q->rbuf + q->rpos, sizeof(got));
	q->rpos += NVME_TCP_DIGEST_LEN;
	want = tcp_crc32c(c->buf + q->rdatao, q->rdatal);
	if (le32toh(got) != want) {
		host_err("qid %u cid %u: C2HData data digest 0x%08x, expected 0x%08x",
			 q->qid, c->cid, le32toh(got), want);
		c->ddgst_bad = true;
	}
	host_c2h_end(q);
	return 0;
}

/*
 * Pull bytes from the socket: straight into the read's buffer while a
 * large payload is due and nothing is buffered, else into the receive
 * buffer, all the kernel has. Returns bytes read, -EAGAIN, or -ECONNRESET.
 */
static int host_fill(struct host_queue *q)
{
	ssize_t n;

	if (q->rstate == HOST_RECV_DATA && !host_avail(q) && q->rleft >= HOST_DIRECT_MIN) {
		n = recv(q->fd, q->rdst, q->rleft, 0);
		if (n > 0)
			q->rdst += n, q->rleft -= n;
	} else {
		/* What is left is less than one header: moving it is cheap. */
		memmove(q->rbuf, q->rbuf + q->rpos, host_avail(q));
		q->rlen -= q->rpos;
		q->rpos = 0;
		n = recv(q->fd, q->rbuf + q->rlen, HOST_RBUF_SIZE - q->rlen, 0);
		if (n > 0)
			q->rlen += n;
	}
	if (n > 0)
		return n;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -EAGAIN;
	host_err("%s %s", q->peer, n == 0 ? "closed the connection" : strerror(errno));
	return -ECONNRESET;
}

/* NVMe/RDMA: take the responses rdma_host_poll() reaped and finish their
 * commands. A full batch means there may be more: ask again before
 * sleeping. */
static int host_rdma_process(struct host_queue *q)
{
	struct nvme_cqe cqe[32];
	char err[256];
	int n;

	do {
		n = q->rdma_rc ? q->rdma_rc : rdma_host_poll(q->rdma, cqe, 32, err, sizeof(err));
		if (n < 0 && !q->rdma_rc)
			host_err("qid %u %s: %s", q->qid, q->peer, err);
		if (n < 0)
			return q->rdma_rc = n;
		for (int i = 0; i < n; i++) {
			struct host_cmd *c = host_cmd_lookup(q, cqe[i].cid);

			if (!c)
				return host_err("qid %u: response for CID %u, which is not outstanding",
						q->qid, le16toh(cqe[i].cid)), q->rdma_rc = -EPROTO;
			c->cqe = cqe[i];
			c->done = true;
			if (q->done)
				q->done[q->nr_done++] = c->cid;
		}
	} while (n == 32);
	return 0;
}

/* What to poll() on for q: its socket, or its RDMA completion channel. */
int host_queue_fd(const struct host_queue *q)
{
	return q->rdma ? rdma_host_fd(q->rdma) : q->fd;
}

/*
 * One pass over a queue: send what is queued, parse all that has arrived
 * (a budget of recv() calls keeps one queue from starving the rest), then
 * send what parsing queued (H2CData). Returns 0, or -errno when the
 * connection is dead.
 */
int host_queue_process(struct host_queue *q)
{
	int budget = HOST_RECV_BUDGET, rc;

	if (q->rdma)
		return host_rdma_process(q);
	rc = host_flush(q);

	while (rc == 0) {
		if (q->rstate == HOST_RECV_PDU)
			rc = host_recv_pdu(q);
		else if (q->rstate == HOST_RECV_DATA)
			rc = host_recv_data(q);
		else
			rc = host_recv_ddgst(q);
		if (rc == -EAGAIN && budget-- > 0) {
			rc = host_fill(q);
			rc = rc > 0 ? 0 : rc;
		}
	}
	return rc == -EAGAIN ? host_flush(q) : rc;
}

/* Drive q until *flag turns true, or timeout_ms pass. Returns 0 or -errno. */
static int host_wait(struct host_queue *q, const bool *flag, uint64_t timeout_ms)
{
	uint64_t now, end = host_now_ns() + timeout_ms * 1000000ull;
	int rc;

	while ((rc = host_queue_process(q)) == 0 && !*flag) {
		struct pollfd p = { .fd = host_queue_fd(q), .events = POLLIN | (q->out_count ? POLLOUT : 0) };

		now = host_now_ns();
		if (now >= end) {
			host_err("qid %u: no answer from %s within %" PRIu64 " ms", q->qid,
				 q->peer, timeout_ms);
			return -ETIMEDOUT;
		}
		poll(&p, 1, (int)((end - now) / 1000000 + 1));
	}
	return rc;
}

/*
 * Run one command to completion. Returns 0 on success, -EIO when the
 * command failed (the CQE in *cqe says how; the caller reports it), or
 * another -errno when the connection failed (already reported).
 */
int host_exec(struct host_queue *q, const struct nvme_sqe *sqe, void *buf,
	      uint32_t len, struct nvme_cqe *cqe)
{
	struct host_cmd *c = host_cmd_get(q);
	int rc;

	if (!c) {
		host_err("qid %u: no free command slot", q->qid);
		return -EBUSY;
	}
	host_cmd_submit(q, c, sqe, buf, len);
	rc = host_wait(q, &c->done, HOST_TIMEOUT_MS);
	if (rc)
		return rc;	/* the slot stays busy: the queue is done for */
	*cqe = c->cqe;
	host_cmd_put(q, c);
	return host_status(cqe) ? -EIO : 0;
}


/* ==================================================================== */
/* Connect: TCP and ICReq/ICResp, or the RDMA CM                       */
/* ==================================================================== */

/*
 * Check the ICResp as the Linux host does [TCP-1.0c §3.6.2.3]: PFV 0,
 * exactly the digests we asked for, CPDA 0 (we do not skip padding), and
 * MAXH2CDATA of at least 4 KiB in dword multiples.
 */
static int host_icresp_check(struct host_queue *q, const struct host_opts *o)
{
	struct nvme_tcp_icresp *r = (struct nvme_tcp_icresp *)q->icresp;
	bool hd = r->digest & NVME_TCP_HDGST_ENABLE, dd = r->digest & NVME_TCP_DDGST_ENABLE;
	uint32_t maxh2cdata = le32toh(r->maxh2cdata);

	if (le16toh(r->pfv) != NVME_TCP_PFV_1_0) {
		host_err("ICResp PFV %u; we speak PFV 0 (NVMe/TCP 1.0)", le16toh(r->pfv));
		return -EPROTO;
	}
	if (hd != o->hdgst || dd != o->ddgst) {
		host_err("ICResp digests header %d data %d; we asked for header %d data %d",
			 hd, dd, o->hdgst, o->ddgst);
		return -EPROTO;
	}
	if (r->cpda != 0) {
		host_err("ICResp CPDA %u: data padding is not supported (the Linux host refuses it too)",
			 r->cpda);
		return -EPROTO;
	}
	if (maxh2cdata < HOST_MIN_MAXH2CDATA || maxh2cdata % 4) {
		host_err("ICResp MAXH2CDATA %u: must be at least 4096 and a multiple of 4",
			 maxh2cdata);
		return -EPROTO;
	}
	q->hdgst = hd;
	q->ddgst = dd;
	q->maxh2cdata = maxh2cdata;
	host_info("qid %u: ICResp: digests header %d data %d, MAXH2CDATA %u", q->qid, hd, dd,
		  maxh2cdata);
	return 0;
}

/* NVMe/RDMA: a queue pair through the RDMA CM (rdma_host_connect). HSQSIZE
 * is the SQSIZE the Fabrics Connect will carry: 31 on the admin queue, the
 * slot count (perf's depth) on an I/O queue. */
static int host_rdma_connect(struct host_queue *q, const struct host_opts *o)
{
	uint16_t hsqsize = q->qid ? q->nr_cmds : HOST_ADMIN_SQSIZE;
	char err[512];
	int rc;

	snprintf(q->peer, sizeof(q->peer), "%s:%s", o->traddr, o->trsvcid);
	rc = rdma_host_connect(&q->rdma, o->traddr, o->trsvcid, q->qid, hsqsize, q->nr_cmds,
			       q->max_data, err, sizeof(err));
	if (rc) {
		host_err("cannot connect to %s over RDMA: %s", q->peer, err);
		return rc;
	}
	host_info("qid %u: NVMe/RDMA queue pair to %s, HSQSIZE %u", q->qid, q->peer, hsqsize);
	return 0;
}

/* Connect TCP and exchange ICReq/ICResp [TCP-1.0c §3.6.2.2]: PFV 0, HPDA 0
 * (no padding before data), MAXR2T 0 (one R2T at a time per command). */
int host_queue_connect(struct host_queue *q, const struct host_opts *o)
{
	struct nvme_tcp_icreq *req = (struct nvme_tcp_icreq *)q->icreq;
	int rc;

	if (!strcasecmp(o->trtype, "RDMA"))
		return host_rdma_connect(q, o);
	rc = host_tcp_connect(q, o);

	if (rc)
		return rc;
	memset(req, 0, sizeof(*req));
	req->hdr.type = NVME_TCP_ICREQ;
	req->hdr.hlen = sizeof(*req);
	req->hdr.plen = htole32(sizeof(*req));
	req->pfv = htole16(NVME_TCP_PFV_1_0);
	req->hpda = 0;
	req->digest = (o->hdgst ? NVME_TCP_HDGST_ENABLE : 0) | (o->ddgst ? NVME_TCP_DDGST_ENABLE : 0);
	req->maxr2t = 0;
	if (g_trace)
		tcp_trace_pdu("->", &req->hdr, req);
	host_out_push(q, req, sizeof(*req));
	rc = host_wait(q, &q->ic_done, HOST_TIMEOUT_MS);
	return rc ? rc : host_icresp_check(q, o);
}

/* ==================================================================== */
/* The NVMe/RDMA queue (rdma_host_*)                                   */
/* ==================================================================== */

/*
 * The initiator's queue, for `nvmf discover|identify|perf -r trtype:RDMA`.
 * The sections above keep the command slots (CID = slot index) and ask
 * these functions to carry capsules. Each slot has a registered data buffer: a write's data is
 * copied in before the SEND and the target RDMA READs it from there; a
 * read's data lands there by RDMA WRITE and is copied out when the CQE
 * arrives. One keyed SGL per command, subtype 0: our memory is registered
 * once, for the queue's life, so there is no key to invalidate.
 *
 *   mem: | slot data: slots * max_data | SQEs: slots * 64 | CQEs: rq * 16 |
 */
#ifndef NVMF_NO_RDMA

#define HOST_RDMA_TIMEOUT_MS	2000		/* address and route resolution */
#define HOST_RDMA_CQ_BATCH	32		/* ibv_poll_cq() entries per call */

/* A slot is done when both its response arrived and its own SEND
 * completed, as in the Linux host: the response can overtake the ACK of
 * our SEND, and a slot reused before that would overfill the send queue. */
struct rdma_host_slot {
	void *buf;			/* the caller's buffer */
	uint32_t len;
	bool read;			/* copy out when the CQE arrives */
	bool sent, answered;
	struct nvme_cqe cqe;
};

#define RDMA_HOST_SEND_WR	(1ull << 32)	/* wr_id: SEND of slot (low bits) */

struct rdma_host {
	struct rdma_event_channel *ch;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_comp_channel *comp_ch;
	struct ibv_cq *cq;
	struct ibv_mr *mr;
	uint8_t *mem;
	size_t mem_len;
	unsigned slots, nr_recv;
	uint32_t max_data;
	bool armed;
	unsigned cq_events;
	struct rdma_host_slot *slot;
};

static uint8_t *rdma_host_data(struct rdma_host *h, unsigned i)
{
	return h->mem + (size_t)i * h->max_data;
}

static uint8_t *rdma_host_sqe(struct rdma_host *h, unsigned i)
{
	return h->mem + (size_t)h->slots * h->max_data + (size_t)i * sizeof(struct nvme_sqe);
}

static uint8_t *rdma_host_cqe(struct rdma_host *h, unsigned i)
{
	return rdma_host_sqe(h, h->slots) + (size_t)i * sizeof(struct nvme_cqe);
}

static int rdma_host_post_recv(struct rdma_host *h, unsigned i)
{
	struct ibv_sge sge = { (uintptr_t)rdma_host_cqe(h, i), sizeof(struct nvme_cqe), h->mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = i, .sg_list = &sge, .num_sge = 1 }, *bad;

	return -ibv_post_recv(h->id->qp, &wr, &bad);
}

void rdma_host_free(struct rdma_host *h)
{
	if (!h)
		return;
	if (h->id && h->id->qp) {
		rdma_disconnect(h->id);
		rdma_destroy_qp(h->id);
	}
	if (h->mr)
		ibv_dereg_mr(h->mr);
	if (h->cq) {
		ibv_ack_cq_events(h->cq, h->cq_events);
		ibv_destroy_cq(h->cq);
	}
	if (h->comp_ch)
		ibv_destroy_comp_channel(h->comp_ch);
	if (h->pd)
		ibv_dealloc_pd(h->pd);
	if (h->id)
		rdma_destroy_id(h->id);
	if (h->ch)
		rdma_destroy_event_channel(h->ch);
	free(h->mem);
	free(h->slot);
	free(h);
}

/* Wait for one CM event on the host's channel; 0 if it is want, else
 * -errno with the reason in err (a REJ's NVMe/RDMA status, spelled out). */
static int rdma_host_cm_wait(struct rdma_host *h, enum rdma_cm_event_type want,
			     char *err, size_t errlen)
{
	struct rdma_cm_event *ev;
	int rc = 0;

	if (rdma_get_cm_event(h->ch, &ev)) {
		snprintf(err, errlen, "RDMA CM: %s", strerror(errno));
		return -errno;
	}
	if (ev->event == RDMA_CM_EVENT_REJECTED && ev->param.conn.private_data &&
	    ev->param.conn.private_data_len >= sizeof(struct nvme_rdma_cm_rej)) {
		struct nvme_rdma_cm_rej rej;
		uint16_t sts;

		memcpy(&rej, ev->param.conn.private_data, sizeof(rej));
		sts = le16toh(rej.sts);
		snprintf(err, errlen, "the target rejected the connection: NVMe/RDMA status %u (%s)", sts,
			 rdma_rej_str(sts));
		rc = -ECONNREFUSED;
	} else if (ev->event != want) {
		snprintf(err, errlen, "%s (status %d), waiting for %s%s", rdma_event_str(ev->event),
			 ev->status, rdma_event_str(want), ev->event == RDMA_CM_EVENT_ADDR_ERROR ?
			 ": no RDMA device has a route to that address (rdma link; ibv_devices)" :
			 ev->event == RDMA_CM_EVENT_REJECTED ? ": is a target listening there?" : "");
		rc = -ECONNREFUSED;
	}
	rdma_ack_cm_event(ev);
	return rc;
}

/* Verbs objects and memory for a queue of `slots` commands of max_data
 * bytes, with nr_recv response buffers posted. Returns 0 or -errno. */
static int rdma_host_verbs(struct rdma_host *h, char *err, size_t errlen)
{
	struct ibv_qp_init_attr qa = { .qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = h->slots + 1, .max_recv_wr = h->nr_recv,
			 .max_send_sge = 1, .max_recv_sge = 1 } };
	struct ibv_context *dev = h->id->verbs;

	h->mem_len = (size_t)h->slots * (h->max_data + sizeof(struct nvme_sqe)) +
		     (size_t)h->nr_recv * sizeof(struct nvme_cqe);
	h->mem_len = (h->mem_len + NVMF_PAGE_SIZE - 1) & ~(size_t)(NVMF_PAGE_SIZE - 1);
	h->mem = aligned_alloc(NVMF_PAGE_SIZE, h->mem_len);
	h->slot = calloc(h->slots, sizeof(*h->slot));
	h->pd = ibv_alloc_pd(dev);
	h->comp_ch = h->pd ? ibv_create_comp_channel(dev) : NULL;
	h->cq = h->comp_ch ? ibv_create_cq(dev, qa.cap.max_send_wr + h->nr_recv, h, h->comp_ch, 0) : NULL;
	if (!h->mem || !h->slot || !h->cq || rdma_nonblock(h->comp_ch->fd)) {
		snprintf(err, errlen, "cannot allocate a queue: %s", strerror(errno));
		return -ENOMEM;
	}
	qa.send_cq = qa.recv_cq = h->cq;
	if (rdma_create_qp(h->id, h->pd, &qa)) {
		snprintf(err, errlen, "cannot create a QP: %s", strerror(errno));
		return -errno;
	}
	h->mr = ibv_reg_mr(h->pd, h->mem, h->mem_len, IBV_ACCESS_LOCAL_WRITE |
			   IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE);
	if (!h->mr) {
		char hint[256];

		rdma_memlock_hint(hint, sizeof(hint), h->mem_len);
		snprintf(err, errlen, "cannot register %zu KiB: %s (%s)", h->mem_len >> 10,
			 strerror(errno), hint);
		return -errno;
	}
	for (unsigned i = 0; i < h->nr_recv; i++)
		if (rdma_host_post_recv(h, i)) {
			snprintf(err, errlen, "cannot post receives");
			return -EIO;
		}
	return 0;
}

/*
 * Connect one NVMe/RDMA queue: resolve the address and route, build the
 * QP, and send the CM REQ with our private data [RDMA-1.0c §3.3]: HSQSIZE
 * is the Connect SQSIZE (0's based), HRQSIZE the responses we can take.
 * We let the target RDMA READ our memory (responder resources) and never
 * read its. Returns 0 or -errno with the reason in err.
 */
int rdma_host_connect(struct rdma_host **out, const char *addr, const char *port, uint16_t qid,
		      uint16_t hsqsize, unsigned slots, uint32_t max_data, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *ai;
	struct rdma_host *h = calloc(1, sizeof(*h));
	struct nvme_rdma_cm_req req = { .recfmt = htole16(NVME_RDMA_CM_FMT_1_0), .qid = htole16(qid),
					.hrqsize = htole16(hsqsize + 1), .hsqsize = htole16(hsqsize) };
	struct rdma_conn_param p = { .private_data = &req, .private_data_len = sizeof(req),
				     .retry_count = 7, .rnr_retry_count = 7 };
	struct ibv_device_attr da;
	int rc;

	*out = h;
	if (!h)
		return -ENOMEM;
	h->slots = slots;
	h->nr_recv = hsqsize + 1u;
	h->max_data = max_data;
	if ((rc = rdma_have_device(err, errlen)))
		return rc;
	if ((rc = getaddrinfo(addr, port, &hints, &ai))) {
		snprintf(err, errlen, "cannot resolve %s:%s: %s", addr, port, gai_strerror(rc));
		return -EINVAL;
	}
	h->ch = rdma_create_event_channel();
	rc = !h->ch || rdma_create_id(h->ch, &h->id, h, RDMA_PS_TCP) ? -errno : 0;
	if (rc)
		snprintf(err, errlen, "cannot open the RDMA CM: %s", strerror(errno));
	if (!rc && rdma_resolve_addr(h->id, NULL, ai->ai_addr, HOST_RDMA_TIMEOUT_MS)) {
		rc = -errno;
		snprintf(err, errlen, "resolving %s: %s", addr, strerror(errno));
	}
	freeaddrinfo(ai);
	if (!rc)
		rc = rdma_host_cm_wait(h, RDMA_CM_EVENT_ADDR_RESOLVED, err, errlen);
	if (!rc && rdma_resolve_route(h->id, HOST_RDMA_TIMEOUT_MS)) {
		rc = -errno;
		snprintf(err, errlen, "resolving a route: %s", strerror(errno));
	}
	if (!rc)
		rc = rdma_host_cm_wait(h, RDMA_CM_EVENT_ROUTE_RESOLVED, err, errlen);
	if (!rc)
		rc = rdma_host_verbs(h, err, errlen);
	if (!rc && ibv_query_device(h->id->verbs, &da)) {
		rc = -errno;
		snprintf(err, errlen, "ibv_query_device: %s", strerror(errno));
	}
	if (rc)
		return rc;
	p.responder_resources = da.max_qp_rd_atom;
	if (rdma_connect(h->id, &p)) {
		snprintf(err, errlen, "rdma_connect: %s", strerror(errno));
		return -errno;
	}
	return rdma_host_cm_wait(h, RDMA_CM_EVENT_ESTABLISHED, err, errlen);
}

/* The fd to poll() on while waiting: the completion channel, armed by
 * rdma_host_poll() whenever it finds the CQ empty. */
int rdma_host_fd(const struct rdma_host *h)
{
	return h->comp_ch->fd;
}

/*
 * Send one command capsule. sqe->cid is the slot; buf/len its data. A
 * write's data is copied to the slot's registered buffer, which one keyed
 * data block descriptor names [BASE-2.0c Fig. 123]; a command without
 * data gets a keyed descriptor of length 0, as the Linux host sends.
 * Returns 0 or -errno.
 */
int rdma_host_submit(struct rdma_host *h, const struct nvme_sqe *sqe, void *buf, uint32_t len,
		     bool write)
{
	uint16_t i = le16toh(sqe->cid);
	struct nvme_sqe *s = (struct nvme_sqe *)rdma_host_sqe(h, i);
	struct nvme_keyed_sgl *k = (struct nvme_keyed_sgl *)&s->dptr;
	struct ibv_sge sge = { (uintptr_t)s, sizeof(*s), h->mr->lkey };
	struct ibv_send_wr wr = { .wr_id = RDMA_HOST_SEND_WR | i, .sg_list = &sge, .num_sge = 1,
				  .opcode = IBV_WR_SEND, .send_flags = IBV_SEND_SIGNALED }, *bad;
	uint32_t key = htole32(h->mr->rkey);

	if (i >= h->slots || len > h->max_data)
		return -EINVAL;
	*s = *sqe;
	/* Fabrics commands describe data with SGLs only; nvmet refuses any
	 * other PSDT with Invalid Field [BASE-2.0c Fig. 88]. */
	s->flags = (s->flags & ~(3u << NVME_SQE_PSDT_SHIFT)) |
		   NVME_PSDT_SGL_MPTR_CONTIG << NVME_SQE_PSDT_SHIFT;
	memset(k, 0, sizeof(*k));
	k->type = NVME_SGL_TYPE_KEYED_DATA_BLOCK << 4 | NVME_SGL_SUBTYPE_ADDRESS;
	if (len) {
		k->addr = htole64((uintptr_t)rdma_host_data(h, i));
		k->length[0] = len, k->length[1] = len >> 8, k->length[2] = len >> 16;
		memcpy(k->key, &key, sizeof(key));
	}
	if (write && len)
		memcpy(rdma_host_data(h, i), buf, len);
	h->slot[i] = (struct rdma_host_slot){ .buf = buf, .len = len, .read = !write && len };
	if (g_trace)
		nvmf_trace("rdma -> capsule qid=? cid=%u opc=0x%02x len=%u", i, s->opcode, len);
	return -ibv_post_send(h->id->qp, &wr, &bad);
}

/* One host completion: a SEND of slot (low bits), or a RECV of a
 * response. Puts the CQE in *out and returns 1 once its slot has both;
 * 0 while waiting for the other half; -EIO with err on a failure. */
static int rdma_host_wc(struct rdma_host *h, const struct ibv_wc *wc, struct nvme_cqe *out,
			char *err, size_t errlen)
{
	bool send = wc->wr_id & RDMA_HOST_SEND_WR;
	struct rdma_host_slot *sl;
	uint16_t cid = (uint16_t)wc->wr_id;

	if (wc->status != IBV_WC_SUCCESS) {
		snprintf(err, errlen, "%s failed: %s", send ? "SEND of a capsule" : "RECV",
			 ibv_wc_status_str(wc->status));
		return -EIO;
	}
	if (!send) {
		struct nvme_cqe cqe;

		memcpy(&cqe, rdma_host_cqe(h, wc->wr_id), sizeof(cqe));
		if (rdma_host_post_recv(h, wc->wr_id)) {
			snprintf(err, errlen, "cannot repost a receive");
			return -EIO;
		}
		cid = le16toh(cqe.cid);
		if (cid >= h->slots || h->slot[cid].answered) {
			snprintf(err, errlen, "response for CID %u, which is not outstanding",
				 cid);
			return -EIO;
		}
		h->slot[cid].cqe = cqe;
	}
	sl = &h->slot[cid];
	sl->sent |= send;
	sl->answered |= !send;
	if (!sl->sent || !sl->answered)
		return 0;
	if (sl->read && sl->buf)
		memcpy(sl->buf, rdma_host_data(h, cid), sl->len);
	*out = sl->cqe;
	sl->sent = sl->answered = false;
	return 1;
}

/*
 * Reap completions: up to max CQEs of finished commands into out (a
 * read's data copied to the caller's buffer first). Returns the count or
 * -EIO when the queue failed (the message is in err). A count below max
 * promises that the CQ was found empty after arming it, so the caller may
 * sleep in poll() on rdma_host_fd(); at max, call again first.
 */
int rdma_host_poll(struct rdma_host *h, struct nvme_cqe *out, int max, char *err, size_t errlen)
{
	struct ibv_wc wc[HOST_RDMA_CQ_BATCH];
	struct ibv_cq *cq;
	void *ctx;
	int got = 0;

	while (ibv_get_cq_event(h->comp_ch, &cq, &ctx) == 0) {
		h->armed = false;
		h->cq_events++;
	}
	while (got < max) {
		int n = ibv_poll_cq(h->cq, max - got < HOST_RDMA_CQ_BATCH ? max - got : HOST_RDMA_CQ_BATCH, wc);

		if (n < 0) {
			snprintf(err, errlen, "ibv_poll_cq failed");
			return -EIO;
		}
		if (n == 0 && h->armed)
			break;
		if (n == 0) {		/* arm, then look once more */
			if (ibv_req_notify_cq(h->cq, 0)) {
				snprintf(err, errlen, "ibv_req_notify_cq failed");
				return -EIO;
			}
			h->armed = true;
			continue;
		}
		for (int j = 0; j < n; j++) {
			int rc = rdma_host_wc(h, &wc[j], &out[got], err, errlen);

			if (rc < 0)
				return rc;
			got += rc;
		}
	}
	return got;
}

#endif /* NVMF_NO_RDMA */
