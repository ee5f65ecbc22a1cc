/*
 * pcie_vfio.c - the VFIO bus: a real PCIe NVMe controller, reached from
 * user space through Linux's vfio-pci driver.
 *
 * pcie_nvme.c drives a controller through struct nvme_bus (nvmf.h):
 * read/write a register, allocate or map memory the device can reach by
 * DMA. This file is that bus for hardware; sim/sim.c is the same bus for
 * a controller that lives in memory. Keeping VFIO here means the driver
 * reads the same whether a learner runs it on the simulator or an SSD.
 *
 *   pcie_nvme.c --read32/write32--> BAR0 (mmap, or pread/pwrite)
 *               --dma_alloc/map---> IOMMU mapping at an IOVA we choose
 *               --close-----------> unmap everything, close the fds
 *
 * Sections: the bus (register access, DMA mappings, close), then opening
 * it (group, bus mastering, BAR0, pci_vfio_bus_open last). Not implemented:
 * interrupts (the driver polls), the no-IOMMU mode (it gives up the
 * isolation that makes a user-space driver safe), BARs other than BAR0.
 *
 * Tutorial chapter 07 reads it after pcie_nvme.c's registers.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nvmf.h"

/* The page size of every IOMMU mapping: the size VFIO's type1 IOMMU maps
 * on x86 and the memory page size pcie_nvme.c programs in CC.MPS. */
#define PCI_VFIO_PAGE		4096u
/* BAR0 must reach at least the admin doorbells [BASE-2.0c §3.1.4]. */
#define PCI_VFIO_DBS		0x1000

/* ==================================================================== */
/* The bus: registers, DMA mappings, close                             */
/* ==================================================================== */

/*
 * VFIO gives a process a PCI device safely: the device's IOMMU group is
 * attached to a container, the container's IOMMU maps our memory at the
 * addresses (IOVAs) we choose, and the device can reach nothing else.
 *
 *   /dev/vfio/vfio (container) --VFIO_SET_IOMMU(type1)--> IOMMU page table
 *        ^ VFIO_GROUP_SET_CONTAINER                         ^ MAP_DMA(va, iova)
 *   /dev/vfio/N (group; all its devices bound to vfio-pci)  |
 *        | VFIO_GROUP_GET_DEVICE_FD("0000:00:04.0")         |
 *   device fd: config space (bus master on), BAR0 (mmap) ---+-- DMA
 *
 * IOVAs come from a first-fit allocator over a sorted table of mappings,
 * starting at 4 GiB, clear of the x86 MSI window at 0xfee00000.
 */
#define PCI_VFIO_IOVA_BASE	(1ull << 32)
#define PCI_VFIO_MAX_MAPS	256

struct pci_vfio_map {
	void *va;
	uint64_t iova;
	size_t len;
	bool owned;			/* we mmap'd it in dma_alloc */
};

struct pci_vfio_bus {
	struct nvme_bus bus;
	int container, group, device;
	volatile uint8_t *bar0;		/* NULL: use pread/pwrite on the fd */
	uint64_t bar0_off, bar0_len;	/* region offset in the device fd */
	struct pci_vfio_map maps[PCI_VFIO_MAX_MAPS];	/* sorted by iova */
	int nr_maps;
	pthread_mutex_t lock;		/* guards maps[] */
};

static struct pci_vfio_bus *pci_vfio(struct nvme_bus *b)
{
	return container_of(b, struct pci_vfio_bus, bus);
}

/* Registers: a volatile load or store on the mmap'd BAR, or a pread/pwrite
 * when the BAR could not be mapped. 64-bit registers are accessed as two
 * 32-bit halves, low first, which every controller accepts [BASE-2.0c §3.1.4]. */
static uint32_t pci_vfio_read32(struct nvme_bus *b, uint32_t off)
{
	struct pci_vfio_bus *v = pci_vfio(b);
	uint32_t val = ~0u;

	if (v->bar0)
		return le32toh(*(volatile uint32_t *)(v->bar0 + off));
	if (pread(v->device, &val, 4, v->bar0_off + off) != 4)
		LOG_ERR("BAR0 read at 0x%x: %s", off, strerror(errno));
	return le32toh(val);
}

static void pci_vfio_write32(struct nvme_bus *b, uint32_t off, uint32_t val)
{
	struct pci_vfio_bus *v = pci_vfio(b);

	val = htole32(val);
	if (v->bar0)
		*(volatile uint32_t *)(v->bar0 + off) = val;
	else if (pwrite(v->device, &val, 4, v->bar0_off + off) != 4)
		LOG_ERR("BAR0 write at 0x%x: %s", off, strerror(errno));
}

static uint64_t pci_vfio_read64(struct nvme_bus *b, uint32_t off)
{
	uint64_t lo = pci_vfio_read32(b, off);

	return lo | (uint64_t)pci_vfio_read32(b, off + 4) << 32;
}

static void pci_vfio_write64(struct nvme_bus *b, uint32_t off, uint64_t val)
{
	pci_vfio_write32(b, off, (uint32_t)val);
	pci_vfio_write32(b, off + 4, (uint32_t)(val >> 32));
}

/* Map [va, va+len) at a free IOVA; the caller holds v->lock. */
static int pci_vfio_map_locked(struct pci_vfio_bus *v, void *va, size_t len,
			       bool owned, uint64_t *iova)
{
	struct vfio_iommu_type1_dma_map m = { .argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE };
	uint64_t at = PCI_VFIO_IOVA_BASE;
	int i;

	if (v->nr_maps == PCI_VFIO_MAX_MAPS)
		return -ENOSPC;
	for (i = 0; i < v->nr_maps; i++) {	/* first fit between mappings */
		if (at + len <= v->maps[i].iova)
			break;
		at = v->maps[i].iova + ((v->maps[i].len + PCI_VFIO_PAGE - 1) & ~(size_t)(PCI_VFIO_PAGE - 1));
	}
	m.vaddr = (uintptr_t)va;
	m.iova = at;
	m.size = len;
	if (ioctl(v->container, VFIO_IOMMU_MAP_DMA, &m))
		return -errno;
	memmove(&v->maps[i + 1], &v->maps[i], (v->nr_maps - i) * sizeof(v->maps[0]));
	v->maps[i] = (struct pci_vfio_map){ .va = va, .iova = at, .len = len, .owned = owned };
	v->nr_maps++;
	*iova = at;
	return 0;
}

/* Make caller memory reachable by the device (zero copy). VFIO pins the
 * pages; va and len must be page aligned. */
static int pci_vfio_dma_map(struct nvme_bus *b, void *va, size_t len, uint64_t *iova)
{
	struct pci_vfio_bus *v = pci_vfio(b);
	int rc;

	if (((uintptr_t)va | len) & (PCI_VFIO_PAGE - 1))
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	rc = pci_vfio_map_locked(v, va, len, false, iova);
	pthread_mutex_unlock(&v->lock);
	return rc;
}

static void pci_vfio_dma_unmap(struct nvme_bus *b, void *va, size_t len)
{
	struct pci_vfio_bus *v = pci_vfio(b);
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u) };

	pthread_mutex_lock(&v->lock);
	for (int i = 0; i < v->nr_maps; i++) {
		if (v->maps[i].va != va)
			continue;
		u.iova = v->maps[i].iova;
		u.size = v->maps[i].len;
		if (ioctl(v->container, VFIO_IOMMU_UNMAP_DMA, &u))
			LOG_ERR("unmapping IOVA 0x%llx: %s", (unsigned long long)u.iova, strerror(errno));
		if (v->maps[i].owned)
			munmap(va, len);
		memmove(&v->maps[i], &v->maps[i + 1], (v->nr_maps - i - 1) * sizeof(v->maps[0]));
		v->nr_maps--;
		break;
	}
	pthread_mutex_unlock(&v->lock);
}

/* Zeroed, page-aligned, pinned memory the device can reach. Ordinary 4 KiB
 * pages: the IOMMU makes them look contiguous to the device, so no
 * hugepages are needed. */
static void *pci_vfio_dma_alloc(struct nvme_bus *b, size_t len, uint64_t *iova)
{
	struct pci_vfio_bus *v = pci_vfio(b);
	void *va;
	int rc;

	len = (len + PCI_VFIO_PAGE - 1) & ~(size_t)(PCI_VFIO_PAGE - 1);
	va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (va == MAP_FAILED)
		return NULL;
	pthread_mutex_lock(&v->lock);
	rc = pci_vfio_map_locked(v, va, len, true, iova);
	pthread_mutex_unlock(&v->lock);
	if (rc) {
		LOG_ERR("VFIO_IOMMU_MAP_DMA of %zu bytes: %s", len, strerror(-rc));
		munmap(va, len);
		return NULL;
	}
	return va;
}

static void pci_vfio_dma_free(struct nvme_bus *b, void *va, size_t len)
{
	pci_vfio_dma_unmap(b, va, (len + PCI_VFIO_PAGE - 1) & ~(size_t)(PCI_VFIO_PAGE - 1));
}

static void pci_vfio_close(struct nvme_bus *b)
{
	struct pci_vfio_bus *v = pci_vfio(b);

	while (v->nr_maps)
		pci_vfio_dma_unmap(b, v->maps[0].va, v->maps[0].len);
	if (v->bar0)
		munmap((void *)v->bar0, v->bar0_len);
	if (v->device >= 0)
		close(v->device);
	if (v->group >= 0)
		close(v->group);
	if (v->container >= 0)
		close(v->container);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

static const struct nvme_bus_ops pci_vfio_ops = {
	.name = "vfio",
	.read32 = pci_vfio_read32,
	.read64 = pci_vfio_read64,
	.write32 = pci_vfio_write32,
	.write64 = pci_vfio_write64,
	.dma_alloc = pci_vfio_dma_alloc,
	.dma_free = pci_vfio_dma_free,
	.dma_map = pci_vfio_dma_map,
	.dma_unmap = pci_vfio_dma_unmap,
	.close = pci_vfio_close,	/* .poll: hardware runs by itself */
};

/* ==================================================================== */
/* Opening the device                                                   */
/* ==================================================================== */

/* The device's IOMMU group, opened, viable and attached to a type1
 * container. Every failure says what the user should do about it. */
static int pci_vfio_open_group(struct pci_vfio_bus *v, const char *bdf, char *err, size_t errlen)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		snprintf(err, errlen, "%s has no IOMMU group (%s): is the address right, and is "
			 "the IOMMU on (intel_iommu=on or amd_iommu=on on the kernel command line)?",
			 bdf, strerror(errno));
		return -ENODEV;
	}
	link[n] = 0;
	snprintf(path, sizeof(path), "/dev/vfio/%s", strrchr(link, '/') + 1);
	v->group = open(path, O_RDWR | O_CLOEXEC);
	if (v->group < 0) {
		snprintf(err, errlen, "cannot open %s: %s: bind %s to vfio-pci first "
			 "(modprobe vfio-pci; echo vfio-pci > /sys/bus/pci/devices/%s/driver_override; "
			 "echo %s > /sys/bus/pci/drivers_probe) and run as root",
			 path, strerror(errno), bdf, bdf, bdf);
		return -errno;
	}
	if (ioctl(v->group, VFIO_GROUP_GET_STATUS, &st) || !(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		snprintf(err, errlen, "IOMMU group %s is not viable: every device in it must be "
			 "bound to vfio-pci (or have no driver); see ls %s/devices",
			 path, link);
		return -EBUSY;
	}
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container) ||
	    ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU)) {
		snprintf(err, errlen, "attaching IOMMU group %s to a VFIO container: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Turn on memory decoding and bus mastering in the PCI Command register
 * (config offset 4, bits 1 and 2): without bus mastering the device cannot
 * DMA, so it could never fetch a command. */
static int pci_vfio_bus_master(struct pci_vfio_bus *v)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	uint16_t cmd;

	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &ri) ||
	    pread(v->device, &cmd, 2, ri.offset + 4) != 2)
		return -errno;
	cmd = htole16(le16toh(cmd) | 0x6);
	return pwrite(v->device, &cmd, 2, ri.offset + 4) == 2 ? 0 : -errno;
}

/* BAR0 holds the controller's registers and doorbells. mmap it if VFIO
 * lets us (it may refuse when the MSI-X table shares the BAR); else every
 * register access is a pread/pwrite on the device fd. */
static int pci_vfio_map_bar0(struct pci_vfio_bus *v)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = VFIO_PCI_BAR0_REGION_INDEX };
	void *p;

	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &ri))
		return -errno;
	if (ri.size < PCI_VFIO_DBS + 8)
		return -ENODEV;
	v->bar0_off = ri.offset;
	v->bar0_len = ri.size;
	if (!(ri.flags & VFIO_REGION_INFO_FLAG_MMAP))
		return 0;
	p = mmap(NULL, ri.size, PROT_READ | PROT_WRITE, MAP_SHARED, v->device, ri.offset);
	if (p == MAP_FAILED)
		LOG_INFO("BAR0 mmap refused (%s): registers through pread/pwrite", strerror(errno));
	else
		v->bar0 = p;
	return 0;
}

/*
 * Open the PCI device at bdf ("0000:00:04.0") through VFIO. Returns 0 and
 * the bus in *out, or -errno with a sentence in err.
 */
int pci_vfio_bus_open(const char *bdf, struct nvme_bus **out, char *err, size_t errlen)
{
	struct pci_vfio_bus *v = calloc(1, sizeof(*v));
	int rc;

	if (!v)
		return -ENOMEM;
	v->bus.ops = &pci_vfio_ops;
	v->group = v->device = -1;
	pthread_mutex_init(&v->lock, NULL);
	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0) {
		snprintf(err, errlen, "cannot open /dev/vfio/vfio: %s (modprobe vfio-pci, run as root)",
			 strerror(errno));
		rc = -ENODEV;
		goto out_close;
	}
	if (ioctl(v->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    !ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU)) {
		snprintf(err, errlen, "this kernel's VFIO has no type1 IOMMU support");
		rc = -ENOTSUP;
		goto out_close;
	}
	rc = pci_vfio_open_group(v, bdf, err, errlen);
	if (rc)
		goto out_close;
	v->device = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (v->device < 0) {
		snprintf(err, errlen, "VFIO_GROUP_GET_DEVICE_FD %s: %s", bdf, strerror(errno));
		rc = -errno;
		goto out_close;
	}
	rc = pci_vfio_bus_master(v);
	if (!rc)
		rc = pci_vfio_map_bar0(v);
	if (rc) {
		snprintf(err, errlen, "%s: config space or BAR0: %s", bdf, strerror(-rc));
		goto out_close;
	}
	*out = &v->bus;
	return 0;
out_close:
	pci_vfio_close(&v->bus);
	return rc;
}

