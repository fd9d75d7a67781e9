// FC entry: cancel / operator API (/tasks, /cancel, /replications/{id}, /healthz, /openapi.json).
// Handler: dist/cancel/index.handler
import { createApiApp } from '../shared/api/app.ts';
import { getDeps } from '../shared/runtime/bootstrap.ts';
import { httpHandler } from '../shared/runtime/handler.ts';

export const handler = httpHandler(async () => createApiApp(await getDeps()));
