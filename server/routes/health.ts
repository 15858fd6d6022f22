import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ComponentHealth, HealthStatus } from '../../store/telemetry-store.ts';
import type { HubServices } from '../services.ts';

const Component = Type.Object({ status: Type.Union([Type.Literal('up'), Type.Literal('degraded'), Type.Literal('down')]) }, { additionalProperties: true });

const HealthOut = Type.Object({
  status: Type.Union([Type.Literal('up'), Type.Literal('degraded'), Type.Literal('down')]),
  time: Type.String(),
  uptimeS: Type.Number(),
  components: Type.Record(Type.String(), Component),
});

const RANK: Record<HealthStatus, number> = { up: 0, degraded: 1, down: 2 };

export function healthRoutes(app: FastifyInstance, s: HubServices): void {
  app.get(
    '/api/health',
    {
      config: { access: 'public' },
      schema: {
        tags: ['system'],
        summary: 'Overall and per-component health (store, pipeline, each source, broker)',
        description: 'HTTP 200 while the hub is up or degraded, 503 when a component it cannot work without is down. Components are listed only for a logged-in caller.',
        response: { 200: HealthOut, 503: HealthOut },
      },
    },
    async (req, reply) => {
      const components: Record<string, ComponentHealth> = {};
      try {
        components['store'] = await s.store.health();
      } catch (err) {
        components['store'] = { status: 'down', detail: (err as Error).message };
      }
      components['pipeline'] = { status: s.pipeline.pending > (s.config.hub.store.queueLimit * 0.9) ? 'degraded' : 'up', pending: s.pipeline.pending };
      for (const src of s.sources) {
        try {
          components[`source:${src.id}`] = src.health();
        } catch (err) {
          components[`source:${src.id}`] = { status: 'down', detail: (err as Error).message };
        }
      }
      for (const [name, fn] of s.components ?? []) components[name] = fn();
      // The hub is down only when its store is; a source that is down makes it degraded (the others keep going).
      let status: HealthStatus = 'up';
      for (const [name, c] of Object.entries(components)) {
        const st: HealthStatus = c.status === 'down' && name !== 'store' ? 'degraded' : c.status;
        if (RANK[st] > RANK[status]) status = st;
      }
      const now = s.clock.now();
      void reply.status(status === 'down' ? 503 : 200);
      return { status, time: new Date(now).toISOString(), uptimeS: Math.round((now - s.startedAt) / 1000), components: req.principal ? components : {} };
    },
  );
}
