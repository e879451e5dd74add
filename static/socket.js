// Transport: the Socket.IO connection and nothing else.  It knows the message names of
// docs/protocol.md but not what they mean; app.js wires them to state and view.
import { io } from './vendor/socket.io/socket.io.esm.min.js';

const INCOMING = ['hello', 'scenarios', 'snapshot', 'diff', 'status', 'scenario_error', 'error',
  'exported', 'explored', 'explore_progress', 'open_progress', 'log_chunk'];

/**
 * Connect to the server this page came from (never anywhere else).
 * handlers: {hello, snapshot, diff, status, scenario_error, error, exported, explored,
 *            explore_progress, open_progress, log_chunk, connect, disconnect, connect_error}; each optional.  Returns {send(name, data), socket}.
 *
 * WebSocket first (long-polling only where WebSocket fails), so one connection stays on one
 * server process behind a load balancer.  A lecture page (window.ptreeLecture, set by
 * templates/lecture.html; see lecture.js) connects with its room in `auth`, and its
 * `accept(name, msg)` may drop a message before the handlers see it.
 */
export function connect(handlers) {
  const lecture = globalThis.ptreeLecture;
  const options = { reconnectionDelayMax: 4000, transports: ['websocket', 'polling'], tryAllTransports: true };
  if (lecture) options.auth = (cb) => cb(lecture.auth ? lecture.auth() : { lecture: lecture.room, role: lecture.role });
  const socket = io(options);
  for (const name of INCOMING) {
    if (handlers[name]) socket.on(name, (msg) => { if (!lecture?.accept || lecture.accept(name, msg)) handlers[name](msg); });
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
