// MongoDB's health check in docker-compose.yml (`mongosh --quiet --norc <this file>`),
// run every few seconds. Every step is idempotent; passwords come from the secret files,
// never from a command line.
//
// 1. Authenticate as root. A data volume from before authentication (the old default
//    stack: an initiated replica set without any user) gets root first, through the
//    localhost exception. Never on the image's temporary server of a new volume (no
//    replica set there): the image's entrypoint creates root on it, and must be first.
// 2. Initiate the one-node replica set once (transactions need one) — authenticated.
// 3. On the primary, create the services' user from the credentials in the mongodb_url
//    secret, with readWrite on MONGODB_DB only, and the exporter's from
//    mongodb_monitor_url, with clusterMonitor (server and replica-set status, no
//    documents), unless they exist (a changed password is set by hand:
//    docs/operations.md).
// 4. Healthy only as the writable primary.
const fs = require('fs');

const secret = (name) => fs.readFileSync(`/run/secrets/${name}`, 'utf8').trim();
const admin = db.getSiblingDB('admin');
const rootUser = process.env.MONGO_INITDB_ROOT_USERNAME;
const rootPassword = secret('mongo_root_password');

try {
  admin.auth(rootUser, rootPassword);
} catch (error) {
  if (error.codeName !== 'AuthenticationFailed' || !db.hello().setName) throw error;
  admin.createUser({ user: rootUser, pwd: rootPassword, roles: ['root'] });
  admin.auth(rootUser, rootPassword);
}

try {
  rs.status();
} catch (error) {
  if (error.codeName !== 'NotYetInitialized') throw error;
  rs.initiate({ _id: 'rs0', members: [{ _id: 0, host: 'mongo:27017' }] });
}

if (!db.hello().isWritablePrimary) quit(1);

// a user from the credentials in the connection-URL secret `name`, unless it exists
const ensureUser = (name, roles) => {
  const credentials = /^mongodb(?:\+srv)?:\/\/([^:@/]+):([^@/]*)@/.exec(secret(name));
  if (credentials === null) throw new Error(`${name} names no user and password`);
  const user = decodeURIComponent(credentials[1]);
  if (admin.getUser(user) === null) {
    admin.createUser({ user, pwd: decodeURIComponent(credentials[2]), roles });
  }
};

ensureUser('mongodb_url', [{ role: 'readWrite', db: process.env.MONGODB_DB }]);
ensureUser('mongodb_monitor_url', [
  { role: 'clusterMonitor', db: 'admin' },
  { role: 'read', db: 'local' },
]);
