/*
 * auth_live_test.c - DH-HMAC-CHAP's DH work does not stall the reactor.
 * Against the real ./nvmf over NVMe/TCP, with proto_test.c's raw client
 * and target (its main renamed away; LOCKED_NQN has AUTH_HOSTNQN with a
 * secret, every DH group allowed, one reactor for all connections).
 *
 *   connection A (open subsystem)     connection B (AUTH_HOSTNQN, ffdhe8192)
 *                                     Send Negotiate  --> key pair: worker
 *   read, read, read, ... counted     ...
 *   until B's answer is there  <----  Negotiate answered
 *                                     Recv Challenge (1024-byte g^x)
 *                                     Send Reply, g^y = 2 --> g^xy: worker
 *   read, read, read, ... counted     ...
 *   until B's answer is there  <----  Reply answered; Recv: Failure1 (R1
 *                                     was zeros: the key was derived, R1
 *                                     is wrong, as it should be)
 *
 * Had the reactor made the key itself, no read sent after the Negotiate
 * could come back before the Negotiate's answer, except one already in
 * the reactor's hands when it started: so each check asks for at least
 * two. The numbers are printed, never judged as times.
 *
 * Then the cases where the queue goes away under the job: hosts that
 * close while their key pair or session key is being made, and the
 * target stopped (SIGTERM) while some are: A's reads still work in
 * between, and the target must exit 0, which under make asan also means
 * no use-after-free and no leak.
 */
#include <poll.h>

#define main proto_test_main	/* borrow the client and the target */
#include "proto_test.c"
#undef main

#define FFDHE8192	5

/* An admin queue of AUTH_HOSTNQN on LOCKED_NQN whose Connect asked for
 * authentication (AUTHREQ.ATR). 0 on success. */
static int auth_q_up(struct cl *b)
{
	uint32_t dw0 = 0;

	if (cl_open(b, g_port) || cl_icreq(b, 0, 0) ||
	    cl_connect(b, 0, 31, LOCKED_NQN, AUTH_HOSTNQN, 0xffff, 0, &dw0))
		return -1;
	return dw0 & NVMF_CONNECT_AUTHREQ_ATR ? 0 : -1;
}

/* Authentication Send of msg (in the capsule) or Receive of up to al
 * bytes, without waiting. Returns the CID, 0 if the send failed. */
static uint16_t auth_cmd(struct cl *b, bool send, const void *msg, uint32_t len)
{
	struct nvmf_auth_cmd c = { .opcode = NVME_FABRICS_OPCODE, .secp = NVMF_AUTH_SECP,
				   .spsp0 = 1, .spsp1 = 1 };

	c.fctype = send ? NVMF_FCTYPE_AUTH_SEND : NVMF_FCTYPE_AUTH_RECV;
	c.tl = htole32(len);
	if (send)
		sgl_icd((struct nvme_sqe *)(void *)&c, len);
	else
		sgl_xport((struct nvme_sqe *)(void *)&c, len);
	if (cl_send_cmd(b, (struct nvme_sqe *)(void *)&c, send ? msg : NULL, send ? len : 0))
		return 0;
	return le16toh(c.cid);
}

/* Negotiate: SHA-256, ffdhe8192 only, transaction tid. */
static struct nvmf_auth_negotiate auth_negotiate_msg(uint16_t tid)
{
	struct nvmf_auth_negotiate n = { .napd = 1, .authid = 1, .halen = 1, .dhlen = 1 };

	n.h.t_id = htole16(tid);
	n.idlist[0] = NVMF_AUTH_SHA256;
	n.idlist[30] = FFDHE8192;
	return n;
}

/* Is there something to read on b's socket now? */
static bool cl_ready(struct cl *b)
{
	struct pollfd p = { .fd = b->fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

/* While B's command cid waits, read one block at a time on A; returns
 * how many reads came back before B's answer was there, and B's status
 * in *st. At most 100000 reads, so a target that never answers B ends. */
static unsigned reads_while(struct cl *a, struct cl *b, uint16_t cid, uint32_t *st, uint8_t *data)
{
	struct nvme_cqe cqe;
	uint8_t blk[512];
	unsigned n = 0;

	*st = 0xffff;
	while (n < 100000 && !cl_ready(b)) {
		if (cl_rw(a, NVME_CMD_READ, 0, 1, blk, false))
			return n;
		n++;
	}
	*st = cl_wait(b, cid, &cqe, data, NULL);
	return n;
}

/* The transaction on B with A's reads counted during each DH step. */
static void test_reads_flow(struct cl *a)
{
	static uint8_t data[4096];
	struct nvmf_auth_negotiate n = auth_negotiate_msg(7);
	uint8_t msg[sizeof(struct nvmf_auth_reply) + 2 * 32 + 1024] = { 0 };
	struct nvmf_auth_reply *r = (void *)msg;
	struct cl b;
	unsigned got;
	uint32_t st;

	CHECK(auth_q_up(&b) == 0, "B: Connect of a host with a secret asks for authentication");
	got = reads_while(a, &b, auth_cmd(&b, true, &n, sizeof(n)), &st, data);
	printf("# %u reads on A while B's ffdhe8192 key pair was made\n", got);
	CHECK(st == 0 && got >= 2, "A's reads come back while B's Negotiate waits for its key pair");
	memset(data, 0, sizeof(data));
	st = cl_wait(&b, auth_cmd(&b, false, NULL, 4096), &(struct nvme_cqe){ 0 }, data, NULL);
	CHECK(st == 0 && data[1] == NVMF_AUTH_CHALLENGE && data[9] == FFDHE8192 &&
	      (data[10] | data[11] << 8) == 1024, "B: the Challenge carries the 1024-byte g^x");
	r->h.auth_type = NVMF_AUTH_DHCHAP;
	r->h.auth_id = NVMF_AUTH_REPLY;
	r->h.t_id = htole16(7);
	r->hl = 32;
	r->dhvlen = htole16(1024);
	msg[sizeof(msg) - 1] = 2;		/* g^y = 2, the group's generator */
	got = reads_while(a, &b, auth_cmd(&b, true, msg, sizeof(msg)), &st, data);
	printf("# %u reads on A while B's ffdhe8192 session key was derived\n", got);
	CHECK(st == 0 && got >= 2, "A's reads come back while B's Reply waits for its session key");
	memset(data, 0, sizeof(data));
	st = cl_wait(&b, auth_cmd(&b, false, NULL, 64), &(struct nvme_cqe){ 0 }, data, NULL);
	CHECK(st == 0 && data[1] == NVMF_AUTH_FAILURE1 && data[7] == NVMF_AUTH_FAIL_FAILED,
	      "B: R1 of zeros -> Failure1 01h (the key was derived, then R1 checked)");
	cl_close(&b);
}

/* Hosts that go while their DH work runs: after the Negotiate (key pair)
 * and after the Reply (session key). A must still be served. */
static void test_close_pending(struct cl *a)
{
	static uint8_t data[4096];
	struct nvmf_auth_negotiate n = auth_negotiate_msg(9);
	uint8_t msg[sizeof(struct nvmf_auth_reply) + 2 * 32 + 1024] = { 0 };
	struct nvmf_auth_reply *r = (void *)msg;
	uint8_t blk[512];
	bool ok = true;

	for (int i = 0; i < 4; i++) {
		struct cl b;

		ok &= auth_q_up(&b) == 0 && auth_cmd(&b, true, &n, sizeof(n)) != 0;
		cl_close(&b);			/* the key pair is being made */
	}
	CHECK(ok && cl_rw(a, NVME_CMD_READ, 0, 1, blk, false) == 0,
	      "4 hosts close while their key pair is made; A still reads");
	r->h.auth_type = NVMF_AUTH_DHCHAP;
	r->h.auth_id = NVMF_AUTH_REPLY;
	r->h.t_id = htole16(9);
	r->hl = 32;
	r->dhvlen = htole16(1024);
	msg[sizeof(msg) - 1] = 2;
	ok = true;
	for (int i = 0; i < 4; i++) {
		struct cl b;
		uint16_t cid;

		ok &= auth_q_up(&b) == 0 && (cid = auth_cmd(&b, true, &n, sizeof(n))) != 0 &&
		      cl_wait(&b, cid, &(struct nvme_cqe){ 0 }, data, NULL) == 0 &&
		      cl_wait(&b, auth_cmd(&b, false, NULL, 4096), &(struct nvme_cqe){ 0 }, data,
			      NULL) == 0 &&
		      auth_cmd(&b, true, msg, sizeof(msg)) != 0;
		cl_close(&b);			/* the session key is being made */
	}
	CHECK(ok && cl_rw(a, NVME_CMD_READ, 0, 1, blk, false) == 0,
	      "4 hosts close while their session key is made; A still reads");
}

int main(void)
{
	struct cl adm, a, b;
	struct nvmf_auth_negotiate n = auth_negotiate_msg(11);
	uint16_t cntlid;

	system("mkdir -p tests/out");
	target_start();
	CHECK(cl_admin_up(&adm, g_port, SUBNQN, &cntlid) == 0 &&
	      cl_io_up(&a, g_port, cntlid, 31, 0, 0) == 0, "A: admin and I/O queue, no secret");
	test_reads_flow(&a);
	test_close_pending(&a);
	/* One left waiting for its key pair when the target is told to stop. */
	CHECK(auth_q_up(&b) == 0 && auth_cmd(&b, true, &n, sizeof(n)) != 0,
	      "B: a Negotiate is waiting for its key pair");
	target_stop();				/* checks exit status 0 */
	cl_close(&b);
	cl_close(&a);
	cl_close(&adm);
	return test_done("auth_live_test");
}
