import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createAdaptorServer, getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import { basePathOf, createDashboard } from './app.js';
import type { DashboardOptions } from './options.js';

export interface ServeOptions {
  /** 0 picks a free port (see the returned `url`). */
  readonly port: number;
  /** The interface to listen on. @default '127.0.0.1' (this machine only) */
  readonly hostname?: string;
}

/** A dashboard listening on a port. */
export interface ServedDashboard {
  /** Where it answers, base path included, e.g. `http://127.0.0.1:8080/batch`. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and ends open connections (live-event streams too). Does not close the runtime. */
  close(): Promise<void>;
}

/** The dashboard as a Node `(request, response)` listener, for `http.createServer` or Express's `app.use`. */
export function dashboardRequestListener(app: Hono): (request: IncomingMessage, response: ServerResponse) => Promise<void> {
  return getRequestListener(app.fetch);
}

function isApp(value: Hono | DashboardOptions): value is Hono {
  return typeof (value as Hono).fetch === 'function' && typeof (value as Hono).request === 'function';
}

/**
 * Serves a dashboard (one from {@link createDashboard}, or the options to create one) over HTTP on
 * `hostname:port`, by default on 127.0.0.1 only. Resolves once it listens.
 */
export async function serveDashboard(appOrOptions: Hono | DashboardOptions, { port, hostname = '127.0.0.1' }: ServeOptions): Promise<ServedDashboard> {
  const app = isApp(appOrOptions) ? appOrOptions : createDashboard(appOrOptions);
  const server = createAdaptorServer({ fetch: app.fetch, hostname, port }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, hostname, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const host = hostname.includes(':') ? `[${hostname}]` : hostname === '0.0.0.0' ? '127.0.0.1' : hostname === '::' ? '[::1]' : hostname;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${actualPort}${basePathOf(app) ?? ''}`,
    port: actualPort,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Event streams never end on their own: end every connection, idle or not.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
