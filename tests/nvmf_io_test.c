/*
 * nvmf_io_test.c - unit tests of the target core (nvmf.c, subsys.c,
 * admin.c) with a controller at work: features, keep-alive, asynchronous
 * events, Abort, the I/O commands, and the configuration changing under
 * connected hosts. nvmf_test.c has the bring-up (Connect to the discovery
 * log); both run on tests/nvmf_fake.c (the fake transport, the builders
 * of SQEs, the configuration).
 *
 * Commands are real SQEs built from nvme.h. Each CHECK is one rule, named
 * after it and its spec citation. The parts keep their numbers from the
 * whole list, nvmf_test.c holding 1 to 5:
 *
 *   part                                      spec
 *   --------------------------------------------------------------------
 *   6. Features                               [BASE-2.0c §5.27]
 *   7. Keep Alive                             [BASE-2.0c §3.9, §5.25]
 *   8. Asynchronous events                    [BASE-2.0c §5.2]
 *   9. Abort                                  [BASE-2.0c §5.1]
 *  10. I/O commands, SQHD                     [NVM-1.0c §3; BASE-2.0c §4.6]
 *  11. Live configuration: ports, namespaces, hosts, referrals (subsys.c)
 *
 * Build: make tests/nvmf_io_test. V=1 in the environment shows the
 * target's log lines as "# ..." comments.
 */
#include "nvmf_fake.c"

/* ==================================================================== */
/* 6. Features [BASE-2.0c §5.27]                                       */
/* ==================================================================== */

/*
 * Set/Get Features, one feature at a time [BASE-2.0c §5.27.1]: a value
 * that is accepted must read back (Get after Set), a value the target
 * cannot honour is refused with Invalid Field rather than silently
 * ignored, and SEL 3 tells the truth about what is changeable. Number of
 * Queues grants at most what Connect later accepts, so the two agree.
 */
static void test_features(void)
{
	struct nvmf_queue *a = ctrl_up(NQN_S1, HOSTA, 0), *d;
	struct nvme_sqe s;
	struct cpl *c;
	uint8_t hostid[16];

	c = set_feat(a, NVME_FEAT_ARBITRATION, 0x03020103);
	CHECK_EQ_U(st(c), 0, "Set Features Arbitration succeeds [BASE-2.0c §5.27.1.1]");
	CHECK_EQ_U(dw0(get_feat(a, NVME_FEAT_ARBITRATION, 0, 0)), 0x03020103,
		   "Get Features Arbitration returns the value set [BASE-2.0c §5.27.1.1]");
	c = set_feat(a, NVME_FEAT_POWER_MGMT, 1);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR,
		   "Set Features Power Management PS 1 (only PS 0 exists, NPSS 0) -> Invalid Field [BASE-2.0c §5.27.1.2]");
	c = set_feat(a, NVME_FEAT_POWER_MGMT, 0);
	CHECK_EQ_U(st(c), 0, "Set Features Power Management PS 0 succeeds [BASE-2.0c §5.27.1.2]");

	/* Temperature Threshold keeps two values (over and under, chosen by
	 * THSEL in CDW11 21:20); 157h is 343 K, the WCTEMP this target reports. */
	c = get_feat(a, NVME_FEAT_TEMP_THRESH, 0, 0);
	CHECK_EQ_U(dw0(c) & 0xffff, 0x157, "Temperature Threshold: the over threshold starts at WCTEMP [BASE-2.0c §5.27.1.3]");
	c = set_feat(a, NVME_FEAT_TEMP_THRESH, 0x160);
	CHECK(st(c) == 0 && (dw0(get_feat(a, NVME_FEAT_TEMP_THRESH, 0, 0)) & 0xffff) == 0x160,
	      "Temperature Threshold: set and get the over-temperature threshold [BASE-2.0c §5.27.1.3]");
	c = set_feat(a, NVME_FEAT_TEMP_THRESH, 0x100 | 1u << 20);
	CHECK(st(c) == 0 && (dw0(get_feat(a, NVME_FEAT_TEMP_THRESH, 0, 1u << 20)) & 0xffff) == 0x100 &&
	      (dw0(get_feat(a, NVME_FEAT_TEMP_THRESH, 0, 0)) & 0xffff) == 0x160,
	      "Temperature Threshold: THSEL 1 sets the under threshold apart from the over one [BASE-2.0c Fig. 321]");
	c = set_feat(a, NVME_FEAT_TEMP_THRESH, 0x100 | 1u << 16);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR,
		   "Temperature Threshold: TMPSEL 1 (no such sensor) -> Invalid Field [BASE-2.0c Fig. 321]");
	c = set_feat(a, NVME_FEAT_TEMP_THRESH, 0x100 | 2u << 20);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR, "Temperature Threshold: THSEL 2 (reserved) -> Invalid Field [BASE-2.0c Fig. 321]");

	c = set_feat(a, NVME_FEAT_ERR_RECOVERY, 1u << 16 | 10);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR,
		   "Error Recovery: DULBE without deallocated-block errors (NSFEAT bit 2 = 0) -> Invalid Field [BASE-2.0c §5.27.1.4]");
	c = set_feat(a, NVME_FEAT_ERR_RECOVERY, 10);
	CHECK(st(c) == 0 && dw0(get_feat(a, NVME_FEAT_ERR_RECOVERY, 0, 0)) == 10,
	      "Error Recovery: TLER set and read back [BASE-2.0c §5.27.1.4]");
	c = set_feat(a, NVME_FEAT_VOLATILE_WC, 1);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR,
		   "Volatile Write Cache: WCE 1 with no volatile cache (VWC 0) -> Invalid Field [BASE-2.0c §5.27.1.5]");
	CHECK_EQ_U(dw0(get_feat(a, NVME_FEAT_VOLATILE_WC, 0, 0)), 0, "Volatile Write Cache: WCE reads 0 [BASE-2.0c §5.27.1.5]");

	c = set_feat(a, NVME_FEAT_NUM_QUEUES, 0xffff);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR, "Number of Queues: NSQR FFFFh -> Invalid Field [BASE-2.0c §5.27.1.6]");
	c = set_feat(a, NVME_FEAT_NUM_QUEUES, 0xffffu << 16);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR, "Number of Queues: NCQR FFFFh -> Invalid Field [BASE-2.0c §5.27.1.6]");
	c = set_feat(a, NVME_FEAT_NUM_QUEUES, 3 | 3u << 16);
	CHECK(st(c) == 0 && dw0(c) == (3 | 3u << 16), "Number of Queues: 4 asked, DW0 says 4 SQs and 4 CQs granted [BASE-2.0c Fig. 323]");
	c = set_feat(a, NVME_FEAT_NUM_QUEUES, 999 | 999u << 16);
	CHECK_EQ_U(dw0(c), (NVMF_MAX_IO_QUEUES - 1) * 0x10001u,
		   "Number of Queues: 1000 asked, DW0 grants at most %u [BASE-2.0c Fig. 323]", NVMF_MAX_IO_QUEUES);
	CHECK_EQ_U(dw0(get_feat(a, NVME_FEAT_NUM_QUEUES, 0, 0)), (NVMF_MAX_IO_QUEUES - 1) * 0x10001u,
		   "Number of Queues: Get returns what was granted [BASE-2.0c §5.27.1.6]");

	c = set_feat(a, NVME_FEAT_WRITE_ATOMIC, 1);
	CHECK(st(c) == 0 && dw0(get_feat(a, NVME_FEAT_WRITE_ATOMIC, 0, 0)) == 1,
	      "Write Atomicity Normal: DN set and read back [BASE-2.0c §5.27.1.8]");
	c = set_feat(a, NVME_FEAT_ASYNC_EVENT, NVME_CTRL_OAES_NS_ATTR);
	CHECK(st(c) == 0 && dw0(get_feat(a, NVME_FEAT_ASYNC_EVENT, 0, 0)) == NVME_CTRL_OAES_NS_ATTR,
	      "Asynchronous Event Configuration: bit 8 set and read back [BASE-2.0c §5.27.1.9]");
	c = set_feat(a, NVME_FEAT_KATO, 15000);
	CHECK(st(c) == 0 && dw0(get_feat(a, NVME_FEAT_KATO, 0, 0)) == 15000,
	      "Keep Alive Timer: KATO set and read back in ms [BASE-2.0c §5.27.1.12]");
	set_feat(a, NVME_FEAT_KATO, 0);

	/* Host Identifier: the 128-bit form (EXHID = 1) returns the host ID from
	 * Connect; the 64-bit form is refused, and a Fabrics host may not set it
	 * after Connect, since Connect is where it is given [BASE-2.0c §5.27.1.25]. */
	host_id(HOSTA, hostid);
	s = sqe_new(NVME_ADM_GET_FEATURES, 0, NVME_FEAT_HOST_ID, 1);
	c = submit(a, &s, NULL, 16);
	CHECK(st(c) == 0 && c->xfer_len == 16 && !memcmp(g_out, hostid, 16),
	      "Host Identifier: Get with EXHID returns the 128-bit Host ID from Connect [BASE-2.0c §5.27.1.25]");
	s = sqe_new(NVME_ADM_GET_FEATURES, 0, NVME_FEAT_HOST_ID, 0);
	c = submit(a, &s, NULL, 16);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR,
		   "Host Identifier: Get without EXHID (64-bit) on fabrics -> Invalid Field [BASE-2.0c §5.27.1.25]");
	s = sqe_new(NVME_ADM_SET_FEATURES, 0, NVME_FEAT_HOST_ID, 1);
	c = submit(a, &s, hostid, 16);
	CHECK_EQ_U(st(c), NVME_SC_CMD_SEQ_ERROR | DNR,
		   "Host Identifier: Set on fabrics (set by Connect) -> Command Sequence Error [BASE-2.0c §5.27.1.25]");

	c = get_feat(a, NVME_FEAT_TEMP_THRESH, NVME_FEAT_SEL_DEFAULT, 0);
	CHECK_EQ_U(dw0(c) & 0xffff, 0x157, "Get Features SEL 1 returns the default (over threshold WCTEMP) [BASE-2.0c Fig. 311]");
	c = get_feat(a, NVME_FEAT_KATO, NVME_FEAT_SEL_SAVED, 0);
	CHECK_EQ_U(st(c), 0, "Get Features SEL 2 (saved = default when nothing is saveable) succeeds [BASE-2.0c Fig. 311]");
	c = get_feat(a, NVME_FEAT_ARBITRATION, NVME_FEAT_SEL_SUPPORTED, 0);
	CHECK_EQ_U(dw0(c), 4, "Get Features SEL 3: Arbitration changeable, not saveable [BASE-2.0c Fig. 312]");
	c = get_feat(a, NVME_FEAT_HOST_ID, NVME_FEAT_SEL_SUPPORTED, 0);
	CHECK_EQ_U(dw0(c), 0, "Get Features SEL 3: Host Identifier neither changeable nor saveable [BASE-2.0c Fig. 312]");
	c = get_feat(a, NVME_FEAT_KATO, 4, 0);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR, "Get Features SEL 4 (reserved) -> Invalid Field [BASE-2.0c Fig. 311]");
	s = sqe_new(NVME_ADM_SET_FEATURES, 0, NVME_FEAT_ARBITRATION | 1u << 31, 0);
	c = submit(a, &s, NULL, 0);
	CHECK_EQ_U(st(c), NVME_SC_FEAT_NOT_SAVEABLE | DNR, "Set Features with SV -> Feature Identifier Not Saveable [BASE-2.0c §5.27]");
	c = set_feat(a, 0x03, 0);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR, "Set Features of an unsupported FID (03h) -> Invalid Field [BASE-2.0c §5.27]");

	d = ctrl_up(NVMF_DISC_NQN, HOSTA, 0);
	c = set_feat(d, NVME_FEAT_KATO, 30000);
	CHECK(st(c) == 0 && dw0(get_feat(d, NVME_FEAT_KATO, 0, 0)) == 30000,
	      "discovery: Keep Alive Timer feature supported [Linux host checks; BASE-2.0c §3.1.3.3]");
	set_feat(d, NVME_FEAT_KATO, 0);
	c = set_feat(d, NVME_FEAT_ASYNC_EVENT, NVME_CTRL_OAES_DISC_CHANGE);
	CHECK(st(c) == 0 && dw0(get_feat(d, NVME_FEAT_ASYNC_EVENT, 0, 0)) == NVME_CTRL_OAES_DISC_CHANGE,
	      "discovery: AEC bit 31 (log change notices) supported [Linux host checks; BASE-2.0c §3.1.3.3]");
	c = get_feat(d, NVME_FEAT_NUM_QUEUES, 0, 0);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR, "discovery: Number of Queues -> Invalid Field [BASE-2.0c §3.1.3.3]");
	c = set_feat(d, NVME_FEAT_ARBITRATION, 0);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_FIELD | DNR, "discovery: Arbitration -> Invalid Field [BASE-2.0c §3.1.3.3]");
	q_free(d);
	q_free(a);
}

/* ==================================================================== */
/* 7. Keep Alive [BASE-2.0c §3.9, §5.25]                               */
/* ==================================================================== */

/*
 * Keep Alive [BASE-2.0c §3.9]: with KATO 1000 ms a controller that hears
 * nothing for longer is torn down, its admin queue at once and each I/O
 * queue on its own tick. The clock is g_now_ms, moved by hand, so the test
 * is exact without sleeping. Traffic based keep alive (CTRATT bit 6) means
 * any command counts, which matters to a host busy with I/O that sends no
 * Keep Alive of its own.
 */
static void test_keep_alive(void)
{
	struct nvmf_queue *a = ctrl_up(NQN_S1, HOSTA, 1000), *io = ioq_up(a, 1, 31, 0, NULL);
	struct cpl *c;

	c = admin_cmd(a, NVME_ADM_KEEP_ALIVE, 0);
	CHECK_EQ_U(st(c), 0, "Keep Alive succeeds [BASE-2.0c §5.25]");
	g_now_ms += 800;
	nvmf_queue_tick(a);
	CHECK(!a->closing, "Keep Alive: 800 ms idle with KATO 1000 ms: still alive [BASE-2.0c §3.9.5]");
	admin_cmd(a, NVME_ADM_KEEP_ALIVE, 0);
	g_now_ms += 800;
	nvmf_queue_tick(a);
	nvmf_queue_tick(io);
	CHECK(!a->closing && !io->closing,
	      "Keep Alive: a Keep Alive in time restarts the timer (1600 ms since Connect) [BASE-2.0c §3.9.5]");
	/* Traffic based keep alive: I/O alone keeps the controller alive. */
	identify(a, NVME_CNS_CTRL, 0, 0);
	CHECK(le32toh(((struct nvme_id_ctrl *)(void *)g_out)->ctratt) & (1u << 6),
	      "Identify Controller sets CTRATT.TBKAS [BASE-2.0c Fig. 275]");
	for (int i = 0; i < 3; i++) {
		struct nvme_sqe f = sqe_new(NVME_CMD_FLUSH, 1, 0, 0);

		g_now_ms += 800;
		submit(io, &f, NULL, 0);
		nvmf_queue_tick(io);
		nvmf_queue_tick(a);
	}
	CHECK(!a->closing && !io->closing,
	      "Keep Alive (TBKAS): an I/O command every 800 ms keeps a KATO 1000 ms controller alive for 2400 ms [BASE-2.0c §3.9.5]");
	g_nr_close = 0;
	g_now_ms += 1500;
	nvmf_queue_tick(a);
	CHECK(a->closing && g_nr_close == 1,
	      "Keep Alive: 1500 ms idle with KATO 1000 ms -> the controller is torn down (admin queue closed) [BASE-2.0c §3.9.5]");
	CHECK(!io->closing, "Keep Alive: the I/O queue is not closed from another queue's thread [nvmf.c locking]");
	nvmf_queue_tick(io);
	CHECK(io->closing && g_nr_close == 2, "Keep Alive: the I/O queue closes on its next tick [BASE-2.0c §3.9.5]");
	q_free(io);
	q_free(a);
}

/* auth_host_run's way to the target: its Authentication Send/Receive go
 * through the queue in arg like any other command. */
static int auth_exec(void *arg, const struct nvme_sqe *sqe, void *buf, uint32_t len)
{
	bool send = ((const struct nvmf_fabrics_cmd *)sqe)->fctype == NVMF_FCTYPE_AUTH_SEND;
	unsigned since = g_nr_cpl;
	struct cpl *c = submit(arg, sqe, send ? buf : NULL, len);
	struct nvmf_req *r = g_last_req;

	/* A Send that waits for the DH worker: wait as a reactor would. */
	for (int i = 0; c->none && i < 100; i++) {
		struct pollfd p = { .fd = g_fake_reactor.wake.fd, .events = POLLIN };
		uint64_t v;

		if (poll(&p, 1, 100) == 1 && read(p.fd, &v, sizeof(v)) < 0)
			break;
		auth_reactor_poll(&g_fake_reactor);
		c = cpl_of(r, since);
	}
	if (st(c))
		return -EIO;
	if (!send)
		memcpy(buf, g_out, c->xfer_len);
	return 0;
}

/*
 * Keep Alive while a host authenticates. Until its admin queue is
 * authenticated a host can send only Authentication Send/Receive (Keep
 * Alive is refused, Authentication Required), and under emulation the
 * Linux host took longer than its 5 s KATO for the ffdhe8192 step: the
 * timer must not run then (blktests nvme/041 caught it). A host that
 * stops half way is still let go, after NVMF_AUTH_TIMEOUT_MS.
 * The secret is an untransformed one, as `nvme gen-dhchap-key` writes
 * by default (DHHC-1:00:).
 */
static void test_keep_alive_auth(void)
{
	static const char key00[] = "DHHC-1:00:wqjgEIqlcoIv0ymI0jjNVHvvB7LvFOoy8+vSZ2LdrYcAfcNu:";
	struct auth_host_io io = { .qid = 0, .hostnqn = HOSTA, .subnqn = NQN_S1, .secret = key00,
				   .exec = auth_exec };
	uint32_t groups = g_auth_dhgroups;
	struct nvmf_queue *a = q_new(), *b = q_new();
	char err[160];
	struct cpl *c;

	g_auth_dhgroups = 1u << NVMF_AUTH_FFDHE2048;	/* one quick group is enough here */
	CHECK(auth_host_set(NQN_S1, HOSTA, key00, NULL, err, sizeof(err)) == 0,
	      "a DHHC-1:00: secret (no transform) is taken for a host [BASE-2.0c §8.13.5.8]");
	c = connect_admin(a, NQN_S1, HOSTA, 1000);
	CHECK(!st(c) && (le32toh(c->cqe.dw0) & NVMF_CONNECT_AUTHREQ_ATR),
	      "Connect of a host with a secret answers AUTHREQ.ATR [BASE-2.0c Fig. 550]");
	g_now_ms += 5000;
	nvmf_queue_tick(a);
	CHECK(!a->closing, "Keep Alive: 5 s into authentication with KATO 1000 ms: the timer has not started");
	io.arg = a;
	CHECK(auth_host_run(&io) == 0 && a->authenticated,
	      "authentication with the untransformed secret succeeds after the wait");
	nvmf_queue_tick(a);
	CHECK(!a->closing, "Keep Alive: the timer starts when authentication succeeds [BASE-2.0c §3.9.5]");
	g_now_ms += 1500;
	nvmf_queue_tick(a);
	CHECK(a->closing, "Keep Alive: 1500 ms idle after authentication with KATO 1000 ms -> torn down");
	/* A host that never finishes: closed after the authentication bound. */
	connect_admin(b, NQN_S1, HOSTA, 1000);
	g_now_ms += NVMF_AUTH_TIMEOUT_MS - 1;
	nvmf_queue_tick(b);
	CHECK(!b->closing, "authentication bound: still open just before it");
	g_now_ms += 2;
	nvmf_queue_tick(b);
	CHECK(b->closing, "authentication bound: a host that stopped half way is closed");
	auth_host_remove(NQN_S1, HOSTA);
	g_auth_dhgroups = groups;
	q_free(b);
	q_free(a);
}

/* ==================================================================== */
/* 8. Asynchronous events [BASE-2.0c §5.2]                             */
/* ==================================================================== */

static struct cpl *aer(struct nvmf_queue *q)
{
	return admin_cmd(q, NVME_ADM_ASYNC_EVENT, 0);
}

/*
 * Asynchronous events [BASE-2.0c §5.2]: a host parks up to AERL + 1
 * Asynchronous Event Requests, which complete only when something happens.
 * What the group proves: one more is refused (Asynchronous Event Request
 * Limit Exceeded); a namespace change completes one AER with the Changed
 * Namespace List's LID, once, until the host reads that log (with RAE
 * clear) to re-arm it; a reset frees the parked ones; the discovery
 * controller reports a changed discovery log the same way. Without this
 * the Linux host never rescans and a new namespace stays invisible.
 */
static void test_aer(void)
{
	struct nvmf_queue *a = ctrl_up(NQN_S4, HOSTA, 0), *d;
	struct nvmf_req *parked;
	struct cpl *c;
	unsigned since;
	int busy;

	set_feat(a, NVME_FEAT_ASYNC_EVENT, NVME_CTRL_OAES_NS_ATTR);
	busy = slots_busy();
	for (int i = 0; i <= NVMF_AERL; i++)
		c = aer(a);
	CHECK(c->none && slots_busy() == busy + NVMF_AERL + 1,
	      "AER: AERL + 1 = %d requests stay outstanding [BASE-2.0c §5.2, Fig. 275 AERL]", NVMF_AERL + 1);
	c = aer(a);
	CHECK_EQ_U(st(c), NVME_SC_AER_LIMIT | DNR,
		   "AER: one more -> Asynchronous Event Request Limit Exceeded (SCT 1, SC 05h) [BASE-2.0c §5.2]");

	since = g_nr_cpl;
	ns_add(g_s4, "null:1M");	/* NSID 3 */
	CHECK_EQ_U(g_nr_cpl, since, "AER: an event is delivered on the admin queue's tick, not from the changing thread [nvmf.c locking]");
	nvmf_queue_tick(a);
	c = &g_cpl[(g_nr_cpl - 1) % NR_CPL];
	CHECK(g_nr_cpl == since + 1 && st(c) == 0 &&
	      dw0(c) == NVME_AER_DW0(NVME_AER_TYPE_NOTICE, NVME_AER_NOTICE_NS_CHANGED, NVME_LOG_CHANGED_NS),
	      "AER: namespace added -> one AER, DW0 type 2, info 00h, log 04h [BASE-2.0c Fig. 147, 151]");
	since = g_nr_cpl;
	ns_add(g_s4, "null:1M");	/* NSID 4 */
	nvmf_queue_tick(a);
	CHECK_EQ_U(g_nr_cpl, since, "AER: the notice type is masked until its log is read [BASE-2.0c §5.2.1]");
	get_log(a, NVME_LOG_CHANGED_NS, 0, true, 4096, 0);
	ns_add(g_s4, "null:1M");	/* NSID 5 */
	nvmf_queue_tick(a);
	CHECK_EQ_U(g_nr_cpl, since + 1, "AER: a read with RAE=1 keeps the notice masked [BASE-2.0c Fig. 197]");
	c = get_log(a, NVME_LOG_CHANGED_NS, 0, false, 4096, 0);
	CHECK(st(c) == 0 && le32toh(((le32 *)g_out)[0]) == 3 && le32toh(((le32 *)g_out)[1]) == 4 &&
	      le32toh(((le32 *)g_out)[2]) == 5,
	      "Changed Namespace List holds every NSID changed since it was last cleared [BASE-2.0c §5.16.1.5]");
	since = g_nr_cpl;
	ns_add(g_s4, "null:1M");	/* NSID 6 */
	nvmf_queue_tick(a);
	c = &g_cpl[(g_nr_cpl - 1) % NR_CPL];
	CHECK(g_nr_cpl == since + 1 && dw0(c) == NVME_AER_DW0(2, 0, 4),
	      "AER: after a read with RAE=0 the next change is reported again [BASE-2.0c §5.2.1]");

	since = g_nr_cpl;
	busy = slots_busy();
	q_free(a);
	CHECK(g_nr_cpl == since + NVMF_AERL - 1 && slots_busy() == busy - (NVMF_AERL - 1),
	      "AER: closing the admin queue completes the parked AERs, freeing their slots [BASE-2.0c §3.3.2.3]");
	CHECK_EQ_U(st(&g_cpl[(g_nr_cpl - 1) % NR_CPL]), NVME_SC_ABORT_SQ_DELETED,
		   "AER: parked AERs complete as Command Aborted due to SQ Deletion [BASE-2.0c Fig. 94]");

	/* after a controller reset the host may park AERL + 1 new AERs */
	a = ctrl_up(NQN_S4, HOSTA, 0);
	for (int i = 0; i <= NVMF_AERL; i++)
		aer(a);
	prop_set(a, NVME_REG_CC, 0, false);
	prop_set(a, NVME_REG_CC, CC_ENABLE, false);
	c = aer(a);
	CHECK(st(c) != (NVME_SC_AER_LIMIT | DNR),
	      "AER: a controller reset (CC.EN 1 -> 0) ends outstanding AERs, so a new one is not over the limit [BASE-2.0c §3.7.2]");
	q_free(a);

	/* the discovery controller */
	d = ctrl_up(NVMF_DISC_NQN, HOSTB, 0);
	set_feat(d, NVME_FEAT_ASYNC_EVENT, NVME_CTRL_OAES_DISC_CHANGE);
	c = aer(d);
	parked = g_last_req;
	since = g_nr_cpl;
	nvmf_disc_changed();
	nvmf_queue_tick(d);
	c = cpl_of(parked, since);
	CHECK(st(c) == 0 && dw0(c) == NVME_AER_DW0(NVME_AER_TYPE_NOTICE, NVME_AER_NOTICE_DISC_CHANGED, NVME_LOG_DISC),
	      "discovery AER: log change -> DW0 type 2, info F0h, log 70h [BASE-2.0c Fig. 151; Linux host]");
	aer(d);
	since = g_nr_cpl;
	nvmf_disc_changed();
	nvmf_queue_tick(d);
	CHECK_EQ_U(g_nr_cpl, since, "discovery AER: masked until the discovery log is read with RAE=0 [BASE-2.0c §5.2.1]");
	get_log(d, NVME_LOG_DISC, 0, false, 1024, 0);
	nvmf_disc_changed();
	nvmf_queue_tick(d);
	CHECK_EQ_U(g_nr_cpl, since + 2, "discovery AER: after the log is read the next change is reported [BASE-2.0c §5.2.1]");
	q_free(d);
}

/* ==================================================================== */
/* 9. Abort [BASE-2.0c §5.1]                                           */
/* ==================================================================== */

/*
 * Abort [BASE-2.0c §5.1]: the target may always decline ("not aborted",
 * DW0 bit 0 set), which is what it does since commands never wait in a
 * queue long enough to be caught. Create I/O SQ is a PCIe command: over
 * Fabrics queues are made by Connect, so it is Invalid Opcode.
 */
static void test_abort(void)
{
	struct nvmf_queue *a = ctrl_up(NQN_S1, HOSTA, 0);
	struct cpl *c;

	c = admin_cmd(a, NVME_ADM_ABORT, 0x1234u << 16 | 1);
	CHECK(st(c) == 0 && (dw0(c) & 1) == 1,
	      "Abort: success with DW0 bit 0 = 1, command not aborted [BASE-2.0c §5.1, Fig. 144]");
	c = admin_cmd(a, NVME_ADM_CREATE_SQ, 0);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_OPCODE | DNR, "Create I/O SQ on fabrics -> Invalid Command Opcode [BASE-2.0c §3.3.2]");
	q_free(a);
}

/* ==================================================================== */
/* 10. I/O commands [NVM-1.0c §3]                                      */
/* ==================================================================== */

/* Data is a pattern that differs in every byte and every block, so a
 * block read from the wrong LBA or a shifted copy cannot pass a memcmp. */
static uint8_t g_pat[NVMF_MAX_DATA];

static void fill_pattern(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

static bool all_zero(const uint8_t *p, size_t len)
{
	return len == 0 || (p[0] == 0 && !memcmp(p, p + 1, len - 1));
}

/* A backend that counts the flushes it is given, around the real one. */
static const struct nvmf_bdev_ops *g_real_ops;
static unsigned g_nr_flush;

static void counting_submit(struct nvmf_bdev *b, struct nvmf_req *r)
{
	if (r->bio == BIO_FLUSH)
		g_nr_flush++;
	g_real_ops->submit(b, r);
}

/* Flush of NSID FFFFFFFFh reaches every namespace with a volatile write
 * cache, and only those. */
static void test_flush_all(struct nvmf_queue *io)
{
	struct nvmf_subsys *sub = io->ctrl->subsys;
	struct nvmf_bdev_ops counting;
	struct nvme_sqe s = sqe_new(NVME_CMD_FLUSH, 0xffffffff, 0, 0);
	int nr_ns = 0;

	g_real_ops = sub->ns[0]->bdev->ops;
	counting = *g_real_ops;
	counting.submit = counting_submit;
	for (int i = 0; i < NVMF_MAX_NS; i++)
		if (sub->ns[i] && sub->ns[i]->bdev->ops == g_real_ops) {
			sub->ns[i]->bdev->ops = &counting;
			sub->ns[i]->bdev->vwc = true;
			nr_ns++;
		}
	g_nr_flush = 0;
	CHECK(st(submit(io, &s, NULL, 0)) == 0 && g_nr_flush == (unsigned)nr_ns && nr_ns > 0,
	      "Flush of NSID FFFFFFFFh flushes every namespace with a volatile write cache [NVM-1.0c §3.2.2]");
	sub->ns[0]->bdev->vwc = false;
	g_nr_flush = 0;
	CHECK_EQ_U(st(submit(io, &s, NULL, 0)) == 0 ? g_nr_flush : 99u, (unsigned)nr_ns - 1,
		   "... and skips a namespace without one");
	for (int i = 0; i < NVMF_MAX_NS; i++)
		if (sub->ns[i] && sub->ns[i]->bdev->ops == &counting) {
			sub->ns[i]->bdev->ops = g_real_ops;
			sub->ns[i]->bdev->vwc = false;
		}
}

/*
 * Reads return what writes stored, on both block sizes: a write larger
 * than the in-capsule size goes through R2T (fetch_data asked once), a
 * 4 KiB write on NSID 2 comes in the capsule (no fetch). Write Zeroes
 * zeroes exactly its blocks and not its neighbours.
 */
static void test_io_rw(struct nvmf_queue *io)
{
	struct nvme_sqe s;
	struct cpl *c;
	unsigned fetches;

	fill_pattern(g_pat, sizeof(g_pat), 1);
	fetches = g_nr_fetch;
	c = io_write(io, 1, 100, 16, 512, g_pat);
	CHECK(st(c) == 0 && g_nr_fetch == fetches + 1, "Write 16 blocks: data fetched by R2T, then success [NVM-1.0c §3.3.6]");
	c = io_read(io, 1, 100, 16, 512);
	CHECK(st(c) == 0 && c->xfer_len == 8192 && !memcmp(g_out, g_pat, 8192),
	      "Read returns what Write wrote (8 KiB at LBA 100) [NVM-1.0c §3.3.4]");
	fill_pattern(g_pat, 4096, 2);
	s = sqe_rw(NVME_CMD_WRITE, 2, 7, 1);
	fetches = g_nr_fetch;
	c = submit(io, &s, g_pat, 4096);
	CHECK(st(c) == 0 && g_nr_fetch == fetches, "Write with in-capsule data (icd_len = data_len): no R2T, success [TCP-1.0c §3.3.3]");
	c = io_read(io, 2, 7, 1, 4096);
	CHECK(st(c) == 0 && !memcmp(g_out, g_pat, 4096), "Read of a 4 KiB-block namespace returns the in-capsule write [NVM-1.0c §3.3.4]");
	c = io_read(io, 1, 0, 256, 512);
	CHECK_EQ_U(st(c), 0, "Read of exactly MDTS (256 x 512 B = 128 KiB) succeeds [BASE-2.0c Fig. 275 MDTS]");

	s = sqe_new(NVME_CMD_FLUSH, 1, 0, 0);
	CHECK_EQ_U(st(submit(io, &s, NULL, 0)), 0, "Flush succeeds [NVM-1.0c §3.3.1]");
	s = sqe_new(NVME_CMD_FLUSH, 0xffffffff, 0, 0);
	CHECK_EQ_U(st(submit(io, &s, NULL, 0)), 0, "Flush of NSID FFFFFFFFh succeeds [NVM-1.0c §3.3.1]");
	test_flush_all(io);

	fill_pattern(g_pat, 16 * 512, 3);
	io_write(io, 1, 200, 16, 512, g_pat);
	s = sqe_rw(NVME_CMD_WRITE_ZEROES, 1, 204, 4);
	c = submit(io, &s, NULL, 0);
	CHECK_EQ_U(st(c), 0, "Write Zeroes succeeds [NVM-1.0c §3.3.7]");
	c = io_read(io, 1, 200, 16, 512);
	CHECK(all_zero(g_out + 4 * 512, 4 * 512) && !memcmp(g_out, g_pat, 4 * 512) &&
	      !memcmp(g_out + 8 * 512, g_pat + 8 * 512, 8 * 512),
	      "Write Zeroes: those 4 blocks read zeroes, the neighbours keep their data [NVM-1.0c §3.3.7]");
}

/*
 * Dataset Management Deallocate [NVM-1.0c §3.3.3]: the ram backend reads
 * deallocated blocks as zeroes, so each range must be zero afterwards and
 * the blocks between ranges untouched. A range past the namespace's end
 * fails the whole command. Compare [NVM-1.0c §3.3.1] succeeds on equal
 * data and fails with Compare Failure when one bit differs.
 */
static void test_io_dsm_compare(struct nvmf_queue *io)
{
	struct nvme_dsm_range rg[3];
	struct nvme_sqe s;
	struct cpl *c;

	fill_pattern(g_pat, 64 * 512, 4);
	io_write(io, 1, 1000, 64, 512, g_pat);
	memset(rg, 0, sizeof(rg));
	rg[0].slba = htole64(1000);
	rg[0].nlb = htole32(8);
	rg[1].slba = htole64(1020);
	rg[1].nlb = htole32(16);		/* spans the 8 KiB ram page edge */
	rg[2].slba = htole64(1060);
	rg[2].nlb = htole32(2);
	s = sqe_new(NVME_CMD_DSM, 1, 2, NVME_DSM_AD);	/* NR 2 (0's based): 3 ranges */
	c = submit(io, &s, rg, sizeof(rg));
	CHECK_EQ_U(st(c), 0, "Dataset Management: deallocate 3 ranges succeeds [NVM-1.0c §3.3.3]");
	c = io_read(io, 1, 1000, 64, 512);
	CHECK(all_zero(g_out, 8 * 512) && !memcmp(g_out + 8 * 512, g_pat + 8 * 512, 12 * 512) &&
	      all_zero(g_out + 20 * 512, 16 * 512) && !memcmp(g_out + 36 * 512, g_pat + 36 * 512, 24 * 512) &&
	      all_zero(g_out + 60 * 512, 2 * 512) && !memcmp(g_out + 62 * 512, g_pat + 62 * 512, 2 * 512),
	      "Dataset Management: deallocated ranges read zeroes (DLFEAT 001b), others unchanged [NVM-1.0c Fig. 114]");
	rg[0].slba = htole64(NS1_BLOCKS - 1);
	rg[0].nlb = htole32(2);
	s = sqe_new(NVME_CMD_DSM, 1, 0, NVME_DSM_AD);
	c = submit(io, &s, rg, 16);
	CHECK_EQ_U(st(c), NVME_SC_LBA_RANGE | DNR, "Dataset Management: a range past the end -> LBA Out of Range [NVM-1.0c §3.3.3]");
	s = sqe_new(NVME_CMD_DSM, 1, 2, NVME_DSM_AD);
	c = submit(io, &s, rg, 16);
	CHECK_EQ_U(st(c), NVME_SC_SGL_INVALID_DATA | DNR,
		   "Dataset Management: data shorter than NR+1 ranges -> Data SGL Length Invalid [NVM-1.0c Fig. 41]");

	fill_pattern(g_pat, 8 * 512, 5);
	io_write(io, 1, 3000, 8, 512, g_pat);
	s = sqe_rw(NVME_CMD_COMPARE, 1, 3000, 8);
	c = submit(io, &s, g_pat, 8 * 512);
	CHECK_EQ_U(st(c), 0, "Compare with matching data succeeds [NVM-1.0c §3.3.2]");
	g_pat[4000] ^= 1;
	s = sqe_rw(NVME_CMD_COMPARE, 1, 3000, 8);
	c = submit_r2t(io, &s, g_pat, 8 * 512);
	CHECK_EQ_U(st(c), NVME_SC_COMPARE_FAILED | DNR,
		   "Compare with one bit different -> Compare Failure (SCT 2, SC 85h) [NVM-1.0c Fig. 60]");
}

/*
 * Every wrong I/O command gets its own status, and none reaches the
 * backend: LBA Out of Range for blocks past the end or an SLBA that wraps,
 * a transfer above MDTS, a data SGL that disagrees with NLB, an NSID the
 * subsystem does not have, an opcode the target does not support, and
 * admin or Fabrics commands on an I/O queue. fetches is checked so that a
 * refused write never asks the host for its data first.
 */
static void test_io_errors(struct nvmf_queue *io)
{
	struct nvme_sqe s;
	struct cpl *c;
	unsigned fetches = g_nr_fetch;

	s = sqe_rw(NVME_CMD_READ, 1, NS1_BLOCKS, 1);
	c = submit(io, &s, NULL, 512);
	CHECK_EQ_U(st(c), NVME_SC_LBA_RANGE | DNR, "Read at SLBA = NSZE -> LBA Out of Range [NVM-1.0c §3.3.4]");
	s = sqe_rw(NVME_CMD_WRITE, 1, NS1_BLOCKS - 1, 2);
	c = submit(io, &s, NULL, 1024);
	CHECK_EQ_U(st(c), NVME_SC_LBA_RANGE | DNR, "Write whose last block is past NSZE -> LBA Out of Range [NVM-1.0c §3.3.6]");
	s = sqe_rw(NVME_CMD_READ, 1, ~0ull, 2);
	c = submit(io, &s, NULL, 1024);
	CHECK_EQ_U(st(c), NVME_SC_LBA_RANGE | DNR, "Read with SLBA + NLB overflowing 64 bits -> LBA Out of Range [NVM-1.0c §3.3.4]");
	s = sqe_rw(NVME_CMD_WRITE_ZEROES, 1, NS1_BLOCKS - 2, 4);
	c = submit(io, &s, NULL, 0);
	CHECK_EQ_U(st(c), NVME_SC_LBA_RANGE | DNR, "Write Zeroes past NSZE -> LBA Out of Range [NVM-1.0c §3.3.7]");
	CHECK_EQ_U(g_nr_fetch, fetches, "no R2T for a write refused on its LBA range [TCP-1.0c §3.4]");

	s = sqe_rw(NVME_CMD_WRITE, 1, 0, 257);
	c = submit(io, &s, NULL, 257 * 512);
	CHECK(st(c) == (NVME_SC_INVALID_FIELD | DNR) && g_nr_fetch == fetches,
	      "Write of 257 x 512 B (> MDTS 128 KiB) -> Invalid Field, and no R2T [BASE-2.0c Fig. 275 MDTS]");
	s = sqe_rw(NVME_CMD_WRITE, 1, 0, 257);
	c = submit(io, &s, NULL, NVMF_MAX_DATA);
	CHECK(st(c) == (NVME_SC_INVALID_FIELD | DNR) && g_nr_fetch == fetches,
	      "Write with NLB beyond MDTS but a 128 KiB SGL -> Invalid Field, and no R2T [BASE-2.0c Fig. 275 MDTS]");
	s = sqe_rw(NVME_CMD_WRITE, 1, 0, 8);
	c = submit(io, &s, NULL, 2048);
	CHECK(st(c) == (NVME_SC_SGL_INVALID_DATA | DNR) && g_nr_fetch == fetches,
	      "Write of 8 blocks with a 2 KiB SGL -> Data SGL Length Invalid, and no R2T [BASE-2.0c Fig. 94]");
	s = sqe_rw(NVME_CMD_READ, 1, 0, 8);
	c = submit(io, &s, NULL, 8192);
	CHECK_EQ_U(st(c), NVME_SC_SGL_INVALID_DATA | DNR, "Read of 4 KiB with an 8 KiB SGL -> Data SGL Length Invalid [BASE-2.0c Fig. 94]");
	s = sqe_rw(NVME_CMD_READ, 3, 0, 1);
	c = submit(io, &s, NULL, 512);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_NS | DNR, "Read of an inactive NSID -> Invalid Namespace or Format [NVM-1.0c §3.3.4]");
	s = sqe_rw(NVME_CMD_READ, 0, 0, 1);
	c = submit(io, &s, NULL, 512);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_NS | DNR, "Read of NSID 0 -> Invalid Namespace or Format [NVM-1.0c §3.3.4]");
	s = sqe_new(0x04, 1, 0, 0);	/* Write Uncorrectable: not supported */
	c = submit(io, &s, NULL, 0);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_OPCODE | DNR, "an unsupported I/O opcode (04h) -> Invalid Command Opcode [NVM-1.0c Fig. 18]");
	s = sqe_new(NVME_ADM_IDENTIFY, 1, 1, 0);
	c = submit(io, &s, NULL, 4096);
	CHECK(st(c) != 0, "an admin opcode (Identify) on an I/O queue is refused [BASE-2.0c §3.3.2]");
	c = prop_get(io, NVME_REG_CAP, true);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_OPCODE | DNR, "Property Get on an I/O queue -> Invalid Command Opcode [BASE-2.0c §6.5]");
}

/* SQHD [BASE-2.0c Fig. 92]: the head after this command; FFFFh when the
 * host disabled SQ flow control at Connect. */
static void test_io_sqhd(struct nvmf_queue *a)
{
	struct nvmf_queue *q;
	struct nvme_sqe s;
	struct cpl *c;
	uint16_t prev, ok = 1;

	q = ioq_up(a, 2, 3, 0, &c);		/* 4 entries */
	CHECK_EQ_U(le16toh(c->cqe.sqid), 2, "CQE SQID is the I/O queue's QID [BASE-2.0c Fig. 92]");
	CHECK_EQ_U(le16toh(c->cqe.sqhd), 1,
		   "SQHD in the Connect response counts the Connect SQE itself (head 1 of 4) [BASE-2.0c Fig. 92, §6.3]");
	prev = le16toh(c->cqe.sqhd);
	for (int i = 0; i < 6; i++) {
		s = sqe_new(NVME_CMD_FLUSH, 1, 0, 0);
		c = submit(q, &s, NULL, 0);
		if (le16toh(c->cqe.sqhd) != (prev + 1) % 4 || le16toh(c->cqe.cid) != le16toh(s.cid))
			ok = 0;
		prev = le16toh(c->cqe.sqhd);
	}
	CHECK(ok, "SQHD advances by one per command, modulo SQSIZE + 1, and the CQE echoes the CID [BASE-2.0c Fig. 92]");
	q_free(q);

	q = ioq_up(a, 3, 31, NVMF_CONNECT_CATTR_SQFC_DISABLE, &c);
	CHECK_EQ_U(le16toh(c->cqe.sqhd), 0xffff, "SQ flow control disabled: Connect response SQHD FFFFh [BASE-2.0c Fig. 546 CATTR]");
	s = sqe_new(NVME_CMD_FLUSH, 1, 0, 0);
	c = submit(q, &s, NULL, 0);
	CHECK_EQ_U(le16toh(c->cqe.sqhd), 0xffff, "SQ flow control disabled: every SQHD is FFFFh [Linux host checks; BASE-2.0c Fig. 92]");
	q_free(q);
}

/* Commands the transport refuses before nvmf_req_exec (SGL form, digest of
 * in-capsule data) are answered through nvmf_req_fail(). */
static void test_io_transport_errors(struct nvmf_queue *io)
{
	struct nvme_sqe s = sqe_new(NVME_CMD_FLUSH, 1, 0, 0);
	struct nvmf_req *r;
	unsigned since;
	uint16_t head;
	struct cpl *c;

	head = le16toh(submit(io, &s, NULL, 0)->cqe.sqhd);
	r = slot_get(io);
	r->sqe = sqe_new(NVME_CMD_WRITE, 1, 0, 0);
	since = g_nr_cpl;
	nvmf_req_fail(r, NVME_SC_SGL_INVALID_TYPE);
	c = cpl_of(r, since);
	CHECK(st(c) == (NVME_SC_SGL_INVALID_TYPE | DNR) && c->cqe.cid == r->sqe.cid,
	      "transport-refused command: its status with DNR, CID echoed [BASE-2.0c Fig. 94]");
	r = slot_get(io);
	r->sqe = sqe_new(NVME_CMD_WRITE, 1, 0, 0);
	since = g_nr_cpl;
	nvmf_req_fail(r, NVME_SC_TRANSIENT_TRANSPORT);
	CHECK_EQ_U(st(cpl_of(r, since)), NVME_SC_TRANSIENT_TRANSPORT,
		   "transport-refused command: Transient Transport Error is retryable, no DNR [BASE-2.0c Fig. 94]");
	s = sqe_new(NVME_CMD_FLUSH, 1, 0, 0);
	c = submit(io, &s, NULL, 0);
	CHECK_EQ_U(le16toh(c->cqe.sqhd), (head + 3u) % io->size,
		   "SQHD counts SQEs the transport refused before nvmf_req_exec (2 of them here) [BASE-2.0c Fig. 92]");
}

/* The I/O group runs on one controller with one I/O queue of 128 entries;
 * a test that needs its own queue (SQHD) connects it beside. At the end
 * CC.EN = 0 must make the queue refuse I/O before it is closed. */
static void test_io(void)
{
	struct nvmf_queue *a = ctrl_up(NQN_S1, HOSTA, 0), *io = ioq_up(a, 1, 127, 0, NULL);

	g_trace = true;		/* format every trace line once, for the sanitizers */
	test_io_rw(io);
	g_trace = false;
	test_io_dsm_compare(io);
	test_io_errors(io);
	test_io_transport_errors(io);
	test_io_sqhd(a);
	prop_set(a, NVME_REG_CC, 0, false);
	{
		struct nvme_sqe s = sqe_rw(NVME_CMD_READ, 1, 0, 1);

		CHECK_EQ_U(st(submit(io, &s, NULL, 512)), NVME_SC_CMD_SEQ_ERROR | DNR,
			   "I/O after CC.EN 1 -> 0 -> Command Sequence Error [BASE-2.0c §3.7.2]");
	}
	q_free(io);
	q_free(a);
}

/* ==================================================================== */
/* 11. Live configuration (subsys.c; the RPC methods drive it)        */
/* ==================================================================== */

#define NQN_S6		"nqn.2026-01.io.nvmf.test:rpc"		/* made as an RPC would */

/*
 * What changes while hosts are connected [BASE-2.0c §3.1]: a subsystem
 * made at run time (as nvmf_create_subsystem does) is reachable only on
 * the ports it was told to listen on and appears in the discovery log on
 * those only; referrals appear as SUBTYPE 1 entries; a namespace removed
 * while a write waits for its data fails that write cleanly; a host taken
 * off the allow list, or a listener removed, stops new Connects but not
 * the connections already made; deleting a subsystem closes its
 * controllers first. A failure here is the kind a running target shows as
 * a crash or a host reaching what it was refused.
 */
static void test_live(void)
{
	struct nvmf_listener tmpl = { .trtype = NVMF_TRTYPE_TCP };
	struct nvmf_referral ref = { .trtype = NVMF_TRTYPE_TCP, .adrfam = NVMF_ADRFAM_IPV4 };
	struct nvmf_queue *a, *io, *d, *q;
	struct nvmf_subsys *s;
	struct nvmf_bdev *b = bdev_new("ram:1M"), *back = NULL;
	struct nvmf_req *r;
	uint64_t g1, g2, g3;
	char err[256];
	struct cpl *c;
	int n;

	s = nvmf_subsys_create(NQN_S6, "SN6", "MN6", 4, false, err, sizeof(err));
	CHECK(s != NULL, "live: a subsystem is created with SN, MN and max_namespaces");
	CHECK(nvmf_subsys_create(NQN_S6, NULL, NULL, 0, false, err, sizeof(err)) == NULL &&
	      strstr(err, "already exists"), "live: a duplicate NQN is refused, saying so");
	/* Names as nvmet and the Linux host take them: "ramdisk" is one. */
	CHECK(nvmf_subsys_create("a/b", NULL, NULL, 0, false, err, sizeof(err)) == NULL &&
	      strstr(err, "'/'"), "live: a name with '/' (no nvmet configfs name has one) is refused");
	CHECK(nvmf_subsys_create("a,b", NULL, NULL, 0, false, err, sizeof(err)) == NULL,
	      "live: a name with ',' (the Linux host's option separator) is refused");
	CHECK(nvmf_subsys_create(NVMF_DISC_NQN, NULL, NULL, 0, false, err, sizeof(err)) == NULL,
	      "live: the discovery NQN is refused as a subsystem name");
	{
		char big[224];

		memset(big, 'x', 223);
		big[223] = 0;
		CHECK(nvmf_subsys_create(big, NULL, NULL, 0, false, err, sizeof(err)) == NULL &&
		      strstr(err, "223 bytes"), "live: a 223-byte name (the host takes < 223) is refused");
		big[222] = 0;
		CHECK(nvmf_subsys_create(big, NULL, NULL, 0, false, err, sizeof(err)) != NULL &&
		      nvmf_subsys_remove(nvmf_subsys_find(big), err, sizeof(err)) == 0,
		      "live: a 222-byte name not in NQN form is served");
	}
	CHECK(nvmf_subsys_attach_ns(s, g_s1->ns[0]->bdev, 0, NULL, NULL, err, sizeof(err)) == -EBUSY,
		   "live: a bdev already serving a namespace cannot be claimed again");
	CHECK(nvmf_subsys_attach_ns(s, b, 5, NULL, NULL, err, sizeof(err)) == -EINVAL,
		   "live: an NSID above max_namespaces is refused");
	CHECK_EQ_U(nvmf_subsys_attach_ns(s, b, 2, NULL, NULL, err, sizeof(err)), 0,
		   "live: a namespace is attached at the NSID asked for");

	/* Ports: an RPC subsystem is served only where it was told to listen. */
	q = q_new();
	q->listener = g_l_io;
	c = connect_admin(q, NQN_S6, HOSTA, 0);
	CHECK_EQ_U(st(c), NVME_SC_CONNECT_INVALID_PARAM | DNR,
		   "live: Connect on a port the subsystem is not offered on -> Invalid Parameters [BASE-2.0c Fig. 549]");
	q_free(q);
	snprintf(tmpl.traddr, sizeof(tmpl.traddr), "192.0.2.1");
	snprintf(tmpl.trsvcid, sizeof(tmpl.trsvcid), "4420");
	CHECK_EQ_U(nvmf_subsys_listen(s, &tmpl, err, sizeof(err)), 0, "live: add a listener (an existing port)");
	CHECK(nvmf_subsys_listen(s, &tmpl, err, sizeof(err)) == -EEXIST,
		   "live: the same listener twice is refused");
	a = q_new();
	a->listener = g_l_fixed;
	if (st(connect_admin(a, NQN_S6, HOSTA, 0)) || st(prop_set(a, NVME_REG_CC, CC_ENABLE, false)))
		printf("# bring-up on the new port failed\n");
	CHECK(a->ctrl != NULL, "live: Connect on the port it listens on succeeds");
	io = ioq_up(a, 1, 31, 0, NULL);
	io->listener = g_l_fixed;

	/* Discovery: it appears on its port only; referrals are SUBTYPE 1. */
	d = ctrl_up(NVMF_DISC_NQN, HOSTA, 0);
	n = disc_read_paged(d, &g1, &g2);
	CHECK(disc_count(g_disc, n, g_l_fixed, NVMF_SUBTYPE_NVME, NQN_S6) == 1 &&
	      disc_count(g_disc, n, g_l_io, NVMF_SUBTYPE_NVME, NQN_S6) == 0,
	      "live: the discovery log offers the subsystem on its listener only [BASE-2.0c §5.16.1.23]");
	snprintf(ref.traddr, sizeof(ref.traddr), "192.0.2.9");
	snprintf(ref.trsvcid, sizeof(ref.trsvcid), "8009");
	snprintf(ref.subnqn, sizeof(ref.subnqn), "%s", NVMF_DISC_NQN);
	CHECK_EQ_U(nvmf_referral_add(&ref, err, sizeof(err)), 0, "live: add a referral");
	n = disc_read_paged(d, &g3, &g2);
	CHECK(disc_count(g_disc, n, NULL, NVMF_SUBTYPE_REFERRAL, NVMF_DISC_NQN) == 1 && g3 > g1,
	      "live: a referral is a SUBTYPE 1 entry and GENCTR moves [BASE-2.0c Fig. 262]");
	CHECK(nvmf_referral_add(&ref, err, sizeof(err)) == -EEXIST, "live: the same referral twice is refused");
	CHECK_EQ_U(nvmf_referral_remove(&ref, err, sizeof(err)), 0, "live: remove the referral");
	n = disc_read_paged(d, &g1, &g2);
	CHECK_EQ_U(disc_count(g_disc, n, NULL, NVMF_SUBTYPE_REFERRAL, NULL), 0, "live: the referral left the log");
	q_free(d);

	/* A write waits for its data (R2T) while its namespace is removed:
	 * when the data comes, the command fails cleanly, never touching
	 * the freed namespace. */
	{
		struct nvme_sqe sq = sqe_rw(NVME_CMD_WRITE, 2, 0, 1);
		unsigned since = g_nr_cpl;

		c = submit(io, &sq, NULL, 512);
		r = g_last_req;
		CHECK(c->none && g_fetched == r, "live: a write to the new namespace waits for its data (R2T)");
		CHECK_EQ_U(nvmf_subsys_detach_ns(s, 2, &back, err, sizeof(err)), 0, "live: remove the namespace meanwhile");
		CHECK(back == b, "live: the removed namespace's bdev is handed back, not freed");
		memset(r->data, 0x5a, 512);
		nvmf_req_data_ready(r);
		CHECK_EQ_U(st(cpl_of(r, since)), NVME_SC_INVALID_NS | DNR,
			   "live: its data arrives after the removal -> Invalid Namespace [NVM-1.0c §3.3.6]");
	}
	c = io_read(io, 2, 0, 1, 512);
	CHECK_EQ_U(st(c), NVME_SC_INVALID_NS | DNR, "live: I/O to a removed NSID -> Invalid Namespace");
	CHECK(nvmf_subsys_detach_ns(s, 2, &back, err, sizeof(err)) == -ENOENT,
		   "live: removing it twice is refused");
	CHECK_EQ_U(nvmf_subsys_attach_ns(s, b, 0, NULL, NULL, err, sizeof(err)), 0,
		   "live: the bdev can be attached again (lowest free NSID)");
	c = io_read(io, 1, 0, 1, 512);
	CHECK_EQ_U(st(c), 0, "live: ... and read through the controller already connected");

	/* Hosts: a removed host loses new connections. */
	nvmf_subsys_allow_any(s, false);
	CHECK_EQ_U(nvmf_subsys_add_host(s, HOSTB), 0, "live: add a host");
	CHECK(nvmf_subsys_add_host(s, HOSTB) == -EEXIST, "live: the same host twice is refused");
	CHECK_EQ_U(nvmf_subsys_remove_host(s, HOSTB), 0, "live: remove the host");
	q = q_new();
	q->listener = g_l_fixed;
	c = connect_admin(q, NQN_S6, HOSTB, 0);
	CHECK_EQ_U(st(c), NVME_SC_CONNECT_INVALID_HOST | DNR,
		   "live: the removed host's new Connect -> Connect Invalid Host [BASE-2.0c Fig. 549]");
	q_free(q);
	CHECK(!a->closing, "live: controllers already connected stay");

	/* Removing the listener: no new Connects there. */
	CHECK_EQ_U(nvmf_subsys_unlisten(s, &tmpl, err, sizeof(err)), 0, "live: remove the listener");
	CHECK(nvmf_subsys_unlisten(s, &tmpl, err, sizeof(err)) == -ENOENT,
		   "live: removing it twice is refused");
	q = q_new();
	q->listener = g_l_fixed;
	nvmf_subsys_allow_any(s, true);
	c = connect_admin(q, NQN_S6, HOSTB, 0);
	CHECK_EQ_U(st(c), NVME_SC_CONNECT_INVALID_PARAM | DNR, "live: Connect on the removed listener is refused");
	q_free(q);

	/* Deleting the subsystem: its controllers go first. */
	q_free(io);
	q_free(a);
	CHECK_EQ_U(nvmf_subsys_remove(s, err, sizeof(err)), 0, "live: delete the subsystem");
	CHECK(nvmf_subsys_lookup(NQN_S6) == NULL, "live: it is gone");
	CHECK(nvmf_bdev_owner(g_s1->ns[0]->bdev, NULL) == g_s1->ns[0], "live: other subsystems keep their namespaces");
}

/* The groups run in the order of the file map, on one configuration made
 * once by setup(). Order matters where a group adds to it (namespaces on S4, subsystem S5),
 * so a group's expected counts assume the ones before. */
int main(void)
{
	if (getenv("V"))
		g_log_level = NVMF_LOG_DBG;
	setup();
	/* S4 as nvmf_test.c's Get Log Page group leaves it: the events
	 * below count NSIDs from 3. */
	ns_add(g_s4, "null:1M");
	test_features();
	test_keep_alive();
	test_keep_alive_auth();
	test_aer();
	test_abort();
	test_io();
	test_live();
	CHECK_EQ_U(slots_busy(), 0, "every command slot came back to the transport [nvmf.h transport seam]");
	teardown();
	return test_done("nvmf_io_test");
}
