/*
 * file_test.c - unit tests of the file backend in bdev.c, and of the
 * registry there that holds bdevs by name for the RPC methods.
 *
 * bdev.c is compiled in whole; what it needs from nvmf.c and main.c is
 * stubbed: nvmf_bdev_done() records the status the backend answers, and
 * the log goes to "# " lines. Requests are bare struct nvmf_req with no
 * queue, so the backend uses reactor slot 0 and the test reaps through
 * the seam's poll(), as a reactor would after its epoll fired.
 *
 *   part                                          spec / why
 *   ------------------------------------------------------------------------
 *   1. open: size, block size, O_DIRECT, VWC      [BASE-2.0c §5.27.1.4]
 *   2. read, write, FUA, unaligned buffer         [NVM-1.0c §3.2.4, §3.2.6]
 *   3. flush                                      [BASE-2.0c §7.1]
 *   4. write zeroes, deallocate (holes)           [NVM-1.0c §3.2.8, §3.2.3]
 *   5. read-only file: write protected            [BASE-2.0c Fig. 94]
 *   6. errno -> status; ENOSPC on a full tmpfs    [BASE-2.0c Fig. 94, 101]
 *   7. the bdev registry: names, adopt, unregister  SPDK's bdev naming rules
 *
 * EIO cannot be produced on a plain file without a failing block device
 * (dm-error needs device-mapper), so it is checked through the mapping
 * function only. ENOSPC is real when the test may mount a 1 MiB tmpfs in
 * a private mount namespace (root); otherwise the mapping alone is checked
 * and the log says so.
 */
#include "../bdev.c"
#include "test.h"

#include <sched.h>
#include <stdarg.h>
#include <sys/mount.h>
#include <time.h>

/* ==================================================================== */
/* Stubs                                                               */
/* ==================================================================== */

struct nvmf_subsys *g_subsystems;	/* bdev_poll_all() walks it: none here */

/* bdev_create() hands nvme: and sim: to pcie_nvme.c, not under test here. */
int pci_bdev_create(const char *spec, struct nvmf_bdev **out, char *err, size_t errlen)
{
	(void)out;
	snprintf(err, errlen, "%s: pcie_nvme.c is not linked into file_test", spec);
	return -EOPNOTSUPP;
}

static int g_done;
static uint16_t g_status;

void nvmf_bdev_done(struct nvmf_req *r, uint16_t status)
{
	(void)r;
	g_done++;
	g_status = status;
}

/* ==================================================================== */
/* Helpers                                                             */
/* ==================================================================== */

static struct nvmf_ns g_ns;

/* Run one backend operation to completion; returns its status. */
static uint16_t io(struct nvmf_bdev *b, enum nvmf_bio_op op, uint64_t slba, uint64_t nblocks,
		   void *buf, bool fua)
{
	struct nvmf_req r = { .ns = &g_ns, .bio = op, .slba = slba, .nblocks = nblocks,
			      .bio_buf = buf, .fua = fua };

	g_ns.bdev = b;
	g_done = 0;
	b->ops->submit(b, &r);
	/* A deadline, not a count of polls: an FUA write waits for the disk
	 * (RWF_DSYNC), and on a loaded machine or under ASan a million empty
	 * polls once ran out before it finished (the status read 0xffff). */
	for (time_t end = time(NULL) + 30; !g_done && time(NULL) < end;)
		b->ops->poll(b);
	return g_done == 1 ? g_status : 0xffff;
}

static long file_blocks(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (long)st.st_blocks;
}

/* ==================================================================== */
/* Tests                                                               */
/* ==================================================================== */

static void test_rw(const char *dir)
{
	char path[512], spec[700], err[256];
	struct nvmf_bdev *b = NULL;
	uint8_t *buf, *back;
	int fd;

	snprintf(path, sizeof(path), "%s/disk", dir);
	fd = open(path, O_CREAT | O_RDWR, 0644);
	CHECK(fd >= 0 && ftruncate(fd, 1 << 20) == 0, "a 1 MiB sparse file to serve");
	close(fd);

	/* 1. open */
	CHECK(bdev_create("file:/nonexistent/x", &b, err, sizeof(err)) == -ENOENT,
	      "a missing file is refused: %s", err);
	CHECK(bdev_create("file:", &b, err, sizeof(err)) == -EINVAL, "an empty path is refused");
	snprintf(spec, sizeof(spec), "file:%s:1024", path);
	CHECK(bdev_create(spec, &b, err, sizeof(err)) == -EINVAL, "block size 1024 is refused");
	snprintf(spec, sizeof(spec), "file:%s:4096", path);
	CHECK(bdev_create(spec, &b, err, sizeof(err)) == 0, "file:PATH:4096 opens");
	CHECK_EQ_U(b->nblocks, 256, "1 MiB of 4096-byte blocks is 256 blocks");
	CHECK_EQ_U(b->lbads, 12, "LBADS 12");
	CHECK(b->vwc, "a regular file has a volatile cache to flush (VWC set) [BASE-2.0c §5.27.1.4]");
	CHECK(((struct file_bdev *)b->priv)->direct, "this file system takes O_DIRECT: it is used");
	CHECK(!b->read_only, "opened read-write");
	bdev_free(b);
	snprintf(spec, sizeof(spec), "file:%s", path);
	CHECK(bdev_create(spec, &b, err, sizeof(err)) == 0 && b->blksz == 512,
	      "file:PATH defaults to 512-byte blocks");

	/* 2. read and write, page-aligned (O_DIRECT) and not (buffered fd) */
	buf = aligned_alloc(4096, 65536);
	back = aligned_alloc(4096, 65536 + 4096);
	for (int i = 0; i < 65536; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	CHECK_EQ_U(io(b, BIO_WRITE, 16, 128, buf, false), 0, "write 64 KiB at LBA 16");
	memset(back, 0, 65536);
	CHECK_EQ_U(io(b, BIO_READ, 16, 128, back, false), 0, "read it back");
	CHECK(!memcmp(buf, back, 65536), "the data read is the data written");
	CHECK_EQ_U(io(b, BIO_READ, 17, 8, back + 1, false), 0, "read into an unaligned buffer");
	CHECK(!memcmp(buf + 512, back + 1, 4096), "the unaligned read (buffered descriptor) sees it too");
	memset(buf, 0x5a, 4096);
	CHECK_EQ_U(io(b, BIO_WRITE, 2000, 8, buf, true), 0, "write with FUA (RWF_DSYNC)");
	CHECK_EQ_U(io(b, BIO_READ, 2000, 8, back, false), 0, "read the FUA write");
	CHECK(back[0] == 0x5a && back[4095] == 0x5a, "FUA data is there");
	CHECK_EQ_U(io(b, BIO_WRITE, 3000, 1, buf + 1, false), 0, "write from an unaligned buffer");
	CHECK_EQ_U(io(b, BIO_READ, 3000, 1, back, false), 0, "read it back through O_DIRECT");
	CHECK(!memcmp(buf + 1, back, 512), "the buffered write is visible to O_DIRECT reads");

	/* 3. flush */
	CHECK_EQ_U(io(b, BIO_FLUSH, 0, 0, NULL, false), 0, "flush is fdatasync and succeeds");

	/* 4. write zeroes and deallocate */
	memset(buf, 0xff, 65536);
	CHECK_EQ_U(io(b, BIO_WRITE, 256, 128, buf, false), 0, "fill 64 KiB at LBA 256");
	CHECK_EQ_U(io(b, BIO_WRITE_ZEROES, 256, 8, NULL, false), 0, "write zeroes over 4 KiB");
	CHECK_EQ_U(io(b, BIO_READ, 256, 16, back, false), 0, "read across the zeroed range");
	CHECK(back[0] == 0 && back[4095] == 0 && back[4096] == 0xff,
	      "zeroed blocks read 0, the next block keeps its data");
	long before = file_blocks(path);
	CHECK_EQ_U(io(b, BIO_DEALLOC, 264, 120, NULL, false), 0, "deallocate 60 KiB");
	CHECK_EQ_U(io(b, BIO_READ, 264, 120, back, false), 0, "read the deallocated blocks");
	CHECK(back[0] == 0 && back[120 * 512 - 1] == 0, "deallocated blocks read zeroes (DLFEAT)");
	CHECK(file_blocks(path) < before, "deallocate punched a hole: the file uses less space (%ld -> %ld)",
	      before, file_blocks(path));
	bdev_free(b);

	/* 5. read-only */
	snprintf(spec, sizeof(spec), "file:%s:ro", path);
	CHECK(bdev_create(spec, &b, err, sizeof(err)) == 0 && b->read_only, "file:PATH:ro opens read-only");
	CHECK_EQ_U(io(b, BIO_READ, 16, 8, back, false), 0, "a read-only namespace reads");
	CHECK(!memcmp(back, (uint8_t[]){ 3, 10, 17 }, 3), "and sees the data");
	CHECK_EQ_U(io(b, BIO_WRITE, 16, 8, buf, false), NVME_SC_NS_WRITE_PROTECTED | NVME_STATUS_DNR,
		   "write: Namespace is Write Protected [BASE-2.0c Fig. 94]");
	CHECK_EQ_U(io(b, BIO_WRITE_ZEROES, 16, 8, NULL, false), NVME_SC_NS_WRITE_PROTECTED | NVME_STATUS_DNR,
		   "write zeroes: write protected");
	CHECK_EQ_U(io(b, BIO_DEALLOC, 16, 8, NULL, false), NVME_SC_NS_WRITE_PROTECTED | NVME_STATUS_DNR,
		   "deallocate: write protected");
	CHECK_EQ_U(io(b, BIO_FLUSH, 0, 0, NULL, false), 0, "flush of a read-only namespace succeeds");
	bdev_free(b);
	free(buf);
	free(back);
	unlink(path);
}

/* 6. The errno mapping, and a real ENOSPC on a tiny tmpfs when we may. */
static void test_errors(const char *dir)
{
	char mnt[512], path[600], spec[700], err[256];
	struct nvmf_bdev *b;
	uint8_t *buf;
	uint16_t st;
	int fd;

	CHECK_EQ_U(file_errno_status(ENOSPC, BIO_WRITE), NVME_SC_CAP_EXCEEDED | NVME_STATUS_DNR,
		   "ENOSPC -> Capacity Exceeded [BASE-2.0c Fig. 94]");
	CHECK_EQ_U(file_errno_status(EIO, BIO_READ), NVME_SC_UNRECOVERED_READ,
		   "EIO on a read -> Unrecovered Read Error [BASE-2.0c Fig. 101]");
	CHECK_EQ_U(file_errno_status(EIO, BIO_WRITE), NVME_SC_WRITE_FAULT,
		   "EIO on a write -> Write Fault [BASE-2.0c Fig. 101]");
	CHECK_EQ_U(file_errno_status(EIO, BIO_FLUSH), NVME_SC_WRITE_FAULT, "EIO on a flush -> Write Fault");
	CHECK_EQ_U(file_errno_status(EROFS, BIO_WRITE), NVME_SC_NS_WRITE_PROTECTED | NVME_STATUS_DNR,
		   "EROFS -> Namespace is Write Protected");
	CHECK_EQ_U(file_errno_status(EFAULT, BIO_READ), NVME_SC_INTERNAL, "anything else -> Internal Error");

	snprintf(mnt, sizeof(mnt), "%s/small", dir);
	mkdir(mnt, 0755);
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", mnt, "tmpfs", 0, "size=1m")) {
		printf("# cannot mount a 1 MiB tmpfs (%s): ENOSPC checked by mapping only\n",
		       strerror(errno));
		rmdir(mnt);
		return;
	}
	snprintf(path, sizeof(path), "%s/disk", mnt);
	fd = open(path, O_CREAT | O_RDWR, 0644);
	CHECK(fd >= 0 && ftruncate(fd, 4 << 20) == 0, "a 4 MiB sparse file on a 1 MiB tmpfs");
	close(fd);
	snprintf(spec, sizeof(spec), "file:%s", path);
	CHECK(bdev_create(spec, &b, err, sizeof(err)) == 0, "it opens as a namespace");
	buf = aligned_alloc(4096, 131072);
	memset(buf, 0xab, 131072);
	st = 0;
	for (uint64_t lba = 0; lba < b->nblocks && !st; lba += 256)
		st = io(b, BIO_WRITE, lba, 256, buf, false);
	CHECK_EQ_U(st, NVME_SC_CAP_EXCEEDED | NVME_STATUS_DNR,
		   "filling it ends in Capacity Exceeded, not a crash or a silent loss");
	CHECK_EQ_U(io(b, BIO_READ, 0, 256, buf, false), 0, "reads still work after ENOSPC");
	bdev_free(b);
	free(buf);
	umount(mnt);
	rmdir(mnt);
}

/* ==================================================================== */
/* 7. The bdev registry                                                */
/* ==================================================================== */

/* Never claimed here: no subsystem exists in this test. */
static bool never_claimed(const struct nvmf_bdev *b)
{
	(void)b;
	return false;
}

/*
 * The registry is what lets bdev_malloc_create come before add_ns: a
 * name must be unique and fit struct nvmf_bdev's name, a registered bdev
 * is found by name, a command-line bdev is adopted once with the method
 * that would make it again, and unregistering frees it.
 */
static void test_registry(const char *dir)
{
	struct nvmf_bdev *b, *f;
	struct bdev_entry *be = NULL;
	char err[256], spec[512], path[sizeof(((struct nvmf_bdev *)0)->name)], longname[300];

	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	CHECK(bdev_name_check("", err, sizeof(err)) == -EINVAL, "registry: an empty name is refused");
	CHECK(bdev_name_check(longname, err, sizeof(err)) == -EINVAL,
	      "registry: a name longer than a bdev's is refused (%s)", err);
	CHECK(bdev_create("ram:1M", &b, err, sizeof(err)) == 0, "registry: ram:1M made");
	CHECK(bdev_register("Malloc0", b, "bdev_malloc_create", &be) == 0 && be && be->b == b,
	      "registry: Malloc0 registered");
	CHECK(!strcmp(b->name, "Malloc0"), "registry: the backend takes the name");
	CHECK(bdev_find("Malloc0") == be && !bdev_find("Malloc1"), "registry: found by name only");
	CHECK(bdev_name_check("Malloc0", err, sizeof(err)) == -EEXIST && strstr(err, "already exists"),
	      "registry: a second Malloc0 is refused: %s", err);

	snprintf(path, sizeof(path), "%s/adopt", dir);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	CHECK(truncate(path, 1 << 20) == 0, "registry: a 1 MiB file for --ns file:");
	snprintf(spec, sizeof(spec), "file:%s", path);
	CHECK(bdev_create(spec, &f, err, sizeof(err)) == 0, "registry: %s made", spec);
	memcpy(f->name, path, sizeof(path));	/* as the command line names it */
	CHECK(bdev_adopt(f) == 0 && bdev_adopt(f) == 0, "registry: adopting twice is harmless");
	be = bdev_find(path);
	CHECK(be && !strcmp(be->method, "bdev_aio_create") && !strcmp(be->filename, path),
	      "registry: an adopted file is saved as bdev_aio_create of its path");
	CHECK(g_bdevs == be && be->next && be->next->b == b && !be->next->next,
	      "registry: two entries, newest first");

	CHECK(bdev_unregister("Malloc0") == 0 && !bdev_find("Malloc0"), "registry: Malloc0 unregistered");
	CHECK(bdev_unregister("Malloc0") == -ENOENT, "registry: unregistering it again is -ENOENT");
	bdev_registry_free(never_claimed);
	CHECK(g_bdevs == NULL, "registry: empty after bdev_registry_free");
	unlink(path);
}

/* ==================================================================== */
/* main                                                                */
/* ==================================================================== */

int main(void)
{
	char dir[] = "/tmp/nvmf-file-test.XXXXXX";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_rw(dir);
	test_errors(dir);
	test_registry(dir);
	rmdir(dir);
	return test_done("file_test");
}
