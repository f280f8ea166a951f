// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-client: a small VFIO userspace client for the guest tests.
 *
 *   vfio-client info <bdf> group|cdev   print what the device reports, one "key=value" a line
 *   vfio-client edu  <bdf> group|cdev   TAP-style checks against QEMU's edu device
 *
 * "group" opens the device through its IOMMU group and a type1 container, "cdev" through
 * /dev/vfio/devices/vfioX bound to an iommufd IOAS. The "info" output is meant to be compared
 * between drivers (C vfio-pci and the Rust one); it contains nothing that differs between two
 * opens of the same device.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#define REGION_OFFSET(i) ((uint64_t)(i) << 40)

static int failures;

static void result(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", ok ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!ok)
		failures++;
}

static void die(const char *what)
{
	printf("not ok - %s: %s\n", what, strerror(errno));
	exit(1);
}

static int sysfs_link_name(const char *bdf, const char *link, char *out, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, link);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -1;
	target[n] = '\0';
	snprintf(out, len, "%s", basename(target));
	return 0;
}

/* Opens the device through its group, with a type1v2 container. */
static int open_group(const char *bdf)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char group[64], path[PATH_MAX];
	int container, gfd, dfd;

	if (sysfs_link_name(bdf, "iommu_group", group, sizeof(group)))
		die("iommu_group of the device");
	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		die("open /dev/vfio/vfio");
	if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		die("VFIO_GET_API_VERSION");
	if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0)
		die("VFIO_CHECK_EXTENSION type1v2");
	snprintf(path, sizeof(path), "/dev/vfio/%s", group);
	gfd = open(path, O_RDWR);
	if (gfd < 0)
		die("open the group");
	if (ioctl(gfd, VFIO_GROUP_GET_STATUS, &status))
		die("VFIO_GROUP_GET_STATUS");
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		errno = EBUSY;
		die("group viable");
	}
	if (ioctl(gfd, VFIO_GROUP_SET_CONTAINER, &container))
		die("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("VFIO_SET_IOMMU");
	dfd = ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (dfd < 0)
		die("VFIO_GROUP_GET_DEVICE_FD");
	return dfd;
}

/* Opens the device's cdev and attaches it to a fresh IOAS of a new iommufd. */
static int open_cdev(const char *bdf)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	char name[NAME_MAX + 1], path[PATH_MAX], dir[PATH_MAX];
	struct dirent *de;
	int iommufd, dfd;
	DIR *d;

	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	d = opendir(dir);
	if (!d)
		die("vfio-dev directory of the device");
	name[0] = '\0';
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "vfio", 4))
			snprintf(name, sizeof(name), "%s", de->d_name);
	closedir(d);
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", name);
	dfd = open(path, O_RDWR);
	if (dfd < 0)
		die("open the device cdev");
	iommufd = open("/dev/iommu", O_RDWR);
	if (iommufd < 0)
		die("open /dev/iommu");
	bind.iommufd = iommufd;
	if (ioctl(dfd, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		die("VFIO_DEVICE_BIND_IOMMUFD");
	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc))
		die("IOMMU_IOAS_ALLOC");
	attach.pt_id = alloc.out_ioas_id;
	if (ioctl(dfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		die("VFIO_DEVICE_ATTACH_IOMMUFD_PT");
	return dfd;
}

static int open_device(const char *bdf, const char *how)
{
	if (!strcmp(how, "group"))
		return open_group(bdf);
	if (!strcmp(how, "cdev"))
		return open_cdev(bdf);
	fprintf(stderr, "unknown open path %s\n", how);
	exit(2);
}

static int region_info(int dfd, uint32_t index, struct vfio_region_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->index = index;
	return ioctl(dfd, VFIO_DEVICE_GET_REGION_INFO, info) ? -errno : 0;
}

static int cmd_info(int dfd)
{
	struct vfio_device_info dev = { .argsz = sizeof(dev) };
	struct vfio_region_info info, cfg;
	uint32_t i, v;

	if (ioctl(dfd, VFIO_DEVICE_GET_INFO, &dev))
		die("VFIO_DEVICE_GET_INFO");
	printf("device.flags=0x%x\ndevice.num_regions=%u\ndevice.num_irqs=%u\n",
	       dev.flags, dev.num_regions, dev.num_irqs);
	for (i = 0; i < dev.num_regions + 1; i++) {
		int ret = region_info(dfd, i, &info);

		if (ret) {
			printf("region.%u.errno=%d\n", i, -ret);
			continue;
		}
		printf("region.%u.flags=0x%x\nregion.%u.size=0x%llx\nregion.%u.offset=0x%llx\n",
		       i, info.flags, i, (unsigned long long)info.size, i,
		       (unsigned long long)info.offset);
	}
	if (region_info(dfd, VFIO_PCI_CONFIG_REGION_INDEX, &cfg))
		die("config region info");
	for (i = 0; i + 4 <= cfg.size; i += 4) {
		if (pread(dfd, &v, 4, cfg.offset + i) != 4) {
			printf("config.0x%03x.errno=%d\n", i, errno);
			continue;
		}
		printf("config.0x%03x=0x%08x\n", i, v);
	}
	return 0;
}

/* QEMU's edu device: BAR0 holds an identification register and a liveness check. */
#define EDU_IDENT 0x00
#define EDU_LIVENESS 0x04

static int cmd_edu(int dfd)
{
	struct vfio_region_info bar0, info;
	uint32_t v, w;
	ssize_t n;

	result(!region_info(dfd, VFIO_PCI_BAR0_REGION_INDEX, &bar0), "BAR0 region info");
	result(bar0.size == 1 << 20, "BAR0 is 1 MiB (0x%llx)", (unsigned long long)bar0.size);

	n = pread(dfd, &v, 4, bar0.offset + EDU_IDENT);
	result(n == 4 && (v & 0xffff) == 0x00ed, "BAR0 identification register (0x%08x)", v);

	w = 0x12345678;
	n = pwrite(dfd, &w, 4, bar0.offset + EDU_LIVENESS);
	result(n == 4, "BAR0 liveness write");
	n = pread(dfd, &v, 4, bar0.offset + EDU_LIVENESS);
	result(n == 4 && v == ~w, "BAR0 liveness reads back the inverse (0x%08x)", v);

	/* Bad input gets the errno C vfio-pci gives, and the device keeps working. */
	result(region_info(dfd, 1000, &info) == -EINVAL, "region index out of range: EINVAL");
	memset(&info, 0, sizeof(info));
	info.argsz = 8;
	result(ioctl(dfd, VFIO_DEVICE_GET_REGION_INFO, &info) && errno == EINVAL,
	       "region info argsz too small: EINVAL");
	n = pread(dfd, &v, 4, bar0.offset + bar0.size);
	result(n < 0 && errno == EINVAL, "read past the end of BAR0: EINVAL");
	n = pread(dfd, &v, 4, REGION_OFFSET(VFIO_PCI_NUM_REGIONS + 7));
	result(n < 0 && errno == EINVAL, "read of a region that does not exist: EINVAL");
	n = pread(dfd, &v, 4, bar0.offset + EDU_IDENT);
	result(n == 4 && (v & 0xffff) == 0x00ed, "device still answers after bad input");
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	int dfd;

	if (argc != 4) {
		fprintf(stderr, "usage: %s info|edu <bdf> group|cdev\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	dfd = open_device(argv[2], argv[3]);
	if (!strcmp(argv[1], "info"))
		return cmd_info(dfd);
	if (!strcmp(argv[1], "edu"))
		return cmd_edu(dfd);
	fprintf(stderr, "unknown command %s\n", argv[1]);
	return 2;
}
