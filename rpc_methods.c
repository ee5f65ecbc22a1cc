/*
 * rpc_methods.c - the RPC methods that create, change and list nvmf's
 * objects: bdevs, transports, subsystems with their namespaces, hosts
 * and listeners, DH-HMAC-CHAP keys, statistics and discovery referrals.
 *
 *   rpc.c: socket -> rpc_dispatch -> g_rpc_methods[] --+
 *                                                       v
 *   this file:  rpc_bdev_*  rpc_create_transport  rpc_create_subsystem
 *               rpc_add_ns  rpc_add_host  rpc_keyring_*  rpc_get_stats ...
 *                    |                 |
 *                    v                 v
 *   bdev.c (backends, the registry)   subsys.c (live configuration:
 *                                      subsystems, hosts, listeners)
 *
 * Each method checks its params with rpc.c's typed getters, then calls
 * the owner of the object; it holds no lock of its own because the RPC
 * thread is the only writer (rpc.c says why). Sections, in order: bdevs,
 * transports, subsystems (and what hangs off them), keyring and
 * DH-HMAC-CHAP, statistics, discovery referrals.
 *
 * Why a file apart from rpc.c: the server, dispatch and save_config are
 * the same for every method, and a reader learns them once; the methods
 * are a catalogue, read one at a time when one of them is the question.
 * Names, parameters and result shapes are SPDK's (doc/jsonrpc.md), so
 * SPDK's scripts/rpc.py and tutorials work against nvmf unchanged.
 *
 * Tutorial chapter 09 reads this file after rpc.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <json.h>

#include "nvmf.h"
#include "rpc.h"

/* ==================================================================== */
/* Methods: bdevs (the registry itself is in bdev.c)                   */
/* ==================================================================== */

/* The controllers bdev_nvme_attach_controller made, newest first. */
struct rpc_nvme_ctrl *g_nvme_ctrls;

/*
 * bdev.c's registry speaks errno and a sentence; a method speaks JSON-RPC.
 * These four wrappers translate, so each error reaches the client with
 * the code that says whose fault it was: -32602 for a name the client
 * chose badly or a bdev still in use, -32603 when the backend or memory
 * failed.
 */

/* Can name be a new bdev's? Returns 0 or -1 with e set. */
static int rpc_bdev_name_ok(const char *name, struct rpc_err *e)
{
	char err[256];

	if (bdev_name_check(name, err, sizeof(err)))
		return rpc_fail(e, RPC_INVALID_PARAMS, "%s", err);
	return 0;
}

/* Register the new backend b under name (checked by rpc_bdev_name_ok). */
static int rpc_bdev_register(const char *name, struct nvmf_bdev *b, const char *method,
			     struct bdev_entry **out, struct rpc_err *e)
{
	if (bdev_register(name, b, method, out))
		return rpc_fail(e, RPC_INTERNAL_ERROR, "out of memory");
	return 0;
}

/* Make a backend from a bdev.c spec and register it under name. Returns
 * 0 or -1 with e set (name taken, bad spec, backend not in this build). */
static int rpc_bdev_make(const char *name, const char *spec, const char *method,
			 struct bdev_entry **out, struct rpc_err *e)
{
	struct nvmf_bdev *b;
	char err[256];

	if (rpc_bdev_name_ok(name, e))
		return -1;
	if (bdev_create(spec, &b, err, sizeof(err)))
		return rpc_fail(e, RPC_INTERNAL_ERROR, "%s: %s", method, err);
	return rpc_bdev_register(name, b, method, out, e);
}

/* Delete an unclaimed bdev: a namespace's blocks cannot vanish under it. */
static int rpc_bdev_delete(const char *name, struct rpc_err *e)
{
	struct bdev_entry *be = bdev_find(name);
	struct nvmf_subsys *s;

	if (!be)
		return rpc_fail(e, RPC_INVALID_PARAMS, "bdev %s does not exist", name);
	if (nvmf_bdev_owner(be->b, &s))
		return rpc_fail(e, RPC_INVALID_PARAMS, "bdev %s is claimed by a namespace of %s: "
				"remove the namespace first", name, s->nqn);
	bdev_unregister(name);
	return 0;
}


/* bdev_malloc_create / bdev_null_create: name, num_blocks, block_size.
 * rpc.py turns "-b Malloc0 64 512" (MiB) into num_blocks. */
static int rpc_bdev_mem_create(struct json_object *p, struct json_object **res,
			       struct rpc_err *e, const char *method, const char *kind)
{
	uint64_t nblocks = 0, bs = 512;
	const char *name = NULL;
	struct bdev_entry *rb;
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

/* A malloc bdev is RAM, a null bdev has no blocks at all: the same
 * parameters, so one function with the backend's kind. */
int rpc_bdev_malloc_create(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	return rpc_bdev_mem_create(p, res, e, "bdev_malloc_create", "ram");
}

int rpc_bdev_null_create(struct json_object *p, struct json_object **res, struct rpc_err *e)
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
	struct bdev_entry *rb = NULL;
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

/* SPDK has two file backends, libaio and io_uring; nvmf has one, and
 * both methods name it, so scripts written for either work. */
int rpc_bdev_aio_create(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	return rpc_bdev_file_create(p, res, e, "bdev_aio_create");
}

int rpc_bdev_uring_create(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	return rpc_bdev_file_create(p, res, e, "bdev_uring_create");
}

/* bdev_*_delete: name. Only an unclaimed bdev can go, and only through
 * the delete method of the kind that made it (as in SPDK). */
static int rpc_bdev_delete_method(struct json_object *p, struct json_object **res,
				  struct rpc_err *e, const char *method, const char *maker)
{
	const char *name = NULL;
	struct bdev_entry *rb;

	if (rpc_check_keys(p, method, " name ", NULL, e) || rpc_str(p, "name", true, &name, e))
		return -1;
	rb = bdev_find(name);
	if (rb && strcmp(rb->method, maker))
		return rpc_fail(e, RPC_INVALID_PARAMS, "bdev %s was made by %s, not deleted by %s",
				name, rb->method, method);
	if (rpc_bdev_delete(name, e))
		return -1;
	*res = json_object_new_boolean(1);
	return 0;
}

/* Each kind has its own delete method, as in SPDK, and a bdev goes only
 * through its own kind's: rpc_bdev_delete_method checks that. */
int rpc_bdev_malloc_delete(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	return rpc_bdev_delete_method(p, res, e, "bdev_malloc_delete", "bdev_malloc_create");
}

int rpc_bdev_null_delete(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	return rpc_bdev_delete_method(p, res, e, "bdev_null_delete", "bdev_null_create");
}

int rpc_bdev_aio_delete(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	return rpc_bdev_delete_method(p, res, e, "bdev_aio_delete", "bdev_aio_create");
}

int rpc_bdev_uring_delete(struct json_object *p, struct json_object **res, struct rpc_err *e)
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
int rpc_bdev_nvme_attach(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	const char *name = NULL, *trtype = NULL, *traddr = NULL;
	struct rpc_nvme_ctrl *c;
	struct bdev_entry *rb;
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
int rpc_bdev_nvme_detach(struct json_object *p, struct json_object **res, struct rpc_err *e)
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
	if (bdev_find(bname) && rpc_bdev_delete(bname, e))
		return -1;
	*pp = c->next;
	free(c);
	*res = json_object_new_boolean(1);
	return 0;
}

/* bdev_nvme_get_controllers: SPDK's shape, one ctrlrs[] entry each, with
 * the trid the controller was attached by (the PCI address, or the
 * simulator's size), so a script can find the controller it attached. */
int rpc_bdev_nvme_get_controllers(struct json_object *p, struct json_object **res,
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

/* bdev_get_bdevs's product_name: the strings SPDK's modules print, since
 * scripts tell bdev kinds apart by them. */
static const char *rpc_product_name(const struct bdev_entry *rb)
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
int rpc_bdev_get_bdevs(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	const char *name = NULL;

	if (rpc_check_keys(p, "bdev_get_bdevs", " name ", " timeout ", e) ||
	    rpc_str(p, "name", false, &name, e))
		return -1;
	if (name && !bdev_find(name))
		return rpc_fail(e, RPC_INVALID_PARAMS, "bdev %s does not exist", name);
	*res = json_object_new_array();
	for (struct bdev_entry *rb = g_bdevs; rb; rb = rb->next) {
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
int rpc_bdev_get_iostat(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	struct json_object *arr;
	const char *name = NULL;

	if (rpc_check_keys(p, "bdev_get_iostat", " name ", " per_channel reset_mode ", e) ||
	    rpc_str(p, "name", false, &name, e))
		return -1;
	if (name && !bdev_find(name))
		return rpc_fail(e, RPC_INVALID_PARAMS, "bdev %s does not exist", name);
	*res = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(*res, "tick_rate", json_object_new_int64(1000));
	json_object_object_add(*res, "ticks", json_object_new_int64(nvmf_now_ms()));
	for (struct bdev_entry *rb = g_bdevs; rb; rb = rb->next) {
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

/* One per transport this nvmf knows; RDMA only when rdma.c is built in.
 * The limits are the core's (g_limits), shared by both. */
struct rpc_transport g_transports[] = {
	{ .name = "TCP", .trtype = NVMF_TRTYPE_TCP },
	{ .name = "RDMA", .trtype = NVMF_TRTYPE_RDMA },
};

/* The transport named name (any case), or NULL if nvmf lacks it. */
struct rpc_transport *rpc_transport_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(g_transports); i++)
		if (!strcasecmp(name, g_transports[i].name) &&
		    (g_transports[i].trtype != NVMF_TRTYPE_RDMA || NVMF_HAVE_RDMA))
			return &g_transports[i];
	return NULL;
}

/* The record of trtype (TCP or RDMA), created or not. */
struct rpc_transport *rpc_transport_of(uint8_t trtype)
{
	return &g_transports[trtype == NVMF_TRTYPE_RDMA];
}

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
 *                               io_unit_size bytes, for RDMA's commands
 *                               too (RDMA: not used)
 */
int rpc_create_transport(struct json_object *p, struct json_object **res, struct rpc_err *e)
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
	if (!mio && t->trtype == NVMF_TRTYPE_TCP)
		mio = g_tcp_max_io_size != NVMF_TCP_MAX_IO_DEFAULT ? g_tcp_max_io_size : NVMF_MAX_DATA;
	if (!mio)
		mio = g_rdma_max_io_size;
	if (t->trtype != NVMF_TRTYPE_TCP && nvmf_check_buffers(mio, g_buf_pool_size, err, sizeof(err)))
		return rpc_fail(e, RPC_INVALID_PARAMS, "%s", err);
	if (iou < 512 || (iou & (iou - 1)) || iou > mio)
		return rpc_fail(e, RPC_INVALID_PARAMS, "io_unit_size %llu: a power of two, 512..max_io_size",
				(unsigned long long)iou);
	/* One pool serves both transports: a pool that RDMA's MDTS (set
	 * before) does not fit would leave its large commands waiting for
	 * ever, so the new pool must hold one command of each. */
	if (t->trtype == NVMF_TRTYPE_TCP && nsb && rpc_transport_of(NVMF_TRTYPE_RDMA)->created &&
	    nvmf_check_buffers(g_rdma_max_io_size, nsb * iou, err, sizeof(err)))
		return rpc_fail(e, RPC_INVALID_PARAMS, "%s (RDMA's; the pool is num_shared_buffers * "
				"io_unit_size, shared by both transports)", err);
	if (t->trtype == NVMF_TRTYPE_TCP &&
	    tcp_set_buffers(mio, nsb ? nsb * iou : g_buf_pool_size, err, sizeof(err)))
		return rpc_fail(e, RPC_INVALID_PARAMS, "%s%s", err,
				nsb ? " (the pool is num_shared_buffers * io_unit_size)" : "");
	if (t->trtype != NVMF_TRTYPE_TCP)
		g_rdma_max_io_size = mio;
	g_limits.max_queue_depth = qd;
	g_limits.max_io_qpairs = ioq;
	g_limits.io_icd = icd;
	*t = (struct rpc_transport){ t->name, t->trtype, true, qd, ioq, icd, mio, iou };
	*res = json_object_new_boolean(1);
	return 0;
}

/* One transport as nvmf_get_transports shows it and save_config writes
 * it: the same object, so a saved configuration recreates the transport
 * with exactly the limits it reported. */
struct json_object *rpc_transport_json(const struct rpc_transport *t)
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

/* nvmf_get_transports: those created (by the method, or implied by a
 * command-line listener), or the one named by trtype. */
int rpc_get_transports(struct json_object *p, struct json_object **res, struct rpc_err *e)
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
int rpc_create_subsystem(struct json_object *p, struct json_object **res, struct rpc_err *e)
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

static void rpc_dhchap_release(const char *nqn);

/* nvmf_delete_subsystem: its namespaces go first (their bdevs stay, as
 * in SPDK), then its controllers, then it, and last its hosts' hold on
 * keyring keys: otherwise the keys could never be removed, and a new
 * subsystem of the same NQN would inherit the old hosts' secrets. */
int rpc_delete_subsystem(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	char err[512], nqn[NVMF_NQN_SIZE];
	struct nvmf_subsys *s;
	struct nvmf_bdev *b;
	int rc;

	if (rpc_check_keys(p, "nvmf_delete_subsystem", " nqn ", " tgt_name ", e) ||
	    !(s = rpc_subsys(p, e)))
		return -1;
	if (s->is_disc)
		return rpc_fail(e, RPC_INVALID_PARAMS, "the discovery subsystem cannot be deleted");
	for (uint32_t nsid = 1; nsid <= NVMF_MAX_NS; nsid++)
		if (s->ns[nsid - 1] && nvmf_subsys_detach_ns(s, nsid, &b, err, sizeof(err)))
			return rpc_fail(e, RPC_INTERNAL_ERROR, "%s", err);
	snprintf(nqn, sizeof(nqn), "%s", s->nqn);	/* s is freed below */
	rc = nvmf_subsys_remove(s, err, sizeof(err));
	rpc_dhchap_release(nqn);	/* unlinked even when rc says it was slow */
	if (rc)
		return rpc_fail(e, RPC_INTERNAL_ERROR, "%s", err);
	*res = json_object_new_boolean(1);
	return 0;
}

/* SPDK spells address families "IPv4"/"IPv6"; the wire's ADRFAM is a
 * number. Only IP families reach here: listeners are TCP or RDMA. */
static const char *rpc_adrfam_name(uint8_t adrfam)
{
	return adrfam == NVMF_ADRFAM_IPV6 ? "IPv6" : "IPv4";
}

/* A listen_address / address object, as SPDK prints it: shared by
 * subsystems, listeners and referrals, and by save_config. */
struct json_object *rpc_address_json(uint8_t trtype, uint8_t adrfam, const char *traddr,
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
int rpc_subsys_ports(struct nvmf_subsys *s, struct nvmf_listener **out, int max)
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

/* One subsystem as nvmf_get_subsystems shows it: its listeners, hosts
 * and namespaces. The discovery subsystem is listed too (SPDK lists it),
 * with no namespaces. */
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
int rpc_get_subsystems(struct json_object *p, struct json_object **res, struct rpc_err *e)
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

/* add_listener and remove_listener take the same parameters; only the
 * call into subsys.c differs. ana_state and the like are SPDK options for
 * multipath that nvmf does not have, so they are named and ignored. */
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

int rpc_add_listener(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	return rpc_listener_method(p, res, e, true);
}

int rpc_remove_listener(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	return rpc_listener_method(p, res, e, false);
}

int rpc_get_listeners(struct json_object *p, struct json_object **res, struct rpc_err *e)
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
int rpc_add_ns(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	const char *bdev = NULL, *uuid_s = NULL, *nguid_s = NULL;
	uint8_t uuid[16], nguid[16];
	struct json_object *nsj;
	struct nvmf_subsys *s;
	struct bdev_entry *rb;
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
	if (!(rb = bdev_find(bdev)))
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

/* nvmf_subsystem_remove_ns: nqn, nsid. The bdev stays registered (as in
 * SPDK) and can be added again, here or to another subsystem. */
int rpc_remove_ns(struct json_object *p, struct json_object **res, struct rpc_err *e)
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
struct rpc_key *g_keys;
struct rpc_dhchap *g_dhchap;

/* The key registered as name, or NULL. Few keys: a list is enough. */
static struct rpc_key *rpc_key_find(const char *name)
{
	struct rpc_key *k;

	for (k = g_keys; k && strcmp(k->name, name); k = k->next)
		;
	return k;
}

/* keyring_file_add_key: an absolute path to a file only its owner may
 * read (SPDK's rule: a key file others can read is refused). */
int rpc_keyring_add(struct json_object *p, struct json_object **res, struct rpc_err *e)
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

/* keyring_file_remove_key: name. A key a host still uses is refused, so
 * a later authentication cannot find its secret gone. */
int rpc_keyring_remove(struct json_object *p, struct json_object **res, struct rpc_err *e)
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
int rpc_keyring_get(struct json_object *p, struct json_object **res, struct rpc_err *e)
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

/* A deleted subsystem's hosts give back their keys: auth.c forgets
 * their secrets and the keyring its references (keyring_file_remove_key
 * then works). Connections already made are gone with the subsystem. */
static void rpc_dhchap_release(const char *nqn)
{
	struct rpc_dhchap **pp = &g_dhchap, *d;

	while ((d = *pp)) {
		if (strcmp(d->nqn, nqn)) {
			pp = &d->next;
			continue;
		}
		pthread_rwlock_wrlock(&g_config_lock);
		auth_host_remove(nqn, d->host);
		pthread_rwlock_unlock(&g_config_lock);
		*pp = d->next;
		free(d);
	}
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
int rpc_set_config(struct json_object *p, struct json_object **res, struct rpc_err *e)
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
struct json_object *rpc_set_config_json(void)
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

/* add_host and remove_host: nqn, host. Adding may give the host keys
 * (dhchap_key, dhchap_ctrlr_key: names from the keyring); psk is TLS,
 * which nvmf does not speak, so it is named and ignored. */
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

int rpc_add_host(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	return rpc_host_method(p, res, e, true);
}

int rpc_remove_host(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	return rpc_host_method(p, res, e, false);
}

/* nvmf_subsystem_allow_any_host: the switch between "the host list
 * decides" and "every host may connect". */
int rpc_allow_any_host(struct json_object *p, struct json_object **res, struct rpc_err *e)
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

/* nvmf_subsystem_get_controllers: one entry per live controller. The
 * array is static, not on the stack: it is large, and the RPC thread is
 * its only user, so one copy serves every call. */
int rpc_get_controllers(struct json_object *p, struct json_object **res, struct rpc_err *e)
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

/* nvmf_subsystem_get_qpairs: every queue of every controller of nqn
 * (static for the same reason as rpc_get_controllers). */
int rpc_get_qpairs(struct json_object *p, struct json_object **res, struct rpc_err *e)
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
int rpc_get_stats(struct json_object *p, struct json_object **res, struct rpc_err *e)
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
		/* nvmf's own: sleeps a reactor refused because work was
		 * stranded (main.c, nvmf_reactor_stranded); each is a bug. */
		json_object_object_add(g, "lost_wakeups",
				       json_object_new_int64(atomic_load(&g_reactors[r].lost_wakeups)));
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

/* A referral's address and subnqn (the discovery NQN unless given):
 * what add and remove both need. */
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

int rpc_add_referral(struct json_object *p, struct json_object **res, struct rpc_err *e)
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

int rpc_remove_referral(struct json_object *p, struct json_object **res, struct rpc_err *e)
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

/* A referral as nvmf_discovery_get_referrals and save_config print it. */
struct json_object *rpc_referral_json(const struct nvmf_referral *f)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "address", rpc_address_json(f->trtype, f->adrfam, f->traddr, f->trsvcid));
	json_object_object_add(o, "secure_channel", json_object_new_boolean(f->secure_channel));
	json_object_object_add(o, "subnqn", json_object_new_string(f->subnqn));
	return o;
}

/* nvmf_discovery_get_referrals: the Discovery Log Page's referral
 * entries, as the methods above made them. */
int rpc_get_referrals(struct json_object *p, struct json_object **res, struct rpc_err *e)
{
	if (rpc_check_keys(p, "nvmf_discovery_get_referrals", " ", " tgt_name ", e))
		return -1;
	*res = json_object_new_array();
	for (struct nvmf_referral *f = g_referrals; f; f = f->next)
		json_object_array_add(*res, rpc_referral_json(f));
	return 0;
}
