/** The copy engine: images moved registry to registry over the OCI distribution API (contract: types.ts). */
export { copyImage, resolveDigest, DEFAULT_CHUNK_BYTES, DEFAULT_CONCURRENCY } from './copy.ts';
export { listCatalog, listTags, nextLink } from './catalog.ts';
export { DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST } from './manifests.ts';
export * from './types.ts';
