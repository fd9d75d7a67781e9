/** The operator's config: load, validate, and the types the rest of Ferry reads. */
export { ConfigError, formatIssues, formatPath, fromZodIssue, type ConfigIssue } from './errors.ts';
export {
  loadConfig,
  parseConfig,
  parseConfigText,
  validateConfig,
  registerConfigSecrets,
  DEFAULT_FILES,
  type FerryConfig,
  type LoadOptions,
  type ValidationResult,
} from './load.ts';
export { POLICY_DEFAULTS, mergePolicy, type Policy, type Backoff, type FerryConfigInput } from './schema.ts';
export type { Env } from './secrets.ts';

import type { FerryConfig } from './load.ts';

export type Source = FerryConfig['sources'][number];
export type RegistrySource = Extract<Source, { kind: 'harbor' | 'distribution' | 'dockerhub' }>;
export type Rule = FerryConfig['rules'][number];
export type Target = Rule['targets'][number];
export type AuthConfig = FerryConfig['auth'];
export type WebhookToken = AuthConfig['webhookTokens'][number];
export type ApiToken = AuthConfig['apiTokens'][number];
export type AlibabaCloudConfig = NonNullable<FerryConfig['clouds']['alibaba']>;
export type HuaweiCloudConfig = NonNullable<FerryConfig['clouds']['huawei']>;
export type StoreConfig = FerryConfig['store'];
export type NotificationTarget = FerryConfig['notifications'][number];
export type WebhookSettings = FerryConfig['webhook'];
export type SweepSettings = FerryConfig['sweep'];
