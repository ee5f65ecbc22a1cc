/*
 * host.c - the initiator side of NVMe/TCP: `nvmf discover`, `nvmf identify`
 * and `nvmf perf`. It talks to any NVMe/TCP target (ours, the kernel's
 * nvmet, SPDK) the way the Linux host does, and when a target gets
 * something wrong it says what it received and what it expected.
 *
 *   discover | identify | perf
 *     |  host_ctrl_connect: the admin queue                  spec
 *     |    TCP connect, ICReq -> ICResp             [TCP-1.0c §3.6.2.2-3]
 *     |    Connect QID 0, CNTLID FFFFh              [BASE-2.0c §6.3]
 *     |    Property Get CAP, Set CC.EN, CSTS.RDY    [BASE-2.0c §3.5.1, §6.5-6]
 *     |    Identify Controller, checked             [BASE-2.0c §5.17.2.1]
 *     v
 *   host_exec: one command, then wait     perf: DEPTH commands in flight
 *     |                                         on I/O queue 1
 *     v                                           v
 *   send: CapsuleCmd [+ in-capsule data] ------------------------> target
 *         H2CData ... LAST_PDU             <----------- R2T ------
 *   recv: C2HData -> straight into the command's buffer <---------
 *         CapsuleResp -> the command is done              <-------
 *
 * A struct host_queue is one TCP connection: command slots (CID = slot
 * index), an output ring of iovecs that writev() sends in batches, and a
 * receive buffer parsed PDU by PDU after each big recv(). Sockets are
 * non-blocking; a synchronous command is "submit, then poll until its
 * CapsuleResp". CRC32C, header checks and PDU tracing are tcp.c's.
 *
 * With -r trtype:RDMA a queue is an NVMe/RDMA queue pair that rdma.c
 * carries (rdma_host_*): the same slots and commands, no PDUs.
 *
 * Not implemented: TLS [TCP-1.0c §3.6.1.3], because the target has none;
 * more than one I/O queue in perf; HPDA and CPDA
 * other than 0 (the Linux host refuses a CPDA too).
 *
 * Every Connect disables SQ flow control [BASE-2.0c Fig. 546 CATTR], as
 * the Linux host does: a target then need not send SQHD, and may end a
 * read with a C2HData PDU flagged SUCCESS instead of a CapsuleResp
 * [TCP-1.0c §3.6.2.8] (SPDK's target always does).
 *
 * Tutorial chapter 05 reads this file top to bottom.
 */
#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "nvmf.h"

/* ==================================================================== */
/* Constants                                                           */
/* ==================================================================== */

#define HOST_IO_NQN		"nqn.2026-11.io.nvmf:cnode1"	/* our target's default */
#define HOST_ADMIN_SQSIZE	31		/* 32 entries, 0's based, as Linux */
#define HOST_ADMIN_SLOTS	4
#define HOST_ADMIN_MAX_DATA	4096		/* Identify, log pieces, Connect data */
#define HOST_ADMIN_ICD		8192		/* see host_ctrl_connect() */
#define HOST_KATO_MS		30000
#define HOST_TIMEOUT_MS		10000		/* for any one command */
#define HOST_RBUF_SIZE		(256 * 1024)	/* one recv() worth */
#define HOST_DIRECT_MIN		4096		/* recv payload straight into place */
#define HOST_RECV_BUDGET	8		/* recv() calls per pass */
#define HOST_PDU_MAX		256		/* PDO is one byte */
#define HOST_MIN_MAXH2CDATA	4096		/* [TCP-1.0c §3.6.2.3] */
#define HOST_DISC_CHUNK		4096		/* libnvme's log piece size */
#define HOST_DISC_MAX_REC	65536	/* 64 MiB: a sanity bound on NUMREC */
#define HOST_VERIFY_REGION	(64ull << 20)
#define HOST_MAX_PRINT		20
#define HOST_GEN_UNKNOWN	0xffffffffu	/* verify: after a failed write */

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
	struct nvme_sqe sqe;		/* --trace: to decode the completion */
	_Alignas(8) uint8_t pdu[sizeof(struct nvme_tcp_cmd) + NVME_TCP_DIGEST_LEN];
	le32 icd_ddgst;
	struct host_h2c *h2c;		/* enough for max_data in 4 KiB PDUs */
};

/* One NVMe/TCP connection: the admin queue or an I/O queue. */
struct host_queue {
	int fd;
	struct rdma_host *rdma;		/* an NVMe/RDMA queue: rdma.c carries it */
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

static bool host_verbose;

/* ==================================================================== */
/* Helpers: messages, status names, time                               */
/* ==================================================================== */

/* A message for the user, on stderr; results go to stdout. */
static void host_vmsg(const char *fmt, va_list ap)
{
	fputs("nvmf: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void __attribute__((format(printf, 1, 2))) host_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	host_vmsg(fmt, ap);
	va_end(ap);
}

/* Complain unless ok. Returns 1 if it complained, so checks can count. */
static int __attribute__((format(printf, 2, 3))) host_must(bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return 0;
	va_start(ap, fmt);
	host_vmsg(fmt, ap);
	va_end(ap);
	return 1;
}

#define host_info(...) do { if (host_verbose) host_err(__VA_ARGS__); } while (0)

static uint64_t host_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* xorshift64*: fast, and good enough for offsets and fill patterns. */
static uint64_t host_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Status Field names [BASE-2.0c Fig. 94-95, Fig. 584; NVM-1.0c Fig. 60]. */
static const struct { uint16_t sc; const char *name; } host_status_names[] = {
	{ 0x000, "Successful Completion" }, { 0x001, "Invalid Command Opcode" },
	{ 0x002, "Invalid Field in Command" }, { 0x003, "Command ID Conflict" },
	{ 0x004, "Data Transfer Error" }, { 0x006, "Internal Error" },
	{ 0x007, "Command Abort Requested" }, { 0x008, "Command Aborted due to SQ Deletion" },
	{ 0x00b, "Invalid Namespace or Format" }, { 0x00c, "Command Sequence Error" },
	{ 0x00d, "Invalid SGL Last Segment Descriptor" }, { 0x00e, "Invalid Number of SGL Descriptors" },
	{ 0x00f, "Data SGL Length Invalid" }, { 0x011, "SGL Descriptor Type Invalid" },
	{ 0x016, "SGL Offset Invalid" }, { 0x018, "Host Identifier Inconsistent Format" },
	{ 0x019, "Keep Alive Timer Expired" }, { 0x01a, "Keep Alive Timeout Invalid" },
	{ 0x020, "Namespace is Write Protected" }, { 0x022, "Transient Transport Error" },
	{ 0x080, "LBA Out of Range" }, { 0x081, "Capacity Exceeded" },
	{ 0x101, "Invalid Queue Identifier" }, { 0x102, "Invalid Queue Size" },
	{ 0x105, "Asynchronous Event Request Limit Exceeded" }, { 0x109, "Invalid Log Page" },
	{ 0x10d, "Feature Identifier Not Saveable" }, { 0x10e, "Feature Not Changeable" },
	{ 0x180, "Connect Incompatible Format" }, { 0x181, "Connect Controller Busy" },
	{ 0x182, "Connect Invalid Parameters" }, { 0x183, "Connect Restart Discovery" },
	{ 0x184, "Connect Invalid Host" }, { 0x280, "Write Fault" },
	{ 0x281, "Unrecovered Read Error" }, { 0x285, "Compare Failure" },
};

/* The CQE's Status Field without the phase tag [BASE-2.0c Fig. 92-93]. */
static uint16_t host_status(const struct nvme_cqe *cqe)
{
	return le16toh(cqe->status) >> 1;
}

/* "status 0x00b (Invalid Namespace or Format), DNR", into buf. */
static const char *host_status_str(uint16_t st, char *buf, size_t len)
{
	const char *name = "unknown status";

	for (size_t i = 0; i < ARRAY_SIZE(host_status_names); i++)
		if (host_status_names[i].sc == (st & 0x7ff))
			name = host_status_names[i].name;
	snprintf(buf, len, "status 0x%03x (%s)%s", st & 0x7ff, name,
		 st & NVME_STATUS_DNR ? ", DNR" : "");
	return buf;
}

static void host_print_status(const char *what, const struct nvme_cqe *cqe)
{
	char s[96];

	host_err("%s failed: %s", what, host_status_str(host_status(cqe), s, sizeof(s)));
}

/* Copy a space- or NUL-padded wire string and trim it. */
static char *host_str(char *dst, size_t dlen, const char *src, size_t slen)
{
	size_t n = strnlen(src, slen < dlen ? slen : dlen - 1);

	memcpy(dst, src, n);
	while (n && dst[n - 1] == ' ')
		n--;
	dst[n] = 0;
	return dst;
}

static char *host_uuid_str(char *buf, const uint8_t *u)
{
	sprintf(buf, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
		u[12], u[13], u[14], u[15]);
	return buf;
}

/* ==================================================================== */
/* Options: transport ID, host identity                                */
/* ==================================================================== */

enum { HOST_OPT_HDGST = 256, HOST_OPT_DDGST, HOST_OPT_TRACE, HOST_OPT_VERIFY,
       HOST_OPT_DHCHAP, HOST_OPT_DHCHAP_CTRL };

static const struct option host_longopts[] = {
	{ "hdgst", no_argument, NULL, HOST_OPT_HDGST },
	{ "ddgst", no_argument, NULL, HOST_OPT_DDGST },
	{ "trace", no_argument, NULL, HOST_OPT_TRACE },
	{ "verify", no_argument, NULL, HOST_OPT_VERIFY },	/* perf only */
	{ "dhchap-secret", required_argument, NULL, HOST_OPT_DHCHAP },
	{ "dhchap-ctrl-secret", required_argument, NULL, HOST_OPT_DHCHAP_CTRL },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/*
 * Parse an SPDK-style transport ID, "trtype:TCP traddr:10.0.0.1 ...":
 * keys are case-insensitive, values are kept as given. Returns 0 or -EINVAL.
 */
static int host_trid_parse(struct host_opts *o, const char *s)
{
	const struct { const char *key; char *dst; size_t len; } keys[] = {
		{ "trtype", o->trtype, sizeof(o->trtype) },
		{ "adrfam", o->adrfam, sizeof(o->adrfam) },
		{ "traddr", o->traddr, sizeof(o->traddr) },
		{ "trsvcid", o->trsvcid, sizeof(o->trsvcid) },
		{ "subnqn", o->subnqn, sizeof(o->subnqn) },
		{ "hostnqn", o->hostnqn, sizeof(o->hostnqn) },
	};
	char buf[1024], *save = NULL, *tok, *v;
	size_t i;

	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
		v = strchr(tok, ':');
		if (!v)
			return host_err("transport ID: '%s' is not key:value", tok), -EINVAL;
		*v++ = 0;
		if (!strcasecmp(tok, "ns")) {
			o->nsid = strtoul(v, NULL, 0);
			continue;
		}
		for (i = 0; i < ARRAY_SIZE(keys) && strcasecmp(tok, keys[i].key); i++)
			;
		if (i == ARRAY_SIZE(keys))
			return host_err("transport ID: unknown key '%s' (trtype adrfam traddr trsvcid subnqn hostnqn ns)",
					tok), -EINVAL;
		if (strlen(v) >= keys[i].len)
			return host_err("transport ID: %s '%s' is too long", tok, v), -EINVAL;
		strcpy(keys[i].dst, v);
	}
	return 0;
}

/* The first word of a small file such as /etc/nvme/hostnqn; 0 or -errno. */
static int host_read_word(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	if (!fgets(buf, len, f))
		buf[0] = 0;
	fclose(f);
	buf[strcspn(buf, " \t\r\n")] = 0;
	return buf[0] ? 0 : -ENODATA;
}

/* Parse "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into 16 bytes. */
static int host_uuid_parse(const char *s, uint8_t *uuid)
{
	for (int i = 0; i < 16; i++, s += 2) {
		s += *s == '-';
		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
			return -EINVAL;
		sscanf(s, "%2hhx", &uuid[i]);
	}
	return 0;
}

/*
 * Who we are: host NQN and Host ID from /etc/nvme as nvme-cli reads them,
 * else a fresh UUID that serves as Host ID and names the NQN
 * ("nqn.2014-08.org.nvmexpress:uuid:..." [BASE-2.0c §4.5]).
 */
static void host_identity(struct host_opts *o)
{
	uint8_t *u = o->hostid;
	uint64_t seed;
	char line[NVMF_NQN_SIZE];

	if (!o->hostnqn[0] && host_read_word("/etc/nvme/hostnqn", line, sizeof(line)) == 0)
		snprintf(o->hostnqn, sizeof(o->hostnqn), "%s", line);
	if (o->hostnqn[0] && host_read_word("/etc/nvme/hostid", line, sizeof(line)) == 0 &&
	    host_uuid_parse(line, u) == 0)
		return;
	if (getrandom(u, 16, 0) != 16) {
		seed = host_now_ns() | 1;
		for (int i = 0; i < 16; i++)
			u[i] = (uint8_t)host_rand(&seed);
	}
	u[6] = (u[6] & 0x0f) | 0x40;		/* UUID version 4 */
	u[8] = (u[8] & 0x3f) | 0x80;		/* RFC 4122 variant */
	if (!o->hostnqn[0])
		snprintf(o->hostnqn, sizeof(o->hostnqn), "nqn.2014-08.org.nvmexpress:uuid:%s",
			 host_uuid_str(line, u));
}

/* The options every subcommand takes. Returns 1 if ch was one of them,
 * 0 if not, -EINVAL for a bad transport ID. */
static int host_opt_common(int ch, struct host_opts *o)
{
	switch (ch) {
	case 'r':
		return host_trid_parse(o, optarg) ? -EINVAL : 1;
	case 'v':
		host_verbose = true;
		g_log_level++;
		return 1;
	case HOST_OPT_HDGST:
		return o->hdgst = true, 1;
	case HOST_OPT_DDGST:
		return o->ddgst = true, 1;
	case HOST_OPT_TRACE:
		return g_trace = true, 1;
	case HOST_OPT_DHCHAP:		/* nvme-cli's names; a string or a file */
	case HOST_OPT_DHCHAP_CTRL:
		if (auth_secret_load(optarg, ch == HOST_OPT_DHCHAP ? o->dhchap : o->dhchap_ctrl,
				     sizeof(o->dhchap)))
			return host_err("cannot read secret file '%s': %s", optarg, strerror(errno)),
			       -EINVAL;
		return 1;
	}
	return 0;
}

/* Print usage; the exit status is 0 for -h, else 2. */
static int host_usage(int ch, const char *text)
{
	fprintf(stderr, "usage: nvmf %s      [--hdgst] [--ddgst] [-v] [--trace]\n"
		"      [--dhchap-secret KEY [--dhchap-ctrl-secret KEY]]\n"
		"      -r takes a transport ID: trtype adrfam traddr trsvcid subnqn hostnqn\n"
		"      KEY is a DHHC-1 secret (nvme gen-dhchap-key) or a file holding one\n", text);
	return ch == 'h' ? 0 : 2;
}

/* Fill the defaults that depend on the subcommand, then check the
 * transport. Returns 0, or the exit status to leave with. */
static int host_opts_finish(struct host_opts *o, const char *port, const char *subnqn)
{
	if (!o->trsvcid[0])	/* NVMe/RDMA discovery is on 4420 too (nvme-cli) */
		snprintf(o->trsvcid, sizeof(o->trsvcid), "%s",
			 strcasecmp(o->trtype, "RDMA") ? port : "4420");
	if (!o->subnqn[0])
		snprintf(o->subnqn, sizeof(o->subnqn), "%s", subnqn);
	host_identity(o);
	if (strcasecmp(o->trtype, "TCP") && strcasecmp(o->trtype, "RDMA"))
		return host_err("trtype '%s': we know TCP and RDMA", o->trtype), 2;
	if (strcasecmp(o->adrfam, "IPv4") && strcasecmp(o->adrfam, "IPv6"))
		return host_err("adrfam '%s': IPv4 or IPv6", o->adrfam), 2;
	return 0;
}

/* ==================================================================== */
/* Queue: setup and send                                               */
/* ==================================================================== */

/* Allocate a queue of slots command slots carrying at most max_data bytes
 * each. Returns NULL when memory is short. */
static struct host_queue *host_queue_alloc(uint16_t qid, unsigned slots, uint32_t max_data)
{
	struct host_queue *q = calloc(1, sizeof(*q));
	uint32_t nh2c = max_data / HOST_MIN_MAXH2CDATA + 1;
	struct host_h2c *h2c = calloc((size_t)slots * nh2c, sizeof(*h2c));

	if (!q || !h2c)
		goto out_free;
	q->fd = -1;
	q->qid = qid;
	q->max_data = max_data;
	q->nr_cmds = slots;
	q->out_cap = slots * (3 + 3 * nh2c) + 4;	/* capsules, every H2CData, TermReq */
	q->rbuf = malloc(HOST_RBUF_SIZE);
	q->out = calloc(q->out_cap, sizeof(*q->out));
	q->cmds = calloc(slots, sizeof(*q->cmds));
	q->free = calloc(slots, sizeof(*q->free));
	if (!q->rbuf || !q->out || !q->cmds || !q->free)
		goto out_free;
	for (unsigned i = 0; i < slots; i++) {
		q->cmds[i].cid = i;
		q->cmds[i].h2c = h2c + (size_t)i * nh2c;
		q->free[q->nr_free++] = slots - 1 - i;	/* CID 0 goes first */
	}
	return q;
out_free:
	if (q)
		free(q->rbuf), free(q->out), free(q->cmds), free(q->free);
	free(q);
	free(h2c);
	return NULL;
}

static void host_queue_free(struct host_queue *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	rdma_host_free(q->rdma);
	free(q->cmds[0].h2c);
	free(q->rbuf), free(q->out), free(q->cmds), free(q->free), free(q->done), free(q);
}

static struct host_cmd *host_cmd_get(struct host_queue *q)
{
	struct host_cmd *c;

	if (!q->nr_free)
		return NULL;
	c = &q->cmds[q->free[--q->nr_free]];
	c->busy = true;
	c->done = false;
	return c;
}

static void host_cmd_put(struct host_queue *q, struct host_cmd *c)
{
	c->busy = false;
	q->free[q->nr_free++] = c->cid;
}

/* Open the TCP connection: a blocking connect(), then TCP_NODELAY (a
 * capsule must not wait for Nagle) and non-blocking mode. 0 or -errno. */
static int host_tcp_connect(struct host_queue *q, const struct host_opts *o)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *ai;
	int fd = -1, one = 1, rc;

	hints.ai_family = strcasecmp(o->adrfam, "IPv6") ? AF_INET : AF_INET6;
	snprintf(q->peer, sizeof(q->peer), "%s:%s", o->traddr, o->trsvcid);
	rc = getaddrinfo(o->traddr, o->trsvcid, &hints, &ai);
	if (rc)
		return host_err("cannot resolve %s (adrfam %s): %s", q->peer, o->adrfam,
				gai_strerror(rc)), -EINVAL;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	rc = fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 ? -errno : 0;
	freeaddrinfo(ai);
	if (rc) {
		host_err("cannot connect to %s: %s%s", q->peer, strerror(-rc),
			 rc == -ECONNREFUSED ? " (is the target running? start it with ./nvmf)" : "");
		if (fd >= 0)
			close(fd);
		return rc;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	q->fd = fd;
	return 0;
}

/* Queue len bytes at base. The ring is sized for every slot's worst
 * case, so it cannot fill. */
static void host_out_push(struct host_queue *q, void *base, size_t len)
{
	struct iovec *v;

	if (q->out_count == q->out_cap) {
		host_err("qid %u: output ring full (a bug in host.c)", q->qid);
		abort();
	}
	v = &q->out[(q->out_head + q->out_count++) % q->out_cap];
	v->iov_base = base;
	v->iov_len = len;
}

/* Send what is queued, in as few writev() calls as the socket allows.
 * Returns 0 (perhaps with some left: wait for POLLOUT) or -errno. */
static int host_flush(struct host_queue *q)
{
	while (q->out_count) {
		struct iovec iov[64];
		int n;
		ssize_t sent;

		for (n = 0; n < (int)ARRAY_SIZE(iov) && n < (int)q->out_count; n++)
			iov[n] = q->out[(q->out_head + n) % q->out_cap];
		sent = writev(q->fd, iov, n);
		if (sent < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (sent < 0)
			return host_err("send to %s: %s", q->peer, strerror(errno)), -EPIPE;
		while (sent > 0) {
			struct iovec *v = &q->out[q->out_head];
			size_t k = (size_t)sent < v->iov_len ? (size_t)sent : v->iov_len;

			v->iov_base = (char *)v->iov_base + k;
			v->iov_len -= k;
			sent -= k;
			if (v->iov_len)
				break;
			q->out_head = (q->out_head + 1) % q->out_cap;
			q->out_count--;
		}
	}
	return 0;
}

/*
 * A fatal transport error in what the target sent: send an H2CTermReq
 * carrying the offending header [TCP-1.0c §3.6.2.4] and give up on the
 * connection. Returns -EPROTO for the caller to pass up.
 */
static int __attribute__((format(printf, 4, 5)))
host_fatal(struct host_queue *q, uint16_t fes, uint32_t fei, const char *fmt, ...)
{
	struct nvme_tcp_term *t = (struct nvme_tcp_term *)q->term;
	uint32_t copy = q->pdu_len < NVME_TCP_TERM_MAX_DATA ? q->pdu_len : NVME_TCP_TERM_MAX_DATA;
	va_list ap;

	va_start(ap, fmt);
	host_vmsg(fmt, ap);
	va_end(ap);
	host_err("qid %u: sending H2CTermReq FES %u FEI %u and closing", q->qid, fes, fei);
	pdu_hexdump("offending PDU header", q->pdu, q->pdu_len);
	memset(t, 0, sizeof(*t));
	t->hdr.type = NVME_TCP_H2C_TERM;
	t->hdr.hlen = sizeof(*t);
	t->hdr.plen = htole32(sizeof(*t) + copy);
	t->fes = htole16(fes);
	fei = htole32(fei);
	memcpy(t->fei, &fei, sizeof(t->fei));
	memcpy(q->term + sizeof(*t), q->pdu, copy);
	if (g_trace)
		tcp_trace_pdu("->", &t->hdr, t);
	host_out_push(q, q->term, sizeof(*t) + copy);
	host_flush(q);
	return -EPROTO;
}

/* Which way data flows: opcode bits 1:0, or FCTYPE bits 1:0 for a
 * fabrics command [BASE-2.0c Fig. 27, Fig. 542]. */
static enum host_xfer host_xfer_dir(const struct nvme_sqe *sqe)
{
	uint8_t bits = sqe->opcode == NVME_FABRICS_OPCODE
		       ? ((const struct nvmf_fabrics_cmd *)sqe)->fctype & 3 : sqe->opcode & 3;

	return bits == 1 ? HOST_XFER_H2C : bits == 2 ? HOST_XFER_C2H : HOST_XFER_NONE;
}

/* NVMe/RDMA: rdma.c sends the capsule with a keyed SGL over c's data. A
 * failure is remembered and reported by the next host_queue_process(). */
static void host_rdma_submit(struct host_queue *q, struct host_cmd *c, const struct nvme_sqe *sqe)
{
	struct nvme_sqe s = *sqe;
	int rc;

	s.cid = htole16(c->cid);
	rc = rdma_host_submit(q->rdma, &s, c->buf, c->len, c->xfer == HOST_XFER_H2C);
	if (rc && !q->rdma_rc) {
		host_err("qid %u: cannot send a capsule to %s: %s", q->qid, q->peer, strerror(-rc));
		q->rdma_rc = rc;
	}
}

/*
 * Queue a CapsuleCmd for c [TCP-1.0c §3.6.2.5]. Its SGL is one of the two
 * NVMe/TCP knows [TCP-1.0c §3.3.3]: a write that fits goes in the capsule
 * (Data Block, Offset subtype, offset 0 since ICDOFF is 0); anything else
 * is a Transport Data Block: the target pulls write data by R2T or
 * pushes read data by C2HData.
 */
static void host_cmd_submit(struct host_queue *q, struct host_cmd *c,
			    const struct nvme_sqe *sqe, void *buf, uint32_t len)
{
	struct nvme_tcp_cmd *pdu = (struct nvme_tcp_cmd *)c->pdu;
	uint32_t hd = q->hdgst ? NVME_TCP_DIGEST_LEN : 0, dd = q->ddgst ? NVME_TCP_DIGEST_LEN : 0;

	c->buf = buf;
	c->len = len;
	c->xfer = host_xfer_dir(sqe);
	c->icd = c->xfer == HOST_XFER_H2C && len && len <= q->icd_max;
	c->done = c->ddgst_bad = false;
	c->c2h_next = c->r2t_next = 0;
	if (g_trace) {		/* the same words as the target's trace (trace.c) */
		char line[TRACE_LINE_MAX];

		c->sqe = *sqe;
		c->sqe.cid = htole16(c->cid);
		nvmf_trace("cmd  %s", trace_cmd(line, sizeof(line), &c->sqe, q->qid, buf, len));
	}
	if (q->rdma) {
		host_rdma_submit(q, c, sqe);
		return;
	}
	memset(pdu, 0, sizeof(*pdu));
	pdu->sqe = *sqe;
	pdu->sqe.cid = htole16(c->cid);
	/* Every fabrics command describes its data with an SGL: PSDT 01b
	 * [BASE-2.0c Fig. 88]; nvmet refuses a Connect without it. */
	pdu->sqe.flags = (sqe->flags & ~(3u << NVME_SQE_PSDT_SHIFT)) |
			 NVME_PSDT_SGL_MPTR_CONTIG << NVME_SQE_PSDT_SHIFT;
	pdu->sqe.dptr = (struct nvme_sgl){ .length = htole32(len), .type = c->icd
		? NVME_SGL_TYPE_DATA_BLOCK << 4 | NVME_SGL_SUBTYPE_OFFSET
		: NVME_SGL_TYPE_TRANSPORT_DATA_BLOCK << 4 | NVME_SGL_SUBTYPE_TRANSPORT };
	pdu->hdr.type = NVME_TCP_CMD;
	pdu->hdr.flags = (hd ? NVME_TCP_F_HDGST : 0) | (c->icd && dd ? NVME_TCP_F_DDGST : 0);
	pdu->hdr.hlen = sizeof(*pdu);
	pdu->hdr.pdo = c->icd ? sizeof(*pdu) + hd : 0;	/* the target's CPDA is 0 */
	pdu->hdr.plen = htole32(sizeof(*pdu) + hd + (c->icd ? len + dd : 0));
	tcp_put_hdgst(c->pdu, sizeof(*pdu), q->hdgst);
	if (g_trace)
		tcp_trace_pdu("->", &pdu->hdr, pdu);
	host_out_push(q, c->pdu, sizeof(*pdu) + hd);
	if (!c->icd)
		return;
	host_out_push(q, buf, len);
	if (dd) {
		c->icd_ddgst = htole32(tcp_crc32c(buf, len));
		host_out_push(q, &c->icd_ddgst, dd);
	}
}

/*
 * Answer an R2T: send bytes [off, off+len) of c's data as H2CData PDUs of
 * at most MAXH2CDATA bytes, the last one flagged LAST_PDU [TCP-1.0c
 * §3.6.2.7]. The target's CPDA is 0, so data follows the header directly.
 */
static void host_send_h2c(struct host_queue *q, struct host_cmd *c, uint16_t ttag,
			  uint32_t off, uint32_t len)
{
	uint32_t hd = q->hdgst ? NVME_TCP_DIGEST_LEN : 0, dd = q->ddgst ? NVME_TCP_DIGEST_LEN : 0;

	for (uint32_t i = 0, sent = 0, n; sent < len; i++, sent += n) {
		struct host_h2c *p = &c->h2c[i];
		struct nvme_tcp_data *d = (struct nvme_tcp_data *)p->hdr;
		uint8_t *data = c->buf + off + sent;

		n = len - sent < q->maxh2cdata ? len - sent : q->maxh2cdata;
		memset(d, 0, sizeof(*d));
		d->hdr.type = NVME_TCP_H2C_DATA;
		d->hdr.flags = (hd ? NVME_TCP_F_HDGST : 0) | (dd ? NVME_TCP_F_DDGST : 0) |
			       (sent + n == len ? NVME_TCP_F_DATA_LAST : 0);
		d->hdr.hlen = sizeof(*d);
		d->hdr.pdo = sizeof(*d) + hd;
		d->hdr.plen = htole32(sizeof(*d) + hd + n + dd);
		d->cccid = htole16(c->cid);
		d->ttag = htole16(ttag);
		d->datao = htole32(off + sent);
		d->datal = htole32(n);
		tcp_put_hdgst(p->hdr, sizeof(*d), q->hdgst);
		if (g_trace)
			tcp_trace_pdu("->", &d->hdr, d);
		host_out_push(q, p->hdr, sizeof(*d) + hd);
		host_out_push(q, data, n);
		if (dd) {
			p->ddgst = htole32(tcp_crc32c(data, n));
			host_out_push(q, &p->ddgst, dd);
		}
	}
}

/* ==================================================================== */
/* Queue: receive                                                      */
/* ==================================================================== */

static uint32_t host_avail(const struct host_queue *q)
{
	return q->rlen - q->rpos;
}

/* The outstanding command a PDU names, or NULL. */
static struct host_cmd *host_cmd_lookup(struct host_queue *q, le16 cid)
{
	uint16_t i = le16toh(cid);

	if (i >= q->nr_cmds || !q->cmds[i].busy || q->cmds[i].done)
		return NULL;
	return &q->cmds[i];
}

/* C2HTermReq: the target gave up on us [TCP-1.0c §3.6.2.4]. Say why; a
 * TermReq is never answered. Returns -EPROTO. */
static int host_recv_term(struct host_queue *q)
{
	static const char *const fes_names[] = {
		"reserved", "invalid PDU header field", "PDU sequence error",
		"header digest error", "data transfer out of range",
		"data transfer limit exceeded", "unsupported parameter",
	};
	struct nvme_tcp_term *t = (struct nvme_tcp_term *)q->pdu;
	uint16_t fes = le16toh(t->fes);
	uint32_t fei;

	memcpy(&fei, t->fei, sizeof(fei));
	host_err("target sent C2HTermReq: FES %u (%s), FEI %u", fes,
		 fes < ARRAY_SIZE(fes_names) ? fes_names[fes] : "unknown", le32toh(fei));
	if (q->pdu_len > sizeof(*t))
		pdu_hexdump("the PDU header it refused", q->pdu + sizeof(*t), q->pdu_len - sizeof(*t));
	return -EPROTO;
}

/*
 * The command is done and c->cqe holds its completion. A read whose data
 * did not all arrive, or arrived with a bad digest, fails here with Data
 * Transfer Error, as the Linux host fails it.
 */
static void host_cmd_finish(struct host_queue *q, struct host_cmd *c)
{
	bool ok = host_status(&c->cqe) == 0;

	if (ok && c->xfer == HOST_XFER_C2H && c->c2h_next != c->len)
		host_err("qid %u cid %u: success after only %u of %u data bytes", q->qid, c->cid,
			 c->c2h_next, c->len);
	if (ok && c->xfer == HOST_XFER_H2C && !c->icd && c->r2t_next != c->len)
		host_err("qid %u cid %u: write succeeded after an R2T for only %u of %u bytes",
			 q->qid, c->cid, c->r2t_next, c->len);
	if (ok && (c->ddgst_bad || (c->xfer == HOST_XFER_C2H && c->c2h_next != c->len)))
		c->cqe.status = htole16(NVME_SC_DATA_XFER_ERROR << 1);
	if (g_trace) {
		char line[TRACE_LINE_MAX];

		nvmf_trace("done %s", trace_cqe(line, sizeof(line), &c->sqe, &c->cqe, q->qid));
	}
	c->done = true;
	if (q->done)
		q->done[q->nr_done++] = c->cid;
}

/* CapsuleResp [TCP-1.0c §3.6.2.6]: the completion of one command. */
static int host_recv_rsp(struct host_queue *q)
{
	struct nvme_tcp_rsp *r = (struct nvme_tcp_rsp *)q->pdu;
	struct host_cmd *c = host_cmd_lookup(q, r->cqe.cid);

	if (!c)
		return host_fatal(q, NVME_TCP_FES_INVALID_HEADER, offsetof(struct nvme_tcp_rsp, cqe.cid),
				  "CapsuleResp for CID %u, which is not outstanding", le16toh(r->cqe.cid));
	c->cqe = r->cqe;
	host_cmd_finish(q, c);
	return 0;
}

/*
 * C2HData header [TCP-1.0c §3.6.2.8]: point the payload at the read's
 * buffer. We insist on in-order pieces, as the Linux host does (it copies
 * into the request without seeking to DATAO). SUCCESS, legal because our
 * Connect turned SQ flow control off, must come with LAST_PDU on the
 * piece that ends the data [TCP-1.0c §3.6.2.8]; the read then completes
 * when that piece is in (host_c2h_end), with no CapsuleResp.
 */
static int host_recv_c2h(struct host_queue *q)
{
	struct nvme_tcp_data *d = (struct nvme_tcp_data *)q->pdu;
	struct host_cmd *c = host_cmd_lookup(q, d->cccid);
	uint32_t datao = le32toh(d->datao), datal = le32toh(d->datal), plen = le32toh(d->hdr.plen);
	uint32_t dlen = plen - d->hdr.pdo - (q->ddgst ? NVME_TCP_DIGEST_LEN : 0);

	if (!c || c->xfer != HOST_XFER_C2H)
		return host_fatal(q, NVME_TCP_FES_INVALID_HEADER, offsetof(struct nvme_tcp_data, cccid),
				  "C2HData for CID %u, which is not an outstanding read", le16toh(d->cccid));
	if (q->pdu_len != d->hdr.pdo || datal != dlen)
		return host_fatal(q, NVME_TCP_FES_INVALID_HEADER, offsetof(struct nvme_tcp_data, datal),
				  "C2HData DATAL %u, but PLEN %u and PDO %u say otherwise", datal, plen,
				  d->hdr.pdo);
	if (datao != c->c2h_next || datal > c->len - datao)
		return host_fatal(q, NVME_TCP_FES_DATA_RANGE, offsetof(struct nvme_tcp_data, datao),
				  "C2HData DATAO %u DATAL %u for a %u-byte read that has %u bytes so far",
				  datao, datal, c->len, c->c2h_next);
	q->rsuccess = d->hdr.flags & NVME_TCP_F_DATA_SUCCESS;
	if (q->rsuccess && (!(d->hdr.flags & NVME_TCP_F_DATA_LAST) || datao + datal != c->len))
		return host_fatal(q, NVME_TCP_FES_INVALID_HEADER, offsetof(struct nvme_tcp_hdr, flags),
				  "C2HData SUCCESS on DATAO %u DATAL %u of a %u-byte read%s", datao,
				  datal, c->len, d->hdr.flags & NVME_TCP_F_DATA_LAST ? "" : " without LAST_PDU");
	if (datao + datal == c->len && !(d->hdr.flags & NVME_TCP_F_DATA_LAST))
		host_info("qid %u cid %u: last C2HData without LAST_PDU", q->qid, c->cid);
	q->rcmd = c;
	q->rdst = c->buf + datao;
	q->rdatao = datao;
	q->rleft = q->rdatal = datal;
	q->rstate = HOST_RECV_DATA;
	return 0;
}

/*
 * R2T [TCP-1.0c §3.6.2.9]: the target is ready for a write's data. We
 * allow one R2T at a time (MAXR2T 0), so each must start where the last
 * one ended and stay inside the command.
 */
static int host_recv_r2t(struct host_queue *q)
{
	struct nvme_tcp_r2t *r = (struct nvme_tcp_r2t *)q->pdu;
	struct host_cmd *c = host_cmd_lookup(q, r->cccid);
	uint32_t r2to = le32toh(r->r2to), r2tl = le32toh(r->r2tl);

	if (!c || c->xfer != HOST_XFER_H2C || c->icd)
		return host_fatal(q, NVME_TCP_FES_INVALID_HEADER, offsetof(struct nvme_tcp_r2t, cccid),
				  "R2T for CID %u, which has no data to fetch", le16toh(r->cccid));
	if (r2tl == 0 || r2to != c->r2t_next || r2tl > c->len - r2to)
		return host_fatal(q, NVME_TCP_FES_DATA_RANGE, offsetof(struct nvme_tcp_r2t, r2to),
				  "R2T R2TO %u R2TL %u for a %u-byte write with %u bytes asked for so far",
				  r2to, r2tl, c->len, c->r2t_next);
	c->r2t_next += r2tl;
	host_send_h2c(q, c, le16toh(r->ttag), r2to, r2tl);
	return 0;
}

/* Act on a complete header in q->pdu, by PDU type. ICReq, H2CTermReq,
 * CapsuleCmd and H2CData only go the other way [TCP-1.0c Fig. 21]. */
static int host_handle_pdu(struct host_queue *q)
{
	struct nvme_tcp_hdr *h = (struct nvme_tcp_hdr *)q->pdu;

	if (h->type == NVME_TCP_C2H_TERM)
		return host_recv_term(q);
	if (h->type == NVME_TCP_ICRESP && !q->ic_done) {
		memcpy(q->icresp, q->pdu, sizeof(q->icresp));
		q->ic_done = true;
		return 0;
	}
	if (!q->ic_done || h->type == NVME_TCP_ICRESP)
		return host_fatal(q, NVME_TCP_FES_PDU_SEQ_ERR, 0, "%s %s ICResp", tcp_pdu_name(h->type),
				  q->ic_done ? "after" : "before");
	if (h->type == NVME_TCP_RSP)
		return host_recv_rsp(q);
	if (h->type == NVME_TCP_C2H_DATA)
		return host_recv_c2h(q);
	if (h->type == NVME_TCP_R2T)
		return host_recv_r2t(q);
	return host_fatal(q, NVME_TCP_FES_INVALID_HEADER, offsetof(struct nvme_tcp_hdr, type),
			  "a controller does not send %s", tcp_pdu_name(h->type));
}

/*
 * RECV_PDU: once a whole header is buffered, check it [TCP-1.0c §3.6.1]
 * with tcp.c's checks (our HPDA is 0, our largest command the data
 * limit), verify its header digest, and handle it. A header is all of a
 * PDU except C2HData's payload, which starts at PDO.
 */
static int host_recv_pdu(struct host_queue *q)
{
	struct nvme_tcp_hdr *h = (struct nvme_tcp_hdr *)q->pdu;
	uint32_t need, fei, got, want;
	uint16_t fes;

	if (host_avail(q) < sizeof(*h))
		return -EAGAIN;
	memcpy(h, q->rbuf + q->rpos, sizeof(*h));
	q->pdu_len = sizeof(*h);
	if (tcp_hdr_check(h, q->hdgst, q->ddgst, 0, q->max_data, &fes, &fei))
		return host_fatal(q, fes, fei, "bad %s header from the target", tcp_pdu_name(h->type));
	need = le32toh(h->plen);
	if (h->type == NVME_TCP_C2H_DATA && need > h->hlen + (q->hdgst ? NVME_TCP_DIGEST_LEN : 0u))
		need = h->pdo;
	if (host_avail(q) < need)
		return -EAGAIN;
	memcpy(q->pdu, q->rbuf + q->rpos, need);
	q->rpos += need;
	q->pdu_len = need;
	if (q->hdgst && (h->type == NVME_TCP_RSP || h->type == NVME_TCP_C2H_DATA ||
			 h->type == NVME_TCP_R2T)) {
		memcpy(&got, q->pdu + h->hlen, sizeof(got));
		want = tcp_crc32c(q->pdu, h->hlen);
		if (le32toh(got) != want)
			return host_fatal(q, NVME_TCP_FES_HDGST_ERR, 0, "%s header digest 0x%08x, expected 0x%08x",
					  tcp_pdu_name(h->type), le32toh(got), want);
	}
	if (g_trace)
		tcp_trace_pdu("<-", h, q->pdu);
	return host_handle_pdu(q);
}

/* A C2HData payload (and its digest) is in. If the PDU said SUCCESS, it
 * stands for a CapsuleResp with status 0 [TCP-1.0c §3.6.2.8]: finish the
 * read now (the target sends SQHD FFFFh with flow control off). */
static void host_c2h_end(struct host_queue *q)
{
	struct host_cmd *c = q->rcmd;

	c->c2h_next += q->rdatal;
	q->rstate = HOST_RECV_PDU;
	if (!q->rsuccess)
		return;
	memset(&c->cqe, 0, sizeof(c->cqe));
	c->cqe.cid = htole16(c->cid);
	c->cqe.sqid = htole16(q->qid);
	c->cqe.sqhd = htole16(0xffff);
	host_cmd_finish(q, c);
}

/* RECV_DATA: payload already buffered goes to the command's buffer
 * (host_fill() puts large payloads there directly). */
static int host_recv_data(struct host_queue *q)
{
	uint32_t n = host_avail(q) < q->rleft ? host_avail(q) : q->rleft;

	memcpy(q->rdst, q->rbuf + q->rpos, n);
	q->rpos += n;
	q->rdst += n;
	q->rleft -= n;
	if (q->rleft)
		return -EAGAIN;
	if (q->ddgst) {
		q->rstate = HOST_RECV_DDGST;
		return 0;
	}
	host_c2h_end(q);
	return 0;
}

/* RECV_DDGST [TCP-1.0c §3.3.4]: a bad data digest is not fatal to the
 * connection; the command fails when it completes. */
static int host_recv_ddgst(struct host_queue *q)
{
	struct host_cmd *c = q->rcmd;
	uint32_t got, want;

	if (host_avail(q) < NVME_TCP_DIGEST_LEN)
		return -EAGAIN;
	memcpy(&got, q->rbuf + q->rpos, sizeof(got));
	q->rpos += NVME_TCP_DIGEST_LEN;
	want = tcp_crc32c(c->buf + q->rdatao, q->rdatal);
	if (le32toh(got) != want) {
		host_err("qid %u cid %u: C2HData data digest 0x%08x, expected 0x%08x",
			 q->qid, c->cid, le32toh(got), want);
		c->ddgst_bad = true;
	}
	host_c2h_end(q);
	return 0;
}

/*
 * Pull bytes from the socket: straight into the read's buffer while a
 * large payload is due and nothing is buffered, else into the receive
 * buffer, all the kernel has. Returns bytes read, -EAGAIN, or -ECONNRESET.
 */
static int host_fill(struct host_queue *q)
{
	ssize_t n;

	if (q->rstate == HOST_RECV_DATA && !host_avail(q) && q->rleft >= HOST_DIRECT_MIN) {
		n = recv(q->fd, q->rdst, q->rleft, 0);
		if (n > 0)
			q->rdst += n, q->rleft -= n;
	} else {
		/* What is left is less than one header: moving it is cheap. */
		memmove(q->rbuf, q->rbuf + q->rpos, host_avail(q));
		q->rlen -= q->rpos;
		q->rpos = 0;
		n = recv(q->fd, q->rbuf + q->rlen, HOST_RBUF_SIZE - q->rlen, 0);
		if (n > 0)
			q->rlen += n;
	}
	if (n > 0)
		return n;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -EAGAIN;
	host_err("%s %s", q->peer, n == 0 ? "closed the connection" : strerror(errno));
	return -ECONNRESET;
}

/* NVMe/RDMA: take the responses rdma.c reaped and finish their commands.
 * A full batch means there may be more: ask again before sleeping. */
static int host_rdma_process(struct host_queue *q)
{
	struct nvme_cqe cqe[32];
	char err[256];
	int n;

	do {
		n = q->rdma_rc ? q->rdma_rc : rdma_host_poll(q->rdma, cqe, 32, err, sizeof(err));
		if (n < 0 && !q->rdma_rc)
			host_err("qid %u %s: %s", q->qid, q->peer, err);
		if (n < 0)
			return q->rdma_rc = n;
		for (int i = 0; i < n; i++) {
			struct host_cmd *c = host_cmd_lookup(q, cqe[i].cid);

			if (!c)
				return host_err("qid %u: response for CID %u, which is not outstanding",
						q->qid, le16toh(cqe[i].cid)), q->rdma_rc = -EPROTO;
			c->cqe = cqe[i];
			c->done = true;
			if (q->done)
				q->done[q->nr_done++] = c->cid;
		}
	} while (n == 32);
	return 0;
}

/* What to poll() on for q: its socket, or its RDMA completion channel. */
static int host_queue_fd(const struct host_queue *q)
{
	return q->rdma ? rdma_host_fd(q->rdma) : q->fd;
}

/*
 * One pass over a queue: send what is queued, parse all that has arrived
 * (a budget of recv() calls keeps one queue from starving the rest), then
 * send what parsing queued (H2CData). Returns 0, or -errno when the
 * connection is dead.
 */
static int host_queue_process(struct host_queue *q)
{
	int budget = HOST_RECV_BUDGET, rc;

	if (q->rdma)
		return host_rdma_process(q);
	rc = host_flush(q);

	while (rc == 0) {
		if (q->rstate == HOST_RECV_PDU)
			rc = host_recv_pdu(q);
		else if (q->rstate == HOST_RECV_DATA)
			rc = host_recv_data(q);
		else
			rc = host_recv_ddgst(q);
		if (rc == -EAGAIN && budget-- > 0) {
			rc = host_fill(q);
			rc = rc > 0 ? 0 : rc;
		}
	}
	return rc == -EAGAIN ? host_flush(q) : rc;
}

/* Drive q until *flag turns true, or timeout_ms pass. Returns 0 or -errno. */
static int host_wait(struct host_queue *q, const bool *flag, uint64_t timeout_ms)
{
	uint64_t now, end = host_now_ns() + timeout_ms * 1000000ull;
	int rc;

	while ((rc = host_queue_process(q)) == 0 && !*flag) {
		struct pollfd p = { .fd = host_queue_fd(q), .events = POLLIN | (q->out_count ? POLLOUT : 0) };

		now = host_now_ns();
		if (now >= end)
			return host_err("qid %u: no answer from %s within %" PRIu64 " ms", q->qid,
					q->peer, timeout_ms), -ETIMEDOUT;
		poll(&p, 1, (int)((end - now) / 1000000 + 1));
	}
	return rc;
}

/*
 * Run one command to completion. Returns 0 on success, -EIO when the
 * command failed (the CQE in *cqe says how; the caller reports it), or
 * another -errno when the connection failed (already reported).
 */
static int host_exec(struct host_queue *q, const struct nvme_sqe *sqe, void *buf,
		     uint32_t len, struct nvme_cqe *cqe)
{
	struct host_cmd *c = host_cmd_get(q);
	int rc;

	if (!c)
		return host_err("qid %u: no free command slot", q->qid), -EBUSY;
	host_cmd_submit(q, c, sqe, buf, len);
	rc = host_wait(q, &c->done, HOST_TIMEOUT_MS);
	if (rc)
		return rc;	/* the slot stays busy: the queue is done for */
	*cqe = c->cqe;
	host_cmd_put(q, c);
	return host_status(cqe) ? -EIO : 0;
}

/* ==================================================================== */
/* Connect: ICReq, Fabrics Connect, properties                         */
/* ==================================================================== */

/*
 * Check the ICResp as the Linux host does [TCP-1.0c §3.6.2.3]: PFV 0,
 * exactly the digests we asked for, CPDA 0 (we do not skip padding), and
 * MAXH2CDATA of at least 4 KiB in dword multiples.
 */
static int host_icresp_check(struct host_queue *q, const struct host_opts *o)
{
	struct nvme_tcp_icresp *r = (struct nvme_tcp_icresp *)q->icresp;
	bool hd = r->digest & NVME_TCP_HDGST_ENABLE, dd = r->digest & NVME_TCP_DDGST_ENABLE;
	uint32_t maxh2cdata = le32toh(r->maxh2cdata);

	if (le16toh(r->pfv) != NVME_TCP_PFV_1_0)
		return host_err("ICResp PFV %u; we speak PFV 0 (NVMe/TCP 1.0)", le16toh(r->pfv)), -EPROTO;
	if (hd != o->hdgst || dd != o->ddgst)
		return host_err("ICResp digests header %d data %d; we asked for header %d data %d",
				hd, dd, o->hdgst, o->ddgst), -EPROTO;
	if (r->cpda != 0)
		return host_err("ICResp CPDA %u: data padding is not supported (the Linux host refuses it too)",
				r->cpda), -EPROTO;
	if (maxh2cdata < HOST_MIN_MAXH2CDATA || maxh2cdata % 4)
		return host_err("ICResp MAXH2CDATA %u: must be at least 4096 and a multiple of 4",
				maxh2cdata), -EPROTO;
	q->hdgst = hd;
	q->ddgst = dd;
	q->maxh2cdata = maxh2cdata;
	host_info("qid %u: ICResp: digests header %d data %d, MAXH2CDATA %u", q->qid, hd, dd,
		  maxh2cdata);
	return 0;
}

/* NVMe/RDMA: a queue pair through the RDMA CM (rdma.c). HSQSIZE is the
 * SQSIZE the Fabrics Connect will carry: 31 on the admin queue, the slot
 * count (perf's depth) on an I/O queue. */
static int host_rdma_connect(struct host_queue *q, const struct host_opts *o)
{
	uint16_t hsqsize = q->qid ? q->nr_cmds : HOST_ADMIN_SQSIZE;
	char err[512];
	int rc;

	snprintf(q->peer, sizeof(q->peer), "%s:%s", o->traddr, o->trsvcid);
	rc = rdma_host_connect(&q->rdma, o->traddr, o->trsvcid, q->qid, hsqsize, q->nr_cmds,
			       q->max_data, err, sizeof(err));
	if (rc)
		return host_err("cannot connect to %s over RDMA: %s", q->peer, err), rc;
	host_info("qid %u: NVMe/RDMA queue pair to %s, HSQSIZE %u", q->qid, q->peer, hsqsize);
	return 0;
}

/* Connect TCP and exchange ICReq/ICResp [TCP-1.0c §3.6.2.2]: PFV 0, HPDA 0
 * (no padding before data), MAXR2T 0 (one R2T at a time per command). */
static int host_queue_connect(struct host_queue *q, const struct host_opts *o)
{
	struct nvme_tcp_icreq *req = (struct nvme_tcp_icreq *)q->icreq;
	int rc;

	if (!strcasecmp(o->trtype, "RDMA"))
		return host_rdma_connect(q, o);
	rc = host_tcp_connect(q, o);

	if (rc)
		return rc;
	memset(req, 0, sizeof(*req));
	req->hdr.type = NVME_TCP_ICREQ;
	req->hdr.hlen = sizeof(*req);
	req->hdr.plen = htole32(sizeof(*req));
	req->pfv = htole16(NVME_TCP_PFV_1_0);
	req->hpda = 0;
	req->digest = (o->hdgst ? NVME_TCP_HDGST_ENABLE : 0) | (o->ddgst ? NVME_TCP_DDGST_ENABLE : 0);
	req->maxr2t = 0;
	if (g_trace)
		tcp_trace_pdu("->", &req->hdr, req);
	host_out_push(q, req, sizeof(*req));
	rc = host_wait(q, &q->ic_done, HOST_TIMEOUT_MS);
	return rc ? rc : host_icresp_check(q, o);
}

/* Name the Connect field an IPO points at [BASE-2.0c Fig. 546-547]. */
static const char *host_connect_field(uint16_t ipo, bool in_data)
{
	if (in_data)
		return ipo == 0 ? "HOSTID" : ipo == 16 ? "CNTLID" : ipo == 256 ? "SUBNQN" :
		       ipo == 512 ? "HOSTNQN" : "a reserved field";
	return ipo == 40 ? "RECFMT" : ipo == 42 ? "QID" : ipo == 44 ? "SQSIZE" :
	       ipo == 46 ? "CATTR" : ipo == 48 ? "KATO" : ipo == 24 ? "the SGL" : "a field";
}

/* auth.c's way to run an Authentication Send or Receive on our queue. */
static int host_auth_exec(void *arg, const struct nvme_sqe *sqe, void *buf, uint32_t len)
{
	struct nvme_cqe cqe;
	int rc = host_exec(arg, sqe, buf, len, &cqe);

	if (rc == -EIO)
		host_print_status("Authentication Send/Receive", &cqe);
	/* nvmet, refusing our reply, queues its Failure1 and then closes the
	 * queue at once; the close can win, and the Failure1 is never sent. */
	if (rc == -ECONNRESET)
		host_err("qid %u: the controller closed the connection during authentication: "
			 "it refused us: authentication failed (check --dhchap-secret)",
			 ((struct host_queue *)arg)->qid);
	return rc;
}

/*
 * After Connect: when the answer set AUTHREQ.ATR, run DH-HMAC-CHAP
 * (auth.c) with the secrets we were given [BASE-2.0c §8.13]. A secret the
 * target did not ask for is not used, as the Linux host does.
 */
static int host_authenticate(struct host_queue *q, const struct host_opts *o, bool atr)
{
	struct auth_host_io io = { .qid = q->qid, .hostnqn = o->hostnqn, .subnqn = o->subnqn,
				   .secret = o->dhchap, .exec = host_auth_exec, .arg = q };

	if (!atr)
		return 0;
	if (!o->dhchap[0])
		return host_err("qid %u: the target requires authentication: give --dhchap-secret",
				q->qid), -EACCES;
	if (o->dhchap_ctrl[0])
		io.ctrl_secret = o->dhchap_ctrl;
	return auth_host_run(&io) ? -EACCES : 0;
}

/*
 * Fabrics Connect [BASE-2.0c §6.3]: bind this queue to a controller. The
 * 1024-byte Connect data rides in the capsule. *cntlid is FFFFh for the
 * admin queue (dynamic model: any controller) or the controller's ID for
 * an I/O queue; on success it holds the answer's CNTLID (DW0 15:0).
 */
static int host_fabrics_connect(struct host_queue *q, const struct host_opts *o, uint16_t sqsize,
				uint32_t kato_ms, uint16_t *cntlid)
{
	union { struct nvme_sqe sqe; struct nvmf_connect_cmd c; } u = { 0 };
	struct nvmf_connect_data data = { 0 };
	struct nvme_cqe cqe;
	uint32_t dw0;
	int rc;

	u.c.opcode = NVME_FABRICS_OPCODE;
	u.c.fctype = NVMF_FCTYPE_CONNECT;
	u.c.qid = htole16(q->qid);
	u.c.sqsize = htole16(sqsize);
	u.c.kato = htole32(kato_ms);
	u.c.cattr = NVMF_CONNECT_CATTR_SQFC_DISABLE;
	memcpy(data.hostid, o->hostid, sizeof(data.hostid));
	data.cntlid = htole16(*cntlid);
	snprintf(data.subnqn, sizeof(data.subnqn), "%s", o->subnqn);
	snprintf(data.hostnqn, sizeof(data.hostnqn), "%s", o->hostnqn);
	rc = host_exec(q, &u.sqe, &data, sizeof(data), &cqe);
	dw0 = le32toh(cqe.dw0);
	if (rc == -EIO)
		host_print_status("Connect", &cqe);
	/* IPO in DW0 15:0, IATTR bit 0 in 23:16: 1 = in the data [BASE-2.0c Fig. 549]. */
	if (rc == -EIO && (host_status(&cqe) & 0x7ff) == (NVME_SC_CONNECT_INVALID_PARAM & 0x7ff))
		host_err("  the target refuses %s: IPO %u in the %s (IATTR %u)",
			 host_connect_field(dw0 & 0xffff, dw0 >> 16 & 1), dw0 & 0xffff,
			 dw0 >> 16 & 1 ? "Connect data" : "SQE", dw0 >> 16 & 0xff);
	if (rc == -EIO && (host_status(&cqe) & 0x7ff) == (NVME_SC_CONNECT_INVALID_HOST & 0x7ff))
		host_err("  host %s may not use %s", o->hostnqn, o->subnqn);
	if (rc)
		return rc;
	*cntlid = dw0 & 0xffff;
	host_info("qid %u: connected to controller %u of %s (SQSIZE %u, KATO %u ms)", q->qid,
		  *cntlid, o->subnqn, sqsize, kato_ms);
	return host_authenticate(q, o, dw0 & NVMF_CONNECT_AUTHREQ_ATR);
}

/*
 * Property Get or Set [BASE-2.0c §6.5-6.6] on the admin queue: get reads
 * 4 or 8 (wide) bytes at ofst into *v from DW0/DW1; set writes 4 bytes.
 */
static int host_prop(struct host_ctrl *c, bool set, uint32_t ofst, bool wide, uint64_t *v)
{
	union { struct nvme_sqe sqe; struct nvmf_prop_cmd p; } u = { 0 };
	struct nvme_cqe cqe;
	int rc;

	u.p.opcode = NVME_FABRICS_OPCODE;
	u.p.fctype = set ? NVMF_FCTYPE_PROP_SET : NVMF_FCTYPE_PROP_GET;
	u.p.attrib = wide ? 1 : 0;
	u.p.ofst = htole32(ofst);
	u.p.value = set ? htole64(*v) : 0;
	rc = host_exec(c->aq, &u.sqe, NULL, 0, &cqe);
	if (rc == -EIO)
		host_print_status(set ? "Property Set" : "Property Get", &cqe);
	if (!rc && !set)
		*v = (uint64_t)le32toh(cqe.dw1) << 32 | le32toh(cqe.dw0);
	return rc;
}

/* ==================================================================== */
/* The controller: enable, identify, shut down                         */
/* ==================================================================== */

/* An admin command of the usual shape: opcode, NSID, CDW10-13. */
static int host_admin(struct host_ctrl *c, uint8_t opc, uint32_t nsid, uint32_t cdw10,
		      uint32_t cdw11, uint64_t cdw12_13, void *buf, uint32_t len, const char *what)
{
	struct nvme_sqe sqe = { .opcode = opc };
	struct nvme_cqe cqe;
	int rc;

	sqe.flags = NVME_PSDT_SGL_MPTR_CONTIG << NVME_SQE_PSDT_SHIFT;	/* fabrics: SGLs */
	sqe.nsid = htole32(nsid);
	sqe.cdw10 = htole32(cdw10);
	sqe.cdw11 = htole32(cdw11);
	sqe.cdw12 = htole32((uint32_t)cdw12_13);
	sqe.cdw13 = htole32((uint32_t)(cdw12_13 >> 32));
	rc = host_exec(c->aq, &sqe, buf, len, &cqe);
	if (rc == -EIO)
		host_print_status(what, &cqe);
	return rc;
}

/* Poll CSTS until (CSTS & mask) == want, or timeout_ms pass. */
static int host_wait_csts(struct host_ctrl *c, uint32_t mask, uint32_t want, uint64_t timeout_ms,
			  const char *what)
{
	uint64_t end = host_now_ns() + timeout_ms * 1000000ull, csts;
	int rc;

	while ((rc = host_prop(c, false, NVME_REG_CSTS, false, &csts)) == 0) {
		if (csts & NVME_CSTS_CFS)
			return host_err("controller fatal status (CSTS.CFS) waiting for %s", what), -EIO;
		if ((csts & mask) == want)
			return 0;
		if (host_now_ns() >= end)
			return host_err("%s: CSTS 0x%" PRIx64 " after %" PRIu64 " ms", what, csts,
					timeout_ms), -ETIMEDOUT;
		usleep(10000);
	}
	return rc;
}

/*
 * Enable the controller [BASE-2.0c §3.5.1]: read CAP, write CC with
 * 64-byte SQEs, 16-byte CQEs, 4 KiB pages and a command set CAP offers
 * (CSS 6, "all I/O command sets", if CAP.CSS bit 6 is set, else NVM),
 * then set EN as its own write and wait up to CAP.TO (500 ms units) for
 * CSTS.RDY. Last, VS.
 */
static int host_ctrl_enable(struct host_ctrl *c)
{
	uint64_t cc, vs = 0;
	uint32_t to_ms;
	int rc = host_prop(c, false, NVME_REG_CAP, true, &c->cap);

	if (rc)
		return rc;
	to_ms = (uint32_t)((c->cap >> 24) & 0xff) * 500;
	cc = (c->cap & (1ull << 43) ? 6u : 0u) << NVME_CC_CSS_SHIFT | 0u << NVME_CC_MPS_SHIFT |
	     6u << NVME_CC_IOSQES_SHIFT | 4u << NVME_CC_IOCQES_SHIFT;
	host_info("CAP 0x%016" PRIx64 ": MQES %u, TO %u ms; CC 0x%08x, then EN", c->cap,
		  (unsigned)(c->cap & 0xffff), to_ms, (unsigned)cc);
	rc = host_prop(c, true, NVME_REG_CC, false, &cc);
	cc |= NVME_CC_EN;
	if (!rc)
		rc = host_prop(c, true, NVME_REG_CC, false, &cc);
	if (!rc)
		rc = host_wait_csts(c, NVME_CSTS_RDY, NVME_CSTS_RDY, to_ms ? to_ms : 500, "CSTS.RDY");
	if (!rc)
		rc = host_prop(c, false, NVME_REG_VS, false, &vs);
	c->vs = (uint32_t)vs;
	return rc;
}

/*
 * Check Identify Controller as the Linux host does before it uses a
 * fabrics controller [BASE-2.0c Fig. 275]: mandatory fabrics fields fail
 * the connection, oddities are warnings. Returns 0 or -EPROTO.
 */
static int host_ctrl_check(struct host_ctrl *c, bool discovery)
{
	struct nvme_id_ctrl *id = &c->id;
	uint8_t want_type = discovery ? NVME_CNTRLTYPE_DISC : NVME_CNTRLTYPE_IO;
	char nqn[NVMF_NQN_SIZE];
	int bad = 0;

	host_str(nqn, sizeof(nqn), id->subnqn, sizeof(id->subnqn));
	host_must(le16toh(id->cntlid) == c->cntlid, "warning: Identify CNTLID %u, but Connect said %u",
		  le16toh(id->cntlid), c->cntlid);
	host_must(!strcmp(nqn, c->o->subnqn), "warning: Identify SUBNQN '%s', but we connected to '%s'",
		  nqn, c->o->subnqn);
	/* CNTRLTYPE came with NVMe 1.4: a 1.3 controller (SPDK's target
	 * reports VS 1.3) leaves it 0, "not reported" [BASE-2.0c Fig. 275]. */
	if (id->cntrltype == 0 && c->vs < 0x00010400)
		want_type = 0;
	host_must(id->cntrltype == want_type, "warning: CNTRLTYPE %u, a%s controller is %u",
		  id->cntrltype, discovery ? " discovery" : "n I/O", want_type);
	if (discovery)
		return 0;
	bad += host_must(!c->kato_ms || le16toh(id->kas), "KAS is 0: keep alive is mandatory for fabrics");
	bad += host_must(le32toh(id->ioccsz) >= 4, "IOCCSZ %u < 4: a capsule must hold the SQE",
			 le32toh(id->ioccsz));
	bad += host_must(le32toh(id->iorcsz) >= 1, "IORCSZ %u < 1: a response capsule must hold the CQE",
			 le32toh(id->iorcsz));
	bad += host_must(le16toh(id->maxcmd) != 0, "MAXCMD is 0 (mandatory for fabrics)");
	bad += host_must(le16toh(id->icdoff) == 0, "ICDOFF %u: in-capsule data offsets are not supported",
			 le16toh(id->icdoff));
	bad += host_must(le32toh(id->sgls) & 3, "SGLS 0x%x: SGL support is mandatory for fabrics",
			 le32toh(id->sgls));
	bad += host_must(strcasecmp(c->o->trtype, "RDMA") || le32toh(id->sgls) & NVME_CTRL_SGLS_KEYED,
			 "SGLS 0x%x: NVMe/RDMA needs keyed SGL data blocks (bit 2)", le32toh(id->sgls));
	return bad ? -EPROTO : 0;
}

/*
 * Bring up a controller on the admin queue: connect, enable, identify.
 * NVMe/TCP admin queues take 8 KiB of in-capsule data (Linux
 * NVME_TCP_ADMIN_CCSZ), I/O queues IOCCSZ. kato_ms is the Keep Alive
 * Timeout we ask for (0: none, as for discovery). Returns 0 or -errno.
 */
static int host_ctrl_connect(struct host_ctrl *c, const struct host_opts *o, uint32_t kato_ms,
			     bool discovery)
{
	int rc;

	memset(c, 0, sizeof(*c));
	c->o = o;
	c->kato_ms = kato_ms;
	c->cntlid = NVMF_CNTLID_DYNAMIC;
	c->aq = host_queue_alloc(0, HOST_ADMIN_SLOTS, HOST_ADMIN_MAX_DATA);
	if (!c->aq)
		return host_err("out of memory"), -ENOMEM;
	c->aq->icd_max = HOST_ADMIN_ICD;
	rc = host_queue_connect(c->aq, o);
	if (!rc)
		rc = host_fabrics_connect(c->aq, o, HOST_ADMIN_SQSIZE, kato_ms, &c->cntlid);
	if (!rc)
		rc = host_ctrl_enable(c);
	if (!rc)
		rc = host_admin(c, NVME_ADM_IDENTIFY, 0, NVME_CNS_CTRL, 0, 0, &c->id, sizeof(c->id),
				"Identify Controller");
	if (!rc)
		rc = host_ctrl_check(c, discovery);
	c->next_ka_ns = host_now_ns() + kato_ms * 500000ull;	/* KATO / 2 */
	return rc;
}

/*
 * Leave politely, as the Linux host does: CC.SHN = 01b (normal shutdown),
 * wait for CSTS.SHST = 10b [BASE-2.0c §3.6.1], close. NVMe-oF 1.x has no
 * Disconnect command: closing the admin queue ends the association.
 */
static void host_ctrl_shutdown(struct host_ctrl *c, bool polite)
{
	uint64_t cc;

	if (polite && c->aq && host_prop(c, false, NVME_REG_CC, false, &cc) == 0) {
		cc = (cc & ~(uint64_t)NVME_CC_SHN_MASK) | 1u << NVME_CC_SHN_SHIFT;
		if (host_prop(c, true, NVME_REG_CC, false, &cc) == 0)
			host_wait_csts(c, NVME_CSTS_SHST_MASK, NVME_CSTS_SHST_CMPLT, 5000, "CSTS.SHST");
	}
	host_queue_free(c->aq);
	c->aq = NULL;
}

/* ==================================================================== */
/* nvmf discover                                                       */
/* ==================================================================== */

/* Get Log Page [BASE-2.0c §5.16, Fig. 197-201]: NUMD, a 0's based dword
 * count, is split over CDW10 31:16 (NUMDL) and CDW11 15:0 (NUMDU); the byte
 * offset over CDW12 (LPOL) and CDW13 (LPOU). RAE is CDW10 bit 15. */
static int host_get_log(struct host_ctrl *c, uint8_t lid, uint32_t nsid, bool rae, uint64_t off,
			void *buf, uint32_t len)
{
	uint32_t numd = len / 4 - 1;

	return host_admin(c, NVME_ADM_GET_LOG_PAGE, nsid,
			  lid | (rae ? 1u << 15 : 0) | (numd & 0xffff) << 16, numd >> 16, off, buf,
			  len, "Get Log Page");
}

/* One read of the discovery log: header, entries, header again. On
 * success *log is a malloc'd header plus *nrec entries, *h2 the last header. */
static int host_disc_pass(struct host_ctrl *c, uint8_t **log, uint64_t *nrec,
			  struct nvmf_disc_log_hdr *h2)
{
	struct nvmf_disc_log_hdr h;
	uint64_t end;
	int rc = host_get_log(c, NVME_LOG_DISC, 0, true, 0, &h, sizeof(h));

	if (rc)
		return rc;
	*nrec = le64toh(h.numrec);
	if (host_must(*nrec <= HOST_DISC_MAX_REC, "warning: NUMREC %" PRIu64 ", reading the first %u",
		      *nrec, HOST_DISC_MAX_REC))
		*nrec = HOST_DISC_MAX_REC;
	end = sizeof(h) + *nrec * sizeof(struct nvmf_disc_log_entry);
	*log = calloc(1, end);
	if (!*log)
		return -ENOMEM;
	memcpy(*log, &h, sizeof(h));
	for (uint64_t off = sizeof(h); !rc && off < end; off += HOST_DISC_CHUNK)
		rc = host_get_log(c, NVME_LOG_DISC, 0, true, off, *log + off,
				  end - off < HOST_DISC_CHUNK ? end - off : HOST_DISC_CHUNK);
	return rc ? rc : host_get_log(c, NVME_LOG_DISC, 0, false, 0, h2, sizeof(*h2));
}

/*
 * Read the discovery log as libnvme does [BASE-2.0c §5.16.1.23]: the
 * header (RAE set), the entries in 4 KiB pieces by offset, then the header
 * again (RAE clear, which re-arms the discovery change event). If GENCTR
 * moved meanwhile, the log changed under us: read it all again, up to 3
 * times. On success *out is a malloc'd header followed by *nrec entries.
 */
static int host_disc_log(struct host_ctrl *c, struct nvmf_disc_log_hdr **out, uint64_t *nrec)
{
	struct nvmf_disc_log_hdr h2;
	uint8_t *log = NULL;
	int rc, tries = 0;

	do {
		free(log);
		log = NULL;
		rc = host_disc_pass(c, &log, nrec, &h2);
		*out = (struct nvmf_disc_log_hdr *)log;
	} while (!rc && (*out)->genctr != h2.genctr && ++tries < 3);
	if (!rc && (*out)->genctr != h2.genctr) {
		host_err("the discovery log kept changing (GENCTR); giving up after %d tries", tries);
		rc = -EAGAIN;
	}
	if (rc) {
		free(log);
		*out = NULL;
	}
	return rc;
}

/* One entry, in nvme-cli's `nvme discover` layout and words [BASE-2.0c
 * Fig. 263]. TSAS byte 0 is SECTYPE for TCP. */
static void host_print_disc_entry(int i, const struct nvmf_disc_log_entry *e)
{
	static const char *const treq[] = { "not specified", "required", "not required", "reserved" };
	static const char *const subtype[] = { "unrecognized", "discovery subsystem referral",
					       "nvme subsystem", "current discovery subsystem" };
	uint16_t ef = le16toh(e->eflags);
	uint8_t t = e->trtype, a = e->adrfam;
	char s[257];

	printf("=====Discovery Log Entry %d======\n", i);
	printf("trtype:  %s\n", t == 1 ? "rdma" : t == 2 ? "fc" : t == 3 ? "tcp" : t == 254 ? "loop" :
	       "unrecognized");
	printf("adrfam:  %s\n", a == 1 ? "ipv4" : a == 2 ? "ipv6" : a == 3 ? "infiniband" :
	       a == 4 ? "fibre-channel" : a == 254 ? "loop" : "unrecognized");
	printf("subtype: %s\n", subtype[e->subtype < 4 ? e->subtype : 0]);
	printf("treq:    %s%s\n", treq[e->treq & 3],
	       e->treq & 4 ? ", sq flow control disable supported" : "");
	printf("portid:  %u\n", le16toh(e->portid));
	printf("trsvcid: %s\n", host_str(s, sizeof(s), e->trsvcid, sizeof(e->trsvcid)));
	printf("subnqn:  %s\n", host_str(s, sizeof(s), e->subnqn, sizeof(e->subnqn)));
	printf("traddr:  %s\n", host_str(s, sizeof(s), e->traddr, sizeof(e->traddr)));
	snprintf(s, sizeof(s), "%s%s%s", ef & NVMF_EFLAGS_EPCSD ? ", explicit discovery connections" : "",
		 ef & NVMF_EFLAGS_DUPRETINFO ? ", duplicate discovery information" : "",
		 ef & 4 ? ", no cdc connectivity" : "");
	printf("eflags:  %s\n", s[0] ? s + 2 : "none");
	if (t == NVMF_TRTYPE_TCP)
		printf("sectype: %s\n", e->tsas[0] == 0 ? "none" : e->tsas[0] == 1 ? "tls" :
		       e->tsas[0] == 2 ? "tls13" : "unrecognized");
}

int host_discover_main(int argc, char **argv)
{
	struct host_opts o = { .trtype = "TCP", .adrfam = "IPv4", .traddr = "127.0.0.1" };
	struct nvmf_disc_log_hdr *log = NULL;
	struct host_ctrl c;
	uint64_t nrec = 0;
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "r:vh", host_longopts, NULL)) != -1)
		if (host_opt_common(ch, &o) <= 0)
			return host_usage(ch, "discover [-r 'traddr:127.0.0.1 trsvcid:8009']\n");
	rc = host_opts_finish(&o, "8009", NVMF_DISC_NQN);
	if (rc)
		return rc;
	rc = host_ctrl_connect(&c, &o, 0, true);
	if (!rc)
		rc = host_disc_log(&c, &log, &nrec);
	if (!rc) {
		const struct nvmf_disc_log_entry *e = (const void *)(log + 1);

		printf("\nDiscovery Log Number of Records %" PRIu64 ", Generation counter %" PRIu64 "\n",
		       nrec, le64toh(log->genctr));
		for (uint64_t i = 0; i < nrec; i++)
			host_print_disc_entry((int)i, &e[i]);
	}
	free(log);
	host_ctrl_shutdown(&c, rc == 0);
	return rc ? 1 : 0;
}

/* ==================================================================== */
/* nvmf identify                                                       */
/* ==================================================================== */

/* The main Identify Controller fields [BASE-2.0c Fig. 275], nvme-cli style. */
static void host_print_id_ctrl(const struct host_ctrl *c)
{
	const struct nvme_id_ctrl *id = &c->id;
	uint32_t ver = le32toh(id->ver), ioccsz = le32toh(id->ioccsz);
	uint64_t mps = 4096ull << ((c->cap >> 48) & 0xf);	/* CAP.MPSMIN */
	char s[257];

	printf("NVMe controller %u at %s:%s (NVMe/TCP)\n", c->cntlid, c->o->traddr, c->o->trsvcid);
	printf("vid       : 0x%04x\n", le16toh(id->vid));
	printf("sn        : %s\n", host_str(s, sizeof(s), id->sn, sizeof(id->sn)));
	printf("mn        : %s\n", host_str(s, sizeof(s), id->mn, sizeof(id->mn)));
	printf("fr        : %s\n", host_str(s, sizeof(s), id->fr, sizeof(id->fr)));
	printf("cntlid    : %u\n", le16toh(id->cntlid));
	printf("ver       : 0x%08x (%u.%u.%u; VS property 0x%08x)\n", ver, ver >> 16, ver >> 8 & 0xff,
	       ver & 0xff, c->vs);
	printf("mdts      : %u (%" PRIu64 " KiB; 0 is no limit)\n", id->mdts,
	       id->mdts ? (mps << id->mdts) / 1024 : 0);
	printf("cntrltype : %u (%s)\n", id->cntrltype, id->cntrltype == 1 ? "I/O controller" :
	       id->cntrltype == 2 ? "discovery controller" : id->cntrltype == 3 ? "administrative" :
	       "not reported");
	printf("maxcmd    : %u\n", le16toh(id->maxcmd));
	printf("nn        : %u\n", le32toh(id->nn));
	printf("oncs      : 0x%04x\n", le16toh(id->oncs));
	printf("sgls      : 0x%08x\n", le32toh(id->sgls));
	printf("ioccsz    : %u (%u bytes of in-capsule data)\n", ioccsz, ioccsz >= 4 ? ioccsz * 16 - 64 : 0);
	printf("iorcsz    : %u\n", le32toh(id->iorcsz));
	printf("subnqn    : %s\n", host_str(s, sizeof(s), id->subnqn, sizeof(id->subnqn)));
	printf("kas       : %u (x 100 ms)\n", le16toh(id->kas));
	printf("aerl      : %u\n", id->aerl);
	printf("lpa       : 0x%02x\n", id->lpa);
	printf("oaes      : 0x%08x\n", le32toh(id->oaes));
	printf("ctratt    : 0x%08x\n", le32toh(id->ctratt));
	printf("cap       : 0x%016" PRIx64 " (MQES %u, TO %u ms)\n", c->cap,
	       (unsigned)(c->cap & 0xffff), (unsigned)((c->cap >> 24) & 0xff) * 500);
}

static void host_print_hex(const char *label, const uint8_t *b, size_t n)
{
	printf("%s", label);
	for (size_t i = 0; i < n; i++)
		printf("%02x", b[i]);
	printf("\n");
}

/* The Namespace Identification Descriptor list [BASE-2.0c Fig. 279]: a
 * run of NIDT/NIDL headers with their identifiers, ended by NIDT 0. */
static void host_print_ns_descs(const uint8_t *buf)
{
	size_t off = 0;
	char u[40];

	while (off + 4 <= NVME_IDENTIFY_DATA_SIZE) {
		/* Descriptors follow each other unaligned (a CSI one is 5 bytes
		 * long), so copy the header out rather than point into buf. */
		struct nvme_ns_id_desc hdr, *d = &hdr;
		const uint8_t *v = buf + off + sizeof(*d);

		memcpy(&hdr, buf + off, sizeof(hdr));

		if (d->nidt == 0 || off + sizeof(*d) + d->nidl > NVME_IDENTIFY_DATA_SIZE)
			break;
		if (d->nidt == NVME_NIDT_EUI64 && d->nidl == 8)
			host_print_hex("  eui64   : ", v, 8);
		else if (d->nidt == NVME_NIDT_NGUID && d->nidl == 16)
			host_print_hex("  nguid   : ", v, 16);
		else if (d->nidt == NVME_NIDT_UUID && d->nidl == 16)
			printf("  uuid    : %s\n", host_uuid_str(u, v));
		else if (d->nidt == NVME_NIDT_CSI && d->nidl == 1)
			printf("  csi     : %u (%s)\n", v[0], v[0] == NVME_CSI_NVM ? "NVM" : "other");
		else
			printf("  NIDT %u with NIDL %u: unexpected\n", d->nidt, d->nidl);
		off += sizeof(*d) + d->nidl;
	}
}

/* Identify Namespace (CNS 00h) [NVM-1.0c Fig. 114] and its descriptor
 * list (CNS 03h). buf is a 4 KiB scratch buffer. */
static int host_identify_ns(struct host_ctrl *c, uint32_t nsid, uint8_t *buf)
{
	const struct nvme_id_ns *ns = (const void *)buf;
	const struct nvme_lbaf *f = &ns->lbaf[ns->flbas & 0xf];
	uint64_t nsze;
	int rc;

	rc = host_admin(c, NVME_ADM_IDENTIFY, nsid, NVME_CNS_NS, 0, 0, buf, 4096, "Identify Namespace");
	if (rc)
		return rc;
	nsze = le64toh(ns->nsze);
	printf("\nNamespace %u:\n", nsid);
	if (nsze == 0)		/* an inactive NSID reads as zeroes [BASE-2.0c §5.17.2.1] */
		return printf("  not active\n"), -ENODEV;
	printf("  nsze    : %" PRIu64 " blocks (%" PRIu64 " MiB)\n", nsze,
	       f->lbads < 40 ? (nsze << f->lbads) >> 20 : 0);
	printf("  ncap    : %" PRIu64 "\n", le64toh(ns->ncap));
	printf("  nuse    : %" PRIu64 "\n", le64toh(ns->nuse));
	printf("  flbas   : 0x%02x (format %u)\n", ns->flbas, ns->flbas & 0xf);
	printf("  lbaf %-2u : ms %u lbads %u (%u-byte blocks)\n", ns->flbas & 0xf, le16toh(f->ms),
	       f->lbads, f->lbads < 32 ? 1u << f->lbads : 0);
	printf("  nmic    : 0x%02x\n", ns->nmic);
	printf("  nsattr  : 0x%02x%s\n", ns->nsattr, ns->nsattr & 1 ? " (write protected)" : "");
	printf("  dlfeat  : 0x%02x\n", ns->dlfeat);
	host_print_hex("  nguid   : ", ns->nguid, sizeof(ns->nguid));
	rc = host_admin(c, NVME_ADM_IDENTIFY, nsid, NVME_CNS_NS_DESC_LIST, 0, 0, buf, 4096,
			"Identify Namespace Descriptors");
	if (rc == 0) {
		printf("  descriptors:\n");
		host_print_ns_descs(buf);
	}
	return rc;
}

/* SMART / Health for all namespaces [BASE-2.0c §5.16.1.3, Fig. 207]. Its
 * counters are 128-bit; we print the low 64 bits. Data units are
 * thousands of 512-byte units. */
static int host_print_smart(struct host_ctrl *c)
{
	struct nvme_smart_log s;
	uint64_t v[4];
	int rc = host_get_log(c, NVME_LOG_SMART, 0xffffffff, false, 0, &s, sizeof(s));

	if (rc)
		return rc;
	memcpy(&v[0], s.data_units_read, 8);
	memcpy(&v[1], s.data_units_written, 8);
	memcpy(&v[2], s.host_reads, 8);
	memcpy(&v[3], s.host_writes, 8);
	printf("\nSMART / Health log (all namespaces):\n");
	printf("  data units read    : %" PRIu64 " (%" PRIu64 " MB)\n", le64toh(v[0]),
	       le64toh(v[0]) * 512 / 1000);
	printf("  data units written : %" PRIu64 " (%" PRIu64 " MB)\n", le64toh(v[1]),
	       le64toh(v[1]) * 512 / 1000);
	printf("  host read commands : %" PRIu64 "\n", le64toh(v[2]));
	printf("  host write commands: %" PRIu64 "\n", le64toh(v[3]));
	return 0;
}

/* Identify nsid, or every active namespace (CNS 02h lists them). */
static int host_identify_all(struct host_ctrl *c, uint32_t nsid)
{
	le32 *list = calloc(1, 4096);
	uint8_t *buf = calloc(1, 4096);
	int rc = !list || !buf ? -ENOMEM : 0;

	if (!rc && nsid)
		rc = host_identify_ns(c, nsid, buf);
	else if (!rc)
		rc = host_admin(c, NVME_ADM_IDENTIFY, 0, NVME_CNS_NS_ACTIVE_LIST, 0, 0, list, 4096,
				"Identify Active Namespace List");
	for (int i = 0; !rc && !nsid && i < 1024 && list[i]; i++)
		rc = host_identify_ns(c, le32toh(list[i]), buf);
	if (!rc)
		rc = host_print_smart(c);
	free(list);
	free(buf);
	return rc;
}

int host_identify_main(int argc, char **argv)
{
	struct host_opts o = { .trtype = "TCP", .adrfam = "IPv4", .traddr = "127.0.0.1" };
	struct host_ctrl c;
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "r:n:vh", host_longopts, NULL)) != -1) {
		if (ch == 'n' && (o.nsid = strtoul(optarg, NULL, 0)) != 0)
			continue;
		if (host_opt_common(ch, &o) <= 0)
			return host_usage(ch, "identify [-r 'traddr:127.0.0.1 trsvcid:4420 subnqn:"
					  HOST_IO_NQN "'] [-n NSID]\n");
	}
	rc = host_opts_finish(&o, "4420", HOST_IO_NQN);
	if (rc)
		return rc;
	rc = host_ctrl_connect(&c, &o, HOST_KATO_MS, false);
	if (!rc) {
		host_print_id_ctrl(&c);
		rc = host_identify_all(&c, o.nsid);
	}
	host_ctrl_shutdown(&c, rc == 0);
	return rc ? 1 : 0;
}

/* ==================================================================== */
/* nvmf perf: the workload and its verification                        */
/* ==================================================================== */

/* Per command slot: what the I/O in it does. */
struct host_perf_io {
	uint64_t unit;			/* offset, in io_size units */
	uint64_t start_ns;
	uint32_t gen;			/* verify: the generation it writes */
	bool write;
};

struct host_perf {
	unsigned depth, seconds;	/* what to do */
	uint32_t io_size, nsid;
	int read_pct;			/* 100 read, 0 write, else a mix */
	bool rand, verify;
	uint32_t bs, lbas_per_io;	/* the namespace, in io_size units */
	uint64_t nunits, next_unit;
	struct host_queue *q;		/* running */
	uint8_t *bufs;			/* depth * io_size */
	struct host_perf_io *ios;	/* by CID */
	unsigned inflight;
	bool prefill;			/* verify: the initial pattern pass */
	uint64_t rng;
	uint8_t *busy;			/* verify: by unit, an I/O is in flight */
	uint32_t *gen;			/* verify: by block, what it holds */
	uint32_t wgen;
	uint64_t key;			/* verify: this run's pattern key */
	uint8_t *scratch;		/* verify: one block of expected data */
	uint64_t ios_done, lat_sum_ns, lat_min_ns, lat_max_ns;	/* results */
	uint64_t errors, mismatches;
};

static volatile sig_atomic_t host_interrupted;

static void host_on_sigint(int sig)
{
	(void)sig;
	host_interrupted = 1;
}

/*
 * What a block holds after write generation gen: a header of its LBA, the
 * run's key and gen, then a xorshift stream seeded by all three. A stale,
 * misplaced or torn block cannot match.
 *
 *   0        8         12        16                           bs
 *   +--------+---------+---------+----------------------------+
 *   |  LBA   | key lo  |   gen   | xorshift(key, lba, gen)... |
 *   +--------+---------+---------+----------------------------+
 */
static void host_pattern(uint8_t *blk, uint32_t bs, uint64_t lba, uint32_t gen, uint64_t key)
{
	uint64_t s = key ^ (lba * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)gen << 20) ^ 1;
	uint64_t w = htole64(lba);

	memcpy(blk, &w, 8);
	w = htole64((uint64_t)gen << 32 | (uint32_t)key);
	memcpy(blk + 8, &w, 8);
	for (uint32_t off = 16; off < bs; off += 8) {
		w = htole64(host_rand(&s));
		memcpy(blk + off, &w, 8);
	}
}

/* Check a read's blocks against what we last wrote there; count every
 * mismatching block and print the first HOST_MAX_PRINT. */
static void host_perf_check(struct host_perf *p, const uint8_t *buf, uint64_t lba0)
{
	for (uint32_t i = 0; i < p->lbas_per_io; i++) {
		const uint8_t *got = buf + (size_t)i * p->bs;
		uint64_t lba = lba0 + i, e, g;
		uint32_t off = 0;

		if (p->gen[lba] == HOST_GEN_UNKNOWN)
			continue;
		host_pattern(p->scratch, p->bs, lba, p->gen[lba], p->key);
		if (!memcmp(got, p->scratch, p->bs))
			continue;
		while (!memcmp(got + off, p->scratch + off, 8))
			off += 8;
		memcpy(&e, p->scratch + off, 8);
		memcpy(&g, got + off, 8);
		if (++p->mismatches <= HOST_MAX_PRINT)
			printf("verify mismatch: lba %" PRIu64 " offset %u: expected 0x%016" PRIx64
			       " got 0x%016" PRIx64 "\n", lba, off, le64toh(e), le64toh(g));
	}
}

/* Pick the next unit: sequential or uniformly random; with --verify skip
 * units in flight. Returns false if none can be used now. */
static bool host_perf_pick(struct host_perf *p, uint64_t *unit)
{
	uint64_t u = p->rand && !p->prefill ? (host_rand(&p->rng) >> 11) % p->nunits : p->next_unit;

	if (p->prefill && u >= p->nunits)
		return false;
	for (uint64_t tries = 0; p->verify && p->busy[u] && tries < p->nunits; tries++)
		u = (u + 1) % p->nunits;
	if (p->verify && p->busy[u])
		return false;
	if (!p->rand || p->prefill)
		p->next_unit = p->prefill ? u + 1 : (u + 1) % p->nunits;
	*unit = u;
	return true;
}

/* Start one Read or Write [NVM-1.0c §3.2.4, §3.2.6] on a free slot; with
 * --verify a write carries each block's pattern. False if none can start. */
static bool host_perf_submit(struct host_perf *p)
{
	struct nvme_sqe sqe = { .flags = NVME_PSDT_SGL_MPTR_CONTIG << NVME_SQE_PSDT_SHIFT };
	struct host_perf_io *io;
	struct host_cmd *c;
	uint64_t unit, slba;
	uint8_t *buf;

	if (!p->q->nr_free || !host_perf_pick(p, &unit))
		return false;
	c = host_cmd_get(p->q);
	io = &p->ios[c->cid];
	buf = p->bufs + (size_t)c->cid * p->io_size;
	slba = unit * p->lbas_per_io;
	io->unit = unit;
	io->write = p->prefill || (int)(host_rand(&p->rng) % 100) >= p->read_pct;
	if (p->verify && io->write) {
		io->gen = p->prefill ? 0 : ++p->wgen % HOST_GEN_UNKNOWN;
		for (uint32_t i = 0; i < p->lbas_per_io; i++)
			host_pattern(buf + (size_t)i * p->bs, p->bs, slba + i, io->gen, p->key);
	}
	if (p->verify)
		p->busy[unit] = 1;
	sqe.opcode = io->write ? NVME_CMD_WRITE : NVME_CMD_READ;
	sqe.nsid = htole32(p->nsid);
	sqe.cdw10 = htole32((uint32_t)slba);
	sqe.cdw11 = htole32((uint32_t)(slba >> 32));
	sqe.cdw12 = htole32(p->lbas_per_io - 1);	/* NLB, 0's based */
	io->start_ns = host_now_ns();
	host_cmd_submit(p->q, c, &sqe, buf, p->io_size);
	p->inflight++;
	return true;
}

/* A completion: its latency, a failure, and with --verify what a write
 * left or what a read found. */
static void host_perf_complete(struct host_perf *p, struct host_cmd *c)
{
	struct host_perf_io *io = &p->ios[c->cid];
	uint64_t lat = host_now_ns() - io->start_ns, slba = io->unit * p->lbas_per_io;
	uint16_t st = host_status(&c->cqe);
	char s[96];

	if (!p->prefill) {
		p->ios_done++;
		p->lat_sum_ns += lat;
		p->lat_min_ns = lat < p->lat_min_ns ? lat : p->lat_min_ns;
		p->lat_max_ns = lat > p->lat_max_ns ? lat : p->lat_max_ns;
	}
	if (st && ++p->errors <= 5)
		printf("I/O failed: %s lba %" PRIu64 " (%u blocks) cid %u: %s\n", io->write ? "write" :
		       "read", slba, p->lbas_per_io, c->cid, host_status_str(st, s, sizeof(s)));
	if (p->verify && io->write)
		for (uint32_t i = 0; i < p->lbas_per_io; i++)
			p->gen[slba + i] = st ? HOST_GEN_UNKNOWN : io->gen;
	else if (p->verify && !st)
		host_perf_check(p, c->buf, slba);
	if (p->verify)
		p->busy[io->unit] = 0;
	host_cmd_put(p->q, c);
	p->inflight--;
}

/*
 * Keep the controller alive during a long run [BASE-2.0c §5.25]: a Keep
 * Alive every KATO/2 on the admin queue, its answer reaped as it comes.
 * The admin socket is touched only then, not on every pass. Returns 0 or
 * -errno when the admin queue is dead.
 */
static int host_keep_alive(struct host_ctrl *c, uint64_t now)
{
	struct nvme_sqe sqe = { .opcode = NVME_ADM_KEEP_ALIVE };
	int rc;

	if (!c->kato_ms || (!c->ka && now < c->next_ka_ns))
		return 0;
	rc = host_queue_process(c->aq);
	if (rc)
		return rc;
	if (c->ka && c->ka->done) {
		if (host_status(&c->ka->cqe))
			host_print_status("Keep Alive", &c->ka->cqe);
		host_cmd_put(c->aq, c->ka);
		c->ka = NULL;
	}
	if (c->ka || now < c->next_ka_ns || !(c->ka = host_cmd_get(c->aq)))
		return 0;
	host_cmd_submit(c->aq, c->ka, &sqe, NULL, 0);
	c->next_ka_ns = now + c->kato_ms * 500000ull;
	return host_flush(c->aq);
}

/*
 * The event loop: keep DEPTH I/Os in flight until end_ns (when
 * prefilling: until every unit is written), then wait for the rest. Each
 * pass submits, sends in one writev() batch, parses all that arrived and
 * reaps completions. Like the target's reactor it spins while work came
 * in the last millisecond (a wakeup from poll() costs more than a QD1
 * round trip), and sleeps in poll() only after that.
 */
static int host_perf_loop(struct host_perf *p, struct host_ctrl *c, uint64_t end_ns)
{
	uint64_t drain_end = 0, last_work = host_now_ns();
	int rc = 0;

	while (rc == 0) {
		uint64_t now = host_now_ns();
		bool stop = p->prefill ? p->next_unit >= p->nunits : now >= end_ns || host_interrupted;
		struct pollfd pfd[2] = { { .fd = host_queue_fd(p->q), .events = POLLIN },
					 { .fd = host_queue_fd(c->aq), .events = POLLIN } };

		while (!stop && p->inflight < p->depth && host_perf_submit(p))
			;
		if (stop && !p->inflight)
			break;
		if (stop && !drain_end)
			drain_end = now + HOST_TIMEOUT_MS * 1000000ull;
		if (drain_end && now > drain_end)
			return host_err("%u I/Os still outstanding %u ms after the end", p->inflight,
					HOST_TIMEOUT_MS), -ETIMEDOUT;
		p->q->nr_done = 0;
		rc = host_queue_process(p->q);
		for (unsigned i = 0; rc == 0 && i < p->q->nr_done; i++)
			host_perf_complete(p, &p->q->cmds[p->q->done[i]]);
		if (rc == 0)
			rc = host_keep_alive(c, now);
		if (p->q->nr_done)
			last_work = now;
		if (rc == 0 && p->q->nr_done == 0 && now - last_work > 1000000) {
			pfd[0].events |= p->q->out_count ? POLLOUT : 0;
			poll(pfd, c->ka ? 2 : 1, 10);
		}
	}
	return rc;
}

/* ==================================================================== */
/* nvmf perf: setup and the entry point                                */
/* ==================================================================== */

/* Pin this thread to the first core of a hex mask, as SPDK's -c does. */
static int host_pin(const char *mask)
{
	unsigned long long m = strtoull(mask, NULL, 16);
	int core = m ? __builtin_ctzll(m) : -1;
	cpu_set_t set;

	if (core < 0)
		return host_err("core mask '%s' names no core", mask), -EINVAL;
	CPU_ZERO(&set);
	CPU_SET(core, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return host_err("cannot run on core %d: %s", core, strerror(errno)), -EINVAL;
	return 0;
}

/*
 * The namespace's geometry (Identify Namespace [NVM-1.0c Fig. 114]), and
 * the I/O size checked against it and against MDTS (in units of
 * CAP.MPSMIN [BASE-2.0c Fig. 275]). With --verify the region is capped so
 * the expected-content table stays small.
 */
static int host_perf_geometry(struct host_perf *p, struct host_ctrl *c)
{
	struct nvme_id_ns *ns = calloc(1, sizeof(*ns));
	uint64_t mdts = c->id.mdts ? (4096ull << ((c->cap >> 48) & 0xf)) << c->id.mdts : 0;
	uint64_t nsze, region;
	int rc = ns ? 0 : -ENOMEM;

	if (!rc)
		rc = host_admin(c, NVME_ADM_IDENTIFY, p->nsid, NVME_CNS_NS, 0, 0, ns, sizeof(*ns),
				"Identify Namespace");
	nsze = rc ? 0 : le64toh(ns->nsze);
	p->bs = rc ? 0 : 1u << (ns->lbaf[ns->flbas & 0xf].lbads & 31);
	free(ns);
	if (rc)
		return rc;
	if (nsze == 0)
		return host_err("namespace %u is not active (NSZE 0)", p->nsid), -ENODEV;
	if (p->bs < 512 || p->io_size % p->bs || p->io_size / p->bs > 65536)
		return host_err("I/O size %u is not a multiple of the %u-byte block (or above 65536 blocks)",
				p->io_size, p->bs), -EINVAL;
	if (mdts && p->io_size > mdts)
		return host_err("I/O size %u is above MDTS (%" PRIu64 " bytes)", p->io_size, mdts), -EINVAL;
	p->lbas_per_io = p->io_size / p->bs;
	region = p->verify && nsze > HOST_VERIFY_REGION / p->bs ? HOST_VERIFY_REGION / p->bs : nsze;
	p->nunits = region / p->lbas_per_io;
	if (p->nunits == 0)
		return host_err("I/O size %u is larger than the namespace", p->io_size), -EINVAL;
	host_info("namespace %u: %" PRIu64 " blocks of %u bytes; using %" PRIu64 " units of %u bytes",
		  p->nsid, nsze, p->bs, p->nunits, p->io_size);
	return 0;
}

/*
 * Ask for one I/O queue (Set Features Number of Queues, 0's based
 * [BASE-2.0c §5.27.1.7]) and connect it: its own TCP connection, Connect
 * with QID 1 and our CNTLID. SQSIZE is the depth (depth+1 entries, so a
 * full queue still has a free entry), capped by MQES and MAXCMD.
 */
static int host_perf_queue(struct host_perf *p, struct host_ctrl *c)
{
	uint32_t maxcmd = le16toh(c->id.maxcmd), mqes = c->cap & 0xffff;
	uint32_t sqsize = p->depth < 0xffff ? p->depth : 0xffff;
	uint16_t cntlid = c->cntlid;
	int rc;

	rc = host_admin(c, NVME_ADM_SET_FEATURES, 0, NVME_FEAT_NUM_QUEUES, 0, 0, NULL, 0,
			"Set Features (Number of Queues)");
	if (rc)
		return rc;
	sqsize = sqsize < maxcmd - 1 ? sqsize : maxcmd - 1;
	sqsize = sqsize < mqes ? sqsize : mqes;
	if (sqsize == 0)
		return host_err("MAXCMD %u and MQES %u leave no room for a queue", maxcmd, mqes), -EINVAL;
	if (sqsize < p->depth)
		host_err("queue depth %u capped to %u (MAXCMD %u, CAP.MQES %u)", p->depth, sqsize,
			 maxcmd, mqes);
	p->depth = sqsize;
	p->q = host_queue_alloc(1, p->depth, p->io_size);
	p->ios = calloc(p->depth, sizeof(*p->ios));
	if (!p->q || !p->ios || !(p->q->done = calloc(p->depth, sizeof(*p->q->done))))
		return host_err("out of memory"), -ENOMEM;
	p->q->icd_max = le32toh(c->id.ioccsz) * 16 - sizeof(struct nvme_sqe);
	rc = host_queue_connect(p->q, c->o);
	if (!rc)
		rc = host_fabrics_connect(p->q, c->o, sqsize, 0, &cntlid);
	host_must(rc || cntlid == c->cntlid, "warning: I/O queue Connect answered CNTLID %u, not %u",
		  cntlid, c->cntlid);
	return rc;
}

/* Buffers, the PRNG, and with --verify the state tables. 0 or -ENOMEM. */
static int host_perf_alloc(struct host_perf *p)
{
	if (getrandom(&p->rng, sizeof(p->rng), 0) != sizeof(p->rng) || !p->rng)
		p->rng = host_now_ns() | 1;
	p->key = host_rand(&p->rng);
	p->lat_min_ns = UINT64_MAX;
	if (posix_memalign((void **)&p->bufs, 4096, (size_t)p->depth * p->io_size))
		return -ENOMEM;
	memset(p->bufs, 0xa5, (size_t)p->depth * p->io_size);
	if (!p->verify)
		return 0;
	p->busy = calloc(p->nunits, 1);
	p->gen = calloc(p->nunits * p->lbas_per_io, sizeof(*p->gen));
	p->scratch = malloc(p->bs);
	return p->busy && p->gen && p->scratch ? 0 : -ENOMEM;
}

/* The SPDK perf table; latencies in microseconds. */
static void host_perf_report(const struct host_perf *p, const struct host_opts *o, double secs)
{
	double iops = p->ios_done / secs, avg = p->ios_done ? p->lat_sum_ns / 1e3 / p->ios_done : 0;
	char dev[600];
	int w;

	snprintf(dev, sizeof(dev), "%s (addr:%s subnqn:%s) NSID %u",
		 strcasecmp(o->trtype, "RDMA") ? "TCP" : "RDMA", o->traddr, o->subnqn, p->nsid);
	w = strlen(dev) > 40 ? (int)strlen(dev) : 40;
	printf("========================================================\n");
	printf("%*s\n", w + 57, "Latency(us)");
	printf("%-*s: %10s %10s %10s %10s %10s\n", w, "Device Information", "IOPS", "MiB/s",
	       "Average", "min", "max");
	printf("%-*s: %10.2f %10.2f %10.2f %10.2f %10.2f\n", w, dev, iops,
	       iops * p->io_size / (1024.0 * 1024.0), avg,
	       p->ios_done ? p->lat_min_ns / 1e3 : 0.0, p->lat_max_ns / 1e3);
	printf("========================================================\n");
	printf("errors: %" PRIu64 " failed I/Os", p->errors);
	if (p->verify)
		printf(", %" PRIu64 " verify mismatches%s", p->mismatches,
		       p->mismatches > HOST_MAX_PRINT ? " (the first 20 printed)" : "");
	printf("\n");
}

/* Bring everything up, run (with --verify, the prefill first), report. */
static int host_perf_run(struct host_perf *p, struct host_ctrl *c, const struct host_opts *o)
{
	struct sigaction sa = { .sa_handler = host_on_sigint }, old;
	uint64_t t0;
	int rc;

	rc = host_ctrl_connect(c, o, HOST_KATO_MS, false);
	if (!rc)
		rc = host_perf_geometry(p, c);
	if (!rc)
		rc = host_perf_queue(p, c);
	if (!rc && host_perf_alloc(p))
		return host_err("out of memory"), -ENOMEM;
	if (rc)
		return rc;
	sigaction(SIGINT, &sa, &old);
	if (p->verify) {
		printf("verify: writing the initial pattern over %" PRIu64 " MiB\n",
		       (p->nunits * p->io_size) >> 20);
		p->prefill = true;
		rc = host_perf_loop(p, c, 0);
		p->prefill = false;
		p->next_unit = 0;
	}
	t0 = host_now_ns();
	if (!rc)
		rc = host_perf_loop(p, c, t0 + p->seconds * 1000000000ull);
	sigaction(SIGINT, &old, NULL);
	if (!rc)
		host_perf_report(p, o, (host_now_ns() - t0) / 1e9);
	return rc;
}

/* -w takes SPDK's workload names; -M applies to the mixes. */
static int host_perf_workload(struct host_perf *p, const char *w, int mix)
{
	p->rand = !strncmp(w, "rand", 4);
	w += p->rand ? 4 : 0;
	p->read_pct = !strcmp(w, "read") ? 100 : !strcmp(w, "write") ? 0 :
		      !strcmp(w, "rw") ? (mix >= 0 ? mix : 50) : -1;
	return p->read_pct < 0 || mix > 100 ? -EINVAL : 0;
}

#define HOST_PERF_USAGE \
	"perf [-q DEPTH] [-o IO_SIZE] [-w read|write|randread|randwrite|rw|randrw]\n" \
	"      [-M READ_PERCENT] [-t SECONDS] [-c CORE_MASK] [-n NSID] [--verify]\n" \
	"      [-r 'traddr:127.0.0.1 trsvcid:4420 subnqn:" HOST_IO_NQN "']\n" \
	"      (defaults: -q 32 -o 4096 -w randread -t 5 -n 1)\n"

int host_perf_main(int argc, char **argv)
{
	struct host_opts o = { .trtype = "TCP", .adrfam = "IPv4", .traddr = "127.0.0.1" };
	struct host_perf p = { .depth = 32, .seconds = 5, .io_size = 4096 };
	const char *workload = "randread", *mask = NULL;
	struct host_ctrl c = { 0 };
	int ch, rc, mix = -1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "q:o:w:M:t:c:r:n:vh", host_longopts, NULL)) != -1) {
		rc = host_opt_common(ch, &o);
		if (rc > 0)
			continue;
		switch (rc < 0 ? '?' : ch) {
		case 'q': p.depth = strtoul(optarg, NULL, 0); break;
		case 'o': p.io_size = strtoul(optarg, NULL, 0); break;
		case 'w': workload = optarg; break;
		case 'M': mix = atoi(optarg); break;
		case 't': p.seconds = strtoul(optarg, NULL, 0); break;
		case 'c': mask = optarg; break;
		case 'n': o.nsid = strtoul(optarg, NULL, 0); break;
		case HOST_OPT_VERIFY: p.verify = true; break;
		default: return host_usage(ch, HOST_PERF_USAGE);
		}
	}
	if (host_perf_workload(&p, workload, mix) || !p.depth || !p.io_size || !p.seconds)
		return host_usage('?', HOST_PERF_USAGE);
	p.nsid = o.nsid ? o.nsid : 1;
	rc = host_opts_finish(&o, "4420", HOST_IO_NQN);
	if (rc)
		return rc;
	if (mask && host_pin(mask))
		return 1;
	rc = host_perf_run(&p, &c, &o);
	host_queue_free(p.q);
	host_ctrl_shutdown(&c, rc == 0);
	free(p.bufs), free(p.ios), free(p.busy), free(p.gen), free(p.scratch);
	return rc || p.errors || p.mismatches ? 1 : 0;
}
