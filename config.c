/*
 * config.c - the control plane's client side: `nvmf rpc`, which speaks
 * SPDK rpc.py's command line, and the config file loaders behind
 * `nvmf -c FILE`, which turn three formats into one.
 *
 *   nvmf rpc METHOD ARGS...                     nvmf -c FILE
 *        |                                           |
 *   rpc_methods[] table: argv -> params         config_translate(): by content
 *        |                                      +-- SPDK save_config JSON (as is)
 *   {"jsonrpc":"2.0","method":..,"params":..}   +-- nvmetcli saved JSON
 *        |  Unix socket (/var/tmp/spdk.sock)    +-- legacy SPDK INI
 *        v                                           |
 *   rpc.c (the server) <------------------ SPDK save_config-format object
 *        |                                     (rpc_load_config applies it)
 *   result, pretty-printed as rpc.py does
 *
 * The server, its methods and what they change live in rpc.c; this file
 * never touches the target's state. JSON is built, parsed and escaped by
 * json-c; the only printing done by hand is the layout (rpc.py's
 * json.dumps(indent=2)), so output matches the SPDK tutorials.
 *
 * Every key of a config file that nvmf cannot honour is named in a
 * warning ("FILE: ports[0].param.inline_data_size: not supported,
 * ignored"); a key whose value is what nvmf does anyway (ANA group 1,
 * protection information off, TREQ "not specified") is accepted quietly.
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

#define CONFIG_DEFAULT_SOCK	"/var/tmp/spdk.sock"	/* rpc.py's default */
#define CONFIG_DISC_NQN		"nqn.2014-08.org.nvmexpress.discovery"
#define CONFIG_MAX_REPLY	(64u << 20)

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
		val = json_object_new_string(CONFIG_DISC_NQN);
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
		if (n <= 0 || (total += n) > CONFIG_MAX_REPLY) {
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

/* Read a whole file (or stdin for "-") into a string. NULL on error. */
static char *config_slurp(const char *path, char *err, size_t errlen)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	size_t len = 0, cap = 65536, n;
	char *buf = malloc(cap + 1);

	if (!f || !buf) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		free(buf);
		return NULL;
	}
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			char *bigger = realloc(buf, (cap *= 2) + 1);

			if (!bigger) {
				snprintf(err, errlen, "%s: too big to read into memory", path);
				free(buf);
				buf = NULL;
				break;
			}
			buf = bigger;
		}
	}
	if (f != stdin)
		fclose(f);
	if (buf)
		buf[len] = 0;
	return buf;
}

static void rpc_usage(FILE *f, const struct rpc_method *only)
{
	if (!only)
		fprintf(f, "usage: nvmf rpc [-s SOCK] [-t SECONDS] [--dry-run] METHOD [ARGS...]\n"
			"  SPDK scripts/rpc.py's syntax; default socket %s; -t: how long to wait\n"
			"  for the socket and for the answer (60 s)\n"
			"  ARGS: name positional, name? optional positional, -x/--long option,\n"
			"        ! required, :i integer, :t/:f flag, :mib size in MiB\n"
			"methods:\n", CONFIG_DEFAULT_SOCK);
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
int config_rpc_main(int argc, char **argv)
{
	const char *sock = CONFIG_DEFAULT_SOCK;
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

/* ==================================================================== */
/* Config files: one target shape, three sources                       */
/* ==================================================================== */

/*
 * Every loader appends {"method": M, "params": P} calls to one of two
 * lists, "bdev" and "nvmf", which become SPDK's save_config shape:
 *
 *   {"subsystems": [{"subsystem": "bdev", "config": [calls...]},
 *                   {"subsystem": "nvmf", "config": [calls...]}]}
 *
 * bdevs first, so namespaces find them; within nvmf, transports (kept
 * in a list of their own while loading) before subsystems, as SPDK saves
 * them.
 */
struct config_out {
	const char *file;		/* for warnings */
	struct json_object *bdev, *transports, *nvmf;	/* arrays of calls */
	struct json_object *warnings;	/* array of strings */
	int nr_bdev;			/* for generated names */
};

static void config_warn(struct config_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void config_warn(struct config_out *o, const char *fmt, ...)
{
	char msg[512], line[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "%s: %s", o->file, msg);
	json_object_array_add(o->warnings, json_object_new_string(line));
}

/* Append one call; params is taken over. */
static void config_call(struct json_object *list, const char *method, struct json_object *params)
{
	struct json_object *c = json_object_new_object();

	json_object_object_add(c, "method", json_object_new_string(method));
	json_object_object_add(c, "params", params);
	json_object_array_add(list, c);
}

static void config_set_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

/* The nvmf_create_transport call for trtype, added once; returns its
 * params so INI options can be added to them. */
static struct json_object *config_need_transport(struct config_out *o, const char *trtype)
{
	struct json_object *c, *p, *t;

	for (size_t i = 0; i < json_object_array_length(o->transports); i++) {
		c = json_object_array_get_idx(o->transports, i);
		p = json_object_object_get(c, "params");
		if (json_object_object_get_ex(p, "trtype", &t) &&
		    !strcasecmp(json_object_get_string(t), trtype))
			return p;
	}
	p = json_object_new_object();
	config_set_str(p, "trtype", trtype);
	config_call(o->transports, "nvmf_create_transport", p);
	return p;
}

/* "tcp" -> "TCP", "ipv4" -> "IPv4": SPDK's spelling of the names. */
static const char *config_trtype(const char *s)
{
	return !strcasecmp(s, "tcp") ? "TCP" : !strcasecmp(s, "rdma") ? "RDMA" :
	       !strcasecmp(s, "pcie") ? "PCIe" : NULL;
}

static const char *config_adrfam(const char *s)
{
	return !strcasecmp(s, "ipv4") ? "IPv4" : !strcasecmp(s, "ipv6") ? "IPv6" : NULL;
}

/* ---- nvmetcli's saved JSON ---------------------------------------- */

/* A string member, or NULL. nvmetcli writes numbers as strings mostly. */
static const char *config_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && !json_object_is_type(v, json_type_null)
	       ? json_object_get_string(v) : NULL;
}

/*
 * Warn about every key of obj not in known[]; "where" names obj. A key
 * whose value equals its entry in quiet[] ("key=value") is what nvmf does
 * anyway and passes without a word.
 */
static void config_check_keys(struct config_out *o, const char *where, struct json_object *obj,
			      const char *const *known, const char *const *quiet)
{
	if (!json_object_is_type(obj, json_type_object))
		return;
	json_object_object_foreach(obj, key, val) {
		bool ok = false;
		char kv[256];

		for (int i = 0; known && known[i] && !ok; i++)
			ok = !strcmp(known[i], key);
		snprintf(kv, sizeof(kv), "%s=%s", key, json_object_get_string(val));
		for (int i = 0; quiet && quiet[i] && !ok; i++)
			ok = !strcmp(quiet[i], kv);
		if (!ok)
			config_warn(o, "%s.%s: not supported, ignored", where, key);
	}
}

/* "00000000-0000-..." -> 32 hex digits, or "" for all zeroes (unset). */
static void config_nguid(const char *in, char out[33])
{
	int n = 0;
	bool zero = true;

	for (; *in && n < 32; in++) {
		if (isxdigit((unsigned char)*in)) {
			out[n++] = toupper((unsigned char)*in);
			zero &= *in == '0';
		}
	}
	out[zero || n != 32 ? 0 : n] = 0;
}

/* One nvmetcli namespace of subsystem nqn -> a file bdev + add_ns. */
static void config_nvmet_ns(struct config_out *o, const char *where, const char *nqn,
			    struct json_object *ns)
{
	static const char *const known[] = { "device", "enable", "nsid", NULL };
	static const char *const quiet[] = { "ana_grpid=1", NULL };
	static const char *const dev_known[] = { "path", "nguid", "uuid", NULL };
	static const char *const dev_quiet[] = { "eui64=0000000000000000", NULL };
	struct json_object *dev = NULL, *p, *nsp;
	const char *path, *en = config_str(ns, "enable"), *s;
	char name[64], w[200], nguid[33];

	config_check_keys(o, where, ns, known, quiet);
	json_object_object_get_ex(ns, "device", &dev);
	snprintf(w, sizeof(w), "%s.device", where);
	config_check_keys(o, w, dev, dev_known, dev_quiet);
	path = dev ? config_str(dev, "path") : NULL;
	if (!path) {
		config_warn(o, "%s: no device.path, namespace left out", where);
		return;
	}
	if (en && !strcmp(en, "0")) {
		config_warn(o, "%s.enable: 0, so the namespace is left out", where);
		return;
	}
	snprintf(name, sizeof(name), "nvmet%d", o->nr_bdev++);
	p = json_object_new_object();
	config_set_str(p, "name", name);
	config_set_str(p, "filename", path);
	config_call(o->bdev, "bdev_uring_create", p);

	p = json_object_new_object();
	nsp = json_object_new_object();
	config_set_str(p, "nqn", nqn);
	config_set_str(nsp, "bdev_name", name);
	if ((s = config_str(ns, "nsid")))
		json_object_object_add(nsp, "nsid", json_object_new_int(atoi(s)));
	if ((s = config_str(dev, "nguid"))) {
		config_nguid(s, nguid);
		if (nguid[0])
			config_set_str(nsp, "nguid", nguid);
	}
	if ((s = config_str(dev, "uuid")))
		config_set_str(nsp, "uuid", s);
	json_object_object_add(p, "namespace", nsp);
	config_call(o->nvmf, "nvmf_subsystem_add_ns", p);
}

/* One nvmetcli subsystem -> create_subsystem, add_host, add_ns. */
static void config_nvmet_subsys(struct config_out *o, int idx, struct json_object *s)
{
	static const char *const known[] = { "nqn", "attr", "allowed_hosts", "namespaces", NULL };
	static const char *const attr_known[] = { "allow_any_host", "serial", "model", NULL };
	static const char *const attr_quiet[] = { "cntlid_min=1", "cntlid_max=65519", "pi_enable=0",
						  "version=1.3", "qid_max=128", NULL };
	struct json_object *attr = NULL, *list, *p;
	const char *nqn = config_str(s, "nqn"), *v;
	char where[64], w[160];

	snprintf(where, sizeof(where), "subsystems[%d]", idx);
	config_check_keys(o, where, s, known, NULL);
	if (!nqn) {
		config_warn(o, "%s: no nqn, subsystem left out", where);
		return;
	}
	json_object_object_get_ex(s, "attr", &attr);
	snprintf(w, sizeof(w), "%s.attr", where);
	config_check_keys(o, w, attr, attr_known, attr_quiet);
	p = json_object_new_object();
	config_set_str(p, "nqn", nqn);
	if ((v = config_str(attr, "serial")))
		config_set_str(p, "serial_number", v);
	if ((v = config_str(attr, "model")))
		config_set_str(p, "model_number", v);
	v = config_str(attr, "allow_any_host");
	json_object_object_add(p, "allow_any_host", json_object_new_boolean(v && !strcmp(v, "1")));
	config_call(o->nvmf, "nvmf_create_subsystem", p);

	if (json_object_object_get_ex(s, "allowed_hosts", &list))
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			p = json_object_new_object();
			config_set_str(p, "nqn", nqn);
			config_set_str(p, "host", json_object_get_string(json_object_array_get_idx(list, i)));
			config_call(o->nvmf, "nvmf_subsystem_add_host", p);
		}
	if (json_object_object_get_ex(s, "namespaces", &list))
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			snprintf(w, sizeof(w), "%s.namespaces[%zu]", where, i);
			config_nvmet_ns(o, w, nqn, json_object_array_get_idx(list, i));
		}
}

/* An nvmetcli "addr" object -> SPDK's {trtype, adrfam, traddr, trsvcid},
 * or NULL (warned) when nvmf cannot serve it. */
static struct json_object *config_nvmet_addr(struct config_out *o, const char *where,
					     struct json_object *addr)
{
	static const char *const known[] = { "trtype", "adrfam", "traddr", "trsvcid", NULL };
	static const char *const quiet[] = { "treq=not specified", "tsas=none", NULL };
	const char *tr = config_str(addr, "trtype"), *af = config_str(addr, "adrfam");
	struct json_object *a;
	char w[160];

	snprintf(w, sizeof(w), "%s.addr", where);
	config_check_keys(o, w, addr, known, quiet);
	if (!tr || !config_trtype(tr) || !strcmp(config_trtype(tr), "PCIe")) {
		config_warn(o, "%s.trtype: '%s' not supported (tcp or rdma), port left out", w,
			    tr ? tr : "");
		return NULL;
	}
	a = json_object_new_object();
	config_set_str(a, "trtype", config_trtype(tr));
	if (af && config_adrfam(af))
		config_set_str(a, "adrfam", config_adrfam(af));
	else if (af)
		config_warn(o, "%s.adrfam: '%s' not supported, ignored", w, af);
	config_set_str(a, "traddr", config_str(addr, "traddr") ? config_str(addr, "traddr") : "");
	config_set_str(a, "trsvcid", config_str(addr, "trsvcid") ? config_str(addr, "trsvcid") : "4420");
	return a;
}

/* One nvmetcli port -> a transport, one listener per linked subsystem
 * (the discovery subsystem if none), and its referrals. */
static void config_nvmet_port(struct config_out *o, int idx, struct json_object *port)
{
	static const char *const known[] = { "addr", "portid", "subsystems", "referrals",
					     "param", "ana_groups", NULL };
	static const char *const param_quiet[] = { "pi_enable=0", NULL };
	struct json_object *addr = NULL, *a, *subs = NULL, *list, *p;
	char where[64], w[160];
	size_t nsubs;

	snprintf(where, sizeof(where), "ports[%d]", idx);
	config_check_keys(o, where, port, known, NULL);
	if (json_object_object_get_ex(port, "param", &p)) {
		snprintf(w, sizeof(w), "%s.param", where);
		config_check_keys(o, w, p, NULL, param_quiet);
	}
	if (json_object_object_get_ex(port, "ana_groups", &list))
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			const char *g = config_str(json_object_array_get_idx(list, i), "grpid");

			if (!g || strcmp(g, "1"))
				config_warn(o, "%s.ana_groups[%zu]: not supported (ANA), ignored", where, i);
		}
	json_object_object_get_ex(port, "addr", &addr);
	a = config_nvmet_addr(o, where, addr);
	if (!a)
		return;
	config_need_transport(o, json_object_get_string(json_object_object_get(a, "trtype")));
	json_object_object_get_ex(port, "subsystems", &subs);
	nsubs = subs ? json_object_array_length(subs) : 0;
	for (size_t i = 0; i < (nsubs ? nsubs : 1); i++) {
		p = json_object_new_object();
		config_set_str(p, "nqn", nsubs ? json_object_get_string(json_object_array_get_idx(subs, i))
					       : CONFIG_DISC_NQN);
		json_object_object_add(p, "listen_address", json_object_get(a));
		config_call(o->nvmf, "nvmf_subsystem_add_listener", p);
	}
	json_object_put(a);
	if (json_object_object_get_ex(port, "referrals", &list))
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			struct json_object *ref = json_object_array_get_idx(list, i), *ra = NULL;
			static const char *const ref_known[] = { "addr", "name", "portid", "enable", NULL };

			snprintf(w, sizeof(w), "%s.referrals[%zu]", where, i);
			config_check_keys(o, w, ref, ref_known, NULL);
			json_object_object_get_ex(ref, "addr", &ra);
			if (!(a = config_nvmet_addr(o, w, ra)))
				continue;
			p = json_object_new_object();
			json_object_object_add(p, "address", a);
			config_call(o->nvmf, "nvmf_discovery_add_referral", p);
		}
}

/* nvmetcli's whole file: hosts, subsystems, then ports (they link to
 * subsystems, so those must exist first). */
static void config_from_nvmet(struct config_out *o, struct json_object *root)
{
	static const char *const known[] = { "hosts", "ports", "subsystems", NULL };
	static const char *const host_known[] = { "nqn", NULL };
	struct json_object *list;
	char w[64];

	config_check_keys(o, "top level", root, known, NULL);
	if (json_object_object_get_ex(root, "hosts", &list))
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			snprintf(w, sizeof(w), "hosts[%zu]", i);
			config_check_keys(o, w, json_object_array_get_idx(list, i), host_known, NULL);
		}
	if (json_object_object_get_ex(root, "subsystems", &list))
		for (size_t i = 0; i < json_object_array_length(list); i++)
			config_nvmet_subsys(o, (int)i, json_object_array_get_idx(list, i));
	if (json_object_object_get_ex(root, "ports", &list))
		for (size_t i = 0; i < json_object_array_length(list); i++)
			config_nvmet_port(o, (int)i, json_object_array_get_idx(list, i));
}

/* ---- the legacy SPDK INI format (etc/spdk/nvmf.conf.in) ------------ */

/*
 * Sections of "Key value..." lines, '#' comments:
 *
 *   [Transport]  Type TCP, MaxQueueDepth 128, InCapsuleDataSize 4096, ...
 *   [Malloc]     NumberOfLuns 2, LunSizeInMB 64, BlockSize 512 -> Malloc0..1
 *   [AIO]        AIO /dev/sdb AIO0 [BLOCKSIZE]
 *   [Null]       Dev Null0 SIZE_MB BLOCKSIZE
 *   [Nvme]       TransportID "trtype:PCIe traddr:0000:02:00.0" Nvme0
 *   [SubsystemN] NQN, Listen "TCP 1.2.3.4:4420", AllowAnyHost Yes, Host,
 *                SN, MN, MaxNamespaces, Namespace "Malloc0 1"
 *
 * A section's calls are made when it ends, because its keys may come in
 * any order (a subsystem needs its NQN before its listeners).
 */
#define INI_MAX_TOKENS 8

/* The INI transport keys and their nvmf_create_transport names. */
static const struct { const char *ini, *param; } ini_transport_keys[] = {
	{ "MaxQueueDepth", "max_queue_depth" },
	{ "MaxQueuesPerSession", "max_io_qpairs_per_ctrlr" },	/* minus the admin queue */
	{ "InCapsuleDataSize", "in_capsule_data_size" },
	{ "MaxIOSize", "max_io_size" },
	{ "IOUnitSize", "io_unit_size" },
	{ "MaxAQDepth", "max_aq_depth" },
	{ "NumSharedBuffers", "num_shared_buffers" },
	{ "BufCacheSize", "buf_cache_size" },
};

struct ini_state {
	struct config_out *o;
	char section[64];
	int line;
	struct json_object *sect;	/* the section's collected keys: key -> [values] */
	struct json_object *nvmf_defaults;	/* [Nvmf] transport keys */
};

/* Split a line into words; "double quotes" group. Returns the count. */
static int ini_tokens(char *s, char *tok[INI_MAX_TOKENS])
{
	int n = 0;

	while (*s && n < INI_MAX_TOKENS) {
		while (isspace((unsigned char)*s))
			s++;
		if (!*s || *s == '#')
			break;
		if (*s == '"') {
			tok[n++] = ++s;
			s += strcspn(s, "\"");
		} else {
			tok[n++] = s;
			s += strcspn(s, " \t\r\n");
		}
		if (*s)
			*s++ = 0;
	}
	return n;
}

/* The values of key in the current section (an array of word arrays). */
static struct json_object *ini_get(struct ini_state *st, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(st->sect, key, &v) ? v : NULL;
}

/* The first word of the first use of key, or NULL. */
static const char *ini_get1(struct ini_state *st, const char *key)
{
	struct json_object *v = ini_get(st, key);

	return v ? json_object_get_string(json_object_array_get_idx(
			json_object_array_get_idx(v, 0), 0)) : NULL;
}

static bool ini_yes(const char *v)
{
	return v && (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1"));
}

/* Warn about every key of the section not in known[]. */
static void ini_check_keys(struct ini_state *st, const char *const *known)
{
	json_object_object_foreach(st->sect, key, val) {
		bool ok = false;

		(void)val;
		for (int i = 0; known[i] && !ok; i++)
			ok = !strcmp(known[i], key);
		if (!ok)
			config_warn(st->o, "[%s] %s: not supported, ignored", st->section, key);
	}
}

/* Integer-valued transport keys of the section into params. */
static void ini_transport_params(struct ini_state *st, struct json_object *p)
{
	for (size_t i = 0; i < ARRAY_SIZE(ini_transport_keys); i++) {
		const char *v = ini_get1(st, ini_transport_keys[i].ini);
		long n = v ? atol(v) : 0;

		if (!v)
			continue;
		if (!strcmp(ini_transport_keys[i].ini, "MaxQueuesPerSession"))
			n--;
		json_object_object_add(p, ini_transport_keys[i].param, json_object_new_int64(n));
	}
}

static void ini_end_transport(struct ini_state *st)
{
	static const char *const known[] = { "Type", "MaxQueueDepth", "MaxQueuesPerSession",
		"InCapsuleDataSize", "MaxIOSize", "IOUnitSize", "MaxAQDepth", "NumSharedBuffers",
		"BufCacheSize", NULL };
	const char *type = ini_get1(st, "Type");

	ini_check_keys(st, known);
	if (!type || !config_trtype(type) || !strcmp(config_trtype(type), "PCIe")) {
		config_warn(st->o, "[%s] Type: '%s' not supported (TCP or RDMA), section ignored",
			    st->section, type ? type : "");
		return;
	}
	ini_transport_params(st, config_need_transport(st->o, config_trtype(type)));
}

static void ini_end_nvmf(struct ini_state *st)
{
	static const char *const known[] = { "MaxQueueDepth", "MaxQueuesPerSession",
		"InCapsuleDataSize", "MaxIOSize", "IOUnitSize", "MaxAQDepth", NULL };

	ini_check_keys(st, known);
	ini_transport_params(st, st->nvmf_defaults);
}

static void ini_end_malloc(struct ini_state *st)
{
	static const char *const known[] = { "NumberOfLuns", "LunSizeInMB", "BlockSize", NULL };
	const char *n = ini_get1(st, "NumberOfLuns"), *mb = ini_get1(st, "LunSizeInMB");
	const char *bs = ini_get1(st, "BlockSize");
	long blksz = bs ? atol(bs) : 512;

	ini_check_keys(st, known);
	if (!n || !mb || blksz <= 0) {
		config_warn(st->o, "[%s]: needs NumberOfLuns and LunSizeInMB, section ignored", st->section);
		return;
	}
	for (long i = 0; i < atol(n); i++) {
		struct json_object *p = json_object_new_object();
		char name[32];

		snprintf(name, sizeof(name), "Malloc%ld", i);
		config_set_str(p, "name", name);
		json_object_object_add(p, "num_blocks", json_object_new_int64(atoll(mb) * 1048576 / blksz));
		json_object_object_add(p, "block_size", json_object_new_int64(blksz));
		config_call(st->o->bdev, "bdev_malloc_create", p);
	}
}

/* [AIO] "AIO FILE NAME [BS]" and [Null] "Dev NAME SIZE_MB BS" lines. */
static void ini_end_aio_null(struct ini_state *st, bool aio)
{
	static const char *const aio_known[] = { "AIO", NULL }, *const null_known[] = { "Dev", NULL };
	struct json_object *lines = ini_get(st, aio ? "AIO" : "Dev");

	ini_check_keys(st, aio ? aio_known : null_known);
	for (size_t i = 0; lines && i < json_object_array_length(lines); i++) {
		struct json_object *w = json_object_array_get_idx(lines, i), *p;
		size_t n = json_object_array_length(w);
		const char *a0 = n > 0 ? json_object_get_string(json_object_array_get_idx(w, 0)) : NULL;
		const char *a1 = n > 1 ? json_object_get_string(json_object_array_get_idx(w, 1)) : NULL;
		const char *a2 = n > 2 ? json_object_get_string(json_object_array_get_idx(w, 2)) : NULL;

		if (!a1 || (!aio && !a2)) {
			config_warn(st->o, "[%s] %s: too few words, ignored", st->section, aio ? "AIO" : "Dev");
			continue;
		}
		p = json_object_new_object();
		if (aio) {
			config_set_str(p, "name", a1);
			config_set_str(p, "filename", a0);
			if (a2)
				json_object_object_add(p, "block_size", json_object_new_int64(atol(a2)));
			config_call(st->o->bdev, "bdev_aio_create", p);
		} else {
			long bs = atol(a2) > 0 ? atol(a2) : 512;

			config_set_str(p, "name", a0);
			json_object_object_add(p, "num_blocks", json_object_new_int64(atoll(a1) * 1048576 / bs));
			json_object_object_add(p, "block_size", json_object_new_int64(bs));
			config_call(st->o->bdev, "bdev_null_create", p);
		}
	}
}

/* [Nvme] TransportID "trtype:PCIe traddr:0000:02:00.0" Nvme0 */
static void ini_end_nvme(struct ini_state *st)
{
	static const char *const known[] = { "TransportID", NULL };
	struct json_object *lines = ini_get(st, "TransportID");

	ini_check_keys(st, known);
	for (size_t i = 0; lines && i < json_object_array_length(lines); i++) {
		struct json_object *w = json_object_array_get_idx(lines, i), *p;
		char trid[256], *tok[INI_MAX_TOKENS];
		int n;

		if (json_object_array_length(w) < 2) {
			config_warn(st->o, "[%s] TransportID: want \"trtype:PCIe traddr:BDF\" NAME", st->section);
			continue;
		}
		p = json_object_new_object();
		config_set_str(p, "name", json_object_get_string(json_object_array_get_idx(w, 1)));
		snprintf(trid, sizeof(trid), "%s", json_object_get_string(json_object_array_get_idx(w, 0)));
		n = ini_tokens(trid, tok);
		for (int k = 0; k < n; k++) {		/* "key:value", value may hold ':' */
			char *c = strchr(tok[k], ':');

			if (!c)
				continue;
			*c = 0;
			if (!strcasecmp(tok[k], "trtype") && config_trtype(c + 1))
				config_set_str(p, "trtype", config_trtype(c + 1));
			else
				config_set_str(p, tok[k], c + 1);
		}
		config_call(st->o->bdev, "bdev_nvme_attach_controller", p);
	}
}

/* "TCP 1.2.3.4:4420" or "RDMA [fe80::1]:4420" -> listen_address, or NULL. */
static struct json_object *ini_listen_addr(struct ini_state *st, struct json_object *w)
{
	const char *tr = json_object_get_string(json_object_array_get_idx(w, 0));
	const char *ap = json_object_get_string(json_object_array_get_idx(w, 1));
	const char *colon = ap ? strrchr(ap, ':') : NULL;
	struct json_object *a;
	char addr[128];
	bool v6;

	if (!tr || !config_trtype(tr) || !colon || !strcmp(config_trtype(tr), "PCIe")) {
		config_warn(st->o, "[%s] Listen: want \"TCP|RDMA ADDR:PORT\", got \"%s %s\", ignored",
			    st->section, tr ? tr : "", ap ? ap : "");
		return NULL;
	}
	v6 = ap[0] == '[';
	snprintf(addr, sizeof(addr), "%.*s", (int)(colon - ap - 2 * v6), ap + v6);
	a = json_object_new_object();
	config_set_str(a, "trtype", config_trtype(tr));
	config_set_str(a, "adrfam", v6 || strchr(addr, ':') ? "IPv6" : "IPv4");
	config_set_str(a, "traddr", addr);
	config_set_str(a, "trsvcid", colon + 1);
	return a;
}

/* Append a call whose params are {"nqn": nqn, key: val}. */
static void ini_nqn_call(struct json_object *list, const char *method, const char *nqn,
			 const char *key, struct json_object *val)
{
	struct json_object *p = json_object_new_object();

	config_set_str(p, "nqn", nqn);
	json_object_object_add(p, key, val);
	config_call(list, method, p);
}

static void ini_end_subsystem(struct ini_state *st)
{
	static const char *const known[] = { "NQN", "Listen", "AllowAnyHost", "Host", "SN", "MN",
					     "MaxNamespaces", "Namespace", NULL };
	const char *nqn = ini_get1(st, "NQN"), *v;
	struct json_object *p, *lines;

	ini_check_keys(st, known);
	if (!nqn) {
		config_warn(st->o, "[%s]: no NQN, subsystem ignored", st->section);
		return;
	}
	p = json_object_new_object();
	config_set_str(p, "nqn", nqn);
	if ((v = ini_get1(st, "SN")))
		config_set_str(p, "serial_number", v);
	if ((v = ini_get1(st, "MN")))
		config_set_str(p, "model_number", v);
	json_object_object_add(p, "allow_any_host", json_object_new_boolean(ini_yes(ini_get1(st, "AllowAnyHost"))));
	if ((v = ini_get1(st, "MaxNamespaces")))
		json_object_object_add(p, "max_namespaces", json_object_new_int(atoi(v)));
	config_call(st->o->nvmf, "nvmf_create_subsystem", p);
	lines = ini_get(st, "Listen");
	for (size_t i = 0; lines && i < json_object_array_length(lines); i++) {
		struct json_object *a = ini_listen_addr(st, json_object_array_get_idx(lines, i));

		if (!a)
			continue;
		config_need_transport(st->o, json_object_get_string(json_object_object_get(a, "trtype")));
		ini_nqn_call(st->o->nvmf, "nvmf_subsystem_add_listener", nqn, "listen_address", a);
	}
	lines = ini_get(st, "Host");
	for (size_t i = 0; lines && i < json_object_array_length(lines); i++)
		ini_nqn_call(st->o->nvmf, "nvmf_subsystem_add_host", nqn, "host", json_object_get(
			json_object_array_get_idx(json_object_array_get_idx(lines, i), 0)));
	lines = ini_get(st, "Namespace");
	for (size_t i = 0; lines && i < json_object_array_length(lines); i++) {
		struct json_object *w = json_object_array_get_idx(lines, i), *ns = json_object_new_object();

		json_object_object_add(ns, "bdev_name", json_object_get(json_object_array_get_idx(w, 0)));
		if (json_object_array_length(w) > 1)
			json_object_object_add(ns, "nsid", json_object_new_int(
				atoi(json_object_get_string(json_object_array_get_idx(w, 1)))));
		if (json_object_array_length(w) > 2)
			config_warn(st->o, "[%s] Namespace %s: words after the NSID not supported, ignored",
				    st->section, json_object_get_string(json_object_array_get_idx(w, 0)));
		ini_nqn_call(st->o->nvmf, "nvmf_subsystem_add_ns", nqn, "namespace", ns);
	}
}

/* The section st->section ended: make its calls. */
static void ini_end_section(struct ini_state *st)
{
	const char *s = st->section;

	if (!st->sect)
		return;
	if (!strcasecmp(s, "Transport"))
		ini_end_transport(st);
	else if (!strcasecmp(s, "Nvmf"))
		ini_end_nvmf(st);
	else if (!strcasecmp(s, "Malloc"))
		ini_end_malloc(st);
	else if (!strcasecmp(s, "AIO") || !strcasecmp(s, "Null"))
		ini_end_aio_null(st, !strcasecmp(s, "AIO"));
	else if (!strcasecmp(s, "Nvme"))
		ini_end_nvme(st);
	else if (!strncasecmp(s, "Subsystem", 9))
		ini_end_subsystem(st);
	else		/* [Global], [Rpc], ...: name every key */
		ini_check_keys(st, (const char *const[]){ NULL });
	json_object_put(st->sect);
	st->sect = NULL;
}

/* The whole INI text. Returns 0, or -EINVAL for a line that is not INI. */
static int config_from_ini(struct config_out *o, char *text, char *err, size_t errlen)
{
	struct ini_state st = { .o = o, .nvmf_defaults = json_object_new_object() };
	char *line, *save;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tok[INI_MAX_TOKENS], *end;
		struct json_object *words, *list;
		int n;

		st.line++;
		while (isspace((unsigned char)*line))
			line++;
		if (*line == '[') {
			end = strchr(line, ']');
			if (!end) {
				snprintf(err, errlen, "%s:%d: '[' without ']'", o->file, st.line);
				json_object_put(st.nvmf_defaults);
				return -EINVAL;
			}
			ini_end_section(&st);
			snprintf(st.section, sizeof(st.section), "%.*s", (int)(end - line - 1), line + 1);
			st.sect = json_object_new_object();
			continue;
		}
		n = ini_tokens(line, tok);
		if (!n)
			continue;
		if (!st.sect) {
			snprintf(err, errlen, "%s:%d: '%s' outside any [Section]", o->file, st.line, tok[0]);
			json_object_put(st.nvmf_defaults);
			return -EINVAL;
		}
		words = json_object_new_array();
		for (int i = 1; i < n; i++)
			json_object_array_add(words, json_object_new_string(tok[i]));
		if (!json_object_object_get_ex(st.sect, tok[0], &list)) {
			list = json_object_new_array();
			json_object_object_add(st.sect, tok[0], list);
		}
		json_object_array_add(list, words);
	}
	ini_end_section(&st);
	/* [Nvmf]'s transport keys: defaults for every transport that lacks them. */
	for (size_t i = 0; i < json_object_array_length(o->transports); i++) {
		struct json_object *p = json_object_object_get(json_object_array_get_idx(o->transports, i),
							       "params");

		json_object_object_foreach(st.nvmf_defaults, key, val)
			if (!json_object_object_get_ex(p, key, NULL))
				json_object_object_add(p, key, json_object_get(val));
	}
	json_object_put(st.nvmf_defaults);
	return 0;
}

/* ---- detection and the entry points ------------------------------- */

/* SPDK's shape has subsystems[] of {"subsystem": NAME, "config": [...]};
 * nvmetcli's has ports/hosts, or subsystems[] of {"nqn": ...}. */
static bool config_is_nvmet(struct json_object *root)
{
	struct json_object *subs, *first;

	if (json_object_object_get_ex(root, "ports", NULL) || json_object_object_get_ex(root, "hosts", NULL))
		return true;
	return json_object_object_get_ex(root, "subsystems", &subs) &&
	       json_object_is_type(subs, json_type_array) && json_object_array_length(subs) &&
	       (first = json_object_array_get_idx(subs, 0)) &&
	       json_object_object_get_ex(first, "nqn", NULL);
}

/*
 * Translate a config file's text (name is for messages) into SPDK's
 * save_config shape. Returns 0 with *out and *warnings (an array of
 * strings, one per ignored key), or -EINVAL with err set.
 */
int config_translate(const char *name, const char *text, struct json_object **out,
		     struct json_object **warnings, char *err, size_t errlen)
{
	struct config_out o = { .file = name, .bdev = json_object_new_array(),
				.transports = json_object_new_array(),
				.nvmf = json_object_new_array(), .warnings = json_object_new_array() };
	const char *p = text;
	struct json_object *root, *subs, *s;
	int rc = 0;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '{') {
		root = json_tokener_parse(p);
		if (!root || !json_object_is_type(root, json_type_object)) {
			snprintf(err, errlen, "%s: starts like JSON but does not parse", name);
			rc = -EINVAL;
		} else if (!config_is_nvmet(root)) {	/* SPDK's own: as it is */
			json_object_put(o.bdev);
			json_object_put(o.transports);
			json_object_put(o.nvmf);
			*out = root;
			*warnings = o.warnings;
			return 0;
		} else {
			config_from_nvmet(&o, root);
		}
		json_object_put(root);
	} else {
		char *copy = strdup(p);

		rc = copy ? config_from_ini(&o, copy, err, errlen) : -ENOMEM;
		free(copy);
	}
	if (rc) {
		json_object_put(o.bdev);
		json_object_put(o.transports);
		json_object_put(o.nvmf);
		json_object_put(o.warnings);
		return rc;
	}
	for (size_t i = 0; i < json_object_array_length(o.nvmf); i++)
		json_object_array_add(o.transports, json_object_get(json_object_array_get_idx(o.nvmf, i)));
	json_object_put(o.nvmf);
	root = json_object_new_object();
	subs = json_object_new_array();
	s = json_object_new_object();
	config_set_str(s, "subsystem", "bdev");
	json_object_object_add(s, "config", o.bdev);
	json_object_array_add(subs, s);
	s = json_object_new_object();
	config_set_str(s, "subsystem", "nvmf");
	json_object_object_add(s, "config", o.transports);
	json_object_array_add(subs, s);
	json_object_object_add(root, "subsystems", subs);
	*out = root;
	*warnings = o.warnings;
	return 0;
}

/* Read and translate path; print each warning to stderr. Returns 0 with
 * *out, or -errno with err set. What `nvmf -c FILE` calls. */
int config_load_file(const char *path, struct json_object **out, char *err, size_t errlen)
{
	struct json_object *warnings;
	char *text = config_slurp(path, err, errlen);
	int rc;

	if (!text)
		return -EIO;
	rc = config_translate(path, text, out, &warnings, err, errlen);
	free(text);
	if (rc)
		return rc;
	for (size_t i = 0; i < json_object_array_length(warnings); i++)
		fprintf(stderr, "nvmf: warning: %s\n",
			json_object_get_string(json_object_array_get_idx(warnings, i)));
	json_object_put(warnings);
	return 0;
}

/* nvmf config FILE: print the SPDK JSON a config file becomes. */
int config_main(int argc, char **argv)
{
	struct json_object *cfg;
	char err[512];

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(argc == 2 && !strcmp(argv[1], "-h") ? stdout : stderr,
			"usage: nvmf config FILE\n"
			"  print FILE (SPDK JSON, nvmetcli JSON or legacy SPDK INI) as the SPDK\n"
			"  save_config JSON that nvmf -c FILE would load; warnings on stderr\n");
		return argc == 2 && !strcmp(argv[1], "-h") ? 0 : 2;
	}
	if (config_load_file(argv[1], &cfg, err, sizeof(err))) {
		fprintf(stderr, "nvmf config: %s\n", err);
		return 1;
	}
	config_print_json(stdout, cfg, 2, 0);
	putchar('\n');
	json_object_put(cfg);
	return 0;
}
