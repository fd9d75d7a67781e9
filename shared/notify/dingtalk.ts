import { createHmac } from 'node:crypto';

/**
 * DingTalk robot "加签" signing: sign = urlEncode(base64(HMAC-SHA256(key = secret,
 * msg = timestamp + "\n" + secret))), sent as `&timestamp=<ms>&sign=<sign>` on the webhook URL.
 * The timestamp must be within an hour of DingTalk's clock.
 */
export function dingtalkSign(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
}

export function signedDingtalkUrl(url: string, secret: string | undefined, timestampMs: number): string {
  if (!secret) return url;
  const sign = encodeURIComponent(dingtalkSign(secret, timestampMs));
  return `${url}${url.includes('?') ? '&' : '?'}timestamp=${timestampMs}&sign=${sign}`;
}
