import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

/** What a query returned, or why PostgreSQL refused it (its SQLSTATE in `code`). */
type Answer = { readonly rows: Array<Record<string, unknown>>; readonly rowCount: number | null } | { readonly error: { readonly message: string; readonly code?: string } };

export class PostgresQueryError extends Error {
  constructor(
    message: string,
    readonly sqlState: string | undefined,
  ) {
    super(message);
    this.name = 'PostgresQueryError';
  }
}

/**
 * A PostgreSQL connection with a synchronous `query`, so the store's transaction bodies (written
 * once for LMDB, whose transactions are synchronous) run unchanged against PostgreSQL. The
 * connection lives on a worker thread; `query` posts the statement and blocks on Atomics.wait until
 * that thread answers. The process's thread is held for one round trip per statement, as LMDB holds
 * it for an fsync per commit.
 */
export class SyncPostgresClient {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flag: Int32Array;

  constructor(
    connectionString: string,
    private readonly timeoutMs: number,
  ) {
    const { port1, port2 } = new MessageChannel();
    const signal = new SharedArrayBuffer(4);
    this.flag = new Int32Array(signal);
    this.port = port1;
    this.worker = new Worker(new URL('./pg-connection-thread.mjs', import.meta.url), {
      workerData: { connectionString, port: port2, signal },
      transferList: [port2],
    });
    // The connection thread must not keep the process alive on its own.
    this.worker.unref();
    this.port.unref();
  }

  query<Row = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Row[] {
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage({ sql, params });
    const deadline = Date.now() + this.timeoutMs;
    if (Atomics.wait(this.flag, 0, 0, this.timeoutMs) === 'timed-out') {
      throw new PostgresQueryError(`PostgreSQL did not answer within ${this.timeoutMs} ms`, undefined);
    }
    // The flag can be seen before the message it announces (a CI run caught it): wait for the
    // message itself, a millisecond at a time.
    let received = receiveMessageOnPort(this.port);
    while (!received && Date.now() < deadline) {
      Atomics.wait(this.flag, 0, 1, 1);
      received = receiveMessageOnPort(this.port);
    }
    if (!received) throw new PostgresQueryError('the PostgreSQL connection thread answered nothing', undefined);
    const answer = received.message as Answer;
    if ('error' in answer) throw new PostgresQueryError(answer.error.message, answer.error.code);
    return answer.rows as Row[];
  }

  async close(): Promise<void> {
    this.port.close();
    await this.worker.terminate();
  }
}
