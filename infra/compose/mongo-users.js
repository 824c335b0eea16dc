// MongoDB's first start (docker-entrypoint-initdb.d): one user per service that uses the
// database, each with only the roles it needs. The passwords come from the environment.
//   storage, notifier, retention: read and write the platform's database (dfdg);
//   jobcenter-api: read the database, and add to the access log only.
const dfdg = db.getSiblingDB("dfdg");
const accessLog = ["access_log", "access_log_refusals"];
dfdg.createRole({
  role: "jobcenterApi",
  privileges: accessLog.map((collection) => ({
    resource: { db: "dfdg", collection },
    actions: ["insert", "update", "createIndex"],
  })),
  roles: [{ role: "read", db: "dfdg" }],
});
const users = [
  ["storage", process.env.MONGO_STORAGE_PASSWORD, [{ role: "readWrite", db: "dfdg" }]],
  ["notifier", process.env.MONGO_NOTIFIER_PASSWORD, [{ role: "readWrite", db: "dfdg" }]],
  ["retention", process.env.MONGO_RETENTION_PASSWORD, [{ role: "readWrite", db: "dfdg" }]],
  ["jobcenter-api", process.env.MONGO_API_PASSWORD, [{ role: "jobcenterApi", db: "dfdg" }]],
];
for (const [user, pwd, roles] of users) {
  if (!pwd) throw new Error(`set the password of MongoDB user ${user}`);
  dfdg.createUser({ user, pwd, roles });
}
