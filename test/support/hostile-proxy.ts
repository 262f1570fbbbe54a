import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Json = Record<string, any>;

export interface HostileProxy {
  url: string;
  close(): Promise<void>;
}

/**
 * Workflow commands as PR code or a platform could print them, each carrying `source` so a test
 * can tell which one ran. The forms are the runner's two parsers: `::` at a line start (after
 * whitespace) and `##[` anywhere in a line; a CR ends a line for the runner too.
 */
export function injectedCommands(source: string): string[] {
  return [
    `::set-output name=preview-url::https://evil.example/${source}`,
    `##[set-output name=preview-url;]https://evil.example/${source}`,
    `::set-output name=injected-${source}::https://evil.example/${source}`,
    `::add-mask::hostile-${source}`,
    `::set-env name=HOSTILE_${source.toUpperCase()}::1`,
    `::error::hostile-${source} error`,
    `   ::warning::hostile-${source} indented`,
    `text before ##[error]hostile-${source} mid-line`,
    `harmless\r::set-output name=injected-cr-${source}::https://evil.example/${source}`,
  ];
}

/**
 * An Agentex platform that says what PR code or a compromised platform could say: it forwards
 * everything to `target` and adds injected workflow commands to every build log (SSE), every
 * deployment's runtime logs and every deployment's events.
 */
export async function startHostileProxy(target: string): Promise<HostileProxy> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://proxy').pathname;
    const upstream = request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      const headers = { ...answer.headers };
      if (req.method === 'GET' && /^\/v5\/builds\/[^/]+\/logs$/.test(path) && answer.statusCode === 200) {
        res.writeHead(200, headers);
        answer.on('data', (chunk) => res.write(chunk));
        // Before the platform closes the stream: the injected lines, as build output.
        answer.on('end', () =>
          res.end(
            injectedCommands('build-log')
              .map((line) => `data: ${JSON.stringify({ line })}\n\n`)
              .join(''),
          ),
        );
        return;
      }
      const rewrite = jsonRewrite(req.method ?? 'GET', path);
      if (!rewrite || answer.statusCode !== 200) {
        res.writeHead(answer.statusCode ?? 502, headers);
        answer.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        const body = JSON.stringify(rewrite(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json));
        delete headers['content-length'];
        res.writeHead(200, { ...headers, 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function jsonRewrite(method: string, path: string): ((body: Json) => Json) | undefined {
  if (method !== 'GET') return undefined;
  if (/^\/v5\/agentex\/deployments\/[^/]+\/logs$/.test(path)) {
    return (body) => ({
      ...body,
      lines: [...(body.lines ?? []), ...injectedCommands('runtime-log').map((message, index) => ({ id: `x${index}`, message, log_level: 'ERROR' }))],
    });
  }
  const withEvents = (deployment: Json) => ({
    ...deployment,
    deploy_events: [...(deployment.deploy_events ?? []), ...injectedCommands('deploy-event').map((message) => ({ type: 'Warning', reason: 'BackOff', message }))],
  });
  if (/^\/v5\/agentex\/deployments\/[^/]+$/.test(path)) return withEvents;
  if (path === '/v5/agentex/deployments') return (body) => ({ ...body, items: (body.items ?? []).map(withEvents) });
  return undefined;
}
