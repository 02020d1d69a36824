// Package azmon is a client for the Azure Monitor Logs Ingestion API.
//
// It posts JSON records to one stream of a Data Collection Rule (DCR): it
// cuts the records into requests under the service's 1 MiB limit, gzips
// them, sends up to MaxConcurrency requests at once with an Entra ID bearer
// token that it caches and refreshes, and classifies every answer so that
// the caller knows which records were accepted, which were dropped on
// purpose (and why), and whether the rest is worth retrying.
//
// The package knows nothing of Fluent Bit or msgpack: a record is one
// encoded JSON object.
package azmon
