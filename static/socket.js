// Transport: the Socket.IO connection and nothing else.  It knows the message names of
// docs/protocol.md but not what they mean; app.js wires them to state and view.
import { io } from './vendor/socket.io/socket.io.esm.min.js';

const INCOMING = ['hello', 'scenarios', 'snapshot', 'diff', 'status', 'scenario_error', 'error',
  'exported', 'explored'];

/**
 * Connect to the server this page came from (never anywhere else).
 * handlers: {hello, snapshot, diff, status, scenario_error, error, exported, explored,
 *            connect, disconnect, connect_error}; each optional.  Returns {send(name, data), socket}.
 */
export function connect(handlers) {
  const socket = io({ reconnectionDelayMax: 4000 });
  for (const name of INCOMING) {
    if (handlers[name]) socket.on(name, handlers[name]);
  }
  socket.on('connect', () => handlers.connect?.());
  socket.on('disconnect', (reason) => handlers.disconnect?.(reason));
  socket.on('connect_error', (err) => handlers.connect_error?.(err));
  return {
    socket,
    send(name, data) {
      if (data === undefined) socket.emit(name);
      else socket.emit(name, data);
    },
  };
}
