import { foundationEvents } from './foundation.events';
import { workflowEvents } from './workflow.events';
import { runEvents } from './run.events';
import { timerEvents } from './timer.events';
import { scheduleEvents } from './schedule.events';
import { gatewayEvents } from './gateway.events';
import { collectionEvents } from './collection.events';
import { sourceEvents } from './source.events';
import { replayEvents } from './replay.events';
import { transformationEvents } from './transformation.events';
import { alertEvents } from './alert.events';
import { costEvents } from './cost.events';
import type { EventDefinition } from './registry';

/** Every event type Steward defines; the catalogue and service registries start here. */
export const allEvents: EventDefinition[] = [...foundationEvents, ...workflowEvents, ...runEvents, ...timerEvents, ...scheduleEvents, ...gatewayEvents, ...collectionEvents, ...sourceEvents, ...replayEvents, ...transformationEvents, ...alertEvents, ...costEvents];
