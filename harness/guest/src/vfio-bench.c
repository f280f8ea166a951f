// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-bench: times one VFIO operation, for the benchmark of C vfio-pci against the Rust one
 * (harness/guest/bench runs it for each driver in turn; harness/scripts/bench-report.py reads
 * what it prints).
 *
 *   vfio-bench [-n iterations] [-b batches] [-w warmup] <op> <arguments>
 *
 *   baseline                          4-byte pread of /dev/zero: no VFIO, the noise floor
 *   config-read <bdf> group|cdev      4-byte pread of the config region at 0
 *   bar0-read   <bdf> group|cdev      4-byte pread of the BAR0 region at 0 (edu: identification)
 *   bar0-write  <bdf> group|cdev      4-byte pwrite of the BAR0 region at 4 (edu: liveness)
 *   region-info <bdf> group|cdev      VFIO_DEVICE_GET_REGION_INFO of BAR0
 *   reset       <bdf> group|cdev      VFIO_DEVICE_RESET
 *   msi-wake    <bdf> group|cdev      QEMU's edu with MSI on (one eventfd): from the write that
 *                                     raises its interrupt (BAR0 0x60) until the eventfd read
 *                                     returns; the acknowledgment (0x64) is not timed
 *   open-close  <bdf> group|cdev      the device fd opened and closed: VFIO_GROUP_GET_DEVICE_FD on
 *                                     the group (container set up once), or the cdev opened,
 *                                     bound to an iommufd and attached to an IOAS (both made once);
 *                                     reported as open-close-group or open-close-cdev
 *   bind-unbind <bdf> <driver>        the device bound to <driver> through its sysfs bind file,
 *                                     then unbound; it starts unbound, driver_override <driver>
 *   sriov       <pf> <driver> [n]     from the write of n to sriov_numvfs (default: the PF's
 *                                     sriov_totalvfs; sriov_drivers_autoprobe 0) until each VF
 *                                     is bound to <driver> through driver_override and open
 *                                     through its cdev; one such cycle per iteration
 *
 * The process runs on CPU 0 only, and so do the device's interrupts for msi-wake. Each batch
 * times its iterations as a whole with CLOCK_MONOTONIC, after untimed warm-up ones (at least
 * one: it checks that the operation works). msi-wake, bind-unbind and sriov time
 * each iteration's part that is the operation. Output, once every batch is done:
 *   result <op> <ns per op> <iterations>          one line per batch
 *   detail <op>.<part> <ns per op> <iterations>   the parts of an op (bind-unbind, sriov)
 * or instead, if the operation failed at any point:
 *   skip <op> <reason>
 * An error path is never timed: a driver that refuses an operation gets "skip", not a number.
 * Other lines start with "#". Exit status: 0 with a result or a skip, 1 on bad usage.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/pci_regs.h>
#include <linux/types.h>
#include <linux/vfio.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_BATCHES 64
#define MAX_PARTS 4
#define MAX_VFS 64

/* QEMU's edu device, BAR0 (hw/misc/edu.c). */
#define EDU_IDENT 0x00
#define EDU_LIVENESS 0x04
#define EDU_IRQ_RAISE 0x60
#define EDU_IRQ_ACK 0x64

static unsigned long iterations = 1000, batches = 5;
/* Untimed iterations first; -1: the op's default. */
static long warmup = -1;

/* The op being run, for skip(). */
static const char *op_name = "?";

/* Run before a skip is printed: undoes what an op set up (sriov). */
static void (*cleanup)(void);

/* The warm-up iterations: -w, else def; at least min. */
static unsigned long warm(unsigned long def, unsigned long min)
{
	unsigned long n = warmup < 0 ? def : (unsigned long)warmup;

	return n < min ? min : n;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* An errno for messages: "EINVAL", or the number. */
static const char *errname(int err)
{
	static char buf[32];
	const char *name;

	if (err < 0)
		err = -err;
	name = strerrorname_np(err);
	if (name)
		return name;
	snprintf(buf, sizeof(buf), "errno %d", err);
	return buf;
}

/* The op cannot be timed on this driver: say why, and stop. */
static __attribute__((noreturn, format(printf, 1, 2))) void skip(const char *fmt, ...)
{
	va_list ap;

	if (cleanup)
		cleanup();
	printf("skip %s ", op_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	exit(0);
}

/* Timings of an op (and of its parts): ns per iteration of each batch. */
struct timing {
	char name[64];
	bool detail;
	unsigned long iters;
	double ns[MAX_BATCHES];
};

static struct timing timings[MAX_PARTS];
static unsigned int num_timings;

static struct timing *timing(const char *name, bool detail)
{
	struct timing *t = &timings[num_timings++];

	snprintf(t->name, sizeof(t->name), "%s", name);
	t->detail = detail;
	t->iters = iterations;
	return t;
}

static void print_timings(void)
{
	unsigned int i, b;

	for (i = 0; i < num_timings; i++)
		for (b = 0; b < batches; b++)
			printf("%s %s %.1f %lu\n", timings[i].detail ? "detail" : "result",
			       timings[i].name, timings[i].ns[b], timings[i].iters);
}

static int sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static long sysfs_number(const char *dev, const char *attr)
{
	char path[PATH_MAX], buf[32];
	long val = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", dev, attr);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f))
		val = strtol(buf, NULL, 0);
	fclose(f);
	return val;
}

/* The name of what a link in the device's sysfs directory points to. */
static int sysfs_link(const char *bdf, const char *link, char *out, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, link);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	snprintf(out, len, "%s", basename(target));
	return 0;
}

/* /dev/vfio/devices/vfioX of a device bound to a VFIO driver. */
static int cdev_path(const char *bdf, char *out, size_t len)
{
	char dir[PATH_MAX];
	struct dirent *de;
	int ret = -ENOENT;
	DIR *d;

	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "vfio", 4)) {
			snprintf(out, len, "/dev/vfio/devices/%s", de->d_name);
			ret = 0;
		}
	closedir(d);
	return ret;
}

/* The device's IOMMU group, opened and set to a new type1v2 container. */
static int open_group(const char *bdf)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char group[64], path[PATH_MAX];
	int container, gfd, ret;

	ret = sysfs_link(bdf, "iommu_group", group, sizeof(group));
	if (ret)
		skip("open: the iommu_group of %s: %s", bdf, errname(ret));
	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0)
		skip("open: /dev/vfio/vfio: %s", errname(errno));
	snprintf(path, sizeof(path), "/dev/vfio/%s", group);
	gfd = open(path, O_RDWR | O_CLOEXEC);
	if (gfd < 0)
		skip("open: %s: %s", path, errname(errno));
	if (ioctl(gfd, VFIO_GROUP_GET_STATUS, &status))
		skip("open: VFIO_GROUP_GET_STATUS: %s", errname(errno));
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		skip("open: group %s is not viable", group);
	if (ioctl(gfd, VFIO_GROUP_SET_CONTAINER, &container))
		skip("open: VFIO_GROUP_SET_CONTAINER: %s", errname(errno));
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		skip("open: VFIO_SET_IOMMU type1v2: %s", errname(errno));
	return gfd;
}

/* A new iommufd with one IOAS. */
static int open_iommufd(__u32 *ioas)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	int iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);

	if (iommufd < 0)
		skip("open: /dev/iommu: %s", errname(errno));
	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc))
		skip("open: IOMMU_IOAS_ALLOC: %s", errname(errno));
	*ioas = alloc.out_ioas_id;
	return iommufd;
}

/* A device cdev opened, bound to iommufd and attached to the IOAS: the fd, or -errno. */
static int open_cdev(const char *path, int iommufd, __u32 ioas, const char **what)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = iommufd };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach), .pt_id = ioas };
	int dfd = open(path, O_RDWR | O_CLOEXEC), err;

	*what = "open";
	if (dfd < 0)
		return -errno;
	*what = "VFIO_DEVICE_BIND_IOMMUFD";
	if (ioctl(dfd, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		goto err;
	*what = "VFIO_DEVICE_ATTACH_IOMMUFD_PT";
	if (ioctl(dfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		goto err;
	return dfd;
err:
	err = errno;
	close(dfd);
	return -err;
}

/* The state the timed operations work on. */
struct ctx {
	const char *bdf;
	int fd;			/* the device */
	__u64 cfg;		/* the config region's offset */
	__u64 bar0;		/* BAR0's region offset */
	struct vfio_region_info info;
	int zero;		/* /dev/zero, for baseline */
	int gfd;		/* open-close group: the group */
	int iommufd;		/* open-close cdev */
	__u32 ioas;
	char cdev[PATH_MAX];
	const char *what;	/* what failed */
};

/* The device, opened through its group or its cdev, and its region offsets. */
static void open_device(struct ctx *c, const char *how)
{
	struct vfio_region_info info = { .argsz = sizeof(info) };
	const char *what;
	int ret;

	if (!strcmp(how, "group")) {
		c->gfd = open_group(c->bdf);
		c->fd = ioctl(c->gfd, VFIO_GROUP_GET_DEVICE_FD, c->bdf);
		if (c->fd < 0)
			skip("open: VFIO_GROUP_GET_DEVICE_FD: %s", errname(errno));
	} else if (!strcmp(how, "cdev")) {
		ret = cdev_path(c->bdf, c->cdev, sizeof(c->cdev));
		if (ret)
			skip("open: the vfio-dev of %s: %s", c->bdf, errname(ret));
		c->iommufd = open_iommufd(&c->ioas);
		c->fd = open_cdev(c->cdev, c->iommufd, c->ioas, &what);
		if (c->fd < 0)
			skip("open: %s: %s", what, errname(c->fd));
	} else {
		fprintf(stderr, "vfio-bench: unknown path %s (group or cdev)\n", how);
		exit(1);
	}
	info.index = VFIO_PCI_CONFIG_REGION_INDEX;
	if (ioctl(c->fd, VFIO_DEVICE_GET_REGION_INFO, &info))
		skip("open: VFIO_DEVICE_GET_REGION_INFO config: %s", errname(errno));
	c->cfg = info.offset;
	info.argsz = sizeof(info);
	info.index = VFIO_PCI_BAR0_REGION_INDEX;
	if (ioctl(c->fd, VFIO_DEVICE_GET_REGION_INFO, &info))
		skip("open: VFIO_DEVICE_GET_REGION_INFO BAR0: %s", errname(errno));
	c->bar0 = info.offset;
}

/* The operations timed as a whole: 0, or -errno with c->what set. */
static int op_baseline(struct ctx *c)
{
	__u32 v;

	c->what = "pread /dev/zero";
	return pread(c->zero, &v, 4, 0) == 4 ? 0 : -(errno ?: EIO);
}

static int op_config_read(struct ctx *c)
{
	__u32 v;

	c->what = "pread config 0";
	return pread(c->fd, &v, 4, c->cfg) == 4 ? 0 : -(errno ?: EIO);
}

static int op_bar0_read(struct ctx *c)
{
	__u32 v;

	c->what = "pread BAR0 0";
	return pread(c->fd, &v, 4, c->bar0 + EDU_IDENT) == 4 ? 0 : -(errno ?: EIO);
}

static int op_bar0_write(struct ctx *c)
{
	__u32 v = 0x5a5a5a5a;

	c->what = "pwrite BAR0 4";
	return pwrite(c->fd, &v, 4, c->bar0 + EDU_LIVENESS) == 4 ? 0 : -(errno ?: EIO);
}

static int op_region_info(struct ctx *c)
{
	c->what = "VFIO_DEVICE_GET_REGION_INFO BAR0";
	c->info.argsz = sizeof(c->info);
	c->info.index = VFIO_PCI_BAR0_REGION_INDEX;
	return ioctl(c->fd, VFIO_DEVICE_GET_REGION_INFO, &c->info) ? -errno : 0;
}

static int op_reset(struct ctx *c)
{
	c->what = "VFIO_DEVICE_RESET";
	return ioctl(c->fd, VFIO_DEVICE_RESET) ? -errno : 0;
}

static int op_open_close_group(struct ctx *c)
{
	int dfd = ioctl(c->gfd, VFIO_GROUP_GET_DEVICE_FD, c->bdf);

	c->what = "VFIO_GROUP_GET_DEVICE_FD";
	if (dfd < 0)
		return -errno;
	c->what = "close";
	return close(dfd) ? -errno : 0;
}

static int op_open_close_cdev(struct ctx *c)
{
	int dfd = open_cdev(c->cdev, c->iommufd, c->ioas, &c->what);

	if (dfd < 0)
		return dfd;
	c->what = "close";
	return close(dfd) ? -errno : 0;
}

/* Times op in batches, after the warm-up. */
static void time_op(struct ctx *c, int (*op)(struct ctx *))
{
	struct timing *t = timing(op_name, false);
	unsigned long i, b;
	__u64 start;
	int ret;

	for (i = 0; i < warm(10, 1); i++) {
		ret = op(c);
		if (ret)
			skip("%s: %s", c->what, errname(ret));
	}
	for (b = 0; b < batches; b++) {
		start = now_ns();
		for (i = 0; i < iterations; i++) {
			ret = op(c);
			if (ret)
				skip("%s: %s (batch %lu, iteration %lu)", c->what, errname(ret),
				     b, i);
		}
		t->ns[b] = (double)(now_ns() - start) / iterations;
	}
}

static int set_irqs(int fd, __u32 flags, __u32 index, __u32 count, int efd)
{
	union {
		struct vfio_irq_set hdr;
		__u8 bytes[sizeof(struct vfio_irq_set) + sizeof(int)];
	} u;

	memset(&u, 0, sizeof(u));
	u.hdr.argsz = sizeof(u.hdr) + (flags & VFIO_IRQ_SET_DATA_EVENTFD ? sizeof(efd) : 0);
	u.hdr.flags = flags;
	u.hdr.index = index;
	u.hdr.count = count;
	memcpy(u.bytes + sizeof(u.hdr), &efd, sizeof(efd));
	return ioctl(fd, VFIO_DEVICE_SET_IRQS, &u.hdr) ? -errno : 0;
}

/*
 * Steers the device's interrupts (the lines of /proc/interrupts that name it) to the CPU this
 * process is pinned to (see main), so that an MSI wakes the reader on its own CPU whichever
 * CPU the kernel chose: the wake is then the driver's path, not a trip between vCPUs.
 */
static void steer_irqs(const char *bdf)
{
	char line[1024], path[64];
	unsigned int n = 0;
	FILE *f = fopen("/proc/interrupts", "re");
	int irq;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, bdf) || sscanf(line, " %d:", &irq) != 1)
			continue;
		snprintf(path, sizeof(path), "/proc/irq/%d/smp_affinity_list", irq);
		if (sysfs_write(path, "0"))
			printf("# IRQ %d of %s: cannot move it to CPU 0\n", irq, bdf);
		else
			n++;
	}
	fclose(f);
	printf("# %u IRQ(s) of %s on CPU 0\n", n, bdf);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* One edu interrupt, raised and waited for: its time in ns, or 0 if it did not come. */
static __u64 msi_once(struct ctx *c, int efd)
{
	__u32 raise = 1, ack = 1;
	__u64 start, end, count;

	start = now_ns();
	if (pwrite(c->fd, &raise, 4, c->bar0 + EDU_IRQ_RAISE) != 4)
		skip("pwrite BAR0 0x60 (raise): %s", errname(errno));
	if (read(efd, &count, sizeof(count)) != sizeof(count)) {
		if (errno == EINTR)
			return 0;
		skip("read of the eventfd: %s", errname(errno));
	}
	end = now_ns();
	if (pwrite(c->fd, &ack, 4, c->bar0 + EDU_IRQ_ACK) != 4)
		skip("pwrite BAR0 0x64 (ack): %s", errname(errno));
	return end - start;
}

/*
 * edu's interrupt through MSI. VFIO enables MSI in the device when SET_IRQS sets the MSI
 * trigger; edu then signals MSI on each raise, if bus mastering is on (QEMU drops the MSI
 * write otherwise). A driver without MSI fails SET_IRQS: skipped. The eventfd is read
 * blocking; an alarm turns an interrupt that never comes into a skip, not a hang.
 */
static void bench_msi(struct ctx *c)
{
	struct vfio_irq_info irq = { .argsz = sizeof(irq), .index = VFIO_PCI_MSI_IRQ_INDEX };
	const __u32 trigger = VFIO_IRQ_SET_ACTION_TRIGGER;
	struct sigaction sa = { .sa_handler = on_alarm };
	struct timing *t = timing(op_name, false);
	__u16 cmd, on;
	unsigned long i, b;
	__u64 ns, sum;
	int efd, ret;

	if (ioctl(c->fd, VFIO_DEVICE_GET_IRQ_INFO, &irq))
		skip("VFIO_DEVICE_GET_IRQ_INFO MSI: %s", errname(errno));
	if (!irq.count)
		skip("VFIO_DEVICE_GET_IRQ_INFO MSI: count 0");
	efd = eventfd(0, EFD_CLOEXEC);
	if (efd < 0)
		skip("eventfd: %s", errname(errno));
	ret = set_irqs(c->fd, VFIO_IRQ_SET_DATA_EVENTFD | trigger, VFIO_PCI_MSI_IRQ_INDEX, 1, efd);
	if (ret)
		skip("VFIO_DEVICE_SET_IRQS MSI trigger eventfd: %s", errname(ret));
	steer_irqs(c->bdf);
	if (pread(c->fd, &cmd, 2, c->cfg + PCI_COMMAND) != 2)
		skip("pread config command: %s", errname(errno));
	on = cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	if (pwrite(c->fd, &on, 2, c->cfg + PCI_COMMAND) != 2)
		skip("pwrite config command (bus master on): %s", errname(errno));
	sigaction(SIGALRM, &sa, NULL);
	alarm(5);
	for (i = 0; i < warm(10, 1); i++)
		if (!msi_once(c, efd))
			skip("no interrupt within 5 s of edu's raise (warm-up %lu)", i);
	for (b = 0; b < batches; b++) {
		alarm(30);
		for (i = 0, sum = 0; i < iterations; i++) {
			ns = msi_once(c, efd);
			if (!ns)
				skip("no interrupt within 30 s (batch %lu, iteration %lu)", b, i);
			sum += ns;
		}
		t->ns[b] = (double)sum / iterations;
	}
	alarm(0);
	set_irqs(c->fd, VFIO_IRQ_SET_DATA_NONE | trigger, VFIO_PCI_MSI_IRQ_INDEX, 0, -1);
	pwrite(c->fd, &cmd, 2, c->cfg + PCI_COMMAND);
	close(efd);
}

/* bind-unbind: each iteration binds the device and unbinds it, both timed. */
static void bench_bind(const char *bdf, const char *driver)
{
	struct timing *t = timing(op_name, false);
	struct timing *tb = timing("bind-unbind.bind", true);
	struct timing *tu = timing("bind-unbind.unbind", true);
	char path[PATH_MAX], cur[64];
	__u64 t0, t1, t2, sum, sb, su;
	int bindfd, unbindfd;
	unsigned long i, b, n;
	size_t len = strlen(bdf);

	if (!sysfs_link(bdf, "driver", cur, sizeof(cur)))
		skip("%s is bound to %s already", bdf, cur);
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", driver);
	bindfd = open(path, O_WRONLY | O_CLOEXEC);
	if (bindfd < 0)
		skip("open %s: %s", path, errname(errno));
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/unbind", driver);
	unbindfd = open(path, O_WRONLY | O_CLOEXEC);
	if (unbindfd < 0)
		skip("open %s: %s", path, errname(errno));
	for (b = 0; b <= batches; b++) {
		/* Batch 0 is the warm-up. */
		n = b ? iterations : warm(1, 1);
		for (i = 0, sum = sb = su = 0; i < n; i++) {
			t0 = now_ns();
			if (pwrite(bindfd, bdf, len, 0) < 0)
				skip("bind to %s: %s", driver, errname(errno));
			t1 = now_ns();
			if (pwrite(unbindfd, bdf, len, 0) < 0)
				skip("unbind from %s: %s", driver, errname(errno));
			t2 = now_ns();
			sum += t2 - t0;
			sb += t1 - t0;
			su += t2 - t1;
		}
		if (!b)
			continue;
		t->ns[b - 1] = (double)sum / n;
		tb->ns[b - 1] = (double)sb / n;
		tu->ns[b - 1] = (double)su / n;
	}
	close(bindfd);
	close(unbindfd);
}

/* sriov: the PF, its VFs and what was done to them, for the clean-up. */
static struct {
	const char *pf, *driver;
	long autoprobe;
	int nvfs, nbound;
	char vf[MAX_VFS][32];
	int fd[MAX_VFS];
} sr;

static void sriov_pf_write(const char *attr, const char *val)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", sr.pf, attr);
	sysfs_write(path, val);
}

/* Closes, unbinds and removes the VFs (best effort: it also runs on the way to a skip). */
static void sriov_teardown(void)
{
	char path[PATH_MAX];
	int i;

	for (i = 0; i < sr.nvfs; i++) {
		if (sr.fd[i] >= 0)
			close(sr.fd[i]);
		sr.fd[i] = -1;
	}
	for (i = 0; i < sr.nbound; i++) {
		snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/unbind", sr.driver);
		sysfs_write(path, sr.vf[i]);
	}
	for (i = 0; i < sr.nvfs; i++) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", sr.vf[i]);
		sysfs_write(path, "\n");
	}
	sr.nbound = 0;
	sr.nvfs = 0;
	sriov_pf_write("sriov_numvfs", "0");
}

static void sriov_cleanup(void)
{
	char val[16];

	sriov_teardown();
	if (sr.autoprobe >= 0) {
		snprintf(val, sizeof(val), "%d", sr.autoprobe ? 1 : 0);
		sriov_pf_write("sriov_drivers_autoprobe", val);
	}
}

/* One cycle: create n VFs, bind and open each; the times of its phases, in ns. */
static void sriov_cycle(int n, int iommufd, __u32 ioas, __u64 ns[4])
{
	char path[PATH_MAX], link[32], val[16];
	const char *what;
	__u64 t0, t1, t2, t3;
	int i, ret;

	snprintf(val, sizeof(val), "%d", n);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/sriov_numvfs", sr.pf);
	t0 = now_ns();
	ret = sysfs_write(path, val);
	if (ret)
		skip("write %d to sriov_numvfs of %s: %s", n, sr.pf, errname(ret));
	t1 = now_ns();
	for (i = 0; i < n; i++) {
		snprintf(link, sizeof(link), "virtfn%d", i);
		ret = sysfs_link(sr.pf, link, sr.vf[i], sizeof(sr.vf[i]));
		if (ret)
			skip("VF %d of %s: %s", i, sr.pf, errname(ret));
		sr.fd[i] = -1;
		sr.nvfs = i + 1;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", sr.vf[i]);
		ret = sysfs_write(path, sr.driver);
		if (ret)
			skip("driver_override of VF %s: %s", sr.vf[i], errname(ret));
		snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", sr.driver);
		ret = sysfs_write(path, sr.vf[i]);
		if (ret)
			skip("bind of VF %s to %s: %s", sr.vf[i], sr.driver, errname(ret));
		sr.nbound = i + 1;
	}
	t2 = now_ns();
	for (i = 0; i < n; i++) {
		ret = cdev_path(sr.vf[i], path, sizeof(path));
		if (ret)
			skip("the vfio-dev of VF %s: %s", sr.vf[i], errname(ret));
		ret = open_cdev(path, iommufd, ioas, &what);
		if (ret < 0)
			skip("open of VF %s: %s: %s", sr.vf[i], what, errname(ret));
		sr.fd[i] = ret;
	}
	t3 = now_ns();
	ns[0] = t3 - t0;
	ns[1] = t1 - t0;
	ns[2] = t2 - t1;
	ns[3] = t3 - t2;
	sriov_teardown();
}

static void bench_sriov(const char *pf, const char *driver, int n)
{
	static const char *const parts[] = { "sriov-vfs-open", "sriov-vfs-open.enable",
					     "sriov-vfs-open.bind", "sriov-vfs-open.open" };
	struct timing *t[4];
	long total, cur;
	__u64 ns[4];
	unsigned long i, b;
	__u32 ioas;
	int iommufd, p;

	sr.pf = pf;
	sr.driver = driver;
	sr.autoprobe = -1;
	total = sysfs_number(pf, "sriov_totalvfs");
	cur = sysfs_number(pf, "sriov_numvfs");
	if (total <= 0)
		skip("%s: no SR-IOV (sriov_totalvfs %ld)", pf, total);
	if (cur)
		skip("%s: %ld VFs enabled already", pf, cur);
	if (n <= 0 || n > total)
		n = total;
	if (n > MAX_VFS)
		n = MAX_VFS;
	printf("# %s: %d VFs of %ld, bound to %s\n", pf, n, total, driver);
	for (p = 0; p < 4; p++)
		t[p] = timing(parts[p], p > 0);
	iommufd = open_iommufd(&ioas);
	sr.autoprobe = sysfs_number(pf, "sriov_drivers_autoprobe");
	cleanup = sriov_cleanup;
	sriov_pf_write("sriov_drivers_autoprobe", "0");
	if (sysfs_number(pf, "sriov_drivers_autoprobe"))
		skip("%s: sriov_drivers_autoprobe cannot be set to 0", pf);
	/* Each iteration is a whole cycle; no warm-up cycle unless -w asks for some. */
	for (i = 0; i < warm(0, 0); i++)
		sriov_cycle(n, iommufd, ioas, ns);
	for (b = 0; b < batches; b++) {
		__u64 sum[4] = { 0 };

		for (i = 0; i < iterations; i++) {
			sriov_cycle(n, iommufd, ioas, ns);
			for (p = 0; p < 4; p++)
				sum[p] += ns[p];
		}
		for (p = 0; p < 4; p++)
			t[p]->ns[b] = (double)sum[p] / iterations;
	}
	cleanup = NULL;
	sriov_cleanup();
	close(iommufd);
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-n iterations] [-b batches] [-w warmup] <op> <args>\n"
		"  baseline\n"
		"  config-read|bar0-read|bar0-write|region-info|reset|msi-wake|open-close\n"
		"      <bdf> group|cdev\n"
		"  bind-unbind <bdf> <driver>\n"
		"  sriov <pf> <driver> [numvfs]\n", prog);
	exit(1);
}

static unsigned long number(const char *s, const char *prog)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (*end || !*s)
		usage(prog);
	return v;
}

/* The ops on an open device, timed as a whole. */
static const struct {
	const char *name;
	int (*op)(struct ctx *c);
} fd_ops[] = {
	{ "config-read", op_config_read },
	{ "bar0-read", op_bar0_read },
	{ "bar0-write", op_bar0_write },
	{ "region-info", op_region_info },
	{ "reset", op_reset },
};

/* open-close: the group and its container, or the iommufd, set up once; no device open. */
static void bench_open_close(struct ctx *c, const char *how)
{
	static char name[64];
	int ret;

	snprintf(name, sizeof(name), "open-close-%s", how);
	op_name = name;
	if (!strcmp(how, "group")) {
		c->gfd = open_group(c->bdf);
		time_op(c, op_open_close_group);
	} else if (!strcmp(how, "cdev")) {
		ret = cdev_path(c->bdf, c->cdev, sizeof(c->cdev));
		if (ret)
			skip("open: the vfio-dev of %s: %s", c->bdf, errname(ret));
		c->iommufd = open_iommufd(&c->ioas);
		time_op(c, op_open_close_cdev);
	} else {
		fprintf(stderr, "vfio-bench: unknown path %s (group or cdev)\n", how);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct ctx c = { .fd = -1, .gfd = -1, .iommufd = -1, .zero = -1 };
	const char *prog = argv[0], *op;
	unsigned int i;
	cpu_set_t cpus;
	int opt;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* One CPU for every op: no migration in the middle of a batch (see also steer_irqs). */
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus))
		printf("# cannot pin to CPU 0: %s\n", errname(errno));
	while ((opt = getopt(argc, argv, "n:b:w:")) != -1) {
		switch (opt) {
		case 'n':
			iterations = number(optarg, prog);
			break;
		case 'b':
			batches = number(optarg, prog);
			break;
		case 'w':
			warmup = number(optarg, prog);
			break;
		default:
			usage(prog);
		}
	}
	if (optind >= argc || !iterations || !batches || batches > MAX_BATCHES)
		usage(prog);
	op = argv[optind];
	argv += optind + 1;
	argc -= optind + 1;
	op_name = op;

	if (!strcmp(op, "baseline")) {
		c.zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
		if (c.zero < 0)
			skip("open /dev/zero: %s", errname(errno));
		time_op(&c, op_baseline);
	} else if (!strcmp(op, "bind-unbind") && argc == 2) {
		bench_bind(argv[0], argv[1]);
	} else if (!strcmp(op, "sriov") && (argc == 2 || argc == 3)) {
		op_name = "sriov-vfs-open";
		bench_sriov(argv[0], argv[1], argc == 3 ? atoi(argv[2]) : 0);
	} else if (!strcmp(op, "open-close") && argc == 2) {
		c.bdf = argv[0];
		bench_open_close(&c, argv[1]);
	} else if (!strcmp(op, "msi-wake") && argc == 2) {
		c.bdf = argv[0];
		open_device(&c, argv[1]);
		bench_msi(&c);
	} else {
		for (i = 0; i < ARRAY_SIZE(fd_ops); i++)
			if (!strcmp(op, fd_ops[i].name))
				break;
		if (i == ARRAY_SIZE(fd_ops) || argc != 2)
			usage(prog);
		c.bdf = argv[0];
		open_device(&c, argv[1]);
		if (fd_ops[i].op == op_reset) {
			struct vfio_device_info info = { .argsz = sizeof(info) };

			if (ioctl(c.fd, VFIO_DEVICE_GET_INFO, &info))
				skip("VFIO_DEVICE_GET_INFO: %s", errname(errno));
			if (!(info.flags & VFIO_DEVICE_FLAGS_RESET))
				skip("the device has no VFIO_DEVICE_FLAGS_RESET");
		}
		time_op(&c, fd_ops[i].op);
	}
	print_timings();
	return 0;
}
