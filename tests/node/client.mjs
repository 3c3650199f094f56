// A Node.js agent: loads the API from protos/ and calls the gateway, printing JSON.
// Usage: node client.mjs ADDRESS list
//        node client.mjs ADDRESS execute CONNECTOR OPERATION PAYLOAD_JSON IDEMPOTENCY_KEY
import path from "node:path";
import { fileURLToPath } from "node:url";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const here = path.dirname(fileURLToPath(import.meta.url));
const protos = path.resolve(here, "../../protos");
const definition = protoLoader.loadSync("connectorgateway/v1/connector_service.proto", {
  includeDirs: [protos],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
});
const api = grpc.loadPackageDefinition(definition).connectorgateway.v1;

function toValue(v) {
  if (v === null) return { nullValue: "NULL_VALUE" };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  if (typeof v === "object") return { structValue: toStruct(v) };
  if (typeof v === "number") return { numberValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  return { stringValue: String(v) };
}
function toStruct(o) {
  return { fields: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, toValue(v)])) };
}
function fromValue(v) {
  switch (v.kind) {
    case "structValue": return fromStruct(v.structValue);
    case "listValue": return v.listValue.values.map(fromValue);
    case "numberValue": return v.numberValue;
    case "boolValue": return v.boolValue;
    case "nullValue": return null;
    default: return v.stringValue;
  }
}
function fromStruct(s) {
  return Object.fromEntries(Object.entries(s.fields || {}).map(([k, v]) => [k, fromValue(v)]));
}

const [address, command, ...rest] = process.argv.slice(2);
const client = new api.ConnectorService(address, grpc.credentials.createInsecure());
const deadline = () => new Date(Date.now() + 10000);

function done(err, value) {
  if (err) {
    console.log(JSON.stringify({ error: { code: grpc.status[err.code], details: err.details } }));
  } else {
    console.log(JSON.stringify(value));
  }
  client.close();
}

if (command === "list") {
  client.ListConnectors({}, { deadline: deadline() }, (err, res) =>
    done(err, res && res.connectors.map((c) => ({ key: c.key, display_name_ar: c.display_name_ar,
      operations: c.operations.map((o) => o.name), configured: c.configured }))));
} else if (command === "execute") {
  const [connector_key, operation, payload, idempotency_key] = rest;
  client.Execute(
    { connector_key, operation, payload: toStruct(JSON.parse(payload)), idempotency_key },
    { deadline: deadline() },
    (err, res) => done(err, res && { ...res, result: fromStruct(res.result) }),
  );
} else {
  console.error(`unknown command ${command}`);
  process.exit(2);
}
