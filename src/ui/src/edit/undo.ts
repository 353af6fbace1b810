// The editor's undo history: each edit leaves the way back, which goes through the API
// again (a deleted node is created anew, a move is moved back). Edges get new ids when they
// are created again, so the history maps old ids to new ones for the steps further back.

export interface UndoContext {
  /** The id an edge has now, after undone deletions gave it a new one. */
  edgeId(id: number): number;
  /** Notes that the edge once numbered oldId is now newId. */
  edgeRecreated(oldId: number, newId: number): void;
}

export interface UndoStep {
  /** What the edit was, e.g. "move", "connect", "delete 2 nodes". */
  label: string;
  revert(ctx: UndoContext): Promise<void>;
}

const DEPTH = 100;

export class UndoHistory {
  private steps: UndoStep[] = [];
  private renumbered = new Map<number, number>();
  private listeners = new Set<() => void>();
  private running = false;

  push(step: UndoStep): void {
    this.steps.push(step);
    if (this.steps.length > DEPTH) this.steps.shift();
    this.changed();
  }

  /** The edit undo would revert, if any. */
  last(): UndoStep | undefined {
    return this.steps[this.steps.length - 1];
  }

  busy(): boolean {
    return this.running;
  }

  /** Reverts the last edit; it stays forgotten even when reverting fails (the error is thrown). */
  async undo(): Promise<UndoStep | undefined> {
    if (this.running) return undefined;
    const step = this.steps.pop();
    if (!step) return undefined;
    this.running = true;
    this.changed();
    const ctx: UndoContext = {
      edgeId: (id) => {
        let current = id;
        for (let seen = 0; this.renumbered.has(current) && seen < DEPTH * 10; seen++) current = this.renumbered.get(current)!;
        return current;
      },
      edgeRecreated: (oldId, newId) => void this.renumbered.set(oldId, newId),
    };
    try {
      await step.revert(ctx);
      return step;
    } finally {
      this.running = false;
      this.changed();
    }
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed() {
    this.listeners.forEach((l) => l());
  }
}
