/*
 * host.h - what the host's three files share: host.c (the initiator core:
 * options, connect, the controller, discover, identify), host_queue.c
 * (the TCP and RDMA queues that carry commands) and perf.c (nvmf perf).
 *
 * Sections: the constants more than one file uses; structs (options, a command slot, a queue, a
 * controller); the functions one host file calls in another, by file.
 *
 * Tutorial chapter 05 reads it beside host.c.
 */
#ifndef HOST_H
#define HOST_H

#include <getopt.h>
#include <stdarg.h>
#include <sys/uio.h>

#include "nvmf.h"

/* ==================================================================== */
/* Constants                                                           */
/* ==================================================================== */

#define HOST_IO_NQN		"nqn.2026-11.io.nvmf:cnode1"	/* our target's default */
#define HOST_ADMIN_SQSIZE	31		/* 32 entries, 0's based, as Linux */
#define HOST_KATO_MS		30000
#define HOST_TIMEOUT_MS		10000		/* for any one command */
#define HOST_PDU_MAX		256		/* PDO is one byte */

/* ==================================================================== */
/* Structs                                                             */
/* ==================================================================== */

/* Where to connect and as whom: the SPDK-style transport ID and more. */
struct host_opts {
	char trtype[16], adrfam[16], traddr[256], trsvcid[32];
	char subnqn[NVMF_NQN_SIZE], hostnqn[NVMF_NQN_SIZE];
	uint8_t hostid[16];
	uint32_t nsid;			/* -n, or ns: in the transport ID */
	bool hdgst, ddgst;
	char dhchap[256], dhchap_ctrl[256];	/* DHHC-1 secrets (auth.c), or "" */
};

/* Which way a command's data flows [BASE-2.0c Fig. 27: opcode bits 1:0]. */
enum host_xfer { HOST_XFER_NONE, HOST_XFER_H2C, HOST_XFER_C2H };

/*
 * The receive state machine. The receive buffer holds whole PDU headers;
 * C2HData payload goes to the command's buffer:
 *
 *   +----------+ C2HData header +-----------+ DDGST on +------------+
 *   | RECV_PDU |--------------->| RECV_DATA |--------->| RECV_DDGST |
 *   +----------+                +-----------+          +------------+
 *     ^   ^  other PDUs:            | DDGST off              |
 *     |   +- handled in place       |                        |
 *     +-----------------------------+------------------------+
 */
enum host_rstate {
	HOST_RECV_PDU,		/* waiting for a whole PDU header */
	HOST_RECV_DATA,		/* C2HData payload, into rcmd's buffer */
	HOST_RECV_DDGST,	/* the 4-byte data digest after it */
};

/* One H2CData PDU's header and digest, kept until writev() sent them. */
struct host_h2c {
	_Alignas(8) uint8_t hdr[sizeof(struct nvme_tcp_data) + NVME_TCP_DIGEST_LEN];
	le32 ddgst;
};

/* A command slot. Its CID is its index in the queue. */
struct host_cmd {
	uint16_t cid;
	bool busy;			/* between host_cmd_get and _put */
	bool done;			/* CapsuleResp arrived: cqe is valid */
	bool icd;			/* the write data went in the capsule */
	bool ddgst_bad;			/* a C2HData digest failed */
	enum host_xfer xfer;
	uint8_t *buf;
	uint32_t len;
	uint32_t c2h_next;		/* read: data bytes received */
	uint32_t r2t_next;		/* write: data bytes asked for by R2T */
	struct nvme_cqe cqe;
	struct nvme_sqe sqe;		/* to decode the completion (status, --trace) */
	_Alignas(8) uint8_t pdu[sizeof(struct nvme_tcp_cmd) + NVME_TCP_DIGEST_LEN];
	le32 icd_ddgst;
	struct host_h2c *h2c;		/* enough for max_data in 4 KiB PDUs */
};

/* One NVMe/TCP connection: the admin queue or an I/O queue. */
struct host_queue {
	int fd;
	struct rdma_host *rdma;		/* an NVMe/RDMA queue: rdma_host_* carry it */
	int rdma_rc;			/* the RDMA queue failed: this -errno */
	uint16_t qid;
	char peer[300];			/* "traddr:trsvcid", for messages */
	bool ic_done;			/* ICResp received */
	bool hdgst, ddgst;		/* as ICResp granted them */
	uint32_t maxh2cdata;		/* ICResp: largest H2CData we may send */
	uint32_t icd_max;		/* in-capsule data the target takes */
	uint32_t max_data;		/* largest command data on this queue */

	/* receive */
	enum host_rstate rstate;
	uint8_t *rbuf;
	uint32_t rpos, rlen;		/* unparsed bytes: rbuf[rpos..rlen) */
	_Alignas(8) uint8_t pdu[HOST_PDU_MAX];	/* the header being handled */
	uint32_t pdu_len;
	struct host_cmd *rcmd;		/* RECV_DATA: whose buffer */
	uint8_t *rdst;
	uint32_t rleft, rdatao, rdatal;
	bool rsuccess;			/* the C2HData said SUCCESS: no CapsuleResp */
	_Alignas(8) uint8_t icresp[sizeof(struct nvme_tcp_icresp)];

	/* send: a ring of pieces not yet sent */
	struct iovec *out;
	uint32_t out_head, out_count, out_cap;
	_Alignas(8) uint8_t icreq[sizeof(struct nvme_tcp_icreq)];
	_Alignas(8) uint8_t term[sizeof(struct nvme_tcp_term) + NVME_TCP_TERM_MAX_DATA];

	/* slots */
	struct host_cmd *cmds;
	unsigned nr_cmds;
	uint16_t *free;			/* stack of free CIDs */
	unsigned nr_free;
	uint16_t *done;			/* perf: completions to reap, or NULL */
	unsigned nr_done;
};

/* A controller as the host sees it: the admin queue and what it said. */
struct host_ctrl {
	const struct host_opts *o;
	struct host_queue *aq;
	uint16_t cntlid;
	uint64_t cap;
	uint32_t vs;
	uint32_t kato_ms;
	struct host_cmd *ka;		/* perf: the Keep Alive in flight */
	uint64_t next_ka_ns;
	struct nvme_id_ctrl id;
};

/* -v: each step says what it did, through host_info(). */
extern bool host_verbose;

#define host_info(...) do { if (host_verbose) host_err(__VA_ARGS__); } while (0)

/* ==================================================================== */
/* Between the files                                                   */
/* ==================================================================== */

/* host.c, helpers: messages to the user (stderr) and the clock. host_err
 * only prints; each caller returns its own error, so a reader sees which
 * domain (-errno or an NVMe status) every return belongs to. */
void host_vmsg(const char *fmt, va_list ap);
void __attribute__((format(printf, 1, 2))) host_err(const char *fmt, ...);
int __attribute__((format(printf, 2, 3))) host_must(bool ok, const char *fmt, ...);
uint64_t host_now_ns(void);
uint64_t host_rand(uint64_t *s);
uint16_t host_status(const struct nvme_cqe *cqe);
const char *host_status_str(uint16_t st, const struct nvme_sqe *sqe, uint16_t qid,
			    char *buf, size_t len);
void host_print_status(const char *what, const struct nvme_sqe *sqe, uint16_t qid,
		       const struct nvme_cqe *cqe);

/* host.c, options: every subcommand takes them all; perf alone acts on
 * --verify. The long ones start at 256 so none can clash with a letter. */
enum { HOST_OPT_HDGST = 256, HOST_OPT_DDGST, HOST_OPT_TRACE, HOST_OPT_VERIFY,
       HOST_OPT_DHCHAP, HOST_OPT_DHCHAP_CTRL };
extern const struct option host_longopts[];
int host_opt_common(int ch, struct host_opts *o);
int host_usage(int ch, const char *text);
int host_opts_finish(struct host_opts *o, const char *port, const char *subnqn);

/* host.c, the controller: Connect on any queue, bring-up, one admin
 * command, shut down. */
int host_fabrics_connect(struct host_queue *q, const struct host_opts *o, uint16_t sqsize,
			 uint32_t kato_ms, uint16_t *cntlid);
int host_admin(struct host_ctrl *c, uint8_t opc, uint32_t nsid, uint32_t cdw10,
	       uint32_t cdw11, uint64_t cdw12_13, void *buf, uint32_t len, const char *what);
int host_ctrl_connect(struct host_ctrl *c, const struct host_opts *o, uint32_t kato_ms,
		      bool discovery);
void host_ctrl_shutdown(struct host_ctrl *c, bool polite);

/* host_queue.c: a queue's life, its command slots, and one command's
 * round trip (host_exec waits; perf submits and reaps on its own). */
struct host_queue *host_queue_alloc(uint16_t qid, unsigned slots, uint32_t max_data);
void host_queue_free(struct host_queue *q);
struct host_cmd *host_cmd_get(struct host_queue *q);
void host_cmd_put(struct host_queue *q, struct host_cmd *c);
int host_flush(struct host_queue *q);
void host_cmd_submit(struct host_queue *q, struct host_cmd *c,
		     const struct nvme_sqe *sqe, void *buf, uint32_t len);
int host_queue_fd(const struct host_queue *q);
int host_queue_process(struct host_queue *q);
int host_exec(struct host_queue *q, const struct nvme_sqe *sqe, void *buf,
	      uint32_t len, struct nvme_cqe *cqe);
int host_queue_connect(struct host_queue *q, const struct host_opts *o);

#endif
