/**
 * zod for code bundled into the functions: `zod/mini` (the classic API adds ~150 KB to each bundle),
 * with zod's English messages installed. Unlike classic zod, mini installs no locale by itself: without
 * this every built-in message reads "Invalid input". Import `* as z from '<…>/zod.ts'`, never 'zod/mini'.
 */
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

z.config(en());

export * from 'zod/mini';
