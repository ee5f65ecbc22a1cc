/*
 * pcie_nvme.c - a user-space NVMe driver, and the nvme:/sim: namespace
 * backends built on it.
 *
 *   nvmf.c --submit--> pci_bdev_submit --SQE--> I/O SQ --doorbell--+
 *      ^                                                            v
 *      +--nvmf_bdev_done-- pci_qpair_poll <--CQE (phase tag)-- controller
 *                                 |
 *            struct nvme_bus (the bus seam, nvmf.h): registers, DMA
 *               |                                 |
 *        pcie_vfio.c (/dev/vfio,              sim/ (a software controller
 *        BAR0 mmap, IOMMU mappings)            in memory, polled by us)
 *
 * Sections, in the order a controller lives:
 *   1. registers and fields             [BASE-2.0c §3.1.4]
 *   2. queue pairs: rings, command slots, PRPs, doorbells, completions
 *   3. admin commands, run synchronously
 *   4. bring-up, reset and shutdown     [BASE-2.0c §3.5.1, §3.6]
 *   5. the backend: struct nvmf_bdev_ops over one namespace
 * The VFIO bus itself (container, group, BAR0, IOMMU mappings) is in
 * pcie_vfio.c; this file sees it only through struct nvme_bus.
 *
 * Done here: polled queues only (no interrupts are ever set up), PRPs only
 * (no SGLs), one I/O queue pair per reactor that uses the namespace, one
 * namespace per controller. Not implemented: interrupts, Abort, AER,
 * several namespaces per controller, metadata, splitting a request larger
 * than the controller's MDTS (such a controller is refused).
 *
 * Threads: each I/O queue pair belongs to the reactor that first submitted
 * on it; only that thread touches it. The admin queue has its own mutex.
 * A controller reset takes c->lock for writing; the I/O path holds it for
 * reading, so a reset never runs under a reactor's feet. sim/ runs inside
 * poll() with no lock of its own, so its bus is used by one reactor at a
 * time (c->bus_lock); VFIO hardware needs no such lock.
 *
 * Tutorial chapter 07 reads this file top to bottom.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nvmf.h"

/* ==================================================================== */
/* 1. Registers and fields [BASE-2.0c §3.1.4, Fig. 35]                  */
/* ==================================================================== */

#define PCI_REG_CAP		0x00	/* Controller Capabilities, 64 bit */
#define PCI_REG_VS		0x08
#define PCI_REG_CC		0x14
#define PCI_REG_CSTS		0x1c
#define PCI_REG_AQA		0x24	/* Admin Queue Attributes */
#define PCI_REG_ASQ		0x28	/* Admin SQ base, 64 bit */
#define PCI_REG_ACQ		0x30	/* Admin CQ base, 64 bit */
#define PCI_REG_DBS		0x1000	/* first doorbell [BASE-2.0c §3.1.4] */


/* CC values we write [BASE-2.0c §3.1.4]: NVM command set (CSS 000b),
 * 4 KiB pages (MPS 0 = 2^(12+0)), 64-byte SQEs and 16-byte CQEs (log2). */
#define PCI_CC_SHN_NORMAL	(1u << NVME_CC_SHN_SHIFT)
#define PCI_SQES_LOG2		6
#define PCI_CQES_LOG2		4

#define PCI_PAGE		4096u	/* the memory page size we program */
#define PCI_ADMIN_QSIZE		32	/* admin queue entries */
#define PCI_IO_QSIZE		128	/* I/O queue entries, capped by CAP.MQES */
#define PCI_MAX_IOQ		16	/* I/O queue pairs: one per reactor */
#define PCI_MAX_XFER		(2u << 20)	/* one PRP list page holds 512 entries */
#define PCI_BOUNCE		NVMF_MAX_DATA	/* bounce buffer per I/O slot */
#define PCI_TIMEOUT_MS		30000	/* per command, like Linux's io_timeout */
#define PCI_CSTS_CHECK_MS	500	/* look for CSTS.CFS this often while busy */
#define PCI_OVERFLOW		1024	/* requests waiting for a free slot */

/* ==================================================================== */
/* 2. Queue pairs                                                       */
/* ==================================================================== */

/*
 * A queue pair is two rings in DMA memory and two doorbells:
 *
 *   SQ  [ sqe | sqe | sqe |     |     ]   we own the tail: write an SQE at
 *              ^head(dev)  ^tail(us)       sq_tail, then ring the SQ tail
 *                                          doorbell with the new tail
 *   CQ  [ cqe | cqe |     |     |     ]   the device owns the tail; we own
 *        ^cq_head                          the head. An entry is new when its
 *                                          phase tag equals cq_phase; the
 *                                          device flips the tag each lap
 *                                          [BASE-2.0c §4.6]
 *
 * The CID of a command is its slot index. Only size - 1 slots exist, so
 * the SQ can never overflow: a full queue holds size - 1 entries
 * [BASE-2.0c §3.3.1]. Each slot owns one PRP list page and, for I/O
 * queues, one bounce buffer, all preallocated: nothing on the I/O path
 * calls malloc.
 */
struct pci_cmd;
typedef void pci_cmd_cb(struct pci_cmd *cmd, uint16_t status, uint32_t dw0);

struct pci_cmd {
	bool busy;
	uint64_t deadline;		/* nvmf_now_ms() after which it timed out */
	pci_cmd_cb *cb;			/* called once, from the owner's poll */
	void *arg;
	uint64_t *prp_list;		/* one page of PRP entries */
	uint64_t prp_iova;
	uint8_t *bounce;		/* PCI_BOUNCE bytes (I/O queues) */
	uint64_t bounce_iova;
	uint32_t len;			/* bytes moved through bounce */
	bool sync_done;			/* pci_sync_cb: status and dw0 are in */
	uint16_t status;
	uint32_t dw0;
};

struct pci_qpair {
	uint16_t qid, size;		/* size: ring entries */
	struct nvme_sqe *sq;
	struct nvme_cqe *cq;
	uint64_t sq_iova, cq_iova;
	uint16_t sq_tail, cq_head, sq_head;
	uint8_t cq_phase;
	uint32_t sq_db, cq_db;		/* doorbell offsets in BAR0 */
	struct pci_cmd *cmds;		/* size - 1 slots; the index is the CID */
	uint16_t *free;			/* stack of free CIDs */
	uint16_t nr_free;
	void *mem;			/* rings + PRP pages, one DMA region */
	size_t mem_len;
	void *bounce;			/* bounce buffers, one DMA region */
	size_t bounce_len;
	pthread_t owner;		/* the reactor that uses it */
	bool abort_pending;		/* a reset ended its commands */
	struct nvmf_req *overflow[PCI_OVERFLOW];	/* waiting for a slot */
	unsigned ov_head, ov_tail;
	uint64_t now_ms;		/* the clock at the last poll pass */
	uint64_t completions, wraps;	/* counters for tests and the bench */
};

struct pci_ctrl {
	struct nvme_bus *bus;
	uint64_t cap;
	uint32_t vs;
	uint32_t dstrd_bytes;		/* doorbell stride: 4 << CAP.DSTRD */
	uint32_t to_ms;			/* CAP.TO: ready timeout */
	uint32_t timeout_ms;		/* per command */
	uint32_t max_xfer;		/* min(MDTS, PCI_MAX_XFER) */
	uint16_t io_qsize;
	uint16_t nr_ioq;		/* granted by Set Features NQ */
	struct nvme_id_ctrl *id;	/* DMA: Identify Controller */
	uint64_t id_iova;
	void *scratch;			/* DMA: one page for admin data */
	uint64_t scratch_iova;
	struct pci_qpair admin;
	pthread_mutex_t admin_lock;
	struct pci_qpair *ioq[PCI_MAX_IOQ];	/* index qid - 1 */
	pthread_rwlock_t lock;		/* write: reset; read: the I/O path */
	pthread_mutex_t bus_lock;	/* serializes a bus that runs in poll() */
	atomic_bool need_reset;
	bool dead;			/* reset failed: every command fails */
	uint64_t resets;
};

/* The doorbell of queue qid [BASE-2.0c §3.1.4]: SQ y tail at
 * 1000h + (2y) * stride, CQ y head at 1000h + (2y + 1) * stride. */
static void pci_qpair_doorbells(struct pci_ctrl *c, struct pci_qpair *qp)
{
	qp->sq_db = PCI_REG_DBS + (2u * qp->qid) * c->dstrd_bytes;
	qp->cq_db = PCI_REG_DBS + (2u * qp->qid + 1) * c->dstrd_bytes;
}

/* Back to the state of a new queue: empty rings, phase tag 1, every slot
 * free. The caller has made sure the device no longer uses the queue. */
static void pci_qpair_reset_rings(struct pci_qpair *qp)
{
	memset(qp->sq, 0, (size_t)qp->size * sizeof(*qp->sq));
	memset(qp->cq, 0, (size_t)qp->size * sizeof(*qp->cq));
	qp->sq_tail = qp->cq_head = qp->sq_head = 0;
	qp->cq_phase = 1;	/* the first lap's entries carry phase 1 [BASE-2.0c §4.6] */
	qp->nr_free = qp->size - 1;
	for (uint16_t i = 0; i < qp->nr_free; i++)
		qp->free[i] = qp->nr_free - 1 - i;	/* CID 0 comes out first */
}

/*
 * Allocate queue pair qid with size entries: rings and PRP pages in one
 * DMA region, bounce buffers in another (with_bounce). Returns 0 or -ENOMEM.
 */
static int pci_qpair_alloc(struct pci_ctrl *c, struct pci_qpair *qp, uint16_t qid,
			   uint16_t size, bool with_bounce)
{
	size_t sq_len = (size * sizeof(struct nvme_sqe) + PCI_PAGE - 1) & ~(size_t)(PCI_PAGE - 1);
	size_t cq_len = (size * sizeof(struct nvme_cqe) + PCI_PAGE - 1) & ~(size_t)(PCI_PAGE - 1);
	uint16_t slots = size - 1;
	uint64_t iova, biova = 0;
	uint8_t *mem, *bounce = NULL;

	qp->qid = qid;
	qp->size = size;
	qp->mem_len = sq_len + cq_len + (size_t)slots * PCI_PAGE;
	qp->cmds = calloc(slots, sizeof(*qp->cmds));
	qp->free = calloc(slots, sizeof(*qp->free));
	qp->mem = mem = c->bus->ops->dma_alloc(c->bus, qp->mem_len, &iova);
	if (with_bounce) {
		qp->bounce_len = (size_t)slots * PCI_BOUNCE;
		qp->bounce = bounce = c->bus->ops->dma_alloc(c->bus, qp->bounce_len, &biova);
	}
	if (!qp->cmds || !qp->free || !mem || (with_bounce && !bounce))
		return -ENOMEM;
	qp->sq = (void *)mem;
	qp->sq_iova = iova;
	qp->cq = (void *)(mem + sq_len);
	qp->cq_iova = iova + sq_len;
	for (uint16_t i = 0; i < slots; i++) {
		size_t off = sq_len + cq_len + (size_t)i * PCI_PAGE;

		qp->cmds[i].prp_list = (uint64_t *)(mem + off);
		qp->cmds[i].prp_iova = iova + off;
		if (bounce) {
			qp->cmds[i].bounce = bounce + (size_t)i * PCI_BOUNCE;
			qp->cmds[i].bounce_iova = biova + (size_t)i * PCI_BOUNCE;
		}
	}
	pci_qpair_doorbells(c, qp);
	pci_qpair_reset_rings(qp);
	return 0;
}

static void pci_qpair_free(struct pci_ctrl *c, struct pci_qpair *qp)
{
	if (qp->mem)
		c->bus->ops->dma_free(c->bus, qp->mem, qp->mem_len);
	if (qp->bounce)
		c->bus->ops->dma_free(c->bus, qp->bounce, qp->bounce_len);
	free(qp->cmds);
	free(qp->free);
	memset(qp, 0, sizeof(*qp));
}

/*
 * Describe len bytes at IOVA iova with PRPs [BASE-2.0c §4.3.1]:
 *
 *   PRP1 = iova (any dword-aligned offset in its page)
 *   fits in PRP1's page        -> PRP2 unused
 *   fits in one more page      -> PRP2 = that page
 *   longer                     -> PRP2 = a PRP list: one entry per further
 *                                 page, each page aligned (offset 0)
 *
 * The buffer is contiguous in IOVA space (our DMA memory always is), and
 * len <= PCI_MAX_XFER, so one list page of 512 entries is enough and no
 * list chaining is needed.
 */
static void pci_build_prps(struct pci_cmd *cmd, struct nvme_sqe *sqe, uint64_t iova, uint32_t len)
{
	uint32_t first = PCI_PAGE - (iova & (PCI_PAGE - 1));
	uint64_t next = (iova + first);
	uint64_t prp2 = 0;

	sqe->dptr.addr = htole64(iova);
	if (len > first && len - first <= PCI_PAGE) {
		prp2 = next;
	} else if (len > first) {
		uint32_t n = (len - first + PCI_PAGE - 1) / PCI_PAGE;

		for (uint32_t i = 0; i < n; i++)
			cmd->prp_list[i] = htole64(next + (uint64_t)i * PCI_PAGE);
		prp2 = cmd->prp_iova;
	}
	memcpy((uint8_t *)&sqe->dptr + 8, &(uint64_t){ htole64(prp2) }, 8);
}

/*
 * Submit sqe on qp: take a slot (its index is the CID), build PRPs for len
 * bytes at iova (len 0: no data), copy the SQE into the ring, ring the SQ
 * tail doorbell. cb runs from the poll that reaps the completion. Returns
 * 0, or -EBUSY when every slot is taken. Only qp's owner calls this.
 */
static int pci_submit(struct pci_ctrl *c, struct pci_qpair *qp, struct nvme_sqe *sqe,
		      uint64_t iova, uint32_t len, pci_cmd_cb *cb, void *arg)
{
	struct pci_cmd *cmd;
	uint16_t cid;

	if (!qp->nr_free)
		return -EBUSY;
	/* The clock is read once per poll pass, not per command (it cost 10%
	 * of the bench); an idle queue has had no recent pass: read it. */
	if (qp->nr_free == qp->size - 1)
		qp->now_ms = nvmf_now_ms();
	cid = qp->free[--qp->nr_free];
	cmd = &qp->cmds[cid];
	cmd->busy = true;
	cmd->cb = cb;
	cmd->arg = arg;
	cmd->deadline = qp->now_ms + c->timeout_ms;
	sqe->cid = htole16(cid);
	sqe->flags = NVME_PSDT_PRP << NVME_SQE_PSDT_SHIFT;	/* PCIe: PRPs */
	memset(&sqe->dptr, 0, sizeof(sqe->dptr));
	if (len)
		pci_build_prps(cmd, sqe, iova, len);
	qp->sq[qp->sq_tail] = *sqe;
	if (++qp->sq_tail == qp->size)
		qp->sq_tail = 0;
	/* The SQE must be in memory before the device learns of it. */
	atomic_thread_fence(memory_order_release);
	c->bus->ops->write32(c->bus, qp->sq_db, qp->sq_tail);
	return 0;
}

/* Free a slot and run its callback. The slot is free before cb runs, so
 * cb may submit again (DSM walks its ranges that way). */
static void pci_cmd_finish(struct pci_qpair *qp, uint16_t cid, uint16_t status, uint32_t dw0)
{
	struct pci_cmd *cmd = &qp->cmds[cid];

	cmd->busy = false;
	qp->free[qp->nr_free++] = cid;
	cmd->cb(cmd, status, dw0);
}

/*
 * Reap new completions of qp: every CQE whose phase tag matches cq_phase,
 * then one CQ head doorbell write for all of them. Returns how many.
 * A CQE naming a CID we did not submit is the device's bug: logged, skipped.
 */
static int pci_reap(struct pci_ctrl *c, struct pci_qpair *qp)
{
	int n = 0;

	for (;;) {
		volatile struct nvme_cqe *e = &qp->cq[qp->cq_head];
		uint16_t st = le16toh(e->status), cid;

		if ((st & 1) != qp->cq_phase)
			break;
		/* Read the rest of the entry only after its phase tag. */
		atomic_thread_fence(memory_order_acquire);
		cid = le16toh(e->cid);
		qp->sq_head = le16toh(e->sqhd);
		if (++qp->cq_head == qp->size) {
			qp->cq_head = 0;
			qp->cq_phase ^= 1;	/* a new lap: new entries carry the other tag */
			qp->wraps++;
		}
		n++;
		if (cid >= qp->size - 1 || !qp->cmds[cid].busy) {
			LOG_ERR("qid=%u cid=%u: completion for no command", qp->qid, cid);
			continue;
		}
		qp->completions++;
		pci_cmd_finish(qp, cid, st >> 1, le32toh(e->dw0));
	}
	if (n)
		c->bus->ops->write32(c->bus, qp->cq_db, qp->cq_head);
	return n;
}

/*
 * Called when nothing completed: has a command outlived its deadline, or
 * has the controller declared itself failed (CSTS.CFS) [BASE-2.0c §3.1.4]?
 * Either way the only safe cure is a controller reset: a command we gave up
 * on could still DMA into its buffer. So we ask for one (need_reset) and the
 * caller runs it where it may take the write lock.
 */
static void pci_check_health(struct pci_ctrl *c, struct pci_qpair *qp)
{
	static _Thread_local uint64_t last_csts;
	uint64_t now = qp->now_ms;

	if (qp->nr_free == qp->size - 1)
		return;
	for (uint16_t i = 0; i < qp->size - 1; i++) {
		if (qp->cmds[i].busy && now > qp->cmds[i].deadline) {
			LOG_ERR("qid=%u cid=%u: no completion after %u ms: resetting the controller",
				qp->qid, i, c->timeout_ms);
			atomic_store(&c->need_reset, true);
			return;
		}
	}
	if (now - last_csts >= PCI_CSTS_CHECK_MS) {
		last_csts = now;
		if (c->bus->ops->read32(c->bus, PCI_REG_CSTS) & NVME_CSTS_CFS) {
			LOG_ERR("CSTS.CFS: the controller reports a fatal status: resetting it");
			atomic_store(&c->need_reset, true);
		}
	}
}

/* Give the device time (sim/ runs here), reap qp, check its health.
 * Returns the completions reaped. Only qp's owner calls this. */
static int pci_qpair_poll(struct pci_ctrl *c, struct pci_qpair *qp)
{
	int n;

	if (c->bus->ops->poll)
		c->bus->ops->poll(c->bus);
	qp->now_ms = nvmf_now_ms();
	n = pci_reap(c, qp);
	if (!n)
		pci_check_health(c, qp);
	return n;
}

/* A reset ended every command of qp: complete each with Command Aborted,
 * without DNR, so the host may retry [BASE-2.0c §4.6.1.2.1]. */
static void pci_qpair_abort_all(struct pci_qpair *qp)
{
	qp->abort_pending = false;
	for (uint16_t i = 0; i < qp->size - 1; i++)
		if (qp->cmds[i].busy)
			pci_cmd_finish(qp, i, NVME_SC_ABORT_REQ, 0);
}

/* ==================================================================== */
/* 3. Admin commands, run synchronously                                 */
/* ==================================================================== */

static void pci_sync_cb(struct pci_cmd *cmd, uint16_t status, uint32_t dw0)
{
	cmd->status = status;
	cmd->dw0 = dw0;
	cmd->sync_done = true;
}

/*
 * Run one command on qp and wait for it, polling. Returns 0 with the NVMe
 * status in *status (and CQE dword 0 in *dw0), or -ETIMEDOUT when it did
 * not complete in time or the controller failed (a reset is then due).
 */
static int pci_sync(struct pci_ctrl *c, struct pci_qpair *qp, struct nvme_sqe *sqe,
		    uint64_t iova, uint32_t len, uint16_t *status, uint32_t *dw0)
{
	struct pci_cmd *cmd;
	int rc = pci_submit(c, qp, sqe, iova, len, pci_sync_cb, NULL);

	if (rc)
		return rc;
	cmd = &qp->cmds[le16toh(sqe->cid)];
	cmd->sync_done = false;
	while (!cmd->sync_done) {
		pci_qpair_poll(c, qp);
		if (!cmd->sync_done && atomic_load(&c->need_reset))
			return -ETIMEDOUT;
	}
	*status = cmd->status;
	if (dw0)
		*dw0 = cmd->dw0;
	return 0;
}

/* An admin command; caller holds admin_lock. -EIO when the status is not
 * success (logged with what was asked). */
static int pci_admin(struct pci_ctrl *c, struct nvme_sqe *sqe, uint64_t iova,
		     uint32_t len, uint32_t *dw0)
{
	uint16_t status;
	uint8_t opc = sqe->opcode;
	int rc = pci_sync(c, &c->admin, sqe, iova, len, &status, dw0);

	if (rc) {
		LOG_ERR("admin opcode 0x%02x: %s", opc, strerror(-rc));
		return rc;
	}
	if (status) {
		LOG_ERR("admin opcode 0x%02x failed: status 0x%x (SCT %u SC 0x%02x)",
			opc, status, NVME_STATUS_SCT(status), NVME_STATUS_SC(status));
		return -EIO;
	}
	return 0;
}

/* Identify (CNS in cdw10, nsid) into the 4 KiB at iova [BASE-2.0c §5.17]. */
static int pci_identify(struct pci_ctrl *c, uint8_t cns, uint32_t nsid, uint64_t iova)
{
	struct nvme_sqe sqe = { .opcode = NVME_ADM_IDENTIFY, .nsid = htole32(nsid),
				.cdw10 = htole32(cns) };

	return pci_admin(c, &sqe, iova, NVME_IDENTIFY_DATA_SIZE, NULL);
}

/* Set Features, Number of Queues [BASE-2.0c §5.27.1.5]: ask for want I/O
 * SQs and CQs (0's based in CDW11); the controller answers what it
 * allocated in CQE dword 0 (NSQA 15:0, NCQA 31:16, also 0's based). */
static int pci_set_num_queues(struct pci_ctrl *c, uint16_t want)
{
	struct nvme_sqe sqe = { .opcode = NVME_ADM_SET_FEATURES,
		.cdw10 = htole32(NVME_FEAT_NUM_QUEUES),
		.cdw11 = htole32((uint32_t)(want - 1) << 16 | (want - 1)) };
	uint32_t dw0, nsqa, ncqa;
	int rc = pci_admin(c, &sqe, 0, 0, &dw0);

	if (rc)
		return rc;
	nsqa = (dw0 & 0xffff) + 1;
	ncqa = (dw0 >> 16) + 1;
	c->nr_ioq = nsqa < ncqa ? nsqa : ncqa;
	if (c->nr_ioq > PCI_MAX_IOQ)
		c->nr_ioq = PCI_MAX_IOQ;
	return 0;
}

/*
 * Create I/O CQ then SQ qp->qid on the controller [BASE-2.0c §5.4, §5.5]:
 * physically contiguous (PC=1), interrupts off (IEN=0: we poll), the SQ
 * bound to the CQ of the same qid. Sizes are 0's based.
 */
static int pci_create_io_queues(struct pci_ctrl *c, struct pci_qpair *qp)
{
	uint32_t qsize_qid = (uint32_t)(qp->size - 1) << 16 | qp->qid;
	struct nvme_sqe cq = { .opcode = NVME_ADM_CREATE_CQ, .cdw10 = htole32(qsize_qid),
			       .cdw11 = htole32(1) };			/* PC */
	struct nvme_sqe sq = { .opcode = NVME_ADM_CREATE_SQ, .cdw10 = htole32(qsize_qid),
			       .cdw11 = htole32((uint32_t)qp->qid << 16 | 1) };	/* CQID, PC */
	int rc = pci_admin(c, &cq, qp->cq_iova, PCI_PAGE, NULL);

	/* With PC=1 only PRP1 counts: the queue's base [BASE-2.0c §5.4].
	 * One page of length keeps our PRP builder from setting PRP2. */
	if (!rc)
		rc = pci_admin(c, &sq, qp->sq_iova, PCI_PAGE, NULL);
	return rc;
}

/* Delete I/O SQ then CQ qid [BASE-2.0c §5.6, §5.7]: the SQ first, a CQ
 * with an SQ still on it cannot go. */
static int pci_delete_io_queues(struct pci_ctrl *c, uint16_t qid)
{
	struct nvme_sqe sq = { .opcode = NVME_ADM_DELETE_SQ, .cdw10 = htole32(qid) };
	struct nvme_sqe cq = { .opcode = NVME_ADM_DELETE_CQ, .cdw10 = htole32(qid) };
	int rc = pci_admin(c, &sq, 0, 0, NULL);

	return rc ? rc : pci_admin(c, &cq, 0, 0, NULL);
}

/*
 * Allocate and create I/O queue pair qid (1..nr_ioq) with bounce buffers,
 * owned by the calling thread. Returns 0 or -errno; on failure nothing is
 * left behind.
 */
static int pci_ioq_create(struct pci_ctrl *c, uint16_t qid, struct pci_qpair **out)
{
	struct pci_qpair *qp = calloc(1, sizeof(*qp));
	int rc;

	if (!qp)
		return -ENOMEM;
	rc = pci_qpair_alloc(c, qp, qid, c->io_qsize, true);
	if (!rc) {
		pthread_mutex_lock(&c->admin_lock);
		rc = pci_create_io_queues(c, qp);
		pthread_mutex_unlock(&c->admin_lock);
	}
	if (rc) {
		pci_qpair_free(c, qp);
		free(qp);
		return rc;
	}
	qp->owner = pthread_self();	/* before other reactors can see it */
	c->ioq[qid - 1] = qp;
	*out = qp;
	return 0;
}

/* ==================================================================== */
/* 4. Bring-up, reset, shutdown [BASE-2.0c §3.5.1, §3.6]               */
/* ==================================================================== */

/*
 * Wait until CSTS.RDY equals rdy, up to CAP.TO (500 ms units) [BASE-2.0c
 * §3.1.4.1]. CSTS reads all ones when the device fell off the bus.
 * Returns 0, -ETIMEDOUT or -ENODEV.
 */
static int pci_wait_ready(struct pci_ctrl *c, bool rdy)
{
	uint64_t end = nvmf_now_ms() + c->to_ms;

	for (;;) {
		uint32_t csts;

		if (c->bus->ops->poll)
			c->bus->ops->poll(c->bus);
		csts = c->bus->ops->read32(c->bus, PCI_REG_CSTS);
		if (csts == 0xffffffff)
			return -ENODEV;
		if (!!(csts & NVME_CSTS_RDY) == rdy)
			return 0;
		if (nvmf_now_ms() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

/* Clear CC.EN and wait for CSTS.RDY = 0: the controller forgets every
 * queue [BASE-2.0c §3.7.2]. */
static int pci_disable(struct pci_ctrl *c)
{
	uint32_t cc = c->bus->ops->read32(c->bus, PCI_REG_CC);

	if (cc & NVME_CC_EN)
		c->bus->ops->write32(c->bus, PCI_REG_CC, cc & ~NVME_CC_EN);
	return pci_wait_ready(c, false);
}

/*
 * Steps 3-5 of [BASE-2.0c §3.5.1]: with the controller disabled, program
 * the admin queue (AQA, ASQ, ACQ), then CC (command set, page size, entry
 * sizes) with EN=1, and wait for CSTS.RDY = 1.
 */
static int pci_enable(struct pci_ctrl *c)
{
	uint32_t cc = NVME_CC_EN | 0u << NVME_CC_CSS_SHIFT | 0u << NVME_CC_MPS_SHIFT |
		      PCI_SQES_LOG2 << NVME_CC_IOSQES_SHIFT | PCI_CQES_LOG2 << NVME_CC_IOCQES_SHIFT;
	uint32_t aqs = c->admin.size - 1;	/* 0's based */

	c->bus->ops->write32(c->bus, PCI_REG_AQA, aqs << 16 | aqs);	/* ACQS, ASQS */
	c->bus->ops->write64(c->bus, PCI_REG_ASQ, c->admin.sq_iova);
	c->bus->ops->write64(c->bus, PCI_REG_ACQ, c->admin.cq_iova);
	c->bus->ops->write32(c->bus, PCI_REG_CC, cc);
	return pci_wait_ready(c, true);
}

/* Read CAP and check we can drive this controller: NVM command set, 4 KiB
 * pages between MPSMIN and MPSMAX [BASE-2.0c Fig. 36]. */
static int pci_read_cap(struct pci_ctrl *c, char *err, size_t errlen)
{
	c->cap = c->bus->ops->read64(c->bus, PCI_REG_CAP);
	c->vs = c->bus->ops->read32(c->bus, PCI_REG_VS);
	if (c->cap == ~0ull) {
		snprintf(err, errlen, "CAP reads all ones: the device does not answer");
		return -ENODEV;
	}
	/* MPSMAX >= MPSMIN, so MPSMIN = 0 (4 KiB) is all we need to see. */
	if (!(nvme_cap_css(c->cap) & NVME_CAP_CSS_NVM) || nvme_cap_mpsmin(c->cap) > 0) {
		snprintf(err, errlen, "controller (CAP 0x%016llx) lacks the NVM command set "
			 "or 4 KiB pages", (unsigned long long)c->cap);
		return -ENOTSUP;
	}
	c->dstrd_bytes = 4u << nvme_cap_dstrd(c->cap);
	c->to_ms = (nvme_cap_to(c->cap) ? nvme_cap_to(c->cap) : 1) * 500;
	c->io_qsize = nvme_cap_mqes(c->cap) + 1 < PCI_IO_QSIZE ? nvme_cap_mqes(c->cap) + 1 : PCI_IO_QSIZE;
	return 0;
}

/* Identify Controller: MDTS (2^n pages of CAP.MPSMIN, 0 = no limit)
 * [BASE-2.0c Fig. 275] and the entry sizes we program [Fig. 275 SQES/CQES]. */
static int pci_identify_ctrl(struct pci_ctrl *c, char *err, size_t errlen)
{
	int rc = pci_identify(c, NVME_CNS_CTRL, 0, c->id_iova);

	if (rc) {
		snprintf(err, errlen, "Identify Controller failed: %s", strerror(-rc));
		return rc;
	}
	c->max_xfer = PCI_MAX_XFER;
	if (c->id->mdts && c->id->mdts < 20 && (PCI_PAGE << c->id->mdts) < PCI_MAX_XFER)
		c->max_xfer = PCI_PAGE << c->id->mdts;
	if ((c->id->sqes & 0xf) > PCI_SQES_LOG2 || (c->id->cqes & 0xf) > PCI_CQES_LOG2) {
		snprintf(err, errlen, "controller needs larger queue entries (SQES 0x%x CQES 0x%x)",
			 c->id->sqes, c->id->cqes);
		return -ENOTSUP;
	}
	return 0;
}

/*
 * Reset and enable, then what every (re)start needs: the admin queue
 * empty, Set Features Number of Queues, and the I/O queues that existed
 * created again. Caller holds c->lock for writing (or owns c alone).
 */
static int pci_ctrl_start(struct pci_ctrl *c)
{
	uint16_t granted;
	int rc = pci_disable(c);

	if (rc)
		return rc;
	pci_qpair_reset_rings(&c->admin);
	rc = pci_enable(c);
	if (rc)
		return rc;
	granted = c->nr_ioq;
	pthread_mutex_lock(&c->admin_lock);
	rc = pci_set_num_queues(c, PCI_MAX_IOQ);
	for (int i = 0; !rc && i < PCI_MAX_IOQ; i++) {
		if (!c->ioq[i])
			continue;
		if (i >= c->nr_ioq) {
			rc = -ENOSPC;	/* the controller now grants fewer */
			break;
		}
		pci_qpair_reset_rings(c->ioq[i]);
		rc = pci_create_io_queues(c, c->ioq[i]);
	}
	pthread_mutex_unlock(&c->admin_lock);
	if (granted && c->nr_ioq != granted)
		LOG_INFO("controller grants %u I/O queues (had %u)", c->nr_ioq, granted);
	return rc;
}

/*
 * Controller reset, after a timeout or CSTS.CFS [BASE-2.0c §3.7.2]:
 * disable (the device stops all DMA), end every outstanding command with
 * Command Aborted, and start again. Commands of queues owned by other
 * reactors are ended by their owners' next poll (abort_pending). Returns
 * 0, or -errno and marks the controller dead.
 */
static int pci_ctrl_reset(struct pci_ctrl *c)
{
	int rc;

	pthread_rwlock_wrlock(&c->lock);
	if (!atomic_load(&c->need_reset) || c->dead) {
		pthread_rwlock_unlock(&c->lock);
		return c->dead ? -ENODEV : 0;	/* another reactor did it */
	}
	LOG_WARN("resetting the controller (CSTS 0x%x)", c->bus->ops->read32(c->bus, PCI_REG_CSTS));
	c->resets++;
	rc = pci_disable(c);
	pci_qpair_abort_all(&c->admin);
	for (int i = 0; i < PCI_MAX_IOQ; i++) {
		if (c->ioq[i] && pthread_equal(c->ioq[i]->owner, pthread_self()))
			pci_qpair_abort_all(c->ioq[i]);
		else if (c->ioq[i])
			c->ioq[i]->abort_pending = true;
	}
	atomic_store(&c->need_reset, false);
	if (!rc)
		rc = pci_ctrl_start(c);
	if (rc) {
		LOG_ERR("controller reset failed: %s; its namespace now fails every command",
			strerror(-rc));
		c->dead = true;
	}
	pthread_rwlock_unlock(&c->lock);
	return rc;
}

/*
 * Orderly shutdown [BASE-2.0c §3.6.1]: delete the I/O queues, set CC.SHN
 * to normal, wait (up to CAP.TO) for CSTS.SHST = shutdown complete.
 */
static void pci_shutdown(struct pci_ctrl *c)
{
	uint64_t end = nvmf_now_ms() + c->to_ms;
	uint32_t cc;

	pthread_mutex_lock(&c->admin_lock);
	for (int i = 0; i < PCI_MAX_IOQ && !c->dead; i++)
		if (c->ioq[i] && pci_delete_io_queues(c, i + 1))
			break;
	pthread_mutex_unlock(&c->admin_lock);
	cc = c->bus->ops->read32(c->bus, PCI_REG_CC);
	c->bus->ops->write32(c->bus, PCI_REG_CC, (cc & ~NVME_CC_SHN_MASK) | PCI_CC_SHN_NORMAL);
	for (;;) {
		if (c->bus->ops->poll)
			c->bus->ops->poll(c->bus);
		if ((c->bus->ops->read32(c->bus, PCI_REG_CSTS) & NVME_CSTS_SHST_MASK) ==
		    NVME_CSTS_SHST_CMPLT)
			return;
		if (nvmf_now_ms() > end) {
			LOG_WARN("shutdown not complete after %u ms", c->to_ms);
			return;
		}
		usleep(1000);
	}
}

/* Shut the controller down, free every queue and close the bus. */
static void pci_ctrl_close(struct pci_ctrl *c)
{
	if (!c)
		return;
	/* Shutdown is for an enabled controller; one that never became ready
	 * (or fell off the bus: all ones) would only make us wait CAP.TO again. */
	if (c->admin.mem) {
		uint32_t csts = c->bus->ops->read32(c->bus, PCI_REG_CSTS);

		if (csts != 0xffffffff && (csts & NVME_CSTS_RDY))
			pci_shutdown(c);
	}
	for (int i = 0; i < PCI_MAX_IOQ; i++) {
		if (c->ioq[i])
			pci_qpair_free(c, c->ioq[i]);
		free(c->ioq[i]);
	}
	pci_qpair_free(c, &c->admin);
	if (c->id)
		c->bus->ops->dma_free(c->bus, c->id, 2 * PCI_PAGE);
	c->bus->ops->close(c->bus);
	pthread_rwlock_destroy(&c->lock);
	pthread_mutex_destroy(&c->admin_lock);
	pthread_mutex_destroy(&c->bus_lock);
	free(c);
}

/*
 * Bring a controller up on bus [BASE-2.0c §3.5.1]: CAP, disable, admin
 * queue, enable, Identify Controller, Number of Queues. The driver owns
 * bus from here on (pci_ctrl_close closes it, also on failure). Returns 0
 * and the controller in *out, or -errno with a sentence in err.
 */
static int pci_ctrl_open(struct nvme_bus *bus, struct pci_ctrl **out, char *err, size_t errlen)
{
	struct pci_ctrl *c = calloc(1, sizeof(*c));
	pthread_mutexattr_t attr;
	int rc;

	if (!c) {
		bus->ops->close(bus);
		return -ENOMEM;
	}
	c->bus = bus;
	c->timeout_ms = PCI_TIMEOUT_MS;
	pthread_rwlock_init(&c->lock, NULL);
	pthread_mutex_init(&c->admin_lock, NULL);
	/* Recursive: a completion may submit again (DSM walks its ranges). */
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&c->bus_lock, &attr);
	pthread_mutexattr_destroy(&attr);
	rc = pci_read_cap(c, err, errlen);
	if (rc)
		goto out_close;
	c->id = bus->ops->dma_alloc(bus, 2 * PCI_PAGE, &c->id_iova);
	rc = c->id ? pci_qpair_alloc(c, &c->admin, 0, PCI_ADMIN_QSIZE, false) : -ENOMEM;
	if (rc) {
		snprintf(err, errlen, "no DMA memory for the admin queue");
		goto out_close;
	}
	c->scratch = (uint8_t *)c->id + PCI_PAGE;
	c->scratch_iova = c->id_iova + PCI_PAGE;
	rc = pci_ctrl_start(c);
	if (rc) {
		snprintf(err, errlen, "controller did not become ready in %u ms (CAP.TO) "
			 "or refused Set Features: %s", c->to_ms, strerror(-rc));
		goto out_close;
	}
	rc = pci_identify_ctrl(c, err, errlen);
	if (rc)
		goto out_close;
	*out = c;
	return 0;
out_close:
	pci_ctrl_close(c);
	return rc;
}

/* ==================================================================== */
/* 5. The backend: one namespace as a struct nvmf_bdev                  */
/* ==================================================================== */

/*
 * A request's walk through the backend:
 *
 *   submit: pick the reactor's queue pair (create it on first use)
 *           data in a registered region?  yes: PRPs point at it (zero copy)
 *                                         no:  the slot's bounce buffer
 *           write: copy into bounce; build the SQE; ring the doorbell
 *           no free slot: park in the overflow ring until one frees
 *   poll:   reap CQEs; read: copy out of bounce; nvmf_bdev_done()
 *
 * Zero-copy regions are registered with pci_bdev_dma_register().
 */
#define PCI_MAX_REGIONS		8

struct pci_region {
	uint8_t *va;
	size_t len;
	uint64_t iova;
};

struct pci_bdev {
	struct pci_ctrl *c;
	uint32_t nsid;
	bool has_wz, has_dsm;		/* ONCS [BASE-2.0c Fig. 275] */
	struct pci_region regions[PCI_MAX_REGIONS];
	atomic_int nr_regions;
	uint64_t zero_copy, bounced;	/* counters, for tests and the bench */
};

/* Is [p, p+len) inside a registered region? Then *iova is its address. */
static bool pci_bdev_lookup(struct pci_bdev *pb, const uint8_t *p, size_t len, uint64_t *iova)
{
	int n = atomic_load(&pb->nr_regions);

	for (int i = 0; i < n; i++) {
		struct pci_region *g = &pb->regions[i];

		if (p >= g->va && p + len <= g->va + g->len) {
			*iova = g->iova + (uint64_t)(p - g->va);
			return true;
		}
	}
	return false;
}

/*
 * Register memory the request buffers live in (page aligned), so commands
 * on it go zero copy. Returns 0, -ENOTSUP when the bus cannot map caller
 * memory, or -ENOSPC. Call before the namespace is served.
 */
int pci_bdev_dma_register(struct nvmf_bdev *b, void *va, size_t len)
{
	struct pci_bdev *pb = b->priv;
	struct pci_region *g;
	int n = atomic_load(&pb->nr_regions), rc;

	if (n == PCI_MAX_REGIONS)
		return -ENOSPC;
	g = &pb->regions[n];
	rc = pb->c->bus->ops->dma_map ? pb->c->bus->ops->dma_map(pb->c->bus, va, len, &g->iova)
				      : -ENOTSUP;
	if (rc)
		return rc;
	g->va = va;
	g->len = len;
	atomic_store(&pb->nr_regions, n + 1);
	return 0;
}

/* The command finished on the device: bring read data home, answer nvmf. */
static void pci_bdev_cb(struct pci_cmd *cmd, uint16_t status, uint32_t dw0)
{
	struct nvmf_req *r = cmd->arg;

	(void)dw0;
	if (!status && r->bio == BIO_READ && cmd->len)
		memcpy(r->bio_buf, cmd->bounce, cmd->len);
	/* The device's Status Field is the answer the host gets, minus
	 * the More bit: our error log is not the device's [BASE-2.0c Fig. 93]. */
	nvmf_bdev_done(r, status & ~0x2000);
}

/* Translate r into an NVM command [NVM-1.0c §3.2]. Returns the data
 * length the command moves through PRPs (0: none). */
static uint32_t pci_bdev_build(struct nvmf_bdev *b, struct pci_bdev *pb,
			       struct nvmf_req *r, struct nvme_sqe *sqe)
{
	uint64_t slba = r->slba;
	uint32_t nlb0 = r->nblocks ? (uint32_t)r->nblocks - 1 : 0;	/* 0's based */

	sqe->nsid = htole32(pb->nsid);
	sqe->cdw10 = htole32((uint32_t)slba);
	sqe->cdw11 = htole32((uint32_t)(slba >> 32));
	switch (r->bio) {
	case BIO_READ:
	case BIO_WRITE:
		sqe->opcode = r->bio == BIO_READ ? NVME_CMD_READ : NVME_CMD_WRITE;
		sqe->cdw12 = htole32(nlb0 | (r->fua ? NVME_RW_FUA : 0));
		return (uint32_t)(r->nblocks << b->lbads);
	case BIO_WRITE_ZEROES:
		sqe->opcode = NVME_CMD_WRITE_ZEROES;
		sqe->cdw12 = htole32(nlb0);
		return 0;
	case BIO_DEALLOC:	/* one range, put in the bounce buffer by the caller */
		sqe->opcode = NVME_CMD_DSM;
		sqe->cdw10 = 0;			/* NR: one range, 0's based */
		sqe->cdw11 = htole32(NVME_DSM_AD);
		return sizeof(struct nvme_dsm_range);
	case BIO_FLUSH:
		sqe->opcode = NVME_CMD_FLUSH;
		sqe->cdw10 = sqe->cdw11 = 0;
		return 0;
	}
	return 0;
}

/* Put r on the device through qp. Returns 0, or -EBUSY with no slot free. */
static int pci_bdev_issue(struct nvmf_bdev *b, struct pci_qpair *qp, struct nvmf_req *r)
{
	struct pci_bdev *pb = b->priv;
	struct nvme_sqe sqe = { 0 };
	uint32_t len = pci_bdev_build(b, pb, r, &sqe);
	struct pci_cmd *cmd;
	uint64_t iova = 0;

	if (!qp->nr_free)
		return -EBUSY;
	cmd = &qp->cmds[qp->free[qp->nr_free - 1]];	/* the slot pci_submit takes */
	cmd->len = 0;
	if (r->bio == BIO_DEALLOC) {
		struct nvme_dsm_range d = { .nlb = htole32((uint32_t)r->nblocks),
					    .slba = htole64(r->slba) };

		memcpy(cmd->bounce, &d, sizeof(d));
		iova = cmd->bounce_iova;
	} else if (len && pci_bdev_lookup(pb, r->bio_buf, len, &iova)) {
		pb->zero_copy++;
	} else if (len) {
		if (r->bio == BIO_WRITE)
			memcpy(cmd->bounce, r->bio_buf, len);
		cmd->len = len;
		iova = cmd->bounce_iova;
		pb->bounced++;
	}
	return pci_submit(pb->c, qp, &sqe, iova, len, pci_bdev_cb, r);
}

/* Submit parked requests while slots are free, oldest first. */
static void pci_bdev_drain(struct nvmf_bdev *b, struct pci_qpair *qp)
{
	while (qp->ov_head != qp->ov_tail && qp->nr_free) {
		struct nvmf_req *r = qp->overflow[qp->ov_head % PCI_OVERFLOW];

		qp->ov_head++;
		pci_bdev_issue(b, qp, r);
	}
}

/* The queue pair of the calling reactor, created on first use. NULL when
 * the controller has no queue left for another reactor. */
static struct pci_qpair *pci_bdev_qpair(struct pci_ctrl *c, struct nvmf_req *r)
{
	int id = r->q && r->q->reactor ? r->q->reactor->id : 0;
	struct pci_qpair *qp;

	if (id >= c->nr_ioq)
		return NULL;
	if (c->ioq[id])
		return c->ioq[id];
	if (pci_ioq_create(c, id + 1, &qp)) {
		LOG_ERR("cannot create I/O queue %d for reactor %d", id + 1, id);
		return NULL;
	}
	return qp;
}

/* A bus with a poll() op is a device that runs on its caller's thread
 * (sim/): one reactor at a time may drive it. */
static void pci_bus_enter(struct pci_ctrl *c)
{
	if (c->bus->ops->poll)
		pthread_mutex_lock(&c->bus_lock);
}

static void pci_bus_leave(struct pci_ctrl *c)
{
	if (c->bus->ops->poll)
		pthread_mutex_unlock(&c->bus_lock);
}

/* nvmf_bdev_ops.submit: start r on the device, or fail it at once. */
static void pci_bdev_submit(struct nvmf_bdev *b, struct nvmf_req *r)
{
	struct pci_bdev *pb = b->priv;
	struct pci_ctrl *c = pb->c;
	struct pci_qpair *qp;
	uint16_t status = NVME_SC_INTERNAL | NVME_STATUS_DNR;

	if ((r->bio == BIO_WRITE_ZEROES && !pb->has_wz) || (r->bio == BIO_DEALLOC && !pb->has_dsm))
		return nvmf_bdev_done(r, NVME_SC_INVALID_OPCODE | NVME_STATUS_DNR);
	pthread_rwlock_rdlock(&c->lock);
	pci_bus_enter(c);
	qp = c->dead ? NULL : pci_bdev_qpair(c, r);
	if (qp && qp->abort_pending)
		pci_qpair_abort_all(qp);
	if (qp && (qp->ov_head != qp->ov_tail || pci_bdev_issue(b, qp, r) == -EBUSY)) {
		if (qp->ov_tail - qp->ov_head < PCI_OVERFLOW) {
			qp->overflow[qp->ov_tail++ % PCI_OVERFLOW] = r;
		} else {
			qp = NULL;	/* the host exceeds what we can park */
			status = NVME_SC_TRANSIENT_TRANSPORT;
		}
	}
	pci_bus_leave(c);
	pthread_rwlock_unlock(&c->lock);
	if (!qp)
		nvmf_bdev_done(r, status);
}

/*
 * nvmf_bdev_ops.poll, from every reactor's loop: reap the calling
 * reactor's queue pair and run a reset if one is due. Returns > 0 while
 * this reactor has commands in flight, so the reactor keeps spinning.
 */
static int pci_bdev_poll(struct nvmf_bdev *b)
{
	struct pci_bdev *pb = b->priv;
	struct pci_ctrl *c = pb->c;
	int busy = 0;

	pthread_rwlock_rdlock(&c->lock);
	pci_bus_enter(c);
	for (int i = 0; i < c->nr_ioq && i < PCI_MAX_IOQ; i++) {
		struct pci_qpair *qp = c->ioq[i];

		if (!qp || !pthread_equal(qp->owner, pthread_self()))
			continue;
		if (qp->abort_pending)
			pci_qpair_abort_all(qp);
		pci_qpair_poll(c, qp);
		pci_bdev_drain(b, qp);
		busy += (qp->size - 1 - qp->nr_free) + (qp->ov_tail - qp->ov_head);
	}
	pci_bus_leave(c);
	pthread_rwlock_unlock(&c->lock);
	if (atomic_load(&c->need_reset))
		pci_ctrl_reset(c);
	return busy;
}

static void pci_bdev_free(struct nvmf_bdev *b)
{
	struct pci_bdev *pb = b->priv;

	for (int i = 0; i < atomic_load(&pb->nr_regions); i++)
		pb->c->bus->ops->dma_unmap(pb->c->bus, pb->regions[i].va, pb->regions[i].len);
	pci_ctrl_close(pb->c);
	free(pb);
}

static const struct nvmf_bdev_ops pci_bdev_ops = {
	.kind = "nvme",
	.submit = pci_bdev_submit,
	.poll = pci_bdev_poll,
	.free = pci_bdev_free,
};

/* Identify Namespace nsid: size and block size from the format in use
 * [NVM-1.0c §4.1.5.1]. We serve data only: formats with metadata are
 * refused, so is a block size the target does not serve. */
static int pci_bdev_identify_ns(struct pci_ctrl *c, struct nvmf_bdev *b, uint32_t nsid,
				char *err, size_t errlen)
{
	struct nvme_id_ns *ns = c->scratch;
	struct nvme_lbaf *f;
	int rc = pci_identify(c, NVME_CNS_NS, nsid, c->scratch_iova);

	if (rc || !ns->nsze) {
		snprintf(err, errlen, "namespace %u: %s", nsid, rc ? "Identify Namespace failed"
				       : "not active (NSZE 0)");
		return rc ? rc : -ENODEV;
	}
	f = &ns->lbaf[ns->flbas & 0xf];
	if (le16toh(f->ms) || (f->lbads != 9 && f->lbads != 12)) {
		snprintf(err, errlen, "namespace %u: format with %u-byte blocks and %u bytes of "
			 "metadata; want 512 or 4096 and none", nsid, 1u << (f->lbads & 31), le16toh(f->ms));
		return -ENOTSUP;
	}
	b->nblocks = le64toh(ns->nsze);
	b->lbads = f->lbads;
	b->blksz = 1u << f->lbads;
	b->deallocate_zeroes = (ns->dlfeat & 7) == NVME_NS_DLFEAT_READ_ZEROES;
	return 0;
}

/*
 * Make a backend of namespace nsid of the controller on bus (which the
 * backend owns from here on). Returns 0 and the bdev, or -errno with a
 * sentence in err.
 */
static int pci_bdev_open(struct nvme_bus *bus, uint32_t nsid, const char *name,
			 struct nvmf_bdev **out, char *err, size_t errlen)
{
	struct nvmf_bdev *b = calloc(1, sizeof(*b));
	struct pci_bdev *pb = calloc(1, sizeof(*pb));
	struct pci_ctrl *c = NULL;
	int rc = -ENOMEM;

	if (!b || !pb) {
		bus->ops->close(bus);
		goto out_free;
	}
	rc = pci_ctrl_open(bus, &c, err, errlen);
	if (rc)
		goto out_free;
	/* Not implemented: splitting a request into several device commands,
	 * so the device must take the largest transfer nvmf advertises. Real
	 * SSDs' MDTS is 128 KiB or more; a smaller one is refused, not
	 * failed command by command later. */
	if (c->max_xfer < NVMF_MAX_DATA) {
		snprintf(err, errlen, "%s: the controller's MDTS (%u KiB) is below the %u KiB "
			 "transfers nvmf accepts", name, c->max_xfer >> 10, NVMF_MAX_DATA >> 10);
		rc = -ENOTSUP;
		goto out_close;
	}
	pthread_mutex_lock(&c->admin_lock);
	rc = pci_bdev_identify_ns(c, b, nsid, err, errlen);
	pthread_mutex_unlock(&c->admin_lock);
	if (rc)
		goto out_close;
	pb->c = c;
	pb->nsid = nsid;
	pb->has_wz = le16toh(c->id->oncs) & NVME_CTRL_ONCS_WRITE_ZEROES;
	pb->has_dsm = le16toh(c->id->oncs) & NVME_CTRL_ONCS_DSM;
	if (!pb->has_dsm)
		b->deallocate_zeroes = false;
	b->vwc = c->id->vwc & 1;
	b->ops = &pci_bdev_ops;
	b->priv = pb;
	snprintf(b->name, sizeof(b->name), "%s", name);
	LOG_INFO("%s: NVMe %u.%u controller, nsid %u, %llu blocks of %u bytes, MDTS %u KiB, "
		 "%u I/O queues of %u", name, c->vs >> 16, (c->vs >> 8) & 0xff, nsid,
		 (unsigned long long)b->nblocks, b->blksz, c->max_xfer >> 10, c->nr_ioq, c->io_qsize);
	*out = b;
	return 0;
out_close:
	pci_ctrl_close(c);
out_free:
	free(pb);
	free(b);
	return rc;
}

/*
 * The nvme: and sim: namespace specs (bdev_create dispatches here):
 *   nvme:0000:00:04.0[/NSID]  a PCI NVMe controller through VFIO
 *   sim:SIZE[...]             the same driver over sim/'s controller
 * Returns 0 and the bdev in *out, or -errno with a sentence in err.
 */
int pci_bdev_create(const char *spec, struct nvmf_bdev **out, char *err, size_t errlen)
{
	static atomic_int seq;
	struct nvme_bus *bus;
	char name[64], bdf[32];
	unsigned long nsid = 1;
	const char *slash;
	int rc;

	if (!strncmp(spec, "sim:", 4)) {
		rc = sim_bus_open(spec + 4, &bus, err, errlen);
		snprintf(name, sizeof(name), "sim%d", atomic_fetch_add(&seq, 1));
		return rc ? rc : pci_bdev_open(bus, 1, name, out, err, errlen);
	}
	slash = strchr(spec + 5, '/');
	if (slash) {
		char *end;

		nsid = strtoul(slash + 1, &end, 0);
		if (*end || nsid == 0 || nsid >= 0xffffffff) {
			snprintf(err, errlen, "bad namespace ID in '%s' (want nvme:BDF[/NSID])", spec);
			return -EINVAL;
		}
	}
	snprintf(bdf, sizeof(bdf), "%.*s", (int)(slash ? slash - spec - 5 : (int)strlen(spec + 5)), spec + 5);
	rc = pci_vfio_bus_open(bdf, &bus, err, errlen);
	if (rc)
		return rc;
	snprintf(name, sizeof(name), "nvme%d", atomic_fetch_add(&seq, 1));
	return pci_bdev_open(bus, nsid, name, out, err, errlen);
}
