import { buildPhase, deployPhase } from '../../../src/platforms/agentex/status.js';
import { TERMINAL_BUILD_PHASES, TERMINAL_DEPLOY_PHASES } from '../../../src/platforms/platform.js';

describe('Agentex status spellings', () => {
  it.each([
    ['QUEUED', 'queued'],
    ['Running', 'running'],
    ['in-progress', 'running'],
    ['SUCCESS', 'succeeded'],
    ['succeeded', 'succeeded'],
    ['Completed', 'succeeded'],
    ['FAILED', 'failed'],
    ['canceled', 'cancelled'],
    ['CANCELLED', 'cancelled'],
  ])('build %s is %s', (raw, phase) => {
    expect(buildPhase(raw)).toBe(phase);
  });

  it.each([
    ['PENDING', 'pending'],
    ['IN_PROGRESS', 'progressing'],
    ['In Progress', 'progressing'],
    ['HEALTHY', 'healthy'],
    ['FAILED', 'failed'],
    ['DELETED', 'deleted'],
    ['Superseded', 'superseded'],
  ])('deployment %s is %s', (raw, phase) => {
    expect(deployPhase(raw)).toBe(phase);
  });

  it('treats unknown statuses as not terminal', () => {
    expect(buildPhase('WARMING_UP')).toBe('unknown');
    expect(TERMINAL_BUILD_PHASES.has(buildPhase('WARMING_UP'))).toBe(false);
    expect(deployPhase(undefined)).toBe('unknown');
    expect(TERMINAL_DEPLOY_PHASES.has(deployPhase('ROLLING'))).toBe(false);
  });
});
