/**
 * Regenerates migrations.ts from migrations/*.sql so bundles (esbuild) carry the SQL as strings.
 * Run after adding or editing a migration: `npx tsx shared/ledger/embed-migrations.ts`.
 * test/ledger-migrations.test.ts fails while the two disagree.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export function readSqlMigrations(dir = join(here, 'migrations')): Array<{ version: number; name: string; sql: string }> {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((file) => {
      const m = /^(\d{3})_([a-z0-9_]+)\.sql$/.exec(file);
      if (!m) throw new Error(`migrations/${file}: name must be NNN_snake_case.sql`);
      return { version: Number(m[1]), name: m[2]!, sql: readFileSync(join(dir, file), 'utf8') };
    });
}

export function renderMigrationsModule(list: ReturnType<typeof readSqlMigrations>): string {
  const body = list.map((m) => `  {\n    version: ${m.version},\n    name: ${JSON.stringify(m.name)},\n    sql: ${JSON.stringify(m.sql)},\n  },`).join('\n');
  return (
    '// GENERATED from shared/ledger/migrations/*.sql by embed-migrations.ts: do not edit by hand.\n' +
    "import type { Migration } from './migrate.ts';\n\n" +
    `export const MIGRATIONS: readonly Migration[] = [\n${body}\n];\n`
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(join(here, 'migrations.ts'), renderMigrationsModule(readSqlMigrations()));
  console.log('wrote shared/ledger/migrations.ts');
}
