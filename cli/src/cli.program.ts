import { Command, CommanderError } from 'commander';
import { actionFactory, type CliIo } from './command.context';
import { registerAlertCommands } from './commands/alerts.command';
import { registerApprovalCommands } from './commands/approvals.command';
import { registerCostCommands } from './commands/costs.command';
import { registerDatasetCommands } from './commands/datasets.command';
import { registerSourceCommands } from './commands/sources.command';
import { registerDlqCommands } from './commands/dlq.command';
import { registerReplayCommands } from './commands/replay.command';
import { registerReportCommands } from './commands/reports.command';
import { registerRunCommands } from './commands/runs.command';
import { registerTimelineCommand } from './commands/timeline.command';
import { registerTokenCommands } from './commands/tokens.command';
import { registerVerifyCommand } from './commands/verify.command';
import { registerWorkflowCommands } from './commands/workflows.command';
import { reportError } from './output/error.format';
import { Output, wantsColor } from './output/output.writer';

const ROOT_HELP = `
Connection (flags win over the environment, which wins over the config file):
  STEWARD_API_URL   gateway address (default http://127.0.0.1:8080), or --api-url
  STEWARD_TOKEN     API token, or --token
  config file       $XDG_CONFIG_HOME/steward/config.json (default ~/.config/steward/config.json)
                    {"apiUrl": "...", "token": "..."}

Exit codes:
  0 success   1 operation failed   2 bad input   3 not authorised   4 not found

Every command accepts --json to print the gateway's response as is.
Run "steward COMMAND --help" for the commands of each area.`;

/** The whole command tree; built afresh per invocation because commander keeps parsed values on it. */
export function buildProgram(io: CliIo, options: { jsonErrors?: boolean } = {}): Command {
  const program = new Command('steward')
    .description('Operate Steward: workflows, runs, approvals, dead letters, replays, timelines, alerts and costs')
    .version(io.version, '-V, --version')
    .option('--json', 'print the raw JSON response (errors as JSON on stderr)')
    .option('--api-url <url>', 'gateway URL (overrides STEWARD_API_URL and the config file)')
    .option('--token <token>', 'API token (overrides STEWARD_TOKEN and the config file)')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // With --json even a usage error is JSON, so a script can parse every failure the same way.
      outputError: (s, write) =>
        write(
          options.jsonErrors
            ? `${JSON.stringify({ error: { code: 'validation', message: s.trim().replace(/^error: /, '') } }, null, 2)}\n`
            : s,
        ),
    })
    .showSuggestionAfterError(true)
    // Parsing errors become exit 2 (bad input) instead of commander's exit(1).
    .exitOverride()
    .addHelpText('after', ROOT_HELP);

  const action = actionFactory(io);
  registerWorkflowCommands(program, action);
  registerRunCommands(program, action);
  registerApprovalCommands(program, action);
  registerDlqCommands(program, action);
  registerReplayCommands(program, action);
  registerTimelineCommand(program, action);
  registerAlertCommands(program, action);
  registerCostCommands(program, action);
  registerReportCommands(program, action);
  registerVerifyCommand(program, action);
  registerTokenCommands(program, action);
  registerDatasetCommands(program, action);
  registerSourceCommands(program, action);
  return program;
}

const HELP_CODES = new Set(['commander.helpDisplayed', 'commander.version']);

/** Runs one `steward` invocation and returns its exit code; never calls process.exit, so tests run it in-process. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io, { jsonErrors: argv.includes('--json') });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (HELP_CODES.has(err.code)) return 0;
      // Commander already printed what was wrong (unknown option, missing argument,
      // or the help of a command given without a subcommand): that is bad input.
      return 2;
    }
    const json = program.opts<{ json?: boolean }>().json === true || argv.includes('--json');
    return reportError(err, new Output(io.stdout, io.stderr, json, wantsColor(io.stdout, io.env)));
  }
}
