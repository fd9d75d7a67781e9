/**
 * The providers Ferry knows, by name. Built-in ones register here; a new provider is one folder and
 * one line below. Everything that needs a cloud asks the registry, never a provider by name.
 */
import { acrProvider } from './acr/provider.ts';
import { copyProvider } from './copy/provider.ts';
import { swrProvider } from './swr/provider.ts';
import type { CloudProvider, RenderedTarget, TaskTarget } from './types.ts';

const registry = new Map<string, CloudProvider>();

export function registerProvider<To extends RenderedTarget>(p: CloudProvider<To>): void {
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(p.name)) throw new Error(`provider name "${p.name}" must be 1 to 32 lowercase letters, digits or "-"`);
  registry.set(p.name, p as CloudProvider);
}

registerProvider(acrProvider);
registerProvider(swrProvider);
registerProvider(copyProvider);

export function providers(): CloudProvider[] {
  return [...registry.values()];
}

export function providerNamed(name: string): CloudProvider | undefined {
  return registry.get(name);
}

/** The provider of a ledger task; a task naming an unknown provider is a configuration error. */
export function providerOf(task: { provider: string }): CloudProvider {
  const p = registry.get(task.provider);
  if (!p) throw new Error(`no provider "${task.provider}" is registered (known: ${[...registry.keys()].join(', ')})`);
  return p;
}

/** Providers that copy from sources of this kind. */
export function providersFeedingFrom(kind: string): CloudProvider[] {
  return providers().filter((p) => p.sourceKinds.includes(kind));
}

/** The provider that lists what sources of this kind hold (`connect().inventory`), if any. */
export function inventoryFor(kind: string): CloudProvider | undefined {
  return providers().find((p) => p.inventoryKinds?.includes(kind));
}

/** A task's typed target, parsed by its provider (which caches it per row). */
export function targetOf<To extends RenderedTarget = RenderedTarget>(task: { provider: string; target: unknown }): TaskTarget<To> {
  return providerOf(task).parseTarget(task.target) as TaskTarget<To>;
}
