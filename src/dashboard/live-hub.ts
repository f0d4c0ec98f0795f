import { isRunningStatus, type BatchEvent, type JobExecution, type WorkChunkInstance, type WorkChunkProgressEvent } from '../index.js';
import { executionEvent, instanceEvent, parseWatch, progressEvent, type LiveEvent } from './live-events.js';
import { ACTIVE_INSTANCE_STATUSES, type DashboardData } from './model.js';

/** An event with its place in the stream (the SSE `id:`). */
export interface SequencedEvent {
  readonly seq: number;
  readonly event: LiveEvent;
}

const MAX_QUEUED = 2000;
const INSTANCE_FLUSH_MS = 200;
const POKE_GAP_MS = 100;

/** One listener (one SSE connection): a queue the connection drains. */
export class LiveSubscription {
  private queue: SequencedEvent[] = [];
  private wake: (() => void) | undefined;
  private closedFlag = false;

  constructor(private readonly onClose: (subscription: LiveSubscription) => void) {}

  get closed(): boolean {
    return this.closedFlag;
  }

  /** @internal */
  push(event: SequencedEvent): void {
    if (this.closedFlag) return;
    this.queue.push(event);
    // A reader that stopped reading must not grow the queue without bound: keep the newest.
    if (this.queue.length > MAX_QUEUED) this.queue.splice(0, this.queue.length - MAX_QUEUED);
    this.wake?.();
  }

  /** The events queued since the last call; [] after `timeoutMs` without any; null once closed. */
  async next(timeoutMs: number): Promise<SequencedEvent[] | null> {
    if (this.closedFlag) return null;
    if (this.queue.length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        const self = this;
        function done() {
          clearTimeout(timer);
          self.wake = undefined;
          resolve();
        }
        this.wake = done;
      });
    }
    if (this.closedFlag) return null;
    return this.queue.splice(0);
  }

  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.queue = [];
    this.wake?.();
    this.onClose(this);
  }
}

/**
 * Watches the store for the live pages. While anyone listens it reads the store every
 * `pollIntervalMs` (other processes write to it too) and turns what changed into events:
 * `execution` when an execution is new or its status, exit code or times changed, `progress`
 * when the counts of its steps changed, `instance` when a work-chunk instance changed. Work-chunk
 * progress of this runtime also arrives at once through `workChunks.onProgress`.
 *
 * Executions this runtime runs are also read at once when they or their steps start or end
 * (`runtime.events`). Not seen: an execution of another process that starts and ends between two
 * polls on an instance that is not its job's newest (a quick restart of an old instance).
 */
export class LiveHub {
  private seq = 0;
  private lastPollAt = 0;
  private readonly subscribers = new Set<LiveSubscription>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private baseline = true;
  private unsubscribeProgress: (() => void) | undefined;
  private unsubscribeEvents: (() => void) | undefined;
  /** Executions this runtime reported a start or end of since the last poll. */
  private nudged = new Set<number>();
  /** execution id → fingerprint of its status and times, for those running or newest of their job. */
  private executions = new Map<number, { running: boolean; state: string; counts: string }>();
  private instances = new Map<string, string>();
  private pendingInstances = new Map<string, WorkChunkInstance>();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly data: DashboardData,
    private readonly pollIntervalMs: number,
  ) {}

  get listeners(): number {
    return this.subscribers.size;
  }

  /** Starts watching with the first subscriber; stops after the last one closes. */
  subscribe(): LiveSubscription {
    const subscription = new LiveSubscription((s) => this.unsubscribe(s));
    this.subscribers.add(subscription);
    if (this.subscribers.size === 1) this.start();
    return subscription;
  }

  /** The current state as events: running executions, active instances, and the watched ones. */
  async snapshot(watch: string | undefined): Promise<LiveEvent[]> {
    const { executions: watchedExecutions, instances: watchedInstances } = parseWatch(watch);
    const events: LiveEvent[] = [];
    const now = Date.now();
    const running = await this.data.runningExecutions();
    const seen = new Set(running.map((e) => e.id));
    const watched: JobExecution[] = [];
    for (const id of watchedExecutions) {
      if (seen.has(id)) continue;
      const execution = await this.data.runtime.explorer.getJobExecution(id);
      if (execution) watched.push(execution);
    }
    for (const execution of [...running, ...watched]) {
      events.push(await executionEvent(this.data, execution, now));
      events.push(await progressEvent(this.data, execution, now));
    }
    const active = await this.data.runtime.workChunks.list({ status: ACTIVE_INSTANCE_STATUSES, limit: 100 });
    const instanceIds = new Set(active.map((i) => i.id));
    for (const instance of active) events.push(instanceEvent(instance));
    for (const id of watchedInstances) {
      if (instanceIds.has(id)) continue;
      const instance = await this.data.runtime.workChunks.get(id);
      if (instance) events.push(instanceEvent(instance));
    }
    return events;
  }

  /** Numbers events for a stream (snapshot events get ids from the same sequence). */
  sequence(event: LiveEvent): SequencedEvent {
    return { seq: ++this.seq, event };
  }

  /** Reads the store now instead of at the next tick (after an action, for instance). */
  poke(): void {
    if (this.subscribers.size === 0) return;
    clearTimeout(this.timer);
    // At most one read per POKE_GAP_MS, however many steps start and end.
    this.timer = setTimeout(() => void this.tick(), Math.max(0, this.lastPollAt + POKE_GAP_MS - Date.now()));
    this.timer.unref();
  }

  /** Ends every subscription and stops watching. */
  close(): void {
    for (const subscription of [...this.subscribers]) subscription.close();
    this.stop();
  }

  private unsubscribe(subscription: LiveSubscription): void {
    this.subscribers.delete(subscription);
    if (this.subscribers.size === 0) this.stop();
  }

  /**
   * Resolves once the store has been read since the first subscriber came: from then on every
   * change is an event, so a snapshot taken after it misses nothing.
   */
  ready: Promise<void> = Promise.resolve();

  private start(): void {
    this.baseline = true;
    this.executions.clear();
    this.instances.clear();
    this.unsubscribeProgress = this.data.runtime.workChunks.onProgress((event) => this.onWorkChunkProgress(event));
    this.unsubscribeEvents = this.data.runtime.events.subscribe((event) => this.onBatchEvent(event));
    this.ready = this.tick();
  }

  private stop(): void {
    clearTimeout(this.timer);
    clearTimeout(this.flushTimer);
    this.timer = undefined;
    this.flushTimer = undefined;
    this.pendingInstances.clear();
    this.unsubscribeProgress?.();
    this.unsubscribeProgress = undefined;
    this.unsubscribeEvents?.();
    this.unsubscribeEvents = undefined;
    this.nudged.clear();
  }

  private emit(event: LiveEvent): void {
    if (this.baseline) return;
    const sequenced = this.sequence(event);
    for (const subscriber of this.subscribers) subscriber.push(sequenced);
  }

  private tick(): Promise<void> {
    if (this.polling) return this.polling;
    if (this.subscribers.size === 0) return Promise.resolve();
    this.polling = this.poll()
      .catch(() => undefined)
      .finally(() => {
        this.polling = undefined;
        this.baseline = false;
        if (this.data.runtime.state !== 'OPEN') {
          this.close();
          return;
        }
        if (this.subscribers.size === 0) return;
        this.timer = setTimeout(() => void this.tick(), this.pollIntervalMs);
        this.timer.unref();
      });
    return this.polling;
  }

  private async poll(): Promise<void> {
    this.lastPollAt = Date.now();
    if (this.data.runtime.state !== 'OPEN') return;
    const explorer = this.data.runtime.explorer;
    const next = new Map<number, { running: boolean; state: string; counts: string }>();
    const now = Date.now();
    const observe = async (execution: JobExecution) => {
      if (next.has(execution.id)) return;
      const state = [execution.status, execution.exitStatus.exitCode, execution.startTime?.getTime(), execution.endTime?.getTime()].join('|');
      const counts = execution.stepExecutions.map((s) => [s.id, s.status, s.readCount, s.writeCount, s.filterCount, s.commitCount, s.rollbackCount, s.skipCount].join(':')).join(',');
      const before = this.executions.get(execution.id);
      next.set(execution.id, { running: isRunningStatus(execution.status), state, counts });
      if (!before || before.state !== state) this.emit(await executionEvent(this.data, execution, now));
      if (!before || before.counts !== counts || before.state !== state) this.emit(await progressEvent(this.data, execution, now));
    };
    for (const name of await explorer.getJobNames()) {
      for (const execution of await explorer.findRunningJobExecutions(name)) await observe(execution);
      // An execution that started and ended since the last poll is the newest of its job (a new instance).
      const [instance] = await explorer.getJobInstances(name, 0, 1);
      const last = instance ? await explorer.getLastJobExecution(instance.id) : undefined;
      if (last) await observe(last);
    }
    // Those that were running and are not any more (their final state), and those this runtime
    // reported a start or end of.
    const nudged = [...this.nudged];
    this.nudged.clear();
    const again = [...this.executions].filter(([id, seen]) => seen.running && !next.has(id)).map(([id]) => id);
    for (const id of new Set([...again, ...nudged])) {
      if (next.has(id)) continue;
      const execution = await explorer.getJobExecution(id);
      if (execution) await observe(execution);
    }
    this.executions = next;

    const instances = await this.data.runtime.workChunks.list({ limit: 50 });
    const listed = new Set(instances.map((i) => i.id));
    for (const [id, fingerprint] of this.instances) {
      if (listed.has(id) || fingerprint.startsWith('ended|')) continue;
      const instance = await this.data.runtime.workChunks.get(id);
      if (instance) instances.push(instance);
    }
    const nextInstances = new Map<string, string>();
    for (const instance of instances) nextInstances.set(instance.id, this.observeInstance(instance));
    this.instances = nextInstances;
  }

  private observeInstance(instance: WorkChunkInstance): string {
    const ended = !ACTIVE_INSTANCE_STATUSES.includes(instance.status);
    const fingerprint = [
      ended ? 'ended' : 'active',
      instance.status,
      instance.completedChunks,
      instance.totalChunks,
      instance.errorCount,
      instance.recordsProcessed,
      instance.warnings.length,
      instance.currentStep,
    ].join('|');
    if (this.instances.get(instance.id) !== fingerprint) this.emit(instanceEvent(instance));
    return fingerprint;
  }

  private onBatchEvent(event: BatchEvent): void {
    if (event.type === 'job.started' || event.type === 'job.ended' || event.type === 'step.started' || event.type === 'step.ended') {
      this.nudged.add(event.jobExecutionId);
      this.poke();
    }
  }

  private onWorkChunkProgress(event: WorkChunkProgressEvent): void {
    this.pendingInstances.set(event.instance.id, event.instance);
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      for (const instance of this.pendingInstances.values()) this.instances.set(instance.id, this.observeInstance(instance));
      this.pendingInstances.clear();
    }, INSTANCE_FLUSH_MS);
    this.flushTimer.unref();
  }
}
