import { EnvHttpProxyAgent, getGlobalDispatcher, setGlobalDispatcher } from 'undici';

/**
 * Each door (action, app, CLI) calls this first: one global undici dispatcher that honours
 * `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` (and their lower-case forms), as the actions toolkit does.
 * Our own undici calls and Node's global `fetch` (which Octokit and Probot's client use) both
 * dispatch through it: undici keeps the global dispatcher under
 * `Symbol.for('undici.globalDispatcher.1')` as well, which Node's built-in fetch reads
 * (undici 7.30.2: node_modules/undici/lib/global.js, setGlobalDispatcher).
 */
export function installProxyDispatcher(): void {
  if (getGlobalDispatcher() instanceof EnvHttpProxyAgent) return;
  // `proxyTunnel: false`: plain-HTTP targets go to the proxy in absolute form, as curl sends them,
  // since proxies commonly allow CONNECT only to TLS ports (Squid's default `http_access deny
  // CONNECT !SSL_ports`); HTTPS targets tunnel through CONNECT
  // (undici 7.30.2: node_modules/undici/lib/dispatcher/proxy-agent.js, proxyTunnel).
  setGlobalDispatcher(new EnvHttpProxyAgent({ proxyTunnel: false }));
}
