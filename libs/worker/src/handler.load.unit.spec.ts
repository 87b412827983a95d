import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineHandler, handlersOfModule, TaskError } from './handler.define';
import { handlerDirsFromEnv, HandlerLoadError, loadHandlers } from './handler.load';

const FIXTURES = join(__dirname, '..', 'fixtures', 'handlers');

describe('loading handlers from folders', () => {
  it('finds handlers exported as module.exports, as a default export and as named exports', () => {
    const handlers = loadHandlers([FIXTURES]);
    expect([...handlers.keys()].sort()).toEqual(['cpu-burner', 'echo', 'exit-hangs', 'fail-coded', 'memory-hog', 'secret-user', 'sleeper', 'throws-string']);
    expect(handlers.get('echo')).toEqual({ name: 'echo', modulePath: join(FIXTURES, 'echo.handler.js') });
    expect(handlers.get('fail-coded')!.modulePath).toBe(join(FIXTURES, 'failing.handler.js'));
  });

  it('reads the colon-separated folders of STEWARD_HANDLERS', () => {
    expect(handlerDirsFromEnv('/a/handlers::/b/handlers ')).toEqual(['/a/handlers', '/b/handlers']);
    expect(handlerDirsFromEnv(undefined)).toEqual([]);
  });

  it('refuses two modules that define the same handler name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'handlers-'));
    writeFileSync(join(dir, 'a.js'), "module.exports = { name: 'twin', run() {} };");
    writeFileSync(join(dir, 'b.js'), "exports.default = { name: 'twin', run() {} };");
    expect(() => loadHandlers([dir])).toThrow(/handler "twin" is defined twice/);
  });

  it('names the module that fails to load', () => {
    const dir = mkdtempSync(join(tmpdir(), 'handlers-'));
    writeFileSync(join(dir, 'broken.js'), 'throw new Error("boom at load");');
    expect(() => loadHandlers([dir])).toThrow(HandlerLoadError);
    expect(() => loadHandlers([dir])).toThrow(/broken\.js failed to load: boom at load/);
  });

  it('ignores exports that are not handlers', () => {
    expect(handlersOfModule({ helper: () => 1, config: { name: 'x' }, version: 3 })).toEqual([]);
  });
});

describe('the SDK', () => {
  it('rejects a definition without a name or run function', () => {
    expect(() => defineHandler({ name: '', run: () => ({}) })).toThrow(TypeError);
    expect(() => defineHandler({ name: 'x' } as never)).toThrow(TypeError);
  });

  it('makes TaskError retryable unless told otherwise', () => {
    expect(new TaskError('rate_limited', 'slow down')).toMatchObject({ code: 'rate_limited', retryable: true });
    expect(new TaskError('bad_input', 'no', { retryable: false }).retryable).toBe(false);
  });
});
