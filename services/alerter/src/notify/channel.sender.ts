import { createTransport, type Transporter } from 'nodemailer';
import { classifyAttempt, type DeliveryOutcome } from '../domain/delivery.policy';
import type { Receiver } from '../rules/rules.schema';
import { alertmanagerWebhook, emailMessage, pagerDutyEvent, signature, slackMessage } from './formats';
import type { NotificationMessage } from './message.model';

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

export interface AttemptResult {
  outcome: DeliveryOutcome;
  status?: number;
  error?: string;
}

export interface SenderOptions {
  timeoutMs: number;
  smtpUrl: string;
  emailFrom: string;
  /** Where `secretEnv` names are looked up (process.env in production). */
  secrets: Readonly<Record<string, string | undefined>>;
}

/**
 * Sends one notification to one receiver, once. Every request carries the
 * notification's dedupe key (`Idempotency-Key`, and PagerDuty's dedup_key),
 * so a retry after a lost answer is recognisable as the same message.
 */
export class ChannelSender {
  private mailer: Transporter | undefined;

  constructor(private readonly options: SenderOptions) {}

  async send(receiver: Receiver, message: NotificationMessage, dedupeKey: string): Promise<AttemptResult> {
    if (receiver.webhook) {
      const body = JSON.stringify(alertmanagerWebhook(message));
      const headers: Record<string, string> = {};
      if (receiver.webhook.secretEnv !== undefined) {
        const secret = this.options.secrets[receiver.webhook.secretEnv];
        if (!secret) return { outcome: 'failed', error: `receiver ${receiver.name}: environment variable ${receiver.webhook.secretEnv} (its signing secret) is not set` };
        headers['X-Steward-Signature'] = signature(body, secret);
      }
      return this.post(receiver.webhook.url, body, dedupeKey, headers);
    }
    if (receiver.slack) {
      const url = this.credential(receiver.slack.url, receiver.slack.urlEnv);
      if (url === undefined) return { outcome: 'failed', error: `receiver ${receiver.name}: environment variable ${receiver.slack.urlEnv} (its webhook URL) is not set` };
      return this.post(url, JSON.stringify(slackMessage(message)), dedupeKey);
    }
    if (receiver.pagerduty) {
      const key = this.credential(receiver.pagerduty.routingKey, receiver.pagerduty.routingKeyEnv);
      if (key === undefined) return { outcome: 'failed', error: `receiver ${receiver.name}: environment variable ${receiver.pagerduty.routingKeyEnv} (its routing key) is not set` };
      return this.post(receiver.pagerduty.url ?? PAGERDUTY_EVENTS_URL, JSON.stringify(pagerDutyEvent(message, key)), dedupeKey);
    }
    if (receiver.email) return this.mail(receiver.email, message, dedupeKey);
    return { outcome: 'failed', error: `receiver ${receiver.name} has no channel` };
  }

  private credential(inline: string | undefined, envName: string | undefined): string | undefined {
    if (inline !== undefined) return inline;
    const value = envName === undefined ? undefined : this.options.secrets[envName];
    return value === '' ? undefined : value;
  }

  async close(): Promise<void> {
    this.mailer?.close();
  }

  private async post(url: string, body: string, dedupeKey: string, headers: Record<string, string> = {}): Promise<AttemptResult> {
    try {
      const res = await fetch(url, {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'application/json', 'Idempotency-Key': dedupeKey, 'User-Agent': 'steward-alerter', ...headers },
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      const text = res.ok ? '' : (await res.text().catch(() => '')).slice(0, 300);
      const outcome = classifyAttempt({ status: res.status });
      return { outcome, status: res.status, ...(outcome !== 'delivered' && { error: `HTTP ${res.status}${text ? `: ${text}` : ''}` }) };
    } catch (err) {
      const error = err instanceof Error ? `${err.name}: ${(err.cause as Error | undefined)?.message ?? err.message}` : String(err);
      return { outcome: classifyAttempt({ error }), error };
    }
  }

  private async mail(email: NonNullable<Receiver['email']>, message: NotificationMessage, dedupeKey: string): Promise<AttemptResult> {
    if (this.options.smtpUrl === '') return { outcome: 'failed', error: 'email receivers need ALERTER_SMTP_URL' };
    this.mailer ??= createTransport(this.options.smtpUrl);
    const { subject, text } = emailMessage(message);
    try {
      await this.mailer.sendMail({
        from: email.from ?? this.options.emailFrom,
        to: email.to,
        subject,
        text,
        // A stable Message-ID lets mail clients drop a re-sent duplicate.
        messageId: `<${dedupeKey.replace(/[^A-Za-z0-9.-]/g, '.')}@steward-alerter>`,
        headers: { 'X-Steward-Dedupe-Key': dedupeKey },
      });
      return { outcome: 'delivered' };
    } catch (err) {
      const code = (err as { responseCode?: number }).responseCode;
      // SMTP 5xx is a permanent refusal (bad address, rejected); 4xx and connection errors are worth retrying.
      return { outcome: code !== undefined && code >= 500 ? 'failed' : 'retry', ...(code !== undefined && { status: code }), error: err instanceof Error ? err.message : String(err) };
    }
  }
}
