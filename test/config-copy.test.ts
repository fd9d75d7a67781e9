// Config for copies Ferry makes itself: registry fields of sources, copy targets, and every refusal.
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../shared/config/index.ts';

const ENV = { HUAWEI_AK: 'AKLOCAL', HUAWEI_SK: 'sk-local', HARBOR_PASSWORD: 'harbor-pass', IAM_PASSWORD: 'pw' };

function config(over: { sources?: object[]; targets?: object[]; source?: string; clouds?: object } = {}) {
  return {
    sources: over.sources ?? [
      { kind: 'acr', name: 'acr-hz', instanceId: 'cri-abcd1234', region: 'cn-hangzhou', instanceName: 'myreg' },
      { kind: 'swr', name: 'swr-bj', region: 'cn-north-4', namespaces: ['team'] },
      { kind: 'harbor', name: 'hb', host: 'harbor.example.com', username: 'robot$ferry', password: '${HARBOR_PASSWORD}' },
      { kind: 'distribution', name: 'lan', url: 'http://10.0.0.5:5000' },
      { kind: 'dockerhub', name: 'hub' },
    ],
    rules: [{ name: 'r', source: over.source ?? 'acr-hz', targets: over.targets ?? [{ provider: 'copy', registry: 'swr-bj' }] }],
    clouds: over.clouds ?? { huawei: { accessKey: '${HUAWEI_AK}', secretKey: '${HUAWEI_SK}' } },
  };
}

const problems = (doc: object) => {
  const r = validateConfig(doc, ENV);
  return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
};

describe('copy targets', () => {
  it('an ACR source copied to SWR by Ferry: defaults filled in, the password resolved and masked', () => {
    const r = validateConfig(config(), ENV);
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.config.rules[0]!.targets[0]).toEqual({ provider: 'copy', registry: 'swr-bj', namespace: '{namespace}', repository: '{repository}', tag: '{tag}', referrers: false });
    expect(r.config.sources[2]).toMatchObject({ username: 'robot$ferry', password: 'harbor-pass' });
    expect(r.config.secretValues).toContain('harbor-pass');
  });

  it('accepts platforms, referrers, http URLs and every source kind', () => {
    for (const source of ['acr-hz', 'swr-bj', 'hb', 'lan', 'hub']) {
      const registry = source === 'lan' ? 'hb' : 'lan';
      expect(problems(config({ source, targets: [{ provider: 'copy', registry, platforms: ['linux/amd64', 'linux/arm64/v8'], referrers: true }] }))).toEqual([]);
    }
  });

  it.each([
    [
      'unknown registry',
      { targets: [{ provider: 'copy', registry: 'nope' }] },
      ['rules[0].targets[0].registry: unknown source "nope": a copy goes to a configured source (configured: acr-hz, swr-bj, hb, lan, hub)'],
    ],
    [
      'onto itself',
      { source: 'lan', targets: [{ provider: 'copy', registry: 'lan' }] },
      ['rules[0].targets[0].registry: copies every push of "lan" onto itself: give another registry, or a namespace, repository or tag template'],
    ],
    [
      'bad platform',
      { targets: [{ provider: 'copy', registry: 'swr-bj', platforms: ['linux'] }] },
      ['rules[0].targets[0].platforms[0]: must be os/arch or os/arch/variant, e.g. linux/amd64 or linux/arm64/v8'],
    ],
    [
      'bad literal name',
      { targets: [{ provider: 'copy', registry: 'lan', namespace: 'Team' }] },
      ['rules[0].targets[0].namespace: must be lowercase letters and digits, separated by ".", "_", "__" or "-"'],
    ],
    [
      'SWR with IAM password auth',
      { clouds: { huawei: { user: 'ferry', password: '${IAM_PASSWORD}', domain: 'd' } } },
      [
        'rules[0].targets[0].registry: cannot copy to "swr-bj": SWR\'s registry login is derived from clouds.huawei accessKey and secretKey; IAM password auth (user, password, domain) cannot log in to the registry',
      ],
    ],
    [
      'SWR without Huawei credentials',
      { source: 'swr-bj', targets: [{ provider: 'copy', registry: 'lan' }], clouds: {} },
      ['rules[0].targets[0].provider: cannot copy from "swr-bj": SWR\'s registry login is derived from an AccessKey: configure clouds.huawei with accessKey and secretKey'],
    ],
    [
      'ACR without instanceName or registry',
      {
        sources: [
          { kind: 'acr', name: 'acr-hz', instanceId: 'cri-abcd1234', region: 'cn-hangzhou' },
          { kind: 'distribution', name: 'lan', url: 'http://10.0.0.5:5000' },
        ],
        targets: [{ provider: 'copy', registry: 'lan' }],
      },
      ['rules[0].targets[0].provider: cannot copy from "acr-hz": give it instanceName (its registry is <instanceName>-registry.<region>.cr.aliyuncs.com) or registry (the registry URL)'],
    ],
    [
      'generic registry without url or host',
      {
        sources: [
          { kind: 'acr', name: 'acr-hz', instanceId: 'cri-abcd1234', region: 'cn-hangzhou', instanceName: 'myreg' },
          { kind: 'harbor', name: 'hb' },
        ],
        targets: [{ provider: 'copy', registry: 'hb' }],
      },
      ['rules[0].targets[0].registry: cannot copy to "hb": it has neither url nor host, so its registry is unknown'],
    ],
    [
      'registry fields',
      {
        sources: [
          { kind: 'acr', name: 'a', instanceId: 'cri-abcd1234', region: 'cn-hangzhou', instanceName: 'My_Reg', registry: 'ftp://x' },
          { kind: 'swr', name: 's', region: 'cn-north-4', namespaces: ['team'], registry: 'https://swr.example.com/v2/' },
          { kind: 'harbor', name: 'h', url: 'https://user:pw@harbor.example.com', username: 'robot' },
          { kind: 'dockerhub', name: 'd', password: 'inline-secret' },
        ],
        targets: [{ provider: 'copy', registry: 's' }],
        source: 'a',
      },
      [
        'sources[0].instanceName: must be 3 to 64 lowercase letters, digits or "-" (the instance name in its registry host)',
        'sources[0].registry: must be an http(s) URL',
        "sources[1].registry: must be the registry's base URL, without a path (Ferry adds /v2/)",
        'sources[2].url: must not carry credentials (give username and password instead)',
        'sources[2].password: is required when the other of username and password is given',
        'sources[3].password: must be a reference like ${FERRY_REGISTRY_PASSWORD} or ${kms:SECRET_NAME}, not an inline secret',
        'sources[3].username: is required when the other of username and password is given',
      ],
    ],
  ])('%s', (_name, over, expected) => {
    expect(problems(config(over as never))).toEqual(expected);
  });

  it('an SWR target for an ACR source points to provider: copy', () => {
    expect(problems(config({ targets: [{ provider: 'swr', remoteRegion: 'cn-east-3' }] }))).toEqual([
      'rules[0].targets[0].provider: an SWR target copies from an SWR source, but "acr-hz" is an ACR source; Ferry can copy it itself: provider: copy, registry: <the SWR source to copy to> (configured: swr-bj)',
    ]);
  });
});
