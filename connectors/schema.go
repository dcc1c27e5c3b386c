package connectors

import (
	"embed"

	"github.com/roomwire/roomwire/reservations/schema"
)

// The SDK's shared tables: code mappings, links between Roomwire's and
// partners' reservation ids, and receipts of accepted partner messages.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

func init() { schema.Register("connectors", migrationFiles) }
