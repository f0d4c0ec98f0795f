import type { BatchRuntime } from '../index.js';
import { InvalidConfigurationError } from '../index.js';

/**
 * Decides whether a request may use the dashboard. `true` lets it through; `false` answers 401
 * `{ error: { code: 'UNAUTHORIZED' } }`; a `Response` is sent as it is (e.g. a 401 with a
 * `WWW-Authenticate` challenge, or a redirect to a login page).
 */
export type DashboardAuth = (request: Request) => boolean | Response | Promise<boolean | Response>;

export interface DashboardOptions {
  /** The runtime whose store is shown and whose operator runs the actions. */
  readonly runtime: BatchRuntime;
  /**
   * The path the dashboard lives under, e.g. `/batch` behind a reverse proxy or in a host app:
   * pages, links, the JSON API and the script's URLs all start with it. @default '' (the root)
   */
  readonly basePath?: string;
  /** Show everything, change nothing: every action answers 403 READ_ONLY and pages show none. @default false */
  readonly readOnly?: boolean;
  /** Called for every request, pages, API and events alike. @default everyone is let in */
  readonly auth?: DashboardAuth;
  /**
   * How often the live-event stream reads the store for changes (other processes write to it
   * too); only while at least one client listens. @default 1000
   */
  readonly pollIntervalMs?: number;
  /** How often an idle event stream sends a heartbeat comment. @default 15000 */
  readonly heartbeatMs?: number;
  /** How often a page polls the JSON API when EventSource does not work. @default 5000 */
  readonly fallbackPollMs?: number;
}

/** The options with their defaults, as the routes see them. */
export interface ResolvedDashboardOptions {
  readonly runtime: BatchRuntime;
  readonly basePath: string;
  readonly readOnly: boolean;
  readonly auth: DashboardAuth | undefined;
  readonly pollIntervalMs: number;
  readonly heartbeatMs: number;
  readonly fallbackPollMs: number;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new InvalidConfigurationError(`Dashboard option ${name} must be a positive number of milliseconds; got ${value}.`);
  return value;
}

/** `/batch/` → `/batch`, `batch` → `/batch`, `/` → ''. */
export function normalizeBasePath(basePath: string | undefined): string {
  if (basePath === undefined) return '';
  const trimmed = basePath.trim().replace(/\/+$/, '');
  if (trimmed === '') return '';
  const path = trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
  if (!/^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/.test(path)) {
    throw new InvalidConfigurationError(`Dashboard basePath must be a URL path such as '/batch'; got '${basePath}'.`);
  }
  return path;
}

/** Validates the options and fills in the defaults. */
export function resolveDashboardOptions(options: DashboardOptions): ResolvedDashboardOptions {
  if (!options || !options.runtime) throw new InvalidConfigurationError('createDashboard needs { runtime }: an open BatchRuntime.');
  return {
    runtime: options.runtime,
    basePath: normalizeBasePath(options.basePath),
    readOnly: options.readOnly ?? false,
    auth: options.auth,
    pollIntervalMs: positive('pollIntervalMs', options.pollIntervalMs, 1000),
    heartbeatMs: positive('heartbeatMs', options.heartbeatMs, 15_000),
    fallbackPollMs: positive('fallbackPollMs', options.fallbackPollMs, 5000),
  };
}
