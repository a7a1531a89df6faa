// Values always travel as $n parameters; this collects them while a query is assembled from allow-listed parts.
export class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}
