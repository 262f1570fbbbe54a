import * as core from '@actions/core';
import { deferHttpParserOptimization } from '../http/parser-tiering.js';
import { installProxyDispatcher } from '../http/proxy.js';
import { unreadableEventFile } from './event-file.js';

deferHttpParserOptimization();
installProxyDispatcher();
// @actions/github parses the event file as it loads, and a file that is not JSON would end the run
// there with a bare SyntaxError and a stack trace: check it first, then load the action.
const eventFileError = unreadableEventFile(process.env);
if (eventFileError) {
  core.setOutput('status', 'failed');
  core.setFailed(eventFileError);
} else {
  const { run } = await import('./main.js');
  await run();
}
