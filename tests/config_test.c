/*
 * config_test.c - unit tests of rpc_client.c and config.c: rpc.py's
 * command line turned into JSON-RPC params, the three config formats
 * turned into SPDK's save_config shape, and rpc.py's way of printing JSON.
 *
 * Both files are compiled in whole; they need nothing from the rest of
 * nvmf, since neither touches the target's state.
 * Expected JSON is written as text and compared as JSON
 * (json_object_equal), so key order does not matter but every key and
 * value does.
 *
 *   part                                          source of the facts
 *   ------------------------------------------------------------------------
 *   1. every method's rpc.py syntax -> params     SPDK scripts/rpc.py
 *   2. argument errors                            argparse's behaviour
 *   3. nvmetcli JSON -> SPDK JSON, warnings       nvmetcli saveconfig
 *      and its hosts' secrets -> keyring files      nvmet configfs hosts/NQN/dhchap_*
 *   4. legacy INI -> SPDK JSON, warnings          SPDK etc/spdk/nvmf.conf.in
 *   5. SPDK JSON passes through                   SPDK save_config
 *   6. printing as json.dumps(indent=2)           rpc.py print_dict
 *   7. `nvmf rpc` against a scripted server       rpc.py's exit status and output
 */
#include "../rpc_client.c"
#include "../config.c"
#include "../auth.c"	/* auth_secret_check: the secrets in nvmetcli files */
#include <sys/stat.h>
#include "test.h"

/* auth.c answers a Send that waited for DH work through nvmf.c; no
 * queue here ever does. */
void nvmf_req_done(struct nvmf_req *r, uint16_t status)
{
	(void)r;
	(void)status;
}

/* ==================================================================== */
/* 1-2. rpc.py's syntax                                                */
/* ==================================================================== */

/*
 * One case: a command line as a user types it after `nvmf rpc`, and the
 * params rpc.py would send (NULL: no params at all; "ERR": refused).
 */
static const struct { const char *cmd, *params; } rpc_cases[] = {
	/* 1. The application's methods: most take no params, and rpc.py then
	 * sends none at all (not {}), which SPDK's server tells apart. */
	{ "rpc_get_methods", NULL },
	{ "get_rpc_methods -c", "{\"current\": true}" },
	{ "save_config", NULL },
	{ "save_config -i 4", NULL },
	{ "load_config -j saved.json", NULL },		/* the file becomes the params */
	{ "spdk_get_version", NULL },
	{ "framework_get_subsystems", NULL },
	{ "framework_get_config nvmf", "{\"name\": \"nvmf\"}" },
	{ "framework_get_reactors", NULL },
	{ "framework_wait_init", NULL },
	{ "bdev_wait_for_examine", NULL },
	/* bdevs. rpc.py takes a malloc or null size in MiB and sends blocks:
	 * 64 MiB / 512 B = 131072, 0.5 MiB / 4 KiB = 128, 1024 MiB / 4 KiB =
	 * 262144. Options may come before or after the positional arguments,
	 * and old names (construct_malloc_bdev) still work, as in rpc.py. */
	{ "bdev_malloc_create -b Malloc0 64 512",
	  "{\"name\": \"Malloc0\", \"num_blocks\": 131072, \"block_size\": 512}" },
	{ "bdev_malloc_create 0.5 4096 --name M1 -u 11111111-2222-3333-4444-555555555555",
	  "{\"name\": \"M1\", \"num_blocks\": 128, \"block_size\": 4096,"
	  " \"uuid\": \"11111111-2222-3333-4444-555555555555\"}" },
	{ "construct_malloc_bdev 32 512 -b Malloc1",
	  "{\"name\": \"Malloc1\", \"num_blocks\": 65536, \"block_size\": 512}" },
	{ "bdev_malloc_delete Malloc0", "{\"name\": \"Malloc0\"}" },
	{ "bdev_null_create Null0 1024 4096",
	  "{\"name\": \"Null0\", \"num_blocks\": 262144, \"block_size\": 4096}" },
	{ "bdev_null_delete Null0", "{\"name\": \"Null0\"}" },
	{ "bdev_aio_create /dev/sdb AIO0", "{\"filename\": \"/dev/sdb\", \"name\": \"AIO0\"}" },
	{ "bdev_aio_create /tmp/f AIO1 4096 -r --fallocate",
	  "{\"filename\": \"/tmp/f\", \"name\": \"AIO1\", \"block_size\": 4096,"
	  " \"readonly\": true, \"fallocate\": true}" },
	{ "bdev_aio_delete AIO0", "{\"name\": \"AIO0\"}" },
	{ "bdev_uring_create /dev/nvme0n1 U0 512",
	  "{\"filename\": \"/dev/nvme0n1\", \"name\": \"U0\", \"block_size\": 512}" },
	{ "bdev_uring_delete U0", "{\"name\": \"U0\"}" },
	{ "bdev_nvme_attach_controller -b Nvme0 -t PCIe -a 0000:00:04.0",
	  "{\"name\": \"Nvme0\", \"trtype\": \"PCIe\", \"traddr\": \"0000:00:04.0\"}" },
	{ "bdev_nvme_attach_controller -b N1 -t tcp -a 10.0.0.1 -f ipv4 -s 4420 -n nqn.x -q nqn.h",
	  "{\"name\": \"N1\", \"trtype\": \"tcp\", \"traddr\": \"10.0.0.1\", \"adrfam\": \"ipv4\","
	  " \"trsvcid\": \"4420\", \"subnqn\": \"nqn.x\", \"hostnqn\": \"nqn.h\"}" },
	{ "bdev_nvme_detach_controller Nvme0", "{\"name\": \"Nvme0\"}" },
	{ "bdev_nvme_get_controllers", NULL },
	{ "bdev_nvme_get_controllers -n Nvme0", "{\"name\": \"Nvme0\"}" },
	{ "bdev_get_bdevs", NULL },
	{ "bdev_get_bdevs -b Malloc0 -t 10", "{\"name\": \"Malloc0\", \"timeout\": 10}" },
	{ "get_bdevs -b Malloc0", "{\"name\": \"Malloc0\"}" },
	{ "bdev_get_iostat -b Malloc0", "{\"name\": \"Malloc0\"}" },
	/* Transports: short and long options, and "--opt=value" in one word, the
	 * three ways argparse accepts them. -o is a flag that sends false
	 * (c2h_success off). */
	{ "nvmf_create_transport -t TCP -u 16384 -m 8 -c 8192",
	  "{\"trtype\": \"TCP\", \"io_unit_size\": 16384, \"max_io_qpairs_per_ctrlr\": 8,"
	  " \"in_capsule_data_size\": 8192}" },
	{ "nvmf_create_transport -t RDMA -q 128 -i 131072 -a 32 -o",
	  "{\"trtype\": \"RDMA\", \"max_queue_depth\": 128, \"max_io_size\": 131072,"
	  " \"max_aq_depth\": 32, \"c2h_success\": false}" },
	{ "nvmf_create_transport --trtype=TCP --in-capsule-data-size=4096",
	  "{\"trtype\": \"TCP\", \"in_capsule_data_size\": 4096}" },
	{ "nvmf_get_transports", NULL },
	{ "nvmf_get_transports --trtype tcp", "{\"trtype\": \"tcp\"}" },
	/* Subsystems, listeners, namespaces and hosts. A listener's address goes
	 * in a nested listen_address object, and the word "discovery" stands for
	 * the well-known discovery NQN, both as rpc.py does. */
	{ "nvmf_create_subsystem nqn.2016-06.io.spdk:cnode1 -a -s SPDK00000000000001 -d SPDK_Controller1",
	  "{\"nqn\": \"nqn.2016-06.io.spdk:cnode1\", \"allow_any_host\": true,"
	  " \"serial_number\": \"SPDK00000000000001\", \"model_number\": \"SPDK_Controller1\"}" },
	{ "nvmf_create_subsystem nqn.2016-06.io.spdk:cnode2 -m 32",
	  "{\"nqn\": \"nqn.2016-06.io.spdk:cnode2\", \"max_namespaces\": 32}" },
	{ "nvmf_subsystem_create nqn.a -a", "{\"nqn\": \"nqn.a\", \"allow_any_host\": true}" },
	{ "nvmf_delete_subsystem nqn.2016-06.io.spdk:cnode1", "{\"nqn\": \"nqn.2016-06.io.spdk:cnode1\"}" },
	{ "delete_nvmf_subsystem nqn.a", "{\"nqn\": \"nqn.a\"}" },
	{ "nvmf_get_subsystems", NULL },
	{ "get_nvmf_subsystems", NULL },
	{ "nvmf_get_subsystems nqn.a", "{\"nqn\": \"nqn.a\"}" },
	{ "nvmf_subsystem_add_listener nqn.a -t TCP -a 127.0.0.1 -s 4420",
	  "{\"nqn\": \"nqn.a\", \"listen_address\": {\"trtype\": \"TCP\", \"traddr\": \"127.0.0.1\","
	  " \"trsvcid\": \"4420\"}}" },
	{ "nvmf_subsystem_add_listener nqn.a -t tcp -a ::1 -s 4420 -f ipv6",
	  "{\"nqn\": \"nqn.a\", \"listen_address\": {\"trtype\": \"tcp\", \"traddr\": \"::1\","
	  " \"trsvcid\": \"4420\", \"adrfam\": \"ipv6\"}}" },
	{ "nvmf_subsystem_add_listener discovery -t tcp -a 0.0.0.0 -s8009",
	  "{\"nqn\": \"nqn.2014-08.org.nvmexpress.discovery\", \"listen_address\":"
	  " {\"trtype\": \"tcp\", \"traddr\": \"0.0.0.0\", \"trsvcid\": \"8009\"}}" },
	{ "nvmf_subsystem_remove_listener nqn.a -t TCP -a 127.0.0.1 -s 4420",
	  "{\"nqn\": \"nqn.a\", \"listen_address\": {\"trtype\": \"TCP\", \"traddr\": \"127.0.0.1\","
	  " \"trsvcid\": \"4420\"}}" },
	{ "nvmf_subsystem_get_listeners nqn.a", "{\"nqn\": \"nqn.a\"}" },
	{ "nvmf_subsystem_add_ns nqn.2016-06.io.spdk:cnode1 Malloc0",
	  "{\"nqn\": \"nqn.2016-06.io.spdk:cnode1\", \"namespace\": {\"bdev_name\": \"Malloc0\"}}" },
	{ "nvmf_subsystem_add_ns nqn.a Malloc1 -n 7 -u 11111111-2222-3333-4444-555555555555 -g 0123456789ABCDEF0123456789ABCDEF",
	  "{\"nqn\": \"nqn.a\", \"namespace\": {\"bdev_name\": \"Malloc1\", \"nsid\": 7,"
	  " \"uuid\": \"11111111-2222-3333-4444-555555555555\","
	  " \"nguid\": \"0123456789ABCDEF0123456789ABCDEF\"}}" },
	{ "nvmf_subsystem_remove_ns nqn.a 1", "{\"nqn\": \"nqn.a\", \"nsid\": 1}" },
	{ "nvmf_subsystem_add_host nqn.a nqn.2014-08.org.nvmexpress:uuid:1",
	  "{\"nqn\": \"nqn.a\", \"host\": \"nqn.2014-08.org.nvmexpress:uuid:1\"}" },
	/* DH-HMAC-CHAP: keys are named (keyring_file_add_key), never inline, and
	 * a comma list becomes a JSON array. */
	{ "nvmf_subsystem_add_host nqn.a nqn.h --dhchap-key key0 --dhchap-ctrlr-key key1",
	  "{\"nqn\": \"nqn.a\", \"host\": \"nqn.h\", \"dhchap_key\": \"key0\","
	  " \"dhchap_ctrlr_key\": \"key1\"}" },
	{ "nvmf_set_config --dhchap-digests sha256,sha512 --dhchap-dhgroups null",
	  "{\"dhchap_digests\": [\"sha256\", \"sha512\"], \"dhchap_dhgroups\": [\"null\"]}" },
	{ "keyring_file_add_key key0 /etc/key0", "{\"name\": \"key0\", \"path\": \"/etc/key0\"}" },
	{ "keyring_file_remove_key key0", "{\"name\": \"key0\"}" },
	{ "keyring_get_keys", NULL },
	{ "nvmf_subsystem_remove_host nqn.a nqn.h", "{\"nqn\": \"nqn.a\", \"host\": \"nqn.h\"}" },
	{ "nvmf_subsystem_allow_any_host nqn.a -e", "{\"nqn\": \"nqn.a\", \"allow_any_host\": true}" },
	{ "nvmf_subsystem_allow_any_host nqn.a -d", "{\"nqn\": \"nqn.a\", \"allow_any_host\": false}" },
	{ "nvmf_subsystem_allow_any_host nqn.a --no-allow-any-host",
	  "{\"nqn\": \"nqn.a\", \"allow_any_host\": false}" },
	{ "nvmf_subsystem_get_controllers nqn.a", "{\"nqn\": \"nqn.a\"}" },
	{ "nvmf_subsystem_get_qpairs nqn.a", "{\"nqn\": \"nqn.a\"}" },
	{ "nvmf_get_stats", NULL },
	/* Referrals: the address object is "address" here, not listen_address. */
	{ "nvmf_discovery_add_referral -t tcp -a 10.0.0.2 -s 8009",
	  "{\"address\": {\"trtype\": \"tcp\", \"traddr\": \"10.0.0.2\", \"trsvcid\": \"8009\"}}" },
	{ "nvmf_discovery_add_referral -t tcp -a 10.0.0.2 -s 4420 -n nqn.a",
	  "{\"address\": {\"trtype\": \"tcp\", \"traddr\": \"10.0.0.2\", \"trsvcid\": \"4420\"},"
	  " \"subnqn\": \"nqn.a\"}" },
	{ "nvmf_discovery_remove_referral -t tcp -a 10.0.0.2 -s 8009",
	  "{\"address\": {\"trtype\": \"tcp\", \"traddr\": \"10.0.0.2\", \"trsvcid\": \"8009\"}}" },
	{ "nvmf_discovery_get_referrals", NULL },
	/* 2. what argparse refuses */
	{ "bdev_malloc_create -b Malloc0 64", "ERR" },		/* block_size missing */
	{ "bdev_malloc_create -b Malloc0 sixty 512", "ERR" },	/* not a number */
	{ "bdev_malloc_create 64 512 -b", "ERR" },		/* option without value */
	{ "nvmf_subsystem_add_listener nqn.a -a 1.2.3.4 -s 4420", "ERR" },	/* -t required */
	{ "nvmf_subsystem_remove_ns nqn.a one", "ERR" },
	{ "nvmf_create_subsystem nqn.a --bogus", "ERR" },
	{ "nvmf_create_subsystem nqn.a extra", "ERR" },
	{ "nvmf_create_subsystem nqn.a -a=1", "ERR" },		/* a flag takes no value */
	{ "bdev_nvme_attach_controller -t PCIe -a 0000:00:04.0", "ERR" },	/* -b required */
};

/* Split cmd on spaces into argv (in place, in buf). */
/* The cases' command lines have no quoting, so a split on spaces is the
 * shell's split for them. */
static int split(char *buf, char **argv, int max)
{
	int n = 0;

	for (char *t = strtok(buf, " "); t && n < max; t = strtok(NULL, " "))
		argv[n++] = t;
	return n;
}

/*
 * Each case goes through the method table and rpc_build_params, and the
 * params are compared as JSON with what rpc.py sends for the same line.
 * Then every method of the table must have a case: a method added without
 * one is a syntax nobody checked against rpc.py. A mismatch means a
 * command copied from an SPDK tutorial does something else here.
 */
static void test_rpc_syntax(void)
{
	size_t covered = 0;

	for (size_t i = 0; i < ARRAY_SIZE(rpc_cases); i++) {
		char buf[512], err[256] = "", *argv[32];
		struct json_object *params = NULL, *client = NULL, *want;
		const struct rpc_method *m;
		int argc, rc;

		snprintf(buf, sizeof(buf), "%s", rpc_cases[i].cmd);
		argc = split(buf, argv, 32);
		m = rpc_method_find(argv[0]);
		if (!m) {
			CHECK(0, "method of '%s' is in the table", rpc_cases[i].cmd);
			continue;
		}
		rc = rpc_build_params(m, argc - 1, argv + 1, &params, &client, err, sizeof(err));
		if (rpc_cases[i].params && !strcmp(rpc_cases[i].params, "ERR")) {
			CHECK(rc == -EINVAL && err[0], "refused: %s -> %s", rpc_cases[i].cmd, err);
			continue;
		}
		want = rpc_cases[i].params ? json_tokener_parse(rpc_cases[i].params) : NULL;
		CHECK(rc == 0 && (want ? json_object_equal(params, want) : params == NULL),
		      "%s -> %s", rpc_cases[i].cmd, rpc_cases[i].params ? rpc_cases[i].params : "(no params)");
		if (rc == 0 && !(want ? json_object_equal(params, want) : params == NULL))
			printf("    got %s\n", params ? json_object_to_json_string(params) : "(none)");
		json_object_put(want);
		json_object_put(params);
		json_object_put(client);
	}
	/* Every method of the table has at least one case above. */
	for (size_t k = 0; k < ARRAY_SIZE(rpc_methods); k++) {
		bool seen = false;

		for (size_t i = 0; i < ARRAY_SIZE(rpc_cases) && !seen; i++) {
			size_t len = strcspn(rpc_cases[i].cmd, " ");

			seen = strlen(rpc_methods[k].name) == len &&
			       !strncmp(rpc_cases[i].cmd, rpc_methods[k].name, len);
			seen |= rpc_methods[k].alias && strlen(rpc_methods[k].alias) == len &&
				!strncmp(rpc_cases[i].cmd, rpc_methods[k].alias, len);
		}
		covered += seen;
		if (!seen)
			printf("# no case for %s\n", rpc_methods[k].name);
	}
	CHECK_EQ_U(covered, ARRAY_SIZE(rpc_methods), "every method of the table has a syntax case");
	CHECK(rpc_method_find("get_nvmf_subsystems") == rpc_method_find("nvmf_get_subsystems"),
	      "the deprecated alias get_nvmf_subsystems is nvmf_get_subsystems");
	CHECK(rpc_method_find("no_such_method") == NULL, "an unknown method is not found");
}

/* The client-side options stay out of the params. */
static void test_rpc_client_opts(void)
{
	char buf[] = "-i 4", *argv[4], err[128];
	struct json_object *params = NULL, *client = NULL, *v;
	int argc = split(buf, argv, 4);

	CHECK(rpc_build_params(rpc_method_find("save_config"), argc, argv, &params, &client,
			       err, sizeof(err)) == 0 && params == NULL,
	      "save_config -i 4: no params go to the server");
	CHECK(json_object_object_get_ex(client, "indent", &v) && json_object_get_int(v) == 4,
	      "the indent stays with the client");
	json_object_put(client);
}

/* ==================================================================== */
/* 3-5. config files                                                   */
/* ==================================================================== */

/* Translate text; compare with want (JSON text); check the warnings,
 * which must be exactly the substrings in warn[] (NULL-terminated). */
static void check_translate(const char *what, const char *text, const char *want,
			    const char *const *warn)
{
	struct json_object *out = NULL, *warnings = NULL, *w = json_tokener_parse(want);
	char err[256] = "";
	size_t nwarn = 0;
	int rc = config_translate("cfg", text, &out, &warnings, err, sizeof(err));

	CHECK(rc == 0 && w && json_object_equal(out, w), "%s: the SPDK JSON is as expected", what);
	if (rc == 0 && !(w && json_object_equal(out, w)))
		printf("    got %s\n", json_object_to_json_string(out));
	while (warn && warn[nwarn])
		nwarn++;
	CHECK_EQ_U(warnings ? json_object_array_length(warnings) : 99, nwarn,
		   "%s: %zu warnings", what, nwarn);
	for (size_t i = 0; i < nwarn && warnings; i++) {
		bool found = false;

		for (size_t j = 0; j < json_object_array_length(warnings) && !found; j++)
			found = strstr(json_object_get_string(json_object_array_get_idx(warnings, j)),
				       warn[i]) != NULL;
		CHECK(found, "%s: warned \"%s\"", what, warn[i]);
	}
	json_object_put(out);
	json_object_put(warnings);
	json_object_put(w);
}

/*
 * An nvmetcli saveconfig file with what the kernel target can hold and
 * this one cannot: ANA groups, an inline_data_size, a disabled namespace,
 * an FC port, an IEEE OUI. The block device becomes an io_uring bdev
 * named nvmet<N>; the dashed NGUID becomes SPDK's 32 hex digits; port 2
 * with no subsystems on 8009 becomes a discovery listener.
 */
static const char nvmet_json[] =
	"{ \"hosts\": [ { \"nqn\": \"nqn.2014-08.org.nvmexpress:uuid:h1\" } ],\n"
	"  \"ports\": [ {\n"
	"      \"addr\": { \"adrfam\": \"ipv4\", \"traddr\": \"192.168.122.33\",\n"
	"                \"treq\": \"not specified\", \"trsvcid\": \"4420\", \"trtype\": \"tcp\" },\n"
	"      \"ana_groups\": [ { \"ana\": { \"state\": \"optimized\" }, \"grpid\": 1 } ],\n"
	"      \"param\": { \"inline_data_size\": \"16384\", \"pi_enable\": \"0\" },\n"
	"      \"portid\": 1,\n"
	"      \"referrals\": [ { \"addr\": { \"adrfam\": \"ipv4\", \"traddr\": \"10.0.0.9\",\n"
	"          \"trsvcid\": \"4420\", \"trtype\": \"tcp\" }, \"name\": \"r1\", \"portid\": 1 } ],\n"
	"      \"subsystems\": [ \"nvmet-always\" ] },\n"
	"    { \"addr\": { \"adrfam\": \"ipv4\", \"traddr\": \"0.0.0.0\", \"trsvcid\": \"8009\",\n"
	"                \"trtype\": \"tcp\" }, \"portid\": 2, \"referrals\": [], \"subsystems\": [] },\n"
	"    { \"addr\": { \"adrfam\": \"fc\", \"traddr\": \"nn-0x1\", \"trsvcid\": \"none\",\n"
	"                \"trtype\": \"fc\" }, \"portid\": 3, \"subsystems\": [] } ],\n"
	"  \"subsystems\": [ {\n"
	"      \"allowed_hosts\": [ \"nqn.2014-08.org.nvmexpress:uuid:h1\" ],\n"
	"      \"attr\": { \"allow_any_host\": \"0\", \"cntlid_max\": \"65519\", \"cntlid_min\": \"1\",\n"
	"                \"model\": \"Linux\", \"pi_enable\": \"0\", \"serial\": \"123456789abcdef\",\n"
	"                \"version\": \"1.3\", \"ieee_oui\": \"0x000000\" },\n"
	"      \"namespaces\": [\n"
	"        { \"ana_grpid\": 1, \"enable\": 1, \"nsid\": 1, \"device\": {\n"
	"            \"nguid\": \"01234567-89ab-cdef-0123-456789abcdef\", \"path\": \"/dev/nvme0n1\",\n"
	"            \"uuid\": \"d592cdf3-5d1c-44e0-8412-3fcf7d99df27\" } },\n"
	"        { \"ana_grpid\": 2, \"enable\": 0, \"nsid\": 2, \"device\": { \"path\": \"/tmp/img\" } } ],\n"
	"      \"nqn\": \"nvmet-always\" } ] }\n";

static const char nvmet_want[] =
	"{\"subsystems\": [\n"
	" {\"subsystem\": \"bdev\", \"config\": [\n"
	"  {\"method\": \"bdev_uring_create\", \"params\": {\"name\": \"nvmet0\", \"filename\": \"/dev/nvme0n1\"}}]},\n"
	" {\"subsystem\": \"nvmf\", \"config\": [\n"
	"  {\"method\": \"nvmf_create_transport\", \"params\": {\"trtype\": \"TCP\"}},\n"
	"  {\"method\": \"nvmf_create_subsystem\", \"params\": {\"nqn\": \"nvmet-always\",\n"
	"    \"serial_number\": \"123456789abcdef\", \"model_number\": \"Linux\", \"allow_any_host\": false}},\n"
	"  {\"method\": \"nvmf_subsystem_add_host\", \"params\": {\"nqn\": \"nvmet-always\",\n"
	"    \"host\": \"nqn.2014-08.org.nvmexpress:uuid:h1\"}},\n"
	"  {\"method\": \"nvmf_subsystem_add_ns\", \"params\": {\"nqn\": \"nvmet-always\", \"namespace\":\n"
	"    {\"bdev_name\": \"nvmet0\", \"nsid\": 1, \"nguid\": \"0123456789ABCDEF0123456789ABCDEF\",\n"
	"     \"uuid\": \"d592cdf3-5d1c-44e0-8412-3fcf7d99df27\"}}},\n"
	"  {\"method\": \"nvmf_subsystem_add_listener\", \"params\": {\"nqn\": \"nvmet-always\",\n"
	"    \"listen_address\": {\"trtype\": \"TCP\", \"adrfam\": \"IPv4\", \"traddr\": \"192.168.122.33\",\n"
	"     \"trsvcid\": \"4420\"}}},\n"
	"  {\"method\": \"nvmf_discovery_add_referral\", \"params\": {\"address\": {\"trtype\": \"TCP\",\n"
	"    \"adrfam\": \"IPv4\", \"traddr\": \"10.0.0.9\", \"trsvcid\": \"4420\"}}},\n"
	"  {\"method\": \"nvmf_subsystem_add_listener\", \"params\": {\"nqn\":\n"
	"    \"nqn.2014-08.org.nvmexpress.discovery\", \"listen_address\": {\"trtype\": \"TCP\",\n"
	"    \"adrfam\": \"IPv4\", \"traddr\": \"0.0.0.0\", \"trsvcid\": \"8009\"}}}]}]}";

static const char *const nvmet_warn[] = {
	"cfg: subsystems[0].attr.ieee_oui: not supported, ignored",
	"subsystems[0].namespaces[1].ana_grpid: not supported, ignored",
	"subsystems[0].namespaces[1].enable: 0, so the namespace is left out",
	"cfg: ports[0].param.inline_data_size: not supported, ignored",
	"ports[2].addr.trtype: 'fc' not supported",
	NULL,
};

/*
 * The INI format SPDK used before JSON (etc/spdk/nvmf.conf.in): sizes in
 * MiB (64 MiB / 512 = 131072 blocks), "Listen TCP addr:port" lines, a
 * Namespace line with or without an NSID. MaxQueuesPerSession 4 counts
 * the admin queue, so the transports get max_io_qpairs_per_ctrlr 3; an
 * RDMA Listen line creates the RDMA transport too.
 */
static const char ini_text[] =
	"# nvmf.conf from an old SPDK tutorial\n"
	"[Global]\n  ReactorMask 0x1\n"
	"[Nvmf]\n  MaxQueuesPerSession 4\n  AcceptorPollRate 10000\n"
	"[Transport]\n  Type TCP\n  MaxQueueDepth 128\n  InCapsuleDataSize 8192\n"
	"[Malloc]\n  NumberOfLuns 2\n  LunSizeInMB 64\n  BlockSize 512\n"
	"[AIO]\n  AIO /tmp/file0 AIO0 4096\n"
	"[Null]\n  Dev Null0 16 4096\n"
	"[Nvme]\n  TransportID \"trtype:PCIe traddr:0000:02:00.0\" Nvme0\n  RetryCount 4\n"
	"[Subsystem1]\n  NQN nqn.2016-06.io.spdk:cnode1\n  Listen TCP 127.0.0.1:4420\n"
	"  Listen RDMA [fe80::1]:4420\n  AllowAnyHost No\n  Host nqn.2016-06.io.spdk:init\n"
	"  SN SPDK00000000000001\n  MN SPDK_Controller1\n  Namespace Malloc0 1\n"
	"  Namespace Malloc1\n  Core 25\n"
	"[Subsystem2]\n  NQN nqn.2016-06.io.spdk:cnode2\n  Listen TCP 127.0.0.1:4421\n"
	"  AllowAnyHost Yes\n  Namespace AIO0 3\n";

static const char ini_want[] =
	"{\"subsystems\": [\n"
	" {\"subsystem\": \"bdev\", \"config\": [\n"
	"  {\"method\": \"bdev_malloc_create\", \"params\": {\"name\": \"Malloc0\", \"num_blocks\": 131072, \"block_size\": 512}},\n"
	"  {\"method\": \"bdev_malloc_create\", \"params\": {\"name\": \"Malloc1\", \"num_blocks\": 131072, \"block_size\": 512}},\n"
	"  {\"method\": \"bdev_aio_create\", \"params\": {\"name\": \"AIO0\", \"filename\": \"/tmp/file0\", \"block_size\": 4096}},\n"
	"  {\"method\": \"bdev_null_create\", \"params\": {\"name\": \"Null0\", \"num_blocks\": 4096, \"block_size\": 4096}},\n"
	"  {\"method\": \"bdev_nvme_attach_controller\", \"params\": {\"name\": \"Nvme0\", \"trtype\": \"PCIe\",\n"
	"    \"traddr\": \"0000:02:00.0\"}}]},\n"
	" {\"subsystem\": \"nvmf\", \"config\": [\n"
	"  {\"method\": \"nvmf_create_transport\", \"params\": {\"trtype\": \"TCP\", \"max_queue_depth\": 128,\n"
	"    \"in_capsule_data_size\": 8192, \"max_io_qpairs_per_ctrlr\": 3}},\n"
	"  {\"method\": \"nvmf_create_transport\", \"params\": {\"trtype\": \"RDMA\", \"max_io_qpairs_per_ctrlr\": 3}},\n"
	"  {\"method\": \"nvmf_create_subsystem\", \"params\": {\"nqn\": \"nqn.2016-06.io.spdk:cnode1\",\n"
	"    \"serial_number\": \"SPDK00000000000001\", \"model_number\": \"SPDK_Controller1\", \"allow_any_host\": false}},\n"
	"  {\"method\": \"nvmf_subsystem_add_listener\", \"params\": {\"nqn\": \"nqn.2016-06.io.spdk:cnode1\",\n"
	"    \"listen_address\": {\"trtype\": \"TCP\", \"adrfam\": \"IPv4\", \"traddr\": \"127.0.0.1\", \"trsvcid\": \"4420\"}}},\n"
	"  {\"method\": \"nvmf_subsystem_add_listener\", \"params\": {\"nqn\": \"nqn.2016-06.io.spdk:cnode1\",\n"
	"    \"listen_address\": {\"trtype\": \"RDMA\", \"adrfam\": \"IPv6\", \"traddr\": \"fe80::1\", \"trsvcid\": \"4420\"}}},\n"
	"  {\"method\": \"nvmf_subsystem_add_host\", \"params\": {\"nqn\": \"nqn.2016-06.io.spdk:cnode1\",\n"
	"    \"host\": \"nqn.2016-06.io.spdk:init\"}},\n"
	"  {\"method\": \"nvmf_subsystem_add_ns\", \"params\": {\"nqn\": \"nqn.2016-06.io.spdk:cnode1\",\n"
	"    \"namespace\": {\"bdev_name\": \"Malloc0\", \"nsid\": 1}}},\n"
	"  {\"method\": \"nvmf_subsystem_add_ns\", \"params\": {\"nqn\": \"nqn.2016-06.io.spdk:cnode1\",\n"
	"    \"namespace\": {\"bdev_name\": \"Malloc1\"}}},\n"
	"  {\"method\": \"nvmf_create_subsystem\", \"params\": {\"nqn\": \"nqn.2016-06.io.spdk:cnode2\",\n"
	"    \"allow_any_host\": true}},\n"
	"  {\"method\": \"nvmf_subsystem_add_listener\", \"params\": {\"nqn\": \"nqn.2016-06.io.spdk:cnode2\",\n"
	"    \"listen_address\": {\"trtype\": \"TCP\", \"adrfam\": \"IPv4\", \"traddr\": \"127.0.0.1\", \"trsvcid\": \"4421\"}}},\n"
	"  {\"method\": \"nvmf_subsystem_add_ns\", \"params\": {\"nqn\": \"nqn.2016-06.io.spdk:cnode2\",\n"
	"    \"namespace\": {\"bdev_name\": \"AIO0\", \"nsid\": 3}}}]}]}";

static const char *const ini_warn[] = {
	"cfg: [Global] ReactorMask: not supported, ignored",
	"cfg: [Nvmf] AcceptorPollRate: not supported, ignored",
	"cfg: [Nvme] RetryCount: not supported, ignored",
	"cfg: [Subsystem1] Core: not supported, ignored",
	NULL,
};

/* SPDK's own JSON is already the target's format: it passes unchanged. */
static const char spdk_json[] =
	"{\"subsystems\": [{\"subsystem\": \"bdev\", \"config\": [{\"method\": \"bdev_malloc_create\",\n"
	"  \"params\": {\"name\": \"Malloc0\", \"num_blocks\": 131072, \"block_size\": 512}}]},\n"
	" {\"subsystem\": \"nvmf\", \"config\": [{\"method\": \"nvmf_create_transport\",\n"
	"  \"params\": {\"trtype\": \"TCP\"}}]}]}";

/*
 * Every format becomes the same SPDK save_config JSON, checked whole, and
 * every setting that has no equivalent is named in a warning rather than
 * dropped silently (the user must know the target differs from what the
 * file asked). Malformed files are refused with a message, not half read.
 */
static void test_config_files(void)
{
	struct json_object *out, *warnings;
	char err[256];

	check_translate("nvmetcli JSON", nvmet_json, nvmet_want, nvmet_warn);
	check_translate("legacy INI", ini_text, ini_want, ini_warn);
	check_translate("SPDK save_config JSON", spdk_json, spdk_json, NULL);
	check_translate("an empty nvmetcli file", "{\"hosts\": [], \"ports\": [], \"subsystems\": []}",
			"{\"subsystems\": [{\"subsystem\": \"bdev\", \"config\": []},"
			" {\"subsystem\": \"nvmf\", \"config\": []}]}", NULL);
	CHECK(config_translate("cfg", "{ \"subsystems\": [", &out, &warnings, err, sizeof(err)) == -EINVAL,
	      "broken JSON is refused: %s", err);
	CHECK(config_translate("cfg", "NQN outside\n", &out, &warnings, err, sizeof(err)) == -EINVAL,
	      "an INI key outside a section is refused: %s", err);
	CHECK(config_translate("cfg", "[Subsystem1\n", &out, &warnings, err, sizeof(err)) == -EINVAL,
	      "an unclosed [section is refused: %s", err);
}

/* nvmetcli hosts with DH-HMAC-CHAP secrets (nvmet's configfs names, in
 * nvmetcli's "dhchap" group and in the "attr" spelling). */
#define CT_KEY "DHHC-1:01:X7fWDXYKkGsEDDpbZ4IEfXNRzUWs5IHufbT8wdN6qp6sXokS:"
#define CT_CKEY "DHHC-1:03:g4qwIACIMxYkppsKJJ61yYafQzvvNMlQNo/QcLhpq+4VKI4UO25LMt7JSHTdx1VKw6Mkhs8vruucAcEcS0JQk1mbsnw=:"
#define CT_BAD "DHHC-1:01:X8fWDXYKkGsEDDpbZ4IEfXNRzUWs5IHufbT8wdN6qp6sXokS:"
#define CT_H(n) "nqn.2014-08.org.nvmexpress:uuid:c0ffee00-0000-4000-8000-00000000000" #n

/* A file with hosts h (JSON text of the hosts array) on one subsystem
 * that allows hosts 0, 1 and 2. */
static void ct_keys_file(char *buf, size_t len, const char *hosts)
{
	snprintf(buf, len, "{\"hosts\": %s, \"ports\": [], \"subsystems\": [{\"nqn\": \"nqn.2026-12.io.nvmf:k\","
		 " \"attr\": {\"allow_any_host\": \"0\"}, \"allowed_hosts\": [\"" CT_H(0) "\", \""
		 CT_H(1) "\", \"" CT_H(2) "\"], \"namespaces\": []}]}", hosts);
}

/* Refused, with err holding each of the words, and no key files left. */
static void ct_refused(const char *what, const char *hosts, const char *say1, const char *say2)
{
	struct json_object *out = NULL, *warnings = NULL;
	char text[2048], err[512] = "", cmd[300];
	int rc;

	ct_keys_file(text, sizeof(text), hosts);
	rc = config_translate("cfg", text, &out, &warnings, err, sizeof(err));
	CHECK(rc == -EINVAL && strstr(err, say1) && strstr(err, say2), "%s: refused: %s", what, err);
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A %s)\"", getenv("TMPDIR"));
	CHECK(system(cmd) == 0, "%s: no key file is left behind", what);
}

static void test_nvmet_keys(void)
{
	char tmp[] = "/tmp/config_test.XXXXXX", text[2048], want[4096], err[256] = "", dir[300];
	struct json_object *out = NULL, *warnings = NULL, *w;
	const char *path;
	struct stat st;
	int rc;

	CHECK(mkdtemp(tmp) != NULL, "a TMPDIR for the key files");
	setenv("TMPDIR", tmp, 1);
	ct_keys_file(text, sizeof(text), "[{\"nqn\": \"" CT_H(0) "\", \"dhchap\": {\"key\": \"" CT_KEY "\","
		     " \"ctrl_key\": \"" CT_CKEY "\", \"hash\": \"hmac(sha512)\", \"dhgroup\": \"ffdhe4096\"}},"
		     " {\"nqn\": \"" CT_H(1) "\", \"dhchap\": {\"key\": \"\", \"ctrl_key\": \"\","
		     " \"hash\": \"hmac(sha256)\", \"dhgroup\": \"null\"}},"
		     " {\"nqn\": \"" CT_H(2) "\", \"attr\": {\"dhchap_key\": \"" CT_KEY "\","
		     " \"dhchap_hash\": \"hmac(sha512)\", \"dhchap_dhgroup\": \"ffdhe4096\"}}]");
	rc = config_translate("cfg", text, &out, &warnings, err, sizeof(err));
	CHECK(rc == 0, "hosts with secrets: translated %s", err);
	if (rc)
		return;
	path = json_object_get_string(json_object_object_get(json_object_object_get(json_object_array_get_idx(
		json_object_object_get(json_object_array_get_idx(json_object_object_get(out, "subsystems"), 0),
				       "config"), 0), "params"), "path"));
	snprintf(dir, sizeof(dir), "%.*s", path ? (int)(strrchr(path, '/') - path) : 0, path ? path : "");
	snprintf(want, sizeof(want),
		 "{\"subsystems\": [{\"subsystem\": \"keyring\", \"config\": ["
		 " {\"method\": \"keyring_file_add_key\", \"params\": {\"name\": \"nvmet-hosts0-key\", \"path\": \"%s/hosts0.key\"}},"
		 " {\"method\": \"keyring_file_add_key\", \"params\": {\"name\": \"nvmet-hosts0-ctrl-key\", \"path\": \"%s/hosts0.ctrl_key\"}},"
		 " {\"method\": \"keyring_file_add_key\", \"params\": {\"name\": \"nvmet-hosts2-key\", \"path\": \"%s/hosts2.key\"}}]},"
		 " {\"subsystem\": \"bdev\", \"config\": []}, {\"subsystem\": \"nvmf\", \"config\": ["
		 " {\"method\": \"nvmf_set_config\", \"params\": {\"dhchap_digests\": [\"sha512\"], \"dhchap_dhgroups\": [\"ffdhe4096\"]}},"
		 " {\"method\": \"nvmf_create_subsystem\", \"params\": {\"nqn\": \"nqn.2026-12.io.nvmf:k\", \"allow_any_host\": false}},"
		 " {\"method\": \"nvmf_subsystem_add_host\", \"params\": {\"nqn\": \"nqn.2026-12.io.nvmf:k\", \"host\": \"" CT_H(0) "\","
		 "   \"dhchap_key\": \"nvmet-hosts0-key\", \"dhchap_ctrlr_key\": \"nvmet-hosts0-ctrl-key\"}},"
		 " {\"method\": \"nvmf_subsystem_add_host\", \"params\": {\"nqn\": \"nqn.2026-12.io.nvmf:k\", \"host\": \"" CT_H(1) "\"}},"
		 " {\"method\": \"nvmf_subsystem_add_host\", \"params\": {\"nqn\": \"nqn.2026-12.io.nvmf:k\", \"host\": \"" CT_H(2) "\","
		 "   \"dhchap_key\": \"nvmet-hosts2-key\"}}]}]}", dir, dir, dir);
	w = json_tokener_parse(want);
	CHECK(w && json_object_equal(out, w), "keys imported: keyring files, add_host names them, hash and group mapped");
	if (!(w && json_object_equal(out, w)))
		printf("    got %s\n", json_object_to_json_string(out));
	CHECK_EQ_U(json_object_array_length(warnings), 0, "keys imported: no warning");
	CHECK(strstr(dir, tmp) == dir && stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700,
	      "the key directory is under TMPDIR, mode 0700");
	snprintf(text, sizeof(text), "%s/hosts0.ctrl_key", dir);
	CHECK(stat(text, &st) == 0 && (st.st_mode & 0777) == 0600, "a key file has mode 0600");
	snprintf(text, sizeof(text), "grep -qx '%s' %s/hosts0.ctrl_key", CT_CKEY, dir);
	CHECK(system(text) == 0, "the key file holds the controller secret");
	CHECK(!strstr(json_object_to_json_string(out), "DHHC"), "the translation holds no secret");
	json_object_put(out);
	json_object_put(warnings);
	json_object_put(w);
	snprintf(text, sizeof(text), "rm -rf %s/*", tmp);
	CHECK(system(text) == 0, "cleaned the key files");

	ct_refused("a host secret with a wrong CRC", "[{\"nqn\": \"" CT_H(1) "\", \"dhchap\": {\"key\": \"" CT_KEY "\"}},"
		   " {\"nqn\": \"" CT_H(2) "\", \"dhchap\": {\"key\": \"" CT_BAD "\"}}]",
		   "hosts[1] (" CT_H(2) "): dhchap_key:", "CRC-32 does not match");
	ct_refused("a controller secret that is not DHHC-1", "[{\"nqn\": \"" CT_H(0) "\", \"attr\": {\"dhchap_key\": \""
		   CT_KEY "\", \"dhchap_ctrl_key\": \"secret\"}}]", "(" CT_H(0) "): dhchap_ctrl_key:", "DHHC-1:0");
	ct_refused("hosts that name different hashes", "[{\"nqn\": \"" CT_H(0) "\", \"dhchap\": {\"key\": \"" CT_KEY "\","
		   " \"hash\": \"hmac(sha512)\"}}, {\"nqn\": \"" CT_H(1) "\", \"dhchap\": {\"key\": \"" CT_KEY "\"}}]",
		   "hosts[0] uses dhchap_hash sha512, hosts[1] uses sha256", "give every host");
	ct_refused("hosts that name different groups", "[{\"nqn\": \"" CT_H(0) "\", \"dhchap\": {\"key\": \"" CT_KEY "\","
		   " \"dhgroup\": \"ffdhe2048\"}}, {\"nqn\": \"" CT_H(1) "\", \"dhchap\": {\"key\": \"" CT_KEY "\","
		   " \"dhgroup\": \"ffdhe3072\"}}]", "hosts[0] uses dhchap_dhgroup ffdhe2048, hosts[1] uses ffdhe3072", "same");
	ct_refused("a hash nvmf does not have", "[{\"nqn\": \"" CT_H(0) "\", \"dhchap\": {\"key\": \"" CT_KEY "\","
		   " \"hash\": \"hmac(md5)\"}}]", "dhchap_hash 'hmac(md5)' is not one nvmf has", "hmac(sha384)");

	ct_keys_file(text, sizeof(text), "[{\"nqn\": \"" CT_H(0) "\", \"dhchap\": {\"ctrl_key\": \"" CT_CKEY "\"}}]");
	rc = config_translate("cfg", text, &out, &warnings, err, sizeof(err));
	CHECK(rc == 0 && json_object_array_length(warnings) == 1 &&
	      strstr(json_object_get_string(json_object_array_get_idx(warnings, 0)), "dhchap_ctrl_key without dhchap_key"),
	      "a controller secret alone: warned and left out, as nvmet ignores it");
	CHECK(rc == 0 && !strstr(json_object_to_json_string(out), "keyring"), "... and no keyring section");
	json_object_put(out);
	json_object_put(warnings);
	rmdir(tmp);
}

/* ==================================================================== */
/* 6. printing                                                         */
/* ==================================================================== */

/* `nvmf rpc` prints results as rpc.py does (python's json.dumps with
 * indent 2), so scripts that diff or grep rpc.py's output keep working:
 * empty containers stay on one line, and '/' is not escaped. */
static void test_print(void)
{
	struct json_object *o = json_tokener_parse(
		"{\"a\": [1, {\"b\": \"/x\"}], \"c\": {}, \"d\": [], \"e\": true, \"f\": null}");
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	config_print_json(f, o, 2, 0);
	fclose(f);
	CHECK(buf && !strcmp(buf, "{\n  \"a\": [\n    1,\n    {\n      \"b\": \"/x\"\n    }\n  ],\n"
			     "  \"c\": {},\n  \"d\": [],\n  \"e\": true,\n  \"f\": null\n}"),
	      "printed as python's json.dumps(indent=2): empty {} and [], no \\/ escapes");
	free(buf);
	json_object_put(o);
}

/* ==================================================================== */
/* 7. the exchange: nvmf rpc against a scripted server                 */
/* ==================================================================== */

/*
 * A thread plays the server on a temporary Unix socket: for each
 * connection it reads one whole request, keeps it, and answers with the
 * next canned reply, sent in two pieces so the client must reassemble
 * it; a NULL reply closes the connection without a word.
 */
struct fake_server {
	int lfd;
	const char *const *replies;
	int n;
	struct json_object *last_req;
};

static void *fake_server_main(void *arg)
{
	struct fake_server *fs = arg;

	for (int i = 0; i < fs->n; i++) {
		int fd = accept(fs->lfd, NULL, NULL);
		struct json_tokener *tok = json_tokener_new();
		struct json_object *req = NULL;
		char buf[4096];
		ssize_t n;

		while (!req && (n = read(fd, buf, sizeof(buf))) > 0)
			req = json_tokener_parse_ex(tok, buf, n);
		json_tokener_free(tok);
		json_object_put(fs->last_req);
		fs->last_req = req;
		if (fs->replies[i]) {
			size_t len = strlen(fs->replies[i]);

			if (write(fd, fs->replies[i], len / 2) < 0 ||
			    write(fd, fs->replies[i] + len / 2, len - len / 2) < 0)
				perror("fake server write");
		}
		close(fd);
	}
	return NULL;
}

/* Run `nvmf rpc -s sock ARGS` with stdout and stderr caught in out.
 * Returns its exit status. */
/* rpc_client_main prints to stdout and stderr like the command it is, so
 * the test points both at a temp file for the call. */
static int run_rpc(const char *sock, const char *args, char *out, size_t outlen)
{
	char buf[512], *argv[32];
	int argc = 3, rc, saved_out = dup(1), saved_err = dup(2);
	FILE *tmp = tmpfile();
	size_t n;

	argv[0] = "rpc";
	argv[1] = "-s";
	argv[2] = (char *)sock;
	snprintf(buf, sizeof(buf), "%s", args);
	argc += split(buf, argv + 3, 28);
	fflush(stdout);
	dup2(fileno(tmp), 1);
	dup2(fileno(tmp), 2);
	rc = rpc_client_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	rewind(tmp);
	n = fread(out, 1, outlen - 1, tmp);
	out[n] = 0;
	fclose(tmp);
	return rc;
}

/*
 * `nvmf rpc` against a server whose replies are scripted, so each way a
 * reply can look is met once: a result to print, true (rpc.py prints
 * nothing), a bare string, a JSON-RPC error (exit 1, message shown), a
 * server that hangs up, and no server at all (exit 1 with a hint). The
 * replies arrive in two pieces, as a stream socket may deliver them.
 */
static void test_rpc_exchange(void)
{
	static const char *const replies[] = {
		"{\"jsonrpc\": \"2.0\", \"id\": 1, \"result\": [{\"nqn\": \"nqn.a\", \"namespaces\": []}]}",
		"{\"jsonrpc\": \"2.0\", \"id\": 1, \"result\": true}",
		"{\"jsonrpc\": \"2.0\", \"id\": 1, \"result\": \"Malloc0\"}",
		"{\"jsonrpc\": \"2.0\", \"id\": 1, \"error\": {\"code\": -32602, \"message\": \"Unable to find bdev\"}}",
		NULL,
	};
	char dir[] = "/tmp/nvmf-config-test.XXXXXX", sock[64], out[4096];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct fake_server fs = { .replies = replies, .n = 5 };
	struct json_object *v;
	pthread_t th;

	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(sock, sizeof(sock), "%s/spdk.sock", dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	fs.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(bind(fs.lfd, (struct sockaddr *)&sun, sizeof(sun)) == 0 && listen(fs.lfd, 4) == 0,
	      "the scripted server listens on %s", sock);
	pthread_create(&th, NULL, fake_server_main, &fs);

	CHECK_EQ_U(run_rpc(sock, "nvmf_get_subsystems", out, sizeof(out)), 0, "a result: exit status 0");
	CHECK(!strcmp(out, "[\n  {\n    \"nqn\": \"nqn.a\",\n    \"namespaces\": []\n  }\n]\n"),
	      "the result is printed as rpc.py prints it");
	CHECK(json_object_object_get_ex(fs.last_req, "method", &v) &&
	      !strcmp(json_object_get_string(v), "nvmf_get_subsystems") &&
	      json_object_object_get_ex(fs.last_req, "jsonrpc", &v) &&
	      !strcmp(json_object_get_string(v), "2.0") &&
	      json_object_object_get_ex(fs.last_req, "id", NULL) &&
	      !json_object_object_get_ex(fs.last_req, "params", NULL),
	      "the request is JSON-RPC 2.0 with method and id, and no params when there are none");
	CHECK_EQ_U(run_rpc(sock, "nvmf_create_subsystem nqn.2016-06.io.spdk:cnode1 -a", out, sizeof(out)),
		   0, "result true: exit status 0");
	CHECK(out[0] == 0, "result true prints nothing, as rpc.py");
	CHECK(json_object_object_get_ex(fs.last_req, "params", &v) &&
	      json_object_object_get_ex(v, "allow_any_host", NULL), "the params went to the server");
	CHECK_EQ_U(run_rpc(sock, "bdev_malloc_create -b Malloc0 64 512", out, sizeof(out)), 0,
		   "a string result: exit status 0");
	CHECK(!strcmp(out, "Malloc0\n"), "a string result prints bare, without quotes");
	CHECK_EQ_U(run_rpc(sock, "bdev_malloc_delete Nope", out, sizeof(out)), 1, "an error: exit status 1");
	CHECK(strstr(out, "Got JSON-RPC error response") && strstr(out, "Unable to find bdev"),
	      "the error object is printed, with its message");
	CHECK_EQ_U(run_rpc(sock, "nvmf_get_stats", out, sizeof(out)), 1,
		   "the server hangs up without answering: exit status 1");
	CHECK(strstr(out, "closed the connection") != NULL, "and says so: %s", out);
	pthread_join(th, NULL);
	close(fs.lfd);
	unlink(sock);
	CHECK_EQ_U(run_rpc(sock, "-t 1 nvmf_get_stats", out, sizeof(out)), 1,
		   "no server (waiting 1 s, not the default 60): exit status 1");
	CHECK(strstr(out, "is the target running") != NULL, "and a hint: %s", out);
	CHECK_EQ_U(run_rpc(sock, "nvmf_get_statz", out, sizeof(out)), 1, "unknown method: exit status 1");
	json_object_put(fs.last_req);
	rmdir(dir);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_rpc_syntax();
	test_rpc_client_opts();
	test_config_files();
	test_nvmet_keys();
	test_print();
	test_rpc_exchange();
	return test_done("config_test");
}
