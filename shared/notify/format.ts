/** Notification bodies per target type, from an outbox payload (failureNotices / success notices). */
import type { NotificationRow } from '../ledger/index.ts';

interface Payload {
  event?: string;
  taskId?: string;
  replicationId?: string;
  provider?: string;
  targetKey?: string;
  rule?: string | null;
  attempts?: number;
  error?: { code?: string; message?: string; requestId?: string | null };
  source?: string;
  image?: string;
}

export function titleOf(n: Pick<NotificationRow, 'kind' | 'payload'>): string {
  const p = n.payload as Payload;
  if (n.kind === 'replication.succeeded') return `Ferry: replicated ${p.image ?? p.replicationId ?? ''}`.trim();
  const what = n.kind.startsWith('task.') ? n.kind.slice(5).replace('_', ' ') : n.kind;
  return `Ferry: replication ${what}${p.targetKey ? ` → ${p.targetKey}` : ''}`;
}

/** Lines of plain facts; `md` marks code spans for Markdown targets. */
function lines(n: Pick<NotificationRow, 'kind' | 'payload'>, md: boolean): string[] {
  const p = n.payload as Payload;
  const code = (s: string) => (md ? `\`${s}\`` : s);
  const out: string[] = [];
  if (n.kind === 'replication.succeeded') {
    if (p.image) out.push(`Image: ${code(p.image)}`);
    if (p.source) out.push(`Source: ${p.source}`);
    if (p.replicationId) out.push(`Replication: ${code(p.replicationId)}`);
    return out;
  }
  if (p.targetKey) out.push(`Target: ${code(p.targetKey)}`);
  if (p.rule) out.push(`Rule: ${p.rule}`);
  if (p.error?.code) out.push(`Reason: ${code(p.error.code)}${p.error.message ? ` — ${p.error.message}` : ''}`);
  if (p.attempts !== undefined) out.push(`Attempts: ${p.attempts}`);
  if (p.error?.requestId) out.push(`Cloud request id: ${code(p.error.requestId)}`);
  if (p.taskId) out.push(`Task: ${code(p.taskId)}`);
  return out;
}

/** Generic webhook: the payload as JSON, with the notification's identity for receivers that de-duplicate. */
export function webhookBody(n: NotificationRow): Record<string, unknown> {
  return { id: n.id, kind: n.kind, createdAt: n.createdAt, ...n.payload };
}

/** DingTalk custom robot, markdown message. */
export function dingtalkBody(n: NotificationRow): Record<string, unknown> {
  const title = titleOf(n);
  return { msgtype: 'markdown', markdown: { title, text: [`#### ${title}`, ...lines(n, true).map((l) => `- ${l}`)].join('\n') } };
}

/** Slack incoming webhook (and compatible: Mattermost, Rocket.Chat…): `text` plus one mrkdwn section. */
export function slackBody(n: NotificationRow): Record<string, unknown> {
  const title = titleOf(n);
  const body = lines(n, true);
  return {
    text: `${title}\n${lines(n, false).join('\n')}`,
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: [`*${title}*`, ...body].join('\n') } }],
  };
}
