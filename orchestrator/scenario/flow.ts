// What each point of a scenario's steps list may rely on, as the checker
// walks it: devices bound and buffers mapped in this boot, a kernel loaded,
// sessions preserved and retrieved. A reboot clears what belongs to a boot.

export interface SessionFacts {
  boot: number;
  buffers: string[];
  devices: string[];
  /** Device -> its buffers mapped at pinned IOVAs when the session was preserved. */
  pinned: Map<string, Set<string>>;
  retrievedIn?: number;
}

export class Flow {
  /** Device name -> the step that bound it, in this boot. */
  bound = new Map<string, number>();
  /** Device name -> buffers mapped for it, in this boot. */
  mapped = new Map<string, Set<string>>();
  /** Device name -> its buffers mapped at a pinned IOVA (map's `iova`), in this boot. */
  pinned = new Map<string, Set<string>>();
  loadedAt: number | undefined;
  /** Boots so far (0 before the first kexec-exec). */
  boot = 0;
  rebootedAt: number | undefined;
  /** Buffers known to hold data since the last reboot (filled, or retrieved from a session). */
  readonly liveBuffers = new Set<string>();
  readonly sessions = new Map<string, SessionFacts>();
  /** Copies do not outlive the kernel that started them. */
  memcpyStarted = false;

  /** The kexec-exec at step `index`: everything a boot held is gone. */
  reboot(index: number): void {
    this.boot++;
    this.rebootedAt = index;
    this.bound = new Map();
    this.mapped = new Map();
    this.pinned = new Map();
    this.loadedAt = undefined;
    this.liveBuffers.clear();
    this.memcpyStarted = false;
  }

  /** " since the reboot at steps[N]" once there was one, for messages. */
  get sinceReboot(): string {
    return this.rebootedAt !== undefined ? ` since the reboot at steps[${this.rebootedAt}]` : '';
  }
}
