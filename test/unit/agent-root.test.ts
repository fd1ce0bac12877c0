// The agent root image: Node, its libraries, the bundle with its starter and
// koffi, laid out as the guest's /init starts them, in an ext4 the kernel can
// mount with DAX (4 KiB blocks, no journal to replay on a read-only device);
// made once per content; given to QEMU as a virtio-pmem device; with busybox
// and init, the root of kernels that have virtio-pmem, ext4 and DAX built in.

import t from 'tap';
import { statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { agentRootImage } from '../../orchestrator/targets/qemu/agent-root.js';
import { bootsFromAgentRoot, guestCmdline, qemuArgs, type GuestPaths } from '../../orchestrator/targets/qemu/args.js';
import { BUSYBOX, EARLY_FSTAB, INIT_SCRIPT } from '../../orchestrator/targets/qemu/initramfs.js';
import { defaultTarget } from '../../orchestrator/scenario/spec.js';
import type { Kernel } from '../../orchestrator/kernels/kernels.js';

/** A file of the image as debugfs sees it: its size, or undefined if it is not there. */
async function sizeInImage(image: string, path: string): Promise<number | undefined> {
  const r = await execa('debugfs', ['-R', `stat ${path}`, image], { reject: false });
  const m = /Size: (\d+)/.exec(r.stdout);
  return m ? Number(m[1]) : undefined;
}

t.test('the image holds what the guest starts, where it starts it from, and is remade when that changes', async (t) => {
  const dir = t.testdir({
    cache: {},
    project: {
      'package.json': '{"version":"0.1.0"}',
      dist: {
        bin: {
          'agent.cjs': 'exports.agentMain = 1;',
          'agent.cjs.cache': 'compiled',
          'agent-exec.cjs': 'execa',
          'agent-start.cjs': '// starts it',
          'lustress.js': '',
        },
      },
      node_modules: {
        koffi: { 'package.json': '{}', 'index.js': '' },
        '@koromix': { 'koffi-linux-x64': { linux_x64: { 'koffi.node': 'ELF' } } },
      },
    },
  });
  const project = join(dir, 'project');
  const cache = join(dir, 'cache');
  const saved = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = cache;
  t.teardown(() => {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
  });
  // Long ago: a copy that took the time of copying would show.
  utimesSync(join(project, 'dist/bin/agent.cjs'), 1000, 1000);
  const root = await agentRootImage(project, process.execPath);
  t.ok(root.image.startsWith(cache), 'made in the cache');
  t.equal(root.bytes % (2 * 2 ** 20), 0, 'a whole number of 2 MiB units, as virtio-pmem maps it');
  t.equal(await sizeInImage(root.image, '/node'), statSync(process.execPath).size, 'Node, whole');
  t.ok((await sizeInImage(root.image, '/lib/libc.so.6'))! > 0, "Node's libraries (libc among them)");
  t.ok((await sizeInImage(root.image, '/lib/libstdc++.so.6'))! > 0);
  for (const [path, size] of [
    ['/agent/dist/bin/agent.cjs', 22],
    ['/agent/dist/bin/agent.cjs.cache', 8],
    ['/agent/dist/bin/agent-exec.cjs', 5],
    ['/agent/dist/bin/agent-start.cjs', 12],
    ['/agent/package.json', 19],
    ['/agent/node_modules/koffi/index.js', 0],
    ['/agent/node_modules/@koromix/koffi-linux-x64/linux_x64/koffi.node', 3],
  ] as const)
    t.equal(await sizeInImage(root.image, path), size, path);
  t.equal(await sizeInImage(root.image, '/agent/dist/bin/lustress.js'), undefined, 'the orchestrator is not in it');
  t.equal(await sizeInImage(root.image, '/bin/busybox'), statSync(BUSYBOX).size, "busybox, where init's #! names it");
  t.equal(await sizeInImage(root.image, '/init'), statSync(INIT_SCRIPT).size, 'the guest init');
  t.equal(await sizeInImage(root.image, '/etc/fstab.early'), statSync(EARLY_FSTAB).size, 'its first mounts');
  const init = (await execa('debugfs', ['-R', 'stat /init', root.image])).stdout;
  t.match(init, /Mode:\s+0755/, 'init is executable (the checkout may not say so)');
  for (const dir of ['/dev', '/proc', '/sys', '/run', '/host', '/hostroot'])
    t.match(
      (await execa('debugfs', ['-R', `stat ${dir}`, root.image])).stdout,
      /Type: directory/,
      `mount point ${dir}`,
    );
  const mtime = /mtime: (0x[0-9a-f]+)/.exec(
    (await execa('debugfs', ['-R', 'stat /agent/dist/bin/agent.cjs', root.image])).stdout,
  );
  t.equal(
    Number(mtime?.[1]),
    Math.floor(statSync(join(project, 'dist/bin/agent.cjs')).mtimeMs / 1000),
    "the bundle keeps its modification time to the second, which its code cache's identity names",
  );
  const header = (await execa('dumpe2fs', ['-h', root.image])).stdout;
  t.match(header, /Block size:\s+4096/, '4 KiB blocks: DAX maps file pages directly');
  t.notMatch(header, /has_journal/, 'no journal');

  const made = statSync(root.image).mtimeMs;
  t.same(await agentRootImage(project, process.execPath), root, 'the same content: the same image');
  t.equal(statSync(root.image).mtimeMs, made, 'not made again');
  utimesSync(join(project, 'dist/bin/agent.cjs'), 2000, 2000);
  const next = await agentRootImage(project, process.execPath);
  t.not(next.image, root.image, 'a rebuilt bundle: a new image');
});

t.test('QEMU gets the image as a private virtio-pmem mapping, with device memory beside the RAM', async (t) => {
  const paths: GuestPaths = {
    kernelImage: '/k',
    initrd: '/i',
    runDir: '/r',
    projectDir: '/p',
    nodePath: '/usr/bin/node',
    agentSocket: '/s',
    qmpSocket: '/q',
  };
  const spec = { ...defaultTarget([]), memoryBytes: 2 * 2 ** 30 };
  const plain = qemuArgs(spec, paths, '');
  t.equal(plain[plain.indexOf('-m') + 1], '2048M', 'no agent root: RAM alone');
  t.notOk(plain.some((a) => a.includes('virtio-pmem')));
  const args = qemuArgs(spec, { ...paths, agentRoot: { image: '/c/a.img', bytes: 138 * 2 ** 20 } }, '');
  t.equal(args[args.indexOf('-m') + 1], '2048M,maxmem=3072M', 'maxmem: RAM plus a GiB for the device');
  t.ok(
    args.includes(`memory-backend-file,id=agentroot,mem-path=/c/a.img,size=${138 * 2 ** 20},share=off`),
    'the image file, mapped privately: the guest cannot write to it',
  );
  t.ok(args.includes('virtio-pmem-pci,memdev=agentroot,id=agentroot-pmem'));
});

t.test('a kernel with virtio-pmem, ext4 and DAX built in boots from the agent root, without an initramfs', (t) => {
  const config = (value: string) =>
    new Map(['VIRTIO_PMEM', 'BLK_DEV_PMEM', 'EXT4_FS', 'FS_DAX'].map((o) => [o, value] as [string, string]));
  const kernel = (c?: Map<string, string>): Kernel => ({
    id: 'k',
    kind: 'tree',
    image: '/k',
    ...(c ? { config: c } : {}),
  });
  const builtIn = kernel(config('y'));
  const modular = kernel(config('m'));
  const withoutPmem = kernel(new Map([...config('y')].filter(([o]) => o !== 'VIRTIO_PMEM')));
  t.ok(bootsFromAgentRoot(builtIn, 'root'));
  t.notOk(bootsFromAgentRoot(builtIn, 'bundle'), 'no agent root: the initramfs');
  t.notOk(bootsFromAgentRoot(modular, 'root'), "as modules (Debian's): only an initramfs can load them");
  t.notOk(bootsFromAgentRoot(withoutPmem, 'root'));
  t.notOk(bootsFromAgentRoot(kernel(), 'root'), 'a kernel whose configuration is unknown: the initramfs');
  const spec = defaultTarget([]);
  const paths = { runDir: '/r', projectDir: '/p', nodePath: '/n' };
  const rooted = guestCmdline(spec, builtIn, paths, { agent: 'root' }).split(' ');
  for (const w of ['root=/dev/pmem0', 'rootfstype=ext4', 'rootflags=noload,dax=always', 'ro', 'init=/init'])
    t.ok(rooted.includes(w), w);
  const fromInitramfs = guestCmdline(spec, modular, paths, { agent: 'root' }).split(' ');
  t.notOk(
    fromInitramfs.some((w) => w.startsWith('root=') || w === 'init=/init'),
    'the initramfs runs /init itself',
  );
  const args = qemuArgs(
    spec,
    { kernelImage: '/k', runDir: '/r', projectDir: '/p', nodePath: '/n', agentSocket: '/s', qmpSocket: '/q' },
    rooted.join(' '),
  );
  t.notOk(args.includes('-initrd'), 'no -initrd when there is none');
  t.end();
});
