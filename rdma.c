/*
 * rdma.c - NVMe/RDMA, the target side [RDMA-1.0c], on libibverbs and
 * librdmacm. Built only when pkg-config finds both (see GNUmakefile).
 *
 * This file moves capsules and data; it knows nothing of what a command
 * means. A host connection is a struct rdma_queue: one RC queue pair, made
 * through the RDMA CM, per NVMe queue. A command slot is a struct rdma_req,
 * which wraps the struct nvmf_req that nvmf.c works on.
 *
 *   CM REQ (private data: qid, sizes) --> check --> REJ (status) or
 *        CQ, QP on the device's PD, 4 RECVs under one small MR --> REP
 *
 *   host SEND (capsule: SQE + in-capsule data) --> RECV completion
 *        --> SGL: in-capsule (offset) | keyed (addr, len, rkey), up to MSDBD
 *        --> nvmf_req_exec()
 *   write data not in the capsule:  RDMA READ from the host --> data_ready
 *   read data:                      RDMA WRITE to the host, then
 *   the response (CQE):             SEND, or SEND with Invalidate of the rkey
 *
 * Everything is polled: the reactor calls rdma_reactor_poll() every pass,
 * which reaps each queue's CQ in batches. When the reactor sleeps, an armed
 * CQ (ibv_req_notify_cq) wakes its completion channel fd in epoll, and
 * each queue's own RDMA CM channel fd brings DISCONNECTED and friends.
 *
 * Memory. A queue registers only capsules and responses: at accept a
 * response per slot and 4 receives (~40 KiB, all a Connect needs), at
 * Connect a receive per entry; so too its 8 slots and small CQ grow only
 * at Connect (rdma_queue_grow()). Data for RDMA READ and WRITE is lent per
 * command by the reactor's pool (bdev.c), each buffer registered once per
 * device and cached (rdma_mem.c): memory follows the bytes in flight, not
 * the queues. A command that finds the pool full waits, as on TCP. The
 * send queue, which rxe keeps in our memory, is sized for what is usually
 * in flight and counted (rdma_sq_take()): a chain of work requests that
 * does not fit waits, oldest first, and never fails.
 *
 * Not implemented: the host's own memory keys for our buffers (a target
 * never exposes memory: it reads and writes the host's); iWARP's
 * peer-to-peer start (rxe and RoCE do not need it); more than one rkey to
 * invalidate per command (the Linux host registers one MR per command).
 *
 * The host side's queue (rdma_host_*, for `nvmf discover|identify|perf
 * -r trtype:RDMA`) is in host_queue.c, beside the host's TCP queue; it
 * shares rdma_rej_str() (rdma_parse.c), rdma_have_device(),
 * rdma_nonblock() and rdma_memlock_hint() (rdma_mem.c) with it.
 *
 * What the host sends is judged from its bytes alone in rdma_parse.c
 * (the CM request's private data, a capsule's SGL), which the fuzzer
 * feeds without a device.
 *
 * Tutorial chapter 06 reads this file top to bottom.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <endian.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include "nvmf.h"

/*
 * Names. librdmacm owns rdma_listen(), rdma_accept(), rdma_reject(),
 * rdma_connect() and rdma_disconnect(), so this file's entry points are
 * rdma_port_listen() and rdma_port_unlisten(); everything else keeps the
 * rdma_ prefix of its file, so grep finds the owner.
 */

/* ==================================================================== */
/* Constants                                                           */
/* ==================================================================== */

#define RDMA_CQ_BATCH		32		/* ibv_poll_cq() entries per call */
#define RDMA_CQ_BUDGET		4		/* batches per queue per pass */
#define RDMA_CQ_ACK_EVERY	64		/* ibv_ack_cq_events() batching */
#define RDMA_BACKLOG		128
#define RDMA_NO_CID		UINT32_MAX	/* a slot that holds no CID */
#define RDMA_PRE_DATA		8192		/* MDTS until Connect */
#define RDMA_PRE_RECVS		4		/* receives posted until Connect */
#define RDMA_PRE_SLOTS		(2 * RDMA_PRE_RECVS)	/* command slots until Connect */
#define RDMA_PRE_SQ		(NVMF_RDMA_MSDBD + 1)	/* send-queue entries until Connect */
#define RDMA_SQ_PER_ENTRY	3		/* send-queue entries per queue entry */

/* ==================================================================== */
/* Structs                                                             */
/* ==================================================================== */

/*
 * Every work request carries, in wr_id, a pointer to one of these, so a
 * completion says by itself what finished. The kind is needed because an
 * error completion's opcode is undefined [ibv_poll_cq(3)].
 */
enum rdma_wr_kind {
	RDMA_WR_RECV,		/* a capsule arrived (signaled) */
	RDMA_WR_READ,		/* the last RDMA READ of a command (signaled) */
	RDMA_WR_READ_PART,	/* an earlier READ: completes only on error */
	RDMA_WR_WRITE,		/* RDMA WRITE of read data: only on error */
	RDMA_WR_SEND,		/* the response (signaled) */
};

struct rdma_wr_ctx {
	enum rdma_wr_kind kind;
};

/* One posted receive: an SQE and up to RDMA_ICD bytes, scattered so that
 * the in-capsule data, used in place, starts on a page (a file backend
 * writes an unaligned buffer through the page cache, not O_DIRECT). */
struct rdma_recv {
	struct rdma_wr_ctx ctx;
	uint8_t *sqe;			/* 64 bytes */
	uint8_t *icd;			/* RDMA_ICD bytes, page-aligned */
	struct ibv_sge sge[2];
	struct ibv_recv_wr wr;
};

/*
 * A slot's life. The host's SQE is copied into a free slot, then:
 *
 *   FREE -> [WAIT_BUF] -> EXEC (nvmf.c / backend) -> [WAIT_READ] -> READING (RDMA READ) -> EXEC
 *                                                -> [WAIT_SEND] -> SENDING (WRITEs + SEND) -> FREE
 *
 * Keyed-SGL data lives in a buffer the reactor's pool lends from EXEC to
 * FREE (a full pool: WAIT_BUF, never a failure); in-capsule data stays in
 * its receive buffer, which goes back to the RQ as the response is posted.
 * A chain of work requests that finds too few free send-queue entries
 * waits in WAIT_READ or WAIT_SEND, oldest first (rdma_sq_retry()).
 */
enum rdma_req_state {
	RDMA_REQ_FREE,
	RDMA_REQ_WAIT_BUF,	/* the reactor's pool is full: waits for a buffer */
	RDMA_REQ_EXEC,		/* with nvmf.c or the backend */
	RDMA_REQ_WAIT_READ,	/* send queue full: waits to post its READs */
	RDMA_REQ_READING,	/* RDMA READ of the host's write data */
	RDMA_REQ_WAIT_SEND,	/* send queue full: waits to post WRITEs + SEND */
	RDMA_REQ_SENDING,	/* WRITEs and the response posted */
};

struct rdma_req {
	struct nvmf_req req;
	enum rdma_req_state state;
	struct rdma_wr_ctx read_ctx, read_part_ctx, write_ctx, send_ctx;
	struct rdma_capsule cap;	/* its SGL, decoded */
	uint32_t lkey;			/* of the MR that req.data lies in */
	uint32_t buf_cap;		/* req.data is the pool's, this big; 0: not */
	struct rdma_recv *held;		/* req.data lies in this receive (ICD) */
	struct nvme_cqe *rsp;		/* in the MR: what the SEND carries */
	unsigned sq_held;		/* send-queue entries its posted chain holds */
	unsigned idx;			/* its place in cid_of */
	struct rdma_req *next_free;	/* the free list, or a wait list */
};

struct rdma_queue {
	struct nvmf_queue q;
	struct rdma_cm_id *id;
	struct rdma_event_channel *cm_ch;	/* this queue's CM events */
	struct ibv_comp_channel *comp_ch;	/* CQ wakeups while we sleep */
	struct ibv_pd *pd;			/* the device's: struct rdma_pd */
	struct ibv_cq *cq;
	struct ibv_mr *mr;			/* over mem */
	struct nvmf_poller cm_poller, cq_poller;
	bool watched;			/* pollers are in the reactor's epoll */
	bool armed;			/* ibv_req_notify_cq() is pending */
	bool disconnected;		/* the CM said so: no rdma_disconnect() */
	bool send_inv;			/* SEND with Invalidate works here */
	bool grown;			/* Connect succeeded: every receive posted */
	unsigned cq_events;		/* not yet acknowledged */
	uint16_t entries;		/* HSQSIZE + 1: receives at Connect */
	uint16_t nr_recvs;		/* receives we have (RDMA_PRE_RECVS first) */

	uint8_t *mem;			/* responses | the first receive buffers */
	size_t mem_len;
	uint8_t *more;			/* the other receive buffers, from Connect */
	struct ibv_mr *more_mr;
	struct rdma_recv *recvs;
	struct rdma_req *reqs, *more_reqs;	/* RDMA_PRE_SLOTS at accept, the rest at Connect */
	unsigned nr_reqs;
	struct rdma_req *free_reqs;
	unsigned nr_busy;
	struct rdma_req *wait_head, *wait_tail;	/* WAIT_BUF, oldest first */
	unsigned wait_gen;		/* pool gen when we last found it full */
	unsigned sq_size;		/* send-queue entries (max_send_wr) */
	unsigned sq_free;		/* of those, not held by a posted chain */
	struct rdma_req *sq_head, *sq_tail;	/* WAIT_READ/WAIT_SEND, oldest first */
	uint32_t *cid_of;		/* per slot: the CID it holds, or RDMA_NO_CID */
	struct door *door;		/* until Connect: see tcp_accept.c */
	uint64_t door_ms;		/* when the CM request came */
};

/* A listening CM id and its event channel, in nvmf_listener.priv. */
struct rdma_port {
	struct rdma_event_channel *ch;
	struct rdma_cm_id *id;
};

static const struct nvmf_transport_ops rdma_ops;

/* ==================================================================== */
/* Helpers                                                             */
/* ==================================================================== */

/* What one queue of n entries pins before Connect: a response per slot
 * (two per entry) and RDMA_PRE_RECVS receives, all a Connect needs: 36
 * KiB for the admin queue's 32 entries, 40 KiB for 128 (page-rounded). */
static size_t rdma_queue_mem_pre(unsigned entries)
{
	return (size_t)entries * 2 * sizeof(struct nvme_cqe) +
	       (size_t)RDMA_PRE_RECVS * RDMA_CAPSULE_SIZE;
}

/* ... and once connected: a receive per entry (258 KiB for 32 entries,
 * 1 MiB for 128). Data buffers are the reactor's pool's. */
static size_t rdma_queue_mem(unsigned entries)
{
	unsigned more = entries > RDMA_PRE_RECVS ? entries - RDMA_PRE_RECVS : 0;

	return rdma_queue_mem_pre(entries) + (size_t)more * RDMA_CAPSULE_SIZE;
}

/* ==================================================================== */
/* Slots                                                               */
/* ==================================================================== */

static struct rdma_req *rdma_req_get(struct rdma_queue *rq)
{
	struct rdma_req *t = rq->free_reqs;

	if (!t)
		return NULL;
	rq->free_reqs = t->next_free;
	rq->nr_busy++;
	t->state = RDMA_REQ_EXEC;
	memset(&t->req.cqe, 0, sizeof(t->req.cqe));
	t->req.data_len = t->req.icd_len = t->req.xfer_len = 0;
	return t;
}

/* The slot is done: its data buffer goes back to the reactor's pool, and
 * a receive it still holds is dropped (the queue is closing: a live one
 * reposts it in rdma_complete()). */
static void rdma_req_put(struct rdma_queue *rq, struct rdma_req *t)
{
	if (t->buf_cap)
		nvmf_buf_put(&rq->q.reactor->pool, t->req.data, t->buf_cap);
	t->buf_cap = 0;
	t->held = NULL;
	t->req.data = NULL;
	rq->cid_of[t->idx] = RDMA_NO_CID;
	t->state = RDMA_REQ_FREE;
	t->next_free = rq->free_reqs;
	rq->free_reqs = t;
	rq->nr_busy--;
}

/* Give a receive buffer back to the RQ. Returns 0 or -errno. */
static int rdma_post_recv(struct rdma_queue *rq, struct rdma_recv *rv)
{
	struct ibv_recv_wr *bad;

	return -ibv_post_recv(rq->id->qp, &rv->wr, &bad);
}

/* ==================================================================== */
/* Receive: capsules (their SGLs are decoded in rdma_parse.c)         */
/* ==================================================================== */

/*
 * Claim t's CID for as long as t is outstanding (until its response is
 * posted). False if another command of this queue holds it: a CID is
 * unique among a queue's outstanding commands [BASE-2.0c §4.2, CDW0 CID],
 * and a second one gets Command ID Conflict [BASE-2.0c Fig. 94, 03h].
 * The compare loop has no early exit, so the compiler can vectorize it.
 */
static bool rdma_cid_claim(struct rdma_queue *rq, struct rdma_req *t)
{
	uint32_t cid = le16toh(t->req.sqe.cid);
	unsigned same = 0;

	for (unsigned i = 0; i < rq->nr_reqs; i++)
		same += rq->cid_of[i] == cid;
	if (same)
		return false;
	/* An Asynchronous Event Request waits for an event, and SPDK's host,
	 * shutting down, gives its AERs up without aborting them and reuses
	 * their CIDs (SPDK's target and nvmet accept that). So, as on TCP, an
	 * AER's CID is checked but not held. */
	if (rq->q.qid == 0 && t->req.sqe.opcode == NVME_ADM_ASYNC_EVENT)
		return true;
	rq->cid_of[t->idx] = cid;
	return true;
}

static void rdma_queue_close(struct nvmf_queue *q);
static int rdma_queue_grow(struct rdma_queue *rq);

/* What a decoded capsule says, for --trace. */
static void rdma_trace_capsule(struct rdma_queue *rq, struct rdma_req *t)
{
	nvmf_trace("rdma <- capsule qid=%u cid=%u opc=0x%02x sgl=0x%02x len=%u icd=%u keys=%u%s",
		   rq->q.qid, le16toh(t->req.sqe.cid), t->req.sqe.opcode, t->req.sqe.dptr.type,
		   t->cap.data_len, t->cap.icd_len, t->cap.nr_rsge,
		   t->cap.invalidate ? " invalidate" : "");
}

/* Append t to a wait list, oldest first: the send-queue waiters or the
 * buffer waiters (both linked through next_free). */
static void rdma_fifo_push(struct rdma_req **head, struct rdma_req **tail, struct rdma_req *t)
{
	t->next_free = NULL;
	if (*tail)
		(*tail)->next_free = t;
	else
		*head = t;
	*tail = t;
}

/* Park t until the pool has a buffer for it; the queue's waiters are
 * served in the order they came (rdma_retry_waiters()). */
static void rdma_wait_buf(struct rdma_queue *rq, struct rdma_req *t)
{
	t->state = RDMA_REQ_WAIT_BUF;
	rdma_fifo_push(&rq->wait_head, &rq->wait_tail, t);
}

/* Hand t to nvmf.c, or fail it if rdma_req_buf() returned an error. */
static void rdma_req_run(struct rdma_req *t, int rc)
{
	t->state = RDMA_REQ_EXEC;
	if (rc) {
		t->req.data_len = 0;
		return nvmf_req_fail(&t->req, NVME_SC_INTERNAL);
	}
	nvmf_req_exec(&t->req);
}

/* Lend t a registered buffer from the reactor's pool. Returns 0, -errno,
 * or -EAGAIN when the pool is full (rdma_reactor_poll() asks again when
 * pool.gen has moved past wait_gen). */
static int rdma_req_buf(struct rdma_queue *rq, struct rdma_req *t)
{
	int rc = rdma_buf_get(rq->q.reactor, rq->pd, t->req.data_len, &t->req.data, &t->buf_cap,
			      &t->lkey);

	if (rc == -EAGAIN)
		rq->wait_gen = rq->q.reactor->pool.gen;
	return rc;
}

/*
 * The command in t is decoded and its CID claimed: give it a data buffer
 * if its data is in the host's memory, and hand it to nvmf.c. Data beyond
 * MDTS needs no buffer (nvmf_req_exec() fails it), nor does in-capsule
 * data (it stays in its receive buffer). A full pool parks t.
 */
static void rdma_req_start(struct rdma_queue *rq, struct rdma_req *t)
{
	int rc = 0;

	if (rq->q.closing)		/* the receive could not be reposted */
		return rdma_req_put(rq, t);
	if (t->cap.nr_rsge && t->req.data_len <= rq->q.max_data &&
	    (rc = rdma_req_buf(rq, t)) == -EAGAIN)
		return rdma_wait_buf(rq, t);
	rdma_req_run(t, rc);
}

/*
 * A capsule arrived in rv (len bytes). Decode it into a free slot and
 * hand the command on. In-capsule data is used where it is, so rv stays
 * with the slot until the response goes out; any other capsule's buffer
 * goes back to the RQ at once. A host that sends more commands than the
 * queue holds, or a capsule no host may send, breaks the protocol: we
 * close the queue.
 */
static void rdma_recv_capsule(struct rdma_queue *rq, struct rdma_recv *rv, uint32_t len)
{
	struct rdma_req *t = rdma_req_get(rq);
	int status;

	if (!t) {
		LOG_ERR("qid=%u %s: more commands outstanding than the queue holds; closing",
			rq->q.qid, rq->q.peer);
		return rdma_queue_close(&rq->q);
	}
	status = rdma_capsule_decode_at(rv->sqe, rv->icd, len, &t->cap);
	if (status == -EPROTO) {
		LOG_ERR("qid=%u %s: capsule of %u bytes, an SQE is 64; closing", rq->q.qid,
			rq->q.peer, len);
		rdma_req_put(rq, t);
		return rdma_queue_close(&rq->q);
	}
	memcpy(&t->req.sqe, rv->sqe, sizeof(t->req.sqe));
	t->req.data_len = t->cap.data_len;
	t->req.icd_len = t->cap.icd_len;
	if (t->cap.icd_len && !status) {
		t->req.data = rv->icd + (t->cap.icd_off - sizeof(struct nvme_sqe));
		t->held = rv;
	} else if (rdma_post_recv(rq, rv)) {
		LOG_ERR("qid=%u %s: cannot repost a receive; closing", rq->q.qid, rq->q.peer);
		rdma_queue_close(&rq->q);
	}
	if (g_trace)
		rdma_trace_capsule(rq, t);
	if (!rdma_cid_claim(rq, t))
		status = NVME_SC_CID_CONFLICT;
	if (status) {
		LOG_WARN("qid=%u cid=%u %s: %s, status 0x%x", rq->q.qid, le16toh(t->req.sqe.cid),
			 rq->q.peer, status == NVME_SC_CID_CONFLICT ? "CID already outstanding"
			 : "bad SGL", status);
		t->req.data_len = 0;
		nvmf_req_fail(&t->req, status);
		return;
	}
	rdma_req_start(rq, t);
}

/* ==================================================================== */
/* Send: what nvmf.c asks of us                                        */
/* ==================================================================== */

/* Work requests being chained. ibv_post_send() copies them into the send
 * queue, so they live on the caller's stack, not in the slot. */
struct rdma_chain {
	struct ibv_send_wr wr[NVMF_RDMA_MSDBD + 1];
	struct ibv_sge lsge[NVMF_RDMA_MSDBD + 1];
};

/*
 * Chain one RDMA READ or WRITE per keyed descriptor over the first len
 * bytes of the slot's buffer, into ch->wr[0..n). All are unsignaled but
 * the caller may flag the last. Returns n.
 */
static unsigned rdma_build_rw(struct rdma_queue *rq, struct rdma_req *t, struct rdma_chain *ch,
			      enum ibv_wr_opcode op, uint32_t len)
{
	uint32_t done = 0;
	unsigned n = 0;

	for (unsigned i = 0; i < t->cap.nr_rsge && done < len; i++, n++) {
		uint32_t k = t->cap.rsge[i].len < len - done ? t->cap.rsge[i].len : len - done;

		ch->lsge[n] = (struct ibv_sge){ (uintptr_t)t->req.data + done, k, t->lkey };
		ch->wr[n] = (struct ibv_send_wr){
			.wr_id = (uintptr_t)(op == IBV_WR_RDMA_READ ? &t->read_part_ctx : &t->write_ctx),
			.sg_list = &ch->lsge[n], .num_sge = 1, .opcode = op,
			.wr.rdma = { .remote_addr = t->cap.rsge[i].addr, .rkey = t->cap.rsge[i].key },
		};
		if (n)
			ch->wr[n - 1].next = &ch->wr[n];
		if (g_trace)
			nvmf_trace("rdma -> %s qid=%u cid=%u len=%u addr=0x%llx key=0x%x",
				   op == IBV_WR_RDMA_READ ? "READ" : "WRITE", rq->q.qid,
				   le16toh(t->req.sqe.cid), k,
				   (unsigned long long)t->cap.rsge[i].addr, t->cap.rsge[i].key);
		done += k;
	}
	return n;
}

/*
 * Send-queue accounting. The send queue is sized for what is usually in
 * flight (rdma_queue_verbs()), not for every slot posting MSDBD + 1 work
 * requests at once, so we count its entries: a chain takes them as it is
 * posted and gives them all back when its last work request, the only
 * signaled one, completes (an RC send queue completes in order, so the
 * unsignaled ones before it are done too). A chain that does not fit
 * waits, and so does every chain after it: the waiters are strict FIFO,
 * so a response waits behind at most the chains that came before it,
 * each of which completes, and never for ever. A command's WRITEs and its
 * SEND are one chain, so the data always goes out before the response.
 *
 *   rdma_sq_take(): sq_free -= n, post | or wait on sq_head (WAIT_READ/WAIT_SEND)
 *   signaled completion: rdma_sq_give(): sq_free += n --> rdma_sq_retry()
 */

/* Send-queue entries that RDMA READs or WRITEs of the first len bytes of
 * t's data take: one per keyed descriptor they reach (rdma_build_rw()). */
static unsigned rdma_rw_count(const struct rdma_req *t, uint32_t len)
{
	uint32_t done = 0;
	unsigned n = 0;

	for (; n < t->cap.nr_rsge && done < len; n++)
		done += t->cap.rsge[n].len < len - done ? t->cap.rsge[n].len : len - done;
	return n;
}

/* ... and that t's response takes: the WRITEs of a read's data, the SEND. */
static unsigned rdma_send_count(const struct rdma_req *t)
{
	const struct nvmf_req *r = &t->req;

	return (r->xfer == XFER_C2H && r->xfer_len ? rdma_rw_count(t, r->xfer_len) : 0) + 1;
}

/* Take n send-queue entries for t's next chain, or, if they are not free
 * or others wait already, queue t behind them in state wait. Returns true
 * when t may post now. */
static bool rdma_sq_take(struct rdma_queue *rq, struct rdma_req *t, unsigned n,
			 enum rdma_req_state wait)
{
	if (!rq->sq_head && n <= rq->sq_free) {
		rq->sq_free -= n;
		t->sq_held = n;
		return true;
	}
	LOG_DBG("qid=%u cid=%u: %u send-queue entries needed, %u of %u free%s; waits",
		rq->q.qid, le16toh(t->req.sqe.cid), n, rq->sq_free, rq->sq_size,
		rq->sq_head ? " and others wait" : "");
	t->state = wait;
	rdma_fifo_push(&rq->sq_head, &rq->sq_tail, t);
	return false;
}

/* t's chain completed (its signaled work request came back): its entries
 * are free again. */
static void rdma_sq_give(struct rdma_queue *rq, struct rdma_req *t)
{
	rq->sq_free += t->sq_held;
	t->sq_held = 0;
}

/*
 * Post t's RDMA READs of a write's data from the host, one per keyed
 * descriptor [RDMA-1.0c §3.2], as one chain whose entries t holds. Only
 * the last is signaled: its completion means all the data is here.
 */
static void rdma_post_read(struct rdma_queue *rq, struct rdma_req *t)
{
	struct rdma_chain ch;
	struct ibv_send_wr *bad;
	unsigned n = rdma_build_rw(rq, t, &ch, IBV_WR_RDMA_READ, t->req.data_len);
	int rc;

	ch.wr[n - 1].wr_id = (uintptr_t)&t->read_ctx;
	ch.wr[n - 1].send_flags = IBV_SEND_SIGNALED;
	ch.wr[n - 1].next = NULL;
	t->state = RDMA_REQ_READING;
	rc = ibv_post_send(rq->id->qp, &ch.wr[0], &bad);
	if (rc) {
		LOG_ERR("qid=%u cid=%u: posting RDMA READ: %s; closing", rq->q.qid,
			le16toh(t->req.sqe.cid), strerror(rc));
		t->state = RDMA_REQ_EXEC;
		rdma_queue_close(&rq->q);
		nvmf_req_fail(&t->req, NVME_SC_DATA_XFER_ERROR);
	}
}

/* The core has a write whose data is in the host's memory: fetch it, now
 * or when the send queue has room (rdma_sq_retry()). */
static void rdma_fetch_data(struct nvmf_req *r)
{
	struct rdma_req *t = container_of(r, struct rdma_req, req);
	struct rdma_queue *rq = container_of(r->q, struct rdma_queue, q);
	unsigned n = rdma_rw_count(t, r->data_len);

	if (n == 0)		/* nothing keyed: the parse made sure of the length */
		return nvmf_req_data_ready(r);
	if (rdma_sq_take(rq, t, n, RDMA_REQ_WAIT_READ))
		rdma_post_read(rq, t);
}

/* Before the response goes out, so that the host's next capsules find
 * receives posted: the receive that held t's in-capsule data goes back to
 * the RQ, and a queue whose Connect just succeeded gets the rest of its
 * receives. Returns 0 or -errno (logged): the queue must close. */
static int rdma_before_response(struct rdma_queue *rq, struct rdma_req *t)
{
	struct rdma_recv *rv = t->held;

	t->held = NULL;
	if (rv && rdma_post_recv(rq, rv)) {
		LOG_ERR("qid=%u %s: cannot repost a receive; closing", rq->q.qid, rq->q.peer);
		return -EIO;
	}
	if (!rq->grown && rq->q.ctrl)		/* Connect succeeded */
		return rdma_queue_grow(rq);
	return 0;
}

/*
 * Post t's response: RDMA WRITEs of a read's data, then the CQE in a
 * SEND, as one chain whose entries t holds [RDMA-1.0c §3.2]. When the
 * host asked for it (keyed subtype Fh) the SEND invalidates its rkey,
 * which saves the host a local invalidate. The slot, and its data buffer,
 * are free once the SEND completes: the WRITEs before it read that buffer.
 */
static void rdma_post_response(struct rdma_queue *rq, struct rdma_req *t)
{
	struct nvmf_req *r = &t->req;
	struct ibv_send_wr *bad, *send;
	struct rdma_chain ch;
	unsigned n = 0;
	int rc;

	if (r->xfer == XFER_C2H && r->xfer_len)
		n = rdma_build_rw(rq, t, &ch, IBV_WR_RDMA_WRITE, r->xfer_len);
	*t->rsp = r->cqe;
	ch.lsge[n] = (struct ibv_sge){ (uintptr_t)t->rsp, sizeof(*t->rsp), rq->mr->lkey };
	send = &ch.wr[n];
	*send = (struct ibv_send_wr){ .wr_id = (uintptr_t)&t->send_ctx, .sg_list = &ch.lsge[n],
				      .num_sge = 1, .opcode = IBV_WR_SEND,
				      .send_flags = IBV_SEND_SIGNALED };
	if (t->cap.invalidate && rq->send_inv) {
		send->opcode = IBV_WR_SEND_WITH_INV;
		send->invalidate_rkey = t->cap.inv_key;
	}
	if (n)
		ch.wr[n - 1].next = send;
	t->state = RDMA_REQ_SENDING;
	rc = ibv_post_send(rq->id->qp, &ch.wr[0], &bad);
	if (rc == EINVAL && send->opcode == IBV_WR_SEND_WITH_INV && bad == send) {
		/* The provider lacks it: the Linux host then invalidates by itself. */
		LOG_WARN("qid=%u: this device cannot SEND with Invalidate; plain SEND from now on",
			 rq->q.qid);
		rq->send_inv = false;
		send->opcode = IBV_WR_SEND;
		rc = ibv_post_send(rq->id->qp, send, &bad);
	}
	if (rc) {
		LOG_ERR("qid=%u cid=%u: posting the response: %s; closing", rq->q.qid,
			le16toh(r->sqe.cid), strerror(rc));
		rdma_req_put(rq, t);
		rdma_queue_close(&rq->q);
	}
}

/* The core finished a command: send it back, now or when the send queue
 * has room. Its CID is free for the host from here. */
static void rdma_complete(struct nvmf_req *r)
{
	struct rdma_req *t = container_of(r, struct rdma_req, req);
	struct rdma_queue *rq = container_of(r->q, struct rdma_queue, q);

	rq->cid_of[t->idx] = RDMA_NO_CID;	/* the host may reuse it now */
	if (rq->q.closing)
		return rdma_req_put(rq, t);
	if (rdma_before_response(rq, t)) {
		rdma_req_put(rq, t);
		return rdma_queue_close(&rq->q);
	}
	if (rdma_sq_take(rq, t, rdma_send_count(t), RDMA_REQ_WAIT_SEND))
		rdma_post_response(rq, t);
}

/* Send-queue entries came back: post the waiting chains, oldest first,
 * until the next one does not fit. */
static void rdma_sq_retry(struct rdma_queue *rq)
{
	while (rq->sq_head && !rq->q.closing) {
		struct rdma_req *t = rq->sq_head;
		bool send = t->state == RDMA_REQ_WAIT_SEND;
		unsigned n = send ? rdma_send_count(t) : rdma_rw_count(t, t->req.data_len);

		if (n > rq->sq_free)
			break;
		if (!(rq->sq_head = t->next_free))
			rq->sq_tail = NULL;
		rq->sq_free -= n;
		t->sq_held = n;
		if (send)
			rdma_post_response(rq, t);
		else
			rdma_post_read(rq, t);
	}
}

/* ==================================================================== */
/* Completions                                                         */
/* ==================================================================== */

/* A work request failed. On a live queue that is fatal for the QP (an RC
 * QP goes to the error state); flushes after a close are expected. */
static void rdma_wc_error(struct rdma_queue *rq, const struct ibv_wc *wc, const char *what)
{
	if (!rq->q.closing && wc->status != IBV_WC_WR_FLUSH_ERR)
		LOG_ERR("qid=%u %s: %s failed: %s (vendor error 0x%x)%s; closing the queue",
			rq->q.qid, rq->q.peer, what, ibv_wc_status_str(wc->status), wc->vendor_err,
			wc->status == IBV_WC_REM_ACCESS_ERR ?
			" - the host's address or rkey was wrong" : "");
	rdma_queue_close(&rq->q);
}

/* One completion: wr_id names what finished (see enum rdma_wr_kind). */
static void rdma_wc(struct rdma_queue *rq, const struct ibv_wc *wc)
{
	struct rdma_wr_ctx *ctx = (struct rdma_wr_ctx *)(uintptr_t)wc->wr_id;
	bool ok = wc->status == IBV_WC_SUCCESS;
	struct rdma_req *t;

	switch (ctx->kind) {
	case RDMA_WR_RECV:
		if (!ok)
			return rdma_wc_error(rq, wc, "RECV");
		if (!rq->q.closing)
			rdma_recv_capsule(rq, container_of(ctx, struct rdma_recv, ctx), wc->byte_len);
		return;
	case RDMA_WR_READ:
		t = container_of(ctx, struct rdma_req, read_ctx);
		t->state = RDMA_REQ_EXEC;
		rdma_sq_give(rq, t);
		if (!ok) {
			rdma_wc_error(rq, wc, "RDMA READ of write data");
			return nvmf_req_fail(&t->req, NVME_SC_DATA_XFER_ERROR);
		}
		rdma_sq_retry(rq);	/* older waiters before this one's response */
		return nvmf_req_data_ready(&t->req);
	case RDMA_WR_READ_PART:
		return rdma_wc_error(rq, wc, "RDMA READ of write data");
	case RDMA_WR_WRITE:
		return rdma_wc_error(rq, wc, "RDMA WRITE of read data");
	case RDMA_WR_SEND:
		t = container_of(ctx, struct rdma_req, send_ctx);
		rdma_sq_give(rq, t);
		rdma_req_put(rq, t);
		if (!ok)
			return rdma_wc_error(rq, wc, "SEND of a response");
		return rdma_sq_retry(rq);
	}
}

/*
 * Reap up to RDMA_CQ_BUDGET batches from rq's CQ. A CQ found empty is
 * armed and then looked at once more (a completion that slipped in
 * between would otherwise raise no event), so when this returns with
 * budget to spare the CQ is armed and the reactor may sleep. With the
 * budget spent the reactor saw work and polls again before it sleeps.
 * Returns the number of completions handled.
 */
static int rdma_cq_poll(struct rdma_queue *rq)
{
	struct ibv_wc wc[RDMA_CQ_BATCH];
	int total = 0;

	for (int b = 0; b < RDMA_CQ_BUDGET;) {
		int n = ibv_poll_cq(rq->cq, RDMA_CQ_BATCH, wc);

		if (n < 0)
			break;
		if (n == 0) {
			if (rq->armed || rq->q.closing)
				break;
			if (ibv_req_notify_cq(rq->cq, 0))
				break;
			rq->armed = true;
			continue;
		}
		for (int i = 0; i < n; i++)
			rdma_wc(rq, &wc[i]);
		total += n;
		b++;
	}
	return total;
}

/* The completion channel fired: the CQ has work and is no longer armed.
 * rdma_reactor_poll(), right after, reaps it. */
static void rdma_cq_event(struct nvmf_poller *p, uint32_t events)
{
	struct rdma_queue *rq = container_of(p, struct rdma_queue, cq_poller);
	struct ibv_cq *cq;
	void *ctx;

	(void)events;
	while (ibv_get_cq_event(rq->comp_ch, &cq, &ctx) == 0) {
		rq->armed = false;
		if (++rq->cq_events >= RDMA_CQ_ACK_EVERY) {
			ibv_ack_cq_events(rq->cq, rq->cq_events);
			rq->cq_events = 0;
		}
	}
}

/* ==================================================================== */
/* Connection events and teardown                                      */
/* ==================================================================== */

/* Events on a queue's own CM channel: the host left, or the device did.
 * (ESTABLISHED needs nothing: the QP is ready once we accepted.) */
static void rdma_cm_queue_event(struct nvmf_poller *p, uint32_t events)
{
	struct rdma_queue *rq = container_of(p, struct rdma_queue, cm_poller);
	struct rdma_cm_event *ev;

	(void)events;
	while (!rq->q.closing && rdma_get_cm_event(rq->cm_ch, &ev) == 0) {
		enum rdma_cm_event_type type = ev->event;

		rdma_ack_cm_event(ev);
		LOG_DBG("qid=%u %s: %s", rq->q.qid, rq->q.peer, rdma_event_str(type));
		switch (type) {
		case RDMA_CM_EVENT_ESTABLISHED:
			break;
		case RDMA_CM_EVENT_DEVICE_REMOVAL:
			LOG_ERR("qid=%u %s: the RDMA device went away; closing", rq->q.qid, rq->q.peer);
			/* fall through */
		default:	/* DISCONNECTED, TIMEWAIT_EXIT, REJECTED, ... */
			rq->disconnected = true;
			rdma_queue_close(&rq->q);
			break;
		}
	}
}

/* Chains that waited for the send queue were never posted, so no flush
 * brings them back: a response is dropped with its slot, and a write that
 * waited to fetch its data fails (its response is dropped in turn). */
static void rdma_sq_drain(struct rdma_queue *rq)
{
	while (rq->sq_head) {
		struct rdma_req *t = rq->sq_head;

		rq->sq_head = t->next_free;
		if (t->state == RDMA_REQ_WAIT_SEND) {
			rdma_req_put(rq, t);
			continue;
		}
		t->state = RDMA_REQ_EXEC;
		nvmf_req_fail(&t->req, NVME_SC_DATA_XFER_ERROR);
	}
	rq->sq_tail = NULL;
}

/*
 * Close the queue: stop watching its fds, disconnect (which moves the QP
 * to the error state, so every posted work request comes back flushed),
 * and detach from the controller. Slots still with a backend, a READ or a
 * SEND come back later; rdma_reactor_poll() frees the queue after that.
 */
static void rdma_queue_close(struct nvmf_queue *q)
{
	struct rdma_queue *rq = container_of(q, struct rdma_queue, q);
	struct ibv_qp_attr attr = { .qp_state = IBV_QPS_ERR };

	if (q->closing)
		return;
	q->closing = true;
	LOG_DBG("qid=%u %s closing", q->qid, q->peer);
	if (rq->watched) {
		nvmf_reactor_unwatch(q->reactor, &rq->cm_poller);
		nvmf_reactor_unwatch(q->reactor, &rq->cq_poller);
		rq->watched = false;
	}
	if (!rq->disconnected)
		rdma_disconnect(rq->id);
	if (rq->id->qp)
		ibv_modify_qp(rq->id->qp, &attr, IBV_QP_STATE);
	/* Slots waiting for a buffer never started: free them now. */
	for (struct rdma_req *t = rq->wait_head, *next; t; t = next) {
		next = t->next_free;
		rdma_req_put(rq, t);
	}
	rq->wait_head = rq->wait_tail = NULL;
	door_leave(&rq->door);		/* its place goes to the next */
	nvmf_queue_closed(q);
	rdma_sq_drain(rq);
}

/* Release everything a queue holds, in reverse order of creation. Safe
 * on a half-built queue. The CM id goes last: destroying it waits for
 * its acknowledged events. */
static void rdma_queue_free(struct rdma_queue *rq)
{
	if (rq->id && rq->id->qp)
		rdma_destroy_qp(rq->id);
	if (rq->mr)
		ibv_dereg_mr(rq->mr);
	if (rq->more_mr)
		ibv_dereg_mr(rq->more_mr);
	if (rq->cq) {
		ibv_ack_cq_events(rq->cq, rq->cq_events);
		ibv_destroy_cq(rq->cq);
	}
	if (rq->comp_ch)
		ibv_destroy_comp_channel(rq->comp_ch);
	if (rq->id)
		rdma_destroy_id(rq->id);
	if (rq->cm_ch)
		rdma_destroy_event_channel(rq->cm_ch);
	free(rq->mem);
	free(rq->more);
	free(rq->recvs);
	free(rq->reqs);
	free(rq->more_reqs);
	free(rq->cid_of);
	door_leave(&rq->door);
	free(rq);
}

/* ==================================================================== */
/* Setup: a queue for an accepted connection                           */
/* ==================================================================== */

/* Receive i of n carved from area (| n in-capsule areas | n SQEs |),
 * under lkey, ready to post. */
static void rdma_recv_init(struct rdma_recv *rv, uint8_t *area, unsigned i, unsigned n,
			   uint32_t lkey)
{
	rv->ctx.kind = RDMA_WR_RECV;
	rv->icd = area + (size_t)i * RDMA_ICD;
	rv->sqe = area + (size_t)n * RDMA_ICD + (size_t)i * sizeof(struct nvme_sqe);
	rv->sge[0] = (struct ibv_sge){ (uintptr_t)rv->sqe, sizeof(struct nvme_sqe), lkey };
	rv->sge[1] = (struct ibv_sge){ (uintptr_t)rv->icd, RDMA_ICD, lkey };
	rv->wr = (struct ibv_recv_wr){ .wr_id = (uintptr_t)&rv->ctx, .sg_list = rv->sge,
				       .num_sge = 2 };
}

/* Free slots slots[0..n), numbered from nr_reqs on, their responses in
 * the registered allocation made at accept (with a response for every slot):
 *
 *   mem: | in-capsule data: nr_recvs * 8 KiB | SQEs: nr_recvs * 64 | CQEs: entries * 2 * 16 |
 *
 * The other receives and slots come at Connect (rdma_queue_grow()); a
 * data buffer comes from the reactor's pool for each command needing one.
 */
static void rdma_slots_add(struct rdma_queue *rq, struct rdma_req *slots, unsigned n)
{
	unsigned pre = rq->entries < RDMA_PRE_RECVS ? rq->entries : RDMA_PRE_RECVS;
	struct nvme_cqe *rsps = (void *)(rq->mem + (size_t)pre * RDMA_CAPSULE_SIZE);

	for (int i = n - 1; i >= 0; i--) {
		struct rdma_req *t = &slots[i];

		t->idx = rq->nr_reqs + i;
		t->req.q = &rq->q;
		t->rsp = &rsps[t->idx];
		t->read_ctx.kind = RDMA_WR_READ;
		t->read_part_ctx.kind = RDMA_WR_READ_PART;
		t->write_ctx.kind = RDMA_WR_WRITE;
		t->send_ctx.kind = RDMA_WR_SEND;
		rq->cid_of[t->idx] = RDMA_NO_CID;
		t->next_free = rq->free_reqs;
		rq->free_reqs = t;
	}
	rq->nr_reqs += n;
}

/*
 * The verbs objects: the device's PD, completion channel, CQ, QP, and the
 * MR over mem. Returns 0, or an NVMe/RDMA reject status with why filled.
 *
 * A QP cannot be resized, and this one is made at accept, before Connect,
 * so its send queue is sized for what is usually in flight, not for the
 * worst case (every slot's MSDBD + 1 work requests at once: 2304 entries
 * for 128, about 1.3 MiB of rxe's queues and CQ per queue that may never
 * send Connect). A command posts one chain at a time, its READs or its WRITEs
 * and SEND, one or two entries with the one keyed descriptor the Linux
 * host sends: 2 per entry lets the host's whole queue depth move data at
 * once, and a third covers the slots whose response the host has seen
 * but whose SEND completion we have not reaped yet (rxe rounds a queue
 * of n entries up to a power of two above n, so for 128 entries the third
 * costs nothing over "2 and a little"). A chain that finds
 * the send queue full waits (rdma_sq_take()) and never fails; one whole
 * chain always fits, or it would wait for ever. The CQ takes every send
 * and every receive: after a close all come back flushed, signaled or not.
 * Until Connect that is RDMA_PRE_RECVS receives and RDMA_PRE_SQ sends (one
 * whole chain; Connect's response is one SEND); rdma_queue_grow() resizes.
 */
static uint16_t rdma_queue_verbs(struct rdma_queue *rq, char *why, size_t wlen)
{
	struct ibv_context *dev = rq->id->verbs;
	unsigned max_send = rq->entries * RDMA_SQ_PER_ENTRY;
	struct ibv_qp_init_attr qa = { 0 };
	char hint[256];

	if (max_send < NVMF_RDMA_MSDBD + 1)		/* a queue of 2 entries */
		max_send = NVMF_RDMA_MSDBD + 1;
	rq->pd = rdma_pd_get(dev);
	rq->comp_ch = rq->pd ? ibv_create_comp_channel(dev) : NULL;
	rq->cq = rq->comp_ch ? ibv_create_cq(dev, RDMA_PRE_SQ + rq->nr_recvs, rq, rq->comp_ch, 0)
			     : NULL;
	if (!rq->cq || rdma_nonblock(rq->comp_ch->fd)) {
		snprintf(why, wlen, "cannot create PD/CQ on %s: %s%s",
			 ibv_get_device_name(dev->device), strerror(errno),
			 errno == EMFILE || errno == ENFILE ? " (raise ulimit -n)" : "");
		return NVME_RDMA_CM_NO_RSC;
	}
	rq->sq_size = max_send;
	rq->sq_free = RDMA_PRE_SQ;	/* the rest at Connect */
	qa.send_cq = qa.recv_cq = rq->cq;
	qa.qp_type = IBV_QPT_RC;
	qa.cap.max_send_wr = max_send;
	qa.cap.max_recv_wr = rq->entries;
	qa.cap.max_send_sge = 1;
	qa.cap.max_recv_sge = 2;		/* SQE | in-capsule data */
	if (rdma_create_qp(rq->id, rq->pd, &qa)) {
		snprintf(why, wlen, "cannot create a QP of %u send and %u receive entries: %s",
			 max_send, rq->entries, strerror(errno));
		return NVME_RDMA_CM_NO_RSC;
	}
	rq->mr = ibv_reg_mr(rq->pd, rq->mem, rq->mem_len, IBV_ACCESS_LOCAL_WRITE);
	if (!rq->mr) {
		rdma_memlock_hint(hint, sizeof(hint), rq->mem_len);
		snprintf(why, wlen, "cannot register %zu KiB for RDMA: %s%s%s", rq->mem_len >> 10,
			 strerror(errno), errno == ENOMEM || errno == EPERM ? "; " : "",
			 errno == ENOMEM || errno == EPERM ? hint : "");
		return NVME_RDMA_CM_NO_RSC;
	}
	for (unsigned i = 0; i < rq->nr_recvs; i++) {
		rq->recvs[i].sge[0].lkey = rq->recvs[i].sge[1].lkey = rq->mr->lkey;
		if (rdma_post_recv(rq, &rq->recvs[i])) {
			snprintf(why, wlen, "cannot post %u receives", rq->nr_recvs);
			return NVME_RDMA_CM_NO_RSC;
		}
	}
	return 0;
}

/* A queue for a connection request whose private data passed the checks:
 * once connected, entries (HSQSIZE + 1) receive buffers and twice as many
 * slots, so that a slot whose SEND has not completed yet never holds the
 * host back; until then RDMA_PRE_RECVS and RDMA_PRE_SLOTS (a host sends
 * only Connect; more outstanding than that close the queue). */
static uint16_t rdma_queue_alloc(struct rdma_cm_id *id, uint16_t entries, struct rdma_queue **out,
				 char *why, size_t wlen)
{
	struct rdma_queue *rq = calloc(1, sizeof(*rq));
	socklen_t alen = sizeof(struct sockaddr_storage);
	unsigned slots = entries * 2u < RDMA_PRE_SLOTS ? entries * 2u : RDMA_PRE_SLOTS;

	*out = rq;
	if (!rq)
		return NVME_RDMA_CM_NO_RSC;
	rq->id = id;
	rq->q.ops = &rdma_ops;
	rq->q.max_data = RDMA_PRE_DATA;	/* until Connect: rdma_queue_grow() */
	rq->q.max_icd = RDMA_ICD;
	rq->entries = entries;
	rq->nr_recvs = entries < RDMA_PRE_RECVS ? entries : RDMA_PRE_RECVS;
	rq->send_inv = true;
	memcpy(&rq->q.local, rdma_get_local_addr(id), alen);
	tcp_addr_str((const void *)rdma_get_peer_addr(id), rq->q.peer, sizeof(rq->q.peer));
	rq->mem_len = (rdma_queue_mem_pre(entries) + NVMF_PAGE_SIZE - 1) &
		      ~(size_t)(NVMF_PAGE_SIZE - 1);
	rq->mem = aligned_alloc(NVMF_PAGE_SIZE, rq->mem_len);
	rq->recvs = calloc(entries, sizeof(*rq->recvs));
	rq->reqs = calloc(slots, sizeof(*rq->reqs));
	rq->cid_of = calloc(entries * 2u, sizeof(*rq->cid_of));
	if (!rq->mem || !rq->recvs || !rq->reqs || !rq->cid_of) {
		snprintf(why, wlen, "out of memory for a queue of %u entries", entries);
		return NVME_RDMA_CM_NO_RSC;
	}
	rq->cm_ch = rdma_create_event_channel();
	if (!rq->cm_ch || rdma_nonblock(rq->cm_ch->fd)) {
		snprintf(why, wlen, "cannot open a CM event channel: %s%s", strerror(errno),
			 errno == EMFILE || errno == ENFILE ? " (raise ulimit -n)" : "");
		return NVME_RDMA_CM_NO_RSC;
	}
	rdma_slots_add(rq, rq->reqs, slots);
	for (unsigned i = 0; i < rq->nr_recvs; i++)
		rdma_recv_init(&rq->recvs[i], rq->mem, i, rq->nr_recvs, 0);
	return rdma_queue_verbs(rq, why, wlen);
}

/*
 * Connect succeeded: the queue leaves the door, takes commands up to
 * MDTS, and gets the rest of its slots, a CQ for all its sends and
 * receives, and the rest of its receive buffers under a second MR. Called
 * as Connect's response goes out, so no later command sees the pre-Connect
 * limits (Identify would also report the MDTS). A CQ that cannot grow
 * closes the queue (it could not take the CRQSIZE promised at accept).
 * Returns 0 or -errno, logged.
 */
static int rdma_queue_grow(struct rdma_queue *rq)
{
	size_t len = (size_t)(rq->entries - rq->nr_recvs) * RDMA_CAPSULE_SIZE;
	unsigned nr = rq->entries * 2u, cqe = rq->sq_size + rq->entries;
	char hint[256];
	int rc;

	door_leave(&rq->door);
	rq->grown = true;
	rq->q.max_data = g_rdma_max_io_size;
	if (nr > rq->nr_reqs && !(rq->more_reqs = calloc(nr - rq->nr_reqs, sizeof(*rq->reqs)))) {
		LOG_ERR("qid=%u %s: out of memory for %u slots; closing", rq->q.qid, rq->q.peer, nr);
		return -ENOMEM;
	}
	rdma_slots_add(rq, rq->more_reqs, nr - rq->nr_reqs);
	if (cqe > (unsigned)rq->cq->cqe && (rc = ibv_resize_cq(rq->cq, cqe))) {
		LOG_ERR("qid=%u %s: cannot resize the CQ to %u entries: %s; closing", rq->q.qid,
			rq->q.peer, cqe, strerror(rc));
		return -rc;
	}
	rq->sq_free += rq->sq_size - RDMA_PRE_SQ;
	if (len == 0)
		return 0;
	len = (len + NVMF_PAGE_SIZE - 1) & ~(size_t)(NVMF_PAGE_SIZE - 1);
	rq->more = aligned_alloc(NVMF_PAGE_SIZE, len);
	rq->more_mr = rq->more ? ibv_reg_mr(rq->pd, rq->more, len, IBV_ACCESS_LOCAL_WRITE) : NULL;
	if (!rq->more_mr) {
		rdma_memlock_hint(hint, sizeof(hint), len);
		LOG_ERR("qid=%u %s: cannot register %zu KiB for a connected queue: %s; closing (%s)",
			rq->q.qid, rq->q.peer, len >> 10, strerror(errno), hint);
		return -ENOMEM;
	}
	for (unsigned i = 0, n = rq->entries - rq->nr_recvs; rq->nr_recvs < rq->entries; i++) {
		struct rdma_recv *rv = &rq->recvs[rq->nr_recvs];

		rdma_recv_init(rv, rq->more, i, n, rq->more_mr->lkey);
		if (rdma_post_recv(rq, rv)) {
			LOG_ERR("qid=%u %s: cannot post %u receives; closing", rq->q.qid,
				rq->q.peer, rq->entries);
			return -EIO;
		}
		rq->nr_recvs++;
	}
	return 0;
}

/* ==================================================================== */
/* Accept                                                              */
/* ==================================================================== */

static void rdma_reject_with(struct rdma_cm_id *id, uint16_t sts)
{
	struct nvme_rdma_cm_rej rej = { htole16(NVME_RDMA_CM_FMT_1_0), htole16(sts) };

	rdma_reject(id, &rej, sizeof(rej));
}

/*
 * Accept with our REP private data: CRQSIZE is the number of receives we
 * posted [RDMA-1.0c §3.3]. We read the host's memory, so our initiator
 * depth is bounded by the host's responder resources. The CM hands the
 * REQ's values over already turned to our side: the host's responder
 * resources arrive as initiator_depth, and the other way round.
 */
static int rdma_accept_with(struct rdma_queue *rq, const struct rdma_conn_param *host)
{
	struct nvme_rdma_cm_rep rep = { .recfmt = htole16(NVME_RDMA_CM_FMT_1_0),
					.crqsize = htole16(rq->entries) };
	struct rdma_conn_param p = { .private_data = &rep, .private_data_len = sizeof(rep),
				     .rnr_retry_count = 7 };
	struct ibv_device_attr da;

	if (ibv_query_device(rq->id->verbs, &da))
		return -errno;
	p.initiator_depth = host->initiator_depth < da.max_qp_init_rd_atom
			    ? host->initiator_depth : da.max_qp_init_rd_atom;
	p.responder_resources = host->responder_resources < da.max_qp_rd_atom
				? host->responder_resources : da.max_qp_rd_atom;
	return rdma_accept(rq->id, &p) ? -errno : 0;
}

/* A CM REQ we will not take: REJ with sts, and destroy its id. */
static void rdma_refuse(struct rdma_cm_id *id, uint16_t sts)
{
	rdma_reject_with(id, sts);
	rdma_destroy_id(id);
}

/*
 * Build, accept and hand over the queue for a checked CM REQ. A failure
 * here is the target's (out of fds, memory or locked memory), and a storm
 * of REQs would repeat it: REJ "no resources", and a log line at most
 * once a second. Returns the queue, or NULL.
 */
static struct rdma_queue *rdma_queue_open(struct nvmf_listener *l, struct rdma_cm_id *id, const char *peer,
			   const struct nvme_rdma_cm_req *req, const struct rdma_conn_param *host)
{
	struct rdma_queue *rq = NULL;
	char why[384], msg[512];
	uint16_t sts = rdma_queue_alloc(id, le16toh(req->hsqsize) + 1, &rq, why, sizeof(why));

	if (!sts && (rdma_migrate_id(id, rq->cm_ch) || rdma_accept_with(rq, host))) {
		snprintf(why, sizeof(why), "accepting: %s", strerror(errno));
		sts = NVME_RDMA_CM_NO_RSC;
	}
	if (sts) {
		snprintf(msg, sizeof(msg), "RDMA connect from %s rejected (no resources): %s", peer, why);
		door_log_refused(msg);
		rdma_reject_with(id, sts);
		if (rq)
			rdma_queue_free(rq);	/* destroys id too */
		else
			rdma_destroy_id(id);
		return NULL;
	}
	rq->q.qid = le16toh(req->qid);	/* for log lines; Connect sets it for real */
	rq->q.listener = l;
	rq->door_ms = nvmf_now_ms();	/* Connect's deadline counts from here */
	LOG_DBG("RDMA connect from %s: qid %u, %u entries, RDMA READ depth %u", peer, rq->q.qid,
		rq->entries, host->initiator_depth);
	return rq;
}

/*
 * A CM REQ on a listener: check the private data and the door (the same
 * limits on connections that have not sent Connect as TCP's, counted
 * together), build the queue, move its id to the queue's own event
 * channel (so the reactor that will own the queue also gets its CM
 * events), accept, and hand it over. A REQ that never becomes ESTABLISHED
 * is a queue without Connect too: the same deadline closes it.
 */
static void rdma_connect_request(struct nvmf_listener *l, struct rdma_cm_event *ev)
{
	struct rdma_cm_id *id = ev->id;
	struct rdma_conn_param host = ev->param.conn;
	struct nvme_rdma_cm_req req = { 0 };
	size_t len = host.private_data ? host.private_data_len : 0;
	struct sockaddr_storage ss = { 0 };
	struct rdma_queue *rq = NULL;
	struct door *door = NULL;
	char why[128], peer[64];
	uint16_t sts;

	memcpy(&req, host.private_data, len < sizeof(req) ? len : sizeof(req));
	rdma_ack_cm_event(ev);		/* host.private_data is gone now */
	memcpy(&ss, rdma_get_peer_addr(id), sizeof(struct sockaddr_in6));
	tcp_addr_str(&ss, peer, sizeof(peer));
	sts = rdma_cm_req_check(&req, len, why, sizeof(why));
	if (sts) {
		LOG_WARN("RDMA connect from %s rejected: %s (NVMe/RDMA status %u, %s)", peer, why,
			 sts, rdma_rej_str(sts));
		return rdma_refuse(id, sts);
	}
	if (!host.initiator_depth) {	/* the host's responder resources */
		LOG_WARN("RDMA connect from %s rejected: the host allows no RDMA READ (IRD 0)", peer);
		return rdma_refuse(id, NVME_RDMA_CM_INVALID_IRD);
	}
	if (door_admit(&ss, peer, &door))	/* logged there */
		return rdma_refuse(id, NVME_RDMA_CM_NO_RSC);
	rq = rdma_queue_open(l, id, peer, &req, &host);
	if (!rq) {
		door_leave(&door);
		return;
	}
	rq->door = door;
	rq->q.reactor = nvmf_reactor_next();
	nvmf_reactor_add_queue(&rq->q);
}

/* The listener's CM channel is readable: connection requests (and any
 * other event for a not yet accepted id, which we only acknowledge). */
static void rdma_port_event(struct nvmf_poller *p, uint32_t events)
{
	struct nvmf_listener *l = container_of(p, struct nvmf_listener, poller);
	struct rdma_port *port = l->priv;
	struct rdma_cm_event *ev;

	(void)events;
	while (rdma_get_cm_event(port->ch, &ev) == 0) {
		if (ev->event == RDMA_CM_EVENT_CONNECT_REQUEST) {
			rdma_connect_request(l, ev);
			continue;
		}
		LOG_DBG("listener %s:%s: %s", l->traddr, l->trsvcid, rdma_event_str(ev->event));
		rdma_ack_cm_event(ev);
	}
}

/* The reactor adopted the queue: make sure the reactor has its MR cache
 * (rdma_mem.c), watch the queue's CM and completion channels, arm the CQ,
 * and reap what arrived while it was being handed over. */
static void rdma_start(struct nvmf_queue *q)
{
	struct rdma_queue *rq = container_of(q, struct rdma_queue, q);

	if (rdma_mem_start(q->reactor)) {
		LOG_ERR("qid=%u %s: out of memory for the MR cache; closing", q->qid, q->peer);
		return rdma_queue_close(q);
	}

	rq->cm_poller = (struct nvmf_poller){ rq->cm_ch->fd, rdma_cm_queue_event };
	rq->cq_poller = (struct nvmf_poller){ rq->comp_ch->fd, rdma_cq_event };
	if (nvmf_reactor_watch(q->reactor, &rq->cm_poller, EPOLLIN) ||
	    nvmf_reactor_watch(q->reactor, &rq->cq_poller, EPOLLIN)) {
		nvmf_reactor_unwatch(q->reactor, &rq->cm_poller);
		return rdma_queue_close(q);
	}
	rq->watched = true;
	rdma_cq_poll(rq);
}

/* ==================================================================== */
/* Listen                                                              */
/* ==================================================================== */

/*
 * Listen for NVMe/RDMA connections on l->traddr:l->trsvcid through the
 * RDMA CM; reactor 0 takes the connection requests. Returns 0, or -errno
 * with a sentence in err that says what to do.
 */
int rdma_port_listen(struct nvmf_listener *l, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV };
	struct rdma_port *port;
	struct addrinfo *ai;
	int rc;

	if ((rc = rdma_have_device(err, errlen)))
		return rc;
	/* Locked memory: the pool, and one controller's admin and I/O queue. */
	if ((rc = rdma_mem_init(rdma_queue_mem(NVMF_MAXCMD) + rdma_queue_mem(NVMF_ADMIN_QSIZE),
				err, errlen)))
		return rc;
	if ((rc = getaddrinfo(l->traddr, l->trsvcid, &hints, &ai))) {
		snprintf(err, errlen, "cannot listen on rdma %s:%s: %s (give a numeric address and port)",
			 l->traddr, l->trsvcid, gai_strerror(rc));
		return -EINVAL;
	}
	port = calloc(1, sizeof(*port));
	rc = -ENOMEM;
	if (!port || !(port->ch = rdma_create_event_channel()) ||
	    rdma_create_id(port->ch, &port->id, l, RDMA_PS_TCP)) {
		rc = -errno;
		snprintf(err, errlen, "cannot open the RDMA CM: %s (is rdma_ucm loaded? modprobe rdma_ucm)",
			 strerror(errno));
		goto out_free;
	}
	if (rdma_bind_addr(port->id, ai->ai_addr) || rdma_listen(port->id, RDMA_BACKLOG)) {
		rc = -errno;
		snprintf(err, errlen, "cannot listen on rdma %s:%s: %s%s", l->traddr, l->trsvcid,
			 strerror(errno), errno == ENODEV || errno == EADDRNOTAVAIL ?
			 " (that address is not on an RDMA interface: bind an rxe device to its "
			 "interface with 'rdma link add rxe0 type rxe netdev IFACE'; 'rdma link' lists them)" :
			 errno == EADDRINUSE ? " (another target, perhaps nvmet-rdma, holds the port)" : "");
		goto out_free;
	}
	if ((rc = rdma_nonblock(port->ch->fd)))
		goto out_free;
	memcpy(&l->addr, ai->ai_addr, ai->ai_addrlen);
	l->adrfam = ai->ai_family == AF_INET6 ? NVMF_ADRFAM_IPV6 : NVMF_ADRFAM_IPV4;
	l->priv = port;
	l->poller = (struct nvmf_poller){ port->ch->fd, rdma_port_event };
	if ((rc = nvmf_reactor_watch(&g_reactors[0], &l->poller, EPOLLIN)))
		goto out_free;
	freeaddrinfo(ai);
	return 0;
out_free:
	l->priv = NULL;
	l->poller.fd = -1;
	if (port && port->id)
		rdma_destroy_id(port->id);
	if (port && port->ch)
		rdma_destroy_event_channel(port->ch);
	free(port);
	freeaddrinfo(ai);
	return rc;
}

void rdma_port_unlisten(struct nvmf_listener *l)
{
	struct rdma_port *port = l->priv;

	if (!port)
		return;
	nvmf_reactor_unwatch(&g_reactors[0], &l->poller);
	rdma_destroy_id(port->id);
	rdma_destroy_event_channel(port->ch);
	free(port);
	l->priv = NULL;
	l->poller.fd = -1;
}

/* ==================================================================== */
/* Reactor entry points                                                */
/* ==================================================================== */

/*
 * A queue still in the door: it leaves when Connect's response goes out
 * (rdma_queue_grow()), and is closed when --connect-timeout passes first (counted
 * from the CM request, so a host that never finishes the CM handshake is
 * closed too), or when the door gave its place to a newcomer. A flood of
 * these is logged at most once a second.
 */
static void rdma_door_check(struct rdma_queue *rq)
{
	bool evicted = door_evicted(rq->door);
	char msg[192];

	if (!evicted && (rq->q.ctrl || nvmf_now_ms() - rq->door_ms <= g_tcp_connect_ms))
		return;
	snprintf(msg, sizeof(msg), "qid=%u %s: %s; closing", rq->q.qid, rq->q.peer, evicted ?
		 "its place in the door given to a newcomer (--max-unconnected)" :
		 "no Connect in time after the RDMA connect request (--connect-timeout)");
	door_log_timeout(msg);
	rdma_queue_close(&rq->q);
}

/*
 * A buffer came back to the pool since rq last found it full: hand it to
 * the waiting commands, oldest first. Stops at the first that still finds
 * the pool full. Returns the number started.
 */
static int rdma_retry_waiters(struct rdma_queue *rq)
{
	int n = 0;

	while (rq->wait_head && !rq->q.closing) {
		struct rdma_req *t = rq->wait_head;
		int rc = rdma_req_buf(rq, t);

		if (rc == -EAGAIN)
			break;
		if (!(rq->wait_head = t->next_free))
			rq->wait_tail = NULL;
		rdma_req_run(t, rc);
		n++;
	}
	return n;
}

/*
 * Once per reactor pass: reap every RDMA queue's completions, start
 * commands that waited for a buffer if one came back, close queues past
 * their Connect deadline, and free queues that are closed and whose last
 * slot came back. Returns the work done, so the reactor knows it found
 * some.
 */
int rdma_reactor_poll(struct nvmf_reactor *r)
{
	struct nvmf_queue **pp = &r->queues;
	int n = 0;

	while (*pp) {
		struct nvmf_queue *q = *pp;
		struct rdma_queue *rq = container_of(q, struct rdma_queue, q);

		if (q->ops != &rdma_ops) {
			pp = &q->next;
			continue;
		}
		n += rdma_cq_poll(rq);
		if (rq->wait_head && rq->wait_gen != r->pool.gen)
			n += rdma_retry_waiters(rq);
		if (rq->door && !q->closing)
			rdma_door_check(rq);
		if (q->closing && rq->nr_busy == 0) {
			*pp = q->next;
			rdma_queue_free(rq);
			continue;
		}
		pp = &q->next;
	}
	return n;
}

/*
 * The reactor is about to sleep: count the queues whose work would raise
 * no event. A CQ left unarmed wakes nobody when it fills (rdma_cq_poll
 * arms it once it finds it empty), and commands waiting for a buffer
 * that has since come back wait for a pass. See nvmf_reactor_stranded().
 */
int rdma_reactor_stranded(struct nvmf_reactor *r)
{
	int n = 0;

	for (struct nvmf_queue *q = r->queues; q; q = q->next) {
		struct rdma_queue *rq = container_of(q, struct rdma_queue, q);

		if (q->ops != &rdma_ops || q->closing || !rq->watched)
			continue;
		n += !rq->armed || (rq->wait_head && rq->wait_gen != r->pool.gen);
	}
	return n;
}

/*
 * The target is stopping and every queue of r was closed: give flushed
 * completions a moment to come back, then free whatever is left.
 */
void rdma_reactor_stop(struct nvmf_reactor *r)
{
	struct nvmf_queue **pp = &r->queues;

	for (int i = 0; i < 100 && rdma_reactor_poll(r) >= 0; i++) {
		bool left = false;

		for (struct nvmf_queue *q = r->queues; q; q = q->next)
			left |= q->ops == &rdma_ops;
		if (!left)
			return;
		usleep(1000);
	}
	while (*pp) {
		struct nvmf_queue *q = *pp;

		if (q->ops != &rdma_ops) {
			pp = &q->next;
			continue;
		}
		*pp = q->next;
		rdma_queue_free(container_of(q, struct rdma_queue, q));
	}
}

static const struct nvmf_transport_ops rdma_ops = {
	.name = "rdma",
	.trtype = NVMF_TRTYPE_RDMA,
	.start = rdma_start,
	.fetch_data = rdma_fetch_data,
	.complete = rdma_complete,
	.close = rdma_queue_close,
};
