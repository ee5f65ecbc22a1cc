/*
 * bdev.c - storage backends: where a namespace's blocks live.
 *
 * Each backend is a struct nvmf_bdev_ops (the backend seam, nvmf.h).
 * nvmf.c has already checked the LBA range and the
 * length, so a backend only moves bytes:
 *
 *   nvmf.c --submit(bdev, req)--> backend --nvmf_bdev_done(req, status)--> nvmf.c
 *
 *   ram   the blocks are anonymous memory; everything completes inside
 *         submit(). Deallocated pages are handed back to the kernel, so
 *         they read as zeroes and cost nothing. map() lends a read the
 *         blocks themselves, so TCP sends them with no copy of ours.
 *   null  no blocks at all: writes vanish, reads return zeroes. For
 *         measuring the transport without a medium.
 *   file  a regular file or a block device, through io_uring; completions
 *         come back later, on the reactor's epoll (see its section).
 *   nvme, sim  an NVMe controller driven by pcie_nvme.c (chapter 07);
 *         completions are reaped by bdev_poll_all() from the reactors.
 *
 * Specs: "ram:64M", "ram:1G:4096", "null:1T", with K/M/G/T suffixes;
 * "file:PATH[:BS][:ro]". The registry after the spec parser holds the
 * bdevs the RPC methods create by name until a namespace claims them.
 * Tutorial chapter 04 reads this file after nvmf.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "nvmf.h"

static atomic_int g_nr_polled;		/* backends with a poll op (file, nvme, sim) */

/* ==================================================================== */
/* ram                                                                 */
/* ==================================================================== */

struct ram_bdev {
	uint8_t *mem;
	size_t size;
};

/*
 * Zero [off, off+len): whole pages go back to the kernel (they read as
 * zeroes afterwards), the ragged edges are cleared by hand.
 */
static void ram_zero(struct ram_bdev *rb, size_t off, size_t len)
{
	size_t first = (off + NVMF_PAGE_SIZE - 1) & ~(size_t)(NVMF_PAGE_SIZE - 1);
	size_t last = (off + len) & ~(size_t)(NVMF_PAGE_SIZE - 1);

	if (first >= last) {
		memset(rb->mem + off, 0, len);
		return;
	}
	memset(rb->mem + off, 0, first - off);
	madvise(rb->mem + first, last - first, MADV_DONTNEED);
	memset(rb->mem + last, 0, off + len - last);
}

static void ram_submit(struct nvmf_bdev *b, struct nvmf_req *r)
{
	struct ram_bdev *rb = b->priv;
	size_t off = r->slba << b->lbads, len = r->nblocks << b->lbads;

	switch (r->bio) {
	case BIO_READ:
		memcpy(r->bio_buf, rb->mem + off, len);
		break;
	case BIO_WRITE:
		memcpy(rb->mem + off, r->bio_buf, len);
		break;
	case BIO_WRITE_ZEROES:
	case BIO_DEALLOC:
		ram_zero(rb, off, len);
		break;
	case BIO_FLUSH:		/* memory has no cache in front of it */
		break;
	}
	nvmf_bdev_done(r, NVME_SC_SUCCESS);
}

/*
 * A read's blocks where they lie, for a transport that sends them from
 * here (nvmf_io_in_place says when the bytes are taken). The mapping is
 * page aligned, so the pointer is aligned to the block size: tcp.c finds
 * block boundaries from the address alone.
 */
static uint8_t *ram_map(struct nvmf_bdev *b, uint64_t slba, uint64_t nblocks)
{
	struct ram_bdev *rb = b->priv;

	(void)nblocks;		/* nvmf.c checked the range */
	return rb->mem + (slba << b->lbads);
}

static void ram_free(struct nvmf_bdev *b)
{
	struct ram_bdev *rb = b->priv;

	munmap(rb->mem, rb->size);
	free(rb);
}

static const struct nvmf_bdev_ops ram_ops = {
	.kind = "ram",
	.submit = ram_submit,
	.free = ram_free,
	.map = ram_map,
};

/* ==================================================================== */
/* null                                                                */
/* ==================================================================== */

static void null_submit(struct nvmf_bdev *b, struct nvmf_req *r)
{
	if (r->bio == BIO_READ)		/* never hand out a previous command's bytes */
		memset(r->bio_buf, 0, r->nblocks << b->lbads);
	nvmf_bdev_done(r, NVME_SC_SUCCESS);
}

static void null_free(struct nvmf_bdev *b)
{
	(void)b;
}

static const struct nvmf_bdev_ops null_ops = {
	.kind = "null",
	.submit = null_submit,
	.free = null_free,
};

/* ==================================================================== */
/* file: a regular file or a block device, through io_uring            */
/* ==================================================================== */

/*
 * The file backend turns each backend operation into one io_uring SQE and
 * finds the CQE later, on the reactor that submitted:
 *
 *   submit(r) --> ring of (this bdev, this reactor) --> io_uring_submit
 *                                                          |  kernel does the I/O
 *   reactor epoll <-- eventfd (io_uring_register_eventfd) <-+  CQE posted
 *        |
 *        +--> file_ring_event --> file_ring_reap --> nvmf_bdev_done(r, status)
 *
 *   backend op        io_uring op                      why
 *   ---------------------------------------------------------------------
 *   READ              read                             -
 *   WRITE             write (+RWF_DSYNC when FUA)      FUA: durable on return
 *   FLUSH             fsync(IORING_FSYNC_DATASYNC)     the volatile cache out
 *   WRITE_ZEROES      fallocate(ZERO_RANGE|KEEP_SIZE)  no data moves
 *   DEALLOC           fallocate(PUNCH_HOLE|KEEP_SIZE)  space goes back
 *
 * One ring per bdev per reactor. An io_uring is one submitter's: its SQ
 * tail and CQ head are plain memory, so two threads must not share one
 * without a lock. Per reactor (not per queue) keeps the number of rings
 * small; per bdev (not one ring for all bdevs of a reactor) keeps the
 * ring private to this file, so the reactor loop in main.c needs no hook:
 * the ring's eventfd sits in the reactor's epoll set like a socket does,
 * which also lets an idle reactor sleep while the disk works.
 *
 * O_DIRECT is used when the file system takes it and the block size is a
 * multiple of its offset alignment (statx STATX_DIOALIGN); otherwise the
 * page cache. A buffer O_DIRECT cannot take (not aligned in memory, e.g.
 * Compare's scratch copy) goes through a second, buffered descriptor.
 */
#define FILE_RING_ENTRIES	256	/* SQ: we submit as we go, 256 is plenty */
#define FILE_RING_CQ_ENTRIES	8192	/* CQ: every command a reactor's queues can
					 * have in flight (64 x 128), so the
					 * kernel never holds CQEs back */
#define FILE_MAX_REACTORS	64	/* -m takes a 64-bit core mask */
#define FILE_ZERO_CHUNK		(1u << 20)

struct file_ring {
	struct io_uring ring;
	struct nvmf_poller poller;	/* eventfd the ring signals */
	int epfd;			/* the reactor's epoll set, or -1 */
	struct nvmf_bdev *b;
	pthread_t owner;		/* the reactor thread: sole submitter */
};

struct file_bdev {
	int fd;				/* O_DIRECT when direct, else buffered */
	int fd_buffered;		/* same file through the page cache */
	bool direct;
	bool read_only;			/* opened O_RDONLY: namespace write protected */
	uint32_t mem_align;		/* buffer alignment O_DIRECT needs */
	atomic_bool no_zero_range;	/* fallocate said EOPNOTSUPP once */
	atomic_bool no_punch_hole;
	uint8_t *zeroes;		/* FILE_ZERO_CHUNK of zeroes, aligned */
	struct file_ring *rings[FILE_MAX_REACTORS];	/* slot i: reactor i's */
	char path[256];
};

/*
 * An errno from the kernel -> the NVMe status the host sees. ENOSPC is
 * Capacity Exceeded [BASE-2.0c Fig. 94]; EIO is a media error: Unrecovered
 * Read Error for reads, Write Fault for anything that writes [BASE-2.0c
 * Fig. 101]; a read-only file is a write-protected namespace [BASE-2.0c
 * Fig. 94, status 20h]. Anything else is an internal error, and logged.
 */
static uint16_t file_errno_status(int err, enum nvmf_bio_op op)
{
	switch (err) {
	case ENOSPC:
	case EDQUOT:
		return NVME_SC_CAP_EXCEEDED | NVME_STATUS_DNR;
	case EIO:
	case ENODATA:
		return op == BIO_READ ? NVME_SC_UNRECOVERED_READ : NVME_SC_WRITE_FAULT;
	case EROFS:
	case EPERM:
	case EACCES:
	case EBADF:
		return NVME_SC_NS_WRITE_PROTECTED | NVME_STATUS_DNR;
	default:
		LOG_ERR("file backend: unexpected %s on op %d", strerror(err), op);
		return NVME_SC_INTERNAL;
	}
}

/* Zero [off, off+len) by writing zeroes, for file systems without
 * fallocate modes. Synchronous: it is the rare fallback, and each chunk
 * is one large write. Returns 0 or -errno. */
static int file_write_zeroes_sync(struct file_bdev *fb, uint64_t off, uint64_t len)
{
	while (len) {
		size_t n = len < FILE_ZERO_CHUNK ? len : FILE_ZERO_CHUNK;
		ssize_t w = pwrite(fb->fd, fb->zeroes, n, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		off += w;
		len -= w;
	}
	return 0;
}

/* Finish a transfer that came back short (the file shrank under us, or
 * the disk filled): the rest is done synchronously, which is rare enough
 * not to need a state machine. Returns 0 or -errno. */
static int file_finish_short(struct file_bdev *fb, struct nvmf_req *r, size_t done)
{
	size_t len = r->nblocks << r->ns->bdev->lbads;
	off_t off = (off_t)(r->slba << r->ns->bdev->lbads);
	int fd = fb->fd_buffered;

	while (done < len) {
		ssize_t n = r->bio == BIO_READ
			? pread(fd, r->bio_buf + done, len - done, off + done)
			: pwrite(fd, r->bio_buf + done, len - done, off + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0 && r->bio == BIO_READ) {	/* past EOF: a hole */
			memset(r->bio_buf + done, 0, len - done);
			break;
		}
		if (n == 0)
			return -ENOSPC;
		done += n;
	}
	if (r->bio == BIO_WRITE && r->fua && fdatasync(fd))
		return -errno;
	return 0;
}

/* One CQE: turn its result into a status and hand the request back. */
static void file_complete(struct file_bdev *fb, struct nvmf_req *r, int res)
{
	uint64_t off = r->slba << r->ns->bdev->lbads, len = r->nblocks << r->ns->bdev->lbads;
	atomic_bool *gone = r->bio == BIO_DEALLOC ? &fb->no_punch_hole : &fb->no_zero_range;

	if ((r->bio == BIO_WRITE_ZEROES || r->bio == BIO_DEALLOC) &&
	    (res == -EOPNOTSUPP || res == -EINVAL)) {
		/* This file system lacks the fallocate mode: remember, and
		 * zero by writing, so deallocated blocks still read zeroes. */
		if (!atomic_exchange(gone, true))
			LOG_INFO("%s: fallocate mode not supported, writing zeroes instead", fb->path);
		res = file_write_zeroes_sync(fb, off, len);
	} else if ((r->bio == BIO_READ || r->bio == BIO_WRITE) && res >= 0 && (uint64_t)res < len) {
		res = file_finish_short(fb, r, res);
	}
	nvmf_bdev_done(r, res < 0 ? file_errno_status(-res, r->bio) : NVME_SC_SUCCESS);
}

/* Reap every CQE of one ring. Returns how many requests finished. */
static int file_ring_reap(struct file_ring *fr)
{
	struct file_bdev *fb = fr->b->priv;
	struct io_uring_cqe *cqe;
	int n = 0;

	while (io_uring_peek_cqe(&fr->ring, &cqe) == 0) {
		struct nvmf_req *r = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&fr->ring, cqe);
		file_complete(fb, r, res);
		n++;
	}
	return n;
}

/* The ring's eventfd fired in the reactor's epoll: drain it, then reap. */
static void file_ring_event(struct nvmf_poller *p, uint32_t events)
{
	struct file_ring *fr = container_of(p, struct file_ring, poller);
	uint64_t v;

	(void)events;
	if (read(p->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		LOG_ERR("%s: ring eventfd: %s", fr->b->name, strerror(errno));
	file_ring_reap(fr);
}

/* The backend seam's poll(): reap the rings the calling thread owns. */
static int file_poll(struct nvmf_bdev *b)
{
	struct file_bdev *fb = b->priv;
	int n = 0;

	for (int i = 0; i < FILE_MAX_REACTORS; i++)
		if (fb->rings[i] && pthread_equal(fb->rings[i]->owner, pthread_self()))
			n += file_ring_reap(fb->rings[i]);
	return n;
}

/* The ring of (b, reactor), made on the reactor's first submit: only that
 * thread ever writes its slot, so no lock is needed. NULL on failure. */
static struct file_ring *file_ring_get(struct nvmf_bdev *b, struct nvmf_reactor *re)
{
	struct file_bdev *fb = b->priv;
	int id = re ? re->id : 0;
	struct file_ring *fr = fb->rings[id];
	int rc;

	if (fr)
		return fr;
	fr = calloc(1, sizeof(*fr));
	if (!fr)
		return NULL;
	fr->b = b;
	fr->epfd = re ? re->epfd : -1;
	fr->owner = pthread_self();
	fr->poller.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	fr->poller.fn = file_ring_event;
	rc = fr->poller.fd < 0 ? -errno :
	     io_uring_queue_init_params(FILE_RING_ENTRIES, &fr->ring, &(struct io_uring_params){
		     .flags = IORING_SETUP_CQSIZE, .cq_entries = FILE_RING_CQ_ENTRIES });
	if (rc) {
		LOG_ERR("%s: cannot set up io_uring: %s", b->name, strerror(-rc));
		goto out_close;
	}
	/* epoll_ctl as nvmf_reactor_watch() does it, called directly so
	 * that bdev.c links into unit tests without main.c. */
	if (io_uring_register_eventfd(&fr->ring, fr->poller.fd) ||
	    (re && epoll_ctl(re->epfd, EPOLL_CTL_ADD, fr->poller.fd,
			     &(struct epoll_event){ .events = EPOLLIN, .data.ptr = &fr->poller }))) {
		LOG_ERR("%s: cannot watch the io_uring eventfd", b->name);
		goto out_ring;
	}
	fb->rings[id] = fr;
	return fr;
out_ring:
	io_uring_queue_exit(&fr->ring);
out_close:
	if (fr->poller.fd >= 0)
		close(fr->poller.fd);
	free(fr);
	return NULL;
}

/* Fill one SQE for r. */
static void file_prep(struct file_bdev *fb, struct io_uring_sqe *sqe, struct nvmf_req *r,
		      uint8_t lbads)
{
	uint64_t off = r->slba << lbads, len = r->nblocks << lbads;
	bool aligned = ((uintptr_t)r->bio_buf & (fb->mem_align - 1)) == 0;
	int fd = aligned ? fb->fd : fb->fd_buffered;

	switch (r->bio) {
	case BIO_READ:
		io_uring_prep_read(sqe, fd, r->bio_buf, len, off);
		break;
	case BIO_WRITE:
		io_uring_prep_write(sqe, fd, r->bio_buf, len, off);
		if (r->fua || !aligned)	/* the buffered path must not add a cache */
			sqe->rw_flags = RWF_DSYNC;
		break;
	case BIO_FLUSH:
		io_uring_prep_fsync(sqe, fb->fd, IORING_FSYNC_DATASYNC);
		break;
	case BIO_WRITE_ZEROES:
		io_uring_prep_fallocate(sqe, fb->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, len);
		break;
	case BIO_DEALLOC:
		io_uring_prep_fallocate(sqe, fb->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
		break;
	}
	io_uring_sqe_set_data(sqe, r);
}

/* Submit r on the calling reactor's ring. Completion comes through
 * file_ring_reap; only errors before the kernel sees r finish here. */
static void file_submit(struct nvmf_bdev *b, struct nvmf_req *r)
{
	struct file_bdev *fb = b->priv;
	struct file_ring *fr = file_ring_get(b, r->q ? r->q->reactor : NULL);
	struct io_uring_sqe *sqe;
	int rc;

	if (!fr)
		return nvmf_bdev_done(r, NVME_SC_INTERNAL);
	/* A read-only file is a write-protected namespace: status 20h [BASE-2.0c Fig. 94]. */
	if (fb->read_only && r->bio != BIO_READ && r->bio != BIO_FLUSH)
		return nvmf_bdev_done(r, NVME_SC_NS_WRITE_PROTECTED | NVME_STATUS_DNR);
	/* A fallocate mode known to be missing: zero by hand right away. */
	if ((r->bio == BIO_WRITE_ZEROES && atomic_load(&fb->no_zero_range)) ||
	    (r->bio == BIO_DEALLOC && atomic_load(&fb->no_punch_hole))) {
		rc = file_write_zeroes_sync(fb, r->slba << b->lbads, r->nblocks << b->lbads);
		return nvmf_bdev_done(r, rc ? file_errno_status(-rc, r->bio) : NVME_SC_SUCCESS);
	}
	sqe = io_uring_get_sqe(&fr->ring);
	if (!sqe) {			/* SQ full: push what is queued, retry */
		io_uring_submit(&fr->ring);
		sqe = io_uring_get_sqe(&fr->ring);
	}
	if (!sqe)
		return nvmf_bdev_done(r, NVME_SC_INTERNAL);
	file_prep(fb, sqe, r, b->lbads);
	rc = io_uring_submit(&fr->ring);
	if (rc < 0)
		LOG_ERR("%s: io_uring_submit: %s", b->name, strerror(-rc));
}

/*
 * Free the rings, the descriptors and the zero buffer. The caller makes
 * sure no request is in flight and that every reactor has finished one
 * pass of its loop since (or has stopped): a reactor may hold an epoll
 * event for a ring's eventfd from its last epoll_wait, and that event
 * points at the struct freed here.
 */
static void file_free(struct nvmf_bdev *b)
{
	struct file_bdev *fb = b->priv;

	for (int i = 0; i < FILE_MAX_REACTORS; i++) {
		struct file_ring *fr = fb->rings[i];

		if (!fr)
			continue;
		/* Out of the epoll set before the eventfd goes: the ring's
		 * teardown in the kernel is asynchronous and may signal it.
		 * At shutdown the epoll fd is closed already and this fails
		 * harmlessly; the reactor struct itself may be gone, which is
		 * why the ring keeps the fd, not a pointer. */
		if (fr->epfd >= 0)
			epoll_ctl(fr->epfd, EPOLL_CTL_DEL, fr->poller.fd, NULL);
		io_uring_queue_exit(&fr->ring);
		close(fr->poller.fd);
		free(fr);
	}
	if (fb->fd_buffered != fb->fd)
		close(fb->fd_buffered);
	close(fb->fd);
	free(fb->zeroes);
	free(fb);
}

static const struct nvmf_bdev_ops file_ops = {
	.kind = "file",
	.submit = file_submit,
	.poll = file_poll,
	.free = file_free,
};

/*
 * Does the device under a file (or the block device itself) have a
 * volatile write cache? Linux says so in /sys/dev/block/M:m/queue/
 * write_cache ("write back" or "write through"); a partition has no
 * queue directory of its own, its disk's is one level up.
 */
static bool file_dev_has_wcache(dev_t dev)
{
	char path[128], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/queue/write_cache", major(dev), minor(dev));
	f = fopen(path, "r");
	if (!f) {
		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../queue/write_cache",
			 major(dev), minor(dev));
		f = fopen(path, "r");
	}
	if (!f)
		return true;		/* unknown: claim a cache, so hosts flush */
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return strncmp(buf, "write through", 13) != 0;
}

/* Open path read-write, or read-only if that is all we may; O_DIRECT if
 * want_direct. Sets fb->read_only. Returns the fd or -errno. */
static int file_open(struct file_bdev *fb, bool ro, bool want_direct)
{
	int flags = O_CLOEXEC | (want_direct ? O_DIRECT : 0);
	int fd = ro ? -1 : open(fb->path, flags | O_RDWR);

	if (fd < 0 && (ro || errno == EACCES || errno == EROFS || errno == EPERM)) {
		fd = open(fb->path, flags | O_RDONLY);
		if (fd >= 0)
			fb->read_only = true;
	}
	return fd < 0 ? -errno : fd;
}

/* How big the file or device is, its logical block size and the O_DIRECT
 * alignments. Returns 0 or -errno. */
static int file_geometry(int fd, uint64_t *size, uint32_t *lbs, uint32_t *dio_off,
			 uint32_t *dio_mem, dev_t *dev, bool *blkdev)
{
	struct statx sx;
	int ssz;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_DIOALIGN, &sx))
		return -errno;
	*blkdev = S_ISBLK(sx.stx_mode);
	if (!*blkdev && !S_ISREG(sx.stx_mode))
		return -EINVAL;
	*size = sx.stx_size;
	*lbs = 512;
	*dev = *blkdev ? makedev(sx.stx_rdev_major, sx.stx_rdev_minor)
		       : makedev(sx.stx_dev_major, sx.stx_dev_minor);
	if (*blkdev && (ioctl(fd, BLKGETSIZE64, size) || ioctl(fd, BLKSSZGET, &ssz)))
		return -errno;
	if (*blkdev)
		*lbs = ssz;
	*dio_off = (sx.stx_mask & STATX_DIOALIGN) ? sx.stx_dio_offset_align : 0;
	*dio_mem = (sx.stx_mask & STATX_DIOALIGN) ? sx.stx_dio_mem_align : 0;
	return 0;
}

/* Can this process set up an io_uring? Containers often forbid it
 * (seccomp) and kernel.io_uring_disabled can too. Returns 0 or -errno. */
static int file_uring_usable(char *err, size_t errlen)
{
	struct io_uring ring;
	int rc = io_uring_queue_init(1, &ring, 0);

	if (rc) {
		snprintf(err, errlen, "io_uring is not available here (%s): see "
			 "/proc/sys/kernel/io_uring_disabled, or the container's seccomp policy",
			 strerror(-rc));
		return rc;
	}
	io_uring_queue_exit(&ring);
	return 0;
}

/*
 * Open fb->path (read-only if ro, or if that is all we may), check the
 * block size *bs against it (0: the device's logical block size, 512 for
 * a file) and pick O_DIRECT when the file system tells us its alignments
 * and our blocks honour them; a second descriptor stays buffered. Fills
 * *size and *vwc. Returns 0, or -errno with err set and nothing open.
 */
static int file_setup(struct file_bdev *fb, bool ro, uint32_t *bs, uint64_t *size, bool *vwc,
		      char *err, size_t errlen)
{
	uint32_t lbs = 512, dio_off = 0, dio_mem = 0;
	bool blkdev;
	dev_t dev;
	int rc, dfd;

	fb->fd = file_open(fb, ro, false);
	if (fb->fd < 0) {
		snprintf(err, errlen, "cannot open '%s': %s", fb->path, strerror(-fb->fd));
		return fb->fd;
	}
	rc = file_geometry(fb->fd, size, &lbs, &dio_off, &dio_mem, &dev, &blkdev);
	if (rc) {
		snprintf(err, errlen, "'%s' is not a regular file or block device (%s)",
			 fb->path, strerror(-rc));
		close(fb->fd);
		return rc;
	}
	*bs = *bs ? *bs : lbs;
	if ((*bs != 512 && *bs != 4096) || *bs < lbs || *size / *bs == 0) {
		snprintf(err, errlen, "'%s': block size %u does not fit (want 512 or 4096, at least "
			 "the device's %u, and a file of at least one block)", fb->path, *bs, lbs);
		close(fb->fd);
		return -EINVAL;
	}
	fb->fd_buffered = fb->fd;
	fb->mem_align = 1;
	if (dio_off && *bs % dio_off == 0 && dio_mem <= NVMF_PAGE_SIZE &&
	    (dfd = file_open(fb, fb->read_only, true)) >= 0) {
		fb->fd = dfd;
		fb->direct = true;
		fb->mem_align = dio_mem ? dio_mem : 512;
	}
	/* Through the page cache, writes sit in memory until a flush; a
	 * regular file also has metadata (extents of holes) in the cache;
	 * O_DIRECT on a device is as volatile as the device's own cache. */
	*vwc = !fb->direct || !blkdev || file_dev_has_wcache(dev);
	return 0;
}

/*
 * A namespace on a file or block device: PATH, block size bs (0: 512, or
 * the device's logical block size), read-only if ro or if the file only
 * opens for reading. Returns 0 and the bdev in *out, or -errno with a
 * sentence in err.
 */
int bdev_file_create(const char *path, uint32_t bs, bool ro, struct nvmf_bdev **out,
		     char *err, size_t errlen)
{
	struct file_bdev *fb = calloc(1, sizeof(*fb));
	struct nvmf_bdev *b = calloc(1, sizeof(*b));
	uint64_t size;
	int rc = -ENOMEM;

	if (!fb || !b)
		goto out_free;
	/* Rings are made on first use, on each reactor; find out now, while
	 * we can still say so, whether this system lets us make one. */
	rc = file_uring_usable(err, errlen);
	if (rc)
		goto out_free;
	snprintf(fb->path, sizeof(fb->path), "%s", path);
	rc = file_setup(fb, ro, &bs, &size, &b->vwc, err, errlen);
	if (rc)
		goto out_free;
	if (posix_memalign((void **)&fb->zeroes, NVMF_PAGE_SIZE, FILE_ZERO_CHUNK)) {
		rc = -ENOMEM;
		goto out_close;
	}
	memset(fb->zeroes, 0, FILE_ZERO_CHUNK);
	b->blksz = bs;
	b->lbads = bs == 512 ? 9 : 12;
	b->nblocks = size / bs;
	b->ops = &file_ops;
	b->priv = fb;
	b->read_only = fb->read_only;
	b->deallocate_zeroes = true;	/* holes and the fallback both read zeroes */
	snprintf(b->name, sizeof(b->name), "%s", path);
	if (size % bs)
		LOG_WARN("%s: the last %llu bytes are not a whole block and stay unused",
			 path, (unsigned long long)(size % bs));
	atomic_fetch_add(&g_nr_polled, 1);	/* bdev_free() counts it out */
	*out = b;
	return 0;
out_close:
	if (fb->fd_buffered != fb->fd)
		close(fb->fd_buffered);
	close(fb->fd);
out_free:
	free(fb);
	free(b);
	return rc;
}

/* "file:PATH[:BS][:ro]" -> bdev_file_create. */
static int bdev_create_file(const char *spec, struct nvmf_bdev **out, char *err, size_t errlen)
{
	char path[256], *c;
	unsigned long bs = 0;
	bool ro = false;

	snprintf(path, sizeof(path), "%s", spec + 5);
	c = strrchr(path, ':');
	if (c && !strcmp(c, ":ro")) {
		ro = true;
		*c = 0;
		c = strrchr(path, ':');
	}
	if (c && c[1] >= '0' && c[1] <= '9') {
		char *end;

		bs = strtoul(c + 1, &end, 10);
		if (*end) {
			snprintf(err, errlen, "bad namespace '%s' (want file:PATH[:BS][:ro])", spec);
			return -EINVAL;
		}
		*c = 0;
	}
	if (!path[0]) {
		snprintf(err, errlen, "bad namespace '%s' (want file:PATH[:BS][:ro])", spec);
		return -EINVAL;
	}
	return bdev_file_create(path, bs, ro, out, err, errlen);
}

/* ==================================================================== */
/* Parsing a spec                                                      */
/* ==================================================================== */

/* "64M" -> bytes. Returns 0 or -EINVAL. */
int bdev_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	int shift = 0;

	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if (end == s || (*end && *end != ':') || v == 0 || v > (~0ull >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

/*
 * Every page of a RAM namespace now, on the thread that creates it (main
 * or RPC), never on a reactor. Pages that came on a host's first touch
 * cost its commands a fault each, and a read faults as a write does on
 * kernels without a zero page: the first random reads at QD128 on a
 * fresh 256 MiB namespace waited up to 330 ms while its pages were made
 * under them. And a namespace larger than the memory at hand fails here,
 * with a message, not later with the target killed. Huge pages where the
 * kernel allows them: 256 MiB populated in about 20 ms with them at hand,
 * 670 ms in 4 KiB pages (the VM this was written on). A kernel older
 * than 5.14 lacks MADV_POPULATE_WRITE; there every page is touched by
 * hand. Returns 0 or -errno.
 */
static int ram_populate(uint8_t *mem, size_t size)
{
	madvise(mem, size, MADV_HUGEPAGE);
	if (!madvise(mem, size, MADV_POPULATE_WRITE))
		return 0;
	if (errno != EINVAL)
		return -errno;
	for (size_t off = 0; off < size; off += NVMF_PAGE_SIZE)
		mem[off] = 0;
	return 0;
}

static int bdev_alloc_ram(struct nvmf_bdev *b, char *err, size_t errlen)
{
	struct ram_bdev *rb = calloc(1, sizeof(*rb));
	int rc;

	if (!rb)
		return -ENOMEM;
	rb->size = b->nblocks << b->lbads;
	rb->mem = mmap(NULL, rb->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	rc = rb->mem == MAP_FAILED ? -errno : ram_populate(rb->mem, rb->size);
	if (rc) {
		if (rb->mem != MAP_FAILED)
			munmap(rb->mem, rb->size);
		snprintf(err, errlen, "cannot reserve %zu MiB for a RAM namespace: %s (it holds "
			 "all its memory from the start: give a smaller size, or use null: for a "
			 "namespace that keeps nothing)", rb->size >> 20, strerror(-rc));
		free(rb);
		return rc;
	}
	b->priv = rb;
	b->ops = &ram_ops;
	b->deallocate_zeroes = true;
	return 0;
}

/*
 * Make a backend from "kind:SIZE[:BLOCKSIZE]". Returns 0 and the bdev in
 * *out, or -errno with a sentence in err.
 */
int bdev_create(const char *spec, struct nvmf_bdev **out, char *err, size_t errlen)
{
	static int seq[2];
	const char *colon = strchr(spec, ':'), *bs_str;
	bool ram = !strncmp(spec, "ram:", 4);
	struct nvmf_bdev *b;
	uint64_t size, bs = 512;
	int rc;

	if (!strncmp(spec, "file:", 5))
		return bdev_create_file(spec, out, err, errlen);
	if (!strncmp(spec, "nvme:", 5) || !strncmp(spec, "sim:", 4)) {
		rc = pci_bdev_create(spec, out, err, errlen);
		if (rc)
			return rc;
		atomic_fetch_add(&g_nr_polled, 1);
		(*out)->max_xfer = NVMF_MAX_DATA;	/* its bounce buffer per command */
		return 0;
	}
	if (!colon || (!ram && strncmp(spec, "null:", 5))) {
		snprintf(err, errlen, "unknown namespace '%s' (want ram:SIZE[:BS], null:SIZE[:BS], "
			 "file:PATH[:BS][:ro], nvme:BDF[/NSID] or sim:SIZE[:BS])", spec);
		return -EINVAL;
	}
	bs_str = strchr(colon + 1, ':');
	if (bdev_parse_size(colon + 1, &size) ||
	    (bs_str && (bdev_parse_size(bs_str + 1, &bs) || (bs != 512 && bs != 4096)))) {
		snprintf(err, errlen, "bad namespace '%s': SIZE like 64M, block size 512 or 4096", spec);
		return -EINVAL;
	}
	if (size % bs) {
		snprintf(err, errlen, "bad namespace '%s': size is not a multiple of %llu",
			 spec, (unsigned long long)bs);
		return -EINVAL;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->blksz = bs;
	b->lbads = bs == 512 ? 9 : 12;
	b->nblocks = size / bs;
	snprintf(b->name, sizeof(b->name), "%s%d", ram ? "ram" : "null", seq[ram]++);
	if (ram) {
		rc = bdev_alloc_ram(b, err, errlen);
		if (rc) {
			free(b);
			return rc;
		}
	} else {
		b->ops = &null_ops;
		b->deallocate_zeroes = true;
	}
	*out = b;
	return 0;
}

/*
 * Reap the completions of every polled backend (nvme, sim) that belong to
 * the calling reactor. Returns > 0 while any has commands in flight, so
 * the reactor keeps spinning instead of sleeping in epoll. The backends
 * are polled after s->lock is dropped: a completion may close a queue,
 * and that path takes s->lock.
 */
int bdev_poll_all(void)
{
	struct nvmf_bdev *polled[NVMF_MAX_NS];
	int busy = 0;

	if (!atomic_load(&g_nr_polled))	/* ram and null only: nothing to reap */
		return 0;
	for (struct nvmf_subsys *s = g_subsystems; s; s = s->next) {
		int n = 0;

		pthread_mutex_lock(&s->lock);
		for (int i = 0; i < NVMF_MAX_NS; i++)
			if (s->ns[i] && s->ns[i]->bdev->ops->poll)
				polled[n++] = s->ns[i]->bdev;
		pthread_mutex_unlock(&s->lock);
		for (int i = 0; i < n; i++)
			busy += polled[i]->ops->poll(polled[i]);
	}
	return busy;
}

void bdev_free(struct nvmf_bdev *b)
{
	if (!b)
		return;
	if (b->ops->poll)
		atomic_fetch_sub(&g_nr_polled, 1);
	b->ops->free(b);
	free(b);
}

/* ==================================================================== */
/* The bdev registry: bdevs by name                                    */
/* ==================================================================== */

/*
 * A bdev as SPDK knows it is created by name first and claimed by a
 * namespace later (nvmf_subsystem_add_ns), so something must hold the
 * unclaimed ones and find them by name: this list. It lives here, beside
 * the backends it holds, and knows nothing of subsystems; whether a bdev
 * is claimed is subsys.c's to say (nvmf_bdev_owner), and the RPC methods
 * ask before they unregister one.
 *
 * Only the RPC thread, or main before it starts, touches the list, so it
 * needs no lock. Newest first: save_config walks it backwards to write
 * the bdevs in the order they were made.
 */
struct bdev_entry *g_bdevs;

/* The entry named name, or NULL. */
struct bdev_entry *bdev_find(const char *name)
{
	for (struct bdev_entry *be = g_bdevs; be; be = be->next)
		if (!strcmp(be->b->name, name))
			return be;
	return NULL;
}

/* Can name be a new bdev's? 0, or -EINVAL / -EEXIST with err saying why. */
int bdev_name_check(const char *name, char *err, size_t errlen)
{
	size_t max = sizeof(((struct nvmf_bdev *)0)->name) - 1;

	if (!*name || strlen(name) > max) {
		snprintf(err, errlen, "bdev name must be 1-%zu characters", max);
		return -EINVAL;
	}
	if (bdev_find(name)) {
		snprintf(err, errlen, "bdev %s already exists", name);
		return -EEXIST;
	}
	return 0;
}

/*
 * Register the new backend b under name (checked by bdev_name_check),
 * remembering the RPC method that made it, which bdev_get_bdevs and
 * save_config print. On -ENOMEM b is freed: the caller made it for the
 * registry and has nowhere else to put it.
 */
int bdev_register(const char *name, struct nvmf_bdev *b, const char *method,
		  struct bdev_entry **out)
{
	struct bdev_entry *be = calloc(1, sizeof(*be));

	if (!be) {
		bdev_free(b);
		return -ENOMEM;
	}
	snprintf(b->name, sizeof(b->name), "%s", name);	/* NGUID/UUID derive from it */
	be->b = b;
	be->method = method;
	be->next = g_bdevs;
	g_bdevs = be;
	*out = be;
	return 0;
}

/*
 * Register a bdev the command line made (--ns), named already, so it can
 * be listed, saved and released like any other. It is recorded with the
 * method that would make it again: a file by its path, as bdev_aio_create.
 */
int bdev_adopt(struct nvmf_bdev *b)
{
	struct bdev_entry *be;

	if (bdev_find(b->name))
		return 0;
	be = calloc(1, sizeof(*be));
	if (!be)
		return -ENOMEM;
	be->b = b;
	be->method = !strcmp(b->ops->kind, "null") ? "bdev_null_create" : "bdev_malloc_create";
	if (!strcmp(b->ops->kind, "file")) {
		be->method = "bdev_aio_create";
		snprintf(be->filename, sizeof(be->filename), "%s", b->name);
	}
	be->next = g_bdevs;
	g_bdevs = be;
	return 0;
}

/* Take name out of the registry and free its backend. The caller has
 * checked that no namespace claims it. -ENOENT if there is no such bdev. */
int bdev_unregister(const char *name)
{
	struct bdev_entry **pp, *be;

	for (pp = &g_bdevs; *pp && strcmp((*pp)->b->name, name); pp = &(*pp)->next)
		;
	be = *pp;
	if (!be)
		return -ENOENT;
	*pp = be->next;
	bdev_free(be->b);
	free(be);
	return 0;
}

/* Empty the registry at exit. claimed(b) says whether a namespace still
 * holds b: those backends go with their namespace, the others go here. */
void bdev_registry_free(bool (*claimed)(const struct nvmf_bdev *b))
{
	while (g_bdevs) {
		struct bdev_entry *be = g_bdevs;

		g_bdevs = be->next;
		if (!claimed(be->b))
			bdev_free(be->b);
		free(be);
	}
}

/* ==================================================================== */
/* Data buffers: one pool per reactor                                  */
/* ==================================================================== */

/*
 * The pool lends a command the buffer its data needs, of 4 KiB << k
 * bytes, from a free list per size:
 *
 *   free[0] 4K  -> [buf] -> [buf] -> NULL     held = lent + cached
 *   free[1] 8K  -> NULL                       held <= g_buf_pool_size
 *   ...
 *   free[5] 128K-> [buf] -> NULL
 *
 * Buffers come from mmap(), not malloc(): one that is unmapped goes back
 * to the kernel at once, whatever else the heap holds, so a target whose
 * hosts have left returns to its idle size (nvmf_buf_trim). MAP_POPULATE
 * makes a new buffer's pages in that one call rather than one fault per
 * page as data lands: on a VM 25 us for 128 KiB instead of 350, which a
 * pool growing under a burst of writes paid in its latency. A buffer is
 * used by one reactor thread only, from get to put: no locks.
 */
uint64_t g_buf_pool_size = NVMF_BUF_POOL_DEFAULT;

/*
 * MDTS over RDMA: 128 KiB (SPDK's default there) unless -i or
 * nvmf_create_transport -t RDMA -i asks for more. Its data buffers come
 * from the same pool as TCP's, so a larger MDTS costs no memory per queue.
 */
uint32_t g_rdma_max_io_size = NVMF_MAX_DATA;

/*
 * May MDTS be max_io with a pool of pool bytes per reactor? MDTS is a
 * power of two of 4 KiB pages [BASE-2.0c Fig. 275]; the pool must hold
 * one command of that size, or such a command would wait forever.
 * Returns 0, or -EINVAL with a sentence in err.
 */
int nvmf_check_buffers(uint64_t max_io, uint64_t pool, char *err, size_t errlen)
{
	if (max_io < NVMF_PAGE_SIZE || max_io > NVMF_MAX_IO_LIMIT || (max_io & (max_io - 1))) {
		snprintf(err, errlen, "max_io_size %llu: a power of two from %u to %u bytes",
			 (unsigned long long)max_io, NVMF_PAGE_SIZE, NVMF_MAX_IO_LIMIT);
		return -EINVAL;
	}
	if (pool < max_io) {
		snprintf(err, errlen, "buffer pool of %llu bytes is smaller than one command of "
			 "max_io_size %llu: give at least that much",
			 (unsigned long long)pool, (unsigned long long)max_io);
		return -EINVAL;
	}
	return 0;
}

/* The size class of len bytes: the smallest 4 KiB << k that holds it. */
static int nvmf_buf_class(uint32_t len)
{
	int k = 0;

	while (k < NVMF_BUF_CLASSES - 1 && (NVMF_PAGE_SIZE << k) < len)
		k++;
	return k;
}

/* Unmap one cached buffer, the largest first (it frees the most). */
static bool nvmf_buf_drop_one(struct nvmf_buf_pool *p)
{
	for (int k = NVMF_BUF_CLASSES - 1; k >= 0; k--) {
		void *b = p->free[k];

		if (!b)
			continue;
		p->free[k] = *(void **)b;
		if (p->forget)
			p->forget(p, b, NVMF_PAGE_SIZE << k);
		munmap(b, NVMF_PAGE_SIZE << k);
		p->held -= NVMF_PAGE_SIZE << k;
		return true;
	}
	return false;
}

/*
 * Lend a buffer of at least len bytes (len <= 4 KiB << 11); its size goes
 * to *cap, which nvmf_buf_put() wants back. Returns NULL when the pool is
 * at g_buf_pool_size with nothing cached to give up: the caller waits
 * for p->gen to move. Cached buffers of other sizes are unmapped to make
 * room, so the mix of sizes follows the workload.
 */
void *nvmf_buf_get(struct nvmf_buf_pool *p, uint32_t len, uint32_t *cap)
{
	int k = nvmf_buf_class(len);
	uint32_t size = NVMF_PAGE_SIZE << k;
	void *b = p->free[k];

	if (b) {
		p->free[k] = *(void **)b;
		goto out;
	}
	while (p->held + size > g_buf_pool_size && nvmf_buf_drop_one(p))
		;
	if (p->held + size > g_buf_pool_size)
		return NULL;
	b = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (b == MAP_FAILED)
		return NULL;
	p->held += size;
out:
	p->lent += size;
	*cap = size;
	return b;
}

/* Take back a buffer lent by nvmf_buf_get(); cap is what it said. */
void nvmf_buf_put(struct nvmf_buf_pool *p, void *buf, uint32_t cap)
{
	int k = nvmf_buf_class(cap);

	*(void **)buf = p->free[k];
	p->free[k] = buf;
	p->lent -= cap;
	p->gen++;
}

/* Give cached buffers back to the kernel, at most max bytes' worth (but
 * at least one): the reactor's tick does this a step at a time once the
 * reactor has been idle for a while, and the reactor gives back all at
 * exit. A step, because each munmap() (and, for RDMA, deregistration)
 * costs tens to hundreds of microseconds (see nvmf_reactor_tick). */
void nvmf_buf_trim(struct nvmf_buf_pool *p, uint64_t max)
{
	uint64_t before = p->held;

	while (nvmf_buf_drop_one(p) && before - p->held < max)
		;
}
