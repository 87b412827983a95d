import { Controller, Inject } from '@nestjs/common';
import type { z } from 'zod';
import type { Principal } from '../auth/roles.decorator';
import { PageQuery } from '../http/api.schemas';
import { Caller, Endpoint, Input } from '../http/endpoint.decorator';
import { CommandDispatcher } from './command.dispatcher';
import { BudgetBody, BudgetParams, CommandOutcomeSchema, CostReportQuery, YamlBody } from './operator.schemas';
import { ReadModelGate } from './read-model.gate';

const SERVICE = 'cost-tracker';
const tag = 'costs';

@Controller()
export class CostsController {
  constructor(
    @Inject(CommandDispatcher) private readonly commands: CommandDispatcher,
    @Inject(ReadModelGate) private readonly reads: ReadModelGate,
  ) {}

  @Endpoint({ method: 'GET', path: '/costs/report', tag, role: 'viewer', service: SERVICE, summary: 'Costs grouped by workflow, owner, service or step', query: CostReportQuery })
  report(@Input('query') _q: z.output<typeof CostReportQuery>) {
    return this.reads.unavailable(SERVICE, 'costs');
  }

  @Endpoint({ method: 'GET', path: '/budgets', tag, role: 'viewer', service: SERVICE, summary: 'Budgets and what was spent this month', query: PageQuery })
  budgets(@Input('query') _q: z.output<typeof PageQuery>) {
    return this.reads.unavailable(SERVICE, 'budgets');
  }

  @Endpoint({ method: 'PUT', path: '/budgets/:scope/:id', tag, role: 'operator', service: SERVICE, summary: 'Set the monthly budget of a workflow or an owner', params: BudgetParams, body: BudgetBody, response: CommandOutcomeSchema })
  setBudget(@Input('params') p: z.output<typeof BudgetParams>, @Input('body') b: z.output<typeof BudgetBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: SERVICE, command: 'set_budget', action: 'budgets.set', payload: { scope: p.scope, id: p.id, ...b }, target: { [p.scope]: p.id } }, caller);
  }

  @Endpoint({ method: 'POST', path: '/prices', tag, role: 'operator', service: SERVICE, summary: 'Create or update unit prices from YAML', body: YamlBody, response: CommandOutcomeSchema })
  applyPrices(@Input('body') b: z.output<typeof YamlBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: SERVICE, command: 'apply_prices', action: 'prices.apply', payload: b }, caller);
  }

  @Endpoint({ method: 'GET', path: '/prices', tag, role: 'viewer', service: SERVICE, summary: 'Unit prices used to cost runs', query: PageQuery })
  prices(@Input('query') _q: z.output<typeof PageQuery>) {
    return this.reads.unavailable(SERVICE, 'prices');
  }
}
