package cli

import (
	"errors"
	"strings"
)

// Dash stands for an empty cell of a table.
func Dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// TruncateLine keeps the start of a long text on one line.
func TruncateLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		return s[:max-3] + "..."
	}
	return Dash(s)
}

// OneLine keeps an error to one line, as the command promises.
func OneLine(err error) error {
	if err == nil {
		return nil
	}
	msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
	return errors.New(msg)
}
