/**
 * A registry of named things (model families, feature steps, metrics): the built-ins, listed at one
 * place by their module and added on first use, plus whatever user code registers through the SDK.
 */
export class Registry<T extends { readonly name: string }> {
  private entries: Map<string, T> | undefined;

  /**
   * @param kind what the entries are, for messages ("model family")
   * @param builtins the entries Kiln ships, called once on first use
   */
  constructor(
    private readonly kind: string,
    private readonly builtins: () => readonly T[],
  ) {}

  private get map(): Map<string, T> {
    if (!this.entries) {
      this.entries = new Map();
      for (const entry of this.builtins()) this.add(entry);
    }
    return this.entries;
  }

  private add(entry: T): void {
    if (typeof entry?.name !== 'string' || entry.name === '')
      throw new Error(`a ${this.kind} needs a non-empty name`);
    if (this.entries!.has(entry.name)) throw new Error(`${this.kind} "${entry.name}" is already registered`);
    this.entries!.set(entry.name, entry);
  }

  register(entry: T): void {
    void this.map;
    this.add(entry);
  }

  get(name: string): T {
    const entry = this.find(name);
    if (!entry)
      throw new Error(`unknown ${this.kind} "${name}"; registered: ${this.names().join(', ') || 'none'}`);
    return entry;
  }

  find(name: string): T | undefined {
    return this.map.get(name);
  }

  names(): string[] {
    return [...this.map.keys()].sort();
  }

  all(): T[] {
    return [...this.map.values()];
  }
}
