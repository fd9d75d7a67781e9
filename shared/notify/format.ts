/** Notification bodies per channel, from the channel-neutral message (message.ts). */
import type { FailedTarget, Message } from './message.ts';

export function titleOf(m: Message): string {
  if (m.kind === 'replication.succeeded') return `Ferry: replicated ${m.image.ref}`;
  if (m.kind === 'replication.failed') return `Ferry: replication of ${m.image.ref} failed for ${m.failed.length} of ${m.targets} targets`;
  return `Ferry: replication ${m.kind.slice(5).replace('_', ' ')} → ${m.target}`;
}

/** Chat messages have size limits (Slack: 3,000 characters a section): the rest is on the replication's page and in the webhook body. */
const MAX_LISTED = 20;

type Style = { code: (s: string) => string; link: (url: string, text: string) => string };

const PLAIN: Style = { code: (s) => s, link: (url) => url };
const MARKDOWN: Style = { code: (s) => `\`${s}\``, link: (url, text) => `[${text}](${url})` };
const SLACK: Style = { code: (s) => `\`${s}\``, link: (url, text) => `<${url}|${text}>` };

/** A cloud's message can run to thousands of characters; chat gets its start (the webhook body has all of it). */
const MAX_REASON = 300;
/** Slack refuses a section over 3,000 characters. */
const SLACK_SECTION_MAX = 3000;

function reasonLine(f: Pick<FailedTarget, 'code' | 'reason'>, s: Style): string | undefined {
  if (!f.code && !f.reason) return undefined;
  const reason = f.reason && f.reason.length > MAX_REASON ? `${f.reason.slice(0, MAX_REASON)}…` : f.reason;
  return `${f.code ? s.code(f.code) : ''}${f.code && reason ? ' — ' : ''}${reason ?? ''}`;
}

/** Whole lines up to `max` characters, `last` (the link) always kept; what does not fit is counted on a line of its own. */
function fitLines(lines: string[], max: number, last?: string): string {
  const reserve = last ? last.length + 1 : 0;
  const out: string[] = [];
  let size = 0;
  for (const [i, line] of lines.entries()) {
    const note = `… ${lines.length - i} more lines: see the status page or the webhook message`;
    if (size + line.length + 1 > max - reserve - note.length - 1) {
      out.push(note);
      break;
    }
    out.push(line);
    size += line.length + 1;
  }
  if (last) out.push(last);
  return out.join('\n');
}

/** Lines of plain facts, one per field, in the order an operator reads them (the link apart: detailsLine). */
function linesOf(m: Message, s: Style): string[] {
  const out: string[] = [`Image: ${s.code(m.image.ref)}`];
  const push = (label: string, v: string | null | undefined) => {
    if (v) out.push(`${label}: ${v}`);
  };
  if (m.kind === 'replication.succeeded') {
    push('Targets', String(m.targets));
    push('Replication', s.code(m.replicationId));
  } else if (m.kind === 'replication.failed') {
    push('Outcome', `${m.state}: ${m.failed.length} failed, ${m.succeeded} succeeded of ${m.targets}`);
    for (const f of m.failed.slice(0, MAX_LISTED)) {
      const facts = [
        f.rule ? `rule ${f.rule}` : undefined,
        `${f.state}, attempts ${f.attempts}`,
        reasonLine(f, s),
        f.requestId ? `request id ${s.code(f.requestId)}` : undefined,
        f.link ? s.link(f.link, 'task') : `task ${s.code(f.taskId)}`,
      ].filter(Boolean);
      out.push(`Failed: ${s.code(f.target)} (${facts.join('; ')})`);
    }
    if (m.failed.length > MAX_LISTED) out.push(`… and ${m.failed.length - MAX_LISTED} more failed targets`);
    push('Replication', s.code(m.replicationId));
  } else {
    push('Target', s.code(m.target));
    push('Rule', m.rule);
    push('Reason', reasonLine(m, s));
    push('Attempts', String(m.attempts));
    push('Cloud request id', m.requestId ? s.code(m.requestId) : null);
    push('Task', s.code(m.taskId));
  }
  return out;
}

function detailsLine(m: Message, s: Style): string[] {
  return m.link ? [`Details: ${s.link(m.link, m.link)}`] : [];
}

/** Generic webhook: the message itself (README "Notifications": version 1). */
export function webhookBody(m: Message): Message {
  return m;
}

/** DingTalk custom robot, markdown message. */
export function dingtalkBody(m: Message): Record<string, unknown> {
  const title = titleOf(m);
  return { msgtype: 'markdown', markdown: { title, text: [`#### ${title}`, ...[...linesOf(m, MARKDOWN), ...detailsLine(m, MARKDOWN)].map((l) => `- ${l}`)].join('\n') } };
}

/** Slack incoming webhook (and compatible: Mattermost, Rocket.Chat…): `text` plus one mrkdwn section. */
export function slackBody(m: Message): Record<string, unknown> {
  const title = titleOf(m);
  return {
    text: [title, ...linesOf(m, PLAIN), ...detailsLine(m, PLAIN)].join('\n'),
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: fitLines([`*${title}*`, ...linesOf(m, SLACK)], SLACK_SECTION_MAX, detailsLine(m, SLACK)[0]) } }],
  };
}
