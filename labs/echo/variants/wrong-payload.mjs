// Planted bug: echoes a different payload than it was sent.
import { Node } from '../../../dist/lib/runtime/node.js';

const node = new Node();
node.on('echo', (message) => node.reply(message, { type: 'echo_ok', echo: String(message.body.echo).toUpperCase() + '!' }));
node.run();
