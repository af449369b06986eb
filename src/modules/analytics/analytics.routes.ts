import type { FastifyInstance } from 'fastify';
import type { AnalyticsService } from './analytics.service.js';

export async function analyticsRoutes(_fastify: FastifyInstance, _opts: { analytics: AnalyticsService }) {}
