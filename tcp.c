/*
 * tcp.c - NVMe/TCP, the target side [TCP-1.0c].
 *
 * This file moves bytes and knows PDUs; it knows nothing of what a command
 * means. A connection is a struct tcp_queue; a command slot is a struct
 * tcp_req, which wraps the struct nvmf_req that nvmf.c works on.
 *
 *   socket --recv--> staging buffer --> receive state machine
 *                                          |  ICReq      -> ICResp
 *                                          |  CapsuleCmd -> nvmf_req_exec()
 *                                          |  H2CData    -> nvmf_req_data_ready()
 *                                          v
 *   socket <-writev-- out[] iovec ring <-- R2T, C2HData + CapsuleResp, TermReq
 *
 * Speed comes from two habits: every recv() takes as much as the kernel has
 * and the parser walks all the PDUs in it before asking again, and every
 * response is queued as iovecs (header, data, digest) that one writev()
 * per reactor pass sends together. Large data is received straight into
 * the request's buffer, never through the staging buffer. That buffer is
 * lent by the reactor's pool (bdev.c) for the command's life only, so a
 * connection's own memory is small and fixed (see tcp_queue_alloc).
 *
 * The file, in the order a 4 KiB read travels through it:
 *
 *   Structs            the two state machines, a slot, a connection
 *   Helpers            small pieces every section below uses
 *   Entry points       what the reactor calls: a socket event, a pass, a tick
 *   Receive: bytes     recv() into the staging buffer or straight into place
 *   Receive: PDUs      the state machine, one named step per state
 *   Capsule handling   ICReq, CapsuleCmd (-> nvmf.c), H2CData
 *   What nvmf.c calls  a response, a read's C2HData, a write's R2T
 *   Send               one writev() for everything queued
 *   Setup, teardown    a connection's memory, close, MDTS and the pool
 *   Shared with host_queue.c: CRC32C, PDU header checks, the --trace line
 *
 * Listening, accepting and what a peer may cost before Connect (deadlines,
 * caps on such connections, a pause when accept() runs out of file
 * descriptors) are tcp_accept.c's; the deadlines are checked here, at the
 * tick, because only this file can see how far a PDU has got.
 *
 * Not implemented: TLS [TCP-1.0c §3.6.1.3], because it needs a handshake
 * daemon and keys, which a teaching lab does not have; TREQ says so.
 *
 * Tutorial chapter 03 reads this file top to bottom.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <endian.h>
#include <isa-l/crc.h>

#include "nvmf.h"

/* ==================================================================== */
/* Constants                                                           */
/* ==================================================================== */

#define TCP_STAGING_SIZE	(64 * 1024)	/* one recv() worth, once connected */
#define TCP_STAGING_SMALL	4096		/* before Connect: ICReq, a capsule */
#define TCP_PRE_CONNECT_DATA	8192		/* the most data before Connect */
#define TCP_DIRECT_MIN		4096		/* recv data straight into place */
#define TCP_RECV_BUDGET		16		/* recv() calls per wakeup */
#define TCP_SLOTS		NVMF_MAXCMD	/* before Connect we don't know */
#define TCP_OUT_PER_REQ		5		/* hdr, data, ddgst, rsp, r2t */
#define TCP_PDU_MAX_HDR		256		/* pdo is one byte */
#define TCP_CID_NONE		0xffffffffu	/* cid_of[]: the slot is free */

uint32_t g_tcp_maxh2cdata = 32 * 1024;	/* ICResp MAXH2CDATA */
uint32_t g_tcp_max_io_size = NVMF_TCP_MAX_IO_DEFAULT;	/* MDTS, -i/--max-io-size */

/* ==================================================================== */
/* Structs                                                              */
/* ==================================================================== */

/*
 * The receive state machine. One PDU at a time, each state one function
 * of the section "Receive: PDUs":
 *
 *            8 bytes             rest of header (+HDGST, +pad to PDO)
 *   +---------+ -------------> +----------+
 *   | RECV_CH |                | RECV_PSH |  header handled (ICReq, a
 *   +---------+ <------------- +----------+  capsule or H2CData with no
 *     ^     ^     no data           |        data, H2CTermReq)
 *     |     |                       | data follows: into a slot's buffer
 *     |     |   no DDGST: data      v
 *     |     |   done          +-----------+
 *     |     +---------------- | RECV_DATA |
 *     |                       +-----------+
 *     |   digest checked:           | DDGST negotiated
 *     |   data done                 v
 *     |                       +------------+
 *     +---------------------- | RECV_DDGST |
 *                             +------------+
 *
 *   "data done" (tcp_data_done) is a step, not a state: the command is
 *   handed on and the next PDU starts at RECV_CH. A capsule that waits
 *   for a buffer stays in RECV_PSH with its header read.
 *   RECV_ERR: from any state, once tcp_fatal() has queued a C2HTermReq;
 *   nothing more is read.
 */
enum tcp_recv_state {
	RECV_CH,	/* waiting for the 8-byte common header */
	RECV_PSH,	/* waiting for the rest of the header (+digest, +pad) */
	RECV_DATA,	/* waiting for PDU data, placed in a request buffer */
	RECV_DDGST,	/* waiting for the 4-byte data digest */
	RECV_ERR,	/* fatal error sent; the connection is closing */
};

static const char *const tcp_recv_state_name[] = {
	"CH", "PSH", "DATA", "DDGST", "ERR",
};

/*
 * A slot's life:
 *
 *   FREE -> RECV_ICD? -> WAIT_BUF? -> EXEC <-> WAIT_H2C -> SENDING -> FREE
 *
 * WAIT_BUF: the reactor's buffer pool was full when the command needed a
 * buffer for its data; it waits on the queue's wait list, in order, and
 * tcp_reactor_poll() tries again each time a buffer comes back.
 */
enum tcp_req_state {
	REQ_FREE,	/* on the free list */
	REQ_RECV_ICD,	/* in-capsule data is arriving */
	REQ_WAIT_BUF,	/* waiting for a data buffer from the pool */
	REQ_EXEC,	/* with nvmf.c or the backend */
	REQ_WAIT_H2C,	/* R2T sent, H2CData arriving */
	REQ_SENDING,	/* response queued, not yet all in the socket */
};

struct tcp_req {
	struct nvmf_req req;
	enum tcp_req_state state;
	uint16_t ttag;			/* our slot index, used as R2T TTAG */
	uint32_t h2c_next;		/* next DATAO we expect */
	bool ddgst_bad;			/* a data digest failed for this command */
	uint32_t ddgst;			/* C2HData digest, sent from here */
	uint32_t buf_cap;		/* req.data's size, from the pool; 0: none */
	_Alignas(8) uint8_t c2h[128];		/* C2HData header + HDGST + pad (HPDA) */
	_Alignas(8) uint8_t r2t[sizeof(struct nvme_tcp_r2t) + 4];
	_Alignas(8) uint8_t rsp[sizeof(struct nvme_tcp_rsp) + 4];
	struct tcp_req *next_free;	/* free list, or the wait list */
};

/* One queued piece of output. When it is fully sent, req (if set) is
 * finished: its slot goes back on the free list. blksz is set on a read's
 * data sent in place, from the namespace's memory (see tcp_flush_tear). */
struct tcp_out {
	struct iovec iov;
	struct tcp_req *req;
	uint32_t blksz;			/* in-place data: its block size; else 0 */
};

struct tcp_queue {
	struct nvmf_queue q;
	struct nvmf_poller poller;
	bool icreq_done;
	bool hdgst, ddgst;		/* negotiated in ICReq/ICResp */
	uint32_t c2h_align;		/* (HPDA + 1) * 4 */
	bool want_out;			/* EPOLLOUT is armed */
	bool close_after_flush;		/* a TermReq is on its way */
	struct door *door;		/* until Connect: see tcp_accept.c */
	uint64_t door_ms;		/* accept, then ICResp: deadlines count from it */
	uint64_t pdu_ms;		/* when the unfinished PDU was first seen */
	unsigned nr_pdus, nr_pdus_seen;	/* PDUs finished; at the last tick */

	/* receive */
	enum tcp_recv_state rstate;
	uint8_t *staging;
	uint32_t spos, slen;		/* unread bytes: staging[spos..slen) */
	bool rx_paused;			/* a capsule waits for a buffer */
	int recv_budget;
	_Alignas(8) uint8_t pdu[TCP_PDU_MAX_HDR];	/* the header being received */
	uint32_t pdu_got, pdu_need;
	struct tcp_req *rreq;		/* whose buffer data goes into */
	uint32_t rdata_off, rdata_len, rdata_got;
	uint8_t rddgst[4];
	uint32_t rddgst_got;

	/* send */
	struct tcp_out *out;
	uint32_t out_head, out_count, out_cap;
	uint32_t tear_off, tear_len;	/* tear[tear_off..tear_len) goes first */
	_Alignas(64) uint8_t tear[NVMF_PAGE_SIZE];	/* rest of a block begun */
	_Alignas(8) uint8_t icresp[sizeof(struct nvme_tcp_icresp)];
	_Alignas(8) uint8_t term[sizeof(struct nvme_tcp_term) + NVME_TCP_TERM_MAX_DATA];

	size_t map_len;			/* this struct, staging, out, reqs */

	/* slots */
	struct tcp_req *reqs;
	struct tcp_req *free_reqs;
	unsigned nr_slots;		/* reqs[0..nr_slots) have been used */
	unsigned nr_busy;
	struct tcp_req *wait_head, *wait_tail;	/* REQ_WAIT_BUF, oldest first */
	unsigned wait_gen;		/* pool gen when we last found it full */
	uint32_t cid_of[TCP_SLOTS];	/* CID each busy slot holds; TCP_CID_NONE */
};

/*
 * No cycle needs these. The file is in the order a byte travels (the
 * reactor's entry points first, the receive path next), and C wants a
 * function declared before the first call to it; so each one called from
 * above its definition is declared here, once, with the section it is in.
 */
static const struct nvmf_transport_ops tcp_ops;	/* Setup, teardown */
static int tcp_recv(struct tcp_queue *tq);		/* Receive: PDUs */
static int tcp_handle_icreq(struct tcp_queue *tq);	/* Capsule handling */
static int tcp_handle_cmd(struct tcp_queue *tq);	/* Capsule handling */
static int tcp_handle_h2c_data(struct tcp_queue *tq);	/* Capsule handling */
static void tcp_cmd_ready(struct tcp_req *t);		/* Capsule handling */
static int tcp_flush(struct tcp_queue *tq);		/* Send */
static void tcp_queue_close(struct nvmf_queue *q);	/* Setup, teardown */

/* ==================================================================== */
/* Helpers: receive state, slots, buffers, output                       */
/* ==================================================================== */

static void tcp_set_state(struct tcp_queue *tq, enum tcp_recv_state s)
{
	if (tq->rstate == s)
		return;
	LOG_DBG("qid=%u %s recv %s -> %s", tq->q.qid, tq->q.peer,
		tcp_recv_state_name[tq->rstate], tcp_recv_state_name[s]);
	tq->rstate = s;
}

static uint32_t tcp_hd(struct tcp_queue *tq)
{
	return tq->hdgst ? NVME_TCP_DIGEST_LEN : 0;
}

/* A free slot, or NULL when all TCP_SLOTS are busy. Slots are taken in
 * index order the first time, so a queue touches the memory of only as
 * many slots as it has had commands in flight at once. */
static struct tcp_req *tcp_req_get(struct tcp_queue *tq)
{
	struct tcp_req *t = tq->free_reqs;

	if (t) {
		tq->free_reqs = t->next_free;
	} else if (tq->nr_slots < TCP_SLOTS) {
		t = &tq->reqs[tq->nr_slots];
		t->ttag = tq->nr_slots++;
		t->req.q = &tq->q;
	} else {
		return NULL;
	}
	tq->nr_busy++;
	memset(&t->req.cqe, 0, sizeof(t->req.cqe));
	t->req.data_len = t->req.icd_len = t->req.xfer_len = 0;
	t->h2c_next = 0;
	t->ddgst_bad = false;
	return t;
}

/* The slot is done: its data buffer goes back to the reactor's pool. */
static void tcp_req_put(struct tcp_queue *tq, struct tcp_req *t)
{
	if (t->req.in_place)		/* its data has left: the namespace may go */
		nvmf_req_release(&t->req);
	if (t->buf_cap) {
		nvmf_buf_put(&tq->q.reactor->pool, t->req.data, t->buf_cap);
		t->buf_cap = 0;
	}
	t->req.data = NULL;
	t->state = REQ_FREE;
	tq->cid_of[t->ttag] = TCP_CID_NONE;
	t->next_free = tq->free_reqs;
	tq->free_reqs = t;
	tq->nr_busy--;
}

/*
 * Give t a data buffer of len bytes from the reactor's pool. Returns 0, or
 * -EAGAIN when the pool is full: the caller parks t, and remembers the
 * pool's gen so that tcp_reactor_poll() asks again once it has moved.
 */
static int tcp_buf_get(struct tcp_queue *tq, struct tcp_req *t, uint32_t len)
{
	struct nvmf_buf_pool *pool = &tq->q.reactor->pool;

	t->req.data = nvmf_buf_get(pool, len, &t->buf_cap);
	if (t->req.data)
		return 0;
	tq->wait_gen = pool->gen;
	return -EAGAIN;
}

/* What epoll should wake us for: input unless a capsule is parked for
 * want of a buffer (the reactor retries it), output while we have some
 * the socket would not take. */
static void tcp_set_events(struct tcp_queue *tq)
{
	nvmf_reactor_modify(tq->q.reactor, &tq->poller,
			    (tq->rx_paused ? 0 : EPOLLIN) | (tq->want_out ? EPOLLOUT : 0));
}

static void tcp_queue_free(struct tcp_queue *tq)
{
	munmap(tq, tq->map_len);
}

/* Queue len bytes at base for sending; t is finished once they are sent. */
static void tcp_out_push(struct tcp_queue *tq, void *base, size_t len, struct tcp_req *t)
{
	struct tcp_out *o;

	/* Sized for every slot's worst case plus a TermReq: cannot fill. */
	if (tq->out_count == tq->out_cap) {
		LOG_ERR("qid=%u output ring full", tq->q.qid);
		abort();
	}
	o = &tq->out[(tq->out_head + tq->out_count++) % tq->out_cap];
	o->iov.iov_base = base;
	o->iov.iov_len = len;
	o->req = t;
	o->blksz = 0;
}

/* Is anything queued that the socket has not taken yet? */
static bool tcp_out_pending(const struct tcp_queue *tq)
{
	return tq->out_count || tq->tear_len;
}

/*
 * Start a header-only PDU we send (CapsuleResp, R2T): zero its hlen bytes
 * and fill the common header [TCP-1.0c §3.6.1], with the header digest
 * flag and room for the digest when one was negotiated.
 */
static void tcp_hdr_init(struct tcp_queue *tq, void *pdu, uint8_t type, uint8_t hlen)
{
	struct nvme_tcp_hdr *h = pdu;

	memset(pdu, 0, hlen);
	h->type = type;
	h->flags = tq->hdgst ? NVME_TCP_F_HDGST : 0;
	h->hlen = hlen;
	h->plen = htole32(hlen + tcp_hd(tq));
}

/* Queue a header we built: its digest (when negotiated) after hlen bytes,
 * a --trace line, then len bytes (header, digest, padding). t as in
 * tcp_out_push(). */
static void tcp_send_hdr(struct tcp_queue *tq, uint8_t *pdu, uint32_t hlen, uint32_t len,
			 struct tcp_req *t)
{
	tcp_put_hdgst(pdu, hlen, tq->hdgst);
	if (g_trace)
		tcp_trace_pdu("->", (const struct nvme_tcp_hdr *)pdu, pdu);
	tcp_out_push(tq, pdu, len, t);
}

/* ==================================================================== */
/* Reactor entry points: a socket event, a pass, a tick                 */
/* ==================================================================== */

/* epoll says the socket is readable or writable (or broken). */
static void tcp_queue_event(struct nvmf_poller *p, uint32_t events)
{
	struct tcp_queue *tq = container_of(p, struct tcp_queue, poller);
	int rc = 0;

	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		rc = tcp_recv(tq);
	if (rc == -ECONNRESET) {
		LOG_DBG("qid=%u %s disconnected", tq->q.qid, tq->q.peer);
		tcp_queue_close(&tq->q);
		return;
	}
	if (tcp_flush(tq) < 0)
		tcp_queue_close(&tq->q);
}

/* tq waits for a buffer, and one has come back since it last looked. */
static bool tcp_queue_can_retry(struct tcp_queue *tq)
{
	return (tq->wait_head || tq->rx_paused) && tq->wait_gen != tq->q.reactor->pool.gen;
}

/*
 * A buffer came back to the pool since tq last found it full: hand it to
 * the waiting commands, oldest first, then to a parked capsule. Stops at
 * the first that still finds the pool full.
 */
static void tcp_retry_waiters(struct tcp_queue *tq)
{
	while (tq->wait_head) {
		struct tcp_req *t = tq->wait_head;

		if (tcp_buf_get(tq, t, t->req.data_len))
			return;
		tq->wait_head = t->next_free;
		if (!tq->wait_head)
			tq->wait_tail = NULL;
		t->state = REQ_EXEC;
		nvmf_req_exec(&t->req);
	}
	if (tq->rx_paused) {
		tq->rx_paused = false;
		tcp_set_events(tq);
		if (tcp_recv(tq) == -ECONNRESET)
			tcp_queue_close(&tq->q);
	}
}

/*
 * Once per reactor pass, after everything else that may complete
 * commands: hand returned buffers to waiting commands, send what
 * completions queued, and free queues whose last slot has come back.
 *
 * Returns how many queues still have work that no event will announce
 * (a buffer came back after their turn in this walk), so the reactor
 * makes another pass instead of sleeping. Output the socket would not
 * take is not such work: EPOLLOUT is armed for it.
 */
int tcp_reactor_poll(struct nvmf_reactor *r)
{
	struct nvmf_queue **pp = &r->queues;
	int pending = 0;

	while (*pp) {
		struct nvmf_queue *q = *pp;
		struct tcp_queue *tq = container_of(q, struct tcp_queue, q);

		if (q->ops != &tcp_ops) {
			pp = &q->next;
			continue;
		}
		if (!q->closing && tcp_queue_can_retry(tq))
			tcp_retry_waiters(tq);
		if (!q->closing && tcp_out_pending(tq) && !tq->want_out && tcp_flush(tq) < 0)
			tcp_queue_close(q);
		if (q->closing && tq->nr_busy == 0) {
			*pp = q->next;
			tcp_queue_free(tq);
			continue;
		}
		pp = &q->next;
	}
	for (struct nvmf_queue *q = r->queues; q; q = q->next)
		if (q->ops == &tcp_ops && !q->closing &&
		    tcp_queue_can_retry(container_of(q, struct tcp_queue, q)))
			pending++;
	return pending;
}

/*
 * The reactor is about to sleep: count the queues with work that no
 * socket event will bring back to us. Output we have not tried to send
 * (EPOLLOUT is armed only after the socket refused some), waiters a
 * returned buffer could serve, and bytes read into the staging buffer
 * but not yet parsed. After a full pass there should be none; see
 * nvmf_reactor_stranded() in main.c.
 */
int tcp_reactor_stranded(struct nvmf_reactor *r)
{
	int n = 0;

	for (struct nvmf_queue *q = r->queues; q; q = q->next) {
		struct tcp_queue *tq = container_of(q, struct tcp_queue, q);

		if (q->ops != &tcp_ops || q->closing)
			continue;
		n += (tcp_out_pending(tq) && !tq->want_out) || tcp_queue_can_retry(tq) ||
		     (tq->spos < tq->slen && !tq->rx_paused && tq->rstate != RECV_ERR);
	}
	return n;
}

/* The NSID whose removal waits on one of tq's reads, sent from the
 * namespace's memory but still unsent after NVMF_NS_EVICT_MS; 0 if none. */
static uint32_t tcp_holds_evicted(struct tcp_queue *tq)
{
	for (unsigned i = 0; i < tq->nr_slots; i++) {
		struct tcp_req *t = &tq->reqs[i];

		if (t->state != REQ_FREE && t->req.in_place && atomic_load(&t->req.ns->evict))
			return t->req.ns->nsid;
	}
	return 0;
}

/*
 * Which deadline has tq missed, if any? Returns the option that sets it,
 * or NULL. A PDU counts as started from the tick that first sees it
 * unfinished, so the bound is pdu_ms plus up to one tick.
 */
static const char *tcp_deadline_missed(struct tcp_queue *tq, uint64_t now)
{
	if (door_evicted(tq->door))
		return "max-unconnected";
	if (tq->door && !tq->icreq_done && now - tq->door_ms > g_tcp_icreq_ms)
		return "icreq-timeout";
	if (tq->door && tq->icreq_done && now - tq->door_ms > g_tcp_connect_ms)
		return "connect-timeout";
	if (tq->rstate == RECV_CH && tq->pdu_got == 0) {
		tq->pdu_ms = 0;			/* between PDUs */
		return NULL;
	}
	if (!tq->pdu_ms || tq->nr_pdus != tq->nr_pdus_seen) {
		tq->pdu_ms = now;		/* a new PDU is under way */
		tq->nr_pdus_seen = tq->nr_pdus;
		return NULL;
	}
	return now - tq->pdu_ms > g_tcp_pdu_ms ? "pdu-timeout" : NULL;
}

/* Every 100 ms on each reactor: connected queues leave the door, queues
 * past a deadline close; reactor 0 also resumes paused listeners. */
void tcp_reactor_tick(struct nvmf_reactor *r)
{
	uint64_t now = nvmf_now_ms();
	char msg[256];
	uint32_t nsid;

	for (struct nvmf_queue *q = r->queues; q; q = q->next) {
		struct tcp_queue *tq = container_of(q, struct tcp_queue, q);
		const char *missed;

		if (q->ops != &tcp_ops || q->closing)
			continue;
		if (tq->door && q->ctrl)
			door_leave(&tq->door);
		if (atomic_load(&g_ns_evicting) && (nsid = tcp_holds_evicted(tq))) {
			LOG_WARN("qid=%u %s: namespace %u is being removed, and this host has left "
				 "reads of it unread for %u s; closing", q->qid, q->peer, nsid,
				 NVMF_NS_EVICT_MS / 1000);
			tcp_queue_close(q);
			continue;
		}
		missed = tcp_deadline_missed(tq, now);
		if (!missed)
			continue;
		snprintf(msg, sizeof(msg), "qid=%u %s: %s (--%s); closing", q->qid, q->peer,
			 !strcmp(missed, "icreq-timeout") ? "no ICReq in time" :
			 !strcmp(missed, "connect-timeout") ? "no Connect in time" :
			 !strcmp(missed, "max-unconnected") ? "the oldest waiting from its address, "
			 "its place given to a newcomer" :
			 "a PDU left unfinished", missed);
		door_log_timeout(msg);
		tcp_queue_close(q);
	}
	if (r == &g_reactors[0])
		tcp_listeners_resume(now);
}

/* The reactor adopted the queue: start watching its socket. */
static void tcp_start(struct nvmf_queue *q)
{
	struct tcp_queue *tq = container_of(q, struct tcp_queue, q);

	if (nvmf_reactor_watch(q->reactor, &tq->poller, EPOLLIN) < 0)
		tcp_queue_close(q);
}

/* ==================================================================== */
/* Receive: bytes                                                       */
/* ==================================================================== */

/* recv()'s answer in our convention: > 0 bytes, -EAGAIN, or -ECONNRESET. */
static int tcp_recv_result(ssize_t n)
{
	if (n > 0)
		return n;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return -EAGAIN;
	return -ECONNRESET;
}

/* Until Connect has succeeded a connection reads at most
 * TCP_STAGING_SMALL bytes at a time, so it touches only that much of its
 * staging buffer (see tcp_queue_alloc). */
static uint32_t tcp_staging_len(struct tcp_queue *tq)
{
	return tq->q.ctrl ? TCP_STAGING_SIZE : TCP_STAGING_SMALL;
}

/*
 * A recv() that returned less than it asked for has emptied the socket
 * (for now): asking again would only hear EAGAIN, one system call per
 * wakeup for nothing, about half of all recv() calls at QD128. So this
 * wakeup's reading ends there. Bytes that arrive after it are not lost:
 * epoll is level-triggered, and the next epoll_wait() reports the socket
 * again while anything is left in it.
 */
static void tcp_recv_short(struct tcp_queue *tq, ssize_t n, uint32_t asked)
{
	if (n > 0 && (uint32_t)n < asked)
		tq->recv_budget = 0;
}

/*
 * Move up to len bytes of the stream into dst: from the staging buffer if
 * it holds any, else straight from the socket for large reads, else by
 * refilling the staging buffer with all the kernel has. Returns the count
 * (> 0), -EAGAIN when the socket is empty or our budget is spent, or
 * -ECONNRESET when the peer is gone.
 */
static int tcp_read(struct tcp_queue *tq, void *dst, uint32_t len)
{
	ssize_t n;

	if (tq->spos == tq->slen) {
		if (tq->recv_budget-- <= 0)
			return -EAGAIN;
		if (len >= TCP_DIRECT_MIN) {
			n = recv(tq->poller.fd, dst, len, 0);
			tcp_recv_short(tq, n, len);
			return tcp_recv_result(n);
		}
		n = recv(tq->poller.fd, tq->staging, tcp_staging_len(tq), 0);
		tcp_recv_short(tq, n, tcp_staging_len(tq));
		if (n <= 0)
			return tcp_recv_result(n);
		tq->spos = 0;
		tq->slen = n;
	}
	n = tq->slen - tq->spos < len ? tq->slen - tq->spos : len;
	memcpy(dst, tq->staging + tq->spos, n);
	tq->spos += n;
	return n;
}

/* Read until *got reaches need. Returns 0 when done, else as tcp_read(). */
static int tcp_read_full(struct tcp_queue *tq, uint8_t *buf, uint32_t *got, uint32_t need)
{
	while (*got < need) {
		int n = tcp_read(tq, buf + *got, need - *got);

		if (n < 0)
			return n;
		*got += n;
	}
	return 0;
}

/* ==================================================================== */
/* Receive: PDUs, one state at a time                                   */
/* ==================================================================== */

/*
 * A fatal protocol error: queue a C2HTermReq carrying the offending header
 * [TCP-1.0c §3.6.2.4], stop reading, close once it is sent. Returns -EPROTO
 * so the receive loop stops.
 */
static int tcp_fatal(struct tcp_queue *tq, uint16_t fes, uint32_t fei, const char *why)
{
	struct nvme_tcp_term *t = (struct nvme_tcp_term *)tq->term;
	uint32_t copy = tq->pdu_got < NVME_TCP_TERM_MAX_DATA ? tq->pdu_got
							    : NVME_TCP_TERM_MAX_DATA;

	LOG_ERR("qid=%u %s: %s; sending C2HTermReq fes=%u fei=%u", tq->q.qid,
		tq->q.peer, why, fes, fei);
	pdu_hexdump("offending PDU header", tq->pdu, tq->pdu_got);
	memset(t, 0, sizeof(*t));
	t->hdr.type = NVME_TCP_C2H_TERM;
	t->hdr.hlen = sizeof(*t);
	t->hdr.pdo = 0;
	t->hdr.plen = htole32(sizeof(*t) + copy);
	t->fes = htole16(fes);
	fei = htole32(fei);
	memcpy(t->fei, &fei, sizeof(t->fei));
	memcpy(tq->term + sizeof(*t), tq->pdu, copy);
	if (g_trace)
		tcp_trace_pdu("->", &t->hdr, t);
	tcp_out_push(tq, tq->term, sizeof(*t) + copy, NULL);
	tq->close_after_flush = true;
	tcp_set_state(tq, RECV_ERR);
	return -EPROTO;
}

/* Common header: validate it, then decide how much header follows. */
static int tcp_recv_ch(struct tcp_queue *tq)
{
	struct nvme_tcp_hdr *h = (struct nvme_tcp_hdr *)tq->pdu;
	uint32_t max_data, fei;
	uint16_t fes;
	int rc;

	rc = tcp_read_full(tq, tq->pdu, &tq->pdu_got, sizeof(*h));
	if (rc)
		return rc;
	if (!tq->icreq_done && h->type != NVME_TCP_ICREQ)
		return tcp_fatal(tq, NVME_TCP_FES_PDU_SEQ_ERR, 0, "PDU before ICReq");
	if (tq->icreq_done && h->type == NVME_TCP_ICREQ)
		return tcp_fatal(tq, NVME_TCP_FES_PDU_SEQ_ERR, 0, "second ICReq");
	/* Only PDUs a host sends may arrive here [TCP-1.0c Fig. 21]. */
	if (h->type != NVME_TCP_ICREQ && h->type != NVME_TCP_H2C_TERM &&
	    h->type != NVME_TCP_CMD && h->type != NVME_TCP_H2C_DATA)
		return tcp_fatal(tq, NVME_TCP_FES_INVALID_HEADER, 0, "unexpected PDU type");
	max_data = h->type == NVME_TCP_CMD ? tq->q.max_icd : g_tcp_maxh2cdata;
	if (tcp_hdr_check(h, tq->hdgst, tq->ddgst, 0, max_data, &fes, &fei))
		return tcp_fatal(tq, fes, fei, "bad common header");
	if (le32toh(h->plen) == (uint32_t)h->hlen + (h->type == NVME_TCP_CMD ||
	    h->type == NVME_TCP_H2C_DATA ? tcp_hd(tq) : 0))
		tq->pdu_need = le32toh(h->plen);	/* header only */
	else if (h->type == NVME_TCP_H2C_TERM)
		tq->pdu_need = le32toh(h->plen);	/* keep the copy */
	else
		tq->pdu_need = h->pdo;
	tcp_set_state(tq, RECV_PSH);
	return 0;
}

/* Rest of the header: check its digest, then act on the PDU type. */
static int tcp_recv_psh(struct tcp_queue *tq)
{
	struct nvme_tcp_hdr *h = (struct nvme_tcp_hdr *)tq->pdu;
	int rc;

	rc = tcp_read_full(tq, tq->pdu, &tq->pdu_got, tq->pdu_need);
	if (rc)
		return rc;
	if (g_trace)
		tcp_trace_pdu("<-", h, tq->pdu);
	if (tq->hdgst && (h->type == NVME_TCP_CMD || h->type == NVME_TCP_H2C_DATA)) {
		uint32_t want = tcp_crc32c(tq->pdu, h->hlen), got;

		memcpy(&got, tq->pdu + h->hlen, sizeof(got));
		if (le32toh(got) != want) {
			LOG_ERR("qid=%u header digest: received 0x%08x, expected 0x%08x",
				tq->q.qid, le32toh(got), want);
			return tcp_fatal(tq, NVME_TCP_FES_HDGST_ERR, 0, "header digest error");
		}
	}
	switch (h->type) {
	case NVME_TCP_ICREQ:
		return tcp_handle_icreq(tq);
	case NVME_TCP_CMD:
		return tcp_handle_cmd(tq);
	case NVME_TCP_H2C_DATA:
		return tcp_handle_h2c_data(tq);
	default:		/* H2CTermReq: the host gives up on us */
		LOG_WARN("qid=%u %s sent H2CTermReq fes=%u; closing", tq->q.qid,
			 tq->q.peer, le16toh(((struct nvme_tcp_term *)tq->pdu)->fes));
		return -ECONNRESET;
	}
}

/* Done with one PDU: back to waiting for a common header. */
static void tcp_pdu_done(struct tcp_queue *tq)
{
	tq->pdu_got = 0;
	tq->rreq = NULL;
	tq->nr_pdus++;			/* the PDU deadline restarts */
	tcp_set_state(tq, RECV_CH);
}

/* All the data of one PDU is in: hand the command on, or wait for more. */
static void tcp_data_done(struct tcp_queue *tq)
{
	struct tcp_req *t = tq->rreq;

	tcp_pdu_done(tq);
	if (t->state == REQ_RECV_ICD) {
		tcp_cmd_ready(t);
		return;
	}
	t->h2c_next += tq->rdata_len;
	if (t->h2c_next < t->req.data_len)
		return;
	t->state = REQ_EXEC;
	if (t->ddgst_bad)
		nvmf_req_fail(&t->req, NVME_SC_TRANSIENT_TRANSPORT);
	else
		nvmf_req_data_ready(&t->req);
}


/* Data of a CapsuleCmd or H2CData PDU, straight into the slot's buffer. */
static int tcp_recv_data(struct tcp_queue *tq)
{
	struct tcp_req *t = tq->rreq;
	int rc;

	rc = tcp_read_full(tq, t->req.data + tq->rdata_off, &tq->rdata_got, tq->rdata_len);
	if (rc)
		return rc;
	if (tq->ddgst)
		tcp_set_state(tq, RECV_DDGST);
	else
		tcp_data_done(tq);
	return 0;
}

/*
 * The data digest. A mismatch is not fatal: the command fails with
 * Transient Transport Error once all its data is in, and the host may
 * retry it [TCP-1.0c §3.3.4; BASE-2.0c Fig. 94].
 */
static int tcp_recv_ddgst(struct tcp_queue *tq)
{
	struct tcp_req *t = tq->rreq;
	uint32_t want, got;
	int rc;

	rc = tcp_read_full(tq, tq->rddgst, &tq->rddgst_got, sizeof(tq->rddgst));
	if (rc)
		return rc;
	want = tcp_crc32c(t->req.data + tq->rdata_off, tq->rdata_len);
	memcpy(&got, tq->rddgst, sizeof(got));
	if (le32toh(got) != want) {
		LOG_ERR("qid=%u cid=%u data digest: received 0x%08x, expected 0x%08x",
			tq->q.qid, le16toh(t->req.sqe.cid), le32toh(got), want);
		t->ddgst_bad = true;
	}
	tcp_data_done(tq);
	return 0;
}

/*
 * Drive the receive state machine until the socket is dry, the budget is
 * spent, or the connection fails. Each state is one named step.
 */
static int tcp_recv(struct tcp_queue *tq)
{
	int rc = 0;

	tq->recv_budget = TCP_RECV_BUDGET;
	while (rc == 0 && !tq->q.closing) {
		switch (tq->rstate) {
		case RECV_CH:
			rc = tcp_recv_ch(tq);
			break;
		case RECV_PSH:
			rc = tcp_recv_psh(tq);
			break;
		case RECV_DATA:
			rc = tcp_recv_data(tq);
			break;
		case RECV_DDGST:
			rc = tcp_recv_ddgst(tq);
			break;
		case RECV_ERR:
			return -EPROTO;
		}
	}
	return rc == -EAGAIN ? 0 : rc;
}

/* ==================================================================== */
/* Capsule handling: ICReq, CapsuleCmd, H2CData                         */
/* ==================================================================== */

/*
 * ICReq: agree on digests and alignment, answer ICResp [TCP-1.0c
 * §3.6.2.2-3]. We ask for no padding (CPDA 0: the Linux host refuses
 * anything else) and honour the host's HPDA in the C2HData we send.
 */
static int tcp_handle_icreq(struct tcp_queue *tq)
{
	struct nvme_tcp_icreq *req = (struct nvme_tcp_icreq *)tq->pdu;
	struct nvme_tcp_icresp *rsp = (struct nvme_tcp_icresp *)tq->icresp;

	if (le16toh(req->pfv) != NVME_TCP_PFV_1_0)
		return tcp_fatal(tq, NVME_TCP_FES_INVALID_HEADER,
				 offsetof(struct nvme_tcp_icreq, pfv), "unsupported PFV");
	if (req->hpda > 31)
		return tcp_fatal(tq, NVME_TCP_FES_INVALID_HEADER,
				 offsetof(struct nvme_tcp_icreq, hpda), "HPDA above 31");
	tq->hdgst = req->digest & NVME_TCP_HDGST_ENABLE;
	tq->ddgst = req->digest & NVME_TCP_DDGST_ENABLE;
	tq->c2h_align = (req->hpda + 1u) * 4;
	tq->icreq_done = true;
	tq->door_ms = nvmf_now_ms();		/* Connect's deadline counts from here */

	memset(rsp, 0, sizeof(*rsp));
	rsp->hdr.type = NVME_TCP_ICRESP;
	rsp->hdr.hlen = sizeof(*rsp);
	rsp->hdr.plen = htole32(sizeof(*rsp));
	rsp->pfv = htole16(NVME_TCP_PFV_1_0);
	rsp->cpda = 0;
	rsp->digest = req->digest & (NVME_TCP_HDGST_ENABLE | NVME_TCP_DDGST_ENABLE);
	rsp->maxh2cdata = htole32(g_tcp_maxh2cdata);
	if (g_trace)
		tcp_trace_pdu("->", &rsp->hdr, rsp);
	tcp_out_push(tq, rsp, sizeof(*rsp), NULL);
	LOG_DBG("qid=? %s ICReq: hdgst=%d ddgst=%d hpda=%u maxr2t=%u", tq->q.peer,
		tq->hdgst, tq->ddgst, req->hpda, le32toh(req->maxr2t));
	tcp_pdu_done(tq);
	return 0;
}

/* Set up the data phase of a PDU: len bytes into t's buffer at off. */
static void tcp_expect_data(struct tcp_queue *tq, struct tcp_req *t, uint32_t off, uint32_t len)
{
	tq->rreq = t;
	tq->rdata_off = off;
	tq->rdata_len = len;
	tq->rdata_got = 0;
	tq->rddgst_got = 0;
	tcp_set_state(tq, RECV_DATA);
}

static uint32_t tcp_pdu_dlen(struct tcp_queue *tq)
{
	struct nvme_tcp_hdr *h = (struct nvme_tcp_hdr *)tq->pdu;
	uint32_t plen = le32toh(h->plen);

	if (plen == tq->pdu_need)
		return 0;
	return plen - h->pdo - (tq->ddgst ? NVME_TCP_DIGEST_LEN : 0);
}

/*
 * CapsuleCmd: take a slot, copy the SQE, and receive any in-capsule data
 * into a buffer from the pool [TCP-1.0c §3.6.2.5]. More commands than the
 * queue holds is a flow-control violation by the host.
 *
 * With the pool full, the capsule's data has nowhere to go: the header
 * stays in tq->pdu (state RECV_PSH, all of it read), the queue stops
 * reading (-EAGAIN, no EPOLLIN) and tcp_reactor_poll() runs the receive
 * again once a buffer has come back, which lands here again.
 */
static int tcp_handle_cmd(struct tcp_queue *tq)
{
	struct nvme_tcp_cmd *cmd = (struct nvme_tcp_cmd *)tq->pdu;
	uint32_t limit = tq->q.size ? tq->q.size : TCP_SLOTS;
	uint32_t dlen = tcp_pdu_dlen(tq);
	struct tcp_req *t;

	if (tq->q.closing || tq->nr_busy >= limit || !(t = tcp_req_get(tq)))
		return tcp_fatal(tq, NVME_TCP_FES_PDU_SEQ_ERR, 0,
				 "more commands outstanding than the queue holds");
	if (dlen && tcp_buf_get(tq, t, dlen)) {
		tcp_req_put(tq, t);
		tq->rx_paused = true;
		tcp_set_events(tq);
		return -EAGAIN;
	}
	t->req.sqe = cmd->sqe;
	t->req.icd_len = dlen;
	if (dlen) {
		t->state = REQ_RECV_ICD;
		tcp_expect_data(tq, t, 0, dlen);
		return 0;
	}
	tcp_pdu_done(tq);
	tcp_cmd_ready(t);
	return 0;
}

/*
 * Claim t's CID for as long as t is outstanding. False if another command
 * on this queue holds it: a CID must be unique among a queue's outstanding
 * commands [BASE-2.0c §4.2, CDW0 CID], and a second one gets Command ID
 * Conflict [BASE-2.0c Fig. 94, 03h]. Its completion then carries a CID the
 * host already uses; that is the host's bug, and the spec's answer. The
 * compare loop has no early exit, so the compiler can vectorize it.
 */
static bool tcp_cid_claim(struct tcp_queue *tq, struct tcp_req *t)
{
	uint32_t cid = le16toh(t->req.sqe.cid);
	unsigned same = 0;

	for (int i = 0; i < TCP_SLOTS; i++)
		same += tq->cid_of[i] == cid;
	if (same)
		return false;
	/* An Asynchronous Event Request is parked here until an event, and
	 * SPDK's host, shutting down, gives its AERs up without aborting them
	 * and reuses their CIDs for Property Get CC (SPDK's target and nvmet
	 * accept that). So an AER's CID is checked but not held: a later
	 * command may take it, and the AER's completion, if one ever comes,
	 * is the host's to ignore. */
	if (tq->q.qid == 0 && t->req.sqe.opcode == NVME_ADM_ASYNC_EVENT)
		return true;
	tq->cid_of[t->ttag] = cid;
	return true;
}

/* Park t until the pool has a buffer for it; the queue's waiters are
 * served in the order they came. */
static void tcp_wait_buf(struct tcp_queue *tq, struct tcp_req *t)
{
	t->state = REQ_WAIT_BUF;
	t->next_free = NULL;
	if (tq->wait_tail)
		tq->wait_tail->next_free = t;
	else
		tq->wait_head = t;
	tq->wait_tail = t;
}

/*
 * Check the SGL of a capsule against what NVMe/TCP allows and hand the
 * command to nvmf.c. TCP knows two data descriptors [TCP-1.0c §3.3.3]:
 * in-capsule data (Data Block, Offset subtype, offset 0 since ICDOFF is 0)
 * and data the controller will ask for by R2T (Transport Data Block).
 */
static void tcp_cmd_ready(struct tcp_req *t)
{
	struct tcp_queue *tq = container_of(t->req.q, struct tcp_queue, q);
	struct nvme_sgl *sgl = &t->req.sqe.dptr;
	uint32_t len = le32toh(sgl->length);
	uint8_t icd_type = NVME_SGL_TYPE_DATA_BLOCK << 4 | NVME_SGL_SUBTYPE_OFFSET;
	uint8_t r2t_type = NVME_SGL_TYPE_TRANSPORT_DATA_BLOCK << 4 | NVME_SGL_SUBTYPE_TRANSPORT;
	uint16_t status = 0;

	t->state = REQ_EXEC;
	t->req.data_len = len;
	if (!tcp_cid_claim(container_of(t->req.q, struct tcp_queue, q), t))
		status = NVME_SC_CID_CONFLICT;
	else if (t->ddgst_bad)
		status = NVME_SC_TRANSIENT_TRANSPORT;
	else if (t->req.icd_len && sgl->type != icd_type)
		status = NVME_SC_SGL_INVALID_TYPE;
	else if (sgl->type == icd_type && le64toh(sgl->addr) != 0)
		status = NVME_SC_SGL_INVALID_OFFSET;
	else if (sgl->type == icd_type && len != t->req.icd_len)
		status = NVME_SC_SGL_INVALID_DATA;
	else if (len && sgl->type != icd_type && sgl->type != r2t_type)
		status = NVME_SC_SGL_INVALID_TYPE;
	if (status) {
		t->req.data_len = 0;
		nvmf_req_fail(&t->req, status);
		return;
	}
	/* Before Connect a queue takes little data (Connect's is 1 KiB), so
	 * a peer that never connects cannot hold big buffers. */
	tq->q.max_data = tq->q.ctrl ? g_tcp_max_io_size : TCP_PRE_CONNECT_DATA;
	/* Data beyond MDTS needs no buffer: nvmf_req_exec() fails it. Nor
	 * does a read that goes out from the namespace's own memory; with a
	 * data digest it gets a buffer, a snapshot the CRC and the send
	 * agree on (nvmf_io_in_place says why). */
	if (len && !t->req.icd_len && len <= tq->q.max_data &&
	    (tq->ddgst || !nvmf_req_reads_in_place(&t->req)) && tcp_buf_get(tq, t, len)) {
		tcp_wait_buf(tq, t);
		return;
	}
	nvmf_req_exec(&t->req);
}

/*
 * H2CData: the host answers our R2T. The TTAG names the slot; the data
 * must continue exactly where the last PDU stopped and stay inside the
 * command [TCP-1.0c §3.6.2.7].
 */
static int tcp_handle_h2c_data(struct tcp_queue *tq)
{
	struct nvme_tcp_data *d = (struct nvme_tcp_data *)tq->pdu;
	uint16_t ttag = le16toh(d->ttag);
	uint32_t datao = le32toh(d->datao), datal = le32toh(d->datal);
	struct tcp_req *t;

	if (ttag >= tq->nr_slots || tq->reqs[ttag].state != REQ_WAIT_H2C)
		return tcp_fatal(tq, NVME_TCP_FES_INVALID_HEADER,
				 offsetof(struct nvme_tcp_data, ttag), "H2CData with unknown TTAG");
	t = &tq->reqs[ttag];
	if (le16toh(d->cccid) != le16toh(t->req.sqe.cid))
		return tcp_fatal(tq, NVME_TCP_FES_INVALID_HEADER,
				 offsetof(struct nvme_tcp_data, cccid), "H2CData CCCID does not match TTAG");
	if (datal != tcp_pdu_dlen(tq))
		return tcp_fatal(tq, NVME_TCP_FES_INVALID_HEADER,
				 offsetof(struct nvme_tcp_data, datal), "H2CData DATAL disagrees with PLEN");
	if (datao != t->h2c_next || datal == 0 || datao + datal > t->req.data_len)
		return tcp_fatal(tq, NVME_TCP_FES_DATA_RANGE,
				 offsetof(struct nvme_tcp_data, datao), "H2CData outside the R2T");
	if (datao + datal == t->req.data_len && !(d->hdr.flags & NVME_TCP_F_DATA_LAST))
		LOG_WARN("qid=%u cid=%u last H2CData without LAST_PDU", tq->q.qid,
			 le16toh(d->cccid));
	tcp_expect_data(tq, t, datao, datal);
	return 0;
}

/* ==================================================================== */
/* What nvmf.c calls: a response, a read's data, an R2T                 */
/* ==================================================================== */

/* Queue a C2HData PDU with all of a read's data. With SQ flow control
 * off, SUCCESS (set only with LAST_PDU) stands in for the CapsuleResp
 * [TCP-1.0c §3.6.2.8]. Returns true if that happened. */
static bool tcp_send_c2h(struct tcp_queue *tq, struct tcp_req *t)
{
	struct nvme_tcp_data *d = (struct nvme_tcp_data *)t->c2h;
	uint32_t len = t->req.xfer_len, hd = tcp_hd(tq);
	uint32_t pdo = (sizeof(*d) + hd + tq->c2h_align - 1) / tq->c2h_align * tq->c2h_align;
	bool success = tq->q.sqfc_disabled && t->req.cqe.status == 0 &&
		       t->req.cqe.dw0 == 0 && t->req.cqe.dw1 == 0;

	memset(t->c2h, 0, pdo);
	d->hdr.type = NVME_TCP_C2H_DATA;
	d->hdr.flags = NVME_TCP_F_DATA_LAST | (tq->hdgst ? NVME_TCP_F_HDGST : 0) |
		       (tq->ddgst ? NVME_TCP_F_DDGST : 0) |
		       (success ? NVME_TCP_F_DATA_SUCCESS : 0);
	d->hdr.hlen = sizeof(*d);
	d->hdr.pdo = pdo;
	d->hdr.plen = htole32(pdo + len + (tq->ddgst ? NVME_TCP_DIGEST_LEN : 0));
	d->cccid = t->req.sqe.cid;
	d->datao = 0;
	d->datal = htole32(len);
	tcp_send_hdr(tq, t->c2h, sizeof(*d), pdo, NULL);
	tcp_out_push(tq, t->req.data, len, success && !tq->ddgst ? t : NULL);
	if (t->req.in_place)
		tq->out[(tq->out_head + tq->out_count - 1) % tq->out_cap].blksz =
			t->req.ns->bdev->blksz;
	if (tq->ddgst) {
		t->ddgst = htole32(tcp_crc32c(t->req.data, len));
		tcp_out_push(tq, &t->ddgst, sizeof(t->ddgst), success ? t : NULL);
	}
	return success;
}

/* Send a finished command back: read data first, then the CapsuleResp
 * [TCP-1.0c §3.6.2.6]. The slot is freed when the last byte is sent. */
static void tcp_complete(struct nvmf_req *r)
{
	struct tcp_req *t = container_of(r, struct tcp_req, req);
	struct tcp_queue *tq = container_of(r->q, struct tcp_queue, q);
	struct nvme_tcp_rsp *rsp = (struct nvme_tcp_rsp *)t->rsp;

	if (tq->q.closing || tq->close_after_flush) {
		tcp_req_put(tq, t);
		return;
	}
	t->state = REQ_SENDING;
	if (r->xfer == XFER_C2H && r->xfer_len && tcp_send_c2h(tq, t))
		return;
	tcp_hdr_init(tq, rsp, NVME_TCP_RSP, sizeof(*rsp));
	rsp->cqe = r->cqe;
	tcp_send_hdr(tq, t->rsp, sizeof(*rsp), sizeof(*rsp) + tcp_hd(tq), t);
}

/*
 * Ask the host for a write's data with one R2T covering the whole command
 * [TCP-1.0c §3.6.2.9]; it answers with H2CData PDUs of at most MAXH2CDATA
 * bytes each.
 */
static void tcp_fetch_data(struct nvmf_req *r)
{
	struct tcp_req *t = container_of(r, struct tcp_req, req);
	struct tcp_queue *tq = container_of(r->q, struct tcp_queue, q);
	struct nvme_tcp_r2t *r2t = (struct nvme_tcp_r2t *)t->r2t;

	tcp_hdr_init(tq, r2t, NVME_TCP_R2T, sizeof(*r2t));
	r2t->cccid = r->sqe.cid;
	r2t->ttag = htole16(t->ttag);
	r2t->r2to = 0;
	r2t->r2tl = htole32(r->data_len);
	t->h2c_next = 0;
	t->state = REQ_WAIT_H2C;
	tcp_send_hdr(tq, t->r2t, sizeof(*r2t), sizeof(*r2t) + tcp_hd(tq), NULL);
}

/* ==================================================================== */
/* Send: one writev() for everything queued                             */
/* ==================================================================== */

/*
 * A send stopped inside a block of in-place read data, at the head of the
 * ring (o): copy the rest of that block into tq->tear now, before anything
 * else on this reactor can write to it, and step o past it; tcp_flush
 * sends tear first. So every block leaves whole, as it was at one instant
 * (AWUN, nvmf.c: nvmf_io_in_place). Blocks are at most a page and the
 * data starts on a block boundary (bdev.c: ram_map), so the address
 * alone says where in its block a send stopped:
 *
 *   namespace   |  block k  | block k+1 |
 *   sent        |=====|                      the kernel took this
 *   tear              |.....|                copied now, sent next
 *   o                       |=========...    still sent in place
 */
static void tcp_flush_tear(struct tcp_queue *tq, struct tcp_out *o)
{
	uint32_t in = o->blksz ? (uintptr_t)o->iov.iov_base & (o->blksz - 1) : 0;
	size_t k;

	if (!in)
		return;
	k = o->blksz - in < o->iov.iov_len ? o->blksz - in : o->iov.iov_len;
	memcpy(tq->tear, o->iov.iov_base, k);
	tq->tear_off = 0;
	tq->tear_len = k;
	o->iov.iov_base = (char *)o->iov.iov_base + k;
	o->iov.iov_len -= k;
}

/* The socket took sent bytes: the tear first, then the ring in order.
 * Fully sent entries leave the ring and finish their slots. */
static void tcp_out_advance(struct tcp_queue *tq, size_t sent)
{
	if (tq->tear_len) {
		size_t k = sent < tq->tear_len - tq->tear_off ? sent : tq->tear_len - tq->tear_off;

		tq->tear_off += k;
		sent -= k;
		if (tq->tear_off == tq->tear_len)
			tq->tear_off = tq->tear_len = 0;
	}
	while (tq->out_count) {
		struct tcp_out *o = &tq->out[tq->out_head];
		size_t k = sent < o->iov.iov_len ? sent : o->iov.iov_len;

		o->iov.iov_base = (char *)o->iov.iov_base + k;
		o->iov.iov_len -= k;
		sent -= k;
		if (o->iov.iov_len)
			tcp_flush_tear(tq, o);
		if (o->iov.iov_len)
			break;
		tq->out_head = (tq->out_head + 1) % tq->out_cap;
		tq->out_count--;
		if (o->req)
			tcp_req_put(tq, o->req);
	}
}

/* Send what is queued, in as few writev() calls as the socket allows.
 * Returns 0, or -errno when the connection is broken.
 *
 * Not implemented: MSG_ZEROCOPY for large sends, because the kernel would
 * read the pages at transmit time, after writev() returns (breaking the
 * rule of tcp_flush_tear, and holding a slot until a notification on the
 * error queue), and because data looped to a local socket is copied
 * anyway (the kernel's msg_zerocopy.rst, "Loopback"), so on the loopback
 * that make bench uses it cannot gain. */
static int tcp_flush(struct tcp_queue *tq)
{
	struct iovec iov[256];		/* a QD128 burst of reads: C2HData + data each */

	while (tcp_out_pending(tq)) {
		int n = 0;
		ssize_t sent;

		if (tq->tear_len)
			iov[n++] = (struct iovec){ tq->tear + tq->tear_off, tq->tear_len - tq->tear_off };
		for (uint32_t i = 0; n < (int)ARRAY_SIZE(iov) && i < tq->out_count; i++)
			iov[n++] = tq->out[(tq->out_head + i) % tq->out_cap].iov;
		sent = writev(tq->poller.fd, iov, n);
		if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (sent < 0)
			return -errno;
		tcp_out_advance(tq, sent);
	}
	/* Sleep on EPOLLOUT only while the socket is what holds us back. */
	if (tcp_out_pending(tq) != tq->want_out) {
		tq->want_out = tcp_out_pending(tq);
		tcp_set_events(tq);
	}
	if (!tcp_out_pending(tq) && tq->close_after_flush)
		return -ECONNABORTED;
	return 0;
}

/* ==================================================================== */
/* Setup, teardown and limits                                           */
/* ==================================================================== */

/*
 * A connection's memory is one anonymous mapping:
 *
 *   | struct tcp_queue | staging (64 KiB) | out[] ring | reqs[TCP_SLOTS] |
 *
 * The kernel gives a page only when it is first touched, so a connection
 * that never finishes Connect costs the pages of the struct, of the bytes
 * it was allowed to send (TCP_STAGING_SMALL until Connect) and of one
 * slot: a few KiB. Its whole size goes back to the kernel at munmap(),
 * whatever the heap holds around it. Data buffers are not here: they come
 * from the reactor's pool, command by command.
 */
static size_t tcp_queue_map_len(size_t *out_off, size_t *reqs_off)
{
	size_t staging_off = (sizeof(struct tcp_queue) + 63) & ~(size_t)63;

	*out_off = staging_off + TCP_STAGING_SIZE;
	*reqs_off = (*out_off + (TCP_SLOTS * TCP_OUT_PER_REQ + 4) * sizeof(struct tcp_out) + 63) &
		    ~(size_t)63;
	return *reqs_off + TCP_SLOTS * sizeof(struct tcp_req);
}

/* Map and set up a connection's state. Returns NULL when memory is short. */
static struct tcp_queue *tcp_queue_alloc(int fd)
{
	size_t out_off, reqs_off, len = tcp_queue_map_len(&out_off, &reqs_off);
	uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct tcp_queue *tq = (struct tcp_queue *)m;

	if (m == MAP_FAILED)
		return NULL;
	tq->map_len = len;		/* the rest is zero, as mmap() gives it */
	tq->q.ops = &tcp_ops;
	tq->q.max_data = TCP_PRE_CONNECT_DATA;	/* until Connect succeeds */
	tq->q.max_icd = NVMF_ADMIN_ICD;		/* until Connect says which queue */
	tq->poller.fd = fd;
	tq->poller.fn = tcp_queue_event;
	tq->c2h_align = 4;
	tq->staging = m + ((sizeof(*tq) + 63) & ~(size_t)63);
	tq->out = (struct tcp_out *)(m + out_off);
	tq->out_cap = TCP_SLOTS * TCP_OUT_PER_REQ + 4;
	tq->reqs = (struct tcp_req *)(m + reqs_off);
	memset(tq->cid_of, 0xff, sizeof(tq->cid_of));	/* TCP_CID_NONE */
	return tq;
}

/*
 * tcp_accept.c has accepted fd from peer on listener l: give it a queue
 * and hand it to a reactor, round-robin. door is its place "in the door"
 * until Connect. Returns 0, or -ENOMEM.
 */
int tcp_queue_open(int fd, struct nvmf_listener *l, const char *peer, struct door *door)
{
	struct tcp_queue *tq = tcp_queue_alloc(fd);
	socklen_t llen = sizeof(tq->q.local);

	if (!tq)
		return -ENOMEM;
	tq->q.listener = l;
	tq->door = door;
	tq->door_ms = nvmf_now_ms();
	getsockname(fd, (struct sockaddr *)&tq->q.local, &llen);
	snprintf(tq->q.peer, sizeof(tq->q.peer), "%s", peer);
	LOG_DBG("connection from %s on %s:%s", tq->q.peer, l->traddr, l->trsvcid);
	tq->q.reactor = nvmf_reactor_next();
	nvmf_reactor_add_queue(&tq->q);
	return 0;
}

/* Close the connection. Slots still with a backend stay until they come
 * back; tcp_reactor_poll() frees the queue after that. */
static void tcp_queue_close(struct nvmf_queue *q)
{
	struct tcp_queue *tq = container_of(q, struct tcp_queue, q);

	if (q->closing)
		return;
	q->closing = true;
	door_leave(&tq->door);		/* its place goes to the next */
	LOG_DBG("qid=%u %s closing", q->qid, q->peer);
	nvmf_reactor_unwatch(q->reactor, &tq->poller);
	/* Send FIN after anything queued, and drain what the host sent, so
	 * the close does not turn into a RST that overtakes a TermReq. */
	shutdown(tq->poller.fd, SHUT_WR);
	while (recv(tq->poller.fd, tq->staging, TCP_STAGING_SIZE, MSG_DONTWAIT) > 0)
		;
	close(tq->poller.fd);
	tq->poller.fd = -1;
	/* Slots waiting on the host or for a buffer will never finish: free
	 * them (and their buffers) now. */
	for (unsigned i = 0; i < tq->nr_slots; i++) {
		struct tcp_req *t = &tq->reqs[i];

		if (t->state == REQ_RECV_ICD || t->state == REQ_WAIT_H2C ||
		    t->state == REQ_SENDING || t->state == REQ_WAIT_BUF)
			tcp_req_put(tq, t);
	}
	tq->wait_head = tq->wait_tail = NULL;
	tq->rx_paused = false;
	tq->out_count = 0;
	tq->tear_off = tq->tear_len = 0;
	nvmf_queue_closed(q);
}

/* Set MDTS over TCP and the size of each reactor's buffer pool, as the
 * command line (-i, --buffer-pool) or nvmf_create_transport asks. */
int tcp_set_buffers(uint64_t max_io, uint64_t pool, char *err, size_t errlen)
{
	if (nvmf_check_buffers(max_io, pool, err, errlen))
		return -EINVAL;
	g_tcp_max_io_size = max_io;
	g_buf_pool_size = pool;
	return 0;
}

static const struct nvmf_transport_ops tcp_ops = {
	.name = "tcp",
	.trtype = NVMF_TRTYPE_TCP,
	.start = tcp_start,
	.fetch_data = tcp_fetch_data,
	.complete = tcp_complete,
	.close = tcp_queue_close,
};

/* ==================================================================== */
/* Helpers shared with host_queue.c: digests, header checks, trace      */
/* ==================================================================== */

/* CRC32C, the iSCSI polynomial [TCP-1.0c §3.3.4]: seed ~0, result
 * inverted. ISA-L's crc32_iscsi() does neither, so we do both. */
uint32_t tcp_crc32c_update(uint32_t crc, const void *buf, size_t len)
{
	return crc32_iscsi((unsigned char *)buf, (int)len, crc);
}

uint32_t tcp_crc32c(const void *buf, size_t len)
{
	return ~tcp_crc32c_update(~0u, buf, len);
}

/* Header length of each PDU type, and whether it may carry a header
 * digest and data [TCP-1.0c Fig. 21, §3.6.2]. */
struct tcp_pdu_rule {
	uint8_t hlen;
	bool digests;
	bool data;
};

static const struct tcp_pdu_rule tcp_rules[] = {
	[NVME_TCP_ICREQ] = { 128, false, false },
	[NVME_TCP_ICRESP] = { 128, false, false },
	[NVME_TCP_H2C_TERM] = { 24, false, true },
	[NVME_TCP_C2H_TERM] = { 24, false, true },
	[NVME_TCP_CMD] = { 72, true, true },
	[NVME_TCP_RSP] = { 24, true, false },
	[NVME_TCP_H2C_DATA] = { 24, true, true },
	[NVME_TCP_C2H_DATA] = { 24, true, true },
	[NVME_TCP_R2T] = { 24, true, false },
};

/* The header check failed at byte off of the header: that is the FEI a
 * TermReq carries, and the error is a protocol one. */
static int tcp_hdr_bad(uint32_t *fei, size_t off)
{
	*fei = off;
	return -EPROTO;
}

/*
 * Check a common header before trusting hlen, pdo or plen [TCP-1.0c
 * §3.6.1]. hdgst/ddgst say what was negotiated, cpda the data alignment
 * the receiver asked for (in 4-byte units, 0's based), max_data the
 * largest data part this PDU type may carry here. On error returns
 * -EPROTO with the TermReq FES and FEI (byte offset of the bad field).
 */
int tcp_hdr_check(const struct nvme_tcp_hdr *h, bool hdgst, bool ddgst,
		  uint32_t cpda, uint32_t max_data, uint16_t *fes, uint32_t *fei)
{
	uint32_t plen = le32toh(h->plen);
	const struct tcp_pdu_rule *rule;
	uint32_t hd, dd, dlen;

	*fes = NVME_TCP_FES_INVALID_HEADER;
	if (h->type >= ARRAY_SIZE(tcp_rules) || tcp_rules[h->type].hlen == 0)
		return tcp_hdr_bad(fei, offsetof(struct nvme_tcp_hdr, type));
	rule = &tcp_rules[h->type];
	if (h->hlen != rule->hlen)
		return tcp_hdr_bad(fei, offsetof(struct nvme_tcp_hdr, hlen));
	hd = rule->digests && hdgst ? NVME_TCP_DIGEST_LEN : 0;
	if (rule->digests && !!(h->flags & NVME_TCP_F_HDGST) != hdgst)
		return tcp_hdr_bad(fei, offsetof(struct nvme_tcp_hdr, flags));
	if (plen < h->hlen + hd)
		return tcp_hdr_bad(fei, offsetof(struct nvme_tcp_hdr, plen));
	if (plen == h->hlen + hd)
		return 0;			/* no data */
	if (!rule->data)
		return tcp_hdr_bad(fei, offsetof(struct nvme_tcp_hdr, plen));
	if (!rule->digests) {			/* TermReq: header copy */
		if (plen > h->hlen + (uint32_t)NVME_TCP_TERM_MAX_DATA)
			return tcp_hdr_bad(fei, offsetof(struct nvme_tcp_hdr, plen));
		return 0;
	}
	if (!!(h->flags & NVME_TCP_F_DDGST) != ddgst)
		return tcp_hdr_bad(fei, offsetof(struct nvme_tcp_hdr, flags));
	dd = ddgst ? NVME_TCP_DIGEST_LEN : 0;
	if (h->pdo < h->hlen + hd || h->pdo % ((cpda + 1) * 4) ||
	    (uint32_t)h->pdo + dd >= plen)
		return tcp_hdr_bad(fei, offsetof(struct nvme_tcp_hdr, pdo));
	dlen = plen - h->pdo - dd;
	if (dlen > max_data) {
		*fes = NVME_TCP_FES_R2T_LIMIT;
		return tcp_hdr_bad(fei, offsetof(struct nvme_tcp_hdr, plen));
	}
	return 0;
}

/* Append a header digest after hlen bytes of header when on (negotiated)
 * [TCP-1.0c §3.3.4]; hdr must have 4 bytes of room after the header. */
void tcp_put_hdgst(uint8_t *hdr, uint32_t hlen, bool on)
{
	uint32_t crc;

	if (!on)
		return;
	crc = htole32(tcp_crc32c(hdr, hlen));
	memcpy(hdr + hlen, &crc, sizeof(crc));
}

/* One readable line per PDU, for --trace (trace.c writes it); dir is
 * "->" or "<-", psh the PDU header. */
void tcp_trace_pdu(const char *dir, const struct nvme_tcp_hdr *h, const void *psh)
{
	char line[TRACE_LINE_MAX];

	nvmf_trace("tcp %s %s", dir, trace_pdu(line, sizeof(line), h, psh));
}
