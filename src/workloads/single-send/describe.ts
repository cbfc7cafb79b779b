/** How many elements of a set a one-line answer lists before it says how many more there are. */
export const listed_elements_max = 40;

/** A set's elements on one line: "1, 2, 17" (JSON for each), cut after listed_elements_max. */
export function formatElements(elements: readonly unknown[]): string {
  if (elements.length === 0) return 'nothing';
  const shown = elements.slice(0, listed_elements_max).map((e) => JSON.stringify(e)).join(', ');
  return elements.length > listed_elements_max ? `${shown} … (${elements.length - listed_elements_max} more)` : shown;
}
