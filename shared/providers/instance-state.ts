/**
 * What a function instance keeps between invocations for its providers (e.g. ACR's repository ids):
 * one per instance, handed to every connection, including the webhook's derived ones, so a cache
 * warmed by one invocation or by the sweep serves the next. Each provider names its own entries.
 */
export class InstanceState {
  private readonly values = new Map<string, unknown>();

  /** The value kept under `key`, made by `make` on first use. */
  of<T>(key: string, make: () => T): T {
    if (!this.values.has(key)) this.values.set(key, make());
    return this.values.get(key) as T;
  }
}
