// FC entry: registry webhooks (API Gateway `POST /webhooks/{kind}`). Handler: dist/webhook/index.handler
import { createWebhookApp } from '../shared/webhook/app.ts';
import { getDeps, rememberInvocation } from '../shared/runtime/bootstrap.ts';
import { httpHandler } from '../shared/runtime/handler.ts';

export const handler = httpHandler(async () => {
  const app = await createWebhookApp(await getDeps());
  return (req, ctx) => {
    rememberInvocation(ctx);
    return app(req, ctx);
  };
});
