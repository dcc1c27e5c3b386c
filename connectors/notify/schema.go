package notify

import (
	"embed"

	"github.com/roomwire/roomwire/reservations/schema"
)

// Notifications' tables: webhook subscriptions and deliveries, settings,
// templates and sends.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

func init() { schema.Register("notify", migrationFiles) }
