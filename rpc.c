/*
 * rpc.c - the control plane's server: SPDK-compatible JSON-RPC 2.0 on a
 * Unix socket, the dispatch table, and SPDK's save_config / load_config.
 *
 *   scripts/rpc.py, `nvmf rpc`, nc -U        the RPC thread (this file)
 *        |  {"jsonrpc":"2.0","method":M,        |
 *        |   "params":{..},"id":N}              +-- rpc_dispatch: g_rpc_methods[]
 *        v                                      |     (name -> handler)
 *   /var/tmp/spdk.sock ---accept---> read, parse (json-c), answer, read...
 *   (taken? a per-user path: rpc_start)
 *                                               |
 *                 rpc_methods.c: the methods on nvmf's objects
 *                     |                                 |
 *                  bdev.c (backends and         subsys.c live configuration
 *                  their registry)              (subsystems, namespaces,
 *                                               hosts, listeners, referrals)
 *
 * Sections, in order: constants and state; the parameter getters every
 * method uses; the application methods (version, reactors); save_config
 * and load_config; dispatch; the server. Each part is defined before its
 * first caller, so the request's own path reads from the bottom up: start
 * at rpc_start, then rpc_dispatch, then a method.
 *
 * Why two files: the server, dispatch and save_config are the machinery
 * every method shares and are read once; the methods themselves, in
 * rpc_methods.c, are a catalogue read one at a time.
 *
 * One thread, not reactor 0: a method may wait (removing a namespace
 * waits for the reactors to quiesce and for commands in flight; removing
 * a subsystem waits for its controllers to close), and a reactor that
 * waited would stall every queue it owns. The RPC thread is also the only
 * writer of the configuration, so methods need no lock against each
 * other; subsys.c takes g_config_lock for writing around each change,
 * and the reactors take it for reading where they walk the lists.
 *
 * Names, parameters and result shapes are SPDK's (doc/jsonrpc.md,
 * lib/nvmf/nvmf_rpc.c, module/bdev/.../..._rpc.c), so SPDK tutorials and
 * scripts/rpc.py work unchanged against nvmf: every parameter rpc.py
 * sends is accepted (those nvmf has no use for are named in one warning
 * per call), rpc.py's client-side save_config finds the framework_*
 * methods it is built on, and a configuration SPDK's nvmf_tgt saved
 * loads here, its tuning methods accepted and named as ignored. Errors are JSON-RPC 2.0
 * error objects: -32700 parse error, -32600 invalid request, -32601
 * method not found, -32602 invalid params (with a sentence saying which
 * and why), -32603 the change failed (with the reason).
 *
 * Not implemented: batch requests (arrays) [JSON-RPC 2.0 §6], which
 * rpc.py never sends; they get -32600.
 *
 * Tutorial chapter 09 reads this file.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <json.h>

#include "nvmf.h"
#include "rpc.h"

/* ==================================================================== */
/* Constants and state                                                 */
/* ==================================================================== */

#define RPC_DEFAULT_PATH	"/var/tmp/spdk.sock"	/* rpc.py's default */
#define RPC_MAX_REQUEST		(1u << 20)	/* a big load_config fits */
#define RPC_IDLE_MS		10000	/* a client silent this long is dropped */

static int g_rpc_fd = -1;		/* the listening Unix socket */
static int g_rpc_stop[2] = { -1, -1 };	/* a pipe: write to stop the thread */
static pthread_t g_rpc_thread;
static char g_rpc_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static struct stat g_rpc_st;		/* our socket file, to remove only it */

/* ==================================================================== */
/* Parameters: typed getters that say what is wrong                    */
/* ==================================================================== */

/* Fill e and return -1, so a handler can `return rpc_fail(...)`. */
int rpc_fail(struct rpc_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Check params against the keys a method knows: every key must be in
 * known (a space-separated list) or in ignored, which SPDK has but we
 * have no use for. rpc.py sends its defaults for many of those on every
 * call, so the ignored ones present are named together in ONE warning
 * per call: never silence, and never a log line per key.
 */
int rpc_check_keys(struct json_object *params, const char *method, const char *known,
			  const char *ignored, struct rpc_err *e)
{
	char skipped[512] = "";
	size_t n = 0;

	if (!params)
		return 0;
	if (!json_object_is_type(params, json_type_object))
		return rpc_fail(e, RPC_INVALID_PARAMS, "%s: params must be an object", method);
	json_object_object_foreach(params, key, val) {
		char pat[80];

		(void)val;
		snprintf(pat, sizeof(pat), " %s ", key);
		if (strstr(known, pat))
			continue;
		if (!ignored || !strstr(ignored, pat))
			return rpc_fail(e, RPC_INVALID_PARAMS, "%s: unknown parameter '%s'", method, key);
		if (n < sizeof(skipped))
			n += snprintf(skipped + n, sizeof(skipped) - n, "%s%s", n ? ", " : "", key);
	}
	if (n)
		LOG_WARN("%s: nvmf does not use %s; ignored", method, skipped);
	return 0;
}

/* A string member; *out stays dflt when absent and not required. */
int rpc_str(struct json_object *o, const char *key, bool required, const char **out,
		   struct rpc_err *e)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v)) {
		if (required)
			return rpc_fail(e, RPC_INVALID_PARAMS, "missing parameter '%s'", key);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return rpc_fail(e, RPC_INVALID_PARAMS, "parameter '%s' must be a string", key);
	*out = json_object_get_string(v);
	return 0;
}

/* A non-negative integer member no larger than max. */
int rpc_u64(struct json_object *o, const char *key, bool required, uint64_t max,
		   uint64_t *out, struct rpc_err *e)
{
	struct json_object *v;
	int64_t n;

	if (!o || !json_object_object_get_ex(o, key, &v)) {
		if (required)
			return rpc_fail(e, RPC_INVALID_PARAMS, "missing parameter '%s'", key);
		return 0;
	}
	if (!json_object_is_type(v, json_type_int))
		return rpc_fail(e, RPC_INVALID_PARAMS, "parameter '%s' must be an integer", key);
	n = json_object_get_int64(v);
	if (n < 0 || (uint64_t)n > max)
		return rpc_fail(e, RPC_INVALID_PARAMS, "parameter '%s' = %lld is out of range (0..%llu)",
				key, (long long)n, (unsigned long long)max);
	*out = n;
	return 0;
}

int rpc_bool(struct json_object *o, const char *key, bool *out, struct rpc_err *e)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return rpc_fail(e, RPC_INVALID_PARAMS, "parameter '%s' must be true or false", key);
	*out = json_object_get_boolean(v);
	return 0;
}

/* The subsystem named by params.nqn, or an error naming it. */
struct nvmf_subsys *rpc_subsys(struct json_object *params, struct rpc_err *e)
{
	const char *nqn = NULL;
	struct nvmf_subsys *s;

	if (rpc_str(params, "nqn", true, &nqn, e))
		return NULL;
	s = nvmf_subsys_lookup(nqn);
	if (!s)
		rpc_fail(e, RPC_INVALID_PARAMS, "subsystem %s does not exist", nqn);
	return s;
}

/* "8a3c...-..." or 32 hex digits -> 16 bytes. Returns 0 or -EINVAL. */
int rpc_parse_id128(const char *str, uint8_t out[16])
{
	int n = 0;

	for (const char *p = str; *p; p++) {
		unsigned v;

		if (*p == '-')
			continue;
		if (n == 32 || sscanf(p, "%1x", &v) != 1)
			return -EINVAL;
		out[n / 2] = (out[n / 2] << 4) | v;
		n++;
	}
	return n == 32 ? 0 : -EINVAL;
}

void rpc_fmt_uuid(const uint8_t u[16], char *buf)
{
	sprintf(buf, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
		u[12], u[13], u[14], u[15]);
}

void rpc_fmt_hex(const uint8_t *u, int n, char *buf)
{
	for (int i = 0; i < n; i++)
		sprintf(buf + 2 * i, "%02X", u[i]);
}

/* ==================================================================== */
/* Methods: the application (what a monitoring script asks first)      */
/* ==================================================================== */

static uint64_t g_rpc_start_ns;		/* CLOCK_MONOTONIC at rpc_start() */

static uint64_t rpc_now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

/* spdk_get_version: SPDK's shape, our name and numbers ("nvmf 0.1"). */
static int rpc_spdk_get_version(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	struct json_object *f = json_object_new_object();
	int major = 0, minor = 0;

	if (rpc_check_keys(p, "spdk_get_version", " ", NULL, e)) {
		json_object_put(f);
		return -1;
	}
	sscanf(NVMF_VERSION, "%d.%d", &major, &minor);
	json_object_object_add(f, "major", json_object_new_int(major));
	json_object_object_add(f, "minor", json_object_new_int(minor));
	json_object_object_add(f, "patch", json_object_new_int(0));
	json_object_object_add(f, "suffix", json_object_new_string(""));
	json_object_object_add(f, "commit", json_object_new_string(""));
	*res = json_object_new_object();
	json_object_object_add(*res, "version", json_object_new_string("nvmf " NVMF_VERSION));
	json_object_object_add(*res, "fields", f);
	return 0;
}

/*
 * framework_get_reactors: one entry per reactor thread. Ticks are
 * nanoseconds (tick_rate 1e9). busy is the CPU time the kernel charged
 * to the thread, so it is measured, not estimated; idle is the rest of
 * the time since the target started. in_interrupt is true because an
 * idle reactor sleeps in epoll_wait() (SPDK's interrupt mode) rather
 * than polling, which is also why its idle CPU is near zero.
 */
static int rpc_framework_get_reactors(struct json_object *p, struct json_object **res,
				      struct rpc_err *e)
{
	uint64_t elapsed = rpc_now_ns(CLOCK_MONOTONIC) - g_rpc_start_ns;
	struct json_object *arr;

	if (rpc_check_keys(p, "framework_get_reactors", " ", NULL, e))
		return -1;
	arr = json_object_new_array();
	for (int i = 0; i < g_nr_reactors; i++) {
		struct json_object *o = json_object_new_object(), *ths = json_object_new_array();
		struct json_object *th = json_object_new_object();
		uint64_t busy = 0, mask = 0;
		clockid_t clk;
		cpu_set_t set;
		char buf[32];
		int lcore = i;

		if (!pthread_getcpuclockid(g_reactors[i].thread, &clk))
			busy = rpc_now_ns(clk);
		if (!pthread_getaffinity_np(g_reactors[i].thread, sizeof(set), &set)) {
			for (int c = 0; c < 64; c++)
				mask |= CPU_ISSET(c, &set) ? 1ull << c : 0;
			if (CPU_COUNT(&set) == 1)
				lcore = __builtin_ctzll(mask);
		}
		json_object_object_add(o, "lcore", json_object_new_int(lcore));
		json_object_object_add(o, "busy", json_object_new_int64(busy));
		json_object_object_add(o, "idle", json_object_new_int64(elapsed > busy ? elapsed - busy : 0));
		json_object_object_add(o, "in_interrupt", json_object_new_boolean(1));
		snprintf(buf, sizeof(buf), "nvmf_reactor_%d", i);
		json_object_object_add(th, "name", json_object_new_string(buf));
		json_object_object_add(th, "id", json_object_new_int(i + 1));
		snprintf(buf, sizeof(buf), "%llx", (unsigned long long)mask);
		json_object_object_add(th, "cpumask", json_object_new_string(buf));
		json_object_object_add(th, "elapsed", json_object_new_int64(elapsed));
		json_object_array_add(ths, th);
		json_object_object_add(o, "lw_threads", ths);
		json_object_array_add(arr, o);
	}
	*res = json_object_new_object();
	json_object_object_add(*res, "tick_rate", json_object_new_int64(1000000000));
	json_object_object_add(*res, "reactors", arr);
	return 0;
}

/*
 * framework_wait_init and bdev_wait_for_examine: SPDK answers them when
 * its start-up (or its scan of new bdevs) is over. nvmf opens the RPC
 * socket only after the reactors run and -c FILE is applied, and a bdev
 * is whole when its create method returns, so both are already true.
 */
static int rpc_wait_init(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	if (rpc_check_keys(p, "framework_wait_init", " ", NULL, e))
		return -1;
	*res = json_object_new_boolean(1);
	return 0;
}

static int rpc_wait_for_examine(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	if (rpc_check_keys(p, "bdev_wait_for_examine", " ", NULL, e))
		return -1;
	*res = json_object_new_boolean(1);
	return 0;
}

/*
 * SPDK's tuning methods that nvmf has no counterpart for: socket
 * buffers, accel and bdev_io pools, its NVMe driver's retry policy, the
 * reactor scheduler, ... SPDK's save_config writes them at the top of
 * every file, and rpc.py's load_config refuses a file naming a method
 * the server does not list, so nvmf lists them, accepts them, and names
 * what it ignored in one warning.
 */
static int rpc_tuning(const char *method, struct json_object *p, struct json_object **res,
		      struct rpc_err *e)
{
	char keys[512] = "";
	size_t n = 0;

	if (p && !json_object_is_type(p, json_type_object))
		return rpc_fail(e, RPC_INVALID_PARAMS, "%s: params must be an object", method);
	if (p) {
		json_object_object_foreach(p, key, val) {
			(void)val;
			if (n < sizeof(keys))
				n += snprintf(keys + n, sizeof(keys) - n, "%s%s", n ? ", " : "", key);
		}
	}
	LOG_WARN("%s: SPDK tuning that nvmf has no counterpart for; ignored%s%s", method,
		 n ? ": " : "", keys);
	*res = json_object_new_boolean(1);
	return 0;
}

/* ==================================================================== */
/* save_config and load_config                                         */
/* ==================================================================== */

static void rpc_cfg_add(struct json_object *arr, const char *method, struct json_object *params)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "method", json_object_new_string(method));
	json_object_object_add(o, "params", params);
	json_object_array_add(arr, o);
}

/* The bdev section, oldest bdev first (the registry is newest first). */
static void rpc_save_bdevs(struct json_object *cfg, struct bdev_entry *rb)
{
	struct json_object *p;

	if (!rb)
		return;
	rpc_save_bdevs(cfg, rb->next);
	p = json_object_new_object();
	if (!strcmp(rb->method, "bdev_nvme_attach_controller")) {
		for (struct rpc_nvme_ctrl *c = g_nvme_ctrls; c; c = c->next) {
			if (strcmp(c->name, rb->ctrlr))
				continue;
			json_object_object_add(p, "name", json_object_new_string(c->name));
			json_object_object_add(p, "trtype", json_object_new_string(c->trtype));
			json_object_object_add(p, "traddr", json_object_new_string(c->traddr));
		}
	} else {
		json_object_object_add(p, "name", json_object_new_string(rb->b->name));
		if (rb->filename[0]) {
			json_object_object_add(p, "filename", json_object_new_string(rb->filename));
			if (rb->b->read_only)
				json_object_object_add(p, "readonly", json_object_new_boolean(1));
		} else
			json_object_object_add(p, "num_blocks", json_object_new_int64(rb->b->nblocks));
		json_object_object_add(p, "block_size", json_object_new_int64(rb->b->blksz));
	}
	rpc_cfg_add(cfg, rb->method, p);
}

static void rpc_save_listener(struct json_object *cfg, const char *nqn, const struct nvmf_listener *l)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "nqn", json_object_new_string(nqn));
	json_object_object_add(p, "listen_address",
			       rpc_address_json(l->trtype, l->adrfam, l->traddr, l->trsvcid));
	rpc_cfg_add(cfg, "nvmf_subsystem_add_listener", p);
}

static void rpc_save_subsys(struct json_object *cfg, struct nvmf_subsys *s)
{
	struct nvmf_listener *ports[64];
	struct json_object *p = json_object_new_object();
	int n = rpc_subsys_ports(s, ports, 64);

	json_object_object_add(p, "nqn", json_object_new_string(s->nqn));
	json_object_object_add(p, "allow_any_host", json_object_new_boolean(s->allow_any_host));
	json_object_object_add(p, "serial_number", json_object_new_string(s->sn));
	json_object_object_add(p, "model_number", json_object_new_string(s->mn));
	json_object_object_add(p, "max_namespaces", json_object_new_int64(s->max_ns));
	rpc_cfg_add(cfg, "nvmf_create_subsystem", p);
	for (int i = 0; i < n; i++)
		rpc_save_listener(cfg, s->nqn, ports[i]);
	for (int i = 0; i < s->nr_hosts; i++) {
		p = json_object_new_object();
		json_object_object_add(p, "nqn", json_object_new_string(s->nqn));
		json_object_object_add(p, "host", json_object_new_string(s->hosts[i]));
		for (struct rpc_dhchap *d = g_dhchap; d; d = d->next) {
			if (strcmp(d->nqn, s->nqn) || strcmp(d->host, s->hosts[i]))
				continue;
			json_object_object_add(p, "dhchap_key", json_object_new_string(d->key));
			if (d->ctrlr_key[0])
				json_object_object_add(p, "dhchap_ctrlr_key",
						       json_object_new_string(d->ctrlr_key));
		}
		rpc_cfg_add(cfg, "nvmf_subsystem_add_host", p);
	}
	for (int i = 0; i < NVMF_MAX_NS; i++) {
		struct json_object *ns;
		char buf[40];

		if (!s->ns[i])
			continue;
		p = json_object_new_object();
		ns = json_object_new_object();
		json_object_object_add(ns, "nsid", json_object_new_int64(s->ns[i]->nsid));
		json_object_object_add(ns, "bdev_name", json_object_new_string(s->ns[i]->bdev->name));
		rpc_fmt_hex(s->ns[i]->nguid, 16, buf);
		json_object_object_add(ns, "nguid", json_object_new_string(buf));
		rpc_fmt_uuid(s->ns[i]->uuid, buf);
		json_object_object_add(ns, "uuid", json_object_new_string(buf));
		json_object_object_add(p, "nqn", json_object_new_string(s->nqn));
		json_object_object_add(p, "namespace", ns);
		rpc_cfg_add(cfg, "nvmf_subsystem_add_ns", p);
	}
}

/* The keyring section: keyring_file_add_key for each key, oldest first. */
static struct json_object *rpc_keyring_json(void)
{
	struct json_object *cfg = json_object_new_array();
	struct rpc_key *order[64];
	int n = 0;

	for (struct rpc_key *k = g_keys; k && n < 64; k = k->next)
		order[n++] = k;
	while (n--) {
		struct json_object *p = json_object_new_object();

		json_object_object_add(p, "name", json_object_new_string(order[n]->name));
		json_object_object_add(p, "path", json_object_new_string(order[n]->path));
		rpc_cfg_add(cfg, "keyring_file_add_key", p);
	}
	return cfg;
}

/* The nvmf section: transports first, so a listener finds its own. */
static struct json_object *rpc_save_nvmf(void)
{
	struct json_object *cfg = json_object_new_array();
	struct nvmf_listener *ports[64];
	int n;

	if (g_keys || g_auth_digests != 0xe || g_auth_dhgroups != 0x3f)
		rpc_cfg_add(cfg, "nvmf_set_config", rpc_set_config_json());
	for (size_t i = 0; i < ARRAY_SIZE(g_transports); i++)
		if (g_transports[i].created)
			rpc_cfg_add(cfg, "nvmf_create_transport", rpc_transport_json(&g_transports[i]));
	n = rpc_subsys_ports(&g_discovery, ports, 64);
	for (int i = 0; i < n; i++)
		rpc_save_listener(cfg, NVMF_DISC_NQN, ports[i]);
	for (struct nvmf_subsys *s = g_subsystems; s; s = s->next)
		rpc_save_subsys(cfg, s);
	for (struct nvmf_referral *f = g_referrals; f; f = f->next)
		rpc_cfg_add(cfg, "nvmf_discovery_add_referral", rpc_referral_json(f));
	return cfg;
}

/*
 * SPDK calls the parts of its configuration "subsystems" (of the
 * application, not NVMe subsystems). nvmf has three: keyring (only when
 * a DH-HMAC-CHAP key was added; SPDK's order, keys before what uses
 * them), bdev, then nvmf, which names bdevs and keys and so loads last. rpc.py's save_config
 * asks framework_get_subsystems for the list and framework_get_config
 * for each section, so both methods and our own save_config read this.
 */
static const struct rpc_section {
	const char *name;
	const char *depends_on;		/* NULL: nothing */
} g_sections[] = {
	{ "keyring", NULL },
	{ "bdev", NULL },
	{ "nvmf", "bdev" },
};

/* A section is listed when it has something to say: keyring only with keys. */
static bool rpc_section_listed(const struct rpc_section *sec)
{
	return strcmp(sec->name, "keyring") || g_keys;
}

static struct json_object *rpc_section_config(const struct rpc_section *sec)
{
	struct json_object *cfg;

	if (!strcmp(sec->name, "keyring"))
		return rpc_keyring_json();
	if (strcmp(sec->name, "bdev"))
		return rpc_save_nvmf();
	cfg = json_object_new_array();
	rpc_save_bdevs(cfg, g_bdevs);
	return cfg;
}

/* framework_get_subsystems: the sections, each with what it needs first. */
static int rpc_framework_get_subsystems(struct json_object *p, struct json_object **res,
					struct rpc_err *e)
{
	if (rpc_check_keys(p, "framework_get_subsystems", " ", NULL, e))
		return -1;
	*res = json_object_new_array();
	for (size_t i = 0; i < ARRAY_SIZE(g_sections); i++) {
		struct json_object *o, *dep;

		if (!rpc_section_listed(&g_sections[i]))
			continue;
		o = json_object_new_object();
		dep = json_object_new_array();

		if (g_sections[i].depends_on)
			json_object_array_add(dep, json_object_new_string(g_sections[i].depends_on));
		json_object_object_add(o, "subsystem", json_object_new_string(g_sections[i].name));
		json_object_object_add(o, "depends_on", dep);
		json_object_array_add(*res, o);
	}
	return 0;
}

/* framework_get_config {"name": SECTION}: that section's method calls. */
static int rpc_framework_get_config(struct json_object *p, struct json_object **res,
				    struct rpc_err *e)
{
	const char *name = NULL;

	if (rpc_check_keys(p, "framework_get_config", " name ", NULL, e) ||
	    rpc_str(p, "name", true, &name, e))
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(g_sections); i++) {
		if (!strcmp(name, g_sections[i].name)) {
			*res = rpc_section_config(&g_sections[i]);
			return 0;
		}
	}
	return rpc_fail(e, RPC_INVALID_PARAMS, "framework_get_config: nvmf has no '%s' section "
			"(framework_get_subsystems lists them)", name);
}

/*
 * save_config: SPDK's layout, {"subsystems": [{"subsystem": "bdev",
 * "config": [...]}, {"subsystem": "nvmf", "config": [...]}]}, each entry
 * a method call that load_config replays in order. Command-line
 * subsystems are written as RPC ones listening on every I/O port, so
 * the saved file reloads to the same state. (rpc.py builds the same
 * document itself from the two framework_* methods above.)
 */
static int rpc_save_config(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	struct json_object *subs;

	if (rpc_check_keys(p, "save_config", " ", " indent ", e))
		return -1;
	subs = json_object_new_array();
	for (size_t i = 0; i < ARRAY_SIZE(g_sections); i++) {
		struct json_object *o;

		if (!rpc_section_listed(&g_sections[i]))
			continue;
		o = json_object_new_object();

		json_object_object_add(o, "subsystem", json_object_new_string(g_sections[i].name));
		json_object_object_add(o, "config", rpc_section_config(&g_sections[i]));
		json_object_array_add(subs, o);
	}
	*res = json_object_new_object();
	json_object_object_add(*res, "subsystems", subs);
	return 0;
}

static int rpc_call(const char *method, struct json_object *params, struct json_object **res,
		    struct rpc_err *e);

/*
 * Apply an SPDK-format configuration: every "config" entry of every
 * section, in order, as if it came over the socket. Sections and methods
 * that nvmf has no use for (accel, sock, iobuf, bdev_set_options, ...)
 * are named in a warning and skipped. Stops at the first failing entry.
 * Returns 0, or -EINVAL with "method: reason" in err.
 */
int rpc_load_config(struct json_object *cfg, char *err, size_t errlen)
{
	struct json_object *subs;

	if (!json_object_is_type(cfg, json_type_object) ||
	    !json_object_object_get_ex(cfg, "subsystems", &subs) ||
	    !json_object_is_type(subs, json_type_array)) {
		snprintf(err, errlen, "not an SPDK configuration: want {\"subsystems\": [...]}");
		return -EINVAL;
	}
	for (size_t i = 0; i < json_object_array_length(subs); i++) {
		struct json_object *sub = json_object_array_get_idx(subs, i), *name, *config;
		const char *sname;

		if (!json_object_object_get_ex(sub, "subsystem", &name) ||
		    !json_object_is_type(name, json_type_string)) {
			snprintf(err, errlen, "subsystems[%zu] has no \"subsystem\" name", i);
			return -EINVAL;
		}
		sname = json_object_get_string(name);
		if (!json_object_object_get_ex(sub, "config", &config) ||
		    json_object_is_type(config, json_type_null))
			continue;
		if (!json_object_is_type(config, json_type_array)) {
			snprintf(err, errlen, "subsystem %s: \"config\" must be an array", sname);
			return -EINVAL;
		}
		if (strcmp(sname, "bdev") && strcmp(sname, "nvmf") && strcmp(sname, "keyring")) {
			if (json_object_array_length(config))
				LOG_WARN("config: subsystem '%s' is not supported by nvmf; its %zu "
					 "entries were skipped", sname, json_object_array_length(config));
			continue;
		}
		for (size_t j = 0; j < json_object_array_length(config); j++) {
			struct json_object *ent = json_object_array_get_idx(config, j), *m, *params = NULL;
			struct json_object *res = NULL;
			struct rpc_err e = { 0 };
			const char *method;

			if (!json_object_object_get_ex(ent, "method", &m) ||
			    !json_object_is_type(m, json_type_string)) {
				snprintf(err, errlen, "%s config[%zu] has no \"method\"", sname, j);
				return -EINVAL;
			}
			method = json_object_get_string(m);
			json_object_object_get_ex(ent, "params", &params);
			if (rpc_call(method, params, &res, &e)) {
				if (e.code == RPC_METHOD_NOT_FOUND) {
					LOG_WARN("config: method '%s' is not supported by nvmf; skipped", method);
					continue;
				}
				snprintf(err, errlen, "%s: %s", method, e.msg);
				return -EINVAL;
			}
			json_object_put(res);
		}
	}
	return 0;
}

static int rpc_load_config_method(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	char err[512];

	if (!p)
		return rpc_fail(e, RPC_INVALID_PARAMS, "load_config needs the configuration as params");
	if (rpc_load_config(p, err, sizeof(err)))
		return rpc_fail(e, RPC_INVALID_PARAMS, "%s", err);
	*res = json_object_new_boolean(1);
	return 0;
}

/* ==================================================================== */
/* Dispatch                                                            */
/* ==================================================================== */

/* Declared ahead: the table names rpc_get_methods, which lists the table. */
static int rpc_get_methods(struct json_object *p, struct json_object **res, struct rpc_err *e);

static const struct rpc_method {
	const char *name;
	int (*fn)(struct json_object *params, struct json_object **res, struct rpc_err *e);
	const char *alias_of;		/* deprecated names the seed tutorials use */
	/* fn NULL: an SPDK tuning method, accepted and ignored (rpc_tuning) */
} g_rpc_methods[] = {
	{ "rpc_get_methods", rpc_get_methods, NULL },
	{ "bdev_malloc_create", rpc_bdev_malloc_create, NULL },
	{ "bdev_malloc_delete", rpc_bdev_malloc_delete, NULL },
	{ "bdev_null_create", rpc_bdev_null_create, NULL },
	{ "bdev_null_delete", rpc_bdev_null_delete, NULL },
	{ "bdev_aio_create", rpc_bdev_aio_create, NULL },
	{ "bdev_aio_delete", rpc_bdev_aio_delete, NULL },
	{ "bdev_uring_create", rpc_bdev_uring_create, NULL },
	{ "bdev_uring_delete", rpc_bdev_uring_delete, NULL },
	{ "bdev_nvme_attach_controller", rpc_bdev_nvme_attach, NULL },
	{ "bdev_nvme_detach_controller", rpc_bdev_nvme_detach, NULL },
	{ "bdev_nvme_get_controllers", rpc_bdev_nvme_get_controllers, NULL },
	{ "bdev_get_bdevs", rpc_bdev_get_bdevs, NULL },
	{ "bdev_get_iostat", rpc_bdev_get_iostat, NULL },
	{ "nvmf_create_transport", rpc_create_transport, NULL },
	{ "nvmf_get_transports", rpc_get_transports, NULL },
	{ "nvmf_create_subsystem", rpc_create_subsystem, NULL },
	{ "nvmf_delete_subsystem", rpc_delete_subsystem, NULL },
	{ "nvmf_get_subsystems", rpc_get_subsystems, NULL },
	{ "nvmf_subsystem_add_listener", rpc_add_listener, NULL },
	{ "nvmf_subsystem_remove_listener", rpc_remove_listener, NULL },
	{ "nvmf_subsystem_get_listeners", rpc_get_listeners, NULL },
	{ "nvmf_subsystem_add_ns", rpc_add_ns, NULL },
	{ "nvmf_subsystem_remove_ns", rpc_remove_ns, NULL },
	{ "nvmf_subsystem_add_host", rpc_add_host, NULL },
	{ "nvmf_set_config", rpc_set_config, NULL },
	{ "keyring_file_add_key", rpc_keyring_add, NULL },
	{ "keyring_file_remove_key", rpc_keyring_remove, NULL },
	{ "keyring_get_keys", rpc_keyring_get, NULL },
	{ "nvmf_subsystem_remove_host", rpc_remove_host, NULL },
	{ "nvmf_subsystem_allow_any_host", rpc_allow_any_host, NULL },
	{ "nvmf_subsystem_get_controllers", rpc_get_controllers, NULL },
	{ "nvmf_subsystem_get_qpairs", rpc_get_qpairs, NULL },
	{ "nvmf_get_stats", rpc_get_stats, NULL },
	{ "nvmf_discovery_add_referral", rpc_add_referral, NULL },
	{ "nvmf_discovery_remove_referral", rpc_remove_referral, NULL },
	{ "nvmf_discovery_get_referrals", rpc_get_referrals, NULL },
	{ "save_config", rpc_save_config, NULL },
	{ "framework_get_subsystems", rpc_framework_get_subsystems, NULL },
	{ "framework_get_config", rpc_framework_get_config, NULL },
	{ "framework_get_reactors", rpc_framework_get_reactors, NULL },
	{ "framework_wait_init", rpc_wait_init, NULL },
	{ "spdk_get_version", rpc_spdk_get_version, NULL },
	{ "bdev_wait_for_examine", rpc_wait_for_examine, NULL },
	/* Accepted and ignored (rpc_tuning): what SPDK's save_config writes. */
	{ "iobuf_set_options", NULL, NULL },
	{ "sock_set_default_impl", NULL, NULL },
	{ "sock_impl_set_options", NULL, NULL },
	{ "accel_set_options", NULL, NULL },
	{ "bdev_set_options", NULL, NULL },
	{ "bdev_nvme_set_options", NULL, NULL },
	{ "bdev_nvme_set_hotplug", NULL, NULL },
	{ "framework_set_scheduler", NULL, NULL },
	{ "nvmf_set_max_subsystems", NULL, NULL },
	{ "nvmf_set_crdt", NULL, NULL },
	{ "load_config", rpc_load_config_method, NULL },
	{ "get_nvmf_subsystems", rpc_get_subsystems, "nvmf_get_subsystems" },
	{ "delete_nvmf_subsystem", rpc_delete_subsystem, "nvmf_delete_subsystem" },
};

/* rpc_get_methods: every name; include_aliases adds the deprecated ones.
 * "current" (SPDK's startup/runtime states) is accepted: we have one. */
static int rpc_get_methods(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	bool aliases = false, current = false;

	if (rpc_check_keys(p, "rpc_get_methods", " current include_aliases ", NULL, e) ||
	    rpc_bool(p, "current", &current, e) || rpc_bool(p, "include_aliases", &aliases, e))
		return -1;
	*res = json_object_new_array();
	for (size_t i = 0; i < ARRAY_SIZE(g_rpc_methods); i++)
		if (aliases || !g_rpc_methods[i].alias_of)
			json_object_array_add(*res, json_object_new_string(g_rpc_methods[i].name));
	return 0;
}

static int rpc_call(const char *method, struct json_object *params, struct json_object **res,
		    struct rpc_err *e)
{
	for (size_t i = 0; i < ARRAY_SIZE(g_rpc_methods); i++) {
		if (strcmp(method, g_rpc_methods[i].name))
			continue;
		if (g_rpc_methods[i].alias_of)
			LOG_WARN("RPC method %s is deprecated: use %s", method, g_rpc_methods[i].alias_of);
		if (params && json_object_is_type(params, json_type_null))
			params = NULL;
		if (!g_rpc_methods[i].fn)
			return rpc_tuning(method, params, res, e);
		return g_rpc_methods[i].fn(params, res, e);
	}
	return rpc_fail(e, RPC_METHOD_NOT_FOUND, "Method not found: %s (rpc_get_methods lists them)",
			method);
}

/*
 * One request object -> one response object [JSON-RPC 2.0 §4-5]: a
 * "result", or an "error" with code and message. A request without "id"
 * is a notification: it runs, and nothing is answered (NULL).
 */
static struct json_object *rpc_dispatch(struct json_object *req)
{
	struct json_object *ver, *m, *params = NULL, *id = NULL, *res = NULL, *resp;
	struct rpc_err e = { 0 };
	int rc;

	if (!json_object_is_type(req, json_type_object) ||
	    !json_object_object_get_ex(req, "jsonrpc", &ver) ||
	    !json_object_is_type(ver, json_type_string) || strcmp(json_object_get_string(ver), "2.0") ||
	    !json_object_object_get_ex(req, "method", &m) || !json_object_is_type(m, json_type_string)) {
		rc = rpc_fail(&e, RPC_INVALID_REQUEST, "Invalid request: want an object with "
			      "\"jsonrpc\": \"2.0\", a string \"method\", optional \"params\" and \"id\"");
	} else {
		json_object_object_get_ex(req, "params", &params);
		if (params && !json_object_is_type(params, json_type_object) &&
		    !json_object_is_type(params, json_type_null))
			rc = rpc_fail(&e, RPC_INVALID_PARAMS, "params must be an object");
		else
			rc = rpc_call(json_object_get_string(m), params, &res, &e);
		if (rc)
			LOG_WARN("RPC %s: %s", json_object_get_string(m), e.msg);
		else
			LOG_INFO("RPC %s: done", json_object_get_string(m));
	}
	if (json_object_is_type(req, json_type_object) && !json_object_object_get_ex(req, "id", &id)) {
		json_object_put(res);
		return NULL;
	}
	resp = json_object_new_object();
	json_object_object_add(resp, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(resp, "id", id ? json_object_get(id) : NULL);
	if (rc) {
		struct json_object *err = json_object_new_object();

		json_object_object_add(err, "code", json_object_new_int(e.code));
		json_object_object_add(err, "message", json_object_new_string(e.msg));
		json_object_object_add(resp, "error", err);
	} else {
		json_object_object_add(resp, "result", res);
	}
	return resp;
}

/* ==================================================================== */
/* The server: a Unix socket, one client at a time                     */
/* ==================================================================== */

/* Write all of buf; a client that went away is not our problem. */
static int rpc_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EPIPE;
		buf += n;
		len -= n;
	}
	return 0;
}

static void rpc_reply(int fd, struct json_object *resp)
{
	const char *s;

	if (!resp)
		return;
	s = json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PLAIN);
	if (rpc_write_all(fd, s, strlen(s)) == 0)
		rpc_write_all(fd, "\n", 1);
	json_object_put(resp);
}

static struct json_object *rpc_error_resp(int code, const char *msg)
{
	struct json_object *resp = json_object_new_object(), *err = json_object_new_object();

	json_object_object_add(resp, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(resp, "id", NULL);
	json_object_object_add(err, "code", json_object_new_int(code));
	json_object_object_add(err, "message", json_object_new_string(msg));
	json_object_object_add(resp, "error", err);
	return resp;
}

/*
 * Serve one client: bytes go into json-c's incremental tokener, which
 * says when a whole value has arrived (rpc.py sends no delimiter). Each
 * value is answered, then the next is read from what follows it. The
 * client is dropped at EOF, after RPC_IDLE_MS of silence, after a parse
 * error (answered first: we cannot find the next request in garbage),
 * or when one request passes RPC_MAX_REQUEST bytes.
 */
static void rpc_serve_client(int fd)
{
	struct json_tokener *tok = json_tokener_new();
	size_t req_bytes = 0;
	char buf[4096];

	while (tok) {
		struct pollfd pfd[2] = { { fd, POLLIN, 0 }, { g_rpc_stop[0], POLLIN, 0 } };
		ssize_t n;
		size_t off = 0;

		if (poll(pfd, 2, RPC_IDLE_MS) <= 0 || pfd[1].revents)
			break;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;			/* gone, perhaps mid-request: drop it */
		while (off < (size_t)n) {
			struct json_object *req = json_tokener_parse_ex(tok, buf + off, n - off);
			enum json_tokener_error jerr = json_tokener_get_error(tok);
			size_t used = json_tokener_get_parse_end(tok);

			off += used;
			req_bytes += used;
			if (jerr == json_tokener_continue) {
				if (req_bytes > RPC_MAX_REQUEST) {
					LOG_WARN("RPC client sent over %u bytes in one request; dropped",
						 RPC_MAX_REQUEST);
					rpc_reply(fd, rpc_error_resp(RPC_INVALID_REQUEST,
								     "request too large"));
					goto out;
				}
				break;
			}
			if (jerr != json_tokener_success) {
				rpc_reply(fd, rpc_error_resp(RPC_PARSE_ERROR, json_tokener_error_desc(jerr)));
				goto out;
			}
			rpc_reply(fd, rpc_dispatch(req));
			json_object_put(req);
			json_tokener_reset(tok);
			req_bytes = 0;
			while (off < (size_t)n && strchr(" \t\r\n", buf[off]))
				off++;
		}
	}
out:
	if (tok)
		json_tokener_free(tok);
	close(fd);
}

static void *rpc_thread_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd pfd[2] = { { g_rpc_fd, POLLIN, 0 }, { g_rpc_stop[0], POLLIN, 0 } };
		int fd;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		fd = accept4(g_rpc_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			rpc_serve_client(fd);
	}
	return NULL;
}

/* Is a server answering on path? 0 if so, else connect()'s errno:
 * ECONNREFUSED for a file nobody listens on (stale), ENOENT for none,
 * EACCES for a socket we may not use. Non-blocking: a busy server (full
 * backlog, EAGAIN) is live, and must not stall our start the way a
 * blocking connect() would. */
static int rpc_path_probe(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int rc = 0;

	if (fd < 0)
		return errno;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) && errno != EAGAIN)
		rc = errno;
	close(fd);
	return rc;
}

/*
 * A listening socket on p, or -errno with err saying why not and what
 * to do. A socket file nobody answers on is stale and is replaced, but
 * never a file that is not a socket, and never one we may not remove:
 * in /var/tmp (sticky) a socket left by another user, typically root's
 * after `sudo ./nvmf` was killed, is only removable by its owner.
 */
static int rpc_listen(const char *p, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, rc;

	if (strlen(p) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "RPC socket path %s is too long (at most %zu bytes)", p,
			 sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p);
	rc = rpc_path_probe(&sa);
	if (rc == 0) {
		snprintf(err, errlen, "RPC socket %s is in use by another server: stop it, or "
			 "pick another path with -r PATH", p);
		return -EADDRINUSE;
	}
	if (lstat(p, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "RPC socket path %s exists and is not a socket: "
				 "remove it, or pick another path with -r PATH", p);
			return -EEXIST;
		}
		if (rc == EACCES) {	/* we cannot even tell whether it is live */
			snprintf(err, errlen, "RPC socket %s belongs to uid %u and uid %u may not "
				 "use it (%s): stop that server or remove the file as its owner "
				 "(sudo rm %s), or pick another path with -r PATH", p,
				 (unsigned)st.st_uid, (unsigned)geteuid(), strerror(rc), p);
			return -EACCES;
		}
		rc = unlink(p) ? -errno : 0;	/* stale: ours to replace, if we may */
		if (rc == -EPERM || rc == -EACCES) {
			snprintf(err, errlen, "RPC socket %s is left over from a server run by uid "
				 "%u, and uid %u cannot remove it (%s): remove it as its owner "
				 "(sudo rm %s), or pick another path with -r PATH", p,
				 (unsigned)st.st_uid, (unsigned)geteuid(), strerror(-rc), p);
			return rc;
		}
		if (rc) {		/* EROFS, ... */
			snprintf(err, errlen, "RPC socket %s is stale and cannot be removed (%s): "
				 "pick a path in a writable directory with -r PATH", p,
				 strerror(-rc));
			return rc;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
		rc = -errno;
		snprintf(err, errlen, "cannot listen on RPC socket %s: %s: pick a path in a "
			 "writable directory with -r PATH", p, strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	return fd;
}

/* Where a user whose default path is taken gets RPC instead: a path of
 * their own, so two users' targets never fight over it. */
static void rpc_fallback_path(char *buf, size_t len)
{
	const char *dir = getenv("XDG_RUNTIME_DIR");	/* per user by definition */

	if (dir && *dir)
		snprintf(buf, len, "%s/nvmf.sock", dir);
	else
		snprintf(buf, len, "/tmp/nvmf-%u.sock", (unsigned)geteuid());
}

/* Register the bdevs the command line made, so they can be listed,
 * saved and released like any other. */
static void rpc_bdev_adopt(void)
{
	for (struct nvmf_subsys *s = g_subsystems; s; s = s->next)
		for (int i = 0; i < NVMF_MAX_NS; i++)
			if (s->ns[i] && bdev_adopt(s->ns[i]->bdev))
				return;		/* out of memory: it stays unlisted */
}

/*
 * Listen on path and start the RPC thread. An explicit path (-r) that
 * cannot be used is an error naming the cause. SPDK's default path,
 * /var/tmp/spdk.sock (path NULL), is shared by every target and user of
 * the machine, and RPC is optional for a target given its configuration
 * on the command line, so there one warning says why and what to do,
 * and RPC moves to a per-user path (rpc_socket_path() tells the banner)
 * or, if that fails too, is off. Returns 0 (RPC on), 1 (RPC off), or
 * -errno with err set.
 */
int rpc_start(const char *path, char *err, size_t errlen)
{
	char why[512], alt[sizeof(g_rpc_path)];
	const char *p = path ? path : RPC_DEFAULT_PATH;
	int fd = rpc_listen(p, why, sizeof(why));

	if (fd < 0 && path) {
		snprintf(err, errlen, "%s", why);
		return fd;
	}
	if (fd < 0) {
		rpc_fallback_path(alt, sizeof(alt));
		fd = rpc_listen(alt, err, errlen);
		if (fd < 0) {
			LOG_WARN("%s; the fallback %s failed too (%s): running without RPC",
				 why, alt, err);
			return 1;
		}
		LOG_WARN("%s; meanwhile RPC is on %s (rpc.py -s %s)", why, alt, alt);
		p = alt;
	}
	g_rpc_fd = fd;
	rpc_bdev_adopt();
	for (struct nvmf_listener *l = g_listeners; l; l = l->next) {	/* the command line's */
		struct rpc_transport *t = rpc_transport_of(l->trtype);

		uint32_t mio = t->trtype == NVMF_TRTYPE_TCP ? g_tcp_max_io_size : g_rdma_max_io_size;

		if (!t->created)
			*t = (struct rpc_transport){ t->name, t->trtype, true, g_limits.max_queue_depth,
						     g_limits.max_io_qpairs, g_limits.io_icd, mio,
						     mio < NVMF_MAX_DATA ? mio : NVMF_MAX_DATA };
	}
	snprintf(g_rpc_path, sizeof(g_rpc_path), "%s", p);
	stat(p, &g_rpc_st);
	if (pipe2(g_rpc_stop, O_CLOEXEC) == 0 &&
	    pthread_create(&g_rpc_thread, NULL, rpc_thread_main, NULL)) {
		close(g_rpc_stop[1]);		/* no thread for rpc_stop() to join */
		g_rpc_stop[1] = -1;
	}
	if (g_rpc_stop[1] < 0) {
		snprintf(err, errlen, "cannot start the RPC thread");
		rpc_stop();
		return -EAGAIN;
	}
	g_rpc_start_ns = rpc_now_ns(CLOCK_MONOTONIC);
	LOG_INFO("JSON-RPC on %s", p);
	return 0;
}

/* The socket RPC listens on, for the banner; NULL when RPC is off. */
const char *rpc_socket_path(void)
{
	return g_rpc_path[0] ? g_rpc_path : NULL;
}

/* Does a namespace hold b? bdev_registry_free leaves those to nvmf_fini(). */
static bool rpc_bdev_claimed(const struct nvmf_bdev *b)
{
	return nvmf_bdev_owner(b, NULL) != NULL;
}

/* Stop the RPC thread, remove the socket file, free the bdev registry
 * (unclaimed bdevs with it; claimed ones go with their namespace in
 * nvmf_fini()). Safe to call when rpc_start() failed or never ran. */
void rpc_stop(void)
{
	struct stat st;

	if (g_rpc_path[0] && g_rpc_stop[1] >= 0) {
		if (write(g_rpc_stop[1], "x", 1) < 0)
			LOG_ERR("stopping the RPC thread: %s", strerror(errno));
		pthread_join(g_rpc_thread, NULL);
	}
	if (g_rpc_fd >= 0)
		close(g_rpc_fd);
	/* Another target may have replaced the file since (two started at
	 * once and both found it stale): remove it only if it is still ours. */
	if (g_rpc_path[0] && stat(g_rpc_path, &st) == 0 &&
	    st.st_dev == g_rpc_st.st_dev && st.st_ino == g_rpc_st.st_ino)
		unlink(g_rpc_path);
	for (int i = 0; i < 2; i++)
		if (g_rpc_stop[i] >= 0)
			close(g_rpc_stop[i]);
	g_rpc_fd = g_rpc_stop[0] = g_rpc_stop[1] = -1;
	g_rpc_path[0] = 0;
	bdev_registry_free(rpc_bdev_claimed);
	while (g_nvme_ctrls) {
		struct rpc_nvme_ctrl *c = g_nvme_ctrls;

		g_nvme_ctrls = c->next;
		free(c);
	}
	while (g_keys) {
		struct rpc_key *k = g_keys;

		g_keys = k->next;
		free(k);
	}
	while (g_dhchap) {
		struct rpc_dhchap *d = g_dhchap;

		g_dhchap = d->next;
		free(d);
	}
}
