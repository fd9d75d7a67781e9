/**
 * Stands in for the `yaml` package inside the function bundles (scripts/bundle.mjs aliases it):
 * `npm run package` ships the operator's config as dist/ferry.config.json, so a deployed function
 * never parses YAML and does not carry the 110 KB parser into its cold start.
 */
const message = 'this function bundle reads JSON configs only: `npm run package` converts ferry.config.yaml to dist/ferry.config.json (FERRY_CONFIG)';

export class LineCounter {
  linePos(_offset: number): { line: number; col: number } {
    return { line: 0, col: 0 };
  }
}

export function parseDocument(): never {
  throw new Error(message);
}
