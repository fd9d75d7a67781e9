/** The backfill tests' source: team/big with 1,000 tags, one rule to one ACR target (shared with the child process). */
export const SRC = 'cri-localsrc001';
export const DST = 'cri-localdst001';
export const TAGS = 1000;
export const digestOf = (i: number) => `sha256:${i.toString(16).padStart(64, 'b')}`;

export function bigSeed(): Record<string, unknown> {
  const tags = Object.fromEntries(Array.from({ length: TAGS }, (_, i) => [`v${i}`, digestOf(i)]));
  return {
    alibaba: {
      instances: [
        { instanceId: SRC, region: 'cn-hangzhou', namespaces: [{ name: 'team', repos: [{ name: 'big', tags }] }] },
        { instanceId: DST, region: 'cn-shanghai', namespaces: [{ name: 'team', repos: [] }] },
        { instanceId: 'cri-localdst002', region: 'cn-beijing', namespaces: [{ name: 'team', repos: [] }] },
      ],
    },
  };
}

export function backfillRules(base: Record<string, unknown>): Record<string, unknown> {
  return {
    ...base,
    rules: [{ name: 'big', source: 'acr-hangzhou', namespace: 'team', repository: 'big', tags: { include: ['v*'] }, targets: [{ provider: 'acr', instanceId: DST, region: 'cn-shanghai' }] }],
  };
}
