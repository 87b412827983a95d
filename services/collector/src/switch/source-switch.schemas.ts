import { z } from 'zod';
import { SourceNameSchema } from '@steward/contracts';

/** `source-` + the name must fit the event store's 200-character stream ids. */
const SOURCE_MAX = 193;

const source = SourceNameSchema.refine((s) => s.length <= SOURCE_MAX, { message: `at most ${SOURCE_MAX} characters` });
const reason = z.string().trim().min(1, 'must not be blank').max(1000).optional();

/** `disable_source`: sent by the alerter as an alert's automated first response (`{ source, reason }`), or by an operator. */
export const DisableSourcePayload = z.strictObject({ source, reason });
export type DisableSourcePayload = z.output<typeof DisableSourcePayload>;

/** `enable_source`: lets collect steps of the source fetch again. */
export const EnableSourcePayload = z.strictObject({ source, reason });
export type EnableSourcePayload = z.output<typeof EnableSourcePayload>;
