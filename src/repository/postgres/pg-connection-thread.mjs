// The thread that owns the PostgreSQL connection of a PgKvStore. Plain JavaScript on purpose: worker
// threads do not inherit a TypeScript loader. The store's thread posts one query at a time and
// sleeps on `signal` (Atomics.wait) until this thread has posted the answer and woken it.
import { workerData } from 'node:worker_threads';
import pg from 'pg';

const { connectionString, port, signal } = workerData;
const flag = new Int32Array(signal);
const client = new pg.Client({ connectionString });
const connected = client.connect();

function answer(message) {
  port.postMessage(message);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

port.on('message', async ({ sql, params }) => {
  try {
    await connected;
    const result = await client.query(sql, params);
    answer({ rows: result.rows, rowCount: result.rowCount });
  } catch (error) {
    answer({ error: { message: error instanceof Error ? error.message : String(error), code: typeof error?.code === 'string' ? error.code : undefined } });
  }
});

connected.catch(() => undefined);
