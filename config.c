/*
 * config.c - the config-file translators behind `nvmf -c FILE` and
 * `nvmf config FILE`: three formats in, one target shape out.
 *
 *   FILE --config_load_file--> config_translate(): by content
 *                                +-- SPDK save_config JSON (as is)
 *                                +-- nvmetcli saved JSON
 *                                +-- legacy SPDK INI
 *                                      |
 *                SPDK save_config-format object (lists of method calls)
 *                                      |
 *   main.c -c: rpc_load_config applies it (rpc.c)
 *   nvmf config: printed, to see what a file would do, or to save it
 *
 * Sections, in order: the target shape and helpers every loader shares;
 * nvmetcli JSON (and its hosts' secrets); legacy INI; recognising the
 * format and the entry points.
 *
 * Why one shape: the target has exactly one way to be configured, the
 * RPC methods, so every format becomes a list of RPC calls and the same
 * code (rpc_load_config) checks and applies all of them. A file is then
 * no more powerful than a script of `nvmf rpc` lines, and no less.
 *
 * Every key of a config file that nvmf cannot honour is named in a
 * warning ("FILE: ports[0].param.inline_data_size: not supported,
 * ignored"); a key whose value is what nvmf does anyway (ANA group 1,
 * protection information off, TREQ "not specified") is accepted quietly.
 * This file never touches the target's state; the one thing it writes is
 * a key file per DH-HMAC-CHAP secret of an nvmetcli file, because SPDK's
 * shape names secrets by file (see "nvmetcli's hosts" below); the target
 * removes them when it exits (config_keys_remove).
 *
 * Tutorial chapter 10 reads this file.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "nvmf.h"

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
struct config_host;

struct config_out {
	const char *file;		/* for warnings */
	struct json_object *keyring, *bdev, *transports, *nvmf;	/* arrays of calls */
	struct json_object *warnings;	/* array of strings */
	int nr_bdev;			/* for generated names */
	struct config_host *hosts;	/* nvmetcli's hosts, for their secrets */
	size_t nr_hosts;
	char key_dir[256];		/* where secrets go as files; "" = not yet */
	char *err;			/* a file that cannot be loaded: why */
	size_t errlen;
};

/* A warning, prefixed with the file's name, kept until the translation is
 * done: the caller decides where warnings go (stderr for `nvmf -c`, the
 * test's list in config_test). The declaration carries the attribute so
 * the compiler checks every format string against its arguments. */
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

/* A file nvmf must refuse (a secret that does not parse, say): the
 * reason, prefixed with the file's name, goes to the caller. -EINVAL. */
static int config_fail(struct config_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int config_fail(struct config_out *o, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(o->err, o->errlen, "%s: %s", o->file, msg);
	return -EINVAL;
}

/* Append one call; params is taken over. */
static void config_call(struct json_object *list, const char *method, struct json_object *params)
{
	struct json_object *c = json_object_new_object();

	json_object_object_add(c, "method", json_object_new_string(method));
	json_object_object_add(c, "params", params);
	json_object_array_add(list, c);
}

/* Shorthand: most params the translators write are strings. */
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

/* The address family in SPDK's spelling, or NULL for one nvmf cannot
 * listen on (nvmetcli also knows "fc" and "ib"). */
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

/* "00000000-0000-..." -> 32 hex digits, or "" for all zeroes (unset).
 * nvmetcli writes an NGUID as a dashed UUID and writes zeroes for "none";
 * SPDK's add_ns wants plain hex. For zeroes we send no nguid at all, so
 * nvmf derives one (from the subsystem NQN, the NSID and the bdev's name)
 * as it does for any namespace made without one: stable across restarts,
 * and different for every namespace. */
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

/* One nvmetcli namespace of subsystem nqn -> a file bdev + add_ns. The
 * kernel target reads the device through the block layer; nvmf's file
 * backend (io_uring) opens the same path, so the namespace keeps its
 * data and its NSID. */
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

/*
 * nvmetcli's hosts and their DH-HMAC-CHAP secrets. nvmet keeps a secret
 * per host (configfs hosts/NQN/dhchap_key, dhchap_ctrl_key, dhchap_hash,
 * dhchap_dhgroup) and asks for it on every subsystem whose allowed_hosts
 * links that host. nvmetcli's save names an attribute by its configfs
 * file split at the first '_': "dhchap": {"key": ..., "ctrl_key": ...,
 * "hash": ..., "dhgroup": ...}; the spelling with whole file names,
 * "attr": {"dhchap_key": ...}, is read too.
 *
 * The same file must give the same authentication here, so a secret is
 * never dropped: one that does not parse refuses the whole file, naming
 * the host. SPDK's way to hand a secret over is a file registered with
 * keyring_file_add_key, so each secret is written to a file of its own
 * (mode 0600, in a directory of mode 0700 made under $TMPDIR or /tmp)
 * and the host's add_host call names it: the result is save_config JSON
 * like any other, and never holds a secret itself.
 *
 * Those files are the target's, for as long as it runs. SPDK's
 * keyring_file keeps only a name and a path, and its save_config writes
 * them back; nvmf does the same (rpc_methods.c reads a file when a host
 * is given its key), so the files must stay while the target runs: its
 * save_config output names them and loads, into this target or another,
 * as long as they are there. When the target exits (SIGINT, SIGTERM, a
 * start that fails) config_keys_remove() deletes them and the directory:
 * secrets do not outlive the process that was given them. (SIGKILL
 * leaves them, 0600 in their 0700 directory.) The nvmetcli file stays
 * the lasting copy of the secrets; save_config output that must outlive
 * the target needs key files of the user's own (keyring_file_add_key).
 * `nvmf config FILE` has no target: there the key files are part of its
 * output, kept, and it says where they are.
 *
 * dhchap_hash and dhchap_dhgroup are nvmet's choice for that host: the
 * hash and group it picks when the host offers them. nvmf's allowed
 * lists (nvmf_set_config dhchap_digests, dhchap_dhgroups) are one for
 * all hosts, so the file's values become those lists, each of one name.
 * The Linux host offers every hash and group, so both targets then pick
 * the same pair; a host that does not offer it is refused here where
 * nvmet would fall back to another. Hosts with secrets that name
 * different hashes or groups cannot be served that way: the file is
 * refused, saying so.
 */
struct config_host {
	const char *nqn;
	const char *key, *ckey;		/* DHHC-1 strings; NULL = none */
	char key_name[48], ckey_name[48];	/* their keyring names */
};

/* Attribute name ("key", "hash", ...) of nvmetcli host h, in either
 * spelling; NULL when missing or empty (nvmet shows "" for no secret). */
static const char *config_host_attr(struct json_object *h, const char *name)
{
	struct json_object *g;
	const char *v = NULL;
	char full[32];

	snprintf(full, sizeof(full), "dhchap_%s", name);
	if (json_object_object_get_ex(h, "dhchap", &g))
		v = config_str(g, name);
	if (!v && json_object_object_get_ex(h, "attr", &g))
		v = config_str(g, full);
	return v && *v ? v : NULL;
}

/* nvmet's "hmac(sha512)" -> "sha512", its "ffdhe4096" or "null" as is;
 * NULL if nvmf has no such hash (groups: names[] of 6, hashes: of 3). */
static const char *config_auth_name(const char *in, bool hash)
{
	static const char *const hashes[] = { "sha256", "sha384", "sha512" };
	static const char *const groups[] = { "null", "ffdhe2048", "ffdhe3072",
					      "ffdhe4096", "ffdhe6144", "ffdhe8192" };
	size_t n = strlen(in);

	if (hash && !strncmp(in, "hmac(", 5) && n > 6 && in[n - 1] == ')') {
		in += 5;
		n -= 6;
	}
	for (size_t i = 0; i < (hash ? 3 : 6); i++) {
		const char *name = hash ? hashes[i] : groups[i];

		if (strlen(name) == n && !strncmp(name, in, n))
			return name;
	}
	return NULL;
}

/* The directory of the last translation's key files ("" = none), for
 * config_keys_remove() and config_main(). */
static char g_config_key_dir[256];

/* Write secret to DIR/file (DIR made on first use) and register it as
 * key name: a keyring_file_add_key call. 0, or fails o. */
static int config_key_file(struct config_out *o, const char *name, const char *file,
			   const char *secret)
{
	const char *tmp = getenv("TMPDIR");
	struct json_object *p;
	char path[512];
	FILE *f;
	int fd;

	if (!o->key_dir[0]) {	/* absolute: keyring_file_add_key wants it so */
		snprintf(o->key_dir, sizeof(o->key_dir), "%s/nvmf-keys.XXXXXX",
			 tmp && tmp[0] == '/' ? tmp : "/tmp");
		if (!mkdtemp(o->key_dir))
			return config_fail(o, "cannot make a directory for the secrets (%s): %s",
					   o->key_dir, strerror(errno));
	}
	snprintf(path, sizeof(path), "%s/%s", o->key_dir, file);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f || fprintf(f, "%s\n", secret) < 0 || fclose(f)) {
		if (fd >= 0 && !f)
			close(fd);
		return config_fail(o, "cannot write secret file %s: %s", path, strerror(errno));
	}
	p = json_object_new_object();
	config_set_str(p, "name", name);
	config_set_str(p, "path", path);
	config_call(o->keyring, "keyring_file_add_key", p);
	return 0;
}

/* The hash or group host i names, in nvmf's spelling, against the one
 * every earlier host with a secret named (*first: NULL before the first).
 * nvmet's defaults stand in for a missing one. 0, or fails o. */
static int config_auth_agree(struct config_out *o, size_t i, struct json_object *h, bool hash,
			     const char **first, size_t *first_i)
{
	const char *attr = hash ? "hash" : "dhgroup", *v = config_host_attr(h, attr);
	const char *name = config_auth_name(v ? v : hash ? "hmac(sha256)" : "null", hash);

	if (!name)
		return config_fail(o, "hosts[%zu] (%s): dhchap_%s '%s' is not one nvmf has (%s)", i,
				   o->hosts[i].nqn, attr, v,
				   hash ? "hmac(sha256), hmac(sha384), hmac(sha512)"
					: "null, ffdhe2048 ... ffdhe8192");
	if (*first && strcmp(*first, name))
		return config_fail(o, "hosts[%zu] uses dhchap_%s %s, hosts[%zu] uses %s: nvmf allows one "
				   "list for all hosts, so give every host with a dhchap_key the same",
				   *first_i, attr, *first, i, name);
	if (!*first) {
		*first = name;
		*first_i = i;
	}
	return 0;
}

/* Host i of the file: note its NQN and secrets, check them, and write
 * them to key files. 0, or fails o. */
static int config_nvmet_host(struct config_out *o, size_t i, struct json_object *h,
			     const char **hash, const char **group, size_t *first_i)
{
	static const char *const known[] = { "nqn", "attr", "dhchap", NULL };
	struct config_host *ch = &o->hosts[i];
	char w[64], file[40], why[160];

	snprintf(w, sizeof(w), "hosts[%zu]", i);
	config_check_keys(o, w, h, known, NULL);
	ch->nqn = config_str(h, "nqn");
	ch->key = config_host_attr(h, "key");
	ch->ckey = config_host_attr(h, "ctrl_key");
	if (!ch->key && ch->ckey) {	/* nvmet asks nothing of a host without a key */
		config_warn(o, "%s: dhchap_ctrl_key without dhchap_key, ignored (nvmet ignores it too)", w);
		ch->ckey = NULL;
	}
	if (!ch->key)
		return 0;
	if (!ch->nqn)
		return config_fail(o, "%s: a dhchap_key but no nqn", w);
	if (auth_secret_check(ch->key, why, sizeof(why)))
		return config_fail(o, "%s (%s): dhchap_key: %s", w, ch->nqn, why);
	if (ch->ckey && auth_secret_check(ch->ckey, why, sizeof(why)))
		return config_fail(o, "%s (%s): dhchap_ctrl_key: %s", w, ch->nqn, why);
	if (config_auth_agree(o, i, h, true, hash, first_i) ||
	    config_auth_agree(o, i, h, false, group, first_i + 1))
		return -EINVAL;
	snprintf(ch->key_name, sizeof(ch->key_name), "nvmet-hosts%zu-key", i);
	snprintf(file, sizeof(file), "hosts%zu.key", i);
	if (config_key_file(o, ch->key_name, file, ch->key))
		return -EINVAL;
	if (!ch->ckey)
		return 0;
	snprintf(ch->ckey_name, sizeof(ch->ckey_name), "nvmet-hosts%zu-ctrl-key", i);
	snprintf(file, sizeof(file), "hosts%zu.ctrl_key", i);
	return config_key_file(o, ch->ckey_name, file, ch->ckey);
}

/* The file's hosts; with any secret, the one hash and group they name
 * become nvmf_set_config's lists (first of the nvmf calls, as SPDK
 * saves it). 0, or fails o. */
static int config_nvmet_hosts(struct config_out *o, struct json_object *list)
{
	const char *hash = NULL, *group = NULL;
	size_t first[2] = { 0, 0 };
	struct json_object *p, *a;

	o->nr_hosts = json_object_array_length(list);
	o->hosts = calloc(o->nr_hosts + 1, sizeof(*o->hosts));
	if (!o->hosts)
		return config_fail(o, "out of memory");
	for (size_t i = 0; i < o->nr_hosts; i++)
		if (config_nvmet_host(o, i, json_object_array_get_idx(list, i), &hash, &group, first))
			return -EINVAL;
	if (!hash)
		return 0;
	p = json_object_new_object();
	a = json_object_new_array();
	json_object_array_add(a, json_object_new_string(hash));
	json_object_object_add(p, "dhchap_digests", a);
	a = json_object_new_array();
	json_object_array_add(a, json_object_new_string(group));
	json_object_object_add(p, "dhchap_dhgroups", a);
	config_call(o->transports, "nvmf_set_config", p);
	return 0;
}

/* The add_host call for host on subsystem nqn, with the host's keys
 * when the file gave it a secret: nvmet asks for it on every subsystem
 * whose allowed_hosts lists the host. */
static void config_nvmet_add_host(struct config_out *o, const char *nqn, const char *host)
{
	struct json_object *p = json_object_new_object();

	config_set_str(p, "nqn", nqn);
	config_set_str(p, "host", host);
	for (size_t i = 0; i < o->nr_hosts; i++) {
		const struct config_host *ch = &o->hosts[i];

		if (!ch->key || strcmp(ch->nqn, host))
			continue;
		config_set_str(p, "dhchap_key", ch->key_name);
		if (ch->ckey)
			config_set_str(p, "dhchap_ctrlr_key", ch->ckey_name);
	}
	config_call(o->nvmf, "nvmf_subsystem_add_host", p);
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
		for (size_t i = 0; i < json_object_array_length(list); i++)
			config_nvmet_add_host(o, nqn,
					      json_object_get_string(json_object_array_get_idx(list, i)));
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
					       : NVMF_DISC_NQN);
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
 * subsystems, so those must exist first). 0, or -EINVAL with o->err. */
static int config_from_nvmet(struct config_out *o, struct json_object *root)
{
	static const char *const known[] = { "hosts", "ports", "subsystems", NULL };
	struct json_object *list;

	config_check_keys(o, "top level", root, known, NULL);
	if (json_object_object_get_ex(root, "hosts", &list) && json_object_is_type(list, json_type_array) &&
	    config_nvmet_hosts(o, list))
		return -EINVAL;
	if (json_object_object_get_ex(root, "subsystems", &list))
		for (size_t i = 0; i < json_object_array_length(list); i++)
			config_nvmet_subsys(o, (int)i, json_object_array_get_idx(list, i));
	if (json_object_object_get_ex(root, "ports", &list))
		for (size_t i = 0; i < json_object_array_length(list); i++)
			config_nvmet_port(o, (int)i, json_object_array_get_idx(list, i));
	return 0;
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

/* The reader's state between lines: the section being collected and
 * everything a later section may need from an earlier one. */
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

/* INI booleans were written every which way over SPDK's history:
 * Yes, True and 1 all mean yes; anything else, or absence, means no. */
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

/* [Transport]: Type TCP or RDMA, and the limits of that transport. The
 * old files also allowed PCIe here (SPDK's local NVMe), which is not a
 * Fabrics transport; it is named and the section skipped. */
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

/* [Nvmf]: the oldest files put transport limits here, for every
 * transport at once. They are kept aside and, when the whole file has been
 * read, given to every transport that did not set them itself. */
static void ini_end_nvmf(struct ini_state *st)
{
	static const char *const known[] = { "MaxQueueDepth", "MaxQueuesPerSession",
		"InCapsuleDataSize", "MaxIOSize", "IOUnitSize", "MaxAQDepth", NULL };

	ini_check_keys(st, known);
	ini_transport_params(st, st->nvmf_defaults);
}

/* [Malloc]: NumberOfLuns RAM bdevs of LunSizeInMB each, named Malloc0,
 * Malloc1, ... as SPDK named them, so [SubsystemN] lines find them. */
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

/* [SubsystemN]: the subsystem first, then its listeners, hosts and
 * namespaces, so each later call names something that already exists. */
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

/* Remove dir's key files, the names config_key_file() gives them for
 * hosts[0..nr_hosts), then dir itself. */
static void config_rm_keys(const char *dir, size_t nr_hosts)
{
	char path[600];

	for (size_t i = 0; i < nr_hosts; i++) {
		snprintf(path, sizeof(path), "%s/hosts%zu.key", dir, i);
		unlink(path);
		snprintf(path, sizeof(path), "%s/hosts%zu.ctrl_key", dir, i);
		unlink(path);
	}
	if (rmdir(dir) && errno != ENOENT)
		LOG_WARN("cannot remove the key directory %s: %s", dir, strerror(errno));
}

/* A refused file leaves no secret behind: its key files and their
 * directory go. */
static void config_drop_keys(struct config_out *o)
{
	if (o->key_dir[0])
		config_rm_keys(o->key_dir, o->nr_hosts);
}

/* How many hosts the last translation wrote key files for. */
static size_t g_config_key_hosts;

/* The target is exiting: remove the key files its -c FILE made, and
 * their directory. Idempotent; nothing to do without such a file. */
void config_keys_remove(void)
{
	if (!g_config_key_dir[0])
		return;
	config_rm_keys(g_config_key_dir, g_config_key_hosts);
	g_config_key_dir[0] = 0;
}

/* The lists, in SPDK's save_config shape: keyring (only with keys, as
 * SPDK saves it) first, so hosts find their keys; bdevs, so namespaces
 * find theirs; then transports and the other nvmf calls: a listener's
 * transport must exist when rpc_load_config replays the listener, and
 * this is also the order SPDK's save_config writes, so a file
 * translated and saved again compares equal. Takes the lists over. */
static struct json_object *config_shape(struct config_out *o)
{
	struct json_object *root = json_object_new_object(), *subs = json_object_new_array();
	const char *names[] = { "keyring", "bdev", "nvmf" };
	struct json_object *lists[] = { o->keyring, o->bdev, o->transports };

	for (size_t i = 0; i < json_object_array_length(o->nvmf); i++)
		json_object_array_add(o->transports, json_object_get(json_object_array_get_idx(o->nvmf, i)));
	json_object_put(o->nvmf);
	for (int i = 0; i < 3; i++) {
		struct json_object *s;

		if (i == 0 && !json_object_array_length(lists[i])) {
			json_object_put(lists[i]);
			continue;
		}
		s = json_object_new_object();
		config_set_str(s, "subsystem", names[i]);
		json_object_object_add(s, "config", lists[i]);
		json_object_array_add(subs, s);
	}
	json_object_object_add(root, "subsystems", subs);
	return root;
}

/*
 * Translate a config file's text (name is for messages) into SPDK's
 * save_config shape. Returns 0 with *out and *warnings (an array of
 * strings, one per ignored key), or -EINVAL with err set.
 */
int config_translate(const char *name, const char *text, struct json_object **out,
		     struct json_object **warnings, char *err, size_t errlen)
{
	struct config_out o = { .file = name, .keyring = json_object_new_array(),
				.bdev = json_object_new_array(), .transports = json_object_new_array(),
				.nvmf = json_object_new_array(), .warnings = json_object_new_array(),
				.err = err, .errlen = errlen };
	const char *p = text;
	struct json_object *root;
	int rc = 0;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '{') {
		root = json_tokener_parse(p);
		if (!root || !json_object_is_type(root, json_type_object)) {
			snprintf(err, errlen, "%s: starts like JSON but does not parse", name);
			rc = -EINVAL;
		} else if (!config_is_nvmet(root)) {	/* SPDK's own: as it is */
			json_object_put(o.keyring);
			json_object_put(o.bdev);
			json_object_put(o.transports);
			json_object_put(o.nvmf);
			*out = root;
			*warnings = o.warnings;
			return 0;
		} else {
			rc = config_from_nvmet(&o, root);
		}
		json_object_put(root);
	} else {
		char *copy = strdup(p);

		rc = copy ? config_from_ini(&o, copy, err, errlen) : -ENOMEM;
		free(copy);
	}
	free(o.hosts);
	if (!rc && o.key_dir[0]) {	/* whoever loads it removes them: see above */
		snprintf(g_config_key_dir, sizeof(g_config_key_dir), "%s", o.key_dir);
		g_config_key_hosts = o.nr_hosts;
	}
	if (rc) {	/* nothing half-translated leaves this function */
		config_drop_keys(&o);
		json_object_put(o.keyring);
		json_object_put(o.bdev);
		json_object_put(o.transports);
		json_object_put(o.nvmf);
		json_object_put(o.warnings);
		return rc;
	}
	*out = config_shape(&o);
	*warnings = o.warnings;
	return 0;
}

/* Read and translate path; print each warning to stderr. Returns 0 with
 * *out, or -errno with err set. What `nvmf -c FILE` calls. */
/* Read a whole file (or stdin for "-") into a string. NULL on error. */
char *config_slurp(const char *path, char *err, size_t errlen)
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

/* `nvmf -c FILE`: read and translate FILE, print its warnings to stderr
 * (the user started the target and is watching), and hand the target
 * shape to the caller, which applies it. -EIO if the file cannot be read. */
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
			"  save_config JSON that nvmf -c FILE would load; warnings on stderr.\n"
			"  An nvmetcli file's host secrets go to 0600 key files under $TMPDIR,\n"
			"  which the JSON names and which stay (stderr says where)\n");
		return argc == 2 && !strcmp(argv[1], "-h") ? 0 : 2;
	}
	if (config_load_file(argv[1], &cfg, err, sizeof(err))) {
		fprintf(stderr, "nvmf config: %s\n", err);
		return 1;
	}
	config_print_json(stdout, cfg, 2, 0);
	putchar('\n');
	json_object_put(cfg);
	if (g_config_key_dir[0])	/* output, not the target's: they stay */
		fprintf(stderr, "nvmf config: the secrets are in 0600 files in %s, which the JSON "
			"names; remove it when done\n", g_config_key_dir);
	return 0;
}
