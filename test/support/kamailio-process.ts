/** Re-export: the launcher lives in integrations/ (npm start uses it too). */
export * from '../../integrations/kamailio/kamailio-process.js';
