/**
 * Imported first by the dashboard app, before React loads: React picks its
 * build when first evaluated, and its development build (checks, timing marks)
 * costs the live view several times the CPU. A NODE_ENV set by the user wins.
 */
process.env.NODE_ENV ??= 'production';

export {};
