package arifanout

import (
	"embed"

	"github.com/roomwire/roomwire/reservations/schema"
)

// The fan-out once kept pending pushes in a table of its own (0005); it
// dropped it (0008) when pushes became router consumers. Both stay, so
// that every database goes through the same history.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

func init() { schema.Register("arifanout", migrationFiles) }
