// Preloaded through NODE_OPTIONS=--require (which, unlike --cpu-prof, NODE_OPTIONS
// accepts): CPU-profiles a process whose main script path contains
// one of DSLAB_PROFILE_MATCH's comma-separated parts and writes
// DSLAB_PROFILE_DIR/<script>-<pid>.cpuprofile when it exits.
// bench/zab-vs-zookeeper.mjs --cpu-prof DIR uses it on the Zab servers and the supervisor.
const matches = (process.env.DSLAB_PROFILE_MATCH ?? '').split(',').filter(Boolean);
const dir = process.env.DSLAB_PROFILE_DIR;
if (matches.length && dir && matches.some((m) => (process.argv[1] ?? '').includes(m))) {
  const inspector = require('node:inspector');
  const fs = require('node:fs');
  const path = require('node:path');
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 200 });
  session.post('Profiler.start');
  process.on('exit', () => {
    // An in-thread inspector session answers synchronously, so this runs before the process is gone.
    session.post('Profiler.stop', (error, result) => {
      if (error) return;
      fs.writeFileSync(path.join(dir, `${path.basename(process.argv[1])}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
