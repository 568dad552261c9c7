export interface ScenarioContext {
  quick: boolean;
  /** Tiny configuration for the smoke test (seconds). */
  tiny?: boolean;
  log: (line: string) => void;
  /** Soak length (--minutes); each scenario that lasts has its own default. */
  minutes?: number;
}

export interface ScenarioResult {
  name: string;
  /** Headline figures; null with a reason in `notes` when not measured. */
  figures: Record<string, number | null>;
  parameters: Record<string, unknown>;
  /** Rows for tables and charts. */
  steps: Record<string, number | null>[];
  notes: string[];
  /** Raw data behind the figures, for results.json only. */
  details?: Record<string, unknown>;
}
