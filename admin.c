/*
 * admin.c - the admin commands that describe the controller to the host:
 * Identify (what it is), Get Log Page (what happened), Get and Set
 * Features (how it is set). They read the controller and its subsystem
 * and change nothing on the command path, which is why they live apart
 * from nvmf.c: nvmf_admin() there routes them here, and every one ends
 * with nvmf_req_done() or nvmf_req_fail_at() like any other command.
 *
 *   section                                   spec
 *   --------------------------------------------------------------------
 *   Identify                                  [BASE-2.0c §5.17; NVM-1.0c §4.1.5]
 *   log pages (the discovery log's entries    [BASE-2.0c §5.16]
 *     come from subsys.c)
 *   features                                  [BASE-2.0c §5.27]
 *   helpers
 *
 * Locking. Each handler runs on the admin queue's reactor; what other
 * queues share (features, events, the error log) is read and written
 * under ctrl->lock.
 *
 * Tutorial chapter 04 reads this file after nvmf.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>

#include "nvmf.h"
#include "core.h"

/* ==================================================================== */
/* Helpers                                                             */
/* ==================================================================== */

/* Copy a C string into a space-padded ASCII field [BASE-2.0c §1.5]. */
void nvmf_str_pad(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	memset(dst, ' ', len);
	memcpy(dst, src, n < len ? n : len);
}

/* Put a 128-bit little-endian counter into a SMART field. */
static void nvmf_put_u128(uint8_t *dst, uint64_t v)
{
	memset(dst, 0, 16);
	for (int i = 0; i < 8; i++)
		dst[i] = v >> (8 * i);
}

/* ==================================================================== */
/* Identify [BASE-2.0c §5.17; NVM-1.0c §4.1.5]                         */
/* ==================================================================== */

/* Does any namespace have a volatile write cache (Identify VWC)? */
static bool nvmf_ctrl_has_vwc(struct nvmf_ctrl *ctrl)
{
	for (int i = 0; i < NVMF_MAX_NS; i++)
		if (ctrl->subsys->ns[i] && ctrl->subsys->ns[i]->bdev->vwc)
			return true;
	return false;
}

/*
 * MDTS, in 4 KiB pages as a power of two [BASE-2.0c Fig. 275]: the
 * queue's transport limit, lowered to what every namespace's backend
 * moves in one command (the PCIe driver bounces through fixed buffers).
 */
static uint8_t nvmf_mdts(struct nvmf_req *r)
{
	struct nvmf_subsys *s = r->q->ctrl->subsys;
	uint32_t max = r->q->max_data;
	uint8_t mdts = 0;

	for (int i = 0; i < NVMF_MAX_NS; i++)
		if (s->ns[i] && s->ns[i]->bdev->max_xfer && s->ns[i]->bdev->max_xfer < max)
			max = s->ns[i]->bdev->max_xfer;
	while ((NVMF_PAGE_SIZE << (mdts + 1)) <= max)
		mdts++;
	return mdts;
}

/*
 * Identify Controller. A flat fill of Fig. 275, field by field in offset
 * order, so it is longer than our usual function: splitting it would only
 * scatter one figure over several places.
 */
static void nvmf_identify_ctrl(struct nvmf_req *r, struct nvme_id_ctrl *id)
{
	struct nvmf_ctrl *ctrl = r->q->ctrl;
	struct nvmf_subsys *s = ctrl->subsys;
	bool vwc = nvmf_ctrl_has_vwc(ctrl);

	nvmf_str_pad(id->sn, sizeof(id->sn), s->is_disc ? "discovery" : s->sn);
	nvmf_str_pad(id->mn, sizeof(id->mn), s->is_disc ? "nvmf discovery" : s->mn);
	nvmf_str_pad(id->fr, sizeof(id->fr), NVMF_VERSION);
	id->rab = 6;
	/* Several controllers, several ports; no ANA [BASE-2.0c Fig. 275 CMIC]. */
	id->cmic = s->is_disc ? 0 : 0x03;
	id->mdts = nvmf_mdts(r);
	id->cntlid = htole16(ctrl->cntlid);
	id->ver = htole32(NVME_VS(2, 0, 0));
	id->oaes = htole32(s->is_disc ? NVME_CTRL_OAES_DISC_CHANGE : NVME_CTRL_OAES_NS_ATTR);
	/* 128-bit host identifier; Traffic Based Keep Alive (see
	 * nvmf_queue_tick) [BASE-2.0c Fig. 275 CTRATT bits 0, 6]. */
	id->ctratt = htole32(1u << 0 | 1u << 6);
	id->cntrltype = s->is_disc ? NVME_CNTRLTYPE_DISC : NVME_CNTRLTYPE_IO;
	id->acl = 3;
	id->aerl = NVMF_AERL;
	id->frmw = 0x03;			/* slot 1 read-only, one slot */
	id->lpa = NVME_CTRL_LPA_EXT_DATA | (s->is_disc ? 0 : (1u << 0) | NVME_CTRL_LPA_CMD_EFFECTS);
	id->elpe = NVMF_ERRLOG_ENTRIES - 1;
	id->npss = 0;
	id->wctemp = htole16(0x157);
	id->cctemp = htole16(0x175);
	id->kas = htole16(NVMF_KAS_100MS);
	id->sqes = 0x66;			/* 64-byte SQEs, max and min */
	id->cqes = 0x44;			/* 16-byte CQEs */
	id->maxcmd = htole16(g_limits.max_queue_depth);
	id->nn = htole32(s->is_disc ? 0 : NVMF_MAX_NS);
	if (!s->is_disc)
		id->oncs = htole16(NVME_CTRL_ONCS_COMPARE | NVME_CTRL_ONCS_DSM |
				   NVME_CTRL_ONCS_WRITE_ZEROES);
	id->vwc = vwc ? 0x07 : 0;		/* present; flush of all NSIDs */
	id->sgls = htole32(NVME_CTRL_SGLS_SUPPORTED | NVME_CTRL_SGLS_OFFSET |
			   (r->q->ops->trtype == NVMF_TRTYPE_RDMA ? NVME_CTRL_SGLS_KEYED : 0));
	snprintf(id->subnqn, sizeof(id->subnqn), "%s", s->nqn);
	/* Fabrics: capsule sizes in 16-byte units, no in-capsule offset. */
	id->ioccsz = htole32((sizeof(struct nvme_sqe) + g_limits.io_icd) / 16);
	id->iorcsz = htole32(sizeof(struct nvme_cqe) / 16);
	id->icdoff = 0;
	id->msdbd = r->q->ops->trtype == NVMF_TRTYPE_RDMA ? NVMF_RDMA_MSDBD : 1;
	id->psd[0].mp = htole16(100);		/* 1 W, in 0.01 W */
}

static void nvmf_identify_ns(struct nvmf_ns *ns, struct nvme_id_ns *id)
{
	struct nvmf_bdev *b = ns->bdev;

	id->nsze = id->ncap = id->nuse = htole64(b->nblocks);
	id->nlbaf = 0;				/* one format, 0's based */
	id->flbas = 0;
	id->nmic = 1;				/* may be shared by controllers */
	if (b->deallocate_zeroes)
		id->dlfeat = NVME_NS_DLFEAT_READ_ZEROES | NVME_NS_DLFEAT_WZ_DEALLOC;
	memcpy(id->nguid, ns->nguid, sizeof(id->nguid));
	id->lbaf[0].lbads = b->lbads;
	/* NSATTR bit 0: write protected (a read-only file), so the host
	 * marks the disk read-only instead of failing every write
	 * [NVM-1.0c Fig. 114]. */
	id->nsattr = b->read_only ? 1 : 0;
}

/* CNS 02h/07h: active NSIDs above CDW1 NSID, ascending [BASE-2.0c §5.17.2.2]. */
static void nvmf_identify_active_list(struct nvmf_subsys *s, uint32_t after, le32 *list)
{
	int n = 0;

	for (uint32_t nsid = after + 1; nsid <= NVMF_MAX_NS && n < 1024; nsid++)
		if (s->ns[nsid - 1])
			list[n++] = htole32(nsid);
}

/* CNS 03h: NGUID, UUID and CSI descriptors [BASE-2.0c Fig. 279]. */
static void nvmf_identify_desc_list(struct nvmf_ns *ns, uint8_t *buf)
{
	struct nvme_ns_id_desc *d = (void *)buf;

	d->nidt = NVME_NIDT_NGUID;
	d->nidl = 16;
	memcpy(buf + 4, ns->nguid, 16);
	d = (void *)(buf + 20);
	d->nidt = NVME_NIDT_UUID;
	d->nidl = 16;
	memcpy(buf + 24, ns->uuid, 16);
	d = (void *)(buf + 40);
	d->nidt = NVME_NIDT_CSI;
	d->nidl = 1;
	buf[44] = NVME_CSI_NVM;
}

/*
 * Identify: CDW10 CNS selects the structure, NSID and CDW11 CSI qualify
 * it [BASE-2.0c Fig. 273]. A valid but inactive NSID reads as zeroes;
 * an NSID outside 1..NN is Invalid Namespace or Format.
 */
void nvmf_identify(struct nvmf_req *r)
{
	struct nvmf_subsys *s = r->q->ctrl->subsys;
	uint8_t cns = le32toh(r->sqe.cdw10) & 0xff;
	uint8_t csi = le32toh(r->sqe.cdw11) >> 24;
	uint32_t nsid = le32toh(r->sqe.nsid);
	bool ns_cns = cns == NVME_CNS_NS || cns == NVME_CNS_NS_DESC_LIST ||
		      cns == NVME_CNS_CSI_NS || cns == NVME_CNS_NS_INDEPENDENT;
	struct nvmf_ns *ns = NULL;

	if (r->data_len < NVME_IDENTIFY_DATA_SIZE)	/* the SGL must hold it all */
		return nvmf_req_fail_at(r, NVME_SC_SGL_INVALID_DATA, offsetof(struct nvme_sqe, dptr));
	memset(r->data, 0, NVME_IDENTIFY_DATA_SIZE);
	if (s->is_disc && cns != NVME_CNS_CTRL)
		return nvmf_req_fail_at(r, NVME_SC_INVALID_FIELD, offsetof(struct nvme_sqe, cdw10));
	if (ns_cns) {
		if (nsid == 0 || nsid > NVMF_MAX_NS)
			return nvmf_req_fail_at(r, NVME_SC_INVALID_NS, offsetof(struct nvme_sqe, nsid));
		ns = nvmf_ns_get(s, nsid);
		if (!ns && cns == NVME_CNS_NS_DESC_LIST)
			return nvmf_req_fail_at(r, NVME_SC_INVALID_NS, offsetof(struct nvme_sqe, nsid));
	}
	if ((cns == NVME_CNS_CSI_NS || cns == NVME_CNS_CSI_CTRL ||
	     cns == NVME_CNS_CSI_NS_ACTIVE_LIST) && csi != NVME_CSI_NVM)
		return nvmf_req_fail_at(r, NVME_SC_INVALID_FIELD, offsetof(struct nvme_sqe, cdw11));
	if ((cns == NVME_CNS_NS_ACTIVE_LIST || cns == NVME_CNS_CSI_NS_ACTIVE_LIST) &&
	    nsid >= 0xfffffffe)
		return nvmf_req_fail_at(r, NVME_SC_INVALID_NS, offsetof(struct nvme_sqe, nsid));

	switch (cns) {
	case NVME_CNS_NS:
		if (ns)
			nvmf_identify_ns(ns, (void *)r->data);
		break;
	case NVME_CNS_CTRL:
		nvmf_identify_ctrl(r, (void *)r->data);
		break;
	case NVME_CNS_NS_ACTIVE_LIST:
	case NVME_CNS_CSI_NS_ACTIVE_LIST:
		nvmf_identify_active_list(s, nsid, (void *)r->data);
		break;
	case NVME_CNS_NS_DESC_LIST:
		nvmf_identify_desc_list(ns, r->data);
		break;
	case NVME_CNS_CSI_NS:		/* NVM: no protection info, all zero */
		break;
	case NVME_CNS_CSI_CTRL:
		((struct nvme_id_ctrl_nvm *)r->data)->dmrl = 0;	/* no extra limits */
		break;
	case NVME_CNS_NS_INDEPENDENT:
		if (ns) {
			struct nvme_id_ns_indep *ind = (void *)r->data;

			ind->nmic = 1;
			ind->nstat = 1;		/* ready */
			ind->nsattr = ns->bdev->read_only ? 1 : 0;	/* as CNS 00h */
		}
		break;
	default:
		return nvmf_req_fail_at(r, NVME_SC_INVALID_FIELD, offsetof(struct nvme_sqe, cdw10));
	}
	r->xfer_len = NVME_IDENTIFY_DATA_SIZE;
	nvmf_req_done(r, NVME_SC_SUCCESS);
}

/* ==================================================================== */
/* Log pages [BASE-2.0c §5.16]                                         */
/* ==================================================================== */

/* The fixed-size logs are built whole into this per-thread buffer, then
 * the slice the host asked for (LPOL/LPOU, NUMDL/NUMDU) is copied out.
 * The largest (Changed Namespace List, Commands Supported and Effects)
 * are 4 KiB; the discovery log, of any size, fills the host's buffer
 * directly (nvmf_log_disc). */
static _Thread_local uint8_t nvmf_log_buf[4096];
_Static_assert(NVMF_ERRLOG_ENTRIES * sizeof(struct nvme_error_log) <= sizeof(nvmf_log_buf),
	       "the error log fits the log buffer");

static size_t nvmf_log_supported(struct nvmf_ctrl *ctrl, le32 *lids)
{
	static const uint8_t io[] = { NVME_LOG_SUPPORTED, NVME_LOG_ERROR, NVME_LOG_SMART,
				      NVME_LOG_FW_SLOT, NVME_LOG_CHANGED_NS, NVME_LOG_CMD_EFFECTS };
	static const uint8_t disc[] = { NVME_LOG_SUPPORTED, NVME_LOG_DISC };
	bool d = ctrl->subsys->is_disc;

	for (size_t i = 0; i < (d ? sizeof(disc) : sizeof(io)); i++)
		lids[d ? disc[i] : io[i]] = htole32(1);	/* LSUPP */
	return 1024;
}

static size_t nvmf_log_error(struct nvmf_ctrl *ctrl, struct nvme_error_log *out)
{
	pthread_mutex_lock(&ctrl->lock);
	for (uint64_t i = 0; i < NVMF_ERRLOG_ENTRIES && i < ctrl->err_count; i++)
		out[i] = ctrl->errlog[(ctrl->err_count - 1 - i) % NVMF_ERRLOG_ENTRIES];
	pthread_mutex_unlock(&ctrl->lock);
	return NVMF_ERRLOG_ENTRIES * sizeof(*out);
}

/*
 * SMART / Health [BASE-2.0c §5.16.1.3]: for one namespace, or for all when
 * NSID is 0 or FFFFFFFFh. Data units are thousands of 512-byte units,
 * rounded up. Returns 0 or -ENOENT for an NSID we do not have.
 */
static int nvmf_log_smart(struct nvmf_ctrl *ctrl, uint32_t nsid, struct nvme_smart_log *out,
			  size_t *len)
{
	uint64_t rd = 0, wr = 0, nrd = 0, nwr = 0, hours;
	struct nvmf_subsys *s = ctrl->subsys;
	bool all = nsid == 0 || nsid == 0xffffffff;

	if (!all && !nvmf_ns_get(s, nsid))
		return -ENOENT;
	for (int i = 0; i < NVMF_MAX_NS; i++) {
		struct nvmf_ns *ns = s->ns[i];

		if (!ns || (!all && ns->nsid != nsid))
			continue;
		rd += atomic_load(&ns->bytes_read);
		wr += atomic_load(&ns->bytes_written);
		nrd += atomic_load(&ns->reads);
		nwr += atomic_load(&ns->writes);
	}
	out->temperature[0] = 0x27;		/* 295 K, little-endian */
	out->temperature[1] = 0x01;
	out->avail_spare = 100;
	out->spare_thresh = 10;
	nvmf_put_u128(out->data_units_read, (rd / 512 + 999) / 1000);
	nvmf_put_u128(out->data_units_written, (wr / 512 + 999) / 1000);
	nvmf_put_u128(out->host_reads, nrd);
	nvmf_put_u128(out->host_writes, nwr);
	nvmf_put_u128(out->power_cycles, 1);
	hours = (nvmf_now_ms() - g_start_ms) / 3600000;
	nvmf_put_u128(out->power_on_hours, hours);
	nvmf_put_u128(out->num_err_log_entries, ctrl->err_count);
	out->temp_sensor[0] = htole16(0x127);
	*len = sizeof(*out);
	return 0;
}

/* Changed Namespace List [BASE-2.0c §5.16.1.5]; read with RAE=0 it is
 * cleared and the namespace notice is unmasked. */
static size_t nvmf_log_changed_ns(struct nvmf_ctrl *ctrl, le32 *out, bool rae)
{
	pthread_mutex_lock(&ctrl->lock);
	if (ctrl->nr_changed_ns >= NVMF_CHANGED_NS_MAX)
		out[0] = htole32(0xffffffff);
	else
		for (int i = 0; i < ctrl->nr_changed_ns; i++)
			out[i] = htole32(ctrl->changed_ns[i]);
	if (!rae) {
		ctrl->nr_changed_ns = 0;
		ctrl->evt_masked &= ~NVMF_EVT_NS_CHANGED;
	}
	pthread_mutex_unlock(&ctrl->lock);
	return 4096;
}

/* Commands Supported and Effects [BASE-2.0c §5.16.1.6]. */
static size_t nvmf_log_effects(struct nvme_effects_log *out)
{
	static const uint8_t admin[] = { NVME_ADM_GET_LOG_PAGE, NVME_ADM_IDENTIFY, NVME_ADM_ABORT,
					 NVME_ADM_SET_FEATURES, NVME_ADM_GET_FEATURES,
					 NVME_ADM_ASYNC_EVENT, NVME_ADM_KEEP_ALIVE };
	for (size_t i = 0; i < sizeof(admin); i++)
		out->acs[admin[i]] = htole32(NVME_CMD_EFFECTS_CSUPP);
	out->iocs[NVME_CMD_READ] = htole32(NVME_CMD_EFFECTS_CSUPP);
	out->iocs[NVME_CMD_COMPARE] = htole32(NVME_CMD_EFFECTS_CSUPP);
	out->iocs[NVME_CMD_FLUSH] = htole32(NVME_CMD_EFFECTS_CSUPP | NVME_CMD_EFFECTS_LBCC);
	out->iocs[NVME_CMD_WRITE] = htole32(NVME_CMD_EFFECTS_CSUPP | NVME_CMD_EFFECTS_LBCC);
	out->iocs[NVME_CMD_WRITE_ZEROES] = htole32(NVME_CMD_EFFECTS_CSUPP | NVME_CMD_EFFECTS_LBCC);
	out->iocs[NVME_CMD_DSM] = htole32(NVME_CMD_EFFECTS_CSUPP | NVME_CMD_EFFECTS_LBCC);
	return sizeof(*out);
}

/*
 * Get Log Page [BASE-2.0c §5.16, Fig. 197-201]. NUMD is split over
 * CDW10/CDW11 and the offset over CDW12/CDW13, both in bytes/dwords;
 * hosts read big logs in pieces, so both halves matter.
 */
void nvmf_get_log_page(struct nvmf_req *r)
{
	struct nvmf_ctrl *ctrl = r->q->ctrl;
	uint32_t cdw10 = le32toh(r->sqe.cdw10), cdw11 = le32toh(r->sqe.cdw11);
	uint8_t lid = cdw10 & 0xff;
	bool rae = cdw10 & (1u << 15);
	uint64_t numd = ((uint64_t)(cdw11 & 0xffff) << 16 | cdw10 >> 16) + 1;
	uint64_t off = (uint64_t)le32toh(r->sqe.cdw13) << 32 | le32toh(r->sqe.cdw12);
	uint64_t len = numd * 4;
	bool disc_log = ctrl->subsys->is_disc && lid == NVME_LOG_DISC;
	uint8_t *buf = nvmf_log_buf;
	size_t size = 0;

	if (len > r->q->max_data)
		return nvmf_req_fail_at(r, NVME_SC_INVALID_FIELD, offsetof(struct nvme_sqe, cdw10));
	if (len > r->data_len)
		return nvmf_req_fail_at(r, NVME_SC_SGL_INVALID_DATA, offsetof(struct nvme_sqe, dptr));
	if (off & 3)
		return nvmf_req_fail_at(r, NVME_SC_INVALID_FIELD, offsetof(struct nvme_sqe, cdw12));
	/* Past the end of the log the host reads zeroes. */
	memset(r->data, 0, len);
	memset(buf, 0, sizeof(nvmf_log_buf));
	if (lid == NVME_LOG_SUPPORTED)
		size = nvmf_log_supported(ctrl, (void *)buf);
	else if (disc_log)
		size = nvmf_log_disc(r, r->data, off, len);	/* fills r->data itself */
	else if (ctrl->subsys->is_disc)
		size = 0;
	else if (lid == NVME_LOG_ERROR)
		size = nvmf_log_error(ctrl, (void *)buf);
	else if (lid == NVME_LOG_SMART) {
		if (nvmf_log_smart(ctrl, le32toh(r->sqe.nsid), (void *)buf, &size))
			return nvmf_req_fail_at(r, NVME_SC_INVALID_NS, offsetof(struct nvme_sqe, nsid));
	} else if (lid == NVME_LOG_FW_SLOT) {
		struct nvme_fw_slot_log *fw = (void *)buf;

		fw->afi = 1;
		nvmf_str_pad(fw->frs[0], sizeof(fw->frs[0]), NVMF_VERSION);
		size = sizeof(*fw);
	} else if (lid == NVME_LOG_CHANGED_NS)
		size = nvmf_log_changed_ns(ctrl, (void *)buf, rae);
	else if (lid == NVME_LOG_CMD_EFFECTS)
		size = nvmf_log_effects((void *)buf);
	if (size == 0)
		return nvmf_req_fail_at(r, NVME_SC_INVALID_LOG_PAGE, offsetof(struct nvme_sqe, cdw10));
	if (off > size)
		return nvmf_req_fail_at(r, NVME_SC_INVALID_FIELD, offsetof(struct nvme_sqe, cdw12));
	if (!disc_log)
		memcpy(r->data, buf + off, size - off < len ? size - off : len);
	r->xfer_len = len;
	nvmf_req_done(r, NVME_SC_SUCCESS);
}

/* ==================================================================== */
/* Features [BASE-2.0c §5.27, Fig. 317]                                */
/* ==================================================================== */

/* Which features each controller type has, and which it lets the host
 * change. Returns false for a feature this controller does not have. */
static bool nvmf_feat_known(struct nvmf_ctrl *ctrl, uint8_t fid)
{
	if (ctrl->subsys->is_disc)
		return fid == NVME_FEAT_KATO || fid == NVME_FEAT_ASYNC_EVENT;
	switch (fid) {
	case NVME_FEAT_ARBITRATION: case NVME_FEAT_POWER_MGMT: case NVME_FEAT_TEMP_THRESH:
	case NVME_FEAT_ERR_RECOVERY: case NVME_FEAT_VOLATILE_WC: case NVME_FEAT_NUM_QUEUES:
	case NVME_FEAT_WRITE_ATOMIC: case NVME_FEAT_ASYNC_EVENT: case NVME_FEAT_KATO:
	case NVME_FEAT_HOST_ID:
		return true;
	}
	return false;
}

/* The value of a feature now (current) or at reset (default). Caller
 * holds ctrl->lock. */
static uint32_t nvmf_feat_value(struct nvmf_ctrl *ctrl, uint8_t fid, uint32_t cdw11, bool dflt)
{
	uint16_t nq = g_limits.max_io_qpairs - 1;

	switch (fid) {
	case NVME_FEAT_ARBITRATION:
		return dflt ? 0 : ctrl->feat_arb;
	case NVME_FEAT_POWER_MGMT:
		return dflt ? 0 : ctrl->feat_pm;
	case NVME_FEAT_TEMP_THRESH:
		if ((cdw11 >> 20) & 3)		/* THSEL 01b: under-temperature */
			return (dflt ? 0 : ctrl->temp_under) | (cdw11 & (0x3f << 16));
		return (dflt ? 0x157 : ctrl->temp_over) | (cdw11 & (0x3f << 16));
	case NVME_FEAT_ERR_RECOVERY:
		return dflt ? 0 : ctrl->feat_err_rec;
	case NVME_FEAT_VOLATILE_WC:
		return !dflt && ctrl->wce;
	case NVME_FEAT_NUM_QUEUES:
		if (!dflt && ctrl->nr_io_queues_set)
			nq = ctrl->nr_io_queues - 1;
		return (uint32_t)nq << 16 | nq;
	case NVME_FEAT_WRITE_ATOMIC:
		return dflt ? 0 : ctrl->feat_wa;
	case NVME_FEAT_ASYNC_EVENT:
		return dflt ? 0 : ctrl->aec;
	case NVME_FEAT_KATO:
		return dflt ? 0 : ctrl->kato_ms;
	}
	return 0;
}

/*
 * Get Features: SEL picks current, default, saved (we save nothing, so
 * saved = default) or the capabilities word [BASE-2.0c Fig. 311-312].
 * Host Identifier returns the 128-bit ID from Connect as data.
 */
void nvmf_get_features(struct nvmf_req *r)
{
	struct nvmf_ctrl *ctrl = r->q->ctrl;
	uint32_t cdw10 = le32toh(r->sqe.cdw10), cdw11 = le32toh(r->sqe.cdw11);
	uint8_t fid = cdw10 & 0xff, sel = (cdw10 >> 8) & 7;
	uint32_t v;

	if (!nvmf_feat_known(ctrl, fid) || sel > NVME_FEAT_SEL_SUPPORTED)
		return nvmf_req_fail_at(r, NVME_SC_INVALID_FIELD, offsetof(struct nvme_sqe, cdw10));
	if (sel == NVME_FEAT_SEL_SUPPORTED) {
		/* bit 2 changeable, bit 1 namespace specific, bit 0 saveable */
		bool fixed = fid == NVME_FEAT_HOST_ID ||
			     (fid == NVME_FEAT_VOLATILE_WC && !nvmf_ctrl_has_vwc(ctrl));
		r->cqe.dw0 = htole32((fixed ? 0 : 4) | (fid == NVME_FEAT_ERR_RECOVERY ? 2 : 0));
		return nvmf_req_done(r, NVME_SC_SUCCESS);
	}
	if (fid == NVME_FEAT_HOST_ID) {
		if (!(cdw11 & 1))	/* EXHID: fabrics IDs are 128-bit */
			return nvmf_req_fail_at(r, NVME_SC_INVALID_FIELD, offsetof(struct nvme_sqe, cdw11));
		if (r->data_len < 16)
			return nvmf_req_fail_at(r, NVME_SC_SGL_INVALID_DATA, offsetof(struct nvme_sqe, dptr));
		memcpy(r->data, ctrl->hostid, 16);
		r->xfer_len = 16;
		return nvmf_req_done(r, NVME_SC_SUCCESS);
	}
	pthread_mutex_lock(&ctrl->lock);
	v = nvmf_feat_value(ctrl, fid, cdw11, sel != NVME_FEAT_SEL_CURRENT);
	pthread_mutex_unlock(&ctrl->lock);
	r->cqe.dw0 = htole32(v);
	nvmf_req_done(r, NVME_SC_SUCCESS);
}

/* Set one feature. Caller holds ctrl->lock. Returns a status. */
static uint16_t nvmf_feat_set(struct nvmf_ctrl *ctrl, uint8_t fid, uint32_t v, uint32_t *dw0)
{
	uint32_t nsq = v & 0xffff, ncq = v >> 16;

	switch (fid) {
	case NVME_FEAT_ARBITRATION:
		ctrl->feat_arb = v;
		return 0;
	case NVME_FEAT_POWER_MGMT:	/* one power state: PS must be 0 */
		if (v & 0x1f)
			return NVME_SC_INVALID_FIELD;
		ctrl->feat_pm = v & 0xff;
		return 0;
	case NVME_FEAT_TEMP_THRESH: {
		uint32_t tmpsel = (v >> 16) & 0xf, thsel = (v >> 20) & 3;

		if ((tmpsel != 0 && tmpsel != 0xf) || thsel > 1)
			return NVME_SC_INVALID_FIELD;
		*(thsel ? &ctrl->temp_under : &ctrl->temp_over) = v & 0xffff;
		return 0;
	}
	case NVME_FEAT_ERR_RECOVERY:	/* DULBE needs deallocated-block errors */
		if (v & (1u << 16))
			return NVME_SC_INVALID_FIELD;
		ctrl->feat_err_rec = v & 0xffff;
		return 0;
	case NVME_FEAT_VOLATILE_WC:
		if ((v & 1) && !nvmf_ctrl_has_vwc(ctrl))
			return NVME_SC_INVALID_FIELD;
		ctrl->wce = v & 1;
		return 0;
	case NVME_FEAT_NUM_QUEUES:
		if (nsq == 0xffff || ncq == 0xffff)
			return NVME_SC_INVALID_FIELD;
		for (int i = 1; i <= NVMF_MAX_IO_QUEUES; i++)
			if (ctrl->queues[i])
				return NVME_SC_CMD_SEQ_ERROR;
		nsq = (nsq > ncq ? nsq : ncq) + 1;
		ctrl->nr_io_queues = nsq < g_limits.max_io_qpairs ? nsq : g_limits.max_io_qpairs;
		ctrl->nr_io_queues_set = true;
		*dw0 = (uint32_t)(ctrl->nr_io_queues - 1) << 16 | (ctrl->nr_io_queues - 1);
		return 0;
	case NVME_FEAT_WRITE_ATOMIC:
		ctrl->feat_wa = v & 1;
		return 0;
	case NVME_FEAT_ASYNC_EVENT:
		ctrl->aec = v & (ctrl->subsys->is_disc ? NVME_CTRL_OAES_DISC_CHANGE
						       : NVME_CTRL_OAES_NS_ATTR);
		return 0;
	case NVME_FEAT_KATO:
		ctrl->kato_ms = v;
		return 0;
	case NVME_FEAT_HOST_ID:		/* set once, by Connect [BASE-2.0c §5.27.1.25] */
		return NVME_SC_CMD_SEQ_ERROR;
	}
	return NVME_SC_INVALID_FIELD;
}

void nvmf_set_features(struct nvmf_req *r)
{
	struct nvmf_ctrl *ctrl = r->q->ctrl;
	uint32_t cdw10 = le32toh(r->sqe.cdw10), dw0 = 0;
	uint8_t fid = cdw10 & 0xff;
	uint16_t status;

	if (!nvmf_feat_known(ctrl, fid))
		return nvmf_req_fail_at(r, NVME_SC_INVALID_FIELD, offsetof(struct nvme_sqe, cdw10));
	if (cdw10 & (1u << 31))		/* SV: nothing here is saveable */
		return nvmf_req_fail_at(r, NVME_SC_FEAT_NOT_SAVEABLE, offsetof(struct nvme_sqe, cdw10));
	pthread_mutex_lock(&ctrl->lock);
	status = nvmf_feat_set(ctrl, fid, le32toh(r->sqe.cdw11), &dw0);
	pthread_mutex_unlock(&ctrl->lock);
	if (status)
		return nvmf_req_fail_at(r, status, offsetof(struct nvme_sqe, cdw11));
	r->cqe.dw0 = htole32(dw0);
	nvmf_req_done(r, NVME_SC_SUCCESS);
}
