/*
 * nvmf.c - the target core: subsystems, namespaces, controllers, and what
 * every command means. No sockets and no verbs: transports hand us a
 * struct nvmf_req and we hand it back with a completion.
 *
 *   transport --nvmf_req_exec()--> classify, check length
 *                                     | write data not here yet?
 *                                     +--> ops->fetch_data --> nvmf_req_data_ready()
 *                                     v
 *                    nvmf_dispatch: fabrics | admin | I/O | discovery
 *                                     |               |
 *                                     |               +--> bdev submit ... nvmf_bdev_done()
 *                                     v                                   |
 *                    nvmf_req_done(status) <------------------------------+
 *                                     +--> ops->complete (data + CapsuleResp)
 *
 *   part                                      spec
 *   --------------------------------------------------------------------
 *   subsystems, namespaces, hosts             [BASE-2.0c §3.1, §4.5]
 *   controllers, Connect, properties          [BASE-2.0c §3.3, §6.3-6.6]
 *   Identify, Get Log Page, features          [BASE-2.0c §5.17, §5.16, §5.27]
 *   keep alive, asynchronous events, abort    [BASE-2.0c §5.25, §5.2, §5.1]
 *   I/O commands                              [NVM-1.0c §3.2, §3.3]
 *   discovery controller and its log          [BASE-2.0c §3.1.3.3, §5.16.1.23]
 *
 * Locking. A queue and its slots belong to one reactor thread. A controller
 * is shared by its queues, which may sit on different reactors: ctrl->lock
 * guards its queue table, features, events and error log; dead, gen, cc
 * and csts are atomics so the I/O path reads them without the lock. A
 * subsystem's lock guards its controller list. Configuration (subsystems,
 * namespaces, hosts, listeners, referrals) changes while the reactors
 * run, driven by rpc.c: g_config_lock (a reader-writer lock) guards the
 * lists; the I/O path reads s->ns[] without it, and nvmf_quiesce() plus
 * ns->inflight make a removed namespace safe to free (see "Live
 * configuration" below).
 *
 * Tutorial chapters 04 (core) and 05 (discovery) read this file.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <endian.h>

#include "nvmf.h"

/* ==================================================================== */
/* Structs and globals                                                 */
/* ==================================================================== */

#define NVMF_EVT_NS_CHANGED	(1u << 0)
#define NVMF_EVT_DISC_CHANGED	(1u << 1)
#define NVMF_CHANGED_NS_MAX	1024
/* How long a host may take to authenticate its admin queue (the keep-alive
 * timer waits for it; see nvmf_queue_tick). */
#define NVMF_AUTH_TIMEOUT_MS	120000u

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

struct nvmf_subsys *g_subsystems;
struct nvmf_subsys g_discovery = {
	.nqn = NVMF_DISC_NQN,
	.allow_any_host = true,
	.is_disc = true,
	.lock = PTHREAD_MUTEX_INITIALIZER,
};
struct nvmf_listener *g_listeners;
static atomic_uint_fast64_t g_disc_genctr = 1;

/*
 * GENCTR moves twice for a change of the configuration. First under the
 * write lock, with the change: a reader holds the read lock while it
 * walks the entries and reads GENCTR, so it never pairs new entries with
 * the old GENCTR (a host comparing GENCTR before and after its pieces
 * would then keep a torn log). Then again in nvmf_disc_changed, after
 * what the change finishes outside the lock (a listener's socket closes).
 */
static void nvmf_disc_genctr_move(void)
{
	atomic_fetch_add(&g_disc_genctr, 1);
}

static pthread_mutex_t g_cntlid_lock = PTHREAD_MUTEX_INITIALIZER;
static uint16_t g_next_cntlid = 1;
static uint64_t g_start_ms;
pthread_rwlock_t g_config_lock = PTHREAD_RWLOCK_INITIALIZER;
struct nvmf_referral *g_referrals;
struct nvmf_limits g_limits = {
	.max_queue_depth = NVMF_MAXCMD,
	.max_io_qpairs = NVMF_MAX_IO_QUEUES,
	.io_icd = NVMF_IO_ICD,
};
static atomic_uint_fast64_t g_ns_seq;

static void nvmf_req_done(struct nvmf_req *r, uint16_t status);

/* ==================================================================== */
/* Helpers                                                             */
/* ==================================================================== */

/* Copy a C string into a space-padded ASCII field [BASE-2.0c §1.5]. */
static void nvmf_str_pad(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	memset(dst, ' ', len);
	memcpy(dst, src, n < len ? n : len);
}

/* 64-bit FNV-1a: a stable hash for deriving identifiers from names. */
static uint64_t nvmf_hash(uint64_t h, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* Put a 128-bit little-endian counter into a SMART field. */
static void nvmf_put_u128(uint8_t *dst, uint64_t v)
{
	memset(dst, 0, 16);
	for (int i = 0; i < 8; i++)
		dst[i] = v >> (8 * i);
}

/* Status for a command whose parameter at byte offset loc (of the SQE)
 * is wrong: remembered for the error log [BASE-2.0c Fig. 205]. */
static void nvmf_req_fail_at(struct nvmf_req *r, uint16_t status, uint16_t loc)
{
	struct nvmf_ctrl *ctrl = r->q->ctrl;

	if (ctrl) {
		struct nvme_error_log *e;

		pthread_mutex_lock(&ctrl->lock);
		e = &ctrl->errlog[ctrl->err_count % NVMF_ERRLOG_ENTRIES];
		memset(e, 0, sizeof(*e));
		e->error_count = htole64(++ctrl->err_count);
		e->sqid = htole16(r->q->qid);
		e->cid = r->sqe.cid;
		e->status = htole16((status | NVME_STATUS_DNR) << 1);	/* as in the CQE */
		e->param_error_location = htole16(loc);
		e->nsid = r->sqe.nsid;
		e->trtype = r->q->ops->trtype;
		pthread_mutex_unlock(&ctrl->lock);
	}
	nvmf_req_done(r, status | NVME_STATUS_DNR);
}

/* A transport found the command malformed before we saw it (SGL form,
 * digest): answer it with status. */
void nvmf_req_fail(struct nvmf_req *r, uint16_t status)
{
	r->cqe.cid = r->sqe.cid;
	r->xfer = XFER_NONE;
	r->xfer_len = 0;
	if (status == NVME_SC_TRANSIENT_TRANSPORT)
		nvmf_req_done(r, status);	/* retryable: no DNR */
	else
		nvmf_req_fail_at(r, status, offsetof(struct nvme_sqe, dptr));
}

const char *nvmf_opcode_name(const struct nvme_sqe *sqe, uint16_t qid)
{
	/* The names live with the rest of the trace's words, in trace.c. */
	return trace_opcode_name(sqe, qid);
}

/* ==================================================================== */
/* Setup: subsystems, namespaces, hosts                                */
/* ==================================================================== */

/*
 * An NQN is "nqn.yyyy-mm.reverse.domain:anything", at most 223 bytes, or
 * the UUID form "nqn.2014-08.org.nvmexpress:uuid:..." [BASE-2.0c §4.5].
 * Returns 0 or -EINVAL.
 */
int nvmf_nqn_valid(const char *nqn)
{
	size_t len = strnlen(nqn, NVMF_NQN_SIZE);

	if (len == 0 || len > 223)
		return -EINVAL;
	if (strncmp(nqn, "nqn.", 4) || len < 12)
		return -EINVAL;
	for (int i = 4; i < 11; i++) {
		if (i == 8 ? nqn[i] != '-' : (nqn[i] < '0' || nqn[i] > '9'))
			return -EINVAL;
	}
	if (nqn[11] != '.')
		return -EINVAL;
	return strchr(nqn + 12, ':') || !strcmp(nqn, NVMF_DISC_NQN) ? 0 : -EINVAL;
}

/*
 * A subsystem name as the Linux target and host take it. nvmet names a
 * subsystem by its configfs directory, so any name without '/' is one,
 * and its Connect matches the NQN byte for byte; the host joins its
 * connect options with ',' and newlines and refuses an NQN of 223 bytes or
 * more. So a name like "ramdisk" works with both, although an NQN should
 * be "nqn.yyyy-mm.reverse.domain:name" [BASE-2.0c §4.5]: we take what
 * they take, warn once per subsystem when it is not in that form, and
 * refuse what they refuse. Returns 0 or -EINVAL with the reason in err.
 */
static int nvmf_subsys_name_check(const char *nqn, char *err, size_t errlen)
{
	size_t len = strnlen(nqn, NVMF_NQN_SIZE);

	if (len == 0 || len > 222) {
		snprintf(err, errlen, "subsystem name '%.40s%s' has %zu bytes: give 1 to 222 "
			 "(the Linux host refuses longer ones)", nqn, len > 40 ? "..." : "", len);
		return -EINVAL;
	}
	if (strpbrk(nqn, "/,\n")) {
		snprintf(err, errlen, "subsystem name '%s' has a '/', ',' or newline, which nvmet "
			 "or the Linux host cannot take: leave them out", nqn);
		return -EINVAL;
	}
	if (!strcmp(nqn, NVMF_DISC_NQN)) {
		snprintf(err, errlen, "'%s' is the discovery subsystem's NQN; it exists already", nqn);
		return -EINVAL;
	}
	if (nvmf_nqn_valid(nqn))
		LOG_WARN("subsystem name '%s' is not an NQN (nqn.yyyy-mm.reverse.domain:name); "
			 "served as given, as nvmet does", nqn);
	return 0;
}

/*
 * Add a subsystem: serial and model number (NULL: derived from the NQN),
 * at most max_ns namespaces (0: NVMF_MAX_NS); any_listener serves it on
 * every I/O port (the command line's way), otherwise only on the ports
 * nvmf_subsys_listen() gives it (SPDK's way). It starts with any host
 * allowed; the caller narrows that. Returns it, or NULL with the reason
 * in err. Takes g_config_lock.
 */
struct nvmf_subsys *nvmf_subsys_create(const char *nqn, const char *sn, const char *mn,
				       uint32_t max_ns, bool any_listener, char *err, size_t errlen)
{
	struct nvmf_subsys *s, **pp;
	uint64_t h;

	if (nvmf_subsys_name_check(nqn, err, errlen))
		return NULL;
	/* SN is 20 ASCII bytes, MN 40 [BASE-2.0c Fig. 275]. */
	if ((sn && (!*sn || strlen(sn) > 20)) || (mn && (!*mn || strlen(mn) > 40)) ||
	    max_ns > NVMF_MAX_NS) {
		snprintf(err, errlen, "bad subsystem parameters: serial number 1-20 characters, "
			 "model number 1-40, max_namespaces at most %d", NVMF_MAX_NS);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(s->nqn, sizeof(s->nqn), "%s", nqn);
	h = nvmf_hash(0xcbf29ce484222325ull, nqn, strlen(nqn));
	snprintf(s->sn, sizeof(s->sn), "%016llx", (unsigned long long)h);
	if (sn)
		snprintf(s->sn, sizeof(s->sn), "%s", sn);
	snprintf(s->mn, sizeof(s->mn), "%s", mn ? mn : "nvmf");
	s->allow_any_host = true;
	s->max_ns = max_ns ? max_ns : NVMF_MAX_NS;
	s->any_listener = any_listener;
	pthread_mutex_init(&s->lock, NULL);
	pthread_rwlock_wrlock(&g_config_lock);
	for (pp = &g_subsystems; *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->nqn, nqn)) {
			pthread_rwlock_unlock(&g_config_lock);
			snprintf(err, errlen, "subsystem %s already exists", nqn);
			free(s);
			return NULL;
		}
	}
	*pp = s;
	nvmf_disc_genctr_move();
	pthread_rwlock_unlock(&g_config_lock);
	nvmf_disc_changed();
	return s;
}

/* The command line's subsystem: served on every port, derived SN. */
struct nvmf_subsys *nvmf_subsys_add(const char *nqn, char *err, size_t errlen)
{
	return nvmf_subsys_create(nqn, NULL, NULL, 0, true, err, errlen);
}

/* The namespace that holds b, and its subsystem; NULL if none does.
 * Caller holds g_config_lock or is its only writer. */
struct nvmf_ns *nvmf_bdev_owner(const struct nvmf_bdev *b, struct nvmf_subsys **owner)
{
	for (struct nvmf_subsys *s = g_subsystems; s; s = s->next) {
		for (int i = 0; i < NVMF_MAX_NS; i++) {
			if (s->ns[i] && s->ns[i]->bdev == b) {
				if (owner)
					*owner = s;
				return s->ns[i];
			}
		}
	}
	return NULL;
}

/* Which NSID to use: the one asked for, or the lowest free one below
 * the subsystem's limit. Returns the index, or -errno with err set. */
static int nvmf_ns_slot(struct nvmf_subsys *s, uint32_t nsid, char *err, size_t errlen)
{
	int i;

	if (nsid) {
		if (nsid > s->max_ns) {
			snprintf(err, errlen, "NSID %u is above %s's max_namespaces (%u)",
				 nsid, s->nqn, s->max_ns);
			return -EINVAL;
		}
		if (s->ns[nsid - 1]) {
			snprintf(err, errlen, "NSID %u of %s is already in use", nsid, s->nqn);
			return -EEXIST;
		}
		return nsid - 1;
	}
	for (i = 0; i < (int)s->max_ns && s->ns[i]; i++)
		;
	if (i == (int)s->max_ns) {
		snprintf(err, errlen, "subsystem %s already has %u namespaces (max_namespaces)",
			 s->nqn, s->max_ns);
		return -ENOSPC;
	}
	return i;
}

/*
 * Attach backend b as namespace nsid (0: the lowest free one). Unless
 * given, its NGUID and UUID are derived from the subsystem NQN, the NSID
 * and the backend name: stable across restarts, different for every
 * namespace [BASE-2.0c §4.7.1]. A backend serves one namespace only
 * (SPDK's "claim"). Connected controllers get a namespace-attribute
 * notice. Returns 0 or -errno with err set.
 */
int nvmf_subsys_attach_ns(struct nvmf_subsys *s, struct nvmf_bdev *b, uint32_t nsid,
			  const uint8_t *uuid, const uint8_t *nguid, char *err, size_t errlen)
{
	struct nvmf_subsys *owner;
	struct nvmf_ns *ns;
	uint64_t h1, h2;
	int i;

	if (nvmf_bdev_owner(b, &owner)) {
		snprintf(err, errlen, "bdev %s is already claimed by a namespace of %s",
			 b->name, owner->nqn);
		return -EBUSY;
	}
	i = nvmf_ns_slot(s, nsid, err, errlen);
	if (i < 0)
		return i;
	ns = calloc(1, sizeof(*ns));
	if (!ns) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ns->nsid = i + 1;
	ns->bdev = b;
	h1 = nvmf_hash(0xcbf29ce484222325ull, s->nqn, strlen(s->nqn));
	h1 = nvmf_hash(h1, &ns->nsid, sizeof(ns->nsid));
	h2 = nvmf_hash(h1 ^ 0x5bd1e995, b->name, strlen(b->name));
	memcpy(ns->nguid, &h1, 8);
	memcpy(ns->nguid + 8, &h2, 8);
	h1 = nvmf_hash(h2, "uuid", 4);
	h2 = nvmf_hash(h1, "uuid", 4);
	memcpy(ns->uuid, &h1, 8);
	memcpy(ns->uuid + 8, &h2, 8);
	ns->uuid[6] = (ns->uuid[6] & 0x0f) | 0x80;	/* version 8: custom [RFC 9562] */
	ns->uuid[8] = (ns->uuid[8] & 0x3f) | 0x80;	/* variant 10 */
	if (uuid)
		memcpy(ns->uuid, uuid, 16);
	if (nguid)
		memcpy(ns->nguid, nguid, 16);
	ns->seq = atomic_fetch_add(&g_ns_seq, 1) + 1;
	pthread_rwlock_wrlock(&g_config_lock);
	pthread_mutex_lock(&s->lock);
	s->ns[i] = ns;
	pthread_mutex_unlock(&s->lock);
	pthread_rwlock_unlock(&g_config_lock);
	nvmf_ns_changed(s, ns->nsid);
	return 0;
}

int nvmf_subsys_add_ns(struct nvmf_subsys *s, struct nvmf_bdev *b, char *err, size_t errlen)
{
	return nvmf_subsys_attach_ns(s, b, 0, NULL, NULL, err, errlen);
}

/* Allow a host NQN; the subsystem stops allowing any host. */
int nvmf_subsys_add_host(struct nvmf_subsys *s, const char *hostnqn)
{
	char (*h)[NVMF_NQN_SIZE];

	if (nvmf_nqn_valid(hostnqn))
		return -EINVAL;
	pthread_rwlock_wrlock(&g_config_lock);
	for (int i = 0; i < s->nr_hosts; i++) {
		if (!strcmp(s->hosts[i], hostnqn)) {
			pthread_rwlock_unlock(&g_config_lock);
			return -EEXIST;
		}
	}
	h = realloc(s->hosts, (s->nr_hosts + 1) * sizeof(*h));
	if (!h) {
		pthread_rwlock_unlock(&g_config_lock);
		return -ENOMEM;
	}
	s->hosts = h;
	snprintf(s->hosts[s->nr_hosts++], NVMF_NQN_SIZE, "%s", hostnqn);
	s->allow_any_host = false;
	pthread_rwlock_unlock(&g_config_lock);
	return 0;
}

static bool nvmf_host_allowed(const struct nvmf_subsys *s, const char *hostnqn)
{
	if (s->allow_any_host)
		return true;
	for (int i = 0; i < s->nr_hosts; i++)
		if (!strcmp(s->hosts[i], hostnqn))
			return true;
	return false;
}

/* Caller holds g_config_lock (reading), or is its only writer. */
static struct nvmf_subsys *nvmf_subsys_find(const char *nqn)
{
	if (!strcmp(nqn, NVMF_DISC_NQN))
		return &g_discovery;
	for (struct nvmf_subsys *s = g_subsystems; s; s = s->next)
		if (!strcmp(s->nqn, nqn))
			return s;
	return NULL;
}

static struct nvmf_ns *nvmf_ns_get(struct nvmf_subsys *s, uint32_t nsid)
{
	if (nsid == 0 || nsid > NVMF_MAX_NS)
		return NULL;
	return s->ns[nsid - 1];
}

void nvmf_init(void)
{
	g_start_ms = nvmf_now_ms();
}

void nvmf_fini(void)
{
	struct nvmf_subsys *s, *next;

	for (s = g_subsystems; s; s = next) {
		next = s->next;
		for (int i = 0; i < NVMF_MAX_NS; i++) {
			if (s->ns[i]) {
				bdev_free(s->ns[i]->bdev);
				free(s->ns[i]);
			}
		}
		free(s->hosts);
		free(s);
	}
	g_subsystems = NULL;
	while (g_referrals) {
		struct nvmf_referral *f = g_referrals;

		g_referrals = f->next;
		free(f);
	}
}

/* ==================================================================== */
/* Controllers                                                         */
/* ==================================================================== */

/* Pick a controller ID no live controller of s uses [BASE-2.0c §3.3.1.2,
 * dynamic model]. Caller holds s->lock. Returns 0 when all are taken. */
static uint16_t nvmf_cntlid_alloc(struct nvmf_subsys *s)
{
	uint16_t id = 0;

	pthread_mutex_lock(&g_cntlid_lock);
	for (int tries = 0; tries < NVMF_CNTLID_MAX && !id; tries++) {
		uint16_t c = g_next_cntlid;
		struct nvmf_ctrl *ctrl;

		g_next_cntlid = c == NVMF_CNTLID_MAX ? 1 : c + 1;
		for (ctrl = s->ctrls; ctrl && ctrl->cntlid != c; ctrl = ctrl->next)
			;
		if (!ctrl)
			id = c;
	}
	pthread_mutex_unlock(&g_cntlid_lock);
	return id;
}

static struct nvmf_ctrl *nvmf_ctrl_alloc(struct nvmf_subsys *s, const struct nvmf_connect_data *d,
					 uint32_t kato_ms)
{
	struct nvmf_ctrl *ctrl = calloc(1, sizeof(*ctrl));

	if (!ctrl)
		return NULL;
	pthread_mutex_lock(&s->lock);
	ctrl->cntlid = nvmf_cntlid_alloc(s);
	if (!ctrl->cntlid) {
		pthread_mutex_unlock(&s->lock);
		free(ctrl);
		return NULL;
	}
	ctrl->subsys = s;
	memcpy(ctrl->hostnqn, d->hostnqn, NVMF_NQN_SIZE);
	memcpy(ctrl->hostid, d->hostid, sizeof(ctrl->hostid));
	ctrl->kato_ms = kato_ms;
	ctrl->last_ka_ms = nvmf_now_ms();
	ctrl->born_ms = ctrl->last_ka_ms;
	ctrl->temp_over = 0x157;	/* 343 K, the warning threshold */
	pthread_mutex_init(&ctrl->lock, NULL);
	ctrl->next = s->ctrls;
	s->ctrls = ctrl;
	pthread_mutex_unlock(&s->lock);
	return ctrl;
}

static void nvmf_ctrl_put(struct nvmf_ctrl *ctrl)
{
	struct nvmf_subsys *s = ctrl->subsys;
	struct nvmf_ctrl **pp;

	if (atomic_fetch_sub(&ctrl->refs, 1) != 1)
		return;
	pthread_mutex_lock(&s->lock);
	for (pp = &s->ctrls; *pp && *pp != ctrl; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = ctrl->next;
	pthread_mutex_unlock(&s->lock);
	LOG_INFO("controller %u of %s for %s freed", ctrl->cntlid, s->nqn, ctrl->hostnqn);
	pthread_mutex_destroy(&ctrl->lock);
	free(ctrl);
}

/* Tear the whole controller down: each queue closes on its next tick. */
static void nvmf_ctrl_kill(struct nvmf_ctrl *ctrl)
{
	atomic_store(&ctrl->dead, true);
}

/* A controller reset ends outstanding admin commands [BASE-2.0c §3.7.2]:
 * answer the parked AERs so their slots come back, forget events. The
 * admin queue closing does the same. Runs on the admin queue's reactor. */
static void nvmf_ctrl_reset_aers(struct nvmf_ctrl *ctrl)
{
	struct nvmf_req *aer[NVMF_AERL + 1];
	int n;

	pthread_mutex_lock(&ctrl->lock);
	n = ctrl->nr_aer;
	memcpy(aer, ctrl->aer, sizeof(aer));
	ctrl->nr_aer = 0;
	ctrl->evt_pending = ctrl->evt_masked = 0;
	pthread_mutex_unlock(&ctrl->lock);
	for (int i = 0; i < n; i++)
		nvmf_req_done(aer[i], NVME_SC_ABORT_SQ_DELETED);
}

/*
 * The transport has closed q. Detach it from its controller; losing the
 * admin queue loses the controller [BASE-2.0c §3.3.2.3]. AERs the admin
 * queue held are handed back so the transport can free their slots.
 */
void nvmf_queue_closed(struct nvmf_queue *q)
{
	struct nvmf_ctrl *ctrl = q->ctrl;

	auth_queue_free(q);
	if (!ctrl)
		return;
	pthread_mutex_lock(&ctrl->lock);
	if (ctrl->queues[q->qid] == q)
		ctrl->queues[q->qid] = NULL;
	pthread_mutex_unlock(&ctrl->lock);
	if (q->qid == 0) {
		LOG_INFO("controller %u: admin queue from %s closed", ctrl->cntlid, q->peer);
		nvmf_ctrl_kill(ctrl);
		nvmf_ctrl_reset_aers(ctrl);
	}
	q->ctrl = NULL;
	nvmf_ctrl_put(ctrl);
}

/* ==================================================================== */
/* Asynchronous events [BASE-2.0c §5.2]                                */
/* ==================================================================== */

static uint32_t nvmf_evt_dw0(uint32_t evt)
{
	if (evt == NVMF_EVT_NS_CHANGED)
		return NVME_AER_DW0(NVME_AER_TYPE_NOTICE, NVME_AER_NOTICE_NS_CHANGED,
				    NVME_LOG_CHANGED_NS);
	return NVME_AER_DW0(NVME_AER_TYPE_NOTICE, NVME_AER_NOTICE_DISC_CHANGED, NVME_LOG_DISC);
}

static uint32_t nvmf_evt_aec_bit(uint32_t evt)
{
	return evt == NVMF_EVT_NS_CHANGED ? NVME_CTRL_OAES_NS_ATTR : NVME_CTRL_OAES_DISC_CHANGE;
}

/*
 * Complete one waiting AER per pending event. An event type stays masked
 * after it is reported until the host reads its log page [BASE-2.0c
 * §5.2.1]. Runs on the admin queue's reactor.
 */
static void nvmf_aen_deliver(struct nvmf_ctrl *ctrl)
{
	for (;;) {
		struct nvmf_req *r = NULL;
		uint32_t evt;

		pthread_mutex_lock(&ctrl->lock);
		evt = ctrl->evt_pending & -ctrl->evt_pending;	/* lowest bit */
		if (evt && ctrl->nr_aer) {
			r = ctrl->aer[--ctrl->nr_aer];
			ctrl->evt_pending &= ~evt;
			ctrl->evt_masked |= evt;
		}
		pthread_mutex_unlock(&ctrl->lock);
		if (!r)
			return;
		r->cqe.dw0 = htole32(nvmf_evt_dw0(evt));
		LOG_INFO("controller %u: asynchronous event 0x%08x", ctrl->cntlid, nvmf_evt_dw0(evt));
		nvmf_req_done(r, NVME_SC_SUCCESS);
	}
}

/* Note an event for ctrl; it goes out on the admin queue's next tick. */
static void nvmf_ctrl_event(struct nvmf_ctrl *ctrl, uint32_t evt, uint32_t nsid)
{
	pthread_mutex_lock(&ctrl->lock);
	if (evt == NVMF_EVT_NS_CHANGED && ctrl->nr_changed_ns < NVMF_CHANGED_NS_MAX)
		ctrl->changed_ns[ctrl->nr_changed_ns++] = nsid;
	if ((ctrl->aec & nvmf_evt_aec_bit(evt)) && !(ctrl->evt_masked & evt))
		ctrl->evt_pending |= evt;
	pthread_mutex_unlock(&ctrl->lock);
}

/* The namespace list of s changed (nsid added or removed): every live
 * controller gets it in its Changed Namespace List and, if enabled, an
 * AEN [BASE-2.0c §5.2.1, Fig. 151]. Any thread. */
void nvmf_ns_changed(struct nvmf_subsys *s, uint32_t nsid)
{
	pthread_mutex_lock(&s->lock);
	for (struct nvmf_ctrl *c = s->ctrls; c; c = c->next)
		nvmf_ctrl_event(c, NVMF_EVT_NS_CHANGED, nsid);
	pthread_mutex_unlock(&s->lock);
}

/* What the discovery log says changed: new GENCTR, and a log-change AEN
 * to persistent discovery controllers [BASE-2.0c §5.16.1.23]. */
void nvmf_disc_changed(void)
{
	atomic_fetch_add(&g_disc_genctr, 1);
	pthread_mutex_lock(&g_discovery.lock);
	for (struct nvmf_ctrl *c = g_discovery.ctrls; c; c = c->next)
		nvmf_ctrl_event(c, NVMF_EVT_DISC_CHANGED, 0);
	pthread_mutex_unlock(&g_discovery.lock);
}

/* Every 100 ms or so, per queue, on its reactor: follow the controller's
 * death or reset, expire keep-alive, deliver events. */
void nvmf_queue_tick(struct nvmf_queue *q)
{
	struct nvmf_ctrl *ctrl = q->ctrl;
	uint64_t now, idle;

	if (!ctrl || q->closing)
		return;
	if (atomic_load(&ctrl->dead) || (q->qid && q->gen != atomic_load(&ctrl->gen))) {
		q->ops->close(q);
		return;
	}
	now = nvmf_now_ms();
	if (q->qid) {
		/* Traffic Based Keep Alive (we set CTRATT.TBKAS): a command on
		 * any queue restarts the keep-alive timer [BASE-2.0c §3.9.5],
		 * so a busy host need not send Keep Alive. Noted here, at the
		 * tick, to keep a lock off the I/O path. */
		if (q->nr_cmds != q->nr_cmds_seen) {
			q->nr_cmds_seen = q->nr_cmds;
			pthread_mutex_lock(&ctrl->lock);
			ctrl->last_ka_ms = now;
			pthread_mutex_unlock(&ctrl->lock);
		}
		return;
	}
	if (q->auth_required && !q->authenticated) {
		/* Until the admin queue is authenticated the host can send
		 * nothing but Authentication Send/Receive (Keep Alive would
		 * fail with Authentication Required), and one side's DH step
		 * may take longer than KATO on a slow machine. So the keep-
		 * alive timer starts when authentication succeeds, and until
		 * then a longer bound closes the queue of a host that stopped
		 * half way. */
		if (now - ctrl->born_ms > NVMF_AUTH_TIMEOUT_MS) {
			LOG_ERR("controller %u (%s): authentication not finished %u ms after "
				"Connect; closing the admin queue", ctrl->cntlid, ctrl->hostnqn,
				NVMF_AUTH_TIMEOUT_MS);
			nvmf_ctrl_kill(ctrl);
			q->ops->close(q);
			return;
		}
		pthread_mutex_lock(&ctrl->lock);
		ctrl->last_ka_ms = now;
		pthread_mutex_unlock(&ctrl->lock);
		return;
	}
	pthread_mutex_lock(&ctrl->lock);
	idle = now - ctrl->last_ka_ms;
	pthread_mutex_unlock(&ctrl->lock);
	if (ctrl->kato_ms && idle > ctrl->kato_ms) {
		LOG_ERR("controller %u (%s): keep-alive timeout: KATO %u ms agreed at Connect, "
			"%llu ms since the last command; tearing it down",
			ctrl->cntlid, ctrl->hostnqn, ctrl->kato_ms, (unsigned long long)idle);
		nvmf_ctrl_kill(ctrl);
		q->ops->close(q);
		return;
	}
	nvmf_aen_deliver(ctrl);
}

/* ==================================================================== */
/* Live configuration (rpc.c drives it)                                */
/* ==================================================================== */

/*
 * Every function here runs on the one configuring thread (the RPC
 * server, or main before the reactors start); reactors only read. The
 * rule for taking something away while reactors run:
 *
 *   1. unpublish it under g_config_lock (write) and s->lock;
 *   2. nvmf_quiesce(): every reactor finishes the pass that may have
 *      read the old pointer;
 *   3. wait for what outlives a pass (ns->inflight: commands at the
 *      backend; s->ctrls: controllers whose queues are closing);
 *   4. free.
 */

/* Wait until every running reactor has started a new pass, so none is
 * still inside a handler that read a pointer we just unpublished. The
 * wake eventfd cuts a sleeping reactor's 100 ms epoll wait short. */
void nvmf_quiesce(void)
{
	unsigned seen[64];
	int n = g_nr_reactors < 64 ? g_nr_reactors : 64;
	uint64_t one = 1;

	for (int i = 0; i < n; i++) {
		seen[i] = atomic_load(&g_reactors[i].passes);
		if (write(g_reactors[i].wake.fd, &one, sizeof(one)) < 0)
			LOG_WARN("waking reactor %d: %s", i, strerror(errno));
	}
	for (int i = 0; i < n; i++) {
		struct nvmf_reactor *r = &g_reactors[i];

		/* passes stays 0 until the thread runs: nothing to wait for. */
		while (atomic_load(&r->passes) && atomic_load(&r->passes) == seen[i] &&
		       !atomic_load(&r->stop))
			usleep(200);
	}
}

/* Is s offered on port l? The discovery subsystem is on every port; a
 * discovery-only port (8009) offers nothing else. Caller holds
 * g_config_lock. */
bool nvmf_subsys_on_listener(const struct nvmf_subsys *s, const struct nvmf_listener *l)
{
	if (s->is_disc)
		return true;
	if (s->any_listener)
		return !l->discovery_only;
	for (int i = 0; i < s->nr_listeners; i++)
		if (s->listeners[i] == l)
			return true;
	return false;
}

struct nvmf_subsys *nvmf_subsys_lookup(const char *nqn)
{
	return nvmf_subsys_find(nqn);
}

/* Take hostnqn off the allow list. Its controllers stay; its next
 * Connect is refused (SPDK keeps them too until they reconnect). */
int nvmf_subsys_remove_host(struct nvmf_subsys *s, const char *hostnqn)
{
	int rc = -ENOENT;

	pthread_rwlock_wrlock(&g_config_lock);
	for (int i = 0; i < s->nr_hosts; i++) {
		if (!strcmp(s->hosts[i], hostnqn)) {
			memmove(s->hosts[i], s->hosts[i + 1],
				(s->nr_hosts - i - 1) * sizeof(*s->hosts));
			s->nr_hosts--;
			rc = 0;
			break;
		}
	}
	if (!rc)
		nvmf_disc_genctr_move();
	pthread_rwlock_unlock(&g_config_lock);
	if (!rc)
		nvmf_disc_changed();	/* its discovery log just shrank */
	return rc;
}

void nvmf_subsys_allow_any(struct nvmf_subsys *s, bool on)
{
	pthread_rwlock_wrlock(&g_config_lock);
	s->allow_any_host = on;
	nvmf_disc_genctr_move();
	pthread_rwlock_unlock(&g_config_lock);
	nvmf_disc_changed();
}

/* The listener record for tmpl's address, or NULL. Records are never
 * freed while the target runs: queues accepted on one point at it. */
static struct nvmf_listener *nvmf_listener_find(const struct nvmf_listener *tmpl)
{
	for (struct nvmf_listener *l = g_listeners; l; l = l->next)
		if (l->trtype == tmpl->trtype && !strcmp(l->traddr, tmpl->traddr) &&
		    !strcmp(l->trsvcid, tmpl->trsvcid))
			return l;
	return NULL;
}

/* Open (or reopen) the socket of the record for tmpl; a new record goes
 * at the end of g_listeners with the next port ID. Caller holds
 * g_config_lock (write). */
static struct nvmf_listener *nvmf_listener_open(const struct nvmf_listener *tmpl, bool disc_only,
						char *err, size_t errlen)
{
	int (*listen)(struct nvmf_listener *l, char *err, size_t errlen);
	struct nvmf_listener *l = nvmf_listener_find(tmpl), **pp;
	uint16_t portid = 0;

	if (l && l->poller.fd >= 0)
		return l;
	listen = tmpl->trtype == NVMF_TRTYPE_RDMA ? rdma_port_listen : tcp_listen;
	if (!l) {
		for (pp = &g_listeners; *pp; pp = &(*pp)->next)
			if ((*pp)->portid > portid)
				portid = (*pp)->portid;
		l = calloc(1, sizeof(*l));
		if (!l) {
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		*l = *tmpl;
		l->next = NULL;
		l->portid = portid + 1;
		l->discovery_only = disc_only;
		l->dynamic = true;
		l->poller.fd = -1;
		if (listen(l, err, errlen)) {
			free(l);
			return NULL;
		}
		*pp = l;
		return l;
	}
	l->discovery_only = disc_only;
	return listen(l, err, errlen) ? NULL : l;
}

/* If an RPC opened l and nothing is offered on it any more, stop
 * watching it: the record keeps its address (the discovery log drops it,
 * its fd is -1) and *gone takes what nvmf_listener_close() must free.
 * Caller holds g_config_lock (write). Returns false to keep it. */
static bool nvmf_listener_release(struct nvmf_listener *l, struct nvmf_listener *gone)
{
	if (!l->dynamic || l->poller.fd < 0)
		return false;
	for (struct nvmf_subsys *s = g_subsystems; s; s = s->next)
		if (!s->any_listener && nvmf_subsys_on_listener(s, l))
			return false;
	for (int i = 0; i < g_discovery.nr_listeners; i++)
		if (g_discovery.listeners[i] == l)
			return false;
	nvmf_reactor_unwatch(&g_reactors[0], &l->poller);
	*gone = *l;
	l->poller.fd = -1;		/* the discovery log drops it now */
	l->priv = NULL;
	return true;
}

/* Free a released listener's socket (TCP) or CM ID (RDMA) once reactor 0
 * has finished the pass that may have fetched an event for it (else an
 * accept could run on a closed, even reused, fd). Caller holds no lock. */
static void nvmf_listener_close(struct nvmf_listener *gone)
{
	nvmf_quiesce();
	if (gone->trtype == NVMF_TRTYPE_RDMA)
		rdma_port_unlisten(gone);
	else
		tcp_unlisten(gone);
}

/*
 * nvmf_subsystem_add_listener: offer s on tmpl's address, listening there
 * first if nobody does yet. For the discovery NQN, a discovery port.
 * Returns 0, or -errno with err set (address in use, already there).
 */
int nvmf_subsys_listen(struct nvmf_subsys *s, const struct nvmf_listener *tmpl,
		       char *err, size_t errlen)
{
	struct nvmf_listener *l;
	int rc = 0;

	pthread_rwlock_wrlock(&g_config_lock);
	l = nvmf_listener_find(tmpl);
	for (int i = 0; l && i < s->nr_listeners; i++)
		if (s->listeners[i] == l && l->poller.fd >= 0)
			rc = -EEXIST;
	if (rc)
		snprintf(err, errlen, "%s already listens on %s:%s", s->nqn, tmpl->traddr, tmpl->trsvcid);
	else if (s->nr_listeners == NVMF_MAX_SUBSYS_LISTENERS) {
		snprintf(err, errlen, "%s already has %d listeners", s->nqn, NVMF_MAX_SUBSYS_LISTENERS);
		rc = -ENOSPC;
	} else if (!(l = nvmf_listener_open(tmpl, s->is_disc && (!l || l->discovery_only), err, errlen)))
		rc = -EADDRINUSE;
	else if (l->discovery_only && !s->is_disc)
		l->discovery_only = false;	/* now an I/O port too */
	if (!rc) {
		s->listeners[s->nr_listeners++] = l;
		nvmf_disc_genctr_move();
	}
	pthread_rwlock_unlock(&g_config_lock);
	if (!rc)
		nvmf_disc_changed();
	return rc;
}

/* nvmf_subsystem_remove_listener: s is no longer offered there; new
 * Connects to s on it are refused, and the socket closes when no one
 * else is offered on it. Connections already made stay. */
int nvmf_subsys_unlisten(struct nvmf_subsys *s, const struct nvmf_listener *tmpl,
			 char *err, size_t errlen)
{
	struct nvmf_listener *l;
	struct nvmf_listener gone;
	bool release;
	int i;

	pthread_rwlock_wrlock(&g_config_lock);
	l = nvmf_listener_find(tmpl);
	for (i = 0; l && i < s->nr_listeners && s->listeners[i] != l; i++)
		;
	if (!l || i == s->nr_listeners) {
		pthread_rwlock_unlock(&g_config_lock);
		snprintf(err, errlen, "%s does not listen on %s:%s", s->nqn, tmpl->traddr, tmpl->trsvcid);
		return -ENOENT;
	}
	s->listeners[i] = s->listeners[--s->nr_listeners];
	release = nvmf_listener_release(l, &gone);
	nvmf_disc_genctr_move();
	pthread_rwlock_unlock(&g_config_lock);
	if (release)
		nvmf_listener_close(&gone);
	nvmf_disc_changed();
	return 0;
}

static bool nvmf_referral_same(const struct nvmf_referral *a, const struct nvmf_referral *b)
{
	return a->trtype == b->trtype && !strcmp(a->traddr, b->traddr) &&
	       !strcmp(a->trsvcid, b->trsvcid) && !strcmp(a->subnqn, b->subnqn);
}

/* A referral to another discovery service; GENCTR moves. */
int nvmf_referral_add(const struct nvmf_referral *tmpl, char *err, size_t errlen)
{
	struct nvmf_referral *f, **pp;

	pthread_rwlock_wrlock(&g_config_lock);
	for (pp = &g_referrals; *pp; pp = &(*pp)->next) {
		if (nvmf_referral_same(*pp, tmpl)) {
			pthread_rwlock_unlock(&g_config_lock);
			snprintf(err, errlen, "referral to %s:%s already exists", tmpl->traddr, tmpl->trsvcid);
			return -EEXIST;
		}
	}
	f = malloc(sizeof(*f));
	if (f) {
		*f = *tmpl;
		f->next = NULL;
		*pp = f;
		nvmf_disc_genctr_move();
	}
	pthread_rwlock_unlock(&g_config_lock);
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	nvmf_disc_changed();
	return 0;
}

int nvmf_referral_remove(const struct nvmf_referral *tmpl, char *err, size_t errlen)
{
	struct nvmf_referral *f = NULL, **pp;

	pthread_rwlock_wrlock(&g_config_lock);
	for (pp = &g_referrals; *pp; pp = &(*pp)->next) {
		if (nvmf_referral_same(*pp, tmpl)) {
			f = *pp;
			*pp = f->next;
			nvmf_disc_genctr_move();
			break;
		}
	}
	pthread_rwlock_unlock(&g_config_lock);
	if (!f) {
		snprintf(err, errlen, "no referral to %s:%s", tmpl->traddr, tmpl->trsvcid);
		return -ENOENT;
	}
	free(f);	/* readers held the lock: none can still see it */
	nvmf_disc_changed();
	return 0;
}

/* Wait, at most timeout_ms, until the backend has answered every command
 * of ns. Returns 0 or -ETIMEDOUT. */
static int nvmf_ns_drain(struct nvmf_ns *ns, unsigned timeout_ms)
{
	for (unsigned waited = 0; atomic_load(&ns->inflight); waited++) {
		if (waited >= timeout_ms * 5)
			return -ETIMEDOUT;
		usleep(200);
	}
	return 0;
}

/*
 * nvmf_subsystem_remove_ns: unpublish nsid (I/O to it now fails with
 * Invalid Namespace), tell the controllers (namespace-attribute notice),
 * wait out commands in flight, and hand the backend back in *out (it
 * was claimed; now it is free for another namespace or for deletion).
 */
int nvmf_subsys_detach_ns(struct nvmf_subsys *s, uint32_t nsid, struct nvmf_bdev **out,
			  char *err, size_t errlen)
{
	struct nvmf_ns *ns = nvmf_ns_get(s, nsid);

	if (!ns) {
		snprintf(err, errlen, "%s has no namespace %u", s->nqn, nsid);
		return -ENOENT;
	}
	pthread_rwlock_wrlock(&g_config_lock);
	pthread_mutex_lock(&s->lock);
	s->ns[nsid - 1] = NULL;
	pthread_mutex_unlock(&s->lock);
	pthread_rwlock_unlock(&g_config_lock);
	nvmf_ns_changed(s, nsid);
	nvmf_quiesce();
	if (nvmf_ns_drain(ns, 30000)) {
		/* A backend that never answers: keep ns (and its bdev) alive
		 * rather than free memory a completion will touch. */
		snprintf(err, errlen, "namespace %u of %s removed, but its backend still holds "
			 "commands after 30 s; bdev %s stays busy", nsid, s->nqn, ns->bdev->name);
		*out = NULL;
		return -EBUSY;
	}
	*out = ns->bdev;
	free(ns);
	return 0;
}

/*
 * nvmf_delete_subsystem: unlink s (new Connects fail), kill its
 * controllers and wait until their queues let go, then free it. Its
 * backends are freed too unless the caller took them first. Returns 0,
 * or -EBUSY with err set if a controller would not go within 30 s.
 */
int nvmf_subsys_remove(struct nvmf_subsys *s, char *err, size_t errlen)
{
	struct nvmf_listener gone[NVMF_MAX_SUBSYS_LISTENERS];
	int nr_gone = 0;
	struct nvmf_subsys **pp;
	unsigned waited = 0;

	pthread_rwlock_wrlock(&g_config_lock);
	for (pp = &g_subsystems; *pp && *pp != s; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = s->next;
	for (int i = 0; i < s->nr_listeners; i++)
		if (nvmf_listener_release(s->listeners[i], &gone[nr_gone]))
			nr_gone++;
	nvmf_disc_genctr_move();
	pthread_rwlock_unlock(&g_config_lock);
	for (int i = 0; i < nr_gone; i++)
		nvmf_listener_close(&gone[i]);
	nvmf_disc_changed();
	for (;;) {
		bool any;

		pthread_mutex_lock(&s->lock);
		for (struct nvmf_ctrl *c = s->ctrls; c; c = c->next)
			nvmf_ctrl_kill(c);
		any = s->ctrls != NULL;
		pthread_mutex_unlock(&s->lock);
		if (!any)
			break;
		if (++waited > 30000) {
			snprintf(err, errlen, "%s removed, but its controllers did not close within 30 s",
				 s->nqn);
			return -EBUSY;
		}
		usleep(1000);
	}
	nvmf_quiesce();
	for (int i = 0; i < NVMF_MAX_NS; i++) {
		if (s->ns[i] && nvmf_ns_drain(s->ns[i], 30000) == 0) {
			bdev_free(s->ns[i]->bdev);
			free(s->ns[i]);
		}
	}
	free(s->hosts);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return 0;
}

/* Snapshots of s's controllers and their queues, for the get_
 * controllers and get_qpairs methods. Return how many were written. */
int nvmf_subsys_ctrls(struct nvmf_subsys *s, struct nvmf_ctrl_info *out, int max)
{
	int n = 0;

	pthread_mutex_lock(&s->lock);
	for (struct nvmf_ctrl *c = s->ctrls; c && n < max; c = c->next) {
		if (atomic_load(&c->dead))
			continue;
		out[n].cntlid = c->cntlid;
		memcpy(out[n].hostnqn, c->hostnqn, NVMF_NQN_SIZE);
		memcpy(out[n].hostid, c->hostid, 16);
		out[n].nr_io_queues = 0;
		pthread_mutex_lock(&c->lock);
		for (int i = 1; i <= NVMF_MAX_IO_QUEUES; i++)
			out[n].nr_io_queues += c->queues[i] != NULL;
		pthread_mutex_unlock(&c->lock);
		n++;
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

int nvmf_subsys_qpairs(struct nvmf_subsys *s, struct nvmf_qpair_info *out, int max)
{
	int n = 0;

	pthread_mutex_lock(&s->lock);
	for (struct nvmf_ctrl *c = s->ctrls; c; c = c->next) {
		pthread_mutex_lock(&c->lock);
		for (int i = 0; i <= NVMF_MAX_IO_QUEUES && n < max; i++) {
			struct nvmf_queue *q = c->queues[i];

			if (!q)
				continue;
			out[n].cntlid = c->cntlid;
			out[n].qid = q->qid;
			out[n].reactor = q->reactor ? q->reactor->id : -1;
			memcpy(out[n].peer, q->peer, sizeof(out[n].peer));
			out[n].listener = q->listener;
			n++;
		}
		pthread_mutex_unlock(&c->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* ==================================================================== */
/* Fabrics commands: Connect, Property Get/Set [BASE-2.0c §6]          */
/* ==================================================================== */

/* Reject a Connect naming the bad field: IPO is its byte offset, IATTR
 * says whether in the SQE (0) or in the data (1) [BASE-2.0c Fig. 549]. */
static void nvmf_connect_bad(struct nvmf_req *r, uint16_t ipo, bool in_data, const char *why)
{
	LOG_WARN("Connect from %s rejected: %s", r->q->peer, why);
	r->cqe.dw0 = htole32(ipo | (in_data ? NVMF_CONNECT_IATTR_DATA << 16 : 0));
	nvmf_req_done(r, NVME_SC_CONNECT_INVALID_PARAM | NVME_STATUS_DNR);
}

/* Admin queue Connect: a new controller (dynamic model: CNTLID FFFFh). */
static void nvmf_connect_admin(struct nvmf_req *r, struct nvmf_subsys *s,
			       const struct nvmf_connect_cmd *c, const struct nvmf_connect_data *d)
{
	struct nvmf_queue *q = r->q;
	struct nvmf_ctrl *ctrl;

	if (le16toh(d->cntlid) != NVMF_CNTLID_DYNAMIC)
		return nvmf_connect_bad(r, offsetof(struct nvmf_connect_data, cntlid), true,
					"admin Connect must ask for CNTLID FFFFh (dynamic controllers)");
	if (le16toh(c->sqsize) + 1u > NVMF_MAXCMD)
		return nvmf_connect_bad(r, offsetof(struct nvmf_connect_cmd, sqsize), false,
					"admin SQSIZE above MAXCMD");
	ctrl = nvmf_ctrl_alloc(s, d, le32toh(c->kato));
	if (!ctrl) {
		LOG_ERR("Connect from %s: no controller ID free", q->peer);
		return nvmf_req_done(r, NVME_SC_CONNECT_CTRL_BUSY);
	}
	atomic_store(&ctrl->refs, 1);
	ctrl->queues[0] = q;
	q->ctrl = ctrl;
	q->max_icd = NVMF_ADMIN_ICD;
	LOG_INFO("controller %u of %s for %s from %s (KATO %u ms)", ctrl->cntlid, s->nqn,
		 ctrl->hostnqn, q->peer, ctrl->kato_ms);
	r->cqe.dw0 = htole32(ctrl->cntlid |
			     (auth_connect(q, s->nqn, ctrl->hostnqn) ? NVMF_CONNECT_AUTHREQ_ATR : 0));
	nvmf_req_done(r, NVME_SC_SUCCESS);
}

/* I/O queue Connect: join an enabled controller of the same host. */
static void nvmf_connect_io(struct nvmf_req *r, struct nvmf_subsys *s,
			    const struct nvmf_connect_cmd *c, const struct nvmf_connect_data *d)
{
	uint16_t qid = le16toh(c->qid), cntlid = le16toh(d->cntlid);
	struct nvmf_queue *q = r->q;
	struct nvmf_ctrl *ctrl;
	uint16_t status = 0;

	pthread_mutex_lock(&s->lock);
	for (ctrl = s->ctrls; ctrl && ctrl->cntlid != cntlid; ctrl = ctrl->next)
		;
	if (ctrl && !atomic_load(&ctrl->dead))
		atomic_fetch_add(&ctrl->refs, 1);
	else
		ctrl = NULL;
	pthread_mutex_unlock(&s->lock);
	if (!ctrl)
		return nvmf_connect_bad(r, offsetof(struct nvmf_connect_data, cntlid), true,
					"I/O queue Connect names no live controller (connect the admin queue first)");
	if (strncmp(ctrl->hostnqn, d->hostnqn, NVMF_NQN_SIZE)) {
		nvmf_ctrl_put(ctrl);
		return nvmf_connect_bad(r, offsetof(struct nvmf_connect_data, hostnqn), true,
					"I/O queue Connect from another host than the admin queue's");
	}
	pthread_mutex_lock(&ctrl->lock);
	if (qid > (ctrl->nr_io_queues_set ? ctrl->nr_io_queues : g_limits.max_io_qpairs))
		status = NVME_SC_CONNECT_INVALID_PARAM;
	else if (!(atomic_load(&ctrl->csts) & NVME_CSTS_RDY))
		status = NVME_SC_CMD_SEQ_ERROR;
	else if (ctrl->queues[qid])
		status = NVME_SC_CONNECT_CTRL_BUSY;
	else
		ctrl->queues[qid] = q;
	pthread_mutex_unlock(&ctrl->lock);
	if (status) {
		nvmf_ctrl_put(ctrl);
		if (status == NVME_SC_CONNECT_INVALID_PARAM)
			return nvmf_connect_bad(r, offsetof(struct nvmf_connect_cmd, qid), false,
						"QID above the number of I/O queues granted");
		LOG_WARN("I/O queue %u Connect from %s: %s", qid, q->peer,
			 status == NVME_SC_CMD_SEQ_ERROR ? "controller not enabled (CC.EN=0)"
							 : "queue already connected");
		return nvmf_req_done(r, status | NVME_STATUS_DNR);
	}
	q->ctrl = ctrl;
	q->gen = atomic_load(&ctrl->gen);
	q->max_icd = g_limits.io_icd;
	LOG_DBG("controller %u: I/O queue %u (%u entries) from %s", ctrl->cntlid, qid,
		le16toh(c->sqsize) + 1, q->peer);
	r->cqe.dw0 = htole32(ctrl->cntlid |
			     (auth_connect(q, s->nqn, ctrl->hostnqn) ? NVMF_CONNECT_AUTHREQ_ATR : 0));
	nvmf_req_done(r, NVME_SC_SUCCESS);
}

/*
 * Connect [BASE-2.0c §6.3]: validate the SQE, then the data, then hand
 * over to the admin or I/O form. The checks go in the order a reader of
 * Fig. 546-547 would make them.
 */
static void nvmf_connect_locked(struct nvmf_req *r)
{
	const struct nvmf_connect_cmd *c = (const void *)&r->sqe;
	struct nvmf_connect_data *d = (void *)r->data;
	struct nvmf_queue *q = r->q;
	uint16_t qid = le16toh(c->qid), sqsize = le16toh(c->sqsize);
	struct nvmf_subsys *s;

	if (q->ctrl) {
		LOG_WARN("Connect from %s on a queue already connected", q->peer);
		return nvmf_req_done(r, NVME_SC_CMD_SEQ_ERROR | NVME_STATUS_DNR);
	}
	if (le16toh(c->recfmt) != 0) {
		LOG_WARN("Connect from %s: RECFMT %u, we know 0", q->peer, le16toh(c->recfmt));
		return nvmf_req_done(r, NVME_SC_CONNECT_FORMAT | NVME_STATUS_DNR);
	}
	if (r->data_len < sizeof(*d))
		return nvmf_req_fail_at(r, NVME_SC_SGL_INVALID_DATA, offsetof(struct nvme_sqe, dptr));
	if (sqsize == 0)
		return nvmf_connect_bad(r, offsetof(struct nvmf_connect_cmd, sqsize), false,
					"SQSIZE 0 (a queue needs at least 2 entries)");
	if (sqsize + 1u > (qid ? g_limits.max_queue_depth : NVMF_MAXCMD))
		return nvmf_connect_bad(r, offsetof(struct nvmf_connect_cmd, sqsize), false,
					"SQSIZE above MAXCMD");
	if (!memchr(d->subnqn, 0, sizeof(d->subnqn)))
		return nvmf_connect_bad(r, offsetof(struct nvmf_connect_data, subnqn), true,
					"SUBNQN not NUL-terminated");
	/* An empty HOSTNQN is what SPDK's perf and identify send when told no
	 * host NQN. Like SPDK's target and nvmet, take it when any host may
	 * connect; an allow list cannot name it, so there it gets Connect
	 * Invalid Host below [BASE-2.0c Fig. 584], as SPDK's target answers. */
	if (!memchr(d->hostnqn, 0, sizeof(d->hostnqn)) || (d->hostnqn[0] && nvmf_nqn_valid(d->hostnqn)))
		return nvmf_connect_bad(r, offsetof(struct nvmf_connect_data, hostnqn), true,
					"HOSTNQN is not a valid NQN");
	s = nvmf_subsys_find(d->subnqn);
	if (!s || (q->listener && !nvmf_subsys_on_listener(s, q->listener))) {
		LOG_WARN("Connect from %s names subsystem '%s', which is not served here", q->peer, d->subnqn);
		return nvmf_connect_bad(r, offsetof(struct nvmf_connect_data, subnqn), true,
					"unknown subsystem NQN");
	}
	if (!nvmf_host_allowed(s, d->hostnqn)) {
		LOG_WARN("Connect from %s: host %s is not allowed on %s (allowed: %d host(s), e.g. %s)",
			 q->peer, d->hostnqn, s->nqn, s->nr_hosts, s->nr_hosts ? s->hosts[0] : "none");
		return nvmf_req_done(r, NVME_SC_CONNECT_INVALID_HOST | NVME_STATUS_DNR);
	}
	q->qid = qid;
	q->size = sqsize + 1;
	q->sqfc_disabled = c->cattr & NVMF_CONNECT_CATTR_SQFC_DISABLE;
	if (qid == 0)
		return nvmf_connect_admin(r, s, c, d);
	if (s->is_disc)
		return nvmf_connect_bad(r, offsetof(struct nvmf_connect_cmd, qid), false,
					"the discovery controller has no I/O queues");
	nvmf_connect_io(r, s, c, d);
}

/* Connect reads the subsystem list, its hosts and its ports, which the
 * RPC thread may change: hold g_config_lock for reading throughout, so
 * a subsystem cannot go away between finding it and adding a controller
 * (nvmf_subsys_remove() kills what it finds after taking the lock). */
static void nvmf_connect(struct nvmf_req *r)
{
	pthread_rwlock_rdlock(&g_config_lock);
	nvmf_connect_locked(r);
	pthread_rwlock_unlock(&g_config_lock);
}

/* CAP [BASE-2.0c Fig. 36]: MQES, CQR, TO (500 ms units), CSS: NVM and
 * I/O command sets, MPSMIN = MPSMAX = 4 KiB. */
static uint64_t nvmf_cap(void)
{
	return (uint64_t)(g_limits.max_queue_depth - 1) | 1ull << 16 | 15ull << 24 |
	       1ull << 37 | 1ull << 43;
}

/*
 * CC written: act on EN and SHN transitions [BASE-2.0c §3.6]. Enabling
 * checks the queue entry sizes and page size we support; a bad value sets
 * CSTS.CFS as a real controller would. Disabling is a reset: every I/O
 * queue of the controller goes.
 */
static void nvmf_cc_write(struct nvmf_ctrl *ctrl, uint32_t cc)
{
	uint32_t old = atomic_load(&ctrl->cc), csts = atomic_load(&ctrl->csts);
	uint32_t css = (cc >> NVME_CC_CSS_SHIFT) & 7;

	atomic_store(&ctrl->cc, cc);
	if ((cc & NVME_CC_EN) && !(old & NVME_CC_EN)) {
		if (((cc >> NVME_CC_MPS_SHIFT) & 0xf) != 0 || (css != 0 && css != 6) ||
		    ((cc >> NVME_CC_IOSQES_SHIFT) & 0xf) != 6 ||
		    ((cc >> NVME_CC_IOCQES_SHIFT) & 0xf) != 4) {
			LOG_ERR("controller %u: CC 0x%08x asks for what we lack (MPS 0, CSS 0 or 6, IOSQES 6, IOCQES 4)",
				ctrl->cntlid, cc);
			csts |= NVME_CSTS_CFS;
		} else {
			csts |= NVME_CSTS_RDY;
		}
	}
	if (!(cc & NVME_CC_EN) && (old & NVME_CC_EN)) {
		csts &= ~(NVME_CSTS_RDY | NVME_CSTS_CFS | NVME_CSTS_SHST_MASK);
		atomic_fetch_add(&ctrl->gen, 1);
		nvmf_ctrl_reset_aers(ctrl);
	}
	if ((cc & NVME_CC_SHN_MASK) && !(old & NVME_CC_SHN_MASK))
		csts = (csts & ~NVME_CSTS_SHST_MASK) | NVME_CSTS_SHST_CMPLT;
	if (!(cc & NVME_CC_SHN_MASK))
		csts &= ~NVME_CSTS_SHST_MASK;
	LOG_DBG("controller %u: CC 0x%08x -> 0x%08x, CSTS 0x%x", ctrl->cntlid, old, cc, csts);
	atomic_store(&ctrl->csts, csts);
}

/* Property Get/Set [BASE-2.0c §6.5-6.6]: CAP, VS, CC, CSTS. */
static void nvmf_property(struct nvmf_req *r)
{
	const struct nvmf_prop_cmd *p = (const void *)&r->sqe;
	struct nvmf_ctrl *ctrl = r->q->ctrl;
	bool wide = (p->attrib & 7) == 1;
	uint32_t ofst = le32toh(p->ofst);
	uint64_t v;

	if (p->fctype == NVMF_FCTYPE_PROP_SET) {
		if (ofst != NVME_REG_CC || wide)
			return nvmf_req_fail_at(r, NVME_SC_INVALID_FIELD, offsetof(struct nvmf_prop_cmd, ofst));
		nvmf_cc_write(ctrl, (uint32_t)le64toh(p->value));
		return nvmf_req_done(r, NVME_SC_SUCCESS);
	}
	if (ofst == NVME_REG_CAP && wide)
		v = nvmf_cap();
	else if (ofst == NVME_REG_VS && !wide)
		v = NVME_VS(2, 0, 0);
	else if (ofst == NVME_REG_CC && !wide)
		v = atomic_load(&ctrl->cc);
	else if (ofst == NVME_REG_CSTS && !wide)
		v = atomic_load(&ctrl->csts);
	else
		return nvmf_req_fail_at(r, NVME_SC_INVALID_FIELD, offsetof(struct nvmf_prop_cmd, ofst));
	r->cqe.dw0 = htole32((uint32_t)v);
	r->cqe.dw1 = htole32((uint32_t)(v >> 32));
	nvmf_req_done(r, NVME_SC_SUCCESS);
}

/* Fabrics commands [BASE-2.0c §6]. Authentication Send/Receive go to
 * auth.c, on any queue: the Linux host authenticates each one. */
static void nvmf_fabrics(struct nvmf_req *r)
{
	const struct nvmf_fabrics_cmd *f = (const void *)&r->sqe;
	uint16_t st, loc = 0;

	if (f->fctype == NVMF_FCTYPE_CONNECT)
		return nvmf_connect(r);
	if (!r->q->ctrl)
		return nvmf_req_fail_at(r, NVME_SC_CMD_SEQ_ERROR, 0);
	if (f->fctype == NVMF_FCTYPE_AUTH_SEND || f->fctype == NVMF_FCTYPE_AUTH_RECV) {
		st = f->fctype == NVMF_FCTYPE_AUTH_SEND ? auth_send(r, &loc) : auth_recv(r, &loc);
		return st ? nvmf_req_fail_at(r, st, loc) : nvmf_req_done(r, st);
	}
	if (r->q->qid != 0)	/* only Connect travels on I/O queues */
		return nvmf_req_fail_at(r, NVME_SC_INVALID_OPCODE, offsetof(struct nvmf_fabrics_cmd, fctype));
	if (f->fctype == NVMF_FCTYPE_PROP_GET || f->fctype == NVMF_FCTYPE_PROP_SET)
		return nvmf_property(r);
	nvmf_req_fail_at(r, NVME_SC_INVALID_OPCODE, offsetof(struct nvmf_fabrics_cmd, fctype));
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
static void nvmf_identify(struct nvmf_req *r)
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

/* The string form of our address on this connection, for a listener
 * bound to a wildcard: the host must get an address it can connect to
 * (SPDK issue 2294: discover worked, then connect to 0.0.0.0 failed). */
static uint8_t nvmf_local_addr(const struct nvmf_queue *q, const struct nvmf_listener *l,
			       char *buf, size_t len)
{
	if (strcmp(l->traddr, "0.0.0.0") && strcmp(l->traddr, "::")) {
		snprintf(buf, len, "%s", l->traddr);
		return l->adrfam;
	}
	if (getnameinfo((const struct sockaddr *)&q->local, sizeof(q->local), buf, len,
			NULL, 0, NI_NUMERICHOST))
		snprintf(buf, len, "%s", l->traddr);
	if (!strncmp(buf, "::ffff:", 7)) {	/* IPv4-mapped: say it as IPv4 */
		memmove(buf, buf + 7, strlen(buf + 7) + 1);
		return NVMF_ADRFAM_IPV4;
	}
	return strchr(buf, ':') ? NVMF_ADRFAM_IPV6 : NVMF_ADRFAM_IPV4;
}

static void nvmf_disc_entry(struct nvmf_disc_log_entry *e, const struct nvmf_queue *q,
			    const struct nvmf_listener *l, const struct nvmf_subsys *s)
{
	char addr[64];

	memset(e, 0, sizeof(*e));
	e->trtype = l->trtype;
	e->subtype = s->is_disc ? NVMF_SUBTYPE_DISC_CURRENT : NVMF_SUBTYPE_NVME;
	e->treq = NVMF_TREQ_NOT_SPECIFIED;
	e->portid = htole16(l->portid);
	e->cntlid = htole16(NVMF_CNTLID_DYNAMIC);
	e->asqsz = htole16(NVMF_MAXCMD);	/* admin queue: fixed */
	if (s->is_disc)
		e->eflags = htole16(NVMF_EFLAGS_DUPRETINFO | NVMF_EFLAGS_EPCSD);
	e->adrfam = nvmf_local_addr(q, l, addr, sizeof(addr));	/* ADRFAM names TRADDR's family */
	nvmf_str_pad(e->trsvcid, sizeof(e->trsvcid), l->trsvcid);
	nvmf_str_pad(e->traddr, sizeof(e->traddr), addr);
	snprintf(e->subnqn, sizeof(e->subnqn), "%s", s->nqn);
	/* TSAS for TCP: SECTYPE 0, no security [BASE-2.0c Fig. 263]; RDMA:
	 * connected QP, no provider type, RDMA CM. */
	if (l->trtype == NVMF_TRTYPE_RDMA) {
		e->tsas[0] = NVMF_RDMA_QPTYPE_CONNECTED;
		e->tsas[1] = NVMF_RDMA_PRTYPE_NONE;
		e->tsas[2] = NVMF_RDMA_CMS_RDMA_CM;
	}
}

/* A referral: another discovery service, SUBTYPE 1 [BASE-2.0c Fig. 262];
 * the host follows it with its own Connect there. */
static void nvmf_disc_referral(struct nvmf_disc_log_entry *e, const struct nvmf_referral *f)
{
	memset(e, 0, sizeof(*e));
	e->trtype = f->trtype;
	e->adrfam = f->adrfam;
	e->subtype = NVMF_SUBTYPE_REFERRAL;
	e->treq = f->secure_channel ? 1 : NVMF_TREQ_NOT_SPECIFIED;	/* secure channel required */
	e->portid = htole16(0);
	e->cntlid = htole16(NVMF_CNTLID_DYNAMIC);
	e->asqsz = htole16(NVMF_MAXCMD);
	nvmf_str_pad(e->trsvcid, sizeof(e->trsvcid), f->trsvcid);
	nvmf_str_pad(e->traddr, sizeof(e->traddr), f->traddr);
	snprintf(e->subnqn, sizeof(e->subnqn), "%s", f->subnqn);
}

/*
 * Discovery log [BASE-2.0c §5.16.1.23]: one entry per (listener, subsystem
 * this host may use on it), entries for this discovery subsystem itself,
 * then the referrals. Command-line subsystems are on every I/O port; RPC
 * ones only on the ports given to them.
 *
 * The log has no size limit: 1,000 subsystems on two ports make 2 MiB,
 * far more than one command carries, so hosts read it in pieces at an
 * offset (LPOL/LPOU). No copy of the whole log is ever built. Each read
 * walks the configuration in the same order, counts every entry, and
 * fills only the entries that overlap the window [off, off + len) the
 * host asked for. Entries are 1 KiB at fixed places (entry i starts at
 * 1024 * (i + 1)), so a count is all it takes to know where one falls.
 * The order only changes with the configuration, and every change moves
 * GENCTR, which is how the host knows its pieces belong together.
 */
struct nvmf_disc_win {
	uint8_t *out;			/* the host's buffer: log bytes off.. */
	uint64_t off, len;		/* the window, in log bytes */
	uint64_t n;			/* entries counted so far */
};

/* Copy the part of the log bytes [at, at + size) inside the window. */
static void nvmf_disc_win_put(struct nvmf_disc_win *w, uint64_t at, const void *src, size_t size)
{
	uint64_t lo = at > w->off ? at : w->off;
	uint64_t hi = at + size < w->off + w->len ? at + size : w->off + w->len;

	if (lo < hi)
		memcpy(w->out + (lo - w->off), (const uint8_t *)src + (lo - at), hi - lo);
}

/* Where the next entry goes, and whether any of it is in the window. */
static bool nvmf_disc_win_wants(const struct nvmf_disc_win *w)
{
	uint64_t at = (w->n + 1) * sizeof(struct nvmf_disc_log_entry);

	return at < w->off + w->len && at + sizeof(struct nvmf_disc_log_entry) > w->off;
}

/* Count one entry; build it only when the host will see part of it. */
static void nvmf_disc_win_entry(struct nvmf_disc_win *w, const struct nvmf_queue *q,
				const struct nvmf_listener *l, const struct nvmf_subsys *s,
				const struct nvmf_referral *f)
{
	struct nvmf_disc_log_entry e;

	if (nvmf_disc_win_wants(w)) {
		if (f)
			nvmf_disc_referral(&e, f);
		else
			nvmf_disc_entry(&e, q, l, s);
		nvmf_disc_win_put(w, (w->n + 1) * sizeof(e), &e, sizeof(e));
	}
	w->n++;
}

/* Fill the window [off, off + len) of the discovery log into out (which
 * the caller zeroed) and return the size of the whole log. */
static uint64_t nvmf_log_disc(struct nvmf_req *r, uint8_t *out, uint64_t off, uint64_t len)
{
	struct nvmf_disc_win w = { .out = out, .off = off, .len = len };
	struct nvmf_ctrl *ctrl = r->q->ctrl;
	struct nvmf_disc_log_hdr h = { 0 };

	pthread_rwlock_rdlock(&g_config_lock);
	for (struct nvmf_listener *l = g_listeners; l; l = l->next) {
		if (l->poller.fd < 0)		/* removed: not listening */
			continue;
		for (struct nvmf_subsys *s = g_subsystems; s; s = s->next)
			if (nvmf_subsys_on_listener(s, l) && nvmf_host_allowed(s, ctrl->hostnqn))
				nvmf_disc_win_entry(&w, r->q, l, s, NULL);
	}
	for (struct nvmf_listener *l = g_listeners; l; l = l->next)
		if (l->poller.fd >= 0)
			nvmf_disc_win_entry(&w, r->q, l, &g_discovery, NULL);
	for (struct nvmf_referral *f = g_referrals; f; f = f->next)
		nvmf_disc_win_entry(&w, r->q, NULL, NULL, f);
	/* A change moves GENCTR before it releases the write lock
	 * (nvmf_disc_genctr_move), so a host that sees the same GENCTR
	 * before and after its pieces read one configuration. */
	h.genctr = htole64(atomic_load(&g_disc_genctr));
	pthread_rwlock_unlock(&g_config_lock);
	h.numrec = htole64(w.n);
	h.recfmt = 0;
	nvmf_disc_win_put(&w, 0, &h, sizeof(h));
	if (!(le32toh(r->sqe.cdw10) & (1u << 15))) {	/* RAE = 0 */
		pthread_mutex_lock(&ctrl->lock);
		ctrl->evt_masked &= ~NVMF_EVT_DISC_CHANGED;
		pthread_mutex_unlock(&ctrl->lock);
	}
	return sizeof(h) + w.n * sizeof(struct nvmf_disc_log_entry);
}

/*
 * Get Log Page [BASE-2.0c §5.16, Fig. 197-201]. NUMD is split over
 * CDW10/CDW11 and the offset over CDW12/CDW13, both in bytes/dwords;
 * hosts read big logs in pieces, so both halves matter.
 */
static void nvmf_get_log_page(struct nvmf_req *r)
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
static void nvmf_get_features(struct nvmf_req *r)
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

static void nvmf_set_features(struct nvmf_req *r)
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

/* ==================================================================== */
/* Admin dispatch                                                      */
/* ==================================================================== */

/* AER: park the command until an event comes [BASE-2.0c §5.2]. */
static void nvmf_async_event(struct nvmf_req *r)
{
	struct nvmf_ctrl *ctrl = r->q->ctrl;
	bool full;

	pthread_mutex_lock(&ctrl->lock);
	full = ctrl->nr_aer > NVMF_AERL;
	if (!full)
		ctrl->aer[ctrl->nr_aer++] = r;
	pthread_mutex_unlock(&ctrl->lock);
	if (full)
		return nvmf_req_fail_at(r, NVME_SC_AER_LIMIT, 0);
	nvmf_aen_deliver(ctrl);
}

/*
 * Abort [BASE-2.0c §5.1]. Our commands are either with the backend, which
 * cannot recall them, or waiting for host data that the host itself is
 * sending; so we never abort, and say so honestly: DW0 bit 0 = 1, "not
 * aborted". The command completes on its own.
 */
static void nvmf_abort(struct nvmf_req *r)
{
	r->cqe.dw0 = htole32(1);
	nvmf_req_done(r, NVME_SC_SUCCESS);
}

static void nvmf_admin(struct nvmf_req *r)
{
	struct nvmf_ctrl *ctrl = r->q->ctrl;

	pthread_mutex_lock(&ctrl->lock);
	ctrl->last_ka_ms = nvmf_now_ms();	/* any command shows life */
	pthread_mutex_unlock(&ctrl->lock);
	switch (r->sqe.opcode) {
	case NVME_ADM_IDENTIFY:
		return nvmf_identify(r);
	case NVME_ADM_GET_LOG_PAGE:
		return nvmf_get_log_page(r);
	case NVME_ADM_GET_FEATURES:
		return nvmf_get_features(r);
	case NVME_ADM_SET_FEATURES:
		return nvmf_set_features(r);
	case NVME_ADM_ASYNC_EVENT:
		return nvmf_async_event(r);
	case NVME_ADM_KEEP_ALIVE:
		return nvmf_req_done(r, NVME_SC_SUCCESS);
	case NVME_ADM_ABORT:
		if (!ctrl->subsys->is_disc)
			return nvmf_abort(r);
		break;
	}
	/* Create/Delete SQ/CQ have no meaning on fabrics [BASE-2.0c §3.3.2]. */
	nvmf_req_fail_at(r, NVME_SC_INVALID_OPCODE, 0);
}

/* ==================================================================== */
/* I/O commands [NVM-1.0c §3]                                          */
/* ==================================================================== */

/* The next Dataset Management range to deallocate, if any. Returns
 * false when none is left. */
static bool nvmf_dsm_next(struct nvmf_req *r)
{
	uint32_t nr = (le32toh(r->sqe.cdw10) & 0xff) + 1;
	const struct nvme_dsm_range *rg = (const void *)r->data;

	while (r->dsm_next < nr) {
		const struct nvme_dsm_range *d = &rg[r->dsm_next++];

		if (le32toh(d->nlb) == 0)
			continue;
		r->slba = le64toh(d->slba);
		r->nblocks = le32toh(d->nlb);
		return true;
	}
	return false;
}

static bool nvmf_flush_next(struct nvmf_req *r);	/* cycle: it submits, we return */

/* A backend finished r. Count it for SMART and answer the host. */
void nvmf_bdev_done(struct nvmf_req *r, uint16_t status)
{
	struct nvmf_ns *ns = r->ns;
	uint64_t bytes = r->nblocks << ns->bdev->lbads;

	if (status) {
		free(r->aux);
		r->aux = NULL;
		return nvmf_req_fail_at(r, status, 0);
	}
	if (r->sqe.opcode == NVME_CMD_DSM && nvmf_dsm_next(r))
		return ns->bdev->ops->submit(ns->bdev, r);
	if (r->sqe.opcode == NVME_CMD_FLUSH && le32toh(r->sqe.nsid) == 0xffffffff &&
	    nvmf_flush_next(r))
		return;
	switch (r->sqe.opcode) {
	case NVME_CMD_READ:
		atomic_fetch_add(&ns->bytes_read, bytes);
		atomic_fetch_add(&ns->reads, 1);
		r->xfer_len = bytes;
		break;
	case NVME_CMD_WRITE:
		atomic_fetch_add(&ns->bytes_written, bytes);
		atomic_fetch_add(&ns->writes, 1);
		break;
	case NVME_CMD_COMPARE:
		atomic_fetch_add(&ns->reads, 1);
		status = memcmp(r->aux, r->data, bytes) ? NVME_SC_COMPARE_FAILED : 0;
		free(r->aux);
		r->aux = NULL;
		if (status)
			return nvmf_req_done(r, status | NVME_STATUS_DNR);
		break;
	}
	nvmf_req_done(r, NVME_SC_SUCCESS);
}

/*
 * Check an I/O command before any data moves: namespace, LBA range, size
 * against MDTS and against what the SGL describes [NVM-1.0c §3.2.4-6].
 * Returns 0, or a status already sent.
 */
static int nvmf_io_prep(struct nvmf_req *r)
{
	struct nvmf_subsys *s = r->q->ctrl->subsys;
	uint32_t nsid = le32toh(r->sqe.nsid), cdw12 = le32toh(r->sqe.cdw12);
	uint8_t opc = r->sqe.opcode;
	uint64_t bytes;

	if (opc == NVME_CMD_FLUSH && nsid == 0xffffffff)
		return 0;
	r->ns = nvmf_ns_get(s, nsid);
	if (!r->ns)
		return nvmf_req_fail_at(r, NVME_SC_INVALID_NS, offsetof(struct nvme_sqe, nsid)), -EINVAL;
	r->ns_seq = r->ns->seq;		/* nvmf_io() checks it is still there */
	r->slba = (uint64_t)le32toh(r->sqe.cdw11) << 32 | le32toh(r->sqe.cdw10);
	r->nblocks = (cdw12 & NVME_RW_NLB_MASK) + 1;
	r->fua = cdw12 & NVME_RW_FUA;
	r->bio_buf = r->data;
	switch (opc) {
	case NVME_CMD_FLUSH:
		r->bio = BIO_FLUSH;
		r->nblocks = 0;
		return 0;
	case NVME_CMD_DSM:
		r->nblocks = 0;
		r->dsm_next = 0;
		r->bio = BIO_DEALLOC;
		if (r->data_len < ((le32toh(r->sqe.cdw10) & 0xff) + 1) * sizeof(struct nvme_dsm_range))
			return nvmf_req_fail_at(r, NVME_SC_SGL_INVALID_DATA, offsetof(struct nvme_sqe, dptr)), -EINVAL;
		return 0;
	case NVME_CMD_READ: case NVME_CMD_WRITE: case NVME_CMD_COMPARE: case NVME_CMD_WRITE_ZEROES:
		break;
	default:
		return nvmf_req_fail_at(r, NVME_SC_INVALID_OPCODE, 0), -EINVAL;
	}
	if (r->slba >= r->ns->bdev->nblocks || r->nblocks > r->ns->bdev->nblocks - r->slba)
		return nvmf_req_fail_at(r, NVME_SC_LBA_RANGE, offsetof(struct nvme_sqe, cdw10)), -EINVAL;
	r->bio = opc == NVME_CMD_READ ? BIO_READ : opc == NVME_CMD_WRITE_ZEROES ?
		 BIO_WRITE_ZEROES : opc == NVME_CMD_WRITE ? BIO_WRITE : BIO_READ;
	if (opc == NVME_CMD_WRITE_ZEROES)
		return 0;
	bytes = r->nblocks << r->ns->bdev->lbads;
	if (bytes > r->q->max_data || (r->ns->bdev->max_xfer && bytes > r->ns->bdev->max_xfer))
		return nvmf_req_fail_at(r, NVME_SC_INVALID_FIELD, offsetof(struct nvme_sqe, cdw12)), -EINVAL;
	if (bytes != r->data_len)
		return nvmf_req_fail_at(r, NVME_SC_SGL_INVALID_DATA, offsetof(struct nvme_sqe, dptr)), -EINVAL;
	return 0;
}

/*
 * Flush of NSID FFFFFFFFh: every namespace whose backend has a volatile
 * write cache [NVM-1.0c §3.2.2], one after the other. r->dsm_next is the
 * last NSID looked at; each flush pins its namespace (ns->inflight) the
 * way a single-namespace command does. Returns true when a flush was
 * submitted (nvmf_bdev_done() calls back here), false when none is left.
 */
static bool nvmf_flush_next(struct nvmf_req *r)
{
	struct nvmf_subsys *s = r->q->ctrl->subsys;

	if (r->ns_ref) {		/* the previous namespace is flushed */
		r->ns_ref = false;
		atomic_fetch_sub(&r->ns->inflight, 1);
	}
	while (r->dsm_next < NVMF_MAX_NS) {
		struct nvmf_ns *ns = nvmf_ns_get(s, ++r->dsm_next);

		if (!ns || !ns->bdev->vwc)
			continue;
		r->ns = ns;
		atomic_fetch_add(&ns->inflight, 1);
		r->ns_ref = true;
		r->bio = BIO_FLUSH;
		r->nblocks = 0;
		ns->bdev->ops->submit(ns->bdev, r);
		return true;
	}
	return false;
}

static void nvmf_flush_all(struct nvmf_req *r)
{
	r->dsm_next = 0;
	if (!nvmf_flush_next(r))
		nvmf_req_done(r, NVME_SC_SUCCESS);
}

/* An I/O command whose data (if any) is here: hand it to the backend. */
static void nvmf_io(struct nvmf_req *r)
{
	struct nvmf_bdev *b;

	if (r->sqe.opcode == NVME_CMD_FLUSH && le32toh(r->sqe.nsid) == 0xffffffff)
		return nvmf_flush_all(r);
	/* A write's data may have taken several reactor passes to arrive; the
	 * namespace may have been removed (and freed) meanwhile. Look it up
	 * again: same slot, same attach, or it is gone. From here until the
	 * completion, ns->inflight keeps it alive (nvmf_subsys_detach_ns). */
	if (nvmf_ns_get(r->q->ctrl->subsys, le32toh(r->sqe.nsid)) != r->ns ||
	    r->ns->seq != r->ns_seq) {
		r->ns = NULL;
		return nvmf_req_fail_at(r, NVME_SC_INVALID_NS, offsetof(struct nvme_sqe, nsid));
	}
	atomic_fetch_add(&r->ns->inflight, 1);
	r->ns_ref = true;
	b = r->ns->bdev;
	if (r->sqe.opcode == NVME_CMD_DSM) {
		if (!(le32toh(r->sqe.cdw11) & NVME_DSM_AD))
			return nvmf_req_done(r, NVME_SC_SUCCESS);	/* hints only */
		for (uint32_t i = 0; i <= (le32toh(r->sqe.cdw10) & 0xff); i++) {
			const struct nvme_dsm_range *d = (const void *)(r->data + i * 16);
			uint64_t slba = le64toh(d->slba), nlb = le32toh(d->nlb);

			if (slba > b->nblocks || nlb > b->nblocks - slba)
				return nvmf_req_fail_at(r, NVME_SC_LBA_RANGE, 0);
		}
		if (!nvmf_dsm_next(r))
			return nvmf_req_done(r, NVME_SC_SUCCESS);
	}
	if (r->sqe.opcode == NVME_CMD_COMPARE) {
		r->aux = malloc(r->nblocks << b->lbads);
		if (!r->aux)
			return nvmf_req_done(r, NVME_SC_INTERNAL);
		r->bio_buf = r->aux;
	}
	b->ops->submit(b, r);
}

/* ==================================================================== */
/* Entry points: a command arrives, its data arrives, it completes     */
/* ==================================================================== */

/*
 * Which way a command's data flows: opcode bits 1:0, and for fabrics
 * commands FCTYPE bits 1:0 [BASE-2.0c §5, Fig. 27; §6, Fig. 542].
 */
static enum nvmf_xfer nvmf_xfer_dir(const struct nvme_sqe *sqe)
{
	uint8_t bits = sqe->opcode == NVME_FABRICS_OPCODE
		       ? ((const struct nvmf_fabrics_cmd *)sqe)->fctype & 3 : sqe->opcode & 3;

	return bits == 1 ? XFER_H2C : bits == 2 ? XFER_C2H : XFER_NONE;
}

/*
 * --trace: the command as it arrived, decoded (trace.c). A Connect's data
 * (the NQNs) is shown when it came in the capsule, as it does over TCP;
 * data the transport has yet to fetch is not here to show.
 */
static void nvmf_trace_cmd(const struct nvmf_req *r)
{
	char line[TRACE_LINE_MAX];

	nvmf_trace("cmd  %s", trace_cmd(line, sizeof(line), &r->sqe, r->q->qid,
					r->icd_len ? r->data : NULL, r->icd_len));
}

/*
 * Finish a command: fill the CQE [BASE-2.0c §4.6] and give it back to the
 * transport. SQHD is our SQ head, or FFFFh when the host turned SQ flow
 * control off at Connect [BASE-2.0c Fig. 92; §6.3 CATTR].
 */
static void nvmf_req_done(struct nvmf_req *r, uint16_t status)
{
	struct nvmf_queue *q = r->q;

	/* Our head moves as commands finish, as nvmet's does; a Connect
	 * has just set the size, so it answers SQHD 1. */
	if (q->size)
		q->sqhd = (q->sqhd + 1) % q->size;
	r->cqe.cid = r->sqe.cid;
	r->cqe.sqid = htole16(q->qid);
	r->cqe.sqhd = htole16(q->sqfc_disabled ? 0xffff : q->sqhd);
	r->cqe.status = htole16(status << 1);
	if (status)
		r->xfer_len = 0;
	if (g_trace) {
		char line[TRACE_LINE_MAX];

		nvmf_trace("done %s", trace_cqe(line, sizeof(line), &r->sqe, &r->cqe, q->qid));
	}
	if (r->ns_ref) {		/* the last touch of r->ns */
		r->ns_ref = false;
		atomic_fetch_sub(&r->ns->inflight, 1);
	}
	q->ops->complete(r);
}

/* Route a command whose data is in place. */
static void nvmf_dispatch(struct nvmf_req *r)
{
	struct nvmf_ctrl *ctrl = r->q->ctrl;

	if (r->sqe.opcode == NVME_FABRICS_OPCODE)
		return nvmf_fabrics(r);
	if (!ctrl) {
		LOG_WARN("%s sent %s before Connect", r->q->peer, nvmf_opcode_name(&r->sqe, r->q->qid));
		return nvmf_req_fail_at(r, NVME_SC_CMD_SEQ_ERROR, 0);
	}
	if (!(atomic_load(&ctrl->csts) & NVME_CSTS_RDY)) {
		LOG_WARN("controller %u: %s while CC.EN=0", ctrl->cntlid,
			 nvmf_opcode_name(&r->sqe, r->q->qid));
		return nvmf_req_fail_at(r, NVME_SC_CMD_SEQ_ERROR, 0);
	}
	if (r->q->qid == 0)
		return nvmf_admin(r);
	nvmf_io(r);
}

/* A queue whose Connect answered AUTHREQ.ATR takes nothing but Connect
 * and Authentication Send/Receive until a transaction succeeded
 * [BASE-2.0c §8.13]: everything else fails with Authentication Required. */
static bool nvmf_auth_pending(const struct nvmf_req *r)
{
	uint8_t fctype = ((const struct nvmf_fabrics_cmd *)&r->sqe)->fctype;

	if (!r->q->auth_required || r->q->authenticated)
		return false;
	return r->sqe.opcode != NVME_FABRICS_OPCODE ||
	       (fctype != NVMF_FCTYPE_CONNECT && fctype != NVMF_FCTYPE_AUTH_SEND &&
		fctype != NVMF_FCTYPE_AUTH_RECV);
}

/*
 * A capsule arrived on q. Checks that need no data come first (so we never
 * ask the host for data we would refuse), then the transport fetches the
 * data of a write if it was not in the capsule, then dispatch.
 */
void nvmf_req_exec(struct nvmf_req *r)
{
	struct nvmf_queue *q = r->q;

	q->nr_cmds++;				/* keep-alive: see nvmf_queue_tick */
	memset(&r->cqe, 0, sizeof(r->cqe));
	r->xfer = nvmf_xfer_dir(&r->sqe);
	r->xfer_len = 0;
	r->ns = NULL;
	r->ns_ref = false;
	r->aux = NULL;
	if (g_trace)
		nvmf_trace_cmd(r);
	if (r->data_len > q->max_data)		/* MDTS [BASE-2.0c Fig. 275] */
		return nvmf_req_fail_at(r, NVME_SC_INVALID_FIELD, offsetof(struct nvme_sqe, dptr));
	if (r->xfer == XFER_NONE)
		r->data_len = 0;
	if (nvmf_auth_pending(r)) {
		LOG_WARN("qid=%u: %s before authentication finished", q->qid,
			 nvmf_opcode_name(&r->sqe, q->qid));
		return nvmf_req_fail_at(r, NVME_SC_AUTH_REQUIRED | NVME_STATUS_DNR, 0);
	}
	if (q->qid && r->sqe.opcode != NVME_FABRICS_OPCODE && q->ctrl &&
	    (atomic_load(&q->ctrl->csts) & NVME_CSTS_RDY) && nvmf_io_prep(r))
		return;
	if (r->xfer == XFER_H2C && r->data_len > r->icd_len) {
		q->ops->fetch_data(r);
		return;
	}
	nvmf_dispatch(r);
}

void nvmf_req_data_ready(struct nvmf_req *r)
{
	nvmf_dispatch(r);
}
