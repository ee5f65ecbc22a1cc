/*
 * sim/admin.c - the simulated controller's admin commands [BASE-2.0c §5].
 *
 * sim/sim.c fetches an SQE from the admin SQ and calls sim_admin() (last
 * in this file), which answers with a status and CQE dword 0. Everything
 * here runs inside the device's poll(), on the driver's thread, like the
 * rest of sim/, so it touches struct sim_ctrl (sim/sim.h) without a lock.
 *
 *   sim_admin --> Identify (CNS 00h-03h)      Get Log Page (01h-03h)
 *             --> Create/Delete I/O SQ, CQ    Abort
 *             --> Set/Get Features            Asynchronous Event Request
 *
 * These are the commands a PCIe driver needs to bring a controller up and
 * create its I/O queues, and the ones whose command-specific statuses
 * a driver must handle (the queue commands). Not implemented: firmware,
 * format, namespace management, security (Invalid Command Opcode), and
 * every feature other than Number of Queues and those sim_feature() lists
 * (Invalid Field in Command). Tutorial chapter 08.
 */
#include <string.h>
#include <endian.h>

#include "sim.h"

/* ==================================================================== */
/* Admin commands [BASE-2.0c §5]                                       */
/* ==================================================================== */

/*
 * Identify Controller [BASE-2.0c Fig. 275]: what a PCIe controller with
 * one namespace, PRPs only and no interrupts needs to say.
 */
static void sim_identify_ctrl(struct sim_ctrl *s, struct nvme_id_ctrl *id)
{
	memset(id, 0, sizeof(*id));
	id->vid = htole16(0x1b36);		/* QEMU's, for a device that is not real */
	id->ssvid = htole16(0x1af4);
	memset(id->sn, ' ', sizeof(id->sn));
	memcpy(id->sn, "SIM0001", 7);
	memset(id->mn, ' ', sizeof(id->mn));
	memcpy(id->mn, "nvmf sim", 8);
	memset(id->fr, ' ', sizeof(id->fr));
	memcpy(id->fr, NVMF_VERSION, strlen(NVMF_VERSION));
	id->mdts = s->mdts;
	id->cntlid = htole16(1);
	id->ver = htole32(NVME_VS(2, 0, 0));
	id->cntrltype = NVME_CNTRLTYPE_IO;
	id->acl = SIM_ACL;
	id->aerl = SIM_AERL;
	id->elpe = SIM_ERRLOG - 1;
	id->sqes = 0x66;			/* 64 bytes, required and maximum */
	id->cqes = 0x44;			/* 16 bytes */
	id->maxcmd = htole16(s->mqes + 1);
	id->nn = htole32(1);
	id->oncs = htole16(NVME_CTRL_ONCS_DSM | NVME_CTRL_ONCS_WRITE_ZEROES);
	id->wctemp = htole16(343);
	id->cctemp = htole16(363);
	id->psd[0].mp = htole16(100);		/* 1 W, in 0.01 W units */
}

/* Identify Namespace [NVM-1.0c Fig. 114]: one LBA format, our block size. */
static void sim_identify_ns(struct sim_ctrl *s, struct nvme_id_ns *id)
{
	memset(id, 0, sizeof(*id));
	id->nsze = id->ncap = id->nuse = htole64(s->nsze);
	id->dlfeat = NVME_NS_DLFEAT_READ_ZEROES;
	id->lbaf[0].lbads = s->lbads;
	id->nguid[0] = 0x51;			/* "S"; unique per sim is enough */
	id->nguid[15] = 1;
}

/* Namespace Identification Descriptors [BASE-2.0c Fig. 279]: NGUID, CSI. */
static void sim_identify_desc(uint8_t *p)
{
	struct nvme_ns_id_desc *d = (void *)p;

	memset(p, 0, SIM_PAGE);
	d->nidt = NVME_NIDT_NGUID;
	d->nidl = 16;
	p[4] = 0x51;
	p[19] = 1;
	d = (void *)(p + 20);
	d->nidt = NVME_NIDT_CSI;
	d->nidl = 1;
	p[24] = NVME_CSI_NVM;
}

/* Identify [BASE-2.0c §5.17]: CNS 00h, 01h, 02h, 03h. */
static uint16_t sim_identify(struct sim_ctrl *s, const struct nvme_sqe *sqe)
{
	uint32_t nsid = le32toh(sqe->nsid);

	memset(s->page, 0, sizeof(s->page));
	switch (le32toh(sqe->cdw10) & 0xff) {
	case NVME_CNS_CTRL:
		sim_identify_ctrl(s, (void *)s->page);
		break;
	case NVME_CNS_NS:
		if (nsid != 1)
			return NVME_SC_INVALID_NS | NVME_STATUS_DNR;
		sim_identify_ns(s, (void *)s->page);
		break;
	case NVME_CNS_NS_ACTIVE_LIST:	/* active NSIDs greater than nsid */
		if (nsid >= 0xfffffffe)
			return NVME_SC_INVALID_NS | NVME_STATUS_DNR;
		if (nsid < 1)
			s->page[0] = 1;
		break;
	case NVME_CNS_NS_DESC_LIST:
		if (nsid != 1)
			return NVME_SC_INVALID_NS | NVME_STATUS_DNR;
		sim_identify_desc(s->page);
		break;
	default:
		return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;
	}
	return sim_to_host(s, sqe, s->page, SIM_PAGE);
}

/* The SMART / Health log [BASE-2.0c Fig. 207]; counters are 128-bit LE. */
static void sim_smart_log(struct sim_ctrl *s, struct nvme_smart_log *l)
{
	uint64_t v;

	memset(l, 0, sizeof(*l));
	l->temperature[0] = 0x27;		/* 295 K = 0x127: 22 C */
	l->temperature[1] = 0x01;
	l->avail_spare = 100;
	l->spare_thresh = 10;
	v = htole64(s->units_read);
	memcpy(l->data_units_read, &v, 8);
	v = htole64(s->units_written);
	memcpy(l->data_units_written, &v, 8);
	v = htole64(s->host_reads);
	memcpy(l->host_reads, &v, 8);
	v = htole64(s->host_writes);
	memcpy(l->host_writes, &v, 8);
	v = htole64(s->err_count);
	memcpy(l->num_err_log_entries, &v, 8);
}

/*
 * Get Log Page [BASE-2.0c §5.16]: LID in CDW10 7:0, RAE bit 15, NUMD split
 * over CDW10 31:16 and CDW11 15:0 (0's based dwords), offset in CDW12-13.
 * Reading log 01h without RAE unmasks Error events.
 */
static uint16_t sim_get_log(struct sim_ctrl *s, const struct nvme_sqe *sqe)
{
	uint32_t cdw10 = le32toh(sqe->cdw10), lid = cdw10 & 0xff;
	uint64_t numd = ((cdw10 >> 16) | ((uint64_t)(le32toh(sqe->cdw11) & 0xffff) << 16)) + 1;
	uint64_t len = numd * 4, off = le32toh(sqe->cdw12) | (uint64_t)le32toh(sqe->cdw13) << 32;
	uint32_t size;
	uint16_t st;

	memset(s->page, 0, sizeof(s->page));
	switch (lid) {
	case NVME_LOG_ERROR:
		size = sizeof(s->errlog);
		memcpy(s->page, s->errlog, size);
		break;
	case NVME_LOG_SMART:
		size = sizeof(struct nvme_smart_log);
		sim_smart_log(s, (void *)s->page);
		break;
	case NVME_LOG_FW_SLOT:
		size = sizeof(struct nvme_fw_slot_log);
		s->page[0] = 1;			/* active slot 1 */
		memset(s->page + 8, ' ', 8);
		memcpy(s->page + 8, NVMF_VERSION, strlen(NVMF_VERSION));
		break;
	default:
		return NVME_SC_INVALID_LOG_PAGE | NVME_STATUS_DNR;
	}
	/* an offset past the log is invalid; reading past its end gives
	 * zeroes, up to the 4 KiB we keep */
	if (off & 3 || off >= size || len > SIM_PAGE - off)
		return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;
	if ((st = sim_to_host(s, sqe, s->page + off, (uint32_t)len)))
		return st;
	if (lid == NVME_LOG_ERROR && !(cdw10 & (1u << 15)))
		s->error_masked = false;	/* the host has read it: unmask */
	return NVME_SC_SUCCESS;
}

/*
 * Queue memory given at creation: page aligned (PRP1 offset 0) and, since
 * CAP.CQR is set, one contiguous region the device can reach.
 */
static uint16_t sim_queue_mem(struct sim_ctrl *s, const struct nvme_sqe *sqe,
			      uint32_t bytes, uint64_t *iova)
{
	*iova = le64toh(sqe->dptr.addr);
	if (!(le32toh(sqe->cdw11) & 1))
		return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;	/* PC=0, CAP.CQR=1 */
	if (!*iova || (*iova & (SIM_PAGE - 1)))
		return SIM_SC_PRP_OFFSET | NVME_STATUS_DNR;
	if (!sim_dma_va(s, *iova, bytes))
		return NVME_SC_DATA_XFER_ERROR | NVME_STATUS_DNR;
	return NVME_SC_SUCCESS;
}

/* QID and QSIZE checks shared by both Create commands [BASE-2.0c §5.4-5.5]. */
static uint16_t sim_queue_args(struct sim_ctrl *s, const struct nvme_sqe *sqe, bool live)
{
	uint32_t qid = le32toh(sqe->cdw10) & 0xffff, qsize = le32toh(sqe->cdw10) >> 16;

	if (qid == 0 || qid > s->nioq || live)
		return NVME_SC_INVALID_QID | NVME_STATUS_DNR;
	if (qsize == 0 || qsize > s->mqes)
		return NVME_SC_INVALID_QUEUE_SIZE | NVME_STATUS_DNR;
	return NVME_SC_SUCCESS;
}

/* Create I/O Completion Queue [BASE-2.0c §5.4]: CDW11 PC bit 0, IEN 1, IV 31:16. */
static uint16_t sim_create_cq(struct sim_ctrl *s, const struct nvme_sqe *sqe)
{
	uint32_t qid = le32toh(sqe->cdw10) & 0xffff, size = (le32toh(sqe->cdw10) >> 16) + 1;
	uint64_t iova;
	uint16_t st = sim_queue_args(s, sqe, qid <= SIM_MAX_IOQ && s->cq[qid].live);

	if (st)
		return st;
	if (((s->cc >> NVME_CC_IOCQES_SHIFT) & 0xf) != 4)
		return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;	/* CC.IOCQES */
	if (le32toh(sqe->cdw11) >> 16)
		return SIM_SC_INVALID_VECTOR | NVME_STATUS_DNR;	/* no MSI-X here */
	if ((st = sim_queue_mem(s, sqe, size * sizeof(struct nvme_cqe), &iova)))
		return st;
	s->cq[qid] = (struct sim_cq){ .live = true, .iova = iova, .size = size, .phase = 1 };
	return NVME_SC_SUCCESS;
}

/* Create I/O Submission Queue [BASE-2.0c §5.5]: CDW11 PC bit 0, CQID 31:16. */
static uint16_t sim_create_sq(struct sim_ctrl *s, const struct nvme_sqe *sqe)
{
	uint32_t qid = le32toh(sqe->cdw10) & 0xffff, size = (le32toh(sqe->cdw10) >> 16) + 1;
	uint32_t cqid = le32toh(sqe->cdw11) >> 16;
	uint64_t iova;
	uint16_t st = sim_queue_args(s, sqe, qid <= SIM_MAX_IOQ && s->sq[qid].live);

	if (st)
		return st;
	if (cqid == 0 || cqid > s->nioq || !s->cq[cqid].live)
		return SIM_SC_CQ_INVALID | NVME_STATUS_DNR;
	if (((s->cc >> NVME_CC_IOSQES_SHIFT) & 0xf) != 6)
		return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;	/* CC.IOSQES */
	if ((st = sim_queue_mem(s, sqe, size * sizeof(struct nvme_sqe), &iova)))
		return st;
	s->sq[qid] = (struct sim_sq){ .live = true, .iova = iova, .size = size, .cqid = cqid };
	s->cq[cqid].nsq++;
	return NVME_SC_SUCCESS;
}

/*
 * Delete I/O Submission Queue [BASE-2.0c §5.7]. Commands of it still held
 * here are completed first, Aborted due to SQ Deletion (lost if the host
 * left their CQ full: a simplification); then it is gone.
 */
static uint16_t sim_delete_sq(struct sim_ctrl *s, const struct nvme_sqe *sqe)
{
	uint32_t qid = le32toh(sqe->cdw10) & 0xffff;

	if (qid == 0 || qid > s->nioq || !s->sq[qid].live)
		return NVME_SC_INVALID_QID | NVME_STATUS_DNR;
	for (int i = 0; i < SIM_MAX_DELAYED; i++) {
		struct sim_cmd *c = &s->held[i];

		if (c->used && c->sqid == qid) {
			sim_cq_post(s, qid, c->sqe.cid, NVME_SC_ABORT_SQ_DELETED, 0);
			c->used = false;
		}
	}
	s->cq[s->sq[qid].cqid].nsq--;
	s->sq[qid].live = false;
	return NVME_SC_SUCCESS;
}

/* Delete I/O Completion Queue [BASE-2.0c §5.6]: only once no SQ uses it. */
static uint16_t sim_delete_cq(struct sim_ctrl *s, const struct nvme_sqe *sqe)
{
	uint32_t qid = le32toh(sqe->cdw10) & 0xffff;

	if (qid == 0 || qid > s->nioq || !s->cq[qid].live)
		return NVME_SC_INVALID_QID | NVME_STATUS_DNR;
	if (s->cq[qid].nsq)
		return SIM_SC_QUEUE_DELETION | NVME_STATUS_DNR;
	s->cq[qid].live = false;
	return NVME_SC_SUCCESS;
}

/*
 * Abort [BASE-2.0c §5.1]: CDW10 SQID 15:0, CID 31:16. Only a command still
 * held here (a DELAY rule) can be aborted; it completes with Command Abort
 * Requested and DW0 bit 0 = 0. Anything else: DW0 bit 0 = 1, not aborted.
 */
static uint16_t sim_abort(struct sim_ctrl *s, const struct nvme_sqe *sqe, uint32_t *dw0)
{
	uint32_t cdw10 = le32toh(sqe->cdw10);
	uint16_t sqid = cdw10 & 0xffff, cid = htole16(cdw10 >> 16);

	*dw0 = 1;
	for (int i = 0; i < SIM_MAX_DELAYED; i++) {
		struct sim_cmd *c = &s->held[i];

		if (c->used && c->sqid == sqid && c->sqe.cid == cid) {
			if (sim_cq_post(s, sqid, cid, NVME_SC_ABORT_REQ, 0) == 0) {
				c->used = false;
				*dw0 = 0;
			}
			break;
		}
	}
	return NVME_SC_SUCCESS;
}

/*
 * Number of Queues [BASE-2.0c §5.27.1.5]: NSQR 15:0, NCQR 31:16, 0's
 * based; FFFFh is invalid. We grant min(asked, queues=) and keep one number
 * for both. Once an I/O queue exists the answer cannot change.
 */
static uint16_t sim_set_nqueues(struct sim_ctrl *s, uint32_t cdw11, uint32_t *dw0)
{
	uint32_t nsqr = cdw11 & 0xffff, ncqr = cdw11 >> 16, n;

	if (nsqr == 0xffff || ncqr == 0xffff)
		return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;
	for (int q = 1; q <= SIM_MAX_IOQ; q++)
		if (s->sq[q].live || s->cq[q].live)
			return NVME_SC_CMD_SEQ_ERROR | NVME_STATUS_DNR;
	n = (nsqr > ncqr ? nsqr : ncqr) + 1;
	s->nioq = n < s->max_ioq ? n : s->max_ioq;
	s->nioq_set = true;
	*dw0 = (uint32_t)(s->nioq - 1) << 16 | (s->nioq - 1);
	return NVME_SC_SUCCESS;
}

/* The features we keep; NULL for one we do not support. */
static uint32_t *sim_feature(struct sim_ctrl *s, uint8_t fid)
{
	switch (fid) {
	case NVME_FEAT_ARBITRATION:	return &s->feat_arb;
	case NVME_FEAT_POWER_MGMT:	return &s->feat_pm;
	case NVME_FEAT_TEMP_THRESH:	return &s->feat_temp;
	case NVME_FEAT_ERR_RECOVERY:	return &s->feat_err;
	case NVME_FEAT_ASYNC_EVENT:	return &s->feat_aec;
	default:			return NULL;
	}
}

/* Set Features [BASE-2.0c §5.27]: FID in CDW10 7:0, SV bit 31, value CDW11. */
static uint16_t sim_set_features(struct sim_ctrl *s, const struct nvme_sqe *sqe, uint32_t *dw0)
{
	uint32_t cdw10 = le32toh(sqe->cdw10), cdw11 = le32toh(sqe->cdw11);
	uint32_t *f = sim_feature(s, cdw10 & 0xff);

	if (cdw10 & (1u << 31))
		return NVME_SC_FEAT_NOT_SAVEABLE | NVME_STATUS_DNR;
	if ((cdw10 & 0xff) == NVME_FEAT_NUM_QUEUES)
		return sim_set_nqueues(s, cdw11, dw0);
	if (!f)
		return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;
	if ((cdw10 & 0xff) == NVME_FEAT_POWER_MGMT && (cdw11 & 0x1f))
		return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;	/* NPSS 0: PS0 only */
	*f = cdw11;
	return NVME_SC_SUCCESS;
}

/* Get Features [BASE-2.0c §5.15]; SEL (CDW10 10:8) other than current or
 * default is Invalid Field: nothing here is saveable. */
static uint16_t sim_get_features(struct sim_ctrl *s, const struct nvme_sqe *sqe, uint32_t *dw0)
{
	uint32_t cdw10 = le32toh(sqe->cdw10), sel = (cdw10 >> 8) & 7;
	uint32_t *f = sim_feature(s, cdw10 & 0xff);

	if (sel != NVME_FEAT_SEL_CURRENT && sel != NVME_FEAT_SEL_DEFAULT)
		return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;
	if ((cdw10 & 0xff) == NVME_FEAT_NUM_QUEUES) {
		uint32_t n = sel == NVME_FEAT_SEL_DEFAULT || !s->nioq_set ? s->max_ioq : s->nioq;

		*dw0 = (n - 1) << 16 | (n - 1);
		return NVME_SC_SUCCESS;
	}
	if (!f)
		return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;
	if (sel == NVME_FEAT_SEL_DEFAULT)
		*dw0 = (cdw10 & 0xff) == NVME_FEAT_TEMP_THRESH ? 343 : 0;
	else
		*dw0 = *f;
	return NVME_SC_SUCCESS;
}

/* An AER waits here for an event [BASE-2.0c §5.2]; at most AERL + 1. */
static uint16_t sim_aer(struct sim_ctrl *s, const struct nvme_sqe *sqe, bool *hold)
{
	if (s->naer > SIM_AERL)
		return NVME_SC_AER_LIMIT | NVME_STATUS_DNR;
	s->aer_cid[s->naer++] = sqe->cid;
	*hold = true;
	return NVME_SC_SUCCESS;
}

/* One admin command; *hold means "no completion now" (AER). */
uint16_t sim_admin(struct sim_ctrl *s, const struct nvme_sqe *sqe, uint32_t *dw0, bool *hold)
{
	switch (sqe->opcode) {
	case NVME_ADM_DELETE_SQ:	return sim_delete_sq(s, sqe);
	case NVME_ADM_CREATE_SQ:	return sim_create_sq(s, sqe);
	case NVME_ADM_GET_LOG_PAGE:	return sim_get_log(s, sqe);
	case NVME_ADM_DELETE_CQ:	return sim_delete_cq(s, sqe);
	case NVME_ADM_CREATE_CQ:	return sim_create_cq(s, sqe);
	case NVME_ADM_IDENTIFY:		return sim_identify(s, sqe);
	case NVME_ADM_ABORT:		return sim_abort(s, sqe, dw0);
	case NVME_ADM_SET_FEATURES:	return sim_set_features(s, sqe, dw0);
	case NVME_ADM_GET_FEATURES:	return sim_get_features(s, sqe, dw0);
	case NVME_ADM_ASYNC_EVENT:	return sim_aer(s, sqe, hold);
	default:			return NVME_SC_INVALID_OPCODE | NVME_STATUS_DNR;
	}
}

