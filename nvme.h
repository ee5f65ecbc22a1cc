/*
 * nvme.h - NVMe wire formats, and nothing else.
 *
 * Every structure here crosses a wire or a bus exactly as written: a
 * submission queue entry in a capsule, an Identify page in a C2HData PDU, a
 * discovery log entry. Each one is followed by _Static_asserts on its size
 * and on the offset of every named field, with the numbers taken from the
 * spec figure named above it. Those asserts are the proof that the C layout
 * is the spec's layout; if one fails, the struct is wrong, not the assert.
 *
 *   part                              spec
 *   ---------------------------------------------------------------
 *   1. SQE, CQE, status codes         [BASE-2.0c §4.2, §4.6]
 *   2. admin commands and their data  [BASE-2.0c §5]
 *   3. NVM command set                [NVM-1.0c §3, §4]
 *   4. Fabrics commands, discovery    [BASE-2.0c §6, §5.16.1.23]
 *   5. NVMe/TCP PDUs                  [TCP-1.0c §3.6]
 *   6. NVMe/RDMA CM private data      [RDMA-1.0c §3.3]
 *
 * Conventions (tutorial chapter 02 reads this file):
 *   - le16/le32/le64 are plain integers named for their byte order; every
 *     access converts with le32toh()/htole32() where it happens.
 *   - Reserved fields are named for their starting byte: rsvd10[6].
 *   - No bitfields and no blanket packing. A field the spec misaligns is a
 *     byte array (see nvme_smart_log.temperature).
 */
#ifndef NVME_H
#define NVME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint16_t le16;
typedef uint32_t le32;
typedef uint64_t le64;

#define NVME_ASSERT_SIZE(type, n) _Static_assert(sizeof(type) == (n), #type " size")
#define NVME_ASSERT_OFF(type, f, n) \
	_Static_assert(offsetof(type, f) == (n), #type "." #f " offset")

/* ==================================================================== */
/* 1. Queue entries and status                                         */
/* ==================================================================== */

/*
 * SGL descriptor, 16 bytes [BASE-2.0c §4.3.2, Fig. 117]. In a fabrics SQE it
 * sits in DPTR. type holds the descriptor type in bits 7:4 and the subtype
 * in bits 3:0. Keyed data blocks (RDMA) put a 3-byte length and a 4-byte key
 * where the unkeyed forms have a 4-byte length [BASE-2.0c Fig. 123]; rdma.c
 * reads that view through struct nvme_keyed_sgl.
 */
struct nvme_sgl {
	le64 addr;
	le32 length;
	uint8_t rsvd12[3];
	uint8_t type;
};
NVME_ASSERT_SIZE(struct nvme_sgl, 16);
NVME_ASSERT_OFF(struct nvme_sgl, length, 8);
NVME_ASSERT_OFF(struct nvme_sgl, type, 15);

struct nvme_keyed_sgl {
	le64 addr;
	uint8_t length[3];
	uint8_t key[4];		/* misaligned le32 */
	uint8_t type;
};
NVME_ASSERT_SIZE(struct nvme_keyed_sgl, 16);
NVME_ASSERT_OFF(struct nvme_keyed_sgl, key, 11);
NVME_ASSERT_OFF(struct nvme_keyed_sgl, type, 15);

/* SGL descriptor types (bits 7:4) and subtypes (3:0) [BASE-2.0c Fig. 118-119]. */
#define NVME_SGL_TYPE_DATA_BLOCK	0x0
#define NVME_SGL_TYPE_LAST_SEGMENT	0x3
#define NVME_SGL_TYPE_KEYED_DATA_BLOCK	0x4
#define NVME_SGL_TYPE_TRANSPORT_DATA_BLOCK 0x5
#define NVME_SGL_SUBTYPE_ADDRESS	0x0
#define NVME_SGL_SUBTYPE_OFFSET		0x1
#define NVME_SGL_SUBTYPE_TRANSPORT	0xA
#define NVME_SGL_SUBTYPE_INVALIDATE_KEY	0xF

/*
 * Submission queue entry, 64 bytes [BASE-2.0c §4.2, Fig. 88]. The command
 * dwords 10..15 are the opcode's own; fabrics commands overlay bytes 4..63
 * (see struct nvmf_fabrics_cmd below).
 */
struct nvme_sqe {
	uint8_t opcode;
	uint8_t flags;		/* FUSE 1:0, PSDT 7:6 */
	le16 cid;
	le32 nsid;
	le32 cdw2;
	le32 cdw3;
	le64 mptr;
	struct nvme_sgl dptr;
	le32 cdw10;
	le32 cdw11;
	le32 cdw12;
	le32 cdw13;
	le32 cdw14;
	le32 cdw15;
};
NVME_ASSERT_SIZE(struct nvme_sqe, 64);
NVME_ASSERT_OFF(struct nvme_sqe, cid, 2);
NVME_ASSERT_OFF(struct nvme_sqe, nsid, 4);
NVME_ASSERT_OFF(struct nvme_sqe, mptr, 16);
NVME_ASSERT_OFF(struct nvme_sqe, dptr, 24);
NVME_ASSERT_OFF(struct nvme_sqe, cdw10, 40);
NVME_ASSERT_OFF(struct nvme_sqe, cdw15, 60);

#define NVME_SQE_FUSE_MASK	0x03
#define NVME_SQE_PSDT_SHIFT	6
#define NVME_PSDT_PRP		0	/* PCIe only */
#define NVME_PSDT_SGL_MPTR_CONTIG 1	/* fabrics always use SGLs */

/*
 * Completion queue entry, 16 bytes [BASE-2.0c §4.6, Fig. 92]. status holds
 * the phase tag in bit 0 and the Status Field in bits 15:1.
 */
struct nvme_cqe {
	le32 dw0;
	le32 dw1;
	le16 sqhd;
	le16 sqid;
	le16 cid;
	le16 status;
};
NVME_ASSERT_SIZE(struct nvme_cqe, 16);
NVME_ASSERT_OFF(struct nvme_cqe, sqhd, 8);
NVME_ASSERT_OFF(struct nvme_cqe, sqid, 10);
NVME_ASSERT_OFF(struct nvme_cqe, cid, 12);
NVME_ASSERT_OFF(struct nvme_cqe, status, 14);

/*
 * Status Field, as we keep it in host order without the phase bit
 * [BASE-2.0c Fig. 93]: SC in bits 7:0, SCT in 10:8, CRD 12:11, M 13, DNR 14.
 * On the wire it is shifted left by one, above the phase tag.
 */
#define NVME_SCT_GENERIC	0x0
#define NVME_SCT_CMD_SPECIFIC	0x1
#define NVME_SCT_MEDIA		0x2
#define NVME_STATUS(sct, sc)	((uint16_t)(((sct) << 8) | (sc)))
#define NVME_STATUS_DNR		0x4000
#define NVME_STATUS_SCT(s)	(((s) >> 8) & 0x7)
#define NVME_STATUS_SC(s)	((s) & 0xff)

/* Generic command status [BASE-2.0c Fig. 94]. */
#define NVME_SC_SUCCESS			NVME_STATUS(0, 0x00)
#define NVME_SC_INVALID_OPCODE		NVME_STATUS(0, 0x01)
#define NVME_SC_INVALID_FIELD		NVME_STATUS(0, 0x02)
#define NVME_SC_CID_CONFLICT		NVME_STATUS(0, 0x03)
#define NVME_SC_DATA_XFER_ERROR		NVME_STATUS(0, 0x04)
#define NVME_SC_INTERNAL		NVME_STATUS(0, 0x06)
#define NVME_SC_ABORT_REQ		NVME_STATUS(0, 0x07)
#define NVME_SC_ABORT_SQ_DELETED	NVME_STATUS(0, 0x08)
#define NVME_SC_INVALID_NS		NVME_STATUS(0, 0x0b)
#define NVME_SC_CMD_SEQ_ERROR		NVME_STATUS(0, 0x0c)
#define NVME_SC_SGL_INVALID_COUNT	NVME_STATUS(0, 0x0e)
#define NVME_SC_SGL_INVALID_DATA	NVME_STATUS(0, 0x0f)
#define NVME_SC_SGL_INVALID_TYPE	NVME_STATUS(0, 0x11)
#define NVME_SC_SGL_INVALID_OFFSET	NVME_STATUS(0, 0x16)
#define NVME_SC_NS_WRITE_PROTECTED	NVME_STATUS(0, 0x20)
#define NVME_SC_TRANSIENT_TRANSPORT	NVME_STATUS(0, 0x22)
#define NVME_SC_LBA_RANGE		NVME_STATUS(0, 0x80)
#define NVME_SC_CAP_EXCEEDED		NVME_STATUS(0, 0x81)

/* Command specific status [BASE-2.0c Fig. 95; Fabrics: Fig. 584]. */
#define NVME_SC_INVALID_QID		NVME_STATUS(1, 0x01)
#define NVME_SC_INVALID_QUEUE_SIZE	NVME_STATUS(1, 0x02)
#define NVME_SC_AER_LIMIT		NVME_STATUS(1, 0x05)
#define NVME_SC_INVALID_LOG_PAGE	NVME_STATUS(1, 0x09)
#define NVME_SC_FEAT_NOT_SAVEABLE	NVME_STATUS(1, 0x0d)
#define NVME_SC_CONNECT_FORMAT		NVME_STATUS(1, 0x80)
#define NVME_SC_CONNECT_CTRL_BUSY	NVME_STATUS(1, 0x81)
#define NVME_SC_CONNECT_INVALID_PARAM	NVME_STATUS(1, 0x82)
#define NVME_SC_CONNECT_INVALID_HOST	NVME_STATUS(1, 0x84)
#define NVME_SC_AUTH_REQUIRED		NVME_STATUS(1, 0x91)	/* [BASE-2.0c §8.13] */

/* Media and data integrity errors [BASE-2.0c Fig. 101; NVM-1.0c Fig. 60]. */
#define NVME_SC_WRITE_FAULT		NVME_STATUS(2, 0x80)
#define NVME_SC_UNRECOVERED_READ	NVME_STATUS(2, 0x81)
#define NVME_SC_COMPARE_FAILED		NVME_STATUS(2, 0x85)

/* ==================================================================== */
/* 2. Admin commands                                                   */
/* ==================================================================== */

/* Admin opcodes [BASE-2.0c Fig. 28]. */
#define NVME_ADM_DELETE_SQ	0x00
#define NVME_ADM_CREATE_SQ	0x01
#define NVME_ADM_GET_LOG_PAGE	0x02
#define NVME_ADM_DELETE_CQ	0x04
#define NVME_ADM_CREATE_CQ	0x05
#define NVME_ADM_IDENTIFY	0x06
#define NVME_ADM_ABORT		0x08
#define NVME_ADM_SET_FEATURES	0x09
#define NVME_ADM_GET_FEATURES	0x0a
#define NVME_ADM_ASYNC_EVENT	0x0c
#define NVME_ADM_KEEP_ALIVE	0x18
#define NVME_FABRICS_OPCODE	0x7f

/* Identify CNS values, CDW10 bits 7:0 [BASE-2.0c Fig. 273]. */
#define NVME_CNS_NS		0x00
#define NVME_CNS_CTRL		0x01
#define NVME_CNS_NS_ACTIVE_LIST	0x02
#define NVME_CNS_NS_DESC_LIST	0x03
#define NVME_CNS_CSI_NS		0x05
#define NVME_CNS_CSI_CTRL	0x06
#define NVME_CNS_CSI_NS_ACTIVE_LIST 0x07
#define NVME_CNS_NS_INDEPENDENT	0x08

#define NVME_CSI_NVM		0x00	/* CDW11 bits 31:24 */
#define NVME_IDENTIFY_DATA_SIZE	4096

/* Power state descriptor, 32 bytes [BASE-2.0c Fig. 276]. */
struct nvme_psd {
	le16 mp;
	uint8_t rsvd2;
	uint8_t flags;
	le32 enlat;
	le32 exlat;
	uint8_t rrt, rrl, rwt, rwl;
	le16 idlp;
	uint8_t ips;
	uint8_t rsvd19;
	le16 actp;
	uint8_t apws;
	uint8_t rsvd23[9];
};
NVME_ASSERT_SIZE(struct nvme_psd, 32);
NVME_ASSERT_OFF(struct nvme_psd, enlat, 4);
NVME_ASSERT_OFF(struct nvme_psd, idlp, 16);
NVME_ASSERT_OFF(struct nvme_psd, actp, 20);

/*
 * Identify Controller data structure, 4096 bytes [BASE-2.0c Fig. 275],
 * with the fabrics fields at 1792 [BASE-2.0c Fig. 275, "NVMe over Fabrics
 * Attributes"]. Controller -> host, in the data of Identify CNS 01h.
 * String fields (sn, mn, fr, subnqn) are ASCII, space padded; subnqn is
 * NUL padded.
 */
struct nvme_id_ctrl {
	le16 vid;
	le16 ssvid;
	char sn[20];
	char mn[40];
	char fr[8];
	uint8_t rab;
	uint8_t ieee[3];
	uint8_t cmic;
	uint8_t mdts;
	le16 cntlid;
	le32 ver;
	le32 rtd3r;
	le32 rtd3e;
	le32 oaes;
	le32 ctratt;
	le16 rrls;
	uint8_t rsvd102[9];
	uint8_t cntrltype;
	uint8_t fguid[16];
	le16 crdt1, crdt2, crdt3;
	uint8_t rsvd134[119];
	uint8_t nvmsr;
	uint8_t vwci;
	uint8_t mec;
	le16 oacs;
	uint8_t acl;
	uint8_t aerl;
	uint8_t frmw;
	uint8_t lpa;
	uint8_t elpe;
	uint8_t npss;
	uint8_t avscc;
	uint8_t apsta;
	le16 wctemp;
	le16 cctemp;
	le16 mtfa;
	le32 hmpre;
	le32 hmmin;
	uint8_t tnvmcap[16];
	uint8_t unvmcap[16];
	le32 rpmbs;
	le16 edstt;
	uint8_t dsto;
	uint8_t fwug;
	le16 kas;
	le16 hctma;
	le16 mntmt;
	le16 mxtmt;
	le32 sanicap;
	le32 hmminds;
	le16 hmmaxd;
	le16 nsetidmax;
	le16 endgidmax;
	uint8_t anatt;
	uint8_t anacap;
	le32 anagrpmax;
	le32 nanagrpid;
	le32 pels;
	le16 domainid;
	uint8_t rsvd358[10];
	uint8_t megcap[16];
	uint8_t rsvd384[128];
	uint8_t sqes;
	uint8_t cqes;
	le16 maxcmd;
	le32 nn;
	le16 oncs;
	le16 fuses;
	uint8_t fna;
	uint8_t vwc;
	le16 awun;
	le16 awupf;
	uint8_t icsvscc;
	uint8_t nwpc;
	le16 acwu;
	le16 ocfs;
	le32 sgls;
	le32 mnan;
	uint8_t maxdna[16];
	le32 maxcna;
	uint8_t rsvd564[204];
	char subnqn[256];
	uint8_t rsvd1024[768];
	le32 ioccsz;
	le32 iorcsz;
	le16 icdoff;
	uint8_t fcatt;
	uint8_t msdbd;
	le16 ofcs;
	uint8_t rsvd1806[242];
	struct nvme_psd psd[32];
	uint8_t vs[1024];
};
NVME_ASSERT_SIZE(struct nvme_id_ctrl, 4096);
NVME_ASSERT_OFF(struct nvme_id_ctrl, sn, 4);
NVME_ASSERT_OFF(struct nvme_id_ctrl, mn, 24);
NVME_ASSERT_OFF(struct nvme_id_ctrl, fr, 64);
NVME_ASSERT_OFF(struct nvme_id_ctrl, rab, 72);
NVME_ASSERT_OFF(struct nvme_id_ctrl, cmic, 76);
NVME_ASSERT_OFF(struct nvme_id_ctrl, mdts, 77);
NVME_ASSERT_OFF(struct nvme_id_ctrl, cntlid, 78);
NVME_ASSERT_OFF(struct nvme_id_ctrl, ver, 80);
NVME_ASSERT_OFF(struct nvme_id_ctrl, oaes, 92);
NVME_ASSERT_OFF(struct nvme_id_ctrl, ctratt, 96);
NVME_ASSERT_OFF(struct nvme_id_ctrl, cntrltype, 111);
NVME_ASSERT_OFF(struct nvme_id_ctrl, fguid, 112);
NVME_ASSERT_OFF(struct nvme_id_ctrl, crdt1, 128);
NVME_ASSERT_OFF(struct nvme_id_ctrl, nvmsr, 253);
NVME_ASSERT_OFF(struct nvme_id_ctrl, oacs, 256);
NVME_ASSERT_OFF(struct nvme_id_ctrl, acl, 258);
NVME_ASSERT_OFF(struct nvme_id_ctrl, aerl, 259);
NVME_ASSERT_OFF(struct nvme_id_ctrl, frmw, 260);
NVME_ASSERT_OFF(struct nvme_id_ctrl, lpa, 261);
NVME_ASSERT_OFF(struct nvme_id_ctrl, elpe, 262);
NVME_ASSERT_OFF(struct nvme_id_ctrl, npss, 263);
NVME_ASSERT_OFF(struct nvme_id_ctrl, wctemp, 266);
NVME_ASSERT_OFF(struct nvme_id_ctrl, cctemp, 268);
NVME_ASSERT_OFF(struct nvme_id_ctrl, tnvmcap, 280);
NVME_ASSERT_OFF(struct nvme_id_ctrl, kas, 320);
NVME_ASSERT_OFF(struct nvme_id_ctrl, anagrpmax, 344);
NVME_ASSERT_OFF(struct nvme_id_ctrl, pels, 352);
NVME_ASSERT_OFF(struct nvme_id_ctrl, sqes, 512);
NVME_ASSERT_OFF(struct nvme_id_ctrl, cqes, 513);
NVME_ASSERT_OFF(struct nvme_id_ctrl, maxcmd, 514);
NVME_ASSERT_OFF(struct nvme_id_ctrl, nn, 516);
NVME_ASSERT_OFF(struct nvme_id_ctrl, oncs, 520);
NVME_ASSERT_OFF(struct nvme_id_ctrl, vwc, 525);
NVME_ASSERT_OFF(struct nvme_id_ctrl, awun, 526);
NVME_ASSERT_OFF(struct nvme_id_ctrl, sgls, 536);
NVME_ASSERT_OFF(struct nvme_id_ctrl, mnan, 540);
NVME_ASSERT_OFF(struct nvme_id_ctrl, subnqn, 768);
NVME_ASSERT_OFF(struct nvme_id_ctrl, ioccsz, 1792);
NVME_ASSERT_OFF(struct nvme_id_ctrl, iorcsz, 1796);
NVME_ASSERT_OFF(struct nvme_id_ctrl, icdoff, 1800);
NVME_ASSERT_OFF(struct nvme_id_ctrl, msdbd, 1803);
NVME_ASSERT_OFF(struct nvme_id_ctrl, psd, 2048);
NVME_ASSERT_OFF(struct nvme_id_ctrl, vs, 3072);

/* Identify Controller field values [BASE-2.0c Fig. 275]. */
#define NVME_CNTRLTYPE_IO	1
#define NVME_CNTRLTYPE_DISC	2
#define NVME_CTRL_OAES_NS_ATTR	(1u << 8)
#define NVME_CTRL_OAES_DISC_CHANGE (1u << 31)
#define NVME_CTRL_LPA_CMD_EFFECTS (1u << 1)
#define NVME_CTRL_LPA_EXT_DATA	(1u << 2)
#define NVME_CTRL_ONCS_COMPARE	(1u << 0)
#define NVME_CTRL_ONCS_DSM	(1u << 2)
#define NVME_CTRL_ONCS_WRITE_ZEROES (1u << 3)
#define NVME_CTRL_SGLS_SUPPORTED (1u << 0)	/* byte aligned, no alignment */
#define NVME_CTRL_SGLS_KEYED	(1u << 2)
#define NVME_CTRL_SGLS_OFFSET	(1u << 20)

/* LBA Format data structure, 4 bytes [NVM-1.0c Fig. 116]. */
struct nvme_lbaf {
	le16 ms;
	uint8_t lbads;	/* log2 of the LBA data size */
	uint8_t rp;
};
NVME_ASSERT_SIZE(struct nvme_lbaf, 4);

/*
 * Identify Namespace data structure for the NVM command set, 4096 bytes
 * [NVM-1.0c §4.1.5.1, Fig. 114]. Controller -> host, CNS 00h.
 */
struct nvme_id_ns {
	le64 nsze;
	le64 ncap;
	le64 nuse;
	uint8_t nsfeat;
	uint8_t nlbaf;
	uint8_t flbas;
	uint8_t mc;
	uint8_t dpc;
	uint8_t dps;
	uint8_t nmic;
	uint8_t rescap;
	uint8_t fpi;
	uint8_t dlfeat;
	le16 nawun;
	le16 nawupf;
	le16 nacwu;
	le16 nabsn;
	le16 nabo;
	le16 nabspf;
	le16 noiob;
	uint8_t nvmcap[16];
	le16 npwg;
	le16 npwa;
	le16 npdg;
	le16 npda;
	le16 nows;
	le16 mssrl;
	le32 mcl;
	uint8_t msrc;
	uint8_t rsvd81;
	uint8_t nulbaf;
	uint8_t rsvd83[9];
	le32 anagrpid;
	uint8_t rsvd96[3];
	uint8_t nsattr;
	le16 nvmsetid;
	le16 endgid;
	uint8_t nguid[16];
	uint8_t eui64[8];
	struct nvme_lbaf lbaf[64];
	uint8_t rsvd384[3712];
};
NVME_ASSERT_SIZE(struct nvme_id_ns, 4096);
NVME_ASSERT_OFF(struct nvme_id_ns, ncap, 8);
NVME_ASSERT_OFF(struct nvme_id_ns, nuse, 16);
NVME_ASSERT_OFF(struct nvme_id_ns, nsfeat, 24);
NVME_ASSERT_OFF(struct nvme_id_ns, nlbaf, 25);
NVME_ASSERT_OFF(struct nvme_id_ns, flbas, 26);
NVME_ASSERT_OFF(struct nvme_id_ns, nmic, 30);
NVME_ASSERT_OFF(struct nvme_id_ns, dlfeat, 33);
NVME_ASSERT_OFF(struct nvme_id_ns, nawun, 34);
NVME_ASSERT_OFF(struct nvme_id_ns, noiob, 46);
NVME_ASSERT_OFF(struct nvme_id_ns, nvmcap, 48);
NVME_ASSERT_OFF(struct nvme_id_ns, npwg, 64);
NVME_ASSERT_OFF(struct nvme_id_ns, mcl, 76);
NVME_ASSERT_OFF(struct nvme_id_ns, anagrpid, 92);
NVME_ASSERT_OFF(struct nvme_id_ns, nsattr, 99);
NVME_ASSERT_OFF(struct nvme_id_ns, nvmsetid, 100);
NVME_ASSERT_OFF(struct nvme_id_ns, nguid, 104);
NVME_ASSERT_OFF(struct nvme_id_ns, eui64, 120);
NVME_ASSERT_OFF(struct nvme_id_ns, lbaf, 128);

/* Deallocated blocks read back as zeroes and Write Zeroes may deallocate
 * [NVM-1.0c Fig. 114, DLFEAT]. */
#define NVME_NS_DLFEAT_READ_ZEROES	0x01
#define NVME_NS_DLFEAT_WZ_DEALLOC	0x08

/*
 * I/O Command Set Independent Identify Namespace, 4096 bytes
 * [BASE-2.0c Fig. 280], CNS 08h.
 */
struct nvme_id_ns_indep {
	uint8_t nsfeat;
	uint8_t nmic;
	uint8_t rescap;
	uint8_t fpi;
	le32 anagrpid;
	uint8_t nsattr;
	uint8_t rsvd9;
	le16 nvmsetid;
	le16 endgid;
	uint8_t nstat;
	uint8_t rsvd15[4081];
};
NVME_ASSERT_SIZE(struct nvme_id_ns_indep, 4096);
NVME_ASSERT_OFF(struct nvme_id_ns_indep, anagrpid, 4);
NVME_ASSERT_OFF(struct nvme_id_ns_indep, nsattr, 8);
NVME_ASSERT_OFF(struct nvme_id_ns_indep, nvmsetid, 10);
NVME_ASSERT_OFF(struct nvme_id_ns_indep, endgid, 12);
NVME_ASSERT_OFF(struct nvme_id_ns_indep, nstat, 14);

/*
 * NVM Command Set Identify Controller, CNS 06h CSI 00h, 4096 bytes
 * [NVM-1.0c Fig. 112]. Limits for Write Zeroes and DSM; 0 = no extra limit.
 */
struct nvme_id_ctrl_nvm {
	uint8_t vsl;
	uint8_t wzsl;
	uint8_t wusl;
	uint8_t dmrl;
	le32 dmrsl;
	le64 dmsl;
	uint8_t rsvd16[4080];
};
NVME_ASSERT_SIZE(struct nvme_id_ctrl_nvm, 4096);
NVME_ASSERT_OFF(struct nvme_id_ctrl_nvm, dmrl, 3);
NVME_ASSERT_OFF(struct nvme_id_ctrl_nvm, dmrsl, 4);
NVME_ASSERT_OFF(struct nvme_id_ctrl_nvm, dmsl, 8);

/*
 * Namespace Identification Descriptor header [BASE-2.0c Fig. 279], CNS 03h.
 * The list is a run of these, each followed by NIDL bytes of identifier, in
 * a 4096-byte buffer ending at the first NIDT of zero.
 */
struct nvme_ns_id_desc {
	uint8_t nidt;
	uint8_t nidl;
	le16 rsvd2;
};
NVME_ASSERT_SIZE(struct nvme_ns_id_desc, 4);
#define NVME_NIDT_EUI64		0x01
#define NVME_NIDT_NGUID		0x02
#define NVME_NIDT_UUID		0x03
#define NVME_NIDT_CSI		0x04

/* Get Log Page identifiers [BASE-2.0c Fig. 202]. */
#define NVME_LOG_SUPPORTED	0x00
#define NVME_LOG_ERROR		0x01
#define NVME_LOG_SMART		0x02
#define NVME_LOG_FW_SLOT	0x03
#define NVME_LOG_CHANGED_NS	0x04
#define NVME_LOG_CMD_EFFECTS	0x05
#define NVME_LOG_DISC		0x70

/* Error Information log entry, 64 bytes [BASE-2.0c Fig. 205]. */
struct nvme_error_log {
	le64 error_count;
	le16 sqid;
	le16 cid;
	le16 status;		/* bit 0 is the phase tag, as in the CQE */
	le16 param_error_location;
	le64 lba;
	le32 nsid;
	uint8_t vs;
	uint8_t trtype;
	uint8_t rsvd30[2];
	le64 cs;
	le16 trtype_spec;
	uint8_t rsvd42[22];
};
NVME_ASSERT_SIZE(struct nvme_error_log, 64);
NVME_ASSERT_OFF(struct nvme_error_log, sqid, 8);
NVME_ASSERT_OFF(struct nvme_error_log, status, 12);
NVME_ASSERT_OFF(struct nvme_error_log, param_error_location, 14);
NVME_ASSERT_OFF(struct nvme_error_log, lba, 16);
NVME_ASSERT_OFF(struct nvme_error_log, nsid, 24);
NVME_ASSERT_OFF(struct nvme_error_log, trtype, 29);
NVME_ASSERT_OFF(struct nvme_error_log, cs, 32);

/*
 * SMART / Health Information log, 512 bytes [BASE-2.0c Fig. 207]. The
 * 128-bit counters are little-endian byte arrays; temperature sits at an odd
 * offset, so it is bytes too.
 */
struct nvme_smart_log {
	uint8_t critical_warning;
	uint8_t temperature[2];
	uint8_t avail_spare;
	uint8_t spare_thresh;
	uint8_t percent_used;
	uint8_t endu_grp_crit_warn;
	uint8_t rsvd7[25];
	uint8_t data_units_read[16];
	uint8_t data_units_written[16];
	uint8_t host_reads[16];
	uint8_t host_writes[16];
	uint8_t ctrl_busy_time[16];
	uint8_t power_cycles[16];
	uint8_t power_on_hours[16];
	uint8_t unsafe_shutdowns[16];
	uint8_t media_errors[16];
	uint8_t num_err_log_entries[16];
	le32 warning_temp_time;
	le32 critical_comp_time;
	le16 temp_sensor[8];
	le32 thm_temp1_trans_count;
	le32 thm_temp2_trans_count;
	le32 thm_temp1_total_time;
	le32 thm_temp2_total_time;
	uint8_t rsvd232[280];
};
NVME_ASSERT_SIZE(struct nvme_smart_log, 512);
NVME_ASSERT_OFF(struct nvme_smart_log, temperature, 1);
NVME_ASSERT_OFF(struct nvme_smart_log, avail_spare, 3);
NVME_ASSERT_OFF(struct nvme_smart_log, data_units_read, 32);
NVME_ASSERT_OFF(struct nvme_smart_log, data_units_written, 48);
NVME_ASSERT_OFF(struct nvme_smart_log, host_reads, 64);
NVME_ASSERT_OFF(struct nvme_smart_log, host_writes, 80);
NVME_ASSERT_OFF(struct nvme_smart_log, power_on_hours, 128);
NVME_ASSERT_OFF(struct nvme_smart_log, num_err_log_entries, 176);
NVME_ASSERT_OFF(struct nvme_smart_log, warning_temp_time, 192);
NVME_ASSERT_OFF(struct nvme_smart_log, temp_sensor, 200);
NVME_ASSERT_OFF(struct nvme_smart_log, thm_temp1_trans_count, 216);

/* Firmware Slot Information log, 512 bytes [BASE-2.0c Fig. 208]. */
struct nvme_fw_slot_log {
	uint8_t afi;
	uint8_t rsvd1[7];
	char frs[7][8];
	uint8_t rsvd64[448];
};
NVME_ASSERT_SIZE(struct nvme_fw_slot_log, 512);
NVME_ASSERT_OFF(struct nvme_fw_slot_log, frs, 8);

/* Commands Supported and Effects log, 4096 bytes [BASE-2.0c Fig. 210]. */
struct nvme_effects_log {
	le32 acs[256];
	le32 iocs[256];
	uint8_t rsvd2048[2048];
};
NVME_ASSERT_SIZE(struct nvme_effects_log, 4096);
NVME_ASSERT_OFF(struct nvme_effects_log, iocs, 1024);
#define NVME_CMD_EFFECTS_CSUPP	(1u << 0)
#define NVME_CMD_EFFECTS_LBCC	(1u << 1)
#define NVME_CMD_EFFECTS_NCC	(1u << 2)
#define NVME_CMD_EFFECTS_NIC	(1u << 3)

/* Feature identifiers [BASE-2.0c Fig. 317]. */
#define NVME_FEAT_ARBITRATION	0x01
#define NVME_FEAT_POWER_MGMT	0x02
#define NVME_FEAT_TEMP_THRESH	0x04
#define NVME_FEAT_ERR_RECOVERY	0x05
#define NVME_FEAT_VOLATILE_WC	0x06
#define NVME_FEAT_NUM_QUEUES	0x07
#define NVME_FEAT_WRITE_ATOMIC	0x0a
#define NVME_FEAT_ASYNC_EVENT	0x0b
#define NVME_FEAT_KATO		0x0f
#define NVME_FEAT_HOST_ID	0x81

/* Get Features SEL, CDW10 bits 10:8 [BASE-2.0c Fig. 311]. */
#define NVME_FEAT_SEL_CURRENT	0
#define NVME_FEAT_SEL_DEFAULT	1
#define NVME_FEAT_SEL_SAVED	2
#define NVME_FEAT_SEL_SUPPORTED	3

/* Asynchronous event completion DW0 [BASE-2.0c Fig. 147-151]. */
#define NVME_AER_TYPE_NOTICE	2
#define NVME_AER_NOTICE_NS_CHANGED 0x00
#define NVME_AER_NOTICE_DISC_CHANGED 0xf0
#define NVME_AER_DW0(type, info, lid) \
	((uint32_t)(type) | ((uint32_t)(info) << 8) | ((uint32_t)(lid) << 16))

/* ==================================================================== */
/* 3. NVM command set                                                  */
/* ==================================================================== */

/* I/O opcodes [NVM-1.0c Fig. 18]. */
#define NVME_CMD_FLUSH		0x00
#define NVME_CMD_WRITE		0x01
#define NVME_CMD_READ		0x02
#define NVME_CMD_COMPARE	0x05
#define NVME_CMD_WRITE_ZEROES	0x08
#define NVME_CMD_DSM		0x09

/* Read/Write/Compare/Write Zeroes: SLBA in CDW10-11, NLB (0's based) in
 * CDW12 bits 15:0, FUA in bit 30 [NVM-1.0c Fig. 37]. */
#define NVME_RW_NLB_MASK	0xffff
#define NVME_RW_FUA		(1u << 30)
#define NVME_WZ_DEAC		(1u << 25)

/* Dataset Management range, 16 bytes [NVM-1.0c Fig. 41]; CDW10 bits 7:0
 * hold NR (0's based), CDW11 bit 2 is AD (deallocate). */
struct nvme_dsm_range {
	le32 cattr;
	le32 nlb;
	le64 slba;
};
NVME_ASSERT_SIZE(struct nvme_dsm_range, 16);
NVME_ASSERT_OFF(struct nvme_dsm_range, nlb, 4);
NVME_ASSERT_OFF(struct nvme_dsm_range, slba, 8);
#define NVME_DSM_AD		(1u << 2)

/* ==================================================================== */
/* 4. NVMe over Fabrics                                                */
/* ==================================================================== */

/* Fabrics command types [BASE-2.0c Fig. 542]. */
#define NVMF_FCTYPE_PROP_SET	0x00
#define NVMF_FCTYPE_CONNECT	0x01
#define NVMF_FCTYPE_PROP_GET	0x04
#define NVMF_FCTYPE_AUTH_SEND	0x05
#define NVMF_FCTYPE_AUTH_RECV	0x06
#define NVMF_FCTYPE_DISCONNECT	0x08	/* [BASE-2.0c §6.4] */

/*
 * Fabrics command, common layout, 64 bytes [BASE-2.0c Fig. 541]. Byte 4 is
 * FCTYPE where a normal SQE has NSID; the rest depends on it.
 */
struct nvmf_fabrics_cmd {
	uint8_t opcode;		/* 0x7f */
	uint8_t rsvd1;
	le16 cid;
	uint8_t fctype;
	uint8_t rsvd5[19];
	struct nvme_sgl dptr;
	uint8_t fcspec[24];
};
NVME_ASSERT_SIZE(struct nvmf_fabrics_cmd, 64);
NVME_ASSERT_OFF(struct nvmf_fabrics_cmd, fctype, 4);
NVME_ASSERT_OFF(struct nvmf_fabrics_cmd, dptr, 24);
NVME_ASSERT_OFF(struct nvmf_fabrics_cmd, fcspec, 40);

/* Connect command, 64 bytes [BASE-2.0c §6.3, Fig. 546]. Host -> controller. */
struct nvmf_connect_cmd {
	uint8_t opcode;
	uint8_t rsvd1;
	le16 cid;
	uint8_t fctype;
	uint8_t rsvd5[19];
	struct nvme_sgl dptr;
	le16 recfmt;
	le16 qid;
	le16 sqsize;
	uint8_t cattr;
	uint8_t rsvd47;
	le32 kato;
	uint8_t rsvd52[12];
};
NVME_ASSERT_SIZE(struct nvmf_connect_cmd, 64);
NVME_ASSERT_OFF(struct nvmf_connect_cmd, recfmt, 40);
NVME_ASSERT_OFF(struct nvmf_connect_cmd, qid, 42);
NVME_ASSERT_OFF(struct nvmf_connect_cmd, sqsize, 44);
NVME_ASSERT_OFF(struct nvmf_connect_cmd, cattr, 46);
NVME_ASSERT_OFF(struct nvmf_connect_cmd, kato, 48);
#define NVMF_CONNECT_CATTR_SQFC_DISABLE (1u << 2)

/* Connect data, 1024 bytes [BASE-2.0c Fig. 547]. */
struct nvmf_connect_data {
	uint8_t hostid[16];
	le16 cntlid;
	uint8_t rsvd18[238];
	char subnqn[256];
	char hostnqn[256];
	uint8_t rsvd768[256];
};
NVME_ASSERT_SIZE(struct nvmf_connect_data, 1024);
NVME_ASSERT_OFF(struct nvmf_connect_data, cntlid, 16);
NVME_ASSERT_OFF(struct nvmf_connect_data, subnqn, 256);
NVME_ASSERT_OFF(struct nvmf_connect_data, hostnqn, 512);

/* Connect response DW0 on an invalid parameter: IPO le16 (byte offset of the
 * bad field), IATTR bit 0 (0 = in the SQE, 1 = in the data) [BASE-2.0c
 * Fig. 549]. On success DW0 bits 15:0 are CNTLID. */
#define NVMF_CONNECT_IATTR_DATA	1u

/* Connect response DW0 bit 17, AUTHREQ.ATR: the host must run an
 * authentication transaction on this queue before anything else
 * [BASE-2.0c Fig. 549]. (Bit 18, ASCR, asks for a secure channel.) */
#define NVMF_CONNECT_AUTHREQ_ATR (1u << 17)

/*
 * Authentication Send / Receive, 64 bytes [BASE-2.0c §6.1-6.2, Fig. 543,
 * 545]. Host -> controller. The same layout carries both: Send's data (TL
 * bytes) is a message for the controller, Receive's buffer (AL bytes)
 * takes the controller's next message. SECP E9h names the NVMe in-band
 * authentication protocol, SPSP1:SPSP0 = 01h:01h its one version.
 */
struct nvmf_auth_cmd {
	uint8_t opcode;
	uint8_t rsvd1;
	le16 cid;
	uint8_t fctype;		/* 05h Send, 06h Receive */
	uint8_t rsvd5[19];
	struct nvme_sgl dptr;
	uint8_t rsvd40;
	uint8_t spsp0;
	uint8_t spsp1;
	uint8_t secp;
	le32 tl;		/* Send: transfer length; Receive: AL */
	uint8_t rsvd48[16];
};
NVME_ASSERT_SIZE(struct nvmf_auth_cmd, 64);
NVME_ASSERT_OFF(struct nvmf_auth_cmd, spsp0, 41);
NVME_ASSERT_OFF(struct nvmf_auth_cmd, spsp1, 42);
NVME_ASSERT_OFF(struct nvmf_auth_cmd, secp, 43);
NVME_ASSERT_OFF(struct nvmf_auth_cmd, tl, 44);
#define NVMF_AUTH_SECP		0xe9
#define NVMF_AUTH_SPSP		0x01

/* Message types (AUTH_Type byte 0, AUTH_Id byte 1) [BASE-2.0c §8.13.5]. */
#define NVMF_AUTH_COMMON	0x00	/* AUTH_Negotiate, AUTH_Failure1 */
#define NVMF_AUTH_DHCHAP	0x01	/* the DH-HMAC-CHAP messages */
#define NVMF_AUTH_NEGOTIATE	0x00
#define NVMF_AUTH_CHALLENGE	0x01
#define NVMF_AUTH_REPLY		0x02
#define NVMF_AUTH_SUCCESS1	0x03
#define NVMF_AUTH_SUCCESS2	0x04
#define NVMF_AUTH_FAILURE2	0xf0
#define NVMF_AUTH_FAILURE1	0xf1

/* Hash function and DH group identifiers [BASE-2.0c §8.13.5]:
 * HMAC-SHA-256/384/512; null (no DH) and the RFC 7919 ffdhe groups. */
#define NVMF_AUTH_SHA256	0x01
#define NVMF_AUTH_SHA384	0x02
#define NVMF_AUTH_SHA512	0x03
#define NVMF_AUTH_DH_NULL	0x00
#define NVMF_AUTH_FFDHE2048	0x01
#define NVMF_AUTH_FFDHE8192	0x05

/* Failure reason code explanations (AUTH_Failure1/2 byte 7). */
#define NVMF_AUTH_FAIL_FAILED		0x01
#define NVMF_AUTH_FAIL_NOT_USABLE	0x02
#define NVMF_AUTH_FAIL_CONCAT_MISMATCH	0x03
#define NVMF_AUTH_FAIL_HASH_UNUSABLE	0x04
#define NVMF_AUTH_FAIL_DHGROUP_UNUSABLE	0x05
#define NVMF_AUTH_FAIL_INCORRECT_MESSAGE 0x06
#define NVMF_AUTH_FAIL_INCORRECT_PAYLOAD 0x07

/* The first 6 bytes of every message: type, id, transaction ID (T_ID,
 * the host's number for this transaction, echoed in every message). */
struct nvmf_auth_hdr {
	uint8_t auth_type;
	uint8_t auth_id;
	le16 rsvd2;
	le16 t_id;
};
NVME_ASSERT_SIZE(struct nvmf_auth_hdr, 6);
NVME_ASSERT_OFF(struct nvmf_auth_hdr, t_id, 4);

/* AUTH_Negotiate, host -> controller: SC_C (secure channel), then NAPD
 * protocol descriptors of 64 bytes. A DH-HMAC-CHAP descriptor lists HALEN
 * hash IDs in IDList[0..29] and DHLEN group IDs in IDList[30..59]. */
struct nvmf_auth_negotiate {
	struct nvmf_auth_hdr h;
	uint8_t sc_c;
	uint8_t napd;
	uint8_t authid;		/* 01h: DH-HMAC-CHAP */
	uint8_t rsvd9;
	uint8_t halen;
	uint8_t dhlen;
	uint8_t idlist[60];
};
NVME_ASSERT_SIZE(struct nvmf_auth_negotiate, 72);
NVME_ASSERT_OFF(struct nvmf_auth_negotiate, napd, 7);
NVME_ASSERT_OFF(struct nvmf_auth_negotiate, authid, 8);
NVME_ASSERT_OFF(struct nvmf_auth_negotiate, halen, 10);
NVME_ASSERT_OFF(struct nvmf_auth_negotiate, idlist, 12);

/* DH-HMAC-CHAP_Challenge, controller -> host: HL bytes of challenge C1,
 * then DHVLEN bytes of our DH public value g^x mod p. */
struct nvmf_auth_challenge {
	struct nvmf_auth_hdr h;
	uint8_t hl;
	uint8_t rsvd7;
	uint8_t hashid;
	uint8_t dhgid;
	le16 dhvlen;
	le32 seqnum;		/* S1 */
	uint8_t cval[];
};
NVME_ASSERT_SIZE(struct nvmf_auth_challenge, 16);
NVME_ASSERT_OFF(struct nvmf_auth_challenge, hl, 6);
NVME_ASSERT_OFF(struct nvmf_auth_challenge, hashid, 8);
NVME_ASSERT_OFF(struct nvmf_auth_challenge, dhvlen, 10);
NVME_ASSERT_OFF(struct nvmf_auth_challenge, seqnum, 12);

/* DH-HMAC-CHAP_Reply, host -> controller: response R1 (HL bytes), the
 * host's challenge C2 (HL bytes, valid if CVALID), DHVLEN bytes of g^y. */
struct nvmf_auth_reply {
	struct nvmf_auth_hdr h;
	uint8_t hl;
	uint8_t rsvd7;
	uint8_t cvalid;
	uint8_t rsvd9;
	le16 dhvlen;
	le32 seqnum;		/* S2, 0 if no C2 */
	uint8_t rval[];
};
NVME_ASSERT_SIZE(struct nvmf_auth_reply, 16);
NVME_ASSERT_OFF(struct nvmf_auth_reply, cvalid, 8);
NVME_ASSERT_OFF(struct nvmf_auth_reply, dhvlen, 10);
NVME_ASSERT_OFF(struct nvmf_auth_reply, seqnum, 12);

/* DH-HMAC-CHAP_Success1, controller -> host: with RVALID, our response
 * R2 to the host's C2 (HL bytes). */
struct nvmf_auth_success1 {
	struct nvmf_auth_hdr h;
	uint8_t hl;
	uint8_t rsvd7;
	uint8_t rvalid;
	uint8_t rsvd9[7];
	uint8_t rval[];
};
NVME_ASSERT_SIZE(struct nvmf_auth_success1, 16);
NVME_ASSERT_OFF(struct nvmf_auth_success1, rvalid, 8);

/* DH-HMAC-CHAP_Success2 (host -> controller), 16 bytes: R2 checked. */
struct nvmf_auth_success2 {
	struct nvmf_auth_hdr h;
	uint8_t rsvd6[10];
};
NVME_ASSERT_SIZE(struct nvmf_auth_success2, 16);

/* AUTH_Failure1 (controller -> host) and DH-HMAC-CHAP_Failure2 (host ->
 * controller): reason code 01h (failure) and its explanation. */
struct nvmf_auth_failure {
	struct nvmf_auth_hdr h;
	uint8_t rescode;
	uint8_t rescode_exp;
};
NVME_ASSERT_SIZE(struct nvmf_auth_failure, 8);
NVME_ASSERT_OFF(struct nvmf_auth_failure, rescode_exp, 7);

/* Property Set / Property Get [BASE-2.0c Fig. 554, 557]. */
struct nvmf_prop_cmd {
	uint8_t opcode;
	uint8_t rsvd1;
	le16 cid;
	uint8_t fctype;
	uint8_t rsvd5[35];
	uint8_t attrib;		/* bits 2:0: 0 = 4 bytes, 1 = 8 bytes */
	uint8_t rsvd41[3];
	le32 ofst;
	le64 value;		/* Property Set only */
	uint8_t rsvd56[8];
};
NVME_ASSERT_SIZE(struct nvmf_prop_cmd, 64);
NVME_ASSERT_OFF(struct nvmf_prop_cmd, attrib, 40);
NVME_ASSERT_OFF(struct nvmf_prop_cmd, ofst, 44);
NVME_ASSERT_OFF(struct nvmf_prop_cmd, value, 48);

/* Controller properties, the fabrics view of the PCIe registers
 * [BASE-2.0c §3.1.4, Fig. 35]. */
#define NVME_REG_CAP		0x00	/* 8 bytes */
#define NVME_REG_VS		0x08
#define NVME_REG_CC		0x14
#define NVME_REG_CSTS		0x1c
#define NVME_REG_NSSR		0x20

/*
 * CAP, Controller Capabilities [BASE-2.0c §3.1.4.1, Fig. 36]: read-only,
 * 64 bits. The target builds it (nvmf.c, Property Get) and the driver
 * reads a device's (pcie_nvme.c), so both name the fields here: readers
 * nvme_cap_*() and one builder from a struct of named fields.
 */
#define NVME_CAP_CSS_NVM	0x01	/* CSS bit 0: the NVM command set */
#define NVME_CAP_CSS_IOCS	0x40	/* CSS bit 6: I/O command sets (Identify CSI) */

struct nvme_cap_fields {
	uint16_t mqes;		/* largest queue, entries - 1 (0's based) */
	bool cqr;		/* queues must be physically contiguous */
	uint8_t to;		/* worst time to become ready, 500 ms units */
	uint8_t dstrd;		/* doorbell stride, 4 << dstrd bytes */
	uint8_t css;		/* command sets, NVME_CAP_CSS_* */
	uint8_t mpsmin, mpsmax;	/* page sizes, 4 KiB << value */
};

static inline uint32_t nvme_cap_mqes(uint64_t cap)   { return cap & 0xffff; }
static inline uint32_t nvme_cap_to(uint64_t cap)     { return (cap >> 24) & 0xff; }
static inline uint32_t nvme_cap_dstrd(uint64_t cap)  { return (cap >> 32) & 0xf; }
static inline uint32_t nvme_cap_css(uint64_t cap)    { return (cap >> 37) & 0xff; }
static inline uint32_t nvme_cap_mpsmin(uint64_t cap) { return (cap >> 48) & 0xf; }
static inline uint32_t nvme_cap_mpsmax(uint64_t cap) { return (cap >> 52) & 0xf; }

static inline uint64_t nvme_cap_build(const struct nvme_cap_fields *f)
{
	return (uint64_t)f->mqes | (uint64_t)f->cqr << 16 | (uint64_t)f->to << 24 |
	       (uint64_t)(f->dstrd & 0xf) << 32 | (uint64_t)f->css << 37 |
	       (uint64_t)(f->mpsmin & 0xf) << 48 | (uint64_t)(f->mpsmax & 0xf) << 52;
}

#define NVME_CC_EN		(1u << 0)
#define NVME_CC_CSS_SHIFT	4
#define NVME_CC_MPS_SHIFT	7
#define NVME_CC_SHN_SHIFT	14
#define NVME_CC_SHN_MASK	(3u << 14)
#define NVME_CC_IOSQES_SHIFT	16
#define NVME_CC_IOCQES_SHIFT	20
#define NVME_CSTS_RDY		(1u << 0)
#define NVME_CSTS_CFS		(1u << 1)
#define NVME_CSTS_SHST_CMPLT	(2u << 2)
#define NVME_CSTS_SHST_MASK	(3u << 2)

/* Version 2.0.0 [BASE-2.0c Fig. 40]: major 31:16, minor 15:8. */
#define NVME_VS(maj, min, ter)	(((maj) << 16) | ((min) << 8) | (ter))

/* Discovery log page header, 1024 bytes [BASE-2.0c Fig. 262]. */
struct nvmf_disc_log_hdr {
	le64 genctr;
	le64 numrec;
	le16 recfmt;
	uint8_t rsvd18[1006];
};
NVME_ASSERT_SIZE(struct nvmf_disc_log_hdr, 1024);
NVME_ASSERT_OFF(struct nvmf_disc_log_hdr, numrec, 8);
NVME_ASSERT_OFF(struct nvmf_disc_log_hdr, recfmt, 16);

/* Discovery log page entry, 1024 bytes [BASE-2.0c Fig. 263]. */
struct nvmf_disc_log_entry {
	uint8_t trtype;
	uint8_t adrfam;
	uint8_t subtype;
	uint8_t treq;
	le16 portid;
	le16 cntlid;
	le16 asqsz;
	le16 eflags;
	uint8_t rsvd12[20];
	char trsvcid[32];
	uint8_t rsvd64[192];
	char subnqn[256];
	char traddr[256];
	uint8_t tsas[256];
};
NVME_ASSERT_SIZE(struct nvmf_disc_log_entry, 1024);
NVME_ASSERT_OFF(struct nvmf_disc_log_entry, adrfam, 1);
NVME_ASSERT_OFF(struct nvmf_disc_log_entry, subtype, 2);
NVME_ASSERT_OFF(struct nvmf_disc_log_entry, treq, 3);
NVME_ASSERT_OFF(struct nvmf_disc_log_entry, portid, 4);
NVME_ASSERT_OFF(struct nvmf_disc_log_entry, cntlid, 6);
NVME_ASSERT_OFF(struct nvmf_disc_log_entry, asqsz, 8);
NVME_ASSERT_OFF(struct nvmf_disc_log_entry, eflags, 10);
NVME_ASSERT_OFF(struct nvmf_disc_log_entry, trsvcid, 32);
NVME_ASSERT_OFF(struct nvmf_disc_log_entry, subnqn, 256);
NVME_ASSERT_OFF(struct nvmf_disc_log_entry, traddr, 512);
NVME_ASSERT_OFF(struct nvmf_disc_log_entry, tsas, 768);

#define NVMF_TRTYPE_RDMA	1
#define NVMF_TRTYPE_TCP		3
#define NVMF_ADRFAM_IPV4	1
#define NVMF_ADRFAM_IPV6	2
#define NVMF_SUBTYPE_REFERRAL	1
#define NVMF_SUBTYPE_NVME	2
#define NVMF_SUBTYPE_DISC_CURRENT 3
#define NVMF_TREQ_NOT_SPECIFIED	0	/* plain TCP: libnvme <= 1.9 adds a tls option for other values, which 6.1 refuses */
#define NVMF_EFLAGS_DUPRETINFO	(1u << 0)
#define NVMF_EFLAGS_EPCSD	(1u << 1)

#define NVMF_DISC_NQN		"nqn.2014-08.org.nvmexpress.discovery"
#define NVMF_NQN_SIZE		256	/* including the NUL [BASE-2.0c §4.5] */
#define NVMF_CNTLID_DYNAMIC	0xffff
#define NVMF_CNTLID_MAX		0xffef	/* 0xfff0.. are reserved [BASE-2.0c Fig. 547] */

/* ==================================================================== */
/* 5. NVMe/TCP PDUs                                                    */
/* ==================================================================== */

/*
 * Every PDU begins with this 8-byte common header [TCP-1.0c §3.6.1, Fig. 20]:
 *
 *   0      1      2      3      4             8
 *   +------+------+------+------+-------------+---------+------+------+------+
 *   | type |flags | hlen | pdo  |    plen     | PSH ... | HDGST| pad  | DATA |..DDGST
 *   +------+------+------+------+-------------+---------+------+------+------+
 *   |<------------- hlen -------------------->|
 *   |<------------------------- pdo ------------------------------->|
 *   |<------------------------------ plen ------------------------------------->|
 */
struct nvme_tcp_hdr {
	uint8_t type;
	uint8_t flags;
	uint8_t hlen;
	uint8_t pdo;
	le32 plen;
};
NVME_ASSERT_SIZE(struct nvme_tcp_hdr, 8);
NVME_ASSERT_OFF(struct nvme_tcp_hdr, hlen, 2);
NVME_ASSERT_OFF(struct nvme_tcp_hdr, plen, 4);

/* PDU types [TCP-1.0c Fig. 21]. */
#define NVME_TCP_ICREQ		0x00
#define NVME_TCP_ICRESP		0x01
#define NVME_TCP_H2C_TERM	0x02
#define NVME_TCP_C2H_TERM	0x03
#define NVME_TCP_CMD		0x04
#define NVME_TCP_RSP		0x05
#define NVME_TCP_H2C_DATA	0x06
#define NVME_TCP_C2H_DATA	0x07
#define NVME_TCP_R2T		0x09

/* Common header flags [TCP-1.0c Fig. 20]. */
#define NVME_TCP_F_HDGST	0x01
#define NVME_TCP_F_DDGST	0x02
#define NVME_TCP_F_DATA_LAST	0x04
#define NVME_TCP_F_DATA_SUCCESS	0x08

#define NVME_TCP_DIGEST_LEN	4
#define NVME_TCP_PFV_1_0	0

/* ICReq, 128 bytes, host -> controller [TCP-1.0c §3.6.2.2, Fig. 26]. */
struct nvme_tcp_icreq {
	struct nvme_tcp_hdr hdr;
	le16 pfv;
	uint8_t hpda;
	uint8_t digest;		/* bit 0 HDGST_ENABLE, bit 1 DDGST_ENABLE */
	le32 maxr2t;
	uint8_t rsvd16[112];
};
NVME_ASSERT_SIZE(struct nvme_tcp_icreq, 128);
NVME_ASSERT_OFF(struct nvme_tcp_icreq, pfv, 8);
NVME_ASSERT_OFF(struct nvme_tcp_icreq, hpda, 10);
NVME_ASSERT_OFF(struct nvme_tcp_icreq, digest, 11);
NVME_ASSERT_OFF(struct nvme_tcp_icreq, maxr2t, 12);

/* ICResp, 128 bytes, controller -> host [TCP-1.0c §3.6.2.3, Fig. 27]. */
struct nvme_tcp_icresp {
	struct nvme_tcp_hdr hdr;
	le16 pfv;
	uint8_t cpda;
	uint8_t digest;
	le32 maxh2cdata;
	uint8_t rsvd16[112];
};
NVME_ASSERT_SIZE(struct nvme_tcp_icresp, 128);
NVME_ASSERT_OFF(struct nvme_tcp_icresp, cpda, 10);
NVME_ASSERT_OFF(struct nvme_tcp_icresp, digest, 11);
NVME_ASSERT_OFF(struct nvme_tcp_icresp, maxh2cdata, 12);
#define NVME_TCP_HDGST_ENABLE	0x01
#define NVME_TCP_DDGST_ENABLE	0x02

/*
 * H2CTermReq / C2HTermReq header, 24 bytes [TCP-1.0c §3.6.2.4, Fig. 28-29].
 * The offending PDU header follows as data. FEI sits at byte 10, so it is a
 * byte array.
 */
struct nvme_tcp_term {
	struct nvme_tcp_hdr hdr;
	le16 fes;
	uint8_t fei[4];
	uint8_t rsvd14[10];
};
NVME_ASSERT_SIZE(struct nvme_tcp_term, 24);
NVME_ASSERT_OFF(struct nvme_tcp_term, fes, 8);
NVME_ASSERT_OFF(struct nvme_tcp_term, fei, 10);
#define NVME_TCP_TERM_MAX_DATA	128	/* C2HTermReq PLEN <= 152 [TCP-1.0c Fig. 29] */

/* Fatal Error Status [TCP-1.0c Fig. 28]. */
#define NVME_TCP_FES_INVALID_HEADER	0x01
#define NVME_TCP_FES_PDU_SEQ_ERR	0x02
#define NVME_TCP_FES_HDGST_ERR		0x03
#define NVME_TCP_FES_DATA_RANGE		0x04
#define NVME_TCP_FES_R2T_LIMIT		0x05	/* also "data transfer limit exceeded" */
#define NVME_TCP_FES_UNSUPPORTED	0x06

/* CapsuleCmd, host -> controller [TCP-1.0c §3.6.2.5, Fig. 30]. */
struct nvme_tcp_cmd {
	struct nvme_tcp_hdr hdr;
	struct nvme_sqe sqe;
};
NVME_ASSERT_SIZE(struct nvme_tcp_cmd, 72);
NVME_ASSERT_OFF(struct nvme_tcp_cmd, sqe, 8);

/* CapsuleResp, controller -> host [TCP-1.0c §3.6.2.6, Fig. 31]. */
struct nvme_tcp_rsp {
	struct nvme_tcp_hdr hdr;
	struct nvme_cqe cqe;
};
NVME_ASSERT_SIZE(struct nvme_tcp_rsp, 24);
NVME_ASSERT_OFF(struct nvme_tcp_rsp, cqe, 8);

/* H2CData and C2HData, 24 bytes [TCP-1.0c §3.6.2.7-8, Fig. 32-33]. */
struct nvme_tcp_data {
	struct nvme_tcp_hdr hdr;
	le16 cccid;
	le16 ttag;		/* H2CData only; reserved in C2HData */
	le32 datao;
	le32 datal;
	uint8_t rsvd20[4];
};
NVME_ASSERT_SIZE(struct nvme_tcp_data, 24);
NVME_ASSERT_OFF(struct nvme_tcp_data, cccid, 8);
NVME_ASSERT_OFF(struct nvme_tcp_data, ttag, 10);
NVME_ASSERT_OFF(struct nvme_tcp_data, datao, 12);
NVME_ASSERT_OFF(struct nvme_tcp_data, datal, 16);

/* R2T, controller -> host, 24 bytes [TCP-1.0c §3.6.2.9, Fig. 34]. */
struct nvme_tcp_r2t {
	struct nvme_tcp_hdr hdr;
	le16 cccid;
	le16 ttag;
	le32 r2to;
	le32 r2tl;
	uint8_t rsvd20[4];
};
NVME_ASSERT_SIZE(struct nvme_tcp_r2t, 24);
NVME_ASSERT_OFF(struct nvme_tcp_r2t, ttag, 10);
NVME_ASSERT_OFF(struct nvme_tcp_r2t, r2to, 12);
NVME_ASSERT_OFF(struct nvme_tcp_r2t, r2tl, 16);

/* ==================================================================== */
/* 6. NVMe/RDMA connection private data                                */
/* ==================================================================== */

/*
 * An NVMe/RDMA queue is one RC queue pair set up through the RDMA CM. The
 * host's CM REQ, our REP and a REJ each carry a small private data record
 * [RDMA-1.0c §3.3]:
 *
 *   REQ, host -> controller, 32 bytes       REP, 32 bytes   REJ, 4 bytes
 *   0 recfmt  2 qid  4 hrqsize  6 hsqsize   0 recfmt        0 recfmt
 *   8 cntlid (0 from older hosts)           2 crqsize       2 sts
 *
 * HSQSIZE is 0's based, like Connect SQSIZE; HRQSIZE and CRQSIZE count
 * entries. The Linux host sends HSQSIZE = queue size - 1 and HRQSIZE =
 * queue size (admin: 31 and 32). Over RoCE the CM pads private data to its
 * full size with zeros, so a short record reads as zero fields.
 */
struct nvme_rdma_cm_req {
	le16 recfmt;
	le16 qid;
	le16 hrqsize;
	le16 hsqsize;
	le16 cntlid;
	uint8_t rsvd10[22];
};
NVME_ASSERT_SIZE(struct nvme_rdma_cm_req, 32);
NVME_ASSERT_OFF(struct nvme_rdma_cm_req, qid, 2);
NVME_ASSERT_OFF(struct nvme_rdma_cm_req, hrqsize, 4);
NVME_ASSERT_OFF(struct nvme_rdma_cm_req, hsqsize, 6);
NVME_ASSERT_OFF(struct nvme_rdma_cm_req, cntlid, 8);

struct nvme_rdma_cm_rep {
	le16 recfmt;
	le16 crqsize;
	uint8_t rsvd4[28];
};
NVME_ASSERT_SIZE(struct nvme_rdma_cm_rep, 32);
NVME_ASSERT_OFF(struct nvme_rdma_cm_rep, crqsize, 2);

struct nvme_rdma_cm_rej {
	le16 recfmt;
	le16 sts;
};
NVME_ASSERT_SIZE(struct nvme_rdma_cm_rej, 4);
NVME_ASSERT_OFF(struct nvme_rdma_cm_rej, sts, 2);

#define NVME_RDMA_CM_FMT_1_0		0x0
/* RDMA_CM_REJECT status codes [RDMA-1.0c §3.3]. */
#define NVME_RDMA_CM_INVALID_LEN	0x01
#define NVME_RDMA_CM_INVALID_RECFMT	0x02
#define NVME_RDMA_CM_INVALID_QID	0x03
#define NVME_RDMA_CM_INVALID_HSQSIZE	0x04
#define NVME_RDMA_CM_INVALID_HRQSIZE	0x05
#define NVME_RDMA_CM_NO_RSC		0x06
#define NVME_RDMA_CM_INVALID_IRD	0x07
#define NVME_RDMA_CM_INVALID_ORD	0x08
#define NVME_RDMA_CM_INVALID_CNTLID	0x09

/* TSAS of an RDMA discovery log entry [BASE-2.0c Fig. 263]: RDMA_QPTYPE
 * 1 (reliable connected), RDMA_PRTYPE 1 (no provider), RDMA_CMS 1 (RDMA CM). */
#define NVMF_RDMA_QPTYPE_CONNECTED	1
#define NVMF_RDMA_PRTYPE_NONE		1
#define NVMF_RDMA_CMS_RDMA_CM		1

#endif /* NVME_H */
