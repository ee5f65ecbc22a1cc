/*
 * rpc.h - what rpc.c (the server) and rpc_methods.c (the methods) share:
 * the JSON-RPC error codes, a method's error, the typed parameter
 * getters, the records save_config writes back, and the method handlers
 * the dispatch table names. Nothing outside the RPC files includes it;
 * the rest of nvmf sees the control plane through nvmf.h.
 *
 * Tutorial chapter 09 reads it beside rpc.c.
 */
#ifndef NVMF_RPC_H
#define NVMF_RPC_H

#include <stdbool.h>
#include <stdint.h>

#include "nvmf.h"

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

/* A DH-HMAC-CHAP key file registered with keyring_file_add_key. We keep
 * its name and path only: the secret is read when a host is given it. */
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

/* rpc_methods.c's records, read by rpc.c's save_config and freed by
 * rpc_stop(). */
extern struct rpc_nvme_ctrl *g_nvme_ctrls;
extern struct rpc_transport g_transports[2];	/* TCP, RDMA */
extern struct rpc_key *g_keys;
extern struct rpc_dhchap *g_dhchap;
struct rpc_transport *rpc_transport_find(const char *name);
struct rpc_transport *rpc_transport_of(uint8_t trtype);

/* rpc.c: a failed method's answer, code and sentence. Returns -1, so a
 * method can `return rpc_fail(...)`. */
int rpc_fail(struct rpc_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * A method: params (NULL when the request had none) in, *res out. 0, or
 * -1 with e set; rpc.c's dispatch turns either into the response. The
 * methods of rpc_methods.c, named by rpc.c's dispatch table:
 */
typedef int rpc_handler(struct json_object *p, struct json_object **res, struct rpc_err *e);
/* bdevs */
rpc_handler rpc_bdev_aio_create, rpc_bdev_aio_delete, rpc_bdev_get_bdevs,
	rpc_bdev_get_iostat, rpc_bdev_malloc_create, rpc_bdev_malloc_delete,
	rpc_bdev_null_create, rpc_bdev_null_delete, rpc_bdev_nvme_attach, rpc_bdev_nvme_detach,
	rpc_bdev_nvme_get_controllers, rpc_bdev_uring_create, rpc_bdev_uring_delete;
/* transports */
rpc_handler rpc_create_transport, rpc_get_transports;
/* subsystems, their listeners, namespaces and hosts */
rpc_handler rpc_add_host, rpc_add_listener, rpc_add_ns, rpc_allow_any_host,
	rpc_create_subsystem, rpc_delete_subsystem, rpc_get_controllers, rpc_get_listeners,
	rpc_get_qpairs, rpc_get_subsystems, rpc_remove_host, rpc_remove_listener,
	rpc_remove_ns;
/* keyring and DH-HMAC-CHAP */
rpc_handler rpc_keyring_add, rpc_keyring_get, rpc_keyring_remove, rpc_set_config;
/* statistics */
rpc_handler rpc_get_stats;
/* discovery referrals */
rpc_handler rpc_add_referral, rpc_get_referrals, rpc_remove_referral;

/* rpc_methods.c: the JSON shapes save_config writes as the methods'
 * results would print them. */
struct json_object *rpc_address_json(uint8_t trtype, uint8_t adrfam, const char *traddr,
					    const char *trsvcid);
struct json_object *rpc_referral_json(const struct nvmf_referral *f);
struct json_object *rpc_set_config_json(void);
int rpc_subsys_ports(struct nvmf_subsys *s, struct nvmf_listener **out, int max);
struct json_object *rpc_transport_json(const struct rpc_transport *t);

/* rpc.c: the parameter getters. Each returns 0, or -1 with e filled in
 * with -32602 and a sentence naming the parameter, so a method can chain
 * them with || and return at the first failure. */
int rpc_check_keys(struct json_object *params, const char *method, const char *known,
			  const char *ignored, struct rpc_err *e);
int rpc_str(struct json_object *o, const char *key, bool required, const char **out,
		   struct rpc_err *e);
int rpc_u64(struct json_object *o, const char *key, bool required, uint64_t max,
		   uint64_t *out, struct rpc_err *e);
int rpc_bool(struct json_object *o, const char *key, bool *out, struct rpc_err *e);
struct nvmf_subsys *rpc_subsys(struct json_object *params, struct rpc_err *e);
int rpc_parse_id128(const char *str, uint8_t out[16]);
void rpc_fmt_uuid(const uint8_t u[16], char *buf);
void rpc_fmt_hex(const uint8_t *u, int n, char *buf);

#endif
