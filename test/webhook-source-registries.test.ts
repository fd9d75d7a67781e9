// Which configured registry announced a push: generic registries match rules as themselves (no
// mirrorOf), a source known only by its URL is recognised by that URL's host, and mirrorOf still wins.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../shared/config/index.ts';
import type { NormalizedPush } from '../shared/webhook/normalize.ts';
import { resolveSource } from '../shared/webhook/source.ts';

const config = parseConfig(
  {
    sources: [
      { kind: 'acr', name: 'acr-hz', instanceId: 'cri-abcd1234', region: 'cn-hangzhou' },
      { kind: 'distribution', name: 'lan', url: 'http://10.0.0.5:5000' },
      { kind: 'distribution', name: 'edge', host: 'edge.example.com' },
      { kind: 'harbor', name: 'hb', host: 'harbor.example.com', mirrorOf: 'acr-hz' },
    ],
  },
  {},
);
const push = (format: NormalizedPush['format'], host: string): NormalizedPush => ({ format, namespace: 'team', repository: 'app', tag: 'v1', pushedAt: new Date(0), host });

describe('resolveSource with registries Ferry copies from', () => {
  it('a distribution push matches as its own source; by URL host when the source has no host', () => {
    expect(resolveSource(push('distribution', '10.0.0.5:5000'), {}, config)).toMatchObject({ ok: true, source: { name: 'lan' }, matchAs: { name: 'lan' } });
    expect(resolveSource(push('distribution', 'edge.example.com'), {}, config)).toMatchObject({ ok: true, source: { name: 'edge' }, matchAs: { name: 'edge' } });
    expect(resolveSource(push('distribution', 'other.example.com:5000'), {}, config)).toMatchObject({ ok: false, code: 'UnknownSource' });
  });

  it('with mirrorOf, rules see the mirror, as before', () => {
    expect(resolveSource(push('harbor', 'harbor.example.com'), {}, config)).toMatchObject({ ok: true, source: { name: 'hb' }, matchAs: { name: 'acr-hz' } });
  });

  it('a pushed name no registry accepts is refused before anything is recorded', () => {
    expect(resolveSource({ ...push('distribution', 'edge.example.com'), repository: 'App' }, {}, config)).toMatchObject({ ok: false, code: 'InvalidName', field: 'repository' });
  });
});
