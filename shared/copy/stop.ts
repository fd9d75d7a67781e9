/** Thrown through a copy when hooks.shouldStop() says so; copyImage turns it into a paused or canceled result. */
export class StopSignal extends Error {
  constructor(readonly kind: 'slice' | 'cancel') {
    super(`copy stopped (${kind})`);
    this.name = 'StopSignal';
  }
}
