/*
 * rdma_parse.c - what an NVMe/RDMA host sends, checked and decoded from
 * its bytes alone: the private data of its CM connection request
 * [RDMA-1.0c §3.3] (and the reject statuses' names), and what one
 * capsule asks for: the SGL of its SQE [RDMA-1.0c §3.2] and the keyed
 * data block descriptors it names [BASE-2.0c Fig. 123]. Nothing here
 * touches a queue or a device, so tests/fuzz_test.c can feed it
 * anything; rdma.c calls it for every request and every capsule.
 *
 *   capsule: | SQE (64) | in-capsule area (up to RDMA_ICD) |
 *                 |
 *                 dptr: Data Block, Offset     --> data in the capsule
 *                       Keyed Data Block       --> one descriptor
 *                       Last Segment, Offset   --> up to MSDBD keyed
 *                                                  descriptors in the capsule
 *                 --> struct rdma_capsule (nvmf.h): data_len, icd_off/len,
 *                     rsge[], invalidate
 *
 * Not implemented: a Segment descriptor, or a Last Segment with an
 * address rather than an offset (descriptors we would first have to read
 * from the host's memory); both are answered SGL Descriptor Type Invalid.
 *
 * Tutorial chapter 06 reads it with rdma.c's accept and receive paths.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <endian.h>

#include "nvmf.h"

/* ==================================================================== */
/* The CM connection request                                           */
/* ==================================================================== */

static const char *const rdma_rej_name[] = {
	[NVME_RDMA_CM_INVALID_LEN] = "invalid private data length",
	[NVME_RDMA_CM_INVALID_RECFMT] = "invalid record format",
	[NVME_RDMA_CM_INVALID_QID] = "invalid queue ID",
	[NVME_RDMA_CM_INVALID_HSQSIZE] = "invalid host SQ size",
	[NVME_RDMA_CM_INVALID_HRQSIZE] = "invalid host RQ size",
	[NVME_RDMA_CM_NO_RSC] = "no resources",
	[NVME_RDMA_CM_INVALID_IRD] = "invalid IRD",
	[NVME_RDMA_CM_INVALID_ORD] = "invalid ORD",
	[NVME_RDMA_CM_INVALID_CNTLID] = "invalid controller ID",
};

/* A CM REJ's NVMe/RDMA status in words, for either side's messages. */
const char *rdma_rej_str(uint16_t sts)
{
	return sts < ARRAY_SIZE(rdma_rej_name) && rdma_rej_name[sts] ? rdma_rej_name[sts] : "unknown";
}

/*
 * Check the CM REQ private data [RDMA-1.0c §3.3]: at least 32 bytes,
 * RECFMT 0, a QID we could grant, a host SQ of 2..MAXCMD entries (32 on
 * the admin queue), and a host RQ big enough for one response per
 * command. Returns 0 or the RDMA_CM_REJECT status, with *why filled.
 */
uint16_t rdma_cm_req_check(const struct nvme_rdma_cm_req *req, size_t len, char *why,
			   size_t wlen)
{
	uint16_t qid = le16toh(req->qid), hsq = le16toh(req->hsqsize) + 1u;
	uint16_t hrq = le16toh(req->hrqsize), max = qid ? NVMF_MAXCMD : NVMF_ADMIN_QSIZE;

	if (len < sizeof(*req))
		return snprintf(why, wlen, "private data of %zu bytes, want 32", len),
		       NVME_RDMA_CM_INVALID_LEN;
	if (le16toh(req->recfmt) != NVME_RDMA_CM_FMT_1_0)
		return snprintf(why, wlen, "RECFMT %u, we know 0", le16toh(req->recfmt)),
		       NVME_RDMA_CM_INVALID_RECFMT;
	if (qid > NVMF_MAX_IO_QUEUES)
		return snprintf(why, wlen, "QID %u above the %u I/O queues we offer", qid,
				NVMF_MAX_IO_QUEUES), NVME_RDMA_CM_INVALID_QID;
	/* HSQSIZE is 0's based: the Linux host sends queue size - 1. */
	if (hsq < 2 || hsq > max)
		return snprintf(why, wlen, "HSQSIZE %u (%u entries), want 1..%u", hsq - 1u, hsq,
				max - 1u), NVME_RDMA_CM_INVALID_HSQSIZE;
	if (hrq < hsq)
		return snprintf(why, wlen, "HRQSIZE %u smaller than the %u-entry SQ", hrq, hsq),
		       NVME_RDMA_CM_INVALID_HRQSIZE;
	return 0;
}

/* ==================================================================== */
/* Capsules                                                            */
/* ==================================================================== */

/* Take one keyed data block descriptor [BASE-2.0c Fig. 123]: 8-byte
 * address, 3-byte length, 4-byte key. Subtype 0 is a plain address, Fh
 * asks us to invalidate the key with the response [RDMA-1.0c §3.2].
 * Returns 0 or the NVMe status to answer. */
static uint16_t rdma_sgl_keyed(struct rdma_capsule *c, const struct nvme_keyed_sgl *d)
{
	uint8_t sub = d->type & 0xf;
	uint32_t len = d->length[0] | d->length[1] << 8 | (uint32_t)d->length[2] << 16;
	uint32_t key;

	memcpy(&key, d->key, sizeof(key));
	key = le32toh(key);
	if (d->type >> 4 != NVME_SGL_TYPE_KEYED_DATA_BLOCK ||
	    (sub != NVME_SGL_SUBTYPE_ADDRESS && sub != NVME_SGL_SUBTYPE_INVALIDATE_KEY))
		return NVME_SC_SGL_INVALID_TYPE;
	if (sub == NVME_SGL_SUBTYPE_INVALIDATE_KEY) {
		/* Not implemented: two different keys to invalidate, because
		 * one SEND with Invalidate carries one key. */
		if (c->invalidate && c->inv_key != key)
			return NVME_SC_SGL_INVALID_DATA;
		c->invalidate = true;
		c->inv_key = key;
	}
	c->data_len += len;
	if (len)
		c->rsge[c->nr_rsge++] = (struct rdma_sge_remote){ le64toh(d->addr), len, key };
	return 0;
}

/* Does the command carry data to us? Opcode bits 1:0, or FCTYPE's for a
 * fabrics command, are 01b [BASE-2.0c Fig. 27, Fig. 542]. */
static bool rdma_sqe_writes(const struct nvme_sqe *sqe)
{
	uint8_t bits = sqe->opcode == NVME_FABRICS_OPCODE
		       ? ((const struct nvmf_fabrics_cmd *)sqe)->fctype & 3 : sqe->opcode & 3;

	return bits == 1;
}

/*
 * Decode the SGL of sqe, whose capsule brought icd_len bytes after it.
 * NVMe/RDMA knows three forms [RDMA-1.0c §3.2]:
 *   in-capsule data: Data Block, Offset subtype; the offset counts from
 *       the start of the in-capsule area (ICDOFF is 0);
 *   one keyed data block in the SQE;
 *   a Last Segment (Offset subtype) in the SQE pointing at up to MSDBD
 *       keyed data blocks in the capsule.
 * Returns 0 or the NVMe status to answer.
 */
static uint16_t rdma_sgl_parse(struct rdma_capsule *c, const struct nvme_sqe *sqe,
			       const uint8_t *icd, uint32_t icd_len)
{
	const struct nvme_sgl *sgl = &sqe->dptr;
	uint64_t off = le64toh(sgl->addr);
	uint32_t len = le32toh(sgl->length);
	uint8_t type = sgl->type >> 4, sub = sgl->type & 0xf;

	if (type == NVME_SGL_TYPE_KEYED_DATA_BLOCK)
		return rdma_sgl_keyed(c, (const struct nvme_keyed_sgl *)sgl);
	if (type == NVME_SGL_TYPE_DATA_BLOCK && sub == NVME_SGL_SUBTYPE_OFFSET) {
		if (len && !rdma_sqe_writes(sqe))	/* nowhere to put read data */
			return NVME_SC_SGL_INVALID_TYPE;
		if (off > icd_len || len > icd_len - off)
			return NVME_SC_SGL_INVALID_OFFSET;
		c->icd_off = sizeof(struct nvme_sqe) + (uint32_t)off;
		c->data_len = c->icd_len = len;
		return 0;
	}
	if (type == NVME_SGL_TYPE_LAST_SEGMENT && sub == NVME_SGL_SUBTYPE_OFFSET) {
		if (len == 0 || len % sizeof(struct nvme_sgl))
			return NVME_SC_SGL_INVALID_DATA;
		if (len / sizeof(struct nvme_sgl) > NVMF_RDMA_MSDBD)	/* Identify MSDBD */
			return NVME_SC_SGL_INVALID_COUNT;
		if (off > icd_len || len > icd_len - off)
			return NVME_SC_SGL_INVALID_OFFSET;
		for (uint32_t i = 0; i < len; i += sizeof(struct nvme_sgl)) {
			struct nvme_keyed_sgl d;
			uint16_t st;

			memcpy(&d, icd + off + i, sizeof(d));
			if ((st = rdma_sgl_keyed(c, &d)))
				return st;
		}
		return 0;
	}
	/* A command without data may carry any descriptor of length 0. */
	return len == 0 ? 0 : NVME_SC_SGL_INVALID_TYPE;
}

/*
 * Decode the len bytes of a capsule [RDMA-1.0c §3.2]: an SQE at sqe_buf,
 * then up to RDMA_ICD bytes of in-capsule data or descriptors at icd.
 * Only bytes in, a decision out: -EPROTO for a capsule no host may send
 * (shorter than an SQE, or longer than the receive we posted: the queue
 * is then closed), else 0 or the NVMe status to answer the command with,
 * and *c filled. On 0, c->icd_off + c->icd_len <= len (icd_off counts
 * from the SQE's first byte) and c->nr_rsge <= MSDBD.
 */
int rdma_capsule_decode_at(const uint8_t *sqe_buf, const uint8_t *icd, uint32_t len,
			   struct rdma_capsule *c)
{
	struct nvme_sqe sqe;

	memset(c, 0, sizeof(*c));
	if (len < sizeof(sqe) || len > RDMA_CAPSULE_SIZE)
		return -EPROTO;
	memcpy(&sqe, sqe_buf, sizeof(sqe));
	return rdma_sgl_parse(c, &sqe, icd, len - sizeof(sqe));
}

/* The same, for a capsule in one buffer (tests/fuzz_test.c feeds it). */
int rdma_capsule_decode(const uint8_t *buf, uint32_t len, struct rdma_capsule *c)
{
	return rdma_capsule_decode_at(buf, buf + sizeof(struct nvme_sqe), len, c);
}
