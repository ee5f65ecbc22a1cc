/*
 * tcp_accept.c - listening, accepting, and what a peer may cost before
 * Connect ("the door").
 *
 * Until Connect succeeds a connection is anonymous: anyone who reaches the
 * port can open one, and a thousand idle ones must not cost a thousand
 * connections' memory or lock others out. This file keeps those rules
 * apart from tcp.c, which moves PDUs and is read for the protocol:
 *
 *   Limits             the options and the state that counts connections
 *   The door           enter at accept, leave at Connect or close, or make
 *                      room for a newcomer
 *   Pausing            out of fds: stop watching the listener a while
 *   Accepting          the listener is readable: take what waits
 *   Listening          bind, listen, stop
 *
 * Each section uses only those above it. The deadlines (ICReq, Connect, a
 * started PDU) are set here and checked in tcp.c's tick, where the queue's
 * receive state is. NVMe/RDMA's queues pass the same door (rdma.c asks
 * door_admit at each CM request), so the door's names start with door_,
 * not tcp_: it belongs to neither transport.
 *
 * Tutorial chapter 03 reads this file after tcp.c.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nvmf.h"

/* ==================================================================== */
/* Limits                                                              */
/* ==================================================================== */

/*
 * Until Connect succeeds a connection is anonymous: anyone who reaches
 * the port can open one. What such a connection may cost is bounded here.
 *
 *   accept --ICReq in icreq_ms--> ICResp --Connect in connect_ms--> connected
 *      \____________________ "in the door" ________________________/
 *   and at any time: a PDU, once started, is finished in pdu_ms
 *
 * - Deadlines are checked at each reactor's 100 ms tick. A queue past one
 *   is closed with a FIN: the C2HTermReq status codes all name a bad PDU
 *   [TCP-1.0c §3.6.2.4, Fig. 28], none a slow peer, so none would be true.
 * - Limits: at most g_door_max connections in the door, and at
 *   most g_door_max_per_host of them from one address (we learn the
 *   address only by accepting, so a connection past a cap is accepted,
 *   then closed at once). At the first cap the door makes room by
 *   fairness: a newcomer from an address with fewer connections waiting
 *   than the address with the most (by two or more) takes the place of
 *   that address's oldest one, which its reactor closes at the next tick.
 *   So a flood from a few addresses can fill the door, but it cannot keep
 *   out a host that comes from anywhere else; a newcomer from an address
 *   that already has its fair share is closed.
 * - fd exhaustion: a failed accept() leaves the connection in the backlog
 *   and the listener readable, so watching it would spin. It is paused for
 *   TCP_BACKOFF_MS instead.
 * Each of these is logged once per episode, or at most once a second.
 */
#define TCP_BACKOFF_MS	200		/* accept() out of fds: pause this long */
#define TCP_ACCEPT_BATCH	64		/* accepts per wakeup: the queues' turn next */

unsigned g_tcp_icreq_ms = 5000;		/* --icreq-timeout */
unsigned g_tcp_connect_ms = 5000;	/* --connect-timeout */
unsigned g_tcp_pdu_ms = 10000;		/* --pdu-timeout */
unsigned g_door_max = 256;	/* --max-unconnected */
/* A host opens the connections of all its I/O queues before it sends the
 * first Connect (the Linux host does, so does SPDK's perf -P): the
 * per-host default lets two controllers of the most queues we grant be
 * in the door at once, so no honest host meets it. */
unsigned g_door_max_per_host = 2 * (NVMF_MAX_IO_QUEUES + 1);	/* --max-unconnected-per-host */

/* One connection's place in the door, held by its queue until Connect
 * or close. Made and freed under g_door_lock; evicted is also read,
 * without it, by the reactor that owns the queue. */
struct door {
	struct door *next;		/* its host's places, oldest first */
	struct door_host *host;
	atomic_bool evicted;		/* room was needed: close this connection */
};

/* The places from one address. Freed when its last leaves. */
struct door_host {
	struct door_host *next;
	struct sockaddr_storage addr;
	struct door *first;		/* the oldest */
	unsigned count;			/* places, evicted ones too */
	unsigned evicted;		/* of them, asked to leave and not gone yet */
	bool refused;			/* this episode's refusal was logged */
};

static pthread_mutex_t g_door_lock = PTHREAD_MUTEX_INITIALIZER;
static struct door_host *g_door_hosts;	/* under g_door_lock */
static atomic_uint g_door_unconnected;	/* sum of every count */
static unsigned g_door_evicted;		/* sum of every evicted, under the lock */

/* Listener pauses: touched only on reactor 0, which accepts. */
static unsigned g_tcp_nr_paused;
static uint64_t g_tcp_resume_ms;

/* "At most once a second" for log lines a flood would repeat. */
struct tcp_ratelimit {
	uint64_t last_ms;
	unsigned held;			/* lines not printed since */
};

static struct tcp_ratelimit g_tcp_rl_expired, g_tcp_rl_emfile, g_tcp_rl_refused,
			    g_tcp_rl_full;

/* Log msg unless rl printed one less than a second ago; then say how
 * many were held back. Any thread. */
static void tcp_log_limited(struct tcp_ratelimit *rl, const char *msg)
{
	uint64_t now = nvmf_now_ms();
	unsigned held;

	pthread_mutex_lock(&g_door_lock);
	held = rl->held;
	if (rl->last_ms && now - rl->last_ms < 1000) {
		rl->held++;
		pthread_mutex_unlock(&g_door_lock);
		return;
	}
	rl->last_ms = now;
	rl->held = 0;
	pthread_mutex_unlock(&g_door_lock);
	if (held)
		LOG_WARN("%s (and %u more like it in the last seconds)", msg, held);
	else
		LOG_WARN("%s", msg);
}

/* tcp.c's tick closed a queue past a deadline: a flood of those is
 * logged at most once a second. */
void door_log_timeout(const char *msg)
{
	tcp_log_limited(&g_tcp_rl_expired, msg);
}

/* ==================================================================== */
/* The door: enter at accept, leave at Connect or close                 */
/* ==================================================================== */

/* "addr:port" of a peer, for log lines and the per-address count (also
 * rdma.c's). */
void tcp_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?", port[8] = "?";

	getnameinfo((const struct sockaddr *)ss, sizeof(*ss), host, sizeof(host),
		    port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(buf, len, "%s:%s", host, port);
}

/* Same host: the address without the port. */
static bool door_same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return !memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr));
}

/* peer's entry, or NULL if it has none. Caller holds the lock. */
static struct door_host *door_host_of(const struct sockaddr_storage *peer)
{
	struct door_host *h;

	for (h = g_door_hosts; h; h = h->next)
		if (door_same_host(&h->addr, peer))
			return h;
	return NULL;
}

/* Connections of h that are staying (not asked to leave). */
static unsigned door_staying(const struct door_host *h)
{
	return h ? h->count - h->evicted : 0;
}

/*
 * The door is full and a newcomer from mine (NULL: its first) knocks.
 * Make room if it is owed: the address with the most connections staying
 * has at least two more than mine would have, so taking one of its places
 * leaves it no worse off than the newcomer. Its oldest staying connection
 * is marked; the reactor that owns it closes it at its next tick
 * (door_evicted()). Until then the door holds its cap plus the places
 * marked: one per newcomer let in, and never more than the cap again,
 * since only a place that is staying can be marked.
 * Returns the marked address (for the log), or NULL: no room is owed.
 * Caller holds the lock.
 */
static struct door_host *door_make_room(struct door_host *mine)
{
	struct door_host *h, *most = NULL;
	struct door *d;

	for (h = g_door_hosts; h; h = h->next)
		if (!most || door_staying(h) > door_staying(most))
			most = h;
	if (!most || door_staying(most) < door_staying(mine) + 2)
		return NULL;
	for (d = most->first; atomic_load(&d->evicted); d = d->next)
		;
	atomic_store(&d->evicted, true);
	most->evicted++;
	g_door_evicted++;
	return most;
}

/*
 * A new connection from peer enters the door: TCP's as it is accepted,
 * RDMA's at its CM request. Returns 0 with *out set, -EUSERS when that
 * address already has its share waiting (logged once until it has none),
 * -EBUSY when the door is full and the newcomer's address has its fair
 * part of it (at most once a second), or -ENOMEM.
 */
int door_admit(const struct sockaddr_storage *peer, const char *name, struct door **out)
{
	struct door_host *h, *victim = NULL;
	struct door *d = calloc(1, sizeof(*d)), **pp;
	char msg[256], vname[64] = "";
	unsigned staying = 0;
	int rc = 0;

	if (!d)
		return -ENOMEM;
	pthread_mutex_lock(&g_door_lock);
	h = door_host_of(peer);
	if (h && h->count >= g_door_max_per_host) {
		if (!h->refused)
			LOG_WARN("%s has %u connections that have not sent Connect; refusing its "
				 "new ones until one does or times out (--max-unconnected-per-host)",
				 name, h->count);
		h->refused = true;
		rc = -EUSERS;
		goto out;
	}
	if (atomic_load(&g_door_unconnected) - g_door_evicted >= g_door_max) {
		victim = door_make_room(h);
		if (!victim) {
			rc = -EBUSY;
			staying = door_staying(h);
			goto out;
		}
		tcp_addr_str(&victim->addr, vname, sizeof(vname));
		*strrchr(vname, ':') = 0;	/* the address, without a port */
		staying = door_staying(victim) + 1;
	}
	if (!h) {
		h = calloc(1, sizeof(*h));
		if (!h) {
			rc = -ENOMEM;
			goto out;
		}
		h->addr = *peer;
		h->next = g_door_hosts;
		g_door_hosts = h;
	}
	for (pp = &h->first; *pp; pp = &(*pp)->next)
		;
	*pp = d;
	d->host = h;
	h->count++;
	atomic_fetch_add(&g_door_unconnected, 1);
	*out = d;
	d = NULL;
out:
	pthread_mutex_unlock(&g_door_lock);
	free(d);
	if (rc == -EBUSY) {
		snprintf(msg, sizeof(msg), "%s refused: %u connections have not sent Connect, "
			 "%u of them from its address, within one of the most from any address; "
			 "refusing such until one connects or times out (--max-unconnected)",
			 name, g_door_max, staying);
		tcp_log_limited(&g_tcp_rl_refused, msg);
	} else if (victim) {
		snprintf(msg, sizeof(msg), "%u connections have not sent Connect: closing the "
			 "oldest of the %u from %s to let %s in (--max-unconnected)",
			 g_door_max, staying, vname, name);
		tcp_log_limited(&g_tcp_rl_full, msg);
	}
	return rc;
}

/* Leave the door (connected, or closed): free the place. Any reactor. */
void door_leave(struct door **dp)
{
	struct door *d = *dp, **pp;
	struct door_host *h, **hp;

	if (!d)
		return;
	*dp = NULL;
	h = d->host;
	pthread_mutex_lock(&g_door_lock);
	for (pp = &h->first; *pp != d; pp = &(*pp)->next)
		;
	*pp = d->next;
	if (atomic_load(&d->evicted)) {
		h->evicted--;
		g_door_evicted--;
	}
	atomic_fetch_sub(&g_door_unconnected, 1);
	if (--h->count == 0) {
		for (hp = &g_door_hosts; *hp != h; hp = &(*hp)->next)
			;
		*hp = h->next;
		free(h);
	}
	pthread_mutex_unlock(&g_door_lock);
	free(d);
}

/* Was the connection asked to leave so that another could come in? The
 * owner's tick closes it. Lock-free: the flag only ever turns on. */
bool door_evicted(const struct door *d)
{
	return d && atomic_load(&d->evicted);
}

/* A connection refused for want of the target's resources (fds, memory),
 * which a storm of attempts would repeat: at most once a second. */
void door_log_refused(const char *msg)
{
	tcp_log_limited(&g_tcp_rl_refused, msg);
}

/* ==================================================================== */
/* Pausing the listener                                                 */
/* ==================================================================== */

/* Stop watching listener l until tcp_listeners_resume() finds the cause
 * gone and until_ms passed. Reactor 0. */
static void tcp_listener_pause(struct nvmf_listener *l, uint64_t until_ms)
{
	if (until_ms > g_tcp_resume_ms)
		g_tcp_resume_ms = until_ms;
	if (l->paused)
		return;
	nvmf_reactor_modify(&g_reactors[0], &l->poller, 0);
	l->paused = true;
	g_tcp_nr_paused++;
}

/* accept() failed for want of an fd or memory: back off, log rarely. */
static void tcp_accept_backoff(struct nvmf_listener *l, int err)
{
	struct rlimit rl = { 0 };
	char msg[256];

	getrlimit(RLIMIT_NOFILE, &rl);
	snprintf(msg, sizeof(msg), "accept on %s:%s: %s; not accepting for %u ms (open files "
		 "limit %llu: raise ulimit -n, or lower --max-unconnected)", l->traddr,
		 l->trsvcid, strerror(err), TCP_BACKOFF_MS, (unsigned long long)rl.rlim_cur);
	tcp_log_limited(&g_tcp_rl_emfile, msg);
	tcp_listener_pause(l, nvmf_now_ms() + TCP_BACKOFF_MS);
}

/* At reactor 0's tick: watch paused listeners again once the backoff has
 * passed. g_config_lock keeps the list still. */
void tcp_listeners_resume(uint64_t now)
{
	if (!g_tcp_nr_paused || now < g_tcp_resume_ms)
		return;
	pthread_rwlock_rdlock(&g_config_lock);
	for (struct nvmf_listener *l = g_listeners; l; l = l->next) {
		if (l->trtype == NVMF_TRTYPE_TCP && l->paused && l->poller.fd >= 0)
			nvmf_reactor_modify(&g_reactors[0], &l->poller, EPOLLIN);
		l->paused = false;
	}
	pthread_rwlock_unlock(&g_config_lock);
	LOG_DBG("accepting again (%u connections waiting for Connect)",
		atomic_load(&g_door_unconnected));
	g_tcp_nr_paused = 0;
}

/* ==================================================================== */
/* Accepting                                                            */
/* ==================================================================== */

/* The listener is readable: accept the waiting connections, and hand
 * each the door lets in to a reactor, round-robin (see above). A flood
 * that refills the backlog as fast as we empty it must not hold reactor
 * 0 from its queues: at most TCP_ACCEPT_BATCH a wakeup, and epoll, being
 * level-triggered, calls again for the rest. */
static void tcp_accept(struct nvmf_poller *p, uint32_t events)
{
	struct nvmf_listener *l = container_of(p, struct nvmf_listener, poller);

	(void)events;
	for (int i = 0; i < TCP_ACCEPT_BATCH; i++) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		struct door *door = NULL;
		char name[64];
		int one = 1, fd;

		fd = accept4(p->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			       errno == ENOMEM)) {
			tcp_accept_backoff(l, errno);
			return;
		}
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				LOG_WARN("accept on %s:%s: %s", l->traddr, l->trsvcid,
					 strerror(errno));
			return;
		}
		tcp_addr_str(&peer, name, sizeof(name));
		if (door_admit(&peer, name, &door)) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (tcp_queue_open(fd, l, name, door)) {
			LOG_ERR("out of memory for a new connection; refusing it");
			door_leave(&door);
			close(fd);
		}
	}
}

/* ==================================================================== */
/* Listening                                                            */
/* ==================================================================== */

/*
 * Bind and listen on l->traddr:l->trsvcid. Returns 0, or -errno with a
 * sentence in err that says what to do.
 */
int tcp_listen(struct nvmf_listener *l, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai;
	int fd, one = 1, rc;

	rc = getaddrinfo(l->traddr, l->trsvcid, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "cannot listen on %s:%s: %s (give a numeric IPv4 or IPv6 address and port)",
			 l->traddr, l->trsvcid, gai_strerror(rc));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		goto out_free;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot listen on %s:%s: %s%s", l->traddr, l->trsvcid,
			 strerror(errno), errno == EADDRINUSE ?
			 " (another target, perhaps the kernel's nvmet, holds the port: stop it or pick another with -l ADDR:PORT)" : "");
		close(fd);
		goto out_free;
	}
	memcpy(&l->addr, ai->ai_addr, ai->ai_addrlen);
	l->adrfam = ai->ai_family == AF_INET6 ? NVMF_ADRFAM_IPV6 : NVMF_ADRFAM_IPV4;
	l->poller.fd = fd;
	l->poller.fn = tcp_accept;
	rc = nvmf_reactor_watch(&g_reactors[0], &l->poller, EPOLLIN);
	if (rc)
		close(fd);
out_free:
	freeaddrinfo(ai);
	return rc;
}

void tcp_unlisten(struct nvmf_listener *l)
{
	if (l->poller.fd < 0)
		return;
	nvmf_reactor_unwatch(&g_reactors[0], &l->poller);
	close(l->poller.fd);
	l->poller.fd = -1;
}
