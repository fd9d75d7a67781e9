/** The local cloud: one HTTP server emulating the Alibaba (ACR, ECS, FC) and Huawei (IAM, SWR) APIs Ferry calls. */
export { startLocalCloud, seededRandom, defaultDeliver, DEFAULT_PORT } from './server.ts';
export type { StartLocalCloudOptions, LocalCloud, AcrTestApi, EcsTestApi } from './server.ts';
export { createVirtualClock, type LocalVirtualClock } from './clock.ts';
export { FaultRegistry, faultRuleSchema, type FaultRuleInput, type FaultRule } from './faults.ts';
export { createAlibabaService, ACR_VERSION, ECS_VERSION, KMS_VERSION, type AlibabaService } from './alibaba.ts';
export { acrTriggerTime, type AcrTriggerPayload, type PushInput, type PushResult, type SyncTaskView, type OutcomeRuleInput, type TaskIssue } from './acr.ts';
export type { EcsTaskInput, EcsTaskView } from './ecs.ts';
export type { LocalService } from './local-service.ts';
export { localCloudSeedSchema, defaultSeed, type LocalCloudSeed, type LocalCloudSeedInput } from './seed.ts';
export type { CloudRequest, CloudResponse, EmulatedService, VirtualClock, LocalCloudEnv, Deliver } from './types.ts';
export { startLocalRegistries, type RegistryUrls, type LocalRegistries } from './registry/index.ts';
