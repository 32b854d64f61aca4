// Drives the emulator with the official Node.js SDKs; prints one JSON object of what it saw.
// Usage: node drive.js   (env: EMU_ENDPOINT=127.0.0.1:PORT, EMU_KEY_ID, EMU_KEY_SECRET, EMU_SIGNATURE=v3|v2)
'use strict';
const { $OpenApiUtil } = require('@alicloud/openapi-core');
const Ram = require('@alicloud/ram20150501');
const Sts = require('@alicloud/sts20150401');
const Vpc = require('@alicloud/vpc20160428');

function config(keyId, secret) {
  const c = new $OpenApiUtil.Config({
    accessKeyId: keyId, accessKeySecret: secret, endpoint: process.env.EMU_ENDPOINT,
    protocol: 'http', regionId: 'cn-beijing',
  });
  if (process.env.EMU_SIGNATURE === 'v2') c.signatureAlgorithm = 'v2';
  return c;
}

async function failure(call) {
  try {
    await call();
    return null;
  } catch (e) {
    return { code: e.code, status: e.statusCode };
  }
}

async function main() {
  const id = process.env.EMU_KEY_ID;
  const secret = process.env.EMU_KEY_SECRET;
  const ram = new Ram.default(config(id, secret));
  const out = {};
  for (const name of ['n1', 'n2', 'n3']) {
    await ram.createUser(new Ram.CreateUserRequest({ userName: name, displayName: `Node ${name}` }));
  }
  out.displayName = (await ram.getUser(new Ram.GetUserRequest({ userName: 'n2' }))).body.user.displayName;
  out.users = [];
  out.userPages = 0;
  let marker;
  for (;;) {
    const page = (await ram.listUsers(new Ram.ListUsersRequest({ maxItems: 2, marker }))).body;
    out.userPages += 1;
    out.users.push(...page.users.user.map((u) => u.userName));
    if (!page.isTruncated) break;
    marker = page.marker;
  }
  const key = (await ram.createAccessKey(new Ram.CreateAccessKeyRequest({ userName: 'n1' }))).body.accessKey;
  const asN1 = new Sts.default(config(key.accessKeyId, key.accessKeySecret));
  out.identity = (await asN1.getCallerIdentity()).body.arn;
  out.keys = (await ram.listAccessKeys(new Ram.ListAccessKeysRequest({ userName: 'n1' })))
    .body.accessKeys.accessKey.map((k) => k.accessKeyId === key.accessKeyId);
  await ram.deleteAccessKey(new Ram.DeleteAccessKeyRequest({ userName: 'n1', userAccessKeyId: key.accessKeyId }));
  out.deletedKey = await failure(() => asN1.getCallerIdentity());
  out.duplicate = await failure(() => ram.createUser(new Ram.CreateUserRequest({ userName: 'n1' })));
  out.wrongSecret = await failure(() => new Sts.default(config(id, 'not-the-secret')).getCallerIdentity());
  out.unknownKey = await failure(() => new Sts.default(config('LTAI5tNoSuchKey000000', 'x')).getCallerIdentity());
  const vpc = new Vpc.default(config(id, secret));
  const vswitches = await vpc.describeVSwitches(new Vpc.DescribeVSwitchesRequest({
    regionId: 'cn-beijing', vpcId: 'vpc-2zedemo0000000001', pageSize: 2, pageNumber: 2 }));
  out.vswitches = { total: vswitches.body.totalCount,
    page: vswitches.body.vSwitches.vSwitch.map((v) => v.vSwitchId) };
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  process.stderr.write(`${e.code || ''} ${e.message}\n`);
  process.exit(1);
});
