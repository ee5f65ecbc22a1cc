/*
 * trace_test.c - unit tests of trace.c: the exact line --trace prints for
 * a command and for its completion, on the target and the host alike.
 *
 * Each SQE is built from nvme.h's structs the way a host builds it, and
 * the whole line is compared, so a field that moves, a name that changes
 * or a value read from the wrong bits fails here with both lines shown.
 *
 *   part                                      spec
 *   --------------------------------------------------------------------
 *   1. Connect, its data and its completion   [BASE-2.0c §6.3, Fig. 546-549]
 *   2. Property Get/Set: CAP, CC, CSTS, VS    [BASE-2.0c §3.1.4, §6.5-6.6]
 *   3. Authentication, Disconnect, no NSID    [BASE-2.0c §6.1-6.2, §6.4]
 *   4. Identify, Get Log Page, features       [BASE-2.0c §5.16, §5.17, §5.27]
 *   5. I/O commands                           [NVM-1.0c §3]
 *   6. Status names                           [BASE-2.0c Fig. 94-95, 584]
 *   7. A short buffer, a hostile Connect
 *
 * Build: make tests/trace_test.
 */
#include "../trace.c"
#include "test.h"

#define HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555"
#define SUBNQN	"nqn.2026-11.io.nvmf:cnode1"

static char g_line[TRACE_LINE_MAX];

/* Compare a whole line; on a mismatch show both. */
static void check_line(const char *got, const char *want, const char *what)
{
	CHECK(!strcmp(got, want), "%s", what);
	if (strcmp(got, want))
		printf("    got  \"%s\"\n    want \"%s\"\n", got, want);
}

/* A Fabrics command of type fctype with CID cid. */
static struct nvme_sqe fabrics_sqe(uint8_t fctype, uint16_t cid)
{
	struct nvme_sqe s = { .opcode = NVME_FABRICS_OPCODE, .cid = htole16(cid) };

	((struct nvmf_fabrics_cmd *)&s)->fctype = fctype;
	return s;
}

/* A completion: CID, Status Field (host order, no phase) and DW0/DW1. */
static struct nvme_cqe cqe_of(uint16_t cid, uint16_t status, uint32_t dw0, uint32_t dw1)
{
	return (struct nvme_cqe){ .cid = htole16(cid), .status = htole16(status << 1 | 1),
				  .dw0 = htole32(dw0), .dw1 = htole32(dw1) };
}

/* ==================================================================== */
/* 1. Connect                                                          */
/* ==================================================================== */

/* Connect is the one command whose meaning is in its data: the line must
 * show SUBNQN, HOSTNQN and CNTLID from the 1 KiB the host sent, and the
 * completion's DW0 as the CNTLID on success or IPO/IATTR on a refusal. */
static void test_connect(void)
{
	struct nvme_sqe s = fabrics_sqe(NVMF_FCTYPE_CONNECT, 0);
	struct nvmf_connect_cmd *c = (void *)&s;
	struct nvmf_connect_data d = { .cntlid = htole16(0xffff) };
	struct nvme_cqe e;

	c->qid = htole16(0);
	c->sqsize = htole16(31);
	c->cattr = NVMF_CONNECT_CATTR_SQFC_DISABLE;
	c->kato = htole32(30000);
	strcpy(d.subnqn, SUBNQN);
	strcpy(d.hostnqn, HOSTNQN);
	check_line(trace_cmd(g_line, sizeof(g_line), &s, 0, &d, sizeof(d)),
		   "qid=0 cid=0 Connect qid=0 sqsize=31 cattr=0x4 kato=30000 cntlid=0xffff "
		   "subnqn=" SUBNQN " hostnqn=" HOSTNQN,
		   "Connect: QID, SQSIZE, CATTR, KATO from the SQE, CNTLID and the NQNs from its data [BASE-2.0c Fig. 546-547]");
	check_line(trace_cmd(g_line, sizeof(g_line), &s, 0, NULL, 0),
		   "qid=0 cid=0 Connect qid=0 sqsize=31 cattr=0x4 kato=30000",
		   "Connect whose data is not at hand (not in the capsule): the SQE's fields only");
	check_line(trace_cmd(g_line, sizeof(g_line), &s, 0, &d, 512),
		   "qid=0 cid=0 Connect qid=0 sqsize=31 cattr=0x4 kato=30000",
		   "Connect with less than 1024 bytes of data: no NQNs read past it");

	c->qid = htole16(3);
	c->sqsize = htole16(127);
	check_line(trace_cmd(g_line, sizeof(g_line), &s, 0, NULL, 0),
		   "qid=3 cid=0 Connect qid=3 sqsize=127 cattr=0x4 kato=30000",
		   "an I/O queue's Connect names its queue, though the target knows it as qid 0 until then [BASE-2.0c §6.3]");
	e = cqe_of(0, NVME_SC_CONNECT_INVALID_PARAM | NVME_STATUS_DNR, 42, 0);
	check_line(trace_cqe(g_line, sizeof(g_line), &s, &e, 0),
		   "qid=3 cid=0 Connect status=0x182 (Connect Invalid Parameters) DNR ipo=42 iattr=sqe",
		   "... and so does its completion, here refused: IPO 42 is QID in the SQE");
	c->qid = htole16(0);
	c->sqsize = htole16(31);
	e = cqe_of(0, NVME_SC_SUCCESS, 1, 0);
	check_line(trace_cqe(g_line, sizeof(g_line), &s, &e, 0),
		   "qid=0 cid=0 Connect status=0x000 (Success) cntlid=1",
		   "Connect completion: DW0 15:0 is the CNTLID [BASE-2.0c Fig. 549]");
	e = cqe_of(0, NVME_SC_SUCCESS, 2 | NVMF_CONNECT_AUTHREQ_ATR, 0);
	check_line(trace_cqe(g_line, sizeof(g_line), &s, &e, 0),
		   "qid=0 cid=0 Connect status=0x000 (Success) cntlid=2 authreq=ATR",
		   "Connect completion asking for authentication: AUTHREQ.ATR, DW0 bit 17 [BASE-2.0c Fig. 549]");
	e = cqe_of(0, NVME_SC_CONNECT_INVALID_PARAM | NVME_STATUS_DNR, 256 | 1u << 16, 0);
	check_line(trace_cqe(g_line, sizeof(g_line), &s, &e, 0),
		   "qid=0 cid=0 Connect status=0x182 (Connect Invalid Parameters) DNR ipo=256 iattr=data",
		   "Connect Invalid Parameters: IPO and IATTR point at SUBNQN in the data [BASE-2.0c Fig. 549]");
}

/* ==================================================================== */
/* 2. Properties                                                       */
/* ==================================================================== */

/* A Property Get (set: Set with value) of ofst, 8 bytes if wide. */
static struct nvme_sqe prop_sqe(bool set, uint32_t ofst, bool wide, uint64_t value, uint16_t cid)
{
	struct nvme_sqe s = fabrics_sqe(set ? NVMF_FCTYPE_PROP_SET : NVMF_FCTYPE_PROP_GET, cid);
	struct nvmf_prop_cmd *p = (void *)&s;

	p->attrib = wide;
	p->ofst = htole32(ofst);
	p->value = htole64(value);
	return s;
}

/* A property line names the register and decodes its fields, so a reader
 * can follow a bring-up (read CAP, write CC, poll CSTS) from the trace
 * alone, next to the register's figure in the spec. */
static void test_properties(void)
{
	struct nvme_sqe s = prop_sqe(false, NVME_REG_CAP, true, 0, 1);
	struct nvme_cqe e = cqe_of(1, NVME_SC_SUCCESS, 0x0f01007f, 0x820);

	check_line(trace_cmd(g_line, sizeof(g_line), &s, 0, NULL, 0),
		   "qid=0 cid=1 PropertyGet CAP size=8",
		   "Property Get CAP: OFST 0 by name, ATTRIB 1 is 8 bytes [BASE-2.0c §6.5]");
	check_line(trace_cqe(g_line, sizeof(g_line), &s, &e, 0),
		   "qid=0 cid=1 PropertyGet status=0x000 (Success) CAP value=0x8200f01007f MQES=127 "
		   "CQR=1 AMS=0 TO=15 DSTRD=0 NSSRS=0 CSS=0x41 BPS=0 MPSMIN=0 MPSMAX=0",
		   "Property Get CAP completion: DW1:DW0 split into CAP's fields [BASE-2.0c Fig. 36]");

	s = prop_sqe(true, NVME_REG_CC, false, 0x460001, 2);
	check_line(trace_cmd(g_line, sizeof(g_line), &s, 0, NULL, 0),
		   "qid=0 cid=2 PropertySet CC size=4 value=0x460001 EN=1 CSS=0 MPS=0 AMS=0 SHN=0 "
		   "IOSQES=6 IOCQES=4",
		   "Property Set CC: the value split into CC's fields [BASE-2.0c §3.1.4, §6.6]");
	e = cqe_of(2, NVME_SC_SUCCESS, 0, 0);
	check_line(trace_cqe(g_line, sizeof(g_line), &s, &e, 0),
		   "qid=0 cid=2 PropertySet status=0x000 (Success)",
		   "Property Set completion: DW0 has no meaning, none printed");

	s = prop_sqe(false, NVME_REG_CSTS, false, 0, 3);
	check_line(trace_cmd(g_line, sizeof(g_line), &s, 0, NULL, 0),
		   "qid=0 cid=3 PropertyGet CSTS size=4", "Property Get CSTS");
	e = cqe_of(3, NVME_SC_SUCCESS, NVME_CSTS_RDY | NVME_CSTS_SHST_CMPLT, 0);
	check_line(trace_cqe(g_line, sizeof(g_line), &s, &e, 0),
		   "qid=0 cid=3 PropertyGet status=0x000 (Success) CSTS value=0x9 RDY=1 CFS=0 SHST=2 "
		   "NSSRO=0 PP=0",
		   "Property Get CSTS completion: RDY, and SHST 10b (shutdown complete) [BASE-2.0c §3.1.4]");

	s = prop_sqe(false, NVME_REG_VS, false, 0, 4);
	e = cqe_of(4, NVME_SC_SUCCESS, NVME_VS(2, 0, 0), 0);
	check_line(trace_cqe(g_line, sizeof(g_line), &s, &e, 0),
		   "qid=0 cid=4 PropertyGet status=0x000 (Success) VS value=0x20000 MJR=2 MNR=0 TER=0",
		   "Property Get VS completion: 2.0.0");

	s = prop_sqe(false, 0x30, false, 0, 5);
	check_line(trace_cmd(g_line, sizeof(g_line), &s, 0, NULL, 0),
		   "qid=0 cid=5 PropertyGet 0x30 size=4",
		   "Property Get of an offset no Fabrics property has: the offset in hex");
	e = cqe_of(5, NVME_SC_INVALID_FIELD | NVME_STATUS_DNR, 0x1234, 0);
	check_line(trace_cqe(g_line, sizeof(g_line), &s, &e, 0),
		   "qid=0 cid=5 PropertyGet status=0x002 (Invalid Field in Command) DNR",
		   "a failed Property Get: no value decoded from DW0");
}

/* ==================================================================== */
/* 3. Authentication, Disconnect: never an NSID                        */
/* ==================================================================== */

/* Bytes 4-7 of a Fabrics SQE are FCTYPE and reserved bytes, not an NSID:
 * no Fabrics line may print nsid=, whatever FCTYPE it carries. */
static void test_fabrics_other(void)
{
	struct nvme_sqe s = fabrics_sqe(NVMF_FCTYPE_AUTH_SEND, 6);
	struct nvmf_auth_cmd *a = (void *)&s;
	static const uint8_t fctypes[] = {
		NVMF_FCTYPE_PROP_SET, NVMF_FCTYPE_CONNECT, NVMF_FCTYPE_PROP_GET,
		NVMF_FCTYPE_AUTH_SEND, NVMF_FCTYPE_AUTH_RECV, NVMF_FCTYPE_DISCONNECT, 0x7e,
	};
	bool no_nsid = true;

	a->secp = NVMF_AUTH_SECP;
	a->spsp0 = a->spsp1 = NVMF_AUTH_SPSP;
	a->tl = htole32(72);
	check_line(trace_cmd(g_line, sizeof(g_line), &s, 0, NULL, 0),
		   "qid=0 cid=6 AuthSend secp=0xe9 spsp=0x0101 tl=72",
		   "Authentication Send: SECP, SPSP1:SPSP0, TL [BASE-2.0c §6.2, Fig. 545]");
	a->fctype = NVMF_FCTYPE_AUTH_RECV;
	check_line(trace_cmd(g_line, sizeof(g_line), &s, 0, NULL, 0),
		   "qid=0 cid=6 AuthRecv secp=0xe9 spsp=0x0101 al=72",
		   "Authentication Receive: the same bytes are AL [BASE-2.0c §6.1, Fig. 543]");
	s = fabrics_sqe(NVMF_FCTYPE_DISCONNECT, 7);
	check_line(trace_cmd(g_line, sizeof(g_line), &s, 2, NULL, 0),
		   "qid=2 cid=7 Disconnect recfmt=0", "Disconnect, on an I/O queue [BASE-2.0c §6.4]");

	/* Bytes 4-7 are FCTYPE and reserved bytes: a trace that printed them
	 * as an NSID would say "nsid=1" for every Connect. */
	for (size_t i = 0; i < ARRAY_SIZE(fctypes); i++) {
		s = fabrics_sqe(fctypes[i], 8);
		memset((uint8_t *)&s + 5, 0xff, 3);
		trace_cmd(g_line, sizeof(g_line), &s, 0, NULL, 0);
		no_nsid &= strstr(g_line, "nsid=") == NULL;
	}
	CHECK(no_nsid, "no Fabrics command shows nsid=: those bytes are FCTYPE [BASE-2.0c Fig. 541]");
	s = fabrics_sqe(0x7e, 9);
	check_line(trace_cmd(g_line, sizeof(g_line), &s, 0, NULL, 0),
		   "qid=0 cid=9 Fabrics? fctype=0x7e", "an unknown FCTYPE, in hex");
}

/* ==================================================================== */
/* 4. Admin commands                                                   */
/* ==================================================================== */

static void test_admin(void)
{
	struct nvme_sqe s = { .opcode = NVME_ADM_IDENTIFY, .cid = htole16(4),
			      .cdw10 = htole32(NVME_CNS_CTRL) };
	struct nvme_cqe e;

	check_line(trace_cmd(g_line, sizeof(g_line), &s, 0, NULL, 0),
		   "qid=0 cid=4 Identify Controller cns=0x01 nsid=0",
		   "Identify CNS 01h by name [BASE-2.0c Fig. 273]");
	s.cdw10 = htole32(NVME_CNS_NS_DESC_LIST);
	s.nsid = htole32(1);
	check_line(trace_cmd(g_line, sizeof(g_line), &s, 0, NULL, 0),
		   "qid=0 cid=4 Identify NamespaceDescriptors cns=0x03 nsid=1",
		   "Identify CNS 03h with its NSID");

	s = (struct nvme_sqe){ .opcode = NVME_ADM_GET_LOG_PAGE, .cid = htole16(10),
			       .cdw10 = htole32(NVME_LOG_DISC | 255u << 16) };
	check_line(trace_cmd(g_line, sizeof(g_line), &s, 0, NULL, 0),
		   "qid=0 cid=10 GetLogPage Discovery lid=0x70 nsid=0 numd=255 (1024 bytes) lpo=0",
		   "Get Log Page LID 70h: NUMD is 0's based dwords [BASE-2.0c §5.16, Fig. 197-201]");
	s.cdw10 = htole32(NVME_LOG_DISC | 1u << 15 | 0xffffu << 16);
	s.cdw11 = htole32(1);
	s.cdw12 = htole32(1024);
	s.nsid = htole32(0xffffffff);
	check_line(trace_cmd(g_line, sizeof(g_line), &s, 0, NULL, 0),
		   "qid=0 cid=10 GetLogPage Discovery lid=0x70 nsid=0xffffffff numd=131071 "
		   "(524288 bytes) lpo=1024 rae=1",
		   "Get Log Page: NUMDU above NUMDL, LPO, RAE, the broadcast NSID in hex");

	s = (struct nvme_sqe){ .opcode = NVME_ADM_SET_FEATURES, .cid = htole16(11),
			       .cdw10 = htole32(NVME_FEAT_NUM_QUEUES), .cdw11 = htole32(0x3f003f) };
	check_line(trace_cmd(g_line, sizeof(g_line), &s, 0, NULL, 0),
		   "qid=0 cid=11 SetFeatures NumberOfQueues fid=0x07 value=0x3f003f NSQR=63 NCQR=63",
		   "Set Features FID 07h: NSQR and NCQR, 0's based [BASE-2.0c §5.27, Fig. 317]");
	e = cqe_of(11, NVME_SC_SUCCESS, 0x70007, 0);
	check_line(trace_cqe(g_line, sizeof(g_line), &s, &e, 0),
		   "qid=0 cid=11 SetFeatures status=0x000 (Success) value=0x70007 NSQA=7 NCQA=7",
		   "Set Features FID 07h completion: what was allocated, NSQA/NCQA");
	s = (struct nvme_sqe){ .opcode = NVME_ADM_GET_FEATURES, .cid = htole16(12),
			       .cdw10 = htole32(NVME_FEAT_KATO) };
	check_line(trace_cmd(g_line, sizeof(g_line), &s, 0, NULL, 0),
		   "qid=0 cid=12 GetFeatures KeepAliveTimer fid=0x0f sel=current",
		   "Get Features: FID by name, SEL");
	e = cqe_of(12, NVME_SC_SUCCESS, 30000, 0);
	check_line(trace_cqe(g_line, sizeof(g_line), &s, &e, 0),
		   "qid=0 cid=12 GetFeatures status=0x000 (Success) value=0x7530 KATO=30000 ms",
		   "Get Features completion: the value, decoded by FID");
	s = (struct nvme_sqe){ .opcode = NVME_ADM_KEEP_ALIVE, .cid = htole16(13) };
	check_line(trace_cmd(g_line, sizeof(g_line), &s, 0, NULL, 0),
		   "qid=0 cid=13 KeepAlive", "Keep Alive: no fields");
}

/* ==================================================================== */
/* 5. I/O commands                                                     */
/* ==================================================================== */

static void test_io(void)
{
	struct nvme_sqe s = { .opcode = NVME_CMD_READ, .cid = htole16(9), .nsid = htole32(1),
			      .cdw10 = htole32(8), .cdw11 = htole32(1),
			      .cdw12 = htole32(7 | NVME_RW_FUA) };
	struct nvme_cqe e = cqe_of(9, NVME_SC_SUCCESS, 0, 0);

	check_line(trace_cmd(g_line, sizeof(g_line), &s, 1, NULL, 0),
		   "qid=1 cid=9 Read nsid=1 slba=4294967304 blocks=8 FUA",
		   "Read: SLBA over CDW10-11, NLB 0's based, FUA [NVM-1.0c Fig. 37]");
	check_line(trace_cqe(g_line, sizeof(g_line), &s, &e, 1),
		   "qid=1 cid=9 Read status=0x000 (Success)", "Read completion");
	trace_cmd(g_line, sizeof(g_line), &s, 0, NULL, 0);
	CHECK(!strncmp(g_line, "qid=0 cid=9 GetLogPage ", 23),
	      "opcode 02h on the admin queue is Get Log Page, not Read: the queue decides");
	s = (struct nvme_sqe){ .opcode = NVME_CMD_DSM, .cid = htole16(3), .nsid = htole32(2),
			       .cdw10 = htole32(3), .cdw11 = htole32(NVME_DSM_AD) };
	check_line(trace_cmd(g_line, sizeof(g_line), &s, 1, NULL, 0),
		   "qid=1 cid=3 DatasetMgmt nsid=2 ranges=4 AD",
		   "Dataset Management: NR 0's based, AD [NVM-1.0c Fig. 41]");
}

/* ==================================================================== */
/* 6. Status names                                                     */
/* ==================================================================== */

/* A status is named by SCT and SC together, and for command specific
 * codes also by the command: SC 82h is Connect Invalid Parameters after a
 * Connect and Attempted Write to Read Only Range after a Write, which is
 * why the SQE and the queue are passed along with the status. */
static void test_status(void)
{
	struct nvme_sqe id = { .opcode = NVME_ADM_IDENTIFY };
	struct nvme_sqe wr = { .opcode = NVME_CMD_WRITE };
	struct nvme_sqe con = fabrics_sqe(NVMF_FCTYPE_CONNECT, 0);
	struct nvme_cqe e = cqe_of(4, NVME_SC_INVALID_FIELD | NVME_STATUS_DNR, 0, 0);
	const struct { uint16_t st; const struct nvme_sqe *sqe; uint16_t qid;
			      const char *name; } cases[] = {
		{ NVME_SC_SUCCESS, &id, 0, "Success" },
		{ NVME_SC_INVALID_OPCODE, &id, 0, "Invalid Command Opcode" },
		{ NVME_SC_INVALID_NS, &id, 0, "Invalid Namespace or Format" },
		{ NVME_SC_CMD_SEQ_ERROR, &id, 0, "Command Sequence Error" },
		{ NVME_SC_TRANSIENT_TRANSPORT, &wr, 1, "Transient Transport Error" },
		{ NVME_SC_LBA_RANGE, &wr, 1, "LBA Out of Range" },
		{ NVME_SC_INVALID_LOG_PAGE, &id, 0, "Invalid Log Page" },
		{ NVME_SC_INVALID_QUEUE_SIZE, &con, 0, "Invalid Queue Size" },
		{ NVME_SC_CONNECT_INVALID_HOST, &con, 0, "Connect Invalid Host" },
		{ NVME_SC_CONNECT_INVALID_PARAM, &wr, 1, "Attempted Write to Read Only Range" },
		{ NVME_SC_AUTH_REQUIRED, &id, 0, "Authentication Required" },
		{ NVME_STATUS(1, 0xc0), &id, 0, "Command Specific Status" },
		{ NVME_SC_UNRECOVERED_READ, &wr, 1, "Unrecovered Read Error" },
		{ NVME_SC_COMPARE_FAILED, &wr, 1, "Compare Failure" },
		{ NVME_STATUS(7, 0x01), &id, 0, "Vendor Specific or Reserved Status Type" },
	};

	check_line(trace_cqe(g_line, sizeof(g_line), &id, &e, 0),
		   "qid=0 cid=4 Identify status=0x002 (Invalid Field in Command) DNR",
		   "a failed completion: SCT/SC by name, DNR [BASE-2.0c Fig. 93-94]");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check_line(trace_status_name(cases[i].st, cases[i].sqe, cases[i].qid), cases[i].name,
			   "status name, SCT/SC by command and queue");
}

/* ==================================================================== */
/* 7. A short buffer, a hostile Connect                                */
/* ==================================================================== */

/* trace.c reads what a peer sent, so a hostile Connect must not make it
 * read or write past a buffer: NQNs are bounded by their fields, the line
 * by the caller's buffer. make asan checks the accesses themselves. */
static void test_bounds(void)
{
	struct nvme_sqe s = fabrics_sqe(NVMF_FCTYPE_CONNECT, 0);
	struct nvmf_connect_data d;
	char small[16];

	/* NQNs with no NUL in their 256 bytes: read no further than that. */
	memset(&d, 'a', sizeof(d));
	trace_cmd(g_line, sizeof(g_line), &s, 0, &d, sizeof(d));
	CHECK(strstr(g_line, " hostnqn=") && strlen(strstr(g_line, " hostnqn=")) == 9 + 256,
	      "an unterminated HOSTNQN is shown as its 256 bytes, no more");
	CHECK(strlen(g_line) < sizeof(g_line), "the line stays within its buffer");
	check_line(trace_cmd(small, sizeof(small), &s, 0, &d, sizeof(d)), "qid=0 cid=0 Con",
		   "a buffer too short for the line: cut, still a string");
}

/* NVMe/TCP PDUs: the common header, then what tells this PDU apart; an
 * unknown type is named, not read past. */
static void test_pdu(void)
{
	struct nvme_tcp_r2t r = { .hdr = { .type = NVME_TCP_R2T, .hlen = 24, .plen = htole32(24) },
				  .cccid = htole16(7), .ttag = htole16(3),
				  .r2to = htole32(8192), .r2tl = htole32(4096) };
	struct nvme_tcp_data d = { .hdr = { .type = NVME_TCP_C2H_DATA, .hlen = 24, .pdo = 24,
					    .plen = htole32(24 + 512),
					    .flags = NVME_TCP_F_DATA_LAST | NVME_TCP_F_DATA_SUCCESS },
				   .cccid = htole16(9), .datal = htole32(512) };
	struct nvme_tcp_hdr odd = { .type = 0x42, .hlen = 8, .plen = htole32(8) };

	check_line(trace_pdu(g_line, sizeof(g_line), &r.hdr, &r),
		   "R2T         hlen=24 pdo=0 plen=24 flags=0x0 cccid=7 ttag=3 r2to=8192 r2tl=4096",
		   "an R2T: its command, tag and range");
	check_line(trace_pdu(g_line, sizeof(g_line), &d.hdr, &d),
		   "C2HData     hlen=24 pdo=24 plen=536 flags=0xc cccid=9 ttag=0 datao=0 datal=512 "
		   "LAST SUCCESS", "C2HData with LAST_PDU and SUCCESS");
	check_line(trace_pdu(g_line, sizeof(g_line), &odd, &odd),
		   "unknown     hlen=8 pdo=0 plen=8 flags=0x0", "a PDU type no spec defines");
}

int main(void)
{
	test_pdu();
	test_connect();
	test_properties();
	test_fabrics_other();
	test_admin();
	test_io();
	test_status();
	test_bounds();
	return test_done("trace_test");
}
