export * from './errors.ts';
export * from './credentials.ts';
export {
  sendHttp,
  withRetry,
  isRetryable,
  backoffDelay,
  defaultRetryPolicy,
  AccountLimiter,
  defaultLimiterOptions,
  getAccountLimiter,
  configureAccountLimiters,
  resetAccountLimiters,
  type HttpCall,
  type HttpResponse,
  type RetryPolicy,
  type RetryOptions,
  type LimiterOptions,
} from './transport.ts';
export { AlibabaRpcClient, mapAlibabaError, serverWaitMs, DEFAULT_API_VERSIONS, type AlibabaRpcOptions, type AlibabaProduct, type RpcCallOptions } from './alibaba-rpc.ts';
export * from './acr.ts';
export * from './ecs.ts';
export { IamTokenProvider, type IamTokenProviderOptions } from './huawei-iam.ts';
export { parseHuaweiErrorBody, mapHuaweiError, type HuaweiErrorInfo } from './huawei-errors.ts';
export * from './swr.ts';
export { KmsClient, type KmsClientOptions, type SecretValue, type GetSecretValueInput } from './kms.ts';
