/*
 * trace.c - what --trace says about a command and its completion: one SQE
 * or one CQE turned into a line a reader can hold next to the spec.
 *
 * Pure functions: they read the entry (and a Connect's data) and write
 * text into the caller's buffer; no I/O, no state. The target prints their
 * lines where a command arrives and where it completes (nvmf.c), the host
 * where it sends one and where its completion comes back (host_queue.c), so
 * both ends of a connection describe the same command in the same words:
 *
 *   cmd  qid=0 cid=2 PropertySet CC size=4 value=0x460001 EN=1 CSS=0 MPS=0 ...
 *   done qid=0 cid=2 PropertySet status=0x000 (Success)
 *   cmd  qid=0 cid=3 PropertyGet CSTS size=4
 *   done qid=0 cid=3 PropertyGet status=0x000 (Success) CSTS value=0x1 RDY=1 ...
 *
 * The first fields are the queue and the command identifier, then the
 * command by name, then its fields under the spec's names, decoded by what
 * the command is: a Fabrics command by FCTYPE (its bytes 4-7 are not an
 * NSID), Identify by CNS, Get Log Page by LID, features by FID, I/O by
 * SLBA and block count. A completion gives its status by name and decodes
 * DW0 where the command gives it a meaning.
 *
 * Sections, in order (the entry points come last because C wants each
 * static decoder defined before its caller; read section 8 first):
 *   1. Helpers: the line buffer
 *   2. Names: opcodes, CNS, LID, FID, status codes, NVMe/TCP PDU types
 *   3. Properties split into fields        [BASE-2.0c §3.1.4]
 *   4. Fabrics commands: Connect, Property Get/Set, authentication,
 *      Disconnect                          [BASE-2.0c §6]
 *   5. Admin commands: Identify, Get Log Page, features, Abort
 *                                          [BASE-2.0c §5]
 *   6. I/O commands                        [NVM-1.0c §3]
 *   7. Completions: what DW0 means         [BASE-2.0c §4.6]
 *   8. Entry points: trace_cmd, trace_cqe, trace_pdu (an NVMe/TCP PDU,
 *      for tcp.c and the host), trace_status_name
 *
 * Tutorial chapter 04 reads a controller's bring-up in this trace.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nvmf.h"

/* ==================================================================== */
/* 1. Helpers: the line buffer                                         */
/* ==================================================================== */

/* A line being built: text so far in p[0..pos), never past len - 1. */
struct trace_line {
	char *p;
	size_t len, pos;
};

/* Append to the line; what does not fit is cut off, the line stays a
 * string. */
static void __attribute__((format(printf, 2, 3)))
trace_put(struct trace_line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->pos + 1 >= l->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->p + l->pos, l->len - l->pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->pos = l->pos + n < l->len ? l->pos + n : l->len - 1;
}

/* NSID; FFFFFFFFh, the broadcast value (every namespace), in hex. */
static void trace_put_nsid(struct trace_line *l, uint32_t nsid)
{
	trace_put(l, nsid == 0xffffffff ? " nsid=0x%x" : " nsid=%u", nsid);
}

/* ==================================================================== */
/* 2. Names (and NVMe/TCP PDU types)                                  */
/* ==================================================================== */

/*
 * A command's name: Fabrics by FCTYPE [BASE-2.0c Fig. 542], admin by
 * opcode [BASE-2.0c §5] on queue 0, I/O by opcode [NVM-1.0c Fig. 18]
 * on the others.
 */
const char *trace_opcode_name(const struct nvme_sqe *sqe, uint16_t qid)
{
	static const char *const fabrics[9] = {
		[NVMF_FCTYPE_PROP_SET] = "PropertySet", [NVMF_FCTYPE_CONNECT] = "Connect",
		[NVMF_FCTYPE_PROP_GET] = "PropertyGet", [NVMF_FCTYPE_AUTH_SEND] = "AuthSend",
		[NVMF_FCTYPE_AUTH_RECV] = "AuthRecv", [NVMF_FCTYPE_DISCONNECT] = "Disconnect",
	};
	static const char *const admin[0x19] = {
		[NVME_ADM_DELETE_SQ] = "DeleteSQ", [NVME_ADM_CREATE_SQ] = "CreateSQ",
		[NVME_ADM_GET_LOG_PAGE] = "GetLogPage", [NVME_ADM_DELETE_CQ] = "DeleteCQ",
		[NVME_ADM_CREATE_CQ] = "CreateCQ", [NVME_ADM_IDENTIFY] = "Identify",
		[NVME_ADM_ABORT] = "Abort", [NVME_ADM_SET_FEATURES] = "SetFeatures",
		[NVME_ADM_GET_FEATURES] = "GetFeatures", [NVME_ADM_ASYNC_EVENT] = "AsyncEventRequest",
		[NVME_ADM_KEEP_ALIVE] = "KeepAlive",
	};
	static const char *const io[0x0a] = {
		[NVME_CMD_FLUSH] = "Flush", [NVME_CMD_WRITE] = "Write", [NVME_CMD_READ] = "Read",
		[NVME_CMD_COMPARE] = "Compare", [NVME_CMD_WRITE_ZEROES] = "WriteZeroes",
		[NVME_CMD_DSM] = "DatasetMgmt",
	};
	uint8_t fctype = ((const struct nvmf_fabrics_cmd *)sqe)->fctype, opc = sqe->opcode;

	if (opc == NVME_FABRICS_OPCODE)
		return fctype < ARRAY_SIZE(fabrics) && fabrics[fctype] ? fabrics[fctype] : "Fabrics?";
	if (qid == 0)
		return opc < ARRAY_SIZE(admin) && admin[opc] ? admin[opc] : "Admin?";
	return opc < ARRAY_SIZE(io) && io[opc] ? io[opc] : "IO?";
}

/* Identify's data structures by CNS [BASE-2.0c Fig. 273]. */
static const char *trace_cns_name(uint8_t cns)
{
	static const char *const names[] = {
		[NVME_CNS_NS] = "Namespace", [NVME_CNS_CTRL] = "Controller",
		[NVME_CNS_NS_ACTIVE_LIST] = "ActiveNamespaceList",
		[NVME_CNS_NS_DESC_LIST] = "NamespaceDescriptors",
		[NVME_CNS_CSI_NS] = "CSINamespace", [NVME_CNS_CSI_CTRL] = "CSIController",
		[NVME_CNS_CSI_NS_ACTIVE_LIST] = "CSIActiveNamespaceList",
		[NVME_CNS_NS_INDEPENDENT] = "IndependentNamespace",
	};

	return cns < ARRAY_SIZE(names) && names[cns] ? names[cns] : "CNS?";
}

/* Log pages by LID [BASE-2.0c §5.16]. */
static const char *trace_lid_name(uint8_t lid)
{
	static const char *const names[] = {
		[NVME_LOG_SUPPORTED] = "SupportedLogPages", [NVME_LOG_ERROR] = "ErrorInformation",
		[NVME_LOG_SMART] = "SMART", [NVME_LOG_FW_SLOT] = "FirmwareSlot",
		[NVME_LOG_CHANGED_NS] = "ChangedNamespaces", [NVME_LOG_CMD_EFFECTS] = "CommandEffects",
		[0x06] = "DeviceSelfTest", [0x0c] = "ANA",
	};

	if (lid == NVME_LOG_DISC)
		return "Discovery";
	return lid < ARRAY_SIZE(names) && names[lid] ? names[lid] : "LID?";
}

/* Features by FID [BASE-2.0c Fig. 317]. */
static const char *trace_fid_name(uint8_t fid)
{
	static const char *const names[] = {
		[NVME_FEAT_ARBITRATION] = "Arbitration", [NVME_FEAT_POWER_MGMT] = "PowerManagement",
		[NVME_FEAT_TEMP_THRESH] = "TemperatureThreshold",
		[NVME_FEAT_ERR_RECOVERY] = "ErrorRecovery", [NVME_FEAT_VOLATILE_WC] = "VolatileWriteCache",
		[NVME_FEAT_NUM_QUEUES] = "NumberOfQueues", [0x08] = "InterruptCoalescing",
		[0x09] = "InterruptVectorConfig", [NVME_FEAT_WRITE_ATOMIC] = "WriteAtomicity",
		[NVME_FEAT_ASYNC_EVENT] = "AsyncEventConfig", [NVME_FEAT_KATO] = "KeepAliveTimer",
	};

	if (fid == NVME_FEAT_HOST_ID)
		return "HostIdentifier";
	return fid < ARRAY_SIZE(names) && names[fid] ? names[fid] : "FID?";
}

/*
 * Command specific status (SCT 1) [BASE-2.0c Fig. 95, Fig. 584; NVM-1.0c
 * Fig. 60]: below 80h one table for every command; from 80h up Connect's
 * own codes on a Connect, the NVM command set's on an I/O queue.
 */
static const char *trace_status_sct1(uint8_t sc, const struct nvme_sqe *sqe, uint16_t qid)
{
	static const char *const cmd[0x12] = {
		[0x01] = "Invalid Queue Identifier", [0x02] = "Invalid Queue Size",
		[0x05] = "Asynchronous Event Request Limit Exceeded",
		[0x09] = "Invalid Log Page", [0x0d] = "Feature Identifier Not Saveable",
		[0x0e] = "Feature Not Changeable", [0x0f] = "Feature Not Namespace Specific",
	};
	static const char *const connect[5] = {
		"Connect Incompatible Format", "Connect Controller Busy",
		"Connect Invalid Parameters", "Connect Restart Discovery", "Connect Invalid Host",
	};
	static const char *const nvm[3] = {
		"Conflicting Attributes", "Invalid Protection Information",
		"Attempted Write to Read Only Range",
	};
	const struct nvmf_fabrics_cmd *f = (const void *)sqe;
	bool is_connect = sqe->opcode == NVME_FABRICS_OPCODE && f->fctype == NVMF_FCTYPE_CONNECT;

	if (sc < ARRAY_SIZE(cmd) && cmd[sc])
		return cmd[sc];
	if (sc == 0x91)
		return "Authentication Required";
	if (is_connect && sc >= 0x80 && sc - 0x80 < (int)ARRAY_SIZE(connect))
		return connect[sc - 0x80];
	if (!is_connect && qid && sc >= 0x80 && sc - 0x80 < (int)ARRAY_SIZE(nvm))
		return nvm[sc - 0x80];
	return "Command Specific Status";
}

/* An NVMe/TCP PDU type's name [TCP-1.0c Fig. 21]. */
const char *trace_pdu_name(uint8_t type)
{
	static const char *const names[] = {
		"ICReq", "ICResp", "H2CTermReq", "C2HTermReq", "CapsuleCmd",
		"CapsuleResp", "H2CData", "C2HData", "type8", "R2T",
	};
	return type < ARRAY_SIZE(names) ? names[type] : "unknown";
}

/* ==================================================================== */
/* 3. Properties split into fields [BASE-2.0c §3.1.4]                  */
/* ==================================================================== */

/* One field of a property: its name, lowest bit and width in bits, and
 * whether it is a bit set (printed in hex) rather than a number. */
struct trace_field {
	const char *name;
	uint8_t lo, bits;
	bool hex;
};

/* CAP [BASE-2.0c Fig. 36]: MQES is 0's based, TO in 500 ms units, CSS a
 * bit set of command sets, MPSMIN/MPSMAX as 2^(12 + n) bytes. */
static const struct trace_field trace_cap[] = {
	{ "MQES", 0, 16, false }, { "CQR", 16, 1, false }, { "AMS", 17, 2, false },
	{ "TO", 24, 8, false }, { "DSTRD", 32, 4, false }, { "NSSRS", 36, 1, false },
	{ "CSS", 37, 8, true }, { "BPS", 45, 1, false }, { "MPSMIN", 48, 4, false },
	{ "MPSMAX", 52, 4, false },
};
/* VS [BASE-2.0c §3.1.4]: major, minor, tertiary version. */
static const struct trace_field trace_vs[] = {
	{ "MJR", 16, 16, false }, { "MNR", 8, 8, false }, { "TER", 0, 8, false },
};
/* CC [BASE-2.0c §3.1.4]: IOSQES and IOCQES are log2 of the entry sizes
 * (6: 64-byte SQEs, 4: 16-byte CQEs); SHN 01b asks for a normal shutdown. */
static const struct trace_field trace_cc[] = {
	{ "EN", 0, 1, false }, { "CSS", 4, 3, false }, { "MPS", 7, 4, false },
	{ "AMS", 11, 3, false }, { "SHN", 14, 2, false }, { "IOSQES", 16, 4, false },
	{ "IOCQES", 20, 4, false },
};
/* CSTS [BASE-2.0c §3.1.4]: SHST 10b is "shutdown complete". */
static const struct trace_field trace_csts[] = {
	{ "RDY", 0, 1, false }, { "CFS", 1, 1, false }, { "SHST", 2, 2, false },
	{ "NSSRO", 4, 1, false }, { "PP", 5, 1, false },
};

/* The properties a Fabrics controller has [BASE-2.0c §3.1.4, Fig. 35];
 * the rest of the PCIe register map (interrupts, AQA/ASQ/ACQ, CMB) does
 * not exist over Fabrics. */
static const struct {
	uint32_t ofst;
	const char *name;
	const struct trace_field *fields;
	size_t nfields;
} trace_props[] = {
	{ NVME_REG_CAP, "CAP", trace_cap, ARRAY_SIZE(trace_cap) },
	{ NVME_REG_VS, "VS", trace_vs, ARRAY_SIZE(trace_vs) },
	{ NVME_REG_CC, "CC", trace_cc, ARRAY_SIZE(trace_cc) },
	{ NVME_REG_CSTS, "CSTS", trace_csts, ARRAY_SIZE(trace_csts) },
	{ NVME_REG_NSSR, "NSSR", NULL, 0 },	/* write "NVMe" (4E564D65h) to reset */
};

/* "CC", or NULL for an offset that names no Fabrics property. */
static const char *trace_prop_name(uint32_t ofst)
{
	for (size_t i = 0; i < ARRAY_SIZE(trace_props); i++)
		if (trace_props[i].ofst == ofst)
			return trace_props[i].name;
	return NULL;
}

/* Append " CC", or " 0x30" for an offset that names no property. */
static void trace_put_prop_name(struct trace_line *l, uint32_t ofst)
{
	const char *name = trace_prop_name(ofst);

	if (name)
		trace_put(l, " %s", name);
	else
		trace_put(l, " 0x%x", ofst);
}

/* Append "value=0x460001 EN=1 CSS=0 ..." for the property at ofst. */
static void trace_put_prop(struct trace_line *l, uint32_t ofst, uint64_t value)
{
	trace_put(l, "value=0x%llx", (unsigned long long)value);
	for (size_t i = 0; i < ARRAY_SIZE(trace_props); i++) {
		if (trace_props[i].ofst != ofst)
			continue;
		for (size_t f = 0; f < trace_props[i].nfields; f++) {
			const struct trace_field *t = &trace_props[i].fields[f];
			unsigned long long v = (value >> t->lo) & ((1ull << t->bits) - 1);

			trace_put(l, t->hex ? " %s=0x%llx" : " %s=%llu", t->name, v);
		}
	}
}

/* ==================================================================== */
/* 4. Fabrics commands [BASE-2.0c §6]                                  */
/* ==================================================================== */

/*
 * Connect [BASE-2.0c §6.3, Fig. 546-547]: the queue it creates, its size
 * (0's based), SQ flow control in CATTR, the keep-alive timeout and, from
 * the data when it came with the command, which controller, subsystem and
 * host. The NQN fields are NUL terminated within their 256 bytes.
 */
static void trace_connect(struct trace_line *l, const struct nvmf_connect_cmd *c,
			  const struct nvmf_connect_data *d, uint32_t data_len)
{
	trace_put(l, " qid=%u sqsize=%u cattr=0x%x kato=%u", le16toh(c->qid), le16toh(c->sqsize),
		  c->cattr, le32toh(c->kato));
	if (!d || data_len < sizeof(*d))
		return;
	trace_put(l, " cntlid=0x%04x subnqn=%.*s hostnqn=%.*s", le16toh(d->cntlid),
		  (int)strnlen(d->subnqn, sizeof(d->subnqn)), d->subnqn,
		  (int)strnlen(d->hostnqn, sizeof(d->hostnqn)), d->hostnqn);
}

/*
 * Property Get and Set [BASE-2.0c §6.5-6.6, Fig. 554, 557]: ATTRIB bits
 * 2:0 give the size (0: 4 bytes, 1: 8 bytes), OFST which property. A Set
 * carries the value; a Get's value comes back in the completion.
 */
static void trace_prop_cmd(struct trace_line *l, const struct nvmf_prop_cmd *p)
{
	uint32_t ofst = le32toh(p->ofst);
	unsigned size = (p->attrib & 7) == 1 ? 8 : 4;

	trace_put_prop_name(l, ofst);
	trace_put(l, " size=%u", size);
	if (p->fctype != NVMF_FCTYPE_PROP_SET)
		return;
	trace_put(l, " ");
	trace_put_prop(l, ofst, le64toh(p->value));
}

/*
 * The Fabrics command type in byte 4 [BASE-2.0c Fig. 541-542] says how to
 * read bytes 40-63. Authentication Send/Receive [BASE-2.0c §6.1-6.2]: the
 * protocol (SECP E9h, SPSP 0101h) and the message length; Disconnect
 * [BASE-2.0c §6.4] carries only RECFMT.
 */
static void trace_fabrics_cmd(struct trace_line *l, const struct nvme_sqe *sqe,
			      const void *data, uint32_t data_len)
{
	const struct nvmf_fabrics_cmd *f = (const void *)sqe;
	const struct nvmf_auth_cmd *a = (const void *)sqe;

	switch (f->fctype) {
	case NVMF_FCTYPE_CONNECT:
		trace_connect(l, (const void *)sqe, data, data_len);
		break;
	case NVMF_FCTYPE_PROP_GET:
	case NVMF_FCTYPE_PROP_SET:
		trace_prop_cmd(l, (const void *)sqe);
		break;
	case NVMF_FCTYPE_AUTH_SEND:
	case NVMF_FCTYPE_AUTH_RECV:
		trace_put(l, " secp=0x%02x spsp=0x%02x%02x %s=%u", a->secp, a->spsp1, a->spsp0,
			  f->fctype == NVMF_FCTYPE_AUTH_SEND ? "tl" : "al", le32toh(a->tl));
		break;
	case NVMF_FCTYPE_DISCONNECT:
		trace_put(l, " recfmt=%u", le16toh(((const struct nvmf_connect_cmd *)sqe)->recfmt));
		break;
	default:
		trace_put(l, " fctype=0x%02x", f->fctype);
	}
}

/* ==================================================================== */
/* 5. Admin commands [BASE-2.0c §5]                                    */
/* ==================================================================== */

/* Identify [BASE-2.0c §5.17, Fig. 273]: CNS in CDW10 7:0 chooses the data
 * structure, CNTID in 31:16, CSI in CDW11 31:24. */
static void trace_identify(struct trace_line *l, const struct nvme_sqe *sqe)
{
	uint32_t cdw10 = le32toh(sqe->cdw10);
	uint8_t cns = cdw10 & 0xff, csi = le32toh(sqe->cdw11) >> 24;

	trace_put(l, " %s cns=0x%02x", trace_cns_name(cns), cns);
	trace_put_nsid(l, le32toh(sqe->nsid));
	if (cdw10 >> 16)
		trace_put(l, " cntid=%u", cdw10 >> 16);
	if (csi)
		trace_put(l, " csi=%u", csi);
}

/*
 * Get Log Page [BASE-2.0c §5.16, Fig. 197-201]: LID in CDW10 7:0, RAE bit
 * 15, the 0's based dword count NUMD split over CDW10 31:16 (low) and
 * CDW11 15:0 (high), the byte offset LPO over CDW12-13.
 */
static void trace_get_log(struct trace_line *l, const struct nvme_sqe *sqe)
{
	uint32_t cdw10 = le32toh(sqe->cdw10), cdw11 = le32toh(sqe->cdw11);
	uint32_t numd = (cdw10 >> 16) | (cdw11 & 0xffff) << 16;
	uint64_t lpo = le32toh(sqe->cdw12) | (uint64_t)le32toh(sqe->cdw13) << 32;
	uint8_t lid = cdw10 & 0xff;

	trace_put(l, " %s lid=0x%02x", trace_lid_name(lid), lid);
	trace_put_nsid(l, le32toh(sqe->nsid));
	trace_put(l, " numd=%u (%llu bytes) lpo=%llu%s", numd, ((unsigned long long)numd + 1) * 4,
		  (unsigned long long)lpo, cdw10 & (1u << 15) ? " rae=1" : "");
}

/*
 * A feature's value by FID [BASE-2.0c §5.27]: Number of Queues holds two
 * 0's based counts (NSQR 15:0, NCQR 31:16; in a completion NSQA/NCQA),
 * Keep Alive Timer milliseconds, Volatile Write Cache WCE in bit 0.
 */
static void trace_feature_value(struct trace_line *l, uint8_t fid, uint32_t v, bool reply)
{
	trace_put(l, " value=0x%x", v);
	if (fid == NVME_FEAT_NUM_QUEUES)
		trace_put(l, reply ? " NSQA=%u NCQA=%u" : " NSQR=%u NCQR=%u", v & 0xffff, v >> 16);
	else if (fid == NVME_FEAT_KATO)
		trace_put(l, " KATO=%u ms", v);
	else if (fid == NVME_FEAT_VOLATILE_WC)
		trace_put(l, " WCE=%u", v & 1);
}

/* Set and Get Features [BASE-2.0c §5.27, Fig. 317]: FID in CDW10 7:0, SV
 * (save) in bit 31 of a Set, SEL (which value to read) in 10:8 of a Get;
 * a Set's value is in CDW11. */
static void trace_features(struct trace_line *l, const struct nvme_sqe *sqe)
{
	static const char *const sel[4] = { "current", "default", "saved", "supported" };
	uint32_t cdw10 = le32toh(sqe->cdw10);
	uint8_t fid = cdw10 & 0xff;

	trace_put(l, " %s fid=0x%02x", trace_fid_name(fid), fid);
	if (sqe->opcode == NVME_ADM_GET_FEATURES) {
		trace_put(l, " sel=%s", (cdw10 >> 8 & 7) < 4 ? sel[cdw10 >> 8 & 7] : "reserved");
		return;
	}
	if (cdw10 >> 31)
		trace_put(l, " sv=1");
	trace_feature_value(l, fid, le32toh(sqe->cdw11), false);
}

/* The admin commands a Fabrics controller takes; Keep Alive and
 * Asynchronous Event Request have no fields, anything else shows its
 * NSID and first command dwords. */
static void trace_admin_cmd(struct trace_line *l, const struct nvme_sqe *sqe)
{
	uint32_t cdw10 = le32toh(sqe->cdw10);

	switch (sqe->opcode) {
	case NVME_ADM_IDENTIFY:
		return trace_identify(l, sqe);
	case NVME_ADM_GET_LOG_PAGE:
		return trace_get_log(l, sqe);
	case NVME_ADM_SET_FEATURES:
	case NVME_ADM_GET_FEATURES:
		return trace_features(l, sqe);
	case NVME_ADM_ABORT:		/* [BASE-2.0c §5.1]: SQID 15:0, CID 31:16 */
		trace_put(l, " sqid=%u cid=%u", cdw10 & 0xffff, cdw10 >> 16);
		return;
	case NVME_ADM_KEEP_ALIVE:
	case NVME_ADM_ASYNC_EVENT:
		return;
	}
	trace_put_nsid(l, le32toh(sqe->nsid));
	trace_put(l, " cdw10=0x%x cdw11=0x%x", cdw10, le32toh(sqe->cdw11));
}

/* ==================================================================== */
/* 6. I/O commands [NVM-1.0c §3]                                       */
/* ==================================================================== */

/*
 * Read, Write, Compare, Write Zeroes: SLBA in CDW10-11, NLB in CDW12 15:0
 * [NVM-1.0c Fig. 37]. NLB is 0's based; the trace prints the count of
 * blocks (NLB + 1) as blocks=, so the number reads as what moves. Dataset
 * Management: NR in CDW10 7:0 (0's based), AD in CDW11 bit 2.
 */
static void trace_io_cmd(struct trace_line *l, const struct nvme_sqe *sqe)
{
	uint32_t cdw12 = le32toh(sqe->cdw12);
	uint64_t slba = le32toh(sqe->cdw10) | (uint64_t)le32toh(sqe->cdw11) << 32;

	trace_put_nsid(l, le32toh(sqe->nsid));
	switch (sqe->opcode) {
	case NVME_CMD_READ:
	case NVME_CMD_WRITE:
	case NVME_CMD_COMPARE:
	case NVME_CMD_WRITE_ZEROES:
		trace_put(l, " slba=%llu blocks=%u%s", (unsigned long long)slba,
			  (cdw12 & NVME_RW_NLB_MASK) + 1, cdw12 & NVME_RW_FUA ? " FUA" : "");
		break;
	case NVME_CMD_DSM:
		trace_put(l, " ranges=%u%s", (le32toh(sqe->cdw10) & 0xff) + 1,
			  le32toh(sqe->cdw11) & NVME_DSM_AD ? " AD" : "");
		break;
	}
}

/* ==================================================================== */
/* 7. Completions: what DW0 means [BASE-2.0c §4.6]                     */
/* ==================================================================== */

/*
 * DW0 by command: Connect's CNTLID (15:0) and AUTHREQ (ATR bit 17), or on
 * Connect Invalid Parameters the IPO/IATTR that point at the bad field
 * [BASE-2.0c Fig. 549]; Property Get's value (DW1:DW0 for 8 bytes
 * [BASE-2.0c §6.5]); a feature's value; an asynchronous event's type,
 * information and log page [BASE-2.0c Fig. 151]. Other commands leave DW0
 * without meaning, and it is not printed.
 */
static void trace_dw0(struct trace_line *l, const struct nvme_sqe *sqe,
		      const struct nvme_cqe *cqe, uint16_t qid)
{
	const struct nvmf_fabrics_cmd *f = (const void *)sqe;
	uint32_t dw0 = le32toh(cqe->dw0);
	uint16_t status = (le16toh(cqe->status) >> 1) & 0x7ff;

	if (sqe->opcode == NVME_FABRICS_OPCODE && f->fctype == NVMF_FCTYPE_CONNECT) {
		if (status == NVME_SC_CONNECT_INVALID_PARAM)
			trace_put(l, " ipo=%u iattr=%s", dw0 & 0xffff,
				  (dw0 >> 16) & NVMF_CONNECT_IATTR_DATA ? "data" : "sqe");
		else if (status == NVME_SC_SUCCESS)
			trace_put(l, " cntlid=%u%s", dw0 & 0xffff,
				  dw0 & NVMF_CONNECT_AUTHREQ_ATR ? " authreq=ATR" : "");
		return;
	}
	if (status != NVME_SC_SUCCESS)
		return;
	if (sqe->opcode == NVME_FABRICS_OPCODE && f->fctype == NVMF_FCTYPE_PROP_GET) {
		const struct nvmf_prop_cmd *p = (const void *)sqe;
		uint64_t v = dw0;

		if ((p->attrib & 7) == 1)
			v |= (uint64_t)le32toh(cqe->dw1) << 32;
		trace_put_prop_name(l, le32toh(p->ofst));
		trace_put(l, " ");
		trace_put_prop(l, le32toh(p->ofst), v);
	} else if (qid == 0 && (sqe->opcode == NVME_ADM_GET_FEATURES ||
				(sqe->opcode == NVME_ADM_SET_FEATURES &&
				 (le32toh(sqe->cdw10) & 0xff) == NVME_FEAT_NUM_QUEUES))) {
		trace_feature_value(l, le32toh(sqe->cdw10) & 0xff, dw0, true);
	} else if (qid == 0 && sqe->opcode == NVME_ADM_ASYNC_EVENT) {
		trace_put(l, " type=%u info=0x%02x lid=0x%02x", dw0 & 7, (dw0 >> 8) & 0xff,
			  (dw0 >> 16) & 0xff);
	}
}

/* ==================================================================== */
/* 8. Entry points                                                     */
/* ==================================================================== */

/*
 * The queue a command travels on. A Connect travels on the queue it
 * creates [BASE-2.0c §6.3], so its QID names that queue even while the
 * target still knows the connection as an unnamed queue (qid 0).
 */
static uint16_t trace_qid(const struct nvme_sqe *sqe, uint16_t qid)
{
	const struct nvmf_connect_cmd *c = (const void *)sqe;

	if (sqe->opcode == NVME_FABRICS_OPCODE && c->fctype == NVMF_FCTYPE_CONNECT)
		return le16toh(c->qid);
	return qid;
}

/*
 * A command, as "qid=Q cid=C Name fields...", into buf (len bytes, at
 * least 1). qid is the queue it travels on: it decides whether an opcode
 * is an admin or an I/O command. data is the command's data if it is at
 * hand (a Connect's NQNs), else NULL. Returns buf.
 */
const char *trace_cmd(char *buf, size_t len, const struct nvme_sqe *sqe, uint16_t qid,
		      const void *data, uint32_t data_len)
{
	struct trace_line l = { buf, len, 0 };

	buf[0] = 0;
	qid = trace_qid(sqe, qid);
	trace_put(&l, "qid=%u cid=%u %s", qid, le16toh(sqe->cid), trace_opcode_name(sqe, qid));
	if (sqe->opcode == NVME_FABRICS_OPCODE)
		trace_fabrics_cmd(&l, sqe, data, data_len);
	else if (qid == 0)
		trace_admin_cmd(&l, sqe);
	else
		trace_io_cmd(&l, sqe);
	return buf;
}

/*
 * A completion of the command sqe, as "qid=Q cid=C Name status=0xSSS
 * (Name) [DNR] dw0 fields" [BASE-2.0c §4.6, Fig. 92-93]. The SQE is needed
 * because DW0 means what the command says it means. Returns buf.
 */
const char *trace_cqe(char *buf, size_t len, const struct nvme_sqe *sqe,
		      const struct nvme_cqe *cqe, uint16_t qid)
{
	struct trace_line l = { buf, len, 0 };
	uint16_t status = le16toh(cqe->status) >> 1;	/* bit 0 is the phase tag */

	buf[0] = 0;
	qid = trace_qid(sqe, qid);
	trace_put(&l, "qid=%u cid=%u %s status=0x%03x (%s)%s", qid, le16toh(cqe->cid),
		  trace_opcode_name(sqe, qid), status & 0x7ff, trace_status_name(status, sqe, qid),
		  status & NVME_STATUS_DNR ? " DNR" : "");
	trace_dw0(&l, sqe, cqe, qid);
	return buf;
}

/*
 * An NVMe/TCP PDU, as "Name hlen= pdo= plen= flags=" and the fields that
 * tell it apart: the command or CQE it carries, a data PDU's offset and
 * length, an R2T's range, a TermReq's FES [TCP-1.0c §3.6.2]. psh is the
 * whole PDU header. Returns buf.
 */
const char *trace_pdu(char *buf, size_t len, const struct nvme_tcp_hdr *h, const void *psh)
{
	const struct nvme_tcp_data *d = psh;
	const struct nvme_tcp_r2t *r2t = psh;
	const struct nvme_tcp_rsp *rsp = psh;
	const struct nvme_tcp_cmd *cmd = psh;
	const struct nvme_tcp_term *t = psh;
	struct trace_line l = { buf, len, 0 };

	buf[0] = 0;
	trace_put(&l, "%-11s hlen=%u pdo=%u plen=%u flags=0x%x", trace_pdu_name(h->type),
		  h->hlen, h->pdo, le32toh(h->plen), h->flags);
	switch (h->type) {
	case NVME_TCP_CMD:
		trace_put(&l, " cid=%u opc=0x%02x", le16toh(cmd->sqe.cid), cmd->sqe.opcode);
		break;
	case NVME_TCP_RSP:
		trace_put(&l, " cid=%u status=0x%x", le16toh(rsp->cqe.cid),
			  le16toh(rsp->cqe.status) >> 1);
		break;
	case NVME_TCP_H2C_DATA:
	case NVME_TCP_C2H_DATA:
		trace_put(&l, " cccid=%u ttag=%u datao=%u datal=%u%s%s",
			  le16toh(d->cccid), le16toh(d->ttag), le32toh(d->datao),
			  le32toh(d->datal), h->flags & NVME_TCP_F_DATA_LAST ? " LAST" : "",
			  h->flags & NVME_TCP_F_DATA_SUCCESS ? " SUCCESS" : "");
		break;
	case NVME_TCP_R2T:
		trace_put(&l, " cccid=%u ttag=%u r2to=%u r2tl=%u", le16toh(r2t->cccid),
			  le16toh(r2t->ttag), le32toh(r2t->r2to), le32toh(r2t->r2tl));
		break;
	case NVME_TCP_H2C_TERM:
	case NVME_TCP_C2H_TERM:
		trace_put(&l, " fes=%u", le16toh(t->fes));
		break;
	}
	return buf;
}

/*
 * The name of a Status Field (host order, no phase tag) [BASE-2.0c Fig.
 * 93-95, Fig. 584; NVM-1.0c Fig. 60]. Command specific codes from 80h up
 * mean different things for Connect and for I/O commands, so the command
 * decides which table applies.
 */
const char *trace_status_name(uint16_t status, const struct nvme_sqe *sqe, uint16_t qid)
{
	static const char *const generic[0x23] = {
		[0x00] = "Success", [0x01] = "Invalid Command Opcode",
		[0x02] = "Invalid Field in Command", [0x03] = "Command ID Conflict",
		[0x04] = "Data Transfer Error", [0x06] = "Internal Error",
		[0x07] = "Command Abort Requested", [0x08] = "Command Aborted due to SQ Deletion",
		[0x0b] = "Invalid Namespace or Format", [0x0c] = "Command Sequence Error",
		[0x0d] = "Invalid SGL Last Segment Descriptor",
		[0x0e] = "Invalid Number of SGL Descriptors", [0x0f] = "Data SGL Length Invalid",
		[0x11] = "SGL Descriptor Type Invalid", [0x16] = "SGL Offset Invalid",
		[0x18] = "Host Identifier Inconsistent Format",
		[0x19] = "Keep Alive Timer Expired", [0x1a] = "Keep Alive Timeout Invalid",
		[0x20] = "Namespace is Write Protected", [0x22] = "Transient Transport Error",
	};
	static const char *const nvm_generic[3] = {	/* NVM command set, SCT 0 */
		"LBA Out of Range", "Capacity Exceeded", "Namespace Not Ready",
	};
	static const char *const media[8] = {		/* SCT 2 */
		[0x0] = "Write Fault", [0x1] = "Unrecovered Read Error",
		[0x5] = "Compare Failure", [0x6] = "Access Denied",
	};
	uint8_t sc = NVME_STATUS_SC(status);

	switch (NVME_STATUS_SCT(status)) {
	case NVME_SCT_GENERIC:
		if (sc < ARRAY_SIZE(generic) && generic[sc])
			return generic[sc];
		if (sc >= 0x80 && sc - 0x80 < (int)ARRAY_SIZE(nvm_generic))
			return nvm_generic[sc - 0x80];
		return "Generic Status";
	case NVME_SCT_CMD_SPECIFIC:
		return trace_status_sct1(sc, sqe, qid);
	case NVME_SCT_MEDIA:
		if (sc >= 0x80 && sc - 0x80 < (int)ARRAY_SIZE(media) && media[sc - 0x80])
			return media[sc - 0x80];
		return "Media and Data Integrity Error";
	case 3:
		return "Path Related Status";
	}
	return "Vendor Specific or Reserved Status Type";
}
