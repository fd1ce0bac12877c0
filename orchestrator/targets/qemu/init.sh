#!/bin/busybox sh
# /init of a lustress QEMU guest, after every boot including each one after a
# kexec. It mounts the host's root read-only over 9p, the run directory
# writable at the same path, and starts `lustress agent` on the virtio-serial
# port in a chroot of the host root, so the guest runs the host's Node and this
# project. Settings come from the kernel command line (lustress.*=).

/bin/busybox --install -s /bin
export PATH=/bin:/sbin
# Mounts go in batches, one mount(8) for each fstab: every command is a fork
# and an exec, tens of milliseconds apiece under TCG, and all in the blackout.
echo 'proc /proc proc defaults 0 0
sysfs /sys sysfs defaults 0 0
devtmpfs /dev devtmpfs defaults 0 0' > /etc/fstab.early
mount -a -T /etc/fstab.early

say() { echo "lustress-init: $*" > /dev/console; }
die() {
	say "FATAL: $*"
	# Nothing useful can run; end the guest so the orchestrator sees it at once.
	echo o > /proc/sysrq-trigger
	sleep 10
}

if [ -f /lib/lustress/modules.order ]; then
	for m in $(cat /lib/lustress/modules.order); do
		insmod "/lib/lustress/$m" 2> /dev/console || say "insmod $m failed"
	done
fi

# The lustress.* words of the kernel command line, read once and without a
# subshell per word (each fork is milliseconds under TCG, in the blackout).
read -r cmdline < /proc/cmdline
for w in $cmdline; do
	case "$w" in
		lustress.run=*) run=${w#*=} ;;
		lustress.project=*) project=${w#*=} ;;
		lustress.port=*) portname=${w#*=} ;;
		lustress.node=*) node=${w#*=} ;;
		lustress.loglevel=*) loglevel=${w#*=} ;;
		lustress.ssh=*) sshdir=${w#*=} ;;
		lustress.agent=*) agent=${w#*=} ;;
	esac
done
[ -n "$run" ] && [ -n "$project" ] && [ -n "$portname" ] && [ -n "$node" ] || die "lustress.run, lustress.project, lustress.port and lustress.node must all be on the command line"

opts=trans=virtio,version=9p2000.L,msize=1048576
# cache=loose: the host root is read-only here, so caching its files and lookups is safe and saves a 9p round trip per open.
mount -t 9p -o "$opts,ro,cache=loose" hostroot /host || die "cannot mount the host root over 9p"
# First a view of the host root that the tmpfs mounts cover not (/hostroot),
# then the host root's own kernel and scratch file systems. devtmpfs is one
# instance, so the mount points made in /dev are there in /host/dev too.
mkdir -p /dev/shm /dev/hugepages
echo '/host /hostroot none bind 0 0
proc /host/proc proc defaults 0 0
sysfs /host/sys sysfs defaults 0 0
devtmpfs /host/dev devtmpfs defaults 0 0
tmpfs /host/dev/shm tmpfs defaults 0 0
tmpfs /host/tmp tmpfs defaults 0 0
tmpfs /host/run tmpfs defaults 0 0' > /etc/fstab.host
mount -a -T /etc/fstab.host || die "cannot mount the host root's /proc, /sys, /dev and scratch file systems"
# Where this kernel has them.
echo 'debugfs /host/sys/kernel/debug debugfs defaults 0 0
hugetlbfs /host/dev/hugepages hugetlbfs defaults 0 0' > /etc/fstab.optional
mount -a -T /etc/fstab.optional 2> /dev/null
# The project may be a clone under /tmp, which the tmpfs above hides: show it
# again. The run directory is mounted last, so one under /tmp is not hidden.
mkdir -p "/host$project" "/host$run" 2> /dev/null
mount -o bind "/hostroot$project" "/host$project" || die "cannot show the project $project in the guest"
mount -t 9p -o "$opts,rw" rundir "/host$run" || die "cannot mount the run directory $run over 9p"

# No udev here: find the port by the name QEMU gave it.
port=
for try in 1 2 3 4 5 6 7 8 9 10; do
	for p in /sys/class/virtio-ports/*; do
		read -r name 2> /dev/null < "$p/name" && [ "$name" = "$portname" ] && port=/dev/${p##*/}
	done
	[ -n "$port" ] && break
	sleep 0.5
done
[ -n "$port" ] || die "no virtio-serial port named $portname"

[ -n "$loglevel" ] || loglevel=info
read -r boot < /proc/sys/kernel/random/boot_id

# lustress.ssh=DIR: an sshd from the host's root on the virtio-net NIC, whose
# host side is a loopback-only port forward (for ssh target tests and people).
if [ -n "$sshdir" ]; then
	nic=
	for i in /sys/class/net/*; do
		[ "$(basename "$(readlink "$i/device/driver" 2> /dev/null)")" = virtio_net ] && nic=${i##*/}
	done
	[ -n "$nic" ] || die "lustress.ssh is set but there is no virtio-net interface"
	ip link set lo up
	ip link set "$nic" up
	ip addr add 10.0.2.15/24 dev "$nic"
	ip route add default via 10.0.2.2
	mkdir -p /host/run/sshd
	chroot /host /usr/sbin/sshd -f "$sshdir/sshd_config" -E "$run/sshd-$boot.log" || say "sshd did not start (see $run/sshd-$boot.log)"
fi

# How the agent starts (lustress.agent=):
# - root: Node and the bundled agent from the agent root, a virtio-pmem device
#   mounted with DAX (orchestrator/targets/qemu/agent-root.ts); where this
#   kernel cannot mount it, as `bundle`;
# - bundle: the one-file agent over 9p (one read after a kexec, not a module
#   tree) with the code cache the build made for it (bin/agent-start.ts);
# - anything else: the module tree, as `lustress agent`.
root=/run/lustress-agent
mount_agent_root() {
	mkdir -p "/host$root"
	# The device appears when the nvdimm bus has probed it, which may be after init starts.
	try=0
	while [ ! -b /dev/pmem0 ] && [ $((try += 1)) -le 50 ]; do sleep 0.02; done
	mount -t ext4 -o ro,noload,dax=always /dev/pmem0 "/host$root" 2> /dev/console
}
if [ "$agent" = root ] && ! mount_agent_root; then
	say "cannot mount the agent root (/dev/pmem0): the agent runs from the host root over 9p"
	agent=bundle
fi
libs=
case "$agent" in
	root)
		node=$root/node
		libs=$root/lib
		set -- "$root/agent/dist/bin/agent-start.cjs"
		;;
	bundle) set -- "$project/dist/bin/agent-start.cjs" ;;
	*) set -- "$project/dist/bin/lustress.js" agent ;;
esac
say "boot $boot: starting the agent ($node $1) on $port"
# linux64 -R: the agent without address-space randomisation. Under TCG most of
# Node's start is translating its code; QEMU keeps translations keyed by
# virtual and physical address across a kexec, and the agent root's pages are
# never written, so at fixed addresses a boot after a kexec reuses them
# (bench/cycle: init to hello 4.0 s -> 2.2 s).
# The agent is restarted if it dies: the orchestrator then sees a second hello with the same boot id.
while true; do
	# env before chroot: busybox's, not one more dynamic binary to load from the host root.
	env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root ${libs:+LD_LIBRARY_PATH=$libs} \
		linux64 -R chroot /host "$node" "$@" --port "$port" --log "$run/agent-$boot.log" \
		--log-level "$loglevel" 2>> "/host$run/agent-$boot.stderr"
	say "agent exited with status $?; restarting it"
	sleep 1
done
