import { Registry, collectDefaultMetrics } from 'prom-client';

export { Registry };

// One registry per process component rather than prom-client's global one, so that tests can
// run several region nodes in one process without metric-name clashes.
export function createMetricsRegistry(labels: Record<string, string>, withDefaults = true): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  if (withDefaults) collectDefaultMetrics({ register: registry, prefix: 'octomesh_process_' });
  return registry;
}
