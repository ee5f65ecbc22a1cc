/*
 * nvmf.c - the target core's command path: what every command means. No
 * sockets and no verbs: transports hand us a struct nvmf_req and we hand
 * it back with a completion. The file reads in the order a command
 * travels:
 *
 *   transport --nvmf_req_exec()--> classify, check length
 *                                     | write data not here yet?
 *                                     +--> ops->fetch_data --> nvmf_req_data_ready()
 *                                     v
 *                    nvmf_dispatch: fabrics | admin | I/O
 *                                     |               |
 *                                     |               +--> bdev submit ... nvmf_bdev_done()
 *                                     v                                   |
 *                    nvmf_req_done(status) <------------------------------+
 *                                     +--> ops->complete (data + CapsuleResp)
 *
 *   section                                   spec
 *   --------------------------------------------------------------------
 *   entry points: arrive, data, complete      [BASE-2.0c §4.6]
 *   dispatch
 *   Fabrics commands: Connect, properties     [BASE-2.0c §3.3, §6.3-6.6]
 *   admin commands: routing, AER, abort       [BASE-2.0c §5.2, §5.1]
 *   I/O commands                              [NVM-1.0c §3.2, §3.3]
 *   controllers                               [BASE-2.0c §3.3.1]
 *   asynchronous events                       [BASE-2.0c §5.2]
 *   keep-alive                                [BASE-2.0c §5.25]
 *   helpers
 *
 * Beside it: admin.c answers Identify, Get Log Page and Features
 * (nvmf_admin routes them there); subsys.c keeps the subsystems,
 * namespaces, hosts and ports, and the discovery log's content. core.h
 * is what the three share: the controller struct, and the functions of
 * each section in the order this file defines them (C wants a function
 * declared before a call, and this file calls down, not up).
 *
 * Locking. A queue and its slots belong to one reactor thread. A controller
 * is shared by its queues, which may sit on different reactors: ctrl->lock
 * guards its queue table, features, events and error log; dead, gen, cc
 * and csts are atomics so the I/O path reads them without the lock. A
 * subsystem's lock guards its controller list. Configuration (subsystems,
 * namespaces, hosts, listeners, referrals) changes while the reactors
 * run, driven by rpc.c: g_config_lock (a reader-writer lock) guards the
 * lists; the I/O path reads s->ns[] without it, and nvmf_quiesce() plus
 * ns->inflight make a removed namespace safe to free (see subsys.c).
 *
 * Tutorial chapter 04 reads this file in order.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <endian.h>

#include "nvmf.h"
#include "core.h"

/* ==================================================================== */
/* Structs and globals                                                 */
/* ==================================================================== */

/* How long a host may take to authenticate its admin queue (the keep-alive
 * timer waits for it; see nvmf_queue_tick). */
#define NVMF_AUTH_TIMEOUT_MS	120000u

static pthread_mutex_t g_cntlid_lock = PTHREAD_MUTEX_INITIALIZER;
static uint16_t g_next_cntlid = 1;

/* ==================================================================== */
/* Entry points: a command arrives, its data arrives, it completes     */
/* ==================================================================== */

/*
 * A capsule arrived on q. Checks that need no data come first (so we never
 * ask the host for data we would refuse), then the transport fetches the
 * data of a write if it was not in the capsule, then dispatch.
 */
void nvmf_req_exec(struct nvmf_req *r)
{
	struct nvmf_queue *q = r->q;

	q->nr_cmds++;				/* keep-alive: see nvmf_queue_tick */
	memset(&r->cqe, 0, sizeof(r->cqe));
	r->xfer = nvmf_xfer_dir(&r->sqe);
	r->xfer_len = 0;
	r->ns = NULL;
	r->ns_ref = false;
	r->in_place = false;
	r->aux = NULL;
	if (g_trace)
		nvmf_trace_cmd(r);
	if (r->data_len > q->max_data)		/* MDTS [BASE-2.0c Fig. 275] */
		return nvmf_req_fail_at(r, NVME_SC_INVALID_FIELD, offsetof(struct nvme_sqe, dptr));
	if (r->xfer == XFER_NONE)
		r->data_len = 0;
	if (nvmf_auth_pending(r)) {
		LOG_WARN("qid=%u: %s before authentication finished", q->qid,
			 nvmf_opcode_name(&r->sqe, q->qid));
		return nvmf_req_fail_at(r, NVME_SC_AUTH_REQUIRED | NVME_STATUS_DNR, 0);
	}
	if (q->qid && r->sqe.opcode != NVME_FABRICS_OPCODE && q->ctrl &&
	    (atomic_load(&q->ctrl->csts) & NVME_CSTS_RDY) && nvmf_io_prep(r))
		return;
	if (r->xfer == XFER_H2C && r->data_len > r->icd_len) {
		q->ops->fetch_data(r);
		return;
	}
	nvmf_dispatch(r);
}

/*
 * Which way a command's data flows: opcode bits 1:0, and for fabrics
 * commands FCTYPE bits 1:0 [BASE-2.0c §5, Fig. 27; §6, Fig. 542].
 */
enum nvmf_xfer nvmf_xfer_dir(const struct nvme_sqe *sqe)
{
	uint8_t bits = sqe->opcode == NVME_FABRICS_OPCODE
		       ? ((const struct nvmf_fabrics_cmd *)sqe)->fctype & 3 : sqe->opcode & 3;

	return bits == 1 ? XFER_H2C : bits == 2 ? XFER_C2H : XFER_NONE;
}

/*
 * --trace: the command as it arrived, decoded (trace.c). A Connect's data
 * (the NQNs) is shown when it came in the capsule, as it does over TCP;
 * data the transport has yet to fetch is not here to show.
 */
void nvmf_trace_cmd(const struct nvmf_req *r)
{
	char line[TRACE_LINE_MAX];

	nvmf_trace("cmd  %s", trace_cmd(line, sizeof(line), &r->sqe, r->q->qid,
					r->icd_len ? r->data : NULL, r->icd_len));
}

/* A queue whose Connect answered AUTHREQ.ATR takes nothing but Connect
 * and Authentication Send/Receive until a transaction succeeded
 * [BASE-2.0c §8.13]: everything else fails with Authentication Required. */
bool nvmf_auth_pending(const struct nvmf_req *r)
{
	uint8_t fctype = ((const struct nvmf_fabrics_cmd *)&r->sqe)->fctype;

	if (!r->q->auth_required || r->q->authenticated)
		return false;
	return r->sqe.opcode != NVME_FABRICS_OPCODE ||
	       (fctype != NVMF_FCTYPE_CONNECT && fctype != NVMF_FCTYPE_AUTH_SEND &&
		fctype != NVMF_FCTYPE_AUTH_RECV);
}

void nvmf_req_data_ready(struct nvmf_req *r)
{
	nvmf_dispatch(r);
}

/*
 * May the transport leave r without a data buffer? Yes for a Read on an
 * I/O queue whose namespace's backend can map its blocks: nvmf_io() then
 * points r->data at the namespace (nvmf_io_in_place). A transport asks
 * only when it can send from any memory (TCP, not RDMA: its data must be
 * registered). Its blocks must be at most a page: that is what a
 * transport copies to finish a block a send stopped in. The answer holds
 * until this reactor pass ends: a namespace can be taken away, or
 * replaced, only after nvmf_quiesce().
 */
bool nvmf_req_reads_in_place(const struct nvmf_req *r)
{
	const struct nvmf_ns *ns;

	if (!r->q->qid || !r->q->ctrl || r->sqe.opcode != NVME_CMD_READ)
		return false;
	ns = nvmf_ns_get(r->q->ctrl->subsys, le32toh(r->sqe.nsid));
	return ns && ns->bdev->ops->map && ns->bdev->blksz <= NVMF_PAGE_SIZE;
}

/* r lets go of its namespace: ns->inflight is what removal waits for
 * (nvmf_subsys_detach_ns). */
static void nvmf_req_drop_ns(struct nvmf_req *r)
{
	if (r->ns_ref) {
		r->ns_ref = false;
		atomic_fetch_sub(&r->ns->inflight, 1);
	}
}

/* The transport has sent an in-place read's data (or dropped it with its
 * connection): the namespace may go now. */
void nvmf_req_release(struct nvmf_req *r)
{
	nvmf_req_drop_ns(r);
	r->in_place = false;
	r->data = NULL;
}

/*
 * Finish a command: fill the CQE [BASE-2.0c §4.6] and give it back to the
 * transport. SQHD is our SQ head, or FFFFh when the host turned SQ flow
 * control off at Connect [BASE-2.0c Fig. 92; §6.3 CATTR].
 */
void nvmf_req_done(struct nvmf_req *r, uint16_t status)
{
	struct nvmf_queue *q = r->q;

	/* Our head moves as commands finish, as nvmet's does; a Connect
	 * has just set the size, so it answers SQHD 1. */
	if (q->size)
		q->sqhd = (q->sqhd + 1) % q->size;
	r->cqe.cid = r->sqe.cid;
	r->cqe.sqid = htole16(q->qid);
	r->cqe.sqhd = htole16(q->sqfc_disabled ? 0xffff : q->sqhd);
	r->cqe.status = htole16(status << 1);
	if (status)
		r->xfer_len = 0;
	if (g_trace) {
		char line[TRACE_LINE_MAX];

		nvmf_trace("done %s", trace_cqe(line, sizeof(line), &r->sqe, &r->cqe, q->qid));
	}
	/* The last touch of r->ns, unless the data to send is the namespace's
	 * own memory: then the transport lets go (nvmf_req_release). */
	if (!r->in_place)
		nvmf_req_drop_ns(r);
	q->ops->complete(r);
}

/* A transport found the command malformed before we saw it (SGL form,
 * digest): answer it with status. */
void nvmf_req_fail(struct nvmf_req *r, uint16_t status)
{
	r->cqe.cid = r->sqe.cid;
	r->xfer = XFER_NONE;
	r->xfer_len = 0;
	if (status == NVME_SC_TRANSIENT_TRANSPORT)
		nvmf_req_done(r, status);	/* retryable: no DNR */
	else
		nvmf_req_fail_at(r, status, offsetof(struct nvme_sqe, dptr));
}

/* Status for a command whose parameter at byte offset loc (of the SQE)
 * is wrong: remembered for the error log [BASE-2.0c Fig. 205]. */
void nvmf_req_fail_at(struct nvmf_req *r, uint16_t status, uint16_t loc)
{
	struct nvmf_ctrl *ctrl = r->q->ctrl;

	if (ctrl) {
		struct nvme_error_log *e;

		pthread_mutex_lock(&ctrl->lock);
		e = &ctrl->errlog[ctrl->err_count % NVMF_ERRLOG_ENTRIES];
		memset(e, 0, sizeof(*e));
		e->error_count = htole64(++ctrl->err_count);
		e->sqid = htole16(r->q->qid);
		e->cid = r->sqe.cid;
		e->status = htole16((status | NVME_STATUS_DNR) << 1);	/* as in the CQE */
		e->param_error_location = htole16(loc);
		e->nsid = r->sqe.nsid;
		e->trtype = r->q->ops->trtype;
		pthread_mutex_unlock(&ctrl->lock);
	}
	nvmf_req_done(r, status | NVME_STATUS_DNR);
}

/* ==================================================================== */
/* Dispatch                                                            */
/* ==================================================================== */

/* Route a command whose data is in place. */
void nvmf_dispatch(struct nvmf_req *r)
{
	struct nvmf_ctrl *ctrl = r->q->ctrl;

	if (r->sqe.opcode == NVME_FABRICS_OPCODE)
		return nvmf_fabrics(r);
	if (!ctrl) {
		LOG_WARN("%s sent %s before Connect", r->q->peer, nvmf_opcode_name(&r->sqe, r->q->qid));
		return nvmf_req_fail_at(r, NVME_SC_CMD_SEQ_ERROR, 0);
	}
	if (!(atomic_load(&ctrl->csts) & NVME_CSTS_RDY)) {
		LOG_WARN("controller %u: %s while CC.EN=0", ctrl->cntlid,
			 nvmf_opcode_name(&r->sqe, r->q->qid));
		return nvmf_req_fail_at(r, NVME_SC_CMD_SEQ_ERROR, 0);
	}
	if (r->q->qid == 0)
		return nvmf_admin(r);
	nvmf_io(r);
}

/* ==================================================================== */
/* Fabrics commands: Connect, Property Get/Set [BASE-2.0c §6]          */
/* ==================================================================== */

/* Fabrics commands [BASE-2.0c §6]. Authentication Send/Receive go to
 * auth.c, on any queue: the Linux host authenticates each one. */
void nvmf_fabrics(struct nvmf_req *r)
{
	const struct nvmf_fabrics_cmd *f = (const void *)&r->sqe;
	uint16_t st, loc = 0;

	if (f->fctype == NVMF_FCTYPE_CONNECT)
		return nvmf_connect(r);
	if (!r->q->ctrl)
		return nvmf_req_fail_at(r, NVME_SC_CMD_SEQ_ERROR, 0);
	if (f->fctype == NVMF_FCTYPE_AUTH_SEND || f->fctype == NVMF_FCTYPE_AUTH_RECV) {
		st = f->fctype == NVMF_FCTYPE_AUTH_SEND ? auth_send(r, &loc) : auth_recv(r, &loc);
		if (st == AUTH_ANSWER_LATER)	/* DH work: auth.c completes r */
			return;
		return st ? nvmf_req_fail_at(r, st, loc) : nvmf_req_done(r, st);
	}
	if (r->q->qid != 0)	/* only Connect travels on I/O queues */
		return nvmf_req_fail_at(r, NVME_SC_INVALID_OPCODE, offsetof(struct nvmf_fabrics_cmd, fctype));
	if (f->fctype == NVMF_FCTYPE_PROP_GET || f->fctype == NVMF_FCTYPE_PROP_SET)
		return nvmf_property(r);
	nvmf_req_fail_at(r, NVME_SC_INVALID_OPCODE, offsetof(struct nvmf_fabrics_cmd, fctype));
}

/* Connect reads the subsystem list, its hosts and its ports, which the
 * RPC thread may change: hold g_config_lock for reading throughout, so
 * a subsystem cannot go away between finding it and adding a controller
 * (nvmf_subsys_remove() kills what it finds after taking the lock). */
void nvmf_connect(struct nvmf_req *r)
{
	pthread_rwlock_rdlock(&g_config_lock);
	nvmf_connect_locked(r);
	pthread_rwlock_unlock(&g_config_lock);
}

/*
 * Connect [BASE-2.0c §6.3]: validate the SQE, then the data, then hand
 * over to the admin or I/O form. The checks go in the order a reader of
 * Fig. 546-547 would make them.
 */
void nvmf_connect_locked(struct nvmf_req *r)
{
	const struct nvmf_connect_cmd *c = (const void *)&r->sqe;
	struct nvmf_connect_data *d = (void *)r->data;
	struct nvmf_queue *q = r->q;
	uint16_t qid = le16toh(c->qid), sqsize = le16toh(c->sqsize);
	struct nvmf_subsys *s;

	if (q->ctrl) {
		LOG_WARN("Connect from %s on a queue already connected", q->peer);
		return nvmf_req_done(r, NVME_SC_CMD_SEQ_ERROR | NVME_STATUS_DNR);
	}
	if (le16toh(c->recfmt) != 0) {
		LOG_WARN("Connect from %s: RECFMT %u, we know 0", q->peer, le16toh(c->recfmt));
		return nvmf_req_done(r, NVME_SC_CONNECT_FORMAT | NVME_STATUS_DNR);
	}
	if (r->data_len < sizeof(*d))
		return nvmf_req_fail_at(r, NVME_SC_SGL_INVALID_DATA, offsetof(struct nvme_sqe, dptr));
	if (sqsize == 0)
		return nvmf_connect_bad(r, offsetof(struct nvmf_connect_cmd, sqsize), false,
					"SQSIZE 0 (a queue needs at least 2 entries)");
	if (sqsize + 1u > (qid ? g_limits.max_queue_depth : NVMF_MAXCMD))
		return nvmf_connect_bad(r, offsetof(struct nvmf_connect_cmd, sqsize), false,
					"SQSIZE above MAXCMD");
	if (!memchr(d->subnqn, 0, sizeof(d->subnqn)))
		return nvmf_connect_bad(r, offsetof(struct nvmf_connect_data, subnqn), true,
					"SUBNQN not NUL-terminated");
	/* An empty HOSTNQN is what SPDK's perf and identify send when told no
	 * host NQN. Like SPDK's target and nvmet, take it when any host may
	 * connect; an allow list cannot name it, so there it gets Connect
	 * Invalid Host below [BASE-2.0c Fig. 584], as SPDK's target answers. */
	if (!memchr(d->hostnqn, 0, sizeof(d->hostnqn)) || (d->hostnqn[0] && nvmf_nqn_valid(d->hostnqn)))
		return nvmf_connect_bad(r, offsetof(struct nvmf_connect_data, hostnqn), true,
					"HOSTNQN is not a valid NQN");
	s = nvmf_subsys_find(d->subnqn);
	if (!s || (q->listener && !nvmf_subsys_on_listener(s, q->listener))) {
		LOG_WARN("Connect from %s names subsystem '%s', which is not served here", q->peer, d->subnqn);
		return nvmf_connect_bad(r, offsetof(struct nvmf_connect_data, subnqn), true,
					"unknown subsystem NQN");
	}
	if (!nvmf_host_allowed(s, d->hostnqn)) {
		LOG_WARN("Connect from %s: host %s is not allowed on %s (allowed: %d host(s), e.g. %s)",
			 q->peer, d->hostnqn, s->nqn, s->nr_hosts, s->nr_hosts ? s->hosts[0] : "none");
		return nvmf_req_done(r, NVME_SC_CONNECT_INVALID_HOST | NVME_STATUS_DNR);
	}
	q->qid = qid;
	q->size = sqsize + 1;
	q->sqfc_disabled = c->cattr & NVMF_CONNECT_CATTR_SQFC_DISABLE;
	if (qid == 0)
		return nvmf_connect_admin(r, s, c, d);
	if (s->is_disc)
		return nvmf_connect_bad(r, offsetof(struct nvmf_connect_cmd, qid), false,
					"the discovery controller has no I/O queues");
	nvmf_connect_io(r, s, c, d);
}

/* Admin queue Connect: a new controller (dynamic model: CNTLID FFFFh). */
void nvmf_connect_admin(struct nvmf_req *r, struct nvmf_subsys *s,
			       const struct nvmf_connect_cmd *c, const struct nvmf_connect_data *d)
{
	struct nvmf_queue *q = r->q;
	struct nvmf_ctrl *ctrl;

	if (le16toh(d->cntlid) != NVMF_CNTLID_DYNAMIC)
		return nvmf_connect_bad(r, offsetof(struct nvmf_connect_data, cntlid), true,
					"admin Connect must ask for CNTLID FFFFh (dynamic controllers)");
	if (le16toh(c->sqsize) + 1u > NVMF_MAXCMD)
		return nvmf_connect_bad(r, offsetof(struct nvmf_connect_cmd, sqsize), false,
					"admin SQSIZE above MAXCMD");
	ctrl = nvmf_ctrl_alloc(s, d, le32toh(c->kato));
	if (!ctrl) {
		LOG_ERR("Connect from %s: no controller ID free", q->peer);
		return nvmf_req_done(r, NVME_SC_CONNECT_CTRL_BUSY);
	}
	atomic_store(&ctrl->refs, 1);
	ctrl->queues[0] = q;
	q->ctrl = ctrl;
	q->max_icd = NVMF_ADMIN_ICD;
	LOG_INFO("controller %u of %s for %s from %s (KATO %u ms)", ctrl->cntlid, s->nqn,
		 ctrl->hostnqn, q->peer, ctrl->kato_ms);
	r->cqe.dw0 = htole32(ctrl->cntlid |
			     (auth_connect(q, s->nqn, ctrl->hostnqn) ? NVMF_CONNECT_AUTHREQ_ATR : 0));
	nvmf_req_done(r, NVME_SC_SUCCESS);
}

/* I/O queue Connect: join an enabled controller of the same host. */
void nvmf_connect_io(struct nvmf_req *r, struct nvmf_subsys *s,
			    const struct nvmf_connect_cmd *c, const struct nvmf_connect_data *d)
{
	uint16_t qid = le16toh(c->qid), cntlid = le16toh(d->cntlid);
	struct nvmf_queue *q = r->q;
	struct nvmf_ctrl *ctrl;
	uint16_t status = 0;

	pthread_mutex_lock(&s->lock);
	for (ctrl = s->ctrls; ctrl && ctrl->cntlid != cntlid; ctrl = ctrl->next)
		;
	if (ctrl && !atomic_load(&ctrl->dead))
		atomic_fetch_add(&ctrl->refs, 1);
	else
		ctrl = NULL;
	pthread_mutex_unlock(&s->lock);
	if (!ctrl)
		return nvmf_connect_bad(r, offsetof(struct nvmf_connect_data, cntlid), true,
					"I/O queue Connect names no live controller (connect the admin queue first)");
	if (strncmp(ctrl->hostnqn, d->hostnqn, NVMF_NQN_SIZE)) {
		nvmf_ctrl_put(ctrl);
		return nvmf_connect_bad(r, offsetof(struct nvmf_connect_data, hostnqn), true,
					"I/O queue Connect from another host than the admin queue's");
	}
	pthread_mutex_lock(&ctrl->lock);
	if (qid > (ctrl->nr_io_queues_set ? ctrl->nr_io_queues : g_limits.max_io_qpairs))
		status = NVME_SC_CONNECT_INVALID_PARAM;
	else if (!(atomic_load(&ctrl->csts) & NVME_CSTS_RDY))
		status = NVME_SC_CMD_SEQ_ERROR;
	else if (ctrl->queues[qid])
		status = NVME_SC_CONNECT_CTRL_BUSY;
	else
		ctrl->queues[qid] = q;
	pthread_mutex_unlock(&ctrl->lock);
	if (status) {
		nvmf_ctrl_put(ctrl);
		if (status == NVME_SC_CONNECT_INVALID_PARAM)
			return nvmf_connect_bad(r, offsetof(struct nvmf_connect_cmd, qid), false,
						"QID above the number of I/O queues granted");
		LOG_WARN("I/O queue %u Connect from %s: %s", qid, q->peer,
			 status == NVME_SC_CMD_SEQ_ERROR ? "controller not enabled (CC.EN=0)"
							 : "queue already connected");
		return nvmf_req_done(r, status | NVME_STATUS_DNR);
	}
	q->ctrl = ctrl;
	q->gen = atomic_load(&ctrl->gen);
	q->max_icd = g_limits.io_icd;
	LOG_DBG("controller %u: I/O queue %u (%u entries) from %s", ctrl->cntlid, qid,
		le16toh(c->sqsize) + 1, q->peer);
	r->cqe.dw0 = htole32(ctrl->cntlid |
			     (auth_connect(q, s->nqn, ctrl->hostnqn) ? NVMF_CONNECT_AUTHREQ_ATR : 0));
	nvmf_req_done(r, NVME_SC_SUCCESS);
}

/* Reject a Connect naming the bad field: IPO is its byte offset, IATTR
 * says whether in the SQE (0) or in the data (1) [BASE-2.0c Fig. 549]. */
void nvmf_connect_bad(struct nvmf_req *r, uint16_t ipo, bool in_data, const char *why)
{
	LOG_WARN("Connect from %s rejected: %s", r->q->peer, why);
	r->cqe.dw0 = htole32(ipo | (in_data ? NVMF_CONNECT_IATTR_DATA << 16 : 0));
	nvmf_req_done(r, NVME_SC_CONNECT_INVALID_PARAM | NVME_STATUS_DNR);
}

/* Property Get/Set [BASE-2.0c §6.5-6.6]: CAP, VS, CC, CSTS. */
void nvmf_property(struct nvmf_req *r)
{
	const struct nvmf_prop_cmd *p = (const void *)&r->sqe;
	struct nvmf_ctrl *ctrl = r->q->ctrl;
	bool wide = (p->attrib & 7) == 1;
	uint32_t ofst = le32toh(p->ofst);
	uint64_t v;

	if (p->fctype == NVMF_FCTYPE_PROP_SET) {
		if (ofst != NVME_REG_CC || wide)
			return nvmf_req_fail_at(r, NVME_SC_INVALID_FIELD, offsetof(struct nvmf_prop_cmd, ofst));
		nvmf_cc_write(ctrl, (uint32_t)le64toh(p->value));
		return nvmf_req_done(r, NVME_SC_SUCCESS);
	}
	if (ofst == NVME_REG_CAP && wide)
		v = nvmf_cap();
	else if (ofst == NVME_REG_VS && !wide)
		v = NVME_VS(2, 0, 0);
	else if (ofst == NVME_REG_CC && !wide)
		v = atomic_load(&ctrl->cc);
	else if (ofst == NVME_REG_CSTS && !wide)
		v = atomic_load(&ctrl->csts);
	else
		return nvmf_req_fail_at(r, NVME_SC_INVALID_FIELD, offsetof(struct nvmf_prop_cmd, ofst));
	r->cqe.dw0 = htole32((uint32_t)v);
	r->cqe.dw1 = htole32((uint32_t)(v >> 32));
	nvmf_req_done(r, NVME_SC_SUCCESS);
}

/* CAP [BASE-2.0c §3.1.4.1, Fig. 36], what this controller is: queues up
 * to the transport's depth, ready within 7.5 s, the NVM command set named
 * through I/O command sets (so hosts may send Identify with CSI), and
 * 4 KiB pages only. There are no doorbells, so DSTRD stays 0. */
uint64_t nvmf_cap(void)
{
	const struct nvme_cap_fields cap = {
		.mqes = g_limits.max_queue_depth - 1,	/* 0's based */
		.cqr = true,
		.to = 15,
		.css = NVME_CAP_CSS_NVM | NVME_CAP_CSS_IOCS,
		.mpsmin = 0,
		.mpsmax = 0,
	};

	return nvme_cap_build(&cap);
}

/*
 * CC written: act on EN and SHN transitions [BASE-2.0c §3.6]. Enabling
 * checks the queue entry sizes and page size we support; a bad value sets
 * CSTS.CFS as a real controller would. Disabling is a reset: every I/O
 * queue of the controller goes.
 */
void nvmf_cc_write(struct nvmf_ctrl *ctrl, uint32_t cc)
{
	uint32_t old = atomic_load(&ctrl->cc), csts = atomic_load(&ctrl->csts);
	uint32_t css = (cc >> NVME_CC_CSS_SHIFT) & 7;

	atomic_store(&ctrl->cc, cc);
	if ((cc & NVME_CC_EN) && !(old & NVME_CC_EN)) {
		if (((cc >> NVME_CC_MPS_SHIFT) & 0xf) != 0 || (css != 0 && css != 6) ||
		    ((cc >> NVME_CC_IOSQES_SHIFT) & 0xf) != 6 ||
		    ((cc >> NVME_CC_IOCQES_SHIFT) & 0xf) != 4) {
			LOG_ERR("controller %u: CC 0x%08x asks for what we lack (MPS 0, CSS 0 or 6, IOSQES 6, IOCQES 4)",
				ctrl->cntlid, cc);
			csts |= NVME_CSTS_CFS;
		} else {
			csts |= NVME_CSTS_RDY;
		}
	}
	if (!(cc & NVME_CC_EN) && (old & NVME_CC_EN)) {
		csts &= ~(NVME_CSTS_RDY | NVME_CSTS_CFS | NVME_CSTS_SHST_MASK);
		atomic_fetch_add(&ctrl->gen, 1);
		nvmf_ctrl_reset_aers(ctrl);
	}
	if ((cc & NVME_CC_SHN_MASK) && !(old & NVME_CC_SHN_MASK))
		csts = (csts & ~NVME_CSTS_SHST_MASK) | NVME_CSTS_SHST_CMPLT;
	if (!(cc & NVME_CC_SHN_MASK))
		csts &= ~NVME_CSTS_SHST_MASK;
	LOG_DBG("controller %u: CC 0x%08x -> 0x%08x, CSTS 0x%x", ctrl->cntlid, old, cc, csts);
	atomic_store(&ctrl->csts, csts);
}

/* ==================================================================== */
/* Admin commands                                                      */
/* ==================================================================== */

/*
 * An admin command on an enabled controller. Those that describe the
 * controller (Identify, Get Log Page, Features) are answered in admin.c;
 * the ones that live with the controller's state (AER, Keep Alive,
 * Abort) are answered here.
 */
void nvmf_admin(struct nvmf_req *r)
{
	struct nvmf_ctrl *ctrl = r->q->ctrl;

	pthread_mutex_lock(&ctrl->lock);
	ctrl->last_ka_ms = nvmf_now_ms();	/* any command shows life */
	pthread_mutex_unlock(&ctrl->lock);
	switch (r->sqe.opcode) {
	case NVME_ADM_IDENTIFY:
		return nvmf_identify(r);
	case NVME_ADM_GET_LOG_PAGE:
		return nvmf_get_log_page(r);
	case NVME_ADM_GET_FEATURES:
		return nvmf_get_features(r);
	case NVME_ADM_SET_FEATURES:
		return nvmf_set_features(r);
	case NVME_ADM_ASYNC_EVENT:
		return nvmf_async_event(r);
	case NVME_ADM_KEEP_ALIVE:
		return nvmf_req_done(r, NVME_SC_SUCCESS);
	case NVME_ADM_ABORT:
		if (!ctrl->subsys->is_disc)
			return nvmf_abort(r);
		break;
	}
	/* Create/Delete SQ/CQ have no meaning on fabrics [BASE-2.0c §3.3.2]. */
	nvmf_req_fail_at(r, NVME_SC_INVALID_OPCODE, 0);
}

/* AER: park the command until an event comes [BASE-2.0c §5.2]. */
void nvmf_async_event(struct nvmf_req *r)
{
	struct nvmf_ctrl *ctrl = r->q->ctrl;
	bool full;

	pthread_mutex_lock(&ctrl->lock);
	full = ctrl->nr_aer > NVMF_AERL;
	if (!full)
		ctrl->aer[ctrl->nr_aer++] = r;
	pthread_mutex_unlock(&ctrl->lock);
	if (full)
		return nvmf_req_fail_at(r, NVME_SC_AER_LIMIT, 0);
	nvmf_aen_deliver(ctrl);
}

/*
 * Abort [BASE-2.0c §5.1]. Our commands are either with the backend, which
 * cannot recall them, or waiting for host data that the host itself is
 * sending; so we never abort, and say so honestly: DW0 bit 0 = 1, "not
 * aborted". The command completes on its own.
 */
void nvmf_abort(struct nvmf_req *r)
{
	r->cqe.dw0 = htole32(1);
	nvmf_req_done(r, NVME_SC_SUCCESS);
}

/* ==================================================================== */
/* I/O commands [NVM-1.0c §3]                                          */
/* ==================================================================== */

/* An I/O command whose data (if any) is here: hand it to the backend. */
void nvmf_io(struct nvmf_req *r)
{
	struct nvmf_bdev *b;

	if (r->sqe.opcode == NVME_CMD_FLUSH && le32toh(r->sqe.nsid) == 0xffffffff)
		return nvmf_flush_all(r);
	/* A write's data may have taken several reactor passes to arrive; the
	 * namespace may have been removed (and freed) meanwhile. Look it up
	 * again: same slot, same attach, or it is gone. From here until the
	 * completion, ns->inflight keeps it alive (nvmf_subsys_detach_ns). */
	if (nvmf_ns_get(r->q->ctrl->subsys, le32toh(r->sqe.nsid)) != r->ns ||
	    r->ns->seq != r->ns_seq) {
		r->ns = NULL;
		return nvmf_req_fail_at(r, NVME_SC_INVALID_NS, offsetof(struct nvme_sqe, nsid));
	}
	atomic_fetch_add(&r->ns->inflight, 1);
	r->ns_ref = true;
	b = r->ns->bdev;
	if (r->sqe.opcode == NVME_CMD_DSM) {
		if (!(le32toh(r->sqe.cdw11) & NVME_DSM_AD))
			return nvmf_req_done(r, NVME_SC_SUCCESS);	/* hints only */
		for (uint32_t i = 0; i <= (le32toh(r->sqe.cdw10) & 0xff); i++) {
			const struct nvme_dsm_range *d = (const void *)(r->data + i * 16);
			uint64_t slba = le64toh(d->slba), nlb = le32toh(d->nlb);

			if (slba > b->nblocks || nlb > b->nblocks - slba)
				return nvmf_req_fail_at(r, NVME_SC_LBA_RANGE, 0);
		}
		if (!nvmf_dsm_next(r))
			return nvmf_req_done(r, NVME_SC_SUCCESS);
	}
	if (r->sqe.opcode == NVME_CMD_COMPARE) {
		r->aux = malloc(r->nblocks << b->lbads);
		if (!r->aux)
			return nvmf_req_done(r, NVME_SC_INTERNAL);
		r->bio_buf = r->aux;
	}
	if (r->bio == BIO_READ && !r->data)	/* nvmf_req_reads_in_place() said so */
		return nvmf_io_in_place(r, b);
	b->ops->submit(b, r);
}

/*
 * A Read sent from the namespace's own memory: no copy here, the kernel's
 * copy into the socket is the only one. The rules that make it correct:
 *
 *   when     the bytes are taken when the transport's send takes them,
 *            at any time between now and the completion; a read and a
 *            write outstanding together have no order [BASE-2.0c §3.4.1,
 *            NVM-1.0c §2.1.2], but a write completed before this read
 *            was submitted is in memory already, so it is always seen
 *            [NVM-1.0c §2.1.4.2, last paragraph].
 *   blocks   AWUN is 0h: one logical block is atomic against reads
 *            [NVM-1.0c §2.1.4.1]. The transport sends each block whole
 *            in one send, or copies what the send left of it at once
 *            (tcp.c: tcp_flush_tear), so no write on this reactor can
 *            land in the middle of a block it sends.
 *   digest   a data digest must cover the bytes sent; a write may change
 *            them between the CRC and the send, so the transport does not
 *            read in place when DDGST is on (it copies: one snapshot).
 *   lifetime r holds ns->inflight until nvmf_req_release(), not just
 *            until the completion, so removing the namespace waits until
 *            the bytes have left (nvmf_subsys_detach_ns).
 *
 * Not implemented: block atomicity against a write that another reactor
 * copies in at the same instant the kernel copies out [NVM-1.0c
 * §2.1.4.1], because that needs a lock per block range on every command;
 * two memcpy()s of the buffered path race in the same way.
 */
void nvmf_io_in_place(struct nvmf_req *r, struct nvmf_bdev *b)
{
	r->data = b->ops->map ? b->ops->map(b, r->slba, r->nblocks) : NULL;
	if (!r->data)		/* cannot happen: the namespace is the one we asked about */
		return nvmf_req_done(r, NVME_SC_INTERNAL);
	r->in_place = true;
	nvmf_bdev_done(r, NVME_SC_SUCCESS);
}

/*
 * Check an I/O command before any data moves: namespace, LBA range, size
 * against MDTS and against what the SGL describes [NVM-1.0c §3.2.4-6].
 * Returns 0, or a status already sent.
 */
int nvmf_io_prep(struct nvmf_req *r)
{
	struct nvmf_subsys *s = r->q->ctrl->subsys;
	uint32_t nsid = le32toh(r->sqe.nsid), cdw12 = le32toh(r->sqe.cdw12);
	uint8_t opc = r->sqe.opcode;
	uint64_t bytes;

	if (opc == NVME_CMD_FLUSH && nsid == 0xffffffff)
		return 0;
	r->ns = nvmf_ns_get(s, nsid);
	if (!r->ns) {
		nvmf_req_fail_at(r, NVME_SC_INVALID_NS, offsetof(struct nvme_sqe, nsid));
		return -EINVAL;
	}
	r->ns_seq = r->ns->seq;		/* nvmf_io() checks it is still there */
	r->slba = (uint64_t)le32toh(r->sqe.cdw11) << 32 | le32toh(r->sqe.cdw10);
	r->nblocks = (cdw12 & NVME_RW_NLB_MASK) + 1;
	r->fua = cdw12 & NVME_RW_FUA;
	r->bio_buf = r->data;
	switch (opc) {
	case NVME_CMD_FLUSH:
		r->bio = BIO_FLUSH;
		r->nblocks = 0;
		return 0;
	case NVME_CMD_DSM:
		r->nblocks = 0;
		r->dsm_next = 0;
		r->bio = BIO_DEALLOC;
		if (r->data_len < ((le32toh(r->sqe.cdw10) & 0xff) + 1) * sizeof(struct nvme_dsm_range)) {
			nvmf_req_fail_at(r, NVME_SC_SGL_INVALID_DATA, offsetof(struct nvme_sqe, dptr));
			return -EINVAL;
		}
		return 0;
	case NVME_CMD_READ: case NVME_CMD_WRITE: case NVME_CMD_COMPARE: case NVME_CMD_WRITE_ZEROES:
		break;
	default:
		nvmf_req_fail_at(r, NVME_SC_INVALID_OPCODE, 0);
		return -EINVAL;
	}
	if (r->slba >= r->ns->bdev->nblocks || r->nblocks > r->ns->bdev->nblocks - r->slba) {
		nvmf_req_fail_at(r, NVME_SC_LBA_RANGE, offsetof(struct nvme_sqe, cdw10));
		return -EINVAL;
	}
	r->bio = opc == NVME_CMD_READ ? BIO_READ : opc == NVME_CMD_WRITE_ZEROES ?
		 BIO_WRITE_ZEROES : opc == NVME_CMD_WRITE ? BIO_WRITE : BIO_READ;
	if (opc == NVME_CMD_WRITE_ZEROES)
		return 0;
	bytes = r->nblocks << r->ns->bdev->lbads;
	if (bytes > r->q->max_data || (r->ns->bdev->max_xfer && bytes > r->ns->bdev->max_xfer)) {
		nvmf_req_fail_at(r, NVME_SC_INVALID_FIELD, offsetof(struct nvme_sqe, cdw12));
		return -EINVAL;
	}
	if (bytes != r->data_len) {
		nvmf_req_fail_at(r, NVME_SC_SGL_INVALID_DATA, offsetof(struct nvme_sqe, dptr));
		return -EINVAL;
	}
	return 0;
}

/* A backend finished r. Count it for SMART and answer the host. */
void nvmf_bdev_done(struct nvmf_req *r, uint16_t status)
{
	struct nvmf_ns *ns = r->ns;
	uint64_t bytes = r->nblocks << ns->bdev->lbads;

	if (status) {
		free(r->aux);
		r->aux = NULL;
		return nvmf_req_fail_at(r, status, 0);
	}
	if (r->sqe.opcode == NVME_CMD_DSM && nvmf_dsm_next(r))
		return ns->bdev->ops->submit(ns->bdev, r);
	if (r->sqe.opcode == NVME_CMD_FLUSH && le32toh(r->sqe.nsid) == 0xffffffff &&
	    nvmf_flush_next(r))
		return;
	switch (r->sqe.opcode) {
	case NVME_CMD_READ:
		atomic_fetch_add(&ns->bytes_read, bytes);
		atomic_fetch_add(&ns->reads, 1);
		r->xfer_len = bytes;
		break;
	case NVME_CMD_WRITE:
		atomic_fetch_add(&ns->bytes_written, bytes);
		atomic_fetch_add(&ns->writes, 1);
		break;
	case NVME_CMD_COMPARE:
		atomic_fetch_add(&ns->reads, 1);
		status = memcmp(r->aux, r->data, bytes) ? NVME_SC_COMPARE_FAILED : 0;
		free(r->aux);
		r->aux = NULL;
		if (status)
			return nvmf_req_done(r, status | NVME_STATUS_DNR);
		break;
	}
	nvmf_req_done(r, NVME_SC_SUCCESS);
}

/* The next Dataset Management range to deallocate, if any. Returns
 * false when none is left. */
bool nvmf_dsm_next(struct nvmf_req *r)
{
	uint32_t nr = (le32toh(r->sqe.cdw10) & 0xff) + 1;
	const struct nvme_dsm_range *rg = (const void *)r->data;

	while (r->dsm_next < nr) {
		const struct nvme_dsm_range *d = &rg[r->dsm_next++];

		if (le32toh(d->nlb) == 0)
			continue;
		r->slba = le64toh(d->slba);
		r->nblocks = le32toh(d->nlb);
		return true;
	}
	return false;
}

void nvmf_flush_all(struct nvmf_req *r)
{
	r->dsm_next = 0;
	if (!nvmf_flush_next(r))
		nvmf_req_done(r, NVME_SC_SUCCESS);
}

/*
 * Flush of NSID FFFFFFFFh: every namespace whose backend has a volatile
 * write cache [NVM-1.0c §3.2.2], one after the other. r->dsm_next is the
 * last NSID looked at; each flush pins its namespace (ns->inflight) the
 * way a single-namespace command does. Returns true when a flush was
 * submitted (nvmf_bdev_done() calls back here), false when none is left.
 */
bool nvmf_flush_next(struct nvmf_req *r)
{
	struct nvmf_subsys *s = r->q->ctrl->subsys;

	nvmf_req_drop_ns(r);		/* the previous namespace is flushed */
	while (r->dsm_next < NVMF_MAX_NS) {
		struct nvmf_ns *ns = nvmf_ns_get(s, ++r->dsm_next);

		if (!ns || !ns->bdev->vwc)
			continue;
		r->ns = ns;
		atomic_fetch_add(&ns->inflight, 1);
		r->ns_ref = true;
		r->bio = BIO_FLUSH;
		r->nblocks = 0;
		ns->bdev->ops->submit(ns->bdev, r);
		return true;
	}
	return false;
}

/* ==================================================================== */
/* Controllers                                                         */
/* ==================================================================== */

struct nvmf_ctrl *nvmf_ctrl_alloc(struct nvmf_subsys *s, const struct nvmf_connect_data *d,
					 uint32_t kato_ms)
{
	struct nvmf_ctrl *ctrl = calloc(1, sizeof(*ctrl));

	if (!ctrl)
		return NULL;
	pthread_mutex_lock(&s->lock);
	ctrl->cntlid = nvmf_cntlid_alloc(s);
	if (!ctrl->cntlid) {
		pthread_mutex_unlock(&s->lock);
		free(ctrl);
		return NULL;
	}
	ctrl->subsys = s;
	memcpy(ctrl->hostnqn, d->hostnqn, NVMF_NQN_SIZE);
	memcpy(ctrl->hostid, d->hostid, sizeof(ctrl->hostid));
	ctrl->kato_ms = kato_ms;
	ctrl->last_ka_ms = nvmf_now_ms();
	ctrl->born_ms = ctrl->last_ka_ms;
	ctrl->temp_over = 0x157;	/* 343 K, the warning threshold */
	pthread_mutex_init(&ctrl->lock, NULL);
	ctrl->next = s->ctrls;
	s->ctrls = ctrl;
	pthread_mutex_unlock(&s->lock);
	return ctrl;
}

/* Pick a controller ID no live controller of s uses [BASE-2.0c §3.3.1.2,
 * dynamic model]. Caller holds s->lock. Returns 0 when all are taken. */
uint16_t nvmf_cntlid_alloc(struct nvmf_subsys *s)
{
	uint16_t id = 0;

	pthread_mutex_lock(&g_cntlid_lock);
	for (int tries = 0; tries < NVMF_CNTLID_MAX && !id; tries++) {
		uint16_t c = g_next_cntlid;
		struct nvmf_ctrl *ctrl;

		g_next_cntlid = c == NVMF_CNTLID_MAX ? 1 : c + 1;
		for (ctrl = s->ctrls; ctrl && ctrl->cntlid != c; ctrl = ctrl->next)
			;
		if (!ctrl)
			id = c;
	}
	pthread_mutex_unlock(&g_cntlid_lock);
	return id;
}

void nvmf_ctrl_put(struct nvmf_ctrl *ctrl)
{
	struct nvmf_subsys *s = ctrl->subsys;
	struct nvmf_ctrl **pp;

	if (atomic_fetch_sub(&ctrl->refs, 1) != 1)
		return;
	pthread_mutex_lock(&s->lock);
	for (pp = &s->ctrls; *pp && *pp != ctrl; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = ctrl->next;
	pthread_mutex_unlock(&s->lock);
	LOG_INFO("controller %u of %s for %s freed", ctrl->cntlid, s->nqn, ctrl->hostnqn);
	pthread_mutex_destroy(&ctrl->lock);
	free(ctrl);
}

/* Tear the whole controller down: each queue closes on its next tick. */
void nvmf_ctrl_kill(struct nvmf_ctrl *ctrl)
{
	atomic_store(&ctrl->dead, true);
}

/* A controller reset ends outstanding admin commands [BASE-2.0c §3.7.2]:
 * answer the parked AERs so their slots come back, forget events. The
 * admin queue closing does the same. Runs on the admin queue's reactor. */
void nvmf_ctrl_reset_aers(struct nvmf_ctrl *ctrl)
{
	struct nvmf_req *aer[NVMF_AERL + 1];
	int n;

	pthread_mutex_lock(&ctrl->lock);
	n = ctrl->nr_aer;
	memcpy(aer, ctrl->aer, sizeof(aer));
	ctrl->nr_aer = 0;
	ctrl->evt_pending = ctrl->evt_masked = 0;
	pthread_mutex_unlock(&ctrl->lock);
	for (int i = 0; i < n; i++)
		nvmf_req_done(aer[i], NVME_SC_ABORT_SQ_DELETED);
}

/*
 * The transport has closed q. Detach it from its controller; losing the
 * admin queue loses the controller [BASE-2.0c §3.3.2.3]. AERs the admin
 * queue held are handed back so the transport can free their slots.
 */
void nvmf_queue_closed(struct nvmf_queue *q)
{
	struct nvmf_ctrl *ctrl = q->ctrl;

	auth_queue_free(q);
	if (!ctrl)
		return;
	pthread_mutex_lock(&ctrl->lock);
	if (ctrl->queues[q->qid] == q)
		ctrl->queues[q->qid] = NULL;
	pthread_mutex_unlock(&ctrl->lock);
	if (q->qid == 0) {
		LOG_INFO("controller %u: admin queue from %s closed", ctrl->cntlid, q->peer);
		nvmf_ctrl_kill(ctrl);
		nvmf_ctrl_reset_aers(ctrl);
	}
	q->ctrl = NULL;
	nvmf_ctrl_put(ctrl);
}

/* ==================================================================== */
/* Asynchronous events [BASE-2.0c §5.2]                                */
/* ==================================================================== */

/* The namespace list of s changed (nsid added or removed): every live
 * controller gets it in its Changed Namespace List and, if enabled, an
 * AEN [BASE-2.0c §5.2.1, Fig. 151]. Any thread. */
void nvmf_ns_changed(struct nvmf_subsys *s, uint32_t nsid)
{
	pthread_mutex_lock(&s->lock);
	for (struct nvmf_ctrl *c = s->ctrls; c; c = c->next)
		nvmf_ctrl_event(c, NVMF_EVT_NS_CHANGED, nsid);
	pthread_mutex_unlock(&s->lock);
}

/* What the discovery log says changed: new GENCTR, and a log-change AEN
 * to persistent discovery controllers [BASE-2.0c §5.16.1.23]. */
void nvmf_disc_changed(void)
{
	nvmf_disc_genctr_move();
	pthread_mutex_lock(&g_discovery.lock);
	for (struct nvmf_ctrl *c = g_discovery.ctrls; c; c = c->next)
		nvmf_ctrl_event(c, NVMF_EVT_DISC_CHANGED, 0);
	pthread_mutex_unlock(&g_discovery.lock);
}

/* Note an event for ctrl; it goes out on the admin queue's next tick. */
void nvmf_ctrl_event(struct nvmf_ctrl *ctrl, uint32_t evt, uint32_t nsid)
{
	pthread_mutex_lock(&ctrl->lock);
	if (evt == NVMF_EVT_NS_CHANGED && ctrl->nr_changed_ns < NVMF_CHANGED_NS_MAX)
		ctrl->changed_ns[ctrl->nr_changed_ns++] = nsid;
	if ((ctrl->aec & nvmf_evt_aec_bit(evt)) && !(ctrl->evt_masked & evt))
		ctrl->evt_pending |= evt;
	pthread_mutex_unlock(&ctrl->lock);
}

/*
 * Complete one waiting AER per pending event. An event type stays masked
 * after it is reported until the host reads its log page [BASE-2.0c
 * §5.2.1]. Runs on the admin queue's reactor.
 */
void nvmf_aen_deliver(struct nvmf_ctrl *ctrl)
{
	for (;;) {
		struct nvmf_req *r = NULL;
		uint32_t evt;

		pthread_mutex_lock(&ctrl->lock);
		evt = ctrl->evt_pending & -ctrl->evt_pending;	/* lowest bit */
		if (evt && ctrl->nr_aer) {
			r = ctrl->aer[--ctrl->nr_aer];
			ctrl->evt_pending &= ~evt;
			ctrl->evt_masked |= evt;
		}
		pthread_mutex_unlock(&ctrl->lock);
		if (!r)
			return;
		r->cqe.dw0 = htole32(nvmf_evt_dw0(evt));
		LOG_INFO("controller %u: asynchronous event 0x%08x", ctrl->cntlid, nvmf_evt_dw0(evt));
		nvmf_req_done(r, NVME_SC_SUCCESS);
	}
}

uint32_t nvmf_evt_dw0(uint32_t evt)
{
	if (evt == NVMF_EVT_NS_CHANGED)
		return NVME_AER_DW0(NVME_AER_TYPE_NOTICE, NVME_AER_NOTICE_NS_CHANGED,
				    NVME_LOG_CHANGED_NS);
	return NVME_AER_DW0(NVME_AER_TYPE_NOTICE, NVME_AER_NOTICE_DISC_CHANGED, NVME_LOG_DISC);
}

uint32_t nvmf_evt_aec_bit(uint32_t evt)
{
	return evt == NVMF_EVT_NS_CHANGED ? NVME_CTRL_OAES_NS_ATTR : NVME_CTRL_OAES_DISC_CHANGE;
}

/* ==================================================================== */
/* Keep-alive [BASE-2.0c §5.25]                                        */
/* ==================================================================== */

/* Every 100 ms or so, per queue, on its reactor: follow the controller's
 * death or reset, expire keep-alive, deliver events. */
void nvmf_queue_tick(struct nvmf_queue *q)
{
	struct nvmf_ctrl *ctrl = q->ctrl;
	uint64_t now, idle;

	if (!ctrl || q->closing)
		return;
	if (atomic_load(&ctrl->dead) || (q->qid && q->gen != atomic_load(&ctrl->gen))) {
		q->ops->close(q);
		return;
	}
	now = nvmf_now_ms();
	if (q->qid) {
		/* Traffic Based Keep Alive (we set CTRATT.TBKAS): a command on
		 * any queue restarts the keep-alive timer [BASE-2.0c §3.9.5],
		 * so a busy host need not send Keep Alive. Noted here, at the
		 * tick, to keep a lock off the I/O path. */
		if (q->nr_cmds != q->nr_cmds_seen) {
			q->nr_cmds_seen = q->nr_cmds;
			pthread_mutex_lock(&ctrl->lock);
			ctrl->last_ka_ms = now;
			pthread_mutex_unlock(&ctrl->lock);
		}
		return;
	}
	if (q->auth_required && !q->authenticated) {
		/* Until the admin queue is authenticated the host can send
		 * nothing but Authentication Send/Receive (Keep Alive would
		 * fail with Authentication Required), and one side's DH step
		 * may take longer than KATO on a slow machine. So the keep-
		 * alive timer starts when authentication succeeds, and until
		 * then a longer bound closes the queue of a host that stopped
		 * half way. */
		if (now - ctrl->born_ms > NVMF_AUTH_TIMEOUT_MS) {
			LOG_ERR("controller %u (%s): authentication not finished %u ms after "
				"Connect; closing the admin queue", ctrl->cntlid, ctrl->hostnqn,
				NVMF_AUTH_TIMEOUT_MS);
			nvmf_ctrl_kill(ctrl);
			q->ops->close(q);
			return;
		}
		pthread_mutex_lock(&ctrl->lock);
		ctrl->last_ka_ms = now;
		pthread_mutex_unlock(&ctrl->lock);
		return;
	}
	pthread_mutex_lock(&ctrl->lock);
	idle = now - ctrl->last_ka_ms;
	pthread_mutex_unlock(&ctrl->lock);
	if (ctrl->kato_ms && idle > ctrl->kato_ms) {
		LOG_ERR("controller %u (%s): keep-alive timeout: KATO %u ms agreed at Connect, "
			"%llu ms since the last command; tearing it down",
			ctrl->cntlid, ctrl->hostnqn, ctrl->kato_ms, (unsigned long long)idle);
		nvmf_ctrl_kill(ctrl);
		q->ops->close(q);
		return;
	}
	nvmf_aen_deliver(ctrl);
}

/* ==================================================================== */
/* Helpers                                                             */
/* ==================================================================== */

const char *nvmf_opcode_name(const struct nvme_sqe *sqe, uint16_t qid)
{
	/* The names live with the rest of the trace's words, in trace.c. */
	return trace_opcode_name(sqe, qid);
}
