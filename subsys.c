/*
 * subsys.c - what the target serves: subsystems, their namespaces and
 * allowed hosts, the ports they listen on, referrals, and the content of
 * the discovery log that lists them. nvmf.c asks this file questions on
 * the command path (which subsystem is this NQN, may this host connect,
 * which namespace is this NSID); rpc.c and main.c change the answers.
 *
 *   section                                   spec
 *   --------------------------------------------------------------------
 *   structs and globals: the lists, GENCTR
 *   setup: subsystems, namespaces, hosts      [BASE-2.0c §3.1, §4.5]
 *   live configuration (rpc.c drives it)      listeners, referrals, removal
 *   the discovery log's content               [BASE-2.0c §5.16.1.23]
 *
 * Locking. Configuration changes while the reactors run: g_config_lock
 * (a reader-writer lock) guards the lists, and one thread at a time
 * writes them (the RPC server, or main before the reactors start). The
 * I/O path reads s->ns[] without the lock, so taking a namespace away
 * follows the rule written above nvmf_quiesce() below.
 *
 * Tutorial chapters 04 (where it ends), 05 (the discovery log) and 09
 * (live configuration) read this file.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <endian.h>

#include "nvmf.h"
#include "core.h"

/* ==================================================================== */
/* Structs and globals                                                 */
/* ==================================================================== */

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
void nvmf_disc_genctr_move(void)
{
	atomic_fetch_add(&g_disc_genctr, 1);
}

uint64_t g_start_ms;		/* nvmf_init: SMART power-on hours */
pthread_rwlock_t g_config_lock = PTHREAD_RWLOCK_INITIALIZER;
struct nvmf_referral *g_referrals;
struct nvmf_limits g_limits = {
	.max_queue_depth = NVMF_MAXCMD,
	.max_io_qpairs = NVMF_MAX_IO_QUEUES,
	.io_icd = NVMF_IO_ICD,
};
static atomic_uint_fast64_t g_ns_seq;

/* ==================================================================== */
/* Helpers                                                             */
/* ==================================================================== */

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

bool nvmf_host_allowed(const struct nvmf_subsys *s, const char *hostnqn)
{
	if (s->allow_any_host)
		return true;
	for (int i = 0; i < s->nr_hosts; i++)
		if (!strcmp(s->hosts[i], hostnqn))
			return true;
	return false;
}

/* Caller holds g_config_lock (reading), or is its only writer. */
struct nvmf_subsys *nvmf_subsys_find(const char *nqn)
{
	if (!strcmp(nqn, NVMF_DISC_NQN))
		return &g_discovery;
	for (struct nvmf_subsys *s = g_subsystems; s; s = s->next)
		if (!strcmp(s->nqn, nqn))
			return s;
	return NULL;
}

struct nvmf_ns *nvmf_ns_get(struct nvmf_subsys *s, uint32_t nsid)
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

atomic_int g_ns_evicting;

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
	int rc = 0;

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
	/* Reads sent from the namespace's own memory hold it until their
	 * bytes have left (nvmf_io_in_place), and a host that stops reading
	 * its socket would hold it for ever. A healthy one takes
	 * milliseconds; after NVMF_NS_EVICT_MS the queues still holding such
	 * reads are closed (tcp_reactor_tick), as nvmet's removal does not
	 * wait on a host either. Other hosts' queues carry on. */
	if (nvmf_ns_drain(ns, NVMF_NS_EVICT_MS)) {
		atomic_store(&ns->evict, true);
		atomic_fetch_add(&g_ns_evicting, 1);
		rc = nvmf_ns_drain(ns, 30000);
		atomic_fetch_sub(&g_ns_evicting, 1);
	}
	if (rc) {
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
/* The discovery log's content [BASE-2.0c §5.16.1.23]                  */
/* ==================================================================== */

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
uint64_t nvmf_log_disc(struct nvmf_req *r, uint8_t *out, uint64_t off, uint64_t len)
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

