/** The copy engine as the provider calls it (shared/copy): one copy, resumable; a tag's digest. */
import type { CopyCheckpoint, CopyHooks, CopyOptions, CopyResult, ImageRef } from '../../copy/types.ts';

export type CopyImage = (src: ImageRef, dst: ImageRef, opts: CopyOptions, hooks: CopyHooks, resume?: CopyCheckpoint) => Promise<CopyResult>;
export type ResolveDigest = (ref: ImageRef, opts?: CopyOptions) => Promise<string | null>;

// TEMPORARY until branch `engine` lands shared/copy/index.ts: replaced by its exports.
const missing = async (): Promise<never> => {
  throw new Error('the copy engine (shared/copy/index.ts) is not merged yet');
};
export const copyImage: CopyImage = missing;
export const resolveDigest: ResolveDigest = missing;
