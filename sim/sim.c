/*
 * sim/sim.c - a software NVMe controller behind the bus seam.
 *
 * pcie_nvme.c drives a controller through struct nvme_bus_ops: registers,
 * doorbells, DMA memory. This file is a controller that lives in memory, so
 * the driver (and a learner) can run every path, errors included, with no
 * SSD, no VFIO and no root.
 *
 *   driver (pcie_nvme.c, tests/sim_test.c, `nvmf sim`)
 *     | write32(CC.EN=1)  write32(doorbell)  dma_alloc()      poll()
 *     v                                                        |
 *   register file --> SQ fetch --> fault rules --> execute --> CQ post
 *   CAP VS CC CSTS     (SQE read    delay, fail,   admin or    (CQE with
 *   AQA ASQ ACQ         through     drop, CFS       NVM; PRPs   phase tag)
 *   doorbells           the IOVA                    walked and
 *                       table)                      checked)
 *
 * How it runs, and why: the device has no thread. It executes commands only
 * inside poll(), on the caller's thread, in a fixed order (delayed commands,
 * then the admin SQ, then I/O SQs by qid, then pending events). So a test is
 * deterministic, nothing needs a lock, and "fail the 3rd Write" or "hold
 * this command for 5 polls" means exactly that. A register write takes
 * effect at once (CC.EN, a doorbell), as a real BAR write does; only the
 * command work waits for poll(). The price: one thread at a time may call
 * any bus op (pcie_nvme.c serializes them with its bus_lock).
 *
 * DMA addresses are IOVAs from 1 TiB up, never pointers; every SQ/CQ/PRP
 * address goes through the table of dma_alloc/dma_map regions, like an
 * IOMMU, so a virtual address in a PRP or a buffer freed too early gets
 * Data Transfer Error, not a corrupted heap.
 *
 * Implements: registers and doorbells [BASE-2.0c §3.1.4], queues [BASE-2.0c
 * §3.3.1], PRPs [BASE-2.0c §4.3.1], NVM commands [NVM-1.0c §3]. The admin
 * commands [BASE-2.0c §5] are in sim/admin.c, and the state both files
 * share (constants, struct sim_ctrl and its rings) in sim/sim.h: a driver
 * learns the device from its registers and queues, and reads the admin
 * command set as a separate list of answers. Not implemented: SGLs,
 * interrupts (the driver polls), more than one namespace.
 *
 * Sections: the IOVA table, the medium, PRPs, completions and events, NVM
 * commands, fetch and dispatch (fault rules, poll), the register file,
 * setup and teardown, then fault injection. Tutorial chapter 08 walks them.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sim.h"


static struct sim_ctrl *sim_of(struct nvme_bus *b)
{
	return container_of(b, struct sim_ctrl, bus);
}

#define SIM_TRACE(s, ...) do { if ((s)->trace) nvmf_trace("sim: " __VA_ARGS__); } while (0)

/* ==================================================================== */
/* DMA: the IOVA table                                                 */
/* ==================================================================== */

/*
 * Every address the device is handed is an IOVA. Translate iova..iova+len
 * to our pointer if it lies wholly inside one region, else NULL: the device
 * would see an IOMMU fault, and the command gets Data Transfer Error.
 */
void *sim_dma_va(struct sim_ctrl *s, uint64_t iova, size_t len)
{
	for (int i = 0; i < s->nrgn; i++) {
		struct sim_region *r = &s->rgn[i];

		if (iova >= r->iova && len <= r->len && iova - r->iova <= r->len - len)
			return r->va + (iova - r->iova);
	}
	return NULL;
}

/* Add a region; its IOVA keeps va's offset in the page, as an IOMMU does. */
static int sim_region_add(struct sim_ctrl *s, void *va, size_t len, bool owned, uint64_t *iova)
{
	uintptr_t off = (uintptr_t)va & (SIM_PAGE - 1);

	if (s->nrgn == s->rgn_cap) {
		int cap = s->rgn_cap ? 2 * s->rgn_cap : 16;
		struct sim_region *n = realloc(s->rgn, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->rgn = n;
		s->rgn_cap = cap;
	}
	*iova = s->next_iova + off;
	s->rgn[s->nrgn++] = (struct sim_region){ va, len, *iova, owned };
	/* a guard page between regions: an overrun cannot land in the next */
	s->next_iova += (off + len + 2 * SIM_PAGE - 1) / SIM_PAGE * SIM_PAGE;
	return 0;
}

/* The region that starts at va (what dma_alloc/dma_map returned), or NULL. */
static struct sim_region *sim_region_find(struct sim_ctrl *s, void *va)
{
	for (int i = 0; i < s->nrgn; i++)
		if (s->rgn[i].va == va)
			return &s->rgn[i];
	return NULL;
}

/* Forget region r: the last one takes its slot, as order does not matter. */
static void sim_region_del(struct sim_ctrl *s, struct sim_region *r)
{
	*r = s->rgn[--s->nrgn];
}

/* Zeroed, page-aligned memory and its IOVA; NULL when out of memory. */
static void *sim_dma_alloc(struct nvme_bus *b, size_t len, uint64_t *iova)
{
	struct sim_ctrl *s = sim_of(b);
	size_t n = (len + SIM_PAGE - 1) / SIM_PAGE * SIM_PAGE;
	void *va = aligned_alloc(SIM_PAGE, n ? n : SIM_PAGE);

	if (!va)
		return NULL;
	memset(va, 0, n);
	if (sim_region_add(s, va, len, true, iova)) {
		free(va);
		return NULL;
	}
	return va;
}

/* Free memory from dma_alloc. A pointer it did not return is the driver's
 * bug: log it and leave the table alone rather than free foreign memory. */
static void sim_dma_free(struct nvme_bus *b, void *va, size_t len)
{
	struct sim_ctrl *s = sim_of(b);
	struct sim_region *r = sim_region_find(s, va);

	(void)len;
	if (!r || !r->owned) {
		LOG_ERR("dma_free of %p, which dma_alloc did not return", va);
		return;
	}
	free(r->va);
	sim_region_del(s, r);
}

/* Make the caller's memory reachable (zero copy). Any alignment works. */
static int sim_dma_map(struct nvme_bus *b, void *va, size_t len, uint64_t *iova)
{
	return sim_region_add(sim_of(b), va, len, false, iova);
}

/* Undo dma_map: the device can no longer reach the memory, so a command
 * still using it gets Data Transfer Error instead of touching freed data. */
static void sim_dma_unmap(struct nvme_bus *b, void *va, size_t len)
{
	struct sim_ctrl *s = sim_of(b);
	struct sim_region *r = sim_region_find(s, va);

	(void)len;
	if (!r || r->owned) {
		LOG_ERR("dma_unmap of %p, which dma_map did not map", va);
		return;
	}
	sim_region_del(s, r);
}

/* ==================================================================== */
/* The namespace's medium                                              */
/* ==================================================================== */

/* Move len bytes at byte offset off between the medium and the segments. */
static uint16_t sim_media_io(struct sim_ctrl *s, bool write, uint64_t off,
			     struct iovec *seg, unsigned nseg)
{
	if (s->fd >= 0) {
		ssize_t want = 0, got;

		for (unsigned i = 0; i < nseg; i++)
			want += seg[i].iov_len;
		got = write ? pwritev(s->fd, seg, nseg, off) : preadv(s->fd, seg, nseg, off);
		if (got != want) {
			LOG_ERR("%s at %" PRIu64 ": %s", write ? "pwritev" : "preadv", off,
				got < 0 ? strerror(errno) : "short transfer");
			return write ? SIM_SC_WRITE_FAULT : SIM_SC_READ_ERROR;
		}
		return NVME_SC_SUCCESS;
	}
	for (unsigned i = 0; i < nseg; i++) {
		if (write)
			memcpy(s->mem + off, seg[i].iov_base, seg[i].iov_len);
		else
			memcpy(seg[i].iov_base, s->mem + off, seg[i].iov_len);
		off += seg[i].iov_len;
	}
	return NVME_SC_SUCCESS;
}

/* Zero blocks [slba, slba + nlb): Write Zeroes and deallocation. */
static uint16_t sim_media_zero(struct sim_ctrl *s, uint64_t slba, uint64_t nlb)
{
	uint64_t off = slba << s->lbads, len = nlb << s->lbads;

	if (s->fd < 0) {
		memset(s->mem + off, 0, len);
		return NVME_SC_SUCCESS;
	}
	memset(s->page, 0, sizeof(s->page));
	while (len) {
		struct iovec v = { s->page, len < SIM_PAGE ? len : SIM_PAGE };
		uint16_t st = sim_media_io(s, true, off, &v, 1);

		if (st)
			return st;
		off += v.iov_len;
		len -= v.iov_len;
	}
	return NVME_SC_SUCCESS;
}

/* ==================================================================== */
/* PRP walking [BASE-2.0c §4.3.1]                                      */
/* ==================================================================== */

/*
 * A command's data is described by PRP1 and PRP2 (PSDT 00b):
 *
 *   PRP1 --> first page, may start at an offset (dword aligned)
 *   PRP2 --> the second page, if the data ends there, offset 0
 *        \-> else a PRP list: 8-byte entries, each a page with offset 0;
 *            the last entry of a list page points to the next list page
 *
 *     list page:  [ page | page | ... | page | next list ] --> [ page | ...
 *
 * Fill s->segs with our pointers for len bytes, *nseg of them. A page with
 * a nonzero offset where none is allowed is PRP Offset Invalid; an address
 * outside every DMA region is Data Transfer Error. Never a crash.
 */
static uint16_t sim_prp_walk(struct sim_ctrl *s, const struct nvme_sqe *sqe,
			     uint32_t len, unsigned *nseg)
{
	uint64_t prp1 = le64toh(sqe->dptr.addr), prp2, list, e;
	uint32_t first = SIM_PAGE - (prp1 & (SIM_PAGE - 1)), n = 0;
	const le64 *ent;

	memcpy(&prp2, (const uint8_t *)&sqe->dptr + 8, 8);	/* bytes 32..39 */
	prp2 = le64toh(prp2);
	if (prp1 & 3)
		return SIM_SC_PRP_OFFSET;	/* dword aligned [BASE-2.0c §4.3.1] */
	first = len < first ? len : first;
	if (!(s->segs[n].iov_base = sim_dma_va(s, prp1, first)))
		return NVME_SC_DATA_XFER_ERROR;
	s->segs[n++].iov_len = first;
	len -= first;
	if (len && len <= SIM_PAGE) {		/* PRP2 is the second page */
		if (prp2 & (SIM_PAGE - 1))
			return SIM_SC_PRP_OFFSET;
		if (!(s->segs[n].iov_base = sim_dma_va(s, prp2, len)))
			return NVME_SC_DATA_XFER_ERROR;
		s->segs[n++].iov_len = len;
		len = 0;
	}
	if (len && (prp2 & 7))
		return SIM_SC_PRP_OFFSET;	/* a list pointer is qword aligned */
	for (list = prp2; len; ) {
		uint32_t chunk = len < SIM_PAGE ? len : SIM_PAGE;

		if (!(ent = sim_dma_va(s, list, 8)))
			return NVME_SC_DATA_XFER_ERROR;
		e = le64toh(*ent);
		list += 8;
		/* the last entry of a list page, with more than one page to go,
		 * points to the next list page */
		if (!(list & (SIM_PAGE - 1)) && len > SIM_PAGE) {
			if (e & (SIM_PAGE - 1))
				return SIM_SC_PRP_OFFSET;
			list = e;
			continue;
		}
		if (e & (SIM_PAGE - 1))
			return SIM_SC_PRP_OFFSET;
		if (n == s->max_segs || !(s->segs[n].iov_base = sim_dma_va(s, e, chunk)))
			return NVME_SC_DATA_XFER_ERROR;
		s->segs[n++].iov_len = chunk;
		len -= chunk;
	}
	*nseg = n;
	return NVME_SC_SUCCESS;
}

/* Copy a controller data structure (Identify, log) to the host's PRPs. */
uint16_t sim_to_host(struct sim_ctrl *s, const struct nvme_sqe *sqe,
		     const void *buf, uint32_t len)
{
	const uint8_t *p = buf;
	unsigned nseg;
	uint16_t st = sim_prp_walk(s, sqe, len, &nseg);

	for (unsigned i = 0; !st && i < nseg; i++) {
		memcpy(s->segs[i].iov_base, p, s->segs[i].iov_len);
		p += s->segs[i].iov_len;
	}
	return st;
}

/* Copy command data (a Write, a DSM range list) from the host's PRPs. */
static uint16_t sim_from_host(struct sim_ctrl *s, const struct nvme_sqe *sqe,
			      void *buf, uint32_t len)
{
	uint8_t *p = buf;
	unsigned nseg;
	uint16_t st = sim_prp_walk(s, sqe, len, &nseg);

	for (unsigned i = 0; !st && i < nseg; i++) {
		memcpy(p, s->segs[i].iov_base, s->segs[i].iov_len);
		p += s->segs[i].iov_len;
	}
	return st;
}

/* ==================================================================== */
/* Completions and asynchronous events                                 */
/* ==================================================================== */

/* Room for one more CQE? A CQ is full when tail + 1 == head [BASE-2.0c §3.3.1]. */
static bool sim_cq_room(const struct sim_cq *cq)
{
	return (cq->tail + 1) % cq->size != cq->head;
}

/*
 * Post a CQE [BASE-2.0c §4.6, Fig. 92]. The phase tag tells the host the
 * entry is new. Hardware must make it visible last, as the host polls it
 * while the device writes; here host and device take turns on one thread,
 * so one struct copy is enough. Returns -EAGAIN if the CQ is full (the caller keeps the completion) or
 * -EFAULT if the CQ memory is gone (the controller fails).
 */
int sim_cq_post(struct sim_ctrl *s, uint16_t sqid, uint16_t cid,
		uint16_t status, uint32_t dw0)
{
	struct sim_sq *sq = &s->sq[sqid];
	struct sim_cq *cq = &s->cq[sq->cqid];
	struct nvme_cqe e = { 0 }, *slot;

	if (!sim_cq_room(cq))
		return -EAGAIN;
	slot = sim_dma_va(s, cq->iova + (uint64_t)cq->tail * sizeof(e), sizeof(e));
	if (!slot) {
		LOG_ERR("cq%u memory at 0x%" PRIx64 " is not mapped: controller fatal",
			sq->cqid, cq->iova);
		s->csts |= NVME_CSTS_CFS;
		return -EFAULT;
	}
	e.dw0 = htole32(dw0);
	e.sqhd = htole16(sq->head);
	e.sqid = htole16(sqid);
	e.cid = cid;			/* already little-endian, from the SQE */
	e.status = htole16((uint16_t)(status << 1) | cq->phase);
	*slot = e;
	SIM_TRACE(s, "cq%u[%u] cid=%u status=0x%x sqhd=%u phase=%u dw0=0x%x", sq->cqid,
		  cq->tail, le16toh(cid), status, sq->head, cq->phase, dw0);
	if (++cq->tail == cq->size) {
		cq->tail = 0;
		cq->phase ^= 1;
	}
	s->stats.cqes++;
	return 0;
}

/* Record a failed command in the Error Information log [BASE-2.0c Fig. 205]. */
static void sim_errlog_add(struct sim_ctrl *s, uint16_t sqid, const struct nvme_sqe *sqe,
			   uint16_t status)
{
	struct nvme_error_log *e = &s->errlog[0];

	memmove(&s->errlog[1], &s->errlog[0], sizeof(s->errlog) - sizeof(*e));
	memset(e, 0, sizeof(*e));
	e->error_count = htole64(++s->err_count);
	e->sqid = htole16(sqid);
	e->cid = sqe ? sqe->cid : 0xffff;
	e->status = htole16((uint16_t)(status << 1));
	e->param_error_location = htole16(0xffff);
	e->nsid = sqe ? sqe->nsid : 0;
}

/*
 * Queue an asynchronous event. An Error event also needs an error log
 * entry, and after one is sent, others of its type wait until the host
 * reads log 01h [BASE-2.0c §5.2.1].
 */
static void sim_event(struct sim_ctrl *s, uint8_t type, uint8_t info, uint8_t lid)
{
	if (s->nevents == SIM_MAX_EVENTS) {
		LOG_DBG("event queue full: event type %u info 0x%x lost", type, info);
		return;			/* a driver spraying bad doorbells: no log flood */
	}
	s->events[s->nevents++] = NVME_AER_DW0(type, info, lid);
}

/* Complete AERs with queued events, while both exist and Error events are
 * unmasked (every event this device raises is an Error event). */
static void sim_events_deliver(struct sim_ctrl *s)
{
	while (s->naer && s->nevents && !s->error_masked && sim_cq_room(&s->cq[0])) {
		uint32_t dw0 = s->events[0];

		if (sim_cq_post(s, 0, s->aer_cid[0], NVME_SC_SUCCESS, dw0))
			return;
		memmove(&s->aer_cid[0], &s->aer_cid[1], --s->naer * sizeof(s->aer_cid[0]));
		memmove(&s->events[0], &s->events[1], --s->nevents * sizeof(s->events[0]));
		if ((dw0 & 7) == SIM_AER_TYPE_ERROR)
			s->error_masked = true;
	}
}

/* ==================================================================== */
/* NVM commands [NVM-1.0c §3]                                          */
/* ==================================================================== */

/* Is [slba, slba + nlb) inside the namespace? Else LBA Out of Range. */
static bool sim_lba_ok(const struct sim_ctrl *s, uint64_t slba, uint64_t nlb)
{
	return slba < s->nsze && nlb <= s->nsze - slba;
}

/* Read and Write [NVM-1.0c §3.2.4, §3.2.6]: SLBA CDW10-11, NLB CDW12 15:0. */
static uint16_t sim_rw(struct sim_ctrl *s, const struct nvme_sqe *sqe, bool write)
{
	uint64_t slba = le32toh(sqe->cdw10) | (uint64_t)le32toh(sqe->cdw11) << 32;
	uint64_t nlb = (le32toh(sqe->cdw12) & NVME_RW_NLB_MASK) + 1;
	uint64_t len = nlb << s->lbads;
	unsigned nseg;
	uint16_t st;

	if (!sim_lba_ok(s, slba, nlb))
		return NVME_SC_LBA_RANGE | NVME_STATUS_DNR;
	if (len > ((uint64_t)SIM_PAGE << s->mdts))
		return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;	/* over MDTS */
	if ((st = sim_prp_walk(s, sqe, (uint32_t)len, &nseg)))
		return st;
	if ((st = sim_media_io(s, write, slba << s->lbads, s->segs, nseg)))
		return st;
	/* SMART data units are thousands of 512-byte units [BASE-2.0c Fig. 207] */
	if (write) {
		s->host_writes++;
		s->units_written += (len + 511999) / 512000;
	} else {
		s->host_reads++;
		s->units_read += (len + 511999) / 512000;
	}
	return NVME_SC_SUCCESS;
}

/* Write Zeroes [NVM-1.0c §3.2.8]: no data transfer, same SLBA/NLB fields. */
static uint16_t sim_write_zeroes(struct sim_ctrl *s, const struct nvme_sqe *sqe)
{
	uint64_t slba = le32toh(sqe->cdw10) | (uint64_t)le32toh(sqe->cdw11) << 32;
	uint64_t nlb = (le32toh(sqe->cdw12) & NVME_RW_NLB_MASK) + 1;

	if (!sim_lba_ok(s, slba, nlb))
		return NVME_SC_LBA_RANGE | NVME_STATUS_DNR;
	return sim_media_zero(s, slba, nlb);
}

/*
 * Dataset Management [NVM-1.0c §3.2.3]: NR (CDW10 7:0, 0's based) ranges
 * in the data; with AD (CDW11 bit 2) each is deallocated, which here means
 * zeroed, as DLFEAT promises. Every range is checked before any is touched.
 */
static uint16_t sim_dsm(struct sim_ctrl *s, const struct nvme_sqe *sqe)
{
	uint32_t nr = (le32toh(sqe->cdw10) & 0xff) + 1;
	struct nvme_dsm_range *r = (void *)s->page;
	uint16_t st = sim_from_host(s, sqe, r, nr * sizeof(*r));

	if (st)
		return st;
	for (uint32_t i = 0; i < nr; i++)
		if (!sim_lba_ok(s, le64toh(r[i].slba), le32toh(r[i].nlb)))
			return NVME_SC_LBA_RANGE | NVME_STATUS_DNR;
	if (!(le32toh(sqe->cdw11) & NVME_DSM_AD))
		return NVME_SC_SUCCESS;		/* hints only: nothing to do */
	for (uint32_t i = 0; i < nr && !st; i++)
		st = sim_media_zero(s, le64toh(r[i].slba), le32toh(r[i].nlb));
	return st;
}

/* One NVM command. Every one here uses PRPs (PSDT 00b) and nsid 1. */
static uint16_t sim_io(struct sim_ctrl *s, const struct nvme_sqe *sqe)
{
	uint32_t nsid = le32toh(sqe->nsid);

	if (sqe->flags >> NVME_SQE_PSDT_SHIFT)
		return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;	/* SGLS = 0 */
	if (sqe->opcode == NVME_CMD_FLUSH && nsid == 0xffffffff)
		nsid = 1;			/* flush all [BASE-2.0c §7.1] */
	if (nsid != 1)
		return NVME_SC_INVALID_NS | NVME_STATUS_DNR;
	switch (sqe->opcode) {
	case NVME_CMD_FLUSH:
		if (s->fd >= 0 && fdatasync(s->fd))
			return SIM_SC_WRITE_FAULT;
		return NVME_SC_SUCCESS;
	case NVME_CMD_WRITE:		return sim_rw(s, sqe, true);
	case NVME_CMD_READ:		return sim_rw(s, sqe, false);
	case NVME_CMD_WRITE_ZEROES:	return sim_write_zeroes(s, sqe);
	case NVME_CMD_DSM:		return sim_dsm(s, sqe);
	default:			return NVME_SC_INVALID_OPCODE | NVME_STATUS_DNR;
	}
}

/* ==================================================================== */
/* Fetch, fault rules, execute, complete                               */
/* ==================================================================== */

/* Does rule f match this command? */
static bool sim_rule_matches(const struct sim_fault *f, uint16_t sqid, uint8_t opcode)
{
	if (f->qid == SIM_QID_IO ? sqid == 0 : f->qid != SIM_QID_ANY && f->qid != sqid)
		return false;
	return f->opcode == SIM_OPC_ANY || f->opcode == opcode;
}

/* The rule that fires for this command, or NULL. Every matching rule counts it. */
static struct sim_fault *sim_rule_fire(struct sim_ctrl *s, uint16_t sqid, uint8_t opcode)
{
	struct sim_fault *hit = NULL;

	for (int i = 0; i < SIM_MAX_FAULTS; i++) {
		struct sim_rule *r = &s->rules[i];

		if (!r->used || !sim_rule_matches(&r->f, sqid, opcode))
			continue;
		r->seen++;
		if (!hit && r->seen >= r->f.nth && (!r->f.count || r->seen < r->f.nth + r->f.count))
			hit = &r->f;
	}
	if (hit)
		s->stats.faults++;
	return hit;
}

/* Execute one command and post its completion (unless held or dropped). */
static void sim_exec(struct sim_ctrl *s, uint16_t sqid, const struct nvme_sqe *sqe, bool drop)
{
	uint32_t dw0 = 0;
	bool hold = false;
	uint16_t st = sqid ? sim_io(s, sqe) : sim_admin(s, sqe, &dw0, &hold);

	if (st)
		sim_errlog_add(s, sqid, sqe, st);
	if (hold || drop)
		return;
	sim_cq_post(s, sqid, sqe->cid, st, dw0);	/* room was checked at fetch */
}

/* Park a command for a DELAY rule; false if every slot is taken. */
static bool sim_hold(struct sim_ctrl *s, uint16_t sqid, const struct nvme_sqe *sqe, unsigned polls)
{
	for (int i = 0; i < SIM_MAX_DELAYED; i++) {
		if (!s->held[i].used) {
			s->held[i] = (struct sim_cmd){ true, sqid, *sqe, polls };
			return true;
		}
	}
	return false;
}

/* A command just fetched: apply the fault rule that fires, if one does. */
static void sim_dispatch(struct sim_ctrl *s, uint16_t sqid, const struct nvme_sqe *sqe)
{
	struct sim_fault *f = sim_rule_fire(s, sqid, sqe->opcode);

	if (!f) {
		sim_exec(s, sqid, sqe, false);
		return;
	}
	switch (f->kind) {
	case SIM_FAULT_DELAY:
		SIM_TRACE(s, "fault: sq%u cid=%u delayed %u polls", sqid, le16toh(sqe->cid), f->polls);
		if (!sim_hold(s, sqid, sqe, f->polls ? f->polls : 1))
			sim_exec(s, sqid, sqe, false);	/* no slot: run it now */
		break;
	case SIM_FAULT_STATUS:
		SIM_TRACE(s, "fault: sq%u cid=%u fails 0x%x", sqid, le16toh(sqe->cid), f->status);
		sim_errlog_add(s, sqid, sqe, f->status);
		sim_cq_post(s, sqid, sqe->cid, f->status, 0);
		break;
	case SIM_FAULT_DROP:
		SIM_TRACE(s, "fault: sq%u cid=%u completion dropped", sqid, le16toh(sqe->cid));
		sim_exec(s, sqid, sqe, true);
		break;
	case SIM_FAULT_CFS:
		SIM_TRACE(s, "fault: sq%u cid=%u controller fatal status", sqid, le16toh(sqe->cid));
		s->csts |= NVME_CSTS_CFS;
		break;
	}
}

/* Commands a DELAY rule holds: count this poll, run those that are due. */
static void sim_run_held(struct sim_ctrl *s)
{
	for (int i = 0; i < SIM_MAX_DELAYED; i++) {
		struct sim_cmd *c = &s->held[i];

		if (!c->used || (c->polls && --c->polls))
			continue;
		if (!sim_cq_room(&s->cq[s->sq[c->sqid].cqid]))
			continue;		/* try again next poll */
		c->used = false;
		sim_exec(s, c->sqid, &c->sqe, false);
	}
}

/* Is the controller running: enabled, ready, not failed, not shut down? */
static bool sim_running(const struct sim_ctrl *s)
{
	return (s->cc & NVME_CC_EN) && (s->csts & NVME_CSTS_RDY) &&
	       !(s->csts & (NVME_CSTS_CFS | NVME_CSTS_SHST_MASK));
}

/*
 * Fetch what the host has queued on one SQ, while its CQ has room for the
 * answer (a full CQ stops the fetch, as flow control [BASE-2.0c §3.3.1]).
 */
static void sim_sq_drain(struct sim_ctrl *s, uint16_t sqid)
{
	struct sim_sq *sq = &s->sq[sqid];

	while (sq->live && sq->head != sq->tail && sim_running(s) &&
	       sim_cq_room(&s->cq[sq->cqid])) {
		struct nvme_sqe *p = sim_dma_va(s, sq->iova + (uint64_t)sq->head * 64, 64);
		struct nvme_sqe sqe;

		if (!p) {
			LOG_ERR("sq%u memory at 0x%" PRIx64 " is not mapped: controller fatal",
				sqid, sq->iova);
			s->csts |= NVME_CSTS_CFS;
			return;
		}
		sqe = *p;			/* one copy: the host may reuse the slot */
		sq->head = (sq->head + 1) % sq->size;
		s->stats.cmds++;
		SIM_TRACE(s, "sq%u[%u] cid=%u %s (%02xh) nsid=%u cdw10=0x%x cdw11=0x%x cdw12=0x%x",
			  sqid, (sq->head + sq->size - 1) % sq->size, le16toh(sqe.cid),
			  nvmf_opcode_name(&sqe, sqid), sqe.opcode, le32toh(sqe.nsid), le32toh(sqe.cdw10),
			  le32toh(sqe.cdw11), le32toh(sqe.cdw12));
		sim_dispatch(s, sqid, &sqe);
	}
}

/* The bus's poll(): all the device's work happens here (see the top). */
static void sim_poll(struct nvme_bus *b)
{
	struct sim_ctrl *s = sim_of(b);

	if (!sim_running(s))
		return;
	sim_run_held(s);
	for (uint16_t q = 0; q <= SIM_MAX_IOQ; q++)
		sim_sq_drain(s, q);
	sim_events_deliver(s);
}

/* ==================================================================== */
/* The register file [BASE-2.0c §3.1.4]                                */
/* ==================================================================== */

static const char *sim_reg_name(uint32_t off)
{
	switch (off & ~3u) {
	case NVME_REG_CAP: case NVME_REG_CAP + 4:	return "CAP";
	case NVME_REG_VS:			return "VS";
	case SIM_REG_INTMS:			return "INTMS";
	case SIM_REG_INTMC:			return "INTMC";
	case NVME_REG_CC:			return "CC";
	case NVME_REG_CSTS:			return "CSTS";
	case NVME_REG_NSSR:			return "NSSR";
	case SIM_REG_AQA:			return "AQA";
	case SIM_REG_ASQ: case SIM_REG_ASQ + 4:	return "ASQ";
	case SIM_REG_ACQ: case SIM_REG_ACQ + 4:	return "ACQ";
	default:				return "reserved";
	}
}

/*
 * A CSTS read. With slow RDY, a pending RDY change lands only after enough
 * reads and enough time; shutdown (SHST 01b) completes on the read after it
 * began, so a driver sees "occurring" once, as it would on hardware.
 */
static uint32_t sim_read_csts(struct sim_ctrl *s)
{
	uint32_t v = s->csts;

	if (s->rdy_pending) {
		if (s->rdy_left && s->rdy_left != ~0u)
			s->rdy_left--;
		if (!s->rdy_left && nvmf_now_ms() >= s->rdy_due) {
			s->rdy_pending = false;
			s->csts = (s->csts & ~NVME_CSTS_RDY) | (s->cc & NVME_CC_EN);
		}
	}
	if ((s->csts & NVME_CSTS_SHST_MASK) == SIM_CSTS_SHST_OCCURRING)
		s->csts = (s->csts & ~NVME_CSTS_SHST_MASK) | NVME_CSTS_SHST_CMPLT;
	return v;
}

/* A 32-bit register read. CAP, ASQ and ACQ are 64 bit; a driver may read
 * them as two halves, low first [BASE-2.0c §3.1.4]. */
static uint32_t sim_read32(struct nvme_bus *b, uint32_t off)
{
	struct sim_ctrl *s = sim_of(b);
	uint32_t v;

	switch (off) {
	case NVME_REG_CAP:	v = (uint32_t)s->cap; break;
	case NVME_REG_CAP + 4:	v = (uint32_t)(s->cap >> 32); break;
	case NVME_REG_VS:	v = NVME_VS(2, 0, 0); break;
	case NVME_REG_CC:	v = s->cc; break;
	case NVME_REG_CSTS:	v = sim_read_csts(s); break;
	case SIM_REG_AQA:	v = s->aqa; break;
	case SIM_REG_ASQ:	v = (uint32_t)s->asq; break;
	case SIM_REG_ASQ + 4:	v = (uint32_t)(s->asq >> 32); break;
	case SIM_REG_ACQ:	v = (uint32_t)s->acq; break;
	case SIM_REG_ACQ + 4:	v = (uint32_t)(s->acq >> 32); break;
	default:		v = 0; break;	/* reserved and doorbells read 0 */
	}
	SIM_TRACE(s, "read32  0x%04x %-5s = 0x%08x", off, sim_reg_name(off), v);
	return v;
}

/* A 64-bit register read: both halves, traced as one access. */
static uint64_t sim_read64(struct nvme_bus *b, uint32_t off)
{
	struct sim_ctrl *s = sim_of(b);
	bool tr = s->trace;
	uint64_t v;

	s->trace = false;		/* one line for the pair */
	v = sim_read32(b, off) | (uint64_t)sim_read32(b, off + 4) << 32;
	s->trace = tr;
	SIM_TRACE(s, "read64  0x%04x %-5s = 0x%016" PRIx64, off, sim_reg_name(off), v);
	return v;
}

/*
 * CC.EN 0 -> 1 [BASE-2.0c §3.5.1]: the admin queues come from AQA/ASQ/ACQ.
 * A setting we cannot run with (page size, command set, queue sizes or
 * addresses) sets CSTS.CFS instead of RDY: the driver learns at once,
 * where real controllers vary (QEMU stays not ready).
 */
static bool sim_enable(struct sim_ctrl *s)
{
	uint32_t sqs = (s->aqa & 0xfff) + 1, cqs = ((s->aqa >> 16) & 0xfff) + 1;
	const char *why = NULL;

	if ((s->cc >> NVME_CC_MPS_SHIFT) & 0xf)
		why = "CC.MPS is not 0 (4 KiB pages)";
	else if ((s->cc >> NVME_CC_CSS_SHIFT) & 7)
		why = "CC.CSS is not 0 (NVM command set)";
	else if (sqs < 2 || cqs < 2)
		why = "AQA: admin queues need at least 2 entries";
	else if ((s->asq | s->acq) & (SIM_PAGE - 1) || !s->asq || !s->acq)
		why = "ASQ/ACQ are not page aligned";
	else if (!sim_dma_va(s, s->asq, sqs * 64) || !sim_dma_va(s, s->acq, cqs * 16))
		why = "ASQ/ACQ do not point into DMA memory (dma_alloc/dma_map)";
	if (why) {
		LOG_ERR("enable refused: %s: controller fatal", why);
		s->csts |= NVME_CSTS_CFS;
		return false;
	}
	s->sq[0] = (struct sim_sq){ .live = true, .iova = s->asq, .size = sqs, .cqid = 0 };
	s->cq[0] = (struct sim_cq){ .live = true, .iova = s->acq, .size = cqs, .phase = 1, .nsq = 1 };
	return true;
}

/* CC.EN 1 -> 0: a controller reset [BASE-2.0c §3.7.2]. Everything queued is lost. */
static void sim_reset(struct sim_ctrl *s)
{
	memset(s->sq, 0, sizeof(s->sq));
	memset(s->cq, 0, sizeof(s->cq));
	memset(s->held, 0, sizeof(s->held));
	s->naer = s->nevents = 0;
	s->error_masked = false;
	s->nioq = s->max_ioq;
	s->nioq_set = false;
	s->feat_arb = s->feat_pm = s->feat_err = s->feat_aec = 0;
	s->feat_temp = 343;
	s->csts &= ~(NVME_CSTS_CFS | NVME_CSTS_SHST_MASK);
}

/* A CC write: enable, reset, shutdown notification [BASE-2.0c Fig. 41]. */
static void sim_write_cc(struct sim_ctrl *s, uint32_t val)
{
	uint32_t old = s->cc;

	s->cc = val;
	if ((val & NVME_CC_EN) != (old & NVME_CC_EN)) {
		if (val & NVME_CC_EN) {
			if (!sim_enable(s))
				return;
		} else {
			sim_reset(s);
		}
		if (s->rdy_reads || s->rdy_ms) {
			s->rdy_pending = true;
			s->rdy_left = s->rdy_reads;
			s->rdy_due = nvmf_now_ms() + s->rdy_ms;
		} else {
			s->csts = (s->csts & ~NVME_CSTS_RDY) | (val & NVME_CC_EN);
		}
	}
	if ((val & NVME_CC_SHN_MASK) && !(old & NVME_CC_SHN_MASK))
		s->csts = (s->csts & ~NVME_CSTS_SHST_MASK) | SIM_CSTS_SHST_OCCURRING;
	else if (!(val & NVME_CC_SHN_MASK))
		s->csts &= ~NVME_CSTS_SHST_MASK;
}

/* A doorbell at 0x1000 + (2 * qid + is_cq) * stride; returns false if invalid. */
static bool sim_doorbell(struct sim_ctrl *s, uint32_t off, uint32_t val)
{
	uint32_t stride = 4u << s->dstrd, idx = (off - SIM_REG_DBS) / stride;
	uint16_t qid = idx / 2;
	bool is_cq = idx & 1;
	uint8_t info = SIM_AER_BAD_DB_REG;

	if ((off - SIM_REG_DBS) % stride || qid > SIM_MAX_IOQ)
		goto bad;
	if (is_cq ? !s->cq[qid].live : !s->sq[qid].live)
		goto bad;
	info = SIM_AER_BAD_DB_VALUE;
	if (is_cq) {
		struct sim_cq *cq = &s->cq[qid];
		/* the new head may not pass entries we have not posted */
		uint32_t posted = (cq->tail + cq->size - cq->head) % cq->size;

		if (val >= cq->size || (val + cq->size - cq->head) % cq->size > posted)
			goto bad;
		cq->head = val;
	} else {
		if (val >= s->sq[qid].size)
			goto bad;
		s->sq[qid].tail = val;
	}
	SIM_TRACE(s, "doorbell %s%u %s = %u", is_cq ? "cq" : "sq", qid, is_cq ? "head" : "tail", val);
	s->stats.doorbells++;
	return true;
bad:
	/* [BASE-2.0c §5.2.1, Fig. 148]: an Error event, and an error log entry */
	SIM_TRACE(s, "doorbell 0x%x = %u: invalid (%s)", off, val,
		  info == SIM_AER_BAD_DB_REG ? "no such queue" : "bad value");
	s->stats.bad_doorbells++;
	sim_errlog_add(s, 0xffff, NULL, NVME_SC_INVALID_FIELD);
	sim_event(s, SIM_AER_TYPE_ERROR, info, NVME_LOG_ERROR);
	return false;
}

/* A 32-bit register write. The admin queue registers change only while
 * CC.EN is 0: the controller reads them once, when it is enabled. */
static void sim_write32(struct nvme_bus *b, uint32_t off, uint32_t val)
{
	struct sim_ctrl *s = sim_of(b);
	bool idle = !(s->cc & NVME_CC_EN);	/* AQA, ASQ, ACQ change only then */

	if (off >= SIM_REG_DBS) {
		if (s->cc & NVME_CC_EN)
			sim_doorbell(s, off, val);
		return;
	}
	SIM_TRACE(s, "write32 0x%04x %-5s = 0x%08x", off, sim_reg_name(off), val);
	switch (off) {
	case NVME_REG_CC:	sim_write_cc(s, val); break;
	case SIM_REG_AQA:	if (idle) s->aqa = val & 0x0fff0fff; break;
	case SIM_REG_ASQ:	if (idle) s->asq = (s->asq & ~0xffffffffull) | val; break;
	case SIM_REG_ASQ + 4:	if (idle) s->asq = (s->asq & 0xffffffffull) | (uint64_t)val << 32; break;
	case SIM_REG_ACQ:	if (idle) s->acq = (s->acq & ~0xffffffffull) | val; break;
	case SIM_REG_ACQ + 4:	if (idle) s->acq = (s->acq & 0xffffffffull) | (uint64_t)val << 32; break;
	default:		break;	/* read-only, interrupts (we have none), reserved */
	}
}

/* A 64-bit register write (ASQ, ACQ): both halves, traced as one. */
static void sim_write64(struct nvme_bus *b, uint32_t off, uint64_t val)
{
	struct sim_ctrl *s = sim_of(b);
	bool tr = s->trace;

	SIM_TRACE(s, "write64 0x%04x %-5s = 0x%016" PRIx64, off, sim_reg_name(off), val);
	s->trace = false;
	sim_write32(b, off, (uint32_t)val);
	sim_write32(b, off + 4, (uint32_t)(val >> 32));
	s->trace = tr;
}

/* ==================================================================== */
/* Setup and teardown                                                  */
/* ==================================================================== */

static void sim_close(struct nvme_bus *b)
{
	struct sim_ctrl *s = sim_of(b);

	for (int i = 0; i < s->nrgn; i++)
		if (s->rgn[i].owned)
			free(s->rgn[i].va);
	free(s->rgn);
	free(s->segs);
	free(s->mem);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

static const struct nvme_bus_ops sim_bus_ops = {
	.name = "sim",
	.read32 = sim_read32,
	.read64 = sim_read64,
	.write32 = sim_write32,
	.write64 = sim_write64,
	.dma_alloc = sim_dma_alloc,
	.dma_free = sim_dma_free,
	.dma_map = sim_dma_map,
	.dma_unmap = sim_dma_unmap,
	.poll = sim_poll,
	.close = sim_close,
};

/* "64M", "1G", "4096": a size with an optional K/M/G/T suffix. */
static int sim_parse_size(const char *p, char **end, uint64_t *out)
{
	unsigned long long v;

	errno = 0;
	v = strtoull(p, end, 10);
	if (errno || *end == p)
		return -EINVAL;
	switch (**end) {
	case 'T': case 't': v <<= 10; /* fall through */
	case 'G': case 'g': v <<= 10; /* fall through */
	case 'M': case 'm': v <<= 10; /* fall through */
	case 'K': case 'k': v <<= 10; (*end)++; break;
	default: break;
	}
	*out = v;
	return 0;
}

/* One ",name=N" option of the spec; see nvmf.h. */
static int sim_parse_opt(struct sim_ctrl *s, const char *opt, char *err, size_t errlen)
{
	static const struct { const char *name; unsigned max; } opts[] = {
		{ "dstrd", 4 }, { "mqes", 0xffff }, { "mdts", 10 }, { "to", 255 },
		{ "queues", SIM_MAX_IOQ },
	};
	char *end;
	unsigned long v;

	for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
		size_t n = strlen(opts[i].name);

		if (strncmp(opt, opts[i].name, n) || opt[n] != '=')
			continue;
		v = strtoul(opt + n + 1, &end, 0);
		if (end == opt + n + 1 || (*end && *end != ',') || v > opts[i].max ||
		    (i == 1 && v < 1) || (i == 4 && v < 1)) {
			snprintf(err, errlen, "sim: %s must be a number up to %u", opts[i].name, opts[i].max);
			return -EINVAL;
		}
		if (i == 0) s->dstrd = v;
		if (i == 1) s->mqes = v;
		if (i == 2) s->mdts = v;
		if (i == 3) s->to = v;
		if (i == 4) s->max_ioq = v;
		return 0;
	}
	snprintf(err, errlen, "sim: unknown option '%.*s' (dstrd, mqes, mdts, to, queues)",
		 (int)strcspn(opt, ","), opt);
	return -EINVAL;
}

/* The medium: "SIZE[:BLKSZ]" in memory, or "file=PATH[:BLKSZ]". */
static int sim_parse_medium(struct sim_ctrl *s, char *spec, char *err, size_t errlen)
{
	char *colon = strrchr(spec, ':'), *end;
	uint64_t size = 0, bs = 512;
	struct stat st;

	if (colon && (sim_parse_size(colon + 1, &end, &bs) || *end || (bs != 512 && bs != 4096))) {
		snprintf(err, errlen, "sim: block size must be 512 or 4096, not '%s'", colon + 1);
		return -EINVAL;
	}
	if (colon)
		*colon = '\0';
	s->blksz = bs;
	s->lbads = bs == 512 ? 9 : 12;
	if (!strncmp(spec, "file=", 5)) {
		s->fd = open(spec + 5, O_RDWR);
		if (s->fd < 0 || fstat(s->fd, &st)) {
			snprintf(err, errlen, "sim: %s: %s (the file must exist; "
				 "create one with truncate -s 64M %s)", spec + 5, strerror(errno), spec + 5);
			return -errno;
		}
		size = st.st_size;
	} else if (sim_parse_size(spec, &end, &size) || *end) {
		snprintf(err, errlen, "sim: '%s' is not a size (e.g. 64M) or file=PATH", spec);
		return -EINVAL;
	}
	s->nsze = size >> s->lbads;
	if (!s->nsze) {
		snprintf(err, errlen, "sim: the namespace needs at least one %u-byte block", s->blksz);
		return -EINVAL;
	}
	if (s->fd < 0 && !(s->mem = calloc(1, s->nsze << s->lbads))) {
		snprintf(err, errlen, "sim: cannot allocate %" PRIu64 " bytes", size);
		return -ENOMEM;
	}
	return 0;
}

/* Power-on state: CAP from the options, everything else zero [BASE-2.0c Fig. 36]. */
static int sim_power_on(struct sim_ctrl *s)
{
	s->cap = s->mqes | SIM_CAP_CQR | (uint64_t)s->to << SIM_CAP_TO_SHIFT |
		 (uint64_t)s->dstrd << SIM_CAP_DSTRD_SHIFT | SIM_CAP_CSS_NVM |
		 0ull << SIM_CAP_MPSMIN_SHIFT | 0ull << SIM_CAP_MPSMAX_SHIFT;
	s->max_segs = (1u << s->mdts) + 1;
	s->segs = calloc(s->max_segs, sizeof(*s->segs));
	s->next_iova = SIM_IOVA_BASE;
	sim_reset(s);
	return s->segs ? 0 : -ENOMEM;
}

/* `sim:SPEC` to a powered-on controller behind *out; on a bad spec, -EINVAL
 * and a message in err that names the option. The bus seam entry point. */
int sim_bus_open(const char *spec, struct nvme_bus **out, char *err, size_t errlen)
{
	struct sim_ctrl *s = calloc(1, sizeof(*s));
	char *copy = strdup(spec ? spec : ""), *opt;
	int rc = -ENOMEM;

	if (!s || !copy)
		goto fail;
	s->bus.ops = &sim_bus_ops;
	s->fd = -1;
	s->mqes = 1023;
	s->mdts = 5;
	s->to = 20;
	s->max_ioq = 16;
	opt = strchr(copy, ',');
	if (opt)
		*opt++ = '\0';
	while (opt && *opt) {
		if ((rc = sim_parse_opt(s, opt, err, errlen)))
			goto fail;
		opt = strchr(opt, ',');
		opt = opt ? opt + 1 : NULL;
	}
	if ((rc = sim_parse_medium(s, copy, err, errlen)) || (rc = sim_power_on(s)))
		goto fail;
	free(copy);
	*out = &s->bus;
	return 0;
fail:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "sim: out of memory");
	free(copy);
	if (s)
		sim_close(&s->bus);
	return rc;
}

/* ==================================================================== */
/* Fault injection and inspection (nvmf.h)                             */
/* ==================================================================== */

int sim_fault_add(struct nvme_bus *b, const struct sim_fault *f)
{
	struct sim_ctrl *s = sim_of(b);

	if (f->nth < 1 || f->opcode < SIM_OPC_ANY || f->opcode > 255 ||
	    f->qid < SIM_QID_IO || f->qid > SIM_MAX_IOQ || f->kind > SIM_FAULT_CFS)
		return -EINVAL;
	for (int i = 0; i < SIM_MAX_FAULTS; i++) {
		if (!s->rules[i].used) {
			s->rules[i] = (struct sim_rule){ true, *f, 0 };
			return 0;
		}
	}
	return -ENOSPC;
}

void sim_fault_clear(struct nvme_bus *b)
{
	memset(sim_of(b)->rules, 0, sizeof(sim_of(b)->rules));
}

void sim_set_cfs(struct nvme_bus *b)
{
	sim_of(b)->csts |= NVME_CSTS_CFS;
}

void sim_slow_rdy(struct nvme_bus *b, unsigned reads, unsigned ms)
{
	sim_of(b)->rdy_reads = reads;
	sim_of(b)->rdy_ms = ms;
}

void sim_set_trace(struct nvme_bus *b, bool on)
{
	sim_of(b)->trace = on;
}

void sim_get_stats(struct nvme_bus *b, struct sim_stats *st)
{
	*st = sim_of(b)->stats;
}
