'use strict';
/**
 * The execution role's RAM policy, generated from the operator config: only the actions the
 * functions call, on the instances the config names.
 *
 * RAM action names are not always the API names; each comes from the API's "Authorization
 * information" table (alibabacloud.com/help, Container Registry 2018-12-01, ECS, KMS):
 *   GetRepoSyncTask, ListRepoSyncTask → cr:GetRepositorySync      resource repository/{instanceId}
 *   CancelRepoSyncTask               → cr:CancelRepoSyncTask      resource repository/{instanceId}
 *   GetRepository                    → cr:GetRepository           resource repository/{instanceId}/{ns}/{repo}
 *   ListRepository                   → cr:ListRepository          resource repository/{instanceId}/{ns}/*
 *   GetRepoTag, ListRepoTag          → cr:ListRepositoryTag       resource repository/{instanceId}
 *   GetAuthorizationToken            → cr:GetAuthorizationToken   resource repository/{instanceId}
 *   CreateRepoSyncTask               → cr:CreateRepoSyncTask      (the page discloses none: the API name)
 *   ListRepoTrigger                  → cr:GetWebHookLog           (ferry triggers; its API reference's table)
 *   CreateRepoTrigger                → cr:CreateWebHook           (ferry triggers --apply; unconfirmed: UpdateRepoTrigger's is cr:UpdateWebHook)
 *   DeleteRepoTag                    → cr:DeleteRepositoryTag     (deletion replication, rules with deletes: true)
 *   ECS CancelTask                   → ecs:CancelTask             All Resources
 *   ECS DescribeTasks, DescribeTaskAttribute → ecs:DescribeTasks, ecs:DescribeTaskAttribute (All Resources)
 *   KMS GetSecretValue               → kms:GetSecretValue         resource acs:kms:{region}:{account}:secret/{name}
 *   FC InvokeFunction (the webhook waking the sweep, async) → fc:InvokeFunction
 *                                    resource acs:fc:{region}:{account}:services/{service}/functions/{function}
 * The ACR repository ARN covers an instance as `repository/{instanceId}` and everything in it as
 * `repository/{instanceId}/*` (RAM's `*` does not match the missing "/"), so both are listed.
 * With a VPC, FC attaches an ENI under the service role: the network actions of
 * AliyunServiceRolePolicyForFC (FC's own VPC role policy).
 */
const { configReferences } = require('./config-env.cjs');

const ACR_ACTIONS = [
  'cr:CreateRepoSyncTask',
  'cr:GetRepositorySync',
  'cr:CancelRepoSyncTask',
  'cr:GetRepository',
  'cr:ListRepository',
  'cr:ListRepositoryTag',
  'cr:GetAuthorizationToken',
  'cr:GetWebHookLog',
  'cr:CreateWebHook',
  'cr:DeleteRepositoryTag',
];
const ECS_ACTIONS = ['ecs:DescribeTasks', 'ecs:DescribeTaskAttribute', 'ecs:CancelTask'];
const VPC_ACTIONS = [
  'vpc:DescribeVSwitchAttributes',
  'vpc:DescribeVpcAttribute',
  'ecs:CreateNetworkInterface',
  'ecs:DeleteNetworkInterface',
  'ecs:DescribeNetworkInterfaces',
  'ecs:CreateNetworkInterfacePermission',
  'ecs:DeleteNetworkInterfacePermission',
  'ecs:DescribeNetworkInterfacePermissions',
];

/** ACR instances of the deploying account the functions call: sources, and targets in the same account. */
function acrInstances(doc, accountId) {
  const out = new Map();
  const add = (instanceId, region, owner) => {
    if (typeof instanceId !== 'string' || typeof region !== 'string') return;
    // An instance marked as another account's (source accountId, target targetUserId) answers to
    // that account's RAM, not to this role.
    if (owner !== undefined && owner !== accountId) return;
    out.set(`${region}/${instanceId}`, { instanceId, region });
  };
  for (const s of doc?.sources || []) if (s && s.kind === 'acr') add(s.instanceId, s.region, s.accountId);
  for (const r of doc?.rules || []) {
    for (const t of r?.targets || []) if (t && t.provider === 'acr') add(t.instanceId, t.region, t.targetUserId);
  }
  return [...out.values()].sort((a, b) => `${a.region}/${a.instanceId}`.localeCompare(`${b.region}/${b.instanceId}`));
}

/**
 * `accountId`: the deploying account ('*' when unknown at packaging); `region`: the functions'
 * region (where KMS secrets are read); `vpc`: deploy.vpc when set; `sweep`: the sweep function
 * ({ service, function }) the webhook may invoke to start a sweep early.
 */
function ramPolicy(doc, { accountId, region, vpc, sweep }) {
  const statements = [];
  const instances = acrInstances(doc, accountId);
  if (instances.length) {
    statements.push({
      Effect: 'Allow',
      Action: ACR_ACTIONS,
      Resource: instances.flatMap(({ instanceId, region: r }) => [`acs:cr:${r}:${accountId}:repository/${instanceId}`, `acs:cr:${r}:${accountId}:repository/${instanceId}/*`]),
    });
  }
  const ecsRegions = doc?.sweep?.ecsWatch?.regions;
  if (Array.isArray(ecsRegions) && ecsRegions.length) statements.push({ Effect: 'Allow', Action: ECS_ACTIONS, Resource: ['*'] });
  const { kms } = configReferences(doc);
  if (kms.length) statements.push({ Effect: 'Allow', Action: ['kms:GetSecretValue'], Resource: kms.map((name) => `acs:kms:${region}:${accountId}:secret/${name}`) });
  if (vpc) statements.push({ Effect: 'Allow', Action: VPC_ACTIONS, Resource: ['*'] });
  if (sweep?.service && sweep.function) {
    statements.push({ Effect: 'Allow', Action: ['fc:InvokeFunction'], Resource: [`acs:fc:${region}:${accountId}:services/${sweep.service}/functions/${sweep.function}`] });
  }
  return { Version: '1', Statement: statements };
}

module.exports = { ramPolicy, acrInstances, ACR_ACTIONS, ECS_ACTIONS, VPC_ACTIONS };
