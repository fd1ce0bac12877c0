// SPDX-License-Identifier: GPL-2.0-only
/*
 * The yardstick for bench/dma: the kernel's own VFIO selftest library and
 * its C igb driver (tools/testing/selftests/vfio/lib, linked in), doing what
 * bench/dma/guest.ts does in TypeScript: storms of max_memcpy_count copies of
 * max_memcpy_size, timed from memcpy_start to the end of memcpy_wait, and
 * send_msi timed until a blocking read of the vector's eventfd returns.
 *
 *   lustress-dma-reference <bdf> <iommu mode> <storms> <msis>
 *
 * Prints one JSON object: {"size":N,"count":N,"stormUs":[...],"msiUs":[...]}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include <linux/sizes.h>

#include <libvfio.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void map_region(struct iommu *iommu, struct iova_allocator *allocator,
		       struct dma_region *region, u64 size)
{
	region->vaddr = mmap(NULL, size, PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	VFIO_ASSERT_NE(region->vaddr, MAP_FAILED);
	region->iova = iova_allocator_alloc(allocator, size);
	region->size = size;
	iommu_map(iommu, region);
}

int main(int argc, char *argv[])
{
	struct vfio_pci_device *device;
	struct iova_allocator *allocator;
	struct dma_region copies;
	struct iommu *iommu;
	int storms, msis, i;
	u64 size, count, value;
	int msi_fd;

	if (argc != 5) {
		fprintf(stderr, "usage: %s <bdf> <iommu mode> <storms> <msis>\n", argv[0]);
		return 2;
	}
	storms = atoi(argv[3]);
	msis = atoi(argv[4]);

	iommu = iommu_init(argv[2]);
	device = vfio_pci_device_init(argv[1], iommu);
	VFIO_ASSERT_NOT_NULL(device->driver.ops, "no selftest driver for %s\n", argv[1]);
	allocator = iova_allocator_init(iommu);
	map_region(iommu, allocator, &copies, SZ_2M);
	map_region(iommu, allocator, &device->driver.region, SZ_2M);
	vfio_pci_driver_init(device);

	size = device->driver.max_memcpy_size;
	count = device->driver.max_memcpy_count;
	msi_fd = device->msi_eventfds[device->driver.msi];

	printf("{\"size\":%llu,\"count\":%llu,\"stormUs\":[", (unsigned long long)size, (unsigned long long)count);
	for (i = 0; i < storms; i++) {
		double start = now_us();

		vfio_pci_driver_memcpy_start(device, copies.iova, copies.iova + size, size, count);
		VFIO_ASSERT_EQ(vfio_pci_driver_memcpy_wait(device), 0);
		printf("%s%.1f", i ? "," : "", now_us() - start);
	}
	printf("],\"msiUs\":[");
	for (i = 0; i < msis; i++) {
		double start = now_us();

		vfio_pci_driver_send_msi(device);
		VFIO_ASSERT_EQ(read(msi_fd, &value, 8), 8);
		printf("%s%.1f", i ? "," : "", now_us() - start);
	}
	printf("]}\n");

	vfio_pci_driver_remove(device);
	iommu_unmap(iommu, &copies);
	iommu_unmap(iommu, &device->driver.region);
	iova_allocator_cleanup(allocator);
	vfio_pci_device_cleanup(device);
	iommu_cleanup(iommu);
	return 0;
}
