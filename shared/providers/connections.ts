import { providerOf } from './registry.ts';
import type { Connected, ConnectOptions } from './types.ts';

/**
 * The registered providers connected to their clouds, each on first use, for the instance's life.
 * `derive` gives the same providers with other client settings (the webhook's budget: short
 * timeouts, a clock that refuses waits past the deadline) while sharing credentials and config.
 */
export class Connections {
  private readonly connected = new Map<string, Connected>();
  constructor(readonly options: ConnectOptions) {}

  /** The connected provider of a task (or of that name). */
  of(task: string | { provider: string }): Connected {
    const name = typeof task === 'string' ? task : task.provider;
    let c = this.connected.get(name);
    if (!c) this.connected.set(name, (c = providerOf({ provider: name }).connect(this.options)));
    return c;
  }

  derive(overrides: Partial<ConnectOptions>): Connections {
    return new Connections({ ...this.options, ...overrides });
  }
}
