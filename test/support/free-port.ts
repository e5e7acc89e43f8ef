/** Re-export: the port finder lives in integrations/net. */
export * from '../../integrations/net/free-port.js';
