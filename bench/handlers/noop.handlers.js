// The handler of pnpm bench:runs: does nothing, so a run measures Steward's
// own path (scheduler -> executor -> worker -> executor) and the cost of the
// isolated child process each attempt gets, not any task's work.
'use strict';

module.exports = {
  name: 'noop',
  async run() {
    return {};
  },
};
