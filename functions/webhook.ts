// FC entry: registry webhooks (API Gateway `POST /webhooks/{kind}`). Handler: dist/webhook/index.handler
import { createWebhookApp } from '../shared/webhook/app.ts';
import { getDeps } from '../shared/runtime/bootstrap.ts';
import { httpHandler } from '../shared/runtime/handler.ts';
import { fcSweepWake } from '../shared/runtime/sweep-wake.ts';

export const handler = httpHandler(async () => {
  const deps = await getDeps();
  return createWebhookApp(deps, { wakeSweep: fcSweepWake(deps) });
});
