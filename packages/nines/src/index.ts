export { type Command, EXIT, type Io, UsageError } from './command.js';
export { main } from './main.js';
