#!/usr/bin/env node
// `ferry` operator CLI. Runs the TypeScript sources directly through tsx (a devDependency), so it
// works in a checkout after `npm ci` with no build step. See shared/cli/main.ts.
import { register } from 'tsx/esm/api';

register();
const { run } = await import('../shared/cli/main.ts');
await run();
