// The entry the commands load. production-mode must be evaluated before any
// module that pulls in React, and a .tsx file would import the JSX runtime
// ahead of it, so this entry has no JSX of its own.
import './production-mode.js';

export { runDashboard } from './app.js';
export { controlClientSource, inProcessSource } from './sources.js';
