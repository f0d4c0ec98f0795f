import type { LiveHub } from './live-hub.js';
import type { DashboardData } from './model.js';
import type { ResolvedDashboardOptions } from './options.js';

/** What every route of one dashboard shares. */
export interface DashboardContext {
  readonly options: ResolvedDashboardOptions;
  readonly data: DashboardData;
  readonly hub: LiveHub;
}
