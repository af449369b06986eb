/** The analytics service: owns the projection (sync, rebuild, its job) and answers the market reads. */
import type { BackgroundJob } from '../module.js';
import { MarketProjection, type AnalyticsDeps } from './analytics.projection.js';

export class AnalyticsService {
  readonly projection: MarketProjection;
  readonly jobs: BackgroundJob[];

  constructor(readonly deps: AnalyticsDeps) {
    this.projection = new MarketProjection(deps);
    this.jobs = [{ name: 'analytics.project', intervalMs: 1000, run: () => this.projection.sync() }];
  }

  /** Folds every market event committed so far into the rollups (what the job runs each second). */
  sync(): Promise<void> {
    return this.projection.sync();
  }

  /** Drops the rollups and folds the whole fact log again. */
  rebuild(): Promise<void> {
    return this.projection.rebuild();
  }
}
