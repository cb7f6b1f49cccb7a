// References nothing: unaffected by base.
export const name = "solo";
