import { EcsClient } from '../clients/ecs.ts';
import { type AlibabaAccountOptions, alibabaClientsPerRegion } from '../clients/regional.ts';

/** ECS clients, one per region. */
export class EcsClients {
  readonly region: (regionId: string) => EcsClient;
  constructor(opts: AlibabaAccountOptions) {
    this.region = alibabaClientsPerRegion(opts, (o) => new EcsClient(o));
  }
}
