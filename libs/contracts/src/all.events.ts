import { foundationEvents } from './foundation.events';
import type { EventDefinition } from './registry';

/** Every event type Steward defines; the catalogue and service registries start here. */
export const allEvents: EventDefinition[] = [...foundationEvents];
