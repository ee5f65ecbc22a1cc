/*
 * host.c - the initiator: `nvmf discover` and `nvmf identify`, and the
 * controller bring-up that `nvmf perf` (perf.c) shares. It talks to any
 * NVMe-oF target (ours, the kernel's nvmet, SPDK) the way the Linux host
 * does, and when a target gets something wrong it says what it received
 * and what it expected.
 *
 *   discover | identify | perf
 *     |  host_ctrl_connect: the admin queue                  spec
 *     |    transport: TCP ICReq -> ICResp, or RDMA CM  (host_queue.c)
 *     |    Connect QID 0, CNTLID FFFFh              [BASE-2.0c §6.3]
 *     |    Property Get CAP, Set CC.EN, CSTS.RDY    [BASE-2.0c §3.5.1, §6.5-6]
 *     |    Identify Controller, checked             [BASE-2.0c §5.17.2.1]
 *     v
 *   host_exec: one command, then wait   (host_queue.c carries it)
 *
 * Sections, in order: helpers (messages, status names, time); options
 * (transport ID, host identity); Fabrics Connect and authentication; the
 * controller (properties, enable, identify, shut down); nvmf discover;
 * nvmf identify.
 *
 * The three host files share host.h: the constants and the structs of a
 * queue, a command slot and a controller. host_queue.c is the transport
 * (a struct host_queue is one TCP connection or one RDMA queue pair: how a
 * command goes out and its completion comes back); perf.c is the
 * workload and its verification.
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
 * Tutorial chapter 05 reads this file top to bottom, then host_queue.c.
 */
#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "nvmf.h"
#include "host.h"

/* This file's own constants; the shared ones are in host.h. */
#define HOST_ADMIN_SLOTS	4
#define HOST_ADMIN_MAX_DATA	4096		/* Identify, log pieces, Connect data */
#define HOST_ADMIN_ICD		8192		/* see host_ctrl_connect() */
#define HOST_DISC_CHUNK		4096		/* libnvme's log piece size */
#define HOST_DISC_MAX_REC	65536	/* 64 MiB: a sanity bound on NUMREC */

bool host_verbose;		/* -v: say what each step did */

/* ==================================================================== */
/* Helpers: messages, status names, time                               */
/* ==================================================================== */

/* A message for the user, on stderr; results go to stdout. */
void host_vmsg(const char *fmt, va_list ap)
{
	fputs("nvmf: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void __attribute__((format(printf, 1, 2))) host_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	host_vmsg(fmt, ap);
	va_end(ap);
}

/* Complain unless ok. Returns 1 if it complained, so checks can count. */
int __attribute__((format(printf, 2, 3))) host_must(bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return 0;
	va_start(ap, fmt);
	host_vmsg(fmt, ap);
	va_end(ap);
	return 1;
}


uint64_t host_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* xorshift64*: fast, and good enough for offsets and fill patterns. */
uint64_t host_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* The CQE's Status Field without the phase tag [BASE-2.0c Fig. 92-93]. */
uint16_t host_status(const struct nvme_cqe *cqe)
{
	return le16toh(cqe->status) >> 1;
}

/* "status 0x00b (Invalid Namespace or Format), DNR", into buf: the
 * status st of command sqe on queue qid, named by trace.c's table (the
 * target's --trace says the same words), which needs the command because
 * codes from 180h mean one thing on a Connect and another on I/O. */
const char *host_status_str(uint16_t st, const struct nvme_sqe *sqe, uint16_t qid,
			    char *buf, size_t len)
{
	snprintf(buf, len, "status 0x%03x (%s)%s", st & 0x7ff, trace_status_name(st, sqe, qid),
		 st & NVME_STATUS_DNR ? ", DNR" : "");
	return buf;
}

/* "WHAT failed: status ...", for the completion cqe of sqe on queue qid. */
void host_print_status(const char *what, const struct nvme_sqe *sqe, uint16_t qid,
		       const struct nvme_cqe *cqe)
{
	char s[96];

	host_err("%s failed: %s", what, host_status_str(host_status(cqe), sqe, qid, s, sizeof(s)));
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

/* Every subcommand takes them all; perf alone acts on --verify. */
const struct option host_longopts[] = {
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
		if (!v) {
			host_err("transport ID: '%s' is not key:value", tok);
			return -EINVAL;
		}
		*v++ = 0;
		if (!strcasecmp(tok, "ns")) {
			o->nsid = strtoul(v, NULL, 0);
			continue;
		}
		for (i = 0; i < ARRAY_SIZE(keys) && strcasecmp(tok, keys[i].key); i++)
			;
		if (i == ARRAY_SIZE(keys)) {
			host_err("transport ID: unknown key '%s' (trtype adrfam traddr trsvcid subnqn hostnqn ns)",
				 tok);
			return -EINVAL;
		}
		if (strlen(v) >= keys[i].len) {
			host_err("transport ID: %s '%s' is too long", tok, v);
			return -EINVAL;
		}
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
 * 0 if not, -EINVAL for a bad transport ID or secret. */
int host_opt_common(int ch, struct host_opts *o)
{
	switch (ch) {
	case 'r':
		return host_trid_parse(o, optarg) ? -EINVAL : 1;
	case 'v':
		host_verbose = true;
		g_log_level++;
		return 1;
	case HOST_OPT_HDGST:
		o->hdgst = true;
		return 1;
	case HOST_OPT_DDGST:
		o->ddgst = true;
		return 1;
	case HOST_OPT_TRACE:
		g_trace = true;
		return 1;
	case HOST_OPT_DHCHAP:		/* nvme-cli's names; a string or a file */
	case HOST_OPT_DHCHAP_CTRL:
		if (auth_secret_load(optarg, ch == HOST_OPT_DHCHAP ? o->dhchap : o->dhchap_ctrl,
				     sizeof(o->dhchap))) {
			host_err("cannot read secret file '%s': %s", optarg, strerror(errno));
			return -EINVAL;
		}
		return 1;
	}
	return 0;
}

/* Print usage; the exit status is 0 for -h, else 2. */
int host_usage(int ch, const char *text)
{
	fprintf(stderr, "usage: nvmf %s      [--hdgst] [--ddgst] [-v] [--trace]\n"
		"      [--dhchap-secret KEY [--dhchap-ctrl-secret KEY]]\n"
		"      -r takes a transport ID: trtype adrfam traddr trsvcid subnqn hostnqn\n"
		"      KEY is a DHHC-1 secret (nvme gen-dhchap-key) or a file holding one\n", text);
	return ch == 'h' ? 0 : 2;
}

/* Fill the defaults that depend on the subcommand, then check the
 * transport. Returns 0, or the exit status to leave with. */
int host_opts_finish(struct host_opts *o, const char *port, const char *subnqn)
{
	if (!o->trsvcid[0])	/* NVMe/RDMA discovery is on 4420 too (nvme-cli) */
		snprintf(o->trsvcid, sizeof(o->trsvcid), "%s",
			 strcasecmp(o->trtype, "RDMA") ? port : "4420");
	if (!o->subnqn[0])
		snprintf(o->subnqn, sizeof(o->subnqn), "%s", subnqn);
	host_identity(o);
	if (strcasecmp(o->trtype, "TCP") && strcasecmp(o->trtype, "RDMA")) {
		host_err("trtype '%s': we know TCP and RDMA", o->trtype);
		return 2;
	}
	if (strcasecmp(o->adrfam, "IPv4") && strcasecmp(o->adrfam, "IPv6")) {
		host_err("adrfam '%s': IPv4 or IPv6", o->adrfam);
		return 2;
	}
	return 0;
}

/* ==================================================================== */
/* Connect: Fabrics Connect and authentication                        */
/* ==================================================================== */

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
		host_print_status("Authentication Send/Receive", sqe, 0, &cqe);
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
	if (!o->dhchap[0]) {
		host_err("qid %u: the target requires authentication: give --dhchap-secret",
			 q->qid);
		return -EACCES;
	}
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
int host_fabrics_connect(struct host_queue *q, const struct host_opts *o, uint16_t sqsize,
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
		host_print_status("Connect", &u.sqe, q->qid, &cqe);
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
		host_print_status(set ? "Property Set" : "Property Get", &u.sqe, 0, &cqe);
	if (!rc && !set)
		*v = (uint64_t)le32toh(cqe.dw1) << 32 | le32toh(cqe.dw0);
	return rc;
}

/* ==================================================================== */
/* The controller: enable, identify, shut down                         */
/* ==================================================================== */

/* An admin command of the usual shape: opcode, NSID, CDW10-13. */
int host_admin(struct host_ctrl *c, uint8_t opc, uint32_t nsid, uint32_t cdw10,
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
		host_print_status(what, &sqe, 0, &cqe);
	return rc;
}

/* Poll CSTS until (CSTS & mask) == want, or timeout_ms pass. */
static int host_wait_csts(struct host_ctrl *c, uint32_t mask, uint32_t want, uint64_t timeout_ms,
			  const char *what)
{
	uint64_t end = host_now_ns() + timeout_ms * 1000000ull, csts;
	int rc;

	while ((rc = host_prop(c, false, NVME_REG_CSTS, false, &csts)) == 0) {
		if (csts & NVME_CSTS_CFS) {
			host_err("controller fatal status (CSTS.CFS) waiting for %s", what);
			return -EIO;
		}
		if ((csts & mask) == want)
			return 0;
		if (host_now_ns() >= end) {
			host_err("%s: CSTS 0x%" PRIx64 " after %" PRIu64 " ms", what, csts,
				 timeout_ms);
			return -ETIMEDOUT;
		}
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
int host_ctrl_connect(struct host_ctrl *c, const struct host_opts *o, uint32_t kato_ms,
		      bool discovery)
{
	int rc;

	memset(c, 0, sizeof(*c));
	c->o = o;
	c->kato_ms = kato_ms;
	c->cntlid = NVMF_CNTLID_DYNAMIC;
	c->aq = host_queue_alloc(0, HOST_ADMIN_SLOTS, HOST_ADMIN_MAX_DATA);
	if (!c->aq) {
		host_err("out of memory");
		return -ENOMEM;
	}
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
void host_ctrl_shutdown(struct host_ctrl *c, bool polite)
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
	/* An inactive NSID reads as zeroes [BASE-2.0c §5.17.2.1]. */
	if (nsze == 0) {
		printf("  not active\n");
		return -ENODEV;
	}
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

