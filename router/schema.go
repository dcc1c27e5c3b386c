package router

import (
	"embed"

	"github.com/roomwire/roomwire/reservations/schema"
)

// The router's tables: processed messages, parked messages, dead letters
// with their audit trail, and the message timeline.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

func init() { schema.Register("router", migrationFiles) }
