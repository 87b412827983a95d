import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { CommandEnvelope } from '@steward/messaging';
import { ManualRunService } from '../runs/manual-run.service';
import { WorkflowService } from './workflow.service';

/** The scheduler's commands (`steward.cmd.scheduler.<name>`); each delegates in one line. */
@Controller()
export class WorkflowCommandHandler {
  constructor(
    @Inject(WorkflowService) private readonly workflows: WorkflowService,
    @Inject(ManualRunService) private readonly runs: ManualRunService,
  ) {}

  @EventPattern('cmd:apply_workflow')
  apply(@Payload() cmd: CommandEnvelope): Promise<void> {
    return this.workflows.apply(cmd);
  }

  @EventPattern('cmd:pause_workflow')
  pause(@Payload() cmd: CommandEnvelope): Promise<void> {
    return this.workflows.pause(cmd);
  }

  @EventPattern('cmd:resume_workflow')
  resume(@Payload() cmd: CommandEnvelope): Promise<void> {
    return this.workflows.resume(cmd);
  }

  @EventPattern('cmd:start_run')
  startRun(@Payload() cmd: CommandEnvelope): Promise<void> {
    return this.runs.start(cmd);
  }
}

/** What the presence directory says this service takes. */
export const SCHEDULER_COMMANDS = ['cmd:apply_workflow', 'cmd:pause_workflow', 'cmd:resume_workflow', 'cmd:start_run'];
