// FC entry: registry webhooks (API Gateway `POST /webhooks/{kind}`). Handler: dist/webhook/index.handler
import { createWebhookApp } from '../shared/webhook/app.ts';
import { getDeps } from '../shared/runtime/bootstrap.ts';
import { httpHandler } from '../shared/runtime/handler.ts';

export const handler = httpHandler(async () => createWebhookApp(await getDeps()));
