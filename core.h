/*
 * core.h - what the three files of the target core share and no
 * transport may touch: a controller's insides, and the calls between them
 *
 *   nvmf.c    the command path: entry points, dispatch, Fabrics and I/O
 *             commands, controllers, asynchronous events, keep-alive
 *   subsys.c  what is served: subsystems, namespaces, hosts, ports
 *   admin.c   Identify, Get Log Page, Features
 *
 * Transports see a controller only as a pointer (nvmf.h).
 *
 * Tutorial chapter 04 reads it beside nvmf.c.
 */
#ifndef NVMF_CORE_H
#define NVMF_CORE_H

#include "nvmf.h"

/* Events a controller keeps until an AER reports them. */
#define NVMF_EVT_NS_CHANGED	(1u << 0)
#define NVMF_EVT_DISC_CHANGED	(1u << 1)
#define NVMF_CHANGED_NS_MAX	1024

/* A controller: made by an admin Connect, shared by the queues that
 * Connect to its CNTLID, gone when the last of them closes. Which lock
 * guards which field is written at the top of nvmf.c. */
struct nvmf_ctrl {
	struct nvmf_ctrl *next;		/* subsys->ctrls */
	struct nvmf_subsys *subsys;
	uint16_t cntlid;
	char hostnqn[NVMF_NQN_SIZE];
	uint8_t hostid[16];
	atomic_int refs;		/* one per attached queue */
	atomic_bool dead;		/* tear every queue down */
	atomic_uint gen;		/* bumped by CC.EN 1->0: I/O queues go */
	atomic_uint cc, csts;
	pthread_mutex_t lock;		/* guards everything below */
	struct nvmf_queue *queues[NVMF_MAX_IO_QUEUES + 1];
	uint32_t kato_ms;
	uint64_t last_ka_ms;
	uint64_t born_ms;		/* Connect: bounds admin-queue authentication */
	uint16_t nr_io_queues;		/* granted by Set Features 07h */
	bool nr_io_queues_set;
	struct nvmf_req *aer[NVMF_AERL + 1];
	int nr_aer;
	uint32_t aec;			/* Async Event Configuration */
	uint32_t evt_pending, evt_masked;
	uint32_t changed_ns[NVMF_CHANGED_NS_MAX];
	int nr_changed_ns;
	uint32_t feat_arb, feat_pm, feat_err_rec, feat_wa;
	uint16_t temp_over, temp_under;
	bool wce;
	uint64_t err_count;
	struct nvme_error_log errlog[NVMF_ERRLOG_ENTRIES];	/* ring, newest at err_count-1 */
};

/*
 * nvmf.c, section by section in the order the file reads. Each one calls
 * down into the sections after it; these declarations let it do so while
 * the file keeps the command's order, entry points first.
 */
/* entry points */
enum nvmf_xfer nvmf_xfer_dir(const struct nvme_sqe *sqe);
void nvmf_trace_cmd(const struct nvmf_req *r);
bool nvmf_auth_pending(const struct nvmf_req *r);
void nvmf_req_done(struct nvmf_req *r, uint16_t status);
void nvmf_req_fail_at(struct nvmf_req *r, uint16_t status, uint16_t loc);
/* dispatch */
void nvmf_dispatch(struct nvmf_req *r);
/* Fabrics commands */
void nvmf_fabrics(struct nvmf_req *r);
void nvmf_connect(struct nvmf_req *r);
void nvmf_connect_locked(struct nvmf_req *r);
void nvmf_connect_admin(struct nvmf_req *r, struct nvmf_subsys *s,
			const struct nvmf_connect_cmd *c, const struct nvmf_connect_data *d);
void nvmf_connect_io(struct nvmf_req *r, struct nvmf_subsys *s,
		     const struct nvmf_connect_cmd *c, const struct nvmf_connect_data *d);
void nvmf_connect_bad(struct nvmf_req *r, uint16_t ipo, bool in_data, const char *why);
void nvmf_property(struct nvmf_req *r);
uint64_t nvmf_cap(void);
void nvmf_cc_write(struct nvmf_ctrl *ctrl, uint32_t cc);
/* admin commands answered in nvmf.c */
void nvmf_admin(struct nvmf_req *r);
void nvmf_async_event(struct nvmf_req *r);
void nvmf_abort(struct nvmf_req *r);
/* I/O commands; nvmf_flush_next and nvmf_bdev_done call each other */
void nvmf_io(struct nvmf_req *r);
void nvmf_io_in_place(struct nvmf_req *r, struct nvmf_bdev *b);
int nvmf_io_prep(struct nvmf_req *r);
bool nvmf_dsm_next(struct nvmf_req *r);
void nvmf_flush_all(struct nvmf_req *r);
bool nvmf_flush_next(struct nvmf_req *r);
/* controllers */
struct nvmf_ctrl *nvmf_ctrl_alloc(struct nvmf_subsys *s, const struct nvmf_connect_data *d,
				  uint32_t kato_ms);
uint16_t nvmf_cntlid_alloc(struct nvmf_subsys *s);
void nvmf_ctrl_put(struct nvmf_ctrl *ctrl);
void nvmf_ctrl_kill(struct nvmf_ctrl *ctrl);
void nvmf_ctrl_reset_aers(struct nvmf_ctrl *ctrl);
/* asynchronous events */
void nvmf_ctrl_event(struct nvmf_ctrl *ctrl, uint32_t evt, uint32_t nsid);
void nvmf_aen_deliver(struct nvmf_ctrl *ctrl);
uint32_t nvmf_evt_dw0(uint32_t evt);
uint32_t nvmf_evt_aec_bit(uint32_t evt);

/* subsys.c: the questions the command path asks, and the discovery log. */
extern uint64_t g_start_ms;		/* set by nvmf_init: SMART power-on hours */
bool nvmf_host_allowed(const struct nvmf_subsys *s, const char *hostnqn);
struct nvmf_subsys *nvmf_subsys_find(const char *nqn);
struct nvmf_ns *nvmf_ns_get(struct nvmf_subsys *s, uint32_t nsid);
void nvmf_disc_genctr_move(void);
uint64_t nvmf_log_disc(struct nvmf_req *r, uint8_t *out, uint64_t off, uint64_t len);

/* admin.c: what nvmf_admin() routes there, and a helper subsys.c shares. */
void nvmf_identify(struct nvmf_req *r);
void nvmf_get_log_page(struct nvmf_req *r);
void nvmf_get_features(struct nvmf_req *r);
void nvmf_set_features(struct nvmf_req *r);
void nvmf_str_pad(char *dst, size_t len, const char *src);

#endif
