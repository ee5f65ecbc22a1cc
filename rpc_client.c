/*
 * rpc_client.c - `nvmf rpc`: SPDK rpc.py's command line, as a client of
 * any SPDK-style JSON-RPC server (nvmf's own, or SPDK's nvmf_tgt).
 *
 *   nvmf rpc [-s SOCK] [-t SECS] METHOD ARGS...
 *        |
 *   rpc_methods[]: the syntax table     (rpc.py's argparse, one line each)
 *        |  rpc_build_params: argv -> params, checked before sending
 *        v
 *   {"jsonrpc":"2.0","method":..,"params":..,"id":1}
 *        |  rpc_exchange over the Unix socket (/var/tmp/spdk.sock)
 *        v
 *   rpc.c (the server) --> result, printed as rpc.py prints it
 *
 * Sections, in order: the syntax table; building a request from argv;
 * printing JSON the way rpc.py does; the exchange over the socket and
 * rpc_client_main, the entry point.
 *
 * Why a client at all, when scripts/rpc.py exists: nvmf is one binary
 * with no Python, and a tutorial reader should be able to drive the
 * target from the same tree. The syntax is rpc.py's so that a line from
 * an SPDK tutorial works with either tool, and errors in the arguments
 * are caught here, before the server sees them, as rpc.py does.
 *
 * This file never touches the target's state: everything it knows of
 * the target arrives as JSON over the socket. JSON is built, parsed and
 * escaped by json-c; the only printing done by hand is the layout
 * (rpc.py's json.dumps(indent=2)), so output matches the SPDK tutorials.
 *
 * Tutorial chapter 10 reads this file.
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <json-c/json.h>

#include "nvmf.h"

#define RPC_CLIENT_SOCK		"/var/tmp/spdk.sock"	/* rpc.py's default */
#define RPC_CLIENT_MAX_REPLY	(64u << 20)	/* a save_config of a big target fits */

/* ==================================================================== */
/* The rpc.py syntax table                                             */
/* ==================================================================== */

/*
 * One line per method: its name, the deprecated alias rpc.py still
 * accepts, and its arguments as scripts/rpc.py declares them. Words of
 * args, separated by spaces:
 *
 *   name[:T][?]            a positional argument; '?' = may be left out
 *   -x/--long[=param][:T][!]   an option; '!' = required. The JSON
 *                          parameter is --long with '-' -> '_' unless
 *                          "=param" names it; "a.b" nests b in object a
 *                          (rpc.py's group_as), "@x" stays in the client.
 *   T: s string (default)  i integer        t flag, sends true
 *      f flag, sends false  mib float MiB -> num_blocks (with block_size)
 *      l "a,b,c" -> ["a", "b", "c"] (rpc.py's split(','))
 *      nqn a string where "discovery" means the discovery NQN
 *
 * So `bdev_malloc_create -b Malloc0 64 512` sends
 * {"name": "Malloc0", "num_blocks": 131072, "block_size": 512}.
 * Options only SPDK implements (-g tgt-name, DIF, zero copy, ...) are
 * still parsed and sent; the server says which it does not support.
 */
struct rpc_method {
	const char *name;
	const char *alias;
	const char *args;
};

#define LISTEN_ADDR "-t/--trtype=listen_address.trtype! -a/--traddr=listen_address.traddr! " \
	"-f/--adrfam=listen_address.adrfam -s/--trsvcid=listen_address.trsvcid"
#define REFERRAL_ADDR "-t/--trtype=address.trtype! -a/--traddr=address.traddr! " \
	"-f/--adrfam=address.adrfam -s/--trsvcid=address.trsvcid -n/--subnqn:nqn"

static const struct rpc_method rpc_methods[] = {
	{ "rpc_get_methods", "get_rpc_methods", "-c/--current:t -i/--include-aliases:t" },
	{ "save_config", NULL, "-i/--indent=@indent:i" },
	{ "load_config", NULL, "-j/--json-conf=@json_conf -i/--include-aliases=@aliases:t" },
	/* the application, as SPDK's framework reports it */
	{ "spdk_get_version", "get_spdk_version", "" },
	{ "framework_get_subsystems", "get_subsystems", "" },
	{ "framework_get_config", "get_subsystem_config", "name" },
	{ "framework_get_reactors", NULL, "" },
	{ "framework_wait_init", "wait_subsystem_init", "" },
	{ "bdev_wait_for_examine", NULL, "" },
	/* bdevs */
	{ "bdev_malloc_create", "construct_malloc_bdev",
	  "total_size:mib block_size:i -b/--name -u/--uuid" },
	{ "bdev_malloc_delete", "delete_malloc_bdev", "name" },
	{ "bdev_null_create", "construct_null_bdev", "name total_size:mib block_size:i -u/--uuid" },
	{ "bdev_null_delete", "delete_null_bdev", "name" },
	{ "bdev_aio_create", "construct_aio_bdev",
	  "filename name block_size:i? -r/--readonly:t --fallocate:t -u/--uuid" },
	{ "bdev_aio_delete", "delete_aio_bdev", "name" },
	{ "bdev_uring_create", NULL, "filename name block_size:i? -u/--uuid" },
	{ "bdev_uring_delete", NULL, "name" },
	{ "bdev_nvme_attach_controller", "construct_nvme_bdev",
	  "-b/--name! -t/--trtype! -a/--traddr! -f/--adrfam -s/--trsvcid -n/--subnqn "
	  "-q/--hostnqn -i/--hostaddr -c/--hostsvcid" },
	{ "bdev_nvme_detach_controller", "delete_nvme_controller",
	  "name -t/--trtype -a/--traddr -f/--adrfam -s/--trsvcid -n/--subnqn" },
	{ "bdev_nvme_get_controllers", "get_nvme_controllers", "-n/--name" },
	{ "bdev_get_bdevs", "get_bdevs", "-b/--name -t/--timeout:i" },
	{ "bdev_get_iostat", "get_bdevs_iostat", "-b/--name" },
	/* the NVMe-oF target */
	{ "nvmf_create_transport", NULL,
	  "-t/--trtype! -g/--tgt-name -q/--max-queue-depth:i -m/--max-io-qpairs-per-ctrlr:i "
	  "-c/--in-capsule-data-size:i -i/--max-io-size:i -u/--io-unit-size:i -a/--max-aq-depth:i "
	  "-n/--num-shared-buffers:i -b/--buf-cache-size:i -z/--zcopy:t -d/--num-cqe:i "
	  "-s/--max-srq-depth:i -r/--no-srq:t -o/--c2h-success:f -y/--sock-priority:i "
	  "-l/--acceptor-backlog:i -x/--abort-timeout-sec:i" },
	{ "nvmf_get_transports", "get_nvmf_transports", "--trtype -t/--tgt-name" },
	{ "nvmf_create_subsystem", "nvmf_subsystem_create",
	  "nqn -t/--tgt-name -s/--serial-number -d/--model-number -a/--allow-any-host:t "
	  "-m/--max-namespaces:i -r/--ana-reporting:t -i/--min-cntlid:i -I/--max-cntlid:i" },
	{ "nvmf_delete_subsystem", "delete_nvmf_subsystem", "nqn -t/--tgt-name" },
	{ "nvmf_get_subsystems", "get_nvmf_subsystems", "nqn? -t/--tgt-name" },
	{ "nvmf_subsystem_add_listener", NULL, "nqn:nqn " LISTEN_ADDR " -p/--tgt-name" },
	{ "nvmf_subsystem_remove_listener", NULL, "nqn:nqn " LISTEN_ADDR " -p/--tgt-name" },
	{ "nvmf_subsystem_get_listeners", NULL, "nqn -t/--tgt-name" },
	{ "nvmf_subsystem_add_ns", NULL,
	  "nqn namespace.bdev_name -t/--tgt-name -n/--nsid=namespace.nsid:i "
	  "-g/--nguid=namespace.nguid -e/--eui64=namespace.eui64 -u/--uuid=namespace.uuid" },
	{ "nvmf_subsystem_remove_ns", NULL, "nqn nsid:i -t/--tgt-name" },
	{ "nvmf_subsystem_add_host", NULL,
	  "nqn host -t/--tgt-name --psk --dhchap-key --dhchap-ctrlr-key" },
	{ "nvmf_set_config", NULL,
	  "--dhchap-digests:l --dhchap-dhgroups:l -r/--acceptor-poll-rate:i" },
	{ "keyring_file_add_key", NULL, "name path" },
	{ "keyring_file_remove_key", NULL, "name" },
	{ "keyring_get_keys", NULL, "" },
	{ "nvmf_subsystem_remove_host", NULL, "nqn host -t/--tgt-name" },
	{ "nvmf_subsystem_allow_any_host", NULL,
	  "nqn -e/--enable=allow_any_host:t -d/--disable=allow_any_host:f "
	  "--allow-any-host:t --no-allow-any-host=allow_any_host:f -t/--tgt-name" },
	{ "nvmf_subsystem_get_controllers", NULL, "nqn -t/--tgt-name" },
	{ "nvmf_subsystem_get_qpairs", NULL, "nqn -t/--tgt-name" },
	{ "nvmf_get_stats", NULL, "-t/--tgt-name" },
	{ "nvmf_discovery_add_referral", NULL, REFERRAL_ADDR " -p/--tgt-name -k/--secure-channel:t" },
	{ "nvmf_discovery_remove_referral", NULL, REFERRAL_ADDR " -p/--tgt-name" },
	{ "nvmf_discovery_get_referrals", NULL, "-t/--tgt-name" },
};

/* ==================================================================== */
/* Building a request from argv                                        */
/* ==================================================================== */

/* One word of a method's args, decoded. */
struct rpc_arg {
	char shrt[4];		/* "-b", or "" */
	char lng[128];		/* "--name", or "" for a positional */
	char param[128];	/* JSON name, maybe "a.b" or "@client" */
	char type[4];		/* s i t f mib nqn */
	bool required, optional;
};

/* Decode one word of the args grammar above. */
static void rpc_arg_parse(const char *word, size_t len, struct rpc_arg *a)
{
	char w[128], *p, *colon;

	memset(a, 0, sizeof(*a));
	snprintf(w, sizeof(w), "%.*s", (int)len, word);
	p = w + strlen(w) - 1;
	if (*p == '!' || *p == '?') {
		a->required = *p == '!';
		a->optional = *p == '?';
		*p = 0;
	}
	colon = strrchr(w, ':');
	snprintf(a->type, sizeof(a->type), "%s", colon ? colon + 1 : "s");
	if (colon)
		*colon = 0;
	if (w[0] != '-') {		/* positional: the word is the param */
		snprintf(a->param, sizeof(a->param), "%s", w);
		return;
	}
	p = strchr(w, '=');
	if (p) {
		snprintf(a->param, sizeof(a->param), "%s", p + 1);
		*p = 0;
	}
	if (w[1] != '-') {		/* "-x/--long" */
		snprintf(a->shrt, sizeof(a->shrt), "%.2s", w);
		memmove(w, w + 3, strlen(w + 3) + 1);
	}
	snprintf(a->lng, sizeof(a->lng), "%s", w);
	if (!a->param[0]) {		/* argparse's dest: --max-io-size -> max_io_size */
		snprintf(a->param, sizeof(a->param), "%s", w + 2);
		for (p = a->param; *p; p++)
			if (*p == '-')
				*p = '_';
	}
}

/* Walk the args of m: call fn for each word until it returns nonzero. */
static int rpc_args_each(const struct rpc_method *m, int (*fn)(struct rpc_arg *a, void *ctx),
			 void *ctx)
{
	for (const char *s = m->args; *s;) {
		size_t len = strcspn(s, " ");
		struct rpc_arg a;
		int rc;

		if (len) {
			rpc_arg_parse(s, len, &a);
			rc = fn(&a, ctx);
			if (rc)
				return rc;
		}
		s += len + (s[len] == ' ');
	}
	return 0;
}

/* The table's line for name, or for the deprecated alias rpc.py still
 * accepts for it; NULL if rpc.py has no such method either. */
const struct rpc_method *rpc_method_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(rpc_methods); i++)
		if (!strcmp(rpc_methods[i].name, name) ||
		    (rpc_methods[i].alias && !strcmp(rpc_methods[i].alias, name)))
			return &rpc_methods[i];
	return NULL;
}

/* Put val at a dotted path ("listen_address.trtype") inside obj. */
static void rpc_param_set(struct json_object *obj, const char *path, struct json_object *val)
{
	const char *dot = strchr(path, '.');
	char head[64];
	struct json_object *sub;

	if (!dot) {
		json_object_object_add(obj, path, val);
		return;
	}
	snprintf(head, sizeof(head), "%.*s", (int)(dot - path), path);
	if (!json_object_object_get_ex(obj, head, &sub)) {
		sub = json_object_new_object();
		json_object_object_add(obj, head, sub);
	}
	rpc_param_set(sub, dot + 1, val);
}

/* The state of turning one argv into params. */
struct rpc_build {
	struct json_object *params, *client;
	double mib;			/* a :mib argument, until block_size is known */
	bool have_mib;
	const char *opt;		/* looking for this option (with value in val) */
	const char *val;
	struct rpc_arg found;
	int pos_want, pos_seen;		/* positional index we look for, count */
	char *err;
	size_t errlen;
};

/* Convert text to the JSON value of type a->type and store it. */
static int rpc_store(struct rpc_build *bd, const struct rpc_arg *a, const char *text)
{
	struct json_object *val;
	char *end;

	if (!strcmp(a->type, "i")) {
		long long v = strtoll(text, &end, 10);

		if (!*text || *end) {
			snprintf(bd->err, bd->errlen, "%s: invalid int value: '%s'",
				 a->lng[0] ? a->lng : a->param, text);
			return -EINVAL;
		}
		val = json_object_new_int64(v);
	} else if (!strcmp(a->type, "mib")) {
		bd->mib = strtod(text, &end);
		if (!*text || *end || bd->mib <= 0) {
			snprintf(bd->err, bd->errlen, "%s: want a size in MiB > 0, not '%s'", a->param, text);
			return -EINVAL;
		}
		bd->have_mib = true;
		return 0;
	} else if (!strcmp(a->type, "t") || !strcmp(a->type, "f")) {
		val = json_object_new_boolean(a->type[0] == 't');
	} else if (!strcmp(a->type, "l")) {
		const char *c;

		val = json_object_new_array();
		for (const char *w = text; w; w = c ? c + 1 : NULL) {
			c = strchr(w, ',');
			json_object_array_add(val, json_object_new_string_len(w, c ? (int)(c - w) : (int)strlen(w)));
		}
	} else if (!strcmp(a->type, "nqn") && !strcmp(text, "discovery")) {
		val = json_object_new_string(NVMF_DISC_NQN);
	} else {
		val = json_object_new_string(text);
	}
	if (a->param[0] == '@')
		rpc_param_set(bd->client, a->param + 1, val);
	else
		rpc_param_set(bd->params, a->param, val);
	return 0;
}

/* rpc_args_each callbacks: find an option by name, the n-th positional,
 * check the required ones. */
static int rpc_match_opt(struct rpc_arg *a, void *ctx)
{
	struct rpc_build *bd = ctx;

	if ((a->shrt[0] && !strcmp(a->shrt, bd->opt)) || (a->lng[0] && !strcmp(a->lng, bd->opt))) {
		bd->found = *a;
		return 1;
	}
	return 0;
}

/* rpc_args_each callback: stop at the pos_want-th positional argument,
 * so the next bare word of argv lands in the right parameter. */
static int rpc_match_pos(struct rpc_arg *a, void *ctx)
{
	struct rpc_build *bd = ctx;

	if (a->lng[0])
		return 0;
	if (bd->pos_seen++ == bd->pos_want) {
		bd->found = *a;
		return 1;
	}
	return 0;
}

/* rpc_args_each callback, after argv is used up: a missing positional or
 * required option gets argparse's own sentence, which rpc.py users know. */
static int rpc_check_required(struct rpc_arg *a, void *ctx)
{
	struct rpc_build *bd = ctx;
	bool positional = !a->lng[0];

	if (positional && !a->optional && bd->pos_seen++ >= bd->pos_want) {
		snprintf(bd->err, bd->errlen, "the following arguments are required: %s", a->param);
		return -EINVAL;
	}
	if (a->required && !strchr(a->param, '.') &&
	    !json_object_object_get_ex(bd->params, a->param, NULL)) {
		snprintf(bd->err, bd->errlen, "the following arguments are required: %s", a->lng);
		return -EINVAL;
	}
	if (a->required && strchr(a->param, '.')) {	/* nested: look inside */
		char head[64];
		struct json_object *sub;
		const char *dot = strchr(a->param, '.');

		snprintf(head, sizeof(head), "%.*s", (int)(dot - a->param), a->param);
		if (!json_object_object_get_ex(bd->params, head, &sub) ||
		    !json_object_object_get_ex(sub, dot + 1, NULL)) {
			snprintf(bd->err, bd->errlen, "the following arguments are required: %s", a->lng);
			return -EINVAL;
		}
	}
	return 0;
}

/* One option at argv[*i] ("-s 4420", "-s4420", "--trsvcid=4420", "-a").
 * Advances *i past its value. Returns 0 or -EINVAL with err set. */
static int rpc_build_opt(const struct rpc_method *m, struct rpc_build *bd, int argc,
			 char **argv, int *i)
{
	char name[64];
	const char *arg = argv[*i], *val = NULL, *eq = strchr(arg, '=');
	bool flag;

	if (arg[1] == '-' && eq) {		/* --long=value */
		snprintf(name, sizeof(name), "%.*s", (int)(eq - arg), arg);
		val = eq + 1;
	} else if (arg[1] != '-' && arg[2]) {	/* -sVALUE */
		snprintf(name, sizeof(name), "%.2s", arg);
		val = arg + 2;
	} else {
		snprintf(name, sizeof(name), "%s", arg);
	}
	bd->opt = name;
	if (!rpc_args_each(m, rpc_match_opt, bd)) {
		snprintf(bd->err, bd->errlen, "unrecognized argument: %s (see: nvmf rpc %s -h)",
			 arg, m->name);
		return -EINVAL;
	}
	flag = !strcmp(bd->found.type, "t") || !strcmp(bd->found.type, "f");
	if (flag && val) {
		snprintf(bd->err, bd->errlen, "%s takes no value", name);
		return -EINVAL;
	}
	if (!flag && !val) {
		if (*i + 1 >= argc) {
			snprintf(bd->err, bd->errlen, "argument %s: expected one argument", name);
			return -EINVAL;
		}
		val = argv[++*i];
	}
	return rpc_store(bd, &bd->found, flag ? "" : val);
}

/*
 * Turn `METHOD ARGS...` into the request's params the way rpc.py's
 * argparse would. Returns 0 with *params (NULL when there are none) and
 * *client (client-side options), or -EINVAL with a message in err.
 */
int rpc_build_params(const struct rpc_method *m, int argc, char **argv,
		     struct json_object **params, struct json_object **client,
		     char *err, size_t errlen)
{
	struct rpc_build bd = { .params = json_object_new_object(),
				.client = json_object_new_object(), .err = err, .errlen = errlen };
	int npos = 0, rc = 0;

	for (int i = 0; i < argc && !rc; i++) {
		if (argv[i][0] == '-' && argv[i][1] && !isdigit((unsigned char)argv[i][1])) {
			rc = rpc_build_opt(m, &bd, argc, argv, &i);
			continue;
		}
		bd.pos_want = npos++;
		bd.pos_seen = 0;
		if (!rpc_args_each(m, rpc_match_pos, &bd)) {
			snprintf(err, errlen, "unrecognized argument: %s (see: nvmf rpc %s -h)",
				 argv[i], m->name);
			rc = -EINVAL;
		} else {
			rc = rpc_store(&bd, &bd.found, argv[i]);
		}
	}
	if (!rc) {
		bd.pos_want = npos;
		bd.pos_seen = 0;
		rc = rpc_args_each(m, rpc_check_required, &bd);
	}
	if (!rc && bd.have_mib) {	/* rpc.py: num_blocks = MiB * 2^20 // block_size */
		struct json_object *bs;
		int64_t b = json_object_object_get_ex(bd.params, "block_size", &bs)
			    ? json_object_get_int64(bs) : 0;

		if (b <= 0) {
			snprintf(err, errlen, "block_size must be > 0");
			rc = -EINVAL;
		} else {
			json_object_object_add(bd.params, "num_blocks", json_object_new_int64(
				(int64_t)(bd.mib * 1048576.0) / b));
		}
	}
	if (rc || !json_object_object_length(bd.params)) {
		json_object_put(bd.params);
		bd.params = NULL;
	}
	if (rc) {
		json_object_put(bd.client);
		return rc;
	}
	*params = bd.params;
	*client = bd.client;
	return 0;
}

/* ==================================================================== */
/* Printing JSON the way rpc.py does (json.dumps, indent=2)            */
/* ==================================================================== */

/* Print obj at depth; scalars (and string escaping) are json-c's. */
void config_print_json(FILE *f, struct json_object *obj, int indent, int depth)
{
	bool arr = json_object_is_type(obj, json_type_array);
	size_t n, i = 0;

	if (!arr && !json_object_is_type(obj, json_type_object)) {
		fputs(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_NOSLASHESCAPE), f);
		return;
	}
	n = arr ? json_object_array_length(obj) : (size_t)json_object_object_length(obj);
	if (indent < 0 || n == 0) {	/* compact, or "{}" / "[]" as python does */
		fputs(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
						     JSON_C_TO_STRING_NOSLASHESCAPE), f);
		return;
	}
	fputc(arr ? '[' : '{', f);
	if (arr) {
		for (i = 0; i < n; i++) {
			fprintf(f, "%s\n%*s", i ? "," : "", (depth + 1) * indent, "");
			config_print_json(f, json_object_array_get_idx(obj, i), indent, depth + 1);
		}
	} else {
		json_object_object_foreach(obj, key, val) {
			struct json_object *k = json_object_new_string(key);

			fprintf(f, "%s\n%*s%s: ", i++ ? "," : "", (depth + 1) * indent, "",
				json_object_to_json_string_ext(k, JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(k);
			config_print_json(f, val, indent, depth + 1);
		}
	}
	fprintf(f, "\n%*s%c", depth * indent, "", arr ? ']' : '}');
}

/* ==================================================================== */
/* The JSON-RPC 2.0 exchange over the Unix socket                      */
/* ==================================================================== */

/* Connect to the server's socket. Returns the fd or -errno. */
static int rpc_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/*
 * Connect, waiting up to timeout_ms for a server that is still starting:
 * `./nvmf --empty & ./nvmf rpc ...` runs the client before the target
 * has created its socket (ENOENT) or while the file is left over from an
 * earlier run (ECONNREFUSED). Other errors (EACCES, ...) are final.
 */
static int rpc_connect_wait(const char *path, int timeout_ms)
{
	int fd;

	for (int waited = 0;; waited += 100) {
		fd = rpc_connect(path);
		if ((fd != -ENOENT && fd != -ECONNREFUSED) || waited >= timeout_ms)
			return fd;
		usleep(100 * 1000);
	}
}

/*
 * Send req and read until one whole JSON value came back (the stream
 * tokenizer says so), or timeout_ms passed. Returns 0 and *reply, or
 * -errno with err set.
 */
static int rpc_exchange(int fd, struct json_object *req, int timeout_ms,
			struct json_object **reply, char *err, size_t errlen)
{
	const char *text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(text), off = 0, total = 0;
	struct json_tokener *tok;
	char buf[65536];
	int rc = 0;

	while (off < len) {
		ssize_t n = send(fd, text + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "sending the request: %s", strerror(errno));
			return -errno;
		}
		off += n;
	}
	tok = json_tokener_new();
	*reply = NULL;
	while (!*reply) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, timeout_ms) == 0) {
			snprintf(err, errlen, "no answer within %d s", timeout_ms / 1000);
			rc = -ETIMEDOUT;
			break;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0 || (total += n) > RPC_CLIENT_MAX_REPLY) {
			snprintf(err, errlen, "the server closed the connection without a whole answer");
			rc = -ECONNRESET;
			break;
		}
		*reply = json_tokener_parse_ex(tok, buf, n);
		if (!*reply && json_tokener_get_error(tok) != json_tokener_continue) {
			snprintf(err, errlen, "the answer is not JSON: %s",
				 json_tokener_error_desc(json_tokener_get_error(tok)));
			rc = -EPROTO;
			break;
		}
	}
	json_tokener_free(tok);
	return rc;
}

/* Help, generated from the table so it cannot drift from what the parser
 * accepts: all methods, or the arguments of one (`nvmf rpc M -h`). */
static void rpc_usage(FILE *f, const struct rpc_method *only)
{
	if (!only)
		fprintf(f, "usage: nvmf rpc [-s SOCK] [-t SECONDS] [--dry-run] METHOD [ARGS...]\n"
			"  SPDK scripts/rpc.py's syntax; default socket %s; -t: how long to wait\n"
			"  for the socket and for the answer (60 s)\n"
			"  ARGS: name positional, name? optional positional, -x/--long option,\n"
			"        ! required, :i integer, :t/:f flag, :mib size in MiB\n"
			"methods:\n", RPC_CLIENT_SOCK);
	for (size_t i = 0; i < ARRAY_SIZE(rpc_methods); i++) {
		const struct rpc_method *m = &rpc_methods[i];

		if (only && m != only)
			continue;
		fprintf(f, "  %s %s\n", m->name, m->args);
		if (m->alias)
			fprintf(f, "    (deprecated alias: %s)\n", m->alias);
	}
}

/* Print a result as rpc.py does: nothing for plain true, strings bare. */
static void rpc_print_result(struct json_object *res, int indent)
{
	if (json_object_is_type(res, json_type_boolean) && json_object_get_boolean(res))
		return;
	if (json_object_is_type(res, json_type_string))
		puts(json_object_get_string(res));
	else if (res) {
		config_print_json(stdout, res, indent, 0);
		putchar('\n');
	}
}

/* Build the request for METHOD ARGS. Returns 0 and *req, or 1 after
 * printing what was wrong (rpc.py's usage errors exit 2; the brief is one
 * status for every failure). */
static int rpc_make_request(int argc, char **argv, struct json_object **req, int *indent)
{
	const struct rpc_method *m = rpc_method_find(argv[0]);
	struct json_object *params, *client, *v;
	char err[512];

	if (!m) {
		fprintf(stderr, "nvmf rpc: unknown method '%s' (nvmf rpc -h lists them)\n", argv[0]);
		return 1;
	}
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		rpc_usage(stdout, m);
		exit(0);
	}
	if (rpc_build_params(m, argc - 1, argv + 1, &params, &client, err, sizeof(err))) {
		fprintf(stderr, "nvmf rpc %s: error: %s\n", m->name, err);
		return 1;
	}
	if (json_object_object_get_ex(client, "indent", &v))
		*indent = json_object_get_int(v);
	if (!strcmp(m->name, "load_config")) {	/* the config is the params */
		const char *path = json_object_object_get_ex(client, "json_conf", &v)
				   ? json_object_get_string(v) : "-";
		char *text = config_slurp(path, err, sizeof(err));

		json_object_put(params);
		params = text ? json_tokener_parse(text) : NULL;
		free(text);
		if (!params) {
			fprintf(stderr, "nvmf rpc load_config: %s is not JSON\n", path);
			json_object_put(client);
			return 1;
		}
	}
	json_object_put(client);
	*req = json_object_new_object();
	json_object_object_add(*req, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(*req, "method", json_object_new_string(m->name));
	json_object_object_add(*req, "id", json_object_new_int(1));
	if (params)
		json_object_object_add(*req, "params", params);
	return 0;
}

/* nvmf rpc [-s SOCK] [-t SECONDS] [--dry-run] METHOD ARGS... */
int rpc_client_main(int argc, char **argv)
{
	const char *sock = RPC_CLIENT_SOCK;
	struct json_object *req, *reply = NULL, *v;
	int i = 1, indent = 2, timeout_ms = 60000, fd, rc;
	bool dry = false;
	char err[512];

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-s") && i + 1 < argc)
			sock = argv[++i];
		else if (!strcmp(argv[i], "-t") && i + 1 < argc)
			timeout_ms = (int)(atof(argv[++i]) * 1000);
		else if (!strcmp(argv[i], "--dry-run"))
			dry = true;
		else {
			rpc_usage(strcmp(argv[i], "-h") && strcmp(argv[i], "--help") ? stderr : stdout, NULL);
			return strcmp(argv[i], "-h") && strcmp(argv[i], "--help") ? 1 : 0;
		}
	}
	if (i >= argc) {
		rpc_usage(stderr, NULL);
		return 1;
	}
	rc = rpc_make_request(argc - i, argv + i, &req, &indent);
	if (rc)
		return rc;
	if (dry) {			/* rpc.py --dry-run: show the request */
		config_print_json(stdout, req, 2, 0);
		putchar('\n');
		json_object_put(req);
		return 0;
	}
	fd = rpc_connect_wait(sock, timeout_ms);
	if (fd < 0) {
		fprintf(stderr, "nvmf rpc: cannot connect to %s: %s (waited %d s: is the target running? "
			"its -r PATH sets the socket)\n", sock, strerror(-fd), timeout_ms / 1000);
		json_object_put(req);
		return 1;
	}
	rc = rpc_exchange(fd, req, timeout_ms, &reply, err, sizeof(err));
	close(fd);
	if (rc) {
		fprintf(stderr, "nvmf rpc %s: %s\n", argv[i], err);
	} else if (json_object_object_get_ex(reply, "error", &v)) {
		fprintf(stderr, "request:\n");
		config_print_json(stderr, req, 2, 0);
		fprintf(stderr, "\nGot JSON-RPC error response\nresponse:\n");
		config_print_json(stderr, v, 2, 0);
		fputc('\n', stderr);
		rc = 1;
	} else {
		rpc_print_result(json_object_object_get_ex(reply, "result", &v) ? v : NULL, indent);
	}
	json_object_put(req);
	json_object_put(reply);
	return rc ? 1 : 0;
}
