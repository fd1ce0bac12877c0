#!/bin/busybox sh
# /init of a lustress QEMU guest, after every boot including each one after a
# kexec. It mounts the host's root read-only over 9p, the run directory
# writable at the same path, and starts `lustress agent` on the virtio-serial
# port in a chroot of the host root, so the guest runs the host's Node and this
# project. Settings come from the kernel command line (lustress.*=). It runs
# from the initramfs, or as the agent root's own /init where the kernel mounts
# that device as its root (root=/dev/pmem0; orchestrator/targets/qemu/args.ts):
# the root is then read-only, so what init writes goes to /run.

export PATH=/bin:/sbin

say() { echo "lustress-init: $*" > /dev/console; }
die() {
	say "FATAL: $*"
	# Nothing useful can run; end the guest so the orchestrator sees it at once.
	echo o > /proc/sysrq-trigger
	sleep 10
}

# Busybox's shell runs applets by name with no links made (Debian's
# busybox-static is built with a standalone shell), through /proc/self/exe:
# so until /proc is mounted, they are called by busybox's path.
#
# Modules first (an initramfs's, for kernels with 9p as a module): the first
# mounts need them.
if [ -f /lib/lustress/modules.order ]; then
	while read -r m; do
		/bin/busybox insmod "/lib/lustress/$m" 2> /dev/console || say "insmod $m failed"
	done < /lib/lustress/modules.order
fi

# Mounts go in two batches, one mount(8) for each fstab: every command busybox
# executes is a fork and an exec, tens of milliseconds apiece under TCG, and
# all in the blackout. mount -a goes on past a mount that fails, and says
# which; what must be there is checked afterwards in /proc/mounts, without a
# command per check.
/bin/busybox mount -a -T /etc/fstab.early
mounted() {
	words=" "
	while read -r src dir _; do words="$words$src $dir "; done < /proc/mounts
	for w in "$@"; do
		case "$words" in
			*" $w "*) ;;
			*) return 1 ;;
		esac
	done
}
mounted /proc /sys /dev /run /host /hostroot /host/proc /host/sys /host/dev /host/tmp /host/run ||
	die "cannot mount /proc, /sys, /dev, /run, or the host root (9p) with its own file systems"

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
		root=/dev/pmem0) rooted=1 ;;
	esac
done
[ -n "$run" ] && [ -n "$project" ] && [ -n "$portname" ] && [ -n "$node" ] || die "lustress.run, lustress.project, lustress.port and lustress.node must all be on the command line"

# The run directory over 9p with the host root's options from fstab.early (up
# to its ro and cache=loose), but writable.
while read -r src _ _ o _; do [ "$src" = hostroot ] && opts=${o%%,ro,*}; done < /etc/fstab.early
[ -n "$opts" ] || die "no hostroot line in /etc/fstab.early"
# The project may be a clone under /tmp, which the tmpfs above hides: shown
# again. The run directory is mounted last, so one under /tmp is not hidden.
# Before it, /dev/shm and, where the kernel has it, hugetlbfs on mount points
# made now (devtmpfs is one instance: /host/dev has them too). And the agent
# root (lustress.agent=root, below): this root itself, or a virtio-pmem device
# mounted with DAX where this kernel can.
root=/run/lustress-agent
mkdir -p /dev/shm /dev/hugepages "/host$project" "/host$run" "/host$root" 2> /dev/null
late="tmpfs /host/dev/shm tmpfs defaults 0 0
hugetlbfs /host/dev/hugepages hugetlbfs nofail 0 0
/hostroot$project /host$project none bind 0 0
rundir /host$run 9p $opts,rw 0 0"
if [ -n "$rooted" ]; then
	late="$late
/ /host$root none bind 0 0"
elif [ "$agent" = root ]; then
	# The device appears when the nvdimm bus has probed it, which may be after init starts.
	try=0
	while [ ! -b /dev/pmem0 ] && [ $((try += 1)) -le 50 ]; do sleep 0.02; done
	late="$late
/dev/pmem0 /host$root ext4 ro,noload,dax=always,nofail 0 0"
fi
echo "$late" > /run/fstab.late
mount -a -T /run/fstab.late 2> /dev/console
[ -e "/host$project/package.json" ] || die "cannot show the project $project in the guest"
mounted /host/dev/shm rundir || die "cannot mount /dev/shm, or the run directory $run over 9p"

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
#   with DAX (orchestrator/targets/qemu/agent-root.ts); where this kernel
#   cannot mount it, as `bundle`;
# - bundle: the one-file agent over 9p (one read after a kexec, not a module
#   tree) with the code cache the build made for it (bin/agent-start.ts);
# - anything else: the module tree, as `lustress agent`.
if [ "$agent" = root ] && ! mounted "/host$root"; then
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
# Without address-space randomisation (for the agent alone, linux64 -R would
# be one more exec in the blackout): under TCG most of Node's start is
# translating its code; QEMU keeps translations keyed by virtual and physical
# address across a kexec, and the agent root's pages are never written, so at
# fixed addresses a boot after a kexec reuses them (bench/cycle: init to
# hello 4.0 s -> 2.2 s).
echo 0 > /proc/sys/kernel/randomize_va_space
# The agent is restarted if it dies: the orchestrator then sees a second hello with the same boot id.
# Node's flags are agents/node-flags.ts's, which the build made the code cache under.
while true; do
	# The host's programs get a PATH of their own, not init's HOME=/ and TERM=linux from the kernel.
	(
		unset TERM
		export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
		[ -n "$libs" ] && export LD_LIBRARY_PATH="$libs"
		exec chroot /host "$node" --min-semi-space-size=16 "$@" --port "$port" --log "$run/agent-$boot.log" \
			--log-level "$loglevel" 2>> "/host$run/agent-$boot.stderr"
	)
	say "agent exited with status $?; restarting it"
	sleep 1
done
