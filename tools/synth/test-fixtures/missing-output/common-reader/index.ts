import { requireStackOutput } from "@projects/common";

export const value = requireStackOutput<string>("base", "absent");
