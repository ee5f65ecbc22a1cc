/*
 * nvmf.h - the project's internal interfaces, grouped by the file that
 * defines them (xv6 defs.h style). Wire formats live in nvme.h.
 *
 * The shapes that cross files:
 *
 *   nvmf_reactor 1---* nvmf_queue *---1 nvmf_ctrl *---1 nvmf_subsys 1---* nvmf_ns
 *     (a thread)        (one per          (Connect       (an NQN)          (nsid ->
 *                       connection)       qid 0 makes                       nvmf_bdev)
 *                            |            one)
 *                            1---* nvmf_req  (one per queue slot, preallocated)
 *
 * And the three seams, the only places where one part of the code
 * calls another through a table of function pointers:
 *   struct nvmf_transport_ops  what nvmf.c asks of tcp.c and rdma.c
 *   struct nvmf_bdev_ops       what nvmf.c asks of a storage backend
 *   struct nvme_bus_ops        what pcie_nvme.c asks of a device (VFIO, sim/)
 *
 * Tutorial chapter 02 reads this file after nvme.h; later chapters come
 * back to the section of the file they read.
 */
#ifndef NVMF_H
#define NVMF_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include <sys/socket.h>

#include "nvme.h"

#define NVMF_VERSION		"0.1"

/* Limits we advertise. MDTS is 2^NVMF_MDTS pages of 4 KiB (Identify
 * Controller MDTS is in units of CAP.MPSMIN) [BASE-2.0c Fig. 275]. This
 * is the PCIe backends' bounce size and RDMA's default; TCP's and RDMA's
 * are options (g_tcp_max_io_size, g_rdma_max_io_size). */
#define NVMF_PAGE_SIZE		4096u
#define NVMF_MDTS		5		/* 128 KiB */
#define NVMF_MAX_DATA		(NVMF_PAGE_SIZE << NVMF_MDTS)
#define NVMF_MAXCMD		128		/* queue entries, CAP.MQES + 1 */
#define NVMF_ADMIN_QSIZE	32
#define NVMF_MAX_IO_QUEUES	64
#define NVMF_ADMIN_ICD		8192		/* the Linux host sends up to 8 KiB in-capsule on admin/fabrics commands */
#define NVMF_IO_ICD		8192		/* IOCCSZ = (64 + this) / 16 */
#define NVMF_AERL		3		/* 0's based: 4 AERs outstanding */
#define NVMF_MAX_NS		32
#define NVMF_KAS_100MS		1		/* KAS granularity, 100 ms units */
#define NVMF_ERRLOG_ENTRIES	16
#define NVMF_MAX_SUBSYS_LISTENERS 16

#define container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

/* ==================================================================== */
/* main.c: logging, time, the reactor                                  */
/* ==================================================================== */

enum { NVMF_LOG_ERR, NVMF_LOG_WARN, NVMF_LOG_INFO, NVMF_LOG_DBG };
extern int g_log_level;		/* -v raises it; default INFO */
extern bool g_trace;		/* --trace: one line per PDU and command */

void nvmf_log(int level, const char *file, int line, const char *func,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#define LOG_ERR(...)  nvmf_log(NVMF_LOG_ERR, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define LOG_WARN(...) nvmf_log(NVMF_LOG_WARN, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define LOG_INFO(...) nvmf_log(NVMF_LOG_INFO, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define LOG_DBG(...) \
	do { if (g_log_level >= NVMF_LOG_DBG) \
		nvmf_log(NVMF_LOG_DBG, __FILE__, __LINE__, __func__, __VA_ARGS__); } while (0)
void nvmf_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pdu_hexdump(const char *what, const void *buf, size_t len);
uint64_t nvmf_now_ms(void);

/*
 * A reactor is one thread with one epoll set. Every fd it watches carries a
 * struct nvmf_poller in epoll's data.ptr, so an event goes straight to the
 * code that owns the fd. Queues are handed to a reactor once and stay there:
 * everything a queue owns is touched only by its reactor's thread.
 */
struct nvmf_poller {
	int fd;
	void (*fn)(struct nvmf_poller *p, uint32_t events);
};

/*
 * Data buffers (bdev.c). Each reactor lends its commands buffers from one
 * pool, so memory follows the bytes in flight, not the number of queues:
 * a connection costs its staging buffer and slots, and a command borrows
 * a buffer for its data only while it runs. Sizes are powers of two from
 * one page up; free buffers are cached per size, and the whole pool never
 * maps more than g_buf_pool_size bytes. A command that finds it full
 * waits until gen moves (a buffer came back), and then asks again.
 */
#define NVMF_BUF_CLASSES	12		/* 4 KiB << 0..11: up to 8 MiB */
#define NVMF_BUF_POOL_DEFAULT	(64u << 20)	/* bytes per reactor */

struct nvmf_buf_pool {
	void *free[NVMF_BUF_CLASSES];	/* cached, linked through their first word */
	uint64_t held;			/* bytes mapped: lent + cached */
	uint64_t lent;			/* bytes lent to commands now */
	unsigned gen;			/* bumped at every return */
	/* Called before a cached buffer is unmapped, if set: rdma.c drops
	 * the buffer's memory registrations there. */
	void (*forget)(struct nvmf_buf_pool *p, void *buf, uint32_t size);
};

extern uint64_t g_buf_pool_size;	/* -b/--buffer-pool, bytes per reactor */
void *nvmf_buf_get(struct nvmf_buf_pool *p, uint32_t len, uint32_t *cap);
void nvmf_buf_put(struct nvmf_buf_pool *p, void *buf, uint32_t cap);
void nvmf_buf_trim(struct nvmf_buf_pool *p, uint64_t max);

struct nvmf_reactor {
	int id;
	int epfd;
	pthread_t thread;
	struct nvmf_poller wake;	/* eventfd: new queues or stop */
	pthread_mutex_t inbox_lock;	/* guards inbox */
	struct nvmf_queue *inbox;	/* queues handed over, not yet added */
	struct nvmf_queue *queues;	/* every queue this reactor owns */
	struct nvmf_buf_pool pool;	/* data buffers of its commands */
	unsigned idle_ticks;		/* ticks in a row with no work at all */
	bool busy;			/* a pass found work since the last tick */
	unsigned trim_gen;		/* pool.gen at the last tick */
	atomic_uint passes;		/* bumped at each pass: nvmf_quiesce() */
	atomic_uint lost_wakeups;	/* sleeps refused: work was stranded */
	atomic_bool stop;
};

extern struct nvmf_reactor *g_reactors;
extern int g_nr_reactors;
int nvmf_reactor_watch(struct nvmf_reactor *r, struct nvmf_poller *p, uint32_t events);
int nvmf_reactor_modify(struct nvmf_reactor *r, struct nvmf_poller *p, uint32_t events);
void nvmf_reactor_unwatch(struct nvmf_reactor *r, struct nvmf_poller *p);
void nvmf_reactor_add_queue(struct nvmf_queue *q);	/* any thread */
struct nvmf_reactor *nvmf_reactor_next(void);		/* round-robin */

/* ==================================================================== */
/* The backend seam (bdev.c)                                           */
/* ==================================================================== */

struct nvmf_req;
struct nvmf_bdev;

/*
 * What a storage backend does. submit() takes an I/O request (read, write,
 * flush, write zeroes, deallocate) and finishes it later by calling
 * nvmf_bdev_done(), possibly before it returns (ram, null). poll() reaps
 * completions for backends that have them, on the reactor that submitted.
 */
struct nvmf_bdev_ops {
	const char *kind;
	void (*submit)(struct nvmf_bdev *b, struct nvmf_req *r);
	int (*poll)(struct nvmf_bdev *b);
	void (*free)(struct nvmf_bdev *b);
	/* Optional (ram): the blocks' own memory, for a read sent from where
	 * it lies. Valid while the namespace is held (ns->inflight). */
	uint8_t *(*map)(struct nvmf_bdev *b, uint64_t slba, uint64_t nblocks);
};

struct nvmf_bdev {
	const struct nvmf_bdev_ops *ops;
	char name[64];
	uint64_t nblocks;
	uint32_t blksz;
	uint8_t lbads;			/* log2(blksz) */
	bool vwc;			/* has a volatile write cache */
	bool deallocate_zeroes;		/* deallocated blocks read zeroes */
	bool read_only;			/* writes fail: namespace write protected */
	uint32_t max_xfer;		/* most bytes per command; 0: no limit */
	void *priv;
};

/* Backend I/O operations, in struct nvmf_req.bio. */
enum nvmf_bio_op { BIO_READ, BIO_WRITE, BIO_FLUSH, BIO_WRITE_ZEROES, BIO_DEALLOC };

int bdev_create(const char *spec, struct nvmf_bdev **out, char *err, size_t errlen);
int bdev_parse_size(const char *s, uint64_t *out);	/* "64M" -> bytes */
int bdev_file_create(const char *path, uint32_t bs, bool ro, struct nvmf_bdev **out,
		     char *err, size_t errlen);	/* file: and bdev_aio/uring_create */
void bdev_free(struct nvmf_bdev *b);

/* The bdev registry (bdev.c): bdevs by name, claimed or not, for the RPC
 * methods. Only the RPC thread, or main before it starts, touches it. */
struct bdev_entry {
	struct bdev_entry *next;
	struct nvmf_bdev *b;
	const char *method;		/* bdev_malloc_create, ... */
	char filename[256];		/* aio, uring */
	char ctrlr[64];			/* nvme: the controller it belongs to */
};
extern struct bdev_entry *g_bdevs;	/* newest first */
struct bdev_entry *bdev_find(const char *name);
int bdev_name_check(const char *name, char *err, size_t errlen);
int bdev_register(const char *name, struct nvmf_bdev *b, const char *method,
		  struct bdev_entry **out);
int bdev_adopt(struct nvmf_bdev *b);
int bdev_unregister(const char *name);
void bdev_registry_free(bool (*claimed)(const struct nvmf_bdev *b));
int bdev_poll_all(void);		/* a reactor reaps polled backends */
void nvmf_bdev_done(struct nvmf_req *r, uint16_t status);	/* in nvmf.c */

/* ==================================================================== */
/* The bus seam: what pcie_nvme.c asks of a device                     */
/* ==================================================================== */

/*
 * The driver in pcie_nvme.c sees a controller only through this table, so
 * the same driver code runs on VFIO (a real or QEMU-emulated SSD, in
 * pcie_vfio.c) and on the software controller in sim/.
 *   read32/64, write32/64: BAR0 registers by offset [BASE-2.0c §3.1.4].
 *       A doorbell is a register too: a write32 at 0x1000 + (2*qid + is_cq)
 *       * (4 << CAP.DSTRD) rings it.
 *   dma_alloc: zeroed, page-aligned memory the device can reach; *iova is
 *       the address the device uses (what goes into ASQ, PRPs, ...).
 *   dma_map/dma_unmap: make memory the caller already has visible to the
 *       device (zero copy); -ENOTSUP if the bus cannot.
 *   poll: give the device time to run. sim/ executes commands here, on the
 *       caller's thread; VFIO hardware runs by itself and leaves it NULL.
 *   close: release the device and every DMA mapping.
 */
struct nvme_bus;
struct nvme_bus_ops {
	const char *name;
	uint32_t (*read32)(struct nvme_bus *b, uint32_t off);
	uint64_t (*read64)(struct nvme_bus *b, uint32_t off);
	void (*write32)(struct nvme_bus *b, uint32_t off, uint32_t val);
	void (*write64)(struct nvme_bus *b, uint32_t off, uint64_t val);
	void *(*dma_alloc)(struct nvme_bus *b, size_t len, uint64_t *iova);
	void (*dma_free)(struct nvme_bus *b, void *va, size_t len);
	int (*dma_map)(struct nvme_bus *b, void *va, size_t len, uint64_t *iova);
	void (*dma_unmap)(struct nvme_bus *b, void *va, size_t len);
	void (*poll)(struct nvme_bus *b);
	void (*close)(struct nvme_bus *b);
};

/* Embedded first in each bus implementation's own struct. */
struct nvme_bus {
	const struct nvme_bus_ops *ops;
};

/* ==================================================================== */
/* The transport seam, and the request                                 */
/* ==================================================================== */

/*
 * What nvmf.c asks of a transport. Each call is made on the queue's reactor.
 *   start:      the queue's reactor has adopted it: begin receiving.
 *   fetch_data: bring the host's data for a write into r->data (TCP: R2T and
 *               H2CData; RDMA: RDMA READ), then call nvmf_req_data_ready().
 *   complete:   send r->data (r->xfer_len bytes) if the command reads, then
 *               the response in r->cqe; the slot is free once it is sent.
 *               When r->in_place, r->data is the namespace's memory: call
 *               nvmf_req_release() once the bytes are in the socket.
 *   close:      the controller is gone: tear the connection down.
 */
struct nvmf_transport_ops {
	const char *name;
	uint8_t trtype;			/* NVMF_TRTYPE_* */
	void (*start)(struct nvmf_queue *q);	/* its reactor adopted it */
	void (*fetch_data)(struct nvmf_req *r);
	void (*complete)(struct nvmf_req *r);
	void (*close)(struct nvmf_queue *q);
};

enum nvmf_xfer { XFER_NONE, XFER_H2C, XFER_C2H };

/*
 * One command slot. The transport embeds it in its own request struct and
 * fills sqe, data_len (what the SGL describes) and, for in-capsule data,
 * icd_len; nvmf.c fills cqe and, for reads, data and xfer_len.
 */
struct nvmf_req {
	struct nvmf_queue *q;
	struct nvme_sqe sqe;
	struct nvme_cqe cqe;
	uint8_t *data;			/* buffer of q->max_data bytes */
	uint32_t data_len;		/* bytes the command's SGL describes */
	uint32_t icd_len;		/* bytes that came in the capsule */
	uint32_t xfer_len;		/* bytes to send back (reads) */
	enum nvmf_xfer xfer;
	struct nvmf_ns *ns;		/* I/O commands */
	enum nvmf_bio_op bio;		/* backend view of an I/O command */
	uint64_t slba;
	uint64_t nblocks;
	bool fua;
	bool ns_ref;			/* holds ns->inflight (live removal) */
	uint64_t ns_seq;		/* which ns nvmf_io_prep checked */
	uint8_t *bio_buf;		/* where the backend reads or writes */
	bool in_place;			/* data is the namespace's memory: a read
					 * the backend mapped (nvmf_io_in_place) */
	uint8_t *aux;			/* Compare: the medium's copy */
	uint32_t dsm_next;		/* Dataset Management: next range */
};

/* A queue pair: one connection (TCP) or one QP (RDMA). */
struct nvmf_queue {
	const struct nvmf_transport_ops *ops;
	struct nvmf_reactor *reactor;
	struct nvmf_queue *next;	/* reactor list */
	struct nvmf_ctrl *ctrl;		/* set by Connect */
	struct nvmf_listener *listener;
	uint16_t qid;
	uint16_t size;			/* entries: Connect SQSIZE + 1 */
	uint16_t sqhd;
	bool sqfc_disabled;		/* Connect CATTR bit 2 */
	bool closing;
	uint32_t max_data;		/* MDTS in bytes */
	uint32_t max_icd;		/* in-capsule data we accept */
	unsigned gen;			/* ctrl->gen when connected */
	unsigned nr_cmds;		/* commands received (I/O queues: keep-alive) */
	unsigned nr_cmds_seen;		/* nr_cmds at the last tick */
	struct sockaddr_storage local;	/* our address on this connection */
	char peer[64];			/* "addr:port" for log lines */
	struct auth_queue *auth;	/* DH-HMAC-CHAP state; NULL: no secret */
	bool auth_required;		/* Connect answered AUTHREQ.ATR */
	bool authenticated;		/* a transaction succeeded (auth.c) */
};

/* ==================================================================== */
/* nvmf.c, subsys.c, admin.c: the target core (core.h: its insides)    */
/* ==================================================================== */

struct nvmf_ns {
	uint32_t nsid;
	uint64_t seq;			/* unique per attach: tells reuse apart */
	atomic_uint inflight;		/* commands at the backend */
	atomic_bool evict;		/* being removed, and reads sent from it
					 * have sat unsent too long: their queues
					 * close (nvmf_subsys_detach_ns) */
	struct nvmf_bdev *bdev;
	uint8_t uuid[16];
	uint8_t nguid[16];
	atomic_uint_fast64_t bytes_read, bytes_written;	/* SMART */
	atomic_uint_fast64_t reads, writes;
};

struct nvmf_subsys {
	struct nvmf_subsys *next;
	char nqn[NVMF_NQN_SIZE];
	char sn[21];
	char mn[41];
	bool allow_any_host;
	char (*hosts)[NVMF_NQN_SIZE];	/* the allow list */
	int nr_hosts;
	struct nvmf_ns *ns[NVMF_MAX_NS];	/* index nsid - 1 */
	pthread_mutex_t lock;		/* guards ctrls and ns[] changes */
	struct nvmf_ctrl *ctrls;
	bool is_disc;
	/* Live configuration (rpc.c), under g_config_lock: */
	uint32_t max_ns;		/* SPDK max_namespaces; 0 = NVMF_MAX_NS */
	bool any_listener;		/* command-line subsystems: every I/O port */
	struct nvmf_listener *listeners[NVMF_MAX_SUBSYS_LISTENERS];
	int nr_listeners;
};

/* A listen address: the transport that serves it fills fd and poller. */
struct nvmf_listener {
	struct nvmf_listener *next;
	uint8_t trtype;			/* NVMF_TRTYPE_* */
	uint8_t adrfam;			/* NVMF_ADRFAM_*, set by listen */
	char traddr[64];
	char trsvcid[16];
	uint16_t portid;
	bool discovery_only;		/* 8009: discovery subsystem only */
	bool dynamic;			/* added over RPC: closes when unused */
	bool paused;			/* tcp.c: not watched for now (reactor 0) */
	struct sockaddr_storage addr;
	struct nvmf_poller poller;
	void *priv;			/* the transport's own state (rdma.c) */
};

extern struct nvmf_subsys *g_subsystems;	/* configured before start */
extern struct nvmf_subsys g_discovery;
extern struct nvmf_listener *g_listeners;
/* A removal waits this long for reads sent from the namespace's memory,
 * then closes the queues that hold them; g_ns_evicting counts such
 * removals, so reactors look only while one is on (subsys.c). */
#define NVMF_NS_EVICT_MS	5000
extern atomic_int g_ns_evicting;

struct nvmf_subsys *nvmf_subsys_add(const char *nqn, char *err, size_t errlen);
int nvmf_subsys_add_ns(struct nvmf_subsys *s, struct nvmf_bdev *b, char *err, size_t errlen);
int nvmf_subsys_add_host(struct nvmf_subsys *s, const char *hostnqn);
int nvmf_nqn_valid(const char *nqn);
void nvmf_ns_changed(struct nvmf_subsys *s, uint32_t nsid);	/* any thread */
void nvmf_disc_changed(void);				/* any thread */
void nvmf_init(void);
void nvmf_fini(void);

/*
 * Live configuration, driven by rpc.c while the reactors run. One writer
 * at a time (the RPC thread, or main before start) takes g_config_lock
 * for writing around every change of the lists below; reactors take it
 * for reading where they walk them (Connect, the discovery log). The I/O
 * path never takes it: a namespace or listener is unpublished first,
 * then nvmf_quiesce() waits until every reactor has finished the pass
 * that might still hold the old pointer (each reactor counts its
 * passes, so no pass that began before the change is still running).
 */
struct nvmf_referral {
	struct nvmf_referral *next;
	uint8_t trtype, adrfam;
	char traddr[64];
	char trsvcid[16];
	char subnqn[NVMF_NQN_SIZE];
	bool secure_channel;
};

struct nvmf_ctrl_info {
	uint16_t cntlid;
	char hostnqn[NVMF_NQN_SIZE];
	uint8_t hostid[16];
	int nr_io_queues;
};

struct nvmf_qpair_info {
	uint16_t cntlid, qid;
	int reactor;			/* its reactor's id */
	char peer[64];
	struct nvmf_listener *listener;
};

/* Transport limits nvmf_create_transport may lower (subsys.c owns them). */
struct nvmf_limits {
	uint32_t max_queue_depth;	/* MAXCMD, CAP.MQES + 1 */
	uint32_t max_io_qpairs;		/* I/O queues per controller */
	uint32_t io_icd;		/* in-capsule data, I/O queues */
};

extern pthread_rwlock_t g_config_lock;
extern struct nvmf_referral *g_referrals;
extern struct nvmf_limits g_limits;
struct nvmf_subsys *nvmf_subsys_create(const char *nqn, const char *sn, const char *mn,
				       uint32_t max_ns, bool any_listener, char *err, size_t errlen);
struct nvmf_subsys *nvmf_subsys_lookup(const char *nqn);
int nvmf_subsys_remove(struct nvmf_subsys *s, char *err, size_t errlen);
int nvmf_subsys_attach_ns(struct nvmf_subsys *s, struct nvmf_bdev *b, uint32_t nsid,
			  const uint8_t *uuid, const uint8_t *nguid, char *err, size_t errlen);
int nvmf_subsys_detach_ns(struct nvmf_subsys *s, uint32_t nsid, struct nvmf_bdev **out,
			  char *err, size_t errlen);
struct nvmf_ns *nvmf_bdev_owner(const struct nvmf_bdev *b, struct nvmf_subsys **s);
int nvmf_subsys_remove_host(struct nvmf_subsys *s, const char *hostnqn);
void nvmf_subsys_allow_any(struct nvmf_subsys *s, bool on);
int nvmf_subsys_listen(struct nvmf_subsys *s, const struct nvmf_listener *tmpl,
		       char *err, size_t errlen);
int nvmf_subsys_unlisten(struct nvmf_subsys *s, const struct nvmf_listener *tmpl,
			 char *err, size_t errlen);
bool nvmf_subsys_on_listener(const struct nvmf_subsys *s, const struct nvmf_listener *l);
int nvmf_referral_add(const struct nvmf_referral *tmpl, char *err, size_t errlen);
int nvmf_referral_remove(const struct nvmf_referral *tmpl, char *err, size_t errlen);
int nvmf_subsys_ctrls(struct nvmf_subsys *s, struct nvmf_ctrl_info *out, int max);
int nvmf_subsys_qpairs(struct nvmf_subsys *s, struct nvmf_qpair_info *out, int max);
void nvmf_quiesce(void);

void nvmf_req_exec(struct nvmf_req *r);		/* a capsule arrived */
void nvmf_req_data_ready(struct nvmf_req *r);	/* fetch_data finished */
bool nvmf_req_reads_in_place(const struct nvmf_req *r);	/* no buffer needed */
void nvmf_req_release(struct nvmf_req *r);	/* in-place data has left */
void nvmf_req_fail(struct nvmf_req *r, uint16_t status);	/* transport error */
void nvmf_queue_tick(struct nvmf_queue *q);	/* timers, events */
void nvmf_queue_closed(struct nvmf_queue *q);	/* transport let go */
const char *nvmf_opcode_name(const struct nvme_sqe *sqe, uint16_t qid);

/* ==================================================================== */
/* trace.c: --trace's words for a command and its completion            */
/* ==================================================================== */

/* A trace line holds two NQNs (Connect) and the fields around them. */
#define TRACE_LINE_MAX		768

const char *trace_cmd(char *buf, size_t len, const struct nvme_sqe *sqe, uint16_t qid,
		      const void *data, uint32_t data_len);
const char *trace_cqe(char *buf, size_t len, const struct nvme_sqe *sqe,
		      const struct nvme_cqe *cqe, uint16_t qid);
const char *trace_status_name(uint16_t status, const struct nvme_sqe *sqe, uint16_t qid);
const char *trace_opcode_name(const struct nvme_sqe *sqe, uint16_t qid);
const char *trace_pdu_name(uint8_t type);
const char *trace_pdu(char *buf, size_t len, const struct nvme_tcp_hdr *h, const void *psh);

/* ==================================================================== */
/* tcp.c: NVMe/TCP, target side, and PDU helpers the host side reuses  */
/* ==================================================================== */

int tcp_reactor_poll(struct nvmf_reactor *r);	/* queues needing a pass */
int tcp_reactor_stranded(struct nvmf_reactor *r);	/* queues with unannounced work */
void tcp_reactor_tick(struct nvmf_reactor *r);	/* deadlines, paused listeners */
struct door;	/* tcp_accept.c: a connection's place until Connect */
int tcp_queue_open(int fd, struct nvmf_listener *l, const char *peer, struct door *door);
uint32_t tcp_crc32c(const void *buf, size_t len);
uint32_t tcp_crc32c_update(uint32_t crc, const void *buf, size_t len);
void tcp_put_hdgst(uint8_t *hdr, uint32_t hlen, bool on);
void tcp_trace_pdu(const char *dir, const struct nvme_tcp_hdr *h, const void *psh);
int tcp_hdr_check(const struct nvme_tcp_hdr *h, bool hdgst, bool ddgst,
		  uint32_t cpda, uint32_t max_data, uint16_t *fes, uint32_t *fei);
extern uint32_t g_tcp_maxh2cdata;
/* MDTS over TCP: -i/--max-io-size, nvmf_create_transport max_io_size. The
 * default covers the Linux host's largest request by default (max_sectors_kb
 * 1280 KiB, rounded up to a power of two, as MDTS must be). */
#define NVMF_TCP_MAX_IO_DEFAULT	(2u << 20)
#define NVMF_MAX_IO_LIMIT	(NVMF_PAGE_SIZE << (NVMF_BUF_CLASSES - 1))	/* 8 MiB */
extern uint32_t g_tcp_max_io_size, g_rdma_max_io_size;	/* g_rdma_: in bdev.c, by the pool */
int nvmf_check_buffers(uint64_t max_io, uint64_t pool, char *err, size_t errlen);	/* bdev.c */
int tcp_set_buffers(uint64_t max_io, uint64_t pool, char *err, size_t errlen);

/* ==================================================================== */
/* tcp_accept.c: listening, accepting, limits before Connect           */
/* ==================================================================== */

int tcp_listen(struct nvmf_listener *l, char *err, size_t errlen);
void tcp_unlisten(struct nvmf_listener *l);
extern unsigned g_tcp_icreq_ms, g_tcp_connect_ms, g_tcp_pdu_ms;	/* deadlines */
extern unsigned g_door_max, g_door_max_per_host;
void door_leave(struct door **dp);	/* connected, or closed */
bool door_evicted(const struct door *d);	/* close it: room was needed */
void door_log_timeout(const char *msg);	/* at most once a second */
void door_log_refused(const char *msg);	/* the same, another count */
void tcp_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len);	/* "addr:port" */
/* The door counts the queues of both transports that have not sent
 * Connect, so its names say door_, not tcp_. */
int door_admit(const struct sockaddr_storage *peer, const char *name,
	       struct door **out);		/* NVMe/RDMA's way in */
void tcp_listeners_resume(uint64_t now);	/* reactor 0's tick */

/* ==================================================================== */
/* rpc.c: JSON-RPC server (SPDK's methods), save/load of SPDK configs  */
/* ==================================================================== */

struct json_object;
int rpc_start(const char *path, char *err, size_t errlen);	/* NULL: default */
const char *rpc_socket_path(void);				/* NULL: RPC is off */
void rpc_stop(void);
int rpc_load_config(struct json_object *cfg, char *err, size_t errlen);

/* ==================================================================== */
/* rdma.c: NVMe/RDMA, target side (built when libibverbs + librdmacm)  */
/* ==================================================================== */

#define NVMF_RDMA_MSDBD		8	/* keyed SGL descriptors per command */

#ifdef NVMF_NO_RDMA
#define NVMF_HAVE_RDMA		0
/* Built without the verbs libraries: an rdma listener is an error that
 * says how to get one, and the reactor has nothing to poll. */
static inline int rdma_port_listen(struct nvmf_listener *l, char *err, size_t errlen)
{
	(void)l;
	snprintf(err, errlen, "this nvmf was built without RDMA (install libibverbs-dev librdmacm-dev and rebuild)");
	return -EOPNOTSUPP;
}
static inline void rdma_port_unlisten(struct nvmf_listener *l) { (void)l; }
static inline int rdma_reactor_poll(struct nvmf_reactor *r) { (void)r; return 0; }
static inline int rdma_reactor_stranded(struct nvmf_reactor *r) { (void)r; return 0; }
static inline void rdma_reactor_stop(struct nvmf_reactor *r) { (void)r; }
struct rdma_host;
static inline int rdma_host_connect(struct rdma_host **out, const char *addr, const char *port,
				    uint16_t qid, uint16_t hsqsize, unsigned slots,
				    uint32_t max_data, char *err, size_t errlen)
{
	(void)addr, (void)port, (void)qid, (void)hsqsize, (void)slots, (void)max_data;
	*out = NULL;
	snprintf(err, errlen, "this nvmf was built without RDMA (install libibverbs-dev librdmacm-dev and rebuild)");
	return -EOPNOTSUPP;
}
static inline int rdma_host_fd(const struct rdma_host *h) { (void)h; return -1; }
static inline int rdma_host_submit(struct rdma_host *h, const struct nvme_sqe *sqe, void *buf,
				   uint32_t len, bool write)
{
	(void)h, (void)sqe, (void)buf, (void)len, (void)write;
	return -EOPNOTSUPP;
}
static inline int rdma_host_poll(struct rdma_host *h, struct nvme_cqe *out, int max, char *err,
				 size_t errlen)
{
	(void)h, (void)out, (void)max, (void)err, (void)errlen;
	return -EOPNOTSUPP;
}
static inline void rdma_host_free(struct rdma_host *h) { (void)h; }
#else
#define NVMF_HAVE_RDMA		1
int rdma_port_listen(struct nvmf_listener *l, char *err, size_t errlen);
void rdma_port_unlisten(struct nvmf_listener *l);
int rdma_reactor_poll(struct nvmf_reactor *r);	/* completions reaped */
int rdma_reactor_stranded(struct nvmf_reactor *r);	/* queues with unannounced work */
void rdma_reactor_stop(struct nvmf_reactor *r);	/* free every RDMA queue */
/* rdma_parse.c: a CM request's private data and a capsule's SGL, from their
 * bytes alone. */
#define RDMA_ICD		NVMF_IO_ICD	/* in-capsule data we take, any queue */
#define RDMA_CAPSULE_SIZE	(sizeof(struct nvme_sqe) + RDMA_ICD)
/* One keyed SGL data block descriptor, decoded [BASE-2.0c Fig. 123]. */
struct rdma_sge_remote {
	uint64_t addr;
	uint32_t len;
	uint32_t key;
};

/*
 * What one capsule asks for, decoded from its bytes alone by
 * rdma_capsule_decode() (rdma_parse.c), which touches no queue and no
 * device (so tests/fuzz_test.c can feed it anything): how much data the command
 * moves, and where that data is: after the SQE, or in the host's memory.
 */
struct rdma_capsule {
	uint32_t data_len;		/* bytes the command moves */
	uint32_t icd_off, icd_len;	/* in-capsule data: offset in the capsule */
	struct rdma_sge_remote rsge[NVMF_RDMA_MSDBD];
	unsigned nr_rsge;
	bool invalidate;		/* a descriptor asked for subtype Fh */
	uint32_t inv_key;
};

int rdma_capsule_decode_at(const uint8_t *sqe_buf, const uint8_t *icd, uint32_t len,
			   struct rdma_capsule *c);		/* 0, NVMe status or -EPROTO */
int rdma_capsule_decode(const uint8_t *buf, uint32_t len, struct rdma_capsule *c);
struct nvme_rdma_cm_req;
uint16_t rdma_cm_req_check(const struct nvme_rdma_cm_req *req, size_t len, char *why,
			   size_t wlen);	/* 0 or the REJ status */
/* rdma_parse.c's helper that host_queue.c's RDMA queue shares too. */
const char *rdma_rej_str(uint16_t sts);		/* a CM REJ status, in words */
/* rdma_mem.c: one PD per device, the MRs of the reactors' pool buffers. */
struct ibv_context;
struct ibv_pd;
int rdma_have_device(char *err, size_t errlen);		/* also the host's */
int rdma_nonblock(int fd);				/* also the host's */
int rdma_mem_init(size_t queues_need, char *err, size_t errlen);	/* at listen */
int rdma_mem_start(struct nvmf_reactor *r);	/* on r's thread */
struct ibv_pd *rdma_pd_get(struct ibv_context *verbs);	/* reactor 0's thread */
int rdma_buf_get(struct nvmf_reactor *r, struct ibv_pd *pd, uint32_t len, uint8_t **data,
		 uint32_t *cap, uint32_t *lkey);		/* on r's thread */
void rdma_memlock_hint(char *buf, size_t len, size_t need);
/* The host side's queue (host_queue.c: -r trtype:RDMA). */
struct rdma_host;
int rdma_host_connect(struct rdma_host **out, const char *addr, const char *port, uint16_t qid,
		      uint16_t hsqsize, unsigned slots, uint32_t max_data, char *err, size_t errlen);
int rdma_host_fd(const struct rdma_host *h);
int rdma_host_submit(struct rdma_host *h, const struct nvme_sqe *sqe, void *buf, uint32_t len,
		     bool write);
int rdma_host_poll(struct rdma_host *h, struct nvme_cqe *out, int max, char *err, size_t errlen);
void rdma_host_free(struct rdma_host *h);
#endif

/* ==================================================================== */
/* auth.c: in-band authentication, DH-HMAC-CHAP, target and host       */
/* ==================================================================== */

/* Allowed hash and DH group IDs (bit N = ID N), and setting them from
 * "sha256,sha512" / "null,ffdhe2048,..." lists (0 or -EINVAL). */
extern uint32_t g_auth_digests, g_auth_dhgroups;
extern bool g_auth_discovery;		/* the discovery controller asks too */
int auth_set_digests(const char *list);
int auth_set_dhgroups(const char *list);
const char *auth_hash_name(uint8_t id);
const char *auth_dh_name(uint8_t id);

/* A DHHC-1 secret given on the command line: itself or a file holding it. */
int auth_secret_load(const char *arg, char *out, size_t len);
/* Does s parse as a DHHC-1 secret (form, length, CRC)? 0 or -EINVAL. */
int auth_secret_check(const char *s, char *err, size_t errlen);

/* Host hostnqn must authenticate on subnqn (NULL: every subsystem) with
 * secret key (DHHC-1 string); with ctrl_key (may be NULL) we prove
 * ourselves too. 0 or -errno, err says. _remove forgets them. */
int auth_host_set(const char *subnqn, const char *hostnqn, const char *key, const char *ctrl_key,
		  char *err, size_t errlen);
void auth_host_remove(const char *subnqn, const char *hostnqn);
void auth_fini(void);

/* Target: at Connect, true if the host must authenticate q (AUTHREQ.ATR);
 * Authentication Send/Receive return the NVMe status (*loc: bad field). */
struct auth_queue;
bool auth_connect(struct nvmf_queue *q, const char *subnqn, const char *hostnqn);
uint16_t auth_send(struct nvmf_req *r, uint16_t *loc);
uint16_t auth_recv(struct nvmf_req *r, uint16_t *loc);
void auth_queue_free(struct nvmf_queue *q);
/* auth_send's "r waits for DH work at the worker; auth.c completes it". */
#define AUTH_ANSWER_LATER	0xffffu
int auth_reactor_poll(struct nvmf_reactor *rx);	/* each pass: finished DH work */
void auth_reactor_drain(struct nvmf_reactor *rx);	/* shutdown: wait for it */

/* Host: authenticate one queue after its Connect answered ATR. exec runs
 * one command with len bytes of data at buf, 0 on success. */
struct auth_host_io {
	uint16_t qid;
	const char *hostnqn, *subnqn;
	const char *secret, *ctrl_secret;	/* DHHC-1; ctrl_secret NULL: one-way */
	int (*exec)(void *arg, const struct nvme_sqe *sqe, void *buf, uint32_t len);
	void *arg;
};
int auth_host_run(const struct auth_host_io *io);

/* ==================================================================== */
/* host.c, perf.c: the initiator side: discover, identify, perf         */
/* ==================================================================== */

int host_discover_main(int argc, char **argv);
int host_identify_main(int argc, char **argv);
int host_perf_main(int argc, char **argv);	/* perf.c */

/* ==================================================================== */
/* rpc_client.c: `nvmf rpc` (rpc.py's syntax); config.c: config files */
/* ==================================================================== */

struct json_object;
struct rpc_method;
int rpc_client_main(int argc, char **argv);		/* nvmf rpc */
const struct rpc_method *rpc_method_find(const char *name);
int rpc_build_params(const struct rpc_method *m, int argc, char **argv,
		     struct json_object **params, struct json_object **client,
		     char *err, size_t errlen);
void config_print_json(FILE *f, struct json_object *obj, int indent, int depth);
int config_main(int argc, char **argv);			/* nvmf config FILE */
int config_translate(const char *name, const char *text, struct json_object **out,
		     struct json_object **warnings, char *err, size_t errlen);
int config_load_file(const char *path, struct json_object **out, char *err, size_t errlen);
char *config_slurp(const char *path, char *err, size_t errlen);	/* "-": stdin */
void config_keys_remove(void);		/* at exit: the key files -c FILE made */

/* ==================================================================== */
/* pcie_nvme.c, pcie_vfio.c: the NVMe driver and its VFIO bus         */
/* ==================================================================== */

/* bdev_create hands "nvme:BDF[/NSID]" and "sim:SIZE[...]" specs here. */
int pci_bdev_create(const char *spec, struct nvmf_bdev **out, char *err, size_t errlen);
/* Register page-aligned memory request buffers live in: commands on it
 * then go to the device without a bounce copy. 0 or -errno. */
int pci_bdev_dma_register(struct nvmf_bdev *b, void *va, size_t len);
/* pcie_vfio.c: the VFIO implementation of the bus seam, for a PCI address. */
int pci_vfio_bus_open(const char *bdf, struct nvme_bus **out, char *err, size_t errlen);

/* ==================================================================== */
/* sim/sim.c: a software NVMe controller behind the bus seam          */
/* ==================================================================== */

/*
 * sim_bus_open: a new simulated controller with one namespace (nsid 1).
 *   spec: SIZE[:BLKSZ][,OPT=N...]       memory-backed: "64M", "1G:4096"
 *         file=PATH[:BLKSZ][,OPT=N...]  an existing file, its size rounded
 *                                       down to whole blocks
 *   BLKSZ is 512 (default) or 4096. OPTs set what the driver must adapt to:
 *     dstrd=N   CAP.DSTRD, doorbell stride 4 << N bytes (default 0)
 *     mqes=N    CAP.MQES, largest queue size, 0's based (default 1023)
 *     mdts=N    Identify MDTS, 2^N pages of 4 KiB (default 5: 128 KiB)
 *     to=N      CAP.TO in 500 ms units (default 20: 10 s)
 *     queues=N  I/O queue pairs granted by Number of Queues (default 16)
 *   Returns 0 and *out, or -errno with a message in err. The device runs
 *   only inside ops->poll(), on the caller's thread, and takes no locks:
 *   one thread at a time may call its ops. ops->close() frees it.
 */
int sim_bus_open(const char *spec, struct nvme_bus **out, char *err, size_t errlen);

/*
 * Fault injection, for the driver's tests. A rule matches commands as the
 * controller fetches them from a submission queue: on queue qid (or any
 * queue, or any I/O queue) with opcode (or any). It fires on the nth match
 * counted from when it was added (1 = the next one) and on the count - 1
 * matches after that (count 0: on every match from the nth on).
 *   SIM_FAULT_DELAY   the command executes only after `polls` more calls
 *                     to poll(); later commands overtake it
 *   SIM_FAULT_STATUS  the command is not executed; its CQE carries `status`
 *                     (an NVME_SC_* value, optionally | NVME_STATUS_DNR)
 *   SIM_FAULT_DROP    the command is executed but its CQE is never posted
 *                     (the driver's timeout must notice)
 *   SIM_FAULT_CFS     the controller fails: CSTS.CFS is set and it stops
 *                     processing until the host resets it (CC.EN 1 -> 0)
 * sim_fault_add returns 0, -EINVAL (bad rule) or -ENOSPC (SIM_MAX_FAULTS).
 */
enum sim_fault_kind { SIM_FAULT_DELAY, SIM_FAULT_STATUS, SIM_FAULT_DROP, SIM_FAULT_CFS };
#define SIM_QID_ANY		(-1)	/* sim_fault.qid: every queue */
#define SIM_QID_IO		(-2)	/* sim_fault.qid: every I/O queue */
#define SIM_OPC_ANY		(-1)	/* sim_fault.opcode: every opcode */
#define SIM_MAX_FAULTS		16
struct sim_fault {
	enum sim_fault_kind kind;
	int qid;			/* 0 = admin, N, SIM_QID_ANY, SIM_QID_IO */
	int opcode;			/* 0..255 or SIM_OPC_ANY */
	unsigned nth;			/* 1 = the next matching command */
	unsigned count;			/* matches it fires on; 0 = all */
	unsigned polls;			/* SIM_FAULT_DELAY */
	uint16_t status;		/* SIM_FAULT_STATUS */
};
int sim_fault_add(struct nvme_bus *b, const struct sim_fault *f);
void sim_fault_clear(struct nvme_bus *b);

/* Set CSTS.CFS now, as if the controller hit an internal error [BASE-2.0c
 * Fig. 42, CSTS]; it stops processing commands until CC.EN goes 1 -> 0. */
void sim_set_cfs(struct nvme_bus *b);

/* Slow RDY: after a CC.EN change, CSTS.RDY follows only once CSTS has been
 * read `reads` more times AND `ms` milliseconds have passed. reads = ~0u
 * never lets it follow (a controller that misses CAP.TO). 0, 0 restores
 * the default: RDY follows CC.EN at once. */
void sim_slow_rdy(struct nvme_bus *b, unsigned reads, unsigned ms);

/* Print every register access, doorbell, fetched command and posted
 * completion with nvmf_trace() (the `nvmf sim --trace` view). */
void sim_set_trace(struct nvme_bus *b, bool on);

/* Counters a test can compare against what its driver did. */
struct sim_stats {
	uint64_t cmds;			/* commands fetched from any SQ */
	uint64_t cqes;			/* completions posted */
	uint64_t doorbells;		/* valid doorbell writes */
	uint64_t bad_doorbells;		/* invalid ones (each raises an AEN) */
	uint64_t faults;		/* fault rules fired */
};
void sim_get_stats(struct nvme_bus *b, struct sim_stats *st);

/* `nvmf sim`: a scripted session against the simulator, for learners. */
int sim_main(int argc, char **argv);

#endif /* NVMF_H */
