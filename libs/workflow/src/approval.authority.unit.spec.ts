import { ForbiddenError } from '@steward/contracts';
import { approvalAuthority } from './approval.authority';

const at = { runId: 'r-1', stepId: 'gate' };

describe('approvalAuthority', () => {
  it('lets a named person decide', () => {
    expect(approvalAuthority(['ana', 'pricing-team'], { name: 'ana' }, at)).toEqual({ via: 'name' });
  });

  it('lets a member of a listed team decide, naming the team', () => {
    expect(approvalAuthority(['pricing-team'], { name: 'bo', teams: ['ops', 'pricing-team'], role: 'operator' }, at)).toEqual({ via: 'team', team: 'pricing-team' });
  });

  it('lets an admin outside the list decide, recorded as an override', () => {
    expect(approvalAuthority(['pricing-team'], { name: 'root', teams: [], role: 'admin' }, at)).toEqual({ via: 'admin' });
  });

  it('refuses anyone else with the approvers in the message', () => {
    const refuse = () => approvalAuthority(['pricing-team'], { name: 'mallory', teams: ['billing'], role: 'operator' }, at);
    expect(refuse).toThrow(ForbiddenError);
    expect(refuse).toThrow('"mallory" (teams billing) may not decide step gate of run r-1: its approvers are pricing-team');
  });

  it('does not treat a person named like a team as a member of it', () => {
    expect(() => approvalAuthority(['pricing-team'], { name: 'ana', teams: ['pricing'], role: 'operator' }, at)).toThrow(ForbiddenError);
  });
});
