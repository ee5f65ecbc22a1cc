/*
 * rpc.c - the control plane: SPDK-compatible JSON-RPC 2.0 on a Unix
 * socket, and SPDK's save_config / load_config format.
 *
 *   scripts/rpc.py, `nvmf rpc`, nc -U        the RPC thread (this file)
 *        |  {"jsonrpc":"2.0","method":M,        |
 *        |   "params":{..},"id":N}              +-- rpc_dispatch: g_rpc_methods[]
 *        v                                      |     (name -> handler)
 *   /var/tmp/spdk.sock ---accept---> read, parse (json-c), answer, read...
 *   (taken? a per-user path: rpc_start)
 *                                               |
 *                  bdev registry (here)  <------+-----> nvmf.c live configuration
 *                  malloc, null, aio,                   (subsystems, namespaces,
 *                  uring, nvme                          hosts, listeners, referrals)
 *
 * One thread, not reactor 0: a method may wait (removing a namespace
 * waits for the reactors to quiesce and for commands in flight; removing
 * a subsystem waits for its controllers to close), and a reactor that
 * waited would stall every queue it owns. The RPC thread is also the only
 * writer of the configuration, so methods need no lock against each
 * other; nvmf.c takes g_config_lock where reactors read.
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

/* ==================================================================== */
/* Constants and state                                                 */
/* ==================================================================== */

#define RPC_DEFAULT_PATH	"/var/tmp/spdk.sock"	/* rpc.py's default */
#define RPC_MAX_REQUEST		(1u << 20)	/* a big load_config fits */
#define RPC_IDLE_MS		10000	/* a client silent this long is dropped */

/* JSON-RPC 2.0 error codes [JSON-RPC 2.0 §5.1]. */
#define RPC_PARSE_ERROR		-32700
#define RPC_INVALID_REQUEST	-32600
#define RPC_METHOD_NOT_FOUND	-32601
#define RPC_INVALID_PARAMS	-32602
#define RPC_INTERNAL_ERROR	-32603

/* A method's answer when it fails: code and a sentence. */
struct rpc_err {
	int code;
	char msg[512];
};

/*
 * A bdev as SPDK knows it: created by name, then claimed by at most one
 * namespace. We remember how it was made, for bdev_get_bdevs and
 * save_config. A bdev given on the command line (--ns) is registered
 * with the method that would make it again.
 */
struct rpc_bdev {
	struct rpc_bdev *next;
	struct nvmf_bdev *b;
	const char *method;		/* bdev_malloc_create, ... */
	char filename[256];		/* aio, uring */
	char ctrlr[64];			/* nvme: the controller it belongs to */
};

/* A controller attached with bdev_nvme_attach_controller. */
struct rpc_nvme_ctrl {
	struct rpc_nvme_ctrl *next;
	char name[64];
	char trtype[16];		/* PCIe, or "sim" for the simulator */
	char traddr[64];
};

/* What nvmf_create_transport said, echoed by get_transports/save_config. */
struct rpc_transport {
	const char *name;		/* "TCP", "RDMA" */
	uint8_t trtype;			/* NVMF_TRTYPE_* */
	bool created;
	uint32_t max_queue_depth, max_io_qpairs, in_capsule_data_size;
	uint32_t max_io_size, io_unit_size;
};

static struct rpc_bdev *g_bdevs;
static struct rpc_nvme_ctrl *g_nvme_ctrls;
/* One per transport this nvmf knows; RDMA only when rdma.c is built in.
 * The limits are the core's (g_limits), shared by both. */
static struct rpc_transport g_transports[] = {
	{ .name = "TCP", .trtype = NVMF_TRTYPE_TCP },
	{ .name = "RDMA", .trtype = NVMF_TRTYPE_RDMA },
};

static struct rpc_transport *rpc_transport_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(g_transports); i++)
		if (!strcasecmp(name, g_transports[i].name) &&
		    (g_transports[i].trtype != NVMF_TRTYPE_RDMA || NVMF_HAVE_RDMA))
			return &g_transports[i];
	return NULL;
}

static struct rpc_transport *rpc_transport_of(uint8_t trtype)
{
	return &g_transports[trtype == NVMF_TRTYPE_RDMA];
}
static int g_rpc_fd = -1;		/* the listening Unix socket */
static int g_rpc_stop[2] = { -1, -1 };	/* a pipe: write to stop the thread */
static pthread_t g_rpc_thread;
static char g_rpc_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static struct stat g_rpc_st;		/* our socket file, to remove only it */

/* ==================================================================== */
/* Parameters: typed getters that say what is wrong                    */
/* ==================================================================== */

static int rpc_fail(struct rpc_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Fill e and return -1, so a handler can `return rpc_fail(...)`. */
static int rpc_fail(struct rpc_err *e, int code, const char *fmt, ...)
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
static int rpc_check_keys(struct json_object *params, const char *method, const char *known,
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
static int rpc_str(struct json_object *o, const char *key, bool required, const char **out,
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
static int rpc_u64(struct json_object *o, const char *key, bool required, uint64_t max,
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

static int rpc_bool(struct json_object *o, const char *key, bool *out, struct rpc_err *e)
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
static struct nvmf_subsys *rpc_subsys(struct json_object *params, struct rpc_err *e)
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
static int rpc_parse_id128(const char *str, uint8_t out[16])
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

static void rpc_fmt_uuid(const uint8_t u[16], char *buf)
{
	sprintf(buf, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
		u[12], u[13], u[14], u[15]);
}

static void rpc_fmt_hex(const uint8_t *u, int n, char *buf)
{
	for (int i = 0; i < n; i++)
		sprintf(buf + 2 * i, "%02X", u[i]);
}

/* ==================================================================== */
/* The bdev registry                                                   */
/* ==================================================================== */

static struct rpc_bdev *rpc_bdev_find(const char *name)
{
	for (struct rpc_bdev *rb = g_bdevs; rb; rb = rb->next)
		if (!strcmp(rb->b->name, name))
			return rb;
	return NULL;
}

/* Can name be a new bdev's? Returns 0 or -1 with e set. */
static int rpc_bdev_name_ok(const char *name, struct rpc_err *e)
{
	if (!*name || strlen(name) >= sizeof(((struct nvmf_bdev *)0)->name))
		return rpc_fail(e, RPC_INVALID_PARAMS, "bdev name must be 1-%zu characters",
				sizeof(((struct nvmf_bdev *)0)->name) - 1);
	if (rpc_bdev_find(name))
		return rpc_fail(e, RPC_INVALID_PARAMS, "bdev %s already exists", name);
	return 0;
}

/* Register the new backend b under name (checked by rpc_bdev_name_ok). */
static int rpc_bdev_register(const char *name, struct nvmf_bdev *b, const char *method,
			     struct rpc_bdev **out, struct rpc_err *e)
{
	struct rpc_bdev *rb = calloc(1, sizeof(*rb));

	if (!rb) {
		bdev_free(b);
		return rpc_fail(e, RPC_INTERNAL_ERROR, "out of memory");
	}
	snprintf(b->name, sizeof(b->name), "%s", name);	/* NGUID/UUID derive from it */
	rb->b = b;
	rb->method = method;
	rb->next = g_bdevs;
	g_bdevs = rb;
	*out = rb;
	return 0;
}

/* Make a backend from a bdev.c spec and register it under name. Returns
 * 0 or -1 with e set (name taken, bad spec, backend not in this build). */
static int rpc_bdev_make(const char *name, const char *spec, const char *method,
			 struct rpc_bdev **out, struct rpc_err *e)
{
	struct nvmf_bdev *b;
	char err[256];

	if (rpc_bdev_name_ok(name, e))
		return -1;
	if (bdev_create(spec, &b, err, sizeof(err)))
		return rpc_fail(e, RPC_INTERNAL_ERROR, "%s: %s", method, err);
	return rpc_bdev_register(name, b, method, out, e);
}

/* Delete an unclaimed bdev. */
static int rpc_bdev_delete(const char *name, struct rpc_err *e)
{
	struct rpc_bdev **pp, *rb;
	struct nvmf_subsys *s;

	for (pp = &g_bdevs; *pp && strcmp((*pp)->b->name, name); pp = &(*pp)->next)
		;
	rb = *pp;
	if (!rb)
		return rpc_fail(e, RPC_INVALID_PARAMS, "bdev %s does not exist", name);
	if (nvmf_bdev_owner(rb->b, &s))
		return rpc_fail(e, RPC_INVALID_PARAMS, "bdev %s is claimed by a namespace of %s: "
				"remove the namespace first", name, s->nqn);
	*pp = rb->next;
	bdev_free(rb->b);
	free(rb);
	return 0;
}

/* Register the bdevs the command line made, so they can be listed,
 * saved and released like any other. */
static void rpc_bdev_adopt(void)
{
	for (struct nvmf_subsys *s = g_subsystems; s; s = s->next) {
		for (int i = 0; i < NVMF_MAX_NS; i++) {
			struct rpc_bdev *rb;

			if (!s->ns[i] || rpc_bdev_find(s->ns[i]->bdev->name))
				continue;
			rb = calloc(1, sizeof(*rb));
			if (!rb)
				return;
			rb->b = s->ns[i]->bdev;
			rb->method = !strcmp(rb->b->ops->kind, "null") ? "bdev_null_create"
								       : "bdev_malloc_create";
			if (!strcmp(rb->b->ops->kind, "file")) {	/* named by its path */
				rb->method = "bdev_aio_create";
				snprintf(rb->filename, sizeof(rb->filename), "%s", rb->b->name);
			}
			rb->next = g_bdevs;
			g_bdevs = rb;
		}
	}
}

/* ==================================================================== */
/* Methods: bdevs                                                      */
/* ==================================================================== */

/* bdev_malloc_create / bdev_null_create: name, num_blocks, block_size.
 * rpc.py turns "-b Malloc0 64 512" (MiB) into num_blocks. */
static int rpc_bdev_mem_create(struct json_object *p, struct json_object **res,
			       struct rpc_err *e, const char *method, const char *kind)
{
	uint64_t nblocks = 0, bs = 512;
	const char *name = NULL;
	struct rpc_bdev *rb;
	char spec[64];

	if (rpc_check_keys(p, method, " name num_blocks block_size ",
			   " uuid optimal_io_boundary md_size md_interleave dif_type dif_is_head_of_md physical_block_size ", e) ||
	    rpc_str(p, "name", true, &name, e) ||
	    rpc_u64(p, "num_blocks", true, UINT64_MAX >> 13, &nblocks, e) ||
	    rpc_u64(p, "block_size", false, 4096, &bs, e))
		return -1;
	if (bs != 512 && bs != 4096)
		return rpc_fail(e, RPC_INVALID_PARAMS, "block_size %llu: nvmf supports 512 and 4096",
				(unsigned long long)bs);
	if (nblocks == 0)
		return rpc_fail(e, RPC_INVALID_PARAMS, "num_blocks must be at least 1");
	snprintf(spec, sizeof(spec), "%s:%llu:%llu", kind, (unsigned long long)(nblocks * bs),
		 (unsigned long long)bs);
	if (rpc_bdev_make(name, spec, method, &rb, e))
		return -1;
	*res = json_object_new_string(name);
	return 0;
}

static int rpc_bdev_malloc_create(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	return rpc_bdev_mem_create(p, res, e, "bdev_malloc_create", "ram");
}

static int rpc_bdev_null_create(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	return rpc_bdev_mem_create(p, res, e, "bdev_null_create", "null");
}

/*
 * bdev_aio_create / bdev_uring_create: filename (a file or a block
 * device), name, block_size (0: the device's, or 512), readonly. Both
 * become bdev.c's file backend, which uses io_uring either way.
 */
static int rpc_bdev_file_create(struct json_object *p, struct json_object **res,
				struct rpc_err *e, const char *method)
{
	const char *name = NULL, *filename = NULL;
	struct nvmf_bdev *b;
	struct rpc_bdev *rb = NULL;
	bool ro = false;
	uint64_t bs = 0;
	char err[512];

	if (rpc_check_keys(p, method, " name filename block_size readonly ", " fallocate uuid ", e) ||
	    rpc_str(p, "name", true, &name, e) || rpc_str(p, "filename", true, &filename, e) ||
	    rpc_u64(p, "block_size", false, 4096, &bs, e) || rpc_bool(p, "readonly", &ro, e))
		return -1;
	if (strlen(filename) >= sizeof(rb->filename))
		return rpc_fail(e, RPC_INVALID_PARAMS, "filename must be a path under %zu bytes",
				sizeof(rb->filename));
	if (rpc_bdev_name_ok(name, e))
		return -1;
	if (bdev_file_create(filename, bs, ro, &b, err, sizeof(err)))
		return rpc_fail(e, RPC_INTERNAL_ERROR, "%s: %s", method, err);
	if (rpc_bdev_register(name, b, method, &rb, e))
		return -1;
	snprintf(rb->filename, sizeof(rb->filename), "%s", filename);
	*res = json_object_new_string(name);
	return 0;
}

static int rpc_bdev_aio_create(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	return rpc_bdev_file_create(p, res, e, "bdev_aio_create");
}

static int rpc_bdev_uring_create(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	return rpc_bdev_file_create(p, res, e, "bdev_uring_create");
}

/* bdev_*_delete: name. Only an unclaimed bdev can go, and only through
 * the delete method of the kind that made it (as in SPDK). */
static int rpc_bdev_delete_method(struct json_object *p, struct json_object **res,
				  struct rpc_err *e, const char *method, const char *maker)
{
	const char *name = NULL;
	struct rpc_bdev *rb;

	if (rpc_check_keys(p, method, " name ", NULL, e) || rpc_str(p, "name", true, &name, e))
		return -1;
	rb = rpc_bdev_find(name);
	if (rb && strcmp(rb->method, maker))
		return rpc_fail(e, RPC_INVALID_PARAMS, "bdev %s was made by %s, not deleted by %s",
				name, rb->method, method);
	if (rpc_bdev_delete(name, e))
		return -1;
	*res = json_object_new_boolean(1);
	return 0;
}

static int rpc_bdev_malloc_delete(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	return rpc_bdev_delete_method(p, res, e, "bdev_malloc_delete", "bdev_malloc_create");
}

static int rpc_bdev_null_delete(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	return rpc_bdev_delete_method(p, res, e, "bdev_null_delete", "bdev_null_create");
}

static int rpc_bdev_aio_delete(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	return rpc_bdev_delete_method(p, res, e, "bdev_aio_delete", "bdev_aio_create");
}

static int rpc_bdev_uring_delete(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	return rpc_bdev_delete_method(p, res, e, "bdev_uring_delete", "bdev_uring_create");
}

/*
 * bdev_nvme_attach_controller: name, trtype PCIe (traddr = BDF, through
 * the VFIO driver: bdev spec "nvme:BDF") or "sim" (the software
 * controller: traddr = SIZE, spec "sim:SIZE"). One namespace each, named
 * <name>n1 as SPDK does; the result is the list of bdev names.
 * Not implemented: NVMe-oF controllers (trtype TCP/RDMA), i.e. nvmf as
 * an initiator for bdevs; nvmf's host side is the perf tool only.
 */
static int rpc_bdev_nvme_attach(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	const char *name = NULL, *trtype = NULL, *traddr = NULL;
	struct rpc_nvme_ctrl *c;
	struct rpc_bdev *rb;
	char spec[96], bname[64];

	if (rpc_check_keys(p, "bdev_nvme_attach_controller", " name trtype traddr ",
			   " adrfam trsvcid priority subnqn hostnqn hostaddr hostsvcid prchk_reftag prchk_guard hdgst ddgst fabrics_connect_timeout_us multipath num_io_queues ctrlr_loss_timeout_sec reconnect_delay_sec fast_io_fail_timeout_sec psk max_bdevs ", e) ||
	    rpc_str(p, "name", true, &name, e) || rpc_str(p, "trtype", true, &trtype, e) ||
	    rpc_str(p, "traddr", true, &traddr, e))
		return -1;
	if (strcasecmp(trtype, "PCIe") && strcasecmp(trtype, "sim"))
		return rpc_fail(e, RPC_INVALID_PARAMS, "trtype %s: nvmf attaches PCIe controllers "
				"(VFIO) and the simulator (trtype sim); not NVMe-oF ones", trtype);
	for (c = g_nvme_ctrls; c; c = c->next)
		if (!strcmp(c->name, name))
			return rpc_fail(e, RPC_INVALID_PARAMS, "controller %s already exists", name);
	if (strlen(name) > 40 || strlen(traddr) >= sizeof(c->traddr))
		return rpc_fail(e, RPC_INVALID_PARAMS, "name (at most 40) or traddr too long");
	snprintf(spec, sizeof(spec), "%s:%s", strcasecmp(trtype, "PCIe") ? "sim" : "nvme", traddr);
	snprintf(bname, sizeof(bname), "%sn1", name);
	c = calloc(1, sizeof(*c));
	if (!c)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "out of memory");
	if (rpc_bdev_make(bname, spec, "bdev_nvme_attach_controller", &rb, e)) {
		free(c);
		return -1;
	}
	snprintf(rb->ctrlr, sizeof(rb->ctrlr), "%s", name);
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->trtype, sizeof(c->trtype), "%s", strcasecmp(trtype, "PCIe") ? "sim" : "PCIe");
	snprintf(c->traddr, sizeof(c->traddr), "%s", traddr);
	c->next = g_nvme_ctrls;
	g_nvme_ctrls = c;
	*res = json_object_new_array();
	json_object_array_add(*res, json_object_new_string(bname));
	return 0;
}

/* bdev_nvme_detach_controller: name. Its bdevs must be unclaimed. */
static int rpc_bdev_nvme_detach(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	struct rpc_nvme_ctrl **pp, *c;
	const char *name = NULL;
	char bname[64];

	if (rpc_check_keys(p, "bdev_nvme_detach_controller", " name ",
			   " trtype traddr adrfam trsvcid subnqn hostaddr hostsvcid ", e) ||
	    rpc_str(p, "name", true, &name, e))
		return -1;
	for (pp = &g_nvme_ctrls; *pp && strcmp((*pp)->name, name); pp = &(*pp)->next)
		;
	if (!(c = *pp))
		return rpc_fail(e, RPC_INVALID_PARAMS, "controller %s does not exist", name);
	snprintf(bname, sizeof(bname), "%sn1", name);
	if (rpc_bdev_find(bname) && rpc_bdev_delete(bname, e))
		return -1;
	*pp = c->next;
	free(c);
	*res = json_object_new_boolean(1);
	return 0;
}

static int rpc_bdev_nvme_get_controllers(struct json_object *p, struct json_object **res,
					 struct rpc_err *e)
{
	const char *name = NULL;

	if (rpc_check_keys(p, "bdev_nvme_get_controllers", " name ", NULL, e) ||
	    rpc_str(p, "name", false, &name, e))
		return -1;
	*res = json_object_new_array();
	for (struct rpc_nvme_ctrl *c = g_nvme_ctrls; c; c = c->next) {
		struct json_object *o, *ctrlrs, *ctrlr, *trid;

		if (name && strcmp(name, c->name))
			continue;
		o = json_object_new_object();
		ctrlrs = json_object_new_array();
		ctrlr = json_object_new_object();
		trid = json_object_new_object();
		json_object_object_add(trid, "trtype", json_object_new_string(c->trtype));
		json_object_object_add(trid, "traddr", json_object_new_string(c->traddr));
		json_object_object_add(ctrlr, "state", json_object_new_string("enabled"));
		json_object_object_add(ctrlr, "trid", trid);
		json_object_array_add(ctrlrs, ctrlr);
		json_object_object_add(o, "name", json_object_new_string(c->name));
		json_object_object_add(o, "ctrlrs", ctrlrs);
		json_object_array_add(*res, o);
	}
	if (name && json_object_array_length(*res) == 0) {
		json_object_put(*res);
		return rpc_fail(e, RPC_INVALID_PARAMS, "controller %s does not exist", name);
	}
	return 0;
}

static const char *rpc_product_name(const struct rpc_bdev *rb)
{
	if (!strcmp(rb->method, "bdev_malloc_create"))
		return "Malloc disk";
	if (!strcmp(rb->method, "bdev_null_create"))
		return "Null disk";
	if (!strcmp(rb->method, "bdev_nvme_attach_controller"))
		return "NVMe disk";
	return !strcmp(rb->method, "bdev_aio_create") ? "AIO disk" : "URING bdev";
}

/* bdev_get_bdevs: all bdevs, or the one named. */
static int rpc_bdev_get_bdevs(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	const char *name = NULL;

	if (rpc_check_keys(p, "bdev_get_bdevs", " name ", " timeout ", e) ||
	    rpc_str(p, "name", false, &name, e))
		return -1;
	if (name && !rpc_bdev_find(name))
		return rpc_fail(e, RPC_INVALID_PARAMS, "bdev %s does not exist", name);
	*res = json_object_new_array();
	for (struct rpc_bdev *rb = g_bdevs; rb; rb = rb->next) {
		struct json_object *o, *io;

		if (name && strcmp(name, rb->b->name))
			continue;
		o = json_object_new_object();
		io = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(rb->b->name));
		json_object_object_add(o, "aliases", json_object_new_array());
		json_object_object_add(o, "product_name", json_object_new_string(rpc_product_name(rb)));
		json_object_object_add(o, "block_size", json_object_new_int64(rb->b->blksz));
		json_object_object_add(o, "num_blocks", json_object_new_int64(rb->b->nblocks));
		json_object_object_add(o, "claimed", json_object_new_boolean(nvmf_bdev_owner(rb->b, NULL) != NULL));
		json_object_object_add(io, "read", json_object_new_boolean(1));
		json_object_object_add(io, "write", json_object_new_boolean(1));
		json_object_object_add(io, "flush", json_object_new_boolean(1));
		json_object_object_add(io, "write_zeroes", json_object_new_boolean(1));
		json_object_object_add(io, "unmap", json_object_new_boolean(1));
		json_object_object_add(o, "supported_io_types", io);
		json_object_array_add(*res, o);
	}
	return 0;
}

/*
 * bdev_get_iostat: counters per bdev. Ours are counted per namespace (the
 * SMART log uses them too), so a bdev shows the counts of the namespace
 * that claims it now, and zeroes while unclaimed. tick_rate is 1000:
 * ticks are milliseconds since the target started.
 */
static int rpc_bdev_get_iostat(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	struct json_object *arr;
	const char *name = NULL;

	if (rpc_check_keys(p, "bdev_get_iostat", " name ", " per_channel reset_mode ", e) ||
	    rpc_str(p, "name", false, &name, e))
		return -1;
	if (name && !rpc_bdev_find(name))
		return rpc_fail(e, RPC_INVALID_PARAMS, "bdev %s does not exist", name);
	*res = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(*res, "tick_rate", json_object_new_int64(1000));
	json_object_object_add(*res, "ticks", json_object_new_int64(nvmf_now_ms()));
	for (struct rpc_bdev *rb = g_bdevs; rb; rb = rb->next) {
		struct nvmf_ns *ns = nvmf_bdev_owner(rb->b, NULL);
		struct json_object *o;

		if (name && strcmp(name, rb->b->name))
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(rb->b->name));
		json_object_object_add(o, "bytes_read", json_object_new_int64(ns ? atomic_load(&ns->bytes_read) : 0));
		json_object_object_add(o, "num_read_ops", json_object_new_int64(ns ? atomic_load(&ns->reads) : 0));
		json_object_object_add(o, "bytes_written", json_object_new_int64(ns ? atomic_load(&ns->bytes_written) : 0));
		json_object_object_add(o, "num_write_ops", json_object_new_int64(ns ? atomic_load(&ns->writes) : 0));
		json_object_array_add(arr, o);
	}
	json_object_object_add(*res, "bdevs", arr);
	return 0;
}

/* ==================================================================== */
/* Methods: transports                                                 */
/* ==================================================================== */

/*
 * nvmf_create_transport: trtype TCP (RDMA: when rdma.c is built in).
 * What each option means here:
 *   max_queue_depth (-q)        MAXCMD and CAP.MQES of I/O queues: 2..128
 *   max_io_qpairs_per_ctrlr (-m), or the older max_qpairs_per_ctrlr
 *                               (admin queue included): Number of Queues
 *   in_capsule_data_size (-c)   IOCCSZ: 0..8192, a multiple of 16
 *   max_io_size (-i)            MDTS: TCP a power of two, 4 KiB..8 MiB;
 *                               RDMA 128 KiB (its buffers are per queue)
 *   io_unit_size (-u)           SPDK's buffer chunk; nvmf gives every
 *                               command one whole buffer, so it only
 *                               sizes the pool below (and is reported)
 *   num_shared_buffers (-n)     TCP: the pool of data buffers of each
 *                               reactor holds num_shared_buffers *
 *                               io_unit_size bytes (RDMA: not used yet)
 */
static int rpc_create_transport(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	uint64_t qd = NVMF_MAXCMD, ioq = NVMF_MAX_IO_QUEUES, qp = 0, icd = NVMF_IO_ICD;
	uint64_t mio = 0, iou = NVMF_MAX_DATA, nsb = 0;
	const char *trtype = NULL;
	struct rpc_transport *t;
	char err[256];

	if (rpc_check_keys(p, "nvmf_create_transport",
			   " trtype max_queue_depth max_qpairs_per_ctrlr max_io_qpairs_per_ctrlr in_capsule_data_size max_io_size io_unit_size num_shared_buffers ",
			   " tgt_name max_aq_depth buf_cache_size dif_insert_or_strip c2h_success sock_priority abort_timeout_sec zcopy control_msg_num no_srq num_cqe max_srq_depth acceptor_backlog no_wr_batching disable_mappable_bar0 disable_adaptive_irq disable_shadow_doorbells acceptor_poll_rate transport_specific ack_timeout data_wr_pool_size ", e) ||
	    rpc_str(p, "trtype", true, &trtype, e) ||
	    rpc_u64(p, "max_queue_depth", false, UINT32_MAX, &qd, e) ||
	    rpc_u64(p, "max_qpairs_per_ctrlr", false, UINT32_MAX, &qp, e) ||
	    rpc_u64(p, "max_io_qpairs_per_ctrlr", false, UINT32_MAX, &ioq, e) ||
	    rpc_u64(p, "in_capsule_data_size", false, UINT32_MAX, &icd, e) ||
	    rpc_u64(p, "max_io_size", false, UINT32_MAX, &mio, e) ||
	    rpc_u64(p, "io_unit_size", false, UINT32_MAX, &iou, e) ||
	    rpc_u64(p, "num_shared_buffers", false, UINT32_MAX, &nsb, e))
		return -1;
	if (!(t = rpc_transport_find(trtype)))
		return rpc_fail(e, RPC_INVALID_PARAMS, "trtype %s: this nvmf has %s", trtype,
				NVMF_HAVE_RDMA ? "TCP and RDMA" :
				"TCP only (RDMA needs libibverbs-dev librdmacm-dev at build time)");
	if (t->created)
		return rpc_fail(e, RPC_INVALID_PARAMS, "transport %s already exists", t->name);
	if (qp)
		ioq = qp - 1;			/* the older name counts the admin queue */
	if (qd < 2 || qd > NVMF_MAXCMD)
		return rpc_fail(e, RPC_INVALID_PARAMS, "max_queue_depth %llu: nvmf allows 2..%u",
				(unsigned long long)qd, NVMF_MAXCMD);
	if (ioq < 1 || ioq > NVMF_MAX_IO_QUEUES)
		return rpc_fail(e, RPC_INVALID_PARAMS, "max_io_qpairs_per_ctrlr %llu: nvmf allows 1..%u "
				"(max_qpairs_per_ctrlr counts the admin queue too)",
				(unsigned long long)ioq, NVMF_MAX_IO_QUEUES);
	if (icd > NVMF_IO_ICD || icd % 16)
		return rpc_fail(e, RPC_INVALID_PARAMS, "in_capsule_data_size %llu: nvmf allows 0..%u "
				"in multiples of 16 (IOCCSZ is in 16-byte units)",
				(unsigned long long)icd, NVMF_IO_ICD);
	/* Without max_io_size, SPDK's default (128 KiB), as nvmf_tgt would
	 * take it, so that a saved config loads there too (SPDK refuses more
	 * than 16 io_unit_size units in one max_io_size). A -i given on our
	 * command line wins: the user asked for it. */
	if (!mio)
		mio = t->trtype == NVMF_TRTYPE_TCP && g_tcp_max_io_size != NVMF_TCP_MAX_IO_DEFAULT ?
		      g_tcp_max_io_size : NVMF_MAX_DATA;
	if (t->trtype != NVMF_TRTYPE_TCP && mio != NVMF_MAX_DATA)
		return rpc_fail(e, RPC_INVALID_PARAMS, "max_io_size %llu: MDTS over RDMA is %u bytes in "
				"this build (its data buffers are still per queue)",
				(unsigned long long)mio, NVMF_MAX_DATA);
	if (iou < 512 || (iou & (iou - 1)) || iou > mio)
		return rpc_fail(e, RPC_INVALID_PARAMS, "io_unit_size %llu: a power of two, 512..max_io_size",
				(unsigned long long)iou);
	if (t->trtype == NVMF_TRTYPE_TCP &&
	    tcp_set_buffers(mio, nsb ? nsb * iou : g_buf_pool_size, err, sizeof(err)))
		return rpc_fail(e, RPC_INVALID_PARAMS, "%s%s", err,
				nsb ? " (the pool is num_shared_buffers * io_unit_size)" : "");
	g_limits.max_queue_depth = qd;
	g_limits.max_io_qpairs = ioq;
	g_limits.io_icd = icd;
	*t = (struct rpc_transport){ t->name, t->trtype, true, qd, ioq, icd, mio, iou };
	*res = json_object_new_boolean(1);
	return 0;
}

static struct json_object *rpc_transport_json(const struct rpc_transport *t)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "trtype", json_object_new_string(t->name));
	json_object_object_add(o, "max_queue_depth", json_object_new_int64(t->max_queue_depth));
	json_object_object_add(o, "max_io_qpairs_per_ctrlr", json_object_new_int64(t->max_io_qpairs));
	json_object_object_add(o, "in_capsule_data_size", json_object_new_int64(t->in_capsule_data_size));
	json_object_object_add(o, "max_io_size", json_object_new_int64(t->max_io_size));
	json_object_object_add(o, "io_unit_size", json_object_new_int64(t->io_unit_size));
	return o;
}

static int rpc_get_transports(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	const char *trtype = NULL;

	if (rpc_check_keys(p, "nvmf_get_transports", " trtype ", " tgt_name ", e) ||
	    rpc_str(p, "trtype", false, &trtype, e))
		return -1;
	if (trtype && (!rpc_transport_find(trtype) || !rpc_transport_find(trtype)->created))
		return rpc_fail(e, RPC_INVALID_PARAMS, "transport %s does not exist", trtype);
	*res = json_object_new_array();
	for (size_t i = 0; i < ARRAY_SIZE(g_transports); i++)
		if (g_transports[i].created && (!trtype || !strcasecmp(trtype, g_transports[i].name)))
			json_object_array_add(*res, rpc_transport_json(&g_transports[i]));
	return 0;
}

/* ==================================================================== */
/* Methods: subsystems                                                 */
/* ==================================================================== */

/* nvmf_create_subsystem: nqn, serial_number (-s), model_number (-d),
 * allow_any_host (-a), max_namespaces (-m). */
static int rpc_create_subsystem(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	const char *nqn = NULL, *sn = "00000000000000000000", *mn = "SPDK bdev Controller";
	struct nvmf_subsys *s;
	bool any = false;
	uint64_t max_ns = 0;
	char err[512];

	if (rpc_check_keys(p, "nvmf_create_subsystem",
			   " nqn serial_number model_number allow_any_host max_namespaces ",
			   " tgt_name ana_reporting min_cntlid max_cntlid max_discard_size_kib max_write_zeroes_size_kib passthrough enable_nssr ", e) ||
	    rpc_str(p, "nqn", true, &nqn, e) || rpc_str(p, "serial_number", false, &sn, e) ||
	    rpc_str(p, "model_number", false, &mn, e) || rpc_bool(p, "allow_any_host", &any, e) ||
	    rpc_u64(p, "max_namespaces", false, NVMF_MAX_NS, &max_ns, e))
		return -1;
	s = nvmf_subsys_create(nqn, sn, mn, max_ns, false, err, sizeof(err));
	if (!s)
		return rpc_fail(e, RPC_INVALID_PARAMS, "%s", err);
	nvmf_subsys_allow_any(s, any);
	*res = json_object_new_boolean(1);
	return 0;
}

/* nvmf_delete_subsystem: its namespaces go first (their bdevs stay, as
 * in SPDK), then its controllers, then it. */
static int rpc_delete_subsystem(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	struct nvmf_subsys *s;
	struct nvmf_bdev *b;
	char err[512];

	if (rpc_check_keys(p, "nvmf_delete_subsystem", " nqn ", " tgt_name ", e) ||
	    !(s = rpc_subsys(p, e)))
		return -1;
	if (s->is_disc)
		return rpc_fail(e, RPC_INVALID_PARAMS, "the discovery subsystem cannot be deleted");
	for (uint32_t nsid = 1; nsid <= NVMF_MAX_NS; nsid++)
		if (s->ns[nsid - 1] && nvmf_subsys_detach_ns(s, nsid, &b, err, sizeof(err)))
			return rpc_fail(e, RPC_INTERNAL_ERROR, "%s", err);
	if (nvmf_subsys_remove(s, err, sizeof(err)))
		return rpc_fail(e, RPC_INTERNAL_ERROR, "%s", err);
	*res = json_object_new_boolean(1);
	return 0;
}

static const char *rpc_adrfam_name(uint8_t adrfam)
{
	return adrfam == NVMF_ADRFAM_IPV6 ? "IPv6" : "IPv4";
}

static struct json_object *rpc_address_json(uint8_t trtype, uint8_t adrfam, const char *traddr,
					    const char *trsvcid)
{
	struct json_object *a = json_object_new_object();

	json_object_object_add(a, "trtype", json_object_new_string(trtype == NVMF_TRTYPE_RDMA ? "RDMA" : "TCP"));
	json_object_object_add(a, "adrfam", json_object_new_string(rpc_adrfam_name(adrfam)));
	json_object_object_add(a, "traddr", json_object_new_string(traddr));
	json_object_object_add(a, "trsvcid", json_object_new_string(trsvcid));
	return a;
}

/*
 * The ports s is offered on, in the order save_config writes them: its
 * own list, or for a command-line subsystem every open I/O port; for the
 * discovery subsystem its own list plus the command line's 8009 ports.
 */
static int rpc_subsys_ports(struct nvmf_subsys *s, struct nvmf_listener **out, int max)
{
	int n = 0;

	for (struct nvmf_listener *l = g_listeners; l && n < max; l = l->next) {
		if (l->poller.fd < 0)
			continue;
		if ((s->any_listener && !l->discovery_only) ||
		    (s->is_disc && l->discovery_only && !l->dynamic))
			out[n++] = l;
	}
	for (int i = 0; i < s->nr_listeners && n < max; i++) {
		int j;

		for (j = 0; j < n && out[j] != s->listeners[i]; j++)
			;
		if (j == n)		/* not already there as an "every port" one */
			out[n++] = s->listeners[i];
	}
	return n;
}

static struct json_object *rpc_subsys_json(struct nvmf_subsys *s)
{
	struct json_object *o = json_object_new_object(), *la = json_object_new_array();
	struct json_object *hosts = json_object_new_array();
	struct nvmf_listener *ports[64];
	int n = rpc_subsys_ports(s, ports, 64);

	json_object_object_add(o, "nqn", json_object_new_string(s->nqn));
	json_object_object_add(o, "subtype", json_object_new_string(s->is_disc ? "Discovery" : "NVMe"));
	for (int i = 0; i < n; i++) {
		struct json_object *a = rpc_address_json(ports[i]->trtype, ports[i]->adrfam,
							 ports[i]->traddr, ports[i]->trsvcid);

		/* SPDK still prints the older name of trtype beside it. */
		json_object_object_add(a, "transport", json_object_get(json_object_object_get(a, "trtype")));
		json_object_array_add(la, a);
	}
	json_object_object_add(o, "listen_addresses", la);
	json_object_object_add(o, "allow_any_host", json_object_new_boolean(s->allow_any_host));
	for (int i = 0; i < s->nr_hosts; i++) {
		struct json_object *h = json_object_new_object();

		json_object_object_add(h, "nqn", json_object_new_string(s->hosts[i]));
		json_object_array_add(hosts, h);
	}
	json_object_object_add(o, "hosts", hosts);
	if (s->is_disc)
		return o;
	json_object_object_add(o, "serial_number", json_object_new_string(s->sn));
	json_object_object_add(o, "model_number", json_object_new_string(s->mn));
	json_object_object_add(o, "max_namespaces", json_object_new_int64(s->max_ns));
	json_object_object_add(o, "min_cntlid", json_object_new_int64(1));
	json_object_object_add(o, "max_cntlid", json_object_new_int64(NVMF_CNTLID_MAX));
	struct json_object *nss = json_object_new_array();
	for (int i = 0; i < NVMF_MAX_NS; i++) {
		struct nvmf_ns *ns = s->ns[i];
		struct json_object *j;
		char buf[40];

		if (!ns)
			continue;
		j = json_object_new_object();
		json_object_object_add(j, "nsid", json_object_new_int64(ns->nsid));
		json_object_object_add(j, "bdev_name", json_object_new_string(ns->bdev->name));
		json_object_object_add(j, "name", json_object_new_string(ns->bdev->name));
		rpc_fmt_hex(ns->nguid, 16, buf);
		json_object_object_add(j, "nguid", json_object_new_string(buf));
		rpc_fmt_uuid(ns->uuid, buf);
		json_object_object_add(j, "uuid", json_object_new_string(buf));
		json_object_array_add(nss, j);
	}
	json_object_object_add(o, "namespaces", nss);
	return o;
}

/* nvmf_get_subsystems (alias get_nvmf_subsystems): all, or params.nqn. */
static int rpc_get_subsystems(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	struct nvmf_subsys *only = NULL;

	if (rpc_check_keys(p, "nvmf_get_subsystems", " nqn ", " tgt_name ", e))
		return -1;
	if (p && json_object_object_get_ex(p, "nqn", NULL) && !(only = rpc_subsys(p, e)))
		return -1;
	*res = json_object_new_array();
	if (only) {
		json_object_array_add(*res, rpc_subsys_json(only));
		return 0;
	}
	json_object_array_add(*res, rpc_subsys_json(&g_discovery));
	for (struct nvmf_subsys *s = g_subsystems; s; s = s->next)
		json_object_array_add(*res, rpc_subsys_json(s));
	return 0;
}

/* A listen_address / address object -> listener template. */
static int rpc_parse_address(struct json_object *p, const char *key, struct nvmf_listener *l,
			     struct rpc_err *e)
{
	const char *trtype = NULL, *adrfam = NULL, *traddr = NULL, *trsvcid = NULL;
	struct json_object *a;

	if (!json_object_object_get_ex(p, key, &a))
		return rpc_fail(e, RPC_INVALID_PARAMS, "missing parameter '%s'", key);
	if (rpc_check_keys(a, key, " trtype adrfam traddr trsvcid ", NULL, e) ||
	    rpc_str(a, "trtype", true, &trtype, e) || rpc_str(a, "adrfam", false, &adrfam, e) ||
	    rpc_str(a, "traddr", true, &traddr, e) || rpc_str(a, "trsvcid", true, &trsvcid, e))
		return -1;
	memset(l, 0, sizeof(*l));
	if (!strcasecmp(trtype, "TCP"))
		l->trtype = NVMF_TRTYPE_TCP;
	else if (!strcasecmp(trtype, "RDMA"))
		l->trtype = NVMF_TRTYPE_RDMA;
	else
		return rpc_fail(e, RPC_INVALID_PARAMS, "trtype %s: want TCP or RDMA", trtype);
	if (adrfam && strcasecmp(adrfam, "IPv4") && strcasecmp(adrfam, "IPv6"))
		return rpc_fail(e, RPC_INVALID_PARAMS, "adrfam %s: want IPv4 or IPv6", adrfam);
	l->adrfam = adrfam && !strcasecmp(adrfam, "IPv6") ? NVMF_ADRFAM_IPV6 : NVMF_ADRFAM_IPV4;
	if (strlen(traddr) >= sizeof(l->traddr) || strlen(trsvcid) >= sizeof(l->trsvcid) || !*trsvcid)
		return rpc_fail(e, RPC_INVALID_PARAMS, "traddr or trsvcid too long or empty");
	snprintf(l->traddr, sizeof(l->traddr), "%s", traddr);
	snprintf(l->trsvcid, sizeof(l->trsvcid), "%s", trsvcid);
	l->poller.fd = -1;
	return 0;
}

static int rpc_listener_method(struct json_object *p, struct json_object **res, struct rpc_err *e,
			       bool add)
{
	const char *method = add ? "nvmf_subsystem_add_listener" : "nvmf_subsystem_remove_listener";
	struct nvmf_listener l;
	struct nvmf_subsys *s;
	char err[512];
	int rc;

	if (rpc_check_keys(p, method, " nqn listen_address ",
			   " tgt_name secure_channel ana_state anagrpid sock_impl ", e) ||
	    !(s = rpc_subsys(p, e)) || rpc_parse_address(p, "listen_address", &l, e))
		return -1;
	if (add && !rpc_transport_of(l.trtype)->created)
		return rpc_fail(e, RPC_INVALID_PARAMS, "no %s transport: run nvmf_create_transport -t %s first",
				rpc_transport_of(l.trtype)->name, rpc_transport_of(l.trtype)->name);
	rc = add ? nvmf_subsys_listen(s, &l, err, sizeof(err))
		 : nvmf_subsys_unlisten(s, &l, err, sizeof(err));
	if (rc)
		return rpc_fail(e, rc == -EADDRINUSE ? RPC_INTERNAL_ERROR : RPC_INVALID_PARAMS, "%s", err);
	*res = json_object_new_boolean(1);
	return 0;
}

static int rpc_add_listener(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	return rpc_listener_method(p, res, e, true);
}

static int rpc_remove_listener(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	return rpc_listener_method(p, res, e, false);
}

static int rpc_get_listeners(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	struct nvmf_listener *ports[64];
	struct nvmf_subsys *s;
	int n;

	if (rpc_check_keys(p, "nvmf_subsystem_get_listeners", " nqn ", " tgt_name ", e) ||
	    !(s = rpc_subsys(p, e)))
		return -1;
	n = rpc_subsys_ports(s, ports, 64);
	*res = json_object_new_array();
	for (int i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "address", rpc_address_json(ports[i]->trtype, ports[i]->adrfam,
								       ports[i]->traddr, ports[i]->trsvcid));
		json_object_object_add(o, "ana_state", json_object_new_string("optimized"));
		json_object_array_add(*res, o);
	}
	return 0;
}

/* nvmf_subsystem_add_ns: nqn, namespace {bdev_name, nsid, uuid, nguid}.
 * The result is the NSID. */
static int rpc_add_ns(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	const char *bdev = NULL, *uuid_s = NULL, *nguid_s = NULL;
	uint8_t uuid[16], nguid[16];
	struct json_object *nsj;
	struct nvmf_subsys *s;
	struct rpc_bdev *rb;
	uint64_t nsid = 0;
	char err[512];

	if (rpc_check_keys(p, "nvmf_subsystem_add_ns", " nqn namespace ", " tgt_name ", e) ||
	    !(s = rpc_subsys(p, e)))
		return -1;
	if (!json_object_object_get_ex(p, "namespace", &nsj))
		return rpc_fail(e, RPC_INVALID_PARAMS, "missing parameter 'namespace'");
	if (rpc_check_keys(nsj, "namespace", " bdev_name nsid uuid nguid ",
			   " eui64 ptpl_file anagrpid no_auto_visible hide_metadata ", e) ||
	    rpc_str(nsj, "bdev_name", true, &bdev, e) ||
	    rpc_u64(nsj, "nsid", false, NVMF_MAX_NS, &nsid, e) ||
	    rpc_str(nsj, "uuid", false, &uuid_s, e) || rpc_str(nsj, "nguid", false, &nguid_s, e))
		return -1;
	if (s->is_disc)
		return rpc_fail(e, RPC_INVALID_PARAMS, "the discovery subsystem has no namespaces");
	if (!(rb = rpc_bdev_find(bdev)))
		return rpc_fail(e, RPC_INVALID_PARAMS, "bdev %s does not exist (bdev_get_bdevs lists them)", bdev);
	if ((uuid_s && rpc_parse_id128(uuid_s, uuid)) || (nguid_s && rpc_parse_id128(nguid_s, nguid)))
		return rpc_fail(e, RPC_INVALID_PARAMS, "uuid and nguid are 32 hex digits (dashes allowed)");
	if (nvmf_subsys_attach_ns(s, rb->b, nsid, uuid_s ? uuid : NULL, nguid_s ? nguid : NULL,
				  err, sizeof(err)))
		return rpc_fail(e, RPC_INVALID_PARAMS, "%s", err);
	for (nsid = 1; nsid <= NVMF_MAX_NS && (!s->ns[nsid - 1] || s->ns[nsid - 1]->bdev != rb->b); nsid++)
		;
	*res = json_object_new_int64(nsid);
	return 0;
}

static int rpc_remove_ns(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	struct nvmf_subsys *s;
	struct nvmf_bdev *b;
	uint64_t nsid = 0;
	char err[512];

	if (rpc_check_keys(p, "nvmf_subsystem_remove_ns", " nqn nsid ", " tgt_name ", e) ||
	    !(s = rpc_subsys(p, e)) || rpc_u64(p, "nsid", true, UINT32_MAX, &nsid, e))
		return -1;
	if (nsid == 0 || nsid > NVMF_MAX_NS || !s->ns[nsid - 1])
		return rpc_fail(e, RPC_INVALID_PARAMS, "%s has no namespace %llu", s->nqn,
				(unsigned long long)nsid);
	if (nvmf_subsys_detach_ns(s, nsid, &b, err, sizeof(err)))
		return rpc_fail(e, RPC_INTERNAL_ERROR, "%s", err);
	*res = json_object_new_boolean(1);	/* b stays in the registry, unclaimed */
	return 0;
}

/* ==================================================================== */
/* Keyring and DH-HMAC-CHAP (SPDK's keyring_file, auth.c's secrets)    */
/* ==================================================================== */

/*
 * SPDK names secrets: keyring_file_add_key registers a file under a
 * name, and nvmf_subsystem_add_host refers to it. We read the file when
 * a host is given the key, hand the DHHC-1 text to auth.c, and keep
 * only names and paths here, which is all save_config and
 * keyring_get_keys print (SPDK prints no secret either).
 */
struct rpc_key {
	struct rpc_key *next;
	char name[64];
	char path[256];
};

/* Which keys a host was given on a subsystem, for save_config. */
struct rpc_dhchap {
	struct rpc_dhchap *next;
	char nqn[NVMF_NQN_SIZE], host[NVMF_NQN_SIZE];
	char key[64], ctrlr_key[64];		/* names; "" = none */
};

static struct rpc_key *g_keys;
static struct rpc_dhchap *g_dhchap;

static struct rpc_key *rpc_key_find(const char *name)
{
	struct rpc_key *k;

	for (k = g_keys; k && strcmp(k->name, name); k = k->next)
		;
	return k;
}

/* keyring_file_add_key: an absolute path to a file only its owner may
 * read (SPDK's rule: a key file others can read is refused). */
static int rpc_keyring_add(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	const char *name = NULL, *path = NULL;
	struct rpc_key *k;
	struct stat st;

	if (rpc_check_keys(p, "keyring_file_add_key", " name path ", NULL, e) ||
	    rpc_str(p, "name", true, &name, e) || rpc_str(p, "path", true, &path, e))
		return -1;
	if (strlen(name) >= sizeof(k->name) || strlen(path) >= sizeof(k->path))
		return rpc_fail(e, RPC_INVALID_PARAMS, "name or path too long");
	if (rpc_key_find(name))
		return rpc_fail(e, RPC_INVALID_PARAMS, "key '%s' already exists", name);
	if (path[0] != '/')
		return rpc_fail(e, RPC_INVALID_PARAMS, "key path '%s' is not absolute", path);
	if (stat(path, &st))
		return rpc_fail(e, RPC_INVALID_PARAMS, "key file '%s': %s", path, strerror(errno));
	if (st.st_mode & 077)
		return rpc_fail(e, RPC_INVALID_PARAMS, "key file '%s' has mode 0%o: make it 0600",
				path, st.st_mode & 0777);
	k = calloc(1, sizeof(*k));
	if (!k)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "out of memory");
	snprintf(k->name, sizeof(k->name), "%s", name);
	snprintf(k->path, sizeof(k->path), "%s", path);
	k->next = g_keys;
	g_keys = k;
	*res = json_object_new_boolean(1);
	return 0;
}

/* How many hosts use key name (SPDK's refcnt, less its own reference). */
static int rpc_key_users(const char *name)
{
	int n = 0;

	for (struct rpc_dhchap *d = g_dhchap; d; d = d->next)
		n += !strcmp(d->key, name) + !strcmp(d->ctrlr_key, name);
	return n;
}

static int rpc_keyring_remove(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	const char *name = NULL;
	struct rpc_key **pp, *k;

	if (rpc_check_keys(p, "keyring_file_remove_key", " name ", NULL, e) ||
	    rpc_str(p, "name", true, &name, e))
		return -1;
	for (pp = &g_keys; *pp && strcmp((*pp)->name, name); pp = &(*pp)->next)
		;
	if (!*pp)
		return rpc_fail(e, RPC_INVALID_PARAMS, "no key named '%s'", name);
	if (rpc_key_users(name))
		return rpc_fail(e, RPC_INVALID_PARAMS, "key '%s' is in use by a host", name);
	k = *pp;
	*pp = k->next;
	free(k);
	*res = json_object_new_boolean(1);
	return 0;
}

/* keyring_get_keys: SPDK's fields, never the secret. */
static int rpc_keyring_get(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	if (rpc_check_keys(p, "keyring_get_keys", " ", NULL, e))
		return -1;
	*res = json_object_new_array();
	for (struct rpc_key *k = g_keys; k; k = k->next) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(k->name));
		json_object_object_add(o, "path", json_object_new_string(k->path));
		json_object_object_add(o, "module", json_object_new_string("keyring_file"));
		json_object_object_add(o, "removed", json_object_new_boolean(0));
		json_object_object_add(o, "probed", json_object_new_boolean(1));
		json_object_object_add(o, "refcnt", json_object_new_int(1 + rpc_key_users(k->name)));
		json_object_array_add(*res, o);
	}
	return 0;
}

/* The secret behind key name into out; 0, or fails e. */
static int rpc_key_secret(const char *name, char *out, size_t len, struct rpc_err *e)
{
	const struct rpc_key *k = rpc_key_find(name);

	if (!k)
		return rpc_fail(e, RPC_INVALID_PARAMS, "no key named '%s' (keyring_file_add_key first)", name);
	if (auth_secret_load(k->path, out, len))
		return rpc_fail(e, RPC_INVALID_PARAMS, "key file '%s': %s", k->path, strerror(errno));
	return 0;
}

/* Remember (or forget, key NULL) which keys host has on nqn. */
static void rpc_dhchap_note(const char *nqn, const char *host, const char *key, const char *ckey)
{
	struct rpc_dhchap **pp, *d;

	for (pp = &g_dhchap; *pp && (strcmp((*pp)->nqn, nqn) || strcmp((*pp)->host, host));
	     pp = &(*pp)->next)
		;
	if (*pp) {
		d = *pp;
		*pp = d->next;
		free(d);
	}
	if (!key || !(d = calloc(1, sizeof(*d))))
		return;
	snprintf(d->nqn, sizeof(d->nqn), "%s", nqn);
	snprintf(d->host, sizeof(d->host), "%s", host);
	snprintf(d->key, sizeof(d->key), "%s", key);
	snprintf(d->ctrlr_key, sizeof(d->ctrlr_key), "%s", ckey ? ckey : "");
	d->next = g_dhchap;
	g_dhchap = d;
}

/*
 * nvmf_subsystem_add_host's dhchap_key and dhchap_ctrlr_key: key names.
 * The host must then authenticate on s (auth.c). Under g_config_lock, as
 * reactors read the secrets at Connect. 0, or fails e.
 */
static int rpc_host_keys(struct json_object *p, struct nvmf_subsys *s, const char *host,
			 struct rpc_err *e)
{
	const char *key = NULL, *ckey = NULL;
	char k[256], c[256], err[160];
	int rc = 0;

	if (rpc_str(p, "dhchap_key", false, &key, e) || rpc_str(p, "dhchap_ctrlr_key", false, &ckey, e))
		return -1;
	if (!key && ckey)
		return rpc_fail(e, RPC_INVALID_PARAMS, "dhchap_ctrlr_key needs a dhchap_key");
	if (!key)
		return 0;
	if (rpc_key_secret(key, k, sizeof(k), e) || (ckey && rpc_key_secret(ckey, c, sizeof(c), e)))
		return -1;
	pthread_rwlock_wrlock(&g_config_lock);
	rc = auth_host_set(s->nqn, host, k, ckey ? c : NULL, err, sizeof(err));
	pthread_rwlock_unlock(&g_config_lock);
	explicit_bzero(k, sizeof(k));
	explicit_bzero(c, sizeof(c));
	if (rc)
		return rpc_fail(e, RPC_INVALID_PARAMS, "%s: %s", key, err);
	rpc_dhchap_note(s->nqn, host, key, ckey);
	return 0;
}

/* nvmf_set_config: of SPDK's target options, the allowed DH-HMAC-CHAP
 * hashes and groups (lists of names); the rest do not apply here. */
static int rpc_set_config(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	static const char *const keys[] = { "dhchap_digests", "dhchap_dhgroups" };

	if (rpc_check_keys(p, "nvmf_set_config", " dhchap_digests dhchap_dhgroups ",
			   " acceptor_poll_rate conn_sched passthru_identify_ctrlr poll_groups_mask"
			   " discovery_filter admin_cmd_passthru ", e))
		return -1;
	for (int i = 0; i < 2; i++) {
		struct json_object *v;
		char list[256] = "";
		int rc;

		if (!p || !json_object_object_get_ex(p, keys[i], &v))
			continue;
		if (!json_object_is_type(v, json_type_array))
			return rpc_fail(e, RPC_INVALID_PARAMS, "%s must be an array of names", keys[i]);
		for (size_t j = 0; j < json_object_array_length(v); j++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", j ? "," : "",
				 json_object_get_string(json_object_array_get_idx(v, j)));
		pthread_rwlock_wrlock(&g_config_lock);
		rc = i ? auth_set_dhgroups(list) : auth_set_digests(list);
		pthread_rwlock_unlock(&g_config_lock);
		if (rc)
			return rpc_fail(e, RPC_INVALID_PARAMS, "%s: '%s' has an unknown name (%s)", keys[i],
					list, i ? "null, ffdhe2048 ... ffdhe8192" : "sha256, sha384, sha512");
	}
	*res = json_object_new_boolean(1);
	return 0;
}

/* save_config's nvmf_set_config: the lists as SPDK writes them. */
static struct json_object *rpc_set_config_json(void)
{
	struct json_object *p = json_object_new_object(), *d = json_object_new_array();
	struct json_object *g = json_object_new_array();

	for (uint8_t i = 1; i <= 3; i++)
		if (g_auth_digests >> i & 1)
			json_object_array_add(d, json_object_new_string(auth_hash_name(i)));
	for (uint8_t i = 0; i <= 5; i++)
		if (g_auth_dhgroups >> i & 1)
			json_object_array_add(g, json_object_new_string(auth_dh_name(i)));
	json_object_object_add(p, "dhchap_digests", d);
	json_object_object_add(p, "dhchap_dhgroups", g);
	return p;
}

static int rpc_host_method(struct json_object *p, struct json_object **res, struct rpc_err *e,
			   bool add)
{
	const char *method = add ? "nvmf_subsystem_add_host" : "nvmf_subsystem_remove_host";
	const char *host = NULL;
	struct nvmf_subsys *s;
	bool any;
	int rc;

	if (rpc_check_keys(p, method, add ? " nqn host dhchap_key dhchap_ctrlr_key " : " nqn host ",
			   " tgt_name psk ", e) ||
	    !(s = rpc_subsys(p, e)) || rpc_str(p, "host", true, &host, e))
		return -1;
	if (s->is_disc)
		return rpc_fail(e, RPC_INVALID_PARAMS, "the discovery subsystem admits every host");
	for (int i = 0; add && i < s->nr_hosts; i++)	/* before any key changes */
		if (!strcmp(s->hosts[i], host))
			return rpc_fail(e, RPC_INVALID_PARAMS, "host %s is already allowed on %s", host, s->nqn);
	if (add && rpc_host_keys(p, s, host, e))
		return -1;
	if (!add) {
		pthread_rwlock_wrlock(&g_config_lock);
		auth_host_remove(s->nqn, host);
		pthread_rwlock_unlock(&g_config_lock);
		rpc_dhchap_note(s->nqn, host, NULL, NULL);
	}
	any = s->allow_any_host;
	rc = add ? nvmf_subsys_add_host(s, host) : nvmf_subsys_remove_host(s, host);
	if (add && !rc)
		nvmf_subsys_allow_any(s, any);	/* SPDK: the list and the flag are apart */
	if (rc == -EINVAL)
		return rpc_fail(e, RPC_INVALID_PARAMS, "'%s' is not an NQN (nqn.yyyy-mm.domain:name)", host);
	if (rc == -EEXIST)
		return rpc_fail(e, RPC_INVALID_PARAMS, "host %s is already allowed on %s", host, s->nqn);
	if (rc == -ENOENT)
		return rpc_fail(e, RPC_INVALID_PARAMS, "host %s is not on %s's list", host, s->nqn);
	if (rc)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "%s", strerror(-rc));
	*res = json_object_new_boolean(1);
	return 0;
}

static int rpc_add_host(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	return rpc_host_method(p, res, e, true);
}

static int rpc_remove_host(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	return rpc_host_method(p, res, e, false);
}

static int rpc_allow_any_host(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	struct nvmf_subsys *s;
	bool any = false;

	if (rpc_check_keys(p, "nvmf_subsystem_allow_any_host", " nqn allow_any_host ", " tgt_name ", e) ||
	    !(s = rpc_subsys(p, e)) || rpc_bool(p, "allow_any_host", &any, e))
		return -1;
	if (!json_object_object_get_ex(p, "allow_any_host", NULL))
		return rpc_fail(e, RPC_INVALID_PARAMS, "missing parameter 'allow_any_host'");
	if (s->is_disc)
		return rpc_fail(e, RPC_INVALID_PARAMS, "the discovery subsystem admits every host");
	nvmf_subsys_allow_any(s, any);
	*res = json_object_new_boolean(1);
	return 0;
}

static int rpc_get_controllers(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	static struct nvmf_ctrl_info info[256];
	struct nvmf_subsys *s;
	int n;

	if (rpc_check_keys(p, "nvmf_subsystem_get_controllers", " nqn ", " tgt_name ", e) ||
	    !(s = rpc_subsys(p, e)))
		return -1;
	n = nvmf_subsys_ctrls(s, info, ARRAY_SIZE(info));
	*res = json_object_new_array();
	for (int i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();
		char hostid[40];

		rpc_fmt_uuid(info[i].hostid, hostid);
		json_object_object_add(o, "cntlid", json_object_new_int64(info[i].cntlid));
		json_object_object_add(o, "hostnqn", json_object_new_string(info[i].hostnqn));
		json_object_object_add(o, "hostid", json_object_new_string(hostid));
		json_object_object_add(o, "num_io_qpairs", json_object_new_int64(info[i].nr_io_queues));
		json_object_array_add(*res, o);
	}
	return 0;
}

static int rpc_get_qpairs(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	static struct nvmf_qpair_info info[1024];
	struct nvmf_subsys *s;
	int n;

	if (rpc_check_keys(p, "nvmf_subsystem_get_qpairs", " nqn ", " tgt_name ", e) ||
	    !(s = rpc_subsys(p, e)))
		return -1;
	n = nvmf_subsys_qpairs(s, info, ARRAY_SIZE(info));
	*res = json_object_new_array();
	for (int i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();
		struct nvmf_listener *l = info[i].listener;
		char thread[32];

		snprintf(thread, sizeof(thread), "nvmf_tgt_poll_group_%d", info[i].reactor);
		json_object_object_add(o, "cntlid", json_object_new_int64(info[i].cntlid));
		json_object_object_add(o, "qid", json_object_new_int64(info[i].qid));
		json_object_object_add(o, "state", json_object_new_string("active"));
		json_object_object_add(o, "thread", json_object_new_string(thread));
		json_object_object_add(o, "peer_address", json_object_new_string(info[i].peer));
		if (l)
			json_object_object_add(o, "listen_address",
					       rpc_address_json(l->trtype, l->adrfam, l->traddr, l->trsvcid));
		json_object_array_add(*res, o);
	}
	return 0;
}

/* nvmf_get_stats: one poll group per reactor, with its queue counts. */
static int rpc_get_stats(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	static struct nvmf_qpair_info info[1024];
	struct json_object *groups = json_object_new_array();
	unsigned admin[64] = { 0 }, io[64] = { 0 };

	if (rpc_check_keys(p, "nvmf_get_stats", " ", " tgt_name ", e)) {
		json_object_put(groups);
		return -1;
	}
	for (struct nvmf_subsys *s = &g_discovery; s; s = s == &g_discovery ? g_subsystems : s->next) {
		int n = nvmf_subsys_qpairs(s, info, ARRAY_SIZE(info));

		for (int i = 0; i < n; i++) {
			if (info[i].reactor < 0 || info[i].reactor >= 64)
				continue;
			if (info[i].qid)
				io[info[i].reactor]++;
			else
				admin[info[i].reactor]++;
		}
	}
	for (int r = 0; r < g_nr_reactors && r < 64; r++) {
		struct json_object *g = json_object_new_object(), *t = json_object_new_array();
		struct json_object *tt = json_object_new_object();
		char name[32];

		snprintf(name, sizeof(name), "nvmf_tgt_poll_group_%d", r);
		json_object_object_add(g, "name", json_object_new_string(name));
		json_object_object_add(g, "admin_qpairs", json_object_new_int64(admin[r]));
		json_object_object_add(g, "io_qpairs", json_object_new_int64(io[r]));
		/* SPDK counts the two above since start and these now; nvmf
		 * keeps no history, so both pairs are the queues open now. */
		json_object_object_add(g, "current_admin_qpairs", json_object_new_int64(admin[r]));
		json_object_object_add(g, "current_io_qpairs", json_object_new_int64(io[r]));
		json_object_object_add(tt, "trtype", json_object_new_string("TCP"));
		json_object_array_add(t, tt);
		json_object_object_add(g, "transports", t);
		json_object_array_add(groups, g);
	}
	*res = json_object_new_object();
	json_object_object_add(*res, "tick_rate", json_object_new_int64(1000));
	json_object_object_add(*res, "poll_groups", groups);
	return 0;
}

/* ==================================================================== */
/* Methods: discovery referrals                                        */
/* ==================================================================== */

static int rpc_referral_parse(struct json_object *p, const char *method, struct nvmf_referral *f,
			      struct rpc_err *e)
{
	const char *subnqn = NVMF_DISC_NQN;
	struct nvmf_listener l;

	if (rpc_check_keys(p, method, " address subnqn secure_channel ", " tgt_name ", e) ||
	    rpc_parse_address(p, "address", &l, e) || rpc_str(p, "subnqn", false, &subnqn, e))
		return -1;
	memset(f, 0, sizeof(*f));
	if (rpc_bool(p, "secure_channel", &f->secure_channel, e))
		return -1;
	if (nvmf_nqn_valid(subnqn))
		return rpc_fail(e, RPC_INVALID_PARAMS, "subnqn '%s' is not an NQN", subnqn);
	f->trtype = l.trtype;
	f->adrfam = l.adrfam;
	memcpy(f->traddr, l.traddr, sizeof(f->traddr));
	memcpy(f->trsvcid, l.trsvcid, sizeof(f->trsvcid));
	snprintf(f->subnqn, sizeof(f->subnqn), "%s", subnqn);
	return 0;
}

static int rpc_add_referral(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	struct nvmf_referral f;
	char err[512];

	if (rpc_referral_parse(p, "nvmf_discovery_add_referral", &f, e))
		return -1;
	if (nvmf_referral_add(&f, err, sizeof(err)))
		return rpc_fail(e, RPC_INVALID_PARAMS, "%s", err);
	*res = json_object_new_boolean(1);
	return 0;
}

static int rpc_remove_referral(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	struct nvmf_referral f;
	char err[512];

	if (rpc_referral_parse(p, "nvmf_discovery_remove_referral", &f, e))
		return -1;
	if (nvmf_referral_remove(&f, err, sizeof(err)))
		return rpc_fail(e, RPC_INVALID_PARAMS, "%s", err);
	*res = json_object_new_boolean(1);
	return 0;
}

static struct json_object *rpc_referral_json(const struct nvmf_referral *f)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "address", rpc_address_json(f->trtype, f->adrfam, f->traddr, f->trsvcid));
	json_object_object_add(o, "secure_channel", json_object_new_boolean(f->secure_channel));
	json_object_object_add(o, "subnqn", json_object_new_string(f->subnqn));
	return o;
}

static int rpc_get_referrals(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	if (rpc_check_keys(p, "nvmf_discovery_get_referrals", " ", " tgt_name ", e))
		return -1;
	*res = json_object_new_array();
	for (struct nvmf_referral *f = g_referrals; f; f = f->next)
		json_object_array_add(*res, rpc_referral_json(f));
	return 0;
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
static void rpc_save_bdevs(struct json_object *cfg, struct rpc_bdev *rb)
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

/* Read FILE and apply it, for `nvmf -c`. config.c reads it, whatever its
 * format (SPDK JSON, nvmetcli JSON, legacy INI), as SPDK JSON. */
int rpc_load_config_file(const char *path, char *err, size_t errlen)
{
	struct json_object *cfg;
	int rc;

	rc = config_load_file(path, &cfg, err, errlen);
	if (rc)
		return rc;
	rc = rpc_load_config(cfg, err, errlen);
	json_object_put(cfg);
	return rc;
}

/* ==================================================================== */
/* Dispatch                                                            */
/* ==================================================================== */

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

		uint32_t mio = t->trtype == NVMF_TRTYPE_TCP ? g_tcp_max_io_size : NVMF_MAX_DATA;

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
	while (g_bdevs) {
		struct rpc_bdev *rb = g_bdevs;

		g_bdevs = rb->next;
		if (!nvmf_bdev_owner(rb->b, NULL))
			bdev_free(rb->b);
		free(rb);
	}
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
