/**
 * The registry of a configured source, for the copy engine: generic registries (Harbor,
 * distribution, Docker Hub) from their own fields; a cloud's registry from its provider
 * (`registryFor`), which alone knows how to log in there. Built once per source per connection.
 */
import type { RegistrySource, Source } from '../../config/index.ts';
import { CopyError, type RegistryEndpoint } from '../../copy/types.ts';
import { providerNamed } from '../registry.ts';
import type { ConnectOptions } from '../types.ts';

export const DOCKER_HUB_REGISTRY = 'https://registry-1.docker.io';

function genericEndpoint(s: RegistrySource): RegistryEndpoint {
  const url = s.url ?? (s.host ? `https://${s.host}` : s.kind === 'dockerhub' ? DOCKER_HUB_REGISTRY : undefined);
  if (!url) throw new CopyError('UNSUPPORTED', `source "${s.name}" has neither url nor host: its registry is unknown`, false);
  const creds = s.username !== undefined && s.password !== undefined ? { username: s.username, password: s.password } : null;
  return { url, name: s.name, login: async () => creds };
}

function endpointOf(source: Source, opts: ConnectOptions): RegistryEndpoint {
  if (source.kind === 'harbor' || source.kind === 'distribution' || source.kind === 'dockerhub') return genericEndpoint(source);
  const native = providerNamed(source.kind);
  if (!native?.registryFor) throw new CopyError('UNSUPPORTED', `Ferry cannot reach the registry of ${source.kind} source "${source.name}"`, false);
  return native.registryFor(source, opts);
}

/** Endpoints by source name, each built on first use; a source the config no longer has is a permanent failure. */
export class Endpoints {
  private readonly built = new Map<string, RegistryEndpoint>();
  constructor(private readonly opts: ConnectOptions) {}

  of(name: string): RegistryEndpoint {
    let e = this.built.get(name);
    if (e) return e;
    const source = this.opts.config.sources.find((s) => s.name === name);
    if (!source) throw new CopyError('NAME_UNKNOWN', `no source "${name}" is configured any more`, false);
    e = endpointOf(source, this.opts);
    this.built.set(name, e);
    return e;
  }
}
