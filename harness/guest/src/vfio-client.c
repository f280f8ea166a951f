// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-client: a small VFIO userspace client for the guest tests.
 *
 *   vfio-client info    <bdf> group|cdev  print what the device shows, one "key=value" a line
 *   vfio-client regions <bdf> group|cdev  the device-specific regions: info, contents, writes
 *   vfio-client generic <bdf> group|cdev  TAP-style region and config-space checks, any device
 *   vfio-client edu     <bdf> group|cdev  the generic checks, then QEMU's edu device (1234:11e8)
 *   vfio-client hot-reset <bdf> group|cdev  VFIO_DEVICE_GET_PCI_HOT_RESET_INFO and
 *                       VFIO_DEVICE_PCI_HOT_RESET, good and bad requests: "key=value" lines
 *   vfio-client hot-reset-vf <pf-bdf> group|cdev  a hot reset of an igb PF and its first VF,
 *                       refused until the VF is open beside the PF: "key=value" lines
 *   vfio-client e1000-reg <bdf> group|cdev  an e1000 register that only a reset clears: at
 *                       open, then written: whether a reset cleared it since the last run
 *   vfio-client vga <bdf> group|cdev  the VGA region of a VGA function: "key=value" lines
 *   vfio-client aer <bdf> group|cdev  the error eventfd, with an AER error injected through
 *                       /dev/aer_inject: "key=value" lines
 *   vfio-client low-power <bdf> group|cdev  the low-power device features: "key=value" lines
 *   vfio-client msix-one-eventfd <bdf> group|cdev  MSI-X on two vectors that signal one eventfd
 *
 * "group" opens the device through its IOMMU group and a type1 container, "cdev" through
 * /dev/vfio/devices/vfioX bound to an iommufd IOAS.
 *
 * The "info" output is meant to be compared between drivers (C vfio-pci and the Rust one); it
 * contains nothing that differs between two opens of the same device. Its keys, by prefix:
 *   device.   VFIO_DEVICE_GET_INFO
 *   region.   VFIO_DEVICE_GET_REGION_INFO, one index past the last one too
 *   irq.      VFIO_DEVICE_GET_IRQ_INFO, one index past the last one too
 *   config.   the config space as the driver shows it: read in dwords (config.0xNNN), and the
 *             standard header read byte by byte (config.bytes.) and word by word
 *             (config.words.), both put together as dwords
 *   cap.      the capability chain as that config space shows it: cap.<offset>=<ID>
 *   ecap.     the extended capability chain from 0x100: ecap.<offset>=<header>
 *   sizing.   each BAR and the ROM BAR: 0xffffffff written through the config region, read
 *             back, the original value written back
 *   command.  the command register, after a write of memory enable alone, and restored
 * A region with capabilities also shows region.<index>.argsz= and one region.<index>.cap.<ID>.
 * key per capability. A value the driver refuses shows as "<key>.errno=<errno>"; a chain
 * that goes wrong ends with "cap.bad=<offset>" or "ecap.bad=<offset>".
 *
 * The checks print "ok - <name>: <what>" or "not ok - <name>: <what>". <name> is fixed for a
 * check, so a test can treat a list of them as pending; <what> may show values. Every errno
 * a check expects is the one C vfio-pci gives. Exit status: 1 if a check failed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/pci_regs.h>
#include <linux/types.h>
#include <linux/vfio.h>

#define REGION_OFFSET(i) ((__u64)(i) << 40)
#define PCI_CLASS_DISPLAY_VGA 0x0300
#define CFG VFIO_PCI_CONFIG_REGION_INDEX
#define ROM VFIO_PCI_ROM_REGION_INDEX
#define NUM_BARS (VFIO_PCI_BAR5_REGION_INDEX + 1)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int failures;
static long page_size;
/* The group file of a device opened through its group, -1 otherwise. */
static int group_fd = -1;
/* The container of a device opened through its group; the iommufd and IOAS of one opened
 * through its cdev: -1 otherwise. Another function can be opened into the same ones. */
static int container_fd = -1, iommufd_fd = -1;
static __u32 ioas_id;

static void result(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%s - %s: ", ok ? "ok" : "not ok", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!ok)
		failures++;
}

static void die(const char *what)
{
	printf("not ok - open: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* An errno for messages: "EINVAL", or the number. */
static const char *errname(long err)
{
	static char buf[4][32];
	static int next;
	const char *name;

	if (!err)
		return "ok";
	if (err < 0)
		err = -err;
	name = strerrorname_np(err);
	if (name)
		return name;
	next = (next + 1) % 4;
	snprintf(buf[next], sizeof(buf[next]), "%ld", err);
	return buf[next];
}

/* What a transfer returned, for messages: "4 bytes" or "EINVAL". */
static const char *got(long ret)
{
	static char buf[4][32];
	static int next;

	if (ret < 0)
		return errname(ret);
	next = (next + 1) % 4;
	snprintf(buf[next], sizeof(buf[next]), "%ld bytes", ret);
	return buf[next];
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

static long sysfs_number(const char *bdf, const char *attr)
{
	char path[PATH_MAX], buf[32];
	long val = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, attr);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f))
		val = strtol(buf, NULL, 0);
	fclose(f);
	return val;
}

/* The first line of a sysfs attribute of the device, without its newline; "" if unreadable. */
static int sysfs_string(const char *bdf, const char *attr, char *out, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, attr);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(out, len, f))
		out[0] = '\0';
	fclose(f);
	out[strcspn(out, "\n")] = '\0';
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
	group_fd = gfd;
	if (ioctl(gfd, VFIO_GROUP_SET_CONTAINER, &container))
		die("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("VFIO_SET_IOMMU");
	container_fd = container;
	dfd = ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (dfd < 0)
		die("VFIO_GROUP_GET_DEVICE_FD");
	return dfd;
}

/* The path of the function's VFIO device file, /dev/vfio/devices/vfioX: 0, or -ENOENT. */
static int cdev_path(const char *bdf, char *path, size_t len)
{
	char name[NAME_MAX + 1], dir[PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	d = opendir(dir);
	if (!d)
		return -ENOENT;
	name[0] = '\0';
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "vfio", 4))
			snprintf(name, sizeof(name), "%s", de->d_name);
	closedir(d);
	snprintf(path, len, "/dev/vfio/devices/%s", name);
	return 0;
}

/* Opens the device's cdev and attaches it to a fresh IOAS of a new iommufd. */
static int open_cdev(const char *bdf)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	char path[PATH_MAX];
	int iommufd, dfd;

	if (cdev_path(bdf, path, sizeof(path)))
		die("vfio-dev directory of the device");
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
	iommufd_fd = iommufd;
	ioas_id = alloc.out_ioas_id;
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

/*
 * A capability chain as a config space shows it: each capability's offset, and its ID (a
 * standard capability) or its header (an extended one). Walking stops at a zero next pointer,
 * or at the first offset that is out of range, unaligned or one too many (a loop): bad.
 */
#define MAX_CAPS 48
#define MAX_ECAPS ((PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) / PCI_CAP_SIZEOF)

struct chain {
	unsigned int n;
	int bad;		/* the offset where the chain went wrong, or -1 */
	struct {
		unsigned int pos;
		__u32 val;
	} cap[MAX_ECAPS];
};

/* The device as the checks see it: what it reported when opened. */
struct dev {
	const char *bdf;
	int fd;
	int info_ret;
	struct vfio_device_info info;
	int region_ret[VFIO_PCI_NUM_REGIONS];
	struct vfio_region_info region[VFIO_PCI_NUM_REGIONS];
	/* The config space read in dwords; cfg_ret[i] is that of the dword at 4 * i. */
	__u8 cfg[PCI_CFG_SPACE_EXP_SIZE];
	long cfg_ret[PCI_CFG_SPACE_EXP_SIZE / 4];
	unsigned int cfg_size;
	/* The capability chains in cfg, and the MSI-X table's BAR (or -1), offset and size. */
	struct chain caps, ecaps;
	int msix_bar;
	__u64 msix_offset, msix_size;
};

static int region_info(int fd, __u32 index, struct vfio_region_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->index = index;
	return ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, info) ? -errno : 0;
}

/* A region's offset in the device fd; the standard one if the driver did not say. */
static __u64 region_offset(struct dev *d, unsigned int index)
{
	if (index >= VFIO_PCI_NUM_REGIONS || d->region_ret[index])
		return REGION_OFFSET(index);
	return d->region[index].offset;
}

static __u64 region_size(struct dev *d, unsigned int index)
{
	if (index >= VFIO_PCI_NUM_REGIONS || d->region_ret[index])
		return 0;
	return d->region[index].size;
}

/* pread() or pwrite(): the count, or -errno. */
static long xfer(int fd, bool write, void *buf, size_t len, __u64 off)
{
	ssize_t n = write ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);

	return n < 0 ? -errno : n;
}

static long region_rw(struct dev *d, bool write, unsigned int index, __u64 pos,
		      void *buf, size_t len)
{
	return xfer(d->fd, write, buf, len, region_offset(d, index) + pos);
}

/* One config register of 1, 2 or 4 bytes, little-endian: the count, or -errno. */
static long cfg_read(struct dev *d, unsigned int pos, unsigned int len, __u32 *val)
{
	__u32 v = 0;
	long n = region_rw(d, false, CFG, pos, &v, len);

	*val = le32toh(v);
	return n;
}

static long cfg_write(struct dev *d, unsigned int pos, unsigned int len, __u32 val)
{
	__u32 v = htole32(val);

	return region_rw(d, true, CFG, pos, &v, len);
}

/* The dword at pos read in accesses of width bytes: 4, or the first -errno or short count. */
static long cfg_read_by(struct dev *d, unsigned int pos, unsigned int width, __u32 *val)
{
	unsigned int i;
	__u32 part;
	long n;

	*val = 0;
	for (i = 0; i < 4; i += width) {
		n = cfg_read(d, pos + i, width, &part);
		if (n != width)
			return n < 0 ? n : (long)i + n;
		*val |= part << (8 * i);
	}
	return 4;
}

static __u32 cfg_dword(struct dev *d, unsigned int pos)
{
	__u32 v;

	memcpy(&v, &d->cfg[pos], 4);
	return le32toh(v);
}

/* All dwords of the config space read. */
static bool cfg_loaded(struct dev *d)
{
	unsigned int i;

	if (!d->cfg_size)
		return false;
	for (i = 0; i + 4 <= d->cfg_size; i += 4)
		if (d->cfg_ret[i / 4] != 4)
			return false;
	return true;
}

static __u32 img_dword(const __u8 *cfg, unsigned int pos)
{
	__u32 v;

	memcpy(&v, &cfg[pos], 4);
	return le32toh(v);
}

static void walk_caps(const __u8 *cfg, struct chain *c)
{
	unsigned int pos;

	c->n = 0;
	c->bad = -1;
	if (!(img_dword(cfg, PCI_COMMAND) >> 16 & PCI_STATUS_CAP_LIST))
		return;
	for (pos = cfg[PCI_CAPABILITY_LIST]; pos; pos = cfg[pos + PCI_CAP_LIST_NEXT]) {
		if (pos < PCI_STD_HEADER_SIZEOF || pos % 4 || c->n == MAX_CAPS) {
			c->bad = pos;
			return;
		}
		c->cap[c->n].pos = pos;
		c->cap[c->n++].val = cfg[pos + PCI_CAP_LIST_ID];
	}
}

static void walk_ecaps(const __u8 *cfg, unsigned int size, struct chain *c)
{
	unsigned int pos;
	__u32 header;

	c->n = 0;
	c->bad = -1;
	if (size <= PCI_CFG_SPACE_SIZE)
		return;
	for (pos = PCI_CFG_SPACE_SIZE; pos; pos = PCI_EXT_CAP_NEXT(header)) {
		if (pos < PCI_CFG_SPACE_SIZE || pos + 4 > size || c->n == MAX_ECAPS) {
			c->bad = pos;
			return;
		}
		header = img_dword(cfg, pos);
		c->cap[c->n].pos = pos;
		c->cap[c->n++].val = header;
	}
}

/* The offset of the first capability with this ID in a chain, or 0. */
static unsigned int chain_find(struct chain *c, bool ext, unsigned int id)
{
	unsigned int i;

	for (i = 0; i < c->n; i++)
		if ((ext ? PCI_EXT_CAP_ID(c->cap[i].val) : c->cap[i].val) == id)
			return c->cap[i].pos;
	return 0;
}

/* A chain for messages: "0x40:0x01 0x50:0x05", in buf. */
static const char *chain_str(struct chain *c, bool ext, char *buf, size_t len)
{
	size_t used = 0;
	unsigned int i, id;

	buf[0] = '\0';
	for (i = 0; i < c->n && used < len; i++) {
		id = ext ? PCI_EXT_CAP_ID(c->cap[i].val) : c->cap[i].val;
		used += snprintf(buf + used, len - used, "%s0x%x:0x%x", i ? " " : "",
				 c->cap[i].pos, id);
	}
	if (c->bad >= 0 && used < len)
		snprintf(buf + used, len - used, "%sbad at 0x%x", c->n ? " " : "", c->bad);
	else if (!c->n)
		snprintf(buf, len, "none");
	return buf;
}

static void dev_open(struct dev *d, const char *bdf, const char *how)
{
	unsigned int i, msix;
	__u32 table;

	memset(d, 0, sizeof(*d));
	d->bdf = bdf;
	d->fd = open_device(bdf, how);
	d->info.argsz = sizeof(d->info);
	d->info_ret = ioctl(d->fd, VFIO_DEVICE_GET_INFO, &d->info) ? -errno : 0;
	for (i = 0; i < VFIO_PCI_NUM_REGIONS; i++)
		d->region_ret[i] = region_info(d->fd, i, &d->region[i]);
	d->cfg_size = region_size(d, CFG);
	if (d->cfg_size > sizeof(d->cfg))
		d->cfg_size = sizeof(d->cfg);
	for (i = 0; i + 4 <= d->cfg_size; i += 4)
		d->cfg_ret[i / 4] = region_rw(d, false, CFG, i, &d->cfg[i], 4);
	d->msix_bar = -1;
	if (!cfg_loaded(d))
		return;
	walk_caps(d->cfg, &d->caps);
	walk_ecaps(d->cfg, d->cfg_size, &d->ecaps);
	msix = chain_find(&d->caps, false, PCI_CAP_ID_MSIX);
	if (msix) {
		table = cfg_dword(d, msix + PCI_MSIX_TABLE);
		d->msix_bar = table & PCI_MSIX_TABLE_BIR;
		d->msix_offset = table & PCI_MSIX_TABLE_OFFSET;
		d->msix_size = ((cfg_dword(d, msix) >> 16 & PCI_MSIX_FLAGS_QSIZE) + 1) * 16;
	}
}

/*
 * A register probed through the config region: the original value read, a value written and
 * what reads back, the original written back and what reads back then.
 */
struct probe {
	long ret;		/* the last transfer: the count or -errno */
	const char *step;	/* the step that failed, or NULL */
	__u32 orig, probed, restored;
};

static void probe_reg(struct dev *d, unsigned int pos, unsigned int len, __u32 val,
		      struct probe *p)
{
	memset(p, 0, sizeof(*p));
	p->step = "orig";
	p->ret = cfg_read(d, pos, len, &p->orig);
	if (p->ret != len)
		return;
	p->step = "write";
	p->ret = cfg_write(d, pos, len, val);
	if (p->ret != len)
		return;
	p->step = "probed";
	p->ret = cfg_read(d, pos, len, &p->probed);
	if (p->ret != len)
		return;
	p->step = "restore";
	p->ret = cfg_write(d, pos, len, p->orig);
	if (p->ret != len)
		return;
	p->step = "restored";
	p->ret = cfg_read(d, pos, len, &p->restored);
	if (p->ret != len)
		return;
	p->step = NULL;
}

static void print_probe(const char *key, const char *probed, struct probe *p)
{
	const char *what = p->ret < 0 ? "errno" : "count";
	long num = p->ret < 0 ? -p->ret : p->ret;

	if (p->step && !strcmp(p->step, "orig")) {
		printf("%s.orig.%s=%ld\n", key, what, num);
		return;
	}
	printf("%s.orig=0x%08x\n", key, p->orig);
	if (p->step && !strcmp(p->step, "write")) {
		printf("%s.write.%s=%ld\n", key, what, num);
		return;
	}
	if (p->step && !strcmp(p->step, "probed")) {
		printf("%s.%s.%s=%ld\n", key, probed, what, num);
		return;
	}
	printf("%s.%s=0x%08x\n", key, probed, p->probed);
	if (p->step)
		printf("%s.%s.%s=%ld\n", key, p->step, what, num);
	else
		printf("%s.restored=0x%08x\n", key, p->restored);
}

static void print_value(const char *key, long ret, long want, __u32 val)
{
	if (ret == want)
		printf("%s=0x%08x\n", key, val);
	else
		printf("%s.%s=%ld\n", key, ret < 0 ? "errno" : "count", ret < 0 ? -ret : ret);
}

/* The capabilities of a region whose info has the CAPS flag: region.<index>.cap.<ID>=. */
static void print_region_caps(struct dev *d, unsigned int index, __u32 argsz)
{
	struct vfio_region_info_cap_sparse_mmap *sparse;
	struct vfio_region_info_cap_type *type;
	struct vfio_info_cap_header *h;
	struct vfio_region_info *info;
	unsigned int n, i;
	__u32 pos, end;

	printf("region.%u.argsz=%u\n", index, argsz);
	if (argsz <= sizeof(*info) || argsz > 65536)
		return;
	info = calloc(1, argsz);
	if (!info)
		die("calloc");
	info->argsz = argsz;
	info->index = index;
	if (ioctl(d->fd, VFIO_DEVICE_GET_REGION_INFO, info)) {
		printf("region.%u.caps.errno=%d\n", index, errno);
		free(info);
		return;
	}
	for (pos = info->cap_offset, n = 0; pos && n < 16; pos = h->next, n++) {
		if (pos < sizeof(*info) || pos + sizeof(*h) > argsz) {
			printf("region.%u.cap.bad=%u\n", index, pos);
			break;
		}
		h = (void *)info + pos;
		printf("region.%u.cap.%u.version=%u\n", index, h->id, h->version);
		if (h->id == VFIO_REGION_INFO_CAP_TYPE && pos + sizeof(*type) <= argsz) {
			type = (void *)h;
			printf("region.%u.cap.%u.type=0x%x\nregion.%u.cap.%u.subtype=0x%x\n",
			       index, h->id, type->type, index, h->id, type->subtype);
		}
		if (h->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP && pos + sizeof(*sparse) <= argsz) {
			sparse = (void *)h;
			printf("region.%u.cap.%u.nr_areas=%u\n", index, h->id, sparse->nr_areas);
			end = pos + sizeof(*sparse);
			for (i = 0; i < sparse->nr_areas && i < 16 &&
			     end + (i + 1) * sizeof(sparse->areas[0]) <= argsz; i++)
				printf("region.%u.cap.%u.area%u=0x%llx+0x%llx\n", index, h->id, i,
				       (unsigned long long)sparse->areas[i].offset,
				       (unsigned long long)sparse->areas[i].size);
		}
	}
	free(info);
}

static void print_chain(const char *prefix, struct chain *c, bool ext)
{
	unsigned int i;

	for (i = 0; i < c->n; i++)
		printf(ext ? "%s.0x%03x=0x%08x\n" : "%s.0x%03x=0x%02x\n", prefix, c->cap[i].pos,
		       c->cap[i].val);
	if (c->bad >= 0)
		printf("%s.bad=0x%03x\n", prefix, c->bad);
}

static int cmd_info(struct dev *d)
{
	struct vfio_region_info info;
	struct probe p;
	char key[64];
	unsigned int i, n;
	__u32 v;
	long ret;

	if (d->info_ret) {
		printf("device.errno=%d\n", -d->info_ret);
		n = VFIO_PCI_NUM_REGIONS;
	} else {
		printf("device.flags=0x%x\ndevice.num_regions=%u\ndevice.num_irqs=%u\n",
		       d->info.flags, d->info.num_regions, d->info.num_irqs);
		n = d->info.num_regions;
	}
	for (i = 0; i < n + 1; i++) {
		ret = region_info(d->fd, i, &info);
		if (ret) {
			printf("region.%u.errno=%ld\n", i, -ret);
			continue;
		}
		printf("region.%u.flags=0x%x\nregion.%u.size=0x%llx\nregion.%u.offset=0x%llx\n",
		       i, info.flags, i, (unsigned long long)info.size, i,
		       (unsigned long long)info.offset);
		if (info.flags & VFIO_REGION_INFO_FLAG_CAPS)
			print_region_caps(d, i, info.argsz);
	}
	for (i = 0; i < VFIO_PCI_NUM_IRQS + 1; i++) {
		struct vfio_irq_info irq = { .argsz = sizeof(irq), .index = i };

		if (ioctl(d->fd, VFIO_DEVICE_GET_IRQ_INFO, &irq)) {
			printf("irq.%u.errno=%d\n", i, errno);
			continue;
		}
		printf("irq.%u.flags=0x%x\nirq.%u.count=%u\n", i, irq.flags, i, irq.count);
	}

	for (i = 0; i + 4 <= d->cfg_size; i += 4) {
		snprintf(key, sizeof(key), "config.0x%03x", i);
		print_value(key, d->cfg_ret[i / 4], 4, cfg_dword(d, i));
	}
	for (i = 0; i < PCI_STD_HEADER_SIZEOF && i < d->cfg_size; i += 4) {
		snprintf(key, sizeof(key), "config.bytes.0x%03x", i);
		ret = cfg_read_by(d, i, 1, &v);
		print_value(key, ret, 4, v);
	}
	for (i = 0; i < PCI_STD_HEADER_SIZEOF && i < d->cfg_size; i += 4) {
		snprintf(key, sizeof(key), "config.words.0x%03x", i);
		ret = cfg_read_by(d, i, 2, &v);
		print_value(key, ret, 4, v);
	}

	if (cfg_loaded(d)) {
		print_chain("cap", &d->caps, false);
		print_chain("ecap", &d->ecaps, true);
	}

	for (i = 0; i < NUM_BARS; i++) {
		snprintf(key, sizeof(key), "sizing.bar%u", i);
		probe_reg(d, PCI_BASE_ADDRESS_0 + 4 * i, 4, 0xffffffff, &p);
		print_probe(key, "sized", &p);
	}
	probe_reg(d, PCI_ROM_ADDRESS, 4, 0xffffffff, &p);
	print_probe("sizing.rom", "sized", &p);

	probe_reg(d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY, &p);
	print_probe("command", "mem_enable", &p);
	return 0;
}

/* Memory-mapped access that survives SIGBUS: 0, or 1 if the access faulted. */
static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(bus_jmp, 1);
}

static int mmio(__u32 *p, __u32 *val, bool write)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	int faulted;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old);
	faulted = sigsetjmp(bus_jmp, 1);
	if (!faulted) {
		if (write)
			__atomic_store_n(p, *val, __ATOMIC_RELAXED);
		else
			*val = __atomic_load_n(p, __ATOMIC_RELAXED);
	}
	sigaction(SIGBUS, &old, NULL);
	return faulted;
}

/* mmap() of a device region: the mapping, or NULL with errno set. */
static void *map(struct dev *d, unsigned int index, __u64 pos, size_t len, int flags)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, d->fd,
		       region_offset(d, index) + pos);

	return m == MAP_FAILED ? NULL : m;
}

static bool bar_present(struct dev *d, unsigned int bar)
{
	return region_size(d, bar) != 0;
}

static bool bar_is_io(struct dev *d, unsigned int bar)
{
	return cfg_dword(d, PCI_BASE_ADDRESS_0 + 4 * bar) & PCI_BASE_ADDRESS_SPACE_IO;
}

static bool bar_mmappable(struct dev *d, unsigned int bar)
{
	return !d->region_ret[bar] && (d->region[bar].flags & VFIO_REGION_INFO_FLAG_MMAP);
}

/*
 * An offset in a BAR outside the MSI-X table, whose reads C vfio-pci fills with 0xff and whose
 * writes it drops: 0, or the end of the table if it starts at 0.
 */
static __u64 bar_plain_offset(struct dev *d, unsigned int bar)
{
	if ((int)bar == d->msix_bar && !d->msix_offset)
		return d->msix_size;
	return 0;
}

/* The first memory BAR, or -1. */
static int first_mem_bar(struct dev *d)
{
	unsigned int i;

	for (i = 0; i < NUM_BARS; i++)
		if (bar_present(d, i) && !bar_is_io(d, i))
			return i;
	return -1;
}

static void check_device_info(struct dev *d)
{
	struct vfio_device_info small = { .argsz = offsetof(struct vfio_device_info, num_irqs) };
	struct {
		struct vfio_region_info info;
		__u8 room[64];
	} big = { .info = { .argsz = sizeof(big), .index = CFG } };
	struct vfio_region_info info;
	unsigned int i, bad = 0;
	long ret;
	__u32 class;

	result(!d->info_ret && (d->info.flags & VFIO_DEVICE_FLAGS_PCI) &&
	       d->info.num_regions >= VFIO_PCI_NUM_REGIONS &&
	       d->info.num_irqs == VFIO_PCI_NUM_IRQS,
	       "device-info", "VFIO_DEVICE_GET_INFO: a PCI device, %u regions, %u irqs (%s)",
	       d->info.num_regions, d->info.num_irqs, errname(d->info_ret));
	ret = ioctl(d->fd, VFIO_DEVICE_GET_INFO, &small) ? -errno : 0;
	result(ret == -EINVAL, "device-info-argsz",
	       "VFIO_DEVICE_GET_INFO argsz %u, too small: EINVAL (%s)", small.argsz, errname(ret));

	for (i = 0; i < VFIO_PCI_VGA_REGION_INDEX; i++)
		if (d->region_ret[i] || d->region[i].offset != REGION_OFFSET(i) ||
		    d->region[i].index != i)
			bad |= 1 << i;
	result(!bad, "region-info", "region info of indexes 0-7, each at index << 40 (bad: 0x%x)",
	       bad);

	class = cfg_dword(d, PCI_CLASS_REVISION) >> 16;
	if (cfg_loaded(d) && class != PCI_CLASS_DISPLAY_VGA) {
		ret = d->region_ret[VFIO_PCI_VGA_REGION_INDEX];
		result(ret == -EINVAL, "region-info-vga",
		       "VGA region info of a device that is not VGA: EINVAL (%s)", errname(ret));
	}

	i = d->info_ret ? VFIO_PCI_NUM_REGIONS : d->info.num_regions;
	ret = region_info(d->fd, i, &info);
	result(ret == -EINVAL, "region-info-range",
	       "region info index %u (num_regions): EINVAL (%s)", i, errname(ret));
	ret = region_info(d->fd, 0xffffffff, &info);
	result(ret == -EINVAL, "region-info-range-max",
	       "region info index 0xffffffff: EINVAL (%s)", errname(ret));

	memset(&info, 0, sizeof(info));
	info.argsz = offsetof(struct vfio_region_info, offset) + sizeof(info.offset) - 1;
	info.index = CFG;
	ret = ioctl(d->fd, VFIO_DEVICE_GET_REGION_INFO, &info) ? -errno : 0;
	result(ret == -EINVAL, "region-info-argsz",
	       "region info argsz %u, too small: EINVAL (%s)", info.argsz, errname(ret));

	ret = ioctl(d->fd, VFIO_DEVICE_GET_REGION_INFO, &big) ? -errno : 0;
	result(!ret && !d->region_ret[CFG] && big.info.size == d->region[CFG].size &&
	       big.info.offset == d->region[CFG].offset && big.info.flags == d->region[CFG].flags,
	       "region-info-argsz-large", "config region info with argsz %zu: the same answer (%s)",
	       sizeof(big), errname(ret));
}

static void check_config(struct dev *d)
{
	__u32 v, w, flags = d->region[CFG].flags;
	__u64 end = d->cfg_size;
	unsigned int i, width;
	__u8 buf[8];
	long vendor, device, ret;
	void *m;

	result(!d->region_ret[CFG] && (end == PCI_CFG_SPACE_SIZE ||
				       end == PCI_CFG_SPACE_EXP_SIZE) &&
	       flags == (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE),
	       "config-region", "config region: 256 or 4096 bytes, read and write (0x%llx, 0x%x)",
	       (unsigned long long)end, flags);
	result(cfg_loaded(d), "config-read", "every dword of the config space reads (%s at 0)",
	       got(d->cfg_ret[0]));
	if (!cfg_loaded(d))
		return;
	vendor = sysfs_number(d->bdf, "vendor");
	device = sysfs_number(d->bdf, "device");
	result(cfg_dword(d, 0) == (__u32)(vendor | device << 16), "config-ids",
	       "vendor and device ID as in sysfs (0x%08x)", cfg_dword(d, 0));

	for (width = 1; width <= 2; width *= 2) {
		long bad = -1;

		for (i = 0; i + 4 <= end && bad < 0; i += 4) {
			ret = cfg_read_by(d, i, width, &v);
			if (ret != 4 || v != cfg_dword(d, i))
				bad = i;
		}
		result(bad < 0, width == 1 ? "config-bytes" : "config-words",
		       "the config space read %s agrees with the dword view (first bad: %ld)",
		       width == 1 ? "byte by byte" : "word by word", bad);
	}

	ret = region_rw(d, false, CFG, 0, buf, 8);
	result(ret == 8 && !memcmp(buf, d->cfg, 8), "config-qword",
	       "8-byte read at 0: both dwords (%s)", got(ret));
	ret = region_rw(d, false, CFG, 1, buf, 4);
	result(ret == 4 && !memcmp(buf, d->cfg + 1, 4), "config-unaligned",
	       "4-byte read at 1 (%s)", got(ret));
	ret = region_rw(d, false, CFG, 9, buf, 7);
	result(ret == 7 && !memcmp(buf, d->cfg + 9, 7), "config-unaligned-long",
	       "7-byte read at 9 (%s)", got(ret));

	ret = region_rw(d, false, CFG, end, buf, 4);
	result(ret == -EFAULT, "config-read-past-end", "read at the end of config: EFAULT (%s)",
	       got(ret));
	ret = region_rw(d, false, CFG, end - 2, buf, 4);
	result(ret == -EFAULT, "config-read-straddle-end",
	       "4-byte read 2 bytes before the end of config: EFAULT (%s)", got(ret));
	v = 0;
	ret = region_rw(d, true, CFG, end, &v, 4);
	result(ret == -EFAULT, "config-write-past-end", "write at the end of config: EFAULT (%s)",
	       got(ret));

	/* Vendor and device ID are read-only: the write is taken and dropped. */
	ret = cfg_write(d, PCI_VENDOR_ID, 4, ~cfg_dword(d, 0));
	w = 0;
	cfg_read(d, PCI_VENDOR_ID, 4, &w);
	result(ret == 4 && w == cfg_dword(d, 0), "config-write-ids",
	       "write to vendor and device ID: taken, no effect (%s, 0x%08x)", got(ret), w);

	m = map(d, CFG, 0, page_size, MAP_SHARED);
	ret = m ? 0 : -errno;
	result(!m && ret == -EINVAL, "config-mmap", "mmap of the config region: EINVAL (%s)",
	       errname(ret));
	if (m)
		munmap(m, page_size);
}

/* What C vfio-pci's virtual BAR reads after 0xffffffff was written to it. */
static __u32 bar_sized(struct dev *d, unsigned int bar, bool *upper)
{
	__u32 orig = cfg_dword(d, PCI_BASE_ADDRESS_0 + 4 * bar);
	__u64 mask;

	if (*upper) {
		*upper = false;
		return ~(region_size(d, bar - 1) - 1) >> 32;
	}
	if (!bar_present(d, bar))
		return 0;
	mask = ~(region_size(d, bar) - 1);
	if (orig & PCI_BASE_ADDRESS_SPACE_IO)
		return (__u32)mask | (orig & ~PCI_BASE_ADDRESS_IO_MASK);
	*upper = orig & PCI_BASE_ADDRESS_MEM_TYPE_64;
	return (__u32)mask | (orig & ~PCI_BASE_ADDRESS_MEM_MASK);
}

static void check_sizing(struct dev *d)
{
	unsigned int i, bad = 0;
	bool upper = false;
	struct probe p;
	__u32 want;

	if (!cfg_loaded(d))
		return;
	for (i = 0; i < NUM_BARS; i++) {
		want = bar_sized(d, i, &upper);
		probe_reg(d, PCI_BASE_ADDRESS_0 + 4 * i, 4, 0xffffffff, &p);
		if (p.step || p.probed != want || p.restored != p.orig ||
		    p.orig != cfg_dword(d, PCI_BASE_ADDRESS_0 + 4 * i)) {
			printf("# BAR%u: want 0x%08x, orig 0x%08x, sized 0x%08x, restored 0x%08x",
			       i, want, p.orig, p.probed, p.restored);
			printf(", %s %s\n", p.step ?: "done", got(p.ret));
			bad |= 1 << i;
		}
	}
	result(!bad, "bar-sizing",
	       "each BAR reads its size mask after 0xffffffff is written, then its value again (bad: 0x%x)",
	       bad);

	want = region_size(d, ROM) ? ~(region_size(d, ROM) - 1) | PCI_ROM_ADDRESS_ENABLE : 0;
	probe_reg(d, PCI_ROM_ADDRESS, 4, 0xffffffff, &p);
	result(!p.step && p.probed == want && p.restored == p.orig, "rom-sizing",
	       "ROM BAR reads 0x%08x after 0xffffffff is written, then its value again (0x%08x, 0x%08x, %s)",
	       want, p.probed, p.restored, p.step ?: "ok");
}

static void check_bars(struct dev *d)
{
	unsigned int i, bad_read = 0, bad_end = 0, bad_straddle = 0, bad_wend = 0, bad_unused = 0;
	__u8 buf[8] = { 0 };
	__u64 size;
	long ret;
	void *m;

	for (i = 0; i < NUM_BARS; i++) {
		size = region_size(d, i);
		if (!size) {
			if (region_rw(d, false, i, 0, buf, 4) != -EINVAL ||
			    region_rw(d, true, i, 0, buf, 4) != -EINVAL)
				bad_unused |= 1 << i;
			m = map(d, i, 0, page_size, MAP_SHARED);
			if (m || errno != EINVAL)
				bad_unused |= 1 << i;
			if (m)
				munmap(m, page_size);
			continue;
		}
		ret = region_rw(d, false, i, 0, buf, 4);
		if (ret != 4) {
			printf("# BAR%u read at 0: %s\n", i, got(ret));
			bad_read |= 1 << i;
		}
		ret = region_rw(d, false, i, size, buf, 4);
		if (ret != -EINVAL) {
			printf("# BAR%u read at its size: %s\n", i, got(ret));
			bad_end |= 1 << i;
		}
		ret = region_rw(d, false, i, size - 2, buf, 4);
		if (ret != 2) {
			printf("# BAR%u 4-byte read 2 bytes before its end: %s\n", i, got(ret));
			bad_straddle |= 1 << i;
		}
		ret = region_rw(d, true, i, size, buf, 4);
		if (ret != -EINVAL) {
			printf("# BAR%u write at its size: %s\n", i, got(ret));
			bad_wend |= 1 << i;
		}
	}
	result(!bad_read, "bar-read", "4-byte read at 0 of each BAR (bad: 0x%x)", bad_read);
	result(!bad_end, "bar-read-past-end", "read at the size of each BAR: EINVAL (bad: 0x%x)",
	       bad_end);
	result(!bad_straddle, "bar-read-straddle-end",
	       "4-byte read 2 bytes before the end of each BAR: 2 bytes (bad: 0x%x)", bad_straddle);
	result(!bad_wend, "bar-write-past-end", "write at the size of each BAR: EINVAL (bad: 0x%x)",
	       bad_wend);
	result(!bad_unused, "bar-unused",
	       "read, write and mmap of each BAR the device does not have: EINVAL (bad: 0x%x)",
	       bad_unused);

	ret = region_rw(d, false, ROM, 0, buf, 4);
	if (region_size(d, ROM))
		result(ret == 4, "rom-read", "read of the ROM (%s)", got(ret));
	else
		result(ret == -EINVAL, "rom-read",
		       "read of a ROM the device does not have: EINVAL (%s)", got(ret));
	memset(buf, 0, sizeof(buf));
	ret = region_rw(d, true, ROM, 0, buf, 4);
	result(ret == -EINVAL, "rom-write", "write to the ROM region: EINVAL (%s)", got(ret));
	m = map(d, ROM, 0, page_size, MAP_SHARED);
	ret = m ? 0 : -errno;
	result(!m && ret == -EINVAL, "rom-mmap", "mmap of the ROM region: EINVAL (%s)",
	       errname(ret));
	if (m)
		munmap(m, page_size);

	if (cfg_loaded(d) && (cfg_dword(d, PCI_CLASS_REVISION) >> 16) != PCI_CLASS_DISPLAY_VGA) {
		ret = region_rw(d, false, VFIO_PCI_VGA_REGION_INDEX, 0x3c0, buf, 1);
		result(ret == -EINVAL, "vga-read",
		       "read of the VGA region of a device that is not VGA: EINVAL (%s)", got(ret));
	}
	i = d->info_ret ? VFIO_PCI_NUM_REGIONS : d->info.num_regions;
	ret = region_rw(d, false, i, 0, buf, 4);
	result(ret == -EINVAL, "region-missing-read",
	       "read of region %u (num_regions): EINVAL (%s)", i, got(ret));
	ret = region_rw(d, true, i, 0, buf, 4);
	result(ret == -EINVAL, "region-missing-write", "write to region %u: EINVAL (%s)", i,
	       got(ret));
	m = map(d, i, 0, page_size, MAP_SHARED);
	ret = m ? 0 : -errno;
	result(!m && ret == -EINVAL, "region-missing-mmap", "mmap of region %u: EINVAL (%s)", i,
	       errname(ret));
	if (m)
		munmap(m, page_size);
}

static void check_mmap(struct dev *d)
{
	unsigned int i, bad_map = 0, bad_io = 0, bad_beyond = 0, bad_private = 0, bad_part = 0;
	__u32 v = 0, w = 0;
	__u64 size, off;
	void *m;

	for (i = 0; i < NUM_BARS; i++) {
		size = region_size(d, i);
		if (!size)
			continue;
		if (!bar_mmappable(d, i)) {
			m = map(d, i, 0, page_size, MAP_SHARED);
			if (m || errno != EINVAL) {
				printf("# BAR%u without MMAP: mmap %s\n", i, m ? "succeeded" :
				       errname(errno));
				bad_io |= 1 << i;
			}
			if (m)
				munmap(m, page_size);
			continue;
		}
		m = map(d, i, 0, size, MAP_SHARED);
		off = bar_plain_offset(d, i);
		if (!m) {
			printf("# BAR%u mmap: %s\n", i, errname(errno));
			bad_map |= 1 << i;
		} else {
			if (region_rw(d, false, i, off, &v, 4) != 4 || mmio(m + off, &w, false) ||
			    v != w) {
				printf("# BAR%u at 0x%llx: 0x%08x by pread, 0x%08x mapped\n",
				       i, (unsigned long long)off, v, w);
				bad_map |= 1 << i;
			}
			munmap(m, size);
		}
		m = map(d, i, 0, size + page_size, MAP_SHARED);
		if (m || errno != EINVAL)
			bad_beyond |= 1 << i;
		if (m)
			munmap(m, size + page_size);
		m = map(d, i, (size + page_size - 1) & ~(page_size - 1), page_size, MAP_SHARED);
		if (m || errno != EINVAL)
			bad_beyond |= 1 << i;
		if (m)
			munmap(m, page_size);
		m = map(d, i, 0, page_size, MAP_PRIVATE);
		if (m || errno != EINVAL)
			bad_private |= 1 << i;
		if (m)
			munmap(m, page_size);
		if (size >= 2 * (__u64)page_size) {
			m = map(d, i, page_size, page_size, MAP_SHARED);
			if (!m)
				bad_part |= 1 << i;
			else
				munmap(m, page_size);
		}
	}
	result(!bad_map, "bar-mmap",
	       "mmap of each BAR with the MMAP flag; its first dword outside the MSI-X table reads as through pread (bad: 0x%x)",
	       bad_map);
	result(!bad_io, "bar-mmap-not-mmappable",
	       "mmap of each BAR without the MMAP flag (as I/O BARs): EINVAL (bad: 0x%x)", bad_io);
	result(!bad_beyond, "bar-mmap-beyond",
	       "mmap a page longer than a BAR, or starting at its end: EINVAL (bad: 0x%x)",
	       bad_beyond);
	result(!bad_private, "bar-mmap-private", "MAP_PRIVATE mmap of a BAR: EINVAL (bad: 0x%x)",
	       bad_private);
	result(!bad_part, "bar-mmap-offset",
	       "mmap of the second page of each BAR of two pages or more (bad: 0x%x)", bad_part);
}

/*
 * With memory decode off in the command register, C vfio-pci refuses BAR access by read and
 * write with EIO and zaps the BAR's mappings, whose next access gets SIGBUS.
 */
static void check_memory_enable(struct dev *d)
{
	int bar = first_mem_bar(d);
	__u32 cmd = 0, v = 0, w = 0, *p;
	__u64 size, off;
	long ret;
	void *m = NULL;

	if (bar < 0 || !cfg_loaded(d))
		return;
	size = region_size(d, bar);
	off = bar_plain_offset(d, bar);
	cfg_read(d, PCI_COMMAND, 2, &cmd);
	ret = cfg_write(d, PCI_COMMAND, 2, cmd | PCI_COMMAND_MEMORY);
	cfg_read(d, PCI_COMMAND, 2, &v);
	result(ret == 2 && (v & PCI_COMMAND_MEMORY), "command-memory",
	       "memory enable set in the command register reads back (0x%04x)", v);

	if (bar_mmappable(d, bar)) {
		m = map(d, bar, 0, size, MAP_SHARED);
		if (m && mmio(m + off, &w, false)) {
			munmap(m, size);
			m = NULL;
		}
	}
	p = m ? m + off : NULL;
	cfg_write(d, PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MEMORY);
	ret = region_rw(d, false, bar, off, &v, 4);
	result(ret == -EIO, "bar-read-memory-off",
	       "read of BAR%d with memory decode off: EIO (%s)", bar, got(ret));
	if (m)
		result(mmio(p, &w, false) == 1, "bar-mmap-memory-off",
		       "access through a mapping of BAR%d with memory decode off: SIGBUS", bar);

	cfg_write(d, PCI_COMMAND, 2, cmd | PCI_COMMAND_MEMORY);
	ret = region_rw(d, false, bar, off, &v, 4);
	result(ret == 4 && (!m || (!mmio(p, &w, false) && v == w)), "bar-memory-on-again",
	       "BAR%d answers again once memory decode is back on (%s)", bar, got(ret));
	if (m)
		munmap(m, size);
}

/* The capability chains: well formed, and the extended one read again at 0x100. */
static void check_caps(struct dev *d)
{
	char buf[512];
	__u32 v, w;
	long ret, wret;

	if (!cfg_loaded(d))
		return;
	result(d->caps.bad < 0, "config-caps", "the capability chain is well formed (%s)",
	       chain_str(&d->caps, false, buf, sizeof(buf)));
	if (d->cfg_size <= PCI_CFG_SPACE_SIZE)
		return;
	ret = cfg_read(d, PCI_CFG_SPACE_SIZE, 4, &v);
	wret = cfg_read_by(d, PCI_CFG_SPACE_SIZE, 2, &w);
	result(d->ecaps.bad < 0 && ret == 4 && wret == 4 && v == w &&
	       v == cfg_dword(d, PCI_CFG_SPACE_SIZE), "config-ecaps",
	       "the extended capability chain from 0x100 is well formed, its header reads the same again in a dword and in words (%s; 0x%08x, 0x%08x)",
	       chain_str(&d->ecaps, true, buf, sizeof(buf)), v, w);
}

/*
 * Writes val to a config register userspace may not change: true if the write was taken and
 * the register reads as before. The original value is written back in any case.
 */
static bool write_dropped(struct dev *d, const char *what, unsigned int pos, unsigned int len,
			  __u32 val)
{
	struct probe p;

	probe_reg(d, pos, len, val, &p);
	if (!p.step && p.probed == p.orig && p.restored == p.orig)
		return true;
	printf("# %s at 0x%03x: 0x%x written over 0x%x, 0x%x read back, 0x%x restored",
	       what, pos, val, p.orig, p.probed, p.restored);
	printf(" (%s %s)\n", p.step ?: "done", got(p.ret));
	return false;
}

/* Registers of capabilities that C vfio-pci does not let userspace write. */
static const struct {
	bool ext;
	__u16 id;
	__u16 off;
	__u8 len;
	const char *what;
} ro_regs[] = {
	{ false, PCI_CAP_ID_PM, PCI_PM_PMC, 2, "PM capabilities" },
	{ false, PCI_CAP_ID_EXP, PCI_EXP_FLAGS, 2, "PCIe capabilities" },
	{ false, PCI_CAP_ID_EXP, PCI_EXP_DEVCAP, 4, "PCIe device capabilities" },
	{ false, PCI_CAP_ID_EXP, PCI_EXP_LNKCAP, 4, "PCIe link capabilities" },
	{ false, PCI_CAP_ID_MSIX, PCI_MSIX_TABLE, 4, "MSI-X table offset" },
	{ false, PCI_CAP_ID_MSIX, PCI_MSIX_PBA, 4, "MSI-X PBA offset" },
	{ true, PCI_EXT_CAP_ID_ARI, PCI_ARI_CAP, 2, "ARI capabilities" },
	{ true, PCI_EXT_CAP_ID_SRIOV, PCI_SRIOV_CAP, 4, "SR-IOV capabilities" },
	{ true, PCI_EXT_CAP_ID_SRIOV, PCI_SRIOV_TOTAL_VF, 2, "SR-IOV total VFs" },
	{ true, PCI_EXT_CAP_ID_SRIOV, PCI_SRIOV_VF_OFFSET, 4, "SR-IOV VF offset and stride" },
	{ true, PCI_EXT_CAP_ID_SRIOV, PCI_SRIOV_VF_DID, 2, "SR-IOV VF device ID" },
	{ true, PCI_EXT_CAP_ID_DSN, 4, 4, "serial number, low" },
	{ true, PCI_EXT_CAP_ID_DSN, 8, 4, "serial number, high" },
};

/*
 * Config writes that C vfio-pci takes and drops: capability headers (ID and next pointer,
 * virtualized so that it can unlink capabilities), read-only registers, MSI-X control (MSI-X is
 * enabled through VFIO_DEVICE_SET_IRQS only) and SR-IOV control (VFs are the host's business).
 * Vendor-specific capabilities are left out: C passes their writes through.
 */
static void check_config_writes(struct dev *d)
{
	unsigned int i, pos, n = 0, bad = 0;
	__u32 v, mask;

	if (!cfg_loaded(d))
		return;
	for (i = 0; i < d->caps.n; i++) {
		pos = d->caps.cap[i].pos;
		if (d->caps.cap[i].val == PCI_CAP_ID_VNDR)
			continue;
		n++;
		bad += !write_dropped(d, "capability header", pos, 2, ~cfg_dword(d, pos) & 0xffff);
	}
	if (n)
		result(!bad, "config-write-cap-headers",
		       "writes to the ID and next pointer of %u capabilities: taken, no effect (bad: %u)",
		       n, bad);

	n = 0;
	bad = 0;
	for (i = 0; i < d->ecaps.n; i++) {
		pos = d->ecaps.cap[i].pos;
		v = PCI_EXT_CAP_ID(d->ecaps.cap[i].val);
		if (v == PCI_EXT_CAP_ID_VNDR || v == PCI_EXT_CAP_ID_DVSEC)
			continue;
		n++;
		bad += !write_dropped(d, "extended capability header", pos, 4, ~cfg_dword(d, pos));
	}
	if (n)
		result(!bad, "config-write-ecap-headers",
		       "writes to the header of %u extended capabilities: taken, no effect (bad: %u)",
		       n, bad);

	n = 0;
	bad = 0;
	for (i = 0; i < ARRAY_SIZE(ro_regs); i++) {
		pos = chain_find(ro_regs[i].ext ? &d->ecaps : &d->caps, ro_regs[i].ext,
				 ro_regs[i].id);
		if (!pos)
			continue;
		pos += ro_regs[i].off;
		mask = ro_regs[i].len == 4 ? 0xffffffff : 0xffff;
		n++;
		bad += !write_dropped(d, ro_regs[i].what, pos, ro_regs[i].len,
				      ~cfg_dword(d, pos) & mask);
	}
	if (n)
		result(!bad, "config-write-ro",
		       "writes to %u read-only capability registers: taken, no effect (bad: %u)",
		       n, bad);

	pos = chain_find(&d->caps, false, PCI_CAP_ID_MSIX);
	if (pos) {
		v = cfg_dword(d, pos) >> 16;
		result(write_dropped(d, "MSI-X control", pos + PCI_MSIX_FLAGS, 2,
				     v | PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL),
		       "config-write-msix",
		       "MSI-X enable and function mask written to the MSI-X control: taken, no effect (0x%04x)",
		       v);
	}

	pos = chain_find(&d->ecaps, true, PCI_EXT_CAP_ID_SRIOV);
	if (pos) {
		bad = !write_dropped(d, "SR-IOV NumVFs", pos + PCI_SRIOV_NUM_VF, 2,
				     (cfg_dword(d, pos + PCI_SRIOV_NUM_VF) & 0xffff) ^ 1);
		bad += !write_dropped(d, "SR-IOV control", pos + PCI_SRIOV_CTRL, 2,
				      (cfg_dword(d, pos + PCI_SRIOV_CTRL) & 0xffff) ^
				      PCI_SRIOV_CTRL_MSE);
		result(!bad, "config-write-sriov",
		       "writes to SR-IOV NumVFs and to the VF memory enable: taken, no effect (bad: %u)",
		       bad);
	}
}

/*
 * The MSI-X table through read and write: C vfio-pci fills reads with 0xff and drops writes
 * (the table is the host's), also where the BAR is mmappable (there, the mapping shows the
 * real table, which the write must not have reached).
 */
static void check_msix_table(struct dev *d)
{
	int bar = d->msix_bar;
	__u64 size, off = d->msix_offset, last = d->msix_offset + d->msix_size - 4;
	__u32 v = 0, w = 0, real = 0, after = 0;
	long ret, lret, wret;
	void *m = NULL;
	bool same = true;

	if (bar < 0 || bar >= NUM_BARS || !bar_present(d, bar))
		return;
	size = region_size(d, bar);
	ret = region_rw(d, false, bar, off, &v, 4);
	lret = region_rw(d, false, bar, last, &w, 4);
	result(ret == 4 && lret == 4 && v == 0xffffffff && w == 0xffffffff, "bar-msix-table-read",
	       "read of the first and last dword of the MSI-X table in BAR%d: 0xffffffff (%s, 0x%08x, %s, 0x%08x)",
	       bar, got(ret), v, got(lret), w);

	if (bar_mmappable(d, bar))
		m = map(d, bar, 0, size, MAP_SHARED);
	if (m && mmio(m + off, &real, false)) {
		munmap(m, size);
		m = NULL;
	}
	v = ~real;
	wret = region_rw(d, true, bar, off, &v, 4);
	if (m) {
		same = !mmio(m + off, &after, false) && after == real;
		if (after != real)
			mmio(m + off, &real, true);
		munmap(m, size);
	}
	result(wret == 4 && same, "bar-msix-table-write",
	       "write to the MSI-X table in BAR%d: taken, no effect%s (%s, 0x%08x, 0x%08x)", bar,
	       m ? " on the table as mapped" : "", got(wret), real, after);
}

/* A copy of the config space read again in dwords: false if a dword did not read. */
static bool cfg_reread(struct dev *d, __u8 *buf)
{
	unsigned int i;

	for (i = 0; i + 4 <= d->cfg_size; i += 4)
		if (region_rw(d, false, CFG, i, buf + i, 4) != 4)
			return false;
	return true;
}

/* The dwords that differ between two copies of the config space, shown: their count. */
static unsigned int cfg_diff(struct dev *d, const char *what, const __u8 *a, const __u8 *b)
{
	unsigned int i, n = 0;

	for (i = 0; i + 4 <= d->cfg_size; i += 4) {
		if (img_dword(a, i) == img_dword(b, i))
			continue;
		if (n++ < 8)
			printf("# %s: config 0x%03x was 0x%08x, now 0x%08x\n", what, i,
			       img_dword(a, i), img_dword(b, i));
	}
	return n;
}

/*
 * A reset keeps what userspace sees: the config space reads as before, capability chains
 * included, and so does the first memory BAR at a register no one wrote.
 */
struct kept {
	__u8 cfg[PCI_CFG_SPACE_EXP_SIZE];
	bool cfg_ok;
	int bar;
	__u64 off;
	long bar_ret;
	__u32 bar_val;
};

static void kept_read(struct dev *d, struct kept *k)
{
	k->cfg_ok = cfg_reread(d, k->cfg);
	k->bar = first_mem_bar(d);
	k->bar_val = 0;
	k->bar_ret = 0;
	if (k->bar >= 0) {
		k->off = bar_plain_offset(d, k->bar);
		k->bar_ret = region_rw(d, false, k->bar, k->off, &k->bar_val, 4);
	}
}

static void kept_check(struct dev *d, const char *name, const char *what, struct kept *before)
{
	struct kept *after = calloc(1, sizeof(*after));
	unsigned int diff;

	if (!after)
		die("calloc");
	kept_read(d, after);
	diff = before->cfg_ok && after->cfg_ok ? cfg_diff(d, name, before->cfg, after->cfg) : 0;
	if (before->bar >= 0 && (after->bar_ret != before->bar_ret ||
				 after->bar_val != before->bar_val))
		printf("# %s: BAR%d at 0x%llx was 0x%08x (%s), now 0x%08x (%s)\n", name,
		       before->bar, (unsigned long long)before->off, before->bar_val,
		       got(before->bar_ret), after->bar_val, got(after->bar_ret));
	result(before->cfg_ok && after->cfg_ok && !diff && after->bar_ret == before->bar_ret &&
	       after->bar_val == before->bar_val, name,
	       "after %s, the config space reads as before (%u dwords differ), and so does BAR%d at 0x%llx (0x%08x)",
	       what, diff, before->bar, (unsigned long long)before->off, after->bar_val);
	free(after);
}

/*
 * Initiate FLR written to the PCIe device control: C vfio-pci does not pass the bit on but
 * resets the function itself (saving and restoring its state), and the bit reads 0.
 */
static void check_pcie_flr(struct dev *d)
{
	unsigned int pos = chain_find(&d->caps, false, PCI_CAP_ID_EXP);
	struct kept *before;
	__u32 ctl = 0, v = 0;
	long ret, wret;

	if (!pos || !(cfg_dword(d, pos + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLR) || d->info_ret ||
	    !(d->info.flags & VFIO_DEVICE_FLAGS_RESET))
		return;
	before = calloc(1, sizeof(*before));
	if (!before)
		die("calloc");
	kept_read(d, before);
	cfg_read(d, pos + PCI_EXP_DEVCTL, 2, &ctl);
	wret = cfg_write(d, pos + PCI_EXP_DEVCTL, 2, ctl | PCI_EXP_DEVCTL_BCR_FLR);
	ret = cfg_read(d, pos + PCI_EXP_DEVCTL, 2, &v);
	result(wret == 2 && ret == 2 && v == ctl, "pcie-flr",
	       "initiate FLR written to the PCIe device control: taken, the control reads as before (%s, 0x%04x, 0x%04x)",
	       got(wret), ctl, v);
	kept_check(d, "pcie-flr-kept", "an FLR through the config space", before);
	free(before);
}

static void check_reset(struct dev *d)
{
	bool flag = !d->info_ret && (d->info.flags & VFIO_DEVICE_FLAGS_RESET);
	struct kept *before = calloc(1, sizeof(*before));
	__u32 v = 0;
	long ret;

	if (!before)
		die("calloc");
	if (cfg_loaded(d))
		kept_read(d, before);
	ret = ioctl(d->fd, VFIO_DEVICE_RESET) ? -errno : 0;
	if (flag)
		result(!ret, "reset", "VFIO_DEVICE_RESET, with the RESET flag (%s)", errname(ret));
	else
		result(ret == -EINVAL, "reset",
		       "VFIO_DEVICE_RESET without the RESET flag: EINVAL (%s)", errname(ret));
	if (cfg_loaded(d)) {
		ret = cfg_read(d, 0, 4, &v);
		result(ret == 4 && v == cfg_dword(d, 0), "after-reset-config",
		       "config space reads after the reset (0x%08x)", v);
		if (flag)
			kept_check(d, "reset-kept", "VFIO_DEVICE_RESET", before);
	}
	free(before);
}

static void check_irq_info(struct dev *d)
{
	struct vfio_irq_info irq = { .argsz = sizeof(irq), .index = VFIO_PCI_NUM_IRQS };
	long ret = ioctl(d->fd, VFIO_DEVICE_GET_IRQ_INFO, &irq) ? -errno : 0;

	result(ret == -EINVAL, "irq-info-range", "IRQ info index %u: EINVAL (%s)", irq.index,
	       errname(ret));
	irq.argsz = offsetof(struct vfio_irq_info, count) + sizeof(irq.count) - 1;
	irq.index = VFIO_PCI_INTX_IRQ_INDEX;
	ret = ioctl(d->fd, VFIO_DEVICE_GET_IRQ_INFO, &irq) ? -errno : 0;
	result(ret == -EINVAL, "irq-info-argsz", "IRQ info argsz %u, too small: EINVAL (%s)",
	       irq.argsz, errname(ret));
}

/*
 * VFIO_DEVICE_SET_IRQS with the header, flags, index, start and count given, followed by the
 * len bytes at data; argsz is the header and the data unless argsz is non-zero.
 */
static long set_irqs(struct dev *d, __u32 argsz, __u32 flags, __u32 index, __u32 start,
		     __u32 count, const void *data, size_t len)
{
	union {
		struct vfio_irq_set hdr;
		__u8 bytes[sizeof(struct vfio_irq_set) + 16];
	} u;

	memset(&u, 0, sizeof(u));
	u.hdr.argsz = argsz ? argsz : sizeof(u.hdr) + len;
	u.hdr.flags = flags;
	u.hdr.index = index;
	u.hdr.start = start;
	u.hdr.count = count;
	if (len > sizeof(u.bytes) - sizeof(u.hdr))
		len = sizeof(u.bytes) - sizeof(u.hdr);
	memcpy(u.bytes + sizeof(u.hdr), data, len);
	return ioctl(d->fd, VFIO_DEVICE_SET_IRQS, &u.hdr) ? -errno : 0;
}

/* Whether the eventfd fires within ms milliseconds; consumes what it counted. */
static bool fired(int efd, int ms)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	__u64 n;

	if (poll(&p, 1, ms) != 1)
		return false;
	return read(efd, &n, sizeof(n)) == sizeof(n);
}

#define TRIGGER(data) (VFIO_IRQ_SET_DATA_##data | VFIO_IRQ_SET_ACTION_TRIGGER)

/*
 * VFIO_DEVICE_SET_IRQS: what C vfio-pci answers to requests it refuses, and the request
 * index's eventfd as a loopback (data none and bool signal it). Interrupt counts come from
 * VFIO_DEVICE_GET_IRQ_INFO: every device has one REQ interrupt.
 */
static void check_set_irqs(struct dev *d)
{
	int efd = eventfd(0, EFD_NONBLOCK), fd;
	__u32 hdr = sizeof(struct vfio_irq_set);
	const __u32 req = VFIO_PCI_REQ_IRQ_INDEX;
	__u8 yes = 1;
	long ret;

	ret = set_irqs(d, hdr - 1, TRIGGER(NONE), req, 0, 1, NULL, 0);
	result(ret == -EINVAL, "set-irqs-argsz", "SET_IRQS argsz %u, too small: EINVAL (%s)",
	       hdr - 1, errname(ret));
	ret = set_irqs(d, 0, TRIGGER(NONE), VFIO_PCI_NUM_IRQS, 0, 1, NULL, 0);
	result(ret == -EINVAL, "set-irqs-index", "SET_IRQS index %u: EINVAL (%s)",
	       VFIO_PCI_NUM_IRQS, errname(ret));
	ret = set_irqs(d, 0, TRIGGER(NONE) | 1u << 6, req, 0, 1, NULL, 0);
	result(ret == -EINVAL, "set-irqs-flags", "SET_IRQS with an unknown flag: EINVAL (%s)",
	       errname(ret));
	ret = set_irqs(d, 0, TRIGGER(NONE) | VFIO_IRQ_SET_DATA_BOOL, req, 0, 1, &yes, 1);
	result(ret == -EINVAL, "set-irqs-two-data-types",
	       "SET_IRQS with data none and bool: EINVAL (%s)", errname(ret));
	ret = set_irqs(d, 0, TRIGGER(NONE), req, 1, 1, NULL, 0);
	result(ret == -EINVAL, "set-irqs-range", "SET_IRQS of REQ interrupt 1 of 1: EINVAL (%s)",
	       errname(ret));
	ret = set_irqs(d, hdr, TRIGGER(EVENTFD), req, 0, 1, &efd, sizeof(efd));
	result(ret == -EINVAL, "set-irqs-data-short",
	       "SET_IRQS with an eventfd but argsz of the header only: EINVAL (%s)", errname(ret));
	ret = set_irqs(d, 0, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK, req, 0, 1, NULL, 0);
	result(ret == -ENOTTY, "set-irqs-req-mask", "SET_IRQS mask of REQ: ENOTTY (%s)",
	       errname(ret));
	ret = set_irqs(d, 0, VFIO_IRQ_SET_DATA_NONE, req, 0, 1, NULL, 0);
	result(ret == -ENOTTY, "set-irqs-no-action", "SET_IRQS without an action: ENOTTY (%s)",
	       errname(ret));
	ret = set_irqs(d, 0, TRIGGER(NONE), req, 0, 1, NULL, 0);
	result(ret == -EINVAL, "set-irqs-req-none-unset",
	       "SET_IRQS REQ trigger, data none, no eventfd set: EINVAL (%s)", errname(ret));
	fd = 1000;
	ret = set_irqs(d, 0, TRIGGER(EVENTFD), req, 0, 1, &fd, sizeof(fd));
	result(ret == -EBADF, "set-irqs-bad-fd", "SET_IRQS REQ trigger, closed fd: EBADF (%s)",
	       errname(ret));
	fd = 1;
	ret = set_irqs(d, 0, TRIGGER(EVENTFD), req, 0, 1, &fd, sizeof(fd));
	result(ret == -EINVAL, "set-irqs-not-eventfd",
	       "SET_IRQS REQ trigger, an fd that is no eventfd: EINVAL (%s)", errname(ret));

	ret = set_irqs(d, 0, TRIGGER(EVENTFD), req, 0, 1, &efd, sizeof(efd));
	result(!ret, "set-irqs-req-eventfd", "SET_IRQS REQ trigger with an eventfd (%s)",
	       errname(ret));
	ret = set_irqs(d, 0, TRIGGER(NONE), req, 0, 1, NULL, 0);
	result(!ret && fired(efd, 1000), "set-irqs-req-loopback-none",
	       "SET_IRQS REQ trigger, data none: the eventfd fires (%s)", errname(ret));
	ret = set_irqs(d, 0, TRIGGER(BOOL), req, 0, 1, &yes, 1);
	result(!ret && fired(efd, 1000), "set-irqs-req-loopback-bool",
	       "SET_IRQS REQ trigger, data bool true: the eventfd fires (%s)", errname(ret));
	fd = -1;
	ret = set_irqs(d, 0, TRIGGER(EVENTFD), req, 0, 1, &fd, sizeof(fd));
	result(!ret, "set-irqs-req-clear", "SET_IRQS REQ trigger, eventfd -1 clears it (%s)",
	       errname(ret));
	ret = set_irqs(d, 0, TRIGGER(NONE), req, 0, 1, NULL, 0);
	result(ret == -EINVAL && !fired(efd, 0), "set-irqs-req-cleared",
	       "SET_IRQS REQ trigger, data none after clearing: EINVAL, nothing fires (%s)",
	       errname(ret));
	close(efd);
}

/*
 * C vfio-pci enables the function (pci_enable_device()) when the device is opened: the command
 * register then shows memory and I/O decoding on for the BARs the function has. The BAR
 * checks that follow turn decoding on if it is not, so that they do not depend on this one.
 */
static void check_decode(struct dev *d)
{
	__u32 want = 0, cmd, cur = 0;
	unsigned int i;

	if (!cfg_loaded(d))
		return;
	for (i = 0; i < NUM_BARS; i++)
		if (bar_present(d, i))
			want |= bar_is_io(d, i) ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
	cmd = cfg_dword(d, PCI_COMMAND) & 0xffff;
	result((cmd & want) == want, "command-at-open",
	       "the command register at open has decoding on for the BARs of the function (0x%04x, want 0x%x)",
	       cmd, want);
	if (cfg_read(d, PCI_COMMAND, 2, &cur) == 2 && (cur & want) != want)
		cfg_write(d, PCI_COMMAND, 2, cur | want);
}

/* Signals an eventfd once. */
static void poke(int fd)
{
	__u64 one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		printf("# eventfd write: %s\n", strerror(errno));
}

/* pci-testdev (1b36:0005): its port I/O BAR and the header of its selected test there. */
#define TESTDEV_IO_BAR 1
#define TESTDEV_PIO_NO_EVENTFD 0	/* the port I/O BAR's test 0, "portio-no-eventfd" */
#define TESTDEV_HDR_OFFSET 4		/* the port the test counts writes to */
#define TESTDEV_HDR_DATA 8		/* the value it counts */
#define TESTDEV_HDR_COUNT 12		/* how many writes it counted */

static __u32 testdev_hdr(struct dev *d, unsigned int pos)
{
	__u32 v = 0;

	if (region_rw(d, false, TESTDEV_IO_BAR, pos, &v, 4) != 4)
		return ~0U;
	return le32toh(v);
}

/*
 * VFIO_DEVICE_IOEVENTFD on an I/O port BAR, pci-testdev's: with its port I/O "no-eventfd" test
 * selected, the test counts the writes of its value to its port; an ioeventfd writing it there
 * turns each signal of its eventfd into one; removed, signals write nothing.
 */
static void check_testdev_ioeventfd(struct dev *d)
{
	const char *name = "ioeventfd-io";
	__u8 sel = TESTDEV_PIO_NO_EVENTFD;
	__u32 port, before, after, later;
	struct vfio_device_ioeventfd req = { .argsz = sizeof(req) };
	int efd, i, ret;

	if (!bar_present(d, TESTDEV_IO_BAR) || !bar_is_io(d, TESTDEV_IO_BAR)) {
		result(false, name, "pci-testdev without its port I/O BAR");
		return;
	}
	if (region_rw(d, true, TESTDEV_IO_BAR, 0, &sel, 1) != 1) {
		result(false, name, "selecting the port I/O test failed");
		return;
	}
	port = testdev_hdr(d, TESTDEV_HDR_OFFSET);
	before = testdev_hdr(d, TESTDEV_HDR_COUNT);
	efd = eventfd(0, EFD_NONBLOCK);
	req.flags = VFIO_DEVICE_IOEVENTFD_8;
	req.offset = region_offset(d, TESTDEV_IO_BAR) + port;
	req.data = testdev_hdr(d, TESTDEV_HDR_DATA) & 0xff;
	req.fd = efd;
	ret = ioctl(d->fd, VFIO_DEVICE_IOEVENTFD, &req) ? -errno : 0;
	for (i = 0; i < 3 && !ret; i++) {
		poke(efd);
		usleep(10000);
	}
	after = testdev_hdr(d, TESTDEV_HDR_COUNT);
	req.fd = -1;
	if (!ret)
		ret = ioctl(d->fd, VFIO_DEVICE_IOEVENTFD, &req) ? -errno : 0;
	poke(efd);
	usleep(10000);
	later = testdev_hdr(d, TESTDEV_HDR_COUNT);
	close(efd);
	result(!ret && after - before == 3 && later == after, name,
	       "port %#x: %s, 3 signals counted %u writes, after removal %u more", port,
	       errname(ret), after - before, later - after);
}

static void check_generic(struct dev *d)
{
	check_device_info(d);
	check_irq_info(d);
	check_set_irqs(d);
	check_config(d);
	check_caps(d);
	check_config_writes(d);
	check_sizing(d);
	check_decode(d);
	check_bars(d);
	check_msix_table(d);
	check_mmap(d);
	check_memory_enable(d);
	check_pcie_flr(d);
	if (cfg_loaded(d) && cfg_dword(d, PCI_VENDOR_ID) == 0x00051b36)
		check_testdev_ioeventfd(d);
}

/* QEMU's edu device, BAR0 (hw/misc/edu.c). */
#define EDU_IDENT 0x00
#define EDU_LIVENESS 0x04
#define EDU_FACTORIAL 0x08
#define EDU_STATUS 0x20
#define EDU_STATUS_COMPUTING 0x01
#define EDU_IRQ_STATUS 0x24
#define EDU_IRQ_RAISE 0x60
#define EDU_IRQ_ACK 0x64
#define EDU_BAR0_SIZE 0x100000

static __u32 edu_read(struct dev *d, unsigned int reg, long *ret)
{
	__u32 v = 0;

	*ret = region_rw(d, false, VFIO_PCI_BAR0_REGION_INDEX, reg, &v, 4);
	return v;
}

static long edu_write(struct dev *d, unsigned int reg, __u32 v)
{
	return region_rw(d, true, VFIO_PCI_BAR0_REGION_INDEX, reg, &v, 4);
}

/* Liveness through pread/pwrite: the register reads back the inverse of what was written. */
static void edu_liveness(struct dev *d, const char *name, const char *when, __u32 w)
{
	long wret, ret;
	__u32 v;

	wret = edu_write(d, EDU_LIVENESS, w);
	v = edu_read(d, EDU_LIVENESS, &ret);
	result(wret == 4 && ret == 4 && v == ~w, name,
	       "BAR0 liveness%s: 0x%08x written, the inverse reads back (%s, %s, 0x%08x)", when, w,
	       got(wret), got(ret), v);
}

static void edu_mmap_liveness(struct dev *d, __u32 *bar0, const char *name,
			      const char *when, __u32 w)
{
	__u32 v = 0, p;
	int fault;
	long ret;

	fault = mmio(bar0 + EDU_LIVENESS / 4, &w, true);
	fault |= mmio(bar0 + EDU_LIVENESS / 4, &v, false);
	p = edu_read(d, EDU_LIVENESS, &ret);
	result(!fault && v == ~w && ret == 4 && p == ~w, name,
	       "BAR0 liveness through the mapping%s: 0x%08x written, the inverse reads back through the mapping and pread (0x%08x, 0x%08x%s)",
	       when, w, v, p, fault ? ", SIGBUS" : "");
}

/*
 * edu's INTx (MSI is off): raising an interrupt fires the eventfd, and the interrupt is masked
 * until userspace unmasks it (automasked); unmasking while the device still asserts it fires
 * again; a masked interrupt does not fire; acknowledged, it is quiet.
 */

/*
 * INTx unmasked through an eventfd (what KVM's resample eventfd does), with INTx on and masked
 * by the interrupt it just sent (efd its trigger): one unmask eventfd at a time; signalling it
 * unmasks, so the next interrupt fires; signalled while edu still asserts INTx, INTx stays
 * masked and fires again; released (-1), signalling it does nothing.
 */
static void check_edu_intx_unmask_fd(struct dev *d, int efd)
{
	const __u32 unmask_fd = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK;
	const __u32 intx = VFIO_PCI_INTX_IRQ_INDEX;
	int ufd = eventfd(0, EFD_NONBLOCK), ufd2 = eventfd(0, EFD_NONBLOCK), none = -1;
	long ret, wret;

	ret = set_irqs(d, 0, unmask_fd, intx, 0, 1, &ufd, sizeof(ufd));
	result(!ret, "edu-intx-unmask-fd-set", "INTx unmask eventfd set (%s)", errname(ret));
	if (ret)
		goto out;
	ret = set_irqs(d, 0, unmask_fd, intx, 0, 1, &ufd2, sizeof(ufd2));
	result(ret == -EBUSY, "edu-intx-unmask-fd-busy", "a second unmask eventfd: EBUSY (%s)",
	       errname(ret));
	poke(ufd);
	edu_write(d, EDU_IRQ_RAISE, 16);
	result(fired(efd, 3000), "edu-intx-unmask-fd",
	       "unmask eventfd signalled, then raised: fires");
	poke(ufd);
	result(fired(efd, 3000), "edu-intx-unmask-fd-asserted",
	       "unmask eventfd signalled while edu asserts INTx: fires again");
	edu_write(d, EDU_IRQ_ACK, 16);
	poke(ufd);
	edu_write(d, EDU_IRQ_RAISE, 32);
	result(fired(efd, 3000), "edu-intx-unmask-fd-again",
	       "acknowledged, unmask eventfd signalled, raised: fires");
	edu_write(d, EDU_IRQ_ACK, 32);
	ret = set_irqs(d, 0, unmask_fd, intx, 0, 1, &none, sizeof(none));
	poke(ufd);
	edu_write(d, EDU_IRQ_RAISE, 64);
	result(!ret && !fired(efd, 300), "edu-intx-unmask-fd-released",
	       "unmask eventfd released (%s), signalled, raised: nothing fires", errname(ret));
	edu_write(d, EDU_IRQ_ACK, 64);
	set_irqs(d, 0, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK, intx, 0, 1, NULL, 0);

	/* Closed by userspace, the unmask eventfd is let go of: another one can be set. */
	ret = set_irqs(d, 0, unmask_fd, intx, 0, 1, &ufd2, sizeof(ufd2));
	close(ufd2);
	ufd2 = eventfd(0, EFD_NONBLOCK);
	usleep(100000);
	wret = set_irqs(d, 0, unmask_fd, intx, 0, 1, &ufd2, sizeof(ufd2));
	result(!ret && !wret, "edu-intx-unmask-fd-rearm",
	       "unmask eventfd closed by userspace, then another set (%s, %s)", errname(ret),
	       errname(wret));
	set_irqs(d, 0, unmask_fd, intx, 0, 1, &none, sizeof(none));
out:
	close(ufd);
	close(ufd2);
}

static void check_edu_intx(struct dev *d)
{
	int efd = eventfd(0, EFD_NONBLOCK), fd = -1;
	const __u32 intx = VFIO_PCI_INTX_IRQ_INDEX;
	const __u32 unmask = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK;
	const __u32 mask = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK;
	long ret;
	__u32 v;

	ret = set_irqs(d, 0, mask, intx, 0, 1, NULL, 0);
	result(ret == -EINVAL, "edu-intx-mask-off", "INTx mask before INTx is set up: EINVAL (%s)",
	       errname(ret));
	ret = set_irqs(d, 0, TRIGGER(EVENTFD), intx, 0, 1, &efd, sizeof(efd));
	result(!ret, "edu-intx-enable", "INTx trigger with an eventfd (%s)", errname(ret));
	if (ret)
		goto out;
	edu_write(d, EDU_IRQ_RAISE, 1);
	result(fired(efd, 3000), "edu-intx-fires", "raising edu's interrupt fires the eventfd");
	edu_write(d, EDU_IRQ_RAISE, 2);
	result(!fired(efd, 300), "edu-intx-automasked",
	       "raised again before unmask: nothing fires (automasked)");
	ret = set_irqs(d, 0, unmask, intx, 0, 1, NULL, 0);
	result(!ret && fired(efd, 3000), "edu-intx-unmask-asserted",
	       "unmask while edu still asserts INTx: fires again (%s)", errname(ret));
	v = edu_read(d, EDU_IRQ_STATUS, &ret);
	edu_write(d, EDU_IRQ_ACK, v);
	ret = set_irqs(d, 0, unmask, intx, 0, 1, NULL, 0);
	result(!ret && !fired(efd, 300), "edu-intx-acked",
	       "acknowledged (status 0x%x) and unmasked: nothing fires (%s)", v, errname(ret));
	edu_write(d, EDU_IRQ_RAISE, 4);
	result(fired(efd, 3000), "edu-intx-fires-again", "raised after unmask: fires again");
	edu_write(d, EDU_IRQ_ACK, 4);
	ret = set_irqs(d, 0, unmask, intx, 0, 1, NULL, 0);
	ret = ret ? ret : set_irqs(d, 0, mask, intx, 0, 1, NULL, 0);
	edu_write(d, EDU_IRQ_RAISE, 8);
	result(!ret && !fired(efd, 300), "edu-intx-masked",
	       "masked by ioctl, raised: nothing fires (%s)", errname(ret));
	ret = set_irqs(d, 0, unmask, intx, 0, 1, NULL, 0);
	result(!ret && fired(efd, 3000), "edu-intx-unmask-pending",
	       "unmasked with the interrupt pending: fires (%s)", errname(ret));
	edu_write(d, EDU_IRQ_ACK, 8);
	check_edu_intx_unmask_fd(d, efd);
	ret = set_irqs(d, 0, TRIGGER(NONE), intx, 0, 1, NULL, 0);
	result(!ret && fired(efd, 1000), "edu-intx-loopback",
	       "INTx trigger, data none: the eventfd fires (%s)", errname(ret));
	ret = set_irqs(d, 0, TRIGGER(EVENTFD), intx, 0, 1, &fd, sizeof(fd));
	result(!ret, "edu-intx-no-eventfd", "INTx trigger, eventfd -1: INTx stays set up (%s)",
	       errname(ret));
	ret = set_irqs(d, 0, TRIGGER(NONE), intx, 0, 0, NULL, 0);
	result(!ret, "edu-intx-disable", "INTx trigger, data none, count 0: disabled (%s)",
	       errname(ret));
	ret = set_irqs(d, 0, unmask, intx, 0, 1, NULL, 0);
	result(ret == -EINVAL, "edu-intx-unmask-off", "INTx unmask once disabled: EINVAL (%s)",
	       errname(ret));
out:
	close(efd);
}

/*
 * edu's MSI: enabled through SET_IRQS with one eventfd (and bus mastering, for the message
 * write), raising the interrupt fires it; loopback with data none and bool; the eventfd can be
 * replaced and released; MSI and INTx exclude each other; MSI cannot be masked (ENOTTY).
 */
static void check_edu_msi(struct dev *d)
{
	int efd = eventfd(0, EFD_NONBLOCK), efd2 = eventfd(0, EFD_NONBLOCK), none = -1;
	const __u32 msi = VFIO_PCI_MSI_IRQ_INDEX;
	__u8 yes = 1, no = 0;
	unsigned int pos = chain_find(&d->caps, false, PCI_CAP_ID_MSI);
	__u32 cmd = 0, flags = 0;
	long ret;

	if (!pos) {
		result(false, "edu-msi-cap", "edu has an MSI capability");
		goto out_fds;
	}

	ret = set_irqs(d, 0, TRIGGER(NONE), msi, 0, 1, NULL, 0);
	result(ret == -EINVAL, "edu-msi-loopback-off",
	       "MSI trigger, data none, before MSI is enabled: EINVAL (%s)", errname(ret));
	cfg_read(d, PCI_COMMAND, 2, &cmd);
	cfg_write(d, PCI_COMMAND, 2, cmd | PCI_COMMAND_MASTER);
	ret = set_irqs(d, 0, TRIGGER(EVENTFD), msi, 0, 1, &efd, sizeof(efd));
	result(!ret, "edu-msi-enable", "MSI trigger with an eventfd (%s)", errname(ret));
	if (ret)
		goto out;
	ret = cfg_read(d, pos + PCI_MSI_FLAGS, 2, &flags);
	result(ret == 2 && !(flags & PCI_MSI_FLAGS_ENABLE), "edu-msi-flags-virtual",
	       "MSI enabled by ioctl: the virtual enable bit is still clear (flags 0x%04x)", flags);
	ret = set_irqs(d, 0, TRIGGER(EVENTFD), VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &efd2, sizeof(efd2));
	result(ret == -EINVAL, "edu-msi-excludes-intx", "INTx trigger while MSI is on: EINVAL (%s)",
	       errname(ret));
	edu_write(d, EDU_IRQ_RAISE, 1);
	result(fired(efd, 3000), "edu-msi-fires", "raising edu's interrupt fires the MSI eventfd");
	edu_write(d, EDU_IRQ_ACK, 1);
	edu_write(d, EDU_IRQ_RAISE, 2);
	result(fired(efd, 3000), "edu-msi-fires-again",
	       "raised again: fires again, MSI is not automasked");
	edu_write(d, EDU_IRQ_ACK, 2);
	ret = set_irqs(d, 0, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK, msi, 0, 1, NULL, 0);
	result(ret == -ENOTTY, "edu-msi-mask", "MSI mask: ENOTTY (%s)", errname(ret));
	ret = set_irqs(d, 0, TRIGGER(NONE), msi, 0, 1, NULL, 0);
	result(!ret && fired(efd, 1000), "edu-msi-loopback",
	       "MSI trigger, data none: the eventfd fires (%s)", errname(ret));
	ret = set_irqs(d, 0, TRIGGER(BOOL), msi, 0, 1, &no, 1);
	result(!ret && !fired(efd, 300), "edu-msi-loopback-false",
	       "MSI trigger, bool false: nothing fires (%s)", errname(ret));
	ret = set_irqs(d, 0, TRIGGER(BOOL), msi, 0, 1, &yes, 1);
	result(!ret && fired(efd, 1000), "edu-msi-loopback-true",
	       "MSI trigger, bool true: the eventfd fires (%s)", errname(ret));
	ret = set_irqs(d, 0, TRIGGER(EVENTFD), msi, 0, 1, &efd2, sizeof(efd2));
	edu_write(d, EDU_IRQ_RAISE, 4);
	result(!ret && fired(efd2, 3000) && !fired(efd, 100), "edu-msi-replace",
	       "MSI eventfd replaced: the new one fires, the old one does not (%s)",
	       errname(ret));
	edu_write(d, EDU_IRQ_ACK, 4);
	ret = set_irqs(d, 0, TRIGGER(EVENTFD), msi, 0, 1, &none, sizeof(none));
	edu_write(d, EDU_IRQ_RAISE, 8);
	result(!ret && !fired(efd2, 300) && !fired(efd, 100), "edu-msi-release",
	       "MSI eventfd -1: released, nothing fires (%s)", errname(ret));
	edu_write(d, EDU_IRQ_ACK, 8);
	ret = set_irqs(d, 0, TRIGGER(EVENTFD), msi, 0, 1, &efd, sizeof(efd));
	edu_write(d, EDU_IRQ_RAISE, 16);
	result(!ret && fired(efd, 3000), "edu-msi-reattach",
	       "MSI eventfd set again on the enabled vector: fires (%s)", errname(ret));
	edu_write(d, EDU_IRQ_ACK, 16);
	ret = set_irqs(d, 0, TRIGGER(NONE), msi, 0, 0, NULL, 0);
	result(!ret, "edu-msi-disable", "MSI trigger, data none, count 0: disabled (%s)",
	       errname(ret));
	ret = set_irqs(d, 0, TRIGGER(NONE), msi, 0, 1, NULL, 0);
	result(ret == -EINVAL, "edu-msi-off", "MSI loopback once disabled: EINVAL (%s)",
	       errname(ret));
	ret = set_irqs(d, 0, TRIGGER(EVENTFD), VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &efd2, sizeof(efd2));
	result(!ret, "edu-msi-then-intx", "INTx can be enabled once MSI is off (%s)",
	       errname(ret));
	set_irqs(d, 0, TRIGGER(NONE), VFIO_PCI_INTX_IRQ_INDEX, 0, 0, NULL, 0);
out:
	cfg_write(d, PCI_COMMAND, 2, cmd);
out_fds:
	close(efd);
	close(efd2);
}

/* VFIO_DEVICE_IOEVENTFD with these flags, offset in BAR0, data and fd: 0 or -errno. */
static int ioeventfd(struct dev *d, __u32 argsz, __u32 flags, __u64 offset, __u64 data, int fd)
{
	struct vfio_device_ioeventfd req = {
		.argsz = argsz ? argsz : sizeof(req),
		.flags = flags,
		.offset = region_offset(d, VFIO_PCI_BAR0_REGION_INDEX) + offset,
		.data = data,
		.fd = fd,
	};

	return ioctl(d->fd, VFIO_DEVICE_IOEVENTFD, &req) ? -errno : 0;
}

/* Waits up to ms for edu's liveness register to read ~v; returns what it read last. */
static __u32 edu_liveness_wait(struct dev *d, __u32 v, int ms)
{
	struct timespec step = { .tv_nsec = 10000000 };
	__u32 got = 0;
	long ret;

	for (; ms >= 0; ms -= 10) {
		got = edu_read(d, EDU_LIVENESS, &ret);
		if (ret == 4 && got == ~v)
			break;
		nanosleep(&step, NULL);
	}
	return got;
}

/*
 * ioeventfds on edu's liveness register (a write of v reads back ~v): signalling the eventfd
 * writes the data; one ioeventfd per offset, data and width (EEXIST); -1 removes it (ENODEV if
 * there is none); C's checks of the request (EINVAL); no write while memory decoding is off.
 */
static void check_edu_ioeventfd(struct dev *d)
{
	const __u32 w32 = VFIO_DEVICE_IOEVENTFD_32;
	int efd = eventfd(0, EFD_NONBLOCK), efd2 = eventfd(0, EFD_NONBLOCK);
	__u32 cmd = 0, got;
	long ret;

	edu_write(d, EDU_LIVENESS, 0);
	ret = ioeventfd(d, 0, w32, EDU_LIVENESS, 0x1234abcd, efd);
	result(!ret, "edu-ioeventfd-set", "ioeventfd on the liveness register (%s)", errname(ret));
	poke(efd);
	got = edu_liveness_wait(d, 0x1234abcd, 2000);
	result(got == ~0x1234abcdu, "edu-ioeventfd-writes",
	       "eventfd signalled: the data is written (reads 0x%08x)", got);
	ret = ioeventfd(d, 0, w32, EDU_LIVENESS, 0x1234abcd, efd2);
	result(ret == -EEXIST, "edu-ioeventfd-exists", "the same again: EEXIST (%s)", errname(ret));
	ret = ioeventfd(d, 0, w32, EDU_LIVENESS, 0x55aa55aa, efd2);
	result(!ret, "edu-ioeventfd-second", "other data, same offset (%s)", errname(ret));

	/* With memory decoding off, a signal writes nothing, now or later. */
	cfg_read(d, PCI_COMMAND, 2, &cmd);
	cfg_write(d, PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MEMORY);
	poke(efd2);
	usleep(300000);
	cfg_write(d, PCI_COMMAND, 2, cmd);
	got = edu_liveness_wait(d, 0x1234abcd, 300);
	result(got == ~0x1234abcdu, "edu-ioeventfd-memory-off",
	       "signalled with memory decoding off: nothing written (reads 0x%08x)", got);
	poke(efd2);
	got = edu_liveness_wait(d, 0x55aa55aa, 2000);
	result(got == ~0x55aa55aau, "edu-ioeventfd-memory-on",
	       "signalled again with memory decoding on: written (reads 0x%08x)", got);

	ret = ioeventfd(d, 0, w32, EDU_LIVENESS, 0x55aa55aa, -1);
	result(!ret, "edu-ioeventfd-remove", "removed with fd -1 (%s)", errname(ret));
	ret = ioeventfd(d, 0, w32, EDU_LIVENESS, 0x55aa55aa, -1);
	result(ret == -ENODEV, "edu-ioeventfd-remove-none", "removed again: ENODEV (%s)",
	       errname(ret));
	edu_write(d, EDU_LIVENESS, 0);
	poke(efd2);
	got = edu_liveness_wait(d, 0x55aa55aa, 300);
	result(got == ~0u, "edu-ioeventfd-removed",
	       "signalled once removed: nothing written (reads 0x%08x)", got);

	ret = ioeventfd(d, 0, 0, EDU_LIVENESS, 0, efd2);
	result(ret == -EINVAL, "edu-ioeventfd-no-width", "no width: EINVAL (%s)", errname(ret));
	ret = ioeventfd(d, 0, w32 | VFIO_DEVICE_IOEVENTFD_16, EDU_LIVENESS, 0, efd2);
	result(ret == -EINVAL, "edu-ioeventfd-two-widths", "two widths: EINVAL (%s)", errname(ret));
	ret = ioeventfd(d, 0, w32 | 0x10, EDU_LIVENESS, 0, efd2);
	result(ret == -EINVAL, "edu-ioeventfd-flags", "unknown flag: EINVAL (%s)", errname(ret));
	ret = ioeventfd(d, 0, w32, EDU_LIVENESS, 0, -2);
	result(ret == -EINVAL, "edu-ioeventfd-fd", "fd -2: EINVAL (%s)", errname(ret));
	ret = ioeventfd(d, 8, w32, EDU_LIVENESS, 0, efd2);
	result(ret == -EINVAL, "edu-ioeventfd-argsz", "argsz 8: EINVAL (%s)", errname(ret));
	ret = ioeventfd(d, 0, w32, EDU_BAR0_SIZE - 2, 0, efd2);
	result(ret == -EINVAL, "edu-ioeventfd-past-bar", "past the end of BAR0: EINVAL (%s)",
	       errname(ret));
	ret = ioeventfd(d, 0, w32, REGION_OFFSET(CFG) - region_offset(d, 0), 0, efd2);
	result(ret == -EINVAL, "edu-ioeventfd-config", "in the config region: EINVAL (%s)",
	       errname(ret));
	ret = ioeventfd(d, 0, w32, EDU_LIVENESS, 0x1234abcd, -1);
	result(!ret, "edu-ioeventfd-remove-first", "the first removed too (%s)", errname(ret));
	close(efd);
	close(efd2);
}

static void check_edu(struct dev *d)
{
	struct vfio_region_info *bar0 = &d->region[VFIO_PCI_BAR0_REGION_INDEX];
	__u32 flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
		VFIO_REGION_INFO_FLAG_MMAP;
	__u32 *map0 = NULL;
	struct timespec ms = { .tv_nsec = 1000000 };
	__u32 v, w, status;
	long ret, wret;
	__u64 q = 0;
	int i;

	result(!d->region_ret[0] && bar0->size == EDU_BAR0_SIZE && bar0->flags == flags, "edu-bar0",
	       "BAR0 region: 1 MiB, read, write and mmap (0x%llx, 0x%x)",
	       (unsigned long long)bar0->size, bar0->flags);

	v = edu_read(d, EDU_IDENT, &ret);
	result(ret == 4 && (v & 0xff) == 0xed, "edu-ident", "BAR0 identification register (0x%08x)",
	       v);
	edu_liveness(d, "edu-liveness", "", 0x12345678);
	check_edu_ioeventfd(d);

	v = edu_read(d, EDU_IRQ_STATUS, &ret);
	result(ret == 4 && v == 0, "edu-irq-status", "interrupt status register reads 0 (0x%08x)",
	       v);
	status = 0;
	wret = edu_write(d, EDU_FACTORIAL, 5);
	for (i = 0; i < 1000; i++) {
		status = edu_read(d, EDU_STATUS, &ret);
		if (ret != 4 || !(status & EDU_STATUS_COMPUTING))
			break;
		nanosleep(&ms, NULL);
	}
	v = edu_read(d, EDU_FACTORIAL, &ret);
	result(wret == 4 && ret == 4 && v == 120 && !(status & EDU_STATUS_COMPUTING),
	       "edu-factorial", "factorial of 5 computed by the card: 120 (%u, status 0x%x)", v,
	       status);

	/* BAR access the device does not serve in 4 bytes still goes through C vfio-pci. */
	ret = region_rw(d, false, VFIO_PCI_BAR0_REGION_INDEX, EDU_IDENT, &q, 8);
	result(ret == 8, "edu-qword", "8-byte read at BAR0 0: 8 bytes (%s, 0x%016llx)", got(ret),
	       (unsigned long long)q);
	v = 0;
	ret = region_rw(d, false, VFIO_PCI_BAR0_REGION_INDEX, EDU_IDENT + 1, &v, 4);
	result(ret == 4, "edu-unaligned", "4-byte read at BAR0 1: 4 bytes (%s, 0x%08x)", got(ret),
	       v);

	if (bar_mmappable(d, 0)) {
		map0 = map(d, 0, 0, EDU_BAR0_SIZE, MAP_SHARED);
		ret = map0 ? 0 : -errno;
	} else {
		ret = -EPERM;
	}
	result(!!map0, "edu-mmap", "mmap of BAR0 at its region offset (%s)",
	       ret == -EPERM ? "no MMAP flag" : errname(ret));
	if (map0) {
		v = 0;
		i = mmio(map0 + EDU_IDENT / 4, &v, false);
		result(!i && (v & 0xff) == 0xed, "edu-mmap-ident",
		       "BAR0 identification register through the mapping (0x%08x)", v);
		edu_mmap_liveness(d, map0, "edu-mmap-liveness", "", 0x0badcafe);
		w = 0x5a5aa5a5;
		wret = edu_write(d, EDU_LIVENESS, w);
		v = 0;
		i = mmio(map0 + EDU_LIVENESS / 4, &v, false);
		result(wret == 4 && !i && v == ~w, "edu-pwrite-mmap-read",
		       "BAR0 liveness written by pwrite, read through the mapping (0x%08x)", v);
	}

	check_edu_intx(d);
	check_edu_msi(d);
	check_reset(d);
	edu_liveness(d, "edu-after-reset", " after the reset", 0xdeadbeef);
	if (map0) {
		edu_mmap_liveness(d, map0, "edu-mmap-after-reset", " after the reset", 0x600dd00d);
		munmap(map0, EDU_BAR0_SIZE);
	}

	v = edu_read(d, EDU_IDENT, &ret);
	result(ret == 4 && (v & 0xff) == 0xed, "edu-still-answers",
	       "device still answers after all of the above (0x%08x)", v);
}

/*
 * A device-specific region with the MMAP flag: "key=value" lines. Its first page mapped, every
 * dword of it reads as by pread (but for those that change between two preads); with memory
 * decoding off, an access through the mapping gets SIGBUS, and reads again once it is back on.
 * A mapping past the region's last page, or a private one: EINVAL. First, with
 * VFIO_CLIENT_REGION_WRITE=<offset>:<byte>, another byte (its low bit flipped) written there by
 * pwrite, then that byte through the mapping, each followed by a pread of the 64 bytes from the
 * offset.
 */
/*
 * The dwords of the first page of a mapping <m> of the device file at <pos>, of a region of
 * <size> bytes, that read otherwise than by pread there, or fail to read: how many, with the
 * number compared in <count>. A register that changes by itself (a timer) between two preads
 * is not counted.
 */
static unsigned int mapped_differ(struct dev *d, __u64 pos, void *m, __u64 size,
				  unsigned int *count)
{
	unsigned int off, bad = 0;
	__u32 v, w, again;

	for (off = 0; off < size && off < page_size; off += 4) {
		v = w = again = 0;
		if (xfer(d->fd, false, &v, 4, pos + off) != 4 || mmio(m + off, &w, false) ||
		    xfer(d->fd, false, &again, 4, pos + off) != 4)
			bad++;
		else if (v == again && v != w)
			bad++;
	}
	*count = off / 4;
	return bad;
}

/* Whether a page of region <i> maps (errno set if not). */
static bool region_maps(struct dev *d, unsigned int i)
{
	void *m = map(d, i, 0, page_size, MAP_SHARED);

	if (m)
		munmap(m, page_size);
	return m;
}

/* "region.<i>.mmap.<what>=<hex>": 64 bytes of the device file at <pos>, read by pread. */
static void region_dump(struct dev *d, unsigned int i, const char *what, __u64 pos)
{
	__u8 buf[64] = { 0 };
	unsigned int j;

	xfer(d->fd, false, buf, sizeof(buf), pos);
	printf("region.%u.mmap.%s=", i, what);
	for (j = 0; j < sizeof(buf); j++)
		printf("%02x", buf[j]);
	printf("\n");
}

static void region_mmap(struct dev *d, unsigned int i, const struct vfio_region_info *info)
{
	__u64 len = (info->size + page_size - 1) & ~(page_size - 1);
	const char *poke = getenv("VFIO_CLIENT_REGION_WRITE");
	unsigned int n, bad, poff;
	__u8 other;
	int pval;
	__u32 w, cmd = 0;
	void *m;

	m = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_SHARED, d->fd, info->offset);
	printf("region.%u.mmap=%s\n", i, m == MAP_FAILED ? errname(errno) : "ok");
	if (m == MAP_FAILED)
		return;
	cfg_read(d, PCI_COMMAND, 2, &cmd);
	cfg_write(d, PCI_COMMAND, 2, cmd | PCI_COMMAND_MEMORY);
	if (poke && sscanf(poke, "%u:%i", &poff, &pval) == 2 && poff < page_size - 64) {
		other = pval ^ 1;
		xfer(d->fd, true, &other, 1, info->offset + poff);
		region_dump(d, i, "before-write", info->offset + poff);
		*(volatile __u8 *)(m + poff) = pval;
		region_dump(d, i, "after-write", info->offset + poff);
	}
	bad = mapped_differ(d, info->offset, m, info->size, &n);
	printf("region.%u.mmap.dwords=%u differ=%u\n", i, n, bad);
	cfg_write(d, PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MEMORY);
	printf("region.%u.mmap.memory-off=%s\n", i, mmio(m, &w, false) ? "SIGBUS" : "read");
	cfg_write(d, PCI_COMMAND, 2, cmd | PCI_COMMAND_MEMORY);
	printf("region.%u.mmap.memory-on=%s\n", i, mmio(m, &w, false) ? "SIGBUS" : "read");
	cfg_write(d, PCI_COMMAND, 2, cmd);
	munmap(m, page_size);
	m = mmap(NULL, len + page_size, PROT_READ, MAP_SHARED, d->fd, info->offset);
	printf("region.%u.mmap.beyond=%s\n", i, m == MAP_FAILED ? errname(errno) : "ok");
	if (m != MAP_FAILED)
		munmap(m, len + page_size);
	m = mmap(NULL, page_size, PROT_READ, MAP_PRIVATE, d->fd, info->offset);
	printf("region.%u.mmap.private=%s\n", i, m == MAP_FAILED ? errname(errno) : "ok");
	if (m != MAP_FAILED)
		munmap(m, page_size);
}

/*
 * The device-specific regions (indexes past the fixed vfio-pci ones), one "key=value" a line:
 * their info and capabilities, their contents read through the region in one pread, the errno
 * of a one-byte write to them (or "written"), and their mappings (see region_mmap()), or the
 * errno of an mmap of those without the MMAP flag.
 */
static int cmd_regions(struct dev *d)
{
	struct vfio_region_info info;
	unsigned char buf[4096];
	unsigned int i, j;
	ssize_t n;

	if (d->info_ret)
		die("VFIO_DEVICE_GET_INFO");
	printf("device.num_regions=%u\n", d->info.num_regions);
	for (i = VFIO_PCI_NUM_REGIONS; i < d->info.num_regions; i++) {
		if (region_info(d->fd, i, &info)) {
			printf("region.%u.errno=%d\n", i, errno);
			continue;
		}
		printf("region.%u.flags=0x%x\nregion.%u.size=0x%llx\n", i, info.flags, i,
		       (unsigned long long)info.size);
		if (info.flags & VFIO_REGION_INFO_FLAG_CAPS)
			print_region_caps(d, i, info.argsz);
		n = pread(d->fd, buf, info.size < sizeof(buf) ? info.size : sizeof(buf),
			  info.offset);
		if (n < 0) {
			printf("region.%u.read.errno=%d\n", i, errno);
		} else {
			printf("region.%u.data=", i);
			for (j = 0; j < n; j++)
				printf("%02x", buf[j]);
			printf("\n");
		}
		if (pwrite(d->fd, buf, 1, info.offset) < 0)
			printf("region.%u.write.errno=%d\n", i, errno);
		else
			printf("region.%u.write=written\n", i);
		if (info.flags & VFIO_REGION_INFO_FLAG_MMAP)
			region_mmap(d, i, &info);
		else
			printf("region.%u.mmap=%s\n", i, region_maps(d, i) ? "ok" : errname(errno));
	}
	return 0;
}

/*
 * With INTx on, the interrupt line's handlers in /proc/interrupts: "vfio-intx(<bdf>)" alone
 * if the line is exclusive (nointxmask, or no INTx masking), else it and the others sharing it.
 */
static int cmd_intx_exclusive(struct dev *d)
{
	int efd = eventfd(0, EFD_NONBLOCK);
	char name[64], line[512], *found = NULL;
	FILE *f;
	long ret;

	snprintf(name, sizeof(name), "vfio-intx(%s)", d->bdf);
	ret = set_irqs(d, 0, TRIGGER(EVENTFD), VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &efd, sizeof(efd));
	result(!ret, "intx-on", "INTx trigger with an eventfd (%s)", errname(ret));
	f = fopen("/proc/interrupts", "r");
	while (!ret && f && fgets(line, sizeof(line), f)) {
		if (strstr(line, name)) {
			found = strdup(line);
			break;
		}
	}
	if (f)
		fclose(f);
	if (found)
		found[strcspn(found, "\n")] = 0;
	result(found && !strchr(found, ','), "intx-exclusive",
	       "the INTx line has %s as its only handler (%s)", name, found ? found : "not found");
	free(found);
	set_irqs(d, 0, TRIGGER(NONE), VFIO_PCI_INTX_IRQ_INDEX, 0, 0, NULL, 0);
	close(efd);
	return failures ? 1 : 0;
}

/* With the device open: "<runtime PM status> <power state>" of the function, from sysfs. */
static int cmd_power(struct dev *d)
{
	char status[32], state[32];
	int ret;

	ret = sysfs_string(d->bdf, "power/runtime_status", status, sizeof(status));
	ret |= sysfs_string(d->bdf, "power_state", state, sizeof(state));
	printf("%s %s\n", status, state);
	return ret || !status[0] || !state[0] ? 1 : 0;
}

/* VFIO_DEVICE_FEATURE with these flags and payload: 0 or -errno. */
static int feature(struct dev *d, __u32 flags, const void *data, __u32 len, __u32 argsz)
{
	__u64 buf[4] = { 0 };
	struct vfio_device_feature *f = (void *)buf;

	f->argsz = argsz ? argsz : sizeof(*f) + len;
	f->flags = flags;
	if (len)
		memcpy(f->data, data, len);
	return ioctl(d->fd, VFIO_DEVICE_FEATURE, f) ? -errno : 0;
}

/* VFIO_DEVICE_PCI_HOT_RESET with these flags, argsz and group fds: 0 or -errno. */
static int hot_reset(struct dev *d, __u32 flags, __u32 argsz, const int *fds, __u32 count)
{
	size_t len = sizeof(struct vfio_pci_hot_reset) + count * sizeof(__s32);
	struct vfio_pci_hot_reset *req = calloc(1, len);
	int ret;

	if (!req)
		die("calloc");
	req->argsz = argsz ? argsz : len;
	req->flags = flags;
	req->count = count;
	if (count)
		memcpy(req->group_fds, fds, count * sizeof(__s32));
	ret = ioctl(d->fd, VFIO_DEVICE_PCI_HOT_RESET, req) ? -errno : 0;
	free(req);
	return ret;
}

/*
 * The hot reset uAPI on the device, "key=value" lines to compare between drivers: the info
 * with too small a buffer, then in full (the functions a reset resets: segment:bus:slot.fn and
 * the group ID or iommufd device ID), then resets: malformed ones, ones without proof of
 * ownership (through the group: no fd, a bad fd, a file that is not a group, too many fds;
 * through the cdev: group fds), and a proper one. After it, config and BAR 0 still answer.
 */
static int cmd_hot_reset(struct dev *d)
{
	struct vfio_pci_hot_reset_info hdr = { .argsz = sizeof(hdr) };
	struct vfio_pci_hot_reset_info *info;
	int ret, null_fd, bad_fd = -1, *fds;
	__u32 i, n, val = 0, count;
	size_t len;

	ret = ioctl(d->fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &hdr) ? -errno : 0;
	printf("info.small=%s count=%u flags=%#x\n", errname(ret), hdr.count, hdr.flags);
	hdr.argsz = offsetof(struct vfio_pci_hot_reset_info, count);
	ret = ioctl(d->fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &hdr) ? -errno : 0;
	printf("info.argsz=%s\n", errname(ret));
	count = hdr.count;
	len = sizeof(*info) + (count + 1) * sizeof(info->devices[0]);
	info = calloc(1, len);
	if (!info)
		die("calloc");
	info->argsz = len;
	ret = ioctl(d->fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info) ? -errno : 0;
	n = ret ? 0 : info->count;
	printf("info=%s count=%u flags=%#x\n", errname(ret), info->count, ret ? 0 : info->flags);
	for (i = 0; i < n; i++) {
		struct vfio_pci_dependent_device *dd = &info->devices[i];

		printf("info.device.%u=%04x:%02x:%02x.%x id=%d\n", i, dd->segment, dd->bus,
		       dd->devfn >> 3, dd->devfn & 7, (int)dd->group_id);
	}
	free(info);

	printf("reset.flags=%s\n", errname(hot_reset(d, 1, 0, NULL, 0)));
	printf("reset.argsz=%s\n", errname(hot_reset(d, 0, 8, NULL, 0)));
	null_fd = open("/dev/null", O_RDWR);
	if (group_fd >= 0) {
		printf("reset.nofds=%s\n", errname(hot_reset(d, 0, 0, NULL, 0)));
		printf("reset.badfd=%s\n", errname(hot_reset(d, 0, 0, &bad_fd, 1)));
		printf("reset.notgroup=%s\n", errname(hot_reset(d, 0, 0, &null_fd, 1)));
		fds = calloc(count + 1, sizeof(*fds));
		if (!fds)
			die("calloc");
		for (i = 0; i <= count; i++)
			fds[i] = group_fd;
		printf("reset.toomany=%s\n", errname(hot_reset(d, 0, 0, fds, count + 1)));
		free(fds);
		printf("reset=%s\n", errname(hot_reset(d, 0, 0, &group_fd, 1)));
	} else {
		printf("reset.fds=%s\n", errname(hot_reset(d, 0, 0, &null_fd, 1)));
		printf("reset=%s\n", errname(hot_reset(d, 0, 0, NULL, 0)));
	}
	close(null_fd);
	ret = cfg_read(d, PCI_VENDOR_ID, 2, &val);
	printf("after.vendor=%s %#06x\n", got(ret), val);
	val = 0;
	ret = region_rw(d, false, VFIO_PCI_BAR0_REGION_INDEX, 0, &val, 4);
	printf("after.bar0=%s\n", got(ret));
	return 0;
}

/* The VF token the hot-reset-vf command sets on the PF and opens its VF with. */
static const __u8 vf_token[16] = { 0x5a, 0x38, 0xb5, 0xcc, 0x01, 0x02, 0x43, 0x04,
				   0x85, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c };

/*
 * Opens function bdf, a VF of the open PF, beside it: through its group, put in the PF's
 * container ("<bdf> vf_token=<uuid>"), its group file in *gfd; or through its cdev, bound with
 * the token to the PF's iommufd and attached to its IOAS. Returns the device fd, or -errno.
 */
static int open_vf_beside(const char *bdf, int *gfd)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind),
		.flags = VFIO_DEVICE_BIND_FLAG_TOKEN,
		.token_uuid_ptr = (__u64)(unsigned long)vf_token,
	};
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	char group[64], path[PATH_MAX], uuid[40];
	int fd;

	*gfd = -1;
	if (container_fd >= 0) {
		if (sysfs_link_name(bdf, "iommu_group", group, sizeof(group)))
			return -ENOENT;
		snprintf(path, sizeof(path), "/dev/vfio/%s", group);
		*gfd = open(path, O_RDWR);
		if (*gfd < 0)
			return -errno;
		if (ioctl(*gfd, VFIO_GROUP_SET_CONTAINER, &container_fd))
			return -errno;
		snprintf(uuid, sizeof(uuid),
			 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 vf_token[0], vf_token[1], vf_token[2], vf_token[3], vf_token[4],
			 vf_token[5], vf_token[6], vf_token[7], vf_token[8], vf_token[9],
			 vf_token[10], vf_token[11], vf_token[12], vf_token[13], vf_token[14],
			 vf_token[15]);
		snprintf(path, sizeof(path), "%s vf_token=%s", bdf, uuid);
		fd = ioctl(*gfd, VFIO_GROUP_GET_DEVICE_FD, path);
		return fd < 0 ? -errno : fd;
	}
	if (cdev_path(bdf, path, sizeof(path)))
		return -ENOENT;
	fd = open(path, O_RDWR);
	if (fd < 0)
		return -errno;
	bind.iommufd = iommufd_fd;
	attach.pt_id = ioas_id;
	if (ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, &bind) ||
	    ioctl(fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* The hot reset info in one line: the count, the flags and "bus:slot.fn=id" per function. */
static void print_hot_reset_info(struct dev *d, const char *key)
{
	__u64 buf[64] = { 0 };
	struct vfio_pci_hot_reset_info *info = (void *)buf;
	int ret;
	__u32 i;

	info->argsz = sizeof(buf);
	ret = ioctl(d->fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info) ? -errno : 0;
	printf("%s=%s count=%u flags=%#x", key, errname(ret), ret ? 0 : info->count,
	       ret ? 0 : info->flags);
	for (i = 0; !ret && i < info->count; i++)
		printf(" %02x:%02x.%x=%d", info->devices[i].bus, info->devices[i].devfn >> 3,
		       info->devices[i].devfn & 7, (int)info->devices[i].devid);
	putchar('\n');
}

/*
 * A hot reset of a PF and its first VF, both on the PF's bus, so in one VFIO device set: with
 * the PF open (d) and its VF token set, the reset is refused while the caller does not own the
 * VF (its group not given; not bound to the caller's iommufd), and done once the VF is open
 * beside the PF (its group file given too; bound to the same iommufd). Afterwards both
 * functions answer, and the VF still reads through its BAR 0. "key=value" lines.
 */
static int cmd_hot_reset_vf(struct dev *d)
{
	char vf[64];
	struct dev *v;
	int fds[2], vgfd, ret;
	__u32 val;

	if (sysfs_link_name(d->bdf, "virtfn0", vf, sizeof(vf))) {
		printf("vf=none\n");
		return 1;
	}
	ret = feature(d, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PCI_VF_TOKEN, vf_token,
		      sizeof(vf_token), 0);
	printf("token=%s\n", errname(ret));
	print_hot_reset_info(d, "info.vf_closed");
	fds[0] = group_fd;
	if (group_fd >= 0)
		ret = hot_reset(d, 0, 0, fds, 1);
	else
		ret = hot_reset(d, 0, 0, NULL, 0);
	printf("reset.vf_not_owned=%s\n", errname(ret));

	v = calloc(1, sizeof(*v));
	if (!v)
		die("calloc");
	v->bdf = vf;
	v->fd = open_vf_beside(vf, &vgfd);
	printf("vf.open=%s\n", errname(v->fd < 0 ? v->fd : 0));
	if (v->fd < 0)
		return 1;
	d->region_ret[CFG] = region_info(d->fd, CFG, &d->region[CFG]);
	v->region_ret[CFG] = region_info(v->fd, CFG, &v->region[CFG]);
	v->region_ret[0] = region_info(v->fd, 0, &v->region[0]);
	print_hot_reset_info(d, "info.vf_open");
	print_hot_reset_info(v, "info.from_vf");
	fds[1] = vgfd;
	if (group_fd >= 0) {
		printf("reset.pf_group_only=%s\n", errname(hot_reset(d, 0, 0, fds, 1)));
		ret = hot_reset(d, 0, 0, fds, 2);
	} else {
		ret = hot_reset(d, 0, 0, NULL, 0);
	}
	printf("reset=%s\n", errname(ret));
	if (group_fd >= 0)
		ret = hot_reset(v, 0, 0, fds, 2);
	else
		ret = hot_reset(v, 0, 0, NULL, 0);
	printf("reset.from_vf=%s\n", errname(ret));
	val = 0;
	ret = cfg_read(d, PCI_VENDOR_ID, 2, &val);
	printf("after.pf.vendor=%s %#06x\n", got(ret), val);
	val = 0;
	ret = cfg_read(v, PCI_VENDOR_ID, 2, &val);
	printf("after.vf.vendor=%s %#06x\n", got(ret), val);
	val = 0;
	ret = region_rw(v, false, VFIO_PCI_BAR0_REGION_INDEX, 0, &val, 4);
	printf("after.vf.bar0=%s\n", got(ret));
	close(v->fd);
	free(v);
	return 0;
}

/* A request to /dev/aer_inject, struct aer_error_inj of drivers/pci/pcie/aer_inject.c. */
struct aer_error_inj {
	__u8 bus;
	__u8 dev;
	__u8 fn;
	__u32 uncor_status;
	__u32 cor_status;
	__u32 header_log0;
	__u32 header_log1;
	__u32 header_log2;
	__u32 header_log3;
	__u32 domain;
};

/* Injects an uncorrectable, non-fatal error (completer abort) into function bdf: 0 or -errno. */
static int aer_inject(const char *bdf)
{
	struct aer_error_inj e = { .uncor_status = PCI_ERR_UNC_COMP_ABORT };
	unsigned int domain, bus, dev, fn;
	int fd, ret = 0;

	if (sscanf(bdf, "%x:%x:%x.%x", &domain, &bus, &dev, &fn) != 4)
		return -EINVAL;
	e.domain = domain;
	e.bus = bus;
	e.dev = dev;
	e.fn = fn;
	fd = open("/dev/aer_inject", O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, &e, sizeof(e)) != sizeof(e))
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * The error eventfd (VFIO_PCI_ERR_IRQ_INDEX): an error the PCI core detects on the function
 * (an AER uncorrectable, non-fatal error, injected) signals it once set; after it is taken
 * back, nothing is signalled. "key=value" lines.
 */
static int cmd_aer(struct dev *d)
{
	int efd = eventfd(0, EFD_NONBLOCK), none = -1;
	__u32 vendor = 0;
	long ret;

	ret = set_irqs(d, 0, TRIGGER(EVENTFD), VFIO_PCI_ERR_IRQ_INDEX, 0, 1, &efd, sizeof(efd));
	printf("err.set=%s\n", errname(ret));
	ret = aer_inject(d->bdf);
	printf("err.inject=%s fired=%s\n", errname(ret), fired(efd, 3000) ? "yes" : "no");
	ret = set_irqs(d, 0, TRIGGER(EVENTFD), VFIO_PCI_ERR_IRQ_INDEX, 0, 1, &none, sizeof(none));
	printf("err.unset=%s\n", errname(ret));
	ret = aer_inject(d->bdf);
	printf("err.inject.unset=%s fired=%s\n", errname(ret), fired(efd, 1000) ? "yes" : "no");
	ret = cfg_read(d, PCI_VENDOR_ID, 2, &vendor);
	printf("after.vendor=%s %#06x\n", got(ret), vendor);
	close(efd);
	return 0;
}

/*
 * A transfer of len bytes (at most 4) at pos of the VGA region at off: "<count> bytes", and
 * for a read with show, the value read.
 */
static const char *vga_xfer(struct dev *d, __u64 off, bool write, __u64 pos, __u32 *val,
			    size_t len, bool show)
{
	static char buf[4][48];
	static int next;
	long ret = xfer(d->fd, write, val, len, off + pos);

	next = (next + 1) % 4;
	if (ret < 0 || write || !show)
		snprintf(buf[next], sizeof(buf[next]), "%s", got(ret));
	else
		snprintf(buf[next], sizeof(buf[next]), "%s %#x", got(ret), *val);
	return buf[next];
}

/*
 * The VGA region of a VGA function (QEMU's std VGA), "key=value" lines: its info; the
 * sequencer's index register (port 0x3c4) written and read back, and with its data register
 * (0x3c5) in one 2-byte read; a pattern written to the text buffer (0xb8000) and read back,
 * then the original written back; accesses that cross the end of a range (cut short) and
 * ones outside the ranges (EINVAL). A function without a VGA region: its info and one read.
 */
static int cmd_vga(struct dev *d)
{
	struct vfio_region_info info;
	__u32 val = 0, orig = 0;
	__u64 off;
	int ret;

	ret = region_info(d->fd, VFIO_PCI_VGA_REGION_INDEX, &info);
	printf("vga.info=%s size=%#llx flags=%#x\n", errname(ret),
	       ret ? 0ULL : (unsigned long long)info.size, ret ? 0 : info.flags);
	off = REGION_OFFSET(VFIO_PCI_VGA_REGION_INDEX);
	if (ret) {
		printf("vga.read=%s\n", vga_xfer(d, off, false, 0x3c4, &val, 1, false));
		return 0;
	}
	off = info.offset;
	val = 2;
	printf("seq.index.write=%s\n", vga_xfer(d, off, true, 0x3c4, &val, 1, false));
	val = 0;
	printf("seq.index=%s\n", vga_xfer(d, off, false, 0x3c4, &val, 1, true));
	val = 0;
	printf("seq.index.word=%s\n", vga_xfer(d, off, false, 0x3c4, &val, 2, false));
	printf("text.read=%s\n", vga_xfer(d, off, false, 0xb8000, &orig, 4, false));
	val = 0x5a3c1e0f;
	printf("text.write=%s\n", vga_xfer(d, off, true, 0xb8000, &val, 4, false));
	val = 0;
	printf("text.readback=%s\n", vga_xfer(d, off, false, 0xb8000, &val, 4, true));
	printf("text.restore=%s\n", vga_xfer(d, off, true, 0xb8000, &orig, 4, false));
	printf("cross.color=%s\n", vga_xfer(d, off, false, 0x3de, &val, 4, false));
	printf("cross.mono=%s\n", vga_xfer(d, off, false, 0x3ba, &val, 4, false));
	printf("cross.mem=%s\n", vga_xfer(d, off, false, 0xbfffe, &val, 4, false));
	printf("hole.0x3bc=%s\n", vga_xfer(d, off, false, 0x3bc, &val, 1, false));
	printf("hole.0x3e0=%s\n", vga_xfer(d, off, false, 0x3e0, &val, 1, false));
	printf("hole.0x9ffff=%s\n", vga_xfer(d, off, false, 0x9ffff, &val, 1, false));
	printf("end=%s\n", vga_xfer(d, off, false, 0xc0000, &val, 1, false));
	return 0;
}

/*
 * QEMU's e1000 (8086:100e) register RDBAL, in memory BAR 0, which only a reset of the function
 * clears: what it holds at open, then a pattern written and read back. Run twice, the second
 * run shows whether the function was reset in between, as when the first run's close reset it.
 */
static int cmd_e1000_reg(struct dev *d)
{
	const __u64 pos = 0x2800;
	__u32 val = 0;
	long ret;

	ret = region_rw(d, false, VFIO_PCI_BAR0_REGION_INDEX, pos, &val, 4);
	printf("reg.at_open=%s 0x%08x\n", got(ret), val);
	val = 0x12345670;
	ret = region_rw(d, true, VFIO_PCI_BAR0_REGION_INDEX, pos, &val, 4);
	printf("reg.write=%s\n", got(ret));
	val = 0;
	ret = region_rw(d, false, VFIO_PCI_BAR0_REGION_INDEX, pos, &val, 4);
	printf("reg.read=%s 0x%08x\n", got(ret), val);
	return 0;
}

/* VFIO_DEVICE_RESET in a thread of its own, for cmd_ioeventfd_reset(). */
struct reset_run {
	struct dev *d;
	long ret;
	struct timespec start, end;
};

static void *reset_thread(void *p)
{
	struct reset_run *r = p;

	clock_gettime(CLOCK_MONOTONIC, &r->start);
	r->ret = ioctl(r->d->fd, VFIO_DEVICE_RESET) ? -errno : 0;
	clock_gettime(CLOCK_MONOTONIC, &r->end);
	return NULL;
}

/* Milliseconds from a to b. */
static long ms_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

/* Reads a BAR 0 dword until it is <want>, for up to a second: what it is then. */
static __u32 bar0_poll(struct dev *d, __u64 pos, __u32 want)
{
	__u32 val = 0;
	int i;

	for (i = 0; i < 50; i++) {
		region_rw(d, false, VFIO_PCI_BAR0_REGION_INDEX, pos, &val, 4);
		if (val == want)
			break;
		usleep(20000);
	}
	return val;
}

/*
 * An ioeventfd signalled while VFIO_DEVICE_RESET resets QEMU's igb (8086:10c9), whose FLR takes
 * over 100 ms: "key=value" lines. The ioeventfd writes a pattern to register RDBAL of receive
 * queue 0, in memory BAR 0, which the reset clears. C vfio-pci defers a write signalled during
 * a reset until the reset is over: the register then holds the pattern. First, the pattern
 * written by pwrite does not survive a reset. The eventfd is signalled 50 ms into the reset,
 * which must have run for 20 ms and still run for 20 ms then (tried up to 5 times).
 */
static int cmd_ioeventfd_reset(struct dev *d)
{
	const __u64 pos = 0xc000;
	struct vfio_device_ioeventfd req = {
		.argsz = sizeof(req),
		.flags = VFIO_DEVICE_IOEVENTFD_32,
		.offset = region_offset(d, VFIO_PCI_BAR0_REGION_INDEX) + pos,
		.data = 0x12345600,
	};
	struct reset_run run = { .d = d };
	struct timespec signalled;
	bool during = false;
	__u32 cmd = 0, val;
	pthread_t thread;
	int try;
	long ret;

	req.fd = eventfd(0, 0);
	cfg_read(d, PCI_COMMAND, 2, &cmd);
	cfg_write(d, PCI_COMMAND, 2, cmd | PCI_COMMAND_MEMORY);
	ret = ioctl(d->fd, VFIO_DEVICE_IOEVENTFD, &req) ? -errno : 0;
	printf("ioeventfd=%s\n", errname(ret));
	if (ret)
		return 1;
	val = 0;
	region_rw(d, true, VFIO_PCI_BAR0_REGION_INDEX, pos, &val, 4);
	eventfd_write(req.fd, 1);
	printf("signalled=0x%08x\n", bar0_poll(d, pos, req.data));
	/* The control: no signal, and the reset clears the register. */
	val = req.data;
	region_rw(d, true, VFIO_PCI_BAR0_REGION_INDEX, pos, &val, 4);
	ret = ioctl(d->fd, VFIO_DEVICE_RESET) ? -errno : 0;
	val = ~0U;
	region_rw(d, false, VFIO_PCI_BAR0_REGION_INDEX, pos, &val, 4);
	printf("reset=%s cleared=0x%08x\n", errname(ret), val);
	for (try = 0; try < 5 && !during; try++) {
		val = 0;
		region_rw(d, true, VFIO_PCI_BAR0_REGION_INDEX, pos, &val, 4);
		if (pthread_create(&thread, NULL, reset_thread, &run))
			die("pthread_create");
		usleep(50000);
		clock_gettime(CLOCK_MONOTONIC, &signalled);
		eventfd_write(req.fd, 1);
		pthread_join(thread, NULL);
		if (run.ret && run.ret != -EAGAIN)
			break;
		during = !run.ret && ms_between(&run.start, &signalled) >= 20 &&
			 ms_between(&signalled, &run.end) >= 20;
	}
	printf("reset=%s\nsignalled-during-reset=%s\n", errname(run.ret), during ? "yes" : "no");
	/* A deferred write is done from a workqueue. */
	printf("after-reset=0x%08x\n", bar0_poll(d, pos, req.data));
	req.fd = -1;
	ret = ioctl(d->fd, VFIO_DEVICE_IOEVENTFD, &req) ? -errno : 0;
	printf("ioeventfd.removed=%s\n", errname(ret));
	return 0;
}

/* The function's runtime PM status once it is <want> or after ms: what it is then. */
static const char *runtime_status(struct dev *d, const char *want, int ms)
{
	static char status[32];
	struct timespec step = { .tv_nsec = 20000000 };

	for (; ms >= 0; ms -= 20) {
		sysfs_string(d->bdf, "power/runtime_status", status, sizeof(status));
		if (!strcmp(status, want))
			break;
		nanosleep(&step, NULL);
	}
	return status;
}

/*
 * The low-power device features, as "key=value" lines to compare between drivers: PROBE,
 * malformed requests, entry (the function runtime suspends), an access while in low power
 * (resumed for it, suspended again), exit; entry with a wakeup eventfd, which an access
 * signals, ending low power.
 */
static int cmd_low_power(struct dev *d)
{
	const __u32 entry = VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY;
	const __u32 wakeup = VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP;
	const __u32 exit_ = VFIO_DEVICE_FEATURE_LOW_POWER_EXIT;
	const __u32 set = VFIO_DEVICE_FEATURE_SET, get = VFIO_DEVICE_FEATURE_GET;
	const __u32 probe = VFIO_DEVICE_FEATURE_PROBE;
	struct vfio_device_low_power_entry_with_wakeup w = { .wakeup_eventfd = -1 };
	int efd = eventfd(0, EFD_NONBLOCK);
	__u32 val = 0;
	long ret;

	printf("probe.entry=%s\n", errname(feature(d, entry | probe | set, NULL, 0, 0)));
	printf("probe.entry.get=%s\n", errname(feature(d, entry | probe | get, NULL, 0, 0)));
	printf("probe.wakeup=%s\n", errname(feature(d, wakeup | probe | set, NULL, 0, 0)));
	printf("probe.exit=%s\n", errname(feature(d, exit_ | probe | set, NULL, 0, 0)));
	printf("entry.get=%s\n", errname(feature(d, entry | get, NULL, 0, 0)));
	printf("wakeup.badfd=%s\n", errname(feature(d, wakeup | set, &w, sizeof(w), 0)));
	w.wakeup_eventfd = efd;
	printf("wakeup.argsz=%s\n", errname(feature(d, wakeup | set, &w, sizeof(w),
						       sizeof(struct vfio_device_feature) + 4)));
	printf("status=%s\n", runtime_status(d, "active", 0));

	printf("entry=%s\n", errname(feature(d, entry | set, NULL, 0, 0)));
	printf("entry.status=%s\n", runtime_status(d, "suspended", 3000));
	printf("entry.again=%s\n", errname(feature(d, entry | set, NULL, 0, 0)));
	ret = cfg_read(d, PCI_VENDOR_ID, 2, &val);
	printf("entry.vendor=%s %#06x\n", got(ret), val);
	printf("entry.after-read=%s\n", runtime_status(d, "suspended", 3000));
	printf("exit=%s\n", errname(feature(d, exit_ | set, NULL, 0, 0)));
	printf("exit.status=%s\n", runtime_status(d, "active", 3000));
	printf("exit.again=%s\n", errname(feature(d, exit_ | set, NULL, 0, 0)));

	printf("wakeup=%s\n", errname(feature(d, wakeup | set, &w, sizeof(w), 0)));
	printf("wakeup.status=%s\n", runtime_status(d, "suspended", 3000));
	ret = cfg_read(d, PCI_VENDOR_ID, 2, &val);
	printf("wakeup.vendor=%s %#06x\n", got(ret), val);
	printf("wakeup.fired=%s\n", fired(efd, 2000) ? "yes" : "no");
	usleep(500000);
	printf("wakeup.after-read=%s\n", runtime_status(d, "active", 0));
	printf("wakeup.exit=%s\n", errname(feature(d, exit_ | set, NULL, 0, 0)));
	close(efd);
	return 0;
}

/*
 * MSI-X with two vectors that signal the same eventfd, then off: "key=value" lines. The driver
 * registers an IRQ bypass producer per vector, keyed by the eventfd, so the second one is
 * refused (EBUSY), which both drivers log; the vectors work regardless.
 */
static int cmd_msix_one_eventfd(struct dev *d)
{
	int efd = eventfd(0, EFD_NONBLOCK);
	int fds[2] = { efd, efd };
	long ret;

	ret = set_irqs(d, 0, TRIGGER(EVENTFD), VFIO_PCI_MSIX_IRQ_INDEX, 0, 2, fds, sizeof(fds));
	printf("msix=%s\n", errname(ret));
	ret = set_irqs(d, 0, TRIGGER(NONE), VFIO_PCI_MSIX_IRQ_INDEX, 1, 1, NULL, 0);
	printf("msix.loopback=%s fired=%s\n", errname(ret), fired(efd, 1000) ? "yes" : "no");
	ret = set_irqs(d, 0, TRIGGER(NONE), VFIO_PCI_MSIX_IRQ_INDEX, 0, 0, NULL, 0);
	printf("msix.off=%s\n", errname(ret));
	close(efd);
	return 0;
}

/*
 * BARs smaller than a page, which C vfio-pci maps by their page when they start one, once it
 * reserved the rest of it: "key=value" lines for each BAR (size, flags, whether a page of it
 * maps); for those that map, every dword read through the mapping as through pread (but for
 * those that change between two preads), the first bytes, and with
 * VFIO_CLIENT_SCRATCH=<bar>:<offset> a read-write dword written through the mapping and read
 * by pread, then the other way round; the reservations in /proc/iomem while
 * the device is open. Then the mmap and memory-enable checks.
 */
static int cmd_subpage(struct dev *d)
{
	const char *scratch = getenv("VFIO_CLIENT_SCRATCH");
	unsigned int i, n, bad, sbar = NUM_BARS, soff = 0;
	__u32 v, w, orig;
	__u8 head[8];
	char line[256];
	FILE *f;
	void *m;

	if (scratch && sscanf(scratch, "%u:%u", &sbar, &soff) != 2)
		sbar = NUM_BARS;
	for (i = 0; i < NUM_BARS; i++) {
		if (!bar_present(d, i))
			continue;
		m = map(d, i, 0, page_size, MAP_SHARED);
		printf("bar%u size=%#llx flags=%#x map-page=%s\n", i,
		       (unsigned long long)region_size(d, i), d->region[i].flags,
		       m ? "ok" : errname(errno));
		if (!m)
			continue;
		bad = mapped_differ(d, region_offset(d, i), m, region_size(d, i), &n);
		printf("bar%u.dwords=%u differ=%u\n", i, n, bad);
		result(!bad, "subpage-dwords", "BAR%u: each dword mapped reads as by pread", i);
		memset(head, 0, sizeof(head));
		region_rw(d, false, i, 0, head, sizeof(head));
		printf("bar%u.head=%02x:%02x:%02x:%02x:%02x:%02x:%02x:%02x\n", i, head[0],
		       head[1], head[2], head[3], head[4], head[5], head[6], head[7]);
		if (i == sbar) {
			orig = 0;
			region_rw(d, false, i, soff, &orig, 4);
			v = 0x5aa5c33c;
			w = 0;
			mmio(m + soff, &v, true);
			region_rw(d, false, i, soff, &w, 4);
			printf("bar%u.scratch mapped-write=%#010x pread=%#010x\n", i, v, w);
			result(v == w, "subpage-write-mapped",
			       "BAR%u: a dword written through the mapping reads back by pread", i);
			v = 0x01234567;
			w = 0;
			region_rw(d, true, i, soff, &v, 4);
			mmio(m + soff, &w, false);
			printf("bar%u.scratch pwrite=%#010x mapped-read=%#010x\n", i, v, w);
			result(v == w, "subpage-write-pwrite",
			       "BAR%u: a dword written by pwrite reads back through the mapping", i);
			region_rw(d, true, i, soff, &orig, 4);
		}
		munmap(m, page_size);
	}
	f = fopen("/proc/iomem", "r");
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "vfio sub-page reserved"))
			printf("iomem: %s", line + strspn(line, " "));
	if (f)
		fclose(f);
	check_mmap(d);
	check_memory_enable(d);
	return failures ? 1 : 0;
}

/* The commands other than the checks ("generic", "edu"), and what runs them. */
static const struct {
	const char *name;
	int (*run)(struct dev *d);
} commands[] = {
	{ "info", cmd_info },
	{ "regions", cmd_regions },
	{ "intx-exclusive", cmd_intx_exclusive },
	{ "power", cmd_power },
	{ "hot-reset", cmd_hot_reset },
	{ "hot-reset-vf", cmd_hot_reset_vf },
	{ "e1000-reg", cmd_e1000_reg },
	{ "vga", cmd_vga },
	{ "aer", cmd_aer },
	{ "low-power", cmd_low_power },
	{ "msix-one-eventfd", cmd_msix_one_eventfd },
	{ "subpage", cmd_subpage },
	{ "ioeventfd-reset", cmd_ioeventfd_reset },
};

int main(int argc, char **argv)
{
	int (*run)(struct dev *d) = NULL;
	struct dev *d;
	size_t i;

	if (argc != 4) {
		fprintf(stderr,
			"usage: %s info|regions|generic|edu|intx-exclusive|power|hot-reset|"
			"hot-reset-vf|e1000-reg|vga|aer|low-power|msix-one-eventfd|subpage|"
			"ioeventfd-reset <bdf> group|cdev\n",
			argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	page_size = sysconf(_SC_PAGESIZE);
	d = calloc(1, sizeof(*d));
	if (!d)
		die("calloc");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			run = commands[i].run;
	if (!run && strcmp(argv[1], "generic") && strcmp(argv[1], "edu")) {
		fprintf(stderr, "unknown command %s\n", argv[1]);
		return 2;
	}
	dev_open(d, argv[2], argv[3]);
	if (run)
		return run(d);
	check_generic(d);
	if (!strcmp(argv[1], "edu"))
		check_edu(d);
	else
		check_reset(d);
	return failures ? 1 : 0;
}
