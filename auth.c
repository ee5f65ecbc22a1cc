/*
 * auth.c - NVMe in-band authentication with DH-HMAC-CHAP [BASE-2.0c §8.13],
 * both sides: the target's answer to Authentication Send/Receive, and the
 * host's exchange that `nvmf discover|identify|perf` run after Connect.
 *
 * A host NQN is a name anyone can type; a DHHC-1 secret shared by host and
 * target is a credential. When a host with a secret connects, the Connect
 * response sets AUTHREQ.ATR, and the queue refuses every command except
 * Authentication Send/Receive (status Authentication Required) until one
 * transaction succeeded. The Linux host runs it on the admin queue and on
 * every I/O queue:
 *
 *   host                                              controller (us)
 *   Connect                       ----------->
 *                                 <-----------  CNTLID | AUTHREQ.ATR
 *   Send  AUTH_Negotiate          ----------->  pick hash and DH group
 *   Recv                          <-----------  Challenge: C1, S1, g^x
 *   Send  Reply: R1, [C2, S2], g^y ---------->  check R1; key g^xy
 *   Recv                          <-----------  Success1 [R2]  (or Failure1)
 *   Send  Success2 (if C2 sent)   ----------->  queue authenticated
 *
 *   R1 = HMAC(Kh', Ca1 | S1 | T_ID | SC_C | "HostHost" | hostnqn | 0 | subnqn)
 *   R2 = HMAC(Kc', Ca2 | S2 | T_ID | 0 | "Controller" | subnqn | 0 | hostnqn)
 *   Kh' = the host secret, transformed with the host NQN if DHHC-1:0N, N > 0
 *   Ca = C itself with the null group, else HMAC(H(g^xy mod p), C)
 *
 * Keys are configured per host NQN: on the command line (main.c --host
 * --dhchap-key) they hold on every subsystem that host may reach, and on
 * the discovery subsystem with --dhchap-discovery; over RPC
 * (nvmf_subsystem_add_host with keyring keys, in rpc_methods.c) on one
 * subsystem, ahead of the command line's.
 * The hash and group are the strongest the host offers among those allowed
 * (--dhchap-digests, --dhchap-dhgroups). Crypto is OpenSSL's libcrypto
 * (HMAC, SHA-2, the RFC 7919 groups), CRC-32 is zlib's; the DH
 * arithmetic runs on a worker thread, off the reactors.
 *
 * Not implemented: secure channel concatenation (SC_C other than 0, the
 * TLS PSK it derives) [BASE-2.0c §8.13], because the target has no TLS;
 * an authentication timer of its own: a host that stops half way keeps its
 * queue unusable, and the admin queue's Keep Alive Timeout ends it.
 *
 * Tutorial chapter 13 reads this file top to bottom.
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/dh.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <zlib.h>

#include "nvmf.h"
#include "core.h"		/* nvmf_req_done: a Send answered late */

/* ==================================================================== */
/* Hash functions, DH groups, names                                    */
/* ==================================================================== */

#define AUTH_MAX_HL	64		/* SHA-512 */
#define AUTH_MAX_DHV	1024		/* ffdhe8192: 8192 bits */
#define AUTH_MSG_MAX	(sizeof(struct nvmf_auth_reply) + 2 * AUTH_MAX_HL + AUTH_MAX_DHV)

/* What the target accepts: bit N set = hash ID / DH group ID N allowed. */
uint32_t g_auth_digests = 1u << NVMF_AUTH_SHA256 | 1u << NVMF_AUTH_SHA384 | 1u << NVMF_AUTH_SHA512;
uint32_t g_auth_dhgroups = 0x3f;	/* null, ffdhe2048 ... ffdhe8192 */

/* Does the discovery controller ask too? Off by default: nvme-cli 2.3's
 * `nvme discover --dhchap-secret` does not hand the secret to the kernel
 * for a discovery controller, so a host with a secret could not discover
 * at all. nvmf's own host does (`nvmf discover --dhchap-secret`). */
bool g_auth_discovery;

static const char *const auth_hash_names[] = { NULL, "sha256", "sha384", "sha512" };
static const char *const auth_dh_names[] = {
	"null", "ffdhe2048", "ffdhe3072", "ffdhe4096", "ffdhe6144", "ffdhe8192",
};

/* The SHA-2 function of hash ID id, or NULL when the ID is not one. */
static const EVP_MD *auth_md(uint8_t id)
{
	return id == NVMF_AUTH_SHA256 ? EVP_sha256() : id == NVMF_AUTH_SHA384 ? EVP_sha384()
	       : id == NVMF_AUTH_SHA512 ? EVP_sha512() : NULL;
}

/* Hash length HL of hash ID id: 32, 48 or 64 bytes; 0 if unknown. */
static uint8_t auth_hl(uint8_t id)
{
	return id >= NVMF_AUTH_SHA256 && id <= NVMF_AUTH_SHA512 ? 16 + 16 * id : 0;
}

const char *auth_hash_name(uint8_t id)
{
	return id >= 1 && id < ARRAY_SIZE(auth_hash_names) ? auth_hash_names[id] : "?";
}

const char *auth_dh_name(uint8_t id)
{
	return id < ARRAY_SIZE(auth_dh_names) ? auth_dh_names[id] : "?";
}

/* Size of a group's public value and shared secret: p's bytes. */
static size_t auth_dh_len(uint8_t id)
{
	static const uint16_t bits[] = { 0, 2048, 3072, 4096, 6144, 8192 };

	return id < ARRAY_SIZE(bits) ? bits[id] / 8 : 0;
}

/* The failure explanations, for log lines [BASE-2.0c §8.13.5]. */
static const char *auth_fail_str(uint8_t exp)
{
	static const char *const s[] = {
		"?", "authentication failed", "authentication protocol not usable",
		"secure channel concatenation mismatch", "hash function not usable",
		"DH group not usable", "incorrect message", "incorrect payload",
	};

	return exp < ARRAY_SIZE(s) ? s[exp] : "?";
}

/*
 * Parse a comma-separated list of names (e.g. "sha256,sha512" or
 * "null,ffdhe4096") into an ID bit mask. Returns 0 or -EINVAL.
 */
static int auth_parse_list(const char *list, const char *const *names, size_t n, uint32_t *mask)
{
	char buf[256], *save = NULL;

	*mask = 0;
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < n && (!names[i] || strcmp(names[i], w)); i++)
			;
		if (i == n)
			return -EINVAL;
		*mask |= 1u << i;
	}
	return *mask ? 0 : -EINVAL;
}

int auth_set_digests(const char *list)
{
	return auth_parse_list(list, auth_hash_names, ARRAY_SIZE(auth_hash_names), &g_auth_digests);
}

int auth_set_dhgroups(const char *list)
{
	return auth_parse_list(list, auth_dh_names, ARRAY_SIZE(auth_dh_names), &g_auth_dhgroups);
}

/* ==================================================================== */
/* Secrets: the DHHC-1 representation                                  */
/* ==================================================================== */

/*
 * A secret as `nvme gen-dhchap-key` writes it [BASE-2.0c §8.13.5.8]:
 *
 *   DHHC-1:0N:<base64 of: key (32, 48 or 64 bytes) | CRC-32 of key, le>:
 *
 * N = 0: use the key as is; N = 1/2/3: transform it first with HMAC
 * SHA-256/384/512 keyed by it, over the NQN of its owner and the string
 * "NVMe-over-Fabrics" (so one secret gives each host its own key).
 */
struct auth_key {
	uint8_t hash;			/* N: 0, or the transform's hash ID */
	uint8_t len;
	uint8_t key[AUTH_MAX_HL];
};

/* Decode a DHHC-1 string into k, checking the CRC. Returns 0, or
 * -EINVAL with what is wrong in err. */
static int auth_key_parse(const char *s, struct auth_key *k, char *err, size_t errlen)
{
	uint8_t raw[AUTH_MAX_HL + 4 + 3];
	const char *b64 = s + 10, *end;
	int n;

	memset(k, 0, sizeof(*k));
	if (strncmp(s, "DHHC-1:0", 8) || s[8] < '0' || s[8] > '3' || s[9] != ':') {
		snprintf(err, errlen, "a secret starts DHHC-1:00: to DHHC-1:03:");
		return -EINVAL;
	}
	end = strchr(b64, ':');
	if (!end || end[1] || (end - b64) % 4 || end - b64 > 4 * (int)(sizeof(raw) / 3)) {
		snprintf(err, errlen, "a secret is DHHC-1:0N:<base64>: (nvme gen-dhchap-key)");
		return -EINVAL;
	}
	n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)(end - b64));
	n -= (end[-1] == '=') + (end[-2] == '=');	/* DecodeBlock counts padding */
	if (n != 36 && n != 52 && n != 68) {
		snprintf(err, errlen, "secret is %d bytes, want 32, 48 or 64 and a CRC", n - 4);
		return -EINVAL;
	}
	k->len = (uint8_t)(n - 4);
	memcpy(k->key, raw, k->len);
	if (crc32(0, raw, k->len) != le32toh(*(le32 *)(void *)(raw + k->len))) {
		snprintf(err, errlen, "secret's CRC-32 does not match (mistyped?)");
		return -EINVAL;
	}
	k->hash = (uint8_t)(s[8] - '0');
	return 0;
}

/* Kh' or Kc': k transformed for nqn as the header says (or copied). */
static int auth_key_transform(const struct auth_key *k, const char *nqn, struct auth_key *out)
{
	uint8_t msg[NVMF_NQN_SIZE + 17];
	size_t n = strlen(nqn);
	unsigned len = 0;

	*out = *k;
	if (!k->hash)
		return 0;
	memcpy(msg, nqn, n);
	memcpy(msg + n, "NVMe-over-Fabrics", 17);
	if (!HMAC(auth_md(k->hash), k->key, k->len, msg, n + 17, out->key, &len))
		return -EIO;
	out->len = (uint8_t)len;
	return 0;
}

/* Is s a DHHC-1 secret we can use? 0, or -EINVAL with why in err: for
 * config files, which check a secret before anything is configured. */
int auth_secret_check(const char *s, char *err, size_t errlen)
{
	struct auth_key k;
	int rc = auth_key_parse(s, &k, err, errlen);

	OPENSSL_cleanse(&k, sizeof(k));
	return rc;
}

/* A secret from the command line: the DHHC-1 string itself, or the name
 * of a file that holds it (as nvme gen-dhchap-key -o writes). */
int auth_secret_load(const char *arg, char *out, size_t len)
{
	FILE *f;
	char *nl;

	if (!strncmp(arg, "DHHC-1:", 7)) {
		snprintf(out, len, "%s", arg);
		return 0;
	}
	f = fopen(arg, "r");
	if (!f)
		return -errno;
	if (!fgets(out, (int)len, f))
		out[0] = 0;
	fclose(f);
	nl = strpbrk(out, " \r\n");
	if (nl)
		*nl = 0;
	return 0;
}

/* ==================================================================== */
/* The hosts we know a secret for                                      */
/* ==================================================================== */

struct auth_host {
	struct auth_host *next;
	char subnqn[NVMF_NQN_SIZE];	/* "": every subsystem (command line) */
	char hostnqn[NVMF_NQN_SIZE];
	struct auth_key key;		/* the host's: it proves itself with it */
	struct auth_key ctrl_key;	/* ours, for bidirectional: len 0 = none */
};

static struct auth_host *g_auth_hosts;

/* The entry for exactly (subnqn, hostnqn); subnqn NULL or "": every
 * subsystem. */
static struct auth_host **auth_host_slot(const char *subnqn, const char *hostnqn)
{
	struct auth_host **pp;

	for (pp = &g_auth_hosts; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->hostnqn, hostnqn) && !strcmp((*pp)->subnqn, subnqn ? subnqn : ""))
			break;
	return pp;
}

/* Give hostnqn the secret key (and ctrl_key, may be NULL) as DHHC-1
 * strings on subsystem subnqn (NULL: on every subsystem), replacing
 * earlier ones. Returns 0 or -EINVAL/-ENOMEM with err filled. */
int auth_host_set(const char *subnqn, const char *hostnqn, const char *key, const char *ctrl_key,
		  char *err, size_t errlen)
{
	struct auth_host h = { 0 }, *p;

	snprintf(h.subnqn, sizeof(h.subnqn), "%s", subnqn ? subnqn : "");
	snprintf(h.hostnqn, sizeof(h.hostnqn), "%s", hostnqn);
	if (auth_key_parse(key, &h.key, err, errlen) ||
	    (ctrl_key && auth_key_parse(ctrl_key, &h.ctrl_key, err, errlen)))
		return -EINVAL;
	p = *auth_host_slot(subnqn, hostnqn);
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		h.next = g_auth_hosts;
		g_auth_hosts = p;
	} else {
		h.next = p->next;
	}
	*p = h;
	return 0;
}

/* Forget hostnqn's secrets on subnqn (NULL: the every-subsystem ones). */
void auth_host_remove(const char *subnqn, const char *hostnqn)
{
	struct auth_host **pp = auth_host_slot(subnqn, hostnqn), *p = *pp;

	if (!p)
		return;
	*pp = p->next;
	OPENSSL_cleanse(p, sizeof(*p));
	free(p);
}

/* The secrets hostnqn uses on subnqn: that subsystem's own, else the
 * every-subsystem ones; NULL if none (no authentication). */
static const struct auth_host *auth_host_find(const char *subnqn, const char *hostnqn)
{
	const struct auth_host *p = *auth_host_slot(subnqn, hostnqn);

	return p ? p : *auth_host_slot(NULL, hostnqn);
}

/* ==================================================================== */
/* The computations both sides make                                    */
/* ==================================================================== */

/* A fresh DH key pair in group dhgid, its public value g^x mod p written
 * big-endian, zero-padded to the size of p, into pub. 0 or -EIO. */
static int auth_dh_keygen(uint8_t dhgid, EVP_PKEY **key, uint8_t *pub)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	unsigned char *enc = NULL;
	size_t n = 0;
	int rc = -EIO;

	*key = NULL;
	if (ctx && EVP_PKEY_keygen_init(ctx) > 0 &&
	    EVP_PKEY_CTX_set_group_name(ctx, auth_dh_name(dhgid)) > 0 &&
	    EVP_PKEY_generate(ctx, key) > 0 &&
	    (n = EVP_PKEY_get1_encoded_public_key(*key, &enc)) == auth_dh_len(dhgid)) {
		memcpy(pub, enc, n);
		rc = 0;
	}
	OPENSSL_free(enc);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/* The session key g^xy mod p from our key and the peer's public value
 * (which OpenSSL checks is in range). Padded to p's size. 0 or -EINVAL. */
static int auth_dh_derive(EVP_PKEY *ours, const uint8_t *peer_pub, size_t len, uint8_t *skey,
			  size_t *skey_len)
{
	EVP_PKEY *peer = EVP_PKEY_new();
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(ours, NULL);
	int rc = -EINVAL;

	*skey_len = AUTH_MAX_DHV;
	if (peer && ctx && EVP_PKEY_copy_parameters(peer, ours) > 0 &&
	    EVP_PKEY_set1_encoded_public_key(peer, peer_pub, len) > 0 &&
	    EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_CTX_set_dh_pad(ctx, 1) > 0 &&
	    EVP_PKEY_derive_set_peer(ctx, peer) > 0 && EVP_PKEY_derive(ctx, skey, skey_len) > 0)
		rc = 0;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	return rc;
}

/*
 * The response to challenge c: HMAC with key k over
 *
 *   Ca | seq (le32) | T_ID (le16) | SC_C (0) | role | nqn1 | 00h | nqn2
 *
 * role "HostHost" with host then subsystem NQN for R1, "Controller" with
 * subsystem then host NQN for R2 [BASE-2.0c §8.13.5]. With a DH group,
 * Ca = HMAC(H(session key), c), so the response also proves the key.
 * out gets hl bytes. Returns 0 or -EIO.
 */
static int auth_response(uint8_t hashid, const struct auth_key *k, const uint8_t *c,
			 const uint8_t *skey, size_t skey_len, uint32_t seq, uint16_t tid,
			 const char *role, const char *nqn1, const char *nqn2, uint8_t *out)
{
	uint8_t msg[AUTH_MAX_HL + 7 + 10 + 2 * NVMF_NQN_SIZE], hk[AUTH_MAX_HL];
	const EVP_MD *md = auth_md(hashid);
	size_t hl = auth_hl(hashid), n = hl;
	unsigned len = 0;

	memcpy(msg, c, hl);
	if (skey_len && (!EVP_Digest(skey, skey_len, hk, &len, md, NULL) ||
			 !HMAC(md, hk, (int)len, c, hl, msg, &len)))
		return -EIO;
	*(le32 *)(void *)(msg + n) = htole32(seq);
	*(le16 *)(void *)(msg + n + 4) = htole16(tid);
	msg[n + 6] = 0;				/* SC_C: no secure channel */
	n += 7;
	memcpy(msg + n, role, strlen(role));
	n += strlen(role);
	memcpy(msg + n, nqn1, strlen(nqn1) + 1);	/* with its NUL: the 00h */
	n += strlen(nqn1) + 1;
	memcpy(msg + n, nqn2, strlen(nqn2));
	n += strlen(nqn2);
	return HMAC(md, k->key, k->len, msg, n, out, &len) ? 0 : -EIO;
}

/* A sequence number: a counter from a random start, never 0 (S2 = 0 means
 * "no bidirectional authentication"). */
static uint32_t auth_seqnum(void)
{
	static _Atomic uint32_t seq;
	uint32_t s = atomic_fetch_add(&seq, 1);

	if (!s) {
		RAND_bytes((unsigned char *)&s, sizeof(s));
		s |= 1;
		atomic_store(&seq, s + 1);
	}
	return s;
}

/* --trace: one line per message, decoded, without the secret values. */
static void auth_trace(const char *dir, uint16_t qid, const void *buf, size_t len)
{
	const struct nvmf_auth_hdr *h = buf;
	const uint8_t *b = buf;

	if (!g_trace || len < sizeof(*h))
		return;
	if (h->auth_id == NVMF_AUTH_NEGOTIATE && h->auth_type == NVMF_AUTH_COMMON && len >= 72)
		nvmf_trace("auth %s qid=%u AUTH_Negotiate t_id=%u sc_c=%u napd=%u halen=%u dhlen=%u",
			   dir, qid, le16toh(h->t_id), b[6], b[7], b[10], b[11]);
	else if (h->auth_id == NVMF_AUTH_CHALLENGE && len >= 16)
		nvmf_trace("auth %s qid=%u DH-HMAC-CHAP_Challenge t_id=%u hash=%s dhgroup=%s hl=%u dhvlen=%u seqnum=%u",
			   dir, qid, le16toh(h->t_id), auth_hash_name(b[8]), auth_dh_name(b[9]), b[6],
			   b[10] | b[11] << 8, le32toh(*(const le32 *)(const void *)(b + 12)));
	else if (h->auth_id == NVMF_AUTH_REPLY && len >= 16)
		nvmf_trace("auth %s qid=%u DH-HMAC-CHAP_Reply t_id=%u hl=%u cvalid=%u dhvlen=%u seqnum=%u",
			   dir, qid, le16toh(h->t_id), b[6], b[8], b[10] | b[11] << 8,
			   le32toh(*(const le32 *)(const void *)(b + 12)));
	else if (h->auth_id == NVMF_AUTH_SUCCESS1 && len >= 16)
		nvmf_trace("auth %s qid=%u DH-HMAC-CHAP_Success1 t_id=%u hl=%u rvalid=%u", dir, qid,
			   le16toh(h->t_id), b[6], b[8]);
	else if (h->auth_id == NVMF_AUTH_SUCCESS2)
		nvmf_trace("auth %s qid=%u DH-HMAC-CHAP_Success2 t_id=%u", dir, qid, le16toh(h->t_id));
	else if ((h->auth_id == NVMF_AUTH_FAILURE1 || h->auth_id == NVMF_AUTH_FAILURE2) && len >= 8)
		nvmf_trace("auth %s qid=%u %s t_id=%u rescode=%u (%s)", dir, qid,
			   h->auth_id == NVMF_AUTH_FAILURE1 ? "AUTH_Failure1" : "DH-HMAC-CHAP_Failure2",
			   le16toh(h->t_id), b[7], auth_fail_str(b[7]));
	else
		nvmf_trace("auth %s qid=%u type=%u id=0x%x len=%zu (unknown)", dir, qid,
			   h->auth_type, h->auth_id, len);
}

/* ==================================================================== */
/* Target: one transaction per queue                                   */
/* ==================================================================== */

/*
 * The target's state per queue. Each Authentication Send moves it, each
 * Authentication Receive sends what the state says is next:
 *
 *            Send Negotiate ok          Recv: Challenge
 *   NEGOTIATE -------------> CHALLENGE --------------> REPLY
 *      ^  ^                                              | Send Reply, R1 ok
 *      |  |  Recv: Success1, no C2                       v
 *      |  +--- (authenticated) <---------------------- SUCCESS1
 *      |            ^                                    | Recv: Success1 + R2
 *      |            +------ Send Success2 ---------- SUCCESS2
 *      |
 *      +--- Recv: Failure1 <--- FAILURE1 <--- any Send that is wrong
 *
 * A Negotiate is welcome in any state: it starts a new transaction, which
 * is how a host re-authenticates a queue that is already in use.
 */
enum auth_step {
	AUTH_NEGOTIATE,		/* waiting for AUTH_Negotiate */
	AUTH_CHALLENGE,		/* waiting for a Receive: we send the Challenge */
	AUTH_REPLY,		/* waiting for DH-HMAC-CHAP_Reply */
	AUTH_SUCCESS1,		/* waiting for a Receive: we send Success1 */
	AUTH_SUCCESS2,		/* waiting for Success2 (bidirectional) */
	AUTH_FAILURE1,		/* waiting for a Receive: we send Failure1 */
};

struct auth_queue {
	enum auth_step step;
	uint8_t fail;			/* the Failure1 explanation */
	uint8_t hashid, dhgid;
	uint16_t tid;
	uint32_t s1, s2;
	bool bidir;			/* the host sent C2 */
	struct auth_key hkey, ckey;	/* transformed; ckey.len 0: none */
	bool cvalid;			/* the Reply carried C2 and S2 != 0 */
	uint8_t c1[AUTH_MAX_HL], c2[AUTH_MAX_HL];
	uint8_t r1[AUTH_MAX_HL];	/* the host's R1, checked once g^xy is known */
	EVP_PKEY *dh;			/* our key pair of this transaction */
	uint8_t pub[AUTH_MAX_DHV];	/* its public value g^x, for the Challenge */
	uint8_t skey[AUTH_MAX_DHV];
	size_t skey_len;
	struct auth_job *job;		/* DH work at the worker; NULL: none */
	char hostnqn[NVMF_NQN_SIZE], subnqn[NVMF_NQN_SIZE];
};

/* ==================================================================== */
/* DH work off the reactor                                             */
/* ==================================================================== */

/*
 * A DH key pair and a session key cost milliseconds. Measured natively
 * (OpenSSL 3.0 on a shared 2-core machine, the fastest of 10-30 runs),
 * one key pair + one session key: ffdhe2048 2 ms, ffdhe3072 7 ms,
 * ffdhe4096 23 ms, ffdhe6144 140 ms, ffdhe8192 155 ms; the session key
 * is most of it (OpenSSL checks g^y with a full-size exponent). A
 * reactor doing that itself stalls every other queue it serves for as
 * long, once for each queue the Linux host authenticates. So the reactor
 * hands it to a worker thread and the Send that needs it waits, as a
 * command waits for a backend:
 *
 *   reactor (q's)                 worker                   reactor (q's)
 *   Send Negotiate ---job-------> key pair      ---done--> a->dh, a->pub;
 *   Send Reply     ---job-------> g^xy mod p    (list +    check R1;
 *   (r waits; other queues go on) (the job only) wake fd)  answer r
 *
 * The job owns copies of all the worker reads (the group, the host's
 * g^y, a reference of its own to our key), so nothing of the queue is
 * touched off its reactor. While r waits its slot stays taken, so the
 * transport cannot free the queue (it frees a closed queue when its last
 * slot comes back); a queue that closes meanwhile frees its auth_queue,
 * which cuts the job loose (job->a = NULL), and the finished job just
 * gives r's slot back. One job per queue at a time: another Send or
 * Receive on that queue meanwhile is out of turn.
 *
 * Not implemented: more than one worker. Handshakes queue behind each
 * other (a host with 4 queues at ffdhe8192 waits ~4 x 155 ms), I/O does
 * not.
 */
enum auth_job_kind {
	AUTH_JOB_KEYGEN,		/* Negotiate chose a group: our key pair */
	AUTH_JOB_DERIVE,		/* Reply brought g^y: the session key */
};

struct auth_job {
	struct auth_job *next;
	enum auth_job_kind kind;
	struct nvmf_req *r;		/* the Send that waits for it */
	struct nvmf_reactor *reactor;	/* r's: where the result goes */
	struct auth_queue *a;		/* NULL once the queue closed */
	uint8_t dhgid;
	EVP_PKEY *dh;			/* keygen: made here; derive: a reference */
	uint8_t pub[AUTH_MAX_DHV];	/* keygen: our g^x; derive: the host's g^y */
	size_t pub_len;
	uint8_t skey[AUTH_MAX_DHV];	/* derive: g^xy mod p */
	size_t skey_len;
	int rc;				/* 0, or the crypto failed */
};

/* g_auth_lock guards the three lists and the worker's flags. Jobs wait
 * in todo (first in, first out), one runs (busy), finished ones wait in
 * done for their reactor, which counts them without the lock first. */
static pthread_mutex_t g_auth_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_auth_cond = PTHREAD_COND_INITIALIZER;	/* todo or stop */
static struct auth_job *g_auth_todo, **g_auth_todo_tail = &g_auth_todo;
static struct auth_job *g_auth_busy, *g_auth_done;
static atomic_uint g_auth_nr_done;
static pthread_t g_auth_worker;
static bool g_auth_worker_up, g_auth_worker_stop;

/* The worker: run each job, put it on done and wake its reactor (an
 * eventfd write, as when a queue is handed over). Until stopped. */
static void *auth_worker_main(void *arg)
{
	uint64_t one = 1;
	struct auth_job *j;

	(void)arg;
	pthread_mutex_lock(&g_auth_lock);
	for (;;) {
		while (!g_auth_todo && !g_auth_worker_stop)
			pthread_cond_wait(&g_auth_cond, &g_auth_lock);
		if (!(j = g_auth_todo))
			break;
		if (!(g_auth_todo = j->next))
			g_auth_todo_tail = &g_auth_todo;
		g_auth_busy = j;
		pthread_mutex_unlock(&g_auth_lock);
		if (j->kind == AUTH_JOB_KEYGEN)
			j->rc = auth_dh_keygen(j->dhgid, &j->dh, j->pub);
		else
			j->rc = auth_dh_derive(j->dh, j->pub, j->pub_len, j->skey, &j->skey_len);
		pthread_mutex_lock(&g_auth_lock);
		g_auth_busy = NULL;
		j->next = g_auth_done;
		g_auth_done = j;
		atomic_fetch_add(&g_auth_nr_done, 1);
		if (write(j->reactor->wake.fd, &one, sizeof(one)) < 0)
			LOG_ERR("waking reactor %d: %s", j->reactor->id, strerror(errno));
	}
	pthread_mutex_unlock(&g_auth_lock);
	return NULL;
}

static void auth_job_free(struct auth_job *j)
{
	EVP_PKEY_free(j->dh);
	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
}

/* Give r's DH step to the worker (started on first use). peer is the
 * host's g^y for a derive. true: r is answered by auth_job_finish();
 * false: no memory or no thread, and the caller fails the transaction. */
static bool auth_job_start(struct nvmf_req *r, enum auth_job_kind kind, const uint8_t *peer,
			   size_t len)
{
	struct auth_queue *a = r->q->auth;
	struct auth_job *j;
	int rc = 0;

	if ((kind == AUTH_JOB_DERIVE && !a->dh) || !(j = calloc(1, sizeof(*j))))
		return false;
	j->kind = kind;
	j->r = r;
	j->reactor = r->q->reactor;
	j->a = a;
	j->dhgid = a->dhgid;
	if (kind == AUTH_JOB_DERIVE) {
		EVP_PKEY_up_ref(a->dh);
		j->dh = a->dh;
		memcpy(j->pub, peer, len);
		j->pub_len = len;
	}
	pthread_mutex_lock(&g_auth_lock);
	if (!g_auth_worker_up) {
		g_auth_worker_stop = false;
		rc = pthread_create(&g_auth_worker, NULL, auth_worker_main, NULL);
		g_auth_worker_up = !rc;
	}
	if (!rc) {
		*g_auth_todo_tail = j;
		g_auth_todo_tail = &j->next;
		pthread_cond_signal(&g_auth_cond);
	}
	pthread_mutex_unlock(&g_auth_lock);
	if (rc) {
		LOG_ERR("qid=%u: cannot start the DH worker: %s", r->q->qid, strerror(rc));
		auth_job_free(j);
		return false;
	}
	a->job = j;
	return true;
}

static void auth_set_step(struct nvmf_queue *q, enum auth_step step)
{
	LOG_DBG("qid=%u auth step %d -> %d", q->qid, q->auth->step, step);
	q->auth->step = step;
}

/* A transaction failed: the next Receive answers Failure1 with exp, and
 * the queue is not authenticated (any more). */
static void auth_fail(struct nvmf_queue *q, uint8_t exp)
{
	LOG_WARN("qid=%u host %s: authentication failed: %s", q->qid, q->auth->hostnqn,
		 auth_fail_str(exp));
	q->auth->fail = exp;
	q->authenticated = false;
	auth_set_step(q, AUTH_FAILURE1);
}

/*
 * Connect: does hostnqn have a secret here? Then set up q's state and
 * return true, and the caller sets AUTHREQ.ATR in the response. A host
 * without a secret connects as before.
 */
bool auth_connect(struct nvmf_queue *q, const char *subnqn, const char *hostnqn)
{
	const struct auth_host *h = auth_host_find(subnqn, hostnqn);
	struct auth_queue *a;

	if (!h || (!g_auth_discovery && !strcmp(subnqn, NVMF_DISC_NQN)))
		return false;
	q->auth_required = true;
	q->authenticated = false;
	a = calloc(1, sizeof(*a));
	if (!a || auth_key_transform(&h->key, hostnqn, &a->hkey) ||
	    (h->ctrl_key.len && auth_key_transform(&h->ctrl_key, subnqn, &a->ckey))) {
		free(a);
		LOG_ERR("qid=%u: no memory or crypto to authenticate %s; refusing", q->qid, hostnqn);
		return true;	/* q->auth NULL: every Send fails */
	}
	snprintf(a->hostnqn, sizeof(a->hostnqn), "%s", hostnqn);
	snprintf(a->subnqn, sizeof(a->subnqn), "%s", subnqn);
	auth_queue_free(q);
	q->auth = a;
	return true;
}

/* The queue is closing (or connecting again): forget its state. A job
 * still at the worker is cut loose and finishes alone (see below). Runs
 * on q's reactor, as every job's ending does. */
void auth_queue_free(struct nvmf_queue *q)
{
	if (!q->auth)
		return;
	if (q->auth->job)
		q->auth->job->a = NULL;
	EVP_PKEY_free(q->auth->dh);
	OPENSSL_cleanse(q->auth, sizeof(*q->auth));
	free(q->auth);
	q->auth = NULL;
}

/* The strongest of the IDs in list[0..n) whose bit is set in allowed;
 * -1 if none. */
static int auth_pick(const uint8_t *list, unsigned n, uint32_t allowed)
{
	int best = -1;

	for (unsigned i = 0; i < n; i++)
		if (list[i] < 32 && (allowed >> list[i] & 1) && list[i] > best)
			best = list[i];
	return best;
}

/* AUTH_Negotiate [BASE-2.0c §8.13.5]: one DH-HMAC-CHAP descriptor, no
 * secure channel; choose hash and group. 0 or a failure explanation. */
static uint8_t auth_negotiate(struct auth_queue *a, const uint8_t *buf, uint32_t len)
{
	const struct nvmf_auth_negotiate *m = (const void *)buf;
	int hash, dh;

	if (len < sizeof(*m))
		return NVMF_AUTH_FAIL_INCORRECT_PAYLOAD;
	if (m->sc_c)
		return NVMF_AUTH_FAIL_CONCAT_MISMATCH;
	if (m->napd != 1 || m->authid != 1)
		return NVMF_AUTH_FAIL_NOT_USABLE;
	if (m->halen > 30 || m->dhlen > 30)
		return NVMF_AUTH_FAIL_INCORRECT_PAYLOAD;
	hash = auth_pick(m->idlist, m->halen, g_auth_digests & 0xe);
	dh = auth_pick(m->idlist + 30, m->dhlen, g_auth_dhgroups & 0x3f);
	if (hash < 0)
		return NVMF_AUTH_FAIL_HASH_UNUSABLE;
	if (dh < 0)
		return NVMF_AUTH_FAIL_DHGROUP_UNUSABLE;
	a->tid = le16toh(m->h.t_id);
	a->hashid = (uint8_t)hash;
	a->dhgid = (uint8_t)dh;
	a->bidir = false;
	a->skey_len = 0;
	EVP_PKEY_free(a->dh);		/* a key pair per transaction */
	a->dh = NULL;
	return 0;
}

/* DH-HMAC-CHAP_Reply [BASE-2.0c §8.13.5], first half: check its lengths
 * and keep R1, C2 and S2. The host's g^y is at *dhv (dhvlen bytes, 0
 * with the null group). 0 or a failure explanation. */
static uint8_t auth_reply_parse(struct auth_queue *a, const uint8_t *buf, uint32_t len,
				const uint8_t **dhv, uint16_t *dhvlen)
{
	const struct nvmf_auth_reply *m = (const void *)buf;
	uint8_t hl = auth_hl(a->hashid);

	if (len < sizeof(*m))
		return NVMF_AUTH_FAIL_INCORRECT_PAYLOAD;
	*dhvlen = le16toh(m->dhvlen);
	if (m->hl != hl || sizeof(*m) + 2u * hl + *dhvlen > len ||
	    *dhvlen != auth_dh_len(a->dhgid))
		return NVMF_AUTH_FAIL_INCORRECT_PAYLOAD;
	*dhv = m->rval + 2 * hl;
	memcpy(a->r1, m->rval, hl);
	memcpy(a->c2, m->rval + hl, hl);
	a->s2 = le32toh(m->seqnum);
	a->cvalid = m->cvalid && a->s2 != 0;
	return 0;
}

/* Second half, once the session key is known (a->skey; none with the
 * null group): is R1 right, and can we answer C2? 0 or an explanation. */
static uint8_t auth_reply_check(struct auth_queue *a)
{
	uint8_t want[AUTH_MAX_HL];

	if (auth_response(a->hashid, &a->hkey, a->c1, a->skey, a->skey_len, a->s1, a->tid,
			  "HostHost", a->hostnqn, a->subnqn, want))
		return NVMF_AUTH_FAIL_FAILED;
	if (CRYPTO_memcmp(want, a->r1, auth_hl(a->hashid)))	/* constant time */
		return NVMF_AUTH_FAIL_FAILED;
	a->bidir = a->cvalid;
	if (a->bidir && !a->ckey.len)	/* asks us to prove a key we lack */
		return NVMF_AUTH_FAIL_FAILED;
	return 0;
}

/* On r's reactor, the worker done with j: take the result into the
 * queue's state, move the transaction on, and answer the Send that
 * waited. A job whose queue closed only gives r's slot back. */
static void auth_job_finish(struct auth_job *j)
{
	struct nvmf_req *r = j->r;
	struct auth_queue *a = j->a;
	enum auth_job_kind kind = j->kind;
	uint8_t exp = 0;

	if (!a) {
		auth_job_free(j);
		nvmf_req_done(r, NVME_SC_ABORT_SQ_DELETED);
		return;
	}
	a->job = NULL;
	if (j->rc) {
		exp = kind == AUTH_JOB_KEYGEN ? NVMF_AUTH_FAIL_FAILED : NVMF_AUTH_FAIL_DHGROUP_UNUSABLE;
	} else if (kind == AUTH_JOB_KEYGEN) {
		a->dh = j->dh;		/* taken over */
		j->dh = NULL;
		memcpy(a->pub, j->pub, auth_dh_len(a->dhgid));
	} else {
		memcpy(a->skey, j->skey, j->skey_len);
		a->skey_len = j->skey_len;
		exp = auth_reply_check(a);
	}
	auth_job_free(j);
	if (exp)
		auth_fail(r->q, exp);
	else
		auth_set_step(r->q, kind == AUTH_JOB_KEYGEN ? AUTH_CHALLENGE : AUTH_SUCCESS1);
	nvmf_req_done(r, NVME_SC_SUCCESS);
}

/*
 * Each reactor pass (main.c): finish the jobs the worker did for reactor
 * rx. Returns how many, which the pass counts as work. The lock is taken
 * only when some job is done, for some reactor.
 */
int auth_reactor_poll(struct nvmf_reactor *rx)
{
	struct auth_job *mine = NULL, **pp = &g_auth_done, *j;
	int n = 0;

	if (!atomic_load(&g_auth_nr_done))
		return 0;
	pthread_mutex_lock(&g_auth_lock);
	while ((j = *pp)) {
		if (j->reactor != rx) {
			pp = &j->next;
			continue;
		}
		*pp = j->next;
		j->next = mine;
		mine = j;
		n++;
	}
	atomic_fetch_sub(&g_auth_nr_done, (unsigned)n);
	pthread_mutex_unlock(&g_auth_lock);
	for (; mine; mine = j) {
		j = mine->next;
		auth_job_finish(mine);
	}
	return n;
}

/* Is any job of rx's waiting, running or done? Caller holds g_auth_lock. */
static bool auth_reactor_has_jobs(struct nvmf_reactor *rx)
{
	struct auth_job *lists[] = { g_auth_todo, g_auth_done };

	if (g_auth_busy && g_auth_busy->reactor == rx)
		return true;
	for (int i = 0; i < 2; i++)
		for (struct auth_job *j = lists[i]; j; j = j->next)
			if (j->reactor == rx)
				return true;
	return false;
}

/* Shutdown, after rx closed its queues: wait for rx's jobs and finish
 * them, so each waiting Send gives its slot back and the transport can
 * free the queue. A job takes at most tens of milliseconds. */
void auth_reactor_drain(struct nvmf_reactor *rx)
{
	for (;;) {
		bool left;

		auth_reactor_poll(rx);
		pthread_mutex_lock(&g_auth_lock);
		left = auth_reactor_has_jobs(rx);
		pthread_mutex_unlock(&g_auth_lock);
		if (!left)
			return;
		usleep(1000);
	}
}

/* The checks every Authentication Send and Receive share [BASE-2.0c §6.1,
 * §6.2]: SECP E9h, SPSP 01h 01h, a non-zero length. */
static uint16_t auth_cmd_check(const struct nvmf_auth_cmd *c, uint16_t *loc)
{
	if (c->secp != NVMF_AUTH_SECP)
		*loc = offsetof(struct nvmf_auth_cmd, secp);
	else if (c->spsp0 != NVMF_AUTH_SPSP)
		*loc = offsetof(struct nvmf_auth_cmd, spsp0);
	else if (c->spsp1 != NVMF_AUTH_SPSP)
		*loc = offsetof(struct nvmf_auth_cmd, spsp1);
	else if (!le32toh(c->tl))
		*loc = offsetof(struct nvmf_auth_cmd, tl);
	else
		return 0;
	return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;
}

/* The target's end (after its reactors stopped, each drained): stop
 * the worker, free any job left (none, unless a reactor never drained),
 * and forget every secret. */
void auth_fini(void)
{
	struct auth_job *lists[] = { g_auth_todo, g_auth_done };

	pthread_mutex_lock(&g_auth_lock);
	g_auth_worker_stop = true;
	pthread_cond_signal(&g_auth_cond);
	pthread_mutex_unlock(&g_auth_lock);
	if (g_auth_worker_up)
		pthread_join(g_auth_worker, NULL);
	g_auth_worker_up = false;
	for (int i = 0; i < 2; i++)
		while (lists[i]) {
			struct auth_job *j = lists[i];

			lists[i] = j->next;
			auth_job_free(j);
		}
	g_auth_todo = g_auth_done = NULL;
	g_auth_todo_tail = &g_auth_todo;
	atomic_store(&g_auth_nr_done, 0);
	while (g_auth_hosts) {
		struct auth_host *p = g_auth_hosts;

		g_auth_hosts = p->next;
		OPENSSL_cleanse(p, sizeof(*p));
		free(p);
	}
}

/* Act on one message from the host, given the step we are in. Returns
 * true when r waits for DH work (auth_job_finish() answers it). */
static bool auth_send_msg(struct nvmf_req *r, const uint8_t *buf, uint32_t tl)
{
	const struct nvmf_auth_hdr *h = (const void *)buf;
	struct nvmf_queue *q = r->q;
	struct auth_queue *a = q->auth;
	const uint8_t *dhv = NULL;
	uint16_t dhvlen = 0;
	uint8_t exp;

	if (h->auth_type == NVMF_AUTH_COMMON && h->auth_id == NVMF_AUTH_NEGOTIATE) {
		if ((exp = auth_negotiate(a, buf, tl)))
			return auth_fail(q, exp), false;
		if (!a->dhgid) {	/* null group: nothing slow to do */
			auth_set_step(q, AUTH_CHALLENGE);
			return false;
		}
		if (auth_job_start(r, AUTH_JOB_KEYGEN, NULL, 0))
			return true;
		return auth_fail(q, NVMF_AUTH_FAIL_FAILED), false;
	}
	if (h->auth_type != NVMF_AUTH_DHCHAP)
		return auth_fail(q, NVMF_AUTH_FAIL_INCORRECT_MESSAGE), false;
	if (h->auth_id == NVMF_AUTH_FAILURE2) {	/* the host refuses us */
		LOG_WARN("qid=%u host %s refused the controller: %s", q->qid, a->hostnqn,
			 tl >= 8 ? auth_fail_str(buf[7]) : "?");
		q->authenticated = false;
		auth_set_step(q, AUTH_NEGOTIATE);
		return false;
	}
	if (le16toh(h->t_id) != a->tid)
		return auth_fail(q, NVMF_AUTH_FAIL_INCORRECT_PAYLOAD), false;
	if (h->auth_id == NVMF_AUTH_REPLY && a->step == AUTH_REPLY) {
		if ((exp = auth_reply_parse(a, buf, tl, &dhv, &dhvlen)))
			return auth_fail(q, exp), false;
		if (dhvlen)
			return auth_job_start(r, AUTH_JOB_DERIVE, dhv, dhvlen) ||
			       (auth_fail(q, NVMF_AUTH_FAIL_FAILED), false);
		exp = auth_reply_check(a);
		exp ? auth_fail(q, exp) : auth_set_step(q, AUTH_SUCCESS1);
		return false;
	}
	if (h->auth_id == NVMF_AUTH_SUCCESS2 && a->step == AUTH_SUCCESS2) {
		LOG_INFO("qid=%u host %s authenticated (bidirectional, %s, %s)", q->qid,
			 a->hostnqn, auth_hash_name(a->hashid), auth_dh_name(a->dhgid));
		q->authenticated = true;
		auth_set_step(q, AUTH_NEGOTIATE);
		return false;
	}
	auth_fail(q, NVMF_AUTH_FAIL_INCORRECT_MESSAGE);
	return false;
}

/*
 * Authentication Send [BASE-2.0c §6.2]: a message for us in r's data.
 * Returns the command's status; a bad field's offset goes to *loc. A
 * message we refuse still completes successfully: the refusal is the
 * Failure1 the host reads next. AUTH_ANSWER_LATER: r waits for DH work,
 * and auth_job_finish() completes it.
 */
uint16_t auth_send(struct nvmf_req *r, uint16_t *loc)
{
	const struct nvmf_auth_cmd *c = (const void *)&r->sqe;
	uint32_t tl = le32toh(c->tl);
	uint16_t st = auth_cmd_check(c, loc);

	if (st)
		return st;
	if (tl > r->data_len || tl > AUTH_MSG_MAX) {
		*loc = offsetof(struct nvmf_auth_cmd, tl);
		return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;
	}
	if (!r->q->auth) {	/* this host has no secret here */
		LOG_WARN("qid=%u: Authentication Send, but the host has no secret configured", r->q->qid);
		return NVME_SC_CMD_SEQ_ERROR | NVME_STATUS_DNR;
	}
	if (r->q->auth->job) {	/* the last Send still waits for its DH work */
		LOG_WARN("qid=%u: Authentication Send while the last one is in progress", r->q->qid);
		return NVME_SC_CMD_SEQ_ERROR | NVME_STATUS_DNR;
	}
	auth_trace("recv", r->q->qid, r->data, tl);
	if (tl < sizeof(struct nvmf_auth_hdr))
		auth_fail(r->q, NVMF_AUTH_FAIL_INCORRECT_PAYLOAD);
	else if (auth_send_msg(r, r->data, tl))
		return AUTH_ANSWER_LATER;
	return NVME_SC_SUCCESS;
}

/* DH-HMAC-CHAP_Challenge: a fresh C1 and S1, and with a DH group the
 * key pair the worker made after Negotiate. Returns the message length,
 * or 0 if crypto failed. */
static uint32_t auth_build_challenge(struct auth_queue *a, uint8_t *buf)
{
	struct nvmf_auth_challenge *m = (void *)buf;
	uint8_t hl = auth_hl(a->hashid);
	size_t dhv = auth_dh_len(a->dhgid);

	a->s1 = auth_seqnum();
	if (RAND_bytes(a->c1, hl) != 1 || (dhv && !a->dh))
		return 0;
	memcpy(m->cval + hl, a->pub, dhv);
	m->h.auth_type = NVMF_AUTH_DHCHAP;
	m->h.auth_id = NVMF_AUTH_CHALLENGE;
	m->h.t_id = htole16(a->tid);
	m->hl = hl;
	m->hashid = a->hashid;
	m->dhgid = a->dhgid;
	m->dhvlen = htole16((uint16_t)dhv);
	m->seqnum = htole32(a->s1);
	memcpy(m->cval, a->c1, hl);
	return (uint32_t)(sizeof(*m) + hl + dhv);
}

/* DH-HMAC-CHAP_Success1, with R2 if the host asked. 0 if crypto failed. */
static uint32_t auth_build_success1(struct auth_queue *a, uint8_t *buf)
{
	struct nvmf_auth_success1 *m = (void *)buf;
	uint8_t hl = auth_hl(a->hashid);

	m->h.auth_type = NVMF_AUTH_DHCHAP;
	m->h.auth_id = NVMF_AUTH_SUCCESS1;
	m->h.t_id = htole16(a->tid);
	m->hl = hl;
	if (!a->bidir)
		return sizeof(*m);
	m->rvalid = 1;
	if (auth_response(a->hashid, &a->ckey, a->c2, a->skey, a->skey_len, a->s2, a->tid,
			  "Controller", a->subnqn, a->hostnqn, m->rval))
		return 0;
	return sizeof(*m) + hl;
}

/* Build the message the current step sends; moves to the next step.
 * Returns its length (0: nothing to send now). */
static uint32_t auth_recv_msg(struct nvmf_queue *q, uint8_t *buf)
{
	struct auth_queue *a = q->auth;
	struct nvmf_auth_failure *f = (void *)buf;
	uint32_t n = 0;

	if (a->step == AUTH_CHALLENGE && (n = auth_build_challenge(a, buf)))
		auth_set_step(q, AUTH_REPLY);
	else if (a->step == AUTH_SUCCESS1 && (n = auth_build_success1(a, buf))) {
		q->authenticated = !a->bidir;
		if (!a->bidir)
			LOG_INFO("qid=%u host %s authenticated (%s, %s)", q->qid, a->hostnqn,
				 auth_hash_name(a->hashid), auth_dh_name(a->dhgid));
		auth_set_step(q, a->bidir ? AUTH_SUCCESS2 : AUTH_NEGOTIATE);
	} else if (a->step == AUTH_FAILURE1) {
		f->h.auth_type = NVMF_AUTH_COMMON;
		f->h.auth_id = NVMF_AUTH_FAILURE1;
		f->h.t_id = htole16(a->tid);
		f->rescode = 1;
		f->rescode_exp = a->fail;
		n = sizeof(*f);
		auth_set_step(q, AUTH_NEGOTIATE);
	} else if (a->step == AUTH_CHALLENGE || a->step == AUTH_SUCCESS1) {
		auth_fail(q, NVMF_AUTH_FAIL_FAILED);	/* our crypto failed */
		return auth_recv_msg(q, buf);
	}
	return n;
}

/*
 * Authentication Receive [BASE-2.0c §6.1]: send the host our next message
 * in r's data, at most AL bytes. Returns the command's status (Command
 * Sequence Error when we have nothing to say, as between a Negotiate
 * that is still to come and its Challenge).
 */
uint16_t auth_recv(struct nvmf_req *r, uint16_t *loc)
{
	const struct nvmf_auth_cmd *c = (const void *)&r->sqe;
	uint32_t al = le32toh(c->tl), n;
	uint8_t msg[AUTH_MSG_MAX] = { 0 };
	uint16_t st = auth_cmd_check(c, loc);

	if (st)
		return st;
	if (!r->q->auth) {
		LOG_WARN("qid=%u: Authentication Receive, but the host has no secret configured", r->q->qid);
		return NVME_SC_CMD_SEQ_ERROR | NVME_STATUS_DNR;
	}
	n = r->q->auth->job ? 0 : auth_recv_msg(r->q, msg);	/* not before the Send's answer */
	if (!n) {
		LOG_WARN("qid=%u: Authentication Receive out of turn", r->q->qid);
		return NVME_SC_CMD_SEQ_ERROR | NVME_STATUS_DNR;
	}
	if (n > al || n > r->data_len) {
		LOG_WARN("qid=%u: Authentication Receive AL %u < message %u bytes", r->q->qid, al, n);
		auth_fail(r->q, NVMF_AUTH_FAIL_INCORRECT_PAYLOAD);
		*loc = offsetof(struct nvmf_auth_cmd, tl);
		return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;
	}
	auth_trace("send", r->q->qid, msg, n);
	/* All AL bytes go back, the message zero-padded, as nvmet sends: a
	 * host may count a short transfer as an error. */
	al = al < r->data_len ? al : r->data_len;
	memcpy(r->data, msg, n);
	memset(r->data + n, 0, al - n);
	r->xfer_len = al;
	return NVME_SC_SUCCESS;
}

/* ==================================================================== */
/* Host: the same transaction from the other end                       */
/* ==================================================================== */

/* One Authentication Send (send) or Receive through the host's queue. */
static int auth_host_xfer(const struct auth_host_io *io, bool send, void *buf, uint32_t len)
{
	struct nvmf_auth_cmd c = { .opcode = NVME_FABRICS_OPCODE };

	c.fctype = send ? NVMF_FCTYPE_AUTH_SEND : NVMF_FCTYPE_AUTH_RECV;
	c.secp = NVMF_AUTH_SECP;
	c.spsp0 = c.spsp1 = NVMF_AUTH_SPSP;
	c.tl = htole32(len);
	if (send)
		auth_trace("send", io->qid, buf, len);
	if (io->exec(io->arg, (const struct nvme_sqe *)(const void *)&c, buf, len))
		return -EIO;	/* the caller's exec reported it */
	if (!send)
		auth_trace("recv", io->qid, buf, len);
	return 0;
}

/* The controller's answer was not what we wait for: say why. */
static int auth_host_unexpected(const struct auth_host_io *io, const uint8_t *m, uint8_t want)
{
	if (m[1] == NVMF_AUTH_FAILURE1)
		LOG_ERR("qid=%u: the controller refused us: %s", io->qid, auth_fail_str(m[7]));
	else
		LOG_ERR("qid=%u: expected AUTH message 0x%x, got type %u id 0x%x", io->qid, want,
			m[0], m[1]);
	return -EACCES;
}

/* Tell the controller we refuse it (DH-HMAC-CHAP_Failure2). */
static int auth_host_failure2(const struct auth_host_io *io, uint16_t tid, uint8_t exp)
{
	struct nvmf_auth_failure f = { .h.auth_type = NVMF_AUTH_DHCHAP,
				       .h.auth_id = NVMF_AUTH_FAILURE2 };

	f.h.t_id = htole16(tid);
	f.rescode = 1;
	f.rescode_exp = exp;
	auth_host_xfer(io, true, &f, sizeof(f));
	return -EACCES;
}

/* Send AUTH_Negotiate offering every hash and group, receive the
 * Challenge into buf (AUTH_MSG_MAX bytes). */
static int auth_host_negotiate(const struct auth_host_io *io, uint16_t tid, uint8_t *buf)
{
	struct nvmf_auth_negotiate n = { .h.auth_type = NVMF_AUTH_COMMON,
					 .h.auth_id = NVMF_AUTH_NEGOTIATE };
	int rc;

	n.h.t_id = htole16(tid);
	n.napd = 1;
	n.authid = 1;
	n.halen = 3;
	for (uint8_t i = 0; i < 3; i++)
		n.idlist[i] = NVMF_AUTH_SHA256 + i;
	n.dhlen = 6;
	for (uint8_t i = 0; i < 6; i++)
		n.idlist[30 + i] = i;
	rc = auth_host_xfer(io, true, &n, sizeof(n));
	if (!rc)
		rc = auth_host_xfer(io, false, buf, AUTH_MSG_MAX);
	return rc;
}

/* Check the Challenge and answer it with the Reply. */
static int auth_host_reply(const struct auth_host_io *io, struct auth_queue *a, uint8_t *buf)
{
	struct nvmf_auth_challenge *ch = (void *)buf;
	uint8_t msg[AUTH_MSG_MAX] = { 0 }, hl;
	struct nvmf_auth_reply *m = (void *)msg;
	size_t dhv;

	if (ch->h.auth_id != NVMF_AUTH_CHALLENGE)
		return auth_host_unexpected(io, buf, NVMF_AUTH_CHALLENGE);
	a->hashid = ch->hashid;
	a->dhgid = ch->dhgid;
	hl = auth_hl(a->hashid);
	dhv = auth_dh_len(a->dhgid);
	if (le16toh(ch->h.t_id) != a->tid || !hl || ch->hl != hl || a->dhgid > 5 ||
	    le16toh(ch->dhvlen) != dhv) {
		LOG_ERR("qid=%u: bad Challenge (t_id %u, hash %u, hl %u, group %u, dhvlen %u)",
			io->qid, le16toh(ch->h.t_id), ch->hashid, ch->hl, ch->dhgid, le16toh(ch->dhvlen));
		return auth_host_failure2(io, a->tid, NVMF_AUTH_FAIL_INCORRECT_PAYLOAD);
	}
	a->s1 = le32toh(ch->seqnum);
	if (dhv && (auth_dh_keygen(a->dhgid, &a->dh, m->rval + 2 * hl) ||
		    auth_dh_derive(a->dh, ch->cval + hl, dhv, a->skey, &a->skey_len)))
		return auth_host_failure2(io, a->tid, NVMF_AUTH_FAIL_DHGROUP_UNUSABLE);
	if (auth_response(a->hashid, &a->hkey, ch->cval, a->skey, a->skey_len, a->s1, a->tid,
			  "HostHost", a->hostnqn, a->subnqn, m->rval))
		return -EIO;
	m->h.auth_type = NVMF_AUTH_DHCHAP;
	m->h.auth_id = NVMF_AUTH_REPLY;
	m->h.t_id = htole16(a->tid);
	m->hl = hl;
	m->dhvlen = htole16((uint16_t)dhv);
	if (a->bidir) {
		a->s2 = auth_seqnum();
		if (RAND_bytes(a->c2, hl) != 1)
			return -EIO;
		m->cvalid = 1;
		m->seqnum = htole32(a->s2);
		memcpy(m->rval + hl, a->c2, hl);
	}
	return auth_host_xfer(io, true, msg, (uint32_t)(sizeof(*m) + 2 * hl + dhv));
}

/* Receive Success1; with a controller secret check R2 and send Success2. */
static int auth_host_success(const struct auth_host_io *io, struct auth_queue *a)
{
	uint8_t buf[AUTH_MSG_MAX] = { 0 }, want[AUTH_MAX_HL];
	struct nvmf_auth_success1 *m = (void *)buf;
	struct nvmf_auth_success2 s2 = { .h.auth_type = NVMF_AUTH_DHCHAP,
					 .h.auth_id = NVMF_AUTH_SUCCESS2 };
	uint8_t hl = auth_hl(a->hashid);
	int rc = auth_host_xfer(io, false, buf, AUTH_MSG_MAX);

	if (rc)
		return rc;
	if (m->h.auth_id != NVMF_AUTH_SUCCESS1)
		return auth_host_unexpected(io, buf, NVMF_AUTH_SUCCESS1);
	if (!a->bidir)
		return 0;
	if (!m->rvalid || m->hl != hl ||
	    auth_response(a->hashid, &a->ckey, a->c2, a->skey, a->skey_len, a->s2, a->tid,
			  "Controller", a->subnqn, a->hostnqn, want) ||
	    CRYPTO_memcmp(want, m->rval, hl)) {
		LOG_ERR("qid=%u: the controller's response R2 is wrong: it does not know "
			"the controller secret we were given", io->qid);
		return auth_host_failure2(io, a->tid, NVMF_AUTH_FAIL_FAILED);
	}
	s2.h.t_id = htole16(a->tid);
	return auth_host_xfer(io, true, &s2, sizeof(s2));
}

/*
 * Authenticate one queue as the host (after a Connect answered ATR):
 * Negotiate, Challenge, Reply, Success1 [, Success2]. io carries the NQNs,
 * the secrets (DHHC-1 strings; ctrl_secret NULL for unidirectional) and
 * how to run a command. Returns 0, -EACCES when refused or refusing (the
 * reason is logged), or -EINVAL/-EIO.
 */
int auth_host_run(const struct auth_host_io *io)
{
	static _Atomic uint16_t tids;
	uint8_t buf[AUTH_MSG_MAX] = { 0 };
	struct auth_queue *a = calloc(1, sizeof(*a));
	struct auth_key k;
	char err[128];
	int rc = -EINVAL;

	if (!a)
		return -ENOMEM;
	snprintf(a->hostnqn, sizeof(a->hostnqn), "%s", io->hostnqn);
	snprintf(a->subnqn, sizeof(a->subnqn), "%s", io->subnqn);
	a->tid = atomic_fetch_add(&tids, 1);
	a->bidir = io->ctrl_secret != NULL;
	if (auth_key_parse(io->secret, &k, err, sizeof(err)) ||
	    auth_key_transform(&k, a->hostnqn, &a->hkey) ||
	    (a->bidir && (auth_key_parse(io->ctrl_secret, &k, err, sizeof(err)) ||
			  auth_key_transform(&k, a->subnqn, &a->ckey)))) {
		LOG_ERR("--dhchap-secret/--dhchap-ctrl-secret: %s", err);
		goto out;
	}
	rc = auth_host_negotiate(io, a->tid, buf);
	if (!rc)
		rc = auth_host_reply(io, a, buf);
	if (!rc)
		rc = auth_host_success(io, a);
	if (!rc)
		LOG_INFO("qid=%u: authenticated%s with %s, DH group %s", io->qid,
			 a->bidir ? " both ways" : "", auth_hash_name(a->hashid),
			 auth_dh_name(a->dhgid));
out:
	OPENSSL_cleanse(&k, sizeof(k));
	EVP_PKEY_free(a->dh);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
	return rc;
}
