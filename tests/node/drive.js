// Drives Tuya's Node connector (@tuya/tuya-connector-nodejs) for the Python tests: reads a plan as JSON on
// stdin, makes each call through the connector's own service methods (or its generic request), in order, and
// prints the envelopes it got as a JSON array. A call that throws records {"thrown": message}.
//
// Plan: {"baseUrl", "accessKey", "secretKey", "calls": [{"service": "device", "method": "reset",
//        "param": {...}} | {"request": {"path", "method", "body", "query"}}]}
'use strict';
const { TuyaContext } = require('@tuya/tuya-connector-nodejs');

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const plan = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const tuya = new TuyaContext({ baseUrl: plan.baseUrl, accessKey: plan.accessKey, secretKey: plan.secretKey });
  const answers = [];
  for (const call of plan.calls) {
    try {
      if (call.request) {
        answers.push(await tuya.request(call.request));
      } else {
        answers.push(await tuya[call.service][call.method](call.param));
      }
    } catch (error) {
      answers.push({ thrown: String(error && error.message ? error.message : error) });
    }
  }
  process.stdout.write(JSON.stringify(answers));
}

main().catch((error) => { process.stderr.write(String(error && error.stack ? error.stack : error)); process.exit(1); });
