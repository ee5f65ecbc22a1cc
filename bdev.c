/*
 * bdev.c - storage backends: where a namespace's blocks live.
 *
 * Each backend is a struct nvmf_bdev_ops (the backend seam of
 * ../shared/DESIGN.md). nvmf.c has already checked the LBA range and the
 * length, so a backend only moves bytes:
 *
 *   nvmf.c --submit(bdev, req)--> backend --nvmf_bdev_done(req, status)--> nvmf.c
 *
 *   ram   the blocks are anonymous memory; everything completes inside
 *         submit(). Deallocated pages are handed back to the kernel, so
 *         they read as zeroes and cost nothing.
 *   null  no blocks at all: writes vanish, reads return zeroes. For
 *         measuring the transport without a medium.
 *   nvme, sim  an NVMe controller driven by pcie_nvme.c (chapter 07);
 *         completions are reaped by bdev_poll_all() from the reactors.
 *
 * Specs: "ram:64M", "ram:1G:4096", "null:1T", with K/M/G/T suffixes.
 * Tutorial chapter 04 reads this file after nvmf.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "nvmf.h"

static atomic_int g_nr_polled;		/* backends with a poll op (nvme, sim) */

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
/* Parsing a spec                                                      */
/* ==================================================================== */

/* "64M" -> bytes. Returns 0 or -EINVAL. */
static int bdev_parse_size(const char *s, uint64_t *out)
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

static int bdev_alloc_ram(struct nvmf_bdev *b, char *err, size_t errlen)
{
	struct ram_bdev *rb = calloc(1, sizeof(*rb));

	if (!rb)
		return -ENOMEM;
	rb->size = b->nblocks << b->lbads;
	rb->mem = mmap(NULL, rb->size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (rb->mem == MAP_FAILED) {
		snprintf(err, errlen, "cannot map %zu bytes for a RAM namespace: %s",
			 rb->size, strerror(errno));
		free(rb);
		return -ENOMEM;
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

	if (!strncmp(spec, "nvme:", 5) || !strncmp(spec, "sim:", 4)) {
		rc = pci_bdev_create(spec, out, err, errlen);
		if (!rc)
			atomic_fetch_add(&g_nr_polled, 1);
		return rc;
	}
	if (!colon || (!ram && strncmp(spec, "null:", 5))) {
		snprintf(err, errlen, "unknown namespace '%s' (want ram:SIZE[:BS], null:SIZE[:BS], "
			 "nvme:BDF[/NSID] or sim:SIZE[:BS])", spec);
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
