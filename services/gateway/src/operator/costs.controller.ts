import { Controller, Inject } from '@nestjs/common';
import type { Pool } from 'pg';
import type { z } from 'zod';
import type { Principal } from '../auth/roles.decorator';
import { durationMs, PageQuery } from '../http/api.schemas';
import { Caller, Endpoint, Input } from '../http/endpoint.decorator';
import { CostReadsRepository } from '../reads/cost-reads.repository';
import { CostReadsService } from '../reads/cost-reads.service';
import { READ_POOL } from '../reads/read-pool.token';
import { CommandDispatcher } from './command.dispatcher';
import { BudgetListSchema, CostReportSchema, PriceListSchema } from './costs.schemas';
import { BudgetBody, BudgetParams, CommandOutcomeSchema, CostReportQuery, YamlBody } from './operator.schemas';
import { ReadModelGate } from './read-model.gate';

const SERVICE = 'cost-tracker';
const tag = 'costs';

@Controller()
export class CostsController {
  private readonly reads: CostReadsService;

  constructor(
    @Inject(CommandDispatcher) private readonly commands: CommandDispatcher,
    @Inject(ReadModelGate) gate: ReadModelGate,
    @Inject(READ_POOL) pool: Pool,
  ) {
    this.reads = new CostReadsService(new CostReadsRepository(pool), gate);
  }

  @Endpoint({ method: 'GET', path: '/costs/report', tag, role: 'viewer', service: SERVICE, summary: 'Costs grouped by workflow, owner, service or step (exact micro-USD), with weekly cost against performance per workflow', query: CostReportQuery, response: CostReportSchema })
  report(@Input('query') q: z.output<typeof CostReportQuery>) {
    const since = q.since ?? '30d';
    return this.reads.report(q.by, durationMs(since), since, q.limit);
  }

  @Endpoint({ method: 'GET', path: '/budgets', tag, role: 'viewer', service: SERVICE, summary: 'Budgets, what was spent this month, the month-end forecast with its band, and threshold states', query: PageQuery, response: BudgetListSchema })
  budgets(@Input('query') q: z.output<typeof PageQuery>) {
    return this.reads.budgets(q);
  }

  @Endpoint({ method: 'PUT', path: '/budgets/:scope/:id', tag, role: 'operator', service: SERVICE, summary: 'Set the monthly budget of a workflow or an owner', params: BudgetParams, body: BudgetBody, response: CommandOutcomeSchema })
  setBudget(@Input('params') p: z.output<typeof BudgetParams>, @Input('body') b: z.output<typeof BudgetBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: SERVICE, command: 'set_budget', action: 'budgets.set', payload: { scope: p.scope, id: p.id, ...b }, target: { [p.scope]: p.id } }, caller);
  }

  @Endpoint({ method: 'POST', path: '/prices', tag, role: 'operator', service: SERVICE, summary: 'Create or update unit prices from YAML', body: YamlBody, response: CommandOutcomeSchema })
  applyPrices(@Input('body') b: z.output<typeof YamlBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: SERVICE, command: 'apply_prices', action: 'prices.apply', payload: b }, caller);
  }

  @Endpoint({ method: 'GET', path: '/prices', tag, role: 'viewer', service: SERVICE, summary: 'Unit prices used to cost usage, each with the time it takes effect', query: PageQuery, response: PriceListSchema })
  prices(@Input('query') q: z.output<typeof PageQuery>) {
    return this.reads.prices(q);
  }
}
