'use strict';
/**
 * The `deploy:` section of the operator config: infrastructure the functions are deployed into.
 * It sits next to what the functions do (the same reviewed file, one per environment) but only
 * packaging and the deploy plugins read it; the runtime ignores it.
 *
 *   deploy:
 *     accountId: '1234567890123456'    # RAM policy resources; default: the deploying credentials' account
 *     vpc:                             # FC vpcConfig: functions reach a VPC-only RDS/PolarDB
 *       vpcId: vpc-…
 *       vSwitchIds: [vsw-…]
 *       securityGroupId: sg-…
 */
const { z } = require('zod');

const id = (prefix) => z.string().regex(new RegExp(`^${prefix}-[A-Za-z0-9]+$`), { error: `must be a ${prefix}-… id` });

const settingsSchema = z
  .strictObject({
    accountId: z
      .string()
      .regex(/^\d{16}$/, { error: 'must be the 16-digit Alibaba Cloud account id (quote it in YAML)' })
      .optional(),
    vpc: z
      .strictObject({
        vpcId: id('vpc'),
        vSwitchIds: z.array(id('vsw')).min(1, { error: 'must name at least one vSwitch' }),
        securityGroupId: id('sg'),
      })
      .optional(),
  })
  .prefault({});

/** Validated settings; throws one Error listing every problem as `deploy.<path>: <message>`. */
function deploySettings(doc) {
  const r = settingsSchema.safeParse(doc ? doc.deploy : undefined);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `deploy${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${i.message}`);
  throw new Error(`invalid deploy settings:\n  ${lines.join('\n  ')}`);
}

module.exports = { deploySettings };
