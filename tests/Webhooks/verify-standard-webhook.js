// A receiver's check with the standardwebhooks npm package (an implementation independent of the platform's):
//   node verify-standard-webhook.js <dir> [<receiver's clock, Unix milliseconds>]
// <dir> holds `body` (the raw request body), `headers.json` (name -> value) and `secret` (whsec_...).
// Exit 0: verified (prints the event id); 3: refused (prints why); anything else: the check itself failed.
"use strict";
const fs = require("fs");
const path = require("path");
const { Webhook, WebhookVerificationError } = require("standardwebhooks");

const dir = process.argv[2];
if (process.argv[3]) {
  const now = Number(process.argv[3]);
  Date.now = () => now;
}
const body = fs.readFileSync(path.join(dir, "body")).toString("utf8");
const headers = JSON.parse(fs.readFileSync(path.join(dir, "headers.json"), "utf8"));
const secret = fs.readFileSync(path.join(dir, "secret"), "utf8");
try {
  const event = new Webhook(secret).verify(body, headers);
  console.log(event.id);
} catch (e) {
  if (!(e instanceof WebhookVerificationError)) throw e;
  console.log(e.message);
  process.exit(3);
}
