// Exports "present" only; the readers ask for "absent".
export const present = "here";
