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
 *   The door           enter at accept, leave at Connect or close
 *   Pausing            stop watching the listener, and when to start again
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
 *   most g_door_max_per_host of them from one address. At the
 *   first cap the listener is not watched until one leaves, so the kernel
 *   holds the rest in its backlog; past the second, a new connection from
 *   that address is closed at once (we learn the address only by
 *   accepting).
 * - fd exhaustion: a failed accept() leaves the connection in the backlog
 *   and the listener readable, so watching it would spin. It is paused for
 *   TCP_BACKOFF_MS instead.
 * Each of these is logged once per episode, or at most once a second.
 */
#define TCP_BACKOFF_MS	200		/* accept() out of fds: pause this long */

unsigned g_tcp_icreq_ms = 5000;		/* --icreq-timeout */
unsigned g_tcp_connect_ms = 5000;	/* --connect-timeout */
unsigned g_tcp_pdu_ms = 10000;		/* --pdu-timeout */
unsigned g_door_max = 256;	/* --max-unconnected */
/* A host opens the connections of all its I/O queues before it sends the
 * first Connect (the Linux host does, so does SPDK's perf -P): the
 * per-host default lets two controllers of the most queues we grant be
 * in the door at once, so no honest host meets it. */
unsigned g_door_max_per_host = 2 * (NVMF_MAX_IO_QUEUES + 1);	/* --max-unconnected-per-host */

/* Connections in the door from one address. Freed when its last leaves. */
struct door {
	struct door *next;
	struct sockaddr_storage addr;
	unsigned count;
	bool refused;			/* this episode's refusal was logged */
};

static pthread_mutex_t g_door_lock = PTHREAD_MUTEX_INITIALIZER;
static struct door *g_doors;	/* under g_door_lock */
static atomic_uint g_door_unconnected;	/* sum of every count */

/* Listener pauses: touched only on reactor 0, which accepts. */
static unsigned g_tcp_nr_paused;
static uint64_t g_tcp_resume_ms;
static bool g_tcp_full_logged;		/* this cap episode was logged */

/* "At most once a second" for log lines a flood would repeat. */
struct tcp_ratelimit {
	uint64_t last_ms;
	unsigned held;			/* lines not printed since */
};

static struct tcp_ratelimit g_tcp_rl_expired, g_tcp_rl_emfile, g_tcp_rl_refused;

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

/* Find peer's entry, making one if there is none. Caller holds the lock. */
static struct door *door_find(const struct sockaddr_storage *peer)
{
	struct door *d;

	for (d = g_doors; d; d = d->next)
		if (door_same_host(&d->addr, peer))
			return d;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->addr = *peer;
	d->next = g_doors;
	g_doors = d;
	return d;
}

/*
 * A new connection from peer enters the door. Returns 0 with *out set,
 * -EUSERS when that address already has its share waiting (logged once
 * until it has none), or -ENOMEM. Runs on reactor 0.
 */
static int door_enter(const struct sockaddr_storage *peer, const char *name,
			  struct door **out)
{
	struct door *d;
	int rc = 0;

	pthread_mutex_lock(&g_door_lock);
	d = door_find(peer);
	if (!d) {
		rc = -ENOMEM;
	} else if (d->count >= g_door_max_per_host) {
		if (!d->refused)
			LOG_WARN("%s has %u connections that have not sent Connect; refusing its "
				 "new ones until one does or times out (--max-unconnected-per-host)",
				 name, d->count);
		d->refused = true;
		rc = -EUSERS;
	} else {
		d->count++;
		atomic_fetch_add(&g_door_unconnected, 1);
		*out = d;
	}
	pthread_mutex_unlock(&g_door_lock);
	return rc;
}

/* Leave the door (connected, or closed): free the slot. Any reactor. */
void door_leave(struct door **dp)
{
	struct door *d = *dp, **pp;

	if (!d)
		return;
	*dp = NULL;
	pthread_mutex_lock(&g_door_lock);
	atomic_fetch_sub(&g_door_unconnected, 1);
	if (--d->count == 0) {
		for (pp = &g_doors; *pp != d; pp = &(*pp)->next)
			;
		*pp = d->next;
		free(d);
	}
	pthread_mutex_unlock(&g_door_lock);
}

/* A connection that has no listener to pause (NVMe/RDMA: the CM request
 * is answered at once, REJ or REP) asks to enter here. Returns 0 with
 * *out set, -EBUSY when the door is full, -EUSERS when peer has its
 * share, or -ENOMEM; each refusal is logged at most once a second. */
int door_admit(const struct sockaddr_storage *peer, const char *name, struct door **out)
{
	char msg[192];

	if (atomic_load(&g_door_unconnected) < g_door_max)
		return door_enter(peer, name, out);
	snprintf(msg, sizeof(msg), "%s refused: %u connections have not sent Connect; refusing "
		 "more until one does or times out (--max-unconnected)", name, g_door_max);
	tcp_log_limited(&g_tcp_rl_refused, msg);
	return -EBUSY;
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

/* The door is full: pause accepting, and say so once per episode. */
static void tcp_accept_full(struct nvmf_listener *l)
{
	if (!g_tcp_full_logged)
		LOG_WARN("%u connections have not sent Connect; accepting no more until one "
			 "does or times out (--max-unconnected)", g_door_max);
	g_tcp_full_logged = true;
	tcp_listener_pause(l, 0);
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
 * passed and the door has room. g_config_lock keeps the list still. */
void tcp_listeners_resume(uint64_t now)
{
	if (!g_tcp_nr_paused || now < g_tcp_resume_ms ||
	    atomic_load(&g_door_unconnected) >= g_door_max)
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
	g_tcp_full_logged = false;
}

/* ==================================================================== */
/* Accepting                                                            */
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

/* The listener is readable: accept every waiting connection and hand
 * each to a reactor, round-robin, while the door has room (see above).
 * Runs on reactor 0. */
static void tcp_accept(struct nvmf_poller *p, uint32_t events)
{
	struct nvmf_listener *l = container_of(p, struct nvmf_listener, poller);

	(void)events;
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		struct door *door = NULL;
		char name[64];
		int one = 1, fd;

		if (atomic_load(&g_door_unconnected) >= g_door_max) {
			tcp_accept_full(l);
			return;
		}
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
		if (door_enter(&peer, name, &door)) {
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
