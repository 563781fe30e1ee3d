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
//    secret, with readWrite on MONGODB_DB only, unless it exists (a changed password is
//    set by hand: docs/operations.md).
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

const credentials = /^mongodb(?:\+srv)?:\/\/([^:@/]+):([^@/]*)@/.exec(secret('mongodb_url'));
if (credentials === null) throw new Error('mongodb_url names no user and password');
const serviceUser = decodeURIComponent(credentials[1]);
if (admin.getUser(serviceUser) === null) {
  admin.createUser({
    user: serviceUser,
    pwd: decodeURIComponent(credentials[2]),
    roles: [{ role: 'readWrite', db: process.env.MONGODB_DB }],
  });
}
