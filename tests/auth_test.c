/*
 * auth_test.c - unit tests of auth.c: DH-HMAC-CHAP, the target's side
 * driven by the host's side through a loopback, in one process.
 *
 *   auth_host_run (host side) --exec--> loop_exec --> auth_send / auth_recv
 *                                                      (target side, a queue)
 *
 * Then every failure path, with raw messages where the host side would
 * never send them, and the exact answer: the command's status and field
 * offset, or the Failure1 reason explanation the host reads next.
 * The secrets are nvme-cli's (nvme gen-dhchap-key), so the CRC check is
 * checked against the real tool. Interop with the Linux host and nvmet is
 * tests/vm/test-auth.sh's.
 */
#include <poll.h>
#include <sys/eventfd.h>

#include "../auth.c"
#include "test.h"

#define HOST	"nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555"
#define SUBSYS	"nqn.2026-11.io.nvmf:cnode1"
/* Secrets as `nvme gen-dhchap-key` prints them: DHHC-1:<transform>:, then
 * base64 of the secret and its CRC-32. 00 is used as is, 01-03 are first
 * transformed with SHA-256/384/512 and the host NQN [BASE-2.0c §8.13].
 * BAD01 and BAD03 are valid secrets that are not the ones configured. */
#define KEY00	"DHHC-1:00:wqjgEIqlcoIv0ymI0jjNVHvvB7LvFOoy8+vSZ2LdrYcAfcNu:"
#define KEY01	"DHHC-1:01:X7fWDXYKkGsEDDpbZ4IEfXNRzUWs5IHufbT8wdN6qp6sXokS:"
#define KEY02	"DHHC-1:02:sauM/mvHgYpI71i+PdTRr8acHq+2+Xs/ESxkWJ7EFt92tqMrMY6pNR34Bkczigv69u0nOQ==:"
#define KEY03	"DHHC-1:03:g4qwIACIMxYkppsKJJ61yYafQzvvNMlQNo/QcLhpq+4VKI4UO25LMt7JSHTdx1VKw6Mkhs8vruucAcEcS0JQk1mbsnw=:"
#define BAD01	"DHHC-1:01:UwMsFJt9byNRulABQx86VyJYFNIlKs4bA/GIaQfqxD7NYsTk:"
#define BAD03	"DHHC-1:03:Qkcz0L1SiSmSevh4o/DPLSBkTfyhC55P3eokFUcaAcgFM/Ru1TViJlazx7iFhciHJdpRVjmy5oijX48DVJKbRLl0UGM=:"

/* ==================================================================== */
/* A target queue and the loopback to it                               */
/* ==================================================================== */

/* One admin queue plays the target's side; its auth state is what the
 * checks read (authenticated, the chosen hash and group, the step). */
static struct nvmf_queue g_q;
static uint16_t g_status, g_loc;		/* the last command's answer */
static uint8_t g_last[AUTH_MSG_MAX];		/* the last message received */

/* g_q's reactor: its wake eventfd is what the DH worker writes when a
 * job is done, and g_late what nvmf_req_done (stubbed below) got. */
static struct nvmf_reactor g_reactor;
static int g_late = -1;
static unsigned g_nr_late;			/* Sends answered late, in all */

/* nvmf.c's, as auth_job_finish calls it: note the status. */
void nvmf_req_done(struct nvmf_req *r, uint16_t status)
{
	(void)r;
	g_late = status;
}

/* A Send that waits for DH work: wait on the eventfd as a reactor
 * would, then let auth.c finish it. The status it completed with. */
static uint16_t wait_late(void)
{
	struct pollfd p = { .fd = g_reactor.wake.fd, .events = POLLIN };
	uint64_t v;

	g_late = -1;
	g_nr_late++;
	while (g_late < 0) {
		if (poll(&p, 1, 5000) == 1 && read(p.fd, &v, sizeof(v)) < 0)
			break;
		auth_reactor_poll(&g_reactor);
	}
	return g_late < 0 ? 0xffff : (uint16_t)g_late;
}

/* Run one Authentication Send/Receive on g_q as nvmf.c would. */
static int loop_exec(void *arg, const struct nvme_sqe *sqe, void *buf, uint32_t len)
{
	static uint8_t data[4096];
	struct nvmf_req r = { .q = &g_q, .sqe = *sqe, .data = data, .data_len = len };
	bool send = ((const struct nvmf_fabrics_cmd *)sqe)->fctype == NVMF_FCTYPE_AUTH_SEND;

	(void)arg;
	g_loc = 0;
	memset(data, 0xee, sizeof(data));
	if (send)
		memcpy(data, buf, len);
	g_status = send ? auth_send(&r, &g_loc) : auth_recv(&r, &g_loc);
	if (g_status == AUTH_ANSWER_LATER)
		g_status = wait_late();
	if (!send && !g_status) {
		memcpy(buf, data, r.xfer_len);
		memcpy(g_last, data, r.xfer_len < sizeof(g_last) ? r.xfer_len : sizeof(g_last));
	}
	return g_status ? -EIO : 0;
}

/* A fresh admin queue of HOST connected to SUBSYS: true if ATR is set. */
static bool connect_q(void)
{
	auth_queue_free(&g_q);
	memset(&g_q, 0, sizeof(g_q));
	g_q.reactor = &g_reactor;
	return auth_connect(&g_q, SUBSYS, HOST);
}

/* The whole host side (auth.c's own, as `nvmf identify --dhchap-secret`
 * runs it) against g_q. ckey asks the target to prove itself too. Returns
 * 0, or -EACCES when either side refused. */
static int host_run(const char *key, const char *ckey)
{
	struct auth_host_io io = { .qid = 0, .hostnqn = HOST, .subnqn = SUBSYS, .secret = key,
				   .ctrl_secret = ckey, .exec = loop_exec };

	return auth_host_run(&io);
}

/* Send a raw message; returns the command status. */
static uint16_t raw_send(const void *msg, uint32_t len)
{
	struct nvmf_auth_cmd c = { .opcode = NVME_FABRICS_OPCODE, .fctype = NVMF_FCTYPE_AUTH_SEND,
				   .secp = NVMF_AUTH_SECP, .spsp0 = 1, .spsp1 = 1 };
	uint8_t buf[AUTH_MSG_MAX];

	c.tl = htole32(len);
	memcpy(buf, msg, len);
	loop_exec(NULL, (struct nvme_sqe *)(void *)&c, buf, len);
	return g_status;
}

/* Receive the target's next message into g_last; returns the status. */
static uint16_t raw_recv(uint32_t al)
{
	struct nvmf_auth_cmd c = { .opcode = NVME_FABRICS_OPCODE, .fctype = NVMF_FCTYPE_AUTH_RECV,
				   .secp = NVMF_AUTH_SECP, .spsp0 = 1, .spsp1 = 1 };
	uint8_t buf[4096];

	c.tl = htole32(al);
	memset(g_last, 0, sizeof(g_last));
	loop_exec(NULL, (struct nvme_sqe *)(void *)&c, buf, al);
	return g_status;
}

/* A Negotiate offering hash h and group g (0xff: none), transaction tid. */
static struct nvmf_auth_negotiate negotiate(uint8_t h, uint8_t g, uint16_t tid)
{
	struct nvmf_auth_negotiate n = { .h.auth_type = 0, .h.auth_id = 0, .napd = 1, .authid = 1 };

	n.h.t_id = htole16(tid);
	n.halen = 1;
	n.idlist[0] = h;
	n.dhlen = g == 0xff ? 0 : 1;
	n.idlist[30] = g;
	return n;
}

/* After a refused message: the next Receive is AUTH_Failure1 with exp. */
static bool failure1_says(uint8_t exp)
{
	if (raw_recv(64))
		return false;
	if (g_last[0] != NVMF_AUTH_COMMON || g_last[1] != NVMF_AUTH_FAILURE1 || g_last[6] != 1 ||
	    g_last[7] != exp) {
		printf("    got type %u id 0x%x rescode %u exp %u, want Failure1 exp %u\n", g_last[0],
		       g_last[1], g_last[6], g_last[7], exp);
		return false;
	}
	return !g_q.authenticated;
}

/* ==================================================================== */
/* 1. Secrets                                                          */
/* ==================================================================== */

/*
 * Secrets are checked when they are configured, not at the first Connect:
 * a mistyped character fails the CRC-32 and the message says so, an
 * unknown transform or a secret of the wrong size is refused. The
 * transform must change the key, or the host NQN would not be bound in.
 */
static void test_keys(void)
{
	struct auth_key k, t;
	char err[128], bad[128];

	CHECK(auth_key_parse(KEY00, &k, err, sizeof(err)) == 0 && k.len == 32 && k.hash == 0,
	      "DHHC-1:00: 32-byte secret, no transform");
	CHECK(auth_key_parse(KEY02, &k, err, sizeof(err)) == 0 && k.len == 48 && k.hash == 2,
	      "DHHC-1:02: 48-byte secret, SHA-384 transform");
	CHECK(auth_key_parse(KEY03, &k, err, sizeof(err)) == 0 && k.len == 64 && k.hash == 3,
	      "DHHC-1:03: 64-byte secret, SHA-512 transform");
	CHECK(auth_key_transform(&k, HOST, &t) == 0 && t.len == 64 && memcmp(t.key, k.key, 64),
	      "the transform gives another 64-byte key");
	snprintf(bad, sizeof(bad), "%s", KEY01);
	bad[12] = bad[12] == 'A' ? 'B' : 'A';		/* one key byte changed */
	CHECK(auth_key_parse(bad, &k, err, sizeof(err)) == -EINVAL && strstr(err, "CRC"),
	      "a changed character fails the CRC-32: %s", err);
	CHECK(auth_key_parse("DHHC-1:04:X7fWDXYKkGsEDDpbZ4IEfXNRzUWs5IHufbT8wdN6qp6sXokS:", &k, err,
			     sizeof(err)) == -EINVAL, "transform 04 refused: %s", err);
	CHECK(auth_key_parse("DHHC-1:01:X7fWDXYKkGsEDDpbZ4IEfXNRzUWs5IHufbT8wdN6qp6sXokS", &k, err,
			     sizeof(err)) == -EINVAL, "no closing ':' refused: %s", err);
	CHECK(auth_key_parse("DHHC-1:00:AAAAAAAAAAAAAAAAAAAAAAAA:", &k, err, sizeof(err)) == -EINVAL &&
	      strstr(err, "bytes"), "a 14-byte secret refused: %s", err);
	CHECK(auth_key_parse("secret", &k, err, sizeof(err)) == -EINVAL, "not DHHC-1 refused: %s", err);
	CHECK(auth_host_set(NULL, HOST, KEY01, "DHHC-1:01:bad:", err, sizeof(err)) == -EINVAL,
	      "a bad controller secret refuses the host entry: %s", err);
	CHECK(auth_set_digests("sha256,md5") == -EINVAL && auth_set_dhgroups("ffdhe1024") == -EINVAL,
	      "unknown hash and group names refused");
}

/* ==================================================================== */
/* 2. Whole transactions                                               */
/* ==================================================================== */

/* The ID of one hash or group name, through auth.c's list parser. */
static uint8_t auth_hash_id(const char *name)
{
	uint32_t m = 0;

	auth_parse_list(name, auth_hash_names, ARRAY_SIZE(auth_hash_names), &m);
	return (uint8_t)(__builtin_ffs((int)m) - 1);
}

static uint8_t auth_dh_id(const char *name)
{
	uint32_t m = 0;

	auth_parse_list(name, auth_dh_names, ARRAY_SIZE(auth_dh_names), &m);
	return (uint8_t)(__builtin_ffs((int)m) - 1);
}

/* Allow only hash h and group g, connect, run the host; 0 on success. */
static int run_with(const char *hash, const char *group, const char *key, const char *ckey)
{
	auth_set_digests(hash);
	auth_set_dhgroups(group);
	if (!connect_q())
		return -ENOKEY;
	return host_run(key, ckey);
}

/*
 * Every hash with a spread of groups, one way and both ways: the
 * transaction must succeed and the queue must record the hash and group
 * the host allowed, since the Challenge tells the host which were chosen
 * and both sides' keys depend on them. The groups are the RFC 7919 ffdhe primes; null is plain
 * CHAP with no Diffie-Hellman. A failed re-authentication must leave the
 * queue unusable: a host that can no longer prove itself is not trusted.
 */
static void test_good(void)
{
	static const struct { const char *hash, *group, *key; bool bidir; } cases[] = {
		{ "sha256", "null", KEY01, false },
		{ "sha256", "null", KEY00, true },
		{ "sha384", "ffdhe2048", KEY02, true },
		{ "sha512", "ffdhe3072", KEY03, false },
		{ "sha512", "ffdhe4096", KEY01, true },
		{ "sha256", "ffdhe6144", KEY01, true },
		{ "sha384", "ffdhe8192", KEY01, true },
	};
	char err[128];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		CHECK(auth_host_set(NULL, HOST, cases[i].key, BAD03, err, sizeof(err)) == 0, "secret set");
		CHECK(run_with(cases[i].hash, cases[i].group, cases[i].key, cases[i].bidir ? BAD03 : NULL) == 0 &&
		      g_q.authenticated && g_q.auth->hashid == auth_hash_id(cases[i].hash) &&
		      g_q.auth->dhgid == auth_dh_id(cases[i].group),
		      "%s + %s, %.9s secret, %s", cases[i].hash, cases[i].group, cases[i].key,
		      cases[i].bidir ? "both ways" : "one way");
	}
	/* Re-authentication: the same queue, a new transaction. */
	CHECK(host_run(KEY01, BAD03) == 0 && g_q.authenticated, "re-authentication on a live queue");
	CHECK(host_run(BAD01, NULL) == -EACCES && !g_q.authenticated,
	      "a failed re-authentication leaves the queue unusable");
	/* Strongest first when everything is allowed. */
	auth_set_digests("sha256,sha384,sha512");
	auth_set_dhgroups("null,ffdhe2048,ffdhe3072");
	connect_q();
	CHECK(host_run(KEY01, NULL) == 0 && g_q.auth->hashid == NVMF_AUTH_SHA512 &&
	      g_q.auth->dhgid == 2, "with all allowed: SHA-512 and the largest allowed group");
}

/* ==================================================================== */
/* 3. Failure paths, exact answers                                     */
/* ==================================================================== */

/*
 * Every way a transaction can fail ends in AUTH_Failure1 with the reason
 * the host reads next (its explanation code), and the queue stays
 * unauthenticated. Raw messages reach what auth_host_run never sends:
 * hashes and groups outside the allowed lists, secure channel
 * concatenation, two protocol descriptors, an oversized HALEN, messages
 * out of order or with another transaction ID [BASE-2.0c §8.13].
 */
static void test_refusals(void)
{
	char err[128];

	auth_set_digests("sha256");
	auth_set_dhgroups("null,ffdhe2048");
	auth_host_set(NULL, HOST, KEY01, BAD03, err, sizeof(err));
	connect_q();
	CHECK(host_run(BAD01, NULL) == -EACCES && !g_q.authenticated &&
	      g_last[1] == NVMF_AUTH_FAILURE1 && g_last[7] == NVMF_AUTH_FAIL_FAILED,
	      "wrong host secret -> AUTH_Failure1, authentication failed (01h)");
	connect_q();
	CHECK(host_run(KEY01, KEY03) == -EACCES && !g_q.authenticated && g_q.auth->step == AUTH_NEGOTIATE,
	      "wrong controller secret -> the host sends Failure2, the queue stays unusable");
	auth_host_set(NULL, HOST, KEY01, NULL, err, sizeof(err));
	connect_q();
	CHECK(host_run(KEY01, KEY03) == -EACCES && g_last[7] == NVMF_AUTH_FAIL_FAILED,
	      "host asks for both ways, target has no controller secret -> Failure1 01h");

	struct nvmf_auth_negotiate n = negotiate(NVMF_AUTH_SHA512, 0, 7);
	connect_q();
	CHECK(raw_send(&n, sizeof(n)) == 0 && failure1_says(NVMF_AUTH_FAIL_HASH_UNUSABLE),
	      "only a hash we do not allow -> Failure1 hash function not usable (04h)");
	n = negotiate(NVMF_AUTH_SHA256, 3, 7);
	CHECK(raw_send(&n, sizeof(n)) == 0 && failure1_says(NVMF_AUTH_FAIL_DHGROUP_UNUSABLE),
	      "only a group we do not allow -> Failure1 DH group not usable (05h)");
	n = negotiate(NVMF_AUTH_SHA256, 0xff, 7);
	CHECK(raw_send(&n, sizeof(n)) == 0 && failure1_says(NVMF_AUTH_FAIL_DHGROUP_UNUSABLE),
	      "no group at all (DHLEN 0) -> Failure1 05h");
	n = negotiate(NVMF_AUTH_SHA256, 0, 7);
	n.sc_c = 1;
	CHECK(raw_send(&n, sizeof(n)) == 0 && failure1_says(NVMF_AUTH_FAIL_CONCAT_MISMATCH),
	      "secure channel concatenation asked -> Failure1 03h");
	n = negotiate(NVMF_AUTH_SHA256, 0, 7);
	n.napd = 2;
	CHECK(raw_send(&n, sizeof(n)) == 0 && failure1_says(NVMF_AUTH_FAIL_NOT_USABLE),
	      "two protocol descriptors -> Failure1 protocol not usable (02h)");
	n = negotiate(NVMF_AUTH_SHA256, 0, 7);
	n.halen = 31;
	CHECK(raw_send(&n, sizeof(n)) == 0 && failure1_says(NVMF_AUTH_FAIL_INCORRECT_PAYLOAD),
	      "HALEN 31 (over 30) -> Failure1 incorrect payload (07h)");
	CHECK(raw_send(&n, 40) == 0 && failure1_says(NVMF_AUTH_FAIL_INCORRECT_PAYLOAD),
	      "a Negotiate cut short -> Failure1 07h");

	/* Out of order and the wrong transaction. */
	struct nvmf_auth_reply r = { .h.auth_type = 1, .h.auth_id = NVMF_AUTH_REPLY, .hl = 32 };
	uint8_t rbuf[sizeof(r) + 64] = { 0 };
	r.h.t_id = htole16(7);
	memcpy(rbuf, &r, sizeof(r));
	n = negotiate(NVMF_AUTH_SHA256, 0, 7);
	CHECK(raw_send(&n, sizeof(n)) == 0 && raw_send(rbuf, sizeof(rbuf)) == 0 &&
	      failure1_says(NVMF_AUTH_FAIL_INCORRECT_MESSAGE),
	      "Reply before the Challenge was read -> Failure1 incorrect message (06h)");
	CHECK(raw_send(&n, sizeof(n)) == 0 && raw_recv(4096) == 0 && g_last[1] == NVMF_AUTH_CHALLENGE,
	      "Negotiate again, Challenge read");
	((struct nvmf_auth_reply *)rbuf)->h.t_id = htole16(8);
	CHECK(raw_send(rbuf, sizeof(rbuf)) == 0 && failure1_says(NVMF_AUTH_FAIL_INCORRECT_PAYLOAD),
	      "Reply with another T_ID -> Failure1 07h");
	raw_send(&n, sizeof(n));
	raw_recv(4096);
	((struct nvmf_auth_reply *)rbuf)->h.t_id = htole16(7);
	CHECK(raw_send(rbuf, sizeof(r) + 32) == 0 && failure1_says(NVMF_AUTH_FAIL_INCORRECT_PAYLOAD),
	      "Reply shorter than 2 x HL -> Failure1 07h");
	raw_send(&n, sizeof(n));
	raw_recv(4096);
	CHECK(raw_send(rbuf, sizeof(rbuf)) == 0 && failure1_says(NVMF_AUTH_FAIL_FAILED),
	      "Reply with a zero response -> Failure1 01h");
	struct nvmf_auth_success2 s2 = { .h.auth_type = 1, .h.auth_id = NVMF_AUTH_SUCCESS2 };
	s2.h.t_id = htole16(7);
	raw_send(&n, sizeof(n));
	CHECK(raw_send(&s2, sizeof(s2)) == 0 && failure1_says(NVMF_AUTH_FAIL_INCORRECT_MESSAGE) &&
	      !g_q.authenticated, "Success2 out of turn -> Failure1 06h, not authenticated");
	CHECK(raw_send("\x07\x00\x00\x00\x07\x00", 6) == 0 && failure1_says(NVMF_AUTH_FAIL_INCORRECT_MESSAGE),
	      "unknown AUTH_Type 07h -> Failure1 06h");
}

/* A DH public value the group forbids (1, or p-1's neighbour 0): a host
 * that sends g^y = 1 would make the shared secret 1, known to anyone
 * listening, so such values must be refused, not computed with. A DHVLEN
 * that is not the group's size is a malformed message. */
static void test_bad_dh(void)
{
	uint8_t buf[sizeof(struct nvmf_auth_reply) + 64 + 256] = { 0 };
	struct nvmf_auth_reply *r = (void *)buf;
	struct nvmf_auth_negotiate n = negotiate(NVMF_AUTH_SHA256, 1, 9);

	auth_set_dhgroups("ffdhe2048");
	connect_q();
	raw_send(&n, sizeof(n));
	CHECK(raw_recv(4096) == 0 && g_last[9] == 1 && (g_last[10] | g_last[11] << 8) == 256,
	      "ffdhe2048 Challenge carries 256 bytes of g^x");
	r->h.auth_type = 1;
	r->h.auth_id = NVMF_AUTH_REPLY;
	r->h.t_id = htole16(9);
	r->hl = 32;
	r->dhvlen = htole16(256);
	buf[sizeof(buf) - 1] = 1;			/* g^y = 1 */
	CHECK(raw_send(buf, sizeof(buf)) == 0 && failure1_says(NVMF_AUTH_FAIL_DHGROUP_UNUSABLE),
	      "g^y = 1 (a small-subgroup value) -> Failure1 05h");
	raw_send(&n, sizeof(n));
	raw_recv(4096);
	r->dhvlen = htole16(128);
	CHECK(raw_send(buf, sizeof(buf) - 128) == 0 && failure1_says(NVMF_AUTH_FAIL_INCORRECT_PAYLOAD),
	      "DHVLEN 128 for ffdhe2048 -> Failure1 07h");
}

/*
 * The DH work goes to the worker thread and the Send waits for it: with
 * a group, Negotiate and Reply are answered late; the null group never
 * is. While a Send waits, the queue's other Authentication commands are
 * out of turn. A queue freed while its job runs gets the Send back with
 * Abort SQ Deleted, and nothing leaks (make asan).
 */
static void test_worker(void)
{
	struct nvmf_auth_negotiate n = negotiate(NVMF_AUTH_SHA256, 5, 3);
	struct nvmf_auth_cmd c = { .opcode = NVME_FABRICS_OPCODE, .fctype = NVMF_FCTYPE_AUTH_SEND,
				   .secp = NVMF_AUTH_SECP, .spsp0 = 1, .spsp1 = 1 };
	static uint8_t data[4096];
	struct nvmf_req r = { .q = &g_q, .data = data, .data_len = sizeof(n) };
	unsigned late;
	uint16_t loc;

	auth_set_dhgroups("null");
	connect_q();
	late = g_nr_late;
	CHECK(host_run(KEY01, NULL) == 0 && g_nr_late == late, "null group: no Send waits for the worker");
	auth_set_dhgroups("ffdhe2048");
	CHECK(host_run(KEY01, NULL) == 0 && g_nr_late == late + 2,
	      "ffdhe2048: Negotiate and Reply are answered when the worker is done");
	auth_set_dhgroups("ffdhe8192");
	connect_q();
	c.tl = htole32(sizeof(n));
	r.sqe = *(struct nvme_sqe *)(void *)&c;
	memcpy(data, &n, sizeof(n));
	CHECK(auth_send(&r, &loc) == AUTH_ANSWER_LATER && g_q.auth->job, "ffdhe8192 Negotiate waits");
	CHECK(raw_send(&n, sizeof(n)) == (NVME_SC_CMD_SEQ_ERROR | NVME_STATUS_DNR) &&
	      raw_recv(4096) == (NVME_SC_CMD_SEQ_ERROR | NVME_STATUS_DNR),
	      "meanwhile another Send or a Receive: Command Sequence Error");
	CHECK(wait_late() == 0 && raw_recv(4096) == 0 && g_last[1] == NVMF_AUTH_CHALLENGE &&
	      g_last[9] == 5 && (g_last[10] | g_last[11] << 8) == 1024,
	      "then the Send completes and the Challenge carries 1024 bytes of g^x");
	CHECK(auth_send(&r, &loc) == AUTH_ANSWER_LATER, "a new Negotiate waits again");
	auth_queue_free(&g_q);			/* the queue closes under the job */
	CHECK(wait_late() == NVME_SC_ABORT_SQ_DELETED, "queue freed meanwhile: Send ends Abort SQ Deleted");
}

/* The command fields [BASE-2.0c §6.1-6.2]: status and the field's offset. */
static void test_fields(void)
{
	struct nvmf_auth_cmd c = { .opcode = NVME_FABRICS_OPCODE, .fctype = NVMF_FCTYPE_AUTH_SEND,
				   .secp = NVMF_AUTH_SECP, .spsp0 = 1, .spsp1 = 1 };
	struct nvmf_auth_negotiate n = negotiate(NVMF_AUTH_SHA256, 0, 1);
	static const struct { size_t off; uint8_t val; const char *what; } f[] = {
		{ offsetof(struct nvmf_auth_cmd, secp), 0xea, "SECP EAh" },
		{ offsetof(struct nvmf_auth_cmd, spsp0), 2, "SPSP0 02h" },
		{ offsetof(struct nvmf_auth_cmd, spsp1), 0, "SPSP1 00h" },
	};

	auth_set_dhgroups("null");
	connect_q();
	for (size_t i = 0; i < ARRAY_SIZE(f); i++) {
		struct nvmf_auth_cmd b = c;

		((uint8_t *)&b)[f[i].off] = f[i].val;
		b.tl = htole32(sizeof(n));
		CHECK(loop_exec(NULL, (void *)&b, &n, sizeof(n)) == -EIO &&
		      g_status == (NVME_SC_INVALID_FIELD | NVME_STATUS_DNR) && g_loc == f[i].off,
		      "%s -> Invalid Field + DNR at byte %zu", f[i].what, f[i].off);
	}
	c.tl = 0;
	CHECK(loop_exec(NULL, (void *)&c, &n, sizeof(n)) == -EIO && g_loc == 44,
	      "TL 0 -> Invalid Field at byte 44");
	c.tl = htole32(sizeof(n) + 1);
	CHECK(loop_exec(NULL, (void *)&c, &n, sizeof(n)) == -EIO && g_loc == 44,
	      "TL above the data sent -> Invalid Field at byte 44");
	CHECK(raw_recv(4096) == (NVME_SC_CMD_SEQ_ERROR | NVME_STATUS_DNR),
	      "Receive before any Negotiate -> Command Sequence Error + DNR");
	raw_send(&n, sizeof(n));
	CHECK(raw_recv(40) == (NVME_SC_INVALID_FIELD | NVME_STATUS_DNR) && g_loc == 44,
	      "Receive with AL 40, below the 48-byte Challenge -> Invalid Field at byte 44");
	CHECK(failure1_says(NVMF_AUTH_FAIL_INCORRECT_PAYLOAD), "... then Failure1 07h");
	auth_queue_free(&g_q);
	memset(&g_q, 0, sizeof(g_q));	/* a host without a secret */
	CHECK(!auth_connect(&g_q, SUBSYS, "nqn.2014-08.org.nvmexpress:uuid:no-secret") &&
	      !g_q.auth_required, "a host without a secret: no AUTHREQ.ATR");
	CHECK(raw_send(&n, sizeof(n)) == (NVME_SC_CMD_SEQ_ERROR | NVME_STATUS_DNR),
	      "... and its Authentication Send -> Command Sequence Error + DNR");
}

int main(void)
{
	g_reactor.wake.fd = eventfd(0, EFD_NONBLOCK);
	test_keys();
	test_good();
	test_refusals();
	test_bad_dh();
	test_worker();
	test_fields();
	auth_queue_free(&g_q);
	auth_fini();
	return test_done("auth_test");
}
