// Runs one execution of an ASL definition on aws-local-stepfunctions, the
// reference implementation statemachines/differential_test.go compares
// Parley's executor (shared/dev/stepfunctions) with.
//
// stdin:  {"definition": {...}, "input": ..., "results": {"<Task state>": [result | {"error": "...", "cause": "..."}, ...]}}
// stdout: {"status": "SUCCEEDED"|"FAILED", "output": ..., "error": ..., "cause": ...,
//          "calls": [{"state": "...", "function": "...", "payload": ..., "token": "..."}],
//          "states": ["<state entered>", ...]}
//
// The definition's ${...} placeholders must already be substituted.

// aws-local-stepfunctions 3 declares node >= 22 and its Task states call
// Promise.withResolvers, which Node 20 lacks: without this every Task
// would fail with a TypeError the state machine's Catch then swallows.
if (!Promise.withResolvers) {
  Promise.withResolvers = function withResolvers() {
    let resolve, reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

const { StateMachine, ExecutionError } = await import('aws-local-stepfunctions');

const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
const LAMBDA_CALLBACK = 'arn:aws:states:::lambda:invoke.waitForTaskToken';
// The reference has no callback pattern: $$.Task.Token comes from a mocked
// Context Object, and the local handler's return value stands in for the
// output SendTaskSuccess would deliver.
const TASK_TOKEN = 'aslref-task-token';

const request = JSON.parse(await readStdin());
const calls = [];

// A scripted failure is an object with a string "error" and at most a "cause".
function isScriptedError(result) {
  return (
    result !== null &&
    typeof result === 'object' &&
    !Array.isArray(result) &&
    typeof result.error === 'string' &&
    Object.keys(result).every((k) => k === 'error' || k === 'cause')
  );
}

// Local handlers replace the whole Task resource, so the handler plays the
// service integration too: it unwraps FunctionName and Payload from the
// rendered Parameters and wraps the function's result the way lambda:invoke
// does, as shared/dev/stepfunctions does.
function handlerFor(stateName, resource) {
  const script = [...(request.results?.[stateName] ?? [])];
  return async (input) => {
    const integration = resource === LAMBDA_INVOKE || resource === LAMBDA_CALLBACK;
    const call = {
      state: stateName,
      function: integration ? input.FunctionName : resource,
      payload: integration ? (input.Payload ?? {}) : input,
    };
    if (resource === LAMBDA_CALLBACK) {
      call.token = TASK_TOKEN;
    }
    calls.push(call);
    if (script.length === 0) {
      throw namedError('Test.Unscripted', `no scripted result left for ${stateName}`);
    }
    const result = script.shift();
    if (isScriptedError(result)) {
      throw namedError(result.error, result.cause ?? '');
    }
    if (resource === LAMBDA_INVOKE) {
      return { Payload: result, StatusCode: 200 };
    }
    return result;
  };
}

// The reference names a task failure after the thrown error's name and
// takes its message as the Cause.
function namedError(name, cause) {
  const err = new Error(cause);
  err.name = name;
  return err;
}

const handlers = {};
for (const [name, state] of Object.entries(request.definition.States)) {
  if (state.Type === 'Task') {
    handlers[name] = handlerFor(name, state.Resource);
  }
}
// Retries happen instantly (the intervals are seconds to minutes); Wait
// states are not overridden: the tests' timestamps are in the past, so
// TimestampPath is still evaluated and validated.
const retryIntervalOverrides = Object.fromEntries(Object.keys(handlers).map((name) => [name, 0]));

const machine = new StateMachine(request.definition);
const execution = machine.run(request.input, {
  overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides },
  context: { Task: { Token: TASK_TOKEN } },
});

// The event log ends with the execution; a retry is not a new entry.
const states = [];
const eventsRead = (async () => {
  for await (const event of execution.eventLogs) {
    if (event.type === 'StateEntered') {
      states.push(event.state.name);
    }
  }
})();

let report;
try {
  const output = await execution.result;
  report = { status: 'SUCCEEDED', output };
} catch (err) {
  if (!(err instanceof ExecutionError)) {
    throw err;
  }
  // ExecutionError wraps the error that ended the execution.
  report = { status: 'FAILED', output: null, error: err.cause.name, cause: err.cause.message };
}
await eventsRead;
Object.assign(report, { calls, states });
process.stdout.write(JSON.stringify(report) + '\n');

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
