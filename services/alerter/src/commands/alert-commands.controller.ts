import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { CommandEnvelope } from '@steward/messaging';
import { AlertCommands } from './alert-commands.service';
import { CommandRunner } from '@steward/runtime';
import { AlertDecisionPayload, ApplyRulesPayload, CreateSilencePayload, ExpireSilencePayload } from './command.schemas';

/** Operator commands the gateway sends to the alerter (`steward alerts ...`). */
@Controller()
export class AlertCommandsController {
  constructor(
    @Inject(CommandRunner) private readonly commands: CommandRunner,
    @Inject(AlertCommands) private readonly alerts: AlertCommands,
  ) {}

  @EventPattern('cmd:acknowledge_alert')
  async acknowledge(@Payload() command: CommandEnvelope): Promise<void> {
    await this.commands.run(command, AlertDecisionPayload, (tx, p, meta, c) => this.alerts.acknowledge(tx, p, meta, c.actor));
  }

  @EventPattern('cmd:resolve_alert')
  async resolve(@Payload() command: CommandEnvelope): Promise<void> {
    await this.commands.run(command, AlertDecisionPayload, (tx, p, meta, c) => this.alerts.resolve(tx, p, meta, c.actor));
  }

  @EventPattern('cmd:create_silence')
  async silence(@Payload() command: CommandEnvelope): Promise<void> {
    await this.commands.run(command, CreateSilencePayload, (tx, p, meta, c) => this.alerts.createSilence(tx, p, meta, c));
  }

  @EventPattern('cmd:expire_silence')
  async expire(@Payload() command: CommandEnvelope): Promise<void> {
    await this.commands.run(command, ExpireSilencePayload, (tx, p, meta, c) => this.alerts.expireSilence(tx, p, meta, c.actor));
  }

  @EventPattern('cmd:apply_alert_rules')
  async applyRules(@Payload() command: CommandEnvelope): Promise<void> {
    await this.commands.run(command, ApplyRulesPayload, (tx, p, meta, c) => this.alerts.applyRules(tx, p, meta, c.actor));
  }
}
