/**
 * tsbatch: a restartable batch-processing runtime for TypeScript, embedded in the process that
 * uses it.
 *
 * - Define steps with {@link step}: chunk-oriented (read, process, write, commit per chunk) or tasklets.
 * - Assemble them into jobs with {@link job}.
 * - Open a {@link BatchRuntime} on an LMDB directory; launch with `runtime.launcher.run(job, params)`
 *   or by name with `runtime.operator.start(name, params)`.
 * - A failed or stopped job restarts at its last commit: `runtime.operator.restart(executionId)`.
 *
 * Every chunk commits in one durable transaction that holds its counts, the step's execution
 * context (reader and writer positions) and any writes staged by transactional writers, so a
 * process killed at any moment loses nothing and writes nothing twice.
 *
 * @packageDocumentation
 */

// Runtime and operations
export { BatchRuntime } from './launch/batch-runtime.js';
export type { BatchRuntimeOptions, BatchRuntimeState, PostgresStoreOptions, ShutdownOptions, ShutdownResult } from './launch/batch-runtime.js';
export type { RecoveryPolicy } from './launch/recovery.js';
export type { JobLauncher, Launch } from './launch/job-launcher.js';
export type { JobOperator } from './launch/job-operator.js';
export type { JobRegistry } from './launch/job-registry.js';
export type { JobExplorer } from './repository/job-explorer.js';

// Definitions
export { job } from './flow/job-builder.js';
export type { JobBuilder, SimpleJobBuilder, JobFlowBuilder, FlowJobBuilder } from './flow/job-builder.js';
export { flow, split } from './flow/flow-builder.js';
export type { FlowBuilder, TransitionBuilder, FlowElement, Split, SplitOptions } from './flow/flow-builder.js';
export type { Flow } from './flow/flow.js';
export { decision } from './flow/decider.js';
export type { Decision, JobExecutionDecider } from './flow/decider.js';
export type { FlowStatus } from './flow/flow-status.js';
export { FlowExecutionError } from './flow/flow-execution-error.js';
export { flowStep } from './flow/flow-step.js';
export { jobStep } from './flow/job-step.js';
export type { JobStepOptions } from './flow/job-step.js';
export { runIdIncrementer } from './flow/job-parameters-incrementer.js';
export type { JobParametersIncrementer } from './flow/job-parameters-incrementer.js';
export type { ParametersSpec } from './flow/job-parameters-validator.js';
export type { Job, JobParametersValidator } from './flow/job.js';
export { step } from './step/step-builder.js';
export type { StepBuilder, ChunkStepBuilder, TaskletStepBuilder, PartitionStepBuilder, PerExecution } from './step/step-builder.js';
export { rangePartitioner, filePartitioner } from './step/partition/partitioner.js';
export type { Partitioner } from './step/partition/partitioner.js';
export type { PartitionOptions } from './step/partition/partition-step.js';
export type { RemotePartitioning, RemotePartitioningOptions, DispatcherKind } from './remote/remote-partitioning.js';
export type { PartitionWorker, PartitionWorkerOptions } from './remote/partition-worker.js';
export type { Dispatcher, DispatchMessage, DispatchConsumer, ConsumeOptions } from './remote/dispatcher.js';
export type { ReconcileResult } from './remote/partition-claims.js';
export type { Step } from './step/step.js';
export type { ChunkOptions } from './step/step-options.js';
export type { Tasklet, ChunkContext } from './step/tasklet-step.js';
export type { SkipPolicy, ErrorClass } from './step/chunk/skip-policy.js';
export { workerProcessor } from './worker/worker-processor.js';
export type { WorkerProcessorOptions, WorkerItemOutcome } from './worker/worker-processor.js';
export { WorkerThreadError } from './worker/protocol.js';
export type { SerializedError } from './worker/protocol.js';
export type { BackOffPolicy } from './step/chunk/retry-policy.js';

// Items
export type { ItemReader } from './item/item-reader.js';
export type { ItemProcessor, ItemProcessorLike, ChunkItemOutcome } from './item/item-processor.js';
export type { ItemWriter, ChunkTransaction } from './item/item-writer.js';
export type { ItemStream } from './item/item-stream.js';
export { IterableItemReader, iterableReader } from './item/support/iterable-item-reader.js';
export { ListItemWriter, listWriter } from './item/support/list-item-writer.js';
export { CompositeItemProcessor, compositeProcessor } from './item/support/composite-item-processor.js';
export { CompositeItemWriter, compositeWriter } from './item/support/composite-item-writer.js';
export { ClassifierItemWriter, classifierWriter } from './item/support/classifier-item-writer.js';
export type { ClassifierWriterOptions } from './item/support/classifier-item-writer.js';
export { ValidatingItemProcessor, validatingProcessor } from './item/support/validating-item-processor.js';
export type { ValidatingProcessorOptions } from './item/support/validating-item-processor.js';
export { CsvItemReader, csvReader } from './item/file/csv-item-reader.js';
export type { CsvReaderOptions, CsvRecord, CsvRecordMapper } from './item/file/csv-item-reader.js';
export { NdjsonItemReader, ndjsonReader } from './item/file/ndjson-item-reader.js';
export type { NdjsonReaderOptions, NdjsonValueMapper } from './item/file/ndjson-item-reader.js';
export { CsvItemWriter, csvWriter } from './item/file/csv-item-writer.js';
export type { CsvWriterOptions, CsvColumn, CsvColumnKey } from './item/file/csv-item-writer.js';
export { NdjsonItemWriter, ndjsonWriter } from './item/file/ndjson-item-writer.js';
export type { NdjsonWriterOptions } from './item/file/ndjson-item-writer.js';
export { AbstractFileItemReader } from './item/file/abstract-file-item-reader.js';
export type { FileReaderOptions } from './item/file/abstract-file-item-reader.js';
export { AbstractFileItemWriter } from './item/file/abstract-file-item-writer.js';
export type { FileWriterOptions, FileWriteMode } from './item/file/abstract-file-item-writer.js';
export { StoreItemWriter, storeWriter } from './item/store/store-item-writer.js';
export type { StoreWriterOptions } from './item/store/store-item-writer.js';
export { StoreItemReader, storeReader } from './item/store/store-item-reader.js';
export type { StoreReaderOptions, StagedValueSource } from './item/store/store-item-reader.js';

// Domain
export {
  BatchStatus,
  isRunningStatus,
  isUnsuccessfulStatus,
  maxBatchStatus,
  upgradeBatchStatus,
} from './domain/batch-status.js';
export { ExitStatus, ExitCode } from './domain/exit-status.js';
export { RepeatStatus } from './domain/repeat-status.js';
export { JobParameters } from './domain/job-parameters.js';
export type { JobParameter, JobParameterInput, JobParameterType, JobParameterValue } from './domain/job-parameters.js';
export type { JobInstance } from './domain/job-instance.js';
export type { ExecutionOwner } from './domain/execution-owner.js';
export type { JobExecution } from './domain/job-execution.js';
export type { StepExecution, StepCounts } from './domain/step-execution.js';
export type { StepContribution } from './domain/step-contribution.js';
export { ExecutionContext } from './domain/execution-context.js';
export type { JsonValue, ExecutionContextSnapshot } from './domain/execution-context.js';
export { Chunk } from './domain/chunk.js';
export type {
  JobExecutionListener,
  StepExecutionListener,
  ChunkListener,
  ItemReadListener,
  ItemProcessListener,
  ItemWriteListener,
  SkipListener,
  StepListener,
} from './domain/listeners.js';
export type { Logger, LogBindings } from './domain/logger.js';
export type {
  BatchEvent,
  BatchEventType,
  BatchEventListener,
  JobScope,
  StepScope,
  JobStartedEvent,
  JobEndedEvent,
  StepStartedEvent,
  StepEndedEvent,
  ChunkEndedEvent,
  ItemRetriedEvent,
  OrphanRecoveredEvent,
  WorkChunkRunEndedEvent,
  WorkChunkInstanceEndedEvent,
} from './domain/batch-event.js';
export { BATCH_EVENTS_CHANNEL, type BatchEvents } from './observe/batch-events.js';

// Errors
export {
  BatchError,
  BatchErrorCode,
  isBatchError,
  JobInstanceAlreadyCompleteError,
  JobExecutionAlreadyRunningError,
  JobRestartError,
  StartLimitExceededError,
  NoSuchJobError,
  NoSuchJobExecutionError,
  DuplicateJobError,
  JobParametersInvalidError,
  JobExecutionNotRunningError,
  IllegalStatusTransitionError,
  OptimisticLockingFailureError,
  ExecutionContextValueError,
  StoreUnavailableError,
  IllegalStateError,
  InvalidConfigurationError,
  InjectedFaultError,
  ParseError,
  ItemStreamError,
  ItemValidationError,
  SkipLimitExceededError,
  NonSkippableReadError,
  NonSkippableProcessError,
  NonSkippableWriteError,
  NonErrorThrownError,
  ChunkTimeoutError,
  RetryLaterError,
  NonRetryableError,
  NoSuchWorkChunkJobError,
  NoSuchWorkChunkInstanceError,
  WorkChunkInstanceEndedError,
  asError,
} from './domain/errors.js';

// Work-chunk jobs (the HAPI FHIR batch2 model)
export { workChunkJob, WorkChunkJobBuilder, WorkChunkStepChain, WorkChunkJobTail } from './workchunk/work-chunk-job.js';
export type {
  WorkChunkJobDefinition,
  WorkChunkInfo,
  WorkChunkSink,
  WarningSink,
  ReportSink,
  FirstStepContext,
  StepContext as WorkStepContext,
  RunOutcome,
  FirstStepWorker,
  IntermediateStepWorker,
  LastStepWorker,
  WorkChunkReducer,
  ReducerContext,
  WorkChunkRetryPolicy,
  WorkChunkInstanceOutcome,
} from './workchunk/work-chunk-job.js';
export type { WorkChunkCoordinator, WorkChunkOptions, WorkChunkProgressEvent, StartOptions as WorkChunkStartOptions, WaitOptions as WorkChunkWaitOptions } from './workchunk/coordinator.js';
export type { WorkChunkInstance, WorkChunkView } from './workchunk/work-chunk-instance.js';
export type { InstanceQuery as WorkChunkInstanceQuery } from './workchunk/work-chunk-repository.js';
export type { MaintenanceReport as WorkChunkMaintenanceReport } from './workchunk/maintenance.js';
export { WorkChunkStatus, WorkChunkInstanceStatus } from './domain/work-chunk-status.js';
