// Converts an OpenAPI document (JSON, path in argv[2]) to a Postman 2.1 collection on stdout
// with openapi-to-postmanv2, the converter Postman maintains. codegen/bundles.py runs this and
// then makes the result deterministic (ids, variables, auth); see there.
'use strict';

const fs = require('fs');
const path = require('path');

// The converter fakes values it has no example for (json-schema-faker, on Math.random); a
// seeded generator makes those values the same on every run. Ids are stripped in Python.
function mulberry32(seed) {
  let state = seed >>> 0;
  return function random() {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
Math.random = mulberry32(20240501);
// Faked date-times are offsets from "now"; pin "now" too.
const PINNED_NOW = Date.UTC(2024, 4, 1, 12, 0, 0);
const RealDate = Date;
global.Date = class PinnedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) {
      super(PINNED_NOW);
    } else {
      super(...args);
    }
  }

  static now() {
    return PINNED_NOW;
  }
};

const converter = require(path.join(__dirname, '..', 'node_modules', 'openapi-to-postmanv2'));

const specPath = process.argv[2];
if (!specPath) {
  process.stderr.write('usage: node codegen/postman.cjs SPEC.json\n');
  process.exit(2);
}

const options = {
  folderStrategy: 'Tags',
  requestNameSource: 'Fallback',
  parametersResolution: 'Example',
  includeWebhooks: false,
  alwaysInheritAuthentication: true,
  enableOptionalParameters: false,
  indentCharacter: 'Space',
};

converter.convertV2(
  { type: 'string', data: fs.readFileSync(specPath, 'utf8') },
  options,
  (error, result) => {
    if (error) {
      process.stderr.write(`conversion failed: ${error.message || error}\n`);
      process.exit(1);
    }
    if (!result.result) {
      process.stderr.write(`conversion failed: ${result.reason}\n`);
      process.exit(1);
    }
    process.stdout.write(JSON.stringify(result.output[0].data));
  },
);
