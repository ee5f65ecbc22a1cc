/*
 * sim/sim.h - the simulated controller's state, shared by the two files
 * that make the device: sim/sim.c (registers, DMA, queues, PRPs, NVM
 * commands, fault rules) and sim/admin.c (the admin command set).
 *
 * Only sim/ includes it. The rest of the tree sees the device through the
 * bus seam (struct nvme_bus_ops) and the sim_* test API, both in nvmf.h,
 * so nothing outside sim/ can reach into the register file or the rings.
 *
 * Sections: constants, the device's structures, then the few functions one
 * file of sim/ calls in the other.
 *
 * Tutorial chapter 08 reads it beside sim/sim.c.
 */
#ifndef SIM_SIM_H
#define SIM_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "../nvmf.h"

/* ==================================================================== */
/* Constants                                                           */
/* ==================================================================== */

/* Registers nvme.h does not name yet [BASE-2.0c §3.1.4, Fig. 35]. */
#define SIM_REG_INTMS		0x0c
#define SIM_REG_INTMC		0x10
#define SIM_REG_AQA		0x24
#define SIM_REG_ASQ		0x28
#define SIM_REG_ACQ		0x30
#define SIM_REG_DBS		0x1000	/* first doorbell */

/* CAP fields [BASE-2.0c Fig. 36]. */
#define SIM_CAP_CQR		(1ull << 16)	/* queues must be contiguous */
#define SIM_CAP_TO_SHIFT	24
#define SIM_CAP_DSTRD_SHIFT	32
#define SIM_CAP_CSS_NVM		(1ull << 37)
#define SIM_CAP_MPSMIN_SHIFT	48
#define SIM_CAP_MPSMAX_SHIFT	52

#define SIM_CSTS_SHST_OCCURRING	(1u << 2)	/* [BASE-2.0c Fig. 42] */

/* Status codes nvme.h does not have yet [BASE-2.0c Fig. 94-95]. */
#define SIM_SC_PRP_OFFSET	NVME_STATUS(0, 0x13)	/* PRP Offset Invalid */
#define SIM_SC_CQ_INVALID	NVME_STATUS(1, 0x00)
#define SIM_SC_ABORT_LIMIT	NVME_STATUS(1, 0x03)
#define SIM_SC_INVALID_VECTOR	NVME_STATUS(1, 0x08)
#define SIM_SC_QUEUE_DELETION	NVME_STATUS(1, 0x0c)	/* Invalid Queue Deletion */
#define SIM_SC_WRITE_FAULT	NVME_STATUS(2, 0x80)	/* [NVM-1.0c Fig. 60] */
#define SIM_SC_READ_ERROR	NVME_STATUS(2, 0x81)

/* Asynchronous event, type Error [BASE-2.0c Fig. 147-148]. */
#define SIM_AER_TYPE_ERROR	0
#define SIM_AER_BAD_DB_REG	0x00	/* write to an invalid doorbell register */
#define SIM_AER_BAD_DB_VALUE	0x01	/* invalid doorbell write value */

#define SIM_PAGE		4096u	/* CC.MPS 0, the only page size we take */
#define SIM_MAX_IOQ		64
#define SIM_AERL		3	/* 0's based: 4 AERs */
#define SIM_ACL			3	/* 0's based: 4 Aborts */
#define SIM_MAX_DELAYED		64
#define SIM_MAX_EVENTS		8
#define SIM_ERRLOG		16
#define SIM_IOVA_BASE		(1ull << 40)

/* ==================================================================== */
/* Structures                                                          */
/* ==================================================================== */

/* One DMA region: memory the device may reach, at va, seen by it at iova. */
struct sim_region {
	uint8_t *va;
	size_t len;
	uint64_t iova;
	bool owned;			/* dma_alloc'ed: ours to free */
};

/*
 * A queue pair's two rings. Ownership, as in every NVMe driver:
 *   SQ: the host owns the tail (doorbell), the device the head (SQHD).
 *   CQ: the device owns the tail and the phase, the host the head (doorbell).
 */
struct sim_sq {
	bool live;
	uint64_t iova;
	uint32_t size;			/* entries, 1's based */
	uint32_t head, tail;
	uint16_t cqid;
};

struct sim_cq {
	bool live;
	uint64_t iova;
	uint32_t size;
	uint32_t head, tail;
	uint16_t phase;			/* the tag we write; flips on wrap */
	uint16_t nsq;			/* SQs bound to it */
};

/* A command a DELAY rule holds: fetched, not yet executed. (AERs wait
 * in sim_ctrl.aer_cid: they need no SQE, only a CID to answer.) */
struct sim_cmd {
	bool used;
	uint16_t sqid;
	struct nvme_sqe sqe;
	unsigned polls;			/* polls left before it runs */
};

struct sim_rule {
	bool used;
	struct sim_fault f;
	unsigned seen;			/* matching commands since added */
};

struct sim_ctrl {
	struct nvme_bus bus;		/* first: the driver holds &bus */
	/* what the spec options chose */
	uint8_t dstrd, mdts, to;
	uint16_t mqes, max_ioq;
	/* the namespace */
	uint8_t *mem;			/* memory backing, or NULL */
	int fd;				/* file backing, or -1 */
	uint64_t nsze;			/* blocks */
	uint32_t blksz;
	uint8_t lbads;
	/* registers */
	uint64_t cap;
	uint32_t cc, csts, aqa;
	uint64_t asq, acq;
	/* slow RDY: a pending CSTS.RDY change */
	unsigned rdy_reads, rdy_ms;
	bool rdy_pending;
	unsigned rdy_left;
	uint64_t rdy_due;
	/* queues; index 0 is the admin pair */
	struct sim_sq sq[SIM_MAX_IOQ + 1];
	struct sim_cq cq[SIM_MAX_IOQ + 1];
	uint16_t nioq;			/* granted by Number of Queues */
	bool nioq_set;
	/* features [BASE-2.0c §5.27.1] */
	uint32_t feat_arb, feat_pm, feat_temp, feat_err, feat_aec;
	/* asynchronous events [BASE-2.0c §5.2] */
	uint16_t aer_cid[SIM_AERL + 1];
	unsigned naer;
	uint32_t events[SIM_MAX_EVENTS];	/* dw0 of events not yet sent */
	unsigned nevents;
	bool error_masked;		/* until the host reads log 01h */
	/* Error Information log, newest first [BASE-2.0c §5.16.1.2] */
	struct nvme_error_log errlog[SIM_ERRLOG];
	uint64_t err_count;
	/* SMART counters [BASE-2.0c §5.16.1.3] */
	uint64_t units_read, units_written, host_reads, host_writes;
	/* fault injection and commands in flight */
	struct sim_rule rules[SIM_MAX_FAULTS];
	struct sim_cmd held[SIM_MAX_DELAYED];
	/* the IOVA table */
	struct sim_region *rgn;
	int nrgn, rgn_cap;
	uint64_t next_iova;
	/* scratch for one command: its data segments and a 4 KiB page */
	struct iovec *segs;
	unsigned max_segs;
	_Alignas(8) uint8_t page[SIM_PAGE];	/* holds le64 structures */
	struct sim_stats stats;
	bool trace;
};

/* ==================================================================== */
/* Calls between the two files                                         */
/* ==================================================================== */

/* sim/sim.c: translate an IOVA range (NULL if no region holds it), copy
 * a controller data structure to the command's PRPs, post a CQE. */
void *sim_dma_va(struct sim_ctrl *s, uint64_t iova, size_t len);
uint16_t sim_to_host(struct sim_ctrl *s, const struct nvme_sqe *sqe,
		     const void *buf, uint32_t len);
int sim_cq_post(struct sim_ctrl *s, uint16_t sqid, uint16_t cid,
		uint16_t status, uint32_t dw0);

/* sim/admin.c: run one admin command; *hold means "no completion now". */
uint16_t sim_admin(struct sim_ctrl *s, const struct nvme_sqe *sqe, uint32_t *dw0, bool *hold);

#endif
