// React and Ink in their production builds, as the CLI loads them
// (src/lib/dashboard/production-mode.ts), without changing the environment of
// the processes benchmarks start. A process loads React once, in the mode of the
// moment: import this before any module that imports React (dist/lib/dashboard/…),
// or React and Ink's renderer end up in different builds and no component renders.
const before = process.env.NODE_ENV;
process.env.NODE_ENV ??= 'production';
try {
  await import('react');
  await import('ink');
  // The components' compiled JSX calls this: loaded later, it would come in the development build.
  await import('react/jsx-runtime');
} finally {
  if (before === undefined) delete process.env.NODE_ENV;
}
