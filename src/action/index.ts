import { installProxyDispatcher } from '../http/proxy.js';
import { run } from './main.js';

installProxyDispatcher();
await run();
