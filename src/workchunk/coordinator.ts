import { NoSuchWorkChunkJobError, IllegalStateError, InvalidConfigurationError } from '../domain/errors.js';
import type { BatchEventSink } from '../domain/batch-event.js';
import type { JsonValue } from '../domain/execution-context.js';
import type { ExecutionOwner, OwnerHeartbeat } from '../domain/execution-owner.js';
import type { Logger } from '../domain/logger.js';
import { isEndedInstanceStatus, type WorkChunkStatus } from '../domain/work-chunk-status.js';
import type { KvStore } from '../repository/kv-store.js';
import type { Clock } from '../support/clock.js';
import type { FaultPoints } from '../support/fault-points.js';
import { ChunkWorkerPool } from './chunk-worker-pool.js';
import { queueName } from './keys.js';
import { WorkChunkMaintenance, type MaintenanceReport } from './maintenance.js';
import type { WorkChunkInstanceRecord } from './records.js';
import { ReducerRunner } from './reducer-runner.js';
import { toWorkChunkInstance, toWorkChunkView, type WorkChunkInstance, type WorkChunkView } from './work-chunk-instance.js';
import { storedStepsOf, type WorkChunkJobDefinition } from './work-chunk-job.js';
import { WorkChunkRepository, type CycleResult, type InstanceQuery } from './work-chunk-repository.js';

export interface WorkChunkOptions {
  /**
   * Chunks this process runs at once. 0 makes a launcher or an operator: it starts, observes and
   * cancels instances but runs no chunk, no reducer and no maintenance (other processes do). @default 4
   */
  readonly concurrency?: number;
  /** How long a claimed chunk stays leased without a heartbeat. @default 30000 */
  readonly leaseMs?: number;
  /** How often the leases of running chunks are renewed. @default leaseMs / 3 */
  readonly heartbeatMs?: number;
  /** How often an idle runtime looks for chunks stored by other processes. @default 250 */
  readonly pollIntervalMs?: number;
  /** The maintenance backstop's period. @default 5000 */
  readonly maintenanceIntervalMs?: number;
  /** How long the chunks of an ended instance are kept (the instance record stays). @default 7 days */
  readonly retentionMs?: number;
}

/** Sent after every transaction that changed an instance. */
export interface WorkChunkProgressEvent {
  readonly type: 'progress' | 'ended';
  readonly instance: WorkChunkInstance;
}

export interface StartOptions {
  /** The definition version to run. @default the newest registered */
  readonly version?: number;
}

export interface WaitOptions {
  /** @default no limit */
  readonly timeoutMs?: number;
}

/** @internal What the runtime hands the coordinator. */
export interface WorkChunkEnvironment {
  readonly store: KvStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly owner: ExecutionOwner;
  readonly faults: FaultPoints | undefined;
  readonly events: BatchEventSink;
  readonly isOwnerGone: (owner: ExecutionOwner, heartbeat: OwnerHeartbeat | undefined) => boolean;
  readonly assertOpen: (action: string) => void;
}

/**
 * `runtime.workChunks`: registers work-chunk job definitions, starts, watches and cancels their
 * instances, and runs their chunks in this process. Chunk workers and the maintenance pass start
 * with the first `register`, so a runtime that only looks (the CLI) runs nothing.
 */
export class WorkChunkCoordinator {
  private readonly definitions = new Map<string, Map<number, WorkChunkJobDefinition<unknown>>>();
  private readonly repository: WorkChunkRepository;
  private readonly pool: ChunkWorkerPool;
  private readonly reducers: ReducerRunner;
  private readonly maintenance: WorkChunkMaintenance;
  private readonly listeners = new Set<(event: WorkChunkProgressEvent) => void>();
  private readonly options: Required<WorkChunkOptions>;
  private maintenanceTimer: NodeJS.Timeout | undefined;
  private started = false;
  /** The queue names (`<definition>@<version>`) of the definitions registered here. */
  private queues: string[] = [];

  /** @internal */
  constructor(
    private readonly env: WorkChunkEnvironment,
    options: WorkChunkOptions = {},
  ) {
    const leaseMs = options.leaseMs ?? 30_000;
    this.options = {
      concurrency: options.concurrency ?? 4,
      leaseMs,
      heartbeatMs: options.heartbeatMs ?? Math.max(100, Math.floor(leaseMs / 3)),
      pollIntervalMs: options.pollIntervalMs ?? 250,
      maintenanceIntervalMs: options.maintenanceIntervalMs ?? 5000,
      retentionMs: options.retentionMs ?? 7 * 24 * 3600 * 1000,
    };
    if (!Number.isInteger(this.options.concurrency) || this.options.concurrency < 0) {
      throw new InvalidConfigurationError(`workChunks.concurrency must be an integer >= 0 (0: run no chunks here); got ${this.options.concurrency}.`);
    }
    this.repository = new WorkChunkRepository(env.store, env.clock, env.faults);
    const logger = env.logger.child({ component: 'workchunks' });
    const definitionOf = (instance: WorkChunkInstanceRecord) => this.definitions.get(instance.definitionId)?.get(instance.definitionVersion);
    this.reducers = new ReducerRunner({
      repository: this.repository,
      owner: env.owner,
      logger,
      leaseMs,
      isOwnerGone: env.isOwnerGone,
      definitionOf,
      onEnded: (instance) => this.afterChange([instance], [instance.id]),
    });
    this.pool = new ChunkWorkerPool({
      repository: this.repository,
      owner: env.owner,
      logger,
      concurrency: this.options.concurrency,
      leaseMs,
      heartbeatMs: this.options.heartbeatMs,
      pollIntervalMs: this.options.pollIntervalMs,
      definitionOf,
      queues: () => this.queues,
      events: env.events,
      onCycle: (result) => this.afterCycle(result),
    });
    this.maintenance = new WorkChunkMaintenance({
      repository: this.repository,
      owner: env.owner,
      clock: env.clock,
      logger,
      retentionMs: this.options.retentionMs,
      isOwnerGone: env.isOwnerGone,
      canRun: (instance) => definitionOf(instance) !== undefined,
      startReduction: (id) => void this.reducers.run(id),
      onChanged: (changed, ended) => this.afterChange(changed, ended),
    });
  }

  /** The definitions registered here, as `id@version`, sorted. */
  registered(): string[] {
    return [...this.definitions.entries()].flatMap(([id, byVersion]) => [...byVersion.keys()].map((version) => `${id}@${version}`)).sort();
  }

  /** Makes a definition runnable here; the chunks of its instances are claimed from now on. */
  register<P>(definition: WorkChunkJobDefinition<P>): void {
    this.env.assertOpen('register a work-chunk job');
    const erased = definition as unknown as WorkChunkJobDefinition<unknown>;
    let versions = this.definitions.get(erased.id);
    if (!versions) this.definitions.set(erased.id, (versions = new Map()));
    if (versions.has(erased.version)) {
      throw new InvalidConfigurationError(`Work-chunk job '${erased.id}' version ${erased.version} is already registered.`);
    }
    versions.set(erased.version, erased);
    this.queues = [...this.definitions.entries()].flatMap(([id, byVersion]) => [...byVersion.keys()].map((version) => queueName(id, version)));
    if (this.options.concurrency === 0) return;
    if (!this.started) {
      this.started = true;
      this.pool.start();
      this.maintenanceTimer = setInterval(() => void this.maintain().catch(() => undefined), this.options.maintenanceIntervalMs);
      this.maintenanceTimer.unref();
    }
    // Instances left behind by a process that died resume without an operator.
    void this.maintain().catch(() => undefined);
    this.pool.poke();
  }

  /** Validates the parameters, stores the instance with its first chunk (one transaction), and returns its id. */
  async start(definitionId: string, parameters: unknown = {}, options: StartOptions = {}): Promise<string> {
    this.env.assertOpen('start a work-chunk job');
    const definition = this.definitionFor(definitionId, options.version);
    const valid = definition.parseParameters(parameters);
    const instance = await this.repository.createInstance({
      definitionId: definition.id,
      definitionVersion: definition.version,
      parameters: valid as JsonValue,
      gated: definition.gated,
      steps: storedStepsOf(definition),
    });
    this.env.logger.info({ event: 'workchunk.instance_started', definitionId, version: definition.version, instanceId: instance.id }, 'Work-chunk job started');
    this.emit('progress', instance);
    this.pool.poke();
    return instance.id;
  }

  async get(instanceId: string): Promise<WorkChunkInstance | undefined> {
    const record = this.repository.getInstance(instanceId);
    return record && toWorkChunkInstance(record, this.now());
  }

  /** Newest first, filtered by definition and status. */
  async list(query: InstanceQuery = {}): Promise<WorkChunkInstance[]> {
    const now = this.now();
    return this.repository.listInstances(query).map((record) => toWorkChunkInstance(record, now));
  }

  /** The chunks of an instance (until they are purged), filtered by status and step. */
  async chunks(instanceId: string, filter: { status?: WorkChunkStatus; stepId?: string; limit?: number } = {}): Promise<WorkChunkView[]> {
    const instance = this.repository.requireInstance(instanceId);
    return this.repository.listChunks(instanceId, filter).map((chunk) => toWorkChunkView(chunk, instance));
  }

  /** CANCELLED at once: no chunk of it starts any more; chunks already running finish. */
  async cancel(instanceId: string): Promise<WorkChunkInstance> {
    const record = await this.repository.cancel(instanceId);
    this.env.logger.info({ event: 'workchunk.instance_cancelled', instanceId, definitionId: record.definitionId }, 'Work-chunk job cancelled');
    this.afterChange([record], [record.id]);
    return toWorkChunkInstance(record, this.now());
  }

  /** Resolves when the instance has ended (COMPLETED, FAILED or CANCELLED), whichever process ran it. */
  async waitFor(instanceId: string, options: WaitOptions = {}): Promise<WorkChunkInstance> {
    const deadline = options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs;
    for (;;) {
      const record = this.repository.requireInstance(instanceId);
      if (isEndedInstanceStatus(record.status)) return toWorkChunkInstance(record, this.now());
      if (deadline !== undefined && Date.now() >= deadline) {
        throw new IllegalStateError(`Work-chunk job instance ${instanceId}`, record.status, `be waited for longer than ${options.timeoutMs} ms`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.options.pollIntervalMs);
        const unsubscribe = this.onProgress((event) => {
          if (event.instance.id === instanceId && event.type === 'ended') done();
        });
        function done() {
          clearTimeout(timer);
          unsubscribe();
          resolve();
        }
      });
    }
  }

  /** Listens to progress: called after every transaction that changed an instance. Returns the unsubscribe function. */
  onProgress(listener: (event: WorkChunkProgressEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Runs a maintenance pass now (it also runs periodically once a definition is registered). */
  maintain(): Promise<MaintenanceReport> {
    return this.maintenance.run();
  }

  /** @internal Stops claiming, lets running chunks and reducers finish, and stops the timers. */
  async close(): Promise<void> {
    clearInterval(this.maintenanceTimer);
    if (this.started) await this.pool.stop();
    await this.reducers.drain();
  }

  private definitionFor(definitionId: string, version: number | undefined): WorkChunkJobDefinition<unknown> {
    const versions = this.definitions.get(definitionId);
    const known = [...this.definitions.entries()].flatMap(([id, byVersion]) => [...byVersion.keys()].map((v) => `${id}@${v}`));
    if (!versions || versions.size === 0) throw new NoSuchWorkChunkJobError(definitionId, version, known);
    const chosen = version ?? Math.max(...versions.keys());
    const definition = versions.get(chosen);
    if (!definition) throw new NoSuchWorkChunkJobError(definitionId, version, known);
    return definition;
  }

  private afterCycle(result: CycleResult): void {
    if (result.changed.length) this.afterChange(result.changed, result.ended);
    for (const instance of result.changed) if (instance.status === 'FINALIZE') void this.reducers.run(instance.id);
  }

  private afterChange(changed: readonly WorkChunkInstanceRecord[], ended: readonly string[]): void {
    const endedNow = new Set(ended);
    for (const record of changed) {
      const isEnded = endedNow.has(record.id);
      this.emit(isEnded ? 'ended' : 'progress', record);
      if (isEnded) this.onEnded(record);
    }
  }

  private onEnded(record: WorkChunkInstanceRecord): void {
    const logger = this.env.logger;
    const fields = { event: 'workchunk.instance_ended', definitionId: record.definitionId, instanceId: record.id, status: record.status };
    if (this.env.events.active) {
      const durationMs = record.startTime === null ? 0 : (record.endTime ?? this.now()) - record.startTime;
      this.env.events.publish({ type: 'workchunk.instance_ended', definitionId: record.definitionId, instanceId: record.id, status: record.status, durationMs });
    }
    if (record.status === 'COMPLETED') logger.info(fields, 'Work-chunk job completed');
    else logger.warn({ ...fields, errorMessage: record.errorMessage }, `Work-chunk job ${record.status.toLowerCase()}`);
    if (record.status !== 'COMPLETED' && record.status !== 'FAILED') return;
    const definition = this.definitions.get(record.definitionId)?.get(record.definitionVersion);
    const handler = record.status === 'COMPLETED' ? definition?.onComplete : definition?.onError;
    if (!handler) return;
    const outcome = { instanceId: record.id, parameters: record.parameters, status: record.status as 'COMPLETED' | 'FAILED', errorMessage: record.errorMessage, report: record.report };
    Promise.resolve()
      .then(() => handler(outcome))
      .catch((error: unknown) => logger.error({ ...fields, event: 'workchunk.handler_failed', err: error }, 'Completion handler threw'));
  }

  private emit(type: WorkChunkProgressEvent['type'], record: WorkChunkInstanceRecord): void {
    if (this.listeners.size === 0) return;
    const event: WorkChunkProgressEvent = { type, instance: toWorkChunkInstance(record, this.now()) };
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.env.logger.warn({ event: 'workchunk.listener_failed', instanceId: record.id, err: error }, 'A progress listener threw');
      }
    }
  }

  private now(): number {
    return this.env.clock.now().getTime();
  }
}
