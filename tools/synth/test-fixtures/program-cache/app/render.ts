// A source file of app's own: a change to it changes app only.
export function render(title: string, greeting: string): string {
  return `${title}: ${greeting}`;
}
