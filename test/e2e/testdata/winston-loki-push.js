// Pushes lines to Loki with winston-loki (the npm Loki client library) and
// prints one JSON line: {"errors": [...]} with the messages of the pushes
// that failed (winston-loki reports "Server returned HTTP <status>: <body>").
//
// usage: node winston-loki-push.js <url> <json|protobuf> <labels as JSON> <line>...
const winston = require('winston')
const LokiTransport = require('winston-loki')

const [url, format, labels, ...lines] = process.argv.slice(2)
const errors = []
const transport = new LokiTransport({
  host: url,
  json: format === 'json',
  batching: false,
  labels: JSON.parse(labels),
  timeout: 10000,
  clearOnError: true,
  onConnectionError: err => errors.push(err.message)
})
const logger = winston.createLogger({ transports: [transport] })

// winston-loki logs failed pushes to the console itself; keep stdout for
// the result.
console.error = () => {}

;(async () => {
  for (const line of lines) {
    logger.info(line)
  }
  await transport.flush()
  process.stdout.write(JSON.stringify({ errors }) + '\n')
  process.exit(0)
})()
