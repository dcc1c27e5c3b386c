package reservations

import (
	"embed"

	"github.com/roomwire/roomwire/reservations/schema"
)

// The store's tables: properties, inventory, rates, restrictions,
// reservations and their revisions, idempotency keys, API keys, the
// outbox, and the payments kept beside their reservations.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

func init() { schema.Register("reservations", migrationFiles) }
