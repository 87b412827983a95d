import type { Type } from '@nestjs/common';
import { TokenController } from './auth/token.controller';
import { AlertsController } from './operator/alerts.controller';
import { CostsController } from './operator/costs.controller';
import { DatasetsController } from './operator/datasets.controller';
import { DlqController } from './operator/dlq.controller';
import { ReplaysController } from './operator/replays.controller';
import { ReportsController } from './operator/reports.controller';
import { RunsController } from './operator/runs.controller';
import { SourcesController } from './operator/sources.controller';
import { WorkflowsController } from './operator/workflows.controller';
import { ServicesController } from './presence/services.controller';
import { RunReadsController } from './reads/run-reads.controller';
import { TimelineController } from './timeline/timeline.controller';
import { VerifyController } from './verify/verify.controller';

/** Every controller of /api/v1: the module mounts them and the OpenAPI document describes exactly these. */
export const API_CONTROLLERS: Type[] = [
  TokenController,
  TimelineController,
  VerifyController,
  ServicesController,
  WorkflowsController,
  RunsController,
  RunReadsController,
  DlqController,
  ReplaysController,
  AlertsController,
  CostsController,
  ReportsController,
  DatasetsController,
  SourcesController,
];
