import { z } from 'zod';
import { Reason } from '../http/api.schemas';

const datasetName = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'expected a dataset name (lowercase slug)');
const version = z.coerce.number({ error: 'expected a version number' }).int('expected a whole version number').positive('expected a version from 1');

export const DatasetParams = z.strictObject({ id: datasetName });

export const QuarantineQuery = z.strictObject({
  cursor: z.string().min(1).max(1000).optional(),
  limit: z.coerce.number().int().min(1, 'expected 1..1000').max(1000, 'expected 1..1000').optional(),
  version: version.optional().meta({ description: 'only this dataset version' }),
});

export const PromoteBody = z.strictObject({
  version: z.number({ error: 'expected a version number' }).int('expected a whole version number').positive('expected a version from 1'),
  reason: Reason.max(1000, 'at most 1000 characters').optional().meta({ description: 'why; recorded with the promotion' }),
});

export const DiffQuery = z.strictObject({
  limit: z.coerce.number().int().min(0, 'expected 0..10000').max(10_000, 'expected 0..10000').optional().meta({ description: 'how many differing rows to list (default 100; 0 for the summary only)' }),
});
