import { Hono, type Context } from 'hono';
import { registerApi } from './api.js';
import { CLIENT_SCRIPT } from './assets/client-script.js';
import { STYLES } from './assets/styles.js';
import type { DashboardContext } from './context.js';
import { DashboardErrorCode, HttpError, notFound, toErrorResponse } from './http-error.js';
import { readOnlyError } from './actions.js';
import { html } from './html.js';
import { LiveHub } from './live-hub.js';
import { DashboardData } from './model.js';
import { resolveDashboardOptions, type DashboardOptions, type ResolvedDashboardOptions } from './options.js';
import { errorPage, registerPages } from './pages/routes.js';
import { layout } from './pages/layout.js';

/** The base path each dashboard app was created with, for serveDashboard's URL. */
const basePaths = new WeakMap<object, string>();

/** @internal The base path `createDashboard` gave this app ('' for none), if it made it. */
export function basePathOf(app: object): string | undefined {
  return basePaths.get(app);
}

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
};

function isApi(c: Context, options: ResolvedDashboardOptions): boolean {
  return c.req.path.startsWith(`${options.basePath}/api/`);
}

/**
 * A POST from a page of another site must not act (CSRF): browsers say where a request comes
 * from in `Sec-Fetch-Site`, older ones in `Origin`. Requests without either (curl, scripts)
 * pass; they carry no ambient browser credentials to abuse.
 */
function isCrossSite(request: Request): boolean {
  const site = request.headers.get('sec-fetch-site');
  if (site) return site !== 'same-origin' && site !== 'none';
  const origin = request.headers.get('origin');
  if (!origin) return false;
  try {
    return new URL(origin).host !== new URL(request.url).host;
  } catch {
    return true;
  }
}

function refuse(c: Context, options: ResolvedDashboardOptions, error: HttpError): Response {
  if (isApi(c, options)) return c.json(toErrorResponse(error).body, error.status);
  const { status, page } = errorPage(options, error, error.status === 401 ? 'Unauthorized' : 'Forbidden');
  return c.html(page.value, status as 401);
}

/**
 * Creates the dashboard: server-rendered pages, a JSON API under `/api`, live updates over
 * Server-Sent Events (`/api/events`), as a Hono app. Serve it with {@link serveDashboard}, or
 * hand its `fetch` to any server or framework that speaks the Fetch API.
 *
 * @example
 * const runtime = await BatchRuntime.open({ path: './.tsbatch' });
 * const dashboard = createDashboard({ runtime, basePath: '/batch', readOnly: true });
 * const { url, close } = await serveDashboard(dashboard, { port: 8080 });
 */
export function createDashboard(options: DashboardOptions): Hono {
  const resolved = resolveDashboardOptions(options);
  const data = new DashboardData(resolved.runtime);
  const ctx: DashboardContext = { options: resolved, data, hub: new LiveHub(data, resolved.pollIntervalMs) };
  // strict: false — `/batch/` and `/executions/` answer as `/batch` and `/executions` do.
  const root = new Hono({ strict: false });
  const app = resolved.basePath ? root.basePath(resolved.basePath) : root;

  app.use('*', async (c, next) => {
    if (resolved.auth) {
      const verdict = await resolved.auth(c.req.raw);
      if (verdict instanceof Response) return verdict;
      if (verdict !== true) return refuse(c, resolved, new HttpError(401, DashboardErrorCode.UNAUTHORIZED, 'Authentication is required to use this dashboard.'));
    }
    if (c.req.method === 'POST') {
      if (resolved.readOnly) return refuse(c, resolved, readOnlyError());
      if (isCrossSite(c.req.raw)) {
        return refuse(c, resolved, new HttpError(403, DashboardErrorCode.CROSS_SITE_REQUEST, 'Actions are refused when they come from another site.'));
      }
    }
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
  });

  app.get('/assets/dashboard.js', (c) => c.body(CLIENT_SCRIPT, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-cache' }));
  app.get('/assets/dashboard.css', (c) => c.body(STYLES, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'no-cache' }));

  registerApi(app, ctx);
  registerPages(app, ctx);

  app.notFound((c) => {
    const error = notFound(`The page ${c.req.path}`);
    if (isApi(c, resolved)) return c.json(toErrorResponse(error).body, 404);
    const page = layout(resolved, { title: 'Not found', section: undefined, body: html`<h1>Not found</h1><p role="alert">Nothing lives at ${c.req.path}.</p>` });
    return c.html(page.value, 404);
  });
  app.onError((error, c) => {
    if (isApi(c, resolved)) {
      const { status, body } = toErrorResponse(error);
      return c.json(body, status);
    }
    const { status, page } = errorPage(resolved, error);
    return c.html(page.value, status as 500);
  });

  basePaths.set(app, resolved.basePath);
  basePaths.set(root, resolved.basePath);
  return app;
}
