/*
 * rdma_mem.c - what NVMe/RDMA registers for data: one protection domain
 * per device, and each reactor's cache of memory registrations (MRs) for
 * the buffers its pool (bdev.c) lends to commands. rdma.c asks for an
 * lkey per command; this file makes sure that costs a hash lookup, not a
 * registration, and that nothing stays pinned once the pool lets go.
 *
 *   rdma.c: CM REQ on reactor 0 --> rdma_pd_get(device)   one PD per device
 *   rdma.c: a command's data  --> rdma_buf_get(): nvmf_buf_get(), rdma_mr_lkey()
 *                                       hit: the cached MR's lkey
 *                                       miss: ibv_reg_mr(), cached
 *   bdev.c: trim (idle 1 s) or room for another size --> pool->forget()
 *                                  --> rdma_buf_forget(): ibv_dereg_mr()
 *
 * Why one PD per device and not one per queue: an MR belongs to one PD,
 * so with a PD per queue each pool buffer would need an MR per queue, and
 * memory would follow the queues again. Why per buffer and not per pool:
 * the pool maps each buffer separately (so it can give each back), and an
 * MR covers one range of addresses.
 *
 * Threads: the PD list is touched only on reactor 0's thread (every CM
 * request arrives there); each reactor's cache only on its own thread
 * (the pool is per reactor, and so are the calls into it). No locks.
 *
 * Not implemented: freeing a device's PD (it lives as long as the target:
 * a few bytes of kernel state, and freeing it would wait for every MR in
 * every pool); a device that goes away leaves its PD and MRs until exit.
 *
 * It also keeps the two helpers rdma.c shares with the host side's
 * queue (host_queue.c): rdma_have_device() and rdma_nonblock().
 *
 * Tutorial chapter 06 reads it with rdma.c, after "Memory".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#include "nvmf.h"

#define RDMA_MR_BUCKETS		1024		/* per reactor: hash chains */

/* ==================================================================== */
/* Structs                                                             */
/* ==================================================================== */

/* The protection domain of one device, shared by every queue on it. */
struct rdma_pd {
	struct ibv_context *verbs;
	struct ibv_pd *pd;
	struct rdma_pd *next;
};

/*
 * One pool buffer's registration with one PD. A reactor's cache of them
 * is a hash on the buffer's address:
 *
 *   bucket[(buf / 4 KiB) % N] -> {buf, pd, mr} -> {buf, pd2, mr} -> NULL
 *
 * An entry lives as long as the buffer stays mapped.
 */
struct rdma_mr_ent {
	void *buf;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	struct rdma_mr_ent *next;
};

struct rdma_mr_cache {
	struct rdma_mr_ent *bucket[RDMA_MR_BUCKETS];
	unsigned nr;			/* registrations held */
};

static struct rdma_pd *g_rdma_pds;		/* reactor 0's thread only */
static struct rdma_mr_cache **g_rdma_mrs;	/* by reactor id; each its thread's */

/* ==================================================================== */
/* Devices (also the host side's helpers) and protection domains      */
/* ==================================================================== */

/* No RDMA device at all is the first thing a newcomer hits: say how to
 * make a SoftRoCE one. */
int rdma_have_device(char *err, size_t errlen)
{
	int n = 0;
	struct ibv_device **list = ibv_get_device_list(&n);

	if (list)
		ibv_free_device_list(list);
	if (n > 0)
		return 0;
	snprintf(err, errlen, "no RDMA device: add one with 'rdma link add rxe0 type rxe netdev IFACE' "
		 "(SoftRoCE on an Ethernet interface such as eth0; rxe cannot bind lo)");
	return -ENODEV;
}

int rdma_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

/* The shared PD of a device, made with its first queue. Called on
 * reactor 0's thread only. NULL with errno set on failure. */
struct ibv_pd *rdma_pd_get(struct ibv_context *verbs)
{
	struct rdma_pd *d;

	for (d = g_rdma_pds; d; d = d->next)
		if (d->verbs == verbs)	/* librdmacm opens each device once */
			return d->pd;
	d = calloc(1, sizeof(*d));
	if (!d || !(d->pd = ibv_alloc_pd(verbs))) {
		free(d);
		return NULL;
	}
	d->verbs = verbs;
	d->next = g_rdma_pds;
	g_rdma_pds = d;
	return d->pd;
}

/* The advice for a registration that failed for want of locked memory. */
void rdma_memlock_hint(char *buf, size_t len, size_t need)
{
	struct rlimit rl = { 0 };

	getrlimit(RLIMIT_MEMLOCK, &rl);
	snprintf(buf, len, "RLIMIT_MEMLOCK is %llu KiB and NVMe/RDMA wants %zu KiB pinned here: "
		 "run 'ulimit -l unlimited' before ./nvmf (or raise memlock in "
		 "/etc/security/limits.conf)",
		 rl.rlim_cur == RLIM_INFINITY ? ~0ull : (unsigned long long)rl.rlim_cur >> 10,
		 need >> 10);
}

/* ==================================================================== */
/* The MR cache of pool buffers                                        */
/* ==================================================================== */

static struct rdma_mr_ent **rdma_mr_bucket(struct rdma_mr_cache *c, const void *buf)
{
	return &c->bucket[((uintptr_t)buf / NVMF_PAGE_SIZE) % RDMA_MR_BUCKETS];
}

/* The lkey of the pool buffer buf (size bytes) under pd: from reactor r's
 * cache, or registered now and cached until the pool unmaps the buffer.
 * Returns 0 or -errno. */
static int rdma_mr_lkey(struct nvmf_reactor *r, struct ibv_pd *pd, void *buf, uint32_t size,
		 uint32_t *lkey)
{
	struct rdma_mr_cache *c = g_rdma_mrs[r->id];
	struct rdma_mr_ent **head = rdma_mr_bucket(c, buf), *e;

	for (e = *head; e; e = e->next) {
		if (e->buf == buf && e->pd == pd) {
			*lkey = e->mr->lkey;
			return 0;
		}
	}
	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	/* LOCAL_WRITE: an RDMA READ writes the host's data into it. */
	e->mr = ibv_reg_mr(pd, buf, size, IBV_ACCESS_LOCAL_WRITE);
	if (!e->mr) {
		int rc = -errno;

		free(e);
		return rc;
	}
	*e = (struct rdma_mr_ent){ buf, pd, e->mr, *head };
	*head = e;
	c->nr++;
	*lkey = e->mr->lkey;
	return 0;
}

/*
 * Lend a registered buffer for len bytes of a command's data from r's
 * pool, for a queue on pd: the buffer in *data, its size in *cap (which
 * nvmf_buf_put() wants back) and its lkey. Called on r's thread, after
 * rdma_mem_start(r). Returns 0; -EAGAIN when the pool is full (the
 * caller waits for pool.gen to move); or -errno when the buffer cannot
 * be registered (logged at most once a second per reactor).
 */
int rdma_buf_get(struct nvmf_reactor *r, struct ibv_pd *pd, uint32_t len, uint8_t **data,
		 uint32_t *cap, uint32_t *lkey)
{
	static _Thread_local uint64_t logged_ms;
	char hint[256];
	int rc;

	*data = nvmf_buf_get(&r->pool, len, cap);
	if (!*data)
		return -EAGAIN;
	rc = rdma_mr_lkey(r, pd, *data, *cap, lkey);
	if (!rc)
		return 0;
	if (nvmf_now_ms() - logged_ms >= 1000) {
		logged_ms = nvmf_now_ms();
		rdma_memlock_hint(hint, sizeof(hint), g_buf_pool_size);
		LOG_ERR("reactor %d: cannot register a %u KiB data buffer: %s%s%s", r->id,
			*cap >> 10, strerror(-rc), rc == -ENOMEM || rc == -EPERM ? "; " : "",
			rc == -ENOMEM || rc == -EPERM ? hint : "");
	}
	nvmf_buf_put(&r->pool, *data, *cap);
	*data = NULL;
	*cap = 0;
	return rc;
}

/* The pool is about to unmap buf (its forget hook, on the reactor's
 * thread): deregister it from every PD, so its pages are unpinned and
 * really go back to the kernel. */
static void rdma_buf_forget(struct nvmf_buf_pool *p, void *buf, uint32_t size)
{
	struct nvmf_reactor *r = container_of(p, struct nvmf_reactor, pool);
	struct rdma_mr_cache *c = g_rdma_mrs[r->id];
	struct rdma_mr_ent **pp = rdma_mr_bucket(c, buf);

	(void)size;
	while (*pp) {
		struct rdma_mr_ent *e = *pp;

		if (e->buf != buf) {
			pp = &e->next;
			continue;
		}
		*pp = e->next;
		ibv_dereg_mr(e->mr);
		free(e);
		c->nr--;
	}
}

/* ==================================================================== */
/* Setup                                                               */
/* ==================================================================== */

/*
 * Before an RDMA listener: check that the pool holds one command of MDTS
 * (or such a command would wait for ever), make room for each reactor's
 * cache (the reactor fills its own), and warn when locked memory will not
 * cover a full pool and queues_need bytes more. Returns 0, or -errno with
 * a sentence in err.
 */
int rdma_mem_init(size_t queues_need, char *err, size_t errlen)
{
	size_t need = g_buf_pool_size + queues_need;
	struct rlimit rl;
	char hint[256];

	if (g_buf_pool_size < g_rdma_max_io_size) {
		snprintf(err, errlen, "a buffer pool of %llu KiB is smaller than one NVMe/RDMA "
			 "command (%u KiB): give --buffer-pool at least that",
			 (unsigned long long)g_buf_pool_size >> 10, g_rdma_max_io_size >> 10);
		return -EINVAL;
	}
	if (!g_rdma_mrs && !(g_rdma_mrs = calloc(g_nr_reactors, sizeof(*g_rdma_mrs)))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (geteuid() != 0 && !getrlimit(RLIMIT_MEMLOCK, &rl) && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < need) {
		rdma_memlock_hint(hint, sizeof(hint), need);
		LOG_WARN("%s", hint);
	}
	return 0;
}

/* On r's thread, as it adopts an RDMA queue: make r's cache, and have its
 * pool call us before it unmaps a buffer. Returns 0 or -ENOMEM. */
int rdma_mem_start(struct nvmf_reactor *r)
{
	if (!g_rdma_mrs[r->id] && !(g_rdma_mrs[r->id] = calloc(1, sizeof(struct rdma_mr_cache))))
		return -ENOMEM;
	r->pool.forget = rdma_buf_forget;
	return 0;
}
